//! What a socket drops: a reference (`put`), itself once none is left (`unix_release_sock`,
//! §1.6: names, the peer's shutdown and ECONNRESET, its queue with the fds and embryos in it),
//! and a dgram socket's queue when it disconnects.

use crate::image::UnixAddr;
use crate::sim::ops::Errno;
use crate::sim::state::{Kernel, Skb, SockRef};
use crate::sock::SkState;

impl Kernel {
    /// Drop one reference; release the socket when none is left.
    pub(in crate::sim) fn put(&mut self, r: SockRef) {
        let s = &mut self.socks[r];
        s.refs = s.refs.saturating_sub(1);
        if s.refs == 0 && !s.dead && s.embryo_of.is_none() {
            self.release(r);
        }
    }

    /// `unix_release_sock` (§1.6).
    fn release(&mut self, r: SockRef) {
        if self.inet.contains_key(&r) {
            self.inet_release(r);
            return;
        }
        let was_embryo_listener = self.socks[r].state == SkState::Listen;
        self.socks[r].dead = true;
        self.set_state(r, SkState::Close);
        if let Some(UnixAddr::Abstract(a)) = &self.socks[r].name {
            let key = (self.socks[r].ty, a.to_vec());
            if self.abstract_names.get(&key) == Some(&r) {
                self.abstract_names.remove(&key);
            }
        }
        if let Some(ino) = self.socks[r].ino {
            if self.bound_inodes.get(&ino) == Some(&r) {
                self.bound_inodes.remove(&ino); // close() never unlinks the file (§3)
            }
        }
        // The peer gets ECONNRESET when unread bytes are left: empty records do not count
        // (live 6.18: a queued zero-length seqpacket record leaves SO_ERROR 0; found by the
        // differential test).
        let queue_nonempty = self.socks[r].queue.iter().any(|skb| !skb.data.is_empty());
        if let Some(p) = self.socks[r].peer.take() {
            if self.socks[r].ty.is_connection_oriented() && p != r {
                let embrion = self.socks[r].embryo_of.is_some();
                let ps = &mut self.socks[p];
                ps.shutdown = crate::wire::SHUTDOWN_MASK;
                if queue_nonempty || embrion {
                    ps.err = Some(Errno::ECONNRESET);
                }
                // The survivor keeps pointing at us (unix_peer(skpair) is not cleared).
            }
        }
        let queue: Vec<Skb> = self.socks[r].queue.drain(..).collect();
        for skb in queue {
            self.drop_skb(skb, was_embryo_listener);
        }
    }

    fn drop_skb(&mut self, skb: Skb, from_listener: bool) {
        if let Some(s) = self.socks.get_mut(skb.from) {
            s.wmem -= skb.truesize;
        }
        if let Some(e) = skb.embryo {
            // A listener closing resets its pending clients (§1.6).
            if from_listener {
                self.socks[e].embryo_of = None;
                self.socks[e].refs = 0;
                let q: Vec<Skb> = self.socks[e].queue.drain(..).collect();
                for s in q {
                    self.drop_skb(s, false);
                }
                self.socks[e].queue.clear();
                let embryo_peer = self.socks[e].peer;
                self.socks[e].dead = true;
                self.set_state(e, SkState::Close);
                if let Some(c) = embryo_peer {
                    let cs = &mut self.socks[c];
                    cs.shutdown = crate::wire::SHUTDOWN_MASK;
                    cs.err = Some(Errno::ECONNRESET);
                }
            }
        }
        for f in skb.rights {
            self.put(f);
        }
    }

    pub(in crate::sim) fn dgram_disconnected(&mut self, r: SockRef, old: SockRef) {
        // unix_dgram_disconnected (§2.1): purge our queue; ECONNRESET to an old peer connected
        // back to us if something was queued.
        let had = !self.socks[r].queue.is_empty();
        let q: Vec<Skb> = self.socks[r].queue.drain(..).collect();
        for skb in q {
            self.drop_skb(skb, false);
        }
        if had && self.socks[old].peer == Some(r) {
            self.socks[old].err = Some(Errno::ECONNRESET);
        }
    }
}
