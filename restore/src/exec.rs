//! The native executor: runs the same [`Op`]s as the simulator, with real syscalls (rustix),
//! and answers with the same [`Outcome`] type, so plans and traces compare one to one.
//!
//! Blocking is never allowed to hang the restorer: every socket that could wait is created
//! non-blocking (connected AF_UNIX ones, which cannot, blocking) and the
//! plan's blocking calls are emulated — `EAGAIN` on a socket the plan treats as blocking is
//! reported as [`Outcome::WouldBlock`] (what the simulator calls a deadlock), except where a
//! blocking call answers at once (a read or accept after SHUT_RD, seen through `POLLRDHUP`).
//! Placed descriptors are made blocking again.
//!
//! Safety for hostile plans and images: every operation on a name goes through
//! [`crate::fsroot::Fs`]: with a root, names resolve inside it with the kernel's help
//! (`openat2(RESOLVE_IN_ROOT)`) and operations act on the resolved directory's fd; unlink only
//! ever removes socket files (and the "stale" unlink only those no live socket is bound to),
//! never through a symlink; every socket file and directory this executor creates is recorded,
//! and [`Executor::rollback`] removes exactly those (never a pre-existing file) and closes every
//! socket. Under a root, `getsockname` of a bound socket reports the name's last component
//! ([`crate::fsroot::bound_name`]).

use crate::fsroot::{Fs, FsError};
use resocket_core::sim::kernel::SlotTable;
use resocket_core::sim::{
    Block, Errno, How, InetFamily, Op, Outcome, Payload, Slot, SockAddr, SockOpt, SockType, Sysctl,
};
use rustix::fd::{AsFd, BorrowedFd, OwnedFd};
use rustix::net::{self, AddressFamily, RecvFlags, SendFlags, SocketAddrUnix, SocketType};
use std::collections::BTreeMap;
use std::io::IoSlice;
use std::path::PathBuf;

/// Where placed descriptors go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaceMode {
    /// Place the fds of this pid at their exact numbers; hold the others at free numbers.
    Exact(i32),
    /// Hold every placed socket at a free number (nothing is placed exactly).
    HoldAll,
}

/// Executor configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// Resolve every path inside this directory.
    pub root: Option<PathBuf>,
    /// How `Place` steps are carried out.
    pub place: PlaceMode,
    /// Plan-level fds are kept at or above this number, clear of the numbers being placed.
    pub fd_base: i32,
    /// Place every fd without FD_CLOEXEC (for `restore run -- COMMAND`: the command must get
    /// them all, even the ones the checkpointed process had marked close-on-exec).
    pub inherit_all: bool,
}

/// A socket held after the plan closed its own handles.
#[derive(Debug)]
pub struct Held {
    /// The pid the image recorded.
    pub pid: i32,
    /// The fd number the image recorded.
    pub fd: i32,
    /// Whether it sits at exactly that number.
    pub exact: bool,
    /// The descriptor.
    pub owned: OwnedFd,
}

/// The executor.
#[derive(Debug)]
pub struct Executor {
    cfg: Config,
    slots: SlotTable<Entry>,
    /// Placed sockets.
    pub held: Vec<Held>,
    /// Names: resolution, creation, removal, rollback (fsroot.rs).
    fs: Fs,
    saved_sysctls: BTreeMap<&'static str, String>,
    /// The plan's own view of O_NONBLOCK, by socket inode (all our sockets are really
    /// non-blocking; blocking is emulated). Empty until a plan uses SetNonblock.
    nonblock: BTreeMap<u64, bool>,
    /// Placeholders holding the fd numbers still to be placed ([`Executor::reserve_fds`]).
    placeholders: BTreeMap<i32, OwnedFd>,
    /// New sockets stay where the kernel put them (every target fd is held by a placeholder).
    reserved: bool,
}

/// What the executor knows of a socket it made, without asking the kernel again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// AF_UNIX (made by `socket`, `socketpair`, or accepted on an AF_UNIX listener).
    Unix,
    /// AF_INET/AF_INET6 SOCK_STREAM: its connects go through `exec/inet.rs`'s `tcp_connect`.
    Tcp,
    /// AF_INET/AF_INET6 of another type.
    OtherInet,
    /// Received through SCM_RIGHTS: the kernel is asked when it matters.
    Unknown,
}

