//! The fields of the messages in [`super::pb`] as tables: number, crit name, type and label.
//! The wire walker ([`super::walk`]) uses them to name and range every field and to find
//! unknown and missing ones; [`super::crit`] uses them to print crit's JSON. A test checks that
//! the tables and the prost messages agree.

/// A field's protobuf type, as far as the walker and crit care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// uint32/uint64/int32 (varint; int32 sign-extended)
    U32,
    U64,
    I32,
    /// sint32 (zigzag)
    S32,
    Bool,
    /// fixed64
    F64,
    Str,
    /// bytes, base64 in crit
    Bytes,
    /// bytes with crit's `unix_name` conversion (quoted-printable)
    UnixName,
    /// an enum: values and names
    Enum(&'static [(i32, &'static str)]),
    /// a nested message
    Msg(&'static Schema),
    /// a known field whose content resocket does not read (thread state, ...)
    Opaque,
}

/// required / optional / repeated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    Req,
    Opt,
    Rep,
}

/// One field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    pub num: u32,
    pub name: &'static str,
    pub ty: Ty,
    pub label: Label,
}

/// One message type.
#[derive(Debug, PartialEq, Eq)]
pub struct Schema {
    /// The proto message name.
    pub name: &'static str,
    /// Its fields, by number (ascending; at most 64: a test checks both).
    pub fields: &'static [Field],
    /// Bit `k` set when `fields[k]` is required.
    pub required: u64,
}

impl Schema {
    /// The field with number `num`.
    pub fn field(&self, num: u32) -> Option<&'static Field> {
        self.position(num).and_then(|k| self.fields.get(k))
    }
    /// The index in [`Schema::fields`] of the field with number `num`: direct when the numbers
    /// run 1, 2, 3... up to it, by binary search otherwise.
    pub fn position(&self, num: u32) -> Option<usize> {
        let k = (num as usize).wrapping_sub(1);
        if self.fields.get(k).is_some_and(|f| f.num == num) {
            return Some(k);
        }
        self.fields.binary_search_by_key(&num, |f| f.num).ok()
    }
}

/// The [`Schema::required`] mask of `fields`.
const fn required_mask(fields: &[Field]) -> u64 {
    let mut mask = 0u64;
    let mut k = 0;
    while k < fields.len() && k < 64 {
        if matches!(fields[k].label, Label::Req) {
            mask |= 1 << k;
        }
        k += 1;
    }
    mask
}

macro_rules! schema {
    ($id:ident $name:literal { $( $num:literal $fname:literal : $ty:expr, $label:ident; )* }) => {
        #[doc = concat!("`", $name, "`")]
        pub static $id: Schema = {
            const FIELDS: &[Field] = &[$( Field { num: $num, name: $fname, ty: $ty, label: Label::$label }, )*];
            Schema { name: $name, fields: FIELDS, required: required_mask(FIELDS) }
        };
    };
}

use Ty::*;

/// `enum fd_types`.
pub const FD_TYPES: &[(i32, &str)] = &[
    (0, "UND"),
    (1, "REG"),
    (2, "PIPE"),
    (3, "FIFO"),
    (4, "INETSK"),
    (5, "UNIXSK"),
    (6, "EVENTFD"),
    (7, "EVENTPOLL"),
    (8, "INOTIFY"),
    (9, "SIGNALFD"),
    (10, "PACKETSK"),
    (11, "TTY"),
    (12, "FANOTIFY"),
    (13, "NETLINKSK"),
    (14, "NS"),
    (15, "TUNF"),
    (16, "EXT"),
    (17, "TIMERFD"),
    (18, "MEMFD"),
    (19, "BPFMAP"),
    (20, "PIDFD"),
    (65534, "CTL_TTY"),
    (65535, "AUTOFS_PIPE"),
];
/// `enum sk_shutdown`.
pub const SK_SHUTDOWN: &[(i32, &str)] = &[(0, "NONE"), (1, "READ"), (2, "WRITE"), (3, "BOTH")];
/// `enum lsmtype`.
pub const LSMTYPE: &[(i32, &str)] = &[(0, "NO_LSM"), (1, "SELINUX"), (2, "APPARMOR")];
/// `enum march`.
pub const MARCH: &[(i32, &str)] = &[
    (0, "UNKNOWN"),
    (1, "X86_64"),
    (2, "ARM"),
    (3, "AARCH64"),
    (4, "PPC64"),
    (5, "S390"),
    (6, "MIPS"),
    (7, "LOONGARCH64"),
    (8, "RISCV64"),
];
/// `enum SysctlType` (sysctl.proto).
pub const SYSCTL_TYPE: &[(i32, &str)] = &[(5, "CTL_STR"), (6, "CTL_32")];
/// `enum nd_type`.
pub const ND_TYPE: &[(i32, &str)] = &[
    (1, "LOOPBACK"),
    (2, "VETH"),
    (3, "TUN"),
    (4, "EXTLINK"),
    (5, "VENET"),
    (6, "BRIDGE"),
    (7, "MACVLAN"),
    (8, "SIT"),
];
/// `enum seccomp_mode`.
pub const SECCOMP_MODE: &[(i32, &str)] = &[(0, "disabled"), (1, "strict"), (2, "filter")];

