//! From an image back to a scenario ([`from_image`]), with every difference noted.

use crate::image::{inet, Image, Sock, UnixAddr, UnixPart};
use crate::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec, DEFAULT_BUF};
use crate::sim::{How, SockType};
use crate::sock::Family;
use crate::wire::*;
use crate::{bstr, diff};
use std::collections::{BTreeMap, BTreeSet};

/// A scenario read back from an image, with everything the scenario form could not say.
#[derive(Debug, Clone, PartialEq)]
pub struct Imported {
    /// The scenario.
    pub scenario: Scenario,
    /// What differs between the image and the scenario's image (empty: the scenario writes
    /// the image back byte for byte).
    pub notes: Vec<String>,
    /// The objref in the image of each of the scenario's sockets (in `scenario.sockets` order).
    pub objrefs: Vec<i32>,
}

/// Notes listed at most (the rest are counted).
const MAX_NOTES: usize = 24;

fn payload(data: &[u8]) -> MsgSpec {
    let mut m = MsgSpec::default();
    if data.len() >= 64 && data.iter().all(|&b| b == b'x') {
        m.repeat = Some(data.len() as u32);
    } else if bstr::looks_textual(data) {
        m.data = Some(bstr::escape(data));
    } else if !data.is_empty() {
        m.hex = Some(bstr::hex(data));
    }
    m
}

/// Read an image back into a scenario (see the module documentation).
pub fn from_image(bytes: &[u8]) -> Imported {
    let report = crate::load(bytes);
    let img = &report.image;
    let mut notes = Vec::new();
    if !report.is_valid() {
        notes.push(format!(
            "the image has {} error(s): the scenario holds what could be read, as the model understood it",
            report.error_count()
        ));
    }
    let (scenario, objrefs) = Reader::new(img, &mut notes).scenario();
    match scenario.to_image() {
        Err(e) => notes.push(format!("the scenario cannot be written: {e}")),
        Ok(again) if again != bytes => {
            let back = crate::load(&again);
            let lines = diff::diff(img, &back.image, b"", b"");
            if lines.is_empty() {
                notes.push(format!(
                    "the rewritten image says the same about every socket but is not byte-identical ({} bytes, was {}): record order, objrefs or fields the scenario does not set",
                    again.len(),
                    bytes.len()
                ));
            }
            notes.extend(lines.into_iter().map(|l| format!("differs when written back: {l}")));
        }
        Ok(_) => {}
    }
    if notes.len() > MAX_NOTES {
        let more = notes.len() - MAX_NOTES;
        notes.truncate(MAX_NOTES);
        notes.push(format!("… and {more} more"));
    }
    Imported { scenario, notes, objrefs }
}

struct Reader<'i, 'a, 'n> {
    img: &'i Image<'a>,
    notes: &'n mut Vec<String>,
    names: BTreeMap<i32, String>,
    embryos: BTreeSet<i32>,
    inet_peers: BTreeMap<i32, i32>,
    /// Sockets whose open file has `O_NONBLOCK`.
    nonblock: BTreeSet<i32>,
}

impl<'i, 'a, 'n> Reader<'i, 'a, 'n> {
    fn new(img: &'i Image<'a>, notes: &'n mut Vec<String>) -> Self {
        let embryos = img.embryos();
        let inet_peers = inet::peers(img);
        let nonblock = img
            .files
            .iter()
            .filter(|(_, f)| f.repr.f_flags & crate::wire::O_NONBLOCK != 0)
            .map(|(_, f)| f.repr.sock_objref)
            .collect();
        Reader { img, notes, names: BTreeMap::new(), embryos, inet_peers, nonblock }
    }

    fn note(&mut self, n: String) {
        self.notes.push(n);
    }

    fn name(&self, objref: i32) -> Option<String> {
        self.names.get(&objref).cloned()
    }

    fn peer(&self, s: &Sock<'_>) -> i32 {
        if s.common.family == AF_UNIX {
            s.peer()
        } else {
            self.inet_peers.get(&s.objref).copied().unwrap_or(0)
        }
    }

