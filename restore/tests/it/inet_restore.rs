//! INET restores on the real kernel (issue 6): each fixture image is planned (core), executed by
//! the native executor in a fresh network namespace with `lo` up, and the sockets it placed are
//! read back with ordinary calls — getsockname/getpeername, SO_ACCEPTCONN, SO_REUSEADDR,
//! IPV6_V6ONLY, the queued bytes (MSG_PEEK) and, for listeners, the pending connections
//! (accepted here, in order, with the data their clients sent before accept()).

use crate::differential_inet::fresh_netns_with_lo;
use resocket_core::image::inet::canonical;
use resocket_core::image::Image;
use resocket_core::{load, plan};
use resocket_restore::exec::{Config, Executor, Held, PlaceMode};
use rustix::fd::{AsFd, BorrowedFd};
use rustix::net::{self, RecvFlags};
use std::net::SocketAddr;
use std::path::Path;

fn image(name: &str) -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../fixtures/images/valid/{name}.rsimg"));
    std::fs::read(p).expect("fixture image")
}

fn restore(img: &Image<'_>) -> (Executor, plan::Plan) {
    let plan = plan::plan(img).expect("a plan");
    let mut ex = Executor::new(Config { root: None, place: PlaceMode::HoldAll, fd_base: 1024, inherit_all: false });
    for (i, step) in plan.steps.iter().enumerate() {
        let out = ex.apply(&step.op);
        assert!(out.is_ok(), "step {i} `{}` gave {out:?}", plan.describe(i));
    }
    (ex, plan)
}

fn objref_of(img: &Image<'_>, h: &Held) -> i32 {
    let t = img.tables.iter().find(|t| t.pid.unwrap_or(0) == h.pid).expect("table");
    let fd = t.fds.iter().find(|f| f.fd == h.fd).expect("fd");
    img.files.get(&fd.file).expect("file").repr.sock_objref
}

fn inet(a: Option<net::SocketAddrAny>) -> Option<SocketAddr> {
    a.and_then(|a| SocketAddr::try_from(a).ok()).map(canonical)
}

/// Bytes waiting in a socket, read without consuming them.
fn peek_all(fd: BorrowedFd<'_>) -> Vec<u8> {
    let mut buf = vec![0u8; 1 << 16];
    match net::recv(fd, &mut buf, RecvFlags::PEEK | RecvFlags::DONTWAIT) {
        Ok((n, _)) => buf[..n].to_vec(),
        Err(_) => Vec::new(),
    }
}

/// Datagrams waiting in a socket (consumed: the test owns the restored socket).
fn datagrams(fd: BorrowedFd<'_>) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 1 << 16];
    while let Ok((n, _)) = net::recv(fd, &mut buf, RecvFlags::DONTWAIT) {
        out.push(buf[..n].to_vec());
    }
    out
}

