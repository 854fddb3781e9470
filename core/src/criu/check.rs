//! Joining the images into tasks (pstree + ids-PID + core-PID + fdinfo-N) and the checks
//! across images: every reference (fd → file id, peer → inode, queue → socket, SCM_RIGHTS
//! → file) resolves, ids are unique, pending clients name listeners, and the images a task
//! needs exist. Each diagnostic names the file, the entry, the field path and its bytes.

use super::load::at;
use super::*;
use crate::diag::Code;
use std::collections::{BTreeMap, BTreeSet};

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
    let Some(f) = files.get(loc.file) else {
        return Diagnostic::new(code, 0..0, msg).field(path);
    };
    let range = f
        .fields(loc.entry)
        .into_iter()
        .find(|x| x.path == path)
        .map(|x| x.range)
        .or_else(|| f.entries.get(loc.entry).map(|e| e.range.clone()))
        .unwrap_or(0..0);
    at(code, &f.name, Some(loc.entry), range, msg).field(path)
}

/// Join and check (called by [`super::open`]).
pub fn check(o: &mut Opened) {
    let mut d = Vec::new();
    join_tasks(o, &mut d);
    check_ids(o, &mut d);
    check_fds(o, &mut d);
    check_peers(o, &mut d);
    check_queues(o, &mut d);
    check_tcp(o, &mut d);
    o.diagnostics.extend(d);
}

fn has(o: &Opened, name: &str) -> bool {
    o.files.iter().any(|f| f.name == name)
}

fn missing(name: &str, msg: String) -> Diagnostic {
    at(Code::CriuMissingImage, name, None, 0..0, msg)
}

fn join_tasks(o: &mut Opened, d: &mut Vec<Diagnostic>) {
    let has_files = o.files.iter().any(|f| f.decoded);
    if !has_files {
        return;
    }
    for img in ["inventory.img", "pstree.img"] {
        if !has(o, img) {
            d.push(missing(img, format!("{img} is missing: a CRIU checkpoint directory has one")));
        }
    }
    let ck = &mut o.checkpoint;
    let mut seen = BTreeSet::new();
    for t in &mut ck.tasks {
        if !seen.insert(t.pid) {
            d.push(on_field(
                &o.files,
                Code::CriuDuplicateId,
                t.at,
                "pid",
                format!("pid {} appears twice in pstree", t.pid),
            ));
        }
        match ck.ids.iter().find(|(p, _, _)| *p == t.pid) {
            Some((_, ids, _)) => {
                t.files_id = Some(ids.files_id);
                t.net_ns_id = ids.net_ns_id;
            }
            None => {
                // CRIU before 2.x kept the ids in core-PID.img.
                let core_ids = ck.cores.iter().find(|(p, _, _)| *p == t.pid).and_then(|(_, c, _)| c.ids.clone());
                match core_ids {
                    Some(ids) => {
                        t.files_id = Some(ids.files_id);
                        t.net_ns_id = ids.net_ns_id;
                    }
                    None => d.push(on_field(
                        &o.files,
                        Code::CriuMissingImage,
                        t.at,
                        "pid",
                        format!("task {} has no ids-{}.img: its fd table (files_id) is unknown", t.pid, t.pid),
                    )),
                }
            }
        }
        t.comm =
            ck.cores.iter().find(|(p, _, _)| *p == t.pid).and_then(|(_, c, _)| c.tc.as_ref()).map(|tc| tc.comm.clone());
        if let Some(fid) = t.files_id {
            let name = format!("fdinfo-{fid}.img");
            if !o.files.iter().any(|f| f.name == name) {
                d.push(on_field(
                    &o.files,
                    Code::CriuMissingImage,
                    t.at,
                    "pid",
                    format!("task {} has files_id {fid} but there is no {name}", t.pid),
                ));
            }
            t.fds = ck.fdinfo.iter().filter(|(f, _)| *f == fid).map(|(_, fd)| fd.clone()).collect();
        }
    }
    // fd numbers are unique within one table.
    let mut tables: BTreeMap<u32, BTreeSet<u32>> = BTreeMap::new();
    for (fid, fd) in &ck.fdinfo {
        if !tables.entry(*fid).or_default().insert(fd.fd) {
            d.push(on_field(
                &o.files,
                Code::CriuDuplicateId,
                fd.at,
                "fd",
                format!("fd {} appears twice in fdinfo-{fid}.img", fd.fd),
            ));
        }
    }
}

/// Every file id the checkpoint defines, with its fd type and where.
fn file_ids(ck: &Checkpoint) -> BTreeMap<u32, (i32, Loc)> {
    let mut m = BTreeMap::new();
    for s in &ck.unix {
        m.entry(s.id).or_insert((pb::FdTypes::Unixsk as i32, s.at));
    }
    for s in &ck.inet {
        m.entry(s.id).or_insert((pb::FdTypes::Inetsk as i32, s.at));
    }
    for f in &ck.others {
        m.entry(f.id).or_insert((f.ty, f.at));
    }
    m
}

