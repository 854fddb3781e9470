//! The restore-order checker: run any order of steps on the simulator, say what each step
//! returned, explain the first step that fails or would block (with a suggested fix), and
//! compare the final simulated state with the image.

use crate::image::{Image, Sock, UnixAddr};
use crate::plan::{Phase, Plan, SlotInfo, Step};
use crate::sim::kernel::SockRef;
use crate::sim::*;
use crate::wire;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

mod inet;

/// What happened at one step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
pub struct StepResult {
    /// Index of the step in the plan.
    pub step: usize,
    /// What the simulator returned.
    pub outcome: Outcome,
}

impl StepResult {
    /// C-like text of the operation.
    pub fn text(&self, plan: &Plan) -> String {
        plan.describe(self.step)
    }
}

/// The first step that failed or would block.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
pub struct Failure {
    /// Position in the executed order.
    pub position: usize,
    /// Index of the step in the plan.
    pub step: usize,
    /// What went wrong, for a student.
    pub explanation: String,
    /// What would make it work.
    pub fix: String,
    /// The kernel rule that refused the step or made it wait ([`Rule::explain`] says where Linux
    /// decides it and why); `None` for an INET step (not named yet) or an invalid one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<crate::sim::Rule>,
}

/// One way the simulated result differs from the image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
pub struct Difference {
    /// The image socket concerned.
    pub objref: i32,
    /// Which property.
    pub what: String,
    /// As recorded in the image.
    pub expected: String,
    /// As simulated.
    pub found: String,
}

/// The result of running an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
pub struct RunReport {
    /// Every executed step, up to and including the first failure.
    pub results: Vec<StepResult>,
    /// The first failure, if any.
    pub failure: Option<Failure>,
    /// Differences between the final state and the image (empty when the order completed
    /// and reproduced the image).
    pub differences: Vec<Difference>,
}

impl RunReport {
    /// Ran to the end and reproduced the image.
    pub fn is_clean(&self) -> bool {
        self.failure.is_none() && self.differences.is_empty()
    }
}

/// A kernel that is being driven by a plan, with the objref ↔ socket correspondence kept.
#[derive(Debug, Clone)]
pub struct Run<'p> {
    plan: &'p Plan,
    /// The simulated kernel.
    pub kernel: Kernel,
    /// Image objref → simulated socket.
    pub objref_sock: BTreeMap<i32, SockRef>,
    /// Simulated socket → image objref.
    /// (Indexed by `SockRef`, which the simulator numbers densely from 0.)
    pub sock_objref: Vec<Option<i32>>,
}

impl<'p> Run<'p> {
    /// Start a run of `plan` on a fresh kernel.
    pub fn new(plan: &'p Plan) -> Self {
        RunState::default().attach(plan)
    }

    /// Start a run of `plan` on a fresh kernel of a host with these addresses (the plan should
    /// have been made for the same host: `plan::plan_on`).
    pub fn new_on(plan: &'p Plan, host: &HostAddrs) -> Self {
        RunState::on_host(host).attach(plan)
    }

    /// Execute one step; returns its outcome.
    pub fn step(&mut self, step: &Step) -> Outcome {
        let out = self.kernel.apply(&step.op);
        if out.is_ok() {
            // Only operations that can bring a socket into a slot need the bookkeeping.
            let new_sockets = matches!(
                step.op,
                Op::Socket { .. } | Op::SocketInet { .. } | Op::Socketpair { .. } | Op::Accept { .. } | Op::Recv { .. }
            );
            for slot in step.op.slots().filter(|_| new_sockets) {
                if let (Some(r), Some(SlotInfo { objref: Some(o), .. })) =
                    (self.kernel.sock_ref(slot), self.plan.slots.get(&slot))
                {
                    self.objref_sock.insert(*o, r);
                    set_at(&mut self.sock_objref, r, *o);
                }
            }
        }
        out
    }

    /// Image objref of a simulated socket, if it stands for one.
    pub fn objref_of(&self, r: SockRef) -> Option<i32> {
        self.sock_objref.get(r).copied().flatten()
    }

