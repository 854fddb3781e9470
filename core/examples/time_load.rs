//! `cargo run --release -p resocket-core --example time_load -- N`: a quick look at load() on a
//! generated image of about N sockets (the numbers of record come from `cargo bench --bench parse`).
//! An optional second argument repeats the load that many times (default 5), for `perf record`.
fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let img = resocket_core::synth::mixed(n).to_image().expect("image");
    let mut best = f64::MAX;
    let mut sockets = 0;
    let reps: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    for _ in 0..reps {
        let t = std::time::Instant::now();
        let r = resocket_core::load(&img);
        best = best.min(t.elapsed().as_secs_f64());
        sockets = r.image.sockets.len();
        assert!(r.is_valid());
    }
    println!(
        "{sockets} sockets, {} bytes: best {:.1} ms, {:.0} sockets/s",
        img.len(),
        best * 1e3,
        sockets as f64 / best
    );
}
