//! Warnings: what a restore plan (core) or a dump (`checkpoint dump`) cannot reproduce
//! exactly. Each has a stable kebab-case code (like [`crate::diag::Code`]), what it does to the
//! restored state ([`Effect`], and [`WarnCode::lost`]: what is lost or changed), a place (the
//! socket objref and the plan step, where there is one) and a message about the occurrence.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What a warning says happens to the state.
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
#[serde(rename_all = "lowercase")]
pub enum Effect {
    /// Something of the image is not restored (a connection, data, a socket).
    Lost,
    /// It is restored, but differs from the image (a buffer, a limit, a source address).
    Changed,
    /// The dump recorded a guess where the kernel does not say (an order, a directory).
    Guessed,
}

impl Effect {
    /// Lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Effect::Lost => "lost",
            Effect::Changed => "changed",
            Effect::Guessed => "guessed",
        }
    }
}

/// Who produces a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Origin {
    /// The planner.
    Plan,
    /// `checkpoint dump`.
    Dump,
    /// `restore run` itself (this host, the command it execs).
    Run,
    /// Both (the dump marks it; the planner says what the restore does with it).
    Both,
}

macro_rules! warn_codes {
    ($( $(#[$m:meta])* $variant:ident = $text:literal, $origin:ident, $effect:ident, $lost:literal; )*) => {
        /// Stable warning codes. The kebab-case spelling is the stable identifier.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, crate::codec::Encode, crate::codec::Decode)]
        pub enum WarnCode { $( $(#[$m])* $variant, )* }

        impl WarnCode {
            /// Every code, in declaration order.
            pub const ALL: &'static [WarnCode] = &[$(WarnCode::$variant,)*];
            /// Stable kebab-case identifier.
            pub fn as_str(self) -> &'static str { match self { $(WarnCode::$variant => $text,)* } }
            /// Who produces it.
            pub fn origin(self) -> Origin { match self { $(WarnCode::$variant => Origin::$origin,)* } }
            /// What it does to the state.
            pub fn effect(self) -> Effect { match self { $(WarnCode::$variant => Effect::$effect,)* } }
            /// What is lost or changed, in one line.
            pub fn lost(self) -> &'static str { match self { $(WarnCode::$variant => $lost,)* } }
            /// Parse the stable identifier.
            pub fn from_str_opt(s: &str) -> Option<WarnCode> {
                match s { $($text => Some(WarnCode::$variant),)* _ => None }
            }
        }
    };
}

warn_codes! {
    /// A socket of a family the planner does not restore.
    FamilyNotPlanned = "family-not-planned", Plan, Lost,
        "the socket is not restored at all: only AF_UNIX, AF_INET and AF_INET6 sockets are planned";
    /// An AF_UNIX connection to a peer outside the image (EXTERNAL_PEER) that is not rebuilt.
    UnixExternalPeer = "unix-external-peer", Both, Lost,
        "the connection: a stream/seqpacket socket comes back as if its peer had closed (its queued data kept, then EOF; shutdown 3); a dgram socket whose outside peer's name is not recorded or has no dgram socket bound on this host comes back unconnected (send() needs an address)";
    /// A dgram receiver created with a raised max_dgram_qlen.
    DgramQlenRaised = "dgram-qlen-raised", Plan, Changed,
        "the receiver's queue limit (max_ack_backlog, copied from net.unix.max_dgram_qlen at creation) is higher than recorded: senders block later";
    /// A datagram whose sender is not restored, re-sent from a stand-in.
    SenderStandIn = "sender-stand-in", Plan, Changed,
        "the datagram's source: it is re-sent from a temporary socket, so recvfrom() shows another address (unnamed for AF_UNIX, an ephemeral port for UDP)";
    /// Shutdown bits the plan cannot reproduce on an AF_UNIX socket.
    ShutdownDiffers = "shutdown-differs", Plan, Changed,
        "the shutdown bits: shutdown() on a connected socket also sets its peer's mirror bit, so the restored bits differ from the image";
    /// A socket no process holds and no queue carries: closed at the end of the restore.
    ClosedAtEnd = "closed-at-end", Plan, Lost,
        "the socket: no fd and no queued SCM_RIGHTS hold it, so it is closed when the restorer lets go (its peer sees it close)";
    /// A TCP pending connection from a client outside the image.
    PendingExternal = "pending-external", Both, Lost,
        "the pending connection: it is not in the listener's accept queue (its client outside is not reconnected)";
    /// An AF_UNIX pending connection recorded with a send buffer connect() does not give.
    PendingSndbufDefault = "pending-sndbuf-default", Plan, Changed,
        "the pending connection's send buffer: unix_stream_connect makes the embryo with this host's net.core.wmem_default, and nothing can set an option on it before accept(), so the accepted socket has the default, not the recorded size";
    /// A TCP connection to a peer outside the image.
    TcpExternalPeer = "tcp-external-peer", Both, Lost,
        "the TCP connection: the socket comes back closed (never connected: reads ENOTCONN, writes EPIPE) and its unread bytes are dropped";
    /// A connected UDP socket whose peer is outside the image, and the model says a connect
    /// there fails or cannot tell (`plan::outside_connect`).
    UdpExternalPeer = "udp-external-peer", Both, Changed,
        "the UDP connect: the socket comes back unconnected (it receives from anyone; send() needs an address)";
    /// An INET socket bound to a broadcast or multicast address.
    InetAddressMute = "inet-address-mute", Plan, Lost,
        "the socket's traffic: it is bound as recorded, but its connection is not rebuilt and its queued data is dropped";
    /// An INET socket whose address this host does not have.
    InetAddressMissing = "inet-address-missing", Plan, Lost,
        "the socket's address: it is left unbound (bind() would fail here), so it does not listen (its pending connections are lost), its connection is not rebuilt and its queued bytes are dropped";
    /// An INET socket connected to a socket whose address this host does not have.
    InetPeerAddressMissing = "inet-peer-address-missing", Plan, Lost,
        "the connection: its peer is left unbound on this host, so TCP comes back closed (its unread bytes dropped), UDP unconnected, a pending connection is lost";
    /// A listener whose receive buffer stays locked after a big refill.
    ListenerRcvbufLocked = "listener-rcvbuf-locked", Plan, Changed,
        "the listener's receive buffer is locked by SO_RCVBUFFORCE: connections it accepts later get a fixed buffer without autotuning";
    /// A TCP socket that keeps a raised receive buffer for its big queue.
    TcpRcvbufRaised = "tcp-rcvbuf-raised", Plan, Changed,
        "the socket keeps a bigger receive buffer (SO_RCVBUFFORCE, which also stops autotuning)";
    /// A TCP socket that keeps a raised send buffer for its big refill.
    TcpSndbufRaised = "tcp-sndbuf-raised", Plan, Changed,
        "the socket keeps a bigger send buffer (SO_SNDBUFFORCE, which also stops autotuning)";
    /// Unread bytes of a self-connected TCP socket beyond what one send delivers.
    SelfConnectedDataDropped = "self-connected-data-dropped", Plan, Lost,
        "the unread bytes of the self-connected socket: more than one send delivers at once, so none are re-sent";
    /// The urgent byte (RS_OOB) of a self-connected TCP socket, re-sent with its other bytes.
    UrgentMarkLost = "urgent-mark-lost", Plan, Lost,
        "the urgent mark: a self-connected socket's bytes are re-sent in one send, so its urgent byte comes back as ordinary data (recv(MSG_OOB) EINVAL, no stop at the mark)";
    /// INET shutdown bits on a socket that is not connected after the restore.
    ShutdownNotRestored = "shutdown-not-restored", Plan, Lost,
        "the shutdown bits: shutdown() on a socket that is not connected answers ENOTCONN";
    /// A socket of another family (or not a socket the dump can describe) in a process.
    FamilyLeftOut = "family-left-out", Dump, Lost,
        "the fd: neither AF_UNIX nor TCP/UDP over IP, so it is not in the image";
    /// A relative name whose directory the dump takes to be the process's cwd (the socket's
    /// own file could not be opened with `SIOCUNIXFILE`, or its path no longer ends with the name).
    RelativeCwdGuessed = "relative-cwd-guessed", Dump, Guessed,
        "the directory a relative name was bound in: the socket's file could not tell it (SIOCUNIXFILE needs CAP_NET_ADMIN and Linux 6.1, and a still-linked file); the process's current directory is taken";
    /// An accepted socket whose listener is gone.
    ListenerGone = "listener-gone", Dump, Changed,
        "how the socket is made, not what it is: a temporary listener stands in for the one that is gone, to give it its name";
    /// The accept order of a TCP listener's pending connections.
    AcceptOrderGuessed = "accept-order-guessed", Dump, Guessed,
        "the accept order: the kernel does not expose it for TCP, so pending connections are recorded in their clients' creation order";
    /// A datagram from a sender outside the dumped processes.
    DgramSenderOutside = "dgram-sender-outside", Dump, Changed,
        "the datagram's sender: it is not among the dumped sockets, so it is recorded as from the receiver's peer (or none), and a restore re-sends it from there";
    /// A recorded option the plan sets that needs CAP_NET_ADMIN (or CAP_NET_RAW).
    OptionNeedsPrivilege = "option-needs-privilege", Plan, Changed,
        "nothing while restore runs with CAP_NET_ADMIN or CAP_NET_RAW (as root); without both, `restore run` refuses the image before any step, naming each socket and option (SO_MARK, SO_PRIORITY outside 0..=6), and restores nothing";
    /// A recorded timeout the kernel keeps in jiffies.
    OptionRounded = "option-rounded", Plan, Changed,
        "the timeout's sub-millisecond part: the kernel keeps SO_RCVTIMEO/SO_SNDTIMEO in jiffies (at most 1000 a second) and rounds up, so getsockopt reports a longer one";
    /// Socket options set on a TCP/UDP socket that the image has no field for.
    OptionNotRecorded = "option-not-recorded", Dump, Lost,
        "the IP-level options (IP_TOS, IPV6_TCLASS, IP_FREEBIND): the image has no field for them, so a restore leaves them at their defaults (the SOL_SOCKET and TCP options are recorded in RS_SOCKOPT)";
    /// A seqpacket socket shut down for reading: trailing empty records cannot be seen.
    SeqpacketEmptyTail = "seqpacket-empty-tail", Dump, Guessed,
        "empty records at the end of the queue, if any: a seqpacket socket shut down for reading reads them like its end";
    /// Empty datagrams or records the dump's peeks returned: the kernel marks them peeked.
    EmptyMessagePeeked = "empty-message-peeked", Dump, Changed,
        "what the process sees later, if it runs on: a peek that returns an empty message marks it (skb->peeked), and a peek with SO_PEEK_OFF then skips it, so the process's own SO_PEEK_OFF peeks (and a second dump) no longer see the empty messages; plain reads still do";
    /// This host's addresses could not be read: planned for a loopback-only host.
    HostAddressesUnknown = "host-addresses-unknown", Run, Changed,
        "where INET sockets can be bound: the plan is for a loopback-only host, so sockets on other addresses are left unbound";
    /// `restore run -- COMMAND`: the sockets of the image's other processes are closed by exec.
    OtherProcessesClosed = "other-processes-closed", Run, Lost,
        "the sockets of the image's other processes: only one process's fds are placed for the command; the rest are closed by exec";
    /// `restore run -- COMMAND`: fds that were close-on-exec are handed to the command open.
    CloexecDropped = "cloexec-dropped", Run, Changed,
        "FD_CLOEXEC: the fds are handed to the command open (it may set the flag again)";
}

impl fmt::Display for WarnCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for WarnCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for WarnCode {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        WarnCode::from_str_opt(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown warning code {s}")))
    }
}

/// One warning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
pub struct Warning {
    /// Stable code.
    pub code: WarnCode,
    /// What it does (follows from the code).
    pub effect: Effect,
    /// The socket objref concerned, if any.
    pub objref: Option<i32>,
    /// The plan step concerned (its index), if any.
    pub step: Option<usize>,
    /// One-line message about this occurrence.
    pub message: String,
}

impl Warning {
    /// A warning for `code`.
    pub fn new(code: WarnCode, message: impl Into<String>) -> Self {
        Warning { code, effect: code.effect(), objref: None, step: None, message: message.into() }
    }
    /// Attach the socket objref.
    pub fn objref(mut self, objref: i32) -> Self {
        self.objref = Some(objref);
        self
    }
    /// Attach the plan step.
    pub fn step(mut self, step: usize) -> Self {
        self.step = Some(step);
        self
    }
    /// What is lost or changed (the code's line).
    pub fn lost(&self) -> &'static str {
        self.code.lost()
    }
    /// The place as text: `socket #3, step 12`, or `None` when there is none.
    pub fn place(&self) -> Option<String> {
        match (self.objref, self.step) {
            (Some(o), Some(s)) => Some(format!("socket #{o}, step {s}")),
            (Some(o), None) => Some(format!("socket #{o}")),
            (None, Some(s)) => Some(format!("step {s}")),
            (None, None) => None,
        }
    }
    /// Several lines, like a diagnostic: `warning[CODE]: message`, the place (with the step as
    /// `describe` gives it), and what is lost or changed.
    pub fn render(&self, describe: &dyn Fn(usize) -> String) -> String {
        let mut out = format!("{self}\n");
        if let Some(p) = self.place() {
            let step = self.step.map(describe).filter(|d| !d.is_empty());
            match step {
                Some(d) => out.push_str(&format!("  --> {p}: `{d}`\n")),
                None => out.push_str(&format!("  --> {p}\n")),
            }
        }
        out.push_str(&format!("  = {}: {}\n", self.effect.as_str(), self.lost()));
        out
    }
}

/// `warning[CODE]: message`.
impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "warning[{}]: {}", self.code, self.message)
    }
}

/// Which warnings refuse a restore: `--deny-warnings`, `-D CODE`, `-A CODE`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Refuse any warning not allowed.
    pub deny_all: bool,
    /// Refuse these codes (a code both denied and allowed is refused).
    pub deny: Vec<WarnCode>,
    /// Accept these codes under `deny_all`.
    pub allow: Vec<WarnCode>,
}