    /// Map embryos through their listeners' queues (they never have a slot).
    pub fn map_embryos(&mut self, img: &Image<'_>) {
        for l in img.sockets.values() {
            let Some(&lr) = self.objref_sock.get(&l.objref) else { continue };
            let embryos: Vec<SockRef> = self.kernel.socks[lr].queue.iter().filter_map(|s| s.embryo).collect();
            for (p, e) in l.pending.iter().zip(embryos) {
                self.objref_sock.insert(p.embryo, e);
                set_at(&mut self.sock_objref, e, p.embryo);
            }
        }
    }
}

/// `v[i] = Some(x)`, growing `v` to the simulator's socket count as needed.
fn set_at(v: &mut Vec<Option<i32>>, i: SockRef, x: i32) {
    if v.len() <= i {
        v.resize(i + 1, None);
    }
    v[i] = Some(x);
}

fn label(plan: &Plan, slot: Slot) -> String {
    plan.label(slot)
}

/// Explain a failed or blocked step in a sentence a student understands, with a fix.
pub fn explain(plan: &Plan, k: &Kernel, op: &Op, out: &Outcome) -> (String, String) {
    let name = |s: Slot| label(plan, s);
    let text = op.describe(&name);
    match (op, out) {
        (Op::Connect { addr, slot }, Outcome::WouldBlock { block: Block::BacklogFull { pending, backlog } })
            if k.inet_sock(*slot).is_some() =>
        {
            (
                format!(
                    "{text} cannot complete now: the TCP listener at {} holds {pending} connections and its backlog is {backlog}, so it admits {}; Linux drops the SYN (no EAGAIN) and retransmits it after 1 s, 3 s, … — whether and when it gets in depends on time and on accept(), so the model calls it would-block",
                    addr.display(),
                    backlog + 1
                ),
                format!("raise the backlog first (listen(L, {pending}) keeps the queued connections) or accept one before this connect"),
            )
        }
        (_, Outcome::WouldBlock { block: Block::Undetermined { why, .. } }) => (
            format!("{text}: the kernel's answer is not determined — {why}; the model does not guess"),
            "avoid the situation (distinct addresses, smaller queues, larger buffers) so the answer is certain".into(),
        ),
        (_, Outcome::WouldBlock { block: Block::NoAnswer { why } }) => (
            format!("{text} gets no answer: {why}; the kernel would retry the SYN for minutes"),
            "use a fresh socket for this connection".into(),
        ),
        (Op::Connect { addr, .. }, Outcome::WouldBlock { block: Block::BacklogFull { pending, backlog } }) => {
            let lname = addr.display();
            (
                format!(
                    "{text} would block: the listener at {lname} holds {pending} pending connections and its backlog is {backlog}, so it admits {} — in a single-threaded restore nobody will accept, so this is a deadlock",
                    backlog + 1
                ),
                format!("raise the backlog first (listen(L, {pending}) keeps the queued connections) or accept one before this connect"),
            )
        }
        (Op::Connect { addr, .. }, Outcome::Err { errno: Errno::ENOENT }) => (
            format!("{text} fails with ENOENT: nothing exists at {} yet", addr.display()),
            "create, bind and listen the listener before connecting to it".into(),
        ),
        (Op::Connect { addr, .. }, Outcome::Err { errno: Errno::ECONNREFUSED }) => (
            format!("{text} fails with ECONNREFUSED: no socket listens on {} (not bound yet, not listening yet, or shut down for reading)", addr.display()),
            "bind and listen() the listener first".into(),
        ),
        (Op::Connect { .. }, Outcome::Err { errno: Errno::EISCONN }) => {
            (format!("{text} fails with EISCONN: the socket is already connected"), "each socket connects once: remove the duplicate connect".into())
        }
        (Op::Connect { .. }, Outcome::Err { errno: Errno::EPERM }) => (
            format!("{text} fails with EPERM: the target datagram socket is connected to a third socket, so it only accepts datagrams from that one"),
            "connect in the order the original process did: before the target connects elsewhere".into(),
        ),
        (Op::Bind { addr, .. }, Outcome::Err { errno: Errno::EADDRINUSE }) => (
            format!("{text} fails with EADDRINUSE: {} is taken (a file exists at that path, even a stale socket file, or a live socket of this type holds the abstract name)", addr.display()),
            "unlink a stale socket file first; for a name held by another socket, bind after that socket is gone".into(),
        ),
        (Op::Bind { .. }, Outcome::Err { errno: Errno::EINVAL }) => {
            (format!("{text} fails with EINVAL: the socket already has a name"), "a socket is bound once".into())
        }
        (Op::Listen { .. }, Outcome::Err { errno: Errno::EINVAL }) => (
            format!("{text} fails with EINVAL: only a bound, unconnected socket can listen"),
            "bind the socket before listen()".into(),
        ),
        (Op::Listen { .. }, Outcome::Err { errno: Errno::EOPNOTSUPP }) => {
            (format!("{text} fails with EOPNOTSUPP: datagram sockets do not listen"), "drop the listen".into())
        }
        (Op::Accept { .. }, Outcome::WouldBlock { .. }) => (
            format!("{text} would block: no connection is pending on that listener, and a single-threaded restore has nobody else to connect"),
            "connect the client first: connect() returns before accept()".into(),
        ),
        (Op::Accept { .. }, Outcome::Err { errno: Errno::EINVAL }) => {
            (format!("{text} fails with EINVAL: the socket is not listening"), "listen() before accept()".into())
        }
        (Op::Send { .. }, Outcome::WouldBlock { block: Block::SndBuf { wmem, sndbuf } }) => (
            format!("{text} would block: the sender already has {wmem} bytes queued at receivers and its send buffer is {sndbuf}; nobody reads during a restore"),
            "raise the sender's SO_SNDBUF (SO_SNDBUFFORCE) for the refill and set it back afterwards".into(),
        ),
        (Op::Send { .. }, Outcome::WouldBlock { block: Block::DgramQueueFull { qlen, limit } }) => (
            format!("{text} would block: the receiver holds {qlen} datagrams and admits {} from sockets other than itself or its peer", limit + 1),
            "create the receiver with a larger net.unix.max_dgram_qlen, or connect it back to the sender before the refill".into(),
        ),
        (Op::Send { .. }, Outcome::Err { errno: Errno::EPIPE }) => (
            format!("{text} fails with EPIPE: the sender is shut down for writing or the receiver for reading"),
            "refill queues before applying shutdown".into(),
        ),
        (Op::Send { .. }, Outcome::Err { errno: Errno::ENOTCONN }) => (
            format!("{text} fails with ENOTCONN: the sender is not connected and no address was given"),
            "connect it first".into(),
        ),
        (Op::Send { .. }, Outcome::Err { errno: Errno::EPERM }) => (
            format!("{text} fails with EPERM: the receiver is connected to another socket"),
            "refill the receiver's queue before it connects elsewhere".into(),
        ),
        (_, Outcome::Err { errno: Errno::EBADF }) => (
            format!("{text} fails with EBADF: a socket it names does not exist yet (or was closed)"),
            "create the socket (or accept it) before using it".into(),
        ),
        (_, Outcome::Invalid { why }) => (format!("{text} is not a valid step: {why}"), "fix the step".into()),
        (_, out) => (format!("{text} returned {}", out.short()), "see the kernel rules in docs/format.md and af_unix.md".into()),
    }
}

