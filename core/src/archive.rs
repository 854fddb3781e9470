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

use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

pub use crate::criu::ImageFile;

/// CRIU's raw memory images (`pages-N.img`, `amdgpu-pages-N.img`): no magic, no entries, and
/// often most of a checkpoint's size. Listed, never read, by the archive and directory readers.
pub fn is_raw_pages(name: &str) -> bool {
    name.starts_with("pages-") || name.starts_with("amdgpu-pages-")
}

/// How the tar stream is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, bincode::Encode, bincode::Decode)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, bincode::Encode, bincode::Decode)]
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
    Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, bincode::Encode, bincode::Decode,
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
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, bincode::Encode, bincode::Decode)]
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

/// The archive's bytes as a reader that keeps, in `left`, how many it has not yet given out
/// (shared by the copies a zstd frame decoder takes).
#[derive(Clone)]
struct Src<'a> {
    rest: &'a [u8],
    left: Rc<std::cell::Cell<usize>>,
}

impl Src<'_> {
    fn set(&mut self, rest: &[u8]) {
        self.left.set(rest.len());
    }
}

impl Read for Src<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.rest.read(buf)?;
        let rest = self.rest;
        self.set(rest);
        Ok(n)
    }
}

/// Where the next [`Unpacking`] report is due, and whom to tell.
struct Progress<'a> {
    left: Rc<std::cell::Cell<usize>>,
    total: u64,
    next: u64,
    report: &'a mut dyn FnMut(Unpacking),
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

/// Why the source stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Failure {
    /// The decompressor failed.
    Decompress,
    /// [`Limits::max_unpacked`] was reached.
    Limit,
    /// The headers before one member (GNU long names, pax records) are larger than
    /// [`MAX_HEADERS`].
    Headers,
}

/// Most bytes of headers before one member: its own block, GNU long name and link blocks, pax
/// records. The tar reader keeps them in memory, so they are bounded apart from the rest.
pub const MAX_HEADERS: u64 = 1 << 20;

/// The counted stream, shared between the tar reader and the walk (which opens a window
/// around each header read).
struct Shared<'a>(Rc<RefCell<Counted<'a>>>);

impl Read for Shared<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// The decompressed stream, counted against the limit; remembers why it failed.
struct Counted<'a> {
    inner: Box<dyn Read + 'a>,
    count: u64,
    limit: u64,
    failure: Option<Failure>,
    /// While the tar reader looks for the next member: the count when it started (the data of
    /// the previous member has been read by then, so all it reads is headers and padding).
    window: Option<u64>,
    progress: Progress<'a>,
}

impl Read for Counted<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if matches!(self.failure, Some(Failure::Limit | Failure::Headers)) {
            return Err(io::Error::other("unpack limit reached"));
        }
        if let Some(start) = self.window {
            if self.count - start > MAX_HEADERS + 1024 {
                self.failure = Some(Failure::Headers);
                return Err(io::Error::other("header limit reached"));
            }
        }
        // Never ask for more than one byte past the limit: a bomb stops there.
        let room = self.limit.saturating_sub(self.count).saturating_add(1);
        let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
        let n = match self.inner.read(&mut buf[..want]) {
            Ok(n) => n,
            Err(e) => {
                self.failure = Some(Failure::Decompress);
                return Err(e);
            }
        };
        self.count += n as u64;
        if self.count > self.limit {
            self.failure = Some(Failure::Limit);
            return Err(io::Error::other("unpack limit reached"));
        }
        let p = &mut self.progress;
        if self.count >= p.next {
            p.next = self.count.saturating_add(PROGRESS_EVERY);
            let consumed = p.total - p.left.get() as u64;
            (p.report)(Unpacking { consumed, total: p.total, unpacked: self.count });
        }
        Ok(n)
    }
}

