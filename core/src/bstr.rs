//! A readable, lossless text spelling of arbitrary bytes.
//!
//! Printable ASCII stands for itself, `\\` is a backslash, and every other byte is `\xNN`
//! (two lowercase hex digits). `\n`, `\t` and `\r` are not special: they are `\x0a`, `\x09`,
//! `\x0d`, so there is exactly one spelling per byte string and `unescape(escape(b)) == b`.

use std::fmt::Write as _;

/// Escape `bytes` into the bstr spelling.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out
}

/// Error of [`unescape`]: the character offset of the bad escape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad escape at character {0}: use \\\\ or \\xNN")]
pub struct EscapeError(pub usize);

/// Parse the bstr spelling back into bytes.
///
/// Non-ASCII characters are accepted and stand for their UTF-8 bytes, so hand-written text
/// such as `"héllo"` works; [`escape`] never produces them.
pub fn unescape(text: &str) -> Result<Vec<u8>, EscapeError> {
    let mut out = Vec::with_capacity(text.len());
    let bytes = text.as_bytes();
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        match bytes.get(i + 1) {
            Some(b'\\') => {
                out.push(b'\\');
                i += 2;
            }
            Some(b'x') => {
                let hex = bytes.get(i + 2..i + 4).ok_or(EscapeError(i))?;
                let s = std::str::from_utf8(hex).map_err(|_| EscapeError(i))?;
                out.push(u8::from_str_radix(s, 16).map_err(|_| EscapeError(i))?);
                i += 4;
            }
            _ => return Err(EscapeError(i)),
        }
    }
    Ok(out)
}

/// Lowercase hex of `bytes`, no separators.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    // Two table lookups a byte, not a `write!` (a dump spells every queued payload this way).
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0xf)]));
    }
    out
}

/// Parse lowercase or uppercase hex (whitespace ignored).
pub fn unhex(text: &str) -> Result<Vec<u8>, EscapeError> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(2) {
        return Err(EscapeError(digits.len()));
    }
    let nibble = |d: u8| char::from(d).to_digit(16).map(|v| v as u8);
    digits
        .chunks(2)
        .enumerate()
        .map(|(i, pair)| match (pair.first().and_then(|&d| nibble(d)), pair.get(1).and_then(|&d| nibble(d))) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            // Anything else as `from_str_radix` reads it (it also takes a `+` before one digit).
            _ => std::str::from_utf8(pair).ok().and_then(|s| u8::from_str_radix(s, 16).ok()).ok_or(EscapeError(i * 2)),
        })
        .collect()
}

/// True when most of `bytes` is printable text, so the bstr spelling reads better than hex.
pub fn looks_textual(bytes: &[u8]) -> bool {
    let printable = bytes.iter().filter(|&&b| (0x20..=0x7e).contains(&b) || b == b'\n').count();
    printable * 10 >= bytes.len() * 9
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn escape_round_trips_every_byte() {
        let all: Vec<u8> = (0..=255u8).collect();
        assert_eq!(unescape(&escape(&all)).unwrap(), all);
    }

    #[test]
    fn escape_is_readable() {
        assert_eq!(escape(b"\0afu9-L"), "\\x00afu9-L");
        assert_eq!(escape(b"a\\b\n"), "a\\\\b\\x0a");
    }

    #[test]
    fn bad_escapes_are_errors() {
        assert_eq!(unescape("ab\\q"), Err(EscapeError(2)));
        assert_eq!(unescape("\\x4"), Err(EscapeError(0)));
        assert_eq!(unescape("\\xzz"), Err(EscapeError(0)));
    }

    #[test]
    fn hex_spells_every_byte_as_two_lowercase_digits_and_reads_both_cases() {
        for b in 0..=255u8 {
            let two = format!("{b:02x}");
            assert_eq!(hex(&[b]), two);
            assert_eq!(unhex(&two).unwrap(), [b]);
            assert_eq!(unhex(&two.to_uppercase()).unwrap(), [b]);
        }
        assert_eq!(unhex("+f 0A").unwrap(), [0x0f, 0x0a]);
        assert_eq!(unhex("0g"), Err(EscapeError(0)));
        assert_eq!(unhex("00-1"), Err(EscapeError(2)));
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(b"\x00\xffab")).unwrap(), b"\x00\xffab");
        assert!(unhex("abc").is_err());
    }
}
