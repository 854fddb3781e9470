//! AF_UNIX situations: socketpairs, listeners, names, external peers, fds in flight, a second dump, the dump's warnings.

use super::*;

#[test]
fn socketpairs_of_each_type_with_data_both_ways() {
    let img = round_trip("pairs");
    let queued: Vec<usize> = img.sockets.values().map(|s| s.queue.len()).collect();
    // Stream bytes have no boundaries ("to b " + "again" read back as one run), datagrams and
    // seqpacket records keep theirs, the empty ones included: one/two/"" + back, rec1/""/rec3.
    assert_eq!(queued.iter().sum::<usize>(), 1 + 1 + 3 + 1 + 3, "{queued:?}");
    let stream: Vec<&[u8]> = img.sockets.values().flat_map(|s| &s.queue).map(|m| &m.data[..]).collect();
    assert!(stream.contains(&&b"to b again"[..]), "{stream:?}");
}

#[test]
fn a_listener_with_accepted_and_pending_connections_in_order() {
    let img = round_trip("listener");
    let pending: usize = img.sockets.values().map(|s| s.pending.len()).sum();
    assert_eq!(pending, 3);
}

#[test]
fn pending_data_before_accept_is_refused_with_the_reason() {
    let live = Live::start("listener-data");
    let (code, err, _) = live.dump();
    assert_eq!(code, Some(1));
    assert!(err.contains("sent before accept()") && err.contains("embryo"), "{err}");
    // The refusal names the mode that can read it.
    assert!(err.contains("`checkpoint dump --kill`"), "{err}");
}

#[test]
fn dgram_self_connect_and_fan_in() {
    let img = round_trip("dgram");
    assert!(img.sockets.values().any(|s| s.peer() == s.objref), "a self-connected socket");
    assert!(img.sockets.values().any(|s| s.queue.len() == 3));
}

#[test]
fn shutdown_modes() {
    let img = round_trip("shutdown");
    let mut modes: Vec<u8> = img.sockets.values().map(|s| s.common.shutdown).collect();
    modes.sort();
    assert_eq!(modes, vec![1, 1, 2, 2, 3, 3]);
}

#[test]
fn abstract_path_and_relative_names() {
    let img = round_trip("names");
    assert!(img.sockets.values().any(|s| s.unix.as_ref().is_some_and(|u| u.cwd.is_some())));
}

