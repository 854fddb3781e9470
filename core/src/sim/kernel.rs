//! A simulated Linux AF_UNIX socket layer: no clock, no randomness, deterministic iteration.
//!
//! Every rule cites `net/unix/af_unix.c` of Linux 6.18 through `../shared/reference/af_unix.md`
//! (section numbers in comments). Deviations from Linux are marked `DEVIATION:` where they happen.
//! All transitions go through [`Kernel::apply`], one `match` over the operation. This file holds
//! it and the calls answered in a few lines (socketpair, shutdown, setsockopt, place); the
//! AF_UNIX rules of each job are under `sim/unix/` (names, connect, send and receive, buffers,
//! release), those of TCP/UDP under `sim/inet/`.

use super::ops::*;
use super::rule::Rule;
use super::state::join;
pub use super::state::{forced_rcvbuf, forced_sndbuf, SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF};
pub use super::state::{truesize, FsNode, Kernel, PerSock, SimSock, Skb, SlotTable, SockRef, Sysctls};
pub use super::unix::buffers::{stream_chunk, stream_truesize, UNIX_DGRAM_MAX, UNIX_STREAM_SKB_MAX};
use crate::sock::SkState;

impl Kernel {
    /// Apply one operation. [`Kernel::last_rule`] says afterwards which rule refused it or made
    /// it wait.
    pub fn apply(&mut self, op: &Op) -> Outcome {
        self.last_rule = None;
        let out = self.transition(op);
        if out.is_ok() {
            self.last_rule = None; // a refusal inside that the call recovered from
        }
        out
    }

