//! Phases Shutdown, Cleanup and Place: shutdowns, temporaries closed and raised buffers put
//! back, the recorded options (`RS_SOCKOPT`), and every socket moved to its process and fd.

use super::*;

impl<'i, 'a> Planner<'i, 'a> {
    pub(super) fn shutdowns(&mut self) -> Result<(), PlanError> {
        let socks: Vec<&Sock<'_>> = self.unix().collect();
        for s in socks {
            let bits = s.common.shutdown & wire::SHUTDOWN_MASK;
            if bits == 0 || self.embryos.contains(&s.objref) {
                continue;
            }
            let slot = s.objref as Slot;
            let have = self.k.sock(slot).map_or(0, |k| k.shutdown);
            let Some(how) = How::from_bits(bits & !have) else { continue };
            self.push(
                Op::Shutdown { slot, how },
                format!("#{} had shutdown {bits} (applied last: it stops the refill)", s.objref),
            )?;
        }
        // shutdown() mirrors onto a connected peer: say where the bits now differ from the image.
        // (A socket whose peer is outside the image is said with its own code.)
        let socks: Vec<&Sock<'_>> = self
            .unix()
            .filter(|s| {
                !self.embryos.contains(&s.objref) && !s.unix.as_ref().is_some_and(|u| u.has(wire::UNIX_EXTERNAL_PEER))
            })
            .collect();
        for s in socks {
            let want = s.common.shutdown & wire::SHUTDOWN_MASK;
            let Some(have) = self.k.sock(s.objref as Slot).map(|k| k.shutdown) else { continue };
            self.warn_shutdown(s.objref, have, want);
        }
        // An embryo has no slot of its own: it is its client's peer on the kernel.
        let embryos: Vec<&Sock<'_>> = self.unix().filter(|s| self.embryos.contains(&s.objref)).collect();
        for e in embryos {
            let want = e.common.shutdown & wire::SHUTDOWN_MASK;
            let client = self.k.sock(e.peer() as Slot).filter(|_| e.peer() != 0);
            let Some(have) = client.and_then(|c| c.peer).and_then(|r| self.k.socks.get(r)).map(|k| k.shutdown) else {
                continue;
            };
            self.warn_shutdown(e.objref, have, want);
        }
        Ok(())
    }

    /// `shutdown-differs` on socket `objref` when the bits it comes back with are not the image's.
    fn warn_shutdown(&mut self, objref: i32, have: u8, want: u8) {
        if have == want {
            return;
        }
        self.plan.warnings.push(
            Warning::new(
                WarnCode::ShutdownDiffers,
                format!(
                    "socket #{objref}: its shutdown bits come back as {have}, the image has {want} (a peer's shutdown() mirrors onto it, or a bit cannot be set before its data is queued)"
                ),
            )
            .objref(objref),
        );
    }

