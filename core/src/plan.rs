//! The restore planner: from a validated image, a list of operations a single thread can
//! execute without blocking, in the spirit of the seed review's algorithm (listener, then
//! connect, then accept; a temporary listener where the original is gone; real
//! `connect()`/`accept()` so names and peers come out right).
//!
//! The planner builds the plan while running it on a [`Kernel`], so every step it emits is known
//! to succeed on the model, and buffer limits are handled where the model says they bite
//! (a send that would block gets a temporary `SO_SNDBUFFORCE` raise before it).
//!
//! This file holds the plan's types, the entry points, the [`Planner`] with what every phase
//! uses (`push`: a step proven on the model; buffers, binds, cwd changes), and the phase table.
//! The phases are in one file per job: `plan/create.rs` (Create, and what is not planned),
//! `plan/connect.rs` (TempListeners, Bind, Listen, Connect), `plan/refill.rs` (PeerGone, Refill,
//! DgramConnect), `plan/cleanup.rs` (Shutdown, Cleanup with the recorded options, Place), and
//! `plan/inet.rs` the same phases for AF_INET/AF_INET6. Each child uses this file only; this
//! file calls the children's phases.

use crate::image::{Image, Sock, UnixAddr};
use crate::sim::*;
use crate::warn::{WarnCode, Warning};
use crate::wire::{self, UNIX_ACCEPTED, UNIX_LINKED, UNIX_PEER_GONE};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// What a step is for.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Sysctls and sockets.
    Create,
    /// Connections through a temporary listener (the original is gone).
    TempListeners,
    /// Names.
    Bind,
    /// Listeners.
    Listen,
    /// Connections through listeners: accepted ones, then pending ones in accept order.
    Connect,
    /// Sockets whose peer has closed.
    PeerGone,
    /// Queued data.
    Refill,
    /// Dgram connects.
    DgramConnect,
    /// Shutdown bits.
    Shutdown,
    /// Backlogs and buffers set back, temporaries closed, unlinked names removed.
    Cleanup,
    /// Descriptors placed at their recorded numbers.
    Place,
}

/// One step.
/// (Its `Decode` is by hand, in `codec.rs`: the derive cannot decode a `Cow<'static, str>`.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode)]
pub struct Step {
    /// The operation.
    #[serde(flatten)]
    pub op: Op,
    /// Phase.
    pub phase: Phase,
    /// A sentence saying why the step is here.
    pub why: Cow<'static, str>,
}

/// What a slot stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
pub struct SlotInfo {
    /// Objref of the image socket, if it is one.
    pub objref: Option<i32>,
    /// Short label for explanations (`L#3`, `tmp-listener#1`).
    pub label: String,
    /// A temporary the plan closes again.
    pub temporary: bool,
}

/// A restore plan: data, not code.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
pub struct Plan {
    /// Steps in order.
    pub steps: Vec<Step>,
    /// Slots used by the steps.
    pub slots: BTreeMap<Slot, SlotInfo>,
    /// Things the plan cannot reproduce exactly: a stable code, the socket and step, a message.
    pub warnings: Vec<Warning>,
}

impl Plan {
    /// Label of a slot.
    pub fn label(&self, slot: Slot) -> String {
        self.slots.get(&slot).map_or_else(|| format!("slot{slot}"), |s| s.label.clone())
    }
    /// The warnings, each as [`Warning::render`] gives it (the step described), one after another.
    pub fn warnings_text(&self) -> String {
        self.warnings.iter().map(|w| w.render(&|i| self.describe(i))).collect()
    }
    /// The step as C-like text.
    pub fn describe(&self, i: usize) -> String {
        self.steps.get(i).map(|s| s.op.describe(&|slot| self.label(slot))).unwrap_or_default()
    }
}

/// Where a socket goes: (pid, fd, close-on-exec, O_NONBLOCK on its open file).
type Placement = (i32, i32, bool, bool);

/// Why no plan could be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot plan a restore: {0}")]
pub struct PlanError(pub String);

/// A stream/seqpacket peer that is not in the image: closed (PEER_GONE), or outside the
/// checkpointed processes (EXTERNAL_PEER, restored as a broken connection).
fn gone_peer(u: &crate::image::UnixPart) -> bool {
    u.peer == 0 && (u.has(UNIX_PEER_GONE) || u.has(wire::UNIX_EXTERNAL_PEER))
}

