//! The model against the kernel where a destination is outside the host and the host's routes
//! are known (`restore` reads the main table, `restore/src/host.rs`): on the veth host of
//! `differential_inet` (10.1.2.3/24, 2001:db8::3/64), without and with default routes. (A live
//! UDP socket connected outside, dumped and restored by route: `inline_live.rs`.)

use crate::differential_inet::{add_host_addrs, fresh_netns_with_lo, host_of_netns, run_both_with};
use resocket_core::sim::*;

fn inet(s: &str) -> SockAddr {
    SockAddr::Inet(s.parse().expect("address"))
}

/// A UDP socket of `family` at `slot`, bound to `at` unless `None`, connected to `to`, then a
/// send on it (what leaves the host: undetermined by the model, so the comparison stops there
/// for the rest of the trace only when it is reached).
fn udp(slot: Slot, family: InetFamily, at: Option<&str>, to: &str) -> Vec<Op> {
    let mut ops = vec![Op::SocketInet { slot, family, ty: SockType::Dgram }];
    ops.extend(at.map(|a| Op::Bind { slot, addr: inet(a) }));
    ops.push(Op::Connect { slot, addr: inet(to) });
    ops
}

/// The connects the model answers by route (tests/it/inet_routes.rs in core), each on its own
/// fresh sockets, then a TCP connect from a loopback address; with `default` routes added.
fn trace() -> Vec<Op> {
    use InetFamily::{Inet, Inet6};
    let mut t = Vec::new();
    t.extend(udp(1, Inet, Some("10.1.2.3:5000"), "10.1.2.4:53"));
    t.extend(udp(2, Inet, Some("127.0.0.1:5001"), "10.1.2.4:53"));
    t.extend(udp(3, Inet, Some("127.0.0.1:5002"), "198.51.100.1:53"));
    t.extend(udp(4, Inet, Some("10.1.2.3:5003"), "198.51.100.1:53"));
    t.extend(udp(5, Inet6, Some("[2001:db8::3]:5000"), "[2001:db8::4]:53"));
    t.extend(udp(6, Inet6, Some("[::1]:5001"), "[2001:db8::4]:53"));
    t.extend(udp(7, Inet6, Some("[::1]:5002"), "[2001:db8:1::4]:53"));
    t.extend(udp(8, Inet6, Some("[::ffff:127.0.0.1]:5004"), "[::ffff:10.1.2.4]:53"));
    t.extend(udp(9, Inet6, Some("[::ffff:10.1.2.3]:5005"), "[::ffff:10.1.2.4]:53"));
    t.push(Op::SocketInet { slot: 10, family: Inet, ty: SockType::Dgram });
    t.push(Op::Bind { slot: 10, addr: inet("127.0.0.1:5006") });
    t.push(Op::Send { slot: 10, to: Some(inet("10.1.2.4:53")), data: Payload(b"q".to_vec()), rights: vec![] });
    t.push(Op::SocketInet { slot: 11, family: Inet, ty: SockType::Stream });
    t.push(Op::Bind { slot: 11, addr: inet("127.0.0.1:6000") });
    t.push(Op::Connect { slot: 11, addr: inet("10.1.2.4:80") });
    t
}

fn host_with(default: bool) -> Kernel {
    fresh_netns_with_lo();
    add_host_addrs();
    if default {
        let script = "ip route add default via 10.1.2.1 && ip -6 route add default via 2001:db8::1";
        let st = std::process::Command::new("sh").args(["-c", script]).status().expect("sh + ip(8)");
        assert!(st.success(), "{script}");
    }
    let host = host_of_netns();
    assert!(host.routes.v4.is_some() && host.routes.v6.is_some(), "the routes were read: {host:?}");
    Kernel::with_host(host)
}

#[test]
fn udp_connects_by_route_agree_with_the_kernel_without_and_with_default_routes() {
    for default in [false, true] {
        let t = trace();
        let d = std::thread::spawn(move || run_both_with(&t, || host_with(default))).join().expect("thread");
        assert!(d.is_none(), "default routes {default}: {}", d.unwrap_or_default());
    }
}

/// Every step of [`trace`] is answered by the model (none undetermined), so the test above
/// compares all of them.
#[test]
fn the_route_trace_is_determined_on_the_model() {
    for default in [false, true] {
        let k = std::thread::spawn(move || {
            let mut k = host_with(default);
            trace().iter().map(|op| k.apply(op)).collect::<Vec<_>>()
        });
        for (i, out) in k.join().expect("thread").iter().enumerate() {
            assert!(!matches!(out, Outcome::WouldBlock { .. }), "step {i}: {out:?}");
        }
    }
}
