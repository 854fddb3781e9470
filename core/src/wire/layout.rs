//! Layout tables: how each field of a fixed-size record is placed and spelled.

use super::frame::RecordType;
use super::HDR_LEN;

/// How the text form and the inspector spell a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sym {
    /// A plain decimal number.
    Num,
    /// A number shown in hex (magics).
    Hex,
    /// An enumeration: known values by name, others as numbers.
    Enum(&'static [(u64, &'static str)]),
    /// A bit set: known bits by name, the rest as one hex number.
    Flags(&'static [(u64, &'static str)]),
    /// A byte array shown in the bstr spelling, trailing NULs trimmed (names, paths).
    Text,
    /// A byte array shown as hex, trailing zeros trimmed.
    Raw,
}

/// One field of a fixed-size record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDesc {
    /// Field name, stable: it is the key in the text form.
    pub name: &'static str,
    /// Byte offset from the start of the record (header included).
    pub offset: usize,
    /// Width in bytes.
    pub size: usize,
    /// Signedness for integers, `None` for byte arrays.
    pub signed: Option<bool>,
    /// Spelling.
    pub sym: Sym,
}

/// The layout of a fixed-size record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Record type.
    pub ty: RecordType,
    /// `h.len` the record must have.
    pub size: usize,
    /// Fields in offset order; bytes covered by no field (after the header) are padding.
    pub fields: &'static [FieldDesc],
}

impl Layout {
    /// Byte ranges (record-relative) that are padding: not the header and in no field.
    pub fn padding(&self) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut at = HDR_LEN;
        for f in self.fields {
            if f.offset > at {
                out.push(at..f.offset);
            }
            at = at.max(f.offset + f.size);
        }
        if at < self.size {
            out.push(at..self.size);
        }
        out
    }
    /// The field covering record-relative byte `at`, if any.
    pub fn field_at(&self, at: usize) -> Option<&'static FieldDesc> {
        self.fields.iter().find(|f| (f.offset..f.offset + f.size).contains(&at))
    }
}
