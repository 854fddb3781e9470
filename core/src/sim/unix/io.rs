//! `sendmsg` (stream: cut into skbs, fds on the first; seqpacket and dgram: one skb; the
//! out-of-band byte) and `recvmsg` (§1.7, §2.2, §4.2, §4.4).

use super::buffers::{stream_chunk, UNIX_DGRAM_MAX};
use crate::sim::ops::{Block, Errno, Outcome, Payload, Slot, SockAddr, SockType};
use crate::sim::rule::Rule;
use crate::sim::state::{truesize, Kernel, Skb, SockRef};
use crate::sock::SkState;

impl Kernel {
    /// `send(MSG_OOB)` of one byte on an AF_UNIX stream socket.
    pub(in crate::sim) fn unix_send_oob(&mut self, r: SockRef, byte: u8, rights: &[Slot]) -> Outcome {
        let mut fds = Vec::new();
        for s in rights {
            match self.slots.get(s).copied() {
                Some(x) => fds.push(x),
                None => return self.deny(Rule::BadFd, Errno::EBADF),
            }
        }
        if self.socks[r].ty != SockType::Stream {
            return self.deny(Rule::OobNeedsStream, Errno::EOPNOTSUPP);
        }
        // unix_stream_sendmsg + queue_oob: the one byte is its own skb (fds ride it), which
        // becomes the peer's oob_skb; the one before, if any, ordinary data.
        // DEVIATION: queue_oob's checks (dead or RCV_SHUTDOWN peer: EPIPE) are those of an
        // ordinary send here, and a recv in this model reads the byte inline (no stop at the
        // mark, no skipping it without SO_OOBINLINE): plans only send.
        let out = self.stream_send(r, None, &[byte], &fds);
        if matches!(out, Outcome::Ok { value: 1 }) {
            if let Some(other) = self.socks[r].peer {
                let q = &mut self.socks[other].queue;
                q.iter_mut().for_each(|skb| skb.oob = false);
                if let Some(last) = q.back_mut() {
                    last.oob = true;
                }
            }
        }
        out
    }

    /// `sendmsg()` on an AF_UNIX socket: the SCM_RIGHTS fds looked up, then the send of its type.
    pub(in crate::sim) fn unix_send(
        &mut self,
        r: SockRef,
        to: Option<&SockAddr>,
        data: &[u8],
        rights: &[Slot],
    ) -> Outcome {
        let mut fds = Vec::new();
        for s in rights {
            match self.slots.get(s).copied() {
                Some(x) => fds.push(x),
                None => return self.deny(Rule::BadFd, Errno::EBADF),
            }
        }
        if fds.len() > crate::wire::SCM_MAX_FD as usize {
            return self.deny(Rule::TooManyFdsInOneMessage, Errno::EINVAL);
            // §4.4: SCM_MAX_FD
        }
        match self.socks[r].ty {
            SockType::Stream => self.stream_send(r, to, data, &fds),
            SockType::Seqpacket => {
                // unix_seqpacket_sendmsg: a pending error (sock_error), then ENOTCONN;
                // the address is ignored (§1.7; the error first: differential test).
                if let Some(e) = self.socks[r].err.take() {
                    return self.deny(Rule::PendingError, e);
                }
                if self.socks[r].state != SkState::Established {
                    return self.deny(Rule::NotConnected, Errno::ENOTCONN);
                }
                self.dgram_send(r, None, data, &fds)
            }
            SockType::Dgram => self.dgram_send(r, to, data, &fds),
        }
    }

