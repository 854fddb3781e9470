//! The socket-level model of an image, and the single pass that builds it while validating.
//!
//! [`load`] walks the records once (a small grammar state machine, see `docs/format.md`), builds
//! an [`Image`] as complete as the input allows, and then runs the semantic checks on the model.
//! Payloads are borrowed from the input (`Cow::Borrowed`); nothing is allocated in proportion to
//! a length field: every vector grows by one entry per record actually present.

use crate::diag::{Code, Diagnostic};
use crate::wire::{self, *};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// `net.core.somaxconn` default, the clamp `listen()` applies to its backlog.
pub const SOMAXCONN: i64 = 4096;
/// `net.unix.max_dgram_qlen` default, the initial `sk_max_ack_backlog` of every AF_UNIX socket.
pub const MAX_DGRAM_QLEN: i64 = 10;

/// An AF_UNIX socket name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum UnixAddr {
    /// Not bound (`addr_len` 0 or 2).
    Unnamed,
    /// A filesystem name (without its NUL). Boxed slices, not `Vec`s: no capacity word, so a
    /// `Sock` of the loaded model stays small (`docs/benchmarks.md`).
    Path(Box<[u8]>),
    /// An abstract name (without the leading NUL; may contain NULs).
    Abstract(Box<[u8]>),
}

impl UnixAddr {
    /// Decode `(len, family, sun_path)` as stored in `SOCKET_UNIX`.
    pub fn decode(len: u32, family: u16, path: &[u8; 108]) -> Result<UnixAddr, String> {
        if (len == 0 && family == 0) || (len == 2 && family == AF_UNIX) {
            return if all_zero(path) {
                Ok(UnixAddr::Unnamed)
            } else {
                Err("unnamed address with non-zero sun_path bytes".into())
            };
        }
        if len < 2 {
            return Err(format!("address length {len} is less than sizeof(sa_family_t)"));
        }
        if family != AF_UNIX {
            return Err(format!("address family {family} in an AF_UNIX socket"));
        }
        let name_len = (len - 2) as usize;
        if path[0] == 0 {
            if name_len > 108 {
                return Err(format!("abstract name of {name_len} bytes, at most 108 fit"));
            }
            if !all_zero(&path[name_len..]) {
                return Err("bytes after the abstract name are not zero".into());
            }
            return Ok(UnixAddr::Abstract(path[1..name_len].into()));
        }
        let strlen = path.iter().position(|&b| b == 0).unwrap_or(108);
        let expect = 2 + strlen as u32 + 1;
        if len != expect {
            return Err(format!("path of {strlen} bytes needs address length {expect} (2 + path + NUL), found {len}"));
        }
        if !all_zero(&path[strlen..]) {
            return Err("bytes after the path's NUL are not zero".into());
        }
        Ok(UnixAddr::Path(path[..strlen].into()))
    }

    /// Encode as `(len, family, sun_path)`.
    pub fn encode(&self) -> (u32, u16, [u8; 108]) {
        let mut p = [0u8; 108];
        match self {
            UnixAddr::Unnamed => (0, 0, p),
            UnixAddr::Path(b) => {
                let n = b.len().min(108);
                p[..n].copy_from_slice(&b[..n]);
                (2 + n as u32 + 1, AF_UNIX, p)
            }
            UnixAddr::Abstract(b) => {
                let n = b.len().min(107);
                p[1..1 + n].copy_from_slice(&b[..n]);
                (2 + 1 + n as u32, AF_UNIX, p)
            }
        }
    }

    /// True when bound to something.
    pub fn is_named(&self) -> bool {
        !matches!(self, UnixAddr::Unnamed)
    }

    /// Human spelling: `/path`, `@abstract` (NULs inside shown as `@`, as in `/proc/net/unix`),
    /// or `(unnamed)`.
    pub fn display(&self) -> String {
        match self {
            UnixAddr::Unnamed => "(unnamed)".into(),
            UnixAddr::Path(p) => crate::bstr::escape(p),
            UnixAddr::Abstract(a) => {
                let shown: Vec<u8> = a.iter().map(|&b| if b == 0 { b'@' } else { b }).collect();
                format!("@{}", crate::bstr::escape(&shown))
            }
        }
    }

    /// True for a relative path name.
    pub fn is_relative_path(&self) -> bool {
        matches!(self, UnixAddr::Path(p) if p.first() != Some(&b'/'))
    }

    /// True for an autobind-shaped name: abstract, exactly 5 lowercase hex digits.
    pub fn is_autobind_shape(&self) -> bool {
        matches!(self, UnixAddr::Abstract(a) if a.len() == 5 && a.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)))
    }
}

/// The AF_UNIX part of a socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixPart {
    /// Objref of the peer, 0 for none.
    pub peer: i32,
    /// `peercred` objref (kept, not interpreted).
    pub peercred: i32,
    /// `flags` (`LINKED`, `ACCEPTED`, `AUTOBIND`, `PEER_GONE`, `EXTERNAL_PEER`).
    pub flags: u32,
    /// Own name.
    pub laddr: UnixAddr,
    /// Peer's name as recorded.
    pub raddr: UnixAddr,
    /// Directory a relative `laddr` was bound in (the `STRING` after `SOCKET_UNIX`).
    pub cwd: Option<Box<[u8]>>,
}

impl UnixPart {
    /// Flag test.
    pub fn has(&self, flag: u32) -> bool {
        self.flags & flag != 0
    }
}

/// One queued skb.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Objref of the sending socket, 0 if it is not in the image (closed).
    pub sender: i32,
    /// The bytes.
    pub data: Cow<'a, [u8]>,
    /// File objrefs passed with SCM_RIGHTS.
    pub rights: Vec<i32>,
    /// Offset of the `SOCKET_BUFFER` record.
    pub offset: usize,
}

/// A not-yet-accepted connection of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingConn {
    /// The embryo: the socket `accept()` will return.
    pub embryo: i32,
    /// The connecting socket, 0 if it has closed since.
    pub client: i32,
    /// Offset of the `RS_PENDING` record.
    pub offset: usize,
}

/// A socket object.
#[derive(Debug, Clone, PartialEq)]
pub struct Sock<'a> {
    /// Its objref.
    pub objref: i32,
    /// Offset of its `SOCKET` record.
    pub offset: usize,
    /// Index of its `SOCKET` record.
    pub record: usize,
    /// The common state, as recorded.
    pub common: SocketRepr,
    /// AF_UNIX part, once its record was seen.
    pub unix: Option<UnixPart>,
    /// AF_INET part (boxed: AF_UNIX sockets, the common case, do not carry its 328 bytes).
    pub inet: Option<Box<SocketInetRepr>>,
    /// Receive queue, head first.
    pub queue: Vec<Message<'a>>,
    /// For listeners: pending connections in accept order.
    pub pending: Vec<PendingConn>,
    /// Its `RS_SOCKOPT` record, if it has one (boxed: most sockets have none).
    pub opts: Option<Box<RecordedOpts>>,
    /// Its `RS_OOB` record, if it has one: which skb of its queue is the out-of-band byte.
    pub oob: Option<OobMark>,
}

/// The out-of-band byte pending on a stream socket (`RS_OOB`): skb `index` of its queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OobMark {
    /// The skb of the queue (a 1-byte one) that was sent with `MSG_OOB` and not yet read.
    pub index: u32,
    /// Offset of the `RS_OOB` record.
    pub offset: usize,
}

/// The options an `RS_SOCKOPT` record gives one socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedOpts {
    /// One value per recorded option, in `OptName` order.
    pub opts: Vec<crate::sim::SockOpt>,
    /// Offset of the `RS_SOCKOPT` record.
    pub offset: usize,
}

impl Sock<'_> {
    /// `SOCK_STREAM`/`SOCK_SEQPACKET`: connection-oriented.
    pub fn is_connection_oriented(&self) -> bool {
        matches!(self.common.sock_type, SOCK_STREAM | SOCK_SEQPACKET)
    }
    /// Listening.
    pub fn is_listener(&self) -> bool {
        self.common.state == TCP_LISTEN
    }
    /// The peer objref, 0 for none.
    pub fn peer(&self) -> i32 {
        self.unix.as_ref().map_or(0, |u| u.peer)
    }
    /// The kernel's `sk_sndbuf`: the image stores half of it, the `setsockopt` argument.
    pub fn sndbuf_bytes(&self) -> i64 {
        2 * i64::from(self.common.sndbuf)
    }
    /// `listen()` backlog as the kernel holds it after the somaxconn clamp.
    pub fn effective_backlog(&self) -> i64 {
        clamp_backlog(i64::from(self.common.backlog))
    }
    /// Own name, if AF_UNIX.
    pub fn laddr(&self) -> Option<&UnixAddr> {
        self.unix.as_ref().map(|u| &u.laddr)
    }
    /// Total queued bytes.
    pub fn queued_bytes(&self) -> usize {
        self.queue.iter().map(|m| m.data.len()).sum()
    }
}

