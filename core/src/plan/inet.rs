//! Planning AF_INET/AF_INET6 sockets (issue 6), phase by phase next to the AF_UNIX planner:
//!
//! * listeners rebound to their recorded address and port (with `SO_REUSEADDR`,
//!   `SO_REUSEPORT`, `IPV6_V6ONLY` as recorded) and listening with their backlog;
//! * every other bound socket bound explicitly to its recorded address and port (no ephemeral
//!   port is left to chance), clients included;
//! * connections whose two ends are in the image made with real `connect()`/`accept()` over
//!   loopback: accepted ones first (connect, then accept at once), then pending ones in accept
//!   order; through a temporary listener on the server end's address when the original listener
//!   is not in the image;
//! * queued data re-sent by the other end (TCP) or by the recorded sender to the receiver's
//!   address (UDP), then UDP connects, then shutdown bits;
//! * a connection whose peer is outside the image cannot be rebuilt: the socket is restored as a
//!   closed one (TCP) or unconnected (UDP), with a warning naming the peer and the data lost.

use super::{PlanError, Planner};
use crate::image::inet::{canonical, peers};
use crate::image::Sock;
use crate::order;
use crate::sim::inet::TCP_QUEUE_LIMIT;
use crate::sim::*;
use crate::warn::{WarnCode, Warning};
use crate::wire::{self, AF_INET6, INET_ACCEPTED, INET_REUSEPORT, INET_V6ONLY};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// The INET part of the planner's state.
#[derive(Debug, Default)]
pub(super) struct InetPlan {
    /// Connected TCP pairs to make: (client, server end, listener in the image if any).
    conns: Vec<(i32, i32, Option<i32>)>,
    /// Temporary listeners by address.
    temp_listeners: BTreeMap<SocketAddr, Slot>,
    /// Temporary UDP senders by family: IPv4's, IPv6's (an array, not a map: one B-tree
    /// instance fewer in the browser's bundle).
    temp_senders: [Option<Slot>; 2],
    /// Listeners whose backlog was raised: (slot, recorded backlog).
    raised: Vec<(Slot, i32)>,
    /// UDP receivers whose buffer was raised for the refill: (slot, recorded setsockopt value).
    rcvbuf_back: Vec<(Slot, i32)>,
    /// Sockets left unbound: their address is not one of this host's (bind's errno).
    unbound: BTreeMap<i32, Errno>,
    /// Loopback peers ([`peers`]) whose connection can be rebuilt on this host: both ends'
    /// addresses are the host's.
    matched: BTreeMap<i32, i32>,
    /// TCP sockets whose buffers were raised for a queue above `TCP_QUEUE_LIMIT` (kept so).
    big: std::collections::BTreeSet<i32>,
    /// Sockets bound to a broadcast or multicast address: bound as recorded, but no traffic
    /// to or from them is planned (the model follows none).
    mute: std::collections::BTreeSet<i32>,
}

/// A TCP socket connected to itself (its peer address is its own: a simultaneous open with
/// itself, which Linux allows when nothing listens there).
pub fn self_connected(s: &Sock<'_>) -> bool {
    s.is_tcp()
        && s.inet_connected()
        && matches!((s.inet_local(), s.inet_remote()), (Some(l), Some(r)) if l.port() != 0 && canonical(l) == canonical(r))
}

fn is_inet(s: &Sock<'_>) -> bool {
    matches!(s.common.family, wire::AF_INET | wire::AF_INET6) && s.inet.is_some()
}

fn family(s: &Sock<'_>) -> InetFamily {
    if s.common.family == AF_INET6 {
        InetFamily::Inet6
    } else {
        InetFamily::Inet
    }
}

/// `a` as a socket of family `fam` names it (IPv4 ↔ v4-mapped).
fn in_family(a: SocketAddr, fam: InetFamily) -> Option<SocketAddr> {
    let c = canonical(a);
    match (fam, c.ip()) {
        (InetFamily::Inet, IpAddr::V4(_)) => Some(c),
        (InetFamily::Inet, IpAddr::V6(_)) => None,
        (InetFamily::Inet6, IpAddr::V4(v4)) => Some(SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), c.port())),
        (InetFamily::Inet6, IpAddr::V6(_)) => Some(c),
    }
}

/// Where a sender of family `fam` reaches a receiver bound at `at` (a wildcard is reached on
/// loopback).
fn reach(at: SocketAddr, fam: InetFamily) -> Option<SocketAddr> {
    let c = canonical(at);
    let c = if c.ip().is_unspecified() {
        let lo: IpAddr = match (c.ip(), fam) {
            (IpAddr::V6(_), InetFamily::Inet6) => Ipv6Addr::LOCALHOST.into(),
            _ => Ipv4Addr::LOCALHOST.into(),
        };
        SocketAddr::new(lo, c.port())
    } else {
        c
    };
    in_family(c, fam)
}

