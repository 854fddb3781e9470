//! The lossless text form of the record stream: [`decode`] an image to JSON and [`encode`] it
//! back. `encode(decode(img)) == img` for every image whose framing is intact (valid or not):
//! padding that is not zero, unknown record types and records of the wrong size are all kept.
//!
//! ```json
//! { "format": "resocket-records/1",
//!   "records": [ { "type": "HEADER", "magic": "0x00feed0cc0a2d200", "arch_id": "X86_64", ... },
//!                { "type": "BUFFER", "text": "6.18.44", "nuls": 58 },
//!                { "type": "SOCKET_UNIX", "this": 2, "peer": 3, "flags": ["LINKED"], ... },
//!                { "type": 4242, "hex": "00ff" } ] }
//! ```
//!
//! Field spelling follows the [`crate::wire::Layout`] tables: numbers; `"0x…"` for magics;
//! symbolic names for enumerations (`"AF_UNIX"`, `"TCP_LISTEN"`) with plain numbers for unknown
//! values; arrays of names for flag sets (unknown bits as one `"0x…"` entry); the bstr spelling
//! ([`crate::bstr`]) for names and textual payloads, hex for binary ones. Optional keys:
//! `"padding"` (non-zero padding bytes by record offset), `"len"` (a header length that differs
//! from the content, for building broken images), and top-level `"trailing_hex"`.

use crate::bstr;
use crate::wire::{self, FieldDesc, Layout, RecordType, Records, Sym, HDR_LEN};
use serde_json::{json, Map, Value};

/// Identifier of the text form.
pub const FORMAT: &str = "resocket-records/1";

/// Why a text form could not be encoded, or an image decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// The image's framing is broken, so records cannot be listed.
    #[error("cannot decode: {0}")]
    Framing(#[from] wire::WireError),
    /// The JSON is not a text form.
    #[error("not a resocket text form: {0}")]
    Shape(String),
    /// A record of the text form is wrong.
    #[error("record {index}: {message}")]
    Record { index: usize, message: String },
}

/// Decode an image into its text form.
pub fn decode(bytes: &[u8]) -> Result<Value, TextError> {
    let mut records = Vec::new();
    for rec in Records::new(bytes) {
        records.push(decode_record(&rec?));
    }
    Ok(json!({ "format": FORMAT, "records": records }))
}

/// Decode one record.
pub fn decode_record(rec: &wire::Record<'_>) -> Value {
    let mut m = Map::new();
    m.insert("type".into(), rec.ty.name().map_or_else(|| json!(rec.ty.0), |n| json!(n)));
    let layout = wire::layout(rec.ty).filter(|l| l.size == rec.len());
    match (layout, rec.ty) {
        (Some(l), _) => {
            for f in l.fields {
                m.insert(f.name.into(), field_value(f, rec.bytes));
            }
            let mut pads = Map::new();
            for r in l.padding() {
                if let Some(b) = rec.bytes.get(r.clone()) {
                    if b.iter().any(|&x| x != 0) {
                        pads.insert(r.start.to_string(), json!(bstr::hex(b)));
                    }
                }
            }
            if !pads.is_empty() {
                m.insert("padding".into(), Value::Object(pads));
            }
        }
        (None, RecordType::RS_RIGHTS) if wire::Rights::new_checked(*rec).is_ok() => {
            let v = wire::Rights::new_checked(*rec).expect("checked just above");
            m.insert("objrefs".into(), json!(v.objrefs().collect::<Vec<_>>()));
            if v.reserved() != 0 {
                m.insert("reserved".into(), json!(v.reserved()));
            }
        }
        (None, t) if wire::layout(t).is_none() && t != RecordType::RS_RIGHTS => payload_value(rec.payload(), &mut m),
        _ => {
            m.insert("hex".into(), json!(bstr::hex(rec.payload())));
        }
    }
    Value::Object(m)
}

fn payload_value(p: &[u8], m: &mut Map<String, Value>) {
    let body_end = p.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    let (body, nuls) = (&p[..body_end], p.len() - body_end);
    if bstr::looks_textual(body) {
        m.insert("text".into(), json!(bstr::escape(body)));
        if nuls > 0 {
            m.insert("nuls".into(), json!(nuls));
        }
    } else {
        m.insert("hex".into(), json!(bstr::hex(p)));
    }
}

fn read_int(f: &FieldDesc, b: &[u8]) -> i128 {
    let raw = b.get(f.offset..f.offset + f.size).unwrap_or(&[]);
    let mut v: u64 = 0;
    for (i, &x) in raw.iter().enumerate() {
        v |= u64::from(x) << (8 * i);
    }
    if f.signed == Some(true) && f.size < 8 {
        let shift = 64 - 8 * f.size as u32;
        i128::from(((v << shift) as i64) >> shift)
    } else if f.signed == Some(true) {
        i128::from(v as i64)
    } else {
        i128::from(v)
    }
}