/// Compare every held socket with the image; the differences, one line each.
fn check(img: &Image<'_>, ex: &Executor) -> Vec<String> {
    let mut out = Vec::new();
    // Accepted here and kept open until the end (closing one with unread data would reset its
    // client, which is checked later).
    let mut accepted = Vec::new();
    // inet_diag: the TCP state and shutdown bits of every socket, by inode.
    let diag: std::collections::BTreeMap<u32, (u8, u8)> = resocket_restore::diag_inet::dump()
        .expect("inet_diag")
        .into_iter()
        .map(|d| (d.ino, (d.state, d.shutdown)))
        .collect();
    for h in &ex.held {
        let o = objref_of(img, h);
        let s = img.sockets.get(&o).expect("socket");
        let fd = h.owned.as_fd();
        let who = format!("#{o}");
        let mut diff = |what: &str, want: String, got: String| {
            if want != got {
                out.push(format!("{who} {what}: image {want}, kernel {got}"));
            }
        };
        let local = s.inet_local().map(canonical);
        let got_local = inet(net::getsockname(fd).ok());
        if local.is_some_and(|l| l.port() != 0 && (l.ip().is_loopback() || l.ip().is_unspecified())) {
            diff("getsockname", format!("{local:?}"), format!("{got_local:?}"));
        }
        let acc = net::sockopt::socket_acceptconn(fd).unwrap_or(false);
        diff("SO_ACCEPTCONN", s.is_listener().to_string(), acc.to_string());
        diff(
            "SO_REUSEADDR",
            (s.common.reuse != 0).to_string(),
            net::sockopt::socket_reuseaddr(fd).unwrap_or(false).to_string(),
        );
        if s.common.family == resocket_core::wire::AF_INET6 {
            diff(
                "IPV6_V6ONLY",
                s.inet_has(resocket_core::wire::INET_V6ONLY).to_string(),
                net::sockopt::ipv6_v6only(fd).unwrap_or(false).to_string(),
            );
        }
        let peer = resocket_core::image::inet::peer_of(img, s);
        if peer.is_some() {
            let want = s.inet_remote().map(canonical);
            diff("getpeername", format!("{want:?}"), format!("{:?}", inet(net::getpeername(fd).ok().flatten())));
        } else if s.inet_connected() {
            // A peer outside the image: restored closed / unconnected.
            diff(
                "getpeername (external peer)",
                "None".into(),
                format!("{:?}", inet(net::getpeername(fd).ok().flatten())),
            );
        }
        if s.is_tcp() && peer.is_some() {
            let ino = rustix::fs::fstat(&h.owned).map(|st| st.st_ino as u32).unwrap_or(0);
            // FIN_WAIT1 and FIN_WAIT2 differ only by whether the peer's ACK of the FIN has
            // come, which CLOSE_WAIT delays (pingpong mode, ~40 ms on loopback): one state here.
            let got = diag.get(&ino).map(|&(st, sh)| (if st == 4 { 5 } else { st }, sh));
            diff(
                "state, shutdown (inet_diag)",
                format!("{:?}", Some((s.common.state, s.common.shutdown))),
                format!("{got:?}"),
            );
        }
        if s.is_tcp() && !s.is_listener() && peer.is_some() {
            let want: Vec<u8> = s.queue.iter().flat_map(|m| m.data.to_vec()).collect();
            diff("queued bytes", format!("{want:?}"), format!("{:?}", peek_all(fd)));
        }
        if s.is_udp() {
            let want: Vec<Vec<u8>> = s.queue.iter().map(|m| m.data.to_vec()).collect();
            diff("datagrams", format!("{want:?}"), format!("{:?}", datagrams(fd)));
        }
        if s.is_listener() {
            // Pending connections in accept order, each with its client's address and data.
            let mut got = Vec::new();
            while let Ok(c) = net::accept_with(fd, net::SocketFlags::NONBLOCK) {
                got.push((inet(net::getpeername(&c).ok().flatten()), peek_all(c.as_fd())));
                accepted.push(c);
            }
            let want: Vec<(Option<SocketAddr>, Vec<u8>)> = s
                .pending
                .iter()
                .map(|p| {
                    let e = img.sockets.get(&p.embryo);
                    (
                        e.and_then(|e| e.inet_remote()).map(canonical),
                        e.map(|e| e.queue.iter().flat_map(|m| m.data.to_vec()).collect()).unwrap_or_default(),
                    )
                })
                .collect();
            diff("pending connections", format!("{want:?}"), format!("{got:?}"));
        }
    }
    out
}

fn round_trip(name: &str) -> (Vec<String>, Vec<String>) {
    fresh_netns_with_lo();
    let bytes = image(name);
    let report = load(&bytes);
    assert!(report.is_valid(), "{name}: {:?}", report.diagnostics);
    let (mut ex, plan) = restore(&report.image);
    let diffs = check(&report.image, &ex);
    ex.rollback();
    (diffs, plan.warnings)
}

