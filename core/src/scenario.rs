//! The readable scenario form: sockets described by what a person sees (names, peers, queued
//! messages, pending connections), and the writer that turns it into canonical image bytes in
//! Linux-CR record order. Fixtures are written in this form (`fixtures/src/valid/*.json`).
//!
//! ```json
//! { "description": "stream socketpair with data both ways",
//!   "sockets": [
//!     { "name": "a", "type": "stream", "pair": "b", "queue": [ { "data": "from b" } ] },
//!     { "name": "b", "type": "stream", "pair": "a", "queue": [ { "data": "from a" } ] } ] }
//! ```
//!
//! Derived rather than written: sk_state and socket.state from the role, an accepted socket's
//! and an embryo's name (their listener's), `raddr` (the peer's name), ESTABLISHED on a dgram
//! receiver that another socket connected to, and objrefs. A scenario can still describe a
//! state Linux cannot reach (a one-sided stream `peer`, a relative name without `cwd`, data on
//! a listener): the writer writes it as said and the validator reports it — the invalid
//! fixtures rely on that.

use crate::bstr;
use crate::sim::{How, SockType};
use crate::sock::Family;
use crate::wire::{self, *};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Default `sk_sndbuf`/`sk_rcvbuf` of a new AF_UNIX socket (`net.core.wmem_default`).
pub const DEFAULT_BUF: i32 = 212_992;

/// A scenario.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario shows.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// uts release recorded in the header.
    #[serde(default = "default_release")]
    pub kernel: String,
    /// Checkpoint time (seconds since the epoch) recorded in the header.
    #[serde(default)]
    pub time: u64,
    /// Processes and their fds. Absent: one process (pid 1000) holds every socket that is not
    /// an embryo or `"no_fd"`, at fds 3, 4, 5… in scenario order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskSpec>,
    /// The sockets.
    pub sockets: Vec<SockSpec>,
}

fn default_release() -> String {
    "6.18.44".into()
}

/// A process.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskSpec {
    /// Its pid.
    pub pid: i32,
    /// fd number → socket name.
    pub fds: BTreeMap<i32, String>,
    /// fds with `FD_CLOEXEC`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cloexec: Vec<i32>,
}

/// One socket.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SockSpec {
    /// Unique name within the scenario.
    pub name: String,
    /// `unix` (default), `inet` or `inet6`.
    #[serde(default)]
    pub family: Family,
    /// `stream`, `dgram` or `seqpacket`.
    #[serde(rename = "type")]
    pub ty: SockType,
    /// Own name: `/abs/path`, `rel/path` (needs `cwd`), `@abstract` (bstr escapes allowed), or for
    /// INET `a.b.c.d:port` (inet) / `[v6]:port` (inet6; `a.b.c.d:port` there is v4-mapped).
    /// An accepted INET socket without one gets its listener's port on the loopback address
    /// its client's family uses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// Directory of a relative path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// The name was chosen by autobind.
    #[serde(default, skip_serializing_if = "is_false")]
    pub autobind: bool,
    /// The path was unlinked after bind (default: still linked).
    #[serde(default, skip_serializing_if = "is_false")]
    pub unlinked: bool,
    /// Listening with this backlog.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listen: Option<i16>,
    /// Not-yet-accepted connections, accept order (listeners only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<PendingSpec>,
    /// Connected to this socket by `connect()` (stream: the accepted end; dgram: any socket).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
    /// Created by `socketpair()` with this socket.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pair: Option<String>,
    /// Returned by `accept()` on this listener (its name is the listener's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accepted_from: Option<String>,
    /// The stream peer has closed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub peer_gone: bool,
    /// Connected to a socket outside the checkpointed processes (`checkpoint dump` marks these).
    #[serde(default, skip_serializing_if = "is_false")]
    pub external_peer: bool,
    /// INET with `external_peer`: the peer's address (`a.b.c.d:port` or `[v6]:port`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<String>,
    /// INET: `SO_REUSEADDR` (`sk_reuse`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub reuseaddr: bool,
    /// INET: `SO_REUSEPORT`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub reuseport: bool,
    /// inet6: `IPV6_V6ONLY`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub v6only: bool,
    /// `rd`, `wr` or `rdwr`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shutdown: Option<How>,
    /// `sk_sndbuf` in bytes (default 212992).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sndbuf: Option<i32>,
    /// `sk_rcvbuf` in bytes (default 212992).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rcvbuf: Option<i32>,
    /// `SOCK_SNDBUF_LOCK`: `SO_SNDBUF` was set, so TCP does not autotune the send buffer (a
    /// TCP socket's `sndbuf` is restored only with it).
    #[serde(default, skip_serializing_if = "is_false")]
    pub sndbuf_lock: bool,
    /// `SOCK_RCVBUF_LOCK`: the same for `SO_RCVBUF`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub rcvbuf_lock: bool,
    /// `O_NONBLOCK` on its open file (the fds that share it see it; `checkpoint dump` reads it
    /// from `/proc/PID/fdinfo`). FILE `f_flags`.
    #[serde(default, skip_serializing_if = "is_false")]
    pub nonblock: bool,
    /// `SO_PASSCRED` (`SOCK_PASSCRED` in SOCKET `socket_flags`).
    #[serde(default, skip_serializing_if = "is_false")]
    pub passcred: bool,
    /// The socket options of `RS_SOCKOPT` (`SO_PEEK_OFF`, `SO_KEEPALIVE`, `SO_LINGER`, …,
    /// `TCP_NODELAY`, …), each `{"name": …, "value": …}`; at most one per option. An option not
    /// listed is not recorded (a restore leaves it at the kernel's default).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opts: Vec<crate::sim::SockOpt>,
    /// Receive queue, head first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub queue: Vec<MsgSpec>,
    /// Held by no fd (for example only in flight).
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_fd: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A pending connection.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingSpec {
    /// The connecting socket; absent when it has closed since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client: Option<String>,
    /// What the client sent before accept (it waits on the embryo).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sent: Vec<MsgSpec>,
}

