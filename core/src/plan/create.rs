//! Phase Create: every AF_UNIX socket made by `socket()` or `socketpair()` (the rest come from
//! `connect()`/`accept()`), its dgram queue length and buffers; and the warnings for what the
//! plan leaves out.

use super::*;

impl<'i, 'a> Planner<'i, 'a> {
    pub(super) fn warn_unplanned(&mut self) {
        for s in self.img.sockets.values() {
            if !matches!(s.common.family, wire::AF_UNIX | wire::AF_INET | wire::AF_INET6) {
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::FamilyNotPlanned,
                        format!(
                            "socket #{} is {}: only AF_UNIX, AF_INET and AF_INET6 sockets are planned; it is left out",
                            s.objref,
                            crate::summary::family_name(s.common.family)
                        ),
                    )
                    .objref(s.objref),
                );
            }
            if ty_of(s) == SockType::Dgram {
                self.warn_outside_dgram(s);
            } else if s.unix.as_ref().is_some_and(|u| u.has(wire::UNIX_EXTERNAL_PEER)) {
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::UnixExternalPeer,
                        format!(
                            "socket #{} was connected to a peer outside the image: it is restored as if the connection broke (its data kept, then EOF; shutdown 3)",
                            s.objref
                        ),
                    )
                    .objref(s.objref),
                );
            }
        }
    }

    /// A dgram socket connected to a socket outside the image: reconnected to the outside name
    /// when this host has a receiver there ([`Planner::outside_receiver`]), else warned.
    fn warn_outside_dgram(&mut self, s: &Sock<'_>) {
        let Some(u) = s.unix.as_ref().filter(|u| u.has(wire::UNIX_EXTERNAL_PEER)) else { return };
        if self.outside_receiver(s).is_some() {
            return;
        }
        let why = match &u.raddr {
            UnixAddr::Unnamed => "its name was not recorded".to_string(),
            a => format!("this host has no dgram socket bound at {}", a.display()),
        };
        self.plan.warnings.push(
            Warning::new(
                WarnCode::UnixExternalPeer,
                format!(
                    "dgram socket #{} was connected to {} outside the image, and {why}: it is restored unconnected (send() needs an address)",
                    s.objref,
                    u.raddr.display()
                ),
            )
            .objref(s.objref),
        );
    }

    /// Accepted sockets (and their clients) are created by connect/accept, embryos by connect,
    /// pair ends by socketpair; everything else by socket().
    fn created_by_connect(&self, s: &Sock<'_>) -> bool {
        self.embryos.contains(&s.objref) || s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED)) || stand_in_peer(s)
    }

    pub(super) fn create(&mut self) -> Result<(), PlanError> {
        let default_qlen = self.k.sysctl.max_dgram_qlen;
        let socks: Vec<&Sock<'_>> = self.unix().collect();
        for s in socks {
            if self.created.contains(&s.objref) || self.created_by_connect(s) {
                continue;
            }
            // A dgram receiver's queue limit is copied from the sysctl at creation.
            let qlen = self.dgram_qlen_needed(s);
            if qlen != self.k.sysctl.max_dgram_qlen {
                self.push(
                    Op::SetSysctl { name: Sysctl::MaxDgramQlen, value: qlen },
                    format!("#{}'s datagram queue limit is fixed when it is created: set it to {qlen} first", s.objref),
                )?;
            }
            let ty = ty_of(s);
            if let Some(peer) = self.is_pair(s) {
                let (a, b) = (s.objref as Slot, peer as Slot);
                self.push(Op::Socketpair { a, b, ty }, "the two ends were a socketpair")?;
                self.created.insert(s.objref);
                self.created.insert(peer);
                self.buffers(s)?;
                if let Some(p) = self.sock(peer) {
                    self.buffers(p)?;
                }
            } else {
                self.push(Op::Socket { slot: s.objref as Slot, ty }, "create the socket")?;
                self.created.insert(s.objref);
                self.buffers(s)?;
            }
        }
        if self.k.sysctl.max_dgram_qlen != default_qlen {
            self.push(
                Op::SetSysctl { name: Sysctl::MaxDgramQlen, value: default_qlen },
                "set net.unix.max_dgram_qlen back to its default",
            )?;
        }
        Ok(())
    }

    /// The `max_dgram_qlen` a dgram socket must be created with: its recorded backlog, raised
    /// if more datagrams from other sockets wait in its queue than that admits.
    fn dgram_qlen_needed(&mut self, s: &Sock<'_>) -> i64 {
        if ty_of(s) != SockType::Dgram {
            return self.k.sysctl.max_dgram_qlen;
        }
        let recorded = i64::from(s.common.backlog.max(0));
        // During the refill the receiver is not connected yet, so only its own datagrams are
        // exempt from the limit; the one at queue position i finds i datagrams ahead of it and
        // needs i <= max_ack_backlog (unix_dgram_sendmsg: `qlen > max_ack_backlog` blocks).
        let needed =
            s.queue.iter().enumerate().filter(|(_, m)| m.sender != s.objref).map(|(i, _)| i as i64).max().unwrap_or(0);
        if needed > recorded {
            // The step is the socket's creation, which comes next (after the sysctl, if any).
            let created_at = self.plan.steps.len() + usize::from(needed != self.k.sysctl.max_dgram_qlen);
            self.plan.warnings.push(
                Warning::new(
                    WarnCode::DgramQlenRaised,
                    format!(
                        "#{} holds {} datagrams; re-sending them needs a queue limit of {needed}, its recorded limit is {recorded}: it is created with max_dgram_qlen {needed}",
                        s.objref,
                        s.queue.len()
                    ),
                )
                .objref(s.objref)
                .step(created_at),
            );
            needed
        } else {
            recorded
        }
    }
}