/// `listen()`'s clamp: `(unsigned)backlog > somaxconn` becomes somaxconn.
pub fn clamp_backlog(backlog: i64) -> i64 {
    if !(0..=SOMAXCONN).contains(&backlog) {
        SOMAXCONN
    } else {
        backlog
    }
}

/// A socket file object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileObj {
    /// Its objref.
    pub objref: i32,
    /// The record.
    pub repr: FileSocketRepr,
    /// Offset of the `FILE` record.
    pub offset: usize,
}

/// One open descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fd {
    /// The descriptor number.
    pub fd: i32,
    /// File objref.
    pub file: i32,
    /// `FD_CLOEXEC`.
    pub cloexec: bool,
    /// Offset of the `FILE_DESC` record.
    pub offset: usize,
}

/// A file table (one per task).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileTable {
    /// Its objref.
    pub objref: i32,
    /// `fdt_nfds` as recorded.
    pub nfds: i32,
    /// Offset of the `FILE_TABLE` record.
    pub offset: usize,
    /// `FILE_DESC` records read for it (including ones rejected for other reasons).
    pub desc_records: usize,
    /// Owner pid from `RS_TASK`, if any.
    pub pid: Option<i32>,
    /// Descriptors in record order.
    pub fds: Vec<Fd>,
}

/// A record this version does not understand, kept byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownRecord<'a> {
    /// Index.
    pub record: usize,
    /// Offset.
    pub offset: usize,
    /// Type number.
    pub ty: RecordType,
    /// Payload (after the header).
    pub payload: Cow<'a, [u8]>,
}

/// The header facts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct HeaderInfo {
    /// The HEADER record.
    pub repr: HeaderRepr,
    /// uts release, version, machine (NULs trimmed).
    pub uts: Vec<Vec<u8>>,
}

/// What kind of object an objref names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjKind {
    /// `CKPT_OBJ_FILE_TABLE`.
    FileTable,
    /// `CKPT_OBJ_FILE`.
    File,
    /// `CKPT_OBJ_SOCK`.
    Sock,
}

impl ObjKind {
    fn name(self) -> &'static str {
        match self {
            ObjKind::FileTable => "FILE_TABLE",
            ObjKind::File => "FILE",
            ObjKind::Sock => "SOCK",
        }
    }
}

/// The model of an image.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Image<'a> {
    /// Header facts.
    pub header: HeaderInfo,
    /// Sockets by objref.
    pub sockets: Sockets<'a>,
    /// Socket files by objref.
    pub files: Files,
    /// File tables in image order.
    pub tables: Vec<FileTable>,
    /// Records kept without being understood.
    pub unknown: Vec<UnknownRecord<'a>>,
    /// Number of records.
    pub record_count: usize,
    /// Image size in bytes.
    pub size: usize,
    /// The framing broke: records after the break were not read.
    pub framing_error: bool,
}

impl Image<'_> {
    /// Objrefs of sockets that some fd names, with (table index, fd).
    pub fn fd_holders(&self) -> BTreeMap<i32, Vec<(usize, i32)>> {
        let mut out: BTreeMap<i32, Vec<(usize, i32)>> = BTreeMap::new();
        for (ti, t) in self.tables.iter().enumerate() {
            for fd in &t.fds {
                if let Some(f) = self.files.get(&fd.file) {
                    out.entry(f.repr.sock_objref).or_default().push((ti, fd.fd));
                }
            }
        }
        out
    }

    /// Socket objrefs that are embryos of some listener.
    pub fn embryos(&self) -> BTreeSet<i32> {
        crate::order::set(self.sockets.values().flat_map(|s| s.pending.iter().map(|p| p.embryo)))
    }

    /// Detach from the input buffer.
    pub fn into_owned(self) -> Image<'static> {
        Image {
            header: self.header,
            sockets: self
                .sockets
                .into_vec()
                .into_iter()
                .map(|s| {
                    let queue = s
                        .queue
                        .into_iter()
                        .map(|m| Message {
                            sender: m.sender,
                            data: Cow::Owned(m.data.into_owned()),
                            rights: m.rights,
                            offset: m.offset,
                        })
                        .collect();
                    Sock {
                        objref: s.objref,
                        offset: s.offset,
                        record: s.record,
                        common: s.common,
                        unix: s.unix,
                        inet: s.inet,
                        queue,
                        pending: s.pending,
                        opts: s.opts,
                        oob: s.oob,
                    }
                })
                .collect(),
            files: self.files,
            tables: self.tables,
            unknown: self
                .unknown
                .into_iter()
                .map(|u| UnknownRecord {
                    record: u.record,
                    offset: u.offset,
                    ty: u.ty,
                    payload: Cow::Owned(u.payload.into_owned()),
                })
                .collect(),
            record_count: self.record_count,
            size: self.size,
            framing_error: self.framing_error,
        }
    }
}

/// The result of [`load`]: the model (as complete as the input allowed) and the diagnostics.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<'a> {
    /// The model.
    pub image: Image<'a>,
    /// Findings, in the order of the bytes they concern.
    pub diagnostics: Vec<Diagnostic>,
}

impl Report<'_> {
    /// No errors (warnings allowed).
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
    /// Number of errors.
    pub fn error_count(&self) -> usize {
        self.diagnostics.iter().filter(|d| d.is_error()).count()
    }
    /// Number of warnings.
    pub fn warning_count(&self) -> usize {
        self.diagnostics.len() - self.error_count()
    }
}

/// Byte range of field `name` of a record at `offset`.
pub fn field_range(offset: usize, layout: &Layout, name: &str) -> Range<usize> {
    layout
        .fields
        .iter()
        .find(|f| f.name == name)
        .map_or(offset..offset + layout.size, |f| offset + f.offset..offset + f.offset + f.size)
}

/// [`Layout::padding`] of every layout, computed once (not once per record).
fn padding_of(layout: &Layout) -> &'static [Range<usize>] {
    static PADS: std::sync::OnceLock<Vec<(RecordType, Vec<Range<usize>>)>> = std::sync::OnceLock::new();
    let pads = PADS.get_or_init(|| LAYOUTS.iter().map(|l| (l.ty, l.padding())).collect());
    wire::layout_index(layout.ty).and_then(|i| pads.get(i)).map_or(&[], |(_, p)| p)
}

/// True when every byte is zero (eight at a time).
fn all_zero(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    let mut acc = 0u64;
    for c in &mut chunks {
        acc |= u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    }
    acc == 0 && chunks.remainder().iter().all(|&x| x == 0)
}

/// Per layout: the words that hold padding, as (byte offset, little-endian mask with 0xff over
/// every padding byte); words without padding are left out (SOCKET_UNIX: 3 of 32).
fn padding_mask_of(layout_index: Option<usize>) -> &'static [(usize, u64)] {
    type Masks = Vec<(RecordType, Vec<(usize, u64)>)>;
    static MASKS: std::sync::OnceLock<Masks> = std::sync::OnceLock::new();
    let masks = MASKS.get_or_init(|| {
        LAYOUTS
            .iter()
            .map(|l| {
                let mut bytes = vec![0u8; l.size.div_ceil(8) * 8];
                for r in l.padding() {
                    bytes[r].fill(0xff);
                }
                let words = bytes
                    .chunks_exact(8)
                    .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
                    .enumerate()
                    .filter(|&(_, m)| m != 0)
                    .map(|(i, m)| (8 * i, m))
                    .collect();
                (l.ty, words)
            })
            .collect()
    });
    layout_index.and_then(|i| masks.get(i)).map_or(&[], |(_, m)| m)
}

/// `SOCKET_UNIX`'s fields but the two `sun_path`s.
struct UnixScalars {
    this: i32,
    peer: i32,
    peercred: i32,
    flags: u32,
    laddr_len: u32,
    raddr_len: u32,
    laddr_family: u16,
    raddr_family: u16,
}

/// Offsets of `laddr_path` and `raddr_path` in `SOCKET_UNIX` (checked against the layout in a
/// test).
const LADDR_PATH: usize = 34;
const RADDR_PATH: usize = 144;

/// The 108-byte `sun_path` at `off` of a record whose size was checked (zeros if it is short).
fn sun_path(rec: &[u8], off: usize) -> &[u8; 108] {
    rec.get(off..off + 108).and_then(|s| s.try_into().ok()).unwrap_or(&[0; 108])
}

