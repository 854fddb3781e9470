//! Editing a scenario, and the way back from an image to a scenario.
//!
//! [`apply`] performs one [`Edit`] — named after the system call a program would make
//! (`socket`, `close`, `bind`, `listen`, `socketpair`, `connect`, `accept`, `send`,
//! `shutdown`) — on a [`Scenario`]. An edit either leaves a scenario whose references all
//! resolve (every `peer`, `pair`, pending client, sender and fd names an existing socket) or is
//! refused with the errno and reason Linux would give. The result is not checked for every
//! kernel rule: lowering a backlog below the pending count, for example, is allowed, and the
//! image validator reports it — that is the editor's live validation.
//!
//! AF_INET/AF_INET6 sockets (TCP `stream`, UDP `dgram`) are edited in the scenario's INET form
//! (`addr` `a.b.c.d:port` / `[v6]:port`, a `peer` in the image): bind follows the simulator's
//! rules for the host the web app plans for (`lo` only, [`HostAddrs::loopback`]) —
//! `EADDRNOTAVAIL` for an address the host does not have, `EADDRINUSE` by
//! [`sim::inet::bind_conflict`] — and a port the kernel would pick (bind to port 0, listen,
//! connect or sendto of an unbound socket) is the lowest one of the ephemeral range no socket
//! of the protocol holds ([`EPHEMERAL_PORTS`]; the simulator's deterministic deviation from
//! Linux's random choice). What the scenario form cannot hold about INET (the orphan a closed
//! TCP end leaves, a connection across families through v4-mapped addresses, a UDP peer bound
//! to the wildcard address) is refused with the reason, naming no errno since Linux would not
//! refuse.
//!
//! [`from_image`] turns an image's model back into a scenario so that any image can be edited,
//! writes that scenario again and lists every difference between the two images: what the
//! scenario form cannot say is reported, never silently dropped.

use crate::image::{inet, Image, Sock, UnixAddr};
use crate::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec, DEFAULT_BUF};
use crate::sim::inet::{EPHEMERAL_PORTS, UDP_MAX};
use crate::sim::{self, HostAddrs, How, InetFamily, InetSock, SockType};
use crate::sock::Family;
use crate::wire::*;
use crate::{bstr, diff};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// One editing operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Edit {
    /// `socket(family, ty)`: a new unconnected socket held by a new fd; `family` is `unix`
    /// (`stream`, `dgram` or `seqpacket`), `inet` or `inet6` (`stream`: TCP, `dgram`: UDP).
    AddSocket { name: String, family: Family, ty: SockType },
    /// `close()` of every fd of the socket: peers see the close as Linux shows it.
    RemoveSocket { name: String },
    /// `bind()`: give the socket a name (`/path`, `rel/path` or `@abstract`, bstr escapes), or an
    /// INET socket an address (`127.0.0.1:80`, `[::1]:53`; port 0: the kernel picks one).
    Bind { name: String, addr: String },
    /// `listen(backlog)` (again, to change the backlog of a listener).
    Listen { name: String, backlog: i16 },
    /// `socketpair()`: connect two fresh sockets of the same type.
    Pair { a: String, b: String },
    /// `connect()` to `server`'s name: a pending connection on a stream/seqpacket listener, or
    /// the default destination of a dgram socket.
    Connect { client: String, server: String },
    /// `accept()`: the listener's first pending connection becomes the socket `name`.
    Accept { listener: String, name: String },
    /// `send()` (`to: None`) or `sendto()` of `data` (bstr spelling) from `from`: the message
    /// is queued where Linux would queue it (the peer, the embryo of a pending connection, or
    /// the dgram destination).
    Send { from: String, to: Option<String>, data: String },
    /// `shutdown(how)` with `rd`, `wr` or `rdwr`; a connected stream peer sees the mirror image.
    Shutdown { name: String, how: How },
    /// `recv()` out of order: drop the message at `index` of the socket's queue.
    DropMessage { name: String, index: usize },
}

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct EditError(pub String);

fn refuse<T>(msg: impl Into<String>) -> Result<T, EditError> {
    Err(EditError(msg.into()))
}

/// A socket name not used in `sc`: `prefix` followed by the smallest free number.
pub fn fresh_name(sc: &Scenario, prefix: &str) -> String {
    // A scan per candidate: at most as many candidates as sockets, and the editor's scenarios are
    // small (a set here costs several KB of wasm).
    (1..=sc.sockets.len() + 1)
        .map(|k| format!("{prefix}{k}"))
        .find(|n| !sc.sockets.iter().any(|s| &s.name == n))
        .unwrap_or_default()
}

fn index(sc: &Scenario, name: &str) -> Result<usize, EditError> {
    sc.sockets.iter().position(|s| s.name == name).ok_or_else(|| EditError(format!("no socket named {name:?}")))
}

/// The listener and position of the pending connection whose client is `name`.
fn pending_of(sc: &Scenario, name: &str) -> Option<(usize, usize)> {
    sc.sockets
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.pending.iter().position(|p| p.client.as_deref() == Some(name)).map(|k| (i, k)))
}

fn connection_oriented(s: &SockSpec) -> bool {
    s.ty.connection_oriented()
}

/// True when `s` is in no connection at all (a fresh socket as `socket()` returns it).
fn fresh(sc: &Scenario, s: &SockSpec) -> bool {
    s.peer.is_none()
        && s.pair.is_none()
        && s.accepted_from.is_none()
        && s.listen.is_none()
        && !s.peer_gone
        && !s.external_peer
        && pending_of(sc, &s.name).is_none()
}

/// The socket a connected socket sends to (its pair or peer), by name.
fn destination(sc: &Scenario, i: usize) -> Option<String> {
    let s = &sc.sockets[i];
    s.pair.clone().or_else(|| s.peer.clone())
}

/// Check that `addr` is a name `bind()` accepts: `/path` or `rel/path` (1..=107 bytes, no NUL)
/// or `@abstract` (at most 107 bytes after the `@`).
fn check_addr(addr: &str) -> Result<(), EditError> {
    let b = bstr::unescape(addr).map_err(|e| EditError(format!("name {addr:?}: {e}")))?;
    match b.split_first() {
        None => refuse("bind(): EINVAL — the name is empty"),
        Some((b'@', rest)) if rest.len() <= 107 => Ok(()),
        Some((b'@', _)) => refuse("bind(): EINVAL — an abstract name has at most 107 bytes"),
        Some(_) if b.len() > 107 => refuse("bind(): EINVAL — a path has at most 107 bytes (108 with its NUL)"),
        Some(_) if b.contains(&0) => refuse("bind(): EINVAL — a path cannot contain a NUL byte"),
        Some(_) => Ok(()),
    }
}

/// The lowest fd ≥ 3 that task `t` does not use.
fn free_fd(t: &TaskSpec) -> i32 {
    (3..).find(|fd| !t.fds.contains_key(fd)).unwrap_or(3)
}

/// Give a new socket an fd: with the default process nothing is needed; with explicit tasks the
/// first task gets its lowest free fd.
fn hold(sc: &mut Scenario, name: &str) {
    if let Some(t) = sc.tasks.first_mut() {
        let fd = free_fd(t);
        t.fds.insert(fd, name.to_string());
    }
}

fn new_socket(sc: &Scenario, name: &str, family: Family, ty: SockType) -> Result<SockSpec, EditError> {
    if name.is_empty() || name.chars().any(char::is_control) {
        return refuse("a socket name is one or more printable characters");
    }
    if sc.sockets.iter().any(|s| s.name == name) {
        return refuse(format!("a socket is already named {name:?}"));
    }
    if family != Family::Unix && ty == SockType::Seqpacket {
        // inet_create: no protocol of AF_INET/AF_INET6 serves SOCK_SEQPACKET (live 6.18).
        return refuse("socket(): ESOCKTNOSUPPORT — INET has stream (TCP) and dgram (UDP)");
    }
    Ok(SockSpec { name: name.to_string(), family, ty, ..Default::default() })
}

