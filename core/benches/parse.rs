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

/// Interleaved load / memcpy timings, median of `runs`, printed as the docs table.
fn summary(cases: &[Case]) {
    println!("\n| image | bytes | sockets | load (median) | sockets/s | load MB/s | memcpy MB/s | load/memcpy |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for case in cases {
        let img = &case.bytes;
        let mut dst = vec![0u8; img.len()];
        memcpy(&mut dst, img); // fault the pages in
        let runs = if img.len() > 64 << 20 { 11 } else { 31 };
        let (mut tl, mut tm) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let t = Instant::now();
            black_box(load(black_box(img)).diagnostics.len());
            tl.push(t.elapsed());
            let t = Instant::now();
            memcpy(&mut dst, img);
            tm.push(t.elapsed());
        }
        let (l, m) = (median(tl).as_secs_f64(), median(tm).as_secs_f64());
        let mb = img.len() as f64 / 1e6;
        println!(
            "| {} | {} | {} | {:.2} ms | {:.2} M | {:.0} | {:.0} | {:.0} % |",
            case.name,
            img.len(),
            case.sockets,
            l * 1e3,
            case.sockets as f64 / l / 1e6,
            mb / l,
            mb / m,
            100.0 * m / l
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
