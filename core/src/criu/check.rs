//! Joining the images into tasks (pstree + ids-PID + core-PID + fdinfo-N) and the checks
//! across images: every reference (fd → file id, peer → inode, queue → socket, SCM_RIGHTS
//! → file) resolves, ids are unique, pending clients name listeners, and the images a task
//! needs exist. Each diagnostic names the file, the entry, the field path and its bytes.

use super::load::at;
use super::*;
use crate::diag::Code;
use std::collections::BTreeSet;

/// `USK_EXTERN`: CRIU's mark on a socket whose peer is outside the dump (or the fake entry of
/// that outside peer).
pub const USK_EXTERN: u32 = 1;
/// `TCP_ESTABLISHED`.
pub const ESTABLISHED: u32 = 1;
/// `TCP_CLOSE`.
pub const CLOSE: u32 = 7;
/// `TCP_LISTEN`.
pub const LISTEN: u32 = 10;
/// `SOCK_STREAM`, `SOCK_DGRAM`, `SOCK_SEQPACKET`.
pub const STREAM: u32 = 1;
pub const DGRAM: u32 = 2;
pub const SEQPACKET: u32 = 5;
/// `SCM_RIGHTS`.
pub const SCM_RIGHTS: u32 = 1;

/// A diagnostic about field `path` of the entry at `loc` (its bytes, or the entry's when the
/// field is absent).
pub(crate) fn on_field(files: &[OpenedFile], code: Code, loc: Loc, path: &str, msg: String) -> Diagnostic {
    let Some(f) = files.get(loc.file()) else {
        return Diagnostic::new(code, 0..0, msg).field(path);
    };
    let range = f
        .fields(loc.entry())
        .into_iter()
        .find(|x| x.path == path)
        .map(|x| x.range)
        .or_else(|| f.entry(loc.entry()).map(|e| e.range))
        .unwrap_or(0..0);
    at(code, &f.name, Some(loc.entry()), range, msg).field(path)
}

/// Join and check (called by [`super::open`]).
pub fn check(o: &mut Opened) {
    let mut d = Vec::new();
    join_tasks(o, &mut d);
    check_ids(o, &mut d);
    // The peers are checked before the fds so that their index and the file ids' are not
    // held at once; their diagnostics still come after the fds'.
    let mut peers = Vec::new();
    check_peers(o, &mut peers);
    let ids = file_ids(&o.checkpoint);
    check_fds(o, &ids, &mut d);
    d.extend(peers);
    check_queues(o, &ids, &mut d);
    drop(ids);
    check_tcp(o, &mut d);
    o.diagnostics.extend(d);
}

fn missing(name: &str, msg: String) -> Diagnostic {
    at(Code::CriuMissingImage, name, None, 0..0, msg)
}

/// The positions `0..n` of a sequence sorted by `(key(position), position)`: lookups by binary
/// search, the first (or last) of equal keys in input order. The checks' maps: 4 bytes an entry
/// (a checkpoint has one entry per socket or fd), the keys read from the model through `key`
/// rather than copied, no per-node allocation.
struct Index<F: Fn(usize) -> u32> {
    pos: Vec<u32>,
    key: F,
}

