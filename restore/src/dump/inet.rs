//! The TCP/UDP part of `checkpoint dump` (issue 6): inet_diag (`diag_inet`) for states,
//! addresses, backlogs, accept queues, shutdown bits and buffer sizes; the duplicated fds for
//! what inet_diag does not list (sockets neither bound nor connected) and for the socket options
//! (`SO_REUSEADDR`, `SO_REUSEPORT`); `MSG_PEEK` for queued data. Loopback peers are matched by
//! their address pairs; a peer outside the dumped processes makes the socket external (restored
//! as a broken connection, with a warning).
//!
//! Refused, with the reason, rather than written wrongly: data in a TCP send queue (sent but not
//! acknowledged: no interface reads it without `TCP_REPAIR`), data a pending client sent before
//! `accept()` (it waits on the embryo, which has no file to read it from) unless `--kill`,
//! connections in the middle of opening or closing, and datagrams from senders outside the image.
//!
//! Seen and said: the kernel does not expose the order of a TCP listener's accept queue, so
//! pending connections are recorded in the order their clients' sockets were created (inode
//! order), with a warning. With `--kill` ([`accept_pending`]) the listener is accepted on through
//! its duplicate instead: the order is accept()'s and the data sent before accept() is read.

use super::DumpError;
use crate::diag_inet::{InetDiag, IPPROTO_TCP};
use crate::dump::DumpWarning;
use resocket_core::bstr;
use resocket_core::scenario::{MsgSpec, PendingSpec, SockSpec};
use resocket_core::sim::{How, SockType};
use resocket_core::sock::{Family, SkState};
use resocket_core::warn::WarnCode;
use rustix::fd::OwnedFd;
use rustix::net::{self, AddressFamily, RecvFlags, SocketType};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};

/// A state's name in messages (`unknown` for a number Linux does not define).
fn state_name(s: Option<SkState>) -> &'static str {
    s.map_or("unknown", SkState::name)
}

fn name_of(ino: u32) -> String {
    format!("ino{ino}")
}

/// An IPv4-mapped IPv6 address as the IPv4 one, so both ends of a dual-stack connection compare.
fn canon(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(a, |v4| SocketAddr::new(IpAddr::V4(v4), a.port())),
        IpAddr::V4(_) => a,
    }
}

/// The scenario spelling: `a.b.c.d:port`, `[v6]:port` (an IPv4-mapped address on an inet6
/// socket is spelled as IPv4, which the scenario form reads as mapped).
/// `pending-external`: listener `l`'s pending connection from `from`, outside the dumped
/// processes, is left out (in the accept queue, or accepted by a `--kill` dump).
fn pending_external(l: u32, from: SocketAddr) -> DumpWarning {
    DumpWarning::on(
        l,
        WarnCode::PendingExternal,
        format!(
            "{}: a pending connection from {} (outside the dumped processes) is left out: its client will see it reset",
            name_of(l),
            spell(from)
        ),
    )
}

fn spell(a: SocketAddr) -> String {
    canon(a).to_string()
}

/// A listener at `l` accepts connections arriving at `local`.
fn accepts_at(l: SocketAddr, local: SocketAddr) -> bool {
    l.port() == local.port()
        && l.is_ipv4() == local.is_ipv4()
        && (l.ip().is_unspecified() || canon(l).ip() == canon(local).ip())
}

/// One socket of the dumped processes.
struct Sock<'d> {
    ino: u32,
    fd: &'d OwnedFd,
    tcp: bool,
    inet6: bool,
    diag: Option<&'d InetDiag>,
}

impl Sock<'_> {
    /// Its state; a socket inet_diag does not list is in no hash table: closed.
    fn state(&self) -> Option<SkState> {
        self.diag.map_or(Some(SkState::Close), InetDiag::sk_state)
    }
    fn local(&self) -> Option<SocketAddr> {
        self.diag.map(|d| d.local).or_else(|| {
            let a = net::getsockname(self.fd).ok()?;
            SocketAddr::try_from(a).ok()
        })
    }
    fn remote(&self) -> Option<SocketAddr> {
        self.diag.map(|d| d.remote).filter(|r| r.port() != 0)
    }
}

