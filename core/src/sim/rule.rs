//! The kernel rules behind the simulator's refusals: each place where the simulated AF_UNIX
//! kernel answers an errno or makes a call wait names the [`Rule`] that decided it
//! ([`Kernel::last_rule`](super::Kernel::last_rule)), and each rule says which Linux function
//! decides it, on what condition, and why — for the inspector's lessons, `restore simulate
//! --explain` and the checker. The text lives here, next to the one `match` that names every
//! rule, so a rule cannot exist without its explanation (the match is exhaustive; the text is in
//! one file per family: `rule/common.rs`, `rule/unix.rs`, `rule/sockopt.rs`, `rule/inet.rs`,
//! `rule/transfer.rs`, which use only this file), and a test checks that every rule is used by
//! the simulator and that no refusal of `sim/kernel.rs` or `sim/unix/` is left without one.
//!
//! The TCP/UDP side (`sim/inet/`) names its rules the same way; its refusals are checked to
//! name one by the INET differential test (every refusal on random traces).

use super::Errno;
use serde::{Deserialize, Serialize};

/// A rule of the Linux socket code (AF_UNIX, TCP, UDP, the file-descriptor layer; or, for
/// [`Rule::ModelUndetermined`], the model's own refusal to guess) that refused a call or made it
/// wait.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
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
    DgramOverSkbMax,
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
    LoopbackSourceLeaves,
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

mod common;
mod inet;
mod sockopt;
mod transfer;
mod unix;

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

/// An [`Explanation`], in the order its fields are written.
const fn e(function: &'static str, condition: &'static str, text: &'static str) -> Explanation {
    Explanation { function, condition, text }
}

