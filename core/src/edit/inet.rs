//! INET edits in the scenario's INET form (`addr` `a.b.c.d:port` / `[v6]:port`): the
//! addresses the lowered calls pass (a wildcard server is reached at the loopback address of its
//! kind), the addresses the kernel gave back, and what the scenario form cannot hold about a
//! connection or a close.

use super::error::{BadInput, EditError, FormLimit};
use super::lower::OnKernel;
use crate::image::inet;
use crate::scenario::{Scenario, SockSpec};
use crate::sim::{Op, Slot, SockAddr, SockType};
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

/// The address a call reaches socket bound at `bound` by: a wildcard one at the loopback address
/// of its kind (127.0.0.1, ::1).
pub(super) fn reach(bound: SocketAddr) -> SocketAddr {
    if !is_wildcard(bound) {
        return bound;
    }
    let ip: IpAddr = if bound.is_ipv4() { Ipv4Addr::LOCALHOST.into() } else { Ipv6Addr::LOCALHOST.into() };
    SocketAddr::new(ip, bound.port())
}

/// The wildcard address of `family` at `port` (a placeholder for an INET address the editor
/// passes to an AF_UNIX call, which the kernel refuses).
pub(super) fn any_addr(family: Family, port: u16) -> SocketAddr {
    let ip: IpAddr = if family == Family::Inet6 { Ipv6Addr::UNSPECIFIED.into() } else { Ipv4Addr::UNSPECIFIED.into() };
    SocketAddr::new(ip, port)
}

/// Socket `i`'s `addr` as the kernel bound it (after a bind, a listen, a connect or a send that
/// picked a port).
pub(super) fn set_local_from(sc: &mut Scenario, i: usize, k: &OnKernel, slot: Slot) {
    if let Some(a) = k.local(slot) {
        sc.sockets[i].addr = Some(inet::display(a));
    }
}

/// `bind()` of an INET socket, made on the kernel of the loopback host (the host the web app
/// plans for): `__inet_bind`/`__inet6_bind` decide; an IPv4 address given to an inet6 socket
/// is its v4-mapped form; the port is the one the kernel kept or picked.
pub(super) fn bind_inet(sc: &mut Scenario, i: usize, text: &str) -> Result<(), EditError> {
    let s = &sc.sockets[i];
    let Ok(a) = text.trim().parse::<SocketAddr>() else {
        return Err(BadInput::NotAnAddress { text: text.to_string(), family: s.family }.into());
    };
    let at = inet_form(s, a);
    let mut k = OnKernel::of(sc)?;
    let slot = k.slot(sc, i)?;
    k.call(Op::Bind { slot, addr: SockAddr::Inet(at) })?;
    set_local_from(sc, i, &k, slot);
    Ok(())
}

/// The address `connect()` of socket `c` passes to reach socket `s` bound at `bound`. Refused
/// where the scenario form cannot say the connection: a v4-mapped wildcard listener, two
/// listeners on the port, a UDP peer on the wildcard address.
pub(super) fn inet_target(sc: &Scenario, c: usize, s: usize, bound: SocketAddr) -> Result<SocketAddr, EditError> {
    if is_wildcard(bound) && !bound.ip().is_unspecified() {
        return Err(FormLimit::MappedWildcardServer.into());
    }
    if sc.sockets[c].ty == SockType::Stream {
        let rival = sc.sockets.iter().enumerate().find(|&(j, o)| {
            j != s && is_tcp(o) && o.listen.is_some() && inet_local(o).is_some_and(|a| a.port() == bound.port())
        });
        if let Some((_, o)) = rival {
            return Err(FormLimit::RivalListener(o.name.clone()).into());
        }
    } else if is_wildcard(bound) {
        return Err(FormLimit::WildcardUdpPeer.into());
    }
    Ok(reach(bound))
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
        return Err(FormLimit::InetCloseRemains.into());
    }
    Ok(())
}
