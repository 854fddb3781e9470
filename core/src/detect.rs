//! What a file is, by its content alone (never by its name): a checkpoint archive, a CRIU
//! image or a resocket image. One function for the CLI (`restore/src/input.rs`), the browser
//! inspector and its JS API, so they accept and refuse the same inputs.

use crate::archive::{self, Compression};
use crate::criu;

/// What some bytes look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detected {
    /// A tar, tar.gz or tar.zst: a checkpoint archive (Podman, CRI-O or a tarball of an image
    /// directory), for [`archive::unpack`].
    Archive(Compression),
    /// One CRIU image (IMG_COMMON, IMG_SERVICE or inventory.img's magic first), for
    /// [`criu::open`].
    CriuImage,
    /// A Linux-CR record stream (a resocket image), for [`crate::load`].
    Rsimg,
    /// None of these (text, an empty file, another format).
    Unknown,
}

/// Look at `bytes`: archives first (their magics are unambiguous), then a CRIU image, then a
/// resocket image.
pub fn detect(bytes: &[u8]) -> Detected {
    if let Some(c) = archive::detect(bytes) {
        Detected::Archive(c)
    } else if looks_criu(bytes) {
        Detected::CriuImage
    } else if looks_rsimg(bytes) {
        Detected::Rsimg
    } else {
        Detected::Unknown
    }
}

fn word(bytes: &[u8], at: usize) -> Option<u32> {
    bytes.get(at..at.checked_add(4)?).and_then(|b| <[u8; 4]>::try_from(b).ok()).map(u32::from_le_bytes)
}

/// Does this start like a CRIU image: IMG_COMMON, IMG_SERVICE, or inventory.img's own magic
/// (which has only one)?
pub fn looks_criu(bytes: &[u8]) -> bool {
    word(bytes, 0).is_some_and(|m| {
        [criu::frame::IMG_COMMON, criu::frame::IMG_SERVICE, criu::Magic::Inventory.value()].contains(&m)
    })
}

/// Does this start with a Linux-CR record header (a known record type, a length of at least
/// the header's 8 bytes)? Broken images still pass (their problems are diagnostics); text,
/// empty files and other formats do not.
pub fn looks_rsimg(bytes: &[u8]) -> bool {
    match (word(bytes, 0), word(bytes, 4)) {
        (Some(ty), Some(len)) => crate::wire::RecordType(ty).is_known() && len >= 8,
        _ => false,
    }
}

/// A file of a directory (or a set of files) that is not a CRIU image to read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Skip {
    /// Not named `*.img` (logs, `stats-dump`, …).
    NotAnImage,
    /// A raw memory image (`pages-N.img`): no entries, often most of the checkpoint's size.
    RawPages,
}

impl Skip {
    /// A few words for listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NotAnImage => "not a CRIU image",
            Skip::RawPages => "raw memory pages, not read",
        }
    }
}

/// Whether a file of an image directory is read, by its name, as the CLI's directory reader
/// does: `*.img` files are, except the raw memory pages.
pub fn image_dir_entry(name: &str) -> Option<Skip> {
    if !name.ends_with(".img") {
        Some(Skip::NotAnImage)
    } else if archive::is_raw_pages(name) {
        Some(Skip::RawPages)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(detect(&[0x1f, 0x8b, 8, 0]), Detected::Archive(Compression::Gzip));
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Detected::Archive(Compression::Zstd));
        assert_eq!(detect(&criu::frame::IMG_COMMON.to_le_bytes()), Detected::CriuImage);
        assert_eq!(detect(b""), Detected::Unknown);
        assert_eq!(detect(b"hello world"), Detected::Unknown);
        let mut rs = 1u32.to_le_bytes().to_vec();
        rs.extend(72u32.to_le_bytes());
        assert_eq!(detect(&rs), Detected::Rsimg);
    }

    #[test]
    fn image_dir_entries() {
        assert_eq!(image_dir_entry("files.img"), None);
        assert_eq!(image_dir_entry("pages-1.img"), Some(Skip::RawPages));
        assert_eq!(image_dir_entry("dump.log"), Some(Skip::NotAnImage));
    }
}
