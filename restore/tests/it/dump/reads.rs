//! `live.py check-reads`: the restored process replays what the original must see on its sockets.

use super::*;

/// A seqpacket pair shut down in one direction with records queued both ways (an empty one
/// among them): the records, then EOF on the side that can no longer receive more; EAGAIN and
/// EPIPE on the other.
#[test]
fn a_seqpacket_pair_shut_down_one_way_with_records_queued_both_ways() {
    let (img, _) = reads_round_trip("seqpacket-half-shut", &[]);
    let mut shut: Vec<u8> = img.sockets.values().map(|s| s.common.shutdown).collect();
    shut.sort();
    assert_eq!(shut, [1, 2]);
}

/// Datagrams with SCM_CREDENTIALS (the receiver has SO_PASSCRED) queued from a named sender
/// that has closed: read back with credentials, the empty one too.
#[test]
fn datagrams_with_credentials_from_a_closed_sender() {
    let (img, _) = reads_round_trip("passcred-closed-sender", &[]);
    let r = img.sockets.values().find(|s| !s.queue.is_empty()).expect("the receiver");
    assert_eq!(r.queue.iter().map(|m| (m.sender, m.data.len())).collect::<Vec<_>>(), [(0, 10), (0, 0)]);
}

/// Sockets in flight two deep (a socket whose queue carries a socket whose queue carries a
/// third, none held by an fd): each comes back inside the one that carried it, with its data.
#[test]
fn sockets_in_flight_two_deep() {
    let (img, _) = reads_round_trip("nested-rights", &[]);
    let held: std::collections::BTreeSet<i32> = img
        .tables
        .iter()
        .flat_map(|t| &t.fds)
        .filter_map(|f| img.files.get(&f.file).map(|f| f.repr.sock_objref))
        .collect();
    assert_eq!(img.sockets.len() - held.len(), 2, "two sockets only in flight");
}

/// Abstract names with NUL bytes inside: a listener with an accepted connection and a pending
/// client, and a dgram socket connected to such a name, each named and peered as before.
#[test]
fn abstract_names_with_nul_bytes_and_their_peers() {
    let (img, _) = reads_round_trip("abstract-nul", &[]);
    assert!(img.sockets.values().filter_map(|s| s.laddr()).any(
        |a| matches!(a, resocket_core::image::UnixAddr::Abstract(n) if n.iter().filter(|&&b| b == 0).count() >= 2)
    ));
}

/// SO_PEEK_OFF in the middle of a seqpacket record: the restored socket peeks from there.
#[test]
fn a_seqpacket_peek_offset_in_the_middle_of_a_record() {
    reads_round_trip("seqpacket-peek-off", &[]);
}

/// A stream socket whose peer sent and closed: the bytes, then EOF; a send is EPIPE.
#[test]
fn a_stream_socket_whose_peer_sent_and_closed() {
    let (img, _) = reads_round_trip("stream-peer-closed", &[]);
    let s = img.sockets.values().next().unwrap();
    assert!(s.unix.as_ref().unwrap().has(resocket_core::wire::UNIX_PEER_GONE));
}

/// A seqpacket listener on a path with an accepted connection and records both ways: the
/// accepted socket is named after the listener, the client's peer is that name.
#[test]
fn a_seqpacket_connection_accepted_from_a_named_listener() {
    let (img, _) = reads_round_trip("seqpacket-named", &[]);
    assert!(img.sockets.values().any(|s| s.unix.as_ref().is_some_and(|u| u.has(resocket_core::wire::UNIX_ACCEPTED))));
}

/// A listener with backlog 0 and one pending connection: restored full (one more connect is
/// EAGAIN, check-reads), and the pending client is accepted as the peer (check).
#[test]
fn a_listener_with_a_full_backlog() {
    let (img, _) = reads_round_trip("backlog-full", &[]);
    let l = img.sockets.values().find(|s| s.is_listener()).unwrap();
    assert_eq!((l.common.backlog, l.pending.len()), (0, 1));
    let live = Live::start("backlog-full");
    let (code, said, img) = live.dump();
    assert_eq!(code, Some(0), "{said}");
    let o = restore_run_live_py(&img, &live.dir, "check", false);
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!((o.status.code(), out.trim()), (Some(0), "ok"), "{}", String::from_utf8_lossy(&o.stderr));
}

/// An unconnected dgram receiver holding datagrams from a named live sender, an unnamed one
/// and itself: each read back from its sender's name, in order.
#[test]
fn datagrams_from_named_unnamed_and_own_senders_keep_their_senders() {
    let (img, said) = reads_round_trip("dgram-senders", &[]);
    let r = img.sockets.values().find(|s| s.queue.len() == 3).unwrap_or_else(|| panic!("{said}"));
    // The unnamed sender cannot be told by its (empty) address: recorded as sender 0, re-sent
    // from an unnamed stand-in, which recvfrom shows just the same.
    assert_eq!(r.queue.iter().map(|m| m.sender != 0).collect::<Vec<_>>(), [true, false, true], "{said}");
}
