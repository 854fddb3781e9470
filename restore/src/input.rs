//! One input layer for every command that takes an image: a path is looked at (by content,
//! never by its name) and becomes an [`Input`]:
//!
//! * a directory: a CRIU image directory (`criu dump -D DIR`); its `*.img` files are read,
//!   everything else is listed as skipped;
//! * a file holding a tar, tar.gz or tar.zst: a checkpoint archive (Podman, CRI-O, or a tarball
//!   of an image directory), unpacked in memory by `resocket_core::archive`;
//! * a file that starts with a CRIU image magic: one CRIU image (`restore decode files.img`);
//! * a file whose first record header is a Linux-CR one: a resocket image (`.rsimg`).
//!
//! Anything else is refused with exit status 2, saying what was looked for.

use crate::{CliError, EXIT_INVALID};
use resocket_core::archive::{self, Archive};
use resocket_core::criu::{self, ImageFile, Note, Opened};
// By-content detection is core's (shared with the browser inspector and its JS API).
use resocket_core::detect::{self, Detected, Skip};
use std::io::Read as _;
use std::path::{Path, PathBuf};

/// What a path turned out to be.
#[derive(Debug)]
pub enum Input {
    /// A resocket (Linux-CR record stream) image.
    Rsimg(Vec<u8>),
    /// A CRIU checkpoint: a directory, an archive or one image file.
    Criu(Box<Criu>),
}

/// A CRIU checkpoint, opened.
#[derive(Debug)]
pub struct Criu {
    /// Where its images came from.
    pub origin: Origin,
    /// The images, read and checked.
    pub opened: Opened,
}

/// Where a CRIU checkpoint's images came from.
#[derive(Debug)]
pub enum Origin {
    /// An image directory; the entries that are not read.
    Directory {
        /// Everything in it that is not a CRIU image read here.
        skipped: Vec<Skipped>,
    },
    /// A checkpoint archive (its `images` moved into the opened checkpoint).
    Archive(Box<Archive>),
    /// One image file.
    Image,
}

/// A directory entry that is not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Its name.
    pub name: String,
    /// Its size (0 for directories).
    pub size: u64,
    /// Why.
    pub why: SkipReason,
}

/// Why a directory entry is not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SkipReason {
    /// A regular file that is not read, and why (core's rule for an image directory's files).
    File(resocket_core::detect::Skip),
    /// A subdirectory.
    Directory,
    /// A symlink, device, fifo or socket that is not named `*.img`.
    Special,
}

impl SkipReason {
    /// A few words for listings.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::File(why) => why.as_str(),
            SkipReason::Directory => "directory",
            SkipReason::Special => "not a regular file",
        }
    }
}

/// How much an input may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Most bytes read from disk (a file, or a directory's images in all).
    pub max_bytes: u64,
    /// Most bytes an archive may unpack to (all its members, kept or not).
    pub max_unpacked: u64,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { max_bytes: crate::DEFAULT_MAX_BYTES, max_unpacked: archive::Limits::default().max_unpacked }
    }
}

/// Open a path as an image, a CRIU directory, a CRIU image or an archive, within `budget`.
pub fn open(path: &Path, budget: Budget) -> Result<Input, CliError> {
    let max_bytes = budget.max_bytes;
    let meta = std::fs::metadata(path).map_err(|e| CliError::usage(format!("{}: {e}", path.display())))?;
    if meta.is_dir() {
        let (files, skipped) = read_dir(path, max_bytes)?;
        let opened = criu::open(files);
        return Ok(Input::Criu(Box::new(Criu { origin: Origin::Directory { skipped }, opened })));
    }
    let bytes = crate::read_input(path, max_bytes)?;
    let detected = detect::detect(&bytes);
    if let Detected::Archive(_) = detected {
        let limits = archive::Limits {
            max_unpacked: budget.max_unpacked,
            // What is kept in memory (the images, the metadata) counts against --max-bytes, as a
            // directory's images do.
            max_kept: max_bytes,
            ..archive::Limits::default()
        };
        let mut a = archive::unpack_with(&bytes, limits).map_err(|e| match e {
            archive::ArchiveError::TooLarge { .. } => {
                CliError::usage(format!("{}: {e} (--max-unpacked)", path.display()))
            }
            e => CliError::usage(format!("{}: {e}", path.display())),
        })?;
        let files = std::mem::take(&mut a.images);
        let opened = criu::open(files);
        return Ok(Input::Criu(Box::new(Criu { origin: Origin::Archive(Box::new(a)), opened })));
    }
    if detected == Detected::CriuImage {
        let name = path.file_name().map_or_else(|| "image.img".to_string(), |n| n.to_string_lossy().into_owned());
        let opened = criu::open(vec![ImageFile { name, bytes }]);
        return Ok(Input::Criu(Box::new(Criu { origin: Origin::Image, opened })));
    }
    if detected == Detected::Rsimg {
        return Ok(Input::Rsimg(bytes));
    }
    let what = if bytes.is_empty() { "an empty file" } else { "not a checkpoint" };
    Err(CliError::usage(format!(
        "{}: {what}: not a resocket image (no Linux-CR record header), a CRIU image (no CRIU magic), \
         a tar/tar.gz/tar.zst archive, or a CRIU image directory",
        path.display()
    )))
}