/// Run `f` (MSG_PEEKs from the head of a TCP queue) with the socket's own peek offset off: a
/// `SO_PEEK_OFF` of the process's (TCP has it since Linux 6.10) would make a peek start there
/// and move it. The offset is put back afterwards.
pub(crate) fn without_peek_off<T>(fd: &OwnedFd, f: impl FnOnce() -> T) -> Result<T, DumpError> {
    use rustix::fd::AsFd;
    let saved = crate::raw::peek_off(fd.as_fd()).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    if saved >= 0 {
        crate::raw::set_peek_off(fd.as_fd(), -1).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    }
    let out = f();
    if saved >= 0 {
        crate::raw::set_peek_off(fd.as_fd(), saved).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    }
    Ok(out)
}

/// The out-of-band byte pending on a stream socket (AF_UNIX `MSG_OOB`, Linux ≥ 5.15; TCP
/// urgent data), read with `recv(MSG_OOB | MSG_PEEK)`, which leaves it where it is. A socket
/// with `SO_OOBINLINE` answers EINVAL to that whatever it holds, so the option is set aside for
/// the peek and put back. `Ok(None)`: none pending (EINVAL). TCP's EAGAIN (urgent data announced,
/// its byte not yet arrived) is reported as pending too, with no byte.
pub(crate) fn oob_pending(fd: &OwnedFd) -> Result<Option<Option<u8>>, DumpError> {
    let inline = net::sockopt::socket_oobinline(fd).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    oob_pending_known(fd, inline)
}

/// [`oob_pending`] of a socket whose `SO_OOBINLINE` the caller has read already (`inline`).
pub(crate) fn oob_pending_known(fd: &OwnedFd, inline: bool) -> Result<Option<Option<u8>>, DumpError> {
    if inline {
        net::sockopt::set_socket_oobinline(fd, false).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    }
    let mut b = [0u8; 1];
    let got = net::recv(fd, &mut b[..], RecvFlags::OOB | RecvFlags::PEEK | RecvFlags::DONTWAIT);
    if inline {
        net::sockopt::set_socket_oobinline(fd, true).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    }
    match got {
        Ok((n, _)) if n > 0 => Ok(Some(Some(b[0]))),
        Ok(_) => Ok(None),
        Err(e) if e == rustix::io::Errno::INVAL => Ok(None),
        Err(e) if e == rustix::io::Errno::AGAIN => Ok(Some(None)),
        Err(e) => Err(DumpError::from(format!("recv(MSG_OOB | MSG_PEEK): {e}"))),
    }
}

/// The dump's refusal of a socket with out-of-band data pending: the image has no record for
/// it, and a restore would deliver the byte inline (or not at all), so the socket would come
/// back different.
pub(crate) fn refuse_oob(who: &str, what: &str, byte: Option<u8>) -> DumpError {
    let byte = byte.map_or_else(|| " (announced, not yet arrived)".to_string(), |b| format!(" {b:#04x}"));
    DumpError::Refused(format!(
        "{who}: {what}{byte} is pending in its receive queue; a dump that leaves the process running cannot tell for certain where its mark is (a peek stops there, but also at other boundaries): `checkpoint dump --kill` reads it (it reads the queue for real, asking SIOCATMARK before each read, and records the byte and its place in RS_OOB), then kills the processes"
    ))
}

/// A TCP queue as scenario messages: TCP keeps no boundaries, so one message holds the bytes,
/// except around a pending urgent byte (`urgent`: its place), a 1-byte message of its own
/// marked `oob` (RS_OOB), between the bytes before and after it.
fn tcp_msgs(bytes: &[u8], urgent: Option<usize>) -> Vec<MsgSpec> {
    let msg = |b: &[u8], oob: bool| MsgSpec { hex: Some(bstr::hex(b)), oob, ..MsgSpec::default() };
    match urgent.filter(|&at| at < bytes.len()) {
        Some(at) => {
            let (before, after) = (&bytes[..at], &bytes[at + 1..]);
            let mut out = Vec::new();
            if !before.is_empty() {
                out.push(msg(before, false));
            }
            out.push(msg(&bytes[at..=at], true));
            if !after.is_empty() {
                out.push(msg(after, false));
            }
            out
        }
        None if bytes.is_empty() => Vec::new(),
        None => vec![msg(bytes, false)],
    }
}

/// A datagram and its sender.
type Datagram = (Option<SocketAddr>, Vec<u8>);

