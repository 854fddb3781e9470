//! The one operation type that both the simulator and the native executor accept, and what an
//! operation returns. Operations are named after the syscalls they stand for; sockets are named
//! by plan-level [`Slot`]s, not by fd numbers (fds are placed at the end by [`Op::Place`]).

use crate::bstr;
use serde::{Deserialize, Serialize};
use std::fmt;

/// A plan-level socket handle (the planner uses the image objref for restored sockets and
/// numbers above every objref for temporaries).
pub type Slot = u32;

/// Linux errno values (x86_64 numbering), the subset AF_UNIX returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(clippy::upper_case_acronyms, reason = "errno names are the kernel's")]
pub enum Errno {
    EPERM,
    ENOENT,
    EINTR,
    EBADF,
    EAGAIN,
    ENOMEM,
    EACCES,
    EBUSY,
    EEXIST,
    ENOTDIR,
    EINVAL,
    ENFILE,
    EMFILE,
    ENOSPC,
    EPIPE,
    ENOTSOCK,
    EMSGSIZE,
    EPROTOTYPE,
    EPROTONOSUPPORT,
    ESOCKTNOSUPPORT,
    EOPNOTSUPP,
    EAFNOSUPPORT,
    EADDRINUSE,
    ECONNRESET,
    EISCONN,
    ENOTCONN,
    ETOOMANYREFS,
    ECONNREFUSED,
    ENOPROTOOPT,
    EDESTADDRREQ,
    EADDRNOTAVAIL,
    ENETUNREACH,
    ECONNABORTED,
    EALREADY,
    EINPROGRESS,
    ENODEV,
}

impl Errno {
    /// Every value.
    pub const ALL: &'static [Errno] = &[
        Errno::EPERM,
        Errno::ENOENT,
        Errno::EINTR,
        Errno::EBADF,
        Errno::EAGAIN,
        Errno::ENOMEM,
        Errno::EACCES,
        Errno::EBUSY,
        Errno::EEXIST,
        Errno::ENOTDIR,
        Errno::EINVAL,
        Errno::ENFILE,
        Errno::EMFILE,
        Errno::ENOSPC,
        Errno::EPIPE,
        Errno::ENOTSOCK,
        Errno::EMSGSIZE,
        Errno::EPROTOTYPE,
        Errno::EPROTONOSUPPORT,
        Errno::ESOCKTNOSUPPORT,
        Errno::EOPNOTSUPP,
        Errno::EAFNOSUPPORT,
        Errno::EADDRINUSE,
        Errno::ECONNRESET,
        Errno::EISCONN,
        Errno::ENOTCONN,
        Errno::ETOOMANYREFS,
        Errno::ECONNREFUSED,
        Errno::ENOPROTOOPT,
        Errno::EDESTADDRREQ,
        Errno::EADDRNOTAVAIL,
        Errno::ENETUNREACH,
        Errno::ECONNABORTED,
        Errno::EALREADY,
        Errno::EINPROGRESS,
        Errno::ENODEV,
    ];

    /// The number Linux uses on x86_64.
    pub fn raw(self) -> i32 {
        match self {
            Errno::EPERM => 1,
            Errno::ENOENT => 2,
            Errno::EINTR => 4,
            Errno::EBADF => 9,
            Errno::EAGAIN => 11,
            Errno::ENOMEM => 12,
            Errno::EACCES => 13,
            Errno::EBUSY => 16,
            Errno::EEXIST => 17,
            Errno::ENOTDIR => 20,
            Errno::EINVAL => 22,
            Errno::ENFILE => 23,
            Errno::EMFILE => 24,
            Errno::ENOSPC => 28,
            Errno::EPIPE => 32,
            Errno::ENOTSOCK => 88,
            Errno::EMSGSIZE => 90,
            Errno::EPROTOTYPE => 91,
            Errno::EPROTONOSUPPORT => 93,
            Errno::ESOCKTNOSUPPORT => 94,
            Errno::EOPNOTSUPP => 95,
            Errno::EAFNOSUPPORT => 97,
            Errno::EADDRINUSE => 98,
            Errno::ECONNRESET => 104,
            Errno::EISCONN => 106,
            Errno::ENOTCONN => 107,
            Errno::ETOOMANYREFS => 109,
            Errno::ECONNREFUSED => 111,
            Errno::ENOPROTOOPT => 92,
            Errno::EDESTADDRREQ => 89,
            Errno::EADDRNOTAVAIL => 99,
            Errno::ENETUNREACH => 101,
            Errno::ECONNABORTED => 103,
            Errno::EALREADY => 114,
            Errno::EINPROGRESS => 115,
            Errno::ENODEV => 19,
        }
    }

    /// From a raw number, if it is one of ours.
    pub fn from_raw(raw: i32) -> Option<Errno> {
        Errno::ALL.iter().copied().find(|e| e.raw() == raw)
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self, f)
    }
}

