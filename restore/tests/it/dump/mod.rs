//! Live processes (tests/it/live.py, each in its own network namespace) are dumped with
//! `checkpoint dump`, and the image is restored with `restore run --verify` elsewhere.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

mod inet;
mod kill;
mod oob;
mod options;
mod reads;
mod unix;

/// A live process: a test script (live.py, urgent.py) running one scenario in its own network
/// namespace, ready (it printed `ready`); it ends when its stdin closes.
pub(crate) struct Live {
    pub(crate) child: Child,
    pub(crate) dir: PathBuf,
}

impl Live {
    fn start(scenario: &str) -> Live {
        Live::start_script(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/live.py"), scenario)
    }

    /// `python3 SCRIPT SCENARIO DIR` in a fresh network namespace, DIR its own scratch directory.
    pub(crate) fn start_script(script: &Path, scenario: &str) -> Live {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let stem = script.file_stem().map_or_else(Default::default, |s| s.to_string_lossy().into_owned());
        let dir = std::env::temp_dir().join(format!("resocket-{stem}-{}-{scenario}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut child = Command::new("unshare")
            .args(["-n", "python3"])
            .arg(script)
            .arg(scenario)
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("unshare + python3");
        let mut line = String::new();
        BufReader::new(child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        assert_eq!(line.trim(), "ready", "scenario {scenario} did not start");
        Live { child, dir }
    }

    /// `checkpoint dump` run inside the process's network namespace (sock_diag is per netns).
    fn dump(&self) -> (Option<i32>, String, PathBuf) {
        self.dump_into("dump.rsimg", &[])
    }

    /// `checkpoint dump FLAGS --pid PID -o DIR/NAME` inside the process's network namespace: the
    /// exit code, what the dump said, the image.
    fn dump_into(&self, name: &str, flags: &[&str]) -> (Option<i32>, String, PathBuf) {
        let img = self.dir.join(name);
        let pid = self.child.id().to_string();
        let o = Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .arg(env!("CARGO_BIN_EXE_checkpoint"))
            .arg("dump")
            .args(flags)
            .args(["--pid", &pid, "-o"])
            .arg(&img)
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), img)
    }
}

impl Live {
    /// `checkpoint dump` run from this test's own network namespace: it must find the
    /// process's namespace itself.
    fn dump_from_here(&self) -> (Option<i32>, String, PathBuf) {
        let img = self.dir.join("dump-here.rsimg");
        let pid = self.child.id().to_string();
        let o = Command::new(env!("CARGO_BIN_EXE_checkpoint"))
            .args(["dump", "--pid", &pid, "-o"])
            .arg(&img)
            .output()
            .unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), img)
    }
}

