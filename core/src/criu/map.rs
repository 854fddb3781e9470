//! [`to_scenario`]: a CRIU checkpoint as a resocket scenario (tasks, fds at their numbers,
//! sockets with their peers, listeners and pending clients, queues and in-flight fds), and
//! the named [`Note`]s on what the mapping cannot say or what CRIU did not record. Going
//! through the scenario gives plan, simulate, run and graph as for any image.
//!
//! How CRIU's entries become roles (docs/criu.md has the reasoning):
//! * mutual peers (stream/seqpacket): an *accepted* connection when exactly one end is named
//!   like a listener of the image (the accepted end carries its listener's name), else a
//!   *socketpair*. CRIU cannot tell a socketpair from an accepted connection whose listener is
//!   gone, and restores both as a socketpair: so does this mapping (note `pair-or-accepted`).
//! * a stream/seqpacket client whose peer is a listener that does not name it back: a
//!   *pending* connection of that listener.
//! * ESTABLISHED stream without a peer, shutdown BOTH: *semi-closed* (`peer_gone`).
//! * a peer entry marked `USK_EXTERN`: the outside socket CRIU recorded; the socket connected
//!   to it gets `external_peer`.
//! * dgram: `peer` for a connect; mutual unnamed dgram peers are a socketpair.
//! * INET: peers matched by address pair; a connection whose other end is not in the image is
//!   `external_peer` with `remote`.

use super::check::{DGRAM, ESTABLISHED, LISTEN, SEQPACKET, STREAM, USK_EXTERN};
use super::{pb, Opened};
use crate::bstr;
use crate::image::UnixAddr;
use crate::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec, DEFAULT_BUF};
use crate::sim::ops::{How, InetFamily, SockType};
use crate::sock::Family;
use std::collections::{BTreeMap, BTreeSet};

mod inet;

/// What a note is about. The kebab-case spelling is stable.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
    crate::codec::Encode,
    crate::codec::Decode,
)]
#[serde(rename_all = "kebab-case")]
pub enum NoteCode {
    /// A listener with two or more pending clients: CRIU does not record their accept order
    /// (they are listed in inode order, and a CRIU restore connects them in scheduling order).
    AcceptOrder,
    /// A listener with pending clients: data a client sent before accept lives in the embryo,
    /// which CRIU neither dumps nor restores (it refuses such dumps).
    DataBeforeAccept,
    /// A datagram queue: CRIU does not record the sender of each datagram; the messages are
    /// attributed to one sender (the receiver's peer, its first connected client, or a
    /// stand-in socket).
    SenderAddress,
    /// A socket with queued data: its SO_PEEK_OFF is not in the image.
    PeekOffset,
    /// A connected pair restored as a socketpair: CRIU cannot tell a socketpair from an
    /// accepted connection whose listener is gone.
    PairOrAccepted,
    /// A stand-in sender socket was added for datagrams nobody connected could have sent.
    StandInSender,
    /// An fd that is not a socket (regular file, pipe, ...): listed, not restored.
    NonSocketFile,
    /// A non-socket file in flight (SCM_RIGHTS): dropped from the message.
    InFlightNonSocket,
    /// The outside peer's name (a USK_EXTERN entry) is not kept by the scenario.
    ExternalPeerName,
    /// Socket options the scenario does not hold (SO_PASSCRED, timeouts, priority, ...).
    OptionNotModelled,
    /// A bound path's mode and owner (file_perms) are not restored by resocket.
    FilePermissions,
    /// A socket's name that the scenario derives or cannot give (an accepted end without its
    /// listener, a connected stream socket's own name).
    NameDropped,
    /// A TCP connection's repair state (sequence numbers, windows, timestamps): resocket
    /// re-establishes the connection instead of repairing it.
    TcpRepairState,
    /// Bytes in a TCP send queue (sent, not acknowledged).
    TcpSendQueue,
    /// CRIU does not dump UDP receive queues.
    UdpQueue,
    /// Tasks that share one fd table (CLONE_FILES) get one table each in the scenario.
    SharedFdTable,
    /// A connection to an address outside the checkpoint that the saved namespace's routes
    /// (route-N.img, route6-N.img) do not reach: on the restored host a connect to it fails
    /// with ENETUNREACH.
    RemoteUnreachable,
    /// A TCP client connected to the address of a listener of the checkpoint whose accepted
    /// end is not in it: the connection was in that listener's accept queue, which CRIU dumps
    /// only with `--skip-in-flight`, dropping it (a CRIU restore leaves the client connected
    /// to nothing). Restored as a pending connection of that listener; what the client had
    /// sent before accept is lost.
    InFlightSkipped,
    /// An entry the scenario cannot hold (unsupported type or state, an unknown peer).
    Unmapped,
}

