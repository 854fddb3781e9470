//! The kernel rules behind the simulator's refusals: each place where the simulated AF_UNIX
//! kernel answers an errno or makes a call wait names the [`Rule`] that decided it
//! ([`Kernel::last_rule`](super::Kernel::last_rule)), and each rule says which Linux function
//! decides it, on what condition, and why — for the inspector's lessons, `restore simulate
//! --explain` and the checker. The text lives here, next to the one `match` that names every
//! rule, so a rule cannot exist without its explanation (the match is exhaustive), and a test
//! checks that every rule is used by the simulator and that no refusal of `sim/kernel.rs` is
//! left without one.
//!
//! The TCP/UDP side (`sim/inet/`) names its rules the same way; its refusals are checked to
//! name one by the INET differential test (every refusal on random traces).

use super::Errno;
use serde::{Deserialize, Serialize};

/// A rule of the Linux socket code (AF_UNIX, TCP, UDP, the file-descriptor layer; or, for
/// [`Rule::ModelUndetermined`], the model's own refusal to guess) that refused a call or made it
/// wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    BadFd,
    BadFdNumber,
    TooManyFdsInOneMessage,
    PendingError,
    NotAUnixAddress,
    AutobindExhausted,
    AbstractNameTooLong,
    AlreadyBound,
    AbstractNameInUse,
    BadPath,
    PathExists,
    UnlinkMissing,
    StaleUnlinkNotASocket,
    StaleUnlinkStillBound,
    ListenOnDgram,
    ListenUnbound,
    ListenConnected,
    NoSuchPath,
    PathNotASocket,
    NobodyBoundThere,
    WrongSocketType,
    NoSuchAbstractName,
    NotListening,
    BacklogFull,
    AlreadyConnected,
    ConnectWhileListening,
    DgramPeerTaken,
    AcceptOnDgram,
    AcceptNotListening,
    AcceptQueueEmpty,
    AcceptAfterShutRd,
    StreamSendWithAddress,
    OobNeedsStream,
    NotConnected,
    ShutForSending,
    PeerClosedOrShutRd,
    SendBufferFull,
    DgramTooBig,
    DgramPeerClosed,
    DgramReceiverQueueFull,
    StreamRecvNotConnected,
    RecvQueueEmpty,
    DgramRecvShutNonblocking,
    OptionOfAnotherLevel,
    InetNoSeqpacket,
    RightsNeedUnix,
    Ipv6OptionOnIpv4,
    V6OnlyAfterBind,
    PassOptionNotUnix,
    TcpOptionOnUdp,
    OptionValueOutOfRange,
    InetAddressFamily,
    V4OnV6OnlySocket,
    AddressNotLocal,
    TcpMulticastBind,
    ScopeIdNeeded,
    NoSuchInterface,
    InetAlreadyBound,
    V6OnlyRefusesV4Mapped,
    NoEphemeralPort,
    PortInUse,
    ListenOnUdp,
    InetListenState,
    ListenAfterConnection,
    ConnectAfterListening,
    TcpAlreadyConnected,
    EarlierConnectFailed,
    InetConnectState,
    NoRoute,
    ModelUndetermined,
    KeptIpv4TransmitPath,
    SynUnanswered,
    TcpBacklogFull,
    FourTupleInUse,
    TimeWaitReuse,
    SelfConnectShutForSending,
    ConnectionRefused,
    ConnectRefusedTiming,
    ConnectInProgress,
    AcceptOnUdp,
    TcpAcceptNotListening,
    TcpAcceptQueueEmpty,
    ShutdownNotConnected,
    TcpSendNotConnected,
    TcpSendShut,
    TcpRecvOnListener,
    TcpRecvNotConnected,
    TcpRecvEmpty,
    UdpTooBig,
    UdpPortZero,
    UdpNoDestination,
    UdpShutForSending,
    UdpRecvEmpty,
    TcpConnectMulticast,
    MappedSourceToIpv6,
}

