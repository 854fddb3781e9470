//! `cargo run -p resocket-core --example synth_image -- SOCKETS OUT.rsimg`: write a generated
//! image (`synth::mixed`) of about SOCKETS sockets (the first size with at least that many),
//! for the browser benchmark and the end-to-end tests. Prints the socket and byte counts.
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (Some(want), Some(out)) = (args.get(1).and_then(|s| s.parse::<usize>().ok()), args.get(2)) else {
        eprintln!("usage: synth_image SOCKETS OUT.rsimg");
        std::process::exit(2);
    };
    // synth::mixed(n) holds about 1.15 n sockets (embryos and their clients come on top).
    let mut n = want * 100 / 116;
    loop {
        let img = resocket_core::synth::mixed(n).to_image().expect("synth image");
        let sockets = resocket_core::load(&img).image.sockets.len();
        if sockets >= want || n > want {
            std::fs::write(out, &img).expect("write image");
            println!("{sockets} sockets, {} bytes, synth::mixed({n})", img.len());
            return;
        }
        n += (want - sockets).div_ceil(2).max(1);
    }
}