/// Socket types AF_UNIX knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SockType {
    /// `SOCK_STREAM`.
    #[default]
    Stream,
    /// `SOCK_DGRAM`.
    Dgram,
    /// `SOCK_SEQPACKET`.
    Seqpacket,
}

impl std::fmt::Display for SockType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

impl SockType {
    /// Every type, in number order.
    pub const ALL: [SockType; 3] = [SockType::Stream, SockType::Dgram, SockType::Seqpacket];

    /// The lowercase word the scenario, the tables and the graph use: `stream`, `dgram`,
    /// `seqpacket` (its serde name).
    pub fn word(self) -> &'static str {
        match self {
            SockType::Stream => "stream",
            SockType::Dgram => "dgram",
            SockType::Seqpacket => "seqpacket",
        }
    }

    /// The type a [`word`](SockType::word) names.
    pub fn from_word(w: &str) -> Option<SockType> {
        SockType::ALL.into_iter().find(|t| t.word() == w)
    }

    /// Connection-oriented (`stream`, `seqpacket`): connect() makes a connection, listen() works.
    pub fn connection_oriented(self) -> bool {
        self != SockType::Dgram
    }

    /// The `SOCK_*` number.
    pub fn raw(self) -> u16 {
        match self {
            SockType::Stream => crate::wire::SOCK_STREAM,
            SockType::Dgram => crate::wire::SOCK_DGRAM,
            SockType::Seqpacket => crate::wire::SOCK_SEQPACKET,
        }
    }
    /// From the `SOCK_*` number.
    pub fn from_raw(t: u16) -> Option<SockType> {
        match t {
            crate::wire::SOCK_STREAM => Some(SockType::Stream),
            crate::wire::SOCK_DGRAM => Some(SockType::Dgram),
            crate::wire::SOCK_SEQPACKET => Some(SockType::Seqpacket),
            _ => None,
        }
    }
    /// `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_SEQPACKET`.
    pub fn name(self) -> &'static str {
        match self {
            SockType::Stream => "SOCK_STREAM",
            SockType::Dgram => "SOCK_DGRAM",
            SockType::Seqpacket => "SOCK_SEQPACKET",
        }
    }
    /// Stream or seqpacket.
    pub fn is_connection_oriented(self) -> bool {
        self != SockType::Dgram
    }
}

/// AF_INET or AF_INET6 (for [`Op::SocketInet`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum InetFamily {
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
}

impl InetFamily {
    /// `AF_INET` / `AF_INET6`.
    pub fn name(self) -> &'static str {
        match self {
            InetFamily::Inet => "AF_INET",
            InetFamily::Inet6 => "AF_INET6",
        }
    }
}

/// A `sockaddr_un` (or, for INET sockets, a `sockaddr_in`/`sockaddr_in6`) as passed to
/// bind/connect/sendto.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SockAddr {
    /// A filesystem name, relative to the cwd unless it starts with `/`.
    Path(Vec<u8>),
    /// An abstract name (without the leading NUL).
    Abstract(Vec<u8>),
    /// `addrlen == sizeof(sa_family_t)`: autobind for bind, EINVAL elsewhere.
    Autobind,
    /// `AF_UNSPEC`: dgram disconnect.
    Unspec,
    /// A `sockaddr_in` (an IPv4 address) or `sockaddr_in6` (an IPv6 one, scope and flow 0).
    Inet(std::net::SocketAddr),
}