/// Read the `*.img` files of a CRIU image directory (sorted by name), at most `max_bytes` in
/// all. A symlinked image is followed only when it stays inside the directory.
fn read_dir(dir: &Path, max_bytes: u64) -> Result<(Vec<ImageFile>, Vec<Skipped>), CliError> {
    let io = |p: &Path, e: std::io::Error| CliError::usage(format!("{}: {e}", p.display()));
    let canon = std::fs::canonicalize(dir).map_err(|e| io(dir, e))?;
    let mut entries: Vec<(String, PathBuf)> = Vec::new();
    for e in std::fs::read_dir(dir).map_err(|e| io(dir, e))? {
        let e = e.map_err(|e| io(dir, e))?;
        entries.push((e.file_name().to_string_lossy().into_owned(), e.path()));
    }
    entries.sort();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut total = 0u64;
    for (name, path) in entries {
        let lmeta = std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?;
        let by_name = if name.contains('\u{fffd}') { Some(Skip::NotAnImage) } else { detect::image_dir_entry(&name) };
        let skip = |why, size| Skipped { name: name.clone(), size, why };
        if let Some(not_read) = by_name.filter(|&w| w != Skip::RawPages) {
            let why = if lmeta.is_dir() {
                SkipReason::Directory
            } else if lmeta.is_file() {
                SkipReason::File(not_read)
            } else {
                SkipReason::Special
            };
            skipped.push(skip(why, if lmeta.is_file() { lmeta.len() } else { 0 }));
            continue;
        }
        // A symlinked image must resolve inside the directory.
        let target = if lmeta.file_type().is_symlink() {
            let t = std::fs::canonicalize(&path).map_err(|e| io(&path, e))?;
            if !t.starts_with(&canon) {
                return Err(CliError::usage(format!(
                    "{}: a symlink to {}, outside the image directory; refused",
                    path.display(),
                    t.display()
                )));
            }
            t
        } else {
            path.clone()
        };
        let meta = std::fs::metadata(&target).map_err(|e| io(&path, e))?;
        if meta.is_dir() {
            skipped.push(skip(SkipReason::Directory, 0));
            continue;
        }
        if !meta.is_file() {
            skipped.push(skip(SkipReason::Special, 0));
            continue;
        }
        if by_name == Some(Skip::RawPages) {
            skipped.push(skip(SkipReason::File(Skip::RawPages), meta.len()));
            continue;
        }
        let room = max_bytes.saturating_sub(total);
        let f = std::fs::File::open(&target).map_err(|e| io(&path, e))?;
        // Room for the size the file has now (within the budget; one more byte tells a file
        // that grew past it): read_to_end would otherwise double its buffer as it goes.
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len().min(room).saturating_add(1)).unwrap_or(0));
        f.take(room.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| io(&path, e))?;
        total += bytes.len() as u64;
        if total > max_bytes {
            return Err(CliError::usage(format!(
                "{}: the images add up to more than the limit of {max_bytes} bytes (raise it with --max-bytes)",
                dir.display()
            )));
        }
        files.push(ImageFile { name, bytes });
    }
    if files.is_empty() {
        return Err(CliError::usage(format!(
            "{}: a directory without CRIU images (*.img): not a CRIU image directory",
            dir.display()
        )));
    }
    Ok((files, skipped))
}

impl Criu {
    /// The checkpoint as a resocket image (through its scenario), and the notes on what the
    /// mapping cannot carry or what CRIU did not record. Refused (exit 1) when the checkpoint
    /// has errors.
    pub fn to_image(&self, name: &str) -> Result<(Vec<u8>, Vec<Note>), CliError> {
        let errors = self.opened.diagnostics.iter().filter(|d| d.is_error()).count();
        if errors > 0 {
            return Err(CliError {
                message: format!("{name}: invalid CRIU checkpoint ({errors} errors): run `restore check` for details"),
                code: EXIT_INVALID,
            });
        }
        let (scenario, notes) = self.opened.to_scenario();
        let bytes = scenario.to_image().map_err(|e| CliError {
            message: format!("{name}: the CRIU checkpoint does not map onto a resocket image: {e}"),
            code: EXIT_INVALID,
        })?;
        Ok((bytes, notes))
    }
}

impl Input {
    /// The resocket image to plan, simulate, run or compare, and the notes of a CRIU mapping
    /// (none for a resocket image).
    pub fn image_bytes(self, name: &str) -> Result<(Vec<u8>, Vec<Note>), CliError> {
        match self {
            Input::Rsimg(b) => Ok((b, Vec::new())),
            Input::Criu(c) => c.to_image(name),
        }
    }
}

/// A note as one line: `note[accept-order] srv: …`.
pub fn note_line(n: &Note) -> String {
    let code = serde_json::to_value(n.code).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
    match &n.socket {
        Some(s) => format!("note[{code}] {s}: {}", n.message),
        None => format!("note[{code}]: {}", n.message),
    }
}
