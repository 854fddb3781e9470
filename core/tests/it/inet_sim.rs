//! One test per INET rule the simulator (`core/src/sim/inet/`) reproduces. The same rules
//! are checked against the real kernel by `restore/tests/it/differential_inet.rs`.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use resocket_core::sim::*;

fn ok(k: &mut Kernel, op: Op) -> Outcome {
    let out = k.apply(&op);
    assert!(out.is_ok(), "{op:?} gave {out:?}");
    out
}

fn err(k: &mut Kernel, op: Op, e: Errno) {
    assert_eq!(k.apply(&op), Outcome::err(e), "{op:?}");
}

fn a(s: &str) -> SockAddr {
    SockAddr::Inet(s.parse().expect("address"))
}

fn tcp(k: &mut Kernel, slot: Slot, family: InetFamily) {
    ok(k, Op::SocketInet { slot, family, ty: SockType::Stream });
}

fn udp(k: &mut Kernel, slot: Slot, family: InetFamily) {
    ok(k, Op::SocketInet { slot, family, ty: SockType::Dgram });
}

fn listener(k: &mut Kernel, slot: Slot, at: &str, backlog: i32) {
    let fam = if at.starts_with('[') { InetFamily::Inet6 } else { InetFamily::Inet };
    tcp(k, slot, fam);
    ok(k, Op::Bind { slot, addr: a(at) });
    ok(k, Op::Listen { slot, backlog });
}

fn send(slot: Slot, data: &[u8], to: Option<&str>) -> Op {
    Op::Send { slot, to: to.map(a), data: Payload(data.to_vec()), rights: vec![] }
}

fn read(k: &mut Kernel, slot: Slot, len: u32) -> (Vec<u8>, bool) {
    match k.apply(&Op::Recv { slot, len, peek: false }) {
        Outcome::Read { data, truncated, .. } => (data.0, truncated),
        o => panic!("recv gave {o:?}"),
    }
}

const V4: InetFamily = InetFamily::Inet;
const V6: InetFamily = InetFamily::Inet6;

#[test]
fn tcp_accept_queue_holds_backlog_plus_one() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 1);
    for c in 2..4 {
        tcp(&mut k, c, V4);
        ok(&mut k, Op::Connect { slot: c, addr: a("127.0.0.1:80") });
    }
    tcp(&mut k, 4, V4);
    let out = k.apply(&Op::Connect { slot: 4, addr: a("127.0.0.1:80") });
    assert_eq!(out, Outcome::WouldBlock { block: Block::BacklogFull { pending: 2, backlog: 1 } });
    ok(&mut k, Op::Accept { slot: 1, new: 10 });
    ok(&mut k, Op::Connect { slot: 4, addr: a("127.0.0.1:80") });
}

#[test]
fn tcp_connect_to_a_full_listener_would_block_even_when_non_blocking() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 0);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    tcp(&mut k, 3, V4);
    ok(&mut k, Op::SetNonblock { slot: 3, on: true });
    assert!(matches!(
        k.apply(&Op::Connect { slot: 3, addr: a("127.0.0.1:80") }),
        Outcome::WouldBlock { block: Block::BacklogFull { .. } }
    ));
    // The SYN went out: whether the socket can listen now differs between Linux builds (live:
    // EINVAL on 6.18.44 of 2026-12, 0 where the model was first checked).
    assert_eq!(k.apply(&Op::Listen { slot: 3, backlog: 1 }), resocket_core::sim::inet::listen_after_a_connection());
    // A socket whose connect never sent a SYN listens on every build.
    tcp(&mut k, 4, V4);
    err(&mut k, Op::Connect { slot: 4, addr: a("[::1]:80") }, Errno::EAFNOSUPPORT);
    ok(&mut k, Op::Listen { slot: 4, backlog: 1 });
}

/// The answers Linux may give, with the model following the first.
fn either(k: &mut Kernel, op: Op, answers: &[Outcome]) {
    match k.apply(&op) {
        Outcome::WouldBlock { block: Block::Undetermined { answers: got, .. } } => assert_eq!(got, answers, "{op:?}"),
        other => panic!("{op:?} gave {other:?}, not undetermined"),
    }
}

#[test]
fn listen_after_any_connection_is_build_dependent_and_the_port_rules_still_come_first() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 4);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    ok(&mut k, Op::Accept { slot: 1, new: 3 });
    for slot in [2, 3] {
        // A connected socket: EINVAL everywhere (SS_CONNECTED).
        err(&mut k, Op::Listen { slot, backlog: 1 }, Errno::EINVAL);
        ok(&mut k, Op::Connect { slot, addr: SockAddr::Unspec });
        either(&mut k, Op::Listen { slot, backlog: 1 }, &[Outcome::err(Errno::EINVAL), Outcome::ok(0)]);
    }
    // A refused connect, blocking: the same.
    tcp(&mut k, 4, V4);
    err(&mut k, Op::Connect { slot: 4, addr: a("127.0.0.1:81") }, Errno::ECONNREFUSED);
    either(&mut k, Op::Listen { slot: 4, backlog: 1 }, &[Outcome::err(Errno::EINVAL), Outcome::ok(0)]);
}

#[test]
fn tcp_connect_without_a_listener_is_refused() {
    let mut k = Kernel::new();
    tcp(&mut k, 1, V4);
    err(&mut k, Op::Connect { slot: 1, addr: a("127.0.0.1:81") }, Errno::ECONNREFUSED);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::SetNonblock { slot: 2, on: true });
    // Non-blocking: whether the RST is seen before connect() returns is softirq timing.
    either(
        &mut k,
        Op::Connect { slot: 2, addr: a("127.0.0.1:81") },
        &[Outcome::err(Errno::EINPROGRESS), Outcome::err(Errno::ECONNREFUSED)],
    );
    // The model follows the first answer: the error is pending.
    err(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:81") }, Errno::ECONNREFUSED);
}

