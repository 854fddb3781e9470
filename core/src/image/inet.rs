//! AF_INET / AF_INET6 sockets in the image: their addresses, the checks of a `SOCKET_INET`
//! record against its `SOCKET`, and loopback peer matching (which socket of the image is the
//! other end of a TCP connection or a connected UDP socket).
//!
//! Where the addresses are (docs/format.md §4.14): AF_INET keeps the local address in
//! `rcv_saddr` and the port in `num` (host order; `sport` is `htons(num)`), the peer in
//! `daddr`/`dport`, plus `getsockname`/`getpeername` copies in `laddr`/`raddr`
//! (`sockaddr_in`). A `sockaddr_in6` (28 bytes) does not fit those 16-byte fields, so AF_INET6
//! keeps its addresses only in `inet6_rcv_saddr`/`inet6_daddr` with the same ports, and
//! `laddr_len = raddr_len = 0`.

use super::{field_range, Image, Sock};
use crate::diag::{Code, Diagnostic};
use crate::wire::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// TCP states in which a socket is connected to a peer (it has sent or received a SYN and the
/// connection is not closed): every state but CLOSE and LISTEN among the ones a socket with an
/// fd can be in.
pub const TCP_CONNECTED_STATES: &[u8] = &[1, 2, 4, 5, 8, 9, 11];

/// The local address of an INET record: `rcv_saddr:num` (AF_INET) or `inet6_rcv_saddr:num`.
pub fn local_addr(family: u16, i: &SocketInetRepr) -> SocketAddr {
    if family == AF_INET6 {
        SocketAddr::new(IpAddr::V6(Ipv6Addr::from(i.inet6_rcv_saddr.0)), i.num)
    } else {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::from(i.rcv_saddr.0)), i.num)
    }
}

/// The peer address of an INET record, `None` when none is recorded (port 0).
pub fn remote_addr(family: u16, i: &SocketInetRepr) -> Option<SocketAddr> {
    let port = u16::from_be_bytes(i.dport.0);
    let ip = if family == AF_INET6 {
        IpAddr::V6(Ipv6Addr::from(i.inet6_daddr.0))
    } else {
        IpAddr::V4(Ipv4Addr::from(i.daddr.0))
    };
    (port != 0 || !ip.is_unspecified()).then_some(SocketAddr::new(ip, port))
}

/// A v4-mapped IPv6 address (`::ffff:a.b.c.d`) as the IPv4 address it stands for; other
/// addresses unchanged. Two ends of one IPv4 connection compare equal this way even when one
/// of them is an AF_INET6 socket.
pub fn canonical(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(IpAddr::V4(v4), a.port()),
            None => a,
        },
        IpAddr::V4(_) => a,
    }
}

/// `a.b.c.d:port` or `[v6]:port`.
pub fn display(a: SocketAddr) -> String {
    a.to_string()
}

impl Sock<'_> {
    /// INET: the local address and port.
    pub fn inet_local(&self) -> Option<SocketAddr> {
        self.inet.as_ref().map(|i| local_addr(self.common.family, i))
    }
    /// INET: the recorded peer address and port, if any.
    pub fn inet_remote(&self) -> Option<SocketAddr> {
        self.inet.as_ref().and_then(|i| remote_addr(self.common.family, i))
    }
    /// INET: a resocket extension flag of `rs_flags`.
    pub fn inet_has(&self, flag: u16) -> bool {
        self.inet.as_ref().is_some_and(|i| i.rs_flags & flag != 0)
    }
    /// An AF_INET/AF_INET6 TCP socket.
    pub fn is_tcp(&self) -> bool {
        matches!(self.common.family, AF_INET | AF_INET6) && self.common.sock_type == SOCK_STREAM
    }
    /// An AF_INET/AF_INET6 UDP socket.
    pub fn is_udp(&self) -> bool {
        matches!(self.common.family, AF_INET | AF_INET6) && self.common.sock_type == SOCK_DGRAM
    }
    /// Connected to a peer: a TCP socket in a connected state or a connected UDP socket.
    pub fn inet_connected(&self) -> bool {
        if self.is_tcp() {
            TCP_CONNECTED_STATES.contains(&self.common.state)
        } else {
            self.is_udp() && self.common.state == TCP_ESTABLISHED
        }
    }
}

