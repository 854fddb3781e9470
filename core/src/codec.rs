//! The one module that names bincode (2.0.1, pinned exactly: 3.0.0 is a compile-error
//! tombstone, RUSTSEC-2025-0141). Share links (`share.rs`, `share/mirror.rs`) and the browser
//! worker's message (`web/src/message.rs`) are encoded with it: their types derive [`Encode`]
//! and [`Decode`] from here, and bytes go in and out through [`encode_into`], [`encode`] and
//! [`decode`] only, so another encoder would be a change of this file (and its derives' names).
//!
//! The configuration is bincode's standard one (little endian, varints). Decoding is for
//! untrusted bytes: every length is checked against a budget before anything is allocated.

pub use bincode::{Decode, Encode};

/// Why bytes did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// A length past the budget, or past what this target's `usize` holds (wasm32).
    #[error("a length is larger than the decoder allows")]
    TooLarge,
    /// Anything else, as bincode says it.
    #[error("{0}")]
    Damaged(String),
}

struct Append<'a>(&'a mut Vec<u8>);

impl bincode::enc::write::Writer for Append<'_> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), bincode::error::EncodeError> {
        self.0.extend_from_slice(bytes);
        Ok(())
    }
}

/// Append the encoding of `v` to `out`.
pub fn encode_into<T: Encode>(v: &T, out: &mut Vec<u8>) {
    // Writing to a vector cannot fail, and nothing this crate encodes refuses to.
    let _ = bincode::encode_into_writer(v, Append(out), bincode::config::standard());
}

/// The encoding of `v`.
pub fn encode<T: Encode>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    encode_into(v, &mut out);
    out
}

/// A value from the start of `bytes` and the number of bytes it took, the memory it may claim
/// in all bounded by `BUDGET` bytes.
pub fn decode<T: Decode<()>, const BUDGET: usize>(bytes: &[u8]) -> Result<(T, usize), DecodeError> {
    bincode::decode_from_slice(bytes, bincode::config::standard().with_limit::<BUDGET>()).map_err(|e| match e {
        bincode::error::DecodeError::LimitExceeded | bincode::error::DecodeError::OutsideUsizeRange(_) => {
            DecodeError::TooLarge
        }
        e => DecodeError::Damaged(e.to_string()),
    })
}

/// A plan's step, decoded (the browser's kernel worker posts plans): its `why` is a
/// `Cow<'static, str>`, which bincode's derive cannot decode (it would borrow it), so the
/// decoded one is owned.
impl<Context> Decode<Context> for crate::plan::Step {
    fn decode<D: bincode::de::Decoder<Context = Context>>(d: &mut D) -> Result<Self, bincode::error::DecodeError> {
        Ok(crate::plan::Step {
            op: Decode::decode(d)?,
            phase: Decode::decode(d)?,
            why: std::borrow::Cow::Owned(String::decode(d)?),
        })
    }
}
bincode::impl_borrow_decode!(crate::plan::Step);