/// Datagrams queued on a UDP socket with their senders, peeked (`SO_PEEK_OFF` walks the queue).
pub(crate) fn peek_datagrams(fd: &OwnedFd) -> Result<Vec<Datagram>, DumpError> {
    use rustix::fd::AsFd;
    // The process's own peek offset is put back afterwards.
    let saved = crate::raw::peek_off(fd.as_fd()).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    crate::raw::set_peek_off(fd.as_fd(), 0).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    let mut buf = vec![0u8; 1 << 16];
    let mut out = Vec::new();
    let result = loop {
        if out.len() >= 1_000_000 {
            break Err(DumpError::from("more than a million queued datagrams"));
        }
        match net::recvfrom(fd, &mut buf[..], RecvFlags::PEEK | RecvFlags::DONTWAIT) {
            Ok((n, _, from)) => {
                let from = from.and_then(|a| SocketAddr::try_from(a).ok());
                out.push((from, buf[..n.min(buf.len())].to_vec()));
            }
            Err(e) if e == rustix::io::Errno::AGAIN => break Ok(()),
            Err(e) => break Err(DumpError::from(format!("MSG_PEEK: {e}"))),
        }
    };
    crate::raw::set_peek_off(fd.as_fd(), saved).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    result.map(|()| out)
}

/// The socket options set away from their defaults that the image has no field for (the
/// `SOL_SOCKET` and `IPPROTO_TCP` ones are in `RS_SOCKOPT`; these are IP-level).
fn options_set(fd: &OwnedFd, inet6: bool) -> Vec<&'static str> {
    use rustix::net::sockopt as so;
    let mut out = Vec::new();
    if !inet6 && so::ip_tos(fd).unwrap_or(0) != 0 {
        out.push("IP_TOS");
    }
    if inet6 && so::ipv6_tclass(fd).unwrap_or(0) != 0 {
        out.push("IPV6_TCLASS");
    }
    if so::ip_freebind(fd).unwrap_or(false) || (inet6 && so::ipv6_freebind(fd).unwrap_or(false)) {
        out.push(if inet6 { "IPV6_FREEBIND" } else { "IP_FREEBIND" });
    }
    out
}

/// Whether a duplicated socket is TCP or UDP over IPv4/IPv6: `Some((tcp, inet6))`.
pub(crate) fn classify(fd: &OwnedFd) -> Option<(bool, bool)> {
    let inet6 = match net::sockopt::socket_domain(fd).ok()? {
        AddressFamily::INET => false,
        AddressFamily::INET6 => true,
        _ => return None,
    };
    match net::sockopt::socket_type(fd).ok()? {
        SocketType::STREAM => Some((true, inet6)),
        SocketType::DGRAM => Some((false, inet6)),
        _ => None,
    }
}

/// A duplicated TCP or UDP socket and its [`classify`] answer, `(tcp, inet6)`.
pub(crate) type InetFd = (OwnedFd, (bool, bool));

/// One connection a `--kill` dump took off a TCP listener's accept queue: the accepted end's
/// own address, its peer's (the client's), and every byte the client had sent before accept()
/// as the queue's messages (an urgent byte one of its own, urgent.rs).
#[derive(Debug)]
pub(crate) struct TcpAccepted {
    pub local: SocketAddr,
    pub peer: SocketAddr,
    pub sent: Vec<MsgSpec>,
}

/// What data sent before accept() the TCP part may meet: refused (a plain dump: it waits on
/// the embryo), or read by accepting (`--kill`, [`accept_pending`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EarlyData {
    Refuse,
    Accepted,
}