impl SockAddr {
    /// `/path`, `@abstract`, `(autobind)`, `(unspec)`, `(inet 127.0.0.1:80)`, `(inet [::1]:80)`.
    pub fn display(&self) -> String {
        match self {
            SockAddr::Inet(a) => format!("(inet {a})"),
            SockAddr::Path(p) => bstr::escape(p),
            SockAddr::Abstract(a) => format!("@{}", bstr::escape(a)),
            SockAddr::Autobind => "(autobind)".into(),
            SockAddr::Unspec => "(AF_UNSPEC)".into(),
        }
    }
    /// Parse the display spelling back.
    pub fn parse(s: &str) -> Result<SockAddr, String> {
        match s {
            "(autobind)" => Ok(SockAddr::Autobind),
            "(AF_UNSPEC)" => Ok(SockAddr::Unspec),
            _ if s.starts_with("(inet ") && s.ends_with(')') => {
                s[6..s.len() - 1].parse().map(SockAddr::Inet).map_err(|_| format!("bad INET address {s:?}"))
            }
            _ => {
                let b = bstr::unescape(s).map_err(|e| e.to_string())?;
                match b.split_first() {
                    Some((b'@', rest)) => Ok(SockAddr::Abstract(rest.to_vec())),
                    Some(_) => Ok(SockAddr::Path(b)),
                    None => Err("empty address".into()),
                }
            }
        }
    }
}

impl Serialize for SockAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

impl<'de> Deserialize<'de> for SockAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SockAddr::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `shutdown()`'s `how`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// `SHUT_RD`.
    Rd,
    /// `SHUT_WR`.
    Wr,
    /// `SHUT_RDWR`.
    Rdwr,
}

impl How {
    /// Every value.
    pub const ALL: [How; 3] = [How::Rd, How::Wr, How::Rdwr];

    /// The lowercase word the scenario uses: `rd`, `wr`, `rdwr` (its serde name).
    pub fn word(self) -> &'static str {
        match self {
            How::Rd => "rd",
            How::Wr => "wr",
            How::Rdwr => "rdwr",
        }
    }

    /// The value a [`word`](How::word) names.
    pub fn from_word(w: &str) -> Option<How> {
        How::ALL.into_iter().find(|h| h.word() == w)
    }

    /// `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    pub fn name(self) -> &'static str {
        match self {
            How::Rd => "SHUT_RD",
            How::Wr => "SHUT_WR",
            How::Rdwr => "SHUT_RDWR",
        }
    }
    /// The `sk_shutdown` bits it sets on the caller.
    pub fn bits(self) -> u8 {
        match self {
            How::Rd => 1,
            How::Wr => 2,
            How::Rdwr => 3,
        }
    }
    /// The call that sets exactly these bits.
    pub fn from_bits(bits: u8) -> Option<How> {
        match bits & 3 {
            1 => Some(How::Rd),
            2 => Some(How::Wr),
            3 => Some(How::Rdwr),
            _ => None,
        }
    }
    /// `unix_shutdown()`: the bits a connected AF_UNIX stream/seqpacket peer gets for these
    /// `sk_shutdown` bits of ours (our `RCV_SHUTDOWN` is its `SEND_SHUTDOWN`, and the other way).
    pub fn mirror(bits: u8) -> u8 {
        ((bits & 1) << 1) | ((bits & 2) >> 1)
    }
}

/// Socket options the image carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "name", content = "value")]
pub enum SockOpt {
    /// `SO_SNDBUF` (doubled, clamped to `wmem_max`).
    SndBuf(i32),
    /// `SO_SNDBUFFORCE` (doubled, no clamp; needs CAP_NET_ADMIN).
    SndBufForce(i32),
    /// `SO_RCVBUF`.
    RcvBuf(i32),
    /// `SO_RCVBUFFORCE`.
    RcvBufForce(i32),
    /// `SO_PASSCRED`.
    PassCred(bool),
    /// `SO_PEEK_OFF`.
    PeekOff(i32),
    /// `SO_REUSEADDR` (`sk_reuse`).
    ReuseAddr(bool),
    /// `SO_REUSEPORT`.
    ReusePort(bool),
    /// `IPV6_V6ONLY` (level `IPPROTO_IPV6`).
    V6Only(bool),
    /// `SO_KEEPALIVE`.
    KeepAlive(bool),
    /// `SO_LINGER`: `l_onoff`, and `l_linger` in seconds (kept by the kernel while off: a
    /// `setsockopt` with `l_onoff` 0 leaves `sk_lingertime` as it was).
    Linger { on: bool, secs: i32 },
    /// `SO_RCVTIMEO` in microseconds; 0 means none (wait forever). The kernel keeps jiffies, so
    /// what it reports is rounded up to a jiffy.
    RcvTimeo(i64),
    /// `SO_SNDTIMEO` in microseconds, as `RcvTimeo`.
    SndTimeo(i64),
    /// `SO_PRIORITY` (`sk_priority`; outside 0..=6 it needs CAP_NET_ADMIN or CAP_NET_RAW).
    Priority(i32),
    /// `SO_MARK` (`sk_mark`; needs CAP_NET_ADMIN or CAP_NET_RAW).
    Mark(u32),
    /// `SO_RCVLOWAT`.
    RcvLowat(i32),
    /// `SO_PASSSEC` (AF_UNIX only on Linux ≥ 6.16).
    PassSec(bool),
    /// `SO_BROADCAST`.
    Broadcast(bool),
    /// `SO_OOBINLINE` (`SOCK_URGINLINE`).
    OobInline(bool),
    /// `TCP_NODELAY` (level `IPPROTO_TCP`).
    TcpNoDelay(bool),
    /// `TCP_CORK`.
    TcpCork(bool),
    /// `TCP_KEEPIDLE` in seconds (1..=32767).
    TcpKeepIdle(i32),
    /// `TCP_KEEPINTVL` in seconds (1..=32767).
    TcpKeepIntvl(i32),
    /// `TCP_KEEPCNT` (1..=127).
    TcpKeepCnt(i32),
    /// `TCP_USER_TIMEOUT` in milliseconds.
    TcpUserTimeout(u32),
}

