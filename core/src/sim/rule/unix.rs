//! The explanations of the AF_UNIX rules: names (bind, unlink), listen, connect and accept,
//! sending and receiving (`net/unix/af_unix.c`).

use super::{e, Explanation};

pub(super) const NOT_A_UNIX_ADDRESS: Explanation = e(
    "unix_validate_addr (net/unix/af_unix.c)",
    "the address is not a sockaddr_un (sun_family != AF_UNIX, or an AF_INET address)",
    "An AF_UNIX socket is bound, connected and addressed with a sockaddr_un: a path, an abstract name or (for bind) an empty one for autobind. Any other address is refused with EINVAL.",
);

pub(super) const AUTOBIND_EXHAUSTED: Explanation = e(
    "unix_autobind (net/unix/af_unix.c)",
    "all 2^20 five-hex-digit abstract names are taken",
    "Autobind picks an abstract name of five hex digits. When all 1,048,576 of them are in use for this socket type, no name is left and the call fails with ENOSPC.",
);

pub(super) const ABSTRACT_NAME_TOO_LONG: Explanation = e(
    "unix_validate_addr (net/unix/af_unix.c)",
    "the abstract name is longer than 107 bytes",
    "An abstract name lives in sun_path after its leading NUL: at most 107 bytes. A longer one does not fit a sockaddr_un and is refused with EINVAL.",
);

pub(super) const ALREADY_BOUND: Explanation = e(
    "unix_bind_bsd / unix_bind_abstract (net/unix/af_unix.c)",
    "u->addr is already set",
    "A socket has at most one name. Binding a socket that already has one (by bind, autobind, or as an accepted socket that inherited its listener's) fails with EINVAL; for a path name the file just created is removed again.",
);

pub(super) const ABSTRACT_NAME_IN_USE: Explanation = e(
    "unix_bind_abstract (net/unix/af_unix.c)",
    "another socket of this type holds the abstract name",
    "Abstract names are unique per socket type in a network namespace. While another socket holds the name, binding it fails with EADDRINUSE; the name is free again as soon as that socket is closed (no file is left behind).",
);

pub(super) const BAD_PATH: Explanation = e(
    "unix_validate_addr / unix_mkname_bsd (net/unix/af_unix.c)",
    "the path is empty, longer than 108 bytes, or contains a NUL",
    "A path name must fit sun_path (108 bytes with its terminating NUL) and cannot contain a NUL byte. Such a path is refused with EINVAL.",
);

pub(super) const PATH_EXISTS: Explanation = e(
    "unix_bind_bsd (net/unix/af_unix.c)",
    "vfs_mknod: a file already exists at the path (EEXIST)",
    "Binding a path creates a socket file there. If any file exists at that path — even a stale socket file whose socket is long closed — mknod fails and bind reports EADDRINUSE. That is why a restore removes stale socket files before binding (and only socket files).",
);

pub(super) const UNLINK_MISSING: Explanation =
    e("do_unlinkat (fs/namei.c)", "no file at the path", "unlink() of a path where nothing exists fails with ENOENT.");

pub(super) const STALE_UNLINK_NOT_A_SOCKET: Explanation = e(
    "resocket's stale-name removal (not a Linux rule)",
    "the file at the path is not a socket",
    "Before binding a path, the restore removes a stale socket file left there. It never removes anything else: a regular file, a directory or a link at that path stops the restore with ENOTSOCK.",
);

pub(super) const STALE_UNLINK_STILL_BOUND: Explanation = e(
    "resocket's stale-name removal (not a Linux rule)",
    "a live socket is bound to the file",
    "The socket file at the path belongs to a socket that is still open, so it is not stale: the restore does not remove it and stops with EADDRINUSE.",
);

pub(super) const LISTEN_ON_DGRAM: Explanation = e(
    "unix_listen (net/unix/af_unix.c)",
    "sock->type is neither SOCK_STREAM nor SOCK_SEQPACKET",
    "Only connection-oriented sockets listen. A datagram socket has no connections to accept, so listen() fails with EOPNOTSUPP.",
);

pub(super) const LISTEN_UNBOUND: Explanation = e(
    "unix_listen (net/unix/af_unix.c)",
    "!u->addr: the socket has no name",
    "A client finds a listener by its name. An AF_UNIX socket without one cannot be reached, so listen() on it fails with EINVAL (unlike TCP, there is no automatic binding here): bind first.",
);

pub(super) const LISTEN_CONNECTED: Explanation = e(
    "unix_listen (net/unix/af_unix.c)",
    "sk_state is neither TCP_CLOSE nor TCP_LISTEN",
    "A socket that is already connected (or was paired by socketpair) cannot become a listener: listen() fails with EINVAL. Calling listen() again on a listener only changes its backlog.",
);

pub(super) const NO_SUCH_PATH: Explanation = e(
    "unix_find_bsd (net/unix/af_unix.c)",
    "kern_path: nothing exists at the path",
    "To connect or send to a path, the kernel looks the path up first. Nothing is there — the listener is not bound yet, or its file was removed — so the call fails with ENOENT. Create, bind and listen the server before its clients connect.",
);

