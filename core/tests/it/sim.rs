//! One test per kernel rule the simulator must reproduce (../shared/reference/af_unix.md).
//! The same rules are checked against the real kernel by the differential tests of issue 4.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use resocket_core::sim::kernel::truesize;
use resocket_core::sim::*;

fn k() -> Kernel {
    Kernel::new()
}

fn ok(k: &mut Kernel, op: Op) {
    let out = k.apply(&op);
    assert!(out.is_ok(), "{op:?} gave {out:?}");
}

fn err(k: &mut Kernel, op: Op, e: Errno) {
    assert_eq!(k.apply(&op), Outcome::err(e), "{op:?}");
}

fn path(p: &str) -> SockAddr {
    SockAddr::Path(p.as_bytes().to_vec())
}

fn abs(n: &str) -> SockAddr {
    SockAddr::Abstract(n.as_bytes().to_vec())
}

fn sock(k: &mut Kernel, slot: Slot, ty: SockType) {
    ok(k, Op::Socket { slot, ty });
}

fn listener(k: &mut Kernel, slot: Slot, name: &str, backlog: i32) {
    sock(k, slot, SockType::Stream);
    ok(k, Op::Bind { slot, addr: abs(name) });
    ok(k, Op::Listen { slot, backlog });
}

fn send(slot: Slot, data: &str) -> Op {
    Op::Send { slot, to: None, data: Payload(data.as_bytes().to_vec()), rights: vec![] }
}

fn sendto(slot: Slot, to: SockAddr, data: &str) -> Op {
    Op::Send { slot, to: Some(to), data: Payload(data.as_bytes().to_vec()), rights: vec![] }
}

fn recv(k: &mut Kernel, slot: Slot) -> Outcome {
    k.apply(&Op::Recv { slot, len: 4096, peek: false })
}

fn read(data: &str) -> Outcome {
    Outcome::Read { data: Payload(data.as_bytes().to_vec()), rights: vec![], truncated: false }
}

fn pending(k: &Kernel, slot: Slot) -> usize {
    k.sock(slot).unwrap().queue.len()
}

#[test]
fn backlog_n_admits_n_plus_1_pending_and_the_next_connect_would_block() {
    for n in [0, 1, 2, 5] {
        let mut k = k();
        listener(&mut k, 1, "L", n);
        for c in 0..=n as Slot {
            sock(&mut k, 10 + c, SockType::Stream);
            ok(&mut k, Op::Connect { slot: 10 + c, addr: abs("L") });
        }
        assert_eq!(pending(&k, 1), n as usize + 1);
        sock(&mut k, 99, SockType::Stream);
        let out = k.apply(&Op::Connect { slot: 99, addr: abs("L") });
        assert_eq!(
            out,
            Outcome::WouldBlock { block: Block::BacklogFull { pending: n as usize + 1, backlog: i64::from(n) } }
        );
        ok(&mut k, Op::SetNonblock { slot: 99, on: true });
        err(&mut k, Op::Connect { slot: 99, addr: abs("L") }, Errno::EAGAIN);
    }
}

#[test]
fn backlog_is_clamped_to_somaxconn() {
    for b in [-1, 100_000] {
        let mut k = k();
        listener(&mut k, 1, "L", b);
        assert_eq!(k.sock(1).unwrap().max_ack_backlog, 4096);
    }
}

#[test]
fn relisten_changes_the_backlog_without_dropping_pending() {
    let mut k = k();
    listener(&mut k, 1, "L", 0);
    sock(&mut k, 2, SockType::Stream);
    ok(&mut k, Op::Connect { slot: 2, addr: abs("L") });
    sock(&mut k, 3, SockType::Stream);
    assert!(matches!(k.apply(&Op::Connect { slot: 3, addr: abs("L") }), Outcome::WouldBlock { .. }));
    ok(&mut k, Op::Listen { slot: 1, backlog: 1 });
    assert_eq!(pending(&k, 1), 1);
    ok(&mut k, Op::Connect { slot: 3, addr: abs("L") });
    ok(&mut k, Op::Listen { slot: 1, backlog: 0 }); // shrinking keeps both
    assert_eq!(pending(&k, 1), 2);
}

