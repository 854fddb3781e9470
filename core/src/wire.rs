//! The Linux-CR record stream (ckpt-v23-rc2 layouts, x86_64, little-endian), socket subset,
//! plus resocket's documented extensions (types 8001–8099). See `docs/format.md`.
//!
//! Two levels, as in smoltcp's `wire`:
//! * [`Records`]: a framing iterator over `&[u8]` that yields [`Record`]s (type, len, bytes,
//!   offset) and stops after the first framing error. It never reads out of bounds and never
//!   allocates.
//! * one checked view per fixed-size record type (`SocketUnix::new_checked(rec)` then
//!   accessors that cannot panic), and a plain `Repr` (`SocketUnixRepr`) with `parse` and
//!   `emit`. Each record type also has a [`Layout`]: the table of its fields with their byte
//!   offsets, which the text form, `restore show` and the web hex view all use.

use std::fmt;

/// Size of the `struct ckpt_hdr` that starts every record: `{u32 type; u32 len}`.
pub const HDR_LEN: usize = 8;
/// `CHECKPOINT_MAGIC_HEAD`.
pub const MAGIC_HEAD: u64 = 0x00fe_ed0c_c0a2_d200;
/// `CHECKPOINT_MAGIC_TAIL`.
pub const MAGIC_TAIL: u64 = 0x002d_2a0c_c0de_ef00;
/// `CHECKPOINT_VERSION` of the final Linux-CR (ckpt-v20 .. v23-rc2).
pub const REV: u16 = 6;
/// `CKPT_ARCH_ID` of x86_64.
pub const ARCH_X86_64: u16 = 2;
/// Length of each utsname string buffer that follows the header (`__NEW_UTS_LEN + 1`).
pub const UTS_LEN: u16 = 65;
/// Largest SCM_RIGHTS fd count in one message (`SCM_MAX_FD`).
pub const SCM_MAX_FD: u32 = 253;
/// `sizeof(struct sockaddr_un)`.
pub const SOCKADDR_UN_LEN: usize = 110;

/// A record type number (`enum ckpt_hdr_type` plus resocket's extensions).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct RecordType(pub u32);

macro_rules! record_types {
    ($($name:ident = $value:expr),* $(,)?) => {
        impl RecordType {
            $(pub const $name: RecordType = RecordType($value);)*
            /// Every type this crate knows, in number order.
            pub const KNOWN: &'static [(RecordType, &'static str)] =
                &[$((RecordType($value), stringify!($name)),)*];
        }
    };
}

record_types! {
    HEADER = 1,
    HEADER_ARCH = 2,
    BUFFER = 4,
    STRING = 5,
    OBJREF = 6,
    FILE_TABLE = 301,
    FILE_DESC = 302,
    FILE = 304,
    SOCKET = 701,
    SOCKET_QUEUE = 702,
    SOCKET_BUFFER = 703,
    SOCKET_FRAG = 704,
    SOCKET_UNIX = 705,
    SOCKET_INET = 706,
    RS_PENDING = 8001,
    RS_RIGHTS = 8002,
    RS_TASK = 8003,
    RS_SOCKOPT = 8004,
    RS_OOB = 8005,
    TAIL = 9001,
    ERROR = 9999,
}

impl RecordType {
    /// The symbolic name (`SOCKET_UNIX`), if known.
    pub fn name(self) -> Option<&'static str> {
        Self::KNOWN.iter().find(|(t, _)| *t == self).map(|(_, n)| *n)
    }
    /// Look a symbolic name up.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::KNOWN.iter().find(|(_, n)| *n == name).map(|(t, _)| *t)
    }
    /// True for the types this crate understands.
    pub fn is_known(self) -> bool {
        self.name().is_some()
    }
}

impl fmt::Debug for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for RecordType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "type {}", self.0),
        }
    }
}

/// One framed record: its offset in the image and its bytes (header included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Byte offset of the record header in the image.
    pub offset: usize,
    /// `h.type`.
    pub ty: RecordType,
    /// The whole record, `h.len` bytes, header included.
    pub bytes: &'a [u8],
}