impl<'i, 'a> Planner<'i, 'a> {
    fn inet_socks(&self) -> Vec<&'i Sock<'a>> {
        let img: &'i crate::image::Image<'a> = self.img;
        img.sockets.values().filter(|s| is_inet(s)).collect()
    }

    /// The INET work of planner phase `i` (run after the AF_UNIX work of the same phase).
    pub(super) fn inet_phase(&mut self, i: usize) -> Result<(), PlanError> {
        if !self.img.sockets.values().any(is_inet) {
            return Ok(());
        }
        let phase = self.phase;
        let r = match i {
            0 => self.inet_create(),
            2 => self.inet_binds(),
            3 => self.inet_listens(),
            4 => self.inet_connections().and_then(|()| self.inet_self_connects()),
            6 => self.inet_refill(),
            7 => self.inet_dgram_connects(),
            8 => self.inet_shutdowns(),
            9 => self.inet_cleanup(),
            _ => Ok(()),
        };
        self.phase = phase;
        r
    }

    /// Sockets whose recorded address this host does not have (bind would fail): errno each.
    fn unavailable(&self) -> BTreeMap<i32, Errno> {
        let mut out = BTreeMap::new();
        for s in self.inet_socks() {
            let Some(l) = s.inet_local().filter(|l| l.port() != 0) else { continue };
            if let Err(e) = self.k.host.bind_check(l, s.is_tcp()) {
                out.insert(s.objref, e);
            }
        }
        out
    }

    /// Sockets bind accepts but whose address is not one of the host's own (broadcast,
    /// multicast): no traffic to or from them is planned.
    fn mute(&self) -> std::collections::BTreeSet<i32> {
        order::set(
            self.inet_socks()
                .into_iter()
                .filter(|s| !self.inet.unbound.contains_key(&s.objref))
                .filter(|s| {
                    s.inet_local()
                        .filter(|l| l.port() != 0)
                        .is_some_and(|l| !l.ip().is_unspecified() && !self.k.host.is_local(l.ip()))
                })
                .map(|s| s.objref),
        )
    }

