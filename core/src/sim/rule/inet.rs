//! The explanations of the AF_INET/AF_INET6 rules up to a connection: socket types, addresses,
//! bind and ports, listen, connect, accept.

use super::{e, Explanation};

pub(super) const INET_NO_SEQPACKET: Explanation = e(
    "inet_create (net/ipv4/af_inet.c, net/ipv6/af_inet6.c)",
    "SOCK_SEQPACKET with AF_INET or AF_INET6",
    "No protocol of AF_INET or AF_INET6 serves SOCK_SEQPACKET (TCP is stream, UDP is dgram; SCTP would, but is not here), so socket() fails with ESOCKTNOSUPPORT.",
);

pub(super) const INET_ADDRESS_FAMILY: Explanation = e(
    "inet_bind / inet6_bind / __inet_stream_connect / inet_dgram_connect (net/ipv4/af_inet.c, net/ipv6/af_inet6.c)",
    "the address is too short for the family (EINVAL) or of another family (EAFNOSUPPORT)",
    "An AF_INET socket takes a sockaddr_in, an AF_INET6 socket a sockaddr_in6 (UDP on AF_INET6 also a sockaddr_in). A shorter address is EINVAL; one of another family EAFNOSUPPORT.",
);

pub(super) const V4_ON_V6_ONLY_SOCKET: Explanation = e(
    "ip6_datagram_connect / udpv6_sendmsg (net/ipv6/datagram.c, net/ipv6/udp.c)",
    "an IPv4 destination for an AF_INET6 UDP socket that is IPV6_V6ONLY or bound to a plain IPv6 address",
    "This socket speaks IPv6 only (IPV6_V6ONLY, or bound to an IPv6 address that is not v4-mapped), so it has no IPv4 path: connect() fails with EAFNOSUPPORT, sendto() with ENETUNREACH.",
);

pub(super) const ADDRESS_NOT_LOCAL: Explanation = e(
    "__inet_bind / __inet6_bind (net/ipv4/af_inet.c, net/ipv6/af_inet6.c)",
    "the address is not one of this host's (inet_addr_valid_or_nonlocal, ipv6_chk_addr)",
    "A socket can only be bound to an address this host has (or a wildcard, broadcast or multicast one). The restore host lacks it, so bind() fails with EADDRNOTAVAIL: plan on the image's addresses, or give the host those addresses.",
);

pub(super) const TCP_MULTICAST_BIND: Explanation = e(
    "__inet6_bind (net/ipv6/af_inet6.c)",
    "a multicast address for a TCP socket",
    "TCP is point to point: binding a TCP socket to a multicast address fails with EINVAL.",
);

pub(super) const SCOPE_ID_NEEDED: Explanation = e(
    "__inet6_bind / tcp_v6_connect / __ip6_datagram_connect (net/ipv6/)",
    "a link-local (or link/interface-local multicast) IPv6 address with sin6_scope_id 0",
    "A link-local address means nothing without its interface: sin6_scope_id must name one, otherwise bind() and connect() fail with EINVAL.",
);

pub(super) const NO_SUCH_INTERFACE: Explanation = e(
    "__inet6_bind (net/ipv6/af_inet6.c)",
    "sin6_scope_id names no interface of this host",
    "The interface the scope id names does not exist here, so bind() fails with ENODEV.",
);

pub(super) const INET_ALREADY_BOUND: Explanation = e(
    "__inet_bind / __inet6_bind (net/ipv4/af_inet.c, net/ipv6/af_inet6.c)",
    "the socket already has a port (inet_num) or is not in TCP_CLOSE",
    "A TCP or UDP socket is bound once; connect() and listen() bind one automatically. Binding again fails with EINVAL.",
);

pub(super) const V6_ONLY_REFUSES_V4_MAPPED: Explanation = e(
    "__inet6_bind (net/ipv6/af_inet6.c)",
    "a v4-mapped address (::ffff:a.b.c.d) on an IPV6_V6ONLY socket",
    "A v4-mapped address is IPv4 in IPv6 clothing; an IPV6_V6ONLY socket does no IPv4, so binding it there fails with EINVAL.",
);

pub(super) const NO_EPHEMERAL_PORT: Explanation = e(
    "inet_csk_get_port / inet_hash_connect / udp_lib_get_port (net/ipv4/)",
    "no free port in net.ipv4.ip_local_port_range",
    "A socket without a port gets one from ip_local_port_range when it binds port 0, listens, connects or sends. None is free, so the call fails (EADDRINUSE for bind/listen, EADDRNOTAVAIL for a TCP connect, EAGAIN for UDP).",
);

