//! Editing a scenario, and the way back from an image to a scenario.
//!
//! [`apply`] performs one [`Edit`] — named after the system call a program would make
//! (`socket`, `close`, `bind`, `listen`, `socketpair`, `connect`, `accept`, `send`,
//! `shutdown`) — on a [`Scenario`]. The editor decides no kernel rule: each edit is lowered to
//! the [`sim::Op`] it stands for and made on the simulated kernel holding the scenario
//! ([`lower`]: the scenario's restore plan run on the loopback host), and the kernel says yes
//! or no — a refusal is an [`EditError::Kernel`] with the errno and the [`sim::Rule`] that
//! decided. What the editor does is turn the user's intent into calls (names into addresses, a
//! wildcard server reached at loopback) and the calls' results back into the scenario (the
//! pending connection, the queued message, the address and port the kernel gave). Where Linux
//! would allow an edit but the scenario form cannot hold its result (the remains of a closed TCP
//! end, a connection across families through v4-mapped addresses, a UDP peer on the wildcard
//! address, a second FIN), the editor refuses it with a [`FormLimit`]. `close()` is never
//! refused by Linux and a message dropped out of order is no system call: those two are the
//! editor's alone. An accepted edit leaves a scenario whose references all resolve (every
//! `peer`, `pair`, pending client, sender and fd names an existing socket); it is not checked
//! for every rule of the image format: lowering a backlog below the pending count, for
//! example, is allowed, and the image validator reports it — that is the editor's live
//! validation.
//!
//! [`from_image`] turns an image's model back into a scenario so that any image can be edited,
//! writes that scenario again and lists every difference between the two images: what the
//! scenario form cannot say is reported, never silently dropped.

use crate::bstr;
use crate::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec};
use crate::sim::{self, How, InetFamily, Op, Payload, Slot, SockAddr, SockType};
use crate::sock::Family;
use lower::OnKernel;

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
    sc.sockets.iter().position(|s| s.name == name).ok_or_else(|| BadInput::NoSocket(name.to_string()).into())
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

/// The `sockaddr_un` of an AF_UNIX name as the scenario spells it (`/path`, `rel/path`,
/// `@abstract`, bstr escapes).
fn unix_addr(addr: &str) -> Result<SockAddr, EditError> {
    let b = bstr::unescape(addr).map_err(|err| BadInput::NameEscape { addr: addr.to_string(), err })?;
    match b.split_first() {
        None => Err(BadInput::EmptyName.into()),
        Some((b'@', rest)) => Ok(SockAddr::Abstract(rest.to_vec())),
        Some(_) => Ok(SockAddr::Path(b)),
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
        return Err(BadInput::BadName.into());
    }
    if sc.sockets.iter().any(|s| s.name == name) {
        return Err(BadInput::NameTaken(name.to_string()).into());
    }
    Ok(SockSpec { name: name.to_string(), family, ty, ..Default::default() })
}

/// The `socket()` call of a new socket of `family` and `ty` in `slot`.
fn socket_op(slot: Slot, family: Family, ty: SockType) -> Op {
    match family {
        Family::Unix => Op::Socket { slot, ty },
        Family::Inet => Op::SocketInet { slot, family: InetFamily::Inet, ty },
        Family::Inet6 => Op::SocketInet { slot, family: InetFamily::Inet6, ty },
    }
}