impl<F: Fn(usize) -> u32> Index<F> {
    fn new(n: usize, key: F) -> Self {
        let mut pos: Vec<u32> = Vec::with_capacity(n);
        pos.extend((0..n).map(|i| u32::try_from(i).unwrap_or(u32::MAX)));
        // Unstable sort of distinct pairs: the same order as a stable one, without its buffer.
        pos.sort_unstable_by_key(|&p| (key(p as usize), p));
        Index { pos, key }
    }
    fn key_of(&self, p: u32) -> u32 {
        (self.key)(p as usize)
    }
    /// The positions with key `k`, in input order.
    fn equal(&self, k: u32) -> &[u32] {
        let lo = self.pos.partition_point(|&p| self.key_of(p) < k);
        // Keys are mostly unique: the run of equal ones is scanned, not searched.
        let rest = self.pos.get(lo..).unwrap_or(&[]);
        let n = rest.iter().take_while(|&&p| self.key_of(p) == k).count();
        rest.get(..n).unwrap_or(&[])
    }
    /// The positions (in input order) of every key seen before at a smaller position, with the
    /// position of its first occurrence: `(later, first)`, sorted by `later`.
    fn repeats(&self) -> Vec<(u32, u32)> {
        let mut out = Vec::new();
        for run in self.pos.chunk_by(|&a, &b| self.key_of(a) == self.key_of(b)) {
            if let Some((&first, rest)) = run.split_first() {
                out.extend(rest.iter().map(|&i| (i, first)));
            }
        }
        out.sort_unstable();
        out
    }
}

fn join_tasks(o: &mut Opened, d: &mut Vec<Diagnostic>) {
    let has_files = o.files.iter().any(|f| f.decoded);
    if !has_files {
        return;
    }
    for img in ["inventory.img", "pstree.img"] {
        if !has_file(&o.files, img) {
            d.push(missing(img, format!("{img} is missing: a CRIU checkpoint directory has one")));
        }
    }
    join_task_ids(&o.files, &mut o.checkpoint, d);
    duplicate_fds(&o.files, &o.checkpoint, d);
}

/// Whether the checkpoint has the file `name` (the files are in name order: open sorts them).
fn has_file(files: &[OpenedFile], name: &str) -> bool {
    files.binary_search_by(|f| f.name.as_str().cmp(name)).is_ok()
}

/// Each task of pstree joined with its ids (ids-PID.img, or core-PID.img before CRIU 2.x) and
/// its core's comm, each pid once, its fd table's file present.
fn join_task_ids(files: &[OpenedFile], ck: &mut Checkpoint, d: &mut Vec<Diagnostic>) {
    // The first ids-PID / core-PID entry of each pid.
    let (ids, cores) = (&ck.ids, &ck.cores);
    let ids_of = Index::new(ids.len(), |i| ids.get(i).map_or(u32::MAX, |x| x.0));
    let cores_of = Index::new(cores.len(), |i| cores.get(i).map_or(u32::MAX, |x| x.0));
    let mut seen = BTreeSet::new();
    for t in &mut ck.tasks {
        if !seen.insert(t.pid) {
            d.push(on_field(
                files,
                Code::CriuDuplicateId,
                t.at,
                "pid",
                format!("pid {} appears twice in pstree", t.pid),
            ));
        }
        let core = cores_of.equal(t.pid).first().and_then(|&i| cores.get(i as usize)).map(|(_, c, _)| c);
        match ids_of.equal(t.pid).first().and_then(|&i| ids.get(i as usize)) {
            Some((_, ids, _)) => {
                t.files_id = Some(ids.files_id);
                t.net_ns_id = ids.net_ns_id;
            }
            None => {
                // CRIU before 2.x kept the ids in core-PID.img.
                match core.and_then(|c| c.ids.as_ref()) {
                    Some(ids) => {
                        t.files_id = Some(ids.files_id);
                        t.net_ns_id = ids.net_ns_id;
                    }
                    None => d.push(on_field(
                        files,
                        Code::CriuMissingImage,
                        t.at,
                        "pid",
                        format!("task {} has no ids-{}.img: its fd table (files_id) is unknown", t.pid, t.pid),
                    )),
                }
            }
        }
        t.comm = core.and_then(|c| c.tc.as_ref()).map(|tc| tc.comm.clone());
        if let Some(fid) = t.files_id {
            let name = format!("fdinfo-{fid}.img");
            if !has_file(files, &name) {
                d.push(on_field(
                    files,
                    Code::CriuMissingImage,
                    t.at,
                    "pid",
                    format!("task {} has files_id {fid} but there is no {name}", t.pid),
                ));
            }
        }
    }
}