#[test]
fn connect_returns_before_accept_and_accept_is_fifo() {
    let mut k = k();
    listener(&mut k, 1, "L", 5);
    for c in [10, 11, 12] {
        sock(&mut k, c, SockType::Stream);
        ok(&mut k, Op::Connect { slot: c, addr: abs("L") });
        ok(&mut k, send(c, &format!("hello from {c}")));
    }
    for (i, c) in [10, 11, 12].into_iter().enumerate() {
        ok(&mut k, Op::Accept { slot: 1, new: 20 + i as Slot });
        assert_eq!(recv(&mut k, 20 + i as Slot), read(&format!("hello from {c}")));
    }
}

#[test]
fn data_sent_before_accept_waits_on_the_embryo_and_is_read_after_accept() {
    let mut k = k();
    listener(&mut k, 1, "L", 1);
    sock(&mut k, 2, SockType::Stream);
    ok(&mut k, Op::Connect { slot: 2, addr: abs("L") });
    ok(&mut k, send(2, "early"));
    let embryo = k.sock(1).unwrap().queue[0].embryo.unwrap();
    assert_eq!(k.socks[embryo].queue.len(), 1);
    ok(&mut k, Op::Accept { slot: 1, new: 3 });
    assert_eq!(recv(&mut k, 3), read("early"));
}

#[test]
fn the_accepted_socket_is_named_like_its_listener() {
    let mut k = k();
    sock(&mut k, 1, SockType::Stream);
    ok(&mut k, Op::Bind { slot: 1, addr: path("/srv.sock") });
    ok(&mut k, Op::Listen { slot: 1, backlog: 1 });
    sock(&mut k, 2, SockType::Stream);
    ok(&mut k, Op::Connect { slot: 2, addr: path("/srv.sock") });
    ok(&mut k, Op::Accept { slot: 1, new: 3 });
    assert_eq!(k.sock(3).unwrap().name, k.sock(1).unwrap().name);
    assert_eq!(k.sock(2).unwrap().name, None);
}

#[test]
fn a_closing_listener_resets_its_pending_clients() {
    let mut k = k();
    listener(&mut k, 1, "L", 1);
    sock(&mut k, 2, SockType::Stream);
    ok(&mut k, Op::Connect { slot: 2, addr: abs("L") });
    ok(&mut k, Op::Close { slot: 1 });
    err(&mut k, Op::Recv { slot: 2, len: 10, peek: false }, Errno::ECONNRESET);
    assert_eq!(recv(&mut k, 2), read(""));
    err(&mut k, send(2, "x"), Errno::EPIPE);
    sock(&mut k, 3, SockType::Stream);
    err(&mut k, Op::Connect { slot: 3, addr: abs("L") }, Errno::ECONNREFUSED);
}

#[test]
fn dgram_self_connect_works() {
    let mut k = k();
    sock(&mut k, 1, SockType::Dgram);
    ok(&mut k, Op::Bind { slot: 1, addr: abs("me") });
    ok(&mut k, Op::Connect { slot: 1, addr: abs("me") });
    ok(&mut k, send(1, "to myself"));
    assert_eq!(recv(&mut k, 1), read("to myself"));
    sock(&mut k, 2, SockType::Dgram);
    err(&mut k, sendto(2, abs("me"), "x"), Errno::EPERM);
    err(&mut k, Op::Connect { slot: 2, addr: abs("me") }, Errno::EPERM);
}