impl Drop for Live {
    fn drop(&mut self) {
        // A process a failed `--kill` dump left stopped would never read its stdin's end.
        if let Some(pid) = rustix::process::Pid::from_raw(self.child.id() as i32) {
            let _ = rustix::process::kill_process(pid, rustix::process::Signal::CONT);
        }
        drop(self.child.stdin.take());
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// In a fresh network namespace: bring loopback up, then run the command (INET restores need it).
const LO_UP: &str = r#"ip link set lo up && exec "$0" "$@""#;

/// [`LO_UP`], plus a veth pair (both ends in the namespace, up) whose first end has 10.1.2.3/24
/// and 2001:db8::3/64 (`nodad`: never tentative), as live.py's `inet-host` scenario makes. The
/// namespace and its links go with the process.
const HOST_UP: &str = "ip link set lo up && ip link add rs0 type veth peer name rs1 && \
    ip addr add 10.1.2.3/24 dev rs0 && ip addr add 2001:db8::3/64 dev rs0 nodad && \
    ip link set rs0 up && ip link set rs1 up && exec \"$0\" \"$@\"";

fn restore_verify(img: &Path) -> (Option<i32>, String) {
    restore_verify_in(img, LO_UP)
}

/// `restore run --verify` of an image in a fresh network namespace set up by `setup` (a shell
/// script that ends by exec'ing its arguments): the exit code and what restore said.
fn restore_verify_in(img: &Path, setup: &str) -> (Option<i32>, String) {
    let root = img.with_extension("root");
    std::fs::create_dir_all(&root).unwrap();
    let o = Command::new("unshare")
        .args(["-n", "sh", "-c", setup])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .args(["run", "--verify", "--root"])
        .arg(&root)
        .arg(img)
        .output()
        .unwrap();
    let _ = std::fs::remove_dir_all(&root);
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

/// `restore run --root DIR/check-root IMAGE -- python3 live.py MODE DIR [ROOT]` in a fresh
/// network namespace with lo up: the restored process checks what it holds (`with_root`: the
/// root is passed to it as well).
fn restore_run_live_py(img: &Path, dir: &Path, mode: &str, with_root: bool) -> std::process::Output {
    let root = dir.join("check-root");
    std::fs::create_dir_all(&root).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/live.py");
    let mut cmd = Command::new("unshare");
    cmd.args(["-n", "sh", "-c", LO_UP])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .args(["run", "--root"])
        .arg(&root)
        .arg(img)
        .args(["--", "python3"])
        .arg(script)
        .arg(mode)
        .arg(dir);
    if with_root {
        cmd.arg(&root);
    }
    cmd.output().unwrap()
}

fn round_trip(scenario: &str) -> resocket_core::Image<'static> {
    let live = Live::start(scenario);
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "dump of {scenario}: {err}");
    let bytes = std::fs::read(&img).unwrap();
    let (code, err) = restore_verify(&img);
    assert_eq!(code, Some(0), "restore of {scenario}: {err}");
    resocket_core::load(&bytes).image.into_owned()
}

impl Live {
    /// `checkpoint dump --kill` (inside the process's network namespace): the exit code, what
    /// the dump said, the image.
    fn dump_kill(&self) -> (Option<i32>, String, PathBuf) {
        self.dump_with(&["--kill"])
    }

    /// `checkpoint dump FLAGS` (inside the process's network namespace).
    pub(crate) fn dump_with(&self, flags: &[&str]) -> (Option<i32>, String, PathBuf) {
        self.dump_into("kill.rsimg", flags)
    }
}

/// The state letter of `/proc/PID/stat` (`R`, `S`, `T`, `Z`, ...).
fn proc_state(pid: u32) -> Option<u8> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    stat.iter().rposition(|&b| b == b')').and_then(|at| stat.get(at + 2)).copied()
}

/// `checkpoint dump --kill` of a live.py scenario: the process is killed (SIGKILL) once the
/// image is written; the image is valid and `restore run --verify` restores it; and
/// `restore run IMAGE -- live.py check DIR` in a fresh network namespace finds on each listener,
/// in accept order, the connections the process had pending with what their clients had sent
/// (live.py's expect.json). The image, and what the dump said.
fn kill_dump_round_trip(scenario: &str) -> (resocket_core::Image<'static>, String) {
    kill_dump_round_trip_checked(scenario, "check")
}

/// [`kill_dump_round_trip`], the restored process running `live.py MODE DIR`.
fn kill_dump_round_trip_checked(scenario: &str, mode: &str) -> (resocket_core::Image<'static>, String) {
    use std::os::unix::process::ExitStatusExt;
    let mut live = Live::start(scenario);
    let (code, said, img) = live.dump_kill();
    assert_eq!(code, Some(0), "dump --kill of {scenario}: {said}");
    let status = live.child.wait().unwrap();
    assert_eq!(status.signal(), Some(9), "{scenario}: the dumped process was killed: {status:?}");
    let (image, said, _, _) = checked_round_trip(scenario, &live, (code, said, img), mode);
    (image, said)
}