/// fd numbers are unique within one table (the tables of one files_id are one table): each
/// repeat, in file order.
fn duplicate_fds(files: &[OpenedFile], ck: &Checkpoint, d: &mut Vec<Diagnostic>) {
    let mut dups: Vec<(Loc, Diagnostic)> = Vec::new();
    let mut done = BTreeSet::new();
    for (k, tb) in ck.fd_tables.iter().enumerate() {
        if !done.insert(tb.files_id) {
            continue;
        }
        let group: Vec<&FdTable> = ck.fd_tables.iter().skip(k).filter(|t| t.files_id == tb.files_id).collect();
        let fds = || group.iter().flat_map(|t| t.fds.iter().enumerate().map(move |(j, fd)| (t.loc(j), fd.fd)));
        // Position p of the group's fds: table by table.
        let fd_at = |mut p: usize| {
            for t in &group {
                match t.fds.get(p) {
                    Some(fd) => return fd.fd,
                    None => p -= t.fds.len(),
                }
            }
            u32::MAX
        };
        let index = Index::new(group.iter().map(|t| t.fds.len()).sum(), fd_at);
        for (later, _) in index.repeats() {
            let Some((at, fd)) = fds().nth(later as usize) else { continue };
            let fid = tb.files_id;
            let msg = format!("fd {fd} appears twice in fdinfo-{fid}.img");
            dups.push((at, on_field(files, Code::CriuDuplicateId, at, "fd", msg)));
        }
    }
    dups.sort_by_key(|(at, _)| *at);
    d.extend(dups.into_iter().map(|(_, x)| x));
}

/// Every file id the checkpoint defines, sorted, with its position in the order unix sockets,
/// inet sockets, other files: an id's type is its first definition's.
struct FileIds<F: Fn(usize) -> u32>(Index<F>);

/// The file id at position `i` of the order unix sockets, inet sockets, other files.
fn file_id(ck: &Checkpoint, i: usize) -> u32 {
    match ck.unix.get(i) {
        Some(s) => s.id,
        None => {
            let i = i - ck.unix.len();
            match ck.inet.get(i) {
                Some(s) => s.id,
                None => ck.others.get(i - ck.inet.len()).map_or(u32::MAX, |f| f.id),
            }
        }
    }
}

fn file_ids(ck: &Checkpoint) -> FileIds<impl Fn(usize) -> u32 + '_> {
    let n = ck.unix.len() + ck.inet.len() + ck.others.len();
    FileIds(Index::new(n, move |i| file_id(ck, i)))
}

impl<F: Fn(usize) -> u32> FileIds<F> {
    /// The fd type of file id `id`, if one is defined.
    fn get(&self, ck: &Checkpoint, id: u32) -> Option<i32> {
        let &first = self.0.equal(id).first()?;
        let (u, n) = (ck.unix.len(), ck.inet.len());
        let i = first as usize;
        Some(if i < u {
            pb::FdTypes::Unixsk as i32
        } else if i < u + n {
            pb::FdTypes::Inetsk as i32
        } else {
            ck.others.get(i - u - n)?.ty
        })
    }
}

fn check_ids(o: &Opened, d: &mut Vec<Diagnostic>) {
    let ck = &o.checkpoint;
    // File ids, in the order unix sockets, inet sockets, other files.
    let n = ck.unix.len() + ck.inet.len() + ck.others.len();
    let index = Index::new(n, |i| file_id(ck, i));
    for (later, first) in index.repeats() {
        let (Some((id, at)), Some((_, first))) = (file_at(ck, later as usize), file_at(ck, first as usize)) else {
            continue;
        };
        let first_name = o.files.get(first.file()).map_or("", |f| f.name.as_str());
        d.push(on_field(
            &o.files,
            Code::CriuDuplicateId,
            at,
            "id",
            format!("file id {id} is defined twice (first at {first_name} entry {})", first.entry),
        ));
    }
    // (The first index is freed first: a shadowed one would live on beside it.)
    drop(index);
    let unix = &ck.unix;
    let index = Index::new(unix.len(), |i| unix.get(i).map_or(u32::MAX, |s| s.ino));
    for (later, _) in index.repeats() {
        let Some(s) = ck.unix.get(later as usize) else { continue };
        d.push(on_field(
            &o.files,
            Code::CriuDuplicateId,
            s.at,
            &format!("{}ino", o.unix_prefix(s)),
            format!("socket inode {} is used by two entries", s.ino),
        ));
    }
}