impl<'a> Record<'a> {
    /// The bytes after the 8-byte header.
    pub fn payload(&self) -> &'a [u8] {
        self.bytes.get(HDR_LEN..).unwrap_or(&[])
    }
    /// `h.len` (always `bytes.len()`).
    pub fn len(&self) -> usize {
        self.bytes.len()
    }
    /// Never true: a framed record has at least its header.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }
    /// The byte range the record covers in the image.
    pub fn range(&self) -> std::ops::Range<usize> {
        self.offset..self.offset + self.bytes.len()
    }
}

/// A framing or view error, with the byte offset it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Fewer than 8 bytes remain where a record header should start.
    #[error("truncated record header at offset {offset}: {remaining} bytes left, 8 needed")]
    TruncatedHeader { offset: usize, remaining: usize },
    /// `h.len` is smaller than the header itself.
    #[error("record at offset {offset} has len {len}, less than its 8-byte header")]
    LenTooSmall { offset: usize, len: u32 },
    /// `h.len` runs past the end of the image.
    #[error("record at offset {offset} has len {len} but only {remaining} bytes remain")]
    PastEnd { offset: usize, len: u32, remaining: usize },
    /// A view was asked for a record of another type.
    #[error("record at offset {offset} is {found}, expected {expected}")]
    WrongType { offset: usize, found: RecordType, expected: RecordType },
    /// A fixed-size record has the wrong `len`.
    #[error("{ty} record at offset {offset} has len {len}, the layout is {expected} bytes")]
    WrongLen { offset: usize, ty: RecordType, len: usize, expected: usize },
}

impl WireError {
    /// The byte offset of the record the error is about.
    pub fn offset(&self) -> usize {
        match *self {
            WireError::TruncatedHeader { offset, .. }
            | WireError::LenTooSmall { offset, .. }
            | WireError::PastEnd { offset, .. }
            | WireError::WrongType { offset, .. }
            | WireError::WrongLen { offset, .. } => offset,
        }
    }
}

/// Iterator over the records of an image; fuses after its first error.
#[derive(Debug, Clone)]
pub struct Records<'a> {
    data: &'a [u8],
    pos: usize,
    done: bool,
}

impl<'a> Records<'a> {
    /// Frame `data` from its first byte.
    pub fn new(data: &'a [u8]) -> Self {
        Records { data, pos: 0, done: false }
    }
    /// Offset of the next record to be read.
    pub fn position(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, WireError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let rest = self.data.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        let offset = self.pos;
        let fail = |this: &mut Self, e| {
            this.done = true;
            Some(Err(e))
        };
        if rest.len() < HDR_LEN {
            return fail(self, WireError::TruncatedHeader { offset, remaining: rest.len() });
        }
        let ty = RecordType(le_u32(rest, 0));
        let len = le_u32(rest, 4);
        if (len as usize) < HDR_LEN {
            return fail(self, WireError::LenTooSmall { offset, len });
        }
        let Some(bytes) = rest.get(..len as usize) else {
            return fail(self, WireError::PastEnd { offset, len, remaining: rest.len() });
        };
        self.pos += len as usize;
        Some(Ok(Record { offset, ty, bytes }))
    }
}

// ---------------------------------------------------------------------------------------------
// Little-endian scalar access that cannot panic (a short slice reads as zero bytes).

#[inline]
fn le_bytes<const N: usize>(b: &[u8], off: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = b.get(off..off.saturating_add(N)) {
        out.copy_from_slice(s);
    }
    out
}

/// Read a little-endian `u32` at `off`; zero if out of range.
#[inline]
pub fn le_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes(le_bytes(b, off))
}

/// Read a little-endian `u64` at `off`; zero if out of range.
#[inline]
pub fn le_u64(b: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(le_bytes(b, off))
}