#[test]
fn dgram_send_to_a_socket_connected_elsewhere_is_eperm() {
    let mut k = k();
    for (s, n) in [(1, "a"), (2, "b"), (3, "c")] {
        sock(&mut k, s, SockType::Dgram);
        ok(&mut k, Op::Bind { slot: s, addr: abs(n) });
    }
    ok(&mut k, Op::Connect { slot: 2, addr: abs("c") });
    err(&mut k, sendto(1, abs("b"), "x"), Errno::EPERM);
    ok(&mut k, sendto(3, abs("b"), "from the peer"));
}

#[test]
fn a_dgram_receiver_holds_max_dgram_qlen_plus_1_except_from_itself_or_its_peer() {
    let mut k = k();
    sock(&mut k, 1, SockType::Dgram);
    ok(&mut k, Op::Bind { slot: 1, addr: abs("r") });
    sock(&mut k, 2, SockType::Dgram);
    for _ in 0..11 {
        ok(&mut k, sendto(2, abs("r"), "m"));
    }
    assert!(matches!(
        k.apply(&sendto(2, abs("r"), "m")),
        Outcome::WouldBlock { block: Block::DgramQueueFull { qlen: 11, limit: 10 } }
    ));
    ok(&mut k, Op::SetNonblock { slot: 2, on: true });
    err(&mut k, sendto(2, abs("r"), "m"), Errno::EAGAIN);
    // From itself: no limit.
    for _ in 0..20 {
        ok(&mut k, sendto(1, abs("r"), "self"));
    }
    // From its own peer (socketpair): only the sender's sndbuf limits.
    let mut k2 = Kernel::new();
    ok(&mut k2, Op::Socketpair { a: 1, b: 2, ty: SockType::Dgram });
    for _ in 0..50 {
        ok(&mut k2, send(2, "m"));
    }
    // A socket created after the sysctl changed gets the new limit.
    let mut k3 = Kernel::new();
    ok(&mut k3, Op::SetSysctl { name: Sysctl::MaxDgramQlen, value: 3 });
    sock(&mut k3, 1, SockType::Dgram);
    ok(&mut k3, Op::Bind { slot: 1, addr: abs("r") });
    sock(&mut k3, 2, SockType::Dgram);
    for _ in 0..4 {
        ok(&mut k3, sendto(2, abs("r"), "m"));
    }
    assert!(matches!(k3.apply(&sendto(2, abs("r"), "m")), Outcome::WouldBlock { .. }));
}

#[test]
fn eaddrinuse_on_an_existing_even_stale_path_and_success_after_unlink() {
    let mut k = k();
    sock(&mut k, 1, SockType::Stream);
    ok(&mut k, Op::Bind { slot: 1, addr: path("/s") });
    ok(&mut k, Op::Close { slot: 1 }); // close never unlinks
    sock(&mut k, 2, SockType::Stream);
    err(&mut k, Op::Bind { slot: 2, addr: path("/s") }, Errno::EADDRINUSE);
    ok(&mut k, Op::Unlink { path: Payload(b"/s".to_vec()), stale_only: true });
    ok(&mut k, Op::Bind { slot: 2, addr: path("/s") });
    // A regular file is never removed by the stale-socket unlink.
    k.seed_file(b"/regular", false);
    err(&mut k, Op::Unlink { path: Payload(b"/regular".to_vec()), stale_only: true }, Errno::ENOTSOCK);
    // A live socket's file is not stale either.
    err(&mut k, Op::Unlink { path: Payload(b"/s".to_vec()), stale_only: true }, Errno::EADDRINUSE);
}

#[test]
fn rebinding_a_bound_socket_is_einval_and_a_taken_path_eaddrinuse() {
    let mut k = k();
    sock(&mut k, 1, SockType::Stream);
    ok(&mut k, Op::Bind { slot: 1, addr: path("/a") });
    err(&mut k, Op::Bind { slot: 1, addr: path("/b") }, Errno::EINVAL);
    assert!(!k.fs.contains_key(b"/b".as_slice()), "the new node is removed again");
    err(&mut k, Op::Bind { slot: 1, addr: path("/a") }, Errno::EADDRINUSE);
}

