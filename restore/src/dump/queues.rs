//! Reading a unix socket's receive queue without consuming it: `MSG_PEEK`, walked with
//! `SO_PEEK_OFF` (the process's own offset put back), message boundaries, senders and the
//! sockets passed with SCM_RIGHTS kept.

use super::fds::socket_ino;
use super::DumpError;
use crate::diag_unix::UnixDiag;
use resocket_core::sim::SockType;
use rustix::fd::{AsFd, OwnedFd};
use rustix::net::{self, RecvFlags};

/// One message read with MSG_PEEK: the sender's name (datagrams), the bytes, the inodes of
/// the sockets passed with it.
pub type Peeked = (Option<Vec<u8>>, Vec<u8>, Vec<u32>);

/// Whether unix_diag leaves it open that messages are queued on this socket, so that its
/// queue must be peeked: not for a listener, an unconnected stream or seqpacket socket (no
/// queue; reading it is an error) or a connected stream socket with no byte queued (a stream
/// holds no empty message). A datagram or seqpacket socket showing 0 bytes may still hold empty
/// messages (`UNIX_DIAG_RQLEN` counts bytes: for datagrams, those of the first message only).
pub fn may_hold_messages(d: &UnixDiag) -> bool {
    let stream = d.sock_type() == Some(SockType::Stream);
    let seqpacket = d.sock_type() == Some(SockType::Seqpacket);
    let total = d.rqlen.map_or(0, |r| r.0);
    !(d.state == resocket_core::wire::TCP_LISTEN
        || (total == 0 && stream)
        || ((stream || seqpacket) && d.state != resocket_core::wire::TCP_ESTABLISHED))
}

/// Messages queued on a socket, in order, with the inodes of the sockets passed with them.
pub fn peek_queue(fd: &OwnedFd, d: &UnixDiag, received: &mut Vec<OwnedFd>) -> Result<Vec<Peeked>, DumpError> {
    peek_queue_with(fd, d, received, &mut Vec::new())
}

/// [`peek_queue`] with a scratch buffer the caller keeps across sockets (no 64 KiB allocation
/// and zeroing per socket).
pub fn peek_queue_with(
    fd: &OwnedFd,
    d: &UnixDiag,
    received: &mut Vec<OwnedFd>,
    buf: &mut Vec<u8>,
) -> Result<Vec<Peeked>, DumpError> {
    peek_queue_at(fd, d, None, received, buf)
}

/// [`peek_queue_with`] for a socket whose own `SO_PEEK_OFF` the caller has read already
/// (`own_offset`, -1 for none: the dump reads every recorded option of a batch of sockets in
/// one `io_uring_enter` before peeking them); `None`: read here with `getsockopt`.
pub(super) fn peek_queue_at(
    fd: &OwnedFd,
    d: &UnixDiag,
    own_offset: Option<i32>,
    received: &mut Vec<OwnedFd>,
    buf: &mut Vec<u8>,
) -> Result<Vec<Peeked>, DumpError> {
    if !may_hold_messages(d) {
        return Ok(Vec::new());
    }
    let stream = d.sock_type() == Some(SockType::Stream);
    let total = d.rqlen.map_or(0, |r| r.0) as usize;
    // The socket's own peek offset (-1: none), put back at the end: the process may use it.
    let saved = match own_offset {
        Some(v) => v,
        None => crate::raw::peek_off(fd.as_fd()).map_err(|e| format!("SO_PEEK_OFF: {e}"))?,
    };
    // A stream without a peek offset is peeked from its start once, as it is: one peek returns
    // every byte queued unless it stops at a message carrying fds or from another writer, and
    // only then is SO_PEEK_OFF set (to where that peek stopped) to walk on. Message queues, and
    // sockets with an offset of their own, are walked from offset 0.
    let mut offset_set = !(stream && saved < 0);
    if offset_set {
        crate::raw::set_peek_off(fd.as_fd(), 0).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    }
    let result = peek_walk(fd, d, total, received, buf, &mut offset_set);
    if offset_set {
        crate::raw::set_peek_off(fd.as_fd(), saved).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
    }
    result
}

/// The MSG_PEEK loop of [`peek_queue_with`]; sets SO_PEEK_OFF (and says so in `offset_set`)
/// when a stream peek made without it stops short.
fn peek_walk(
    fd: &OwnedFd,
    d: &UnixDiag,
    total: usize,
    received: &mut Vec<OwnedFd>,
    buf: &mut Vec<u8>,
    offset_set: &mut bool,
) -> Result<Vec<Peeked>, DumpError> {
    let stream = d.sock_type() == Some(SockType::Stream);
    let seqpacket = d.sock_type() == Some(SockType::Seqpacket);
    let mut out = Vec::new();
    // Larger than everything queued, so a stream peek never stops exactly at an skb boundary
    // (where the kernel would hand out the next skb's fds with none of its bytes).
    let want = (total + 1).max(1 << 16);
    if buf.len() < want {
        buf.resize(want, 0);
    }
    let mut space = vec![std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(253))];
    let mut peeked = 0;
    for _ in 0..1_000_000 {
        if !*offset_set && peeked > 0 {
            let at = i32::try_from(peeked).map_err(|_| "more than 2 GiB queued".to_string())?;
            crate::raw::set_peek_off(fd.as_fd(), at).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
            *offset_set = true;
        }
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
            Err(e) => return Err(DumpError::from(format!("MSG_PEEK: {e}"))),
        };
        // EOF: for a stream, everything was peeked and the peer is gone. A seqpacket socket shut
        // down for reading answers 0 instead of EAGAIN once its queue is peeked through, which
        // looks like an empty record: while fewer bytes than unix_diag counts (UNIX_DIAG_RQLEN:
        // every record's bytes) were peeked, a 0 is an empty record (the next peek skips it:
        // the skb is marked peeked); after, empty records at the end of such a queue are not
        // told apart from the end (the caller warns `seqpacket-empty-tail`).
        if m.bytes == 0 && (stream || (seqpacket && d.shutdown & 1 != 0 && peeked >= total)) {
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
                        return Err(DumpError::Refused("a queued message carries a file that is not a socket (SCM_RIGHTS); only sockets can be described".into()));
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
        let n = m.bytes.min(buf.len());
        out.push((from, buf[..n].to_vec(), rights));
        peeked += n;
        if stream && peeked >= total {
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_queues_are_peeked() {
        use resocket_core::wire::{TCP_CLOSE, TCP_ESTABLISHED, TCP_LISTEN};
        let d =
            |ty: u8, state: u8, queued: u32| UnixDiag { ty, state, rqlen: Some((queued, 0)), ..UnixDiag::default() };
        // Streams: only connected ones with bytes queued.
        assert!(may_hold_messages(&d(1, TCP_ESTABLISHED, 5)));
        assert!(!may_hold_messages(&d(1, TCP_ESTABLISHED, 0)));
        assert!(!may_hold_messages(&d(1, TCP_LISTEN, 3)));
        assert!(!may_hold_messages(&d(1, TCP_CLOSE, 0)));
        // Datagrams: always (an empty datagram counts 0 bytes); seqpacket: when connected.
        assert!(may_hold_messages(&d(2, TCP_CLOSE, 0)));
        assert!(may_hold_messages(&d(5, TCP_ESTABLISHED, 0)));
        assert!(!may_hold_messages(&d(5, TCP_LISTEN, 0)));
    }
}