/// Run the plan's steps in `order` (indices into `plan.steps`) and report.
pub fn run_order(img: &Image<'_>, plan: &Plan, order: &[usize]) -> RunReport {
    run_order_on(img, plan, order, &HostAddrs::default())
}

/// [`run_order`] on a host with these addresses.
pub fn run_order_on(img: &Image<'_>, plan: &Plan, order: &[usize], host: &HostAddrs) -> RunReport {
    let mut job = OrderRun::on_host(host);
    while !job.advance(plan, order, usize::MAX) {}
    job.finish(img, plan)
}

/// A [`Run`] detached from its plan, to keep between calls (a caller that owns the plan behind a
/// shared pointer cannot keep the borrowing `Run`); [`RunState::attach`] continues it.
#[derive(Debug, Clone)]
pub struct RunState {
    pub kernel: Kernel,
    pub objref_sock: BTreeMap<i32, SockRef>,
    pub sock_objref: Vec<Option<i32>>,
}

/// The state of a run that has not started: a fresh kernel (`Kernel::new`).
impl Default for RunState {
    fn default() -> Self {
        RunState { kernel: Kernel::new(), objref_sock: BTreeMap::new(), sock_objref: Vec::new() }
    }
}

impl RunState {
    /// A run not started yet on a host with these addresses.
    pub fn on_host(host: &HostAddrs) -> Self {
        RunState { kernel: Kernel::with_host(host.clone()), ..RunState::default() }
    }

