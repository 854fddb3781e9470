//! Little-endian scalar access that cannot panic (a short slice reads as zero bytes), and the
//! [`Scalar`] field types of the record layouts.

use std::fmt;

#[inline]
fn le_bytes<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(off..off.saturating_add(N)) {
        out.copy_from_slice(s);
    }
    out
}

/// Read a little-endian `u32` at `off`; zero if out of range.
#[inline]
pub fn le_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(le_bytes(b, off))
}

/// Read a little-endian `u32` at `off`; `None` if out of range.
#[inline]
pub fn le_u32_at(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

/// Read a little-endian `u64` at `off`; zero if out of range.
#[inline]
pub fn le_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(le_bytes(b, off))
}

/// A fixed-width field type of a record layout.
pub trait Scalar: Copy + Default + fmt::Debug + PartialEq {
    /// Width in bytes.
    const SIZE: usize;
    /// Whether it reads as a signed integer (`None` for byte arrays).
    const SIGNED: Option<bool>;
    /// Read at `off` (out-of-range bytes read as zero).
    fn read(b: &[u8], off: usize) -> Self;
    /// Write at `off` (out-of-range bytes are dropped).
    fn write(self, b: &mut [u8], off: usize);
}

macro_rules! scalar_int {
    ($($t:ty: $signed:expr),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            const SIGNED: Option<bool> = Some($signed);
            #[inline]
            fn read(b: &[u8], off: usize) -> Self {
                <$t>::from_le_bytes(le_bytes(b, off))
            }
            #[inline]
            fn write(self, b: &mut [u8], off: usize) {
                if let Some(s) = b.get_mut(off..off.saturating_add(Self::SIZE)) {
                    s.copy_from_slice(&self.to_le_bytes());
                }
            }
        }
    )*};
}
scalar_int!(u8: false, u16: false, u32: false, u64: false, i16: true, i32: true, i64: true);

/// A fixed-size byte array field (`sockaddr_un`, `cb[48]`, opaque TCP state).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> Default for Bytes<N> {
    fn default() -> Self {
        Bytes([0; N])
    }
}

impl<const N: usize> fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.0.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        write!(f, "b\"{}\"", crate::bstr::escape(&self.0[..end]))
    }
}

impl<const N: usize> Scalar for Bytes<N> {
    const SIZE: usize = N;
    const SIGNED: Option<bool> = None;
    fn read(b: &[u8], off: usize) -> Self {
        Bytes(le_bytes(b, off))
    }
    fn write(self, b: &mut [u8], off: usize) {
        if let Some(s) = b.get_mut(off..off.saturating_add(N)) {
            s.copy_from_slice(&self.0);
        }
    }
}
