//! `cargo run --release -p resocket-core --example time_edit -- N [REPS]`: the scenario editor's
//! cost per edit on the scenario read back from a generated image of N sockets
//! (`synth::mixed`): the best of REPS runs of each of a few edits (`edit::apply`), as the
//! inspector's panel makes them (scenarios up to 2,000 sockets).
use resocket_core::edit::{self, Edit};
use resocket_core::sim::SockType;
use resocket_core::sock::Family;

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let num = |i: usize, d: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(d);
    let (n, reps) = (num(1, 1000), num(2, 5));
    let img = resocket_core::synth::mixed(n).to_image().expect("image");
    let sc = edit::from_image(&img).scenario;
    let add = Edit::AddSocket { name: "t1".into(), family: Family::Unix, ty: SockType::Stream };
    let with_t = edit::apply(&sc, &add).expect("add");
    let bind = Edit::Bind { name: "t1".into(), addr: "/tmp/time-edit".into() };
    let bound = edit::apply(&with_t, &bind).expect("bind");
    let listen = Edit::Listen { name: "t1".into(), backlog: 4 };
    let edits = [("socket", &sc, add.clone()), ("bind", &with_t, bind), ("listen", &bound, listen)];
    for (what, base, e) in edits {
        let mut best = f64::MAX;
        for _ in 0..reps {
            let t = std::time::Instant::now();
            let r = edit::apply(base, &e);
            best = best.min(t.elapsed().as_secs_f64());
            assert!(r.is_ok(), "{what}: {r:?}");
        }
        println!("{} sockets: {what} best {:.2} ms", sc.sockets.len(), best * 1e3);
    }
}
