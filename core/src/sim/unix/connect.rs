//! `listen`, `connect` (stream and seqpacket: an embryo on the listener's queue; dgram: the
//! peer, or AF_UNSPEC's disconnect) and `accept` (§1.1, §1.3, §1.4, §2.1).

use crate::sim::ops::{Block, Errno, Outcome, Slot, SockAddr, SockType};
use crate::sim::rule::Rule;
use crate::sim::state::{Kernel, Skb, SockRef};
use crate::sock::SkState;

impl Kernel {
    pub(in crate::sim) fn listen(&mut self, r: SockRef, backlog: i64) -> Outcome {
        // net/socket.c:1918-1924: (unsigned)backlog > somaxconn → somaxconn.
        let backlog = if backlog < 0 || backlog > self.sysctl.somaxconn { self.sysctl.somaxconn } else { backlog };
        let s = &self.socks[r];
        // §1.1, in this order.
        if !s.ty.is_connection_oriented() {
            return self.deny(Rule::ListenOnDgram, Errno::EOPNOTSUPP);
        }
        if s.name.is_none() {
            return self.deny(Rule::ListenUnbound, Errno::EINVAL);
        }
        if s.state != SkState::Close && s.state != SkState::Listen {
            return self.deny(Rule::ListenConnected, Errno::EINVAL);
        }
        self.socks[r].max_ack_backlog = backlog;
        self.set_state(r, SkState::Listen);
        Outcome::ok(0)
    }

    pub(in crate::sim) fn stream_connect(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        // §1.3, in the kernel's order.
        if matches!(addr, SockAddr::Autobind | SockAddr::Unspec | SockAddr::Inet(_)) {
            return self.deny(Rule::NotAUnixAddress, Errno::EINVAL);
        }
        if let Err(e) = self.maybe_autobind(r) {
            return self.refuse(e);
        }
        let ty = self.socks[r].ty;
        let other = match self.find_other(addr, ty) {
            Ok(o) => o,
            Err(e) => return self.refuse(e),
        };
        let o = &self.socks[other];
        if o.state != SkState::Listen || o.shutdown & 1 != 0 {
            return self.deny(Rule::NotListening, Errno::ECONNREFUSED);
        }
        let (pending, backlog) = (o.queue.len(), o.max_ack_backlog);
        if pending as i64 > backlog {
            if self.socks[r].nonblock {
                return self.deny(Rule::BacklogFull, Errno::EAGAIN);
            }
            return self.wait(Rule::BacklogFull, Block::BacklogFull { pending, backlog });
        }
        // The caller's own state is checked only now (§1.3 step 6).
        match self.socks[r].state {
            SkState::Established => return self.deny(Rule::AlreadyConnected, Errno::EISCONN),
            SkState::Listen => return self.deny(Rule::ConnectWhileListening, Errno::EINVAL),
            _ => {}
        }
        let embryo = self.new_sock(ty);
        let (lname, lino, lpass) = (self.socks[other].name.clone(), self.socks[other].ino, self.socks[other].passcred);
        self.set_state(embryo, SkState::Established);
        let e = &mut self.socks[embryo];
        e.peer = Some(r);
        e.name = lname; // the embryo inherits the listener's name (§1.3)
        e.ino = lino;
        e.passcred = lpass;
        e.embryo_of = Some(other);
        self.set_state(r, SkState::Established);
        self.socks[r].peer = Some(embryo);
        self.socks[other].queue.push_back(Skb {
            from: r,
            data: Vec::new(),
            rights: Vec::new(),
            embryo: Some(embryo),
            truesize: 0,
            oob: false,
        });
        Outcome::ok(0)
    }

    pub(in crate::sim) fn dgram_connect(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        if matches!(addr, SockAddr::Unspec) {
            // §2.1: AF_UNSPEC disconnects, even when not connected.
            if let Some(old) = self.socks[r].peer.take() {
                self.set_state(r, SkState::Close);
                if self.socks[old].peer.is_none() {
                    self.set_state(old, SkState::Close);
                }
                self.dgram_disconnected(r, old);
            }
            return Outcome::ok(0);
        }
        if matches!(addr, SockAddr::Autobind | SockAddr::Inet(_)) {
            return self.deny(Rule::NotAUnixAddress, Errno::EINVAL);
        }
        if let Err(e) = self.maybe_autobind(r) {
            return self.refuse(e);
        }
        let other = match self.find_other(addr, SockType::Dgram) {
            Ok(o) => o,
            Err(e) => return self.refuse(e),
        };
        // unix_may_send: the target must not be connected to a third socket.
        if let Some(op) = self.socks[other].peer {
            if op != r {
                return self.deny(Rule::DgramPeerTaken, Errno::EPERM);
            }
        }
        if let Some(old) = self.socks[r].peer {
            if old != other {
                self.dgram_disconnected(r, old);
            }
        }
        self.socks[r].peer = Some(other);
        // Since ~5.15 both ends become ESTABLISHED.
        self.set_state(r, SkState::Established);
        self.set_state(other, SkState::Established);
        Outcome::ok(0)
    }

    pub(in crate::sim) fn accept(&mut self, r: SockRef, new: Slot) -> Outcome {
        let s = &self.socks[r];
        if s.ty == SockType::Dgram {
            return self.deny(Rule::AcceptOnDgram, Errno::EOPNOTSUPP);
        }
        if s.state != SkState::Listen {
            return self.deny(Rule::AcceptNotListening, Errno::EINVAL);
        }
        let Some(skb) = self.socks[r].queue.pop_front() else {
            if self.socks[r].nonblock {
                return self.deny(Rule::AcceptQueueEmpty, Errno::EAGAIN);
            }
            if self.socks[r].shutdown & 1 != 0 {
                return self.deny(Rule::AcceptAfterShutRd, Errno::EINVAL); // §1.4: blocking accept after SHUT_RD
            }
            return self.wait(Rule::AcceptQueueEmpty, Block::AcceptEmpty);
        };
        let Some(e) = skb.embryo else {
            return Outcome::Invalid { why: "listener queue holds a data skb".into() };
        };
        self.socks[e].embryo_of = None;
        self.attach(new, e);
        Outcome::ok(0)
    }
}
