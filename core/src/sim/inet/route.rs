//! Where a packet goes: the source address of a socket towards a destination, the destination
//! a connect or sendto names, and its checks.

use super::*;

/// Where a packet to a destination goes ([`Kernel::route`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Path {
    /// This host: delivered over `lo`.
    Local,
    /// Out of the host, along this unicast route of the host's known routes.
    Out(HostRoute),
}

/// Traffic along `route` to `dst` leaves the host: the model does not follow it (a TCP
/// connect's SYN: `tcp` says so), so the answer is undetermined.
fn leaves(dst: SocketAddr, route: HostRoute, tcp: bool) -> (Rule, Outcome) {
    let via = match route.gateway {
        Some(gw) => format!("the route {}/{} via {gw}", route.dst, route.prefix),
        None => format!("the route {}/{} (on link)", route.dst, route.prefix),
    };
    let what = if tcp { "a TCP connect sends its SYN there" } else { "the packet leaves the host" };
    let why =
        format!("{dst} is not an address of this host: {via} takes it and {what}, which the model does not follow");
    (Rule::ModelUndetermined, Outcome::WouldBlock { block: Block::undetermined(why) })
}

impl Kernel {
    /// The source address of a packet from `r` to `dst`: the bound address, or the loopback
    /// address of the destination's kind (route prefsrc of 127.0.0.0/8 is 127.0.0.1).
    pub(super) fn source_for(&self, r: SockRef, dst: SocketAddr) -> IpAddr {
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
    pub(super) fn destination(
        &self,
        r: SockRef,
        addr: &SockAddr,
        connect: bool,
    ) -> Result<SocketAddr, (Rule, Outcome)> {
        let dst = self.destination_form(r, addr, connect).map_err(|e| (e.rule, Outcome::err(e.errno)))?;
        self.route_from(r, dst, connect)?;
        self.unicast_source(r)?;
        Ok(dst)
    }

    /// What is sent to `dst` (deliveries; `connect`: a connect) from `r` goes out along
    /// `route`: refused from an IPv4 loopback source (`__mkroute_output`: EINVAL); a UDP
    /// connect from a bound address is only the route lookup and the peer noted
    /// (`ip4_datagram_connect` / `ip6_datagram_connect` send nothing) and succeeds; anything
    /// else leaves the host, where the model does not follow it (undetermined).
    pub(super) fn leaving(
        &self,
        r: SockRef,
        dst: SocketAddr,
        route: HostRoute,
        connect: bool,
    ) -> Result<(), (Rule, Outcome)> {
        let i = self.isk(r);
        if !i.is_wildcard() && v4_of(i.ip()).is_some_and(|a| a.is_loopback()) {
            return Err((Rule::LoopbackSourceLeaves, Outcome::err(Errno::EINVAL)));
        }
        if connect && !i.tcp && self.bound_for(r, dst) {
            return Ok(());
        }
        Err(leaves(dst, route, i.tcp && connect))
    }

    /// `r` is bound to a specific address of `dst`'s kind, the source of whatever it sends
    /// there (a wildcard one would take the route's: its `prefsrc`, else the output device's
    /// primary address, which the model does not hold).
    fn bound_for(&self, r: SockRef, dst: SocketAddr) -> bool {
        let i = self.isk(r);
        !i.is_wildcard() && v4_of(i.ip()).is_some() == v4_of(dst.ip()).is_some()
    }

    /// A socket bound to a broadcast or multicast address (bind accepts them) sends from an
    /// address that is not this host's: the model does not follow such traffic (live 6.18: a
    /// TCP connect from 10.1.2.255 to 10.1.2.3 with no listener succeeded).
    pub(super) fn unicast_source(&self, r: SockRef) -> Result<(), (Rule, Outcome)> {
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

    /// The route to `dst`: this host (delivered over `lo`), out along a unicast route of the
    /// host's known routes, or none (`ENETUNREACH` on a loopback-only host, or where the host's
    /// routes are known and none covers it); undetermined where the routes are not known or the
    /// route is not unicast (unreachable, blackhole, prohibit: their errnos are not modelled).
    pub(super) fn route(&self, dst: SocketAddr) -> Result<Path, (Rule, Outcome)> {
        if self.host.is_local(dst.ip()) {
            return Ok(Path::Local);
        }
        if self.host.loopback_only() {
            return Err((Rule::NoRoute, Outcome::err(Errno::ENETUNREACH))); // only lo: no route
        }
        let broadcast = v4_of(dst.ip()).is_some_and(|a| a.is_broadcast() || self.host.broadcast.contains(&a));
        let why = match self.host.routes.lookup(dst.ip()) {
            RouteLookup::None => return Err((Rule::NoRoute, Outcome::err(Errno::ENETUNREACH))),
            // A broadcast address has a route of its own (RTN_BROADCAST, local table): sending
            // or connecting there depends on SO_BROADCAST (EACCES without), not modelled.
            RouteLookup::Via(_) if broadcast => format!(
                "{dst} is a broadcast address: SO_BROADCAST decides whether it may be sent to, which the model does not follow"
            ),
            RouteLookup::Via(r) if r.unicast => return Ok(Path::Out(r)),
            RouteLookup::Unknown => format!(
                "{dst} is not an address of this host: the model knows no routes (another interface may carry it away)"
            ),
            RouteLookup::Via(_) => format!(
                "{dst} is not an address of this host: a route that is not unicast (unreachable, blackhole, prohibit, throw…) takes it, whose answer the model does not follow"
            ),
        };
        Err((Rule::ModelUndetermined, Outcome::WouldBlock { block: Block::undetermined(why) }))
    }

    /// [`Kernel::route`] for what `r` sends to `dst` (`connect`: a connect there): to this
    /// host, else [`Kernel::leaving`].
    pub(super) fn route_from(&self, r: SockRef, dst: SocketAddr, connect: bool) -> Result<(), (Rule, Outcome)> {
        match self.route(dst)? {
            Path::Local => Ok(()),
            Path::Out(route) => self.leaving(r, dst, route, connect),
        }
    }

    /// [`Kernel::destination`] before the route: the checks of the address itself.
    pub(super) fn destination_form(&self, r: SockRef, addr: &SockAddr, connect: bool) -> Result<SocketAddr, Refusal> {
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
}
