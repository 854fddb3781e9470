//! Share links: a scenario carried in a URL fragment, `#s=<base64url>`.
//!
//! The bytes are a format byte followed by a bincode 2 encoding (standard config: varints,
//! little endian) of a compact mirror of [`Scenario`] defined here — socket references are
//! indices, families/types/shutdown are small numbers, canonical payload spellings are raw
//! bytes — so the share format changes only when this module says so. Format byte
//! [`FORMAT_RAW`] is followed by the bincode bytes; [`FORMAT_DEFLATE`] by them compressed with
//! raw DEFLATE (chosen when shorter). The whole is base64url without padding. This module is
//! the only place bincode is used.
//!
//! Decoding is for untrusted input: the fragment length, the inflated size, bincode's byte
//! budget (it checks every claimed length against it before allocating) and the bytes a
//! scenario's `repeat` messages would make are all bounded, and every failure is a
//! [`ShareError`], never a panic.
//!
//! This file holds the format: framing, limits, errors and the public calls. The mirror of
//! [`Scenario`] the bincode bytes encode is `share/mirror.rs` (it uses this file's errors and
//! limits only); the text form is the `base64` crate's strict `URL_SAFE_NO_PAD`.

use crate::codec;
use crate::scenario::Scenario;

mod mirror;
use mirror::{
    from_wire, oob_to_wire, opts_to_wire, pending_oob_to_wire, to_wire, unwopt, WOob, WOpts, WPendingOob, WScenario,
};

/// The fragment key: `#s=…` (other `key=value` pairs may share the fragment, `&`-separated).
pub const KEY: &str = "s";
/// Format byte: bincode follows.
pub const FORMAT_RAW: u8 = 1;
/// Format byte: raw DEFLATE of the bincode follows.
pub const FORMAT_DEFLATE: u8 = 2;
/// Longest share text accepted (base64url characters).
pub const MAX_TEXT: usize = 2 << 20;
/// Largest bincode payload accepted (after inflating).
pub const MAX_BYTES: usize = 4 << 20;
/// bincode's budget: the memory the decoded mirror may claim in all (every length is checked
/// against what is left before anything is allocated).
pub const MAX_DECODED: usize = 16 << 20;
/// Most payload bytes the `repeat` messages of a shared scenario may stand for in total.
pub const MAX_REPEAT: u64 = 16 << 20;
/// Most sockets (pending connections included: each becomes an embryo) a shared scenario may
/// have. A few bytes of link stand for hundreds of bytes of image; this bounds the image.
pub const MAX_SOCKETS: usize = 20_000;
/// Most queued messages a shared scenario may have (each is a few records of image).
pub const MAX_MESSAGES: usize = 100_000;

/// Why a share text could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ShareError {
    /// Nothing to decode.
    #[error("the share link is empty")]
    Empty,
    /// Longer than [`MAX_TEXT`].
    #[error("the share link is {0} characters long; at most {MAX_TEXT} are read")]
    TooLong(usize),
    /// Not base64url.
    #[error("the share link is not base64url: {0}")]
    Base64(String),
    /// Unknown format byte.
    #[error("unknown share format {0} (this version reads {FORMAT_RAW} and {FORMAT_DEFLATE})")]
    Format(u8),
    /// The DEFLATE stream is broken or inflates past [`MAX_BYTES`].
    #[error("the share link's compressed data is damaged or too large: {0}")]
    Inflate(String),
    /// bincode refused the bytes.
    #[error("the share link's scenario is damaged: {0}")]
    Decode(String),
    /// Bytes left over after the scenario.
    #[error("{0} unexpected byte(s) after the scenario")]
    Trailing(usize),
    /// A value the mirror cannot stand for.
    #[error("the share link's scenario is damaged: {0}")]
    Invalid(String),
    /// The scenario's `repeat` messages are too large.
    #[error("the shared scenario's repeated payloads total {0} bytes; at most {MAX_REPEAT} are accepted")]
    TooMuchData(u64),
    /// More sockets or messages than [`MAX_SOCKETS`] / [`MAX_MESSAGES`].
    #[error("the shared scenario has {0} {1}; at most {2} are accepted")]
    TooMany(usize, &'static str, usize),
    /// The decoded scenario would need more than [`MAX_DECODED`] bytes of memory.
    #[error("the shared scenario is too large (it would take more than {MAX_DECODED} bytes to decode)")]
    TooLarge,
}

