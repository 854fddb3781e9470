//! `checkpoint dump`: capture the AF_UNIX sockets of live processes, without disturbing them
//! (or, with `--kill`, reading what only `accept()` reaches, then killing them).
//!
//! Per process: `/proc/PID/fd` lists the fds and `/proc/PID/fdinfo/N` gives each one's
//! close-on-exec bit and, for a socket, its inode; `unix_diag` gives names, peers, pending
//! connections in accept order, backlogs, buffer sizes and shutdown bits; `pidfd_getfd` gives us
//! a duplicate (the same open file, so nothing changes for the process) of each socket whose
//! queue must be read, and of each socket unix_diag does not know; queued data is read with
//! `MSG_PEEK` (`SO_PEEK_OFF` to walk a queue, the process's own offset put back; message
//! boundaries and SCM_RIGHTS kept, nothing consumed). The result is a scenario, written as an
//! image by core.
//!
//! TCP and UDP sockets (IPv4, IPv6) are described by `dump_inet` from inet_diag, which is asked
//! only for the kinds (TCP/UDP × IPv4/IPv6) the processes hold.
//!
//! Refused, with the reason, rather than written wrongly: data a pending client sent before
//! `accept()`, and pending connections whose client has closed (what they hold waits on the
//! embryo, which no interface can read without accepting it), fds in flight that are not
//! sockets. Sockets of other families are left out with a warning.
//!
//! `--kill` ([`dump_killing`], [`Stopped`]) is for processes that will not run on: they are
//! stopped, each listener with pending connections is accepted on (a duplicate of it, in accept
//! order) and each accepted connection's queue read, so those connections are recorded as
//! pending with what they held; an AF_UNIX stream socket with an out-of-band byte pending has
//! its queue read for real up to the mark (`dump_oob`), which a peek cannot place; the
//! processes are killed once the image is written. If the
//! dump itself dies first (SIGKILL, a crash), a guard process resumes them, or kills them once
//! something was accepted ([`Stopped::stop_guarded`], [`guard`]): none is left stopped.
//!
//! No non-invasive way is implemented. The embryo has no inode, no fd and is not in the unix
//! hash table, so neither unix_diag nor pidfd_getfd reaches it. This kernel has the unix BPF
//! iterator (`bpf_iter__unix` in its BTF): it visits hashed sockets only, but from a listener a
//! tracing program could walk `sk_receive_queue` (`skb->sk` is the embryo) to each embryo's own
//! queue and copy its bytes out (linear part and page frags, in bounded loops). Two things stop
//! it here: this tool would have to carry and load a compiled BPF program (the machine has
//! LLVM 14's `llc` but no C compiler for BPF, and bpftool loads objects, it does not build
//! them), and fds in flight on an embryo (`UNIXCB(skb).fp`) could be named by inode but never
//! received, so a socket only in flight there could not be described: that part needs
//! `accept()` in any case.

use crate::diag_unix::{self, UnixDiag};
use crate::dump_inet::EarlyData;
use resocket_core::bstr;
use resocket_core::scenario::{MsgSpec, PendingSpec, Scenario, ScenarioError, SockSpec, TaskSpec};
use resocket_core::sim::{How, SockType};
use resocket_core::sock::Family;
use resocket_core::warn::{WarnCode, Warning};
use rustix::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use rustix::net::{self, RecvFlags};
use std::collections::{BTreeMap, BTreeSet};

/// The result of a dump.
#[derive(Debug)]
pub struct Dump {
    /// The scenario (write it with `to_image`).
    pub scenario: Scenario,
    /// Things the user must know (external peers, guesses), each with the scenario socket it
    /// is about, if any ([`Dump::to_image`] turns that into the image's objref).
    pub warnings: Vec<DumpWarning>,
}

/// A warning of the dump, placed on a socket of the scenario by its name.
#[derive(Debug, Clone)]
pub struct DumpWarning {
    /// The warning (its objref is filled in by [`Dump::to_image`]).
    pub warning: Warning,
    /// The scenario socket it is about (`inoN`).
    pub socket: Option<String>,
}

impl DumpWarning {
    /// A warning about the socket of inode `ino`.
    pub(crate) fn on(ino: u32, code: WarnCode, message: String) -> Self {
        DumpWarning { warning: Warning::new(code, message), socket: Some(name_of(ino)) }
    }
}

impl Dump {
    /// The image, and the warnings with the objrefs their sockets got in it.
    pub fn to_image(&self) -> Result<(Vec<u8>, Vec<Warning>), ScenarioError> {
        let (bytes, objrefs) = self.scenario.to_image_mapped()?;
        let by_name: BTreeMap<&str, i32> = self
            .scenario
            .sockets
            .iter()
            .zip(objrefs)
            .filter(|(_, o)| *o > 0)
            .map(|(s, o)| (s.name.as_str(), o))
            .collect();
        let warnings = self
            .warnings
            .iter()
            .map(|w| {
                let mut out = w.warning.clone();
                out.objref = w.socket.as_deref().and_then(|n| by_name.get(n).copied());
                out
            })
            .collect();
        Ok((bytes, warnings))
    }
}

