//! TCP: listen, the listener lookup, connect (the handshake on one host), accept, the close
//! and reset paths, shutdown, send and receive.

use super::*;

impl Kernel {
    pub(super) fn inet_listen(&mut self, r: SockRef, backlog: i64) -> Outcome {
        if !self.isk(r).tcp {
            return self.deny(Rule::ListenOnUdp, Errno::EOPNOTSUPP); // inet_dgram_ops.listen = sock_no_listen
        }
        // net/socket.c: (unsigned)backlog > somaxconn → somaxconn.
        let backlog = if backlog < 0 || backlog > self.sysctl.somaxconn { self.sysctl.somaxconn } else { backlog };
        // inet_listen: SS_UNCONNECTED and CLOSE or LISTEN.
        if self.isk(r).ss != SsState::Unconnected || !matches!(self.socks[r].state, SkState::Close | SkState::Listen) {
            return self.deny(Rule::InetListenState, Errno::EINVAL);
        }
        self.socks[r].max_ack_backlog = backlog;
        if self.socks[r].state == SkState::Listen {
            return Outcome::ok(0); // only the backlog changes
        }
        // inet_csk_listen_start: get_port again, now as a listener (an ephemeral one if unbound).
        let ip = self.isk(r).ip();
        // At listen, holders that share the port through SO_REUSEADDR are excused only while
        // they do not listen themselves (`reuse_conflict` looks at their state).
        match self.isk(r).local.filter(|a| a.port() != 0) {
            Some(at) => {
                if self.port_conflict(r, at) {
                    return self.deny(Rule::PortInUse, Errno::EADDRINUSE);
                }
            }
            None => {
                let Some(p) = self.ephemeral(r, ip) else { return self.deny(Rule::NoEphemeralPort, Errno::EADDRINUSE) };
                let i = self.isk_mut(r);
                i.local = Some(SocketAddr::new(ip, p));
                i.bound = true;
            }
        }
        if self.isk(r).was_connected {
            // The port checks above come first on every build (a self-connect's TIME_WAIT
            // gives EADDRINUSE here too); the rest differs between builds. The EINVAL the
            // model follows comes after get_port took the port: the socket stays bound to it
            // (live 6.18.44: a bind() afterwards is EINVAL).
            self.isk_mut(r).bound = true;
            return self.by(Rule::ListenAfterConnection, listen_after_a_connection());
        }
        self.set_state(r, SkState::Listen);
        self.isk_mut(r).listened = true;
        Outcome::ok(0)
    }

    /// The listener a SYN to `dst` reaches (`__inet_lookup_listener`): the exact address first,
    /// then the wildcard; among equals AF_INET before a dual-stack AF_INET6. `Err` when a
    /// SO_REUSEPORT group of several would choose by a keyed hash.
    pub(super) fn find_listener(&self, dst: SocketAddr) -> Result<Option<SockRef>, String> {
        let mut best = Best::new();
        for (o, i) in self.inet.iter() {
            if !i.tcp || self.socks[o].state != SkState::Listen {
                continue;
            }
            let Some(score) = i.listener_score(dst) else { continue };
            best.offer(score, o);
        }
        best.winner().map_err(|ties| {
            format!("{ties} more SO_REUSEPORT listeners on {dst}: the kernel picks one by a keyed hash")
        })
    }

    /// What `tcp_connect` would answer if `forget` undid a build-dependent quirk of `r` (on a
    /// copy of the kernel: this one is not changed), for the other answer of an undetermined
    /// step.
    pub(super) fn connect_without(&self, r: SockRef, addr: &SockAddr, forget: fn(&mut InetSock)) -> Outcome {
        let mut other = self.clone();
        forget(other.isk_mut(r));
        other.tcp_connect(r, addr)
    }

