//! Checks on the model that need the whole image: states, peers, names, queues, backlogs.
//! Each rule names the kernel behaviour it stands for (see `../shared/reference/af_unix.md`).

use super::{field_range, Image, Message, Sock, UnixAddr, UnixPart, MAX_DGRAM_QLEN};
use crate::diag::{Code, Diagnostic};
use crate::sim::kernel::UNIX_DGRAM_MAX;
use crate::wire::*;
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

/// Objref → position lookups over a sorted key list: a dense table when the keys are numbered
/// densely (the usual 1, 2, 3…), binary search otherwise. Sized by the entries present, never
/// by an objref value read from the file.
struct Index {
    keys: Vec<i32>,
    dense: Option<Vec<u32>>,
}

impl Index {
    fn new(keys: Vec<i32>) -> Self {
        let max = keys.last().copied().unwrap_or(0);
        let dense = (keys.first().is_none_or(|&k| k >= 0) && (max as usize) < 4 * keys.len() + 64).then(|| {
            let mut d = vec![0u32; max as usize + 1];
            for (i, &k) in keys.iter().enumerate() {
                d[k as usize] = i as u32 + 1;
            }
            d
        });
        Index { keys, dense }
    }
    fn pos(&self, objref: i32) -> Option<usize> {
        match &self.dense {
            Some(d) => {
                usize::try_from(objref).ok().and_then(|o| d.get(o)).and_then(|&p| p.checked_sub(1)).map(|p| p as usize)
            }
            None => self.keys.binary_search(&objref).ok(),
        }
    }
}

/// The sockets in objref order with an [`Index`] over them, and the positions of those with
/// pending connections (gathered in the same pass: each pass over ~100k sockets is a pass over
/// ~25 MB).
struct Socks<'i, 'a> {
    list: Vec<&'i Sock<'a>>,
    index: Index,
    with_pending: Vec<usize>,
}

impl<'i, 'a> Socks<'i, 'a> {
    fn new(img: &'i Image<'a>) -> Self {
        let n = img.sockets.len();
        let (mut list, mut keys, mut with_pending) = (Vec::with_capacity(n), Vec::with_capacity(n), Vec::new());
        for (i, s) in img.sockets.values().enumerate() {
            list.push(s);
            keys.push(s.objref);
            if !s.pending.is_empty() {
                with_pending.push(i);
            }
        }
        Socks { list, index: Index::new(keys), with_pending }
    }
    /// Sockets with pending connections, in objref order.
    fn listeners(&self) -> impl Iterator<Item = &'i Sock<'a>> + '_ {
        self.with_pending.iter().map(|&i| self.list[i])
    }
    fn pos(&self, objref: i32) -> Option<usize> {
        self.index.pos(objref)
    }
    fn get(&self, objref: i32) -> Option<&'i Sock<'a>> {
        self.pos(objref).map(|p| self.list[p])
    }
}

fn sock_field(s: &Sock<'_>, name: &str) -> std::ops::Range<usize> {
    field_range(s.offset, &SOCKET_LAYOUT, name)
}

fn at(code: Code, s: &Sock<'_>, field: &str, msg: String) -> Diagnostic {
    Diagnostic::new(code, sock_field(s, field), msg).record(s.record).objref(s.objref)
}

fn type_name(t: u16) -> &'static str {
    crate::sim::SockType::from_raw(t).map_or("other", crate::sim::SockType::word)
}

