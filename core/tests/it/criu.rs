//! The CRIU reader over the committed fixture sets (`fixtures/criu/images/{valid,invalid}/*/`):
//! valid sets open without errors and map onto a scenario that writes and validates; each
//! invalid set reports the code its `fixture.meta` expects, located in a file. Also: `open`
//! never panics on mutated fixture bytes (proptest), and unit-level cases built in memory.

use proptest::prelude::*;
use resocket_core::criu::{self, ImageFile, Opened};
use resocket_core::diag::Code;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/criu")).to_path_buf()
}

struct Set {
    name: String,
    expect: Option<String>,
    files: Vec<ImageFile>,
}

fn sets(kind: &str) -> Vec<Set> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root().join("images").join(kind)) else { return out };
    let mut dirs: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    dirs.sort();
    for d in dirs {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("src").join(kind).join(&name).join("fixture.meta")).unwrap(),
        )
        .unwrap();
        let mut files = Vec::new();
        for f in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            files.push(ImageFile {
                name: f.file_name().to_string_lossy().into_owned(),
                bytes: std::fs::read(f.path()).unwrap(),
            });
        }
        out.push(Set { name, expect: meta["expect"].as_str().map(Into::into), files });
    }
    out
}

fn render(o: &Opened) -> String {
    o.diagnostics.iter().map(|d| format!("  {d}\n")).collect()
}

#[test]
fn criu_fixture_counts() {
    assert!(sets("valid").len() >= 15, "at least 15 valid CRIU fixture sets");
    assert!(sets("invalid").len() >= 15, "at least 15 invalid CRIU fixture sets");
}

#[test]
fn criu_valid_sets_open_without_errors() {
    for s in sets("valid") {
        let o = criu::open(s.files);
        assert!(o.is_valid(), "{}:\n{}", s.name, render(&o));
        assert!(!o.checkpoint.tasks.is_empty(), "{}: no tasks", s.name);
        for t in &o.checkpoint.tasks {
            assert!(t.comm.is_some() && t.files_id.is_some(), "{}: task {} not joined", s.name, t.pid);
        }
    }
}

