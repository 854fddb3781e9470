//! A protobuf wire-format walker: tags, varints, lengths, checked against the bytes that
//! remain. It gives each field of a payload its path and byte range (for field↔byte
//! highlighting and located diagnostics), keeps the fields the schema does not know (prost
//! drops them), finds missing required fields, and is what [`super::crit`] prints from.
//! Nested messages are walked only where the schema says so, so the depth is bounded by the
//! schema; nothing is allocated from a length read in the input.

use super::schema::{Label, Schema, Ty};
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
        let Some((tag, n)) = varint(data, pos) else {
            w.error = Some(WalkError::Truncated { offset: base + pos, what: "tag", path: prefix.render() });
            break;
        };
        pos += n;
        let wire = (tag & 7) as u8;
        let num = tag >> 3;
        if num == 0 || num > u64::from(u32::MAX >> 3) || !matches!(wire, 0 | 1 | 2 | 5) {
            w.error = Some(WalkError::BadTag { offset: base + start, tag, path: prefix.render() });
            break;
        }
        let num = num as u32;
        let at = schema.position(num);
        let known = at.and_then(|p| schema.fields.get(p));
        if let Some(p) = at {
            seen |= 1u64.checked_shl(p as u32).unwrap_or(0);
        }
        let index = match known {
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
        };
        let full = || match known {
            Some(f) => prefix.child(f.name, index),
            None => prefix.child(&format!("#{num}"), None),
        };
        let path = match known {
            Some(_) if !paths => String::new(),
            _ => full(),
        };
        let vstart = pos;
        let (val_range, val) = match wire {
            0 => match varint(data, pos) {
                Some((v, n)) => {
                    pos += n;
                    (vstart..pos, Val::Varint(v))
                }
                None => {
                    w.error = Some(WalkError::Truncated { offset: base + pos, what: "varint", path: full() });
                    break;
                }
            },
            1 | 5 => {
                let len = if wire == 1 { 8 } else { 4 };
                let Some(b) = data.get(pos..pos + len) else {
                    w.error = Some(WalkError::Truncated { offset: base + pos, what: "fixed-size value", path: full() });
                    break;
                };
                pos += len;
                let mut a = [0u8; 8];
                a[..len].copy_from_slice(b);
                let v = u64::from_le_bytes(a);
                (vstart..pos, if wire == 1 { Val::Fixed64(v) } else { Val::Fixed32(v as u32) })
            }
            _ => {
                let Some((len, n)) = varint(data, pos) else {
                    w.error = Some(WalkError::Truncated { offset: base + pos, what: "length", path: full() });
                    break;
                };
                pos += n;
                let remaining = data.len() - pos;
                let Some(inner) = usize::try_from(len).ok().filter(|&l| l <= remaining) else {
                    w.error = Some(WalkError::LenPastEnd { offset: base + vstart, len, remaining, path: full() });
                    break;
                };
                let r = pos..pos + inner;
                pos += inner;
                let abs = base + r.start..base + r.end;
                match known.map(|f| (f.ty, f.label, f.name)) {
                    Some((Ty::Msg(sub), _, name)) => {
                        let inner = Prefix { up: Some((prefix, name, index)) };
                        let kids = walk_msg(&data[r.clone()], base + r.start, sub, &inner, paths, w);
                        (r, Val::Msg(kids))
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
                                    w.error = Some(WalkError::Truncated {
                                        offset: base + p,
                                        what: "packed varint",
                                        path: full(),
                                    });
                                    break;
                                }
                            }
                        }
                        (r, Val::Packed(vals))
                    }
                    _ => (r, Val::Bytes(abs)),
                }
            }
        };
        if let Some(f) = known {
            let packed = wire == 2 && f.label == Label::Rep && expected_wire(f.ty) == Some(0);
            if let Some(exp) = expected_wire(f.ty) {
                if exp != wire && !packed {
                    w.error = Some(WalkError::WrongWire { offset: base + start, wire, expected: exp, path: full() });
                    break;
                }
            }
        }
        if !paths {
            // The loader's scan keeps only the unknown fields (nested ones lifted up).
            match (known, val) {
                (Some(_), Val::Msg(kids)) => nodes.extend(kids),
                (Some(_), _) => {}
                (None, val) => nodes.push(Node {
                    field: Field {
                        path,
                        number: num,
                        name: None,
                        wire,
                        range: base + start..base + pos,
                        value: base + val_range.start..base + val_range.end,
                    },
                    val,
                }),
            }
            continue;
        }
        nodes.push(Node {
            field: Field {
                path,
                number: num,
                name: known.map(|f| f.name),
                wire,
                range: base + start..base + pos,
                value: base + val_range.start..base + val_range.end,
            },
            val,
        });
    }
    if w.error.is_none() && seen & schema.required != schema.required {
        for (p, f) in schema.fields.iter().enumerate() {
            if f.label == Label::Req && seen & 1u64.checked_shl(p as u32).unwrap_or(0) == 0 {
                w.missing.push((prefix.child(f.name, None), base));
            }
        }
    }
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
