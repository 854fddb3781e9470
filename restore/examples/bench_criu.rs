//! The CRIU input benchmark of issue 17, against `crit decode` in the same run on the same files:
//!
//! `cargo run --release -p resocket-restore --example bench_criu -- [SOCKETS] [RUNS]`
//!   (default 100,000 sockets, 3 runs)
//!
//! writes a CRIU image directory of SOCKETS AF_UNIX sockets (`synth::criu_socketpairs`: files.img,
//! fdinfo, pstree, ids, core, inventory) to a temporary directory, then in each run, back to
//! back:
//!
//! * resocket: this binary again as a child (`bench_criu open DIR`) doing what `restore check DIR`
//!   does: read the directory (`input::open`: every `*.img`, then `criu::open` with all the
//!   cross-image checks) and render the check report. The child times that and measures its
//!   heap peak with a counting global allocator; the parent takes its wall time and peak RSS
//!   (`wait4`). A second child (`bench_criu open DIR map`) also runs `to_scenario` afterwards,
//!   which `restore check` does not do (`plan`, `simulate`, `run` and `convert` do): a separate
//!   figure;
//! * `crit decode -i DIR/files.img` (stdout to /dev/null): wall time and peak RSS (`wait4`).
//!
//! Figures are medians of the runs; the summary table goes to stdout. CPU times (user + system,
//! `wait4`) are the figures that the load of a shared machine moves least. The images are
//! written by a child too (`bench_criu write DIR N`): a child's `ru_maxrss` starts from its
//! parent's resident size, so the driver holds nothing big.

use resocket_restore::input::{self, Input};
use resocket_restore::raw::{self, CountingAlloc};
use resocket_restore::render_criu;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// What the child reports of one open.
#[derive(Debug, Clone, Copy)]
struct Child {
    check: Duration,
    heap: usize,
    map: Duration,
    map_heap: usize,
}

/// Child mode: what `restore check DIR` does, timed, with its heap peak; then, with `map`,
/// `to_scenario` (zero time and the same peak without).
fn open_child(dir: &Path, map: bool) {
    CountingAlloc::reset_peak();
    let t = Instant::now();
    let c = match input::open(dir, input::Budget::default()) {
        Ok(Input::Criu(c)) => c,
        Ok(Input::Rsimg(_)) => panic!("{}: not a CRIU directory", dir.display()),
        Err(e) => panic!("{}: {e:?}", dir.display()),
    };
    let (text, valid) = render_criu::check_text(&dir.display().to_string(), &c);
    let check = t.elapsed();
    let heap = CountingAlloc::peak();
    assert!(valid, "{text}");
    let t = Instant::now();
    if map {
        let (sc, _notes) = c.opened.to_scenario();
        assert_eq!(sc.sockets.len(), c.opened.checkpoint.unix.len());
    }
    let map = t.elapsed();
    let map_heap = CountingAlloc::peak();
    println!("{} {heap} {} {map_heap}", check.as_nanos(), map.as_nanos());
}

fn parse_child(out: &str) -> Child {
    let v: Vec<u128> = out.split_whitespace().filter_map(|w| w.parse().ok()).collect();
    assert_eq!(v.len(), 4, "child printed {out:?}");
    let d = |n: u128| Duration::from_nanos(u64::try_from(n).unwrap_or(u64::MAX));
    let n = |n: u128| usize::try_from(n).unwrap_or(usize::MAX);
    Child { check: d(v[0]), heap: n(v[1]), map: d(v[2]), map_heap: n(v[3]) }
}

/// Run `cmd` to its end: wall time, its `wait4` usage, and its stdout.
#[allow(clippy::zombie_processes, reason = "the child is reaped by raw::wait_usage (wait4), not Child::wait")]
fn run(cmd: &mut Command) -> (Duration, raw::ChildUsage, String) {
    use std::io::Read as _;
    let t = Instant::now();
    let mut child = cmd.stdin(Stdio::null()).stderr(Stdio::inherit()).spawn().expect("spawn");
    let mut out = String::new();
    if let Some(mut s) = child.stdout.take() {
        s.read_to_string(&mut out).expect("read child stdout");
    }
    let usage = raw::wait_usage(child.id()).expect("wait4");
    let wall = t.elapsed();
    assert_eq!(usage.code, Some(0), "{cmd:?} failed");
    (wall, usage, out)
}

