//! `checkpoint dump`: capture the AF_UNIX sockets of live processes without disturbing them.
//!
//! Per process: `/proc/PID/fd` gives the socket inodes and fd numbers (`fdinfo` the
//! close-on-exec bit); `pidfd_getfd` gives us a duplicate of each socket (the same open file, so
//! nothing changes for the process); `unix_diag` gives names, peers, pending connections in
//! accept order, backlogs and shutdown bits; queued data is read with `SO_PEEK_OFF` + `MSG_PEEK`
//! (message boundaries and SCM_RIGHTS kept, nothing consumed). The result is a scenario, written
//! as an image by core.
//!
//! TCP and UDP sockets (IPv4, IPv6) are described by `dump_inet` from inet_diag.
//!
//! Refused, with the reason, rather than written wrongly: data a pending client sent before
//! `accept()` (it waits on the embryo, which no interface can read without accepting it), fds in
//! flight that are not sockets. Sockets of other families are left out with a warning.

use crate::diag_unix::{self, UnixDiag};
use resocket_core::bstr;
use resocket_core::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec};
use rustix::fd::{AsFd, OwnedFd};
use rustix::net::{self, RecvFlags};
use std::collections::{BTreeMap, BTreeSet};

/// The result of a dump.
#[derive(Debug)]
pub struct Dump {
    /// The scenario (write it with `to_image`).
    pub scenario: Scenario,
    /// Things the user must know (external peers, guesses).
    pub warnings: Vec<String>,
}

fn name_of(ino: u32) -> String {
    format!("ino{ino}")
}

fn socket_fds(pid: i32) -> Result<Vec<(i32, u32, bool)>, String> {
    let dir = format!("/proc/{pid}/fd");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).map_err(|e| format!("{dir}: {e}"))? {
        let Ok(e) = e else { continue };
        let Some(fd) = e.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else { continue };
        let Ok(target) = std::fs::read_link(e.path()) else { continue };
        let t = target.to_string_lossy();
        let Some(ino) = t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')).and_then(|s| s.parse().ok())
        else {
            continue;
        };
        let info = std::fs::read_to_string(format!("/proc/{pid}/fdinfo/{fd}")).unwrap_or_default();
        let flags = info
            .lines()
            .find_map(|l| l.strip_prefix("flags:"))
            .and_then(|v| u32::from_str_radix(v.trim(), 8).ok())
            .unwrap_or(0);
        out.push((fd, ino, flags & 0o2000000 != 0));
    }
    out.sort();
    Ok(out)
}

fn socket_ino(fd: &OwnedFd) -> Option<u32> {
    rustix::fs::fstat(fd).ok().map(|st| st.st_ino as u32)
}

/// One message read with MSG_PEEK: the sender's name (datagrams), the bytes, the inodes of
/// the sockets passed with it.
pub type Peeked = (Option<Vec<u8>>, Vec<u8>, Vec<u32>);

/// Messages queued on a socket, in order, with the inodes of the sockets passed with them.
pub fn peek_queue(fd: &OwnedFd, d: &UnixDiag, received: &mut Vec<OwnedFd>) -> Result<Vec<Peeked>, String> {
    peek_queue_with(fd, d, received, &mut Vec::new())
}

