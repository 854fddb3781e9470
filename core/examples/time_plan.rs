//! `cargo run --release -p resocket-core --example time_plan -- N`: one timed plan + simulate +
//! compare of a generated image of N sockets (a quick look; the numbers of record come from
//! `cargo bench --bench plan`).
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
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
