//! A simulated Linux AF_UNIX socket layer: no clock, no randomness, deterministic iteration.
//!
//! Every rule cites `net/unix/af_unix.c` of Linux 6.18 through `../shared/reference/af_unix.md`
//! (section numbers in comments). Deviations from Linux are marked `DEVIATION:` where they happen.
//! All transitions go through [`Kernel::apply`], one `match` over the operation.

use super::ops::*;
use super::rule::{Refusal, Rule};
use crate::image::UnixAddr;
use crate::sock::SkState;
use std::collections::{BTreeMap, VecDeque};

/// `SOCK_MIN_SNDBUF` on x86_64: `2 * (2048 + sizeof(struct sk_buff) aligned)`.
pub const SOCK_MIN_SNDBUF: i64 = 4608;
/// `SOCK_MIN_RCVBUF`.
pub const SOCK_MIN_RCVBUF: i64 = 2304;

/// Index of a socket inside the simulator (never reused).
pub type SockRef = usize;

/// Kernel tunables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sysctls {
    /// `net.core.somaxconn` (4096 since 5.4).
    pub somaxconn: i64,
    /// `net.unix.max_dgram_qlen` (10).
    pub max_dgram_qlen: i64,
    /// `net.core.wmem_default`, the initial `sk_sndbuf` (212992).
    pub wmem_default: i64,
    /// `net.core.wmem_max`, the `SO_SNDBUF` clamp (212992).
    pub wmem_max: i64,
    /// `net.core.rmem_default`.
    pub rmem_default: i64,
    /// `net.core.rmem_max`.
    pub rmem_max: i64,
}

impl Default for Sysctls {
    fn default() -> Self {
        Sysctls {
            somaxconn: 4096,
            max_dgram_qlen: 10,
            wmem_default: 212_992,
            wmem_max: 212_992,
            rmem_default: 212_992,
            rmem_max: 212_992,
        }
    }
}

/// One queued skb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skb {
    /// The socket that sent it (`skb->sk`), charged with its truesize.
    pub from: SockRef,
    /// Payload.
    pub data: Vec<u8>,
    /// Sockets in flight (SCM_RIGHTS).
    pub rights: Vec<SockRef>,
    /// On a listener's queue: the embryo this skb stands for.
    pub embryo: Option<SockRef>,
    /// Bytes charged to the sender's `sk_wmem_alloc`.
    pub truesize: i64,
}

/// One socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimSock {
    /// Type.
    pub ty: SockType,
    /// `sk_state`: AF_UNIX uses `Close`, `Established` and `Listen`; TCP all of them. Changed
    /// only through [`Kernel::set_state`].
    pub state: SkState,
    /// Own name (as passed to bind, or inherited from the listener).
    pub name: Option<UnixAddr>,
    /// Inode of the bound path (path names only).
    pub ino: Option<u64>,
    /// `unix_peer(sk)`; may point at a dead socket.
    pub peer: Option<SockRef>,
    /// `sk_max_ack_backlog`: the listen backlog, or `max_dgram_qlen` copied at creation.
    pub max_ack_backlog: i64,
    /// `sk_receive_queue`.
    pub queue: VecDeque<Skb>,
    /// `sk_shutdown` bits.
    pub shutdown: u8,
    /// `sk_err` (one-shot).
    pub err: Option<Errno>,
    /// `sk_sndbuf`.
    pub sndbuf: i64,
    /// `sk_rcvbuf`.
    pub rcvbuf: i64,
    /// `sk_wmem_alloc` (truesize of this socket's skbs still queued somewhere).
    pub wmem: i64,
    /// Released (`SOCK_DEAD`).
    pub dead: bool,
    /// Pending on this listener's queue (not yet accepted).
    pub embryo_of: Option<SockRef>,
    /// References: plan slots, placed fds and in-flight SCM_RIGHTS.
    pub refs: u32,
    /// `O_NONBLOCK`.
    pub nonblock: bool,
    /// `SO_PASSCRED`.
    pub passcred: bool,
    /// The recorded options (`RS_SOCKOPT`) set on it, one value per name, in the order they
    /// were first set (empty: all at their defaults).
    pub opts: Vec<SockOpt>,
    /// Created by socketpair (its `socket.state` is SS_CONNECTED even for dgram).
    pub paired: bool,
}