/// Run every whole-image check.
pub(super) fn check(img: &Image<'_>, out: &mut Vec<Diagnostic>) {
    let socks = Socks::new(img);
    // Embryo → (listener, client), by socket position; the last RS_PENDING naming it wins.
    let mut embryos: Vec<Option<(i32, i32)>> = vec![None; socks.list.len()];
    for l in socks.listeners() {
        for p in &l.pending {
            if let Some(e) = socks.pos(p.embryo) {
                embryos[e] = Some((l.objref, p.client));
            }
        }
    }
    let mut referenced = vec![false; socks.list.len()];
    let mut reference = |objref: i32| {
        if let Some(i) = socks.pos(objref) {
            referenced[i] = true;
        }
    };
    for f in img.files.values() {
        reference(f.repr.sock_objref);
    }
    let mut names = Names::default();
    for (i, s) in socks.list.iter().enumerate() {
        check_socket(img, &socks, s, embryos[i], out);
        names.check(s, embryos[i].is_some(), out);
        if s.peer() != 0 {
            reference(s.peer());
        }
        for m in &s.queue {
            reference(m.sender);
            // Every family: an embryo has no fd until accept() hands it over, and the kernel
            // sends nothing of its own on it (a TCP child's SYN-ACK carries no data).
            if let Some((listener, _)) = socks.pos(m.sender).and_then(|e| embryos[e]) {
                out.push(
                    Diagnostic::new(
                        Code::BadSender,
                        m.offset..m.offset + SOCKET_BUFFER_LAYOUT.size,
                        format!(
                            "socket {} holds a message from socket {}, a pending connection of listener {listener}: nothing can send on it before accept()",
                            s.objref, m.sender
                        ),
                    )
                    .objref(s.objref),
                );
            }
        }
        for p in &s.pending {
            reference(p.embryo);
            reference(p.client);
        }
    }
    for t in img.tables.iter().filter(|_| !img.framing_error) {
        if i64::from(t.nfds) != t.desc_records as i64 {
            out.push(Diagnostic::new(
                Code::BadFd,
                t.offset + 8..t.offset + 12,
                format!(
                    "FILE_TABLE {} says fdt_nfds {} but {} FILE_DESC records follow it",
                    t.objref, t.nfds, t.desc_records
                ),
            ));
        }
    }
    check_pending(img, &socks, out);
    for (s, referenced) in socks.list.iter().zip(referenced) {
        if !referenced {
            out.push(at(
                Code::UnusedSocket,
                s,
                "family",
                format!("socket {} is not reached by any fd, peer, queue or pending connection", s.objref),
            ));
        }
    }
}

fn check_socket(
    img: &Image<'_>,
    socks: &Socks<'_, '_>,
    s: &Sock<'_>,
    embryo_of: Option<(i32, i32)>,
    out: &mut Vec<Diagnostic>,
) {
    let c = &s.common;
    let o = s.objref;
    if c.common_state != c.state {
        out.push(at(
            Code::StateMismatch,
            s,
            "common_state",
            format!(
                "socket {o}: sock_common.state {} differs from sock.state {} (one kernel field)",
                c.common_state, c.state
            ),
        ));
    }
    if !img.framing_error && u8::from(!s.queue.is_empty()) != c.has_buffers {
        out.push(at(
            Code::BadBuffer,
            s,
            "has_buffers",
            format!("socket {o}: has_buffers is {} but {} messages are queued for it", c.has_buffers, s.queue.len()),
        ));
    }
    if c.shutdown & !SHUTDOWN_MASK != 0 {
        out.push(at(
            Code::BadShutdown,
            s,
            "shutdown",
            format!("socket {o}: shutdown {:#x} has bits outside RCV|SEND", c.shutdown),
        ));
    }
    check_oob(s, out);
    if c.family != AF_UNIX {
        return; // INET sockets: only the address checks of the record (issue: INET support).
    }
    if !matches!(c.sock_type, SOCK_STREAM | SOCK_DGRAM | SOCK_SEQPACKET) {
        out.push(at(Code::UnsupportedType, s, "sock_type", format!("AF_UNIX socket {o} has type {}", c.sock_type)));
        return;
    }
    let Some(u) = &s.unix else {
        return; // reported as socket-without-family
    };
    // socket.state vs sk_state (the reviewer's check): Linux-CR's sock_cptrst_verify + unix_precheck.
    if !matches!(c.state, TCP_ESTABLISHED | TCP_CLOSE | TCP_LISTEN) {
        out.push(at(
            Code::StateMismatch,
            s,
            "state",
            format!("AF_UNIX socket {o} has sk_state {}; only ESTABLISHED, CLOSE and LISTEN exist", c.state),
        ));
        return;
    }
    check_unix_states(s, u, embryo_of.is_some(), out);
    check_unix_peers(socks, s, u, out);
    check_unix_queue(socks, s, u, out);
}