    pub(super) fn tcp_connect(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        if matches!(addr, SockAddr::Unspec) {
            // __inet_stream_connect: AF_UNSPEC disconnects.
            self.tcp_disconnect(r);
            self.isk_mut(r).ss = SsState::Unconnected;
            return Outcome::ok(0);
        }
        if let Some(out) = self.connect_again(r) {
            return out;
        }
        if self.socks[r].state != SkState::Close {
            return self.deny(Rule::TcpAlreadyConnected, Errno::EISCONN);
        }
        let dst = match self.destination(r, addr, true) {
            Ok(d) => d,
            Err((rule, out)) => return self.by(rule, out),
        };
        if self.isk(r).listened {
            // After the route lookup (live 6.18.44: ENETUNREACH for a broadcast address).
            let ordinary = self.connect_without(r, addr, |i| i.listened = false);
            return self.by(Rule::ConnectAfterListening, connect_after_listening(ordinary));
        }
        let nonblock = self.socks[r].nonblock;
        let v4_dst = v4_of(dst.ip()).is_some();
        if self.isk(r).mapped_ops && !v4_dst {
            return self.kept_ipv4_transmit_path(r, addr);
        }
        if self.isk(r).family == InetFamily::Inet6 && v4_dst {
            self.isk_mut(r).mapped_ops = true;
        }
        let src_ip = self.source_for(r, dst);
        // Self-connect: a SYN to the socket's own bound address meets the socket itself
        // (simultaneous open).
        let own = self.isk(r).local.filter(|l| {
            l.port() != 0 && l.port() == dst.port() && mapped(SocketAddr::new(src_ip, 0)).ip() == mapped(dst).ip()
        });
        // A listener on the destination takes the SYN even when it is the sender's own address
        // (live 6.18; the differential test); only without one does the SYN meet its sender.
        let listener = match self.find_listener(dst) {
            Ok(l) => l,
            Err(why) => return self.wait(Rule::ModelUndetermined, Block::undetermined(why)),
        };
        let own = own.filter(|_| listener.is_none());
        if listener.is_none()
            && own.is_none()
            && src_ip == IpAddr::V6(Ipv6Addr::LOCALHOST)
            && !dst.ip().is_loopback()
            && v4_of(dst.ip()).is_none()
        {
            // A SYN from ::1 to another IPv6 address of this host with no listener there gets
            // no RST back (live 6.18; the host differential test): the connect waits.
            self.withdraw_connect(r);
            let why = format!("a SYN from ::1 to {dst}, where nothing listens, is never answered (a Linux quirk)");
            return self.wait(Rule::SynUnanswered, Block::NoAnswer { why });
        }
        if let Some(l) = listener {
            let (pending, backlog) = (self.socks[l].queue.len(), self.socks[l].max_ack_backlog);
            if pending as i64 > backlog {
                // tcp_conn_request: sk_acceptq_is_full → the SYN is dropped. The attempt is
                // withdrawn (see Block::BacklogFull).
                self.withdraw_connect(r);
                return self.wait(Rule::TcpBacklogFull, Block::BacklogFull { pending, backlog });
            }
        }
        // inet_hash_connect: an ephemeral port if none is bound; the four-tuple must be free.
        if self.autobind(r).is_err() {
            return self.deny(Rule::NoEphemeralPort, Errno::EADDRNOTAVAIL);
        }
        let local = SocketAddr::new(src_ip, self.isk(r).port());
        if let Some(out) = self.four_tuple_taken(r, local, dst) {
            return out;
        }
        self.send_syn(r, local, dst, own.is_some(), listener, nonblock)
    }

    /// A connect to IPv6 from an AF_INET6 socket that once connected to a v4-mapped address.
    /// Builds differ (docs/simulator.md): on some the socket kept the IPv4 transmit path
    /// (`icsk_af_ops = &ipv6_mapped`) and its SYN to an IPv6 address goes nowhere; on others
    /// (6.18.44 of 2026-12) the connect goes out over IPv6 as for a fresh socket. Both answers;
    /// the model follows the first (the attempt withdrawn).
    fn kept_ipv4_transmit_path(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        let over_ipv6 = self.connect_without(r, addr, |i| i.mapped_ops = false);
        self.withdraw_connect(r);
        let no_answer = Outcome::WouldBlock {
            block: Block::NoAnswer {
                why: "this AF_INET6 socket once connected to a v4-mapped address and kept the IPv4 transmit path (a Linux quirk)".into(),
            },
        };
        let answers = Outcome::either_of(
            "a TCP connect to IPv6 from an AF_INET6 socket that once tried a v4-mapped peer: Linux builds differ (no answer on some, IPv6 as usual on others)",
            no_answer,
            over_ipv6,
        );
        self.by(Rule::KeptIpv4TransmitPath, answers)
    }

