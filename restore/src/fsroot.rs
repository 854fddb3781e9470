//! Every file system operation of a restore on a socket name: where names resolve, what may be
//! created and removed, and how a failed restore takes back what it made.
//!
//! **With a root** (`restore run --root DIR`) the root is a directory the restore does not trust
//! (a container's file system, a tree someone else filled). Guarantees:
//! * Every name is resolved by the kernel inside the root, never by string checks:
//!   `openat2(root_fd, …, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS)`. Symlinks, absolute or
//!   relative, in any component are followed *as if the restore were chrooted there* (an
//!   absolute target starts at the root, `..` stops at it) and magic links (`/proc/PID/root`…)
//!   are refused. `.` and `..` in recorded names and cwds mean what they would in that chroot.
//! * Operations act on the resolved directory through its fd: missing directories are made one
//!   component at a time (`mkdirat` on the fd of the parent just resolved); a stale name is
//!   removed by `unlinkat` on the parent's fd after `fstatat(AT_SYMLINK_NOFOLLOW)` on the same fd
//!   says it is a socket file no live socket is bound to; `bind` runs with the process's cwd
//!   moved (`fchdir`) to the parent's fd and the bare last component as the address, so a
//!   symlink there is never followed (bind creates, it fails on anything existing).
//! * The plan's `chdir` into a recorded cwd resolves (and makes) it inside the root too, and
//!   only records its fd: relative names resolve from that fd.
//! * `connect` and `sendto` open the name itself (`O_PATH`, symlinks followed inside the root)
//!   and connect to `/proc/thread-self/fd/N`: the kernel checks and uses exactly that inode (a socket
//!   file, or ECONNREFUSED), with no window between a check and the use and no path resolved
//!   outside the root. (`/proc` must be mounted.) A `send` with an address on a stream or
//!   seqpacket socket is passed the recorded name untouched: the kernel never looks it up.
//! * An outside peer's name (a dgram socket connected outside the image) is probed and, for
//!   `--verify`, looked up ([`Fs::inode_of`]) the same way: inside the root.
//! * A name may be longer than `sun_path` once joined to the root: only the last component
//!   goes into a `sockaddr_un` (bind) or nothing of it does (connect).
//! * What a restored process sees: `getsockname` (and a peer's `getpeername`) of a socket bound
//!   under a root reports the **last component only** ([`bound_name`]): `srv.sock` for a
//!   recorded `/tmp/resocket/srv.sock`, `rel.sock` for a relative `rel.sock` (the same as
//!   recorded). Measured against the other race-free form, `bind("/proc/thread-self/fd/N/srv.sock")`,
//!   which reports that `/proc` path, naming an fd the process does not have
//!   (`hostile_root::what_getsockname_reports_for_each_bind_form`). Today's string-joined
//!   `ROOT/tmp/resocket/srv.sock` cannot be kept: that path is resolved by the kernel outside
//!   any confinement.
//!
//! DEVIATION: (residual, both modes) a removal moves the entry to a private name first and
//! checks it there ([`remove_checked`]); someone who can write in that directory and finds the
//! private name within microseconds may still swap it: what is then removed is an entry of
//! that same directory, never a file elsewhere and never through a symlink. And a directory
//! moved out of the root, by someone who can write outside it, while the restore holds its fd,
//! takes the restore's operations with it (`openat2` guards resolution, not later renames);
//! a hostile root's own contents cannot do that.
//!
//! **Without a root** the restore acts on the host's real paths, as a restore must: bind,
//! connect and chdir take the recorded names as they are (relative names relative to the
//! recorded cwd the plan chdir()s into, held as an fd), so `getsockname` reports exactly the
//! recorded name.
//! The stale-name unlink still never follows a symlink in the last component, and removes only
//! a socket file no live socket is bound to.
//!
//! **The process's cwd** is never moved for longer than one bind: a bind from a directory (every
//! bind under a root; a relative name after a `chdir` on the host) takes a process-wide lock,
//! moves the cwd there, binds and moves it back. DEVIATION: the plan's `chdir` used to move the
//! process's cwd until the restore ended; now it does not (nothing needs it to), so two
//! executors in one process (the tests) never see each other's directories. Code of the same
//! process that uses relative paths while a bind runs on another thread would see the move.
//!
//! **Both modes**: every directory and socket file this restore creates is recorded with the fd
//! of the directory it was made in and its inode; [`Fs::rollback`] removes exactly those, by
//! `unlinkat` on that fd, after `fstatat(AT_SYMLINK_NOFOLLOW)` shows the same inode (a socket
//! file still, a directory still — and a directory only if empty). A "live" socket is one of
//! the restorer's network namespace whose bound file is that inode (unix_diag's VFS inode).