schema!(TASK_KOBJ_IDS "task_kobj_ids_entry" {
    1 "vm_id": U32, Req; 2 "files_id": U32, Req; 3 "fs_id": U32, Req; 4 "sighand_id": U32, Req;
    5 "pid_ns_id": U32, Opt; 6 "net_ns_id": U32, Opt; 7 "ipc_ns_id": U32, Opt; 8 "uts_ns_id": U32, Opt;
    9 "mnt_ns_id": U32, Opt; 10 "user_ns_id": U32, Opt; 11 "cgroup_ns_id": U32, Opt; 12 "time_ns_id": U32, Opt;
});
schema!(PLUGINS "plugins_entry" { 12 "plugins": Str, Rep; });
schema!(INVENTORY "inventory_entry" {
    1 "img_version": U32, Req; 2 "fdinfo_per_id": Bool, Opt; 3 "root_ids": Msg(&TASK_KOBJ_IDS), Opt;
    4 "ns_per_id": Bool, Opt; 5 "root_cg_set": U32, Opt; 6 "lsmtype": Enum(LSMTYPE), Opt;
    8 "dump_uptime": U64, Opt; 9 "pre_dump_mode": U32, Opt; 10 "tcp_close": Bool, Opt;
    11 "network_lock_method": U32, Opt; 12 "plugins_entry": Msg(&PLUGINS), Opt; 13 "dump_criu_run_id": Str, Opt;
    14 "allow_uprobes": Bool, Opt;
});
schema!(PSTREE "pstree_entry" {
    1 "pid": U32, Req; 2 "ppid": U32, Req; 3 "pgid": U32, Req; 4 "sid": U32, Req; 5 "threads": U32, Rep;
});
schema!(TASK_CORE "task_core_entry" {
    1 "task_state": U32, Req; 2 "exit_code": U32, Req; 3 "personality": U32, Req; 4 "flags": U32, Req;
    5 "blk_sigset": U64, Req; 6 "comm": Str, Req; 7 "timers": Opaque, Opt; 8 "rlimits": Opaque, Opt;
    9 "cg_set": U32, Opt; 10 "signals_s": Opaque, Opt; 11 "old_seccomp_mode": Enum(SECCOMP_MODE), Opt;
    12 "old_seccomp_filter": U32, Opt; 13 "loginuid": U32, Opt; 14 "oom_score_adj": I32, Opt;
    15 "sigactions": Opaque, Rep; 18 "child_subreaper": Bool, Opt; 20 "blk_sigset_extended": U64, Opt;
    21 "stop_signo": U32, Opt; 22 "membarrier_registration_mask": U32, Opt;
});
schema!(CORE "core_entry" {
    1 "mtype": Enum(MARCH), Req; 2 "thread_info": Opaque, Opt; 3 "tc": Msg(&TASK_CORE), Opt;
    4 "ids": Msg(&TASK_KOBJ_IDS), Opt; 5 "thread_core": Opaque, Opt; 6 "ti_arm": Opaque, Opt;
    8 "ti_aarch64": Opaque, Opt; 9 "ti_ppc64": Opaque, Opt; 10 "ti_s390": Opaque, Opt; 11 "ti_mips": Opaque, Opt;
    12 "ti_loongarch64": Opaque, Opt; 13 "ti_riscv64": Opaque, Opt;
});
schema!(FDINFO "fdinfo_entry" {
    1 "id": U32, Req; 2 "flags": U32, Req; 3 "type": Enum(FD_TYPES), Req; 4 "fd": U32, Req;
    5 "xattr_security_selinux": Str, Opt;
});
schema!(FOWN "fown_entry" {
    1 "uid": U32, Req; 2 "euid": U32, Req; 3 "signum": U32, Req; 4 "pid_type": U32, Req; 5 "pid": U32, Req;
});
schema!(SK_OPTS "sk_opts_entry" {
    1 "so_sndbuf": U32, Req; 2 "so_rcvbuf": U32, Req; 3 "so_snd_tmo_sec": U64, Req; 4 "so_snd_tmo_usec": U64, Req;
    5 "so_rcv_tmo_sec": U64, Req; 6 "so_rcv_tmo_usec": U64, Req; 7 "reuseaddr": Bool, Opt; 8 "so_priority": U32, Opt;
    9 "so_rcvlowat": U32, Opt; 10 "so_mark": U32, Opt; 11 "so_passcred": Bool, Opt; 12 "so_passsec": Bool, Opt;
    13 "so_dontroute": Bool, Opt; 14 "so_no_check": Bool, Opt; 15 "so_bound_dev": Str, Opt; 16 "so_filter": F64, Rep;
    17 "so_reuseport": Bool, Opt; 18 "so_broadcast": Bool, Opt; 19 "so_keepalive": Bool, Opt; 20 "tcp_keepcnt": U32, Opt;
    21 "tcp_keepidle": U32, Opt; 22 "tcp_keepintvl": U32, Opt; 23 "so_oobinline": U32, Opt; 24 "so_linger": U32, Opt;
    25 "so_buf_lock": U32, Opt;
});
schema!(FILE_PERMS "file_perms_entry" { 1 "mode": U32, Req; 2 "uid": U32, Req; 3 "gid": U32, Req; });
schema!(UNIX_SK "unix_sk_entry" {
    1 "id": U32, Req; 2 "ino": U32, Req; 3 "type": U32, Req; 4 "state": U32, Req; 5 "flags": U32, Req;
    6 "uflags": U32, Req; 7 "backlog": U32, Req; 8 "peer": U32, Req; 9 "fown": Msg(&FOWN), Req;
    10 "opts": Msg(&SK_OPTS), Req; 11 "name": UnixName, Req; 12 "shutdown": Enum(SK_SHUTDOWN), Opt;
    13 "file_perms": Msg(&FILE_PERMS), Opt; 14 "name_dir": Str, Opt; 15 "deleted": Bool, Opt; 16 "ns_id": U32, Opt;
    17 "mnt_id": S32, Opt;
});
schema!(IP_OPTS_RAW "ip_opts_raw_entry" {
    1 "hdrincl": Bool, Opt; 2 "nodefrag": Bool, Opt; 3 "checksum": Bool, Opt; 4 "icmpv_filter": U32, Rep;
});
schema!(IP_OPTS "ip_opts_entry" {
    1 "freebind": Bool, Opt; 4 "raw": Msg(&IP_OPTS_RAW), Opt; 5 "pktinfo": Bool, Opt; 6 "tos": U32, Opt; 7 "ttl": U32, Opt;
});
schema!(TCP_OPTS "tcp_opts_entry" {
    1 "cork": Bool, Opt; 2 "nodelay": Bool, Opt; 3 "keepcnt": U32, Opt; 4 "keepidle": U32, Opt; 5 "keepintvl": U32, Opt;
});
schema!(INET_SK "inet_sk_entry" {
    1 "id": U32, Req; 2 "ino": U32, Req; 3 "family": U32, Req; 4 "type": U32, Req; 5 "proto": U32, Req;
    6 "state": U32, Req; 7 "src_port": U32, Req; 8 "dst_port": U32, Req; 9 "flags": U32, Req; 10 "backlog": U32, Req;
    11 "src_addr": U32, Rep; 12 "dst_addr": U32, Rep; 13 "fown": Msg(&FOWN), Req; 14 "opts": Msg(&SK_OPTS), Req;
    15 "v6only": Bool, Opt; 16 "ip_opts": Msg(&IP_OPTS), Opt; 17 "ifname": Str, Opt; 18 "ns_id": U32, Opt;
    19 "shutdown": Enum(SK_SHUTDOWN), Opt; 20 "tcp_opts": Msg(&TCP_OPTS), Opt;
});
schema!(REG_FILE "reg_file_entry" {
    1 "id": U32, Req; 2 "flags": U32, Req; 3 "pos": U64, Req; 5 "fown": Msg(&FOWN), Req; 6 "name": Str, Req;
    7 "mnt_id": S32, Opt; 8 "size": U64, Opt; 9 "ext": Bool, Opt; 10 "mode": U32, Opt; 11 "build_id": U32, Rep;
    12 "checksum": U32, Opt; 13 "checksum_config": U32, Opt; 14 "checksum_parameter": U32, Opt;
});
schema!(PIPE "pipe_entry" { 1 "id": U32, Req; 2 "pipe_id": U32, Req; 3 "flags": U32, Req; 4 "fown": Msg(&FOWN), Req; });
schema!(FILE "file_entry" {
    1 "type": Enum(FD_TYPES), Req; 2 "id": U32, Req; 3 "reg": Msg(&REG_FILE), Opt; 4 "isk": Msg(&INET_SK), Opt;
    5 "nsf": Opaque, Opt; 6 "psk": Opaque, Opt; 7 "nlsk": Opaque, Opt; 8 "efd": Opaque, Opt; 9 "epfd": Opaque, Opt;
    10 "sgfd": Opaque, Opt; 11 "tunf": Opaque, Opt; 12 "tfd": Opaque, Opt; 13 "ify": Opaque, Opt; 14 "ffy": Opaque, Opt;
    15 "ext": Opaque, Opt; 16 "usk": Msg(&UNIX_SK), Opt; 17 "fifo": Opaque, Opt; 18 "pipe": Msg(&PIPE), Opt;
    19 "tty": Opaque, Opt; 20 "memfd": Opaque, Opt; 21 "bpf": Opaque, Opt; 22 "pidfd": Opaque, Opt;
});
schema!(SCM "scm_entry" { 1 "type": U32, Req; 2 "rights": U32, Rep; });
schema!(SK_PACKET "sk_packet_entry" { 1 "id_for": U32, Req; 2 "length": U32, Req; 4 "scm": Msg(&SCM), Rep; });
schema!(TCP_STREAM "tcp_stream_entry" {
    1 "inq_len": U32, Req; 2 "inq_seq": U32, Req; 3 "outq_len": U32, Req; 4 "outq_seq": U32, Req; 5 "opt_mask": U32, Req;
    6 "snd_wscale": U32, Req; 7 "mss_clamp": U32, Req; 8 "rcv_wscale": U32, Opt; 9 "timestamp": U32, Opt;
    10 "cork": Bool, Opt; 11 "nodelay": Bool, Opt; 12 "unsq_len": U32, Opt; 13 "snd_wl1": U32, Opt; 14 "snd_wnd": U32, Opt;
    15 "max_window": U32, Opt; 16 "rcv_wnd": U32, Opt; 17 "rcv_wup": U32, Opt;
});
schema!(SYSCTL "sysctl_entry" { 1 "type": Enum(SYSCTL_TYPE), Req; 2 "iarg": I32, Opt; 3 "sarg": Str, Opt; });
schema!(NETNS_ID "netns_id" { 1 "target_ns_id": U32, Req; 2 "netnsid_value": I32, Req; });
schema!(NETNS "netns_entry" {
    1 "def_conf": I32, Rep; 2 "all_conf": I32, Rep; 3 "def_conf4": Msg(&SYSCTL), Rep; 4 "all_conf4": Msg(&SYSCTL), Rep;
    5 "def_conf6": Msg(&SYSCTL), Rep; 6 "all_conf6": Msg(&SYSCTL), Rep; 7 "nsids": Msg(&NETNS_ID), Rep;
    8 "ext_key": Str, Opt; 9 "unix_conf": Msg(&SYSCTL), Rep; 10 "ipv4_sysctl": Msg(&SYSCTL), Rep;
});
schema!(NET_DEVICE "net_device_entry" {
    1 "type": Enum(ND_TYPE), Req; 2 "ifindex": U32, Req; 3 "mtu": U32, Req; 4 "flags": U32, Req; 5 "name": Str, Req;
    6 "tun": Opaque, Opt; 7 "address": Bytes, Opt; 8 "conf": I32, Rep; 9 "conf4": Msg(&SYSCTL), Rep; 10 "conf6": Msg(&SYSCTL), Rep;
    11 "macvlan": Opaque, Opt; 12 "peer_ifindex": U32, Opt; 13 "peer_nsid": U32, Opt; 14 "master": U32, Opt;
    15 "sit": Opaque, Opt;
});

