//! The socket-level model of an image, and the single pass that builds it while validating.
//!
//! This file is the model ([`Image`], [`Sock`], [`UnixAddr`]…). [`load`] (`image/load.rs`, the
//! grammar and one file per record family under `image/load/`) walks the records once and builds
//! an [`Image`] as complete as the input allows; `image/semantic.rs` then runs the whole-image
//! checks on the model, `image/inet.rs` the AF_INET ones; `image/sockets.rs` is the
//! objref-ordered storage. Payloads are borrowed from the input (`Cow::Borrowed`). Dependencies
//! point up: the children use this file; `load` uses `semantic` and `inet`, neither uses `load`.

use crate::diag::Diagnostic;
use crate::wire::*;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

/// `net.core.somaxconn` default, the clamp `listen()` applies to its backlog.
pub const SOMAXCONN: i64 = 4096;
/// `net.unix.max_dgram_qlen` default, the initial `sk_max_ack_backlog` of every AF_UNIX socket.
pub const MAX_DGRAM_QLEN: i64 = 10;

/// An AF_UNIX socket name.
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
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

    /// A bound name as the kernel reports it and CRIU records it (unix_diag's `UNIX_DIAG_NAME`,
    /// `UnixSkEntry.name`: the `addr->len - sizeof(short)` bytes of `sun_path`): abstract when it
    /// starts with a NUL; else a path, whose one trailing NUL (counted in the bound address's
    /// length by `unix_mkname_bsd`; hand-written images leave it out) is not part of it. Empty:
    /// unnamed.
    pub fn from_kernel_name(raw: &[u8]) -> UnixAddr {
        match raw.split_first() {
            None => UnixAddr::Unnamed,
            Some((0, rest)) => UnixAddr::Abstract(rest.into()),
            Some(_) => UnixAddr::Path(raw.strip_suffix(b"\0").unwrap_or(raw).into()),
        }
    }

    /// The scenario's spelling (`name`/`remote`, [`crate::sim::SockAddr::display`]): the
    /// [`crate::bstr`] escape of a path, `@` and the escape of an abstract name; `None` unnamed.
    pub fn spelling(&self) -> Option<String> {
        self.sock_addr().map(|a| a.display())
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

    /// The address a bind, connect or send of this name takes (`None` for an unnamed socket).
    pub fn sock_addr(&self) -> Option<crate::sim::SockAddr> {
        use crate::sim::SockAddr;
        match self {
            UnixAddr::Unnamed => None,
            UnixAddr::Path(p) => Some(SockAddr::Path(p.to_vec())),
            UnixAddr::Abstract(b) => Some(SockAddr::Abstract(b.to_vec())),
        }
    }

    /// The address of this name as a place outside the restore (an outside peer's name,
    /// [`crate::sim::HostAddrs::unix`]): an absolute path or an abstract name; a relative or
    /// empty name is no place on the host.
    pub fn outside_addr(&self) -> Option<crate::sim::SockAddr> {
        self.sock_addr().filter(|_| !self.is_relative_path())
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

    /// The outside names the image's dgram sockets were connected to (`EXTERNAL_PEER`, the
    /// peer's name in `raddr`) that a restore could connect them to again: absolute paths and
    /// abstract names ([`UnixAddr::outside_addr`]), each once, in socket order. Which of them a
    /// host has is [`crate::sim::HostAddrs::unix`] (`restore run` probes these).
    pub fn outside_dgram_names(&self) -> Vec<UnixAddr> {
        let mut names: Vec<UnixAddr> = Vec::new();
        for s in self.sockets.values().filter(|s| s.common.sock_type == crate::wire::SOCK_DGRAM) {
            let Some(u) = s.unix.as_ref().filter(|u| u.has(crate::wire::UNIX_EXTERNAL_PEER)) else { continue };
            if u.raddr.outside_addr().is_some() && !names.contains(&u.raddr) {
                names.push(u.raddr.clone());
            }
        }
        names
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

/// True when every byte is zero (eight at a time).
fn all_zero(b: &[u8]) -> bool {
    let mut chunks = b.chunks_exact(8);
    let mut acc = 0u64;
    for c in &mut chunks {
        acc |= u64::from_ne_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    }
    acc == 0 && chunks.remainder().iter().all(|&x| x == 0)
}

pub mod inet;
mod load;
mod semantic;
mod sockets;
pub use load::{load, LoadJob};
use sockets::Chunks;
pub use sockets::{ByObjref, Files, HasObjref, Sockets, Values};

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

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