impl Policy {
    /// Whether the policy refuses anything at all.
    pub fn is_active(&self) -> bool {
        self.deny_all || !self.deny.is_empty()
    }
    /// Whether `code` is refused.
    pub fn refuses(&self, code: WarnCode) -> bool {
        self.deny.contains(&code) || (self.deny_all && !self.allow.contains(&code))
    }
    /// The warnings the policy refuses, in order.
    pub fn refused<'w>(&self, warnings: &'w [Warning]) -> Vec<&'w Warning> {
        warnings.iter().filter(|w| self.refuses(w.code)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn codes_are_unique_round_trip_and_do_not_clash_with_diagnostics() {
        let mut seen = std::collections::BTreeSet::new();
        for &c in WarnCode::ALL {
            assert!(seen.insert(c.as_str()), "duplicate {c}");
            assert_eq!(WarnCode::from_str_opt(c.as_str()), Some(c));
            assert!(!c.lost().is_empty());
            assert!(crate::diag::Code::from_str_opt(c.as_str()).is_none(), "{c} is also a diagnostic code");
        }
    }

    #[test]
    fn policy() {
        let w = |c| Warning::new(c, "x");
        let ws = [w(WarnCode::TcpExternalPeer), w(WarnCode::DgramQlenRaised)];
        assert!(Policy::default().refused(&ws).is_empty());
        let p = Policy { deny_all: true, allow: vec![WarnCode::DgramQlenRaised], ..Policy::default() };
        assert_eq!(p.refused(&ws), vec![&ws[0]]);
        let p = Policy {
            deny: vec![WarnCode::DgramQlenRaised],
            allow: vec![WarnCode::DgramQlenRaised],
            ..Policy::default()
        };
        assert_eq!(p.refused(&ws), vec![&ws[1]]);
    }
}
