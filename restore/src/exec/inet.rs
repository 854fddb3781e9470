//! The executor's INET side: binds, connects and sends with an AF_INET/AF_INET6 address, and
//! TCP connects, whose blocking semantics are emulated on a non-blocking socket.
//!
//! A TCP connect on loopback answers `EINPROGRESS` and completes before the call returns (the
//! SYN, SYN-ACK and ACK are processed when the kernel re-enables softirqs), so the executor
//! waits for the socket to leave SYN_SENT — at most [`HANDSHAKE_GRACE_MS`], and no longer once
//! the namespace's `ListenDrops` counter shows the SYN was dropped — then:
//! * established: a blocking plan calls `connect()` again, which answers 0 and marks the socket
//!   connected (as a blocking connect would have); a non-blocking plan gets `EINPROGRESS`;
//! * refused (an RST: no listener): a blocking plan calls `connect()` again, which reports the
//!   error (`ECONNREFUSED`) and resets the socket as a blocking connect does; a non-blocking
//!   plan gets `EINPROGRESS` with the error pending;
//! * still `SYN_SENT`: the listener's accept queue was full and the SYN was dropped; the kernel
//!   would retry on a timer, so the attempt is withdrawn (`connect(AF_UNSPEC)`, and the
//!   `ECONNRESET` that leaves is read away) and reported as *would block* — what the simulator
//!   reports for a full backlog (`Block::BacklogFull`).

use super::{errno, would_block, Executor};
use resocket_core::sim::{Errno, Op, Outcome, Payload, Slot, SockAddr};
use rustix::fd::BorrowedFd;
use rustix::net::{self, AddressFamily, SocketType};
use std::net::SocketAddr;

/// How long a loopback handshake may take before the SYN counts as dropped, when the kernel's
/// `ListenDrops` counter does not say so sooner (it normally takes no time at all: this only
/// covers softirqs deferred to ksoftirqd on a loaded machine).
pub const HANDSHAKE_GRACE_MS: i32 = 1000;

pub(super) fn is_tcp(fd: BorrowedFd<'_>) -> bool {
    let inet =
        matches!(net::sockopt::socket_domain(fd), Ok(d) if d == AddressFamily::INET || d == AddressFamily::INET6);
    inet && matches!(net::sockopt::socket_type(fd), Ok(t) if t == SocketType::STREAM)
}

/// `TcpExt: ListenDrops` of this thread's network namespace (`/proc/thread-self/net/netstat`):
/// SYNs a listener dropped, for a full accept queue among others. `None` if unreadable.
pub fn listen_drops() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/net/netstat").ok()?;
    let mut lines = text.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let at = names.split_whitespace().position(|n| n == "ListenDrops")?;
    values.split_whitespace().nth(at)?.parse().ok()
}

/// Wait (bounded) until a connecting socket leaves SYN_SENT; false if it does not, or if a
/// listener dropped a SYN meanwhile (`drops_before` is [`listen_drops`] before the connect) and
/// the socket is still waiting. (Poll alone cannot tell: shutdown bits kept from before the
/// connect make it report POLLHUP at once.) A drop by another listener of the namespace at the
/// same moment can make a slow handshake count as dropped; without the counter the full grace
/// is waited.
fn settled(fd: BorrowedFd<'_>, drops_before: Option<u64>) -> bool {
    const SYN_SENT: u8 = 2;
    for _ in 0..HANDSHAKE_GRACE_MS {
        if crate::raw::tcp_state(fd) != Some(SYN_SENT) {
            return true;
        }
        if drops_before.is_some() && listen_drops() > drops_before {
            return crate::raw::tcp_state(fd) != Some(SYN_SENT);
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    false
}

impl Executor {
    /// The INET cases of an operation; `None` for everything else.
    pub(super) fn inet_op(&mut self, op: &Op) -> Option<Result<Outcome, Outcome>> {
        match op {
            Op::Bind { slot, addr: SockAddr::Inet(a) } => Some(self.inet_bind(*slot, *a)),
            Op::Connect { slot, addr } => {
                let tcp = match self.get(slot) {
                    Ok((fd, _)) => self.is_tcp(*slot, fd),
                    Err(e) => return Some(Err(e)),
                };
                match addr {
                    _ if tcp => Some(self.tcp_connect(*slot, addr)),
                    SockAddr::Inet(a) => Some(self.plain_connect(*slot, *a)),
                    _ => None,
                }
            }
            Op::Send { slot, to: Some(SockAddr::Inet(a)), data, rights } => Some(self.send_to(*slot, *a, data, rights)),
            _ => None,
        }
    }

    fn inet_bind(&mut self, slot: Slot, a: SocketAddr) -> Result<Outcome, Outcome> {
        let (fd, _) = self.get(&slot)?;
        net::bind(fd, &a).map_err(errno)?;
        Ok(Outcome::ok(0))
    }

    fn plain_connect(&mut self, slot: Slot, a: SocketAddr) -> Result<Outcome, Outcome> {
        let (fd, _) = self.get(&slot)?;
        net::connect(fd, &a).map_err(errno)?;
        Ok(Outcome::ok(0))
    }

    fn tcp_connect(&mut self, slot: Slot, addr: &SockAddr) -> Result<Outcome, Outcome> {
        // A TCP socket refuses an AF_UNIX address by its family alone: a path is passed as it
        // is (never resolved: the kernel looks nothing up for it).
        let unix = match addr {
            SockAddr::Inet(_) | SockAddr::Unspec => None,
            SockAddr::Path(p) => Some(Some(rustix::net::SocketAddrUnix::new(&p[..]).map_err(errno)?)),
            other => Some(self.addr(other)?.0),
        };
        let (fd, blocking) = self.get(&slot)?;
        let call = |fd: BorrowedFd<'_>| match (addr, &unix) {
            (SockAddr::Inet(a), _) => net::connect(fd, a),
            (_, Some(Some(u))) => net::connect(fd, u),
            _ => net::connect_unspec(fd),
        };
        let drops = listen_drops();
        match call(fd) {
            Ok(()) => Ok(Outcome::ok(0)),
            Err(e) if e == rustix::io::Errno::INPROGRESS => {
                if !settled(fd, drops) {
                    // The SYN was dropped (full accept queue): withdraw the attempt.
                    let _ = net::connect_unspec(fd);
                    let _ = net::sockopt::socket_error(fd);
                    return Ok(would_block());
                }
                if blocking {
                    // What the blocking call would have returned, and the state it leaves.
                    call(fd).map_err(errno)?;
                    Ok(Outcome::ok(0))
                } else {
                    Err(Outcome::err(Errno::EINPROGRESS))
                }
            }
            Err(e) => Err(errno(e)),
        }
    }

    fn send_to(&mut self, slot: Slot, a: SocketAddr, data: &Payload, rights: &[Slot]) -> Result<Outcome, Outcome> {
        self.send_msg(slot, Some(&a), data, rights, rustix::net::SendFlags::empty())
    }
}
