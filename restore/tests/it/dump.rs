//! Live processes (tests/it/live.py, each in its own network namespace) are dumped with
//! `checkpoint dump`, and the image is restored with `restore run --verify` elsewhere.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

struct Live {
    child: Child,
    dir: PathBuf,
}

impl Live {
    fn start(scenario: &str) -> Live {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("resocket-live-{}-{scenario}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/live.py");
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
        let img = self.dir.join("dump.rsimg");
        let pid = self.child.id().to_string();
        let o = Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .arg(env!("CARGO_BIN_EXE_checkpoint"))
            .args(["dump", "--pid", &pid, "-o"])
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

#[test]
fn socketpairs_of_each_type_with_data_both_ways() {
    let img = round_trip("pairs");
    let queued: Vec<usize> = img.sockets.values().map(|s| s.queue.len()).collect();
    // Stream bytes have no boundaries ("to b " + "again" read back as one run), datagrams and
    // seqpacket records keep theirs, the empty ones included: one/two/"" + back, rec1/""/rec3.
    assert_eq!(queued.iter().sum::<usize>(), 1 + 1 + 3 + 1 + 3, "{queued:?}");
    let stream: Vec<&[u8]> = img.sockets.values().flat_map(|s| &s.queue).map(|m| &m.data[..]).collect();
    assert!(stream.contains(&&b"to b again"[..]), "{stream:?}");
}

#[test]
fn a_listener_with_accepted_and_pending_connections_in_order() {
    let img = round_trip("listener");
    let pending: usize = img.sockets.values().map(|s| s.pending.len()).sum();
    assert_eq!(pending, 3);
}

#[test]
fn pending_data_before_accept_is_refused_with_the_reason() {
    let live = Live::start("listener-data");
    let (code, err, _) = live.dump();
    assert_eq!(code, Some(1));
    assert!(err.contains("sent before accept()") && err.contains("embryo"), "{err}");
    // The refusal names the mode that can read it.
    assert!(err.contains("`checkpoint dump --kill`"), "{err}");
}

/// Exit codes tell a refusal (1: the state cannot be recorded, above) from a system failure
/// (2: here a process that is gone; dumping again may work, or the pid is wrong).
#[test]
fn a_dump_of_a_process_that_is_gone_is_a_system_failure_exit_2() {
    let mut child = Command::new("true").spawn().unwrap();
    child.wait().unwrap();
    let pid = child.id().to_string();
    let img = std::env::temp_dir().join(format!("resocket-gone-{pid}.rsimg"));
    let o =
        Command::new(env!("CARGO_BIN_EXE_checkpoint")).args(["dump", "--pid", &pid, "-o"]).arg(&img).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains(&pid), "names the process: {err}");
    assert!(!img.exists(), "no image is written");
}

impl Live {
    /// `checkpoint dump --kill` (inside the process's network namespace): the exit code, what
    /// the dump said, the image.
    fn dump_kill(&self) -> (Option<i32>, String, PathBuf) {
        self.dump_with(&["--kill"])
    }

