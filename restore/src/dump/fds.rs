//! The fd tables of the dumped processes: `/proc/PID/fd` and `/proc/PID/fdinfo/N` (which fds
//! are sockets, their inodes, close-on-exec and O_NONBLOCK bits), and `pidfd_getfd` for
//! duplicates of them.

use super::DumpError;
use super::{name_of, DumpWarning, Member};
use crate::diag_unix::UnixDiag;
use resocket_core::scenario::TaskSpec;
use resocket_core::warn::{WarnCode, Warning};
use rustix::fd::OwnedFd;
use rustix::net;
use std::collections::{BTreeMap, BTreeSet};

/// The socket fds of a process: (fd, socket inode, close-on-exec, O_NONBLOCK), in fd order.
///
/// Per fd, one `openat` + `read` of `/proc/PID/fdinfo/N`, relative to the open directory and
/// into a stack buffer: `flags:` holds the close-on-exec bit (per fd: it shows nowhere else),
/// and `mnt_id:` + `ino:` (Linux 5.14+) tell a socket (a file of the sockfs mount, whose id
/// [`sockfs_mnt_id`] learns from a socket of our own) and its inode, so the
/// `/proc/PID/fd/N` link is read (`socket:[N]`) only when they are missing.
///
/// On one thread: walking the list in two halves on two threads (with unix_diag read on a third
/// meanwhile, and the queues read in two halves too) was 15-25% faster on an idle 2-core
/// machine, and up to 1.7x slower while other work held both cores (each join waits for a
/// thread the scheduler has not run yet).
fn socket_fds(pid: i32, sockfs: Option<u64>) -> Result<Vec<(i32, u32, bool, bool)>, DumpError> {
    use rustix::fs::{openat, Mode, OFlags, CWD};
    let dir_path = format!("/proc/{pid}/fd");
    let open_dir = |path: &str| {
        openat(CWD, path, OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| format!("{path}: {e}"))
    };
    let fd_dir = open_dir(&dir_path)?;
    let info_path = format!("/proc/{pid}/fdinfo");
    let info_dir = open_dir(&info_path)?;
    let mut numbers = Vec::new();
    let mut buf = Vec::with_capacity(32 << 10);
    // Listed from fdinfo/, not fd/: listing makes the directory's dentries (proc_fill_cache),
    // so the openat of each fdinfo/N below finds its own in the dcache instead of making a
    // second one per fd (about 5 % of a first dump of 10,000 sockets).
    let mut entries = rustix::fs::RawDir::new(&info_dir, buf.spare_capacity_mut());
    while let Some(e) = entries.next() {
        let e = e.map_err(|e| format!("{info_path}: {e}"))?;
        if let Some(fd) = std::str::from_utf8(e.file_name().to_bytes()).ok().and_then(|s| s.parse::<i32>().ok()) {
            numbers.push(fd);
        }
    }
    let look = |part: &[i32]| {
        let mut out = Vec::new();
        let mut link = [std::mem::MaybeUninit::<u8>::uninit(); 64];
        let mut name = [0u8; 16];
        for &fd in part {
            let name = fd_name(fd, &mut name);
            let info = read_fdinfo(&info_dir, name);
            let cloexec = info.flags.is_some_and(|f| f & 0o2000000 != 0);
            // The open file's status flag (shared by every fd of that open file).
            let nonblock = info.flags.is_some_and(|f| f & resocket_core::wire::O_NONBLOCK != 0);
            let ino = match (sockfs, info.mnt_id, info.ino) {
                (Some(sockfs), Some(mnt), Some(ino)) => match (mnt == sockfs, u32::try_from(ino)) {
                    (true, Ok(ino)) => ino,
                    _ => continue,
                },
                _ => {
                    // Gone since the listing (the process runs on): not part of the dump.
                    let Ok((target, _)) = rustix::fs::readlinkat_raw(&fd_dir, name, &mut link) else { continue };
                    let Some(ino) = socket_link_ino(target) else { continue };
                    ino
                }
            };
            out.push((fd, ino, cloexec, nonblock));
        }
        out
    };
    let mut out = look(&numbers);
    out.sort_unstable();
    Ok(out)
}

