//! `restore run`: validate, plan (core), execute on the real kernel, verify, then exec a command
//! with the restored fds, hold them, or close them.

use crate::diag_unix::UnixDiag;
use crate::exec::{Config, Executor, Held, PlaceMode};
use crate::CliError;
use resocket_core::image::{FileObj, Image, Sock, UnixAddr};
use resocket_core::plan::{Plan, PlanError};
use resocket_core::sim::{HostAddrs, Op, SockOpt};
use resocket_core::wire;
use rustix::fd::AsFd;
use rustix::net::{self, SocketAddrAny};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Limits for hostile images.
#[derive(Debug, Clone, Copy)]
pub struct Caps {
    /// Most sockets a plan may create.
    pub max_sockets: usize,
    /// Most bytes a plan may queue.
    pub max_queued_bytes: usize,
}

/// Sockets created and bytes queued by the steps seen so far, against the caps.
#[derive(Debug, Default)]
struct CapCount {
    sockets: usize,
    bytes: usize,
}

impl CapCount {
    fn add(&mut self, op: &Op, caps: Caps) -> Result<(), CliError> {
        match op {
            Op::Socket { .. } | Op::Accept { .. } => self.sockets += 1,
            Op::Socketpair { .. } => self.sockets += 2,
            Op::Send { data, .. } => self.bytes += data.0.len(),
            _ => {}
        }
        if self.sockets > caps.max_sockets {
            return Err(CliError::usage(format!(
                "the plan creates more than {} sockets, which --max-sockets does not allow",
                caps.max_sockets
            )));
        }
        if self.bytes > caps.max_queued_bytes {
            return Err(CliError::usage(format!(
                "the plan queues more than {} bytes, which --max-queued-bytes does not allow",
                caps.max_queued_bytes
            )));
        }
        Ok(())
    }
}

/// Check an image against the caps before it is planned: its own sockets and queued bytes (the
/// plan's temporary sockets are counted as its steps arrive, see [`plan_and_execute`]).
pub fn check_image_caps(img: &Image<'_>, caps: Caps) -> Result<(), CliError> {
    let sockets = img.sockets.len();
    if sockets > caps.max_sockets {
        return Err(CliError::usage(format!(
            "the image has {sockets} sockets, more than --max-sockets {} allows",
            caps.max_sockets
        )));
    }
    let bytes: usize = img.sockets.values().map(|s| s.queued_bytes()).sum();
    if bytes > caps.max_queued_bytes {
        return Err(CliError::usage(format!(
            "the image queues {bytes} bytes, more than --max-queued-bytes {} allows",
            caps.max_queued_bytes
        )));
    }
    Ok(())
}

/// Check a whole plan against the caps (sockets it creates, bytes it queues) before any step.
pub fn check_plan_caps(plan: &Plan, caps: Caps) -> Result<(), CliError> {
    let mut count = CapCount::default();
    plan.steps.iter().try_for_each(|s| count.add(&s.op, caps))
}

/// The fd numbers the image gives its sockets in process `pid` (the plan places sockets there).
pub fn image_fds(img: &Image<'_>, pid: i32) -> Vec<i32> {
    img.tables
        .iter()
        .filter(|t| t.pid.unwrap_or(0) == pid)
        .flat_map(|t| &t.fds)
        .filter(|fd| img.files.get(&fd.file).is_some_and(|f| img.sockets.contains_key(&f.repr.sock_objref)))
        .map(|fd| fd.fd)
        .collect()
}

/// The lowest fd number the executor may use for its own handles: above every fd the image
/// places, and at least 1024. Raises RLIMIT_NOFILE's soft limit to the hard one if needed.
pub fn fd_base(plan: &Plan) -> i32 {
    let max_target =
        plan.steps.iter().filter_map(|s| if let Op::Place { fd, .. } = s.op { Some(fd) } else { None }).max();
    raise_nofile(max_target)
}

/// [`fd_base`] from the image, before there is a plan: above every fd of its file tables (the
/// plan places sockets only at fds the tables record).
pub fn fd_base_image(img: &Image<'_>) -> i32 {
    raise_nofile(img.tables.iter().flat_map(|t| &t.fds).map(|fd| fd.fd).max())
}