/// A socket the planner gives a stand-in peer that closes: a stream/seqpacket one whose peer is
/// gone (PEER_GONE) or outside (EXTERNAL_PEER), or a dgram one whose connected peer has closed
/// (PEER_GONE: `unix_peer` still points at the dead socket).
fn stand_in_peer(s: &Sock<'_>) -> bool {
    s.unix.as_ref().is_some_and(|u| {
        gone_peer(u)
            && (s.is_connection_oriented()
                || (ty_of(s) == SockType::Dgram && u.has(UNIX_PEER_GONE) && !named_gone_dgram(s)))
    })
}

/// A named dgram socket whose connected peer closed, holding datagrams from other senders: they
/// were queued before it connected (then only its peer could send to it), so it is created and
/// bound as usual, refilled, and only then connected to a stand-in peer that sends the rest and
/// closes (`refill`).
fn named_gone_dgram(s: &Sock<'_>) -> bool {
    ty_of(s) == SockType::Dgram
        && s.unix.as_ref().is_some_and(|u| u.peer == 0 && u.has(UNIX_PEER_GONE) && u.laddr.is_named())
        && s.queue.iter().any(|m| m.sender != 0)
}

fn ty_of(s: &Sock<'_>) -> SockType {
    SockType::from_raw(s.common.sock_type).unwrap_or(SockType::Stream)
}

/// A set of objrefs: a bit table for the dense numbering the writer produces (sized by the
/// sockets present), a B-tree set otherwise.
#[derive(Debug, Default)]
struct ObjSet {
    dense: Vec<bool>,
    sparse: BTreeSet<i32>,
}

impl ObjSet {
    fn with_dense(n: usize) -> Self {
        ObjSet { dense: vec![false; n], sparse: BTreeSet::new() }
    }
    fn contains(&self, o: &i32) -> bool {
        match usize::try_from(*o).ok().and_then(|i| self.dense.get(i)) {
            Some(&b) => b,
            None => self.sparse.contains(o),
        }
    }
    fn insert(&mut self, o: i32) {
        match usize::try_from(o).ok().and_then(|i| self.dense.get_mut(i)) {
            Some(b) => *b = true,
            None => {
                self.sparse.insert(o);
            }
        }
    }
}

/// A listener by what an accepted socket shares with it: type, name and the cwd of a relative name.
type ListenerKey = (u16, UnixAddr, Option<Box<[u8]>>);

struct Planner<'i, 'a> {
    img: &'i Image<'a>,
    k: Kernel,
    plan: Plan,
    next_temp: Slot,
    embryos: ObjSet,
    created: ObjSet,
    raised_sndbuf: BTreeMap<Slot, i32>,
    /// Unnamed AF_UNIX sockets whose `SO_PASSCRED` is set in Cleanup, after their sends and
    /// connects (set at creation, the first of those would autobind them).
    late_passcred: Vec<Slot>,
    /// Accepted sockets whose peer closed, accepted from their live listener in Connect (before
    /// its pending connections queue up ahead of them), by objref → the stand-in peer that
    /// sends their data and closes in PeerGone.
    stand_ins: BTreeMap<i32, Slot>,
    phase: Phase,
    /// Listening sockets by (type, name, cwd).
    listeners: BTreeMap<ListenerKey, i32>,
    /// Sockets by objref when objrefs are dense (sized by the sockets present, never by an
    /// objref value alone).
    dense: Option<Vec<Option<&'i Sock<'a>>>>,
    /// Where proven steps go as they are made ([`plan_streaming`]).
    sink: Option<Sink<'i>>,
    /// AF_INET/AF_INET6 planning state (plan/inet.rs).
    inet: inet::InetPlan,
}

/// A consumer of proven steps, fed in batches ([`plan_streaming`]).
struct Sink<'s> {
    consume: &'s mut dyn FnMut(&[Step]) -> bool,
    batch: usize,
    /// Steps handed over so far.
    sent: usize,
}

mod cleanup;
mod connect;
mod create;
mod inet;
mod refill;
pub use inet::{on_host, outside_connect, rebuilt_peers, self_connected, OnHost};

/// Plan the restore of a (validated) image on the model's default host (`lo` only:
/// [`HostAddrs::loopback`]).
pub fn plan(img: &Image<'_>) -> Result<Plan, PlanError> {
    planner(img, None, HostAddrs::default())
}

