//! The simulated AF_INET/AF_INET6 layer: TCP and UDP between sockets of one host, as Linux 6.18
//! answers; by default a host whose only interface is `lo` (a fresh network namespace:
//! 127.0.0.0/8 and ::1 are local).
//!
//! Sockets are ordinary [`SimSock`](super::SimSock)s (type, `sk_state`, receive queue,
//! shutdown bits, `sk_err`, peer, slots and references) plus an [`InetSock`] in
//! [`Kernel::inet`]. [`Kernel::apply`] hands every operation on an INET socket to
//! [`Kernel::inet_apply`], one `match` over the operation; closing goes through
//! [`Kernel::inet_release`].
//!
//! Sources, by function: `net/ipv4/af_inet.c` (`inet_bind`, `inet_listen`,
//! `__inet_stream_connect`, `inet_shutdown`), `inet_connection_sock.c` (`inet_csk_get_port`,
//! `inet_bind_conflict`, the bhash2 address rules, `inet_csk_listen_stop`), `tcp.c`
//! (`tcp_sendmsg_locked`, `tcp_recvmsg_locked`, `tcp_close`, `tcp_disconnect`), `tcp_input.c`
//! (`tcp_reset`, `tcp_fin`, `tcp_conn_request`: the accept queue is full when
//! `sk_ack_backlog > sk_max_ack_backlog`, so a listener with backlog N holds N + 1),
//! `inet_hashtables.c` (listener lookup: exact address before wildcard, AF_INET before a
//! dual-stack AF_INET6), `udp.c` (`udp_lib_lport_inuse`, `udp_sendmsg`, `__udp4_lib_lookup`,
//! `__skb_recv_udp`), `ipv6/af_inet6.c` (`__inet6_bind`), `ipv6/ipv6_sockglue.c` (IPV6_V6ONLY).
//!
//! The host's addresses are an input ([`HostAddrs`], default `lo` only): binds follow them, and
//! traffic between addresses of the host goes over `lo` like loopback traffic.
//!
//! Loopback is synchronous: a SYN, its SYN-ACK and ACK, a FIN, an RST or an ICMP port
//! unreachable are all processed before the call that sent them returns (softirqs run when the
//! sender re-enables them), so the model applies their effects inside the call. Where the answer
//! depends on time or on a randomly keyed hash, the model says so ([`Block::Undetermined`],
//! [`Block::BacklogFull`] for a dropped SYN) instead of guessing.
//!
//! DEVIATIONS (marked where they happen): ephemeral ports count up from 32768 (Linux picks
//! them at random in 32768–60999); a TIME_WAIT or orphaned FIN_WAIT2 socket never times out (Linux:
//! 60 s); TCP windows and buffers are not modelled: a send is taken whole while a connection
//! direction holds at most [`TCP_QUEUE_LIMIT`] unread bytes (2 MiB, checked on the kernel; part
//! may still sit in the sender's queue a moment), or more with buffers raised before the SYN
//! ([`big_queue_fits`]), and undetermined beyond; a UDP receiver's charge per datagram is known
//! within bounds ([`udp_truesize`]), so a drop for a full receive buffer is decided only when the
//! bounds settle it; SO_SNDBUF is recorded and otherwise ignored for UDP.

use super::kernel::{Kernel, Skb, SockRef, SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF};
use super::ops::*;
use super::rule::{Refusal, Rule};
use crate::sock::{SkState, SsState};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `net.ipv4.tcp_wmem[1]`: a new TCP socket's `sk_sndbuf`.
pub const TCP_WMEM_DEFAULT: i64 = 16384;
/// `net.ipv4.tcp_rmem[1]`: a new TCP socket's `sk_rcvbuf`.
pub const TCP_RMEM_DEFAULT: i64 = 131072;

/// `net.ipv4.ip_local_port_range`.
pub const EPHEMERAL_PORTS: (u16, u16) = (32768, 60999);
/// The unread bytes of one TCP connection direction the model vouches for. Loopback takes a
/// send whole while the receiver's queue and the sender's buffer can hold it, and both grow by
/// autotuning (tcp_rmem/tcp_wmem up to 6 MiB/4 MiB): live 6.18 took 3 MB in one send and refused
/// 4 MB. Below this bound (tested on the kernel: restore/tests/it/inet_restore.rs) a send is
/// taken; above it the answer is [`Block::Undetermined`].
pub const TCP_QUEUE_LIMIT: usize = 2 << 20;
/// Beyond [`TCP_QUEUE_LIMIT`]: `total` unread bytes in one direction are taken whole (one send or
/// several; as below the limit, a tail may sit in the sender's queue a moment) when the
/// receiver's buffer was at least `4 total + 1 MiB` when its SYN went (the window scale is fixed
/// then) and still is, and the sender's is at least `4 total + 2 MiB` — what the planner sets
/// for a big refill (live 6.18, up to 100 MB in one send; restore/tests/it/inet_restore.rs,
/// differential_inet.rs). With the kernel's doubling: `SO_RCVBUFFORCE(2 total +
/// 512 KiB)`, `SO_SNDBUFFORCE(2 total + 1 MiB)`.
pub fn big_queue_fits(total: i64, receiver_rcvbuf: i64, sender_sndbuf: i64) -> bool {
    let (rcv, snd) = big_queue_buffers(total);
    receiver_rcvbuf >= rcv && sender_sndbuf >= snd
}

/// The buffer sizes (`sk_rcvbuf` of the receiver, `sk_sndbuf` of the sender) that let `total`
/// unread bytes sit in one TCP direction at once ([`big_queue_fits`]).
pub fn big_queue_buffers(total: i64) -> (i64, i64) {
    (4 * total + (1 << 20), 4 * total + (2 << 20))
}

/// The bytes one send on a self-connected TCP socket with nothing unread delivers at once (live
/// 6.18: 70000 did; of 200000, 126976 arrived and the rest waited for a read). Beyond:
/// [`Block::Undetermined`].
pub const SELF_CONNECTED_SEND: usize = 64 << 10;
/// Bounds on the truesize a UDP datagram of `len` bytes is charged on a loopback receiver: at
/// least the data plus `struct sk_buff` (256), at most `2 len + 1024` (live 6.18: 832 for up
/// to ~100 bytes, 2304 for 1000, 8448 for 4000, len + 832 above 16 KiB).
pub fn udp_truesize(len: usize) -> (i64, i64) {
    (len as i64 + 256, 2 * len as i64 + 1024)
}

/// `listen()` on a TCP socket that has been in a connection ([`InetSock::was_connected`]),
/// once its port checks pass. Linux builds of the project's machine kind answer differently,
/// every time, whatever the timing: the build the model was first checked on listens (0); the
/// 6.18.44 build of 2026-12 answers `EINVAL` — after a refused connect (blocking or not), after
/// a connection and `connect(AF_UNSPEC)`, for an accepted socket after `connect(AF_UNSPEC)`,
/// after a SYN dropped by a full backlog, while a connect that failed before sending its SYN
/// (`ENETUNREACH`) leaves listen() working (docs/simulator.md, "Answers the model does not
/// fix"). The model gives both answers and follows the first (nothing changes).
pub fn listen_after_a_connection() -> Outcome {
    Outcome::either(
        "listen() on a TCP socket that has been in a connection: Linux builds differ (EINVAL on some, 0 on others)",
        vec![Outcome::err(Errno::EINVAL), Outcome::ok(0)],
    )
}

/// `connect()` on a TCP socket that once listened ([`InetSock::listened`]) and was disconnected
/// (`connect(AF_UNSPEC)`, `shutdown(SHUT_RD)`): `EINVAL` on the 6.18.44 build of 2026-12
/// (whatever the destination), the ordinary answer where the model was first checked. Both
/// answers; the model follows the first (nothing changes).
pub fn connect_after_listening(ordinary: Outcome) -> Outcome {
    Outcome::either_of(
        "connect() on a TCP socket that once listened: Linux builds differ (EINVAL on some, the usual answer on others)",
        Outcome::err(Errno::EINVAL),
        ordinary,
    )
}

/// The largest UDP payload over IPv4 (65535 − 20 − 8) and over IPv6 (65535 − 8).
pub const UDP_MAX: (usize, usize) = (65507, 65527);

/// The INET part of a simulated socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InetSock {
    /// AF_INET or AF_INET6.
    pub family: InetFamily,
    /// TCP (stream) or UDP (dgram).
    pub tcp: bool,
    /// The local address once a port is bound (`inet_num != 0`); the IP may be the wildcard.
    /// AF_INET6 sockets hold IPv6 addresses (v4-mapped for IPv4 ones).
    pub local: Option<SocketAddr>,
    /// The peer's address while connected.
    pub remote: Option<SocketAddr>,
    /// In the port's bind bucket (bound, autobound, inherited from a listener, or a TIME_WAIT).
    pub bound: bool,
    /// `SO_REUSEADDR` (`sk_reuse`).
    pub reuse: bool,
    /// `SO_REUSEPORT`.
    pub reuseport: bool,
    /// `IPV6_V6ONLY`.
    pub v6only: bool,
    /// `SOCK_BINDADDR_LOCK`: bind() chose the address.
    pub addr_locked: bool,
    /// `SOCK_BINDPORT_LOCK`: bind() chose the port.
    pub port_locked: bool,
    /// `struct socket.state` (TCP).
    pub ss: SsState,
    /// `SOCK_DONE`: a FIN arrived (reads return 0 once the queue is empty).
    pub done: bool,
    /// UDP `sk_rmem_alloc` as bounds (the queued datagrams' truesizes, [`udp_truesize`]).
    pub rmem: (i64, i64),
    /// An AF_INET6 TCP socket that once sent a SYN to a v4-mapped address. On some Linux builds
    /// it keeps the IPv4 transmit path (`icsk_af_ops = &ipv6_mapped`, never reset by
    /// `tcp_v6_connect`'s IPv6 path) and its later SYNs to IPv6 addresses go nowhere; on others
    /// they go out over IPv6 (docs/simulator.md, "Answers the model does not fix").
    pub mapped_ops: bool,
    /// Has been in a TCP connection: sent a SYN (any connect() that reached the wire, answered
    /// or not) or was made by a listener for a client. Whether such a socket can listen() again
    /// differs between Linux builds ([`listen_after_a_connection`]).
    pub was_connected: bool,
    /// Has listened. Whether such a socket, disconnected, can connect() differs between Linux
    /// builds ([`connect_after_listening`]).
    pub listened: bool,
    /// `sk_rcvbuf` when the connection's SYN was sent (client) or received (the listener's,
    /// for a child): the window scale is fixed then.
    pub syn_rcvbuf: i64,
}

/// IPv4 as an AF_INET6 socket sees it.
pub(super) fn mapped(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    }
}

