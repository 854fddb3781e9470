//! The socket vocabulary: one typed name per kernel concept, used by the simulator, the planner
//! and the checker. Raw numbers live only at the wire edges (image records, netlink answers),
//! where [`SkState::from_raw`] and [`SsState::from_raw`] turn them into these types (or say that
//! they are not known).

use serde::{Deserialize, Serialize};

/// `sk->sk_state`: the TCP state numbers of `include/net/tcp_states.h`, which Linux uses for
/// every socket family (AF_UNIX uses `Established`, `Close` and `Listen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SkState {
    /// `TCP_ESTABLISHED` (1).
    Established,
    /// `TCP_SYN_SENT` (2).
    SynSent,
    /// `TCP_SYN_RECV` (3).
    SynRecv,
    /// `TCP_FIN_WAIT1` (4).
    FinWait1,
    /// `TCP_FIN_WAIT2` (5).
    FinWait2,
    /// `TCP_TIME_WAIT` (6).
    TimeWait,
    /// `TCP_CLOSE` (7).
    Close,
    /// `TCP_CLOSE_WAIT` (8).
    CloseWait,
    /// `TCP_LAST_ACK` (9).
    LastAck,
    /// `TCP_LISTEN` (10).
    Listen,
    /// `TCP_CLOSING` (11).
    Closing,
    /// `TCP_NEW_SYN_RECV` (12): a request socket (a SYN answered, the handshake not done).
    NewSynRecv,
}

impl SkState {
    /// Every state, in number order.
    pub const ALL: [SkState; 12] = [
        SkState::Established,
        SkState::SynSent,
        SkState::SynRecv,
        SkState::FinWait1,
        SkState::FinWait2,
        SkState::TimeWait,
        SkState::Close,
        SkState::CloseWait,
        SkState::LastAck,
        SkState::Listen,
        SkState::Closing,
        SkState::NewSynRecv,
    ];

    /// The kernel's number.
    pub fn raw(self) -> u8 {
        match self {
            SkState::Established => 1,
            SkState::SynSent => 2,
            SkState::SynRecv => 3,
            SkState::FinWait1 => 4,
            SkState::FinWait2 => 5,
            SkState::TimeWait => 6,
            SkState::Close => 7,
            SkState::CloseWait => 8,
            SkState::LastAck => 9,
            SkState::Listen => 10,
            SkState::Closing => 11,
            SkState::NewSynRecv => 12,
        }
    }

    /// The state with this number, if it is one.
    pub fn from_raw(raw: u8) -> Option<SkState> {
        SkState::ALL.into_iter().find(|s| s.raw() == raw)
    }

    /// The kernel's name without `TCP_`: `ESTABLISHED`, `LISTEN`, …
    pub fn name(self) -> &'static str {
        match self {
            SkState::Established => "ESTABLISHED",
            SkState::SynSent => "SYN_SENT",
            SkState::SynRecv => "SYN_RECV",
            SkState::FinWait1 => "FIN_WAIT1",
            SkState::FinWait2 => "FIN_WAIT2",
            SkState::TimeWait => "TIME_WAIT",
            SkState::Close => "CLOSE",
            SkState::CloseWait => "CLOSE_WAIT",
            SkState::LastAck => "LAST_ACK",
            SkState::Listen => "LISTEN",
            SkState::Closing => "CLOSING",
            SkState::NewSynRecv => "NEW_SYN_RECV",
        }
    }
}

impl std::fmt::Display for SkState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `struct socket.state` (`include/uapi/linux/net.h`): where connect() is, as the socket layer
/// (not the protocol) sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum SsState {
    /// `SS_FREE` (0): not allocated.
    Free,
    /// `SS_UNCONNECTED` (1).
    Unconnected,
    /// `SS_CONNECTING` (2): a connect() is in progress, or a non-blocking one has not been
    /// looked at since.
    Connecting,
    /// `SS_CONNECTED` (3).
    Connected,
    /// `SS_DISCONNECTING` (4).
    Disconnecting,
}

impl SsState {
    /// The kernel's number.
    pub fn raw(self) -> u8 {
        match self {
            SsState::Free => 0,
            SsState::Unconnected => 1,
            SsState::Connecting => 2,
            SsState::Connected => 3,
            SsState::Disconnecting => 4,
        }
    }

    /// The state with this number, if it is one.
    pub fn from_raw(raw: u8) -> Option<SsState> {
        [SsState::Free, SsState::Unconnected, SsState::Connecting, SsState::Connected, SsState::Disconnecting]
            .into_iter()
            .find(|s| s.raw() == raw)
    }
}

/// A socket's address family, as the scenario and the tables name it (`unix`, `inet`, `inet6`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Family {
    /// `AF_UNIX`.
    #[default]
    Unix,
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
}

impl Family {
    /// Every family.
    pub const ALL: [Family; 3] = [Family::Unix, Family::Inet, Family::Inet6];