#[test]
fn abstract_names_are_per_socket_type() {
    let mut k = k();
    sock(&mut k, 1, SockType::Dgram);
    ok(&mut k, Op::Bind { slot: 1, addr: abs("shared") });
    sock(&mut k, 2, SockType::Stream);
    ok(&mut k, Op::Bind { slot: 2, addr: abs("shared") });
    sock(&mut k, 3, SockType::Dgram);
    err(&mut k, Op::Bind { slot: 3, addr: abs("shared") }, Errno::EADDRINUSE);
    // A stream connect to a name only a dgram socket holds is ECONNREFUSED, not EPROTOTYPE.
    let mut k = Kernel::new();
    sock(&mut k, 1, SockType::Dgram);
    ok(&mut k, Op::Bind { slot: 1, addr: abs("d") });
    sock(&mut k, 2, SockType::Stream);
    err(&mut k, Op::Connect { slot: 2, addr: abs("d") }, Errno::ECONNREFUSED);
    // Path names are not per type: EPROTOTYPE.
    sock(&mut k, 3, SockType::Dgram);
    ok(&mut k, Op::Bind { slot: 3, addr: path("/d") });
    err(&mut k, Op::Connect { slot: 2, addr: path("/d") }, Errno::EPROTOTYPE);
}

#[test]
fn autobind_gives_five_hex_digits_and_is_a_no_op_when_bound() {
    let mut k = k();
    sock(&mut k, 1, SockType::Dgram);
    ok(&mut k, Op::Bind { slot: 1, addr: SockAddr::Autobind });
    let name = k.sock(1).unwrap().name.clone().unwrap();
    assert!(name.is_autobind_shape(), "{name:?}");
    ok(&mut k, Op::Bind { slot: 1, addr: SockAddr::Autobind });
    assert_eq!(k.sock(1).unwrap().name, Some(name.clone()));
    sock(&mut k, 2, SockType::Dgram);
    ok(&mut k, Op::Bind { slot: 2, addr: SockAddr::Autobind });
    assert_ne!(k.sock(2).unwrap().name, Some(name));
    // SO_PASSCRED autobinds on connect/send.
    sock(&mut k, 3, SockType::Dgram);
    ok(&mut k, Op::SetSockOpt { slot: 3, opt: SockOpt::PassCred(true) });
    ok(&mut k, Op::Connect { slot: 3, addr: SockAddr::Abstract(b"00000".to_vec()) });
    assert!(k.sock(3).unwrap().name.as_ref().unwrap().is_autobind_shape());
}

#[test]
fn shutdown_is_mirrored_to_a_stream_or_seqpacket_peer_only() {
    for (ty, mirrored) in [(SockType::Stream, true), (SockType::Seqpacket, true), (SockType::Dgram, false)] {
        let mut k = k();
        ok(&mut k, Op::Socketpair { a: 1, b: 2, ty });
        ok(&mut k, Op::Shutdown { slot: 1, how: How::Wr });
        assert_eq!(k.sock(1).unwrap().shutdown, 2);
        assert_eq!(k.sock(2).unwrap().shutdown, if mirrored { 1 } else { 0 }, "{ty:?}");
    }
    let mut k = k();
    sock(&mut k, 1, SockType::Stream);
    ok(&mut k, Op::Shutdown { slot: 1, how: How::Rdwr }); // no ENOTCONN
}

#[test]
fn epipe_econnrefused_enotconn_after_the_peer_goes() {
    // Stream: EPIPE on write, the queue then EOF on read.
    let mut k = k();
    ok(&mut k, Op::Socketpair { a: 1, b: 2, ty: SockType::Stream });
    ok(&mut k, send(2, "last"));
    ok(&mut k, Op::Close { slot: 2 });
    err(&mut k, send(1, "x"), Errno::EPIPE);
    assert_eq!(recv(&mut k, 1), read("last"));
    assert_eq!(recv(&mut k, 1), read(""));
    // Dgram pair: the first send is ECONNREFUSED, then ENOTCONN.
    let mut k = Kernel::new();
    ok(&mut k, Op::Socketpair { a: 1, b: 2, ty: SockType::Dgram });
    ok(&mut k, Op::Close { slot: 2 });
    err(&mut k, send(1, "x"), Errno::ECONNREFUSED);
    err(&mut k, send(1, "x"), Errno::ENOTCONN);
}