/// [`peek_queue`] with a scratch buffer the caller keeps across sockets (no 64 KiB allocation
/// and zeroing per socket).
pub fn peek_queue_with(
    fd: &OwnedFd,
    d: &UnixDiag,
    received: &mut Vec<OwnedFd>,
    buf: &mut Vec<u8>,
) -> Result<Vec<Peeked>, String> {
    let stream = d.ty == 1;
    let seqpacket = d.ty == 5;
    let total = d.rqlen.map_or(0, |r| r.0) as usize;
    // An unconnected stream or seqpacket socket has no queue (and reading it is an error).
    if (total == 0 && stream) || ((stream || seqpacket) && d.state != resocket_core::wire::TCP_ESTABLISHED) {
        return Ok(Vec::new());
    }
    crate::raw::set_peek_off(fd.as_fd(), 0).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    let mut out = Vec::new();
    // Larger than everything queued, so a stream peek never stops exactly at an skb boundary
    // (where the kernel would hand out the next skb's fds with none of its bytes).
    let want = (total + 1).max(1 << 16);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    for _ in 0..1_000_000 {
        let mut space = vec![std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(253))];
        let mut anc = net::RecvAncillaryBuffer::new(&mut space);
        let r = net::recvmsg(
            fd,
            &mut [std::io::IoSliceMut::new(&mut buf[..])],
            &mut anc,
            RecvFlags::PEEK | RecvFlags::DONTWAIT,
        );
        let m = match r {
            Ok(m) => m,
            Err(e) if e == rustix::io::Errno::AGAIN => break,
            Err(e) => {
                let _ = crate::raw::set_peek_off(fd.as_fd(), -1);
                return Err(format!("MSG_PEEK: {e}"));
            }
        };
        // EOF: for a stream, everything was peeked and the peer is gone. A seqpacket socket shut
        // down for reading answers 0 instead of EAGAIN once its queue is peeked through, which
        // looks like an empty record: empty records at the end of such a queue are not told
        // apart from the end (one is reported as a warning by the caller's diff, if any).
        if m.bytes == 0 && (stream || (seqpacket && d.shutdown & 1 != 0)) {
            break;
        }
        let mut rights = Vec::new();
        for msg in anc.drain() {
            if let net::RecvAncillaryMessage::ScmRights(fds) = msg {
                for f in fds {
                    let is_sock = rustix::fs::fstat(&f)
                        .map(|st| rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::Socket)
                        .unwrap_or(false);
                    if !is_sock {
                        let _ = crate::raw::set_peek_off(fd.as_fd(), -1);
                        return Err("a queued message carries a file that is not a socket (SCM_RIGHTS); only sockets can be described".into());
                    }
                    if let Some(ino) = socket_ino(&f) {
                        rights.push(ino);
                    }
                    received.push(f);
                }
            }
        }
        let from = m.address.and_then(|a| net::SocketAddrUnix::try_from(a).ok()).and_then(|u| {
            u.abstract_name().filter(|n| !n.is_empty()).map(|n| [b"\0".as_slice(), n].concat()).or_else(|| {
                u.path_bytes().filter(|p| !p.is_empty()).map(|p| {
                    let mut v = p.to_vec();
                    if v.last() != Some(&0) {
                        v.push(0);
                    }
                    v
                })
            })
        });
        out.push((from, buf[..m.bytes.min(buf.len())].to_vec(), rights));
        if stream && out.iter().map(|(_, b, _)| b.len()).sum::<usize>() >= total {
            break;
        }
    }
    crate::raw::set_peek_off(fd.as_fd(), -1).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    Ok(out)
}

fn addr_spelling(raw: &[u8]) -> String {
    match raw.split_first() {
        Some((0, rest)) => format!("@{}", bstr::escape(rest)),
        _ => bstr::escape(raw.strip_suffix(b"\0").unwrap_or(raw)),
    }
}

/// The sock_diag dumps (unix, then TCP/UDP) of the network namespace the processes live in:
/// sock_diag answers for the namespace its netlink socket was made in, so when that is not ours
/// the dumps run on a short-lived thread moved into it with `setns` (the rest of the dump works
/// on duplicated fds, which do not care). Processes in different namespaces are refused.
#[allow(clippy::type_complexity, reason = "one call site; the pair is unpacked at once")]
fn diag_in_netns_of(pids: &[i32]) -> Result<(BTreeMap<u32, UnixDiag>, Vec<crate::diag_inet::InetDiag>), String> {
    let both = || Ok((diag_unix::dump()?, crate::diag_inet::dump()?));
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
                return Err(format!(
                    "pids {first} and {pid} live in different network namespaces; dump them separately"
                ))
            }
            Some(_) => {}
        }
    }
    let Some((_, pid)) = theirs.filter(|(ns, _)| *ns != ours) else { return both() };
    let file = std::fs::File::open(format!("/proc/{pid}/ns/net")).map_err(|e| format!("/proc/{pid}/ns/net: {e}"))?;
    std::thread::scope(|s| {
        s.spawn(|| {
            use rustix::fd::AsFd;
            rustix::thread::move_into_link_name_space(file.as_fd(), Some(rustix::thread::LinkNameSpaceType::Network))
                .map_err(|e| format!("setns into the network namespace of pid {pid}: {e}"))?;
            both()
        })
        .join()
        .unwrap_or_else(|_| Err("the sock_diag thread panicked".into()))
    })
}

