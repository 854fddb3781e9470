//! Deterministic generators of large scenarios (the 1,000-socket fixture, benchmarks).
//! No randomness: the same arguments always give the same bytes.

use crate::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec};
use crate::sim::SockType;
use crate::sock::Family;

fn sock(name: String, ty: SockType) -> SockSpec {
    SockSpec { name, family: Family::Unix, ty, ..SockSpec::default() }
}

fn msg(data: String) -> MsgSpec {
    MsgSpec { data: Some(data), ..MsgSpec::default() }
}

/// Two ends of a socketpair named `a` and `b`, each with one message queued.
fn pair(a: String, b: String, ty: SockType, to_a: String, to_b: String) -> [SockSpec; 2] {
    let mut sa = sock(a.clone(), ty);
    let mut sb = sock(b.clone(), ty);
    sa.pair = Some(b);
    sb.pair = Some(a);
    sa.queue.push(msg(to_a));
    sb.queue.push(msg(to_b));
    [sa, sb]
}

/// Listener `l{k}` at `addr` with one accepted connection (request data queued on the accepted
/// end) and two pending ones; pending connection `early` already sent data.
fn listener_group(k: usize, addr: String, backlog: i16, early: usize) -> [SockSpec; 5] {
    let l = format!("l{k}");
    let mut sl = sock(l.clone(), SockType::Stream);
    sl.addr = Some(addr);
    sl.listen = Some(backlog);
    let (c0, a0, c1, c2) = (format!("l{k}c0"), format!("l{k}a0"), format!("l{k}c1"), format!("l{k}c2"));
    let mut sc0 = sock(c0.clone(), SockType::Stream);
    let mut sa0 = sock(a0.clone(), SockType::Stream);
    sc0.peer = Some(a0);
    sa0.peer = Some(c0);
    sa0.accepted_from = Some(l);
    sa0.queue.push(msg(format!("request {k}")));
    for (i, c) in [&c1, &c2].into_iter().enumerate() {
        let sent = if i == early { vec![msg(format!("early {k}"))] } else { vec![] };
        sl.pending.push(PendingSpec { client: Some(c.clone()), sent });
    }
    [sl, sc0, sa0, sock(c1, SockType::Stream), sock(c2, SockType::Stream)]
}

/// A mix of about `n` sockets: socketpairs of the three types with a message each way,
/// listeners (named by path and abstract) with one accepted and two pending connections
/// (one with data), and dgram fan-in receivers with three senders.
pub fn mixed(n: usize) -> Scenario {
    let mut socks = Vec::with_capacity(n + 8);
    let mut k = 0usize;
    while socks.len() < n {
        match k % 4 {
            0 | 1 => {
                let ty = SockType::ALL[k % 3];
                let (a, b) = (format!("p{k}a"), format!("p{k}b"));
                let (to_a, to_b) = (format!("to {a} #{k}"), format!("to {b} #{k}"));
                socks.extend(pair(a, b, ty, to_a, to_b));
            }
            2 => {
                let addr = if k % 8 == 2 { format!("/run/resocket/l{k}.sock") } else { format!("@l{k}") };
                socks.extend(listener_group(k, addr, 1, 0));
            }
            _ => {
                let r = format!("r{k}");
                let mut sr = sock(r.clone(), SockType::Dgram);
                sr.addr = Some(format!("@r{k}"));
                for j in 0..3 {
                    let s = format!("r{k}s{j}");
                    let mut ss = sock(s.clone(), SockType::Dgram);
                    if j == 0 {
                        ss.peer = Some(r.clone());
                    }
                    sr.queue.push(MsgSpec { from: Some(s), data: Some(format!("dgram {j}")), ..MsgSpec::default() });
                    socks.push(ss);
                }
                socks.push(sr);
            }
        }
        k += 1;
    }
    Scenario {
        description: format!("{} generated sockets (synth::mixed)", socks.len()),
        kernel: "6.18.44".into(),
        time: 0,
        tasks: Vec::new(),
        sockets: socks,
    }
}

