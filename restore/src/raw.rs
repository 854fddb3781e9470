//! The one place with `unsafe` (and with `libc`):
//! * closing descriptors this process inherited at numbers the restored process needs — nothing
//!   in this program owns them, so no `OwnedFd` exists and `close(2)` on a raw number is the
//!   only way;
//! * `SO_PEEK_OFF`, `SO_PRIORITY`, `SO_MARK`, `SO_RCVLOWAT`, `SO_PASSSEC` and the whole
//!   `struct linger` of `SO_LINGER`, which rustix does not wrap: `setsockopt(2)`/`getsockopt(2)`;
//! * `SIOCUNIXFILE`, an ioctl rustix does not wrap, returning a new descriptor, and
//!   `SIOCATMARK`, likewise not wrapped;
//! * `getrusage(RUSAGE_CHILDREN)` and `wait4` for the benchmarks, likewise not wrapped;
//! * a counting global allocator for the benchmarks' heap figures (`GlobalAlloc` is an unsafe
//!   trait);
//! * [`Ring`]: an io_uring (the `io-uring` crate) for batches of `SOL_SOCKET` getsockopts —
//!   pushing a submission is unsafe because the kernel writes into its buffer later.

#![allow(unsafe_code, reason = "closing inherited raw fds has no safe API; confined to this module")]

use rustix::fd::RawFd;

/// Close every fd in `wanted` that is open in this process and at or above 3 (stdio stays).
/// Returns the numbers closed. Call before the restore creates any descriptor, so every open
/// fd below the executor's base is an inherited one.
pub fn close_inherited(wanted: impl IntoIterator<Item = RawFd>) -> Vec<RawFd> {
    let open: std::collections::BTreeSet<RawFd> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
        Err(_) => return Vec::new(),
    };
    let mut closed = Vec::new();
    for fd in wanted {
        if fd < 3 || !open.contains(&fd) {
            continue;
        }
        // SAFETY: `fd` was listed in /proc/self/fd before this program opened any socket, and
        // nothing in this program holds it (all our descriptors are OwnedFds created later), so
        // borrowing it for one fcntl and then closing it cannot invalidate an OwnedFd or
        // BorrowedFd. The listing's own directory fd is closed by now: fcntl tells.
        let still_open = unsafe { rustix::io::fcntl_getfd(rustix::fd::BorrowedFd::borrow_raw(fd)) }.is_ok();
        if still_open {
            // SAFETY: as above; the fd is open and unowned.
            unsafe { rustix::io::close(fd) };
            closed.push(fd);
        }
    }
    closed
}

