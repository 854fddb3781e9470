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
//! * [`rtnl`] — the netlink dumps CRIU saves with iproute2 (not protobuf): [`ifaddr`]
//!   (`ifaddr-N.img`, `ip addr save`) and [`route`] (`route-N.img`, `route6-N.img`,
//!   `ip route save`); [`Opened::host`] makes the namespace's addresses and routes the
//!   simulator's host.
//!
//! The caller does the I/O: [`open`] takes the `.img` files of a directory as bytes.

pub mod check;
pub mod crit;
pub mod frame;
pub mod ifaddr;
pub mod load;
pub mod map;
pub mod pb;
pub mod route;
pub mod rtnl;
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
    /// `netdev-N.img` (N: a net_ns_id)
    Netdev(u32),
    /// `ifaddr-N.img` (N: a net_ns_id): `ip addr save` output, not a CRIU-framed image
    Ifaddr(u32),
    /// `route-N.img` (N: a net_ns_id): `ip route save` output (IPv4), not a CRIU-framed image
    Route(u32),
    /// `route6-N.img` (N: a net_ns_id): `ip -6 route save` output
    Route6(u32),
    /// `netns-N.img` (N: a net_ns_id): the namespace's sysctls, ids and external key
    Netns(u32),
    /// `reg-files.img` (legacy layout)
    RegFiles,
    /// `pipes.img` (legacy layout)
    Pipes,
    /// An image CRIU writes raw (`RAW_IMAGE_MAGIC`: no IMG_COMMON, no magic) that resocket
    /// does not read: `tmpfs-N.tar.gz.img` and `tmpfs-dev-N.tar.gz.img` (a tmpfs's files, a
    /// gzipped tar), `rule-N.img`, `iptables-N.img`, `ip6tables-N.img`, `nftables-N.img`.
    /// Listed with no magic: their first bytes are the data's, not a CRIU magic.
    Raw,
    /// Any other name: listed, not read.
    Other,
}

impl ImageKind {
    /// The kind a file name stands for.
    pub fn of_name(name: &str) -> ImageKind {
        let Some(stem) = name.strip_suffix(".img") else { return ImageKind::Other };
        let raw = |p: &str, suffix: &str| {
            stem.strip_prefix(p).and_then(|n| n.strip_suffix(suffix)).is_some_and(|n| n.parse::<u32>().is_ok())
        };
        if raw("tmpfs-", ".tar.gz")
            || raw("tmpfs-dev-", ".tar.gz")
            || ["rule-", "iptables-", "ip6tables-", "nftables-"].iter().any(|p| raw(p, ""))
        {
            return ImageKind::Raw;
        }
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
        } else if let Some(n) = num("ifaddr-", 10) {
            ImageKind::Ifaddr(n)
        } else if let Some(n) = num("route-", 10) {
            ImageKind::Route(n)
        } else if let Some(n) = num("route6-", 10) {
            ImageKind::Route6(n)
        } else if let Some(n) = num("netns-", 10) {
            ImageKind::Netns(n)
        } else {
            ImageKind::Other
        }
    }

    /// The CRIU magic an image of this kind carries (none for the iproute2 dumps, which hold
    /// their tool's magic ([`ImageKind::dump`]), and for names resocket does not read).
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
            ImageKind::Netns(_) => Magic::Netns,
            ImageKind::RegFiles => Magic::RegFiles,
            ImageKind::Pipes => Magic::Pipes,
            ImageKind::Ifaddr(_) | ImageKind::Route(_) | ImageKind::Route6(_) | ImageKind::Raw | ImageKind::Other => {
                return None
            }
        })
    }

    /// The iproute2 dump an image of this kind holds (`ifaddr-N.img`, `route-N.img`,
    /// `route6-N.img`: netlink messages, not CRIU-framed protobuf).
    pub fn dump(self) -> Option<rtnl::Dump> {
        match self {
            ImageKind::Ifaddr(_) => Some(rtnl::Dump::Addr),
            ImageKind::Route(_) | ImageKind::Route6(_) => Some(rtnl::Dump::Route),
            _ => None,
        }
    }
}

/// Where something is in a checkpoint: a file (index into [`Opened::files`]) and an entry.
/// Kept as `u32`s (a checkpoint holds one per socket and fd); [`Loc::new`] saturates, which
/// only a file of more than 4 billion entries (16 GiB) could reach.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Loc {
    /// Index into [`Opened::files`].
    pub file: u32,
    /// Entry index in that file.
    pub entry: u32,
}