/// What follows the mirror: lists that later versions added, in this order, each written only
/// when it or a later one has something in it. So a link that needs none of them is the bytes it
/// always was, and a written list is empty only when a later one follows (any other empty list
/// would be a second spelling of the same scenario, refused on reading).
#[derive(Debug, Default)]
struct Trailer {
    /// Socket options (`SockSpec::opts`).
    opts: Vec<WOpts>,
    /// Out-of-band bytes of sockets' queues (`MsgSpec::oob`).
    oob: Vec<WOob>,
    /// Out-of-band bytes a pending client sent before accept (`PendingSpec::sent`).
    pending_oob: Vec<WPendingOob>,
}

impl Trailer {
    fn of(sc: &Scenario) -> Trailer {
        Trailer { opts: opts_to_wire(sc), oob: oob_to_wire(sc), pending_oob: pending_oob_to_wire(sc) }
    }

    fn encode_into(&self, raw: &mut Vec<u8>) {
        let lens = [self.opts.len(), self.oob.len(), self.pending_oob.len()];
        let written = lens.iter().rposition(|&n| n > 0).map_or(0, |i| i + 1);
        if written > 0 {
            codec::encode_into(&self.opts, raw);
        }
        if written > 1 {
            codec::encode_into(&self.oob, raw);
        }
        if written > 2 {
            codec::encode_into(&self.pending_oob, raw);
        }
    }

    /// The lists in `rest` (the bytes after the mirror), each read while bytes remain.
    fn decode(rest: &[u8]) -> Result<Trailer, ShareError> {
        let mut t = Trailer::default();
        let mut at = 0;
        let mut last_len = None;
        if at < rest.len() {
            let (v, n): (Vec<WOpts>, usize) = decode_part(&rest[at..])?;
            (at, last_len) = (at + n, Some(v.len()));
            t.opts = v;
        }
        if at < rest.len() {
            let (v, n): (Vec<WOob>, usize) = decode_part(&rest[at..])?;
            (at, last_len) = (at + n, Some(v.len()));
            t.oob = v;
        }
        if at < rest.len() {
            let (v, n): (Vec<WPendingOob>, usize) = decode_part(&rest[at..])?;
            (at, last_len) = (at + n, Some(v.len()));
            t.pending_oob = v;
        }
        if at < rest.len() {
            return Err(ShareError::Trailing(rest.len() - at));
        }
        if last_len == Some(0) {
            // The writer never ends on an empty list.
            return Err(ShareError::Trailing(rest.len()));
        }
        Ok(t)
    }
}

fn encode_raw(w: &WScenario, trailer: &Trailer) -> Vec<u8> {
    let mut raw = codec::encode(w);
    trailer.encode_into(&mut raw);
    raw
}

/// The payload of a scenario: the bincode bytes of its mirror, before framing. Compressing it
/// is the caller's choice: [`to_bytes`] uses miniz_oxide; the browser uses its own
/// `CompressionStream` (the same raw DEFLATE) and frames the result with [`frame`].
pub fn payload(sc: &Scenario) -> Vec<u8> {
    encode_raw(&to_wire(sc), &Trailer::of(sc))
}

/// Share bytes (format byte + data) of a payload and, if there is one, its raw DEFLATE: the
/// shorter of the two.
pub fn frame(payload: &[u8], deflated: Option<&[u8]>) -> Vec<u8> {
    let (format, data) = match deflated {
        Some(d) if d.len() < payload.len() => (FORMAT_DEFLATE, d),
        _ => (FORMAT_RAW, payload),
    };
    let mut out = Vec::with_capacity(1 + data.len());
    out.push(format);
    out.extend_from_slice(data);
    out
}

/// The share bytes of a scenario (format byte + payload), before base64url.
pub fn to_bytes(sc: &Scenario) -> Vec<u8> {
    let raw = payload(sc);
    frame(&raw, Some(&miniz_oxide::deflate::compress_to_vec(&raw, 9)))
}