#[test]
fn a_tcp_server_with_accepted_and_pending_loopback_clients_and_queued_data_round_trips() {
    let (diffs, warnings) = round_trip("inet-loopback");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn listeners_on_the_ipv6_wildcard_and_on_127_0_0_1_with_v4_and_v6_clients_round_trip() {
    let (diffs, warnings) = round_trip("inet6-listeners");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_udp_pair_with_datagrams_from_two_senders_round_trips() {
    let (diffs, warnings) = round_trip("udp");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn a_single_tcp_listener_round_trips() {
    let (diffs, _) = round_trip("inet-listener");
    assert!(diffs.is_empty(), "{diffs:#?}");
}

#[test]
fn connections_to_peers_outside_the_image_come_back_closed_with_a_warning_each() {
    let (diffs, warnings) = round_trip("inet-external");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(
        warnings.iter().any(|w| w.contains("#3") && w.contains("203.0.113.7:443") && w.contains("closed")),
        "{warnings:?}"
    );
    assert!(warnings.iter().any(|w| w.contains("#5") && w.contains("198.51.100.1:53")), "{warnings:?}");
}

#[test]
fn a_half_closed_connection_and_more_pending_clients_than_the_backlog_round_trip() {
    let (diffs, warnings) = round_trip("inet-half-closed");
    assert!(diffs.is_empty(), "{diffs:#?}");
    assert!(warnings.is_empty(), "{warnings:?}");
}

#[test]
fn two_mib_of_unread_tcp_data_each_way_round_trip() {
    // The bound of sim::inet::TCP_QUEUE_LIMIT, on the real kernel.
    fresh_netns_with_lo();
    let n = resocket_core::sim::inet::TCP_QUEUE_LIMIT;
    let text = format!(
        r#"{{"sockets": [
        {{"name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 4}},
        {{"name": "c", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "a", "queue": [{{"repeat": {n}}}]}},
        {{"name": "a", "type": "stream", "family": "inet", "peer": "c", "accepted_from": "L", "queue": [{{"repeat": {n}}}]}}]}}"#
    );
    let bytes = resocket_core::scenario::Scenario::from_json(&text).unwrap().to_image().unwrap();
    let report = load(&bytes);
    let (mut ex, _) = restore(&report.image);
    for h in &ex.held {
        let s = report.image.sockets.get(&objref_of(&report.image, h)).unwrap();
        if s.is_listener() {
            continue;
        }
        // Everything arrives (some of it may still sit in the sender's queue a moment).
        let fd = h.owned.as_fd();
        let mut got = 0usize;
        let mut buf = vec![0u8; 1 << 16];
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while got < n && std::time::Instant::now() < deadline {
            match net::recv(fd, &mut buf, RecvFlags::DONTWAIT) {
                Ok((k, _)) if k > 0 => got += k,
                _ => std::thread::sleep(std::time::Duration::from_millis(1)),
            }
        }
        assert_eq!(got, n, "#{}", s.objref);
    }
    ex.rollback();
}

#[test]
fn a_thousand_queued_datagrams_all_come_back() {
    // More than the default receive buffer holds (UDP drops silently when sk_rmem_alloc passes
    // sk_rcvbuf): the plan raises the receiver's buffer for the refill.
    fresh_netns_with_lo();
    let msgs: Vec<String> = (0..1000).map(|i| format!(r#"{{"from": "s", "data": "datagram {i}"}}"#)).collect();
    let text = format!(
        r#"{{"sockets": [
        {{"name": "r", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5000", "queue": [{}]}},
        {{"name": "s", "type": "dgram", "family": "inet", "addr": "127.0.0.1:5001"}}]}}"#,
        msgs.join(",")
    );
    let bytes = resocket_core::scenario::Scenario::from_json(&text).unwrap().to_image().unwrap();
    let report = load(&bytes);
    let (mut ex, _) = restore(&report.image);
    let diffs = check(&report.image, &ex);
    ex.rollback();
    assert!(diffs.is_empty(), "{}", diffs.join("\n").chars().take(2000).collect::<String>());
}
