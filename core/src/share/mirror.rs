//! The mirror of [`Scenario`] that share bytes encode: socket references are indices,
//! families, types and shutdown are small numbers, canonical payload spellings are raw bytes, so
//! the share format changes only when this file says so. [`to_wire`] and [`from_wire`] convert.

use super::*;
use crate::codec::{Decode, Encode};
use crate::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec};
use crate::sim::{How, SockOpt, SockType};
use crate::sock::Family;
use std::collections::BTreeMap;

/// A spelling from a known list, or any other text.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) enum Sym {
    Known(u8),
    Other(String),
}

/// A value of a small closed set (family, type, shutdown) by its index in the set's `ALL` list.
/// (`Other` holds a spelling: links made when the scenario's words were free text carry it.)
pub(super) fn sym<T: Copy + PartialEq>(all: &[T], v: T) -> Sym {
    match all.iter().position(|k| *k == v) {
        Some(i) => Sym::Known(i as u8),
        None => Sym::Other(String::new()),
    }
}

pub(super) fn unsym<T: Copy>(all: &[T], word: fn(T) -> &'static str, s: Sym) -> Result<T, ShareError> {
    match s {
        Sym::Known(i) => all
            .get(usize::from(i))
            .copied()
            .ok_or_else(|| ShareError::Invalid(format!("symbol {i} of {} values", all.len()))),
        Sym::Other(w) => all.iter().copied().find(|&k| word(k) == w).ok_or_else(|| {
            ShareError::Invalid(format!("{w:?} is none of {:?}", all.iter().map(|&k| word(k)).collect::<Vec<_>>()))
        }),
    }
}

