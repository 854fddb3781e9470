//! A protobuf wire-format walker: tags, varints, lengths, checked against the bytes that
//! remain. It gives each field of a payload its path and byte range (for field↔byte
//! highlighting and located diagnostics), keeps the fields the schema does not know (prost
//! drops them), finds missing required fields, and is what [`super::crit`] prints from.
//! Nested messages are walked only where the schema says so, so the depth is bounded by the
//! schema; nothing is allocated from a length read in the input.

use super::schema::{self, Label, Schema, Ty};
use std::ops::Range;

/// One field occurrence found in a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Path from the entry: `usk.opts.so_sndbuf`, `scm[0].rights[1]`; unknown fields by
    /// number (`usk.#40`).
    pub path: String,
    /// Field number.
    pub number: u32,
    /// Schema name; `None` for a field the schema does not know.
    pub name: Option<&'static str>,
    /// Wire type (0 varint, 1 fixed64, 2 length-delimited, 5 fixed32).
    pub wire: u8,
    /// Tag through end of value, in file offsets.
    pub range: Range<usize>,
    /// The value's bytes (after the length prefix for wire type 2), in file offsets.
    pub value: Range<usize>,
}

/// A decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Val {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 5.
    Fixed32(u32),
    /// Wire type 2 not walked further (string, bytes, opaque or unknown message), as file offsets.
    Bytes(Range<usize>),
    /// Packed repeated scalars.
    Packed(Vec<u64>),
    /// A nested message of the schema.
    Msg(Vec<Node>),
}

/// A field and its value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub field: Field,
    pub val: Val,
}

/// Why a payload could not be walked to its end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WalkError {
    /// The payload ends inside a tag, a varint or a fixed-size value.
    #[error("truncated {what} at offset {offset}")]
    Truncated { offset: usize, what: &'static str, path: String },
    /// A length runs past the end of the payload.
    #[error("length {len} at offset {offset} runs past the end of the payload ({remaining} bytes left)")]
    LenPastEnd { offset: usize, len: u64, remaining: usize, path: String },
    /// Wire types 3, 4 (groups), 6, 7, or field number 0.
    #[error("bad tag {tag:#x} at offset {offset}")]
    BadTag { offset: usize, tag: u64, path: String },
    /// A known field with a wire type its type does not use.
    #[error("field {path} at offset {offset} has wire type {wire}, its type needs {expected}")]
    WrongWire { offset: usize, wire: u8, expected: u8, path: String },
}

impl WalkError {
    /// The offset the error is about.
    pub fn offset(&self) -> usize {
        match self {
            WalkError::Truncated { offset, .. }
            | WalkError::LenPastEnd { offset, .. }
            | WalkError::BadTag { offset, .. }
            | WalkError::WrongWire { offset, .. } => *offset,
        }
    }
    /// The field path.
    pub fn path(&self) -> &str {
        match self {
            WalkError::Truncated { path, .. }
            | WalkError::LenPastEnd { path, .. }
            | WalkError::BadTag { path, .. }
            | WalkError::WrongWire { path, .. } => path,
        }
    }
    /// True for the truncation kind (`criu-truncated`).
    pub fn is_truncation(&self) -> bool {
        matches!(self, WalkError::Truncated { .. } | WalkError::LenPastEnd { .. })
    }
}

/// The walk of one payload.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Walk {
    /// Top-level fields with their nested ones.
    pub nodes: Vec<Node>,
    /// Required fields absent: path and the offset of the message that lacks them.
    pub missing: Vec<(String, usize)>,
    /// The first error; the walk stops there (nodes before it are kept).
    pub error: Option<WalkError>,
}

impl Walk {
    /// Every field, nested ones after their parent, in file order.
    pub fn flatten(&self) -> Vec<Field> {
        fn go(nodes: &[Node], out: &mut Vec<Field>) {
            for n in nodes {
                out.push(n.field.clone());
                if let Val::Msg(sub) = &n.val {
                    go(sub, out);
                }
            }
        }
        let mut out = Vec::new();
        go(&self.nodes, &mut out);
        out
    }
}

