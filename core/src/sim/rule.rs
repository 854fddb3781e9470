//! The kernel rules behind the simulator's refusals: each place where the simulated AF_UNIX
//! kernel answers an errno or makes a call wait names the [`Rule`] that decided it
//! ([`Kernel::last_rule`](super::Kernel::last_rule)), and each rule says which Linux function
//! decides it, on what condition, and why — for the inspector's lessons, `restore simulate
//! --explain` and the checker. The text lives here, next to the one `match` that names every
//! rule, so a rule cannot exist without its explanation (the match is exhaustive), and a test
//! checks that every rule is used by the simulator and that no refusal of `sim/kernel.rs` is
//! left without one.
//!
//! The INET side (`sim/inet.rs`) does not name its rules yet: after a TCP/UDP call
//! `last_rule` is `None`.

use super::Errno;
use serde::{Deserialize, Serialize};

/// A rule of the Linux AF_UNIX code (or of the file-descriptor layer) that refused a call or
/// made it wait.
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
    pub const ALL: [Rule; 43] = [
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
                "sock_common_setsockopt (net/core/sock.c)",
                "an IPPROTO_IPV6 option (IPV6_V6ONLY) on an AF_UNIX socket",
                "AF_UNIX sockets take only SOL_SOCKET options. An IPv6 option means nothing to them: setsockopt fails with EOPNOTSUPP.",
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

    /// Every rule is named by a refusal of the AF_UNIX simulator, and every refusal there goes
    /// through `deny` (so it names a rule): the only `Outcome::err(` of sim/kernel.rs is the one
    /// in `deny`, and its `Outcome::WouldBlock`s are made by `wait`.
    #[test]
    fn every_rule_is_used_and_every_unix_refusal_names_one() {
        let src = include_str!("kernel.rs");
        for r in Rule::ALL {
            let variant = format!("{r:?}");
            let used = src.match_indices(&format!("Rule::{variant}")).any(|(i, _)| {
                let after = &src[i + 6 + variant.len()..];
                !after.starts_with(|c: char| c.is_alphanumeric() || c == '_')
            });
            assert!(used, "Rule::{variant} is not used in sim/kernel.rs");
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