fn raise_nofile(max_target: Option<i32>) -> i32 {
    let base = max_target.map_or(1024, |m| m.saturating_add(1).max(1024));
    // A restore holds every socket twice for a moment (the plan's handle and the placed fd).
    // Root may raise the hard limit (up to fs.nr_open); others get their hard limit.
    let want = 1u64 << 20;
    let raised = rustix::process::setrlimit(
        rustix::process::Resource::Nofile,
        rustix::process::Rlimit { current: Some(want), maximum: Some(want) },
    );
    if raised.is_err() {
        let lim = rustix::process::getrlimit(rustix::process::Resource::Nofile);
        if let Some(max) = lim.maximum {
            let _ = rustix::process::setrlimit(
                rustix::process::Resource::Nofile,
                rustix::process::Rlimit { current: Some(max), maximum: Some(max) },
            );
        }
    }
    base
}

/// The recorded options of the image a restore sets that the kernel allows only with
/// CAP_NET_ADMIN or CAP_NET_RAW (`sk_setsockopt`: `SO_MARK`, `SO_PRIORITY` outside 0..=6), each
/// as `socket #N: SO_MARK 9`. Options at their defaults are not set, so not listed.
pub fn privileged_options(img: &Image<'_>) -> Vec<String> {
    // Computed once: a set per socket made this quadratic (350 ms of a 9,500-socket restore).
    let embryos = img.embryos();
    img.sockets
        .values()
        .filter(|s| !embryos.contains(&s.objref))
        .flat_map(|s| s.opts.iter().flat_map(|o| &o.opts).map(move |o| (s.objref, o)))
        .filter(|(_, o)| o.needs_privilege() && o.recorded().is_some_and(|n| **o != SockOpt::default_of(n)))
        .map(|(objref, o)| format!("socket #{objref}: {}", resocket_core::sockopt::show(o)))
        .collect()
}

/// Whether this process may set those options: CAP_NET_ADMIN or CAP_NET_RAW effective.
pub fn has_net_privilege() -> bool {
    use rustix::thread::CapabilitySet;
    rustix::thread::capabilities(None)
        .map(|c| c.effective.intersects(CapabilitySet::NET_ADMIN | CapabilitySet::NET_RAW))
        .unwrap_or(false)
}

/// Refuse a restore, before any step, whose recorded options need a privilege this process
/// lacks (`privileged`: [`has_net_privilege`]): each such step would fail with EPERM.
pub fn check_privilege(img: &Image<'_>, privileged: bool) -> Result<(), CliError> {
    if privileged {
        return Ok(());
    }
    let need = privileged_options(img);
    if need.is_empty() {
        return Ok(());
    }
    Err(CliError {
        message: format!(
            "{}: the kernel sets these only with CAP_NET_ADMIN or CAP_NET_RAW (sk_setsockopt: SO_MARK, SO_PRIORITY outside 0..=6), and this restore has neither in its effective set, so each setsockopt would fail with EPERM; nothing was restored (run it with one of them)",
            need.join(", ")
        ),
        code: crate::EXIT_INVALID,
    })
}

/// Plan and execute at once: the planner (core) runs on its own thread and hands over each
/// batch of steps as soon as the model has proven it, and this thread executes them, so the
/// syscalls start while the rest is still being planned. Caps are counted as steps arrive. On any
/// failure (a step, a cap, or the planner) everything executed is undone and the error names
/// the step. The executed steps are exactly the returned plan's steps, in order.
pub fn plan_and_execute(
    img: &Image<'_>,
    cfg: Config,
    caps: Caps,
    progress: bool,
) -> Result<(Executor, Plan), CliError> {
    plan_and_execute_on(img, &HostAddrs::default(), cfg, caps, progress)
}