/// An AF_UNIX socket's `socket.state` against its `sk_state`, and what only a listener (or only
/// an accepted socket) may have: options, pending connections.
fn check_unix_states(s: &Sock<'_>, u: &UnixPart, embryo: bool, out: &mut Vec<Diagnostic>) {
    let c = &s.common;
    let o = s.objref;
    if let Some(o) = s.opts.as_ref().filter(|_| embryo) {
        out.push(
            Diagnostic::new(
                Code::BadSockopt,
                o.offset..o.offset + crate::wire::RS_SOCKOPT_LAYOUT.size,
                format!(
                    "socket {} is an embryo (a pending connection): nothing can set its options before it is accepted",
                    s.objref
                ),
            )
            .objref(s.objref),
        );
    }
    let ss_ok = match (c.socket_state, c.state) {
        (SS_CONNECTED, TCP_ESTABLISHED) => !embryo,
        (SS_CONNECTED, _) => false,
        (SS_CONNECTING, TCP_ESTABLISHED) => embryo,
        (SS_UNCONNECTED, _) => !embryo,
        _ => false,
    };
    if !ss_ok {
        let why = if embryo {
            "an embryo (pending connection) is SS_CONNECTING + TCP_ESTABLISHED".to_string()
        } else if c.socket_state == SS_CONNECTING {
            "SS_CONNECTING is only for embryos named by RS_PENDING".to_string()
        } else {
            format!("socket.state {} does not agree with sk_state {}", c.socket_state, c.state)
        };
        out.push(at(Code::StateMismatch, s, "socket_state", format!("socket {o}: {why}")));
    }
    // accept() returns a connected stream or seqpacket socket, and it stays ESTABLISHED for
    // good: a closing peer sets its shutdown and PEER_GONE, not its state (unix_release_sock).
    if u.has(UNIX_ACCEPTED) && !s.is_connection_oriented() {
        out.push(at(
            Code::StateType,
            s,
            "sock_type",
            format!(
                "socket {o} ({}) is marked ACCEPTED, but only stream and seqpacket sockets are accepted",
                type_name(c.sock_type)
            ),
        ));
    } else if u.has(UNIX_ACCEPTED) && c.state != TCP_ESTABLISHED {
        out.push(at(
            Code::StateMismatch,
            s,
            "state",
            format!("accepted socket {o} is not ESTABLISHED (sk_state {}); an accepted socket stays ESTABLISHED after its peer closes", c.state),
        ));
    }
    if c.state == TCP_LISTEN {
        check_listener(s, u, out);
    } else if !s.pending.is_empty() {
        out.push(
            Diagnostic::new(
                Code::BadPending,
                s.pending[0].offset..s.pending[0].offset + RS_PENDING_LAYOUT.size,
                format!("socket {o} has pending connections but is not listening"),
            )
            .objref(o),
        );
    }
}

/// A LISTEN socket: stream or seqpacket, named, without peer or data, its pending connections
/// within the backlog.
fn check_listener(s: &Sock<'_>, u: &UnixPart, out: &mut Vec<Diagnostic>) {
    let c = &s.common;
    let o = s.objref;
    let ty = type_name(c.sock_type);
    if !s.is_connection_oriented() {
        out.push(at(
            Code::StateType,
            s,
            "state",
            format!("{ty} socket {o} is LISTEN; only stream and seqpacket sockets listen (EOPNOTSUPP)"),
        ));
    }
    if !u.laddr.is_named() {
        out.push(at(
            Code::StateType,
            s,
            "state",
            format!("socket {o} listens without a name (listen() on an unbound socket is EINVAL)"),
        ));
    }
    if u.peer != 0 {
        out.push(at(Code::StateMismatch, s, "state", format!("listening socket {o} has a peer ({})", u.peer)));
    }
    if !s.queue.is_empty() {
        out.push(
            Diagnostic::new(
                Code::ListenerWithData,
                s.queue[0].offset..s.queue[0].offset + SOCKET_BUFFER_LAYOUT.size,
                format!(
                    "listening socket {o} has {} queued messages; a listener's queue holds only connections",
                    s.queue.len()
                ),
            )
            .objref(o),
        );
    }
    let admits = s.effective_backlog() + 1;
    if s.pending.len() as i64 > admits {
        out.push(at(
            Code::BacklogExceeded,
            s,
            "backlog",
            format!(
                "listener {o} has {} pending connections but backlog {} admits {admits}; the restore raises it to {} first",
                s.pending.len(),
                c.backlog,
                s.pending.len() - 1
            ),
        ));
    }
}

