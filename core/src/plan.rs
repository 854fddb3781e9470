//! The restore planner: from a validated image, a list of operations a single thread can
//! execute without blocking, in the spirit of the seed review's algorithm (listener, then
//! connect, then accept; a temporary listener where the original is gone; real
//! `connect()`/`accept()` so names and peers come out right).
//!
//! The planner builds the plan while running it on a [`Kernel`], so every step it emits is known
//! to succeed on the model, and buffer limits are handled where the model says they bite
//! (a send that would block gets a temporary `SO_SNDBUFFORCE` raise before it).

use crate::image::{Image, Sock, UnixAddr};
use crate::sim::*;
use crate::warn::{WarnCode, Warning};
use crate::wire::{self, UNIX_ACCEPTED, UNIX_LINKED, UNIX_PEER_GONE};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

/// What a step is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotInfo {
    /// Objref of the image socket, if it is one.
    pub objref: Option<i32>,
    /// Short label for explanations (`L#3`, `tmp-listener#1`).
    pub label: String,
    /// A temporary the plan closes again.
    pub temporary: bool,
}

/// A restore plan: data, not code.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
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

fn addr_of(a: &UnixAddr) -> Option<SockAddr> {
    match a {
        UnixAddr::Unnamed => None,
        UnixAddr::Path(p) => Some(SockAddr::Path(p.to_vec())),
        UnixAddr::Abstract(b) => Some(SockAddr::Abstract(b.to_vec())),
    }
}

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

