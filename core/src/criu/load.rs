//! [`open`]: frame and decode every image file, build the [`Checkpoint`], then check it
//! across images (`super::check`). Each file is read on its own first: leading magics,
//! entries (sizes and extras checked against the bytes that remain), the wire walk of each
//! payload (field ranges, unknown and missing fields), and the prost decode of the images
//! resocket models. A file stops being read at its first framing or protobuf error.

use super::frame::{Entries, FrameError, Head};
use super::walk;
use super::*;
use crate::diag::Code;
use prost::Message;

/// Open a checkpoint from its image files (any order; they are kept in name order).
pub fn open(files: Vec<ImageFile>) -> Opened {
    open_observed(files, &mut |_| {})
}

/// How far [`open_observed`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reading {
    /// `done` of `total` image files framed and decoded.
    Images { done: usize, total: usize },
    /// All read; the checks across images run.
    Checking,
}

/// [`open`], telling `progress` after each image file and before the checks across images.
pub fn open_observed(mut files: Vec<ImageFile>, progress: &mut dyn FnMut(Reading)) -> Opened {
    files.sort_by(|a, b| a.name.cmp(&b.name));
    let total = files.len();
    let mut o = Opened { checkpoint: Checkpoint::default(), diagnostics: Vec::new(), files: Vec::with_capacity(total) };
    for (i, f) in files.into_iter().enumerate() {
        let file = read_file(f, i, &mut o.checkpoint, &mut o.diagnostics);
        o.files.push(file);
        progress(Reading::Images { done: i + 1, total });
    }
    // The sockets were given room for every entry of their image; other files.img entries
    // leave some unused.
    o.checkpoint.unix.shrink_to_fit();
    progress(Reading::Checking);
    super::check::check(&mut o);
    o
}

/// A diagnostic located in a file.
pub(crate) fn at(code: Code, file: &str, entry: Option<usize>, range: Range<usize>, msg: String) -> Diagnostic {
    let d = Diagnostic::new(code, range, msg).file(file);
    match entry {
        Some(e) => d.record(e),
        None => d,
    }
}

/// An entry starting past 4 GiB, where resocket stops framing a file (entry offsets are kept
/// as `u32`s).
fn past_4g(file: &str, entry: usize, offset: usize, len: usize) -> Diagnostic {
    at(
        Code::CriuSizePastEnd,
        file,
        Some(entry),
        offset..len,
        format!(
            "entry at offset {offset} starts past 4 GiB: resocket frames an image file's entries up to offset 4 GiB"
        ),
    )
}

pub(crate) fn sk_queues_extra(payload: &[u8]) -> u64 {
    top_varint(payload, 2).unwrap_or(0)
}

pub(crate) fn tcp_stream_extra(payload: &[u8]) -> u64 {
    top_varint(payload, 1).unwrap_or(0) + top_varint(payload, 3).unwrap_or(0)
}

/// The last value of top-level varint field `num` (what a protobuf decoder keeps).
fn top_varint(payload: &[u8], num: u64) -> Option<u64> {
    let mut pos = 0;
    let mut found = None;
    while pos < payload.len() {
        let (tag, n) = walk::varint(payload, pos)?;
        pos += n;
        match tag & 7 {
            0 => {
                let (v, n) = walk::varint(payload, pos)?;
                pos += n;
                if tag >> 3 == num {
                    found = Some(v);
                }
            }
            1 => pos += 8,
            5 => pos += 4,
            2 => {
                let (len, n) = walk::varint(payload, pos)?;
                pos = pos.checked_add(n)?.checked_add(usize::try_from(len).ok()?)?;
            }
            _ => return found,
        }
    }
    found
}