/// [`plan_and_execute`], planned for a host with these addresses (`restore run` reads this
/// host's: `crate::host`).
pub fn plan_and_execute_on(
    img: &Image<'_>,
    host: &HostAddrs,
    cfg: Config,
    caps: Caps,
    progress: bool,
) -> Result<(Executor, Plan), CliError> {
    check_privilege(img, has_net_privilege())?;
    // Big enough that the executor rarely waits on the channel (measured: 64 waits twice as long
    // as 1024), small enough that the first syscalls start within a few milliseconds.
    const BATCH: usize = 1024;
    // At most four batches wait: the planner is faster than the executor, and with room for 64
    // (all of a 32,000-step plan) every batch's copy was alive at once, 4 MB more heap that
    // glibc trimmed at the end, so each restore faulted it in again (69,600 page faults per 20
    // restores of 9,500 sockets against 12,500 now).
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<resocket_core::plan::Step>>(4);
    // The plan's length once the planner knows it (for the progress bar; 0 until then).
    let total = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let total = &total;
        let planner = scope.spawn(move || {
            let r =
                resocket_core::plan::plan_streaming_on(img, host, BATCH, &mut |batch| tx.send(batch.to_vec()).is_ok());
            if let Ok(p) = &r {
                total.store(p.steps.len(), std::sync::atomic::Ordering::Relaxed);
            }
            r
        });
        let mut bar = Progress::new(progress, Progress::estimate(img));
        let exact = if let PlaceMode::Exact(pid) = cfg.place { Some(image_fds(img, pid)) } else { None };
        let mut ex = Executor::new(cfg);
        if let Some(targets) = exact {
            ex.reserve_fds(&targets);
        }
        let mut count = CapCount::default();
        let mut done = 0usize;
        // (step index, what went wrong): filled in with the plan's labels once it is complete.
        let mut failed: Option<(usize, Result<String, CliError>)> = None;
        'batches: for batch in rx.iter() {
            for step in &batch {
                if let Err(e) = count.add(&step.op, caps) {
                    failed = Some((done, Err(e)));
                    break 'batches;
                }
                let out = ex.apply(&step.op);
                if !out.is_ok() {
                    let why = privilege_hint(&step.op, &out);
                    failed = Some((done, Ok(format!("{} ({}){why}", out.short(), step.why))));
                    break 'batches;
                }
                done += 1;
                bar.show(done, total.load(std::sync::atomic::Ordering::Relaxed));
            }
        }
        // The planner sees the closed channel, stops handing over steps and finishes its plan.
        drop(rx);
        let planned = planner.join().unwrap_or_else(|_| Err(PlanError("the planner thread panicked".into())));
        bar.finish(done);
        let plan = settle(planned, failed, done, &mut ex)?;
        ex.finish();
        Ok((ex, plan))
    })
}

/// Why the kernel refused a step, where the reason is a missing capability (`""` otherwise).
fn privilege_hint(op: &Op, out: &resocket_core::sim::Outcome) -> &'static str {
    match (op, out) {
        (Op::SetSockOpt { opt, .. }, resocket_core::sim::Outcome::Err { errno })
            if opt.needs_privilege() && *errno == resocket_core::sim::Errno::EPERM =>
        {
            if matches!(opt, SockOpt::SndBufForce(_) | SockOpt::RcvBufForce(_)) {
                ": the kernel takes it only with CAP_NET_ADMIN in the socket's network namespace"
            } else {
                ": the kernel takes it only with CAP_NET_ADMIN or CAP_NET_RAW in the socket's network namespace"
            }
        }
        _ => "",
    }
}

/// The plan once the executor has run what the planner handed over (`done` steps): the plan
/// when every step ran, else everything undone and the error (the planner's, a capability the
/// plan lacks, the step that failed with its label, or a plan longer than what was handed over).
fn settle(
    planned: Result<Plan, PlanError>,
    failed: Option<(usize, Result<String, CliError>)>,
    done: usize,
    ex: &mut Executor,
) -> Result<Plan, CliError> {
    match (planned, failed) {
        (Err(e), _) => {
            ex.rollback();
            Err(CliError {
                message: format!("{e}; everything restored so far ({done} steps) was undone"),
                code: crate::EXIT_INVALID,
            })
        }
        (Ok(_), Some((_, Err(cap)))) => {
            ex.rollback();
            Err(CliError { message: format!("{}; everything restored so far was undone", cap.message), ..cap })
        }
        (Ok(plan), Some((i, Ok(what)))) => {
            ex.rollback();
            Err(CliError {
                message: format!(
                    "step {i} `{}` failed: {what}; everything restored so far was undone",
                    plan.describe(i)
                ),
                code: crate::EXIT_INVALID,
            })
        }
        (Ok(plan), None) if plan.steps.len() == done => Ok(plan),
        (Ok(plan), None) => {
            ex.rollback();
            Err(CliError {
                message: format!(
                    "the planner made {} steps but handed over {done}; everything restored so far was undone",
                    plan.steps.len()
                ),
                code: crate::EXIT_INVALID,
            })
        }
    }
}

/// A progress bar on stderr for long restores (a terminal only; the caller decides): `[####  ]
/// done/total steps`, with `~` before an estimated total (until the planner has finished and
/// knows it).
struct Progress {
    on: bool,
    estimate: usize,
    shown: usize,
}

impl Progress {
    const WIDTH: usize = 50;

    /// Shown only when `on` and the restore is long (about 1,000 steps or more).
    fn new(on: bool, estimate: usize) -> Progress {
        let estimate = estimate.max(1);
        Progress { on: on && estimate >= 1000, estimate, shown: usize::MAX }
    }

