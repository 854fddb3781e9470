//! Why an edit is refused: the simulated kernel said no ([`KernelRefusal`], with its errno and
//! [`Rule`]), the kernel could not be asked ([`NotOnKernel`]), the edit names nothing
//! ([`BadInput`]), or the kernel would allow it but the scenario form — or the editor — cannot
//! hold the result ([`FormLimit`]).

use crate::bstr::EscapeError;
use crate::plan;
use crate::sim::{Block, Op, Outcome, Rule, SockType};
use crate::sock::Family;
use std::fmt;

/// Why an edit was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EditError {
    /// The simulated kernel refused the call the edit lowers to.
    #[error("{0}")]
    Kernel(KernelRefusal),
    /// The scenario could not be put on the simulated kernel, so it could not be asked.
    #[error("{0}")]
    NotOnKernel(#[from] NotOnKernel),
    /// The edit does not name what it needs.
    #[error("{0}")]
    Input(#[from] BadInput),
    /// Linux would allow it, but the scenario form (or the editor) cannot hold the result.
    #[error("{0}")]
    Form(#[from] FormLimit),
}

impl EditError {
    /// The kernel rule that refused the edit, if the kernel did.
    pub fn rule(&self) -> Option<Rule> {
        match self {
            EditError::Kernel(k) => k.rule,
            _ => None,
        }
    }
}

/// A call the simulated kernel refused: the call, its answer and the rule that decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelRefusal {
    /// The system call.
    pub call: Call,
    /// What the kernel answered (an errno, or a wait it cannot finish).
    pub outcome: Outcome,
    /// The rule that decided ([`Rule::explain`]: function, condition, explanation).
    pub rule: Option<Rule>,
}

impl fmt::Display for KernelRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: ", self.call)?;
        match &self.outcome {
            Outcome::Err { errno } => write!(f, "{errno}")?,
            Outcome::WouldBlock { block: Block::Undetermined { why, .. } } => {
                write!(f, "Linux's answer is not determined ({why})")?
            }
            Outcome::WouldBlock { .. } => write!(f, "would block")?,
            other => write!(f, "{}", other.short())?,
        }
        if let Some(r) = self.rule {
            let e = r.explain();
            write!(f, " — {} ({}, rule {})", e.condition, e.function, r.name())?;
        }
        Ok(())
    }
}

/// An edit that does not name what it needs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BadInput {
    #[error("no socket named {0:?}")]
    NoSocket(String),
    #[error("a socket name is one or more printable characters")]
    BadName,
    #[error("a socket is already named {0:?}")]
    NameTaken(String),
    #[error("name {addr:?}: {err}")]
    NameEscape { addr: String, err: EscapeError },
    #[error("data: {0}")]
    DataEscape(EscapeError),
    #[error("bind(): the name is empty (an empty name asks for autobind, which the editor does not do)")]
    EmptyName,
    #[error("bind(): {text:?} is not an address:port (like {})", if *.family == Family::Inet6 { "[::1]:8080" } else { "127.0.0.1:8080" })]
    NotAnAddress { text: String, family: Family },
    #[error("socketpair(): two different sockets are needed")]
    SamePair,
    #[error("{name:?} has no message #{index}")]
    NoMessage { name: String, index: usize },
}

/// What Linux would allow but the scenario form (or the editor) cannot hold.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormLimit {
    #[error("socketpair(): EOPNOTSUPP — AF_UNIX only")]
    SocketpairUnixOnly,
    #[error("socketpair(): both ends have one type ({0} and {1} differ)")]
    PairTypes(SockType, SockType),
    #[error("socketpair(): {0:?} is not a fresh socket (unbound, unconnected, not shut down, nothing queued)")]
    PairNotFresh(String),
    #[error("listen(): {0:?} has queued data")]
    ListenQueued(String),
    #[error("connect(): {client:?} is {client_family} and {server:?} is {server_family}: the editor connects sockets of one family")]
    CrossFamily { client: String, client_family: Family, server: String, server_family: Family },
    #[error("connect(): {0:?} has no name to connect to: bind it first")]
    NoNameToConnect(String),
    #[error("connect(): a UDP socket's peer is a UDP socket")]
    UdpPeerNotUdp,
    #[error("connect(): the editor does not connect a stream or INET socket to itself")]
    SelfConnect,
    #[error("connect(): {0:?} is not listening: the connection reached the client's own address, a connection the editor does not make")]
    NoListener(String),
    #[error("connect(): {0:?} is one end of a socketpair")]
    PairedDgramConnect(String),
    #[error("connect(): {0:?} held datagrams and its old peer {1:?} is connected back to it: the purge leaves {1:?} a pending ECONNRESET, which the scenario form cannot hold")]
    DgramResetLeft(String, String),
    #[error("connect(): the server is on the v4-mapped wildcard, which the scenario form would give its connections: bind [::]")]
    MappedWildcardServer,
    #[error("connect(): {0} listens on that port too: the editor does not choose between listeners")]
    RivalListener(String),
    #[error("connect(): a UDP peer on the wildcard address cannot be named: bind it to 127.0.0.1 or ::1")]
    WildcardUdpPeer,
    #[error("accept(): the kernel has a connection for {0:?} that the scenario does not list")]
    UnlistedConnection(String),
    #[error("send(): 0 bytes on a stream socket queue nothing")]
    EmptyStreamSend,
    #[error("send(): the peer is outside the image")]
    OutsidePeer,
    #[error("sendto(): TCP ignores the address: choose \"its peer\"")]
    TcpSendtoElsewhere,
    #[error("send(): the peer is shut down both ways: the data would be answered by an RST")]
    PeerShutBothWays,
    #[error("sendto(): the editor sends within one family")]
    SendAcrossFamilies,
    #[error("sendto(): a datagram reaches UDP sockets only")]
    DatagramToTcp,
    #[error("sendto(): the destination has no address: bind it first")]
    DestinationUnbound,
    #[error("sendto(): {0:?} has no name to send to")]
    DestinationUnnamed(String),
    #[error("sendto(): the destination is connected to another peer: UDP delivers only from it")]
    UdpDestinationConnectedElsewhere,
    #[error("send(): the kernel queued the data where the scenario has no socket")]
    NoDestination,
    #[error("shutdown(): {0:?} is already shut down both ways (its peer closed)")]
    PeerGoneShutdown(String),
    #[error("shutdown(): SHUT_RD stops a TCP listener and resets its pending connections: not editable")]
    TcpListenerShutRd,
    #[error("shutdown(): the connection is not accepted yet (its FIN would go to the embryo): accept it first")]
    ShutdownBeforeAccept,
    #[error("shutdown(): the peer has shut down for sending too: both FINs end the connection (TIME_WAIT), which the scenario form does not hold")]
    BothFins,
    #[error("close(): the editor closes INET sockets on their own (not connected, no peer of, no sender of queued data): a close's remains (TIME_WAIT, resets) are not in the scenario form")]
    InetCloseRemains,
    #[error("{name:?} is in flight in a message queued on {on:?}: closing its fds does not close it; drop that message first")]
    InFlight { name: String, on: String },
    #[error("{name:?} accepted {accepted:?}, which carries its listener's name: the scenario form needs the listener; remove {accepted:?} first")]
    ListenerOfAccepted { name: String, accepted: String },
    #[error("{holder:?} holds a message from {name:?} but is connected to {peer:?}: the scenario form cannot say \"sent by a closed socket\" there; drop the message first")]
    SenderClosed { holder: String, name: String, peer: String },
}