/// A file in the simulated filesystem.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsNode {
    /// A socket inode (possibly stale: no live socket bound to it).
    Socket(u64),
    /// Anything else (a regular file, a directory).
    Other,
}

/// A value for some of the sockets, by `SockRef` (sockets are numbered densely from 0: the
/// index in `Kernel::socks`). A vector, not a `BTreeMap`: the same ascending iteration and one
/// B-tree instance fewer in the browser's bundle. Sockets are never removed from the kernel,
/// so neither are their entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PerSock<T>(Vec<Option<T>>);

impl<T> Default for PerSock<T> {
    fn default() -> Self {
        PerSock(Vec::new())
    }
}

impl<T> PerSock<T> {
    /// The value of socket `r`.
    pub fn get(&self, r: &SockRef) -> Option<&T> {
        self.0.get(*r).and_then(Option::as_ref)
    }
    /// The value of socket `r`, to change.
    pub fn get_mut(&mut self, r: &SockRef) -> Option<&mut T> {
        self.0.get_mut(*r).and_then(Option::as_mut)
    }
    /// Socket `r` has a value.
    pub fn contains_key(&self, r: &SockRef) -> bool {
        self.get(r).is_some()
    }
    /// Give socket `r` the value `v`; the one it had.
    pub fn insert(&mut self, r: SockRef, v: T) -> Option<T> {
        if r >= self.0.len() {
            self.0.resize_with(r + 1, || None);
        }
        self.0[r].replace(v)
    }
    /// The sockets with a value, ascending, with it.
    pub fn iter(&self) -> impl Iterator<Item = (SockRef, &T)> + '_ {
        self.0.iter().enumerate().filter_map(|(r, v)| v.as_ref().map(|v| (r, v)))
    }
}

impl<T> std::ops::Index<&SockRef> for PerSock<T> {
    type Output = T;
    /// Panics when socket `r` has no value (as `BTreeMap` indexing does).
    fn index(&self, r: &SockRef) -> &T {
        self.get(r).expect("a socket with a value")
    }
}

/// Plan slots → sockets (or, for the native executor, descriptors): a dense table for the usual
/// small, dense slot numbers (objrefs), a map beyond. The dense part only grows to twice the live
/// entries plus 4096, so a hostile slot number cannot make it large; keys are iterated in
/// ascending order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotTable<T = SockRef> {
    dense: Vec<Option<T>>,
    /// Keyed by the slot as a `u64`, not a `Slot`: then the same B-tree instance as the kernel's
    /// inode map (`bound_inodes`), one fewer in the browser's bundle.
    sparse: BTreeMap<u64, T>,
    len: usize,
}

impl<T> Default for SlotTable<T> {
    fn default() -> Self {
        SlotTable { dense: Vec::new(), sparse: BTreeMap::new(), len: 0 }
    }
}

