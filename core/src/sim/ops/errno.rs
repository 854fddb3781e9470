//! [`Errno`]: the errno values the simulator and the executor answer.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Linux errno values (x86_64 numbering), the subset AF_UNIX returns.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
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
    ENOBUFS,
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
        Errno::ENOBUFS,
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
            Errno::ENOBUFS => 105,
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