/// The file id and location at position `i` of the order unix sockets, inet sockets, other
/// files.
fn file_at(ck: &Checkpoint, i: usize) -> Option<(u32, Loc)> {
    let (u, n) = (ck.unix.len(), ck.inet.len());
    if i < u {
        ck.unix.get(i).map(|s| (s.id, s.at))
    } else if i < u + n {
        ck.inet.get(i - u).map(|s| (s.id, s.at))
    } else {
        ck.others.get(i - u - n).map(|f| (f.id, f.at))
    }
}

fn check_fds(o: &Opened, ids: &FileIds<impl Fn(usize) -> u32>, d: &mut Vec<Diagnostic>) {
    // Before files.img (CRIU < 3.4) every kind of file had its own image; resocket reads only
    // the socket, regular-file and pipe ones, so only those fds can be checked there.
    let files_img = o.files.iter().any(|f| f.kind == ImageKind::Files);
    let read_kinds = [pb::FdTypes::Unixsk, pb::FdTypes::Inetsk, pb::FdTypes::Reg, pb::FdTypes::Pipe].map(|t| t as i32);
    for (fid, at, fd) in o.checkpoint.all_fds() {
        if !files_img && !read_kinds.contains(&fd.ty) {
            continue;
        }
        // A controlling terminal's fd names its tty file, an autofs pipe's fd its pipe.
        let alias = match fd.ty {
            t if t == pb::FdTypes::CtlTty as i32 => Some(pb::FdTypes::Tty as i32),
            t if t == pb::FdTypes::AutofsPipe as i32 => Some(pb::FdTypes::Pipe as i32),
            _ => None,
        };
        match ids.get(&o.checkpoint, fd.id) {
            Some(ty) if Some(ty) == alias => {}
            None => d.push(on_field(
                &o.files,
                Code::CriuFdDangling,
                at,
                "id",
                format!("fd {} of fdinfo-{fid}.img names file id {}, which no image defines", fd.fd, fd.id),
            )),
            Some(ty) if ty != fd.ty => d.push(on_field(
                &o.files,
                Code::CriuFdTypeMismatch,
                at,
                "type",
                format!(
                    "fd {} is of type {} but file id {} is {}",
                    fd.fd,
                    pb::fd_type_name(fd.ty).unwrap_or("?"),
                    fd.id,
                    pb::fd_type_name(ty).unwrap_or("?")
                ),
            )),
            Some(_) => {}
        }
    }
}