/// The IPv4 address behind an address, if it is IPv4 or v4-mapped.
fn v4_of(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

/// `__ipv6_addr_needs_scope_id`: link-local unicast, interface- or link-local multicast.
fn needs_scope_id(ip: Ipv6Addr) -> bool {
    let seg0 = ip.segments()[0];
    (seg0 & 0xffc0) == 0xfe80 || (ip.is_multicast() && matches!(seg0 & 0x000f, 1 | 2))
}

/// One address of an interface of the host ([`HostAddrs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct HostAddr {
    /// The address (`IFA_LOCAL`, or `IFA_ADDRESS` for IPv6).
    pub ip: IpAddr,
    /// Its prefix length.
    pub prefix: u8,
    /// The interface's index.
    pub ifindex: u32,
    /// A primary address on a loopback interface that is up: an IPv4 one makes its whole
    /// prefix local (`fib_add_ifaddr` adds an `RTN_LOCAL` prefix route on `IFF_LOOPBACK`
    /// devices).
    pub loopback: bool,
}

/// The addresses of the host the model stands for: which local addresses `bind()` accepts and
/// which destinations are this host (delivered over `lo`, as Linux delivers traffic between two
/// sockets of one host whatever interface carries the address).
///
/// The default is a fresh network namespace with `lo` up: 127.0.0.1/8 and ::1, nothing else.
/// `restore` reads the real host's addresses (netlink `RTM_GETADDR`, `restore/src/host.rs`).
/// DEVIATIONS: the model knows addresses, not routes: a local route added by hand (`ip route
/// add local 10.0.0.0/8 dev lo`) is not seen, and an address on an interface that is down counts
/// as local; a destination that is not local on a host with other interfaces is
/// [`Block::Undetermined`] (a route may carry it away).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct HostAddrs {
    /// Interface addresses (IPv6 ones that are still tentative — duplicate address detection
    /// not finished — are left out: `ipv6_chk_addr` refuses them).
    pub addrs: Vec<HostAddr>,
    /// IPv4 broadcast addresses of the interfaces (`RTN_BROADCAST` routes, which bind()
    /// accepts: `IFA_BROADCAST`, and a primary address's prefix's all-ones address).
    pub broadcast: Vec<Ipv4Addr>,
}

impl Default for HostAddrs {
    fn default() -> Self {
        HostAddrs::loopback()
    }
}

impl HostAddr {
    /// `a` is this address, or in its prefix on a loopback interface.
    fn holds_v4(&self, a: Ipv4Addr) -> bool {
        match self.ip {
            IpAddr::V4(v4) if v4 == a => true,
            IpAddr::V4(v4) if self.loopback => {
                let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix.min(32))).unwrap_or(0);
                u32::from(v4) & mask == u32::from(a) & mask
            }
            _ => false,
        }
    }
}

impl HostAddrs {
    /// `lo` up and nothing else: 127.0.0.1/8 and ::1/128.
    pub fn loopback() -> HostAddrs {
        HostAddrs {
            addrs: vec![
                HostAddr { ip: Ipv4Addr::LOCALHOST.into(), prefix: 8, ifindex: 1, loopback: true },
                HostAddr { ip: Ipv6Addr::LOCALHOST.into(), prefix: 128, ifindex: 1, loopback: true },
            ],
            broadcast: vec![Ipv4Addr::new(127, 255, 255, 255)],
        }
    }

    /// The loopback host plus these addresses on one more interface (index 2, up; IPv4 ones
    /// /24 with their broadcast address, IPv6 ones /64): for tests and what-if runs.
    pub fn loopback_and(extra: &[IpAddr]) -> HostAddrs {
        let mut h = HostAddrs::loopback();
        for &ip in extra {
            let prefix = if ip.is_ipv4() { 24 } else { 64 };
            h.addrs.push(HostAddr { ip, prefix, ifindex: 2, loopback: false });
            if let IpAddr::V4(v4) = ip {
                h.broadcast.push(Ipv4Addr::from(u32::from(v4) | 0xff));
            }
        }
        h
    }

    /// Only loopback interfaces carry addresses (every destination that is not local has no route).
    pub fn loopback_only(&self) -> bool {
        self.addrs.iter().all(|a| a.loopback)
    }

    /// `inet_addr_type(addr) == RTN_LOCAL`: an address of an interface, or inside the prefix of
    /// an IPv4 address of a loopback interface.
    pub fn is_local_v4(&self, a: Ipv4Addr) -> bool {
        self.addrs.iter().any(|h| h.holds_v4(a))
    }

    /// `ipv6_chk_addr(net, a, dev, 0)`: an address of an interface (of interface `dev` if given).
    pub fn is_local_v6(&self, a: Ipv6Addr, dev: Option<u32>) -> bool {
        self.addrs.iter().any(|h| h.ip == IpAddr::V6(a) && dev.is_none_or(|d| d == h.ifindex))
    }

    /// `inet_addr_valid_or_nonlocal` without `IP_FREEBIND`/`ip_nonlocal_bind`: the wildcard, a
    /// local address, a multicast or a broadcast one (255.255.255.255 included; 0.0.0.0/8 is
    /// not, live 6.18).
    pub fn bindable_v4(&self, a: Ipv4Addr) -> bool {
        a.is_unspecified() || self.is_local_v4(a) || a.is_multicast() || a.is_broadcast() || self.broadcast.contains(&a)
    }

    /// A destination this host delivers to itself (over `lo`).
    pub fn is_local(&self, ip: IpAddr) -> bool {
        match ip {
            IpAddr::V4(v4) => v4.is_unspecified() || self.is_local_v4(v4),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => v4.is_unspecified() || self.is_local_v4(v4),
                None => v6.is_unspecified() || self.is_local_v6(v6, None),
            },
        }
    }

    /// Whether `bind()` accepts this address for a socket (the address checks of `__inet_bind`
    /// and `__inet6_bind`, in their order; not the port): `Err` with the errno when it does not.
    /// An IPv6 address that needs an interface (link-local unicast, link- or interface-local
    /// multicast) needs a scope id; with one it must be an address of that interface (for
    /// unicast). DEVIATION: a scope id naming an interface without addresses is ENODEV here;
    /// Linux knows the interface and answers EADDRNOTAVAIL.
    pub fn bind_check(&self, at: SocketAddr, tcp: bool) -> Result<(), Errno> {
        self.bind_refusal(at, tcp).map_err(|r| r.errno)
    }

    /// [`HostAddrs::bind_check`] with the rule that refuses.
    pub fn bind_refusal(&self, at: SocketAddr, tcp: bool) -> Result<(), Refusal> {
        let no = |rule, errno| Err(Refusal::new(rule, errno));
        match at {
            SocketAddr::V4(a) => {
                if self.bindable_v4(*a.ip()) {
                    Ok(())
                } else {
                    no(Rule::AddressNotLocal, Errno::EADDRNOTAVAIL)
                }
            }
            SocketAddr::V6(a) => {
                let ip = *a.ip();
                if ip.is_multicast() && tcp {
                    return no(Rule::TcpMulticastBind, Errno::EINVAL);
                }
                if let Some(v4) = ip.to_ipv4_mapped() {
                    return if self.bindable_v4(v4) { Ok(()) } else { no(Rule::AddressNotLocal, Errno::EADDRNOTAVAIL) };
                }
                if ip.is_unspecified() {
                    return Ok(());
                }
                let dev = if needs_scope_id(ip) {
                    if a.scope_id() == 0 {
                        return no(Rule::ScopeIdNeeded, Errno::EINVAL);
                    }
                    if !self.addrs.iter().any(|h| h.ifindex == a.scope_id()) {
                        return no(Rule::NoSuchInterface, Errno::ENODEV);
                    }
                    Some(a.scope_id())
                } else {
                    None
                };
                if ip.is_multicast() || self.is_local_v6(ip, dev) {
                    Ok(())
                } else {
                    no(Rule::AddressNotLocal, Errno::EADDRNOTAVAIL)
                }
            }
        }
    }
}

impl InetSock {
    /// A new socket's INET part (`socket()`: unbound, unconnected, no options).
    pub fn new(family: InetFamily, tcp: bool) -> InetSock {
        InetSock {
            family,
            tcp,
            local: None,
            remote: None,
            bound: false,
            reuse: false,
            reuseport: false,
            v6only: false,
            addr_locked: false,
            port_locked: false,
            ss: SsState::Unconnected,
            done: false,
            rmem: (0, 0),
            mapped_ops: false,
            was_connected: false,
            listened: false,
            syn_rcvbuf: 0,
        }
    }
    fn port(&self) -> u16 {
        self.local.map_or(0, |a| a.port())
    }
    fn ip(&self) -> IpAddr {
        match (self.local, self.family) {
            (Some(a), _) => a.ip(),
            (None, InetFamily::Inet) => Ipv4Addr::UNSPECIFIED.into(),
            (None, InetFamily::Inet6) => Ipv6Addr::UNSPECIFIED.into(),
        }
    }
    /// `sk_rcv_saddr`: the IPv4 receive address (an AF_INET6 socket: the mapped address, 0 for
    /// the wildcard, and LOOPBACK4_IPV6 127.0.0.6 for any other IPv6 address).
    fn rcv4(&self) -> Ipv4Addr {
        match self.ip() {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) if v6.is_unspecified() => Ipv4Addr::UNSPECIFIED,
            IpAddr::V6(v6) => v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::new(127, 0, 0, 6)),
        }
    }
    /// `sk_v6_rcv_saddr`, `None` for an AF_INET socket.
    fn rcv6(&self) -> Option<Ipv6Addr> {
        match self.ip() {
            IpAddr::V6(v6) => Some(v6),
            IpAddr::V4(_) => None,
        }
    }
    fn is_wildcard(&self) -> bool {
        match self.ip() {
            IpAddr::V4(v4) => v4.is_unspecified(),
            IpAddr::V6(v6) => v6.is_unspecified() || v6.to_ipv4_mapped().is_some_and(|v| v.is_unspecified()),
        }
    }
    /// Handles IPv4 traffic: AF_INET, or AF_INET6 on the wildcard or a v4-mapped address and
    /// not IPV6_V6ONLY.
    fn takes_v4(&self) -> bool {
        match self.ip() {
            IpAddr::V4(_) => true,
            IpAddr::V6(v6) => !self.v6only && (v6.is_unspecified() || v6.to_ipv4_mapped().is_some()),
        }
    }
}

/// The kernel's `ipv6_addr_type` classes that matter here.
#[derive(Clone, Copy, PartialEq, Eq)]
enum V6Class {
    Any,
    Mapped,
    Other,
}

fn class(a: Option<Ipv6Addr>) -> V6Class {
    match a {
        None => V6Class::Mapped, // an AF_INET socket counts as v4-mapped
        Some(v6) if v6.is_unspecified() => V6Class::Any,
        Some(v6) if v6.to_ipv4_mapped().is_some() => V6Class::Mapped,
        Some(_) => V6Class::Other,
    }
}

