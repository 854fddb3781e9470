//! The explanations of the TCP and UDP rules once connected (or not): shutdown, send, receive.

use super::{e, Explanation};

pub(super) const SHUTDOWN_NOT_CONNECTED: Explanation = e(
    "inet_shutdown (net/ipv4/af_inet.c)",
    "sk_state == TCP_CLOSE",
    "shutdown() of a TCP socket that is not connected fails with ENOTCONN — after setting the shutdown bits anyway (\"hack to wake up other listeners\"), which a later connect keeps.",
);

pub(super) const TCP_SEND_NOT_CONNECTED: Explanation = e(
    "tcp_sendmsg_locked → sk_stream_wait_connect (net/ipv4/tcp.c, net/core/stream.c)",
    "sk_state is neither ESTABLISHED nor CLOSE_WAIT",
    "A TCP socket sends only over an established connection: a pending error is reported, otherwise EPIPE.",
);

pub(super) const TCP_SEND_SHUT: Explanation = e(
    "tcp_sendmsg_locked (net/ipv4/tcp.c)",
    "sk_err is set, or the socket is shut down for sending",
    "The connection carries a pending error (reported once), or this side sent its FIN (shutdown SHUT_WR): nothing more can be sent, EPIPE.",
);

pub(super) const TCP_RECV_ON_LISTENER: Explanation = e(
    "tcp_recvmsg_locked (net/ipv4/tcp.c)",
    "sk_state == TCP_LISTEN",
    "A listener holds connections, not data: reading from it fails with ENOTCONN.",
);

pub(super) const TCP_RECV_NOT_CONNECTED: Explanation = e(
    "tcp_recvmsg_locked (net/ipv4/tcp.c)",
    "sk_state == TCP_CLOSE with nothing to read and no FIN received",
    "The socket is not connected (never was, or its connection was reset and the error already reported): reading fails with ENOTCONN.",
);

pub(super) const TCP_RECV_EMPTY: Explanation = e(
    "tcp_recvmsg_locked (net/ipv4/tcp.c)",
    "nothing queued, no FIN received, no error",
    "The connection is open and nothing has arrived yet: the read waits (blocking) or fails with EAGAIN (non-blocking).",
);

pub(super) const UDP_TOO_BIG: Explanation = e(
    "udp_sendmsg / udpv6_sendmsg (net/ipv4/udp.c, net/ipv6/udp.c)",
    "the datagram is longer than 65535 bytes, or than the largest payload IPv4 or IPv6 carries",
    "A UDP datagram travels in one IP packet: more than 65,507 bytes over IPv4 (65,527 over IPv6) fails with EMSGSIZE.",
);

pub(super) const UDP_PORT_ZERO: Explanation = e(
    "udp_sendmsg (net/ipv4/udp.c)",
    "the destination port is 0 (or the destination is AF_UNSPEC)",
    "Port 0 is no destination: sendto() to it fails with EINVAL before any route is looked up.",
);

pub(super) const UDP_NO_DESTINATION: Explanation = e(
    "udp_sendmsg (net/ipv4/udp.c)",
    "no destination address and the socket is not connected",
    "A UDP send needs a destination: given none and not connected, it fails with EDESTADDRREQ.",
);

pub(super) const UDP_SHUT_FOR_SENDING: Explanation = e(
    "sock_alloc_send_pskb (net/core/sock.c)",
    "the socket is shut down for sending",
    "shutdown(SHUT_WR) of a UDP socket stops its sends: EPIPE.",
);

pub(super) const UDP_RECV_EMPTY: Explanation = e(
    "__skb_recv_udp (net/ipv4/udp.c)",
    "no datagram queued",
    "Nothing has arrived: the read waits (blocking; it returns 0 at once when shut down for reading) or fails with EAGAIN (non-blocking).",
);
