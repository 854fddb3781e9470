//! The simulated AF_INET/AF_INET6 layer: TCP and UDP between sockets of one host, as Linux 6.18
//! answers; by default a host whose only interface is `lo` (a fresh network namespace:
//! 127.0.0.0/8 and ::1 are local).
//!
//! Sockets are ordinary [`SimSock`](super::SimSock)s (type, `sk_state`, receive queue,
//! shutdown bits, `sk_err`, peer, slots and references) plus an [`InetSock`] in
//! [`Kernel::inet`]. [`Kernel::apply`] hands every operation on an INET socket to
//! [`Kernel::inet_apply`], one `match` over the operation; closing goes through
//! [`Kernel::inet_release`].
//!
//! Sources, by function: `net/ipv4/af_inet.c` (`inet_bind`, `inet_listen`,
//! `__inet_stream_connect`, `inet_shutdown`), `inet_connection_sock.c` (`inet_csk_get_port`,
//! `inet_bind_conflict`, the bhash2 address rules, `inet_csk_listen_stop`), `tcp.c`
//! (`tcp_sendmsg_locked`, `tcp_recvmsg_locked`, `tcp_close`, `tcp_disconnect`), `tcp_input.c`
//! (`tcp_reset`, `tcp_fin`, `tcp_conn_request`: the accept queue is full when
//! `sk_ack_backlog > sk_max_ack_backlog`, so a listener with backlog N holds N + 1),
//! `inet_hashtables.c` (listener lookup: exact address before wildcard, AF_INET before a
//! dual-stack AF_INET6), `udp.c` (`udp_lib_lport_inuse`, `udp_sendmsg`, `__udp4_lib_lookup`,
//! `__skb_recv_udp`), `ipv6/af_inet6.c` (`__inet6_bind`), `ipv6/ipv6_sockglue.c` (IPV6_V6ONLY).
//!
//! The host's addresses are an input ([`HostAddrs`], default `lo` only): binds follow them, and
//! traffic between addresses of the host goes over `lo` like loopback traffic.
//!
//! Loopback is synchronous: a SYN, its SYN-ACK and ACK, a FIN, an RST or an ICMP port
//! unreachable are all processed before the call that sent them returns (softirqs run when the
//! sender re-enables them), so the model applies their effects inside the call. Where the answer
//! depends on time or on a randomly keyed hash, the model says so ([`Block::Undetermined`],
//! [`Block::BacklogFull`] for a dropped SYN) instead of guessing.
//!
//! DEVIATIONS (marked where they happen): ephemeral ports count up from 32768 (Linux picks
//! them at random in 32768–60999); a TIME_WAIT or orphaned FIN_WAIT2 socket never times out (Linux:
//! 60 s); TCP windows and buffers are not modelled: a send is taken whole while a connection
//! direction holds at most [`TCP_QUEUE_LIMIT`] unread bytes (2 MiB, checked on the kernel; part
//! may still sit in the sender's queue a moment), or more with buffers raised before the SYN
//! ([`big_queue_fits`]), and undetermined beyond; a UDP receiver's charge per datagram is known
//! within bounds ([`udp_truesize`]), so a drop for a full receive buffer is decided only when the
//! bounds settle it; SO_SNDBUF is recorded and otherwise ignored for UDP.

mod host;
mod ports;
mod route;
pub(super) mod sock;
mod tcp;
mod udp;
mod urgent;

pub use host::{HostAddr, HostAddrs, HostRoute, RouteLookup, Routes};
pub use ports::bind_conflict;
pub(super) use sock::mapped;
pub use sock::InetSock;

use super::ops::*;
use super::rule::{Refusal, Rule};
use super::state::{forced_rcvbuf, forced_sndbuf, Kernel, Skb, SockRef, SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF};
use crate::sock::{SkState, SsState};
use host::needs_scope_id;
use sock::{class, v4_of, V6Class};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

