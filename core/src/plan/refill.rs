//! Phases PeerGone, Refill and DgramConnect: stand-in peers that send and close, the queues
//! refilled in order (with their SCM_RIGHTS), and the dgram connects that must come after.

use super::*;

impl<'i, 'a> Planner<'i, 'a> {
    /// A stream socket whose peer closed: connect it to a stand-in, let the stand-in send what
    /// is queued, close the stand-in (the kernel then sets shutdown 3, as it did). A dgram
    /// socket whose connected peer closed the same way, as one end of a socketpair: only its
    /// peer could have queued datagrams on it then (`unix_may_send`), and once the stand-in
    /// closes its `unix_peer` points at a dead socket, as it did: its first send() is
    /// ECONNREFUSED and purges its queue, later ones ENOTCONN (§2.2).
    pub(super) fn peer_gone(&mut self) -> Result<(), PlanError> {
        let gone: Vec<&Sock<'_>> =
            self.unix().filter(|s| stand_in_peer(s) && !self.embryos.contains(&s.objref)).collect();
        for s in gone {
            self.stand_in_for_closed_peer(s)?;
        }
        Ok(())
    }

    /// [`Planner::peer_gone`] for one socket `s`: made with its stand-in peer (accepted from a
    /// listener when it was accepted, else a socketpair), which sends its queue and closes.
    fn stand_in_for_closed_peer(&mut self, s: &Sock<'_>) -> Result<(), PlanError> {
        let ty = ty_of(s);
        if let Some(m) = s.queue.iter().find(|m| m.sender != 0).filter(|_| ty == SockType::Dgram) {
            return Err(PlanError(format!(
                "dgram #{}'s connected peer has closed, but a datagram queued on it comes from #{}: once it was connected only its peer could send to it, so that datagram cannot be re-sent in its place",
                s.objref, m.sender
            )));
        }
        let accepted = s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED));
        let early = self.stand_ins.remove(&s.objref);
        let t = early.unwrap_or_else(|| self.temp("peer"));
        if early.is_some() {
            // Accepted in Connect, its stand-in connected.
        } else if accepted {
            // It must come out of accept() to carry its listener's name.
            let name = s.laddr().and_then(UnixAddr::sock_addr);
            let (lslot, temp_l) = self.listener_to_accept_from(s, ty, name.as_ref())?;
            let Some(n) = name else { return Ok(()) };
            self.accept_from_stand_in(s, t, lslot, &n)?;
            if let Some(tl) = temp_l {
                self.close_temp_listener(s, tl, &n)?;
            }
        } else {
            self.push(
                Op::Socketpair { a: t, b: s.objref as Slot, ty },
                format!("#{} gets a stand-in peer that will close", s.objref),
            )?;
            self.created.insert(s.objref);
            self.buffers(s)?;
            if let Some(a) = s.laddr().and_then(UnixAddr::sock_addr) {
                self.bind_named(s, a, "its own name")?;
            }
        }
        self.stand_in_sends_and_closes(s, t, ty)
    }

    /// The listener accepted `s` comes out of: its own, or a temporary one bound to `name`
    /// (the second: `Some`, to close once `s` is accepted).
    fn listener_to_accept_from(
        &mut self,
        s: &Sock<'_>,
        ty: SockType,
        name: Option<&SockAddr>,
    ) -> Result<(Slot, Option<Slot>), PlanError> {
        if let Some(l) = self.listener_of(s) {
            return Ok((l.objref as Slot, None));
        }
        let tl = self.temp("listener");
        self.push(Op::Socket { slot: tl, ty }, format!("#{}'s listener is gone: a temporary one", s.objref))?;
        if let Some(n) = name {
            if let SockAddr::Path(p) = n {
                self.push(
                    Op::Unlink { path: Payload(p.clone()), stale_only: true },
                    "remove a stale socket file first",
                )?;
            }
            self.push(Op::Bind { slot: tl, addr: n.clone() }, "the accepted socket inherits this name")?;
        }
        self.push(Op::Listen { slot: tl, backlog: 0 }, "listen for the stand-in")?;
        Ok((tl, Some(tl)))
    }

    /// The stand-in `t` connects to `name`, and `s` comes out of `listener`'s accept().
    fn accept_from_stand_in(
        &mut self,
        s: &Sock<'_>,
        t: Slot,
        listener: Slot,
        name: &SockAddr,
    ) -> Result<(), PlanError> {
        let ty = ty_of(s);
        self.push(Op::Socket { slot: t, ty }, format!("a stand-in for #{}'s closed peer", s.objref))?;
        self.push(Op::Connect { slot: t, addr: name.clone() }, "the stand-in connects")?;
        self.push(Op::Accept { slot: listener, new: s.objref as Slot }, format!("accept gives #{}", s.objref))?;
        self.created.insert(s.objref);
        self.buffers(s)
    }

    /// The temporary listener `tl` closed; its file removed unless a listener of the image is
    /// bound there.
    fn close_temp_listener(&mut self, s: &Sock<'_>, tl: Slot, name: &SockAddr) -> Result<(), PlanError> {
        self.push(Op::Close { slot: tl }, "the temporary listener is no longer needed")?;
        if let SockAddr::Path(p) = name {
            if !self.unix().any(|x| x.is_listener() && x.laddr() == s.laddr()) {
                self.push(
                    Op::Unlink { path: Payload(p.clone()), stale_only: false },
                    "its file did not exist at checkpoint",
                )?;
            }
        }
        Ok(())
    }

    /// Message `i` of `s`'s queue sent again from `from` ([`queue_send`]). A stream message
    /// with fds longer than one skb of the sender (`stream_chunk` of its sndbuf now; a raise
    /// for the send only makes skbs larger) goes as two sends: its bytes but the last skb's
    /// worth plain, then those with the fds. The fds ride the first skb of a send and a read
    /// stops after the skb that carries them, so in one send they would end the read early
    /// (the image's message reads whole, fds last).
    pub(super) fn push_queued(
        &mut self,
        s: &Sock<'_>,
        i: usize,
        from: Slot,
        (data, rights): (Payload, Vec<Slot>),
        why: impl Into<Cow<'static, str>>,
    ) -> Result<(), PlanError> {
        let chunk = self.k.sock(from).map_or(usize::MAX, |k| kernel::stream_chunk(k.sndbuf));
        if ty_of(s) == SockType::Stream && !rights.is_empty() && data.0.len() > chunk {
            let (head, tail) = data.0.split_at(data.0.len() - chunk);
            let first = Op::Send { slot: from, to: None, data: Payload(head.to_vec()), rights: vec![] };
            self.push(
                first,
                format!(
                    "the bytes of #{}'s message #{i} before its last skb's worth ({chunk} bytes), without its fds",
                    s.objref
                ),
            )?;
            return self.push(Op::Send { slot: from, to: None, data: Payload(tail.to_vec()), rights }, why);
        }
        self.push(queue_send(s, i, from, data, rights), why)
    }

    /// The stand-in `t` sends `s`'s queue, as the closed peer had, then closes.
    fn stand_in_sends_and_closes(&mut self, s: &Sock<'_>, t: Slot, ty: SockType) -> Result<(), PlanError> {
        for (i, m) in s.queue.iter().enumerate() {
            let rights = self.rights_slots(&m.rights);
            let why = format!("what the closed peer had sent to #{}", s.objref);
            self.push_queued(s, i, t, (Payload(m.data.to_vec()), rights), why)?;
        }
        let why = if ty == SockType::Dgram {
            format!(
                "the peer closes: #{} keeps its datagrams and points at a dead peer (its next send is ECONNREFUSED)",
                s.objref
            )
        } else {
            format!("the peer closes: #{} sees shutdown and reads the data, then EOF", s.objref)
        };
        self.push(Op::Close { slot: t }, why)
    }

    pub(super) fn refill(&mut self) -> Result<(), PlanError> {
        let socks: Vec<&Sock<'_>> = self.unix().collect();
        // Receivers are not connected yet (dgram connects come after the refill), so re-sending
        // is never refused with EPERM; the queue limit is handled when the receiver is created.
        for s in socks.iter().copied() {
            if self.embryos.contains(&s.objref) || stand_in_peer(s) || s.queue.is_empty() {
                continue;
            }
            self.refill_queue(s)?;
        }
        Ok(())
    }

    /// `s`'s queue sent again in order: by its stream/seqpacket peer, or each datagram from its
    /// sender (a stand-in for one not in the image; for [`named_gone_dgram`] `s`, its closed
    /// peer's stand-in, closed last).
    fn refill_queue(&mut self, s: &Sock<'_>) -> Result<(), PlanError> {
        let gone = named_gone_dgram(s);
        if gone {
            closed_peer_sent_last(s)?;
        }
        let mut temp_sender: Option<Slot> = None;
        for (i, m) in s.queue.iter().enumerate() {
            let rights = self.rights_slots(&m.rights);
            let data = Payload(m.data.to_vec());
            if gone && m.sender == 0 && temp_sender.is_none() {
                temp_sender = Some(self.stand_in_dgram_peer(s)?);
            }
            if ty_of(s).is_connection_oriented() {
                let why = if s.oob.is_some_and(|o| o.index as usize == i) {
                    "refill the queue: the peer sends its out-of-band byte (MSG_OOB) where it was"
                } else {
                    "refill the queue: the peer sends what it had sent"
                };
                self.push_queued(s, i, m.sender as Slot, (data, rights), why)?;
            } else {
                let from = self.dgram_sender(s, m.sender, &mut temp_sender)?;
                self.resend_dgram(s, m.sender, from, data, rights)?;
            }
        }
        if gone && temp_sender.is_none() {
            temp_sender = Some(self.stand_in_dgram_peer(s)?);
        }
        match temp_sender {
            Some(t) if gone => self.push(
                Op::Close { slot: t },
                format!(
                    "the peer closes: #{} keeps its datagrams and points at a dead peer (its next send is ECONNREFUSED)",
                    s.objref
                ),
            ),
            Some(t) => self.push(Op::Close { slot: t }, "the stand-in sender is no longer needed"),
            None => Ok(()),
        }
    }

    /// The slot a datagram of `sender` to `s` is re-sent from: the sender's own, or for one not
    /// in the image (0) the stand-in `temp` (made here, with its warning, on first use).
    fn dgram_sender(&mut self, s: &Sock<'_>, sender: i32, temp: &mut Option<Slot>) -> Result<Slot, PlanError> {
        match (sender, *temp) {
            (0, Some(t)) => Ok(t),
            (0, None) => {
                let t = self.temp("sender");
                let n = s.queue.iter().filter(|m| m.sender == 0).count();
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::SenderStandIn,
                        format!(
                            "socket #{}: {n} queued datagrams came from a socket that is not in the image (closed since, or unnamed and held outside the dumped processes: the image records no sender for them): they are re-sent from an unnamed temporary socket",
                            s.objref
                        ),
                    )
                    .objref(s.objref)
                    .step(self.plan.steps.len()),
                );
                self.push(
                    Op::Socket { slot: t, ty: ty_of(s) },
                    format!("a datagram to #{} came from a socket that is not in the image", s.objref),
                )?;
                *temp = Some(t);
                Ok(t)
            }
            (x, _) => Ok(x as Slot),
        }
    }

    /// A datagram of `sender` re-sent from `from` to `s`: without an address when `from` is
    /// connected to `s`, else to `s`'s name (from its directory); refused for an unnamed `s`.
    fn resend_dgram(
        &mut self,
        s: &Sock<'_>,
        sender: i32,
        from: Slot,
        data: Payload,
        rights: Vec<Slot>,
    ) -> Result<(), PlanError> {
        let slot = s.objref as Slot;
        let connected =
            self.k.sock(from).and_then(|x| x.peer) == self.k.sock_ref(slot) && self.k.sock_ref(slot).is_some();
        let to = if connected { None } else { s.laddr().and_then(UnixAddr::sock_addr) };
        if !connected && to.is_none() {
            return Err(PlanError(format!(
                "a datagram to unnamed socket #{} from #{} cannot be re-sent: only its connected peer could reach it",
                s.objref, sender
            )));
        }
        let cwd = s.unix.as_ref().and_then(|u| u.cwd.clone()).filter(|_| to.is_some());
        let why = format!("refill #{}'s queue: a datagram from #{}", s.objref, sender);
        self.with_cwd(cwd.as_deref(), |p| p.push(Op::Send { slot: from, to, data, rights }, why))
    }

    /// For [`named_gone_dgram`] `s`, once the datagrams of other senders are back: a stand-in
    /// bound to a temporary abstract name, `s` connected to it and it to `s` (`unix_may_send`:
    /// `s`'s peer is now the stand-in), which then sends the closed peer's datagrams and closes.
    fn stand_in_dgram_peer(&mut self, s: &Sock<'_>) -> Result<Slot, PlanError> {
        let t = self.temp("peer");
        let at = SockAddr::Abstract(format!("resocket-closed-peer-of-{}", s.objref).into_bytes());
        let own =
            s.laddr().and_then(UnixAddr::sock_addr).ok_or_else(|| PlanError(format!("#{} has no name", s.objref)))?;
        self.push(Op::Socket { slot: t, ty: SockType::Dgram }, format!("a stand-in for #{}'s closed peer", s.objref))?;
        self.push(
            Op::Bind { slot: t, addr: at.clone() },
            format!("a temporary name, for #{} to connect to", s.objref),
        )?;
        let n = s.queue.iter().filter(|m| m.sender == 0).count();
        if n > 0 {
            self.plan.warnings.push(
                Warning::new(
                    WarnCode::SenderStandIn,
                    format!(
                        "socket #{}: {n} queued datagrams came from its connected peer, which has closed: they are re-sent from a stand-in bound to a temporary abstract name (the image does not record the peer's name)",
                        s.objref
                    ),
                )
                .objref(s.objref)
                .step(self.plan.steps.len()),
            );
        }
        self.push(
            Op::Connect { slot: s.objref as Slot, addr: at },
            format!("#{} connects to the stand-in, after the datagrams others had sent it", s.objref),
        )?;
        let cwd = s.unix.as_ref().and_then(|u| u.cwd.clone());
        self.with_cwd(cwd.as_deref(), |p| {
            p.push(
                Op::Connect { slot: t, addr: own },
                "the stand-in connects back, to send what the closed peer had sent",
            )
        })?;
        Ok(t)
    }

    pub(super) fn dgram_connects(&mut self) -> Result<(), PlanError> {
        let mut todo: Vec<(i32, i32)> = self
            .unix()
            .filter(|s| ty_of(s) == SockType::Dgram && s.peer() != 0 && self.is_pair(s).is_none())
            .map(|s| (s.objref, s.peer()))
            .collect();
        // A connect to a socket that is connected elsewhere is EPERM: connect in an order where
        // each target is still free (the order the original process must have used).
        while !todo.is_empty() {
            let before = todo.len();
            let mut rest = Vec::new();
            for (s, p) in todo {
                let target = self.k.sock(p as Slot).and_then(|t| t.peer);
                let own = self.k.sock_ref(s as Slot);
                if target.is_some() && target != own {
                    rest.push((s, p));
                    continue;
                }
                let Some(ps) = self.sock(p) else { continue };
                let Some(addr) = ps.laddr().and_then(UnixAddr::sock_addr) else {
                    return Err(PlanError(format!(
                        "dgram #{s} is connected to unnamed #{p}, which connect() cannot reach"
                    )));
                };
                let cwd = ps.unix.as_ref().and_then(|u| u.cwd.clone());
                let why = if s == p { format!("#{s} connects to itself") } else { format!("#{s} connects to #{p}") };
                self.with_cwd(cwd.as_deref(), |pl| pl.push(Op::Connect { slot: s as Slot, addr }, why))?;
            }
            if rest.len() == before {
                return Err(PlanError(format!("dgram connects {rest:?} wait on each other")));
            }
            todo = rest;
        }
        self.outside_connects()?;
        // A receiver that someone connected to is ESTABLISHED even when that someone is gone.
        let lonely: Vec<i32> = self
            .unix()
            .filter(|s| ty_of(s) == SockType::Dgram && s.common.state == wire::TCP_ESTABLISHED && s.peer() == 0)
            .filter(|s| self.k.sock(s.objref as Slot).is_some_and(|k| k.state != SkState::Established))
            .map(|s| s.objref)
            .collect();
        for r in lonely {
            let Some(addr) = self.sock(r).and_then(|s| s.laddr()).and_then(UnixAddr::sock_addr) else { continue };
            let t = self.temp("connector");
            self.push(
                Op::Socket { slot: t, ty: SockType::Dgram },
                format!("#{r} was connected to by a socket that is gone"),
            )?;
            self.push(Op::Connect { slot: t, addr }, format!("connecting to #{r} makes it ESTABLISHED"))?;
            self.push(Op::Close { slot: t }, "the stand-in is no longer needed")?;
        }
        Ok(())
    }
}

