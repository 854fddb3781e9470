//! The unix sockets of the dump: their duplicates and queues (those held, then those found in
//! flight in the queues), their options, and each one's description in the scenario from what
//! unix_diag says of it.

use super::fds::{getfd, socket_ino};
use super::inet::oob_pending_known;
use super::names::name_stat;
use super::pending::Consumed;
use super::queues::{peek_queue_at, peek_queue_with};
use super::DumpError;
use super::{name_of, DumpWarning, Peeked, Stopped};
use crate::diag_unix::UnixDiag;
use resocket_core::bstr;
use resocket_core::image::UnixAddr;
use resocket_core::scenario::{MsgSpec, PendingSpec, SockSpec};
use resocket_core::sim::{How, SockType};
use resocket_core::sock::Family;
use resocket_core::warn::WarnCode;
use rustix::fd::{AsFd, OwnedFd};
use rustix::net;
use std::collections::{BTreeMap, BTreeSet};

/// A unix socket of the dump.
pub(super) struct Member {
    /// Its duplicate: only when its queue must be peeked or unix_diag lacks its buffer sizes
    /// (everything else comes from unix_diag).
    pub(super) fd: Option<OwnedFd>,
    /// Some dumped fd holds it (else it is only in flight).
    pub(super) held: bool,
    /// Its queue, peeked.
    pub(super) queue: Vec<Peeked>,
    /// `SO_PASSCRED` (read from a duplicate: unix_diag does not report it).
    pub(super) passcred: bool,
    /// The recorded options (`RS_SOCKOPT`), read from the duplicate likewise.
    pub(super) opts: Vec<resocket_core::sim::SockOpt>,
    /// `passcred` and `opts` are read (before the peek, for a held socket whose queue is read).
    pub(super) opts_read: bool,
    /// `--kill`: the index in `queue` of the out-of-band byte (`RS_OOB`), the queue having been
    /// read for real (oob.rs).
    pub(super) oob: Option<usize>,
}

/// The sockets found so far, and the fds the peeks received (in flight), to find more in.
pub(super) struct Found<'a> {
    pub(super) diag: &'a BTreeMap<u32, UnixDiag>,
    pub(super) dups: &'a mut BTreeMap<u32, Member>,
    pub(super) inet: &'a mut BTreeMap<u32, crate::dump::inet::InetFd>,
    pub(super) received: &'a mut Vec<OwnedFd>,
    pub(super) scratch: &'a mut Vec<u8>,
}

impl Found<'_> {
    /// Describe the sockets in flight whose inodes are on `todo` (a stack), each from the fd a
    /// peek received, and those in flight in their own queues.
    pub(super) fn in_flight(&mut self, todo: &mut Vec<u32>) -> Result<(), DumpError> {
        while let Some(r) = todo.pop() {
            if self.inet.contains_key(&r) || self.dups.contains_key(&r) {
                continue;
            }
            let Some(pos) = self.received.iter().position(|f| socket_ino(f) == Some(r)) else { continue };
            let f = self.received.remove(pos);
            let d = self.diag.get(&r);
            let kind = if d.is_some() { None } else { crate::dump::inet::classify(&f) };
            if let Some(kind) = kind {
                // A TCP/UDP socket in flight: described with the others below.
                self.inet.insert(r, (f, kind));
                continue;
            }
            let q = match d {
                Some(d) => peek_queue_with(&f, d, self.received, self.scratch).map_err(|e| e.context(&name_of(r)))?,
                None => Vec::new(),
            };
            todo.extend(q.iter().rev().flat_map(|(_, _, rights)| rights.iter().rev()));
            self.dups.insert(
                r,
                Member {
                    fd: Some(f),
                    held: false,
                    queue: q,
                    passcred: false,
                    opts: Vec::new(),
                    opts_read: false,
                    oob: None,
                },
            );
        }
        Ok(())
    }
}