/// The options an image records (`RS_SOCKOPT`), one bit each in its `recorded` mask, in bit
/// order: the name of a [`SockOpt`] without its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OptName {
    /// `SO_PEEK_OFF`.
    PeekOff,
    /// `SO_KEEPALIVE`.
    KeepAlive,
    /// `SO_LINGER`.
    Linger,
    /// `SO_RCVTIMEO`.
    RcvTimeo,
    /// `SO_SNDTIMEO`.
    SndTimeo,
    /// `SO_PRIORITY`.
    Priority,
    /// `SO_MARK`.
    Mark,
    /// `SO_RCVLOWAT`.
    RcvLowat,
    /// `SO_PASSSEC`.
    PassSec,
    /// `SO_BROADCAST`.
    Broadcast,
    /// `SO_OOBINLINE`.
    OobInline,
    /// `TCP_NODELAY`.
    TcpNoDelay,
    /// `TCP_CORK`.
    TcpCork,
    /// `TCP_KEEPIDLE`.
    TcpKeepIdle,
    /// `TCP_KEEPINTVL`.
    TcpKeepIntvl,
    /// `TCP_KEEPCNT`.
    TcpKeepCnt,
    /// `TCP_USER_TIMEOUT`.
    TcpUserTimeout,
}

impl OptName {
    /// Every recorded option, in bit order.
    pub const ALL: [OptName; 17] = [
        OptName::PeekOff,
        OptName::KeepAlive,
        OptName::Linger,
        OptName::RcvTimeo,
        OptName::SndTimeo,
        OptName::Priority,
        OptName::Mark,
        OptName::RcvLowat,
        OptName::PassSec,
        OptName::Broadcast,
        OptName::OobInline,
        OptName::TcpNoDelay,
        OptName::TcpCork,
        OptName::TcpKeepIdle,
        OptName::TcpKeepIntvl,
        OptName::TcpKeepCnt,
        OptName::TcpUserTimeout,
    ];
    /// Its bit in `RS_SOCKOPT.recorded`.
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
    /// The C name (`SO_PEEK_OFF`), for messages.
    pub fn c_name(self) -> &'static str {
        match self {
            OptName::PeekOff => "SO_PEEK_OFF",
            OptName::KeepAlive => "SO_KEEPALIVE",
            OptName::Linger => "SO_LINGER",
            OptName::RcvTimeo => "SO_RCVTIMEO",
            OptName::SndTimeo => "SO_SNDTIMEO",
            OptName::Priority => "SO_PRIORITY",
            OptName::Mark => "SO_MARK",
            OptName::RcvLowat => "SO_RCVLOWAT",
            OptName::PassSec => "SO_PASSSEC",
            OptName::Broadcast => "SO_BROADCAST",
            OptName::OobInline => "SO_OOBINLINE",
            OptName::TcpNoDelay => "TCP_NODELAY",
            OptName::TcpCork => "TCP_CORK",
            OptName::TcpKeepIdle => "TCP_KEEPIDLE",
            OptName::TcpKeepIntvl => "TCP_KEEPINTVL",
            OptName::TcpKeepCnt => "TCP_KEEPCNT",
            OptName::TcpUserTimeout => "TCP_USER_TIMEOUT",
        }
    }
    /// An `IPPROTO_TCP` option (TCP sockets only).
    pub fn is_tcp(self) -> bool {
        matches!(
            self,
            OptName::TcpNoDelay
                | OptName::TcpCork
                | OptName::TcpKeepIdle
                | OptName::TcpKeepIntvl
                | OptName::TcpKeepCnt
                | OptName::TcpUserTimeout
        )
    }
}

