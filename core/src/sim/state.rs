//! The simulated kernel's state, shared by its AF_UNIX part (`sim/kernel.rs`, `sim/unix/`) and
//! its TCP/UDP part (`sim/inet/`): sockets, slots, queues, the filesystem and names, the
//! tunables, and the few primitives every transition uses (`set_state`, `deny`/`wait`/`by`,
//! `new_sock`, `attach`).

use super::inet::sock::InetSock;
use super::inet::HostAddrs;
use super::ops::*;
use super::rule::{Refusal, Rule};
use crate::image::UnixAddr;
use crate::sock::SkState;
use std::collections::{BTreeMap, VecDeque};

/// `SOCK_MIN_SNDBUF` on x86_64: `2 * (2048 + sizeof(struct sk_buff) aligned)`.
pub const SOCK_MIN_SNDBUF: i64 = 4608;
/// `SOCK_MIN_RCVBUF`.
pub const SOCK_MIN_RCVBUF: i64 = 2304;

/// `sk_sndbuf` after `SO_SNDBUFFORCE` of `v` (net/core/sock.c: `max(2 * v, SOCK_MIN_SNDBUF)`),
/// which is also what a restore gives a socket whose image records `v` (an image keeps the
/// setsockopt argument, half the kernel's value; a recorded 0 is the minimum).
pub fn forced_sndbuf(v: i32) -> i64 {
    (2 * i64::from(v)).max(SOCK_MIN_SNDBUF)
}

/// `sk_rcvbuf` after `SO_RCVBUFFORCE` of `v`: `max(2 * v, SOCK_MIN_RCVBUF)`, as [`forced_sndbuf`].
pub fn forced_rcvbuf(v: i32) -> i64 {
    (2 * i64::from(v)).max(SOCK_MIN_RCVBUF)
}

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
    /// The receiver's `oob_skb` (AF_UNIX stream `MSG_OOB`): at most one skb of a queue.
    pub oob: bool,
}

impl Skb {
    /// An INET skb: bytes from `from`, no fds, no embryo, charged to no AF_UNIX sender
    /// (TCP and UDP memory is accounted on the receiver: `InetSock::rmem`).
    pub fn inet(from: SockRef, data: &[u8]) -> Skb {
        Skb { from, data: data.to_vec(), rights: Vec::new(), embryo: None, truesize: 0, oob: false }
    }
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
    /// The INET part of AF_INET/AF_INET6 sockets (`sim/inet/`), by socket.
    pub inet: PerSock<InetSock>,
    /// Next ephemeral port to try (`sim/inet/ports.rs`).
    pub(super) next_ephemeral: u16,
    /// The host's addresses (`sim/inet/host.rs`; default: `lo` only).
    pub host: HostAddrs,
    pub(super) next_ino: u64,
    pub(super) autobind_next: u32,
    /// The rule that refused the last call or made it wait ([`Rule`]); `None` after a call that
    /// succeeded, and after an INET call (whose rules are not named yet).
    pub last_rule: Option<Rule>,
}

pub(super) fn join(cwd: &[u8], p: &[u8]) -> Vec<u8> {
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
                udp_bound.entry(super::inet::sock::mapped(a)).or_default().push(o);
            }
        }
        let role = |r: SockRef| {
            let s = &self.socks[r];
            // A connected UDP socket has an address, not a peer: the socket bound there, if any.
            let udp_remote = self.inet.get(&r).filter(|i| !i.tcp).and_then(|i| i.remote).map(super::inet::sock::mapped);
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

    /// Copy up to `len` bytes from the head of stream socket `r`'s receive queue, with the fds
    /// the copied skbs carry (`unix_stream_read_generic`; `tcp_recvmsg` alike, whose skbs carry
    /// none). A read consumes what it copies: a partly read skb keeps the rest and stops the
    /// read, a fully read one is uncharged from its sender, and one that carried fds stops the
    /// read too (§4.4; the fds are detached on first contact). A peek (`MSG_PEEK`) leaves the
    /// queue as it is; after copying from an skb it moves to the next one without looking at the
    /// size left (`goto again`), so it returns the fds of the first fd-carrying skb behind the
    /// bytes it copied, and stops there (found by the differential test; "It is questionable",
    /// says the source).
    pub(super) fn read_stream(&mut self, r: SockRef, len: usize, peek: bool) -> (Vec<u8>, Vec<SockRef>) {
        let mut out = Vec::new();
        let mut rights = Vec::new();
        if peek {
            for skb in &self.socks[r].queue {
                let take = (len - out.len()).min(skb.data.len());
                out.extend_from_slice(&skb.data[..take]);
                if !skb.rights.is_empty() {
                    rights.extend(skb.rights.iter().copied());
                    break;
                }
            }
            return (out, rights);
        }
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
        (out, rights)
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

    /// A kernel on a host with these addresses (INET binds and destinations, `sim/inet/`), and
    /// a dgram receiver bound at each of its outside AF_UNIX names ([`HostAddrs::unix`]), held
    /// by no slot: `connect()` to one succeeds and sends queue on it.
    /// DEVIATION: nobody reads an outside receiver's queue, so sends to it block (or EAGAIN)
    /// once it holds `max_dgram_qlen` datagrams; Linux's receiver may read them.
    pub fn with_host(host: HostAddrs) -> Kernel {
        let names: Vec<SockAddr> = host.unix.iter().filter_map(UnixAddr::outside_addr).collect();
        let mut k = Kernel { host, ..Kernel::new() };
        for addr in &names {
            let r = k.new_sock(SockType::Dgram);
            let _ = k.bind(r, addr);
        }
        k.last_rule = None;
        k
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
