//! `checkpoint dump`: capture the AF_UNIX sockets of live processes, without disturbing them
//! (or, with `--kill`, reading what only `accept()` reaches, then killing them).
//!
//! Per process: `/proc/PID/fd` lists the fds and `/proc/PID/fdinfo/N` gives each one's
//! close-on-exec bit and, for a socket, its inode; `unix_diag` gives names, peers, pending
//! connections in accept order, backlogs, buffer sizes and shutdown bits; `pidfd_getfd` gives us
//! a duplicate (the same open file, so nothing changes for the process) of each socket whose
//! queue must be read, and of each socket unix_diag does not know; queued data is read with
//! `MSG_PEEK` (`SO_PEEK_OFF` to walk a queue, the process's own offset put back; message
//! boundaries and SCM_RIGHTS kept, nothing consumed). The result is a scenario, written as an
//! image by core.
//!
//! TCP and UDP sockets (IPv4, IPv6) are described by `inet` (inet.rs) from inet_diag, which is
//! asked only for the kinds (TCP/UDP × IPv4/IPv6) the processes hold; a TCP queue is peeked
//! with its urgent mark (`urgent`, urgent.rs), in both modes.
//!
//! Refused, with the reason, rather than written wrongly: data a pending client sent before
//! `accept()`, and pending connections whose client has closed (what they hold waits on the
//! embryo, which no interface can read without accepting it), fds in flight that are not
//! sockets. Sockets of other families are left out with a warning.
//!
//! `--kill` ([`dump_killing`], [`Stopped`]) is for processes that will not run on: they are
//! stopped, each listener with pending connections is accepted on (a duplicate of it, in accept
//! order) and each accepted connection's queue read, so those connections are recorded as
//! pending with what they held; an AF_UNIX stream socket with an out-of-band byte pending has
//! its queue read for real up to the mark (`oob`, oob.rs), which a peek cannot place; the
//! processes are killed once the image is written. If the
//! dump itself dies first (SIGKILL, a crash), a guard process resumes them, or kills them once
//! something was accepted ([`Stopped::stop_guarded`], [`guard`]): none is left stopped.
//!
//! No non-invasive way is implemented. The embryo has no inode, no fd and is not in the unix
//! hash table, so neither unix_diag nor pidfd_getfd reaches it. This kernel has the unix BPF
//! iterator (`bpf_iter__unix` in its BTF): it visits hashed sockets only, but from a listener a
//! tracing program could walk `sk_receive_queue` (`skb->sk` is the embryo) to each embryo's own
//! queue and copy its bytes out (linear part and page frags, in bounded loops). Two things stop
//! it here: this tool would have to carry and load a compiled BPF program (the machine has
//! LLVM 14's `llc` but no C compiler for BPF, and bpftool loads objects, it does not build
//! them), and fds in flight on an embryo (`UNIXCB(skb).fp`) could be named by inode but never
//! received, so a socket only in flight there could not be described: that part needs
//! `accept()` in any case.

mod fds;
pub(crate) mod inet;
mod names;
pub(crate) mod oob;
mod pending;
mod queues;
mod stopped;
mod unix;
pub(crate) mod urgent;

pub use queues::{may_hold_messages, peek_queue, peek_queue_with, Peeked};
pub use stopped::{guard, Stopped};

use crate::diag_unix;
use inet::EarlyData;
use resocket_core::scenario::{Scenario, ScenarioError};
use resocket_core::warn::{WarnCode, Warning};
use std::collections::{BTreeMap, BTreeSet};
use unix::{Found, Member};

/// The result of a dump.
#[derive(Debug)]
pub struct Dump {
    /// The scenario (write it with `to_image`).
    pub scenario: Scenario,
    /// Things the user must know (external peers, guesses), each with the scenario socket it
    /// is about, if any ([`Dump::to_image`] turns that into the image's objref).
    pub warnings: Vec<DumpWarning>,
}

/// A warning of the dump, placed on a socket of the scenario by its name.
#[derive(Debug, Clone)]
pub struct DumpWarning {
    /// The warning (its objref is filled in by [`Dump::to_image`]).
    pub warning: Warning,
    /// The scenario socket it is about (`inoN`).
    pub socket: Option<String>,
}

impl DumpWarning {
    /// A warning about the socket of inode `ino`.
    pub(crate) fn on(ino: u32, code: WarnCode, message: String) -> Self {
        DumpWarning { warning: Warning::new(code, message), socket: Some(name_of(ino)) }
    }
}