fn name_of(ino: u32) -> String {
    format!("ino{ino}")
}

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
fn socket_fds(pid: i32, sockfs: Option<u64>) -> Result<Vec<(i32, u32, bool, bool)>, String> {
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

/// The file a socket's bound name `p` names now, as process `pid` sees its names: an absolute
/// name resolved inside the process's root (`/proc/PID/root`, RESOLVE_IN_ROOT, no magic
/// links), a relative one from its cwd (`/proc/PID/cwd`); the last component is never followed
/// (a symlink there is not the socket's file). Without a pid, from this process's view, the last
/// component still not followed.
fn name_stat(pid: Option<i32>, p: &std::path::Path) -> Option<rustix::fs::Stat> {
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

fn socket_ino(fd: &OwnedFd) -> Option<u32> {
    rustix::fs::fstat(fd).ok().map(|st| st.st_ino as u32)
}

/// One message read with MSG_PEEK: the sender's name (datagrams), the bytes, the inodes of
/// the sockets passed with it.
pub type Peeked = (Option<Vec<u8>>, Vec<u8>, Vec<u32>);

/// Whether unix_diag leaves it open that messages are queued on this socket, so that its
/// queue must be peeked: not for a listener, an unconnected stream or seqpacket socket (no
/// queue; reading it is an error) or a connected stream socket with no byte queued (a stream
/// holds no empty message). A datagram or seqpacket socket showing 0 bytes may still hold empty
/// messages (`UNIX_DIAG_RQLEN` counts bytes: for datagrams, those of the first message only).
pub fn may_hold_messages(d: &UnixDiag) -> bool {
    let stream = d.ty == 1;
    let seqpacket = d.ty == 5;
    let total = d.rqlen.map_or(0, |r| r.0);
    !(d.state == resocket_core::wire::TCP_LISTEN
        || (total == 0 && stream)
        || ((stream || seqpacket) && d.state != resocket_core::wire::TCP_ESTABLISHED))
}

/// Messages queued on a socket, in order, with the inodes of the sockets passed with them.
pub fn peek_queue(fd: &OwnedFd, d: &UnixDiag, received: &mut Vec<OwnedFd>) -> Result<Vec<Peeked>, String> {
    peek_queue_with(fd, d, received, &mut Vec::new())
}

/// [`peek_queue`] with a scratch buffer the caller keeps across sockets (no 64 KiB allocation
/// and zeroing per socket).
pub fn peek_queue_with(
    fd: &OwnedFd,
    d: &UnixDiag,
    received: &mut Vec<OwnedFd>,
    buf: &mut Vec<u8>,
) -> Result<Vec<Peeked>, String> {
    if !may_hold_messages(d) {
        return Ok(Vec::new());
    }
    let stream = d.ty == 1;
    let total = d.rqlen.map_or(0, |r| r.0) as usize;
    // The socket's own peek offset (-1: none), put back at the end: the process may use it.
    let saved = crate::raw::peek_off(fd.as_fd()).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    // A stream without a peek offset is peeked from its start once, as it is: one peek returns
    // every byte queued unless it stops at a message carrying fds or from another writer, and
    // only then is SO_PEEK_OFF set (to where that peek stopped) to walk on. Message queues, and
    // sockets with an offset of their own, are walked from offset 0.
    let mut offset_set = !(stream && saved < 0);
    if offset_set {
        crate::raw::set_peek_off(fd.as_fd(), 0).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    }
    let result = peek_walk(fd, d, total, received, buf, &mut offset_set);
    if offset_set {
        crate::raw::set_peek_off(fd.as_fd(), saved).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    }
    result
}

/// The MSG_PEEK loop of [`peek_queue_with`]; sets SO_PEEK_OFF (and says so in `offset_set`)
/// when a stream peek made without it stops short.
fn peek_walk(
    fd: &OwnedFd,
    d: &UnixDiag,
    total: usize,
    received: &mut Vec<OwnedFd>,
    buf: &mut Vec<u8>,
    offset_set: &mut bool,
) -> Result<Vec<Peeked>, String> {
    let stream = d.ty == 1;
    let seqpacket = d.ty == 5;
    let mut out = Vec::new();
    // Larger than everything queued, so a stream peek never stops exactly at an skb boundary
    // (where the kernel would hand out the next skb's fds with none of its bytes).
    let want = (total + 1).max(1 << 16);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut space = vec![std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(253))];
    let mut peeked = 0;
    for _ in 0..1_000_000 {
        if !*offset_set && peeked > 0 {
            let at = i32::try_from(peeked).map_err(|_| "more than 2 GiB queued".to_string())?;
            crate::raw::set_peek_off(fd.as_fd(), at).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
            *offset_set = true;
        }
        let mut anc = net::RecvAncillaryBuffer::new(&mut space);
        let r = net::recvmsg(
            fd,
            &mut [std::io::IoSliceMut::new(&mut buf[..])],
            &mut anc,
            RecvFlags::PEEK | RecvFlags::DONTWAIT,
        );
        let m = match r {
            Ok(m) => m,
            Err(e) if e == rustix::io::Errno::AGAIN => break,
            Err(e) => return Err(format!("MSG_PEEK: {e}")),
        };
        // EOF: for a stream, everything was peeked and the peer is gone. A seqpacket socket shut
        // down for reading answers 0 instead of EAGAIN once its queue is peeked through, which
        // looks like an empty record: while fewer bytes than unix_diag counts (UNIX_DIAG_RQLEN:
        // every record's bytes) were peeked, a 0 is an empty record (the next peek skips it:
        // the skb is marked peeked); after, empty records at the end of such a queue are not
        // told apart from the end (the caller warns `seqpacket-empty-tail`).
        if m.bytes == 0 && (stream || (seqpacket && d.shutdown & 1 != 0 && peeked >= total)) {
            break;
        }
        let mut rights = Vec::new();
        for msg in anc.drain() {
            if let net::RecvAncillaryMessage::ScmRights(fds) = msg {
                for f in fds {
                    let is_sock = rustix::fs::fstat(&f)
                        .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket)
                        .unwrap_or(false);
                    if !is_sock {
                        return Err("a queued message carries a file that is not a socket (SCM_RIGHTS); only sockets can be described".into());
                    }
                    if let Some(ino) = socket_ino(&f) {
                        rights.push(ino);
                    }
                    received.push(f);
                }
            }
        }
        let from = m.address.and_then(|a| net::SocketAddrUnix::try_from(a).ok()).and_then(|u| {
            u.abstract_name().filter(|n| !n.is_empty()).map(|n| [b"\0".as_slice(), n].concat()).or_else(|| {
                u.path_bytes().filter(|p| !p.is_empty()).map(|p| {
                    let mut v = p.to_vec();
                    if v.last() != Some(&0) {
                        v.push(0);
                    }
                    v
                })
            })
        });
        let n = m.bytes.min(buf.len());
        out.push((from, buf[..n].to_vec(), rights));
        peeked += n;
        if stream && peeked >= total {
            break;
        }
    }
    Ok(out)
}

fn addr_spelling(raw: &[u8]) -> String {
    match raw.split_first() {
        Some((0, rest)) => format!("@{}", bstr::escape(rest)),
        _ => bstr::escape(raw.strip_suffix(b"\0").unwrap_or(raw)),
    }
}

/// The network namespace the processes live in, when it is not ours: its `/proc/PID/ns/net`
/// and that pid. sock_diag answers for the namespace its netlink socket was made in, so the
/// dumps run there ([`in_netns`]); the rest of the dump works on `/proc` and on duplicated fds,
/// which do not care. Processes in different namespaces are refused.
fn netns_of(pids: &[i32]) -> Result<Option<(std::fs::File, i32)>, String> {
    let ns_of = |pid: &str| {
        std::fs::metadata(format!("/proc/{pid}/ns/net")).map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        })
    };
    let ours = ns_of("self").map_err(|e| format!("/proc/self/ns/net: {e}"))?;
    let mut theirs = None;
    for pid in pids {
        let ns = ns_of(&pid.to_string()).map_err(|e| format!("/proc/{pid}/ns/net: {e}"))?;
        match theirs {
            None => theirs = Some((ns, *pid)),
            Some((other, first)) if other != ns => {
                return Err(format!(
                    "pids {first} and {pid} live in different network namespaces; dump them separately"
                ))
            }
            Some(_) => {}
        }
    }
    let Some((_, pid)) = theirs.filter(|(ns, _)| *ns != ours) else { return Ok(None) };
    let file = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| format!("/proc/{pid}/ns/net: {e}"))?;
    Ok(Some((file, pid)))
}