/// Apply one edit: lowered to the system calls it stands for, made on the simulated kernel
/// holding the scenario ([`lower`]), then written into the scenario. On error the scenario is
/// unchanged.
pub fn apply(sc: &Scenario, edit: &Edit) -> Result<Scenario, EditError> {
    let mut sc = sc.clone();
    match edit {
        Edit::AddSocket { name, family, ty } => add_socket(&mut sc, name, *family, *ty)?,
        // close() is never refused: what remains is what the scenario form can hold.
        Edit::RemoveSocket { name } => remove(&mut sc, name)?,
        Edit::Bind { name, addr } => bind(&mut sc, name, addr)?,
        Edit::Listen { name, backlog } => listen(&mut sc, name, *backlog)?,
        Edit::Pair { a, b } => pair(&mut sc, a, b)?,
        Edit::Connect { client, server } => connect(&mut sc, client, server)?,
        Edit::Accept { listener, name } => accept(&mut sc, listener, name)?,
        Edit::Send { from, to, data } => send(&mut sc, from, to.as_deref(), data)?,
        Edit::Shutdown { name, how } => shutdown(&mut sc, name, *how)?,
        // recv() out of order is no system call: the editor's own.
        Edit::DropMessage { name, index: k } => {
            let i = index(&sc, name)?;
            if *k >= sc.sockets[i].queue.len() {
                return Err(BadInput::NoMessage { name: name.clone(), index: *k }.into());
            }
            sc.sockets[i].queue.remove(*k);
        }
    }
    Ok(sc)
}

/// `socket()`: a new socket `name`, held by a new fd.
fn add_socket(sc: &mut Scenario, name: &str, family: Family, ty: SockType) -> Result<(), EditError> {
    let s = new_socket(sc, name, family, ty)?;
    let mut k = OnKernel::of(sc)?;
    let slot = k.new_slot();
    k.call(socket_op(slot, family, ty))?;
    sc.sockets.push(s);
    hold(sc, name);
    Ok(())
}

/// `bind()`: an AF_UNIX name (an INET address: [`bind_inet`]).
fn bind(sc: &mut Scenario, name: &str, addr: &str) -> Result<(), EditError> {
    let i = index(sc, name)?;
    if sc.sockets[i].family != Family::Unix {
        return bind_inet(sc, i, addr);
    }
    let to = unix_addr(addr)?;
    let mut k = OnKernel::of(sc)?;
    let slot = k.slot(sc, i)?;
    k.call(Op::Bind { slot, addr: to })?;
    let s = &mut sc.sockets[i];
    s.addr = Some(addr.to_string());
    s.autobind = false;
    s.unlinked = false;
    Ok(())
}

/// `listen(backlog)`; an INET socket without a port gets the one the kernel gave it.
fn listen(sc: &mut Scenario, name: &str, backlog: i16) -> Result<(), EditError> {
    let i = index(sc, name)?;
    let mut k = OnKernel::of(sc)?;
    let slot = k.slot(sc, i)?;
    k.call(Op::Listen { slot, backlog: i32::from(backlog) })?;
    if !sc.sockets[i].queue.is_empty() {
        return Err(FormLimit::ListenQueued(name.to_string()).into());
    }
    if is_inet(&sc.sockets[i]) {
        set_local_from(sc, i, &k, slot);
    }
    sc.sockets[i].listen = Some(backlog);
    Ok(())
}

/// `socketpair()`: two fresh AF_UNIX sockets of one type become the pair it returns.
fn pair(sc: &mut Scenario, a: &str, b: &str) -> Result<(), EditError> {
    let (i, j) = (index(sc, a)?, index(sc, b)?);
    if i == j {
        return Err(BadInput::SamePair.into());
    }
    let (sa, sb) = (&sc.sockets[i], &sc.sockets[j]);
    if sa.family != Family::Unix || sb.family != Family::Unix {
        return Err(FormLimit::SocketpairUnixOnly.into());
    }
    if sa.ty != sb.ty {
        return Err(FormLimit::PairTypes(sa.ty, sb.ty).into());
    }
    for s in [sa, sb] {
        if !fresh(sc, s) || s.addr.is_some() || !s.queue.is_empty() || s.shutdown.is_some() {
            return Err(FormLimit::PairNotFresh(s.name.clone()).into());
        }
    }
    // Two fresh sockets paired: the pair socketpair() returns.
    let mut k = OnKernel::of(sc)?;
    let (na, nb) = (k.new_slot(), k.new_slot());
    k.call(Op::Socketpair { a: na, b: nb, ty: sa.ty })?;
    sc.sockets[i].pair = Some(b.to_string());
    sc.sockets[j].pair = Some(a.to_string());
    Ok(())
}

