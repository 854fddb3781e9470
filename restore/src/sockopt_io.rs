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