#[test]
fn a_connected_socket_connecting_to_a_missing_path_gets_enoent_not_eisconn() {
    let mut k = k();
    listener(&mut k, 1, "L", 5);
    sock(&mut k, 2, SockType::Stream);
    ok(&mut k, Op::Connect { slot: 2, addr: abs("L") });
    err(&mut k, Op::Connect { slot: 2, addr: path("/missing") }, Errno::ENOENT);
    err(&mut k, Op::Connect { slot: 2, addr: abs("L") }, Errno::EISCONN);
    // A listener connecting to itself: EINVAL.
    err(&mut k, Op::Connect { slot: 1, addr: abs("L") }, Errno::EINVAL);
}

#[test]
fn sndbuf_accounting_matches_the_live_kernel() {
    // af_unix.md §2.2: 768 B per 1-byte skb, 2304 B per 1000-byte one; 278 one-byte writes
    // and 93 datagrams of 1000 B fit in the default 212992-byte sndbuf.
    assert_eq!(truesize(1), 768);
    assert_eq!(truesize(1000), 2304);
    for (len, fits) in [(1usize, 278), (1000, 93)] {
        let mut k = k();
        ok(&mut k, Op::Socketpair { a: 1, b: 2, ty: SockType::Dgram });
        let data = "x".repeat(len);
        for _ in 0..fits {
            ok(&mut k, send(1, &data));
        }
        assert!(matches!(k.apply(&send(1, &data)), Outcome::WouldBlock { block: Block::SndBuf { .. } }), "len {len}");
    }
    // EMSGSIZE above sndbuf - 32.
    let mut k = k();
    ok(&mut k, Op::Socketpair { a: 1, b: 2, ty: SockType::Dgram });
    ok(&mut k, send(1, &"x".repeat(212_960)));
    err(&mut k, send(1, &"x".repeat(212_961)), Errno::EMSGSIZE);
}

#[test]
fn dgram_reconnect_purges_the_queue_and_resets_an_old_mutual_peer() {
    let mut k = k();
    for (s, n) in [(1, "p"), (2, "q"), (3, "r")] {
        sock(&mut k, s, SockType::Dgram);
        ok(&mut k, Op::Bind { slot: s, addr: abs(n) });
    }
    ok(&mut k, Op::Connect { slot: 1, addr: abs("q") });
    ok(&mut k, Op::Connect { slot: 2, addr: abs("p") });
    ok(&mut k, send(2, "to p"));
    ok(&mut k, Op::Connect { slot: 1, addr: SockAddr::Unspec });
    assert!(k.sock(1).unwrap().queue.is_empty());
    assert_eq!(k.sock(2).unwrap().err, Some(Errno::ECONNRESET));
}

#[test]
fn listen_errors_in_kernel_order() {
    let mut k = k();
    sock(&mut k, 1, SockType::Dgram);
    ok(&mut k, Op::Bind { slot: 1, addr: abs("d") });
    err(&mut k, Op::Listen { slot: 1, backlog: 1 }, Errno::EOPNOTSUPP);
    sock(&mut k, 2, SockType::Stream);
    err(&mut k, Op::Listen { slot: 2, backlog: 1 }, Errno::EINVAL);
    ok(&mut k, Op::Socketpair { a: 3, b: 4, ty: SockType::Stream });
    ok(&mut k, Op::Bind { slot: 3, addr: abs("bound-pair") });
    err(&mut k, Op::Listen { slot: 3, backlog: 1 }, Errno::EINVAL);
}

