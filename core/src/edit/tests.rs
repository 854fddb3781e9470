//! The editor's unit tests: edits, their refusals, reading images back.

use super::*;
use crate::sim::InetFamily;
use crate::wire::RecordType;
use std::collections::BTreeMap;
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

fn word_type(ty: &str) -> SockType {
    SockType::from_word(ty).unwrap_or_else(|| panic!("type {ty:?}"))
}

fn add(sc: &Scenario, name: &str, ty: &str) -> Scenario {
    apply(sc, &Edit::AddSocket { name: name.into(), family: Family::Unix, ty: word_type(ty) }).unwrap()
}

fn ok(sc: &Scenario, e: Edit) -> Scenario {
    apply(sc, &e).unwrap_or_else(|err| panic!("{e:?}: {err}"))
}

fn err(sc: &Scenario, e: Edit) -> String {
    apply(sc, &e).expect_err("refused").to_string()
}

fn errors(sc: &Scenario) -> Vec<String> {
    let bytes = sc.to_image().expect("writes");
    crate::load(&bytes)
        .diagnostics
        .iter()
        .filter(|d| d.severity == crate::Severity::Error)
        .map(|d| d.to_string())
        .collect()
}

fn s<'a>(sc: &'a Scenario, name: &str) -> &'a SockSpec {
    sc.sockets.iter().find(|s| s.name == name).unwrap()
}

fn server() -> Scenario {
    let sc = add(&Scenario::default(), "L", "stream");
    let sc = ok(&sc, Edit::Bind { name: "L".into(), addr: "/tmp/srv".into() });
    let sc = ok(&sc, Edit::Listen { name: "L".into(), backlog: 2 });
    let sc = add(&sc, "c", "stream");
    ok(&sc, Edit::Connect { client: "c".into(), server: "L".into() })
}

#[test]
fn socketpair_and_send_give_a_valid_image() {
    let sc = add(&add(&Scenario::default(), "a", "stream"), "b", "stream");
    let sc = ok(&sc, Edit::Pair { a: "a".into(), b: "b".into() });
    let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "hi\\x00".into() });
    assert_eq!(s(&sc, "b").queue.len(), 1);
    assert_eq!(s(&sc, "b").queue[0].data.as_deref(), Some("hi\\x00"));
    assert_eq!(s(&sc, "a").pair.as_deref(), Some("b"));
    assert_eq!(errors(&sc), Vec::<String>::new());
    let bytes = sc.to_image().unwrap();
    let img = crate::load(&bytes);
    assert_eq!(img.image.sockets.len(), 2);
    assert_eq!(img.image.sockets.values().map(|s| s.queue.len()).sum::<usize>(), 1);
}

#[test]
fn connect_to_a_listener_is_pending_until_accept() {
    let sc = server();
    assert_eq!(s(&sc, "L").pending.len(), 1);
    // Data sent before accept() waits on the embryo.
    let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "early".into() });
    assert_eq!(s(&sc, "L").pending[0].sent.len(), 1);
    assert_eq!(errors(&sc), Vec::<String>::new());
    let bytes = sc.to_image().unwrap();
    assert_eq!(crate::load(&bytes).image.embryos().len(), 1);

    let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
    assert!(s(&sc, "L").pending.is_empty());
    assert_eq!(s(&sc, "a").accepted_from.as_deref(), Some("L"));
    assert_eq!(s(&sc, "a").peer.as_deref(), Some("c"));
    assert_eq!(s(&sc, "c").peer.as_deref(), Some("a"));
    assert_eq!(s(&sc, "a").queue.len(), 1, "the early data moved to the accepted socket");
    assert_eq!(errors(&sc), Vec::<String>::new());
    assert!(err(&sc, Edit::Accept { listener: "L".into(), name: "b".into() }).contains("EAGAIN"));
}

#[test]
fn lowering_the_backlog_is_allowed_and_the_validator_reports_it() {
    let sc = server();
    let sc = add(&sc, "c2", "stream");
    let sc = ok(&sc, Edit::Connect { client: "c2".into(), server: "L".into() });
    assert!(crate::load(&sc.to_image().unwrap()).diagnostics.is_empty());
    let sc = ok(&sc, Edit::Listen { name: "L".into(), backlog: 0 });
    let bytes = sc.to_image().unwrap();
    let codes: Vec<crate::Code> = crate::load(&bytes).diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec![crate::Code::BacklogExceeded], "two pending connections on backlog 0");
}

