//! `cargo run --release -p resocket-core --example time_load -- N [REPS] [cold]`: a quick look at
//! load() on a generated image of about N sockets (the numbers of record come from `cargo bench
//! --bench parse`). REPS repeats the load (default 5), for `perf record`. With `cold`, 50 ms of
//! memcpy of the image precede each load, as in the bench's summary table (caches evicted).
use std::hint::black_box;

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let img = resocket_core::synth::mixed(n).to_image().expect("image");
    let mut best = f64::MAX;
    let mut all = Vec::new();
    let mut sockets = 0;
    let reps: usize = std::env::args().nth(2).and_then(|s| s.parse().ok()).unwrap_or(5);
    let cold = std::env::args().nth(3).is_some_and(|a| a == "cold");
    let mut dst = vec![0u8; img.len()];
    for _ in 0..reps {
        // As the bench's summary: about 50 ms of memcpy of the same bytes between loads.
        for _ in 0..if cold { 6 } else { 0 } {
            dst.copy_from_slice(black_box(&img));
            black_box(&mut dst);
        }
        let t = std::time::Instant::now();
        let r = resocket_core::load(black_box(&img));
        sockets = r.image.sockets.len();
        assert!(r.is_valid());
        drop(r);
        let e = t.elapsed().as_secs_f64();
        best = best.min(e);
        all.push(e);
    }
    all.sort_by(f64::total_cmp);
    let median = all[all.len() / 2];
    use resocket_core::image::{Message, Sock, UnixPart};
    let size = std::mem::size_of::<Sock>();
    let (unix, msg) = (std::mem::size_of::<Option<UnixPart>>(), std::mem::size_of::<Message>());
    println!("size_of Sock {size}, Option<UnixPart> {unix}, Message {msg}");
    println!(
        "{sockets} sockets, {} bytes: best {:.1} ms ({:.0} sockets/s), median {:.1} ms ({:.0} sockets/s)",
        img.len(),
        best * 1e3,
        sockets as f64 / best,
        median * 1e3,
        sockets as f64 / median
    );
}