impl NoteCode {
    /// The stable kebab-case spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            NoteCode::AcceptOrder => "accept-order",
            NoteCode::DataBeforeAccept => "data-before-accept",
            NoteCode::SenderAddress => "sender-address",
            NoteCode::PeekOffset => "peek-offset",
            NoteCode::PairOrAccepted => "pair-or-accepted",
            NoteCode::StandInSender => "stand-in-sender",
            NoteCode::NonSocketFile => "non-socket-file",
            NoteCode::InFlightNonSocket => "in-flight-non-socket",
            NoteCode::ExternalPeerName => "external-peer-name",
            NoteCode::OptionNotModelled => "option-not-modelled",
            NoteCode::FilePermissions => "file-permissions",
            NoteCode::NameDropped => "name-dropped",
            NoteCode::TcpRepairState => "tcp-repair-state",
            NoteCode::TcpSendQueue => "tcp-send-queue",
            NoteCode::UdpQueue => "udp-queue",
            NoteCode::SharedFdTable => "shared-fd-table",
            NoteCode::RemoteUnreachable => "remote-unreachable",
            NoteCode::InFlightSkipped => "in-flight-skipped",
            NoteCode::Unmapped => "unmapped",
        }
    }
}

/// A note on the mapping.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, crate::codec::Encode, crate::codec::Decode,
)]
pub struct Note {
    /// What it is about.
    pub code: NoteCode,
    /// The scenario socket concerned, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub socket: Option<String>,
    /// One line.
    pub message: String,
}

fn sock_type(raw: u32) -> Option<SockType> {
    match raw {
        STREAM => Some(SockType::Stream),
        DGRAM => Some(SockType::Dgram),
        SEQPACKET => Some(SockType::Seqpacket),
        _ => None,
    }
}

fn how(shutdown: Option<i32>) -> Option<How> {
    match shutdown {
        Some(1) => Some(How::Rd),
        Some(2) => Some(How::Wr),
        Some(3) => Some(How::Rdwr),
        _ => None,
    }
}

/// An AF_UNIX name CRIU recorded, in the scenario's spelling ([`UnixAddr::from_kernel_name`],
/// [`UnixAddr::spelling`]); `None` for an unnamed socket.
pub fn unix_name(name: &[u8]) -> Option<String> {
    UnixAddr::from_kernel_name(name).spelling()
}

struct Ctx<'a> {
    o: &'a Opened,
    sockets: Vec<SockSpec>,
    notes: Vec<Note>,
    /// file id → scenario socket index.
    by_id: BTreeMap<u32, usize>,
}

impl Ctx<'_> {
    fn note(&mut self, code: NoteCode, socket: Option<usize>, message: String) {
        let socket = socket.and_then(|i| self.sockets.get(i)).map(|s| s.name.clone());
        self.notes.push(Note { code, socket, message });
    }
}

