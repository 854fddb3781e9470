//! The CRIU protobuf messages resocket reads, as prost derives written from CRIU's
//! `images/*.proto` field numbers and types (proto2; criu 3.17 and later). No protoc, no
//! build script. prost skips fields it does not know: [`super::walk`] walks the same payloads
//! and reports those (field numbers and bytes), and gives each known field its byte range.
//!
//! Required fields are plain values (prost decodes a missing one as its default; the walker
//! reports it as `criu-missing-field`), optional ones are `Option`s, repeated ones `Vec`s.

#![allow(missing_docs)]

use prost::{Enumeration, Message};

/// `enum fd_types` (fdinfo.proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Enumeration)]
#[repr(i32)]
pub enum FdTypes {
    Und = 0,
    Reg = 1,
    Pipe = 2,
    Fifo = 3,
    Inetsk = 4,
    Unixsk = 5,
    Eventfd = 6,
    Eventpoll = 7,
    Inotify = 8,
    Signalfd = 9,
    Packetsk = 10,
    Tty = 11,
    Fanotify = 12,
    Netlinksk = 13,
    Ns = 14,
    Tunf = 15,
    Ext = 16,
    Timerfd = 17,
    Memfd = 18,
    Bpfmap = 19,
    Pidfd = 20,
    CtlTty = 65534,
    AutofsPipe = 65535,
}

/// The crit name of an `fd_types` value (`"UNIXSK"`), or `None` outside the enum.
pub fn fd_type_name(v: i32) -> Option<&'static str> {
    super::schema::FD_TYPES.iter().find(|(n, _)| *n == v).map(|(_, s)| *s)
}

/// `enum sk_shutdown` (sk-opts.proto).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Enumeration)]
#[repr(i32)]
pub enum SkShutdown {
    None = 0,
    Read = 1,
    Write = 2,
    Both = 3,
}