    pub(super) fn cleanup(&mut self) -> Result<(), PlanError> {
        let ls: Vec<&Sock<'_>> = self.unix().filter(|s| s.is_listener()).collect();
        for l in ls {
            let want = l.effective_backlog();
            if self.k.sock(l.objref as Slot).is_some_and(|k| k.max_ack_backlog != want) {
                self.push(
                    Op::Listen { slot: l.objref as Slot, backlog: i32::from(l.common.backlog) },
                    format!(
                        "#{}'s backlog back to {} (re-listen keeps the pending connections)",
                        l.objref, l.common.backlog
                    ),
                )?;
            }
        }
        let raised: Vec<(Slot, i32)> = std::mem::take(&mut self.raised_sndbuf).into_iter().collect();
        for (slot, v) in raised {
            if self.k.sock(slot).is_some() {
                self.push(Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(v) }, "sndbuf back to its recorded size")?;
            }
        }
        for slot in std::mem::take(&mut self.late_passcred) {
            if self.k.sock(slot).is_some() {
                self.push(
                    Op::SetSockOpt { slot, opt: SockOpt::PassCred(true) },
                    format!("#{slot} had SO_PASSCRED and no name: set after its sends and connects, which would have autobound it"),
                )?;
            }
        }
        let unlinked: Vec<&Sock<'_>> = self
            .unix()
            .filter(|s| {
                let u = s.unix.as_ref();
                matches!(s.laddr(), Some(UnixAddr::Path(_)))
                    && u.is_some_and(|u| !u.has(UNIX_LINKED) && !u.has(UNIX_ACCEPTED))
                    && !self.embryos.contains(&s.objref)
            })
            .collect();
        for s in unlinked {
            if let Some(UnixAddr::Path(p)) = s.laddr() {
                let cwd = s.unix.as_ref().and_then(|u| u.cwd.clone());
                let p = p.to_vec();
                self.with_cwd(cwd.as_deref(), |pl| {
                    pl.push(
                        Op::Unlink { path: Payload(p), stale_only: false },
                        "the name's file had been unlinked at checkpoint",
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The recorded options (`RS_SOCKOPT`) of every socket the plan holds, last in Cleanup:
    /// after every refill (so `SO_PEEK_OFF` counts from the head of the restored queue, as it
    /// did from the head of the dumped one, and `TCP_CORK`, `SO_SNDTIMEO`, `SO_RCVLOWAT` cannot
    /// hold the refill up), before the fds are placed. Options at their defaults are skipped
    /// (but for the TCP keepalive times, whose defaults are the host's sysctls).
    pub(super) fn options(&mut self) -> Result<(), PlanError> {
        self.phase = Phase::Cleanup;
        let socks: Vec<&Sock<'_>> = self.img.sockets.values().filter(|s| s.opts.is_some()).collect();
        for s in socks {
            let slot = s.objref as Slot;
            let Some(rec) = s.opts.as_ref() else { continue };
            if self.k.sock(slot).is_none() || self.embryos.contains(&s.objref) {
                continue;
            }
            for &o in &rec.opts {
                let Some(name) = o.recorded() else { continue };
                // (The TCP keepalive times a socket never set follow the net.ipv4 sysctls of
                // the host it is on: set them anyway, the host of the restore may differ.)
                let follows_sysctl = matches!(name, OptName::TcpKeepIdle | OptName::TcpKeepIntvl | OptName::TcpKeepCnt);
                if o == SockOpt::default_of(name) && !follows_sysctl {
                    continue;
                }
                if o.needs_privilege() {
                    self.plan.warnings.push(
                        Warning::new(
                            WarnCode::OptionNeedsPrivilege,
                            format!(
                                "socket #{}: {} needs CAP_NET_ADMIN or CAP_NET_RAW to set",
                                s.objref,
                                crate::sockopt::show(&o)
                            ),
                        )
                        .objref(s.objref)
                        .step(self.plan.steps.len()),
                    );
                }
                if let SockOpt::RcvTimeo(us) | SockOpt::SndTimeo(us) = o {
                    if us % 1000 != 0 {
                        self.plan.warnings.push(
                            Warning::new(
                                WarnCode::OptionRounded,
                                format!(
                                    "socket #{}: {} is not a whole number of milliseconds; the kernel rounds it up to a jiffy",
                                    s.objref,
                                    crate::sockopt::show(&o)
                                ),
                            )
                            .objref(s.objref)
                            .step(self.plan.steps.len()),
                        );
                    }
                }
                if let SockOpt::Linger { on: false, secs } = o {
                    // l_onoff 0 keeps sk_lingertime: set the time with lingering on, then off.
                    self.push(
                        Op::SetSockOpt { slot, opt: SockOpt::Linger { on: true, secs } },
                        format!("#{} had a linger time of {secs} s with lingering off: the time first", s.objref),
                    )?;
                }
                self.push(Op::SetSockOpt { slot, opt: o }, format!("#{} had {}", s.objref, crate::sockopt::show(&o)))?;
            }
        }
        Ok(())
    }

    pub(super) fn place(&mut self) -> Result<(), PlanError> {
        // Every socket's places, then its handle closed at once: the restorer never holds much
        // more than one descriptor per socket (RLIMIT_NOFILE).
        let mut places: Vec<(Slot, Placement)> = Vec::new();
        for t in &self.img.tables {
            let pid = t.pid.unwrap_or(0);
            for fd in &t.fds {
                let Some(f) = self.img.files.get(&fd.file) else { continue };
                let slot = f.repr.sock_objref as Slot;
                if self.k.sock(slot).is_some() {
                    let nonblock = f.repr.f_flags & wire::O_NONBLOCK != 0;
                    places.push((slot, (pid, fd.fd, fd.cloexec, nonblock)));
                }
            }
        }
        // By slot, each slot's places in table and fd order (a stable sort; one list, not a
        // vector per socket in a map)...
        crate::order::sort_by_rank(&mut places, |(slot, _)| u128::from(*slot));
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for (i, (slot, _)) in places.iter().enumerate() {
            match runs.last_mut() {
                Some((from, to)) if places[*from].0 == *slot => *to = i + 1,
                _ => runs.push((i, i + 1)),
            }
        }
        // ...then the slots by their first placement (pid, fd).
        crate::order::sort_by_rank(&mut runs, |&(from, _)| {
            let (_, (pid, fd, _, _)) = places[from];
            crate::order::rank_i32(pid) << 32 | crate::order::rank_i32(fd)
        });
        for (from, to) in runs {
            let slot = places[from].0;
            for &(_, (pid, fd, cloexec, nonblock)) in &places[from..to] {
                self.push(Op::Place { slot, pid, fd, cloexec, nonblock }, "the process had this socket at this fd")?;
            }
            self.push(Op::Close { slot }, "the plan's own handle is not needed any more")?;
        }
        // Image sockets still held only by the plan: kept alive by a queue (SCM_RIGHTS) or an
        // accept queue (embryos), or closed here for good.
        // Each socket in flight, with the sockets whose queues carry it.
        let mut carriers: BTreeMap<i32, BTreeSet<i32>> = BTreeMap::new();
        for s in self.img.sockets.values() {
            let carried = s.queue.iter().flat_map(|m| m.rights.iter());
            for x in carried.filter_map(|f| self.img.files.get(f).map(|f| f.repr.sock_objref)) {
                carriers.entry(x).or_default().insert(s.objref);
            }
        }
        // Each slot still open, with its objref when the restore closes that socket for good.
        let open: Vec<(Slot, Option<i32>)> = self
            .k
            .slots
            .keys()
            .map(|slot| {
                let o = self.plan.slots.get(&slot).and_then(|i| i.objref);
                (slot, o.filter(|o| !carriers.contains_key(o) && !self.embryos.contains(o)))
            })
            .collect();
        let left_peers = self.peers_left_by(&open);
        let mut closed: BTreeMap<i32, usize> = BTreeMap::new();
        for (slot, for_good) in open {
            if let Some(o) = for_good {
                closed.insert(o, self.plan.steps.len());
                // A listener's pending connections go with it (their embryos are freed).
                let pending = self.img.sockets.get(&o).map_or(0, |s| s.pending.len());
                let mut with = match pending {
                    0 => String::new(),
                    n => format!(", and with it its {n} pending connection{}", if n == 1 { "" } else { "s" }),
                };
                if let Some(p) = left_peers.get(&o) {
                    with.push_str(&format!("; its peer #{p} sees it close (end of file; TCP: CLOSE_WAIT)"));
                }
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::ClosedAtEnd,
                        format!(
                            "socket #{o} has no fd in any process and no queue carries it: the restore closes it{with}"
                        ),
                    )
                    .objref(o)
                    .step(self.plan.steps.len()),
                );
            }
            self.push(Op::Close { slot }, "the plan's own handle is not needed any more")?;
        }
        self.warn_carried_by_closed(&carriers, closed);
        Ok(())
    }

    /// The peer each socket closed for good leaves behind (AF_UNIX by its record, INET by the
    /// one address-pair rule, [`crate::image::inet::peers`]), when that peer stays open: it
    /// sees the close.
    fn peers_left_by(&self, open: &[(Slot, Option<i32>)]) -> BTreeMap<i32, i32> {
        let closing: BTreeSet<i32> = open.iter().filter_map(|(_, o)| *o).collect();
        let inet = if closing.is_empty() { BTreeMap::new() } else { crate::image::inet::peers(self.img) };
        let peer = |o: i32| {
            let unix = self.img.sockets.get(&o).map(|s| s.peer()).filter(|&p| p != 0);
            unix.or_else(|| inet.get(&o).copied()).filter(|p| *p != o && !closing.contains(p))
        };
        closing.iter().filter_map(|&o| Some((o, peer(o)?))).collect()
    }

    /// `closed-at-end` on each socket in flight only in the queues of sockets the restore
    /// closes (`closed`: objref → its close step), or of the embryos of such listeners: when
    /// the last carrier goes, its skbs are freed and the fds in them with it (`unix_release_sock`
    /// purges the queue), so the socket is closed too — and so on, for what it carried.
    fn warn_carried_by_closed(&mut self, carriers: &BTreeMap<i32, BTreeSet<i32>>, mut closed: BTreeMap<i32, usize>) {
        let listener_of: BTreeMap<i32, i32> =
            self.img.sockets.values().flat_map(|l| l.pending.iter().map(move |p| (p.embryo, l.objref))).collect();
        loop {
            let gone_with = |c: &i32| closed.get(c).or_else(|| listener_of.get(c).and_then(|l| closed.get(l))).copied();
            let next = carriers.iter().filter(|(x, _)| !closed.contains_key(x)).find_map(|(&x, by)| {
                let steps: Option<Vec<usize>> = by.iter().map(gone_with).collect();
                Some((x, by, steps?.into_iter().max()?))
            });
            let Some((x, by, step)) = next else { break };
            let by: Vec<String> = by.iter().map(|c| format!("#{c}")).collect();
            self.plan.warnings.push(
                Warning::new(
                    WarnCode::ClosedAtEnd,
                    format!(
                        "socket #{x} is held only in flight (SCM_RIGHTS) in the queue of {}, which the restore closes: it is closed with it",
                        by.join(", ")
                    ),
                )
                .objref(x)
                .step(step),
            );
            closed.insert(x, step);
        }
    }
}
