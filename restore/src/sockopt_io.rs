//! The recorded socket options (`RS_SOCKOPT`, `sim::OptName`) on real sockets: read one, set
//! one. rustix where it wraps the option, `raw.rs` where it does not. `checkpoint dump` reads
//! them, the executor sets them, `restore run --verify` reads them back.

use crate::raw::{self, IntOpt};
use resocket_core::sim::{OptName, SockOpt};
use resocket_core::sockopt::OptKind;
use rustix::fd::{AsFd, BorrowedFd};
use rustix::net::sockopt as so;
use std::time::Duration;

fn us(d: Option<Duration>) -> i64 {
    d.map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

fn io(e: rustix::io::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.raw_os_error())
}

/// `getsockopt` of a recorded option.
pub fn get(fd: BorrowedFd<'_>, name: OptName) -> std::io::Result<SockOpt> {
    Ok(match name {
        OptName::PeekOff => SockOpt::PeekOff(raw::peek_off(fd)?),
        OptName::KeepAlive => SockOpt::KeepAlive(so::socket_keepalive(fd).map_err(io)?),
        OptName::Linger => {
            let (on, secs) = raw::linger(fd)?;
            SockOpt::Linger { on: on != 0, secs }
        }
        OptName::RcvTimeo => SockOpt::RcvTimeo(us(so::socket_timeout(fd, so::Timeout::Recv).map_err(io)?)),
        OptName::SndTimeo => SockOpt::SndTimeo(us(so::socket_timeout(fd, so::Timeout::Send).map_err(io)?)),
        OptName::Priority => SockOpt::Priority(raw::int_opt(fd, IntOpt::Priority)?),
        OptName::Mark => SockOpt::Mark(raw::int_opt(fd, IntOpt::Mark)? as u32),
        OptName::RcvLowat => SockOpt::RcvLowat(raw::int_opt(fd, IntOpt::RcvLowat)?),
        OptName::PassSec => SockOpt::PassSec(raw::int_opt(fd, IntOpt::PassSec)? != 0),
        OptName::Broadcast => SockOpt::Broadcast(so::socket_broadcast(fd).map_err(io)?),
        OptName::OobInline => SockOpt::OobInline(so::socket_oobinline(fd).map_err(io)?),
        OptName::TcpNoDelay => SockOpt::TcpNoDelay(so::tcp_nodelay(fd).map_err(io)?),
        OptName::TcpCork => SockOpt::TcpCork(so::tcp_cork(fd).map_err(io)?),
        OptName::TcpKeepIdle => {
            SockOpt::TcpKeepIdle(i32::try_from(so::tcp_keepidle(fd).map_err(io)?.as_secs()).unwrap_or(i32::MAX))
        }
        OptName::TcpKeepIntvl => {
            SockOpt::TcpKeepIntvl(i32::try_from(so::tcp_keepintvl(fd).map_err(io)?.as_secs()).unwrap_or(i32::MAX))
        }
        OptName::TcpKeepCnt => SockOpt::TcpKeepCnt(so::tcp_keepcnt(fd).map_err(io)? as i32),
        OptName::TcpUserTimeout => SockOpt::TcpUserTimeout(so::tcp_user_timeout(fd).map_err(io)?),
    })
}

/// Every option a socket of this kind takes, as it has it now (bit order). The first option
/// that cannot be read stops it, named.
pub fn read_all(fd: impl AsFd, kind: OptKind) -> Result<Vec<SockOpt>, String> {
    kind.names().map(|n| get(fd.as_fd(), n).map_err(|e| format!("getsockopt({}): {e}", n.c_name()))).collect()
}