#[test]
fn stream_io_on_unconnected_sockets() {
    let mut k = k();
    sock(&mut k, 1, SockType::Stream);
    err(&mut k, Op::Recv { slot: 1, len: 1, peek: false }, Errno::EINVAL);
    err(&mut k, send(1, "x"), Errno::ENOTCONN);
    err(&mut k, sendto(1, abs("x"), "x"), Errno::EOPNOTSUPP);
    sock(&mut k, 2, SockType::Seqpacket);
    err(&mut k, Op::Recv { slot: 2, len: 1, peek: false }, Errno::ENOTCONN);
    err(&mut k, send(2, "x"), Errno::ENOTCONN);
}

#[test]
fn scm_rights_keep_a_closed_socket_alive_until_read() {
    let mut k = k();
    ok(&mut k, Op::Socketpair { a: 1, b: 2, ty: SockType::Stream });
    ok(&mut k, Op::Socketpair { a: 3, b: 4, ty: SockType::Stream });
    ok(&mut k, Op::Send { slot: 1, to: None, data: Payload(b"fd".to_vec()), rights: vec![3] });
    ok(&mut k, Op::Close { slot: 3 });
    // 4's peer is still alive: a write reaches it.
    ok(&mut k, send(4, "still there"));
    let out = recv(&mut k, 2);
    let Outcome::Read { rights, .. } = out else { panic!("{out:?}") };
    assert_eq!(rights.len(), 1);
    assert_eq!(recv(&mut k, rights[0]), read("still there"));
}

#[test]
fn the_slot_table_keeps_order_and_bounds_its_dense_part() {
    use resocket_core::sim::kernel::SlotTable;
    let mut t = SlotTable::default();
    // A hostile slot number goes to the map, not into a huge table.
    assert_eq!(t.insert(u32::MAX, 7), None);
    for k in [5u32, 1, 3, 4096, 9000] {
        t.insert(k, k as usize);
    }
    assert_eq!(t.keys().collect::<Vec<_>>(), vec![1, 3, 5, 4096, 9000, u32::MAX]);
    assert_eq!(t.get(&u32::MAX), Some(&7));
    assert_eq!(t.last_key(), Some(u32::MAX));
    assert_eq!(t.remove(&u32::MAX), Some(7));
    assert_eq!(t.last_key(), Some(9000));
    assert_eq!(t.insert(3, 33), Some(3));
    assert_eq!(t.len(), 5);
    assert!(!t.contains_key(&2));
}

/// Each refusal names the kernel rule that decided it, and a later success clears it.
#[test]
fn refusals_name_their_rule() {
    let mut k = k();
    let rule = |k: &mut Kernel, op: Op| {
        let out = k.apply(&op);
        (out, k.last_rule)
    };
    sock(&mut k, 1, SockType::Stream);
    assert_eq!(
        rule(&mut k, Op::Listen { slot: 1, backlog: 0 }),
        (Outcome::err(Errno::EINVAL), Some(Rule::ListenUnbound))
    );
    assert_eq!(
        rule(&mut k, Op::Connect { slot: 1, addr: path("/nowhere") }),
        (Outcome::err(Errno::ENOENT), Some(Rule::NoSuchPath))
    );
    assert_eq!(
        rule(&mut k, Op::Connect { slot: 1, addr: abs("nobody") }),
        (Outcome::err(Errno::ECONNREFUSED), Some(Rule::NoSuchAbstractName))
    );
    listener(&mut k, 2, "srv", 0);
    assert_eq!(k.last_rule, None);
    ok(&mut k, Op::Connect { slot: 1, addr: abs("srv") });
    // Backlog 0 admits one connection; the second waits, or (non-blocking) gets EAGAIN.
    sock(&mut k, 4, SockType::Stream);
    let (out, r) = rule(&mut k, Op::Connect { slot: 4, addr: abs("srv") });
    assert!(matches!(out, Outcome::WouldBlock { block: Block::BacklogFull { .. } }), "{out:?}");
    assert_eq!(r, Some(Rule::BacklogFull));
    ok(&mut k, Op::SetNonblock { slot: 4, on: true });
    assert_eq!(
        rule(&mut k, Op::Connect { slot: 4, addr: abs("srv") }),
        (Outcome::err(Errno::EAGAIN), Some(Rule::BacklogFull))
    );
    // The caller's own state is looked at only after the listener's queue (§1.3 step 6).
    listener(&mut k, 5, "roomy", 5);
    assert_eq!(
        rule(&mut k, Op::Connect { slot: 1, addr: abs("roomy") }),
        (Outcome::err(Errno::EISCONN), Some(Rule::AlreadyConnected))
    );
    assert_eq!(rule(&mut k, Op::Close { slot: 9 }), (Outcome::err(Errno::EBADF), Some(Rule::BadFd)));
    let e = Rule::BacklogFull.explain();
    assert_eq!(e.function, "unix_stream_connect (net/unix/af_unix.c)");
    assert!(e.text.contains("backlog + 1"), "{}", e.text);
}