/// [`plan`] for a host with these addresses (INET sockets bound to an address the host does
/// not have are left unbound, with a warning each; `restore` reads the real host's).
pub fn plan_on(img: &Image<'_>, host: &HostAddrs) -> Result<Plan, PlanError> {
    planner(img, None, host.clone())
}

/// The addresses besides loopback that the image's INET sockets are bound to (not wildcards,
/// multicast or broadcast ones), each once, in objref order: the host the image was taken on had them,
/// so a plan "on the same host" is [`plan_on`] with `HostAddrs::loopback_and` of these.
pub fn image_addrs(img: &Image<'_>) -> Vec<std::net::IpAddr> {
    let mut out: Vec<std::net::IpAddr> = Vec::new();
    for s in img.sockets.values() {
        // v4-mapped IPv6 as the IPv4 address it is.
        let Some(ip) = s.inet_local().map(|a| crate::image::inet::canonical(a).ip()) else { continue };
        let special = match ip {
            std::net::IpAddr::V4(a) => a.is_loopback() || a.is_unspecified() || a.is_multicast() || a.is_broadcast(),
            std::net::IpAddr::V6(a) => a.is_loopback() || a.is_unspecified() || a.is_multicast(),
        };
        if !special && !out.contains(&ip) {
            out.push(ip);
        }
    }
    out
}

/// A list of addresses, as a user writes them (`10.1.2.3, 2001:db8::3`; commas or spaces):
/// each once, in the order given, or the first word that is not an address.
pub fn parse_addrs(text: &str) -> Result<Vec<std::net::IpAddr>, String> {
    let mut out = Vec::new();
    for w in text.split(|c: char| c == ',' || c.is_whitespace()).filter(|w| !w.is_empty()) {
        let ip: std::net::IpAddr = w.parse().map_err(|_| format!("{w:?} is not an IPv4 or IPv6 address"))?;
        if !out.contains(&ip) {
            out.push(ip);
        }
    }
    Ok(out)
}

/// [`plan`], handing each batch of `batch` steps to `consume` as soon as the model has proven
/// them (the last batch may be shorter), so a restorer can execute while the rest is planned.
/// The steps are final when handed over: the returned plan holds the same steps in the same
/// order. `consume` returns `false` when it wants no more steps (its restore failed); planning
/// still completes, so the caller gets the whole plan (labels for its error message).
pub fn plan_streaming(
    img: &Image<'_>,
    batch: usize,
    consume: &mut dyn FnMut(&[Step]) -> bool,
) -> Result<Plan, PlanError> {
    plan_streaming_on(img, &HostAddrs::default(), batch, consume)
}

/// [`plan_streaming`] for a host with these addresses ([`plan_on`]).
pub fn plan_streaming_on(
    img: &Image<'_>,
    host: &HostAddrs,
    batch: usize,
    consume: &mut dyn FnMut(&[Step]) -> bool,
) -> Result<Plan, PlanError> {
    planner(img, Some(Sink { consume, batch: batch.max(1), sent: 0 }), host.clone())
}

fn planner<'i>(img: &'i Image<'_>, sink: Option<Sink<'i>>, host: HostAddrs) -> Result<Plan, PlanError> {
    let mut p = Planner::new(img, sink, host);
    p.run()?;
    p.flush(true);
    Ok(p.plan)
}

/// [`plan`] one phase at a time, for a caller that must not be busy for the whole plan at once
/// (the browser inspector yields between phases). The plan is the same as `plan`'s.
pub struct PlanJob<'i, 'a> {
    p: Planner<'i, 'a>,
    /// Next phase (index into `Planner::PHASES`).
    next: usize,
    result: Result<(), PlanError>,
}

impl std::fmt::Debug for PlanJob<'_, '_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PlanJob").field("next", &self.next).field("steps", &self.p.plan.steps.len()).finish()
    }
}

impl<'i, 'a> PlanJob<'i, 'a> {
    /// Set up the planner for `img` (cheap: tables, no steps yet).
    pub fn new(img: &'i Image<'a>) -> Self {
        PlanJob::new_on(img, &HostAddrs::default())
    }

    /// [`PlanJob::new`] for a host with these addresses ([`plan_on`]).
    pub fn new_on(img: &'i Image<'a>, host: &HostAddrs) -> Self {
        PlanJob { p: Planner::new(img, None, host.clone()), next: 0, result: Ok(()) }
    }

