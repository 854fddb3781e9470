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
//!
//! This file holds the INET planning state, the phase table and what several phases use
//! (temporaries, buffer raises); the phases are `inet/create.rs` (Create, and what cannot be
//! restored), `inet/connect.rs` (Bind, Listen, Connect, self-connects) and `inet/refill.rs`
//! (Refill, DgramConnect, Shutdown, Cleanup). They use this file and `plan.rs` only.

use super::{PlanError, Planner};
use crate::image::inet::{canonical, peers};
use crate::image::{Image, Sock};
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

pub use crate::image::inet::self_connected;

/// Where an INET socket's recorded address leaves it on a host: the one rule the planner,
/// the checker (check/inet.rs) and `restore run --verify` expect the restore by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnHost {
    /// Bound as recorded (or not bound at all): its traffic is planned.
    Usable,
    /// The host does not have the address (bind() would fail with this errno): left unbound.
    Missing(Errno),
    /// A broadcast or multicast address bind() takes: bound, but the model follows no traffic
    /// to or from it, so none is planned.
    Mute,
}

/// The INET connections a plan rebuilds on `host`: each peer of [`peers`] (a socket
/// connected to itself included) whose two ends are [`OnHost::Usable`] there.
pub fn rebuilt_peers(img: &Image<'_>, host: &HostAddrs) -> BTreeMap<i32, i32> {
    let usable = |o: &i32| img.sockets.get(o).is_some_and(|s| on_host(s, host) == OnHost::Usable);
    order::map(peers(img).into_iter().filter(|(s, p)| usable(s) && usable(p)))
}

/// How socket `s`'s recorded address fits `host` ([`OnHost`]).
pub fn on_host(s: &Sock<'_>, host: &HostAddrs) -> OnHost {
    let Some(l) = s.inet_local().filter(|l| l.port() != 0) else { return OnHost::Usable };
    match host.bind_check(l, s.is_tcp()) {
        Err(e) => OnHost::Missing(e),
        Ok(()) if !l.ip().is_unspecified() && !host.is_local(l.ip()) => OnHost::Mute,
        Ok(()) => OnHost::Usable,
    }
}

/// A connected UDP socket `s` whose peer is outside the image ([`peers`] has none for it):
/// what its connect there again answers on `host`, asked of the simulated kernel (a socket of
/// its family bound to its address, then the connect); `None` when there is nothing to ask
/// (not such a socket, its peer's or its own address not recorded, or its own not usable
/// here). The one rule the planner reconnects it by and the checker expects it by.
pub fn outside_connect(s: &Sock<'_>, host: &HostAddrs) -> Option<Outcome> {
    if !(s.is_udp() && s.inet_connected()) || on_host(s, host) != OnHost::Usable {
        return None;
    }
    let (local, remote) = (s.inet_local()?, s.inet_remote()?);
    let mut k = crate::sim::Kernel::with_host(host.clone());
    let slot: Slot = 1;
    let steps = [
        Op::SocketInet { slot, family: family(s), ty: SockType::Dgram },
        Op::Bind { slot, addr: SockAddr::Inet(local) },
    ];
    if !steps.iter().all(|op| k.apply(op).is_ok()) {
        return None;
    }
    Some(k.apply(&Op::Connect { slot, addr: SockAddr::Inet(remote) }))
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

mod connect;
mod create;
mod refill;

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
            if let OnHost::Missing(e) = on_host(s, &self.k.host) {
                out.insert(s.objref, e);
            }
        }
        out
    }

    /// Sockets bind accepts but whose address is not one of the host's own (broadcast,
    /// multicast): no traffic to or from them is planned.
    fn mute(&self) -> std::collections::BTreeSet<i32> {
        order::set(self.inet_socks().into_iter().filter(|s| on_host(s, &self.k.host) == OnHost::Mute).map(|s| s.objref))
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
        if want_snd && crate::sim::kernel::forced_sndbuf(snd) != cur_snd {
            self.push(
                Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(snd) },
                format!("#{} had sndbuf {}", s.objref, dbl(snd)),
            )?;
        }
        if want_rcv && crate::sim::kernel::forced_rcvbuf(rcv) != cur_rcv {
            self.push(
                Op::SetSockOpt { slot, opt: SockOpt::RcvBufForce(rcv) },
                format!("#{} had rcvbuf {}", s.objref, dbl(rcv)),
            )?;
        }
        Ok(())
    }
}