    /// About three steps per socket (create, place, close) plus one per queued message.
    fn estimate(img: &Image<'_>) -> usize {
        img.sockets.values().map(|s| 3 + s.queue.len()).sum()
    }

    fn show(&mut self, done: usize, total: usize) {
        if !self.on {
            return;
        }
        let (total, approx) = if total > 0 { (total, "") } else { (self.estimate.max(done), "~") };
        let filled = (done * Self::WIDTH / total).min(Self::WIDTH);
        if filled == self.shown && done != total {
            return;
        }
        self.shown = filled;
        eprint!("\r[{}{}] {done}/{approx}{total} steps", "#".repeat(filled), " ".repeat(Self::WIDTH - filled));
    }

    fn finish(&mut self, done: usize) {
        if self.on && self.shown != usize::MAX {
            self.show(done, done);
            eprintln!();
        }
    }
}

/// Execute a plan; on failure undo everything and say which step failed and why.
pub fn execute(plan: &Plan, cfg: Config, progress: bool) -> Result<Executor, CliError> {
    let targets: Option<Vec<i32>> = match cfg.place {
        PlaceMode::Exact(p) => Some(
            plan.steps
                .iter()
                .filter_map(|s| match s.op {
                    Op::Place { pid, fd, .. } if pid == p => Some(fd),
                    _ => None,
                })
                .collect(),
        ),
        PlaceMode::HoldAll => None,
    };
    let mut ex = Executor::new(cfg);
    if let Some(t) = targets {
        ex.reserve_fds(&t);
    }
    let total = plan.steps.len();
    let mut bar = Progress::new(progress, total);
    for (i, step) in plan.steps.iter().enumerate() {
        let out = ex.apply(&step.op);
        if !out.is_ok() {
            ex.rollback();
            return Err(CliError {
                message: format!(
                    "step {i} `{}` failed: {} ({}); everything restored so far was undone",
                    plan.describe(i),
                    out.short(),
                    step.why
                ),
                code: crate::EXIT_INVALID,
            });
        }
        bar.show(i + 1, total);
    }
    bar.finish(total);
    ex.finish();
    Ok(ex)
}

/// The name `getsockname` reports for a socket the image says has `a`: under a root, a path
/// name's last component (the executor binds it from its directory: `fsroot::bound_name`).
fn expected_name(root: Option<&PathBuf>, a: &UnixAddr) -> Option<Vec<u8>> {
    match a {
        UnixAddr::Unnamed => None,
        UnixAddr::Abstract(n) => Some([b"\0".as_slice(), n].concat()),
        UnixAddr::Path(p) if root.is_some() => Some(crate::fsroot::bound_name(p).to_vec()),
        UnixAddr::Path(p) => Some(p.to_vec()),
    }
}

fn actual_name(a: Option<SocketAddrAny>) -> Option<Vec<u8>> {
    let a = a?;
    let u = net::SocketAddrUnix::try_from(a).ok()?;
    if let Some(n) = u.abstract_name() {
        // An unnamed socket reads back as an empty abstract name (address length 2).
        return (!n.is_empty()).then(|| [b"\0".as_slice(), n].concat());
    }
    u.path_bytes().filter(|p| !p.is_empty()).map(|p| p.strip_suffix(b"\0").unwrap_or(p).to_vec())
}

fn show(n: &Option<Vec<u8>>) -> String {
    let name = n.as_deref().map(resocket_core::image::UnixAddr::from_kernel_name);
    name.and_then(|a| a.spelling()).unwrap_or_else(|| "(unnamed)".into())
}

/// A queued message as verify compares it: bytes and number of fds carried.
type QueuedMsg = (Vec<u8>, usize);

/// An out-of-band byte, or its absence, for a `--verify` difference.
fn show_oob(b: Option<u8>) -> String {
    b.map_or_else(|| "none".to_string(), |b| format!("{b:#04x}"))
}

/// Read back the real kernel state of every placed socket and compare it with the image.
/// Returns the differences, one line each.
pub fn verify(img: &Image<'_>, held: &[Held], root: Option<&PathBuf>) -> Vec<String> {
    let mut out = Vec::new();
    // unix_diag: shutdown bits, listener backlogs and pending connections in accept order.
    let diag = match crate::diag_unix::dump() {
        Ok(d) => d,
        Err(e) => {
            out.push(format!("sock_diag: {e}"));
            Default::default()
        }
    };
    let objref_of_held = |h: &Held| file_of_held(img, h).map(|f| f.repr.sock_objref);
    verify_held(img, held, root, &diag, &mut out);
    verify_unix(img, held, root, &diag, &mut out);
    // TCP and UDP sockets (verify_inet.rs), against what this host's addresses allow.
    let host = crate::host::read().unwrap_or_else(|e| {
        out.push(format!("reading this host's addresses: {e}"));
        resocket_core::sim::HostAddrs::loopback()
    });
    crate::verify_inet::verify(img, held, &objref_of_held, &host, &mut out);
    out
}

