//! Restores on the real kernel (run as root; each restore in a private network namespace via
//! `unshare -n` so abstract names do not collide, and under a scratch `--root`).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn restore_in_netns(args: &[&str]) -> Output {
    // `lo` up: the INET fixtures bind and connect over loopback.
    Command::new("unshare")
        .args(["-n", "sh", "-c", r#"ip link set lo up && exec "$0" "$@""#])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .args(args)
        .output()
        .expect("unshare runs (util-linux, root)")
}

fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("resocket-kernel-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `checkpoint encode` of a scenario written as `root/NAME.json`: the image `root/NAME.rsimg`.
fn encode_scenario(root: &Path, name: &str, json: &str) -> PathBuf {
    let (src, img) = (root.join(format!("{name}.json")), root.join(format!("{name}.rsimg")));
    std::fs::write(&src, json).unwrap();
    let o = Command::new(env!("CARGO_BIN_EXE_checkpoint"))
        .args(["encode", src.to_str().unwrap(), "-o", img.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{name}: {}", String::from_utf8_lossy(&o.stderr));
    img
}

fn valid_fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/valid");
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    v.sort();
    v
}

#[test]
fn every_valid_fixture_restores_and_verifies_on_the_real_kernel() {
    let mut failures = Vec::new();
    for img in valid_fixtures() {
        let root = scratch(img.file_stem().unwrap().to_str().unwrap());
        let o = restore_in_netns(&["run", "--verify", "--root", root.to_str().unwrap(), img.to_str().unwrap()]);
        if o.status.code() != Some(0) {
            failures.push(format!("{}: {}", img.display(), String::from_utf8_lossy(&o.stderr)));
        }
        let _ = std::fs::remove_dir_all(&root);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn a_failed_restore_undoes_everything_and_leaves_other_files_alone() {
    let root = scratch("rollback");
    // A regular file where the listener's socket file must go: the stale-socket unlink refuses
    // to remove it, so the restore fails after having created other sockets and files.
    std::fs::create_dir_all(root.join("tmp/resocket")).unwrap();
    std::fs::write(root.join("tmp/resocket/srv.sock"), b"precious").unwrap();
    let img = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/valid/listener-pending.rsimg");
    let o = restore_in_netns(&["run", "--root", root.to_str().unwrap(), img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("ENOTSOCK") && err.contains("undone"), "{err}");
    assert_eq!(std::fs::read(root.join("tmp/resocket/srv.sock")).unwrap(), b"precious");
    let left: Vec<_> = walk(&root);
    assert_eq!(left, vec![root.join("tmp"), root.join("tmp/resocket"), root.join("tmp/resocket/srv.sock")], "{left:?}");
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_failed_restore_removes_the_directories_and_socket_files_it_created() {
    let root = scratch("rollback-dirs");
    // One name under the other: whichever is bound first makes directories (and a socket
    // file), and the second fails (ENOTDIR below a socket file, or ENOTSOCK at a directory).
    let img = encode_scenario(
        &root,
        "nested",
        r#"{"sockets":[{"name":"ok","type":"dgram","addr":"/tmp/resocket/deep/first.sock"},
                      {"name":"bad","type":"dgram","addr":"/tmp/resocket/deep/first.sock/x.sock"}]}"#,
    );
    let sandbox = root.join("sandbox");
    std::fs::create_dir_all(&sandbox).unwrap();
    let o = restore_in_netns(&["run", "--root", sandbox.to_str().unwrap(), img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(walk(&sandbox).is_empty(), "left behind: {:?}", walk(&sandbox));
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn dot_dot_in_a_name_stops_at_the_root() {
    let root = scratch("escape");
    let img =
        encode_scenario(&root, "esc", r#"{"sockets":[{"name":"x","type":"dgram","addr":"/tmp/../../etc/evil.sock"}]}"#);
    let sandbox = root.join("sandbox");
    std::fs::create_dir_all(&sandbox).unwrap();
    // As in a chroot: `..` at the root is the root (resolved by the kernel, RESOLVE_IN_ROOT).
    let o = restore_in_netns(&["run", "--root", sandbox.to_str().unwrap(), img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(std::fs::symlink_metadata(sandbox.join("etc/evil.sock")).is_ok_and(|m| {
        use std::os::unix::fs::FileTypeExt;
        m.file_type().is_socket()
    }));
    assert!(!Path::new("/etc/evil.sock").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn caps_refuse_big_plans_before_doing_anything() {
    let img = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/valid/many-1000.rsimg");
    let root = scratch("caps");
    let o = restore_in_netns(&["run", "--max-sockets", "10", "--root", root.to_str().unwrap(), img.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--max-sockets"));
    assert!(walk(&root).is_empty());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn exec_hands_the_restored_fds_to_a_command() {
    let img = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/valid/stream-pair.rsimg");
    let root = scratch("exec");
    // The command reads what is queued on fd 3 (the image's socket "a") without blocking.
    let o = restore_in_netns(&[
        "run",
        "--root",
        root.to_str().unwrap(),
        img.to_str().unwrap(),
        "--",
        "sh",
        "-c",
        "ls -l /proc/self/fd/3 /proc/self/fd/4 >/dev/null && timeout 2 dd bs=22 count=1 <&3 2>/dev/null",
    ]);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "hello from b, part two", "{}", String::from_utf8_lossy(&o.stderr));
    let _ = std::fs::remove_dir_all(&root);
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(d) {
        let mut es: Vec<PathBuf> = rd.map(|e| e.unwrap().path()).collect();
        es.sort();
        for e in es {
            out.push(e.clone());
            if e.is_dir() {
                out.extend(walk(&e));
            }
        }
    }
    out
}

#[test]
fn verify_reports_every_difference_from_the_image() {
    use resocket_restore::{exec, run};
    let fixture = |n: &str| {
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/images/valid/{n}.rsimg")))
            .unwrap()
    };
    let restored = fixture("stream-pair");
    let claimed = fixture("shutdown-wr"); // same fds and types, different shutdown bits and queues
    let r = resocket_core::load(&restored);
    let plan = resocket_core::plan::plan(&r.image).unwrap();
    let cfg = exec::Config { root: None, place: exec::PlaceMode::HoldAll, fd_base: 1024, inherit_all: false };
    let ex = run::execute(&plan, cfg, false).unwrap();
    let other = resocket_core::load(&claimed);
    let diffs = run::verify(&other.image, &ex.held, None);
    assert!(diffs.iter().any(|d| d.contains("shutdown is 0, the image says 2")), "{diffs:#?}");
    assert!(diffs.iter().any(|d| d.contains("queued data")), "{diffs:#?}");
    // And against its own image: nothing.
    assert_eq!(run::verify(&r.image, &ex.held, None), Vec::<String>::new());
}

/// `--verify` counts a listener's pending connections (unix_diag's `udiag_rqueue`): against an
/// image claiming one fewer than were restored, it says how many it found.
#[test]
fn verify_reports_a_listeners_pending_connection_count() {
    use resocket_restore::{exec, run};
    let bytes =
        std::fs::read(Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/valid/listener-pending.rsimg"))
            .unwrap();
    let r = resocket_core::load(&bytes);
    let plan = resocket_core::plan::plan(&r.image).unwrap();
    let root = scratch("verify-pending");
    let cfg =
        exec::Config { root: Some(root.clone()), place: exec::PlaceMode::HoldAll, fd_base: 1024, inherit_all: false };
    let ex = run::execute(&plan, cfg, false).unwrap();
    let own = run::verify(&r.image, &ex.held, Some(&root));
    let mut claimed = resocket_core::load(&bytes).image;
    let listener = claimed.sockets.values_mut().find(|s| s.is_listener()).unwrap();
    let n = listener.pending.len();
    listener.pending.pop();
    let diffs = run::verify(&claimed, &ex.held, Some(&root));
    drop(ex);
    let _ = std::fs::remove_dir_all(&root);
    assert_eq!(own, Vec::<String>::new());
    let said = format!("{n} pending connections, the image has {}", n - 1);
    assert!(diffs.iter().any(|d| d.contains(&said)), "{diffs:#?}");
}

/// `restore run --hold`: the first process's sockets sit at exactly their recorded numbers with
/// exactly their recorded close-on-exec bits, blocking again, and nothing else the restorer used
/// (placeholders holding those numbers, the plan's own handles) is left open.
#[test]
fn held_sockets_sit_at_their_numbers_with_their_cloexec_bits_and_nothing_else_is_left() {
    use std::io::BufRead;
    let img = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/valid/multi-task.rsimg");
    let root = scratch("hold");
    // What the child inherits from this test process (the harness may hold fds of its own).
    let inherited: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    let mut child = Command::new("unshare")
        .arg("-n")
        .arg(env!("CARGO_BIN_EXE_restore"))
        .args(["run", "--hold", "--root", root.to_str().unwrap(), img.to_str().unwrap()])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
    let mut said = String::new();
    for l in lines.by_ref() {
        let l = l.unwrap();
        said.push_str(&l);
        said.push('\n');
        if l.contains("holding") {
            break;
        }
    }
    let pid = child.id();
    let fd_dir = PathBuf::from(format!("/proc/{pid}/fd"));
    let listing: Vec<(i32, String)> = std::fs::read_dir(&fd_dir)
        .map(|d| {
            d.map(|e| {
                let e = e.unwrap();
                let n: i32 = e.file_name().to_str().unwrap().parse().unwrap();
                (n, std::fs::read_link(e.path()).map(|p| p.display().to_string()).unwrap_or_default())
            })
            .collect()
        })
        .unwrap_or_default();
    let flags = |fd: i32| -> u32 {
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
        let f = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap_or("0").trim().to_string();
        u32::from_str_radix(&f, 8).unwrap()
    };
    let (f5, f9) = (flags(5), flags(9));
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&root);
    const O_CLOEXEC: u32 = 0o2000000;
    const O_NONBLOCK: u32 = 0o4000;
    let sockets: Vec<i32> = listing.iter().filter(|(_, t)| t.starts_with("socket:")).map(|(n, _)| *n).collect();
    // Pid 4242's two sockets at 5 and 9; pid 4243's socket held above them; no plan handles.
    assert!(sockets.contains(&5) && sockets.contains(&9), "{listing:?}\n{said}");
    assert_eq!(sockets.len(), 3, "{listing:?}");
    assert_eq!(f5 & O_CLOEXEC, 0, "fd 5 was not close-on-exec in the image: {f5:o}");
    assert_ne!(f9 & O_CLOEXEC, 0, "fd 9 was close-on-exec in the image: {f9:o}");
    assert_eq!((f5 | f9) & O_NONBLOCK, 0, "placed sockets are blocking again: {f5:o} {f9:o}");
    // No placeholder (/dev/null) left: none beyond stdin and what was inherited.
    let nulls: Vec<i32> =
        listing.iter().filter(|(n, t)| t == "/dev/null" && *n > 2 && !inherited.contains(n)).map(|(n, _)| *n).collect();
    assert!(nulls.is_empty(), "{listing:?}");
}

/// `restore run` on a terminal draws a progress bar for a long restore (`script` gives it a
/// pseudo-terminal); piped, it stays quiet.
#[test]
fn a_long_restore_shows_a_progress_bar_on_a_terminal_only() {
    let img = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/valid/many-1000.rsimg");
    let root = scratch("progress");
    let cmd = format!("unshare -n {} run --root {} {}", env!("CARGO_BIN_EXE_restore"), root.display(), img.display());
    let o = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .stdin(std::process::Stdio::null())
        .output()
        .expect("script(1) from util-linux");
    let tty = String::from_utf8_lossy(&o.stdout).into_owned();
    assert_eq!(o.status.code(), Some(0), "{tty}");
    // The last drawing of the bar is full, with the plan's own total (no `~` estimate left).
    let last = tty.rsplit('\r').find(|l| l.starts_with('[')).unwrap_or_default().to_string();
    let (done, total) = last
        .split_once("] ")
        .and_then(|(_, r)| r.strip_suffix(" steps\n").or(r.strip_suffix(" steps\r\n")).or(r.strip_suffix(" steps")))
        .and_then(|r| r.split_once('/'))
        .unwrap_or_else(|| panic!("no progress bar in {tty:?}"));
    assert_eq!(done, total, "{last:?}");
    assert!(last.starts_with(&format!("[{}]", "#".repeat(50))), "{last:?}");
    let piped = restore_in_netns(&["run", "--root", root.to_str().unwrap(), img.to_str().unwrap()]);
    assert_eq!(piped.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&piped.stderr).contains("[#"), "quiet when piped");
    let _ = std::fs::remove_dir_all(&root);
}

/// What the plan fuzz target found (core/tests/it/fuzz_found.rs), restored and read back from
/// the real kernel: an unnamed SO_PASSCRED socket that sent stays unnamed (the kernel would
/// autobind it had SO_PASSCRED been set before the send), and a peer-gone accepted socket and a
/// pending connection of one listener each come back on their own connection.
#[test]
fn what_the_plan_fuzzer_found_restores_and_verifies_on_the_real_kernel() {
    let cases = [
        (
            "passcred",
            r#"{"sockets": [
                {"name": "a", "type": "dgram", "pair": "b", "passcred": true, "queue": [{"data": "to a"}]},
                {"name": "b", "type": "dgram", "pair": "a", "queue": [{"data": "one"}, {"data": "two"}]},
                {"name": "l", "type": "stream", "addr": "@fz-l", "listen": 4},
                {"name": "c", "type": "stream", "peer": "s", "passcred": true},
                {"name": "s", "type": "stream", "peer": "c", "accepted_from": "l", "queue": [{"data": "hi"}]}]}"#,
        ),
        (
            "gone-before-pending",
            r#"{"sockets": [
                {"name": "L", "type": "stream", "addr": "/tmp/resocket/fz-gone.sock", "listen": 4,
                 "pending": [{"client": "c1", "sent": [{"data": "early"}]}]},
                {"name": "a0", "type": "stream", "accepted_from": "L", "peer_gone": true, "queue": [{"data": "from c0"}]},
                {"name": "c1", "type": "stream"}]}"#,
        ),
        (
            "udp-self-connected",
            r#"{"sockets": [{"name": "u", "family": "inet6", "type": "dgram", "addr": "[::ffff:127.0.0.1]:9000",
                "peer": "u", "shutdown": "rd", "queue": [{"data": "to myself"}]}]}"#,
        ),
    ];
    for (name, json) in cases {
        let root = scratch(&format!("fuzz-{name}"));
        let img = encode_scenario(&root, name, json);
        let sandbox = root.join("sandbox");
        std::fs::create_dir_all(&sandbox).unwrap();
        let o = restore_in_netns(&["run", "--verify", "--root", sandbox.to_str().unwrap(), img.to_str().unwrap()]);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{name}: {}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        let _ = std::fs::remove_dir_all(&root);
    }
}

/// A pending client's out-of-band byte, sent before accept(), on the real kernel: the restored
/// listener's first accept() gives a socket that reads "abc", is then at the mark (SIOCATMARK),
/// gives "X" to recv(MSG_OOB) and "d" after (the scenario of core's `oob.rs` `PENDING`).
#[test]
fn an_out_of_band_byte_sent_before_accept_is_there_after_the_restore() {
    let root = scratch("pending-oob");
    let img = encode_scenario(
        &root,
        "pending-oob",
        r#"{"sockets": [
            {"name": "L", "type": "stream", "addr": "@oob-l", "listen": 2,
             "pending": [{"client": "c", "sent": [{"data": "abc"}, {"data": "X", "oob": true}, {"data": "d"}]}]},
            {"name": "c", "type": "stream"}]}"#,
    );
    let check = r#"
import fcntl, socket, struct
mark = lambda s: struct.unpack("i", fcntl.ioctl(s.fileno(), 0x8905, struct.pack("i", 0)))[0]  # SIOCATMARK
a, _ = socket.socket(fileno=3).accept()
a.setblocking(False)
seen = [mark(a), a.recv(100), mark(a), a.recv(1, socket.MSG_OOB), a.recv(100)]
try:
    seen.append(a.recv(100))
except BlockingIOError:
    seen.append("empty")
print(seen)
"#;
    let sandbox = root.join("sandbox");
    std::fs::create_dir_all(&sandbox).unwrap();
    let o = restore_in_netns(&[
        "run",
        "--verify",
        "--root",
        sandbox.to_str().unwrap(),
        img.to_str().unwrap(),
        "--",
        "python3",
        "-c",
        check,
    ]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout).trim(),
        "[0, b'abc', 1, b'X', b'd', 'empty']",
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// A restore that fails late in a long plan, while the planner is blocked handing over batches
/// the executor will never take (at most four wait: `run::plan_and_execute`), still ends: the
/// error says so, everything is undone and no descriptor is left.
#[test]
fn a_long_streamed_restore_that_fails_late_ends_and_undoes_everything() {
    use resocket_core::sim::Op;
    use resocket_restore::{exec, run};
    crate::differential_inet::fresh_netns_with_lo();
    let bytes = resocket_core::synth::restore_bench(1500, 100).to_image().unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid());
    let plan = resocket_core::plan::plan(&r.image).unwrap();
    let sends: Vec<(usize, usize)> = plan
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| if let Op::Send { data, .. } = &s.op { Some((i, data.0.len())) } else { None })
        .collect();
    let (last, _) = *sends.last().unwrap();
    // More than six batches of 1,024 steps after it: when the cap is hit the planner has four
    // batches waiting and is blocked handing over the next one.
    assert!(plan.steps.len() - last > 6 * 1024, "{last} of {} steps", plan.steps.len());
    let total: usize = sends.iter().map(|s| s.1).sum();
    let fds = || std::fs::read_dir("/proc/thread-self/fd").unwrap().count();
    let before = fds();
    let cfg = exec::Config {
        root: None,
        place: exec::PlaceMode::HoldAll,
        fd_base: run::fd_base_image(&r.image),
        inherit_all: false,
    };
    let caps = run::Caps { max_sockets: usize::MAX, max_queued_bytes: total - 1 };
    let err = run::plan_and_execute(&r.image, cfg, caps, false).unwrap_err();
    assert!(
        err.message.contains("--max-queued-bytes") && err.message.contains("everything restored so far was undone"),
        "{}",
        err.message
    );
    assert_eq!(fds(), before, "descriptors left after the rollback");
}