/// `--kill`: each dumped TCP listener with connections in its accept queue (per `diags`) is
/// accepted on through its duplicate, in accept order, and everything each connection holds is
/// read. Listener inode → the connections, in accept order; the accepted sockets are handed to
/// `keep` (closing them would reset their clients before the dump reads them).
pub(crate) fn accept_pending(
    socks: &BTreeMap<u32, InetFd>,
    diags: &[InetDiag],
    keep: &mut Vec<OwnedFd>,
) -> Result<BTreeMap<u32, Vec<TcpAccepted>>, DumpError> {
    let mut out = BTreeMap::new();
    for d in diags.iter().filter(|d| d.protocol == IPPROTO_TCP && d.sk_state() == Some(SkState::Listen) && d.rqueue > 0)
    {
        let Some((fd, (true, _))) = socks.get(&d.ino) else { continue };
        let mut conns = Vec::new();
        for _ in 0..d.rqueue {
            let a = match net::accept_with(fd, net::SocketFlags::NONBLOCK | net::SocketFlags::CLOEXEC) {
                Ok(a) => a,
                Err(e) if e == rustix::io::Errno::AGAIN => break,
                Err(e) => return Err(DumpError::from(format!("{}: accept: {e}", name_of(d.ino)))),
            };
            let addr = |r: rustix::io::Result<Option<net::SocketAddrAny>>| {
                r.ok().flatten().and_then(|a| SocketAddr::try_from(a).ok())
            };
            let (Some(local), Some(peer)) = (addr(net::getsockname(&a).map(Some)), addr(net::getpeername(&a))) else {
                return Err(DumpError::from(format!("{}: an accepted connection has no addresses", name_of(d.ino))));
            };
            // Peeked, not read: a read would skip an urgent byte or stop at its mark.
            let who = format!("{}: the pending connection from {}", name_of(d.ino), spell(peer));
            let queued = super::urgent::queued(&a).map_err(|e| e.context(&who))?;
            let q = super::urgent::peek_tcp_queue(&a, queued).map_err(|e| e.context(&who))?;
            let sent = tcp_msgs(&q.bytes, q.pending_at(&who)?);
            conns.push(TcpAccepted { local, peer, sent });
            keep.push(a);
        }
        out.insert(d.ino, conns);
    }
    Ok(out)
}

/// The dumped TCP/UDP sockets as the spec of each one sees them: each socket with its
/// inet_diag entry, the connected ends by address pair and the listeners.
struct Seen<'d> {
    list: Vec<Sock<'d>>,
    /// Connected ends by (local, remote, TCP), to find each one's peer.
    ends: BTreeMap<(SocketAddr, SocketAddr, bool), u32>,
    /// TCP listeners: address and inode.
    listeners: Vec<(SocketAddr, u32)>,
}

/// A dumped listener's pending connections (listener inode → client inodes, each with the data
/// it sent before accept()), and the clients.
#[derive(Default)]
struct Pending {
    of: BTreeMap<u32, Vec<(u32, Vec<MsgSpec>)>>,
    clients: BTreeSet<u32>,
}

/// The scenario sockets for the TCP/UDP sockets `socks` (inode → duplicated fd) of the dumped
/// processes; `held` are the inodes some dumped fd holds (the others are only in flight).
/// `accepted`: the connections a `--kill` dump took off listeners' accept queues (then
/// recorded as those listeners' pending connections, in accept order, with their data).
pub(crate) fn specs(
    socks: &BTreeMap<u32, InetFd>,
    diags: &[InetDiag],
    held: &BTreeSet<u32>,
    early: EarlyData,
    accepted: &BTreeMap<u32, Vec<TcpAccepted>>,
    warnings: &mut Vec<DumpWarning>,
) -> Result<Vec<SockSpec>, DumpError> {
    let by_ino: BTreeMap<u32, &InetDiag> = diags.iter().filter(|d| d.ino != 0).map(|d| (d.ino, d)).collect();
    let mut list = Vec::new();
    for (&ino, (fd, (tcp, inet6))) in socks {
        let (tcp, inet6) = (*tcp, *inet6);
        let diag = by_ino.get(&ino).copied().filter(|d| (d.protocol == IPPROTO_TCP) == tcp);
        list.push(Sock { ino, fd, tcp, inet6, diag });
    }
    let ends: BTreeMap<(SocketAddr, SocketAddr, bool), u32> =
        list.iter().filter_map(|s| Some(((canon(s.local()?), canon(s.remote()?), s.tcp), s.ino))).collect();
    let listeners: Vec<(SocketAddr, u32)> = list
        .iter()
        .filter(|s| s.tcp && s.state() == Some(SkState::Listen))
        .filter_map(|s| Some((s.local()?, s.ino)))
        .collect();
    let seen = Seen { list, ends, listeners };
    let mut pending = pending(&seen, diags, early, warnings)?;
    took_pending(&seen, accepted, &mut pending, warnings);
    let mut out = Vec::new();
    for s in &seen.list {
        let mut spec = common_spec(s, held, warnings)?;
        if s.tcp {
            tcp_spec(&mut spec, s, &seen, &mut pending, accepted, warnings)?;
        } else {
            udp_spec(&mut spec, s, &seen, warnings)?;
        }
        out.push(spec);
    }
    Ok(out)
}

