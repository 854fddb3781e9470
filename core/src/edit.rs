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

use crate::bstr;
use crate::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec};
use crate::sim::inet::UDP_MAX;
use crate::sim::{self, How, SockType};
use crate::sock::Family;

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

mod import;
mod inet;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod props;
#[cfg(test)]
mod tests;

pub use import::{from_image, Imported};
use inet::*;