/// The held sockets' duplicates and queues, for those `to_read` lists. Queues may reveal more
/// sockets, in flight: the inodes their messages carry, returned (a stack for
/// [`Found::in_flight`]), each to be described from the fd the peek received.
///
/// Their options (`SO_PASSCRED` and the recorded ones) are read first, a batch of duplicates
/// at a time through `reader` ([`read_options`] then skips them): the peek needs the socket's
/// own `SO_PEEK_OFF` and the out-of-band probe its `SO_OOBINLINE`, which the batch holds, so
/// neither asks `getsockopt` again.
pub(super) fn read_held(
    to_read: Vec<(usize, i32, i32, u32, &UnixDiag)>,
    pidfds: &[OwnedFd],
    dups: &mut BTreeMap<u32, Member>,
    received: &mut Vec<OwnedFd>,
    scratch: &mut Vec<u8>,
    reader: &mut crate::sockopt_io::Reader,
) -> Result<Vec<u32>, DumpError> {
    let kind = resocket_core::sockopt::OptKind::Unix;
    let mut todo = Vec::new();
    for batch in to_read.chunks(reader.batch_sockets(kind)) {
        let mut held = Vec::with_capacity(batch.len());
        for &(pidfd, pid, fd, ino, d) in batch {
            held.push((ino, d, getfd(&pidfds[pidfd], pid, fd)?));
        }
        let read = reader.read(&held.iter().map(|(_, _, f)| f.as_fd()).collect::<Vec<_>>(), kind);
        for ((ino, d, dup), r) in held.into_iter().zip(read) {
            let Some(m) = dups.get_mut(&ino) else { continue };
            record(m, ino, r)?;
            let own = m.opts.iter().find_map(|o| match o {
                resocket_core::sim::SockOpt::PeekOff(v) => Some(*v),
                _ => None,
            });
            let q = peek_queue_at(&dup, d, own, received, scratch).map_err(|e| e.context(&name_of(ino)))?;
            todo.extend(q.iter().rev().flat_map(|(_, _, rights)| rights.iter().rev()));
            m.fd = Some(dup);
            m.queue = q;
        }
    }
    Ok(todo)
}

/// A stream socket with bytes queued in unix_diag's answer: the only kind an out-of-band byte
/// can be pending on (the OOB byte is an skb of the receive queue, counted by UNIX_DIAG_RQLEN,
/// so a stream with no byte queued is not probed: the queue peek takes the same snapshot).
fn stream_with_bytes(diag: &BTreeMap<u32, UnixDiag>, ino: u32) -> bool {
    diag.get(&ino).is_some_and(|d| d.sock_type() == Some(SockType::Stream) && d.rqlen.is_none_or(|r| r.0 > 0))
}

/// The out-of-band byte pending on socket `ino`, probed with the `SO_OOBINLINE` its recorded
/// options hold (read already: no `getsockopt`); `oob_pending`'s own read when they lack it.
fn oob_of(ino: u32, f: &OwnedFd, opts: &[resocket_core::sim::SockOpt]) -> Result<Option<Option<u8>>, DumpError> {
    let inline = opts.iter().find_map(|o| match o {
        resocket_core::sim::SockOpt::OobInline(on) => Some(*on),
        _ => None,
    });
    match inline {
        Some(inline) => oob_pending_known(f, inline),
        None => crate::dump::inet::oob_pending(f),
    }
    .map_err(|e| e.context(&name_of(ino)))
}

/// Refuse a socket with an out-of-band byte pending, unless its queue may be read for real.
fn oob_check(
    diag: &BTreeMap<u32, UnixDiag>,
    ino: u32,
    f: &OwnedFd,
    opts: &[resocket_core::sim::SockOpt],
    may_read: bool,
) -> Result<(), DumpError> {
    if stream_with_bytes(diag, ino) && !may_read {
        if let Some(byte) = oob_of(ino, f, opts)? {
            return Err(crate::dump::inet::refuse_oob(&name_of(ino), "an out-of-band byte (MSG_OOB)", byte));
        }
    }
    Ok(())
}