#[test]
fn refusals_name_the_errno() {
    let sc = server();
    assert!(err(&sc, Edit::AddSocket { name: "c".into(), family: Family::Unix, ty: SockType::Stream })
        .contains("already named"));
    let sc2 = add(&sc, "d", "dgram");
    assert!(err(&sc2, Edit::Connect { client: "d".into(), server: "L".into() }).contains("EPROTOTYPE"));
    assert!(err(&sc, Edit::Connect { client: "c".into(), server: "L".into() }).contains("EISCONN"));
    let sc3 = add(&sc, "u", "stream");
    assert_eq!(
        apply(&sc3, &Edit::Listen { name: "u".into(), backlog: 1 }).map(|_| ()).map_err(|e| e.rule()),
        Err(Some(crate::sim::Rule::ListenUnbound)),
        "the kernel refuses listen() on an unbound AF_UNIX socket"
    );
    assert!(err(&sc3, Edit::Send { from: "u".into(), to: None, data: "x".into() }).contains("ENOTCONN"));
    assert!(err(&sc3, Edit::Bind { name: "u".into(), addr: "/tmp/srv".into() }).contains("EADDRINUSE"));
    assert!(err(&sc3, Edit::Bind { name: "u".into(), addr: "".into() }).contains("empty"));
    assert!(err(&sc3, Edit::Send { from: "c".into(), to: None, data: "\\q".into() }).contains("bad escape"));
    assert!(err(&sc3, Edit::RemoveSocket { name: "nope".into() }).contains("no socket"));
    assert_eq!(
        apply(&sc3, &Edit::Pair { a: "u".into(), b: "u".into() }).map(|_| ()),
        Err(EditError::Input(BadInput::SamePair))
    );
}

#[test]
fn dgram_send_follows_unix_may_send() {
    let sc = add(&add(&add(&Scenario::default(), "r", "dgram"), "s1", "dgram"), "s2", "dgram");
    assert!(err(&sc, Edit::Connect { client: "s1".into(), server: "r".into() }).contains("bind it first"));
    let sc = ok(&sc, Edit::Bind { name: "r".into(), addr: "@log".into() });
    let sc = ok(&sc, Edit::Connect { client: "s1".into(), server: "r".into() });
    let sc = ok(&sc, Edit::Send { from: "s1".into(), to: None, data: "one".into() });
    let sc = ok(&sc, Edit::Send { from: "s2".into(), to: Some("r".into()), data: "two".into() });
    assert_eq!(s(&sc, "r").queue[0].from.as_deref(), Some("s1"));
    assert_eq!(s(&sc, "r").queue[1].from.as_deref(), Some("s2"));
    assert_eq!(errors(&sc), Vec::<String>::new());
    // r connects to s1 (after binding it): now only s1 may send to r.
    let sc = ok(&sc, Edit::Bind { name: "s1".into(), addr: "@s1".into() });
    let sc = ok(&sc, Edit::Connect { client: "r".into(), server: "s1".into() });
    assert!(err(&sc, Edit::Send { from: "s2".into(), to: Some("r".into()), data: "x".into() }).contains("EPERM"));
    let sc = ok(&sc, Edit::Send { from: "s1".into(), to: None, data: "three".into() });
    assert_eq!(s(&sc, "r").queue[2].from, None, "from the peer: the default sender");
    assert_eq!(errors(&sc), Vec::<String>::new());
}

#[test]
fn shutdown_mirrors_on_a_stream_peer() {
    let sc = add(&add(&Scenario::default(), "a", "stream"), "b", "stream");
    let sc = ok(&sc, Edit::Pair { a: "a".into(), b: "b".into() });
    let sc = ok(&sc, Edit::Shutdown { name: "a".into(), how: How::Wr });
    assert_eq!(s(&sc, "a").shutdown, Some(How::Wr));
    assert_eq!(s(&sc, "b").shutdown, Some(How::Rd));
    assert!(err(&sc, Edit::Send { from: "a".into(), to: None, data: "x".into() }).contains("EPIPE"));
    // a's receiving side is open: b can still send to it.
    let sc = ok(&sc, Edit::Send { from: "b".into(), to: None, data: "x".into() });
    let sc = ok(&sc, Edit::Shutdown { name: "a".into(), how: How::Rd });
    assert_eq!(s(&sc, "a").shutdown, Some(How::Rdwr));
    assert_eq!(s(&sc, "b").shutdown, Some(How::Rdwr));
    assert_eq!(errors(&sc), Vec::<String>::new());
}

#[test]
fn removing_a_socket_shows_the_close_to_its_peers() {
    let sc = add(&add(&Scenario::default(), "a", "stream"), "b", "stream");
    let sc = ok(&sc, Edit::Pair { a: "a".into(), b: "b".into() });
    let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "bye".into() });
    let sc = ok(&sc, Edit::RemoveSocket { name: "a".into() });
    assert_eq!(sc.sockets.len(), 1);
    let b = s(&sc, "b");
    assert!(b.peer_gone && b.pair.is_none() && b.queue.len() == 1);
    assert_eq!(errors(&sc), Vec::<String>::new());

    // A pending client closes: the pending connection stays with no client.
    let sc = ok(&server(), Edit::RemoveSocket { name: "c".into() });
    assert_eq!(s(&sc, "L").pending[0].client, None);
    assert_eq!(errors(&sc), Vec::<String>::new());
    // The listener closes: its pending client sees the close.
    let sc = ok(&server(), Edit::RemoveSocket { name: "L".into() });
    assert!(s(&sc, "c").peer_gone);
    assert_eq!(errors(&sc), Vec::<String>::new());
    // An accepted socket needs its listener.
    let sc = ok(&server(), Edit::Accept { listener: "L".into(), name: "a".into() });
    assert!(err(&sc, Edit::RemoveSocket { name: "L".into() }).contains("remove \"a\" first"));
}