    /// Decide the connections and create the sockets that `socket()` makes.
    fn inet_create(&mut self) -> Result<(), PlanError> {
        self.inet.unbound = self.unavailable();
        self.inet.mute = self.mute();
        let all = peers(self.img);
        let (unbound, mute) = (&self.inet.unbound, &self.inet.mute);
        let off = |o: &i32| unbound.contains_key(o) || mute.contains(o);
        self.inet.matched = order::map(all.iter().filter(|(s, p)| !off(s) && !off(p)).map(|(&s, &p)| (s, p)));
        let matched = self.inet.matched.clone();
        self.warn_unavailable(&all);
        // Listener objrefs as slots: the map type of `temp_listeners` (one B-tree instance fewer
        // in the browser's bundle); `as` there and back keeps every i32.
        let mut listener_at: BTreeMap<SocketAddr, Slot> = BTreeMap::new();
        for s in self.inet_socks() {
            if s.is_tcp() && s.is_listener() {
                if let Some(l) = s.inet_local() {
                    listener_at.insert(canonical(l), s.objref as Slot);
                }
            }
        }
        let pending_of: BTreeMap<i32, i32> = order::map(
            self.img
                .sockets
                .values()
                .filter(|l| is_inet(l))
                .flat_map(|l| l.pending.iter().map(move |p| (p.embryo, l.objref))),
        );
        let listener_for = |a: &Sock<'_>| -> Option<i32> {
            if let Some(&l) = pending_of.get(&a.objref) {
                return Some(l);
            }
            let l = canonical(a.inet_local()?);
            let any: IpAddr = if l.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
            listener_at
                .get(&l)
                .or_else(|| listener_at.get(&SocketAddr::new(any, l.port())))
                .or_else(|| listener_at.get(&SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), l.port())))
                .map(|&l| l as i32)
        };
        let mut conns = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for s in self.inet_socks() {
            if !s.is_tcp() || !s.inet_connected() || seen.contains(&s.objref) {
                continue;
            }
            let Some(&p) = matched.get(&s.objref) else { continue };
            let Some(ps) = self.sock(p) else { continue };
            if p == s.objref || matched.get(&p) != Some(&s.objref) {
                continue;
            }
            seen.insert(s.objref);
            seen.insert(p);
            // The server end: an embryo, a socket flagged ACCEPTED, one on a listener's address;
            // else the lower objref (a temporary listener serves it).
            let server_first = |a: &Sock<'_>| {
                pending_of.contains_key(&a.objref) || a.inet_has(INET_ACCEPTED) || listener_for(a).is_some()
            };
            let (server, client) = if server_first(s) && !pending_of.contains_key(&p) {
                (s, ps)
            } else if server_first(ps) {
                (ps, s)
            } else {
                (s, ps)
            };
            conns.push((client.objref, server.objref, listener_for(server).filter(|&l| l != server.objref)));
        }
        // Accepted connections first, then pending ones in their listeners' accept order.
        let pos = |e: i32| -> usize {
            pending_of
                .get(&e)
                .and_then(|l| self.sock(*l))
                .and_then(|l| l.pending.iter().position(|p| p.embryo == e))
                .map_or(0, |i| i + 1)
        };
        order::sort_by_rank(&mut conns, |&(_, server, _)| {
            order::rank_pair(u64::from(pending_of.contains_key(&server)), pos(server) as u64)
        });
        self.inet.conns = conns;
        let servers: std::collections::BTreeSet<i32> = order::set(self.inet.conns.iter().map(|c| c.1));
        for (&e, &l) in &pending_of {
            if !servers.contains(&e) && !all.contains_key(&e) && !self.inet.unbound.contains_key(&l) {
                let from =
                    self.sock(e).and_then(|e| e.inet_remote()).map_or_else(|| "?".to_string(), |r| r.to_string());
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::PendingExternal,
                        format!(
                            "pending connection #{e} on listener #{l} came from {from}, outside the image: it cannot be rebuilt and is lost"
                        ),
                    )
                    .objref(l),
                );
            }
        }
        for s in self.inet_socks() {
            if servers.contains(&s.objref) || pending_of.contains_key(&s.objref) {
                continue; // made by accept() (or waiting in a queue; or lost with its connection)
            }
            let slot = s.objref as Slot;
            let ty = if s.is_tcp() { SockType::Stream } else { SockType::Dgram };
            let created_at = self.plan.steps.len();
            self.push(Op::SocketInet { slot, family: family(s), ty }, "create the socket")?;
            self.created.insert(s.objref);
            if s.common.reuse != 0 {
                self.push(Op::SetSockOpt { slot, opt: SockOpt::ReuseAddr(true) }, "SO_REUSEADDR was set")?;
            }
            if s.inet_has(INET_REUSEPORT) {
                self.push(Op::SetSockOpt { slot, opt: SockOpt::ReusePort(true) }, "SO_REUSEPORT was set")?;
            }
            if s.inet_has(INET_V6ONLY) {
                self.push(Op::SetSockOpt { slot, opt: SockOpt::V6Only(true) }, "IPV6_V6ONLY was set")?;
            }
            if s.is_udp() {
                self.inet_buffers(s)?;
            }
            if s.inet_connected() && !all.contains_key(&s.objref) && !self_connected(s) {
                let peer = s.inet_remote().map_or_else(|| "?".to_string(), |r| r.to_string());
                let lost = s.queued_bytes();
                let (code, message) = if s.is_tcp() {
                    (WarnCode::TcpExternalPeer, format!(
                        "socket #{} was a TCP connection to {peer}, outside the image: it cannot be rebuilt, so it is restored as a closed socket (never connected: reads answer ENOTCONN, writes EPIPE){}",
                        s.objref,
                        if lost > 0 { format!("; its {lost} unread bytes are dropped") } else { String::new() }
                    ))
                } else {
                    (WarnCode::UdpExternalPeer, format!(
                        "socket #{} was a UDP socket connected to {peer}, outside the image: it is restored {} and not connected (the model knows this host's addresses, not its routes, so a connect() there is not planned)",
                        s.objref,
                        if self.inet.unbound.contains_key(&s.objref) { "unbound (its own address is missing, above)" } else { "bound" },
                    ))
                };
                self.plan.warnings.push(Warning::new(code, message).objref(s.objref).step(created_at));
            }
        }
        Ok(())
    }

    /// One warning per socket whose address this host does not have, saying what is lost; and
    /// one per socket connected to such a socket.
    fn warn_unavailable(&mut self, all: &BTreeMap<i32, i32>) {
        let mute: Vec<Warning> = self
            .inet_socks()
            .into_iter()
            .filter(|s| self.inet.mute.contains(&s.objref))
            .map(|s| {
                let addr = s.inet_local().map_or_else(|| "?".to_string(), |l| l.to_string());
                let mut lost = Vec::new();
                if let Some(p) = all.get(&s.objref) {
                    lost.push(format!("its connection to #{p} is not rebuilt"));
                }
                if s.queued_bytes() > 0 {
                    lost.push(format!("its {} queued bytes are dropped", s.queued_bytes()));
                }
                Warning::new(
                    WarnCode::InetAddressMute,
                    format!(
                        "socket #{}: {addr} is a broadcast or multicast address: the socket is bound there, but the model follows no traffic to or from it{}",
                        s.objref,
                        lost.iter().map(|l| format!("; {l}")).collect::<String>()
                    ),
                )
                .objref(s.objref)
            })
            .collect();
        self.plan.warnings.extend(mute);
        if self.inet.unbound.is_empty() {
            return;
        }
        let host: Vec<String> = self.k.host.addrs.iter().map(|h| format!("{}/{}", h.ip, h.prefix)).collect();
        let host = if host.is_empty() { "none".to_string() } else { host.join(", ") };
        let embryo_of: BTreeMap<i32, i32> =
            order::map(self.inet_socks().iter().flat_map(|l| l.pending.iter().map(move |p| (p.embryo, l.objref))));
        let mut warnings = Vec::new();
        for s in self.inet_socks() {
            let o = s.objref;
            let addr = s.inet_local().map_or_else(|| "?".to_string(), |l| l.to_string());
            if let Some(e) = self.inet.unbound.get(&o) {
                if embryo_of.get(&o).is_some_and(|l| self.inet.unbound.contains_key(l)) {
                    continue; // said with its listener
                }
                let mut lost = Vec::new();
                if s.is_listener() {
                    lost.push("not listening".to_string());
                    if !s.pending.is_empty() {
                        lost.push(format!("its {} pending connections are lost", s.pending.len()));
                    }
                } else if s.inet_connected() && s.is_tcp() {
                    lost.push(match all.get(&o) {
                        Some(p) => format!("its connection to #{p} cannot be rebuilt: it is restored as a closed socket (never connected)"),
                        None => "restored as a closed socket (never connected)".to_string(),
                    });
                } else if s.inet_connected() {
                    lost.push("unconnected".to_string());
                }
                let q = s.queued_bytes();
                if q > 0 {
                    lost.push(format!("its {q} queued bytes are dropped"));
                }
                let what = if embryo_of.contains_key(&o) {
                    format!("pending connection #{o} on {addr} is lost (this host cannot make it)")
                } else {
                    format!("left unbound{}", lost.iter().map(|l| format!(", {l}")).collect::<String>())
                };
                warnings.push(
                    Warning::new(
                        WarnCode::InetAddressMissing,
                        format!(
                            "socket #{o}: {addr} is not an address of this host (bind() would fail with {e}; the host has {host}): {what}"
                        ),
                    )
                    .objref(o),
                );
            } else if let Some(p) = all.get(&o).filter(|p| self.inet.unbound.contains_key(p)) {
                let peer = s.inet_remote().map_or_else(|| "?".to_string(), |r| r.to_string());
                if embryo_of.contains_key(&o) {
                    warnings.push(
                        Warning::new(
                            WarnCode::InetPeerAddressMissing,
                            format!(
                                "pending connection #{o} on {addr} came from #{p} at {peer}, which is not an address of this host: it is lost"
                            ),
                        )
                        .objref(o),
                    );
                    continue;
                }
                let q = s.queued_bytes();
                warnings.push(
                    Warning::new(
                        WarnCode::InetPeerAddressMissing,
                        format!(
                            "socket #{o} was connected to #{p} at {peer}, which is not an address of this host: {}{}",
                            if s.is_tcp() {
                                "it is restored as a closed socket bound to its own address (never connected)"
                            } else {
                                "it is restored bound but unconnected"
                            },
                            if q > 0 && s.is_tcp() {
                                format!("; its {q} unread bytes are dropped")
                            } else {
                                String::new()
                            }
                        ),
                    )
                    .objref(o),
                );
            }
        }
        self.plan.warnings.extend(warnings);
    }

    fn inet_binds(&mut self) -> Result<(), PlanError> {
        let servers: std::collections::BTreeSet<i32> = order::set(self.inet.conns.iter().map(|c| c.1));
        let matched = self.inet.matched.clone();
        for s in self.inet_socks() {
            if servers.contains(&s.objref) || !self.created.contains(&s.objref) {
                continue;
            }
            let Some(l) = s.inet_local().filter(|l| l.port() != 0) else { continue };
            if self.inet.unbound.contains_key(&s.objref) {
                continue; // warned at creation
            }
            let external_tcp =
                s.is_tcp() && s.inet_connected() && !matched.contains_key(&s.objref) && !self_connected(s);
            let why = if s.is_listener() {
                "the listener's recorded address and port"
            } else if self_connected(s) {
                "its recorded address and port (it connects to itself next)"
            } else if external_tcp {
                "its recorded address and port (the connection itself is gone)"
            } else {
                "its recorded address and port, explicitly (no ephemeral port)"
            };
            self.push(Op::Bind { slot: s.objref as Slot, addr: SockAddr::Inet(l) }, why)?;
        }
        Ok(())
    }

    fn inet_listens(&mut self) -> Result<(), PlanError> {
        for s in self.inet_socks() {
            if !(s.is_tcp() && s.is_listener()) || self.inet.unbound.contains_key(&s.objref) {
                continue;
            }
            let backlog = i32::from(s.common.backlog);
            // The queue admits backlog + 1; the pending connections must all fit.
            let need = s.pending.len() as i32 - 1;
            let slot = s.objref as Slot;
            if need > backlog.max(0) {
                self.push(
                    Op::Listen { slot, backlog: need },
                    format!(
                        "#{} has {} pending connections: listen with a backlog that admits them",
                        s.objref,
                        s.pending.len()
                    ),
                )?;
                self.inet.raised.push((slot, backlog));
            } else {
                self.push(Op::Listen { slot, backlog }, "listen with the recorded backlog")?;
            }
        }
        Ok(())
    }

    fn inet_connections(&mut self) -> Result<(), PlanError> {
        let conns = self.inet.conns.clone();
        for (c, a, listener) in conns {
            let (Some(cs), Some(asock)) = (self.sock(c), self.sock(a)) else { continue };
            let Some(server_at) = asock.inet_local() else { continue };
            let pending = self.embryos.contains(&a);
            let via = match listener.filter(|&l| self.k.sock(l as Slot).is_some_and(|k| k.state == SkState::Listen)) {
                Some(l) => l as Slot,
                None => self.temp_listener(server_at, family(asock))?,
            };
            let Some(dst) = in_family(server_at, family(cs)) else {
                return Err(PlanError(format!(
                    "#{c} ({}) cannot reach #{a} at {server_at}: the families do not meet",
                    family(cs).name()
                )));
            };
            // More unread bytes in a direction than default buffers vouch for: the receiver's
            // buffer raised before its SYN (the window scale is fixed then; a child takes its
            // listener's), the sender's before the refill (sim::inet::big_queue_fits).
            let (to_a, to_c) = (asock.queued_bytes() as i64, cs.queued_bytes() as i64);
            if to_c as usize > TCP_QUEUE_LIMIT {
                self.raise_rcvbuf(c as Slot, c, to_c)?;
            }
            let listener_back = if to_a as usize > TCP_QUEUE_LIMIT {
                let before = self.k.sock(via).map_or(0, |k| k.rcvbuf);
                self.raise_rcvbuf(via, a, to_a)?;
                Some(before)
            } else {
                None
            };
            self.push(
                Op::Connect { slot: c as Slot, addr: SockAddr::Inet(dst) },
                format!("#{c} connects to #{a}'s address over loopback"),
            )?;
            if to_a as usize > TCP_QUEUE_LIMIT {
                self.raise_sndbuf(c as Slot, c, to_a)?;
            }
            if let Some(before) = listener_back.filter(|_| listener == Some(via as i32)) {
                // The listener's own buffer back (its lock stays: children it accepts later
                // inherit a locked buffer).
                self.push(
                    Op::SetSockOpt { slot: via, opt: SockOpt::RcvBufForce(((before + 1) / 2) as i32) },
                    format!("#{via}'s receive buffer back to {before} (the child kept the raised one)"),
                )?;
                let at = self.plan.steps.len() - 1;
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::ListenerRcvbufLocked,
                        format!(
                            "listener #{via}: its receive buffer was raised for #{a}'s queue and set back to {before}, but SO_RCVBUFFORCE leaves it locked: connections it accepts later get {before} bytes without autotuning"
                        ),
                    )
                    .objref(via as i32)
                    .step(at),
                );
            }
            if !pending {
                self.push(
                    Op::Accept { slot: via, new: a as Slot },
                    format!("#{a} is the accepted end (the connection just made is at the head of the queue)"),
                )?;
                self.created.insert(a);
                let inherited = self.k.inet_sock(via).is_some_and(|i| i.reuse);
                if inherited != (asock.common.reuse != 0) {
                    self.push(
                        Op::SetSockOpt { slot: a as Slot, opt: SockOpt::ReuseAddr(asock.common.reuse != 0) },
                        "SO_REUSEADDR as recorded (accept() copied the listener's)",
                    )?;
                }
                if to_c as usize > TCP_QUEUE_LIMIT {
                    self.raise_sndbuf(a as Slot, a, to_c)?;
                }
            }
        }
        Ok(())
    }

    /// Raise `slot`'s receive buffer (before a SYN) so `total` unread bytes for `receiver` fit
    /// at once; the receiver keeps it (warned).
    fn raise_rcvbuf(&mut self, slot: Slot, receiver: i32, total: i64) -> Result<(), PlanError> {
        let (rcv, _) = crate::sim::inet::big_queue_buffers(total);
        if self.k.sock(slot).is_some_and(|k| k.rcvbuf >= rcv) {
            return Ok(());
        }
        let arg = ((rcv + 1) / 2).min(i64::from(i32::MAX / 2)) as i32;
        self.push(
            Op::SetSockOpt { slot, opt: SockOpt::RcvBufForce(arg) },
            format!(
                "#{receiver} has {total} unread bytes: a receive buffer of {rcv} before the SYN takes them at once"
            ),
        )?;
        self.inet.big.insert(receiver);
        let at = self.plan.steps.len() - 1;
        self.plan.warnings.push(
            Warning::new(
                WarnCode::TcpRcvbufRaised,
                format!(
                    "socket #{receiver}: its {total} unread TCP bytes need a receive buffer of {rcv} bytes from its SYN on (SO_RCVBUFFORCE, which also stops autotuning): it keeps that buffer"
                ),
            )
            .objref(receiver)
            .step(at),
        );
        Ok(())
    }

    /// Raise `slot`'s send buffer so it can send `total` bytes at once (it keeps it).
    fn raise_sndbuf(&mut self, slot: Slot, sender: i32, total: i64) -> Result<(), PlanError> {
        let (_, snd) = crate::sim::inet::big_queue_buffers(total);
        if self.k.sock(slot).is_some_and(|k| k.sndbuf >= snd) {
            return Ok(());
        }
        let arg = ((snd + 1) / 2).min(i64::from(i32::MAX / 2)) as i32;
        self.push(
            Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(arg) },
            format!("#{sender} sends {total} bytes again: a send buffer of {snd} takes them at once"),
        )?;
        self.inet.big.insert(sender);
        let at = self.plan.steps.len() - 1;
        self.plan.warnings.push(
            Warning::new(
                WarnCode::TcpSndbufRaised,
                format!(
                    "socket #{sender}: re-sending {total} bytes at once needs a send buffer of {snd} bytes (SO_SNDBUFFORCE, which also stops autotuning): it keeps that buffer"
                ),
            )
            .objref(sender)
            .step(at),
        );
        Ok(())
    }

    /// Self-connected TCP sockets connect to their own address (a simultaneous open with
    /// itself: no listener may be there, or it would take the SYN).
    fn inet_self_connects(&mut self) -> Result<(), PlanError> {
        let selfs: Vec<&Sock<'_>> = self
            .inet_socks()
            .into_iter()
            .filter(|s| {
                self_connected(s) && !self.inet.unbound.contains_key(&s.objref) && !self.inet.mute.contains(&s.objref)
            })
            .collect();
        for s in selfs {
            let slot = s.objref as Slot;
            let Some(at) = s.inet_local() else { continue };
            self.push(
                Op::Connect { slot, addr: SockAddr::Inet(at) },
                format!("#{} was connected to itself: a SYN to its own address meets itself", s.objref),
            )?;
            let me = self.k.sock_ref(slot);
            if self.k.sock(slot).and_then(|k| k.peer) != me {
                return Err(PlanError(format!(
                    "#{} was connected to itself at {at}, but a listener there takes its SYN",
                    s.objref
                )));
            }
        }
        Ok(())
    }

    /// A temporary listener on `at` (reused for every connection to that address).
    fn temp_listener(&mut self, at: SocketAddr, fam: InetFamily) -> Result<Slot, PlanError> {
        if let Some(&t) = self.inet.temp_listeners.get(&at) {
            return Ok(t);
        }
        let t = self.temp("listener");
        let why = format!("the listener of {at} is not in the image: a temporary one stands in");
        self.push(Op::SocketInet { slot: t, family: fam, ty: SockType::Stream }, why.clone())?;
        self.push(Op::SetSockOpt { slot: t, opt: SockOpt::ReuseAddr(true) }, "share the port with the connections")?;
        self.push(Op::Bind { slot: t, addr: SockAddr::Inet(at) }, why.clone())?;
        self.push(Op::Listen { slot: t, backlog: 4096 }, why)?;
        self.inet.temp_listeners.insert(at, t);
        Ok(t)
    }

    fn inet_refill(&mut self) -> Result<(), PlanError> {
        let matched = self.inet.matched.clone();
        let embryo_client: BTreeMap<i32, i32> =
            order::map(self.img.sockets.values().flat_map(|l| l.pending.iter().map(|p| (p.embryo, p.client))));
        for s in self.inet_socks() {
            if s.queue.is_empty() {
                continue;
            }
            if s.is_tcp() && self_connected(s) {
                let slot = s.objref as Slot;
                if self.k.sock(slot).and_then(|k| k.peer) != self.k.sock_ref(slot) {
                    continue; // not rebuilt: warned
                }
                let data: Vec<u8> = s.queue.iter().flat_map(|m| m.data.iter().copied()).collect();
                if data.len() > crate::sim::inet::SELF_CONNECTED_SEND {
                    self.plan.warnings.push(
                        Warning::new(
                            WarnCode::SelfConnectedDataDropped,
                            format!(
                                "socket #{}: {} unread bytes on a self-connected socket are more than one send delivers at once ({} bytes, checked on the kernel): they are dropped",
                                s.objref,
                                data.len(),
                                crate::sim::inet::SELF_CONNECTED_SEND
                            ),
                        )
                        .objref(s.objref),
                    );
                    continue;
                }
                // One send: a second one while its own data is unread waits on a delayed ACK.
                self.push(
                    Op::Send { slot, to: None, data: Payload(data), rights: vec![] },
                    format!("#{} sends itself again what it had not read, in one send", s.objref),
                )?;
                continue;
            }
            if s.is_tcp() {
                let sender = embryo_client.get(&s.objref).copied().or_else(|| matched.get(&s.objref).copied());
                // Only over a connection the plan made (an embryo's, or a matched pair's).
                let made = self.inet.conns.iter().any(|&(c, a, _)| c == s.objref || a == s.objref);
                let Some(sender) = sender.filter(|&p| self.k.sock(p as Slot).is_some() && p != s.objref && made) else {
                    continue; // an external peer, or an address this host lacks: warned at creation
                };
                for m in &s.queue {
                    self.push(
                        Op::Send { slot: sender as Slot, to: None, data: Payload(m.data.to_vec()), rights: vec![] },
                        format!("#{sender} sends again what #{} had not read", s.objref),
                    )?;
                }
                continue;
            }
            let Some(at) = s.inet_local() else { continue };
            if self.inet.unbound.contains_key(&s.objref)
                || self.inet.mute.contains(&s.objref)
                || self.k.sock(s.objref as Slot).is_none()
            {
                continue; // nothing can reach it: warned at creation
            }
            // UDP drops what does not fit the receive buffer, silently: raise it so the whole
            // queue fits by the largest charge the model allows, and set it back in cleanup.
            let need: i64 = s.queue.iter().map(|m| crate::sim::inet::udp_truesize(m.data.len()).1).sum();
            let slot = s.objref as Slot;
            if self.k.sock(slot).is_some_and(|k| k.rcvbuf < need) {
                let arg = ((need + 1) / 2).min(i64::from(i32::MAX)) as i32;
                self.push(
                    Op::SetSockOpt { slot, opt: SockOpt::RcvBufForce(arg) },
                    format!(
                        "#{}'s {} datagrams may take up to {need} bytes of receive buffer: raise it for the refill",
                        s.objref,
                        s.queue.len()
                    ),
                )?;
                self.inet.rcvbuf_back.push((slot, s.common.rcvbuf));
            }
            let mut stand_in = 0usize;
            for m in &s.queue {
                let from = if m.sender != 0
                    && self.k.sock(m.sender as Slot).is_some()
                    && !self.inet.unbound.contains_key(&m.sender)
                    && !self.inet.mute.contains(&m.sender)
                {
                    m.sender as Slot
                } else {
                    if stand_in == 0 {
                        self.plan.warnings.push(
                            Warning::new(
                                WarnCode::SenderStandIn,
                                format!(
                                    "socket #{}: datagrams whose sender is outside the image or not restored on this host are re-sent from a temporary socket, so their source address differs",
                                    s.objref
                                ),
                            )
                            .objref(s.objref)
                            .step(self.plan.steps.len()),
                        );
                    }
                    stand_in += 1;
                    self.temp_sender(family(s))?
                };
                let fam = self.k.inet_sock(from).map_or(family(s), |i| i.family);
                let Some(to) = reach(at, fam) else { continue };
                self.push(
                    Op::Send {
                        slot: from,
                        to: Some(SockAddr::Inet(to)),
                        data: Payload(m.data.to_vec()),
                        rights: vec![],
                    },
                    format!("a datagram #{} had not read, from its sender to its address", s.objref),
                )?;
            }
        }
        Ok(())
    }

    fn temp_sender(&mut self, fam: InetFamily) -> Result<Slot, PlanError> {
        let v6 = fam == InetFamily::Inet6;
        if let Some(t) = self.inet.temp_senders[usize::from(v6)] {
            return Ok(t);
        }
        let t = self.temp("sender");
        self.push(
            Op::SocketInet { slot: t, family: fam, ty: SockType::Dgram },
            "a stand-in for datagram senders outside the image",
        )?;
        self.inet.temp_senders[usize::from(v6)] = Some(t);
        Ok(t)
    }

    fn inet_dgram_connects(&mut self) -> Result<(), PlanError> {
        let matched = self.inet.matched.clone();
        for s in self.inet_socks() {
            if !(s.is_udp() && s.inet_connected() && matched.contains_key(&s.objref)) {
                continue;
            }
            let Some(r) = s.inet_remote() else { continue };
            self.push(
                Op::Connect { slot: s.objref as Slot, addr: SockAddr::Inet(r) },
                "the UDP socket was connected to this address",
            )?;
        }
        Ok(())
    }

    fn inet_shutdowns(&mut self) -> Result<(), PlanError> {
        for s in self.inet_socks() {
            let slot = s.objref as Slot;
            let Some(cur) = self.k.sock(slot).map(|k| k.shutdown) else { continue };
            let missing = s.common.shutdown & !cur & 3;
            let Some(how) = How::from_bits(missing) else { continue };
            if !s.inet_connected() || self.k.sock(slot).is_some_and(|k| k.state == SkState::Close) {
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::ShutdownNotRestored,
                        format!(
                            "socket #{}: shutdown bits {missing} are not restored (shutdown() on a socket that is not connected answers ENOTCONN)",
                            s.objref
                        ),
                    )
                    .objref(s.objref),
                );
                continue;
            }
            self.push(Op::Shutdown { slot, how }, "the recorded shutdown bits (after the refill)")?;
        }
        Ok(())
    }

    /// `SO_SNDBUFFORCE`/`SO_RCVBUFFORCE` with the recorded values (the kernel doubles them and
    /// applies its minimums, as it did when they were set). UDP: where they differ from a new
    /// socket's (`wmem_default`/`rmem_default`; UDP never changes them itself), at creation,
    /// before the refill. TCP: only a buffer `SO_SNDBUF`/`SO_RCVBUF` had locked (`sk_userlocks`);
    /// an unlocked one is autotuned and is left to autotune again. Set after the refill (a small
    /// locked receive buffer would hold up a big refill; shrinking keeps what is queued).
    fn inet_buffers(&mut self, s: &Sock<'_>) -> Result<(), PlanError> {
        let slot = s.objref as Slot;
        let Some(k) = self.k.sock(slot) else { return Ok(()) };
        let (cur_snd, cur_rcv) = (k.sndbuf, k.rcvbuf);
        let (snd, rcv) = (s.common.sndbuf, s.common.rcvbuf);
        let locks = s.common.userlocks;
        let (want_snd, want_rcv) =
            if s.is_tcp() { (locks & 1 != 0 && snd > 0, locks & 2 != 0 && rcv > 0) } else { (snd > 0, rcv > 0) };
        let dbl = |x: i32| (2 * i64::from(x)).max(0);
        if want_snd && dbl(snd).max(crate::sim::kernel::SOCK_MIN_SNDBUF) != cur_snd {
            self.push(
                Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(snd) },
                format!("#{} had sndbuf {}", s.objref, dbl(snd)),
            )?;
        }
        if want_rcv && dbl(rcv).max(crate::sim::kernel::SOCK_MIN_RCVBUF) != cur_rcv {
            self.push(
                Op::SetSockOpt { slot, opt: SockOpt::RcvBufForce(rcv) },
                format!("#{} had rcvbuf {}", s.objref, dbl(rcv)),
            )?;
        }
        Ok(())
    }

    fn inet_cleanup(&mut self) -> Result<(), PlanError> {
        for (slot, backlog) in std::mem::take(&mut self.inet.raised) {
            self.push(
                Op::Listen { slot, backlog },
                "the backlog back to its recorded value (re-listen keeps the queue)",
            )?;
        }
        for (slot, v) in std::mem::take(&mut self.inet.rcvbuf_back) {
            self.push(
                Op::SetSockOpt { slot, opt: SockOpt::RcvBufForce(v) },
                "the receive buffer back to its recorded size (the queued datagrams stay)",
            )?;
        }
        // (Not for buffers raised for a big queue: shrinking them now could hold back bytes
        // still on their way.)
        let tcp: Vec<&Sock<'_>> =
            self.inet_socks().into_iter().filter(|s| s.is_tcp() && !self.inet.big.contains(&s.objref)).collect();
        for s in tcp {
            self.inet_buffers(s)?;
        }
        let temps: Vec<Slot> = self
            .inet
            .temp_listeners
            .values()
            .copied()
            .chain(self.inet.temp_senders.iter().flatten().copied())
            .collect();
        for t in temps {
            self.push(Op::Close { slot: t }, "the temporary is not needed any more")?;
        }
        self.inet.temp_listeners.clear();
        self.inet.temp_senders = [None; 2];
        Ok(())
    }
}