impl SockOpt {
    /// The recorded option this sets, if the image records it (`RS_SOCKOPT`); buffers,
    /// `SO_PASSCRED` and the INET address options have fields of their own.
    pub fn recorded(&self) -> Option<OptName> {
        Some(match self {
            SockOpt::PeekOff(_) => OptName::PeekOff,
            SockOpt::KeepAlive(_) => OptName::KeepAlive,
            SockOpt::Linger { .. } => OptName::Linger,
            SockOpt::RcvTimeo(_) => OptName::RcvTimeo,
            SockOpt::SndTimeo(_) => OptName::SndTimeo,
            SockOpt::Priority(_) => OptName::Priority,
            SockOpt::Mark(_) => OptName::Mark,
            SockOpt::RcvLowat(_) => OptName::RcvLowat,
            SockOpt::PassSec(_) => OptName::PassSec,
            SockOpt::Broadcast(_) => OptName::Broadcast,
            SockOpt::OobInline(_) => OptName::OobInline,
            SockOpt::TcpNoDelay(_) => OptName::TcpNoDelay,
            SockOpt::TcpCork(_) => OptName::TcpCork,
            SockOpt::TcpKeepIdle(_) => OptName::TcpKeepIdle,
            SockOpt::TcpKeepIntvl(_) => OptName::TcpKeepIntvl,
            SockOpt::TcpKeepCnt(_) => OptName::TcpKeepCnt,
            SockOpt::TcpUserTimeout(_) => OptName::TcpUserTimeout,
            SockOpt::SndBuf(_)
            | SockOpt::SndBufForce(_)
            | SockOpt::RcvBuf(_)
            | SockOpt::RcvBufForce(_)
            | SockOpt::PassCred(_)
            | SockOpt::ReuseAddr(_)
            | SockOpt::ReusePort(_)
            | SockOpt::V6Only(_) => return None,
        })
    }
    /// The value a fresh socket has (`sock_init_data`, `tcp_init_sock`; TCP keepalive times
    /// from the `net.ipv4.tcp_keepalive_*` defaults), for a recorded option.
    pub fn default_of(name: OptName) -> SockOpt {
        match name {
            OptName::PeekOff => SockOpt::PeekOff(-1),
            OptName::KeepAlive => SockOpt::KeepAlive(false),
            OptName::Linger => SockOpt::Linger { on: false, secs: 0 },
            OptName::RcvTimeo => SockOpt::RcvTimeo(0),
            OptName::SndTimeo => SockOpt::SndTimeo(0),
            OptName::Priority => SockOpt::Priority(0),
            OptName::Mark => SockOpt::Mark(0),
            OptName::RcvLowat => SockOpt::RcvLowat(1),
            OptName::PassSec => SockOpt::PassSec(false),
            OptName::Broadcast => SockOpt::Broadcast(false),
            OptName::OobInline => SockOpt::OobInline(false),
            OptName::TcpNoDelay => SockOpt::TcpNoDelay(false),
            OptName::TcpCork => SockOpt::TcpCork(false),
            OptName::TcpKeepIdle => SockOpt::TcpKeepIdle(7200),
            OptName::TcpKeepIntvl => SockOpt::TcpKeepIntvl(75),
            OptName::TcpKeepCnt => SockOpt::TcpKeepCnt(9),
            OptName::TcpUserTimeout => SockOpt::TcpUserTimeout(0),
        }
    }
    /// Needs CAP_NET_ADMIN (or CAP_NET_RAW) to set: `SO_MARK`, and `SO_PRIORITY` outside 0..=6
    /// (`sk_setsockopt`, `sockopt_ns_capable`).
    pub fn needs_privilege(&self) -> bool {
        match *self {
            SockOpt::Mark(m) => m != 0,
            SockOpt::Priority(p) => !(0..=6).contains(&p),
            SockOpt::SndBufForce(_) | SockOpt::RcvBufForce(_) => true,
            _ => false,
        }
    }
}

