//! The TCP and UDP sockets of a CRIU checkpoint as scenario sockets: each one's spec, peers
//! matched by address pair (the end on a listener's port is the accepted one), what tcp-stream
//! holds that is not repaired, and the remotes the saved namespace's routes do not reach.

use super::{base_spec, how, msg, unmodelled_options, Ctx, Note, NoteCode};
use crate::criu::check::{CLOSE, DGRAM, LISTEN, STREAM};
use crate::criu::{pb, TcpStream};
use crate::image::inet::canonical;
use crate::scenario::PendingSpec;
use crate::sim::ops::{InetFamily, SockType};
use crate::sim::SockOpt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub(super) fn inet_sockets(c: &mut Ctx<'_>) {
    let ck = &c.o.checkpoint;
    let mut ins: Vec<In> = Vec::new();
    for s in &ck.inet {
        let sk = &s.sk;
        let Some((family, ty)) = inet_kind(c, sk) else { continue };
        let tcp = ty == SockType::Stream;
        let kind = if tcp { "tcp" } else { "udp" };
        let mut spec = base_spec(format!("{kind}-{}", sk.ino), Some(family), ty, &sk.opts);
        if tcp {
            let ts = ck.tcp_streams.iter().find(|t| t.ino == sk.ino).map(|t| &t.ts);
            tcp_options(&mut spec.opts, sk.tcp_opts.as_ref(), ts);
        }
        spec.nonblock = sk.flags & crate::wire::O_NONBLOCK != 0;
        let local = SocketAddr::new(ip(family, &sk.src_addr), sk.src_port.min(65535) as u16);
        let remote = SocketAddr::new(ip(family, &sk.dst_addr), sk.dst_port.min(65535) as u16);
        let connected = sk.state != CLOSE && sk.state != LISTEN && sk.dst_port != 0;
        spec.addr = (sk.src_port != 0 || !local.ip().is_unspecified()).then(|| addr_spec(local));
        spec.reuseaddr = sk.opts.reuseaddr == Some(true);
        spec.reuseport = sk.opts.so_reuseport == Some(true);
        spec.v6only = family == InetFamily::Inet6 && sk.v6only == Some(true);
        spec.shutdown = how(sk.shutdown);
        let listen = tcp && sk.state == LISTEN;
        if listen {
            spec.listen = Some(sk.backlog.min(i16::MAX as u32) as i16);
        }
        let i = c.sockets.len();
        c.sockets.push(spec);
        c.by_id.entry(s.id).or_insert(i);
        let opts = unmodelled_options(&sk.opts, false);
        if !opts.is_empty() {
            c.note(NoteCode::OptionNotModelled, Some(i), format!("not restored by resocket: {}", opts.join(", ")));
        }
        if !tcp {
            c.note(
                NoteCode::UdpQueue,
                Some(i),
                "CRIU does not dump UDP receive queues: the socket restores empty".into(),
            );
        }
        let v6only = c.sockets[i].v6only;
        ins.push(In { i, local, remote: connected.then_some(remote), listen, tcp, ino: sk.ino, v6only });
    }
    // The saved namespace's host and routes, for the remotes outside the checkpoint.
    let reach = c.o.host_ns().and_then(|ns| Some(Reach { ns, host: c.o.host()?, routes: c.o.host_routes(ns) }));
    inet_peers(c, &ins, reach.as_ref());
}