#[derive(Clone, PartialEq, Message)]
pub struct TaskKobjIdsEntry {
    #[prost(uint32, required, tag = "1")]
    pub vm_id: u32,
    #[prost(uint32, required, tag = "2")]
    pub files_id: u32,
    #[prost(uint32, required, tag = "3")]
    pub fs_id: u32,
    #[prost(uint32, required, tag = "4")]
    pub sighand_id: u32,
    #[prost(uint32, optional, tag = "5")]
    pub pid_ns_id: Option<u32>,
    #[prost(uint32, optional, tag = "6")]
    pub net_ns_id: Option<u32>,
    #[prost(uint32, optional, tag = "7")]
    pub ipc_ns_id: Option<u32>,
    #[prost(uint32, optional, tag = "8")]
    pub uts_ns_id: Option<u32>,
    #[prost(uint32, optional, tag = "9")]
    pub mnt_ns_id: Option<u32>,
    #[prost(uint32, optional, tag = "10")]
    pub user_ns_id: Option<u32>,
    #[prost(uint32, optional, tag = "11")]
    pub cgroup_ns_id: Option<u32>,
    #[prost(uint32, optional, tag = "12")]
    pub time_ns_id: Option<u32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct InventoryEntry {
    #[prost(uint32, required, tag = "1")]
    pub img_version: u32,
    #[prost(bool, optional, tag = "2")]
    pub fdinfo_per_id: Option<bool>,
    #[prost(message, optional, tag = "3")]
    pub root_ids: Option<TaskKobjIdsEntry>,
    #[prost(bool, optional, tag = "4")]
    pub ns_per_id: Option<bool>,
    #[prost(uint32, optional, tag = "5")]
    pub root_cg_set: Option<u32>,
    #[prost(int32, optional, tag = "6")]
    pub lsmtype: Option<i32>,
    #[prost(uint64, optional, tag = "8")]
    pub dump_uptime: Option<u64>,
    #[prost(uint32, optional, tag = "9")]
    pub pre_dump_mode: Option<u32>,
    #[prost(bool, optional, tag = "10")]
    pub tcp_close: Option<bool>,
    #[prost(uint32, optional, tag = "11")]
    pub network_lock_method: Option<u32>,
    #[prost(string, optional, tag = "13")]
    pub dump_criu_run_id: Option<String>,
    #[prost(bool, optional, tag = "14")]
    pub allow_uprobes: Option<bool>,
}

#[derive(Clone, PartialEq, Message)]
pub struct PstreeEntry {
    #[prost(uint32, required, tag = "1")]
    pub pid: u32,
    #[prost(uint32, required, tag = "2")]
    pub ppid: u32,
    #[prost(uint32, required, tag = "3")]
    pub pgid: u32,
    #[prost(uint32, required, tag = "4")]
    pub sid: u32,
    #[prost(uint32, repeated, packed = "false", tag = "5")]
    pub threads: Vec<u32>,
}

/// `task_core_entry`: the fields resocket uses (the rest are walked, not decoded).
#[derive(Clone, PartialEq, Message)]
pub struct TaskCoreEntry {
    #[prost(uint32, required, tag = "1")]
    pub task_state: u32,
    #[prost(uint32, required, tag = "2")]
    pub exit_code: u32,
    #[prost(uint32, required, tag = "3")]
    pub personality: u32,
    #[prost(uint32, required, tag = "4")]
    pub flags: u32,
    #[prost(uint64, required, tag = "5")]
    pub blk_sigset: u64,
    #[prost(string, required, tag = "6")]
    pub comm: String,
}

/// `core_entry`: the architecture and the task core (thread state is not read).
#[derive(Clone, PartialEq, Message)]
pub struct CoreEntry {
    #[prost(int32, required, tag = "1")]
    pub mtype: i32,
    #[prost(message, optional, tag = "3")]
    pub tc: Option<TaskCoreEntry>,
    #[prost(message, optional, tag = "4")]
    pub ids: Option<TaskKobjIdsEntry>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FdinfoEntry {
    #[prost(uint32, required, tag = "1")]
    pub id: u32,
    #[prost(uint32, required, tag = "2")]
    pub flags: u32,
    #[prost(enumeration = "FdTypes", required, tag = "3")]
    pub r#type: i32,
    #[prost(uint32, required, tag = "4")]
    pub fd: u32,
    #[prost(string, optional, tag = "5")]
    pub xattr_security_selinux: Option<String>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FownEntry {
    #[prost(uint32, required, tag = "1")]
    pub uid: u32,
    #[prost(uint32, required, tag = "2")]
    pub euid: u32,
    #[prost(uint32, required, tag = "3")]
    pub signum: u32,
    #[prost(uint32, required, tag = "4")]
    pub pid_type: u32,
    #[prost(uint32, required, tag = "5")]
    pub pid: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct SkOptsEntry {
    #[prost(uint32, required, tag = "1")]
    pub so_sndbuf: u32,
    #[prost(uint32, required, tag = "2")]
    pub so_rcvbuf: u32,
    #[prost(uint64, required, tag = "3")]
    pub so_snd_tmo_sec: u64,
    #[prost(uint64, required, tag = "4")]
    pub so_snd_tmo_usec: u64,
    #[prost(uint64, required, tag = "5")]
    pub so_rcv_tmo_sec: u64,
    #[prost(uint64, required, tag = "6")]
    pub so_rcv_tmo_usec: u64,
    #[prost(bool, optional, tag = "7")]
    pub reuseaddr: Option<bool>,
    #[prost(uint32, optional, tag = "8")]
    pub so_priority: Option<u32>,
    #[prost(uint32, optional, tag = "9")]
    pub so_rcvlowat: Option<u32>,
    #[prost(uint32, optional, tag = "10")]
    pub so_mark: Option<u32>,
    #[prost(bool, optional, tag = "11")]
    pub so_passcred: Option<bool>,
    #[prost(bool, optional, tag = "12")]
    pub so_passsec: Option<bool>,
    #[prost(bool, optional, tag = "13")]
    pub so_dontroute: Option<bool>,
    #[prost(bool, optional, tag = "14")]
    pub so_no_check: Option<bool>,
    #[prost(string, optional, tag = "15")]
    pub so_bound_dev: Option<String>,
    #[prost(fixed64, repeated, packed = "false", tag = "16")]
    pub so_filter: Vec<u64>,
    #[prost(bool, optional, tag = "17")]
    pub so_reuseport: Option<bool>,
    #[prost(bool, optional, tag = "18")]
    pub so_broadcast: Option<bool>,
    #[prost(bool, optional, tag = "19")]
    pub so_keepalive: Option<bool>,
    #[prost(uint32, optional, tag = "20")]
    pub tcp_keepcnt: Option<u32>,
    #[prost(uint32, optional, tag = "21")]
    pub tcp_keepidle: Option<u32>,
    #[prost(uint32, optional, tag = "22")]
    pub tcp_keepintvl: Option<u32>,
    #[prost(uint32, optional, tag = "23")]
    pub so_oobinline: Option<u32>,
    #[prost(uint32, optional, tag = "24")]
    pub so_linger: Option<u32>,
    #[prost(uint32, optional, tag = "25")]
    pub so_buf_lock: Option<u32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct FilePermsEntry {
    #[prost(uint32, required, tag = "1")]
    pub mode: u32,
    #[prost(uint32, required, tag = "2")]
    pub uid: u32,
    #[prost(uint32, required, tag = "3")]
    pub gid: u32,
}

#[derive(Clone, PartialEq, Message)]
pub struct UnixSkEntry {
    #[prost(uint32, required, tag = "1")]
    pub id: u32,
    #[prost(uint32, required, tag = "2")]
    pub ino: u32,
    #[prost(uint32, required, tag = "3")]
    pub r#type: u32,
    #[prost(uint32, required, tag = "4")]
    pub state: u32,
    #[prost(uint32, required, tag = "5")]
    pub flags: u32,
    #[prost(uint32, required, tag = "6")]
    pub uflags: u32,
    #[prost(uint32, required, tag = "7")]
    pub backlog: u32,
    #[prost(uint32, required, tag = "8")]
    pub peer: u32,
    #[prost(message, required, tag = "9")]
    pub fown: FownEntry,
    #[prost(message, required, tag = "10")]
    pub opts: SkOptsEntry,
    #[prost(bytes = "vec", required, tag = "11")]
    pub name: Vec<u8>,
    #[prost(enumeration = "SkShutdown", optional, tag = "12")]
    pub shutdown: Option<i32>,
    #[prost(message, optional, tag = "13")]
    pub file_perms: Option<FilePermsEntry>,
    #[prost(string, optional, tag = "14")]
    pub name_dir: Option<String>,
    #[prost(bool, optional, tag = "15")]
    pub deleted: Option<bool>,
    #[prost(uint32, optional, tag = "16")]
    pub ns_id: Option<u32>,
    #[prost(sint32, optional, tag = "17")]
    pub mnt_id: Option<i32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct IpOptsRawEntry {
    #[prost(bool, optional, tag = "1")]
    pub hdrincl: Option<bool>,
    #[prost(bool, optional, tag = "2")]
    pub nodefrag: Option<bool>,
    #[prost(bool, optional, tag = "3")]
    pub checksum: Option<bool>,
    #[prost(uint32, repeated, packed = "false", tag = "4")]
    pub icmpv_filter: Vec<u32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct IpOptsEntry {
    #[prost(bool, optional, tag = "1")]
    pub freebind: Option<bool>,
    #[prost(message, optional, tag = "4")]
    pub raw: Option<IpOptsRawEntry>,
    #[prost(bool, optional, tag = "5")]
    pub pktinfo: Option<bool>,
    #[prost(uint32, optional, tag = "6")]
    pub tos: Option<u32>,
    #[prost(uint32, optional, tag = "7")]
    pub ttl: Option<u32>,
}

/// `tcp_opts_entry` (CRIU ≥ 4.0: `inet_sk_entry.tcp_opts`, every TCP socket; tcp-stream's
/// `cork`/`nodelay` only for established ones).
#[derive(Clone, PartialEq, Message)]
pub struct TcpOptsEntry {
    #[prost(bool, optional, tag = "1")]
    pub cork: Option<bool>,
    #[prost(bool, optional, tag = "2")]
    pub nodelay: Option<bool>,
    #[prost(uint32, optional, tag = "3")]
    pub keepcnt: Option<u32>,
    #[prost(uint32, optional, tag = "4")]
    pub keepidle: Option<u32>,
    #[prost(uint32, optional, tag = "5")]
    pub keepintvl: Option<u32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct InetSkEntry {
    #[prost(uint32, required, tag = "1")]
    pub id: u32,
    #[prost(uint32, required, tag = "2")]
    pub ino: u32,
    #[prost(uint32, required, tag = "3")]
    pub family: u32,
    #[prost(uint32, required, tag = "4")]
    pub r#type: u32,
    #[prost(uint32, required, tag = "5")]
    pub proto: u32,
    #[prost(uint32, required, tag = "6")]
    pub state: u32,
    #[prost(uint32, required, tag = "7")]
    pub src_port: u32,
    #[prost(uint32, required, tag = "8")]
    pub dst_port: u32,
    #[prost(uint32, required, tag = "9")]
    pub flags: u32,
    #[prost(uint32, required, tag = "10")]
    pub backlog: u32,
    #[prost(uint32, repeated, packed = "false", tag = "11")]
    pub src_addr: Vec<u32>,
    #[prost(uint32, repeated, packed = "false", tag = "12")]
    pub dst_addr: Vec<u32>,
    #[prost(message, required, tag = "13")]
    pub fown: FownEntry,
    #[prost(message, required, tag = "14")]
    pub opts: SkOptsEntry,
    #[prost(bool, optional, tag = "15")]
    pub v6only: Option<bool>,
    #[prost(message, optional, tag = "16")]
    pub ip_opts: Option<IpOptsEntry>,
    #[prost(string, optional, tag = "17")]
    pub ifname: Option<String>,
    #[prost(uint32, optional, tag = "18")]
    pub ns_id: Option<u32>,
    #[prost(enumeration = "SkShutdown", optional, tag = "19")]
    pub shutdown: Option<i32>,
    #[prost(message, optional, tag = "20")]
    pub tcp_opts: Option<TcpOptsEntry>,
}

/// `reg_file_entry`: enough to name a regular file.
#[derive(Clone, PartialEq, Message)]
pub struct RegFileEntry {
    #[prost(uint32, required, tag = "1")]
    pub id: u32,
    #[prost(uint32, required, tag = "2")]
    pub flags: u32,
    #[prost(uint64, required, tag = "3")]
    pub pos: u64,
    #[prost(message, required, tag = "5")]
    pub fown: FownEntry,
    #[prost(string, required, tag = "6")]
    pub name: String,
}

#[derive(Clone, PartialEq, Message)]
pub struct PipeEntry {
    #[prost(uint32, required, tag = "1")]
    pub id: u32,
    #[prost(uint32, required, tag = "2")]
    pub pipe_id: u32,
    #[prost(uint32, required, tag = "3")]
    pub flags: u32,
    #[prost(message, required, tag = "4")]
    pub fown: FownEntry,
}

/// `file_entry` (files.img): one file of any kind. The kinds resocket does not model are
/// kept as their type and id.
#[derive(Clone, PartialEq, Message)]
pub struct FileEntry {
    #[prost(enumeration = "FdTypes", required, tag = "1")]
    pub r#type: i32,
    #[prost(uint32, required, tag = "2")]
    pub id: u32,
    #[prost(message, optional, tag = "3")]
    pub reg: Option<RegFileEntry>,
    #[prost(message, optional, tag = "4")]
    pub isk: Option<InetSkEntry>,
    #[prost(message, optional, tag = "16")]
    pub usk: Option<UnixSkEntry>,
    #[prost(message, optional, tag = "18")]
    pub pipe: Option<PipeEntry>,
}

#[derive(Clone, PartialEq, Message)]
pub struct ScmEntry {
    #[prost(uint32, required, tag = "1")]
    pub r#type: u32,
    #[prost(uint32, repeated, packed = "false", tag = "2")]
    pub rights: Vec<u32>,
}

#[derive(Clone, PartialEq, Message)]
pub struct SkPacketEntry {
    #[prost(uint32, required, tag = "1")]
    pub id_for: u32,
    #[prost(uint32, required, tag = "2")]
    pub length: u32,
    #[prost(message, repeated, tag = "4")]
    pub scm: Vec<ScmEntry>,
}

#[derive(Clone, PartialEq, Message)]
pub struct TcpStreamEntry {
    #[prost(uint32, required, tag = "1")]
    pub inq_len: u32,
    #[prost(uint32, required, tag = "2")]
    pub inq_seq: u32,
    #[prost(uint32, required, tag = "3")]
    pub outq_len: u32,
    #[prost(uint32, required, tag = "4")]
    pub outq_seq: u32,
    #[prost(uint32, required, tag = "5")]
    pub opt_mask: u32,
    #[prost(uint32, required, tag = "6")]
    pub snd_wscale: u32,
    #[prost(uint32, required, tag = "7")]
    pub mss_clamp: u32,
    #[prost(uint32, optional, tag = "8")]
    pub rcv_wscale: Option<u32>,
    #[prost(uint32, optional, tag = "9")]
    pub timestamp: Option<u32>,
    #[prost(bool, optional, tag = "10")]
    pub cork: Option<bool>,
    #[prost(bool, optional, tag = "11")]
    pub nodelay: Option<bool>,
    #[prost(uint32, optional, tag = "12")]
    pub unsq_len: Option<u32>,
    #[prost(uint32, optional, tag = "13")]
    pub snd_wl1: Option<u32>,
    #[prost(uint32, optional, tag = "14")]
    pub snd_wnd: Option<u32>,
    #[prost(uint32, optional, tag = "15")]
    pub max_window: Option<u32>,
    #[prost(uint32, optional, tag = "16")]
    pub rcv_wnd: Option<u32>,
    #[prost(uint32, optional, tag = "17")]
    pub rcv_wup: Option<u32>,
}

/// `net_device_entry` (netdev-N.img): the device's name and index.
#[derive(Clone, PartialEq, Message)]
pub struct NetDeviceEntry {
    #[prost(int32, required, tag = "1")]
    pub r#type: i32,
    #[prost(uint32, required, tag = "2")]
    pub ifindex: u32,
    #[prost(uint32, required, tag = "3")]
    pub mtu: u32,
    #[prost(uint32, required, tag = "4")]
    pub flags: u32,
    #[prost(string, required, tag = "5")]
    pub name: String,
    #[prost(bytes = "vec", optional, tag = "7")]
    pub address: Option<Vec<u8>>,
}

/// `sysctl_entry` (sysctl.proto): one value of a namespace's or device's sysctl array.
#[derive(Clone, PartialEq, Message)]
pub struct SysctlEntry {
    /// `SysctlType`: 5 CTL_STR, 6 CTL_32.
    #[prost(int32, required, tag = "1")]
    pub r#type: i32,
    #[prost(int32, optional, tag = "2")]
    pub iarg: Option<i32>,
    #[prost(string, optional, tag = "3")]
    pub sarg: Option<String>,
}

/// `netns_id` (netdev.proto): an id this namespace gives another one.
#[derive(Clone, PartialEq, Message)]
pub struct NetnsId {
    #[prost(uint32, required, tag = "1")]
    pub target_ns_id: u32,
    #[prost(int32, required, tag = "2")]
    pub netnsid_value: i32,
}

/// `netns_entry` (netns-N.img): the namespace's sysctls (by position in CRIU's `devconfs`
/// tables, criu/net.c), its ids of other namespaces, and the key of an external namespace.
#[derive(Clone, PartialEq, Message)]
pub struct NetnsEntry {
    #[prost(int32, repeated, packed = "false", tag = "1")]
    pub def_conf: Vec<i32>,
    #[prost(int32, repeated, packed = "false", tag = "2")]
    pub all_conf: Vec<i32>,
    #[prost(message, repeated, tag = "3")]
    pub def_conf4: Vec<SysctlEntry>,
    #[prost(message, repeated, tag = "4")]
    pub all_conf4: Vec<SysctlEntry>,
    #[prost(message, repeated, tag = "5")]
    pub def_conf6: Vec<SysctlEntry>,
    #[prost(message, repeated, tag = "6")]
    pub all_conf6: Vec<SysctlEntry>,
    #[prost(message, repeated, tag = "7")]
    pub nsids: Vec<NetnsId>,
    #[prost(string, optional, tag = "8")]
    pub ext_key: Option<String>,
    #[prost(message, repeated, tag = "9")]
    pub unix_conf: Vec<SysctlEntry>,
}
