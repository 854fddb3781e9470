//! A dgram AF_UNIX socket connected to a socket outside the image, restored on the real kernel
//! (each case in a private network namespace, so the abstract names are its own): with a
//! receiver bound at the recorded name it comes back connected (`--verify` checks its peer
//! inode is the receiver's) and a datagram it sends arrives there; without one it comes back
//! unconnected, warned `unix-external-peer`, and `--verify` agrees.

use std::process::Command;

/// The image: `log` connected to the path `path`, `alog` to the abstract name `abs`, at fds 3
/// and 4 of pid 1.
fn image(path: &str, abs: &str) -> std::path::PathBuf {
    let json = format!(
        r#"{{"tasks": [{{"pid": 1, "fds": {{"3": "log", "4": "alog"}}}}],
            "sockets": [{{"name": "log", "type": "dgram", "external_peer": true, "remote": "{path}"}},
                        {{"name": "alog", "type": "dgram", "external_peer": true, "remote": "@{abs}"}}]}}"#
    );
    let bytes = resocket_core::scenario::Scenario::from_json(&json).unwrap().to_image().unwrap();
    let p = std::env::temp_dir().join(format!("resocket-extpeer-{}-{abs}.rsimg", std::process::id()));
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Runs, in a private network namespace, receivers bound at `path` and `@abs` (when `bind`),
/// then `restore ARGS IMG [-- sh -c 'printf one >&3; printf two >&4']` (the command for
/// `run` only); prints the restore's stderr, then what each receiver got (for `run`) or the
/// restore's stdout.
fn restore_in_netns(bind: bool, path: &str, abs: &str, args: &[&str]) -> (String, String) {
    let img = image(path, abs);
    let run = args.first() == Some(&"run");
    let script = format!(
        r#"
import socket, subprocess, sys, os
rs = []
if {bind}:
    for a in ({path:?}, "\0" + {abs:?}):
        r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind(a); r.settimeout(2); rs.append(r)
cmd = [sys.argv[1]] + {args:?} + [sys.argv[2]]
if {run}:
    cmd += ["--", "sh", "-c", "printf one >&3; printf two >&4"]
o = subprocess.run(cmd, capture_output=True, text=True)
sys.stderr.write(o.stderr)
if {run}:
    for r in rs:
        print(r.recv(100).decode())
else:
    sys.stdout.write(o.stdout)
if {bind}:
    os.unlink({path:?})
"#,
        bind = if bind { "True" } else { "False" },
        run = if run { "True" } else { "False" },
    );
    let o = Command::new("unshare")
        .args(["-n", "python3", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .arg(&img)
        .output()
        .expect("unshare and python3 run");
    let _ = std::fs::remove_file(&img);
    (String::from_utf8_lossy(&o.stderr).into_owned(), String::from_utf8_lossy(&o.stdout).into_owned())
}

fn run(bind: bool, path: &str, abs: &str) -> (String, String) {
    restore_in_netns(bind, path, abs, &["run", "--verify"])
}

#[test]
fn a_dgram_socket_is_reconnected_to_its_outside_receivers_and_its_datagrams_arrive() {
    let path = format!("/tmp/resocket-extpeer-{}.sock", std::process::id());
    let (err, out) = run(true, &path, "resocket-extpeer-log");
    assert!(err.contains("verify: the kernel state matches the image"), "{err}");
    assert!(!err.contains("unix-external-peer"), "{err}");
    assert_eq!(out, "one\ntwo\n", "{err}");
}

#[test]
fn without_receivers_it_is_restored_unconnected_with_the_warning_and_verify_agrees() {
    let path = format!("/tmp/resocket-extpeer-none-{}.sock", std::process::id());
    let (err, out) = run(false, &path, "resocket-extpeer-none");
    assert_eq!(err.matches("warning[unix-external-peer]").count(), 2, "{err}");
    assert!(err.contains(&path) && err.contains("@resocket-extpeer-none"), "{err}");
    assert!(err.contains("verify: the kernel state matches the image"), "{err}");
    assert_eq!(out, "");
}

/// `restore plan` and `restore simulate` probe the outside names as `restore run` does: the plan
/// shown is the plan run (reconnected where a receiver is bound, warned where none is).
#[test]
fn plan_and_simulate_probe_the_outside_names_as_run_does() {
    let path = format!("/tmp/resocket-extpeer-plan-{}.sock", std::process::id());
    let connects = |out: &str| out.lines().any(|l| l.contains("connect(#") && l.contains(&format!("{path})")));
    for sub in ["plan", "simulate"] {
        let (err, out) = restore_in_netns(true, &path, "resocket-extpeer-plan", &[sub]);
        assert!(!out.contains("unix-external-peer") && !err.contains("unix-external-peer"), "{sub}: {err}{out}");
        assert!(connects(&out), "{sub}: {err}{out}");
        let (err, out) = restore_in_netns(false, &path, "resocket-extpeer-plan", &[sub]);
        // The plan warns; the simulation shows the unconnected sockets as differences.
        let told = if sub == "plan" {
            "warning[unix-external-peer]"
        } else {
            "#3 state: expected TCP_ESTABLISHED, found CLOSE"
        };
        assert!(out.contains(told), "{sub}: {err}{out}");
        assert!(!connects(&out), "{sub}: {err}{out}");
    }
}

/// Under `--root ROOT` the outside name is looked for inside the root, as every path of such a
/// restore is: a receiver at `ROOT/run/NAME` is reconnected to; with `ROOT/run` a symlink to
/// a host directory that has a receiver at `NAME`, nothing is connected to it (the name resolves
/// inside the root, where there is none), the socket is restored unconnected and warned, and the
/// host's receiver gets nothing. `(stderr, what the receiver got)`.
fn run_under_root(escape: bool) -> (String, String) {
    let base = std::env::temp_dir().join(format!("resocket-extroot-{}-{escape}", std::process::id()));
    let (root, host) = (base.join("root"), base.join("host"));
    std::fs::create_dir_all(&root).unwrap();
    std::fs::create_dir_all(&host).unwrap();
    let receiver = if escape {
        std::os::unix::fs::symlink(&host, root.join("run")).unwrap();
        host.join("out.sock")
    } else {
        std::fs::create_dir(root.join("run")).unwrap();
        root.join("run/out.sock")
    };
    let img = image("/run/out.sock", &format!("resocket-extroot-{escape}"));
    let script = format!(
        r#"
import socket, subprocess, sys
r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind({receiver:?}); r.settimeout(1)
o = subprocess.run([sys.argv[1], "run", "--verify", "--root", {root:?}, sys.argv[2], "--", "sh", "-c",
                    "printf one >&3"], capture_output=True, text=True)
sys.stderr.write(o.stderr)
try:
    print(r.recv(100).decode())
except socket.timeout:
    print("nothing")
"#,
        receiver = receiver.display().to_string(),
        root = root.display().to_string(),
    );
    let o = Command::new("unshare")
        .args(["-n", "python3", "-c", &script])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .arg(&img)
        .output()
        .expect("unshare and python3 run");
    let _ = std::fs::remove_file(&img);
    let _ = std::fs::remove_dir_all(&base);
    (String::from_utf8_lossy(&o.stderr).into_owned(), String::from_utf8_lossy(&o.stdout).into_owned())
}

#[test]
fn under_a_root_the_outside_name_is_found_inside_the_root_and_never_outside_it() {
    let (err, out) = run_under_root(false);
    assert_eq!(err.matches("warning[unix-external-peer]").count(), 1, "only the abstract one: {err}");
    assert!(err.contains("verify: the kernel state matches the image"), "{err}");
    assert_eq!(out, "one\n", "{err}");
    let (err, out) = run_under_root(true);
    assert_eq!(err.matches("warning[unix-external-peer]").count(), 2, "{err}");
    assert!(err.contains("verify: the kernel state matches the image"), "{err}");
    assert_eq!(out, "nothing\n", "the host's receiver, reached through the root's symlink: {err}");
}