/// Checks of one `SOCKET_INET` record (at `off`, record index `idx`) against its socket `s`
/// (whose `SOCKET` was read before it). Ranges point at the field concerned.
pub(super) fn check_record(s: &Sock<'_>, off: usize, idx: usize, i: &SocketInetRepr, out: &mut Vec<Diagnostic>) {
    let o = s.objref;
    let c = &s.common;
    let rec = InetRecord { off, idx, o };
    let here = |code: Code, field: &str, msg: String| rec.at(code, field, msg);
    let at_sock = |code: Code, field: &str, msg: String| {
        Diagnostic::new(code, field_range(s.offset, &SOCKET_LAYOUT, field), msg).record(s.record).objref(o)
    };
    let family = c.family;
    if !matches!(family, AF_INET | AF_INET6) {
        return; // family-mismatch, reported by the loader
    }
    let fam = if family == AF_INET { "AF_INET" } else { "AF_INET6" };
    // Only TCP and UDP are described; `sk_protocol` is the resolved protocol, never 0.
    let tcp = match (c.sock_type, c.protocol) {
        (SOCK_STREAM, IPPROTO_TCP) => true,
        (SOCK_DGRAM, IPPROTO_UDP) => false,
        (t, p) => {
            out.push(at_sock(
                Code::UnsupportedType,
                "sock_type",
                format!("{fam} socket {o} has type {t} protocol {p}; only TCP (stream, 6) and UDP (dgram, 17) are described"),
            ));
            return;
        }
    };
    let state_ok = if tcp {
        TCP_CONNECTED_STATES.contains(&c.state) || matches!(c.state, TCP_CLOSE | TCP_LISTEN)
    } else {
        matches!(c.state, TCP_ESTABLISHED | TCP_CLOSE)
    };
    if !state_ok {
        out.push(at_sock(
            Code::StateMismatch,
            "state",
            format!(
                "{fam} {} socket {o} has sk_state {}, which no socket with a file is in",
                if tcp { "TCP" } else { "UDP" },
                c.state
            ),
        ));
    }
    if tcp && c.state == TCP_ESTABLISHED && c.shutdown & 2 != 0 {
        out.push(at_sock(
            Code::StateMismatch,
            "state",
            format!(
                "TCP socket {o} is shut for sending but ESTABLISHED; shutdown(SHUT_WR) makes it FIN_WAIT1/FIN_WAIT2"
            ),
        ));
    }
    if i.rs_flags & !INET_FLAGS_KNOWN != 0 {
        out.push(here(
            Code::BadInetFlags,
            "rs_flags",
            format!("socket {o}: rs_flags has unknown bits {:#x}", i.rs_flags & !INET_FLAGS_KNOWN),
        ));
    }
    if !tcp && i.rs_flags & INET_ACCEPTED != 0 {
        out.push(here(
            Code::BadInetFlags,
            "rs_flags",
            format!("UDP socket {o} is marked ACCEPTED; only TCP sockets are accepted"),
        ));
    }
    if family == AF_INET && i.rs_flags & INET_V6ONLY != 0 {
        out.push(here(Code::BadInetFlags, "rs_flags", format!("AF_INET socket {o} has V6ONLY, an AF_INET6 option")));
    }
    let remote = check_addresses(&rec, family, i, out);
    let connected = check_port_and_peer(&rec, tcp, c.state, i, (local_addr(family, i), remote), out);
    if family == AF_INET6 {
        check_v6(&rec, i, connected, remote, out);
    }
}

/// Where a finding about one `SOCKET_INET` record points: a field of the record (at `off`,
/// record index `idx`) of socket `o`.
struct InetRecord {
    off: usize,
    idx: usize,
    o: i32,
}

impl InetRecord {
    fn at(&self, code: Code, field: &str, msg: String) -> Diagnostic {
        Diagnostic::new(code, field_range(self.off, &SOCKET_INET_LAYOUT, field), msg).record(self.idx).objref(self.o)
    }
}