/// One slot's descriptor.
#[derive(Debug)]
struct Entry {
    fd: OwnedFd,
    /// Its open file has O_NONBLOCK (what `Place` must clear), as far as this executor knows.
    nonblocking: bool,
    kind: Kind,
}

/// Hold each target fd number with a `/dev/null` placeholder, all or none ([`Executor::reserve_fds`]).
fn reserve(targets: &[i32], fd_base: i32) -> (BTreeMap<i32, OwnedFd>, bool) {
    use rustix::fd::AsRawFd;
    let opened = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    );
    // Its own number would be the lowest free one, likely a target: keep it above them.
    let Ok(null) = opened.and_then(|fd| rustix::io::fcntl_dupfd_cloexec(&fd, fd_base)) else {
        return (BTreeMap::new(), false);
    };
    let mut held = BTreeMap::new();
    for &t in targets {
        if t < 0 || held.contains_key(&t) {
            continue;
        }
        match rustix::io::fcntl_dupfd_cloexec(&null, t) {
            Ok(fd) if fd.as_raw_fd() == t => {
                held.insert(t, fd);
            }
            _ => return (BTreeMap::new(), false),
        }
    }
    (held, true)
}

mod inet;

/// Flags of every socket the executor creates: non-blocking (blocking is emulated) and
/// close-on-exec, so that no process started meanwhile (by `restore run -- COMMAND`, or by
/// another thread) holds one of the plan's sockets; `Place` decides what the restored process
/// inherits. (Socketpairs and sockets accepted on an AF_UNIX listener are created blocking:
/// nothing done on a connected AF_UNIX socket can wait, every send and receive passes
/// MSG_DONTWAIT.)
const NEW_FLAGS: net::SocketFlags = net::SocketFlags::NONBLOCK.union(net::SocketFlags::CLOEXEC);

fn errno(e: rustix::io::Errno) -> Outcome {
    match Errno::from_raw(e.raw_os_error()) {
        Some(x) => Outcome::err(x),
        None => Outcome::Invalid { why: format!("unexpected errno {}", e) },
    }
}

/// A file system failure as the plan's outcome: the kernel's errno where there is one (what the
/// simulator answers too) when it is one the simulator knows; `not_socket` for a refused
/// non-socket file; otherwise the reason, with the name.
fn fs_err(e: FsError, not_socket: Errno) -> Outcome {
    match e {
        FsError::Sys { errno: x, .. } if Errno::from_raw(x.raw_os_error()).is_some() => errno(x),
        FsError::NotSocket { .. } => Outcome::err(not_socket),
        FsError::Live { .. } => Outcome::err(Errno::EADDRINUSE),
        other => Outcome::Invalid { why: other.to_string() },
    }
}

/// `Place` over the placeholder holding the number: `dup3` replaces it atomically (the number
/// was never free).
fn place_over(
    src: BorrowedFd<'_>,
    mut placeholder: OwnedFd,
    keep_cloexec: bool,
    file_flags: Option<rustix::fs::OFlags>,
) -> Result<OwnedFd, Outcome> {
    let flags = if keep_cloexec { rustix::io::DupFlags::CLOEXEC } else { rustix::io::DupFlags::empty() };
    rustix::io::dup3(src, &mut placeholder, flags).map_err(errno)?;
    set_file_flags(&placeholder, file_flags)?;
    Ok(placeholder)
}

/// `Place` at the number itself, with no placeholder: the lowest free number from `fd` on,
/// refused when that is not `fd` (the number is in use in the restorer).
fn place_at(
    src: BorrowedFd<'_>,
    fd: i32,
    keep_cloexec: bool,
    file_flags: Option<rustix::fs::OFlags>,
) -> Result<OwnedFd, Outcome> {
    let got = rustix::io::fcntl_dupfd_cloexec(src, fd).map_err(errno)?;
    set_file_flags(&got, file_flags)?;
    if !keep_cloexec {
        rustix::io::fcntl_setfd(&got, rustix::io::FdFlags::empty()).map_err(errno)?;
    }
    use rustix::fd::AsRawFd;
    if got.as_raw_fd() != fd {
        return Err(Outcome::Invalid {
            why: format!("fd {fd} is already in use in the restorer; it cannot be placed there"),
        });
    }
    Ok(got)
}