pub(super) const PORT_IN_USE: Explanation = e(
    "inet_csk_bind_conflict / udp_lib_lport_inuse (net/ipv4/)",
    "another socket holds the port at a conflicting address (SO_REUSEADDR / SO_REUSEPORT do not excuse it)",
    "Two sockets may share a port only at different addresses, or when both allow it (SO_REUSEADDR for TCP sockets not listening, SO_REUSEPORT for both). Here they conflict, so bind() or listen() fails with EADDRINUSE.",
);

pub(super) const LISTEN_ON_UDP: Explanation = e(
    "sock_no_listen (net/core/sock.c)",
    "listen() on a UDP socket",
    "UDP has no connections, so it has no listen(): EOPNOTSUPP.",
);

pub(super) const INET_LISTEN_STATE: Explanation = e(
    "inet_listen (net/ipv4/af_inet.c)",
    "socket.state is not SS_UNCONNECTED, or sk_state is neither TCP_CLOSE nor TCP_LISTEN",
    "Only a socket that is not connected (nor connecting) can listen: listen() on a connected or connecting TCP socket fails with EINVAL.",
);

pub(super) const LISTEN_AFTER_CONNECTION: Explanation = e(
    "inet_listen (net/ipv4/af_inet.c)",
    "the socket has been in a connection before (refused, reset or disconnected)",
    "On some Linux builds (this machine's 6.18.44 among them) a TCP socket that has ever been in a connection cannot listen again: EINVAL, after the port was taken. Others allow it. The model lists both answers and follows EINVAL; a plan never relies on either.",
);

pub(super) const CONNECT_AFTER_LISTENING: Explanation = e(
    "__inet_stream_connect / tcp_v4_connect (net/ipv4/)",
    "the socket listened once and was disconnected",
    "A TCP socket that once listened answers connect() with EINVAL on some builds (this machine's among them) after the route lookup; others connect. The model lists both and a plan relies on neither.",
);

pub(super) const TCP_ALREADY_CONNECTED: Explanation = e(
    "__inet_stream_connect (net/ipv4/af_inet.c)",
    "socket.state is SS_CONNECTED, or sk_state is not TCP_CLOSE",
    "A TCP socket connects once. Connected (or with a connection in progress or closing), another connect() fails with EISCONN.",
);

pub(super) const EARLIER_CONNECT_FAILED: Explanation = e(
    "__inet_stream_connect (net/ipv4/af_inet.c)",
    "SS_CONNECTING and the handshake has failed (sk_state TCP_CLOSE)",
    "A second connect() after a non-blocking one reports how the first ended: its error (ECONNREFUSED after an RST), or ECONNABORTED; the socket is then unconnected again.",
);

pub(super) const INET_CONNECT_STATE: Explanation = e(
    "__inet_stream_connect (net/ipv4/af_inet.c)",
    "socket.state is SS_DISCONNECTING (or another state connect() does not take)",
    "connect() on a TCP socket whose connection is being torn down fails with EINVAL.",
);

pub(super) const NO_ROUTE: Explanation = e(
    "ip_route_output_flow / ip6_route_output (net/ipv4/route.c, net/ipv6/route.c)",
    "no route to the destination: a host with only the loopback interface, or a routing table without a route that covers it",
    "The destination is not one of this host's addresses, and no route leads elsewhere (a host with only lo has none; a checkpoint's route-N.img / route6-N.img has none whose prefix holds the destination): the call fails with ENETUNREACH.",
);

pub(super) const LOOPBACK_SOURCE_LEAVES: Explanation = e(
    "__mkroute_output (net/ipv4/route.c)",
    "an IPv4 loopback source address (127.0.0.0/8) on a route that leaves the host",
    "The socket is bound to a 127.x address (or its v4-mapped form) and the destination is not this host's: a route covers it, but it goes out of an interface that is not loopback, and a loopback source may not leave the host. The route lookup fails with EINVAL (a TCP connect, a UDP connect or send alike). IPv6's ::1 is not refused so.",
);

pub(super) const KEPT_IPV4_TRANSMIT_PATH: Explanation = e(
    "tcp_v6_connect (net/ipv6/tcp_ipv6.c)",
    "an AF_INET6 socket that once connected to a v4-mapped address connects to IPv6",
    "After a connect to a v4-mapped address the socket took the IPv4 transmit path (icsk_af_ops = &ipv6_mapped). Some builds keep it, so a later IPv6 SYN goes nowhere; others (this machine's) reset it and connect over IPv6. Both answers are listed; the model follows the first.",
);

pub(super) const SYN_UNANSWERED: Explanation = e(
    "tcp_v6_send_reset (net/ipv6/tcp_ipv6.c)",
    "a SYN from ::1 to another IPv6 address of this host where nothing listens",
    "Linux sends no RST for this SYN (a loopback source to a non-loopback address), so the connect would retransmit for minutes and then fail with ETIMEDOUT. The model reports it as a wait that never ends.",
);