/// The image's file that a placed fd holds.
fn file_of_held<'x>(img: &'x Image<'_>, h: &Held) -> Option<&'x resocket_core::image::FileObj> {
    let t = img.tables.iter().find(|t| t.pid.unwrap_or(0) == h.pid)?;
    let fd = t.fds.iter().find(|f| f.fd == h.fd)?;
    img.files.get(&fd.file)
}

/// Each placed socket's open-file flags and recorded options (every family), its out-of-band
/// byte, and what unix_diag (`diag`) says of it: shutdown bits, a closed dgram peer, a
/// listener's backlog and pending connections in accept order.
fn verify_held(
    img: &Image<'_>,
    held: &[Held],
    root: Option<&PathBuf>,
    diag: &BTreeMap<u32, UnixDiag>,
    out: &mut Vec<String>,
) {
    // Outside peers' path names resolve as the restore resolved them (inside the root).
    let fs = crate::fsroot::Fs::new(root.map(PathBuf::as_path), 0);
    let file_of_held = |h: &Held| file_of_held(img, h);
    let objref_of_held = |h: &Held| file_of_held(h).map(|f| f.repr.sock_objref);
    let ino_of = |h: &Held| rustix::fs::fstat(&h.owned).ok().map(|st| st.st_ino as u32);
    let ino_by_objref: BTreeMap<i32, u32> =
        held.iter().filter_map(|h| Some((objref_of_held(h)?, ino_of(h)?))).collect();
    for h in held {
        let (Some(o), Some(ino)) = (objref_of_held(h), ino_of(h)) else { continue };
        let Some(s) = img.sockets.get(&o) else { continue };
        let who = format!("pid {} fd {} (#{o})", h.pid, h.fd);
        if let Some(f) = file_of_held(h) {
            verify_file_flags(h, f, &who, out);
        }
        verify_options(h, s, &who, out);
        // (Only an AF_UNIX stream socket that is not listening can hold one.)
        if s.unix.is_some() && s.common.sock_type == wire::SOCK_STREAM && !s.is_listener() {
            verify_oob(h, s, &who, out);
        }
        if let Some(d) = diag.get(&ino) {
            verify_diag(s, d, &ino_by_objref, &who, out);
            verify_outside_peer(s, d, (diag, &fs), &who, out);
        }
    }
}

/// A dgram socket connected to a socket outside the image (EXTERNAL_PEER, its name in raddr):
/// connected to the dgram socket bound at that name when this namespace has one (unix_diag:
/// its peer inode is that socket's), else unconnected, as the plan's `unix-external-peer`
/// warning says.
fn verify_outside_peer(
    s: &Sock<'_>,
    d: &UnixDiag,
    cx: (&BTreeMap<u32, UnixDiag>, &crate::fsroot::Fs),
    who: &str,
    out: &mut Vec<String>,
) {
    let (diag, fs) = cx;
    let Some(u) = s.unix.as_ref() else { return };
    if s.common.sock_type != wire::SOCK_DGRAM || !u.has(wire::UNIX_EXTERNAL_PEER) {
        return;
    }
    // A path by the inode it resolves to (inside the root under one: the bound name unix_diag
    // reports is the binder's spelling), an abstract name by its name.
    let inode = match &u.raddr {
        UnixAddr::Path(p) if !u.raddr.is_relative_path() => fs.inode_of(p),
        _ => None,
    };
    let name = crate::host::diag_name(&u.raddr);
    let bound_there = |x: &UnixDiag| match (&u.raddr, inode) {
        (UnixAddr::Path(_), Some(i)) => x.vfs.is_some_and(|(ino, _)| u64::from(ino) == i),
        (UnixAddr::Abstract(_), _) => name.is_some() && x.name == name,
        _ => false,
    };
    let receivers: Vec<u32> = diag
        .values()
        .filter(|x| x.sock_type() == Some(resocket_core::sim::SockType::Dgram) && x.ino != d.ino && bound_there(x))
        .map(|x| x.ino)
        .collect();
    let peer = d.peer.filter(|&p| p != 0);
    match (receivers.is_empty(), peer) {
        (true, None) => {}
        (true, Some(p)) => out.push(format!(
            "{who}: connected to socket {p}, the image's outside peer {} is not bound here",
            u.raddr.display()
        )),
        (false, Some(p)) if receivers.contains(&p) => {}
        (false, _) => out.push(format!(
            "{who}: its peer is {}, not the socket bound at {} outside the image ({receivers:?})",
            peer.map_or("none".into(), |p| format!("socket {p}")),
            u.raddr.display()
        )),
    }
}