impl Rule {
    /// Every rule.
    pub const ALL: [Rule; 97] = [
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
        Rule::DgramOverSkbMax,
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
        Rule::LoopbackSourceLeaves,
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
            Rule::DgramOverSkbMax => "dgram-over-skb-max",
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
            Rule::LoopbackSourceLeaves => "loopback-source-leaves",
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
        match self {
            Rule::BadFd => common::BAD_FD,
            Rule::BadFdNumber => common::BAD_FD_NUMBER,
            Rule::TooManyFdsInOneMessage => common::TOO_MANY_FDS_IN_ONE_MESSAGE,
            Rule::PendingError => common::PENDING_ERROR,
            Rule::NotAUnixAddress => unix::NOT_A_UNIX_ADDRESS,
            Rule::AutobindExhausted => unix::AUTOBIND_EXHAUSTED,
            Rule::AbstractNameTooLong => unix::ABSTRACT_NAME_TOO_LONG,
            Rule::AlreadyBound => unix::ALREADY_BOUND,
            Rule::AbstractNameInUse => unix::ABSTRACT_NAME_IN_USE,
            Rule::BadPath => unix::BAD_PATH,
            Rule::PathExists => unix::PATH_EXISTS,
            Rule::UnlinkMissing => unix::UNLINK_MISSING,
            Rule::StaleUnlinkNotASocket => unix::STALE_UNLINK_NOT_A_SOCKET,
            Rule::StaleUnlinkStillBound => unix::STALE_UNLINK_STILL_BOUND,
            Rule::ListenOnDgram => unix::LISTEN_ON_DGRAM,
            Rule::ListenUnbound => unix::LISTEN_UNBOUND,
            Rule::ListenConnected => unix::LISTEN_CONNECTED,
            Rule::NoSuchPath => unix::NO_SUCH_PATH,
            Rule::PathNotASocket => unix::PATH_NOT_A_SOCKET,
            Rule::NobodyBoundThere => unix::NOBODY_BOUND_THERE,
            Rule::WrongSocketType => unix::WRONG_SOCKET_TYPE,
            Rule::NoSuchAbstractName => unix::NO_SUCH_ABSTRACT_NAME,
            Rule::NotListening => unix::NOT_LISTENING,
            Rule::BacklogFull => unix::BACKLOG_FULL,
            Rule::AlreadyConnected => unix::ALREADY_CONNECTED,
            Rule::ConnectWhileListening => unix::CONNECT_WHILE_LISTENING,
            Rule::DgramPeerTaken => unix::DGRAM_PEER_TAKEN,
            Rule::AcceptOnDgram => unix::ACCEPT_ON_DGRAM,
            Rule::AcceptNotListening => unix::ACCEPT_NOT_LISTENING,
            Rule::AcceptQueueEmpty => unix::ACCEPT_QUEUE_EMPTY,
            Rule::AcceptAfterShutRd => unix::ACCEPT_AFTER_SHUT_RD,
            Rule::StreamSendWithAddress => unix::STREAM_SEND_WITH_ADDRESS,
            Rule::OobNeedsStream => unix::OOB_NEEDS_STREAM,
            Rule::NotConnected => unix::NOT_CONNECTED,
            Rule::ShutForSending => unix::SHUT_FOR_SENDING,
            Rule::PeerClosedOrShutRd => unix::PEER_CLOSED_OR_SHUT_RD,
            Rule::SendBufferFull => unix::SEND_BUFFER_FULL,
            Rule::DgramTooBig => unix::DGRAM_TOO_BIG,
            Rule::DgramOverSkbMax => unix::DGRAM_OVER_SKB_MAX,
            Rule::DgramPeerClosed => unix::DGRAM_PEER_CLOSED,
            Rule::DgramReceiverQueueFull => unix::DGRAM_RECEIVER_QUEUE_FULL,
            Rule::StreamRecvNotConnected => unix::STREAM_RECV_NOT_CONNECTED,
            Rule::RecvQueueEmpty => unix::RECV_QUEUE_EMPTY,
            Rule::DgramRecvShutNonblocking => unix::DGRAM_RECV_SHUT_NONBLOCKING,
            Rule::OptionOfAnotherLevel => sockopt::OPTION_OF_ANOTHER_LEVEL,
            Rule::InetNoSeqpacket => inet::INET_NO_SEQPACKET,
            Rule::RightsNeedUnix => sockopt::RIGHTS_NEED_UNIX,
            Rule::Ipv6OptionOnIpv4 => sockopt::IPV6_OPTION_ON_IPV4,
            Rule::V6OnlyAfterBind => sockopt::V6_ONLY_AFTER_BIND,
            Rule::PassOptionNotUnix => sockopt::PASS_OPTION_NOT_UNIX,
            Rule::TcpOptionOnUdp => sockopt::TCP_OPTION_ON_UDP,
            Rule::OptionValueOutOfRange => sockopt::OPTION_VALUE_OUT_OF_RANGE,
            Rule::InetAddressFamily => inet::INET_ADDRESS_FAMILY,
            Rule::V4OnV6OnlySocket => inet::V4_ON_V6_ONLY_SOCKET,
            Rule::AddressNotLocal => inet::ADDRESS_NOT_LOCAL,
            Rule::TcpMulticastBind => inet::TCP_MULTICAST_BIND,
            Rule::ScopeIdNeeded => inet::SCOPE_ID_NEEDED,
            Rule::NoSuchInterface => inet::NO_SUCH_INTERFACE,
            Rule::InetAlreadyBound => inet::INET_ALREADY_BOUND,
            Rule::V6OnlyRefusesV4Mapped => inet::V6_ONLY_REFUSES_V4_MAPPED,
            Rule::NoEphemeralPort => inet::NO_EPHEMERAL_PORT,
            Rule::PortInUse => inet::PORT_IN_USE,
            Rule::ListenOnUdp => inet::LISTEN_ON_UDP,
            Rule::InetListenState => inet::INET_LISTEN_STATE,
            Rule::ListenAfterConnection => inet::LISTEN_AFTER_CONNECTION,
            Rule::ConnectAfterListening => inet::CONNECT_AFTER_LISTENING,
            Rule::TcpAlreadyConnected => inet::TCP_ALREADY_CONNECTED,
            Rule::EarlierConnectFailed => inet::EARLIER_CONNECT_FAILED,
            Rule::InetConnectState => inet::INET_CONNECT_STATE,
            Rule::NoRoute => inet::NO_ROUTE,
            Rule::LoopbackSourceLeaves => inet::LOOPBACK_SOURCE_LEAVES,
            Rule::ModelUndetermined => common::MODEL_UNDETERMINED,
            Rule::KeptIpv4TransmitPath => inet::KEPT_IPV4_TRANSMIT_PATH,
            Rule::SynUnanswered => inet::SYN_UNANSWERED,
            Rule::TcpBacklogFull => inet::TCP_BACKLOG_FULL,
            Rule::FourTupleInUse => inet::FOUR_TUPLE_IN_USE,
            Rule::TimeWaitReuse => inet::TIME_WAIT_REUSE,
            Rule::SelfConnectShutForSending => inet::SELF_CONNECT_SHUT_FOR_SENDING,
            Rule::ConnectionRefused => inet::CONNECTION_REFUSED,
            Rule::ConnectRefusedTiming => inet::CONNECT_REFUSED_TIMING,
            Rule::ConnectInProgress => inet::CONNECT_IN_PROGRESS,
            Rule::AcceptOnUdp => inet::ACCEPT_ON_UDP,
            Rule::TcpAcceptNotListening => inet::TCP_ACCEPT_NOT_LISTENING,
            Rule::TcpAcceptQueueEmpty => inet::TCP_ACCEPT_QUEUE_EMPTY,
            Rule::ShutdownNotConnected => transfer::SHUTDOWN_NOT_CONNECTED,
            Rule::TcpSendNotConnected => transfer::TCP_SEND_NOT_CONNECTED,
            Rule::TcpSendShut => transfer::TCP_SEND_SHUT,
            Rule::TcpRecvOnListener => transfer::TCP_RECV_ON_LISTENER,
            Rule::TcpRecvNotConnected => transfer::TCP_RECV_NOT_CONNECTED,
            Rule::TcpRecvEmpty => transfer::TCP_RECV_EMPTY,
            Rule::UdpTooBig => transfer::UDP_TOO_BIG,
            Rule::UdpPortZero => transfer::UDP_PORT_ZERO,
            Rule::UdpNoDestination => transfer::UDP_NO_DESTINATION,
            Rule::UdpShutForSending => transfer::UDP_SHUT_FOR_SENDING,
            Rule::UdpRecvEmpty => transfer::UDP_RECV_EMPTY,
            Rule::TcpConnectMulticast => inet::TCP_CONNECT_MULTICAST,
            Rule::MappedSourceToIpv6 => inet::MAPPED_SOURCE_TO_IPV6,
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
    /// `deny` (so it names a rule): the only `Outcome::err(` of sim/kernel.rs, sim/unix/ and sim/state.rs is
    /// the one in `deny`, and their `Outcome::WouldBlock`s are made by `wait`. (The INET side builds some
    /// answers elsewhere, `Outcome::either` lists; the INET differential test checks that every
    /// refusal there names a rule.)
    #[test]
    fn every_rule_is_used_and_every_unix_refusal_names_one() {
        // The AF_UNIX code and the kernel state whose `deny`/`wait` it calls.
        let src = [
            include_str!("state.rs"),
            include_str!("kernel.rs"),
            include_str!("unix/buffers.rs"),
            include_str!("unix/connect.rs"),
            include_str!("unix/io.rs"),
            include_str!("unix/names.rs"),
            include_str!("unix/release.rs"),
        ]
        .concat();
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
            assert!(used, "Rule::{variant} is not used in sim/kernel.rs, sim/unix/ nor sim/inet/");
        }
        assert_eq!(
            src.matches("Outcome::err(").count(),
            1,
            "an AF_UNIX refusal (sim/kernel.rs, sim/unix/) without a rule"
        );
        assert_eq!(
            src.matches("Outcome::WouldBlock {").count(),
            1,
            "an AF_UNIX wait (sim/kernel.rs, sim/unix/) without a rule"
        );
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
