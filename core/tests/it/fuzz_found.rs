//! What the fuzz targets (`fuzz/fuzz_targets/`) found, each as the smallest scenario that shows
//! it; fuzz/README.md lists the runs that found them.

use resocket_core::check::run_plan;
use resocket_core::scenario::Scenario;
use resocket_core::sim::{Op, SockOpt};
use resocket_core::{load, plan};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// The plan of a valid scenario and its simulated run, which must reproduce the image.
fn plan_runs_clean(json: &str) -> plan::Plan {
    let img = Scenario::from_json(json).expect("scenario").to_image().expect("image");
    let r = load(&img);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let p = plan::plan(&r.image).expect("a plan");
    let run = run_plan(&r.image, &p);
    assert!(run.is_clean(), "{:?} {:#?}\n{:#?}", run.failure, run.differences, p.steps);
    p
}

fn passcred_step(p: &plan::Plan) -> usize {
    let at = p.steps.iter().position(|s| matches!(s.op, Op::SetSockOpt { opt: SockOpt::PassCred(true), .. }));
    at.expect("an SO_PASSCRED step")
}

/// `plan` target: an unnamed socket with SO_PASSCRED that has sent (or connected) got it set at
/// creation, so its first send autobound it (`@00000`) and the restore gave it a name the image
/// does not have. It is set after the sends now.
#[test]
fn an_unnamed_passcred_dgram_pair_end_that_sent_stays_unnamed() {
    let p = plan_runs_clean(
        r#"{"sockets": [
            {"name": "a", "type": "dgram", "pair": "b", "passcred": true, "queue": [{"data": "to a"}]},
            {"name": "b", "type": "dgram", "pair": "a", "queue": [{"data": "one"}, {"data": "two"}]}]}"#,
    );
    let last_send = p.steps.iter().rposition(|s| matches!(s.op, Op::Send { .. })).expect("sends");
    assert!(passcred_step(&p) > last_send, "{:#?}", p.steps);
}

/// `plan` target (2026-12-07): a socket whose recorded sndbuf is 0 (below the kernel's
/// minimum) kept the default 212,992 bytes: the planner skipped a 0, the checker reads it as
/// SOCK_MIN_SNDBUF (what SO_SNDBUFFORCE of 0 gives). Both read it the kernel's way now.
#[test]
fn a_recorded_sndbuf_below_the_minimum_comes_back_as_the_minimum() {
    let p = plan_runs_clean(r#"{"sockets": [{"name": "a", "type": "dgram", "sndbuf": 0, "rcvbuf": 0}]}"#);
    assert!(
        p.steps.iter().any(|s| matches!(s.op, Op::SetSockOpt { opt: SockOpt::SndBufForce(0), .. })),
        "{:#?}",
        p.steps
    );
}

#[test]
fn an_unnamed_passcred_stream_client_stays_unnamed() {
    plan_runs_clean(
        r#"{"sockets": [
            {"name": "l", "type": "stream", "addr": "@fz-l", "listen": 4},
            {"name": "c", "type": "stream", "peer": "a", "passcred": true},
            {"name": "a", "type": "stream", "peer": "c", "accepted_from": "l", "queue": [{"data": "hi"}]}]}"#,
    );
}

#[test]
fn a_named_passcred_socket_gets_it_at_creation() {
    let p = plan_runs_clean(
        r#"{"sockets": [{"name": "l", "type": "stream", "addr": "@fz-n", "listen": 4, "passcred": true}]}"#,
    );
    let bind = p.steps.iter().position(|s| matches!(s.op, Op::Bind { .. })).expect("a bind");
    assert!(passcred_step(&p) < bind, "{:#?}", p.steps);
}

