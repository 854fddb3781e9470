//! The host's addresses ([`HostAddrs`]): what an INET bind may take and which destinations are
//! local.

use super::super::ops::Errno;
use super::super::rule::{Refusal, Rule};
use crate::codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `__ipv6_addr_needs_scope_id`: link-local unicast, interface- or link-local multicast.
pub(super) fn needs_scope_id(ip: Ipv6Addr) -> bool {
    let seg0 = ip.segments()[0];
    (seg0 & 0xffc0) == 0xfe80 || (ip.is_multicast() && matches!(seg0 & 0x000f, 1 | 2))
}

/// One address of an interface of the host ([`HostAddrs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Encode, Decode)]
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
/// DEVIATIONS: the model knows addresses, and the main table's routes only when they are given
/// ([`HostAddrs::routes`], a CRIU checkpoint's `route-N.img`): a local route added by hand
/// (`ip route add local 10.0.0.0/8 dev lo`) is not seen, and an address on an interface that is
/// down counts as local; a destination that is not local on a host with other interfaces is
/// [`Block::Undetermined`] (a route may carry it away), or `ENETUNREACH` when the given routes
/// of its family have none that covers it (policy rules and other tables are not followed).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize, Encode, Decode)]
pub struct HostAddrs {
    /// Interface addresses (IPv6 ones that are still tentative — duplicate address detection
    /// not finished — are left out: `ipv6_chk_addr` refuses them).
    pub addrs: Vec<HostAddr>,
    /// IPv4 broadcast addresses of the interfaces (`RTN_BROADCAST` routes, which bind()
    /// accepts: `IFA_BROADCAST`, and a primary address's prefix's all-ones address).
    pub broadcast: Vec<Ipv4Addr>,
    /// The main table's routes, per family, where they are known (`None`: not known, the
    /// default; `restore` reads the running host's, a CRIU checkpoint saves its own).
    #[serde(default)]
    pub routes: Routes,
    /// AF_UNIX names outside the restore where a dgram socket is bound and takes datagrams
    /// (a path, absolute, or an abstract name): what a dgram socket connected to an outside
    /// peer (EXTERNAL_PEER) can be connected to again. The simulator holds a receiver at each
    /// ([`crate::sim::Kernel::with_host`]). `restore run` probes the names the image records
    /// (`restore/src/host.rs`); empty by default.
    #[serde(default)]
    pub unix: Vec<crate::image::UnixAddr>,
}

/// One route of the main table ([`Routes`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Encode, Decode)]
pub struct HostRoute {
    /// The destination prefix (`0.0.0.0`/`::` with prefix 0: the default route).
    pub dst: IpAddr,
    /// Its length.
    pub prefix: u8,
    /// `RTN_UNICAST` (a gateway or direct route); otherwise unreachable, blackhole, prohibit,
    /// throw, … whose errnos the model does not follow.
    pub unicast: bool,
    /// The output interface (0: none given).
    pub oif: u32,
    /// The gateway.
    pub gateway: Option<IpAddr>,
}

impl HostRoute {
    /// `ip` is inside the destination prefix.
    pub fn covers(&self, ip: IpAddr) -> bool {
        let bits = |ip: IpAddr| -> (u128, u32) {
            match ip {
                IpAddr::V4(a) => (u128::from(u32::from(a)) << 96, 32),
                IpAddr::V6(a) => (u128::from(a), 128),
            }
        };
        let ((d, width), (a, width2)) = (bits(self.dst), bits(ip));
        if width != width2 {
            return false;
        }
        let n = u32::from(self.prefix).min(width);
        let mask = u128::MAX.checked_shl(128 - n).unwrap_or(0);
        d & mask == a & mask
    }
}

/// The main table's routes of each family, where known (a CRIU checkpoint saves IPv4's in
/// `route-N.img` and IPv6's in `route6-N.img`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, Serialize, Deserialize, Encode, Decode)]
pub struct Routes {
    /// IPv4 routes.
    pub v4: Option<Vec<HostRoute>>,
    /// IPv6 routes.
    pub v6: Option<Vec<HostRoute>>,
}

/// What the routes say of a destination that is not local ([`Routes::lookup`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteLookup {
    /// The routes of its family are not known (or it is multicast, whose routes are in the
    /// local table).
    Unknown,
    /// Known, and none covers it: `ENETUNREACH`.
    None,
    /// The longest prefix that covers it (the lowest metric is not chosen among equal ones).
    Via(HostRoute),
}

impl Routes {
    /// The route to `ip` (a v4-mapped IPv6 address goes the IPv4 way).
    pub fn lookup(&self, ip: IpAddr) -> RouteLookup {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        let multicast = match ip {
            IpAddr::V4(a) => a.is_multicast() || a.is_broadcast(),
            IpAddr::V6(a) => a.is_multicast(),
        };
        let table = if ip.is_ipv4() { &self.v4 } else { &self.v6 };
        let Some(table) = table.as_ref().filter(|_| !multicast) else { return RouteLookup::Unknown };
        match table.iter().filter(|r| r.covers(ip)).max_by_key(|r| r.prefix) {
            Some(r) => RouteLookup::Via(*r),
            None => RouteLookup::None,
        }
    }
}

impl Default for HostAddrs {
    fn default() -> Self {
        HostAddrs::loopback()
    }
}

impl HostAddr {
    /// `a` is this address, or in its prefix on a loopback interface.
    pub(super) fn holds_v4(&self, a: Ipv4Addr) -> bool {
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
            routes: Routes::default(),
            unix: Vec::new(),
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

    /// The host these interface addresses make, each with the broadcast addresses it gives the
    /// local routing table: sorted, without repeats (CRIU's `ifaddr-N.img`, the netlink dump).
    pub fn from_addrs(addrs: impl IntoIterator<Item = (HostAddr, Vec<Ipv4Addr>)>) -> HostAddrs {
        let mut host =
            HostAddrs { addrs: Vec::new(), broadcast: Vec::new(), routes: Routes::default(), unix: Vec::new() };
        for (a, brd) in addrs {
            host.addrs.push(a);
            host.broadcast.extend(brd);
        }
        host.addrs.sort();
        host.addrs.dedup();
        host.broadcast.sort();
        host.broadcast.dedup();
        host
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