impl Dump {
    /// The image, and the warnings with the objrefs their sockets got in it.
    pub fn to_image(&self) -> Result<(Vec<u8>, Vec<Warning>), ScenarioError> {
        let (bytes, objrefs) = self.scenario.to_image_mapped()?;
        // Only the sockets the warnings name are looked up (none, mostly): not a map of every
        // socket's name.
        let mut by_name: BTreeMap<&str, i32> =
            self.warnings.iter().filter_map(|w| w.socket.as_deref()).map(|n| (n, 0)).collect();
        if !by_name.is_empty() {
            for (s, o) in self.scenario.sockets.iter().zip(objrefs).filter(|(_, o)| *o > 0) {
                if let Some(slot) = by_name.get_mut(s.name.as_str()) {
                    *slot = o;
                }
            }
        }
        let warnings = self
            .warnings
            .iter()
            .map(|w| {
                let mut out = w.warning.clone();
                out.objref = w.socket.as_deref().and_then(|n| by_name.get(n).copied()).filter(|&o| o > 0);
                out
            })
            .collect();
        Ok((bytes, warnings))
    }
}

/// A socket's name in the scenario: `ino` and its inode number. Spelled by hand (the dump names
/// each socket several times over: itself, its peer, its fd, messages' rights), not with
/// `format!`.
fn name_of(ino: u32) -> String {
    let mut digits = [0u8; 10];
    let mut at = digits.len();
    let mut n = ino;
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let mut s = String::with_capacity(3 + digits.len() - at);
    s.push_str("ino");
    s.extend(digits[at..].iter().map(|&d| char::from(d)));
    s
}

/// A network namespace: its `/proc/PID/ns/net`, open, and that pid.
type Netns = (std::fs::File, i32);

/// The network namespace the processes live in, when it is not ours: its `/proc/PID/ns/net`
/// and that pid. sock_diag answers for the namespace its netlink socket was made in, so the
/// dumps run there ([`in_netns`]); the rest of the dump works on `/proc` and on duplicated fds,
/// which do not care. Processes in different namespaces are refused.
fn netns_of(pids: &[i32]) -> Result<Option<Netns>, DumpError> {
    let ns_of = |pid: &str| {
        std::fs::metadata(format!("/proc/{pid}/ns/net")).map(|m| {
            use std::os::unix::fs::MetadataExt;
            (m.dev(), m.ino())
        })
    };
    let ours = ns_of("self").map_err(|e| format!("/proc/self/ns/net: {e}"))?;
    let mut theirs = None;
    for pid in pids {
        let ns = ns_of(&pid.to_string()).map_err(|e| format!("/proc/{pid}/ns/net: {e}"))?;
        match theirs {
            None => theirs = Some((ns, *pid)),
            Some((other, first)) if other != ns => {
                return Err(DumpError::Refused(format!(
                    "pids {first} and {pid} live in different network namespaces; dump them separately"
                )))
            }
            Some(_) => {}
        }
    }
    let Some((_, pid)) = theirs.filter(|(ns, _)| *ns != ours) else { return Ok(None) };
    let file = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| format!("/proc/{pid}/ns/net: {e}"))?;
    Ok(Some((file, pid)))
}

/// Run `f` in the namespace: here when it is ours, else on a short-lived thread moved into it.
fn in_netns<T: Send, E: Into<DumpError>>(
    ns: Option<&Netns>,
    f: impl FnOnce() -> Result<T, E> + Send,
) -> Result<T, DumpError> {
    let Some((file, pid)) = ns else { return f().map_err(Into::into) };
    std::thread::scope(|s| {
        s.spawn(|| {
            use rustix::fd::AsFd;
            rustix::thread::move_into_link_name_space(file.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network))
                .map_err(|e| format!("setns into the network namespace of pid {pid}: {e}"))?;
            f().map_err(Into::into)
        })
        .join()
        .unwrap_or_else(|_| Err(DumpError::from("the sock_diag thread panicked")))
    })
}

/// Why a dump failed: [`checkpoint dump`] exits 1 for a refusal, 2 for a system failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DumpError {
    /// The processes hold a state the image cannot record faithfully (data waiting on an
    /// embryo, a peer outside the dumped processes, an out-of-band byte, a TCP connection
    /// opening or closing, ...): the message says which socket and what to do instead.
    #[error("{0}")]
    Refused(String),
    /// A system call, `/proc`, netlink or the processes themselves failed (gone, not
    /// permitted, changed during the dump): dumping again may work.
    #[error("{0}")]
    System(String),
}

impl From<String> for DumpError {
    fn from(message: String) -> Self {
        DumpError::System(message)
    }
}

impl From<rustix::io::Errno> for DumpError {
    fn from(e: rustix::io::Errno) -> Self {
        DumpError::System(e.to_string())
    }
}

impl From<&str> for DumpError {
    fn from(message: &str) -> Self {
        DumpError::System(message.to_string())
    }
}

impl From<DumpError> for crate::CliError {
    /// A refusal exits 1 (`EXIT_INVALID`: the state cannot be recorded), a system failure 2
    /// (`EXIT_USAGE`: usage or I/O).
    fn from(e: DumpError) -> Self {
        match e {
            DumpError::Refused(message) => crate::CliError { message, code: crate::EXIT_INVALID },
            DumpError::System(message) => crate::CliError::usage(message),
        }
    }
}

