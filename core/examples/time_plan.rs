//! `cargo run --release -p resocket-core --example time_plan -- N`: one timed plan + simulate +
//! compare of a generated image of N sockets (a quick look; the numbers of record come from
//! `cargo bench --bench plan`). `time_plan restore PAIRS LISTENERS [REPS]` times load + plan of
//! the native restore benchmark's image instead, REPS times (for `perf record`).
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    if args.get(1).map(String::as_str) == Some("restore") {
        let img = resocket_core::synth::restore_bench(num(2, 3000), num(3, 500)).to_image().expect("image");
        let (mut load, mut plan) = (f64::MAX, f64::MAX);
        for _ in 0..num(4, 5) {
            let t = std::time::Instant::now();
            let r = resocket_core::load(&img);
            load = load.min(t.elapsed().as_secs_f64());
            let t = std::time::Instant::now();
            let p = resocket_core::plan::plan(&r.image).expect("plan");
            plan = plan.min(t.elapsed().as_secs_f64());
            std::hint::black_box(p);
        }
        println!("best: load {:.2} ms, plan {:.2} ms", load * 1e3, plan * 1e3);
        return;
    }
    let n: usize = num(1, 100_000);
    let img = resocket_core::synth::mixed(n).to_image().expect("image");
    let t = std::time::Instant::now();
    let r = resocket_core::load(&img);
    let t_load = t.elapsed();
    let t = std::time::Instant::now();
    let p = resocket_core::plan::plan(&r.image).expect("plan");
    let t_plan = t.elapsed();
    let t = std::time::Instant::now();
    let rep = resocket_core::check::run_plan(&r.image, &p);
    let t_run = t.elapsed();
    println!(
        "{} sockets, {} steps: load {:?}, plan {:?}, simulate+compare {:?}, clean={}",
        r.image.sockets.len(),
        p.steps.len(),
        t_load,
        t_plan,
        t_run,
        rep.is_clean()
    );
}