/// `plan` target (an edit removed the client of an accepted connection): the accepted socket
/// whose peer had closed was accepted in PeerGone, after the listener's pending connection was
/// queued, so accept() returned the pending client's embryo and the two connections swapped.
/// It is accepted in Connect now, before the pending connections.
#[test]
fn an_accepted_socket_whose_peer_closed_is_accepted_before_the_pending_connections() {
    let p = plan_runs_clean(
        r#"{"sockets": [
            {"name": "L", "type": "stream", "addr": "/tmp/resocket/fz-gone.sock", "listen": 4,
             "pending": [{"client": "c1", "sent": [{"data": "early"}]}]},
            {"name": "a0", "type": "stream", "accepted_from": "L", "peer_gone": true, "queue": [{"data": "from c0"}]},
            {"name": "c1", "type": "stream"}]}"#,
    );
    let accept = p.steps.iter().position(|s| matches!(s.op, Op::Accept { .. })).expect("an accept");
    let connects: Vec<usize> =
        p.steps.iter().enumerate().filter(|(_, s)| matches!(s.op, Op::Connect { .. })).map(|(i, _)| i).collect();
    assert_eq!(connects.len(), 2, "{:#?}", p.steps);
    assert!(connects[0] < accept && accept < connects[1], "the stand-in's connect, accept, then c1's: {:#?}", p.steps);
}

#[test]
fn an_accepted_socket_whose_peer_closed_is_accepted_before_a_pending_closed_client() {
    plan_runs_clean(
        r#"{"sockets": [
            {"name": "L", "type": "seqpacket", "addr": "@fz-gone", "listen": 2, "pending": [{}, {"client": "c"}]},
            {"name": "a0", "type": "seqpacket", "accepted_from": "L", "peer_gone": true, "queue": [{"data": "m"}]},
            {"name": "a1", "type": "seqpacket", "accepted_from": "L", "peer_gone": true},
            {"name": "c", "type": "seqpacket"}]}"#,
    );
}

/// `plan` target: a TCP queue carrying SCM_RIGHTS loaded as valid, and the socket it carried
/// (held by no fd) was closed by the restore with no warning, counted as "in flight". Linux
/// passes files on AF_UNIX sockets only: the validator says `bad-rights`.
#[test]
fn scm_rights_on_an_inet_queue_is_bad_rights() {
    let sc = Scenario::from_json(
        r#"{"sockets": [
            {"name": "x", "type": "stream", "no_fd": true},
            {"name": "l", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 1},
            {"name": "c", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "a"},
            {"name": "a", "type": "stream", "family": "inet", "peer": "c", "accepted_from": "l",
             "queue": [{"data": "f", "rights": ["x"]}]}]}"#,
    )
    .expect("scenario");
    let img = sc.to_image().expect("image");
    let r = load(&img);
    let bad: Vec<_> = r.diagnostics.iter().filter(|d| d.code == resocket_core::diag::Code::BadRights).collect();
    assert_eq!(bad.len(), 1, "{:#?}", r.diagnostics);
    assert!(bad[0].message.contains("AF_UNIX sockets only"), "{}", bad[0]);
    // The same message on an AF_UNIX queue is fine.
    let unix = Scenario::from_json(
        r#"{"sockets": [{"name": "x", "type": "stream", "no_fd": true},
            {"name": "a", "type": "stream", "pair": "b", "queue": [{"data": "f", "rights": ["x"]}]},
            {"name": "b", "type": "stream", "pair": "a"}]}"#,
    )
    .expect("scenario");
    let r = load(&unix.to_image().expect("image")).diagnostics;
    assert!(!r.iter().any(|d| d.code == resocket_core::diag::Code::BadRights), "{r:#?}");
}