/// Every valid set maps onto a scenario that writes a valid image, plans, and whose plan
/// reproduces the image on the simulator.
#[test]
fn criu_valid_sets_map_plan_and_simulate() {
    use resocket_core::{check, load, plan};
    let mut failures = Vec::new();
    for s in sets("valid") {
        let o = criu::open(s.files);
        let (sc, _notes) = o.to_scenario();
        let img = match sc.to_image() {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{}: {e}", s.name));
                continue;
            }
        };
        let r = load(&img);
        if !r.is_valid() {
            failures.push(format!("{}: image invalid: {:?}", s.name, r.diagnostics));
            continue;
        }
        // For the namespace's saved addresses (ifaddr-N.img), else the loopback host.
        let host = o.host().unwrap_or_default();
        let p = match plan::plan_on(&r.image, &host) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: plan: {e}", s.name));
                continue;
            }
        };
        let mut rep = check::run_order_on(&r.image, &p, &(0..p.steps.len()).collect::<Vec<_>>(), &host);
        // A dgram socket whose outside peer this host lacks is restored unconnected, warned.
        let outside = |o: i32| {
            p.warnings.iter().any(|w| w.code == resocket_core::warn::WarnCode::UnixExternalPeer && w.objref == Some(o))
        };
        rep.differences.retain(|d| !(outside(d.objref) && d.what == "state"));
        if !rep.is_clean() {
            failures.push(format!(
                "{}: simulate: {:?} {:?}",
                s.name,
                rep.failure.map(|f| f.explanation),
                rep.differences
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn criu_invalid_sets_report_their_code() {
    for s in sets("invalid") {
        let expect = s.expect.clone().unwrap_or_else(|| panic!("{}: no expect", s.name));
        let code = Code::from_str_opt(&expect).unwrap_or_else(|| panic!("{}: unknown code {expect}", s.name));
        let o = criu::open(s.files);
        let d = o.diagnostics.iter().find(|d| d.code == code);
        let d = d.unwrap_or_else(|| panic!("{}: expected {expect}, got:\n{}", s.name, render(&o)));
        assert!(d.file.is_some(), "{}: {d} names no file", s.name);
        let file = o.files.iter().find(|f| Some(&f.name) == d.file.as_ref());
        if let Some(f) = file {
            assert!(d.range.end <= f.bytes.len(), "{}: {d} range past the file", s.name);
        }
    }
}

#[test]
fn criu_every_code_has_an_invalid_fixture() {
    let expected: std::collections::BTreeSet<String> = sets("invalid").into_iter().filter_map(|s| s.expect).collect();
    for c in Code::ALL.iter().filter(|c| c.as_str().starts_with("criu-")) {
        let skip = [Code::CriuUnknownField];
        if !skip.contains(c) {
            assert!(expected.contains(c.as_str()), "no invalid CRIU fixture for {c}");
        }
    }
}

#[test]
fn criu_unknown_field_is_visible() {
    let s = sets("valid").into_iter().find(|s| s.name == "unknown-field").unwrap();
    let o = criu::open(s.files);
    let d = o.diagnostics.iter().find(|d| d.code == Code::CriuUnknownField).expect("warning");
    assert_eq!(d.field.as_deref(), Some("#1001"));
    assert_eq!(d.file.as_deref(), Some("files.img"));
    let f = o.files.iter().find(|f| f.name == "files.img").unwrap();
    let unknown = f.unknown_fields(0);
    assert_eq!(unknown.len(), 1);
    assert_eq!(&f.bytes[unknown[0].range.clone()], &[0xc8, 0x3e, 0x2a]);
}

#[test]
fn criu_fields_have_byte_ranges() {
    let s = sets("valid").into_iter().find(|s| s.name == "stream-pair").unwrap();
    let o = criu::open(s.files);
    let f = o.files.iter().find(|f| f.name == "files.img").unwrap();
    let e = f.entry(1).unwrap();
    let fields = f.fields(1);
    let peer = fields.iter().find(|x| x.path == "usk.peer").expect("usk.peer");
    assert!(e.payload.start <= peer.range.start && peer.range.end <= e.payload.end);
    // tag 8 varint 30001
    assert_eq!(&f.bytes[peer.value.clone()], &[0xb1, 0xea, 0x01]);
}

fn all_inputs() -> Vec<Vec<ImageFile>> {
    sets("valid").into_iter().chain(sets("invalid")).map(|s| s.files).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn criu_open_never_panics_on_mutated_bytes(set in 0usize..64, file in 0usize..16, at in any::<usize>(),
                                               byte in any::<u8>(), cut in any::<bool>(), mapped in any::<bool>()) {
        let inputs = all_inputs();
        let mut files = inputs[set % inputs.len()].clone();
        let k = file % files.len();
        let b = &mut files[k].bytes;
        if !b.is_empty() {
            let i = at % b.len();
            if cut { b.truncate(i); } else { b[i] ^= byte | 1; }
        }
        let o = criu::open(files);
        for d in &o.diagnostics {
            if let Some(f) = o.files.iter().find(|f| Some(&f.name) == d.file.as_ref()) {
                prop_assert!(d.range.start <= d.range.end && d.range.end <= f.bytes.len(), "{d}");
            }
        }
        if mapped {
            let (sc, _notes) = o.to_scenario();
            let _ = sc.to_image();
        }
        let _ = o.crit_json();
    }
}

fn mapped(name: &str) -> (Opened, resocket_core::scenario::Scenario, Vec<criu::Note>) {
    let s = sets("valid").into_iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no set {name}"));
    let o = criu::open(s.files);
    let (sc, notes) = o.to_scenario();
    (o, sc, notes)
}

fn sock<'a>(sc: &'a resocket_core::scenario::Scenario, name: &str) -> &'a resocket_core::scenario::SockSpec {
    sc.sockets.iter().find(|s| s.name == name).unwrap_or_else(|| panic!("no socket {name} in {sc:#?}"))
}

fn has_note(notes: &[criu::Note], code: criu::NoteCode, socket: Option<&str>) -> bool {
    notes.iter().any(|n| n.code == code && n.socket.as_deref() == socket)
}

#[test]
fn criu_maps_listeners_accepted_and_pending() {
    let (_, sc, notes) = mapped("listener-accepted-pending");
    let l = sock(&sc, "unix-30001");
    assert_eq!((l.listen, l.addr.as_deref()), (Some(16), Some("/tmp/srv.sock")));
    assert_eq!(l.pending.len(), 1);
    assert_eq!(l.pending[0].client.as_deref(), Some("unix-30004"));
    let a = sock(&sc, "unix-30002");
    assert_eq!(
        (a.accepted_from.as_deref(), a.peer.as_deref(), a.addr.as_deref()),
        (Some("unix-30001"), Some("unix-30003"), None)
    );
    assert_eq!(a.queue[0].data.as_deref(), Some("hello from client"));
    assert_eq!(sock(&sc, "unix-30003").peer.as_deref(), Some("unix-30002"));
    assert!(has_note(&notes, criu::NoteCode::DataBeforeAccept, Some("unix-30001")));
    assert!(has_note(&notes, criu::NoteCode::FilePermissions, Some("unix-30001")));
    assert_eq!(sc.tasks.len(), 2);
    assert_eq!(sc.tasks[1].fds.get(&4).map(String::as_str), Some("unix-30004"));
}

#[test]
fn criu_maps_names() {
    let (_, sc, _) = mapped("abstract-nul");
    assert_eq!(sock(&sc, "unix-30001").addr.as_deref(), Some("@X/zdtm-1/\\x00"));
    assert_eq!(sock(&sc, "unix-30002").addr.as_deref(), Some("@srv\\x01\\xff"));
    let (_, sc, _) = mapped("relative-name");
    let s = sock(&sc, "unix-30001");
    assert_eq!((s.addr.as_deref(), s.cwd.as_deref()), (Some("srv.sock"), Some("/tmp/work")));
    let (_, sc, _) = mapped("deleted-name");
    let s = sock(&sc, "unix-30001");
    assert!(s.unlinked);
    assert_eq!(sock(&sc, "unix-30002").peer.as_deref(), Some("unix-30001"));
}

#[test]
fn criu_maps_dgram_senders_and_self_connect() {
    let (_, sc, notes) = mapped("dgram-fan-in");
    let srv = sock(&sc, "unix-30001");
    assert_eq!(srv.queue.len(), 2);
    assert!(srv.queue.iter().all(|m| m.from.as_deref() == Some("unix-30002")));
    assert!(has_note(&notes, criu::NoteCode::SenderAddress, Some("unix-30001")));
    let me = sock(&sc, "unix-30004");
    assert_eq!(me.peer.as_deref(), Some("unix-30004"));
    assert_eq!(me.queue[0].data.as_deref(), Some("to myself"));
}

#[test]
fn criu_maps_in_flight_fds_semi_closed_and_external() {
    let (_, sc, notes) = mapped("scm-rights");
    let b = sock(&sc, "unix-30002");
    assert_eq!(b.pair.as_deref(), Some("unix-30001"));
    assert_eq!(b.queue[0].rights, vec!["unix-30003".to_string()]);
    assert!(sock(&sc, "unix-30003").no_fd);
    assert!(has_note(&notes, criu::NoteCode::PeekOffset, Some("unix-30002")));
    let (_, sc, _) = mapped("semi-closed");
    let s = sock(&sc, "unix-30001");
    assert!(s.peer_gone && s.peer.is_none() && s.pair.is_none());
    assert_eq!(s.queue[0].data.as_deref(), Some("last words"));
    let (_, sc, notes) = mapped("external-peer");
    assert_eq!(sc.sockets.len(), 1, "the USK_EXTERN entry is not a socket of the scenario");
    assert!(has_note(&notes, criu::NoteCode::ExternalPeerName, Some("unix-30001")));
    // The dgram socket keeps its outside peer's name, which a restore connects to again.
    let d = sock(&sc, "unix-30001");
    assert!(d.external_peer);
    assert_eq!(d.remote.as_deref(), Some("/run/ext.sock"));
}

#[test]
fn criu_maps_options_and_shutdown() {
    let (_, sc, notes) = mapped("socket-options");
    let a = sock(&sc, "unix-30001");
    assert_eq!((a.sndbuf, a.rcvbuf, a.sndbuf_lock, a.rcvbuf_lock), (Some(65536), Some(131072), true, true));
    assert_eq!(a.shutdown.map(resocket_core::sim::How::word), Some("rd"));
    assert_eq!(sock(&sc, "unix-30002").shutdown.map(resocket_core::sim::How::word), Some("wr"));
    let n =
        notes.iter().find(|n| n.code == criu::NoteCode::OptionNotModelled && n.socket.as_deref() == Some("unix-30001"));
    // SO_PASSCRED is held by the scenario (and restored); SO_REUSEADDR on AF_UNIX is not.
    assert!(a.passcred);
    assert!(n.is_some_and(|n| !n.message.contains("SO_PASSCRED") && n.message.contains("SO_REUSEADDR")));
    assert!(has_note(&notes, criu::NoteCode::PairOrAccepted, Some("unix-30001")));
    // SO_PRIORITY, SO_RCVLOWAT and SO_PASSSEC are options RS_SOCKOPT records: in the scenario,
    // not in a note.
    use resocket_core::sim::SockOpt;
    let b = sock(&sc, "unix-30002");
    assert_eq!(b.opts, [SockOpt::Priority(6), SockOpt::RcvLowat(4), SockOpt::PassSec(true)]);
    assert!(!notes
        .iter()
        .any(|n| n.code == criu::NoteCode::OptionNotModelled && n.socket.as_deref() == Some("unix-30002")));
    assert!(a.opts.is_empty(), "{:?}", a.opts);
}

#[test]
fn criu_maps_inet() {
    let (_, sc, notes) = mapped("inet-tcp");
    let l = sock(&sc, "tcp-30001");
    assert_eq!(
        (l.family.word(), l.addr.as_deref(), l.listen, l.reuseaddr),
        ("inet", Some("0.0.0.0:8080"), Some(128), true)
    );
    let a = sock(&sc, "tcp-30002");
    assert_eq!((a.accepted_from.as_deref(), a.peer.as_deref()), (Some("tcp-30001"), Some("tcp-30003")));
    assert_eq!(a.queue[0].data.as_deref(), Some("GET / HTTP/1.0\\x0d\\x0a\\x0d\\x0a"));
    assert_eq!(sock(&sc, "tcp-30003").peer.as_deref(), Some("tcp-30002"));
    assert!(has_note(&notes, criu::NoteCode::TcpRepairState, Some("tcp-30002")));
    let (o, sc, notes) = mapped("udp");
    let devs: Vec<(&str, u32, u32)> = o.checkpoint.netdevs.iter().map(|d| (d.name.as_str(), d.ifindex, d.ns)).collect();
    assert_eq!(devs, [("lo", 1, 2)]);
    assert_eq!(sock(&sc, "udp-30002").peer.as_deref(), Some("udp-30001"));
    let v6 = sock(&sc, "udp-30003");
    assert_eq!((v6.family.word(), v6.addr.as_deref()), ("inet6", Some("[::1]:5354")));
    assert!(has_note(&notes, criu::NoteCode::UdpQueue, Some("udp-30001")));
}

#[test]
fn criu_maps_layouts_other_files_and_tables() {
    let (o, sc, _) = mapped("legacy-unixsk");
    assert!(o.checkpoint.legacy_layout);
    assert_eq!(sock(&sc, "unix-30001").listen, Some(4));
    assert_eq!(sock(&sc, "unix-30003").queue.len(), 1);
    let (o, sc, notes) = mapped("other-files");
    assert_eq!(o.checkpoint.others.len(), 2);
    assert_eq!(notes.iter().filter(|n| n.code == criu::NoteCode::NonSocketFile).count(), 2);
    assert_eq!(sc.tasks[0].fds.len(), 2);
    let (_, sc, _) = mapped("shared-across-tasks");
    assert_eq!(sc.tasks[0].cloexec, vec![6]);
    assert_eq!(sc.tasks[0].fds.get(&5), sc.tasks[0].fds.get(&6));
    assert_eq!(sc.tasks[1].fds.get(&4).map(String::as_str), Some("unix-30002"));
}

/// The entries an opened file gives back (from their start offsets) are the framed ones: they
/// tile the file from the first entry, each payload after its size field, an extra blob exactly
/// where the image has one, and `entry_at` finds each by any of its bytes.
#[test]
fn criu_entries_tile_their_files() {
    for kind in ["valid", "invalid"] {
        for s in sets(kind) {
            let o = criu::open(s.files);
            for f in &o.files {
                let entries: Vec<_> = f.entries().collect();
                assert_eq!(entries.len(), f.entry_count(), "{}/{}", s.name, f.name);
                let extra = matches!(f.known_magic(), Some(criu::Magic::SkQueues | criu::Magic::TcpStream));
                let mut at = if f.first_magic.is_some() { 8 } else { 4 };
                for (i, e) in entries.iter().enumerate() {
                    assert_eq!(e.index, i);
                    assert_eq!(e.range.start, at, "{}/{} entry {i}", s.name, f.name);
                    // A netlink message's payload follows its 16-byte nlmsghdr.
                    let head = if f.kind.dump().is_some() { 16 } else { 4 };
                    assert_eq!(e.payload.start, e.range.start + head);
                    assert_eq!(e.extra.is_some(), extra, "{}/{} entry {i}", s.name, f.name);
                    assert_eq!(e.range.end, e.extra.clone().map_or(e.payload.end, |x| x.end));
                    assert_eq!(f.entry_at(e.range.start), Some(i));
                    assert_eq!(f.entry_at(e.range.end - 1), Some(i));
                    at = e.range.end;
                }
                if kind == "valid" && f.decoded {
                    assert_eq!(at, f.bytes.len(), "{}/{}: entries stop short", s.name, f.name);
                }
                assert_eq!(f.entry_at(at.max(f.bytes.len())), None);
            }
        }
    }
}

/// A unix socket keeps the fields of its entry that the checks use; the whole entry decodes
/// again from its bytes; the field paths are `usk.` in files.img and bare in unixsk.img.
#[test]
fn criu_unix_sockets_are_their_entries() {
    for s in sets("valid") {
        let o = criu::open(s.files);
        for u in &o.checkpoint.unix {
            let sk = o.unix_entry(u).expect("decodes again");
            assert_eq!(
                (u.ino, u.peer, u.ty, u.state, u.external, u.shut_both),
                (sk.ino, sk.peer, sk.r#type, sk.state, sk.uflags & 1 != 0, sk.shutdown == Some(3)),
                "{}",
                s.name
            );
            let legacy = o.file(u.at).unwrap().kind == criu::ImageKind::Unixsk;
            assert_eq!(o.unix_prefix(u), if legacy { "" } else { "usk." }, "{}", s.name);
        }
    }
}

/// `synth::criu_socketpairs` (the benchmark's input) is a valid checkpoint of its N sockets.
#[test]
fn criu_synth_socketpairs_open_valid() {
    let o = criu::open(resocket_core::synth::criu_socketpairs(100));
    assert!(o.is_valid(), "{:?}", o.diagnostics);
    assert_eq!(o.checkpoint.unix.len(), 100);
    let t = &o.checkpoint.tasks[0];
    assert_eq!(o.checkpoint.task_fds(t).count(), 100);
    let (sc, _) = o.to_scenario();
    assert_eq!(sc.sockets.len(), 100);
    assert_eq!(sc.tasks[0].fds.len(), 100);
}

/// Two fdinfo images of one files_id (`fdinfo-01.img`, `fdinfo-1.img`) are one fd table: the
/// task holds the fds of both, and an fd number in both is reported once, on the later entry.
#[test]
fn criu_fd_tables_of_one_files_id_are_one() {
    use prost::Message;
    let mut files = resocket_core::synth::criu_socketpairs(4);
    let fd = criu::pb::FdinfoEntry { id: 1, flags: 0, r#type: 5, fd: 9, ..Default::default() }.encode_to_vec();
    let dup = criu::pb::FdinfoEntry { id: 2, flags: 0, r#type: 5, fd: 4, ..Default::default() }.encode_to_vec();
    let mut bytes = criu::frame::IMG_COMMON.to_le_bytes().to_vec();
    bytes.extend(criu::Magic::Fdinfo.value().to_le_bytes());
    for e in [&fd, &dup] {
        bytes.extend((e.len() as u32).to_le_bytes());
        bytes.extend(e);
    }
    files.push(ImageFile { name: "fdinfo-01.img".into(), bytes });
    let o = criu::open(files);
    let t = &o.checkpoint.tasks[0];
    let fds: Vec<u32> = o.checkpoint.task_fds(t).map(|(_, f)| f.fd).collect();
    assert_eq!(fds, vec![9, 4, 3, 4, 5, 6]);
    let dups: Vec<_> = o.diagnostics.iter().filter(|d| d.code == Code::CriuDuplicateId).collect();
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_eq!((dups[0].file.as_deref(), dups[0].record), (Some("fdinfo-1.img"), Some(1)));
    assert!(dups[0].message.contains("fd 4 appears twice"), "{}", dups[0].message);
}

/// `open_observed` tells how far it is: one report per image file, in order, then the checks;
/// and it opens what `open` opens.
#[test]
fn criu_open_reports_each_image_then_the_checks() {
    use resocket_core::criu::Reading;
    let s = sets("valid").into_iter().find(|s| s.files.len() >= 3).expect("a set of several images");
    let n = s.files.len();
    let mut seen = Vec::new();
    let o = criu::open_observed(s.files.clone(), &mut |r| seen.push(r));
    let mut want: Vec<Reading> = (1..=n).map(|done| Reading::Images { done, total: n }).collect();
    want.push(Reading::Checking);
    assert_eq!(seen, want);
    assert_eq!(o, criu::open(s.files));
}

/// The ifaddr fixture (real `ip addr save` output) reads as its readable source says: every
/// `inet`/`inet6` line of `ip addr show` in ifaddr-2.txt is one address, on its interface, in
/// file order by interface.
#[test]
fn criu_ifaddr_fixture_is_its_source() {
    let src = std::fs::read_to_string(root().join("src/valid/inet-netns/ifaddr-2.txt")).unwrap();
    let mut want: Vec<(u32, String)> = Vec::new();
    let mut ifindex = 0;
    for line in src.lines().filter(|l| !l.starts_with('#')) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            [n, ..] if n.ends_with(':') && n.trim_end_matches(':').parse::<u32>().is_ok() => {
                ifindex = n.trim_end_matches(':').parse().unwrap();
            }
            ["inet" | "inet6", addr, ..] => want.push((ifindex, addr.to_string())),
            _ => {}
        }
    }
    assert_eq!(want.len(), 4, "{want:?}");
    let (o, _, _) = mapped("inet-netns");
    let mut got: Vec<(u32, String)> = o
        .checkpoint
        .ifaddrs
        .iter()
        .map(|a| (a.addr.ifindex, format!("{}/{}", a.addr.own().unwrap(), a.addr.prefix)))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(o.checkpoint.ifaddrs.iter().all(|a| a.ns == 2));
    assert_eq!(o.checkpoint.ifaddrs[1].addr.label.as_deref(), Some("eth0"));
}

/// The saved namespace is the simulator's host: its addresses on their interfaces (lo loopback
/// and up from netdev-2.img's flags, eth0 not loopback, the /24's broadcast address), so the
/// sockets on 10.0.0.5 and 2001:db8::5 are planned bound, where the loopback host leaves them
/// unbound with a warning each.
#[test]
fn criu_netns_addresses_are_the_host() {
    use resocket_core::sim::HostAddr;
    use resocket_core::warn::WarnCode;
    let (o, sc, _) = mapped("inet-netns");
    assert_eq!(o.host_ns(), Some(2));
    let host = o.host().expect("ifaddr-2.img");
    let a = |ip: &str, prefix, ifindex, loopback| HostAddr { ip: ip.parse().unwrap(), prefix, ifindex, loopback };
    assert_eq!(
        host.addrs,
        [
            a("10.0.0.5", 24, 3, false),
            a("127.0.0.1", 8, 1, true),
            a("::1", 128, 1, true),
            a("2001:db8::5", 64, 3, false)
        ]
    );
    assert_eq!(
        host.broadcast,
        ["10.0.0.255".parse::<std::net::Ipv4Addr>().unwrap(), "127.255.255.255".parse().unwrap()]
    );
    let img = sc.to_image().unwrap();
    let r = resocket_core::load(&img);
    let missing = |h: &resocket_core::sim::HostAddrs| {
        let p = resocket_core::plan::plan_on(&r.image, h).unwrap();
        p.warnings.iter().filter(|w| w.code == WarnCode::InetAddressMissing).count()
    };
    assert_eq!(missing(&host), 0);
    assert_eq!(missing(&resocket_core::sim::HostAddrs::loopback()), 3);
    // Without the ifaddr image there is no saved host.
    let s = sets("valid").into_iter().find(|s| s.name == "inet-netns").unwrap();
    let files: Vec<ImageFile> = s.files.into_iter().filter(|f| f.name != "ifaddr-2.img").collect();
    assert_eq!(criu::open(files).host(), None);
}

/// The route fixtures (real `ip route save` / `ip -6 route save` output) read as their readable
/// source says: every line of `ip route show` in route-2.txt is one route of namespace 2, with
/// its destination, gateway and device (eth0, ifindex 3 in netdev-2.img).
#[test]
fn criu_route_fixture_is_its_source() {
    let src = std::fs::read_to_string(root().join("src/valid/inet-netns/route-2.txt")).unwrap();
    let mut want: Vec<(String, Option<String>, Option<String>)> = Vec::new();
    for line in src.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
        let w: Vec<&str> = line.split_whitespace().collect();
        let after = |k: &str| w.iter().position(|x| *x == k).map(|i| w[i + 1].to_string());
        want.push((w[0].to_string(), after("via"), after("dev")));
    }
    assert_eq!(want.len(), 4, "{want:?}");
    let (o, _, _) = mapped("inet-netns");
    let ck = &o.checkpoint;
    let dev = |i: Option<u32>| ck.netdevs.iter().find(|d| Some(d.ifindex) == i).map(|d| d.name.clone());
    let mut got: Vec<_> = ck
        .routes
        .iter()
        .map(|r| (r.route.dst_text(), r.route.gateway.map(|g| g.to_string()), dev(r.route.oif)))
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    assert!(ck.routes.iter().all(|r| r.ns == 2 && r.route.table == criu::route::RT_TABLE_MAIN));
    assert!(ck.routes.iter().all(|r| r.route.kind == criu::route::RouteType::Unicast));
    // Both files are entries (one per message) named by their magic.
    for name in ["route-2.img", "route6-2.img"] {
        let f = o.files.iter().find(|f| f.name == name).unwrap();
        assert_eq!((f.entry_count(), f.magic_name().as_str()), (2, "IP_ROUTE_SAVE"), "{name}");
    }
}

/// The saved routes decide what the restored host reaches, as the namespace they were saved from
/// did (route-2.txt): a destination no route covers is ENETUNREACH (UDP and TCP, IPv4 and IPv6),
/// one a route covers stays undetermined (the traffic leaves the host); without the route
/// images the model knows no routes and both are undetermined.
#[test]
fn criu_saved_routes_decide_reachability() {
    use resocket_core::sim::{Errno, InetFamily, Kernel, Op, Outcome, Rule, SockAddr, SockType};
    let (o, _, _) = mapped("inet-netns");
    let host = o.host().unwrap();
    assert_eq!(host.routes.v4.as_ref().map(Vec::len), Some(2));
    assert_eq!(host.routes.v6.as_ref().map(Vec::len), Some(2));
    let connect = |host: &resocket_core::sim::HostAddrs, ty: SockType, to: &str| {
        let mut k = Kernel::with_host(host.clone());
        let family = if to.starts_with('[') { InetFamily::Inet6 } else { InetFamily::Inet };
        assert!(k.apply(&Op::SocketInet { slot: 1, family, ty }).is_ok());
        let out = k.apply(&Op::Connect { slot: 1, addr: SockAddr::Inet(to.parse().unwrap()) });
        (out, k.last_rule)
    };
    for ty in [SockType::Dgram, SockType::Stream] {
        for to in ["8.8.8.8:53", "[2001:db9::9]:53"] {
            assert_eq!(connect(&host, ty, to), (Outcome::err(Errno::ENETUNREACH), Some(Rule::NoRoute)), "{to}");
        }
    }
    for to in ["192.168.7.9:53", "10.0.0.7:53", "[2001:db8:7::9]:53", "[2001:db8::7]:53", "8.8.8.8:53"] {
        let h = if to == "8.8.8.8:53" {
            // The same host without its routes.
            let mut h = host.clone();
            h.routes = Default::default();
            h
        } else {
            host.clone()
        };
        let (out, rule) = connect(&h, SockType::Dgram, to);
        assert!(matches!(out, Outcome::WouldBlock { .. }), "{to}: {out:?}");
        assert_eq!(rule, Some(Rule::ModelUndetermined), "{to}");
    }
    let r = o.route_to(2, "192.168.7.9".parse().unwrap()).unwrap();
    assert_eq!((r.route.dst_text(), r.route.gateway), ("192.168.7.0/24".into(), Some("10.0.0.1".parse().unwrap())));
    assert_eq!(o.route_to(2, "8.8.8.8".parse().unwrap()), None);
    // Without route6-2.img the IPv6 routes are unknown (IPv4's still known).
    let s = sets("valid").into_iter().find(|s| s.name == "inet-netns").unwrap();
    let files: Vec<ImageFile> = s.files.into_iter().filter(|f| f.name != "route6-2.img").collect();
    let routes = criu::open(files).host().unwrap().routes;
    assert!(routes.v4.is_some() && routes.v6.is_none());
}

/// A route file with a bad attribute is located (file, entry, offset, attribute), and gives no
/// routes to the host: a list cut short would make reachable destinations unreachable.
#[test]
fn criu_bad_route_is_located_and_not_used() {
    let s = sets("invalid").into_iter().find(|s| s.name == "route-gateway-size").unwrap();
    let o = criu::open(s.files);
    let d = o.diagnostics.iter().find(|d| d.code == Code::CriuBadNetlink).expect("criu-bad-netlink");
    assert_eq!(
        (d.file.as_deref(), d.record, d.range.start, d.field.as_deref()),
        (Some("route-2.img"), Some(1), 108, Some("RTA_GATEWAY"))
    );
    assert_eq!(o.checkpoint.routes.iter().filter(|r| r.route.family == criu::ifaddr::AddrFamily::Inet).count(), 1);
    let routes = o.host().unwrap().routes;
    assert!(routes.v4.is_none() && routes.v6.is_some());
}

/// netdev-2.img's devices are typed entries (kind, MTU, link-layer address, up), and
/// netns-2.img is decoded: its ids of other namespaces, no external key, its sysctl arrays as
/// walked fields; a field a newer CRIU adds to NetnsEntry is kept visible (field number, bytes).
#[test]
fn criu_netdev_and_netns_entries() {
    use criu::NdType;
    use prost::Message;
    let (o, _, _) = mapped("inet-netns");
    let devs: Vec<_> =
        o.checkpoint.netdevs.iter().map(|d| (d.name.as_str(), d.kind, d.mtu, d.address_text(), d.up())).collect();
    let mac = |s: &str| Some(s.to_string());
    assert_eq!(
        devs,
        [
            ("lo", NdType::Loopback, 65536, mac("00:00:00:00:00:00"), true),
            ("eth1", NdType::Veth, 1500, mac("02:00:00:00:00:06"), true),
            ("eth0", NdType::Veth, 1500, mac("02:00:00:00:00:05"), true),
        ]
    );
    let n = &o.checkpoint.netns;
    assert_eq!(n.len(), 1);
    assert_eq!((n[0].ns, n[0].ext_key.as_deref(), n[0].nsids.as_slice()), (2, None, &[(9, 0)][..]));
    let f = o.files.iter().position(|f| f.name == "netns-2.img").unwrap();
    let paths: Vec<String> = o.files[f].fields(0).into_iter().map(|x| x.path).collect();
    assert!(paths.iter().any(|p| p == "unix_conf[0].iarg"), "{paths:?}");
    assert!(paths.iter().any(|p| p == "def_conf4[2].type"), "{paths:?}");
    // A newer CRIU's field 12 (varint 7) after the entry: a warning, kept with its bytes.
    let mut e = criu::pb::NetnsEntry { ext_key: Some("net-key".into()), ..Default::default() }.encode_to_vec();
    e.extend([0x60, 0x07]);
    let mut bytes = criu::frame::IMG_COMMON.to_le_bytes().to_vec();
    bytes.extend(criu::Magic::Netns.value().to_le_bytes());
    bytes.extend((e.len() as u32).to_le_bytes());
    bytes.extend(&e);
    let o = criu::open(vec![ImageFile { name: "netns-3.img".into(), bytes }]);
    let u: Vec<_> = o.diagnostics.iter().filter(|d| d.code == Code::CriuUnknownField).collect();
    assert_eq!(u.len(), 1, "{:?}", o.diagnostics);
    assert_eq!((u[0].field.as_deref(), u[0].record), (Some("#12"), Some(0)));
    assert_eq!(o.checkpoint.netns[0].ext_key.as_deref(), Some("net-key"));
    let unknown = o.files[0].unknown_fields(0);
    assert_eq!((unknown.len(), unknown[0].number), (1, 12));
}

/// A UDP socket of the inet-netns checkpoint connected to an address outside it: to 8.8.8.8,
/// which no saved route reaches, it gets a `remote-unreachable` note (a connect there fails with
/// ENETUNREACH); to 192.168.7.9 (the gateway route) or with the route images left out, none.
#[test]
fn criu_remote_without_a_route_is_noted() {
    use prost::Message;
    let s = sets("valid").into_iter().find(|s| s.name == "inet-netns").unwrap();
    let with_remote = |files: &[ImageFile], to: [u8; 4]| -> Vec<ImageFile> {
        let mut files = files.to_vec();
        let f = files.iter_mut().find(|f| f.name == "files.img").unwrap();
        let mut out = f.bytes[..8].to_vec();
        let mut pos = 8;
        while pos < f.bytes.len() {
            let n = u32::from_le_bytes(f.bytes[pos..pos + 4].try_into().unwrap()) as usize;
            let mut e = criu::pb::FileEntry::decode(&f.bytes[pos + 4..pos + 4 + n]).unwrap();
            if let Some(isk) = e.isk.as_mut().filter(|i| i.ino == 31002) {
                (isk.dst_addr, isk.dst_port, isk.state) = (vec![u32::from_le_bytes(to)], 53, 1);
            }
            let b = e.encode_to_vec();
            out.extend((b.len() as u32).to_le_bytes());
            out.extend(b);
            pos += 4 + n;
        }
        f.bytes = out;
        files
    };
    let notes = |files: Vec<ImageFile>| {
        let o = criu::open(files);
        assert!(o.is_valid(), "{}", render(&o));
        let (sc, notes) = o.to_scenario();
        assert!(sock(&sc, "udp-31002").external_peer);
        notes.into_iter().filter(|n| n.code == criu::NoteCode::RemoteUnreachable).collect::<Vec<_>>()
    };
    let n = notes(with_remote(&s.files, [8, 8, 8, 8]));
    assert_eq!(n.len(), 1, "{n:?}");
    assert_eq!(n[0].socket.as_deref(), Some("udp-31002"));
    assert!(n[0].message.contains("8.8.8.8:53") && n[0].message.contains("route-2.img"), "{}", n[0].message);
    assert!(notes(with_remote(&s.files, [192, 168, 7, 9])).is_empty());
    let no_routes: Vec<ImageFile> = s.files.iter().filter(|f| !f.name.starts_with("route")).cloned().collect();
    assert!(notes(with_remote(&no_routes, [8, 8, 8, 8])).is_empty());
}

#[test]
fn criu_a_pid_twice_in_pstree_is_located_at_its_second_entry() {
    let s = sets("invalid").into_iter().find(|s| s.name == "duplicate-pid").expect("fixture duplicate-pid");
    let o = criu::open(s.files);
    let dups: Vec<_> = o.diagnostics.iter().filter(|d| d.code == Code::CriuDuplicateId).collect();
    assert_eq!(dups.len(), 1, "one duplicate reported:\n{}", render(&o));
    let d = dups[0];
    assert_eq!(d.message, "pid 100 appears twice in pstree");
    assert_eq!(d.file.as_deref(), Some("pstree.img"));
    let f = o.files.iter().find(|f| f.name == "pstree.img").expect("pstree.img opened");
    let second = f.entry(1).expect("two pstree entries");
    assert!(
        second.payload.start <= d.range.start && d.range.end <= second.payload.end,
        "{d} is not inside the second entry {:?}",
        second.payload
    );
    assert!(!o.is_valid());
}

/// CRIU's dgram socket with an outside peer (USK_EXTERN entry named /run/ext.sock), planned on
/// a host with a dgram socket bound there: connected to it, the image reproduced, no warning;
/// on a host without: unconnected and warned `unix-external-peer`.
#[test]
fn criu_external_dgram_peer_is_reconnected_by_name_where_the_host_has_it() {
    use resocket_core::image::UnixAddr;
    use resocket_core::warn::WarnCode;
    use resocket_core::{check, load, plan};
    let (_, sc, _) = mapped("external-peer");
    let img = sc.to_image().expect("image");
    let r = load(&img);
    let with = resocket_core::sim::HostAddrs {
        unix: vec![UnixAddr::Path(b"/run/ext.sock"[..].into())],
        ..resocket_core::sim::HostAddrs::loopback()
    };
    let p = plan::plan_on(&r.image, &with).expect("plan");
    assert!(p.warnings.iter().all(|w| w.code != WarnCode::UnixExternalPeer), "{:?}", p.warnings);
    let rep = check::run_order_on(&r.image, &p, &(0..p.steps.len()).collect::<Vec<_>>(), &with);
    assert!(rep.is_clean(), "{rep:?}");
    let without = resocket_core::sim::HostAddrs::loopback();
    let p = plan::plan_on(&r.image, &without).expect("plan");
    assert_eq!(p.warnings.iter().filter(|w| w.code == WarnCode::UnixExternalPeer).count(), 1, "{:?}", p.warnings);
}