/// The scenario of an opened checkpoint, and the notes on the mapping. Best effort on an
/// invalid checkpoint (what does not resolve is left out and noted); never panics.
pub fn to_scenario(o: &Opened) -> (Scenario, Vec<Note>) {
    let mut c = Ctx { o, sockets: Vec::new(), notes: Vec::new(), by_id: BTreeMap::new() };
    unix_sockets(&mut c);
    inet::inet_sockets(&mut c);
    note_pending_clients(&mut c);
    queues(&mut c);
    let tasks = tasks(&mut c);
    let ck = &o.checkpoint;
    let description = format!(
        "CRIU checkpoint: {} task(s), {} unix and {} inet socket(s){}",
        ck.tasks.len(),
        ck.unix.len(),
        ck.inet.len(),
        if ck.legacy_layout { " (legacy unixsk.img layout)" } else { "" }
    );
    // The serde defaults (kernel release) of a scenario: CRIU images do not record the release.
    let base = Scenario::from_json(r#"{"sockets": []}"#).unwrap_or_default();
    let sc = Scenario { description, tasks, sockets: c.sockets, ..base };
    (sc, c.notes)
}

fn base_spec(name: String, family: Option<InetFamily>, ty: SockType, opts: &pb::SkOptsEntry) -> SockSpec {
    SockSpec {
        name,
        family: Family::from_inet(family),
        ty,
        sndbuf: (opts.so_sndbuf != DEFAULT_BUF as u32).then_some(opts.so_sndbuf.min(i32::MAX as u32) as i32),
        rcvbuf: (opts.so_rcvbuf != DEFAULT_BUF as u32).then_some(opts.so_rcvbuf.min(i32::MAX as u32) as i32),
        sndbuf_lock: opts.so_buf_lock.unwrap_or(0) & 1 != 0,
        rcvbuf_lock: opts.so_buf_lock.unwrap_or(0) & 2 != 0,
        opts: recorded_options(opts, family, ty),
        ..SockSpec::default()
    }
}

/// The options of `opts` that `RS_SOCKOPT` records and that differ from a new socket's, for a
/// socket of this kind (the rest stay notes: [`unmodelled_options`]).
fn recorded_options(opts: &pb::SkOptsEntry, family: Option<InetFamily>, ty: SockType) -> Vec<crate::sim::SockOpt> {
    use crate::sim::SockOpt;
    let kind = match (family, ty) {
        (None, _) => crate::sockopt::OptKind::Unix,
        (Some(_), SockType::Stream) => crate::sockopt::OptKind::Tcp,
        (Some(_), _) => crate::sockopt::OptKind::Udp,
    };
    let us =
        |sec: u64, usec: u64| i64::try_from(sec.saturating_mul(1_000_000).saturating_add(usec)).unwrap_or(i64::MAX);
    let int = |v: u32| i32::try_from(v).unwrap_or(i32::MAX);
    let keep = |v: u32, max: i32| int(v).clamp(1, max);
    let mut v = Vec::new();
    if opts.so_rcv_tmo_sec != 0 || opts.so_rcv_tmo_usec != 0 {
        v.push(SockOpt::RcvTimeo(us(opts.so_rcv_tmo_sec, opts.so_rcv_tmo_usec)));
    }
    if opts.so_snd_tmo_sec != 0 || opts.so_snd_tmo_usec != 0 {
        v.push(SockOpt::SndTimeo(us(opts.so_snd_tmo_sec, opts.so_snd_tmo_usec)));
    }
    if let Some(p) = opts.so_priority.filter(|&p| p != 0) {
        v.push(SockOpt::Priority(int(p)));
    }
    if let Some(m) = opts.so_mark.filter(|&m| m != 0) {
        v.push(SockOpt::Mark(m));
    }
    if let Some(l) = opts.so_rcvlowat.filter(|&l| l > 1) {
        v.push(SockOpt::RcvLowat(int(l)));
    }
    if opts.so_passsec == Some(true) {
        v.push(SockOpt::PassSec(true));
    }
    if opts.so_broadcast == Some(true) {
        v.push(SockOpt::Broadcast(true));
    }
    if opts.so_keepalive == Some(true) {
        v.push(SockOpt::KeepAlive(true));
    }
    if opts.so_oobinline.unwrap_or(0) != 0 {
        v.push(SockOpt::OobInline(true));
    }
    if let Some(l) = opts.so_linger.filter(|&l| l != 0) {
        v.push(SockOpt::Linger { on: true, secs: int(l) });
    }
    if let Some(n) = opts.tcp_keepidle {
        v.push(SockOpt::TcpKeepIdle(keep(n, crate::sockopt::MAX_TCP_KEEP)));
    }
    if let Some(n) = opts.tcp_keepintvl {
        v.push(SockOpt::TcpKeepIntvl(keep(n, crate::sockopt::MAX_TCP_KEEP)));
    }
    if let Some(n) = opts.tcp_keepcnt {
        v.push(SockOpt::TcpKeepCnt(keep(n, crate::sockopt::MAX_TCP_KEEPCNT)));
    }
    v.retain(|o| o.recorded().is_some_and(|n| kind.refuses(n).is_none()));
    v
}

/// The options of `opts` that the scenario does not hold and that differ from a new socket's
/// (the SOL_SOCKET and TCP keepalive ones are in `opts`: [`recorded_options`]).
fn unmodelled_options(opts: &pb::SkOptsEntry, unix: bool) -> Vec<&'static str> {
    let mut v = Vec::new();
    let on = |b: Option<bool>| b == Some(true);
    if unix && on(opts.reuseaddr) {
        v.push("SO_REUSEADDR");
    }
    if unix && on(opts.so_reuseport) {
        v.push("SO_REUSEPORT");
    }
    if !unix && on(opts.so_passcred) {
        v.push("SO_PASSCRED"); // the scenario holds it for AF_UNIX sockets
    }
    if !unix && on(opts.so_passsec) {
        v.push("SO_PASSSEC"); // RS_SOCKOPT holds it for AF_UNIX sockets (Linux >= 6.16: only there)
    }
    if on(opts.so_dontroute) {
        v.push("SO_DONTROUTE");
    }
    if on(opts.so_no_check) {
        v.push("SO_NO_CHECK");
    }
    if opts.so_bound_dev.as_deref().is_some_and(|d| !d.is_empty()) {
        v.push("SO_BINDTODEVICE");
    }
    if !opts.so_filter.is_empty() {
        v.push("SO_ATTACH_FILTER");
    }
    v
}