use crate::diag_unix;
use resocket_core::bstr;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::fs::{AtFlags, FileType, Mode, OFlags, ResolveFlags, Stat};
use rustix::io::Errno;
use rustix::net::SocketAddrUnix;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// `sizeof(sun_path)`: the longest socket name (no NUL needed at this length).
pub const SUN_PATH: usize = 108;

/// Why a file system step of a restore failed.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// A system call failed; `errno` is what the kernel said (a caller may compare it with the
    /// simulator's answer).
    #[error("{op} {path}: {errno}")]
    Sys {
        /// The operation (`openat2`, `mkdirat`, `bind`…).
        op: &'static str,
        /// The name, as the host sees it.
        path: String,
        /// The kernel's answer.
        errno: Errno,
    },
    /// The root itself cannot be opened.
    #[error("--root {root}: {errno}")]
    Root {
        /// The root as given.
        root: String,
        /// The kernel's answer.
        errno: Errno,
    },
    /// Refused: the name is not a socket file (only socket files are ever removed).
    #[error("{path}: not a socket file; left alone")]
    NotSocket {
        /// The name, as the host sees it.
        path: String,
    },
    /// Refused: a live socket is bound to the file (a stale-name unlink).
    #[error("{path}: a live socket is bound to it")]
    Live {
        /// The name, as the host sees it.
        path: String,
    },
    /// Refused: whether a live socket is bound to the file cannot be told.
    #[error("{path}: cannot tell whether a live socket is bound to it ({why}); left alone")]
    Liveness {
        /// The name, as the host sees it.
        path: String,
        /// Why (the unix_diag error).
        why: String,
    },
    /// A directory component is a symlink (or was made one meanwhile) whose target, inside the
    /// root, does not exist; it is not created (as `mkdir -p` does not).
    #[error("{path}: a symlink to a directory that does not exist inside the root; nothing made there")]
    Dangling {
        /// The component, as the host sees it.
        path: String,
    },
    /// The last component is empty, `.` or `..`: no socket can be made or removed there.
    #[error("{path}: the last component is not a file name")]
    NotAName {
        /// The name, as recorded.
        path: String,
    },
    /// Refused: the entry changed between its check and its removal; left alone.
    #[error("{path}: changed while being removed; left alone")]
    Changed {
        /// The name, as the host sees it.
        path: String,
    },
    /// `/proc/thread-self/fd` is not there: connecting to a name opened as an fd needs it.
    #[error("/proc is not mounted: connecting to a name opened as an fd needs /proc/thread-self/fd")]
    NoProc,
    /// The last component alone is longer than `sun_path`.
    #[error("{path}: the last component is {len} bytes, more than sun_path's {SUN_PATH}")]
    TooLong {
        /// The name, as recorded.
        path: String,
        /// The last component's length.
        len: usize,
    },
}

impl FsError {
    /// The kernel's errno, when the failure is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            FsError::Sys { errno, .. } | FsError::Root { errno, .. } => Some(*errno),
            _ => None,
        }
    }
}

/// The name `getsockname` reports for a socket bound to `recorded` under a root: its last
/// component (see the module documentation).
pub fn bound_name(recorded: &[u8]) -> &[u8] {
    recorded.rsplit(|&b| b == b'/').next().unwrap_or(recorded)
}

/// What this restore made: the directory it was made in, its name there, and its inode.
#[derive(Debug)]
struct Made {
    parent: Arc<OwnedFd>,
    name: Vec<u8>,
    id: (u64, u64),
    dir: bool,
    shown: PathBuf,
}

/// An address for `connect`/`sendto`, and (under a root) the `O_PATH` fd it names.
#[derive(Debug)]
pub struct Target {
    /// The address to pass to the kernel.
    pub addr: SocketAddrUnix,
    _pinned: Option<OwnedFd>,
}

