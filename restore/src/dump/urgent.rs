//! TCP urgent data (`send(MSG_OOB)`) for `checkpoint dump` and `restore run --verify`: a TCP
//! receive queue read without consuming anything, with where its urgent mark is and what it
//! holds.
//!
//! What the receiver holds (Linux 6.18, net/ipv4/tcp.c, tcp_input.c): one urgent byte
//! (`tp->urg_data`) at `tp->urg_seq`. `recv(MSG_OOB | MSG_PEEK)` answers the byte
//! (`TCP_URG_VALID`), EINVAL when there is none or it was read already (`TCP_URG_READ`: its
//! hole and the mark stay until the reader passes them) or with `SO_OOBINLINE`, and EAGAIN
//! when the urgent pointer arrived before the byte (`TCP_URG_NOTYET`). `SIOCATMARK` is
//! `urg_data && urg_seq == copied_seq`. A peek (`tcp_recvmsg_locked`) stops at the mark once it
//! has copied a byte, and nowhere else but the end of the queue; from the mark it copies the
//! byte as data with `SO_OOBINLINE`, which is read at read time. So, with the socket's own
//! `SO_PEEK_OFF` set aside and `SO_OOBINLINE` on for the peeks (off for the `MSG_OOB` one), two
//! peeks give every byte and the mark's place: one from the head (it stops at the mark), one
//! with `SO_PEEK_OFF` at that place (the rest, the byte first). Both options are put back.
//! A socket without `SO_OOBINLINE` whose answers show no urgent state (EINVAL, not at a mark,
//! a peek from the head gives every byte) is read with no option changed.
//! Checked on the kernel by restore/tests/it/urgent.rs.

use super::DumpError;
use rustix::fd::{AsFd, OwnedFd};
use rustix::net::{self, RecvFlags};

/// The urgent state of a TCP receive queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Urgent {
    /// No urgent byte, no mark.
    None,
    /// The urgent byte, unread, `at` bytes from the head.
    Pending { at: usize, byte: u8 },
    /// The byte was taken by `recv(MSG_OOB)`; its hole and the mark are `at` bytes ahead.
    Read { at: usize },
    /// The urgent pointer arrived, its byte not yet.
    NotYet,
}

/// A TCP receive queue as peeked: its bytes (the urgent byte among them, where it is) and its
/// urgent state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TcpQueue {
    pub bytes: Vec<u8>,
    pub urgent: Urgent,
}

impl TcpQueue {
    /// Where the pending urgent byte is, for the image (RS_OOB); a refusal naming socket `who`
    /// for the states the image cannot hold.
    pub(crate) fn pending_at(&self, who: &str) -> Result<Option<usize>, DumpError> {
        match self.urgent {
            Urgent::None => Ok(None),
            Urgent::Pending { at, .. } => Ok(Some(at)),
            Urgent::Read { at } => Err(DumpError::Refused(format!(
                "{who}: its TCP urgent byte was read already with recv(MSG_OOB), and the mark is still {at} bytes ahead (a read stops there and skips the byte's place); the image records a pending urgent byte only (RS_OOB), not a read one: refused (dump again once the process has read past the mark)"
            ))),
            Urgent::NotYet => Err(DumpError::Refused(format!(
                "{who}: TCP urgent data is announced (the urgent pointer arrived) but its byte has not: no interface reads a pointer without its byte, so the state cannot be recorded; dump again once it has arrived"
            ))),
        }
    }
}

/// Peek TCP socket `fd`'s receive queue, up to `len` bytes, without consuming anything or
/// leaving any option changed (see the module's notes).
pub(crate) fn peek_tcp_queue(fd: &OwnedFd, len: usize) -> Result<TcpQueue, DumpError> {
    let inline = net::sockopt::socket_oobinline(fd).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    if !inline {
        // The usual case, with no option changed: no urgent byte, no mark, every byte peeked.
        if let Some(q) = super::inet::without_peek_off(fd, || plain(fd, len))?? {
            return Ok(q);
        }
    }
    let got = super::inet::without_peek_off(fd, || peeks(fd, len));
    // Put SO_OOBINLINE back whatever happened.
    net::sockopt::set_socket_oobinline(fd, inline).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    let (byte, at_mark, head, rest) = got??;
    let mark = if at_mark {
        Some(0)
    } else if !rest.is_empty() {
        Some(head.len()) // the head's peek stopped short with bytes behind: at the mark
    } else {
        None
    };
    let mut bytes = head;
    bytes.extend_from_slice(&rest);
    bytes.truncate(len);
    let urgent = match (byte, mark) {
        (Oob::NotYet, _) => Urgent::NotYet,
        (Oob::Byte(b), Some(at)) if bytes.get(at) == Some(&b) => Urgent::Pending { at, byte: b },
        (Oob::Byte(b), _) => {
            return Err(DumpError::from(format!(
                "the urgent byte {b:#04x} was not found at the mark the peeks met ({mark:?}): the queue changed during the dump"
            )))
        }
        (Oob::None, Some(at)) => Urgent::Read { at },
        (Oob::None, None) => Urgent::None,
    };
    Ok(TcpQueue { bytes, urgent })
}