mod inet;
pub use inet::self_connected;

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

    /// Emit a step after checking it on the model.
    fn push(&mut self, op: Op, why: impl Into<Cow<'static, str>>) -> Result<(), PlanError> {
        let why = why.into();
        let mut out = self.k.apply(&op);
        if let (Outcome::WouldBlock { block: Block::SndBuf { .. } }, Op::Send { slot, data, .. }) = (&out, &op) {
            // Raise the sender's buffer just enough for everything it still has to queue.
            let slot = *slot;
            let (wmem, cur) = self.k.sock(slot).map_or((0, 0), |s| (s.wmem, s.sndbuf));
            let need = wmem + kernel::truesize(data.0.len()) + 1;
            let arg = ((need + 1) / 2).min(i64::from(i32::MAX)) as i32;
            self.raised_sndbuf.entry(slot).or_insert((cur / 2) as i32);
            let raise = Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(arg) };
            self.k.apply(&raise);
            self.emit(Step {
                op: raise,
                phase: self.phase,
                why: format!(
                    "the next send would block: {} has {wmem} bytes in flight and its sndbuf is {cur}; raise it for the refill",
                    self.plan.label(slot)
                )
                .into(),
            });
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

    /// The recorded options (`RS_SOCKOPT`) of every socket the plan holds, last in Cleanup:
    /// after every refill (so `SO_PEEK_OFF` counts from the head of the restored queue, as it
    /// did from the head of the dumped one, and `TCP_CORK`, `SO_SNDTIMEO`, `SO_RCVLOWAT` cannot
    /// hold the refill up), before the fds are placed. Options at their defaults are skipped
    /// (but for the TCP keepalive times, whose defaults are the host's sysctls).
    fn options(&mut self) -> Result<(), PlanError> {
        self.phase = Phase::Cleanup;
        let socks: Vec<&Sock<'_>> = self.img.sockets.values().filter(|s| s.opts.is_some()).collect();
        for s in socks {
            let slot = s.objref as Slot;
            let Some(rec) = s.opts.as_ref() else { continue };
            if self.k.sock(slot).is_none() || self.embryos.contains(&s.objref) {
                continue;
            }
            for &o in &rec.opts {
                let Some(name) = o.recorded() else { continue };
                // (The TCP keepalive times a socket never set follow the net.ipv4 sysctls of
                // the host it is on: set them anyway, the host of the restore may differ.)
                let follows_sysctl = matches!(name, OptName::TcpKeepIdle | OptName::TcpKeepIntvl | OptName::TcpKeepCnt);
                if o == SockOpt::default_of(name) && !follows_sysctl {
                    continue;
                }
                if o.needs_privilege() {
                    self.plan.warnings.push(
                        Warning::new(
                            WarnCode::OptionNeedsPrivilege,
                            format!(
                                "socket #{}: {} needs CAP_NET_ADMIN or CAP_NET_RAW to set",
                                s.objref,
                                crate::sockopt::show(&o)
                            ),
                        )
                        .objref(s.objref)
                        .step(self.plan.steps.len()),
                    );
                }
                if let SockOpt::RcvTimeo(us) | SockOpt::SndTimeo(us) = o {
                    if us % 1000 != 0 {
                        self.plan.warnings.push(
                            Warning::new(
                                WarnCode::OptionRounded,
                                format!(
                                    "socket #{}: {} is not a whole number of milliseconds; the kernel rounds it up to a jiffy",
                                    s.objref,
                                    crate::sockopt::show(&o)
                                ),
                            )
                            .objref(s.objref)
                            .step(self.plan.steps.len()),
                        );
                    }
                }
                if let SockOpt::Linger { on: false, secs } = o {
                    // l_onoff 0 keeps sk_lingertime: set the time with lingering on, then off.
                    self.push(
                        Op::SetSockOpt { slot, opt: SockOpt::Linger { on: true, secs } },
                        format!("#{} had a linger time of {secs} s with lingering off: the time first", s.objref),
                    )?;
                }
                self.push(Op::SetSockOpt { slot, opt: o }, format!("#{} had {}", s.objref, crate::sockopt::show(&o)))?;
            }
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

    fn warn_unplanned(&mut self) {
        for s in self.img.sockets.values() {
            if !matches!(s.common.family, wire::AF_UNIX | wire::AF_INET | wire::AF_INET6) {
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::FamilyNotPlanned,
                        format!(
                            "socket #{} is {}: only AF_UNIX, AF_INET and AF_INET6 sockets are planned; it is left out",
                            s.objref,
                            crate::summary::family_name(s.common.family)
                        ),
                    )
                    .objref(s.objref),
                );
            }
            if s.unix.as_ref().is_some_and(|u| u.has(wire::UNIX_EXTERNAL_PEER)) {
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::UnixExternalPeer,
                        format!(
                            "socket #{} was connected to a peer outside the image: it is restored as if the connection broke (its data kept, then EOF; shutdown 3)",
                            s.objref
                        ),
                    )
                    .objref(s.objref),
                );
            }
        }
    }

    /// Accepted sockets (and their clients) are created by connect/accept, embryos by connect,
    /// pair ends by socketpair; everything else by socket().
    fn created_by_connect(&self, s: &Sock<'_>) -> bool {
        self.embryos.contains(&s.objref) || s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED)) || stand_in_peer(s)
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

    fn create(&mut self) -> Result<(), PlanError> {
        let default_qlen = self.k.sysctl.max_dgram_qlen;
        let socks: Vec<&Sock<'_>> = self.unix().collect();
        for s in socks {
            if self.created.contains(&s.objref) || self.created_by_connect(s) {
                continue;
            }
            // A dgram receiver's queue limit is copied from the sysctl at creation.
            let qlen = self.dgram_qlen_needed(s);
            if qlen != self.k.sysctl.max_dgram_qlen {
                self.push(
                    Op::SetSysctl { name: Sysctl::MaxDgramQlen, value: qlen },
                    format!("#{}'s datagram queue limit is fixed when it is created: set it to {qlen} first", s.objref),
                )?;
            }
            let ty = ty_of(s);
            if let Some(peer) = self.is_pair(s) {
                let (a, b) = (s.objref as Slot, peer as Slot);
                self.push(Op::Socketpair { a, b, ty }, "the two ends were a socketpair")?;
                self.created.insert(s.objref);
                self.created.insert(peer);
                self.buffers(s)?;
                if let Some(p) = self.sock(peer) {
                    self.buffers(p)?;
                }
            } else {
                self.push(Op::Socket { slot: s.objref as Slot, ty }, "create the socket")?;
                self.created.insert(s.objref);
                self.buffers(s)?;
            }
        }
        if self.k.sysctl.max_dgram_qlen != default_qlen {
            self.push(
                Op::SetSysctl { name: Sysctl::MaxDgramQlen, value: default_qlen },
                "set net.unix.max_dgram_qlen back to its default",
            )?;
        }
        Ok(())
    }

    /// The `max_dgram_qlen` a dgram socket must be created with: its recorded backlog, raised
    /// if more datagrams from other sockets wait in its queue than that admits.
    fn dgram_qlen_needed(&mut self, s: &Sock<'_>) -> i64 {
        if ty_of(s) != SockType::Dgram {
            return self.k.sysctl.max_dgram_qlen;
        }
        let recorded = i64::from(s.common.backlog.max(0));
        // During the refill the receiver is not connected yet, so only its own datagrams are
        // exempt from the limit; the one at queue position i finds i datagrams ahead of it and
        // needs i <= max_ack_backlog (unix_dgram_sendmsg: `qlen > max_ack_backlog` blocks).
        let needed =
            s.queue.iter().enumerate().filter(|(_, m)| m.sender != s.objref).map(|(i, _)| i as i64).max().unwrap_or(0);
        if needed > recorded {
            // The step is the socket's creation, which comes next (after the sysctl, if any).
            let created_at = self.plan.steps.len() + usize::from(needed != self.k.sysctl.max_dgram_qlen);
            self.plan.warnings.push(
                Warning::new(
                    WarnCode::DgramQlenRaised,
                    format!(
                        "#{} holds {} datagrams; re-sending them needs a queue limit of {needed}, its recorded limit is {recorded}: it is created with max_dgram_qlen {needed}",
                        s.objref,
                        s.queue.len()
                    ),
                )
                .objref(s.objref)
                .step(created_at),
            );
            needed
        } else {
            recorded
        }
    }

    fn buffers(&mut self, s: &Sock<'_>) -> Result<(), PlanError> {
        let slot = s.objref as Slot;
        let (snd, rcv) = (i64::from(s.common.sndbuf) * 2, i64::from(s.common.rcvbuf) * 2);
        if snd != self.k.sysctl.wmem_default && s.common.sndbuf > 0 {
            self.push(
                Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(s.common.sndbuf) },
                format!("#{} had sndbuf {snd}", s.objref),
            )?;
        }
        if rcv != self.k.sysctl.rmem_default && s.common.rcvbuf > 0 {
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

    /// An accepted stream/seqpacket socket whose peer has closed (PeerGone gives it a stand-in).
    fn gone_accepted(&self, s: &Sock<'_>) -> bool {
        s.unix.as_ref().is_some_and(|u| gone_peer(u) && u.has(UNIX_ACCEPTED))
            && s.is_connection_oriented()
            && !self.embryos.contains(&s.objref)
    }

    /// The live listener an accepted socket came from, if it is in the image.
    fn listener_of(&self, accepted: &Sock<'_>) -> Option<&'i Sock<'a>> {
        let u = accepted.unix.as_ref()?;
        let key = (accepted.common.sock_type, u.laddr.clone(), u.cwd.clone());
        self.listeners.get(&key).and_then(|&o| self.sock(o))
    }

    /// Connected (accepted, client) pairs, in accepted-socket objref order.
    fn accepted_pairs(&self) -> Vec<(i32, i32)> {
        self.unix()
            .filter(|s| {
                s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED) && u.peer != 0)
                    && !self.embryos.contains(&s.objref)
            })
            .map(|s| (s.objref, s.peer()))
            .collect()
    }

    fn bind_client(&mut self, c: &Sock<'_>) -> Result<(), PlanError> {
        if let Some(a) = c.laddr().and_then(addr_of) {
            let slot = c.objref as Slot;
            if self.k.sock(slot).is_some_and(|s| s.name.is_none()) {
                self.bind_named(c, a, "the client was bound before it connected")?;
            }
        }
        Ok(())
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

    /// Accepted connections whose listener is not in the image: a temporary listener bound to
    /// the name, connect, accept, close (the seed review's "create a temporary one").
    fn temp_listeners(&mut self) -> Result<(), PlanError> {
        for (acc, client) in self.accepted_pairs() {
            let Some(a) = self.sock(acc) else { continue };
            if self.listener_of(a).is_some() {
                continue;
            }
            let Some(name) = a.laddr().and_then(addr_of) else { continue };
            let Some(c) = self.sock(client) else { continue };
            let ty = ty_of(a);
            let t = self.temp("listener");
            self.push(
                Op::Socket { slot: t, ty },
                format!("#{acc}'s listener is gone: a temporary one gives it its name"),
            )?;
            let cwd = a.unix.as_ref().and_then(|u| u.cwd.clone());
            let name2 = name.clone();
            self.with_cwd(cwd.as_deref(), |p| {
                if let SockAddr::Path(path) = &name2 {
                    p.push(
                        Op::Unlink { path: Payload(path.clone()), stale_only: true },
                        "remove a stale socket file first",
                    )?;
                }
                p.push(Op::Bind { slot: t, addr: name2.clone() }, "the accepted socket inherits this name")
            })?;
            self.push(Op::Listen { slot: t, backlog: 0 }, "listen so the client can connect")?;
            self.bind_client(c)?;
            self.with_cwd(cwd.as_deref(), |p| {
                p.push(
                    Op::Connect { slot: client as Slot, addr: name.clone() },
                    format!("#{client} connects (returns before accept)"),
                )
            })?;
            self.push(
                Op::Accept { slot: t, new: acc as Slot },
                format!("accept gives #{acc} with the listener's name"),
            )?;
            self.created.insert(acc);
            self.buffers(a)?;
            self.push(Op::Close { slot: t }, "the temporary listener is no longer needed")?;
            if let SockAddr::Path(path) = &name {
                let held = self.unix().any(|s| {
                    s.laddr() == a.laddr()
                        && s.unix.as_ref().is_some_and(|u| u.has(UNIX_LINKED) && !u.has(UNIX_ACCEPTED))
                });
                if !held {
                    let path = path.clone();
                    self.with_cwd(cwd.as_deref(), |p| {
                        p.push(
                            Op::Unlink { path: Payload(path), stale_only: false },
                            "the temporary listener's file did not exist at checkpoint",
                        )
                    })?;
                }
            }
        }
        Ok(())
    }

    fn binds(&mut self) -> Result<(), PlanError> {
        let socks: Vec<&Sock<'_>> = self.unix().collect();
        for s in socks {
            let u = s.unix.as_ref().map(|u| (u.has(UNIX_ACCEPTED), u.laddr.clone()));
            let Some((accepted, laddr)) = u else { continue };
            if accepted || self.embryos.contains(&s.objref) {
                continue; // names inherited from a listener
            }
            if !self.created.contains(&s.objref) {
                continue;
            }
            let Some(a) = addr_of(&laddr) else { continue };
            if self.k.sock(s.objref as Slot).is_some_and(|x| x.name.is_some()) {
                continue;
            }
            let why = if s.unix.as_ref().is_some_and(|u| u.has(wire::UNIX_AUTOBIND)) {
                format!("#{} was autobound to {}: bind that exact name", s.objref, laddr.display())
            } else {
                format!("#{} is named {}", s.objref, laddr.display())
            };
            self.bind_named(s, a, &why)?;
        }
        Ok(())
    }

    fn listens(&mut self) -> Result<(), PlanError> {
        let ls: Vec<&Sock<'_>> = self.unix().filter(|s| s.is_listener()).collect();
        for l in ls {
            let admits = l.effective_backlog() + 1;
            let pending = l.pending.len() as i64;
            let backlog = if pending > admits { pending - 1 } else { i64::from(l.common.backlog) };
            let why = if pending > admits {
                format!(
                    "#{} listens; {pending} connections will be pending but backlog {} admits {admits}: use {} until they are queued",
                    l.objref, l.common.backlog, pending - 1
                )
            } else {
                format!("#{} listens with backlog {}", l.objref, l.common.backlog)
            };
            self.push(Op::Listen { slot: l.objref as Slot, backlog: backlog as i32 }, why)?;
        }
        Ok(())
    }

    fn connections(&mut self) -> Result<(), PlanError> {
        let ls: Vec<&Sock<'_>> = self.unix().filter(|s| s.is_listener()).collect();
        // (listener, accepted, client), by listener in a stable sort (a listener's accepted
        // connections keep their order; a list, not a map of lists: one B-tree instance fewer
        // in the browser's bundle).
        let mut by_listener: Vec<(i32, i32, i32)> = Vec::new();
        for (acc, client) in self.accepted_pairs() {
            if let Some(l) = self.sock(acc).and_then(|a| self.listener_of(a)) {
                by_listener.push((l.objref, acc, client));
            }
        }
        crate::order::sort_by_rank(&mut by_listener, |t| crate::order::rank_i32(t.0));
        // (listener, accepted socket whose peer has closed), in socket order within each
        // listener: gathered in one pass (a pass per listener was quadratic: 12 % of the
        // restore benchmark's CPU at 500 listeners and 9,500 sockets).
        let mut gone_by_listener: Vec<(i32, i32)> = self
            .unix()
            .filter(|s| self.gone_accepted(s))
            .filter_map(|s| self.listener_of(s).map(|l| (l.objref, s.objref)))
            .collect();
        crate::order::sort_by_rank(&mut gone_by_listener, |t| crate::order::rank_i32(t.0));
        for l in ls {
            let pairs: Vec<(i32, i32)> =
                crate::order::run_of(&by_listener, l.objref, |t| t.0).iter().map(|t| (t.1, t.2)).collect();
            let Some(name) = l.laddr().and_then(addr_of) else { continue };
            let cwd = l.unix.as_ref().and_then(|u| u.cwd.clone());
            // Accepted connections first, so accept() finds them at the head of the queue.
            for &(acc, client) in &pairs {
                let Some(a) = self.sock(acc) else { continue };
                let Some(c) = self.sock(client) else { continue };
                self.bind_client(c)?;
                self.shutdown_before_connect(client, acc)?;
                let n = name.clone();
                self.with_cwd(cwd.as_deref(), |p| {
                    p.push(
                        Op::Connect { slot: client as Slot, addr: n },
                        format!("#{client} connects to #{} (returns before accept)", l.objref),
                    )
                })?;
                self.push(
                    Op::Accept { slot: l.objref as Slot, new: acc as Slot },
                    format!("accept returns #{acc}, named like #{}, peer #{client}", l.objref),
                )?;
                self.created.insert(acc);
                self.buffers(a)?;
            }
            // Accepted sockets whose peer has closed, from a stand-in peer: accept() must find
            // its connection at the head of the queue too (PeerGone sends the data and closes it).
            let gone: Vec<&Sock<'_>> = crate::order::run_of(&gone_by_listener, l.objref, |t| t.0)
                .iter()
                .filter_map(|t| self.sock(t.1))
                .collect();
            for s in gone {
                let t = self.temp("peer");
                let n = name.clone();
                self.push(Op::Socket { slot: t, ty: ty_of(s) }, format!("a stand-in for #{}'s closed peer", s.objref))?;
                self.with_cwd(cwd.as_deref(), |p| p.push(Op::Connect { slot: t, addr: n }, "the stand-in connects"))?;
                self.push(
                    Op::Accept { slot: l.objref as Slot, new: s.objref as Slot },
                    format!("accept gives #{}, before the pending connections queue up", s.objref),
                )?;
                self.created.insert(s.objref);
                self.buffers(s)?;
                self.stand_ins.insert(s.objref, t);
            }
            // Pending connections in accept-queue order, each with what its client already sent.
            for (i, p) in l.pending.iter().enumerate() {
                let embryo = self.sock(p.embryo);
                let client = if p.client != 0 {
                    if let Some(c) = self.sock(p.client) {
                        self.bind_client(c)?;
                        self.shutdown_before_connect(p.client, p.embryo)?;
                    }
                    p.client as Slot
                } else {
                    let t = self.temp("client");
                    let ty = ty_of(l);
                    self.push(
                        Op::Socket { slot: t, ty },
                        format!(
                            "pending connection {i} of #{}: its client has closed; a temporary client stands in",
                            l.objref
                        ),
                    )?;
                    t
                };
                let n = name.clone();
                self.with_cwd(cwd.as_deref(), |pl| {
                    pl.push(
                        Op::Connect { slot: client, addr: n },
                        format!(
                            "pending connection {i} of #{}: connect, never accept (it stays in the accept queue)",
                            l.objref
                        ),
                    )
                })?;
                if let Some(e) = embryo {
                    for m in &e.queue {
                        let rights = self.rights_slots(&m.rights);
                        self.push(
                            Op::Send { slot: client, to: None, data: Payload(m.data.to_vec()), rights },
                            format!("data #{} sent before accept waits on the embryo", p.client),
                        )?;
                    }
                }
                if p.client == 0 {
                    self.push(
                        Op::Close { slot: client },
                        "the client had closed: its embryo keeps the data and sees EOF",
                    )?;
                }
            }
        }
        Ok(())
    }

    fn rights_slots(&self, files: &[i32]) -> Vec<Slot> {
        files.iter().filter_map(|f| self.img.files.get(f)).map(|f| f.repr.sock_objref as Slot).collect()
    }

    /// A stream socket whose peer closed: connect it to a stand-in, let the stand-in send what
    /// is queued, close the stand-in (the kernel then sets shutdown 3, as it did). A dgram
    /// socket whose connected peer closed the same way, as one end of a socketpair: only its
    /// peer could have queued datagrams on it then (`unix_may_send`), and once the stand-in
    /// closes its `unix_peer` points at a dead socket, as it did: its first send() is
    /// ECONNREFUSED and purges its queue, later ones ENOTCONN (§2.2).
    fn peer_gone(&mut self) -> Result<(), PlanError> {
        let gone: Vec<&Sock<'_>> =
            self.unix().filter(|s| stand_in_peer(s) && !self.embryos.contains(&s.objref)).collect();
        for s in gone {
            let ty = ty_of(s);
            if let Some(m) = s.queue.iter().find(|m| m.sender != 0).filter(|_| ty == SockType::Dgram) {
                return Err(PlanError(format!(
                    "dgram #{}'s connected peer has closed, but a datagram queued on it comes from #{}: once it was connected only its peer could send to it, so that datagram cannot be re-sent in its place",
                    s.objref, m.sender
                )));
            }
            let slot = s.objref as Slot;
            let accepted = s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED));
            let early = self.stand_ins.remove(&s.objref);
            let t = early.unwrap_or_else(|| self.temp("peer"));
            if early.is_some() {
                // Accepted in Connect, its stand-in connected.
            } else if accepted {
                // It must come out of accept() to carry its listener's name.
                let name = s.laddr().and_then(addr_of);
                let l = self.listener_of(s).map(|l| l.objref as Slot);
                let (lslot, temp_l) = match l {
                    Some(l) => (l, None),
                    None => {
                        let tl = self.temp("listener");
                        self.push(
                            Op::Socket { slot: tl, ty },
                            format!("#{}'s listener is gone: a temporary one", s.objref),
                        )?;
                        if let Some(n) = &name {
                            if let SockAddr::Path(p) = n {
                                self.push(
                                    Op::Unlink { path: Payload(p.clone()), stale_only: true },
                                    "remove a stale socket file first",
                                )?;
                            }
                            self.push(
                                Op::Bind { slot: tl, addr: n.clone() },
                                "the accepted socket inherits this name",
                            )?;
                        }
                        self.push(Op::Listen { slot: tl, backlog: 0 }, "listen for the stand-in")?;
                        (tl, Some(tl))
                    }
                };
                let Some(n) = name else { continue };
                self.push(Op::Socket { slot: t, ty }, format!("a stand-in for #{}'s closed peer", s.objref))?;
                self.push(Op::Connect { slot: t, addr: n.clone() }, "the stand-in connects")?;
                self.push(Op::Accept { slot: lslot, new: slot }, format!("accept gives #{}", s.objref))?;
                self.created.insert(s.objref);
                self.buffers(s)?;
                if let Some(tl) = temp_l {
                    self.push(Op::Close { slot: tl }, "the temporary listener is no longer needed")?;
                    if let SockAddr::Path(p) = &n {
                        if !self.unix().any(|x| x.is_listener() && x.laddr() == s.laddr()) {
                            self.push(
                                Op::Unlink { path: Payload(p.clone()), stale_only: false },
                                "its file did not exist at checkpoint",
                            )?;
                        }
                    }
                }
            } else {
                self.push(
                    Op::Socketpair { a: t, b: slot, ty },
                    format!("#{} gets a stand-in peer that will close", s.objref),
                )?;
                self.created.insert(s.objref);
                self.buffers(s)?;
                if let Some(a) = s.laddr().and_then(addr_of) {
                    self.bind_named(s, a, "its own name")?;
                }
            }
            for (i, m) in s.queue.iter().enumerate() {
                let rights = self.rights_slots(&m.rights);
                self.push(
                    queue_send(s, i, t, Payload(m.data.to_vec()), rights),
                    format!("what the closed peer had sent to #{}", s.objref),
                )?;
            }
            let why = if ty == SockType::Dgram {
                format!(
                    "the peer closes: #{} keeps its datagrams and points at a dead peer (its next send is ECONNREFUSED)",
                    s.objref
                )
            } else {
                format!("the peer closes: #{} sees shutdown and reads the data, then EOF", s.objref)
            };
            self.push(Op::Close { slot: t }, why)?;
        }
        Ok(())
    }

    fn refill(&mut self) -> Result<(), PlanError> {
        let socks: Vec<&Sock<'_>> = self.unix().collect();
        // Receivers are not connected yet (dgram connects come after the refill), so re-sending
        // is never refused with EPERM; the queue limit is handled when the receiver is created.
        for s in socks.iter().copied() {
            if self.embryos.contains(&s.objref) || stand_in_peer(s) || s.queue.is_empty() {
                continue;
            }
            let slot = s.objref as Slot;
            let ty = ty_of(s);
            let mut temp_sender: Option<Slot> = None;
            let gone = named_gone_dgram(s);
            if gone {
                let first_own = s.queue.iter().position(|m| m.sender == 0).unwrap_or(s.queue.len());
                if let Some(m) = s.queue[first_own..].iter().find(|m| m.sender != 0) {
                    return Err(PlanError(format!(
                        "dgram #{}'s connected peer has closed, and a datagram from #{} is queued after one from that peer: once it was connected only its peer could send to it",
                        s.objref, m.sender
                    )));
                }
            }
            for (i, m) in s.queue.iter().enumerate() {
                let rights = self.rights_slots(&m.rights);
                let data = Payload(m.data.to_vec());
                if gone && m.sender == 0 && temp_sender.is_none() {
                    temp_sender = Some(self.stand_in_dgram_peer(s)?);
                }
                if ty.is_connection_oriented() {
                    let from = m.sender as Slot;
                    let why = if s.oob.is_some_and(|o| o.index as usize == i) {
                        "refill the queue: the peer sends its out-of-band byte (MSG_OOB) where it was"
                    } else {
                        "refill the queue: the peer sends what it had sent"
                    };
                    self.push(queue_send(s, i, from, data, rights), why)?;
                    continue;
                }
                let from = match (m.sender, temp_sender) {
                    (0, Some(t)) => t,
                    (0, None) => {
                        let t = self.temp("sender");
                        let n = s.queue.iter().filter(|m| m.sender == 0).count();
                        self.plan.warnings.push(
                            Warning::new(
                                WarnCode::SenderStandIn,
                                format!(
                                    "socket #{}: {n} queued datagrams came from a socket that has closed: they are re-sent from an unnamed temporary socket (the image does not record the sender's name)",
                                    s.objref
                                ),
                            )
                            .objref(s.objref)
                            .step(self.plan.steps.len()),
                        );
                        self.push(
                            Op::Socket { slot: t, ty },
                            format!("a datagram to #{} came from a socket that has closed", s.objref),
                        )?;
                        temp_sender = Some(t);
                        t
                    }
                    (x, _) => x as Slot,
                };
                let connected =
                    self.k.sock(from).and_then(|x| x.peer) == self.k.sock_ref(slot) && self.k.sock_ref(slot).is_some();
                let to = if connected { None } else { s.laddr().and_then(addr_of) };
                if !connected && to.is_none() {
                    return Err(PlanError(format!(
                        "a datagram to unnamed socket #{} from #{} cannot be re-sent: only its connected peer could reach it",
                        s.objref, m.sender
                    )));
                }
                let cwd = s.unix.as_ref().and_then(|u| u.cwd.clone()).filter(|_| to.is_some());
                let why = format!("refill #{}'s queue: a datagram from #{}", s.objref, m.sender);
                self.with_cwd(cwd.as_deref(), |p| p.push(Op::Send { slot: from, to, data, rights }, why))?;
            }
            if gone && temp_sender.is_none() {
                temp_sender = Some(self.stand_in_dgram_peer(s)?);
            }
            match temp_sender {
                Some(t) if gone => self.push(
                    Op::Close { slot: t },
                    format!(
                        "the peer closes: #{} keeps its datagrams and points at a dead peer (its next send is ECONNREFUSED)",
                        s.objref
                    ),
                )?,
                Some(t) => self.push(Op::Close { slot: t }, "the stand-in sender is no longer needed")?,
                None => {}
            }
        }
        Ok(())
    }

    /// For [`named_gone_dgram`] `s`, once the datagrams of other senders are back: a stand-in
    /// bound to a temporary abstract name, `s` connected to it and it to `s` (`unix_may_send`:
    /// `s`'s peer is now the stand-in), which then sends the closed peer's datagrams and closes.
    fn stand_in_dgram_peer(&mut self, s: &Sock<'_>) -> Result<Slot, PlanError> {
        let t = self.temp("peer");
        let at = SockAddr::Abstract(format!("resocket-closed-peer-of-{}", s.objref).into_bytes());
        let own = s.laddr().and_then(addr_of).ok_or_else(|| PlanError(format!("#{} has no name", s.objref)))?;
        self.push(Op::Socket { slot: t, ty: SockType::Dgram }, format!("a stand-in for #{}'s closed peer", s.objref))?;
        self.push(
            Op::Bind { slot: t, addr: at.clone() },
            format!("a temporary name, for #{} to connect to", s.objref),
        )?;
        let n = s.queue.iter().filter(|m| m.sender == 0).count();
        if n > 0 {
            self.plan.warnings.push(
                Warning::new(
                    WarnCode::SenderStandIn,
                    format!(
                        "socket #{}: {n} queued datagrams came from its connected peer, which has closed: they are re-sent from a stand-in bound to a temporary abstract name (the image does not record the peer's name)",
                        s.objref
                    ),
                )
                .objref(s.objref)
                .step(self.plan.steps.len()),
            );
        }
        self.push(
            Op::Connect { slot: s.objref as Slot, addr: at },
            format!("#{} connects to the stand-in, after the datagrams others had sent it", s.objref),
        )?;
        let cwd = s.unix.as_ref().and_then(|u| u.cwd.clone());
        self.with_cwd(cwd.as_deref(), |p| {
            p.push(
                Op::Connect { slot: t, addr: own },
                "the stand-in connects back, to send what the closed peer had sent",
            )
        })?;
        Ok(t)
    }

    fn dgram_connects(&mut self) -> Result<(), PlanError> {
        let mut todo: Vec<(i32, i32)> = self
            .unix()
            .filter(|s| ty_of(s) == SockType::Dgram && s.peer() != 0 && self.is_pair(s).is_none())
            .map(|s| (s.objref, s.peer()))
            .collect();
        // A connect to a socket that is connected elsewhere is EPERM: connect in an order where
        // each target is still free (the order the original process must have used).
        while !todo.is_empty() {
            let before = todo.len();
            let mut rest = Vec::new();
            for (s, p) in todo {
                let target = self.k.sock(p as Slot).and_then(|t| t.peer);
                let own = self.k.sock_ref(s as Slot);
                if target.is_some() && target != own {
                    rest.push((s, p));
                    continue;
                }
                let Some(ps) = self.sock(p) else { continue };
                let Some(addr) = ps.laddr().and_then(addr_of) else {
                    return Err(PlanError(format!(
                        "dgram #{s} is connected to unnamed #{p}, which connect() cannot reach"
                    )));
                };
                let cwd = ps.unix.as_ref().and_then(|u| u.cwd.clone());
                let why = if s == p { format!("#{s} connects to itself") } else { format!("#{s} connects to #{p}") };
                self.with_cwd(cwd.as_deref(), |pl| pl.push(Op::Connect { slot: s as Slot, addr }, why))?;
            }
            if rest.len() == before {
                return Err(PlanError(format!("dgram connects {rest:?} wait on each other")));
            }
            todo = rest;
        }
        // A receiver that someone connected to is ESTABLISHED even when that someone is gone.
        let lonely: Vec<i32> = self
            .unix()
            .filter(|s| ty_of(s) == SockType::Dgram && s.common.state == wire::TCP_ESTABLISHED && s.peer() == 0)
            .filter(|s| self.k.sock(s.objref as Slot).is_some_and(|k| k.state != SkState::Established))
            .map(|s| s.objref)
            .collect();
        for r in lonely {
            let Some(addr) = self.sock(r).and_then(|s| s.laddr()).and_then(addr_of) else { continue };
            let t = self.temp("connector");
            self.push(
                Op::Socket { slot: t, ty: SockType::Dgram },
                format!("#{r} was connected to by a socket that is gone"),
            )?;
            self.push(Op::Connect { slot: t, addr }, format!("connecting to #{r} makes it ESTABLISHED"))?;
            self.push(Op::Close { slot: t }, "the stand-in is no longer needed")?;
        }
        Ok(())
    }

    /// `unix_shutdown()` mirrors a connected stream socket's shutdown onto its peer (our
    /// `SHUT_RD` is the peer's `SEND_SHUTDOWN`, and the other way round); a client's bits that
    /// its peer (accepted socket or embryo) does not mirror were set before it connected, so
    /// they are set before its connect() here too (Linux lets an unconnected stream socket shut
    /// down, and connect afterwards: live 6.18). A `SHUT_WR` the peer does not mirror while the
    /// peer holds data is not reachable that way and is left to the last phase (the check then
    /// names the difference).
    fn shutdown_before_connect(&mut self, client: i32, peer: i32) -> Result<(), PlanError> {
        let (Some(c), Some(p)) = (self.sock(client), self.sock(peer)) else { return Ok(()) };
        let mut bits = c.common.shutdown & wire::SHUTDOWN_MASK & !How::mirror(p.common.shutdown & wire::SHUTDOWN_MASK);
        if !p.queue.is_empty() {
            bits &= !2;
        }
        let Some(how) = How::from_bits(bits) else { return Ok(()) };
        self.push(
            Op::Shutdown { slot: client as Slot, how },
            format!("#{client} had shut down ({bits}) before it connected: its peer #{peer} does not mirror it"),
        )
    }

    fn shutdowns(&mut self) -> Result<(), PlanError> {
        let socks: Vec<&Sock<'_>> = self.unix().collect();
        for s in socks {
            let bits = s.common.shutdown & wire::SHUTDOWN_MASK;
            if bits == 0 || self.embryos.contains(&s.objref) {
                continue;
            }
            let slot = s.objref as Slot;
            let have = self.k.sock(slot).map_or(0, |k| k.shutdown);
            let Some(how) = How::from_bits(bits & !have) else { continue };
            self.push(
                Op::Shutdown { slot, how },
                format!("#{} had shutdown {bits} (applied last: it stops the refill)", s.objref),
            )?;
        }
        // shutdown() mirrors onto a connected peer: say where the bits now differ from the image.
        // (A socket whose peer is outside the image is said with its own code.)
        let socks: Vec<&Sock<'_>> = self
            .unix()
            .filter(|s| {
                !self.embryos.contains(&s.objref) && !s.unix.as_ref().is_some_and(|u| u.has(wire::UNIX_EXTERNAL_PEER))
            })
            .collect();
        for s in socks {
            let want = s.common.shutdown & wire::SHUTDOWN_MASK;
            let Some(have) = self.k.sock(s.objref as Slot).map(|k| k.shutdown) else { continue };
            self.warn_shutdown(s.objref, have, want);
        }
        // An embryo has no slot of its own: it is its client's peer on the kernel.
        let embryos: Vec<&Sock<'_>> = self.unix().filter(|s| self.embryos.contains(&s.objref)).collect();
        for e in embryos {
            let want = e.common.shutdown & wire::SHUTDOWN_MASK;
            let client = self.k.sock(e.peer() as Slot).filter(|_| e.peer() != 0);
            let Some(have) = client.and_then(|c| c.peer).and_then(|r| self.k.socks.get(r)).map(|k| k.shutdown) else {
                continue;
            };
            self.warn_shutdown(e.objref, have, want);
        }
        Ok(())
    }

    /// `shutdown-differs` on socket `objref` when the bits it comes back with are not the image's.
    fn warn_shutdown(&mut self, objref: i32, have: u8, want: u8) {
        if have == want {
            return;
        }
        self.plan.warnings.push(
            Warning::new(
                WarnCode::ShutdownDiffers,
                format!(
                    "socket #{objref}: its shutdown bits come back as {have}, the image has {want} (a peer's shutdown() mirrors onto it, or a bit cannot be set before its data is queued)"
                ),
            )
            .objref(objref),
        );
    }

    fn cleanup(&mut self) -> Result<(), PlanError> {
        let ls: Vec<&Sock<'_>> = self.unix().filter(|s| s.is_listener()).collect();
        for l in ls {
            let want = l.effective_backlog();
            if self.k.sock(l.objref as Slot).is_some_and(|k| k.max_ack_backlog != want) {
                self.push(
                    Op::Listen { slot: l.objref as Slot, backlog: i32::from(l.common.backlog) },
                    format!(
                        "#{}'s backlog back to {} (re-listen keeps the pending connections)",
                        l.objref, l.common.backlog
                    ),
                )?;
            }
        }
        let raised: Vec<(Slot, i32)> = std::mem::take(&mut self.raised_sndbuf).into_iter().collect();
        for (slot, v) in raised {
            if self.k.sock(slot).is_some() {
                self.push(Op::SetSockOpt { slot, opt: SockOpt::SndBufForce(v) }, "sndbuf back to its recorded size")?;
            }
        }
        for slot in std::mem::take(&mut self.late_passcred) {
            if self.k.sock(slot).is_some() {
                self.push(
                    Op::SetSockOpt { slot, opt: SockOpt::PassCred(true) },
                    format!("#{slot} had SO_PASSCRED and no name: set after its sends and connects, which would have autobound it"),
                )?;
            }
        }
        let unlinked: Vec<&Sock<'_>> = self
            .unix()
            .filter(|s| {
                let u = s.unix.as_ref();
                matches!(s.laddr(), Some(UnixAddr::Path(_)))
                    && u.is_some_and(|u| !u.has(UNIX_LINKED) && !u.has(UNIX_ACCEPTED))
                    && !self.embryos.contains(&s.objref)
            })
            .collect();
        for s in unlinked {
            if let Some(UnixAddr::Path(p)) = s.laddr() {
                let cwd = s.unix.as_ref().and_then(|u| u.cwd.clone());
                let p = p.to_vec();
                self.with_cwd(cwd.as_deref(), |pl| {
                    pl.push(
                        Op::Unlink { path: Payload(p), stale_only: false },
                        "the name's file had been unlinked at checkpoint",
                    )
                })?;
            }
        }
        Ok(())
    }

    fn place(&mut self) -> Result<(), PlanError> {
        // Every socket's places, then its handle closed at once: the restorer never holds much
        // more than one descriptor per socket (RLIMIT_NOFILE).
        let mut places: BTreeMap<Slot, Vec<Placement>> = BTreeMap::new();
        for t in &self.img.tables {
            let pid = t.pid.unwrap_or(0);
            for fd in &t.fds {
                let Some(f) = self.img.files.get(&fd.file) else { continue };
                let slot = f.repr.sock_objref as Slot;
                if self.k.sock(slot).is_some() {
                    let nonblock = f.repr.f_flags & wire::O_NONBLOCK != 0;
                    places.entry(slot).or_default().push((pid, fd.fd, fd.cloexec, nonblock));
                }
            }
        }
        let mut order: Vec<(Slot, Vec<Placement>)> = places.into_iter().collect();
        // By the first placement (pid, fd); a slot placed nowhere first.
        crate::order::sort_by_rank(&mut order, |(_, v)| {
            v.first().map_or(0, |&(pid, fd, _, _)| {
                1u128 << 64 | crate::order::rank_i32(pid) << 32 | crate::order::rank_i32(fd)
            })
        });
        for (slot, v) in order {
            for (pid, fd, cloexec, nonblock) in v {
                self.push(Op::Place { slot, pid, fd, cloexec, nonblock }, "the process had this socket at this fd")?;
            }
            self.push(Op::Close { slot }, "the plan's own handle is not needed any more")?;
        }
        // Image sockets still held only by the plan: kept alive by a queue (SCM_RIGHTS) or an
        // accept queue (embryos), or closed here for good.
        let in_flight: BTreeSet<i32> = self
            .img
            .sockets
            .values()
            .flat_map(|s| s.queue.iter().flat_map(|m| m.rights.iter()))
            .filter_map(|f| self.img.files.get(f).map(|f| f.repr.sock_objref))
            .collect();
        let open: Vec<Slot> = self.k.slots.keys().collect();
        for slot in open {
            let objref = self.plan.slots.get(&slot).and_then(|i| i.objref);
            if let Some(o) = objref.filter(|o| !in_flight.contains(o) && !self.embryos.contains(o)) {
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::ClosedAtEnd,
                        format!("socket #{o} has no fd in any process and no queue carries it: the restore closes it"),
                    )
                    .objref(o)
                    .step(self.plan.steps.len()),
                );
            }
            self.push(Op::Close { slot }, "the plan's own handle is not needed any more")?;
        }
        Ok(())
    }
}

/// The send that puts message `i` of `s`'s queue back from `from`: `sendmsg(MSG_OOB)` of its
/// one byte for the out-of-band byte (`RS_OOB`), a plain `sendmsg` otherwise.
fn queue_send(s: &Sock<'_>, i: usize, from: Slot, data: Payload, rights: Vec<Slot>) -> Op {
    match (s.oob, &data.0[..]) {
        (Some(o), &[byte]) if o.index as usize == i => Op::SendOob { slot: from, byte, rights },
        _ => Op::Send { slot: from, to: None, data, rights },
    }
}