/// The recorded `sockaddr_in`s (`laddr`, `raddr`: their lengths for the family, their bytes
/// against the socket's own fields) and `sport`; the peer address the record gives.
fn check_addresses(rec: &InetRecord, family: u16, i: &SocketInetRepr, out: &mut Vec<Diagnostic>) -> Option<SocketAddr> {
    let o = rec.o;
    let here = |code: Code, field: &str, msg: String| rec.at(code, field, msg);
    // Lengths against the family.
    let mut lengths_ok = true;
    for (name, len) in [("laddr_len", i.laddr_len), ("raddr_len", i.raddr_len)] {
        let msg = if len as usize > 16 {
            Some(format!("socket {o} {name} is {len}, more than sizeof(struct sockaddr_in) = 16"))
        } else if family == AF_INET && len != 0 && len != 16 {
            Some(format!("AF_INET socket {o} {name} is {len}; a sockaddr_in is 16 bytes (0: none recorded)"))
        } else if family == AF_INET6 && len != 0 {
            Some(format!(
                "AF_INET6 socket {o} {name} is {len}; a sockaddr_in6 (28 bytes) does not fit, its addresses are inet6_rcv_saddr/inet6_daddr and {name} is 0"
            ))
        } else {
            None
        };
        if let Some(m) = msg {
            out.push(here(Code::InetAddress, name, m));
            lengths_ok = false;
        }
    }
    let local = local_addr(family, i);
    let remote = remote_addr(family, i);
    if lengths_ok {
        let want_remote = remote.unwrap_or(SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0));
        for (name, len, sa, want) in
            [("laddr", i.laddr_len, &i.laddr.0, local), ("raddr", i.raddr_len, &i.raddr.0, want_remote)]
        {
            if len == 0 {
                if sa.iter().any(|&b| b != 0) {
                    out.push(here(
                        Code::InetAddress,
                        name,
                        format!("socket {o} {name}_len is 0 but {name} holds bytes"),
                    ));
                }
                continue;
            }
            let sa_family = u16::from_le_bytes([sa[0], sa[1]]);
            let port = u16::from_be_bytes([sa[2], sa[3]]);
            let ip = Ipv4Addr::new(sa[4], sa[5], sa[6], sa[7]);
            let got = SocketAddr::new(IpAddr::V4(ip), port);
            let msg = if sa_family != AF_INET {
                Some(format!("socket {o} {name} has family {sa_family}; a sockaddr_in has AF_INET (2)"))
            } else if sa[8..].iter().any(|&b| b != 0) {
                Some(format!("socket {o} {name}: sin_zero is not zero"))
            } else if got != want {
                Some(format!("socket {o} {name} says {got} but the socket's fields say {want}"))
            } else {
                None
            };
            if let Some(m) = msg {
                out.push(here(Code::InetAddress, &format!("{name}_len"), m));
            }
        }
    }
    if i.num != 0 && i.sport.0 != i.num.to_be_bytes() || i.num == 0 && i.sport.0 != [0, 0] {
        out.push(here(
            Code::InetAddress,
            "sport",
            format!("socket {o}: sport {} is not htons(num {})", u16::from_be_bytes(i.sport.0), i.num),
        ));
    }
    remote
}

/// A connected or listening socket's local port, and its peer address; true when connected.
fn check_port_and_peer(
    rec: &InetRecord,
    tcp: bool,
    state: u8,
    i: &SocketInetRepr,
    (local, remote): (SocketAddr, Option<SocketAddr>),
    out: &mut Vec<Diagnostic>,
) -> bool {
    let o = rec.o;
    let here = |code: Code, field: &str, msg: String| rec.at(code, field, msg);
    let connected = if tcp { TCP_CONNECTED_STATES.contains(&state) } else { state == TCP_ESTABLISHED };
    let listening = tcp && state == TCP_LISTEN;
    if (listening || connected) && i.num == 0 {
        out.push(here(
            Code::InetPortZero,
            "num",
            format!(
                "{} socket {o} has local port 0; {} picks a port when none is bound",
                if listening { "listening" } else { "connected" },
                if listening { "listen()" } else { "connect()" }
            ),
        ));
    }
    // A v4-mapped wildcard (`::ffff:0.0.0.0`) is the wildcard too.
    let unspecified = |a: SocketAddr| canonical(a).ip().is_unspecified();
    if connected && unspecified(local) {
        out.push(here(
            Code::InetAddress,
            "rcv_saddr",
            format!(
                "connected socket {o} has the wildcard local address {}; connect() gives a socket the source address of its route",
                display(local)
            ),
        ));
    }
    match (connected, listening, remote) {
        (true, _, r) if r.is_none_or(|r| r.port() == 0 || unspecified(r)) => out.push(here(
            Code::InetPeer,
            "dport",
            format!(
                "connected {} socket {o} has no peer address ({}); a restore could not reconnect it",
                if tcp { "TCP" } else { "UDP" },
                r.map_or_else(|| "daddr and dport are 0".to_string(), display)
            ),
        )),
        (_, true, Some(r)) => {
            out.push(here(Code::InetPeer, "dport", format!("listening socket {o} records a peer address {r}")))
        }
        _ => {}
    }
    connected
}