/// Run `f` in the namespace: here when it is ours, else on a short-lived thread moved into it.
fn in_netns<T: Send>(
    ns: Option<&(std::fs::File, i32)>,
    f: impl FnOnce() -> Result<T, String> + Send,
) -> Result<T, String> {
    let Some((file, pid)) = ns else { return f() };
    std::thread::scope(|s| {
        s.spawn(|| {
            use rustix::fd::AsFd;
            rustix::thread::move_into_link_name_space(file.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network))
                .map_err(|e| format!("setns into the network namespace of pid {pid}: {e}"))?;
            f()
        })
        .join()
        .unwrap_or_else(|_| Err("the sock_diag thread panicked".into()))
    })
}

/// `pidfd_getfd`: a duplicate of `fd` of the process (the same open file).
fn getfd(pidfd: &OwnedFd, pid: i32, fd: i32) -> Result<OwnedFd, String> {
    rustix::process::pidfd_getfd(pidfd, fd, rustix::process::PidfdGetfdFlags::empty())
        .map_err(|e| format!("pidfd_getfd({pid}, {fd}): {e}"))
}

/// A unix socket of the dump.
struct Member {
    /// Its duplicate: only when its queue must be peeked or unix_diag lacks its buffer sizes
    /// (everything else comes from unix_diag).
    fd: Option<OwnedFd>,
    /// Some dumped fd holds it (else it is only in flight).
    held: bool,
    /// Its queue, peeked.
    queue: Vec<Peeked>,
    /// `SO_PASSCRED` (read from a duplicate: unix_diag does not report it).
    passcred: bool,
    /// The recorded options (`RS_SOCKOPT`), read from the duplicate likewise.
    opts: Vec<resocket_core::sim::SockOpt>,
    /// `--kill`: the index in `queue` of the out-of-band byte (`RS_OOB`), the queue having been
    /// read for real (dump_oob.rs).
    oob: Option<usize>,
}

/// The sockets found so far, and the fds the peeks received (in flight), to find more in.
struct Found<'a> {
    diag: &'a BTreeMap<u32, UnixDiag>,
    dups: &'a mut BTreeMap<u32, Member>,
    inet: &'a mut BTreeMap<u32, crate::dump_inet::InetFd>,
    received: &'a mut Vec<OwnedFd>,
    scratch: &'a mut Vec<u8>,
}

impl Found<'_> {
    /// Describe the sockets in flight whose inodes are on `todo` (a stack), each from the fd a
    /// peek received, and those in flight in their own queues.
    fn in_flight(&mut self, todo: &mut Vec<u32>) -> Result<(), String> {
        while let Some(r) = todo.pop() {
            if self.inet.contains_key(&r) || self.dups.contains_key(&r) {
                continue;
            }
            let Some(pos) = self.received.iter().position(|f| socket_ino(f) == Some(r)) else { continue };
            let f = self.received.remove(pos);
            let d = self.diag.get(&r);
            let kind = if d.is_some() { None } else { crate::dump_inet::classify(&f) };
            if let Some(kind) = kind {
                // A TCP/UDP socket in flight: described with the others below.
                self.inet.insert(r, (f, kind));
                continue;
            }
            let q = match d {
                Some(d) => {
                    peek_queue_with(&f, d, self.received, self.scratch).map_err(|e| format!("{}: {e}", name_of(r)))?
                }
                None => Vec::new(),
            };
            todo.extend(q.iter().rev().flat_map(|(_, _, rights)| rights.iter().rev()));
            self.dups
                .insert(r, Member { fd: Some(f), held: false, queue: q, passcred: false, opts: Vec::new(), oob: None });
        }
        Ok(())
    }
}

/// A pending connection accepted by a `--kill` dump: its client's inode (`None`: the client has
/// closed), what the connection held, in order, and the index of the out-of-band byte its
/// client sent before accept(), if any.
type Consumed = (Option<u32>, Vec<Peeked>, Option<usize>);

/// The processes of a `checkpoint dump --kill`, stopped (SIGSTOP, every thread seen stopped in
/// `/proc/PID/task/*/stat`) for as long as the dump runs. The dump may then accept the pending
/// connections of their listeners on duplicates (the listeners' queues are emptied: the
/// processes must not run on). Dropped without [`Stopped::kill`] they are resumed (SIGCONT) if
/// nothing was accepted yet, and killed (SIGKILL) if something was.
///
/// Started with a guard ([`Stopped::stop_guarded`]), the same holds when this process dies
/// without dropping it (SIGKILL, a crash): the guard, a child process in a process group of its
/// own, holds pidfds of the processes and reads what this process tells it on a pipe; when the
/// pipe closes without the last word being "done", it resumes them or, once something was
/// accepted, kills them ([`guard`]).
#[derive(Debug)]
pub struct Stopped {
    pidfds: Vec<(i32, OwnedFd)>,
    /// The dump accepted a connection on a listener of theirs.
    consumed: bool,
    /// The accepted connections, held until the processes are killed.
    accepted: Vec<OwnedFd>,
    done: bool,
    /// The guard process and the pipe to it.
    guard: Option<(std::process::Child, std::process::ChildStdin)>,
}

/// What [`Stopped`] tells its [`guard`] (one byte each); the last one heard decides.
mod word {
    /// The guard has its pidfds (guard → this process, on its stdout).
    pub const READY: u8 = b'r';
    /// Connections may have been accepted: kill, do not resume.
    pub const CONSUMED: u8 = b'c';
    /// This process has resumed or killed the processes itself: do nothing.
    pub const DONE: u8 = b'd';
}

impl Stopped {
    /// SIGSTOP each process (by pidfd) and wait until every thread of each is stopped.
    pub fn stop(pids: &[i32]) -> Result<Stopped, String> {
        Self::stop_with(pids, None)
    }

    /// [`Stopped::stop`], with the guard `guard` started first: a command that runs [`guard`]
    /// with `pids` (`checkpoint` runs itself: `checkpoint __guard PID...`). The processes are
    /// stopped only once the guard holds its pidfds.
    pub fn stop_guarded(pids: &[i32], mut guard: std::process::Command) -> Result<Stopped, String> {
        use std::io::Read;
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        // Its own process group: a Ctrl-C that stops the dump does not stop the guard.
        let mut child = guard
            .args(pids.iter().map(i32::to_string))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("the guard process: {e}"))?;
        let (Some(stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the guard process: no pipes".into());
        };
        let mut ready = [0u8; 1];
        if stdout.read_exact(&mut ready).is_err() || ready[0] != word::READY {
            let _ = child.wait();
            return Err("the guard process did not start".into());
        }
        Self::stop_with(pids, Some((child, stdin)))
    }

