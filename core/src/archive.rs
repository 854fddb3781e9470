//! Checkpoint archives: tar, tar.gz and tar.zst, recognised by their content (gzip magic
//! `1f 8b`, zstd magic `28 b5 2f fd`, `ustar` at offset 257), never by their file name.
//!
//! Two layouts are understood:
//! * a container checkpoint as Podman (`podman container checkpoint --export`), CRI-O and the
//!   kubelet checkpoint API write it: the CRIU images under `checkpoint/`, beside `config.dump`,
//!   `spec.dump`, `network.status`, `stats-dump`, `rootfs-diff.tar`, `deleted.files` and the
//!   rest (key names as checkpointctl's `lib/metadata.go` reads them);
//! * a bare tarball of a CRIU image directory (`*.img` at the top, or under one directory).
//!
//! The result is the image files of the checkpoint directory (for [`crate::criu::open`]), the
//! container metadata when there is any, and every other member with its size.
//!
//! Unpacking is bounded: the bytes that come out of the decompressor (all members, kept or
//! skipped) and the member count are limited, and so are the bytes kept in memory; a member's
//! declared size is compared with the bytes actually present. Nothing is allocated in
//! proportion to a size field: buffers grow with the data that arrives. Errors are typed
//! ([`ArchiveError`]); nothing here panics on any input.
//!
//! This file holds the types and [`unpack_observed`], which runs the two parts:
//! `archive/stream.rs` (the input decompressed and counted against the limits) and
//! `archive/walk.rs` (the tar members: images kept, the rest listed, the container metadata
//! parsed). `walk` reads through `stream`; neither uses the other back.

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

pub use crate::criu::ImageFile;

mod stream;
mod walk;
pub use stream::MAX_HEADERS;
use stream::{Counted, Progress, Shared, Src, ZstdFrames};
use walk::{Meta, Walk, WalkError};

/// CRIU's raw memory images (`pages-N.img`, `amdgpu-pages-N.img`): no magic, no entries, and
/// often most of a checkpoint's size. Listed, never read, by the archive and directory readers.
pub fn is_raw_pages(name: &str) -> bool {
    name.starts_with("pages-") || name.starts_with("amdgpu-pages-")
}

/// How the tar stream is compressed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, crate::codec::Encode, crate::codec::Decode,
)]
#[serde(rename_all = "kebab-case")]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (RFC 1952), one or more members.
    Gzip,
    /// Zstandard, one or more frames.
    Zstd,
}

impl Compression {
    /// `tar`, `tar.gz` or `tar.zst`.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "tar.gz",
            Compression::Zstd => "tar.zst",
        }
    }
}

/// What the bytes look like, by content alone: an archive (and how it is compressed), or not.
pub fn detect(bytes: &[u8]) -> Option<Compression> {
    if bytes.starts_with(&[0x1f, 0x8b]) {
        Some(Compression::Gzip)
    } else if bytes.starts_with(&ZSTD_MAGIC) {
        Some(Compression::Zstd)
    } else if is_tar(bytes) {
        Some(Compression::None)
    } else {
        None
    }
}

const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];

/// `ustar` at offset 257 of the first header block (POSIX `ustar\0` and GNU `ustar  \0`).
fn is_tar(bytes: &[u8]) -> bool {
    bytes.get(257..262) == Some(b"ustar")
}

/// The limits of one unpack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most bytes the decompressor may produce (the whole tar stream, skipped members included).
    pub max_unpacked: u64,
    /// Most members (headers) the archive may have.
    pub max_members: usize,
    /// Most bytes kept in memory: the CRIU images and the metadata files.
    pub max_kept: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_unpacked: 16 << 30, max_members: 100_000, max_kept: 1 << 30 }
    }
}

/// Largest metadata file (`config.dump`, `spec.dump`, …) that is read and parsed.
pub const MAX_METADATA: u64 = 4 << 20;