#[test]
fn explicit_tasks_get_fds_for_new_sockets_and_lose_removed_ones() {
    let mut sc = add(&Scenario::default(), "a", "dgram");
    sc.tasks = vec![TaskSpec { pid: 7, fds: BTreeMap::from([(3, "a".to_string())]), cloexec: vec![3] }];
    let sc = add(&sc, "b", "dgram");
    assert_eq!(sc.tasks[0].fds.get(&4).map(String::as_str), Some("b"));
    let sc = ok(&sc, Edit::RemoveSocket { name: "a".into() });
    assert_eq!(sc.tasks[0].fds.len(), 1);
    assert!(sc.tasks[0].cloexec.is_empty());
    assert_eq!(errors(&sc), Vec::<String>::new());
}

#[test]
fn fresh_names_skip_used_ones() {
    let sc = add(&add(&Scenario::default(), "s1", "dgram"), "s3", "dgram");
    assert_eq!(fresh_name(&sc, "s"), "s2");
}

#[test]
fn an_edited_scenario_reads_back_exactly() {
    let sc = ok(&server(), Edit::Send { from: "c".into(), to: None, data: "early".into() });
    let sc = add(&sc, "c2", "stream");
    let sc = ok(&sc, Edit::Connect { client: "c2".into(), server: "L".into() });
    let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
    let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "\\xff\\x00".into() });
    let bytes = sc.to_image().unwrap();
    let back = from_image(&bytes);
    assert_eq!(back.notes, Vec::<String>::new());
    assert_eq!(back.scenario.to_image().unwrap(), bytes);
}

#[test]
fn what_a_scenario_cannot_say_is_noted() {
    // A message from a closed sender on a socket connected to another one.
    let sc = add(&add(&add(&Scenario::default(), "r", "dgram"), "p", "dgram"), "q", "dgram");
    let sc = ok(&sc, Edit::Bind { name: "r".into(), addr: "@r".into() });
    let sc = ok(&sc, Edit::Send { from: "q".into(), to: Some("r".into()), data: "from q".into() });
    let sc = ok(&sc, Edit::Bind { name: "p".into(), addr: "@p".into() });
    let sc = ok(&sc, Edit::Connect { client: "r".into(), server: "p".into() });
    assert!(err(&sc, Edit::RemoveSocket { name: "q".into() }).contains("drop the message first"));
    let mut bytes = sc.to_image().unwrap();
    // Patch the sender objref of the queued message to 0 (closed) by rewriting its record.
    let report = crate::load(&bytes);
    let m = report.image.sockets.values().flat_map(|s| s.queue.iter()).next().unwrap();
    let at =
        crate::image::field_range(m.offset, crate::wire::layout(RecordType::SOCKET_BUFFER).unwrap(), "sk_objref").start;
    bytes[at..at + 4].copy_from_slice(&0i32.to_le_bytes());
    let back = from_image(&bytes);
    assert!(back.notes.iter().any(|n| n.contains("closed socket")), "{:?}", back.notes);
    assert!(back.notes.iter().any(|n| n.contains("differs when written back")), "{:?}", back.notes);
}

// --- AF_INET / AF_INET6 -------------------------------------------------------------------

fn add_in(sc: &Scenario, name: &str, family: &str, ty: &str) -> Scenario {
    let family = Family::from_word(family).unwrap_or_else(|| panic!("family {family:?}"));
    ok(sc, Edit::AddSocket { name: name.into(), family, ty: word_type(ty) })
}

fn bind(sc: &Scenario, name: &str, addr: &str) -> Result<Scenario, String> {
    apply(sc, &Edit::Bind { name: name.into(), addr: addr.into() }).map_err(|e| e.to_string())
}

/// The scenario's image loads without errors, and its restore plan runs on the simulator
/// (the loopback host) to the end and reproduces the image.
fn restores(sc: &Scenario) {
    assert_eq!(errors(sc), Vec::<String>::new(), "{sc:#?}");
    let bytes = sc.to_image().unwrap();
    let report = crate::load(&bytes);
    let plan = crate::plan::plan(&report.image).unwrap_or_else(|e| panic!("plan: {e:?}\n{sc:#?}"));
    let run = crate::check::run_plan(&report.image, &plan);
    assert!(run.is_clean(), "{:?}\n{:?}\n{sc:#?}", run.failure, run.differences);
}