/// An AF_INET6 socket's v4-mapped addresses: against `IPV6_V6ONLY`, the IPv4 `rcv_saddr` the
/// kernel keeps beside them, and the peer's.
fn check_v6(
    rec: &InetRecord,
    i: &SocketInetRepr,
    connected: bool,
    remote: Option<SocketAddr>,
    out: &mut Vec<Diagnostic>,
) {
    let o = rec.o;
    let here = |code: Code, field: &str, msg: String| rec.at(code, field, msg);
    let l6 = Ipv6Addr::from(i.inet6_rcv_saddr.0);
    let v6only = i.rs_flags & INET_V6ONLY != 0;
    if let Some(v4) = l6.to_ipv4_mapped() {
        if v6only {
            out.push(here(
                Code::InetV4Mapped,
                "inet6_rcv_saddr",
                format!("socket {o} is IPV6_V6ONLY but bound to the v4-mapped address {l6}"),
            ));
        }
        if i.rcv_saddr.0 != v4.octets() {
            out.push(here(
                Code::InetV4Mapped,
                "rcv_saddr",
                format!(
                    "socket {o} is bound to {l6} but rcv_saddr is {}; the kernel keeps the IPv4 address {v4} there",
                    Ipv4Addr::from(i.rcv_saddr.0)
                ),
            ));
        }
    }
    if let Some(r) = remote {
        if let IpAddr::V6(r6) = r.ip() {
            let peer_mapped = r6.to_ipv4_mapped().is_some();
            let local_mapped = l6.to_ipv4_mapped().is_some();
            if peer_mapped && v6only {
                out.push(here(
                    Code::InetV4Mapped,
                    "inet6_daddr",
                    format!(
                        "socket {o} is IPV6_V6ONLY but its peer {r} is v4-mapped (connect() fails with ENETUNREACH)"
                    ),
                ));
            } else if connected && peer_mapped != local_mapped {
                out.push(here(
                    Code::InetV4Mapped,
                    "inet6_daddr",
                    format!("socket {o}: local {l6} and peer {r6} mix a v4-mapped and a plain IPv6 address; one connection is IPv4 or IPv6 on both ends"),
                ));
            }
        }
    }
}

/// Loopback peer matching: for every connected INET socket whose peer is also in the image,
/// the peer's objref, by [`PeerIndex::peer`] (the one rule).
pub fn peers(img: &Image<'_>) -> BTreeMap<i32, i32> {
    let index = PeerIndex::new(img);
    img.sockets.values().filter_map(|s| Some((s.objref, index.peer(s)?))).collect()
}

/// The peer of one connected INET socket in the image, by [`PeerIndex::peer`] (it builds the
/// index: for every socket use [`peers`]).
pub fn peer_of(img: &Image<'_>, s: &Sock<'_>) -> Option<i32> {
    PeerIndex::new(img).peer(s)
}

/// The image's INET sockets as a peer is looked up among them: UDP sockets by local address
/// (the first one bound there), connected TCP sockets by (local, remote) address pair (the
/// first one with it); addresses [`canonical`].
#[derive(Debug)]
pub struct PeerIndex {
    udp_at: BTreeMap<SocketAddr, i32>,
    tcp_by_pair: BTreeMap<(SocketAddr, SocketAddr), i32>,
}

impl PeerIndex {
    /// The index of `img`'s sockets.
    pub fn new(img: &Image<'_>) -> PeerIndex {
        let mut udp_at = BTreeMap::new();
        let mut tcp_by_pair = BTreeMap::new();
        for s in img.sockets.values() {
            let Some(l) = s.inet_local() else { continue };
            if !s.is_tcp() {
                udp_at.entry(canonical(l)).or_insert(s.objref);
            }
            if let (true, Some(r)) = (s.is_tcp() && s.inet_connected(), s.inet_remote()) {
                tcp_by_pair.entry((canonical(l), canonical(r))).or_insert(s.objref);
            }
        }
        PeerIndex { udp_at, tcp_by_pair }
    }

    /// The peer of the connected INET socket `s`, if it is in the image. Two sockets are peers
    /// when each one's local address is the other's remote address (v4-mapped IPv6 compared as
    /// IPv4) and both are TCP or both UDP. A connected UDP socket's peer need not be connected
    /// back: it is the socket bound to exactly its destination, or else to the wildcard of its
    /// family on that port (the one the kernel would deliver to first); for TCP the match is
    /// mutual. A socket connected to its own address is its own peer, as in Linux: a UDP
    /// socket's datagrams come back to it (it is the socket bound there), a TCP socket did a
    /// simultaneous open with itself ([`self_connected`]).
    pub fn peer(&self, s: &Sock<'_>) -> Option<i32> {
        if !s.inet_connected() {
            return None;
        }
        let (l, r) = (canonical(s.inet_local()?), canonical(s.inet_remote()?));
        if self_connected(s) {
            Some(s.objref)
        } else if s.is_tcp() {
            self.tcp_by_pair.get(&(r, l)).copied().filter(|&p| p != s.objref)
        } else {
            let any: IpAddr = if r.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
            self.udp_at.get(&r).or_else(|| self.udp_at.get(&SocketAddr::new(any, r.port()))).copied()
        }
    }
}

