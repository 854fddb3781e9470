//! The socket options an image records ([`SockOpt`], with its value) and their names
//! ([`OptName`], one bit each of `RS_SOCKOPT.recorded`).

use serde::{Deserialize, Serialize};

/// Socket options the image carries.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode,
)]
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
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
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
