//! TCP and UDP: loopback peers, the host's own addresses, external peers, inet_diag, the namespace of the process.

use super::*;

#[test]
fn tcp_and_udp_sockets_are_dumped_with_their_loopback_peers_queues_and_pending_connections() {
    use resocket_core::image::inet::peers;
    let (img, said) = dump_only("inet");
    let find = |local: &str, listener: bool| {
        img.sockets
            .values()
            .find(|s| s.inet_local() == Some(at(local)) && s.is_listener() == listener)
            .unwrap_or_else(|| panic!("no socket at {local}"))
    };
    // The server: backlog 5, two pending clients (in the image, connected to it), one accepted
    // connection with data both ways.
    let l = find("127.0.0.1:8080", true);
    assert_eq!(l.common.backlog, 5);
    assert_eq!(l.pending.len(), 2, "{said}");
    for p in &l.pending {
        let c = img.sockets.get(&p.client).expect("the pending client is in the image");
        assert_eq!(c.inet_remote(), Some(at("127.0.0.1:8080")));
    }
    assert!(said.contains("accept order"), "the unknown accept order is said: {said}");
    let peer = peers(&img);
    let accepted: Vec<_> = img
        .sockets
        .values()
        .filter(|s| s.is_tcp() && !s.is_listener() && s.inet_local() == Some(at("127.0.0.1:8080")))
        .filter(|s| !l.pending.iter().any(|p| p.embryo == s.objref))
        .collect();
    assert_eq!(accepted.len(), 1, "one accepted socket");
    let a0 = accepted[0];
    let c0 = img.sockets.get(&peer[&a0.objref]).expect("its client");
    assert_eq!(peer.get(&c0.objref), Some(&a0.objref), "peers both ways");
    assert_eq!(a0.queue.iter().map(|m| &m.data[..]).collect::<Vec<_>>(), [b"GET / HTTP/1.1"]);
    assert_eq!(c0.queue.iter().map(|m| &m.data[..]).collect::<Vec<_>>(), [b"HTTP/1.1 200 OK"]);
    // The dual-stack listener, not IPV6_V6ONLY, with its pending IPv4 client.
    let l6 = find("[::]:9090", true);
    assert_eq!((l6.common.backlog, l6.pending.len()), (3, 1));
    // UDP: boundaries (the empty datagram too) and senders kept.
    let u1 = find("127.0.0.1:5001", false);
    let u2 = find("127.0.0.1:5002", false);
    let u3 = find("127.0.0.1:5003", false);
    let u4 = find("127.0.0.1:5004", false);
    assert_eq!((peer.get(&u1.objref), peer.get(&u2.objref)), (Some(&u2.objref), Some(&u1.objref)));
    let data =
        |s: &resocket_core::image::Sock<'_>| s.queue.iter().map(|m| (m.sender, m.data.to_vec())).collect::<Vec<_>>();
    assert_eq!(data(u2), [(u1.objref, b"ping 1".to_vec()), (u1.objref, Vec::new()), (u1.objref, b"ping 3".to_vec())]);
    assert_eq!(data(u1), [(u2.objref, b"pong".to_vec())]);
    assert_eq!(data(u3), [(u4.objref, b"to u3".to_vec())]);
}

#[test]
fn inet_data_sent_before_accept_is_refused_with_the_reason() {
    let live = Live::start("inet-early-data");
    let (code, err, _) = live.dump();
    assert_eq!(code, Some(1), "{err}");
    assert!(err.contains("sent before accept()") && err.contains("embryo"), "{err}");
}

#[test]
fn a_tcp_peer_outside_the_dumped_processes_is_marked_external() {
    let (img, said) = dump_only("inet-external");
    let c = img.sockets.values().find(|s| s.is_tcp() && s.inet_remote() == Some(at("127.0.0.1:7070"))).unwrap();
    assert!(said.contains("outside the dumped processes") && said.contains("127.0.0.1:7070"), "{said}");
    // What the server had sent is kept; the restore brings the socket back closed.
    assert_eq!(c.queue.iter().map(|m| &m.data[..]).collect::<Vec<_>>(), [b"from the server"]);
    assert!(resocket_core::plan::plan(&img)
        .map(|p| p.warnings.iter().any(|w| w.message.contains(&format!("#{}", c.objref))))
        .unwrap_or(true));
}

