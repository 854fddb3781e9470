//! Framing: record type numbers, one framed [`Record`], the [`Records`] iterator (which never
//! reads out of bounds, never allocates, and stops after its first error) and [`WireError`];
//! writing a record header.

use super::scalar::le_u32;
use super::HDR_LEN;
use std::fmt;

/// A record type number (`enum ckpt_hdr_type` plus resocket's extensions).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RecordType(pub u32);

macro_rules! record_types {
    ($($name:ident = $value:expr),* $(,)?) => {
        impl RecordType {
            $(pub const $name: RecordType = RecordType($value);)*
            /// Every type this crate knows, in number order.
            pub const KNOWN: &'static [(RecordType, &'static str)] =
                &[$((RecordType($value), stringify!($name)),)*];
        }
    };
}

record_types! {
    HEADER = 1,
    HEADER_ARCH = 2,
    BUFFER = 4,
    STRING = 5,
    OBJREF = 6,
    FILE_TABLE = 301,
    FILE_DESC = 302,
    FILE = 304,
    SOCKET = 701,
    SOCKET_QUEUE = 702,
    SOCKET_BUFFER = 703,
    SOCKET_FRAG = 704,
    SOCKET_UNIX = 705,
    SOCKET_INET = 706,
    RS_PENDING = 8001,
    RS_RIGHTS = 8002,
    RS_TASK = 8003,
    RS_SOCKOPT = 8004,
    RS_OOB = 8005,
    TAIL = 9001,
    ERROR = 9999,
}

impl RecordType {
    /// The symbolic name (`SOCKET_UNIX`), if known.
    pub fn name(self) -> Option<&'static str> {
        Self::KNOWN.iter().find(|(t, _)| *t == self).map(|(_, n)| *n)
    }
    /// Look a symbolic name up.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::KNOWN.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }
    /// True for the types this crate understands.
    pub fn is_known(self) -> bool {
        self.name().is_some()
    }
}

impl fmt::Debug for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "type {}", self.0),
        }
    }
}

/// One framed record: its offset in the image and its bytes (header included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record header in the image.
    pub offset: usize,
    /// `h.type`.
    pub ty: RecordType,
    /// The whole record, `h.len` bytes, header included.
    pub bytes: &'a [u8],
}

impl<'a> Record<'a> {
    /// The bytes after the 8-byte header.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(HDR_LEN..).unwrap_or(&[])
    }
    /// `h.len` (always `bytes.len()`).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }
    /// Never true: a framed record has at least its header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// The byte range the record covers in the image.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.bytes.len()
    }
}

/// A framing or view error, with the byte offset it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than 8 bytes remain where a record header should start.
    #[error("truncated record header at offset {offset}: {remaining} bytes left, 8 needed")]
    TruncatedHeader { offset: usize, remaining: usize },
    /// `h.len` is smaller than the header itself.
    #[error("record at offset {offset} has len {len}, less than its 8-byte header")]
    LenTooSmall { offset: usize, len: u32 },
    /// `h.len` runs past the end of the image.
    #[error("record at offset {offset} has len {len} but only {remaining} bytes remain")]
    PastEnd { offset: usize, len: u32, remaining: usize },
    /// A view was asked for a record of another type.
    #[error("record at offset {offset} is {found}, expected {expected}")]
    WrongType { offset: usize, found: RecordType, expected: RecordType },
    /// A fixed-size record has the wrong `len`.
    #[error("{ty} record at offset {offset} has len {len}, the layout is {expected} bytes")]
    WrongLen { offset: usize, ty: RecordType, len: usize, expected: usize },
}

impl WireError {
    /// The byte offset of the record the error is about.
    pub fn offset(&self) -> usize {
        match *self {
            WireError::TruncatedHeader { offset, .. }
            | WireError::LenTooSmall { offset, .. }
            | WireError::PastEnd { offset, .. }
            | WireError::WrongType { offset, .. }
            | WireError::WrongLen { offset, .. } => offset,
        }
    }
}

/// The framing loop both formats share (resocket's records here, CRIU's entries in
/// `criu/frame.rs`): from a position in `data`, one item at a time is framed from the bytes
/// that remain, the position moves past it, and the first error (or the end) fuses it. Nothing
/// is read out of bounds and nothing is allocated: a framer gets a slice and says how long its
/// item is.
#[derive(Debug, Clone)]
pub(crate) struct Framed<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Framed<'a> {
    /// Frame `data` from `pos`.
    pub(crate) fn new(data: &'a [u8], pos: usize) -> Self {
        Framed { data, pos, done: false }
    }
    /// Offset of the next item.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }
    /// The next item: `frame` gets its offset and the bytes from there to the end (never
    /// empty) and answers the item and its length, or an error; `None` at the end and after
    /// the first error.
    pub(crate) fn next_with<T, E>(
        &mut self,
        frame: impl FnOnce(usize, &'a [u8]) -> Result<(T, usize), E>,
    ) -> Option<Result<T, E>> {
        if self.done {
            return None;
        }
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        match frame(self.pos, rest) {
            Ok((item, len)) => {
                self.pos += len;
                Some(Ok(item))
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Iterator over the records of an image; fuses after its first error.
#[derive(Debug, Clone)]
pub struct Records<'a>(Framed<'a>);

impl<'a> Records<'a> {
    /// Frame `data` from its first byte.
    pub fn new(data: &'a [u8]) -> Self {
        Records(Framed::new(data, 0))
    }
    /// Offset of the next record to be read.
    pub fn position(&self) -> usize {
        self.0.position()
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.0.next_with(|offset, rest| {
            if rest.len() < HDR_LEN {
                return Err(WireError::TruncatedHeader { offset, remaining: rest.len() });
            }
            let ty = RecordType(le_u32(rest, 0));
            let len = le_u32(rest, 4);
            if (len as usize) < HDR_LEN {
                return Err(WireError::LenTooSmall { offset, len });
            }
            let Some(bytes) = rest.get(..len as usize) else {
                return Err(WireError::PastEnd { offset, len, remaining: rest.len() });
            };
            Ok((Record { offset, ty, bytes }, bytes.len()))
        })
    }
}

/// Append a record header of type `ty` and total length `len`.
pub fn emit_header(out: &mut Vec<u8>, ty: RecordType, len: usize) {
    out.extend_from_slice(&ty.0.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

/// Append a variable-length record (`BUFFER`, `STRING`, unknown types) with this payload.
pub fn emit_raw(out: &mut Vec<u8>, ty: RecordType, payload: &[u8]) {
    emit_header(out, ty, HDR_LEN + payload.len());
    out.extend_from_slice(payload);
}