fn record(m: &mut Member, ino: u32, (passcred, opts): crate::sockopt_io::Read) -> Result<(), DumpError> {
    m.passcred = passcred;
    m.opts = opts.map_err(|e| format!("{}: {e}: the dump cannot record its socket options", name_of(ino)))?;
    m.opts_read = true;
    Ok(())
}

/// SO_PASSCRED, which no diag answer carries: from the duplicates (those [`read_held`] has not
/// read already), and from a short-lived one of each other held socket (`to_probe`: one
/// pidfd_getfd + close each). The recorded options likewise (the peek offset is the process's
/// own again: the peeks put it back). Both through `sockopt_io::Reader`: a batch of sockets'
/// SOL_SOCKET options in one io_uring_enter where the kernel offers it, one getsockopt each
/// otherwise.
///
/// A stream socket with an out-of-band byte pending (MSG_OOB): without `--kill` refused
/// (inet::refuse_oob); with it, its queue is read for real to place the mark (oob.rs), after
/// its options (the reads move its peek offset). The probe takes `SO_OOBINLINE` from the
/// options read.
pub(super) fn read_options(
    diag: &BTreeMap<u32, UnixDiag>,
    dups: &mut BTreeMap<u32, Member>,
    to_probe: &[(usize, i32, i32, u32)],
    pidfds: &[OwnedFd],
    received: &mut Vec<OwnedFd>,
    reader: &mut crate::sockopt_io::Reader,
    mut stopped: Option<&mut Stopped>,
) -> Result<(), DumpError> {
    let kind = resocket_core::sockopt::OptKind::Unix;
    let with_dup: Vec<u32> = dups.iter().filter(|(_, m)| m.fd.is_some()).map(|(&ino, _)| ino).collect();
    for batch in with_dup.chunks(reader.batch_sockets(kind)) {
        let unread: Vec<(u32, rustix::fd::BorrowedFd<'_>)> = batch
            .iter()
            .filter_map(|&ino| {
                dups.get(&ino).filter(|m| !m.opts_read).and_then(|m| m.fd.as_ref()).map(|f| (ino, f.as_fd()))
            })
            .collect();
        let read = reader.read(&unread.iter().map(|&(_, f)| f).collect::<Vec<_>>(), kind);
        let inos: Vec<u32> = unread.into_iter().map(|(ino, _)| ino).collect();
        for (ino, r) in inos.into_iter().zip(read) {
            if let Some(m) = dups.get_mut(&ino) {
                record(m, ino, r)?;
            }
        }
        for &ino in batch {
            let Some(m) = dups.get_mut(&ino) else { continue };
            let Some(f) = m.fd.as_ref() else { continue };
            oob_check(diag, ino, f, &m.opts, stopped.is_some())?;
            let Some(stopped) = stopped.as_deref_mut() else { continue };
            if stream_with_bytes(diag, ino) && oob_of(ino, f, &m.opts)?.is_some() {
                stopped.mark_consumed()?;
                let (q, at) = crate::dump::oob::read_with_mark(f, received).map_err(|e| {
                    e.context(&format!("{}: reading its queue up to the out-of-band mark", name_of(ino)))
                })?;
                m.queue = q;
                m.oob = Some(at);
            }
        }
    }
    for batch in to_probe.chunks(reader.batch_sockets(kind)) {
        let mut probes = Vec::with_capacity(batch.len());
        for &(pidfd, pid, fd, ino) in batch {
            probes.push((ino, getfd(&pidfds[pidfd], pid, fd)?));
        }
        let read = reader.read(&probes.iter().map(|(_, f)| f.as_fd()).collect::<Vec<_>>(), kind);
        for ((ino, dup), r) in probes.iter().zip(read) {
            let Some(m) = dups.get_mut(ino) else { continue };
            record(m, *ino, r)?;
            oob_check(diag, *ino, dup, &m.opts, false)?;
        }
    }
    Ok(())
}

/// What the description of each unix socket looks things up in.
struct Cx<'a> {
    pids: &'a [i32],
    diag: &'a BTreeMap<u32, UnixDiag>,
    dups: &'a BTreeMap<u32, Member>,
    /// The directory each socket bound to a relative name was bound in.
    bound_in: &'a BTreeMap<u32, std::path::PathBuf>,
    /// `--kill`: the pending connections accepted per listener.
    consumed: &'a BTreeMap<u32, Vec<Consumed>>,
    /// Names → inodes, to attribute datagrams to their senders.
    by_name: BTreeMap<&'a [u8], u32>,
    /// Named listeners by type and name.
    listeners: BTreeMap<(u8, &'a [u8]), u32>,
    /// The clients of pending connections.
    pending_clients: BTreeSet<u32>,
}

impl Cx<'_> {
    fn in_set(&self, ino: u32) -> bool {
        self.dups.contains_key(&ino)
    }
}