/// `setsockopt(fd, SOL_SOCKET, SO_PEEK_OFF, value)`: -1 disables peek offsets, n >= 0 makes
/// every `MSG_PEEK` start at n and advance it.
pub fn set_peek_off(fd: rustix::fd::BorrowedFd<'_>, value: i32) -> std::io::Result<()> {
    use rustix::fd::AsRawFd;
    // SAFETY: `fd` is a live descriptor (borrowed for the call); the option value is a valid
    // `int` that lives across the call, and its size is passed exactly.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PEEK_OFF,
            (&raw const value).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `getsockopt(fd, SOL_SOCKET, SO_PEEK_OFF)`: the socket's peek offset, -1 when peek offsets
/// are off (the default).
pub fn peek_off(fd: rustix::fd::BorrowedFd<'_>) -> std::io::Result<i32> {
    use rustix::fd::AsRawFd;
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor (borrowed for the call); `value` is a writable `int`
    // that lives across the call and `len` points at its exact size.
    let rc = unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_PEEK_OFF, (&raw mut value).cast(), &raw mut len)
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `SOL_SOCKET` options with an `int` value that rustix does not wrap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntOpt {
    /// `SO_PRIORITY`.
    Priority,
    /// `SO_MARK`.
    Mark,
    /// `SO_RCVLOWAT`.
    RcvLowat,
    /// `SO_PASSSEC`.
    PassSec,
}

impl IntOpt {
    fn name(self) -> libc::c_int {
        match self {
            IntOpt::Priority => libc::SO_PRIORITY,
            IntOpt::Mark => libc::SO_MARK,
            IntOpt::RcvLowat => libc::SO_RCVLOWAT,
            IntOpt::PassSec => libc::SO_PASSSEC,
        }
    }
}

/// `setsockopt(fd, SOL_SOCKET, opt, value)` with an `int`.
pub fn set_int_opt(fd: rustix::fd::BorrowedFd<'_>, opt: IntOpt, value: i32) -> std::io::Result<()> {
    use rustix::fd::AsRawFd;
    // SAFETY: `fd` is a live descriptor (borrowed for the call); the option value is a valid
    // `int` that lives across the call, and its size is passed exactly.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            opt.name(),
            (&raw const value).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `getsockopt(fd, SOL_SOCKET, opt)` of an `int`.
pub fn int_opt(fd: rustix::fd::BorrowedFd<'_>, opt: IntOpt) -> std::io::Result<i32> {
    use rustix::fd::AsRawFd;
    let mut value: i32 = 0;
    let mut len = std::mem::size_of::<i32>() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor (borrowed for the call); `value` is a writable `int`
    // that lives across the call and `len` points at its exact size.
    let rc = unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, opt.name(), (&raw mut value).cast(), &raw mut len)
    };
    if rc == 0 {
        Ok(value)
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// `getsockopt(fd, SOL_SOCKET, SO_LINGER)`: `(l_onoff, l_linger)`, the time included while
/// lingering is off (rustix reports only an on time).
pub fn linger(fd: rustix::fd::BorrowedFd<'_>) -> std::io::Result<(i32, i32)> {
    use rustix::fd::AsRawFd;
    let mut value = libc::linger { l_onoff: 0, l_linger: 0 };
    let mut len = std::mem::size_of::<libc::linger>() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor (borrowed for the call); `value` is a writable
    // `struct linger` that lives across the call and `len` points at its exact size.
    let rc = unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::SOL_SOCKET, libc::SO_LINGER, (&raw mut value).cast(), &raw mut len)
    };
    if rc == 0 {
        Ok((value.l_onoff, value.l_linger))
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// User plus system CPU time of this process's children that have been waited for
/// (`getrusage(RUSAGE_CHILDREN)`, which rustix does not wrap); zero if the call fails. Taken
/// before and after one child runs, the difference is that child's CPU time (the benchmark's
/// load-independent figure).
pub fn children_cpu_time() -> std::time::Duration {
    // SAFETY: `rusage` is plain integers (two `timeval`s and `long`s): all zeros is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `ru` is a live, writable `rusage` for the duration of the call.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut ru) } != 0 {
        return std::time::Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        std::time::Duration::from_secs(t.tv_sec.max(0) as u64)
            + std::time::Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// `tcpi_state` of `getsockopt(fd, IPPROTO_TCP, TCP_INFO)`: the socket's TCP state (2 is
/// SYN_SENT), which rustix does not wrap. Reading it changes nothing (unlike `SO_ERROR`).
pub fn tcp_state(fd: rustix::fd::BorrowedFd<'_>) -> Option<u8> {
    use rustix::fd::AsRawFd;
    let mut info = [0u8; 256]; // struct tcp_info is 232 bytes on 6.18; tcpi_state is its first byte
    let mut len = info.len() as libc::socklen_t;
    // SAFETY: `fd` is a live descriptor; the buffer is writable for `len` bytes and `len`
    // points at its size, which the kernel lowers to what it wrote.
    let rc = unsafe {
        libc::getsockopt(fd.as_raw_fd(), libc::IPPROTO_TCP, libc::TCP_INFO, info.as_mut_ptr().cast(), &raw mut len)
    };
    (rc == 0 && len >= 1).then_some(info[0])
}

/// What `wait4` says of a child that ended: its exit code (`None`: killed by a signal), its
/// peak resident set size and its CPU time (user + system).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChildUsage {
    pub code: Option<i32>,
    /// `ru_maxrss`, in bytes (the kernel reports KiB).
    pub max_rss: u64,
    pub cpu: std::time::Duration,
}

/// Wait for the child `pid` with `wait4`, which rustix does not wrap, and return its own
/// resource usage (the benchmarks' peak memory of `crit` and of `restore check`). The caller
/// must not wait for the child otherwise (`std::process::Child::wait` would find it gone).
pub fn wait_usage(pid: u32) -> std::io::Result<ChildUsage> {
    let pid = libc::pid_t::try_from(pid).map_err(|_| std::io::Error::from(std::io::ErrorKind::InvalidInput))?;
    let mut status: libc::c_int = 0;
    // SAFETY: `rusage` is plain integers (two `timeval`s and `long`s): all zeros is a valid value.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: `status` and `ru` are live and writable for the duration of the call.
        let r = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut ru) };
        if r == pid {
            break;
        }
        let e = std::io::Error::last_os_error();
        if e.kind() != std::io::ErrorKind::Interrupted {
            return Err(e);
        }
    }
    let tv = |t: libc::timeval| {
        std::time::Duration::from_secs(t.tv_sec.max(0) as u64)
            + std::time::Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
    Ok(ChildUsage { code, max_rss: (ru.ru_maxrss.max(0) as u64) * 1024, cpu: tv(ru.ru_utime) + tv(ru.ru_stime) })
}