/// The most bytes a scenario's `repeat` payloads may add up to (all its messages together).
pub const MAX_REPEAT_TOTAL: u64 = 1 << 28;

/// A queued message.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MsgSpec {
    /// Sender (default: the receiver's peer; required for unconnected dgram receivers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Payload in the bstr spelling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// Payload in hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
    /// Payload of this many `x` bytes (large fixtures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// Sockets whose files travel with the message (SCM_RIGHTS).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rights: Vec<String>,
    /// The out-of-band byte of an AF_UNIX stream socket (`RS_OOB`): a 1-byte message sent
    /// with `MSG_OOB` and not yet read.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub oob: bool,
}

impl MsgSpec {
    fn payload(&self) -> Result<Vec<u8>, String> {
        match (&self.data, &self.hex, self.repeat) {
            (Some(d), None, None) => bstr::unescape(d).map_err(|e| e.to_string()),
            (None, Some(h), None) => bstr::unhex(h).map_err(|e| e.to_string()),
            (None, None, Some(n)) if u64::from(n) <= MAX_REPEAT_TOTAL => Ok(vec![b'x'; n as usize]),
            (None, None, None) => Ok(Vec::new()),
            _ => Err("a message has exactly one of data, hex, repeat (≤ 256 MiB)".into()),
        }
    }
}

/// Why a scenario cannot be written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("scenario: {0}")]
pub struct ScenarioError(pub String);

fn fail<T>(msg: impl Into<String>) -> Result<T, ScenarioError> {
    Err(ScenarioError(msg.into()))
}

/// A task's pid and its `(fd, socket index, cloexec)` entries.
type TaskFds = (i32, Vec<(i32, usize, bool)>);

/// The resolved role of one socket (embryos included).
#[derive(Debug, Clone)]
struct Node {
    family: u16,
    ty: u16,
    addr: Addr,
    cwd: Option<Vec<u8>>,
    flags: u32,
    listen: Option<i16>,
    peer: Option<usize>,
    pair: bool,
    embryo: bool,
    shutdown: u8,
    sndbuf: i32,
    rcvbuf: i32,
    /// `sk_userlocks` (SNDBUF_LOCK, RCVBUF_LOCK).
    userlocks: u8,
    /// FILE `f_flags` beyond `O_RDWR` (`O_NONBLOCK`).
    f_flags: u32,
    /// SOCKET `socket_flags` (`SOCK_PASSCRED`).
    socket_flags: u64,
    /// `RS_SOCKOPT` (none if empty).
    opts: Vec<crate::sim::SockOpt>,
    queue: Vec<(Option<usize>, Vec<u8>, Vec<usize>)>,
    /// `RS_OOB`: the queue's message sent with `MSG_OOB` (the last one marked wins, as the
    /// kernel's `oob_skb` does).
    oob: Option<usize>,
    pending: Vec<(usize, Option<usize>)>,
    receiver: bool,
    /// INET: `rs_flags`, `sk_reuse`, an external peer's address, an explicit `addr`.
    inet_flags: u16,
    reuse: u32,
    remote: Option<std::net::SocketAddr>,
    explicit_addr: bool,
}