impl Loc {
    /// The location of entry `entry` of file `file`.
    pub fn new(file: usize, entry: usize) -> Loc {
        let n = |v: usize| u32::try_from(v).unwrap_or(u32::MAX);
        Loc { file: n(file), entry: n(entry) }
    }
    /// The file index, for [`Opened::files`].
    pub fn file(self) -> usize {
        self.file as usize
    }
    /// The entry index, for [`OpenedFile::entry`].
    pub fn entry(self) -> usize {
        self.entry as usize
    }
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
    /// Where each entry framed before the first framing error starts (its size field; none
    /// for images not read). The rest of an [`EntryView`] is read again from the bytes, which
    /// the framing checked: see [`OpenedFile::entry`]. As `u32`s (a checkpoint holds one per
    /// socket and fd): entries are framed up to offset 4 GiB ([`OpenedFile::push_start`]).
    starts: Vec<u32>,
    /// The bytes.
    pub bytes: Vec<u8>,
    /// True when resocket decodes this image's entries (its schema is known).
    pub decoded: bool,
}

impl OpenedFile {
    /// An image file as found, before its entries are framed.
    pub(crate) fn new(name: String, kind: ImageKind, bytes: Vec<u8>) -> OpenedFile {
        OpenedFile { name, kind, first_magic: None, magic: None, starts: Vec::new(), bytes, decoded: false }
    }
    /// How many entries were framed.
    pub fn entry_count(&self) -> usize {
        self.starts.len()
    }
    /// Entry `index`: its size field, payload and extra, in file offsets. In the iproute2
    /// dumps (`ifaddr-N.img`, `route-N.img`, `route6-N.img`) an entry is a netlink message: its
    /// `nlmsghdr` (whose `nlmsg_len` counts itself) stands where the size field is, its payload
    /// the `ifaddrmsg` or `rtmsg` and attributes after it.
    pub fn entry(&self, index: usize) -> Option<EntryView> {
        let start = *self.starts.get(index)? as usize;
        if self.kind.dump().is_some() {
            let len = rtnl::message_len_at(&self.bytes, start)?;
            let range = start..start + len;
            return Some(EntryView { index, payload: start + rtnl::NLMSG_HDRLEN..range.end, range, extra: None });
        }
        let size = self.bytes.get(start..start.checked_add(4)?)?;
        let size = u32::from_le_bytes([size[0], size[1], size[2], size[3]]) as usize;
        let payload = start + 4..(start + 4).checked_add(size)?;
        let extra_len = extra_len_of(self.known_magic());
        let extra = match extra_len {
            Some(f) => {
                let n = usize::try_from(f(self.bytes.get(payload.clone())?)).ok()?;
                Some(payload.end..payload.end.checked_add(n)?)
            }
            None => None,
        };
        let end = extra.as_ref().map_or(payload.end, |x| x.end);
        (end <= self.bytes.len()).then_some(EntryView { index, range: start..end, payload, extra })
    }
    /// Every framed entry, in file order.
    pub fn entries(&self) -> impl Iterator<Item = EntryView> + '_ {
        (0..self.starts.len()).filter_map(|i| self.entry(i))
    }
    /// The index of the entry whose bytes hold offset `at`, if any.
    pub fn entry_at(&self, at: usize) -> Option<usize> {
        let i = self.starts.partition_point(|&s| s as usize <= at).checked_sub(1)?;
        self.entry(i).filter(|e| e.range.contains(&at)).map(|e| e.index)
    }
    /// Where each framed entry starts (its size field), in order: the framing as
    /// [`OpenedFile::from_framing`] takes it back (the browser's worker posts it this way).
    pub fn starts(&self) -> &[u32] {
        &self.starts
    }
    /// A file rebuilt from its bytes and the [`starts`](OpenedFile::starts) of its entries,
    /// checked: the starts ascend, and each entry lies inside the file and ends at or before the
    /// next one starts.
    pub fn from_framing(
        name: String,
        first_magic: Option<u32>,
        magic: Option<u32>,
        decoded: bool,
        bytes: Vec<u8>,
        starts: Vec<u32>,
    ) -> Result<OpenedFile, String> {
        let kind = ImageKind::of_name(&name);
        let f = OpenedFile { name, kind, first_magic, magic, starts, bytes, decoded };
        let mut end = 0;
        for (i, start) in f.starts.iter().map(|&s| s as usize).enumerate() {
            let e = f.entry(i).filter(|e| start >= end && e.range.end <= f.bytes.len());
            let Some(e) = e else {
                return Err(format!("entry #{i} at offset {start} does not fit a file of {} bytes", f.bytes.len()));
            };
            end = e.range.end;
        }
        Ok(f)
    }
    /// Note where the next entry starts: `false` (nothing noted) for an offset past 4 GiB,
    /// where the caller stops framing with a diagnostic.
    pub(crate) fn push_start(&mut self, start: usize) -> bool {
        match u32::try_from(start) {
            Ok(s) => {
                self.starts.push(s);
                true
            }
            Err(_) => false,
        }
    }
    pub(crate) fn reserve_entries(&mut self, n: usize) {
        self.starts.reserve_exact(n);
    }
    /// The known magic, if the value is one CRIU defines.
    pub fn known_magic(&self) -> Option<Magic> {
        self.magic.and_then(Magic::from_value)
    }
    /// crit's name of the magic, or its value in hex (`IP_ADDR_SAVE` for `ifaddr-N.img`'s,
    /// `IP_ROUTE_SAVE` for `route-N.img`'s and `route6-N.img`'s; `RAW` for an image CRIU
    /// writes without a magic, [`ImageKind::Raw`]).
    pub fn magic_name(&self) -> String {
        if self.kind == ImageKind::Raw {
            return "RAW".into();
        }
        match (self.known_magic(), self.magic, self.kind.dump()) {
            (Some(m), _, _) => m.crit_name().to_string(),
            (None, Some(v), Some(d)) if v == d.magic() => d.magic_name().into(),
            (None, Some(v), _) => format!("{v:#x}"),
            (None, None, _) => "none".into(),
        }
    }
}