    /// Continue the run with `plan` (the plan it was started with).
    pub fn attach(self, plan: &Plan) -> Run<'_> {
        Run { plan, kernel: self.kernel, objref_sock: self.objref_sock, sock_objref: self.sock_objref }
    }
}

impl Run<'_> {
    /// Keep the state, drop the borrow of the plan.
    pub fn detach(self) -> RunState {
        RunState { kernel: self.kernel, objref_sock: self.objref_sock, sock_objref: self.sock_objref }
    }
}

/// [`run_order`] in resumable slices: [`OrderRun::advance`] executes at most a given number of
/// steps, [`OrderRun::finish`] compares the final state with the image. The report is the same
/// as `run_order`'s however the steps are sliced. The job owns no borrow, so a caller can keep it
/// between slices; every call must pass the same plan and order.
#[derive(Debug, Clone, Default)]
pub struct OrderRun {
    state: RunState,
    /// Next position in the order.
    pos: usize,
    results: Vec<StepResult>,
    failure: Option<Failure>,
}

impl OrderRun {
    /// A job on a fresh kernel of a host with these addresses ([`OrderRun::default`]: loopback only).
    pub fn on_host(host: &HostAddrs) -> Self {
        OrderRun { state: RunState::on_host(host), ..OrderRun::default() }
    }

    /// Positions of the order executed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Execute up to `max_steps` more steps of `order`; `true` when the order is done (ran to
    /// its end or failed).
    pub fn advance(&mut self, plan: &Plan, order: &[usize], max_steps: usize) -> bool {
        if self.failure.is_some() || self.pos >= order.len() {
            return true;
        }
        let mut run = std::mem::take(&mut self.state).attach(plan);
        let end = self.pos.saturating_add(max_steps).min(order.len());
        if self.results.capacity() == 0 {
            self.results.reserve(order.len());
        }
        while self.pos < end {
            let (pos, i) = (self.pos, order[self.pos]);
            self.pos += 1;
            let Some(step) = plan.steps.get(i) else { continue };
            let out = run.step(step);
            self.results.push(StepResult { step: i, outcome: out.clone() });
            if !out.is_ok() {
                // The state after the failed call: a failing call changes nothing the explanation
                // looks at (the names and queues of the sockets involved).
                let (explanation, fix) = explain(plan, &run.kernel, &step.op, &out);
                self.failure = Some(Failure { position: pos, step: i, explanation, fix, rule: run.kernel.last_rule });
                break;
            }
        }
        self.state = run.detach();
        self.failure.is_some() || self.pos >= order.len()
    }

    /// The report, with the differences from the image when the order completed. Call it once
    /// `advance` has returned `true` (before that it reports the steps executed so far).
    pub fn finish(mut self, img: &Image<'_>, plan: &Plan) -> RunReport {
        let mut run = std::mem::take(&mut self.state).attach(plan);
        let differences = if self.failure.is_none() {
            run.map_embryos(img);
            compare(img, &run)
        } else {
            Vec::new()
        };
        RunReport { results: self.results, failure: self.failure, differences }
    }
}

/// Run the plan in its own order.
pub fn run_plan(img: &Image<'_>, plan: &Plan) -> RunReport {
    let order: Vec<usize> = (0..plan.steps.len()).collect();
    run_order(img, plan, &order)
}

fn name_str(n: Option<&UnixAddr>) -> String {
    n.map_or("(unnamed)".into(), UnixAddr::display)
}