/// What a [`Rule`] says: where Linux decides it, on what, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Explanation {
    /// The kernel function that decides it (`unix_stream_connect`).
    pub function: &'static str,
    /// The condition, as the code tests it (`unix_recvq_full(other)`: more queued connections
    /// than `sk_max_ack_backlog`).
    pub condition: &'static str,
    /// One paragraph for a learner.
    pub text: &'static str,
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 95] = [
        Rule::BadFd,
        Rule::BadFdNumber,
        Rule::TooManyFdsInOneMessage,
        Rule::PendingError,
        Rule::NotAUnixAddress,
        Rule::AutobindExhausted,
        Rule::AbstractNameTooLong,
        Rule::AlreadyBound,
        Rule::AbstractNameInUse,
        Rule::BadPath,
        Rule::PathExists,
        Rule::UnlinkMissing,
        Rule::StaleUnlinkNotASocket,
        Rule::StaleUnlinkStillBound,
        Rule::ListenOnDgram,
        Rule::ListenUnbound,
        Rule::ListenConnected,
        Rule::NoSuchPath,
        Rule::PathNotASocket,
        Rule::NobodyBoundThere,
        Rule::WrongSocketType,
        Rule::NoSuchAbstractName,
        Rule::NotListening,
        Rule::BacklogFull,
        Rule::AlreadyConnected,
        Rule::ConnectWhileListening,
        Rule::DgramPeerTaken,
        Rule::AcceptOnDgram,
        Rule::AcceptNotListening,
        Rule::AcceptQueueEmpty,
        Rule::AcceptAfterShutRd,
        Rule::StreamSendWithAddress,
        Rule::OobNeedsStream,
        Rule::NotConnected,
        Rule::ShutForSending,
        Rule::PeerClosedOrShutRd,
        Rule::SendBufferFull,
        Rule::DgramTooBig,
        Rule::DgramPeerClosed,
        Rule::DgramReceiverQueueFull,
        Rule::StreamRecvNotConnected,
        Rule::RecvQueueEmpty,
        Rule::DgramRecvShutNonblocking,
        Rule::OptionOfAnotherLevel,
        Rule::InetNoSeqpacket,
        Rule::RightsNeedUnix,
        Rule::Ipv6OptionOnIpv4,
        Rule::V6OnlyAfterBind,
        Rule::PassOptionNotUnix,
        Rule::TcpOptionOnUdp,
        Rule::OptionValueOutOfRange,
        Rule::InetAddressFamily,
        Rule::V4OnV6OnlySocket,
        Rule::AddressNotLocal,
        Rule::TcpMulticastBind,
        Rule::ScopeIdNeeded,
        Rule::NoSuchInterface,
        Rule::InetAlreadyBound,
        Rule::V6OnlyRefusesV4Mapped,
        Rule::NoEphemeralPort,
        Rule::PortInUse,
        Rule::ListenOnUdp,
        Rule::InetListenState,
        Rule::ListenAfterConnection,
        Rule::ConnectAfterListening,
        Rule::TcpAlreadyConnected,
        Rule::EarlierConnectFailed,
        Rule::InetConnectState,
        Rule::NoRoute,
        Rule::ModelUndetermined,
        Rule::KeptIpv4TransmitPath,
        Rule::SynUnanswered,
        Rule::TcpBacklogFull,
        Rule::FourTupleInUse,
        Rule::TimeWaitReuse,
        Rule::SelfConnectShutForSending,
        Rule::ConnectionRefused,
        Rule::ConnectRefusedTiming,
        Rule::ConnectInProgress,
        Rule::AcceptOnUdp,
        Rule::TcpAcceptNotListening,
        Rule::TcpAcceptQueueEmpty,
        Rule::ShutdownNotConnected,
        Rule::TcpSendNotConnected,
        Rule::TcpSendShut,
        Rule::TcpRecvOnListener,
        Rule::TcpRecvNotConnected,
        Rule::TcpRecvEmpty,
        Rule::UdpTooBig,
        Rule::UdpPortZero,
        Rule::UdpNoDestination,
        Rule::UdpShutForSending,
        Rule::UdpRecvEmpty,
        Rule::TcpConnectMulticast,
        Rule::MappedSourceToIpv6,
    ];

    /// Its stable name (kebab-case, as serde writes it).
    pub fn name(self) -> &'static str {
        match self {
            Rule::BadFd => "bad-fd",
            Rule::BadFdNumber => "bad-fd-number",
            Rule::TooManyFdsInOneMessage => "too-many-fds-in-one-message",
            Rule::PendingError => "pending-error",
            Rule::NotAUnixAddress => "not-a-unix-address",
            Rule::AutobindExhausted => "autobind-exhausted",
            Rule::AbstractNameTooLong => "abstract-name-too-long",
            Rule::AlreadyBound => "already-bound",
            Rule::AbstractNameInUse => "abstract-name-in-use",
            Rule::BadPath => "bad-path",
            Rule::PathExists => "path-exists",
            Rule::UnlinkMissing => "unlink-missing",
            Rule::StaleUnlinkNotASocket => "stale-unlink-not-a-socket",
            Rule::StaleUnlinkStillBound => "stale-unlink-still-bound",
            Rule::ListenOnDgram => "listen-on-dgram",
            Rule::ListenUnbound => "listen-unbound",
            Rule::ListenConnected => "listen-connected",
            Rule::NoSuchPath => "no-such-path",
            Rule::PathNotASocket => "path-not-a-socket",
            Rule::NobodyBoundThere => "nobody-bound-there",
            Rule::WrongSocketType => "wrong-socket-type",
            Rule::NoSuchAbstractName => "no-such-abstract-name",
            Rule::NotListening => "not-listening",
            Rule::BacklogFull => "backlog-full",
            Rule::AlreadyConnected => "already-connected",
            Rule::ConnectWhileListening => "connect-while-listening",
            Rule::DgramPeerTaken => "dgram-peer-taken",
            Rule::AcceptOnDgram => "accept-on-dgram",
            Rule::AcceptNotListening => "accept-not-listening",
            Rule::AcceptQueueEmpty => "accept-queue-empty",
            Rule::AcceptAfterShutRd => "accept-after-shut-rd",
            Rule::StreamSendWithAddress => "stream-send-with-address",
            Rule::OobNeedsStream => "oob-needs-stream",
            Rule::NotConnected => "not-connected",
            Rule::ShutForSending => "shut-for-sending",
            Rule::PeerClosedOrShutRd => "peer-closed-or-shut-rd",
            Rule::SendBufferFull => "send-buffer-full",
            Rule::DgramTooBig => "dgram-too-big",
            Rule::DgramPeerClosed => "dgram-peer-closed",
            Rule::DgramReceiverQueueFull => "dgram-receiver-queue-full",
            Rule::StreamRecvNotConnected => "stream-recv-not-connected",
            Rule::RecvQueueEmpty => "recv-queue-empty",
            Rule::DgramRecvShutNonblocking => "dgram-recv-shut-nonblocking",
            Rule::OptionOfAnotherLevel => "option-of-another-level",
            Rule::InetNoSeqpacket => "inet-no-seqpacket",
            Rule::RightsNeedUnix => "rights-need-unix",
            Rule::Ipv6OptionOnIpv4 => "ipv6-option-on-ipv4",
            Rule::V6OnlyAfterBind => "v6-only-after-bind",
            Rule::PassOptionNotUnix => "pass-option-not-unix",
            Rule::TcpOptionOnUdp => "tcp-option-on-udp",
            Rule::OptionValueOutOfRange => "option-value-out-of-range",
            Rule::InetAddressFamily => "inet-address-family",
            Rule::V4OnV6OnlySocket => "v4-on-v6-only-socket",
            Rule::AddressNotLocal => "address-not-local",
            Rule::TcpMulticastBind => "tcp-multicast-bind",
            Rule::ScopeIdNeeded => "scope-id-needed",
            Rule::NoSuchInterface => "no-such-interface",
            Rule::InetAlreadyBound => "inet-already-bound",
            Rule::V6OnlyRefusesV4Mapped => "v6-only-refuses-v4-mapped",
            Rule::NoEphemeralPort => "no-ephemeral-port",
            Rule::PortInUse => "port-in-use",
            Rule::ListenOnUdp => "listen-on-udp",
            Rule::InetListenState => "inet-listen-state",
            Rule::ListenAfterConnection => "listen-after-connection",
            Rule::ConnectAfterListening => "connect-after-listening",
            Rule::TcpAlreadyConnected => "tcp-already-connected",
            Rule::EarlierConnectFailed => "earlier-connect-failed",
            Rule::InetConnectState => "inet-connect-state",
            Rule::NoRoute => "no-route",
            Rule::ModelUndetermined => "model-undetermined",
            Rule::KeptIpv4TransmitPath => "kept-ipv4-transmit-path",
            Rule::SynUnanswered => "syn-unanswered",
            Rule::TcpBacklogFull => "tcp-backlog-full",
            Rule::FourTupleInUse => "four-tuple-in-use",
            Rule::TimeWaitReuse => "time-wait-reuse",
            Rule::SelfConnectShutForSending => "self-connect-shut-for-sending",
            Rule::ConnectionRefused => "connection-refused",
            Rule::ConnectRefusedTiming => "connect-refused-timing",
            Rule::ConnectInProgress => "connect-in-progress",
            Rule::AcceptOnUdp => "accept-on-udp",
            Rule::TcpAcceptNotListening => "tcp-accept-not-listening",
            Rule::TcpAcceptQueueEmpty => "tcp-accept-queue-empty",
            Rule::ShutdownNotConnected => "shutdown-not-connected",
            Rule::TcpSendNotConnected => "tcp-send-not-connected",
            Rule::TcpSendShut => "tcp-send-shut",
            Rule::TcpRecvOnListener => "tcp-recv-on-listener",
            Rule::TcpRecvNotConnected => "tcp-recv-not-connected",
            Rule::TcpRecvEmpty => "tcp-recv-empty",
            Rule::UdpTooBig => "udp-too-big",
            Rule::UdpPortZero => "udp-port-zero",
            Rule::UdpNoDestination => "udp-no-destination",
            Rule::UdpShutForSending => "udp-shut-for-sending",
            Rule::UdpRecvEmpty => "udp-recv-empty",
            Rule::TcpConnectMulticast => "tcp-connect-multicast",
            Rule::MappedSourceToIpv6 => "mapped-source-to-ipv6",
        }
    }

    /// The rule with this [`name`](Rule::name).
    pub fn from_name(name: &str) -> Option<Rule> {
        Rule::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Where Linux decides it, on what, and why.
    pub fn explain(self) -> Explanation {
        let e = |function, condition, text| Explanation { function, condition, text };
        match self {
            Rule::BadFd => e(
                "fdget (fs/file.c)",
                "no open file at that descriptor",
                "Every socket call starts by looking its descriptor up in the process's file table. Nothing is open there (never opened, or already closed), so the call fails with EBADF before any socket code runs.",
            ),
            Rule::BadFdNumber => e(
                "dup2 / ksys_dup3 (fs/file.c)",
                "the target descriptor number is negative",
                "Placing a socket at a descriptor number is dup2(): a negative number is not a descriptor, so the call fails with EBADF.",
            ),
            Rule::TooManyFdsInOneMessage => e(
                "scm_fp_copy (net/core/scm.c)",
                "more than SCM_MAX_FD (253) descriptors in one SCM_RIGHTS message",
                "One SCM_RIGHTS control message carries at most 253 file descriptors. A message with more is refused with EINVAL before anything is queued; split the descriptors over several messages.",
            ),
            Rule::PendingError => e(
                "sock_error (include/net/sock.h)",
                "sk_err is set",
                "An earlier event left an error on the socket (for example ECONNRESET when a peer closed with unread data). The next call that checks sk_err reports it once and clears it; the call after that proceeds normally.",
            ),
            Rule::NotAUnixAddress => e(
                "unix_validate_addr (net/unix/af_unix.c)",
                "the address is not a sockaddr_un (sun_family != AF_UNIX, or an AF_INET address)",
                "An AF_UNIX socket is bound, connected and addressed with a sockaddr_un: a path, an abstract name or (for bind) an empty one for autobind. Any other address is refused with EINVAL.",
            ),
            Rule::AutobindExhausted => e(
                "unix_autobind (net/unix/af_unix.c)",
                "all 2^20 five-hex-digit abstract names are taken",
                "Autobind picks an abstract name of five hex digits. When all 1,048,576 of them are in use for this socket type, no name is left and the call fails with ENOSPC.",
            ),
            Rule::AbstractNameTooLong => e(
                "unix_validate_addr (net/unix/af_unix.c)",
                "the abstract name is longer than 107 bytes",
                "An abstract name lives in sun_path after its leading NUL: at most 107 bytes. A longer one does not fit a sockaddr_un and is refused with EINVAL.",
            ),
            Rule::AlreadyBound => e(
                "unix_bind_bsd / unix_bind_abstract (net/unix/af_unix.c)",
                "u->addr is already set",
                "A socket has at most one name. Binding a socket that already has one (by bind, autobind, or as an accepted socket that inherited its listener's) fails with EINVAL; for a path name the file just created is removed again.",
            ),
            Rule::AbstractNameInUse => e(
                "unix_bind_abstract (net/unix/af_unix.c)",
                "another socket of this type holds the abstract name",
                "Abstract names are unique per socket type in a network namespace. While another socket holds the name, binding it fails with EADDRINUSE; the name is free again as soon as that socket is closed (no file is left behind).",
            ),
            Rule::BadPath => e(
                "unix_validate_addr / unix_mkname_bsd (net/unix/af_unix.c)",
                "the path is empty, longer than 108 bytes, or contains a NUL",
                "A path name must fit sun_path (108 bytes with its terminating NUL) and cannot contain a NUL byte. Such a path is refused with EINVAL.",
            ),
            Rule::PathExists => e(
                "unix_bind_bsd (net/unix/af_unix.c)",
                "vfs_mknod: a file already exists at the path (EEXIST)",
                "Binding a path creates a socket file there. If any file exists at that path — even a stale socket file whose socket is long closed — mknod fails and bind reports EADDRINUSE. That is why a restore removes stale socket files before binding (and only socket files).",
            ),
            Rule::UnlinkMissing => e(
                "do_unlinkat (fs/namei.c)",
                "no file at the path",
                "unlink() of a path where nothing exists fails with ENOENT.",
            ),
            Rule::StaleUnlinkNotASocket => e(
                "resocket's stale-name removal (not a Linux rule)",
                "the file at the path is not a socket",
                "Before binding a path, the restore removes a stale socket file left there. It never removes anything else: a regular file, a directory or a link at that path stops the restore with ENOTSOCK.",
            ),
            Rule::StaleUnlinkStillBound => e(
                "resocket's stale-name removal (not a Linux rule)",
                "a live socket is bound to the file",
                "The socket file at the path belongs to a socket that is still open, so it is not stale: the restore does not remove it and stops with EADDRINUSE.",
            ),
            Rule::ListenOnDgram => e(
                "unix_listen (net/unix/af_unix.c)",
                "sock->type is neither SOCK_STREAM nor SOCK_SEQPACKET",
                "Only connection-oriented sockets listen. A datagram socket has no connections to accept, so listen() fails with EOPNOTSUPP.",
            ),
            Rule::ListenUnbound => e(
                "unix_listen (net/unix/af_unix.c)",
                "!u->addr: the socket has no name",
                "A client finds a listener by its name. An AF_UNIX socket without one cannot be reached, so listen() on it fails with EINVAL (unlike TCP, there is no automatic binding here): bind first.",
            ),
            Rule::ListenConnected => e(
                "unix_listen (net/unix/af_unix.c)",
                "sk_state is neither TCP_CLOSE nor TCP_LISTEN",
                "A socket that is already connected (or was paired by socketpair) cannot become a listener: listen() fails with EINVAL. Calling listen() again on a listener only changes its backlog.",
            ),
            Rule::NoSuchPath => e(
                "unix_find_bsd (net/unix/af_unix.c)",
                "kern_path: nothing exists at the path",
                "To connect or send to a path, the kernel looks the path up first. Nothing is there — the listener is not bound yet, or its file was removed — so the call fails with ENOENT. Create, bind and listen the server before its clients connect.",
            ),
            Rule::PathNotASocket => e(
                "unix_find_bsd (net/unix/af_unix.c)",
                "the file at the path is not a socket (!S_ISSOCK)",
                "The path names a file that is not a socket, so there is nobody to connect to: ECONNREFUSED.",
            ),
            Rule::NobodyBoundThere => e(
                "unix_find_bsd (net/unix/af_unix.c)",
                "a socket file exists but no socket is bound to its inode",
                "The socket file is stale: the socket that created it has been closed (close() never removes the file). Connecting to it fails with ECONNREFUSED.",
            ),
            Rule::WrongSocketType => e(
                "unix_find_bsd (net/unix/af_unix.c)",
                "the socket bound there has another type (sk->sk_type != type)",
                "A stream socket connects only to a stream socket, a datagram socket only to a datagram one. The socket at that name has another type, so the call fails with EPROTOTYPE.",
            ),
            Rule::NoSuchAbstractName => e(
                "unix_find_abstract (net/unix/af_unix.c)",
                "no socket of this type holds the abstract name",
                "Abstract names are looked up per socket type, with no file involved. Nobody of this type holds the name (not bound yet, or already closed), so the call fails with ECONNREFUSED.",
            ),
            Rule::NotListening => e(
                "unix_stream_connect (net/unix/af_unix.c)",
                "other->sk_state != TCP_LISTEN, or the listener is shut down for reading",
                "The name leads to a socket, but it is not listening (bound but listen() not called yet, or connected, or shut down with SHUT_RD). A connection needs a listener, so connect() fails with ECONNREFUSED: the listener must listen() before its clients connect.",
            ),
            Rule::BacklogFull => e(
                "unix_stream_connect (net/unix/af_unix.c)",
                "unix_recvq_full(other): the listener already holds more pending connections than sk_max_ack_backlog",
                "Each connect() queues one embryo socket at the listener, and connect() returns at once — before anyone calls accept(). A listener admits backlog + 1 pending connections; the next connect waits (blocking) or fails with EAGAIN (non-blocking) until accept() takes one. In a single-threaded restore nobody accepts, so a restore raises the backlog first.",
            ),
            Rule::AlreadyConnected => e(
                "unix_stream_connect (net/unix/af_unix.c)",
                "sk_state == TCP_ESTABLISHED",
                "A stream socket connects once. This one is already connected (or was paired by socketpair), so connect() fails with EISCONN — checked only after the listener was found.",
            ),
            Rule::ConnectWhileListening => e(
                "unix_stream_connect (net/unix/af_unix.c)",
                "sk_state == TCP_LISTEN",
                "A listener accepts connections; it cannot make one. connect() on it fails with EINVAL.",
            ),
            Rule::DgramPeerTaken => e(
                "unix_may_send (net/unix/af_unix.c)",
                "the target is connected to a third socket (unix_peer(other) is set and is not the sender)",
                "A connected datagram socket receives only from its peer. Connecting or sending to it from any other socket fails with EPERM.",
            ),
            Rule::AcceptOnDgram => e(
                "unix_accept (net/unix/af_unix.c)",
                "sock->type is neither SOCK_STREAM nor SOCK_SEQPACKET",
                "Datagram sockets have no connections to accept: accept() fails with EOPNOTSUPP.",
            ),
            Rule::AcceptNotListening => e(
                "unix_accept (net/unix/af_unix.c)",
                "sk_state != TCP_LISTEN",
                "accept() takes a pending connection off a listener's queue. This socket is not listening, so it fails with EINVAL.",
            ),
            Rule::AcceptQueueEmpty => e(
                "unix_accept → skb_recv_datagram (net/unix/af_unix.c)",
                "the listener's queue holds no pending connection",
                "accept() returns the oldest pending connection (first in, first out). With none queued it waits (blocking) or fails with EAGAIN (non-blocking).",
            ),
            Rule::AcceptAfterShutRd => e(
                "unix_accept → skb_recv_datagram (net/unix/af_unix.c)",
                "the queue is empty and the listener is shut down for reading",
                "A listener shut down with SHUT_RD takes no new connections, so a blocking accept() on an empty queue would wait forever: it fails with EINVAL instead.",
            ),
            Rule::StreamSendWithAddress => e(
                "unix_stream_sendmsg (net/unix/af_unix.c)",
                "msg->msg_name is set",
                "A stream socket sends only to its peer. Given a destination address it fails: EISCONN when connected, EOPNOTSUPP when not.",
            ),
            Rule::OobNeedsStream => e(
                "unix_dgram_sendmsg (net/unix/af_unix.c) / udp_sendmsg (net/ipv4/udp.c)",
                "msg->msg_flags & MSG_OOB on a dgram or seqpacket socket, or on UDP",
                "Only stream sockets carry out-of-band data: a datagram or seqpacket socket (and UDP) fails a MSG_OOB send with EOPNOTSUPP.",
            ),
            Rule::NotConnected => e(
                "unix_stream_sendmsg / unix_seqpacket_sendmsg / unix_dgram_sendmsg (net/unix/af_unix.c)",
                "no peer, and (for datagrams) no destination address",
                "There is nowhere to send: the socket is not connected and the call names no destination. It fails with ENOTCONN.",
            ),
            Rule::ShutForSending => e(
                "unix_stream_sendmsg / unix_dgram_sendmsg (net/unix/af_unix.c)",
                "sk->sk_shutdown & SEND_SHUTDOWN",
                "This socket was shut down for sending (shutdown SHUT_WR or SHUT_RDWR, or its peer's SHUT_RD mirrored onto it). Every send fails with EPIPE (and SIGPIPE unless MSG_NOSIGNAL).",
            ),
            Rule::PeerClosedOrShutRd => e(
                "unix_stream_sendmsg (net/unix/af_unix.c)",
                "the peer is dead (SOCK_DEAD) or shut down for reading (RCV_SHUTDOWN)",
                "The peer will never read again: it was closed, or shut down for reading. Sending fails with EPIPE (only if nothing of this call was sent yet; otherwise the call returns what was sent).",
            ),
            Rule::SendBufferFull => e(
                "sock_alloc_send_pskb (net/core/sock.c)",
                "sk_wmem_alloc >= sk_sndbuf",
                "Queued messages are charged to the sender until the receiver reads them. When the sender's charges reach its send buffer, the next send waits (blocking) or fails with EAGAIN (non-blocking) until the peer reads.",
            ),
            Rule::DgramTooBig => e(
                "unix_dgram_sendmsg (net/unix/af_unix.c)",
                "len > sk_sndbuf - 32",
                "A datagram is sent whole or not at all, and must fit the send buffer. One larger than sk_sndbuf - 32 bytes fails with EMSGSIZE; raise SO_SNDBUF first.",
            ),
            Rule::DgramPeerClosed => e(
                "unix_dgram_sendmsg (net/unix/af_unix.c)",
                "the destination is dead (sock_flag(other, SOCK_DEAD))",
                "The socket this one sends to has been closed. The send fails with ECONNREFUSED, and if it was the connected peer the sender is disconnected from it.",
            ),
            Rule::DgramReceiverQueueFull => e(
                "unix_dgram_sendmsg → unix_recvq_full_lockless (net/unix/af_unix.c)",
                "the receiver holds more than sk_max_ack_backlog (net.unix.max_dgram_qlen) datagrams from others",
                "A datagram receiver that is not connected back to the sender accepts at most max_dgram_qlen + 1 queued datagrams from others. The next one waits (blocking) or fails with EAGAIN (non-blocking) until the receiver reads. A restore raises the sysctl first.",
            ),
            Rule::StreamRecvNotConnected => e(
                "unix_stream_read_generic / unix_seqpacket_recvmsg (net/unix/af_unix.c)",
                "sk_state != TCP_ESTABLISHED",
                "Reading needs a connection: a stream socket that never connected fails with EINVAL, a seqpacket one with ENOTCONN.",
            ),
            Rule::RecvQueueEmpty => e(
                "unix_stream_read_generic / __skb_try_recv_datagram (net/unix/af_unix.c, net/core/datagram.c)",
                "the receive queue is empty and the socket is not shut down for reading",
                "Nothing is queued yet, and more may come: the read waits (blocking) or fails with EAGAIN (non-blocking).",
            ),
            Rule::DgramRecvShutNonblocking => e(
                "__skb_try_recv_datagram (net/core/datagram.c)",
                "a non-blocking read of an empty datagram socket shut down for reading",
                "A datagram socket shut down for reading with nothing queued answers a non-blocking read with EAGAIN (a blocking one returns 0 at once).",
            ),
            Rule::OptionOfAnotherLevel => e(
                "do_sock_setsockopt (net/socket.c): AF_UNIX has no proto_ops.setsockopt",
                "an IPPROTO_IPV6 option (IPV6_V6ONLY) or an IPPROTO_TCP option (TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE, …) on an AF_UNIX socket",
                "AF_UNIX sockets take only SOL_SOCKET options. An IPv6 or TCP option means nothing to them: setsockopt fails with EOPNOTSUPP.",
            ),
            Rule::InetNoSeqpacket => e(
                "inet_create (net/ipv4/af_inet.c, net/ipv6/af_inet6.c)",
                "SOCK_SEQPACKET with AF_INET or AF_INET6",
                "No protocol of AF_INET or AF_INET6 serves SOCK_SEQPACKET (TCP is stream, UDP is dgram; SCTP would, but is not here), so socket() fails with ESOCKTNOSUPPORT.",
            ),
            Rule::RightsNeedUnix => e(
                "__scm_send (net/core/scm.c)",
                "an SCM_RIGHTS control message on a socket that is not AF_UNIX",
                "Only AF_UNIX sockets carry file descriptors. sendmsg() with SCM_RIGHTS on a TCP or UDP socket fails with EINVAL and sends nothing.",
            ),
            Rule::Ipv6OptionOnIpv4 => e(
                "ip_setsockopt (net/ipv4/ip_sockglue.c)",
                "an IPPROTO_IPV6 option (IPV6_V6ONLY) on an AF_INET socket",
                "An IPv4 socket knows no IPv6 options: setsockopt(IPPROTO_IPV6, …) fails with ENOPROTOOPT.",
            ),
            Rule::V6OnlyAfterBind => e(
                "do_ipv6_setsockopt (net/ipv6/ipv6_sockglue.c)",
                "IPV6_V6ONLY on a socket that already has a port (inet_num set)",
                "Whether an AF_INET6 socket also takes IPv4 decides which ports it holds, so IPV6_V6ONLY can only change before the socket is bound: afterwards setsockopt fails with EINVAL.",
            ),
            Rule::PassOptionNotUnix => e(
                "sk_setsockopt (net/core/sock.c), sk_may_scm_recv",
                "SO_PASSCRED or SO_PASSSEC on a TCP or UDP socket",
                "Since Linux 6.16 only AF_UNIX and netlink sockets receive credentials or security contexts as control messages, so only they take SO_PASSCRED and SO_PASSSEC: on a TCP or UDP socket setsockopt fails with EOPNOTSUPP.",
            ),
            Rule::TcpOptionOnUdp => e(
                "udp_setsockopt → ip_setsockopt (net/ipv4/udp.c, net/ipv4/ip_sockglue.c)",
                "an IPPROTO_TCP option (TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE, …) on a UDP socket",
                "UDP hands options of levels other than SOL_UDP and SOL_SOCKET to the IP layer, which knows only SOL_IP: setsockopt(IPPROTO_TCP, …) fails with ENOPROTOOPT.",
            ),
            Rule::OptionValueOutOfRange => e(
                "tcp_sock_set_keepidle_locked / tcp_sock_set_keepintvl / tcp_sock_set_keepcnt (net/ipv4/tcp.c)",
                "TCP_KEEPIDLE or TCP_KEEPINTVL outside 1..=32767 seconds, TCP_KEEPCNT outside 1..=127",
                "The keepalive timer takes an idle time and an interval of 1 to MAX_TCP_KEEPIDLE (32767) seconds and 1 to MAX_TCP_KEEPCNT (127) probes; other values fail with EINVAL and change nothing.",
            ),
            Rule::InetAddressFamily => e(
                "inet_bind / inet6_bind / __inet_stream_connect / inet_dgram_connect (net/ipv4/af_inet.c, net/ipv6/af_inet6.c)",
                "the address is too short for the family (EINVAL) or of another family (EAFNOSUPPORT)",
                "An AF_INET socket takes a sockaddr_in, an AF_INET6 socket a sockaddr_in6 (UDP on AF_INET6 also a sockaddr_in). A shorter address is EINVAL; one of another family EAFNOSUPPORT.",
            ),
            Rule::V4OnV6OnlySocket => e(
                "ip6_datagram_connect / udpv6_sendmsg (net/ipv6/datagram.c, net/ipv6/udp.c)",
                "an IPv4 destination for an AF_INET6 UDP socket that is IPV6_V6ONLY or bound to a plain IPv6 address",
                "This socket speaks IPv6 only (IPV6_V6ONLY, or bound to an IPv6 address that is not v4-mapped), so it has no IPv4 path: connect() fails with EAFNOSUPPORT, sendto() with ENETUNREACH.",
            ),
            Rule::AddressNotLocal => e(
                "__inet_bind / __inet6_bind (net/ipv4/af_inet.c, net/ipv6/af_inet6.c)",
                "the address is not one of this host's (inet_addr_valid_or_nonlocal, ipv6_chk_addr)",
                "A socket can only be bound to an address this host has (or a wildcard, broadcast or multicast one). The restore host lacks it, so bind() fails with EADDRNOTAVAIL: plan on the image's addresses, or give the host those addresses.",
            ),
            Rule::TcpMulticastBind => e(
                "__inet6_bind (net/ipv6/af_inet6.c)",
                "a multicast address for a TCP socket",
                "TCP is point to point: binding a TCP socket to a multicast address fails with EINVAL.",
            ),
            Rule::ScopeIdNeeded => e(
                "__inet6_bind / tcp_v6_connect / __ip6_datagram_connect (net/ipv6/)",
                "a link-local (or link/interface-local multicast) IPv6 address with sin6_scope_id 0",
                "A link-local address means nothing without its interface: sin6_scope_id must name one, otherwise bind() and connect() fail with EINVAL.",
            ),
            Rule::NoSuchInterface => e(
                "__inet6_bind (net/ipv6/af_inet6.c)",
                "sin6_scope_id names no interface of this host",
                "The interface the scope id names does not exist here, so bind() fails with ENODEV.",
            ),
            Rule::InetAlreadyBound => e(
                "__inet_bind / __inet6_bind (net/ipv4/af_inet.c, net/ipv6/af_inet6.c)",
                "the socket already has a port (inet_num) or is not in TCP_CLOSE",
                "A TCP or UDP socket is bound once; connect() and listen() bind one automatically. Binding again fails with EINVAL.",
            ),
            Rule::V6OnlyRefusesV4Mapped => e(
                "__inet6_bind (net/ipv6/af_inet6.c)",
                "a v4-mapped address (::ffff:a.b.c.d) on an IPV6_V6ONLY socket",
                "A v4-mapped address is IPv4 in IPv6 clothing; an IPV6_V6ONLY socket does no IPv4, so binding it there fails with EINVAL.",
            ),
            Rule::NoEphemeralPort => e(
                "inet_csk_get_port / inet_hash_connect / udp_lib_get_port (net/ipv4/)",
                "no free port in net.ipv4.ip_local_port_range",
                "A socket without a port gets one from ip_local_port_range when it binds port 0, listens, connects or sends. None is free, so the call fails (EADDRINUSE for bind/listen, EADDRNOTAVAIL for a TCP connect, EAGAIN for UDP).",
            ),
            Rule::PortInUse => e(
                "inet_csk_bind_conflict / udp_lib_lport_inuse (net/ipv4/)",
                "another socket holds the port at a conflicting address (SO_REUSEADDR / SO_REUSEPORT do not excuse it)",
                "Two sockets may share a port only at different addresses, or when both allow it (SO_REUSEADDR for TCP sockets not listening, SO_REUSEPORT for both). Here they conflict, so bind() or listen() fails with EADDRINUSE.",
            ),
            Rule::ListenOnUdp => e(
                "sock_no_listen (net/core/sock.c)",
                "listen() on a UDP socket",
                "UDP has no connections, so it has no listen(): EOPNOTSUPP.",
            ),
            Rule::InetListenState => e(
                "inet_listen (net/ipv4/af_inet.c)",
                "socket.state is not SS_UNCONNECTED, or sk_state is neither TCP_CLOSE nor TCP_LISTEN",
                "Only a socket that is not connected (nor connecting) can listen: listen() on a connected or connecting TCP socket fails with EINVAL.",
            ),
            Rule::ListenAfterConnection => e(
                "inet_listen (net/ipv4/af_inet.c)",
                "the socket has been in a connection before (refused, reset or disconnected)",
                "On some Linux builds (this machine's 6.18.44 among them) a TCP socket that has ever been in a connection cannot listen again: EINVAL, after the port was taken. Others allow it. The model lists both answers and follows EINVAL; a plan never relies on either.",
            ),
            Rule::ConnectAfterListening => e(
                "__inet_stream_connect / tcp_v4_connect (net/ipv4/)",
                "the socket listened once and was disconnected",
                "A TCP socket that once listened answers connect() with EINVAL on some builds (this machine's among them) after the route lookup; others connect. The model lists both and a plan relies on neither.",
            ),
            Rule::TcpAlreadyConnected => e(
                "__inet_stream_connect (net/ipv4/af_inet.c)",
                "socket.state is SS_CONNECTED, or sk_state is not TCP_CLOSE",
                "A TCP socket connects once. Connected (or with a connection in progress or closing), another connect() fails with EISCONN.",
            ),
            Rule::EarlierConnectFailed => e(
                "__inet_stream_connect (net/ipv4/af_inet.c)",
                "SS_CONNECTING and the handshake has failed (sk_state TCP_CLOSE)",
                "A second connect() after a non-blocking one reports how the first ended: its error (ECONNREFUSED after an RST), or ECONNABORTED; the socket is then unconnected again.",
            ),
            Rule::InetConnectState => e(
                "__inet_stream_connect (net/ipv4/af_inet.c)",
                "socket.state is SS_DISCONNECTING (or another state connect() does not take)",
                "connect() on a TCP socket whose connection is being torn down fails with EINVAL.",
            ),
            Rule::NoRoute => e(
                "ip_route_output_flow / ip6_route_output (net/ipv4/route.c, net/ipv6/route.c)",
                "no route to the destination on a host with only the loopback interface",
                "The destination is not one of this host's addresses, and a host with only lo has no route elsewhere: the call fails with ENETUNREACH.",
            ),
            Rule::ModelUndetermined => e(
                "(the model: no single Linux function)",
                "Linux's answer depends on timing, a keyed hash, routes or buffer sizes the model does not know",
                "The model does not guess: where the real answer depends on softirq timing, a hash keyed by a random secret, routes to other interfaces or truesizes known only within bounds, the step is reported as undetermined with the reason, and the planner never builds on it.",
            ),
            Rule::KeptIpv4TransmitPath => e(
                "tcp_v6_connect (net/ipv6/tcp_ipv6.c)",
                "an AF_INET6 socket that once connected to a v4-mapped address connects to IPv6",
                "After a connect to a v4-mapped address the socket took the IPv4 transmit path (icsk_af_ops = &ipv6_mapped). Some builds keep it, so a later IPv6 SYN goes nowhere; others (this machine's) reset it and connect over IPv6. Both answers are listed; the model follows the first.",
            ),
            Rule::SynUnanswered => e(
                "tcp_v6_send_reset (net/ipv6/tcp_ipv6.c)",
                "a SYN from ::1 to another IPv6 address of this host where nothing listens",
                "Linux sends no RST for this SYN (a loopback source to a non-loopback address), so the connect would retransmit for minutes and then fail with ETIMEDOUT. The model reports it as a wait that never ends.",
            ),
            Rule::TcpBacklogFull => e(
                "tcp_conn_request (net/ipv4/tcp_input.c)",
                "sk_acceptq_is_full: the listener holds more established connections than its backlog",
                "Unlike AF_UNIX, TCP does not answer EAGAIN: the listener drops the SYN and the client retransmits it after 1 s, 3 s, … so whether and when it gets in depends on time and on accept(). The model calls it a wait; a restore raises the backlog first.",
            ),
            Rule::FourTupleInUse => e(
                "__inet_hash_connect / __inet_check_established (net/ipv4/inet_hashtables.c)",
                "another socket is connected from this address and port to the same destination",
                "A TCP connection is identified by its four addresses and ports. Another socket already uses this four-tuple, so connect() fails with EADDRNOTAVAIL.",
            ),
            Rule::TimeWaitReuse => e(
                "tcp_twsk_unique (net/ipv4/tcp_ipv4.c)",
                "the four-tuple is held by a TIME_WAIT socket (tcp_tw_reuse = 2: loopback only)",
                "A closed connection leaves its four-tuple in TIME_WAIT. On loopback Linux lets a new connect reuse it once the TIME_WAIT's timestamp is a second old: before that EADDRNOTAVAIL, after it success. The model has no clock and says so.",
            ),
            Rule::SelfConnectShutForSending => e(
                "tcp_rcv_synsent_state_process (net/ipv4/tcp_input.c)",
                "a socket connecting to its own address and port while shut down for sending",
                "A simultaneous open with itself while SEND_SHUTDOWN: the connection's FIN meets itself and the attempt ends at once, ECONNABORTED for a blocking connect (EINPROGRESS, then that, for a non-blocking one), leaving a TIME_WAIT on the port.",
            ),
            Rule::ConnectionRefused => e(
                "tcp_reset (net/ipv4/tcp_input.c)",
                "an RST answers the SYN: nothing listens at the destination",
                "Nothing listens at that address and port, so the host answers the SYN with an RST and connect() fails with ECONNREFUSED. The listener must exist and listen before its clients connect.",
            ),
            Rule::ConnectRefusedTiming => e(
                "__inet_stream_connect / tcp_reset (net/ipv4/)",
                "a non-blocking connect meeting an RST",
                "Whether the RST is processed before connect() returns depends on softirq timing: EINPROGRESS (with ECONNREFUSED left pending) or ECONNREFUSED at once. Both are listed.",
            ),
            Rule::ConnectInProgress => e(
                "__inet_stream_connect (net/ipv4/af_inet.c)",
                "a non-blocking connect: the handshake is started, not awaited",
                "A non-blocking connect() sends the SYN and returns EINPROGRESS at once, even on loopback where the handshake completes right after; a second connect() or SO_ERROR tells how it ended.",
            ),
            Rule::AcceptOnUdp => e(
                "sock_no_accept (net/core/sock.c)",
                "accept() on a UDP socket",
                "UDP has no connections to accept: EOPNOTSUPP.",
            ),
            Rule::TcpAcceptNotListening => e(
                "inet_csk_accept (net/ipv4/inet_connection_sock.c)",
                "sk_state != TCP_LISTEN",
                "accept() takes an established connection off a listener's queue; this socket is not listening, so it fails with EINVAL.",
            ),
            Rule::TcpAcceptQueueEmpty => e(
                "inet_csk_accept (net/ipv4/inet_connection_sock.c)",
                "reqsk_queue_empty: no established connection waits",
                "No connection has completed its handshake and waits to be accepted: accept() waits (blocking) or fails with EAGAIN (non-blocking).",
            ),
            Rule::ShutdownNotConnected => e(
                "inet_shutdown (net/ipv4/af_inet.c)",
                "sk_state == TCP_CLOSE",
                "shutdown() of a TCP socket that is not connected fails with ENOTCONN — after setting the shutdown bits anyway (\"hack to wake up other listeners\"), which a later connect keeps.",
            ),
            Rule::TcpSendNotConnected => e(
                "tcp_sendmsg_locked → sk_stream_wait_connect (net/ipv4/tcp.c, net/core/stream.c)",
                "sk_state is neither ESTABLISHED nor CLOSE_WAIT",
                "A TCP socket sends only over an established connection: a pending error is reported, otherwise EPIPE.",
            ),
            Rule::TcpSendShut => e(
                "tcp_sendmsg_locked (net/ipv4/tcp.c)",
                "sk_err is set, or the socket is shut down for sending",
                "The connection carries a pending error (reported once), or this side sent its FIN (shutdown SHUT_WR): nothing more can be sent, EPIPE.",
            ),
            Rule::TcpRecvOnListener => e(
                "tcp_recvmsg_locked (net/ipv4/tcp.c)",
                "sk_state == TCP_LISTEN",
                "A listener holds connections, not data: reading from it fails with ENOTCONN.",
            ),
            Rule::TcpRecvNotConnected => e(
                "tcp_recvmsg_locked (net/ipv4/tcp.c)",
                "sk_state == TCP_CLOSE with nothing to read and no FIN received",
                "The socket is not connected (never was, or its connection was reset and the error already reported): reading fails with ENOTCONN.",
            ),
            Rule::TcpRecvEmpty => e(
                "tcp_recvmsg_locked (net/ipv4/tcp.c)",
                "nothing queued, no FIN received, no error",
                "The connection is open and nothing has arrived yet: the read waits (blocking) or fails with EAGAIN (non-blocking).",
            ),
            Rule::UdpTooBig => e(
                "udp_sendmsg / udpv6_sendmsg (net/ipv4/udp.c, net/ipv6/udp.c)",
                "the datagram is longer than 65535 bytes, or than the largest payload IPv4 or IPv6 carries",
                "A UDP datagram travels in one IP packet: more than 65,507 bytes over IPv4 (65,527 over IPv6) fails with EMSGSIZE.",
            ),
            Rule::UdpPortZero => e(
                "udp_sendmsg (net/ipv4/udp.c)",
                "the destination port is 0 (or the destination is AF_UNSPEC)",
                "Port 0 is no destination: sendto() to it fails with EINVAL before any route is looked up.",
            ),
            Rule::UdpNoDestination => e(
                "udp_sendmsg (net/ipv4/udp.c)",
                "no destination address and the socket is not connected",
                "A UDP send needs a destination: given none and not connected, it fails with EDESTADDRREQ.",
            ),
            Rule::UdpShutForSending => e(
                "sock_alloc_send_pskb (net/core/sock.c)",
                "the socket is shut down for sending",
                "shutdown(SHUT_WR) of a UDP socket stops its sends: EPIPE.",
            ),
            Rule::UdpRecvEmpty => e(
                "__skb_recv_udp (net/ipv4/udp.c)",
                "no datagram queued",
                "Nothing has arrived: the read waits (blocking; it returns 0 at once when shut down for reading) or fails with EAGAIN (non-blocking).",
            ),
            Rule::TcpConnectMulticast => e(
                "tcp_v6_connect (net/ipv6/tcp_ipv6.c)",
                "a TCP connect to an IPv6 multicast address",
                "TCP connects to one host: an IPv6 multicast destination has no route for it, ENETUNREACH.",
            ),
            Rule::MappedSourceToIpv6 => e(
                "ip6_dst_lookup_tail (net/ipv6/ip6_output.c)",
                "a socket bound to a v4-mapped address sending to or connecting to a plain IPv6 address",
                "A socket bound to a v4-mapped address speaks IPv4; a plain IPv6 destination cannot be reached from it: EAFNOSUPPORT.",
            ),
        }
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A refusal: the errno a call answers, and the rule that decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub errno: Errno,
    pub rule: Rule,
}

impl Refusal {
    pub fn new(rule: Rule, errno: Errno) -> Refusal {
        Refusal { errno, rule }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every rule is named by a refusal of the simulator, and every AF_UNIX refusal goes through
    /// `deny` (so it names a rule): the only `Outcome::err(` of sim/kernel.rs and sim/state.rs is
    /// the one in `deny`, and their `Outcome::WouldBlock`s are made by `wait`. (The INET side builds some
    /// answers elsewhere, `Outcome::either` lists; the INET differential test checks that every
    /// refusal there names a rule.)
    #[test]
    fn every_rule_is_used_and_every_unix_refusal_names_one() {
        // The AF_UNIX code and the kernel state whose `deny`/`wait` it calls.
        let src = [include_str!("state.rs"), include_str!("kernel.rs")].concat();
        let inet = [
            include_str!("inet/mod.rs"),
            include_str!("inet/host.rs"),
            include_str!("inet/ports.rs"),
            include_str!("inet/route.rs"),
            include_str!("inet/tcp.rs"),
            include_str!("inet/udp.rs"),
        ];
        let both = format!("{src}{}", inet.concat());
        for r in Rule::ALL {
            let variant = format!("{r:?}");
            let used = both.match_indices(&format!("Rule::{variant}")).any(|(i, _)| {
                let after = &both[i + 6 + variant.len()..];
                !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            assert!(used, "Rule::{variant} is not used in sim/kernel.rs nor sim/inet/");
        }
        assert_eq!(src.matches("Outcome::err(").count(), 1, "a refusal in sim/kernel.rs without a rule");
        assert_eq!(src.matches("Outcome::WouldBlock {").count(), 1, "a wait in sim/kernel.rs without a rule");
    }

    /// docs/simulator.md lists every rule with the function that decides it.
    #[test]
    fn docs_list_every_rule() {
        let doc = include_str!("../../../docs/simulator.md");
        for r in Rule::ALL {
            let row = format!("| `{r}` | `{}` |", r.explain().function);
            assert!(doc.contains(&row), "docs/simulator.md lacks {row}");
        }
    }

    #[test]
    fn names_round_trip_and_every_rule_is_explained() {
        for r in Rule::ALL {
            assert_eq!(Rule::from_name(r.name()), Some(r));
            assert_eq!(serde_json::to_value(r).ok(), Some(serde_json::Value::from(r.name())));
            let e = r.explain();
            assert!(!e.function.is_empty() && !e.condition.is_empty() && e.text.len() > 40, "{r}");
        }
        let mut names: Vec<&str> = Rule::ALL.iter().map(|r| r.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), Rule::ALL.len());
    }
}
