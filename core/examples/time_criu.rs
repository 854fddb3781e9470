//! Time `criu::open` (and the mapping) on a synthetic CRIU directory of N unix sockets
//! (N/2 socketpairs in one task: files.img + fdinfo + pstree + ids + core + inventory).
//!
//! `cargo run --release -p resocket-core --example time_criu -- [N] [OUT_DIR]` (default 100000;
//! with OUT_DIR the images are also written there, e.g. to time `crit decode` on the same files).

use prost::Message;
use resocket_core::criu::{self, frame, pb, ImageFile};
use std::time::Instant;

fn image(magic: frame::Magic, entries: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    if magic != frame::Magic::Inventory {
        v.extend(frame::IMG_COMMON.to_le_bytes());
    }
    v.extend(magic.value().to_le_bytes());
    for e in entries {
        v.extend((e.len() as u32).to_le_bytes());
        v.extend(e);
    }
    v
}

fn main() {
    let n: u32 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let out = std::env::args().nth(2);
    let opts = pb::SkOptsEntry {
        so_sndbuf: 212_992,
        so_rcvbuf: 212_992,
        reuseaddr: Some(false),
        so_passcred: Some(false),
        ..Default::default()
    };
    let mut files = Vec::new();
    let mut fds = Vec::new();
    for k in 0..n {
        let (id, ino, peer) = (k + 1, 100_000 + k, 100_000 + (k ^ 1));
        let usk = pb::UnixSkEntry {
            id,
            ino,
            r#type: 1,
            state: 1,
            flags: 2,
            peer,
            opts: opts.clone(),
            shutdown: Some(0),
            ..Default::default()
        };
        files.push(pb::FileEntry { r#type: 5, id, usk: Some(usk), ..Default::default() }.encode_to_vec());
        fds.push(pb::FdinfoEntry { id, flags: 0, r#type: 5, fd: k + 3, ..Default::default() }.encode_to_vec());
    }
    let ids = pb::TaskKobjIdsEntry {
        vm_id: 1,
        files_id: 1,
        fs_id: 1,
        sighand_id: 1,
        net_ns_id: Some(2),
        ..Default::default()
    };
    let core = pb::CoreEntry {
        mtype: 1,
        tc: Some(pb::TaskCoreEntry { comm: "synth".into(), ..Default::default() }),
        ..Default::default()
    };
    let set = vec![
        ImageFile {
            name: "inventory.img".into(),
            bytes: image(
                frame::Magic::Inventory,
                &[pb::InventoryEntry { img_version: 2, fdinfo_per_id: Some(true), ..Default::default() }
                    .encode_to_vec()],
            ),
        },
        ImageFile {
            name: "pstree.img".into(),
            bytes: image(
                frame::Magic::Pstree,
                &[pb::PstreeEntry { pid: 1, ppid: 0, pgid: 1, sid: 1, threads: vec![1] }.encode_to_vec()],
            ),
        },
        ImageFile { name: "ids-1.img".into(), bytes: image(frame::Magic::Ids, &[ids.encode_to_vec()]) },
        ImageFile { name: "core-1.img".into(), bytes: image(frame::Magic::Core, &[core.encode_to_vec()]) },
        ImageFile { name: "fdinfo-1.img".into(), bytes: image(frame::Magic::Fdinfo, &fds) },
        ImageFile { name: "files.img".into(), bytes: image(frame::Magic::Files, &files) },
    ];
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