impl Counted<'_> {
    fn classify(&self, compression: Compression, e: io::Error, member: usize) -> ArchiveError {
        match self.failure {
            Some(Failure::Limit) => ArchiveError::TooLarge { limit: self.limit },
            Some(Failure::Headers) => ArchiveError::HeadersTooLarge { member, limit: MAX_HEADERS },
            Some(Failure::Decompress) => ArchiveError::Decompress {
                compression: compression.name(),
                unpacked: self.count,
                message: e.to_string(),
            },
            None => ArchiveError::Tar { member, message: e.to_string() },
        }
    }
}

/// Every frame of a zstd stream (skippable frames skipped), as one reader.
struct ZstdFrames<'a> {
    rest: Src<'a>,
    cur: Option<ruzstd::decoding::StreamingDecoder<Src<'a>, ruzstd::decoding::FrameDecoder>>,
    spare: Option<ruzstd::decoding::FrameDecoder>,
}

impl<'a> ZstdFrames<'a> {
    fn new(bytes: Src<'a>) -> Self {
        ZstdFrames { rest: bytes, cur: None, spare: None }
    }
}

impl Read for ZstdFrames<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use ruzstd::decoding::errors::{FrameDecoderError, ReadFrameHeaderError};
        loop {
            if let Some(d) = &mut self.cur {
                let n = d.read(buf)?;
                if n > 0 || buf.is_empty() {
                    return Ok(n);
                }
                // This frame is done: go on with what follows it.
                if let Some(d) = self.cur.take() {
                    let (rest, dec) = d.into_parts();
                    self.rest = rest;
                    self.spare = Some(dec);
                }
            }
            if self.rest.rest.is_empty() {
                return Ok(0);
            }
            let dec = self.spare.take().unwrap_or_default();
            // The decoder reads from its own copy of the slice.
            match ruzstd::decoding::StreamingDecoder::new_with_decoder(self.rest.clone(), dec) {
                Ok(d) => self.cur = Some(d),
                Err(FrameDecoderError::ReadFrameHeaderError(ReadFrameHeaderError::SkipFrame { length, .. })) => {
                    // A skippable frame: its 8-byte header, then `length` bytes.
                    let skip = usize::try_from(length).unwrap_or(usize::MAX).saturating_add(8);
                    match self.rest.rest.get(skip..) {
                        Some(rest) => {
                            self.rest.rest = rest;
                            self.rest.set(rest);
                        }
                        None => {
                            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "skippable frame past the end"))
                        }
                    }
                }
                Err(e) => return Err(io::Error::other(e)),
            }
        }
    }
}

/// Metadata files kept for parsing.
#[derive(Debug, Default)]
struct Meta {
    config: Option<Vec<u8>>,
    spec: Option<Vec<u8>>,
    /// containerd's `status` file is there.
    containerd_status: bool,
}

#[derive(Debug)]
enum WalkError {
    Own(ArchiveError),
    Io { member: usize, error: io::Error },
}

struct Walk {
    limits: Limits,
    kept: u64,
    /// (path in the archive, bytes) of every `*.img`.
    images: Vec<(String, Vec<u8>)>,
    members: Vec<Member>,
    meta: Meta,
    warnings: Vec<Warning>,
}

/// A member's path: bytes as UTF-8 (lossy), `./` and `/` prefixes and empty or `.` components
/// removed. `..` is kept (such a member is listed, never taken as an image).
fn clean_path(raw: &[u8]) -> String {
    let s = String::from_utf8_lossy(raw);
    let parts: Vec<&str> = s.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    parts.join("/")
}

fn kind_of(t: tar::EntryType) -> MemberKind {
    match t {
        tar::EntryType::Regular | tar::EntryType::Continuous => MemberKind::File,
        tar::EntryType::Directory => MemberKind::Directory,
        tar::EntryType::Symlink => MemberKind::Symlink,
        tar::EntryType::Link => MemberKind::HardLink,
        _ => MemberKind::Other,
    }
}