/// The text spelling of one field.
pub fn field_value(f: &FieldDesc, b: &[u8]) -> Value {
    if f.signed.is_none() {
        let raw = b.get(f.offset..f.offset + f.size).unwrap_or(&[]);
        let end = raw.iter().rposition(|&x| x != 0).map_or(0, |i| i + 1);
        return match f.sym {
            Sym::Text => json!(bstr::escape(&raw[..end])),
            _ => json!(bstr::hex(&raw[..end])),
        };
    }
    let v = read_int(f, b);
    match f.sym {
        Sym::Num if f.signed == Some(true) => json!(v as i64),
        Sym::Num => json!(v as u64),
        Sym::Hex | Sym::Raw | Sym::Text => json!(format!("{:#0w$x}", v as u64, w = 2 + 2 * f.size)),
        Sym::Enum(t) => t.iter().find(|(k, _)| i128::from(*k) == v).map_or_else(|| json!(v as i64), |(_, n)| json!(n)),
        Sym::Flags(t) => {
            let mut left = v as u64;
            let mut names = Vec::new();
            for (bit, n) in t {
                if left & bit == *bit && *bit != 0 {
                    names.push(json!(n));
                    left &= !bit;
                }
            }
            if left != 0 {
                names.push(json!(format!("{left:#x}")));
            }
            Value::Array(names)
        }
    }
}

/// Encode a text form back into image bytes.
pub fn encode(text: &Value) -> Result<Vec<u8>, TextError> {
    let obj = text.as_object().ok_or_else(|| TextError::Shape("top level is not an object".into()))?;
    match obj.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        other => return Err(TextError::Shape(format!("\"format\" is {other:?}, expected {FORMAT:?}"))),
    }
    for k in obj.keys() {
        if !matches!(k.as_str(), "format" | "records" | "trailing_hex") {
            return Err(TextError::Shape(format!("unknown top-level key {k:?}")));
        }
    }
    let records = obj
        .get("records")
        .and_then(Value::as_array)
        .ok_or_else(|| TextError::Shape("\"records\" is not an array".into()))?;
    let mut out = Vec::new();
    for (index, r) in records.iter().enumerate() {
        encode_record(r, &mut out).map_err(|message| TextError::Record { index, message })?;
    }
    if let Some(t) = obj.get("trailing_hex") {
        let s = t.as_str().ok_or_else(|| TextError::Shape("trailing_hex is not a string".into()))?;
        out.extend(bstr::unhex(s).map_err(|e| TextError::Shape(format!("trailing_hex: {e}")))?);
    }
    Ok(out)
}

fn encode_record(r: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    let m = r.as_object().ok_or("a record is not an object")?;
    let ty = match m.get("type") {
        Some(Value::String(s)) => RecordType::from_name(s).ok_or_else(|| format!("unknown type name {s:?}"))?,
        Some(Value::Number(n)) => {
            RecordType(n.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or("type out of range")?)
        }
        _ => return Err("missing \"type\"".into()),
    };
    let start = out.len();
    let len_override = match m.get("len") {
        Some(v) => Some(v.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or("len is not a u32")?),
        None => None,
    };
    let allowed: &[&str] = &["type", "len"];
    if let Some(h) = m.get("hex") {
        only_keys(m, &[allowed, &["hex"]].concat())?;
        let p = bstr::unhex(h.as_str().ok_or("hex is not a string")?).map_err(|e| format!("hex: {e}"))?;
        wire::emit_raw(out, ty, &p);
    } else if let Some(l) = wire::layout(ty) {
        let names: Vec<&str> = l.fields.iter().map(|f| f.name).chain(["type", "len", "padding"]).collect();
        only_keys(m, &names)?;
        encode_fixed(l, m, out)?;
    } else if ty == RecordType::RS_RIGHTS {
        only_keys(m, &[allowed, &["objrefs", "reserved", "nr_fds"]].concat())?;
        let refs: Vec<i32> = m
            .get("objrefs")
            .and_then(Value::as_array)
            .ok_or("RS_RIGHTS needs \"objrefs\"")?
            .iter()
            .map(|v| v.as_i64().and_then(|v| i32::try_from(v).ok()).ok_or("objref is not an i32"))
            .collect::<Result<_, _>>()?;
        wire::RightsRepr { objrefs: refs }.emit(out);
        for (key, at) in [("nr_fds", 8), ("reserved", 12)] {
            if let Some(v) = m.get(key) {
                let v = v.as_u64().and_then(|v| u32::try_from(v).ok()).ok_or_else(|| format!("{key} is not a u32"))?;
                out[start + at..start + at + 4].copy_from_slice(&v.to_le_bytes());
            }
        }
    } else {
        only_keys(m, &[allowed, &["text", "nuls"]].concat())?;
        let text = m.get("text").and_then(Value::as_str).unwrap_or("");
        let mut p = bstr::unescape(text).map_err(|e| format!("text: {e}"))?;
        let nuls = m.get("nuls").map_or(Some(0), Value::as_u64).ok_or("nuls is not a number")?;
        if nuls > 1 << 20 {
            return Err("nuls is larger than 1 MiB".into());
        }
        p.resize(p.len() + nuls as usize, 0);
        wire::emit_raw(out, ty, &p);
    }
    if let Some(len) = len_override {
        out[start + 4..start + 8].copy_from_slice(&len.to_le_bytes());
    }
    Ok(())
}

