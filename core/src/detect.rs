//! What a file is, by its content alone (never by its name): a checkpoint archive, a CRIU
//! image or a resocket image. One function for the CLI (`restore/src/input.rs`), the browser
//! inspector and its JS API, so they accept and refuse the same inputs.

use crate::archive::{self, Archive, Compression};
use crate::criu::{self, ImageFile};

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
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, crate::codec::Encode, crate::codec::Decode,
)]
#[serde(rename_all = "kebab-case")]
pub enum Skip {
    /// Not named `*.img` and not one of CRIU's own files (logs, notes, …).
    NotAnImage,
    /// A raw memory image (`pages-N.img`): no entries, often most of the checkpoint's size.
    RawPages,
    /// `stats-dump` / `stats-restore`: CRIU's timings and page counts of the dump (a STATS
    /// image, without the `.img` suffix), nothing of the processes' state.
    Stats,
}

impl Skip {
    /// A few words for listings.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::NotAnImage => "not a CRIU image",
            Skip::RawPages => "raw memory pages, not read",
            Skip::Stats => "CRIU's statistics of the dump (a STATS image), not read",
        }
    }
}

/// Whether a file of an image directory is read, by its name, as the CLI's directory reader
/// does: `*.img` files are, except the raw memory pages.
pub fn image_dir_entry(name: &str) -> Option<Skip> {
    if name == "stats-dump" || name == "stats-restore" {
        Some(Skip::Stats)
    } else if !name.ends_with(".img") {
        Some(Skip::NotAnImage)
    } else if archive::is_raw_pages(name) {
        Some(Skip::RawPages)
    } else {
        None
    }
}

/// What a set of named files (a dropped directory, picked files, one file) turned out to be.
#[derive(Debug)]
pub enum Opening {
    /// One resocket image.
    Rsimg(ImageFile),
    /// A CRIU checkpoint.
    Criu(Box<CriuInput>),
}

/// A CRIU checkpoint opened from a set of files or an archive.
#[derive(Debug)]
pub struct CriuInput {
    /// The archive it was unpacked from (its `images` moved into `opened`), if any.
    pub archive: Option<Box<Archive>>,
    /// The files given that are not read, with why (not for archives: see `Archive::members`).
    pub skipped: Vec<(String, Skip)>,
    /// The images, read and checked.
    pub opened: criu::Opened,
}

/// Why a set of files is not a checkpoint.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OpenError {
    /// Nothing given.
    #[error("no files")]
    Empty,
    /// One file that is none of the formats.
    #[error("{name}: {what}: not a resocket image (no Linux-CR record header), a CRIU image (no CRIU magic), or a tar/tar.gz/tar.zst archive")]
    Unknown { name: String, what: &'static str },
    /// An archive that does not unpack.
    #[error("{name}: {error}")]
    Archive { name: String, error: archive::ArchiveError },
    /// Several files, none of them a CRIU image.
    #[error("{count} files without CRIU images (*.img): not a CRIU image directory")]
    NoImages { count: usize },
}

/// Open a set of named files by their content: one archive (unpacked within `limits`), one
/// resocket image, one CRIU image, or the files of a CRIU image directory (the `*.img` files
/// are read, raw memory pages and everything else are listed as skipped; a directory that
/// holds exactly one archive or resocket image among files that are not images opens that).
pub fn open_files(files: Vec<ImageFile>, limits: archive::Limits) -> Result<Opening, OpenError> {
    open_files_observed(files, limits, &mut |_| {})
}

/// How far [`open_files_observed`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Unpacking an archive.
    Unpacking(archive::Unpacking),
    /// Reading the CRIU images.
    Reading(criu::Reading),
}

/// [`open_files`], telling `progress` how the unpack and the reading of the images go.
pub fn open_files_observed(
    mut files: Vec<ImageFile>,
    limits: archive::Limits,
    progress: &mut dyn FnMut(Step),
) -> Result<Opening, OpenError> {
    if files.len() > 1 {
        let candidates: Vec<usize> = (0..files.len())
            .filter(|&i| matches!(detect(&files[i].bytes), Detected::Archive(_) | Detected::Rsimg))
            .collect();
        let images = files.iter().filter(|f| image_dir_entry(&f.name).is_none()).count();
        if let ([one], 0) = (candidates.as_slice(), images) {
            let f = files.swap_remove(*one);
            files = vec![f];
        }
    }
    match files.len() {
        0 => Err(OpenError::Empty),
        1 => {
            let f = files.pop().ok_or(OpenError::Empty)?;
            match detect(&f.bytes) {
                Detected::Archive(_) => {
                    let mut a = archive::unpack_observed(&f.bytes, limits, &mut |u| progress(Step::Unpacking(u)))
                        .map_err(|error| OpenError::Archive { name: f.name.clone(), error })?;
                    drop(f);
                    let images = std::mem::take(&mut a.images);
                    let opened = criu::open_observed(images, &mut |r| progress(Step::Reading(r)));
                    Ok(Opening::Criu(Box::new(CriuInput { archive: Some(Box::new(a)), skipped: Vec::new(), opened })))
                }
                Detected::CriuImage => {
                    let opened = criu::open_observed(vec![f], &mut |r| progress(Step::Reading(r)));
                    Ok(Opening::Criu(Box::new(CriuInput { archive: None, skipped: Vec::new(), opened })))
                }
                Detected::Rsimg => Ok(Opening::Rsimg(f)),
                Detected::Unknown => {
                    let what = if f.bytes.is_empty() { "an empty file" } else { "not a checkpoint" };
                    Err(OpenError::Unknown { name: f.name, what })
                }
            }
        }
        count => {
            let mut skipped = Vec::new();
            let mut images = Vec::new();
            for f in files {
                match image_dir_entry(&f.name) {
                    Some(why) => skipped.push((f.name, why)),
                    None => images.push(f),
                }
            }
            if images.is_empty() {
                return Err(OpenError::NoImages { count });
            }
            let opened = criu::open_observed(images, &mut |r| progress(Step::Reading(r)));
            Ok(Opening::Criu(Box::new(CriuInput { archive: None, skipped, opened })))
        }
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
    fn open_files_by_content() {
        let f = |name: &str, bytes: &[u8]| ImageFile { name: name.into(), bytes: bytes.to_vec() };
        let lim = archive::Limits::default();
        assert!(matches!(open_files(vec![], lim), Err(OpenError::Empty)));
        assert!(matches!(open_files(vec![f("a.txt", b"hi")], lim), Err(OpenError::Unknown { .. })));
        assert!(matches!(open_files(vec![f("a.txt", b"hi"), f("b", b"")], lim), Err(OpenError::NoImages { count: 2 })));
        let img = criu::frame::IMG_COMMON.to_le_bytes();
        match open_files(vec![f("dump.log", b"x"), f("pages-1.img", b""), f("files.img", &img)], lim) {
            Ok(Opening::Criu(c)) => {
                assert_eq!(c.opened.files.len(), 1);
                assert_eq!(c.skipped.len(), 2);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(open_files(vec![f("x.gz", &[0x1f, 0x8b, 0])], lim), Err(OpenError::Archive { .. })));
    }

    #[test]
    fn image_dir_entries() {
        assert_eq!(image_dir_entry("files.img"), None);
        assert_eq!(image_dir_entry("pages-1.img"), Some(Skip::RawPages));
        assert_eq!(image_dir_entry("dump.log"), Some(Skip::NotAnImage));
        assert_eq!(image_dir_entry("stats-dump"), Some(Skip::Stats));
    }
}