/// Why an archive could not be unpacked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArchiveError {
    /// Neither gzip, zstd nor tar.
    #[error("not an archive: no gzip (1f 8b) or zstd (28 b5 2f fd) magic, and no `ustar` at offset 257")]
    NotAnArchive,
    /// The decompressed stream is not a tar.
    #[error("the {0} data does not hold a tar archive (no `ustar` at offset 257 of what it unpacks to)")]
    NotTar(&'static str),
    /// The gzip or zstd stream is corrupt or cut short.
    #[error("{compression} data is corrupt or truncated after {unpacked} unpacked bytes: {message}")]
    Decompress {
        /// `gzip` or `zstd`.
        compression: &'static str,
        /// Bytes produced before the failure.
        unpacked: u64,
        /// The decoder's message.
        message: String,
    },
    /// A tar header is malformed.
    #[error("tar: {message} (member {member})")]
    Tar {
        /// Index of the member whose header could not be read.
        member: usize,
        /// What the tar reader said.
        message: String,
    },
    /// More bytes come out than [`Limits::max_unpacked`] allows: a decompression bomb, or a
    /// bigger checkpoint than the limit.
    #[error("the archive unpacks to more than {limit} bytes (a decompression bomb?); raise the limit to read it")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// A member's headers (GNU long name, pax records) are larger than [`MAX_HEADERS`].
    #[error("member {member}: its headers (long name, pax records) exceed {limit} bytes")]
    HeadersTooLarge {
        /// Index of the member.
        member: usize,
        /// The limit.
        limit: u64,
    },
    /// More members than [`Limits::max_members`].
    #[error("the archive has more than {limit} members")]
    TooManyMembers {
        /// The limit.
        limit: usize,
    },
    /// The images and metadata to keep are larger than [`Limits::max_kept`].
    #[error("member {path}: keeping its {size} bytes would exceed the limit of {limit} bytes of images and metadata")]
    TooMuchKept {
        /// The member.
        path: String,
        /// Its declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// A member's data ends before its declared size.
    #[error("member {path}: its header declares {declared} bytes but only {actual} are present (truncated archive)")]
    Truncated {
        /// The member.
        path: String,
        /// Declared size.
        declared: u64,
        /// Bytes actually there.
        actual: u64,
    },
    /// No CRIU images anywhere.
    #[error("no CRIU images in the archive: no *.img under checkpoint/ (Podman, CRI-O) nor at its top")]
    NoImages,
}

/// The container engine that wrote the archive.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, crate::codec::Encode, crate::codec::Decode,
)]
pub enum Engine {
    /// Podman (`io.container.manager` = `libpod`).
    Podman,
    /// CRI-O, also the kubelet checkpoint API on CRI-O (`io.container.manager` = `cri-o`).
    #[serde(rename = "CRI-O")]
    CriO,
    /// containerd (`io.kubernetes.cri.*` annotations, or a `status` file).
    #[serde(rename = "containerd")]
    Containerd,
    /// Metadata present, but no engine named in it.
    #[serde(rename = "unknown")]
    Unknown,
}

impl Engine {
    /// The engine's usual name.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Podman => "Podman",
            Engine::CriO => "CRI-O",
            Engine::Containerd => "containerd",
            Engine::Unknown => "unknown",
        }
    }
}

/// What the archive says about the container (from `config.dump` and `spec.dump`).
#[derive(
    Debug,
    Clone,
    PartialEq,
    Eq,
    Default,
    serde::Serialize,
    serde::Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
pub struct Container {
    /// The engine, when the metadata names it.
    pub engine: Option<Engine>,
    /// Container id (`config.dump` `id`).
    pub id: Option<String>,
    /// Container name.
    pub name: Option<String>,
    /// Image the container runs (`rootfsImageName`, else `rootfsImage`, else the CRI image
    /// annotation).
    pub image: Option<String>,
    /// OCI runtime (`runtime`).
    pub runtime: Option<String>,
    /// When the container was created, as written (RFC 3339).
    pub created: Option<String>,
    /// When it was checkpointed, as written (`checkpointedTime`).
    pub checkpointed: Option<String>,
    /// Kubernetes namespace (CRI-O, containerd).
    pub namespace: Option<String>,
    /// Kubernetes pod (CRI-O, containerd).
    pub pod: Option<String>,
}

/// The kind of an archive member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum MemberKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link.
    Symlink,
    /// A hard link.
    HardLink,
    /// Anything else (device, fifo, sparse file…).
    Other,
}

/// A member of the archive other than a CRIU image.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Member {
    /// Its path in the archive (a leading `./` removed).
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its kind.
    pub kind: MemberKind,
}

/// Where the CRIU images were found.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, crate::codec::Encode, crate::codec::Decode,
)]
#[serde(rename_all = "kebab-case")]
pub enum Layout {
    /// A container checkpoint: images under `checkpoint/` (Podman, CRI-O).
    Container,
    /// A tarball of an image directory: images at the top, or under this directory.
    Bare {
        /// The directory holding them (`""` for the top).
        dir: String,
    },
}