#[derive(Debug, Clone)]
enum Addr {
    Unix(crate::image::UnixAddr),
    Inet(std::net::SocketAddr),
}

/// An INET address of a scenario: `a.b.c.d:port` or `[v6]:port`; for AF_INET6 an IPv4 address
/// stands for its v4-mapped form.
fn parse_inet(family: u16, s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::{IpAddr, SocketAddr};
    let a: SocketAddr = s.parse().map_err(|_| format!("bad INET address {s:?} (a.b.c.d:port or [v6]:port)"))?;
    match (family, a.ip()) {
        (AF_INET, IpAddr::V4(_)) | (AF_INET6, IpAddr::V6(_)) => Ok(a),
        (AF_INET6, IpAddr::V4(v4)) => Ok(SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port())),
        _ => Err(format!("{s:?} is an IPv6 address on an inet socket (use family inet6)")),
    }
}

fn parse_addr(family: u16, s: Option<&str>) -> Result<Addr, String> {
    use crate::image::UnixAddr;
    if family != AF_UNIX {
        let Some(s) = s else {
            let any: std::net::IpAddr = if family == AF_INET6 {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            };
            return Ok(Addr::Inet(std::net::SocketAddr::new(any, 0)));
        };
        return parse_inet(family, s).map(Addr::Inet);
    }
    Ok(Addr::Unix(match s {
        None => UnixAddr::Unnamed,
        Some(s) => {
            let b = bstr::unescape(s).map_err(|e| e.to_string())?;
            match b.split_first() {
                Some((b'@', rest)) => UnixAddr::Abstract(rest.into()),
                Some(_) if b.len() <= 108 && !b.contains(&0) => UnixAddr::Path(b.into()),
                _ => return Err(format!("bad AF_UNIX name {s:?}")),
            }
        }
    }))
}

impl Scenario {
    /// Parse a scenario from JSON.
    pub fn from_json(text: &str) -> Result<Scenario, ScenarioError> {
        serde_json::from_str(text).map_err(|e| ScenarioError(e.to_string()))
    }

    /// Write the image.
    pub fn to_image(&self) -> Result<Vec<u8>, ScenarioError> {
        self.to_image_mapped().map(|(image, _)| image)
    }

    /// Write the image, and say which objref each of the scenario's sockets got in it (in
    /// `sockets` order).
    pub fn to_image_mapped(&self) -> Result<(Vec<u8>, Vec<i32>), ScenarioError> {
        let (nodes, names) = self.resolve()?;
        let tasks = self.tasks_or_default(&nodes, &names)?;
        let mut w = Writer::new(&nodes);
        let image = w.write(self, &tasks);
        // Every socket of the scenario is written (held by an fd, or in the pass for the rest).
        let objrefs = w.sock_ref.iter().take(self.sockets.len()).map(|r| r.unwrap_or(0)).collect();
        Ok((image, objrefs))
    }

    fn tasks_or_default(&self, nodes: &[Node], names: &BTreeMap<String, usize>) -> Result<Vec<TaskFds>, ScenarioError> {
        if self.tasks.is_empty() {
            let fds = (0..self.sockets.len())
                .filter(|&i| !self.sockets[i].no_fd && !nodes[i].embryo)
                .enumerate()
                .map(|(k, i)| (3 + k as i32, i, false))
                .collect();
            return Ok(vec![(1000, fds)]);
        }
        let mut out = Vec::new();
        for t in &self.tasks {
            let mut fds = Vec::new();
            for (&fd, name) in &t.fds {
                let &i = names
                    .get(name)
                    .ok_or_else(|| ScenarioError(format!("task {} fd {fd}: no socket {name:?}", t.pid)))?;
                fds.push((fd, i, t.cloexec.contains(&fd)));
            }
            out.push((t.pid, fds));
        }
        Ok(out)
    }

