//! The model against the kernel where a destination is outside the host and the host's routes
//! are known (`restore` reads the main table, `restore/src/host.rs`): on the veth host of
//! `differential_inet` (10.1.2.3/24, 2001:db8::3/64), without and with default routes. And a
//! live UDP socket connected to an outside address is dumped and restored connected again
//! where a route takes the address, unconnected and warned where none does.

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

/// The veth host in a fresh namespace (as `differential_inet`'s), with default routes when
/// `default`, then `exec "$0" "$@"`.
fn host_setup(default: bool) -> String {
    let routes =
        if default { "ip route add default via 10.1.2.1 && ip -6 route add default via 2001:db8::1 && " } else { "" };
    format!(
        "ip link set lo up && ip link add rs0 type veth peer name rs1 && ip addr add 10.1.2.3/24 dev rs0 && \
         ip addr add 2001:db8::3/64 dev rs0 nodad && ip link set rs0 up && ip link set rs1 up && \
         while ! ip route get 10.1.2.3 | grep -q ^local; do sleep 0.01; done && {routes}exec \"$0\" \"$@\""
    )
}

/// A live process (in a namespace with the veth host and default routes) holding a UDP socket
/// bound to 10.1.2.3:5300 and connected to 198.51.100.1:53, and an IPv6 one from
/// [2001:db8::3]:5301 to [2001:db8:1::7]:53, dumped; then restored with `--verify` on a host
/// with (`default`) or without default routes, where the restored process prints each fd's
/// `getpeername`. (restore's stderr, the restored process's stdout.)
fn udp_outside_round_trip(dir: &std::path::Path, default: bool) -> (String, String) {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let img = dir.join("udp-outside.rsimg");
    let live = r#"
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.1.2.3", 5300)); u.connect(("198.51.100.1", 53))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.bind(("2001:db8::3", 5301)); v.connect(("2001:db8:1::7", 53))
print(u.fileno(), v.fileno(), flush=True)
sys.stdin.read()
"#;
    let mut child = Command::new("unshare")
        .args(["-n", "sh", "-c", &host_setup(true), "python3", "-c", live])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("unshare + python3");
    let mut fds = String::new();
    BufReader::new(child.stdout.as_mut().expect("stdout")).read_line(&mut fds).expect("the live process's fds");
    let pid = child.id().to_string();
    let dump = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg(env!("CARGO_BIN_EXE_checkpoint"))
        .args(["dump", "--pid", &pid, "-o"])
        .arg(&img)
        .output()
        .expect("checkpoint dump");
    drop(child.stdin.take());
    let _ = child.wait();
    assert!(dump.status.success(), "dump: {}", String::from_utf8_lossy(&dump.stderr));
    let check = format!(
        "import socket\nfor fd in {:?}:\n    s = socket.socket(fileno=fd)\n    try: print(s.getpeername()[:2])\n    except OSError as e: print(e.strerror)\n    s.detach()",
        fds.split_whitespace().filter_map(|f| f.parse::<i32>().ok()).collect::<Vec<_>>()
    );
    let o = Command::new("unshare")
        .args(["-n", "sh", "-c", &host_setup(default)])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .args(["run", "--verify"])
        .arg(&img)
        .args(["--", "python3", "-c", &check])
        .output()
        .expect("restore run");
    (String::from_utf8_lossy(&o.stderr).into_owned(), String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn a_udp_socket_connected_outside_comes_back_connected_where_a_route_takes_its_peer() {
    let dir = std::env::temp_dir().join(format!("resocket-routes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let (err, out) = udp_outside_round_trip(&dir, true);
    assert!(!err.contains("udp-external-peer"), "{err}");
    assert!(err.contains("verify: the kernel state matches the image"), "{err}");
    assert_eq!(out, "('198.51.100.1', 53)\n('2001:db8:1::7', 53)\n", "{err}");
    // No default route: nothing takes the peers' addresses, both come back unconnected.
    let (err, out) = udp_outside_round_trip(&dir, false);
    assert_eq!(err.matches("warning[udp-external-peer]").count(), 2, "{err}");
    assert!(err.contains("gives -1 ENETUNREACH on this host"), "{err}");
    assert!(err.contains("verify: the kernel state matches the image"), "{err}");
    assert_eq!(out, "Transport endpoint is not connected\nTransport endpoint is not connected\n", "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