    /// The one `match` of every operation ([`Kernel::apply`]).
    fn transition(&mut self, op: &Op) -> Outcome {
        // AF_INET/AF_INET6 sockets have their own transitions (sim/inet/).
        if let Some(out) = self.inet_apply(op) {
            return out;
        }
        match op {
            Op::Socket { slot, ty } => {
                if self.slots.contains_key(slot) {
                    return Outcome::Invalid { why: format!("slot {slot} is already open") };
                }
                let r = self.new_sock(*ty);
                self.attach(*slot, r);
                Outcome::ok(0)
            }
            // Answered by inet_apply above.
            Op::SocketInet { .. } => Outcome::Invalid { why: "an INET socket op reached the AF_UNIX code".into() },
            Op::Socketpair { a, b, ty } => self.socketpair(*a, *b, *ty),
            Op::Bind { slot, addr } => self.on_sock(slot, |k, r| k.bind(r, addr)),
            Op::Unlink { path, stale_only } => self.unlink(&path.0, *stale_only),
            Op::Listen { slot, backlog } => self.on_sock(slot, |k, r| k.listen(r, i64::from(*backlog))),
            Op::Connect { slot, addr } => self.on_sock(slot, |k, r| {
                if k.socks[r].ty == SockType::Dgram {
                    k.dgram_connect(r, addr)
                } else {
                    k.stream_connect(r, addr)
                }
            }),
            Op::Accept { slot, new } => self.on_sock(slot, |k, r| {
                if k.slots.contains_key(new) {
                    return Outcome::Invalid { why: format!("slot {new} is already open") };
                }
                k.accept(r, *new)
            }),
            Op::Send { slot, to, data, rights } => {
                self.on_sock(slot, |k, r| k.unix_send(r, to.as_ref(), &data.0, rights))
            }
            Op::SendOob { slot, byte, rights } => self.on_sock(slot, |k, r| k.unix_send_oob(r, *byte, rights)),
            Op::Recv { slot, len, peek } => self.on_sock(slot, |k, r| k.recv(r, *len as usize, *peek)),
            Op::Shutdown { slot, how } => self.on_sock(slot, |k, r| k.unix_shutdown(r, *how)),
            Op::SetSockOpt { slot, opt } => self.on_sock(slot, |k, r| k.unix_setsockopt(r, *opt)),
            Op::SetNonblock { slot, on } => self.on_sock(slot, |k, r| {
                k.socks[r].nonblock = *on;
                Outcome::ok(0)
            }),
            Op::Close { slot } => match self.slots.remove(slot) {
                Some(r) => {
                    self.put(r);
                    Outcome::ok(0)
                }
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
            Op::Chdir { path } => {
                // DEVIATION: directories are not modelled; every absolute directory exists.
                self.cwd = join(&self.cwd, &path.0);
                Outcome::ok(0)
            }
            Op::SetSysctl { name, value } => {
                match name {
                    Sysctl::MaxDgramQlen => self.sysctl.max_dgram_qlen = *value,
                    Sysctl::Somaxconn => self.sysctl.somaxconn = *value,
                }
                Outcome::ok(0)
            }
            Op::Place { slot, pid, fd, cloexec, .. } => self.on_sock(slot, |k, r| k.place(r, *pid, *fd, *cloexec)),
        }
    }

    /// `f` on the socket open in `slot`; EBADF when none is.
    fn on_sock(&mut self, slot: &Slot, f: impl FnOnce(&mut Kernel, SockRef) -> Outcome) -> Outcome {
        match self.slots.get(slot).copied() {
            Some(r) => f(self, r),
            None => self.deny(Rule::BadFd, Errno::EBADF),
        }
    }

    /// `socketpair()` into slots `a` and `b`.
    fn socketpair(&mut self, a: Slot, b: Slot, ty: SockType) -> Outcome {
        if self.slots.contains_key(&a) || self.slots.contains_key(&b) || a == b {
            return Outcome::Invalid { why: format!("slots {a}/{b} are not two free slots") };
        }
        // §4.1: both ends ESTABLISHED (dgram included since 5.15), peers of each other.
        let (ra, rb) = (self.new_sock(ty), self.new_sock(ty));
        for (x, y) in [(ra, rb), (rb, ra)] {
            self.set_state(x, SkState::Established);
            let s = &mut self.socks[x];
            s.peer = Some(y);
            s.paired = true;
        }
        self.attach(a, ra);
        self.attach(b, rb);
        Outcome::ok(0)
    }

    /// `shutdown()` of an AF_UNIX socket.
    fn unix_shutdown(&mut self, r: SockRef, how: How) -> Outcome {
        // §4.2: no ENOTCONN; the peer of a stream/seqpacket socket gets the mirror bits.
        let bits = how.bits();
        self.socks[r].shutdown |= bits;
        if self.socks[r].ty.is_connection_oriented() {
            if let Some(p) = self.socks[r].peer {
                self.socks[p].shutdown |= How::mirror(bits);
            }
        }
        Outcome::ok(0)
    }

    /// The socket placed at `fd` of process `pid` (dup2: what was there is closed).
    fn place(&mut self, r: SockRef, pid: i32, fd: i32, cloexec: bool) -> Outcome {
        if fd < 0 {
            return self.deny(Rule::BadFdNumber, Errno::EBADF);
        }
        if let Some((old, _)) = self.fds.insert((pid, fd), (r, cloexec)) {
            self.put(old); // dup2 closes what was there
        }
        self.socks[r].refs += 1;
        Outcome::ok(i64::from(fd))
    }

    /// `setsockopt()` on an AF_UNIX socket: SOL_SOCKET options only.
    fn unix_setsockopt(&mut self, r: SockRef, opt: SockOpt) -> Outcome {
        if matches!(opt, SockOpt::V6Only(_)) || opt.recorded().is_some_and(OptName::is_tcp) {
            // An IPPROTO_IPV6 or IPPROTO_TCP option: AF_UNIX has no setsockopt
            // beyond SOL_SOCKET.
            return self.deny(Rule::OptionOfAnotherLevel, Errno::EOPNOTSUPP);
        }
        let s = &mut self.socks[r];
        let v = |x: i32| i64::from(x.max(0));
        match opt {
            // net/core/sock.c:1335-1352: max(2 * min(v, wmem_max), SOCK_MIN_SNDBUF).
            SockOpt::SndBuf(x) => s.sndbuf = (2 * v(x).min(self.sysctl.wmem_max)).max(SOCK_MIN_SNDBUF),
            SockOpt::SndBufForce(x) => s.sndbuf = forced_sndbuf(x),
            SockOpt::RcvBuf(x) => s.rcvbuf = (2 * v(x).min(self.sysctl.rmem_max)).max(SOCK_MIN_RCVBUF),
            SockOpt::RcvBufForce(x) => s.rcvbuf = forced_rcvbuf(x),
            SockOpt::PassCred(on) => s.passcred = on,
            SockOpt::ReuseAddr(_) | SockOpt::ReusePort(_) | SockOpt::V6Only(_) => {}
            o => super::state::store_opt(&mut s.opts, o),
        }
        Outcome::ok(0)
    }
}