/// `net.ipv4.tcp_wmem[1]`: a new TCP socket's `sk_sndbuf`.
pub const TCP_WMEM_DEFAULT: i64 = 16384;
/// `net.ipv4.tcp_rmem[1]`: a new TCP socket's `sk_rcvbuf`.
pub const TCP_RMEM_DEFAULT: i64 = 131072;

/// `net.ipv4.ip_local_port_range`.
pub const EPHEMERAL_PORTS: (u16, u16) = (32768, 60999);
/// The unread bytes of one TCP connection direction the model vouches for. Loopback takes a
/// send whole while the receiver's queue and the sender's buffer can hold it, and both grow by
/// autotuning (tcp_rmem/tcp_wmem up to 6 MiB/4 MiB): live 6.18 took 3 MB in one send and refused
/// 4 MB. Below this bound (tested on the kernel: restore/tests/it/inet_restore.rs) a send is
/// taken; above it the answer is [`Block::Undetermined`].
pub const TCP_QUEUE_LIMIT: usize = 2 << 20;
/// Beyond [`TCP_QUEUE_LIMIT`]: `total` unread bytes in one direction are taken whole (one send or
/// several; as below the limit, a tail may sit in the sender's queue a moment) when the
/// receiver's buffer was at least `4 total + 1 MiB` when its SYN went (the window scale is fixed
/// then) and still is, and the sender's is at least `4 total + 2 MiB` — what the planner sets
/// for a big refill (live 6.18, up to 100 MB in one send; restore/tests/it/inet_restore.rs,
/// differential_inet.rs). With the kernel's doubling: `SO_RCVBUFFORCE(2 total +
/// 512 KiB)`, `SO_SNDBUFFORCE(2 total + 1 MiB)`.
pub fn big_queue_fits(total: i64, receiver_rcvbuf: i64, sender_sndbuf: i64) -> bool {
    let (rcv, snd) = big_queue_buffers(total);
    receiver_rcvbuf >= rcv && sender_sndbuf >= snd
}

/// The buffer sizes (`sk_rcvbuf` of the receiver, `sk_sndbuf` of the sender) that let `total`
/// unread bytes sit in one TCP direction at once ([`big_queue_fits`]).
pub fn big_queue_buffers(total: i64) -> (i64, i64) {
    (4 * total + (1 << 20), 4 * total + (2 << 20))
}

/// The bytes one send on a self-connected TCP socket with nothing unread delivers at once (live
/// 6.18: 70000 did; of 200000, 126976 arrived and the rest waited for a read). Beyond:
/// [`Block::Undetermined`].
pub const SELF_CONNECTED_SEND: usize = 64 << 10;
/// Bounds on the truesize a UDP datagram of `len` bytes is charged on a loopback receiver: at
/// least the data plus `struct sk_buff` (256), at most `2 len + 1024` (live 6.18: 832 for up
/// to ~100 bytes, 2304 for 1000, 8448 for 4000, len + 832 above 16 KiB).
pub fn udp_truesize(len: usize) -> (i64, i64) {
    (len as i64 + 256, 2 * len as i64 + 1024)
}

/// `listen()` on a TCP socket that has been in a connection ([`InetSock::was_connected`]),
/// once its port checks pass. Linux builds of the project's machine kind answer differently,
/// every time, whatever the timing: the build the model was first checked on listens (0); the
/// 6.18.44 build of 2026-12 answers `EINVAL` — after a refused connect (blocking or not), after
/// a connection and `connect(AF_UNSPEC)`, for an accepted socket after `connect(AF_UNSPEC)`,
/// after a SYN dropped by a full backlog, while a connect that failed before sending its SYN
/// (`ENETUNREACH`) leaves listen() working (docs/simulator.md, "Answers the model does not
/// fix"). The model gives both answers and follows the first (nothing changes).
pub fn listen_after_a_connection() -> Outcome {
    Outcome::either(
        "listen() on a TCP socket that has been in a connection: Linux builds differ (EINVAL on some, 0 on others)",
        vec![Outcome::err(Errno::EINVAL), Outcome::ok(0)],
    )
}

