//! CRIU image directories: `criu dump -D DIR` output read, validated and mapped onto
//! resocket's model. See `docs/criu.md`.
//!
//! * [`frame`] — the image framing (magics, `u32 size` + protobuf entries, extras), zero-copy.
//! * [`pb`] — prost messages written from CRIU's field numbers; [`schema`] — the same fields
//!   as tables (names, types, labels) for [`walk`], the protobuf wire walker that gives every
//!   field its byte range and keeps unknown fields visible.
//! * [`load`] — [`open`]: every file framed and decoded; [`check`] joins the images into the
//!   checkpoint and checks it across images (located diagnostics: file, entry, byte offset,
//!   field path).
//! * [`map`] — [`Opened::to_scenario`]: the checkpoint as a resocket scenario, with named
//!   notes for what CRIU records less than resocket.
//! * [`crit`] — JSON in the shape of `crit decode`.
//!
//! The caller does the I/O: [`open`] takes the `.img` files of a directory as bytes.

pub mod check;
pub mod crit;
pub mod frame;
pub mod load;
pub mod map;
pub mod pb;
pub mod schema;
pub mod walk;

use crate::diag::Diagnostic;
use std::ops::Range;

pub use frame::Magic;
pub use load::{open, open_observed, Reading};
pub use map::{Note, NoteCode};

/// One image file of a checkpoint directory, read by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFile {
    /// Its name in the directory (`files.img`, `fdinfo-2.img`).
    pub name: String,
    /// Its bytes.
    pub bytes: Vec<u8>,
}

/// What the name of an image file says it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ImageKind {
    /// `inventory.img`
    Inventory,
    /// `pstree.img`
    Pstree,
    /// `ids-PID.img`
    Ids(u32),
    /// `core-PID.img`
    Core(u32),
    /// `fdinfo-N.img` (N: a files_id)
    Fdinfo(u32),
    /// `files.img`
    Files,
    /// `unixsk.img` (legacy layout)
    Unixsk,
    /// `inetsk.img` (legacy layout)
    Inetsk,
    /// `sk-queues.img`
    SkQueues,
    /// `tcp-stream-INO.img` (INO in hex)
    TcpStream(u32),
    /// `netdev-N.img`
    Netdev(u32),
    /// `reg-files.img` (legacy layout)
    RegFiles,
    /// `pipes.img` (legacy layout)
    Pipes,
    /// Any other name: listed, not read.
    Other,
}

impl ImageKind {
    /// The kind a file name stands for.
    pub fn of_name(name: &str) -> ImageKind {
        let Some(stem) = name.strip_suffix(".img") else { return ImageKind::Other };
        let num = |p: &str, radix| stem.strip_prefix(p).and_then(|n| u32::from_str_radix(n, radix).ok());
        match stem {
            "inventory" => return ImageKind::Inventory,
            "pstree" => return ImageKind::Pstree,
            "files" => return ImageKind::Files,
            "unixsk" => return ImageKind::Unixsk,
            "inetsk" => return ImageKind::Inetsk,
            "sk-queues" => return ImageKind::SkQueues,
            "reg-files" => return ImageKind::RegFiles,
            "pipes" => return ImageKind::Pipes,
            _ => {}
        }
        if let Some(n) = num("ids-", 10) {
            ImageKind::Ids(n)
        } else if let Some(n) = num("core-", 10) {
            ImageKind::Core(n)
        } else if let Some(n) = num("fdinfo-", 10) {
            ImageKind::Fdinfo(n)
        } else if let Some(n) = num("tcp-stream-", 16) {
            ImageKind::TcpStream(n)
        } else if let Some(n) = num("netdev-", 10) {
            ImageKind::Netdev(n)
        } else {
            ImageKind::Other
        }
    }

    /// The magic an image of this kind carries.
    pub fn magic(self) -> Option<Magic> {
        Some(match self {
            ImageKind::Inventory => Magic::Inventory,
            ImageKind::Pstree => Magic::Pstree,
            ImageKind::Ids(_) => Magic::Ids,
            ImageKind::Core(_) => Magic::Core,
            ImageKind::Fdinfo(_) => Magic::Fdinfo,
            ImageKind::Files => Magic::Files,
            ImageKind::Unixsk => Magic::Unixsk,
            ImageKind::Inetsk => Magic::Inetsk,
            ImageKind::SkQueues => Magic::SkQueues,
            ImageKind::TcpStream(_) => Magic::TcpStream,
            ImageKind::Netdev(_) => Magic::Netdev,
            ImageKind::RegFiles => Magic::RegFiles,
            ImageKind::Pipes => Magic::Pipes,
            ImageKind::Other => return None,
        })
    }
}