/// The open file's O_NONBLOCK, which no diag answer carries.
fn verify_file_flags(h: &Held, f: &FileObj, who: &str, out: &mut Vec<String>) {
    let want = f.repr.f_flags & wire::O_NONBLOCK != 0;
    match rustix::fs::fcntl_getfl(&h.owned) {
        Ok(fl) if fl.contains(rustix::fs::OFlags::NONBLOCK) != want => {
            out.push(format!("{who}: O_NONBLOCK is {}, the image says {want}", !want));
        }
        Ok(_) => {}
        Err(e) => out.push(format!("{who}: fcntl(F_GETFL): {e}")),
    }
}

/// The recorded options (RS_SOCKOPT), every family, and an AF_UNIX socket's SO_PASSCRED.
fn verify_options(h: &Held, s: &Sock<'_>, who: &str, out: &mut Vec<String>) {
    for &want in s.opts.iter().flat_map(|o| &o.opts) {
        let Some(name) = want.recorded() else { continue };
        match crate::sockopt_io::get(h.owned.as_fd(), name) {
            Ok(got) if got == want => {}
            Ok(got) => out.push(format!(
                "{who}: {} is {}, the image says {}",
                name.c_name(),
                resocket_core::sockopt::show(&got),
                resocket_core::sockopt::show(&want)
            )),
            Err(e) => out.push(format!("{who}: getsockopt({}): {e}", name.c_name())),
        }
    }
    // (AF_UNIX only: Linux 6.18 has SO_PASSCRED for AF_UNIX, netlink and Bluetooth.)
    if s.unix.is_some() {
        let want = s.common.socket_flags & wire::SOCK_PASSCRED != 0;
        match rustix::net::sockopt::socket_passcred(&h.owned) {
            Ok(on) if on != want => out.push(format!("{who}: SO_PASSCRED is {on}, the image says {want}")),
            Ok(_) => {}
            Err(e) => out.push(format!("{who}: getsockopt(SO_PASSCRED): {e}")),
        }
    }
}

/// The out-of-band byte (RS_OOB) of an AF_UNIX stream socket: recv(MSG_OOB | MSG_PEEK)
/// (SO_OOBINLINE set aside for it) answers the byte the image names, or EINVAL for none; and
/// its mark is where the image puts it, nothing consumed: SIOCATMARK is 1 exactly when it is at
/// the head, and a peek from the head (the socket's SO_PEEK_OFF set aside) stops at it — when
/// no skb before it carries fds, where a peek stops too (unix_stream_read_generic).
fn verify_oob(h: &Held, s: &Sock<'_>, who: &str, out: &mut Vec<String>) {
    let want = s.oob.and_then(|o| s.queue.get(o.index as usize)).and_then(|m| m.data.first().copied());
    match crate::dump::inet::oob_pending(&h.owned) {
        Ok(got) if got.flatten() == want && got.is_some() == want.is_some() => {}
        Ok(got) => out.push(format!(
            "{who}: the out-of-band byte is {}, the image says {}",
            show_oob(got.flatten()),
            show_oob(want)
        )),
        Err(e) => out.push(format!("{who}: {e}")),
    }
    let Some(i) = s.oob.map(|o| o.index as usize).filter(|&i| i < s.queue.len()) else { return };
    let at: usize = s.queue[..i].iter().map(|m| m.data.len()).sum();
    match crate::raw::at_mark(h.owned.as_fd()) {
        Ok(m) if m == (at == 0) => {}
        Ok(m) => {
            out.push(format!("{who}: SIOCATMARK is {}, the image puts the mark {at} bytes from the head", u8::from(m)))
        }
        Err(e) => out.push(format!("{who}: SIOCATMARK: {e}")),
    }
    if at == 0 || s.queue[..i].iter().any(|m| !m.rights.is_empty()) {
        return;
    }
    let mut buf = vec![0u8; s.queue.iter().map(|m| m.data.len()).sum::<usize>() + 1];
    let flags = rustix::net::RecvFlags::PEEK | rustix::net::RecvFlags::DONTWAIT;
    match crate::dump::inet::without_peek_off(&h.owned, || rustix::net::recv(&h.owned, &mut buf[..], flags)) {
        Ok(Ok((n, _))) if n == at => {}
        Ok(Ok((n, _))) => {
            out.push(format!("{who}: a peek from the head stops after {n} bytes, the image puts the mark after {at}"))
        }
        Ok(Err(e)) => out.push(format!("{who}: MSG_PEEK: {e}")),
        Err(e) => out.push(format!("{who}: {e}")),
    }
}