fn read_file(f: ImageFile, index: usize, ck: &mut Checkpoint, diags: &mut Vec<Diagnostic>) -> OpenedFile {
    let kind = ImageKind::of_name(&f.name);
    let mut out = OpenedFile::new(f.name, kind, Vec::new());
    let data = f.bytes;
    if let (Some(dump), ImageKind::Ifaddr(ns) | ImageKind::Route(ns) | ImageKind::Route6(ns)) = (kind.dump(), kind) {
        read_dump(&mut out, &data, dump, ns, index, ck, diags);
        out.bytes = data;
        return out;
    }
    if kind == ImageKind::Raw {
        // No magic to read: the first bytes are the data's (a tmpfs's gzip header...).
        out.bytes = data;
        return out;
    }
    let Some((head, expected)) = header(&mut out, &data, kind, diags) else {
        out.bytes = data;
        return out;
    };
    let Some(schema) = schema::of_magic(expected) else {
        out.bytes = data;
        return out;
    };
    out.decoded = true;
    let extra = extra_len_of(Some(expected));
    // Room for one of each per entry actually framed (never from a size field).
    let n = Entries::new(&data, head.body, extra).take_while(Result::is_ok).count();
    out.reserve_entries(n);
    match kind {
        ImageKind::Files | ImageKind::Unixsk => ck.unix.reserve_exact(n),
        ImageKind::Fdinfo(files_id) => ck.fd_tables.push(FdTable {
            files_id,
            file: u32::try_from(index).unwrap_or(u32::MAX),
            fds: Vec::with_capacity(n),
        }),
        _ => {}
    }
    for e in Entries::new(&data, head.body, extra) {
        let e = match e {
            Ok(e) => e,
            Err(err) => {
                diags.push(frame_diag(&out, &data, expected, &err));
                break;
            }
        };
        let base = e.payload_range().start;
        let w = walk::scan(e.payload, base, schema);
        field_diags(&out.name, e.index, &w, &data, schema, diags);
        if !out.push_start(e.offset) {
            diags.push(past_4g(&out.name, e.index, e.offset, data.len()));
            break;
        }
        if let Some(err) = w.error {
            let code = if err.is_truncation() { Code::CriuTruncated } else { Code::CriuBadProtobuf };
            let mut d = at(code, &out.name, Some(e.index), err.offset()..e.payload_range().end, err.to_string());
            if !err.path().is_empty() {
                d = d.field(err.path());
            }
            diags.push(d);
            break;
        }
        let loc = Loc::new(index, e.index);
        if let Err(msg) = decode_into(ck, kind, e.payload, e.extra_range(), loc) {
            diags.push(at(
                Code::CriuBadProtobuf,
                &out.name,
                Some(e.index),
                e.payload_range(),
                format!("{}: {msg}", schema.name),
            ));
            break;
        }
    }
    out.bytes = data;
    out
}

/// The head of image `out` (its bytes `data`): its magic words, checked against the one its
/// name says (`kind`), with a diagnostic for each mismatch. `None` when the file is not read
/// further (no head, not an image resocket reads, or the wrong magic).
fn header(out: &mut OpenedFile, data: &[u8], kind: ImageKind, diags: &mut Vec<Diagnostic>) -> Option<(Head, Magic)> {
    let head = match Head::parse(data) {
        Ok(h) => h,
        Err(e) => {
            if kind != ImageKind::Other {
                diags.push(at(Code::CriuBadMagic, &out.name, None, 0..data.len(), e.to_string()));
            }
            return None;
        }
    };
    out.first_magic = head.first;
    out.magic = Some(head.magic);
    let found = Magic::from_value(head.magic);
    let Some(expected) = kind.magic() else {
        // Not an image resocket reads: listed with its magic.
        return None;
    };
    let magic_range = head.body - 4..head.body;
    if found != Some(expected) {
        let what = found.map_or(format!("{:#010x}", head.magic), |m| m.crit_name().to_string());
        let (code, msg) = match (found, head.first) {
            (None, None) => (
                Code::CriuBadMagic,
                format!("starts with {what}: neither IMG_COMMON/IMG_SERVICE nor a CRIU image magic"),
            ),
            (None, Some(_)) => (Code::CriuBadMagic, format!("image magic {what} is not one CRIU defines")),
            (Some(_), _) => (
                Code::CriuMagicMismatch,
                format!("{} holds a {what} image, its name says {}", out.name, expected.crit_name()),
            ),
        };
        diags.push(at(code, &out.name, None, magic_range, msg));
        return None;
    }
    if head.first.is_none() && expected != Magic::Inventory {
        // crit reads such a file (a pre-v1.1 image); CRIU 1.1+ writes IMG_COMMON first.
        diags.push(at(
            Code::CriuBadMagic,
            &out.name,
            None,
            0..4,
            format!("{} has no IMG_COMMON word before its magic (an image older than v1.1)", out.name),
        ));
    }
    Some((head, expected))
}