/// The `IPPROTO_TCP` options of a TCP socket that differ from a new socket's: CRIU ≥ 4.0 saves
/// them for every TCP socket in `inet_sk_entry.tcp_opts`; older ones only `cork` and `nodelay`
/// of an established one, in tcp-stream. `sk_opts`' keepalive times, where CRIU wrote them,
/// come first (`recorded_options`).
fn tcp_options(opts: &mut Vec<SockOpt>, t: Option<&pb::TcpOptsEntry>, ts: Option<&pb::TcpStreamEntry>) {
    let nodelay = t.and_then(|t| t.nodelay).or(ts.and_then(|ts| ts.nodelay));
    let cork = t.and_then(|t| t.cork).or(ts.and_then(|ts| ts.cork));
    let int = |v: u32, max: i32| i32::try_from(v).unwrap_or(i32::MAX).clamp(1, max);
    let keep = crate::sockopt::MAX_TCP_KEEP;
    let found = [
        nodelay.map(SockOpt::TcpNoDelay),
        cork.map(SockOpt::TcpCork),
        t.and_then(|t| t.keepidle).map(|v| SockOpt::TcpKeepIdle(int(v, keep))),
        t.and_then(|t| t.keepintvl).map(|v| SockOpt::TcpKeepIntvl(int(v, keep))),
        t.and_then(|t| t.keepcnt).map(|v| SockOpt::TcpKeepCnt(int(v, crate::sockopt::MAX_TCP_KEEPCNT))),
    ];
    for o in found.into_iter().flatten() {
        let Some(name) = o.recorded() else { continue };
        if o != SockOpt::default_of(name) && !opts.iter().any(|have| have.recorded() == Some(name)) {
            opts.push(o);
        }
    }
}

/// A TCP or UDP socket of the checkpoint, as the peer matching sees it.
struct In {
    i: usize,
    local: SocketAddr,
    remote: Option<SocketAddr>,
    listen: bool,
    tcp: bool,
    ino: u32,
    /// An AF_INET6 socket with IPV6_V6ONLY.
    v6only: bool,
}

impl In {
    /// How well this socket, a listener, matches a connection to `to`: the simulator's rule
    /// (`InetSock::listener_score`, `__inet_lookup_listener`); `None` for one that does not
    /// take it or does not listen.
    fn listener_score(&self, to: SocketAddr) -> Option<u8> {
        if !self.listen {
            return None;
        }
        let family = if self.local.is_ipv6() { InetFamily::Inet6 } else { InetFamily::Inet };
        let mut s = crate::sim::InetSock::new(family, true);
        s.local = Some(self.local);
        s.v6only = self.v6only;
        s.listener_score(to)
    }
}

/// The checkpoint's listener a connection to `to` reaches: the best score, the first of equals.
fn listener_for(ins: &[In], to: SocketAddr) -> Option<&In> {
    let mut best: Option<(u8, &In)> = None;
    for l in ins {
        match l.listener_score(to) {
            Some(score) if best.is_none_or(|(b, _)| score > b) => best = Some((score, l)),
            _ => {}
        }
    }
    best.map(|(_, l)| l)
}

/// The family and type of an inet entry; `None` (with a note) when it is neither TCP nor UDP
/// over IPv4 or IPv6.
fn inet_kind(c: &mut Ctx<'_>, sk: &pb::InetSkEntry) -> Option<(InetFamily, SockType)> {
    let family = match sk.family {
        2 => InetFamily::Inet,
        10 => InetFamily::Inet6,
        f => {
            c.notes.push(Note {
                code: NoteCode::Unmapped,
                socket: None,
                message: format!("inet socket ino {}: family {f} is not AF_INET or AF_INET6", sk.ino),
            });
            return None;
        }
    };
    let ty = match (sk.r#type, sk.proto) {
        (STREAM, 6) | (STREAM, 0) => SockType::Stream,
        (DGRAM, 17) | (DGRAM, 0) => SockType::Dgram,
        (t, p) => {
            c.notes.push(Note {
                code: NoteCode::Unmapped,
                socket: None,
                message: format!("inet socket ino {}: type {t} protocol {p} is neither TCP nor UDP", sk.ino),
            });
            return None;
        }
    };
    Some((family, ty))
}