/// `setsockopt` of a recorded option (`None`: not one of them).
pub fn set(fd: BorrowedFd<'_>, opt: SockOpt) -> Option<std::io::Result<()>> {
    let d = |us: i64| (us > 0).then(|| Duration::from_micros(us as u64));
    let secs = |s: i32| Duration::from_secs(u64::from(s.max(0) as u32));
    Some(match opt {
        SockOpt::PeekOff(v) => raw::set_peek_off(fd, v),
        SockOpt::KeepAlive(on) => so::set_socket_keepalive(fd, on).map_err(io),
        SockOpt::Linger { on: true, secs: s } => so::set_socket_linger(fd, Some(secs(s))).map_err(io),
        // l_onoff 0: the kernel keeps sk_lingertime (the plan set the time first).
        SockOpt::Linger { on: false, .. } => so::set_socket_linger(fd, None).map_err(io),
        SockOpt::RcvTimeo(v) => so::set_socket_timeout(fd, so::Timeout::Recv, d(v)).map_err(io),
        SockOpt::SndTimeo(v) => so::set_socket_timeout(fd, so::Timeout::Send, d(v)).map_err(io),
        SockOpt::Priority(v) => raw::set_int_opt(fd, IntOpt::Priority, v),
        SockOpt::Mark(v) => raw::set_int_opt(fd, IntOpt::Mark, v as i32),
        SockOpt::RcvLowat(v) => raw::set_int_opt(fd, IntOpt::RcvLowat, v),
        SockOpt::PassSec(on) => raw::set_int_opt(fd, IntOpt::PassSec, i32::from(on)),
        SockOpt::Broadcast(on) => so::set_socket_broadcast(fd, on).map_err(io),
        SockOpt::OobInline(on) => so::set_socket_oobinline(fd, on).map_err(io),
        SockOpt::TcpNoDelay(on) => so::set_tcp_nodelay(fd, on).map_err(io),
        SockOpt::TcpCork(on) => so::set_tcp_cork(fd, on).map_err(io),
        SockOpt::TcpKeepIdle(v) => so::set_tcp_keepidle(fd, secs(v)).map_err(io),
        SockOpt::TcpKeepIntvl(v) => so::set_tcp_keepintvl(fd, secs(v)).map_err(io),
        SockOpt::TcpKeepCnt(v) => so::set_tcp_keepcnt(fd, v.max(0) as u32).map_err(io),
        SockOpt::TcpUserTimeout(v) => so::set_tcp_user_timeout(fd, v).map_err(io),
        _ => return None,
    })
}

/// The `SOL_SOCKET` name and value size of a recorded option, for a batched read (`None`: not
/// a `SOL_SOCKET` option; io_uring's getsockopt takes no other level).
fn sol_socket(name: OptName) -> Option<(libc::c_int, u32)> {
    let int = std::mem::size_of::<libc::c_int>() as u32;
    Some(match name {
        OptName::PeekOff => (libc::SO_PEEK_OFF, int),
        OptName::KeepAlive => (libc::SO_KEEPALIVE, int),
        OptName::Linger => (libc::SO_LINGER, std::mem::size_of::<libc::linger>() as u32),
        OptName::RcvTimeo => (libc::SO_RCVTIMEO, std::mem::size_of::<libc::timeval>() as u32),
        OptName::SndTimeo => (libc::SO_SNDTIMEO, std::mem::size_of::<libc::timeval>() as u32),
        OptName::Priority => (libc::SO_PRIORITY, int),
        OptName::Mark => (libc::SO_MARK, int),
        OptName::RcvLowat => (libc::SO_RCVLOWAT, int),
        OptName::PassSec => (libc::SO_PASSSEC, int),
        OptName::Broadcast => (libc::SO_BROADCAST, int),
        OptName::OobInline => (libc::SO_OOBINLINE, int),
        _ => return None,
    })
}

/// A recorded option from the value bytes of a `SOL_SOCKET` getsockopt ([`sol_socket`]'s
/// layout), as [`get`] decodes the same option.
fn decode(name: OptName, v: &[u8; 16]) -> Option<SockOpt> {
    let int = |at: usize| i32::from_ne_bytes([v[at], v[at + 1], v[at + 2], v[at + 3]]);
    let long = |at: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&v[at..at + 8]);
        i64::from_ne_bytes(b)
    };
    // `struct timeval`: two `long`s (64-bit) or two `int`s (32-bit).
    let timeval = || {
        let (sec, usec) = if std::mem::size_of::<libc::timeval>() == 16 {
            (long(0), long(8))
        } else {
            (int(0).into(), int(4).into())
        };
        if sec == 0 && usec == 0 {
            return None;
        }
        Some(Duration::from_secs(sec as u64) + Duration::from_micros(usec as u64))
    };
    Some(match name {
        OptName::PeekOff => SockOpt::PeekOff(int(0)),
        OptName::KeepAlive => SockOpt::KeepAlive(int(0) != 0),
        OptName::Linger => SockOpt::Linger { on: int(0) != 0, secs: int(4) },
        OptName::RcvTimeo => SockOpt::RcvTimeo(us(timeval())),
        OptName::SndTimeo => SockOpt::SndTimeo(us(timeval())),
        OptName::Priority => SockOpt::Priority(int(0)),
        OptName::Mark => SockOpt::Mark(int(0) as u32),
        OptName::RcvLowat => SockOpt::RcvLowat(int(0)),
        OptName::PassSec => SockOpt::PassSec(int(0) != 0),
        OptName::Broadcast => SockOpt::Broadcast(int(0) != 0),
        OptName::OobInline => SockOpt::OobInline(int(0) != 0),
        _ => return None,
    })
}

/// What [`Reader::read`] gives for one socket: `SO_PASSCRED` (false when it cannot be read)
/// and [`read_all`]'s answer.
pub type Read = (bool, Result<Vec<SockOpt>, String>);