/// An AF_UNIX socket's peer: mutual and of its type for a connection, its type for a dgram
/// connect; the flags that speak of peers and names.
fn check_unix_peers(socks: &Socks<'_, '_>, s: &Sock<'_>, u: &UnixPart, out: &mut Vec<Diagnostic>) {
    let peer = socks.get(u.peer);
    check_connection_peer(s, u, peer, out);
    check_dgram_peer(s, u, peer, out);
    check_unix_flags(s, u, out);
}

/// A stream/seqpacket socket: ESTABLISHED with a mutual peer of its type (or a closed or
/// outside one, as the flags say), and a peer only when ESTABLISHED.
fn check_connection_peer(s: &Sock<'_>, u: &UnixPart, peer: Option<&Sock<'_>>, out: &mut Vec<Diagnostic>) {
    let c = &s.common;
    let o = s.objref;
    let ty = type_name(c.sock_type);
    if s.is_connection_oriented() && c.state == TCP_ESTABLISHED {
        if u.peer == o {
            out.push(at(
                Code::SelfConnectedStream,
                s,
                "state",
                format!("{ty} socket {o} is its own peer; only dgram sockets connect to themselves"),
            ));
        } else if u.peer == 0 {
            if !(u.has(UNIX_PEER_GONE) || u.has(UNIX_EXTERNAL_PEER))
                || (u.has(UNIX_PEER_GONE) && c.shutdown != SHUTDOWN_MASK)
            {
                out.push(at(
                    Code::PeerGone,
                    s,
                    "state",
                    format!("ESTABLISHED {ty} socket {o} has no peer; a closed peer leaves PEER_GONE and shutdown 3 (found flags {:#x}, shutdown {})", u.flags, c.shutdown),
                ));
            }
        } else if let Some(p) = peer {
            if p.peer() != o {
                out.push(at(
                    Code::PeerNotMutual,
                    s,
                    "state",
                    format!(
                        "ESTABLISHED {ty} socket {o} names {} as peer, but {}'s peer is {}",
                        u.peer,
                        u.peer,
                        p.peer()
                    ),
                ));
            } else if p.common.sock_type != c.sock_type {
                out.push(at(
                    Code::PeerNotMutual,
                    s,
                    "sock_type",
                    format!("socket {o} ({ty}) is connected to {} of another type", u.peer),
                ));
            }
        }
    } else if s.is_connection_oriented() && u.peer != 0 {
        out.push(at(
            Code::StateMismatch,
            s,
            "state",
            format!("{ty} socket {o} has peer {} but is not ESTABLISHED", u.peer),
        ));
    }
}

/// A dgram socket connected to a peer: ESTABLISHED, and the peer a dgram socket.
fn check_dgram_peer(s: &Sock<'_>, u: &UnixPart, peer: Option<&Sock<'_>>, out: &mut Vec<Diagnostic>) {
    let c = &s.common;
    let o = s.objref;
    if c.sock_type == SOCK_DGRAM && u.peer != 0 {
        if c.state != TCP_ESTABLISHED {
            out.push(at(
                Code::StateMismatch,
                s,
                "state",
                format!("dgram socket {o} is connected to {} but not ESTABLISHED", u.peer),
            ));
        }
        if let Some(p) = peer {
            if p.common.sock_type != SOCK_DGRAM {
                out.push(at(
                    Code::PeerNotMutual,
                    s,
                    "sock_type",
                    format!("dgram socket {o} is connected to {} of another type", u.peer),
                ));
            }
        }
    }
}