impl DumpError {
    /// The same failure with `context` before its message (which socket, which step).
    pub fn context(self, context: &str) -> Self {
        match self {
            DumpError::Refused(m) => DumpError::Refused(format!("{context}: {m}")),
            DumpError::System(m) => DumpError::System(format!("{context}: {m}")),
        }
    }
}

/// Capture the unix sockets of these processes, without disturbing them.
pub fn dump(pids: &[i32]) -> Result<Dump, DumpError> {
    dump_with(pids, None)
}

/// Capture the unix sockets of these processes, stopped (see [`Stopped`]), with what the clients
/// of pending connections sent before `accept()`: each listener with pending connections is
/// duplicated and accepted on in accept order, and what each accepted connection holds is read
/// (bytes, record boundaries, fds in flight). Kill the processes afterwards ([`Stopped::kill`]).
pub fn dump_killing(pids: &[i32], stopped: &mut Stopped) -> Result<Dump, DumpError> {
    dump_with(pids, Some(stopped))
}

fn dump_with(pids: &[i32], mut stopped: Option<&mut Stopped>) -> Result<Dump, DumpError> {
    let runs_on = stopped.is_none();
    let ns = netns_of(pids)?;
    let diag = in_netns(ns.as_ref(), diag_unix::dump)?;
    let mut warnings = Vec::new();
    let fds::Tables { tasks, mut dups, mut inet, pidfds, to_read, to_probe, nonblock, held_at } =
        fds::walk(pids, &diag, &mut warnings)?;
    let inet_held: BTreeSet<u32> = inet.keys().copied().collect();
    let mut received = Vec::new();
    let mut scratch = Vec::new();
    let mut reader = crate::sockopt_io::Reader::new();
    let mut todo = unix::read_held(to_read, &pidfds, &mut dups, &mut received, &mut scratch, &mut reader)?;
    let mut found =
        Found { diag: &diag, dups: &mut dups, inet: &mut inet, received: &mut received, scratch: &mut scratch };
    found.in_flight(&mut todo)?;
    let early = if stopped.is_some() { EarlyData::Accepted } else { EarlyData::Refuse };
    // `--kill`: the pending connections of each listener, accepted on a duplicate of it, with
    // what they hold (pending.rs).
    let (consumed, tcp_accepted) = match stopped.as_deref_mut() {
        Some(stopped) => {
            pending::consume(stopped, &mut found, ns.as_ref(), &inet_held, &held_at, &pidfds, &mut warnings)?
        }
        None => (BTreeMap::new(), BTreeMap::new()),
    };
    unix::read_options(&diag, &mut dups, &to_probe, &pidfds, &mut received, &mut reader, stopped)?;
    let bound_in = names::bound_dirs(pids, &diag, &dups, &held_at, &pidfds)?;
    let mut sockets = unix::specs(pids, &diag, &mut dups, &bound_in, &consumed, inet.len(), &mut warnings)?;
    // inet_diag: only the families and protocols of the TCP/UDP sockets found (none: no dump).
    // What the TCP/UDP part reads of other sockets is within these: a listener's pending
    // connections are of its own family, and peers outside them are outside the dump anyway.
    let kinds: BTreeSet<(bool, bool)> = inet.values().map(|&(_, kind)| kind).collect();
    let inet_diag =
        if kinds.is_empty() { Vec::new() } else { in_netns(ns.as_ref(), || crate::diag_inet::dump_kinds(&kinds))? };
    sockets.extend(inet::specs(&inet, &inet_diag, &inet_held, early, &tcp_accepted, &mut warnings)?);
    let nonblock: BTreeSet<String> = nonblock.into_iter().map(name_of).collect();
    for s in &mut sockets {
        s.nonblock = nonblock.contains(&s.name);
    }
    let description =
        format!("checkpoint dump of pid {}", pids.iter().map(i32::to_string).collect::<Vec<_>>().join(", "));
    let release = rustix::system::uname().release().to_string_lossy().into_owned();
    if !runs_on {
        // `--kill`: the processes do not run on, so no one peeks after the dump.
        warnings.retain(|w| w.warning.code != WarnCode::EmptyMessagePeeked);
    }
    Ok(Dump { scenario: Scenario { description, kernel: release, time: 0, tasks, sockets }, warnings })
}

#[cfg(test)]
mod tests {
    /// The hand-spelled names are what `format!` gives, at the edges of every digit count.
    #[test]
    fn socket_names_are_ino_and_the_decimal_inode() {
        let mut edges = vec![0, u32::MAX];
        let mut p = 1u32;
        while let Some(next) = p.checked_mul(10) {
            edges.extend([p - 1, p, p + 1]);
            p = next;
        }
        edges.extend([p - 1, p, p + 1]);
        for ino in edges {
            assert_eq!(super::name_of(ino), format!("ino{ino}"));
        }
    }
}