/// Every pending connection of the image's listeners: (listener type, client present, bytes
/// queued on the embryo, fds in flight with them), in accept order per listener.
fn pending_of(img: &resocket_core::Image<'_>) -> Vec<(u16, bool, Vec<u8>, usize)> {
    let mut out = Vec::new();
    for l in img.sockets.values() {
        for p in &l.pending {
            let e = &img.sockets.get(&p.embryo).unwrap();
            let bytes = e.queue.iter().flat_map(|m| m.data.to_vec()).collect();
            let fds = e.queue.iter().map(|m| m.rights.len()).sum();
            out.push((l.common.sock_type, p.client != 0, bytes, fds));
        }
    }
    out
}

/// Restore a dump into a process (`restore run -- sleep`), dump that process again, and compare
/// the two dumps with `restore diff` up to renumbering (and the names' directory).
fn second_dump_equals_first(scenario: &str) {
    second_dump_equals_first_in(scenario, LO_UP);
}

/// [`second_dump_equals_first`], restored in a namespace set up by `setup`.
fn second_dump_equals_first_in(scenario: &str, setup: &str) {
    second_dump_equals_first_with(scenario, setup, &[]);
}

/// [`second_dump_equals_first_in`], both dumps made with these extra `checkpoint dump` flags.
fn second_dump_equals_first_with(scenario: &str, setup: &str, flags: &[&str]) {
    let live = Live::start(scenario);
    let (code, err, first) = if flags.is_empty() { live.dump() } else { live.dump_with(flags) };
    assert_eq!(code, Some(0), "{err}");
    let root = live.dir.join("root");
    std::fs::create_dir_all(&root).unwrap();
    let root = std::fs::canonicalize(&root).unwrap();
    let mut restored = Command::new("unshare")
        .args(["-n", "sh", "-c", setup])
        .arg(env!("CARGO_BIN_EXE_restore"))
        .args(["run", "--root"])
        .arg(&root)
        .arg(&first)
        .args(["--", "sleep", "30"])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = restored.id();
    // Wait for the exec: sleep's command line.
    for _ in 0..200 {
        if std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default().starts_with(b"sleep") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let second = live.dir.join("second.rsimg");
    let o = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg(env!("CARGO_BIN_EXE_checkpoint"))
        .arg("dump")
        .args(flags)
        .args(["--pid", &pid.to_string(), "-o"])
        .arg(&second)
        .output()
        .unwrap();
    let _ = restored.kill();
    let _ = restored.wait();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    // Under a root a socket is bound from its directory by its last component, which is what
    // the second dump reads back (fsroot.rs): the first dump's names (all in the scenario's
    // directory) compare without that directory.
    let mut dir = live.dir.clone().into_os_string();
    dir.push("/");
    let o = Command::new(env!("CARGO_BIN_EXE_restore"))
        .args(["diff", "--strip-a"])
        .arg(&dir)
        .arg(&first)
        .arg(&second)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{scenario}: {}", String::from_utf8_lossy(&o.stdout));
}

/// `checkpoint dump` of a live INET scenario, then `restore run --verify` of the image in a
/// fresh namespace: the image and what the dump said.
fn dump_only(scenario: &str) -> (resocket_core::Image<'static>, String) {
    let live = Live::start(scenario);
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "dump of {scenario}: {err}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{scenario}: {:#?}", r.diagnostics);
    let (code, restored) = restore_verify(&img);
    assert_eq!(code, Some(0), "restore of {scenario}: {restored}");
    (r.image.into_owned(), err)
}

fn at(s: &str) -> std::net::SocketAddr {
    s.parse().unwrap()
}

