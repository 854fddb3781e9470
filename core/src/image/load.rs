//! [`load`]: one pass over the records that builds the [`Image`] while checking the grammar.
//!
//! This file holds the loader's state ([`Loader`]), the resumable [`LoadJob`] and the checks every
//! record family shares (objrefs, padding, open definitions, queue ends). `load/grammar.rs`
//! decides where each record may stand and hands it to its family: `load/sockets.rs` (SOCKET,
//! SOCKET_UNIX, SOCKET_INET, RS_SOCKOPT), `load/files.rs` (FILE, FILE_TABLE, FILE_DESC,
//! RS_TASK) and `load/queues.rs` (queues, buffers, SCM_RIGHTS, pending connections). Nothing is
//! allocated in proportion to a length field: every vector grows by one entry per record
//! actually present. The children use this file and `image.rs`; only `grammar.rs` calls the
//! three families, and none of them calls `grammar.rs`.

use super::{all_zero, semantic, Chunks, FileObj, Files, Image, Message, ObjKind, Report, Sock, Sockets};
use crate::diag::{Code, Diagnostic};
use crate::wire::{self, *};
use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

mod files;
mod grammar;
mod queues;
mod sockets;

/// [`Layout::padding`] of every layout, computed once (not once per record).
fn padding_of(layout: &Layout) -> &'static [Range<usize>] {
    static PADS: std::sync::OnceLock<Vec<(RecordType, Vec<Range<usize>>)>> = std::sync::OnceLock::new();
    let pads = PADS.get_or_init(|| LAYOUTS.iter().map(|l| (l.ty, l.padding())).collect());
    wire::layout_index(layout.ty).and_then(|i| pads.get(i)).map_or(&[], |(_, p)| p)
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

    fn sock(&self, objref: i32) -> Option<&Sock<'a>> {
        self.slots.get(objref).and_then(|p| self.socks.get(p))
    }

    fn sock_mut(&mut self, objref: i32) -> Option<&mut Sock<'a>> {
        self.slots.get(objref).and_then(|p| self.socks.get_mut(p))
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
        semantic::check(&self.img, &mut self.diags);
    }
}