/// A global allocator that counts the bytes it holds and their peak, over the system
/// allocator: the benchmarks' heap measurement (`#[global_allocator]` in a benchmark binary;
/// the library and the shipped binaries do not use it). A `realloc` counts as its change in
/// size (large blocks are moved by `mremap`, not copied, by glibc).
#[derive(Debug, Default)]
pub struct CountingAlloc;

static HEAP_LIVE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static HEAP_PEAK: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

fn heap_grow(n: usize) {
    use std::sync::atomic::Ordering::Relaxed;
    let live = HEAP_LIVE.fetch_add(n, Relaxed) + n;
    HEAP_PEAK.fetch_max(live, Relaxed);
}

fn heap_shrink(n: usize) {
    HEAP_LIVE.fetch_sub(n, std::sync::atomic::Ordering::Relaxed);
}

impl CountingAlloc {
    /// Bytes allocated now, through this allocator.
    pub fn live() -> usize {
        HEAP_LIVE.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// The most bytes allocated at once since the last [`CountingAlloc::reset_peak`].
    pub fn peak() -> usize {
        HEAP_PEAK.load(std::sync::atomic::Ordering::Relaxed)
    }
    /// Start a new peak from what is allocated now.
    pub fn reset_peak() {
        HEAP_PEAK.store(Self::live(), std::sync::atomic::Ordering::Relaxed);
    }
}

// SAFETY: every call is forwarded to `System` with the caller's layout and pointer unchanged;
// the counters are only bookkeeping.
unsafe impl std::alloc::GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: the caller's contract for `alloc` is `System.alloc`'s.
        let p = unsafe { std::alloc::System.alloc(layout) };
        if !p.is_null() {
            heap_grow(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: std::alloc::Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let p = unsafe { std::alloc::System.alloc_zeroed(layout) };
        if !p.is_null() {
            heap_grow(layout.size());
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: std::alloc::Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every allocation goes there).
        unsafe { std::alloc::System.dealloc(ptr, layout) };
        heap_shrink(layout.size());
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: std::alloc::Layout, new_size: usize) -> *mut u8 {
        // SAFETY: as for `dealloc`; the caller's contract for `realloc` is `System.realloc`'s.
        let p = unsafe { std::alloc::System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                heap_grow(new_size - layout.size());
            } else {
                heap_shrink(layout.size() - new_size);
            }
        }
        p
    }
}