    fn stop_with(
        pids: &[i32],
        guard: Option<(std::process::Child, std::process::ChildStdin)>,
    ) -> Result<Stopped, String> {
        use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
        let mut st = Stopped { pidfds: Vec::new(), consumed: false, accepted: Vec::new(), done: false, guard };
        for &pid in pids {
            let p = Pid::from_raw(pid).ok_or(format!("{pid} is not a pid"))?;
            let fd = pidfd_open(p, PidfdFlags::empty()).map_err(|e| format!("pidfd_open({pid}): {e}"))?;
            pidfd_send_signal(&fd, Signal::STOP).map_err(|e| format!("SIGSTOP to {pid}: {e}"))?;
            st.pidfds.push((pid, fd));
        }
        for _ in 0..500 {
            if pids.iter().all(|&pid| all_threads_stopped(pid)) {
                failpoint("stopped");
                return Ok(st);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Err(format!("the processes {pids:?} did not stop within 5 s of SIGSTOP"))
    }

    /// Whether the dump accepted connections of theirs (they can no longer be resumed as they
    /// were).
    pub fn consumed(&self) -> bool {
        self.consumed
    }

    /// From here on the processes are killed, not resumed, whatever happens: told to the guard
    /// before the first accept().
    fn mark_consumed(&mut self) -> Result<(), String> {
        self.consumed = true;
        self.tell(word::CONSUMED)
    }

    fn tell(&mut self, w: u8) -> Result<(), String> {
        use std::io::Write;
        match &mut self.guard {
            Some((_, pipe)) => pipe.write_all(&[w]).map_err(|e| format!("the guard process: {e}")),
            None => Ok(()),
        }
    }

    /// The guard is told "done" and reaped.
    fn dismiss_guard(&mut self) {
        let _ = self.tell(word::DONE);
        if let Some((mut child, pipe)) = self.guard.take() {
            drop(pipe);
            let _ = child.wait();
        }
    }

    /// SIGKILL each process (the `--kill` contract), then close the accepted connections.
    pub fn kill(mut self) -> Result<(), String> {
        self.done = true;
        let mut err = Ok(());
        for (pid, fd) in &self.pidfds {
            if let Err(e) = rustix::process::pidfd_send_signal(fd, rustix::process::Signal::KILL) {
                if e != rustix::io::Errno::SRCH {
                    err = Err(format!("SIGKILL to {pid}: {e}"));
                }
            }
        }
        self.dismiss_guard();
        err
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let sig = if self.consumed { rustix::process::Signal::KILL } else { rustix::process::Signal::CONT };
        for (_, fd) in &self.pidfds {
            let _ = rustix::process::pidfd_send_signal(fd, sig);
        }
        self.dismiss_guard();
    }
}

/// The guard of a [`Stopped`] (run in a child process: `checkpoint __guard PID...`): open a
/// pidfd of each process, say ready on `out`, read `input` to its end, and then, unless the
/// last word was "done", SIGKILL the processes if the last word was "consumed", else SIGCONT
/// them. Its pipe closes when the dumping process exits, however it exits.
pub fn guard(pids: &[i32], mut input: impl std::io::Read, mut out: impl std::io::Write) -> Result<(), String> {
    use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
    let mut fds = Vec::new();
    for &pid in pids {
        let p = Pid::from_raw(pid).ok_or(format!("{pid} is not a pid"))?;
        fds.push(pidfd_open(p, PidfdFlags::empty()).map_err(|e| format!("pidfd_open({pid}): {e}"))?);
    }
    out.write_all(&[word::READY]).and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    let mut last = None;
    let mut buf = [0u8; 64];
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => last = buf[..n].last().copied().or(last),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let sig = match last {
        Some(word::DONE) => return Ok(()),
        Some(word::CONSUMED) => Signal::KILL,
        _ => Signal::CONT,
    };
    for fd in &fds {
        let _ = pidfd_send_signal(fd, sig);
    }
    Ok(())
}

/// A test's way to stop the dump at a named point: with `RESOCKET_FAILPOINT=NAME` in the
/// environment, the dump sleeps there until it is killed (points: `stopped`, after the
/// processes are stopped; `accepted`, after a listener's pending connections were accepted).
fn failpoint(name: &str) {
    if std::env::var_os("RESOCKET_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("checkpoint: failpoint {name}: waiting to be killed");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Every thread of `pid` is stopped (`T`, `t`) or exiting (`Z`, `X`), per `/proc/PID/task/*/stat`.
fn all_threads_stopped(pid: i32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.flatten().all(|t| {
        let stat = std::fs::read(t.path().join("stat")).unwrap_or_default();
        // `pid (comm) S ...`: the comm may hold ')' itself; the state follows the last one.
        let state = stat.iter().rposition(|&b| b == b')').and_then(|at| stat.get(at + 2));
        matches!(state, Some(b'T' | b't' | b'Z' | b'X'))
    })
}

/// Capture the unix sockets of these processes, without disturbing them.
pub fn dump(pids: &[i32]) -> Result<Dump, String> {
    dump_with(pids, None)
}

/// Capture the unix sockets of these processes, stopped (see [`Stopped`]), with what the clients
/// of pending connections sent before `accept()`: each listener with pending connections is
/// duplicated and accepted on in accept order, and what each accepted connection holds is read
/// (bytes, record boundaries, fds in flight). Kill the processes afterwards ([`Stopped::kill`]).
pub fn dump_killing(pids: &[i32], stopped: &mut Stopped) -> Result<Dump, String> {
    dump_with(pids, Some(stopped))
}

fn dump_with(pids: &[i32], mut stopped: Option<&mut Stopped>) -> Result<Dump, String> {
    let ns = netns_of(pids)?;
    let diag = in_netns(ns.as_ref(), diag_unix::dump)?;
    let sockfs = sockfs_mnt_id();
    let mut warnings = Vec::new();
    let mut tasks = Vec::new();
    // Sockets to describe: those in the fd tables, then those found in flight.
    let mut dups: BTreeMap<u32, Member> = BTreeMap::new();
    // TCP/UDP sockets, with (tcp, inet6).
    let mut inet: BTreeMap<u32, crate::dump_inet::InetFd> = BTreeMap::new();
    // The unix sockets to duplicate (and peek), as (pidfd, pid, fd, inode, diag).
    let mut pidfds = Vec::new();
    let mut to_read = Vec::new();
    let mut to_probe = Vec::new();
    let mut nonblock: BTreeSet<u32> = BTreeSet::new();
    // Where each held unix socket was found first: (pidfd, pid, fd).
    let mut held_at: BTreeMap<u32, (usize, i32, i32)> = BTreeMap::new();
    for &pid in pids {
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(pid).ok_or(format!("{pid} is not a pid"))?,
            rustix::process::PidfdFlags::empty(),
        )
        .map_err(|e| format!("pidfd_open({pid}): {e}"))?;
        pidfds.push(pidfd);
        let pidfd = pidfds.len() - 1;
        let mut fds = BTreeMap::new();
        let mut cloexec = Vec::new();
        for (fd, ino, coe, nb) in socket_fds(pid, sockfs)? {
            if nb {
                nonblock.insert(ino);
            }
            match diag.get(&ino) {
                Some(d) => {
                    if let std::collections::btree_map::Entry::Vacant(v) = dups.entry(ino) {
                        v.insert(Member {
                            fd: None,
                            held: true,
                            queue: Vec::new(),
                            passcred: false,
                            opts: Vec::new(),
                            oob: None,
                        });
                        held_at.insert(ino, (pidfd, pid, fd));
                        if may_hold_messages(d) || d.bufs.is_none() {
                            to_read.push((pidfd, pid, fd, ino, d));
                        } else {
                            to_probe.push((pidfd, pid, fd, ino));
                        }
                    }
                }
                None if inet.contains_key(&ino) => {}
                None => {
                    let dup = getfd(&pidfds[pidfd], pid, fd)?;
                    let Some(kind) = crate::dump_inet::classify(&dup) else {
                        warnings.push(DumpWarning {
                            warning: Warning::new(
                                WarnCode::FamilyLeftOut,
                                format!("pid {pid} fd {fd}: neither AF_UNIX nor TCP/UDP over IP; left out"),
                            ),
                            socket: None,
                        });
                        continue;
                    };
                    inet.insert(ino, (dup, kind));
                }
            }
            fds.insert(fd, name_of(ino));
            if coe {
                cloexec.push(fd);
            }
        }
        tasks.push(TaskSpec { pid, fds, cloexec });
    }
    let inet_held: BTreeSet<u32> = inet.keys().copied().collect();
    // The held sockets' duplicates and queues. Queues may reveal more sockets, in flight: the
    // inodes their messages carry (`todo`), each described from the fd the peek received.
    let mut received = Vec::new();
    let mut scratch = Vec::new();
    let mut todo = Vec::new();
    for (pidfd, pid, fd, ino, d) in to_read {
        let dup = getfd(&pidfds[pidfd], pid, fd)?;
        let q = peek_queue_with(&dup, d, &mut received, &mut scratch).map_err(|e| format!("{}: {e}", name_of(ino)))?;
        todo.extend(q.iter().rev().flat_map(|(_, _, rights)| rights.iter().rev()));
        if let Some(m) = dups.get_mut(&ino) {
            m.fd = Some(dup);
            m.queue = q;
        }
    }
    let mut found =
        Found { diag: &diag, dups: &mut dups, inet: &mut inet, received: &mut received, scratch: &mut scratch };
    found.in_flight(&mut todo)?;
    // `--kill`: the pending connections of each listener, accepted on a duplicate of it, with
    // what they hold; listeners found in flight in what they hold are consumed in turn.
    let mut consumed: BTreeMap<u32, Vec<Consumed>> = BTreeMap::new();
    // `--kill`: the TCP connections taken off listeners' accept queues, per listener.
    let mut tcp_accepted = BTreeMap::new();
    let early = if stopped.is_some() { EarlyData::Accepted } else { EarlyData::Refuse };
    if let Some(stopped) = stopped.as_deref_mut() {
        // What the TCP/UDP part refuses, it refuses before anything is accepted: the processes
        // can still be resumed then (the part is described again, for real, at the end).
        // Data TCP clients sent before accept() is not refused: it is read below.
        let kinds: BTreeSet<(bool, bool)> = found.inet.values().map(|&(_, kind)| kind).collect();
        let inet_diag =
            if kinds.is_empty() { Vec::new() } else { in_netns(ns.as_ref(), || crate::diag_inet::dump_kinds(&kinds))? };
        crate::dump_inet::specs(
            found.inet,
            &inet_diag,
            &inet_held,
            EarlyData::Accepted,
            &tcp_accepted,
            &mut Vec::new(),
        )?;
        loop {
            let listeners: Vec<u32> = found
                .dups
                .keys()
                .copied()
                .filter(|ino| {
                    !consumed.contains_key(ino)
                        && diag.get(ino).is_some_and(|d| {
                            d.state == resocket_core::wire::TCP_LISTEN
                                && d.icons.as_ref().is_some_and(|i| !i.is_empty())
                        })
                })
                .collect();
            if listeners.is_empty() {
                break;
            }
            let mut accepted = Vec::new();
            for l in listeners {
                let icons = diag.get(&l).and_then(|d| d.icons.clone()).unwrap_or_default();
                if let Some(&c) = icons.iter().find(|&&c| c != 0 && !found.dups.contains_key(&c)) {
                    return Err(format!(
                        "{}: a pending connection comes from socket {c}, outside the dumped processes; it cannot be recreated",
                        name_of(l)
                    ));
                }
                let dup = match found.dups.get(&l).and_then(|m| m.fd.as_ref()) {
                    Some(fd) => {
                        rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| format!("{}: dup: {e}", name_of(l)))?
                    }
                    None => {
                        let &(pidfd, pid, fd) =
                            held_at.get(&l).ok_or(format!("{}: no duplicate of the listener", name_of(l)))?;
                        getfd(&pidfds[pidfd], pid, fd)?
                    }
                };
                stopped.mark_consumed()?;
                let mut conns = Vec::new();
                // accept() on the duplicate takes the connections off the process's listener, in
                // accept-queue order; never more than the queue held when unix_diag was read.
                for _ in 0..icons.len() {
                    match net::accept_with(&dup, net::SocketFlags::NONBLOCK | net::SocketFlags::CLOEXEC) {
                        Ok(a) => conns.push(a),
                        Err(e) if e == rustix::io::Errno::AGAIN => break,
                        Err(e) => return Err(format!("{}: accept: {e}", name_of(l))),
                    }
                }
                accepted.push((l, icons, conns));
                failpoint("accepted");
            }
            // The accepted sockets as unix_diag sees them now: each one's peer is its client.
            let now = in_netns(ns.as_ref(), diag_unix::dump)?;
            let mut todo = Vec::new();
            for (l, icons, conns) in accepted {
                let mut out = Vec::new();
                for (i, a) in conns.iter().enumerate() {
                    let d = socket_ino(a)
                        .and_then(|ino| now.get(&ino))
                        .ok_or(format!("{}: unix_diag does not show the connection accepted from it", name_of(l)))?;
                    let client = d.peer.unwrap_or(0);
                    if icons.get(i) != Some(&client) {
                        return Err(format!(
                            "{}: the accept queue changed during the dump (connection {i} comes from socket {client}, unix_diag listed {:?})",
                            name_of(l),
                            icons.get(i)
                        ));
                    }
                    // An out-of-band byte its client sent before accept() (a stream embryo's
                    // `oob_skb`): the queue read for real up to the mark (dump_oob.rs), which a
                    // peek cannot place; the connection is the dump's own, accepted above.
                    let oob_sent = d.ty == 1
                        && crate::dump_inet::oob_pending(a)
                            .map_err(|e| format!("{}: pending connection {i}: {e}", name_of(l)))?
                            .is_some();
                    let (q, oob) = if oob_sent {
                        let (q, at) = crate::dump_oob::read_with_mark(a, found.received).map_err(|e| {
                            format!("{}: pending connection {i}: reading up to the out-of-band mark: {e}", name_of(l))
                        })?;
                        (q, Some(at))
                    } else {
                        let q = peek_queue_with(a, d, found.received, found.scratch)
                            .map_err(|e| format!("{}: pending connection {i}: {e}", name_of(l)))?;
                        (q, None)
                    };
                    todo.extend(q.iter().rev().flat_map(|(_, _, rights)| rights.iter().rev()));
                    if d.ty == 5 && d.shutdown & 1 != 0 {
                        warnings.push(DumpWarning::on(
                            l,
                            WarnCode::SeqpacketEmptyTail,
                            format!(
                                "{}: pending connection {i}, its client closed: empty records at the end of what it sent, if any, cannot be told from its end and are not recorded",
                                name_of(l)
                            ),
                        ));
                    }
                    out.push(((client != 0).then_some(client), q, oob));
                }
                if out.len() != icons.len() {
                    return Err(format!(
                        "{}: unix_diag listed {} pending connections, accept() returned {}",
                        name_of(l),
                        icons.len(),
                        out.len()
                    ));
                }
                // Kept open until the dump is written: the processes are killed after it.
                stopped.accepted.extend(conns);
                consumed.insert(l, out);
            }
            found.in_flight(&mut todo)?;
        }
        // Then the TCP listeners' accept queues (those held, and those the unix part found in
        // flight: inet_diag is read again for them).
        let kinds: BTreeSet<(bool, bool)> = found.inet.values().map(|&(_, kind)| kind).collect();
        let inet_diag =
            if kinds.is_empty() { Vec::new() } else { in_netns(ns.as_ref(), || crate::diag_inet::dump_kinds(&kinds))? };
        let waiting = |d: &crate::diag_inet::InetDiag| {
            d.protocol == crate::diag_inet::IPPROTO_TCP
                && d.state == resocket_core::wire::TCP_LISTEN
                && d.rqueue > 0
                && found.inet.contains_key(&d.ino)
        };
        if inet_diag.iter().any(waiting) {
            stopped.mark_consumed()?;
            tcp_accepted = crate::dump_inet::accept_pending(found.inet, &inet_diag, &mut stopped.accepted)?;
            failpoint("accepted");
        }
    }
    // SO_PASSCRED, which no diag answer carries: from the duplicates, and from a short-lived one
    // of each other held socket (one pidfd_getfd + close each). The recorded options likewise
    // (the peek offset is the process's own again: the peeks put it back). Both through
    // `sockopt_io::Reader`: a batch of sockets' SOL_SOCKET options in one io_uring_enter where
    // the kernel offers it, one getsockopt each otherwise.
    // A stream socket with an out-of-band byte pending (MSG_OOB): without `--kill` refused
    // (dump_inet::refuse_oob); with it, its queue is read for real to place the mark
    // (dump_oob.rs), after its options (the reads move its peek offset). The OOB byte is an skb
    // of the receive queue (counted by UNIX_DIAG_RQLEN), so a stream with no byte queued in
    // unix_diag's answer is not probed: the queue peek takes the same snapshot.
    let stream_with_bytes = |ino: u32| {
        diag.get(&ino).is_some_and(|d| u16::from(d.ty) == SockType::Stream.raw() && d.rqlen.is_none_or(|r| r.0 > 0))
    };
    let oob_check = |ino: u32, f: &OwnedFd, may_read: bool| -> Result<(), String> {
        if stream_with_bytes(ino) && !may_read {
            if let Some(byte) = crate::dump_inet::oob_pending(f).map_err(|e| format!("{}: {e}", name_of(ino)))? {
                return Err(crate::dump_inet::refuse_oob(&name_of(ino), "an out-of-band byte (MSG_OOB)", byte));
            }
        }
        Ok(())
    };
    let kind = resocket_core::sockopt::OptKind::Unix;
    let mut reader = crate::sockopt_io::Reader::new();
    let record = |m: &mut Member, ino: u32, (passcred, opts): crate::sockopt_io::Read| -> Result<(), String> {
        m.passcred = passcred;
        m.opts = opts.map_err(|e| format!("{}: {e}: the dump cannot record its socket options", name_of(ino)))?;
        Ok(())
    };
    let with_dup: Vec<u32> = dups.iter().filter(|(_, m)| m.fd.is_some()).map(|(&ino, _)| ino).collect();
    for batch in with_dup.chunks(reader.batch_sockets(kind)) {
        let mut fds = Vec::with_capacity(batch.len());
        for &ino in batch {
            if let Some(f) = dups.get(&ino).and_then(|m| m.fd.as_ref()) {
                oob_check(ino, f, stopped.is_some())?;
                fds.push((ino, f.as_fd()));
            }
        }
        let read = reader.read(&fds.iter().map(|&(_, f)| f).collect::<Vec<_>>(), kind);
        let inos: Vec<u32> = fds.into_iter().map(|(ino, _)| ino).collect();
        for (ino, r) in inos.into_iter().zip(read) {
            let Some(m) = dups.get_mut(&ino) else { continue };
            record(m, ino, r)?;
            let (Some(stopped), Some(f)) = (stopped.as_deref_mut(), m.fd.as_ref()) else { continue };
            if stream_with_bytes(ino)
                && crate::dump_inet::oob_pending(f).map_err(|e| format!("{}: {e}", name_of(ino)))?.is_some()
            {
                stopped.mark_consumed()?;
                let (q, at) = crate::dump_oob::read_with_mark(f, &mut received)
                    .map_err(|e| format!("{}: reading its queue up to the out-of-band mark: {e}", name_of(ino)))?;
                m.queue = q;
                m.oob = Some(at);
            }
        }
    }
    for batch in to_probe.chunks(reader.batch_sockets(kind)) {
        let mut probes = Vec::with_capacity(batch.len());
        for &(pidfd, pid, fd, ino) in batch {
            let dup = getfd(&pidfds[pidfd], pid, fd)?;
            oob_check(ino, &dup, false)?;
            probes.push((ino, dup));
        }
        let read = reader.read(&probes.iter().map(|(_, f)| f.as_fd()).collect::<Vec<_>>(), kind);
        for ((ino, _), r) in probes.iter().zip(read) {
            if let Some(m) = dups.get_mut(ino) {
                record(m, *ino, r)?;
            }
        }
    }
    // The directory each socket bound to a relative name was bound in: `SIOCUNIXFILE` opens the
    // very file the socket is bound to, whatever the process's cwd is now.
    let mut bound_in: BTreeMap<u32, std::path::PathBuf> = BTreeMap::new();
    for (&ino, m) in &dups {
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
    // Each dumped unix socket with what unix_diag says of it, in inode order (both maps are in
    // that order: one pass over them, no lookups).
    let members: Vec<(u32, &Member, &UnixDiag)> = {
        let mut diags = diag.iter().peekable();
        dups.iter()
            .filter_map(|(&ino, m)| {
                while diags.next_if(|(&k, _)| k < ino).is_some() {}
                diags.next_if(|(&k, _)| k == ino).map(|(_, d)| (ino, m, d))
            })
            .collect()
    };
    // Names → inodes, to attribute datagrams to their senders; named listeners by type and name;
    // the clients of pending connections.
    let mut by_name: BTreeMap<&[u8], u32> = BTreeMap::new();
    let mut listeners: BTreeMap<(u8, &[u8]), u32> = BTreeMap::new();
    let mut pending_clients = BTreeSet::new();
    for &(ino, _, d) in &members {
        if let Some(n) = &d.name {
            by_name.insert(n, ino);
            if d.state == resocket_core::wire::TCP_LISTEN {
                listeners.insert((d.ty, n), ino);
            }
        }
        pending_clients.extend(d.icons.iter().flatten().copied());
    }
    let in_set = |ino: u32| dups.contains_key(&ino);
    let mut sockets = Vec::with_capacity(members.len() + inet.len());
    for &(ino, m, d) in &members {
        let Some(ty) = SockType::from_raw(d.ty.into()) else {
            return Err(format!("{}: socket type {}", name_of(ino), d.ty));
        };
        let mut s = SockSpec {
            name: name_of(ino),
            family: Family::Unix,
            ty,
            passcred: m.passcred,
            opts: m.opts.clone(),
            ..SockSpec::default()
        };
        if let Some(n) = &d.name {
            s.addr = Some(addr_spelling(n));
            if n.first() == Some(&0)
                && n.len() == 6
                && n[1..].iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                s.autobind = true;
            }
            if n.first() != Some(&0) {
                let path = n.strip_suffix(b"\0").unwrap_or(n);
                use std::os::unix::ffi::OsStrExt;
                let p = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
                if let Some(dir) = bound_in.get(&ino) {
                    s.cwd = Some(dir.display().to_string());
                } else if !p.is_absolute() {
                    let cwd = pids.first().and_then(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).ok());
                    warnings.push(DumpWarning::on(
                        ino,
                        WarnCode::RelativeCwdGuessed,
                        format!(
                            "{}: bound to the relative path {}; the directory it was bound in is taken to be the process's current one ({})",
                            name_of(ino),
                            p.display(),
                            cwd.as_ref().map_or("unknown".into(), |c| c.display().to_string())
                        ),
                    ));
                    s.cwd = cwd.map(|c| c.display().to_string());
                }
                let linked = bound_in.contains_key(&ino)
                    || name_stat(pids.first().copied(), p)
                        .zip(d.vfs)
                        .is_some_and(|(st, (vino, _))| st.st_ino as u32 == vino);
                s.unlinked = !linked;
            }
        }
        if d.state == resocket_core::wire::TCP_LISTEN {
            let backlog = d.rqlen.map_or(0, |r| r.1);
            s.listen = Some(i16::try_from(backlog).unwrap_or(i16::MAX));
            if let Some(conns) = consumed.get(&ino) {
                // `--kill`: accepted by the dump, in this order, with what each held.
                for (client, q, oob) in conns {
                    let sent = q
                        .iter()
                        .enumerate()
                        .map(|(k, (_, data, rights))| MsgSpec {
                            hex: Some(bstr::hex(data)),
                            rights: rights.iter().map(|&r| name_of(r)).collect(),
                            oob: *oob == Some(k),
                            ..MsgSpec::default()
                        })
                        .collect();
                    s.pending.push(PendingSpec { client: client.map(name_of), sent });
                }
            }
            for &c in d.icons.iter().flatten().filter(|_| !consumed.contains_key(&ino)) {
                if c == 0 {
                    return Err(format!(
                        "{}: a pending connection's client has closed; what it sent before closing waits on the embryo, which no interface can read without accepting the connection: `checkpoint dump --kill` reads it (it accepts on a duplicate of the listener, then kills the processes)",
                        name_of(ino)
                    ));
                }
                if !in_set(c) {
                    return Err(format!(
                        "{}: a pending connection comes from socket {c}, outside the dumped processes; it cannot be recreated",
                        name_of(ino)
                    ));
                }
                let w = diag.get(&c).and_then(|x| x.rqlen).map_or(0, |r| r.1);
                if w > 0 {
                    return Err(format!(
                        "{}: pending connection from {} holds data sent before accept() ({w} bytes of buffer); it waits on the embryo, which no interface can read without accepting the connection: `checkpoint dump --kill` reads it (it accepts on a duplicate of the listener, then kills the processes)",
                        name_of(ino),
                        name_of(c)
                    ));
                }
                s.pending.push(PendingSpec { client: Some(name_of(c)), sent: Vec::new() });
            }
        }
        let peer = d.peer.filter(|&p| p != 0);
        let connection = d.ty != 2;
        if let Some(p) = peer {
            if !in_set(p) {
                warnings.push(DumpWarning::on(
                    ino,
                    WarnCode::UnixExternalPeer,
                    format!(
                        "{}: its peer (socket {p}) is outside the dumped processes; marked external: a restore brings it back as a broken connection",
                        name_of(ino)
                    ),
                ));
                s.external_peer = true;
                if d.shutdown != 0 {
                    s.shutdown = How::from_bits(d.shutdown);
                }
                for (i, (_, data, rights)) in m.queue.iter().enumerate() {
                    s.queue.push(MsgSpec {
                        hex: Some(bstr::hex(data)),
                        rights: rights.iter().map(|&r| name_of(r)).collect(),
                        oob: m.oob == Some(i),
                        ..MsgSpec::default()
                    });
                }
                s.sndbuf = d.bufs.map(|b| b.1 as i32);
                s.rcvbuf = d.bufs.map(|b| b.0 as i32);
                s.no_fd = !m.held;
                sockets.push(s);
                continue;
            }
            let pd = diag.get(&p);
            let mutual = pd.and_then(|x| x.peer) == Some(ino);
            let both_unnamed = d.name.is_none() && pd.and_then(|x| x.name.as_ref()).is_none();
            if !connection && mutual && both_unnamed {
                // Unnamed sockets cannot connect() to each other: a socketpair.
                s.pair = Some(name_of(p));
            } else {
                s.peer = Some(name_of(p));
            }
            if connection {
                // The accepted end carries its listener's name.
                let own_listener = d.name.as_ref().and_then(|n| listeners.get(&(d.ty, &n[..])));
                let peer_named = pd.and_then(|x| x.name.as_ref()).is_some();
                if own_listener.is_some() || (d.name.is_some() && !peer_named) {
                    s.accepted_from = own_listener.map(|&l| name_of(l));
                    if s.accepted_from.is_none() {
                        warnings.push(DumpWarning::on(
                            ino,
                            WarnCode::ListenerGone,
                            format!(
                                "{}: accepted from a listener that is gone; a temporary one will stand in",
                                name_of(ino)
                            ),
                        ));
                    }
                    s.peer = Some(name_of(p));
                } else if !peer_named && d.name.is_none() {
                    s.peer = None;
                    s.pair = Some(name_of(p));
                }
            }
        } else if connection && d.state == resocket_core::wire::TCP_ESTABLISHED && !pending_clients.contains(&ino) {
            s.peer_gone = true;
        } else if !connection && d.peer == Some(0) {
            // A dgram socket whose connected peer has closed: unix_diag still shows a peer (the
            // dead socket, which has no inode any more); its next send() is ECONNREFUSED.
            s.peer_gone = true;
        }
        if d.ty == 5 && d.shutdown & 1 != 0 && d.state == resocket_core::wire::TCP_ESTABLISHED {
            warnings.push(DumpWarning::on(
                ino,
                WarnCode::SeqpacketEmptyTail,
                format!(
                    "{}: a seqpacket socket shut down for reading: empty records at the end of its queue, if any, cannot be told from its end and are not recorded",
                    name_of(ino)
                ),
            ));
        }
        if d.shutdown != 0 && !s.peer_gone {
            s.shutdown = How::from_bits(d.shutdown);
        }
        match d.bufs {
            Some((rcv, snd)) => {
                s.sndbuf = Some(snd as i32);
                s.rcvbuf = Some(rcv as i32);
            }
            None => {
                // Duplicated for this (see the fd table walk above).
                s.sndbuf =
                    m.fd.as_ref().and_then(|fd| net::sockopt::socket_send_buffer_size(fd).ok()).map(|v| v as i32);
                s.rcvbuf =
                    m.fd.as_ref().and_then(|fd| net::sockopt::socket_recv_buffer_size(fd).ok()).map(|v| v as i32);
            }
        }
        s.no_fd = !m.held;
        let mut outside = 0usize;
        for (i, (from, data, rights)) in m.queue.iter().enumerate() {
            let sender = if connection {
                None
            } else {
                let known = from.as_deref().and_then(|n| by_name.get(n)).map(|&i| name_of(i));
                if known.is_none() && from.is_some() {
                    outside += 1;
                }
                known.or_else(|| peer.map(name_of))
            };
            s.queue.push(MsgSpec {
                from: sender,
                hex: Some(bstr::hex(data)),
                rights: rights.iter().map(|&r| name_of(r)).collect(),
                oob: m.oob == Some(i),
                ..MsgSpec::default()
            });
        }
        if outside > 0 {
            warnings.push(DumpWarning::on(
                ino,
                WarnCode::DgramSenderOutside,
                format!(
                    "{}: {outside} queued datagrams come from named senders outside the dumped processes; recorded as from {}",
                    name_of(ino),
                    peer.map_or_else(|| "a closed sender".to_string(), |p| format!("its peer {}", name_of(p)))
                ),
            ));
        }
        // Pending clients point at their embryos, not at the listener: no peer of their own.
        if pending_clients.contains(&ino) {
            s.peer = None;
            s.pair = None;
            s.accepted_from = None;
        }
        sockets.push(s);
    }
    // inet_diag: only the families and protocols of the TCP/UDP sockets found (none: no dump).
    // What the TCP/UDP part reads of other sockets is within these: a listener's pending
    // connections are of its own family, and peers outside them are outside the dump anyway.
    let kinds: BTreeSet<(bool, bool)> = inet.values().map(|&(_, kind)| kind).collect();
    let inet_diag =
        if kinds.is_empty() { Vec::new() } else { in_netns(ns.as_ref(), || crate::diag_inet::dump_kinds(&kinds))? };
    sockets.extend(crate::dump_inet::specs(&inet, &inet_diag, &inet_held, early, &tcp_accepted, &mut warnings)?);
    let nonblock: BTreeSet<String> = nonblock.into_iter().map(name_of).collect();
    for s in &mut sockets {
        s.nonblock = nonblock.contains(&s.name);
    }
    let description =
        format!("checkpoint dump of pid {}", pids.iter().map(i32::to_string).collect::<Vec<_>>().join(", "));
    let release = rustix::system::uname().release().to_string_lossy().into_owned();
    Ok(Dump { scenario: Scenario { description, kernel: release, time: 0, tasks, sockets }, warnings })
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

    #[test]
    fn which_queues_are_peeked() {
        use resocket_core::wire::{TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN};
        let d =
            |ty: u8, state: u8, queued: u32| UnixDiag { ty, state, rqlen: Some((queued, 0)), ..UnixDiag::default() };
        // Streams: only connected ones with bytes queued.
        assert!(may_hold_messages(&d(1, TCP_ESTABLISHED, 5)));
        assert!(!may_hold_messages(&d(1, TCP_ESTABLISHED, 0)));
        assert!(!may_hold_messages(&d(1, TCP_LISTEN, 3)));
        assert!(!may_hold_messages(&d(1, TCP_CLOSE, 0)));
        // Datagrams: always (an empty datagram counts 0 bytes); seqpacket: when connected.
        assert!(may_hold_messages(&d(2, TCP_CLOSE, 0)));
        assert!(may_hold_messages(&d(5, TCP_ESTABLISHED, 0)));
        assert!(!may_hold_messages(&d(5, TCP_LISTEN, 0)));
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