fn only_keys(m: &Map<String, Value>, allowed: &[&str]) -> Result<(), String> {
    match m.keys().find(|k| !allowed.contains(&k.as_str())) {
        Some(k) => Err(format!("unknown key {k:?} (allowed: {})", allowed.join(", "))),
        None => Ok(()),
    }
}

fn encode_fixed(l: &Layout, m: &Map<String, Value>, out: &mut Vec<u8>) -> Result<(), String> {
    let start = out.len();
    out.resize(start + l.size, 0);
    let b = &mut out[start..];
    b[0..4].copy_from_slice(&l.ty.0.to_le_bytes());
    b[4..8].copy_from_slice(&(l.size as u32).to_le_bytes());
    for f in l.fields {
        let Some(v) = m.get(f.name) else { continue };
        let dst = &mut b[f.offset..f.offset + f.size];
        if f.signed.is_none() {
            let s = v.as_str().ok_or_else(|| format!("{} is not a string", f.name))?;
            let bytes = match f.sym {
                Sym::Text => bstr::unescape(s).map_err(|e| format!("{}: {e}", f.name))?,
                _ => bstr::unhex(s).map_err(|e| format!("{}: {e}", f.name))?,
            };
            if bytes.len() > f.size {
                return Err(format!("{} holds {} bytes, at most {}", f.name, bytes.len(), f.size));
            }
            dst[..bytes.len()].copy_from_slice(&bytes);
            continue;
        }
        let n = field_number(f, v)?;
        let bits = 8 * f.size as u32;
        let (min, max): (i128, i128) = if f.signed == Some(true) {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        } else {
            (0, (1i128 << bits) - 1)
        };
        // Signed fields also accept the unsigned spelling of the same bits (0xffffffff for -1).
        let n = if n < min || n > max {
            if f.signed == Some(true) && n >= 0 && n < (1i128 << bits) {
                n - (1i128 << bits)
            } else {
                return Err(format!("{} = {n} does not fit in {} bytes", f.name, f.size));
            }
        } else {
            n
        };
        let le = (n as u64).to_le_bytes();
        dst.copy_from_slice(&le[..f.size]);
    }
    if let Some(p) = m.get("padding") {
        let p = p.as_object().ok_or("padding is not an object")?;
        let pads = l.padding();
        for (k, v) in p {
            let at: usize = k.parse().map_err(|_| format!("padding key {k:?} is not an offset"))?;
            let bytes =
                bstr::unhex(v.as_str().ok_or("padding value is not hex")?).map_err(|e| format!("padding: {e}"))?;
            if !pads.iter().any(|r| r.start == at && r.len() == bytes.len()) {
                return Err(format!("padding at {at} of {} bytes is not a padding range of {}", bytes.len(), l.ty));
            }
            b[at..at + bytes.len()].copy_from_slice(&bytes);
        }
    }
    Ok(())
}

fn field_number(f: &FieldDesc, v: &Value) -> Result<i128, String> {
    let parse_str = |s: &str| -> Result<i128, String> {
        if let Some(h) = s.strip_prefix("0x") {
            return u64::from_str_radix(h, 16).map(i128::from).map_err(|_| format!("{}: bad hex {s:?}", f.name));
        }
        let table = match f.sym {
            Sym::Enum(t) | Sym::Flags(t) => t,
            _ => &[],
        };
        table
            .iter()
            .find(|(_, n)| *n == s)
            .map(|(k, _)| i128::from(*k))
            .ok_or_else(|| format!("{}: unknown name {s:?}", f.name))
    };
    match v {
        Value::Number(n) => n
            .as_i64()
            .map(i128::from)
            .or_else(|| n.as_u64().map(i128::from))
            .ok_or_else(|| format!("{} is not an integer", f.name)),
        Value::String(s) => parse_str(s),
        Value::Array(items) if matches!(f.sym, Sym::Flags(_)) => {
            let mut acc: i128 = 0;
            for it in items {
                acc |= match it {
                    Value::String(s) => parse_str(s)?,
                    Value::Number(n) => i128::from(n.as_u64().ok_or_else(|| format!("{}: bad flag", f.name))?),
                    _ => return Err(format!("{}: a flag is a name or a number", f.name)),
                };
            }
            Ok(acc)
        }
        _ => Err(format!("{} has an unexpected JSON type", f.name)),
    }
}

/// Decode to a pretty JSON string (what `restore decode` prints).
pub fn decode_to_string(bytes: &[u8]) -> Result<String, TextError> {
    let v = decode(bytes)?;
    Ok(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n")
}

/// Length of the record header, re-exported for users of the text form.
pub const RECORD_HEADER_LEN: usize = HDR_LEN;