    fn resolve(&self) -> Result<(Vec<Node>, BTreeMap<String, usize>), ScenarioError> {
        // `repeat` is the one payload spelling that is not bounded by the text's own length: a
        // few bytes of JSON per message can ask for 256 MiB each. Their sum is bounded before
        // anything is allocated.
        let repeated: u64 = self
            .sockets
            .iter()
            .flat_map(|s| s.queue.iter().chain(s.pending.iter().flat_map(|p| &p.sent)))
            .map(|m| u64::from(m.repeat.unwrap_or(0)))
            .sum();
        if repeated > MAX_REPEAT_TOTAL {
            return fail(format!(
                "the messages' repeat payloads total {repeated} bytes; at most {MAX_REPEAT_TOTAL} (256 MiB) in all"
            ));
        }
        let mut names = BTreeMap::new();
        for (i, s) in self.sockets.iter().enumerate() {
            if names.insert(s.name.clone(), i).is_some() {
                return fail(format!("two sockets are named {:?}", s.name));
            }
        }
        let look = |n: &str, what: &str, who: &str| -> Result<usize, ScenarioError> {
            names.get(n).copied().ok_or_else(|| ScenarioError(format!("socket {who:?}: {what} {n:?} does not exist")))
        };
        let mut nodes = Vec::new();
        for s in &self.sockets {
            let (family, ty) = (s.family.raw(), s.ty.raw());
            let addr = parse_addr(family, s.addr.as_deref())
                .map_err(|e| ScenarioError(format!("socket {:?}: {e}", s.name)))?;
            let mut seen = 0u32;
            for o in &s.opts {
                let Some(n) = o.recorded() else {
                    return fail(format!(
                        "socket {:?}: opts holds {o:?}, which has a key of its own (sndbuf, rcvbuf, passcred, reuseaddr, reuseport, v6only)",
                        s.name
                    ));
                };
                if seen & n.bit() != 0 {
                    return fail(format!("socket {:?}: {} is in opts twice", s.name, n.c_name()));
                }
                seen |= n.bit();
            }
            let mut flags = 0;
            if matches!(&addr, Addr::Unix(crate::image::UnixAddr::Path(_))) && !s.unlinked {
                flags |= UNIX_LINKED;
            }
            if s.autobind {
                flags |= UNIX_AUTOBIND;
            }
            if s.peer_gone {
                flags |= UNIX_PEER_GONE;
            }
            if s.external_peer {
                flags |= UNIX_EXTERNAL_PEER;
            }
            let shutdown = s.shutdown.map_or(0, How::bits);
            if family != AF_UNIX && (s.peer_gone || s.autobind || s.unlinked || s.cwd.is_some()) {
                return fail(format!("socket {:?}: peer_gone, autobind, unlinked and cwd are AF_UNIX only", s.name));
            }
            if (s.remote.is_some() || s.reuseaddr || s.reuseport || s.v6only) && family == AF_UNIX {
                return fail(format!("socket {:?}: remote, reuseaddr, reuseport and v6only are INET only", s.name));
            }
            let remote = match &s.remote {
                Some(r) if s.external_peer => {
                    Some(parse_inet(family, r).map_err(|e| ScenarioError(format!("socket {:?}: {e}", s.name)))?)
                }
                Some(_) => return fail(format!("socket {:?}: remote is the address of an external_peer", s.name)),
                None if s.external_peer && family != AF_UNIX => {
                    return fail(format!("socket {:?}: an INET external_peer needs its remote address", s.name))
                }
                None => None,
            };
            let mut inet_flags = 0;
            if s.reuseport {
                inet_flags |= INET_REUSEPORT;
            }
            // bind() to a plain IPv6 address makes the socket IPV6_V6ONLY (__inet6_bind).
            let plain_v6 = matches!(&addr, Addr::Inet(a) if matches!(a.ip(), std::net::IpAddr::V6(v6)
                if !v6.is_unspecified() && v6.to_ipv4_mapped().is_none()));
            if s.v6only || (plain_v6 && s.accepted_from.is_none()) {
                inet_flags |= INET_V6ONLY;
            }
            nodes.push(Node {
                inet_flags,
                reuse: u32::from(s.reuseaddr),
                remote,
                explicit_addr: s.addr.is_some(),
                family,
                ty,
                addr,
                cwd: s.cwd.as_ref().map(|c| c.as_bytes().to_vec()),
                flags,
                listen: s.listen,
                peer: None,
                pair: false,
                embryo: false,
                // A closing peer shuts a stream/seqpacket survivor down, never a dgram one (§1.6).
                shutdown: if s.peer_gone && ty != SOCK_DGRAM { SHUTDOWN_MASK } else { shutdown },
                sndbuf: s.sndbuf.unwrap_or(DEFAULT_BUF),
                rcvbuf: s.rcvbuf.unwrap_or(DEFAULT_BUF),
                userlocks: u8::from(s.sndbuf_lock) | (u8::from(s.rcvbuf_lock) << 1),
                f_flags: if s.nonblock { O_NONBLOCK } else { 0 },
                socket_flags: if s.passcred { SOCK_PASSCRED } else { 0 },
                opts: s.opts.clone(),
                queue: Vec::new(),
                oob: None,
                pending: Vec::new(),
                receiver: false,
            });
        }
        for (i, s) in self.sockets.iter().enumerate() {
            if let Some(p) = &s.pair {
                let j = look(p, "pair", &s.name)?;
                if self.sockets[j].pair.as_deref() != Some(s.name.as_str()) {
                    return fail(format!("socket {:?} pairs with {p:?}, which does not pair back", s.name));
                }
                nodes[i].peer = Some(j);
                nodes[i].pair = true;
            }
            if let Some(p) = &s.peer {
                let j = look(p, "peer", &s.name)?;
                nodes[i].peer = Some(j);
                nodes[j].receiver = true;
            }
            if let Some(l) = &s.accepted_from {
                let j = look(l, "accepted_from", &s.name)?;
                nodes[i].flags |= UNIX_ACCEPTED;
                nodes[i].inet_flags |= INET_ACCEPTED;
                if nodes[i].family == AF_UNIX || !nodes[i].explicit_addr {
                    nodes[i].addr = nodes[j].addr.clone();
                    nodes[i].explicit_addr = false;
                }
                nodes[i].cwd = nodes[j].cwd.clone();
                nodes[i].flags &= !UNIX_LINKED;
            }
        }
        // Embryos: one new node per pending connection.
        for (i, s) in self.sockets.iter().enumerate() {
            for p in &s.pending {
                let client = p.client.as_deref().map(|c| look(c, "pending client", &s.name)).transpose()?;
                if client.is_none() && nodes[i].family != AF_UNIX {
                    return fail(format!("socket {:?}: an INET pending connection needs its client", s.name));
                }
                let e = nodes.len();
                let mut embryo = nodes[i].clone();
                embryo.listen = None;
                embryo.inet_flags |= INET_ACCEPTED;
                embryo.explicit_addr = false;
                embryo.reuse = nodes[i].reuse;
                embryo.flags = nodes[i].flags & !UNIX_LINKED;
                embryo.peer = client;
                embryo.embryo = true;
                embryo.pending.clear();
                embryo.queue.clear();
                embryo.opts.clear();
                embryo.shutdown = if client.is_none() { SHUTDOWN_MASK } else { 0 };
                if client.is_none() {
                    embryo.flags |= UNIX_PEER_GONE;
                }
                for m in &p.sent {
                    let data = m.payload().map_err(|e| ScenarioError(format!("socket {:?} pending: {e}", s.name)))?;
                    let rights = m.rights.iter().map(|r| look(r, "rights", &s.name)).collect::<Result<_, _>>()?;
                    embryo.queue.push((client, data, rights));
                }
                nodes.push(embryo);
                if let Some(c) = client {
                    nodes[c].peer = Some(e);
                }
                nodes[i].pending.push((e, client));
            }
        }
        // An accepted INET socket (or embryo) without its own addr: the listener's port on the
        // loopback address of its client's family (a wildcard listener accepts on the address the
        // client connected to).
        for i in 0..nodes.len() {
            if nodes[i].family == AF_UNIX || nodes[i].explicit_addr || nodes[i].inet_flags & INET_ACCEPTED == 0 {
                continue;
            }
            let Addr::Inet(l) = nodes[i].addr else { continue };
            if !l.ip().is_unspecified() {
                continue;
            }
            let client_v4 = match nodes[i].peer.map(|p| &nodes[p].addr) {
                Some(Addr::Inet(c)) => {
                    c.is_ipv4() || matches!(c.ip(), std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
                }
                _ => l.is_ipv4(),
            };
            let lo4 = std::net::Ipv4Addr::LOCALHOST;
            let ip: std::net::IpAddr = match (nodes[i].family == AF_INET6, client_v4) {
                (false, _) => lo4.into(),
                (true, true) => lo4.to_ipv6_mapped().into(),
                (true, false) => std::net::Ipv6Addr::LOCALHOST.into(),
            };
            nodes[i].addr = Addr::Inet(std::net::SocketAddr::new(ip, l.port()));
        }
        for (i, s) in self.sockets.iter().enumerate() {
            for m in &s.queue {
                let data = m.payload().map_err(|e| ScenarioError(format!("socket {:?}: {e}", s.name)))?;
                let from = match &m.from {
                    Some(f) => Some(look(f, "message sender", &s.name)?),
                    None => nodes[i].peer,
                };
                let rights = m.rights.iter().map(|r| look(r, "rights", &s.name)).collect::<Result<_, _>>()?;
                if m.oob {
                    nodes[i].oob = Some(nodes[i].queue.len());
                }
                nodes[i].queue.push((from, data, rights));
            }
        }
        Ok((nodes, names))
    }
}

struct Writer<'n> {
    nodes: &'n [Node],
    out: Vec<u8>,
    next: i32,
    sock_ref: Vec<Option<i32>>,
    file_ref: Vec<Option<i32>>,
    worklist: Vec<usize>,
}