/// Sysctls the restorer may raise for a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sysctl {
    /// `net.unix.max_dgram_qlen` (read when a socket is created).
    MaxDgramQlen,
    /// `net.core.somaxconn` (clamps `listen()`).
    Somaxconn,
}

impl Sysctl {
    /// The `/proc/sys` path.
    pub fn path(self) -> &'static str {
        match self {
            Sysctl::MaxDgramQlen => "/proc/sys/net/unix/max_dgram_qlen",
            Sysctl::Somaxconn => "/proc/sys/net/core/somaxconn",
        }
    }
}

/// Bytes in the bstr spelling when serialized.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Payload(pub Vec<u8>);

impl Serialize for Payload {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&bstr::escape(&self.0))
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        bstr::unescape(&s).map(Payload).map_err(serde::de::Error::custom)
    }
}

/// One operation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// `socket(AF_UNIX, ty, 0)`.
    Socket { slot: Slot, ty: SockType },
    /// `socketpair(AF_UNIX, ty, 0)`.
    Socketpair { a: Slot, b: Slot, ty: SockType },
    /// `socket(AF_INET or AF_INET6, ty, 0)`: TCP for stream, UDP for dgram.
    SocketInet { slot: Slot, family: InetFamily, ty: SockType },
    /// `bind()`.
    Bind { slot: Slot, addr: SockAddr },
    /// `unlink(path)`; with `stale_only`, only a socket file no live socket is bound to, and a
    /// missing file is fine (the restorer's "remove a stale socket file first").
    Unlink { path: Payload, stale_only: bool },
    /// `listen()`, also to change the backlog of a listening socket.
    Listen { slot: Slot, backlog: i32 },
    /// `connect()` (`AF_UNSPEC` disconnects a dgram socket).
    Connect { slot: Slot, addr: SockAddr },
    /// `accept()` on `slot`; the new socket becomes `new`.
    Accept { slot: Slot, new: Slot },
    /// `sendmsg()` with an optional destination and SCM_RIGHTS.
    Send {
        slot: Slot,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        to: Option<SockAddr>,
        data: Payload,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rights: Vec<Slot>,
    },
    /// `sendmsg()` of one byte with `MSG_OOB` on a connected AF_UNIX stream socket (Linux ≥
    /// 5.15): the byte becomes the peer's out-of-band byte (`oob_skb`), the one before it, if
    /// any, ordinary data.
    SendOob {
        slot: Slot,
        byte: u8,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rights: Vec<Slot>,
    },
    /// `recvmsg()` of up to `len` bytes (`MSG_PEEK` with `peek`).
    Recv { slot: Slot, len: u32, peek: bool },
    /// `shutdown()`.
    Shutdown { slot: Slot, how: How },
    /// `setsockopt()`.
    SetSockOpt { slot: Slot, opt: SockOpt },
    /// `fcntl(F_SETFL, O_NONBLOCK)` on or off.
    SetNonblock { slot: Slot, on: bool },
    /// `close()` of the plan's handle.
    Close { slot: Slot },
    /// `chdir()` (relative names resolve against it).
    Chdir { path: Payload },
    /// Write a sysctl.
    SetSysctl { name: Sysctl, value: i64 },
    /// `dup2()` the socket to descriptor `fd` of the restored process `pid`; `nonblock`: its
    /// open file gets `O_NONBLOCK` (`fcntl(F_SETFL)`), as the image's FILE `f_flags` say.
    Place {
        slot: Slot,
        pid: i32,
        fd: i32,
        cloexec: bool,
        #[serde(default, skip_serializing_if = "std::ops::Not::not")]
        nonblock: bool,
    },
}

