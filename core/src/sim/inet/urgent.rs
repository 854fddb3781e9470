//! TCP urgent data (`send(MSG_OOB)`) and what the receiver's reads make of it (net/ipv4/tcp.c
//! `tcp_recvmsg_locked`, `tcp_recv_urg`; tcp_input.c `tcp_check_urg`, `tcp_urg`; Linux 6.18).
//!
//! The receiver keeps one urgent byte (`tp->urg_data`, at `tp->urg_seq`): here the receive
//! queue's skb with `oob` set, the 1-byte skb of an [`Op::SendOob`]. A read that has copied
//! bytes stops at it; one that starts there skips it without `SO_OOBINLINE` (the `urg_hole`)
//! or reads it inline with it, and in both cases the mark goes once the reader has passed it.
//! A peek stops there too (the only place a TCP peek stops early) and, from the mark, skips
//! the byte the same way without taking it. A later urgent byte moves the mark: the earlier
//! one becomes ordinary data, unless it is the next byte to read and the receiver has no
//! `SO_OOBINLINE`, when it is dropped (`tcp_check_urg`: `copied_seq++`).
//!
//! DEVIATION: the model has no `recv(MSG_OOB)` and no `SIOCATMARK` (no operation reads or
//! asks the byte: a plan only sends it), so the byte is never "already read" (`TCP_URG_READ`,
//! the hole and the mark left without the byte), and it always arrives with its urgent
//! pointer (never `TCP_URG_NOTYET`: loopback delivers the segment whole).

use super::*;

impl Kernel {
    /// `send(MSG_OOB)` of one byte on a TCP socket: an ordinary send of it (`tcp_sendmsg_locked`;
    /// `tcp_push` sets `snd_up` past it), after which the receiver's urgent pointer names it.
    pub(super) fn tcp_send_oob(&mut self, r: SockRef, byte: u8) -> Outcome {
        let peer = self.socks[r].peer;
        let before = peer.map_or(0, |p| self.socks[p].queue.len());
        let out = self.tcp_send(r, &[byte]);
        let Some(p) = peer else { return out };
        if !matches!(out, Outcome::Ok { value: 1 }) || self.socks[p].queue.len() != before + 1 {
            return out; // nothing reached the receiver (a reset, an error)
        }
        // tcp_check_urg, on the header that carries the new pointer (before its data queues).
        let inline = self.urg_inline(p);
        let q = &mut self.socks[p].queue;
        if let Some(old) = q.iter().take(before).position(|b| b.oob) {
            let at_head = q.iter().take(old).all(|b| b.data.is_empty());
            if at_head && !inline {
                q.remove(old); // the unread urgent byte at the head is skipped for good
            } else if let Some(b) = q.get_mut(old) {
                b.oob = false; // it stays, as ordinary data
            }
        }
        if let Some(last) = q.back_mut() {
            last.oob = true;
        }
        out
    }

    /// `send(MSG_OOB)` of one byte on a UDP socket: `inet_send_prepare` autobinds it, then
    /// `udp_sendmsg` refuses MSG_OOB; `udpv6_sendmsg` never looks at the flag and sends the byte
    /// as a datagram, unless its destination is v4-mapped (handed to `udp_sendmsg`). Live
    /// 6.18.44: AF_INET EOPNOTSUPP with a port bound; AF_INET6 connected 1, unconnected
    /// EDESTADDRREQ (found by the random traces, differential_inet.rs).
    pub(super) fn udp_send_oob(&mut self, r: SockRef, byte: u8) -> Outcome {
        let i = self.isk(r);
        let to_v4 = i.remote.is_some_and(|a| v4_of(a.ip()).is_some());
        if i.family == InetFamily::Inet6 && !to_v4 {
            return self.udp_send(r, None, &[byte]);
        }
        if self.autobind(r).is_err() {
            return self.deny(Rule::NoEphemeralPort, Errno::EAGAIN);
        }
        self.deny(Rule::OobNeedsStream, Errno::EOPNOTSUPP)
    }

    /// The receiver's `SO_OOBINLINE` (`SOCK_URGINLINE`), which decides at read time whether the
    /// urgent byte reads inline.
    fn urg_inline(&self, r: SockRef) -> bool {
        self.opt(r, OptName::OobInline) == Some(SockOpt::OobInline(true))
    }

    /// Up to `len` bytes from the head of TCP socket `r`'s receive queue (consumed unless
    /// `peek`), as `tcp_recvmsg_locked` copies them around the urgent mark.
    pub(super) fn tcp_read(&mut self, r: SockRef, len: usize, peek: bool) -> Vec<u8> {
        let q = &self.socks[r].queue;
        let Some(mark) = q.iter().position(|b| b.oob) else { return self.read_stream(r, len, peek).0 };
        let before: usize = q.iter().take(mark).map(|b| b.data.len()).sum();
        if before > 0 || len == 0 || self.urg_inline(r) {
            // "Stop if we have read anything": a read that copied bytes ends at the mark; from
            // the mark, SO_OOBINLINE reads the byte as data (the mark goes with its skb).
            let upto = if before > 0 { len.min(before) } else { len };
            return self.read_stream(r, upto, peek).0;
        }
        // At the mark without SO_OOBINLINE: the byte is skipped (urg_hole), the read goes on.
        if peek {
            let mut out = Vec::new();
            for skb in self.socks[r].queue.iter().filter(|b| !b.oob) {
                let take = (len - out.len()).min(skb.data.len());
                out.extend_from_slice(&skb.data[..take]);
            }
            return out;
        }
        self.socks[r].queue.remove(mark);
        self.read_stream(r, len, false).0
    }
}
