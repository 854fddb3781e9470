//! Time `criu::open` (and the mapping) in process on a synthetic CRIU directory of N unix
//! sockets (`synth::criu_socketpairs`: N/2 socketpairs in one task).
//!
//! `cargo run --release -p resocket-core --example time_criu -- [N] [OUT_DIR]` (default 100000;
//! with OUT_DIR the images are also written there). The benchmark against `crit decode`, with
//! memory, is `cargo run --release -p resocket-restore --example bench -- criu`.

use resocket_core::{criu, synth};
use std::time::Instant;

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let out = std::env::args().nth(2);
    let set = synth::criu_socketpairs(n);
    let total: usize = set.iter().map(|f| f.bytes.len()).sum();
    if let Some(dir) = out {
        std::fs::create_dir_all(&dir).expect("out dir");
        for f in &set {
            std::fs::write(format!("{dir}/{}", f.name), &f.bytes).expect("write");
        }
    }
    let t = Instant::now();
    let o = criu::open(set);
    let open = t.elapsed();
    assert!(o.is_valid(), "{:?}", o.diagnostics.first());
    let t = Instant::now();
    let (sc, notes) = o.to_scenario();
    let map = t.elapsed();
    println!(
        "{n} sockets, {total} bytes: open+check {:.1} ms ({:.0} sockets/s), to_scenario {:.1} ms ({} sockets, {} notes)",
        open.as_secs_f64() * 1e3,
        f64::from(n) / open.as_secs_f64(),
        map.as_secs_f64() * 1e3,
        sc.sockets.len(),
        notes.len()
    );
}