impl Walk {
    fn entries<R: Read>(&mut self, ar: &mut tar::Archive<R>, src: &RefCell<Counted<'_>>) -> Result<(), WalkError> {
        let io_err = |member: usize| move |error: io::Error| WalkError::Io { member, error };
        let mut entries = ar.entries().map_err(io_err(0))?;
        for idx in 0.. {
            {
                let mut s = src.borrow_mut();
                s.window = Some(s.count);
            }
            let next = entries.next();
            src.borrow_mut().window = None;
            let Some(entry) = next else { break };
            if idx >= self.limits.max_members {
                return Err(WalkError::Own(ArchiveError::TooManyMembers { limit: self.limits.max_members }));
            }
            let mut entry = entry.map_err(io_err(idx))?;
            let kind = kind_of(entry.header().entry_type());
            let path = clean_path(&entry.path_bytes());
            let declared = entry.size();
            let keep = kind == MemberKind::File && Keep::of(&path, declared) != Keep::No;
            if keep {
                let want = Keep::of(&path, declared);
                if want == Keep::TooBigMetadata {
                    self.warnings.push(Warning::MetadataTooBig { file: path.clone(), size: declared });
                } else {
                    if self.kept.saturating_add(declared) > self.limits.max_kept {
                        return Err(WalkError::Own(ArchiveError::TooMuchKept {
                            path,
                            size: declared,
                            limit: self.limits.max_kept,
                        }));
                    }
                    // Grows with the data actually read, never sized from the header.
                    let mut data = Vec::new();
                    (&mut entry).take(declared).read_to_end(&mut data).map_err(io_err(idx))?;
                    if data.len() as u64 != declared {
                        return Err(WalkError::Own(ArchiveError::Truncated {
                            path,
                            declared,
                            actual: data.len() as u64,
                        }));
                    }
                    self.kept += declared;
                    match want {
                        Keep::Image => {
                            if self.images.iter().any(|(p, _)| *p == path) {
                                self.warnings.push(Warning::DuplicateImage { path: path.clone() });
                                self.images.retain(|(p, _)| *p != path);
                            }
                            self.images.push((path, data));
                            continue;
                        }
                        Keep::Config => self.meta.config = Some(data),
                        Keep::Spec => self.meta.spec = Some(data),
                        Keep::No | Keep::TooBigMetadata => {}
                    }
                    self.members.push(Member { path, size: declared, kind });
                    continue;
                }
            }
            if path == "status" && kind == MemberKind::File {
                self.meta.containerd_status = true;
            }
            // Skipped members are read through (counted against the unpack limit) and their
            // length compared with the header's.
            if kind == MemberKind::File {
                let actual = io::copy(&mut (&mut entry).take(declared), &mut io::sink()).map_err(io_err(idx))?;
                if actual != declared {
                    return Err(WalkError::Own(ArchiveError::Truncated { path, declared, actual }));
                }
            }
            self.members.push(Member { path, size: declared, kind });
        }
        Ok(())
    }

    fn finish(mut self, compression: Compression, unpacked: u64) -> Result<Archive, ArchiveError> {
        // The images: under checkpoint/ (a container archive), else at the top, else under
        // the one directory that holds any.
        let in_dir = |p: &str, dir: &str| -> bool {
            let rest = if dir.is_empty() { Some(p) } else { p.strip_prefix(dir).and_then(|r| r.strip_prefix('/')) };
            rest.is_some_and(|r| !r.contains('/'))
        };
        let dir = if self.images.iter().any(|(p, _)| in_dir(p, "checkpoint")) {
            "checkpoint".to_string()
        } else if self.images.iter().any(|(p, _)| in_dir(p, "")) {
            String::new()
        } else {
            let mut dirs: Vec<&str> =
                self.images.iter().filter_map(|(p, _)| p.rsplit_once('/').map(|(d, _)| d)).collect();
            dirs.sort_unstable();
            dirs.dedup();
            match dirs.as_slice() {
                [one] => (*one).to_string(),
                _ => return Err(ArchiveError::NoImages),
            }
        };
        let mut images = Vec::new();
        for (path, bytes) in std::mem::take(&mut self.images) {
            if in_dir(&path, &dir) {
                let name = path.rsplit('/').next().unwrap_or(&path).to_string();
                images.push(ImageFile { name, bytes });
            } else {
                self.members.push(Member { size: bytes.len() as u64, path, kind: MemberKind::File });
            }
        }
        images.sort_by(|a, b| a.name.cmp(&b.name));
        let container = self.container();
        let layout = if dir == "checkpoint" { Layout::Container } else { Layout::Bare { dir } };
        Ok(Archive { compression, layout, images, container, members: self.members, unpacked, warnings: self.warnings })
    }