/// `connect()` on a TCP socket that once listened ([`InetSock::listened`]) and was disconnected
/// (`connect(AF_UNSPEC)`, `shutdown(SHUT_RD)`): `EINVAL` on the 6.18.44 build of 2026-12
/// (whatever the destination), the ordinary answer where the model was first checked. Both
/// answers; the model follows the first (nothing changes).
pub fn connect_after_listening(ordinary: Outcome) -> Outcome {
    Outcome::either_of(
        "connect() on a TCP socket that once listened: Linux builds differ (EINVAL on some, the usual answer on others)",
        Outcome::err(Errno::EINVAL),
        ordinary,
    )
}

/// The largest UDP payload over IPv4 (65535 − 20 − 8) and over IPv6 (65535 − 8).
pub const UDP_MAX: (usize, usize) = (65507, 65527);

/// The best-scoring socket of a lookup (`compute_score` in `__inet_lookup_listener` and
/// `__udp4_lib_lookup`/`__udp6_lib_lookup`): the first to reach the highest score, and how many
/// others reached it too (a tie is the kernel's choice by a keyed hash or a chain order).
pub(super) struct Best {
    best: Option<(u8, SockRef)>,
    ties: usize,
}

impl Best {
    pub(super) fn new() -> Best {
        Best { best: None, ties: 0 }
    }

    /// Count `candidate` with its `score`.
    pub(super) fn offer(&mut self, score: u8, candidate: SockRef) {
        match self.best {
            Some((b, _)) if b > score => {}
            Some((b, _)) if b == score => self.ties += 1,
            _ => {
                self.best = Some((score, candidate));
                self.ties = 0;
            }
        }
    }

    /// The winner (`None` when nothing scored), or `Err` with the number of others that tie with
    /// it.
    pub(super) fn winner(&self) -> Result<Option<SockRef>, usize> {
        match self.best {
            Some(_) if self.ties > 0 => Err(self.ties),
            b => Ok(b.map(|(_, o)| o)),
        }
    }
}

/// Which side of a TCP reset gets which error (`tcp_reset`).
pub(super) fn reset_errno(state: SkState) -> Option<Errno> {
    match state {
        SkState::SynSent => Some(Errno::ECONNREFUSED),
        SkState::CloseWait => Some(Errno::EPIPE),
        SkState::Close => None,
        _ => Some(Errno::ECONNRESET),
    }
}

/// The address family a `SockAddr` is, and its length as passed to the kernel.
pub(super) fn addr_len(a: &SockAddr) -> (u16, usize) {
    match a {
        SockAddr::Path(p) => (1, 2 + p.len() + 1),
        SockAddr::Abstract(n) => (1, 2 + 1 + n.len()),
        SockAddr::Autobind => (1, 2),
        SockAddr::Unspec => (0, 16),
        SockAddr::Inet(SocketAddr::V4(_)) => (2, 16),
        SockAddr::Inet(SocketAddr::V6(_)) => (10, 28),
    }
}

impl Kernel {
    /// The INET part of the socket behind a slot.
    pub fn inet_sock(&self, slot: Slot) -> Option<&InetSock> {
        self.slots.get(&slot).and_then(|r| self.inet.get(r))
    }

    fn isk(&self, r: SockRef) -> &InetSock {
        &self.inet[&r]
    }

    fn isk_mut(&mut self, r: SockRef) -> &mut InetSock {
        self.inet.get_mut(&r).expect("an INET socket has its INET part")
    }

