//! The archive's input as one bounded stream: the bytes in, decompressed (gzip, every zstd
//! frame), counted against [`Limits::max_unpacked`](super::Limits::max_unpacked) and
//! [`MAX_HEADERS`], with progress reports; a failure is remembered and classified.

use super::{ArchiveError, Compression, Unpacking, PROGRESS_EVERY};
use std::cell::RefCell;
use std::io::{self, Read};
use std::rc::Rc;

/// The archive's bytes as a reader that keeps, in `left`, how many it has not yet given out
/// (shared by the copies a zstd frame decoder takes).
#[derive(Clone)]
pub(super) struct Src<'a> {
    pub(super) rest: &'a [u8],
    pub(super) left: Rc<std::cell::Cell<usize>>,
}

impl Src<'_> {
    pub(super) fn set(&mut self, rest: &[u8]) {
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
pub(super) struct Progress<'a> {
    pub(super) left: Rc<std::cell::Cell<usize>>,
    pub(super) total: u64,
    pub(super) next: u64,
    pub(super) report: &'a mut dyn FnMut(Unpacking),
}

/// Why the source stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
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
pub(super) struct Shared<'a>(pub(super) Rc<RefCell<Counted<'a>>>);

impl Read for Shared<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.0.borrow_mut().read(buf)
    }
}

/// The decompressed stream, counted against the limit; remembers why it failed.
pub(super) struct Counted<'a> {
    pub(super) inner: Box<dyn Read + 'a>,
    pub(super) count: u64,
    pub(super) limit: u64,
    pub(super) failure: Option<Failure>,
    /// While the tar reader looks for the next member: the count when it started (the data of
    /// the previous member has been read by then, so all it reads is headers and padding).
    pub(super) window: Option<u64>,
    pub(super) progress: Progress<'a>,
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
    pub(super) fn classify(&self, compression: Compression, e: io::Error, member: usize) -> ArchiveError {
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
pub(super) struct ZstdFrames<'a> {
    pub(super) rest: Src<'a>,
    pub(super) cur: Option<ruzstd::decoding::StreamingDecoder<Src<'a>, ruzstd::decoding::FrameDecoder>>,
    pub(super) spare: Option<ruzstd::decoding::FrameDecoder>,
}

impl<'a> ZstdFrames<'a> {
    pub(super) fn new(bytes: Src<'a>) -> Self {
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
