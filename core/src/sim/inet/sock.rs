//! The INET part of a simulated socket ([`InetSock`]) and the address helpers every part uses.

use super::super::ops::InetFamily;
use crate::sock::SsState;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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
pub(in crate::sim) fn mapped(a: SocketAddr) -> SocketAddr {
    match a.ip() {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port()),
        IpAddr::V6(_) => a,
    }
}

/// The IPv4 address behind an address, if it is IPv4 or v4-mapped.
pub(super) fn v4_of(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
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
    pub(super) fn port(&self) -> u16 {
        self.local.map_or(0, |a| a.port())
    }
    pub(super) fn ip(&self) -> IpAddr {
        match (self.local, self.family) {
            (Some(a), _) => a.ip(),
            (None, InetFamily::Inet) => Ipv4Addr::UNSPECIFIED.into(),
            (None, InetFamily::Inet6) => Ipv6Addr::UNSPECIFIED.into(),
        }
    }
    /// `sk_rcv_saddr`: the IPv4 receive address (an AF_INET6 socket: the mapped address, 0 for
    /// the wildcard, and LOOPBACK4_IPV6 127.0.0.6 for any other IPv6 address).
    pub(super) fn rcv4(&self) -> Ipv4Addr {
        match self.ip() {
            IpAddr::V4(v4) => v4,
            IpAddr::V6(v6) if v6.is_unspecified() => Ipv4Addr::UNSPECIFIED,
            IpAddr::V6(v6) => v6.to_ipv4_mapped().unwrap_or(Ipv4Addr::new(127, 0, 0, 6)),
        }
    }
    /// `sk_v6_rcv_saddr`, `None` for an AF_INET socket.
    pub(super) fn rcv6(&self) -> Option<Ipv6Addr> {
        match self.ip() {
            IpAddr::V6(v6) => Some(v6),
            IpAddr::V4(_) => None,
        }
    }
    pub(super) fn is_wildcard(&self) -> bool {
        match self.ip() {
            IpAddr::V4(v4) => v4.is_unspecified(),
            IpAddr::V6(v6) => v6.is_unspecified() || v6.to_ipv4_mapped().is_some_and(|v| v.is_unspecified()),
        }
    }
    /// How well this socket, listening, matches a SYN to `dst` (`__inet_lookup_listener`'s
    /// `compute_score`): `None` when it does not take it (another port, another address, IPv6
    /// on an AF_INET socket, IPv4 on an IPV6_V6ONLY or plain IPv6 address); the exact address
    /// scores above the wildcard, and among equals AF_INET above a dual-stack AF_INET6.
    pub fn listener_score(&self, dst: SocketAddr) -> Option<u8> {
        if self.port() != dst.port() {
            return None;
        }
        match v4_of(dst.ip()) {
            Some(d4) if self.takes_v4() => {
                let exact = !self.is_wildcard() && self.rcv4() == d4;
                (exact || self.is_wildcard())
                    .then(|| u8::from(exact) * 4 + u8::from(self.family == InetFamily::Inet) + 1)
            }
            Some(_) => None,
            None => {
                let exact = self.ip() == dst.ip();
                (self.family == InetFamily::Inet6 && (exact || self.is_wildcard())).then(|| u8::from(exact) * 4 + 1)
            }
        }
    }
    /// Handles IPv4 traffic: AF_INET, or AF_INET6 on the wildcard or a v4-mapped address and
    /// not IPV6_V6ONLY.
    pub(super) fn takes_v4(&self) -> bool {
        match self.ip() {
            IpAddr::V4(_) => true,
            IpAddr::V6(v6) => !self.v6only && (v6.is_unspecified() || v6.to_ipv4_mapped().is_some()),
        }
    }
    /// The local address after a disconnect (`inet_put_port`, `inet_reset_saddr`): when
    /// `release_port` and the port was not bound by the user, the socket is unbound; otherwise
    /// an address the user did not bind goes back to the wildcard of its family, the port kept.
    pub(super) fn reset_local(&mut self, release_port: bool) {
        if release_port && !self.port_locked {
            self.bound = false;
            self.local = None;
        } else if !self.addr_locked {
            let any: IpAddr = match self.family {
                InetFamily::Inet => Ipv4Addr::UNSPECIFIED.into(),
                InetFamily::Inet6 => Ipv6Addr::UNSPECIFIED.into(),
            };
            self.local = Some(SocketAddr::new(any, self.port()));
        }
    }
}

/// The kernel's `ipv6_addr_type` classes that matter here.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum V6Class {
    Any,
    Mapped,
    Other,
}

pub(super) fn class(a: Option<Ipv6Addr>) -> V6Class {
    match a {
        None => V6Class::Mapped, // an AF_INET socket counts as v4-mapped
        Some(v6) if v6.is_unspecified() => V6Class::Any,
        Some(v6) if v6.to_ipv4_mapped().is_some() => V6Class::Mapped,
        Some(_) => V6Class::Other,
    }
}
