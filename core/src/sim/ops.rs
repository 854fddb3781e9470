//! The one operation type that both the simulator and the native executor accept, and what an
//! operation returns. Operations are named after the syscalls they stand for; sockets are named
//! by plan-level [`Slot`]s, not by fd numbers (fds are placed at the end by [`Op::Place`]).
//!
//! This file holds [`Op`], [`Slot`], [`Sysctl`] and [`Payload`]; the values operations take and
//! give are one file each: `ops/errno.rs` ([`Errno`]), `ops/args.rs` ([`SockType`],
//! [`InetFamily`], [`SockAddr`], [`How`]), `ops/sockopt.rs` ([`SockOpt`], [`OptName`]) and
//! `ops/outcome.rs` ([`Outcome`], [`Block`]). They use this file, and `outcome.rs` uses
//! `errno.rs`; nothing uses them back but this file's re-exports.

use crate::bstr;
use serde::{Deserialize, Serialize};

/// A plan-level socket handle (the planner uses the image objref for restored sockets and
/// numbers above every objref for temporaries).
pub type Slot = u32;

mod args;
mod errno;
mod outcome;
mod sockopt;
pub use args::*;
pub use errno::*;
pub use outcome::*;
pub use sockopt::*;

/// Sysctls the restorer may raise for a moment.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode,
)]
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
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default, crate::codec::Encode, crate::codec::Decode)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
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