fn median<T: Copy + PartialOrd>(v: &[T]) -> T {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("open") => {
            open_child(Path::new(args.get(2).expect("bench_criu open DIR [map]")), args.get(3).is_some());
            return;
        }
        Some("write") => {
            let dir = Path::new(args.get(2).expect("bench_criu write DIR N"));
            let n = args.get(3).and_then(|s| s.parse().ok()).expect("bench_criu write DIR N");
            for f in resocket_core::synth::criu_socketpairs(n) {
                std::fs::write(dir.join(&f.name), &f.bytes).expect("write image");
            }
            return;
        }
        _ => {}
    }
    let sockets: u32 = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let runs: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(3).max(1);
    let dir = std::env::temp_dir().join(format!("resocket-bench-criu-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let me = std::env::current_exe().expect("current exe");
    // Written by a child: a child's ru_maxrss starts from its parent's resident size (the
    // memory it shares until exec), so the parent stays small.
    run(Command::new(&me).arg("write").arg(&dir).arg(sockets.to_string()).stdout(Stdio::null()));
    let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len() as usize);
    let names: Vec<String> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    let input: usize = names.iter().map(|n| size(n)).sum();
    let files_img = size("files.img");
    let (mut ours, mut mapped, mut crit) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (wall, usage, out) = run(Command::new(&me).arg("open").arg(&dir).stdout(Stdio::piped()));
        ours.push((wall, usage, parse_child(&out)));
        let (wall, usage, out) = run(Command::new(&me).arg("open").arg(&dir).arg("map").stdout(Stdio::piped()));
        mapped.push((wall, usage, parse_child(&out)));
        let (wall, usage, _) =
            run(Command::new("crit").arg("decode").arg("-i").arg(dir.join("files.img")).stdout(Stdio::null()));
        crit.push((wall, usage));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let mb = |b: f64| b / 1e6;
    let check = median(&ours.iter().map(|o| o.2.check).collect::<Vec<_>>());
    let heap = median(&ours.iter().map(|o| o.2.heap).collect::<Vec<_>>());
    let map = median(&mapped.iter().map(|o| o.2.map).collect::<Vec<_>>());
    let map_heap = median(&mapped.iter().map(|o| o.2.map_heap).collect::<Vec<_>>());
    let map_rss = median(&mapped.iter().map(|o| o.1.max_rss).collect::<Vec<_>>());
    let wall = median(&ours.iter().map(|o| o.0).collect::<Vec<_>>());
    let cpu = median(&ours.iter().map(|o| o.1.cpu).collect::<Vec<_>>());
    let rss = median(&ours.iter().map(|o| o.1.max_rss).collect::<Vec<_>>());
    let crit_wall = median(&crit.iter().map(|c| c.0).collect::<Vec<_>>());
    let crit_cpu = median(&crit.iter().map(|c| c.1.cpu).collect::<Vec<_>>());
    let crit_rss = median(&crit.iter().map(|c| c.1.max_rss).collect::<Vec<_>>());
    let inp = input as f64;
    println!(
        "{sockets} UNIXSK entries: input {:.2} MB ({input} B; files.img {files_img} B), {runs} runs, medians\n",
        mb(inp)
    );
    println!("| | wall time | vs crit | CPU time | vs crit | peak memory | / input |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    println!(
        "| resocket open + validate (`restore check DIR` work, in process: read, `criu::open`, checks, report) | {:.1} ms | {:.0}x | | | heap {:.2} MB | {:.2}x |",
        ms(check),
        ms(crit_wall) / ms(check),
        mb(heap as f64),
        heap as f64 / inp
    );
    println!(
        "| resocket, the whole child process (exec, the above, exit) | {:.1} ms | {:.0}x | {:.1} ms | {:.0}x | RSS {:.2} MB | {:.2}x |",
        ms(wall),
        ms(crit_wall) / ms(wall),
        ms(cpu),
        ms(crit_cpu) / ms(cpu),
        mb(rss as f64),
        rss as f64 / inp
    );
    println!(
        "| then `to_scenario` (not part of `restore check`; `plan`, `simulate`, `run`, `convert` do it) | +{:.1} ms | | | | heap {:.2} MB, RSS {:.2} MB | {:.2}x, {:.2}x |",
        ms(map),
        mb(map_heap as f64),
        mb(map_rss as f64),
        map_heap as f64 / inp,
        map_rss as f64 / inp
    );
    println!(
        "| `crit decode -i files.img` | {:.1} ms | 1x | {:.1} ms | 1x | RSS {:.2} MB | {:.2}x |",
        ms(crit_wall),
        ms(crit_cpu),
        mb(crit_rss as f64),
        crit_rss as f64 / inp
    );
}