/// The scenario socket of one CRIU unix entry, before its role: name, cwd, flags, shutdown,
/// backlog.
fn unix_spec(sk: &pb::UnixSkEntry, ty: SockType) -> SockSpec {
    let mut spec = base_spec(format!("unix-{}", sk.ino), None, ty, &sk.opts);
    spec.nonblock = sk.flags & crate::wire::O_NONBLOCK != 0;
    spec.passcred = sk.opts.so_passcred == Some(true);
    spec.addr = unix_name(&sk.name);
    if spec.addr.as_deref().is_some_and(|a| !a.starts_with('@') && !a.starts_with('/')) {
        spec.cwd = sk.name_dir.clone();
    }
    spec.unlinked = sk.deleted == Some(true) && spec.addr.as_deref().is_some_and(|a| !a.starts_with('@'));
    spec.shutdown = how(sk.shutdown);
    if sk.state == LISTEN && ty.is_connection_oriented() {
        spec.listen = Some(sk.backlog.min(i16::MAX as u32) as i16);
    }
    spec
}

/// What CRIU does not record about pending clients: their accept order, data sent before accept
/// (AF_UNIX: CRIU refuses the dump; a TCP pending connection is dropped, `InFlightSkipped`).
fn note_pending_clients(c: &mut Ctx<'_>) {
    for i in 0..c.sockets.len() {
        let n = c.sockets[i].pending.len();
        let unix = c.sockets[i].family == Family::Unix;
        if n >= 2 {
            c.note(
                NoteCode::AcceptOrder,
                Some(i),
                format!("{n} pending clients: CRIU does not record their accept order (inode order used)"),
            );
        }
        if n >= 1 && unix {
            c.note(
            NoteCode::DataBeforeAccept,
            Some(i),
            "data sent before accept is not in a CRIU image (CRIU refuses to dump it): the pending clients have sent nothing".into(),
        );
        }
    }
}