pub(super) const PATH_NOT_A_SOCKET: Explanation = e(
    "unix_find_bsd (net/unix/af_unix.c)",
    "the file at the path is not a socket (!S_ISSOCK)",
    "The path names a file that is not a socket, so there is nobody to connect to: ECONNREFUSED.",
);

pub(super) const NOBODY_BOUND_THERE: Explanation = e(
    "unix_find_bsd (net/unix/af_unix.c)",
    "a socket file exists but no socket is bound to its inode",
    "The socket file is stale: the socket that created it has been closed (close() never removes the file). Connecting to it fails with ECONNREFUSED.",
);

pub(super) const WRONG_SOCKET_TYPE: Explanation = e(
    "unix_find_bsd (net/unix/af_unix.c)",
    "the socket bound there has another type (sk->sk_type != type)",
    "A stream socket connects only to a stream socket, a datagram socket only to a datagram one. The socket at that name has another type, so the call fails with EPROTOTYPE.",
);

pub(super) const NO_SUCH_ABSTRACT_NAME: Explanation = e(
    "unix_find_abstract (net/unix/af_unix.c)",
    "no socket of this type holds the abstract name",
    "Abstract names are looked up per socket type, with no file involved. Nobody of this type holds the name (not bound yet, or already closed), so the call fails with ECONNREFUSED.",
);

pub(super) const NOT_LISTENING: Explanation = e(
    "unix_stream_connect (net/unix/af_unix.c)",
    "other->sk_state != TCP_LISTEN, or the listener is shut down for reading",
    "The name leads to a socket, but it is not listening (bound but listen() not called yet, or connected, or shut down with SHUT_RD). A connection needs a listener, so connect() fails with ECONNREFUSED: the listener must listen() before its clients connect.",
);

pub(super) const BACKLOG_FULL: Explanation = e(
    "unix_stream_connect (net/unix/af_unix.c)",
    "unix_recvq_full(other): the listener already holds more pending connections than sk_max_ack_backlog",
    "Each connect() queues one embryo socket at the listener, and connect() returns at once — before anyone calls accept(). A listener admits backlog + 1 pending connections; the next connect waits (blocking) or fails with EAGAIN (non-blocking) until accept() takes one. In a single-threaded restore nobody accepts, so a restore raises the backlog first.",
);

pub(super) const ALREADY_CONNECTED: Explanation = e(
    "unix_stream_connect (net/unix/af_unix.c)",
    "sk_state == TCP_ESTABLISHED",
    "A stream socket connects once. This one is already connected (or was paired by socketpair), so connect() fails with EISCONN — checked only after the listener was found.",
);

pub(super) const CONNECT_WHILE_LISTENING: Explanation = e(
    "unix_stream_connect (net/unix/af_unix.c)",
    "sk_state == TCP_LISTEN",
    "A listener accepts connections; it cannot make one. connect() on it fails with EINVAL.",
);

pub(super) const DGRAM_PEER_TAKEN: Explanation = e(
    "unix_may_send (net/unix/af_unix.c)",
    "the target is connected to a third socket (unix_peer(other) is set and is not the sender)",
    "A connected datagram socket receives only from its peer. Connecting or sending to it from any other socket fails with EPERM.",
);

pub(super) const ACCEPT_ON_DGRAM: Explanation = e(
    "unix_accept (net/unix/af_unix.c)",
    "sock->type is neither SOCK_STREAM nor SOCK_SEQPACKET",
    "Datagram sockets have no connections to accept: accept() fails with EOPNOTSUPP.",
);

pub(super) const ACCEPT_NOT_LISTENING: Explanation = e(
    "unix_accept (net/unix/af_unix.c)",
    "sk_state != TCP_LISTEN",
    "accept() takes a pending connection off a listener's queue. This socket is not listening, so it fails with EINVAL.",
);

pub(super) const ACCEPT_QUEUE_EMPTY: Explanation = e(
    "unix_accept → skb_recv_datagram (net/unix/af_unix.c)",
    "the listener's queue holds no pending connection",
    "accept() returns the oldest pending connection (first in, first out). With none queued it waits (blocking) or fails with EAGAIN (non-blocking).",
);

pub(super) const ACCEPT_AFTER_SHUT_RD: Explanation = e(
    "unix_accept → skb_recv_datagram (net/unix/af_unix.c)",
    "the queue is empty and the listener is shut down for reading",
    "A listener shut down with SHUT_RD takes no new connections, so a blocking accept() on an empty queue would wait forever: it fails with EINVAL instead.",
);

pub(super) const STREAM_SEND_WITH_ADDRESS: Explanation = e(
    "unix_stream_sendmsg (net/unix/af_unix.c)",
    "msg->msg_name is set",
    "A stream socket sends only to its peer. Given a destination address it fails: EISCONN when connected, EOPNOTSUPP when not.",
);

