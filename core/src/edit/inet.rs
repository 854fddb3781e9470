//! INET edits: bind, listen and connect of AF_INET/AF_INET6 sockets on the loopback host, the
//! ports the kernel would pick, and what a close of one would leave that the scenario form
//! cannot hold.

use super::{fresh, refuse, EditError};
use crate::image::inet;
use crate::scenario::{Scenario, SockSpec};
use crate::sim::inet::EPHEMERAL_PORTS;
use crate::sim::{self, HostAddrs, InetFamily, InetSock, SockType};
use crate::sock::Family;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub(super) fn is_inet(s: &SockSpec) -> bool {
    s.family != Family::Unix
}

pub(super) fn is_tcp(s: &SockSpec) -> bool {
    is_inet(s) && s.ty == SockType::Stream
}

/// An address as a socket of `s`'s family holds it (an IPv4 one is v4-mapped on inet6).
pub(super) fn inet_form(s: &SockSpec, a: SocketAddr) -> SocketAddr {
    match (s.family, a.ip()) {
        (Family::Inet6, IpAddr::V4(v4)) => SocketAddr::new(v4.to_ipv6_mapped().into(), a.port()),
        _ => a,
    }
}

/// The INET socket's own address, as its `addr` says.
pub(super) fn inet_local(s: &SockSpec) -> Option<SocketAddr> {
    let a: SocketAddr = s.addr.as_deref()?.parse().ok()?;
    Some(inet_form(s, a))
}

/// The IPv4 address of an IPv4 or v4-mapped address.
pub(super) fn v4_of(ip: IpAddr) -> Option<Ipv4Addr> {
    match ip {
        IpAddr::V4(v4) => Some(v4),
        IpAddr::V6(v6) => v6.to_ipv4_mapped(),
    }
}

pub(super) fn is_wildcard(a: SocketAddr) -> bool {
    a.ip().is_unspecified() || v4_of(a.ip()).is_some_and(|v| v.is_unspecified())
}

/// An IPv6 address that is neither the wildcard nor v4-mapped (binding one makes a socket
/// IPV6_V6ONLY, `__inet6_bind`).
pub(super) fn plain_v6(a: SocketAddr) -> bool {
    matches!(a.ip(), IpAddr::V6(v6) if !v6.is_unspecified() && v6.to_ipv4_mapped().is_none())
}

/// The simulator's view of socket `s` at local address `at`.
pub(super) fn inet_sock(s: &SockSpec, at: SocketAddr) -> InetSock {
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
pub(super) fn port_taken_by(sc: &Scenario, i: usize, at: SocketAddr) -> Option<String> {
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
pub(super) fn ephemeral(sc: &Scenario, i: usize) -> Result<u16, EditError> {
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

pub(super) fn set_local(sc: &mut Scenario, i: usize, ip: IpAddr, port: u16) {
    sc.sockets[i].addr = Some(inet::display(SocketAddr::new(ip, port)));
}

/// The wildcard address of socket `s`'s family.
pub(super) fn any_of(s: &SockSpec) -> IpAddr {
    if s.family == Family::Inet6 {
        Ipv6Addr::UNSPECIFIED.into()
    } else {
        Ipv4Addr::UNSPECIFIED.into()
    }
}

/// `bind()` of an INET socket: the checks of `__inet_bind`/`__inet6_bind` in their order, the
/// address by [`HostAddrs::bind_check`] on the loopback host, the port by the bind rule.
pub(super) fn bind_inet(sc: &mut Scenario, i: usize, text: &str) -> Result<(), EditError> {
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
pub(super) fn listen_inet(sc: &mut Scenario, i: usize) -> Result<(), EditError> {
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
pub(super) fn inet_client_addr(sc: &mut Scenario, c: usize, s: usize, bound: SocketAddr) -> Result<(), EditError> {
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
pub(super) fn remove_inet_check(sc: &Scenario, x: usize) -> Result<(), EditError> {
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