/// The schema of each image magic resocket decodes.
pub fn of_magic(m: super::Magic) -> Option<&'static Schema> {
    use super::Magic as M;
    Some(match m {
        M::Inventory => &INVENTORY,
        M::Pstree => &PSTREE,
        M::Ids => &TASK_KOBJ_IDS,
        M::Core => &CORE,
        M::Fdinfo => &FDINFO,
        M::Files => &FILE,
        M::Unixsk => &UNIX_SK,
        M::Inetsk => &INET_SK,
        M::SkQueues => &SK_PACKET,
        M::TcpStream => &TCP_STREAM,
        M::RegFiles => &REG_FILE,
        M::Pipes => &PIPE,
        M::Netdev => &NET_DEVICE,
        M::Netns => &NETNS,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criu::{pb, walk};
    use prost::Message;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    /// The prost messages and the tables agree: what prost writes for a message (its required
    /// fields, and every optional and repeated one when set) is known to the table, has the
    /// wire type the table expects, and leaves no required field missing.
    fn agrees<M: Message + Default>(m: M, schema: &'static Schema) {
        let bytes = m.encode_to_vec();
        let w = walk::walk(&bytes, 0, schema);
        assert_eq!(w.error, None, "{}", schema.name);
        assert!(w.missing.is_empty(), "{}: prost leaves out {:?}", schema.name, w.missing);
        let unknown: Vec<_> = w.flatten().into_iter().filter(|f| f.name.is_none()).collect();
        assert!(unknown.is_empty(), "{}: table lacks {unknown:?}", schema.name);
    }

    /// Every schema the walker can reach: field numbers ascending (binary search), at most 64
    /// fields (the walker's bit masks), and its required mask.
    #[test]
    fn schemas_are_sorted_and_small() {
        fn go(s: &'static Schema, seen: &mut Vec<&'static str>) {
            if seen.contains(&s.name) {
                return;
            }
            seen.push(s.name);
            assert!(s.fields.len() <= 64, "{}", s.name);
            assert!(s.fields.windows(2).all(|w| w[0].num < w[1].num), "{} not in field number order", s.name);
            for (k, f) in s.fields.iter().enumerate() {
                assert_eq!(s.position(f.num), Some(k), "{}.{}", s.name, f.name);
                assert_eq!(s.required >> k & 1 == 1, f.label == Label::Req, "{}.{}", s.name, f.name);
                if let Ty::Msg(sub) = f.ty {
                    go(sub, seen);
                }
            }
            assert_eq!(s.position(0), None);
            assert_eq!(s.position(s.fields.last().map_or(0, |f| f.num) + 1), None);
        }
        let mut seen = Vec::new();
        for &m in crate::criu::Magic::ALL {
            if let Some(s) = of_magic(m) {
                go(s, &mut seen);
            }
        }
        assert!(seen.len() > 15, "{seen:?}");
    }

    #[test]
    fn prost_messages_match_the_tables() {
        let opts = pb::SkOptsEntry {
            reuseaddr: Some(true),
            so_priority: Some(1),
            so_rcvlowat: Some(1),
            so_mark: Some(1),
            so_passcred: Some(true),
            so_passsec: Some(true),
            so_dontroute: Some(true),
            so_no_check: Some(true),
            so_bound_dev: Some("lo".into()),
            so_filter: vec![1, 2],
            so_reuseport: Some(true),
            so_broadcast: Some(true),
            so_keepalive: Some(true),
            tcp_keepcnt: Some(1),
            tcp_keepidle: Some(1),
            tcp_keepintvl: Some(1),
            so_oobinline: Some(1),
            so_linger: Some(1),
            so_buf_lock: Some(3),
            ..Default::default()
        };
        let usk = pb::UnixSkEntry {
            opts: opts.clone(),
            name: b"\0x".to_vec(),
            shutdown: Some(3),
            file_perms: Some(pb::FilePermsEntry::default()),
            name_dir: Some("/".into()),
            deleted: Some(true),
            ns_id: Some(1),
            mnt_id: Some(-1),
            ..Default::default()
        };
        let isk = pb::InetSkEntry {
            opts,
            src_addr: vec![1],
            dst_addr: vec![2],
            v6only: Some(true),
            ip_opts: Some(pb::IpOptsEntry {
                freebind: Some(true),
                raw: Some(pb::IpOptsRawEntry {
                    hdrincl: Some(true),
                    nodefrag: Some(true),
                    checksum: Some(true),
                    icmpv_filter: vec![1],
                }),
                pktinfo: Some(true),
                tos: Some(1),
                ttl: Some(1),
            }),
            ifname: Some("lo".into()),
            ns_id: Some(1),
            shutdown: Some(1),
            tcp_opts: Some(pb::TcpOptsEntry {
                cork: Some(true),
                nodelay: Some(true),
                keepcnt: Some(1),
                keepidle: Some(1),
                keepintvl: Some(1),
            }),
            ..Default::default()
        };
        agrees(usk.clone(), &UNIX_SK);
        agrees(isk.clone(), &INET_SK);
        agrees(
            pb::FileEntry {
                usk: Some(usk),
                isk: Some(isk),
                reg: Some(pb::RegFileEntry::default()),
                pipe: Some(pb::PipeEntry::default()),
                ..Default::default()
            },
            &FILE,
        );
        let ids = pb::TaskKobjIdsEntry {
            pid_ns_id: Some(1),
            net_ns_id: Some(1),
            ipc_ns_id: Some(1),
            uts_ns_id: Some(1),
            mnt_ns_id: Some(1),
            user_ns_id: Some(1),
            cgroup_ns_id: Some(1),
            time_ns_id: Some(1),
            ..Default::default()
        };
        agrees(ids.clone(), &TASK_KOBJ_IDS);
        agrees(
            pb::InventoryEntry {
                fdinfo_per_id: Some(true),
                root_ids: Some(ids.clone()),
                ns_per_id: Some(true),
                root_cg_set: Some(1),
                lsmtype: Some(1),
                dump_uptime: Some(1),
                pre_dump_mode: Some(1),
                tcp_close: Some(true),
                network_lock_method: Some(1),
                dump_criu_run_id: Some("x".into()),
                allow_uprobes: Some(true),
                ..Default::default()
            },
            &INVENTORY,
        );
        agrees(pb::PstreeEntry { threads: vec![1, 2], ..Default::default() }, &PSTREE);
        agrees(pb::CoreEntry { tc: Some(pb::TaskCoreEntry::default()), ids: Some(ids), ..Default::default() }, &CORE);
        agrees(pb::FdinfoEntry { xattr_security_selinux: Some("x".into()), ..Default::default() }, &FDINFO);
        agrees(
            pb::SkPacketEntry { scm: vec![pb::ScmEntry { r#type: 1, rights: vec![1, 2] }], ..Default::default() },
            &SK_PACKET,
        );
        agrees(
            pb::TcpStreamEntry {
                rcv_wscale: Some(1),
                timestamp: Some(1),
                cork: Some(true),
                nodelay: Some(true),
                unsq_len: Some(1),
                snd_wl1: Some(1),
                snd_wnd: Some(1),
                max_window: Some(1),
                rcv_wnd: Some(1),
                rcv_wup: Some(1),
                ..Default::default()
            },
            &TCP_STREAM,
        );
        agrees(pb::NetDeviceEntry { address: Some(vec![2, 0, 0, 0, 0, 5]), ..Default::default() }, &NET_DEVICE);
        let sysctl = |iarg| pb::SysctlEntry { r#type: 6, iarg: Some(iarg), sarg: Some("x".into()) };
        agrees(
            pb::NetnsEntry {
                def_conf: vec![1, 2],
                all_conf: vec![3],
                def_conf4: vec![sysctl(1)],
                all_conf4: vec![sysctl(2)],
                def_conf6: vec![sysctl(3)],
                all_conf6: vec![sysctl(4)],
                nsids: vec![pb::NetnsId { target_ns_id: 3, netnsid_value: 0 }],
                ext_key: Some("net".into()),
                unix_conf: vec![sysctl(10)],
            },
            &NETNS,
        );
    }
}
