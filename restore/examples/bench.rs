//! Native benchmarks of issue 4, each next to its baseline in the same run (run as root):
//!
//! `cargo run --release -p resocket-restore --example bench -- restore [PAIRS] [LISTENERS] [RUNS]`
//!   load + plan + execute of an image of PAIRS socketpairs and LISTENERS listeners with pending
//!   connections, against a floor: a minimal loop issuing the same syscalls (the plan's operations
//!   straight to rustix: no validation, no planning, no rollback bookkeeping, no fd moves).
//!
//! `cargo run --release -p resocket-restore --example bench -- dump [SOCKETS] [RUNS]`
//!   `checkpoint dump` of a process holding SOCKETS sockets, against `ss -x -a -p -e` listing
//!   them, both as spawned commands, back to back in each run: medians of wall time, the median
//!   of the runs' own ratios, the best runs, and medians of CPU time (user + system).
//!
//! Each figure is the median of RUNS runs; each run happens in a fresh network namespace. CPU
//! time is printed next to wall time: for `restore`, this process's (every thread: the planner
//! runs beside the executor); for `dump`, each spawned command's.
//!
//! `restore` places sockets at the fd numbers the image names (3 and up): descriptors this
//! process inherited there are closed first (said on stderr), as `restore run` does.

use resocket_core::sim::{Op, SockAddr, SockType};
use resocket_restore::{exec, run};
use rustix::fd::OwnedFd;
use rustix::net::{self, AddressFamily, SendFlags, SocketAddrUnix, SocketType};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[allow(unsafe_code, reason = "unshare(CLONE_NEWNET) for a clean abstract namespace per run; benchmark only")]
fn fresh_netns() {
    // SAFETY: CLONE_NEWNET only changes this thread's network namespace.
    unsafe { rustix::thread::unshare_unsafe(rustix::thread::UnshareFlags::NEWNET) }.expect("unshare: run as root");
}

/// The floor: the plan's syscalls, nothing else.
fn floor(ops: &[Op]) {
    let mut fds: BTreeMap<u32, OwnedFd> = BTreeMap::new();
    let mut placed = Vec::new();
    let ty = |t: SockType| match t {
        SockType::Stream => SocketType::STREAM,
        SockType::Dgram => SocketType::DGRAM,
        SockType::Seqpacket => SocketType::SEQPACKET,
    };
    let addr = |a: &SockAddr| match a {
        SockAddr::Abstract(n) => SocketAddrUnix::new_abstract_name(n).unwrap(),
        SockAddr::Path(p) => SocketAddrUnix::new(std::str::from_utf8(p).unwrap()).unwrap(),
        _ => SocketAddrUnix::new_unnamed(),
    };
    for op in ops {
        match op {
            Op::Socket { slot, ty: t } => {
                fds.insert(*slot, net::socket(AddressFamily::UNIX, ty(*t), None).unwrap());
            }
            Op::Socketpair { a, b, ty: t } => {
                let (x, y) = net::socketpair(AddressFamily::UNIX, ty(*t), net::SocketFlags::empty(), None).unwrap();
                fds.insert(*a, x);
                fds.insert(*b, y);
            }
            Op::Bind { slot, addr: a } => net::bind(&fds[slot], &addr(a)).unwrap(),
            Op::Listen { slot, backlog } => net::listen(&fds[slot], *backlog).unwrap(),
            Op::Connect { slot, addr: a } => net::connect(&fds[slot], &addr(a)).unwrap(),
            Op::Accept { slot, new } => {
                let s = net::accept(&fds[slot]).unwrap();
                fds.insert(*new, s);
            }
            Op::Send { slot, data, .. } => {
                net::send(&fds[slot], &data.0, SendFlags::DONTWAIT).unwrap();
            }
            Op::Place { slot, fd, .. } => placed.push(rustix::io::fcntl_dupfd_cloexec(&fds[slot], *fd).unwrap()),
            Op::Close { slot } => {
                fds.remove(slot);
            }
            _ => {}
        }
    }
}

/// CPU time (user + system) of this process so far, every thread.
fn cpu_now() -> Duration {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ProcessCPUTime);
    Duration::new(t.tv_sec.max(0) as u64, t.tv_nsec.clamp(0, 999_999_999) as u32)
}

