//! `restore run --verify` for AF_INET/AF_INET6 sockets: every placed TCP/UDP socket read back
//! from the kernel and compared with the image — getsockname/getpeername, SO_ACCEPTCONN,
//! SO_REUSEADDR, SO_REUSEPORT, IPV6_V6ONLY, the TCP state and shutdown bits, a listener's
//! backlog and the connections in its accept queue (inet_diag: their addresses and unread bytes;
//! the accept order is not visible without accepting), unread TCP bytes and queued datagrams
//! (peeked, nothing consumed), and the buffer sizes (UDP's, and TCP's where `SO_SNDBUF` /
//! `SO_RCVBUF` locked them).
//!
//! What the plan says it cannot rebuild is expected as the plan leaves it, not as the image
//! has it (the plan warned about each): a socket on an address this host does not have is
//! unbound; one bound to a broadcast or multicast address is bound but carries nothing; a TCP
//! socket connected to itself is connected to itself again; a connection to a
//! peer outside the image, or through such an address, is a closed
//! TCP socket (an unconnected UDP one) with nothing queued; a pending connection whose client
//! is gone is not there.

use crate::diag_inet::InetDiag;
use crate::dump::urgent::{peek_tcp_queue, TcpQueue, Urgent};
use crate::exec::Held;
use resocket_core::image::inet::canonical;
use resocket_core::image::{Image, Sock};
use resocket_core::plan::{on_host, outside_connect, rebuilt_peers, OnHost};
use resocket_core::sim::ops::How;
use resocket_core::sim::HostAddrs;
use resocket_core::sock::SkState;
use resocket_core::wire::{self, AF_INET6, INET_REUSEPORT, INET_V6ONLY};
use rustix::fd::AsFd;
use rustix::net;
use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;

fn inet_addr(a: Option<net::SocketAddrAny>) -> Option<SocketAddr> {
    a.and_then(|a| SocketAddr::try_from(a).ok()).map(canonical)
}

fn show(a: Option<SocketAddr>) -> String {
    a.map_or_else(|| "(none)".into(), |a| a.to_string())
}

/// FIN_WAIT1 and FIN_WAIT2 differ only by whether the peer has acknowledged the FIN, which a
/// peer in CLOSE_WAIT delays (~40 ms on loopback): one state here.
fn fin_wait(state: u8) -> u8 {
    if state == SkState::FinWait1.raw() {
        SkState::FinWait2.raw()
    } else {
        state
    }
}

/// What the plan rebuilt, as `--verify` expects it back: the sockets it could not bind or
/// follows no traffic for, the peers it reconnected, and what inet_diag lists.
struct Expect<'v, 'a> {
    img: &'v Image<'a>,
    /// Sockets whose recorded address this host does not have: left unbound.
    lacking: BTreeSet<i32>,
    /// Bound to a broadcast or multicast address: bound, but no traffic planned (plan/inet.rs).
    mute: BTreeSet<i32>,
    /// Peers the plan rebuilds (core's `plan::rebuilt_peers`): both ends in the image, both
    /// addresses this host's; a socket connected to itself is its own.
    rebuilt: BTreeMap<i32, i32>,
    /// UDP sockets the plan connects again to their peer outside the image (core's
    /// `plan::outside_connect`: where the model says the connect works on this host).
    outside: BTreeSet<i32>,
    /// inet_diag's sockets, and those with a file by inode.
    diag: &'v [InetDiag],
    by_ino: BTreeMap<u32, &'v InetDiag>,
}

impl<'v, 'a> Expect<'v, 'a> {
    fn new(img: &'v Image<'a>, host: &HostAddrs, diag: &'v [InetDiag]) -> Self {
        let by_ino = diag.iter().filter(|d| d.ino != 0).map(|d| (d.ino, d)).collect();
        // Where plan/inet.rs leaves each socket on this host (core's one rule).
        let fits = |want: fn(OnHost) -> bool| -> BTreeSet<i32> {
            img.sockets.values().filter(|s| s.inet.is_some() && want(on_host(s, host))).map(|s| s.objref).collect()
        };
        let lacking = fits(|f| matches!(f, OnHost::Missing(_)));
        let mute = fits(|f| f == OnHost::Mute);
        let rebuilt = rebuilt_peers(img, host);
        let outside = img
            .sockets
            .values()
            .filter(|s| !rebuilt.contains_key(&s.objref) && outside_connect(s, host).is_some_and(|o| o.is_ok()))
            .map(|s| s.objref)
            .collect();
        Expect { img, lacking, mute, rebuilt, outside, diag, by_ino }
    }