/// Apply one edit. On error the scenario is unchanged.
pub fn apply(sc: &Scenario, edit: &Edit) -> Result<Scenario, EditError> {
    let mut sc = sc.clone();
    match edit {
        Edit::AddSocket { name, family, ty } => {
            let s = new_socket(&sc, name, *family, *ty)?;
            sc.sockets.push(s);
            hold(&mut sc, name);
        }
        Edit::RemoveSocket { name } => remove(&mut sc, name)?,
        Edit::Bind { name, addr } => {
            let i = index(&sc, name)?;
            let s = &sc.sockets[i];
            if s.family != Family::Unix {
                return bind_inet(&mut sc, i, addr).map(|()| sc);
            }
            if s.accepted_from.is_some() {
                return refuse(format!("bind(): EINVAL — {name:?} was accepted: it has its listener's name"));
            }
            if s.addr.is_some() && !s.autobind {
                return refuse(format!("bind(): EINVAL — {name:?} is already bound"));
            }
            check_addr(addr)?;
            if let Some(o) =
                sc.sockets.iter().find(|o| o.addr.as_deref() == Some(addr.as_str()) && o.family == Family::Unix)
            {
                return refuse(format!("bind(): EADDRINUSE — {:?} is bound to {addr:?}", o.name));
            }
            let s = &mut sc.sockets[i];
            s.addr = Some(addr.clone());
            s.autobind = false;
            s.unlinked = false;
        }
        Edit::Listen { name, backlog } => {
            let i = index(&sc, name)?;
            let s = &sc.sockets[i];
            if !connection_oriented(s) {
                return refuse(format!("listen(): EOPNOTSUPP — {name:?} is a {} socket", s.ty));
            }
            if s.listen.is_none() && !fresh(&sc, s) {
                return refuse(format!("listen(): EINVAL — {name:?} is connected"));
            }
            if s.addr.is_none() && !is_inet(s) {
                return refuse(format!("listen(): EINVAL — {name:?} is not bound: bind it first"));
            }
            if !s.queue.is_empty() {
                return refuse(format!("listen(): EINVAL — {name:?} has queued data"));
            }
            if is_inet(s) && s.listen.is_none() {
                listen_inet(&mut sc, i)?;
            }
            sc.sockets[i].listen = Some(*backlog);
        }
        Edit::Pair { a, b } => {
            let (i, j) = (index(&sc, a)?, index(&sc, b)?);
            if i == j {
                return refuse("socketpair(): two different sockets are needed");
            }
            let (sa, sb) = (&sc.sockets[i], &sc.sockets[j]);
            if sa.family != Family::Unix || sb.family != Family::Unix {
                return refuse("socketpair(): EOPNOTSUPP — AF_UNIX only");
            }
            if sa.ty != sb.ty {
                return refuse(format!("socketpair(): both ends have one type ({} and {} differ)", sa.ty, sb.ty));
            }
            for s in [sa, sb] {
                if !fresh(&sc, s) || s.addr.is_some() || !s.queue.is_empty() || s.shutdown.is_some() {
                    return refuse(format!(
                        "socketpair(): {:?} is not a fresh socket (unbound, unconnected, not shut down, nothing queued)",
                        s.name
                    ));
                }
            }
            sc.sockets[i].pair = Some(b.clone());
            sc.sockets[j].pair = Some(a.clone());
        }
        Edit::Connect { client, server } => connect(&mut sc, client, server)?,
        Edit::Accept { listener, name } => {
            let l = index(&sc, listener)?;
            if sc.sockets[l].listen.is_none() {
                return refuse(format!("accept(): EINVAL — {listener:?} is not listening"));
            }
            if sc.sockets[l].pending.is_empty() {
                return refuse(format!("accept(): EAGAIN — {listener:?} has no pending connection"));
            }
            let mut s = new_socket(&sc, name, sc.sockets[l].family, sc.sockets[l].ty)?;
            let p = sc.sockets[l].pending.remove(0);
            s.accepted_from = Some(listener.clone());
            s.queue = p.sent;
            match &p.client {
                Some(c) => {
                    s.peer = Some(c.clone());
                    let ci = index(&sc, c)?;
                    sc.sockets[ci].peer = Some(name.clone());
                }
                None => s.peer_gone = true,
            }
            sc.sockets.push(s);
            hold(&mut sc, name);
        }
        Edit::Send { from, to, data } => send(&mut sc, from, to.as_deref(), data)?,
        Edit::Shutdown { name, how } => {
            let bits = how.bits();
            let i = index(&sc, name)?;
            let s = &sc.sockets[i];
            if s.peer_gone {
                return refuse(format!("shutdown(): {name:?} is already shut down both ways (its peer closed)"));
            }
            let inet = is_inet(s);
            if inet {
                // inet_shutdown: a listener stops listening on SHUT_RD (and ignores SHUT_WR); a
                // socket in TCP_CLOSE answers ENOTCONN.
                if s.listen.is_some() {
                    if bits & 1 != 0 {
                        return refuse(
                            "shutdown(): SHUT_RD stops a TCP listener and resets its pending connections: not editable",
                        );
                    }
                    return Ok(sc);
                }
                let pending = pending_of(&sc, name).is_some();
                if s.peer.is_none() && !s.external_peer && !pending {
                    return refuse("shutdown(): ENOTCONN — not connected");
                }
                if pending && bits & 2 != 0 {
                    return refuse("shutdown(): the connection is not accepted yet (its FIN would go to the embryo): accept it first");
                }
            }
            let mirror = if connection_oriented(s) { destination(&sc, i) } else { None };
            let mine = shut_bits(s.shutdown) | bits;
            // unix_shutdown(): a connected stream peer gets RCV for our SEND and SEND for our RCV;
            // TCP (tcp_fin): our FIN shuts the peer's reading side, SHUT_RD tells it nothing.
            let peer_bits = if inet { bits >> 1 } else { sim::How::mirror(bits) };
            if let Some(j) = mirror.and_then(|p| sc.sockets.iter().position(|o| o.name == p)) {
                let theirs = shut_bits(sc.sockets[j].shutdown);
                if inet && peer_bits != 0 && theirs & 2 != 0 {
                    return refuse("shutdown(): the peer has shut down for sending too: both FINs end the connection (TIME_WAIT), which the scenario form does not hold");
                }
                sc.sockets[j].shutdown = How::from_bits(theirs | peer_bits);
            }
            sc.sockets[i].shutdown = How::from_bits(mine);
        }
        Edit::DropMessage { name, index: k } => {
            let i = index(&sc, name)?;
            if *k >= sc.sockets[i].queue.len() {
                return refuse(format!("{name:?} has no message #{k}"));
            }
            sc.sockets[i].queue.remove(*k);
        }
    }
    Ok(sc)
}

/// The `sk_shutdown` bits of a scenario socket.
fn shut_bits(how: Option<How>) -> u8 {
    how.map_or(0, How::bits)
}

fn connect(sc: &mut Scenario, client: &str, server: &str) -> Result<(), EditError> {
    let (c, s) = (index(sc, client)?, index(sc, server)?);
    let (cs, ss) = (&sc.sockets[c], &sc.sockets[s]);
    if cs.family != ss.family {
        return refuse(format!(
            "connect(): {client:?} is {} and {server:?} is {}: the editor connects sockets of one family",
            cs.family, ss.family
        ));
    }
    let inet = is_inet(cs);
    let bound = inet_local(ss).filter(|a| a.port() != 0);
    if ss.addr.is_none() || (inet && bound.is_none()) {
        return refuse(format!("connect(): {server:?} has no name to connect to: bind it first"));
    }
    if cs.ty != ss.ty {
        return refuse(match (inet, cs.ty) {
            (false, _) => format!("connect(): EPROTOTYPE — {client:?} is {} and {server:?} is {}", cs.ty, ss.ty),
            (true, SockType::Stream) => "connect(): ECONNREFUSED — the server is UDP".into(),
            _ => "connect(): a UDP socket's peer is a UDP socket".into(),
        });
    }
    if c == s && (inet || connection_oriented(cs)) {
        return refuse("connect(): the editor does not connect a stream or INET socket to itself");
    }
    if connection_oriented(cs) {
        if !fresh(sc, cs) {
            return refuse("connect(): EISCONN — connected or listening");
        }
        if ss.listen.is_none() {
            return refuse("connect(): ECONNREFUSED — not listening");
        }
    } else if cs.pair.is_some() {
        return refuse(format!("connect(): {client:?} is one end of a socketpair"));
    }
    if let Some(bound) = bound.filter(|_| inet) {
        inet_client_addr(sc, c, s, bound)?;
    }
    if connection_oriented(&sc.sockets[c]) {
        sc.sockets[s].pending.push(PendingSpec { client: Some(client.to_string()), sent: Vec::new() });
    } else {
        set_dgram_peer(sc, c, server);
    }
    Ok(())
}

/// Connect dgram socket `c` to `peer`: what it holds from its old peer now names that sender.
fn set_dgram_peer(sc: &mut Scenario, c: usize, peer: &str) {
    let old = sc.sockets[c].peer.replace(peer.to_string());
    for m in &mut sc.sockets[c].queue {
        if m.from.is_none() {
            m.from = old.clone();
        }
        if m.from.as_deref() == Some(peer) {
            m.from = None;
        }
    }
}