/// `inet_rcv_saddr_equal(sk, sk2, match_wildcard = true)`: the classic overlap rule (UDP, and
/// TCP binds to a wildcard address).
fn saddr_equal(sk: &InetSock, sk2: &InetSock) -> bool {
    // (A socket bound to a plain IPv6 address is IPV6_V6ONLY, set by bind, so it meets no IPv4
    // address; one that got its address from connect() is not, and does: LOOPBACK4_IPV6 against
    // an IPv4 wildcard. Both found by the differential test.)
    let v4_equal = || {
        let (a, b) = (sk.rcv4(), sk2.rcv4());
        a == b || a.is_unspecified() || b.is_unspecified()
    };
    if sk.family == InetFamily::Inet6 {
        let (t1, t2) = (class(sk.rcv6()), class(sk2.rcv6()));
        if t1 == V6Class::Mapped && t2 == V6Class::Mapped {
            return !sk2.v6only && v4_equal();
        }
        if t1 == V6Class::Any && t2 == V6Class::Any {
            return true;
        }
        if t2 == V6Class::Any && !(sk2.v6only && t1 == V6Class::Mapped) {
            return true;
        }
        if t1 == V6Class::Any && !(sk.v6only && t2 == V6Class::Mapped) {
            return true;
        }
        return sk2.rcv6().is_some() && sk.rcv6() == sk2.rcv6();
    }
    !sk2.v6only && v4_equal()
}

/// Whether binding `sk` (whose address is set) would share an address with `sk2` on the same
/// port, as TCP decides since 6.1 (bhash2): a wildcard `sk` uses the classic rule; a specific
/// one conflicts with the same address (IPv4 and v4-mapped alike) and with wildcard holders
/// that take its traffic (`inet_bind2_bucket_match_addr_any`; an AF_INET `sk` skips
/// IPV6_V6ONLY ones).
fn tcp_overlap(sk: &InetSock, sk2: &InetSock) -> bool {
    if sk.is_wildcard() {
        return saddr_equal(sk, sk2);
    }
    let skip_v6only = sk.family == InetFamily::Inet && sk2.v6only;
    let same = match (v4_of(sk.ip()), v4_of(sk2.ip())) {
        (Some(a), Some(b)) => a == b,
        (None, None) => sk.ip() == sk2.ip(),
        _ => false,
    };
    if same {
        return !skip_v6only;
    }
    if !sk2.is_wildcard() {
        return false;
    }
    let sk_v6_plain = class(sk.rcv6()) == V6Class::Other;
    let holder_matches = match sk2.ip() {
        IpAddr::V6(v6) if v6.is_unspecified() => true,
        _ => !sk_v6_plain, // an IPv4 wildcard holder takes IPv4 and v4-mapped binds only
    };
    holder_matches && !skip_v6only
}

/// `inet_bind_conflict`: do the reuse options let `sk` share the port with `sk2` (whose address
/// overlaps)? `sk2_state` is `sk_state` (TIME_WAIT for a timewait socket).
fn reuse_conflict(sk: &InetSock, sk2: &InetSock, sk2_state: SkState) -> bool {
    if sk.reuse && sk2.reuse && sk2_state != SkState::Listen {
        return false; // relax = true, reuseport_ok = true (inet_csk_get_port)
    }
    !(sk.reuseport && sk2.reuseport) // same uid: one restorer
}

/// Whether `me` (its local address set, as bind or listen would set it) conflicts with one of
/// `holders` — the other sockets of its protocol in the bind bucket of its port, each with its
/// `sk_state` — so that bind()/listen() fail with `EADDRINUSE` (`inet_csk_get_port` for TCP,
/// `udp_lib_lport_inuse` for UDP). The simulator's rule, shared with the scenario editor
/// (`edit.rs`).
pub fn bind_conflict<'s>(me: &InetSock, holders: impl IntoIterator<Item = (&'s InetSock, SkState)>) -> bool {
    holders.into_iter().any(|(sk2, state)| {
        if me.tcp {
            tcp_overlap(me, sk2) && reuse_conflict(me, sk2, state)
        } else {
            !((sk2.reuse && me.reuse) || (sk2.reuseport && me.reuseport)) && saddr_equal(me, sk2)
        }
    })
}

/// Which side of a TCP reset gets which error (`tcp_reset`).
fn reset_errno(state: SkState) -> Option<Errno> {
    match state {
        SkState::SynSent => Some(Errno::ECONNREFUSED),
        SkState::CloseWait => Some(Errno::EPIPE),
        SkState::Close => None,
        _ => Some(Errno::ECONNRESET),
    }
}

/// The address family a `SockAddr` is, and its length as passed to the kernel.
fn addr_len(a: &SockAddr) -> (u16, usize) {
    match a {
        SockAddr::Path(p) => (1, 2 + p.len() + 1),
        SockAddr::Abstract(n) => (1, 2 + 1 + n.len()),
        SockAddr::Autobind => (1, 2),
        SockAddr::Unspec => (0, 16),
        SockAddr::Inet(SocketAddr::V4(_)) => (2, 16),
        SockAddr::Inet(SocketAddr::V6(_)) => (10, 28),
    }
}

impl Kernel {
    /// The INET part of the socket behind a slot.
    pub fn inet_sock(&self, slot: Slot) -> Option<&InetSock> {
        self.slots.get(&slot).and_then(|r| self.inet.get(r))
    }

    fn isk(&self, r: SockRef) -> &InetSock {
        &self.inet[&r]
    }

    fn isk_mut(&mut self, r: SockRef) -> &mut InetSock {
        self.inet.get_mut(&r).expect("an INET socket has its INET part")
    }

    /// Apply `op` if it concerns an INET socket; `None` hands it to the AF_UNIX code.
    pub(super) fn inet_apply(&mut self, op: &Op) -> Option<Outcome> {
        let inet_slot = |k: &Kernel, slot: &Slot| k.slots.get(slot).copied().filter(|r| k.inet.contains_key(r));
        let out = match op {
            Op::SocketInet { slot, family, ty } => {
                if self.slots.contains_key(slot) {
                    return Some(Outcome::Invalid { why: format!("slot {slot} is already open") });
                }
                // inet_create: no protocol serves SOCK_SEQPACKET.
                if *ty == SockType::Seqpacket {
                    return Some(self.deny(Rule::InetNoSeqpacket, Errno::ESOCKTNOSUPPORT));
                }
                let r = self.new_sock(*ty);
                let s = &mut self.socks[r];
                s.max_ack_backlog = 0;
                if *ty == SockType::Stream {
                    // tcp_init_sock: tcp_wmem[1] and tcp_rmem[1]. DEVIATION: autotuning, which
                    // grows them while the buffers are not locked by SO_SNDBUF/SO_RCVBUF, is
                    // not modelled.
                    s.sndbuf = TCP_WMEM_DEFAULT;
                    s.rcvbuf = TCP_RMEM_DEFAULT;
                }
                self.inet.insert(r, InetSock::new(*family, *ty == SockType::Stream));
                self.attach(*slot, r);
                Outcome::ok(0)
            }
            Op::Bind { slot, addr } => {
                let r = inet_slot(self, slot)?;
                self.inet_bind(r, addr)
            }
            Op::Listen { slot, backlog } => {
                let r = inet_slot(self, slot)?;
                self.inet_listen(r, i64::from(*backlog))
            }
            Op::Connect { slot, addr } => {
                let r = inet_slot(self, slot)?;
                if self.isk(r).tcp {
                    self.tcp_connect(r, addr)
                } else {
                    self.udp_connect(r, addr)
                }
            }
            Op::Accept { slot, new } => {
                let r = inet_slot(self, slot)?;
                if self.slots.contains_key(new) {
                    return Some(Outcome::Invalid { why: format!("slot {new} is already open") });
                }
                self.inet_accept(r, *new)
            }
            Op::Send { slot, to, data, rights } => {
                let r = inet_slot(self, slot)?;
                if rights.iter().any(|s| !self.slots.contains_key(s)) {
                    return Some(self.deny(Rule::BadFd, Errno::EBADF));
                }
                if !rights.is_empty() {
                    // __sock_cmsg_send: SCM_RIGHTS exists for AF_UNIX only.
                    return Some(self.deny(Rule::RightsNeedUnix, Errno::EINVAL));
                }
                if self.isk(r).tcp {
                    self.tcp_send(r, &data.0)
                } else {
                    self.udp_send(r, to.as_ref(), &data.0)
                }
            }
            Op::Recv { slot, len, peek } => {
                let r = inet_slot(self, slot)?;
                if self.isk(r).tcp {
                    self.tcp_recv(r, *len as usize, *peek)
                } else {
                    self.udp_recv(r, *len as usize, *peek)
                }
            }
            Op::Shutdown { slot, how } => {
                let r = inet_slot(self, slot)?;
                self.inet_shutdown(r, how.bits())
            }
            Op::SetSockOpt { slot, opt } => {
                let r = inet_slot(self, slot)?;
                self.inet_setsockopt(r, *opt)
            }
            Op::Socket { .. }
            | Op::Socketpair { .. }
            | Op::Unlink { .. }
            | Op::SetNonblock { .. }
            | Op::Close { .. }
            | Op::Chdir { .. }
            | Op::SetSysctl { .. }
            | Op::Place { .. } => return None,
        };
        Some(out)
    }

    fn inet_setsockopt(&mut self, r: SockRef, opt: SockOpt) -> Outcome {
        let (wmem_max, rmem_max) = (self.sysctl.wmem_max, self.sysctl.rmem_max);
        let bound = self.isk(r).port() != 0;
        let family = self.isk(r).family;
        let v = |x: i32| i64::from(x.max(0));
        match opt {
            SockOpt::SndBuf(x) => self.socks[r].sndbuf = (2 * v(x).min(wmem_max)).max(SOCK_MIN_SNDBUF),
            SockOpt::SndBufForce(x) => self.socks[r].sndbuf = (2 * v(x)).max(SOCK_MIN_SNDBUF),
            SockOpt::RcvBuf(x) => self.socks[r].rcvbuf = (2 * v(x).min(rmem_max)).max(SOCK_MIN_RCVBUF),
            SockOpt::RcvBufForce(x) => self.socks[r].rcvbuf = (2 * v(x)).max(SOCK_MIN_RCVBUF),
            // Linux 6.16 made SO_PASSCRED and SO_PASSSEC AF_UNIX (and netlink) options.
            SockOpt::PassCred(_) | SockOpt::PassSec(_) => return self.deny(Rule::PassOptionNotUnix, Errno::EOPNOTSUPP),
            o if o.recorded().is_some_and(OptName::is_tcp) && !self.isk(r).tcp => {
                return self.deny(Rule::TcpOptionOnUdp, Errno::ENOPROTOOPT)
            }
            SockOpt::TcpKeepIdle(v) | SockOpt::TcpKeepIntvl(v) if !(1..=crate::sockopt::MAX_TCP_KEEP).contains(&v) => {
                return self.deny(Rule::OptionValueOutOfRange, Errno::EINVAL)
            }
            SockOpt::TcpKeepCnt(v) if !(1..=crate::sockopt::MAX_TCP_KEEPCNT).contains(&v) => {
                return self.deny(Rule::OptionValueOutOfRange, Errno::EINVAL)
            }
            SockOpt::ReuseAddr(on) => self.isk_mut(r).reuse = on,
            SockOpt::ReusePort(on) => self.isk_mut(r).reuseport = on,
            SockOpt::V6Only(on) => {
                // ip_setsockopt knows no IPPROTO_IPV6 option; an AF_INET6 socket refuses the
                // change once it has a port.
                if family == InetFamily::Inet {
                    return self.deny(Rule::Ipv6OptionOnIpv4, Errno::ENOPROTOOPT);
                }
                if bound {
                    return self.deny(Rule::V6OnlyAfterBind, Errno::EINVAL);
                }
                self.isk_mut(r).v6only = on;
            }
            o => super::kernel::store_opt(&mut self.socks[r].opts, o),
        }
        Outcome::ok(0)
    }

