//! `restore run --root` against hostile roots (issue 14), on the real kernel (run as root).
//!
//! Each case builds a sandbox holding the root and, beside it, an "outside" directory with
//! decoys: a live stream listener, a live dgram socket (both bound by this test process, in
//! its own network namespace) and a regular file. A restore runs in a fresh network namespace
//! (`unshare -n`) through the built binary. Every case asserts that nothing outside the root was
//! created, removed, changed or connected to (the decoy listener has no pending connection and
//! the decoy dgram socket received nothing), and that the restore either succeeded inside the
//! root or failed with an error that says everything was undone and left the root exactly as
//! it was.

use std::os::unix::fs::{symlink, FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixDatagram, UnixListener};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A scratch directory `root/` + `out/` (decoys), removed on drop.
struct Sandbox {
    dir: PathBuf,
    root: PathBuf,
    out: PathBuf,
    listener: UnixListener,
    dgram: UnixDatagram,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir = std::env::temp_dir().join(format!("resocket-hostile-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (root, out) = (dir.join("root"), dir.join("out"));
        std::fs::create_dir_all(&root).unwrap();
        // The names the fixtures use, outside: a live listener at srv.sock, a live dgram
        // socket at dgram.sock, a regular file at log.sock, a cwd for relative names (holding a
        // regular file of its own).
        std::fs::create_dir_all(out.join("resocket/cwd")).unwrap();
        let listener = UnixListener::bind(out.join("resocket/srv.sock")).unwrap();
        listener.set_nonblocking(true).unwrap();
        let dgram = UnixDatagram::bind(out.join("resocket/dgram.sock")).unwrap();
        dgram.set_nonblocking(true).unwrap();
        std::fs::write(out.join("resocket/log.sock"), b"precious").unwrap();
        std::fs::write(out.join("resocket/cwd/keep.txt"), b"precious too").unwrap();
        Sandbox { dir, root, out, listener, dgram }
    }

    /// What is outside the root now, and whether a decoy socket was reached.
    fn outside(&self) -> Result<Vec<Entry>, String> {
        match self.listener.accept() {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(_) => return Err("the decoy listener outside the root was connected to".into()),
            Err(e) => return Err(format!("decoy listener: {e}")),
        }
        let mut buf = [0u8; 64];
        match self.dgram.recv(&mut buf) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Ok(n) => return Err(format!("the decoy dgram socket outside the root received {n} bytes")),
            Err(e) => return Err(format!("decoy dgram: {e}")),
        }
        Ok(snapshot(&self.out))
    }