fn tcp_server(family: &str, addr: &str) -> Scenario {
    let sc = add_in(&Scenario::default(), "L", family, "stream");
    let sc = bind(&sc, "L", addr).unwrap();
    let sc = ok(&sc, Edit::Listen { name: "L".into(), backlog: 4 });
    let sc = add_in(&sc, "c", family, "stream");
    ok(&sc, Edit::Connect { client: "c".into(), server: "L".into() })
}

#[test]
fn tcp_listen_connect_send_accept_shutdown_restore() {
    let sc = tcp_server("inet", "127.0.0.1:8080");
    assert_eq!(s(&sc, "L").addr.as_deref(), Some("127.0.0.1:8080"));
    // The client's address as connect() gives it: the loopback source, the first ephemeral port.
    assert_eq!(s(&sc, "c").addr.as_deref(), Some("127.0.0.1:32768"));
    assert_eq!(s(&sc, "L").pending.len(), 1);
    restores(&sc);
    let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "early".into() });
    assert_eq!(s(&sc, "L").pending[0].sent.len(), 1, "before accept() the data waits on the embryo");
    restores(&sc);
    let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
    assert_eq!((s(&sc, "a").family, s(&sc, "a").peer.as_deref()), (Family::Inet, Some("c")));
    assert_eq!(s(&sc, "a").queue.len(), 1);
    restores(&sc);
    let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "reply\\x00".into() });
    assert_eq!(s(&sc, "c").queue.len(), 1);
    restores(&sc);
    // A FIN: the client is FIN_WAIT2, the accepted end CLOSE_WAIT (shut for reading).
    let sc = ok(&sc, Edit::Shutdown { name: "c".into(), how: How::Wr });
    assert_eq!((s(&sc, "c").shutdown, s(&sc, "a").shutdown), (Some(How::Wr), Some(How::Rd)));
    restores(&sc);
    assert!(err(&sc, Edit::Send { from: "c".into(), to: None, data: "x".into() }).contains("EPIPE"));
    let sc2 = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "more".into() });
    restores(&sc2);
    assert!(err(&sc, Edit::Shutdown { name: "a".into(), how: How::Wr }).contains("both FINs"));
    // A second client gets the next port.
    let sc = add_in(&sc, "d", "inet", "stream");
    let sc = ok(&sc, Edit::Connect { client: "d".into(), server: "L".into() });
    assert_eq!(s(&sc, "d").addr.as_deref(), Some("127.0.0.1:32769"));
    restores(&sc);
    let back = from_image(&sc.to_image().unwrap());
    assert_eq!(back.notes, Vec::<String>::new());
}

#[test]
fn tcp_over_ipv6_and_wildcard_listeners() {
    let sc = tcp_server("inet6", "[::1]:8080");
    assert_eq!(s(&sc, "c").addr.as_deref(), Some("[::1]:32768"));
    let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
    let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "hi".into() });
    restores(&sc);
    // A wildcard listener is reached on loopback; listen() of an unbound socket picks a port.
    let sc = tcp_server("inet", "0.0.0.0:80");
    assert_eq!(s(&sc, "c").addr.as_deref(), Some("127.0.0.1:32768"));
    restores(&sc);
    let sc = tcp_server("inet6", "[::]:80");
    assert_eq!(s(&sc, "c").addr.as_deref(), Some("[::1]:32768"));
    restores(&sc);
    let sc = add_in(&Scenario::default(), "L", "inet", "stream");
    let sc = ok(&sc, Edit::Listen { name: "L".into(), backlog: 1 });
    assert_eq!(s(&sc, "L").addr.as_deref(), Some("0.0.0.0:32768"));
    restores(&sc);
    // An IPv4 address on inet6 is v4-mapped, and so is its client's.
    let sc = tcp_server("inet6", "127.0.0.1:81");
    assert_eq!(s(&sc, "L").addr.as_deref(), Some("[::ffff:127.0.0.1]:81"));
    assert_eq!(s(&sc, "c").addr.as_deref(), Some("[::ffff:127.0.0.1]:32768"));
    restores(&sc);
}