    /// The container metadata, as checkpointctl reads it (`internal/container.go`).
    fn container(&mut self) -> Option<Container> {
        use serde_json::Value;
        if self.meta.config.is_none() && self.meta.spec.is_none() {
            return None;
        }
        let mut parse = |file: &str, bytes: Option<Vec<u8>>| -> Option<Value> {
            let bytes = bytes?;
            match serde_json::from_slice::<Value>(&bytes) {
                Ok(v @ Value::Object(_)) => Some(v),
                Ok(_) => {
                    self.warnings.push(Warning::BadMetadata { file: file.into(), message: "not a JSON object".into() });
                    None
                }
                Err(e) => {
                    self.warnings.push(Warning::BadMetadata { file: file.into(), message: e.to_string() });
                    None
                }
            }
        };
        let config = parse("config.dump", self.meta.config.take());
        let spec = parse("spec.dump", self.meta.spec.take());
        let text = |v: Option<&Value>| v.and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_string);
        let conf = |k: &str| text(config.as_ref().and_then(|c| c.get(k)));
        let ann = |k: &str| text(spec.as_ref().and_then(|s| s.get("annotations")).and_then(|a| a.get(k)));
        let mut c = Container {
            engine: None,
            id: conf("id"),
            name: conf("name"),
            image: conf("rootfsImageName").or_else(|| conf("rootfsImage")),
            runtime: conf("runtime"),
            // Go's zero time is what an unset time.Time marshals to.
            created: conf("createdTime").filter(|t| !t.starts_with("0001-01-01")),
            checkpointed: conf("checkpointedTime").filter(|t| !t.starts_with("0001-01-01")),
            namespace: None,
            pod: None,
        };
        match ann("io.container.manager").as_deref() {
            Some("libpod") => c.engine = Some(Engine::Podman),
            Some("cri-o") => {
                c.engine = Some(Engine::CriO);
                // {"name": "...", "attempt": N}
                if let Some(m) = ann("io.kubernetes.cri-o.Metadata") {
                    if let Ok(v) = serde_json::from_str::<Value>(&m) {
                        c.name = text(v.get("name")).or(c.name);
                    }
                }
                c.created = ann("io.kubernetes.cri-o.Created").or(c.created);
                c.namespace = ann("io.kubernetes.pod.namespace");
                c.pod = ann("io.kubernetes.pod.name");
                if c.image.is_none() {
                    c.image = ann("io.kubernetes.cri-o.ImageName");
                }
            }
            _ if ann("io.kubernetes.cri.container-name").is_some() || self.meta.containerd_status => {
                c.engine = Some(Engine::Containerd);
                c.name = ann("io.kubernetes.cri.container-name").or(c.name);
                c.namespace = ann("io.kubernetes.cri.sandbox-namespace");
                c.pod = ann("io.kubernetes.cri.sandbox-name");
                if c.image.is_none() {
                    c.image = ann("io.kubernetes.cri.image-name");
                }
            }
            _ => c.engine = Some(Engine::Unknown),
        }
        Some(c)
    }
}

/// What to keep of a regular member.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keep {
    No,
    Image,
    Config,
    Spec,
    TooBigMetadata,
}

impl Keep {
    fn of(path: &str, size: u64) -> Keep {
        let unsafe_path = path.split('/').any(|c| c == "..");
        if unsafe_path {
            return Keep::No;
        }
        let meta = match path {
            "config.dump" => Keep::Config,
            "spec.dump" => Keep::Spec,
            _ if path.ends_with(".img") && !is_raw_pages(path.rsplit('/').next().unwrap_or(path)) => {
                return Keep::Image
            }
            _ => return Keep::No,
        };
        if size > MAX_METADATA {
            Keep::TooBigMetadata
        } else {
            meta
        }
    }
}