/// Peers by address pair; the end on a listener's port is the accepted one. A remote outside
/// the checkpoint is noted when the saved namespace's routes (`reach`) do not reach it.
fn inet_peers(c: &mut Ctx<'_>, ins: &[In], reach: Option<&Reach>) {
    for a in ins {
        let Some(remote) = a.remote else { continue };
        // TCP: the other end of the connection; UDP: the socket bound to where this one is
        // connected (one-sided, a wildcard bind included). Addresses compare v4-mapped ones as
        // IPv4: an AF_INET client of a dual-stack AF_INET6 listener is 127.0.0.1:P to its
        // accepted end's [::ffff:127.0.0.1]:P.
        let remote_c = canonical(remote);
        let peer = ins.iter().find(|b| {
            b.i != a.i
                && b.tcp == a.tcp
                && if a.tcp {
                    b.remote.map(canonical) == Some(canonical(a.local)) && canonical(b.local) == remote_c
                } else {
                    b.local.port() == remote.port()
                        && (canonical(b.local).ip() == remote_c.ip() || b.local.ip().is_unspecified())
                }
        });
        match peer {
            Some(b) => {
                let pname = c.sockets[b.i].name.clone();
                c.sockets[a.i].peer = Some(pname);
                if a.tcp {
                    let listener = listener_for(ins, a.local);
                    if let Some(l) = listener {
                        c.sockets[a.i].accepted_from = Some(c.sockets[l.i].name.clone());
                    }
                }
            }
            None if a.tcp && in_flight(c, ins, a, remote) => {}
            None => {
                c.sockets[a.i].external_peer = true;
                c.sockets[a.i].remote = Some(addr_spec(remote));
                if let Some(r) = reach {
                    note_unreachable(c, a.i, remote, r);
                }
            }
        }
        if a.tcp {
            tcp_stream_notes(c, a);
        }
    }
}

/// A TCP client `a` whose accepted end is not in the checkpoint, connected to `remote`: when a
/// listener of the checkpoint is on that address, the connection was in its accept queue (CRIU
/// refuses such a dump, "In-flight connection", unless `--skip-in-flight` drops it): made a
/// pending connection of that listener, in inode order after the ones before it, with a note.
/// The other reading, an accepted end in a process outside the checkpoint sharing the
/// listener, is named in the note.
fn in_flight(c: &mut Ctx<'_>, ins: &[In], a: &In, remote: SocketAddr) -> bool {
    let Some(l) = listener_for(ins, remote) else {
        return false;
    };
    let (client, listener) = (c.sockets[a.i].name.clone(), c.sockets[l.i].name.clone());
    c.sockets[l.i].pending.push(PendingSpec { client: Some(client), sent: Vec::new() });
    c.note(
        NoteCode::InFlightSkipped,
        Some(a.i),
        format!(
            "connected to {listener}'s address {remote} with no accepted end in the checkpoint: it was in \
             {listener}'s accept queue (CRIU dumps that only with --skip-in-flight, dropping the connection, \
             and its restore leaves this socket connected to nothing): restored as a pending connection of \
             {listener}; what it sent before accept is lost (or its accepted end is in a process outside the checkpoint)"
        ),
    );
    true
}

/// A TCP connection's notes (what tcp-stream holds that is not repaired), and its unread bytes.
fn tcp_stream_notes(c: &mut Ctx<'_>, a: &In) {
    let ts: Option<&TcpStream> = c.o.checkpoint.tcp_streams.iter().find(|t| t.ino == a.ino);
    c.note(
        NoteCode::TcpRepairState,
        Some(a.i),
        "sequence numbers, windows and timestamps (tcp-stream) are not repaired: resocket reconnects".into(),
    );
    if let Some(ts) = ts {
        let inq = c.o.bytes(ts.at.file(), ts.inq.clone()).to_vec();
        if !inq.is_empty() {
            c.sockets[a.i].queue.push(msg(&inq, Vec::new()));
        }
        if !ts.outq.is_empty() {
            c.note(
                NoteCode::TcpSendQueue,
                Some(a.i),
                format!("{} bytes sent and not acknowledged are not restored", ts.outq.len()),
            );
        }
    }
}