fn check_ids(o: &Opened, d: &mut Vec<Diagnostic>) {
    let ck = &o.checkpoint;
    let mut ids: BTreeMap<u32, Loc> = BTreeMap::new();
    let mut dup = |id: u32, at: Loc, path: String, d: &mut Vec<Diagnostic>| {
        if let Some(first) = ids.insert(id, at) {
            let first_name = o.files.get(first.file).map_or("", |f| f.name.as_str());
            d.push(on_field(
                &o.files,
                Code::CriuDuplicateId,
                at,
                &path,
                format!("file id {id} is defined twice (first at {first_name} entry {})", first.entry),
            ));
            ids.insert(id, first);
        }
    };
    for s in &ck.unix {
        dup(s.id, s.at, "id".into(), d);
    }
    for s in &ck.inet {
        dup(s.id, s.at, "id".into(), d);
    }
    for f in &ck.others {
        dup(f.id, f.at, "id".into(), d);
    }
    let mut inos: BTreeMap<u32, Loc> = BTreeMap::new();
    for s in &ck.unix {
        if inos.insert(s.sk.ino, s.at).is_some() {
            d.push(on_field(
                &o.files,
                Code::CriuDuplicateId,
                s.at,
                &format!("{}ino", s.prefix),
                format!("socket inode {} is used by two entries", s.sk.ino),
            ));
        }
    }
}

fn check_fds(o: &Opened, d: &mut Vec<Diagnostic>) {
    let ids = file_ids(&o.checkpoint);
    // Before files.img (CRIU < 3.4) every kind of file had its own image; resocket reads only
    // the socket, regular-file and pipe ones, so only those fds can be checked there.
    let files_img = o.files.iter().any(|f| f.kind == ImageKind::Files);
    let read_kinds = [pb::FdTypes::Unixsk, pb::FdTypes::Inetsk, pb::FdTypes::Reg, pb::FdTypes::Pipe].map(|t| t as i32);
    for (fid, fd) in &o.checkpoint.fdinfo {
        if !files_img && !read_kinds.contains(&fd.ty) {
            continue;
        }
        // A controlling terminal's fd names its tty file, an autofs pipe's fd its pipe.
        let alias = match fd.ty {
            t if t == pb::FdTypes::CtlTty as i32 => Some(pb::FdTypes::Tty as i32),
            t if t == pb::FdTypes::AutofsPipe as i32 => Some(pb::FdTypes::Pipe as i32),
            _ => None,
        };
        match ids.get(&fd.id) {
            Some((ty, _)) if Some(*ty) == alias => {}
            None => d.push(on_field(
                &o.files,
                Code::CriuFdDangling,
                fd.at,
                "id",
                format!("fd {} of fdinfo-{fid}.img names file id {}, which no image defines", fd.fd, fd.id),
            )),
            Some((ty, _)) if *ty != fd.ty => d.push(on_field(
                &o.files,
                Code::CriuFdTypeMismatch,
                fd.at,
                "type",
                format!(
                    "fd {} is of type {} but file id {} is {}",
                    fd.fd,
                    pb::fd_type_name(fd.ty).unwrap_or("?"),
                    fd.id,
                    pb::fd_type_name(*ty).unwrap_or("?")
                ),
            )),
            Some(_) => {}
        }
    }
}

fn check_peers(o: &Opened, d: &mut Vec<Diagnostic>) {
    let ck = &o.checkpoint;
    let by_ino: BTreeMap<u32, &UnixSock> = ck.unix.iter().map(|s| (s.sk.ino, s)).collect();
    for s in &ck.unix {
        let sk = &s.sk;
        let p = |f: &str| format!("{}{f}", s.prefix);
        let external = sk.uflags & USK_EXTERN != 0;
        if sk.peer != 0 {
            let Some(peer) = by_ino.get(&sk.peer) else {
                if !external {
                    d.push(on_field(
                        &o.files,
                        Code::CriuPeerMissing,
                        s.at,
                        &p("peer"),
                        format!(
                            "socket ino {} names peer ino {}, which is neither in the image nor marked external",
                            sk.ino, sk.peer
                        ),
                    ));
                }
                continue;
            };
            // A stream/seqpacket socket whose peer does not name it back is a pending client:
            // its peer must listen.
            let connected = sk.state == ESTABLISHED && sk.r#type != DGRAM;
            if connected && peer.sk.peer != sk.ino && peer.sk.peer != 0 {
                d.push(on_field(
                    &o.files,
                    Code::CriuPendingNotListening,
                    s.at,
                    &p("peer"),
                    format!(
                        "socket ino {} names ino {} as peer, which is connected to ino {} instead",
                        sk.ino, sk.peer, peer.sk.peer
                    ),
                ));
            } else if connected && peer.sk.peer == 0 && peer.sk.state != LISTEN {
                d.push(on_field(
                    &o.files,
                    Code::CriuPendingNotListening,
                    s.at,
                    &p("peer"),
                    format!(
                        "socket ino {} is a pending client of ino {}, which is not listening (state {})",
                        sk.ino, sk.peer, peer.sk.state
                    ),
                ));
            }
        } else if sk.state == ESTABLISHED && sk.r#type != DGRAM && !external && sk.shutdown != Some(3) {
            d.push(on_field(
                &o.files,
                Code::CriuDanglingConnection,
                s.at,
                &p("shutdown"),
                format!("socket ino {} is ESTABLISHED without a peer and not shut down BOTH", sk.ino),
            ));
        }
    }
}

fn check_queues(o: &Opened, d: &mut Vec<Diagnostic>) {
    let ck = &o.checkpoint;
    let socks: BTreeSet<u32> = ck.unix.iter().map(|s| s.id).collect();
    let ids = file_ids(ck);
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
                if !ids.contains_key(r) {
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
    for s in &ck.inet {
        if s.sk.proto == 6 && s.sk.state == ESTABLISHED && !ck.tcp_streams.iter().any(|t| t.ino == s.sk.ino) {
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