/// `pairs` stream socketpairs, each end holding one message of `payload` bytes: the
/// payload-heavy benchmark image.
pub fn payload_heavy(pairs: usize, payload: u32) -> Scenario {
    let mut socks = Vec::with_capacity(pairs * 2);
    for k in 0..pairs {
        let (a, b) = (format!("a{k}"), format!("b{k}"));
        let mut sa = sock(a.clone(), SockType::Stream);
        let mut sb = sock(b.clone(), SockType::Stream);
        sa.pair = Some(b.clone());
        sb.pair = Some(a);
        sa.queue.push(MsgSpec { repeat: Some(payload), ..MsgSpec::default() });
        sb.queue.push(MsgSpec { repeat: Some(payload), ..MsgSpec::default() });
        socks.extend([sa, sb]);
    }
    Scenario {
        description: format!("{pairs} stream pairs with {payload} queued bytes per end"),
        kernel: "6.18.44".into(),
        time: 0,
        tasks: Vec::new(),
        sockets: socks,
    }
}

/// The native restore benchmark's image: `pairs` stream socketpairs with a message each way,
/// and `listeners` listeners each with one accepted connection (with data) and two pending ones
/// (the second with data sent before accept).
pub fn restore_bench(pairs: usize, listeners: usize) -> Scenario {
    let mut socks = Vec::with_capacity(2 * pairs + 6 * listeners);
    for k in 0..pairs {
        socks.extend(pair(
            format!("a{k}"),
            format!("b{k}"),
            SockType::Stream,
            format!("to a #{k}"),
            format!("to b #{k}"),
        ));
    }
    for k in 0..listeners {
        socks.extend(listener_group(k, format!("@bench-l{k}"), 4, 1));
    }
    Scenario {
        description: format!("{pairs} socketpairs and {listeners} listeners with pending connections"),
        kernel: "6.18.44".into(),
        time: 0,
        tasks: Vec::new(),
        sockets: socks,
    }
}

/// One CRIU image file: IMG_COMMON (not for inventory.img), the image magic, then each
/// entry as `u32 size` + payload.
fn criu_image(name: &str, magic: crate::criu::Magic, entries: &[Vec<u8>]) -> crate::criu::ImageFile {
    let mut bytes = Vec::new();
    if magic != crate::criu::Magic::Inventory {
        bytes.extend(crate::criu::frame::IMG_COMMON.to_le_bytes());
    }
    bytes.extend(magic.value().to_le_bytes());
    for e in entries {
        bytes.extend(u32::try_from(e.len()).unwrap_or(u32::MAX).to_le_bytes());
        bytes.extend(e);
    }
    crate::criu::ImageFile { name: name.into(), bytes }
}

/// A CRIU image directory of `n` AF_UNIX stream sockets (`n / 2` connected socketpairs, file ids
/// 1..=n, inodes from 100,000, fds from 3) held by one task: inventory, pstree, ids-1, core-1,
/// fdinfo-1 and files.img (FileEntry UNIXSK with `usk`). The CRIU speed benchmark's input.
pub fn criu_socketpairs(n: u32) -> Vec<crate::criu::ImageFile> {
    use crate::criu::{pb, Magic};
    use prost::Message;
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
    let inventory = pb::InventoryEntry { img_version: 2, fdinfo_per_id: Some(true), ..Default::default() };
    let pstree = pb::PstreeEntry { pid: 1, ppid: 0, pgid: 1, sid: 1, threads: vec![1] };
    vec![
        criu_image("inventory.img", Magic::Inventory, &[inventory.encode_to_vec()]),
        criu_image("pstree.img", Magic::Pstree, &[pstree.encode_to_vec()]),
        criu_image("ids-1.img", Magic::Ids, &[ids.encode_to_vec()]),
        criu_image("core-1.img", Magic::Core, &[core.encode_to_vec()]),
        criu_image("fdinfo-1.img", Magic::Fdinfo, &fds),
        criu_image("files.img", Magic::Files, &files),
    ]
}