/// Read a varint at `data[at..]`: value and length. `None` if it is truncated or longer than
/// 10 bytes.
pub fn varint(data: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for i in 0..10 {
        let b = *data.get(at + i)?;
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

fn expected_wire(ty: Ty) -> Option<u8> {
    match ty {
        Ty::U32 | Ty::U64 | Ty::I32 | Ty::S32 | Ty::Bool | Ty::Enum(_) => Some(0),
        Ty::F64 => Some(1),
        Ty::Str | Ty::Bytes | Ty::UnixName | Ty::Msg(_) => Some(2),
        Ty::Opaque => None,
    }
}

/// Walk `data` (a payload that starts at file offset `base`) as message `schema`.
pub fn walk(data: &[u8], base: usize, schema: &'static Schema) -> Walk {
    let mut w = Walk::default();
    let nodes = walk_msg(data, base, schema, &Prefix::ROOT, true, &mut w);
    w.nodes = nodes;
    w
}

/// The loader's pass: the same checks as [`walk`] (errors, missing fields), but `nodes` holds
/// only the unknown fields (with their paths and ranges, nested ones lifted to the top), and
/// no paths are built for known scalar fields.
pub fn scan(data: &[u8], base: usize, schema: &'static Schema) -> Walk {
    let mut w = Walk::default();
    let nodes = walk_msg(data, base, schema, &Prefix::ROOT, false, &mut w);
    w.nodes = nodes;
    w
}

impl Walk {
    /// The fields the schema does not know, nested ones included, in file order.
    pub fn unknown(&self) -> Vec<&Field> {
        fn go<'a>(nodes: &'a [Node], out: &mut Vec<&'a Field>) {
            for n in nodes {
                if n.field.name.is_none() {
                    out.push(&n.field);
                }
                if let Val::Msg(sub) = &n.val {
                    go(sub, out);
                }
            }
        }
        let mut out = Vec::new();
        go(&self.nodes, &mut out);
        out
    }
}

/// The path of the message being walked, as a chain of the fields above it: rendered to a
/// string only where one is needed (every field in [`walk`]; unknown fields, missing ones and
/// errors in [`scan`]), so the loader's scan builds no string for known fields.
#[derive(Debug, Clone, Copy)]
struct Prefix<'a> {
    /// The enclosing message's prefix, this message's field name and its repeated index.
    up: Option<(&'a Prefix<'a>, &'static str, Option<usize>)>,
}

impl Prefix<'_> {
    const ROOT: Prefix<'static> = Prefix { up: None };

    fn write(&self, out: &mut String) {
        if let Some((up, name, index)) = self.up {
            up.write(out);
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(name);
            if let Some(k) = index {
                out.push('[');
                out.push_str(&k.to_string());
                out.push(']');
            }
        }
    }

    fn render(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s
    }

    /// The path of field `name` (`[index]` for a repeated one) in this message.
    fn child(&self, name: &str, index: Option<usize>) -> String {
        let mut s = self.render();
        if !s.is_empty() {
            s.push('.');
        }
        s.push_str(name);
        if let Some(k) = index {
            s.push('[');
            s.push_str(&k.to_string());
            s.push(']');
        }
        s
    }
}

/// Where a field occurrence stands: its message's prefix, its schema field (if known), number and
/// repeated index; gives its path only when one is needed.
struct Site<'p, 'a> {
    prefix: &'p Prefix<'a>,
    known: Option<&'static schema::Field>,
    num: u32,
    index: Option<usize>,
}

impl Site<'_, '_> {
    /// Its full path (`usk.opts.so_sndbuf`, `scm[0].rights[1]`, `usk.#40`).
    fn path(&self) -> String {
        match self.known {
            Some(f) => self.prefix.child(f.name, self.index),
            None => self.prefix.child(&format!("#{}", self.num), None),
        }
    }
}

/// The tag at `data[pos..]`: field number, wire type and the tag's length; `None` (with
/// `w.error` set) for a truncated tag, field number 0 or past 2^29, or wire types 3, 4, 6, 7.
fn read_tag(data: &[u8], pos: usize, base: usize, prefix: &Prefix<'_>, w: &mut Walk) -> Option<(u32, u8, usize)> {
    let Some((tag, n)) = varint(data, pos) else {
        w.error = Some(WalkError::Truncated { offset: base + pos, what: "tag", path: prefix.render() });
        return None;
    };
    let wire = (tag & 7) as u8;
    let num = tag >> 3;
    if num == 0 || num > u64::from(u32::MAX >> 3) || !matches!(wire, 0 | 1 | 2 | 5) {
        w.error = Some(WalkError::BadTag { offset: base + pos, tag, path: prefix.render() });
        return None;
    }
    Some((num as u32, wire, n))
}

/// The index of this occurrence of repeated field `num` (`[k]` in its path), counted in `reps`;
/// `None` for a field that is not repeated (or not known).
fn repeat_index(known: Option<&'static schema::Field>, num: u32, reps: &mut Vec<(u32, usize)>) -> Option<usize> {
    match known {
        Some(f) if f.label == Label::Rep => Some(match reps.iter_mut().find(|(f, _)| *f == num) {
            Some((_, c)) => {
                *c += 1;
                *c - 1
            }
            None => {
                reps.push((num, 1));
                0
            }
        }),
        _ => None,
    }
}