/// A reference to a socket: its index in the scenario, or a name that matches none.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) enum Ref {
    At(u32),
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) enum Payload {
    None,
    /// `data` whose spelling is `bstr::escape` of these bytes.
    Text(Vec<u8>),
    /// `hex` whose spelling is `bstr::hex` of these bytes.
    HexBytes(Vec<u8>),
    /// `data` in another spelling (non-ASCII, or with only some of `data`/`hex`/`repeat`).
    Data(String),
    Hex(String),
    Repeat(u32),
    /// More than one of `data`, `hex`, `repeat` (the writer refuses it; kept as said).
    Mixed(Option<String>, Option<String>, Option<u32>),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct WMsg {
    pub(super) from: Option<Ref>,
    pub(super) payload: Payload,
    pub(super) rights: Vec<Ref>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct WPending {
    pub(super) client: Option<Ref>,
    pub(super) sent: Vec<WMsg>,
}

pub(super) const F_AUTOBIND: u16 = 1;
pub(super) const F_UNLINKED: u16 = 2;
pub(super) const F_PEER_GONE: u16 = 4;
pub(super) const F_EXTERNAL: u16 = 8;
pub(super) const F_REUSEADDR: u16 = 16;
pub(super) const F_REUSEPORT: u16 = 32;
pub(super) const F_V6ONLY: u16 = 64;
pub(super) const F_NO_FD: u16 = 128;
pub(super) const F_SNDBUF_LOCK: u16 = 256;
pub(super) const F_RCVBUF_LOCK: u16 = 512;
pub(super) const F_NONBLOCK: u16 = 1024;
pub(super) const F_PASSCRED: u16 = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct WSock {
    pub(super) name: String,
    pub(super) family: Sym,
    pub(super) ty: Sym,
    pub(super) flags: u16,
    pub(super) addr: Option<String>,
    pub(super) cwd: Option<String>,
    pub(super) listen: Option<i16>,
    pub(super) pending: Vec<WPending>,
    pub(super) peer: Option<Ref>,
    pub(super) pair: Option<Ref>,
    pub(super) accepted_from: Option<Ref>,
    pub(super) remote: Option<String>,
    pub(super) shutdown: Option<Sym>,
    pub(super) sndbuf: Option<i32>,
    pub(super) rcvbuf: Option<i32>,
    pub(super) queue: Vec<WMsg>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct WTask {
    pub(super) pid: i32,
    pub(super) fds: Vec<(i32, Ref)>,
    pub(super) cloexec: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct WScenario {
    pub(super) description: String,
    pub(super) kernel: String,
    pub(super) time: u64,
    pub(super) tasks: Vec<WTask>,
    pub(super) sockets: Vec<WSock>,
}

/// The socket options of the scenario's sockets (`SockSpec::opts`), after the mirror: a link
/// whose scenario has none ends with the mirror (the bytes links had before options were
/// recorded); otherwise this list follows it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub(super) struct WOpts {
    /// Index of the socket in the mirror's list.
    pub(super) sock: u32,
    /// Each option as (variant, first value, second value).
    pub(super) opts: Vec<(u8, i64, i64)>,
}

pub(super) fn wopt(o: &SockOpt) -> (u8, i64, i64) {
    let b = |v: bool| i64::from(v);
    match *o {
        SockOpt::SndBuf(v) => (0, v.into(), 0),
        SockOpt::SndBufForce(v) => (1, v.into(), 0),
        SockOpt::RcvBuf(v) => (2, v.into(), 0),
        SockOpt::RcvBufForce(v) => (3, v.into(), 0),
        SockOpt::PassCred(v) => (4, b(v), 0),
        SockOpt::PeekOff(v) => (5, v.into(), 0),
        SockOpt::ReuseAddr(v) => (6, b(v), 0),
        SockOpt::ReusePort(v) => (7, b(v), 0),
        SockOpt::V6Only(v) => (8, b(v), 0),
        SockOpt::KeepAlive(v) => (9, b(v), 0),
        SockOpt::Linger { on, secs } => (10, b(on), secs.into()),
        SockOpt::RcvTimeo(v) => (11, v, 0),
        SockOpt::SndTimeo(v) => (12, v, 0),
        SockOpt::Priority(v) => (13, v.into(), 0),
        SockOpt::Mark(v) => (14, v.into(), 0),
        SockOpt::RcvLowat(v) => (15, v.into(), 0),
        SockOpt::PassSec(v) => (16, b(v), 0),
        SockOpt::Broadcast(v) => (17, b(v), 0),
        SockOpt::OobInline(v) => (18, b(v), 0),
        SockOpt::TcpNoDelay(v) => (19, b(v), 0),
        SockOpt::TcpCork(v) => (20, b(v), 0),
        SockOpt::TcpKeepIdle(v) => (21, v.into(), 0),
        SockOpt::TcpKeepIntvl(v) => (22, v.into(), 0),
        SockOpt::TcpKeepCnt(v) => (23, v.into(), 0),
        SockOpt::TcpUserTimeout(v) => (24, v.into(), 0),
    }
}

pub(super) fn unwopt((tag, a, b): (u8, i64, i64)) -> Result<SockOpt, ShareError> {
    let bad = || ShareError::Invalid(format!("socket option {tag} with values {a}, {b}"));
    let i = |v: i64| i32::try_from(v).map_err(|_| bad());
    let u = |v: i64| u32::try_from(v).map_err(|_| bad());
    let f = |v: i64| match v {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(bad()),
    };
    if b != 0 && tag != 10 {
        return Err(bad());
    }
    Ok(match tag {
        0 => SockOpt::SndBuf(i(a)?),
        1 => SockOpt::SndBufForce(i(a)?),
        2 => SockOpt::RcvBuf(i(a)?),
        3 => SockOpt::RcvBufForce(i(a)?),
        4 => SockOpt::PassCred(f(a)?),
        5 => SockOpt::PeekOff(i(a)?),
        6 => SockOpt::ReuseAddr(f(a)?),
        7 => SockOpt::ReusePort(f(a)?),
        8 => SockOpt::V6Only(f(a)?),
        9 => SockOpt::KeepAlive(f(a)?),
        10 => SockOpt::Linger { on: f(a)?, secs: i(b)? },
        11 => SockOpt::RcvTimeo(a),
        12 => SockOpt::SndTimeo(a),
        13 => SockOpt::Priority(i(a)?),
        14 => SockOpt::Mark(u(a)?),
        15 => SockOpt::RcvLowat(i(a)?),
        16 => SockOpt::PassSec(f(a)?),
        17 => SockOpt::Broadcast(f(a)?),
        18 => SockOpt::OobInline(f(a)?),
        19 => SockOpt::TcpNoDelay(f(a)?),
        20 => SockOpt::TcpCork(f(a)?),
        21 => SockOpt::TcpKeepIdle(i(a)?),
        22 => SockOpt::TcpKeepIntvl(i(a)?),
        23 => SockOpt::TcpKeepCnt(i(a)?),
        24 => SockOpt::TcpUserTimeout(u(a)?),
        _ => return Err(bad()),
    })
}

/// The out-of-band byte of a socket's queue (`MsgSpec::oob`): message `msg` of socket `sock`'s
/// queue. A link whose scenario has none ends before this list (the bytes links had before
/// out-of-band data was recorded); otherwise it follows the options' list, which is then
/// written even when empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub(super) struct WOob {
    /// Index of the socket in the mirror's list.
    pub(super) sock: u32,
    /// Index of the message in that socket's queue.
    pub(super) msg: u32,
}

pub(super) fn oob_to_wire(sc: &Scenario) -> Vec<WOob> {
    let mut out = Vec::new();
    for (i, s) in sc.sockets.iter().enumerate() {
        for (k, m) in s.queue.iter().enumerate() {
            if m.oob {
                out.push(WOob { sock: i as u32, msg: k as u32 });
            }
        }
    }
    out
}

/// The out-of-band byte a pending client sent before accept: message `msg` of pending
/// connection `pending` of socket `sock` (`PendingSpec::sent`). The list after [`WOob`]'s.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Encode, Decode)]
pub(super) struct WPendingOob {
    /// Index of the listener in the mirror's list.
    pub(super) sock: u32,
    /// Index of the connection in its accept queue.
    pub(super) pending: u32,
    /// Index of the message in what the client sent.
    pub(super) msg: u32,
}

pub(super) fn pending_oob_to_wire(sc: &Scenario) -> Vec<WPendingOob> {
    let mut out = Vec::new();
    for (i, s) in sc.sockets.iter().enumerate() {
        for (j, p) in s.pending.iter().enumerate() {
            for (k, m) in p.sent.iter().enumerate() {
                if m.oob {
                    out.push(WPendingOob { sock: i as u32, pending: j as u32, msg: k as u32 });
                }
            }
        }
    }
    out
}

pub(super) fn opts_to_wire(sc: &Scenario) -> Vec<WOpts> {
    sc.sockets
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.opts.is_empty())
        .map(|(i, s)| WOpts { sock: i as u32, opts: s.opts.iter().map(wopt).collect() })
        .collect()
}

/// Socket indices by name (the map type the scenario writer already uses).
pub(super) struct Refs(BTreeMap<String, usize>);

impl Refs {
    pub(super) fn of(&self, name: &str) -> Ref {
        match self.0.get(name) {
            Some(&i) => Ref::At(i as u32),
            None => Ref::Named(name.to_string()),
        }
    }
}

pub(super) fn wmsg(refs: &Refs, m: &MsgSpec) -> WMsg {
    use crate::bstr;
    let canonical_text = |d: &str| bstr::unescape(d).ok().filter(|b| bstr::escape(b) == d);
    let canonical_hex = |h: &str| bstr::unhex(h).ok().filter(|b| bstr::hex(b) == h);
    let payload = match (&m.data, &m.hex, m.repeat) {
        (None, None, None) => Payload::None,
        (Some(d), None, None) => canonical_text(d).map_or_else(|| Payload::Data(d.clone()), Payload::Text),
        (None, Some(h), None) => canonical_hex(h).map_or_else(|| Payload::Hex(h.clone()), Payload::HexBytes),
        (None, None, Some(n)) => Payload::Repeat(n),
        (d, h, n) => Payload::Mixed(d.clone(), h.clone(), n),
    };
    WMsg { from: m.from.as_deref().map(|f| refs.of(f)), payload, rights: m.rights.iter().map(|r| refs.of(r)).collect() }
}

pub(super) fn to_wire(sc: &Scenario) -> WScenario {
    let refs = Refs(crate::order::map(sc.sockets.iter().enumerate().rev().map(|(i, s)| (s.name.clone(), i))));
    let sockets = sc
        .sockets
        .iter()
        .map(|s| {
            let flag = |b: bool, f: u16| if b { f } else { 0 };
            WSock {
                name: s.name.clone(),
                family: sym(&Family::ALL, s.family),
                ty: sym(&SockType::ALL, s.ty),
                flags: flag(s.autobind, F_AUTOBIND)
                    | flag(s.unlinked, F_UNLINKED)
                    | flag(s.peer_gone, F_PEER_GONE)
                    | flag(s.external_peer, F_EXTERNAL)
                    | flag(s.reuseaddr, F_REUSEADDR)
                    | flag(s.reuseport, F_REUSEPORT)
                    | flag(s.v6only, F_V6ONLY)
                    | flag(s.no_fd, F_NO_FD)
                    | flag(s.sndbuf_lock, F_SNDBUF_LOCK)
                    | flag(s.rcvbuf_lock, F_RCVBUF_LOCK)
                    | flag(s.nonblock, F_NONBLOCK)
                    | flag(s.passcred, F_PASSCRED),
                addr: s.addr.clone(),
                cwd: s.cwd.clone(),
                listen: s.listen,
                pending: s
                    .pending
                    .iter()
                    .map(|p| WPending {
                        client: p.client.as_deref().map(|c| refs.of(c)),
                        sent: p.sent.iter().map(|m| wmsg(&refs, m)).collect(),
                    })
                    .collect(),
                peer: s.peer.as_deref().map(|p| refs.of(p)),
                pair: s.pair.as_deref().map(|p| refs.of(p)),
                accepted_from: s.accepted_from.as_deref().map(|p| refs.of(p)),
                remote: s.remote.clone(),
                shutdown: s.shutdown.map(|h| sym(&How::ALL, h)),
                sndbuf: s.sndbuf,
                rcvbuf: s.rcvbuf,
                queue: s.queue.iter().map(|m| wmsg(&refs, m)).collect(),
            }
        })
        .collect();
    WScenario {
        description: sc.description.clone(),
        kernel: sc.kernel.clone(),
        time: sc.time,
        tasks: sc
            .tasks
            .iter()
            .map(|t| WTask {
                pid: t.pid,
                fds: t.fds.iter().map(|(&fd, n)| (fd, refs.of(n))).collect(),
                cloexec: t.cloexec.clone(),
            })
            .collect(),
        sockets,
    }
}

pub(super) fn from_wire(w: WScenario) -> Result<Scenario, ShareError> {
    let names = Names(w.sockets.iter().map(|s| s.name.clone()).collect());
    let mut payloads = Payloads { repeat_total: 0 };
    let socks = w.sockets.len() + w.sockets.iter().map(|s| s.pending.len()).sum::<usize>();
    if socks > MAX_SOCKETS {
        return Err(ShareError::TooMany(socks, "sockets and pending connections", MAX_SOCKETS));
    }
    let msgs: usize =
        w.sockets.iter().map(|s| s.queue.len() + s.pending.iter().map(|p| p.sent.len()).sum::<usize>()).sum();
    if msgs > MAX_MESSAGES {
        return Err(ShareError::TooMany(msgs, "queued messages", MAX_MESSAGES));
    }
    let mut sockets = Vec::with_capacity(w.sockets.len());
    for s in w.sockets {
        sockets.push(sock_from_wire(s, &names, &mut payloads)?);
    }
    let mut tasks = Vec::with_capacity(w.tasks.len());
    for t in w.tasks {
        let mut fds = BTreeMap::new();
        for (fd, r) in t.fds {
            if fds.insert(fd, names.of(r)?).is_some() {
                return Err(ShareError::Invalid(format!("pid {} has fd {fd} twice", t.pid)));
            }
        }
        tasks.push(TaskSpec { pid: t.pid, fds, cloexec: t.cloexec });
    }
    Ok(Scenario { description: w.description, kernel: w.kernel, time: w.time, tasks, sockets })
}

/// The decoded scenario's socket names, in order: what a [`Ref::At`] points at.
struct Names(Vec<String>);

impl Names {
    /// The name a reference stands for (an index past the sockets is refused).
    fn of(&self, r: Ref) -> Result<String, ShareError> {
        match r {
            Ref::At(i) => {
                self.0.get(i as usize).cloned().ok_or_else(|| {
                    ShareError::Invalid(format!("socket reference {i} past the {} sockets", self.0.len()))
                })
            }
            Ref::Named(n) => Ok(n),
        }
    }
}

/// The messages decoded so far: the bytes their `repeat` counts stand for, bounded by
/// `MAX_REPEAT` over the whole link.
struct Payloads {
    repeat_total: u64,
}

impl Payloads {
    /// One message, its sender and fds named.
    fn msg(&mut self, names: &Names, m: WMsg) -> Result<MsgSpec, ShareError> {
        use crate::bstr;
        let mut spec = MsgSpec {
            from: m.from.map(|r| names.of(r)).transpose()?,
            rights: m.rights.into_iter().map(|r| names.of(r)).collect::<Result<_, _>>()?,
            ..Default::default()
        };
        match m.payload {
            Payload::None => {}
            Payload::Text(b) => spec.data = Some(bstr::escape(&b)),
            Payload::HexBytes(b) => spec.hex = Some(bstr::hex(&b)),
            Payload::Data(d) => spec.data = Some(d),
            Payload::Hex(h) => spec.hex = Some(h),
            Payload::Repeat(n) => {
                self.count(Some(n))?;
                spec.repeat = Some(n);
            }
            Payload::Mixed(d, h, n) => {
                self.count(n)?;
                (spec.data, spec.hex, spec.repeat) = (d, h, n);
            }
        }
        Ok(spec)
    }

    fn count(&mut self, n: Option<u32>) -> Result<(), ShareError> {
        self.repeat_total += u64::from(n.unwrap_or(0));
        if self.repeat_total > MAX_REPEAT {
            return Err(ShareError::TooMuchData(self.repeat_total));
        }
        Ok(())
    }
}

/// One socket of the link: its pending connections and queue decoded, references named, flags
/// known.
fn sock_from_wire(s: WSock, names: &Names, payloads: &mut Payloads) -> Result<SockSpec, ShareError> {
    let has = |f: u16| s.flags & f != 0;
    let name = |r: Ref| names.of(r);
    let mut pending = Vec::new();
    for p in s.pending {
        let sent = p.sent.into_iter().map(|m| payloads.msg(names, m)).collect::<Result<_, _>>()?;
        pending.push(PendingSpec { client: p.client.map(name).transpose()?, sent });
    }
    let queue = s.queue.into_iter().map(|m| payloads.msg(names, m)).collect::<Result<_, _>>()?;
    let spec = SockSpec {
        name: s.name,
        family: unsym(&Family::ALL, Family::word, s.family)?,
        ty: unsym(&SockType::ALL, SockType::word, s.ty)?,
        addr: s.addr,
        cwd: s.cwd,
        autobind: has(F_AUTOBIND),
        unlinked: has(F_UNLINKED),
        listen: s.listen,
        pending,
        peer: s.peer.map(name).transpose()?,
        pair: s.pair.map(name).transpose()?,
        accepted_from: s.accepted_from.map(name).transpose()?,
        peer_gone: has(F_PEER_GONE),
        external_peer: has(F_EXTERNAL),
        remote: s.remote,
        reuseaddr: has(F_REUSEADDR),
        reuseport: has(F_REUSEPORT),
        v6only: has(F_V6ONLY),
        shutdown: s.shutdown.map(|h| unsym(&How::ALL, How::word, h)).transpose()?,
        sndbuf: s.sndbuf,
        rcvbuf: s.rcvbuf,
        queue,
        no_fd: has(F_NO_FD),
        sndbuf_lock: has(F_SNDBUF_LOCK),
        rcvbuf_lock: has(F_RCVBUF_LOCK),
        nonblock: has(F_NONBLOCK),
        passcred: has(F_PASSCRED),
        opts: Vec::new(),
    };
    if s.flags >= F_PASSCRED << 1 {
        return Err(ShareError::Invalid(format!("unknown socket flags {:#x}", s.flags)));
    }
    Ok(spec)
}