/// The bytes queued on TCP socket `fd`, the urgent byte among them: `FIONREAD` with
/// `SO_OOBINLINE` on for the call (`tcp_inq` counts only up to an urgent mark without it; live
/// 6.18.44: 2 for "ab", urgent "X", "c"), put back.
pub(crate) fn queued(fd: &OwnedFd) -> Result<usize, DumpError> {
    let inline = net::sockopt::socket_oobinline(fd).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    net::sockopt::set_socket_oobinline(fd, true).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    let n = rustix::io::ioctl_fionread(fd);
    net::sockopt::set_socket_oobinline(fd, inline).map_err(|e| format!("SO_OOBINLINE: {e}"))?;
    let n = n.map_err(|e| format!("FIONREAD: {e}"))?;
    usize::try_from(n).map_err(|_| DumpError::from("FIONREAD: more than this host can address"))
}

/// A socket without SO_OOBINLINE whose `recv(MSG_OOB | MSG_PEEK)` is EINVAL, SIOCATMARK 0 and
/// peek from the head gives all `len` bytes holds no urgent state (a mark would stop the
/// peek); `None` when it may hold some.
fn plain(fd: &OwnedFd, len: usize) -> Result<Option<TcpQueue>, DumpError> {
    let mut b = [0u8; 1];
    match net::recv(fd, &mut b[..], RecvFlags::OOB | RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        Err(e) if e == rustix::io::Errno::INVAL => {}
        _ => return Ok(None),
    }
    if crate::raw::at_mark(fd.as_fd()).map_err(|e| format!("SIOCATMARK: {e}"))? {
        return Ok(None);
    }
    let bytes = peek(fd, len)?;
    Ok((bytes.len() == len).then_some(TcpQueue { bytes, urgent: Urgent::None }))
}

/// What `recv(MSG_OOB | MSG_PEEK)` answered.
enum Oob {
    None,
    Byte(u8),
    NotYet,
}

/// The peeks, the socket's peek offset set aside: the `MSG_OOB` one (SO_OOBINLINE off), then
/// SIOCATMARK, the head's bytes and, if the head's peek stopped at the mark, the rest (SO_OOBINLINE on).
type Peeks = (Oob, bool, Vec<u8>, Vec<u8>);

fn peeks(fd: &OwnedFd, len: usize) -> Result<Peeks, DumpError> {
    let inline = |on: bool| net::sockopt::set_socket_oobinline(fd, on).map_err(|e| format!("SO_OOBINLINE: {e}"));
    inline(false)?;
    let mut b = [0u8; 1];
    let oob = match net::recv(fd, &mut b[..], RecvFlags::OOB | RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        Ok((1, _)) => Oob::Byte(b[0]),
        // 0: the connection is shut for reading with the byte still announced.
        Ok(_) => Oob::NotYet,
        Err(e) if e == rustix::io::Errno::INVAL => Oob::None,
        Err(e) if e == rustix::io::Errno::AGAIN => Oob::NotYet,
        Err(e) => return Err(DumpError::from(format!("recv(MSG_OOB | MSG_PEEK): {e}"))),
    };
    let at_mark = crate::raw::at_mark(fd.as_fd()).map_err(|e| format!("SIOCATMARK: {e}"))?;
    inline(true)?;
    let head = peek(fd, len)?;
    let mut rest = Vec::new();
    if !at_mark && !head.is_empty() && head.len() < len {
        let off = i32::try_from(head.len()).map_err(|_| "a TCP queue of more than 2 GiB")?;
        crate::raw::set_peek_off(fd.as_fd(), off).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
        let r = peek(fd, len - head.len());
        crate::raw::set_peek_off(fd.as_fd(), -1).map_err(|e| format!("SO_PEEK_OFF: {e}"))?;
        rest = r?;
    }
    Ok((oob, at_mark, head, rest))
}

/// One `MSG_PEEK` of up to `len` bytes (one more asked, to see what lies beyond); nothing
/// queued is no bytes.
fn peek(fd: &OwnedFd, len: usize) -> Result<Vec<u8>, DumpError> {
    if len == 0 {
        return Ok(Vec::new());
    }
    let mut buf = vec![0u8; len + 1];
    match net::recv(fd, &mut buf[..], RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        Ok((n, _)) => {
            buf.truncate(n.min(len));
            Ok(buf)
        }
        // Nothing queued; never connected (a socket restored closed).
        Err(e) if e == rustix::io::Errno::AGAIN || e == rustix::io::Errno::NOTCONN => Ok(Vec::new()),
        Err(e) => Err(DumpError::from(format!("MSG_PEEK: {e}"))),
    }
}