impl Op {
    /// The slots the operation uses (no allocation).
    pub fn slots(&self) -> impl Iterator<Item = Slot> + '_ {
        let (a, b, rights): (Option<Slot>, Option<Slot>, &[Slot]) = match self {
            Op::Socket { slot, .. }
            | Op::SocketInet { slot, .. }
            | Op::Bind { slot, .. }
            | Op::Listen { slot, .. }
            | Op::Connect { slot, .. }
            | Op::Recv { slot, .. }
            | Op::Shutdown { slot, .. }
            | Op::SetSockOpt { slot, .. }
            | Op::SetNonblock { slot, .. }
            | Op::Close { slot }
            | Op::Place { slot, .. } => (Some(*slot), None, &[]),
            Op::Socketpair { a, b, .. } => (Some(*a), Some(*b), &[]),
            Op::Accept { slot, new } => (Some(*slot), Some(*new), &[]),
            Op::Send { slot, rights, .. } | Op::SendOob { slot, rights, .. } => (Some(*slot), None, rights.as_slice()),
            Op::Unlink { .. } | Op::Chdir { .. } | Op::SetSysctl { .. } => (None, None, &[]),
        };
        a.into_iter().chain(b).chain(rights.iter().copied())
    }

    /// C-like spelling, with slots shown through `name`.
    pub fn describe(&self, name: &dyn Fn(Slot) -> String) -> String {
        match self {
            Op::Socket { slot, ty } => {
                format!("{} = socket(AF_UNIX, {})", name(*slot), ty.name())
            }
            Op::SocketInet { slot, family, ty } => {
                format!("{} = socket({}, {})", name(*slot), family.name(), ty.name())
            }
            Op::Socketpair { a, b, ty } => {
                format!("socketpair(AF_UNIX, {}) = ({}, {})", ty.name(), name(*a), name(*b))
            }
            Op::Bind { slot, addr } => format!("bind({}, {})", name(*slot), addr.display()),
            Op::Unlink { path, stale_only } => {
                format!("unlink({}){}", bstr::escape(&path.0), if *stale_only { " if a stale socket file" } else { "" })
            }
            Op::Listen { slot, backlog } => format!("listen({}, {backlog})", name(*slot)),
            Op::Connect { slot, addr } => format!("connect({}, {})", name(*slot), addr.display()),
            Op::Accept { slot, new } => format!("{} = accept({})", name(*new), name(*slot)),
            Op::Send { slot, to, data, rights } => {
                let shown = if data.0.len() > 24 {
                    format!("\"{}\"… ({} bytes)", bstr::escape(&data.0[..24]), data.0.len())
                } else {
                    format!("\"{}\"", bstr::escape(&data.0))
                };
                let to = to.as_ref().map(|a| format!(", to {}", a.display())).unwrap_or_default();
                let r = if rights.is_empty() {
                    String::new()
                } else {
                    format!(", SCM_RIGHTS [{}]", rights.iter().map(|s| name(*s)).collect::<Vec<_>>().join(", "))
                };
                format!("sendmsg({}, {shown}{to}{r})", name(*slot))
            }
            Op::SendOob { slot, byte, rights } => {
                let r = if rights.is_empty() {
                    String::new()
                } else {
                    format!(", SCM_RIGHTS [{}]", rights.iter().map(|s| name(*s)).collect::<Vec<_>>().join(", "))
                };
                format!("sendmsg({}, \"{}\", MSG_OOB{r})", name(*slot), bstr::escape(&[*byte]))
            }
            Op::Recv { slot, len, peek } => {
                format!("recv({}, {len}{})", name(*slot), if *peek { ", MSG_PEEK" } else { "" })
            }
            Op::Shutdown { slot, how } => {
                format!("shutdown({}, {})", name(*slot), how.name())
            }
            Op::SetSockOpt { slot, opt } => format!("setsockopt({}, {opt:?})", name(*slot)),
            Op::SetNonblock { slot, on } => format!("fcntl({}, O_NONBLOCK={on})", name(*slot)),
            Op::Close { slot } => format!("close({})", name(*slot)),
            Op::Chdir { path } => format!("chdir({})", bstr::escape(&path.0)),
            Op::SetSysctl { name: n, value } => format!("sysctl {} = {value}", n.path()),
            Op::Place { slot, pid, fd, cloexec, nonblock } => format!(
                "dup2({}, fd {fd} of pid {pid}){}{}",
                name(*slot),
                if *cloexec { " O_CLOEXEC" } else { "" },
                if *nonblock { " O_NONBLOCK" } else { "" }
            ),
        }
    }
}

