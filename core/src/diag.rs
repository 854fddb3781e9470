//! Diagnostics: what `validate` finds, with a stable code, a severity, the bytes concerned,
//! the record, a one-line message and a help line that explains the rule.

// bincode: the browser worker's message to the page (web/src/message.rs).
use crate::codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::ops::Range;

/// How bad a finding is. Errors make an image invalid; warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Encode, Decode)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The image is still restorable as recorded.
    Warning,
    /// The image cannot be restored faithfully.
    Error,
}

macro_rules! codes {
    ($( $(#[$m:meta])* $variant:ident = $text:literal, $sev:ident, $help:literal; )*) => {
        /// Stable diagnostic codes. The kebab-case spelling is the stable identifier.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Encode, Decode)]
        pub enum Code { $( $(#[$m])* $variant, )* }

        impl Code {
            /// Every code, in declaration order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];
            /// Stable kebab-case identifier.
            pub fn as_str(self) -> &'static str { match self { $(Code::$variant => $text,)* } }
            /// Severity of this code.
            pub fn severity(self) -> Severity { match self { $(Code::$variant => Severity::$sev,)* } }
            /// The rule, explained in one line.
            pub fn help(self) -> &'static str { match self { $(Code::$variant => $help,)* } }
            /// Parse the stable identifier.
            pub fn from_str_opt(s: &str) -> Option<Code> {
                match s { $($text => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    /// The file does not start with a HEADER record, or it is too short for one.
    MissingHeader = "missing-header", Error,
        "an image starts with a 72-byte HEADER record (type 1) followed by three uts BUFFERs";
    BadMagic = "bad-magic", Error,
        "HEADER.magic must be CHECKPOINT_MAGIC_HEAD 0x00feed0cc0a2d200";
    BadRev = "bad-rev", Error,
        "HEADER.rev must be 6, the CHECKPOINT_VERSION of the final Linux-CR format";
    BadArch = "bad-arch", Error,
        "HEADER.arch_id must be 2 (X86_64): layouts and byte order are those of x86_64";
    BadUts = "bad-uts", Error,
        "HEADER is followed by three BUFFER records (uts release, version, machine) of the lengths in HEADER.constants";
    NonzeroUflags = "nonzero-uflags", Error,
        "HEADER.uflags must be 0: no user flags are defined, and Linux-CR restart rejects others";
    Truncated = "truncated", Error,
        "the file ends inside a record header: every record starts with an 8-byte {u32 type; u32 len}";
    LenTooSmall = "len-too-small", Error,
        "h.len counts the 8-byte header itself, so it is at least 8";
    LenPastEnd = "len-past-end", Error,
        "h.len runs past the end of the file: the image is truncated or the length is corrupt";
    WrongSize = "wrong-size", Error,
        "a fixed-size record must have h.len equal to its struct size (see docs/format.md)";
    NonzeroPadding = "nonzero-padding", Error,
        "padding and reserved bytes inside a record must be zero";
    UnknownRecord = "unknown-record", Warning,
        "record types this version does not know are skipped and kept byte for byte";
    ErrorRecord = "error-record", Error,
        "a CKPT_HDR_ERROR record means the checkpoint itself failed; restart refuses the image";
    ObjrefNonpositive = "objref-nonpositive", Error,
        "objrefs are numbered from 1; 0 means none and negative values are never written";
    ObjrefDuplicate = "objref-duplicate", Error,
        "each objref is introduced by exactly one OBJREF record";
    ObjrefDangling = "objref-dangling", Error,
        "an objref must be introduced by an OBJREF record before it is used";
    ObjrefWrongType = "objref-wrong-type", Error,
        "the referenced object has another type than the field expects (e.g. a FILE where a SOCK is needed)";
    ObjrefBadType = "objref-bad-type", Error,
        "OBJREF.objtype must be FILE_TABLE, FILE or SOCK in a socket image";
    MisplacedRecord = "misplaced-record", Error,
        "the record is not where the stream grammar allows it (see docs/format.md, record order)";
    SocketWithoutFamily = "socket-without-family", Error,
        "a SOCKET record must be followed by its family record (SOCKET_UNIX or SOCKET_INET)";
    FamilyMismatch = "family-mismatch", Error,
        "the family record must match SOCKET.family and SOCKET_UNIX.this must be the socket's objref";
    UnsupportedFamily = "unsupported-family", Error,
        "only AF_UNIX, AF_INET and AF_INET6 sockets can be described";
    UnsupportedType = "unsupported-type", Error,
        "AF_UNIX sockets are SOCK_STREAM, SOCK_DGRAM or SOCK_SEQPACKET";
    UnsupportedFile = "unsupported-file", Error,
        "only socket files (f_type SOCKET) are part of a socket image";
    StateMismatch = "state-mismatch", Error,
        "socket.state must agree with sk_state: SS_CONNECTED needs TCP_ESTABLISHED; AF_UNIX allows only CLOSE, ESTABLISHED and LISTEN";
    StateType = "state-type", Error,
        "a state must make sense for the type: only stream and seqpacket sockets listen";
    PeerNotMutual = "peer-not-mutual", Error,
        "an ESTABLISHED stream or seqpacket socket and its peer name each other as peer";
    SelfConnectedStream = "self-connected-stream", Error,
        "only datagram sockets can be connected to themselves";
    PeerGone = "peer-gone", Error,
        "a connected stream socket with no peer must carry PEER_GONE and shutdown 3 (what a closed peer leaves)";
    BadShutdown = "bad-shutdown", Error,
        "sk_shutdown uses only RCV_SHUTDOWN (1) and SEND_SHUTDOWN (2)";
    BadUnixFlags = "bad-unix-flags", Error,
        "SOCKET_UNIX.flags uses only LINKED, ACCEPTED, AUTOBIND, PEER_GONE and EXTERNAL_PEER";
    ListenerWithData = "listener-with-data", Error,
        "a listening socket has no data queue of its own: its queue holds connections, recorded as RS_PENDING";
    BacklogExceeded = "backlog-exceeded", Warning,
        "a listener with backlog N admits N+1 pending connections; the restore must raise the backlog first and set it back after";
    BadPending = "bad-pending", Error,
        "RS_PENDING names a listening socket, an embryo that is connected to the client, and its position in accept order";
    QueueCountMismatch = "queue-count-mismatch", Error,
        "SOCKET_QUEUE.skb_count must equal the number of SOCKET_BUFFER records that follow it";
    QueueBytesMismatch = "queue-bytes-mismatch", Error,
        "SOCKET_QUEUE.total_bytes must equal the sum of its buffers' lin_len";
    EmptyStreamSkb = "empty-stream-skb", Error,
        "a stream send of 0 bytes queues nothing (not even its fds): an AF_UNIX stream socket's queue holds no empty skb that a restore could put back";
    BadBuffer = "bad-buffer", Error,
        "a SOCKET_BUFFER is followed by one BUFFER of exactly lin_len bytes; AF_UNIX skbs have no frags; SOCKET.has_buffers says whether a queue follows";
    BadSender = "bad-sender", Error,
        "a queued message's sender must be a socket that could have sent it (the peer, for streams)";
    DgramTooLarge = "dgram-too-large", Error,
        "a datagram is one skb: at most 4,263,616 bytes (ENOBUFS beyond, whatever the sndbuf)";
    DgramQueueFull = "dgram-queue-full", Warning,
        "a datagram receiver holds max_ack_backlog+1 datagrams from other sockets; the restore must raise it temporarily";
    BadAddress = "bad-address", Error,
        "a sun_path name is 1..=108 bytes: a path stops at its NUL (laddr_len = 2 + length + 1), an abstract name starts with NUL (laddr_len = 2 + length)";
    RelativeWithoutCwd = "relative-without-cwd", Error,
        "a socket bound to a relative path is followed by a STRING with the directory it was bound in";
    DuplicatePath = "duplicate-path", Error,
        "two live sockets cannot be bound to the same filesystem path (bind gives EADDRINUSE)";
    DuplicateAbstract = "duplicate-abstract", Error,
        "two live sockets of the same type cannot hold the same abstract name";
    RightsMissing = "rights-missing", Error,
        "SCM_RIGHTS entries name FILE objects introduced earlier in the image";
    BadRights = "bad-rights", Error,
        "RS_RIGHTS follows the BUFFER of a SOCKET_BUFFER queued on an AF_UNIX socket and carries 1..=253 file objrefs";
    BadFd = "bad-fd", Error,
        "fd numbers are non-negative and unique within a file table, fd_close_on_exec is 0 or 1, and fdt_nfds counts the FILE_DESC records";
    MissingTail = "missing-tail", Error,
        "an image ends with a TAIL record (type 9001)";
    BadTailMagic = "bad-tail-magic", Error,
        "TAIL.magic must be CHECKPOINT_MAGIC_TAIL 0x002d2a0cc0deef00";
    DataAfterTail = "data-after-tail", Error,
        "nothing may follow the TAIL record";
    UnusedSocket = "unused-socket", Warning,
        "a socket that no fd, peer, queue or pending connection reaches will not be restored";
    InetAddress = "inet-address", Error,
        "SOCKET_INET addresses fit the family: AF_INET has a 16-byte sockaddr_in of family AF_INET (or length 0) that agrees with rcv_saddr:num and daddr:dport; AF_INET6 keeps its addresses in inet6_* and has laddr_len = raddr_len = 0";
    InetPortZero = "inet-port-zero", Error,
        "a listening or connected INET socket has a local port: listen() and connect() pick an ephemeral one when none was bound, so num is never 0 there";
    InetPeer = "inet-peer", Error,
        "a connected TCP socket records its peer's address and port (daddr, dport), which a restore needs to reconnect it; a listener has none";
    InetV4Mapped = "inet-v4-mapped", Error,
        "an AF_INET6 socket on a v4-mapped address (::ffff:a.b.c.d) is not IPV6_V6ONLY, keeps the same IPv4 address in rcv_saddr, and talks only to v4-mapped peers";
    BadInetFlags = "bad-inet-flags", Error,
        "SOCKET_INET.rs_flags has only ACCEPTED, REUSEPORT and V6ONLY, and V6ONLY only on AF_INET6";
    // CRIU image directories (core/src/criu/): framing, entries, and checks across images.
    CriuBadMagic = "criu-bad-magic", Error,
        "a CRIU image starts with IMG_COMMON 0x54564319 (IMG_SERVICE 0x55105940 for stats) and its image magic; inventory.img may have only its own magic";
    CriuMagicMismatch = "criu-magic-mismatch", Error,
        "an image's magic must be the one its file name stands for (files.img: FILES, fdinfo-N.img: FDINFO, ...)";
    CriuTruncated = "criu-truncated", Error,
        "the file ends inside a size field or a protobuf varint/length: each entry is a 4-byte little-endian size and that many payload bytes";
    CriuSizePastEnd = "criu-size-past-end", Error,
        "an entry's size runs past the end of the file: the image is truncated or the size is corrupt";
    CriuExtraPastEnd = "criu-extra-past-end", Error,
        "a packet's payload (SkPacketEntry.length, or a tcp-stream's inq_len + outq_len) follows its entry and must fit in the file";
    CriuBadProtobuf = "criu-bad-protobuf", Error,
        "an entry's payload must be a well-formed protobuf message of the image's type (tags, wire types, lengths)";
    CriuMissingField = "criu-missing-field", Error,
        "a field the schema marks required is absent from the entry";
    CriuUnknownField = "criu-unknown-field", Warning,
        "a field number resocket's schema does not know (a newer CRIU): kept and shown with its bytes, not interpreted";
    CriuMissingImage = "criu-missing-image", Error,
        "a CRIU checkpoint has inventory.img and pstree.img; each task has ids-PID.img, core-PID.img and the fdinfo-N.img its files_id names";
    CriuDuplicateId = "criu-duplicate-id", Error,
        "file ids (FileEntry.id, the socket entries' id), socket inodes, pids and fd numbers within one fd table are unique";
    CriuFdDangling = "criu-fd-dangling", Error,
        "an fdinfo entry's id names a file that files.img (or a legacy per-type image) defines";
    CriuFdTypeMismatch = "criu-fd-type-mismatch", Error,
        "an fdinfo entry's type agrees with the type of the file it names";
    CriuPeerMissing = "criu-peer-missing", Error,
        "a socket's peer inode is a socket of the image, or one that CRIU marked external (uflags USK_EXTERN)";
    CriuDanglingConnection = "criu-dangling-connection", Error,
        "an ESTABLISHED stream socket without a peer is a pending client (it names a listener) or semi-closed (shutdown BOTH); CRIU refuses anything else";
    CriuPendingNotListening = "criu-pending-not-listening", Error,
        "a pending client names its listener as peer: that socket must be in state LISTEN";
    CriuQueueUnknownSocket = "criu-queue-unknown-socket", Error,
        "an sk-queues entry's id_for names a socket of the image";
    CriuScmUnknownFile = "criu-scm-unknown-file", Error,
        "SCM_RIGHTS in a queued packet name files that the image defines";
    CriuBadScm = "criu-bad-scm", Error,
        "a queued packet carries at most one control message, SCM_RIGHTS (type 1) with 1..=253 file ids";
    CriuBadNetlink = "criu-bad-netlink", Error,
        "ifaddr-N.img is `ip addr save` output: RTM_NEWADDR messages whose nlmsg_len holds nlmsghdr + ifaddrmsg, attributes whose rta_len holds their header, addresses of the family's size";
    CriuTcpStreamMissing = "criu-tcp-stream-missing", Warning,
        "an established TCP socket dumped with --tcp-established has its tcp-stream-INO.img (sequence numbers and queues)";
    BadSockopt = "bad-sockopt", Error,
        "RS_SOCKOPT names a socket that takes the options it records (TCP options on TCP sockets, SO_PASSSEC on AF_UNIX, none on an embryo), at most once, with only known bits, zero fields for options it does not record, and values the kernel can report";
    BadOob = "bad-oob", Error,
        "RS_OOB names, at most once per socket, a 1-byte skb of the queue of a stream socket, AF_UNIX or TCP (the skb sent with MSG_OOB: the out-of-band or urgent byte)";
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Code {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Code::from_str_opt(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown code {s}")))
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Encode, Decode)]
pub struct Diagnostic {
    /// Stable code.
    pub code: Code,
    /// Severity (follows from the code).
    pub severity: Severity,
    /// Bytes concerned (a field, a record, or the point where something is missing).
    pub range: Range<usize>,
    /// Index of the record concerned, counting from 0, if any.
    pub record: Option<usize>,
    /// The socket objref concerned, if any (lets the inspector select it in the graph).
    pub objref: Option<i32>,
    /// One-line message about this occurrence.
    pub message: String,
    /// The image file concerned, for inputs made of several files (a CRIU image directory):
    /// `range` and `record` (the entry index) are then within that file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// The protobuf field path concerned in a CRIU entry (`usk.peer`, `scm[0].rights[1]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
}

impl Diagnostic {
    /// A diagnostic for `code` at `range`.
    pub fn new(code: Code, range: Range<usize>, message: impl Into<String>) -> Self {
        Diagnostic {
            code,
            severity: code.severity(),
            range,
            record: None,
            objref: None,
            message: message.into(),
            file: None,
            field: None,
        }
    }
    /// Attach the record index.
    pub fn record(mut self, idx: usize) -> Self {
        self.record = Some(idx);
        self
    }
    /// Attach the socket objref.
    pub fn objref(mut self, objref: i32) -> Self {
        self.objref = Some(objref);
        self
    }
    /// Attach the file name (a CRIU image file).
    pub fn file(mut self, name: impl Into<String>) -> Self {
        self.file = Some(name.into());
        self
    }
    /// Attach the protobuf field path.
    pub fn field(mut self, path: impl Into<String>) -> Self {
        self.field = Some(path.into());
        self
    }
    /// The help line of the code.
    pub fn help(&self) -> &'static str {
        self.code.help()
    }
    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        write!(f, "{sev}[{}] ", self.code)?;
        if let Some(file) = &self.file {
            write!(f, "{file} ")?;
            if let Some(e) = self.record {
                write!(f, "entry {e} ")?;
            }
        }
        write!(f, "at {:#x}", self.range.start)?;
        if let Some(field) = &self.field {
            write!(f, " ({field})")?;
        }
        write!(f, ": {}", self.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn codes_are_unique_and_round_trip() {
        let mut seen = std::collections::BTreeSet::new();
        for &c in Code::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert_eq!(Code::from_str_opt(c.as_str()), Some(c));
            assert!(!c.help().is_empty());
        }
    }
}