/// What unix_diag says of the socket (`d`): its shutdown bits, a dgram socket's closed peer,
/// a listener's backlog and pending clients (by inode: `ino_by_objref`).
fn verify_diag(s: &Sock<'_>, d: &UnixDiag, ino_by_objref: &BTreeMap<i32, u32>, who: &str, out: &mut Vec<String>) {
    if d.shutdown != s.common.shutdown {
        out.push(format!("{who}: shutdown is {}, the image says {}", d.shutdown, s.common.shutdown));
    }
    // A dgram socket whose connected peer closed still points at it (unix_diag: peer 0).
    if let Some(u) = s.unix.as_ref().filter(|_| s.common.sock_type == wire::SOCK_DGRAM) {
        let want = u.has(wire::UNIX_PEER_GONE);
        if want != (d.peer == Some(0)) {
            let say = |gone: bool| if gone { "a peer that has closed" } else { "no closed peer" };
            out.push(format!("{who}: it has {}, the image says {}", say(!want), say(want)));
        }
    }
    if s.is_listener() {
        verify_listener(s, d, ino_by_objref, who, out);
    }
}

/// A listener's backlog, its number of pending connections and their clients in accept order.
fn verify_listener(s: &Sock<'_>, d: &UnixDiag, ino_by_objref: &BTreeMap<i32, u32>, who: &str, out: &mut Vec<String>) {
    let (pending, backlog) = d.rqlen.unwrap_or((0, 0));
    if i64::from(backlog) != s.effective_backlog() {
        out.push(format!("{who}: backlog is {backlog}, the image says {}", s.effective_backlog()));
    }
    if pending as usize != s.pending.len() {
        out.push(format!("{who}: {pending} pending connections, the image has {}", s.pending.len()));
    }
    let want: Vec<Option<u32>> = s.pending.iter().map(|p| ino_by_objref.get(&p.client).copied()).collect();
    let got: Vec<Option<u32>> = d.icons.clone().unwrap_or_default().into_iter().map(Some).collect();
    if want.iter().all(Option::is_some) && want != got {
        out.push(format!("{who}: pending clients in accept order are {got:?}, the image says {want:?}"));
    }
}

/// Each placed AF_UNIX socket's type, listening bit, names, send buffer and queue.
fn verify_unix(
    img: &Image<'_>,
    held: &[Held],
    root: Option<&PathBuf>,
    diag: &BTreeMap<u32, UnixDiag>,
    out: &mut Vec<String>,
) {
    for h in held {
        let Some(table) = img.tables.iter().find(|t| t.pid.unwrap_or(0) == h.pid) else { continue };
        let Some(fd) = table.fds.iter().find(|f| f.fd == h.fd) else { continue };
        let Some(s) = img.files.get(&fd.file).and_then(|f| img.sockets.get(&f.repr.sock_objref)) else { continue };
        let Some(u) = &s.unix else { continue };
        let who = format!("pid {} fd {} (#{})", h.pid, h.fd, s.objref);
        let sock = h.owned.as_fd();
        match net::sockopt::socket_type(sock) {
            Ok(t) if u32::from(s.common.sock_type) == t.as_raw() => {}
            Ok(t) => out.push(format!("{who}: SO_TYPE is {}, the image says {}", t.as_raw(), s.common.sock_type)),
            Err(e) => out.push(format!("{who}: SO_TYPE: {e}")),
        }
        match net::sockopt::socket_acceptconn(sock) {
            Ok(l) if l == s.is_listener() => {}
            Ok(l) => out.push(format!("{who}: SO_ACCEPTCONN is {l}, the image says {}", s.is_listener())),
            Err(e) => out.push(format!("{who}: SO_ACCEPTCONN: {e}")),
        }
        verify_unix_names(img, root, sock, u, &who, out);
        let want_snd = (2 * i64::from(s.common.sndbuf)).max(4608);
        if let Ok(v) = net::sockopt::socket_send_buffer_size(sock) {
            if v as i64 != want_snd {
                out.push(format!("{who}: SO_SNDBUF is {v}, the image says {want_snd}"));
            }
        }
        if !s.is_listener() {
            verify_unix_queue(h, s, diag, &who, out);
        }
    }
}