#[test]
fn udp_connect_and_sendto() {
    let sc = add_in(&add_in(&Scenario::default(), "r", "inet", "dgram"), "s", "inet", "dgram");
    let sc = bind(&sc, "r", "127.0.0.1:5353").unwrap();
    assert!(err(&sc, Edit::Send { from: "s".into(), to: None, data: "x".into() }).contains("EDESTADDRREQ"));
    // sendto() from an unbound socket: autobound on the wildcard address.
    let sc = ok(&sc, Edit::Send { from: "s".into(), to: Some("r".into()), data: "one".into() });
    assert_eq!(s(&sc, "s").addr.as_deref(), Some("0.0.0.0:32768"));
    assert_eq!(s(&sc, "r").queue[0].from.as_deref(), Some("s"));
    restores(&sc);
    let sc = add_in(&sc, "c", "inet", "dgram");
    let sc = ok(&sc, Edit::Connect { client: "c".into(), server: "r".into() });
    assert_eq!((s(&sc, "c").addr.as_deref(), s(&sc, "c").peer.as_deref()), (Some("127.0.0.1:32769"), Some("r")));
    let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "two".into() });
    restores(&sc);
    // r connects to c: now only c's datagrams reach it; what it holds from s still names s.
    let sc = ok(&sc, Edit::Connect { client: "r".into(), server: "c".into() });
    assert!(err(&sc, Edit::Send { from: "s".into(), to: Some("r".into()), data: "x".into() }).contains("only from"));
    let sc = ok(&sc, Edit::Send { from: "c".into(), to: None, data: "three".into() });
    assert_eq!(s(&sc, "r").queue.iter().map(|m| m.from.as_deref()).collect::<Vec<_>>(), [Some("s"), None, None]);
    restores(&sc);
    let sc = ok(&sc, Edit::Shutdown { name: "c".into(), how: How::Wr });
    assert_eq!(s(&sc, "r").shutdown, None, "UDP tells the peer nothing");
    assert!(err(&sc, Edit::Send { from: "c".into(), to: None, data: "x".into() }).contains("EPIPE"));
    restores(&sc);
    assert!(err(&sc, Edit::Shutdown { name: "s".into(), how: How::Rd }).contains("ENOTCONN"));
    // A UDP peer bound to the wildcard cannot be named by address.
    let sc = add_in(&add_in(&sc, "w", "inet", "dgram"), "x", "inet", "dgram");
    let sc = bind(&sc, "w", "0.0.0.0:7").unwrap();
    assert!(err(&sc, Edit::Connect { client: "x".into(), server: "w".into() }).contains("wildcard"));
    let sc = ok(&sc, Edit::Send { from: "x".into(), to: Some("w".into()), data: "to any".into() });
    restores(&sc);
}

#[test]
fn inet_refusals_name_linux_errnos() {
    let e = |family: Family, ty: SockType| err(&Scenario::default(), Edit::AddSocket { name: "x".into(), family, ty });
    assert!(e(Family::Inet, SockType::Seqpacket).contains("ESOCKTNOSUPPORT"));
    assert!(e(Family::Inet6, SockType::Seqpacket).contains("ESOCKTNOSUPPORT"));
    let sc = add_in(&add_in(&Scenario::default(), "a", "inet", "stream"), "b", "inet", "stream");
    assert!(err(&sc, Edit::Pair { a: "a".into(), b: "b".into() }).contains("EOPNOTSUPP"));
    assert!(bind(&sc, "a", "10.0.0.1:80").unwrap_err().contains("EADDRNOTAVAIL"));
    assert!(bind(&sc, "a", "[::1]:80").unwrap_err().contains("EAFNOSUPPORT"));
    assert!(bind(&sc, "a", "localhost:80").unwrap_err().contains("not an address"));
    assert!(bind(&sc, "a", "127.255.255.255:80").is_ok(), "the broadcast address of lo's prefix");
    let sc1 = bind(&sc, "a", "127.0.0.1:80").unwrap();
    assert!(bind(&sc1, "a", "127.0.0.1:81").unwrap_err().contains("EINVAL"));
    assert!(bind(&sc1, "b", "127.0.0.1:80").unwrap_err().contains("EADDRINUSE"));
    assert!(bind(&sc1, "b", "0.0.0.0:80").unwrap_err().contains("EADDRINUSE"));
    assert!(bind(&sc1, "b", "127.0.0.2:80").is_ok());
    assert_eq!(bind(&sc1, "b", "127.0.0.1:0").unwrap().sockets[1].addr.as_deref(), Some("127.0.0.1:32768"));
    // UDP ports are another space; an inet6 wildcard also takes IPv4 (not IPV6_V6ONLY).
    let sc2 = add_in(&add_in(&sc1, "u", "inet", "dgram"), "v", "inet6", "stream");
    assert!(bind(&sc2, "u", "127.0.0.1:80").is_ok());
    assert!(bind(&sc2, "v", "[::]:80").unwrap_err().contains("EADDRINUSE"));
    assert!(bind(&sc2, "v", "[::1]:80").is_ok());
    assert!(bind(&sc2, "v", "[fe80::1]:80").unwrap_err().contains("EINVAL"));
    assert!(bind(&sc2, "v", "[2001:db8::1]:80").unwrap_err().contains("EADDRNOTAVAIL"));
    assert!(err(&sc2, Edit::Listen { name: "u".into(), backlog: 1 }).contains("EOPNOTSUPP"));
    assert!(err(&sc1, Edit::Connect { client: "b".into(), server: "a".into() }).contains("ECONNREFUSED"));
    let sc3 = bind(&sc2, "u", "127.0.0.1:80").unwrap();
    assert!(err(&sc3, Edit::Connect { client: "b".into(), server: "u".into() }).contains("ECONNREFUSED"));
    assert!(err(&sc2, Edit::Connect { client: "v".into(), server: "a".into() }).contains("one family"));
    assert!(err(&sc1, Edit::Send { from: "b".into(), to: None, data: "x".into() }).contains("EPIPE"));
    let srv = tcp_server("inet", "127.0.0.1:8080");
    assert!(err(&srv, Edit::Connect { client: "c".into(), server: "L".into() }).contains("EISCONN"));
    assert!(err(&srv, Edit::Send { from: "L".into(), to: None, data: "x".into() }).contains("EPIPE"));
    assert!(err(&srv, Edit::Bind { name: "c".into(), addr: "127.0.0.1:9".into() }).contains("EINVAL"));
    assert!(err(&srv, Edit::RemoveSocket { name: "c".into() }).contains("on their own"));
    // Closing an INET socket on its own is fine.
    restores(&ok(&sc1, Edit::RemoveSocket { name: "a".into() }));
}