impl<'n> Writer<'n> {
    fn new(nodes: &'n [Node]) -> Self {
        Writer {
            nodes,
            out: Vec::new(),
            next: 1,
            sock_ref: vec![None; nodes.len()],
            file_ref: vec![None; nodes.len()],
            worklist: Vec::new(),
        }
    }

    fn objref(&mut self, objtype: u32) -> i32 {
        let r = self.next;
        self.next += 1;
        ObjrefRepr { objtype, objref: r }.emit(&mut self.out);
        r
    }

    fn write(&mut self, sc: &Scenario, tasks: &[TaskFds]) -> Vec<u8> {
        self.header(sc);
        for (pid, fds) in tasks {
            let table = self.objref(OBJ_FILE_TABLE);
            FileTableRepr { fdt_nfds: fds.len() as i32 }.emit(&mut self.out);
            for &(fd, i, cloexec) in fds {
                let file = self.file(i);
                FileDescRepr { fd_objref: file, fd_descriptor: fd, fd_close_on_exec: u32::from(cloexec) }
                    .emit(&mut self.out);
            }
            self.deferred();
            TaskRepr { pid: *pid, files_objref: table }.emit(&mut self.out);
        }
        // Sockets no fd holds (in flight only, or only referenced by nothing).
        for i in 0..self.nodes.len() {
            if self.sock_ref[i].is_none() && !self.nodes[i].embryo {
                self.sock(i);
            }
        }
        self.deferred();
        TailRepr { magic: MAGIC_TAIL }.emit(&mut self.out);
        std::mem::take(&mut self.out)
    }