/// The flags that speak of peers and names: PEER_GONE without a peer (and, on a dgram socket,
/// ESTABLISHED), AUTOBIND on an autobind-shaped name, ACCEPTED on a named socket.
fn check_unix_flags(s: &Sock<'_>, u: &UnixPart, out: &mut Vec<Diagnostic>) {
    let c = &s.common;
    let o = s.objref;
    if u.has(UNIX_PEER_GONE) && u.peer != 0 {
        out.push(at(Code::PeerGone, s, "state", format!("socket {o} carries PEER_GONE but names peer {}", u.peer)));
    }
    if u.has(UNIX_PEER_GONE) && c.sock_type == SOCK_DGRAM && c.state != TCP_ESTABLISHED {
        out.push(at(
            Code::PeerGone,
            s,
            "state",
            format!("dgram socket {o} carries PEER_GONE (its connected peer closed) but is not ESTABLISHED"),
        ));
    }
    if u.has(UNIX_AUTOBIND) && !u.laddr.is_autobind_shape() {
        out.push(at(
            Code::BadAddress,
            s,
            "family",
            format!("socket {o} is marked AUTOBIND but its name {} is not 5 hex digits", u.laddr.display()),
        ));
    }
    if u.has(UNIX_ACCEPTED) && !u.laddr.is_named() {
        out.push(at(
            Code::BadAddress,
            s,
            "family",
            format!("accepted socket {o} has no name; it inherits its listener's"),
        ));
    }
}

/// An AF_UNIX socket's queued messages: their senders, their sizes against the sender's sndbuf,
/// and a dgram queue's length against `max_ack_backlog`.
fn check_unix_queue(socks: &Socks<'_, '_>, s: &Sock<'_>, u: &UnixPart, out: &mut Vec<Diagnostic>) {
    let c = &s.common;
    let o = s.objref;
    let mut last_other_index = -1i64;
    for (idx, m) in s.queue.iter().enumerate() {
        let range = m.offset..m.offset + SOCKET_BUFFER_LAYOUT.size;
        let sender = socks.get(m.sender);
        let mut bad = |code, message| out.push(Diagnostic::new(code, range.clone(), message).objref(o));
        // DEVIATION: the empty skb a recv(MSG_OOB) leaves of the out-of-band byte (its
        // `consumed` count) is real, but reads skip and free it, and no dump records it.
        if c.sock_type == SOCK_STREAM && m.data.is_empty() {
            bad(
                Code::EmptyStreamSkb,
                format!(
                    "stream socket {o}: skb {idx} is empty; a stream send of 0 bytes queues nothing, not even its fds"
                ),
            );
        }
        if let Some(why) = bad_sender(s, u, m, sender) {
            bad(Code::BadSender, why);
        }
        if let Some(why) = too_large(s, m) {
            bad(Code::DgramTooLarge, why);
        }
        if c.sock_type == SOCK_DGRAM && m.sender != o && (m.sender == 0 || m.sender != u.peer) {
            last_other_index = idx as i64;
        }
    }
    // unix_dgram_sendmsg: a datagram from a socket other than the receiver and its peer is
    // refused while `qlen > max_ack_backlog`; the one at queue position i found i ahead of it.
    let qlen_limit = if c.backlog < 0 { MAX_DGRAM_QLEN } else { i64::from(c.backlog) };
    if c.sock_type == SOCK_DGRAM && last_other_index > qlen_limit {
        out.push(at(
            Code::DgramQueueFull,
            s,
            "backlog",
            format!(
                "dgram socket {o}: a datagram from another socket sits at queue position {last_other_index}, but max_ack_backlog {qlen_limit} admits such a datagram only at positions 0..={qlen_limit}"
            ),
        ));
    }
}