/// The file system side of one restore (see the module documentation).
#[derive(Debug)]
pub struct Fs {
    /// The root (`O_PATH | O_DIRECTORY`), or why it could not be opened; `None`: host paths.
    root: Option<Result<OwnedFd, Errno>>,
    shown_root: PathBuf,
    /// The plan's current directory: absolute, inside the root when there is one.
    cwd: Vec<u8>,
    /// The fd of `cwd` once the plan has chdir'd (relative names resolve from it); `None`:
    /// the root, or on the host the process's own cwd.
    cwd_fd: Option<OwnedFd>,
    made: Vec<Made>,
    /// Directory fds held by `made`, by inode, so that many files in one directory share one.
    dirs: std::collections::BTreeMap<(u64, u64), Arc<OwnedFd>>,
    fd_base: i32,
    /// Whether `/proc/thread-self/fd` is there (under a root, connects go through it).
    proc_fd: bool,
}

const DIR_FLAGS: OFlags = OFlags::PATH.union(OFlags::DIRECTORY).union(OFlags::CLOEXEC);
const CONFINED: ResolveFlags = ResolveFlags::IN_ROOT.union(ResolveFlags::NO_MAGICLINKS);
/// `openat2` answers EAGAIN when a rename raced a `..` under RESOLVE_IN_ROOT: try again.
const RETRIES: usize = 64;

fn id(st: &Stat) -> (u64, u64) {
    (st.st_dev, st.st_ino)
}

fn kind(st: &Stat) -> FileType {
    FileType::from_raw_mode(st.st_mode)
}

fn join(cwd: &[u8], p: &[u8]) -> Vec<u8> {
    if p.first() == Some(&b'/') {
        return p.to_vec();
    }
    let mut out = cwd.to_vec();
    if !out.ends_with(b"/") {
        out.push(b'/');
    }
    out.extend_from_slice(p);
    out
}

/// `(parent, last component)` of an absolute (or cwd-relative) name.
fn split(p: &[u8]) -> Option<(&[u8], &[u8])> {
    let (parent, name) = match p.iter().rposition(|&b| b == b'/') {
        Some(0) => (&p[..1], &p[1..]),
        Some(i) => (&p[..i], &p[i + 1..]),
        None => (&b"."[..], p),
    };
    (!name.is_empty() && name != b"." && name != b"..").then_some((parent, name))
}

impl Fs {
    /// The file system of a restore into `root` (or onto the host's paths). Fds kept for the
    /// whole restore are moved to `fd_base` or above, clear of the numbers being placed.
    pub fn new(root: Option<&Path>, fd_base: i32) -> Fs {
        let root_fd = root.map(|r| rustix::fs::open(r, DIR_FLAGS, Mode::empty()).map(|fd| keep(fd, fd_base)));
        let cwd = match root {
            Some(_) => b"/".to_vec(),
            None => std::env::current_dir().map_or(b".".to_vec(), |d| d.into_os_string().into_encoded_bytes()),
        };
        Fs {
            root: root_fd,
            shown_root: root.map(Path::to_path_buf).unwrap_or_default(),
            cwd,
            cwd_fd: None,
            made: Vec::new(),
            dirs: Default::default(),
            fd_base,
            proc_fd: rustix::fs::stat("/proc/thread-self/fd").is_ok(),
        }
    }

    /// Whether names resolve inside a root.
    pub fn confined(&self) -> bool {
        self.root.is_some()
    }

