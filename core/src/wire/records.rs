//! Every record type's layout (through `record!`, `wire/view.rs`), the variable-length
//! `RS_RIGHTS`, the table of layouts, and [`reemit`].

use super::frame::{emit_header, Record, RecordType, Records, WireError};
use super::layout::{FieldDesc, Layout, Sym};
use super::scalar::{le_u32, Bytes, Scalar};
use super::sym;

use Sym::{Enum, Flags, Hex, Num, Raw, Text};

record! {
    /// `struct ckpt_hdr_header` (72 bytes): the image header.
    Header, HeaderRepr, HEADER_LAYOUT = HEADER, 72;
    {
        magic: u64 = 8, Hex;
        arch_id: u16 = 16, Enum(sym::ARCH);
        major: u16 = 18, Num;
        minor: u16 = 20, Num;
        patch: u16 = 22, Num;
        rev: u16 = 24, Num;
        task_comm_len: u16 = 32, Num;
        at_vector_size: u16 = 34, Num;
        signal_nsig: u16 = 36, Num;
        uts_sysname_len: u16 = 38, Num;
        uts_nodename_len: u16 = 40, Num;
        uts_release_len: u16 = 42, Num;
        uts_version_len: u16 = 44, Num;
        uts_machine_len: u16 = 46, Num;
        uts_domainname_len: u16 = 48, Num;
        rlimit_nlimits: u16 = 50, Num;
        n_tty_buf_size: u16 = 52, Num;
        tty_termios_nccs: u16 = 54, Num;
        time: u64 = 56, Num;
        uflags: u64 = 64, Hex;
    }
}

record! {
    /// `struct ckpt_hdr_header_arch` for x86 (16 bytes).
    HeaderArch, HeaderArchRepr, HEADER_ARCH_LAYOUT = HEADER_ARCH, 16;
    {
        has_fxsr: u16 = 8, Num;
        has_xsave: u16 = 10, Num;
        xstate_size: u16 = 12, Num;
    }
}

record! {
    /// `struct ckpt_hdr_objref` (16 bytes): first appearance of a shared object.
    Objref, ObjrefRepr, OBJREF_LAYOUT = OBJREF, 16;
    {
        objtype: u32 = 8, Enum(sym::OBJ);
        objref: i32 = 12, Num;
    }
}

record! {
    /// `struct ckpt_hdr_file_table` (16 bytes).
    FileTable, FileTableRepr, FILE_TABLE_LAYOUT = FILE_TABLE, 16;
    {
        fdt_nfds: i32 = 8, Num;
    }
}

record! {
    /// `struct ckpt_hdr_file_desc` (24 bytes): one fd of a file table.
    FileDesc, FileDescRepr, FILE_DESC_LAYOUT = FILE_DESC, 24;
    {
        fd_objref: i32 = 8, Num;
        fd_descriptor: i32 = 12, Num;
        fd_close_on_exec: u32 = 16, Num;
    }
}

record! {
    /// `struct ckpt_hdr_file_socket` (56 bytes): a `CKPT_HDR_FILE` with `f_type = SOCKET`.
    FileSocket, FileSocketRepr, FILE_SOCKET_LAYOUT = FILE, 56;
    {
        f_type: u32 = 8, Enum(sym::FILE_TYPE);
        f_mode: u32 = 12, Hex;
        f_flags: u32 = 16, Hex;
        f_credref: i32 = 20, Num;
        f_pos: u64 = 24, Num;
        f_version: u64 = 32, Num;
        f_secref: i32 = 40, Num;
        sock_objref: i32 = 48, Num;
    }
}

record! {
    /// `struct ckpt_hdr_socket` (120 bytes): the family-independent socket state.
    Socket, SocketRepr, SOCKET_LAYOUT = SOCKET, 120;
    {
        has_buffers: u8 = 8, Num;
        socket_flags: u64 = 16, Flags(sym::SOCKET_FLAGS);
        socket_state: u8 = 24, Enum(sym::SS);
        bound_dev_if: u32 = 32, Num;
        reuse: u32 = 36, Num;
        family: u16 = 40, Enum(sym::FAMILY);
        common_state: u8 = 42, Enum(sym::TCP);
        rcvlowat: i64 = 48, Num;
        sock_flags: u64 = 56, Flags(sym::SOCK_FLAGS);
        rcvtimeo: i64 = 64, Num;
        sndtimeo: i64 = 72, Num;
        err: u32 = 80, Num;
        err_soft: u32 = 84, Num;
        priority: u32 = 88, Num;
        rcvbuf: i32 = 92, Num;
        sndbuf: i32 = 96, Num;
        sock_type: u16 = 100, Enum(sym::SOCK_TYPE);
        backlog: i16 = 102, Num;
        protocol: u8 = 104, Num;
        state: u8 = 105, Enum(sym::TCP);
        shutdown: u8 = 106, Flags(sym::SHUTDOWN);
        userlocks: u8 = 107, Flags(sym::USERLOCKS);
        no_check: u8 = 108, Num;
        linger_onoff: i32 = 112, Num;
        linger_linger: i32 = 116, Num;
    }
}