    /// The plan leaves it unbound, or bound with no traffic.
    fn off(&self, o: &i32) -> bool {
        self.lacking.contains(o) || self.mute.contains(o)
    }
}

/// The differences of one socket, each a line naming it (`who`).
struct Diffs<'o> {
    who: String,
    out: &'o mut Vec<String>,
}

impl Diffs<'_> {
    /// A line when `got` is not `want`.
    fn diff(&mut self, what: &str, got: String, want: String) {
        if got != want {
            self.out.push(format!("{}: {what} is {got}, the image says {want}", self.who));
        }
    }

    /// A line of its own.
    fn say(&mut self, line: impl std::fmt::Display) {
        self.out.push(format!("{}: {line}", self.who));
    }
}

/// Compare every placed INET socket with the image; differences appended to `out`, one line
/// each. `objref_of` maps a held descriptor to its socket's objref.
pub(crate) fn verify(
    img: &Image<'_>,
    held: &[Held],
    objref_of: &dyn Fn(&Held) -> Option<i32>,
    host: &HostAddrs,
    out: &mut Vec<String>,
) {
    let inet_held: Vec<(&Held, &Sock<'_>)> = held
        .iter()
        .filter_map(|h| Some((h, img.sockets.get(&objref_of(h)?)?)))
        .filter(|(_, s)| s.inet.is_some())
        .collect();
    if inet_held.is_empty() {
        return;
    }
    let diag: Vec<InetDiag> = match crate::diag_inet::dump() {
        Ok(d) => d,
        Err(e) => {
            out.push(format!("inet_diag: {e}"));
            Vec::new()
        }
    };
    let e = Expect::new(img, host, &diag);
    for (h, s) in inet_held {
        let mut d = Diffs { who: format!("pid {} fd {} (#{})", h.pid, h.fd, s.objref), out: &mut *out };
        verify_socket(&e, h, s, &mut d);
    }
}

/// One held socket against its image socket `s`.
fn verify_socket(e: &Expect<'_, '_>, h: &Held, s: &Sock<'_>, d: &mut Diffs<'_>) {
    let fd = h.owned.as_fd();
    let ino = rustix::fs::fstat(&h.owned).map(|st| st.st_ino as u32).unwrap_or(0);
    let bound = s.inet_local().filter(|l| l.port() != 0 && !e.lacking.contains(&s.objref)).map(canonical);
    let got_local = inet_addr(net::getsockname(fd).ok()).filter(|l| l.port() != 0);
    d.diff("getsockname", show(got_local), show(bound));
    // Its own peer (core's `peers`, by `PeerIndex::peer`): a TCP simultaneous open with
    // itself, a UDP socket connected to its own address.
    let own = e.rebuilt.get(&s.objref) == Some(&s.objref);
    let connected = s.inet_connected() && (e.rebuilt.contains_key(&s.objref) || e.outside.contains(&s.objref));
    let want_peer = if connected { s.inet_remote().map(canonical) } else { None };
    let got_peer = inet_addr(net::getpeername(fd).ok().flatten());
    d.diff("getpeername", show(got_peer), show(want_peer));
    let listening = s.is_listener() && !e.lacking.contains(&s.objref);
    verify_options(fd, s, listening, d);
    verify_buffers(fd, s, d);
    // A closed socket is in no hash table, so inet_diag does not list it.
    let closed = InetDiag {
        protocol: 0,
        state: wire::TCP_CLOSE,
        local: SocketAddr::from(([0, 0, 0, 0], 0)),
        remote: SocketAddr::from(([0, 0, 0, 0], 0)),
        ino,
        rqueue: 0,
        wqueue: 0,
        shutdown: 0,
        bufs: None,
        v6only: None,
    };
    let got = e.by_ino.get(&ino).copied().unwrap_or(&closed);
    if s.is_tcp() {
        // The TCP state and shutdown bits: as recorded for a rebuilt connection or listener,
        // CLOSE and none for a socket the plan restores closed.
        let want = if connected || listening {
            (fin_wait(s.common.state), s.common.shutdown & wire::SHUTDOWN_MASK)
        } else {
            (wire::TCP_CLOSE, 0)
        };
        d.diff(
            "TCP state, shutdown (inet_diag)",
            format!("{:?}", (fin_wait(got.state), got.shutdown)),
            format!("{want:?}"),
        );
    } else if connected && got.shutdown != s.common.shutdown & wire::SHUTDOWN_MASK {
        d.diff("shutdown (inet_diag)", got.shutdown.to_string(), (s.common.shutdown & wire::SHUTDOWN_MASK).to_string());
    }
    if listening {
        verify_accept_queue(e, s, bound, got, d);
    } else if s.is_tcp() {
        verify_unread(h, s, connected, own, d);
    } else {
        verify_datagrams(h, s, e.off(&s.objref), d);
    }
}

/// SO_ACCEPTCONN, SO_REUSEADDR, SO_REUSEPORT and (AF_INET6) IPV6_V6ONLY.
fn verify_options(fd: rustix::fd::BorrowedFd<'_>, s: &Sock<'_>, listening: bool, d: &mut Diffs<'_>) {
    d.diff(
        "SO_ACCEPTCONN",
        net::sockopt::socket_acceptconn(fd).map_or_else(|e| e.to_string(), |b| b.to_string()),
        listening.to_string(),
    );
    d.diff(
        "SO_REUSEADDR",
        net::sockopt::socket_reuseaddr(fd).map_or_else(|e| e.to_string(), |b| b.to_string()),
        (s.common.reuse != 0).to_string(),
    );
    d.diff(
        "SO_REUSEPORT",
        net::sockopt::socket_reuseport(fd).map_or_else(|e| e.to_string(), |b| b.to_string()),
        s.inet_has(INET_REUSEPORT).to_string(),
    );
    if s.common.family == AF_INET6 {
        d.diff(
            "IPV6_V6ONLY",
            net::sockopt::ipv6_v6only(fd).map_or_else(|e| e.to_string(), |b| b.to_string()),
            s.inet_has(INET_V6ONLY).to_string(),
        );
    }
}

/// Buffer sizes: UDP always (it never changes them itself), TCP where SO_SNDBUF / SO_RCVBUF
/// locked them (otherwise autotuning owns them). The kernel doubles the value set and applies
/// its minimums.
fn verify_buffers(fd: rustix::fd::BorrowedFd<'_>, s: &Sock<'_>, d: &mut Diffs<'_>) {
    let locks = s.common.userlocks;
    let (snd, rcv) = (s.common.sndbuf, s.common.rcvbuf);
    let want = |x: i32, min: i64| (2 * i64::from(x)).max(min).to_string();
    if snd > 0 && (s.is_udp() || locks & 1 != 0) {
        d.diff(
            "SO_SNDBUF",
            net::sockopt::socket_send_buffer_size(fd).map_or_else(|e| e.to_string(), |v| v.to_string()),
            want(snd, resocket_core::sim::kernel::SOCK_MIN_SNDBUF),
        );
    }
    if rcv > 0 && (s.is_udp() || locks & 2 != 0) {
        d.diff(
            "SO_RCVBUF",
            net::sockopt::socket_recv_buffer_size(fd).map_or_else(|e| e.to_string(), |v| v.to_string()),
            want(rcv, resocket_core::sim::kernel::SOCK_MIN_RCVBUF),
        );
    }
}

/// A listener's backlog (`got`: its inet_diag entry) and the connections waiting in its accept
/// queue: inet_diag lists them with inode 0, by their addresses (`bound`: the listener's).
fn verify_accept_queue(e: &Expect<'_, '_>, s: &Sock<'_>, bound: Option<SocketAddr>, got: &InetDiag, d: &mut Diffs<'_>) {
    d.diff("backlog (inet_diag)", got.wqueue.to_string(), s.effective_backlog().to_string());
    let local = bound;
    // Each embryo's unread bytes, and whether its client shut down for writing: the FIN takes
    // one sequence number, so inet_diag's `idiag_rqueue` (rcv_nxt - copied_seq) counts it once
    // it has arrived — on loopback that is softirq work, which may run after shutdown()
    // returns: both counts are the kernel's answer.
    let mut want: Vec<(String, usize, bool)> = s
        .pending
        .iter()
        .filter(|p| e.rebuilt.get(&p.embryo) == Some(&p.client))
        .filter_map(|p| Some((e.img.sockets.get(&p.embryo)?, e.img.sockets.get(&p.client))))
        .map(|(c, client)| {
            let fin = client.is_some_and(|k| k.common.shutdown & How::Wr.bits() != 0);
            (
                format!("{} from {}", show(c.inet_local().map(canonical)), show(c.inet_remote().map(canonical))),
                c.queued_bytes(),
                fin,
            )
        })
        .collect();
    // Children are of their listener's family (an AF_INET6 one's IPv4 children have
    // v4-mapped addresses); TIME_WAIT sockets have inode 0 too.
    let v6 = s.common.family == AF_INET6;
    let mut queued: Vec<(String, usize)> = e
        .diag
        .iter()
        .filter(|c| c.ino == 0 && c.protocol == crate::diag_inet::IPPROTO_TCP)
        .filter(|c| !matches!(c.sk_state(), Some(SkState::Listen | SkState::TimeWait)) && c.local.is_ipv6() == v6)
        .filter(|c| {
            local.is_some_and(|l| {
                l.port() == c.local.port() && (l.ip().is_unspecified() || canonical(c.local).ip() == l.ip())
            })
        })
        .map(|c| (format!("{} from {}", canonical(c.local), canonical(c.remote)), c.rqueue as usize))
        .collect();
    want.sort();
    queued.sort();
    // A FIN that has arrived is not a byte to read.
    for (q, (addr, bytes, fin)) in queued.iter_mut().zip(&want) {
        if *fin && q.0 == *addr && q.1 == bytes + 1 {
            q.1 = *bytes;
        }
    }
    let want: Vec<(String, usize)> = want.into_iter().map(|(a, b, _)| (a, b)).collect();
    d.diff("accept queue (inet_diag)", format!("{queued:?}"), format!("{want:?}"));
    d.diff("pending connections (inet_diag)", got.rqueue.to_string(), want.len().to_string());
}

/// A TCP socket's unread bytes and urgent mark, peeked (dump/urgent.rs: nothing consumed): the
/// image's queue and RS_OOB for a rebuilt connection (none for one restored closed, or a
/// self-connected one's beyond what the plan sends itself at once).
fn verify_unread(h: &Held, s: &Sock<'_>, connected: bool, own: bool, d: &mut Diffs<'_>) {
    let mut want: Vec<u8> =
        if connected { s.queue.iter().flat_map(|m| m.data.iter().copied()).collect() } else { Vec::new() };
    let mut want_urgent = match s.oob.filter(|_| connected) {
        Some(o) => {
            let at: usize = s.queue.iter().take(o.index as usize).map(|m| m.data.len()).sum();
            want.get(at).map_or(Urgent::None, |&byte| Urgent::Pending { at, byte })
        }
        None => Urgent::None,
    };
    if own {
        want_urgent = Urgent::None; // re-sent in one send, as ordinary data: urgent-mark-lost
    }
    if own && want.len() > resocket_core::sim::inet::SELF_CONNECTED_SEND {
        want.clear(); // more than the plan can send itself at once: dropped, with a warning
    }
    let got = match peek_tcp(&h.owned, want.len()) {
        Ok(g) => g,
        Err(e) => {
            d.say(e);
            return;
        }
    };
    if got.bytes != want {
        d.say(format_args!(
            "unread bytes are {} ({} bytes), the image says {} ({} bytes)",
            resocket_core::bstr::escape(&got.bytes[..got.bytes.len().min(64)]),
            got.bytes.len(),
            resocket_core::bstr::escape(&want[..want.len().min(64)]),
            want.len()
        ));
    }
    if got.urgent != want_urgent {
        d.say(format_args!(
            "the urgent mark is {}, the image says {}",
            show_urgent(got.urgent),
            show_urgent(want_urgent)
        ));
    }
}

/// An urgent state, for a difference.
fn show_urgent(u: Urgent) -> String {
    match u {
        Urgent::None => "none".into(),
        Urgent::Pending { at, byte } => format!("the byte {byte:#04x} after {at} bytes"),
        Urgent::Read { at } => format!("after {at} bytes, its byte read already"),
        Urgent::NotYet => "announced, its byte not arrived".into(),
    }
}

/// A UDP socket's queued datagrams, peeked (none where the plan follows no traffic: `off`).
fn verify_datagrams(h: &Held, s: &Sock<'_>, off: bool, d: &mut Diffs<'_>) {
    let want: Vec<Vec<u8>> = if off { Vec::new() } else { s.queue.iter().map(|m| m.data.to_vec()).collect() };
    match crate::dump::inet::peek_datagrams(&h.owned) {
        Ok(got) => {
            let got: Vec<Vec<u8>> = got.into_iter().map(|(_, b)| b).collect();
            if got != want {
                let show = |v: &[Vec<u8>]| {
                    v.iter().map(|b| format!("\"{}\"", resocket_core::bstr::escape(b))).collect::<Vec<_>>().join(", ")
                };
                d.say(format_args!("queued datagrams are [{}], the image says [{}]", show(&got), show(&want)));
            }
        }
        Err(e) => d.say(format_args!("reading the datagrams: {e}")),
    }
}

/// Unread bytes of a TCP socket and its urgent mark, peeked: up to `want` + 1 bytes, waiting
/// (up to a second) while fewer than `want` have arrived (a big refill may still sit in the
/// sender's queue a moment).
fn peek_tcp(fd: &rustix::fd::OwnedFd, want: usize) -> Result<TcpQueue, crate::dump::DumpError> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let q = peek_tcp_queue(fd, want + 1)?;
        if q.bytes.len() >= want || std::time::Instant::now() >= deadline {
            return Ok(q);
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}