/// The scenario's description of each dumped unix socket, in inode order (`spare`: room to
/// keep in the vector for the TCP/UDP sockets that follow).
///
/// Each member's options are moved into its description (`dups` keeps an empty list).
pub(super) fn specs(
    pids: &[i32],
    diag: &BTreeMap<u32, UnixDiag>,
    dups: &mut BTreeMap<u32, Member>,
    bound_in: &BTreeMap<u32, std::path::PathBuf>,
    consumed: &BTreeMap<u32, Vec<Consumed>>,
    spare: usize,
    warnings: &mut Vec<DumpWarning>,
) -> Result<Vec<SockSpec>, DumpError> {
    // Moved, not cloned: one allocation per socket fewer (10,000 lists of 11 options).
    let mut opts: Vec<Vec<resocket_core::sim::SockOpt>> =
        dups.values_mut().map(|m| std::mem::take(&mut m.opts)).collect();
    let dups: &BTreeMap<u32, Member> = dups;
    // Each dumped unix socket with what unix_diag says of it, in inode order (both maps are in
    // that order: one pass over them, no lookups).
    let members: Vec<(u32, &Member, &UnixDiag, usize)> = {
        let mut diags = diag.iter().peekable();
        dups.iter()
            .enumerate()
            .filter_map(|(k, (&ino, m))| {
                while diags.next_if(|(&k, _)| k < ino).is_some() {}
                diags.next_if(|(&k, _)| k == ino).map(|(_, d)| (ino, m, d, k))
            })
            .collect()
    };
    let mut cx = Cx {
        pids,
        diag,
        dups,
        bound_in,
        consumed,
        by_name: BTreeMap::new(),
        listeners: BTreeMap::new(),
        pending_clients: BTreeSet::new(),
    };
    for &(ino, _, d, _) in &members {
        if let Some(n) = &d.name {
            cx.by_name.insert(n, ino);
            if d.state == resocket_core::wire::TCP_LISTEN {
                cx.listeners.insert((d.ty, n), ino);
            }
        }
        cx.pending_clients.extend(d.icons.iter().flatten().copied());
    }
    let mut sockets = Vec::with_capacity(members.len() + spare);
    for &(ino, m, d, k) in &members {
        let o = opts.get_mut(k).map(std::mem::take).unwrap_or_default();
        sockets.push(spec(&cx, ino, m, o, d, warnings)?);
    }
    Ok(sockets)
}

