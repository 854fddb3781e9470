//! Plan + simulate + compare on generated images (issue 3's speed target: 100k sockets in
//! under 0.5 s natively). Baseline in the same run: parse + validate of the same image.

use criterion::{black_box, criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use resocket_core::{check, load, plan, synth};

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("plan_simulate_compare");
    g.sample_size(10);
    for n in [10_000usize, 100_000] {
        let img = synth::mixed(n).to_image().expect("synthetic image");
        let report = load(&img);
        let sockets = report.image.sockets.len() as u64;
        g.throughput(Throughput::Elements(sockets));
        g.bench_with_input(BenchmarkId::new("load_baseline", n), &img, |b, img| {
            b.iter(|| black_box(load(img)).is_valid())
        });
        g.bench_with_input(BenchmarkId::new("plan", n), &report, |b, r| {
            b.iter(|| black_box(plan::plan(&r.image)).is_ok())
        });
        let p = plan::plan(&report.image).expect("plan");
        g.bench_with_input(BenchmarkId::new("plan+simulate+compare", n), &report, |b, r| {
            b.iter(|| {
                let p = plan::plan(&r.image).expect("plan");
                let rep = check::run_plan(&r.image, &p);
                assert!(rep.is_clean());
                black_box(rep.results.len())
            })
        });
        g.bench_with_input(BenchmarkId::new("simulate+compare", n), &p, |b, p| {
            b.iter(|| black_box(check::run_plan(&report.image, p)).is_clean())
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