/// Share bytes split at their format byte: the payload itself, or its raw DEFLATE (to inflate
/// to at most [`MAX_BYTES`] before [`from_payload`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Framed<'a> {
    /// [`FORMAT_RAW`]: the payload.
    Raw(&'a [u8]),
    /// [`FORMAT_DEFLATE`]: the payload's raw DEFLATE.
    Deflated(&'a [u8]),
}

/// Split share bytes at their format byte.
pub fn unframe(bytes: &[u8]) -> Result<Framed<'_>, ShareError> {
    match bytes.split_first() {
        None => Err(ShareError::Empty),
        Some((&FORMAT_RAW, rest)) => Ok(Framed::Raw(rest)),
        Some((&FORMAT_DEFLATE, rest)) => Ok(Framed::Deflated(rest)),
        Some((&f, _)) => Err(ShareError::Format(f)),
    }
}

/// Read share bytes (see [`to_bytes`]).
pub fn from_bytes(bytes: &[u8]) -> Result<Scenario, ShareError> {
    match unframe(bytes)? {
        Framed::Raw(p) => from_payload(p),
        Framed::Deflated(d) => from_payload(
            &miniz_oxide::inflate::decompress_to_vec_with_limit(d, MAX_BYTES)
                .map_err(|e| ShareError::Inflate(format!("{:?}", e.status)))?,
        ),
    }
}

/// One of the lists after the mirror, and the bytes it took.
fn decode_part<T: codec::Decode<()>>(bytes: &[u8]) -> Result<(T, usize), ShareError> {
    codec::decode::<T, MAX_DECODED>(bytes).map_err(|e| match e {
        codec::DecodeError::TooLarge => ShareError::TooLarge,
        codec::DecodeError::Damaged(m) => ShareError::Decode(m),
    })
}

/// Read a payload (see [`payload`]): untrusted bytes, bounded as the module says.
pub fn from_payload(payload: &[u8]) -> Result<Scenario, ShareError> {
    if payload.len() > MAX_BYTES {
        return Err(ShareError::Decode(format!("{} bytes, at most {MAX_BYTES}", payload.len())));
    }
    let (w, used): (WScenario, usize) = decode_part(payload)?;

    let mut sc = from_wire(w)?;
    let rest = payload.get(used..).unwrap_or_default();
    if rest.is_empty() {
        return Ok(sc);
    }
    let Trailer { opts, oob, pending_oob } = Trailer::decode(rest)?;
    let mut last = None;
    for w in opts {
        let n = sc.sockets.len();
        if last.is_some_and(|l| w.sock <= l) || w.opts.is_empty() {
            return Err(ShareError::Invalid(format!("socket options of socket {} out of order or empty", w.sock)));
        }
        last = Some(w.sock);
        let Some(s) = sc.sockets.get_mut(w.sock as usize) else {
            return Err(ShareError::Invalid(format!("socket options of socket {} past the {n} sockets", w.sock)));
        };
        s.opts = w.opts.into_iter().map(unwopt).collect::<Result<_, _>>()?;
    }
    let mut last = None;
    for w in oob {
        if last.is_some_and(|l| w <= l) {
            return Err(ShareError::Invalid(format!("out-of-band byte of socket {} out of order", w.sock)));
        }
        last = Some(w);
        let m = sc.sockets.get_mut(w.sock as usize).and_then(|s| s.queue.get_mut(w.msg as usize));
        let Some(m) = m else {
            return Err(ShareError::Invalid(format!(
                "out-of-band byte at message {} of socket {}: no such message",
                w.msg, w.sock
            )));
        };
        m.oob = true;
    }
    let mut last = None;
    for w in pending_oob {
        if last.is_some_and(|l| w <= l) {
            return Err(ShareError::Invalid(format!(
                "out-of-band byte of socket {} pending {} out of order",
                w.sock, w.pending
            )));
        }
        last = Some(w);
        let m = sc
            .sockets
            .get_mut(w.sock as usize)
            .and_then(|s| s.pending.get_mut(w.pending as usize))
            .and_then(|p| p.sent.get_mut(w.msg as usize));
        let Some(m) = m else {
            return Err(ShareError::Invalid(format!(
                "out-of-band byte at message {} of pending connection {} of socket {}: no such message",
                w.msg, w.pending, w.sock
            )));
        };
        m.oob = true;
    }
    Ok(sc)
}

/// The base64url share text of share bytes.
pub fn text_of(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, bytes)
}