/// Why a blocking call cannot complete (in a single-threaded restorer: a deadlock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Block {
    /// `connect()`: the listener's accept queue is full (`qlen > backlog`). For TCP this holds
    /// for a non-blocking connect too: the SYN is dropped and retransmitted on a timer (1 s,
    /// 3 s, …), so when the connection completes depends on time and on accept(); the model
    /// reports the attempt as one that cannot complete now, and the native executor withdraws it
    /// (`connect(AF_UNSPEC)`) so both continue from the state before the call.
    BacklogFull { pending: usize, backlog: i64 },
    /// A send: the sender's `wmem_alloc >= sndbuf`.
    SndBuf { wmem: i64, sndbuf: i64 },
    /// A dgram send: the receiver holds more than `max_ack_backlog` datagrams from others.
    DgramQueueFull { qlen: usize, limit: i64 },
    /// `accept()` on an empty queue.
    AcceptEmpty,
    /// A read on an empty queue.
    RecvEmpty,
    /// The real kernel said a blocking call would wait (the native executor cannot say why).
    Kernel,
    /// A TCP connect whose SYN gets no answer: the kernel retransmits it until `ETIMEDOUT`
    /// minutes later; the native executor withdraws the attempt, as for a full backlog.
    NoAnswer { why: String },
    /// The kernel's answer depends on timing, on a hash keyed by a random secret, or on the
    /// Linux build, none of which the model knows (e.g. which of several SO_REUSEPORT sockets
    /// gets a datagram). The model says so instead of guessing.
    ///
    /// `answers`, when not empty, are every answer Linux may give (a differential test accepts
    /// exactly these), and the model's state afterwards is the one the first of them leaves.
    /// When empty, the model does not know the answers and its state after this step is not
    /// the kernel's. Either way no plan may depend on this step (the planner refuses it).
    Undetermined {
        why: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        answers: Vec<Outcome>,
    },
}

impl Block {
    /// [`Block::Undetermined`] without the answers: the model does not know them.
    pub fn undetermined(why: impl Into<String>) -> Block {
        Block::Undetermined { why: why.into(), answers: Vec::new() }
    }
}

/// What an operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Success with the syscall's return value.
    Ok { value: i64 },
    /// Success of a read: the bytes and the slots of received fds.
    Read {
        data: Payload,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rights: Vec<Slot>,
        truncated: bool,
    },
    /// The errno Linux returns.
    Err { errno: Errno },
    /// A blocking call that cannot complete.
    WouldBlock { block: Block },
    /// The operation is not meaningful as given (a plan error, not a kernel answer), e.g. an
    /// unknown slot.
    Invalid { why: String },
}

impl Outcome {
    /// Success.
    pub fn ok(value: i64) -> Outcome {
        Outcome::Ok { value }
    }
    /// An errno.
    pub fn err(errno: Errno) -> Outcome {
        Outcome::Err { errno }
    }
    /// Linux may give any of `answers` (the model's state follows the first): see
    /// [`Block::Undetermined`].
    pub fn either(why: impl Into<String>, answers: Vec<Outcome>) -> Outcome {
        Outcome::WouldBlock { block: Block::Undetermined { why: why.into(), answers } }
    }
    /// [`Outcome::either`] of `first` (the answer the model's state follows) and `other`,
    /// flattened: an `other` that is itself undetermined adds its answers, or, when it has
    /// none, leaves the whole answer unknown (`other` is returned).
    pub fn either_of(why: impl Into<String>, first: Outcome, other: Outcome) -> Outcome {
        match other {
            Outcome::WouldBlock { block: Block::Undetermined { ref answers, .. } } if answers.is_empty() => other,
            Outcome::WouldBlock { block: Block::Undetermined { answers, .. } } => {
                Outcome::either(why, std::iter::once(first).chain(answers).collect())
            }
            other => Outcome::either(why, vec![first, other]),
        }
    }
    /// Completed successfully.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. } | Outcome::Read { .. })
    }
    /// Short spelling: `0`, `-1 EAGAIN`, `blocks`, …
    pub fn short(&self) -> String {
        match self {
            Outcome::Ok { value } => value.to_string(),
            Outcome::Read { data, rights, truncated } => format!(
                "\"{}\"{}{}",
                bstr::escape(&data.0),
                if rights.is_empty() { String::new() } else { format!(" +{} fds", rights.len()) },
                if *truncated { " MSG_TRUNC" } else { "" }
            ),
            Outcome::Err { errno } => format!("-1 {errno}"),
            Outcome::WouldBlock { .. } => "would block".into(),
            Outcome::Invalid { why } => format!("invalid: {why}"),
        }
    }
}