/// Make room for one more element, doubling from one: most listeners hold one or two pending
/// connections, and `Vec::push` would start at four.
fn grow_exact<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len().max(1));
    }
}

/// fd numbers of one file table: a bit set for fds below 2^20 (128 KiB at most, grown only to
/// the largest fd seen), a B-tree set above.
#[derive(Debug, Default)]
struct FdSet {
    bits: Vec<u64>,
    big: BTreeSet<i32>,
}

impl FdSet {
    /// Add `fd`; false if it was there.
    fn insert(&mut self, fd: i32) -> bool {
        match usize::try_from(fd) {
            Ok(i) if i < 1 << 20 => {
                let (w, b) = (i / 64, i % 64);
                if self.bits.len() <= w {
                    self.bits.resize(w + 1, 0);
                }
                let was = self.bits[w] & (1 << b) != 0;
                self.bits[w] |= 1 << b;
                !was
            }
            _ => self.big.insert(fd),
        }
    }
    fn clear(&mut self) {
        self.bits.clear();
        self.big.clear();
    }
}

/// Objref table: dense for the usual 1, 2, 3… numbering, a map otherwise. Grows one entry per
/// OBJREF record, never by a number read from the file.
#[derive(Debug, Default)]
struct ObjTable {
    dense: Vec<ObjKind>,
    /// The kind as a number (`ObjKind as u32`): the same map type as [`Slots`]' (one B-tree
    /// instance fewer in the browser's bundle).
    sparse: BTreeMap<i32, u32>,
}

impl ObjTable {
    fn get(&self, objref: i32) -> Option<ObjKind> {
        if objref >= 1 && (objref as usize) <= self.dense.len() {
            return self.dense.get(objref as usize - 1).copied();
        }
        self.sparse.get(&objref).map(|&k| match k {
            0 => ObjKind::FileTable,
            1 => ObjKind::File,
            _ => ObjKind::Sock,
        })
    }
    fn insert(&mut self, objref: i32, kind: ObjKind) {
        if objref as usize == self.dense.len() + 1 && self.sparse.is_empty() {
            self.dense.push(kind);
        } else {
            self.sparse.insert(objref, kind as u32);
        }
    }
}

/// Position of each socket in `Loader::socks` by objref: dense over the objref table's dense
/// range, a map otherwise. Like [`ObjTable`], it grows with the records present only.
#[derive(Debug, Default)]
struct Slots {
    dense: Vec<u32>,
    sparse: BTreeMap<i32, u32>,
}

impl Slots {
    fn get(&self, objref: i32) -> Option<usize> {
        let i = usize::try_from(objref).ok().and_then(|o| o.checked_sub(1));
        match i.and_then(|i| self.dense.get(i)) {
            Some(&p) if p != 0 => Some(p as usize - 1),
            _ => self.sparse.get(&objref).map(|&p| p as usize),
        }
    }
    fn insert(&mut self, objref: i32, pos: usize, dense_len: usize) {
        if objref >= 1 && objref as usize <= dense_len {
            if self.dense.len() < dense_len {
                self.dense.resize(dense_len, 0);
            }
            self.dense[objref as usize - 1] = pos as u32 + 1;
        } else {
            self.sparse.insert(objref, pos as u32);
        }
    }
}

#[derive(Debug)]
enum Open {
    /// OBJREF{SOCK} seen: the next record must be its SOCKET.
    Socket(i32, usize),
    /// SOCKET seen: its family record is due (nested definitions may come first).
    Family(i32, usize),
    /// OBJREF{FILE} seen: its FILE record is due.
    File(i32, usize),
    /// OBJREF{FILE_TABLE} seen: the next record must be FILE_TABLE.
    Table(i32, usize),
}

#[derive(Debug)]
struct QueueState {
    offset: usize,
    record: usize,
    count: u32,
    bytes: u32,
    seen: u32,
    seen_bytes: u64,
    owner: Option<i32>,
    over: bool,
    lenient: bool,
}

#[derive(Debug)]
struct BufState {
    offset: usize,
    sender: i32,
    owner: i32,
    lin_len: u32,
}

struct Loader<'a> {
    img: Image<'a>,
    diags: Vec<Diagnostic>,
    objs: ObjTable,
    /// Sockets in definition order; they become `img.sockets` at the end (no move when in
    /// objref order, the usual case).
    socks: Chunks<Sock<'a>>,
    slots: Slots,
    stack: Vec<Open>,
    uts_due: u8,
    uts_lens: [u16; 3],
    cwd_due: Option<i32>,
    queue: Option<QueueState>,
    buf: Option<BufState>,
    /// The message the last BUFFER queued (index in `msgs`), for its RS_RIGHTS.
    last_msg: Option<usize>,
    /// Queued messages with the position of their socket in `socks`, in image order: attached
    /// to the sockets in `finish`. Images put the queues after the definitions, so writing each
    /// message into its long-written `Sock` as it came was a cache miss per message; at the end
    /// the sockets are visited in order, and each queue is allocated once at its exact size.
    msgs: Vec<(usize, Message<'a>)>,
    cur_table: Option<usize>,
    tail: bool,
    idx: usize,
    error_string_due: bool,
    missing_header: bool,
    /// fd numbers seen in the current file table.
    cur_fds: FdSet,
    /// FILE objects in record order (objrefs are unique: the OBJREF table said so).
    files: Chunks<FileObj>,
}

/// Parse and validate an image in one pass. Never panics; every problem becomes a diagnostic.
pub fn load(bytes: &[u8]) -> Report<'_> {
    let mut job = LoadJob::new(bytes);
    while !job.advance(usize::MAX) {}
    job.finish()
}

/// [`load`] in resumable slices, for a caller that must not be busy for the whole image at once
/// (the browser inspector): [`LoadJob::advance`] reads at most a given number of records and
/// [`LoadJob::finish`] runs the end-of-image and whole-image checks. The result is the same
/// report as `load`'s, however the records are sliced.
pub struct LoadJob<'a> {
    bytes: &'a [u8],
    records: Records<'a>,
    l: Loader<'a>,
    /// End of the last whole record read.
    end: usize,
    /// Records read (including the one whose framing failed).
    idx: usize,
    /// No more records to read; `Some(true)` when the framing failed.
    done: Option<bool>,
}

impl std::fmt::Debug for LoadJob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadJob")
            .field("len", &self.bytes.len())
            .field("position", &self.position())
            .field("records", &self.idx)
            .field("done", &self.done)
            .finish()
    }
}

impl<'a> LoadJob<'a> {
    /// Start loading `bytes`; nothing is read yet.
    pub fn new(bytes: &'a [u8]) -> Self {
        let l = Loader {
            img: Image { size: bytes.len(), ..Image::default() },
            diags: Vec::new(),
            objs: ObjTable::default(),
            socks: Chunks::default(),
            slots: Slots::default(),
            stack: Vec::new(),
            uts_due: 0,
            uts_lens: [0; 3],
            cwd_due: None,
            queue: None,
            buf: None,
            last_msg: None,
            msgs: Vec::new(),
            cur_table: None,
            tail: false,
            idx: 0,
            error_string_due: false,
            missing_header: false,
            cur_fds: FdSet::default(),
            files: Chunks::default(),
        };
        LoadJob { bytes, records: Records::new(bytes), l, end: 0, idx: 0, done: None }
    }

    /// Bytes framed so far (for progress).
    pub fn position(&self) -> usize {
        if self.done.is_some() {
            self.bytes.len()
        } else {
            self.records.position()
        }
    }

    /// Read up to `max_records` more records; `true` when every record has been read (then
    /// call [`LoadJob::finish`]).
    pub fn advance(&mut self, max_records: usize) -> bool {
        if self.done.is_some() {
            return true;
        }
        let l = &mut self.l;
        for _ in 0..max_records {
            let idx = self.idx;
            let Some(rec) = self.records.next() else {
                self.done = Some(false);
                return true;
            };
            l.idx = idx;
            self.idx += 1;
            match rec {
                Ok(rec) => {
                    self.end = rec.offset + rec.len();
                    l.record(rec);
                }
                Err(e) => {
                    let (code, range) = match e {
                        WireError::TruncatedHeader { offset, .. } => (Code::Truncated, offset..self.bytes.len()),
                        WireError::LenTooSmall { offset, .. } => (Code::LenTooSmall, offset + 4..offset + 8),
                        WireError::PastEnd { offset, .. } => (Code::LenPastEnd, offset + 4..offset + 8),
                        _ => (Code::Truncated, e.offset()..self.bytes.len()),
                    };
                    l.diag(Diagnostic::new(code, range, e.to_string()).record(idx));
                    self.end = self.bytes.len();
                    l.tail = true; // nothing can be said about what follows
                    l.img.framing_error = true;
                    l.img.record_count = idx + 1;
                    self.done = Some(true);
                    return true;
                }
            }
            l.img.record_count = idx + 1;
        }
        false
    }