/// Found in review of the `text` target's surface: `repeat` asks for up to 256 MiB per message in
/// a few bytes of JSON, and nothing bounded the sum, so eight such messages made the writer
/// allocate 2 GiB. The total is bounded before anything is allocated.
#[test]
fn repeat_payloads_are_bounded_in_total_before_anything_is_allocated() {
    let msg = r#"{"repeat": 268435456}"#;
    let json = |n: usize| {
        let queue = vec![msg; n].join(",");
        format!(
            r#"{{"sockets": [{{"name": "a", "type": "stream", "pair": "b", "queue": [{queue}]}}, {{"name": "b", "type": "stream", "pair": "a"}}]}}"#
        )
    };
    let err = Scenario::from_json(&json(8)).expect("scenario").to_image().expect_err("2 GiB of repeat");
    assert!(err.to_string().contains("2147483648 bytes"), "{err}");
    let err = Scenario::from_json(&json(2)).expect("scenario").to_image().expect_err("512 MiB of repeat");
    assert!(err.to_string().contains("at most 268435456"), "{err}");
    // A small repeat still writes.
    let small = json(0).replace(r#""queue": []"#, r#""queue": [{"repeat": 3}]"#);
    assert!(Scenario::from_json(&small).expect("scenario").to_image().is_ok());
}

/// Accepted sockets whose peers have closed, of two listeners, interleaved in socket order:
/// each is accepted on its own listener (from a stand-in peer) and the restored state is the
/// image's, accepted before each listener's pending connection is queued (else accept() would
/// return the pending client's embryo). (The planner gathers them by listener in one pass.)
#[test]
fn accepted_sockets_whose_peers_closed_are_accepted_on_their_own_listeners() {
    let json = r#"{"sockets": [
            {"name": "L1", "type": "stream", "addr": "@gone-one", "listen": 4, "pending": [{"client": "p1"}]},
            {"name": "L2", "type": "stream", "addr": "@gone-two", "listen": 4, "pending": [{"client": "p2"}]},
            {"name": "a", "type": "stream", "accepted_from": "L1", "peer_gone": true, "queue": [{"data": "a"}]},
            {"name": "b", "type": "stream", "accepted_from": "L2", "peer_gone": true, "queue": [{"data": "b"}]},
            {"name": "c", "type": "stream", "accepted_from": "L1", "peer_gone": true},
            {"name": "d", "type": "stream", "accepted_from": "L2", "peer_gone": true, "queue": [{"data": "d"}]},
            {"name": "p1", "type": "stream"},
            {"name": "p2", "type": "stream"}]}"#;
    let p = plan_runs_clean(json);
    let img = Scenario::from_json(json).expect("scenario").to_image().expect("image");
    let r = load(&img);
    let name = |o: u32| r.image.sockets.get(&(o as i32)).and_then(|s| s.laddr()).map(|a| format!("{a:?}"));
    let accepts: Vec<(u32, u32)> = p
        .steps
        .iter()
        .filter_map(|s| if let Op::Accept { slot, new } = s.op { Some((slot, new)) } else { None })
        .collect();
    assert_eq!(accepts.len(), 4, "{:#?}", p.steps);
    for (l, a) in accepts {
        assert!(name(l).is_some() && name(l) == name(a), "#{a} accepted on #{l}: {:#?}", p.steps);
    }
}

/// `plan` target (2026-12-07, third run): a dgram socket marked ACCEPTED (a scenario's
/// `accepted_from` on a dgram socket) loaded as valid; the planner leaves accepted sockets to
/// connect/accept, which never happen for a dgram socket, so the socket was never created, with
/// no warning. Only a connected stream or seqpacket socket is accepted: the validator says so.
#[test]
fn only_a_connected_stream_or_seqpacket_socket_is_accepted() {
    use resocket_core::diag::Code;
    let codes = |json: &str| -> Vec<Code> {
        let img = Scenario::from_json(json).expect("scenario").to_image().expect("image");
        load(&img)
            .diagnostics
            .iter()
            .filter(|d| d.severity == resocket_core::diag::Severity::Error)
            .map(|d| d.code)
            .collect()
    };
    let dgram = codes(r#"{"sockets": [{"name": "a", "type": "dgram", "addr": "@z", "accepted_from": "a"}]}"#);
    assert!(dgram.contains(&Code::StateType), "{dgram:?}");
    let unconnected = codes(
        r#"{"sockets": [{"name": "l", "type": "stream", "addr": "@l", "listen": 1},
            {"name": "a", "type": "stream", "accepted_from": "l"}]}"#,
    );
    assert!(unconnected.contains(&Code::StateMismatch), "{unconnected:?}");
    let udp = codes(
        r#"{"sockets": [{"name": "l", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 1},
            {"name": "u", "type": "dgram", "family": "inet", "addr": "127.0.0.1:9000", "accepted_from": "l"}]}"#,
    );
    assert!(udp.contains(&Code::BadInetFlags), "{udp:?}");
    // What accept() really gives stays valid, as does one whose peer has closed.
    plan_runs_clean(
        r#"{"sockets": [{"name": "l", "type": "seqpacket", "addr": "@l", "listen": 1},
            {"name": "c", "type": "seqpacket", "peer": "a"},
            {"name": "a", "type": "seqpacket", "peer": "c", "accepted_from": "l"}]}"#,
    );
}

