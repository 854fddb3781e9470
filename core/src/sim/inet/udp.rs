//! UDP: connect, the receiver lookup, send and receive.

use super::*;

impl Kernel {
    pub(super) fn udp_connect(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        if matches!(addr, SockAddr::Unspec) {
            // udp_disconnect.
            self.set_state(r, SkState::Close);
            let i = self.isk_mut(r);
            i.remote = None;
            i.reset_local(true);
            return Outcome::ok(0);
        }
        // inet_dgram_connect: autobind first, then the address.
        if self.autobind(r).is_err() {
            return self.deny(Rule::NoEphemeralPort, Errno::EAGAIN);
        }
        let dst = match self.destination(r, addr, true) {
            Ok(d) => d,
            Err((rule, out)) => return self.by(rule, out),
        };
        let src = self.source_for(r, dst);
        let i = self.isk_mut(r);
        if i.is_wildcard() {
            let port = i.port();
            i.local = Some(SocketAddr::new(src, port)); // rcv_saddr set (and rehashed) if it was 0
        }
        i.remote = Some(dst);
        self.set_state(r, SkState::Established);
        Outcome::ok(0)
    }

    /// The UDP socket a datagram from `src` to `dst` is delivered to (`__udp4_lib_lookup` /
    /// `__udp6_lib_lookup`): exact address before wildcard, connected sockets only for their
    /// peer, AF_INET before AF_INET6. `Err` when a SO_REUSEPORT group would choose by hash, or
    /// several SO_REUSEADDR sockets tie (the order of a hash chain).
    pub(super) fn udp_target(&self, src: SocketAddr, dst: SocketAddr) -> Result<Option<SockRef>, String> {
        let v4 = v4_of(dst.ip());
        let mut best = Best::new();
        for (o, i) in self.inet.iter() {
            if i.tcp || !i.bound || self.socks[o].dead || i.port() != dst.port() {
                continue;
            }
            let exact = match v4 {
                Some(d4) => {
                    if !i.takes_v4() {
                        continue;
                    }
                    if !i.is_wildcard() && i.rcv4() != d4 {
                        continue;
                    }
                    !i.is_wildcard()
                }
                None => {
                    if i.family != InetFamily::Inet6 || (!i.is_wildcard() && i.ip() != dst.ip()) {
                        continue;
                    }
                    if i.is_wildcard() && class(i.rcv6()) == V6Class::Mapped {
                        continue;
                    }
                    !i.is_wildcard()
                }
            };
            let mut score = 1 + u8::from(i.family == InetFamily::Inet && v4.is_some()) + 16 * u8::from(exact);
            if let Some(rm) = i.remote {
                // compute_score: the connected address must match; a connected port 0 does
                // not count (inet_dport 0 is skipped).
                let (rm, sm) = (mapped(rm), mapped(src));
                if rm.ip() != sm.ip() || (rm.port() != 0 && rm.port() != sm.port()) {
                    continue;
                }
                score += 4 + 4 * u8::from(rm.port() != 0);
            }
            best.offer(score, o);
        }
        best.winner().map_err(|ties| {
            format!(
                "{} UDP sockets share {dst}: which one gets the datagram depends on a hash or a chain order",
                ties + 1
            )
        })
    }

    pub(super) fn udp_send(&mut self, r: SockRef, to: Option<&SockAddr>, data: &[u8]) -> Outcome {
        // inet_sendmsg: inet_send_prepare autobinds a UDP socket before anything else.
        if self.autobind(r).is_err() {
            return self.deny(Rule::NoEphemeralPort, Errno::EAGAIN);
        }
        // udp_sendmsg / udpv6_sendmsg, in their order.
        if data.len() > 0xffff {
            return self.deny(Rule::UdpTooBig, Errno::EMSGSIZE);
        }
        let dst = match self.udp_destination(r, to) {
            Ok(d) => d,
            Err(refused) => return refused,
        };
        let max = if v4_of(dst.ip()).is_some() { UDP_MAX.0 } else { UDP_MAX.1 };
        if data.len() > max {
            return self.deny(Rule::UdpTooBig, Errno::EMSGSIZE);
        }
        // sock_alloc_send_pskb: a pending error first, then SEND_SHUTDOWN.
        if let Some(e) = self.socks[r].err.take() {
            return self.deny(Rule::PendingError, e);
        }
        if self.socks[r].shutdown & 2 != 0 {
            return self.deny(Rule::UdpShutForSending, Errno::EPIPE);
        }
        let src = SocketAddr::new(self.source_for(r, dst), self.isk(r).port());
        match self.udp_target(src, dst) {
            Err(why) => self.wait(Rule::ModelUndetermined, Block::undetermined(why)),
            Ok(Some(t)) => self.udp_enqueue(r, t, data),
            Ok(None) => {
                self.udp_port_unreachable(r, src, dst);
                Outcome::ok(data.len() as i64)
            }
        }
    }