/// A placed socket held at a free number at or above `fd_base` (its pid is not placed exactly).
fn hold_free(src: BorrowedFd<'_>, fd_base: i32, file_flags: Option<rustix::fs::OFlags>) -> Result<OwnedFd, Outcome> {
    let got = rustix::io::fcntl_dupfd_cloexec(src, fd_base).map_err(errno)?;
    set_file_flags(&got, file_flags)?;
    Ok(got)
}

/// The open file's flags set to `flags`, if any are to be set.
fn set_file_flags(fd: &OwnedFd, flags: Option<rustix::fs::OFlags>) -> Result<(), Outcome> {
    match flags {
        Some(f) => rustix::fs::fcntl_setfl(fd, f).map_err(errno),
        None => Ok(()),
    }
}

fn would_block() -> Outcome {
    Outcome::WouldBlock { block: Block::Kernel }
}

fn sock_type(ty: SockType) -> SocketType {
    match ty {
        SockType::Stream => SocketType::STREAM,
        SockType::Dgram => SocketType::DGRAM,
        SockType::Seqpacket => SocketType::SEQPACKET,
    }
}

impl Executor {
    /// A new executor.
    pub fn new(cfg: Config) -> Executor {
        let fs = Fs::new(cfg.root.as_deref(), cfg.fd_base);
        Executor {
            placeholders: BTreeMap::new(),
            reserved: false,
            cfg,
            slots: SlotTable::default(),
            held: Vec::new(),
            fs,
            saved_sysctls: BTreeMap::new(),
            nonblock: BTreeMap::new(),
        }
    }