#[test]
fn tcp_non_blocking_connect_answers_einprogress_then_zero_then_eisconn() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 4);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::SetNonblock { slot: 2, on: true });
    err(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") }, Errno::EINPROGRESS);
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    err(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") }, Errno::EISCONN);
}

#[test]
fn tcp_stream_has_no_boundaries_and_data_sent_before_accept_waits_in_the_child() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 4);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    ok(&mut k, send(2, b"GET ", None));
    ok(&mut k, send(2, b"/", None));
    ok(&mut k, Op::Accept { slot: 1, new: 3 });
    assert_eq!(read(&mut k, 3, 100).0, b"GET /");
}

#[test]
fn bind_the_same_address_twice_is_eaddrinuse() {
    let mut k = Kernel::new();
    tcp(&mut k, 1, V4);
    ok(&mut k, Op::Bind { slot: 1, addr: a("127.0.0.1:80") });
    tcp(&mut k, 2, V4);
    err(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:80") }, Errno::EADDRINUSE);
    err(&mut k, Op::Bind { slot: 2, addr: a("0.0.0.0:80") }, Errno::EADDRINUSE);
    ok(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.2:80") });
    err(&mut k, Op::Bind { slot: 1, addr: a("127.0.0.1:81") }, Errno::EINVAL); // already bound
}

#[test]
fn bind_needs_a_local_address() {
    let mut k = Kernel::new();
    tcp(&mut k, 1, V4);
    err(&mut k, Op::Bind { slot: 1, addr: a("10.1.1.1:80") }, Errno::EADDRNOTAVAIL);
    tcp(&mut k, 2, V6);
    err(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:80") }, Errno::EINVAL); // a sockaddr_in is short
    tcp(&mut k, 3, V4);
    err(&mut k, Op::Bind { slot: 3, addr: a("[::1]:80") }, Errno::EAFNOSUPPORT);
}

#[test]
fn so_reuseaddr_shares_a_port_until_a_holder_listens() {
    let mut k = Kernel::new();
    for s in [1, 2] {
        tcp(&mut k, s, V4);
        ok(&mut k, Op::SetSockOpt { slot: s, opt: SockOpt::ReuseAddr(true) });
        ok(&mut k, Op::Bind { slot: s, addr: a("127.0.0.1:80") });
    }
    ok(&mut k, Op::Listen { slot: 2, backlog: 1 });
    err(&mut k, Op::Listen { slot: 1, backlog: 1 }, Errno::EADDRINUSE);
    tcp(&mut k, 3, V4);
    ok(&mut k, Op::SetSockOpt { slot: 3, opt: SockOpt::ReuseAddr(true) });
    err(&mut k, Op::Bind { slot: 3, addr: a("127.0.0.1:80") }, Errno::EADDRINUSE);
}

#[test]
fn so_reuseport_lets_listeners_share_and_the_kernel_then_picks_by_hash() {
    let mut k = Kernel::new();
    for s in [1, 2] {
        tcp(&mut k, s, V4);
        ok(&mut k, Op::SetSockOpt { slot: s, opt: SockOpt::ReusePort(true) });
        ok(&mut k, Op::Bind { slot: s, addr: a("127.0.0.1:80") });
        ok(&mut k, Op::Listen { slot: s, backlog: 1 });
    }
    tcp(&mut k, 3, V4);
    assert!(matches!(
        k.apply(&Op::Connect { slot: 3, addr: a("127.0.0.1:80") }),
        Outcome::WouldBlock { block: Block::Undetermined { .. } }
    ));
}

#[test]
fn a_dual_stack_wildcard_takes_ipv4_and_ipv6_only_leaves_it_free() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "[::]:80", 4);
    tcp(&mut k, 2, V4);
    err(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:80") }, Errno::EADDRINUSE);
    tcp(&mut k, 3, V4);
    ok(&mut k, Op::Connect { slot: 3, addr: a("127.0.0.1:80") }); // accepted on ::ffff:127.0.0.1
    tcp(&mut k, 4, V6);
    ok(&mut k, Op::SetSockOpt { slot: 4, opt: SockOpt::V6Only(true) });
    ok(&mut k, Op::Bind { slot: 4, addr: a("[::]:81") });
    ok(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:81") });
}

#[test]
fn ipv6_v6only_refuses_v4_mapped_addresses_and_bound_sockets() {
    let mut k = Kernel::new();
    tcp(&mut k, 1, V6);
    ok(&mut k, Op::SetSockOpt { slot: 1, opt: SockOpt::V6Only(true) });
    err(&mut k, Op::Bind { slot: 1, addr: a("[::ffff:127.0.0.1]:80") }, Errno::EINVAL);
    err(&mut k, Op::Connect { slot: 1, addr: a("[::ffff:127.0.0.1]:80") }, Errno::ENETUNREACH);
    ok(&mut k, Op::Bind { slot: 1, addr: a("[::1]:80") });
    err(&mut k, Op::SetSockOpt { slot: 1, opt: SockOpt::V6Only(false) }, Errno::EINVAL);
    tcp(&mut k, 2, V4);
    err(&mut k, Op::SetSockOpt { slot: 2, opt: SockOpt::V6Only(true) }, Errno::ENOPROTOOPT);
}

#[test]
fn ephemeral_ports_count_up_from_32768() {
    let mut k = Kernel::new();
    tcp(&mut k, 1, V4);
    ok(&mut k, Op::Listen { slot: 1, backlog: 1 }); // listen() on an unbound socket picks a port
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:0") });
    let port = |k: &Kernel, s| k.inet_sock(s).and_then(|i| i.local).map(|l| l.port());
    assert_eq!(port(&k, 1), Some(32768));
    assert_eq!(port(&k, 2), Some(32769));
}

#[test]
fn udp_keeps_message_boundaries_and_truncates() {
    let mut k = Kernel::new();
    udp(&mut k, 1, V4);
    ok(&mut k, Op::Bind { slot: 1, addr: a("127.0.0.1:53") });
    udp(&mut k, 2, V4);
    ok(&mut k, send(2, b"first", Some("127.0.0.1:53")));
    ok(&mut k, send(2, b"", Some("127.0.0.1:53")));
    ok(&mut k, send(2, b"x", Some("127.0.0.1:53")));
    assert_eq!(read(&mut k, 1, 3), (b"fir".to_vec(), true));
    assert_eq!(read(&mut k, 1, 3), (Vec::new(), false));
    assert_eq!(read(&mut k, 1, 3), (b"x".to_vec(), false));
}

#[test]
fn udp_port_unreachable_is_an_error_for_a_connected_sender_only() {
    let mut k = Kernel::new();
    udp(&mut k, 1, V4);
    ok(&mut k, Op::Connect { slot: 1, addr: a("127.0.0.1:9") });
    assert_eq!(k.apply(&send(1, b"a", None)), Outcome::ok(1));
    err(&mut k, send(1, b"a", None), Errno::ECONNREFUSED);
    udp(&mut k, 2, V4);
    ok(&mut k, send(2, b"a", Some("127.0.0.1:9")));
    ok(&mut k, send(2, b"a", Some("127.0.0.1:9")));
    err(&mut k, send(2, b"a", None), Errno::EDESTADDRREQ);
}

#[test]
fn a_connected_udp_socket_takes_datagrams_from_its_peer_only() {
    let mut k = Kernel::new();
    udp(&mut k, 1, V4);
    ok(&mut k, Op::Bind { slot: 1, addr: a("127.0.0.1:5000") });
    ok(&mut k, Op::Connect { slot: 1, addr: a("127.0.0.1:5001") });
    udp(&mut k, 2, V4);
    ok(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:5002") });
    ok(&mut k, send(2, b"stranger", Some("127.0.0.1:5000")));
    ok(&mut k, Op::SetNonblock { slot: 1, on: true });
    err(&mut k, Op::Recv { slot: 1, len: 10, peek: false }, Errno::EAGAIN);
}

#[test]
fn tcp_close_with_unread_data_resets_the_peer() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 4);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    ok(&mut k, Op::Accept { slot: 1, new: 3 });
    ok(&mut k, send(2, b"unread", None));
    ok(&mut k, Op::Close { slot: 3 });
    err(&mut k, Op::Recv { slot: 2, len: 1, peek: false }, Errno::ECONNRESET);
    assert_eq!(read(&mut k, 2, 1).0, b"");
    err(&mut k, send(2, b"x", None), Errno::EPIPE);
}

#[test]
fn tcp_close_sends_a_fin_and_the_closer_keeps_the_port_in_time_wait() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 4);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:4000") });
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    ok(&mut k, Op::Accept { slot: 1, new: 3 });
    ok(&mut k, Op::Close { slot: 2 });
    assert_eq!(read(&mut k, 3, 1).0, b""); // EOF
    ok(&mut k, Op::Close { slot: 3 });
    tcp(&mut k, 4, V4);
    err(&mut k, Op::Bind { slot: 4, addr: a("127.0.0.1:4000") }, Errno::EADDRINUSE);
    ok(&mut k, Op::SetSockOpt { slot: 4, opt: SockOpt::ReuseAddr(true) });
    err(&mut k, Op::Bind { slot: 4, addr: a("127.0.0.1:4000") }, Errno::EADDRINUSE);
    // the TIME_WAIT lacks it
}