    pub(in crate::sim) fn stream_send(
        &mut self,
        r: SockRef,
        to: Option<&SockAddr>,
        data: &[u8],
        fds: &[SockRef],
    ) -> Outcome {
        // unix_stream_sendmsg (§1.7, §4.2).
        if to.is_some() {
            let e = if self.socks[r].state == SkState::Established { Errno::EISCONN } else { Errno::EOPNOTSUPP };
            return self.deny(Rule::StreamSendWithAddress, e);
        }
        let Some(other) = self.socks[r].peer else { return self.deny(Rule::NotConnected, Errno::ENOTCONN) };
        if self.socks[r].shutdown & 2 != 0 {
            return self.deny(Rule::ShutForSending, Errno::EPIPE);
        }
        // `while (sent < len)`: a zero-length write queues nothing (not even its fds) and
        // returns 0 (af_unix.md §4.6; found by the differential test).
        if data.is_empty() {
            return Outcome::ok(0);
        }
        // Chunks of `stream_chunk` bytes; fds ride the first one.
        let chunk = stream_chunk(self.socks[r].sndbuf);
        let mut sent = 0usize;
        let mut first = true;
        loop {
            if let Some(e) = self.socks[r].err.take() {
                if sent == 0 {
                    return self.deny(Rule::PendingError, e);
                }
                self.socks[r].err = Some(e);
                break;
            }
            let o = &self.socks[other];
            if o.dead || o.shutdown & 1 != 0 {
                return if sent == 0 {
                    self.deny(Rule::PeerClosedOrShutRd, Errno::EPIPE)
                } else {
                    Outcome::ok(sent as i64)
                };
            }
            let n = (data.len() - sent).min(chunk);
            let t = match self.charge(r, n) {
                Ok(t) => t,
                Err(_) if sent == 0 && self.socks[r].nonblock => {
                    return self.deny(Rule::SendBufferFull, Errno::EAGAIN);
                }
                Err(_) if self.socks[r].nonblock => break,
                Err(block) => return self.wait(Rule::SendBufferFull, block),
            };
            let rights = if first { fds.to_vec() } else { Vec::new() };
            for &f in &rights {
                self.socks[f].refs += 1;
            }
            self.socks[other].queue.push_back(Skb {
                from: r,
                data: data[sent..sent + n].to_vec(),
                rights,
                embryo: None,
                truesize: t,
                oob: false,
            });
            sent += n;
            first = false;
            if sent >= data.len() {
                break;
            }
        }
        Outcome::ok(sent as i64)
    }

    pub(in crate::sim) fn dgram_send(
        &mut self,
        r: SockRef,
        to: Option<&SockAddr>,
        data: &[u8],
        fds: &[SockRef],
    ) -> Outcome {
        // unix_dgram_sendmsg, check order of §2.2.
        if matches!(to, Some(SockAddr::Autobind | SockAddr::Unspec | SockAddr::Inet(_))) {
            return self.deny(Rule::NotAUnixAddress, Errno::EINVAL);
        }
        if let Err(e) = self.maybe_autobind(r) {
            return self.refuse(e);
        }
        if data.len() as i64 > self.socks[r].sndbuf - 32 {
            return self.deny(Rule::DgramTooBig, Errno::EMSGSIZE);
        }
        if let Some(e) = self.socks[r].err.take() {
            return self.deny(Rule::PendingError, e);
        }
        if self.socks[r].shutdown & 2 != 0 {
            return self.deny(Rule::ShutForSending, Errno::EPIPE);
        }
        if self.socks[r].wmem >= self.socks[r].sndbuf {
            if self.socks[r].nonblock {
                return self.deny(Rule::SendBufferFull, Errno::EAGAIN);
            }
            let s = &self.socks[r];
            let block = Block::SndBuf { wmem: s.wmem, sndbuf: s.sndbuf };
            return self.wait(Rule::SendBufferFull, block);
        }
        // sock_alloc_send_pskb: the skb is allocated after the error, shutdown and wmem checks.
        if data.len() > UNIX_DGRAM_MAX {
            return self.deny(Rule::DgramOverSkbMax, Errno::ENOBUFS);
        }
        let ty = self.socks[r].ty;
        let other = match to {
            Some(a) => match self.find_other(a, ty) {
                Ok(o) => o,
                Err(e) => return self.refuse(e),
            },
            None => match self.socks[r].peer {
                Some(p) => p,
                None => return self.deny(Rule::NotConnected, Errno::ENOTCONN),
            },
        };
        if let Some(op) = self.socks[other].peer {
            if op != r && ty == SockType::Dgram {
                return self.deny(Rule::DgramPeerTaken, Errno::EPERM);
            }
        }
        if self.socks[other].dead {
            if self.socks[r].peer == Some(other) {
                self.socks[r].peer = None;
                self.set_state(r, SkState::Close);
                self.dgram_disconnected(r, other);
            }
            return self.deny(Rule::DgramPeerClosed, Errno::ECONNREFUSED);
        }
        if self.socks[other].shutdown & 1 != 0 {
            return self.deny(Rule::PeerClosedOrShutRd, Errno::EPIPE);
        }
        let o = &self.socks[other];
        if other != r && o.peer != Some(r) && o.queue.len() as i64 > o.max_ack_backlog {
            if self.socks[r].nonblock {
                return self.deny(Rule::DgramReceiverQueueFull, Errno::EAGAIN);
            }
            let block = Block::DgramQueueFull { qlen: o.queue.len(), limit: o.max_ack_backlog };
            return self.wait(Rule::DgramReceiverQueueFull, block);
        }
        let t = truesize(data.len());
        self.socks[r].wmem += t;
        for &f in fds {
            self.socks[f].refs += 1;
        }
        self.socks[other].queue.push_back(Skb {
            from: r,
            data: data.to_vec(),
            rights: fds.to_vec(),
            embryo: None,
            truesize: t,
            oob: false,
        });
        Outcome::ok(data.len() as i64)
    }