/// Datagrams queued at an unnamed socket whose connected peer has closed (`peer_gone` on a dgram
/// socket): the plan makes it one end of a socketpair, the other end sends them and closes, and
/// the simulated survivor then behaves as Linux's does (§2.2): the datagrams read back, its first
/// send() is ECONNREFUSED (and purges its queue), later ones ENOTCONN.
#[test]
fn an_orphan_dgram_queue_is_restored_from_a_socketpair_whose_other_end_closes() {
    use resocket_core::{check, load, plan, scenario::Scenario};
    let text = r#"{"sockets": [{"name": "b", "type": "dgram", "peer_gone": true,
        "queue": [{"data": "one"}, {"data": ""}, {"data": "three"}]}]}"#;
    let bytes = Scenario::from_json(text).unwrap().to_image().unwrap();
    let r = load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let b = r.image.sockets.values().next().unwrap();
    assert_eq!((b.common.state, b.common.shutdown), (resocket_core::wire::TCP_ESTABLISHED, 0));
    let p = plan::plan(&r.image).expect("planned");
    let rep = check::run_plan(&r.image, &p);
    assert!(rep.failure.is_none() && rep.differences.is_empty(), "{:#?}", rep.differences);
    // The survivor, as the plan leaves it before its fds are placed.
    let survivor = |reads: bool| {
        let mut k = Kernel::new();
        for s in p.steps.iter().filter(|s| s.phase != plan::Phase::Place) {
            assert!(!matches!(k.apply(&s.op), Outcome::Err { .. }), "{:?}", s.op);
        }
        let slot = b.objref as Slot;
        if reads {
            for m in ["one", "", "three"] {
                assert_eq!(k.apply(&Op::Recv { slot, len: 16, peek: false }), read(m));
            }
        }
        assert_eq!(k.apply(&send(slot, "x")), Outcome::err(Errno::ECONNREFUSED));
        assert_eq!(k.apply(&send(slot, "x")), Outcome::err(Errno::ENOTCONN));
        // The refused send purged what was left.
        assert!(matches!(k.apply(&Op::Recv { slot, len: 16, peek: false }), Outcome::WouldBlock { .. }));
    };
    survivor(true);
    survivor(false);
}

