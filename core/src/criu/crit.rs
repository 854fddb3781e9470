//! JSON in the shape of `crit decode` (not `--pretty`): `{"magic": "FILES", "entries": [...]}`,
//! each entry the fields present in the payload by their proto names, enums by name, integers
//! as numbers, `bytes` in base64 as Python's `base64.encodebytes` writes it (a newline after
//! every 76 characters and at the end), a unix socket `name` in quoted-printable (crit's
//! `unix_name` conversion, `binascii.b2a_qp`), and the extra blob after an entry as `"extra"`
//! (base64; a tcp-stream's as `{"inq", "outq"}`). Fields the schema does not know are left out,
//! as crit leaves them out; resocket reports them as `criu-unknown-field` instead. Printed from
//! the wire walk, so it shows exactly what the bytes say (repeated fields, presence).

use super::schema::{Label, Schema, Ty};
use super::walk::{self, Node, Val};
use super::{Magic, Opened, OpenedFile};
use serde_json::{Map, Value};

/// Every decoded image as crit prints it, keyed by file name.
pub fn to_json(o: &Opened) -> Value {
    let mut m = Map::new();
    for f in &o.files {
        if let Some(v) = file_json(f) {
            m.insert(f.name.clone(), v);
        }
    }
    Value::Object(m)
}

/// One image as `crit decode` prints it; `None` for images resocket does not decode.
pub fn file_json(f: &OpenedFile) -> Option<Value> {
    let magic = f.known_magic()?;
    let schema = super::schema::of_magic(magic)?;
    if !f.decoded {
        return None;
    }
    let mut entries = Vec::new();
    for e in f.entries() {
        let payload = f.bytes.get(e.payload.clone()).unwrap_or(&[]);
        let w = walk::walk(payload, e.payload.start, schema);
        let mut obj = message(&w.nodes, schema, &f.bytes);
        if let Some(x) = &e.extra {
            let data = f.bytes.get(x.clone()).unwrap_or(&[]);
            let extra = if magic == Magic::TcpStream {
                let inq = top_u64(&w.nodes, 1).min(data.len() as u64) as usize;
                let mut t = Map::new();
                t.insert("inq".into(), Value::String(base64_lines(&data[..inq])));
                t.insert("outq".into(), Value::String(base64_lines(&data[inq..])));
                Value::Object(t)
            } else {
                Value::String(base64_lines(data))
            };
            obj.insert("extra".into(), extra);
        }
        entries.push(Value::Object(obj));
    }
    let mut m = Map::new();
    m.insert("magic".into(), Value::String(magic.crit_name().into()));
    m.insert("entries".into(), Value::Array(entries));
    Some(Value::Object(m))
}

fn top_u64(nodes: &[Node], num: u32) -> u64 {
    nodes
        .iter()
        .rev()
        .find_map(|n| match (n.field.number == num, &n.val) {
            (true, Val::Varint(v)) => Some(*v),
            _ => None,
        })
        .unwrap_or(0)
}

/// The fields of a message in field-number order (protobuf's `ListFields`); the fields resocket
/// walks without decoding (`Ty::Opaque`: register sets, timers, signal state) are left out.
fn message(nodes: &[Node], schema: &'static Schema, file: &[u8]) -> Map<String, Value> {
    let mut m = Map::new();
    for f in schema.fields {
        let occ: Vec<&Node> = nodes.iter().filter(|n| n.field.number == f.num).collect();
        if occ.is_empty() || f.ty == Ty::Opaque {
            continue;
        }
        if f.label == Label::Rep {
            let mut vals = Vec::new();
            for n in occ {
                match &n.val {
                    Val::Packed(vs) => vals.extend(vs.iter().map(|&v| scalar(f.ty, v))),
                    v => vals.extend(value(f.ty, v, file)),
                }
            }
            m.insert(f.name.into(), Value::Array(vals));
        } else if let Some(v) = occ.last().and_then(|n| value(f.ty, &n.val, file)) {
            m.insert(f.name.into(), v);
        }
    }
    m
}

fn scalar(ty: Ty, v: u64) -> Value {
    match ty {
        Ty::U32 => Value::from(v as u32),
        Ty::I32 => Value::from(v as i64 as i32),
        Ty::S32 => {
            let u = v as u32;
            Value::from(((u >> 1) as i32) ^ -((u & 1) as i32))
        }
        Ty::Bool => Value::Bool(v != 0),
        Ty::Enum(names) => {
            let n = v as i64 as i32;
            match names.iter().find(|(k, _)| *k == n) {
                Some((_, s)) => Value::String((*s).into()),
                None => Value::from(n),
            }
        }
        _ => Value::from(v),
    }
}

