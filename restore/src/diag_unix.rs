//! A small client of the `NETLINK_SOCK_DIAG` interface (the request/answer loop, shared with
//! `diag_inet`) and its AF_UNIX part (`unix_diag`): one dump of
//! every unix socket of the caller's network namespace with its name, VFS inode, peer, pending
//! connections (ICONS), queue lengths, buffer sizes (MEMINFO) and shutdown bits.
//! Layouts: `include/uapi/linux/unix_diag.h` (see ../shared/reference/af_unix.md §5).

use rustix::net::{self, netlink, AddressFamily, SocketType};
use std::collections::BTreeMap;

/// `SOCK_DIAG_BY_FAMILY`.
const SOCK_DIAG_BY_FAMILY: u16 = 20;
const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_DUMP: u16 = 0x300;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const UDIAG_SHOW_NAME: u32 = 0x1;
const UDIAG_SHOW_VFS: u32 = 0x2;
const UDIAG_SHOW_PEER: u32 = 0x4;
const UDIAG_SHOW_ICONS: u32 = 0x8;
const UDIAG_SHOW_RQLEN: u32 = 0x10;
const UDIAG_SHOW_MEMINFO: u32 = 0x20;

/// What unix_diag says about one socket.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnixDiag {
    /// Inode.
    pub ino: u32,
    /// `SOCK_*` type.
    pub ty: u8,
    /// `TCP_*` state.
    pub state: u8,
    /// `UNIX_DIAG_NAME`: raw `sun_path` bytes (path with its NUL, or abstract starting with NUL).
    pub name: Option<Vec<u8>>,
    /// `UNIX_DIAG_VFS`: inode and device of the bound path.
    pub vfs: Option<(u32, u32)>,
    /// `UNIX_DIAG_PEER`: the peer's inode (0 while the peer is an embryo).
    pub peer: Option<u32>,
    /// `UNIX_DIAG_ICONS`: inodes of the clients of pending connections, accept order.
    pub icons: Option<Vec<u32>>,
    /// `UNIX_DIAG_RQLEN`: (rqueue, wqueue); for a listener (pending, backlog).
    pub rqlen: Option<(u32, u32)>,
    /// `UNIX_DIAG_SHUTDOWN`.
    pub shutdown: u8,
    /// `UNIX_DIAG_MEMINFO`: `sk_rcvbuf` and `sk_sndbuf`.
    pub bufs: Option<(u32, u32)>,
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4).and_then(|s| s.try_into().ok()).map_or(0, u32::from_ne_bytes)
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    b.get(at..at + 2).and_then(|s| s.try_into().ok()).map_or(0, u16::from_ne_bytes)
}

/// Dump every AF_UNIX socket of this thread's network namespace.
pub fn dump() -> Result<BTreeMap<u32, UnixDiag>, String> {
    let show =
        UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN | UDIAG_SHOW_MEMINFO;
    let mut out = BTreeMap::new();
    for m in sock_diag_dump(&unix_request(show))? {
        if let Some(d) = parse_msg(&m) {
            out.insert(d.ino, d);
        }
    }
    Ok(out)
}

/// The bound files of every AF_UNIX socket of this thread's network namespace, as
/// `UNIX_DIAG_VFS` gives them: `(inode, dev)` with `dev` the kernel's own `dev_t`
/// (`major << 20 | minor`, not `st_dev`'s encoding). Only sockets bound to a path have one.
pub fn bound_files() -> Result<Vec<(u32, u32)>, String> {
    Ok(sock_diag_dump(&unix_request(UDIAG_SHOW_VFS))?.iter().filter_map(|m| parse_msg(m)?.vfs).collect())
}

/// A `unix_diag_req` for every socket in every state, asking for `show`.
fn unix_request(show: u32) -> Vec<u8> {
    let mut body = Vec::with_capacity(24);
    body.extend_from_slice(&[1, 0, 0, 0]); // family AF_UNIX, protocol, pad
    body.extend_from_slice(&u32::MAX.to_ne_bytes()); // every state
    body.extend_from_slice(&0u32.to_ne_bytes()); // ino
    body.extend_from_slice(&show.to_ne_bytes());
    body.extend_from_slice(&u32::MAX.to_ne_bytes()); // cookie: no check
    body.extend_from_slice(&u32::MAX.to_ne_bytes());
    body
}