/// `send()`/`sendto()`: AF_UNIX as `unix_stream_sendmsg`/`unix_dgram_sendmsg` check it; TCP to
/// its peer (or the embryo of its pending connection); UDP to its peer or `to`, delivered as the
/// UDP lookup delivers (an unbound sender gets an ephemeral port, `inet_send_prepare`).
fn send(sc: &mut Scenario, from: &str, to: Option<&str>, data: &str) -> Result<(), EditError> {
    let bytes = bstr::unescape(data).map_err(|e| EditError(format!("data: {e}")))?;
    let f = index(sc, from)?;
    let fs = &sc.sockets[f];
    let inet = is_inet(fs);
    let udp = inet && fs.ty == SockType::Dgram;
    if bytes.is_empty() && fs.ty == SockType::Stream {
        // unix_stream_sendmsg, tcp_sendmsg: no bytes, no skb (a datagram may be empty).
        return refuse("send(): 0 bytes on a stream socket queue nothing");
    }
    if fs.listen.is_some() {
        // TCP: sk_stream_wait_connect.
        return refuse(if inet {
            "send(): EPIPE — listening".into()
        } else {
            format!("send(): ENOTCONN — {from:?} is listening")
        });
    }
    let shut = shut_bits(fs.shutdown) & 2 != 0 || fs.peer_gone;
    if shut && !udp {
        return refuse(format!("send(): EPIPE — {from:?} can no longer send (shut down or peer closed)"));
    }
    let outside = || refuse("send(): the peer is outside the image");
    let msg =
        |from_field: Option<String>| MsgSpec { from: from_field, data: Some(data.to_string()), ..Default::default() };
    if connection_oriented(fs) {
        if to.is_some_and(|t| Some(t) != destination(sc, f).as_deref()) {
            return refuse(if inet {
                "sendto(): TCP ignores the address: choose \"its peer\"".into()
            } else {
                format!("sendto(): EISCONN — {from:?} is connection-oriented: it sends to its peer")
            });
        }
        if let Some((l, k)) = pending_of(sc, from) {
            // Before accept(): the data waits on the embryo.
            sc.sockets[l].pending[k].sent.push(msg(None));
            return Ok(());
        }
        let Some(p) = destination(sc, f) else {
            if fs.external_peer {
                return outside();
            }
            return refuse(if inet {
                "send(): EPIPE — not connected".into()
            } else {
                format!("send(): ENOTCONN — {from:?} is not connected")
            });
        };
        let r = index(sc, &p)?;
        let theirs = shut_bits(sc.sockets[r].shutdown);
        // TCP: a peer shut down for reading still queues; one shut both ways answers with an RST.
        if inet && theirs == 3 {
            return refuse("send(): the peer is shut down both ways: the data would be answered by an RST");
        }
        if !inet && theirs & 1 != 0 {
            return refuse(format!("send(): EPIPE — {p:?} has shut down reading"));
        }
        sc.sockets[r].queue.push(msg(None));
        return Ok(());
    }
    if udp && bytes.len() > if fs.family == Family::Inet6 { UDP_MAX.1 } else { UDP_MAX.0 } {
        return refuse("sendto(): EMSGSIZE — too long for UDP");
    }
    let dest = match (to, destination(sc, f)) {
        (Some(t), _) => t.to_string(),
        (None, Some(p)) => p,
        (None, None) if fs.external_peer => return outside(),
        (None, None) if inet => return refuse("send(): EDESTADDRREQ — not connected: name a destination"),
        (None, None) => return refuse(format!("send(): ENOTCONN — {from:?} is not connected")),
    };
    let r = index(sc, &dest)?;
    let rs = &sc.sockets[r];
    if rs.family != fs.family {
        // unix_validate_addr: the address is no sockaddr_un.
        return refuse(if inet {
            "sendto(): the editor sends within one family".into()
        } else {
            format!("sendto(): EINVAL — {dest:?} is an INET socket, {from:?} an AF_UNIX one")
        });
    }
    if rs.ty != fs.ty {
        return refuse(if inet {
            "sendto(): a datagram reaches UDP sockets only".into()
        } else {
            format!("sendto(): EPROTOTYPE — {dest:?} is a {} socket", rs.ty)
        });
    }
    if inet && inet_local(rs).is_none_or(|a| a.port() == 0) {
        return refuse("sendto(): the destination has no address: bind it first");
    }
    if !inet && to.is_some() && rs.addr.is_none() && fs.pair.as_deref() != Some(dest.as_str()) {
        return refuse(format!("sendto(): {dest:?} has no name to send to"));
    }
    if shut {
        return refuse("send(): EPIPE — shut down for sending");
    }
    // unix_may_send(); UDP: a connected socket receives only from its peer's address.
    let receiver_peer = rs.pair.as_deref().or(rs.peer.as_deref());
    if (inet && rs.external_peer) || receiver_peer.is_some_and(|p| p != from) {
        return refuse(if inet {
            "sendto(): the destination is connected to another peer: UDP delivers only from it".into()
        } else {
            format!("sendto(): EPERM — {dest:?} is connected to another socket")
        });
    }
    if !inet && shut_bits(rs.shutdown) & 1 != 0 {
        return refuse(format!("send(): EPIPE — {dest:?} has shut down reading"));
    }
    let from_field = (receiver_peer != Some(from)).then(|| from.to_string());
    if udp && inet_local(fs).is_none_or(|a| a.port() == 0) {
        let port = ephemeral(sc, f)?;
        set_local(sc, f, any_of(&sc.sockets[f]), port);
    }
    sc.sockets[r].queue.push(msg(from_field));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// AF_INET / AF_INET6

fn is_inet(s: &SockSpec) -> bool {
    s.family != Family::Unix
}

fn is_tcp(s: &SockSpec) -> bool {
    is_inet(s) && s.ty == SockType::Stream
}

/// An address as a socket of `s`'s family holds it (an IPv4 one is v4-mapped on inet6).
fn inet_form(s: &SockSpec, a: SocketAddr) -> SocketAddr {
    match (s.family, a.ip()) {
        (Family::Inet6, IpAddr::V4(v4)) => SocketAddr::new(v4.to_ipv6_mapped().into(), a.port()),
        _ => a,
    }
}

/// The INET socket's own address, as its `addr` says.
fn inet_local(s: &SockSpec) -> Option<SocketAddr> {
    let a: SocketAddr = s.addr.as_deref()?.parse().ok()?;
    Some(inet_form(s, a))
}

/// The IPv4 address of an IPv4 or v4-mapped address.
fn v4_of(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

fn is_wildcard(a: SocketAddr) -> bool {
    a.ip().is_unspecified() || v4_of(a.ip()).is_some_and(|v| v.is_unspecified())
}

/// An IPv6 address that is neither the wildcard nor v4-mapped (binding one makes a socket
/// IPV6_V6ONLY, `__inet6_bind`).
fn plain_v6(a: SocketAddr) -> bool {
    matches!(a.ip(), IpAddr::V6(v6) if !v6.is_unspecified() && v6.to_ipv4_mapped().is_none())
}

/// The simulator's view of socket `s` at local address `at`.
fn inet_sock(s: &SockSpec, at: SocketAddr) -> InetSock {
    let family = if s.family == Family::Inet6 { InetFamily::Inet6 } else { InetFamily::Inet };
    let mut i = InetSock::new(family, s.ty == SockType::Stream);
    i.local = Some(at);
    i.bound = at.port() != 0;
    i.reuse = s.reuseaddr;
    i.reuseport = s.reuseport;
    i.v6only = s.v6only || (plain_v6(at) && s.accepted_from.is_none());
    i
}

/// The socket that keeps socket `i` from holding `at` (bind()/listen() fail with EADDRINUSE), by
/// the simulator's rule ([`sim::inet::bind_conflict`]) against the sockets of its protocol with
/// an address on that port. (An accepted socket or embryo without its own `addr` shares its
/// listener's port and options: wherever it conflicts, its listener does too.)
fn port_taken_by(sc: &Scenario, i: usize, at: SocketAddr) -> Option<String> {
    let me = inet_sock(&sc.sockets[i], at);
    sc.sockets.iter().enumerate().find_map(|(j, o)| {
        let a = inet_local(o)
            .filter(|a| j != i && is_inet(o) && (o.ty == SockType::Stream) == me.tcp && a.port() == at.port())?;
        let state = if o.listen.is_some() { crate::sock::SkState::Listen } else { crate::sock::SkState::Close };
        sim::inet::bind_conflict(&me, [(&inet_sock(o, a), state)]).then(|| o.name.clone())
    })
}

/// The port the kernel picks for socket `i`: the lowest of [`EPHEMERAL_PORTS`] no socket of
/// its protocol holds (the simulator's choice; Linux starts at a random one).
fn ephemeral(sc: &Scenario, i: usize) -> Result<u16, EditError> {
    let tcp = sc.sockets[i].ty == SockType::Stream;
    // (A Vec, not a set: one more set instance costs several KB of wasm; scenarios are small.)
    let used: Vec<u16> = sc
        .sockets
        .iter()
        .filter(|o| is_inet(o) && (o.ty == SockType::Stream) == tcp)
        .filter_map(inet_local)
        .map(|a| a.port())
        .collect();
    (EPHEMERAL_PORTS.0..=EPHEMERAL_PORTS.1)
        .find(|p| !used.contains(p))
        .ok_or_else(|| EditError("EADDRINUSE — every ephemeral port is taken".into()))
}

fn set_local(sc: &mut Scenario, i: usize, ip: IpAddr, port: u16) {
    sc.sockets[i].addr = Some(inet::display(SocketAddr::new(ip, port)));
}

/// The wildcard address of socket `s`'s family.
fn any_of(s: &SockSpec) -> IpAddr {
    if s.family == Family::Inet6 {
        Ipv6Addr::UNSPECIFIED.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    }
}

/// `bind()` of an INET socket: the checks of `__inet_bind`/`__inet6_bind` in their order, the
/// address by [`HostAddrs::bind_check`] on the loopback host, the port by the bind rule.
fn bind_inet(sc: &mut Scenario, i: usize, text: &str) -> Result<(), EditError> {
    let s = &sc.sockets[i];
    let name = &s.name;
    let Ok(a) = text.trim().parse::<SocketAddr>() else {
        let like = if s.family == Family::Inet6 { "[::1]:8080" } else { "127.0.0.1:8080" };
        return refuse(format!("bind(): {text:?} is not an address:port (like {like})"));
    };
    if s.family == Family::Inet && a.is_ipv6() {
        return refuse(format!("bind(): EAFNOSUPPORT — {name:?} is AF_INET: an IPv6 address needs an inet6 socket"));
    }
    let at = inet_form(s, a);
    let tcp = s.ty == SockType::Stream;
    let bound = s.addr.is_some() || !fresh(sc, s);
    let host_check = || {
        HostAddrs::loopback().bind_check(at, tcp).map_err(|e| {
            let why = if e == sim::Errno::EADDRNOTAVAIL {
                "not an address of the host planned for (lo: 127.0.0.0/8, ::1)"
            } else {
                "it needs an interface (scope id)"
            };
            EditError(format!("bind(): {e} — {why}"))
        })
    };
    let already = || refuse("bind(): EINVAL — the socket has an address");
    if let SocketAddr::V6(a6) = at {
        if a6.ip().is_multicast() && tcp {
            return refuse("bind(): EINVAL — multicast on TCP");
        }
        if bound {
            return already();
        }
        if a6.ip().to_ipv4_mapped().is_some() && s.v6only {
            return refuse("bind(): EINVAL — v4-mapped on IPV6_V6ONLY");
        }
        host_check()?;
    } else {
        host_check()?;
        if bound {
            return already();
        }
    }
    let port = if at.port() == 0 {
        ephemeral(sc, i)?
    } else if let Some(o) = port_taken_by(sc, i, at) {
        return refuse(format!("bind(): EADDRINUSE — {o} holds the port"));
    } else {
        at.port()
    };
    set_local(sc, i, at.ip(), port);
    Ok(())
}

/// `listen()` of an unlistening TCP socket: its port checked again as a listener's
/// (`inet_csk_get_port`: a holder that listens is no longer excused by SO_REUSEADDR), or an
/// ephemeral one on the wildcard address when it has none.
fn listen_inet(sc: &mut Scenario, i: usize) -> Result<(), EditError> {
    match inet_local(&sc.sockets[i]).filter(|a| a.port() != 0) {
        Some(at) => {
            if let Some(o) = port_taken_by(sc, i, at) {
                return refuse(format!("listen(): EADDRINUSE — {o} holds the port"));
            }
        }
        None => {
            let port = ephemeral(sc, i)?;
            set_local(sc, i, any_of(&sc.sockets[i]), port);
        }
    }
    Ok(())
}

/// The local address an INET socket gets from `connect()` to socket `s` at `bound`: the
/// loopback source of the destination's kind (127.0.0.1, ::1) unless bound to a specific
/// address, and an ephemeral port unless it has one. Refused where the scenario form cannot
/// say the connection (a wildcard UDP peer, a v4-mapped wildcard listener, two listeners on
/// the port) or Linux refuses the source.
fn inet_client_addr(sc: &mut Scenario, c: usize, s: usize, bound: SocketAddr) -> Result<(), EditError> {
    let cs = &sc.sockets[c];
    if is_wildcard(bound) && !bound.ip().is_unspecified() {
        return refuse("connect(): the server is on the v4-mapped wildcard, which the scenario form would give its connections: bind [::]");
    }
    if cs.ty == SockType::Stream {
        let rival = sc.sockets.iter().enumerate().find(|&(j, o)| {
            j != s && is_tcp(o) && o.listen.is_some() && inet_local(o).is_some_and(|a| a.port() == bound.port())
        });
        if let Some((_, o)) = rival {
            return refuse(format!(
                "connect(): {} listens on that port too: the editor does not choose between listeners",
                o.name
            ));
        }
    } else if is_wildcard(bound) {
        return refuse("connect(): a UDP peer on the wildcard address cannot be named: bind it to 127.0.0.1 or ::1");
    }
    // A wildcard listener is reached at the loopback address (of the kind it takes).
    let v4 = v4_of(bound.ip()).is_some();
    let own = inet_local(cs).filter(|a| a.port() != 0);
    let ip = match own.filter(|a| !is_wildcard(*a)) {
        Some(a) if v4 && plain_v6(a) => return refuse("connect(): ENETUNREACH — bound to IPv6: no IPv4 source"),
        Some(a) if !v4 && v4_of(a.ip()).is_some() => return refuse("connect(): EAFNOSUPPORT — bound to IPv4"),
        Some(a) => a.ip(),
        None if v4 && cs.v6only => return refuse("connect(): ENETUNREACH — IPV6_V6ONLY to IPv4"),
        None if v4 => inet_form(cs, SocketAddr::new(Ipv4Addr::LOCALHOST.into(), 0)).ip(),
        None => Ipv6Addr::LOCALHOST.into(),
    };
    let port = match own {
        Some(a) => a.port(),
        None => ephemeral(sc, c)?,
    };
    set_local(sc, c, ip, port);
    Ok(())
}

/// What an INET socket's close would leave behind that the scenario form cannot hold.
fn remove_inet_check(sc: &Scenario, x: usize) -> Result<(), EditError> {
    let s = &sc.sockets[x];
    let name = s.name.as_str();
    let referenced = sc.sockets.iter().any(|o| {
        o.peer.as_deref() == Some(name)
            || o.queue.iter().any(|m| m.from.as_deref() == Some(name))
            || o.pending.iter().any(|p| p.client.as_deref() == Some(name))
    });
    if referenced || !s.pending.is_empty() || (s.ty == SockType::Stream && s.peer.is_some()) {
        return refuse("close(): the editor closes INET sockets on their own (not connected, no peer of, no sender of queued data): a close's remains (TIME_WAIT, resets) are not in the scenario form");
    }
    Ok(())
}

fn remove(sc: &mut Scenario, name: &str) -> Result<(), EditError> {
    let x = index(sc, name)?;
    if is_inet(&sc.sockets[x]) {
        remove_inet_check(sc, x)?;
    }
    for s in &sc.sockets {
        let in_flight = |m: &MsgSpec| m.rights.iter().any(|r| r == name);
        if s.queue.iter().any(in_flight) || s.pending.iter().any(|p| p.sent.iter().any(in_flight)) {
            return refuse(format!(
                "{name:?} is in flight in a message queued on {:?}: closing its fds does not close it; drop that message first",
                s.name
            ));
        }
        if s.accepted_from.as_deref() == Some(name) {
            return refuse(format!(
                "{name:?} accepted {:?}, which carries its listener's name: the scenario form needs the listener; remove {:?} first",
                s.name, s.name
            ));
        }
    }
    let stream = connection_oriented(&sc.sockets[x]);
    // A closed listener's embryos go with it: their clients see the close (unix_release_sock()
    // with `embrion` set shuts the client down both ways).
    let orphaned: Vec<String> = sc.sockets[x].pending.iter().filter_map(|p| p.client.clone()).collect();
    let mut out = Vec::with_capacity(sc.sockets.len() - 1);
    for (i, mut s) in std::mem::take(&mut sc.sockets).into_iter().enumerate() {
        if i == x {
            continue;
        }
        if s.peer.as_deref() == Some(name) || s.pair.as_deref() == Some(name) {
            s.peer = None;
            s.pair = None;
            // A stream peer is shut down both ways and sees the close. A dgram socket connected
            // to the closed one keeps a dead peer in Linux until its next send (ECONNREFUSED);
            // the scenario form can say so (`peer_gone` on a dgram socket, which `checkpoint
            // dump` writes), but the editor does not model that survivor's later sends and
            // connects yet, so here it is disconnected.
            if stream {
                s.peer_gone = true;
                s.shutdown = None;
            }
        }
        if orphaned.contains(&s.name) {
            s.peer_gone = true;
            s.shutdown = None;
        }
        for p in &mut s.pending {
            if p.client.as_deref() == Some(name) {
                p.client = None;
            }
        }
        let default = s.pair.clone().or_else(|| s.peer.clone());
        for m in &mut s.queue {
            if m.from.as_deref() == Some(name) {
                if let Some(d) = &default {
                    return refuse(format!(
                        "{:?} holds a message from {name:?} but is connected to {d:?}: the scenario form cannot say \"sent by a closed socket\" there; drop the message first",
                        s.name
                    ));
                }
                m.from = None;
            }
        }
        out.push(s);
    }
    sc.sockets = out;
    for t in &mut sc.tasks {
        let fds: Vec<i32> = t.fds.iter().filter(|(_, n)| n.as_str() == name).map(|(&fd, _)| fd).collect();
        for fd in fds {
            t.fds.remove(&fd);
            t.cloexec.retain(|&c| c != fd);
        }
    }
    Ok(())
}

/// A scenario read back from an image, with everything the scenario form could not say.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The scenario.
    pub scenario: Scenario,
    /// What differs between the image and the scenario's image (empty: the scenario writes
    /// the image back byte for byte).
    pub notes: Vec<String>,
    /// The objref in the image of each of the scenario's sockets (in `scenario.sockets` order).
    pub objrefs: Vec<i32>,
}

/// Notes listed at most (the rest are counted).
const MAX_NOTES: usize = 24;

fn addr_spelling(a: &UnixAddr) -> Option<String> {
    match a {
        UnixAddr::Unnamed => None,
        UnixAddr::Path(p) => Some(bstr::escape(p)),
        UnixAddr::Abstract(a) => Some(format!("@{}", bstr::escape(a))),
    }
}

fn payload(data: &[u8]) -> MsgSpec {
    let mut m = MsgSpec::default();
    if data.len() >= 64 && data.iter().all(|&b| b == b'x') {
        m.repeat = Some(data.len() as u32);
    } else if bstr::looks_textual(data) {
        m.data = Some(bstr::escape(data));
    } else if !data.is_empty() {
        m.hex = Some(bstr::hex(data));
    }
    m
}

/// Read an image back into a scenario (see the module documentation).
pub fn from_image(bytes: &[u8]) -> Imported {
    let report = crate::load(bytes);
    let img = &report.image;
    let mut notes = Vec::new();
    if !report.is_valid() {
        notes.push(format!(
            "the image has {} error(s): the scenario holds what could be read, as the model understood it",
            report.error_count()
        ));
    }
    let (scenario, objrefs) = Reader::new(img, &mut notes).scenario();
    match scenario.to_image() {
        Err(e) => notes.push(format!("the scenario cannot be written: {e}")),
        Ok(again) if again != bytes => {
            let back = crate::load(&again);
            let lines = diff::diff(img, &back.image, b"", b"");
            if lines.is_empty() {
                notes.push(format!(
                    "the rewritten image says the same about every socket but is not byte-identical ({} bytes, was {}): record order, objrefs or fields the scenario does not set",
                    again.len(),
                    bytes.len()
                ));
            }
            notes.extend(lines.into_iter().map(|l| format!("differs when written back: {l}")));
        }
        Ok(_) => {}
    }
    if notes.len() > MAX_NOTES {
        let more = notes.len() - MAX_NOTES;
        notes.truncate(MAX_NOTES);
        notes.push(format!("… and {more} more"));
    }
    Imported { scenario, notes, objrefs }
}

struct Reader<'i, 'a, 'n> {
    img: &'i Image<'a>,
    notes: &'n mut Vec<String>,
    names: BTreeMap<i32, String>,
    embryos: BTreeSet<i32>,
    inet_peers: BTreeMap<i32, i32>,
    /// Sockets whose open file has `O_NONBLOCK`.
    nonblock: BTreeSet<i32>,
}