fn value(ty: Ty, v: &Val, file: &[u8]) -> Option<Value> {
    Some(match (ty, v) {
        (Ty::Msg(sub), Val::Msg(nodes)) => Value::Object(message(nodes, sub, file)),
        (Ty::Str, Val::Bytes(r)) => Value::String(String::from_utf8_lossy(file.get(r.clone())?).into_owned()),
        (Ty::Bytes, Val::Bytes(r)) => Value::String(base64_lines(file.get(r.clone())?)),
        (Ty::UnixName, Val::Bytes(r)) => Value::String(quoted_printable(file.get(r.clone())?)),
        (Ty::Opaque, _) => return None,
        (_, Val::Varint(x)) | (_, Val::Fixed64(x)) => scalar(ty, *x),
        (_, Val::Fixed32(x)) => scalar(ty, u64::from(*x)),
        _ => return None,
    })
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 as Python's `base64.encodebytes`: lines of 76 characters, each ending in a
/// newline (nothing at all for empty input).
pub fn base64_lines(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() / 3 * 4 + data.len() / 57 + 4);
    for line in data.chunks(57) {
        for c in line.chunks(3) {
            let b = [c[0], c.get(1).copied().unwrap_or(0), c.get(2).copied().unwrap_or(0)];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for k in 0..4 {
                if k <= c.len() {
                    out.push(B64[(n >> (18 - 6 * k) & 63) as usize] as char);
                } else {
                    out.push('=');
                }
            }
        }
        out.push('\n');
    }
    out
}

/// Quoted-printable as Python's `quopri.encodestring` (`binascii.b2a_qp` with `istext`,
/// no `quotetabs`, no `header`): `=XX` for `=`, bytes above 126, controls other than tab,
/// space, CR and LF, a trailing space or tab, and a lone `.` starting a line; line breaks
/// kept; soft breaks `=\n` keep lines under 76 characters.
pub fn quoted_printable(data: &[u8]) -> String {
    const MAX: usize = 76;
    let hex = |b: u8| -> [char; 3] {
        let d = b"0123456789ABCDEF";
        ['=', d[usize::from(b >> 4)] as char, d[usize::from(b & 15)] as char]
    };
    let crlf = data.iter().position(|&b| b == b'\n').is_some_and(|i| i > 0 && data[i - 1] == b'\r');
    let nl = if crlf { "\r\n" } else { "\n" };
    let mut out: Vec<char> = Vec::new();
    let mut linelen = 0usize;
    let mut i = 0;
    let n = data.len();
    while i < n {
        let c = data[i];
        let next = data.get(i + 1).copied();
        let encode = c > 126
            || c == b'='
            || (c == b'.' && linelen == 0 && matches!(next, None | Some(b'\n') | Some(b'\r') | Some(0)))
            || ((c == b'\t' || c == b' ') && i + 1 == n)
            || (c < 33 && c != b'\r' && c != b'\n' && c != b'\t' && c != b' ');
        if encode {
            if linelen + 3 >= MAX {
                out.push('=');
                out.extend(nl.chars());
                linelen = 0;
            }
            out.extend(hex(c));
            linelen += 3;
            i += 1;
        } else if c == b'\n' || (c == b'\r' && next == Some(b'\n')) {
            linelen = 0;
            if let Some(&last) = out.last() {
                if last == ' ' || last == '\t' {
                    out.pop();
                    out.extend(hex(last as u8));
                }
            }
            out.extend(nl.chars());
            i += if c == b'\r' { 2 } else { 1 };
        } else {
            if i + 1 != n && next != Some(b'\n') && linelen + 1 >= MAX {
                out.push('=');
                out.extend(nl.chars());
                linelen = 0;
            }
            linelen += 1;
            out.push(c as char);
            i += 1;
        }
    }
    out.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn base64_like_python() {
        assert_eq!(base64_lines(b""), "");
        assert_eq!(base64_lines(b"a"), "YQ==\n");
        assert_eq!(base64_lines(b"hello"), "aGVsbG8=\n");
        let long = base64_lines(&[0u8; 58]);
        assert_eq!(long, format!("{}\nAA==\n", "A".repeat(76)));
    }

    #[test]
    fn quopri_like_python() {
        assert_eq!(quoted_printable(b"\0abc"), "=00abc");
        assert_eq!(quoted_printable(b"/tmp/a=b "), "/tmp/a=3Db=20");
        assert_eq!(quoted_printable(b"\0X/zdtm\0"), "=00X/zdtm=00");
        assert_eq!(quoted_printable(b"."), "=2E");
        assert_eq!(quoted_printable(&[0xff, b'\t', b'x']), "=FF\tx");
        let long = quoted_printable(&[b'a'; 80]);
        assert_eq!(long, format!("{}=\n{}", "a".repeat(75), "a".repeat(5)));
    }
}