#[test]
fn dump_reads_sock_diag_in_the_network_namespace_of_the_process() {
    // The process lives in its own namespace (unshare -n); the dump runs in ours.
    let live = Live::start("inet");
    let (code, err, img) = live.dump_from_here();
    assert_eq!(code, Some(0), "{err}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let listener = r.image.sockets.values().find(|s| s.is_listener() && s.inet_local() == Some(at("127.0.0.1:8080")));
    assert_eq!(listener.map(|l| l.pending.len()), Some(2), "the accept queue is seen from here too: {err}");
}

#[test]
fn sockets_on_the_hosts_own_addresses_are_dumped_and_restored_on_a_host_that_has_them() {
    let live = Live::start("inet-host");
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "dump: {err}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let l = r.image.sockets.values().find(|s| s.is_listener() && s.inet_local() == Some(at("10.1.2.3:8080"))).unwrap();
    assert_eq!(l.pending.len(), 2);
    let l6 =
        r.image.sockets.values().find(|s| s.is_listener() && s.inet_local() == Some(at("[2001:db8::3]:9090"))).unwrap();
    assert_eq!(l6.pending.len(), 1);
    // On a host with these addresses: no warning, and the kernel state verified.
    let (code, said) = restore_verify_in(&img, HOST_UP);
    assert_eq!(code, Some(0), "{said}");
    assert!(!said.contains("warning"), "{said}");
    drop(live);
    // A second dump of the restored process equals the first.
    second_dump_equals_first_in("inet-host", HOST_UP);
}

#[test]
fn sockets_on_addresses_a_host_lacks_are_each_named_when_restored_there() {
    let live = Live::start("inet-host");
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "dump: {err}");
    let (code, said) = restore_verify(&img);
    assert_eq!(code, Some(0), "{said}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    for s in r.image.sockets.values() {
        let Some(l) = s.inet_local().filter(|l| l.port() != 0 && !l.ip().is_loopback()) else { continue };
        if r.image.embryos().contains(&s.objref) {
            continue; // said with its listener
        }
        let named = said.lines().any(|w| {
            w.contains("warning")
                && w.contains(&format!("socket #{}", s.objref))
                && w.contains(&l.to_string())
                && w.contains("not an address of this host")
        });
        assert!(named, "#{} at {l} is not named: {said}", s.objref);
    }
    // The pending client from 127.0.0.1 is fine itself; its connection is not.
    assert!(said.contains("10.1.2.3:8080, which is not an address of this host"), "{said}");
}

#[test]
fn a_tcp_socket_connected_to_itself_is_dumped_and_restored_connected_to_itself() {
    let (img, said) = dump_only("inet-self");
    let s = img.sockets.values().find(|s| s.inet_local() == Some(at("127.0.0.1:7000"))).expect("the socket");
    assert_eq!(s.inet_remote(), Some(at("127.0.0.1:7000")), "{said}");
    assert!(resocket_core::plan::self_connected(s));
    assert_eq!(s.queue.iter().flat_map(|m| m.data.to_vec()).collect::<Vec<u8>>(), b"note to self");
    // dump_only restored it with --verify; a second dump of the restored process equals the first.
    second_dump_equals_first("inet-self");
}