fn restore_bench(pairs: usize, listeners: usize, runs: usize) {
    let bytes = resocket_core::synth::restore_bench(pairs, listeners).to_image().unwrap();
    let report = resocket_core::load(&bytes);
    let sockets = report.image.sockets.len();
    let plan = resocket_core::plan::plan(&report.image).unwrap();
    let ops: Vec<Op> = plan.steps.iter().map(|s| s.op.clone()).collect();
    let _ = run::fd_base(&plan); // raises RLIMIT_NOFILE for both sides
                                 // The image's fd numbers must be free here (the harness may have left descriptors open).
    let targets: Vec<i32> =
        ops.iter().filter_map(|o| if let Op::Place { fd, .. } = o { Some(*fd) } else { None }).collect();
    let closed = resocket_restore::raw::close_inherited(targets);
    if !closed.is_empty() {
        eprintln!(
            "bench: closed {} inherited descriptors at fd numbers the image places sockets at ({:?}...)",
            closed.len(),
            &closed[..closed.len().min(8)]
        );
    }
    let (mut full, mut seq, mut base) = (Vec::new(), Vec::new(), Vec::new());
    let (mut full_cpu, mut seq_cpu, mut base_cpu) = (Vec::new(), Vec::new(), Vec::new());
    let (mut parts, mut over, mut cpu_parts) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        fresh_netns();
        let (t, c) = (Instant::now(), cpu_now());
        floor(&ops);
        base.push(t.elapsed());
        base_cpu.push(cpu_now().saturating_sub(c));

        // Sequential: load, plan, then execute (the parts are timed separately).
        fresh_netns();
        let (t, c) = (Instant::now(), cpu_now());
        let r = resocket_core::load(&bytes);
        assert!(r.is_valid());
        let (t_load, c_load) = (t.elapsed(), cpu_now());
        let p = resocket_core::plan::plan(&r.image).unwrap();
        let (t_plan, c_plan) = (t.elapsed() - t_load, cpu_now());
        let cfg = exec::Config {
            root: None,
            place: exec::PlaceMode::Exact(1000),
            fd_base: run::fd_base(&p),
            inherit_all: false,
        };
        let ex = run::execute(&p, cfg, false).unwrap();
        drop(ex);
        seq.push(t.elapsed());
        let c_end = cpu_now();
        seq_cpu.push(c_end.saturating_sub(c));
        cpu_parts.push((c_load.saturating_sub(c), c_plan.saturating_sub(c_load), c_end.saturating_sub(c_plan)));
        parts.push((t_load, t_plan, t.elapsed() - t_load - t_plan));

        // `restore run`'s path: load, then plan and execute overlapped (run::plan_and_execute).
        fresh_netns();
        let (t, c) = (Instant::now(), cpu_now());
        let r = resocket_core::load(&bytes);
        assert!(r.is_valid());
        let cfg = exec::Config {
            root: None,
            place: exec::PlaceMode::Exact(1000),
            fd_base: run::fd_base_image(&r.image),
            inherit_all: false,
        };
        let caps = run::Caps { max_sockets: usize::MAX, max_queued_bytes: usize::MAX };
        let t1 = t.elapsed();
        let (ex, _plan) = run::plan_and_execute(&r.image, cfg, caps, false).unwrap();
        let t2 = t.elapsed();
        drop(ex);
        full.push(t.elapsed());
        full_cpu.push(cpu_now().saturating_sub(c));
        over.push((t1, t2 - t1, t.elapsed() - t2));
    }
    // Best runs too: on a shared machine the median carries other work's noise, the best run
    // of each side is the least disturbed one (both printed).
    let best = |v: &[Duration]| v.iter().copied().min().unwrap_or_default();
    let (fb, sb, bb) = (best(&full), best(&seq), best(&base));
    let (f, s, b) = (median(full), median(seq), median(base));
    parts.sort_by_key(|p| p.0 + p.1 + p.2);
    let (l, pl, e) = parts[parts.len() / 2];
    over.sort_by_key(|p| p.0 + p.1 + p.2);
    let (ol, ope, od) = over[over.len() / 2];
    let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
    println!(
        "| restore (`restore run`: load {:.1}, then plan and execute overlapped {:.1}, close {:.1} ms, median run) | {sockets} sockets, {} steps | {:.1} ms | floor (same syscalls) {:.1} ms | {:.2}x |",
        ms(ol),
        ms(ope),
        ms(od),
        ops.len(),
        ms(f),
        ms(b),
        ms(f) / ms(b)
    );
    println!(
        "| restore, sequential (load {:.1} + plan {:.1} + execute {:.1} ms, median run) | {sockets} sockets | {:.1} ms | floor {:.1} ms | {:.2}x (execute alone {:.2}x) |",
        ms(l),
        ms(pl),
        ms(e),
        ms(s),
        ms(b),
        ms(s) / ms(b),
        ms(e) / ms(b)
    );
    let (fc, sc, bc) = (median(full_cpu), median(seq_cpu), median(base_cpu));
    let part =
        |i: usize| median(cpu_parts.iter().map(|p: &(Duration, Duration, Duration)| [p.0, p.1, p.2][i]).collect());
    println!(
        "| restore, CPU time (every thread; medians) | {sockets} sockets | overlapped {:.1} ms, sequential {:.1} ms (load {:.1} + plan {:.1} + execute and close {:.1}) | floor {:.1} ms | {:.2}x, {:.2}x |",
        ms(fc),
        ms(sc),
        ms(part(0)),
        ms(part(1)),
        ms(part(2)),
        ms(bc),
        ms(fc) / ms(bc),
        ms(sc) / ms(bc)
    );
    println!(
        "| restore, best runs | {sockets} sockets | overlapped {:.1} ms, sequential {:.1} ms | floor {:.1} ms | {:.2}x, {:.2}x |",
        ms(fb),
        ms(sb),
        ms(bb),
        ms(fb) / ms(bb),
        ms(sb) / ms(bb)
    );
}