impl Planner<'_, '_> {
    /// The outside name a dgram socket connected to a socket outside the image (EXTERNAL_PEER)
    /// is connected to again: its recorded peer name (raddr), when this host has a dgram
    /// receiver there ([`crate::sim::HostAddrs::unix`]). Otherwise it is restored unconnected,
    /// warned `unix-external-peer` (`warn_outside_dgram`).
    pub(super) fn outside_receiver(&self, s: &Sock<'_>) -> Option<SockAddr> {
        let u = s.unix.as_ref().filter(|u| u.has(wire::UNIX_EXTERNAL_PEER) && ty_of(s) == SockType::Dgram)?;
        self.k.host.unix.contains(&u.raddr).then(|| u.raddr.outside_addr())?
    }

    /// Each dgram socket with a receiver outside the image connects to it again.
    fn outside_connects(&mut self) -> Result<(), PlanError> {
        let todo: Vec<(i32, SockAddr)> =
            self.unix().filter_map(|s| self.outside_receiver(s).map(|a| (s.objref, a))).collect();
        for (s, addr) in todo {
            let why = format!("#{s} connects to its peer outside the image, which this host has");
            self.push(Op::Connect { slot: s as Slot, addr }, why)?;
        }
        Ok(())
    }
}

/// The send that puts message `i` of `s`'s queue back from `from`: `sendmsg(MSG_OOB)` of its
/// one byte for the out-of-band byte (`RS_OOB`), a plain `sendmsg` otherwise.
pub(super) fn queue_send(s: &Sock<'_>, i: usize, from: Slot, data: Payload, rights: Vec<Slot>) -> Op {
    match (s.oob, &data.0[..]) {
        (Some(o), &[byte]) if o.index as usize == i => Op::SendOob { slot: from, byte, rights },
        _ => Op::Send { slot: from, to: None, data, rights },
    }
}

/// For [`named_gone_dgram`] `s`: refused when a datagram of another sender is queued after one
/// of its closed peer (once connected, only its peer could send to it).
fn closed_peer_sent_last(s: &Sock<'_>) -> Result<(), PlanError> {
    let first_own = s.queue.iter().position(|m| m.sender == 0).unwrap_or(s.queue.len());
    match s.queue[first_own..].iter().find(|m| m.sender != 0) {
        Some(m) => Err(PlanError(format!(
            "dgram #{}'s connected peer has closed, and a datagram from #{} is queued after one from that peer: once it was connected only its peer could send to it",
            s.objref, m.sender
        ))),
        None => Ok(()),
    }
}
