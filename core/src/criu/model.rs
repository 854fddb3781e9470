//! The checkpoint's model: tasks, fd tables, sockets, queues, TCP streams and network
//! namespaces, joined across images by [`super::check`].

use super::{check, ifaddr, pb, route, Loc};
use std::ops::Range;

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