    fn sock_of_file(&self, file: i32) -> Option<i32> {
        self.img.files.get(&file).map(|f| f.repr.sock_objref)
    }

    /// The scenario, and the objref each of its sockets was read from.
    fn scenario(mut self) -> (Scenario, Vec<i32>) {
        let img = self.img;
        let mut sc = Scenario {
            kernel: img.header.uts.first().map(|r| String::from_utf8_lossy(r).into_owned()).unwrap_or_default(),
            time: img.header.repr.time,
            ..Default::default()
        };
        // Socket order: as the processes hold them, then the rest by objref.
        let mut order: Vec<i32> = Vec::new();
        let mut seen = BTreeSet::new();
        for t in &img.tables {
            for fd in &t.fds {
                if let Some(o) = self.sock_of_file(fd.file) {
                    if img.sockets.get(&o).is_some() && !self.embryos.contains(&o) && seen.insert(o) {
                        order.push(o);
                    }
                }
            }
        }
        let held = order.len();
        for s in img.sockets.values() {
            if !self.embryos.contains(&s.objref) && seen.insert(s.objref) {
                order.push(s.objref);
            }
        }
        let mut kept = Vec::new();
        for &o in &order {
            let s = img.sockets.get(&o).expect("from the image");
            match (Family::from_raw(s.common.family), SockType::from_raw(s.common.sock_type)) {
                (Some(_), Some(_)) => {
                    self.names.insert(o, format!("s{o}"));
                    kept.push(o);
                }
                _ => self.note(format!(
                    "socket #{o}: family {} type {} cannot be written in a scenario; left out",
                    s.common.family, s.common.sock_type
                )),
            }
        }
        // Processes: the default (one process, pid 1000, fds 3, 4, 5… in order) when it fits.
        let default_tasks = img.tables.len() == 1 && {
            let t = &img.tables[0];
            t.pid == Some(1000)
                && t.fds.len() == held
                && t.fds.iter().enumerate().all(|(k, fd)| {
                    fd.fd == 3 + k as i32 && !fd.cloexec && self.sock_of_file(fd.file) == order.get(k).copied()
                })
                && kept.len() == order.len()
        };
        if !default_tasks {
            for t in &img.tables {
                let mut spec = TaskSpec { pid: t.pid.unwrap_or(0), fds: BTreeMap::new(), cloexec: Vec::new() };
                if t.pid.is_none() {
                    self.note(format!("file table #{}: no process owns it; written as pid 0", t.objref));
                }
                for fd in &t.fds {
                    let Some(n) = self.sock_of_file(fd.file).and_then(|o| self.name(o)) else {
                        self.note(format!("pid {}: fd {} names no socket of the scenario; left out", spec.pid, fd.fd));
                        continue;
                    };
                    spec.fds.insert(fd.fd, n);
                    if fd.cloexec {
                        spec.cloexec.push(fd.fd);
                    }
                }
                sc.tasks.push(spec);
            }
        }
        let mut file_socks: Vec<i32> = img.files.values().map(|f| f.repr.sock_objref).collect();
        crate::order::sort_by_rank(&mut file_socks, |&o| crate::order::rank_i32(o));
        for run in file_socks.chunk_by(|a, b| a == b).filter(|r| r.len() > 1) {
            self.note(format!("socket #{} has {} open files; the scenario gives each socket one", run[0], run.len()));
        }
        for (k, &o) in kept.iter().enumerate() {
            let s = img.sockets.get(&o).expect("from the image");
            let mut spec = self.sock(s);
            spec.no_fd = default_tasks && k >= held;
            sc.sockets.push(spec);
        }
        if !img.unknown.is_empty() {
            self.note(format!("{} record(s) of unknown types are not part of a scenario", img.unknown.len()));
        }
        (sc, kept)
    }

