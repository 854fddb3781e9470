//! `checkpoint dump --kill`: what pending clients sent before accept(), closed clients and senders, processes resumed or killed.

use super::*;

/// Exit codes tell a refusal (1: the state cannot be recorded, above) from a system failure
/// (2: here a process that is gone; dumping again may work, or the pid is wrong).
#[test]
fn a_dump_of_a_process_that_is_gone_is_a_system_failure_exit_2() {
    let mut child = Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    let pid = child.id().to_string();
    let img = std::env::temp_dir().join(format!("resocket-gone-{pid}.rsimg"));
    let o =
        Command::new(env!("CARGO_BIN_EXE_checkpoint")).args(["dump", "--pid", &pid, "-o"]).arg(&img).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&pid), "names the process: {err}");
    assert!(!img.exists(), "no image is written");
}

/// `checkpoint dump --kill` that is itself killed (SIGKILL) mid-dump, held at a failpoint: its
/// guard process resumes the dumped process when nothing was accepted yet, and kills it once
/// its pending connections were accepted. Before the guard, it stayed stopped either way.
#[test]
fn a_kill_dump_that_is_killed_mid_dump_leaves_no_process_stopped() {
    use std::os::unix::process::ExitStatusExt;
    for (point, killed) in [("stopped", false), ("accepted", true)] {
        let mut live = Live::start("early-stream");
        let pid = live.child.id();
        let mut dump = Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .arg(env!("CARGO_BIN_EXE_checkpoint"))
            .args(["dump", "--kill", "--pid", &pid.to_string(), "-o"])
            .arg(live.dir.join("never.rsimg"))
            .env("RESOCKET_FAILPOINT", point)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut said = String::new();
        let mut err = BufReader::new(dump.stderr.take().unwrap());
        while !said.contains("failpoint") {
            assert!(err.read_line(&mut said).unwrap() > 0, "{point}: the dump ended: {said}");
        }
        assert_eq!(proc_state(pid), Some(b'T'), "{point}: stopped while the dump runs");
        dump.kill().unwrap();
        dump.wait().unwrap();
        if killed {
            let status = live.child.wait().unwrap();
            assert_eq!(status.signal(), Some(9), "{point}: the guard killed it: {status:?}");
        } else {
            let resumed = (0..500).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(10));
                proc_state(pid).is_some_and(|s| s != b'T')
            });
            assert!(resumed, "{point}: still stopped ({:?})", proc_state(pid).map(char::from));
            // Untouched: a dump of it still sees the pending connections (and refuses their data).
            let (code, said, _) = live.dump();
            assert_ne!(code, Some(0), "{point}: {said}");
            assert!(said.contains("--kill"), "{point}: {said}");
        }
    }
}

#[test]
fn kill_dump_captures_what_stream_clients_sent_before_accept() {
    let (img, said) = kill_dump_round_trip("early-stream");
    assert_eq!(
        pending_of(&img),
        [(1, true, b"early more".to_vec(), 0), (1, true, Vec::new(), 0), (1, true, b"with fdafter".to_vec(), 1)],
        "{said}"
    );
    assert!(said.contains("were killed"), "{said}");
}

#[test]
fn kill_dump_captures_seqpacket_records_sent_before_accept() {
    let (img, said) = kill_dump_round_trip("early-seqpacket");
    let l = img.sockets.values().find(|s| !s.pending.is_empty()).unwrap();
    let records: Vec<Vec<Vec<u8>>> = l
        .pending
        .iter()
        .map(|p| img.sockets.get(&p.embryo).unwrap().queue.iter().map(|m| m.data.to_vec()).collect())
        .collect();
    let want: Vec<Vec<Vec<u8>>> = vec![
        vec![b"early".to_vec(), b" more".to_vec()],
        vec![],
        vec![b"with fd".to_vec(), Vec::new(), b"after".to_vec()],
    ];
    assert_eq!(records, want, "{said}");
}

#[test]
fn kill_dump_of_a_listener_among_many_sockets() {
    let (img, said) = kill_dump_round_trip("early-mixed");
    let p = pending_of(&img);
    assert_eq!(p.len(), 7, "{said}");
    assert_eq!(p.iter().filter(|c| !c.2.is_empty()).count(), 4, "{p:?}");
}

#[test]
fn kill_dump_of_a_listener_that_is_only_in_flight() {
    let (img, said) = kill_dump_round_trip("early-in-flight");
    assert_eq!(
        pending_of(&img),
        [(1, true, b"first client".to_vec(), 0), (1, true, b"second client".to_vec(), 1)],
        "{said}"
    );
    let l = img.sockets.values().find(|s| !s.pending.is_empty()).unwrap();
    assert!(!img
        .tables
        .iter()
        .flat_map(|t| &t.fds)
        .any(|f| img.files.get(&f.file).unwrap().repr.sock_objref == l.objref));
}

/// A pending connection whose client has closed is a closed client, not an external one: the
/// plain dump refuses it naming `--kill` (what it sent cannot be peeked), `--kill` records it as
/// pending with client 0 and what it sent (an fd with it), and the restore gives it back from a
/// temporary client that sends and closes: accept returns the data, then EOF, in its place
/// between the live clients.
#[test]
fn a_pending_connection_whose_client_closed_is_recorded_and_restored() {
    let live = Live::start("early-closed");
    let (code, err, _) = live.dump();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("client has closed") && err.contains("`checkpoint dump --kill`"), "{err}");
    assert!(!err.contains("outside the dumped processes"), "{err}");
    drop(live);
    let (img, said) = kill_dump_round_trip("early-closed");
    assert_eq!(
        pending_of(&img),
        [
            (1, true, Vec::new(), 0),
            (1, false, b"last words".to_vec(), 1),
            (1, false, Vec::new(), 0),
            (1, true, b"still here".to_vec(), 0),
            (5, false, b"record 1record 2".to_vec(), 0)
        ],
        "{said}"
    );
    let plan = resocket_core::plan::plan(&img).unwrap();
    assert_eq!(plan.steps.iter().filter(|s| s.why.contains("a temporary client stands in")).count(), 3);
    // The seqpacket one (its records checked by live.py): the warning that empty records at the
    // end of what a closed client sent cannot be told from its end.
    assert!(said.contains("warning[seqpacket-empty-tail]") && said.contains("its client closed"), "{said}");
}