/// Compare the simulated state with the image: every AF_UNIX socket's type, state, name,
/// peer, shutdown, backlog, pending connections (in order), queue (senders, bytes, boundaries,
/// rights) and placed fds.
pub fn compare(img: &Image<'_>, run: &Run<'_>) -> Vec<Difference> {
    let mut out = Vec::new();
    for s in img.sockets.values().filter(|s| s.common.family == wire::AF_UNIX && s.unix.is_some()) {
        compare_unix(img, run, s, &mut out);
    }
    compare_fds(img, run, &mut out);
    // AF_INET/AF_INET6 sockets (check/inet.rs).
    out.extend(inet::compare(img, run));
    compare_opts(img, run, &mut out);
    out
}

/// The objref of a live simulated socket (0: none, or closed).
fn live_objref(run: &Run<'_>, r: Option<SockRef>) -> i32 {
    r.filter(|&r| !run.kernel.socks[r].dead).and_then(|r| run.objref_of(r)).unwrap_or(0)
}

/// The differences of the image's AF_UNIX socket `s` from the simulated one.
fn compare_unix(img: &Image<'_>, run: &Run<'_>, s: &Sock<'_>, out: &mut Vec<Difference>) {
    let k = &run.kernel;
    let obj = |r: Option<SockRef>| live_objref(run, r);
    // Values are compared first and only spelled out when they differ.
    let mut diff = |what: &str, equal: bool, expected: &dyn Fn() -> String, found: &dyn Fn() -> String| {
        if !equal {
            out.push(Difference { objref: s.objref, what: what.into(), expected: expected(), found: found() });
        }
    };
    let Some(&r) = run.objref_sock.get(&s.objref) else {
        diff("exists", false, &|| "yes".into(), &|| "no".into());
        return;
    };
    let ks = &k.socks[r];
    let Some(u) = s.unix.as_ref() else { return };
    let tcp = |v: u8| crate::summary::sym_name(wire::sym::TCP, u64::from(v));
    diff("alive", !ks.dead, &|| "yes".into(), &|| "closed".into());
    diff("type", s.common.sock_type == ks.ty.raw(), &|| s.common.sock_type.to_string(), &|| ks.ty.raw().to_string());
    diff("state", s.common.state == ks.state.raw(), &|| tcp(s.common.state), &|| ks.state.to_string());
    let name_eq = match (&u.laddr, &ks.name) {
        (UnixAddr::Unnamed, None) => true,
        (a, Some(b)) => a == b,
        _ => false,
    };
    diff("name", name_eq, &|| u.laddr.display(), &|| name_str(ks.name.as_ref()));
    let peer = obj(ks.peer);
    diff("peer", u.peer == peer, &|| u.peer.to_string(), &|| peer.to_string());
    if ks.ty == SockType::Dgram {
        // A dgram socket whose connected peer closed still points at it (its next send is
        // ECONNREFUSED); one with no peer does not.
        let dead_peer = ks.peer.is_some_and(|p| k.socks[p].dead);
        let yes_no = |b: bool| if b { "a closed peer".to_string() } else { "none".to_string() };
        let want = u.has(wire::UNIX_PEER_GONE);
        diff("peer-gone", want == dead_peer, &|| yes_no(want), &|| yes_no(dead_peer));
    }
    diff("shutdown", s.common.shutdown == ks.shutdown, &|| s.common.shutdown.to_string(), &|| ks.shutdown.to_string());
    if s.is_listener() {
        let want_backlog = s.effective_backlog();
        diff("backlog", want_backlog == ks.max_ack_backlog, &|| want_backlog.to_string(), &|| {
            ks.max_ack_backlog.to_string()
        });
        let got: Vec<(i32, i32)> =
            ks.queue.iter().filter_map(|skb| skb.embryo).map(|e| (obj(Some(e)), obj(k.socks[e].peer))).collect();
        let want: Vec<(i32, i32)> = s.pending.iter().map(|p| (p.embryo, p.client)).collect();
        let show = |v: &[(i32, i32)]| v.iter().map(|(e, c)| format!("{e}<-{c}")).collect::<Vec<_>>().join(", ");
        diff("pending", want == got, &|| show(&want), &|| show(&got));
    }
    let want_snd = kernel::forced_sndbuf(s.common.sndbuf);
    diff("sndbuf", want_snd == ks.sndbuf, &|| want_snd.to_string(), &|| ks.sndbuf.to_string());
    let data_skbs = ks.queue.iter().filter(|skb| skb.embryo.is_none());
    let want_oob = s.oob.map(|o| o.index as usize);
    let got_oob = data_skbs.clone().position(|skb| skb.oob);
    diff("out-of-band byte", want_oob == got_oob, &|| oob_str(want_oob), &|| oob_str(got_oob));
    // What the owner can read: each message (sender, bytes, the senders' objrefs of the fds
    // it carries). A stream's skbs are what reads see only where a read stops: after an skb
    // that carries fds, and at the out-of-band byte; elsewhere skb boundaries (which the
    // kernel draws at UNIX_STREAM_SKB_MAX and sndbuf/2 - 64, and a dump draws where its peeks
    // stop) are not observable, so adjacent ones are compared merged.
    let stream = s.common.sock_type == wire::SOCK_STREAM;
    let want = readable(
        stream,
        s.queue.iter().enumerate().map(|(i, m)| {
            let rights: Vec<i32> =
                m.rights.iter().filter_map(|f| img.files.get(f)).map(|f| f.repr.sock_objref).collect();
            (m.sender, m.data.to_vec(), rights, want_oob == Some(i))
        }),
    );
    let got = readable(
        stream,
        data_skbs.map(|skb| {
            let rights: Vec<i32> = skb.rights.iter().map(|&f| obj(Some(f))).collect();
            (obj(Some(skb.from)), skb.data.clone(), rights, skb.oob)
        }),
    );
    if want != got {
        let show = |v: &[Segment]| {
            v.iter()
                .map(|(from, data, rights)| format!("{from}:{}{}", crate::bstr::escape(data), rights_str(rights)))
                .collect::<Vec<_>>()
                .join(" | ")
        };
        out.push(Difference { objref: s.objref, what: "queue".into(), expected: show(&want), found: show(&got) });
    }
}