    /// Apply `op` if it concerns an INET socket; `None` hands it to the AF_UNIX code.
    pub(super) fn inet_apply(&mut self, op: &Op) -> Option<Outcome> {
        let inet_slot = |k: &Kernel, slot: &Slot| k.slots.get(slot).copied().filter(|r| k.inet.contains_key(r));
        let out = match op {
            Op::SocketInet { slot, family, ty } => {
                if self.slots.contains_key(slot) {
                    return Some(Outcome::Invalid { why: format!("slot {slot} is already open") });
                }
                // inet_create: no protocol serves SOCK_SEQPACKET.
                if *ty == SockType::Seqpacket {
                    return Some(self.deny(Rule::InetNoSeqpacket, Errno::ESOCKTNOSUPPORT));
                }
                let r = self.new_sock(*ty);
                let s = &mut self.socks[r];
                s.max_ack_backlog = 0;
                if *ty == SockType::Stream {
                    // tcp_init_sock: tcp_wmem[1] and tcp_rmem[1]. DEVIATION: autotuning, which
                    // grows them while the buffers are not locked by SO_SNDBUF/SO_RCVBUF, is
                    // not modelled.
                    s.sndbuf = TCP_WMEM_DEFAULT;
                    s.rcvbuf = TCP_RMEM_DEFAULT;
                }
                self.inet.insert(r, InetSock::new(*family, *ty == SockType::Stream));
                self.attach(*slot, r);
                Outcome::ok(0)
            }
            Op::Bind { slot, addr } => {
                let r = inet_slot(self, slot)?;
                self.inet_bind(r, addr)
            }
            Op::Listen { slot, backlog } => {
                let r = inet_slot(self, slot)?;
                self.inet_listen(r, i64::from(*backlog))
            }
            Op::Connect { slot, addr } => {
                let r = inet_slot(self, slot)?;
                if self.isk(r).tcp {
                    self.tcp_connect(r, addr)
                } else {
                    self.udp_connect(r, addr)
                }
            }
            Op::Accept { slot, new } => {
                let r = inet_slot(self, slot)?;
                if self.slots.contains_key(new) {
                    return Some(Outcome::Invalid { why: format!("slot {new} is already open") });
                }
                self.inet_accept(r, *new)
            }
            Op::Send { slot, to, data, rights } => {
                let r = inet_slot(self, slot)?;
                if rights.iter().any(|s| !self.slots.contains_key(s)) {
                    return Some(self.deny(Rule::BadFd, Errno::EBADF));
                }
                if !rights.is_empty() {
                    // __sock_cmsg_send: SCM_RIGHTS exists for AF_UNIX only.
                    return Some(self.deny(Rule::RightsNeedUnix, Errno::EINVAL));
                }
                if self.isk(r).tcp {
                    self.tcp_send(r, &data.0)
                } else {
                    self.udp_send(r, to.as_ref(), &data.0)
                }
            }
            Op::SendOob { slot, byte, rights } => {
                let r = inet_slot(self, slot)?;
                if rights.iter().any(|s| !self.slots.contains_key(s)) {
                    return Some(self.deny(Rule::BadFd, Errno::EBADF));
                }
                if !self.isk(r).tcp {
                    return Some(self.udp_send_oob(r, *byte));
                }
                if !rights.is_empty() {
                    return Some(self.deny(Rule::RightsNeedUnix, Errno::EINVAL));
                }
                self.tcp_send_oob(r, *byte)
            }
            Op::Recv { slot, len, peek } => {
                let r = inet_slot(self, slot)?;
                if self.isk(r).tcp {
                    self.tcp_recv(r, *len as usize, *peek)
                } else {
                    self.udp_recv(r, *len as usize, *peek)
                }
            }
            Op::Shutdown { slot, how } => {
                let r = inet_slot(self, slot)?;
                self.inet_shutdown(r, how.bits())
            }
            Op::SetSockOpt { slot, opt } => {
                let r = inet_slot(self, slot)?;
                self.inet_setsockopt(r, *opt)
            }
            Op::Socket { .. }
            | Op::Socketpair { .. }
            | Op::Unlink { .. }
            | Op::SetNonblock { .. }
            | Op::Close { .. }
            | Op::Chdir { .. }
            | Op::SetSysctl { .. }
            | Op::Place { .. } => return None,
        };
        Some(out)
    }