impl<T> SlotTable<T> {
    /// What slot `k` holds.
    pub fn get(&self, k: &Slot) -> Option<&T> {
        match self.dense.get(*k as usize) {
            Some(v) => v.as_ref(),
            None => self.sparse.get(&u64::from(*k)),
        }
    }
    /// Whether slot `k` is in use.
    pub fn contains_key(&self, k: &Slot) -> bool {
        self.get(k).is_some()
    }
    /// Put `v` in slot `k`; what was there, if anything.
    pub fn insert(&mut self, k: Slot, v: T) -> Option<T> {
        let i = k as usize;
        if i >= self.dense.len() && i < 2 * self.len + 4096 {
            let moved = self.sparse.split_off(&(u64::from(k) + 1));
            let below = std::mem::replace(&mut self.sparse, moved);
            self.dense.resize_with(i + 1, || None);
            for (key, val) in below {
                self.dense[key as usize] = Some(val);
            }
        }
        let old = match self.dense.get_mut(i) {
            Some(slot) => slot.replace(v),
            None => self.sparse.insert(u64::from(k), v),
        };
        if old.is_none() {
            self.len += 1;
        }
        old
    }
    /// Empty slot `k`; what was there.
    pub fn remove(&mut self, k: &Slot) -> Option<T> {
        let old = match self.dense.get_mut(*k as usize) {
            Some(slot) => slot.take(),
            None => self.sparse.remove(&u64::from(*k)),
        };
        if old.is_some() {
            self.len -= 1;
        }
        old
    }
    /// Slots in use, ascending, with what they hold.
    pub fn entries(&self) -> impl Iterator<Item = (Slot, &T)> + '_ {
        self.dense
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.as_ref().map(|v| (i as Slot, v)))
            // Every sparse key came from a `Slot`.
            .chain(self.sparse.iter().map(|(&k, v)| (k as Slot, v)))
    }
    /// Slots in use, ascending.
    pub fn keys(&self) -> impl Iterator<Item = Slot> + '_ {
        self.entries().map(|(k, _)| k)
    }
    /// The highest slot in use.
    pub fn last_key(&self) -> Option<Slot> {
        self.sparse
            .keys()
            .next_back()
            .map(|&k| k as Slot)
            .or_else(|| self.dense.iter().rposition(Option::is_some).map(|i| i as Slot))
    }
    /// Number of slots in use.
    pub fn len(&self) -> usize {
        self.len
    }
    /// No slot in use.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
    /// Empty every slot.
    pub fn clear(&mut self) {
        *self = SlotTable::default();
    }
}

impl SlotTable<SockRef> {
    /// Slots in use, ascending, with their sockets.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, SockRef)> + '_ {
        self.entries().map(|(k, &v)| (k, v))
    }
}

/// The simulated kernel.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Kernel {
    /// Tunables.
    pub sysctl: Sysctls,
    /// All sockets ever created, by [`SockRef`].
    pub socks: Vec<SimSock>,
    /// Plan slots → sockets.
    pub slots: SlotTable,
    /// Placed fds: (pid, fd) → (socket, cloexec).
    pub fds: BTreeMap<(i32, i32), (SockRef, bool)>,
    /// Filesystem: absolute path → node.
    pub fs: BTreeMap<Vec<u8>, FsNode>,
    /// Live path bindings: inode → socket.
    pub bound_inodes: BTreeMap<u64, SockRef>,
    /// Abstract namespace, per type.
    pub abstract_names: BTreeMap<(SockType, Vec<u8>), SockRef>,
    /// Current directory.
    pub cwd: Vec<u8>,
    /// The INET part of AF_INET/AF_INET6 sockets (`sim/inet.rs`), by socket.
    pub inet: PerSock<super::inet::InetSock>,
    /// Next ephemeral port to try (`sim/inet.rs`).
    pub(super) next_ephemeral: u16,
    /// The host's addresses (`sim/inet.rs`; default: `lo` only).
    pub host: super::inet::HostAddrs,
    next_ino: u64,
    autobind_next: u32,
    /// The rule that refused the last call or made it wait ([`Rule`]); `None` after a call that
    /// succeeded, and after an INET call (whose rules are not named yet).
    pub last_rule: Option<Rule>,
}

fn join(cwd: &[u8], p: &[u8]) -> Vec<u8> {
    if p.first() == Some(&b'/') {
        return p.to_vec();
    }
    let mut out = if cwd.is_empty() { b"/".to_vec() } else { cwd.to_vec() };
    if out.last() != Some(&b'/') {
        out.push(b'/');
    }
    out.extend_from_slice(p);
    out
}