fn check_peers(o: &Opened, d: &mut Vec<Diagnostic>) {
    let ck = &o.checkpoint;
    // By inode; of two entries with one inode (a criu-duplicate-id error) the last one.
    let unix = &ck.unix;
    let by_ino = Index::new(unix.len(), |i| unix.get(i).map_or(u32::MAX, |s| s.ino));
    for s in &ck.unix {
        let p = |f: &str| format!("{}{f}", o.unix_prefix(s));
        let external = s.external;
        if s.peer != 0 {
            let Some(peer) = by_ino.equal(s.peer).last().and_then(|&i| unix.get(i as usize)) else {
                if !external {
                    d.push(on_field(
                        &o.files,
                        Code::CriuPeerMissing,
                        s.at,
                        &p("peer"),
                        format!(
                            "socket ino {} names peer ino {}, which is neither in the image nor marked external",
                            s.ino, s.peer
                        ),
                    ));
                }
                continue;
            };
            // A stream/seqpacket socket whose peer does not name it back is a pending client:
            // its peer must listen.
            let connected = s.state == ESTABLISHED && s.ty != DGRAM;
            let wrong = if connected && peer.peer != s.ino && peer.peer != 0 {
                Some(format!(
                    "socket ino {} names ino {} as peer, which is connected to ino {} instead",
                    s.ino, s.peer, peer.peer
                ))
            } else if connected && peer.peer == 0 && peer.state != LISTEN {
                Some(format!(
                    "socket ino {} is a pending client of ino {}, which is not listening (state {})",
                    s.ino, s.peer, peer.state
                ))
            } else {
                None
            };
            if let Some(message) = wrong {
                d.push(on_field(&o.files, Code::CriuPendingNotListening, s.at, &p("peer"), message));
            }
        } else if s.state == ESTABLISHED && s.ty != DGRAM && !external && !s.shut_both {
            d.push(on_field(
                &o.files,
                Code::CriuDanglingConnection,
                s.at,
                &p("shutdown"),
                format!("socket ino {} is ESTABLISHED without a peer and not shut down BOTH", s.ino),
            ));
        }
    }
}

fn check_queues(o: &Opened, ids: &FileIds<impl Fn(usize) -> u32>, d: &mut Vec<Diagnostic>) {
    let ck = &o.checkpoint;
    if ck.packets.is_empty() {
        return;
    }
    let socks: BTreeSet<u32> = ck.unix.iter().map(|s| s.id).collect();
    for p in &ck.packets {
        if !socks.contains(&p.pkt.id_for) {
            d.push(on_field(
                &o.files,
                Code::CriuQueueUnknownSocket,
                p.at,
                "id_for",
                format!("packet queued for socket id {}, which is not a unix socket of the image", p.pkt.id_for),
            ));
        }
        if p.pkt.scm.len() > 1 {
            d.push(on_field(
                &o.files,
                Code::CriuBadScm,
                p.at,
                "scm[1]",
                "a packet has more than one control message".into(),
            ));
        }
        for (k, scm) in p.pkt.scm.iter().enumerate() {
            if scm.r#type != SCM_RIGHTS {
                d.push(on_field(
                    &o.files,
                    Code::CriuBadScm,
                    p.at,
                    &format!("scm[{k}].type"),
                    format!("control message type {} is not SCM_RIGHTS (1)", scm.r#type),
                ));
                continue;
            }
            if scm.rights.is_empty() || scm.rights.len() > 253 {
                d.push(on_field(
                    &o.files,
                    Code::CriuBadScm,
                    p.at,
                    &format!("scm[{k}].type"),
                    format!("SCM_RIGHTS with {} files (1..=253)", scm.rights.len()),
                ));
            }
            for (j, r) in scm.rights.iter().enumerate() {
                if ids.get(ck, *r).is_none() {
                    d.push(on_field(
                        &o.files,
                        Code::CriuScmUnknownFile,
                        p.at,
                        &format!("scm[{k}].rights[{j}]"),
                        format!("SCM_RIGHTS names file id {r}, which no image defines"),
                    ));
                }
            }
        }
    }
}

fn check_tcp(o: &Opened, d: &mut Vec<Diagnostic>) {
    let ck = &o.checkpoint;
    if ck.inventory.as_ref().and_then(|i| i.tcp_close) == Some(true) {
        return;
    }
    let streams: BTreeSet<u32> = ck.tcp_streams.iter().map(|t| t.ino).collect();
    for s in &ck.inet {
        if s.sk.proto == 6 && s.sk.state == ESTABLISHED && !streams.contains(&s.sk.ino) {
            d.push(on_field(
                &o.files,
                Code::CriuTcpStreamMissing,
                s.at,
                &format!("{}ino", s.prefix),
                format!("established TCP socket ino {} has no tcp-stream-{:x}.img", s.sk.ino, s.sk.ino),
            ));
        }
    }
}