/// `accept()`: the listener's first pending connection becomes the socket `name`, with what
/// its client sent before (a client that has closed leaves it `peer_gone`).
fn accept(sc: &mut Scenario, listener: &str, name: &str) -> Result<(), EditError> {
    let l = index(sc, listener)?;
    let mut s = new_socket(sc, name, sc.sockets[l].family, sc.sockets[l].ty)?;
    let mut k = OnKernel::of(sc)?;
    let (slot, new) = (k.slot(sc, l)?, k.new_slot());
    k.call(Op::Accept { slot, new })?;
    if sc.sockets[l].pending.is_empty() {
        return Err(FormLimit::UnlistedConnection(listener.to_string()).into());
    }
    let p = sc.sockets[l].pending.remove(0);
    s.accepted_from = Some(listener.to_string());
    s.queue = p.sent;
    match &p.client {
        Some(c) => {
            s.peer = Some(c.clone());
            let ci = index(sc, c)?;
            sc.sockets[ci].peer = Some(name.to_string());
        }
        None => s.peer_gone = true,
    }
    sc.sockets.push(s);
    hold(sc, name);
    Ok(())
}

/// `shutdown(how)`: this socket's bits, and the mirror image its connected stream peer sees.
fn shutdown(sc: &mut Scenario, name: &str, how: How) -> Result<(), EditError> {
    let bits = how.bits();
    let i = index(sc, name)?;
    let mut k = OnKernel::of(sc)?;
    let slot = k.slot(sc, i)?;
    k.call(Op::Shutdown { slot, how })?;
    let s = &sc.sockets[i];
    if s.peer_gone {
        return Err(FormLimit::PeerGoneShutdown(name.to_string()).into());
    }
    let inet = is_inet(s);
    if inet {
        // inet_shutdown: a listener stops listening on SHUT_RD (and ignores SHUT_WR).
        if s.listen.is_some() {
            if bits & 1 != 0 {
                return Err(FormLimit::TcpListenerShutRd.into());
            }
            return Ok(());
        }
        if pending_of(sc, name).is_some() && bits & 2 != 0 {
            return Err(FormLimit::ShutdownBeforeAccept.into());
        }
    }
    let mirror = if connection_oriented(s) { destination(sc, i) } else { None };
    let mine = shut_bits(s.shutdown) | bits;
    // unix_shutdown(): a connected stream peer gets RCV for our SEND and SEND for our RCV;
    // TCP (tcp_fin): our FIN shuts the peer's reading side, SHUT_RD tells it nothing.
    let peer_bits = if inet { bits >> 1 } else { sim::How::mirror(bits) };
    if let Some(j) = mirror.and_then(|p| sc.sockets.iter().position(|o| o.name == p)) {
        let theirs = shut_bits(sc.sockets[j].shutdown);
        if inet && peer_bits != 0 && theirs & 2 != 0 {
            return Err(FormLimit::BothFins.into());
        }
        sc.sockets[j].shutdown = How::from_bits(theirs | peer_bits);
    }
    sc.sockets[i].shutdown = How::from_bits(mine);
    Ok(())
}

/// The `sk_shutdown` bits of a scenario socket.
fn shut_bits(how: Option<How>) -> u8 {
    how.map_or(0, How::bits)
}