/// A TCP socket connected to itself (its peer address is its own: a simultaneous open with
/// itself, which Linux allows when nothing listens there).
pub fn self_connected(s: &Sock<'_>) -> bool {
    s.is_tcp()
        && s.inet_connected()
        && matches!((s.inet_local(), s.inet_remote()), (Some(l), Some(r)) if l.port() != 0 && canonical(l) == canonical(r))
}

/// One pending connection of an INET listener `l`: the embryo `e` is a TCP socket of the
/// listener's family, has no fd, is connected, sits on the listener's port (and address, unless
/// the listener is bound to the wildcard), and it and its client (if still open) name each other
/// as peers by address.
pub(super) fn check_pending(
    l: &Sock<'_>,
    e: &Sock<'_>,
    held: bool,
    client: Option<&Sock<'_>>,
    bad: &mut dyn FnMut(String),
) {
    let (lo, eo) = (l.objref, e.objref);
    if !e.is_tcp() || e.common.family != l.common.family {
        bad(format!("embryo {eo} is not a TCP socket of its listener {lo}'s family"));
        return;
    }
    if held {
        bad(format!("embryo {eo} has an fd: a pending connection has not been accepted yet"));
    }
    if !e.inet_connected() {
        bad(format!("embryo {eo} is in state {}, not a connected one", e.common.state));
    }
    let (Some(ll), Some(el)) = (l.inet_local(), e.inet_local()) else { return };
    if el.port() != ll.port() || (!ll.ip().is_unspecified() && ll.ip() != el.ip()) {
        bad(format!("embryo {eo} is on {el}, not on its listener's address {ll}"));
    }
    let Some(c) = client else { return };
    let er = e.inet_remote().map(canonical);
    let (cl, cr) = (c.inet_local().map(canonical), c.inet_remote().map(canonical));
    if er.is_none() || er != cl || cr != Some(canonical(el)) {
        bad(format!(
            "embryo {eo} ({el} to {}) and client {} ({} to {}) are not the two ends of one connection",
            er.map_or("nothing".into(), display),
            c.objref,
            cl.map_or("nothing".into(), display),
            cr.map_or("nothing".into(), display)
        ));
    }
}

/// A readable form of a `SOCKET_INET` address field, for field-by-field views (the text form
/// keeps the bytes as hex): `127.0.0.1`, `8080`, `::1`, `AF_INET 127.0.0.1:8080`.
pub fn field_note(rec: &crate::wire::Record<'_>, key: &str) -> Option<String> {
    if rec.ty != crate::wire::RecordType::SOCKET_INET {
        return None;
    }
    let v = SocketInet::new_checked(*rec).ok()?;
    let i = SocketInetRepr::parse(&v);
    let sockaddr = |len: u32, b: &[u8; 16]| -> String {
        if len == 0 {
            return "none".into();
        }
        let fam = u16::from_le_bytes([b[0], b[1]]);
        let a = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(b[4], b[5], b[6], b[7])), u16::from_be_bytes([b[2], b[3]]));
        match fam {
            AF_INET => format!("AF_INET {a}"),
            f => format!("family {f}"),
        }
    };
    Some(match key {
        "daddr" => Ipv4Addr::from(i.daddr.0).to_string(),
        "rcv_saddr" => Ipv4Addr::from(i.rcv_saddr.0).to_string(),
        "saddr" => Ipv4Addr::from(i.saddr.0).to_string(),
        "dport" => u16::from_be_bytes(i.dport.0).to_string(),
        "sport" => u16::from_be_bytes(i.sport.0).to_string(),
        "inet6_saddr" => Ipv6Addr::from(i.inet6_saddr.0).to_string(),
        "inet6_rcv_saddr" => Ipv6Addr::from(i.inet6_rcv_saddr.0).to_string(),
        "inet6_daddr" => Ipv6Addr::from(i.inet6_daddr.0).to_string(),
        "laddr" => sockaddr(i.laddr_len, &i.laddr.0),
        "raddr" => sockaddr(i.raddr_len, &i.raddr.0),
        _ => return None,
    })
}