/// A fixed-width field type of a record layout.
pub trait Scalar: Copy + Default + fmt::Debug + PartialEq {
    /// Width in bytes.
    const SIZE: usize;
    /// Whether it reads as a signed integer (`None` for byte arrays).
    const SIGNED: Option<bool>;
    /// Read at `off` (out-of-range bytes read as zero).
    fn read(b: &[u8], off: usize) -> Self;
    /// Write at `off` (out-of-range bytes are dropped).
    fn write(self, b: &mut [u8], off: usize);
}

macro_rules! scalar_int {
    ($($t:ty: $signed:expr),*) => {$(
        impl Scalar for $t {
            const SIZE: usize = std::mem::size_of::<$t>();
            const SIGNED: Option<bool> = Some($signed);
            #[inline]
            fn read(b: &[u8], off: usize) -> Self {
                <$t>::from_le_bytes(le_bytes(b, off))
            }
            #[inline]
            fn write(self, b: &mut [u8], off: usize) {
                if let Some(s) = b.get_mut(off..off.saturating_add(Self::SIZE)) {
                    s.copy_from_slice(&self.to_le_bytes());
                }
            }
        }
    )*};
}
scalar_int!(u8: false, u16: false, u32: false, u64: false, i16: true, i32: true, i64: true);

/// A fixed-size byte array field (`sockaddr_un`, `cb[48]`, opaque TCP state).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bytes<const N: usize>(pub [u8; N]);

impl<const N: usize> Default for Bytes<N> {
    fn default() -> Self {
        Bytes([0; N])
    }
}

impl<const N: usize> fmt::Debug for Bytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let end = self.0.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        write!(f, "b\"{}\"", crate::bstr::escape(&self.0[..end]))
    }
}

impl<const N: usize> Scalar for Bytes<N> {
    const SIZE: usize = N;
    const SIGNED: Option<bool> = None;
    fn read(b: &[u8], off: usize) -> Self {
        Bytes(le_bytes(b, off))
    }
    fn write(self, b: &mut [u8], off: usize) {
        if let Some(s) = b.get_mut(off..off.saturating_add(N)) {
            s.copy_from_slice(&self.0);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Layout tables.

/// How the text form and the inspector spell a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sym {
    /// A plain decimal number.
    Num,
    /// A number shown in hex (magics).
    Hex,
    /// An enumeration: known values by name, others as numbers.
    Enum(&'static [(u64, &'static str)]),
    /// A bit set: known bits by name, the rest as one hex number.
    Flags(&'static [(u64, &'static str)]),
    /// A byte array shown in the bstr spelling, trailing NULs trimmed (names, paths).
    Text,
    /// A byte array shown as hex, trailing zeros trimmed.
    Raw,
}

/// One field of a fixed-size record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldDesc {
    /// Field name, stable: it is the key in the text form.
    pub name: &'static str,
    /// Byte offset from the start of the record (header included).
    pub offset: usize,
    /// Width in bytes.
    pub size: usize,
    /// Signedness for integers, `None` for byte arrays.
    pub signed: Option<bool>,
    /// Spelling.
    pub sym: Sym,
}

/// The layout of a fixed-size record type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Record type.
    pub ty: RecordType,
    /// `h.len` the record must have.
    pub size: usize,
    /// Fields in offset order; bytes covered by no field (after the header) are padding.
    pub fields: &'static [FieldDesc],
}

impl Layout {
    /// Byte ranges (record-relative) that are padding: not the header and in no field.
    pub fn padding(&self) -> Vec<std::ops::Range<usize>> {
        let mut out = Vec::new();
        let mut at = HDR_LEN;
        for f in self.fields {
            if f.offset > at {
                out.push(at..f.offset);
            }
            at = at.max(f.offset + f.size);
        }
        if at < self.size {
            out.push(at..self.size);
        }
        out
    }
    /// The field covering record-relative byte `at`, if any.
    pub fn field_at(&self, at: usize) -> Option<&'static FieldDesc> {
        self.fields.iter().find(|f| (f.offset..f.offset + f.size).contains(&at))
    }
}

