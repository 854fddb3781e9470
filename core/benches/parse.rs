//! Parse + validate (`load`) throughput on generated images, with a memcpy of the same bytes as
//! the baseline in the same run (see `docs/benchmarks.md`).
//!
//! * `mixed-10k`, `mixed-100k`: header-heavy images of `synth::mixed(n)`; targets ≥ 2 million
//!   sockets/s.
//! * `payload-256MiB`: `synth::payload_heavy(64, 2 MiB)`, 256 MiB of queued data; target ≥ 50 %
//!   of memcpy bandwidth.
//!
//! Criterion reports each benchmark (`load_sockets/*` in elements/s, `load_bytes/*` and
//! `memcpy/*` in bytes/s); a summary table with the same figures from a short interleaved
//! median-of-N pass is printed at the end. `PARSE_BENCH_QUICK=1` skips the 256 MiB image.

use criterion::{black_box, BenchmarkId, Criterion, Throughput};
use resocket_core::{load, synth};
use std::time::{Duration, Instant};

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    sockets: u64,
    header_heavy: bool,
}

fn cases(heavy: bool) -> Vec<Case> {
    let mut out = Vec::new();
    let mut add = |name, bytes: Vec<u8>, header_heavy| {
        let report = load(&bytes);
        assert!(report.is_valid(), "{name}: the generated image is not valid");
        let sockets = report.image.sockets.len() as u64;
        drop(report);
        out.push(Case { name, bytes, sockets, header_heavy });
    };
    add("mixed-10k", synth::mixed(10_000).to_image().expect("synth"), true);
    add("mixed-100k", synth::mixed(100_000).to_image().expect("synth"), true);
    if heavy && std::env::var_os("PARSE_BENCH_QUICK").is_none() {
        add("payload-256MiB", synth::payload_heavy(64, 2 << 20).to_image().expect("synth"), false);
    }
    out
}

fn memcpy(dst: &mut [u8], src: &[u8]) {
    dst.copy_from_slice(black_box(src));
    black_box(dst);
}

fn bench(c: &mut Criterion, cases: &[Case]) {
    let mut g = c.benchmark_group("parse");
    for case in cases {
        let img = &case.bytes;
        let len = img.len() as u64;
        if case.header_heavy {
            g.throughput(Throughput::Elements(case.sockets));
            g.bench_with_input(BenchmarkId::new("load_sockets", case.name), img, |b, img| {
                b.iter(|| black_box(load(black_box(img))).diagnostics.len())
            });
        }
        g.throughput(Throughput::Bytes(len));
        g.bench_with_input(BenchmarkId::new("load_bytes", case.name), img, |b, img| {
            b.iter(|| black_box(load(black_box(img))).diagnostics.len())
        });
        let mut dst = vec![0u8; img.len()];
        g.bench_with_input(BenchmarkId::new("memcpy", case.name), img, |b, img| b.iter(|| memcpy(&mut dst, img)));
    }
    g.finish();
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// On-CPU time of this thread in ns (`/proc/thread-self/schedstat`), when the kernel exposes
/// it: on a shared machine it leaves out the time the thread waited for a core.
fn cpu_ns() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    s.split_whitespace().next()?.parse().ok()
}

/// Time `reps` calls of `f` on the wall clock and on the CPU clock, per call.
fn timed(reps: u32, mut f: impl FnMut()) -> (Duration, Option<Duration>) {
    let c = cpu_ns();
    let t = Instant::now();
    for _ in 0..reps {
        f();
    }
    let wall = t.elapsed() / reps;
    let cpu = c.zip(cpu_ns()).map(|(a, b)| Duration::from_nanos(b.saturating_sub(a)) / reps);
    (wall, cpu)
}

/// Repetitions that make one sample last about 50 ms (the CPU clock is coarse).
fn reps_for(mut f: impl FnMut()) -> u32 {
    let t = Instant::now();
    f();
    (0.05 / t.elapsed().as_secs_f64().max(1e-6)).ceil().clamp(1.0, 10_000.0) as u32
}

/// Interleaved load / memcpy timings, median of `runs` samples of about 50 ms each, printed as the docs table: wall clock,
/// and on-CPU time (the figures to compare on a machine shared with other work).
fn summary(cases: &[Case]) {
    println!("\n| image | bytes | sockets | load wall | load CPU | sockets/s (CPU) | load MB/s (CPU) | memcpy MB/s (CPU) | load/memcpy (CPU) | sockets/s (wall) | load/memcpy (wall) |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        let img = &case.bytes;
        let mut dst = vec![0u8; img.len()];
        memcpy(&mut dst, img); // fault the pages in
        let runs = if img.len() > 64 << 20 { 11 } else { 21 };
        let load_reps = reps_for(|| {
            black_box(load(black_box(img)).diagnostics.len());
        });
        let copy_reps = reps_for(|| memcpy(&mut dst, img));
        let (mut lw, mut lc, mut mw, mut mc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for _ in 0..runs {
            let (w, c) = timed(load_reps, || {
                black_box(load(black_box(img)).diagnostics.len());
            });
            lw.push(w);
            lc.push(c.unwrap_or(w));
            let (w, c) = timed(copy_reps, || memcpy(&mut dst, img));
            mw.push(w);
            mc.push(c.unwrap_or(w));
        }
        let secs = |v: Vec<Duration>| median(v).as_secs_f64();
        let (lw, lc, mw, mc) = (secs(lw), secs(lc), secs(mw), secs(mc));
        let mb = img.len() as f64 / 1e6;
        let per_s = |t: f64| case.sockets as f64 / t / 1e6;
        println!(
            "| {} | {} | {} | {:.2} ms | {:.2} ms | {:.2} M | {:.0} | {:.0} | {:.0} % | {:.2} M | {:.0} % |",
            case.name,
            img.len(),
            case.sockets,
            lw * 1e3,
            lc * 1e3,
            per_s(lc),
            mb / lc,
            mb / mc,
            100.0 * mc / lc,
            per_s(lw),
            100.0 * mw / lw,
        );
    }
}

fn main() {
    // `cargo test --benches` runs each benchmark once in test mode: keep that cheap.
    let test_mode = std::env::args().any(|a| a == "--test");
    let cases = cases(!test_mode);
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .configure_from_args();
    bench(&mut c, &cases);
    if !test_mode {
        summary(&cases);
    }
    c.final_summary();
}