/// One `SOCK_DIAG_BY_FAMILY` dump request with this request body (after the `nlmsghdr`): the
/// payloads of the answers, until `NLMSG_DONE`. Shared by unix_diag and inet_diag.
pub(crate) fn sock_diag_dump(body: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    netlink_dump(Some(netlink::SOCK_DIAG), SOCK_DIAG_BY_FAMILY, SOCK_DIAG_BY_FAMILY, body)
}

/// One netlink dump request of type `request` on a `protocol` socket (`None`: protocol 0,
/// `NETLINK_ROUTE`) with this body: the
/// payloads of the answers of type `answer`, until `NLMSG_DONE` (sock_diag; `host.rs`'s
/// RTM_GETADDR and RTM_GETLINK).
pub(crate) fn netlink_dump(
    protocol: Option<net::Protocol>,
    request: u16,
    answer: u16,
    body: &[u8],
) -> Result<Vec<Vec<u8>>, String> {
    let sock =
        net::socket(AddressFamily::NETLINK, SocketType::RAW, protocol).map_err(|e| format!("netlink socket: {e}"))?;
    let len = u32::try_from(16 + body.len()).map_err(|_| "netlink request too long".to_string())?;
    let mut req = Vec::with_capacity(16 + body.len());
    req.extend_from_slice(&len.to_ne_bytes());
    req.extend_from_slice(&request.to_ne_bytes());
    req.extend_from_slice(&(NLM_F_REQUEST | NLM_F_DUMP).to_ne_bytes());
    req.extend_from_slice(&1u32.to_ne_bytes()); // seq
    req.extend_from_slice(&0u32.to_ne_bytes()); // pid
    req.extend_from_slice(body);
    net::sendto(&sock, &req, net::SendFlags::empty(), &netlink::SocketAddrNetlink::new(0, 0))
        .map_err(|e| format!("netlink send: {e}"))?;
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let (n, _) =
            net::recv(&sock, &mut buf[..], net::RecvFlags::empty()).map_err(|e| format!("netlink recv: {e}"))?;
        let mut at = 0;
        while at + 16 <= n {
            let len = u32_at(&buf, at) as usize;
            let ty = u16_at(&buf, at + 4);
            if len < 16 || at + len > n {
                return Err("malformed netlink message".into());
            }
            match ty {
                NLMSG_DONE => return Ok(out),
                NLMSG_ERROR => {
                    let err = u32_at(&buf, at + 16) as i32;
                    return Err(format!("netlink error {}", -err));
                }
                t if t == answer => out.push(buf[at + 16..at + len].to_vec()),
                _ => {}
            }
            at += (len + 3) & !3;
        }
    }
}

fn parse_msg(m: &[u8]) -> Option<UnixDiag> {
    let head = m.get(..16)?;
    let mut d = UnixDiag { ty: head[1], state: head[2], ino: u32_at(head, 4), ..UnixDiag::default() };
    for (ty, p) in attrs(m, 16) {
        match ty {
            0 => d.name = Some(p.to_vec()),
            1 => d.vfs = Some((u32_at(p, 0), u32_at(p, 4))),
            2 => d.peer = Some(u32_at(p, 0)),
            3 => d.icons = Some(p.chunks_exact(4).map(|c| u32_at(c, 0)).collect()),
            4 => d.rqlen = Some((u32_at(p, 0), u32_at(p, 4))),
            5 => d.bufs = Some((u32_at(p, 4), u32_at(p, 12))), // SK_MEMINFO_RCVBUF, SK_MEMINFO_SNDBUF
            6 => d.shutdown = p.first().copied().unwrap_or(0),
            _ => {}
        }
    }
    Some(d)
}

/// The netlink attributes (`struct rtattr`: u16 length, u16 type, payload, padded to 4) of a
/// message from offset `at`, as (type, payload); stops at the first malformed one.
pub(crate) fn attrs(m: &[u8], mut at: usize) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let len = usize::from(u16_at(m, at));
        let ty = u16_at(m, at + 2);
        if at + 4 > m.len() || len < 4 || at + len > m.len() {
            return None;
        }
        let p = &m[at + 4..at + len];
        at += (len + 3) & !3;
        Some((ty, p))
    })
}