    fn root_fd(&self) -> Result<Option<BorrowedFd<'_>>, FsError> {
        match &self.root {
            None => Ok(None),
            Some(Ok(fd)) => Ok(Some(fd.as_fd())),
            Some(Err(errno)) => Err(FsError::Root { root: self.shown_root.display().to_string(), errno: *errno }),
        }
    }

    /// A name as the host sees it (for messages and [`Fs::created_paths`]).
    fn shown(&self, p: &[u8]) -> String {
        if self.confined() {
            format!("{}{}", self.shown_root.display(), bstr::escape(&join(b"/", p)))
        } else {
            bstr::escape(p)
        }
    }

    /// Open `p` (absolute, in the restore's view) with `flags`: inside the root, or on the host.
    fn open(&self, p: &[u8], flags: OFlags) -> Result<OwnedFd, FsError> {
        let sys = |errno| FsError::Sys { op: "open", path: self.shown(p), errno };
        match self.root_fd()? {
            None => rustix::fs::open(p, flags, Mode::empty()).map_err(sys),
            Some(root) => {
                for _ in 0..RETRIES {
                    match rustix::fs::openat2(root, p, flags, Mode::empty(), CONFINED) {
                        Err(Errno::AGAIN) => continue,
                        r => return r.map_err(sys),
                    }
                }
                Err(sys(Errno::AGAIN))
            }
        }
    }

    fn open_dir(&self, p: &[u8]) -> Result<OwnedFd, FsError> {
        self.open(p, DIR_FLAGS)
    }

    /// [`Fs::open_dir`], making missing directories under a root (one component at a time, each
    /// resolved inside it, each recorded); on the host nothing is made.
    fn open_dir_making(&mut self, p: &[u8]) -> Result<OwnedFd, FsError> {
        match self.open_dir(p) {
            Err(FsError::Sys { errno: Errno::NOENT, .. }) if self.confined() => {}
            r => return r,
        }
        let mut dir = self.open_dir(b"/")?;
        let mut prefix = b"/".to_vec();
        for c in p.split(|&b| b == b'/').filter(|c| !c.is_empty()) {
            let next = join(&prefix, c);
            dir = match self.open_dir(&next) {
                Err(FsError::Sys { errno: Errno::NOENT, .. }) if c != b"." && c != b".." => {
                    self.make_dir(&dir, c, &next)?;
                    match self.open_dir(&next) {
                        Err(FsError::Sys { errno: Errno::NOENT, .. }) => {
                            return Err(FsError::Dangling { path: self.shown(&next) })
                        }
                        r => r?,
                    }
                }
                r => r?,
            };
            prefix = next;
        }
        Ok(dir)
    }

    /// `mkdirat(parent, name)`, recorded; an existing entry (a race, or a symlink whose target
    /// is missing) is left for the caller's next open to tell apart.
    fn make_dir(&mut self, parent: &OwnedFd, name: &[u8], full: &[u8]) -> Result<(), FsError> {
        match rustix::fs::mkdirat(parent, name, Mode::from_raw_mode(0o777)) {
            Ok(()) => {
                if let Ok(st) = rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW) {
                    if kind(&st) == FileType::Directory {
                        self.record(parent, name, id(&st), true, full)?;
                    }
                }
                Ok(())
            }
            Err(Errno::EXIST) => Ok(()),
            Err(errno) => Err(FsError::Sys { op: "mkdirat", path: self.shown(full), errno }),
        }
    }

    fn record(&mut self, parent: &OwnedFd, name: &[u8], id: (u64, u64), dir: bool, full: &[u8]) -> Result<(), FsError> {
        let st =
            rustix::fs::fstat(parent).map_err(|errno| FsError::Sys { op: "fstat", path: self.shown(full), errno })?;
        let fd_base = self.fd_base;
        let parent = match self.dirs.get(&(st.st_dev, st.st_ino)) {
            Some(p) => p.clone(),
            None => {
                let dup = rustix::io::fcntl_dupfd_cloexec(parent, fd_base)
                    .or_else(|_| rustix::io::fcntl_dupfd_cloexec(parent, 0))
                    .map_err(|errno| FsError::Sys { op: "fcntl", path: self.shown(full), errno })?;
                let p = Arc::new(dup);
                self.dirs.insert((st.st_dev, st.st_ino), p.clone());
                p
            }
        };
        let shown = PathBuf::from(self.shown(full));
        self.made.push(Made { parent, name: name.to_vec(), id, dir, shown });
        Ok(())
    }

    /// The plan's `chdir`: under a root, resolved (and made) inside it; on the host, resolved as
    /// `chdir(2)` would (relative to the plan's cwd). Either way only its fd is kept: relative
    /// names resolve from there; the process's cwd does not move.
    pub fn chdir(&mut self, p: &[u8]) -> Result<(), FsError> {
        let full = join(&self.cwd, p);
        let dir = if self.confined() {
            self.open_dir_making(&full)?
        } else {
            let from = self.cwd_fd.as_ref().map_or(rustix::fs::CWD, |fd| fd.as_fd());
            rustix::fs::openat(from, p, DIR_FLAGS, Mode::empty()).map_err(|errno| FsError::Sys {
                op: "chdir",
                path: self.shown(&full),
                errno,
            })?
        };
        self.cwd_fd = Some(keep(dir, self.fd_base));
        self.cwd = full;
        Ok(())
    }

    /// Bind `sock` to the recorded name `p` (see the module documentation for how, and what
    /// `getsockname` then reports); the socket file is recorded for [`Fs::rollback`].
    pub fn bind(&mut self, sock: BorrowedFd<'_>, p: &[u8]) -> Result<(), FsError> {
        let full = join(&self.cwd, p);
        let not_a_name = || FsError::NotAName { path: bstr::escape(p) };
        if !self.confined() {
            let sys = |errno| FsError::Sys { op: "bind", path: self.shown(&full), errno };
            let addr = SocketAddrUnix::new(p).map_err(sys)?;
            match &self.cwd_fd {
                Some(cwd) if p.first() != Some(&b'/') => bind_from(cwd, sock, &addr),
                _ => rustix::net::bind(sock, &addr),
            }
            .map_err(sys)?;
            // Record it by its directory (host resolution, as the bind did).
            if let Some((parent, name)) = split(&full) {
                if let Ok(dir) = self.open_dir(parent) {
                    self.record_socket(&dir, name, &full)?;
                }
            }
            return Ok(());
        }
        let (parent, name) = split(&full).ok_or_else(not_a_name)?;
        if name.len() > SUN_PATH {
            return Err(FsError::TooLong { path: bstr::escape(p), len: name.len() });
        }
        let (parent, name) = (parent.to_vec(), name.to_vec());
        let dir = self.open_dir_making(&parent)?;
        let sys = |op, errno| FsError::Sys { op, path: self.shown(&full), errno };
        let addr = SocketAddrUnix::new(&name[..]).map_err(|e| sys("bind", e))?;
        bind_from(&dir, sock, &addr).map_err(|e| sys("bind", e))?;
        self.record_socket(&dir, &name, &full)
    }

    fn record_socket(&mut self, dir: &OwnedFd, name: &[u8], full: &[u8]) -> Result<(), FsError> {
        match rustix::fs::statat(dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) if kind(&st) == FileType::Socket => self.record(dir, name, id(&st), false, full),
            // Gone or replaced already: not ours to remove later.
            _ => Ok(()),
        }
    }

    /// The address to `connect`/`sendto` for the recorded name `p` (see the module
    /// documentation). Under a root: `/proc/thread-self/fd/N` for the file the name resolves to inside
    /// the root (held open by the returned [`Target`]), so the kernel's own checks — in its own
    /// order: a datagram too big, a file that is not a socket (ECONNREFUSED), a wrong type —
    /// apply to exactly that inode; for a name that does not exist inside the root, a
    /// `/proc/thread-self/fd` entry that cannot exist, so the kernel answers ENOENT after the same
    /// checks, having looked nothing else up.
    /// On the host an absolute name is passed as it is, and a relative one after a `chdir` is
    /// opened from the recorded cwd's fd the same way (following symlinks, as connect does).
    pub fn target(&self, p: &[u8]) -> Result<Target, FsError> {
        let full = join(&self.cwd, p);
        let sys = |op, errno| FsError::Sys { op, path: self.shown(&full), errno };
        let opened = match (&self.cwd_fd, self.confined()) {
            (_, true) => self.open(&full, OFlags::PATH | OFlags::CLOEXEC),
            (Some(cwd), false) if p.first() != Some(&b'/') => {
                rustix::fs::openat(cwd, p, OFlags::PATH | OFlags::CLOEXEC, Mode::empty()).map_err(|e| sys("open", e))
            }
            _ => return Ok(Target { addr: SocketAddrUnix::new(p).map_err(|e| sys("connect", e))?, _pinned: None }),
        };
        if !self.proc_fd {
            return Err(FsError::NoProc);
        }
        let (name, pinned) = match opened {
            Ok(fd) => (format!("/proc/thread-self/fd/{}", fd.as_raw_fd()), Some(fd)),
            // proc's fd directory has only numbers in it.
            Err(FsError::Sys { errno: Errno::NOENT, .. }) => ("/proc/thread-self/fd/-".to_string(), None),
            Err(e) => return Err(e),
        };
        Ok(Target { addr: SocketAddrUnix::new(name).map_err(|e| sys("connect", e))?, _pinned: pinned })
    }

    /// The inode of the file the absolute name `p` resolves to (symlinks followed, as a
    /// `connect` follows them; inside the root under a root), `None` when there is none: what
    /// an outside peer's name names, to find the socket bound there by unix_diag's
    /// `UNIX_DIAG_VFS`.
    pub fn inode_of(&self, p: &[u8]) -> Option<u64> {
        let fd = self.open(p, OFlags::PATH | OFlags::CLOEXEC).ok()?;
        rustix::fs::fstat(&fd).ok().map(|st| st.st_ino)
    }

    /// The plan's unlink of `p`: only a socket file is removed, a symlink in the last component
    /// is never followed, and with `stale_only` only a file no live socket is bound to (a
    /// missing one is fine then).
    pub fn unlink(&mut self, p: &[u8], stale_only: bool) -> Result<(), FsError> {
        let full = join(&self.cwd, p);
        let (parent, name) = split(&full).ok_or_else(|| FsError::NotAName { path: bstr::escape(p) })?;
        let sys = |op, errno| FsError::Sys { op, path: self.shown(&full), errno };
        let dir = match self.open_dir(parent) {
            Err(FsError::Sys { errno: Errno::NOENT, .. }) if stale_only => return Ok(()),
            r => r?,
        };
        let st = match rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW) {
            Err(Errno::NOENT) if stale_only => return Ok(()),
            r => r.map_err(|e| sys("fstatat", e))?,
        };
        if kind(&st) != FileType::Socket {
            return Err(FsError::NotSocket { path: self.shown(&full) });
        }
        if stale_only {
            let live = diag_unix::bound_files().map_err(|why| FsError::Liveness { path: self.shown(&full), why })?;
            let dev = (rustix::fs::major(st.st_dev), rustix::fs::minor(st.st_dev));
            if live
                .iter()
                .any(|&(ino, kdev)| u64::from(ino) == st.st_ino & 0xffff_ffff && (kdev >> 20, kdev & 0xf_ffff) == dev)
            {
                return Err(FsError::Live { path: self.shown(&full) });
            }
        }
        let gone = id(&st);
        let same = |now: &Stat| id(now) == gone && kind(now) == FileType::Socket;
        if !remove_checked(&dir, name, AtFlags::empty(), same).map_err(|e| sys("unlinkat", e))? {
            return Err(FsError::Changed { path: self.shown(&full) });
        }
        self.made.retain(|m| m.dir || m.id != gone);
        Ok(())
    }

    /// Remove what this restore made, newest first (socket files before the directories they
    /// are in): each by `unlinkat` on the fd of the directory it was made in, only while
    /// `fstatat(AT_SYMLINK_NOFOLLOW)` shows the same inode of the same kind; directories only
    /// when empty. Each removal moves the entry to a private name first and checks it there
    /// ([`remove_checked`]): an entry swapped in under the name is put back, never removed. A
    /// socket file renamed within its directory meanwhile is looked for there by its inode (a
    /// few times). DEVIATION: one moved to another directory, or renamed faster than this looks,
    /// is not found; it stays where it was moved, inside the root.
    pub fn rollback(&mut self) {
        for m in std::mem::take(&mut self.made).into_iter().rev() {
            // A few tries for one being renamed back and forth meanwhile.
            for _ in 0..RETRIES {
                if remove_made(&m, &m.name) || m.dir {
                    break;
                }
                match renamed(&m) {
                    Some(name) if remove_made(&m, &name) => break,
                    Some(_) => continue,
                    None => break,
                }
            }
        }
        self.dirs.clear();
    }

    /// Socket files this restore made and has not removed, as the host sees them.
    pub fn created_paths(&self) -> Vec<PathBuf> {
        self.made.iter().filter(|m| !m.dir).map(|m| m.shown.clone()).collect()
    }
}