    /// Sockets in the bind buckets of `port` for one protocol (live, orphaned and TIME_WAIT),
    /// other than `r`.
    fn port_holders(&self, tcp: bool, port: u16, r: SockRef) -> impl Iterator<Item = (SockRef, &InetSock)> + '_ {
        self.inet.iter().filter(move |&(o, i)| o != r && i.tcp == tcp && i.bound && i.port() == port)
    }

    /// Would `r`, with its local address set to `at`, conflict with a holder of that port?
    /// (`inet_csk_get_port` / `udp_lib_get_port` for an explicit port.)
    fn port_conflict(&self, r: SockRef, at: SocketAddr) -> bool {
        let mut me = self.isk(r).clone();
        me.local = Some(at);
        bind_conflict(&me, self.port_holders(me.tcp, at.port(), r).map(|(o, sk2)| (sk2, self.socks[o].state)))
    }

    /// An ephemeral port for `r` at `ip`. DEVIATION: Linux starts at a random offset in
    /// `ip_local_port_range`; the model counts up from 32768 so runs are reproducible.
    fn ephemeral(&mut self, r: SockRef, ip: IpAddr) -> Option<u16> {
        let (lo, hi) = EPHEMERAL_PORTS;
        let span = u32::from(hi - lo) + 1;
        for _ in 0..span {
            let p = if (lo..=hi).contains(&self.next_ephemeral) { self.next_ephemeral } else { lo };
            self.next_ephemeral = if p == hi { lo } else { p + 1 };
            let tcp = self.isk(r).tcp;
            // A port no socket of the protocol holds at all (Linux may share a port between
            // connections to different peers; choosing a free one is one of its choices).
            if self.port_holders(tcp, p, r).next().is_none() && !self.port_conflict(r, SocketAddr::new(ip, p)) {
                return Some(p);
            }
        }
        None
    }

    fn inet_bind(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        let family = self.isk(r).family;
        let tcp = self.isk(r).tcp;
        let (fam, len) = addr_len(addr);
        let at = match (family, addr) {
            (InetFamily::Inet, SockAddr::Inet(a @ SocketAddr::V4(_))) => *a,
            (InetFamily::Inet6, SockAddr::Inet(a @ SocketAddr::V6(_))) => *a,
            // The executor passes no address for AF_UNSPEC (bind needs one).
            (_, SockAddr::Unspec) => return self.deny(Rule::InetAddressFamily, Errno::EINVAL),
            (InetFamily::Inet, _) => {
                // inet_bind: short → EINVAL; another family → EAFNOSUPPORT (AF_UNSPEC aside).
                let e = if len < 16 { Errno::EINVAL } else { Errno::EAFNOSUPPORT };
                return self.deny(Rule::InetAddressFamily, e);
            }
            (InetFamily::Inet6, _) => {
                let e = if len < 24 {
                    Errno::EINVAL
                } else if fam != 10 {
                    Errno::EAFNOSUPPORT
                } else {
                    Errno::EINVAL
                };
                return self.deny(Rule::InetAddressFamily, e);
            }
        };
        let bound = self.isk(r).port() != 0 || self.socks[r].state != SkState::Close;
        match at {
            SocketAddr::V4(_) => {
                // __inet_bind: the address must be local (or broadcast, multicast), then the
                // socket unbound and CLOSE.
                if let Err(e) = self.host.bind_refusal(at, tcp) {
                    return self.refuse(e);
                }
                if bound {
                    return self.deny(Rule::InetAlreadyBound, Errno::EINVAL);
                }
            }
            SocketAddr::V6(a6) => {
                // __inet6_bind: multicast on TCP, then the socket state, then the address.
                if a6.ip().is_multicast() && tcp {
                    return self.deny(Rule::TcpMulticastBind, Errno::EINVAL);
                }
                if bound {
                    return self.deny(Rule::InetAlreadyBound, Errno::EINVAL);
                }
                if a6.ip().to_ipv4_mapped().is_some() && self.isk(r).v6only {
                    return self.deny(Rule::V6OnlyRefusesV4Mapped, Errno::EINVAL);
                }
                // The v4-mapped address by the IPv4 rule, another one by ipv6_chk_addr (a
                // link-local one needs a scope id first).
                if let Err(e) = self.host.bind_refusal(at, tcp) {
                    return self.refuse(e);
                }
            }
        }
        let port = if at.port() == 0 {
            match self.ephemeral(r, at.ip()) {
                Some(p) => p,
                None => return self.deny(Rule::NoEphemeralPort, Errno::EADDRINUSE),
            }
        } else {
            if self.port_conflict(r, at) {
                return self.deny(Rule::PortInUse, Errno::EADDRINUSE);
            }
            at.port()
        };
        let i = self.isk_mut(r);
        i.local = Some(SocketAddr::new(at.ip(), port));
        i.bound = true;
        i.addr_locked = !i.is_wildcard();
        i.port_locked = at.port() != 0;
        if class(i.rcv6()) == V6Class::Other {
            // __inet6_bind: a plain IPv6 address makes the socket IPv6-only.
            i.v6only = true;
        }
        Outcome::ok(0)
    }

    /// Bind an ephemeral port if none is bound (`inet_autobind`, connect's `inet_hash_connect`).
    fn autobind(&mut self, r: SockRef) -> Result<(), Errno> {
        if self.isk(r).port() != 0 {
            return Ok(());
        }
        let ip = self.isk(r).ip();
        let p = self.ephemeral(r, ip).ok_or(Errno::EAGAIN)?;
        let i = self.isk_mut(r);
        i.local = Some(SocketAddr::new(ip, p));
        i.bound = true;
        Ok(())
    }

    fn inet_listen(&mut self, r: SockRef, backlog: i64) -> Outcome {
        if !self.isk(r).tcp {
            return self.deny(Rule::ListenOnUdp, Errno::EOPNOTSUPP); // inet_dgram_ops.listen = sock_no_listen
        }
        // net/socket.c: (unsigned)backlog > somaxconn → somaxconn.
        let backlog = if backlog < 0 || backlog > self.sysctl.somaxconn { self.sysctl.somaxconn } else { backlog };
        // inet_listen: SS_UNCONNECTED and CLOSE or LISTEN.
        if self.isk(r).ss != SsState::Unconnected || !matches!(self.socks[r].state, SkState::Close | SkState::Listen) {
            return self.deny(Rule::InetListenState, Errno::EINVAL);
        }
        self.socks[r].max_ack_backlog = backlog;
        if self.socks[r].state == SkState::Listen {
            return Outcome::ok(0); // only the backlog changes
        }
        // inet_csk_listen_start: get_port again, now as a listener (an ephemeral one if unbound).
        let ip = self.isk(r).ip();
        // At listen, holders that share the port through SO_REUSEADDR are excused only while
        // they do not listen themselves (`reuse_conflict` looks at their state).
        match self.isk(r).local.filter(|a| a.port() != 0) {
            Some(at) => {
                if self.port_conflict(r, at) {
                    return self.deny(Rule::PortInUse, Errno::EADDRINUSE);
                }
            }
            None => {
                let Some(p) = self.ephemeral(r, ip) else { return self.deny(Rule::NoEphemeralPort, Errno::EADDRINUSE) };
                let i = self.isk_mut(r);
                i.local = Some(SocketAddr::new(ip, p));
                i.bound = true;
            }
        }
        if self.isk(r).was_connected {
            // The port checks above come first on every build (a self-connect's TIME_WAIT
            // gives EADDRINUSE here too); the rest differs between builds. The EINVAL the
            // model follows comes after get_port took the port: the socket stays bound to it
            // (live 6.18.44: a bind() afterwards is EINVAL).
            self.isk_mut(r).bound = true;
            return self.by(Rule::ListenAfterConnection, listen_after_a_connection());
        }
        self.set_state(r, SkState::Listen);
        self.isk_mut(r).listened = true;
        Outcome::ok(0)
    }

    /// The listener a SYN to `dst` reaches (`__inet_lookup_listener`): the exact address first,
    /// then the wildcard; among equals AF_INET before a dual-stack AF_INET6. `Err` when a
    /// SO_REUSEPORT group of several would choose by a keyed hash.
    fn find_listener(&self, dst: SocketAddr) -> Result<Option<SockRef>, String> {
        let v4 = v4_of(dst.ip());
        let mut best: Option<(u8, SockRef)> = None;
        let mut ties = 0;
        for (o, i) in self.inet.iter() {
            if !i.tcp || self.socks[o].state != SkState::Listen || i.port() != dst.port() {
                continue;
            }
            let score = match v4 {
                Some(d4) if i.takes_v4() => {
                    let exact = !i.is_wildcard() && i.rcv4() == d4;
                    if !exact && !i.is_wildcard() {
                        continue;
                    }
                    u8::from(exact) * 4 + u8::from(i.family == InetFamily::Inet) + 1
                }
                Some(_) => continue,
                None => {
                    if i.family != InetFamily::Inet6 {
                        continue;
                    }
                    let exact = i.ip() == dst.ip();
                    if !exact && !i.is_wildcard() {
                        continue;
                    }
                    u8::from(exact) * 4 + 1
                }
            };
            match best {
                Some((b, _)) if b > score => {}
                Some((b, _)) if b == score => ties += 1,
                _ => {
                    best = Some((score, o));
                    ties = 0;
                }
            }
        }
        match best {
            Some((_, o)) if ties > 0 => {
                let _ = o;
                Err(format!("{ties} more SO_REUSEPORT listeners on {dst}: the kernel picks one by a keyed hash"))
            }
            b => Ok(b.map(|(_, o)| o)),
        }
    }

    /// The source address of a packet from `r` to `dst`: the bound address, or the loopback
    /// address of the destination's kind (route prefsrc of 127.0.0.0/8 is 127.0.0.1).
    fn source_for(&self, r: SockRef, dst: SocketAddr) -> IpAddr {
        let i = self.isk(r);
        let v4 = v4_of(dst.ip()).is_some();
        // A specific address of the destination's kind; a plain IPv6 one does not serve IPv4.
        if !i.is_wildcard() && (v4_of(i.ip()).is_some() == v4) {
            return i.ip();
        }
        // The route's preferred source: an address of this host is its own source (its local
        // route's prefsrc; IPv6 rule 1, same address); another loopback address (127.0.0.2)
        // gets the address of the loopback prefix that holds it (127.0.0.1).
        let exact = |ip: IpAddr| self.host.addrs.iter().any(|h| h.ip == ip);
        let src: IpAddr = match v4_of(dst.ip()) {
            Some(d4) if exact(d4.into()) => d4.into(),
            Some(d4) => self
                .host
                .addrs
                .iter()
                .filter(|h| h.loopback && h.holds_v4(d4))
                .find_map(|h| match h.ip {
                    IpAddr::V4(a) => Some(a),
                    IpAddr::V6(_) => None,
                })
                .unwrap_or(Ipv4Addr::LOCALHOST)
                .into(),
            None if exact(dst.ip()) => dst.ip(),
            None => Ipv6Addr::LOCALHOST.into(),
        };
        match (i.family, src) {
            (InetFamily::Inet6, IpAddr::V4(a)) => a.to_ipv6_mapped().into(),
            (_, src) => src,
        }
    }

    /// Destination checks of a connect or send: family, length, the v4-mapped rules, and the
    /// wildcard meaning loopback. The destination in the socket's own family form.
    fn destination(&self, r: SockRef, addr: &SockAddr, connect: bool) -> Result<SocketAddr, (Rule, Outcome)> {
        let dst = self.destination_form(r, addr, connect).map_err(|e| (e.rule, Outcome::err(e.errno)))?;
        self.route(dst)?;
        self.unicast_source(r)?;
        Ok(dst)
    }

    /// A socket bound to a broadcast or multicast address (bind accepts them) sends from an
    /// address that is not this host's: the model does not follow such traffic (live 6.18: a
    /// TCP connect from 10.1.2.255 to 10.1.2.3 with no listener succeeded).
    fn unicast_source(&self, r: SockRef) -> Result<(), (Rule, Outcome)> {
        let i = self.isk(r);
        if i.is_wildcard() || self.host.is_local(i.ip()) {
            return Ok(());
        }
        let why = format!(
            "the socket is bound to {}, a broadcast or multicast address: the model does not follow traffic from it",
            i.ip()
        );
        Err((Rule::ModelUndetermined, Outcome::WouldBlock { block: Block::undetermined(why) }))
    }

    /// The route to `dst`: this host (delivered over `lo`), or none (`ENETUNREACH` on a
    /// loopback-only host; undetermined on one with other interfaces).
    fn route(&self, dst: SocketAddr) -> Result<(), (Rule, Outcome)> {
        if !self.host.is_local(dst.ip()) {
            if self.host.loopback_only() {
                return Err((Rule::NoRoute, Outcome::err(Errno::ENETUNREACH))); // only lo: no route
            }
            let why = format!(
                "{dst} is not an address of this host: the model knows no routes (another interface may carry it away)"
            );
            return Err((Rule::ModelUndetermined, Outcome::WouldBlock { block: Block::undetermined(why) }));
        }
        Ok(())
    }

    /// [`Kernel::destination`] before the route: the checks of the address itself.
    fn destination_form(&self, r: SockRef, addr: &SockAddr, connect: bool) -> Result<SocketAddr, Refusal> {
        let no = |rule, errno| Err(Refusal::new(rule, errno));
        let i = self.isk(r);
        let tcp_connect = connect && i.tcp;
        let (fam, len) = addr_len(addr);
        let dst = match (i.family, addr) {
            (InetFamily::Inet, SockAddr::Inet(a @ SocketAddr::V4(_))) => *a,
            (InetFamily::Inet6, SockAddr::Inet(a @ SocketAddr::V6(_))) => *a,
            // udpv6: a sockaddr_in goes the IPv4 way unless IPV6_V6ONLY.
            (InetFamily::Inet6, SockAddr::Inet(a @ SocketAddr::V4(_))) if !i.tcp => {
                if i.v6only {
                    // ip6_datagram_connect: EAFNOSUPPORT; udpv6_sendmsg: ENETUNREACH.
                    return no(Rule::V4OnV6OnlySocket, if connect { Errno::EAFNOSUPPORT } else { Errno::ENETUNREACH });
                }
                if class(i.rcv6()) == V6Class::Other && i.addr_locked {
                    // Bound to a plain IPv6 address: __ip4_datagram_connect refuses,
                    // udp_sendmsg finds no IPv4 route from LOOPBACK4_IPV6.
                    return no(Rule::V4OnV6OnlySocket, if connect { Errno::EAFNOSUPPORT } else { Errno::ENETUNREACH });
                }
                mapped(*a)
            }
            (InetFamily::Inet, _) => {
                return no(Rule::InetAddressFamily, if len < 16 { Errno::EINVAL } else { Errno::EAFNOSUPPORT })
            }
            (InetFamily::Inet6, _) => {
                let e = if len < 24 {
                    Errno::EINVAL
                } else if fam != 10 {
                    Errno::EAFNOSUPPORT
                } else {
                    Errno::EINVAL
                };
                return no(Rule::InetAddressFamily, e);
            }
        };
        let dst = match dst {
            SocketAddr::V6(a6) if a6.ip().is_unspecified() => {
                // tcp_v6_connect / udpv6: [::] means loopback (v4 loopback for a v4-mapped socket).
                let lo: IpAddr = if self.isk(r).rcv6().is_some_and(|l| l.to_ipv4_mapped().is_some()) {
                    Ipv4Addr::LOCALHOST.to_ipv6_mapped().into()
                } else {
                    Ipv6Addr::LOCALHOST.into()
                };
                SocketAddr::new(lo, a6.port())
            }
            d if v4_of(d.ip()).is_some_and(|v| v.is_unspecified()) => {
                // ip_route_output: no destination means the source (or 127.0.0.1).
                let own = self.isk(r).rcv4();
                let ip =
                    if own.is_unspecified() || v4_of(self.isk(r).ip()).is_none() { Ipv4Addr::LOCALHOST } else { own };
                let a = SocketAddr::new(ip.into(), d.port());
                if d.is_ipv6() {
                    mapped(a)
                } else {
                    a
                }
            }
            d => d,
        };
        if let IpAddr::V6(v6) = dst.ip() {
            if v6.is_multicast() && tcp_connect {
                return no(Rule::TcpConnectMulticast, Errno::ENETUNREACH);
            }
            if connect && needs_scope_id(v6) && matches!(dst, SocketAddr::V6(d) if d.scope_id() == 0) {
                // tcp_v6_connect / __ip6_datagram_connect: "connect to link-local address
                // requires an interface" (no scope id, no bound device). A send goes on to the
                // route lookup.
                return no(Rule::ScopeIdNeeded, Errno::EINVAL);
            }
            if v6.to_ipv4_mapped().is_some() && i.v6only {
                return no(Rule::V4OnV6OnlySocket, Errno::ENETUNREACH);
            }
            if v6.to_ipv4_mapped().is_some() && class(i.rcv6()) == V6Class::Other && i.addr_locked {
                // Bound to a plain IPv6 address: its IPv4 source is LOOPBACK4_IPV6, no route.
                return no(Rule::V4OnV6OnlySocket, Errno::ENETUNREACH);
            }
            if v6.to_ipv4_mapped().is_none()
                && i.rcv6().is_some_and(|l| l.to_ipv4_mapped().is_some() && !l.is_unspecified())
            {
                // ip6_dst_lookup_tail: a v4-mapped source cannot reach an IPv6 destination.
                return no(Rule::MappedSourceToIpv6, Errno::EAFNOSUPPORT);
            }
        }
        Ok(dst)
    }

    /// What `tcp_connect` would answer if `forget` undid a build-dependent quirk of `r` (on a
    /// copy of the kernel: this one is not changed), for the other answer of an undetermined
    /// step.
    fn connect_without(&self, r: SockRef, addr: &SockAddr, forget: fn(&mut InetSock)) -> Outcome {
        let mut other = self.clone();
        forget(other.isk_mut(r));
        other.tcp_connect(r, addr)
    }

    fn tcp_connect(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        if matches!(addr, SockAddr::Unspec) {
            // __inet_stream_connect: AF_UNSPEC disconnects.
            self.tcp_disconnect(r);
            self.isk_mut(r).ss = SsState::Unconnected;
            return Outcome::ok(0);
        }
        match self.isk(r).ss {
            SsState::Connected => return self.deny(Rule::TcpAlreadyConnected, Errno::EISCONN),
            SsState::Connecting => {
                // A second call after a non-blocking one: the outcome of the first.
                return match self.socks[r].state {
                    SkState::Close => {
                        let e = self.socks[r].err.take().unwrap_or(Errno::ECONNABORTED);
                        self.isk_mut(r).ss = SsState::Unconnected;
                        self.tcp_disconnect(r);
                        self.deny(Rule::EarlierConnectFailed, e)
                    }
                    _ => {
                        self.isk_mut(r).ss = SsState::Connected;
                        Outcome::ok(0)
                    }
                };
            }
            SsState::Unconnected => {}
            _ => return self.deny(Rule::InetConnectState, Errno::EINVAL),
        }
        if self.socks[r].state != SkState::Close {
            return self.deny(Rule::TcpAlreadyConnected, Errno::EISCONN);
        }
        let dst = match self.destination(r, addr, true) {
            Ok(d) => d,
            Err((rule, out)) => return self.by(rule, out),
        };
        if self.isk(r).listened {
            // After the route lookup (live 6.18.44: ENETUNREACH for a broadcast address).
            let ordinary = self.connect_without(r, addr, |i| i.listened = false);
            return self.by(Rule::ConnectAfterListening, connect_after_listening(ordinary));
        }
        let nonblock = self.socks[r].nonblock;
        let v4_dst = v4_of(dst.ip()).is_some();
        if self.isk(r).mapped_ops && !v4_dst {
            // Builds differ (docs/simulator.md): on some the socket kept the IPv4 transmit path
            // (`icsk_af_ops = &ipv6_mapped`) and its SYN to an IPv6 address goes nowhere; on
            // others (6.18.44 of 2026-12) the connect goes out over IPv6 as for a fresh socket.
            // Both answers; the model follows the first (the attempt withdrawn).
            let over_ipv6 = self.connect_without(r, addr, |i| i.mapped_ops = false);
            self.withdraw_connect(r);
            let no_answer = Outcome::WouldBlock {
                block: Block::NoAnswer {
                    why: "this AF_INET6 socket once connected to a v4-mapped address and kept the IPv4 transmit path (a Linux quirk)".into(),
                },
            };
            let answers = Outcome::either_of(
                "a TCP connect to IPv6 from an AF_INET6 socket that once tried a v4-mapped peer: Linux builds differ (no answer on some, IPv6 as usual on others)",
                no_answer,
                over_ipv6,
            );
            return self.by(Rule::KeptIpv4TransmitPath, answers);
        }
        if self.isk(r).family == InetFamily::Inet6 && v4_dst {
            self.isk_mut(r).mapped_ops = true;
        }
        let src_ip = self.source_for(r, dst);
        // Self-connect: a SYN to the socket's own bound address meets the socket itself
        // (simultaneous open).
        let own = self.isk(r).local.filter(|l| {
            l.port() != 0 && l.port() == dst.port() && mapped(SocketAddr::new(src_ip, 0)).ip() == mapped(dst).ip()
        });
        // A listener on the destination takes the SYN even when it is the sender's own address
        // (live 6.18; the differential test); only without one does the SYN meet its sender.
        let listener = match self.find_listener(dst) {
            Ok(l) => l,
            Err(why) => return self.wait(Rule::ModelUndetermined, Block::undetermined(why)),
        };
        let own = own.filter(|_| listener.is_none());
        if listener.is_none()
            && own.is_none()
            && src_ip == IpAddr::V6(Ipv6Addr::LOCALHOST)
            && !dst.ip().is_loopback()
            && v4_of(dst.ip()).is_none()
        {
            // A SYN from ::1 to another IPv6 address of this host with no listener there gets
            // no RST back (live 6.18; the host differential test): the connect waits.
            self.withdraw_connect(r);
            let why = format!("a SYN from ::1 to {dst}, where nothing listens, is never answered (a Linux quirk)");
            return self.wait(Rule::SynUnanswered, Block::NoAnswer { why });
        }
        if let Some(l) = listener {
            let (pending, backlog) = (self.socks[l].queue.len(), self.socks[l].max_ack_backlog);
            if pending as i64 > backlog {
                // tcp_conn_request: sk_acceptq_is_full → the SYN is dropped. The attempt is
                // withdrawn (see Block::BacklogFull).
                self.withdraw_connect(r);
                return self.wait(Rule::TcpBacklogFull, Block::BacklogFull { pending, backlog });
            }
        }
        // inet_hash_connect: an ephemeral port if none is bound; the four-tuple must be free.
        if self.autobind(r).is_err() {
            return self.deny(Rule::NoEphemeralPort, Errno::EADDRNOTAVAIL);
        }
        let local = SocketAddr::new(src_ip, self.isk(r).port());
        // Only sockets in the established hash: bound and neither CLOSE nor LISTEN (a closed
        // socket keeps its old addresses; the differential test).
        let holder = self.inet.iter().find(|&(o, i)| {
            o != r
                && i.tcp
                && i.bound
                && !matches!(self.socks[o].state, SkState::Close | SkState::Listen)
                && i.local.map(mapped) == Some(mapped(local))
                && i.remote.map(mapped) == Some(mapped(dst))
        });
        if let Some((o, _)) = holder {
            if self.socks[o].state == SkState::TimeWait {
                // tcp_twsk_unique with tcp_tw_reuse = 2 on loopback: allowed once the
                // TIME_WAIT's timestamp is a second old.
                let why = format!("{local} to {dst} is in TIME_WAIT: reusable only after a second");
                return self.wait(Rule::TimeWaitReuse, Block::undetermined(why));
            }
            return self.deny(Rule::FourTupleInUse, Errno::EADDRNOTAVAIL);
        }
        {
            let i = self.isk_mut(r);
            i.was_connected = true; // the SYN goes out
            i.local = Some(local);
            i.remote = Some(dst);
            i.done = false;
            i.ss = if nonblock { SsState::Connecting } else { SsState::Connected };
        }
        self.socks[r].err = None; // tcp_connect_init (sk_shutdown is kept: live 6.18)
        let rcvbuf = self.socks[r].rcvbuf;
        self.isk_mut(r).syn_rcvbuf = rcvbuf;
        if own.is_some() && self.socks[r].shutdown & 2 != 0 {
            // Simultaneous open with itself while shut for sending: the connection is aborted
            // without an error, through a FIN to itself that leaves a TIME_WAIT on the port
            // (live 6.18: ECONNABORTED, then EADDRINUSE for listen; the differential test).
            self.set_state(r, SkState::FinWait2);
            self.time_wait(r);
            if nonblock {
                return self.deny(Rule::SelfConnectShutForSending, Errno::EINPROGRESS);
            }
            self.isk_mut(r).ss = SsState::Unconnected;
            self.tcp_disconnect(r);
            return self.deny(Rule::SelfConnectShutForSending, Errno::ECONNABORTED);
        }
        if own.is_some() {
            self.set_state(r, SkState::Established);
            self.socks[r].peer = Some(r);
        } else if let Some(l) = listener {
            self.accept_child(l, r, dst, local);
        } else {
            // No listener: RST. tcp_reset in SYN_SENT → ECONNREFUSED, tcp_done.
            self.set_state(r, SkState::SynSent);
            if nonblock {
                // Whether the RST is processed before connect() looks at the state is timing:
                // EINPROGRESS with the error pending (the model's state), or ECONNREFUSED at once.
                self.reset(r);
                let answers = Outcome::either(
                    "a non-blocking TCP connect that meets an RST: EINPROGRESS if the RST is processed after connect() returns, ECONNREFUSED if before (softirq timing)",
                    vec![Outcome::err(Errno::EINPROGRESS), Outcome::err(Errno::ECONNREFUSED)],
                );
                return self.by(Rule::ConnectRefusedTiming, answers);
            }
            self.reset(r);
            let e = self.socks[r].err.take().unwrap_or(Errno::ECONNREFUSED);
            self.isk_mut(r).ss = SsState::Unconnected;
            self.tcp_disconnect(r);
            return self.deny(Rule::ConnectionRefused, e);
        }
        if nonblock {
            return self.deny(Rule::ConnectInProgress, Errno::EINPROGRESS);
        }
        Outcome::ok(0)
    }

    /// The three-way handshake completed: a child of listener `l` for client `c`, queued.
    fn accept_child(&mut self, l: SockRef, c: SockRef, dst: SocketAddr, src: SocketAddr) {
        let li = self.isk(l).clone();
        let child = self.new_sock(SockType::Stream);
        let fam = li.family;
        let form = |a: SocketAddr| if fam == InetFamily::Inet6 { mapped(a) } else { a };
        let mut ci = li;
        ci.local = Some(form(SocketAddr::new(dst.ip(), dst.port())));
        ci.remote = Some(form(src));
        ci.bound = true; // __inet_inherit_port
                         // Not locked: a disconnected child gives its port back (live 6.18; differential test).
        ci.port_locked = false;
        ci.addr_locked = false;
        ci.ss = SsState::Connected;
        ci.was_connected = true;
        ci.listened = false;
        ci.done = false;
        ci.syn_rcvbuf = self.socks[l].rcvbuf;
        self.inet.insert(child, ci);
        let (sndbuf, rcvbuf) = (self.socks[l].sndbuf, self.socks[l].rcvbuf);
        self.set_state(child, SkState::Established);
        let e = &mut self.socks[child];
        e.peer = Some(c);
        e.embryo_of = Some(l);
        e.sndbuf = sndbuf;
        e.rcvbuf = rcvbuf;
        self.set_state(c, SkState::Established);
        self.socks[c].peer = Some(child);
        self.socks[l].queue.push_back(Skb {
            from: c,
            data: Vec::new(),
            rights: Vec::new(),
            embryo: Some(child),
            truesize: 0,
        });
        // The child is a clone of the listener, shutdown bits included (a shutdown() on the
        // socket before it listened sets them): shut for sending, it sends its FIN at once
        // (live 6.18; the differential test).
        let lsh = self.socks[l].shutdown;
        self.socks[child].shutdown = lsh;
        if lsh & 2 != 0 {
            self.send_fin(child);
        }
    }

    fn inet_accept(&mut self, r: SockRef, new: Slot) -> Outcome {
        if !self.isk(r).tcp {
            return self.deny(Rule::AcceptOnUdp, Errno::EOPNOTSUPP);
        }
        if self.socks[r].state != SkState::Listen {
            return self.deny(Rule::TcpAcceptNotListening, Errno::EINVAL);
        }
        let Some(skb) = self.socks[r].queue.pop_front() else {
            if self.socks[r].nonblock {
                return self.deny(Rule::TcpAcceptQueueEmpty, Errno::EAGAIN);
            }
            return self.wait(Rule::TcpAcceptQueueEmpty, Block::AcceptEmpty);
        };
        let Some(child) = skb.embryo else { return Outcome::Invalid { why: "listener queue holds a data skb".into() } };
        self.socks[child].embryo_of = None;
        self.attach(new, child);
        Outcome::ok(0)
    }

    /// `tcp_done` after a reset or the last ACK: CLOSE, both directions shut, the port given back
    /// unless bind() chose it (an orphan gives everything back).
    fn tcp_done(&mut self, r: SockRef) {
        let orphan = self.socks[r].dead;
        self.set_state(r, SkState::Close);
        self.socks[r].shutdown = crate::wire::SHUTDOWN_MASK;
        let i = self.isk_mut(r);
        if orphan || !i.port_locked {
            // inet_put_port: inet_num = 0 (the address stays).
            i.bound = false;
            i.local = i.local.map(|a| SocketAddr::new(a.ip(), 0));
        }
    }

    /// An RST arrives at `r` (`tcp_reset`; a TIME_WAIT or orphan just disappears).
    fn reset(&mut self, r: SockRef) {
        if self.socks[r].dead {
            self.set_state(r, SkState::Close);
            self.isk_mut(r).bound = false;
            return;
        }
        let Some(e) = reset_errno(self.socks[r].state) else { return };
        self.socks[r].err = Some(e);
        self.tcp_done(r);
    }

    /// `tcp_time_wait`: an orphan becomes the TIME_WAIT socket; a socket with an fd is done and
    /// a new TIME_WAIT socket keeps the port. DEVIATION: TIME_WAIT never ends (Linux: 60 s).
    fn time_wait(&mut self, r: SockRef) {
        if self.socks[r].dead {
            self.set_state(r, SkState::TimeWait);
            return;
        }
        let tw = self.new_sock(SockType::Stream);
        let mut ti = self.isk(r).clone();
        ti.bound = true;
        self.inet.insert(tw, ti);
        self.socks[tw].dead = true;
        self.set_state(tw, SkState::TimeWait);
        self.tcp_done(r);
    }

    /// `r` sends its FIN (`tcp_close_state` + `tcp_send_fin`), loopback delivers it and the ACK.
    fn send_fin(&mut self, r: SockRef) {
        let next = match self.socks[r].state {
            // FIN_WAIT1 until the peer ACKs the FIN — which a peer entering CLOSE_WAIT delays
            // (pingpong mode, ~40 ms): DEVIATION, FIN_WAIT2 at once (both answer alike).
            SkState::Established => SkState::FinWait2,
            SkState::CloseWait => SkState::LastAck,
            _ => return,
        };
        self.set_state(r, next);
        let Some(p) = self.socks[r].peer else { return };
        // The peer receives the FIN (tcp_fin).
        if !self.socks[p].dead || self.socks[p].state != SkState::Close {
            self.isk_mut(p).done = true;
            self.socks[p].shutdown |= 1;
            match self.socks[p].state {
                SkState::Established => self.set_state(p, SkState::CloseWait),
                SkState::FinWait2 => self.time_wait(p),
                _ => {}
            }
        }
        if self.socks[r].state == SkState::LastAck {
            self.tcp_done(r); // the peer's ACK of our FIN
        }
    }

    /// A connect whose SYN went out and will not be answered now (a full accept queue, or no
    /// answer at all) is withdrawn, as the native executor does: `connect(AF_UNSPEC)` on the
    /// SYN_SENT socket (`tcp_disconnect`: the shutdown bits, the receive queue and an autobound
    /// port go), then the `ECONNRESET` that leaves is read away. What stays is that the socket
    /// has been in a connection (see [`listen_after_a_connection`]).
    fn withdraw_connect(&mut self, r: SockRef) {
        self.isk_mut(r).was_connected = true;
        self.set_state(r, SkState::SynSent);
        self.tcp_disconnect(r);
        self.socks[r].err = None;
        self.isk_mut(r).ss = SsState::Unconnected;
    }

    /// `tcp_disconnect` (connect(AF_UNSPEC), shutdown of a listener or a SYN_SENT socket, and a
    /// listener dropping its queue): reset a live connection, forget the peer and the queue.
    fn tcp_disconnect(&mut self, r: SockRef) {
        let old = self.socks[r].state;
        if old == SkState::Listen {
            self.listen_stop(r);
        } else if matches!(old, SkState::Established | SkState::CloseWait | SkState::FinWait1 | SkState::FinWait2) {
            if let Some(p) = self.socks[r].peer {
                if p != r {
                    self.reset(p);
                }
            }
            self.socks[r].err = Some(Errno::ECONNRESET);
        } else if old == SkState::SynSent {
            self.socks[r].err = Some(Errno::ECONNRESET);
        }
        self.set_state(r, SkState::Close);
        self.socks[r].peer = None;
        self.socks[r].shutdown = 0;
        self.socks[r].queue.clear();
        let i = self.isk_mut(r);
        i.remote = None;
        i.done = false;
        // tcp_set_state(TCP_CLOSE) gives an unlocked port back only when the state changes: a
        // socket already CLOSE keeps its port (live 6.18: bind to port 0, connect(AF_UNSPEC),
        // bind again is EINVAL; the differential test). inet_reset_saddr either way.
        if !i.port_locked && old != SkState::Close {
            i.bound = false;
            i.local = None;
        } else if !i.addr_locked {
            let port = i.port();
            let any: IpAddr = match i.family {
                InetFamily::Inet => Ipv4Addr::UNSPECIFIED.into(),
                InetFamily::Inet6 => Ipv6Addr::UNSPECIFIED.into(),
            };
            i.local = Some(SocketAddr::new(any, port));
        }
    }

    /// `inet_csk_listen_stop`: every queued child is disconnected (its client gets an RST) and
    /// destroyed.
    fn listen_stop(&mut self, l: SockRef) {
        let queue: Vec<Skb> = self.socks[l].queue.drain(..).collect();
        for skb in queue {
            let Some(child) = skb.embryo else { continue };
            self.socks[child].embryo_of = None;
            self.socks[child].dead = true;
            if matches!(self.socks[child].state, SkState::Established | SkState::CloseWait) {
                if let Some(c) = self.socks[child].peer {
                    self.reset(c);
                }
            }
            self.set_state(child, SkState::Close);
            self.socks[child].queue.clear();
            self.isk_mut(child).bound = false;
        }
    }

    fn inet_shutdown(&mut self, r: SockRef, how: u8) -> Outcome {
        let state = self.socks[r].state;
        if self.isk(r).ss == SsState::Connecting {
            self.isk_mut(r).ss = if matches!(state, SkState::SynSent | SkState::Close) {
                SsState::Disconnecting
            } else {
                SsState::Connected
            };
        }
        match state {
            SkState::Close => {
                // "Hack to wake up other listeners": the bits are set, and ENOTCONN returned.
                self.socks[r].shutdown |= how;
                self.deny(Rule::ShutdownNotConnected, Errno::ENOTCONN)
            }
            SkState::Listen => {
                if how & 1 != 0 {
                    self.tcp_disconnect(r);
                    self.isk_mut(r).ss = SsState::Unconnected;
                }
                Outcome::ok(0)
            }
            SkState::SynSent => {
                self.tcp_disconnect(r);
                self.isk_mut(r).ss = SsState::Unconnected;
                Outcome::ok(0)
            }
            _ => {
                self.socks[r].shutdown |= how;
                if self.isk(r).tcp && how & 2 != 0 {
                    self.send_fin(r); // tcp_shutdown
                }
                Outcome::ok(0)
            }
        }
    }

    fn tcp_send(&mut self, r: SockRef, data: &[u8]) -> Outcome {
        // tcp_sendmsg_locked: the destination address is ignored.
        let state = self.socks[r].state;
        if !matches!(state, SkState::Established | SkState::CloseWait) {
            // sk_stream_wait_connect: a pending error, else EPIPE (no SYN_SENT in the model).
            let e = self.socks[r].err.take().unwrap_or(Errno::EPIPE);
            return self.deny(Rule::TcpSendNotConnected, e);
        }
        if self.socks[r].err.is_some() || self.socks[r].shutdown & 2 != 0 {
            let e = self.socks[r].err.take().unwrap_or(Errno::EPIPE);
            return self.deny(Rule::TcpSendShut, e);
        }
        if data.is_empty() {
            return Outcome::ok(0);
        }
        let Some(p) = self.socks[r].peer else { return self.deny(Rule::TcpSendNotConnected, Errno::EPIPE) };
        if self.socks[p].dead {
            // Data for a closed socket (an orphan in FIN_WAIT2 or TIME_WAIT): it answers RST.
            self.reset(p);
            self.reset(r);
            return Outcome::ok(data.len() as i64);
        }
        if matches!(self.socks[p].state, SkState::FinWait1 | SkState::FinWait2) && self.socks[p].shutdown & 1 != 0 {
            // tcp_rcv_state_process: new data for a socket shut both ways is answered by an RST.
            self.reset(p);
            self.reset(r);
            return Outcome::ok(data.len() as i64);
        }
        let queued: usize = self.socks[p].queue.iter().map(|b| b.data.len()).sum();
        if p == r && data.len() > SELF_CONNECTED_SEND {
            let why = format!(
                "{} bytes at once on a self-connected TCP socket: more than the {SELF_CONNECTED_SEND} the model vouches for (its own receive window holds the rest back)",
                data.len()
            );
            return self.wait(Rule::ModelUndetermined, Block::undetermined(why));
        }
        if p == r && queued > 0 {
            // A self-connected socket ACKs its own segments with delayed ACKs, and Nagle holds a
            // small segment while one is unacknowledged: whether this one is readable at once
            // depends on a timer (live 6.18: three 1-byte sends, then recv(3) gave 2 bytes).
            let why = "a self-connected TCP socket sending while its own data is unread: delayed ACKs and Nagle decide when it arrives";
            return self.wait(Rule::ModelUndetermined, Block::undetermined(why));
        }
        let total = (queued + data.len()) as i64;
        if queued + data.len() > TCP_QUEUE_LIMIT
            && !big_queue_fits(total, self.isk(p).syn_rcvbuf.min(self.socks[p].rcvbuf), self.socks[r].sndbuf)
        {
            let why = format!(
                "{} unread bytes on one TCP connection: more than the {TCP_QUEUE_LIMIT} the model vouches for with these buffers (buffer autotuning decides; raising the receiver's SO_RCVBUF before its SYN and the sender's SO_SNDBUF lifts it)",
                queued + data.len()
            );
            return self.wait(Rule::ModelUndetermined, Block::undetermined(why));
        }
        self.socks[p].queue.push_back(Skb {
            from: r,
            data: data.to_vec(),
            rights: Vec::new(),
            embryo: None,
            truesize: 0,
        });
        Outcome::ok(data.len() as i64)
    }

    fn tcp_recv(&mut self, r: SockRef, len: usize, peek: bool) -> Outcome {
        if self.socks[r].state == SkState::Listen {
            return self.deny(Rule::TcpRecvOnListener, Errno::ENOTCONN);
        }
        let mut out = Vec::new();
        if peek {
            for skb in &self.socks[r].queue {
                let take = (len - out.len()).min(skb.data.len());
                out.extend_from_slice(&skb.data[..take]);
                if out.len() >= len {
                    break;
                }
            }
        } else {
            while out.len() < len {
                let Some(skb) = self.socks[r].queue.front_mut() else { break };
                let take = (len - out.len()).min(skb.data.len());
                out.extend_from_slice(&skb.data[..take]);
                if take < skb.data.len() {
                    skb.data.drain(..take);
                    break;
                }
                self.socks[r].queue.pop_front();
            }
        }
        if !out.is_empty() || len == 0 {
            return Outcome::Read { data: Payload(out), rights: Vec::new(), truncated: false };
        }
        let eof = Outcome::Read { data: Payload(Vec::new()), rights: Vec::new(), truncated: false };
        if self.isk(r).done {
            return eof;
        }
        if let Some(e) = self.socks[r].err.take() {
            return self.deny(Rule::PendingError, e);
        }
        if self.socks[r].shutdown & 1 != 0 {
            return eof;
        }
        if self.socks[r].state == SkState::Close {
            return self.deny(Rule::TcpRecvNotConnected, Errno::ENOTCONN);
        }
        if self.socks[r].nonblock {
            return self.deny(Rule::TcpRecvEmpty, Errno::EAGAIN);
        }
        self.wait(Rule::TcpRecvEmpty, Block::RecvEmpty)
    }

    fn udp_connect(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        if matches!(addr, SockAddr::Unspec) {
            // udp_disconnect.
            self.set_state(r, SkState::Close);
            let i = self.isk_mut(r);
            i.remote = None;
            if !i.port_locked {
                i.bound = false;
                i.local = None;
            } else if !i.addr_locked {
                let port = i.port();
                let any: IpAddr = match i.family {
                    InetFamily::Inet => Ipv4Addr::UNSPECIFIED.into(),
                    InetFamily::Inet6 => Ipv6Addr::UNSPECIFIED.into(),
                };
                i.local = Some(SocketAddr::new(any, port));
            }
            return Outcome::ok(0);
        }
        // inet_dgram_connect: autobind first, then the address.
        if self.autobind(r).is_err() {
            return self.deny(Rule::NoEphemeralPort, Errno::EAGAIN);
        }
        let dst = match self.destination(r, addr, true) {
            Ok(d) => d,
            Err((rule, out)) => return self.by(rule, out),
        };
        let src = self.source_for(r, dst);
        let i = self.isk_mut(r);
        if i.is_wildcard() {
            let port = i.port();
            i.local = Some(SocketAddr::new(src, port)); // rcv_saddr set (and rehashed) if it was 0
        }
        i.remote = Some(dst);
        self.set_state(r, SkState::Established);
        Outcome::ok(0)
    }

    /// The UDP socket a datagram from `src` to `dst` is delivered to (`__udp4_lib_lookup` /
    /// `__udp6_lib_lookup`): exact address before wildcard, connected sockets only for their
    /// peer, AF_INET before AF_INET6. `Err` when a SO_REUSEPORT group would choose by hash, or
    /// several SO_REUSEADDR sockets tie (the order of a hash chain).
    fn udp_target(&self, src: SocketAddr, dst: SocketAddr) -> Result<Option<SockRef>, String> {
        let v4 = v4_of(dst.ip());
        let mut best: Option<(u8, SockRef)> = None;
        let mut ties = 0;
        for (o, i) in self.inet.iter() {
            if i.tcp || !i.bound || self.socks[o].dead || i.port() != dst.port() {
                continue;
            }
            let exact = match v4 {
                Some(d4) => {
                    if !i.takes_v4() {
                        continue;
                    }
                    if !i.is_wildcard() && i.rcv4() != d4 {
                        continue;
                    }
                    !i.is_wildcard()
                }
                None => {
                    if i.family != InetFamily::Inet6 || (!i.is_wildcard() && i.ip() != dst.ip()) {
                        continue;
                    }
                    if i.is_wildcard() && class(i.rcv6()) == V6Class::Mapped {
                        continue;
                    }
                    !i.is_wildcard()
                }
            };
            let mut score = 1 + u8::from(i.family == InetFamily::Inet && v4.is_some()) + 16 * u8::from(exact);
            if let Some(rm) = i.remote {
                // compute_score: the connected address must match; a connected port 0 does
                // not count (inet_dport 0 is skipped).
                let (rm, sm) = (mapped(rm), mapped(src));
                if rm.ip() != sm.ip() || (rm.port() != 0 && rm.port() != sm.port()) {
                    continue;
                }
                score += 4 + 4 * u8::from(rm.port() != 0);
            }
            match best {
                Some((b, _)) if b > score => {}
                Some((b, _)) if b == score => ties += 1,
                _ => {
                    best = Some((score, o));
                    ties = 0;
                }
            }
        }
        match best {
            Some(_) if ties > 0 => Err(format!(
                "{} UDP sockets share {dst}: which one gets the datagram depends on a hash or a chain order",
                ties + 1
            )),
            b => Ok(b.map(|(_, o)| o)),
        }
    }

    fn udp_send(&mut self, r: SockRef, to: Option<&SockAddr>, data: &[u8]) -> Outcome {
        // inet_sendmsg: inet_send_prepare autobinds a UDP socket before anything else.
        if self.autobind(r).is_err() {
            return self.deny(Rule::NoEphemeralPort, Errno::EAGAIN);
        }
        // udp_sendmsg / udpv6_sendmsg, in their order.
        if data.len() > 0xffff {
            return self.deny(Rule::UdpTooBig, Errno::EMSGSIZE);
        }
        let dst = match to {
            // The executor has no AF_UNSPEC destination (udpv6 would read it as "none").
            Some(SockAddr::Unspec) => return self.deny(Rule::UdpPortZero, Errno::EINVAL),
            Some(a) => match self.destination_form(r, a, false) {
                // udp_sendmsg: port 0 is refused before the route is looked up.
                Ok(d) if d.port() == 0 => return self.deny(Rule::UdpPortZero, Errno::EINVAL),
                Ok(d) => match self.route(d).and_then(|()| self.unicast_source(r)) {
                    Ok(()) => Some(d),
                    Err((rule, out)) => return self.by(rule, out),
                },
                Err(e) => return self.refuse(e),
            },
            None => None,
        };
        let dst = match dst {
            Some(d) => d,
            None => match (self.socks[r].state, self.isk(r).remote) {
                // udpv6_sendmsg sends to a v4-mapped peer through udp_sendmsg with the peer as
                // the address, whose port 0 is EINVAL.
                (SkState::Established, Some(d)) if d.port() == 0 && v4_of(d.ip()).is_some() && d.is_ipv6() => {
                    return self.deny(Rule::UdpPortZero, Errno::EINVAL)
                }
                (SkState::Established, Some(d)) => d,
                _ => return self.deny(Rule::UdpNoDestination, Errno::EDESTADDRREQ),
            },
        };
        let max = if v4_of(dst.ip()).is_some() { UDP_MAX.0 } else { UDP_MAX.1 };
        if data.len() > max {
            return self.deny(Rule::UdpTooBig, Errno::EMSGSIZE);
        }
        // sock_alloc_send_pskb: a pending error first, then SEND_SHUTDOWN.
        if let Some(e) = self.socks[r].err.take() {
            return self.deny(Rule::PendingError, e);
        }
        if self.socks[r].shutdown & 2 != 0 {
            return self.deny(Rule::UdpShutForSending, Errno::EPIPE);
        }
        let src = SocketAddr::new(self.source_for(r, dst), self.isk(r).port());
        match self.udp_target(src, dst) {
            Err(why) => return self.wait(Rule::ModelUndetermined, Block::undetermined(why)),
            Ok(Some(t)) => {
                // __udp_enqueue_schedule_skb (6.18): dropped, silently, when the queue is not
                // empty and sk_rmem_alloc + this datagram's truesize passes sk_rcvbuf (a live
                // check: 832-byte charges against 2304 take two). The charges are known within
                // bounds only: a drop the bounds cannot settle is undetermined.
                let (lo, hi) = self.isk(t).rmem;
                let (tlo, thi) = udp_truesize(data.len());
                let rcvbuf = self.socks[t].rcvbuf;
                if lo > 0 && lo + tlo > rcvbuf {
                    return Outcome::ok(data.len() as i64); // dropped
                }
                if hi > 0 && hi + thi > rcvbuf {
                    let why = format!(
                        "the receiver holds {lo}..{hi} bytes of datagrams against a receive buffer of {rcvbuf}: whether this one is dropped depends on truesizes the model knows within bounds"
                    );
                    return self.wait(Rule::ModelUndetermined, Block::undetermined(why));
                }
                let i = self.isk_mut(t);
                i.rmem = (i.rmem.0 + tlo, i.rmem.1 + thi);
                self.socks[t].queue.push_back(Skb {
                    from: r,
                    data: data.to_vec(),
                    rights: Vec::new(),
                    embryo: None,
                    truesize: 0,
                });
            }
            Ok(None) => {
                // ICMP port unreachable, at once on loopback (no rate limit on lo): a hard
                // error for a connected sender only (udp_err without IP_RECVERR).
                // The ICMP error finds the sender by the reversed addresses, so only a socket
                // connected to that very destination takes it.
                // (udp compute_score: a connected port 0 matches any port.)
                let i = self.isk(r);
                let to_peer =
                    i.remote.map(mapped).is_some_and(|rm| {
                        let d = mapped(dst);
                        rm.ip() == d.ip() && (rm.port() == 0 || rm.port() == d.port())
                    }) && (i.rcv4().is_unspecified() || Some(i.rcv4()) == v4_of(src.ip()) || v4_of(dst.ip()).is_none());
                if self.socks[r].state == SkState::Established && to_peer {
                    self.socks[r].err = Some(Errno::ECONNREFUSED);
                }
            }
        }
        Outcome::ok(data.len() as i64)
    }

    fn udp_recv(&mut self, r: SockRef, len: usize, peek: bool) -> Outcome {
        // __skb_recv_udp: a pending error before any datagram.
        if let Some(e) = self.socks[r].err.take() {
            return self.deny(Rule::PendingError, e);
        }
        let Some(skb) = self.socks[r].queue.front() else {
            let s = &self.socks[r];
            if s.nonblock {
                return self.deny(Rule::UdpRecvEmpty, Errno::EAGAIN);
            }
            if s.shutdown & 1 != 0 {
                return Outcome::Read { data: Payload(Vec::new()), rights: Vec::new(), truncated: false };
            }
            return self.wait(Rule::UdpRecvEmpty, Block::RecvEmpty);
        };
        let take = len.min(skb.data.len());
        let truncated = take < skb.data.len();
        let data = skb.data[..take].to_vec();
        if !peek {
            if let Some(skb) = self.socks[r].queue.pop_front() {
                let (tlo, thi) = udp_truesize(skb.data.len());
                let i = self.isk_mut(r);
                i.rmem = (i.rmem.0 - tlo, i.rmem.1 - thi);
            }
        }
        Outcome::Read { data: Payload(data), rights: Vec::new(), truncated }
    }

    /// The last reference to an INET socket is gone (`tcp_close`, `udp_lib_close`).
    pub(super) fn inet_release(&mut self, r: SockRef) {
        if !self.isk(r).tcp {
            self.socks[r].dead = true;
            self.set_state(r, SkState::Close);
            self.socks[r].queue.clear();
            self.isk_mut(r).rmem = (0, 0);
            self.isk_mut(r).bound = false;
            return;
        }
        let state = self.socks[r].state;
        let unread = self.socks[r].queue.iter().any(|s| !s.data.is_empty());
        self.socks[r].dead = true;
        match state {
            SkState::Listen => {
                self.listen_stop(r);
                self.set_state(r, SkState::Close);
                self.isk_mut(r).bound = false;
            }
            SkState::Established | SkState::CloseWait | SkState::FinWait1 | SkState::FinWait2 if unread => {
                // Unread data: RST instead of FIN.
                self.socks[r].queue.clear();
                if let Some(p) = self.socks[r].peer {
                    if p != r {
                        self.reset(p);
                    }
                }
                self.set_state(r, SkState::Close);
                self.isk_mut(r).bound = false;
            }
            SkState::Established | SkState::CloseWait => {
                self.send_fin(r);
                if self.socks[r].state == SkState::Close {
                    self.isk_mut(r).bound = false;
                }
                // Otherwise an orphan in FIN_WAIT2 (or TIME_WAIT, self-connected) holds the port.
            }
            SkState::FinWait2 | SkState::TimeWait => {}
            _ => {
                self.set_state(r, SkState::Close);
                self.isk_mut(r).bound = false;
            }
        }
    }
}