pub(super) const TCP_BACKLOG_FULL: Explanation = e(
    "tcp_conn_request (net/ipv4/tcp_input.c)",
    "sk_acceptq_is_full: the listener holds more established connections than its backlog",
    "Unlike AF_UNIX, TCP does not answer EAGAIN: the listener drops the SYN and the client retransmits it after 1 s, 3 s, … so whether and when it gets in depends on time and on accept(). The model calls it a wait; a restore raises the backlog first.",
);

pub(super) const FOUR_TUPLE_IN_USE: Explanation = e(
    "__inet_hash_connect / __inet_check_established (net/ipv4/inet_hashtables.c)",
    "another socket is connected from this address and port to the same destination",
    "A TCP connection is identified by its four addresses and ports. Another socket already uses this four-tuple, so connect() fails with EADDRNOTAVAIL.",
);

pub(super) const TIME_WAIT_REUSE: Explanation = e(
    "tcp_twsk_unique (net/ipv4/tcp_ipv4.c)",
    "the four-tuple is held by a TIME_WAIT socket (tcp_tw_reuse = 2: loopback only)",
    "A closed connection leaves its four-tuple in TIME_WAIT. On loopback Linux lets a new connect reuse it once the TIME_WAIT's timestamp is a second old: before that EADDRNOTAVAIL, after it success. The model has no clock and says so.",
);

pub(super) const SELF_CONNECT_SHUT_FOR_SENDING: Explanation = e(
    "tcp_rcv_synsent_state_process (net/ipv4/tcp_input.c)",
    "a socket connecting to its own address and port while shut down for sending",
    "A simultaneous open with itself while SEND_SHUTDOWN: the connection's FIN meets itself and the attempt ends at once, ECONNABORTED for a blocking connect (EINPROGRESS, then that, for a non-blocking one), leaving a TIME_WAIT on the port.",
);

pub(super) const CONNECTION_REFUSED: Explanation = e(
    "tcp_reset (net/ipv4/tcp_input.c)",
    "an RST answers the SYN: nothing listens at the destination",
    "Nothing listens at that address and port, so the host answers the SYN with an RST and connect() fails with ECONNREFUSED. The listener must exist and listen before its clients connect.",
);

pub(super) const CONNECT_REFUSED_TIMING: Explanation = e(
    "__inet_stream_connect / tcp_reset (net/ipv4/)",
    "a non-blocking connect meeting an RST",
    "Whether the RST is processed before connect() returns depends on softirq timing: EINPROGRESS (with ECONNREFUSED left pending) or ECONNREFUSED at once. Both are listed.",
);

pub(super) const CONNECT_IN_PROGRESS: Explanation = e(
    "__inet_stream_connect (net/ipv4/af_inet.c)",
    "a non-blocking connect: the handshake is started, not awaited",
    "A non-blocking connect() sends the SYN and returns EINPROGRESS at once, even on loopback where the handshake completes right after; a second connect() or SO_ERROR tells how it ended.",
);

pub(super) const ACCEPT_ON_UDP: Explanation =
    e("sock_no_accept (net/core/sock.c)", "accept() on a UDP socket", "UDP has no connections to accept: EOPNOTSUPP.");

pub(super) const TCP_ACCEPT_NOT_LISTENING: Explanation = e(
    "inet_csk_accept (net/ipv4/inet_connection_sock.c)",
    "sk_state != TCP_LISTEN",
    "accept() takes an established connection off a listener's queue; this socket is not listening, so it fails with EINVAL.",
);

pub(super) const TCP_ACCEPT_QUEUE_EMPTY: Explanation = e(
    "inet_csk_accept (net/ipv4/inet_connection_sock.c)",
    "reqsk_queue_empty: no established connection waits",
    "No connection has completed its handshake and waits to be accepted: accept() waits (blocking) or fails with EAGAIN (non-blocking).",
);

pub(super) const TCP_CONNECT_MULTICAST: Explanation = e(
    "tcp_v6_connect (net/ipv6/tcp_ipv6.c)",
    "a TCP connect to an IPv6 multicast address",
    "TCP connects to one host: an IPv6 multicast destination has no route for it, ENETUNREACH.",
);

pub(super) const MAPPED_SOURCE_TO_IPV6: Explanation = e(
    "ip6_dst_lookup_tail (net/ipv6/ip6_output.c)",
    "a socket bound to a v4-mapped address sending to or connecting to a plain IPv6 address",
    "A socket bound to a v4-mapped address speaks IPv4; a plain IPv6 destination cannot be reached from it: EAFNOSUPPORT.",
);