/// The mount id of sockfs (every socket's file lives there), from a socket of our own; `None`
/// when statx cannot say.
fn sockfs_mnt_id() -> Option<u64> {
    use rustix::fs::{statx, AtFlags, StatxFlags};
    let sock = net::socket(net::AddressFamily::UNIX, net::SocketType::DGRAM, None).ok()?;
    let st = statx(&sock, "", AtFlags::EMPTY_PATH, StatxFlags::MNT_ID).ok()?;
    (st.stx_mask & StatxFlags::MNT_ID.bits() != 0).then_some(st.stx_mnt_id)
}

/// A non-negative fd number as a NUL-terminated name, in `buf`.
fn fd_name(fd: i32, buf: &mut [u8; 16]) -> &std::ffi::CStr {
    let mut at = buf.len() - 1;
    buf[at] = 0;
    let mut n = fd.unsigned_abs();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    std::ffi::CStr::from_bytes_with_nul(&buf[at..]).unwrap_or_default()
}

/// The inode in a `/proc/PID/fd` link target `socket:[N]`.
fn socket_link_ino(target: &[u8]) -> Option<u32> {
    let digits = target.strip_prefix(b"socket:[")?.strip_suffix(b"]")?;
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// The fields of `/proc/PID/fdinfo/N` the walk reads (each `None` when missing).
#[derive(Debug, Default, PartialEq, Eq)]
struct FdInfo {
    flags: Option<u32>,
    mnt_id: Option<u64>,
    ino: Option<u64>,
}

/// `fdinfo/NAME` under the open `fdinfo` directory; all `None` when it cannot be read (the fd
/// is gone, or this kernel says less).
fn read_fdinfo(info_dir: &OwnedFd, name: &std::ffi::CStr) -> FdInfo {
    use rustix::fs::{openat, Mode, OFlags};
    let Ok(f) = openat(info_dir, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) else {
        return FdInfo::default();
    };
    // `pos:`, `flags:`, `mnt_id:`, `ino:` come first, and seq_file hands the whole text to the
    // first read: one read holds them. Read on only if it did not.
    let mut buf = [0u8; 512];
    let mut len = 0;
    while len < buf.len() {
        match rustix::io::read(&f, &mut buf[len..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => len += n,
        }
        let info = parse_fdinfo(&buf[..len]);
        if info.flags.is_some() && info.mnt_id.is_some() && info.ino.is_some() {
            return info;
        }
    }
    parse_fdinfo(&buf[..len])
}

/// The `flags:` (octal), `mnt_id:` and `ino:` fields of an fdinfo text, from complete lines.
fn parse_fdinfo(text: &[u8]) -> FdInfo {
    let mut info = FdInfo::default();
    let mut lines = text.split(|&b| b == b'\n');
    // The last piece is not a complete line (empty when the text ends with one).
    let _ = lines.next_back();
    for line in lines {
        let field = |key: &[u8]| std::str::from_utf8(line.strip_prefix(key)?).ok().map(str::trim);
        if let Some(v) = field(b"flags:") {
            info.flags = u32::from_str_radix(v, 8).ok();
        } else if let Some(v) = field(b"mnt_id:") {
            info.mnt_id = v.parse().ok();
        } else if let Some(v) = field(b"ino:") {
            info.ino = v.parse().ok();
        }
    }
    info
}

pub(super) fn socket_ino(fd: &OwnedFd) -> Option<u32> {
    rustix::fs::fstat(fd).ok().map(|st| st.st_ino as u32)
}

/// `pidfd_getfd`: a duplicate of `fd` of the process (the same open file).
pub(super) fn getfd(pidfd: &OwnedFd, pid: i32, fd: i32) -> Result<OwnedFd, DumpError> {
    rustix::process::pidfd_getfd(pidfd, fd, rustix::process::PidfdGetfdFlags::empty())
        .map_err(|e| DumpError::System(format!("pidfd_getfd({pid}, {fd}): {e}")))
}

/// What the walk of the processes' fd tables found ([`walk`]).
pub(super) struct Tables<'d> {
    /// Each process's fd table, as the scenario records it.
    pub(super) tasks: Vec<TaskSpec>,
    /// Sockets to describe: those in the fd tables (the sockets found in flight join later).
    pub(super) dups: BTreeMap<u32, Member>,
    /// TCP/UDP sockets, with (tcp, inet6).
    pub(super) inet: BTreeMap<u32, crate::dump::inet::InetFd>,
    /// A pidfd of each process, in the order of `pids`.
    pub(super) pidfds: Vec<OwnedFd>,
    /// The unix sockets to duplicate (and peek), as (pidfd, pid, fd, inode, diag).
    pub(super) to_read: Vec<(usize, i32, i32, u32, &'d UnixDiag)>,
    /// The other held unix sockets, duplicated only for their options: (pidfd, pid, fd, inode).
    pub(super) to_probe: Vec<(usize, i32, i32, u32)>,
    /// The sockets whose open file has O_NONBLOCK.
    pub(super) nonblock: BTreeSet<u32>,
    /// Where each held unix socket was found first: (pidfd, pid, fd).
    pub(super) held_at: BTreeMap<u32, (usize, i32, i32)>,
}

/// Walk the fd table of each process: its socket fds, each unix one matched with unix_diag's
/// answer `diag` and each other one classified from a duplicate (TCP/UDP, or left out with a
/// warning).
pub(super) fn walk<'d>(
    pids: &[i32],
    diag: &'d BTreeMap<u32, UnixDiag>,
    warnings: &mut Vec<DumpWarning>,
) -> Result<Tables<'d>, DumpError> {
    let sockfs = sockfs_mnt_id();
    let mut t = Tables {
        tasks: Vec::new(),
        dups: BTreeMap::new(),
        inet: BTreeMap::new(),
        pidfds: Vec::new(),
        to_read: Vec::new(),
        to_probe: Vec::new(),
        nonblock: BTreeSet::new(),
        held_at: BTreeMap::new(),
    };
    for &pid in pids {
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(pid).ok_or(format!("{pid} is not a pid"))?,
            rustix::process::PidfdFlags::empty(),
        )
        .map_err(|e| format!("pidfd_open({pid}): {e}"))?;
        t.pidfds.push(pidfd);
        let pidfd = t.pidfds.len() - 1;
        let mut fds = BTreeMap::new();
        let mut cloexec = Vec::new();
        for (fd, ino, coe, nb) in socket_fds(pid, sockfs)? {
            if nb {
                t.nonblock.insert(ino);
            }
            match diag.get(&ino) {
                Some(d) => {
                    if let std::collections::btree_map::Entry::Vacant(v) = t.dups.entry(ino) {
                        v.insert(Member {
                            fd: None,
                            held: true,
                            queue: Vec::new(),
                            passcred: false,
                            opts: Vec::new(),
                            opts_read: false,
                            oob: None,
                        });
                        t.held_at.insert(ino, (pidfd, pid, fd));
                        if super::queues::may_hold_messages(d) || d.bufs.is_none() {
                            t.to_read.push((pidfd, pid, fd, ino, d));
                        } else {
                            t.to_probe.push((pidfd, pid, fd, ino));
                        }
                    }
                }
                None if t.inet.contains_key(&ino) => {}
                None => {
                    let dup = getfd(&t.pidfds[pidfd], pid, fd)?;
                    let Some(kind) = crate::dump::inet::classify(&dup) else {
                        warnings.push(DumpWarning {
                            warning: Warning::new(
                                WarnCode::FamilyLeftOut,
                                format!("pid {pid} fd {fd}: neither AF_UNIX nor TCP/UDP over IP; left out"),
                            ),
                            socket: None,
                        });
                        continue;
                    };
                    t.inet.insert(ino, (dup, kind));
                }
            }
            fds.insert(fd, name_of(ino));
            if coe {
                cloexec.push(fd);
            }
        }
        t.tasks.push(TaskSpec { pid, fds, cloexec });
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fdinfo_fields_are_read_from_complete_lines_only() {
        let text = b"pos:\t0\nflags:\t02000002\nmnt_id:\t10\nino:\t26732197\nscm_fds: 0\n";
        assert_eq!(parse_fdinfo(text), FdInfo { flags: Some(0o2000002), mnt_id: Some(10), ino: Some(26732197) });
        // A line cut short by the buffer is not taken (ino 2673 would be wrong).
        assert_eq!(parse_fdinfo(&text[..text.len() - 20]).ino, None);
        assert_eq!(parse_fdinfo(&text[..text.len() - 20]).mnt_id, Some(10));
        // An older kernel's text (no ino, no mnt_id), and nonsense.
        assert_eq!(parse_fdinfo(b"pos:\t0\nflags:\t02\n"), FdInfo { flags: Some(2), ..FdInfo::default() });
        assert_eq!(parse_fdinfo(b"flags:\t09\nino:\tx\n"), FdInfo::default());
        assert_eq!(parse_fdinfo(b""), FdInfo::default());
    }

    #[test]
    fn fd_names_and_socket_links() {
        let mut buf = [0u8; 16];
        for fd in [0, 7, 10, 19999, i32::MAX] {
            assert_eq!(fd_name(fd, &mut buf).to_str().unwrap(), fd.to_string());
        }
        assert_eq!(socket_link_ino(b"socket:[4242]"), Some(4242));
        assert_eq!(socket_link_ino(b"pipe:[4242]"), None);
        assert_eq!(socket_link_ino(b"socket:[4242"), None);
        assert_eq!(socket_link_ino(b"/tmp/socket:[1]"), None);
    }

    /// The walk reads socket inodes from fdinfo (`mnt_id` + `ino`) and falls back to the
    /// `/proc/PID/fd` links when it cannot: both give the same sockets with the same bits
    /// (close-on-exec, O_NONBLOCK), and neither lists a file or a pipe.
    #[test]
    fn the_fd_walk_finds_the_same_sockets_from_fdinfo_and_from_the_links() {
        use rustix::fd::AsRawFd;
        let (a, b) =
            net::socketpair(net::AddressFamily::UNIX, net::SocketType::STREAM, net::SocketFlags::CLOEXEC, None)
                .unwrap();
        let c = net::socket_with(net::AddressFamily::UNIX, net::SocketType::DGRAM, net::SocketFlags::NONBLOCK, None)
            .unwrap();
        let (p, q) = std::io::pipe().unwrap();
        let file = std::fs::File::open("/proc/self/status").unwrap();
        // Many of them (a walk of more than one getdents buffer's worth, 32 KiB).
        let many: Vec<_> = (0..1000)
            .map(|_| net::socketpair(net::AddressFamily::UNIX, net::SocketType::DGRAM, net::SocketFlags::empty(), None))
            .collect::<Result<_, _>>()
            .unwrap();
        let sockfs = sockfs_mnt_id();
        assert!(sockfs.is_some(), "statx gives sockfs's mount id on this kernel");
        let pid = std::process::id() as i32;
        // Other tests open and close fds meanwhile: only ours are compared.
        let ours = |v: Vec<(i32, u32, bool, bool)>| {
            let mut mine =
                vec![a.as_raw_fd(), b.as_raw_fd(), c.as_raw_fd(), p.as_raw_fd(), q.as_raw_fd(), file.as_raw_fd()];
            mine.extend(many.iter().flat_map(|(x, y)| [x.as_raw_fd(), y.as_raw_fd()]));
            v.into_iter().filter(|e| mine.contains(&e.0)).collect::<Vec<_>>()
        };
        let ino = |fd: &OwnedFd| socket_ino(fd).unwrap();
        let mut want = vec![
            (a.as_raw_fd(), ino(&a), true, false),
            (b.as_raw_fd(), ino(&b), true, false),
            (c.as_raw_fd(), ino(&c), false, true),
        ];
        want.extend(
            many.iter()
                .flat_map(|(x, y)| [(x.as_raw_fd(), ino(x), false, false), (y.as_raw_fd(), ino(y), false, false)]),
        );
        want.sort();
        assert_eq!(ours(socket_fds(pid, sockfs).unwrap()), want);
        assert_eq!(ours(socket_fds(pid, None).unwrap()), want);
    }
}