    fn header(&mut self, sc: &Scenario) {
        let mut parts = sc.kernel.split(|c: char| !c.is_ascii_digit()).map(|p| p.parse::<u16>().unwrap_or(0));
        let h = HeaderRepr {
            magic: MAGIC_HEAD,
            arch_id: ARCH_X86_64,
            major: parts.next().unwrap_or(0),
            minor: parts.next().unwrap_or(0),
            patch: parts.next().unwrap_or(0),
            rev: REV,
            task_comm_len: 16,
            at_vector_size: 50,
            signal_nsig: 64,
            uts_sysname_len: UTS_LEN,
            uts_nodename_len: UTS_LEN,
            uts_release_len: UTS_LEN,
            uts_version_len: UTS_LEN,
            uts_machine_len: UTS_LEN,
            uts_domainname_len: UTS_LEN,
            rlimit_nlimits: 16,
            n_tty_buf_size: 4096,
            tty_termios_nccs: 19,
            time: sc.time,
            uflags: 0,
        };
        h.emit(&mut self.out);
        for s in [sc.kernel.as_bytes(), b"#1 SMP resocket", b"x86_64"] {
            let mut b = s.to_vec();
            b.resize(usize::from(UTS_LEN), 0);
            emit_raw(&mut self.out, RecordType::BUFFER, &b);
        }
    }

    fn file(&mut self, i: usize) -> i32 {
        if let Some(r) = self.file_ref[i] {
            return r;
        }
        let r = self.objref(OBJ_FILE);
        let sock = self.sock(i);
        let f_flags = O_RDWR | self.nodes[i].f_flags;
        FileSocketRepr { f_type: FILE_SOCKET, f_mode: 0x3, f_flags, sock_objref: sock, ..Default::default() }
            .emit(&mut self.out);
        self.file_ref[i] = Some(r);
        r
    }