#[test]
fn reuse_options_follow_the_simulators_rule_at_bind_and_listen() {
    // Two SO_REUSEADDR sockets share a port until one listens; then the other's listen fails.
    let mut sc = add_in(&add_in(&Scenario::default(), "a", "inet", "stream"), "b", "inet", "stream");
    for s in &mut sc.sockets {
        s.reuseaddr = true;
    }
    let sc = bind(&bind(&sc, "a", "127.0.0.1:80").unwrap(), "b", "127.0.0.1:80").unwrap();
    let sc = ok(&sc, Edit::Listen { name: "a".into(), backlog: 1 });
    assert!(err(&sc, Edit::Listen { name: "b".into(), backlog: 1 }).contains("EADDRINUSE"));
}

/// The editor's bind answers are the simulator's: every pair of binds among these addresses
/// and options, done by `bind` edits and by `Op::Bind` on the simulated kernel.
#[test]
fn inet_binds_agree_with_the_simulator() {
    use crate::sim::{Kernel, Op, Outcome, SockAddr, SockOpt, SockType};
    let addrs: [(&str, &str); 8] = [
        ("inet", "127.0.0.1:80"),
        ("inet", "0.0.0.0:80"),
        ("inet", "127.0.0.2:80"),
        ("inet", "192.0.2.1:80"),
        ("inet6", "[::1]:80"),
        ("inet6", "[::]:80"),
        ("inet6", "[::ffff:127.0.0.1]:80"),
        ("inet6", "[::ffff:0.0.0.0]:80"),
    ];
    let mut compared = 0;
    for ty in ["stream", "dgram"] {
        for (reuse, v6only) in [(false, false), (true, false), (false, true)] {
            for &(fa, aa) in &addrs {
                for &(fb, ab) in &addrs {
                    let mut sc = add_in(&add_in(&Scenario::default(), "a", fa, ty), "b", fb, ty);
                    let mut k = Kernel::new();
                    for (slot, (f, s)) in [1u32, 2].into_iter().zip([fa, fb].into_iter().zip(sc.sockets.iter_mut())) {
                        s.reuseaddr = reuse;
                        s.v6only = v6only && f == "inet6";
                        let family = if f == "inet6" { InetFamily::Inet6 } else { InetFamily::Inet };
                        let sty = if ty == "stream" { SockType::Stream } else { SockType::Dgram };
                        assert!(k.apply(&Op::SocketInet { slot, family, ty: sty }).is_ok());
                        assert!(k.apply(&Op::SetSockOpt { slot, opt: SockOpt::ReuseAddr(reuse) }).is_ok());
                        if s.v6only {
                            assert!(k.apply(&Op::SetSockOpt { slot, opt: SockOpt::V6Only(true) }).is_ok());
                        }
                    }
                    let sim_bind = |k: &mut Kernel, slot, a: &str| {
                        k.apply(&Op::Bind { slot, addr: SockAddr::Inet(a.parse().unwrap()) })
                    };
                    let first = sim_bind(&mut k, 1, aa);
                    let Ok(sc) = bind(&sc, "a", aa) else {
                        assert!(!first.is_ok(), "{ty} {aa}: the simulator binds it");
                        continue;
                    };
                    assert!(first.is_ok(), "{ty} {aa}: the editor binds it, the simulator says {first:?}");
                    let sim = sim_bind(&mut k, 2, ab);
                    let ed = bind(&sc, "b", ab);
                    let errno = match &sim {
                        Outcome::Err { errno } => Some(errno.to_string()),
                        _ => None,
                    };
                    match (&ed, errno) {
                        (Ok(_), None) => {}
                        (Err(e), Some(n)) if e.contains(&n) => {}
                        _ => panic!(
                            "{ty} reuse={reuse} v6only={v6only}: {aa} then {ab}: editor {ed:?}, simulator {sim:?}"
                        ),
                    }
                    compared += 1;
                }
            }
        }
    }
    assert!(compared > 200, "{compared}");
}