impl<'i, 'a, 'n> Reader<'i, 'a, 'n> {
    fn new(img: &'i Image<'a>, notes: &'n mut Vec<String>) -> Self {
        let embryos = img.embryos();
        let inet_peers = inet::peers(img);
        let nonblock = img
            .files
            .iter()
            .filter(|(_, f)| f.repr.f_flags & crate::wire::O_NONBLOCK != 0)
            .map(|(_, f)| f.repr.sock_objref)
            .collect();
        Reader { img, notes, names: BTreeMap::new(), embryos, inet_peers, nonblock }
    }

    fn note(&mut self, n: String) {
        self.notes.push(n);
    }

    fn name(&self, objref: i32) -> Option<String> {
        self.names.get(&objref).cloned()
    }

    fn peer(&self, s: &Sock<'_>) -> i32 {
        if s.common.family == AF_UNIX {
            s.peer()
        } else {
            self.inet_peers.get(&s.objref).copied().unwrap_or(0)
        }
    }

    fn sock_of_file(&self, file: i32) -> Option<i32> {
        self.img.files.get(&file).map(|f| f.repr.sock_objref)
    }

    /// The scenario, and the objref each of its sockets was read from.
    fn scenario(mut self) -> (Scenario, Vec<i32>) {
        let img = self.img;
        let mut sc = Scenario {
            kernel: img.header.uts.first().map(|r| String::from_utf8_lossy(r).into_owned()).unwrap_or_default(),
            time: img.header.repr.time,
            ..Default::default()
        };
        // Socket order: as the processes hold them, then the rest by objref.
        let mut order: Vec<i32> = Vec::new();
        let mut seen = BTreeSet::new();
        for t in &img.tables {
            for fd in &t.fds {
                if let Some(o) = self.sock_of_file(fd.file) {
                    if img.sockets.get(&o).is_some() && !self.embryos.contains(&o) && seen.insert(o) {
                        order.push(o);
                    }
                }
            }
        }
        let held = order.len();
        for s in img.sockets.values() {
            if !self.embryos.contains(&s.objref) && seen.insert(s.objref) {
                order.push(s.objref);
            }
        }
        let mut kept = Vec::new();
        for &o in &order {
            let s = img.sockets.get(&o).expect("from the image");
            match (Family::from_raw(s.common.family), SockType::from_raw(s.common.sock_type)) {
                (Some(_), Some(_)) => {
                    self.names.insert(o, format!("s{o}"));
                    kept.push(o);
                }
                _ => self.note(format!(
                    "socket #{o}: family {} type {} cannot be written in a scenario; left out",
                    s.common.family, s.common.sock_type
                )),
            }
        }
        // Processes: the default (one process, pid 1000, fds 3, 4, 5… in order) when it fits.
        let default_tasks = img.tables.len() == 1 && {
            let t = &img.tables[0];
            t.pid == Some(1000)
                && t.fds.len() == held
                && t.fds.iter().enumerate().all(|(k, fd)| {
                    fd.fd == 3 + k as i32 && !fd.cloexec && self.sock_of_file(fd.file) == order.get(k).copied()
                })
                && kept.len() == order.len()
        };
        if !default_tasks {
            for t in &img.tables {
                let mut spec = TaskSpec { pid: t.pid.unwrap_or(0), fds: BTreeMap::new(), cloexec: Vec::new() };
                if t.pid.is_none() {
                    self.note(format!("file table #{}: no process owns it; written as pid 0", t.objref));
                }
                for fd in &t.fds {
                    let Some(n) = self.sock_of_file(fd.file).and_then(|o| self.name(o)) else {
                        self.note(format!("pid {}: fd {} names no socket of the scenario; left out", spec.pid, fd.fd));
                        continue;
                    };
                    spec.fds.insert(fd.fd, n);
                    if fd.cloexec {
                        spec.cloexec.push(fd.fd);
                    }
                }
                sc.tasks.push(spec);
            }
        }
        let mut file_socks: Vec<i32> = img.files.values().map(|f| f.repr.sock_objref).collect();
        crate::order::sort_by_rank(&mut file_socks, |&o| crate::order::rank_i32(o));
        for run in file_socks.chunk_by(|a, b| a == b).filter(|r| r.len() > 1) {
            self.note(format!("socket #{} has {} open files; the scenario gives each socket one", run[0], run.len()));
        }
        for (k, &o) in kept.iter().enumerate() {
            let s = img.sockets.get(&o).expect("from the image");
            let mut spec = self.sock(s);
            spec.no_fd = default_tasks && k >= held;
            sc.sockets.push(spec);
        }
        if !img.unknown.is_empty() {
            self.note(format!("{} record(s) of unknown types are not part of a scenario", img.unknown.len()));
        }
        (sc, kept)
    }

