//! Destinations outside the host on a host whose routes are known (`HostAddrs::routes`, read
//! by `restore` from the running host or from a CRIU checkpoint's route images): what the
//! model answers (`core/src/sim/inet/route.rs`), and how the planner reconnects a UDP socket
//! whose peer is outside the image. The answers are the ones Linux 6.18 gave in a network
//! namespace with 10.1.2.3/24 and 2001:db8::3/64 on a veth (and the same random traces are
//! compared with the kernel by `restore/tests/it/differential_inet.rs`).

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use resocket_core::sim::*;
use std::net::IpAddr;

/// 10.1.2.3/24 and 2001:db8::3/64 on interface 2, with the main table's routes of those
/// prefixes (and default routes via .1 / ::1 when `default`).
fn host(default: bool) -> HostAddrs {
    let ip = |s: &str| s.parse::<IpAddr>().expect("address");
    let mut h = HostAddrs::loopback_and(&[ip("10.1.2.3"), ip("2001:db8::3")]);
    let route = |dst: &str, prefix, gateway: Option<&str>| HostRoute {
        dst: ip(dst),
        prefix,
        unicast: true,
        oif: 2,
        gateway: gateway.map(ip),
    };
    let mut v4 = vec![route("10.1.2.0", 24, None)];
    let mut v6 = vec![route("2001:db8::", 64, None), route("fe80::", 64, None)];
    if default {
        v4.push(route("0.0.0.0", 0, Some("10.1.2.1")));
        v6.push(route("::", 0, Some("2001:db8::1")));
    }
    h.routes = Routes { v4: Some(v4), v6: Some(v6) };
    h
}

fn a(s: &str) -> SockAddr {
    SockAddr::Inet(s.parse().expect("address"))
}

/// A UDP socket at `slot` of `family`, bound to `at` (unless `None`), then a connect to `to`.
fn udp_connect(k: &mut Kernel, slot: Slot, at: Option<&str>, to: &str) -> Outcome {
    let family = if to.starts_with('[') { InetFamily::Inet6 } else { InetFamily::Inet };
    assert!(k.apply(&Op::SocketInet { slot, family, ty: SockType::Dgram }).is_ok());
    if let Some(at) = at {
        assert!(k.apply(&Op::Bind { slot, addr: a(at) }).is_ok(), "bind {at}");
    }
    k.apply(&Op::Connect { slot, addr: a(to) })
}

fn undetermined(out: &Outcome) -> bool {
    matches!(out, Outcome::WouldBlock { block: Block::Undetermined { answers, .. } } if answers.is_empty())
}

#[test]
fn a_udp_connect_from_a_bound_address_along_a_known_route_succeeds_and_sends_nothing() {
    for default in [false, true] {
        let mut k = Kernel::with_host(host(default));
        assert_eq!(udp_connect(&mut k, 1, Some("10.1.2.3:5000"), "10.1.2.4:53"), Outcome::ok(0));
        assert_eq!(udp_connect(&mut k, 2, Some("[2001:db8::3]:5000"), "[2001:db8::4]:53"), Outcome::ok(0));
        // IPv6's loopback source may leave the host.
        assert_eq!(udp_connect(&mut k, 3, Some("[::1]:5001"), "[2001:db8::4]:53"), Outcome::ok(0));
        let s = k.inet_sock(1).expect("socket 1");
        assert_eq!(s.remote, Some("10.1.2.4:53".parse().expect("address")));
        // What it then sends leaves the host: the model does not follow it.
        let sent = k.apply(&Op::Send { slot: 1, to: None, data: Payload(b"q".to_vec()), rights: vec![] });
        assert!(undetermined(&sent), "{sent:?}");
    }
}

#[test]
fn no_route_is_enetunreach_and_a_default_route_covers_the_rest() {
    let mut k = Kernel::with_host(host(false));
    assert_eq!(udp_connect(&mut k, 1, Some("10.1.2.3:5000"), "198.51.100.1:53"), Outcome::err(Errno::ENETUNREACH));
    assert_eq!(udp_connect(&mut k, 2, Some("[::1]:5000"), "[2001:db8:1::4]:53"), Outcome::err(Errno::ENETUNREACH));
    let mut k = Kernel::with_host(host(true));
    assert_eq!(udp_connect(&mut k, 1, Some("10.1.2.3:5000"), "198.51.100.1:53"), Outcome::ok(0));
    assert_eq!(udp_connect(&mut k, 2, Some("[::1]:5000"), "[2001:db8:1::4]:53"), Outcome::ok(0));
}