/// `SIOCUNIXFILE` (`SIOCPROTOPRIVATE + 0`, Linux ≥ 6.1 with CAP_NET_ADMIN in the socket's
/// network namespace): an `O_PATH` descriptor of the file an AF_UNIX socket is bound to, found
/// through the socket itself (`unix_sk(sk)->path`), not through any name. `ENOENT` for an
/// unbound or abstract socket.
pub fn unix_socket_file(fd: rustix::fd::BorrowedFd<'_>) -> std::io::Result<rustix::fd::OwnedFd> {
    use rustix::fd::{AsRawFd, FromRawFd};
    const SIOCUNIXFILE: libc::c_ulong = 0x89E0;
    // SAFETY: `fd` is a live descriptor (borrowed for the call); this ioctl takes no argument
    // and, on success, returns a new descriptor that nothing else owns.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCUNIXFILE) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `rc` is the fresh descriptor the kernel just installed for this call; it is
    // owned by the returned `OwnedFd` alone.
    Ok(unsafe { rustix::fd::OwnedFd::from_raw_fd(rc) })
}

/// `SIOCATMARK`: whether the next byte a read would return is at the out-of-band mark (AF_UNIX
/// stream, Linux ≥ 5.15: the head skb is the `oob_skb`, or a consumed one just before it;
/// TCP: the urgent byte is next).
pub fn at_mark(fd: rustix::fd::BorrowedFd<'_>) -> std::io::Result<bool> {
    use rustix::fd::AsRawFd;
    // include/uapi/linux/sockios.h (asm-generic/sockios.h): SIOCATMARK 0x8905.
    const SIOCATMARK: libc::c_ulong = 0x8905;
    let mut answer: libc::c_int = 0;
    // SAFETY: `fd` is a live descriptor (borrowed for the call); SIOCATMARK writes one int to
    // the pointer, which points at `answer`, alive for the call.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), SIOCATMARK, &mut answer as *mut libc::c_int) };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(answer != 0)
}

/// One `getsockopt(fd, SOL_SOCKET, name)` of a batch ([`Ring::getsockopts`]): the option, the
/// size of its value (at most 16 bytes), and, once the batch ran, the kernel's answer: the
/// value's length (`res >= 0`, the value in `val`) or `-errno`.
#[derive(Debug, Clone, Copy)]
pub struct SolSocketGet<'fd> {
    pub fd: rustix::fd::BorrowedFd<'fd>,
    pub name: libc::c_int,
    pub len: u32,
    pub val: [u8; 16],
    pub res: i32,
}

impl<'fd> SolSocketGet<'fd> {
    /// The request for `name` on `fd`, with a value of `len` bytes (clamped to 16).
    pub fn new(fd: rustix::fd::BorrowedFd<'fd>, name: libc::c_int, len: u32) -> Self {
        SolSocketGet { fd, name, len: len.min(16), val: [0; 16], res: 0 }
    }
}

/// An io_uring used for batches of `SOL_SOCKET` `getsockopt`s (`IORING_OP_URING_CMD` with
/// `SOCKET_URING_OP_GETSOCKOPT`, Linux 6.7+): one `io_uring_enter` for up to [`Ring::capacity`]
/// options instead of one `getsockopt` each. The values are written into buffers the ring owns
/// and copied out once every request of a chunk has completed, so no caller memory is ever
/// handed to the kernel.
pub struct Ring {
    ring: io_uring::IoUring,
    /// One value buffer per submission slot (stable: boxed, never resized).
    bufs: Box<[[u8; 16]]>,
    /// Requests may still be in flight (an `io_uring_enter` failed): the buffers are leaked on
    /// drop instead of freed, and the ring takes no more work.
    poisoned: bool,
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").field("capacity", &self.bufs.len()).field("poisoned", &self.poisoned).finish()
    }
}