#[test]
fn closing_a_listener_resets_its_pending_clients() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 4);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    ok(&mut k, Op::Close { slot: 1 });
    err(&mut k, send(2, b"x", None), Errno::ECONNRESET);
}

#[test]
fn scm_rights_do_not_exist_for_inet() {
    let mut k = Kernel::new();
    udp(&mut k, 1, V4);
    assert_eq!(
        k.apply(&Op::Send { slot: 1, to: Some(a("127.0.0.1:9")), data: Payload(b"x".to_vec()), rights: vec![1] }),
        Outcome::err(Errno::EINVAL)
    );
    err(&mut k, Op::SocketInet { slot: 2, family: V4, ty: SockType::Seqpacket }, Errno::ESOCKTNOSUPPORT);
}

#[test]
fn tcp_unread_bytes_beyond_two_mib_are_undetermined() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 4);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    ok(&mut k, send(2, &vec![b'x'; 2 << 20], None));
    assert!(matches!(k.apply(&send(2, b"x", None)), Outcome::WouldBlock { block: Block::Undetermined { .. } }));
}

#[test]
fn udp_drops_past_a_full_receive_buffer_and_the_model_says_when_it_cannot_tell() {
    let mut k = Kernel::new();
    udp(&mut k, 1, V4);
    ok(&mut k, Op::SetSockOpt { slot: 1, opt: SockOpt::RcvBuf(0) }); // SOCK_MIN_RCVBUF, 2304
    ok(&mut k, Op::Bind { slot: 1, addr: a("127.0.0.1:53") });
    udp(&mut k, 2, V4);
    for _ in 0..2 {
        ok(&mut k, send(2, b"0123456789", Some("127.0.0.1:53")));
    }
    // Two charged 266..1044 bytes each: a third may or may not find room (live: 832 each, so
    // it does not).
    assert!(matches!(
        k.apply(&send(2, b"0123456789", Some("127.0.0.1:53"))),
        Outcome::WouldBlock { block: Block::Undetermined { .. } }
    ));
    for _ in 0..2 {
        assert_eq!(read(&mut k, 1, 20).0, b"0123456789");
    }
}