/// An AF_UNIX socket's own name and its peer's (`u`: its SOCKET_UNIX record), as the kernel
/// gives them back.
fn verify_unix_names(
    img: &Image<'_>,
    root: Option<&PathBuf>,
    sock: rustix::fd::BorrowedFd<'_>,
    u: &resocket_core::image::UnixPart,
    who: &str,
    out: &mut Vec<String>,
) {
    let want = expected_name(root, &u.laddr);
    let got = actual_name(net::getsockname(sock).ok());
    if want != got {
        out.push(format!("{who}: getsockname is {}, the image says {}", show(&got), show(&want)));
    }
    let peer_name = if u.peer != 0 {
        img.sockets.get(&u.peer).and_then(|p| p.unix.as_ref()).map(|p| expected_name(root, &p.laddr))
    } else {
        None
    };
    if let Some(want) = peer_name {
        match net::getpeername(sock) {
            Ok(p) => {
                let got = actual_name(p);
                if got != want {
                    out.push(format!("{who}: getpeername is {}, the image says {}", show(&got), show(&want)));
                }
            }
            Err(e) => out.push(format!("{who}: getpeername: {e}")),
        }
    }
}

/// An AF_UNIX socket's queued data, read without consuming it (SO_PEEK_OFF + MSG_PEEK, as
/// `checkpoint dump` does): a stream's bytes (boundaries are not visible), every
/// datagram/record with its boundaries, and the number of fds each message carries.
fn verify_unix_queue(
    h: &Held,
    s: &resocket_core::image::Sock<'_>,
    diag: &BTreeMap<u32, UnixDiag>,
    who: &str,
    out: &mut Vec<String>,
) {
    let ino = rustix::fs::fstat(&h.owned).map(|st| st.st_ino as u32).unwrap_or(0);
    let Some(d) = diag.get(&ino) else { return };
    let mut received = Vec::new();
    // A peek from the head skips an out-of-band byte there without SO_OOBINLINE (manage_oob):
    // on for the peeks, then put back.
    let inline = |on: bool| rustix::net::sockopt::set_socket_oobinline(&h.owned, on);
    let was = rustix::net::sockopt::socket_oobinline(&h.owned).unwrap_or(false);
    if s.oob.is_some() {
        let _ = inline(true);
    }
    let peeked = crate::dump::peek_queue(&h.owned, d, &mut received);
    if s.oob.is_some() {
        let _ = inline(was);
    }
    match peeked {
        Err(e) => out.push(format!("{who}: reading the queue: {e}")),
        Ok(got) => {
            let stream = s.common.sock_type == wire::SOCK_STREAM;
            let (want, have): (Vec<QueuedMsg>, Vec<QueuedMsg>) = if stream {
                let cat = |v: Vec<QueuedMsg>| -> Vec<QueuedMsg> {
                    let bytes: Vec<u8> = v.iter().flat_map(|(b, _)| b.clone()).collect();
                    let fds = v.iter().map(|(_, n)| n).sum();
                    if bytes.is_empty() && fds == 0 {
                        vec![]
                    } else {
                        vec![(bytes, fds)]
                    }
                };
                (
                    cat(s.queue.iter().map(|m| (m.data.to_vec(), m.rights.len())).collect()),
                    cat(got.into_iter().map(|(_, b, r)| (b, r.len())).collect()),
                )
            } else {
                (
                    s.queue.iter().map(|m| (m.data.to_vec(), m.rights.len())).collect(),
                    got.into_iter().map(|(_, b, r)| (b, r.len())).collect(),
                )
            };
            // See dump::peek_queue: trailing empty records of a seqpacket socket shut
            // down for reading cannot be seen.
            let mut want = want;
            if s.common.sock_type == wire::SOCK_SEQPACKET && s.common.shutdown & 1 != 0 {
                while want.last().is_some_and(|(b, n)| b.is_empty() && *n == 0) {
                    want.pop();
                }
            }
            if want != have {
                let show = |v: &[QueuedMsg]| {
                    v.iter()
                        .map(|(b, n)| {
                            format!(
                                "\"{}\"{}",
                                resocket_core::bstr::escape(b),
                                if *n > 0 { format!(" +{n} fds") } else { String::new() }
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(", ")
                };
                out.push(format!("{who}: queued data is [{}], the image says [{}]", show(&have), show(&want)));
            }
        }
    }
}