/// One unix socket's description.
fn spec(
    cx: &Cx,
    ino: u32,
    m: &Member,
    opts: Vec<resocket_core::sim::SockOpt>,
    d: &UnixDiag,
    warnings: &mut Vec<DumpWarning>,
) -> Result<SockSpec, DumpError> {
    let Some(ty) = d.sock_type() else {
        return Err(DumpError::Refused(format!("{}: socket type {}", name_of(ino), d.ty)));
    };
    let mut s =
        SockSpec { name: name_of(ino), family: Family::Unix, ty, passcred: m.passcred, opts, ..SockSpec::default() };
    if let Some(n) = &d.name {
        name(cx, ino, d, n, &mut s, warnings);
    }
    if d.state == resocket_core::wire::TCP_LISTEN {
        listener(cx, ino, d, &mut s)?;
    }
    let peer = d.peer.filter(|&p| p != 0);
    let connection = d.sock_type() != Some(SockType::Dgram);
    if let Some(p) = peer {
        if !cx.in_set(p) {
            let outside = cx.diag.get(&p).and_then(|x| x.name.as_deref()).and_then(outside_name);
            s.remote = outside.filter(|_| d.sock_type() == Some(SockType::Dgram));
            external(ino, m, d, p, &mut s, warnings);
            return Ok(s);
        }
        peer_in_set(cx, ino, d, p, &mut s, warnings);
    } else if connection && d.state == resocket_core::wire::TCP_ESTABLISHED && !cx.pending_clients.contains(&ino) {
        s.peer_gone = true;
    } else if !connection && d.peer == Some(0) {
        // A dgram socket whose connected peer has closed: unix_diag still shows a peer (the
        // dead socket, which has no inode any more); its next send() is ECONNREFUSED.
        s.peer_gone = true;
    }
    if d.sock_type() == Some(SockType::Seqpacket)
        && d.shutdown & 1 != 0
        && d.state == resocket_core::wire::TCP_ESTABLISHED
    {
        warnings.push(DumpWarning::on(
            ino,
            WarnCode::SeqpacketEmptyTail,
            format!(
                "{}: a seqpacket socket shut down for reading: empty records at the end of its queue, if any, cannot be told from its end and are not recorded",
                name_of(ino)
            ),
        ));
    }
    if d.shutdown != 0 && !s.peer_gone {
        s.shutdown = How::from_bits(d.shutdown);
    }
    match d.bufs {
        Some((rcv, snd)) => {
            s.sndbuf = Some(snd as i32);
            s.rcvbuf = Some(rcv as i32);
        }
        None => {
            // Duplicated for this (see the fd table walk, fds.rs).
            s.sndbuf = m.fd.as_ref().and_then(|fd| net::sockopt::socket_send_buffer_size(fd).ok()).map(|v| v as i32);
            s.rcvbuf = m.fd.as_ref().and_then(|fd| net::sockopt::socket_recv_buffer_size(fd).ok()).map(|v| v as i32);
        }
    }
    s.no_fd = !m.held;
    queue(cx, ino, m, peer, connection, &mut s, warnings);
    let empty = m.queue.iter().filter(|(_, data, _)| data.is_empty()).count();
    if empty > 0 && ty != SockType::Stream {
        // DEVIATION from a dump that leaves no trace: __skb_try_recv_from_queue marks an empty
        // skb that a peek returns (skb_set_peeked), and later peeks with SO_PEEK_OFF skip a
        // marked empty skb. No interface clears the mark (checked on 6.18).
        warnings.push(DumpWarning::on(
            ino,
            WarnCode::EmptyMessagePeeked,
            format!(
                "{}: the dump's peeks returned {empty} empty message(s) of its queue, which the kernel now marks peeked: if the process runs on, its peeks with SO_PEEK_OFF skip them (plain reads still see them), and another dump of it does not see them",
                name_of(ino)
            ),
        ));
    }
    // Pending clients point at their embryos, not at the listener: no peer of their own.
    if cx.pending_clients.contains(&ino) {
        s.peer = None;
        s.pair = None;
        s.accepted_from = None;
    }
    Ok(s)
}

