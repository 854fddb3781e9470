//! INET phases Bind, Listen and Connect: names, listeners, connections (through temporary
//! listeners where the original is gone), self-connected sockets.

use super::*;

impl<'i, 'a> Planner<'i, 'a> {
    pub(super) fn inet_binds(&mut self) -> Result<(), PlanError> {
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

    pub(super) fn inet_listens(&mut self) -> Result<(), PlanError> {
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

    pub(super) fn inet_connections(&mut self) -> Result<(), PlanError> {
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

    /// Self-connected TCP sockets connect to their own address (a simultaneous open with
    /// itself: no listener may be there, or it would take the SYN).
    pub(super) fn inet_self_connects(&mut self) -> Result<(), PlanError> {
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
}