/// Every socket fd of a live process as this test reads it itself: (fd, inode, close-on-exec
/// from its fdinfo, SO_PEEK_OFF of the socket), in fd order.
fn socket_fds_seen_from_here(pid: u32) -> Vec<(i32, u64, bool, i32)> {
    use rustix::fd::AsFd;
    use rustix::process::{pidfd_getfd, pidfd_open, Pid, PidfdFlags, PidfdGetfdFlags};
    let pidfd = pidfd_open(Pid::from_raw(pid as i32).unwrap(), PidfdFlags::empty()).unwrap();
    let mut out = Vec::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap() {
        let e = e.unwrap();
        let fd: i32 = e.file_name().to_str().unwrap().parse().unwrap();
        let Ok(link) = std::fs::read_link(e.path()) else { continue };
        let Some(ino) = link.to_str().and_then(|l| l.strip_prefix("socket:[")?.strip_suffix(']')?.parse().ok()) else {
            continue;
        };
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap();
        let flags = info.lines().find_map(|l| l.strip_prefix("flags:")).unwrap();
        let cloexec = u32::from_str_radix(flags.trim(), 8).unwrap() & 0o2000000 != 0;
        let dup = pidfd_getfd(&pidfd, fd, PidfdGetfdFlags::empty()).unwrap();
        out.push((fd, ino, cloexec, resocket_restore::raw::peek_off(dup.as_fd()).unwrap()));
    }
    out.sort();
    out
}

/// `checkpoint dump` of a process that set options on its sockets (live.py `sockopts-unix` /
/// `sockopts-inet`: every recorded option away from its default somewhere, and a peek offset
/// over queued bytes or datagrams on each kind), then `restore run --verify` (which reads every
/// recorded option back), then `restore run IMAGE -- live.py check-opts DIR`: the restored
/// process reads each option back with getsockopt as the original did, and MSG_PEEK starts at
/// the restored offset. The image and what the plan warned.
fn sockopts_round_trip(scenario: &str) -> (resocket_core::Image<'static>, String) {
    let live = Live::start(scenario);
    let (image, _, verified, err) = checked_round_trip(scenario, &live, live.dump(), "check-opts");
    (image, format!("{verified}{err}"))
}

/// The part of a live round trip after the dump (`dumped`: what `Live::dump` or `dump_with`
/// gave): the image loads valid, `restore run --verify` passes, and `restore run IMAGE --
/// live.py MODE DIR` prints `ok`. The image, what the dump said, what verify said, and the
/// restored process's stderr.
fn checked_round_trip(
    scenario: &str,
    live: &Live,
    (code, said, img): (Option<i32>, String, PathBuf),
    mode: &str,
) -> (resocket_core::Image<'static>, String, String, String) {
    assert_eq!(code, Some(0), "dump of {scenario}: {said}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{scenario}: {:#?}", r.diagnostics);
    let (code, verified) = restore_verify(&img);
    assert_eq!(code, Some(0), "restore --verify of {scenario}: {verified}");
    let o = restore_run_live_py(&img, &live.dir, mode, false);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!((o.status.code(), out.trim()), (Some(0), "ok"), "{scenario}: the restored process: {err}");
    (r.image.into_owned(), said, verified, err)
}

/// The options of the image's sockets that are away from their defaults, sorted.
fn set_opts(img: &resocket_core::Image<'_>) -> Vec<resocket_core::sim::SockOpt> {
    use resocket_core::sim::SockOpt;
    let mut v: Vec<SockOpt> = img
        .sockets
        .values()
        .flat_map(|s| s.opts.iter().flat_map(|o| o.opts.iter().copied()))
        .filter(|o| o.recorded().is_some_and(|n| *o != SockOpt::default_of(n)))
        .collect();
    v.sort_by_key(|o| format!("{o:?}"));
    v
}

/// `checkpoint dump` of a live.py scenario (plain, or with `flags`), `restore run --verify` of
/// the image, then `restore run IMAGE -- live.py check-reads DIR`: the restored process replays
/// on its sockets what the original wrote it must see (names, peers, peeks, reads with their
/// fds and credentials, EOF, EAGAIN, send errors, the same on fds received in flight). The
/// image and what the dump said.
fn reads_round_trip(scenario: &str, flags: &[&str]) -> (resocket_core::Image<'static>, String) {
    let live = Live::start(scenario);
    let (image, said, _, err) = checked_round_trip(scenario, &live, live.dump_with(flags), "check-reads");
    (image, format!("{said}{err}"))
}