/// Connections in an accept queue: TCP sockets without a file, at a dumped listener's address,
/// matched to their clients by address (one from outside the dumped processes is left out,
/// with a warning). Data a client sent before accept() refuses the dump unless `early` allows.
fn pending(
    seen: &Seen<'_>,
    diags: &[InetDiag],
    early: EarlyData,
    warnings: &mut Vec<DumpWarning>,
) -> Result<Pending, DumpError> {
    let mut p = Pending::default();
    for e in diags.iter().filter(|d| d.ino == 0 && d.protocol == IPPROTO_TCP && d.remote.port() != 0) {
        if !matches!(e.sk_state(), Some(SkState::Established | SkState::CloseWait)) {
            continue; // opening (SYN_RECV) or closing without a file: not part of any process
        }
        let Some(&(_, l)) = seen.listeners.iter().find(|(la, _)| accepts_at(*la, e.local)) else { continue };
        match seen.ends.get(&(canon(e.remote), canon(e.local), true)) {
            Some(&client) => {
                if e.rqueue > 0 && early == EarlyData::Refuse {
                    return Err(DumpError::Refused(format!(
                        "{}: the pending connection from {} holds {} bytes sent before accept(); they wait on the embryo, which no interface can read without accepting the connection (`checkpoint dump --kill` accepts it, for processes that will not run on)",
                        name_of(l),
                        name_of(client),
                        e.rqueue
                    )));
                }
                p.of.entry(l).or_default().push((client, Vec::new()));
                p.clients.insert(client);
            }
            None => warnings.push(pending_external(l, e.remote)),
        }
    }
    Ok(p)
}

/// Connections a `--kill` dump accepted (`accepted`): no longer in the accept queue (the
/// accepted end is ours now), so matched to their clients by address, and in the order accept()
/// gave them.
fn took_pending(
    seen: &Seen<'_>,
    accepted: &BTreeMap<u32, Vec<TcpAccepted>>,
    pending: &mut Pending,
    warnings: &mut Vec<DumpWarning>,
) {
    for (&l, conns) in accepted {
        let mut p = Vec::new();
        for c in conns {
            match seen.ends.get(&(canon(c.peer), canon(c.local), true)) {
                Some(&client) => {
                    p.push((client, c.sent.clone()));
                    pending.clients.insert(client);
                }
                None => warnings.push(pending_external(l, c.peer)),
            }
        }
        pending.of.insert(l, p);
    }
}

/// What every TCP/UDP socket records: name, family, type, address, reuse flags, IPV6_V6ONLY,
/// buffer sizes and options (a warning for the options the image has no field for).
fn common_spec(s: &Sock<'_>, held: &BTreeSet<u32>, warnings: &mut Vec<DumpWarning>) -> Result<SockSpec, DumpError> {
    let mut spec = SockSpec {
        name: name_of(s.ino),
        family: if s.inet6 { Family::Inet6 } else { Family::Inet },
        ty: if s.tcp { SockType::Stream } else { SockType::Dgram },
        no_fd: !held.contains(&s.ino),
        ..SockSpec::default()
    };
    if let Some(a) = s.local().filter(|a| a.port() != 0) {
        spec.addr = Some(spell(a));
    }
    spec.reuseaddr = net::sockopt::socket_reuseaddr(s.fd).unwrap_or(false);
    spec.reuseport = net::sockopt::socket_reuseport(s.fd).unwrap_or(false);
    spec.v6only =
        s.inet6 && s.diag.and_then(|d| d.v6only).unwrap_or_else(|| net::sockopt::ipv6_v6only(s.fd).unwrap_or(false));
    if let Some((rcv, snd)) = s.diag.and_then(|d| d.bufs) {
        spec.rcvbuf = Some(rcv as i32);
        spec.sndbuf = Some(snd as i32);
    } else {
        spec.sndbuf = net::sockopt::socket_send_buffer_size(s.fd).ok().map(|v| v as i32);
        spec.rcvbuf = net::sockopt::socket_recv_buffer_size(s.fd).ok().map(|v| v as i32);
    }
    let kind = if s.tcp { resocket_core::sockopt::OptKind::Tcp } else { resocket_core::sockopt::OptKind::Udp };
    spec.opts = crate::sockopt_io::read_all(s.fd, kind)
        .map_err(|e| format!("{}: {e}: the dump cannot record its socket options", name_of(s.ino)))?;
    let set = options_set(s.fd, s.inet6);
    if !set.is_empty() {
        warnings.push(DumpWarning::on(
            s.ino,
            WarnCode::OptionNotRecorded,
            format!(
                "{}: {} set; the image has no field for {}: a restore leaves {} at the default",
                name_of(s.ino),
                set.join(", "),
                if set.len() == 1 { "it" } else { "them" },
                if set.len() == 1 { "it" } else { "them" }
            ),
        ));
    }
    Ok(spec)
}

