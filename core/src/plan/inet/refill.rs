//! INET phases Refill, DgramConnect, Shutdown and Cleanup: queued data sent again, UDP
//! connects, shutdowns, temporaries closed.

use super::*;

impl<'i, 'a> Planner<'i, 'a> {
    pub(super) fn inet_refill(&mut self) -> Result<(), PlanError> {
        let matched = self.inet.matched.clone();
        let embryo_client: BTreeMap<i32, i32> =
            order::map(self.img.sockets.values().flat_map(|l| l.pending.iter().map(|p| (p.embryo, p.client))));
        for s in self.inet_socks() {
            if s.queue.is_empty() {
                continue;
            }
            if s.is_tcp() && self_connected(s) {
                self.refill_self_connected(s)?;
            } else if s.is_tcp() {
                self.refill_tcp(s, &embryo_client, &matched)?;
            } else {
                self.refill_udp(s)?;
            }
        }
        Ok(())
    }

    /// A self-connected TCP socket sends itself its unread bytes again, in one send (more than
    /// one send delivers at once are dropped, with a warning).
    fn refill_self_connected(&mut self, s: &Sock<'_>) -> Result<(), PlanError> {
        let slot = s.objref as Slot;
        if self.k.sock(slot).and_then(|k| k.peer) != self.k.sock_ref(slot) {
            return Ok(()); // not rebuilt: warned
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
            return Ok(());
        }
        if s.oob.is_some() {
            self.plan.warnings.push(
                Warning::new(
                    WarnCode::UrgentMarkLost,
                    format!(
                        "socket #{}: its urgent byte (MSG_OOB) is re-sent with its other unread bytes in one send (a self-connected socket's second send waits on a delayed ACK): it comes back as ordinary data",
                        s.objref
                    ),
                )
                .objref(s.objref),
            );
        }
        // One send: a second one while its own data is unread waits on a delayed ACK.
        self.push(
            Op::Send { slot, to: None, data: Payload(data), rights: vec![] },
            format!("#{} sends itself again what it had not read, in one send", s.objref),
        )?;
        Ok(())
    }

    /// A TCP socket's unread bytes, sent again by its peer (the embryo's client, or the
    /// matched end), over a connection the plan made.
    fn refill_tcp(
        &mut self,
        s: &Sock<'_>,
        embryo_client: &BTreeMap<i32, i32>,
        matched: &BTreeMap<i32, i32>,
    ) -> Result<(), PlanError> {
        let sender = embryo_client.get(&s.objref).copied().or_else(|| matched.get(&s.objref).copied());
        // Only over a connection the plan made (an embryo's, or a matched pair's).
        let made = self.inet.conns.iter().any(|&(c, a, _)| c == s.objref || a == s.objref);
        let Some(sender) = sender.filter(|&p| self.k.sock(p as Slot).is_some() && p != s.objref && made) else {
            return Ok(()); // an external peer, or an address this host lacks: warned at creation
        };
        // The urgent byte (RS_OOB) with MSG_OOB, where it was: the receiver's mark is there.
        for (i, m) in s.queue.iter().enumerate() {
            let op = crate::plan::refill::queue_send(s, i, sender as Slot, Payload(m.data.to_vec()), vec![]);
            let why = if matches!(op, Op::SendOob { .. }) {
                format!("#{sender} sends #{}'s urgent byte (MSG_OOB) again where it was", s.objref)
            } else {
                format!("#{sender} sends again what #{} had not read", s.objref)
            };
            self.push(op, why)?;
        }
        Ok(())
    }

    /// A UDP socket's datagrams, sent again to its address from their senders (or a temporary
    /// stand-in, with a warning), its receive buffer raised first so the whole queue fits.
    fn refill_udp(&mut self, s: &Sock<'_>) -> Result<(), PlanError> {
        let Some(at) = s.inet_local() else { return Ok(()) };
        if self.inet.unbound.contains_key(&s.objref)
            || self.inet.mute.contains(&s.objref)
            || self.k.sock(s.objref as Slot).is_none()
        {
            return Ok(()); // nothing can reach it: warned at creation
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
                Op::Send { slot: from, to: Some(SockAddr::Inet(to)), data: Payload(m.data.to_vec()), rights: vec![] },
                format!("a datagram #{} had not read, from its sender to its address", s.objref),
            )?;
        }
        Ok(())
    }

    /// Each connected UDP socket connects again, after its refill (once connected it takes
    /// datagrams from its peer only): to its peer in the image, or to its peer outside it where
    /// the model says the connect works there ([`crate::plan::outside_connect`]: a route of this
    /// host covers the address; the connect sends nothing), else it stays unconnected, warned
    /// with the model's answer.
    pub(super) fn inet_dgram_connects(&mut self) -> Result<(), PlanError> {
        let matched = self.inet.matched.clone();
        for s in self.inet_socks() {
            if !(s.is_udp() && s.inet_connected()) {
                continue;
            }
            let Some(r) = s.inet_remote() else {
                self.warn_udp_outside(s, None);
                continue;
            };
            let connect = Op::Connect { slot: s.objref as Slot, addr: SockAddr::Inet(r) };
            if matched.contains_key(&s.objref) {
                self.push(connect, "the UDP socket was connected to this address")?;
                continue;
            }
            match crate::plan::outside_connect(s, &self.k.host) {
                Some(out) if out.is_ok() => self.push(
                    connect,
                    "the UDP socket was connected to this address outside the image, which a route of this host takes (connect() sends nothing)",
                )?,
                out => self.warn_udp_outside(s, out),
            }
        }
        Ok(())
    }

    /// `udp-external-peer`: `s` stays unconnected; `refused` is the model's answer to the
    /// connect when one was asked ([`crate::plan::outside_connect`]).
    fn warn_udp_outside(&mut self, s: &Sock<'_>, refused: Option<Outcome>) {
        let peer = s.inet_remote().map_or_else(|| "?".to_string(), |r| r.to_string());
        let why = match &refused {
            Some(Outcome::WouldBlock { block: crate::sim::Block::Undetermined { why, .. } }) => {
                format!("the model cannot tell what a connect() there gives ({why})")
            }
            Some(out) => format!("a connect() there gives {} on this host", out.short()),
            None if self.inet.unbound.contains_key(&s.objref) => {
                "it is not bound (its own address is missing, above)".to_string()
            }
            None if self.inet.mute.contains(&s.objref) => {
                "it is bound to a broadcast or multicast address, whose traffic the model does not follow".to_string()
            }
            None => "its peer's address is not recorded".to_string(),
        };
        let message = format!(
            "socket #{} was a UDP socket connected to {peer}, outside the image: it is restored unconnected, because {why}",
            s.objref
        );
        self.plan.warnings.push(Warning::new(WarnCode::UdpExternalPeer, message).objref(s.objref));
    }

    pub(super) fn inet_shutdowns(&mut self) -> Result<(), PlanError> {
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

    pub(super) fn inet_cleanup(&mut self) -> Result<(), PlanError> {
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
