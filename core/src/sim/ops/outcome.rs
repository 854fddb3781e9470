//! What an operation returns ([`Outcome`]), and why a call waits ([`Block`]).

use super::errno::Errno;
use super::{Payload, Slot};
use crate::bstr;
use serde::{Deserialize, Serialize};

/// Why a blocking call cannot complete (in a single-threaded restorer: a deadlock).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Block {
    /// `connect()`: the listener's accept queue is full (`qlen > backlog`). For TCP this holds
    /// for a non-blocking connect too: the SYN is dropped and retransmitted on a timer (1 s,
    /// 3 s, …), so when the connection completes depends on time and on accept(); the model
    /// reports the attempt as one that cannot complete now, and the native executor withdraws it
    /// (`connect(AF_UNSPEC)`) so both continue from the state before the call.
    BacklogFull { pending: usize, backlog: i64 },
    /// A send: the sender's `wmem_alloc >= sndbuf`.
    SndBuf { wmem: i64, sndbuf: i64 },
    /// A dgram send: the receiver holds more than `max_ack_backlog` datagrams from others.
    DgramQueueFull { qlen: usize, limit: i64 },
    /// `accept()` on an empty queue.
    AcceptEmpty,
    /// A read on an empty queue.
    RecvEmpty,
    /// The real kernel said a blocking call would wait (the native executor cannot say why).
    Kernel,
    /// A TCP connect whose SYN gets no answer: the kernel retransmits it until `ETIMEDOUT`
    /// minutes later; the native executor withdraws the attempt, as for a full backlog.
    NoAnswer { why: String },
    /// The kernel's answer depends on timing, on a hash keyed by a random secret, or on the
    /// Linux build, none of which the model knows (e.g. which of several SO_REUSEPORT sockets
    /// gets a datagram). The model says so instead of guessing.
    ///
    /// `answers`, when not empty, are every answer Linux may give (a differential test accepts
    /// exactly these), and the model's state afterwards is the one the first of them leaves.
    /// When empty, the model does not know the answers and its state after this step is not
    /// the kernel's. Either way no plan may depend on this step (the planner refuses it).
    Undetermined {
        why: String,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        answers: Vec<Outcome>,
    },
}

impl Block {
    /// [`Block::Undetermined`] without the answers: the model does not know them.
    pub fn undetermined(why: impl Into<String>) -> Block {
        Block::Undetermined { why: why.into(), answers: Vec::new() }
    }
}

/// What an operation returned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
#[serde(tag = "result", rename_all = "snake_case")]
pub enum Outcome {
    /// Success with the syscall's return value.
    Ok { value: i64 },
    /// Success of a read: the bytes and the slots of received fds.
    Read {
        data: Payload,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        rights: Vec<Slot>,
        truncated: bool,
    },
    /// The errno Linux returns.
    Err { errno: Errno },
    /// A blocking call that cannot complete.
    WouldBlock { block: Block },
    /// The operation is not meaningful as given (a plan error, not a kernel answer), e.g. an
    /// unknown slot.
    Invalid { why: String },
}

impl Outcome {
    /// Success.
    pub fn ok(value: i64) -> Outcome {
        Outcome::Ok { value }
    }
    /// An errno.
    pub fn err(errno: Errno) -> Outcome {
        Outcome::Err { errno }
    }
    /// Linux may give any of `answers` (the model's state follows the first): see
    /// [`Block::Undetermined`].
    pub fn either(why: impl Into<String>, answers: Vec<Outcome>) -> Outcome {
        Outcome::WouldBlock { block: Block::Undetermined { why: why.into(), answers } }
    }
    /// [`Outcome::either`] of `first` (the answer the model's state follows) and `other`,
    /// flattened: an `other` that is itself undetermined adds its answers, or, when it has
    /// none, leaves the whole answer unknown (`other` is returned).
    pub fn either_of(why: impl Into<String>, first: Outcome, other: Outcome) -> Outcome {
        match other {
            Outcome::WouldBlock { block: Block::Undetermined { ref answers, .. } } if answers.is_empty() => other,
            Outcome::WouldBlock { block: Block::Undetermined { answers, .. } } => {
                Outcome::either(why, std::iter::once(first).chain(answers).collect())
            }
            other => Outcome::either(why, vec![first, other]),
        }
    }
    /// Completed successfully.
    pub fn is_ok(&self) -> bool {
        matches!(self, Outcome::Ok { .. } | Outcome::Read { .. })
    }
    /// Short spelling: `0`, `-1 EAGAIN`, `blocks`, …
    pub fn short(&self) -> String {
        match self {
            Outcome::Ok { value } => value.to_string(),
            Outcome::Read { data, rights, truncated } => format!(
                "\"{}\"{}{}",
                bstr::escape(&data.0),
                if rights.is_empty() { String::new() } else { format!(" +{} fds", rights.len()) },
                if *truncated { " MSG_TRUNC" } else { "" }
            ),
            Outcome::Err { errno } => format!("-1 {errno}"),
            Outcome::WouldBlock { .. } => "would block".into(),
            Outcome::Invalid { why } => format!("invalid: {why}"),
        }
    }
}