/// `SKB_TRUESIZE` of an AF_UNIX skb carrying `len` bytes. Linear skbs: `sizeof(sk_buff)` (256
/// after alignment) plus the kmalloc bucket of `SKB_DATA_ALIGN(len) + sizeof(skb_shared_info)`
/// (320). This reproduces the live figures (768 B for 1 byte, 2304 B for 1000 bytes,
/// af_unix.md §2.2). DEVIATION: above 4 KiB Linux moves data into page frags; we charge
/// whole pages, which is within a page of the kernel's figure.
pub fn truesize(len: usize) -> i64 {
    let head = len.div_ceil(64) * 64 + 320;
    let bucket = if head <= 4096 {
        [32usize, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096].into_iter().find(|&b| b >= head).unwrap_or(4096)
    } else {
        head.div_ceil(4096) * 4096
    };
    (256 + bucket) as i64
}

impl Kernel {
    /// The one place a socket's `sk_state` changes (every transition of the AF_UNIX and the
    /// INET code goes through here, so a trace of state changes is this one function).
    pub(crate) fn set_state(&mut self, r: SockRef, state: SkState) {
        self.socks[r].state = state;
    }

    /// The [`Role`](crate::sock::Role) of every socket, by [`SockRef`] (`None` for released
    /// ones): the same rule ([`Role::of`](crate::sock::Role::of)) as for an image's sockets, from
    /// the kernel's own state.
    pub fn roles(&self) -> Vec<Option<crate::sock::Role>> {
        use crate::sock::{PeerFact, Role, RoleFacts};
        let live = |r: SockRef| self.socks.get(r).is_some_and(|s| !s.dead);
        let mut targeted = vec![false; self.socks.len()];
        for (r, s) in self.socks.iter().enumerate().filter(|&(r, _)| live(r)) {
            if let Some(p) = s.peer.filter(|&p| p != r && live(p) && self.socks[p].peer.is_none()) {
                targeted[p] = true;
            }
        }
        let mut udp_bound: BTreeMap<std::net::SocketAddr, Vec<SockRef>> = BTreeMap::new();
        for (o, i) in self.inet.iter().filter(|&(o, i)| live(o) && !i.tcp) {
            if let Some(a) = i.local {
                udp_bound.entry(super::inet::mapped(a)).or_default().push(o);
            }
        }
        let role = |r: SockRef| {
            let s = &self.socks[r];
            // A connected UDP socket has an address, not a peer: the socket bound there, if any.
            let udp_remote = self.inet.get(&r).filter(|i| !i.tcp).and_then(|i| i.remote).map(super::inet::mapped);
            let peer = match s.peer {
                None if udp_remote.is_some() => {
                    let there = udp_remote.and_then(|a| udp_bound.get(&a)).is_some_and(|os| os.iter().any(|&o| o != r));
                    if there {
                        PeerFact::Socket
                    } else {
                        PeerFact::Outside
                    }
                }
                None => PeerFact::None,
                Some(p) if p == r => PeerFact::Itself,
                Some(p) if !live(p) => PeerFact::Closed,
                Some(p) if self.socks[p].embryo_of.is_some() => PeerFact::Embryo,
                Some(_) => PeerFact::Socket,
            };
            let bound = self.inet.get(&r).is_some_and(|i| i.bound && i.local.is_some_and(|a| a.port() != 0));
            Role::of(&RoleFacts {
                listening: s.state == SkState::Listen,
                pending: s.embryo_of.is_some(),
                peer,
                targeted: targeted[r],
                bound,
            })
        };
        (0..self.socks.len()).map(|r| live(r).then(|| role(r))).collect()
    }

    /// Refuse the call with `errno`, by `rule` (the one place an AF_UNIX refusal is made:
    /// `sim/rule.rs` checks).
    pub(super) fn deny(&mut self, rule: Rule, errno: Errno) -> Outcome {
        self.last_rule = Some(rule);
        Outcome::err(errno)
    }

    pub(super) fn refuse(&mut self, r: Refusal) -> Outcome {
        self.deny(r.rule, r.errno)
    }

