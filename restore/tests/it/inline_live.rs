//! Live processes written inline (a few lines of Python each, in their own network
//! namespace), dumped with `checkpoint dump` and restored with `restore run --verify` in another
//! namespace, where a command checks what the restored process sees.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs `py` in a fresh network namespace set up by the shell `setup` (which ends by exec'ing
/// its arguments), reads the line it prints when ready (its fds), dumps it into `dir`, then
/// lets it end. (The image, the printed fds.)
fn dump_live(dir: &Path, setup: &str, py: &str) -> (PathBuf, Vec<i32>) {
    let img = dir.join("live.rsimg");
    let mut child = Command::new("unshare")
        .args(["-n", "sh", "-c", setup, "python3", "-c", py])
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
    (img, fds.split_whitespace().filter_map(|f| f.parse().ok()).collect())
}

/// `restore run --verify IMG -- python3 -c CHECK` in a fresh namespace set up by `setup`.
/// (restore's stderr, the command's stdout.)
fn restore_checked(img: &Path, setup: &str, check: &str) -> (String, String) {
    let o = Command::new("unshare")
        .args(["-n", "sh", "-c", setup])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .args(["run", "--verify"])
        .arg(img)
        .args(["--", "python3", "-c", check])
        .output()
        .expect("restore run");
    (String::from_utf8_lossy(&o.stderr).into_owned(), String::from_utf8_lossy(&o.stdout).into_owned())
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resocket-inline-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch directory");
    dir
}

const LO_UP: &str = "ip link set lo up && exec \"$0\" \"$@\"";

/// A TCP connection half-closed by its client after sending (the accepted end in CLOSE_WAIT with
/// the bytes unread, RCV_SHUTDOWN from the FIN): the dump records the accepted end's shutdown
/// bits as the kernel holds them, so `--verify` finds the restored ones equal, and the restored
/// process reads the bytes, then EOF.
#[test]
fn a_half_closed_tcp_connection_comes_back_with_its_received_fin() {
    let dir = scratch("half-closed");
    let live = r#"
import socket, sys, time
l = socket.socket(); l.bind(("127.0.0.1", 7070)); l.listen(4)
c = socket.socket(); c.connect(("127.0.0.1", 7070)); a, _ = l.accept()
c.sendall(b"abc"); c.shutdown(socket.SHUT_WR)
# Until the FIN is acknowledged (the client in FIN_WAIT2: tcp_info's first byte), bounded.
for _ in range(500):
    if c.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0] == 5: break
    time.sleep(0.01)
print(a.fileno(), flush=True)
sys.stdin.read()
"#;
    let (img, fds) = dump_live(&dir, LO_UP, live);
    let check =
        format!("import socket\ns = socket.socket(fileno={})\nprint(s.recv(16), s.recv(16))\ns.detach()", fds[0]);
    let (err, out) = restore_checked(&img, LO_UP, &check);
    assert!(err.contains("verify: the kernel state matches the image"), "{err}");
    assert_eq!(out, "b'abc' b''\n", "{err}");
    let _ = std::fs::remove_dir_all(&dir);
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
fn udp_outside_round_trip(dir: &Path, default: bool) -> (String, String) {
    let live = r#"
import socket, sys
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("10.1.2.3", 5300)); u.connect(("198.51.100.1", 53))
v = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); v.bind(("2001:db8::3", 5301)); v.connect(("2001:db8:1::7", 53))
print(u.fileno(), v.fileno(), flush=True)
sys.stdin.read()
"#;
    let (img, fds) = dump_live(dir, &host_setup(true), live);
    let check = format!(
        "import socket\nfor fd in {:?}:\n    s = socket.socket(fileno=fd)\n    try: print(s.getpeername()[:2])\n    except OSError as e: print(e.strerror)\n    s.detach()",
        fds
    );
    restore_checked(&img, &host_setup(default), &check)
}

#[test]
fn a_udp_socket_connected_outside_comes_back_connected_where_a_route_takes_its_peer() {
    let dir = scratch("udp-outside");
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