/// The saved network namespace the sockets are restored for: its host and routes.
struct Reach {
    ns: u32,
    host: crate::sim::HostAddrs,
    routes: crate::sim::Routes,
}

/// Note a remote address outside the checkpoint that the saved namespace's routes do not reach
/// (nothing when its routes were not saved, or the address is the namespace's own).
fn note_unreachable(c: &mut Ctx<'_>, i: usize, remote: SocketAddr, r: &Reach) {
    let (ns, ip) = (r.ns, remote.ip());
    if r.host.is_local(ip) {
        return;
    }
    if r.routes.lookup(ip) == crate::sim::RouteLookup::None {
        let file = if ip.is_ipv4() || matches!(ip, std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some()) {
            format!("route-{ns}.img")
        } else {
            format!("route6-{ns}.img")
        };
        c.note(
            NoteCode::RemoteUnreachable,
            Some(i),
            format!("connected to {remote}, which no route of network namespace {ns} ({file}) reaches: on the restored host a connect to it fails with ENETUNREACH"),
        );
    }
}

/// CRIU's address words (network-order bytes read as host u32s) as an IP address.
fn ip(family: InetFamily, words: &[u32]) -> IpAddr {
    let mut b = [0u8; 16];
    for (k, w) in words.iter().take(4).enumerate() {
        b[4 * k..4 * k + 4].copy_from_slice(&w.to_le_bytes());
    }
    match family {
        InetFamily::Inet => IpAddr::V4(Ipv4Addr::new(b[0], b[1], b[2], b[3])),
        InetFamily::Inet6 => IpAddr::V6(Ipv6Addr::from(b)),
    }
}

/// A scenario address from a socket address (`[v6]:port` for IPv6, v4-mapped included).
fn addr_spec(a: SocketAddr) -> String {
    a.to_string()
}

#[cfg(test)]
mod tests {
    use super::In;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn listener(at: &str, v6only: bool) -> In {
        In { i: 0, local: at.parse().unwrap(), remote: None, listen: true, tcp: true, ino: 1, v6only }
    }

    /// Which connections a checkpoint listener takes (`inet_lookup_listener`): its port, its
    /// address or the wildcard of its family; an AF_INET6 wildcard takes IPv4 as v4-mapped
    /// unless IPV6_V6ONLY; an AF_INET one never takes IPv6; the exact address before the
    /// wildcard.
    #[test]
    fn a_listener_takes_connections_to_its_address_in_its_family() {
        let to = |s: &str| s.parse().unwrap();
        let takes = |at: &str, v6only: bool, dst: &str| listener(at, v6only).listener_score(to(dst)).is_some();
        assert!(takes("[::]:80", false, "127.0.0.1:80"));
        assert!(takes("[::]:80", false, "[::ffff:127.0.0.1]:80"));
        assert!(!takes("[::]:80", true, "127.0.0.1:80"));
        assert!(takes("[::]:80", true, "[::1]:80"));
        assert!(takes("0.0.0.0:80", false, "[::ffff:10.0.0.1]:80"));
        assert!(!takes("0.0.0.0:80", false, "[::1]:80"));
        assert!(takes("[::ffff:127.0.0.1]:80", false, "127.0.0.1:80"));
        assert!(!takes("127.0.0.1:80", false, "127.0.0.2:80"));
        assert!(!takes("127.0.0.1:80", false, "127.0.0.1:81"));
        let ins = [listener("0.0.0.0:80", false), In { i: 1, ..listener("127.0.0.1:80", false) }];
        assert_eq!(super::listener_for(&ins, to("127.0.0.1:80")).map(|l| l.i), Some(1));
        assert_eq!(super::listener_for(&ins, to("10.0.0.1:80")).map(|l| l.i), Some(0));
    }
}