    /// Read what is left and run the end-of-image and whole-image checks.
    pub fn finish(mut self) -> Report<'a> {
        while !self.advance(usize::MAX) {}
        let framing_failed = self.done == Some(true);
        self.l.finish(self.end, framing_failed);
        self.l.into_report()
    }
}

impl<'a> Loader<'a> {
    fn diag(&mut self, d: Diagnostic) {
        self.diags.push(d);
    }

    fn into_report(mut self) -> Report<'a> {
        crate::order::sort_by_rank(&mut self.diags, |d| {
            crate::order::rank_pair(d.range.start as u64, d.range.end as u64)
        });
        Report { image: self.img, diagnostics: self.diags }
    }

    fn err(&mut self, code: Code, range: Range<usize>, msg: impl Into<String>) {
        let d = Diagnostic::new(code, range, msg).record(self.idx);
        self.diags.push(d);
    }

    fn check_padding(&mut self, rec: &Record<'_>, layout: &Layout) {
        self.check_padding_at(rec, layout, wire::layout_index(layout.ty));
    }

    /// [`Loader::check_padding`] with the layout's index in [`LAYOUTS`] already known.
    fn check_padding_at(&mut self, rec: &Record<'_>, layout: &Layout, layout_index: Option<usize>) {
        // Fast path: the record's words ANDed with the layout's padding mask.
        // (A word past a short record reads as zero; callers check the size first.)
        let dirty = padding_mask_of(layout_index).iter().any(|&(o, m)| wire::le_u64(rec.bytes, o) & m != 0);
        if !dirty {
            return;
        }
        for r in padding_of(layout).iter().cloned() {
            if rec.bytes.get(r.clone()).is_some_and(|s| !all_zero(s)) {
                self.err(
                    Code::NonzeroPadding,
                    rec.offset + r.start..rec.offset + r.end,
                    format!("{} has non-zero padding at bytes {}..{}", rec.ty, r.start, r.end),
                );
            }
        }
    }

    /// Check an objref field: introduced, of the expected kind. `Ok(true)` when usable.
    fn check_ref(&mut self, objref: i32, want: ObjKind, range: Range<usize>, what: &str) -> bool {
        if objref <= 0 {
            self.err(Code::ObjrefNonpositive, range, format!("{what} objref {objref} is not positive"));
            return false;
        }
        match self.objs.get(objref) {
            None => {
                self.err(
                    Code::ObjrefDangling,
                    range,
                    format!("{what} objref {objref} was not introduced by an earlier OBJREF"),
                );
                false
            }
            Some(k) if k != want => {
                self.err(
                    Code::ObjrefWrongType,
                    range,
                    format!("{what} objref {objref} is a {}, expected a {}", k.name(), want.name()),
                );
                false
            }
            Some(_) => true,
        }
    }

    fn close_open_socket_defs(&mut self, rec: &Record<'_>) {
        // A record that cannot appear inside an object definition closes the open ones.
        while let Some(top) = self.stack.pop() {
            match top {
                Open::Family(objref, off) => self.diags.push(
                    Diagnostic::new(
                        Code::SocketWithoutFamily,
                        off..off + SOCKET_LAYOUT.size,
                        format!("SOCKET {objref} is not followed by its family record ({} came first)", rec.ty),
                    )
                    .objref(objref),
                ),
                Open::Socket(objref, off) => self.diags.push(Diagnostic::new(
                    Code::MisplacedRecord,
                    off..off + OBJREF_LAYOUT.size,
                    format!("OBJREF {objref} of type SOCK is not followed by a SOCKET record"),
                )),
                Open::File(objref, off) => self.diags.push(Diagnostic::new(
                    Code::MisplacedRecord,
                    off..off + OBJREF_LAYOUT.size,
                    format!("OBJREF {objref} of type FILE is not followed by its FILE record"),
                )),
                Open::Table(objref, off) => self.diags.push(Diagnostic::new(
                    Code::MisplacedRecord,
                    off..off + OBJREF_LAYOUT.size,
                    format!("OBJREF {objref} of type FILE_TABLE is not followed by a FILE_TABLE record"),
                )),
            }
        }
    }

    /// Socket definitions still waiting for their family record when a record that closes an
    /// outer definition (FILE) arrives: report each, then let the outer one close.
    fn pop_unfinished_sockets(&mut self, rec: &Record<'_>) {
        while let Some(Open::Family(objref, off)) = self.stack.last() {
            let (objref, off) = (*objref, *off);
            self.stack.pop();
            self.diags.push(
                Diagnostic::new(
                    Code::SocketWithoutFamily,
                    off..off + SOCKET_LAYOUT.size,
                    format!("SOCKET {objref} is not followed by its family record ({} came first)", rec.ty),
                )
                .objref(objref),
            );
        }
    }

    fn close_queue(&mut self, at: usize) {
        if let Some(q) = self.queue.take() {
            if q.seen != q.count && !q.over {
                self.diags.push(
                    Diagnostic::new(
                        Code::QueueCountMismatch,
                        q.offset + 8..q.offset + 12,
                        format!(
                            "SOCKET_QUEUE declares {} buffers but {} follow it (queue ends at {at:#x})",
                            q.count, q.seen
                        ),
                    )
                    .record(q.record),
                );
            }
            if u64::from(q.bytes) != q.seen_bytes && !q.lenient {
                self.diags.push(
                    Diagnostic::new(
                        Code::QueueBytesMismatch,
                        q.offset + 12..q.offset + 16,
                        format!("SOCKET_QUEUE declares {} bytes but its buffers hold {}", q.bytes, q.seen_bytes),
                    )
                    .record(q.record),
                );
            }
        }
    }

    fn record(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        if self.tail {
            self.err(Code::DataAfterTail, rec.range(), format!("{} record after the TAIL", rec.ty));
            return;
        }
        // Header and uts buffers.
        if self.idx == 0 {
            if rec.ty != RecordType::HEADER {
                self.err(Code::MissingHeader, rec.range(), format!("the image starts with {}, not HEADER", rec.ty));
                if rec.ty == RecordType::BUFFER {
                    // The header alone is lost: take the leading BUFFERs as the uts strings.
                    self.uts_lens = [rec.payload().len() as u16; 3];
                    self.uts_due = 3;
                    self.missing_header = true;
                }
            } else {
                self.header(rec);
                return;
            }
        } else if rec.ty == RecordType::HEADER {
            self.err(Code::MisplacedRecord, rec.range(), "a second HEADER record");
            return;
        }
        if self.uts_due > 0 {
            let i = 3 - self.uts_due as usize;
            let want = self.uts_lens[i] as usize;
            let len_ok = rec.payload().len() == want || self.missing_header;
            if rec.ty != RecordType::BUFFER || !len_ok {
                self.err(
                    Code::BadUts,
                    rec.range(),
                    format!(
                        "uts buffer {} of {want} bytes expected, found {} of {} bytes",
                        i + 1,
                        rec.ty,
                        rec.payload().len()
                    ),
                );
                // Count a BUFFER of the wrong size as the uts string it stands in for, so the
                // next ones are not reported again as misplaced.
                if rec.ty == RecordType::BUFFER {
                    self.uts_due -= 1;
                    return;
                }
                self.uts_due = 0;
            } else {
                let p = rec.payload();
                let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
                self.img.header.uts.push(p[..end].to_vec());
                self.uts_due -= 1;
                return;
            }
        }

        // Fixed-size records: exact length first.
        let layout_index = wire::layout_index(rec.ty);
        if let Some(layout) = layout_index.and_then(|i| LAYOUTS.get(i)) {
            let size_ok = if rec.ty == RecordType::FILE {
                // A FILE of another f_type has the 48-byte generic layout.
                rec.len() == layout.size || (rec.len() == 48 && le_u32(rec.bytes, 8) != FILE_SOCKET)
            } else {
                rec.len() == layout.size
            };
            if !size_ok {
                self.err(
                    Code::WrongSize,
                    off + 4..off + 8,
                    format!("{} record has len {}, its layout is {} bytes", rec.ty, rec.len(), layout.size),
                );
                self.after_bad_record(&rec);
                return;
            }
            if rec.len() == layout.size {
                self.check_padding_at(&rec, layout, layout_index);
            }
        }

        if rec.ty != RecordType::STRING {
            self.error_string_due = false;
        }
        // Where records may appear: definition nesting, queues, cwd strings.
        let nested_ok = matches!(
            rec.ty,
            RecordType::OBJREF
                | RecordType::SOCKET
                | RecordType::SOCKET_UNIX
                | RecordType::SOCKET_INET
                | RecordType::FILE
                | RecordType::FILE_TABLE
        ) || (rec.ty == RecordType::STRING && (self.cwd_due.is_some() || self.error_string_due));
        if rec.ty != RecordType::STRING {
            if let Some(objref) = self.cwd_due.take() {
                self.diags.push(
                    Diagnostic::new(
                        Code::RelativeWithoutCwd,
                        off..off,
                        format!(
                            "socket {objref} is bound to a relative path but no cwd STRING follows its SOCKET_UNIX"
                        ),
                    )
                    .objref(objref)
                    .record(self.idx),
                );
            }
        }
        if !nested_ok && !self.stack.is_empty() {
            self.close_open_socket_defs(&rec);
        }
        if let Some(b) = &self.buf {
            if rec.ty != RecordType::BUFFER {
                let o = b.offset;
                self.buf = None;
                self.err(
                    Code::BadBuffer,
                    o..o + SOCKET_BUFFER_LAYOUT.size,
                    "SOCKET_BUFFER is not followed by its BUFFER",
                );
            }
        }
        if rec.ty != RecordType::RS_RIGHTS && rec.ty != RecordType::BUFFER {
            self.last_msg = None;
        }
        let queue_ok = nested_ok
            || matches!(
                rec.ty,
                RecordType::SOCKET_BUFFER | RecordType::BUFFER | RecordType::RS_RIGHTS | RecordType::SOCKET_FRAG
            );
        let queue_done = self.queue.as_ref().is_some_and(|q| q.seen >= q.count && self.buf.is_none());
        if self.queue.is_some() && (!queue_ok || (queue_done && rec.ty == RecordType::SOCKET_QUEUE)) {
            self.close_queue(off);
        }

        match rec.ty {
            RecordType::OBJREF => self.objref(rec),
            RecordType::SOCKET => self.socket(rec),
            RecordType::SOCKET_UNIX => self.socket_unix(rec),
            RecordType::SOCKET_INET => self.socket_inet(rec),
            RecordType::STRING => self.string(rec),
            RecordType::FILE => self.file(rec),
            RecordType::FILE_TABLE => self.file_table(rec),
            RecordType::FILE_DESC => self.file_desc(rec),
            RecordType::SOCKET_QUEUE => self.socket_queue(rec),
            RecordType::SOCKET_BUFFER => self.socket_buffer(rec),
            RecordType::SOCKET_FRAG => {
                self.err(Code::BadBuffer, rec.range(), "AF_UNIX buffers have no fragments (SOCKET_FRAG)");
            }
            RecordType::BUFFER => self.buffer(rec),
            RecordType::RS_RIGHTS => self.rights(rec),
            RecordType::RS_PENDING => self.pending(rec),
            RecordType::RS_TASK => self.task(rec),
            RecordType::RS_SOCKOPT => self.sockopt(rec),
            RecordType::RS_OOB => self.oob(rec),
            RecordType::HEADER_ARCH => {
                if self.idx != 4 {
                    self.err(Code::MisplacedRecord, rec.range(), "HEADER_ARCH must directly follow the uts buffers");
                }
            }
            RecordType::TAIL => self.tail(rec),
            RecordType::ERROR => {
                self.err(Code::ErrorRecord, rec.range(), "the image contains a CKPT_HDR_ERROR record");
                self.error_string_due = true;
            }
            _ => {
                self.err(
                    Code::UnknownRecord,
                    rec.range(),
                    format!("unknown record type {} ({} bytes) skipped", rec.ty.0, rec.len()),
                );
                self.img.unknown.push(UnknownRecord {
                    record: self.idx,
                    offset: off,
                    ty: rec.ty,
                    payload: Cow::Borrowed(rec.payload()),
                });
            }
        }
    }

    /// After a record that could not be read, keep the grammar state sane.
    fn after_bad_record(&mut self, rec: &Record<'_>) {
        match rec.ty {
            RecordType::SOCKET => {
                if let Some(Open::Socket(objref, _)) = self.stack.last() {
                    let objref = *objref;
                    self.stack.pop();
                    self.stack.push(Open::Family(objref, rec.offset));
                }
            }
            RecordType::SOCKET_UNIX | RecordType::SOCKET_INET => {
                if let Some(Open::Family(..)) = self.stack.last() {
                    self.stack.pop();
                }
            }
            RecordType::FILE => {
                if let Some(Open::File(..)) = self.stack.last() {
                    self.stack.pop();
                }
            }
            RecordType::SOCKET_BUFFER => {
                if let Some(q) = &mut self.queue {
                    q.seen += 1;
                }
            }
            RecordType::SOCKET_QUEUE => {
                // Unreadable counts: accept the buffers that follow without checking them.
                self.queue = Some(QueueState {
                    offset: rec.offset,
                    record: self.idx,
                    count: u32::MAX,
                    bytes: 0,
                    seen: 0,
                    seen_bytes: 0,
                    owner: None,
                    over: true,
                    lenient: true,
                });
            }
            _ => {}
        }
    }

    fn header(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Header::new_checked(rec) else {
            self.err(
                Code::MissingHeader,
                off + 4..off + 8,
                format!("HEADER record has len {}, its layout is {} bytes", rec.len(), HEADER_LAYOUT.size),
            );
            return;
        };
        let h = HeaderRepr::parse(&v);
        if h.magic != MAGIC_HEAD {
            self.err(
                Code::BadMagic,
                field_range(off, &HEADER_LAYOUT, "magic"),
                format!("HEADER.magic is {:#018x}, expected {MAGIC_HEAD:#018x}", h.magic),
            );
        }
        if h.rev != REV {
            self.err(
                Code::BadRev,
                field_range(off, &HEADER_LAYOUT, "rev"),
                format!("HEADER.rev is {}, expected {REV}", h.rev),
            );
        }
        if h.arch_id != ARCH_X86_64 {
            self.err(
                Code::BadArch,
                field_range(off, &HEADER_LAYOUT, "arch_id"),
                format!("HEADER.arch_id is {}, expected {ARCH_X86_64} (X86_64)", h.arch_id),
            );
        }
        if h.uflags != 0 {
            self.err(
                Code::NonzeroUflags,
                field_range(off, &HEADER_LAYOUT, "uflags"),
                format!("HEADER.uflags is {:#x}", h.uflags),
            );
        }
        self.check_padding(&rec, &HEADER_LAYOUT);
        self.uts_lens = [h.uts_release_len, h.uts_version_len, h.uts_machine_len];
        self.uts_due = 3;
        self.img.header.repr = h;
    }

    fn objref(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Objref::new_checked(rec) else { return };
        let (objtype, objref) = (v.objtype(), v.objref());
        if let Some(Open::Socket(o, so)) = self.stack.last() {
            let (o, so) = (*o, *so);
            self.stack.pop();
            self.diags.push(Diagnostic::new(
                Code::MisplacedRecord,
                so..so + OBJREF_LAYOUT.size,
                format!("OBJREF {o} of type SOCK is not followed by a SOCKET record"),
            ));
        }
        if let Some(Open::Table(o, so)) = self.stack.last() {
            let (o, so) = (*o, *so);
            self.stack.pop();
            self.diags.push(Diagnostic::new(
                Code::MisplacedRecord,
                so..so + OBJREF_LAYOUT.size,
                format!("OBJREF {o} of type FILE_TABLE is not followed by a FILE_TABLE record"),
            ));
        }
        let kind = match objtype {
            OBJ_FILE_TABLE => ObjKind::FileTable,
            OBJ_FILE => ObjKind::File,
            OBJ_SOCK => ObjKind::Sock,
            t => {
                let name = sym::OBJ.iter().find(|(v, _)| *v == u64::from(t)).map_or("unknown", |(_, n)| n);
                let msg = if t >= OBJ_MAX {
                    format!("OBJREF.objtype {t} is not an object type (CKPT_OBJ_MAX is {OBJ_MAX})")
                } else {
                    format!("OBJREF.objtype {t} ({name}) has no place in a socket image")
                };
                self.err(Code::ObjrefBadType, field_range(off, &OBJREF_LAYOUT, "objtype"), msg);
                return;
            }
        };
        let r = field_range(off, &OBJREF_LAYOUT, "objref");
        if objref <= 0 {
            self.err(Code::ObjrefNonpositive, r, format!("OBJREF introduces objref {objref}; objrefs start at 1"));
            return;
        }
        if let Some(prev) = self.objs.get(objref) {
            self.err(
                Code::ObjrefDuplicate,
                r,
                format!("objref {objref} was already introduced (as a {})", prev.name()),
            );
            return;
        }
        self.objs.insert(objref, kind);
        self.stack.push(match kind {
            ObjKind::Sock => Open::Socket(objref, off),
            ObjKind::File => Open::File(objref, off),
            ObjKind::FileTable => Open::Table(objref, off),
        });
    }

    fn socket(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Socket::new_checked(rec) else { return };
        let Some(Open::Socket(objref, _)) = self.stack.last() else {
            self.err(Code::MisplacedRecord, rec.range(), "SOCKET record without a preceding OBJREF of type SOCK");
            return;
        };
        let objref = *objref;
        self.stack.pop();
        let common = SocketRepr::parse(&v);
        if matches!(common.family, AF_UNIX | AF_INET | AF_INET6) {
            self.stack.push(Open::Family(objref, off));
        } else {
            // No family record exists for it: nothing more is awaited.
            let d = Diagnostic::new(
                Code::UnsupportedFamily,
                field_range(off, &SOCKET_LAYOUT, "family"),
                format!("socket {objref} has family {}", common.family),
            );
            self.diags.push(d.record(self.idx).objref(objref));
        }
        self.slots.insert(objref, self.socks.len(), self.objs.dense.len());
        self.socks.push(Sock {
            objref,
            offset: off,
            record: self.idx,
            common,
            unix: None,
            inet: None,
            queue: Vec::new(),
            pending: Vec::new(),
            opts: None,
            oob: None,
        });
    }

    fn sock(&self, objref: i32) -> Option<&Sock<'a>> {
        self.slots.get(objref).and_then(|p| self.socks.get(p))
    }

    fn sock_mut(&mut self, objref: i32) -> Option<&mut Sock<'a>> {
        self.slots.get(objref).and_then(|p| self.socks.get_mut(p))
    }

    fn take_family(&mut self, rec: &Record<'_>) -> Option<i32> {
        match self.stack.last() {
            Some(Open::Family(objref, _)) => {
                let o = *objref;
                self.stack.pop();
                Some(o)
            }
            _ => {
                self.err(Code::MisplacedRecord, rec.range(), format!("{} record without its SOCKET", rec.ty));
                None
            }
        }
    }

    fn socket_unix(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = SocketUnix::new_checked(rec) else { return };
        let Some(objref) = self.take_family(&rec) else { return };
        // The scalars through the view; the two sun_paths borrowed from the record rather than
        // copied out twice (`SocketUnixRepr::parse` then the decode).
        let u = UnixScalars {
            this: v.this(),
            peer: v.peer(),
            peercred: v.peercred(),
            flags: v.flags(),
            laddr_len: v.laddr_len(),
            raddr_len: v.raddr_len(),
            laddr_family: v.laddr_family(),
            raddr_family: v.raddr_family(),
        };
        let bytes = rec.bytes;
        let idx = self.idx;
        let family = self.sock(objref).map_or(0, |s| s.common.family);
        if family != AF_UNIX {
            self.diags.push(
                Diagnostic::new(
                    Code::FamilyMismatch,
                    rec.range(),
                    format!("SOCKET_UNIX for socket {objref} whose family is {family}"),
                )
                .record(idx)
                .objref(objref),
            );
        }
        if u.this != objref {
            self.diags.push(
                Diagnostic::new(
                    Code::FamilyMismatch,
                    field_range(off, &SOCKET_UNIX_LAYOUT, "this"),
                    format!("SOCKET_UNIX.this is {} inside the definition of socket {objref}", u.this),
                )
                .record(idx)
                .objref(objref),
            );
        }
        if u.peer != 0 {
            self.check_ref(u.peer, ObjKind::Sock, field_range(off, &SOCKET_UNIX_LAYOUT, "peer"), "SOCKET_UNIX.peer");
        }
        let mut addr = |len: u32, fam: u16, path: &[u8; 108], which: &str| -> UnixAddr {
            match UnixAddr::decode(len, fam, path) {
                Ok(a) => a,
                Err(e) => {
                    let d = Diagnostic::new(
                        Code::BadAddress,
                        field_range(off, &SOCKET_UNIX_LAYOUT, &format!("{which}_len")),
                        format!("socket {objref} {which}: {e}"),
                    );
                    self.diags.push(d.record(idx).objref(objref));
                    UnixAddr::Unnamed
                }
            }
        };
        let laddr = addr(u.laddr_len, u.laddr_family, sun_path(bytes, LADDR_PATH), "laddr");
        let raddr = addr(u.raddr_len, u.raddr_family, sun_path(bytes, RADDR_PATH), "raddr");
        if u.flags & !UNIX_FLAGS_KNOWN != 0 {
            self.diags.push(
                Diagnostic::new(
                    Code::BadUnixFlags,
                    field_range(off, &SOCKET_UNIX_LAYOUT, "flags"),
                    format!("SOCKET_UNIX.flags has unknown bits {:#x}", u.flags & !UNIX_FLAGS_KNOWN),
                )
                .record(idx)
                .objref(objref),
            );
        }
        if laddr.is_relative_path() {
            self.cwd_due = Some(objref);
        }
        if let Some(s) = self.sock_mut(objref) {
            s.unix = Some(UnixPart { peer: u.peer, peercred: u.peercred, flags: u.flags, laddr, raddr, cwd: None });
        }
    }

    fn socket_inet(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = SocketInet::new_checked(rec) else { return };
        let Some(objref) = self.take_family(&rec) else { return };
        let i = SocketInetRepr::parse(&v);
        let family = self.sock(objref).map_or(0, |s| s.common.family);
        if !matches!(family, AF_INET | AF_INET6) {
            let d = Diagnostic::new(
                Code::FamilyMismatch,
                rec.range(),
                format!("SOCKET_INET for socket {objref} whose family is {family}"),
            );
            self.diags.push(d.record(self.idx).objref(objref));
        }
        // Lengths, addresses, ports, flags, type and state against the SOCKET (image/inet.rs).
        if let Some(s) = self.slots.get(objref).and_then(|p| self.socks.get(p)) {
            inet::check_record(s, off, self.idx, &i, &mut self.diags);
        }
        if let Some(s) = self.sock_mut(objref) {
            s.inet = Some(Box::new(i));
        }
    }

    fn string(&mut self, rec: Record<'a>) {
        if std::mem::take(&mut self.error_string_due) {
            // Linux-CR's error record: ERROR then a STRING whose first byte is NUL.
            let msg = rec.payload().iter().skip(1).take_while(|&&b| b != 0).copied().collect::<Vec<u8>>();
            if let Some(d) = self.diags.iter_mut().rev().find(|d| d.code == Code::ErrorRecord) {
                d.message = format!("the checkpoint failed: {}", crate::bstr::escape(&msg));
                d.range.end = rec.offset + rec.len();
            }
            return;
        }
        let Some(objref) = self.cwd_due.take() else {
            self.err(Code::MisplacedRecord, rec.range(), "STRING record outside a socket's cwd position");
            return;
        };
        let p = rec.payload();
        let body = match p.split_last() {
            Some((0, body)) => body,
            _ => {
                self.err(Code::RelativeWithoutCwd, rec.range(), "the cwd STRING does not end with its NUL");
                p
            }
        };
        if body.first() != Some(&b'/') || body.contains(&0) {
            let d = Diagnostic::new(
                Code::RelativeWithoutCwd,
                rec.range(),
                format!("socket {objref}'s cwd {:?} is not an absolute path", crate::bstr::escape(body)),
            );
            self.diags.push(d.record(self.idx).objref(objref));
        }
        if let Some(u) = self.sock_mut(objref).and_then(|s| s.unix.as_mut()) {
            u.cwd = Some(body.into());
        }
    }

    fn file(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        self.pop_unfinished_sockets(&rec);
        let objref = match self.stack.last() {
            Some(Open::File(o, _)) => {
                let o = *o;
                self.stack.pop();
                o
            }
            _ => {
                self.err(Code::MisplacedRecord, rec.range(), "FILE record without a preceding OBJREF of type FILE");
                return;
            }
        };
        let f_type = le_u32(rec.bytes, 8);
        if f_type != FILE_SOCKET {
            let name = sym::FILE_TYPE.iter().find(|(v, _)| *v == u64::from(f_type)).map_or("unknown", |(_, n)| n);
            self.err(
                Code::UnsupportedFile,
                off + 8..off + 12,
                format!("FILE {objref} has f_type {f_type} ({name}), not SOCKET"),
            );
            return;
        }
        let Ok(v) = FileSocket::new_checked(rec) else { return };
        let repr = FileSocketRepr::parse(&v);
        self.check_ref(
            repr.sock_objref,
            ObjKind::Sock,
            field_range(off, &FILE_SOCKET_LAYOUT, "sock_objref"),
            "FILE.sock_objref",
        );
        self.files.push(FileObj { objref, repr, offset: off });
    }

    fn file_table(&mut self, rec: Record<'a>) {
        let Ok(v) = wire::FileTable::new_checked(rec) else { return };
        let Some(Open::Table(objref, _)) = self.stack.last() else {
            self.err(
                Code::MisplacedRecord,
                rec.range(),
                "FILE_TABLE record without a preceding OBJREF of type FILE_TABLE",
            );
            return;
        };
        let objref = *objref;
        self.stack.pop();
        self.img.tables.push(FileTable {
            objref,
            nfds: v.fdt_nfds(),
            offset: rec.offset,
            desc_records: 0,
            pid: None,
            fds: Vec::new(),
        });
        self.cur_table = Some(self.img.tables.len() - 1);
        self.cur_fds.clear();
    }

    fn file_desc(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = FileDesc::new_checked(rec) else { return };
        let Some(t) = self.cur_table else {
            self.err(Code::MisplacedRecord, rec.range(), "FILE_DESC before any FILE_TABLE");
            return;
        };
        if let Some(table) = self.img.tables.get_mut(t) {
            table.desc_records += 1;
        }
        let (file, fd, coe) = (v.fd_objref(), v.fd_descriptor(), v.fd_close_on_exec());
        let ok = self.check_ref(
            file,
            ObjKind::File,
            field_range(off, &FILE_DESC_LAYOUT, "fd_objref"),
            "FILE_DESC.fd_objref",
        );
        let r = field_range(off, &FILE_DESC_LAYOUT, "fd_descriptor");
        if fd < 0 {
            self.err(Code::BadFd, r, format!("fd {fd} is negative"));
            return;
        }
        if coe > 1 {
            self.err(
                Code::BadFd,
                field_range(off, &FILE_DESC_LAYOUT, "fd_close_on_exec"),
                format!("fd_close_on_exec is {coe}, not 0 or 1"),
            );
        }
        let Some(table) = self.img.tables.get_mut(t) else { return };
        if !self.cur_fds.insert(fd) {
            let objref = table.objref;
            self.err(Code::BadFd, r, format!("fd {fd} appears twice in file table {objref}"));
            return;
        }
        if ok {
            table.fds.push(Fd { fd, file, cloexec: coe != 0, offset: off });
        }
    }

    fn socket_queue(&mut self, rec: Record<'a>) {
        if self.queue.is_some() {
            self.close_queue(rec.offset);
        }
        let Ok(v) = SocketQueue::new_checked(rec) else { return };
        self.queue = Some(QueueState {
            offset: rec.offset,
            record: self.idx,
            count: v.skb_count(),
            bytes: v.total_bytes(),
            seen: 0,
            seen_bytes: 0,
            owner: None,
            over: false,
            lenient: false,
        });
    }

    fn socket_buffer(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = SocketBuffer::new_checked(rec) else { return };
        let b = SocketBufferRepr::parse(&v);
        let Some(q) = &mut self.queue else {
            self.err(Code::QueueCountMismatch, rec.range(), "SOCKET_BUFFER outside a SOCKET_QUEUE");
            return;
        };
        if q.seen >= q.count && !q.over {
            let (count, qo) = (q.count, q.offset);
            q.over = true; // report once
            self.err(
                Code::QueueCountMismatch,
                qo + 8..qo + 12,
                format!("SOCKET_QUEUE declares {count} buffers but more follow (at {off:#x})"),
            );
        }
        let Some(q) = &mut self.queue else { return };
        q.seen = q.seen.saturating_add(1);
        q.seen_bytes += u64::from(b.lin_len);
        let prev_owner = q.owner.replace(b.pr_objref);
        let owner_ok = self.check_ref(
            b.pr_objref,
            ObjKind::Sock,
            field_range(off, &SOCKET_BUFFER_LAYOUT, "pr_objref"),
            "SOCKET_BUFFER.pr_objref",
        );
        if let Some(p) = prev_owner {
            if p != b.pr_objref {
                self.err(
                    Code::BadBuffer,
                    field_range(off, &SOCKET_BUFFER_LAYOUT, "pr_objref"),
                    format!("buffer of socket {} inside the queue of socket {p}", b.pr_objref),
                );
            }
        }
        if b.sk_objref != 0 {
            self.check_ref(
                b.sk_objref,
                ObjKind::Sock,
                field_range(off, &SOCKET_BUFFER_LAYOUT, "sk_objref"),
                "SOCKET_BUFFER.sk_objref",
            );
        }
        if b.nr_frags != 0 || b.frg_len != 0 {
            self.err(
                Code::BadBuffer,
                field_range(off, &SOCKET_BUFFER_LAYOUT, "nr_frags"),
                format!("AF_UNIX skb claims {} fragments / {} fragment bytes", b.nr_frags, b.frg_len),
            );
        }
        if b.skb_len != b.lin_len {
            self.err(
                Code::BadBuffer,
                field_range(off, &SOCKET_BUFFER_LAYOUT, "skb_len"),
                format!("skb_len {} differs from lin_len {} in an skb without fragments", b.skb_len, b.lin_len),
            );
        }
        if owner_ok {
            self.buf = Some(BufState { offset: off, sender: b.sk_objref, owner: b.pr_objref, lin_len: b.lin_len });
        } else {
            self.buf = Some(BufState { offset: off, sender: 0, owner: 0, lin_len: b.lin_len });
        }
    }

    fn buffer(&mut self, rec: Record<'a>) {
        let Some(b) = self.buf.take() else {
            self.err(Code::MisplacedRecord, rec.range(), "BUFFER record that belongs to no SOCKET_BUFFER");
            return;
        };
        let data = rec.payload();
        if data.len() != b.lin_len as usize {
            self.err(
                Code::BadBuffer,
                rec.range(),
                format!("BUFFER holds {} bytes, its SOCKET_BUFFER says lin_len {}", data.len(), b.lin_len),
            );
        }
        if b.owner == 0 {
            return;
        }
        if let Some(pos) = self.slots.get(b.owner).filter(|&p| p < self.socks.len()) {
            let m = Message { sender: b.sender, data: Cow::Borrowed(data), rights: Vec::new(), offset: b.offset };
            self.last_msg = Some(self.msgs.len());
            self.msgs.push((pos, m));
        }
    }

    fn rights(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Some(i) = self.last_msg.take() else {
            self.err(Code::BadRights, rec.range(), "RS_RIGHTS must follow the BUFFER of a queued message");
            return;
        };
        let v = match Rights::new_checked(rec) {
            Ok(v) => v,
            Err(e) => {
                self.err(Code::BadRights, off + 4..off + 8, e.to_string());
                return;
            }
        };
        let n = v.nr_fds();
        if n == 0 || n > SCM_MAX_FD {
            self.err(
                Code::BadRights,
                off + 8..off + 12,
                format!("RS_RIGHTS carries {n} fds; SCM_RIGHTS allows 1..={SCM_MAX_FD}"),
            );
        }
        if v.reserved() != 0 {
            self.err(Code::NonzeroPadding, off + 12..off + 16, "RS_RIGHTS.reserved is not zero");
        }
        let family = self.msgs.get(i).and_then(|&(pos, _)| self.socks.get(pos)).map(|s| s.common.family);
        if let Some(f) = family.filter(|&f| f != AF_UNIX) {
            self.err(
                Code::BadRights,
                rec.range(),
                format!(
                    "RS_RIGHTS on the queue of an {} socket: SCM_RIGHTS travels on AF_UNIX sockets only",
                    crate::summary::family_name(f)
                ),
            );
        }
        let mut refs = Vec::new();
        for (k, r) in v.objrefs().enumerate() {
            let range = off + 16 + 4 * k..off + 20 + 4 * k;
            if r <= 0 || self.objs.get(r).is_none() {
                self.err(
                    Code::RightsMissing,
                    range,
                    format!("SCM_RIGHTS entry {k} names objref {r}, which no earlier OBJREF introduced"),
                );
            } else if self.check_ref(r, ObjKind::File, range, "SCM_RIGHTS entry") {
                refs.push(r);
            }
        }
        if let Some((_, m)) = self.msgs.get_mut(i) {
            m.rights = refs;
        }
    }

    fn pending(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Pending::new_checked(rec) else { return };
        let p = PendingRepr::parse(&v);
        let l = self.check_ref(
            p.listener,
            ObjKind::Sock,
            field_range(off, &RS_PENDING_LAYOUT, "listener"),
            "RS_PENDING.listener",
        );
        let e = self.check_ref(
            p.embryo,
            ObjKind::Sock,
            field_range(off, &RS_PENDING_LAYOUT, "embryo"),
            "RS_PENDING.embryo",
        );
        if p.client != 0 {
            self.check_ref(
                p.client,
                ObjKind::Sock,
                field_range(off, &RS_PENDING_LAYOUT, "client"),
                "RS_PENDING.client",
            );
        }
        if !(l && e) {
            return;
        }
        let Some(listener) = self.sock_mut(p.listener) else { return };
        let expect = listener.pending.len();
        grow_exact(&mut listener.pending);
        listener.pending.push(PendingConn { embryo: p.embryo, client: p.client, offset: off });
        if p.index as usize != expect {
            self.err(
                Code::BadPending,
                field_range(off, &RS_PENDING_LAYOUT, "index"),
                format!("RS_PENDING.index is {} but it is connection {expect} of listener {}", p.index, p.listener),
            );
        }
    }

    fn sockopt(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = SockOptRec::new_checked(rec) else { return };
        let r = SockOptRepr::parse(&v);
        let at = |f: &str| field_range(off, &RS_SOCKOPT_LAYOUT, f);
        if !self.check_ref(r.sock, ObjKind::Sock, at("sock"), "RS_SOCKOPT.sock") {
            return;
        }
        let opts = match crate::sockopt::decode(&r) {
            Ok(o) => o,
            Err(b) => {
                self.err(Code::BadSockopt, at(b.field), format!("socket {}: {}", r.sock, b.message));
                return;
            }
        };
        let Some(s) = self.sock_mut(r.sock) else { return };
        let (family, ty, twice) = (s.common.family, s.common.sock_type, s.opts.is_some());
        if twice {
            self.err(Code::BadSockopt, rec.range(), format!("socket {} has a second RS_SOCKOPT record", r.sock));
            return;
        }
        if let Some(kind) = crate::sockopt::OptKind::of(family, ty) {
            for o in &opts {
                let Some(name) = o.recorded() else { continue };
                if let Some(why) = kind.refuses(name) {
                    self.err(
                        Code::BadSockopt,
                        at("recorded"),
                        format!("socket {} records {}: {why}", r.sock, name.c_name()),
                    );
                    return;
                }
            }
        }
        if let Some(s) = self.sock_mut(r.sock) {
            s.opts = Some(Box::new(RecordedOpts { opts, offset: off }));
        }
    }

    /// `RS_OOB`: kept on its socket; what it may name (a stream's 1-byte skb) is checked with
    /// the whole image, once every queue is read (image/semantic.rs).
    fn oob(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Oob::new_checked(rec) else { return };
        let r = OobRepr::parse(&v);
        if !self.check_ref(r.sock, ObjKind::Sock, field_range(off, &RS_OOB_LAYOUT, "sock"), "RS_OOB.sock") {
            return;
        }
        let twice = self.sock(r.sock).is_some_and(|s| s.oob.is_some());
        if twice {
            self.err(
                Code::BadOob,
                rec.range(),
                format!("socket {} has a second RS_OOB record: a socket holds one out-of-band byte at most", r.sock),
            );
            return;
        }
        if let Some(s) = self.sock_mut(r.sock) {
            s.oob = Some(OobMark { index: r.index, offset: off });
        }
    }

    fn task(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Task::new_checked(rec) else { return };
        let (pid, files) = (v.pid(), v.files_objref());
        if !self.check_ref(
            files,
            ObjKind::FileTable,
            field_range(off, &RS_TASK_LAYOUT, "files_objref"),
            "RS_TASK.files_objref",
        ) {
            return;
        }
        if pid <= 0 {
            self.err(
                Code::MisplacedRecord,
                field_range(off, &RS_TASK_LAYOUT, "pid"),
                format!("RS_TASK.pid {pid} is not a pid"),
            );
        }
        if let Some(t) = self.img.tables.iter_mut().find(|t| t.objref == files) {
            t.pid = Some(pid);
        }
        self.cur_table = None;
    }

    fn tail(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Tail::new_checked(rec) else { return };
        if v.magic() != MAGIC_TAIL {
            self.err(
                Code::BadTailMagic,
                field_range(off, &TAIL_LAYOUT, "magic"),
                format!("TAIL.magic is {:#018x}, expected {MAGIC_TAIL:#018x}", v.magic()),
            );
        }
        self.tail = true;
    }

    /// Move the queued messages into their sockets' queues, one run of messages of the same
    /// socket at a time (a queue is one run unless the image splits it).
    fn attach_queues(&mut self) {
        let msgs = std::mem::take(&mut self.msgs);
        let mut runs: Vec<(usize, usize)> = Vec::new();
        for &(pos, _) in &msgs {
            match runs.last_mut() {
                Some((p, n)) if *p == pos => *n += 1,
                _ => runs.push((pos, 1)),
            }
        }
        let mut msgs = msgs.into_iter().map(|(_, m)| m);
        for (pos, n) in runs {
            let run: Vec<Message<'a>> = msgs.by_ref().take(n).collect();
            if let Some(s) = self.socks.get_mut(pos) {
                if s.queue.is_empty() {
                    s.queue = run;
                } else {
                    s.queue.extend(run);
                }
            }
        }
    }

    fn finish(&mut self, end: usize, framing_failed: bool) {
        if !framing_failed {
            if let Some(objref) = self.cwd_due.take() {
                self.diags.push(
                    Diagnostic::new(
                        Code::RelativeWithoutCwd,
                        end..end,
                        format!("socket {objref} has a relative path but no cwd STRING"),
                    )
                    .objref(objref),
                );
            }
            if let Some(b) = self.buf.take() {
                self.diags.push(Diagnostic::new(
                    Code::BadBuffer,
                    b.offset..b.offset + SOCKET_BUFFER_LAYOUT.size,
                    "SOCKET_BUFFER is not followed by its BUFFER",
                ));
            }
            self.close_queue(end);
            if !self.stack.is_empty() {
                let fake = Record { offset: end, ty: RecordType::TAIL, bytes: &[] };
                self.close_open_socket_defs(&fake);
            }
            if !self.tail {
                self.diags.push(Diagnostic::new(Code::MissingTail, end..end, "the image ends without a TAIL record"));
            }
            if self.uts_due > 0 {
                self.diags.push(Diagnostic::new(Code::BadUts, end..end, "the image ends before its uts buffers"));
            }
        }
        if self.img.record_count == 0 {
            self.diags.push(Diagnostic::new(Code::MissingHeader, 0..0, "the file is empty"));
        }
        self.attach_queues();
        // Objrefs usually come in increasing order: then this is one pass that moves nothing.
        self.img.sockets = Sockets::from_chunks(std::mem::take(&mut self.socks));
        self.img.files = Files::from_chunks(std::mem::take(&mut self.files));
        crate::image::semantic::check(&self.img, &mut self.diags);
    }
}