#[test]
fn garbage_reads_back_without_panicking() {
    for bytes in [&b""[..], b"\x01\x00\x00\x00\x08\x00\x00\x00", &[0xffu8; 64]] {
        let back = from_image(bytes);
        assert!(!back.notes.is_empty());
    }
}

/// The rule an edit was refused by (`None`: refused by the editor, not the kernel).
fn refused_by(sc: &Scenario, e: Edit) -> Option<crate::sim::Rule> {
    let err = apply(sc, &e).expect_err("refused");
    if let EditError::Kernel(k) = &err {
        let text = err.to_string();
        let rule = k.rule.expect("a kernel refusal names its rule");
        let x = rule.explain();
        assert!(
            text.contains(x.function) && text.contains(x.condition) && text.contains(rule.name()),
            "{e:?}: the refusal shows the rule's function, condition and name: {text}"
        );
    }
    err.rule()
}

#[test]
fn edit_refusals_are_the_kernels_with_its_rule() {
    use crate::sim::Rule;
    let sc = server();
    let d = add(&sc, "d", "dgram");
    let u = add(&sc, "u", "stream");
    let inet = add_in(&Scenario::default(), "t", "inet", "stream");
    let cases: Vec<(&Scenario, Edit, Rule)> = vec![
        (&d, Edit::Connect { client: "d".into(), server: "L".into() }, Rule::WrongSocketType),
        (&sc, Edit::Connect { client: "c".into(), server: "L".into() }, Rule::AlreadyConnected),
        (&u, Edit::Listen { name: "u".into(), backlog: 1 }, Rule::ListenUnbound),
        (&u, Edit::Send { from: "u".into(), to: None, data: "x".into() }, Rule::NotConnected),
        (&u, Edit::Bind { name: "u".into(), addr: "/tmp/srv".into() }, Rule::PathExists),
        (&d, Edit::Listen { name: "d".into(), backlog: 1 }, Rule::ListenOnDgram),
        (&sc, Edit::Accept { listener: "c".into(), name: "a".into() }, Rule::AcceptNotListening),
        (
            &inet,
            Edit::AddSocket { name: "q".into(), family: Family::Inet, ty: SockType::Seqpacket },
            Rule::InetNoSeqpacket,
        ),
        (&inet, Edit::Bind { name: "t".into(), addr: "192.0.2.1:80".into() }, Rule::AddressNotLocal),
        (&inet, Edit::Bind { name: "t".into(), addr: "[::1]:80".into() }, Rule::InetAddressFamily),
    ];
    for (sc, e, rule) in cases {
        assert_eq!(refused_by(sc, e.clone()), Some(rule), "{e:?}");
    }
    // Accept of a listener whose queue is empty: the non-blocking answer, EAGAIN.
    let sc = ok(&sc, Edit::Accept { listener: "L".into(), name: "a".into() });
    let err = apply(&sc, &Edit::Accept { listener: "L".into(), name: "b".into() }).unwrap_err();
    assert_eq!(err.rule(), Some(Rule::AcceptQueueEmpty));
    assert!(err.to_string().starts_with("accept(): EAGAIN"), "{err}");
}

#[test]
fn the_editor_answers_what_only_the_kernel_decides() {
    // The editor has no code about a dgram receiver's queue limit (`max_dgram_qlen`, 10) or
    // the port a listen() picks: the kernel's rules decide, so the answers follow them.
    let sc = add(&add(&Scenario::default(), "r", "dgram"), "s", "dgram");
    let mut sc = ok(&sc, Edit::Bind { name: "r".into(), addr: "@q".into() });
    // unix_recvq_full(): more queued than the limit, so 11 fit.
    for _ in 0..11 {
        sc = ok(&sc, Edit::Send { from: "s".into(), to: Some("r".into()), data: "d".into() });
    }
    assert_eq!(
        refused_by(&sc, Edit::Send { from: "s".into(), to: Some("r".into()), data: "d".into() }),
        Some(crate::sim::Rule::DgramReceiverQueueFull)
    );
    // Two TCP sockets bound to one port with SO_REUSEADDR may both exist; both listening may not
    // (inet_csk_get_port), and the editor says so by the kernel's rule.
    let mut sc = add_in(&Scenario::default(), "a", "inet", "stream");
    sc.sockets[0].reuseaddr = true;
    let sc = bind(&sc, "a", "127.0.0.1:80").unwrap();
    let sc = ok(&sc, Edit::Listen { name: "a".into(), backlog: 1 });
    let mut sc = add_in(&sc, "b", "inet", "stream");
    sc.sockets[1].reuseaddr = true;
    assert_eq!(
        refused_by(&sc, Edit::Bind { name: "b".into(), addr: "127.0.0.1:80".into() }),
        Some(crate::sim::Rule::PortInUse)
    );
}

