//! `--kill`: the pending connections of the listeners, accepted on duplicates of them (in
//! accept order), each with what it held; unix listeners found in flight in what they hold are
//! consumed in turn, then the TCP listeners' accept queues.

use super::fds::{getfd, socket_ino};
use super::inet::{EarlyData, TcpAccepted};
use super::queues::peek_queue_with;
use super::stopped::failpoint;
use super::unix::Found;
use super::DumpError;
use super::{in_netns, name_of, DumpWarning, Netns, Peeked, Stopped};
use crate::diag_unix::{self, UnixDiag};
use resocket_core::sim::SockType;
use resocket_core::warn::WarnCode;
use rustix::fd::OwnedFd;
use rustix::net;
use std::collections::{BTreeMap, BTreeSet};

/// A pending connection accepted by a `--kill` dump: its client's inode (`None`: the client has
/// closed), what the connection held, in order, and the index of the out-of-band byte its
/// client sent before accept(), if any.
pub(super) type Consumed = (Option<u32>, Vec<Peeked>, Option<usize>);

/// The TCP connections a `--kill` dump took off listeners' accept queues, per listener.
pub(super) type TcpConsumed = BTreeMap<u32, Vec<TcpAccepted>>;

/// Accept every pending connection of the dumped listeners (unix, then TCP) and read what each
/// holds. What the TCP/UDP part refuses, it refuses before anything is accepted: the processes
/// can still be resumed then (the part is described again, for real, at the end). Data TCP
/// clients sent before accept() is not refused: it is read here.
pub(super) fn consume(
    stopped: &mut Stopped,
    found: &mut Found,
    ns: Option<&Netns>,
    inet_held: &BTreeSet<u32>,
    held_at: &BTreeMap<u32, (usize, i32, i32)>,
    pidfds: &[OwnedFd],
    warnings: &mut Vec<DumpWarning>,
) -> Result<(BTreeMap<u32, Vec<Consumed>>, TcpConsumed), DumpError> {
    let kinds: BTreeSet<(bool, bool)> = found.inet.values().map(|&(_, kind)| kind).collect();
    let inet_diag = if kinds.is_empty() { Vec::new() } else { in_netns(ns, || crate::diag_inet::dump_kinds(&kinds))? };
    super::inet::specs(found.inet, &inet_diag, inet_held, EarlyData::Accepted, &BTreeMap::new(), &mut Vec::new())?;
    let mut consumed: BTreeMap<u32, Vec<Consumed>> = BTreeMap::new();
    loop {
        let diag = found.diag;
        let listeners: Vec<u32> = found
            .dups
            .keys()
            .copied()
            .filter(|ino| {
                !consumed.contains_key(ino)
                    && diag.get(ino).is_some_and(|d| {
                        d.state == resocket_core::wire::TCP_LISTEN && d.icons.as_ref().is_some_and(|i| !i.is_empty())
                    })
            })
            .collect();
        if listeners.is_empty() {
            break;
        }
        let accepted = accept_unix(stopped, found, listeners, held_at, pidfds)?;
        // The accepted sockets as unix_diag sees them now: each one's peer is its client.
        let now = in_netns(ns, diag_unix::dump)?;
        let mut todo = Vec::new();
        for (l, icons, conns) in accepted {
            let out = read_accepted(found, &now, l, &icons, &conns, &mut todo, warnings)?;
            // Kept open until the dump is written: the processes are killed after it.
            stopped.accepted.extend(conns);
            consumed.insert(l, out);
        }
        found.in_flight(&mut todo)?;
    }
    let tcp_accepted = accept_tcp(stopped, found, ns)?;
    Ok((consumed, tcp_accepted))
}

/// A unix listener accepted on: its inode, the clients unix_diag listed, the connections.
type Accepted = (u32, Vec<u32>, Vec<OwnedFd>);

/// Accept the pending connections of each of `listeners` on a duplicate of it.
fn accept_unix(
    stopped: &mut Stopped,
    found: &Found,
    listeners: Vec<u32>,
    held_at: &BTreeMap<u32, (usize, i32, i32)>,
    pidfds: &[OwnedFd],
) -> Result<Vec<Accepted>, DumpError> {
    let mut accepted = Vec::new();
    for l in listeners {
        let icons = found.diag.get(&l).and_then(|d| d.icons.clone()).unwrap_or_default();
        if let Some(&c) = icons.iter().find(|&&c| c != 0 && !found.dups.contains_key(&c)) {
            return Err(DumpError::Refused(format!(
                "{}: a pending connection comes from socket {c}, outside the dumped processes; it cannot be recreated",
                name_of(l)
            )));
        }
        let dup = match found.dups.get(&l).and_then(|m| m.fd.as_ref()) {
            Some(fd) => rustix::io::fcntl_dupfd_cloexec(fd, 0).map_err(|e| format!("{}: dup: {e}", name_of(l)))?,
            None => {
                let &(pidfd, pid, fd) =
                    held_at.get(&l).ok_or(format!("{}: no duplicate of the listener", name_of(l)))?;
                getfd(&pidfds[pidfd], pid, fd)?
            }
        };
        stopped.mark_consumed()?;
        let mut conns = Vec::new();
        // accept() on the duplicate takes the connections off the process's listener, in
        // accept-queue order; never more than the queue held when unix_diag was read.
        for _ in 0..icons.len() {
            match net::accept_with(&dup, net::SocketFlags::NONBLOCK | net::SocketFlags::CLOEXEC) {
                Ok(a) => conns.push(a),
                Err(e) if e == rustix::io::Errno::AGAIN => break,
                Err(e) => return Err(DumpError::from(format!("{}: accept: {e}", name_of(l)))),
            }
        }
        accepted.push((l, icons, conns));
        failpoint("accepted");
    }
    Ok(accepted)
}