/// Why message `m` of `s` cannot come from its sender: a connected socket's messages come from
/// its peer (or, for one whose peer closed or is outside, from nobody in the image); a dgram
/// socket's from dgram sockets.
fn bad_sender(s: &Sock<'_>, u: &UnixPart, m: &Message<'_>, sender: Option<&Sock<'_>>) -> Option<String> {
    let c = &s.common;
    let (o, ty) = (s.objref, type_name(c.sock_type));
    if s.is_connection_oriented() && !s.is_listener() {
        let expected = u.peer;
        let ok = if m.sender == 0 {
            u.peer == 0 && (u.has(UNIX_PEER_GONE) || u.has(UNIX_EXTERNAL_PEER)) && c.state == TCP_ESTABLISHED
        } else {
            m.sender == expected
        };
        if ok {
            None
        } else if c.state != TCP_ESTABLISHED {
            Some(format!("{ty} socket {o} is not connected but holds a message (from {})", m.sender))
        } else {
            Some(format!("{ty} socket {o} holds a message from {} but its peer is {expected}", m.sender))
        }
    } else if let Some(snd) = sender.filter(|_| c.sock_type == SOCK_DGRAM) {
        (snd.common.sock_type != SOCK_DGRAM || snd.common.family != AF_UNIX)
            .then(|| format!("dgram socket {o} holds a message from non-dgram socket {}", m.sender))
    } else {
        None
    }
}

/// Why message `m` of a dgram or seqpacket socket `s` is larger than any sender could send:
/// one skb holds at most [`UNIX_DGRAM_MAX`] bytes (ENOBUFS beyond, whatever the sndbuf).
///
/// A message larger than its sender's *recorded* sndbuf - 32 is not refused: the sender can
/// have lowered SO_SNDBUF after sending it (the queued skb stays; checked on 6.18 in
/// `differential.rs` `a_datagram_larger_than_its_senders_lowered_sndbuf_stays_queued`), and the planner
/// raises the sndbuf for the send and sets it back.
fn too_large(s: &Sock<'_>, m: &Message<'_>) -> Option<String> {
    (s.common.sock_type != SOCK_STREAM && m.data.len() > UNIX_DGRAM_MAX).then(|| {
        format!(
            "a {}-byte message exceeds the largest datagram one skb can hold ({UNIX_DGRAM_MAX} bytes: a 4 MiB head less its skb_shared_info, plus 17 pages) by {}",
            m.data.len(),
            m.data.len() - UNIX_DGRAM_MAX
        )
    })
}

/// `RS_OOB`: the out-of-band byte of a stream socket, a 1-byte skb of its queue: AF_UNIX's
/// `oob_skb`, or TCP's urgent byte (`urg_data`, its place `urg_seq`: the bytes of the skbs
/// before it). An embryo can hold one too: its client's `sendmsg(MSG_OOB)` before accept()
/// sets the embryo's `oob_skb` (`queue_oob` on `unix_peer`) or urgent pointer, and accept()
/// hands the embryo over as it is.
fn check_oob(s: &Sock<'_>, out: &mut Vec<Diagnostic>) {
    let Some(m) = s.oob else { return };
    let o = s.objref;
    let range = m.offset..m.offset + crate::wire::RS_OOB_LAYOUT.size;
    let stream = s.common.sock_type == SOCK_STREAM;
    let why = if !stream || !matches!(s.common.family, AF_UNIX | AF_INET | AF_INET6) {
        Some(format!(
            "socket {o} is neither an AF_UNIX stream socket nor a TCP one (family {}, type {}): only those hold an out-of-band byte",
            s.common.family, s.common.sock_type
        ))
    } else {
        match s.queue.get(m.index as usize) {
            None => Some(format!("socket {o}: RS_OOB.index {} is past its queue of {} skbs", m.index, s.queue.len())),
            Some(msg) if msg.data.len() != 1 => Some(format!(
                "socket {o}: skb {} holds {} bytes; the skb sent with MSG_OOB holds exactly one",
                m.index,
                msg.data.len()
            )),
            Some(_) => None,
        }
    };
    if let Some(why) = why {
        out.push(Diagnostic::new(Code::BadOob, range, why).objref(o));
    }
}