/// The share bytes of a share text (its length and alphabet checked).
pub fn bytes_of(text: &str) -> Result<Vec<u8>, ShareError> {
    if text.is_empty() {
        return Err(ShareError::Empty);
    }
    if text.len() > MAX_TEXT {
        return Err(ShareError::TooLong(text.len()));
    }
    base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text).map_err(|e| {
        use base64::DecodeError as E;
        ShareError::Base64(match e {
            E::InvalidByte(at, _) => match text.get(at..).and_then(|t| t.chars().next()) {
                Some(c) => format!("invalid character {c:?} at offset {at}"),
                None => e.to_string(),
            },
            E::InvalidLength(n) => format!("{n} characters: no byte count gives that length"),
            E::InvalidLastSymbol(at, _) => format!("invalid trailing bits at offset {at}"),
            E::InvalidPadding => "padding is not allowed".to_string(),
        })
    })
}

/// The base64url share text of a scenario.
pub fn encode(sc: &Scenario) -> String {
    text_of(&to_bytes(sc))
}

/// Read a share text (see [`encode`]).
pub fn decode(text: &str) -> Result<Scenario, ShareError> {
    from_bytes(&bytes_of(text)?)
}

/// The URL fragment (without `#`) that carries share text `text`: `s=<base64url>`.
pub fn fragment_of(text: &str) -> String {
    format!("{KEY}={text}")
}

/// The URL fragment (without `#`) that carries `sc`: `s=<base64url>`.
pub fn fragment(sc: &Scenario) -> String {
    fragment_of(&encode(sc))
}

/// The share text in a URL fragment (with or without its `#`): the value of the `s` key among
/// `&`-separated `key=value` pairs, if there is one.
pub fn find_in_fragment(fragment: &str) -> Option<&str> {
    let f = fragment.strip_prefix('#').unwrap_or(fragment);
    f.split('&').find_map(|kv| kv.strip_prefix(KEY).and_then(|v| v.strip_prefix('=')))
}

/// `fragment` with its `s` pair set to `value` (added, or replaced), other pairs kept in order;
/// `None` removes it.
pub fn set_in_fragment(fragment: &str, value: Option<&str>) -> String {
    let f = fragment.strip_prefix('#').unwrap_or(fragment);
    let mut parts: Vec<String> =
        f.split('&').filter(|kv| !kv.is_empty() && kv.split('=').next() != Some(KEY)).map(str::to_string).collect();
    if let Some(v) = value {
        parts.push(format!("{KEY}={v}"));
    }
    parts.join("&")
}