/// Reads `SO_PASSCRED` and the recorded options of many sockets. Through io_uring where the
/// kernel offers `SOL_SOCKET` getsockopt there (Linux 6.7+, io_uring not disabled): every
/// `SOL_SOCKET` option of a batch of sockets in one `io_uring_enter`. Otherwise, and for the
/// options of other levels (`IPPROTO_TCP`), one `getsockopt(2)` each, as [`read_all`]. Both
/// give the same values and the same first error.
#[derive(Debug)]
pub struct Reader {
    ring: Option<raw::Ring>,
}

impl Default for Reader {
    fn default() -> Self {
        Self::new()
    }
}

impl Reader {
    /// io_uring when available, else `getsockopt(2)`.
    pub fn new() -> Reader {
        Reader { ring: raw::Ring::new(2048).ok() }
    }

    /// `getsockopt(2)` only.
    pub fn plain() -> Reader {
        Reader { ring: None }
    }

    /// Whether the options go through io_uring.
    pub fn batched(&self) -> bool {
        self.ring.is_some()
    }

    /// How many sockets are worth handing to one [`Reader::read`] (one ring's worth of
    /// options).
    pub fn batch_sockets(&self, kind: OptKind) -> usize {
        let per = kind.names().filter(|&n| sol_socket(n).is_some()).count() + 1;
        self.ring.as_ref().map_or(1, |r| (r.capacity() / per).max(1))
    }