pub mod inet;
mod semantic;
mod sockets;
use sockets::Chunks;
pub use sockets::{ByObjref, Files, HasObjref, Sockets, Values};

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn sun_path_offsets_match_the_layout() {
        assert_eq!(field_range(0, &SOCKET_UNIX_LAYOUT, "laddr_path"), LADDR_PATH..LADDR_PATH + 108);
        assert_eq!(field_range(0, &SOCKET_UNIX_LAYOUT, "raddr_path"), RADDR_PATH..RADDR_PATH + 108);
    }

    /// Messages are kept aside while reading and attached at the end: each lands in its
    /// socket's queue in image order, with the SCM_RIGHTS of its RS_RIGHTS.
    #[test]
    fn queued_messages_reach_their_sockets_with_their_rights() {
        let img = include_bytes!("../../fixtures/images/valid/scm-rights.rsimg");
        let r = load(img);
        assert!(r.is_valid(), "{:?}", r.diagnostics);
        let queued: Vec<(i32, usize, usize)> = r
            .image
            .sockets
            .values()
            .flat_map(|s| s.queue.iter().map(move |m| (s.objref, m.rights.len(), m.offset)))
            .collect();
        assert_eq!(queued.len(), 1);
        let (owner, rights, offset) = queued[0];
        assert_eq!((owner, rights), (3, 1));
        assert_eq!(le_u32(img, offset), RecordType::SOCKET_BUFFER.0);

        // Every message of a bigger image sits in the queue its SOCKET_BUFFER.pr_objref names.
        let many = include_bytes!("../../fixtures/images/valid/many-1000.rsimg");
        let r = load(many);
        let mut total = 0;
        for s in r.image.sockets.values() {
            assert!(s.queue.windows(2).all(|w| w[0].offset < w[1].offset));
            assert!(s.queue.iter().all(|m| le_u32(many, m.offset + 48) as i32 == s.objref));
            total += s.queue.len();
        }
        assert!(total > 500, "{total} messages");
    }
}