    fn accepted_listener(&self, s: &Sock<'_>) -> Option<i32> {
        let listens = |l: &&Sock<'_>| {
            l.is_listener() && l.common.family == s.common.family && l.common.sock_type == s.common.sock_type
        };
        if let Some(u) = &s.unix {
            return self.img.sockets.values().filter(listens).find(|l| l.laddr() == Some(&u.laddr)).map(|l| l.objref);
        }
        let local = s.inet_local()?;
        self.img
            .sockets
            .values()
            .filter(listens)
            .find(|l| {
                l.inet_local().is_some_and(|a| {
                    a.port() == local.port()
                        && (a.ip().is_unspecified() || inet::canonical(a) == inet::canonical(local))
                })
            })
            .map(|l| l.objref)
    }

    fn sock(&mut self, s: &Sock<'_>) -> SockSpec {
        let o = s.objref;
        let me = self.names[&o].clone();
        let mut spec = SockSpec {
            name: me.clone(),
            family: Family::from_raw(s.common.family).unwrap_or_default(),
            ty: SockType::from_raw(s.common.sock_type).unwrap_or_default(),
            ..Default::default()
        };
        let unix = s.common.family == AF_UNIX;
        let accepted =
            if unix { s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED)) } else { s.inet_has(INET_ACCEPTED) };
        let listener = if accepted { self.accepted_listener(s) } else { None };
        if accepted && listener.is_none() {
            self.note(format!("{me}: accepted from a listener that is not in the image; kept as a plain socket"));
        }
        spec.accepted_from = listener.and_then(|l| self.name(l));
        if let Some(u) = &s.unix {
            if spec.accepted_from.is_none() {
                spec.addr = addr_spelling(&u.laddr);
                spec.unlinked = matches!(u.laddr, UnixAddr::Path(_)) && !u.has(UNIX_LINKED);
            }
            if let Some(cwd) = &u.cwd {
                match String::from_utf8(cwd.to_vec()) {
                    Ok(c) => spec.cwd = Some(c),
                    Err(_) => self.note(format!("{me}: its cwd is not UTF-8; left out")),
                }
            }
            spec.autobind = u.has(UNIX_AUTOBIND);
            spec.peer_gone = u.has(UNIX_PEER_GONE);
            spec.external_peer = u.has(UNIX_EXTERNAL_PEER);
        } else if unix {
            self.note(format!("{me}: no SOCKET_UNIX record; written as an unnamed socket"));
        }
        if let Some(i) = &s.inet {
            spec.addr = s.inet_local().map(inet::display);
            spec.reuseaddr = s.common.reuse != 0;
            spec.reuseport = i.rs_flags & INET_REUSEPORT != 0;
            spec.v6only = i.rs_flags & INET_V6ONLY != 0;
        }
        if s.is_listener() {
            spec.listen = Some(s.common.backlog);
        }
        let p = self.peer(s);
        if p != 0 && !self.embryos.contains(&p) {
            match (self.name(p), self.img.sockets.get(&p)) {
                (Some(pn), Some(ps)) => {
                    let mutual = self.peer(ps) == o;
                    let pair = if s.is_connection_oriented() {
                        mutual && !accepted && !self.is_accepted(ps)
                    } else {
                        mutual && s.common.socket_state == SS_CONNECTED
                    };
                    if pair && unix {
                        spec.pair = Some(pn);
                    } else {
                        spec.peer = Some(pn);
                    }
                }
                _ => self.note(format!("{me}: its peer #{p} is not a socket of the scenario")),
            }
        } else if p == 0 && !unix && s.inet_connected() {
            spec.external_peer = true;
            spec.remote = s.inet_remote().map(inet::display);
        }
        // A closing peer shuts a stream/seqpacket survivor down both ways, a dgram one never.
        if !spec.peer_gone || !s.is_connection_oriented() {
            spec.shutdown = How::from_bits(s.common.shutdown);
        } else if s.common.shutdown & 3 != 3 {
            self.note(format!("{me}: its peer is gone but shutdown is {}; written as rdwr", s.common.shutdown));
        }
        let (snd, rcv) = (2 * s.common.sndbuf, 2 * s.common.rcvbuf);
        spec.sndbuf = (snd != DEFAULT_BUF).then_some(snd);
        spec.rcvbuf = (rcv != DEFAULT_BUF).then_some(rcv);
        spec.sndbuf_lock = s.common.userlocks & 1 != 0;
        spec.rcvbuf_lock = s.common.userlocks & 2 != 0;
        spec.nonblock = self.nonblock.contains(&o);
        spec.passcred = s.common.socket_flags & crate::wire::SOCK_PASSCRED != 0;
        spec.opts = s.opts.as_ref().map(|o| o.opts.clone()).unwrap_or_default();
        let default_sender = if p != 0 { Some(p) } else { None };
        spec.queue = s.queue.iter().map(|m| self.msg(&me, m, default_sender)).collect();
        for pc in &s.pending {
            let client = if pc.client == 0 { None } else { self.name(pc.client) };
            if pc.client != 0 && client.is_none() {
                self.note(format!("{me}: pending client #{} is not a socket of the scenario", pc.client));
            }
            let sent = match self.img.sockets.get(&pc.embryo) {
                Some(e) => {
                    let from = (pc.client != 0).then_some(pc.client);
                    e.queue.iter().map(|m| self.msg(&me, m, from)).collect()
                }
                None => Vec::new(),
            };
            spec.pending.push(PendingSpec { client, sent });
        }
        spec
    }

    fn is_accepted(&self, s: &Sock<'_>) -> bool {
        if s.common.family == AF_UNIX {
            s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED))
        } else {
            s.inet_has(INET_ACCEPTED)
        }
    }

    fn msg(&mut self, me: &str, m: &crate::image::Message<'_>, default_sender: Option<i32>) -> MsgSpec {
        let mut spec = payload(&m.data);
        if Some(m.sender) != default_sender {
            if m.sender == 0 {
                if let Some(d) = default_sender.and_then(|d| self.name(d)) {
                    self.note(format!("{me}: a message from a closed socket is written as sent by {d}"));
                }
            } else {
                match self.name(m.sender) {
                    Some(n) => spec.from = Some(n),
                    None => {
                        self.note(format!("{me}: a message's sender #{} is not a socket of the scenario", m.sender))
                    }
                }
            }
        }
        for &f in &m.rights {
            match self.sock_of_file(f).and_then(|o| self.name(o)) {
                Some(n) => spec.rights.push(n),
                None => self.note(format!("{me}: a message carries file #{f}, not a socket of the scenario")),
            }
        }
        spec
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn word_type(ty: &str) -> SockType {
        SockType::from_word(ty).unwrap_or_else(|| panic!("type {ty:?}"))
    }

    fn add(sc: &Scenario, name: &str, ty: &str) -> Scenario {
        apply(sc, &Edit::AddSocket { name: name.into(), family: Family::Unix, ty: word_type(ty) }).unwrap()
    }

    fn ok(sc: &Scenario, e: Edit) -> Scenario {
        apply(sc, &e).unwrap_or_else(|err| panic!("{e:?}: {err}"))
    }

    fn err(sc: &Scenario, e: Edit) -> String {
        apply(sc, &e).expect_err("refused").0
    }

    fn errors(sc: &Scenario) -> Vec<String> {
        let bytes = sc.to_image().expect("writes");
        crate::load(&bytes)
            .diagnostics
            .iter()
            .filter(|d| d.severity == crate::Severity::Error)
            .map(|d| d.to_string())
            .collect()
    }

    fn s<'a>(sc: &'a Scenario, name: &str) -> &'a SockSpec {
        sc.sockets.iter().find(|s| s.name == name).unwrap()
    }

    fn server() -> Scenario {
        let sc = add(&Scenario::default(), "L", "stream");
        let sc = ok(&sc, Edit::Bind { name: "L".into(), addr: "/tmp/srv".into() });
        let sc = ok(&sc, Edit::Listen { name: "L".into(), backlog: 2 });
        let sc = add(&sc, "c", "stream");
        ok(&sc, Edit::Connect { client: "c".into(), server: "L".into() })
    }

    #[test]
    fn socketpair_and_send_give_a_valid_image() {
        let sc = add(&add(&Scenario::default(), "a", "stream"), "b", "stream");
        let sc = ok(&sc, Edit::Pair { a: "a".into(), b: "b".into() });
        let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "hi\\x00".into() });
        assert_eq!(s(&sc, "b").queue.len(), 1);
        assert_eq!(s(&sc, "b").queue[0].data.as_deref(), Some("hi\\x00"));
        assert_eq!(s(&sc, "a").pair.as_deref(), Some("b"));
        assert_eq!(errors(&sc), Vec::<String>::new());
        let bytes = sc.to_image().unwrap();
        let img = crate::load(&bytes);
        assert_eq!(img.image.sockets.len(), 2);
        assert_eq!(img.image.sockets.values().map(|s| s.queue.len()).sum::<usize>(), 1);
    }

    #[test]
    fn connect_to_a_listener_is_pending_until_accept() {
        let sc = server();
        assert_eq!(s(&sc, "L").pending.len(), 1);
        // Data sent before accept() waits on the embryo.
        let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "early".into() });
        assert_eq!(s(&sc, "L").pending[0].sent.len(), 1);
        assert_eq!(errors(&sc), Vec::<String>::new());
        let bytes = sc.to_image().unwrap();
        assert_eq!(crate::load(&bytes).image.embryos().len(), 1);

        let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
        assert!(s(&sc, "L").pending.is_empty());
        assert_eq!(s(&sc, "a").accepted_from.as_deref(), Some("L"));
        assert_eq!(s(&sc, "a").peer.as_deref(), Some("c"));
        assert_eq!(s(&sc, "c").peer.as_deref(), Some("a"));
        assert_eq!(s(&sc, "a").queue.len(), 1, "the early data moved to the accepted socket");
        assert_eq!(errors(&sc), Vec::<String>::new());
        assert!(err(&sc, Edit::Accept { listener: "L".into(), name: "b".into() }).contains("EAGAIN"));
    }

    #[test]
    fn lowering_the_backlog_is_allowed_and_the_validator_reports_it() {
        let sc = server();
        let sc = add(&sc, "c2", "stream");
        let sc = ok(&sc, Edit::Connect { client: "c2".into(), server: "L".into() });
        assert!(crate::load(&sc.to_image().unwrap()).diagnostics.is_empty());
        let sc = ok(&sc, Edit::Listen { name: "L".into(), backlog: 0 });
        let bytes = sc.to_image().unwrap();
        let codes: Vec<crate::Code> = crate::load(&bytes).diagnostics.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec![crate::Code::BacklogExceeded], "two pending connections on backlog 0");
    }

    #[test]
    fn refusals_name_the_errno() {
        let sc = server();
        assert!(err(&sc, Edit::AddSocket { name: "c".into(), family: Family::Unix, ty: SockType::Stream })
            .contains("already named"));
        let sc2 = add(&sc, "d", "dgram");
        assert!(err(&sc2, Edit::Connect { client: "d".into(), server: "L".into() }).contains("EPROTOTYPE"));
        assert!(err(&sc, Edit::Connect { client: "c".into(), server: "L".into() }).contains("EISCONN"));
        let sc3 = add(&sc, "u", "stream");
        assert!(err(&sc3, Edit::Listen { name: "u".into(), backlog: 1 }).contains("not bound"));
        assert!(err(&sc3, Edit::Send { from: "u".into(), to: None, data: "x".into() }).contains("ENOTCONN"));
        assert!(err(&sc3, Edit::Bind { name: "u".into(), addr: "/tmp/srv".into() }).contains("EADDRINUSE"));
        assert!(err(&sc3, Edit::Bind { name: "u".into(), addr: "".into() }).contains("empty"));
        assert!(err(&sc3, Edit::Send { from: "c".into(), to: None, data: "\\q".into() }).contains("bad escape"));
        assert!(err(&sc3, Edit::RemoveSocket { name: "nope".into() }).contains("no socket"));
        assert_eq!(
            apply(&sc3, &Edit::Pair { a: "u".into(), b: "u".into() }).map(|_| ()),
            refuse("socketpair(): two different sockets are needed")
        );
    }

    #[test]
    fn dgram_send_follows_unix_may_send() {
        let sc = add(&add(&add(&Scenario::default(), "r", "dgram"), "s1", "dgram"), "s2", "dgram");
        assert!(err(&sc, Edit::Connect { client: "s1".into(), server: "r".into() }).contains("bind it first"));
        let sc = ok(&sc, Edit::Bind { name: "r".into(), addr: "@log".into() });
        let sc = ok(&sc, Edit::Connect { client: "s1".into(), server: "r".into() });
        let sc = ok(&sc, Edit::Send { from: "s1".into(), to: None, data: "one".into() });
        let sc = ok(&sc, Edit::Send { from: "s2".into(), to: Some("r".into()), data: "two".into() });
        assert_eq!(s(&sc, "r").queue[0].from.as_deref(), Some("s1"));
        assert_eq!(s(&sc, "r").queue[1].from.as_deref(), Some("s2"));
        assert_eq!(errors(&sc), Vec::<String>::new());
        // r connects to s1 (after binding it): now only s1 may send to r.
        let sc = ok(&sc, Edit::Bind { name: "s1".into(), addr: "@s1".into() });
        let sc = ok(&sc, Edit::Connect { client: "r".into(), server: "s1".into() });
        assert!(err(&sc, Edit::Send { from: "s2".into(), to: Some("r".into()), data: "x".into() }).contains("EPERM"));
        let sc = ok(&sc, Edit::Send { from: "s1".into(), to: None, data: "three".into() });
        assert_eq!(s(&sc, "r").queue[2].from, None, "from the peer: the default sender");
        assert_eq!(errors(&sc), Vec::<String>::new());
    }

    #[test]
    fn shutdown_mirrors_on_a_stream_peer() {
        let sc = add(&add(&Scenario::default(), "a", "stream"), "b", "stream");
        let sc = ok(&sc, Edit::Pair { a: "a".into(), b: "b".into() });
        let sc = ok(&sc, Edit::Shutdown { name: "a".into(), how: How::Wr });
        assert_eq!(s(&sc, "a").shutdown, Some(How::Wr));
        assert_eq!(s(&sc, "b").shutdown, Some(How::Rd));
        assert!(err(&sc, Edit::Send { from: "a".into(), to: None, data: "x".into() }).contains("EPIPE"));
        // a's receiving side is open: b can still send to it.
        let sc = ok(&sc, Edit::Send { from: "b".into(), to: None, data: "x".into() });
        let sc = ok(&sc, Edit::Shutdown { name: "a".into(), how: How::Rd });
        assert_eq!(s(&sc, "a").shutdown, Some(How::Rdwr));
        assert_eq!(s(&sc, "b").shutdown, Some(How::Rdwr));
        assert_eq!(errors(&sc), Vec::<String>::new());
    }

    #[test]
    fn removing_a_socket_shows_the_close_to_its_peers() {
        let sc = add(&add(&Scenario::default(), "a", "stream"), "b", "stream");
        let sc = ok(&sc, Edit::Pair { a: "a".into(), b: "b".into() });
        let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "bye".into() });
        let sc = ok(&sc, Edit::RemoveSocket { name: "a".into() });
        assert_eq!(sc.sockets.len(), 1);
        let b = s(&sc, "b");
        assert!(b.peer_gone && b.pair.is_none() && b.queue.len() == 1);
        assert_eq!(errors(&sc), Vec::<String>::new());

        // A pending client closes: the pending connection stays with no client.
        let sc = ok(&server(), Edit::RemoveSocket { name: "c".into() });
        assert_eq!(s(&sc, "L").pending[0].client, None);
        assert_eq!(errors(&sc), Vec::<String>::new());
        // The listener closes: its pending client sees the close.
        let sc = ok(&server(), Edit::RemoveSocket { name: "L".into() });
        assert!(s(&sc, "c").peer_gone);
        assert_eq!(errors(&sc), Vec::<String>::new());
        // An accepted socket needs its listener.
        let sc = ok(&server(), Edit::Accept { listener: "L".into(), name: "a".into() });
        assert!(err(&sc, Edit::RemoveSocket { name: "L".into() }).contains("remove \"a\" first"));
    }

    #[test]
    fn explicit_tasks_get_fds_for_new_sockets_and_lose_removed_ones() {
        let mut sc = add(&Scenario::default(), "a", "dgram");
        sc.tasks = vec![TaskSpec { pid: 7, fds: BTreeMap::from([(3, "a".to_string())]), cloexec: vec![3] }];
        let sc = add(&sc, "b", "dgram");
        assert_eq!(sc.tasks[0].fds.get(&4).map(String::as_str), Some("b"));
        let sc = ok(&sc, Edit::RemoveSocket { name: "a".into() });
        assert_eq!(sc.tasks[0].fds.len(), 1);
        assert!(sc.tasks[0].cloexec.is_empty());
        assert_eq!(errors(&sc), Vec::<String>::new());
    }

    #[test]
    fn fresh_names_skip_used_ones() {
        let sc = add(&add(&Scenario::default(), "s1", "dgram"), "s3", "dgram");
        assert_eq!(fresh_name(&sc, "s"), "s2");
    }

    #[test]
    fn an_edited_scenario_reads_back_exactly() {
        let sc = ok(&server(), Edit::Send { from: "c".into(), to: None, data: "early".into() });
        let sc = add(&sc, "c2", "stream");
        let sc = ok(&sc, Edit::Connect { client: "c2".into(), server: "L".into() });
        let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
        let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "\\xff\\x00".into() });
        let bytes = sc.to_image().unwrap();
        let back = from_image(&bytes);
        assert_eq!(back.notes, Vec::<String>::new());
        assert_eq!(back.scenario.to_image().unwrap(), bytes);
    }

    #[test]
    fn what_a_scenario_cannot_say_is_noted() {
        // A message from a closed sender on a socket connected to another one.
        let sc = add(&add(&add(&Scenario::default(), "r", "dgram"), "p", "dgram"), "q", "dgram");
        let sc = ok(&sc, Edit::Bind { name: "r".into(), addr: "@r".into() });
        let sc = ok(&sc, Edit::Send { from: "q".into(), to: Some("r".into()), data: "from q".into() });
        let sc = ok(&sc, Edit::Bind { name: "p".into(), addr: "@p".into() });
        let sc = ok(&sc, Edit::Connect { client: "r".into(), server: "p".into() });
        assert!(err(&sc, Edit::RemoveSocket { name: "q".into() }).contains("drop the message first"));
        let mut bytes = sc.to_image().unwrap();
        // Patch the sender objref of the queued message to 0 (closed) by rewriting its record.
        let report = crate::load(&bytes);
        let m = report.image.sockets.values().flat_map(|s| s.queue.iter()).next().unwrap();
        let at =
            crate::image::field_range(m.offset, crate::wire::layout(RecordType::SOCKET_BUFFER).unwrap(), "sk_objref")
                .start;
        bytes[at..at + 4].copy_from_slice(&0i32.to_le_bytes());
        let back = from_image(&bytes);
        assert!(back.notes.iter().any(|n| n.contains("closed socket")), "{:?}", back.notes);
        assert!(back.notes.iter().any(|n| n.contains("differs when written back")), "{:?}", back.notes);
    }

    // --- AF_INET / AF_INET6 -------------------------------------------------------------------

    fn add_in(sc: &Scenario, name: &str, family: &str, ty: &str) -> Scenario {
        let family = Family::from_word(family).unwrap_or_else(|| panic!("family {family:?}"));
        ok(sc, Edit::AddSocket { name: name.into(), family, ty: word_type(ty) })
    }

    fn bind(sc: &Scenario, name: &str, addr: &str) -> Result<Scenario, String> {
        apply(sc, &Edit::Bind { name: name.into(), addr: addr.into() }).map_err(|e| e.0)
    }

    /// The scenario's image loads without errors, and its restore plan runs on the simulator
    /// (the loopback host) to the end and reproduces the image.
    fn restores(sc: &Scenario) {
        assert_eq!(errors(sc), Vec::<String>::new(), "{sc:#?}");
        let bytes = sc.to_image().unwrap();
        let report = crate::load(&bytes);
        let plan = crate::plan::plan(&report.image).unwrap_or_else(|e| panic!("plan: {e:?}\n{sc:#?}"));
        let run = crate::check::run_plan(&report.image, &plan);
        assert!(run.is_clean(), "{:?}\n{:?}\n{sc:#?}", run.failure, run.differences);
    }

    fn tcp_server(family: &str, addr: &str) -> Scenario {
        let sc = add_in(&Scenario::default(), "L", family, "stream");
        let sc = bind(&sc, "L", addr).unwrap();
        let sc = ok(&sc, Edit::Listen { name: "L".into(), backlog: 4 });
        let sc = add_in(&sc, "c", family, "stream");
        ok(&sc, Edit::Connect { client: "c".into(), server: "L".into() })
    }

    #[test]
    fn tcp_listen_connect_send_accept_shutdown_restore() {
        let sc = tcp_server("inet", "127.0.0.1:8080");
        assert_eq!(s(&sc, "L").addr.as_deref(), Some("127.0.0.1:8080"));
        // The client's address as connect() gives it: the loopback source, the first ephemeral port.
        assert_eq!(s(&sc, "c").addr.as_deref(), Some("127.0.0.1:32768"));
        assert_eq!(s(&sc, "L").pending.len(), 1);
        restores(&sc);
        let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "early".into() });
        assert_eq!(s(&sc, "L").pending[0].sent.len(), 1, "before accept() the data waits on the embryo");
        restores(&sc);
        let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
        assert_eq!((s(&sc, "a").family, s(&sc, "a").peer.as_deref()), (Family::Inet, Some("c")));
        assert_eq!(s(&sc, "a").queue.len(), 1);
        restores(&sc);
        let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "reply\\x00".into() });
        assert_eq!(s(&sc, "c").queue.len(), 1);
        restores(&sc);
        // A FIN: the client is FIN_WAIT2, the accepted end CLOSE_WAIT (shut for reading).
        let sc = ok(&sc, Edit::Shutdown { name: "c".into(), how: How::Wr });
        assert_eq!((s(&sc, "c").shutdown, s(&sc, "a").shutdown), (Some(How::Wr), Some(How::Rd)));
        restores(&sc);
        assert!(err(&sc, Edit::Send { from: "c".into(), to: None, data: "x".into() }).contains("EPIPE"));
        let sc2 = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "more".into() });
        restores(&sc2);
        assert!(err(&sc, Edit::Shutdown { name: "a".into(), how: How::Wr }).contains("both FINs"));
        // A second client gets the next port.
        let sc = add_in(&sc, "d", "inet", "stream");
        let sc = ok(&sc, Edit::Connect { client: "d".into(), server: "L".into() });
        assert_eq!(s(&sc, "d").addr.as_deref(), Some("127.0.0.1:32769"));
        restores(&sc);
        let back = from_image(&sc.to_image().unwrap());
        assert_eq!(back.notes, Vec::<String>::new());
    }

    #[test]
    fn tcp_over_ipv6_and_wildcard_listeners() {
        let sc = tcp_server("inet6", "[::1]:8080");
        assert_eq!(s(&sc, "c").addr.as_deref(), Some("[::1]:32768"));
        let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
        let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "hi".into() });
        restores(&sc);
        // A wildcard listener is reached on loopback; listen() of an unbound socket picks a port.
        let sc = tcp_server("inet", "0.0.0.0:80");
        assert_eq!(s(&sc, "c").addr.as_deref(), Some("127.0.0.1:32768"));
        restores(&sc);
        let sc = tcp_server("inet6", "[::]:80");
        assert_eq!(s(&sc, "c").addr.as_deref(), Some("[::1]:32768"));
        restores(&sc);
        let sc = add_in(&Scenario::default(), "L", "inet", "stream");
        let sc = ok(&sc, Edit::Listen { name: "L".into(), backlog: 1 });
        assert_eq!(s(&sc, "L").addr.as_deref(), Some("0.0.0.0:32768"));
        restores(&sc);
        // An IPv4 address on inet6 is v4-mapped, and so is its client's.
        let sc = tcp_server("inet6", "127.0.0.1:81");
        assert_eq!(s(&sc, "L").addr.as_deref(), Some("[::ffff:127.0.0.1]:81"));
        assert_eq!(s(&sc, "c").addr.as_deref(), Some("[::ffff:127.0.0.1]:32768"));
        restores(&sc);
    }

    #[test]
    fn udp_connect_and_sendto() {
        let sc = add_in(&add_in(&Scenario::default(), "r", "inet", "dgram"), "s", "inet", "dgram");
        let sc = bind(&sc, "r", "127.0.0.1:5353").unwrap();
        assert!(err(&sc, Edit::Send { from: "s".into(), to: None, data: "x".into() }).contains("EDESTADDRREQ"));
        // sendto() from an unbound socket: autobound on the wildcard address.
        let sc = ok(&sc, Edit::Send { from: "s".into(), to: Some("r".into()), data: "one".into() });
        assert_eq!(s(&sc, "s").addr.as_deref(), Some("0.0.0.0:32768"));
        assert_eq!(s(&sc, "r").queue[0].from.as_deref(), Some("s"));
        restores(&sc);
        let sc = add_in(&sc, "c", "inet", "dgram");
        let sc = ok(&sc, Edit::Connect { client: "c".into(), server: "r".into() });
        assert_eq!((s(&sc, "c").addr.as_deref(), s(&sc, "c").peer.as_deref()), (Some("127.0.0.1:32769"), Some("r")));
        let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "two".into() });
        restores(&sc);
        // r connects to c: now only c's datagrams reach it; what it holds from s still names s.
        let sc = ok(&sc, Edit::Connect { client: "r".into(), server: "c".into() });
        assert!(err(&sc, Edit::Send { from: "s".into(), to: Some("r".into()), data: "x".into() }).contains("only from"));
        let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "three".into() });
        assert_eq!(s(&sc, "r").queue.iter().map(|m| m.from.as_deref()).collect::<Vec<_>>(), [Some("s"), None, None]);
        restores(&sc);
        let sc = ok(&sc, Edit::Shutdown { name: "c".into(), how: How::Wr });
        assert_eq!(s(&sc, "r").shutdown, None, "UDP tells the peer nothing");
        assert!(err(&sc, Edit::Send { from: "c".into(), to: None, data: "x".into() }).contains("EPIPE"));
        restores(&sc);
        assert!(err(&sc, Edit::Shutdown { name: "s".into(), how: How::Rd }).contains("ENOTCONN"));
        // A UDP peer bound to the wildcard cannot be named by address.
        let sc = add_in(&add_in(&sc, "w", "inet", "dgram"), "x", "inet", "dgram");
        let sc = bind(&sc, "w", "0.0.0.0:7").unwrap();
        assert!(err(&sc, Edit::Connect { client: "x".into(), server: "w".into() }).contains("wildcard"));
        let sc = ok(&sc, Edit::Send { from: "x".into(), to: Some("w".into()), data: "to any".into() });
        restores(&sc);
    }

    #[test]
    fn inet_refusals_name_linux_errnos() {
        let e =
            |family: Family, ty: SockType| err(&Scenario::default(), Edit::AddSocket { name: "x".into(), family, ty });
        assert!(e(Family::Inet, SockType::Seqpacket).contains("ESOCKTNOSUPPORT"));
        assert!(e(Family::Inet6, SockType::Seqpacket).contains("ESOCKTNOSUPPORT"));
        let sc = add_in(&add_in(&Scenario::default(), "a", "inet", "stream"), "b", "inet", "stream");
        assert!(err(&sc, Edit::Pair { a: "a".into(), b: "b".into() }).contains("EOPNOTSUPP"));
        assert!(bind(&sc, "a", "10.0.0.1:80").unwrap_err().contains("EADDRNOTAVAIL"));
        assert!(bind(&sc, "a", "[::1]:80").unwrap_err().contains("EAFNOSUPPORT"));
        assert!(bind(&sc, "a", "localhost:80").unwrap_err().contains("not an address"));
        assert!(bind(&sc, "a", "127.255.255.255:80").is_ok(), "the broadcast address of lo's prefix");
        let sc1 = bind(&sc, "a", "127.0.0.1:80").unwrap();
        assert!(bind(&sc1, "a", "127.0.0.1:81").unwrap_err().contains("EINVAL"));
        assert!(bind(&sc1, "b", "127.0.0.1:80").unwrap_err().contains("EADDRINUSE"));
        assert!(bind(&sc1, "b", "0.0.0.0:80").unwrap_err().contains("EADDRINUSE"));
        assert!(bind(&sc1, "b", "127.0.0.2:80").is_ok());
        assert_eq!(bind(&sc1, "b", "127.0.0.1:0").unwrap().sockets[1].addr.as_deref(), Some("127.0.0.1:32768"));
        // UDP ports are another space; an inet6 wildcard also takes IPv4 (not IPV6_V6ONLY).
        let sc2 = add_in(&add_in(&sc1, "u", "inet", "dgram"), "v", "inet6", "stream");
        assert!(bind(&sc2, "u", "127.0.0.1:80").is_ok());
        assert!(bind(&sc2, "v", "[::]:80").unwrap_err().contains("EADDRINUSE"));
        assert!(bind(&sc2, "v", "[::1]:80").is_ok());
        assert!(bind(&sc2, "v", "[fe80::1]:80").unwrap_err().contains("EINVAL"));
        assert!(bind(&sc2, "v", "[2001:db8::1]:80").unwrap_err().contains("EADDRNOTAVAIL"));
        assert!(err(&sc2, Edit::Listen { name: "u".into(), backlog: 1 }).contains("EOPNOTSUPP"));
        assert!(err(&sc1, Edit::Connect { client: "b".into(), server: "a".into() }).contains("ECONNREFUSED"));
        let sc3 = bind(&sc2, "u", "127.0.0.1:80").unwrap();
        assert!(err(&sc3, Edit::Connect { client: "b".into(), server: "u".into() }).contains("ECONNREFUSED"));
        assert!(err(&sc2, Edit::Connect { client: "v".into(), server: "a".into() }).contains("one family"));
        assert!(err(&sc1, Edit::Send { from: "b".into(), to: None, data: "x".into() }).contains("EPIPE"));
        let srv = tcp_server("inet", "127.0.0.1:8080");
        assert!(err(&srv, Edit::Connect { client: "c".into(), server: "L".into() }).contains("EISCONN"));
        assert!(err(&srv, Edit::Send { from: "L".into(), to: None, data: "x".into() }).contains("EPIPE"));
        assert!(err(&srv, Edit::Bind { name: "c".into(), addr: "127.0.0.1:9".into() }).contains("EINVAL"));
        assert!(err(&srv, Edit::RemoveSocket { name: "c".into() }).contains("on their own"));
        // Closing an INET socket on its own is fine.
        restores(&ok(&sc1, Edit::RemoveSocket { name: "a".into() }));
    }

    #[test]
    fn reuse_options_follow_the_simulators_rule_at_bind_and_listen() {
        // Two SO_REUSEADDR sockets share a port until one listens; then the other's listen fails.
        let mut sc = add_in(&add_in(&Scenario::default(), "a", "inet", "stream"), "b", "inet", "stream");
        for s in &mut sc.sockets {
            s.reuseaddr = true;
        }
        let sc = bind(&bind(&sc, "a", "127.0.0.1:80").unwrap(), "b", "127.0.0.1:80").unwrap();
        let sc = ok(&sc, Edit::Listen { name: "a".into(), backlog: 1 });
        assert!(err(&sc, Edit::Listen { name: "b".into(), backlog: 1 }).contains("EADDRINUSE"));
    }

    /// The editor's bind answers are the simulator's: every pair of binds among these addresses
    /// and options, done by `bind` edits and by `Op::Bind` on the simulated kernel.
    #[test]
    fn inet_binds_agree_with_the_simulator() {
        use crate::sim::{Kernel, Op, Outcome, SockAddr, SockOpt, SockType};
        let addrs: [(&str, &str); 8] = [
            ("inet", "127.0.0.1:80"),
            ("inet", "0.0.0.0:80"),
            ("inet", "127.0.0.2:80"),
            ("inet", "192.0.2.1:80"),
            ("inet6", "[::1]:80"),
            ("inet6", "[::]:80"),
            ("inet6", "[::ffff:127.0.0.1]:80"),
            ("inet6", "[::ffff:0.0.0.0]:80"),
        ];
        let mut compared = 0;
        for ty in ["stream", "dgram"] {
            for (reuse, v6only) in [(false, false), (true, false), (false, true)] {
                for &(fa, aa) in &addrs {
                    for &(fb, ab) in &addrs {
                        let mut sc = add_in(&add_in(&Scenario::default(), "a", fa, ty), "b", fb, ty);
                        let mut k = Kernel::new();
                        for (slot, (f, s)) in [1u32, 2].into_iter().zip([fa, fb].into_iter().zip(sc.sockets.iter_mut()))
                        {
                            s.reuseaddr = reuse;
                            s.v6only = v6only && f == "inet6";
                            let family = if f == "inet6" { InetFamily::Inet6 } else { InetFamily::Inet };
                            let sty = if ty == "stream" { SockType::Stream } else { SockType::Dgram };
                            assert!(k.apply(&Op::SocketInet { slot, family, ty: sty }).is_ok());
                            assert!(k.apply(&Op::SetSockOpt { slot, opt: SockOpt::ReuseAddr(reuse) }).is_ok());
                            if s.v6only {
                                assert!(k.apply(&Op::SetSockOpt { slot, opt: SockOpt::V6Only(true) }).is_ok());
                            }
                        }
                        let sim_bind = |k: &mut Kernel, slot, a: &str| {
                            k.apply(&Op::Bind { slot, addr: SockAddr::Inet(a.parse().unwrap()) })
                        };
                        let first = sim_bind(&mut k, 1, aa);
                        let Ok(sc) = bind(&sc, "a", aa) else {
                            assert!(!first.is_ok(), "{ty} {aa}: the simulator binds it");
                            continue;
                        };
                        assert!(first.is_ok(), "{ty} {aa}: the editor binds it, the simulator says {first:?}");
                        let sim = sim_bind(&mut k, 2, ab);
                        let ed = bind(&sc, "b", ab);
                        let errno = match &sim {
                            Outcome::Err { errno } => Some(errno.to_string()),
                            _ => None,
                        };
                        match (&ed, errno) {
                            (Ok(_), None) => {}
                            (Err(e), Some(n)) if e.contains(&n) => {}
                            _ => panic!(
                                "{ty} reuse={reuse} v6only={v6only}: {aa} then {ab}: editor {ed:?}, simulator {sim:?}"
                            ),
                        }
                        compared += 1;
                    }
                }
            }
        }
        assert!(compared > 200, "{compared}");
    }

    #[test]
    fn garbage_reads_back_without_panicking() {
        for bytes in [&b""[..], b"\x01\x00\x00\x00\x08\x00\x00\x00", &[0xffu8; 64]] {
            let back = from_image(bytes);
            assert!(!back.notes.is_empty());
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod props {
    use super::*;
    use proptest::prelude::*;

    const ADDRS: [&str; 9] =
        ["/tmp/p1", "rel/p2", "@x", "@y", "127.0.0.1:80", "127.0.0.1:0", "0.0.0.0:80", "[::1]:80", "[::]:53"];

    /// An edit whose sockets are picked when it is applied, among the sockets that make it
    /// likely to be accepted (`usize`s choose by remainder), so that long sequences build
    /// listeners, pending connections, accepted sockets, pairs and queues.
    #[derive(Debug, Clone)]
    enum Step {
        Add(Family, SockType),
        Remove(usize),
        Bind(usize, &'static str),
        Listen(usize, i16),
        Pair(usize, usize),
        Connect(usize, usize),
        Accept(usize),
        Send(usize, Option<usize>, String),
        Shutdown(usize, How),
        Drop(usize, usize),
    }

    /// INET addresses of the loopback host, wildcards and "pick a port" among them.
    const INET_ADDRS: [&str; 8] =
        ["127.0.0.1:80", "127.0.0.1:0", "0.0.0.0:81", "127.0.0.2:80", "[::1]:80", "[::]:53", "[::1]:0", "127.0.0.1:53"];

    fn step() -> impl Strategy<Value = Step> {
        let family = prop_oneof![3 => Just(Family::Unix), 2 => Just(Family::Inet), 1 => Just(Family::Inet6)];
        let ty = prop_oneof![4 => Just(SockType::Stream), 1 => Just(SockType::Dgram), 1 => Just(SockType::Seqpacket)];
        steps(family, ty, &ADDRS)
    }

    fn inet_step() -> impl Strategy<Value = Step> {
        let family = prop_oneof![2 => Just(Family::Inet), 1 => Just(Family::Inet6)];
        let ty = prop_oneof![3 => Just(SockType::Stream), 2 => Just(SockType::Dgram)];
        steps(family, ty, &INET_ADDRS)
    }

    fn steps(
        family: impl Strategy<Value = Family> + 'static,
        ty: impl Strategy<Value = SockType> + 'static,
        addrs: &'static [&'static str],
    ) -> impl Strategy<Value = Step> {
        prop_oneof![
            3 => (family, ty).prop_map(|(f, t)| Step::Add(f, t)),
            1 => any::<usize>().prop_map(Step::Remove),
            3 => (any::<usize>(), proptest::sample::select(addrs)).prop_map(|(i, a)| Step::Bind(i, a)),
            3 => (any::<usize>(), -1i16..4).prop_map(|(i, b)| Step::Listen(i, b)),
            2 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Step::Pair(i, j)),
            5 => (any::<usize>(), any::<usize>()).prop_map(|(i, j)| Step::Connect(i, j)),
            3 => any::<usize>().prop_map(Step::Accept),
            6 => (any::<usize>(), proptest::option::weighted(0.3, any::<usize>()), "[a-z\\\\]{0,6}")
                .prop_map(|(i, j, d)| Step::Send(i, j, d)),
            1 => (any::<usize>(), proptest::sample::select(&How::ALL[..])).prop_map(|(i, h)| Step::Shutdown(i, h)),
            1 => (any::<usize>(), 0usize..3).prop_map(|(i, k)| Step::Drop(i, k)),
        ]
    }

    fn pick<'a>(v: &[&'a SockSpec], i: usize) -> Option<&'a SockSpec> {
        (!v.is_empty()).then(|| v[i % v.len()])
    }

    /// The edit a step stands for in `sc` (`None` when no socket fits).
    fn resolve(sc: &Scenario, st: &Step) -> Option<Edit> {
        let all: Vec<&SockSpec> = sc.sockets.iter().collect();
        let named = |s: &&SockSpec| s.addr.is_some();
        let n = |s: &SockSpec| s.name.clone();
        Some(match st {
            Step::Add(f, ty) => Edit::AddSocket { name: fresh_name(sc, "s"), family: *f, ty: *ty },
            Step::Remove(i) => Edit::RemoveSocket { name: n(pick(&all, *i)?) },
            Step::Bind(i, a) => Edit::Bind { name: n(pick(&all, *i)?), addr: a.to_string() },
            Step::Listen(i, b) => {
                let bound: Vec<&SockSpec> = all.iter().copied().filter(named).collect();
                Edit::Listen { name: n(pick(&bound, *i)?), backlog: *b }
            }
            Step::Pair(i, j) => Edit::Pair { a: n(pick(&all, *i)?), b: n(pick(&all, *j)?) },
            Step::Connect(i, j) => {
                // Mostly a target that takes connections: a listener, or any named dgram socket.
                let takes = |s: &&SockSpec| s.listen.is_some() || s.ty == SockType::Dgram || j % 4 == 0;
                let targets: Vec<&SockSpec> = all.iter().copied().filter(named).filter(takes).collect();
                Edit::Connect { client: n(pick(&all, *i)?), server: n(pick(&targets, *j / 4)?) }
            }
            Step::Accept(i) => {
                let ls: Vec<&SockSpec> = all.iter().copied().filter(|s| !s.pending.is_empty()).collect();
                Edit::Accept { listener: n(pick(&ls, *i)?), name: fresh_name(sc, "acc") }
            }
            Step::Send(i, j, data) => {
                Edit::Send { from: n(pick(&all, *i)?), to: j.and_then(|j| pick(&all, j)).map(n), data: data.clone() }
            }
            Step::Shutdown(i, how) => Edit::Shutdown { name: n(pick(&all, *i)?), how: *how },
            Step::Drop(i, k) => Edit::DropMessage { name: n(pick(&all, *i)?), index: *k },
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

        /// Whatever sequence of edits is accepted, the scenario writes an image, reads back from
        /// that image exactly, and survives a share link.
        #[test]
        fn accepted_edits_keep_the_scenario_writable_and_readable(steps in proptest::collection::vec(step(), 0..60)) {
            let mut sc = Scenario::default();
            for st in &steps {
                let Some(e) = resolve(&sc, st) else { continue };
                let Ok(next) = apply(&sc, &e) else { continue };
                sc = next;
                let img = sc.to_image();
                prop_assert!(img.is_ok(), "{e:?} left an unwritable scenario: {img:?}");
                let img = img.unwrap();
                let back = from_image(&img);
                prop_assert!(back.scenario.to_image().as_deref() == Ok(&img[..]), "{e:?}: {:?}", back.notes);
                prop_assert!(back.notes.iter().all(|n| n.contains("error(s)")), "{e:?}: {:?}", back.notes);
            }
            prop_assert_eq!(crate::share::decode(&crate::share::encode(&sc)), Ok(sc));
        }

        /// Whatever sequence of INET edits is accepted, a scenario whose image is valid is
        /// restored by its plan on the simulator (loopback host) to the end, reproducing the image.
        #[test]
        fn accepted_inet_edits_restore_on_the_simulator(
            steps in proptest::collection::vec(inet_step(), 0..60)
        ) {
            let (inet, inet6, stream, dgram) = (Family::Inet, Family::Inet6, SockType::Stream, SockType::Dgram);
            let start = [(inet, stream), (inet, stream), (inet, dgram), (inet, dgram), (inet6, stream)];
            let mut sc = Scenario::default();
            for (family, ty) in start {
                sc = apply(&sc, &Edit::AddSocket { name: fresh_name(&sc, "s"), family, ty }).unwrap();
            }
            for st in &steps {
                let Some(e) = resolve(&sc, st) else { continue };
                let Ok(next) = apply(&sc, &e) else { continue };
                sc = next;
                let img = sc.to_image();
                prop_assert!(img.is_ok(), "{e:?} left an unwritable scenario: {img:?}");
                let img = img.unwrap();
                let report = crate::load(&img);
                if !report.is_valid() {
                    continue; // (the validator's report is the editor's answer, e.g. a backlog exceeded)
                }
                let plan = crate::plan::plan(&report.image);
                prop_assert!(plan.is_ok(), "{e:?}: {plan:?}\n{sc:?}");
                let run = crate::check::run_plan(&report.image, &plan.unwrap());
                prop_assert!(run.is_clean(), "{e:?}: {:?} {:?}\n{sc:?}", run.failure, run.differences);
            }
        }
    }
}