impl Ring {
    /// A ring of `entries` slots, checked to answer a `SOL_SOCKET` getsockopt (`SO_TYPE` of a
    /// socket of our own). An error when io_uring is unavailable (`kernel.io_uring_disabled`,
    /// seccomp, an older kernel): the caller falls back to `getsockopt(2)`.
    pub fn new(entries: u32) -> std::io::Result<Ring> {
        let ring = io_uring::IoUring::new(entries.max(1))?;
        let slots = ring.params().sq_entries() as usize;
        let mut r = Ring { ring, bufs: vec![[0u8; 16]; slots].into_boxed_slice(), poisoned: false };
        let probe = rustix::net::socket(rustix::net::AddressFamily::UNIX, rustix::net::SocketType::DGRAM, None)?;
        let mut req = [SolSocketGet::new(rustix::fd::AsFd::as_fd(&probe), libc::SO_TYPE, 4)];
        r.getsockopts(&mut req)?;
        let ty = i32::from_ne_bytes([req[0].val[0], req[0].val[1], req[0].val[2], req[0].val[3]]);
        if req[0].res != 4 || ty != libc::SOCK_DGRAM {
            let e = if req[0].res < 0 { -req[0].res } else { libc::EOPNOTSUPP };
            return Err(std::io::Error::from_raw_os_error(e));
        }
        Ok(r)
    }

    /// How many requests go into one `io_uring_enter`.
    pub fn capacity(&self) -> usize {
        self.bufs.len()
    }

    /// Run every request of `reqs`, filling in `val` and `res`. An error only when the ring
    /// itself fails (then it takes no more work); a failing option is its own `res`.
    pub fn getsockopts(&mut self, reqs: &mut [SolSocketGet<'_>]) -> std::io::Result<()> {
        use rustix::fd::AsRawFd;
        if self.poisoned {
            return Err(std::io::Error::other("io_uring: an earlier batch failed"));
        }
        let cap = self.bufs.len();
        for chunk in reqs.chunks_mut(cap) {
            {
                let mut sq = self.ring.submission();
                for (i, r) in chunk.iter().enumerate() {
                    let val = self.bufs[i].as_mut_ptr().cast::<libc::c_void>();
                    let e = io_uring::opcode::GetSockOpt::new(
                        io_uring::types::Fd(r.fd.as_raw_fd()),
                        libc::SOL_SOCKET as u32,
                        r.name as u32,
                        val,
                        r.len,
                    )
                    .build()
                    .user_data(i as u64);
                    // SAFETY: the value buffer is `self.bufs[i]`, owned by the ring and boxed
                    // (its address is stable); it is neither read nor freed until the request's
                    // completion is reaped below, and if that cannot be made sure of, the ring
                    // is poisoned and leaks the buffers on drop. The fd is borrowed for the
                    // whole call (the kernel takes its own reference to the file at submission).
                    // The queue has room: a chunk is at most its size and it is empty here.
                    if unsafe { sq.push(&e) }.is_err() {
                        self.poisoned = true;
                        return Err(std::io::Error::other("io_uring: submission queue full"));
                    }
                }
            }
            let mut left = chunk.len();
            while left > 0 {
                match self.ring.submit_and_wait(left) {
                    Ok(_) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.poisoned = true;
                        return Err(e);
                    }
                }
                for cqe in self.ring.completion() {
                    let Some(r) = usize::try_from(cqe.user_data()).ok().and_then(|i| chunk.get_mut(i)) else {
                        continue;
                    };
                    let i = cqe.user_data() as usize;
                    r.res = cqe.result();
                    r.val = self.bufs[i];
                    left = left.saturating_sub(1);
                }
            }
        }
        Ok(())
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        if self.poisoned {
            // Requests may complete after the ring's fd is closed: their buffers must stay.
            std::mem::forget(std::mem::take(&mut self.bufs));
        }
    }
}