/// The bound name `n` of socket `ino`: its spelling, autobind, the directory a relative name
/// was bound in, and whether the file is still linked.
fn name(cx: &Cx, ino: u32, d: &UnixDiag, n: &[u8], s: &mut SockSpec, warnings: &mut Vec<DumpWarning>) {
    s.addr = UnixAddr::from_kernel_name(n).spelling();
    if n.first() == Some(&0) && n.len() == 6 && n[1..].iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
    {
        s.autobind = true;
    }
    if n.first() != Some(&0) {
        let path = n.strip_suffix(b"\0").unwrap_or(n);
        use std::os::unix::ffi::OsStrExt;
        let p = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
        if let Some(dir) = cx.bound_in.get(&ino) {
            s.cwd = Some(dir.display().to_string());
        } else if !p.is_absolute() {
            let cwd = cx.pids.first().and_then(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).ok());
            warnings.push(DumpWarning::on(
                ino,
                WarnCode::RelativeCwdGuessed,
                format!(
                    "{}: bound to the relative path {}; the directory it was bound in is taken to be the process's current one ({})",
                    name_of(ino),
                    p.display(),
                    cwd.as_ref().map_or("unknown".into(), |c| c.display().to_string())
                ),
            ));
            s.cwd = cwd.map(|c| c.display().to_string());
        }
        let linked = cx.bound_in.contains_key(&ino)
            || name_stat(cx.pids.first().copied(), p)
                .zip(d.vfs)
                .is_some_and(|(st, (vino, _))| st.st_ino as u32 == vino);
        s.unlinked = !linked;
    }
}

/// A listener: its backlog and pending connections (accepted by a `--kill` dump, or refused
/// when what they hold cannot be read).
fn listener(cx: &Cx, ino: u32, d: &UnixDiag, s: &mut SockSpec) -> Result<(), DumpError> {
    let backlog = d.rqlen.map_or(0, |r| r.1);
    s.listen = Some(i16::try_from(backlog).unwrap_or(i16::MAX));
    if let Some(conns) = cx.consumed.get(&ino) {
        // `--kill`: accepted by the dump, in this order, with what each held.
        for (client, q, oob) in conns {
            let sent = q
                .iter()
                .enumerate()
                .map(|(k, (_, data, rights))| MsgSpec {
                    hex: Some(bstr::hex(data)),
                    rights: rights.iter().map(|&r| name_of(r)).collect(),
                    oob: *oob == Some(k),
                    ..MsgSpec::default()
                })
                .collect();
            s.pending.push(PendingSpec { client: client.map(name_of), sent });
        }
    }
    for &c in d.icons.iter().flatten().filter(|_| !cx.consumed.contains_key(&ino)) {
        if c == 0 {
            return Err(DumpError::Refused(format!(
                "{}: a pending connection's client has closed; what it sent before closing waits on the embryo, which no interface can read without accepting the connection: `checkpoint dump --kill` reads it (it accepts on a duplicate of the listener, then kills the processes)",
                name_of(ino)
            )));
        }
        if !cx.in_set(c) {
            return Err(DumpError::Refused(format!(
                "{}: a pending connection comes from socket {c}, outside the dumped processes; it cannot be recreated",
                name_of(ino)
            )));
        }
        let w = cx.diag.get(&c).and_then(|x| x.rqlen).map_or(0, |r| r.1);
        if w > 0 {
            return Err(DumpError::Refused(format!(
                "{}: pending connection from {} holds data sent before accept() ({w} bytes of buffer); it waits on the embryo, which no interface can read without accepting the connection: `checkpoint dump --kill` reads it (it accepts on a duplicate of the listener, then kills the processes)",
                name_of(ino),
                name_of(c)
            )));
        }
        s.pending.push(PendingSpec { client: Some(name_of(c)), sent: Vec::new() });
    }
    Ok(())
}

/// The scenario spelling of an outside peer's name as unix_diag gives it (the raw `sun_path`),
/// when a restore can connect to it: an absolute path or an abstract name.
fn outside_name(raw: &[u8]) -> Option<String> {
    let addr = UnixAddr::from_kernel_name(raw);
    addr.outside_addr().map(|a| a.display())
}