    /// Plan the next phase; `true` when every phase is done (or one failed).
    pub fn advance(&mut self) -> bool {
        if self.result.is_err() || self.next >= PHASES {
            return true;
        }
        self.result = self.p.phase_at(self.next);
        self.next += 1;
        self.result.is_err() || self.next >= PHASES
    }

    /// The plan (the phases not yet done are done first).
    pub fn finish(mut self) -> Result<Plan, PlanError> {
        while !self.advance() {}
        self.result?;
        Ok(self.p.plan)
    }
}

/// Number of planner phases ([`Planner::phase_at`]).
const PHASES: usize = 11;

impl<'i, 'a> Planner<'i, 'a> {
    fn new(img: &'i Image<'a>, sink: Option<Sink<'i>>, host: HostAddrs) -> Self {
        let max_objref = img.sockets.keys().max().unwrap_or(0).max(0) as Slot;
        let mut p = Planner {
            img,
            k: Kernel::with_host(host),
            plan: Plan::default(),
            next_temp: max_objref + 1,
            embryos: ObjSet::default(),
            created: ObjSet::default(),
            raised_sndbuf: BTreeMap::new(),
            late_passcred: Vec::new(),
            stand_ins: BTreeMap::new(),
            phase: Phase::Create,
            listeners: BTreeMap::new(),
            dense: None,
            sink,
            inet: inet::InetPlan::default(),
        };
        let max = img.sockets.keys().next_back().unwrap_or(0);
        if max >= 0 && (max as usize) < 4 * img.sockets.len() + 64 {
            let mut d = vec![None; max as usize + 1];
            for (k, s) in &img.sockets {
                if let Ok(k) = usize::try_from(k) {
                    d[k] = Some(s);
                }
            }
            p.dense = Some(d);
            p.embryos = ObjSet::with_dense(max as usize + 1);
            p.created = ObjSet::with_dense(max as usize + 1);
        }
        for e in img.embryos() {
            p.embryos.insert(e);
        }
        for l in img.sockets.values().filter(|s| s.is_listener() && s.common.family == wire::AF_UNIX) {
            if let Some(u) = &l.unix {
                p.listeners.entry((l.common.sock_type, u.laddr.clone(), u.cwd.clone())).or_insert(l.objref);
            }
        }
        for s in img.sockets.values() {
            // Names appear in the operations' own arguments; the label only says which socket.
            let label = format!("#{}", s.objref);
            p.plan.slots.insert(s.objref as Slot, SlotInfo { objref: Some(s.objref), label, temporary: false });
        }
        // About 3.6 steps per socket in practice: reserve, so the step list is not copied as it grows.
        p.plan.steps.reserve(img.sockets.len() * 4);
        p
    }
}

impl<'i, 'a> Planner<'i, 'a> {
    fn unix(&self) -> impl Iterator<Item = &'i Sock<'a>> {
        let img: &'i Image<'a> = self.img;
        img.sockets.values().filter(|s| s.common.family == wire::AF_UNIX && s.unix.is_some())
    }

    fn sock(&self, objref: i32) -> Option<&'i Sock<'a>> {
        if let Some(d) = &self.dense {
            return usize::try_from(objref).ok().and_then(|o| d.get(o)).copied().flatten();
        }
        let img: &'i Image<'a> = self.img;
        img.sockets.get(&objref)
    }

    fn temp(&mut self, what: &str) -> Slot {
        let s = self.next_temp;
        self.next_temp += 1;
        self.plan.slots.insert(s, SlotInfo { objref: None, label: format!("tmp-{what}#{s}"), temporary: true });
        s
    }

