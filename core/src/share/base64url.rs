//! base64url without padding (RFC 4648 §5), strict as the `base64` crate's `URL_SAFE_NO_PAD`
//! is: no padding, no other characters, no length of 1 mod 4, unused trailing bits zero.
//!
//! Hand-written rather than that crate because the crate's generic engine was 3.2 KB of the
//! browser's gzipped bundle (budget: 350 KB) for what is forty lines here; the tests check it
//! against the crate on arbitrary bytes and text.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        // 2, 3 or 4 characters for 1, 2 or 3 bytes.
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
        }
    }
    out
}

fn value(c: u8) -> Option<u32> {
    let v = match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'-' => 62,
        b'_' => 63,
        _ => return None,
    };
    Some(u32::from(v))
}

pub fn decode(text: &str) -> Result<Vec<u8>, String> {
    let t = text.as_bytes();
    if let Some(at) = t.iter().position(|&c| value(c).is_none()) {
        // The whole character (the text is UTF-8; all before it is ASCII) at its offset.
        let ch = text.get(at..).and_then(|r| r.chars().next()).unwrap_or('?');
        return Err(format!("invalid character {ch:?} at offset {at}"));
    }
    if t.len() % 4 == 1 {
        return Err(format!("{} characters: no byte count gives that length", t.len()));
    }
    let mut out = Vec::with_capacity(t.len() / 4 * 3 + 2);
    for (k, chunk) in t.chunks(4).enumerate() {
        let mut n = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            n |= value(c).unwrap_or(0) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let len = chunk.len() - 1; // 4 characters: 3 bytes; 3: 2; 2: 1.
                                   // The bits after the last whole byte must be zero (one spelling per byte string).
        if len < 3 && bytes[len] != 0 {
            return Err(format!("invalid trailing bits at offset {}", 4 * k + chunk.len() - 1));
        }
        out.extend_from_slice(&bytes[..len]);
    }
    Ok(out)
}