/// How the extra blob after an entry is sized, for the images that have one (sk-queues,
/// tcp-stream).
pub(crate) fn extra_len_of(magic: Option<Magic>) -> Option<frame::ExtraLen> {
    match magic? {
        Magic::SkQueues => Some(load::sk_queues_extra),
        Magic::TcpStream => Some(load::tcp_stream_extra),
        _ => None,
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
        let e = self.entry(index)?;
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
    /// `ids-PID.img`: the fd table (`fdinfo-N.img`) and network namespace ids. Its fds:
    /// [`Checkpoint::task_fds`].
    pub files_id: Option<u32>,
    pub net_ns_id: Option<u32>,
    /// The pstree entry.
    pub at: Loc,
}

/// One fd table: the entries of an `fdinfo-N.img`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FdTable {
    /// N, the `files_id` of the tasks that hold it.
    pub files_id: u32,
    /// Its image file (index into [`Opened::files`]).
    pub file: u32,
    /// Its fds, entry order: fd `k` is entry `k` of the file.
    pub fds: Vec<Fd>,
}

impl FdTable {
    /// Where fd `k` of the table is.
    pub fn loc(&self, k: usize) -> Loc {
        Loc::new(self.file as usize, k)
    }
}

/// One fd of a task (an `fdinfo-N.img` entry): what the checks across images use (12 bytes; a
/// checkpoint holds one per fd). Its FD flags (`FD_CLOEXEC`) are [`Opened::fd_flags`], read
/// again from the entry's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fd {
    /// The fd number.
    pub fd: u32,
    /// The file id (joins files.img).
    pub id: u32,
    /// `fd_types` value.
    pub ty: i32,
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

/// An AF_UNIX socket (`FileEntry.usk` or a unixsk.img entry): the fields the checks across
/// images use; the whole entry is [`Opened::unix_entry`], decoded again from its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UnixSock {
    /// Its file id (`FileEntry.id`; the entry's own `id` in unixsk.img).
    pub id: u32,
    /// `ino`, `peer` (0: none), `type` and `state` of the entry.
    pub ino: u32,
    pub peer: u32,
    pub ty: u32,
    pub state: u32,
    /// `uflags` has `USK_EXTERN` (the socket's peer is outside the dump, or this is the entry
    /// CRIU writes for that outside peer).
    pub external: bool,
    /// `shutdown` is BOTH (3).
    pub shut_both: bool,
    /// Where it is.
    pub at: Loc,
}