#[cfg(test)]
mod tests {
    use super::mirror::{Ref, WSock};
    use super::*;
    use crate::scenario::{MsgSpec, SockSpec};
    use crate::sim::SockType;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn sample() -> Scenario {
        Scenario::from_json(
            r#"{ "description": "sample", "sockets": [
                { "name": "L", "type": "stream", "addr": "/tmp/s", "listen": 4,
                  "pending": [ { "client": "c", "sent": [ { "data": "early" } ] }, {} ] },
                { "name": "c", "type": "stream" },
                { "name": "a", "type": "seqpacket", "pair": "b", "shutdown": "wr",
                  "queue": [ { "hex": "00ff10" }, { "repeat": 100, "rights": ["d"] }, { "data": "h\u00e9" } ] },
                { "name": "b", "type": "seqpacket", "pair": "a", "sndbuf": 4096 },
                { "name": "d", "type": "dgram", "peer": "ghost", "no_fd": true },
                { "name": "i", "family": "inet6", "type": "dgram", "addr": "[::1]:53", "reuseport": true },
                { "name": "t", "family": "inet", "type": "stream", "rcvbuf": 8192, "rcvbuf_lock": true, "sndbuf_lock": true,
                  "opts": [ { "name": "linger", "value": { "on": false, "secs": 3 } }, { "name": "tcp_keep_cnt", "value": 4 },
                            { "name": "snd_buf", "value": 7 } ] } ] }"#,
        )
        .unwrap()
    }

    #[test]
    fn framing_keeps_the_shorter_form_and_names_unknown_formats() {
        let p = payload(&sample());
        // A "compressed" form that is not shorter is not used.
        assert_eq!(frame(&p, Some(&[0; 4096])), [&[FORMAT_RAW][..], &p].concat());
        assert_eq!(frame(&p, None)[0], FORMAT_RAW);
        assert_eq!(frame(&p, Some(&p[..3]))[..], [FORMAT_DEFLATE, p[0], p[1], p[2]]);
        assert_eq!(unframe(&frame(&p, None)), Ok(Framed::Raw(&p[..])));
        assert_eq!(unframe(&[FORMAT_DEFLATE, 7]), Ok(Framed::Deflated(&[7][..])));
        assert_eq!(unframe(&[]), Err(ShareError::Empty));
        assert_eq!(unframe(&[9, 1]), Err(ShareError::Format(9)));
        assert_eq!(from_payload(&p), Ok(sample()));
        assert_eq!(bytes_of(&text_of(&[1, 2, 3])), Ok(vec![1, 2, 3]));
        assert!(matches!(bytes_of("a+b"), Err(ShareError::Base64(_))));
    }

    #[test]
    fn round_trip_keeps_every_field_and_spelling() {
        let sc = sample();
        let text = encode(&sc);
        assert_eq!(decode(&text), Ok(sc.clone()));
        // Raw and deflated forms both read.
        let raw = encode_raw(&to_wire(&sc), &Trailer::of(&sc));
        let mut b = vec![FORMAT_RAW];
        b.extend_from_slice(&raw);
        assert_eq!(from_bytes(&b), Ok(sc.clone()));
        let mut d = vec![FORMAT_DEFLATE];
        d.extend_from_slice(&miniz_oxide::deflate::compress_to_vec(&raw, 6));
        assert_eq!(from_bytes(&d), Ok(sc));
    }

    #[test]
    fn the_smaller_form_is_chosen() {
        let tiny = Scenario::default();
        assert_eq!(to_bytes(&tiny)[0], FORMAT_RAW);
        let many = crate::synth::mixed(40);
        let b = to_bytes(&many);
        assert_eq!(b[0], FORMAT_DEFLATE);
        let raw = encode_raw(&to_wire(&many), &Trailer::default());
        assert!(b.len() < raw.len());
    }

    #[test]
    fn fragments_keep_other_keys() {
        assert_eq!(find_in_fragment("#s=abc"), Some("abc"));
        assert_eq!(find_in_fragment("fixture=x&step=2&s=abc"), Some("abc"));
        assert_eq!(find_in_fragment("#fixture=s&step=2"), None);
        assert_eq!(find_in_fragment("#sx=1"), None);
        assert_eq!(set_in_fragment("#fixture=x&s=old&step=2", Some("new")), "fixture=x&step=2&s=new");
        assert_eq!(set_in_fragment("#s=old", None), "");
        assert_eq!(set_in_fragment("", Some("v")), "s=v");
    }

    #[test]
    fn malformed_links_are_clear_errors() {
        assert_eq!(decode(""), Err(ShareError::Empty));
        assert_eq!(decode(&"A".repeat(MAX_TEXT + 1)), Err(ShareError::TooLong(MAX_TEXT + 1)));
        assert!(matches!(decode("ab+/"), Err(ShareError::Base64(_))));
        assert!(matches!(decode("abc="), Err(ShareError::Base64(_))));
        assert_eq!(bytes_of("ab\u{e9}c"), Err(ShareError::Base64("invalid character '\u{e9}' at offset 2".into())));
        assert_eq!(bytes_of("abcde"), Err(ShareError::Base64("5 characters: no byte count gives that length".into())));
        assert_eq!(bytes_of("AB"), Err(ShareError::Base64("invalid trailing bits at offset 1".into())));
        assert_eq!(bytes_of("AA"), Ok(vec![0]));
        assert_eq!(decode(&text_of(&[9u8, 1, 2])), Err(ShareError::Format(9)));
        assert!(matches!(from_bytes(&[FORMAT_DEFLATE, 0xff, 0xff]), Err(ShareError::Inflate(_))));
        let mut b = to_bytes(&Scenario::default());
        b.push(0);
        assert_eq!(from_bytes(&b), Err(ShareError::Trailing(1)));
        // A reference past the sockets.
        let mut w = to_wire(&sample());
        w.sockets[0].peer = Some(Ref::At(99));
        let mut b = vec![FORMAT_RAW];
        b.extend(encode_raw(&w, &Trailer::default()));
        assert!(matches!(from_bytes(&b), Err(ShareError::Invalid(m)) if m.contains("99")));
    }

    #[test]
    fn every_truncation_is_an_error() {
        for sc in [sample(), crate::synth::mixed(6)] {
            let b = to_bytes(&sc);
            for n in 0..b.len() {
                assert!(from_bytes(&b[..n]).is_err(), "{n} of {} bytes", b.len());
            }
        }
    }

    #[test]
    fn hostile_lengths_allocate_nothing_big() {
        // description: a string claiming u64::MAX bytes (varint tag 253 = u64 follows).
        let mut b = vec![FORMAT_RAW, 253];
        b.extend_from_slice(&u64::MAX.to_le_bytes());
        assert_eq!(from_bytes(&b), Err(ShareError::TooLarge));
        // sockets: a vector claiming 2^32 entries after empty strings and no tasks.
        let mut b = vec![FORMAT_RAW, 0, 0, 0, 0, 252];
        b.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(from_bytes(&b), Err(ShareError::TooLarge));
        // … and one claiming a little more than the budget allows.
        let mut b = vec![FORMAT_RAW, 0, 0, 0, 0, 252];
        b.extend_from_slice(&((MAX_DECODED / std::mem::size_of::<WSock>() + 1) as u32).to_le_bytes());
        assert_eq!(from_bytes(&b), Err(ShareError::TooLarge));
        // A DEFLATE bomb: twice the limit in zeros, in a few kilobytes.
        let bomb = miniz_oxide::deflate::compress_to_vec(&vec![0u8; 2 * MAX_BYTES], 9);
        assert!(bomb.len() < 16 << 10);
        let mut b = vec![FORMAT_DEFLATE];
        b.extend_from_slice(&bomb);
        assert!(matches!(from_bytes(&b), Err(ShareError::Inflate(_))));
        // `repeat` messages that would make gigabytes when the image is written.
        let mut sc = sample();
        sc.sockets[2].queue = (0..8).map(|_| MsgSpec { repeat: Some(1 << 28), ..Default::default() }).collect();
        assert!(matches!(decode(&encode(&sc)), Err(ShareError::TooMuchData(_))));
        // Many tiny sockets or messages: a short link for a huge image.
        let sc = Scenario {
            sockets: (0..MAX_SOCKETS + 1)
                .map(|i| SockSpec { name: i.to_string(), ty: SockType::Dgram, ..Default::default() })
                .collect(),
            ..Default::default()
        };
        let text = encode(&sc);
        assert!(text.len() < 200_000, "{}", text.len());
        let got = decode(&text);
        assert!(matches!(got, Err(ShareError::TooMany(n, _, MAX_SOCKETS)) if n == MAX_SOCKETS + 1), "{got:?}");
        let mut sc = sample();
        sc.sockets[0].queue = vec![MsgSpec::default(); MAX_MESSAGES + 1];
        assert!(matches!(decode(&encode(&sc)), Err(ShareError::TooMany(_, "queued messages", _))));
    }

    #[cfg(not(target_arch = "wasm32"))]
    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = from_bytes(&bytes);
                let _ = decode(&text_of(&bytes));
            }

            #[test]
            fn arbitrary_text_never_panics(text in ".{0,300}") {
                let _ = decode(&text);
                let _ = find_in_fragment(&text);
            }

            #[test]
            fn corrupted_links_fail_or_decode_to_a_writable_scenario(
                n in 1usize..30, flips in proptest::collection::vec((any::<usize>(), 1u8..=255), 1..4),
            ) {
                let mut b = to_bytes(&crate::synth::mixed(n));
                for (at, x) in flips {
                    let i = at % b.len();
                    b[i] ^= x;
                }
                if let Ok(sc) = from_bytes(&b) {
                    // Whatever survives is bounded: writing it cannot be huge.
                    if let Ok(img) = sc.to_image() {
                        prop_assert!(img.len() < 64 << 20);
                    }
                }
            }

            #[test]
            fn generated_scenarios_round_trip(n in 0usize..60) {
                let sc = crate::synth::mixed(n);
                prop_assert_eq!(decode(&encode(&sc)), Ok(sc));
            }
        }
    }
}