/// Where something is in a checkpoint: a file (index into [`Opened::files`]) and an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Loc {
    /// Index into [`Opened::files`].
    pub file: usize,
    /// Entry index in that file.
    pub entry: usize,
}

/// One opened image file: its framing and its entries with their byte ranges.
#[derive(Debug, Clone, PartialEq)]
pub struct OpenedFile {
    /// Its name.
    pub name: String,
    /// What its name says.
    pub kind: ImageKind,
    /// The leading IMG_COMMON/IMG_SERVICE word, if any.
    pub first_magic: Option<u32>,
    /// The image magic as found (`None`: the file is too short for one).
    pub magic: Option<u32>,
    /// The entries framed before the first framing error (none for images not read).
    pub entries: Vec<EntryView>,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// True when resocket decodes this image's entries (its schema is known).
    pub decoded: bool,
}

impl OpenedFile {
    /// The known magic, if the value is one CRIU defines.
    pub fn known_magic(&self) -> Option<Magic> {
        self.magic.and_then(Magic::from_value)
    }
    /// crit's name of the magic, or its value in hex.
    pub fn magic_name(&self) -> String {
        match (self.known_magic(), self.magic) {
            (Some(m), _) => m.crit_name().to_string(),
            (None, Some(v)) => format!("{v:#x}"),
            (None, None) => "none".into(),
        }
    }
}

/// One framed entry of an image file.
#[derive(Debug, Clone, PartialEq)]
pub struct EntryView {
    /// Index in its file.
    pub index: usize,
    /// The whole entry (size field, payload, extra).
    pub range: Range<usize>,
    /// The protobuf payload.
    pub payload: Range<usize>,
    /// The extra blob after the payload (a packet's data, a tcp-stream's queues).
    pub extra: Option<Range<usize>>,
}

impl OpenedFile {
    /// The schema of this image's entries, if resocket decodes it.
    pub fn schema(&self) -> Option<&'static schema::Schema> {
        if self.decoded {
            self.known_magic().and_then(schema::of_magic)
        } else {
            None
        }
    }
    /// The wire walk of entry `index`: every field with its path and byte range, nested fields
    /// after their parent, unknown ones included (computed on demand, not kept by [`open`]).
    pub fn walk(&self, index: usize) -> Option<walk::Walk> {
        let schema = self.schema()?;
        let e = self.entries.get(index)?;
        Some(walk::walk(self.bytes.get(e.payload.clone())?, e.payload.start, schema))
    }
    /// The fields of entry `index` (see [`OpenedFile::walk`]).
    pub fn fields(&self, index: usize) -> Vec<walk::Field> {
        self.walk(index).map(|w| w.flatten()).unwrap_or_default()
    }
    /// The fields of entry `index` that the schema does not know (a newer CRIU's).
    pub fn unknown_fields(&self, index: usize) -> Vec<walk::Field> {
        self.fields(index).into_iter().filter(|f| f.name.is_none()).collect()
    }
}

/// A process of the checkpoint.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Task {
    /// Its pid, ppid, pgid, sid (pstree.img).
    pub pid: u32,
    pub ppid: u32,
    pub pgid: u32,
    pub sid: u32,
    /// Its name (`core-PID.img` tc.comm).
    pub comm: Option<String>,
    /// `ids-PID.img`: the fd table (`fdinfo-N.img`) and network namespace ids.
    pub files_id: Option<u32>,
    pub net_ns_id: Option<u32>,
    /// Its fds, in fdinfo order.
    pub fds: Vec<Fd>,
    /// The pstree entry.
    pub at: Loc,
}

/// One fd of a task (`fdinfo-N.img`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Fd {
    /// The fd number.
    pub fd: u32,
    /// The file id (joins files.img).
    pub id: u32,
    /// `fd_types` value.
    pub ty: i32,
    /// FD flags (`FD_CLOEXEC`).
    pub flags: u32,
    /// The fdinfo entry.
    pub at: Loc,
}