impl UnixSock {
    /// The socket's fields of a decoded entry.
    pub fn of_entry(id: u32, sk: &pb::UnixSkEntry, at: Loc) -> UnixSock {
        UnixSock {
            id,
            ino: sk.ino,
            peer: sk.peer,
            ty: sk.r#type,
            state: sk.state,
            external: sk.uflags & check::USK_EXTERN != 0,
            shut_both: sk.shutdown == Some(3),
            at,
        }
    }
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

/// A network device of a namespace (a `netdev-N.img` entry).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NetDev {
    /// The namespace (N of the file name: a task's `net_ns_id`).
    pub ns: u32,
    /// Its name, index and `IFF_*` flags.
    pub name: String,
    pub ifindex: u32,
    pub flags: u32,
    /// Its kind (`nd_type`).
    #[serde(rename = "type")]
    pub kind: NdType,
    /// Its MTU.
    pub mtu: u32,
    /// Its link-layer address (`address`: 6 bytes for Ethernet), if saved.
    pub address: Option<Vec<u8>>,
    /// Where it is.
    #[serde(skip)]
    pub at: Loc,
}

impl NetDev {
    /// `IFF_UP`.
    pub fn up(&self) -> bool {
        self.flags & ifaddr::IFF_UP != 0
    }
    /// The link-layer address as `ip link` prints it (`02:00:00:00:00:05`).
    pub fn address_text(&self) -> Option<String> {
        let a = self.address.as_ref()?;
        Some(a.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":"))
    }
}

/// `enum nd_type` (netdev.proto): what kind of device CRIU saved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NdType {
    Loopback,
    Veth,
    Tun,
    /// A device CRIU does not restore itself (`--external`, a plugin's).
    Extlink,
    Venet,
    Bridge,
    Macvlan,
    Sit,
    /// A value this version does not know (kept).
    Other(i32),
}

impl NdType {
    /// The type of an `nd_type` value.
    pub fn of(v: i32) -> NdType {
        match v {
            1 => NdType::Loopback,
            2 => NdType::Veth,
            3 => NdType::Tun,
            4 => NdType::Extlink,
            5 => NdType::Venet,
            6 => NdType::Bridge,
            7 => NdType::Macvlan,
            8 => NdType::Sit,
            v => NdType::Other(v),
        }
    }
    /// crit's name of it, lower case (`veth`; `other` for a value not known).
    pub fn word(self) -> &'static str {
        match self {
            NdType::Loopback => "loopback",
            NdType::Veth => "veth",
            NdType::Tun => "tun",
            NdType::Extlink => "extlink",
            NdType::Venet => "venet",
            NdType::Bridge => "bridge",
            NdType::Macvlan => "macvlan",
            NdType::Sit => "sit",
            NdType::Other(_) => "other",
        }
    }
}

/// A route of a namespace (a `route-N.img` or `route6-N.img` message).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NsRoute {
    /// The namespace (N of the file name).
    pub ns: u32,
    /// The route.
    #[serde(flatten)]
    pub route: route::Route,
    /// Where it is.
    #[serde(skip)]
    pub at: Loc,
}

/// A network namespace's own image (`netns-N.img`, `NetnsEntry`): what a restore is told by it.
/// Its sysctl arrays (`def_conf4`, `all_conf6`, `unix_conf`, …) are shown as the entry's fields.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NetnsInfo {
    /// The namespace (N of the file name).
    pub ns: u32,
    /// `ext_key`: the namespace was external at dump (`--external net[INO]:KEY`): CRIU saved
    /// none of its devices, addresses or routes, and its restore joins the namespace given for
    /// this key (`--inherit-fd`).
    pub ext_key: Option<String>,
    /// `nsids`: the ids this namespace gives other namespaces (`target_ns_id`, `netnsid_value`).
    pub nsids: Vec<(u32, i32)>,
    /// Where it is.
    #[serde(skip)]
    pub at: Loc,
}