    /// The descriptor behind a slot.
    pub fn fd(&self, slot: Slot) -> Option<BorrowedFd<'_>> {
        self.slots.get(&slot).map(|e| e.fd.as_fd())
    }

    /// The address to pass to the kernel for a connect or a send: a path name through
    /// [`Fs::target`] (the returned guard must live until the call is made).
    fn addr(&self, a: &SockAddr) -> Result<(Option<SocketAddrUnix>, Option<crate::fsroot::Target>), Outcome> {
        let inval = |e: rustix::io::Errno| errno(e);
        match a {
            // Bind, connect and send with an INET address go through exec/inet.rs.
            SockAddr::Inet(_) => Err(Outcome::Invalid { why: "an INET address where a sockaddr_un is built".into() }),
            SockAddr::Path(p) => {
                let t = self.fs.target(p).map_err(|e| fs_err(e, Errno::ECONNREFUSED))?;
                Ok((Some(t.addr.clone()), Some(t)))
            }
            SockAddr::Abstract(n) => SocketAddrUnix::new_abstract_name(n).map(|a| (Some(a), None)).map_err(inval),
            SockAddr::Autobind => Ok((Some(SocketAddrUnix::new_unnamed()), None)),
            SockAddr::Unspec => Ok((None, None)),
        }
    }

    /// Before the first step: hold the fd numbers `Place` will fill exactly with placeholders
    /// (`/dev/null`), so the kernel never hands one of them to a plan socket and new sockets
    /// need no move above `fd_base` (two syscalls each saved); `Place` then replaces its
    /// placeholder atomically (`dup3`). All or nothing: if one number cannot be held (in use),
    /// nothing is, and new sockets are moved as without this call (a number in use then fails
    /// at its `Place`, with the reason). Returns whether the numbers are held.
    pub fn reserve_fds(&mut self, targets: &[i32]) -> bool {
        if self.slots.is_empty() && self.placeholders.is_empty() {
            (self.placeholders, self.reserved) = reserve(targets, self.cfg.fd_base);
        }
        self.reserved
    }

    /// Take a new descriptor into `slot`; `nonblocking`: its open file has O_NONBLOCK (what
    /// `Place` must clear), as far as this executor knows.
    fn adopt_as(&mut self, slot: Slot, fd: OwnedFd, nonblocking: bool, kind: Kind) -> Result<(), Outcome> {
        // Keep the plan's own fds clear of the numbers the image wants: they are all held by
        // placeholders, or else the new fd moves above them.
        let fd =
            if self.reserved { fd } else { rustix::io::fcntl_dupfd_cloexec(&fd, self.cfg.fd_base).map_err(errno)? };
        self.slots.insert(slot, Entry { fd, nonblocking, kind });
        Ok(())
    }

    /// What is known of the socket in `slot` (`Unknown` for an empty slot).
    fn kind(&self, slot: Slot) -> Kind {
        self.slots.get(&slot).map_or(Kind::Unknown, |e| e.kind)
    }

    /// Whether the socket in `slot` is TCP: known for the sockets the executor made, asked of
    /// the kernel (`SO_DOMAIN`, `SO_TYPE`) for received ones.
    fn is_tcp(&self, slot: Slot, fd: BorrowedFd<'_>) -> bool {
        match self.kind(slot) {
            Kind::Tcp => true,
            Kind::Unix | Kind::OtherInet => false,
            Kind::Unknown => inet::is_tcp(fd),
        }
    }

    fn take_free(&self, slot: &Slot) -> Result<(), Outcome> {
        if self.slots.contains_key(slot) {
            return Err(Outcome::Invalid { why: format!("slot {slot} is already open") });
        }
        Ok(())
    }

    /// Execute one operation on the real kernel.
    pub fn apply(&mut self, op: &Op) -> Outcome {
        match self.apply_inner(op) {
            Ok(o) | Err(o) => o,
        }
    }

    /// The descriptor and whether the plan treats it as blocking. Every socket is created
    /// non-blocking (so no call can hang the restorer) and blocking is emulated. O_NONBLOCK
    /// belongs to the open file, so an fd received back through SCM_RIGHTS shares it: the plan's
    /// view is kept per socket inode, and only once a plan uses SetNonblock.
    fn get(&self, slot: &Slot) -> Result<(BorrowedFd<'_>, bool), Outcome> {
        let f = &self.slots.get(slot).ok_or(Outcome::err(Errno::EBADF))?.fd;
        let blocking = if self.nonblock.is_empty() {
            true
        } else {
            let ino = rustix::fs::fstat(f).map(|st| st.st_ino).unwrap_or(0);
            !self.nonblock.get(&ino).copied().unwrap_or(false)
        };
        Ok((f.as_fd(), blocking))
    }

    /// The one `match` of every operation: each arm is the syscall of its own method below.
    fn apply_inner(&mut self, op: &Op) -> Result<Outcome, Outcome> {
        // INET destinations and TCP connects (exec/inet.rs).
        if let Some(r) = self.inet_op(op) {
            return r;
        }
        match op {
            Op::Socket { slot, ty } => self.socket(*slot, AddressFamily::UNIX, *ty, Kind::Unix),
            Op::SocketInet { slot, family, ty } => self.socket_inet(*slot, *family, *ty),
            Op::Socketpair { a, b, ty } => self.socketpair(*a, *b, *ty),
            Op::Bind { slot, addr } => self.bind(*slot, addr),
            Op::Unlink { path, stale_only } => self.unlink(&path.0, *stale_only),
            Op::Listen { slot, backlog } => self.listen(*slot, *backlog),
            Op::Connect { slot, addr } => self.connect(*slot, addr),
            Op::Accept { slot, new } => self.accept(*slot, *new),
            Op::Send { slot, to, data, rights } => self.send(*slot, to.as_ref(), data, rights),
            Op::SendOob { slot, byte, rights } => {
                self.send_msg::<SocketAddrUnix>(*slot, None, &Payload(vec![*byte]), rights, SendFlags::OOB)
            }
            Op::Recv { slot, len, peek } => self.recv(*slot, *len as usize, *peek),
            Op::Shutdown { slot, how } => self.shutdown(*slot, *how),
            Op::SetSockOpt { slot, opt } => self.setsockopt(*slot, *opt),
            Op::SetNonblock { slot, on } => self.set_nonblock(*slot, *on),
            Op::Close { slot } => self.close(*slot),
            Op::Chdir { path } => self.chdir(&path.0),
            Op::SetSysctl { name, value } => self.set_sysctl(*name, *value),
            Op::Place { slot, pid, fd, cloexec, nonblock } => self.place(*slot, *pid, *fd, *cloexec, *nonblock),
        }
    }

    /// `socket()` into a free `slot`, non-blocking (blocking is emulated).
    fn socket(&mut self, slot: Slot, af: AddressFamily, ty: SockType, kind: Kind) -> Result<Outcome, Outcome> {
        self.take_free(&slot)?;
        let fd = net::socket_with(af, sock_type(ty), NEW_FLAGS, None).map_err(errno)?;
        self.adopt_as(slot, fd, true, kind)?;
        Ok(Outcome::ok(0))
    }

    /// `socket(AF_INET or AF_INET6)`: a stream one is known to be TCP.
    fn socket_inet(&mut self, slot: Slot, family: InetFamily, ty: SockType) -> Result<Outcome, Outcome> {
        let af = match family {
            InetFamily::Inet => AddressFamily::INET,
            InetFamily::Inet6 => AddressFamily::INET6,
        };
        let kind = if ty == SockType::Stream { Kind::Tcp } else { Kind::OtherInet };
        self.socket(slot, af, ty, kind)
    }

    /// `socketpair()` into the free slots `a` and `b`.
    fn socketpair(&mut self, a: Slot, b: Slot, ty: SockType) -> Result<Outcome, Outcome> {
        if a == b {
            return Err(Outcome::Invalid { why: format!("slots {a}/{b} are not two free slots") });
        }
        self.take_free(&a)?;
        self.take_free(&b)?;
        let (x, y) =
            net::socketpair(AddressFamily::UNIX, sock_type(ty), net::SocketFlags::CLOEXEC, None).map_err(errno)?;
        // Created blocking (every send and receive passes MSG_DONTWAIT), so `Place`
        // has no O_NONBLOCK to clear.
        self.adopt_as(a, x, false, Kind::Unix)?;
        self.adopt_as(b, y, false, Kind::Unix)?;
        Ok(Outcome::ok(0))
    }

    /// `bind()` to an AF_UNIX address (a path through fsroot.rs).
    fn bind(&mut self, slot: Slot, addr: &SockAddr) -> Result<Outcome, Outcome> {
        self.get(&slot)?;
        let f = &self.slots.get(&slot).ok_or(Outcome::err(Errno::EBADF))?.fd;
        match addr {
            SockAddr::Path(p) => self.fs.bind(f.as_fd(), p).map_err(|e| fs_err(e, Errno::EADDRINUSE))?,
            SockAddr::Abstract(n) => {
                net::bind(f, &SocketAddrUnix::new_abstract_name(n).map_err(errno)?).map_err(errno)?
            }
            SockAddr::Autobind => net::bind(f, &SocketAddrUnix::new_unnamed()).map_err(errno)?,
            SockAddr::Unspec => return Err(Outcome::err(Errno::EINVAL)),
            SockAddr::Inet(_) => {
                return Err(Outcome::Invalid { why: "an INET address where a sockaddr_un is built".into() })
            }
        }
        Ok(Outcome::ok(0))
    }

    fn listen(&mut self, slot: Slot, backlog: i32) -> Result<Outcome, Outcome> {
        let (fd, _) = self.get(&slot)?;
        net::listen(fd, backlog).map_err(errno)?;
        Ok(Outcome::ok(0))
    }

    /// `connect()` (`AF_UNSPEC`: disconnect); a blocking connect that would wait is reported
    /// as would-block.
    fn connect(&mut self, slot: Slot, addr: &SockAddr) -> Result<Outcome, Outcome> {
        self.get(&slot)?;
        let (a, _pinned) = self.addr(addr)?;
        let (fd, blocking) = self.get(&slot)?;
        let r = match &a {
            Some(a) => net::connect(fd, a),
            None => net::connect_unspec(fd),
        };
        match r {
            Ok(()) => Ok(Outcome::ok(0)),
            Err(e) if e == rustix::io::Errno::AGAIN && blocking => Ok(would_block()),
            Err(e) => Err(errno(e)),
        }
    }

    /// `accept()` into the free slot `new`, never waiting.
    fn accept(&mut self, slot: Slot, new: Slot) -> Result<Outcome, Outcome> {
        self.get(&slot)?;
        self.take_free(&new)?;
        let kind = self.kind(slot);
        let (fd, blocking) = self.get(&slot)?;
        // An accepted AF_UNIX socket is connected: no call on it can wait (connect
        // answers EISCONN, accept EINVAL, and every send and receive passes
        // MSG_DONTWAIT), so it is made blocking, like a socketpair, and `Place` has no
        // O_NONBLOCK to clear. Any other is non-blocking (a TCP socket can be
        // disconnected and connect again).
        let flags = if kind == Kind::Unix { net::SocketFlags::CLOEXEC } else { NEW_FLAGS };
        // Never a blocking syscall: ask without waiting, then say what a blocking call
        // would have done (after SHUT_RD an empty listener answers EINVAL at once).
        match net::accept_with(fd, flags) {
            Ok(s) => {
                self.adopt_as(new, s, kind != Kind::Unix, kind)?;
                Ok(Outcome::ok(0))
            }
            Err(e) if e == rustix::io::Errno::AGAIN && blocking => {
                if rd_hangup(fd) {
                    Err(Outcome::err(Errno::EINVAL))
                } else {
                    Ok(would_block())
                }
            }
            Err(e) => Err(errno(e)),
        }
    }

    fn shutdown(&mut self, slot: Slot, how: How) -> Result<Outcome, Outcome> {
        let (fd, _) = self.get(&slot)?;
        let h = match how {
            How::Rd => net::Shutdown::Read,
            How::Wr => net::Shutdown::Write,
            How::Rdwr => net::Shutdown::Both,
        };
        net::shutdown(fd, h).map_err(errno)?;
        Ok(Outcome::ok(0))
    }

    /// `setsockopt()`: the buffer and address options by rustix, the recorded ones
    /// (RS_SOCKOPT) through sockopt_io.rs.
    fn setsockopt(&mut self, slot: Slot, opt: SockOpt) -> Result<Outcome, Outcome> {
        let (fd, _) = self.get(&slot)?;
        let v = |x: i32| x.max(0) as usize;
        match opt {
            SockOpt::SndBuf(x) => net::sockopt::set_socket_send_buffer_size(fd, v(x)),
            SockOpt::SndBufForce(x) => net::sockopt::set_socket_send_buffer_size_force(fd, v(x)),
            SockOpt::RcvBuf(x) => net::sockopt::set_socket_recv_buffer_size(fd, v(x)),
            SockOpt::RcvBufForce(x) => net::sockopt::set_socket_recv_buffer_size_force(fd, v(x)),
            SockOpt::PassCred(on) => net::sockopt::set_socket_passcred(fd, on),
            SockOpt::ReuseAddr(on) => net::sockopt::set_socket_reuseaddr(fd, on),
            SockOpt::ReusePort(on) => net::sockopt::set_socket_reuseport(fd, on),
            SockOpt::V6Only(on) => net::sockopt::set_ipv6_v6only(fd, on),
            // The recorded options (RS_SOCKOPT): rustix or raw.rs (sockopt_io.rs).
            o => match crate::sockopt_io::set(fd, o) {
                Some(r) => r.map_err(|e| rustix::io::Errno::from_raw_os_error(e.raw_os_error().unwrap_or(5))),
                None => return Err(Outcome::Invalid { why: format!("{o:?} has no setter") }),
            },
        }
        .map_err(errno)?;
        Ok(Outcome::ok(0))
    }

    /// The plan's own view of O_NONBLOCK, kept per socket inode (see [`Executor::get`]).
    fn set_nonblock(&mut self, slot: Slot, on: bool) -> Result<Outcome, Outcome> {
        let (fd, _) = self.get(&slot)?;
        let ino = rustix::fs::fstat(fd).map_err(errno)?.st_ino;
        self.nonblock.insert(ino, on);
        Ok(Outcome::ok(0))
    }

    fn close(&mut self, slot: Slot) -> Result<Outcome, Outcome> {
        match self.slots.remove(&slot) {
            Some(_) => Ok(Outcome::ok(0)),
            None => Err(Outcome::err(Errno::EBADF)),
        }
    }

    fn chdir(&mut self, path: &[u8]) -> Result<Outcome, Outcome> {
        // Under a root: resolved (and made) inside it, entered by fchdir (fsroot.rs).
        self.fs.chdir(path).map_err(|e| fs_err(e, Errno::ENOTDIR))?;
        Ok(Outcome::ok(0))
    }

    /// Write a sysctl, its first value saved for [`Executor::finish`] to put back.
    fn set_sysctl(&mut self, name: Sysctl, value: i64) -> Result<Outcome, Outcome> {
        let path = name.path();
        let old = std::fs::read_to_string(path).map_err(|e| Outcome::Invalid { why: format!("{path}: {e}") })?;
        self.saved_sysctls.entry(path).or_insert_with(|| old.trim().to_string());
        std::fs::write(path, value.to_string()).map_err(|e| Outcome::Invalid { why: format!("{path}: {e}") })?;
        Ok(Outcome::ok(0))
    }

    /// `Place`: the socket in `slot` put at `fd` of `pid` when that pid is placed exactly (over
    /// its placeholder, or at the number itself), else held at a free number; with the file
    /// flags the image recorded.
    fn place(&mut self, slot: Slot, pid: i32, fd: i32, cloexec: bool, nonblock: bool) -> Result<Outcome, Outcome> {
        let exact = matches!(self.cfg.place, PlaceMode::Exact(p) if p == pid);
        let keep_cloexec = cloexec && !self.cfg.inherit_all;
        let reserved = if exact && self.slots.contains_key(&slot) { self.placeholders.remove(&fd) } else { None };
        // The open file gets the O_NONBLOCK the image recorded (FILE f_flags); the
        // executor's own (every socket it makes is non-blocking) is cleared otherwise.
        let nonblocking = self.slots.get(&slot).is_none_or(|e| e.nonblocking);
        let file_flags = (nonblocking || nonblock).then_some(if nonblock {
            rustix::fs::OFlags::NONBLOCK
        } else {
            rustix::fs::OFlags::empty()
        });
        let (src, _) = self.get(&slot)?;
        let owned = match reserved {
            Some(placeholder) => place_over(src, placeholder, keep_cloexec, file_flags)?,
            None if exact => place_at(src, fd, keep_cloexec, file_flags)?,
            None => hold_free(src, self.cfg.fd_base, file_flags)?,
        };
        self.held.push(Held { pid, fd, exact, owned });
        Ok(Outcome::ok(i64::from(fd)))
    }

    fn unlink(&mut self, p: &[u8], stale_only: bool) -> Result<Outcome, Outcome> {
        self.fs.unlink(p, stale_only).map_err(|e| fs_err(e, Errno::ENOTSOCK))?;
        Ok(Outcome::ok(0))
    }

    fn send(&mut self, slot: Slot, to: Option<&SockAddr>, data: &Payload, rights: &[Slot]) -> Result<Outcome, Outcome> {
        match to {
            // Only a datagram socket looks a name up (a stream socket refuses an address, a
            // seqpacket one ignores it): the others get it as recorded, never resolved.
            Some(SockAddr::Path(p)) if !self.is_dgram(slot)? => {
                let a = SocketAddrUnix::new(&p[..]).map_err(errno)?;
                self.send_msg(slot, Some(&a), data, rights, SendFlags::empty())
            }
            Some(a) => {
                self.get(&slot)?;
                let (a, _pinned) = self.addr(a)?;
                let a = a.ok_or(Outcome::err(Errno::EINVAL))?;
                self.send_msg(slot, Some(&a), data, rights, SendFlags::empty())
            }
            None => self.send_msg::<SocketAddrUnix>(slot, None, data, rights, SendFlags::empty()),
        }
    }

    fn is_dgram(&self, slot: Slot) -> Result<bool, Outcome> {
        let (fd, _) = self.get(&slot)?;
        Ok(net::sockopt::socket_type(fd).map_err(errno)? == SocketType::DGRAM)
    }

    /// `sendmsg` (to `addr` if given) with the slots in `rights` as SCM_RIGHTS and `extra`
    /// flags (`MSG_OOB`); never blocks (a blocking send that cannot complete is reported as
    /// would-block).
    fn send_msg<A: net::addr::SocketAddrArg>(
        &mut self,
        slot: Slot,
        addr: Option<&A>,
        data: &Payload,
        rights: &[Slot],
        extra: SendFlags,
    ) -> Result<Outcome, Outcome> {
        let mut fds = Vec::new();
        for r in rights {
            fds.push(self.get(r)?.0);
        }
        let (fd, blocking) = self.get(&slot)?;
        let mut space = vec![std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(fds.len().max(1)))];
        let mut anc = net::SendAncillaryBuffer::new(&mut space);
        if !fds.is_empty() && !anc.push(net::SendAncillaryMessage::ScmRights(&fds)) {
            return Err(Outcome::err(Errno::EINVAL));
        }
        let iov = [IoSlice::new(&data.0)];
        let flags = SendFlags::DONTWAIT | SendFlags::NOSIGNAL | extra;
        let r = match addr {
            Some(a) => net::sendmsg_addr(fd, a, &iov, &mut anc, flags),
            None => net::sendmsg(fd, &iov, &mut anc, flags),
        };
        match r {
            Ok(n) if n < data.0.len() && blocking => Ok(would_block()),
            Ok(n) => Ok(Outcome::ok(n as i64)),
            Err(e) if e == rustix::io::Errno::AGAIN && blocking => Ok(would_block()),
            Err(e) => Err(errno(e)),
        }
    }

    fn recv(&mut self, slot: Slot, len: usize, peek: bool) -> Result<Outcome, Outcome> {
        let (fd, blocking) = self.get(&slot)?;
        let mut buf = vec![0u8; len];
        let mut space = vec![std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(253))];
        let mut anc = net::RecvAncillaryBuffer::new(&mut space);
        // Received descriptors are close-on-exec like every descriptor of the plan.
        let mut flags = RecvFlags::DONTWAIT | RecvFlags::CMSG_CLOEXEC;
        if peek {
            flags |= RecvFlags::PEEK;
        }
        let m = match net::recvmsg(fd, &mut [std::io::IoSliceMut::new(&mut buf)], &mut anc, flags) {
            Ok(m) => m,
            // A blocking read of an empty queue that is shut down for reading returns 0 at once;
            // otherwise it would wait.
            Err(e) if e == rustix::io::Errno::AGAIN && blocking => {
                return if rd_hangup(fd) {
                    Ok(Outcome::Read { data: Payload(Vec::new()), rights: vec![], truncated: false })
                } else {
                    Ok(would_block())
                };
            }
            Err(e) => return Err(errno(e)),
        };
        let truncated = m.flags.contains(net::ReturnFlags::TRUNC);
        let mut got = Vec::new();
        for msg in anc.drain() {
            if let net::RecvAncillaryMessage::ScmRights(fds) = msg {
                got.extend(fds);
            }
        }
        let mut new_slots = Vec::new();
        for f in got {
            let slot = self.slots.last_key().map_or(1, |k| k + 1);
            self.adopt_as(slot, f, true, Kind::Unknown)?;
            new_slots.push(slot);
        }
        Ok(Outcome::Read { data: Payload(buf[..m.bytes.min(len)].to_vec()), rights: new_slots, truncated })
    }

    /// Undo: close every socket, remove the socket files and directories this executor created
    /// (only while they are still the same socket files and empty directories: [`Fs::rollback`]),
    /// put sysctls back.
    pub fn rollback(&mut self) {
        self.slots.clear();
        self.held.clear();
        self.placeholders.clear();
        self.fs.rollback();
        self.finish();
    }

    /// Put sysctls back and free the fd numbers the plan did not fill (after success or failure).
    pub fn finish(&mut self) {
        // Numbers the plan did not fill go back to being free.
        self.placeholders.clear();
        for (path, v) in std::mem::take(&mut self.saved_sysctls) {
            let _ = std::fs::write(path, v);
        }
    }

    /// Socket files this executor created and has not removed, as the host sees them.
    pub fn created_paths(&self) -> Vec<PathBuf> {
        self.fs.created_paths()
    }
}

/// `POLLRDHUP`: the socket is shut down for reading (its own SHUT_RD, or a closed stream peer).
fn rd_hangup(fd: BorrowedFd<'_>) -> bool {
    use rustix::event::{poll, PollFd, PollFlags};
    let mut fds = [PollFd::new(&fd, PollFlags::RDHUP)];
    let ready = matches!(poll(&mut fds, Some(&rustix::event::Timespec { tv_sec: 0, tv_nsec: 0 })), Ok(n) if n > 0);
    ready && fds[0].revents().contains(PollFlags::RDHUP)
}