record! {
    /// `struct ckpt_hdr_socket_queue` (16 bytes): announces `skb_count` buffers.
    SocketQueue, SocketQueueRepr, SOCKET_QUEUE_LAYOUT = SOCKET_QUEUE, 16;
    {
        skb_count: u32 = 8, Num;
        total_bytes: u32 = 12, Num;
    }
}

record! {
    /// `struct ckpt_hdr_socket_buffer` (104 bytes): one queued skb; a `BUFFER` of `lin_len`
    /// bytes follows.
    SocketBuffer, SocketBufferRepr, SOCKET_BUFFER_LAYOUT = SOCKET_BUFFER, 104;
    {
        transport_header: u32 = 8, Num;
        network_header: u32 = 12, Num;
        mac_header: u32 = 16, Num;
        lin_len: u32 = 20, Num;
        frg_len: u32 = 24, Num;
        skb_len: u32 = 28, Num;
        hdr_len: u32 = 32, Num;
        mac_len: u32 = 36, Num;
        data_offset: u32 = 40, Num;
        sk_objref: i32 = 44, Num;
        pr_objref: i32 = 48, Num;
        protocol: u16 = 52, Num;
        nr_frags: u16 = 54, Num;
        cb: Bytes<48> = 56, Raw;
    }
}

record! {
    /// `struct ckpt_hdr_socket_buffer_frag` (16 bytes).
    SocketFrag, SocketFragRepr, SOCKET_FRAG_LAYOUT = SOCKET_FRAG, 16;
    {
        size: u32 = 8, Num;
        offset: u32 = 12, Num;
    }
}

record! {
    /// `struct ckpt_hdr_socket_unix` (256 bytes): AF_UNIX state.
    SocketUnix, SocketUnixRepr, SOCKET_UNIX_LAYOUT = SOCKET_UNIX, 256;
    {
        this: i32 = 8, Num;
        peer: i32 = 12, Num;
        peercred: i32 = 16, Num;
        flags: u32 = 20, Flags(sym::UNIX_FLAGS);
        laddr_len: u32 = 24, Num;
        raddr_len: u32 = 28, Num;
        laddr_family: u16 = 32, Enum(sym::FAMILY);
        laddr_path: Bytes<108> = 34, Text;
        raddr_family: u16 = 142, Enum(sym::FAMILY);
        raddr_path: Bytes<108> = 144, Text;
    }
}

record! {
    /// `struct ckpt_hdr_socket_inet` (328 bytes): AF_INET/AF_INET6 state. Addresses and ports
    /// are in network byte order as the kernel keeps them, except `num` (host order).
    SocketInet, SocketInetRepr, SOCKET_INET_LAYOUT = SOCKET_INET, 328;
    {
        daddr: Bytes<4> = 8, Raw;
        rcv_saddr: Bytes<4> = 12, Raw;
        saddr: Bytes<4> = 16, Raw;
        dport: Bytes<2> = 20, Raw;
        num: u16 = 22, Num;
        sport: Bytes<2> = 24, Raw;
        uc_ttl: i16 = 26, Num;
        cmsg_flags: u16 = 28, Num;
        /// Extension (Linux-CR padding): `ACCEPTED`, `REUSEPORT`, `V6ONLY`.
        rs_flags: u16 = 30, Flags(sym::INET_FLAGS);
        icsk_ack: Bytes<24> = 32, Raw;
        tcp: Bytes<184> = 56, Raw;
        inet6_saddr: Bytes<16> = 240, Raw;
        inet6_rcv_saddr: Bytes<16> = 256, Raw;
        inet6_daddr: Bytes<16> = 272, Raw;
        laddr_len: u32 = 288, Num;
        raddr_len: u32 = 292, Num;
        laddr: Bytes<16> = 296, Raw;
        raddr: Bytes<16> = 312, Raw;
    }
}

record! {
    /// Extension `RS_PENDING` (24 bytes): one not-yet-accepted connection of a listener, in
    /// accept-queue order (`index` 0 is the head, the one `accept()` returns first).
    Pending, PendingRepr, RS_PENDING_LAYOUT = RS_PENDING, 24;
    {
        listener: i32 = 8, Num;
        embryo: i32 = 12, Num;
        client: i32 = 16, Num;
        index: u32 = 20, Num;
    }
}

