//! Share links: a scenario carried in a URL fragment, `#s=<base64url>`.
//!
//! The bytes are a format byte followed by a bincode 2 encoding (standard config: varints,
//! little endian) of a compact mirror of [`Scenario`] defined here — socket references are
//! indices, families/types/shutdown are small numbers, canonical payload spellings are raw
//! bytes — so the share format changes only when this module says so. Format byte
//! [`FORMAT_RAW`] is followed by the bincode bytes; [`FORMAT_DEFLATE`] by them compressed with
//! raw DEFLATE (chosen when shorter). The whole is base64url without padding. This module is
//! the only place bincode is used.
//!
//! Decoding is for untrusted input: the fragment length, the inflated size, bincode's byte
//! budget (it checks every claimed length against it before allocating) and the bytes a
//! scenario's `repeat` messages would make are all bounded, and every failure is a
//! [`ShareError`], never a panic.

use crate::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec};
use crate::sim::{How, SockOpt, SockType};
use crate::sock::Family;
use bincode::{Decode, Encode};
use std::collections::BTreeMap;

/// The fragment key: `#s=…` (other `key=value` pairs may share the fragment, `&`-separated).
pub const KEY: &str = "s";
/// Format byte: bincode follows.
pub const FORMAT_RAW: u8 = 1;
/// Format byte: raw DEFLATE of the bincode follows.
pub const FORMAT_DEFLATE: u8 = 2;
/// Longest share text accepted (base64url characters).
pub const MAX_TEXT: usize = 2 << 20;
/// Largest bincode payload accepted (after inflating).
pub const MAX_BYTES: usize = 4 << 20;
/// bincode's budget: the memory the decoded mirror may claim in all (every length is checked
/// against what is left before anything is allocated).
pub const MAX_DECODED: usize = 16 << 20;
/// Most payload bytes the `repeat` messages of a shared scenario may stand for in total.
pub const MAX_REPEAT: u64 = 16 << 20;
/// Most sockets (pending connections included: each becomes an embryo) a shared scenario may
/// have. A few bytes of link stand for hundreds of bytes of image; this bounds the image.
pub const MAX_SOCKETS: usize = 20_000;
/// Most queued messages a shared scenario may have (each is a few records of image).
pub const MAX_MESSAGES: usize = 100_000;

/// Why a share text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Nothing to decode.
    #[error("the share link is empty")]
    Empty,
    /// Longer than [`MAX_TEXT`].
    #[error("the share link is {0} characters long; at most {MAX_TEXT} are read")]
    TooLong(usize),
    /// Not base64url.
    #[error("the share link is not base64url: {0}")]
    Base64(String),
    /// Unknown format byte.
    #[error("unknown share format {0} (this version reads {FORMAT_RAW} and {FORMAT_DEFLATE})")]
    Format(u8),
    /// The DEFLATE stream is broken or inflates past [`MAX_BYTES`].
    #[error("the share link's compressed data is damaged or too large: {0}")]
    Inflate(String),
    /// bincode refused the bytes.
    #[error("the share link's scenario is damaged: {0}")]
    Decode(String),
    /// Bytes left over after the scenario.
    #[error("{0} unexpected byte(s) after the scenario")]
    Trailing(usize),
    /// A value the mirror cannot stand for.
    #[error("the share link's scenario is damaged: {0}")]
    Invalid(String),
    /// The scenario's `repeat` messages are too large.
    #[error("the shared scenario's repeated payloads total {0} bytes; at most {MAX_REPEAT} are accepted")]
    TooMuchData(u64),
    /// More sockets or messages than [`MAX_SOCKETS`] / [`MAX_MESSAGES`].
    #[error("the shared scenario has {0} {1}; at most {2} are accepted")]
    TooMany(usize, &'static str, usize),
    /// The decoded scenario would need more than [`MAX_DECODED`] bytes of memory.
    #[error("the shared scenario is too large (it would take more than {MAX_DECODED} bytes to decode)")]
    TooLarge,
}

