//! INET restores on the real kernel (issue 6): each fixture image is planned (core), executed by
//! the native executor in a fresh network namespace with `lo` up, and the sockets it placed are
//! read back by `restore run --verify`'s own comparison (`run::verify`), plus the accept order
//! (pending connections accepted here, in order, with the data their clients sent before
//! accept()). Verify is also shown to report what differs from an image the restore does not
//! match.

use crate::differential_inet::fresh_netns_with_lo;
use resocket_core::image::inet::canonical;
use resocket_core::image::Image;
use resocket_core::{load, plan};
use resocket_restore::exec::{Config, Executor, Held, PlaceMode};
use rustix::fd::{AsFd, BorrowedFd};
use rustix::net::{self, RecvFlags};
use std::net::SocketAddr;
use std::path::Path;

fn image(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/images/valid/{name}.rsimg"));
    std::fs::read(p).expect("fixture image")
}

fn restore(img: &Image<'_>) -> (Executor, plan::Plan) {
    let plan = plan::plan(img).expect("a plan");
    let mut ex = Executor::new(Config { root: None, place: PlaceMode::HoldAll, fd_base: 1024, inherit_all: false });
    for (i, step) in plan.steps.iter().enumerate() {
        let out = ex.apply(&step.op);
        assert!(out.is_ok(), "step {i} `{}` gave {out:?}", plan.describe(i));
    }
    (ex, plan)
}

fn objref_of(img: &Image<'_>, h: &Held) -> i32 {
    let t = img.tables.iter().find(|t| t.pid.unwrap_or(0) == h.pid).expect("table");
    let fd = t.fds.iter().find(|f| f.fd == h.fd).expect("fd");
    img.files.get(&fd.file).expect("file").repr.sock_objref
}

fn inet(a: Option<net::SocketAddrAny>) -> Option<SocketAddr> {
    a.and_then(|a| SocketAddr::try_from(a).ok()).map(canonical)
}

/// Bytes waiting in a socket, read without consuming them.
fn peek_all(fd: BorrowedFd<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    match net::recv(fd, &mut buf, RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        Ok((n, _)) => buf[..n].to_vec(),
        Err(_) => Vec::new(),
    }
}

/// Compare every held socket with the image: `restore run --verify`'s comparison
/// (`run::verify`: addresses, options, TCP states, backlogs, accept queues, queued data), plus
/// what verify cannot see without changing the state: the accept order, read here by accepting
/// every pending connection (in order, with the data its client sent before accept()).
fn check(img: &Image<'_>, ex: &Executor) -> Vec<String> {
    let mut out = resocket_restore::run::verify(img, &ex.held, None);
    // Accepted here and kept open until the end (closing one with unread data would reset its
    // client).
    let mut accepted = Vec::new();
    for h in &ex.held {
        let s = img.sockets.get(&objref_of(img, h)).expect("socket");
        if !s.is_listener() {
            continue;
        }
        let fd = h.owned.as_fd();
        // The restored listener is blocking, as the image recorded (O_NONBLOCK off): accept
        // without waiting (the flag is the test's own from here on).
        rustix::fs::fcntl_setfl(fd, rustix::fs::OFlags::NONBLOCK).expect("F_SETFL");
        let mut got = Vec::new();
        while let Ok(c) = net::accept_with(fd, net::SocketFlags::NONBLOCK) {
            got.push((inet(net::getpeername(&c).ok().flatten()), peek_all(c.as_fd())));
            accepted.push(c);
        }
        let want: Vec<(Option<SocketAddr>, Vec<u8>)> = s
            .pending
            .iter()
            .map(|p| {
                let e = img.sockets.get(&p.embryo);
                (
                    e.and_then(|e| e.inet_remote()).map(canonical),
                    e.map(|e| e.queue.iter().flat_map(|m| m.data.to_vec()).collect()).unwrap_or_default(),
                )
            })
            .collect();
        if want != got {
            out.push(format!("#{} accept order: image {want:?}, kernel {got:?}", s.objref));
        }
    }
    out
}

