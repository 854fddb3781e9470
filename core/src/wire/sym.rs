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
pub const FILE_TYPE: &[(u64, &str)] =
    &[(0, "IGNORE"), (1, "GENERIC"), (2, "PIPE"), (3, "FIFO"), (4, "SOCKET"), (5, "TTY"), (6, "EPOLL"), (7, "EVENTFD")];
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