/// Names bound relative to a directory the process has since left: the dump finds where each
/// was bound from the socket's own file (`SIOCUNIXFILE`), not from the cwd, says nothing is
/// guessed, and the restored process is reachable at the absolute paths it was reachable at.
#[test]
fn relative_names_bound_in_a_directory_the_process_has_left_come_back_there() {
    let live = Live::start("relative-elsewhere");
    let (code, said, img) = live.dump();
    assert_eq!(code, Some(0), "dump: {said}");
    assert!(!said.contains("relative-cwd"), "the directory was not guessed: {said}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let mut cwds: Vec<(Vec<u8>, Vec<u8>, bool)> = r
        .image
        .sockets
        .values()
        .filter_map(|s| s.unix.as_ref())
        .filter_map(|u| match &u.laddr {
            resocket_core::image::UnixAddr::Path(p) => Some((
                p.to_vec(),
                u.cwd.as_deref().unwrap_or_default().to_vec(),
                u.has(resocket_core::wire::UNIX_LINKED),
            )),
            _ => None,
        })
        .collect();
    cwds.sort();
    let a = live.dir.join("a");
    let a = a.to_str().unwrap().as_bytes();
    assert_eq!(cwds, [(b"srv.sock".to_vec(), a.to_vec(), true), (b"sub/log.sock".to_vec(), a.to_vec(), true)]);
    let o = restore_run_live_py(&img, &live.dir, "relative-elsewhere-check", true);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!((o.status.code(), out.trim()), (Some(0), "ok"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_peer_outside_the_dumped_processes_is_marked_external_and_restored_broken() {
    let live = Live::start("external");
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("marked external"), "{err}");
    let bytes = std::fs::read(&img).unwrap();
    let report = resocket_core::load(&bytes);
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    let s = report.image.sockets.values().next().unwrap();
    assert!(s.unix.as_ref().unwrap().has(resocket_core::wire::UNIX_EXTERNAL_PEER));
    assert_eq!(&s.queue[0].data[..], b"from outside");
    let plan = resocket_core::plan::plan(&report.image).unwrap();
    assert!(plan.warnings.iter().any(|w| w.message.contains("as if the connection broke")), "{:?}", plan.warnings);
    // Restored broken: the data, then EOF (shutdown 3 instead of the recorded 0: said above).
    let rep = resocket_core::check::run_plan(&report.image, &plan);
    assert!(rep.failure.is_none());
    assert!(rep.differences.iter().all(|d| d.what == "shutdown"), "{:#?}", rep.differences);
}

#[test]
fn a_dgram_peer_outside_the_dumped_processes_is_recorded_by_name() {
    let live = Live::start("external-dgram");
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("is recorded: a restore connects it there again"), "{err}");
    let bytes = std::fs::read(&img).unwrap();
    let report = resocket_core::load(&bytes);
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    let s = report.image.sockets.values().find(|s| s.common.sock_type == resocket_core::wire::SOCK_DGRAM).unwrap();
    let u = s.unix.as_ref().unwrap();
    assert!(u.has(resocket_core::wire::UNIX_EXTERNAL_PEER));
    let want = live.dir.join("ext-dgram.sock");
    assert_eq!(u.raddr, resocket_core::image::UnixAddr::Path(want.as_os_str().as_encoded_bytes().into()));
}

#[test]
fn an_fd_in_flight() {
    let img = round_trip("rights");
    assert!(img.sockets.values().flat_map(|s| &s.queue).any(|m| !m.rights.is_empty()));
}

#[test]
fn a_second_dump_of_the_restored_process_equals_the_first() {
    for scenario in ["pairs", "listener", "dgram", "shutdown", "rights", "inet"] {
        second_dump_equals_first(scenario);
    }
}

/// `checkpoint dump --json` of a process that has one of each thing the dump warns about: every
/// dump code, each on the socket it is about (its objref in the image written).
#[test]
fn each_dump_warning_has_its_code_and_its_socket() {
    use resocket_core::warn::{Origin, WarnCode};
    let live = Live::start("inet-warnings");
    let img = live.dir.join("warnings.rsimg");
    let pid = live.child.id().to_string();
    let o = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg(env!("CARGO_BIN_EXE_checkpoint"))
        .args(["dump", "--json", "--pid", &pid, "-o"])
        .arg(&img)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let ws = v["warnings"].as_array().expect("warnings");
    let codes: Vec<&str> = ws.iter().filter_map(|w| w["code"].as_str()).collect();
    for c in WarnCode::ALL.iter().filter(|c| matches!(c.origin(), Origin::Dump | Origin::Both)) {
        assert!(codes.contains(&c.as_str()), "no {c} in {codes:?}\n{err}");
        // Human output: warning[CODE]: message.
        assert!(err.contains(&format!("checkpoint: warning[{c}]: ")), "{err}");
    }
    for w in ws {
        assert!(w["message"].as_str().is_some_and(|m| !m.is_empty()) && w["lost"].is_string(), "{w}");
        match w["code"].as_str() {
            // An fd the image does not hold: no socket to name.
            Some("family-left-out") => assert!(w["objref"].is_null(), "{w}"),
            _ => {
                let o = w["objref"].as_i64().unwrap_or_else(|| panic!("no objref: {w}"));
                assert!(r.image.sockets.contains_key(&(o as i32)), "{w}");
            }
        }
    }
    let on = |code: &str| {
        let o = ws.iter().find(|w| w["code"] == code).and_then(|w| w["objref"].as_i64()).unwrap() as i32;
        r.image.sockets.get(&o).unwrap()
    };
    assert!(on("accept-order-guessed").is_listener() && on("pending-external").is_listener());
    assert!(on("tcp-external-peer").is_tcp() && on("udp-external-peer").is_udp());
    assert!(on("relative-cwd-guessed").unix.as_ref().is_some_and(|u| u.cwd.is_some()));
}

/// A dump that leaves the process running still leaves one mark (the kernel's, not the
/// dump's choice): a peek that returns an empty datagram marks it peeked, and the process's
/// later peeks with SO_PEEK_OFF skip it. Without a dump its SO_PEEK_OFF peek returns the empty
/// datagram; after one, the next datagram; a plain recv reads the empty one either way. The
/// dump says so (`empty-message-peeked`, on that socket), and `--kill` (nobody runs on) does not.
#[test]
fn a_dump_that_peeks_an_empty_datagram_says_the_process_sees_it_marked() {
    use std::io::Write as _;
    let ask = |live: &mut Live| {
        live.child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
        let mut line = String::new();
        BufReader::new(live.child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        line.trim().to_string()
    };
    let mut undisturbed = Live::start("empty-peeked");
    assert_eq!(ask(&mut undisturbed), "peek=- recv=-");
    let mut dumped = Live::start("empty-peeked");
    let (code, err, img) = dumped.dump();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning[empty-message-peeked]") && err.contains("1 empty message"), "{err}");
    let r = resocket_core::load(&std::fs::read(img).unwrap()).image.sockets.len();
    assert_eq!(r, 2);
    assert_eq!(ask(&mut dumped), "peek=78 recv=-", "the kernel's mark, as the warning says");
    let killed = Live::start("empty-peeked");
    let (code, err, _) = killed.dump_kill();
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("empty-message-peeked"), "{err}");
}