fn connect(sc: &mut Scenario, client: &str, server: &str) -> Result<(), EditError> {
    let (c, s) = (index(sc, client)?, index(sc, server)?);
    let (cs, ss) = (&sc.sockets[c], &sc.sockets[s]);
    if cs.family != ss.family {
        return Err(FormLimit::CrossFamily {
            client: client.to_string(),
            client_family: cs.family,
            server: server.to_string(),
            server_family: ss.family,
        }
        .into());
    }
    let inet = is_inet(cs);
    let to = match (inet, ss.addr.as_deref()) {
        (true, _) => match inet_local(ss).filter(|a| a.port() != 0) {
            Some(bound) => SockAddr::Inet(inet_target(sc, c, s, bound)?),
            None => return Err(FormLimit::NoNameToConnect(server.to_string()).into()),
        },
        (false, Some(name)) => unix_addr(name)?,
        (false, None) => return Err(FormLimit::NoNameToConnect(server.to_string()).into()),
    };
    let mut k = OnKernel::of(sc)?;
    let slot = k.slot(sc, c)?;
    k.call(Op::Connect { slot, addr: to })?;
    let (cs, ss) = (&sc.sockets[c], &sc.sockets[s]);
    if inet && cs.ty == SockType::Dgram && ss.ty != SockType::Dgram {
        return Err(FormLimit::UdpPeerNotUdp.into());
    }
    if c == s && (inet || connection_oriented(cs)) {
        return Err(FormLimit::SelfConnect.into());
    }
    if connection_oriented(cs) && ss.listen.is_none() {
        // Linux connects a TCP socket to its own address (simultaneous open); no listener there.
        return Err(FormLimit::NoListener(server.to_string()).into());
    }
    if !connection_oriented(cs) && cs.pair.is_some() {
        return Err(FormLimit::PairedDgramConnect(client.to_string()).into());
    }
    if inet {
        set_local_from(sc, c, &k, slot);
    }
    if connection_oriented(&sc.sockets[c]) {
        sc.sockets[s].pending.push(PendingSpec { client: Some(client.to_string()), sent: Vec::new() });
    } else {
        // unix_dgram_connect → unix_dgram_disconnected: connected elsewhere than its old peer
        // (alive or closed), a dgram socket's queue is purged, as the kernel just did.
        if k.kernel.sock(slot).is_some_and(|x| x.queue.is_empty()) {
            sc.sockets[c].queue.clear();
        }
        if let Some(old) = sc.sockets[c].peer.clone().filter(|o| o != server) {
            let o = index(sc, &old)?;
            if k.slot(sc, o).ok().and_then(|os| k.kernel.sock(os)).is_some_and(|x| x.err.is_some()) {
                return Err(FormLimit::DgramResetLeft(client.to_string(), old).into());
            }
        }
        sc.sockets[c].peer_gone = false;
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

/// `send()`/`sendto()` made on the kernel (`unix_stream_sendmsg`, `unix_dgram_sendmsg`,
/// `tcp_sendmsg`, `udp_sendmsg` decide), then queued in the scenario where Linux queues it:
/// the peer, the embryo of a pending connection, or the dgram destination (an unbound UDP
/// sender gets the port the kernel gave it, `inet_send_prepare`).
fn send(sc: &mut Scenario, from: &str, to: Option<&str>, data: &str) -> Result<(), EditError> {
    let bytes = bstr::unescape(data).map_err(BadInput::DataEscape)?;
    let f = index(sc, from)?;
    let t = to.map(|t| index(sc, t)).transpose()?;
    let fs = &sc.sockets[f];
    let inet = is_inet(fs);
    let udp = inet && fs.ty == SockType::Dgram;
    if bytes.is_empty() && fs.ty == SockType::Stream {
        // unix_stream_sendmsg, tcp_sendmsg: no bytes, no skb (a datagram may be empty).
        return Err(FormLimit::EmptyStreamSend.into());
    }
    let peer = destination(sc, f);
    // The destination address of the call: none for a connected socket's own peer.
    let addr = match t {
        None => None,
        Some(t) if peer.as_deref() == Some(sc.sockets[t].name.as_str()) => None,
        Some(_) if inet && connection_oriented(fs) => return Err(FormLimit::TcpSendtoElsewhere.into()),
        Some(t) if inet => {
            let ts = &sc.sockets[t];
            if ts.family != fs.family {
                return Err(FormLimit::SendAcrossFamilies.into());
            }
            if ts.ty != fs.ty {
                return Err(FormLimit::DatagramToTcp.into());
            }
            let Some(bound) = inet_local(ts).filter(|a| a.port() != 0) else {
                return Err(FormLimit::DestinationUnbound.into());
            };
            Some(SockAddr::Inet(reach(bound)))
        }
        Some(t) => match sc.sockets[t].addr.as_deref() {
            Some(name) if sc.sockets[t].family == Family::Unix => Some(unix_addr(name)?),
            Some(_) => Some(SockAddr::Inet(inet_local(&sc.sockets[t]).map_or(any_addr(Family::Inet, 0), reach))),
            None => return Err(FormLimit::DestinationUnnamed(sc.sockets[t].name.clone()).into()),
        },
    };
    let (stream, outside) = (connection_oriented(fs), fs.external_peer);
    let mut k = OnKernel::of(sc)?;
    let slot = k.slot(sc, f)?;
    k.call(Op::Send { slot, to: addr, data: Payload(bytes), rights: Vec::new() })?;
    let msg =
        |from_field: Option<String>| MsgSpec { from: from_field, data: Some(data.to_string()), ..Default::default() };
    if stream {
        if let Some((l, k)) = pending_of(sc, from) {
            // Before accept(): the data waits on the embryo.
            sc.sockets[l].pending[k].sent.push(msg(None));
            return Ok(());
        }
        let Some(r) = peer.and_then(|p| sc.sockets.iter().position(|o| o.name == p)) else {
            return Err(if outside { FormLimit::OutsidePeer } else { FormLimit::NoDestination }.into());
        };
        // TCP: a peer shut down for reading still queues; one shut both ways answers with an RST.
        if inet && shut_bits(sc.sockets[r].shutdown) == 3 {
            return Err(FormLimit::PeerShutBothWays.into());
        }
        sc.sockets[r].queue.push(msg(None));
        return Ok(());
    }
    let dest = t.or_else(|| peer.and_then(|p| sc.sockets.iter().position(|o| o.name == p)));
    let Some(r) = dest else {
        return Err(if outside { FormLimit::OutsidePeer } else { FormLimit::NoDestination }.into());
    };
    // UDP: a connected socket receives only from its peer's address.
    let rs = &sc.sockets[r];
    let receiver_peer = rs.pair.as_deref().or(rs.peer.as_deref());
    if inet && (rs.external_peer || receiver_peer.is_some_and(|p| p != from)) {
        return Err(FormLimit::UdpDestinationConnectedElsewhere.into());
    }
    let from_field = (receiver_peer != Some(from)).then(|| from.to_string());
    if udp {
        set_local_from(sc, f, &k, slot);
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
            return Err(FormLimit::InFlight { name: name.to_string(), on: s.name.clone() }.into());
        }
        if s.accepted_from.as_deref() == Some(name) {
            return Err(FormLimit::ListenerOfAccepted { name: name.to_string(), accepted: s.name.clone() }.into());
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
            // to the closed one keeps a dead peer (unix_peer still points at it, its own
            // shutdown untouched): `peer_gone` on a dgram socket, as `checkpoint dump` writes it.
            // Its next send is then ECONNREFUSED (the kernel's answer on the scenario's
            // kernel), and a connect elsewhere purges its queue (`set_dgram_peer`).
            s.peer_gone = true;
            if stream {
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
                    let (holder, name, peer) = (s.name.clone(), name.to_string(), d.clone());
                    return Err(FormLimit::SenderClosed { holder, name, peer }.into());
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

mod error;
mod import;
mod inet;
pub mod lower;
#[cfg(all(test, not(target_arch = "wasm32")))]
mod props;
#[cfg(test)]
mod tests;

pub use error::{BadInput, Call, EditError, FormLimit, KernelRefusal, NotOnKernel};
pub use import::{from_image, Imported};
use inet::*;