    /// `unix`, `inet` or `inet6` (its serde name).
    pub fn word(self) -> &'static str {
        match self {
            Family::Unix => "unix",
            Family::Inet => "inet",
            Family::Inet6 => "inet6",
        }
    }

    /// The family a [`word`](Family::word) names.
    pub fn from_word(w: &str) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.word() == w)
    }

    /// The `AF_*` number.
    pub fn raw(self) -> u16 {
        match self {
            Family::Unix => crate::wire::AF_UNIX,
            Family::Inet => crate::wire::AF_INET,
            Family::Inet6 => crate::wire::AF_INET6,
        }
    }

    /// The family with this `AF_*` number, if it is one of these.
    pub fn from_raw(raw: u16) -> Option<Family> {
        Family::ALL.into_iter().find(|f| f.raw() == raw)
    }

    /// `unix` for `None`, else the INET family.
    pub fn from_inet(f: Option<crate::sim::InetFamily>) -> Family {
        match f {
            None => Family::Unix,
            Some(crate::sim::InetFamily::Inet) => Family::Inet,
            Some(crate::sim::InetFamily::Inet6) => Family::Inet6,
        }
    }

    /// The INET family, for `inet`/`inet6`.
    pub fn inet(self) -> Option<crate::sim::InetFamily> {
        match self {
            Family::Unix => None,
            Family::Inet => Some(crate::sim::InetFamily::Inet),
            Family::Inet6 => Some(crate::sim::InetFamily::Inet6),
        }
    }
}

impl std::fmt::Display for Family {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

/// The role a socket plays, in one word: what the CLI's socket table, the inspector's graph and
/// its restore timeline show, for a socket of an image and for one of the simulated kernel alike.
/// [`Role::of`] is the one place that decides it, from [`RoleFacts`] that each side reads off
/// its own data.
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
pub enum Role {
    /// A listener.
    Listening,
    /// An embryo: a connection queued at a listener, not yet accepted.
    Pending,
    /// Connected to itself (a dgram self-connect, a TCP simultaneous open with itself).
    SelfConnected,
    /// Its peer has closed (the connection is half there: queued data, then EOF).
    PeerClosed,
    /// A client whose connection waits at a listener (its peer is an embryo).
    Connecting,
    /// Connected to another socket of the image (or of the kernel).
    Connected,
    /// Not connected itself, but another socket is connected to it (a one-way dgram connect).
    ConnectedTo,
    /// Connected to a peer outside the image (INET: an address nothing here has).
    ExternalPeer,
    /// INET: holds a local port, and nothing else.
    Bound,
    /// None of the above.
    Unconnected,
}

/// What is at the other end of a socket, as [`Role::of`] needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerFact {
    /// No peer.
    None,
    /// The socket itself.
    Itself,
    /// A peer that has closed.
    Closed,
    /// An embryo queued at a listener.
    Embryo,
    /// Another live socket.
    Socket,
    /// Connected, to something outside (the image names no socket there).
    Outside,
}

/// The facts that decide a socket's [`Role`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoleFacts {
    /// `sk_state == TCP_LISTEN` (for INET: a TCP listener).
    pub listening: bool,
    /// The socket is an embryo queued at a listener.
    pub pending: bool,
    pub peer: PeerFact,
    /// Another socket is connected to this one (which has no peer of its own).
    pub targeted: bool,
    /// INET: it holds a local port.
    pub bound: bool,
}

impl Role {
    /// The role these facts give (the first rule that applies, in this order).
    pub fn of(f: &RoleFacts) -> Role {
        match f.peer {
            _ if f.listening => Role::Listening,
            _ if f.pending => Role::Pending,
            PeerFact::Itself => Role::SelfConnected,
            PeerFact::Closed => Role::PeerClosed,
            PeerFact::Embryo => Role::Connecting,
            PeerFact::Socket => Role::Connected,
            PeerFact::Outside => Role::ExternalPeer,
            PeerFact::None if f.targeted => Role::ConnectedTo,
            PeerFact::None if f.bound => Role::Bound,
            PeerFact::None => Role::Unconnected,
        }
    }

    /// The one-word name: `listening`, `pending`, `self-connected`, …
    pub fn name(self) -> &'static str {
        match self {
            Role::Listening => "listening",
            Role::Pending => "pending",
            Role::SelfConnected => "self-connected",
            Role::PeerClosed => "peer-closed",
            Role::Connecting => "connecting",
            Role::Connected => "connected",
            Role::ConnectedTo => "connected-to",
            Role::ExternalPeer => "external-peer",
            Role::Bound => "bound",
            Role::Unconnected => "unconnected",
        }
    }

    /// Every role.
    pub const ALL: [Role; 10] = [
        Role::Listening,
        Role::Pending,
        Role::SelfConnected,
        Role::PeerClosed,
        Role::Connecting,
        Role::Connected,
        Role::ConnectedTo,
        Role::ExternalPeer,
        Role::Bound,
        Role::Unconnected,
    ];
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_unknown_ones_are_refused() {
        for s in SkState::ALL {
            assert_eq!(SkState::from_raw(s.raw()), Some(s));
        }
        assert_eq!(SkState::from_raw(0), None);
        assert_eq!(SkState::from_raw(13), None);
        // The text form's symbol table names the same states.
        let names: Vec<(u64, String)> = SkState::ALL.iter().map(|s| (u64::from(s.raw()), format!("TCP_{s}"))).collect();
        let table: Vec<(u64, String)> = crate::wire::sym::TCP.iter().map(|&(n, t)| (n, t.to_string())).collect();
        assert_eq!(names, table);
        assert_eq!(SkState::Listen.raw(), crate::wire::TCP_LISTEN);
        assert_eq!(SkState::Close.raw(), crate::wire::TCP_CLOSE);
        assert_eq!(SkState::Established.raw(), crate::wire::TCP_ESTABLISHED);
        for raw in 0..=4 {
            assert_eq!(SsState::from_raw(raw).map(SsState::raw), Some(raw));
        }
        assert_eq!(SsState::from_raw(5), None);
    }

    #[test]
    fn role_names_are_their_serde_names() {
        for r in Role::ALL {
            assert_eq!(serde_json::to_value(r).ok(), Some(serde_json::Value::from(r.name())));
        }
        assert_eq!(format!("[{:<8}]", Role::Bound), "[bound   ]");
    }
}
