//! One image file of a checkpoint: its name, kind (by magic), framing and entries, and the
//! location ([`Loc`]) every diagnostic and model fact carries.

use super::{frame, load, rtnl, schema, walk, Magic};
use std::ops::Range;

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