/// The value of wire type `wire` at `data[pos..]`: its range (in `data`), the value and where
/// it ends; `None` (with `w.error` set) where it is cut short. A nested message of the schema is
/// walked; packed repeated varints are read (an error inside them is set in `w`, the value read
/// so far still returned, as for a nested message's error).
fn read_value(
    data: &[u8],
    pos: usize,
    base: usize,
    wire: u8,
    site: &Site<'_, '_>,
    paths: bool,
    w: &mut Walk,
) -> Option<(Range<usize>, Val, usize)> {
    match wire {
        0 => match varint(data, pos) {
            Some((v, n)) => Some((pos..pos + n, Val::Varint(v), pos + n)),
            None => {
                w.error = Some(WalkError::Truncated { offset: base + pos, what: "varint", path: site.path() });
                None
            }
        },
        1 | 5 => {
            let len = if wire == 1 { 8 } else { 4 };
            let Some(b) = data.get(pos..pos + len) else {
                w.error =
                    Some(WalkError::Truncated { offset: base + pos, what: "fixed-size value", path: site.path() });
                return None;
            };
            let mut a = [0u8; 8];
            a[..len].copy_from_slice(b);
            let v = u64::from_le_bytes(a);
            Some((pos..pos + len, if wire == 1 { Val::Fixed64(v) } else { Val::Fixed32(v as u32) }, pos + len))
        }
        _ => {
            let Some((len, n)) = varint(data, pos) else {
                w.error = Some(WalkError::Truncated { offset: base + pos, what: "length", path: site.path() });
                return None;
            };
            let at = pos + n;
            let remaining = data.len() - at;
            let Some(inner) = usize::try_from(len).ok().filter(|&l| l <= remaining) else {
                w.error = Some(WalkError::LenPastEnd { offset: base + pos, len, remaining, path: site.path() });
                return None;
            };
            let r = at..at + inner;
            let val = delimited(data, r.clone(), base, site, paths, w);
            Some((r.clone(), val, r.end))
        }
    }
}

/// A length-delimited value `data[r]`: a nested message of the schema (walked), packed repeated
/// varints, or bytes (strings, bytes, opaque and unknown fields).
fn delimited(data: &[u8], r: Range<usize>, base: usize, site: &Site<'_, '_>, paths: bool, w: &mut Walk) -> Val {
    match site.known.map(|f| (f.ty, f.label, f.name)) {
        Some((Ty::Msg(sub), _, name)) => {
            let inner = Prefix { up: Some((site.prefix, name, site.index)) };
            Val::Msg(walk_msg(&data[r.clone()], base + r.start, sub, &inner, paths, w))
        }
        Some((ty, Label::Rep, _)) if expected_wire(ty) == Some(0) => {
            let mut vals = Vec::new();
            let mut p = r.start;
            while p < r.end {
                match varint(&data[..r.end], p) {
                    Some((v, n)) => {
                        vals.push(v);
                        p += n;
                    }
                    None => {
                        w.error =
                            Some(WalkError::Truncated { offset: base + p, what: "packed varint", path: site.path() });
                        break;
                    }
                }
            }
            Val::Packed(vals)
        }
        _ => Val::Bytes(base + r.start..base + r.end),
    }
}

/// A known field whose wire type is not its type's (packed repeated varints allowed).
fn wrong_wire(site: &Site<'_, '_>, wire: u8, offset: usize) -> Option<WalkError> {
    let f = site.known?;
    let packed = wire == 2 && f.label == Label::Rep && expected_wire(f.ty) == Some(0);
    let exp = expected_wire(f.ty)?;
    (exp != wire && !packed).then(|| WalkError::WrongWire { offset, wire, expected: exp, path: site.path() })
}

/// Required fields of `schema` that are not in `seen` (by position), noted in `w` unless the
/// walk stopped at an error.
fn note_missing(schema: &'static Schema, seen: u64, prefix: &Prefix<'_>, base: usize, w: &mut Walk) {
    if w.error.is_none() && seen & schema.required != schema.required {
        for (p, f) in schema.fields.iter().enumerate() {
            if f.label == Label::Req && seen & 1u64.checked_shl(p as u32).unwrap_or(0) == 0 {
                w.missing.push((prefix.child(f.name, None), base));
            }
        }
    }
}