    /// inet_hash_connect's four-tuple check of `r` connecting from `local` to `dst`: the
    /// refusal (or, behind a TIME_WAIT, the undetermined wait) when another socket holds it.
    /// Only sockets in the established hash count: bound and neither CLOSE nor LISTEN (a closed
    /// socket keeps its old addresses; the differential test).
    fn four_tuple_taken(&mut self, r: SockRef, local: SocketAddr, dst: SocketAddr) -> Option<Outcome> {
        let holder = self.inet.iter().find(|&(o, i)| {
            o != r
                && i.tcp
                && i.bound
                && !matches!(self.socks[o].state, SkState::Close | SkState::Listen)
                && i.local.map(mapped) == Some(mapped(local))
                && i.remote.map(mapped) == Some(mapped(dst))
        });
        let (o, _) = holder?;
        if self.socks[o].state == SkState::TimeWait {
            // tcp_twsk_unique with tcp_tw_reuse = 2 on loopback: allowed once the TIME_WAIT's
            // timestamp is a second old.
            let why = format!("{local} to {dst} is in TIME_WAIT: reusable only after a second");
            return Some(self.wait(Rule::TimeWaitReuse, Block::undetermined(why)));
        }
        Some(self.deny(Rule::FourTupleInUse, Errno::EADDRNOTAVAIL))
    }

    /// `connect()` on a socket already connected or connecting: `None` when it is unconnected
    /// and the connect goes on; else the answer (a second call after a non-blocking one gives
    /// the outcome of the first).
    fn connect_again(&mut self, r: SockRef) -> Option<Outcome> {
        match self.isk(r).ss {
            SsState::Connected => Some(self.deny(Rule::TcpAlreadyConnected, Errno::EISCONN)),
            SsState::Connecting => {
                // A second call after a non-blocking one: the outcome of the first.
                Some(match self.socks[r].state {
                    SkState::Close => {
                        let e = self.socks[r].err.take().unwrap_or(Errno::ECONNABORTED);
                        self.isk_mut(r).ss = SsState::Unconnected;
                        self.tcp_disconnect(r);
                        self.deny(Rule::EarlierConnectFailed, e)
                    }
                    _ => {
                        self.isk_mut(r).ss = SsState::Connected;
                        Outcome::ok(0)
                    }
                })
            }
            SsState::Unconnected => None,
            _ => Some(self.deny(Rule::InetConnectState, Errno::EINVAL)),
        }
    }