    /// Where a UDP send goes: `to` (routed, from a unicast source), else the connected peer;
    /// the refusal otherwise.
    fn udp_destination(&mut self, r: SockRef, to: Option<&SockAddr>) -> Result<SocketAddr, Outcome> {
        match to {
            // The executor has no AF_UNSPEC destination (udpv6 would read it as "none").
            Some(SockAddr::Unspec) => Err(self.deny(Rule::UdpPortZero, Errno::EINVAL)),
            Some(a) => match self.destination_form(r, a, false) {
                // udp_sendmsg: port 0 is refused before the route is looked up.
                Ok(d) if d.port() == 0 => Err(self.deny(Rule::UdpPortZero, Errno::EINVAL)),
                Ok(d) => match self.route_from(r, d, false).and_then(|()| self.unicast_source(r)) {
                    Ok(()) => Ok(d),
                    Err((rule, out)) => Err(self.by(rule, out)),
                },
                Err(e) => Err(self.refuse(e)),
            },
            None => match (self.socks[r].state, self.isk(r).remote) {
                // udpv6_sendmsg sends to a v4-mapped peer through udp_sendmsg with the peer as
                // the address, whose port 0 is EINVAL.
                (SkState::Established, Some(d)) if d.port() == 0 && v4_of(d.ip()).is_some() && d.is_ipv6() => {
                    Err(self.deny(Rule::UdpPortZero, Errno::EINVAL))
                }
                // A peer outside the host (a connect there is only a route lookup): what is
                // sent to it leaves the host.
                (SkState::Established, Some(d)) => match self.route_from(r, d, false) {
                    Ok(()) => Ok(d),
                    Err((rule, out)) => Err(self.by(rule, out)),
                },
                _ => Err(self.deny(Rule::UdpNoDestination, Errno::EDESTADDRREQ)),
            },
        }
    }

    /// The datagram queued on the receiving socket `t`, or dropped when its receive buffer is
    /// full (the send succeeds either way).
    fn udp_enqueue(&mut self, r: SockRef, t: SockRef, data: &[u8]) -> Outcome {
        // __udp_enqueue_schedule_skb (6.18): dropped, silently, when the queue is not
        // empty and sk_rmem_alloc + this datagram's truesize passes sk_rcvbuf (a live
        // check: 832-byte charges against 2304 take two). The charges are known within
        // bounds only: a drop the bounds cannot settle is undetermined.
        let (lo, hi) = self.isk(t).rmem;
        let (tlo, thi) = udp_truesize(data.len());
        let rcvbuf = self.socks[t].rcvbuf;
        if lo > 0 && lo + tlo > rcvbuf {
            return Outcome::ok(data.len() as i64); // dropped
        }
        if hi > 0 && hi + thi > rcvbuf {
            let why = format!(
                "the receiver holds {lo}..{hi} bytes of datagrams against a receive buffer of {rcvbuf}: whether this one is dropped depends on truesizes the model knows within bounds"
            );
            return self.wait(Rule::ModelUndetermined, Block::undetermined(why));
        }
        let i = self.isk_mut(t);
        i.rmem = (i.rmem.0 + tlo, i.rmem.1 + thi);
        self.socks[t].queue.push_back(Skb::inet(r, data));
        Outcome::ok(data.len() as i64)
    }

    /// No socket takes a datagram from `src` to `dst`: ICMP port unreachable, at once on
    /// loopback (no rate limit on lo), a hard error for a connected sender only (udp_err
    /// without IP_RECVERR).
    fn udp_port_unreachable(&mut self, r: SockRef, src: SocketAddr, dst: SocketAddr) {
        // The ICMP error finds the sender by the reversed addresses, so only a socket
        // connected to that very destination takes it.
        // (udp compute_score: a connected port 0 matches any port.)
        let i = self.isk(r);
        let to_peer =
            i.remote.map(mapped).is_some_and(|rm| {
                let d = mapped(dst);
                rm.ip() == d.ip() && (rm.port() == 0 || rm.port() == d.port())
            }) && (i.rcv4().is_unspecified() || Some(i.rcv4()) == v4_of(src.ip()) || v4_of(dst.ip()).is_none());
        if self.socks[r].state == SkState::Established && to_peer {
            self.socks[r].err = Some(Errno::ECONNREFUSED);
        }
    }

    pub(super) fn udp_recv(&mut self, r: SockRef, len: usize, peek: bool) -> Outcome {
        // __skb_recv_udp: a pending error before any datagram.
        if let Some(e) = self.socks[r].err.take() {
            return self.deny(Rule::PendingError, e);
        }
        let Some(skb) = self.socks[r].queue.front() else {
            let s = &self.socks[r];
            if s.nonblock {
                return self.deny(Rule::UdpRecvEmpty, Errno::EAGAIN);
            }
            if s.shutdown & 1 != 0 {
                return Outcome::Read { data: Payload(Vec::new()), rights: Vec::new(), truncated: false };
            }
            return self.wait(Rule::UdpRecvEmpty, Block::RecvEmpty);
        };
        let take = len.min(skb.data.len());
        let truncated = take < skb.data.len();
        let data = skb.data[..take].to_vec();
        if !peek {
            if let Some(skb) = self.socks[r].queue.pop_front() {
                let (tlo, thi) = udp_truesize(skb.data.len());
                let i = self.isk_mut(r);
                i.rmem = (i.rmem.0 - tlo, i.rmem.1 - thi);
            }
        }
        Outcome::Read { data: Payload(data), rights: Vec::new(), truncated }
    }
}