/// A `--kill` dump that fails before accepting anything (here: a pending client in a process
/// that is not dumped) resumes the processes instead of killing them, and says so.
#[test]
fn a_kill_dump_refused_before_accepting_resumes_the_processes() {
    let mut live = Live::start("pending-outside");
    let (code, err, _) = live.dump_kill();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("outside the dumped processes") && err.contains("were resumed"), "{err}");
    assert!(live.child.try_wait().unwrap().is_none(), "not killed");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", live.child.id())).unwrap();
    let state = stat.rsplit_once(") ").unwrap().1.chars().next();
    assert!(matches!(state, Some('S' | 'R')), "running again: {stat}");
}

/// Datagrams queued at an unnamed socket from a sender that has since closed (one end of a dgram
/// socketpair whose other end sent and closed): dumped as a dgram socket whose peer is gone,
/// restored as one end of a socketpair whose other end sends them and closes, and the restored
/// process sees what the dumped one would have: the datagrams (the empty one too), getpeername
/// answering until the first send, which is ECONNREFUSED and purges the queue, then ENOTCONN
/// (live.py check; one socket read first, one sent on first). Also with `--kill`.
#[test]
fn datagrams_from_a_closed_socketpair_end_are_restored_from_a_stand_in_that_closes() {
    let live = Live::start("orphan-dgram");
    let (code, said, img) = live.dump();
    assert_eq!(code, Some(0), "{said}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    for s in r.image.sockets.values() {
        assert!(s.unix.as_ref().unwrap().has(resocket_core::wire::UNIX_PEER_GONE), "#{}", s.objref);
        assert_eq!(s.queue.iter().map(|m| (m.sender, m.data.len())).collect::<Vec<_>>(), [(0, 10), (0, 0), (0, 12)]);
    }
    let (code, verified) = restore_verify(&img);
    assert_eq!(code, Some(0), "{verified}");
    let o = restore_run_live_py(&img, &live.dir, "check", false);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!((o.status.code(), out.trim()), (Some(0), "ok"), "{}", String::from_utf8_lossy(&o.stderr));
    drop(live);
    kill_dump_round_trip("orphan-dgram");
}

/// A named dgram socket that received from a live socket, then connected to one that sent to
/// it and closed: dumped as PEER_GONE with both datagrams; restored by refilling the live
/// sender's, then connecting it to a stand-in that sends the other and closes; the restored
/// process reads both, then its first send is ECONNREFUSED, the next ENOTCONN.
#[test]
fn a_named_dgram_socket_whose_connected_peer_closed_after_others_sent_to_it() {
    let (img, said) = kill_dump_round_trip("orphan-named");
    let b = img.sockets.values().find(|s| s.queue.len() == 2).expect("the receiver");
    assert!(b.unix.as_ref().unwrap().has(resocket_core::wire::UNIX_PEER_GONE), "{said}");
    assert_eq!(b.queue.iter().map(|m| m.sender == 0).collect::<Vec<_>>(), [false, true]);
}

/// `--kill` both ways: a process restored from a `--kill` dump, dumped again with `--kill`,
/// gives the same image up to renumbering: the same pending connections in the same order with
/// the same bytes, records and fds in flight, closed clients included.
#[test]
fn a_second_kill_dump_of_the_restored_process_equals_the_first() {
    for scenario in
        ["early-stream", "early-seqpacket", "early-in-flight", "early-closed", "orphan-dgram", "orphan-named"]
    {
        second_dump_equals_first_with(scenario, LO_UP, &["--kill"]);
    }
}

/// `--kill` reads what TCP clients sent before accept() too: the TCP listener is accepted on
/// through its duplicate like a unix one, so its pending connections are recorded in accept
/// order (the connect order, not the clients' creation order the plain dump has to guess) with
/// their bytes, and the restored process accepts them in that order with those bytes.
#[test]
fn a_kill_dump_reads_what_tcp_clients_sent_before_accept_in_accept_order() {
    let (img, said) = kill_dump_round_trip("inet-early-order");
    assert!(!said.contains("accept-order-guessed"), "{said}");
    let mut tcp = Vec::new();
    for l in img.sockets.values().filter(|l| l.common.family == resocket_core::wire::AF_INET) {
        for p in &l.pending {
            let e = img.sockets.get(&p.embryo).unwrap();
            tcp.push(e.queue.iter().flat_map(|m| m.data.to_vec()).collect::<Vec<u8>>());
        }
    }
    assert_eq!(tcp, [b"created third, connected first".to_vec(), Vec::new(), b"created second".to_vec()]);
    let unix: Vec<_> = pending_of(&img).into_iter().filter(|(_, _, data, _)| data == b"unix early").collect();
    assert_eq!(unix.len(), 1, "{:?}", pending_of(&img));
    // A plain dump still refuses the TCP data (it waits on the embryo), naming the way that reads it.
    let live = Live::start("inet-early-data");
    let (code, err, _) = live.dump();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("holds 9 bytes sent before accept()"), "{err}");
}