record! {
    /// Extension `RS_TASK` (16 bytes): the process that owns a file table.
    Task, TaskRepr, RS_TASK_LAYOUT = RS_TASK, 16;
    {
        pid: i32 = 8, Num;
        files_objref: i32 = 12, Num;
    }
}

record! {
    /// Extension `RS_SOCKOPT` (72 bytes): the socket options of one socket that have no field
    /// in `SOCKET`. `recorded` says which fields hold a value; the others are zero.
    SockOptRec, SockOptRepr, RS_SOCKOPT_LAYOUT = RS_SOCKOPT, 72;
    {
        sock: i32 = 8, Num;
        recorded: u32 = 12, Flags(sym::SOCKOPT_RECORDED);
        peek_off: i32 = 16, Num;
        mark: u32 = 20, Num;
        priority: i32 = 24, Num;
        rcvlowat: i32 = 28, Num;
        rcvtimeo_us: i64 = 32, Num;
        sndtimeo_us: i64 = 40, Num;
        linger_secs: i32 = 48, Num;
        on: u32 = 52, Flags(sym::SOCKOPT_ON);
        keepidle: i32 = 56, Num;
        keepintvl: i32 = 60, Num;
        keepcnt: i32 = 64, Num;
        user_timeout: u32 = 68, Num;
    }
}

record! {
    /// Extension `RS_OOB` (16 bytes): the out-of-band byte pending on a stream socket (AF_UNIX
    /// `MSG_OOB`, the receiver's `oob_skb`): skb `index` of the socket's queue, a 1-byte skb,
    /// is the one that was sent with `MSG_OOB` and not yet read.
    Oob, OobRepr, RS_OOB_LAYOUT = RS_OOB, 16;
    {
        sock: i32 = 8, Num;
        index: u32 = 12, Num;
    }
}

record! {
    /// `struct ckpt_hdr_tail` (16 bytes).
    Tail, TailRepr, TAIL_LAYOUT = TAIL, 16;
    {
        magic: u64 = 8, Hex;
    }
}

/// Every fixed-size layout.
pub const LAYOUTS: &[Layout] = &[
    HEADER_LAYOUT,
    HEADER_ARCH_LAYOUT,
    OBJREF_LAYOUT,
    FILE_TABLE_LAYOUT,
    FILE_DESC_LAYOUT,
    FILE_SOCKET_LAYOUT,
    SOCKET_LAYOUT,
    SOCKET_QUEUE_LAYOUT,
    SOCKET_BUFFER_LAYOUT,
    SOCKET_FRAG_LAYOUT,
    SOCKET_UNIX_LAYOUT,
    SOCKET_INET_LAYOUT,
    RS_PENDING_LAYOUT,
    RS_TASK_LAYOUT,
    TAIL_LAYOUT,
    RS_SOCKOPT_LAYOUT,
    RS_OOB_LAYOUT,
];

/// The fixed layout of a record type, if it has one.
pub fn layout(ty: RecordType) -> Option<&'static Layout> {
    layout_index(ty).and_then(|i| LAYOUTS.get(i))
}

/// Position of a record type's layout in [`LAYOUTS`] (a jump table, not a search: this runs
/// once per record).
pub fn layout_index(ty: RecordType) -> Option<usize> {
    Some(match ty {
        RecordType::HEADER => 0,
        RecordType::HEADER_ARCH => 1,
        RecordType::OBJREF => 2,
        RecordType::FILE_TABLE => 3,
        RecordType::FILE_DESC => 4,
        RecordType::FILE => 5,
        RecordType::SOCKET => 6,
        RecordType::SOCKET_QUEUE => 7,
        RecordType::SOCKET_BUFFER => 8,
        RecordType::SOCKET_FRAG => 9,
        RecordType::SOCKET_UNIX => 10,
        RecordType::SOCKET_INET => 11,
        RecordType::RS_PENDING => 12,
        RecordType::RS_TASK => 13,
        RecordType::TAIL => 14,
        RecordType::RS_SOCKOPT => 15,
        RecordType::RS_OOB => 16,
        _ => return None,
    })
}

/// Extension `RS_RIGHTS` (16 + 4·n bytes): the files an skb carries as SCM_RIGHTS; follows
/// the skb's `BUFFER`. Layout: `h; u32 nr_fds@8; u32 reserved@12; s32 file_objref[nr_fds]@16`.
#[derive(Debug, Clone, Copy)]
pub struct Rights<'a> {
    rec: Record<'a>,
}