/// `restore plan` and `restore simulate` plan for the addresses of the host they run on: on one
/// with 10.1.2.3 and 2001:db8::3 the sockets are bound and listening there; on one with lo only
/// each socket left unbound is named.
#[test]
fn restore_plan_and_simulate_plan_for_the_addresses_of_the_host_they_run_on() {
    let dir = std::env::temp_dir().join(format!("resocket-plan-host-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("host.json");
    std::fs::write(
        &src,
        r#"{"sockets": [{"name": "L", "type": "stream", "family": "inet", "addr": "10.1.2.3:8080", "listen": 4},
                        {"name": "u", "type": "dgram", "family": "inet6", "addr": "[2001:db8::3]:53"}]}"#,
    )
    .unwrap();
    let img = dir.join("host.rsimg");
    let o =
        Command::new(env!("CARGO_BIN_EXE_checkpoint")).arg("encode").arg(&src).arg("-o").arg(&img).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let restore_in = |setup: &str, command: &str| {
        let o = Command::new("unshare")
            .args(["-n", "sh", "-c", setup])
            .arg(env!("CARGO_BIN_EXE_restore"))
            .arg(command)
            .arg(&img)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    let on_host = restore_in(HOST_UP, "plan");
    assert!(
        on_host.contains("bind(#") && on_host.contains("10.1.2.3:8080") && on_host.contains("listen("),
        "{on_host}"
    );
    assert!(on_host.contains("[2001:db8::3]:53") && !on_host.contains("warning"), "{on_host}");
    let on_lo = restore_in(LO_UP, "plan");
    assert!(
        on_lo.contains("warning[inet-address-missing]: socket #")
            && on_lo.contains("10.1.2.3:8080 is not an address of this host"),
        "{on_lo}"
    );
    assert!(on_lo.contains("[2001:db8::3]:53 is not an address of this host"), "{on_lo}");
    assert!(!on_lo.contains("listen("), "{on_lo}");
    // Simulated on a host that has the addresses, the binds and the listen succeed, nothing warned.
    let on_host = restore_in(HOST_UP, "simulate");
    assert!(on_host.contains("bind(#3, (inet 10.1.2.3:8080))") && on_host.contains("listen(#3, 4)"), "{on_host}");
    assert!(on_host.contains("the simulated state equals the image\n") && !on_host.contains("warning"), "{on_host}");
    // On one with lo only, the sockets stay unbound and the output says so, socket by socket.
    let on_lo = restore_in(LO_UP, "simulate");
    assert!(!on_lo.contains("bind(#") && !on_lo.contains("listen(#"), "{on_lo}");
    assert!(on_lo.contains("except where the plan says it cannot restore it"), "{on_lo}");
    assert!(
        on_lo.contains("warning[inet-address-missing]: socket #3: 10.1.2.3:8080 is not an address of this host"),
        "{on_lo}"
    );
    assert!(
        on_lo.contains("warning[inet-address-missing]: socket #5: [2001:db8::3]:53 is not an address of this host"),
        "{on_lo}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// inet_diag is asked for the kinds of socket a dump holds only: each kind comes alone, all
/// four make `dump()`, none makes nothing.
#[test]
fn inet_diag_dumps_only_the_kinds_asked_for() {
    use resocket_restore::diag_inet::{dump, dump_kinds, IPPROTO_TCP};
    use rustix::net::{self, AddressFamily, SocketType};
    std::thread::spawn(|| {
        crate::differential_inet::fresh_netns_with_lo();
        let ino = |fd: &rustix::fd::OwnedFd| u64::from(rustix::fs::fstat(fd).unwrap().st_ino as u32);
        let mut ours = Vec::new();
        for (family, any) in [(AddressFamily::INET, "127.0.0.1:0"), (AddressFamily::INET6, "[::1]:0")] {
            let at: std::net::SocketAddr = any.parse().unwrap();
            let t = net::socket(family, SocketType::STREAM, None).unwrap();
            net::bind(&t, &at).unwrap();
            net::listen(&t, 1).unwrap();
            let u = net::socket(family, SocketType::DGRAM, None).unwrap();
            net::bind(&u, &at).unwrap();
            ours.push(((true, family == AddressFamily::INET6), ino(&t), t));
            ours.push(((false, family == AddressFamily::INET6), ino(&u), u));
        }
        let kind = |d: &resocket_restore::diag_inet::InetDiag| (d.protocol == IPPROTO_TCP, d.local.is_ipv6());
        for &(k, i, _) in &ours {
            let got = dump_kinds(&[k].into()).unwrap();
            assert!(got.iter().all(|d| kind(d) == k), "{k:?}: {got:?}");
            assert!(got.iter().any(|d| u64::from(d.ino) == i), "{k:?}: {got:?}");
        }
        let all = dump().unwrap();
        assert!(ours.iter().all(|&(_, i, _)| all.iter().any(|d| u64::from(d.ino) == i)), "{all:?}");
        assert_eq!(dump_kinds(&Default::default()).unwrap(), []);
    })
    .join()
    .unwrap();
}

/// Unix and INET sockets in one process, of two of the four INET kinds: inet_diag is asked for
/// those two only, and everything is recorded (and restored, verified, and dumped again equal).
#[test]
fn unix_and_two_inet_kinds_in_one_process_are_all_recorded() {
    let (img, said) = dump_only("inet-mixed");
    let unix: Vec<_> = img.sockets.values().filter(|s| s.unix.is_some()).collect();
    assert_eq!(unix.len(), 2, "{said}");
    assert!(unix.iter().any(|s| s.queue.iter().map(|m| &m.data[..]).eq([&b"unix bytes"[..]])));
    let l = img.sockets.values().find(|s| s.is_listener() && s.inet_local() == Some(at("127.0.0.1:8082"))).unwrap();
    assert_eq!((l.common.backlog, l.pending.len()), (4, 1), "{said}");
    let peer = resocket_core::image::inet::peers(&img);
    let accepted = img
        .sockets
        .values()
        .find(|s| s.queue.iter().any(|m| &m.data[..] == b"tcp bytes"))
        .expect("the accepted connection with its bytes");
    assert!(peer.contains_key(&accepted.objref), "its client is its peer: {said}");
    let u = img.sockets.values().find(|s| s.inet_local() == Some(at("[::1]:5353"))).expect("the UDP socket");
    assert_eq!(u.queue.iter().map(|m| (m.sender, &m.data[..])).collect::<Vec<_>>(), [(u.objref, &b"udp6 to self"[..])]);
    second_dump_equals_first("inet-mixed");
}