    /// The call would wait, by `rule`.
    pub(super) fn wait(&mut self, rule: Rule, block: Block) -> Outcome {
        self.last_rule = Some(rule);
        Outcome::WouldBlock { block }
    }

    /// `out` (an answer made elsewhere: one of several Linux may give, or an undetermined
    /// one), decided by `rule`.
    pub(super) fn by(&mut self, rule: Rule, out: Outcome) -> Outcome {
        self.last_rule = Some(rule);
        out
    }

    /// A fresh kernel with default sysctls, cwd `/`.
    pub fn new() -> Kernel {
        Kernel { cwd: b"/".to_vec(), ..Kernel::default() }
    }

    /// A kernel on a host with these addresses (INET binds and destinations, `sim/inet.rs`).
    pub fn with_host(host: super::inet::HostAddrs) -> Kernel {
        Kernel { host, ..Kernel::new() }
    }

    /// Create a file that exists before the restore (for tests and what-if runs).
    pub fn seed_file(&mut self, path: &[u8], socket: bool) {
        let node = if socket {
            self.next_ino += 1;
            FsNode::Socket(self.next_ino + 1_000_000)
        } else {
            FsNode::Other
        };
        self.fs.insert(join(&self.cwd, path), node);
    }

    /// The socket behind a slot.
    pub fn sock(&self, slot: Slot) -> Option<&SimSock> {
        self.slots.get(&slot).and_then(|&r| self.socks.get(r))
    }

    /// The socket ref behind a slot.
    pub fn sock_ref(&self, slot: Slot) -> Option<SockRef> {
        self.slots.get(&slot).copied()
    }

    /// Slot of a socket ref (the first one, if several).
    pub fn slot_of(&self, r: SockRef) -> Option<Slot> {
        self.slots.iter().find(|&(_, v)| v == r).map(|(k, _)| k)
    }

    /// The value of a recorded option on socket `r` (its default if never set).
    pub fn opt(&self, r: SockRef, name: OptName) -> Option<SockOpt> {
        let s = self.socks.get(r)?;
        Some(crate::sockopt::find(&s.opts, name).unwrap_or(SockOpt::default_of(name)))
    }

    pub(super) fn new_sock(&mut self, ty: SockType) -> SockRef {
        self.socks.push(SimSock {
            ty,
            state: SkState::Close,
            name: None,
            ino: None,
            peer: None,
            // af_unix.c:1122 — copied from the sysctl when the socket is created.
            max_ack_backlog: self.sysctl.max_dgram_qlen,
            queue: VecDeque::new(),
            shutdown: 0,
            err: None,
            sndbuf: self.sysctl.wmem_default,
            rcvbuf: self.sysctl.rmem_default,
            wmem: 0,
            dead: false,
            embryo_of: None,
            refs: 0,
            nonblock: false,
            passcred: false,
            opts: Vec::new(),
            paired: false,
        });
        self.socks.len() - 1
    }