macro_rules! record {
    (
        $(#[$meta:meta])*
        $view:ident, $repr:ident, $layout:ident = $rtype:ident, $size:expr;
        { $( $(#[$fmeta:meta])* $field:ident : $fty:ty = $off:expr, $sym:expr; )* }
    ) => {
        $(#[$meta])*
        ///
        /// A checked zero-copy view: [`new_checked`](Self::new_checked) verifies the type and the
        /// exact length, after which no accessor can fail or panic.
        #[derive(Debug, Clone, Copy)]
        pub struct $view<'a> {
            rec: Record<'a>,
        }

        impl<'a> $view<'a> {
            /// Size of the record, header included.
            pub const SIZE: usize = $size;

            /// Check type and length.
            pub fn new_checked(rec: Record<'a>) -> Result<Self, WireError> {
                if rec.ty != RecordType::$rtype {
                    return Err(WireError::WrongType {
                        offset: rec.offset,
                        found: rec.ty,
                        expected: RecordType::$rtype,
                    });
                }
                if rec.bytes.len() != $size {
                    return Err(WireError::WrongLen {
                        offset: rec.offset,
                        ty: rec.ty,
                        len: rec.bytes.len(),
                        expected: $size,
                    });
                }
                Ok($view { rec })
            }

            /// The underlying record.
            pub fn record(&self) -> Record<'a> {
                self.rec
            }

            $(
                $(#[$fmeta])*
                #[inline]
                pub fn $field(&self) -> $fty {
                    <$fty as Scalar>::read(self.rec.bytes, $off)
                }
            )*
        }

        #[doc = concat!("Plain representation of a `", stringify!($rtype), "` record.")]
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $repr {
            $( $(#[$fmeta])* pub $field: $fty, )*
        }

        impl $repr {
            /// Size of the record, header included.
            pub const SIZE: usize = $size;

            /// Copy the fields out of a checked view.
            pub fn parse(view: &$view<'_>) -> Self {
                // Through a fixed-size array: one length check instead of one per field (the
                // view's length was checked; the default is unreachable).
                match <&[u8; $size]>::try_from(view.rec.bytes) {
                    Ok(b) => $repr { $( $field: <$fty as Scalar>::read(b, $off), )* },
                    Err(_) => Self::default(),
                }
            }

            /// Append the record (header, fields, zero padding) to `out`.
            pub fn emit(&self, out: &mut Vec<u8>) {
                let start = out.len();
                out.resize(start + $size, 0);
                let b = &mut out[start..];
                RecordType::$rtype.0.write(b, 0);
                ($size as u32).write(b, 4);
                $( self.$field.write(b, $off); )*
            }
        }

        #[doc = concat!("Field table of `", stringify!($rtype), "`.")]
        pub const $layout: Layout = Layout {
            ty: RecordType::$rtype,
            size: $size,
            fields: &[ $( FieldDesc {
                name: stringify!($field),
                offset: $off,
                size: <$fty as Scalar>::SIZE,
                signed: <$fty as Scalar>::SIGNED,
                sym: $sym,
            }, )* ],
        };
    };
}

/// Symbol tables.
pub mod sym {
    /// `CKPT_ARCH_*`.
    pub const ARCH: &[(u64, &str)] = &[(1, "X86_32"), (2, "X86_64"), (3, "S390X"), (4, "ARM")];
    /// `enum obj_type`.
    pub const OBJ: &[(u64, &str)] = &[
        (0, "IGNORE"),
        (1, "PID"),
        (2, "INODE"),
        (3, "FILE_TABLE"),
        (4, "FILE"),
        (5, "MM"),
        (6, "FS"),
        (7, "SIGHAND"),
        (8, "SIGNAL"),
        (9, "NS"),
        (10, "UTS_NS"),
        (11, "IPC_NS"),
        (12, "MNT_NS"),
        (13, "USER_NS"),
        (14, "CRED"),
        (15, "USER"),
        (16, "GROUPINFO"),
        (17, "SOCK"),
        (18, "TTY"),
        (19, "SECURITY_PTR"),
        (20, "SECURITY"),
        (21, "NET_NS"),
        (22, "NETDEV"),
        (23, "SEM_UNDO"),
    ];
    /// `enum file_type`.
    pub const FILE_TYPE: &[(u64, &str)] = &[
        (0, "IGNORE"),
        (1, "GENERIC"),
        (2, "PIPE"),
        (3, "FIFO"),
        (4, "SOCKET"),
        (5, "TTY"),
        (6, "EPOLL"),
        (7, "EVENTFD"),
    ];
    /// Address families.
    pub const FAMILY: &[(u64, &str)] =
        &[(0, "AF_UNSPEC"), (1, "AF_UNIX"), (2, "AF_INET"), (10, "AF_INET6"), (16, "AF_NETLINK"), (17, "AF_PACKET")];
    /// Socket types.
    pub const SOCK_TYPE: &[(u64, &str)] = &[
        (1, "SOCK_STREAM"),
        (2, "SOCK_DGRAM"),
        (3, "SOCK_RAW"),
        (4, "SOCK_RDM"),
        (5, "SOCK_SEQPACKET"),
        (10, "SOCK_PACKET"),
    ];
    /// `socket_state` (`struct socket.state`).
    pub const SS: &[(u64, &str)] =
        &[(0, "SS_FREE"), (1, "SS_UNCONNECTED"), (2, "SS_CONNECTING"), (3, "SS_CONNECTED"), (4, "SS_DISCONNECTING")];
    /// `sk_state` (`include/net/tcp_states.h`).
    pub const TCP: &[(u64, &str)] = &[
        (1, "TCP_ESTABLISHED"),
        (2, "TCP_SYN_SENT"),
        (3, "TCP_SYN_RECV"),
        (4, "TCP_FIN_WAIT1"),
        (5, "TCP_FIN_WAIT2"),
        (6, "TCP_TIME_WAIT"),
        (7, "TCP_CLOSE"),
        (8, "TCP_CLOSE_WAIT"),
        (9, "TCP_LAST_ACK"),
        (10, "TCP_LISTEN"),
        (11, "TCP_CLOSING"),
        (12, "TCP_NEW_SYN_RECV"),
    ];
    /// `sk_shutdown` bits.
    pub const SHUTDOWN: &[(u64, &str)] = &[(1, "RCV_SHUTDOWN"), (2, "SEND_SHUTDOWN")];
    /// `sk_userlocks` bits.
    pub const USERLOCKS: &[(u64, &str)] =
        &[(1, "SNDBUF_LOCK"), (2, "RCVBUF_LOCK"), (4, "BINDADDR_LOCK"), (8, "BINDPORT_LOCK")];
    /// `struct socket.flags` bits.
    pub const SOCKET_FLAGS: &[(u64, &str)] = &[
        (1 << 0, "SOCK_ASYNC_NOSPACE"),
        (1 << 1, "SOCK_ASYNC_WAITDATA"),
        (1 << 2, "SOCK_NOSPACE"),
        (1 << 3, "SOCK_PASSCRED"),
        (1 << 4, "SOCK_PASSSEC"),
    ];
    /// `enum sock_flags` bits (the 2.6.3x numbering the format was defined against).
    pub const SOCK_FLAGS: &[(u64, &str)] = &[
        (1 << 0, "SOCK_DEAD"),
        (1 << 1, "SOCK_DONE"),
        (1 << 2, "SOCK_URGINLINE"),
        (1 << 3, "SOCK_KEEPOPEN"),
        (1 << 4, "SOCK_LINGER"),
        (1 << 5, "SOCK_DESTROY"),
        (1 << 6, "SOCK_BROADCAST"),
        (1 << 7, "SOCK_TIMESTAMP"),
        (1 << 8, "SOCK_ZAPPED"),
        (1 << 9, "SOCK_USE_WRITE_QUEUE"),
        (1 << 10, "SOCK_DBG"),
        (1 << 11, "SOCK_RCVTSTAMP"),
        (1 << 12, "SOCK_RCVTSTAMPNS"),
        (1 << 13, "SOCK_LOCALROUTE"),
    ];
    /// `ckpt_hdr_socket_unix.flags` bits: Linux-CR's `LINKED` plus resocket's extensions.
    pub const UNIX_FLAGS: &[(u64, &str)] = &[
        (super::UNIX_LINKED as u64, "LINKED"),
        (super::UNIX_ACCEPTED as u64, "ACCEPTED"),
        (super::UNIX_AUTOBIND as u64, "AUTOBIND"),
        (super::UNIX_PEER_GONE as u64, "PEER_GONE"),
        (super::UNIX_EXTERNAL_PEER as u64, "EXTERNAL_PEER"),
    ];
    /// `ckpt_hdr_socket_inet.rs_flags` bits (resocket's extension in Linux-CR's padding).
    pub const INET_FLAGS: &[(u64, &str)] = &[
        (super::INET_ACCEPTED as u64, "ACCEPTED"),
        (super::INET_REUSEPORT as u64, "REUSEPORT"),
        (super::INET_V6ONLY as u64, "V6ONLY"),
    ];
    /// `RS_SOCKOPT.recorded` bits: the options the record holds (`sim::OptName` order).
    pub const SOCKOPT_RECORDED: &[(u64, &str)] = &[
        (1 << 0, "SO_PEEK_OFF"),
        (1 << 1, "SO_KEEPALIVE"),
        (1 << 2, "SO_LINGER"),
        (1 << 3, "SO_RCVTIMEO"),
        (1 << 4, "SO_SNDTIMEO"),
        (1 << 5, "SO_PRIORITY"),
        (1 << 6, "SO_MARK"),
        (1 << 7, "SO_RCVLOWAT"),
        (1 << 8, "SO_PASSSEC"),
        (1 << 9, "SO_BROADCAST"),
        (1 << 10, "SO_OOBINLINE"),
        (1 << 11, "TCP_NODELAY"),
        (1 << 12, "TCP_CORK"),
        (1 << 13, "TCP_KEEPIDLE"),
        (1 << 14, "TCP_KEEPINTVL"),
        (1 << 15, "TCP_KEEPCNT"),
        (1 << 16, "TCP_USER_TIMEOUT"),
    ];
    /// `RS_SOCKOPT.on` bits: the boolean options that are on.
    pub const SOCKOPT_ON: &[(u64, &str)] = &[
        (super::SOCKOPT_ON_KEEPALIVE as u64, "KEEPALIVE"),
        (super::SOCKOPT_ON_LINGER as u64, "LINGER"),
        (super::SOCKOPT_ON_PASSSEC as u64, "PASSSEC"),
        (super::SOCKOPT_ON_BROADCAST as u64, "BROADCAST"),
        (super::SOCKOPT_ON_OOBINLINE as u64, "OOBINLINE"),
        (super::SOCKOPT_ON_NODELAY as u64, "NODELAY"),
        (super::SOCKOPT_ON_CORK as u64, "CORK"),
    ];
}

/// `RS_SOCKOPT.on`: `SO_KEEPALIVE` is on.
pub const SOCKOPT_ON_KEEPALIVE: u32 = 1;
/// `RS_SOCKOPT.on`: `SO_LINGER`'s `l_onoff`.
pub const SOCKOPT_ON_LINGER: u32 = 2;
/// `RS_SOCKOPT.on`: `SO_PASSSEC`.
pub const SOCKOPT_ON_PASSSEC: u32 = 4;
/// `RS_SOCKOPT.on`: `SO_BROADCAST`.
pub const SOCKOPT_ON_BROADCAST: u32 = 8;
/// `RS_SOCKOPT.on`: `SO_OOBINLINE`.
pub const SOCKOPT_ON_OOBINLINE: u32 = 16;
/// `RS_SOCKOPT.on`: `TCP_NODELAY`.
pub const SOCKOPT_ON_NODELAY: u32 = 32;
/// `RS_SOCKOPT.on`: `TCP_CORK`.
pub const SOCKOPT_ON_CORK: u32 = 64;

/// Extension: the INET socket was returned by `accept()` (its local address is its listener's).
pub const INET_ACCEPTED: u16 = 1;
/// Extension: `SO_REUSEPORT` is set (`sk_reuseport`).
pub const INET_REUSEPORT: u16 = 2;
/// Extension: `IPV6_V6ONLY` is set (`sk_ipv6only`; AF_INET6 only).
pub const INET_V6ONLY: u16 = 4;
/// All bits of `ckpt_hdr_socket_inet.rs_flags` this format defines.
pub const INET_FLAGS_KNOWN: u16 = INET_ACCEPTED | INET_REUSEPORT | INET_V6ONLY;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;

/// `CKPT_UNIX_LINKED`: the path name was still linked in the filesystem at checkpoint.
pub const UNIX_LINKED: u32 = 1;
/// Extension: the socket was returned by `accept()`; its `laddr` is its listener's name.
pub const UNIX_ACCEPTED: u32 = 2;
/// Extension: the name was chosen by autobind (abstract, 5 hex digits).
pub const UNIX_AUTOBIND: u32 = 4;
/// Extension: a stream/seqpacket peer that existed has closed (`peer` is 0, `shutdown` is 3).
pub const UNIX_PEER_GONE: u32 = 8;
/// Extension: the peer lives outside the checkpointed processes (dump of live processes).
pub const UNIX_EXTERNAL_PEER: u32 = 16;
/// All bits of `ckpt_hdr_socket_unix.flags` this format defines.
pub const UNIX_FLAGS_KNOWN: u32 = UNIX_LINKED | UNIX_ACCEPTED | UNIX_AUTOBIND | UNIX_PEER_GONE | UNIX_EXTERNAL_PEER;

/// Object types used here.
pub const OBJ_FILE_TABLE: u32 = 3;
/// `CKPT_OBJ_FILE`.
pub const OBJ_FILE: u32 = 4;
/// `CKPT_OBJ_SOCK`.
pub const OBJ_SOCK: u32 = 17;
/// `CKPT_OBJ_MAX`.
pub const OBJ_MAX: u32 = 24;
/// `CKPT_FILE_SOCKET`.
pub const FILE_SOCKET: u32 = 4;

/// Address families.
pub const AF_UNIX: u16 = 1;
/// `AF_INET`.
pub const AF_INET: u16 = 2;
/// `AF_INET6`.
pub const AF_INET6: u16 = 10;
/// Socket types.
pub const SOCK_STREAM: u16 = 1;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: u16 = 2;
/// `SOCK_SEQPACKET`.
pub const SOCK_SEQPACKET: u16 = 5;
/// `SS_UNCONNECTED`.
pub const SS_UNCONNECTED: u8 = 1;
/// `SS_CONNECTING` (only embryos, as `/proc/net/unix` shows them).
pub const SS_CONNECTING: u8 = 2;
/// `SS_CONNECTED`.
pub const SS_CONNECTED: u8 = 3;
/// `TCP_ESTABLISHED`.
pub const TCP_ESTABLISHED: u8 = 1;
/// `TCP_CLOSE`.
pub const TCP_CLOSE: u8 = 7;
/// `TCP_LISTEN`.
pub const TCP_LISTEN: u8 = 10;
/// `RCV_SHUTDOWN | SEND_SHUTDOWN`.
pub const SHUTDOWN_MASK: u8 = 3;
/// FILE `f_flags`: `O_RDWR`.
pub const O_RDWR: u32 = 0o2;
/// FILE `f_flags`: `O_NONBLOCK`.
pub const O_NONBLOCK: u32 = 0o4000;
/// SOCKET `socket_flags`: `SOCK_PASSCRED` (bit 3 of `struct socket.flags`).
pub const SOCK_PASSCRED: u64 = 1 << 3;

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

/// Append a record header of type `ty` and total length `len`.
pub fn emit_header(out: &mut Vec<u8>, ty: RecordType, len: usize) {
    out.extend_from_slice(&ty.0.to_le_bytes());
    out.extend_from_slice(&(len as u32).to_le_bytes());
}

/// Append a variable-length record (`BUFFER`, `STRING`, unknown types) with this payload.
pub fn emit_raw(out: &mut Vec<u8>, ty: RecordType, payload: &[u8]) {
    emit_header(out, ty, HDR_LEN + payload.len());
    out.extend_from_slice(payload);
}

/// Length a `sockaddr_un` occupies given its `sun_path` bytes as the kernel reports it.
pub fn unix_addr_len(path: &[u8]) -> u32 {
    2 + path.len() as u32
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

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn layouts_have_their_documented_sizes_and_no_overlaps() {
        for l in LAYOUTS {
            let mut end = HDR_LEN;
            for f in l.fields {
                assert!(f.offset >= end, "{} field {} overlaps", l.ty, f.name);
                end = f.offset + f.size;
            }
            assert!(end <= l.size, "{} overruns its size", l.ty);
            assert_eq!(l.size % 8, 0, "{} is not 8-aligned", l.ty);
        }
        assert_eq!(SOCKET_LAYOUT.size, 120);
        assert_eq!(SOCKET_UNIX_LAYOUT.size, 256);
        assert_eq!(SOCKET_INET_LAYOUT.size, 328);
        assert_eq!(SOCKET_BUFFER_LAYOUT.size, 104);
    }

    #[test]
    fn the_layout_jump_table_matches_the_list() {
        for (i, l) in LAYOUTS.iter().enumerate() {
            assert_eq!(layout_index(l.ty), Some(i), "{}", l.ty);
        }
        assert_eq!(layout_index(RecordType::BUFFER), None);
    }

    #[test]
    fn framing_stops_after_first_error() {
        let mut img = Vec::new();
        emit_raw(&mut img, RecordType::BUFFER, b"abc");
        img.extend_from_slice(&[5, 0, 0, 0, 4, 0, 0, 0]); // len 4 < 8
        emit_raw(&mut img, RecordType::BUFFER, b"never seen");
        let recs: Vec<_> = Records::new(&img).collect();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1], Err(WireError::LenTooSmall { offset: 11, len: 4 }));
    }

    #[test]
    fn framing_reports_past_end_and_truncation() {
        let img = [4u8, 0, 0, 0, 200, 0, 0, 0, 1, 2];
        assert_eq!(Records::new(&img).next(), Some(Err(WireError::PastEnd { offset: 0, len: 200, remaining: 10 })));
        assert_eq!(Records::new(&img[..5]).next(), Some(Err(WireError::TruncatedHeader { offset: 0, remaining: 5 })));
    }

    #[test]
    fn repr_round_trips() {
        let repr = SocketUnixRepr { this: 3, peer: 4, laddr_family: 1, laddr_len: 7, ..Default::default() };
        let mut out = Vec::new();
        repr.emit(&mut out);
        let rec = Records::new(&out).next().unwrap().unwrap();
        let view = SocketUnix::new_checked(rec).unwrap();
        assert_eq!(SocketUnixRepr::parse(&view), repr);
        assert!(matches!(Socket::new_checked(rec), Err(WireError::WrongType { expected: RecordType::SOCKET, .. })));
    }

    #[test]
    fn rights_len_must_match_count() {
        let mut out = Vec::new();
        RightsRepr { objrefs: vec![7, 8] }.emit(&mut out);
        let rec = Records::new(&out).next().unwrap().unwrap();
        assert_eq!(RightsRepr::parse(&Rights::new_checked(rec).unwrap()).objrefs, vec![7, 8]);
        out[8] = 200; // nr_fds 200 with two entries
        let rec = Records::new(&out).next().unwrap().unwrap();
        assert!(Rights::new_checked(rec).is_err());
    }
}