#[test]
fn a_dropped_syn_and_an_undetermined_answer_are_explained_as_such() {
    let mut k = Kernel::new();
    listener(&mut k, 1, "127.0.0.1:80", 0);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
    tcp(&mut k, 3, V4);
    let op = Op::Connect { slot: 3, addr: a("127.0.0.1:80") };
    let out = k.apply(&op);
    let plan = resocket_core::plan::Plan::default();
    let (what, _) = resocket_core::check::explain(&plan, &k, &op, &out);
    assert!(what.contains("drops the SYN") && what.contains("depends on time"), "{what}");
    let out = Outcome::WouldBlock { block: Block::undetermined("a keyed hash picks") };
    let (what, _) = resocket_core::check::explain(&plan, &k, &op, &out);
    assert!(what.contains("not determined") && what.contains("a keyed hash picks"), "{what}");
}

mod planned {
    //! The planner's INET restores, run on the model (check::run_order) and compared with the
    //! image (check/inet.rs).
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    use resocket_core::{check, load, plan, scenario::Scenario};

    const SERVER: &str = r#"{"sockets": [
        {"name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 0,
         "pending": [{"client": "c1", "sent": [{"data": "early"}]}, {"client": "c2"}]},
        {"name": "c0", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "a0", "shutdown": "wr"},
        {"name": "a0", "type": "stream", "family": "inet", "peer": "c0", "accepted_from": "L", "shutdown": "rd",
         "queue": [{"data": "GET /"}]},
        {"name": "c1", "type": "stream", "family": "inet", "addr": "127.0.0.1:40001"},
        {"name": "c2", "type": "stream", "family": "inet", "addr": "127.0.0.1:40002"},
        {"name": "u", "type": "dgram", "family": "inet6", "addr": "[::1]:53", "queue": [{"from": "v", "data": "q"}]},
        {"name": "v", "type": "dgram", "family": "inet6", "addr": "[::1]:5353", "peer": "u"}]}"#;

    fn image() -> Vec<u8> {
        Scenario::from_json(SERVER).expect("scenario").to_image().expect("image")
    }

    #[test]
    fn the_plan_reproduces_listeners_connections_pending_clients_queues_and_shutdowns() {
        let bytes = image();
        let report = load(&bytes);
        assert!(report.is_valid(), "{:?}", report.diagnostics);
        let p = plan::plan(&report.image).expect("plan");
        // Two pending connections on a backlog of 0: raised for them and set back.
        assert!(p.steps.iter().any(|s| matches!(s.op, resocket_core::sim::Op::Listen { backlog: 1, .. })));
        let run = check::run_order(&report.image, &p, &(0..p.steps.len()).collect::<Vec<_>>());
        assert!(run.is_clean(), "{:?} {:#?}", run.failure, run.differences);
    }

    #[test]
    fn a_plan_without_its_refill_leaves_differences() {
        let bytes = image();
        let report = load(&bytes);
        let p = plan::plan(&report.image).expect("plan");
        let order: Vec<usize> = (0..p.steps.len()).filter(|&i| p.steps[i].phase != plan::Phase::Refill).collect();
        let run = check::run_order(&report.image, &p, &order);
        let what: Vec<&str> = run.differences.iter().map(|d| d.what.as_str()).collect();
        assert!(what.contains(&"queue"), "{:#?}", run.differences);
    }
}

#[test]
fn inet_address_fields_read_as_addresses() {
    use resocket_core::image::inet::field_note;
    let text = r#"{"sockets": [
        {"name": "c", "type": "stream", "family": "inet6", "addr": "[::1]:40000", "external_peer": true, "remote": "[2001:db8::7]:443"},
        {"name": "l", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 1}]}"#;
    let bytes = resocket_core::scenario::Scenario::from_json(text).unwrap().to_image().unwrap();
    let recs: Vec<_> = resocket_core::wire::Records::new(&bytes)
        .filter_map(Result::ok)
        .filter(|r| r.ty == resocket_core::wire::RecordType::SOCKET_INET)
        .collect();
    assert_eq!(field_note(&recs[0], "inet6_rcv_saddr").as_deref(), Some("::1"));
    assert_eq!(field_note(&recs[0], "inet6_daddr").as_deref(), Some("2001:db8::7"));
    assert_eq!(field_note(&recs[0], "dport").as_deref(), Some("443"));
    assert_eq!(field_note(&recs[0], "laddr").as_deref(), Some("none"));
    assert_eq!(field_note(&recs[1], "laddr").as_deref(), Some("AF_INET 127.0.0.1:8080"));
    assert_eq!(field_note(&recs[1], "rcv_saddr").as_deref(), Some("127.0.0.1"));
    assert_eq!(field_note(&recs[1], "tcp"), None);
}

fn host() -> HostAddrs {
    HostAddrs::loopback_and(&["10.1.2.3".parse().unwrap(), "2001:db8::3".parse().unwrap()])
}