#[test]
fn what_the_scenario_form_cannot_hold_is_the_editors_typed_refusal() {
    let sc = tcp_server("inet", "127.0.0.1:8080");
    // TCP ignores sendto()'s address; Linux sends to the peer, the editor asks for "its peer".
    let sc = add_in(&sc, "o", "inet", "stream");
    assert_eq!(
        apply(&sc, &Edit::Send { from: "c".into(), to: Some("o".into()), data: "x".into() }),
        Err(EditError::Form(FormLimit::TcpSendtoElsewhere))
    );
    assert_eq!(
        apply(&sc, &Edit::Send { from: "c".into(), to: None, data: "".into() }),
        Err(EditError::Form(FormLimit::EmptyStreamSend))
    );
    // A scenario the planner cannot restore cannot be asked.
    // (Two sockets bound to one linked path: the second bind() of the restore fails.)
    let mut broken = add(&server(), "x", "stream");
    broken.sockets[2].addr = Some("/tmp/srv".into());
    let r = apply(&broken, &Edit::Listen { name: "x".into(), backlog: 1 });
    assert!(matches!(r, Err(EditError::NotOnKernel(_))), "{r:?}");
}

/// Closing a dgram socket's connected peer leaves it pointing at a dead peer (`peer_gone`), with
/// the datagrams that peer sent (now from sender 0); its next send is ECONNREFUSED, the
/// kernel's answer on the scenario's kernel (`dgram-peer-closed`); a connect elsewhere purges
/// its queue, as unix_dgram_disconnected does, and it is connected to its new peer.
#[test]
fn closing_a_dgram_peer_leaves_the_survivor_pointing_at_a_dead_peer() {
    let sc = add(&add(&Scenario::default(), "a", "dgram"), "b", "dgram");
    let sc = ok(&sc, Edit::Pair { a: "a".into(), b: "b".into() });
    let sc = ok(&sc, Edit::Send { from: "a".into(), to: None, data: "last".into() });
    let sc = ok(&sc, Edit::RemoveSocket { name: "a".into() });
    let b = s(&sc, "b");
    assert!(b.peer_gone && b.pair.is_none() && b.peer.is_none(), "{b:?}");
    assert_eq!(
        b.queue.iter().map(|m| (m.from.clone(), m.data.clone())).collect::<Vec<_>>(),
        [(None, Some("last".into()))]
    );
    assert_eq!(errors(&sc), Vec::<String>::new());
    // Its own send: refused by the kernel, ECONNREFUSED.
    let e = err(&sc, Edit::Send { from: "b".into(), to: None, data: "x".into() });
    assert!(e.contains("ECONNREFUSED"), "{e}");
    // Connected elsewhere: the queue is purged, the peer is the new one.
    let sc = add(&sc, "c", "dgram");
    let sc = ok(&sc, Edit::Bind { name: "c".into(), addr: "@edit-c".into() });
    let sc = ok(&sc, Edit::Connect { client: "b".into(), server: "c".into() });
    let b = s(&sc, "b");
    assert!(!b.peer_gone && b.peer.as_deref() == Some("c") && b.queue.is_empty(), "{b:?}");
    assert_eq!(errors(&sc), Vec::<String>::new());
    // It can send to its new peer.
    let sc = ok(&sc, Edit::Send { from: "b".into(), to: None, data: "hello c".into() });
    assert_eq!(s(&sc, "c").queue.len(), 1);
}

/// A dgram socket connected to a live peer that holds datagrams, connected elsewhere: Linux
/// purges its queue (the scenario follows), and an old peer connected back gets a pending
/// ECONNRESET the scenario cannot hold: refused with the reason.
#[test]
fn reconnecting_a_dgram_socket_purges_its_queue() {
    let sc = add(&add(&add(&Scenario::default(), "a", "dgram"), "b", "dgram"), "c", "dgram");
    let sc = ok(&sc, Edit::Bind { name: "a".into(), addr: "@edit-ra".into() });
    let sc = ok(&sc, Edit::Bind { name: "b".into(), addr: "@edit-rb".into() });
    let sc = ok(&sc, Edit::Bind { name: "c".into(), addr: "@edit-rc".into() });
    let sc = ok(&sc, Edit::Send { from: "c".into(), to: Some("a".into()), data: "to a".into() });
    let sc = ok(&sc, Edit::Connect { client: "a".into(), server: "b".into() });
    assert_eq!(s(&sc, "a").queue.len(), 1, "connecting from no peer purges nothing");
    let sc2 = ok(&sc, Edit::Connect { client: "a".into(), server: "c".into() });
    assert!(s(&sc2, "a").queue.is_empty(), "{:?}", s(&sc2, "a"));
    assert_eq!(errors(&sc2), Vec::<String>::new());
    // b connected back to a: the purge leaves b an ECONNRESET.
    let sc = ok(&sc, Edit::Connect { client: "b".into(), server: "a".into() });
    let e = err(&sc, Edit::Connect { client: "a".into(), server: "c".into() });
    assert!(e.contains("ECONNRESET"), "{e}");
}