/// An interface address of a namespace (an `ifaddr-N.img` message).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct NsAddr {
    /// The namespace (N of the file name).
    pub ns: u32,
    /// The address.
    #[serde(flatten)]
    pub addr: ifaddr::IfAddr,
    /// Where it is.
    #[serde(skip)]
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
    /// The fd tables (fdinfo-N.img), file order.
    pub fd_tables: Vec<FdTable>,
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
    /// Network devices (netdev-N.img), file order.
    pub netdevs: Vec<NetDev>,
    /// Interface addresses (ifaddr-N.img), file order.
    pub ifaddrs: Vec<NsAddr>,
    /// Routes (route-N.img, route6-N.img), file order.
    pub routes: Vec<NsRoute>,
    /// Network namespaces (netns-N.img), file order.
    pub netns: Vec<NetnsInfo>,
    /// True for the legacy layout (unixsk.img / inetsk.img instead of files.img sockets).
    pub legacy_layout: bool,
}

impl Checkpoint {
    /// The fds of task `t`: those of every fd table with its `files_id`, file order.
    pub fn task_fds<'a>(&'a self, t: &Task) -> impl Iterator<Item = (Loc, &'a Fd)> + 'a {
        let fid = t.files_id;
        self.fd_tables
            .iter()
            .filter(move |tb| Some(tb.files_id) == fid)
            .flat_map(|tb| tb.fds.iter().enumerate().map(move |(k, fd)| (tb.loc(k), fd)))
    }
    /// Every fd of every table, with its table's files_id and where it is, file order.
    pub fn all_fds(&self) -> impl Iterator<Item = (u32, Loc, &Fd)> + '_ {
        self.fd_tables.iter().flat_map(|tb| tb.fds.iter().enumerate().map(move |(k, fd)| (tb.files_id, tb.loc(k), fd)))
    }
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
        self.files.get(loc.file())
    }
    /// The payload of the entry at `loc`.
    pub fn payload(&self, loc: Loc) -> Option<&[u8]> {
        let f = self.file(loc)?;
        f.bytes.get(f.entry(loc.entry())?.payload)
    }
    /// The whole entry of unix socket `s`, decoded again from its bytes (`None` only if they
    /// do not decode, which [`open`] would have reported).
    pub fn unix_entry(&self, s: &UnixSock) -> Option<pb::UnixSkEntry> {
        use prost::Message;
        let p = self.payload(s.at)?;
        match self.file(s.at)?.kind {
            ImageKind::Unixsk => pb::UnixSkEntry::decode(p).ok(),
            _ => pb::FileEntry::decode(p).ok()?.usk,
        }
    }
    /// The FD flags (`FD_CLOEXEC`) of the fd at `loc` (an `fdinfo-N.img` entry), decoded again
    /// from its bytes (`None` only if they do not decode, which [`open`] would have reported).
    pub fn fd_flags(&self, loc: Loc) -> Option<u32> {
        use prost::Message;
        pb::FdinfoEntry::decode(self.payload(loc)?).ok().map(|e| e.flags)
    }
    /// The field path prefix of unix socket `s`'s entry: `usk.` in files.img, none in the
    /// legacy unixsk.img.
    pub fn unix_prefix(&self, s: &UnixSock) -> &'static str {
        match self.file(s.at).map(|f| f.kind) {
            Some(ImageKind::Unixsk) => "",
            _ => "usk.",
        }
    }
    /// The bytes of `range` in file `file`.
    pub fn bytes(&self, file: usize, range: Range<usize>) -> &[u8] {
        self.files.get(file).and_then(|f| f.bytes.get(range)).unwrap_or(&[])
    }
    /// The network namespace whose addresses CRIU saved (an `ifaddr-N.img`) and that the
    /// sockets are restored for: the first task's `net_ns_id`, or the only namespace with an
    /// `ifaddr-N.img` when the tasks do not name one that has it.
    pub fn host_ns(&self) -> Option<u32> {
        let saved: Vec<u32> = self
            .files
            .iter()
            .filter_map(|f| match f.kind {
                ImageKind::Ifaddr(n) => Some(n),
                _ => None,
            })
            .collect();
        match self.checkpoint.tasks.first().and_then(|t| t.net_ns_id) {
            Some(n) if saved.contains(&n) => Some(n),
            _ => match saved.as_slice() {
                [n] => Some(*n),
                _ => None,
            },
        }
    }

    /// The saved namespace the checkpoint is planned for, with its host ([`Opened::host_ns`],
    /// [`Opened::host`]); `None` without an `ifaddr-N.img`.
    pub fn saved_host(&self) -> Option<SavedHost> {
        Some(SavedHost { ns: self.host_ns()?, host: self.host()? })
    }

    /// The addresses of that namespace as the simulator's host ([`crate::sim::HostAddrs`]), to
    /// plan and simulate for the host the checkpoint was taken on (as `criu restore` rebuilds
    /// it): its `ifaddr-N.img` addresses, each on its interface of `netdev-N.img` (up, loopback:
    /// the device's `IFF_*` flags; an interface without a netdev entry counts as up, and as
    /// loopback when the address is a loopback one). `None` without an `ifaddr-N.img`.
    pub fn host(&self) -> Option<crate::sim::HostAddrs> {
        let ns = self.host_ns()?;
        let ck = &self.checkpoint;
        let addrs = ck.ifaddrs.iter().filter(|a| a.ns == ns).filter_map(|a| {
            let dev = ck.netdevs.iter().find(|d| d.ns == ns && d.ifindex == a.addr.ifindex);
            let flags = match (dev, a.addr.own()) {
                (Some(d), _) => d.flags,
                (None, Some(ip)) if ip.is_loopback() => ifaddr::IFF_UP | ifaddr::IFF_LOOPBACK,
                (None, _) => ifaddr::IFF_UP,
            };
            a.addr.host_addr(flags)
        });
        let mut host = crate::sim::HostAddrs::from_addrs(addrs);
        host.routes = self.host_routes(ns);
        Some(host)
    }

    /// The main-table routes of namespace `ns` as the host model holds them: IPv4's from
    /// `route-N.img`, IPv6's from `route6-N.img`, each only if its file is there and read
    /// without error (a route list cut short would make destinations unreachable that are not).
    pub fn host_routes(&self, ns: u32) -> crate::sim::Routes {
        let table = |kind: ImageKind, v4: bool| -> Option<Vec<crate::sim::HostRoute>> {
            let f = self.files.iter().find(|f| f.kind == kind && f.decoded)?;
            if self.diagnostics.iter().any(|d| d.is_error() && d.file.as_deref() == Some(f.name.as_str())) {
                return None;
            }
            let routes = self.checkpoint.routes.iter().filter(|r| r.ns == ns && r.route.table == route::RT_TABLE_MAIN);
            Some(routes.filter_map(|r| r.route.host_route()).filter(|h| h.dst.is_ipv4() == v4).collect())
        };
        crate::sim::Routes { v4: table(ImageKind::Route(ns), true), v6: table(ImageKind::Route6(ns), false) }
    }

    /// The route of namespace `ns` that takes packets to `ip` (the longest prefix of the main
    /// table), if its routes were saved and one covers it; `None` also when not saved.
    pub fn route_to(&self, ns: u32, ip: std::net::IpAddr) -> Option<&NsRoute> {
        let h = match self.host_routes(ns).lookup(ip) {
            crate::sim::RouteLookup::Via(h) => h,
            _ => return None,
        };
        self.checkpoint.routes.iter().find(|r| r.ns == ns && r.route.host_route() == Some(h))
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

/// The network namespace a CRIU checkpoint saved, as the host a restore is planned for
/// ([`Opened::saved_host`]): the CLI and the inspector both plan for it by default.
#[derive(Debug, Clone, PartialEq, Eq, crate::codec::Encode, crate::codec::Decode)]
pub struct SavedHost {
    /// The namespace (N of `ifaddr-N.img`).
    pub ns: u32,
    /// Its addresses and, where saved, routes.
    pub host: crate::sim::HostAddrs,
}

/// "the checkpoint's network namespace 2 (ifaddr-2.img): 10.0.0.5/24, …; 2 routes
/// (route-2.img), 2 routes (route6-2.img)".
impl std::fmt::Display for SavedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = self.ns;
        write!(f, "the checkpoint's network namespace {ns} (ifaddr-{ns}.img): ")?;
        if self.host.addrs.is_empty() {
            f.write_str("no addresses")?;
        }
        for (k, a) in self.host.addrs.iter().enumerate() {
            write!(f, "{}{}/{}", if k == 0 { "" } else { ", " }, a.ip, a.prefix)?;
        }
        let routes = [(&self.host.routes.v4, "route"), (&self.host.routes.v6, "route6")];
        for (k, (r, file)) in routes.into_iter().filter_map(|(r, file)| Some((r.as_ref()?, file))).enumerate() {
            write!(f, "{}{} routes ({file}-{ns}.img)", if k == 0 { "; " } else { ", " }, r.len())?;
        }
        Ok(())
    }
}