/// A file of the checkpoint other than a socket: listed with its type.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherFile {
    /// Its file id.
    pub id: u32,
    /// `fd_types` value.
    pub ty: i32,
    /// A path, for regular files.
    pub path: Option<String>,
    /// Its entry.
    pub at: Loc,
}

/// An AF_UNIX socket (`FileEntry.usk` or a unixsk.img entry).
#[derive(Debug, Clone, PartialEq)]
pub struct UnixSock {
    /// Its file id (`FileEntry.id`; the entry's own `id` in unixsk.img).
    pub id: u32,
    /// The field path prefix of its entry (`usk.` in files.img, empty in unixsk.img).
    pub prefix: &'static str,
    /// The entry.
    pub sk: pb::UnixSkEntry,
    /// Where it is.
    pub at: Loc,
}

/// An AF_INET/AF_INET6 socket.
#[derive(Debug, Clone, PartialEq)]
pub struct InetSock {
    /// Its file id.
    pub id: u32,
    /// The field path prefix of its entry (`isk.` in files.img, empty in inetsk.img).
    pub prefix: &'static str,
    /// The entry.
    pub sk: pb::InetSkEntry,
    /// Where it is.
    pub at: Loc,
}

/// One queued packet (sk-queues.img).
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// The entry.
    pub pkt: pb::SkPacketEntry,
    /// Its payload's bytes in the file.
    pub data: Range<usize>,
    /// Where it is.
    pub at: Loc,
}

/// A TCP connection's repair state (tcp-stream-INO.img).
#[derive(Debug, Clone, PartialEq)]
pub struct TcpStream {
    /// The socket inode from the file name.
    pub ino: u32,
    /// The entry.
    pub ts: pb::TcpStreamEntry,
    /// The receive and send queues' bytes in the file.
    pub inq: Range<usize>,
    pub outq: Range<usize>,
    /// Where it is.
    pub at: Loc,
}

/// A checkpoint: what resocket reads of a CRIU image directory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checkpoint {
    /// inventory.img.
    pub inventory: Option<pb::InventoryEntry>,
    /// The processes, pstree order, joined with their ids, core and fdinfo images.
    pub tasks: Vec<Task>,
    /// ids-PID.img entries: pid, entry, where.
    pub ids: Vec<(u32, pb::TaskKobjIdsEntry, Loc)>,
    /// core-PID.img entries.
    pub cores: Vec<(u32, pb::CoreEntry, Loc)>,
    /// fdinfo-N.img entries: files_id and the fd.
    pub fdinfo: Vec<(u32, Fd)>,
    /// AF_UNIX sockets, file order.
    pub unix: Vec<UnixSock>,
    /// INET sockets, file order.
    pub inet: Vec<InetSock>,
    /// Other files (regular files, pipes, ...).
    pub others: Vec<OtherFile>,
    /// Queued packets, file order.
    pub packets: Vec<Packet>,
    /// TCP repair state by socket inode.
    pub tcp_streams: Vec<TcpStream>,
    /// Network device names (netdev-N.img).
    pub netdevs: Vec<String>,
    /// True for the legacy layout (unixsk.img / inetsk.img instead of files.img sockets).
    pub legacy_layout: bool,
}

/// An opened CRIU checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The model.
    pub checkpoint: Checkpoint,
    /// Everything found wrong, located by file, entry, offset and field.
    pub diagnostics: Vec<Diagnostic>,
    /// Each image file with its entries, in name order.
    pub files: Vec<OpenedFile>,
}

impl Opened {
    /// True when no diagnostic is an error.
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
    /// The file at `loc`.
    pub fn file(&self, loc: Loc) -> Option<&OpenedFile> {
        self.files.get(loc.file)
    }
    /// The bytes of `range` in file `file`.
    pub fn bytes(&self, file: usize, range: Range<usize>) -> &[u8] {
        self.files.get(file).and_then(|f| f.bytes.get(range)).unwrap_or(&[])
    }
    /// The checkpoint as a resocket scenario, and the notes on what it cannot say or what CRIU
    /// did not record. See [`map`].
    pub fn to_scenario(&self) -> (crate::scenario::Scenario, Vec<Note>) {
        map::to_scenario(self)
    }
    /// Each decoded image as crit would print it (`crit decode`), keyed by file name.
    pub fn crit_json(&self) -> serde_json::Value {
        crit::to_json(self)
    }
}