/// The system call an edit lowers to (what a refusal names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    Socket,
    Socketpair,
    Bind,
    Unlink,
    Listen,
    Connect,
    Accept,
    Send,
    Sendto,
    Recv,
    Shutdown,
    Setsockopt,
    Fcntl,
    Close,
    Chdir,
    Sysctl,
    Dup2,
}

impl Call {
    /// The call `op` makes.
    pub fn of(op: &Op) -> Call {
        match op {
            Op::Socket { .. } | Op::SocketInet { .. } => Call::Socket,
            Op::Socketpair { .. } => Call::Socketpair,
            Op::Bind { .. } => Call::Bind,
            Op::Unlink { .. } => Call::Unlink,
            Op::Listen { .. } => Call::Listen,
            Op::Connect { .. } => Call::Connect,
            Op::Accept { .. } => Call::Accept,
            Op::Send { to: None, .. } => Call::Send,
            Op::Send { to: Some(_), .. } => Call::Sendto,
            Op::SendOob { .. } => Call::Send,
            Op::Recv { .. } => Call::Recv,
            Op::Shutdown { .. } => Call::Shutdown,
            Op::SetSockOpt { .. } => Call::Setsockopt,
            Op::SetNonblock { .. } => Call::Fcntl,
            Op::Close { .. } => Call::Close,
            Op::Chdir { .. } => Call::Chdir,
            Op::SetSysctl { .. } => Call::Sysctl,
            Op::Place { .. } => Call::Dup2,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Call::Socket => "socket",
            Call::Socketpair => "socketpair",
            Call::Bind => "bind",
            Call::Unlink => "unlink",
            Call::Listen => "listen",
            Call::Connect => "connect",
            Call::Accept => "accept",
            Call::Send => "send",
            Call::Sendto => "sendto",
            Call::Recv => "recv",
            Call::Shutdown => "shutdown",
            Call::Setsockopt => "setsockopt",
            Call::Fcntl => "fcntl",
            Call::Close => "close",
            Call::Chdir => "chdir",
            Call::Sysctl => "sysctl",
            Call::Dup2 => "dup2",
        }
    }
}

impl fmt::Display for Call {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}()", self.name())
    }
}

/// Why a scenario could not be put on the simulated kernel, so the kernel cannot answer an edit
/// of it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotOnKernel {
    /// The scenario does not write an image.
    #[error("the scenario does not write an image ({0}), so the simulated kernel cannot answer")]
    Unwritable(crate::scenario::ScenarioError),
    /// The planner cannot restore its image.
    #[error("the scenario's image cannot be planned ({0}), so the simulated kernel cannot answer: fix that first")]
    NoPlan(plan::PlanError),
    /// Its restore fails on the simulated kernel.
    #[error(
        "the scenario does not restore on the simulated kernel (step {step}: {call} answers {}{}), so the kernel cannot answer: fix that first",
        outcome.short(),
        rule.map(|r| format!(", by {}", r.name())).unwrap_or_default()
    )]
    Fails { step: usize, call: Call, outcome: Outcome, rule: Option<Rule> },
    /// A socket of the scenario has no handle after the restore (it is not restored).
    #[error("{0:?} is not restored on the simulated kernel, so the kernel cannot answer")]
    NotRestored(String),
}