    fn accepted_listener(&self, s: &Sock<'_>) -> Option<i32> {
        let listens = |l: &&Sock<'_>| {
            l.is_listener() && l.common.family == s.common.family && l.common.sock_type == s.common.sock_type
        };
        if let Some(u) = &s.unix {
            return self.img.sockets.values().filter(listens).find(|l| l.laddr() == Some(&u.laddr)).map(|l| l.objref);
        }
        let local = s.inet_local()?;
        self.img
            .sockets
            .values()
            .filter(listens)
            .find(|l| {
                l.inet_local().is_some_and(|a| {
                    a.port() == local.port()
                        && (a.ip().is_unspecified() || inet::canonical(a) == inet::canonical(local))
                })
            })
            .map(|l| l.objref)
    }

    fn sock(&mut self, s: &Sock<'_>) -> SockSpec {
        let o = s.objref;
        let me = self.names[&o].clone();
        let mut spec = SockSpec {
            name: me.clone(),
            family: Family::from_raw(s.common.family).unwrap_or_default(),
            ty: SockType::from_raw(s.common.sock_type).unwrap_or_default(),
            ..Default::default()
        };
        let unix = s.common.family == AF_UNIX;
        let accepted =
            if unix { s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED)) } else { s.inet_has(INET_ACCEPTED) };
        let listener = if accepted { self.accepted_listener(s) } else { None };
        if accepted && listener.is_none() {
            self.note(format!("{me}: accepted from a listener that is not in the image; kept as a plain socket"));
        }
        spec.accepted_from = listener.and_then(|l| self.name(l));
        if let Some(u) = &s.unix {
            self.unix_fields(&mut spec, u);
        } else if unix {
            self.note(format!("{me}: no SOCKET_UNIX record; written as an unnamed socket"));
        }
        if let Some(i) = &s.inet {
            spec.addr = s.inet_local().map(inet::display);
            spec.reuseaddr = s.common.reuse != 0;
            spec.reuseport = i.rs_flags & INET_REUSEPORT != 0;
            spec.v6only = i.rs_flags & INET_V6ONLY != 0;
        }
        if s.is_listener() {
            spec.listen = Some(s.common.backlog);
        }
        let p = self.peer_fields(&mut spec, s, accepted);
        // A closing peer shuts a stream/seqpacket survivor down both ways, a dgram one never.
        if !spec.peer_gone || !s.is_connection_oriented() {
            spec.shutdown = How::from_bits(s.common.shutdown);
        } else if s.common.shutdown & 3 != 3 {
            self.note(format!("{me}: its peer is gone but shutdown is {}; written as rdwr", s.common.shutdown));
        }
        let (snd, rcv) = (2 * s.common.sndbuf, 2 * s.common.rcvbuf);
        spec.sndbuf = (snd != DEFAULT_BUF).then_some(snd);
        spec.rcvbuf = (rcv != DEFAULT_BUF).then_some(rcv);
        spec.sndbuf_lock = s.common.userlocks & 1 != 0;
        spec.rcvbuf_lock = s.common.userlocks & 2 != 0;
        spec.nonblock = self.nonblock.contains(&o);
        spec.passcred = s.common.socket_flags & crate::wire::SOCK_PASSCRED != 0;
        spec.opts = s.opts.as_ref().map(|o| o.opts.clone()).unwrap_or_default();
        let default_sender = if p != 0 { Some(p) } else { None };
        spec.queue = s.queue.iter().map(|m| self.msg(&me, m, default_sender)).collect();
        if let Some(m) = s.oob.and_then(|o| spec.queue.get_mut(o.index as usize)) {
            m.oob = true;
        }
        spec.pending = self.pending(s, &me);
        spec
    }

    /// What an AF_UNIX socket's SOCKET_UNIX record `u` says: its name (an accepted end's is
    /// its listener's: not written), cwd, autobind, a peer gone or outside.
    fn unix_fields(&mut self, spec: &mut SockSpec, u: &UnixPart) {
        if spec.accepted_from.is_none() {
            spec.addr = u.laddr.spelling();
            spec.unlinked = matches!(u.laddr, UnixAddr::Path(_)) && !u.has(UNIX_LINKED);
        }
        if let Some(cwd) = &u.cwd {
            match String::from_utf8(cwd.to_vec()) {
                Ok(c) => spec.cwd = Some(c),
                Err(_) => self.note(format!("{}: its cwd is not UTF-8; left out", spec.name)),
            }
        }
        spec.autobind = u.has(UNIX_AUTOBIND);
        spec.peer_gone = u.has(UNIX_PEER_GONE);
        spec.external_peer = u.has(UNIX_EXTERNAL_PEER);
        if spec.external_peer && spec.ty == crate::sim::SockType::Dgram && u.raddr != UnixAddr::Unnamed {
            // The outside peer's name (raddr), which the restore connects to again.
            spec.remote = u.raddr.spelling();
        }
    }

    /// Socket `s`'s peer in the scenario (`accepted`: it came from accept()): a socketpair's
    /// other end, a peer, or (INET) an external peer at its remote address. Its peer's objref
    /// (0: none).
    fn peer_fields(&mut self, spec: &mut SockSpec, s: &Sock<'_>, accepted: bool) -> i32 {
        let unix = s.common.family == AF_UNIX;
        let p = self.peer(s);
        if p != 0 && !self.embryos.contains(&p) {
            match (self.name(p), self.img.sockets.get(&p)) {
                (Some(pn), Some(ps)) => {
                    let mutual = self.peer(ps) == s.objref;
                    let pair = if s.is_connection_oriented() {
                        mutual && !accepted && !self.is_accepted(ps)
                    } else {
                        mutual && s.common.socket_state == SS_CONNECTED
                    };
                    if pair && unix {
                        spec.pair = Some(pn);
                    } else {
                        spec.peer = Some(pn);
                    }
                }
                _ => self.note(format!("{}: its peer #{p} is not a socket of the scenario", spec.name)),
            }
        } else if p == 0 && !unix && s.inet_connected() {
            spec.external_peer = true;
            spec.remote = s.inet_remote().map(inet::display);
        }
        p
    }

    /// A listener's pending connections: each client and what it sent before accept() (the
    /// embryo's queue).
    fn pending(&mut self, s: &Sock<'_>, me: &str) -> Vec<PendingSpec> {
        let mut out = Vec::new();
        for pc in &s.pending {
            let client = if pc.client == 0 { None } else { self.name(pc.client) };
            if pc.client != 0 && client.is_none() {
                self.note(format!("{me}: pending client #{} is not a socket of the scenario", pc.client));
            }
            let sent = match self.img.sockets.get(&pc.embryo) {
                Some(e) => {
                    let from = (pc.client != 0).then_some(pc.client);
                    let mut sent: Vec<MsgSpec> = e.queue.iter().map(|m| self.msg(me, m, from)).collect();
                    if let Some(m) = e.oob.and_then(|o| sent.get_mut(o.index as usize)) {
                        m.oob = true;
                    }
                    sent
                }
                None => Vec::new(),
            };
            out.push(PendingSpec { client, sent });
        }
        out
    }

    fn is_accepted(&self, s: &Sock<'_>) -> bool {
        if s.common.family == AF_UNIX {
            s.unix.as_ref().is_some_and(|u| u.has(UNIX_ACCEPTED))
        } else {
            s.inet_has(INET_ACCEPTED)
        }
    }

    fn msg(&mut self, me: &str, m: &crate::image::Message<'_>, default_sender: Option<i32>) -> MsgSpec {
        let mut spec = payload(&m.data);
        if Some(m.sender) != default_sender {
            if m.sender == 0 {
                if let Some(d) = default_sender.and_then(|d| self.name(d)) {
                    self.note(format!("{me}: a message from a closed socket is written as sent by {d}"));
                }
            } else {
                match self.name(m.sender) {
                    Some(n) => spec.from = Some(n),
                    None => {
                        self.note(format!("{me}: a message's sender #{} is not a socket of the scenario", m.sender))
                    }
                }
            }
        }
        for &f in &m.rights {
            match self.sock_of_file(f).and_then(|o| self.name(o)) {
                Some(n) => spec.rights.push(n),
                None => self.note(format!("{me}: a message carries file #{f}, not a socket of the scenario")),
            }
        }
        spec
    }
}
