//! A simulated Linux AF_UNIX socket layer: no clock, no randomness, deterministic iteration.
//!
//! Every rule cites `net/unix/af_unix.c` of Linux 6.18 through `../shared/reference/af_unix.md`
//! (section numbers in comments). Deviations from Linux are marked `DEVIATION:` where they happen.
//! All transitions go through [`Kernel::apply`], one `match` over the operation.

use super::ops::*;
use super::rule::{Refusal, Rule};
use super::state::join;
pub use super::state::{truesize, FsNode, Kernel, PerSock, SimSock, Skb, SlotTable, SockRef, Sysctls};
pub use super::state::{SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF};
use crate::image::UnixAddr;
use crate::sock::SkState;

/// The largest skb `unix_stream_sendmsg` makes, whatever the sndbuf: `SKB_MAX_HEAD(0) +
/// UNIX_SKB_FRAGS_SZ`, 3,776 + 32,768 bytes with 4 KiB pages on x86_64 (checked on 6.18:
/// `differential::regressions::a_big_stream_send_is_split_at_the_kernels_skb_size`).
/// DEVIATION: other page sizes and `struct skb_shared_info` sizes give other values.
pub const UNIX_STREAM_SKB_MAX: usize = 3_776 + 32_768;

/// The size of the skbs `unix_stream_sendmsg` cuts a send into on a socket with this sndbuf:
/// at most sndbuf/2 - 64 bytes ("keep two messages in the pipe") and `UNIX_STREAM_SKB_MAX`.
pub fn stream_chunk(sndbuf: i64) -> usize {
    usize::try_from((sndbuf >> 1) - 64).unwrap_or(0).clamp(1, UNIX_STREAM_SKB_MAX)
}

