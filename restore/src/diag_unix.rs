//! A small client of the `NETLINK_SOCK_DIAG` interface (the request/answer loop, shared with
//! `diag_inet`) and its AF_UNIX part (`unix_diag`): one dump of
//! every unix socket of the caller's network namespace with its name, VFS inode, peer, pending
//! connections (ICONS), queue lengths, buffer sizes (MEMINFO) and shutdown bits.
//! Requests and answers are `netlink-packet-sock-diag` messages (their layouts:
//! `include/uapi/linux/unix_diag.h`, see ../shared/reference/af_unix.md §5); the socket is ours.

use netlink_packet_core::{Emitable, NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_DUMP, NLM_F_REQUEST};
use netlink_packet_sock_diag::unix::{self, nlas::Nla, ShowFlags, StateFlags, UnixRequest};
use netlink_packet_sock_diag::SockDiagMessage;
use rustix::net::{self, netlink, AddressFamily, SocketType};
use std::collections::BTreeMap;

const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;

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

impl UnixDiag {
    /// The socket type, `None` for a number AF_UNIX does not know.
    pub fn sock_type(&self) -> Option<resocket_core::sim::SockType> {
        resocket_core::sim::SockType::from_raw(self.ty.into())
    }
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
        ShowFlags::NAME | ShowFlags::VFS | ShowFlags::PEER | ShowFlags::ICONS | ShowFlags::RQLEN | ShowFlags::MEMINFO;
    let mut out = BTreeMap::new();
    // Each answer read as it arrives (not collected first: 10,000 parsed messages were 4 MB).
    sock_diag_each(unix_request(show), &mut |m| {
        if let SockDiagMessage::UnixResponse(r) = m {
            let d = UnixDiag::from(*r);
            out.insert(d.ino, d);
        }
    })?;
    Ok(out)
}

/// The bound files of every AF_UNIX socket of this thread's network namespace, as
/// `UNIX_DIAG_VFS` gives them: `(inode, dev)` with `dev` the kernel's own `dev_t`
/// (`major << 20 | minor`, not `st_dev`'s encoding). Only sockets bound to a path have one.
pub fn bound_files() -> Result<Vec<(u32, u32)>, String> {
    Ok(sock_diag_dump(unix_request(ShowFlags::VFS))?
        .into_iter()
        .filter_map(|m| match m {
            SockDiagMessage::UnixResponse(r) => UnixDiag::from(*r).vfs,
            _ => None,
        })
        .collect())
}

/// A `unix_diag_req` for every socket in every state (not only the ESTABLISHED and LISTEN the
/// crate names: unconnected dgram sockets are TCP_CLOSE), asking for `show`.
fn unix_request(show: ShowFlags) -> SockDiagMessage {
    SockDiagMessage::UnixRequest(UnixRequest {
        state_flags: StateFlags::from_bits_retain(u32::MAX),
        inode: 0,
        show_flags: show,
        cookie: [0xff; 8], // no check
    })
}

/// One `SOCK_DIAG_BY_FAMILY` dump request: the answers, until `NLMSG_DONE`. Shared by
/// unix_diag and inet_diag. An answer the crate cannot read is an error, not a socket left out.
pub(crate) fn sock_diag_dump(request: SockDiagMessage) -> Result<Vec<SockDiagMessage>, String> {
    let mut out = Vec::new();
    sock_diag_each(request, &mut |m| out.push(m))?;
    Ok(out)
}

/// [`sock_diag_dump`], each answer handed to `each` as it is parsed.
pub(crate) fn sock_diag_each(request: SockDiagMessage, each: &mut dyn FnMut(SockDiagMessage)) -> Result<(), String> {
    use netlink_packet_core::ParseableParametrized;
    use netlink_packet_sock_diag::SOCK_DIAG_BY_FAMILY;
    let mut msg = NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::from(request));
    msg.finalize();
    let mut req = vec![0u8; msg.buffer_len()];
    msg.serialize(&mut req);
    // The crate writes the request; the one netlink transport below sends it (after its own
    // `nlmsghdr`) and gathers the answers.
    let body = req.get(16..).ok_or("sock_diag request shorter than its header")?;
    let mut i = 0usize;
    netlink_each(Some(netlink::SOCK_DIAG), SOCK_DIAG_BY_FAMILY, SOCK_DIAG_BY_FAMILY, body, &mut |m| {
        let parsed = SockDiagMessage::parse_with_param(m, SOCK_DIAG_BY_FAMILY)
            .map_err(|e| format!("sock_diag answer {i}: {e}"))?;
        i += 1;
        each(parsed);
        Ok(())
    })
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
    let mut out = Vec::new();
    netlink_each(protocol, request, answer, body, &mut |m| {
        out.push(m.to_vec());
        Ok(())
    })?;
    Ok(out)
}

/// [`netlink_dump`], each answer's payload handed to `each` where it lies in the receive
/// buffer (the first error `each` gives ends the dump).
fn netlink_each(
    protocol: Option<net::Protocol>,
    request: u16,
    answer: u16,
    body: &[u8],
    each: &mut dyn FnMut(&[u8]) -> Result<(), String>,
) -> Result<(), String> {
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
                NLMSG_DONE => return Ok(()),
                NLMSG_ERROR => {
                    let err = u32_at(&buf, at + 16) as i32;
                    return Err(format!("netlink error {}", -err));
                }
                t if t == answer => each(&buf[at + 16..at + len])?,
                _ => {}
            }
            at += (len + 3) & !3;
        }
    }
}

impl From<unix::UnixResponse> for UnixDiag {
    fn from(r: unix::UnixResponse) -> UnixDiag {
        use std::os::unix::ffi::OsStringExt;
        let h = r.header;
        let mut d = UnixDiag { ty: h.kind, state: h.state, ino: h.inode, ..UnixDiag::default() };
        for nla in r.nlas {
            match nla {
                // The raw `sun_path` bytes, as before the crate: a path with its NUL, an
                // abstract name after its leading NUL.
                Nla::Name(unix::nlas::UnixDiagName::Pathname(p)) => {
                    let mut b = p.into_vec();
                    b.push(0);
                    d.name = Some(b);
                }
                Nla::Name(unix::nlas::UnixDiagName::Abstract(a)) => {
                    let mut b = Vec::with_capacity(a.len() + 1);
                    b.push(0);
                    b.extend_from_slice(&a);
                    d.name = Some(b);
                }
                // netlink-packet-sock-diag 0.5 keeps `Vfs`'s two fields private and has no
                // accessor; its `Emitable` writes them back as the kernel laid them out
                // (`struct unix_diag_vfs`: inode, then dev).
                Nla::Vfs(v) if v.buffer_len() == 8 => {
                    let mut b = [0u8; 8];
                    v.emit(&mut b);
                    d.vfs = Some((u32_at(&b, 0), u32_at(&b, 4)));
                }
                Nla::Peer(p) => d.peer = Some(p),
                Nla::PendingConnections(c) => d.icons = Some(c),
                Nla::ReceiveQueueLength(r, w) => d.rqlen = Some((r, w)),
                Nla::MemInfo(m) => d.bufs = Some((m.so_rcvbuf, m.max_datagram_size)), // sk_rcvbuf, sk_sndbuf
                Nla::Shutdown(s) => d.shutdown = s,
                _ => {}
            }
        }
        d
    }
}