/// A readable part of a queue: sender, bytes, the objrefs of the fds it carries.
type Segment = (i32, Vec<u8>, Vec<i32>);

/// A queue's messages `(sender, bytes, fds, out-of-band)` as reads see them: for a stream,
/// an skb joins the one before it when that one carries no fds, both come from one sender and
/// neither is the out-of-band byte (unix_stream_read_generic stops only there); datagrams and
/// records stay as they are.
fn readable(stream: bool, msgs: impl Iterator<Item = (i32, Vec<u8>, Vec<i32>, bool)>) -> Vec<Segment> {
    let mut out: Vec<Segment> = Vec::new();
    let mut last_oob = false;
    for (from, data, rights, oob) in msgs {
        match out.last_mut() {
            Some(prev) if stream && !oob && !last_oob && prev.2.is_empty() && prev.0 == from => {
                prev.1.extend_from_slice(&data);
                prev.2 = rights;
            }
            _ => out.push((from, data, rights)),
        }
        last_oob = oob;
    }
    out
}

/// Descriptors: each placed fd names the image's socket, with its close-on-exec bit.
fn compare_fds(img: &Image<'_>, run: &Run<'_>, out: &mut Vec<Difference>) {
    let k = &run.kernel;
    let obj = |r: Option<SockRef>| live_objref(run, r);
    for t in &img.tables {
        let pid = t.pid.unwrap_or(0);
        for fd in &t.fds {
            let Some(f) = img.files.get(&fd.file) else { continue };
            // Every family: a placed fd names the image's socket whatever it is.
            let Some(s) = img.sockets.get(&f.repr.sock_objref) else { continue };
            let got = k.fds.get(&(pid, fd.fd)).map(|&(r, coe)| (obj(Some(r)), coe));
            let want = Some((s.objref, fd.cloexec));
            if got != want {
                out.push(Difference {
                    objref: s.objref,
                    what: format!("fd {} of pid {pid}", fd.fd),
                    expected: format!("{want:?}"),
                    found: format!("{got:?}"),
                });
            }
        }
    }
}