/// What a stream send of `len` bytes charges its sender in all, cut at `chunk`.
pub fn stream_truesize(len: usize, chunk: usize) -> i64 {
    let chunk = chunk.max(1);
    let full = len / chunk;
    let rest = len % chunk;
    full as i64 * truesize(chunk) + if rest > 0 { truesize(rest) } else { 0 }
}

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

    /// `sendmsg()` on an AF_UNIX socket: the SCM_RIGHTS fds looked up, then the send of its type.
    /// `send(MSG_OOB)` of one byte on an AF_UNIX stream socket.
    fn unix_send_oob(&mut self, r: SockRef, byte: u8, rights: &[Slot]) -> Outcome {
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

    fn unix_send(&mut self, r: SockRef, to: Option<&SockAddr>, data: &[u8], rights: &[Slot]) -> Outcome {
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
            SockOpt::SndBufForce(x) => s.sndbuf = (2 * v(x)).max(SOCK_MIN_SNDBUF),
            SockOpt::RcvBuf(x) => s.rcvbuf = (2 * v(x).min(self.sysctl.rmem_max)).max(SOCK_MIN_RCVBUF),
            SockOpt::RcvBufForce(x) => s.rcvbuf = (2 * v(x)).max(SOCK_MIN_RCVBUF),
            SockOpt::PassCred(on) => s.passcred = on,
            SockOpt::ReuseAddr(_) | SockOpt::ReusePort(_) | SockOpt::V6Only(_) => {}
            o => super::state::store_opt(&mut s.opts, o),
        }
        Outcome::ok(0)
    }

    /// Drop one reference; release the socket when none is left.
    pub(super) fn put(&mut self, r: SockRef) {
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

    fn alloc_autobind(&mut self, ty: SockType) -> Result<Vec<u8>, Refusal> {
        // DEVIATION: Linux starts the 20-bit counter at a random value (§3); we start at 0 so
        // runs are reproducible.
        for _ in 0..(1u32 << 20) {
            let name = format!("{:05x}", self.autobind_next).into_bytes();
            self.autobind_next = (self.autobind_next + 1) & 0xfffff;
            if !self.abstract_names.contains_key(&(ty, name.clone())) {
                return Ok(name);
            }
        }
        Err(Refusal::new(Rule::AutobindExhausted, Errno::ENOSPC))
    }

    fn bind(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        let ty = self.socks[r].ty;
        match addr {
            SockAddr::Unspec | SockAddr::Inet(_) => self.deny(Rule::NotAUnixAddress, Errno::EINVAL),
            SockAddr::Autobind => {
                if self.socks[r].name.is_some() {
                    return Outcome::ok(0); // §3: autobind on a bound socket changes nothing
                }
                match self.alloc_autobind(ty) {
                    Ok(name) => {
                        self.abstract_names.insert((ty, name.clone()), r);
                        self.socks[r].name = Some(UnixAddr::Abstract(name.into()));
                        Outcome::ok(0)
                    }
                    Err(e) => self.refuse(e),
                }
            }
            SockAddr::Abstract(a) => {
                if a.len() > 107 {
                    return self.deny(Rule::AbstractNameTooLong, Errno::EINVAL);
                }
                if self.socks[r].name.is_some() {
                    return self.deny(Rule::AlreadyBound, Errno::EINVAL);
                }
                if self.abstract_names.contains_key(&(ty, a.clone())) {
                    return self.deny(Rule::AbstractNameInUse, Errno::EADDRINUSE);
                }
                self.abstract_names.insert((ty, a.clone()), r);
                self.socks[r].name = Some(UnixAddr::Abstract(a.as_slice().into()));
                Outcome::ok(0)
            }
            SockAddr::Path(p) => {
                if p.is_empty() || p.len() > 108 || p.contains(&0) {
                    return self.deny(Rule::BadPath, Errno::EINVAL);
                }
                let full = join(&self.cwd, p);
                // unix_bind_bsd: mknod first (EEXIST → EADDRINUSE, even for a stale file)…
                if self.fs.contains_key(&full) {
                    return self.deny(Rule::PathExists, Errno::EADDRINUSE);
                }
                // …then a bound socket gets EINVAL and the new node is removed again (§3).
                if self.socks[r].name.is_some() {
                    return self.deny(Rule::AlreadyBound, Errno::EINVAL);
                }
                self.next_ino += 1;
                let ino = self.next_ino;
                self.fs.insert(full, FsNode::Socket(ino));
                self.bound_inodes.insert(ino, r);
                let s = &mut self.socks[r];
                s.ino = Some(ino);
                s.name = Some(UnixAddr::Path(p.as_slice().into()));
                Outcome::ok(0)
            }
        }
    }

    fn unlink(&mut self, path: &[u8], stale_only: bool) -> Outcome {
        let full = join(&self.cwd, path);
        match self.fs.get(&full) {
            None if stale_only => Outcome::ok(0),
            None => self.deny(Rule::UnlinkMissing, Errno::ENOENT),
            Some(FsNode::Other) if stale_only => self.deny(Rule::StaleUnlinkNotASocket, Errno::ENOTSOCK),
            Some(FsNode::Socket(ino)) if stale_only && self.bound_inodes.contains_key(ino) => {
                self.deny(Rule::StaleUnlinkStillBound, Errno::EADDRINUSE)
            }
            Some(_) => {
                self.fs.remove(&full);
                Outcome::ok(0)
            }
        }
    }

    fn listen(&mut self, r: SockRef, backlog: i64) -> Outcome {
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

    /// `unix_find_other`: name lookup (§1.3 step 3).
    fn find_other(&self, addr: &SockAddr, ty: SockType) -> Result<SockRef, Refusal> {
        let no = |rule, errno| Err(Refusal::new(rule, errno));
        match addr {
            SockAddr::Path(p) => {
                let full = join(&self.cwd, p);
                match self.fs.get(&full) {
                    None => no(Rule::NoSuchPath, Errno::ENOENT),
                    Some(FsNode::Other) => no(Rule::PathNotASocket, Errno::ECONNREFUSED),
                    Some(FsNode::Socket(ino)) => match self.bound_inodes.get(ino) {
                        None => no(Rule::NobodyBoundThere, Errno::ECONNREFUSED),
                        Some(&o) if self.socks[o].ty != ty => no(Rule::WrongSocketType, Errno::EPROTOTYPE),
                        Some(&o) => Ok(o),
                    },
                }
            }
            // The abstract namespace is per socket type: another type's name is ECONNREFUSED.
            SockAddr::Abstract(a) => match self.abstract_names.get(&(ty, a.clone())) {
                Some(&o) => Ok(o),
                None => no(Rule::NoSuchAbstractName, Errno::ECONNREFUSED),
            },
            // unix_validate_addr: a sockaddr_in is not a sockaddr_un.
            SockAddr::Autobind | SockAddr::Unspec | SockAddr::Inet(_) => no(Rule::NotAUnixAddress, Errno::EINVAL),
        }
    }

    fn maybe_autobind(&mut self, r: SockRef) -> Result<(), Refusal> {
        if self.socks[r].passcred && self.socks[r].name.is_none() {
            let ty = self.socks[r].ty;
            let name = self.alloc_autobind(ty)?;
            self.abstract_names.insert((ty, name.clone()), r);
            self.socks[r].name = Some(UnixAddr::Abstract(name.into()));
        }
        Ok(())
    }

    fn stream_connect(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
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

    fn dgram_disconnected(&mut self, r: SockRef, old: SockRef) {
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

    fn dgram_connect(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
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

    fn accept(&mut self, r: SockRef, new: Slot) -> Outcome {
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

    fn charge(&mut self, from: SockRef, len: usize) -> Result<i64, Block> {
        let s = &self.socks[from];
        // sock_alloc_send_pskb: wait while wmem_alloc >= sndbuf (checked before allocating).
        if s.wmem >= s.sndbuf {
            return Err(Block::SndBuf { wmem: s.wmem, sndbuf: s.sndbuf });
        }
        let t = truesize(len);
        self.socks[from].wmem += t;
        Ok(t)
    }

    fn stream_send(&mut self, r: SockRef, to: Option<&SockAddr>, data: &[u8], fds: &[SockRef]) -> Outcome {
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

    fn dgram_send(&mut self, r: SockRef, to: Option<&SockAddr>, data: &[u8], fds: &[SockRef]) -> Outcome {
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

    fn recv(&mut self, r: SockRef, len: usize, peek: bool) -> Outcome {
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
