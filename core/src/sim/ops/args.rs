//! The arguments of the operations: socket types, INET families, addresses, `shutdown()`'s `how`.

use crate::bstr;
use serde::{Deserialize, Serialize};

/// Socket types AF_UNIX knows.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Default,
    Serialize,
    Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
#[serde(rename_all = "lowercase")]
pub enum SockType {
    /// `SOCK_STREAM`.
    #[default]
    Stream,
    /// `SOCK_DGRAM`.
    Dgram,
    /// `SOCK_SEQPACKET`.
    Seqpacket,
}

impl std::fmt::Display for SockType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.word())
    }
}

impl SockType {
    /// Every type, in number order.
    pub const ALL: [SockType; 3] = [SockType::Stream, SockType::Dgram, SockType::Seqpacket];

    /// The lowercase word the scenario, the tables and the graph use: `stream`, `dgram`,
    /// `seqpacket` (its serde name).
    pub fn word(self) -> &'static str {
        match self {
            SockType::Stream => "stream",
            SockType::Dgram => "dgram",
            SockType::Seqpacket => "seqpacket",
        }
    }

    /// The type a [`word`](SockType::word) names.
    pub fn from_word(w: &str) -> Option<SockType> {
        SockType::ALL.into_iter().find(|t| t.word() == w)
    }

    /// Connection-oriented (`stream`, `seqpacket`): connect() makes a connection, listen() works.
    pub fn connection_oriented(self) -> bool {
        self != SockType::Dgram
    }

    /// The `SOCK_*` number.
    pub fn raw(self) -> u16 {
        match self {
            SockType::Stream => crate::wire::SOCK_STREAM,
            SockType::Dgram => crate::wire::SOCK_DGRAM,
            SockType::Seqpacket => crate::wire::SOCK_SEQPACKET,
        }
    }
    /// From the `SOCK_*` number.
    pub fn from_raw(t: u16) -> Option<SockType> {
        match t {
            crate::wire::SOCK_STREAM => Some(SockType::Stream),
            crate::wire::SOCK_DGRAM => Some(SockType::Dgram),
            crate::wire::SOCK_SEQPACKET => Some(SockType::Seqpacket),
            _ => None,
        }
    }
    /// `SOCK_STREAM`, `SOCK_DGRAM` or `SOCK_SEQPACKET`.
    pub fn name(self) -> &'static str {
        match self {
            SockType::Stream => "SOCK_STREAM",
            SockType::Dgram => "SOCK_DGRAM",
            SockType::Seqpacket => "SOCK_SEQPACKET",
        }
    }
    /// Stream or seqpacket.
    pub fn is_connection_oriented(self) -> bool {
        self != SockType::Dgram
    }
}

/// AF_INET or AF_INET6 (for [`Op::SocketInet`]).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
#[serde(rename_all = "lowercase")]
pub enum InetFamily {
    /// `AF_INET`.
    Inet,
    /// `AF_INET6`.
    Inet6,
}

impl InetFamily {
    /// `AF_INET` / `AF_INET6`.
    pub fn name(self) -> &'static str {
        match self {
            InetFamily::Inet => "AF_INET",
            InetFamily::Inet6 => "AF_INET6",
        }
    }
}

/// A `sockaddr_un` (or, for INET sockets, a `sockaddr_in`/`sockaddr_in6`) as passed to
/// bind/connect/sendto.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, crate::codec::Encode, crate::codec::Decode)]
pub enum SockAddr {
    /// A filesystem name, relative to the cwd unless it starts with `/`.
    Path(Vec<u8>),
    /// An abstract name (without the leading NUL).
    Abstract(Vec<u8>),
    /// `addrlen == sizeof(sa_family_t)`: autobind for bind, EINVAL elsewhere.
    Autobind,
    /// `AF_UNSPEC`: dgram disconnect.
    Unspec,
    /// A `sockaddr_in` (an IPv4 address) or `sockaddr_in6` (an IPv6 one, scope and flow 0).
    Inet(std::net::SocketAddr),
}

impl SockAddr {
    /// `/path`, `@abstract`, `(autobind)`, `(unspec)`, `(inet 127.0.0.1:80)`, `(inet [::1]:80)`.
    pub fn display(&self) -> String {
        match self {
            SockAddr::Inet(a) => format!("(inet {a})"),
            SockAddr::Path(p) => bstr::escape(p),
            SockAddr::Abstract(a) => format!("@{}", bstr::escape(a)),
            SockAddr::Autobind => "(autobind)".into(),
            SockAddr::Unspec => "(AF_UNSPEC)".into(),
        }
    }
    /// Parse the display spelling back.
    pub fn parse(s: &str) -> Result<SockAddr, String> {
        match s {
            "(autobind)" => Ok(SockAddr::Autobind),
            "(AF_UNSPEC)" => Ok(SockAddr::Unspec),
            _ if s.starts_with("(inet ") && s.ends_with(')') => {
                s[6..s.len() - 1].parse().map(SockAddr::Inet).map_err(|_| format!("bad INET address {s:?}"))
            }
            _ => {
                let b = bstr::unescape(s).map_err(|e| e.to_string())?;
                match b.split_first() {
                    Some((b'@', rest)) => Ok(SockAddr::Abstract(rest.to_vec())),
                    Some(_) => Ok(SockAddr::Path(b)),
                    None => Err("empty address".into()),
                }
            }
        }
    }
}

impl Serialize for SockAddr {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.display())
    }
}

impl<'de> Deserialize<'de> for SockAddr {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        SockAddr::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// `shutdown()`'s `how`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode,
)]
#[serde(rename_all = "lowercase")]
pub enum How {
    /// `SHUT_RD`.
    Rd,
    /// `SHUT_WR`.
    Wr,
    /// `SHUT_RDWR`.
    Rdwr,
}

impl How {
    /// Every value.
    pub const ALL: [How; 3] = [How::Rd, How::Wr, How::Rdwr];

    /// The lowercase word the scenario uses: `rd`, `wr`, `rdwr` (its serde name).
    pub fn word(self) -> &'static str {
        match self {
            How::Rd => "rd",
            How::Wr => "wr",
            How::Rdwr => "rdwr",
        }
    }

    /// The value a [`word`](How::word) names.
    pub fn from_word(w: &str) -> Option<How> {
        How::ALL.into_iter().find(|h| h.word() == w)
    }

    /// `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`.
    pub fn name(self) -> &'static str {
        match self {
            How::Rd => "SHUT_RD",
            How::Wr => "SHUT_WR",
            How::Rdwr => "SHUT_RDWR",
        }
    }
    /// The `sk_shutdown` bits it sets on the caller.
    pub fn bits(self) -> u8 {
        match self {
            How::Rd => 1,
            How::Wr => 2,
            How::Rdwr => 3,
        }
    }
    /// The call that sets exactly these bits.
    pub fn from_bits(bits: u8) -> Option<How> {
        match bits & 3 {
            1 => Some(How::Rd),
            2 => Some(How::Wr),
            3 => Some(How::Rdwr),
            _ => None,
        }
    }
    /// `unix_shutdown()`: the bits a connected AF_UNIX stream/seqpacket peer gets for these
    /// `sk_shutdown` bits of ours (our `RCV_SHUTDOWN` is its `SEND_SHUTDOWN`, and the other way).
    pub fn mirror(bits: u8) -> u8 {
        ((bits & 1) << 1) | ((bits & 2) >> 1)
    }
}
