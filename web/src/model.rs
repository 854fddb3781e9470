//! What the inspector shows about one loaded image, computed once from `resocket-core` when the
//! image is opened: the record index, the report's diagnostics, socket rows and the summary.
//! Nothing here parses bytes itself: framing, decoding, layouts and validation all come from core.

use resocket_core::summary::{family_name, role, sock_name, sym_name, type_name};
use resocket_core::wire::{self, sym, Record, RecordType, Records, HDR_LEN};
use resocket_core::Diagnostic;
use std::ops::Range;
use std::rc::Rc;

/// One framed record, without its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecInfo {
    /// Offset of the header in the image.
    pub offset: usize,
    /// Type.
    pub ty: RecordType,
    /// `h.len`.
    pub len: usize,
}

impl RecInfo {
    /// Absolute byte range.
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// One row of the sockets table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockRow {
    pub objref: i32,
    pub family: String,
    pub ty: String,
    pub state: String,
    pub role: &'static str,
    pub name: String,
    pub peer: i32,
    pub queued_msgs: usize,
    pub queued_bytes: usize,
    pub pending: usize,
    /// Index of its `SOCKET` record.
    pub record: usize,
}

/// The counts of the summary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub sockets: usize,
    pub records: usize,
    pub bytes: usize,
    pub errors: usize,
    pub warnings: usize,
    /// `resocket_core::summary::summary_line`.
    pub line: String,
}

/// A loaded image.
#[derive(Debug)]
pub struct Doc {
    /// File or gallery name.
    pub name: String,
    /// What the image is (the fixture's description), if known.
    pub note: String,
    /// The image.
    pub bytes: Rc<[u8]>,
    /// Every record the framing could read.
    pub records: Vec<RecInfo>,
    /// The framing error that stopped the record list, with its offset.
    pub framing: Option<(usize, String)>,
    /// `load(bytes).diagnostics`.
    pub diagnostics: Vec<Diagnostic>,
    /// Sockets in objref order.
    pub sockets: Vec<SockRow>,
    /// Counts.
    pub summary: Summary,
}

/// Identity: two docs are the same when they are the same allocation (state compares by `Rc`).
impl PartialEq for Doc {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Doc {
    /// Frame, load and validate `bytes` with `resocket-core`.
    pub fn load(name: impl Into<String>, bytes: Rc<[u8]>) -> Doc {
        let mut records = Vec::new();
        let mut framing = None;
        for r in Records::new(&bytes) {
            match r {
                Ok(r) => records.push(RecInfo { offset: r.offset, ty: r.ty, len: r.len() }),
                Err(e) => framing = Some((e.offset(), e.to_string())),
            }
        }
        let report = resocket_core::load(&bytes);
        let img = &report.image;
        let sockets = img
            .sockets
            .values()
            .map(|s| SockRow {
                objref: s.objref,
                family: family_name(s.common.family),
                ty: type_name(s.common.sock_type),
                state: sym_name(sym::TCP, u64::from(s.common.state)),
                role: role(img, s),
                name: sock_name(s),
                peer: s.peer(),
                queued_msgs: s.queue.len(),
                queued_bytes: s.queued_bytes(),
                pending: s.pending.len(),
                record: s.record,
            })
            .collect();
        let summary = Summary {
            sockets: img.sockets.len(),
            records: img.record_count,
            bytes: img.size,
            errors: report.error_count(),
            warnings: report.warning_count(),
            line: resocket_core::summary::summary_line(&report),
        };
        let diagnostics = report.diagnostics;
        Doc { name: name.into(), note: String::new(), bytes, records, framing, diagnostics, sockets, summary }
    }

    /// The framed record at `index`.
    pub fn record(&self, index: usize) -> Option<Record<'_>> {
        let r = self.records.get(index)?;
        Some(Record { offset: r.offset, ty: r.ty, bytes: self.bytes.get(r.range())? })
    }

    /// Index of the record whose bytes contain `offset`.
    pub fn record_containing(&self, offset: usize) -> Option<usize> {
        let i = self.records.partition_point(|r| r.offset <= offset).checked_sub(1)?;
        self.records[i].range().contains(&offset).then_some(i)
    }

    /// True when the image has no errors.
    pub fn is_valid(&self) -> bool {
        self.summary.errors == 0
    }
}

/// The record-relative bytes a key of `text::decode_record`'s object stands for: a layout field,
/// the header's `type`, or the payload of a variable-length record.
pub fn key_range(rec: &Record<'_>, key: &str) -> Option<Range<usize>> {
    if key == "type" {
        return Some(0..4);
    }
    if key == "len" {
        return Some(4..HDR_LEN);
    }
    if let Some(l) = wire::layout(rec.ty).filter(|l| l.size == rec.len()) {
        return l.fields.iter().find(|f| f.name == key).map(|f| f.offset..f.offset + f.size);
    }
    match key {
        "text" | "hex" | "nuls" => Some(HDR_LEN..rec.len()),
        "objrefs" if rec.ty == RecordType::RS_RIGHTS => Some(16.min(rec.len())..rec.len()),
        "reserved" if rec.ty == RecordType::RS_RIGHTS => Some(12..16),
        _ => None,
    }
}

/// The key (as in `key_range`) that record-relative byte `at` belongs to.
pub fn key_at(rec: &Record<'_>, at: usize) -> Option<&'static str> {
    if at < 4 {
        return Some("type");
    }
    if at < HDR_LEN {
        return Some("len");
    }
    if let Some(l) = wire::layout(rec.ty).filter(|l| l.size == rec.len()) {
        return l.field_at(at).map(|f| f.name);
    }
    if rec.ty == RecordType::RS_RIGHTS && wire::Rights::new_checked(*rec).is_ok() {
        return Some(if at < 16 { "reserved" } else { "objrefs" });
    }
    match resocket_core::text::decode_record(rec).get("text") {
        Some(_) => Some("text"),
        None => Some("hex"),
    }
}

/// Largest number of bytes the hex view renders at once.
pub const HEX_MAX: usize = 2048;

/// The bytes the hex view shows: the selected record (or, for a focus outside every record, the
/// rows around it), at most [`HEX_MAX`] bytes, moved so that the focus is visible.
pub fn hex_region(doc: &Doc, selected: Option<usize>, focus: Option<&Range<usize>>) -> Range<usize> {
    let total = doc.bytes.len();
    let base = match (selected.and_then(|i| doc.records.get(i)), focus) {
        (Some(r), _) => r.range(),
        (None, Some(f)) => {
            let start = (f.start.min(total) & !15).saturating_sub(64);
            start..(f.end.max(f.start + 1) + 64).min(total)
        }
        (None, None) => 0..total,
    };
    let mut start = base.start;
    if let Some(f) = focus {
        if f.start >= start + HEX_MAX && f.start < base.end {
            start = (f.start & !15).saturating_sub(64).max(base.start);
        }
    }
    start..base.end.min(start + HEX_MAX)
}

/// Format `n` bytes as `1,234 B` style text.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