/// What each connection accepted from listener `l` holds, checked against the clients
/// unix_diag listed (`icons`) and seen in unix_diag's answer `now`; the sockets in flight in
/// it are pushed on `todo`.
fn read_accepted(
    found: &mut Found,
    now: &BTreeMap<u32, UnixDiag>,
    l: u32,
    icons: &[u32],
    conns: &[OwnedFd],
    todo: &mut Vec<u32>,
    warnings: &mut Vec<DumpWarning>,
) -> Result<Vec<Consumed>, DumpError> {
    let mut out = Vec::new();
    for (i, a) in conns.iter().enumerate() {
        let d = socket_ino(a)
            .and_then(|ino| now.get(&ino))
            .ok_or(format!("{}: unix_diag does not show the connection accepted from it", name_of(l)))?;
        let client = d.peer.unwrap_or(0);
        if icons.get(i) != Some(&client) {
            return Err(DumpError::from(format!(
                "{}: the accept queue changed during the dump (connection {i} comes from socket {client}, unix_diag listed {:?})",
                name_of(l),
                icons.get(i)
            )));
        }
        let (q, oob) = read_connection(found, a, d, l, i)?;
        todo.extend(q.iter().rev().flat_map(|(_, _, rights)| rights.iter().rev()));
        if d.sock_type() == Some(SockType::Seqpacket) && d.shutdown & 1 != 0 {
            warnings.push(DumpWarning::on(
                l,
                WarnCode::SeqpacketEmptyTail,
                format!(
                    "{}: pending connection {i}, its client closed: empty records at the end of what it sent, if any, cannot be told from its end and are not recorded",
                    name_of(l)
                ),
            ));
        }
        out.push(((client != 0).then_some(client), q, oob));
    }
    if out.len() != icons.len() {
        return Err(DumpError::from(format!(
            "{}: unix_diag listed {} pending connections, accept() returned {}",
            name_of(l),
            icons.len(),
            out.len()
        )));
    }
    Ok(out)
}

/// What the connection `a` (pending connection `i` of listener `l`) holds, and the index of an
/// out-of-band byte its client sent before accept() (a stream embryo's `oob_skb`): then the
/// queue is read for real up to the mark (oob.rs), which a peek cannot place; the connection is
/// the dump's own, accepted above.
fn read_connection(
    found: &mut Found,
    a: &OwnedFd,
    d: &UnixDiag,
    l: u32,
    i: usize,
) -> Result<(Vec<Peeked>, Option<usize>), DumpError> {
    let oob_sent = d.sock_type() == Some(SockType::Stream)
        && super::inet::oob_pending(a)
            .map_err(|e| e.context(&format!("{}: pending connection {i}", name_of(l))))?
            .is_some();
    if oob_sent {
        let (q, at) = super::oob::read_with_mark(a, found.received).map_err(|e| {
            e.context(&format!("{}: pending connection {i}: reading up to the out-of-band mark", name_of(l)))
        })?;
        Ok((q, Some(at)))
    } else {
        let q = peek_queue_with(a, d, found.received, found.scratch)
            .map_err(|e| e.context(&format!("{}: pending connection {i}", name_of(l))))?;
        Ok((q, None))
    }
}

/// The TCP listeners' accept queues (those held, and those the unix part found in flight:
/// inet_diag is read again for them).
fn accept_tcp(stopped: &mut Stopped, found: &mut Found, ns: Option<&Netns>) -> Result<TcpConsumed, DumpError> {
    let kinds: BTreeSet<(bool, bool)> = found.inet.values().map(|&(_, kind)| kind).collect();
    let inet_diag = if kinds.is_empty() { Vec::new() } else { in_netns(ns, || crate::diag_inet::dump_kinds(&kinds))? };
    let waiting = |d: &crate::diag_inet::InetDiag| {
        d.protocol == crate::diag_inet::IPPROTO_TCP
            && d.state == resocket_core::wire::TCP_LISTEN
            && d.rqueue > 0
            && found.inet.contains_key(&d.ino)
    };
    if !inet_diag.iter().any(waiting) {
        return Ok(BTreeMap::new());
    }
    stopped.mark_consumed()?;
    let tcp_accepted = super::inet::accept_pending(found.inet, &inet_diag, &mut stopped.accepted)?;
    failpoint("accepted");
    Ok(tcp_accepted)
}