// ---- the mirror (the share format) ----

/// A spelling from a known list, or any other text.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
enum Sym {
    Known(u8),
    Other(String),
}

/// A value of a small closed set (family, type, shutdown) by its index in the set's `ALL` list.
/// (`Other` holds a spelling: links made when the scenario's words were free text carry it.)
fn sym<T: Copy + PartialEq>(all: &[T], v: T) -> Sym {
    match all.iter().position(|k| *k == v) {
        Some(i) => Sym::Known(i as u8),
        None => Sym::Other(String::new()),
    }
}

fn unsym<T: Copy>(all: &[T], word: fn(T) -> &'static str, s: Sym) -> Result<T, ShareError> {
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
enum Ref {
    At(u32),
    Named(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
enum Payload {
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
struct WMsg {
    from: Option<Ref>,
    payload: Payload,
    rights: Vec<Ref>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct WPending {
    client: Option<Ref>,
    sent: Vec<WMsg>,
}

const F_AUTOBIND: u16 = 1;
const F_UNLINKED: u16 = 2;
const F_PEER_GONE: u16 = 4;
const F_EXTERNAL: u16 = 8;
const F_REUSEADDR: u16 = 16;
const F_REUSEPORT: u16 = 32;
const F_V6ONLY: u16 = 64;
const F_NO_FD: u16 = 128;
const F_SNDBUF_LOCK: u16 = 256;
const F_RCVBUF_LOCK: u16 = 512;
const F_NONBLOCK: u16 = 1024;
const F_PASSCRED: u16 = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct WSock {
    name: String,
    family: Sym,
    ty: Sym,
    flags: u16,
    addr: Option<String>,
    cwd: Option<String>,
    listen: Option<i16>,
    pending: Vec<WPending>,
    peer: Option<Ref>,
    pair: Option<Ref>,
    accepted_from: Option<Ref>,
    remote: Option<String>,
    shutdown: Option<Sym>,
    sndbuf: Option<i32>,
    rcvbuf: Option<i32>,
    queue: Vec<WMsg>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct WTask {
    pid: i32,
    fds: Vec<(i32, Ref)>,
    cloexec: Vec<i32>,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct WScenario {
    description: String,
    kernel: String,
    time: u64,
    tasks: Vec<WTask>,
    sockets: Vec<WSock>,
}

/// The socket options of the scenario's sockets (`SockSpec::opts`), after the mirror: a link
/// whose scenario has none ends with the mirror (the bytes links had before options were
/// recorded); otherwise this list follows it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
struct WOpts {
    /// Index of the socket in the mirror's list.
    sock: u32,
    /// Each option as (variant, first value, second value).
    opts: Vec<(u8, i64, i64)>,
}

fn wopt(o: &SockOpt) -> (u8, i64, i64) {
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

fn unwopt((tag, a, b): (u8, i64, i64)) -> Result<SockOpt, ShareError> {
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

fn opts_to_wire(sc: &Scenario) -> Vec<WOpts> {
    sc.sockets
        .iter()
        .enumerate()
        .filter(|(_, s)| !s.opts.is_empty())
        .map(|(i, s)| WOpts { sock: i as u32, opts: s.opts.iter().map(wopt).collect() })
        .collect()
}

/// Socket indices by name (the map type the scenario writer already uses).
struct Refs(BTreeMap<String, usize>);

impl Refs {
    fn of(&self, name: &str) -> Ref {
        match self.0.get(name) {
            Some(&i) => Ref::At(i as u32),
            None => Ref::Named(name.to_string()),
        }
    }
}

fn wmsg(refs: &Refs, m: &MsgSpec) -> WMsg {
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

fn to_wire(sc: &Scenario) -> WScenario {
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

fn from_wire(w: WScenario) -> Result<Scenario, ShareError> {
    use crate::bstr;
    let names: Vec<String> = w.sockets.iter().map(|s| s.name.clone()).collect();
    let name = |r: Ref| match r {
        Ref::At(i) => names
            .get(i as usize)
            .cloned()
            .ok_or_else(|| ShareError::Invalid(format!("socket reference {i} past the {} sockets", names.len()))),
        Ref::Named(n) => Ok(n),
    };
    let mut repeat_total: u64 = 0;
    let mut msg = |m: WMsg| -> Result<MsgSpec, ShareError> {
        let mut spec = MsgSpec {
            from: m.from.map(&name).transpose()?,
            rights: m.rights.into_iter().map(&name).collect::<Result<_, _>>()?,
            ..Default::default()
        };
        let mut count = |n: Option<u32>| -> Result<(), ShareError> {
            repeat_total += u64::from(n.unwrap_or(0));
            if repeat_total > MAX_REPEAT {
                return Err(ShareError::TooMuchData(repeat_total));
            }
            Ok(())
        };
        match m.payload {
            Payload::None => {}
            Payload::Text(b) => spec.data = Some(bstr::escape(&b)),
            Payload::HexBytes(b) => spec.hex = Some(bstr::hex(&b)),
            Payload::Data(d) => spec.data = Some(d),
            Payload::Hex(h) => spec.hex = Some(h),
            Payload::Repeat(n) => {
                count(Some(n))?;
                spec.repeat = Some(n);
            }
            Payload::Mixed(d, h, n) => {
                count(n)?;
                (spec.data, spec.hex, spec.repeat) = (d, h, n);
            }
        }
        Ok(spec)
    };
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
        let has = |f: u16| s.flags & f != 0;
        let mut pending = Vec::new();
        for p in s.pending {
            let sent = p.sent.into_iter().map(&mut msg).collect::<Result<_, _>>()?;
            pending.push(PendingSpec { client: p.client.map(&name).transpose()?, sent });
        }
        let queue = s.queue.into_iter().map(&mut msg).collect::<Result<_, _>>()?;
        sockets.push(SockSpec {
            name: s.name,
            family: unsym(&Family::ALL, Family::word, s.family)?,
            ty: unsym(&SockType::ALL, SockType::word, s.ty)?,
            addr: s.addr,
            cwd: s.cwd,
            autobind: has(F_AUTOBIND),
            unlinked: has(F_UNLINKED),
            listen: s.listen,
            pending,
            peer: s.peer.map(&name).transpose()?,
            pair: s.pair.map(&name).transpose()?,
            accepted_from: s.accepted_from.map(&name).transpose()?,
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
        });
        if s.flags >= F_PASSCRED << 1 {
            return Err(ShareError::Invalid(format!("unknown socket flags {:#x}", s.flags)));
        }
    }
    let mut tasks = Vec::with_capacity(w.tasks.len());
    for t in w.tasks {
        let mut fds = BTreeMap::new();
        for (fd, r) in t.fds {
            if fds.insert(fd, name(r)?).is_some() {
                return Err(ShareError::Invalid(format!("pid {} has fd {fd} twice", t.pid)));
            }
        }
        tasks.push(TaskSpec { pid: t.pid, fds, cloexec: t.cloexec });
    }
    Ok(Scenario { description: w.description, kernel: w.kernel, time: w.time, tasks, sockets })
}

fn config() -> bincode::config::Configuration<
    bincode::config::LittleEndian,
    bincode::config::Varint,
    bincode::config::Limit<MAX_DECODED>,
> {
    bincode::config::standard().with_limit::<MAX_DECODED>()
}

/// A bincode writer appending to a vector: one encoding pass (`bincode::encode_to_vec` makes two,
/// sizing first, which doubles the encoder in the wasm bundle).
struct Out<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for Out<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

fn encode_raw(w: &WScenario, opts: &[WOpts]) -> Vec<u8> {
    let mut raw = Vec::new();
    // Writing to a vector cannot fail, and nothing in the mirror refuses to encode.
    let _ = bincode::encode_into_writer(w, Out(&mut raw), bincode::config::standard());
    if !opts.is_empty() {
        let _ = bincode::encode_into_writer(opts, Out(&mut raw), bincode::config::standard());
    }
    raw
}

/// The payload of a scenario: the bincode bytes of its mirror, before framing. Compressing it
/// is the caller's choice: [`to_bytes`] uses miniz_oxide; the browser uses its own
/// `CompressionStream` (the same raw DEFLATE) and frames the result with [`frame`].
pub fn payload(sc: &Scenario) -> Vec<u8> {
    encode_raw(&to_wire(sc), &opts_to_wire(sc))
}

/// Share bytes (format byte + data) of a payload and, if there is one, its raw DEFLATE: the
/// shorter of the two.
pub fn frame(payload: &[u8], deflated: Option<&[u8]>) -> Vec<u8> {
    let (format, data) = match deflated {
        Some(d) if d.len() < payload.len() => (FORMAT_DEFLATE, d),
        _ => (FORMAT_RAW, payload),
    };
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(format);
    out.extend_from_slice(data);
    out
}

/// The share bytes of a scenario (format byte + payload), before base64url.
pub fn to_bytes(sc: &Scenario) -> Vec<u8> {
    let raw = payload(sc);
    frame(&raw, Some(&miniz_oxide::deflate::compress_to_vec(&raw, 9)))
}

/// Share bytes split at their format byte: the payload itself, or its raw DEFLATE (to inflate
/// to at most [`MAX_BYTES`] before [`from_payload`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed<'a> {
    /// [`FORMAT_RAW`]: the payload.
    Raw(&'a [u8]),
    /// [`FORMAT_DEFLATE`]: the payload's raw DEFLATE.
    Deflated(&'a [u8]),
}

/// Split share bytes at their format byte.
pub fn unframe(bytes: &[u8]) -> Result<Framed<'_>, ShareError> {
    match bytes.split_first() {
        None => Err(ShareError::Empty),
        Some((&FORMAT_RAW, rest)) => Ok(Framed::Raw(rest)),
        Some((&FORMAT_DEFLATE, rest)) => Ok(Framed::Deflated(rest)),
        Some((&f, _)) => Err(ShareError::Format(f)),
    }
}

/// Read share bytes (see [`to_bytes`]).
pub fn from_bytes(bytes: &[u8]) -> Result<Scenario, ShareError> {
    match unframe(bytes)? {
        Framed::Raw(p) => from_payload(p),
        Framed::Deflated(d) => from_payload(
            &miniz_oxide::inflate::decompress_to_vec_with_limit(d, MAX_BYTES)
                .map_err(|e| ShareError::Inflate(format!("{:?}", e.status)))?,
        ),
    }
}

/// Read a payload (see [`payload`]): untrusted bytes, bounded as the module says.
pub fn from_payload(payload: &[u8]) -> Result<Scenario, ShareError> {
    if payload.len() > MAX_BYTES {
        return Err(ShareError::Decode(format!("{} bytes, at most {MAX_BYTES}", payload.len())));
    }
    let (w, used): (WScenario, usize) = bincode::decode_from_slice(payload, config()).map_err(|e| match e {
        // A length past the budget, or past what a 32-bit usize holds (wasm32).
        bincode::error::DecodeError::LimitExceeded | bincode::error::DecodeError::OutsideUsizeRange(_) => {
            ShareError::TooLarge
        }
        e => ShareError::Decode(e.to_string()),
    })?;
    let mut sc = from_wire(w)?;
    if used != payload.len() {
        let rest = payload.get(used..).unwrap_or_default();
        let (opts, more): (Vec<WOpts>, usize) = bincode::decode_from_slice(rest, config()).map_err(|e| match e {
            bincode::error::DecodeError::LimitExceeded | bincode::error::DecodeError::OutsideUsizeRange(_) => {
                ShareError::TooLarge
            }
            e => ShareError::Decode(e.to_string()),
        })?;
        if more != rest.len() {
            return Err(ShareError::Trailing(rest.len() - more));
        }
        if opts.is_empty() {
            // The writer never writes an empty list: its bytes would be a second spelling.
            return Err(ShareError::Trailing(rest.len()));
        }
        let mut last = None;
        for w in opts {
            let n = sc.sockets.len();
            if last.is_some_and(|l| w.sock <= l) || w.opts.is_empty() {
                return Err(ShareError::Invalid(format!("socket options of socket {} out of order or empty", w.sock)));
            }
            last = Some(w.sock);
            let Some(s) = sc.sockets.get_mut(w.sock as usize) else {
                return Err(ShareError::Invalid(format!("socket options of socket {} past the {n} sockets", w.sock)));
            };
            s.opts = w.opts.into_iter().map(unwopt).collect::<Result<_, _>>()?;
        }
    }
    Ok(sc)
}

/// The base64url share text of share bytes.
pub fn text_of(bytes: &[u8]) -> String {
    base64url::encode(bytes)
}

/// The share bytes of a share text (its length and alphabet checked).
pub fn bytes_of(text: &str) -> Result<Vec<u8>, ShareError> {
    if text.is_empty() {
        return Err(ShareError::Empty);
    }
    if text.len() > MAX_TEXT {
        return Err(ShareError::TooLong(text.len()));
    }
    base64url::decode(text).map_err(ShareError::Base64)
}

/// base64url without padding (RFC 4648 §5), strict as the `base64` crate's `URL_SAFE_NO_PAD`
/// is: no padding, no other characters, no length of 1 mod 4, unused trailing bits zero.
///
/// Hand-written rather than that crate because the crate's generic engine was 3.2 KB of the
/// browser's gzipped bundle (budget: 350 KB) for what is forty lines here; the tests check it
/// against the crate on arbitrary bytes and text.
mod base64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    pub fn encode(bytes: &[u8]) -> String {
        let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
        for chunk in bytes.chunks(3) {
            let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
            let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
            // 2, 3 or 4 characters for 1, 2 or 3 bytes.
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            }
        }
        out
    }

    fn value(c: u8) -> Option<u32> {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' => 62,
            b'_' => 63,
            _ => return None,
        };
        Some(u32::from(v))
    }

    pub fn decode(text: &str) -> Result<Vec<u8>, String> {
        let t = text.as_bytes();
        if let Some(at) = t.iter().position(|&c| value(c).is_none()) {
            // The whole character (the text is UTF-8; all before it is ASCII) at its offset.
            let ch = text.get(at..).and_then(|r| r.chars().next()).unwrap_or('?');
            return Err(format!("invalid character {ch:?} at offset {at}"));
        }
        if t.len() % 4 == 1 {
            return Err(format!("{} characters: no byte count gives that length", t.len()));
        }
        let mut out = Vec::with_capacity(t.len() / 4 * 3 + 2);
        for (k, chunk) in t.chunks(4).enumerate() {
            let mut n = 0u32;
            for (i, &c) in chunk.iter().enumerate() {
                n |= value(c).unwrap_or(0) << (18 - 6 * i);
            }
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            let len = chunk.len() - 1; // 4 characters: 3 bytes; 3: 2; 2: 1.
                                       // The bits after the last whole byte must be zero (one spelling per byte string).
            if len < 3 && bytes[len] != 0 {
                return Err(format!("invalid trailing bits at offset {}", 4 * k + chunk.len() - 1));
            }
            out.extend_from_slice(&bytes[..len]);
        }
        Ok(out)
    }
}

/// The base64url share text of a scenario.
pub fn encode(sc: &Scenario) -> String {
    text_of(&to_bytes(sc))
}

/// Read a share text (see [`encode`]).
pub fn decode(text: &str) -> Result<Scenario, ShareError> {
    from_bytes(&bytes_of(text)?)
}

/// The URL fragment (without `#`) that carries share text `text`: `s=<base64url>`.
pub fn fragment_of(text: &str) -> String {
    format!("{KEY}={text}")
}

/// The URL fragment (without `#`) that carries `sc`: `s=<base64url>`.
pub fn fragment(sc: &Scenario) -> String {
    fragment_of(&encode(sc))
}

/// The share text in a URL fragment (with or without its `#`): the value of the `s` key among
/// `&`-separated `key=value` pairs, if there is one.
pub fn find_in_fragment(fragment: &str) -> Option<&str> {
    let f = fragment.strip_prefix('#').unwrap_or(fragment);
    f.split('&').find_map(|kv| kv.strip_prefix(KEY).and_then(|v| v.strip_prefix('=')))
}

/// `fragment` with its `s` pair set to `value` (added, or replaced), other pairs kept in order;
/// `None` removes it.
pub fn set_in_fragment(fragment: &str, value: Option<&str>) -> String {
    let f = fragment.strip_prefix('#').unwrap_or(fragment);
    let mut parts: Vec<String> =
        f.split('&').filter(|kv| !kv.is_empty() && kv.split('=').next() != Some(KEY)).map(str::to_string).collect();
    if let Some(v) = value {
        parts.push(format!("{KEY}={v}"));
    }
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sample() -> Scenario {
        Scenario::from_json(
            r#"{ "description": "sample", "sockets": [
                { "name": "L", "type": "stream", "addr": "/tmp/s", "listen": 4,
                  "pending": [ { "client": "c", "sent": [ { "data": "early" } ] }, {} ] },
                { "name": "c", "type": "stream" },
                { "name": "a", "type": "seqpacket", "pair": "b", "shutdown": "wr",
                  "queue": [ { "hex": "00ff10" }, { "repeat": 100, "rights": ["d"] }, { "data": "h\u00e9" } ] },
                { "name": "b", "type": "seqpacket", "pair": "a", "sndbuf": 4096 },
                { "name": "d", "type": "dgram", "peer": "ghost", "no_fd": true },
                { "name": "i", "family": "inet6", "type": "dgram", "addr": "[::1]:53", "reuseport": true },
                { "name": "t", "family": "inet", "type": "stream", "rcvbuf": 8192, "rcvbuf_lock": true, "sndbuf_lock": true,
                  "opts": [ { "name": "linger", "value": { "on": false, "secs": 3 } }, { "name": "tcp_keep_cnt", "value": 4 },
                            { "name": "snd_buf", "value": 7 } ] } ] }"#,
        )
        .unwrap()
    }

    #[test]
    fn framing_keeps_the_shorter_form_and_names_unknown_formats() {
        let p = payload(&sample());
        // A "compressed" form that is not shorter is not used.
        assert_eq!(frame(&p, Some(&[0; 4096])), [&[FORMAT_RAW][..], &p].concat());
        assert_eq!(frame(&p, None)[0], FORMAT_RAW);
        assert_eq!(frame(&p, Some(&p[..3]))[..], [FORMAT_DEFLATE, p[0], p[1], p[2]]);
        assert_eq!(unframe(&frame(&p, None)), Ok(Framed::Raw(&p[..])));
        assert_eq!(unframe(&[FORMAT_DEFLATE, 7]), Ok(Framed::Deflated(&[7][..])));
        assert_eq!(unframe(&[]), Err(ShareError::Empty));
        assert_eq!(unframe(&[9, 1]), Err(ShareError::Format(9)));
        assert_eq!(from_payload(&p), Ok(sample()));
        assert_eq!(bytes_of(&text_of(&[1, 2, 3])), Ok(vec![1, 2, 3]));
        assert!(matches!(bytes_of("a+b"), Err(ShareError::Base64(_))));
    }

    #[test]
    fn round_trip_keeps_every_field_and_spelling() {
        let sc = sample();
        let text = encode(&sc);
        assert_eq!(decode(&text), Ok(sc.clone()));
        // Raw and deflated forms both read.
        let raw = encode_raw(&to_wire(&sc), &opts_to_wire(&sc));
        let mut b = vec![FORMAT_RAW];
        b.extend_from_slice(&raw);
        assert_eq!(from_bytes(&b), Ok(sc.clone()));
        let mut d = vec![FORMAT_DEFLATE];
        d.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(&raw, 6));
        assert_eq!(from_bytes(&d), Ok(sc));
    }

    #[test]
    fn the_smaller_form_is_chosen() {
        let tiny = Scenario::default();
        assert_eq!(to_bytes(&tiny)[0], FORMAT_RAW);
        let many = crate::synth::mixed(40);
        let b = to_bytes(&many);
        assert_eq!(b[0], FORMAT_DEFLATE);
        let raw = encode_raw(&to_wire(&many), &[]);
        assert!(b.len() < raw.len());
    }

    #[test]
    fn fragments_keep_other_keys() {
        assert_eq!(find_in_fragment("#s=abc"), Some("abc"));
        assert_eq!(find_in_fragment("fixture=x&step=2&s=abc"), Some("abc"));
        assert_eq!(find_in_fragment("#fixture=s&step=2"), None);
        assert_eq!(find_in_fragment("#sx=1"), None);
        assert_eq!(set_in_fragment("#fixture=x&s=old&step=2", Some("new")), "fixture=x&step=2&s=new");
        assert_eq!(set_in_fragment("#s=old", None), "");
        assert_eq!(set_in_fragment("", Some("v")), "s=v");
    }

    #[test]
    fn malformed_links_are_clear_errors() {
        assert_eq!(decode(""), Err(ShareError::Empty));
        assert_eq!(decode(&"A".repeat(MAX_TEXT + 1)), Err(ShareError::TooLong(MAX_TEXT + 1)));
        assert!(matches!(decode("ab+/"), Err(ShareError::Base64(_))));
        assert!(matches!(decode("abc="), Err(ShareError::Base64(_))));
        assert_eq!(bytes_of("ab\u{e9}c"), Err(ShareError::Base64("invalid character '\u{e9}' at offset 2".into())));
        assert_eq!(bytes_of("abcde"), Err(ShareError::Base64("5 characters: no byte count gives that length".into())));
        assert_eq!(bytes_of("AB"), Err(ShareError::Base64("invalid trailing bits at offset 1".into())));
        assert_eq!(bytes_of("AA"), Ok(vec![0]));
        assert_eq!(decode(&base64url::encode(&[9u8, 1, 2])), Err(ShareError::Format(9)));
        assert!(matches!(from_bytes(&[FORMAT_DEFLATE, 0xff, 0xff]), Err(ShareError::Inflate(_))));
        let mut b = to_bytes(&Scenario::default());
        b.push(0);
        assert_eq!(from_bytes(&b), Err(ShareError::Trailing(1)));
        // A reference past the sockets.
        let mut w = to_wire(&sample());
        w.sockets[0].peer = Some(Ref::At(99));
        let mut b = vec![FORMAT_RAW];
        b.extend(encode_raw(&w, &[]));
        assert!(matches!(from_bytes(&b), Err(ShareError::Invalid(m)) if m.contains("99")));
    }

    #[test]
    fn every_truncation_is_an_error() {
        for sc in [sample(), crate::synth::mixed(6)] {
            let b = to_bytes(&sc);
            for n in 0..b.len() {
                assert!(from_bytes(&b[..n]).is_err(), "{n} of {} bytes", b.len());
            }
        }
    }

    #[test]
    fn hostile_lengths_allocate_nothing_big() {
        // description: a string claiming u64::MAX bytes (varint tag 253 = u64 follows).
        let mut b = vec![FORMAT_RAW, 253];
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(from_bytes(&b), Err(ShareError::TooLarge));
        // sockets: a vector claiming 2^32 entries after empty strings and no tasks.
        let mut b = vec![FORMAT_RAW, 0, 0, 0, 0, 252];
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(from_bytes(&b), Err(ShareError::TooLarge));
        // … and one claiming a little more than the budget allows.
        let mut b = vec![FORMAT_RAW, 0, 0, 0, 0, 252];
        b.extend_from_slice(&((MAX_DECODED / std::mem::size_of::<WSock>() + 1) as u32).to_le_bytes());
        assert_eq!(from_bytes(&b), Err(ShareError::TooLarge));
        // A DEFLATE bomb: twice the limit in zeros, in a few kilobytes.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![0u8; 2 * MAX_BYTES], 9);
        assert!(bomb.len() < 16 << 10);
        let mut b = vec![FORMAT_DEFLATE];
        b.extend_from_slice(&bomb);
        assert!(matches!(from_bytes(&b), Err(ShareError::Inflate(_))));
        // `repeat` messages that would make gigabytes when the image is written.
        let mut sc = sample();
        sc.sockets[2].queue = (0..8).map(|_| MsgSpec { repeat: Some(1 << 28), ..Default::default() }).collect();
        assert!(matches!(decode(&encode(&sc)), Err(ShareError::TooMuchData(_))));
        // Many tiny sockets or messages: a short link for a huge image.
        let sc = Scenario {
            sockets: (0..MAX_SOCKETS + 1)
                .map(|i| SockSpec { name: i.to_string(), ty: SockType::Dgram, ..Default::default() })
                .collect(),
            ..Default::default()
        };
        let text = encode(&sc);
        assert!(text.len() < 200_000, "{}", text.len());
        let got = decode(&text);
        assert!(matches!(got, Err(ShareError::TooMany(n, _, MAX_SOCKETS)) if n == MAX_SOCKETS + 1), "{got:?}");
        let mut sc = sample();
        sc.sockets[0].queue = vec![MsgSpec::default(); MAX_MESSAGES + 1];
        assert!(matches!(decode(&encode(&sc)), Err(ShareError::TooMany(_, "queued messages", _))));
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = from_bytes(&bytes);
                let _ = decode(&base64url::encode(&bytes));
            }

            #[test]
            fn base64url_agrees_with_the_base64_crate_on_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
                use base64::Engine as _;
                let oracle = base64::engine::general_purpose::URL_SAFE_NO_PAD;
                let text = base64url::encode(&bytes);
                prop_assert_eq!(&text, &oracle.encode(&bytes));
                prop_assert_eq!(base64url::decode(&text), Ok(bytes));
            }

            #[test]
            fn base64url_accepts_and_refuses_what_the_base64_crate_does(
                text in "[A-Za-z0-9_=+/!-]{0,40}|[A-Za-z0-9_-]{0,40}|.{0,12}",
            ) {
                use base64::Engine as _;
                let oracle = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&text);
                let ours = base64url::decode(&text);
                prop_assert_eq!(ours.as_ref().ok(), oracle.as_ref().ok(), "{:?}: {:?} vs {:?}", text, ours, oracle);
            }

            #[test]
            fn arbitrary_text_never_panics(text in ".{0,300}") {
                let _ = decode(&text);
                let _ = find_in_fragment(&text);
            }

            #[test]
            fn corrupted_links_fail_or_decode_to_a_writable_scenario(
                n in 1usize..30, flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..4),
            ) {
                let mut b = to_bytes(&crate::synth::mixed(n));
                for (at, x) in flips {
                    let i = at % b.len();
                    b[i] ^= x;
                }
                if let Ok(sc) = from_bytes(&b) {
                    // Whatever survives is bounded: writing it cannot be huge.
                    if let Ok(img) = sc.to_image() {
                        prop_assert!(img.len() < 64 << 20);
                    }
                }
            }

            #[test]
            fn generated_scenarios_round_trip(n in 0usize..60) {
                let sc = crate::synth::mixed(n);
                prop_assert_eq!(decode(&encode(&sc)), Ok(sc));
            }
        }
    }
}