#[test]
fn bind_takes_the_hosts_addresses_and_refuses_others_with_eaddrnotavail() {
    let mut k = Kernel::with_host(host());
    let cases: &[(InetFamily, bool, &str, Option<Errno>)] = &[
        (V4, true, "10.1.2.3:80", None),
        (V4, true, "10.1.2.4:80", Some(Errno::EADDRNOTAVAIL)),
        (V4, false, "10.1.2.255:80", None), // the prefix's broadcast address
        (V4, false, "10.1.2.0:80", Some(Errno::EADDRNOTAVAIL)),
        (V4, true, "224.0.0.1:80", None),
        (V4, true, "127.9.9.9:80", None), // lo's whole 127.0.0.0/8 is local
        (V4, true, "0.1.2.3:80", Some(Errno::EADDRNOTAVAIL)),
        (V6, true, "[2001:db8::3]:80", None),
        (V6, true, "[2001:db8::4]:80", Some(Errno::EADDRNOTAVAIL)),
        (V6, true, "[::ffff:10.1.2.3]:81", None),
        (V6, true, "[::ffff:10.1.2.4]:81", Some(Errno::EADDRNOTAVAIL)),
        (V6, false, "[fe80::1]:80", Some(Errno::EINVAL)), // link-local needs a scope id
        (V6, false, "[ff05::1]:80", None),
        (V6, true, "[ff05::1]:80", Some(Errno::EINVAL)),
    ];
    for (i, &(fam, is_tcp, at, want)) in cases.iter().enumerate() {
        let slot = 10 + i as Slot;
        if is_tcp {
            tcp(&mut k, slot, fam);
        } else {
            udp(&mut k, slot, fam);
        }
        let got = k.apply(&Op::Bind { slot, addr: a(at) });
        assert_eq!(got, want.map_or(Outcome::ok(0), Outcome::err), "bind {at}");
        ok(&mut k, Op::Close { slot });
    }
    // The default host is loopback only.
    let mut lo = Kernel::new();
    tcp(&mut lo, 1, V4);
    err(&mut lo, Op::Bind { slot: 1, addr: a("10.1.2.3:80") }, Errno::EADDRNOTAVAIL);
}

#[test]
fn connections_to_the_hosts_own_address_are_delivered_locally_from_that_address() {
    let mut k = Kernel::with_host(host());
    listener(&mut k, 1, "10.1.2.3:80", 4);
    tcp(&mut k, 2, V4);
    ok(&mut k, Op::Connect { slot: 2, addr: a("10.1.2.3:80") });
    ok(&mut k, Op::Accept { slot: 1, new: 3 });
    // The source of a wildcard socket is the destination itself (its local route's prefsrc).
    let local = k.inet_sock(2).and_then(|i| i.local).unwrap();
    assert_eq!(local.ip().to_string(), "10.1.2.3");
    assert_eq!(k.inet_sock(3).and_then(|i| i.remote), Some(local));
    ok(&mut k, send(3, b"hi", None));
    assert_eq!(read(&mut k, 2, 8).0, b"hi");
    listener(&mut k, 4, "[2001:db8::3]:80", 1);
    tcp(&mut k, 5, V6);
    ok(&mut k, Op::Connect { slot: 5, addr: a("[2001:db8::3]:80") });
    assert_eq!(k.inet_sock(5).and_then(|i| i.local).map(|l| l.ip().to_string()), Some("2001:db8::3".into()));
}

#[test]
fn a_destination_that_is_not_the_hosts_is_unreachable_on_lo_alone_and_undetermined_otherwise() {
    let mut lo = Kernel::new();
    tcp(&mut lo, 1, V4);
    err(&mut lo, Op::Connect { slot: 1, addr: a("10.1.2.3:80") }, Errno::ENETUNREACH);
    let mut k = Kernel::with_host(host());
    tcp(&mut k, 1, V4);
    let out = k.apply(&Op::Connect { slot: 1, addr: a("10.1.2.4:80") });
    assert!(matches!(out, Outcome::WouldBlock { block: Block::Undetermined { .. } }), "{out:?}");
    // Nothing listens on 10.1.2.3:81: refused at once, like loopback.
    tcp(&mut k, 2, V4);
    err(&mut k, Op::Connect { slot: 2, addr: a("10.1.2.3:81") }, Errno::ECONNREFUSED);
}

#[test]
fn a_syn_from_ipv6_loopback_to_another_host_address_gets_no_reset() {
    let mut k = Kernel::with_host(host());
    tcp(&mut k, 1, V6);
    ok(&mut k, Op::Bind { slot: 1, addr: a("[::1]:1000") });
    let out = k.apply(&Op::Connect { slot: 1, addr: a("[2001:db8::3]:81") });
    assert!(matches!(out, Outcome::WouldBlock { block: Block::NoAnswer { .. } }), "{out:?}");
}

/// A server on 10.1.2.3:8080 with an accepted client (data both ways) and a pending one, and a
/// UDP pair on 2001:db8::3.
const ON_HOST_ADDRS: &str = r#"{"sockets": [
    {"name": "L", "type": "stream", "family": "inet", "addr": "10.1.2.3:8080", "listen": 4,
     "pending": [{"client": "c1"}]},
    {"name": "c0", "type": "stream", "family": "inet", "addr": "10.1.2.3:40000", "peer": "a0",
     "queue": [{"data": "200 OK"}]},
    {"name": "a0", "type": "stream", "family": "inet", "peer": "c0", "accepted_from": "L",
     "queue": [{"data": "GET /"}]},
    {"name": "c1", "type": "stream", "family": "inet", "addr": "127.0.0.1:40001"},
    {"name": "u1", "type": "dgram", "family": "inet6", "addr": "[2001:db8::3]:5001", "peer": "u2"},
    {"name": "u2", "type": "dgram", "family": "inet6", "addr": "[2001:db8::3]:5002",
     "queue": [{"from": "u1", "data": "ping"}]}
]}"#;

