//! Out-of-band data on AF_UNIX stream sockets (`MSG_OOB`, Linux ≥ 5.15) for `checkpoint dump`.
//!
//! What the kernel holds (net/unix/af_unix.c, 6.18): `send(…, MSG_OOB)` queues the last byte
//! as an skb of its own and points the receiver's `oob_skb` at it (an earlier one becomes
//! ordinary data). A read stops before that skb once it has copied something; a read that
//! starts there clears `oob_skb` and, without `SO_OOBINLINE`, drops the byte (`manage_oob`).
//! `recv(MSG_OOB)` takes the byte wherever it is and leaves a consumed, empty skb in its place
//! (`unix_stream_recv_urg`). `SIOCATMARK` is 1 when the head skb is `oob_skb`, or an empty one
//! with `oob_skb` next (or none pending).
//!
//! A non-destructive dump cannot place the mark with certainty: a peek stops at the mark, but
//! also where messages carry fds or come from other writers, and a peek with `SO_PEEK_OFF`
//! skips over `manage_oob`. So only the `--kill` dump records it ([`read_with_mark`]): the
//! process will not run on, and its queue is read for real, `SIOCATMARK` asked before each
//! read, the byte taken with `recv(MSG_OOB)` when the mark is reached.

use super::DumpError;
use crate::dump::Peeked;
use rustix::fd::{AsFd, OwnedFd};
use rustix::net::{self, RecvFlags};

/// The queue of an AF_UNIX stream socket with an out-of-band byte pending, read destructively
/// (`--kill` only: the socket is the process's, which is killed after the dump): the messages
/// in order, the out-of-band byte as a 1-byte message of its own, and its index. The socket's
/// `SO_OOBINLINE` is set aside for the reads (with it on the byte would read inline and
/// `recv(MSG_OOB)` answer EINVAL) and put back.
pub(crate) fn read_with_mark(fd: &OwnedFd, received: &mut Vec<OwnedFd>) -> Result<(Vec<Peeked>, usize), DumpError> {
    let inline = net::sockopt::socket_oobinline(fd).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    if inline {
        net::sockopt::set_socket_oobinline(fd, false).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    }
    let out = read_walk(fd, received);
    if inline {
        net::sockopt::set_socket_oobinline(fd, true).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    }
    out
}

fn read_walk(fd: &OwnedFd, received: &mut Vec<OwnedFd>) -> Result<(Vec<Peeked>, usize), DumpError> {
    let mut out: Vec<Peeked> = Vec::new();
    let mut oob = None;
    let mut buf = vec![0u8; 1 << 16];
    let mut space = vec![std::mem::MaybeUninit::<u8>::uninit(); rustix::cmsg_space!(ScmRights(253))];
    // Each round reads at least one byte or ends: bounded by what the queue can hold.
    for _ in 0..(1 << 24) {
        if oob.is_none() && crate::raw::at_mark(fd.as_fd()).map_err(|e| format!("SIOCATMARK: {e}"))? {
            let mut b = [0u8; 1];
            match net::recv(fd, &mut b[..], RecvFlags::OOB | RecvFlags::DONTWAIT) {
                Ok((1, _)) => {
                    oob = Some(out.len());
                    out.push((None, b.to_vec(), Vec::new()));
                    continue;
                }
                // At a mark with no byte pending: a consumed one, read on.
                Err(e) if e == rustix::io::Errno::INVAL => {}
                Ok(_) => return Err(DumpError::from("recv(MSG_OOB) returned no byte at the mark")),
                Err(e) => return Err(DumpError::from(format!("recv(MSG_OOB): {e}"))),
            }
        }
        let mut anc = net::RecvAncillaryBuffer::new(&mut space);
        let r = net::recvmsg(fd, &mut [std::io::IoSliceMut::new(&mut buf[..])], &mut anc, RecvFlags::DONTWAIT);
        let m = match r {
            Ok(m) => m,
            Err(e) if e == rustix::io::Errno::AGAIN => break,
            Err(e) => return Err(DumpError::from(format!("recvmsg: {e}"))),
        };
        let mut rights = Vec::new();
        for msg in anc.drain() {
            if let net::RecvAncillaryMessage::ScmRights(fds) = msg {
                for f in fds {
                    if let Ok(st) = rustix::fs::fstat(&f) {
                        rights.push(st.st_ino as u32);
                    }
                    received.push(f);
                }
            }
        }
        if m.bytes == 0 && rights.is_empty() {
            break; // EOF: the peer shut down or closed
        }
        out.push((None, buf[..m.bytes.min(buf.len())].to_vec(), rights));
    }
    match oob {
        Some(i) => Ok((out, i)),
        None => Err(DumpError::from("an out-of-band byte was pending but its mark was not met reading the queue")),
    }
}