fn walk_msg(
    data: &[u8],
    base: usize,
    schema: &'static Schema,
    prefix: &Prefix<'_>,
    paths: bool,
    w: &mut Walk,
) -> Vec<Node> {
    let mut nodes: Vec<Node> = Vec::new();
    let mut pos = 0usize;
    // Which of the schema's fields were seen (by position; a test keeps schemas under 64
    // fields), and how many times each repeated one (for its `[k]`).
    let mut seen: u64 = 0;
    let mut reps: Vec<(u32, usize)> = Vec::new();
    while pos < data.len() && w.error.is_none() {
        let start = pos;
        let Some((num, wire, n)) = read_tag(data, pos, base, prefix, w) else { break };
        pos += n;
        let at = schema.position(num);
        let known = at.and_then(|p| schema.fields.get(p));
        if let Some(p) = at {
            seen |= 1u64.checked_shl(p as u32).unwrap_or(0);
        }
        let index = repeat_index(known, num, &mut reps);
        let site = Site { prefix, known, num, index };
        let Some((val_range, val, end)) = read_value(data, pos, base, wire, &site, paths, w) else { break };
        pos = end;
        if let Some(e) = wrong_wire(&site, wire, base + start) {
            w.error = Some(e);
            break;
        }
        let field = |path| Field {
            path,
            number: num,
            name: known.map(|f| f.name),
            wire,
            range: base + start..base + pos,
            value: base + val_range.start..base + val_range.end,
        };
        match (paths, known, val) {
            (true, _, val) => nodes.push(Node { field: field(site.path()), val }),
            // The loader's scan keeps only the unknown fields (nested ones lifted up), and
            // builds no path for a known one.
            (false, Some(_), Val::Msg(kids)) => nodes.extend(kids),
            (false, Some(_), _) => {}
            (false, None, val) => nodes.push(Node { field: field(site.path()), val }),
        }
    }
    note_missing(schema, seen, prefix, base, w);
    nodes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criu::schema;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn walks_known_unknown_and_packed_fields() {
        // scm_entry { type: 1, rights: [5, 6] (packed), #9: 7 }
        let data = [0x08, 0x01, 0x12, 0x02, 0x05, 0x06, 0x48, 0x07];
        let w = walk(&data, 100, &schema::SCM);
        assert_eq!(w.error, None);
        assert!(w.missing.is_empty());
        let f = w.flatten();
        assert_eq!(f.len(), 3);
        assert_eq!(f[0].path, "type");
        assert_eq!(f[1].range, 102..106);
        assert_eq!(w.nodes[1].val, Val::Packed(vec![5, 6]));
        assert_eq!((f[2].name, f[2].path.as_str(), f[2].value.clone()), (None, "#9", 107..108));
    }

    #[test]
    fn scan_keeps_only_unknown_fields() {
        // sk_packet_entry { id_for: 1, length: 0, scm { type: 1, #7: 2 }, #9: 3 }
        let data = [0x08, 0x01, 0x10, 0x00, 0x22, 0x04, 0x08, 0x01, 0x38, 0x02, 0x48, 0x03];
        let s = scan(&data, 10, &schema::SK_PACKET);
        assert_eq!(s.error, None);
        let u: Vec<_> = s.unknown().iter().map(|f| (f.path.clone(), f.range.clone())).collect();
        assert_eq!(u, vec![("scm[0].#7".to_string(), 18..20), ("#9".to_string(), 20..22)]);
        let w = walk(&data, 10, &schema::SK_PACKET);
        let wu: Vec<_> = w.unknown().iter().map(|f| (f.path.clone(), f.range.clone())).collect();
        assert_eq!(wu, u);
        assert_eq!(scan(&[0x08], 0, &schema::SK_PACKET).error.map(|e| e.path().to_string()), Some("id_for".into()));
    }

    #[test]
    fn reports_truncation_and_missing() {
        let w = walk(&[0x08, 0x80], 0, &schema::SCM);
        assert!(matches!(w.error, Some(WalkError::Truncated { offset: 1, .. })));
        let w = walk(&[0x12, 0x05, 1], 0, &schema::SCM);
        assert!(matches!(w.error, Some(WalkError::LenPastEnd { len: 5, remaining: 1, .. })));
        let w = walk(&[], 0, &schema::SCM);
        assert_eq!(w.missing, vec![("type".to_string(), 0)]);
        let w = walk(&[0x0b], 0, &schema::SCM);
        assert!(matches!(w.error, Some(WalkError::BadTag { .. })));
        let w = walk(&[0x0d, 0, 0, 0, 0], 0, &schema::SCM);
        assert!(matches!(w.error, Some(WalkError::WrongWire { .. })));
    }
}