/// Remove `parent/name` if it is still what `m` recorded (same inode, same kind); true when
/// done or nothing of that kind is left to do there (a non-empty directory stays).
fn remove_made(m: &Made, name: &[u8]) -> bool {
    let Ok(st) = rustix::fs::statat(&*m.parent, name, AtFlags::SYMLINK_NOFOLLOW) else { return false };
    let want = if m.dir { FileType::Directory } else { FileType::Socket };
    if id(&st) != m.id || kind(&st) != want {
        return false;
    }
    let flags = if m.dir { AtFlags::REMOVEDIR } else { AtFlags::empty() };
    let same = |now: &Stat| id(now) == m.id && kind(now) == want;
    // ENOTEMPTY: left.
    remove_checked(&m.parent, name, flags, same).unwrap_or(false) || m.dir
}

/// `unlinkat(dir, name, flags)` of the entry `check` accepts, without the check-then-use race
/// on `name`: the entry is first moved (`renameat2(RENAME_NOREPLACE)`, atomic) to a private
/// name in the same directory, checked there, and removed, or put back under `name` (when that
/// is still free) if it is not the entry checked or cannot be removed. `Ok(true)`: removed;
/// `Ok(false)`: it was something else, left. DEVIATION: (residual) someone writing in the
/// directory who finds the private name within microseconds can still swap it.
fn remove_checked(dir: &OwnedFd, name: &[u8], flags: AtFlags, check: impl Fn(&Stat) -> bool) -> Result<bool, Errno> {
    use rustix::fs::RenameFlags;
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let salt = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let private = format!(".resocket-rm-{}-{n}-{salt:08x}", std::process::id());
    rustix::fs::renameat_with(dir, name, dir, private.as_str(), RenameFlags::NOREPLACE)?;
    let ours = rustix::fs::statat(dir, private.as_str(), AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|st| check(&st));
    let removed = if ours { rustix::fs::unlinkat(dir, private.as_str(), flags) } else { Ok(()) };
    if !ours || removed.is_err() {
        let _ = rustix::fs::renameat_with(dir, private.as_str(), dir, name, RenameFlags::NOREPLACE);
    }
    removed.map(|()| ours)
}