    fn inet_setsockopt(&mut self, r: SockRef, opt: SockOpt) -> Outcome {
        let (wmem_max, rmem_max) = (self.sysctl.wmem_max, self.sysctl.rmem_max);
        let bound = self.isk(r).port() != 0;
        let family = self.isk(r).family;
        let v = |x: i32| i64::from(x.max(0));
        match opt {
            SockOpt::SndBuf(x) => self.socks[r].sndbuf = (2 * v(x).min(wmem_max)).max(SOCK_MIN_SNDBUF),
            SockOpt::SndBufForce(x) => self.socks[r].sndbuf = forced_sndbuf(x),
            SockOpt::RcvBuf(x) => self.socks[r].rcvbuf = (2 * v(x).min(rmem_max)).max(SOCK_MIN_RCVBUF),
            SockOpt::RcvBufForce(x) => self.socks[r].rcvbuf = forced_rcvbuf(x),
            // Linux 6.16 made SO_PASSCRED and SO_PASSSEC AF_UNIX (and netlink) options.
            SockOpt::PassCred(_) | SockOpt::PassSec(_) => return self.deny(Rule::PassOptionNotUnix, Errno::EOPNOTSUPP),
            o if o.recorded().is_some_and(OptName::is_tcp) && !self.isk(r).tcp => {
                return self.deny(Rule::TcpOptionOnUdp, Errno::ENOPROTOOPT)
            }
            SockOpt::TcpKeepIdle(v) | SockOpt::TcpKeepIntvl(v) if !(1..=crate::sockopt::MAX_TCP_KEEP).contains(&v) => {
                return self.deny(Rule::OptionValueOutOfRange, Errno::EINVAL)
            }
            SockOpt::TcpKeepCnt(v) if !(1..=crate::sockopt::MAX_TCP_KEEPCNT).contains(&v) => {
                return self.deny(Rule::OptionValueOutOfRange, Errno::EINVAL)
            }
            SockOpt::ReuseAddr(on) => self.isk_mut(r).reuse = on,
            SockOpt::ReusePort(on) => self.isk_mut(r).reuseport = on,
            SockOpt::V6Only(on) => {
                // ip_setsockopt knows no IPPROTO_IPV6 option; an AF_INET6 socket refuses the
                // change once it has a port.
                if family == InetFamily::Inet {
                    return self.deny(Rule::Ipv6OptionOnIpv4, Errno::ENOPROTOOPT);
                }
                if bound {
                    return self.deny(Rule::V6OnlyAfterBind, Errno::EINVAL);
                }
                self.isk_mut(r).v6only = on;
            }
            o => super::state::store_opt(&mut self.socks[r].opts, o),
        }
        Outcome::ok(0)
    }
}

impl Kernel {
    /// The last reference to an INET socket is gone (`tcp_close`, `udp_lib_close`).
    pub(super) fn inet_release(&mut self, r: SockRef) {
        if !self.isk(r).tcp {
            self.socks[r].dead = true;
            self.set_state(r, SkState::Close);
            self.socks[r].queue.clear();
            self.isk_mut(r).rmem = (0, 0);
            self.isk_mut(r).bound = false;
            return;
        }
        let state = self.socks[r].state;
        let unread = self.socks[r].queue.iter().any(|s| !s.data.is_empty());
        self.socks[r].dead = true;
        match state {
            SkState::Listen => {
                self.listen_stop(r);
                self.set_state(r, SkState::Close);
                self.isk_mut(r).bound = false;
            }
            SkState::Established | SkState::CloseWait | SkState::FinWait1 | SkState::FinWait2 if unread => {
                // Unread data: RST instead of FIN.
                self.socks[r].queue.clear();
                if let Some(p) = self.socks[r].peer {
                    if p != r {
                        self.reset(p);
                    }
                }
                self.set_state(r, SkState::Close);
                self.isk_mut(r).bound = false;
            }
            SkState::Established | SkState::CloseWait => {
                self.send_fin(r);
                if self.socks[r].state == SkState::Close {
                    self.isk_mut(r).bound = false;
                }
                // Otherwise an orphan in FIN_WAIT2 (or TIME_WAIT, self-connected) holds the port.
            }
            SkState::FinWait2 | SkState::TimeWait => {}
            _ => {
                self.set_state(r, SkState::Close);
                self.isk_mut(r).bound = false;
            }
        }
    }
}