    fn image(&self, name: &str, scenario: &str) -> PathBuf {
        let bytes = resocket_restore::encode_source(scenario).unwrap();
        let p = self.dir.join(format!("{name}.rsimg"));
        std::fs::write(&p, bytes).unwrap();
        p
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One file system entry: path, kind, inode, contents (regular files) or target (symlinks).
type Entry = (PathBuf, &'static str, u64, Vec<u8>);

/// Everything under `d`, symlinks not followed, sorted.
fn snapshot(d: &Path) -> Vec<Entry> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(d) else { return out };
    let mut es: Vec<PathBuf> = rd.filter_map(|e| Some(e.ok()?.path())).collect();
    es.sort();
    for p in es {
        let Ok(m) = std::fs::symlink_metadata(&p) else { continue };
        let t = m.file_type();
        let (kind, data) = if t.is_symlink() {
            ("symlink", std::fs::read_link(&p).unwrap_or_default().into_os_string().into_encoded_bytes())
        } else if t.is_dir() {
            ("dir", Vec::new())
        } else if t.is_socket() {
            ("socket", Vec::new())
        } else {
            ("file", std::fs::read(&p).unwrap_or_default())
        };
        out.push((p.clone(), kind, m.ino(), data));
        if t.is_dir() {
            out.extend(snapshot(&p));
        }
    }
    out
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/images/valid/{name}.rsimg"))
}

fn restore(root: &Path, img: &Path, extra: &[&str]) -> Output {
    Command::new("unshare")
        .args(["-n", env!("CARGO_BIN_EXE_restore"), "run", "--root"])
        .arg(root)
        .args(extra)
        .arg(img)
        .output()
        .expect("unshare runs (util-linux, root)")
}

/// What a restore did, judged: `Ok(true)` succeeded inside the root, `Ok(false)` failed with a
/// full rollback, `Err` anything else (an escape, a half rollback, an unclear error).
fn judge(sb: &Sandbox, img: &Path, extra: &[&str]) -> Result<bool, String> {
    let before_out = sb.outside()?;
    let before_root = snapshot(&sb.root);
    let o = restore(&sb.root, img, extra);
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    let after_out = sb.outside().map_err(|e| format!("{e}\n{err}"))?;
    if after_out != before_out {
        return Err(format!("outside the root changed:\nbefore {before_out:#?}\nafter {after_out:#?}\n{err}"));
    }
    match o.status.code() {
        Some(0) => Ok(true),
        Some(1) if err.contains("undone") => {
            let after_root = snapshot(&sb.root);
            if after_root != before_root {
                return Err(format!("a failed restore left the root changed:\n{after_root:#?}\n{err}"));
            }
            Ok(false)
        }
        c => Err(format!("exit {c:?}: {err}")),
    }
}

fn is_socket(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_socket())
}

const NAMED: [&str; 3] = ["listener-pending", "path-name", "dgram-fan-in"];

#[test]
fn a_directory_symlinked_outside_by_an_absolute_target_is_not_followed_out() {
    for f in NAMED {
        let sb = Sandbox::new(&format!("abs-{f}"));
        symlink(&sb.out, sb.root.join("tmp")).unwrap();
        judge(&sb, &fixture(f), &[]).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn a_directory_symlinked_outside_by_a_relative_target_is_not_followed_out() {
    for f in NAMED {
        let sb = Sandbox::new(&format!("rel-{f}"));
        std::fs::create_dir(sb.root.join("tmp")).unwrap();
        // On the host this is sandbox/out/resocket; inside the root `..` stops at the root.
        symlink("../../out/resocket", sb.root.join("tmp/resocket")).unwrap();
        judge(&sb, &fixture(f), &[]).unwrap_or_else(|e| panic!("{f}: {e}"));
    }
}

#[test]
fn a_recorded_cwd_symlinked_outside_is_not_followed_out() {
    let sb = Sandbox::new("cwd");
    std::fs::create_dir_all(sb.root.join("tmp/resocket")).unwrap();
    symlink(sb.out.join("resocket/cwd"), sb.root.join("tmp/resocket/cwd")).unwrap();
    judge(&sb, &fixture("relative-path"), &[]).unwrap();
}

#[test]
fn a_symlink_inside_the_root_is_followed_inside_it() {
    // ROOT/tmp -> /inner means ROOT/inner, as for a process chrooted there.
    let sb = Sandbox::new("inner");
    std::fs::create_dir(sb.root.join("inner")).unwrap();
    symlink("/inner", sb.root.join("tmp")).unwrap();
    assert!(judge(&sb, &fixture("listener-pending"), &[]).unwrap(), "restores inside the root");
    assert!(is_socket(&sb.root.join("inner/resocket/srv.sock")));
}

#[test]
fn a_symlink_as_the_last_component_is_never_followed() {
    for (f, name) in [("listener-pending", "srv.sock"), ("path-name", "dgram.sock"), ("relative-path", "cwd/rel.sock")]
    {
        let sb = Sandbox::new(&format!("last-{f}"));
        let link = sb.root.join("tmp/resocket").join(name);
        std::fs::create_dir_all(link.parent().unwrap()).unwrap();
        symlink(sb.out.join("resocket").join(name), &link).unwrap();
        assert!(!judge(&sb, &fixture(f), &[]).unwrap_or_else(|e| panic!("{f}: {e}")), "{f}: refused");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink(), "{f}: the symlink stays");
    }
}

#[test]
fn a_root_given_through_a_symlink_is_the_directory_it_names() {
    let sb = Sandbox::new("rootlink");
    let link = sb.dir.join("rootlink");
    symlink(&sb.root, &link).unwrap();
    let o = restore(&link, &fixture("listener-pending"), &["--verify"]);
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(is_socket(&sb.root.join("tmp/resocket/srv.sock")));
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    sb.outside().unwrap();
}

#[test]
fn dot_and_dot_dot_in_recorded_names_stay_inside_the_root() {
    let sb = Sandbox::new("dots");
    // On the host, ROOT/tmp/../../out/resocket is the decoy directory.
    let abs =
        sb.image("dotdot", r#"{"sockets":[{"name":"d","type":"dgram","addr":"/tmp/../../out/resocket/dgram.sock"}]}"#);
    // As in a chroot (the documented behaviour): `..` at the root is the root.
    assert!(judge(&sb, &abs, &[]).unwrap(), "restored inside the root");
    assert!(is_socket(&sb.root.join("out/resocket/dgram.sock")), "{:#?}", snapshot(&sb.root));
    let rel = sb.image(
        "dotrel",
        r#"{"sockets":[{"name":"d","type":"dgram","addr":"./../../out/resocket/srv.sock","cwd":"/./tmp/."}]}"#,
    );
    assert!(judge(&sb, &rel, &[]).unwrap(), "restored inside the root");
    assert!(is_socket(&sb.root.join("out/resocket/srv.sock")), "{:#?}", snapshot(&sb.root));
}

#[test]
fn names_longer_than_sun_path_once_joined_to_the_root_restore() {
    let sb = Sandbox::new("long");
    // 108 bytes: sun_path's whole size (no NUL), deep directories, a short last component.
    let at_limit = format!("/{}xy.sock", "d/".repeat(50));
    assert_eq!(at_limit.len(), 108);
    // 100 bytes in one last component (fits sun_path alone, not after the root).
    let long_last = format!("/tmp/{}", "n".repeat(95));
    let img = sb.image(
        "long",
        &format!(
            r#"{{"sockets":[{{"name":"a","type":"dgram","addr":"{at_limit}"}},
                          {{"name":"b","type":"stream","addr":"{long_last}","listen":1}}]}}"#
        ),
    );
    assert!(judge(&sb, &img, &["--verify"]).unwrap(), "long names restore inside the root");
    assert!(is_socket(&sb.root.join(&at_limit[1..])));
    assert!(is_socket(&sb.root.join(&long_last[1..])));
    // Above 108 bytes no socket can have the name: the image is refused before anything is done.
    let above = format!("/{}xyz.sock", "d/".repeat(50));
    let src = format!(r#"{{"sockets":[{{"name":"a","type":"dgram","addr":"{above}"}}]}}"#);
    assert!(resocket_restore::encode_source(&src).is_err(), "a 109-byte name is not a socket name");
}

/// A second thread swaps `dir/a` with `dir/b` (`renameat2(RENAME_EXCHANGE)`, atomic) as fast
/// as it can while `ITERATIONS` restores of `images` run, and puts them back between restores.
/// No restore may ever create, remove or connect to anything outside, and a failed one must
/// leave the root as it was — unless `strict` is false: then a failed restore may leave the
/// root changed inside `dir` (counted and reported), for the residual race of an unlink by name
/// in a directory the swapper writes to (fsroot.rs); `dir/b` is then put back. Returns
/// (restores inside the root, restores rolled back, rolled back with the root changed).
fn swap_race(
    sb: &Sandbox,
    dir: &Path,
    (a, b): (&'static str, &'static str),
    images: &[PathBuf],
    strict: bool,
) -> (usize, usize, usize) {
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::Arc;
    const ITERATIONS: usize = 200;
    const RUN: u8 = 0;
    const PAUSE: u8 = 1;
    const PAUSED: u8 = 2;
    const STOP: u8 = 3;
    let state = Arc::new(AtomicU8::new(PAUSED));
    let swapper = {
        let (state, dir) = (state.clone(), dir.to_path_buf());
        std::thread::spawn(move || {
            use rustix::fs::{renameat_with, OFlags, RenameFlags};
            let d = rustix::fs::open(&dir, OFlags::PATH | OFlags::DIRECTORY, rustix::fs::Mode::empty()).unwrap();
            let mut swapped = false;
            loop {
                match state.load(Ordering::Acquire) {
                    STOP => break,
                    // `a` may not exist yet (a socket file the restore has still to make).
                    RUN => swapped ^= renameat_with(&d, a, &d, b, RenameFlags::EXCHANGE).is_ok(),
                    PAUSE => {
                        if swapped {
                            // Back as they were; `a` may be gone (rolled back), then `b` is
                            // where it went.
                            if renameat_with(&d, a, &d, b, RenameFlags::EXCHANGE).is_err() {
                                let _ = rustix::fs::renameat(&d, a, &d, b);
                            }
                            swapped = false;
                        }
                        state.store(PAUSED, Ordering::Release);
                    }
                    _ => std::thread::yield_now(),
                }
            }
        })
    };
    let link = std::fs::read_link(dir.join(b)).unwrap();
    let (mut ok, mut failed, mut changed) = (0, 0, 0);
    let (mut left, mut unlinked) = (0, 0);
    let mut escape = None;
    for i in 0..ITERATIONS {
        let img = &images[i % images.len()];
        let before_out = sb.outside();
        let before_root = snapshot(&sb.root);
        state.store(RUN, Ordering::Release);
        let o = restore(&sb.root, img, &[]);
        state.store(PAUSE, Ordering::Release);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while state.load(Ordering::Acquire) != PAUSED {
            assert!(!swapper.is_finished() && std::time::Instant::now() < deadline, "the swapper stopped");
            std::thread::yield_now();
        }
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        let after_out = sb.outside();
        if before_out.is_err() || after_out.is_err() || after_out.as_ref().ok() != before_out.as_ref().ok() {
            escape = Some(format!("iteration {i} ({}): outside changed: {after_out:?}\n{err}", img.display()));
            break;
        }
        match o.status.code() {
            Some(0) => {
                ok += 1;
                // Start the next one clean: the socket files this one left in the root.
                for (p, kind, _, _) in snapshot(&sb.root) {
                    if kind == "socket" {
                        std::fs::remove_file(p).unwrap();
                    }
                }
            }
            Some(1) if err.contains("undone") && snapshot(&sb.root) == before_root => failed += 1,
            Some(1) if err.contains("undone") && !strict => {
                failed += 1;
                changed += 1;
                for (p, kind, _, _) in snapshot(&sb.root) {
                    if kind == "socket" {
                        left += 1;
                        std::fs::remove_file(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                    }
                }
                if std::fs::symlink_metadata(dir.join(b)).is_err() {
                    unlinked += 1;
                    symlink(&link, dir.join(b)).unwrap();
                }
                assert_eq!(snapshot(&sb.root).len(), before_root.len(), "{:#?}", snapshot(&sb.root));
            }
            c => {
                escape = Some(format!("iteration {i}: exit {c:?}, root {:#?}\n{err}", snapshot(&sb.root)));
                break;
            }
        }
    }
    state.store(STOP, Ordering::Release);
    swapper.join().unwrap();
    eprintln!(
        "swap race {a}<->{b}: {ok} restores inside the root, {failed} rolled back ({changed} with the root changed: \
         {left} socket files left, {unlinked} times the swapper's symlink removed), escape: {escape:?}"
    );
    assert!(escape.is_none(), "{} (after {ok} restores inside and {failed} rolled back)", escape.unwrap_or_default());
    assert_eq!(ok + failed, ITERATIONS);
    (ok, failed, changed)
}

/// The recorded path's directory swapped with a symlink to the decoys' directory outside.
#[test]
fn a_directory_symlink_swapped_in_while_restores_run_never_lets_one_escape() {
    let sb = Sandbox::new("swap");
    let tmp = sb.root.join("tmp");
    std::fs::create_dir_all(tmp.join("resocket")).unwrap();
    symlink(sb.out.join("resocket"), tmp.join("swap")).unwrap();
    swap_race(&sb, &tmp, ("resocket", "swap"), &NAMED.map(fixture), true);
}

/// The socket file itself swapped with a symlink to the live decoy listener outside, between
/// the restore's bind and its clients' connects (and its rollback). Nothing outside is ever
/// reached; a rollback racing the swapper may miss its socket file or remove the swapper's
/// symlink (both inside the root: the residual race fsroot.rs documents).
#[test]
fn a_last_component_symlink_swapped_in_while_restores_run_never_lets_one_escape() {
    let sb = Sandbox::new("swap-last");
    let dir = sb.root.join("tmp/resocket");
    std::fs::create_dir_all(&dir).unwrap();
    symlink(sb.out.join("resocket/srv.sock"), dir.join("swap.sock")).unwrap();
    swap_race(&sb, &dir, ("srv.sock", "swap.sock"), &[fixture("listener-pending")], false);
}

/// The name `getsockname` reports, without a trailing NUL.
fn sockname(fd: rustix::fd::BorrowedFd<'_>) -> Vec<u8> {
    let a = rustix::net::getsockname(fd).unwrap();
    let u = rustix::net::SocketAddrUnix::try_from(a).unwrap();
    let p = u.path_bytes().unwrap_or_default();
    p.strip_suffix(b"\0").unwrap_or(p).to_vec()
}

/// The two race-free ways to bind a name from a directory fd, and what `getsockname` reports
/// for each (the choice fsroot.rs documents): the executor's (`fchdir` to the directory, the
/// last component as the address) reports the last component; `/proc/thread-self/fd/N/name`
/// reports that /proc path, which names an fd the restored process does not have.
#[test]
fn what_getsockname_reports_for_each_bind_form() {
    use resocket_core::sim::{Op, SockAddr, SockType};
    use resocket_restore::exec::{Config, Executor, PlaceMode};
    use rustix::fd::{AsFd, AsRawFd};
    let sb = Sandbox::new("measure");
    let recorded = b"/tmp/resocket/m.sock".to_vec();
    let mut ex = Executor::new(Config {
        root: Some(sb.root.clone()),
        place: PlaceMode::HoldAll,
        fd_base: 1024,
        inherit_all: false,
    });
    for op in
        [Op::Socket { slot: 1, ty: SockType::Dgram }, Op::Bind { slot: 1, addr: SockAddr::Path(recorded.clone()) }]
    {
        assert!(ex.apply(&op).is_ok(), "{op:?}");
    }
    let by_fchdir = sockname(ex.fd(1).unwrap());
    assert_eq!(by_fchdir, b"m.sock");
    assert!(is_socket(&sb.root.join("tmp/resocket/m.sock")));
    use rustix::fs::OFlags;
    let dir = rustix::fs::open(
        sb.root.join("tmp/resocket"),
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .unwrap();
    let s = rustix::net::socket(rustix::net::AddressFamily::UNIX, rustix::net::SocketType::DGRAM, None).unwrap();
    let proc_name = format!("/proc/thread-self/fd/{}/p.sock", dir.as_raw_fd());
    rustix::net::bind(&s, &rustix::net::SocketAddrUnix::new(proc_name.as_str()).unwrap()).unwrap();
    assert!(is_socket(&sb.root.join("tmp/resocket/p.sock")));
    let by_proc = sockname(s.as_fd());
    assert_eq!(by_proc, proc_name.as_bytes());
    eprintln!(
        "recorded {:?}: fchdir + last component -> {:?}; /proc form -> {:?}",
        String::from_utf8_lossy(&recorded),
        String::from_utf8_lossy(&by_fchdir),
        String::from_utf8_lossy(&by_proc)
    );
    ex.rollback();
    assert!(!sb.root.join("tmp/resocket/m.sock").exists(), "rolled back");
}

/// Without a root the restore acts on the host's paths, and its stale-name unlink still never
/// follows a symlink in the last component, never removes a non-socket, and never removes a
/// socket file a live socket (of this network namespace) is bound to; a dead one it removes.
#[test]
fn without_a_root_the_stale_unlink_removes_only_dead_socket_files() {
    use resocket_core::sim::{Errno, Op, Outcome, Payload};
    use resocket_restore::exec::{Config, Executor, PlaceMode};
    let sb = Sandbox::new("host");
    let dir = sb.dir.join("host");
    std::fs::create_dir(&dir).unwrap();
    symlink(sb.out.join("resocket/srv.sock"), dir.join("link.sock")).unwrap();
    std::fs::write(dir.join("file.sock"), b"precious").unwrap();
    drop(UnixDatagram::bind(dir.join("dead.sock")).unwrap());
    let before = sb.outside().unwrap();
    let mut ex = Executor::new(Config { root: None, place: PlaceMode::HoldAll, fd_base: 1024, inherit_all: false });
    let unlink = |ex: &mut Executor, name: &str| {
        let path = dir.join(name).into_os_string().into_encoded_bytes();
        ex.apply(&Op::Unlink { path: Payload(path), stale_only: true })
    };
    assert_eq!(unlink(&mut ex, "link.sock"), Outcome::err(Errno::ENOTSOCK));
    assert_eq!(unlink(&mut ex, "file.sock"), Outcome::err(Errno::ENOTSOCK));
    // The decoy listener through its real name: live in this namespace.
    let live = sb.out.join("resocket/srv.sock").into_os_string().into_encoded_bytes();
    assert_eq!(ex.apply(&Op::Unlink { path: Payload(live), stale_only: true }), Outcome::err(Errno::EADDRINUSE));
    assert!(unlink(&mut ex, "dead.sock").is_ok());
    assert!(unlink(&mut ex, "missing.sock").is_ok(), "a stale unlink of nothing is fine");
    assert!(std::fs::symlink_metadata(dir.join("link.sock")).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(dir.join("file.sock")).unwrap(), b"precious");
    assert!(!dir.join("dead.sock").exists());
    assert_eq!(sb.outside().unwrap(), before);
    ex.rollback();
}