pub(super) const OOB_NEEDS_STREAM: Explanation = e(
    "unix_dgram_sendmsg (net/unix/af_unix.c) / udp_sendmsg (net/ipv4/udp.c)",
    "msg->msg_flags & MSG_OOB on a dgram or seqpacket socket, or on UDP over IPv4",
    "Only stream sockets carry out-of-band data: a datagram or seqpacket socket (and UDP over IPv4) fails a MSG_OOB send with EOPNOTSUPP. (UDP over IPv6 ignores the flag and sends the byte as a datagram.)",
);

pub(super) const NOT_CONNECTED: Explanation = e(
    "unix_stream_sendmsg / unix_seqpacket_sendmsg / unix_dgram_sendmsg (net/unix/af_unix.c)",
    "no peer, and (for datagrams) no destination address",
    "There is nowhere to send: the socket is not connected and the call names no destination. It fails with ENOTCONN.",
);

pub(super) const SHUT_FOR_SENDING: Explanation = e(
    "unix_stream_sendmsg / unix_dgram_sendmsg (net/unix/af_unix.c)",
    "sk->sk_shutdown & SEND_SHUTDOWN",
    "This socket was shut down for sending (shutdown SHUT_WR or SHUT_RDWR, or its peer's SHUT_RD mirrored onto it). Every send fails with EPIPE (and SIGPIPE unless MSG_NOSIGNAL).",
);

pub(super) const PEER_CLOSED_OR_SHUT_RD: Explanation = e(
    "unix_stream_sendmsg (net/unix/af_unix.c)",
    "the peer is dead (SOCK_DEAD) or shut down for reading (RCV_SHUTDOWN)",
    "The peer will never read again: it was closed, or shut down for reading. Sending fails with EPIPE (only if nothing of this call was sent yet; otherwise the call returns what was sent).",
);

pub(super) const SEND_BUFFER_FULL: Explanation = e(
    "sock_alloc_send_pskb (net/core/sock.c)",
    "sk_wmem_alloc >= sk_sndbuf",
    "Queued messages are charged to the sender until the receiver reads them. When the sender's charges reach its send buffer, the next send waits (blocking) or fails with EAGAIN (non-blocking) until the peer reads.",
);

pub(super) const DGRAM_TOO_BIG: Explanation = e(
    "unix_dgram_sendmsg (net/unix/af_unix.c)",
    "len > sk_sndbuf - 32",
    "A datagram is sent whole or not at all, and must fit the send buffer. One larger than sk_sndbuf - 32 bytes fails with EMSGSIZE; raise SO_SNDBUF first.",
);

pub(super) const DGRAM_OVER_SKB_MAX: Explanation = e(
    "sock_alloc_send_pskb / alloc_skb_with_frags (net/core/sock.c, net/core/skbuff.c)",
    "len > 4,263,616 bytes: a datagram's skb is one kmalloc'd head of at most 4 MiB (less its skb_shared_info) plus at most 17 page fragments",
    "A datagram is one skb, and an skb cannot be made arbitrarily large: its linear head comes from kmalloc, which stops at 4 MiB, and at most MAX_SKB_FRAGS (17) pages hang off it. A datagram of more than 4,263,616 bytes (x86_64, 4 KiB pages) fails with ENOBUFS however large SO_SNDBUF is; under memory fragmentation a smaller one can fail the same way.",
);

pub(super) const DGRAM_PEER_CLOSED: Explanation = e(
    "unix_dgram_sendmsg (net/unix/af_unix.c)",
    "the destination is dead (sock_flag(other, SOCK_DEAD))",
    "The socket this one sends to has been closed. The send fails with ECONNREFUSED, and if it was the connected peer the sender is disconnected from it.",
);

pub(super) const DGRAM_RECEIVER_QUEUE_FULL: Explanation = e(
    "unix_dgram_sendmsg → unix_recvq_full_lockless (net/unix/af_unix.c)",
    "the receiver holds more than sk_max_ack_backlog (net.unix.max_dgram_qlen) datagrams from others",
    "A datagram receiver that is not connected back to the sender accepts at most max_dgram_qlen + 1 queued datagrams from others. The next one waits (blocking) or fails with EAGAIN (non-blocking) until the receiver reads. A restore raises the sysctl first.",
);

pub(super) const STREAM_RECV_NOT_CONNECTED: Explanation = e(
    "unix_stream_read_generic / unix_seqpacket_recvmsg (net/unix/af_unix.c)",
    "sk_state != TCP_ESTABLISHED",
    "Reading needs a connection: a stream socket that never connected fails with EINVAL, a seqpacket one with ENOTCONN.",
);

pub(super) const RECV_QUEUE_EMPTY: Explanation = e(
    "unix_stream_read_generic / __skb_try_recv_datagram (net/unix/af_unix.c, net/core/datagram.c)",
    "the receive queue is empty and the socket is not shut down for reading",
    "Nothing is queued yet, and more may come: the read waits (blocking) or fails with EAGAIN (non-blocking).",
);

pub(super) const DGRAM_RECV_SHUT_NONBLOCKING: Explanation = e(
    "__skb_try_recv_datagram (net/core/datagram.c)",
    "a non-blocking read of an empty datagram socket shut down for reading",
    "A datagram socket shut down for reading with nothing queued answers a non-blocking read with EAGAIN (a blocking one returns 0 at once).",
);