/// Entries CRIU wrote for outside peers (`USK_EXTERN` on a file no process holds): not sockets
/// of the scenario.
fn fake_extern(s: &pb::UnixSkEntry, id: u32, held: &BTreeSet<u32>) -> bool {
    s.uflags & USK_EXTERN != 0 && !held.contains(&id)
}

/// A scenario socket for each unix entry `sks` (the whole entries of the checkpoint's, in its
/// order) that is one, with the notes on what it loses; each entry's socket index.
fn place_unix(c: &mut Ctx<'_>, sks: &[pb::UnixSkEntry], held: &BTreeSet<u32>) -> Vec<Option<usize>> {
    let ck = &c.o.checkpoint;
    let mut idx: Vec<Option<usize>> = vec![None; ck.unix.len()];
    for (k, s) in ck.unix.iter().enumerate() {
        let Some(sk) = sks.get(k) else { continue };
        if fake_extern(sk, s.id, held) {
            continue;
        }
        let Some(ty) = sock_type(sk.r#type) else {
            c.notes.push(Note {
                code: NoteCode::Unmapped,
                socket: None,
                message: format!("unix socket ino {}: type {} is not stream, dgram or seqpacket", sk.ino, sk.r#type),
            });
            continue;
        };
        let i = c.sockets.len();
        c.sockets.push(unix_spec(sk, ty));
        idx[k] = Some(i);
        c.by_id.entry(s.id).or_insert(i);
        let opts = unmodelled_options(&sk.opts, true);
        if !opts.is_empty() {
            c.note(NoteCode::OptionNotModelled, Some(i), format!("not restored by resocket: {}", opts.join(", ")));
        }
        if sk.file_perms.is_some() {
            c.note(
                NoteCode::FilePermissions,
                Some(i),
                "the socket file's mode and owner (file_perms) are not restored by resocket".into(),
            );
        }
    }
    idx
}

/// The checkpoint's unix entries as their links are decided: each entry's whole record and
/// scenario socket, entries by inode, the files a process holds, listeners by (name, type).
struct UnixView<'v> {
    unix: &'v [super::UnixSock],
    sks: &'v [pb::UnixSkEntry],
    idx: &'v [Option<usize>],
    by_ino: BTreeMap<u32, usize>,
    held: &'v BTreeSet<u32>,
    listeners: BTreeMap<(&'v [u8], u32), usize>,
}

fn unix_sockets(c: &mut Ctx<'_>) {
    let ck = &c.o.checkpoint;
    // The whole entries (the checkpoint keeps only what the checks use).
    let sks: Vec<pb::UnixSkEntry> = ck.unix.iter().map(|s| c.o.unix_entry(s).unwrap_or_default()).collect();
    let held: BTreeSet<u32> = ck.all_fds().map(|(_, _, f)| f.id).collect();
    let idx = place_unix(c, &sks, &held);
    let listeners = sks
        .iter()
        .enumerate()
        .filter(|(_, sk)| sk.state == LISTEN && !sk.name.is_empty())
        .filter_map(|(k, sk)| idx[k].map(|i| ((sk.name.as_slice(), sk.r#type), i)))
        .collect();
    let by_ino = ck.unix.iter().enumerate().map(|(k, s)| (s.ino, k)).collect();
    let v = UnixView { unix: &ck.unix, sks: &sks, idx: &idx, by_ino, held: &held, listeners };
    for (k, sk) in sks.iter().enumerate() {
        if let Some(i) = idx[k] {
            link_unix(c, &v, (i, k), sk);
        }
    }
}

/// The links of unix entry `k` (scenario socket `i`): an outside peer, a peer, a pair, a
/// listener it is pending on, or none.
fn link_unix(c: &mut Ctx<'_>, v: &UnixView<'_>, (i, k): (usize, usize), sk: &pb::UnixSkEntry) {
    let connection = sk.r#type != DGRAM;
    if sk.uflags & USK_EXTERN != 0 {
        // A socket CRIU dumped with --external unix[ino]: its peer stays outside.
        c.sockets[i].external_peer = connection;
        c.note(
            NoteCode::ExternalPeerName,
            Some(i),
            "marked external by CRIU (USK_EXTERN): its peer is not restored".into(),
        );
        return;
    }
    if sk.peer == 0 {
        if connection && sk.state == ESTABLISHED {
            semi_closed(c, i, sk);
        }
        return;
    }
    let Some(&pk) = v.by_ino.get(&sk.peer) else {
        c.note(NoteCode::Unmapped, Some(i), format!("peer ino {} is not in the image: left unconnected", sk.peer));
        return;
    };
    let (Some(peer), Some(pu)) = (v.sks.get(pk), v.unix.get(pk)) else { return };
    if fake_extern(peer, pu.id, v.held) {
        outside_peer(c, i, connection, peer);
        return;
    }
    let Some(pi) = v.idx[pk] else { return };
    if pk == k {
        c.sockets[i].peer = Some(c.sockets[i].name.clone());
        return;
    }
    let mutual = peer.peer == sk.ino;
    if connection && !mutual {
        one_way(c, (i, pi), sk, peer);
    } else if !connection {
        // Two unnamed dgram sockets connected to each other: a socketpair.
        if mutual && sk.name.is_empty() && peer.name.is_empty() {
            c.sockets[i].pair = Some(c.sockets[pi].name.clone());
        } else {
            c.sockets[i].peer = Some(c.sockets[pi].name.clone());
        }
    } else {
        // A connected stream/seqpacket pair: accepted (one end named like a listener) or a
        // socketpair. Each end decides for itself; both see the same facts.
        let mine = v.listeners.get(&(sk.name.as_slice(), sk.r#type)).copied();
        let theirs = v.listeners.get(&(peer.name.as_slice(), peer.r#type)).copied();
        connected_end(c, (i, k), (pi, pk), mine, theirs);
    }
}

/// An established stream/seqpacket socket with no peer: its peer closed (restored with
/// `peer_gone` when both directions were shut), its own name not kept.
fn semi_closed(c: &mut Ctx<'_>, i: usize, sk: &pb::UnixSkEntry) {
    if sk.shutdown == Some(3) {
        c.sockets[i].peer_gone = true;
        c.sockets[i].shutdown = None;
    }
    if c.sockets[i].addr.take().is_some() {
        c.note(NoteCode::NameDropped, Some(i), "a semi-closed stream socket's own name is not kept".into());
    }
}

/// A socket whose peer is outside the checkpoint (an entry CRIU wrote for it, held by no
/// process): a connection is restored broken, a dgram socket unconnected.
fn outside_peer(c: &mut Ctx<'_>, i: usize, connection: bool, peer: &pb::UnixSkEntry) {
    let name = unix_name(&peer.name).unwrap_or_default();
    let msg = if connection {
        // resocket restores a connection to an outside peer as a broken one.
        c.sockets[i].external_peer = true;
        format!("connected to {name:?} outside the checkpoint: restored as a broken connection (data kept, then EOF)")
    } else if UnixAddr::from_kernel_name(&peer.name).outside_addr().is_some() {
        // Reconnected to the name when the restoring host has a dgram socket bound there (as
        // CRIU does with --ext-unix-sk), else restored unconnected (`unix-external-peer`).
        c.sockets[i].external_peer = true;
        c.sockets[i].remote = Some(name.clone());
        format!("connected to {name:?} outside the checkpoint: reconnected to that name when the restoring host has a dgram socket bound there, else restored unconnected")
    } else {
        format!("connected to {name:?} outside the checkpoint (no absolute or abstract name to connect to): restored unconnected")
    };
    c.note(NoteCode::ExternalPeerName, Some(i), msg);
}

/// A stream/seqpacket socket `i` naming `pi` as its peer, which does not name it back: a
/// client pending on the listener `pi`, or unmapped.
fn one_way(c: &mut Ctx<'_>, (i, pi): (usize, usize), sk: &pb::UnixSkEntry, peer: &pb::UnixSkEntry) {
    if peer.state == LISTEN {
        let name = c.sockets[i].name.clone();
        c.sockets[pi].pending.push(PendingSpec { client: Some(name), sent: Vec::new() });
        if c.sockets[i].addr.take().is_some() {
            c.note(NoteCode::NameDropped, Some(i), "a pending client's own name is not kept".into());
        }
    } else {
        c.note(NoteCode::Unmapped, Some(i), format!("names ino {} as peer, which does not name it back", sk.peer));
    }
}

/// End `i` (entry `k`) of a connected stream/seqpacket pair whose other end is `pi` (entry
/// `pk`): accepted from the listener named like it (`mine`), the client of the one named like
/// its peer (`theirs`), or a socketpair.
fn connected_end(
    c: &mut Ctx<'_>,
    (i, k): (usize, usize),
    (pi, pk): (usize, usize),
    mine: Option<usize>,
    theirs: Option<usize>,
) {
    let pname = c.sockets[pi].name.clone();
    match (mine, theirs) {
        (Some(l), None) => {
            c.sockets[i].accepted_from = Some(c.sockets[l].name.clone());
            c.sockets[i].peer = Some(pname);
            c.sockets[i].addr = None;
            c.sockets[i].cwd = None;
            c.sockets[i].unlinked = false;
        }
        (None, Some(_)) => {
            c.sockets[i].peer = Some(pname);
            if c.sockets[i].addr.take().is_some() {
                c.note(NoteCode::NameDropped, Some(i), "a connected client's own name is not kept".into());
            }
        }
        _ => {
            c.sockets[i].pair = Some(pname.clone());
            if c.sockets[i].addr.take().is_some() {
                c.note(
                    NoteCode::NameDropped,
                    Some(i),
                    "named end of a connection whose listener is not in the image: restored unnamed".into(),
                );
            }
            if k < pk {
                c.note(
                    NoteCode::PairOrAccepted,
                    Some(i),
                    format!("connected to {pname}: CRIU does not record whether this came from socketpair() or accept(); restored as a socketpair, as CRIU does"),
                );
            }
        }
    }
}

fn msg(data: &[u8], rights: Vec<String>) -> MsgSpec {
    MsgSpec { data: Some(bstr::escape(data)), rights, ..MsgSpec::default() }
}

fn queues(c: &mut Ctx<'_>) {
    let ck = &c.o.checkpoint;
    let mut noted = std::collections::BTreeSet::new();
    for p in &ck.packets {
        let Some(&i) = c.by_id.get(&p.pkt.id_for) else { continue };
        let data = c.o.bytes(p.at.file(), p.data.clone()).to_vec();
        let mut rights = Vec::new();
        for r in p.pkt.scm.iter().filter(|s| s.r#type == 1).flat_map(|s| s.rights.iter()) {
            match c.by_id.get(r) {
                Some(&j) => {
                    rights.push(c.sockets[j].name.clone());
                }
                None => {
                    let what = ck.others.iter().find(|f| f.id == *r).map_or("an unknown file".to_string(), |f| {
                        format!("{} {}", pb::fd_type_name(f.ty).unwrap_or("?"), f.path.as_deref().unwrap_or(""))
                    });
                    c.note(
                        NoteCode::InFlightNonSocket,
                        Some(i),
                        format!("file id {r} in flight ({}) is not a socket: dropped", what.trim()),
                    );
                }
            }
        }
        c.sockets[i].queue.push(msg(&data, rights));
        if noted.insert(i) {
            c.note(NoteCode::PeekOffset, Some(i), "SO_PEEK_OFF is not in a CRIU image".into());
        }
    }
    // In-flight-only sockets.
    let held: BTreeSet<u32> = ck.all_fds().map(|(_, _, f)| f.id).collect();
    for (&id, &i) in &c.by_id {
        if !held.contains(&id) {
            c.sockets[i].no_fd = true;
        }
    }
    // Datagram senders: CRIU does not record them.
    let n = c.sockets.len();
    for i in 0..n {
        if c.sockets[i].ty != SockType::Dgram || c.sockets[i].queue.is_empty() {
            continue;
        }
        let me = c.sockets[i].name.clone();
        let connected = c.sockets[i].peer.is_some() || c.sockets[i].pair.is_some();
        if connected {
            // A connected dgram socket only receives from its peer.
            continue;
        }
        let client = c.sockets.iter().position(|s| s.peer.as_deref() == Some(me.as_str()));
        let from = match client {
            Some(j) => c.sockets[j].name.clone(),
            None => {
                let name = format!("{me}-sender");
                let family = c.sockets[i].family;
                c.sockets.push(SockSpec {
                    name: name.clone(),
                    family,
                    ty: SockType::Dgram,
                    peer: Some(me.clone()),
                    no_fd: true,
                    ..SockSpec::default()
                });
                c.note(
                    NoteCode::StandInSender,
                    Some(i),
                    format!("{name} stands in for the unknown senders of its datagrams"),
                );
                name
            }
        };
        for m in &mut c.sockets[i].queue {
            m.from = Some(from.clone());
        }
        c.note(
            NoteCode::SenderAddress,
            Some(i),
            format!(
                "CRIU does not record datagram senders: all {} message(s) attributed to {from}",
                c.sockets[i].queue.len()
            ),
        );
    }
}

fn tasks(c: &mut Ctx<'_>) -> Vec<TaskSpec> {
    let ck = &c.o.checkpoint;
    let mut out = Vec::new();
    let mut tables: BTreeMap<u32, Vec<u32>> = BTreeMap::new();
    for t in &ck.tasks {
        let mut spec = TaskSpec { pid: t.pid.min(i32::MAX as u32) as i32, fds: BTreeMap::new(), cloexec: Vec::new() };
        if let Some(f) = t.files_id {
            tables.entry(f).or_default().push(t.pid);
        }
        for (loc, fd) in ck.task_fds(t) {
            let n = fd.fd.min(i32::MAX as u32) as i32;
            match c.by_id.get(&fd.id) {
                Some(&i) => {
                    spec.fds.insert(n, c.sockets[i].name.clone());
                    if c.o.fd_flags(loc).unwrap_or(0) & 1 != 0 {
                        spec.cloexec.push(n);
                    }
                }
                None => {
                    let what = ck
                        .others
                        .iter()
                        .find(|f| f.id == fd.id)
                        .map_or(format!("file id {} ({})", fd.id, pb::fd_type_name(fd.ty).unwrap_or("?")), |f| {
                            format!("{} {}", pb::fd_type_name(f.ty).unwrap_or("?"), f.path.as_deref().unwrap_or(""))
                        });
                    c.notes.push(Note {
                        code: NoteCode::NonSocketFile,
                        socket: None,
                        message: format!("task {} fd {}: {} is not a socket: not restored", t.pid, fd.fd, what.trim()),
                    });
                }
            }
        }
        out.push(spec);
    }
    for (f, pids) in tables {
        if pids.len() > 1 {
            c.notes.push(Note {
                code: NoteCode::SharedFdTable,
                socket: None,
                message: format!("tasks {pids:?} share fd table {f}: each gets its own copy"),
            });
        }
    }
    out
}