fn on_host_image() -> Vec<u8> {
    resocket_core::scenario::Scenario::from_json(ON_HOST_ADDRS).unwrap().to_image().unwrap()
}

#[test]
fn the_planner_rebuilds_connections_on_the_hosts_own_addresses() {
    let bytes = on_host_image();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:?}", r.diagnostics);
    let plan = resocket_core::plan::plan_on(&r.image, &host()).expect("a plan");
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let binds: Vec<String> = plan
        .steps
        .iter()
        .filter_map(|s| match &s.op {
            Op::Bind { addr: SockAddr::Inet(at), .. } => Some(at.to_string()),
            _ => None,
        })
        .collect();
    for at in ["10.1.2.3:8080", "10.1.2.3:40000", "[2001:db8::3]:5001", "[2001:db8::3]:5002"] {
        assert!(binds.contains(&at.to_string()), "{at} in {binds:?}");
    }
    assert!(plan
        .steps
        .iter()
        .any(|s| matches!(&s.op, Op::Connect { addr: SockAddr::Inet(at), .. } if at.to_string() == "10.1.2.3:8080")));
}

#[test]
fn on_a_host_without_those_addresses_each_socket_is_named_with_what_it_loses() {
    let bytes = on_host_image();
    let r = resocket_core::load(&bytes);
    let plan = resocket_core::plan::plan(&r.image).expect("a plan, with warnings");
    let w = plan.warnings.iter().map(|w| w.message.as_str()).collect::<Vec<_>>().join("\n");
    // Objrefs as the scenario writer numbers them: L 3, c0 5, a0 7, c1 9, u1 11, u2 13.
    let has = |o: &str, parts: &[&str]| {
        plan.warnings
            .iter()
            .map(|l| &l.message)
            .any(|l| l.starts_with(&format!("socket #{o}")) && parts.iter().all(|p| l.contains(p)))
    };
    assert!(has("3", &["10.1.2.3:8080", "EADDRNOTAVAIL", "not listening", "1 pending connections are lost"]), "{w}");
    assert!(has("5", &["10.1.2.3:40000", "closed socket", "6 queued bytes"]), "{w}");
    assert!(has("7", &["10.1.2.3:8080", "closed socket", "5 queued bytes"]), "{w}");
    // c1 itself (127.0.0.1) is fine; its connection is not.
    assert!(has("9", &["10.1.2.3:8080", "not an address of this host", "closed socket"]), "{w}");
    assert!(has("11", &["[2001:db8::3]:5001", "unconnected"]), "{w}");
    assert!(has("13", &["[2001:db8::3]:5002", "4 queued bytes are dropped"]), "{w}");
    // The run on the model's (loopback-only) host differs from the image only where warned.
    let run = resocket_core::check::run_plan(&r.image, &plan);
    assert!(run.failure.is_none() && run.differences.is_empty(), "{:#?}", run.differences);
    // Nothing is bound to an address the host lacks.
    assert!(!plan
        .steps
        .iter()
        .any(|s| matches!(&s.op, Op::Bind { addr: SockAddr::Inet(at), .. } if !at.ip().is_loopback())));
}

#[test]
fn a_self_connected_socket_sending_again_before_reading_is_undetermined() {
    let mut k = Kernel::new();
    tcp(&mut k, 1, V4);
    ok(&mut k, Op::Bind { slot: 1, addr: a("127.0.0.1:1000") });
    ok(&mut k, Op::Connect { slot: 1, addr: a("127.0.0.1:1000") });
    ok(&mut k, send(1, b"a", None));
    let out = k.apply(&send(1, b"b", None));
    assert!(matches!(out, Outcome::WouldBlock { block: Block::Undetermined { .. } }), "{out:?}");
    assert_eq!(read(&mut k, 1, 4).0, b"a");
    ok(&mut k, send(1, b"c", None)); // nothing unread: sent and readable at once
}

#[test]
fn the_planner_restores_udp_buffers_and_locked_tcp_buffers_only() {
    let text = r#"{"sockets": [
        {"name": "u", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5000", "sndbuf": 9000, "rcvbuf": 1000},
        {"name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 1, "sndbuf": 50000},
        {"name": "M", "type": "stream", "family": "inet", "addr": "127.0.0.1:8081", "listen": 1,
         "rcvbuf": 65536, "rcvbuf_lock": true}
    ]}"#;
    let bytes = resocket_core::scenario::Scenario::from_json(text).unwrap().to_image().unwrap();
    let r = resocket_core::load(&bytes);
    let plan = resocket_core::plan::plan(&r.image).unwrap();
    let sets: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| matches!(s.op, Op::SetSockOpt { opt: SockOpt::SndBufForce(_) | SockOpt::RcvBufForce(_), .. }))
        .map(|s| format!("{:?}", s.op))
        .collect();
    // u: both (4500 and 500, halved); M: its locked receive buffer; L's unlocked one is left.
    assert_eq!(sets.len(), 3, "{sets:?}");
    assert!(
        sets.iter().any(|s| s.contains("SndBufForce(4500)")) && sets.iter().any(|s| s.contains("RcvBufForce(500)"))
    );
    assert!(sets.iter().any(|s| s.contains("RcvBufForce(32768)")), "{sets:?}");
    let run = resocket_core::check::run_plan(&r.image, &plan);
    assert!(run.failure.is_none() && run.differences.is_empty(), "{:#?}", run.differences);
}