/// The name under which `m`'s inode now sits in its directory, if it was renamed there.
fn renamed(m: &Made) -> Option<Vec<u8>> {
    let fd = rustix::fs::openat(&*m.parent, ".", OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
        .ok()?;
    let mut dir = rustix::fs::Dir::new(fd).ok()?;
    dir.find_map(|e| {
        let e = e.ok()?;
        (e.ino() == m.id.1).then(|| e.file_name().to_bytes().to_vec())
    })
}

/// Held while the process's cwd is moved for a bind ([`bind_from`]).
static CWD_LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// `bind(sock, addr)` with `addr` (relative) resolved from the directory `dir`: there is no
/// `bindat`, so the process's cwd is moved there for the call and back after it, under
/// [`CWD_LOCK`].
fn bind_from(dir: &OwnedFd, sock: BorrowedFd<'_>, addr: &SocketAddrUnix) -> rustix::io::Result<()> {
    let _held = CWD_LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let here = rustix::fs::open(".", DIR_FLAGS, Mode::empty())?;
    rustix::process::fchdir(dir)?;
    let bound = rustix::net::bind(sock, addr);
    // Back where it was; if that fails the process's cwd stays in the directory just used.
    let _ = rustix::process::fchdir(&here);
    bound
}

/// `fd` moved to `fd_base` or above (where the restore keeps its own fds), or left where it is
/// if that is not possible.
fn keep(fd: OwnedFd, fd_base: i32) -> OwnedFd {
    rustix::io::fcntl_dupfd_cloexec(&fd, fd_base).unwrap_or(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_split_into_a_directory_and_a_file_name() {
        assert_eq!(split(b"/tmp/resocket/srv.sock"), Some((&b"/tmp/resocket"[..], &b"srv.sock"[..])));
        assert_eq!(split(b"/srv.sock"), Some((&b"/"[..], &b"srv.sock"[..])));
        assert_eq!(split(b"rel.sock"), Some((&b"."[..], &b"rel.sock"[..])));
        for not_a_name in [&b"/tmp/"[..], b"/tmp/.", b"/tmp/..", b"", b"/"] {
            assert_eq!(split(not_a_name), None, "{}", bstr::escape(not_a_name));
        }
    }

    #[test]
    fn relative_names_join_the_cwd_unnormalised() {
        assert_eq!(join(b"/", b"a"), b"/a");
        assert_eq!(join(b"/tmp/x", b"../a"), b"/tmp/x/../a");
        assert_eq!(join(b"/tmp/x", b"/abs"), b"/abs");
    }

    #[test]
    fn a_socket_bound_under_a_root_reports_its_last_component() {
        assert_eq!(bound_name(b"/tmp/resocket/srv.sock"), b"srv.sock");
        assert_eq!(bound_name(b"rel.sock"), b"rel.sock");
    }
}