fn round_trip(name: &str) -> (Vec<String>, Vec<String>) {
    fresh_netns_with_lo();
    let bytes = image(name);
    let report = load(&bytes);
    assert!(report.is_valid(), "{name}: {:?}", report.diagnostics);
    let (mut ex, plan) = restore(&report.image);
    let diffs = check(&report.image, &ex);
    ex.rollback();
    (diffs, plan.warnings.into_iter().map(|w| w.message).collect())
}

#[test]
fn a_tcp_server_with_accepted_and_pending_loopback_clients_and_queued_data_round_trips() {
    let (diffs, warnings) = round_trip("inet-loopback");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn listeners_on_the_ipv6_wildcard_and_on_127_0_0_1_with_v4_and_v6_clients_round_trip() {
    let (diffs, warnings) = round_trip("inet6-listeners");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_udp_pair_with_datagrams_from_two_senders_round_trips() {
    let (diffs, warnings) = round_trip("udp");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_single_tcp_listener_round_trips() {
    let (diffs, _) = round_trip("inet-listener");
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn connections_to_peers_outside_the_image_come_back_closed_with_a_warning_each() {
    let (diffs, warnings) = round_trip("inet-external");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(
        warnings.iter().any(|w| w.contains("#3") && w.contains("203.0.113.7:443") && w.contains("closed")),
        "{warnings:?}"
    );
    assert!(warnings.iter().any(|w| w.contains("#5") && w.contains("198.51.100.1:53")), "{warnings:?}");
}

#[test]
fn a_half_closed_connection_and_more_pending_clients_than_the_backlog_round_trip() {
    let (diffs, warnings) = round_trip("inet-half-closed");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn two_mib_of_unread_tcp_data_each_way_round_trip() {
    let _heavy = crate::differential_inet::QUIET.write().unwrap_or_else(|e| e.into_inner());
    // The bound of sim::inet::TCP_QUEUE_LIMIT, on the real kernel.
    fresh_netns_with_lo();
    let n = resocket_core::sim::inet::TCP_QUEUE_LIMIT;
    let text = format!(
        r#"{{"sockets": [
        {{"name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 4}},
        {{"name": "c", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "a", "queue": [{{"repeat": {n}}}]}},
        {{"name": "a", "type": "stream", "family": "inet", "peer": "c", "accepted_from": "L", "queue": [{{"repeat": {n}}}]}}]}}"#
    );
    let bytes = resocket_core::scenario::Scenario::from_json(&text).unwrap().to_image().unwrap();
    let report = load(&bytes);
    let (mut ex, _) = restore(&report.image);
    for h in &ex.held {
        let s = report.image.sockets.get(&objref_of(&report.image, h)).unwrap();
        if s.is_listener() {
            continue;
        }
        // Everything arrives (some of it may still sit in the sender's queue a moment).
        let fd = h.owned.as_fd();
        let mut got = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while got < n && std::time::Instant::now() < deadline {
            match net::recv(fd, &mut buf, RecvFlags::DONTWAIT) {
                Ok((k, _)) if k > 0 => got += k,
                _ => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        assert_eq!(got, n, "#{}", s.objref);
    }
    ex.rollback();
}

#[test]
fn a_thousand_queued_datagrams_all_come_back() {
    let _heavy = crate::differential_inet::QUIET.write().unwrap_or_else(|e| e.into_inner());
    // More than the default receive buffer holds (UDP drops silently when sk_rmem_alloc passes
    // sk_rcvbuf): the plan raises the receiver's buffer for the refill.
    fresh_netns_with_lo();
    let msgs: Vec<String> = (0..1000).map(|i| format!(r#"{{"from": "s", "data": "datagram {i}"}}"#)).collect();
    let text = format!(
        r#"{{"sockets": [
        {{"name": "r", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5000", "queue": [{}]}},
        {{"name": "s", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5001"}}]}}"#,
        msgs.join(",")
    );
    let bytes = resocket_core::scenario::Scenario::from_json(&text).unwrap().to_image().unwrap();
    let report = load(&bytes);
    let (mut ex, _) = restore(&report.image);
    let diffs = check(&report.image, &ex);
    ex.rollback();
    assert!(diffs.is_empty(), "{}", diffs.join("\n").chars().take(2000).collect::<String>());
}

/// The inet-loopback fixture's source with one change.
fn mutated(from: &str, to: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/src/valid/inet-loopback.json");
    let text = std::fs::read_to_string(p).unwrap();
    assert!(text.contains(from), "{from}");
    let text = text.replacen(from, to, 1);
    resocket_core::scenario::Scenario::from_json(&text).unwrap().to_image().unwrap()
}

#[test]
fn verify_reports_each_way_the_kernel_state_differs_from_the_image() {
    fresh_netns_with_lo();
    let bytes = image("inet-loopback");
    let report = load(&bytes);
    let (mut ex, _) = restore(&report.image);
    assert_eq!(resocket_restore::run::verify(&report.image, &ex.held, None), Vec::<String>::new());
    for (from, to, said) in [
        (r#""listen": 16"#, r#""listen": 8"#, "backlog (inet_diag) is 16, the image says 8"),
        (r#""reuseaddr": true,"#, "", "SO_REUSEADDR is true, the image says false"),
        ("HTTP/1.1 200 OK", "HTTP/1.1 404 NO", "unread bytes are HTTP/1.1 200 OK"),
        ("early hello", "hello", "accept queue (inet_diag)"),
        (
            r#""addr": "127.0.0.1:40000""#,
            r#""addr": "127.0.0.1:40009""#,
            "getsockname is 127.0.0.1:40000, the image says 127.0.0.1:40009",
        ),
    ] {
        let other = mutated(from, to);
        let r = load(&other);
        assert!(r.is_valid(), "{to}: {:?}", r.diagnostics);
        let diffs = resocket_restore::run::verify(&r.image, &ex.held, None);
        assert!(diffs.iter().any(|d| d.contains(said)), "{to}: want {said:?} in {diffs:#?}");
    }
    ex.rollback();
}

#[test]
fn verify_reads_shutdown_bits_and_the_tcp_state() {
    fresh_netns_with_lo();
    // Restored half-closed, compared with the same connection not shut down.
    let bytes = image("inet-half-closed");
    let report = load(&bytes);
    let (mut ex, _) = restore(&report.image);
    assert_eq!(resocket_restore::run::verify(&report.image, &ex.held, None), Vec::<String>::new());
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/src/valid/inet-half-closed.json");
    let text = std::fs::read_to_string(p).unwrap();
    assert!(text.contains(r#", "shutdown": "wr""#), "{text}");
    let text = text.replacen(r#", "shutdown": "wr""#, "", 1);
    let other = resocket_core::scenario::Scenario::from_json(&text).unwrap().to_image().unwrap();
    let r = load(&other);
    let diffs = resocket_restore::run::verify(&r.image, &ex.held, None);
    assert!(
        diffs.iter().any(|d| d.contains("TCP state, shutdown (inet_diag) is (5, 2), the image says (1, 0)")),
        "{diffs:#?}"
    );
    ex.rollback();
}

/// UDP buffers as set, TCP buffers where SO_SNDBUF/SO_RCVBUF locked them (the small TCP receive
/// buffer is set after the refill, so the 64 KiB queued on it arrive whole).
const BUFFERS: &str = r#"{"sockets": [
    {"name": "u", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5000", "sndbuf": 9000, "rcvbuf": 8192,
     "queue": [{"from": "v", "data": "hello"}]},
    {"name": "v", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5001", "sndbuf": 1000},
    {"name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 4,
     "rcvbuf": 65536, "rcvbuf_lock": true},
    {"name": "c", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "a",
     "sndbuf": 50000, "sndbuf_lock": true, "rcvbuf": 4608, "rcvbuf_lock": true,
     "queue": [{"repeat": 65536}]},
    {"name": "a", "type": "stream", "family": "inet", "peer": "c", "accepted_from": "L", "sndbuf": 3000000}
]}"#;

#[test]
fn udp_buffers_and_locked_tcp_buffers_are_restored_and_verified() {
    fresh_netns_with_lo();
    let bytes = resocket_core::scenario::Scenario::from_json(BUFFERS).unwrap().to_image().unwrap();
    let report = load(&bytes);
    assert!(report.is_valid(), "{:?}", report.diagnostics);
    let (mut ex, plan) = restore(&report.image);
    let diffs = check(&report.image, &ex);
    let bufs: Vec<(i32, i32, i32)> = ex
        .held
        .iter()
        .map(|h| {
            let fd = h.owned.as_fd();
            (
                objref_of(&report.image, h),
                net::sockopt::socket_send_buffer_size(fd).unwrap() as i32,
                net::sockopt::socket_recv_buffer_size(fd).unwrap() as i32,
            )
        })
        .collect();
    assert!(diffs.is_empty(), "{diffs:#?}\n{bufs:?}\n{:#?}", plan.steps);
    // The kernel's own answers: doubled values as given, its minimum (4608) for v's 1000, the
    // unlocked sndbuf of the accepted end left to TCP (not 3000000).
    let by = |name_sndbuf: i32| bufs.iter().any(|&(_, snd, _)| snd == name_sndbuf);
    assert!(by(9000) && by(4608) && by(50000), "{bufs:?}");
    assert!(!bufs.iter().any(|&(_, snd, _)| snd == 3_000_000), "{bufs:?}");
    // verify reports a buffer that differs.
    let other = BUFFERS.replace(r#""rcvbuf": 8192"#, r#""rcvbuf": 16384"#);
    let other = resocket_core::scenario::Scenario::from_json(&other).unwrap().to_image().unwrap();
    let r = load(&other);
    let d = resocket_restore::run::verify(&r.image, &ex.held, None);
    assert!(d.iter().any(|l| l.contains("SO_RCVBUF is 8192, the image says 16384")), "{d:#?}");
    ex.rollback();
}

#[test]
fn a_self_connected_tcp_socket_comes_back_connected_to_itself_with_its_data() {
    fresh_netns_with_lo();
    let text = r#"{"sockets": [
        {"name": "s", "type": "stream", "family": "inet", "addr": "127.0.0.1:7000", "peer": "s",
         "queue": [{"data": "note to "}, {"data": "self"}]},
        {"name": "s6", "type": "stream", "family": "inet6", "addr": "[::1]:7001", "peer": "s6"}
    ]}"#;
    let bytes = resocket_core::scenario::Scenario::from_json(text).unwrap().to_image().unwrap();
    let report = load(&bytes);
    assert!(report.is_valid(), "{:?}", report.diagnostics);
    let (mut ex, plan) = restore(&report.image);
    assert!(plan.warnings.is_empty(), "{:?}", plan.warnings);
    let diffs = check(&report.image, &ex);
    assert!(diffs.is_empty(), "{diffs:#?}");
    for h in &ex.held {
        let fd = h.owned.as_fd();
        let own = inet(net::getsockname(fd).ok());
        assert!(own.is_some() && own == inet(net::getpeername(fd).ok().flatten()), "{own:?}");
    }
    ex.rollback();
}

#[test]
fn eight_mib_of_unread_tcp_data_each_way_come_back_whole() {
    let _heavy = crate::differential_inet::QUIET.write().unwrap_or_else(|e| e.into_inner());
    // Above sim::inet::TCP_QUEUE_LIMIT: the plan raises each receiver's buffer before its SYN
    // (the listener's, for the accepted end) and each sender's before the refill
    // (sim::inet::big_queue_fits); verify then peeks every byte (waiting up to a second for a
    // tail still in the sender's queue).
    fresh_netns_with_lo();
    let half = 4 << 20;
    let text = format!(
        r#"{{"sockets": [
        {{"name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 4}},
        {{"name": "c", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "a",
          "queue": [{{"repeat": {half}}}, {{"data": "and the end"}}, {{"repeat": {half}}}]}},
        {{"name": "a", "type": "stream", "family": "inet", "peer": "c", "accepted_from": "L",
          "queue": [{{"repeat": {half}}}, {{"repeat": {half}}}]}}]}}"#
    );
    let bytes = resocket_core::scenario::Scenario::from_json(&text).unwrap().to_image().unwrap();
    let report = load(&bytes);
    let (mut ex, plan) = restore(&report.image);
    assert!(
        plan.warnings.iter().filter(|w| w.message.contains("unread TCP bytes need a receive buffer")).count() == 2,
        "{:?}",
        plan.warnings
    );
    assert!(
        plan.warnings.iter().any(|w| w.message.starts_with("listener #") && w.message.contains("locked")),
        "{:?}",
        plan.warnings
    );
    let diffs = check(&report.image, &ex);
    assert!(diffs.is_empty(), "{}", diffs.join("\n").chars().take(2000).collect::<String>());
    ex.rollback();
}

#[test]
fn sockets_bound_to_multicast_and_broadcast_addresses_come_back_bound_and_empty() {
    fresh_netns_with_lo();
    let text = r#"{"sockets": [
        {"name": "m", "type": "dgram", "family": "inet", "addr": "224.0.0.1:5000",
         "queue": [{"from": "s", "data": "to the group"}]},
        {"name": "b", "type": "dgram", "family": "inet", "addr": "255.255.255.255:5001"},
        {"name": "s", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5002",
         "queue": [{"from": "b", "data": "from a broadcast-bound sender"}]}
    ]}"#;
    let bytes = resocket_core::scenario::Scenario::from_json(text).unwrap().to_image().unwrap();
    let report = load(&bytes);
    let (mut ex, plan) = restore(&report.image);
    // m and b (inet-address-mute), and s, whose datagram from b comes from a stand-in.
    let codes: Vec<&str> = plan.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes, ["inet-address-mute", "inet-address-mute", "sender-stand-in"], "{:?}", plan.warnings);
    let diffs = check(&report.image, &ex);
    assert!(diffs.is_empty(), "{diffs:#?}");
    ex.rollback();
}

#[test]
fn the_hosts_addresses_are_read_as_the_kernel_binds_them() {
    use crate::differential_inet::{add_host_addrs, host_of_netns};
    use std::net::IpAddr;
    fresh_netns_with_lo();
    add_host_addrs();
    // One more IPv6 address with duplicate address detection: tentative for a second or so.
    let st = std::process::Command::new("ip").args(["addr", "add", "2001:db8::5/64", "dev", "rs0"]).status().unwrap();
    assert!(st.success());
    let host = host_of_netns();
    let has = |ip: &str| host.addrs.iter().any(|h| h.ip == ip.parse::<IpAddr>().unwrap());
    assert!(has("127.0.0.1") && has("::1") && has("10.1.2.3") && has("2001:db8::3"), "{host:?}");
    assert!(host.broadcast.contains(&"10.1.2.255".parse().unwrap()), "{host:?}");
    // For each address: the model's answer is the kernel's.
    for at in ["10.1.2.3:9", "10.1.2.255:9", "10.1.2.4:9", "[2001:db8::3]:9", "[2001:db8::5]:9", "[::ffff:10.1.2.3]:9"]
    {
        let a: SocketAddr = at.parse().unwrap();
        let fam = if a.is_ipv4() { net::AddressFamily::INET } else { net::AddressFamily::INET6 };
        let s = net::socket(fam, net::SocketType::DGRAM, None).unwrap();
        let kernel = net::bind(&s, &a).map_err(|e| e.raw_os_error());
        let model = host.bind_check(a, false).map_err(|e| e.raw());
        if at.contains("::5") && kernel.is_ok() {
            continue; // DAD finished already (a slow test run): nothing to compare
        }
        if at.contains("::5") {
            assert!(!has("2001:db8::5"), "tentative while DAD runs: {host:?}");
        }
        assert_eq!(model, kernel, "bind {at}");
    }
}