/// A TCP socket by its state: a listener with its pending connections, a connection with its
/// peer, shutdown bits and unread bytes, a closed socket as it is; a connection opening or
/// closing refuses the dump.
fn tcp_spec(
    spec: &mut SockSpec,
    s: &Sock<'_>,
    seen: &Seen<'_>,
    pending: &mut Pending,
    accepted: &BTreeMap<u32, Vec<TcpAccepted>>,
    warnings: &mut Vec<DumpWarning>,
) -> Result<(), DumpError> {
    let state = s.state();
    match state {
        Some(SkState::Listen) => {
            listener_spec(spec, s, pending.of.remove(&s.ino).unwrap_or_default(), accepted, warnings);
            Ok(())
        }
        Some(SkState::Established | SkState::CloseWait | SkState::FinWait1 | SkState::FinWait2) => {
            let d = s.diag.ok_or_else(|| format!("{}: connected but not listed by inet_diag", name_of(s.ino)))?;
            connection_spec(spec, s, d, state, seen, pending, warnings)
        }
        Some(SkState::Close) => Ok(()),
        st @ (Some(
            SkState::SynSent
            | SkState::SynRecv
            | SkState::TimeWait
            | SkState::LastAck
            | SkState::Closing
            | SkState::NewSynRecv,
        )
        | None) => Err(DumpError::Refused(format!(
            "{}: TCP state {} (a connection opening or closing) cannot be recreated by connect()/accept(); dump again once it settles",
            name_of(s.ino),
            state_name(st)
        ))),
    }
}

/// A TCP listener: its backlog and pending connections `p` (in accept order after a `--kill`
/// dump's accept, else in their clients' creation order, with a warning when that is a guess).
fn listener_spec(
    spec: &mut SockSpec,
    s: &Sock<'_>,
    mut p: Vec<(u32, Vec<MsgSpec>)>,
    accepted: &BTreeMap<u32, Vec<TcpAccepted>>,
    warnings: &mut Vec<DumpWarning>,
) {
    let backlog = s.diag.map_or(0, |d| d.wqueue);
    spec.listen = Some(i16::try_from(backlog).unwrap_or(i16::MAX));
    if accepted.contains_key(&s.ino) {
        // In accept order: accept() said so.
    } else {
        if p.len() > 1 {
            warnings.push(DumpWarning::on(
                s.ino,
                WarnCode::AcceptOrderGuessed,
                format!(
                    "{}: {} pending connections; the kernel does not expose their accept order, so they are recorded in the order their clients were created",
                    name_of(s.ino),
                    p.len()
                ),
            ));
        }
        p.sort_by_key(|(client, _)| *client);
    }
    spec.pending = p.into_iter().map(|(c, sent)| PendingSpec { client: Some(name_of(c)), sent }).collect();
}