/// `plan` target (2026-12-07, fourth run): a UDP socket connected to its own address. The
/// planner (`image::inet::peers`) took it as its own peer and connected it; the checker's
/// `peer_of` skipped the socket itself, found no peer and expected it closed. One rule now: a
/// UDP socket connected to its own address is its own peer (Linux delivers its datagrams back
/// to it); the summary calls it connected to itself.
#[test]
fn a_udp_socket_connected_to_its_own_address_is_its_own_peer() {
    for json in [
        r#"{"sockets": [{"name": "u", "family": "inet", "type": "dgram", "addr": "127.0.0.1:9000", "peer": "u",
            "queue": [{"data": "to myself"}]}]}"#,
        r#"{"sockets": [{"name": "u", "family": "inet6", "type": "dgram", "addr": "[::ffff:127.0.0.1]:9000",
            "peer": "u", "shutdown": "rd"}]}"#,
    ] {
        let p = plan_runs_clean(json);
        assert!(p.steps.iter().any(|s| matches!(s.op, Op::Connect { .. })), "{:#?}", p.steps);
        let img = Scenario::from_json(json).expect("scenario").to_image().expect("image");
        let r = load(&img);
        let s = r.image.sockets.values().next().expect("the socket");
        assert_eq!(resocket_core::image::inet::peer_of(&r.image, s), Some(s.objref));
        assert_eq!(resocket_core::summary::roles(&r.image), [resocket_core::sock::Role::SelfConnected]);
    }
    // A TCP socket connected to itself (a simultaneous open) was "external-peer" in the summary.
    let tcp =
        r#"{"sockets": [{"name": "t", "family": "inet", "type": "stream", "addr": "127.0.0.1:9001", "peer": "t"}]}"#;
    plan_runs_clean(tcp);
    let img = Scenario::from_json(tcp).expect("scenario").to_image().expect("image");
    assert_eq!(resocket_core::summary::roles(&load(&img).image), [resocket_core::sock::Role::SelfConnected]);
}

/// `plan` target (2026-12-07, fifth run): a TCP socket "connected" from and to
/// `[::ffff:0.0.0.0]:8080` loaded as valid (the wildcard check did not see the v4-mapped
/// wildcard); the restore's connect() to the wildcard reaches loopback, so the socket came back
/// at 127.0.0.1, unwarned. Linux never leaves a connected socket on a wildcard address (connect()
/// takes the route's source; a connect to INADDR_ANY goes to loopback): the validator says so.
#[test]
fn a_connected_socket_on_a_wildcard_address_is_invalid() {
    use resocket_core::diag::Code;
    let codes = |json: &str| -> Vec<Code> {
        let img = Scenario::from_json(json).expect("scenario").to_image().expect("image");
        load(&img).diagnostics.iter().map(|d| d.code).collect()
    };
    let mapped = codes(
        r#"{"sockets": [{"name": "t", "family": "inet6", "type": "stream", "addr": "[::ffff:0.0.0.0]:8080",
            "remote": "[::ffff:0.0.0.0]:8080", "external_peer": true}]}"#,
    );
    assert!(mapped.contains(&Code::InetAddress) && mapped.contains(&Code::InetPeer), "{mapped:?}");
    let local = codes(
        r#"{"sockets": [{"name": "u", "family": "inet", "type": "dgram", "addr": "0.0.0.0:9000",
            "remote": "127.0.0.1:9001", "external_peer": true}]}"#,
    );
    assert!(local.contains(&Code::InetAddress), "{local:?}");
    // Bound to the wildcard and not connected stays valid.
    assert!(
        codes(r#"{"sockets": [{"name": "u", "family": "inet", "type": "dgram", "addr": "0.0.0.0:9000"}]}"#).is_empty()
    );
}