    /// `checkpoint dump FLAGS` (inside the process's network namespace).
    fn dump_with(&self, flags: &[&str]) -> (Option<i32>, String, PathBuf) {
        let img = self.dir.join("kill.rsimg");
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

/// The state letter of `/proc/PID/stat` (`R`, `S`, `T`, `Z`, ...).
fn proc_state(pid: u32) -> Option<u8> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    stat.iter().rposition(|&b| b == b')').and_then(|at| stat.get(at + 2)).copied()
}

/// `checkpoint dump --kill` that is itself killed (SIGKILL) mid-dump, held at a failpoint: its
/// guard process resumes the dumped process when nothing was accepted yet, and kills it once
/// its pending connections were accepted. Before the guard, it stayed stopped either way.
#[test]
fn a_kill_dump_that_is_killed_mid_dump_leaves_no_process_stopped() {
    use std::os::unix::process::ExitStatusExt;
    for (point, killed) in [("stopped", false), ("accepted", true)] {
        let mut live = Live::start("early-stream");
        let pid = live.child.id();
        let mut dump = Command::new("nsenter")
            .arg(format!("--net=/proc/{pid}/ns/net"))
            .arg(env!("CARGO_BIN_EXE_checkpoint"))
            .args(["dump", "--kill", "--pid", &pid.to_string(), "-o"])
            .arg(live.dir.join("never.rsimg"))
            .env("RESOCKET_FAILPOINT", point)
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut said = String::new();
        let mut err = BufReader::new(dump.stderr.take().unwrap());
        while !said.contains("failpoint") {
            assert!(err.read_line(&mut said).unwrap() > 0, "{point}: the dump ended: {said}");
        }
        assert_eq!(proc_state(pid), Some(b'T'), "{point}: stopped while the dump runs");
        dump.kill().unwrap();
        dump.wait().unwrap();
        if killed {
            let status = live.child.wait().unwrap();
            assert_eq!(status.signal(), Some(9), "{point}: the guard killed it: {status:?}");
        } else {
            let resumed = (0..500).any(|_| {
                std::thread::sleep(std::time::Duration::from_millis(10));
                proc_state(pid).is_some_and(|s| s != b'T')
            });
            assert!(resumed, "{point}: still stopped ({:?})", proc_state(pid).map(char::from));
            // Untouched: a dump of it still sees the pending connections (and refuses their data).
            let (code, said, _) = live.dump();
            assert_ne!(code, Some(0), "{point}: {said}");
            assert!(said.contains("--kill"), "{point}: {said}");
        }
    }
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
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{scenario}: {:#?}", r.diagnostics);
    let (code, verified) = restore_verify(&img);
    assert_eq!(code, Some(0), "restore --verify of {scenario}: {verified}");
    let o = restore_run_live_py(&img, &live.dir, mode, false);
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!((o.status.code(), out.trim()), (Some(0), "ok"), "{scenario}: the restored process: {err}");
    (r.image.into_owned(), said)
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

#[test]
fn kill_dump_captures_what_stream_clients_sent_before_accept() {
    let (img, said) = kill_dump_round_trip("early-stream");
    assert_eq!(
        pending_of(&img),
        [(1, true, b"early more".to_vec(), 0), (1, true, Vec::new(), 0), (1, true, b"with fdafter".to_vec(), 1)],
        "{said}"
    );
    assert!(said.contains("were killed"), "{said}");
}

#[test]
fn kill_dump_captures_seqpacket_records_sent_before_accept() {
    let (img, said) = kill_dump_round_trip("early-seqpacket");
    let l = img.sockets.values().find(|s| !s.pending.is_empty()).unwrap();
    let records: Vec<Vec<Vec<u8>>> = l
        .pending
        .iter()
        .map(|p| img.sockets.get(&p.embryo).unwrap().queue.iter().map(|m| m.data.to_vec()).collect())
        .collect();
    let want: Vec<Vec<Vec<u8>>> = vec![
        vec![b"early".to_vec(), b" more".to_vec()],
        vec![],
        vec![b"with fd".to_vec(), Vec::new(), b"after".to_vec()],
    ];
    assert_eq!(records, want, "{said}");
}

#[test]
fn kill_dump_of_a_listener_among_many_sockets() {
    let (img, said) = kill_dump_round_trip("early-mixed");
    let p = pending_of(&img);
    assert_eq!(p.len(), 7, "{said}");
    assert_eq!(p.iter().filter(|c| !c.2.is_empty()).count(), 4, "{p:?}");
}

#[test]
fn kill_dump_of_a_listener_that_is_only_in_flight() {
    let (img, said) = kill_dump_round_trip("early-in-flight");
    assert_eq!(
        pending_of(&img),
        [(1, true, b"first client".to_vec(), 0), (1, true, b"second client".to_vec(), 1)],
        "{said}"
    );
    let l = img.sockets.values().find(|s| !s.pending.is_empty()).unwrap();
    assert!(!img
        .tables
        .iter()
        .flat_map(|t| &t.fds)
        .any(|f| img.files.get(&f.file).unwrap().repr.sock_objref == l.objref));
}

#[test]
fn dgram_self_connect_and_fan_in() {
    let img = round_trip("dgram");
    assert!(img.sockets.values().any(|s| s.peer() == s.objref), "a self-connected socket");
    assert!(img.sockets.values().any(|s| s.queue.len() == 3));
}

#[test]
fn shutdown_modes() {
    let img = round_trip("shutdown");
    let mut modes: Vec<u8> = img.sockets.values().map(|s| s.common.shutdown).collect();
    modes.sort();
    assert_eq!(modes, vec![1, 1, 2, 2, 3, 3]);
}

#[test]
fn abstract_path_and_relative_names() {
    let img = round_trip("names");
    assert!(img.sockets.values().any(|s| s.unix.as_ref().is_some_and(|u| u.cwd.is_some())));
}

/// Names bound relative to a directory the process has since left: the dump finds where each
/// was bound from the socket's own file (`SIOCUNIXFILE`), not from the cwd, says nothing is
/// guessed, and the restored process is reachable at the absolute paths it was reachable at.
#[test]
fn relative_names_bound_in_a_directory_the_process_has_left_come_back_there() {
    let live = Live::start("relative-elsewhere");
    let (code, said, img) = live.dump();
    assert_eq!(code, Some(0), "dump: {said}");
    assert!(!said.contains("relative-cwd"), "the directory was not guessed: {said}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let mut cwds: Vec<(Vec<u8>, Vec<u8>, bool)> = r
        .image
        .sockets
        .values()
        .filter_map(|s| s.unix.as_ref())
        .filter_map(|u| match &u.laddr {
            resocket_core::image::UnixAddr::Path(p) => Some((
                p.to_vec(),
                u.cwd.as_deref().unwrap_or_default().to_vec(),
                u.has(resocket_core::wire::UNIX_LINKED),
            )),
            _ => None,
        })
        .collect();
    cwds.sort();
    let a = live.dir.join("a");
    let a = a.to_str().unwrap().as_bytes();
    assert_eq!(cwds, [(b"srv.sock".to_vec(), a.to_vec(), true), (b"sub/log.sock".to_vec(), a.to_vec(), true)]);
    let o = restore_run_live_py(&img, &live.dir, "relative-elsewhere-check", true);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!((o.status.code(), out.trim()), (Some(0), "ok"), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn a_peer_outside_the_dumped_processes_is_marked_external_and_restored_broken() {
    let live = Live::start("external");
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("marked external"), "{err}");
    let bytes = std::fs::read(&img).unwrap();
    let report = resocket_core::load(&bytes);
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    let s = report.image.sockets.values().next().unwrap();
    assert!(s.unix.as_ref().unwrap().has(resocket_core::wire::UNIX_EXTERNAL_PEER));
    assert_eq!(&s.queue[0].data[..], b"from outside");
    let plan = resocket_core::plan::plan(&report.image).unwrap();
    assert!(plan.warnings.iter().any(|w| w.message.contains("as if the connection broke")), "{:?}", plan.warnings);
    // Restored broken: the data, then EOF (shutdown 3 instead of the recorded 0: said above).
    let rep = resocket_core::check::run_plan(&report.image, &plan);
    assert!(rep.failure.is_none());
    assert!(rep.differences.iter().all(|d| d.what == "shutdown"), "{:#?}", rep.differences);
}

#[test]
fn a_dgram_peer_outside_the_dumped_processes_is_recorded_by_name() {
    let live = Live::start("external-dgram");
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("is recorded: a restore connects it there again"), "{err}");
    let bytes = std::fs::read(&img).unwrap();
    let report = resocket_core::load(&bytes);
    assert!(report.is_valid(), "{:#?}", report.diagnostics);
    let s = report.image.sockets.values().find(|s| s.common.sock_type == resocket_core::wire::SOCK_DGRAM).unwrap();
    let u = s.unix.as_ref().unwrap();
    assert!(u.has(resocket_core::wire::UNIX_EXTERNAL_PEER));
    let want = live.dir.join("ext-dgram.sock");
    assert_eq!(u.raddr, resocket_core::image::UnixAddr::Path(want.as_os_str().as_encoded_bytes().into()));
}

#[test]
fn an_fd_in_flight() {
    let img = round_trip("rights");
    assert!(img.sockets.values().flat_map(|s| &s.queue).any(|m| !m.rights.is_empty()));
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

#[test]
fn a_second_dump_of_the_restored_process_equals_the_first() {
    for scenario in ["pairs", "listener", "dgram", "shutdown", "rights", "inet"] {
        second_dump_equals_first(scenario);
    }
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

#[test]
fn tcp_and_udp_sockets_are_dumped_with_their_loopback_peers_queues_and_pending_connections() {
    use resocket_core::image::inet::peers;
    let (img, said) = dump_only("inet");
    let find = |local: &str, listener: bool| {
        img.sockets
            .values()
            .find(|s| s.inet_local() == Some(at(local)) && s.is_listener() == listener)
            .unwrap_or_else(|| panic!("no socket at {local}"))
    };
    // The server: backlog 5, two pending clients (in the image, connected to it), one accepted
    // connection with data both ways.
    let l = find("127.0.0.1:8080", true);
    assert_eq!(l.common.backlog, 5);
    assert_eq!(l.pending.len(), 2, "{said}");
    for p in &l.pending {
        let c = img.sockets.get(&p.client).expect("the pending client is in the image");
        assert_eq!(c.inet_remote(), Some(at("127.0.0.1:8080")));
    }
    assert!(said.contains("accept order"), "the unknown accept order is said: {said}");
    let peer = peers(&img);
    let accepted: Vec<_> = img
        .sockets
        .values()
        .filter(|s| s.is_tcp() && !s.is_listener() && s.inet_local() == Some(at("127.0.0.1:8080")))
        .filter(|s| !l.pending.iter().any(|p| p.embryo == s.objref))
        .collect();
    assert_eq!(accepted.len(), 1, "one accepted socket");
    let a0 = accepted[0];
    let c0 = img.sockets.get(&peer[&a0.objref]).expect("its client");
    assert_eq!(peer.get(&c0.objref), Some(&a0.objref), "peers both ways");
    assert_eq!(a0.queue.iter().map(|m| &m.data[..]).collect::<Vec<_>>(), [b"GET / HTTP/1.1"]);
    assert_eq!(c0.queue.iter().map(|m| &m.data[..]).collect::<Vec<_>>(), [b"HTTP/1.1 200 OK"]);
    // The dual-stack listener, not IPV6_V6ONLY, with its pending IPv4 client.
    let l6 = find("[::]:9090", true);
    assert_eq!((l6.common.backlog, l6.pending.len()), (3, 1));
    // UDP: boundaries (the empty datagram too) and senders kept.
    let u1 = find("127.0.0.1:5001", false);
    let u2 = find("127.0.0.1:5002", false);
    let u3 = find("127.0.0.1:5003", false);
    let u4 = find("127.0.0.1:5004", false);
    assert_eq!((peer.get(&u1.objref), peer.get(&u2.objref)), (Some(&u2.objref), Some(&u1.objref)));
    let data =
        |s: &resocket_core::image::Sock<'_>| s.queue.iter().map(|m| (m.sender, m.data.to_vec())).collect::<Vec<_>>();
    assert_eq!(data(u2), [(u1.objref, b"ping 1".to_vec()), (u1.objref, Vec::new()), (u1.objref, b"ping 3".to_vec())]);
    assert_eq!(data(u1), [(u2.objref, b"pong".to_vec())]);
    assert_eq!(data(u3), [(u4.objref, b"to u3".to_vec())]);
}

#[test]
fn inet_data_sent_before_accept_is_refused_with_the_reason() {
    let live = Live::start("inet-early-data");
    let (code, err, _) = live.dump();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("sent before accept()") && err.contains("embryo"), "{err}");
}

#[test]
fn a_tcp_peer_outside_the_dumped_processes_is_marked_external() {
    let (img, said) = dump_only("inet-external");
    let c = img.sockets.values().find(|s| s.is_tcp() && s.inet_remote() == Some(at("127.0.0.1:7070"))).unwrap();
    assert!(said.contains("outside the dumped processes") && said.contains("127.0.0.1:7070"), "{said}");
    // What the server had sent is kept; the restore brings the socket back closed.
    assert_eq!(c.queue.iter().map(|m| &m.data[..]).collect::<Vec<_>>(), [b"from the server"]);
    assert!(resocket_core::plan::plan(&img)
        .map(|p| p.warnings.iter().any(|w| w.message.contains(&format!("#{}", c.objref))))
        .unwrap_or(true));
}

#[test]
fn dump_reads_sock_diag_in_the_network_namespace_of_the_process() {
    // The process lives in its own namespace (unshare -n); the dump runs in ours.
    let live = Live::start("inet");
    let (code, err, img) = live.dump_from_here();
    assert_eq!(code, Some(0), "{err}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let listener = r.image.sockets.values().find(|s| s.is_listener() && s.inet_local() == Some(at("127.0.0.1:8080")));
    assert_eq!(listener.map(|l| l.pending.len()), Some(2), "the accept queue is seen from here too: {err}");
}

#[test]
fn sockets_on_the_hosts_own_addresses_are_dumped_and_restored_on_a_host_that_has_them() {
    let live = Live::start("inet-host");
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "dump: {err}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let l = r.image.sockets.values().find(|s| s.is_listener() && s.inet_local() == Some(at("10.1.2.3:8080"))).unwrap();
    assert_eq!(l.pending.len(), 2);
    let l6 =
        r.image.sockets.values().find(|s| s.is_listener() && s.inet_local() == Some(at("[2001:db8::3]:9090"))).unwrap();
    assert_eq!(l6.pending.len(), 1);
    // On a host with these addresses: no warning, and the kernel state verified.
    let (code, said) = restore_verify_in(&img, HOST_UP);
    assert_eq!(code, Some(0), "{said}");
    assert!(!said.contains("warning"), "{said}");
    drop(live);
    // A second dump of the restored process equals the first.
    second_dump_equals_first_in("inet-host", HOST_UP);
}

#[test]
fn sockets_on_addresses_a_host_lacks_are_each_named_when_restored_there() {
    let live = Live::start("inet-host");
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "dump: {err}");
    let (code, said) = restore_verify(&img);
    assert_eq!(code, Some(0), "{said}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    for s in r.image.sockets.values() {
        let Some(l) = s.inet_local().filter(|l| l.port() != 0 && !l.ip().is_loopback()) else { continue };
        if r.image.embryos().contains(&s.objref) {
            continue; // said with its listener
        }
        let named = said.lines().any(|w| {
            w.contains("warning")
                && w.contains(&format!("socket #{}", s.objref))
                && w.contains(&l.to_string())
                && w.contains("not an address of this host")
        });
        assert!(named, "#{} at {l} is not named: {said}", s.objref);
    }
    // The pending client from 127.0.0.1 is fine itself; its connection is not.
    assert!(said.contains("10.1.2.3:8080, which is not an address of this host"), "{said}");
}

#[test]
fn a_tcp_socket_connected_to_itself_is_dumped_and_restored_connected_to_itself() {
    let (img, said) = dump_only("inet-self");
    let s = img.sockets.values().find(|s| s.inet_local() == Some(at("127.0.0.1:7000"))).expect("the socket");
    assert_eq!(s.inet_remote(), Some(at("127.0.0.1:7000")), "{said}");
    assert!(resocket_core::plan::self_connected(s));
    assert_eq!(s.queue.iter().flat_map(|m| m.data.to_vec()).collect::<Vec<u8>>(), b"note to self");
    // dump_only restored it with --verify; a second dump of the restored process equals the first.
    second_dump_equals_first("inet-self");
}

/// `restore plan` and `restore simulate` plan for the addresses of the host they run on: on one
/// with 10.1.2.3 and 2001:db8::3 the sockets are bound and listening there; on one with lo only
/// each socket left unbound is named.
#[test]
fn restore_plan_and_simulate_plan_for_the_addresses_of_the_host_they_run_on() {
    let dir = std::env::temp_dir().join(format!("resocket-plan-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("host.json");
    std::fs::write(
        &src,
        r#"{"sockets": [{"name": "L", "type": "stream", "family": "inet", "addr": "10.1.2.3:8080", "listen": 4},
                        {"name": "u", "type": "dgram", "family": "inet6", "addr": "[2001:db8::3]:53"}]}"#,
    )
    .unwrap();
    let img = dir.join("host.rsimg");
    let o =
        Command::new(env!("CARGO_BIN_EXE_checkpoint")).arg("encode").arg(&src).arg("-o").arg(&img).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let restore_in = |setup: &str, command: &str| {
        let o = Command::new("unshare")
            .args(["-n", "sh", "-c", setup])
            .arg(env!("CARGO_BIN_EXE_restore"))
            .arg(command)
            .arg(&img)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let on_host = restore_in(HOST_UP, "plan");
    assert!(
        on_host.contains("bind(#") && on_host.contains("10.1.2.3:8080") && on_host.contains("listen("),
        "{on_host}"
    );
    assert!(on_host.contains("[2001:db8::3]:53") && !on_host.contains("warning"), "{on_host}");
    let on_lo = restore_in(LO_UP, "plan");
    assert!(
        on_lo.contains("warning[inet-address-missing]: socket #")
            && on_lo.contains("10.1.2.3:8080 is not an address of this host"),
        "{on_lo}"
    );
    assert!(on_lo.contains("[2001:db8::3]:53 is not an address of this host"), "{on_lo}");
    assert!(!on_lo.contains("listen("), "{on_lo}");
    // Simulated on a host that has the addresses, the binds and the listen succeed, nothing warned.
    let on_host = restore_in(HOST_UP, "simulate");
    assert!(on_host.contains("bind(#3, (inet 10.1.2.3:8080))") && on_host.contains("listen(#3, 4)"), "{on_host}");
    assert!(on_host.contains("the simulated state equals the image\n") && !on_host.contains("warning"), "{on_host}");
    // On one with lo only, the sockets stay unbound and the output says so, socket by socket.
    let on_lo = restore_in(LO_UP, "simulate");
    assert!(!on_lo.contains("bind(#") && !on_lo.contains("listen(#"), "{on_lo}");
    assert!(on_lo.contains("except where the plan says it cannot restore it"), "{on_lo}");
    assert!(
        on_lo.contains("warning[inet-address-missing]: socket #3: 10.1.2.3:8080 is not an address of this host"),
        "{on_lo}"
    );
    assert!(
        on_lo.contains("warning[inet-address-missing]: socket #5: [2001:db8::3]:53 is not an address of this host"),
        "{on_lo}"
    );
    let _ = std::fs::remove_dir_all(&dir);
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

#[test]
fn close_on_exec_bits_an_fd_amid_a_stream_queue_and_a_peek_offset_of_the_process_own() {
    let live = Live::start("flags");
    let before = socket_fds_seen_from_here(live.child.id());
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "{err}");
    // The peek offset the process set is where it was (the dump used to leave it at -1).
    assert_eq!(socket_fds_seen_from_here(live.child.id()), before);
    assert_eq!(before.iter().filter(|f| f.3 == 3).count(), 1, "{before:?}");
    assert!(before.iter().all(|f| f.3 == 3 || f.3 == -1), "{before:?}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    // Every socket fd and no other (not the file, not the pipe), each with its close-on-exec
    // bit, both values present; the sockets held plus the one in flight.
    let got: Vec<(i32, bool)> = r.image.tables[0].fds.iter().map(|f| (f.fd, f.cloexec)).collect();
    let want: Vec<(i32, bool)> = before.iter().map(|f| (f.0, f.2)).collect();
    assert_eq!(got, want);
    assert!(want.iter().any(|f| f.1) && want.iter().any(|f| !f.1), "{want:?}");
    assert_eq!(r.image.sockets.len(), before.len() + 1);
    // The stream queue: every byte, and the fd with the message that carried it (its bytes
    // end at "before with fd ").
    let q = r.image.sockets.values().find(|s| s.queue.iter().any(|m| !m.rights.is_empty())).expect("the fd's queue");
    assert_eq!(q.queue.iter().flat_map(|m| m.data.to_vec()).collect::<Vec<u8>>(), b"before with fd after");
    assert_eq!(q.queue.iter().map(|m| m.rights.len()).sum::<usize>(), 1);
    let upto = q.queue.iter().position(|m| !m.rights.is_empty()).unwrap();
    assert_eq!(q.queue[..=upto].iter().map(|m| m.data.len()).sum::<usize>(), b"before with fd ".len());
    // The other stream's bytes, the idle listener, the unconnected socket.
    assert!(r.image.sockets.values().any(|s| s.queue.iter().map(|m| &m.data[..]).eq([&b"plain"[..]])));
    assert!(r.image.sockets.values().any(|s| s.is_listener() && s.common.backlog == 2));
    drop(live);
    second_dump_equals_first("flags");
}

/// inet_diag is asked for the kinds of socket a dump holds only: each kind comes alone, all
/// four make `dump()`, none makes nothing.
#[test]
fn inet_diag_dumps_only_the_kinds_asked_for() {
    use resocket_restore::diag_inet::{dump, dump_kinds, IPPROTO_TCP};
    use rustix::net::{self, AddressFamily, SocketType};
    std::thread::spawn(|| {
        crate::differential_inet::fresh_netns_with_lo();
        let ino = |fd: &rustix::fd::OwnedFd| u64::from(rustix::fs::fstat(fd).unwrap().st_ino as u32);
        let mut ours = Vec::new();
        for (family, any) in [(AddressFamily::INET, "127.0.0.1:0"), (AddressFamily::INET6, "[::1]:0")] {
            let at: std::net::SocketAddr = any.parse().unwrap();
            let t = net::socket(family, SocketType::STREAM, None).unwrap();
            net::bind(&t, &at).unwrap();
            net::listen(&t, 1).unwrap();
            let u = net::socket(family, SocketType::DGRAM, None).unwrap();
            net::bind(&u, &at).unwrap();
            ours.push(((true, family == AddressFamily::INET6), ino(&t), t));
            ours.push(((false, family == AddressFamily::INET6), ino(&u), u));
        }
        let kind = |d: &resocket_restore::diag_inet::InetDiag| (d.protocol == IPPROTO_TCP, d.local.is_ipv6());
        for &(k, i, _) in &ours {
            let got = dump_kinds(&[k].into()).unwrap();
            assert!(got.iter().all(|d| kind(d) == k), "{k:?}: {got:?}");
            assert!(got.iter().any(|d| u64::from(d.ino) == i), "{k:?}: {got:?}");
        }
        let all = dump().unwrap();
        assert!(ours.iter().all(|&(_, i, _)| all.iter().any(|d| u64::from(d.ino) == i)), "{all:?}");
        assert_eq!(dump_kinds(&Default::default()).unwrap(), []);
    })
    .join()
    .unwrap();
}

/// Unix and INET sockets in one process, of two of the four INET kinds: inet_diag is asked for
/// those two only, and everything is recorded (and restored, verified, and dumped again equal).
#[test]
fn unix_and_two_inet_kinds_in_one_process_are_all_recorded() {
    let (img, said) = dump_only("inet-mixed");
    let unix: Vec<_> = img.sockets.values().filter(|s| s.unix.is_some()).collect();
    assert_eq!(unix.len(), 2, "{said}");
    assert!(unix.iter().any(|s| s.queue.iter().map(|m| &m.data[..]).eq([&b"unix bytes"[..]])));
    let l = img.sockets.values().find(|s| s.is_listener() && s.inet_local() == Some(at("127.0.0.1:8082"))).unwrap();
    assert_eq!((l.common.backlog, l.pending.len()), (4, 1), "{said}");
    let peer = resocket_core::image::inet::peers(&img);
    let accepted = img
        .sockets
        .values()
        .find(|s| s.queue.iter().any(|m| &m.data[..] == b"tcp bytes"))
        .expect("the accepted connection with its bytes");
    assert!(peer.contains_key(&accepted.objref), "its client is its peer: {said}");
    let u = img.sockets.values().find(|s| s.inet_local() == Some(at("[::1]:5353"))).expect("the UDP socket");
    assert_eq!(u.queue.iter().map(|m| (m.sender, &m.data[..])).collect::<Vec<_>>(), [(u.objref, &b"udp6 to self"[..])]);
    second_dump_equals_first("inet-mixed");
}

/// O_NONBLOCK (a file status flag, per open file) and SO_PASSCRED come back as they were: the
/// dump records them (FILE `f_flags`, SOCKET `socket_flags`), `restore run --verify` reads them
/// back from the restored fds, and a second dump of the restored process gives the same bits.
#[test]
fn o_nonblock_and_so_passcred_survive_a_dump_and_a_restore() {
    use resocket_core::wire::{O_NONBLOCK, SOCK_PASSCRED};
    let img = round_trip("options");
    let flags = |img: &resocket_core::Image<'_>| {
        let mut v: Vec<(bool, bool)> = img
            .files
            .iter()
            .filter_map(|(_, f)| {
                let s = img.sockets.get(&f.repr.sock_objref)?;
                Some((f.repr.f_flags & O_NONBLOCK != 0, s.common.socket_flags & SOCK_PASSCRED != 0))
            })
            .collect();
        v.sort();
        v
    };
    // b: neither; g: SO_PASSCRED; l and t: O_NONBLOCK; a: both.
    assert_eq!(flags(&img), vec![(false, false), (false, true), (true, false), (true, false), (true, true)]);
    second_dump_equals_first("options");
}

/// `checkpoint dump --json` of a process that has one of each thing the dump warns about: every
/// dump code, each on the socket it is about (its objref in the image written).
#[test]
fn each_dump_warning_has_its_code_and_its_socket() {
    use resocket_core::warn::{Origin, WarnCode};
    let live = Live::start("inet-warnings");
    let img = live.dir.join("warnings.rsimg");
    let pid = live.child.id().to_string();
    let o = Command::new("nsenter")
        .arg(format!("--net=/proc/{pid}/ns/net"))
        .arg(env!("CARGO_BIN_EXE_checkpoint"))
        .args(["dump", "--json", "--pid", &pid, "-o"])
        .arg(&img)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON on stdout");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let ws = v["warnings"].as_array().expect("warnings");
    let codes: Vec<&str> = ws.iter().filter_map(|w| w["code"].as_str()).collect();
    for c in WarnCode::ALL.iter().filter(|c| matches!(c.origin(), Origin::Dump | Origin::Both)) {
        assert!(codes.contains(&c.as_str()), "no {c} in {codes:?}\n{err}");
        // Human output: warning[CODE]: message.
        assert!(err.contains(&format!("checkpoint: warning[{c}]: ")), "{err}");
    }
    for w in ws {
        assert!(w["message"].as_str().is_some_and(|m| !m.is_empty()) && w["lost"].is_string(), "{w}");
        match w["code"].as_str() {
            // An fd the image does not hold: no socket to name.
            Some("family-left-out") => assert!(w["objref"].is_null(), "{w}"),
            _ => {
                let o = w["objref"].as_i64().unwrap_or_else(|| panic!("no objref: {w}"));
                assert!(r.image.sockets.contains_key(&(o as i32)), "{w}");
            }
        }
    }
    let on = |code: &str| {
        let o = ws.iter().find(|w| w["code"] == code).and_then(|w| w["objref"].as_i64()).unwrap() as i32;
        r.image.sockets.get(&o).unwrap()
    };
    assert!(on("accept-order-guessed").is_listener() && on("pending-external").is_listener());
    assert!(on("tcp-external-peer").is_tcp() && on("udp-external-peer").is_udp());
    assert!(on("relative-cwd-guessed").unix.as_ref().is_some_and(|u| u.cwd.is_some()));
}

/// A pending connection whose client has closed is a closed client, not an external one: the
/// plain dump refuses it naming `--kill` (what it sent cannot be peeked), `--kill` records it as
/// pending with client 0 and what it sent (an fd with it), and the restore gives it back from a
/// temporary client that sends and closes: accept returns the data, then EOF, in its place
/// between the live clients.
#[test]
fn a_pending_connection_whose_client_closed_is_recorded_and_restored() {
    let live = Live::start("early-closed");
    let (code, err, _) = live.dump();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("client has closed") && err.contains("`checkpoint dump --kill`"), "{err}");
    assert!(!err.contains("outside the dumped processes"), "{err}");
    drop(live);
    let (img, said) = kill_dump_round_trip("early-closed");
    assert_eq!(
        pending_of(&img),
        [
            (1, true, Vec::new(), 0),
            (1, false, b"last words".to_vec(), 1),
            (1, false, Vec::new(), 0),
            (1, true, b"still here".to_vec(), 0),
            (5, false, b"record 1record 2".to_vec(), 0)
        ],
        "{said}"
    );
    let plan = resocket_core::plan::plan(&img).unwrap();
    assert_eq!(plan.steps.iter().filter(|s| s.why.contains("a temporary client stands in")).count(), 3);
    // The seqpacket one (its records checked by live.py): the warning that empty records at the
    // end of what a closed client sent cannot be told from its end.
    assert!(said.contains("warning[seqpacket-empty-tail]") && said.contains("its client closed"), "{said}");
}

/// A `--kill` dump that fails before accepting anything (here: a pending client in a process
/// that is not dumped) resumes the processes instead of killing them, and says so.
#[test]
fn a_kill_dump_refused_before_accepting_resumes_the_processes() {
    let mut live = Live::start("pending-outside");
    let (code, err, _) = live.dump_kill();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("outside the dumped processes") && err.contains("were resumed"), "{err}");
    assert!(live.child.try_wait().unwrap().is_none(), "not killed");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", live.child.id())).unwrap();
    let state = stat.rsplit_once(") ").unwrap().1.chars().next();
    assert!(matches!(state, Some('S' | 'R')), "running again: {stat}");
}

/// Datagrams queued at an unnamed socket from a sender that has since closed (one end of a dgram
/// socketpair whose other end sent and closed): dumped as a dgram socket whose peer is gone,
/// restored as one end of a socketpair whose other end sends them and closes, and the restored
/// process sees what the dumped one would have: the datagrams (the empty one too), getpeername
/// answering until the first send, which is ECONNREFUSED and purges the queue, then ENOTCONN
/// (live.py check; one socket read first, one sent on first). Also with `--kill`.
#[test]
fn datagrams_from_a_closed_socketpair_end_are_restored_from_a_stand_in_that_closes() {
    let live = Live::start("orphan-dgram");
    let (code, said, img) = live.dump();
    assert_eq!(code, Some(0), "{said}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    for s in r.image.sockets.values() {
        assert!(s.unix.as_ref().unwrap().has(resocket_core::wire::UNIX_PEER_GONE), "#{}", s.objref);
        assert_eq!(s.queue.iter().map(|m| (m.sender, m.data.len())).collect::<Vec<_>>(), [(0, 10), (0, 0), (0, 12)]);
    }
    let (code, verified) = restore_verify(&img);
    assert_eq!(code, Some(0), "{verified}");
    let o = restore_run_live_py(&img, &live.dir, "check", false);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!((o.status.code(), out.trim()), (Some(0), "ok"), "{}", String::from_utf8_lossy(&o.stderr));
    drop(live);
    kill_dump_round_trip("orphan-dgram");
}

/// A named dgram socket that received from a live socket, then connected to one that sent to
/// it and closed: dumped as PEER_GONE with both datagrams; restored by refilling the live
/// sender's, then connecting it to a stand-in that sends the other and closes; the restored
/// process reads both, then its first send is ECONNREFUSED, the next ENOTCONN.
#[test]
fn a_named_dgram_socket_whose_connected_peer_closed_after_others_sent_to_it() {
    let (img, said) = kill_dump_round_trip("orphan-named");
    let b = img.sockets.values().find(|s| s.queue.len() == 2).expect("the receiver");
    assert!(b.unix.as_ref().unwrap().has(resocket_core::wire::UNIX_PEER_GONE), "{said}");
    assert_eq!(b.queue.iter().map(|m| m.sender == 0).collect::<Vec<_>>(), [false, true]);
}

/// `--kill` both ways: a process restored from a `--kill` dump, dumped again with `--kill`,
/// gives the same image up to renumbering: the same pending connections in the same order with
/// the same bytes, records and fds in flight, closed clients included.
#[test]
fn a_second_kill_dump_of_the_restored_process_equals_the_first() {
    for scenario in
        ["early-stream", "early-seqpacket", "early-in-flight", "early-closed", "orphan-dgram", "orphan-named"]
    {
        second_dump_equals_first_with(scenario, LO_UP, &["--kill"]);
    }
}

/// `--kill` reads what TCP clients sent before accept() too: the TCP listener is accepted on
/// through its duplicate like a unix one, so its pending connections are recorded in accept
/// order (the connect order, not the clients' creation order the plain dump has to guess) with
/// their bytes, and the restored process accepts them in that order with those bytes.
#[test]
fn a_kill_dump_reads_what_tcp_clients_sent_before_accept_in_accept_order() {
    let (img, said) = kill_dump_round_trip("inet-early-order");
    assert!(!said.contains("accept-order-guessed"), "{said}");
    let mut tcp = Vec::new();
    for l in img.sockets.values().filter(|l| l.common.family == resocket_core::wire::AF_INET) {
        for p in &l.pending {
            let e = img.sockets.get(&p.embryo).unwrap();
            tcp.push(e.queue.iter().flat_map(|m| m.data.to_vec()).collect::<Vec<u8>>());
        }
    }
    assert_eq!(tcp, [b"created third, connected first".to_vec(), Vec::new(), b"created second".to_vec()]);
    let unix: Vec<_> = pending_of(&img).into_iter().filter(|(_, _, data, _)| data == b"unix early").collect();
    assert_eq!(unix.len(), 1, "{:?}", pending_of(&img));
    // A plain dump still refuses the TCP data (it waits on the embryo), naming the way that reads it.
    let live = Live::start("inet-early-data");
    let (code, err, _) = live.dump();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("holds 9 bytes sent before accept()"), "{err}");
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

#[test]
fn unix_socket_options_and_peek_offsets_survive_a_dump_and_a_restore() {
    use resocket_core::sim::SockOpt;
    let (img, _) = sockopts_round_trip("sockopts-unix");
    let got = set_opts(&img);
    for o in [
        SockOpt::PeekOff(4),
        SockOpt::PeekOff(1),
        SockOpt::KeepAlive(true),
        SockOpt::Linger { on: true, secs: 5 },
        SockOpt::Linger { on: false, secs: 7 },
        SockOpt::SndTimeo(2_000_000),
        SockOpt::Priority(3),
        SockOpt::Priority(7),
        SockOpt::Mark(9),
        SockOpt::RcvLowat(2),
        SockOpt::RcvLowat(7),
        SockOpt::PassSec(true),
        SockOpt::OobInline(true),
        SockOpt::Broadcast(true),
    ] {
        assert!(got.contains(&o), "{o:?} not recorded: {got:?}");
    }
    // SO_RCVTIMEO 1.5 s is recorded as the kernel holds it (whole jiffies).
    assert!(got.iter().any(|o| matches!(o, SockOpt::RcvTimeo(us) if *us >= 1_500_000)), "{got:?}");
    second_dump_equals_first("sockopts-unix");
}

#[test]
fn tcp_and_udp_socket_options_and_peek_offsets_survive_a_dump_and_a_restore() {
    use resocket_core::sim::SockOpt;
    let (img, _) = sockopts_round_trip("sockopts-inet");
    let got = set_opts(&img);
    for o in [
        SockOpt::TcpNoDelay(true),
        SockOpt::TcpCork(true),
        SockOpt::TcpKeepIdle(100),
        SockOpt::TcpKeepIdle(77),
        SockOpt::TcpKeepIntvl(10),
        SockOpt::TcpKeepCnt(4),
        SockOpt::TcpUserTimeout(3000),
        SockOpt::Linger { on: true, secs: 3 },
        SockOpt::Mark(5),
        SockOpt::PeekOff(3),
        SockOpt::PeekOff(2),
        SockOpt::Broadcast(true),
        SockOpt::Priority(2),
        SockOpt::SndTimeo(3_000_000),
        SockOpt::OobInline(true),
    ] {
        assert!(got.contains(&o), "{o:?} not recorded: {got:?}");
    }
    second_dump_equals_first("sockopts-inet");
}

/// An out-of-band byte pending on an AF_UNIX stream socket (plain, SO_OOBINLINE, a second
/// MSG_OOB send that made the first ordinary data): a dump that leaves the process running
/// cannot place the mark for certain (TCP urgent data it can: tests/it/urgent.rs), so `checkpoint dump` refuses, naming the
/// socket, the state and `--kill`, and leaves the byte, the mark and SO_OOBINLINE as they were
/// (the process reports them when it ends).
#[test]
fn pending_out_of_band_data_is_refused_by_a_plain_dump_naming_kill() {
    for (scenario, what, inline, byte) in [
        ("oob-unix", "an out-of-band byte (MSG_OOB) 0x58", 0, 'X'),
        ("oob-unix-inline", "an out-of-band byte (MSG_OOB) 0x58", 1, 'X'),
        ("oob-unix-twice", "an out-of-band byte (MSG_OOB) 0x59", 0, 'Y'),
    ] {
        let mut live = Live::start(scenario);
        let (code, said, _) = live.dump();
        assert_eq!(code, Some(1), "{scenario}: {said}");
        assert!(said.contains(what) && said.contains("is pending in its receive queue"), "{scenario}: {said}");
        assert!(said.contains(": ino"), "{scenario}: names the socket: {said}");
        assert!(said.contains("`checkpoint dump --kill` reads it"), "{scenario}: {said}");
        drop(live.child.stdin.take());
        live.child.wait().unwrap();
        let after = std::fs::read_to_string(live.dir.join("oob.txt")).unwrap();
        assert_eq!(after, format!("inline={inline} oob={byte}"), "{scenario}");
    }
}

/// The out-of-band byte of an AF_UNIX stream socket, from a `--kill` dump: the image names the
/// skb (RS_OOB, the 1-byte skb after the bytes before the mark), `restore run --verify`
/// finds it, and the restored process reads what the dumped one would have: SIOCATMARK 0, the
/// bytes before the mark, SIOCATMARK 1, recv(MSG_OOB) the byte, the bytes after (live.py
/// check-oob).
#[test]
fn a_kill_dump_restores_an_out_of_band_byte_at_its_mark() {
    let (img, said) = kill_dump_round_trip_checked("oob-unix", "check-oob");
    let s = img.sockets.values().find(|s| s.oob.is_some()).unwrap_or_else(|| panic!("no RS_OOB: {said}"));
    let at = s.oob.unwrap().index as usize;
    let before: Vec<u8> = s.queue[..at].iter().flat_map(|m| m.data.to_vec()).collect();
    let after: Vec<u8> = s.queue[at + 1..].iter().flat_map(|m| m.data.to_vec()).collect();
    assert_eq!((before, &s.queue[at].data[..], after), (b"abc".to_vec(), &b"X"[..], b"d".to_vec()));
}

/// An out-of-band byte a pending client sent before accept(): a plain dump refuses (it cannot
/// read the embryo), `--kill` accepts the connection on a duplicate of the listener, reads its
/// queue for real up to the mark and records the mark on the embryo; the restored process's
/// first accept() gives a connection that reads "abc", is at the mark, gives "X" to
/// recv(MSG_OOB) and "d" after (live.py oob-pending, check-oob).
#[test]
fn a_kill_dump_restores_an_out_of_band_byte_sent_before_accept() {
    let mut live = Live::start("oob-pending");
    let (code, said, _) = live.dump();
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("embryo") && said.contains("--kill"), "{said}");
    drop(live.child.stdin.take());
    live.child.wait().unwrap();
    let (img, said) = kill_dump_round_trip_checked("oob-pending", "check-oob");
    let l = img.sockets.values().find(|s| !s.pending.is_empty()).unwrap_or_else(|| panic!("no listener: {said}"));
    let e = img.sockets.get(&l.pending[0].embryo).expect("the embryo");
    let at = e.oob.unwrap_or_else(|| panic!("no RS_OOB on the embryo: {said}")).index as usize;
    let before: Vec<u8> = e.queue[..at].iter().flat_map(|m| m.data.to_vec()).collect();
    let after: Vec<u8> = e.queue[at + 1..].iter().flat_map(|m| m.data.to_vec()).collect();
    assert_eq!((before, &e.queue[at].data[..], after), (b"abc".to_vec(), &b"X"[..], b"d".to_vec()));
}

/// The same with SO_OOBINLINE on the receiver: the option comes back, recv(MSG_OOB) is EINVAL,
/// and the byte is read inline after the mark, as before.
#[test]
fn a_kill_dump_restores_an_out_of_band_byte_read_inline() {
    let (img, _) = kill_dump_round_trip_checked("oob-unix-inline", "check-oob");
    assert_eq!(img.sockets.values().filter(|s| s.oob.is_some()).count(), 1);
}

/// Two MSG_OOB sends: the first byte became ordinary data, the second is the out-of-band byte;
/// restored so, a read goes through the first and stops at the second's mark.
#[test]
fn a_kill_dump_restores_only_the_last_out_of_band_byte_as_out_of_band() {
    let (img, _) = kill_dump_round_trip_checked("oob-unix-twice", "check-oob");
    let s = img.sockets.values().find(|s| s.oob.is_some()).expect("RS_OOB");
    assert_eq!(&s.queue[s.oob.unwrap().index as usize].data[..], b"Y");
}

/// TCP urgent data, `--kill` (the plain dump: tests/it/urgent.rs): peeked, not read, and
/// restored at its mark.
#[test]
fn a_kill_dump_restores_tcp_urgent_data_at_its_mark() {
    let (img, _) = kill_dump_round_trip_checked("oob-tcp", "check-oob");
    let s = img.sockets.values().find(|s| s.oob.is_some()).expect("RS_OOB on the TCP socket");
    assert_eq!(&s.queue[s.oob.unwrap().index as usize].data[..], b"X");
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

/// A seqpacket pair shut down in one direction with records queued both ways (an empty one
/// among them): the records, then EOF on the side that can no longer receive more; EAGAIN and
/// EPIPE on the other.
#[test]
fn a_seqpacket_pair_shut_down_one_way_with_records_queued_both_ways() {
    let (img, _) = reads_round_trip("seqpacket-half-shut", &[]);
    let mut shut: Vec<u8> = img.sockets.values().map(|s| s.common.shutdown).collect();
    shut.sort();
    assert_eq!(shut, [1, 2]);
}

/// Datagrams with SCM_CREDENTIALS (the receiver has SO_PASSCRED) queued from a named sender
/// that has closed: read back with credentials, the empty one too.
#[test]
fn datagrams_with_credentials_from_a_closed_sender() {
    let (img, _) = reads_round_trip("passcred-closed-sender", &[]);
    let r = img.sockets.values().find(|s| !s.queue.is_empty()).expect("the receiver");
    assert_eq!(r.queue.iter().map(|m| (m.sender, m.data.len())).collect::<Vec<_>>(), [(0, 10), (0, 0)]);
}

/// Sockets in flight two deep (a socket whose queue carries a socket whose queue carries a
/// third, none held by an fd): each comes back inside the one that carried it, with its data.
#[test]
fn sockets_in_flight_two_deep() {
    let (img, _) = reads_round_trip("nested-rights", &[]);
    let held: std::collections::BTreeSet<i32> = img
        .tables
        .iter()
        .flat_map(|t| &t.fds)
        .filter_map(|f| img.files.get(&f.file).map(|f| f.repr.sock_objref))
        .collect();
    assert_eq!(img.sockets.len() - held.len(), 2, "two sockets only in flight");
}

/// Abstract names with NUL bytes inside: a listener with an accepted connection and a pending
/// client, and a dgram socket connected to such a name, each named and peered as before.
#[test]
fn abstract_names_with_nul_bytes_and_their_peers() {
    let (img, _) = reads_round_trip("abstract-nul", &[]);
    assert!(img.sockets.values().filter_map(|s| s.laddr()).any(
        |a| matches!(a, resocket_core::image::UnixAddr::Abstract(n) if n.iter().filter(|&&b| b == 0).count() >= 2)
    ));
}

/// SO_PEEK_OFF in the middle of a seqpacket record: the restored socket peeks from there.
#[test]
fn a_seqpacket_peek_offset_in_the_middle_of_a_record() {
    reads_round_trip("seqpacket-peek-off", &[]);
}

/// A stream socket whose peer sent and closed: the bytes, then EOF; a send is EPIPE.
#[test]
fn a_stream_socket_whose_peer_sent_and_closed() {
    let (img, _) = reads_round_trip("stream-peer-closed", &[]);
    let s = img.sockets.values().next().unwrap();
    assert!(s.unix.as_ref().unwrap().has(resocket_core::wire::UNIX_PEER_GONE));
}

/// A seqpacket listener on a path with an accepted connection and records both ways: the
/// accepted socket is named after the listener, the client's peer is that name.
#[test]
fn a_seqpacket_connection_accepted_from_a_named_listener() {
    let (img, _) = reads_round_trip("seqpacket-named", &[]);
    assert!(img.sockets.values().any(|s| s.unix.as_ref().is_some_and(|u| u.has(resocket_core::wire::UNIX_ACCEPTED))));
}

/// A listener with backlog 0 and one pending connection: restored full (one more connect is
/// EAGAIN, check-reads), and the pending client is accepted as the peer (check).
#[test]
fn a_listener_with_a_full_backlog() {
    let (img, _) = reads_round_trip("backlog-full", &[]);
    let l = img.sockets.values().find(|s| s.is_listener()).unwrap();
    assert_eq!((l.common.backlog, l.pending.len()), (0, 1));
    let live = Live::start("backlog-full");
    let (code, said, img) = live.dump();
    assert_eq!(code, Some(0), "{said}");
    let o = restore_run_live_py(&img, &live.dir, "check", false);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!((o.status.code(), out.trim()), (Some(0), "ok"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// An unconnected dgram receiver holding datagrams from a named live sender, an unnamed one
/// and itself: each read back from its sender's name, in order.
#[test]
fn datagrams_from_named_unnamed_and_own_senders_keep_their_senders() {
    let (img, said) = reads_round_trip("dgram-senders", &[]);
    let r = img.sockets.values().find(|s| s.queue.len() == 3).unwrap_or_else(|| panic!("{said}"));
    // The unnamed sender cannot be told by its (empty) address: recorded as sender 0, re-sent
    // from an unnamed stand-in, which recvfrom shows just the same.
    assert_eq!(r.queue.iter().map(|m| m.sender != 0).collect::<Vec<_>>(), [true, false, true], "{said}");
}

/// The out-of-band situations dumped with `--kill`, restored, and dumped again with `--kill`:
/// the same image up to renumbering, the out-of-band byte at the same skb (`restore diff`
/// compares it).
#[test]
fn a_second_kill_dump_of_a_restored_out_of_band_byte_equals_the_first() {
    for scenario in ["oob-unix", "oob-unix-inline", "oob-unix-twice"] {
        second_dump_equals_first_with(scenario, LO_UP, &["--kill"]);
    }
}

/// A dump that leaves the process running still leaves one mark (the kernel's, not the
/// dump's choice): a peek that returns an empty datagram marks it peeked, and the process's
/// later peeks with SO_PEEK_OFF skip it. Without a dump its SO_PEEK_OFF peek returns the empty
/// datagram; after one, the next datagram; a plain recv reads the empty one either way. The
/// dump says so (`empty-message-peeked`, on that socket), and `--kill` (nobody runs on) does not.
#[test]
fn a_dump_that_peeks_an_empty_datagram_says_the_process_sees_it_marked() {
    use std::io::Write as _;
    let ask = |live: &mut Live| {
        live.child.stdin.as_mut().unwrap().write_all(b"go\n").unwrap();
        let mut line = String::new();
        BufReader::new(live.child.stdout.as_mut().unwrap()).read_line(&mut line).unwrap();
        line.trim().to_string()
    };
    let mut undisturbed = Live::start("empty-peeked");
    assert_eq!(ask(&mut undisturbed), "peek=- recv=-");
    let mut dumped = Live::start("empty-peeked");
    let (code, err, img) = dumped.dump();
    assert_eq!(code, Some(0), "{err}");
    assert!(err.contains("warning[empty-message-peeked]") && err.contains("1 empty message"), "{err}");
    let r = resocket_core::load(&std::fs::read(img).unwrap()).image.sockets.len();
    assert_eq!(r, 2);
    assert_eq!(ask(&mut dumped), "peek=78 recv=-", "the kernel's mark, as the warning says");
    let killed = Live::start("empty-peeked");
    let (code, err, _) = killed.dump_kill();
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("empty-message-peeked"), "{err}");
}