/// The recorded options (RS_SOCKOPT), every family; embryos are never set (no handle).
fn compare_opts(img: &Image<'_>, run: &Run<'_>, out: &mut Vec<Difference>) {
    let k = &run.kernel;
    for s in img.sockets.values() {
        let Some(rec) = s.opts.as_ref() else { continue };
        let Some(&r) = run.objref_sock.get(&s.objref) else { continue };
        for &want in &rec.opts {
            let Some(name) = want.recorded() else { continue };
            let got = k.opt(r, name);
            if got != Some(want) {
                out.push(Difference {
                    objref: s.objref,
                    what: name.c_name().into(),
                    expected: crate::sockopt::show(&want),
                    found: got.map_or_else(|| "none".into(), |g| crate::sockopt::show(&g)),
                });
            }
        }
    }
}

/// Which skb of a queue is the out-of-band byte, for a difference.
fn oob_str(at: Option<usize>) -> String {
    at.map_or_else(|| "none".to_string(), |i| format!("skb {i}"))
}

fn rights_str(r: &[i32]) -> String {
    if r.is_empty() {
        String::new()
    } else {
        format!(" +fds{r:?}")
    }
}

/// The seed's v2 restore, as a plan: sockets in image record order; a connected socket waits
/// for its peer and is then joined to it directly (here: a socketpair once both are seen);
/// a listener binds and listens; no connect, no accept — so pending connections and accepted
/// names are lost, which [`compare`] then shows.
pub fn v2_plan(img: &Image<'_>) -> Plan {
    let mut plan = Plan::default();
    let mut done = std::collections::BTreeSet::new();
    let mut order: Vec<&Sock<'_>> =
        img.sockets.values().filter(|s| s.common.family == wire::AF_UNIX && s.unix.is_some()).collect();
    crate::order::sort_by_rank(&mut order, |s| s.offset as u128);
    for s in &order {
        plan.slots.insert(
            s.objref as Slot,
            SlotInfo { objref: Some(s.objref), label: format!("#{}", s.objref), temporary: false },
        );
    }
    let step = |op: Op, why: &'static str| Step { op, phase: Phase::Create, why: why.into() };
    for s in &order {
        if done.contains(&s.objref) {
            continue;
        }
        let ty = SockType::from_raw(s.common.sock_type).unwrap_or(SockType::Stream);
        let slot = s.objref as Slot;
        let peer = s.peer();
        if s.common.state == wire::TCP_ESTABLISHED && peer != 0 && peer != s.objref {
            // v2: the first end waits for its peer; the second end's arrival joins them.
            plan.steps.push(step(
                Op::Socketpair { a: slot, b: peer as Slot, ty },
                "v2: join the two ends directly once both are read",
            ));
            done.insert(s.objref);
            done.insert(peer);
        } else {
            plan.steps.push(step(Op::Socket { slot, ty }, "v2: create the socket"));
            done.insert(s.objref);
        }
        if s.is_listener() {
            if let Some(a) = s.laddr().and_then(|a| match a {
                UnixAddr::Path(p) => Some(SockAddr::Path(p.to_vec())),
                UnixAddr::Abstract(b) => Some(SockAddr::Abstract(b.to_vec())),
                UnixAddr::Unnamed => None,
            }) {
                plan.steps.push(step(Op::Bind { slot, addr: a }, "v2: a LISTEN socket binds"));
            }
            plan.steps.push(step(Op::Listen { slot, backlog: i32::from(s.common.backlog) }, "v2: and listens"));
        }
    }
    for s in &order {
        for m in &s.queue {
            if m.sender != 0 && done.contains(&m.sender) {
                plan.steps.push(step(
                    Op::Send { slot: m.sender as Slot, to: None, data: Payload(m.data.to_vec()), rights: Vec::new() },
                    "v2: refill from the sender",
                ));
            }
        }
    }
    for t in &img.tables {
        for fd in &t.fds {
            let Some(f) = img.files.get(&fd.file) else { continue };
            if done.contains(&f.repr.sock_objref) {
                let op = Op::Place {
                    slot: f.repr.sock_objref as Slot,
                    pid: t.pid.unwrap_or(0),
                    fd: fd.fd,
                    cloexec: fd.cloexec,
                    nonblock: f.repr.f_flags & wire::O_NONBLOCK != 0,
                };
                plan.steps.push(step(op, "v2: the file table is restored"));
            }
        }
    }
    plan
}