/// `plan` target (2026-12-07, sixth run, with out-of-band bytes in the generator): a stream
/// queue holding an empty skb (with SCM_RIGHTS) before the out-of-band byte loaded as valid. A
/// stream send of 0 bytes queues nothing, not even its fds, so the restored queue lost the skb
/// and the mark moved to skb 0, unwarned; without the mark the queue already differed. The
/// validator refuses an empty AF_UNIX stream skb (`empty-stream-skb`); seqpacket and dgram
/// records may be empty.
#[test]
fn an_empty_skb_in_a_stream_queue_is_invalid() {
    use resocket_core::diag::Code;
    let codes = |ty: &str| -> Vec<Code> {
        let json = format!(
            r#"{{"sockets": [{{"name": "a", "type": "{ty}", "pair": "b", "queue": [{{"data": ""}}, {{"data": "x"}}]}},
                {{"name": "b", "type": "{ty}", "pair": "a"}}]}}"#
        );
        let img = Scenario::from_json(&json).expect("scenario").to_image().expect("image");
        load(&img).diagnostics.iter().map(|d| d.code).collect()
    };
    assert_eq!(codes("stream"), [Code::EmptyStreamSkb]);
    assert!(codes("seqpacket").is_empty() && codes("dgram").is_empty());
}

/// `plan` target (2026-12-07, seventh session, ninth finding): a stream socket whose peer had
/// closed held 211,367-byte skbs; the simulator cut its stand-in peer's sends at sndbuf/2 - 64
/// and the checker compared skb by skb, so the restore "differed" unwarned. The kernel cuts a
/// stream send at `UNIX_STREAM_SKB_MAX` too (checked on the kernel:
/// `differential::regressions::a_big_stream_send_is_split_at_the_kernels_skb_size`), and the
/// checker compares a stream queue as reads see it (skbs joined except after fds and at the
/// out-of-band byte).
#[test]
fn a_big_stream_message_of_a_closed_peer_is_restored_equal() {
    let p = plan_runs_clean(
        r#"{"sockets": [{"name": "a", "type": "stream", "peer_gone": true, "shutdown": "rdwr",
            "queue": [{"repeat": 211367}, {"repeat": 211367}]}]}"#,
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

/// `plan` target (2026-12-07): the scenario gave a pending AF_UNIX connection's embryo its
/// listener's buffers and locks, which the kernel never does (`unix_stream_connect` makes the
/// embryo with `unix_create1`: the host's default, no locks), so the planned restore "differed"
/// on its sndbuf. The embryo gets the defaults now; a TCP child still copies its listener's.
#[test]
fn a_pending_unix_connection_has_the_default_buffers_not_its_listeners() {
    let json = r#"{"sockets": [
        {"name": "L", "type": "stream", "addr": "@fz-pl", "listen": 1, "sndbuf": 4096, "sndbuf_lock": true,
         "pending": [{"client": "c"}]},
        {"name": "c", "type": "stream"}]}"#;
    let img = Scenario::from_json(json).unwrap().to_image().unwrap();
    let r = load(&img);
    let l = r.image.sockets.values().find(|s| s.is_listener()).unwrap();
    let e = r.image.sockets.get(&l.pending[0].embryo).unwrap();
    assert_eq!((l.common.sndbuf, l.common.userlocks), (2048, 1));
    assert_eq!((e.common.sndbuf, e.common.userlocks), (106_496, 0));
    let p = plan_runs_clean(json);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