    /// The SYN goes out from `local` to `dst` (every check passed): it meets the socket itself
    /// (`to_self`, simultaneous open), a `listener` (the handshake completes), or nothing (RST).
    fn send_syn(
        &mut self,
        r: SockRef,
        local: SocketAddr,
        dst: SocketAddr,
        to_self: bool,
        listener: Option<SockRef>,
        nonblock: bool,
    ) -> Outcome {
        {
            let i = self.isk_mut(r);
            i.was_connected = true; // the SYN goes out
            i.local = Some(local);
            i.remote = Some(dst);
            i.done = false;
            i.ss = if nonblock { SsState::Connecting } else { SsState::Connected };
        }
        self.socks[r].err = None; // tcp_connect_init (sk_shutdown is kept: live 6.18)
        let rcvbuf = self.socks[r].rcvbuf;
        self.isk_mut(r).syn_rcvbuf = rcvbuf;
        if to_self && self.socks[r].shutdown & 2 != 0 {
            // Simultaneous open with itself while shut for sending: the connection is aborted
            // without an error, through a FIN to itself that leaves a TIME_WAIT on the port
            // (live 6.18: ECONNABORTED, then EADDRINUSE for listen; the differential test).
            self.set_state(r, SkState::FinWait2);
            self.time_wait(r);
            if nonblock {
                return self.deny(Rule::SelfConnectShutForSending, Errno::EINPROGRESS);
            }
            self.isk_mut(r).ss = SsState::Unconnected;
            self.tcp_disconnect(r);
            return self.deny(Rule::SelfConnectShutForSending, Errno::ECONNABORTED);
        }
        if to_self {
            self.set_state(r, SkState::Established);
            self.socks[r].peer = Some(r);
        } else if let Some(l) = listener {
            self.accept_child(l, r, dst, local);
        } else {
            // No listener: RST. tcp_reset in SYN_SENT → ECONNREFUSED, tcp_done.
            self.set_state(r, SkState::SynSent);
            if nonblock {
                // Whether the RST is processed before connect() looks at the state is timing:
                // EINPROGRESS with the error pending (the model's state), or ECONNREFUSED at once.
                self.reset(r);
                let answers = Outcome::either(
                    "a non-blocking TCP connect that meets an RST: EINPROGRESS if the RST is processed after connect() returns, ECONNREFUSED if before (softirq timing)",
                    vec![Outcome::err(Errno::EINPROGRESS), Outcome::err(Errno::ECONNREFUSED)],
                );
                return self.by(Rule::ConnectRefusedTiming, answers);
            }
            self.reset(r);
            let e = self.socks[r].err.take().unwrap_or(Errno::ECONNREFUSED);
            self.isk_mut(r).ss = SsState::Unconnected;
            self.tcp_disconnect(r);
            return self.deny(Rule::ConnectionRefused, e);
        }
        if nonblock {
            return self.deny(Rule::ConnectInProgress, Errno::EINPROGRESS);
        }
        Outcome::ok(0)
    }

    /// The three-way handshake completed: a child of listener `l` for client `c`, queued.
    pub(super) fn accept_child(&mut self, l: SockRef, c: SockRef, dst: SocketAddr, src: SocketAddr) {
        let li = self.isk(l).clone();
        let child = self.new_sock(SockType::Stream);
        let fam = li.family;
        let form = |a: SocketAddr| if fam == InetFamily::Inet6 { mapped(a) } else { a };
        let mut ci = li;
        ci.local = Some(form(SocketAddr::new(dst.ip(), dst.port())));
        ci.remote = Some(form(src));
        ci.bound = true; // __inet_inherit_port
                         // Not locked: a disconnected child gives its port back (live 6.18; differential test).
        ci.port_locked = false;
        ci.addr_locked = false;
        ci.ss = SsState::Connected;
        ci.was_connected = true;
        ci.listened = false;
        ci.done = false;
        ci.syn_rcvbuf = self.socks[l].rcvbuf;
        self.inet.insert(child, ci);
        let (sndbuf, rcvbuf) = (self.socks[l].sndbuf, self.socks[l].rcvbuf);
        self.set_state(child, SkState::Established);
        let e = &mut self.socks[child];
        e.peer = Some(c);
        e.embryo_of = Some(l);
        e.sndbuf = sndbuf;
        e.rcvbuf = rcvbuf;
        self.set_state(c, SkState::Established);
        self.socks[c].peer = Some(child);
        self.socks[l].queue.push_back(Skb {
            from: c,
            data: Vec::new(),
            rights: Vec::new(),
            embryo: Some(child),
            truesize: 0,
            oob: false,
        });
        // The child is a clone of the listener, shutdown bits included (a shutdown() on the
        // socket before it listened sets them): shut for sending, it sends its FIN at once
        // (live 6.18; the differential test).
        let lsh = self.socks[l].shutdown;
        self.socks[child].shutdown = lsh;
        if lsh & 2 != 0 {
            self.send_fin(child);
        }
    }

    pub(super) fn inet_accept(&mut self, r: SockRef, new: Slot) -> Outcome {
        if !self.isk(r).tcp {
            return self.deny(Rule::AcceptOnUdp, Errno::EOPNOTSUPP);
        }
        if self.socks[r].state != SkState::Listen {
            return self.deny(Rule::TcpAcceptNotListening, Errno::EINVAL);
        }
        let Some(skb) = self.socks[r].queue.pop_front() else {
            if self.socks[r].nonblock {
                return self.deny(Rule::TcpAcceptQueueEmpty, Errno::EAGAIN);
            }
            return self.wait(Rule::TcpAcceptQueueEmpty, Block::AcceptEmpty);
        };
        let Some(child) = skb.embryo else { return Outcome::Invalid { why: "listener queue holds a data skb".into() } };
        self.socks[child].embryo_of = None;
        self.attach(new, child);
        Outcome::ok(0)
    }