#[test]
fn a_self_connected_tcp_socket_is_planned_as_a_connect_to_itself() {
    let text = r#"{"sockets": [
        {"name": "s", "type": "stream", "family": "inet", "addr": "127.0.0.1:7000", "peer": "s",
         "queue": [{"data": "note to "}, {"data": "self"}]}
    ]}"#;
    let bytes = resocket_core::scenario::Scenario::from_json(text).unwrap().to_image().unwrap();
    let r = resocket_core::load(&bytes);
    let s = r.image.sockets.values().next().unwrap();
    assert!(resocket_core::plan::self_connected(s));
    let plan = resocket_core::plan::plan(&r.image).unwrap();
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    assert!(plan.steps.iter().any(
        |st| matches!(&st.op, Op::Connect { addr: SockAddr::Inet(at), .. } if at.to_string() == "127.0.0.1:7000")
    ));
    // The queue comes back in one send (a second one would wait on a delayed ACK).
    let sends = plan.steps.iter().filter(|st| matches!(st.op, Op::Send { .. })).count();
    assert_eq!(sends, 1);
    let run = resocket_core::check::run_plan(&r.image, &plan);
    assert!(run.failure.is_none() && run.differences.is_empty(), "{:#?}", run.differences);
}

/// One rule for a peer by address (`image::inet::PeerIndex::peer`, behind `peers` for every
/// socket at once — the planner, the summary, the roles, the graph, the editor's import,
/// `--verify` — and `peer_of` for one): a TCP or UDP socket connected to its own address is its
/// own peer (its role is self-connected), an accepted connection and its client each other's.
/// `peers` used to leave a self-connected TCP socket out, so its import came back as a
/// connection to an outside peer (differing when written back) and the summary's peer column
/// said `ext`.
#[test]
fn a_self_connected_tcp_socket_is_its_own_peer_for_every_reader() {
    let text = r#"{"sockets": [
        {"name": "t", "type": "stream", "family": "inet", "addr": "127.0.0.1:9001", "peer": "t"},
        {"name": "t6", "type": "stream", "family": "inet6", "addr": "[::ffff:127.0.0.1]:9002", "peer": "t6"},
        {"name": "u", "type": "dgram", "family": "inet", "addr": "127.0.0.1:9003", "peer": "u"},
        {"name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:80", "listen": 1},
        {"name": "c", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "a"},
        {"name": "a", "type": "stream", "family": "inet", "peer": "c", "accepted_from": "L"}
    ]}"#;
    let bytes = resocket_core::scenario::Scenario::from_json(text).unwrap().to_image().unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:?}", r.diagnostics);
    let all = resocket_core::image::inet::peers(&r.image);
    let local = |o: &i32| {
        let s = r.image.sockets.get(o).expect("a socket of the image");
        s.inet_local().map(resocket_core::image::inet::canonical).map(|a| a.to_string()).unwrap_or_default()
    };
    let mut pairs: Vec<(String, String)> = all.iter().map(|(s, p)| (local(s), local(p))).collect();
    pairs.sort();
    let want = [
        ("127.0.0.1:40000", "127.0.0.1:80"),
        ("127.0.0.1:80", "127.0.0.1:40000"),
        ("127.0.0.1:9001", "127.0.0.1:9001"),
        ("127.0.0.1:9002", "127.0.0.1:9002"),
        ("127.0.0.1:9003", "127.0.0.1:9003"),
    ];
    assert_eq!(pairs, want.map(|(a, b)| (a.to_string(), b.to_string())), "{all:?}");
    for s in r.image.sockets.values() {
        assert_eq!(resocket_core::image::inet::peer_of(&r.image, s), all.get(&s.objref).copied(), "#{}", s.objref);
    }
    let selfs: Vec<i32> =
        r.image.sockets.values().filter(|s| all.get(&s.objref) == Some(&s.objref)).map(|s| s.objref).collect();
    assert_eq!(selfs.len(), 3, "{all:?}");
    // The editor's import reads it back as connected to itself, and writes the image back.
    let back = resocket_core::edit::from_image(&bytes);
    assert!(back.notes.is_empty(), "{:#?}", back.notes);
    let mut own = 0;
    for (s, o) in back.scenario.sockets.iter().zip(&back.objrefs) {
        if selfs.contains(o) {
            assert_eq!((s.peer.as_deref(), s.external_peer), (Some(s.name.as_str()), false), "#{o}");
            own += 1;
        }
    }
    assert_eq!(own, 3, "{:#?}", back.scenario.sockets);
    let table = resocket_core::summary::socket_table(&r.image);
    assert!(!table.contains(" ext "), "{table}");
}

#[test]
fn a_tcp_queue_above_2_mib_is_taken_only_with_buffers_raised_before_the_syn() {
    let n = resocket_core::sim::inet::TCP_QUEUE_LIMIT;
    let (rcv, snd) = resocket_core::sim::inet::big_queue_buffers(2 * n as i64);
    for raise_before in [false, true] {
        let mut k = Kernel::new();
        listener(&mut k, 1, "127.0.0.1:80", 1);
        tcp(&mut k, 2, V4);
        let raise = Op::SetSockOpt { slot: 2, opt: SockOpt::RcvBufForce((rcv / 2) as i32) };
        if raise_before {
            ok(&mut k, raise.clone());
        }
        ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:80") });
        ok(&mut k, Op::Accept { slot: 1, new: 3 });
        if !raise_before {
            ok(&mut k, raise.clone()); // too late: the window scale was fixed at the SYN
        }
        ok(&mut k, Op::SetSockOpt { slot: 3, opt: SockOpt::SndBufForce((snd / 2) as i32) });
        ok(&mut k, send(3, &vec![b'x'; n], None));
        let out = k.apply(&send(3, &vec![b'y'; n], None));
        if raise_before {
            assert_eq!(out, Outcome::ok(n as i64));
        } else {
            assert!(matches!(out, Outcome::WouldBlock { block: Block::Undetermined { .. } }), "{out:?}");
        }
    }
}

