//! `criu::open` must not panic on any set of image files, its diagnostics stay inside the
//! files they name, and mapping, writing and crit JSON of whatever it read must not panic.
//!
//! Input: files separated by `\0CRF`; each file's first byte picks its name from NAMES (so
//! the cross-image checks see real file names), the rest is its content.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resocket_core::criu::{self, ImageFile};

const NAMES: &[&str] = &[
    "inventory.img",
    "pstree.img",
    "ids-100.img",
    "core-100.img",
    "fdinfo-100.img",
    "files.img",
    "sk-queues.img",
    "unixsk.img",
    "inetsk.img",
    "tcp-stream-7532.img",
    "ids-101.img",
    "core-101.img",
    "fdinfo-101.img",
    "reg-files.img",
    "pipes.img",
    "netdev-1.img",
    "ifaddr-2.img",
    "netdev-2.img",
    "route-2.img",
    "route6-2.img",
    "netns-2.img",
];

fuzz_target!(|data: &[u8]| {
    let mut files = Vec::new();
    let mut rest = data;
    loop {
        let (chunk, next) = match rest.windows(4).position(|w| w == b"\0CRF") {
            Some(i) => (&rest[..i], Some(&rest[i + 4..])),
            None => (rest, None),
        };
        if let Some((&n, bytes)) = chunk.split_first() {
            let name = NAMES[usize::from(n) % NAMES.len()];
            if !files.iter().any(|f: &ImageFile| f.name == name) {
                files.push(ImageFile { name: name.into(), bytes: bytes.to_vec() });
            }
        }
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
    let o = criu::open(files);
    for d in &o.diagnostics {
        if let Some(f) = o.files.iter().find(|f| Some(&f.name) == d.file.as_ref()) {
            assert!(d.range.start <= d.range.end && d.range.end <= f.bytes.len(), "diagnostic outside its file: {d}");
        }
    }
    // The saved namespace's addresses and routes as the simulator's host (ifaddr-N.img,
    // netdev-N.img, route-N.img, route6-N.img).
    if let Some(h) = o.host() {
        let _ = h.routes.lookup(std::net::Ipv4Addr::new(8, 8, 8, 8).into());
    }
    let (sc, _) = o.to_scenario();
    let _ = sc.to_image();
    let _ = o.crit_json();
});