/// Capture the unix sockets of these processes.
pub fn dump(pids: &[i32]) -> Result<Dump, String> {
    let (diag, inet_diag) = diag_in_netns_of(pids)?;
    let mut warnings = Vec::new();
    let mut tasks = Vec::new();
    // Sockets to describe: those in the fd tables, then those found in flight.
    let mut dups: BTreeMap<u32, OwnedFd> = BTreeMap::new();
    let mut inet: BTreeMap<u32, OwnedFd> = BTreeMap::new();
    for &pid in pids {
        let pidfd = rustix::process::pidfd_open(
            rustix::process::Pid::from_raw(pid).ok_or(format!("{pid} is not a pid"))?,
            rustix::process::PidfdFlags::empty(),
        )
        .map_err(|e| format!("pidfd_open({pid}): {e}"))?;
        let mut fds = BTreeMap::new();
        let mut cloexec = Vec::new();
        for (fd, ino, coe) in socket_fds(pid)? {
            let dup = rustix::process::pidfd_getfd(&pidfd, fd, rustix::process::PidfdGetfdFlags::empty())
                .map_err(|e| format!("pidfd_getfd({pid}, {fd}): {e}"))?;
            if !diag.contains_key(&ino) {
                if crate::dump_inet::classify(&dup).is_none() {
                    warnings.push(format!("pid {pid} fd {fd}: neither AF_UNIX nor TCP/UDP over IP; left out"));
                    continue;
                }
                inet.entry(ino).or_insert(dup);
            } else {
                dups.entry(ino).or_insert(dup);
            }
            fds.insert(fd, name_of(ino));
            if coe {
                cloexec.push(fd);
            }
        }
        tasks.push(TaskSpec { pid, fds, cloexec });
    }
    let held: BTreeSet<u32> = dups.keys().chain(inet.keys()).copied().collect();
    // Queues (which may reveal more sockets, in flight).
    let mut queues: BTreeMap<u32, Vec<Peeked>> = BTreeMap::new();
    let mut received = Vec::new();
    let mut scratch = Vec::new();
    let mut todo: Vec<u32> = dups.keys().copied().collect();
    while let Some(ino) = todo.pop() {
        let (Some(fd), Some(d)) = (dups.get(&ino), diag.get(&ino)) else { continue };
        if d.state == resocket_core::wire::TCP_LISTEN {
            continue;
        }
        let q = peek_queue_with(fd, d, &mut received, &mut scratch).map_err(|e| format!("{}: {e}", name_of(ino)))?;
        for (_, _, rights) in &q {
            for &r in rights {
                if inet.contains_key(&r) {
                    continue;
                }
                if let std::collections::btree_map::Entry::Vacant(v) = dups.entry(r) {
                    if let Some(pos) = received.iter().position(|f| socket_ino(f) == Some(r)) {
                        let f = received.remove(pos);
                        if !diag.contains_key(&r) && crate::dump_inet::classify(&f).is_some() {
                            // A TCP/UDP socket in flight: described with the others below.
                            inet.insert(r, f);
                        } else {
                            v.insert(f);
                            todo.push(r);
                        }
                    }
                }
            }
        }
        queues.insert(ino, q);
    }
    // Names → inodes, to attribute datagrams to their senders.
    let by_name: BTreeMap<Vec<u8>, u32> =
        dups.keys().filter_map(|i| diag.get(i)).filter_map(|d| d.name.clone().map(|n| (n, d.ino))).collect();
    let in_set = |ino: u32| dups.contains_key(&ino);
    let listeners: BTreeMap<(u8, Vec<u8>), u32> = dups
        .keys()
        .filter_map(|i| diag.get(i))
        .filter(|d| d.state == resocket_core::wire::TCP_LISTEN)
        .filter_map(|d| d.name.clone().map(|n| ((d.ty, n), d.ino)))
        .collect();
    let mut pending_clients = BTreeSet::new();
    for l in dups.keys().filter_map(|i| diag.get(i)) {
        for &c in l.icons.iter().flatten() {
            pending_clients.insert(c);
        }
    }
    let mut sockets = Vec::new();
    for (&ino, fd) in &dups {
        let Some(d) = diag.get(&ino) else { continue };
        let ty = match d.ty {
            1 => "stream",
            2 => "dgram",
            5 => "seqpacket",
            t => return Err(format!("{}: socket type {t}", name_of(ino))),
        };
        let mut s = SockSpec { name: name_of(ino), family: "unix".into(), ty: ty.into(), ..SockSpec::default() };
        if let Some(n) = &d.name {
            s.addr = Some(addr_spelling(n));
            if n.first() == Some(&0)
                && n.len() == 6
                && n[1..].iter().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
            {
                s.autobind = true;
            }
            if n.first() != Some(&0) {
                let path = n.strip_suffix(b"\0").unwrap_or(n);
                use std::os::unix::ffi::OsStrExt;
                let p = std::path::Path::new(std::ffi::OsStr::from_bytes(path));
                if !p.is_absolute() {
                    let cwd = pids.first().and_then(|pid| std::fs::read_link(format!("/proc/{pid}/cwd")).ok());
                    warnings.push(format!(
                        "{}: bound to the relative path {}; the directory it was bound in is taken to be the process's current one ({})",
                        name_of(ino),
                        p.display(),
                        cwd.as_ref().map_or("unknown".into(), |c| c.display().to_string())
                    ));
                    s.cwd = cwd.map(|c| c.display().to_string());
                }
                let linked = rustix::fs::stat(if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    s.cwd.as_deref().map_or(p.to_path_buf(), |c| std::path::Path::new(c).join(p))
                })
                .ok()
                .zip(d.vfs)
                .is_some_and(|(st, (vino, _))| st.st_ino as u32 == vino);
                s.unlinked = !linked;
            }
        }
        if d.state == resocket_core::wire::TCP_LISTEN {
            let backlog = d.rqlen.map_or(0, |r| r.1);
            s.listen = Some(i16::try_from(backlog).unwrap_or(i16::MAX));
            for &c in d.icons.iter().flatten() {
                if !in_set(c) {
                    return Err(format!(
                        "{}: a pending connection comes from socket {c}, outside the dumped processes; it cannot be recreated",
                        name_of(ino)
                    ));
                }
                let w = diag.get(&c).and_then(|x| x.rqlen).map_or(0, |r| r.1);
                if w > 0 {
                    return Err(format!(
                        "{}: pending connection from {} holds data sent before accept() ({w} bytes of buffer); it waits on the embryo, which no interface can read without accepting the connection",
                        name_of(ino),
                        name_of(c)
                    ));
                }
                s.pending.push(PendingSpec { client: Some(name_of(c)), sent: Vec::new() });
            }
        }
        let peer = d.peer.filter(|&p| p != 0);
        let connection = d.ty != 2;
        if let Some(p) = peer {
            if !in_set(p) {
                warnings.push(format!(
                    "{}: its peer (socket {p}) is outside the dumped processes; marked external: a restore brings it back as a broken connection",
                    name_of(ino)
                ));
                s.external_peer = true;
                if d.shutdown != 0 {
                    s.shutdown = Some(["", "rd", "wr", "rdwr"][usize::from(d.shutdown & 3)].into());
                }
                for (_, data, rights) in queues.get(&ino).into_iter().flatten() {
                    s.queue.push(MsgSpec {
                        hex: Some(bstr::hex(data)),
                        rights: rights.iter().map(|&r| name_of(r)).collect(),
                        ..MsgSpec::default()
                    });
                }
                s.sndbuf = d.bufs.map(|b| b.1 as i32);
                s.rcvbuf = d.bufs.map(|b| b.0 as i32);
                s.no_fd = !held.contains(&ino);
                sockets.push(s);
                continue;
            }
            let pd = diag.get(&p);
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
                let own_listener = d.name.as_ref().and_then(|n| listeners.get(&(d.ty, n.clone())));
                let peer_named = pd.and_then(|x| x.name.as_ref()).is_some();
                if own_listener.is_some() || (d.name.is_some() && !peer_named) {
                    s.accepted_from = own_listener.map(|&l| name_of(l));
                    if s.accepted_from.is_none() {
                        warnings.push(format!(
                            "{}: accepted from a listener that is gone; a temporary one will stand in",
                            name_of(ino)
                        ));
                    }
                    s.peer = Some(name_of(p));
                } else if !peer_named && d.name.is_none() {
                    s.peer = None;
                    s.pair = Some(name_of(p));
                }
            }
        } else if connection && d.state == resocket_core::wire::TCP_ESTABLISHED && !pending_clients.contains(&ino) {
            s.peer_gone = true;
        }
        if d.shutdown != 0 && !s.peer_gone {
            s.shutdown = Some(["", "rd", "wr", "rdwr"][usize::from(d.shutdown & 3)].into());
        }
        match d.bufs {
            Some((rcv, snd)) => {
                s.sndbuf = Some(snd as i32);
                s.rcvbuf = Some(rcv as i32);
            }
            None => {
                s.sndbuf = net::sockopt::socket_send_buffer_size(fd).ok().map(|v| v as i32);
                s.rcvbuf = net::sockopt::socket_recv_buffer_size(fd).ok().map(|v| v as i32);
            }
        }
        s.no_fd = !held.contains(&ino);
        for (from, data, rights) in queues.get(&ino).into_iter().flatten() {
            let sender = if connection {
                None
            } else {
                from.as_ref().and_then(|n| by_name.get(n)).map(|&i| name_of(i)).or_else(|| peer.map(name_of))
            };
            s.queue.push(MsgSpec {
                from: sender,
                hex: Some(bstr::hex(data)),
                rights: rights.iter().map(|&r| name_of(r)).collect(),
                ..MsgSpec::default()
            });
        }
        sockets.push(s);
    }
    // Pending clients point at their embryos, not at the listener: no peer of their own.
    for s in &mut sockets {
        if let Some(ino) = s.name.strip_prefix("ino").and_then(|x| x.parse::<u32>().ok()) {
            if pending_clients.contains(&ino) {
                s.peer = None;
                s.pair = None;
                s.accepted_from = None;
            }
        }
    }
    sockets.extend(crate::dump_inet::specs(&inet, &inet_diag, &held, &mut warnings)?);
    let description =
        format!("checkpoint dump of pid {}", pids.iter().map(i32::to_string).collect::<Vec<_>>().join(", "));
    let release = rustix::system::uname().release().to_string_lossy().into_owned();
    Ok(Dump { scenario: Scenario { description, kernel: release, time: 0, tasks, sockets }, warnings })
}
