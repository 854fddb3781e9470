//! The names unix sockets are bound to: their spelling in the scenario, and for a relative
//! name the directory it was bound in and whether the file is still linked.

use super::fds::getfd;
use super::DumpError;
use super::Member;
use crate::diag_unix::UnixDiag;
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The file a socket's bound name `p` names now, as process `pid` sees its names: an absolute
/// name resolved inside the process's root (`/proc/PID/root`, RESOLVE_IN_ROOT, no magic
/// links), a relative one from its cwd (`/proc/PID/cwd`); the last component is never followed
/// (a symlink there is not the socket's file). Without a pid, from this process's view, the last
/// component still not followed.
pub(super) fn name_stat(pid: Option<i32>, p: &std::path::Path) -> Option<rustix::fs::Stat> {
    use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
    let dir = |what: &str| {
        let pid = pid?;
        rustix::fs::open(
            format!("/proc/{pid}/{what}"),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
    };
    if p.is_absolute() {
        if let Some(root) = dir("root") {
            let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let resolve = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
            let fd = rustix::fs::openat2(&root, p, flags, Mode::empty(), resolve).ok()?;
            return rustix::fs::fstat(&fd).ok();
        }
    } else if let Some(cwd) = dir("cwd") {
        return rustix::fs::statat(&cwd, p, AtFlags::SYMLINK_NOFOLLOW).ok();
    }
    rustix::fs::statat(rustix::fs::CWD, p, AtFlags::SYMLINK_NOFOLLOW).ok()
}

/// The relative path name a unix socket is bound to (`None`: unbound, abstract or absolute).
fn relative_name(d: &UnixDiag) -> Option<&std::path::Path> {
    use std::os::unix::ffi::OsStrExt;
    let n = d.name.as_deref()?;
    if n.first() == Some(&0) {
        return None;
    }
    let p = std::path::Path::new(std::ffi::OsStr::from_bytes(n.strip_suffix(b"\0").unwrap_or(n)));
    (!p.is_absolute()).then_some(p)
}

/// The directory, as process `pid` names it, that the socket `fd` was bound in with the
/// relative name `rel`: the socket's own file (`SIOCUNIXFILE`), checked to be its inode `vfs`
/// (unix_diag's `UNIX_DIAG_VFS`) and still linked, has the path `DIR/rel`. `None` when that
/// cannot be told: no CAP_NET_ADMIN or an older kernel, the file unlinked or renamed since
/// (its path no longer ends with `rel`), `rel` with `.` or `..` in it, or outside the root.
fn bound_dir(
    fd: BorrowedFd<'_>,
    rel: &std::path::Path,
    vfs: Option<(u32, u32)>,
    pid: Option<i32>,
) -> Option<std::path::PathBuf> {
    use std::path::{Component, Path, PathBuf};
    if !rel.components().all(|c| matches!(c, Component::Normal(_))) {
        return None;
    }
    let file = crate::raw::unix_socket_file(fd).ok()?;
    let st = rustix::fs::fstat(&file).ok()?;
    if st.st_nlink == 0 || vfs.is_some_and(|(ino, _)| st.st_ino as u32 != ino) {
        return None;
    }
    let path = std::fs::read_link(format!("/proc/self/fd/{}", file.as_raw_fd())).ok()?;
    if !path.ends_with(rel) {
        return None;
    }
    let mut dir: PathBuf = path.components().take(path.components().count() - rel.components().count()).collect();
    // The path is this process's view; the dumped process may have another root.
    let root = pid.and_then(|pid| std::fs::read_link(format!("/proc/{pid}/root")).ok());
    if let Some(root) = root.filter(|r| r != Path::new("/")) {
        dir = Path::new("/").join(dir.strip_prefix(&root).ok()?);
    }
    Some(dir)
}

/// The directory each socket bound to a relative name was bound in: `SIOCUNIXFILE` opens the
/// very file the socket is bound to, whatever the process's cwd is now (from the socket's
/// duplicate, else from a short-lived one).
pub(super) fn bound_dirs(
    pids: &[i32],
    diag: &BTreeMap<u32, UnixDiag>,
    dups: &BTreeMap<u32, Member>,
    held_at: &BTreeMap<u32, (usize, i32, i32)>,
    pidfds: &[OwnedFd],
) -> Result<BTreeMap<u32, PathBuf>, DumpError> {
    let mut bound_in: BTreeMap<u32, PathBuf> = BTreeMap::new();
    for (&ino, m) in dups {
        let Some(rel) = diag.get(&ino).and_then(|d| relative_name(d).map(|r| (r, d.vfs))) else { continue };
        let probe;
        let fd = match (&m.fd, held_at.get(&ino)) {
            (Some(f), _) => f,
            (None, Some(&(p, pid, fd))) => {
                probe = getfd(&pidfds[p], pid, fd)?;
                &probe
            }
            (None, None) => continue,
        };
        if let Some(dir) = bound_dir(fd.as_fd(), rel.0, rel.1, pids.first().copied()) {
            bound_in.insert(ino, dir);
        }
    }
    Ok(bound_in)
}