/// A socket whose peer `p` is outside the dumped processes: marked external, with its queue
/// (a dgram one with its peer's name in `remote`, when unix_diag shows one a restore can use).
fn external(ino: u32, m: &Member, d: &UnixDiag, p: u32, s: &mut SockSpec, warnings: &mut Vec<DumpWarning>) {
    let how = match (&s.remote, d.sock_type()) {
        (Some(n), Some(SockType::Dgram)) => format!(
            "its name {n} is recorded: a restore connects it there again when a dgram socket is bound at it, else leaves it unconnected"
        ),
        (None, Some(SockType::Dgram)) => "its name is not known: a restore leaves it unconnected".to_string(),
        _ => "a restore brings it back as a broken connection".to_string(),
    };
    warnings.push(DumpWarning::on(
        ino,
        WarnCode::UnixExternalPeer,
        format!("{}: its peer (socket {p}) is outside the dumped processes; marked external: {how}", name_of(ino)),
    ));
    s.external_peer = true;
    if d.shutdown != 0 {
        s.shutdown = How::from_bits(d.shutdown);
    }
    for (i, (_, data, rights)) in m.queue.iter().enumerate() {
        s.queue.push(MsgSpec {
            hex: Some(bstr::hex(data)),
            rights: rights.iter().map(|&r| name_of(r)).collect(),
            oob: m.oob == Some(i),
            ..MsgSpec::default()
        });
    }
    s.sndbuf = d.bufs.map(|b| b.1 as i32);
    s.rcvbuf = d.bufs.map(|b| b.0 as i32);
    s.no_fd = !m.held;
}

/// A socket whose peer `p` is dumped too: a socketpair, a connection (the accepted end carrying
/// its listener's name) or a connected datagram socket.
fn peer_in_set(cx: &Cx, ino: u32, d: &UnixDiag, p: u32, s: &mut SockSpec, warnings: &mut Vec<DumpWarning>) {
    let connection = d.sock_type() != Some(SockType::Dgram);
    let pd = cx.diag.get(&p);
    let mutual = pd.and_then(|x| x.peer) == Some(ino);
    let both_unnamed = d.name.is_none() && pd.and_then(|x| x.name.as_ref()).is_none();
    if !connection && mutual && both_unnamed {
        // Unnamed sockets cannot connect() to each other: a socketpair.
        s.pair = Some(name_of(p));
    } else {
        s.peer = Some(name_of(p));
    }
    if connection {
        // The accepted end carries its listener's name.
        let own_listener = d.name.as_ref().and_then(|n| cx.listeners.get(&(d.ty, &n[..])));
        let peer_named = pd.and_then(|x| x.name.as_ref()).is_some();
        if own_listener.is_some() || (d.name.is_some() && !peer_named) {
            s.accepted_from = own_listener.map(|&l| name_of(l));
            if s.accepted_from.is_none() {
                warnings.push(DumpWarning::on(
                    ino,
                    WarnCode::ListenerGone,
                    format!("{}: accepted from a listener that is gone; a temporary one will stand in", name_of(ino)),
                ));
            }
            s.peer = Some(name_of(p));
        } else if !peer_named && d.name.is_none() {
            s.peer = None;
            s.pair = Some(name_of(p));
        }
    }
}

/// The queue of socket `ino`, each datagram attributed to its sender (by name, else to the peer).
fn queue(
    cx: &Cx,
    ino: u32,
    m: &Member,
    peer: Option<u32>,
    connection: bool,
    s: &mut SockSpec,
    warnings: &mut Vec<DumpWarning>,
) {
    let mut outside = 0usize;
    for (i, (from, data, rights)) in m.queue.iter().enumerate() {
        let sender = if connection {
            None
        } else {
            let known = from.as_deref().and_then(|n| cx.by_name.get(n)).map(|&i| name_of(i));
            if known.is_none() && from.is_some() {
                outside += 1;
            }
            known.or_else(|| peer.map(name_of))
        };
        s.queue.push(MsgSpec {
            from: sender,
            hex: Some(bstr::hex(data)),
            rights: rights.iter().map(|&r| name_of(r)).collect(),
            oob: m.oob == Some(i),
            ..MsgSpec::default()
        });
    }
    if outside > 0 {
        warnings.push(DumpWarning::on(
            ino,
            WarnCode::DgramSenderOutside,
            format!(
                "{}: {outside} queued datagrams come from named senders outside the dumped processes; recorded as from {}",
                name_of(ino),
                peer.map_or_else(|| "a closed sender".to_string(), |p| format!("its peer {}", name_of(p)))
            ),
        ));
    }
}