#[test]
fn an_ipv4_loopback_source_may_not_leave_the_host() {
    let mut k = Kernel::with_host(host(true));
    assert_eq!(udp_connect(&mut k, 1, Some("127.0.0.1:5001"), "10.1.2.4:53"), Outcome::err(Errno::EINVAL));
    assert_eq!(udp_connect(&mut k, 2, Some("127.0.0.1:5002"), "198.51.100.1:53"), Outcome::err(Errno::EINVAL));
    // The v4-mapped form on an AF_INET6 socket alike.
    assert_eq!(
        udp_connect(&mut k, 3, Some("[::ffff:127.0.0.1]:5004"), "[::ffff:10.1.2.4]:53"),
        Outcome::err(Errno::EINVAL)
    );
    // A send, and a TCP connect, alike.
    let send = Op::Send { slot: 1, to: Some(a("10.1.2.4:53")), data: Payload(b"q".to_vec()), rights: vec![] };
    assert_eq!(k.apply(&send), Outcome::err(Errno::EINVAL));
    assert!(k.apply(&Op::SocketInet { slot: 4, family: InetFamily::Inet, ty: SockType::Stream }).is_ok());
    assert!(k.apply(&Op::Bind { slot: 4, addr: a("127.0.0.1:6000") }).is_ok());
    assert_eq!(k.apply(&Op::Connect { slot: 4, addr: a("10.1.2.4:80") }), Outcome::err(Errno::EINVAL));
    // Without a route, ENETUNREACH comes first.
    let mut k = Kernel::with_host(host(false));
    assert_eq!(udp_connect(&mut k, 1, Some("127.0.0.1:5002"), "198.51.100.1:53"), Outcome::err(Errno::ENETUNREACH));
}

#[test]
fn what_the_model_does_not_follow_stays_undetermined() {
    let mut k = Kernel::with_host(host(true));
    // A wildcard socket would take the route's source address: not modelled.
    assert!(undetermined(&udp_connect(&mut k, 1, Some("0.0.0.0:5000"), "10.1.2.4:53")));
    // A broadcast address: SO_BROADCAST decides (EACCES without it), not modelled.
    assert!(undetermined(&udp_connect(&mut k, 3, Some("10.1.2.3:5007"), "10.1.2.255:53")));
    // A TCP connect sends its SYN out of the host.
    assert!(k.apply(&Op::SocketInet { slot: 2, family: InetFamily::Inet, ty: SockType::Stream }).is_ok());
    assert!(k.apply(&Op::Bind { slot: 2, addr: a("10.1.2.3:6000") }).is_ok());
    assert!(undetermined(&k.apply(&Op::Connect { slot: 2, addr: a("10.1.2.4:80") })));
    // Routes not known: nothing is claimed.
    let mut unknown = host(true);
    unknown.routes = Routes::default();
    let mut k = Kernel::with_host(unknown);
    assert!(undetermined(&udp_connect(&mut k, 1, Some("10.1.2.3:5000"), "10.1.2.4:53")));
}

/// A UDP socket of the image connected to a peer outside it.
fn outside_udp(remote: &str) -> Vec<u8> {
    let json = format!(
        r#"{{"sockets": [{{"name": "u", "type": "dgram", "family": "inet", "addr": "10.1.2.3:5353",
            "external_peer": true, "remote": "{remote}", "queue": [{{"data": "answer"}}]}}]}}"#
    );
    resocket_core::scenario::Scenario::from_json(&json).expect("scenario").to_image().expect("image")
}

#[test]
fn the_planner_reconnects_a_udp_socket_to_its_outside_peer_where_a_route_takes_it() {
    use resocket_core::{check, load, plan, warn::WarnCode};
    let bytes = outside_udp("198.51.100.1:53");
    let img = load(&bytes).image;
    let h = host(true);
    let p = plan::plan_on(&img, &h).expect("plan");
    let connect =
        p.steps.iter().position(|s| matches!(&s.op, Op::Connect { addr, .. } if *addr == a("198.51.100.1:53")));
    let refill = p.steps.iter().position(|s| matches!(s.op, Op::Send { .. }));
    assert!(connect.is_some() && refill < connect, "refilled first, then connected: {:#?}", p.steps);
    assert!(!p.warnings.iter().any(|w| w.code == WarnCode::UdpExternalPeer), "{:#?}", p.warnings);
    let order: Vec<usize> = (0..p.steps.len()).collect();
    let run = check::run_order_on(&img, &p, &order, &h);
    assert!(run.failure.is_none() && run.differences.is_empty(), "{run:?}");
    // No route there: left unconnected, warned with the model's answer.
    let p = plan::plan_on(&img, &host(false)).expect("plan");
    assert!(!p.steps.iter().any(|s| matches!(s.op, Op::Connect { .. })), "{:#?}", p.steps);
    let w = p.warnings.iter().find(|w| w.code == WarnCode::UdpExternalPeer).expect("udp-external-peer");
    assert!(w.message.contains("ENETUNREACH"), "{}", w.message);
}