/// The diagnostic of an entry of `out` that cannot be framed.
fn frame_diag(out: &OpenedFile, data: &[u8], expected: Magic, err: &FrameError) -> Diagnostic {
    let code = match err {
        FrameError::ShortHead { .. } | FrameError::TruncatedSize { .. } => Code::CriuTruncated,
        FrameError::SizePastEnd { .. } => Code::CriuSizePastEnd,
        FrameError::ExtraPastEnd { .. } => Code::CriuExtraPastEnd,
    };
    let off = err.offset();
    let entry = out.entry_count();
    let d = at(code, &out.name, Some(entry), off..data.len(), err.to_string());
    if code == Code::CriuExtraPastEnd {
        return d.field(if expected == Magic::SkQueues { "length" } else { "inq_len" });
    }
    d
}

/// The diagnostics of the fields of entry `entry` of image `name` that its schema does not
/// name, or that it requires and the entry lacks.
fn field_diags(
    name: &str,
    entry: usize,
    w: &walk::Walk,
    data: &[u8],
    schema: &'static schema::Schema,
    diags: &mut Vec<Diagnostic>,
) {
    for f in w.unknown() {
        let bytes = data.get(f.range.clone()).unwrap_or(&[]);
        let hex: String = bytes.iter().take(32).map(|b| format!("{b:02x}")).collect();
        let more = if bytes.len() > 32 { "…" } else { "" };
        diags.push(
            at(
                Code::CriuUnknownField,
                name,
                Some(entry),
                f.range.clone(),
                format!("field {} (wire type {}) not in {}: {hex}{more}", f.number, f.wire, schema.name),
            )
            .field(f.path.clone()),
        );
    }
    for (path, off) in &w.missing {
        diags.push(
            at(Code::CriuMissingField, name, Some(entry), *off..*off, format!("required field {path} is absent"))
                .field(path.clone()),
        );
    }
}

/// `ifaddr-N.img`, `route-N.img`, `route6-N.img` (`ip addr save`'s and `ip route save`'s
/// output, see [`super::rtnl`]): the magic, then each netlink message framed (an entry) and its
/// address or route read, up to the first error.
fn read_dump(
    out: &mut OpenedFile,
    data: &[u8],
    dump: rtnl::Dump,
    ns: u32,
    index: usize,
    ck: &mut Checkpoint,
    diags: &mut Vec<Diagnostic>,
) {
    use super::rtnl::{Dump, NlError, NlErrorKind};
    let name = out.name.clone();
    let diag = |e: &NlError, entry: Option<usize>, end: usize| {
        let code = match e.kind() {
            NlErrorKind::Magic => Code::CriuBadMagic,
            NlErrorKind::Truncated => Code::CriuTruncated,
            NlErrorKind::PastEnd => Code::CriuSizePastEnd,
            NlErrorKind::Malformed => Code::CriuBadNetlink,
        };
        let start = e.offset().min(end);
        at(code, &name, entry, start..end, e.to_string()).field(e.field())
    };
    let pos = match rtnl::head(data, dump) {
        Ok(p) => p,
        Err(e) => {
            diags.push(diag(&e, None, data.len().min(4)));
            return;
        }
    };
    out.magic = Some(dump.magic());
    out.decoded = true;
    for m in rtnl::Messages::new(data, pos, dump) {
        let m = match m {
            Ok(m) => m,
            Err(e) => {
                diags.push(diag(&e, Some(out.entry_count()), data.len()));
                return;
            }
        };
        if !out.push_start(m.offset) {
            diags.push(past_4g(&name, m.index, m.offset, data.len()));
            return;
        }
        let at = Loc::new(index, m.index);
        let read = match dump {
            Dump::Addr => {
                ifaddr::IfAddr::parse(m.body, m.body_offset()).map(|addr| ck.ifaddrs.push(NsAddr { ns, addr, at }))
            }
            Dump::Route => {
                route::Route::parse(m.body, m.body_offset()).map(|route| ck.routes.push(NsRoute { ns, route, at }))
            }
        };
        match read {
            Ok(()) => {}
            Err(e) => {
                diags.push(diag(&e, Some(m.index), m.range().end));
                return;
            }
        }
    }
}