impl<'a> Rights<'a> {
    /// Minimum size (no fds).
    pub const MIN_SIZE: usize = 16;

    /// Check type and that `len == 16 + 4 * nr_fds`.
    pub fn new_checked(rec: Record<'a>) -> Result<Self, WireError> {
        if rec.ty != RecordType::RS_RIGHTS {
            return Err(WireError::WrongType { offset: rec.offset, found: rec.ty, expected: RecordType::RS_RIGHTS });
        }
        let nr = le_u32(rec.bytes, 8) as usize;
        let expected = nr.saturating_mul(4).saturating_add(Self::MIN_SIZE);
        if rec.bytes.len() < Self::MIN_SIZE || rec.bytes.len() != expected {
            return Err(WireError::WrongLen { offset: rec.offset, ty: rec.ty, len: rec.bytes.len(), expected });
        }
        Ok(Rights { rec })
    }
    /// Number of fds.
    pub fn nr_fds(&self) -> u32 {
        le_u32(self.rec.bytes, 8)
    }
    /// `reserved` (must be zero).
    pub fn reserved(&self) -> u32 {
        le_u32(self.rec.bytes, 12)
    }
    /// The file objrefs.
    pub fn objrefs(&self) -> impl Iterator<Item = i32> + 'a {
        let b = self.rec.bytes.get(16..).unwrap_or(&[]);
        b.chunks_exact(4).map(|c| i32::read(c, 0))
    }
    /// The underlying record.
    pub fn record(&self) -> Record<'a> {
        self.rec
    }
}

/// Plain representation of `RS_RIGHTS`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RightsRepr {
    /// File objrefs carried by the skb, in cmsg order.
    pub objrefs: Vec<i32>,
}

impl RightsRepr {
    /// Copy out of a checked view.
    pub fn parse(view: &Rights<'_>) -> Self {
        RightsRepr { objrefs: view.objrefs().collect() }
    }
    /// Append the record.
    pub fn emit(&self, out: &mut Vec<u8>) {
        emit_header(out, RecordType::RS_RIGHTS, Rights::MIN_SIZE + 4 * self.objrefs.len());
        out.extend_from_slice(&(self.objrefs.len() as u32).to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        for r in &self.objrefs {
            out.extend_from_slice(&r.to_le_bytes());
        }
    }
}

/// Parse every record into its `Repr` and emit it again: for a valid image (no padding, exact
/// sizes) the result is the same bytes. Records without a fixed layout are copied as they are.
pub fn reemit(bytes: &[u8]) -> Result<Vec<u8>, WireError> {
    let mut out = Vec::with_capacity(bytes.len());
    for rec in Records::new(bytes) {
        let rec = rec?;
        macro_rules! via {
            ($view:ident, $repr:ident) => {
                $repr::parse(&$view::new_checked(rec)?).emit(&mut out)
            };
        }
        match rec.ty {
            RecordType::HEADER => via!(Header, HeaderRepr),
            RecordType::HEADER_ARCH => via!(HeaderArch, HeaderArchRepr),
            RecordType::OBJREF => via!(Objref, ObjrefRepr),
            RecordType::FILE_TABLE => via!(FileTable, FileTableRepr),
            RecordType::FILE_DESC => via!(FileDesc, FileDescRepr),
            RecordType::FILE if rec.len() == FileSocket::SIZE => via!(FileSocket, FileSocketRepr),
            RecordType::SOCKET => via!(Socket, SocketRepr),
            RecordType::SOCKET_QUEUE => via!(SocketQueue, SocketQueueRepr),
            RecordType::SOCKET_BUFFER => via!(SocketBuffer, SocketBufferRepr),
            RecordType::SOCKET_FRAG => via!(SocketFrag, SocketFragRepr),
            RecordType::SOCKET_UNIX => via!(SocketUnix, SocketUnixRepr),
            RecordType::SOCKET_INET => via!(SocketInet, SocketInetRepr),
            RecordType::RS_PENDING => via!(Pending, PendingRepr),
            RecordType::RS_TASK => via!(Task, TaskRepr),
            RecordType::RS_SOCKOPT => via!(SockOptRec, SockOptRepr),
            RecordType::RS_OOB => via!(Oob, OobRepr),
            RecordType::TAIL => via!(Tail, TailRepr),
            RecordType::RS_RIGHTS => RightsRepr::parse(&Rights::new_checked(rec)?).emit(&mut out),
            _ => out.extend_from_slice(rec.bytes),
        }
    }
    Ok(out)
}