    fn sock(&mut self, i: usize) -> i32 {
        if let Some(r) = self.sock_ref[i] {
            return r;
        }
        let n = &self.nodes[i];
        let r = self.objref(OBJ_SOCK);
        self.sock_ref[i] = Some(r);
        self.worklist.push(i);
        let inet = n.family != AF_UNIX;
        let state = if n.listen.is_some() {
            TCP_LISTEN
        } else if n.peer.is_some()
            || n.pair
            || n.embryo
            || (n.flags & (UNIX_PEER_GONE | UNIX_EXTERNAL_PEER) != 0)
            || (n.ty == SOCK_DGRAM && n.receiver && !inet)
        {
            TCP_ESTABLISHED
        } else {
            TCP_CLOSE
        };
        // A TCP connection half-closed by shutdown(SHUT_WR): FIN_WAIT2 on the closer, CLOSE_WAIT
        // on the other end (the FIN and its ACK cross loopback at once).
        let peer_wr = n.peer.is_some_and(|p| self.nodes[p].shutdown & 2 != 0);
        let state = match (inet && n.ty == SOCK_STREAM && state == TCP_ESTABLISHED, n.shutdown & 2 != 0, peer_wr) {
            (true, true, false) => 5, // TCP_FIN_WAIT2
            (true, false, true) => 8, // TCP_CLOSE_WAIT
            _ => state,
        };
        let socket_state = if n.embryo {
            SS_CONNECTING
        } else if matches!(state, TCP_ESTABLISHED | 5 | 8) && (n.ty != SOCK_DGRAM || n.pair) {
            SS_CONNECTED
        } else {
            SS_UNCONNECTED
        };
        // INET: sk_max_ack_backlog is 0 until listen(); AF_UNIX copies max_dgram_qlen.
        let backlog = n.listen.unwrap_or(if inet { 0 } else { crate::image::MAX_DGRAM_QLEN as i16 });
        SocketRepr {
            has_buffers: u8::from(!n.queue.is_empty()),
            socket_state,
            family: n.family,
            common_state: state,
            state,
            rcvlowat: 1,
            rcvbuf: n.rcvbuf / 2,
            sndbuf: n.sndbuf / 2,
            sock_type: n.ty,
            backlog,
            protocol: match (inet, n.ty) {
                (false, _) => 0,
                (true, SOCK_DGRAM) => IPPROTO_UDP,
                (true, _) => IPPROTO_TCP,
            },
            reuse: n.reuse,
            shutdown: n.shutdown,
            userlocks: n.userlocks,
            socket_flags: n.socket_flags,
            ..Default::default()
        }
        .emit(&mut self.out);
        match &n.addr {
            Addr::Unix(laddr) => {
                // The peer (or an embryo's client) is introduced before this socket's SOCKET_UNIX.
                let peer = n.peer.map(|p| self.sock(p)).unwrap_or(0);
                let raddr = match n.peer {
                    Some(p) => match &self.nodes[p].addr {
                        Addr::Unix(a) => a.clone(),
                        Addr::Inet(..) => crate::image::UnixAddr::Unnamed,
                    },
                    None => crate::image::UnixAddr::Unnamed,
                };
                let (laddr_len, laddr_family, lp) = laddr.encode();
                let (raddr_len, raddr_family, rp) = raddr.encode();
                SocketUnixRepr {
                    this: r,
                    peer,
                    peercred: 0,
                    flags: n.flags,
                    laddr_len,
                    raddr_len,
                    laddr_family,
                    laddr_path: Bytes(lp),
                    raddr_family,
                    raddr_path: Bytes(rp),
                }
                .emit(&mut self.out);
                if laddr.is_relative_path() {
                    let mut cwd = n.cwd.clone().unwrap_or_default();
                    cwd.push(0);
                    emit_raw(&mut self.out, RecordType::STRING, &cwd);
                }
            }
            Addr::Inet(local) => {
                let remote = match n.peer {
                    Some(p) => match &self.nodes[p].addr {
                        Addr::Inet(a) => Some(*a),
                        Addr::Unix(_) => None,
                    },
                    None => n.remote,
                };
                inet_record(n.family, *local, remote, n.inet_flags).emit(&mut self.out);
            }
        }
        r
    }