    /// `SO_PASSCRED` and every option of `kind` of each socket, in order.
    pub fn read(&mut self, fds: &[BorrowedFd<'_>], kind: OptKind) -> Vec<Read> {
        let plain = |fd: BorrowedFd<'_>| (so::socket_passcred(fd).unwrap_or(false), read_all(fd, kind));
        let Some(ring) = self.ring.as_mut() else { return fds.iter().map(|&fd| plain(fd)).collect() };
        let names: Vec<OptName> = kind.names().collect();
        let mut reqs = Vec::with_capacity(fds.len() * (names.len() + 1));
        for &fd in fds {
            reqs.push(raw::SolSocketGet::new(fd, libc::SO_PASSCRED, std::mem::size_of::<libc::c_int>() as u32));
            for (so_name, len) in names.iter().filter_map(|&n| sol_socket(n)) {
                reqs.push(raw::SolSocketGet::new(fd, so_name, len));
            }
        }
        if ring.getsockopts(&mut reqs).is_err() {
            // The ring failed as a whole: from here on, getsockopt(2).
            self.ring = None;
            return fds.iter().map(|&fd| plain(fd)).collect();
        }
        let per = 1 + names.iter().filter(|&&n| sol_socket(n).is_some()).count();
        fds.iter()
            .zip(reqs.chunks(per))
            .map(|(&fd, answers)| {
                let passcred = match answers.first() {
                    Some(r) if r.res == -libc::EOPNOTSUPP => so::socket_passcred(fd).unwrap_or(false),
                    Some(r) => r.res >= 0 && r.val[..4] != [0; 4],
                    None => false,
                };
                let mut sol = answers.iter().skip(1);
                let mut opts = Vec::with_capacity(names.len());
                for &n in &names {
                    let got = match sol_socket(n) {
                        Some(_) => match sol.next() {
                            Some(r) if r.res >= 0 => decode(n, &r.val).ok_or(std::io::ErrorKind::InvalidData.into()),
                            // A file without io_uring socket commands (not a socket, or a
                            // protocol without them): getsockopt(2) says what it is.
                            Some(r) if r.res == -libc::EOPNOTSUPP => get(fd, n),
                            Some(r) => Err(std::io::Error::from_raw_os_error(-r.res)),
                            None => Err(std::io::ErrorKind::UnexpectedEof.into()),
                        },
                        None => get(fd, n),
                    };
                    match got {
                        Ok(o) => opts.push(o),
                        // The first option that cannot be read stops it, as in read_all.
                        Err(e) => return (passcred, Err(format!("getsockopt({}): {e}", n.c_name()))),
                    }
                }
                (passcred, Ok(opts))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustix::fd::{AsFd, OwnedFd};
    use rustix::net::{self, AddressFamily, SocketType};

    /// Whether this kernel offers io_uring's SOL_SOCKET getsockopt (Linux 6.7+, io_uring not
    /// disabled by `kernel.io_uring_disabled`).
    fn uring_getsockopt_expected() -> bool {
        let enabled = std::fs::read_to_string("/proc/sys/kernel/io_uring_disabled").is_ok_and(|s| s.trim() == "0");
        let release = rustix::system::uname().release().to_string_lossy().into_owned();
        let mut v = release.split(|c: char| !c.is_ascii_digit()).filter_map(|p| p.parse::<u32>().ok());
        let (major, minor) = (v.next().unwrap_or(0), v.next().unwrap_or(0));
        enabled && (major, minor) >= (6, 7)
    }

    /// Sockets of every kind with every option they take set away from its default (and some
    /// left at it), SO_PASSCRED on some: the batched reader (io_uring), the plain one and
    /// `read_all` give the same values, and the same error for an fd that is not a socket.
    #[test]
    fn batched_and_plain_option_reads_agree() {
        let unix = |ty| net::socket(AddressFamily::UNIX, ty, None).unwrap();
        let mut socks: Vec<(OwnedFd, OptKind)> = Vec::new();
        for (i, ty) in [SocketType::STREAM, SocketType::DGRAM, SocketType::SEQPACKET].into_iter().enumerate() {
            let plain = unix(ty);
            let tuned = unix(ty);
            let i = i as i32;
            for o in [
                SockOpt::PeekOff(5 + i),
                SockOpt::KeepAlive(true),
                SockOpt::Linger { on: true, secs: 7 + i },
                SockOpt::RcvTimeo(1_500_000 + i64::from(i)),
                SockOpt::SndTimeo(2_250_000),
                SockOpt::Priority(3 + i),
                SockOpt::Mark(42 + i as u32),
                SockOpt::RcvLowat(9 + i),
                SockOpt::PassSec(true),
                SockOpt::Broadcast(true),
                SockOpt::OobInline(true),
            ] {
                set(tuned.as_fd(), o).unwrap().unwrap();
            }
            so::set_socket_passcred(&tuned, true).unwrap();
            // Lingering off with a time kept (l_linger read while l_onoff is 0).
            let off = unix(ty);
            set(off.as_fd(), SockOpt::Linger { on: true, secs: 11 }).unwrap().unwrap();
            set(off.as_fd(), SockOpt::Linger { on: false, secs: 11 }).unwrap().unwrap();
            socks.extend([(plain, OptKind::Unix), (tuned, OptKind::Unix), (off, OptKind::Unix)]);
        }
        // TCP: SOL_SOCKET options batched, IPPROTO_TCP ones read one by one between them.
        let tcp = net::socket(AddressFamily::INET, SocketType::STREAM, None).unwrap();
        so::set_tcp_nodelay(&tcp, true).unwrap();
        set(tcp.as_fd(), SockOpt::Priority(4)).unwrap().unwrap();
        socks.push((tcp, OptKind::Tcp));
        let udp = net::socket(AddressFamily::INET6, SocketType::DGRAM, None).unwrap();
        set(udp.as_fd(), SockOpt::Broadcast(true)).unwrap().unwrap();
        socks.push((udp, OptKind::Udp));

        let mut batched = Reader::new();
        if uring_getsockopt_expected() {
            assert!(batched.batched(), "io_uring getsockopt is available on this kernel and must be used");
        }
        let mut plain = Reader::plain();
        for (fd, kind) in &socks {
            let want = read_all(fd, *kind);
            assert!(want.is_ok(), "{want:?}");
            let want = (so::socket_passcred(fd).unwrap_or(false), want);
            assert_eq!(batched.read(&[fd.as_fd()], *kind), vec![want.clone()]);
            assert_eq!(plain.read(&[fd.as_fd()], *kind), vec![want]);
        }
        // All at once (one ring submission), in order; and the values set are the ones read.
        let unix_fds: Vec<_> = socks.iter().filter(|s| s.1 == OptKind::Unix).map(|s| s.0.as_fd()).collect();
        let all = batched.read(&unix_fds, OptKind::Unix);
        assert_eq!(all, plain.read(&unix_fds, OptKind::Unix));
        assert!(all[1].0 && !all[0].0, "SO_PASSCRED as set");
        let got = all[1].1.as_ref().unwrap();
        for o in [
            SockOpt::PeekOff(5),
            SockOpt::Linger { on: true, secs: 7 },
            SockOpt::RcvTimeo(1_500_000),
            SockOpt::Mark(42),
        ] {
            assert!(got.contains(&o), "{o:?} in {got:?}");
        }
        assert!(all[2].1.as_ref().unwrap().contains(&SockOpt::Linger { on: false, secs: 11 }));
        // Not a socket: the same first error from both.
        let (p, _q) = std::io::pipe().unwrap();
        let p = OwnedFd::from(p);
        let e = batched.read(&[p.as_fd()], OptKind::Unix);
        assert_eq!(e, plain.read(&[p.as_fd()], OptKind::Unix));
        assert_eq!(
            e[0].1,
            Err(format!("getsockopt(SO_PEEK_OFF): {}", std::io::Error::from_raw_os_error(libc::ENOTSOCK)))
        );
    }
}