/// Something about the archive that did not stop it from being read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Warning {
    /// A metadata file is not the JSON its name promises.
    BadMetadata {
        /// `config.dump`, `spec.dump`…
        file: String,
        /// The parser's message.
        message: String,
    },
    /// A metadata file is too big to read ([`MAX_METADATA`]).
    MetadataTooBig {
        /// The file.
        file: String,
        /// Its size.
        size: u64,
    },
    /// The same image appears twice; the last copy is used (as tar extraction would).
    DuplicateImage {
        /// Its path.
        path: String,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::BadMetadata { file, message } => write!(f, "{file}: not valid JSON metadata: {message}"),
            Warning::MetadataTooBig { file, size } => {
                write!(f, "{file}: {size} bytes, more than the {MAX_METADATA} read as metadata; not parsed")
            }
            Warning::DuplicateImage { path } => write!(f, "{path} appears more than once; the last copy is used"),
        }
    }
}

/// An unpacked checkpoint archive. Its serde form (the browser's worker posts it to the page)
/// leaves out `images`, which go to [`crate::criu::open`].
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Archive {
    /// How it was compressed.
    pub compression: Compression,
    /// Where the images were.
    pub layout: Layout,
    /// The CRIU image files (`*.img`) of the checkpoint directory, sorted by name.
    #[serde(skip)]
    pub images: Vec<ImageFile>,
    /// The container metadata, when `config.dump` or `spec.dump` is there.
    pub container: Option<Container>,
    /// Every other member, in archive order, with its size.
    pub members: Vec<Member>,
    /// Bytes the tar stream unpacked to.
    pub unpacked: u64,
    /// Things worth saying that did not stop the read.
    pub warnings: Vec<Warning>,
}

/// Unpack an archive (tar, tar.gz or tar.zst, by content) within the default [`Limits`].
pub fn unpack(bytes: &[u8]) -> Result<Archive, ArchiveError> {
    unpack_with(bytes, Limits::default())
}

/// Unpack an archive within these limits.
pub fn unpack_with(bytes: &[u8], limits: Limits) -> Result<Archive, ArchiveError> {
    unpack_observed(bytes, limits, &mut |_| {})
}

/// How far an unpack is: reported every [`PROGRESS_EVERY`] unpacked bytes and once at the end
/// of a successful unpack (then `consumed == total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unpacking {
    /// Bytes of the archive (compressed) consumed so far.
    pub consumed: u64,
    /// The archive's size.
    pub total: u64,
    /// Bytes the tar stream has unpacked to so far.
    pub unpacked: u64,
}

/// Unpacked bytes between two [`Unpacking`] reports.
pub const PROGRESS_EVERY: u64 = 1 << 20;

/// [`unpack_with`], telling `progress` how far it is (the browser's worker posts it to the page).
pub fn unpack_observed(
    bytes: &[u8],
    limits: Limits,
    progress: &mut dyn FnMut(Unpacking),
) -> Result<Archive, ArchiveError> {
    let compression = detect(bytes).ok_or(ArchiveError::NotAnArchive)?;
    let left = Rc::new(std::cell::Cell::new(bytes.len()));
    let input = Src { rest: bytes, left: Rc::clone(&left) };
    let inner: Box<dyn Read + '_> = match compression {
        Compression::None => Box::new(input),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(input)),
        Compression::Zstd => Box::new(ZstdFrames::new(input)),
    };
    let total = bytes.len() as u64;
    let mut src = Counted {
        inner,
        count: 0,
        limit: limits.max_unpacked,
        failure: None,
        window: None,
        progress: Progress { left: Rc::clone(&left), total, next: PROGRESS_EVERY, report: progress },
    };
    // The first block must be a tar header: otherwise "gzip of something else" would surface
    // as an obscure tar error.
    let mut head = Vec::new();
    let got = (&mut src).take(512).read_to_end(&mut head);
    if let Err(e) = got {
        return Err(src.classify(compression, e, 0));
    }
    if !is_tar(&head) {
        return Err(match compression {
            Compression::None => ArchiveError::NotAnArchive,
            c => ArchiveError::NotTar(c.name()),
        });
    }
    let mut walk =
        Walk { limits, kept: 0, images: Vec::new(), members: Vec::new(), meta: Meta::default(), warnings: Vec::new() };
    let shared = Rc::new(RefCell::new(src));
    let result = {
        let mut ar = tar::Archive::new(io::Cursor::new(head).chain(Shared(Rc::clone(&shared))));
        walk.entries(&mut ar, &shared)
    };
    let mut src = shared.borrow_mut();
    if let Err(e) = result {
        return Err(match e {
            WalkError::Own(e) => e,
            WalkError::Io { member, error } => src.classify(compression, error, member),
        });
    }
    // Done: the whole archive counts as consumed (the padding after the end-of-archive blocks
    // and a compressed stream's trailer are not read).
    let unpacked = src.count;
    (src.progress.report)(Unpacking { consumed: total, total, unpacked });
    walk.finish(compression, unpacked)
}

impl Compression {
    fn name(self) -> &'static str {
        match self {
            Compression::None => "tar",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}