/// The planner's steps in a naive order: every connection made before any listener exists
/// (connects and the steps that depend on them moved ahead of the binds and listens).
pub fn naive_order(plan: &Plan) -> Vec<usize> {
    let first_bind =
        plan.steps.iter().position(|s| matches!(s.phase, Phase::Bind | Phase::Listen)).unwrap_or(plan.steps.len());
    let mut order: Vec<usize> = (0..first_bind).collect();
    let connects: Vec<usize> =
        (first_bind..plan.steps.len()).filter(|&i| plan.steps[i].phase == Phase::Connect).collect();
    order.extend(&connects);
    order.extend((first_bind..plan.steps.len()).filter(|i| !connects.contains(i)));
    order
}

/// One simulated socket as the checker reports it after a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockState {
    /// The image socket it stands for, if any (temporaries have none).
    pub objref: Option<i32>,
    /// `stream`, `dgram` or `seqpacket`.
    pub ty: SockType,
    /// `sk_state` (`TCP_*`).
    pub state: SkState,
    /// Its name, as `/proc/net/unix` would show it (`(unnamed)` when unbound).
    pub name: String,
    /// The image objref of its peer, 0 for none or a socket outside the image.
    pub peer: i32,
    /// Messages queued for it (for a listener: pending connections).
    pub queued: usize,
    /// Bytes queued for it.
    pub queued_bytes: usize,
    /// For a listener: the backlog (`sk_max_ack_backlog`).
    pub backlog: Option<i64>,
    /// `sk_shutdown`.
    pub shutdown: u8,
    /// Not yet accepted: the objref of the listener whose queue holds it.
    pub pending_on: Option<i32>,
    /// Released.
    pub closed: bool,
}

impl Run<'_> {
    /// The simulated kernel's sockets now, in creation order.
    pub fn snapshot(&self) -> Vec<SockState> {
        let k = &self.kernel;
        k.socks
            .iter()
            .enumerate()
            .map(|(r, s)| SockState {
                objref: self.objref_of(r),
                ty: s.ty,
                state: s.state,
                name: s.name.as_ref().map_or_else(|| "(unnamed)".to_string(), UnixAddr::display),
                peer: s.peer.filter(|&p| !k.socks[p].dead).and_then(|p| self.objref_of(p)).unwrap_or(0),
                queued: s.queue.len(),
                queued_bytes: s.queue.iter().map(|b| b.data.len()).sum(),
                backlog: (s.state == SkState::Listen).then_some(s.max_ack_backlog),
                shutdown: s.shutdown,
                pending_on: s.embryo_of.and_then(|l| self.objref_of(l)),
                closed: s.dead,
            })
            .collect()
    }
}

/// [`run_order`], plus the simulated state after every executed step (for teaching and for
/// small plans: each state lists every socket).
pub fn run_order_traced(img: &Image<'_>, plan: &Plan, order: &[usize]) -> (RunReport, Vec<Vec<SockState>>) {
    run_order_traced_on(img, plan, order, &HostAddrs::default())
}

/// [`run_order_traced`] on a host with these addresses.
pub fn run_order_traced_on(
    img: &Image<'_>,
    plan: &Plan,
    order: &[usize],
    host: &HostAddrs,
) -> (RunReport, Vec<Vec<SockState>>) {
    let mut run = Run::new_on(plan, host);
    let mut states = Vec::with_capacity(order.len());
    let mut results = Vec::with_capacity(order.len());
    let mut failure = None;
    for (pos, &i) in order.iter().enumerate() {
        let Some(step) = plan.steps.get(i) else { continue };
        let out = run.step(step);
        results.push(StepResult { step: i, outcome: out.clone() });
        run.map_embryos(img);
        states.push(run.snapshot());
        if !out.is_ok() {
            let (explanation, fix) = explain(plan, &run.kernel, &step.op, &out);
            failure = Some(Failure { position: pos, step: i, explanation, fix, rule: run.kernel.last_rule });
            break;
        }
    }
    let differences = if failure.is_none() { compare(img, &run) } else { Vec::new() };
    (RunReport { results, failure, differences }, states)
}