    fn deferred(&mut self) {
        // (INET sockets name their peers by address: nothing nests.)
        let mut k = 0;
        while k < self.worklist.len() {
            let i = self.worklist[k];
            k += 1;
            if !self.nodes[i].opts.is_empty() {
                let sock = self.sock(i);
                crate::sockopt::encode(sock, &self.nodes[i].opts).emit(&mut self.out);
            }
            let pending = self.nodes[i].pending.clone();
            for (index, (e, client)) in pending.into_iter().enumerate() {
                let embryo = self.sock(e);
                let client = client.map(|c| self.sock(c)).unwrap_or(0);
                let listener = self.sock(i);
                PendingRepr { listener, embryo, client, index: index as u32 }.emit(&mut self.out);
            }
            if self.nodes[i].queue.is_empty() {
                continue;
            }
            let queue = self.nodes[i].queue.clone();
            let mut files = Vec::new();
            for (_, _, rights) in &queue {
                files.push(rights.iter().map(|&r| self.file(r)).collect::<Vec<_>>());
            }
            let senders: Vec<i32> = queue.iter().map(|(from, _, _)| from.map(|f| self.sock(f)).unwrap_or(0)).collect();
            let owner = self.sock(i);
            let total: usize = queue.iter().map(|(_, d, _)| d.len()).sum();
            SocketQueueRepr { skb_count: queue.len() as u32, total_bytes: total as u32 }.emit(&mut self.out);
            for (((_, data, _), files), sender) in queue.iter().zip(files).zip(senders) {
                SocketBufferRepr {
                    lin_len: data.len() as u32,
                    skb_len: data.len() as u32,
                    sk_objref: sender,
                    pr_objref: owner,
                    ..Default::default()
                }
                .emit(&mut self.out);
                emit_raw(&mut self.out, RecordType::BUFFER, data);
                if !files.is_empty() {
                    wire::RightsRepr { objrefs: files }.emit(&mut self.out);
                }
            }
            if let Some(index) = self.nodes[i].oob {
                wire::OobRepr { sock: owner, index: index as u32 }.emit(&mut self.out);
            }
        }
        self.worklist.clear();
    }
}

/// The `SOCKET_INET` record of a socket at `local`, connected to `remote` if any: what the
/// kernel holds (AF_INET: `rcv_saddr`, `saddr`, `num`, `sport`, `daddr`, `dport` and the
/// `getsockname`/`getpeername` copies; AF_INET6: the `inet6_*` addresses, the embedded IPv4
/// address of a v4-mapped one in the IPv4 fields, and no `sockaddr`).
pub fn inet_record(
    family: u16,
    local: std::net::SocketAddr,
    remote: Option<std::net::SocketAddr>,
    rs_flags: u16,
) -> SocketInetRepr {
    use std::net::IpAddr;
    let v4 = |ip: IpAddr| -> [u8; 4] {
        match ip {
            IpAddr::V4(a) => a.octets(),
            IpAddr::V6(a) => a.to_ipv4_mapped().map_or([0; 4], |m| m.octets()),
        }
    };
    let v6 = |ip: IpAddr| -> [u8; 16] {
        match ip {
            IpAddr::V6(a) => a.octets(),
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        }
    };
    let sockaddr_in = |a: std::net::SocketAddr| -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..2].copy_from_slice(&AF_INET.to_le_bytes());
        b[2..4].copy_from_slice(&a.port().to_be_bytes());
        b[4..8].copy_from_slice(&v4(a.ip()));
        b
    };
    let mut r = SocketInetRepr {
        rcv_saddr: Bytes(v4(local.ip())),
        saddr: Bytes(v4(local.ip())),
        num: local.port(),
        sport: Bytes(local.port().to_be_bytes()),
        uc_ttl: -1,
        rs_flags,
        ..Default::default()
    };
    if let Some(rm) = remote {
        r.daddr = Bytes(v4(rm.ip()));
        r.dport = Bytes(rm.port().to_be_bytes());
    }
    if family == AF_INET6 {
        r.inet6_rcv_saddr = Bytes(v6(local.ip()));
        r.inet6_saddr = Bytes(v6(local.ip()));
        if let Some(rm) = remote {
            r.inet6_daddr = Bytes(v6(rm.ip()));
        }
    } else {
        r.laddr_len = 16;
        r.laddr = Bytes(sockaddr_in(local));
        if let Some(rm) = remote {
            r.raddr_len = 16;
            r.raddr = Bytes(sockaddr_in(rm));
        }
    }
    r
}