/// A dgram socket whose connected peer closed, holding a datagram from another (live) sender:
/// once it was connected only its peer could send to it, so that datagram was queued before.
/// Unnamed, no one else could have sent it: the planner refuses, naming both sockets; named, it
/// is refilled first, then the socket connects to a stand-in that sends the closed peer's
/// datagram and closes (warned: the stand-in's name is not the peer's); the simulated survivor
/// then reads both, and its first send is ECONNREFUSED. A datagram from another sender after
/// one from the peer cannot have been queued: refused.
#[test]
fn an_orphan_dgram_queue_with_another_sender() {
    use resocket_core::{check, load, plan, scenario::Scenario};
    let image = |addr: &str, queue: &str| {
        let text = format!(
            r#"{{"sockets": [{{"name": "b", "type": "dgram", {addr} "peer_gone": true, "queue": [{queue}]}},
            {{"name": "x", "type": "dgram", "addr": "@x"}}]}}"#
        );
        let bytes = Scenario::from_json(&text).unwrap().to_image().unwrap();
        let r = load(&bytes);
        assert!(r.is_valid(), "{:#?}", r.diagnostics);
        r.image.into_owned()
    };
    let x_then_peer = r#"{"from": "x", "data": "from x"}, {"data": "from the closed peer"}"#;
    let e = plan::plan(&image("", x_then_peer)).expect_err("refused");
    assert!(e.0.contains("dgram #3's connected peer has closed") && e.0.contains("comes from #5"), "{}", e.0);
    let e =
        plan::plan(&image(r#""addr": "@b","#, r#"{"data": "peer"}, {"from": "x", "data": "x"}"#)).expect_err("refused");
    assert!(e.0.contains("is queued after one from that peer"), "{}", e.0);
    for queue in [x_then_peer, r#"{"from": "x", "data": "from x"}"#] {
        let img = image(r#""addr": "@b","#, queue);
        let p = plan::plan(&img).expect("planned");
        let rep = check::run_plan(&img, &p);
        assert!(rep.failure.is_none() && rep.differences.is_empty(), "{:#?}", rep.differences);
        let warned = p.warnings.iter().any(|w| w.code == resocket_core::warn::WarnCode::SenderStandIn);
        assert_eq!(warned, queue == x_then_peer, "{:?}", p.warnings);
        let mut k = Kernel::new();
        for s in p.steps.iter().filter(|s| s.phase != plan::Phase::Place) {
            assert!(!matches!(k.apply(&s.op), Outcome::Err { .. }), "{:?}", s.op);
        }
        let b = img.sockets.values().find(|s| s.unix.as_ref().unwrap().laddr.is_named() && !s.queue.is_empty());
        let slot = b.unwrap().objref as Slot;
        for m in &img.sockets.values().find(|s| !s.queue.is_empty()).unwrap().queue {
            assert_eq!(k.apply(&Op::Recv { slot, len: 64, peek: false }), read(std::str::from_utf8(&m.data).unwrap()));
        }
        assert_eq!(k.apply(&send(slot, "x")), Outcome::err(Errno::ECONNREFUSED));
        assert_eq!(k.apply(&send(slot, "x")), Outcome::err(Errno::ENOTCONN));
    }
}

/// A stream read takes bytes across skbs and stops after the first one carrying fds (taking
/// them); a peek copies what fits and returns the fds of the first fd-carrying skb behind those
/// bytes, however few bytes it asked for (`unix_stream_read_generic`'s `goto again`).
#[test]
fn stream_peek_and_read_stop_at_the_first_skb_with_fds() {
    let mut k = k();
    ok(&mut k, Op::Socketpair { a: 1, b: 2, ty: SockType::Stream });
    ok(&mut k, Op::Socketpair { a: 3, b: 4, ty: SockType::Stream });
    ok(&mut k, send(1, "ab"));
    ok(&mut k, Op::Send { slot: 1, to: None, data: Payload(b"cd".to_vec()), rights: vec![3] });
    ok(&mut k, send(1, "ef"));
    let peek = k.apply(&Op::Recv { slot: 2, len: 1, peek: true });
    let Outcome::Read { data, rights, .. } = peek else { panic!("{peek:?}") };
    assert_eq!((data.0.as_slice(), rights.len()), (&b"a"[..], 1));
    let out = recv(&mut k, 2);
    let Outcome::Read { data, rights, .. } = out else { panic!("{out:?}") };
    assert_eq!((data.0.as_slice(), rights.len()), (&b"abcd"[..], 1));
    assert_eq!(recv(&mut k, 2), read("ef"));
}