    pub(super) fn attach(&mut self, slot: Slot, r: SockRef) {
        self.slots.insert(slot, r);
        self.socks[r].refs += 1;
    }

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
        // AF_INET/AF_INET6 sockets have their own transitions (sim/inet.rs).
        if let Some(out) = self.inet_apply(op) {
            return out;
        }
        let get = |k: &Kernel, slot: &Slot| k.slots.get(slot).copied();
        let free = |k: &Kernel, slot: &Slot| !k.slots.contains_key(slot);
        match op {
            Op::Socket { slot, ty } => {
                if !free(self, slot) {
                    return Outcome::Invalid { why: format!("slot {slot} is already open") };
                }
                let r = self.new_sock(*ty);
                self.attach(*slot, r);
                Outcome::ok(0)
            }
            // Answered by inet_apply above.
            Op::SocketInet { .. } => Outcome::Invalid { why: "an INET socket op reached the AF_UNIX code".into() },
            Op::Socketpair { a, b, ty } => {
                if !free(self, a) || !free(self, b) || a == b {
                    return Outcome::Invalid { why: format!("slots {a}/{b} are not two free slots") };
                }
                // §4.1: both ends ESTABLISHED (dgram included since 5.15), peers of each other.
                let (ra, rb) = (self.new_sock(*ty), self.new_sock(*ty));
                for (x, y) in [(ra, rb), (rb, ra)] {
                    self.set_state(x, SkState::Established);
                    let s = &mut self.socks[x];
                    s.peer = Some(y);
                    s.paired = true;
                }
                self.attach(*a, ra);
                self.attach(*b, rb);
                Outcome::ok(0)
            }
            Op::Bind { slot, addr } => match get(self, slot) {
                Some(r) => self.bind(r, addr),
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
            Op::Unlink { path, stale_only } => self.unlink(&path.0, *stale_only),
            Op::Listen { slot, backlog } => match get(self, slot) {
                Some(r) => self.listen(r, i64::from(*backlog)),
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
            Op::Connect { slot, addr } => match get(self, slot) {
                Some(r) if self.socks[r].ty == SockType::Dgram => self.dgram_connect(r, addr),
                Some(r) => self.stream_connect(r, addr),
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
            Op::Accept { slot, new } => match get(self, slot) {
                Some(_) if !free(self, new) => Outcome::Invalid { why: format!("slot {new} is already open") },
                Some(r) => self.accept(r, *new),
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
            Op::Send { slot, to, data, rights } => {
                let Some(r) = get(self, slot) else { return self.deny(Rule::BadFd, Errno::EBADF) };
                let mut fds = Vec::new();
                for s in rights {
                    match get(self, s) {
                        Some(x) => fds.push(x),
                        None => return self.deny(Rule::BadFd, Errno::EBADF),
                    }
                }
                if fds.len() > crate::wire::SCM_MAX_FD as usize {
                    return self.deny(Rule::TooManyFdsInOneMessage, Errno::EINVAL);
                    // §4.4: SCM_MAX_FD
                }
                match self.socks[r].ty {
                    SockType::Stream => self.stream_send(r, to.as_ref(), &data.0, &fds),
                    SockType::Seqpacket => {
                        // unix_seqpacket_sendmsg: a pending error (sock_error), then ENOTCONN;
                        // the address is ignored (§1.7; the error first: differential test).
                        if let Some(e) = self.socks[r].err.take() {
                            return self.deny(Rule::PendingError, e);
                        }
                        if self.socks[r].state != SkState::Established {
                            return self.deny(Rule::NotConnected, Errno::ENOTCONN);
                        }
                        self.dgram_send(r, None, &data.0, &fds)
                    }
                    SockType::Dgram => self.dgram_send(r, to.as_ref(), &data.0, &fds),
                }
            }
            Op::Recv { slot, len, peek } => match get(self, slot) {
                Some(r) => self.recv(r, *len as usize, *peek),
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
            Op::Shutdown { slot, how } => match get(self, slot) {
                Some(r) => {
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
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
            Op::SetSockOpt { slot, opt } => match get(self, slot) {
                Some(r) => {
                    if matches!(opt, SockOpt::V6Only(_)) || opt.recorded().is_some_and(OptName::is_tcp) {
                        // An IPPROTO_IPV6 or IPPROTO_TCP option: AF_UNIX has no setsockopt
                        // beyond SOL_SOCKET.
                        return self.deny(Rule::OptionOfAnotherLevel, Errno::EOPNOTSUPP);
                    }
                    let s = &mut self.socks[r];
                    let v = |x: i32| i64::from(x.max(0));
                    match *opt {
                        // net/core/sock.c:1335-1352: max(2 * min(v, wmem_max), SOCK_MIN_SNDBUF).
                        SockOpt::SndBuf(x) => s.sndbuf = (2 * v(x).min(self.sysctl.wmem_max)).max(SOCK_MIN_SNDBUF),
                        SockOpt::SndBufForce(x) => s.sndbuf = (2 * v(x)).max(SOCK_MIN_SNDBUF),
                        SockOpt::RcvBuf(x) => s.rcvbuf = (2 * v(x).min(self.sysctl.rmem_max)).max(SOCK_MIN_RCVBUF),
                        SockOpt::RcvBufForce(x) => s.rcvbuf = (2 * v(x)).max(SOCK_MIN_RCVBUF),
                        SockOpt::PassCred(on) => s.passcred = on,
                        SockOpt::ReuseAddr(_) | SockOpt::ReusePort(_) | SockOpt::V6Only(_) => {}
                        o => store_opt(&mut s.opts, o),
                    }
                    Outcome::ok(0)
                }
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
            Op::SetNonblock { slot, on } => match get(self, slot) {
                Some(r) => {
                    self.socks[r].nonblock = *on;
                    Outcome::ok(0)
                }
                None => self.deny(Rule::BadFd, Errno::EBADF),
            },
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
            Op::Place { slot, pid, fd, cloexec, .. } => {
                let Some(r) = get(self, slot) else { return self.deny(Rule::BadFd, Errno::EBADF) };
                if *fd < 0 {
                    return self.deny(Rule::BadFdNumber, Errno::EBADF);
                }
                if let Some((old, _)) = self.fds.insert((*pid, *fd), (r, *cloexec)) {
                    self.put(old); // dup2 closes what was there
                }
                self.socks[r].refs += 1;
                Outcome::ok(i64::from(*fd))
            }
        }
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
        // Chunks of at most sndbuf/2 - 64 bytes (af_unix.c:2441-2452); fds ride the first one.
        let chunk = ((self.socks[r].sndbuf >> 1) - 64).max(1) as usize;
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
            if peek {
                // unix_stream_read_generic, MSG_PEEK: after copying from an skb it moves to the
                // next one without looking at the size left (`goto again`), so a peek returns
                // the fds of the first fd-carrying skb behind the bytes it copied, and stops
                // there (found by the differential test; "It is questionable", says the source).
                for skb in &self.socks[r].queue {
                    let take = (len - out.len()).min(skb.data.len());
                    out.extend_from_slice(&skb.data[..take]);
                    if !skb.rights.is_empty() {
                        rights.extend(skb.rights.iter().copied());
                        break;
                    }
                }
            } else {
                // Consume from the head; a partially read skb stops the read; a fully read skb
                // that carried fds stops it too (§4.4). The fds are detached on first contact.
                while out.len() < len {
                    let Some(skb) = self.socks[r].queue.front_mut() else { break };
                    let take = (len - out.len()).min(skb.data.len());
                    out.extend_from_slice(&skb.data[..take]);
                    let had_rights = !skb.rights.is_empty();
                    rights.append(&mut skb.rights);
                    if take < skb.data.len() {
                        skb.data.drain(..take);
                        break;
                    }
                    if let Some(skb) = self.socks[r].queue.pop_front() {
                        if let Some(s) = self.socks.get_mut(skb.from) {
                            s.wmem -= skb.truesize;
                        }
                    }
                    if had_rights {
                        break;
                    }
                }
            }
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

/// `setsockopt` of a recorded option: the new value replaces the old one of the same name. A
/// `SO_LINGER` with `l_onoff` 0 turns lingering off and leaves `sk_lingertime` as it was
/// (`sk_setsockopt`), so the time reported stays the earlier one.
pub(super) fn store_opt(opts: &mut Vec<SockOpt>, o: SockOpt) {
    let Some(name) = o.recorded() else { return };
    let o = match o {
        SockOpt::Linger { on: false, .. } => {
            let secs = match crate::sockopt::find(opts, OptName::Linger) {
                Some(SockOpt::Linger { secs, .. }) => secs,
                _ => 0,
            };
            SockOpt::Linger { on: false, secs }
        }
        o => o,
    };
    match opts.iter_mut().find(|x| x.recorded() == Some(name)) {
        Some(x) => *x = o,
        None => opts.push(o),
    }
}