    /// Why a send's outcome `out` is the sender's sndbuf being too small for it, if it is: it
    /// would block on a full buffer, or (an AF_UNIX datagram above sk_sndbuf - 32, which the
    /// sender may have queued before it lowered SO_SNDBUF) EMSGSIZE.
    fn sndbuf_short(&self, out: &Outcome) -> Option<&'static str> {
        match out {
            Outcome::WouldBlock { block: Block::SndBuf { .. } } => Some("the next send would block"),
            Outcome::Err { errno: Errno::EMSGSIZE } if self.k.last_rule == Some(Rule::DgramTooBig) => {
                Some("the next datagram is larger than the sndbuf allows (EMSGSIZE)")
            }
            _ => None,
        }
    }

    /// Raise `slot`'s sndbuf just enough for a send of `len` bytes and everything it has in
    /// flight (set back to the recorded size in the cleanup phase).
    fn raise_sndbuf_for(&mut self, slot: Slot, len: usize, why: &str) {
        let (wmem, cur, stream) =
            self.k.sock(slot).map_or((0, 0, false), |s| (s.wmem, s.sndbuf, s.ty == SockType::Stream));
        // One skb, or a stream's skbs cut as the raised buffer will cut them (counted at the
        // one-skb figure's cut, which is no larger: never too little). A datagram also needs
        // sk_sndbuf - 32 >= its length (unix_dgram_sendmsg).
        let one = (wmem + kernel::truesize(len) + 1).max(len as i64 + 32);
        let need = if stream { wmem + kernel::stream_truesize(len, kernel::stream_chunk(one)) + 1 } else { one };
        let arg = ((need + 1) / 2).min(i64::from(i32::MAX)) as i32;
        self.raised_sndbuf.entry(slot).or_insert((cur / 2) as i32);
        let raise = Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(arg) };
        self.k.apply(&raise);
        self.emit(Step {
            op: raise,
            phase: self.phase,
            why: format!(
                "{why}: {} has {wmem} bytes in flight and its sndbuf is {cur}; raise it for the refill",
                self.plan.label(slot)
            )
            .into(),
        });
    }

    /// Emit a step after checking it on the model.
    fn push(&mut self, op: Op, why: impl Into<Cow<'static, str>>) -> Result<(), PlanError> {
        let why = why.into();
        let mut out = self.k.apply(&op);
        if let (Some(why), Op::Send { slot, data, .. }) = (self.sndbuf_short(&out), &op) {
            self.raise_sndbuf_for(*slot, data.0.len(), why);
            out = self.k.apply(&op);
        }
        if !out.is_ok() {
            let desc = op.describe(&|s| self.plan.label(s));
            return Err(PlanError(format!(
                "step {} `{desc}` gives {} on the model",
                self.plan.steps.len(),
                out.short()
            )));
        }
        self.emit(Step { op, phase: self.phase, why });
        Ok(())
    }

    fn emit(&mut self, step: Step) {
        self.plan.steps.push(step);
        self.flush(false);
    }

    /// Hand the steps not yet handed over to the sink: a full batch, or all of them at the end.
    fn flush(&mut self, all: bool) {
        let Some(sink) = &mut self.sink else { return };
        let new = &self.plan.steps[sink.sent..];
        if new.is_empty() || (!all && new.len() < sink.batch) {
            return;
        }
        sink.sent = self.plan.steps.len();
        if !(sink.consume)(new) {
            self.sink = None;
        }
    }

    fn run(&mut self) -> Result<(), PlanError> {
        for i in 0..PHASES {
            self.phase_at(i)?;
        }
        Ok(())
    }

    /// Phase `i` of `PHASES`, in order.
    fn phase_at(&mut self, i: usize) -> Result<(), PlanError> {
        self.unix_phase_at(i)?;
        // AF_INET/AF_INET6 sockets, after the AF_UNIX ones of the same phase (plan/inet.rs).
        self.inet_phase(i)?;
        if i == 9 {
            self.options()?;
        }
        Ok(())
    }

    fn unix_phase_at(&mut self, i: usize) -> Result<(), PlanError> {
        match i {
            0 => {
                self.warn_unplanned();
                self.create()
            }
            1 => {
                self.phase = Phase::TempListeners;
                self.temp_listeners()
            }
            2 => {
                self.phase = Phase::Bind;
                self.binds()
            }
            3 => {
                self.phase = Phase::Listen;
                self.listens()
            }
            4 => {
                self.phase = Phase::Connect;
                self.connections()
            }
            5 => {
                self.phase = Phase::PeerGone;
                self.peer_gone()
            }
            6 => {
                self.phase = Phase::Refill;
                self.refill()
            }
            7 => {
                self.phase = Phase::DgramConnect;
                self.dgram_connects()
            }
            8 => {
                self.phase = Phase::Shutdown;
                self.shutdowns()
            }
            9 => {
                self.phase = Phase::Cleanup;
                self.cleanup()
            }
            10 => {
                self.phase = Phase::Place;
                self.place()
            }
            _ => Ok(()),
        }
    }

    fn is_pair(&self, s: &Sock<'_>) -> Option<i32> {
        let u = s.unix.as_ref()?;
        let p = self.sock(u.peer)?;
        let pu = p.unix.as_ref()?;
        let mutual = pu.peer == s.objref && u.peer != s.objref;
        let accepted = u.has(UNIX_ACCEPTED) || pu.has(UNIX_ACCEPTED);
        let embryo = self.embryos.contains(&s.objref) || self.embryos.contains(&p.objref);
        let connected_ss = s.common.socket_state == wire::SS_CONNECTED && p.common.socket_state == wire::SS_CONNECTED;
        let pair = if ty_of(s) == SockType::Dgram { connected_ss } else { true };
        (mutual && !accepted && !embryo && pair).then_some(u.peer)
    }

    fn buffers(&mut self, s: &Sock<'_>) -> Result<(), PlanError> {
        let slot = s.objref as Slot;
        // What SO_SNDBUFFORCE / SO_RCVBUFFORCE of the recorded halves give: twice the value, at
        // least the kernel's minimum (a recorded 0 is that minimum, as the checker reads it).
        let snd = crate::sim::kernel::forced_sndbuf(s.common.sndbuf);
        let rcv = crate::sim::kernel::forced_rcvbuf(s.common.rcvbuf);
        if snd != self.k.sysctl.wmem_default {
            self.push(
                Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(s.common.sndbuf) },
                format!("#{} had sndbuf {snd}", s.objref),
            )?;
        }
        if rcv != self.k.sysctl.rmem_default {
            self.push(
                Op::SetSockOpt { slot, opt: SockOpt::RcvBufForce(s.common.rcvbuf) },
                format!("#{} had rcvbuf {rcv}", s.objref),
            )?;
        }
        if s.common.socket_flags & (1 << 3) != 0 {
            if s.unix.as_ref().is_some_and(|u| u.laddr == UnixAddr::Unnamed) {
                // unix_dgram_sendmsg / unix_stream_connect / unix_dgram_connect autobind an
                // unnamed socket that has SO_PASSCRED: it was set after those (the socket is
                // still unnamed), so the restore sets it after them too.
                self.late_passcred.push(slot);
            } else {
                self.push(
                    Op::SetSockOpt { slot, opt: SockOpt::PassCred(true) },
                    format!("#{} had SO_PASSCRED", s.objref),
                )?;
            }
        }
        Ok(())
    }

    /// The live listener an accepted socket came from, if it is in the image.
    fn listener_of(&self, accepted: &Sock<'_>) -> Option<&'i Sock<'a>> {
        let u = accepted.unix.as_ref()?;
        let key = (accepted.common.sock_type, u.laddr.clone(), u.cwd.clone());
        self.listeners.get(&key).and_then(|&o| self.sock(o))
    }

    fn with_cwd<F>(&mut self, cwd: Option<&[u8]>, f: F) -> Result<(), PlanError>
    where
        F: FnOnce(&mut Self) -> Result<(), PlanError>,
    {
        if let Some(c) = cwd {
            self.push(Op::Chdir { path: Payload(c.to_vec()) }, "relative names resolve in the recorded directory")?;
        }
        let r = f(self);
        if cwd.is_some() {
            self.push(Op::Chdir { path: Payload(b"/".to_vec()) }, "back to the restorer's directory")?;
        }
        r
    }

    fn bind_named(&mut self, s: &Sock<'_>, a: SockAddr, why: &str) -> Result<(), PlanError> {
        let slot = s.objref as Slot;
        let cwd = s.unix.as_ref().and_then(|u| u.cwd.clone());
        let why = why.to_string();
        self.with_cwd(cwd.as_deref(), |p| {
            if let SockAddr::Path(path) = &a {
                p.push(
                    Op::Unlink { path: Payload(path.clone()), stale_only: true },
                    "a socket file left by the checkpointed process would make bind fail with EADDRINUSE",
                )?;
            }
            p.push(Op::Bind { slot, addr: a }, why)
        })
    }

    fn rights_slots(&self, files: &[i32]) -> Vec<Slot> {
        files.iter().filter_map(|f| self.img.files.get(f)).map(|f| f.repr.sock_objref as Slot).collect()
    }
}