    pub(in crate::sim) fn recv(&mut self, r: SockRef, len: usize, peek: bool) -> Outcome {
        let s = &self.socks[r];
        match s.ty {
            SockType::Stream if s.state != SkState::Established => {
                return self.deny(Rule::StreamRecvNotConnected, Errno::EINVAL)
            }
            SockType::Seqpacket if s.state != SkState::Established => {
                return self.deny(Rule::StreamRecvNotConnected, Errno::ENOTCONN)
            }
            _ => {}
        }
        // Datagram reads report a pending sk_err first (__skb_try_recv_datagram); stream reads
        // only once the queue is empty (unix_stream_read_generic; found by the differential test).
        let stream = self.socks[r].ty == SockType::Stream;
        if !stream || self.socks[r].queue.is_empty() {
            if let Some(e) = self.socks[r].err.take() {
                return self.deny(Rule::PendingError, e);
            }
        }
        if self.socks[r].queue.is_empty() {
            let s = &self.socks[r];
            if s.shutdown & 1 != 0 {
                // Empty after SHUT_RD (or a closed stream peer): EOF. Nonblocking dgram: EAGAIN.
                if s.ty == SockType::Dgram && s.nonblock {
                    return self.deny(Rule::DgramRecvShutNonblocking, Errno::EAGAIN);
                }
                return Outcome::Read { data: Payload(Vec::new()), rights: Vec::new(), truncated: false };
            }
            if s.nonblock {
                return self.deny(Rule::RecvQueueEmpty, Errno::EAGAIN);
            }
            return self.wait(Rule::RecvQueueEmpty, Block::RecvEmpty);
        }
        let mut out = Vec::new();
        let mut rights = Vec::new();
        let mut truncated = false;
        if self.socks[r].ty == SockType::Stream {
            (out, rights) = self.read_stream(r, len, peek);
        } else {
            let Some(skb) = self.socks[r].queue.front() else {
                return self.wait(Rule::RecvQueueEmpty, Block::RecvEmpty);
            };
            let take = len.min(skb.data.len());
            truncated = take < skb.data.len();
            out.extend_from_slice(&skb.data[..take]);
            if peek {
                rights = skb.rights.clone(); // MSG_PEEK installs duplicates (§4.4)
            } else if let Some(skb) = self.socks[r].queue.pop_front() {
                rights = skb.rights;
                if let Some(s) = self.socks.get_mut(skb.from) {
                    s.wmem -= skb.truesize;
                }
            }
        }
        // Received fds become new slots numbered after every slot in use.
        let mut new_slots = Vec::new();
        for f in rights {
            let slot = self.slots.last_key().map_or(1, |k| k + 1);
            self.slots.insert(slot, f); // the in-flight reference moves to the slot…
            if peek {
                self.socks[f].refs += 1; // …or, for a peek, a new reference is made
            }
            new_slots.push(slot);
        }
        Outcome::Read { data: Payload(out), rights: new_slots, truncated }
    }
}