/// A TCP connection (`d`: its inet_diag entry, `state` its state): its peer in the image (an
/// accepted end names its listener), or an external peer with a warning; its shutdown bits as
/// the kernel holds them; its unread bytes. Bytes in its send queue refuse the dump.
fn connection_spec(
    spec: &mut SockSpec,
    s: &Sock<'_>,
    d: &InetDiag,
    state: Option<SkState>,
    seen: &Seen<'_>,
    pending: &Pending,
    warnings: &mut Vec<DumpWarning>,
) -> Result<(), DumpError> {
    if d.wqueue > 0 {
        return Err(DumpError::Refused(format!(
            "{}: {} bytes sent to {} are not yet acknowledged (in the send queue); no interface reads them without TCP_REPAIR, so the socket cannot be captured faithfully",
            name_of(s.ino),
            d.wqueue,
            spell(d.remote)
        )));
    }
    let peer = seen.ends.get(&(canon(d.remote), canon(d.local), true)).copied();
    if pending.clients.contains(&s.ino) {
        // Its peer is an embryo: the listener's pending list says it all.
    } else if let Some(p) = peer {
        spec.peer = Some(name_of(p));
        if let Some(&(_, l)) = seen.listeners.iter().find(|(la, _)| accepts_at(*la, d.local)) {
            spec.accepted_from = Some(name_of(l));
        }
    } else {
        spec.external_peer = true;
        spec.remote = Some(spell(d.remote));
        warnings.push(DumpWarning::on(
            s.ino,
            WarnCode::TcpExternalPeer,
            format!(
                "{}: TCP connection to {} outside the dumped processes ({}); marked external: a restore brings it back as a closed socket",
                name_of(s.ino),
                spell(d.remote),
                state_name(state)
            ),
        ));
    }
    // The bits as the kernel holds them: a received FIN (RCV_SHUTDOWN) is recorded too, as the
    // image describes the socket (the restore's FIN from the peer's own shutdown sets it again,
    // and `--verify` reads it back).
    let how = d.shutdown & 3;
    if how != 0 {
        spec.shutdown = How::from_bits(how);
    }
    // The processes run on while they are dumped: bytes beyond what inet_diag counted arrived
    // after its snapshot, and are left to the next dump (the snapshot's count is what the image
    // describes). An urgent byte is recorded where it is (urgent.rs).
    let q = super::urgent::peek_tcp_queue(s.fd, d.rqueue as usize).map_err(|e| e.context(&name_of(s.ino)))?;
    spec.queue = tcp_msgs(&q.bytes, q.pending_at(&name_of(s.ino))?);
    Ok(())
}

/// A UDP socket: the socket it is connected to (or an external peer, with a warning) and its
/// queued datagrams with their senders; a datagram from outside the dumped processes refuses
/// the dump.
fn udp_spec(
    spec: &mut SockSpec,
    s: &Sock<'_>,
    seen: &Seen<'_>,
    warnings: &mut Vec<DumpWarning>,
) -> Result<(), DumpError> {
    let list = &seen.list;
    if let Some(r) = s.remote() {
        let peer = list
            .iter()
            .find(|o| !o.tcp && o.ino != s.ino && o.local().is_some_and(|la| accepts_at(la, r)))
            .or_else(|| list.iter().find(|o| !o.tcp && o.local().is_some_and(|la| accepts_at(la, r))));
        match peer {
            Some(p) => spec.peer = Some(name_of(p.ino)),
            None => {
                spec.external_peer = true;
                spec.remote = Some(spell(r));
                warnings.push(DumpWarning::on(
                    s.ino,
                    WarnCode::UdpExternalPeer,
                    format!(
                        "{}: UDP socket connected to {} outside the dumped processes; marked external: a restore leaves it unconnected",
                        name_of(s.ino),
                        spell(r)
                    ),
                ));
            }
        }
    }
    let state = s.state();
    if state == Some(SkState::SynSent) {
        return Err(DumpError::Refused(format!("{}: unexpected UDP state {}", name_of(s.ino), state_name(state))));
    }
    for (from, data) in peek_datagrams(s.fd).map_err(|e| e.context(&name_of(s.ino)))? {
        let sender = from.and_then(|f| {
            list.iter().find(|o| !o.tcp && o.local().is_some_and(|la| la.port() == f.port() && accepts_at(la, f)))
        });
        let Some(sender) = sender else {
            return Err(DumpError::Refused(format!(
                "{}: a queued datagram comes from {}, outside the dumped processes; its sender cannot be recreated",
                name_of(s.ino),
                from.map_or("an unknown address".into(), spell)
            )));
        };
        spec.queue.push(MsgSpec { from: Some(name_of(sender.ino)), hex: Some(bstr::hex(&data)), ..MsgSpec::default() });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_compare_as_ipv4_and_wildcards_accept_any_address() {
        let mapped: SocketAddr = "[::ffff:127.0.0.1]:80".parse().unwrap();
        assert_eq!(canon(mapped), "127.0.0.1:80".parse().unwrap());
        assert_eq!(spell(mapped), "127.0.0.1:80");
        assert!(accepts_at("0.0.0.0:80".parse().unwrap(), "127.0.0.1:80".parse().unwrap()));
        assert!(accepts_at("[::]:80".parse().unwrap(), mapped));
        assert!(!accepts_at("127.0.0.2:80".parse().unwrap(), "127.0.0.1:80".parse().unwrap()));
        assert!(!accepts_at("0.0.0.0:81".parse().unwrap(), "127.0.0.1:80".parse().unwrap()));
        assert!(!accepts_at("[::]:80".parse().unwrap(), "127.0.0.1:80".parse().unwrap()));
    }
}