    /// `tcp_done` after a reset or the last ACK: CLOSE, both directions shut, the port given back
    /// unless bind() chose it (an orphan gives everything back).
    pub(super) fn tcp_done(&mut self, r: SockRef) {
        let orphan = self.socks[r].dead;
        self.set_state(r, SkState::Close);
        self.socks[r].shutdown = crate::wire::SHUTDOWN_MASK;
        let i = self.isk_mut(r);
        if orphan || !i.port_locked {
            // inet_put_port: inet_num = 0 (the address stays).
            i.bound = false;
            i.local = i.local.map(|a| SocketAddr::new(a.ip(), 0));
        }
    }

    /// An RST arrives at `r` (`tcp_reset`; a TIME_WAIT or orphan just disappears).
    pub(super) fn reset(&mut self, r: SockRef) {
        if self.socks[r].dead {
            self.set_state(r, SkState::Close);
            self.isk_mut(r).bound = false;
            return;
        }
        let Some(e) = reset_errno(self.socks[r].state) else { return };
        self.socks[r].err = Some(e);
        self.tcp_done(r);
    }

    /// `tcp_time_wait`: an orphan becomes the TIME_WAIT socket; a socket with an fd is done and
    /// a new TIME_WAIT socket keeps the port. DEVIATION: TIME_WAIT never ends (Linux: 60 s).
    pub(super) fn time_wait(&mut self, r: SockRef) {
        if self.socks[r].dead {
            self.set_state(r, SkState::TimeWait);
            return;
        }
        let tw = self.new_sock(SockType::Stream);
        let mut ti = self.isk(r).clone();
        ti.bound = true;
        self.inet.insert(tw, ti);
        self.socks[tw].dead = true;
        self.set_state(tw, SkState::TimeWait);
        self.tcp_done(r);
    }

    /// `r` sends its FIN (`tcp_close_state` + `tcp_send_fin`), loopback delivers it and the ACK.
    pub(super) fn send_fin(&mut self, r: SockRef) {
        let next = match self.socks[r].state {
            // FIN_WAIT1 until the peer ACKs the FIN — which a peer entering CLOSE_WAIT delays
            // (pingpong mode, ~40 ms): DEVIATION, FIN_WAIT2 at once (both answer alike).
            SkState::Established => SkState::FinWait2,
            SkState::CloseWait => SkState::LastAck,
            _ => return,
        };
        self.set_state(r, next);
        let Some(p) = self.socks[r].peer else { return };
        // The peer receives the FIN (tcp_fin).
        if !self.socks[p].dead || self.socks[p].state != SkState::Close {
            self.isk_mut(p).done = true;
            self.socks[p].shutdown |= 1;
            match self.socks[p].state {
                SkState::Established => self.set_state(p, SkState::CloseWait),
                SkState::FinWait2 => self.time_wait(p),
                _ => {}
            }
        }
        if self.socks[r].state == SkState::LastAck {
            self.tcp_done(r); // the peer's ACK of our FIN
        }
    }

    /// A connect whose SYN went out and will not be answered now (a full accept queue, or no
    /// answer at all) is withdrawn, as the native executor does: `connect(AF_UNSPEC)` on the
    /// SYN_SENT socket (`tcp_disconnect`: the shutdown bits, the receive queue and an autobound
    /// port go), then the `ECONNRESET` that leaves is read away. What stays is that the socket
    /// has been in a connection (see [`listen_after_a_connection`]).
    pub(super) fn withdraw_connect(&mut self, r: SockRef) {
        self.isk_mut(r).was_connected = true;
        self.set_state(r, SkState::SynSent);
        self.tcp_disconnect(r);
        self.socks[r].err = None;
        self.isk_mut(r).ss = SsState::Unconnected;
    }