fn check_pending(img: &Image<'_>, socks: &Socks<'_, '_>, out: &mut Vec<Diagnostic>) {
    if socks.with_pending.is_empty() {
        return;
    }
    // Sockets some fd names (what `Image::fd_holders` lists), by socket position.
    let mut held = vec![false; socks.list.len()];
    let (mut file_keys, mut file_socks) = (Vec::with_capacity(img.files.len()), Vec::with_capacity(img.files.len()));
    for f in img.files.values() {
        file_keys.push(f.objref);
        file_socks.push(f.repr.sock_objref);
    }
    let files = Index::new(file_keys);
    for fd in img.tables.iter().flat_map(|t| &t.fds) {
        if let Some(s) = files.pos(fd.file).and_then(|f| socks.pos(file_socks[f])) {
            held[s] = true;
        }
    }
    let mut seen = vec![false; socks.list.len()];
    let mut seen_other = BTreeSet::new();
    for l in socks.listeners() {
        for p in &l.pending {
            let range = p.offset..p.offset + RS_PENDING_LAYOUT.size;
            let mut bad =
                |msg: String| out.push(Diagnostic::new(Code::BadPending, range.clone(), msg).objref(l.objref));
            if !l.is_listener() {
                continue; // reported on the socket
            }
            let first = match socks.pos(p.embryo) {
                Some(e) => !std::mem::replace(&mut seen[e], true),
                None => seen_other.insert(p.embryo),
            };
            if !first {
                bad(format!("embryo {} is pending twice", p.embryo));
                continue;
            }
            let Some(ei) = socks.pos(p.embryo) else { continue };
            let e = socks.list[ei];
            if l.common.family != AF_UNIX {
                // INET: the embryo and its client are matched by address (image/inet.rs).
                super::inet::check_pending(l, e, held[ei], socks.get(p.client).filter(|_| p.client != 0), &mut bad);
                continue;
            }
            if e.common.sock_type != l.common.sock_type || e.common.family != AF_UNIX {
                bad(format!("embryo {} is not of its listener {}'s type", p.embryo, l.objref));
            }
            if held[ei] {
                bad(format!("embryo {} has an fd: a pending connection has not been accepted yet", p.embryo));
            }
            if e.laddr() != l.laddr() {
                bad(format!(
                    "embryo {} must carry its listener's name {}",
                    p.embryo,
                    l.laddr().map_or(String::new(), UnixAddr::display)
                ));
            }
            if e.peer() != p.client {
                bad(format!("embryo {}'s peer is {}, RS_PENDING says client {}", p.embryo, e.peer(), p.client));
            }
            if p.client != 0 {
                if let Some(c) = socks.get(p.client) {
                    if c.peer() != p.embryo {
                        bad(format!("client {}'s peer is {}, not its embryo {}", p.client, c.peer(), p.embryo));
                    }
                }
            }
        }
    }
}

/// Names held by live sockets, for the duplicate checks (one socket at a time, in objref
/// order, inside the main pass over the sockets).
#[derive(Default)]
struct Names<'i> {
    paths: HashMap<Cow<'i, [u8]>, i32>,
    abstracts: HashMap<(u16, &'i [u8]), i32>,
}

impl<'i> Names<'i> {
    fn check(&mut self, s: &'i Sock<'_>, embryo: bool, out: &mut Vec<Diagnostic>) {
        let Some(u) = &s.unix else { return };
        // Accepted sockets and embryos share the listener's name without holding it.
        if u.has(UNIX_ACCEPTED) || embryo {
            return;
        }
        match &u.laddr {
            UnixAddr::Path(p) if u.has(UNIX_LINKED) => {
                let full: Cow<'_, [u8]> = match (&u.cwd, p.first()) {
                    (Some(cwd), Some(&c)) if c != b'/' => Cow::Owned([&cwd[..], b"/", &p[..]].concat()),
                    _ => Cow::Borrowed(p),
                };
                if let Some(prev) = self.paths.insert(full.clone(), s.objref) {
                    out.push(at(
                        Code::DuplicatePath,
                        s,
                        "family",
                        format!("sockets {prev} and {} are both bound to {}", s.objref, crate::bstr::escape(&full)),
                    ));
                }
            }
            UnixAddr::Abstract(a) => {
                if let Some(prev) = self.abstracts.insert((s.common.sock_type, &a[..]), s.objref) {
                    out.push(at(
                        Code::DuplicateAbstract,
                        s,
                        "family",
                        format!(
                            "{} sockets {prev} and {} both hold {}",
                            type_name(s.common.sock_type),
                            s.objref,
                            u.laddr.display()
                        ),
                    ));
                }
            }
            _ => {}
        }
    }
}