/// One rule for where a recorded address leaves a socket on a host (`plan::on_host`): the
/// planner's unbound and mute sets, the checker's and `--verify`'s expectations all read it.
#[test]
fn a_recorded_address_is_usable_missing_or_mute_on_a_host() {
    use resocket_core::plan::{on_host, OnHost};
    let text = r#"{"sockets": [
        {"name": "lo", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5000"},
        {"name": "any", "type": "stream", "family": "inet", "addr": "0.0.0.0:80", "listen": 1},
        {"name": "none", "type": "stream", "family": "inet"},
        {"name": "far", "type": "stream", "family": "inet", "addr": "10.9.9.9:80", "listen": 1},
        {"name": "group", "type": "dgram", "family": "inet", "addr": "224.0.0.1:5001"},
        {"name": "bcast", "type": "dgram", "family": "inet", "addr": "255.255.255.255:5002"}
    ]}"#;
    let bytes = resocket_core::scenario::Scenario::from_json(text).unwrap().to_image().unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:?}", r.diagnostics);
    let host = HostAddrs::loopback();
    let fits: Vec<OnHost> = r.image.sockets.values().map(|s| on_host(s, &host)).collect();
    assert_eq!(
        fits,
        [
            OnHost::Usable,
            OnHost::Usable,
            OnHost::Usable,
            OnHost::Missing(Errno::EADDRNOTAVAIL),
            OnHost::Mute,
            OnHost::Mute
        ]
    );
}

#[test]
fn sockets_on_broadcast_or_multicast_addresses_are_bound_and_carry_nothing() {
    let text = r#"{"sockets": [
        {"name": "m", "type": "dgram", "family": "inet", "addr": "224.0.0.1:5000",
         "queue": [{"from": "s", "data": "to the group"}]},
        {"name": "b", "type": "dgram", "family": "inet", "addr": "255.255.255.255:5001"},
        {"name": "s", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5002",
         "queue": [{"from": "b", "data": "from a broadcast-bound sender"}]}
    ]}"#;
    let bytes = resocket_core::scenario::Scenario::from_json(text).unwrap().to_image().unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:?}", r.diagnostics);
    let plan = resocket_core::plan::plan(&r.image).expect("a plan");
    let w = plan.warnings.iter().map(|w| w.message.as_str()).collect::<Vec<_>>().join("\n");
    assert!(
        w.contains("224.0.0.1:5000 is a broadcast or multicast address") && w.contains("12 queued bytes are dropped"),
        "{w}"
    );
    assert!(w.contains("255.255.255.255:5001 is a broadcast or multicast address"), "{w}");
    // Both bound as recorded; s's datagram re-sent from a stand-in.
    for at in ["224.0.0.1:5000", "255.255.255.255:5001"] {
        assert!(plan
            .steps
            .iter()
            .any(|st| matches!(&st.op, Op::Bind { addr: SockAddr::Inet(a), .. } if a.to_string() == at)));
    }
    assert!(plan.slots.values().any(|s| s.label.starts_with("tmp-sender")));
    let run = resocket_core::check::run_plan(&r.image, &plan);
    assert!(run.failure.is_none() && run.differences.is_empty(), "{:#?}", run.differences);
}

/// A disconnect (`connect(AF_UNSPEC)`) gives a port back only when it was not bound by the user
/// and, for TCP, only when the state changes: a UDP socket autobound by its connect is unbound
/// (it can bind again), one bound by the user keeps its port; a TCP socket bound to port 0 and
/// still CLOSE keeps the port it was given (live 6.18: bind again is EINVAL).
#[test]
fn a_disconnect_gives_back_only_a_port_the_kernel_chose_and_tcp_only_on_a_state_change() {
    let mut k = Kernel::new();
    udp(&mut k, 1, V4);
    ok(&mut k, Op::Connect { slot: 1, addr: a("127.0.0.1:6000") });
    ok(&mut k, Op::Connect { slot: 1, addr: SockAddr::Unspec });
    ok(&mut k, Op::Bind { slot: 1, addr: a("127.0.0.1:5001") });
    udp(&mut k, 2, V4);
    ok(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:5002") });
    ok(&mut k, Op::Connect { slot: 2, addr: a("127.0.0.1:6000") });
    ok(&mut k, Op::Connect { slot: 2, addr: SockAddr::Unspec });
    err(&mut k, Op::Bind { slot: 2, addr: a("127.0.0.1:5003") }, Errno::EINVAL);
    tcp(&mut k, 3, V4);
    ok(&mut k, Op::Bind { slot: 3, addr: a("127.0.0.1:0") });
    ok(&mut k, Op::Connect { slot: 3, addr: SockAddr::Unspec });
    err(&mut k, Op::Bind { slot: 3, addr: a("127.0.0.1:5004") }, Errno::EINVAL);
}

/// A host made from interface addresses holds each address and broadcast address once, sorted.
#[test]
fn a_host_from_addresses_holds_each_once_in_order() {
    let lo = HostAddr { ip: "127.0.0.1".parse().unwrap(), prefix: 8, ifindex: 1, loopback: true };
    let eth = HostAddr { ip: "10.0.0.2".parse().unwrap(), prefix: 24, ifindex: 2, loopback: false };
    let brd: std::net::Ipv4Addr = "10.0.0.255".parse().unwrap();
    let host = HostAddrs::from_addrs([(lo, vec![]), (eth, vec![brd]), (lo, vec![]), (eth, vec![brd])]);
    assert_eq!(host.addrs, vec![eth, lo]);
    assert_eq!(host.broadcast, vec![brd]);
}
