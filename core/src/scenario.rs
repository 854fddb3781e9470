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
//!
//! This file holds the form (`Scenario` and its parts). Writing an image is two steps:
//! `scenario/resolve.rs` turns the sockets into nodes (roles, links, embryos, queues) and
//! `scenario/writer.rs` writes their records. The writer uses the resolver's nodes; the
//! resolver does not use the writer.

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
}

mod resolve;
mod writer;
pub use writer::inet_record;
use writer::Writer;