/// `plan` target (2026-12-07, thirteenth run, 1,149 CPU-s): a TCP connection over loopback one
/// end of which no process holds. The restore closes that end (`closed-at-end` on it) and the
/// other end sees the FIN (CLOSE_WAIT where the image has ESTABLISHED). The warning was there,
/// but named only the closed socket, and the fuzz target matched a difference to a warning on the
/// peer for AF_UNIX only. The warning now names the peer that sees the close (AF_UNIX by record,
/// INET by address pair), and the target uses the same peer rule for both.
#[test]
fn a_tcp_end_no_process_holds_is_closed_and_its_warning_names_the_peer_that_sees_it() {
    use resocket_core::warn::WarnCode;
    for (family, a, b) in [("inet", "127.0.0.1:40002", "127.0.0.1:8080"), ("unix", "", "")] {
        let addr = |x: &str| if x.is_empty() { String::new() } else { format!(r#", "addr": "{x}""#) };
        let json = format!(
            r#"{{"sockets": [{{"name": "held", "family": "{family}", "type": "stream"{}, "peer": "gone"}},
                {{"name": "gone", "family": "{family}", "type": "stream"{}, "peer": "held", "no_fd": true}}]}}"#,
            addr(a),
            addr(b)
        );
        let img = Scenario::from_json(&json).expect("scenario").to_image().expect("image");
        let r = load(&img);
        assert!(r.is_valid(), "{family}: {:#?}", r.diagnostics);
        let p = plan::plan(&r.image).expect("a plan");
        // Objrefs follow the scenario's order: `held`, then `gone`.
        let objs: Vec<i32> = r.image.sockets.keys().collect();
        let (held, gone) = (objs[0], objs[1]);
        let w: Vec<_> = p.warnings.iter().filter(|w| w.code == WarnCode::ClosedAtEnd).collect();
        assert_eq!(w.len(), 1, "{family}: {:?}", p.warnings);
        assert_eq!(w[0].objref, Some(gone));
        assert!(w[0].message.contains(&format!("its peer #{held} sees it close")), "{family}: {}", w[0].message);
        let run = run_plan(&r.image, &p);
        assert!(run.failure.is_none(), "{family}: {:?}", run.failure);
        assert!(run.differences.iter().all(|d| d.objref == held || d.objref == gone), "{:?}", run.differences);
    }
}

/// `plan` target (2026-12-08, the fourteenth finding, `fuzz/findings/plan-14-stream-rights-skb-split`):
/// a stream message carrying fds, longer than one skb (at most 36,544 bytes, less with a small
/// sndbuf), was sent again in one send. Its fds rode the send's first skb, and a read stops
/// after the skb with fds, so the restored queue read in two parts where the image's reads
/// whole with the fds last. The bytes before the last skb's worth go in a send of their own
/// now — from a closed peer's stand-in, from a live peer, and before accept() from a client.
#[test]
fn a_stream_message_with_fds_longer_than_one_skb_reads_back_whole() {
    let queue = r#"[{"repeat": 187893}, {"repeat": 48918, "rights": ["c"]}]"#;
    let carried = r#"{"name": "c", "type": "dgram", "no_fd": true}"#;
    for json in [
        format!(
            r#"{{"sockets": [{{"name": "a", "type": "stream", "peer_gone": true, "shutdown": "rdwr", "queue": {queue}}}, {carried}]}}"#
        ),
        format!(
            r#"{{"sockets": [{{"name": "a", "type": "stream", "pair": "b", "queue": {}}}, {{"name": "b", "type": "stream", "pair": "a"}}, {carried}]}}"#,
            queue.replace("187893}", "187893, \"from\": \"b\"}").replace("\"rights\"", "\"from\": \"b\", \"rights\"")
        ),
        format!(
            r#"{{"sockets": [{{"name": "L", "type": "stream", "addr": "/tmp/l.sock", "listen": 1, "pending": [{{"client": "k", "sent": {queue}}}]}}, {{"name": "k", "type": "stream"}}, {carried}]}}"#
        ),
    ] {
        let p = plan_runs_clean(&json);
        let split =
            p.steps.iter().filter(|s| matches!(&s.op, Op::Send { data, .. } if data.0.len() == 48918 - 36544)).count();
        assert_eq!(split, 1, "{:#?}", p.steps);
    }
}
