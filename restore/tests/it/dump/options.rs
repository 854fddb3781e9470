//! Socket options, peek offsets, file flags and close-on-exec bits.

use super::*;

#[test]
fn close_on_exec_bits_an_fd_amid_a_stream_queue_and_a_peek_offset_of_the_process_own() {
    let live = Live::start("flags");
    let before = socket_fds_seen_from_here(live.child.id());
    let (code, err, img) = live.dump();
    assert_eq!(code, Some(0), "{err}");
    // The peek offset the process set is where it was (the dump used to leave it at -1).
    assert_eq!(socket_fds_seen_from_here(live.child.id()), before);
    assert_eq!(before.iter().filter(|f| f.3 == 3).count(), 1, "{before:?}");
    assert!(before.iter().all(|f| f.3 == 3 || f.3 == -1), "{before:?}");
    let bytes = std::fs::read(&img).unwrap();
    let r = resocket_core::load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    // Every socket fd and no other (not the file, not the pipe), each with its close-on-exec
    // bit, both values present; the sockets held plus the one in flight.
    let got: Vec<(i32, bool)> = r.image.tables[0].fds.iter().map(|f| (f.fd, f.cloexec)).collect();
    let want: Vec<(i32, bool)> = before.iter().map(|f| (f.0, f.2)).collect();
    assert_eq!(got, want);
    assert!(want.iter().any(|f| f.1) && want.iter().any(|f| !f.1), "{want:?}");
    assert_eq!(r.image.sockets.len(), before.len() + 1);
    // The stream queue: every byte, and the fd with the message that carried it (its bytes
    // end at "before with fd ").
    let q = r.image.sockets.values().find(|s| s.queue.iter().any(|m| !m.rights.is_empty())).expect("the fd's queue");
    assert_eq!(q.queue.iter().flat_map(|m| m.data.to_vec()).collect::<Vec<u8>>(), b"before with fd after");
    assert_eq!(q.queue.iter().map(|m| m.rights.len()).sum::<usize>(), 1);
    let upto = q.queue.iter().position(|m| !m.rights.is_empty()).unwrap();
    assert_eq!(q.queue[..=upto].iter().map(|m| m.data.len()).sum::<usize>(), b"before with fd ".len());
    // The other stream's bytes, the idle listener, the unconnected socket.
    assert!(r.image.sockets.values().any(|s| s.queue.iter().map(|m| &m.data[..]).eq([&b"plain"[..]])));
    assert!(r.image.sockets.values().any(|s| s.is_listener() && s.common.backlog == 2));
    drop(live);
    second_dump_equals_first("flags");
}

/// O_NONBLOCK (a file status flag, per open file) and SO_PASSCRED come back as they were: the
/// dump records them (FILE `f_flags`, SOCKET `socket_flags`), `restore run --verify` reads them
/// back from the restored fds, and a second dump of the restored process gives the same bits.
#[test]
fn o_nonblock_and_so_passcred_survive_a_dump_and_a_restore() {
    use resocket_core::wire::{O_NONBLOCK, SOCK_PASSCRED};
    let img = round_trip("options");
    let flags = |img: &resocket_core::Image<'_>| {
        let mut v: Vec<(bool, bool)> = img
            .files
            .iter()
            .filter_map(|(_, f)| {
                let s = img.sockets.get(&f.repr.sock_objref)?;
                Some((f.repr.f_flags & O_NONBLOCK != 0, s.common.socket_flags & SOCK_PASSCRED != 0))
            })
            .collect();
        v.sort();
        v
    };
    // b: neither; g: SO_PASSCRED; l and t: O_NONBLOCK; a: both.
    assert_eq!(flags(&img), vec![(false, false), (false, true), (true, false), (true, false), (true, true)]);
    second_dump_equals_first("options");
}

#[test]
fn unix_socket_options_and_peek_offsets_survive_a_dump_and_a_restore() {
    use resocket_core::sim::SockOpt;
    let (img, _) = sockopts_round_trip("sockopts-unix");
    let got = set_opts(&img);
    for o in [
        SockOpt::PeekOff(4),
        SockOpt::PeekOff(1),
        SockOpt::KeepAlive(true),
        SockOpt::Linger { on: true, secs: 5 },
        SockOpt::Linger { on: false, secs: 7 },
        SockOpt::SndTimeo(2_000_000),
        SockOpt::Priority(3),
        SockOpt::Priority(7),
        SockOpt::Mark(9),
        SockOpt::RcvLowat(2),
        SockOpt::RcvLowat(7),
        SockOpt::PassSec(true),
        SockOpt::OobInline(true),
        SockOpt::Broadcast(true),
    ] {
        assert!(got.contains(&o), "{o:?} not recorded: {got:?}");
    }
    // SO_RCVTIMEO 1.5 s is recorded as the kernel holds it (whole jiffies).
    assert!(got.iter().any(|o| matches!(o, SockOpt::RcvTimeo(us) if *us >= 1_500_000)), "{got:?}");
    second_dump_equals_first("sockopts-unix");
}

#[test]
fn tcp_and_udp_socket_options_and_peek_offsets_survive_a_dump_and_a_restore() {
    use resocket_core::sim::SockOpt;
    let (img, _) = sockopts_round_trip("sockopts-inet");
    let got = set_opts(&img);
    for o in [
        SockOpt::TcpNoDelay(true),
        SockOpt::TcpCork(true),
        SockOpt::TcpKeepIdle(100),
        SockOpt::TcpKeepIdle(77),
        SockOpt::TcpKeepIntvl(10),
        SockOpt::TcpKeepCnt(4),
        SockOpt::TcpUserTimeout(3000),
        SockOpt::Linger { on: true, secs: 3 },
        SockOpt::Mark(5),
        SockOpt::PeekOff(3),
        SockOpt::PeekOff(2),
        SockOpt::Broadcast(true),
        SockOpt::Priority(2),
        SockOpt::SndTimeo(3_000_000),
        SockOpt::OobInline(true),
    ] {
        assert!(got.contains(&o), "{o:?} not recorded: {got:?}");
    }
    second_dump_equals_first("sockopts-inet");
}