fn dump_bench(sockets: usize, runs: usize) {
    use std::io::BufRead;
    let dir = std::env::temp_dir().join(format!("resocket-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/live.py");
    let mut child = std::process::Command::new("python3")
        .arg(script)
        .arg(format!("many-{sockets}"))
        .arg(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
    let pid = child.id().to_string();
    let checkpoint = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("checkpoint");
    // Each run: ours, then `ss`, back to back; wall and CPU time (user + system, from
    // getrusage of the waited-for child) of each.
    let cpu = resocket_restore::raw::children_cpu_time;
    let (mut ours, mut ss) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (t, c) = (Instant::now(), cpu());
        let o = std::process::Command::new(&checkpoint)
            .args(["dump", "--pid", &pid, "-o"])
            .arg(dir.join("d.rsimg"))
            .output()
            .unwrap();
        ours.push((t.elapsed(), cpu().saturating_sub(c)));
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let (t, c) = (Instant::now(), cpu());
        let o = std::process::Command::new("ss").args(["-x", "-a", "-p", "-e"]).output().unwrap();
        ss.push((t.elapsed(), cpu().saturating_sub(c)));
        assert!(o.status.success());
    }
    drop(child.stdin.take());
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    // On a shared machine the ratio of the two medians carries the load's changes between the
    // runs; each run's own ratio (its two commands back to back), the best runs and the CPU
    // times are printed next to it.
    let paired = {
        let mut r: Vec<f64> = ours.iter().zip(&ss).map(|(a, b)| ms(a.0) / ms(b.0)).collect();
        r.sort_by(f64::total_cmp);
        r[r.len() / 2]
    };
    let wall = |v: &[(Duration, Duration)]| median(v.iter().map(|x| x.0).collect());
    let best = |v: &[(Duration, Duration)]| v.iter().map(|x| x.0).min().unwrap_or_default();
    let used = |v: &[(Duration, Duration)]| median(v.iter().map(|x| x.1).collect());
    let (a, b) = (wall(&ours), wall(&ss));
    println!(
        "| dump | {sockets} sockets of one process | {:.1} ms | `ss -x -a -p -e` {:.1} ms | {:.2}x (per run {:.2}x, best runs {:.1} / {:.1} ms = {:.2}x, CPU {:.1} / {:.1} ms = {:.2}x) |",
        ms(a),
        ms(b),
        ms(a) / ms(b),
        paired,
        ms(best(&ours)),
        ms(best(&ss)),
        ms(best(&ours)) / ms(best(&ss)),
        ms(used(&ours)),
        ms(used(&ss)),
        ms(used(&ours)) / ms(used(&ss)),
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    match args.get(1).map(String::as_str) {
        Some("restore") => restore_bench(n(2, 10_000), n(3, 1_000), n(4, 5)),
        Some("dump") => dump_bench(n(2, 10_000), n(3, 5)),
        _ => eprintln!("usage: bench restore [PAIRS] [LISTENERS] [RUNS] | bench dump [SOCKETS] [RUNS]"),
    }
}