    /// `tcp_disconnect` (connect(AF_UNSPEC), shutdown of a listener or a SYN_SENT socket, and a
    /// listener dropping its queue): reset a live connection, forget the peer and the queue.
    pub(super) fn tcp_disconnect(&mut self, r: SockRef) {
        let old = self.socks[r].state;
        if old == SkState::Listen {
            self.listen_stop(r);
        } else if matches!(old, SkState::Established | SkState::CloseWait | SkState::FinWait1 | SkState::FinWait2) {
            if let Some(p) = self.socks[r].peer {
                if p != r {
                    self.reset(p);
                }
            }
            self.socks[r].err = Some(Errno::ECONNRESET);
        } else if old == SkState::SynSent {
            self.socks[r].err = Some(Errno::ECONNRESET);
        }
        self.set_state(r, SkState::Close);
        self.socks[r].peer = None;
        self.socks[r].shutdown = 0;
        self.socks[r].queue.clear();
        let i = self.isk_mut(r);
        i.remote = None;
        i.done = false;
        // tcp_set_state(TCP_CLOSE) gives an unlocked port back only when the state changes: a
        // socket already CLOSE keeps its port (live 6.18: bind to port 0, connect(AF_UNSPEC),
        // bind again is EINVAL; the differential test). inet_reset_saddr either way.
        i.reset_local(old != SkState::Close);
    }

    /// `inet_csk_listen_stop`: every queued child is disconnected (its client gets an RST) and
    /// destroyed.
    pub(super) fn listen_stop(&mut self, l: SockRef) {
        let queue: Vec<Skb> = self.socks[l].queue.drain(..).collect();
        for skb in queue {
            let Some(child) = skb.embryo else { continue };
            self.socks[child].embryo_of = None;
            self.socks[child].dead = true;
            if matches!(self.socks[child].state, SkState::Established | SkState::CloseWait) {
                if let Some(c) = self.socks[child].peer {
                    self.reset(c);
                }
            }
            self.set_state(child, SkState::Close);
            self.socks[child].queue.clear();
            self.isk_mut(child).bound = false;
        }
    }

    pub(super) fn inet_shutdown(&mut self, r: SockRef, how: u8) -> Outcome {
        let state = self.socks[r].state;
        if self.isk(r).ss == SsState::Connecting {
            self.isk_mut(r).ss = if matches!(state, SkState::SynSent | SkState::Close) {
                SsState::Disconnecting
            } else {
                SsState::Connected
            };
        }
        match state {
            SkState::Close => {
                // "Hack to wake up other listeners": the bits are set, and ENOTCONN returned.
                self.socks[r].shutdown |= how;
                self.deny(Rule::ShutdownNotConnected, Errno::ENOTCONN)
            }
            SkState::Listen => {
                if how & 1 != 0 {
                    self.tcp_disconnect(r);
                    self.isk_mut(r).ss = SsState::Unconnected;
                }
                Outcome::ok(0)
            }
            SkState::SynSent => {
                self.tcp_disconnect(r);
                self.isk_mut(r).ss = SsState::Unconnected;
                Outcome::ok(0)
            }
            _ => {
                self.socks[r].shutdown |= how;
                if self.isk(r).tcp && how & 2 != 0 {
                    self.send_fin(r); // tcp_shutdown
                }
                Outcome::ok(0)
            }
        }
    }

