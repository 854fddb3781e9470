//! The explanations of the socket-option rules: which level and which socket take an option,
//! and its value's range.

use super::{e, Explanation};

pub(super) const OPTION_OF_ANOTHER_LEVEL: Explanation = e(
    "do_sock_setsockopt (net/socket.c): AF_UNIX has no proto_ops.setsockopt",
    "an IPPROTO_IPV6 option (IPV6_V6ONLY) or an IPPROTO_TCP option (TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE, …) on an AF_UNIX socket",
    "AF_UNIX sockets take only SOL_SOCKET options. An IPv6 or TCP option means nothing to them: setsockopt fails with EOPNOTSUPP.",
);

pub(super) const RIGHTS_NEED_UNIX: Explanation = e(
    "__scm_send (net/core/scm.c)",
    "an SCM_RIGHTS control message on a socket that is not AF_UNIX",
    "Only AF_UNIX sockets carry file descriptors. sendmsg() with SCM_RIGHTS on a TCP or UDP socket fails with EINVAL and sends nothing.",
);

pub(super) const IPV6_OPTION_ON_IPV4: Explanation = e(
    "ip_setsockopt (net/ipv4/ip_sockglue.c)",
    "an IPPROTO_IPV6 option (IPV6_V6ONLY) on an AF_INET socket",
    "An IPv4 socket knows no IPv6 options: setsockopt(IPPROTO_IPV6, …) fails with ENOPROTOOPT.",
);

pub(super) const V6_ONLY_AFTER_BIND: Explanation = e(
    "do_ipv6_setsockopt (net/ipv6/ipv6_sockglue.c)",
    "IPV6_V6ONLY on a socket that already has a port (inet_num set)",
    "Whether an AF_INET6 socket also takes IPv4 decides which ports it holds, so IPV6_V6ONLY can only change before the socket is bound: afterwards setsockopt fails with EINVAL.",
);

pub(super) const PASS_OPTION_NOT_UNIX: Explanation = e(
    "sk_setsockopt (net/core/sock.c), sk_may_scm_recv",
    "SO_PASSCRED or SO_PASSSEC on a TCP or UDP socket",
    "Since Linux 6.16 only AF_UNIX and netlink sockets receive credentials or security contexts as control messages, so only they take SO_PASSCRED and SO_PASSSEC: on a TCP or UDP socket setsockopt fails with EOPNOTSUPP.",
);

pub(super) const TCP_OPTION_ON_UDP: Explanation = e(
    "udp_setsockopt → ip_setsockopt (net/ipv4/udp.c, net/ipv4/ip_sockglue.c)",
    "an IPPROTO_TCP option (TCP_NODELAY, TCP_CORK, TCP_KEEPIDLE, …) on a UDP socket",
    "UDP hands options of levels other than SOL_UDP and SOL_SOCKET to the IP layer, which knows only SOL_IP: setsockopt(IPPROTO_TCP, …) fails with ENOPROTOOPT.",
);

pub(super) const OPTION_VALUE_OUT_OF_RANGE: Explanation = e(
    "tcp_sock_set_keepidle_locked / tcp_sock_set_keepintvl / tcp_sock_set_keepcnt (net/ipv4/tcp.c)",
    "TCP_KEEPIDLE or TCP_KEEPINTVL outside 1..=32767 seconds, TCP_KEEPCNT outside 1..=127",
    "The keepalive timer takes an idle time and an interval of 1 to MAX_TCP_KEEPIDLE (32767) seconds and 1 to MAX_TCP_KEEPCNT (127) probes; other values fail with EINVAL and change nothing.",
);
