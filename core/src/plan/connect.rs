//! Phases TempListeners, Bind, Listen and Connect: names, listeners (a temporary one where the
//! original is gone) and the real `connect()`/`accept()` that make peers.

use super::*;

impl<'i, 'a> Planner<'i, 'a> {
    /// Accepted connections whose listener is not in the image: a temporary listener bound to
    /// the name, connect, accept, close (the seed review's "create a temporary one").
    pub(super) fn temp_listeners(&mut self) -> Result<(), PlanError> {
        for (acc, client) in self.accepted_pairs() {
            let Some(a) = self.sock(acc) else { continue };
            if self.listener_of(a).is_some() {
                continue;
            }
            let Some(name) = a.laddr().and_then(UnixAddr::sock_addr) else { continue };
            let Some(c) = self.sock(client) else { continue };
            let ty = ty_of(a);
            let t = self.temp("listener");
            self.push(
                Op::Socket { slot: t, ty },
                format!("#{acc}'s listener is gone: a temporary one gives it its name"),
            )?;
            let cwd = a.unix.as_ref().and_then(|u| u.cwd.clone());
            let name2 = name.clone();
            self.with_cwd(cwd.as_deref(), |p| {
                if let SockAddr::Path(path) = &name2 {
                    p.push(
                        Op::Unlink { path: Payload(path.clone()), stale_only: true },
                        "remove a stale socket file first",
                    )?;
                }
                p.push(Op::Bind { slot: t, addr: name2.clone() }, "the accepted socket inherits this name")
            })?;
            self.push(Op::Listen { slot: t, backlog: 0 }, "listen so the client can connect")?;
            self.bind_client(c)?;
            self.with_cwd(cwd.as_deref(), |p| {
                p.push(
                    Op::Connect { slot: client as Slot, addr: name.clone() },
                    format!("#{client} connects (returns before accept)"),
                )
            })?;
            self.push(
                Op::Accept { slot: t, new: acc as Slot },
                format!("accept gives #{acc} with the listener's name"),
            )?;
            self.created.insert(acc);
            self.buffers(a)?;
            self.push(Op::Close { slot: t }, "the temporary listener is no longer needed")?;
            if let SockAddr::Path(path) = &name {
                let held = self.unix().any(|s| {
                    s.laddr() == a.laddr()
                        && s.unix.as_ref().is_some_and(|u| u.has(UNIX_LINKED) && !u.has(UNIX_ACCEPTED))
                });
                if !held {
                    let path = path.clone();
                    self.with_cwd(cwd.as_deref(), |p| {
                        p.push(
                            Op::Unlink { path: Payload(path), stale_only: false },
                            "the temporary listener's file did not exist at checkpoint",
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    pub(super) fn binds(&mut self) -> Result<(), PlanError> {
        let socks: Vec<&Sock<'_>> = self.unix().collect();
        for s in socks {
            let u = s.unix.as_ref().map(|u| (u.has(UNIX_ACCEPTED), u.laddr.clone()));
            let Some((accepted, laddr)) = u else { continue };
            if accepted || self.embryos.contains(&s.objref) {
                continue; // names inherited from a listener
            }
            if !self.created.contains(&s.objref) {
                continue;
            }
            let Some(a) = laddr.sock_addr() else { continue };
            if self.k.sock(s.objref as Slot).is_some_and(|x| x.name.is_some()) {
                continue;
            }
            let why = if s.unix.as_ref().is_some_and(|u| u.has(wire::UNIX_AUTOBIND)) {
                format!("#{} was autobound to {}: bind that exact name", s.objref, laddr.display())
            } else {
                format!("#{} is named {}", s.objref, laddr.display())
            };
            self.bind_named(s, a, &why)?;
        }
        Ok(())
    }

    pub(super) fn listens(&mut self) -> Result<(), PlanError> {
        let ls: Vec<&Sock<'_>> = self.unix().filter(|s| s.is_listener()).collect();
        for l in ls {
            let admits = l.effective_backlog() + 1;
            let pending = l.pending.len() as i64;
            let backlog = if pending > admits { pending - 1 } else { i64::from(l.common.backlog) };
            let why = if pending > admits {
                format!(
                    "#{} listens; {pending} connections will be pending but backlog {} admits {admits}: use {} until they are queued",
                    l.objref, l.common.backlog, pending - 1
                )
            } else {
                format!("#{} listens with backlog {}", l.objref, l.common.backlog)
            };
            self.push(Op::Listen { slot: l.objref as Slot, backlog: backlog as i32 }, why)?;
        }
        Ok(())
    }

    pub(super) fn connections(&mut self) -> Result<(), PlanError> {
        let ls: Vec<&Sock<'_>> = self.unix().filter(|s| s.is_listener()).collect();
        // (listener, accepted, client), by listener in a stable sort (a listener's accepted
        // connections keep their order; a list, not a map of lists: one B-tree instance fewer
        // in the browser's bundle).
        let mut by_listener: Vec<(i32, i32, i32)> = Vec::new();
        for (acc, client) in self.accepted_pairs() {
            if let Some(l) = self.sock(acc).and_then(|a| self.listener_of(a)) {
                by_listener.push((l.objref, acc, client));
            }
        }
        crate::order::sort_by_rank(&mut by_listener, |t| crate::order::rank_i32(t.0));
        // (listener, accepted socket whose peer has closed), in socket order within each
        // listener: gathered in one pass (a pass per listener was quadratic: 12 % of the
        // restore benchmark's CPU at 500 listeners and 9,500 sockets).
        let mut gone_by_listener: Vec<(i32, i32)> = self
            .unix()
            .filter(|s| self.gone_accepted(s))
            .filter_map(|s| self.listener_of(s).map(|l| (l.objref, s.objref)))
            .collect();
        crate::order::sort_by_rank(&mut gone_by_listener, |t| crate::order::rank_i32(t.0));
        for l in ls {
            let pairs: Vec<(i32, i32)> =
                crate::order::run_of(&by_listener, l.objref, |t| t.0).iter().map(|t| (t.1, t.2)).collect();
            let Some(name) = l.laddr().and_then(UnixAddr::sock_addr) else { continue };
            let cwd = l.unix.as_ref().and_then(|u| u.cwd.clone());
            self.accept_pairs(l, &name, cwd.as_deref(), &pairs)?;
            let gone: Vec<&Sock<'_>> = crate::order::run_of(&gone_by_listener, l.objref, |t| t.0)
                .iter()
                .filter_map(|t| self.sock(t.1))
                .collect();
            self.accept_gone(l, &name, cwd.as_deref(), gone)?;
            self.queue_pending(l, &name, cwd.as_deref())?;
        }
        Ok(())
    }

    /// Accepted connections of listener `l` (bound to `name`, from `cwd`) first, so accept()
    /// finds them at the head of the queue.
    fn accept_pairs(
        &mut self,
        l: &Sock<'_>,
        name: &SockAddr,
        cwd: Option<&[u8]>,
        pairs: &[(i32, i32)],
    ) -> Result<(), PlanError> {
        for &(acc, client) in pairs {
            let Some(a) = self.sock(acc) else { continue };
            let Some(c) = self.sock(client) else { continue };
            self.bind_client(c)?;
            self.shutdown_before_connect(client, acc)?;
            let n = name.clone();
            self.with_cwd(cwd, |p| {
                p.push(
                    Op::Connect { slot: client as Slot, addr: n },
                    format!("#{client} connects to #{} (returns before accept)", l.objref),
                )
            })?;
            self.push(
                Op::Accept { slot: l.objref as Slot, new: acc as Slot },
                format!("accept returns #{acc}, named like #{}, peer #{client}", l.objref),
            )?;
            self.created.insert(acc);
            self.buffers(a)?;
        }
        Ok(())
    }

    /// Accepted sockets of listener `l` whose peer has closed, from a stand-in peer: accept()
    /// must find its connection at the head of the queue too (PeerGone sends the data and
    /// closes it).
    fn accept_gone(
        &mut self,
        l: &Sock<'_>,
        name: &SockAddr,
        cwd: Option<&[u8]>,
        gone: Vec<&Sock<'_>>,
    ) -> Result<(), PlanError> {
        for s in gone {
            let t = self.temp("peer");
            let n = name.clone();
            self.push(Op::Socket { slot: t, ty: ty_of(s) }, format!("a stand-in for #{}'s closed peer", s.objref))?;
            self.with_cwd(cwd, |p| p.push(Op::Connect { slot: t, addr: n }, "the stand-in connects"))?;
            self.push(
                Op::Accept { slot: l.objref as Slot, new: s.objref as Slot },
                format!("accept gives #{}, before the pending connections queue up", s.objref),
            )?;
            self.created.insert(s.objref);
            self.buffers(s)?;
            self.stand_ins.insert(s.objref, t);
        }
        Ok(())
    }

    /// The pending connections of listener `l`, in accept-queue order, each with what its
    /// client already sent.
    fn queue_pending(&mut self, l: &Sock<'_>, name: &SockAddr, cwd: Option<&[u8]>) -> Result<(), PlanError> {
        for (i, p) in l.pending.iter().enumerate() {
            let embryo = self.sock(p.embryo);
            let client = if p.client != 0 {
                if let Some(c) = self.sock(p.client) {
                    self.bind_client(c)?;
                    self.shutdown_before_connect(p.client, p.embryo)?;
                }
                p.client as Slot
            } else {
                let t = self.temp("client");
                let ty = ty_of(l);
                self.push(
                    Op::Socket { slot: t, ty },
                    format!(
                        "pending connection {i} of #{}: its client has closed; a temporary client stands in",
                        l.objref
                    ),
                )?;
                t
            };
            let n = name.clone();
            self.with_cwd(cwd, |pl| {
                pl.push(
                    Op::Connect { slot: client, addr: n },
                    format!(
                        "pending connection {i} of #{}: connect, never accept (it stays in the accept queue)",
                        l.objref
                    ),
                )
            })?;
            if let Some(e) = embryo {
                self.warn_embryo_sndbuf(e);
                for (k, m) in e.queue.iter().enumerate() {
                    let rights = self.rights_slots(&m.rights);
                    let data = Payload(m.data.to_vec());
                    let op = super::refill::queue_send(e, k, client, data.clone(), rights.clone());
                    let why = match op {
                        Op::SendOob { .. } => format!(
                            "the out-of-band byte (MSG_OOB) #{} sent before accept waits on the embryo",
                            p.client
                        ),
                        _ => format!("data #{} sent before accept waits on the embryo", p.client),
                    };
                    self.push_queued(e, k, client, (data, rights), why)?;
                }
            }
            if p.client == 0 {
                self.push(Op::Close { slot: client }, "the client had closed: its embryo keeps the data and sees EOF")?;
            }
        }
        Ok(())
    }

    /// `pending-sndbuf-default` when an AF_UNIX embryo's recorded sndbuf is not what
    /// `unix_stream_connect` gives it (`unix_create1`: `net.core.wmem_default`, not the
    /// listener's), since no setsockopt can reach an embryo before accept().
    fn warn_embryo_sndbuf(&mut self, e: &Sock<'_>) {
        let recorded = crate::sim::kernel::forced_sndbuf(e.common.sndbuf);
        let given = self.k.sysctl.wmem_default;
        if recorded != given {
            self.plan.warnings.push(
                Warning::new(
                    WarnCode::PendingSndbufDefault,
                    format!("pending connection #{}: recorded sndbuf {recorded}, connect() gives it {given}", e.objref),
                )
                .objref(e.objref),
            );
        }
    }

    /// An accepted stream/seqpacket socket whose peer has closed (PeerGone gives it a stand-in).
    fn gone_accepted(&self, s: &Sock<'_>) -> bool {
        s.unix.as_ref().is_some_and(|u| gone_peer(u) && u.has(UNIX_ACCEPTED))
            && s.is_connection_oriented()
            && !self.embryos.contains(&s.objref)
    }

    /// Connected (accepted, client) pairs, in accepted-socket objref order.
    fn accepted_pairs(&self) -> Vec<(i32, i32)> {
        self.unix()
            .filter(|s| {
                s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED) && u.peer != 0)
                    && !self.embryos.contains(&s.objref)
            })
            .map(|s| (s.objref, s.peer()))
            .collect()
    }

    fn bind_client(&mut self, c: &Sock<'_>) -> Result<(), PlanError> {
        if let Some(a) = c.laddr().and_then(UnixAddr::sock_addr) {
            let slot = c.objref as Slot;
            if self.k.sock(slot).is_some_and(|s| s.name.is_none()) {
                self.bind_named(c, a, "the client was bound before it connected")?;
            }
        }
        Ok(())
    }

    /// `unix_shutdown()` mirrors a connected stream socket's shutdown onto its peer (our
    /// `SHUT_RD` is the peer's `SEND_SHUTDOWN`, and the other way round); a client's bits that
    /// its peer (accepted socket or embryo) does not mirror were set before it connected, so
    /// they are set before its connect() here too (Linux lets an unconnected stream socket shut
    /// down, and connect afterwards: live 6.18). A `SHUT_WR` the peer does not mirror while the
    /// peer holds data is not reachable that way and is left to the last phase (the check then
    /// names the difference).
    fn shutdown_before_connect(&mut self, client: i32, peer: i32) -> Result<(), PlanError> {
        let (Some(c), Some(p)) = (self.sock(client), self.sock(peer)) else { return Ok(()) };
        let mut bits = c.common.shutdown & wire::SHUTDOWN_MASK & !How::mirror(p.common.shutdown & wire::SHUTDOWN_MASK);
        if !p.queue.is_empty() {
            bits &= !2;
        }
        let Some(how) = How::from_bits(bits) else { return Ok(()) };
        self.push(
            Op::Shutdown { slot: client as Slot, how },
            format!("#{client} had shut down ({bits}) before it connected: its peer #{peer} does not mirror it"),
        )
    }
}