    pub(super) fn tcp_send(&mut self, r: SockRef, data: &[u8]) -> Outcome {
        // tcp_sendmsg_locked: the destination address is ignored.
        let state = self.socks[r].state;
        if !matches!(state, SkState::Established | SkState::CloseWait) {
            // sk_stream_wait_connect: a pending error, else EPIPE (no SYN_SENT in the model).
            let e = self.socks[r].err.take().unwrap_or(Errno::EPIPE);
            return self.deny(Rule::TcpSendNotConnected, e);
        }
        if self.socks[r].err.is_some() || self.socks[r].shutdown & 2 != 0 {
            let e = self.socks[r].err.take().unwrap_or(Errno::EPIPE);
            return self.deny(Rule::TcpSendShut, e);
        }
        if data.is_empty() {
            return Outcome::ok(0);
        }
        let Some(p) = self.socks[r].peer else { return self.deny(Rule::TcpSendNotConnected, Errno::EPIPE) };
        if self.socks[p].dead {
            // Data for a closed socket (an orphan in FIN_WAIT2 or TIME_WAIT): it answers RST.
            self.reset(p);
            self.reset(r);
            return Outcome::ok(data.len() as i64);
        }
        if matches!(self.socks[p].state, SkState::FinWait1 | SkState::FinWait2) && self.socks[p].shutdown & 1 != 0 {
            // tcp_rcv_state_process: new data for a socket shut both ways is answered by an RST.
            self.reset(p);
            self.reset(r);
            return Outcome::ok(data.len() as i64);
        }
        let queued: usize = self.socks[p].queue.iter().map(|b| b.data.len()).sum();
        if p == r && data.len() > SELF_CONNECTED_SEND {
            let why = format!(
                "{} bytes at once on a self-connected TCP socket: more than the {SELF_CONNECTED_SEND} the model vouches for (its own receive window holds the rest back)",
                data.len()
            );
            return self.wait(Rule::ModelUndetermined, Block::undetermined(why));
        }
        if p == r && queued > 0 {
            // A self-connected socket ACKs its own segments with delayed ACKs, and Nagle holds a
            // small segment while one is unacknowledged: whether this one is readable at once
            // depends on a timer (live 6.18: three 1-byte sends, then recv(3) gave 2 bytes).
            let why = "a self-connected TCP socket sending while its own data is unread: delayed ACKs and Nagle decide when it arrives";
            return self.wait(Rule::ModelUndetermined, Block::undetermined(why));
        }
        let total = (queued + data.len()) as i64;
        if queued + data.len() > TCP_QUEUE_LIMIT
            && !big_queue_fits(total, self.isk(p).syn_rcvbuf.min(self.socks[p].rcvbuf), self.socks[r].sndbuf)
        {
            let why = format!(
                "{} unread bytes on one TCP connection: more than the {TCP_QUEUE_LIMIT} the model vouches for with these buffers (buffer autotuning decides; raising the receiver's SO_RCVBUF before its SYN and the sender's SO_SNDBUF lifts it)",
                queued + data.len()
            );
            return self.wait(Rule::ModelUndetermined, Block::undetermined(why));
        }
        self.socks[p].queue.push_back(Skb::inet(r, data));
        Outcome::ok(data.len() as i64)
    }

    pub(super) fn tcp_recv(&mut self, r: SockRef, len: usize, peek: bool) -> Outcome {
        if self.socks[r].state == SkState::Listen {
            return self.deny(Rule::TcpRecvOnListener, Errno::ENOTCONN);
        }
        // TCP skbs carry no fds (and no truesize): the stream read is AF_UNIX's, around the
        // urgent mark (urgent.rs).
        let queued = !self.socks[r].queue.is_empty();
        let out = self.tcp_read(r, len, peek);
        // A read of 0 bytes finds an skb and copies nothing (0), or finds none and answers as an
        // empty queue does (live 6.18.44: EAGAIN non-blocking; found by the urgent differential
        // test, urgent.rs).
        if !out.is_empty() || (len == 0 && queued) {
            return Outcome::Read { data: Payload(out), rights: Vec::new(), truncated: false };
        }
        let eof = Outcome::Read { data: Payload(Vec::new()), rights: Vec::new(), truncated: false };
        if self.isk(r).done {
            return eof;
        }
        if let Some(e) = self.socks[r].err.take() {
            return self.deny(Rule::PendingError, e);
        }
        if self.socks[r].shutdown & 1 != 0 {
            return eof;
        }
        if self.socks[r].state == SkState::Close {
            return self.deny(Rule::TcpRecvNotConnected, Errno::ENOTCONN);
        }
        if self.socks[r].nonblock {
            return self.deny(Rule::TcpRecvEmpty, Errno::EAGAIN);
        }
        self.wait(Rule::TcpRecvEmpty, Block::RecvEmpty)
    }
}