fn dec<M: Message + Default>(payload: &[u8]) -> Result<M, String> {
    M::decode(payload).map_err(|e| e.to_string())
}

fn decode_into(ck: &mut Checkpoint, kind: ImageKind, p: &[u8], extra: Range<usize>, at: Loc) -> Result<(), String> {
    match kind {
        ImageKind::Inventory => {
            let inv: pb::InventoryEntry = dec(p)?;
            ck.inventory.get_or_insert(inv);
        }
        ImageKind::Pstree => {
            let e: pb::PstreeEntry = dec(p)?;
            ck.tasks.push(Task { pid: e.pid, ppid: e.ppid, pgid: e.pgid, sid: e.sid, at, ..Default::default() });
        }
        ImageKind::Ids(pid) => {
            let e: pb::TaskKobjIdsEntry = dec(p)?;
            ck.ids.push((pid, e, at));
        }
        ImageKind::Core(pid) => {
            let e: pb::CoreEntry = dec(p)?;
            ck.cores.push((pid, e, at));
        }
        ImageKind::Fdinfo(_) => {
            let e: pb::FdinfoEntry = dec(p)?;
            // The table was pushed when the file's framing began.
            if let Some(t) = ck.fd_tables.last_mut() {
                t.fds.push(Fd { fd: e.fd, id: e.id, ty: e.r#type });
            }
        }
        ImageKind::Files => {
            let e: pb::FileEntry = dec(p)?;
            match (e.r#type, e.usk, e.isk) {
                (5, Some(sk), _) => ck.unix.push(UnixSock::of_entry(e.id, &sk, at)),
                (4, _, Some(sk)) => ck.inet.push(InetSock { id: e.id, sk, prefix: "isk.", at }),
                (ty, _, _) => {
                    let path = e.reg.map(|r| r.name);
                    ck.others.push(OtherFile { id: e.id, ty, path, at });
                }
            }
        }
        ImageKind::Unixsk => {
            let sk: pb::UnixSkEntry = dec(p)?;
            ck.legacy_layout = true;
            ck.unix.push(UnixSock::of_entry(sk.id, &sk, at));
        }
        ImageKind::Inetsk => {
            let sk: pb::InetSkEntry = dec(p)?;
            ck.legacy_layout = true;
            ck.inet.push(InetSock { id: sk.id, sk, prefix: "", at });
        }
        ImageKind::RegFiles => {
            let r: pb::RegFileEntry = dec(p)?;
            ck.others.push(OtherFile { id: r.id, ty: pb::FdTypes::Reg as i32, path: Some(r.name), at });
        }
        ImageKind::Pipes => {
            let r: pb::PipeEntry = dec(p)?;
            ck.others.push(OtherFile { id: r.id, ty: pb::FdTypes::Pipe as i32, path: None, at });
        }
        ImageKind::SkQueues => {
            let pkt: pb::SkPacketEntry = dec(p)?;
            ck.packets.push(Packet { pkt, data: extra, at });
        }
        ImageKind::TcpStream(ino) => {
            let ts: pb::TcpStreamEntry = dec(p)?;
            let mid = extra.start + (ts.inq_len as usize).min(extra.len());
            ck.tcp_streams.push(TcpStream { ino, inq: extra.start..mid, outq: mid..extra.end, ts, at });
        }
        ImageKind::Netdev(ns) => {
            let d: pb::NetDeviceEntry = dec(p)?;
            ck.netdevs.push(NetDev {
                ns,
                name: d.name,
                ifindex: d.ifindex,
                flags: d.flags,
                kind: NdType::of(d.r#type),
                mtu: d.mtu,
                address: d.address,
                at,
            });
        }
        ImageKind::Netns(ns) => {
            let n: pb::NetnsEntry = dec(p)?;
            let nsids = n.nsids.iter().map(|i| (i.target_ns_id, i.netnsid_value)).collect();
            ck.netns.push(NetnsInfo { ns, ext_key: n.ext_key, nsids, at });
        }
        ImageKind::Ifaddr(_) | ImageKind::Route(_) | ImageKind::Route6(_) | ImageKind::Raw | ImageKind::Other => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn top_varint_finds_the_last_value() {
        assert_eq!(top_varint(&[0x08, 0x05, 0x10, 0x07, 0x10, 0x09], 2), Some(9));
        assert_eq!(top_varint(&[0x08, 0x05, 0x22, 0x01, 0x00, 0x10, 0x03], 2), Some(3));
        assert_eq!(top_varint(&[0x08], 2), None);
        assert_eq!(top_varint(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f], 2), None);
    }

    /// Entry starts are kept as `u32`s: one past 4 GiB is refused (the framing stops there with
    /// a diagnostic), one at 4 GiB - 1 is kept. (64-bit only: no wasm32 offset reaches 4 GiB.)
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn entry_starts_past_4_gib_are_refused() {
        let mut f = OpenedFile::new("files.img".into(), ImageKind::Files, Vec::new());
        assert!(f.push_start(u32::MAX as usize));
        assert!(!f.push_start(u32::MAX as usize + 1));
        assert_eq!(f.starts(), [u32::MAX]);
        let d = past_4g("files.img", 7, 1 << 32, (1 << 32) + 10);
        assert_eq!((d.code, d.record, d.range.clone()), (Code::CriuSizePastEnd, Some(7), (1 << 32)..(1 << 32) + 10));
    }

    /// CRIU's raw images (no magic) are listed as such: a Podman checkpoint's
    /// `tmpfs-dev-45.tar.gz.img` (the gzipped tar of a tmpfs under /dev) was listed with the
    /// "magic" 0x88b1f, its gzip header read as a CRIU magic.
    #[test]
    fn raw_images_are_listed_without_a_magic() {
        let gz = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0];
        let o = open(vec![
            ImageFile { name: "tmpfs-dev-45.tar.gz.img".into(), bytes: gz.clone() },
            ImageFile { name: "iptables-9.img".into(), bytes: b"# Generated by iptables".to_vec() },
            ImageFile { name: "tmpfs-x.tar.gz.img".into(), bytes: gz },
        ]);
        let f = |n: &str| o.files.iter().find(|f| f.name == n).unwrap();
        for name in ["tmpfs-dev-45.tar.gz.img", "iptables-9.img"] {
            assert_eq!((f(name).kind, f(name).magic, f(name).magic_name().as_str()), (ImageKind::Raw, None, "RAW"));
        }
        assert_eq!(f("tmpfs-x.tar.gz.img").kind, ImageKind::Other);
        assert!(o.diagnostics.iter().all(|d| d.code != Code::CriuBadMagic), "{:?}", o.diagnostics);
    }

    #[test]
    fn unknown_names_are_listed_and_not_errors() {
        let o = open(vec![ImageFile { name: "pages-1.img".into(), bytes: vec![0; 4096] }]);
        assert_eq!(o.files[0].kind, ImageKind::Other);
        assert!(!o.files[0].decoded);
        assert!(o.diagnostics.iter().all(|d| d.code != Code::CriuBadMagic));
    }
}
