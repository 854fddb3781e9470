//! Out-of-band data: AF_UNIX MSG_OOB and TCP urgent data, with and without `--kill`.

use super::*;

/// An out-of-band byte pending on an AF_UNIX stream socket (plain, SO_OOBINLINE, a second
/// MSG_OOB send that made the first ordinary data): a dump that leaves the process running
/// cannot place the mark for certain (TCP urgent data it can: tests/it/urgent.rs), so `checkpoint dump` refuses, naming the
/// socket, the state and `--kill`, and leaves the byte, the mark and SO_OOBINLINE as they were
/// (the process reports them when it ends).
#[test]
fn pending_out_of_band_data_is_refused_by_a_plain_dump_naming_kill() {
    for (scenario, what, inline, byte) in [
        ("oob-unix", "an out-of-band byte (MSG_OOB) 0x58", 0, 'X'),
        ("oob-unix-inline", "an out-of-band byte (MSG_OOB) 0x58", 1, 'X'),
        ("oob-unix-twice", "an out-of-band byte (MSG_OOB) 0x59", 0, 'Y'),
    ] {
        let mut live = Live::start(scenario);
        let (code, said, _) = live.dump();
        assert_eq!(code, Some(1), "{scenario}: {said}");
        assert!(said.contains(what) && said.contains("is pending in its receive queue"), "{scenario}: {said}");
        assert!(said.contains(": ino"), "{scenario}: names the socket: {said}");
        assert!(said.contains("`checkpoint dump --kill` reads it"), "{scenario}: {said}");
        drop(live.child.stdin.take());
        live.child.wait().unwrap();
        let after = std::fs::read_to_string(live.dir.join("oob.txt")).unwrap();
        assert_eq!(after, format!("inline={inline} oob={byte}"), "{scenario}");
    }
}

/// The out-of-band byte of an AF_UNIX stream socket, from a `--kill` dump: the image names the
/// skb (RS_OOB, the 1-byte skb after the bytes before the mark), `restore run --verify`
/// finds it, and the restored process reads what the dumped one would have: SIOCATMARK 0, the
/// bytes before the mark, SIOCATMARK 1, recv(MSG_OOB) the byte, the bytes after (live.py
/// check-oob).
#[test]
fn a_kill_dump_restores_an_out_of_band_byte_at_its_mark() {
    let (img, said) = kill_dump_round_trip_checked("oob-unix", "check-oob");
    let s = img.sockets.values().find(|s| s.oob.is_some()).unwrap_or_else(|| panic!("no RS_OOB: {said}"));
    let at = s.oob.unwrap().index as usize;
    let before: Vec<u8> = s.queue[..at].iter().flat_map(|m| m.data.to_vec()).collect();
    let after: Vec<u8> = s.queue[at + 1..].iter().flat_map(|m| m.data.to_vec()).collect();
    assert_eq!((before, &s.queue[at].data[..], after), (b"abc".to_vec(), &b"X"[..], b"d".to_vec()));
}

/// An out-of-band byte a pending client sent before accept(): a plain dump refuses (it cannot
/// read the embryo), `--kill` accepts the connection on a duplicate of the listener, reads its
/// queue for real up to the mark and records the mark on the embryo; the restored process's
/// first accept() gives a connection that reads "abc", is at the mark, gives "X" to
/// recv(MSG_OOB) and "d" after (live.py oob-pending, check-oob).
#[test]
fn a_kill_dump_restores_an_out_of_band_byte_sent_before_accept() {
    let mut live = Live::start("oob-pending");
    let (code, said, _) = live.dump();
    assert_eq!(code, Some(1), "{said}");
    assert!(said.contains("embryo") && said.contains("--kill"), "{said}");
    drop(live.child.stdin.take());
    live.child.wait().unwrap();
    let (img, said) = kill_dump_round_trip_checked("oob-pending", "check-oob");
    let l = img.sockets.values().find(|s| !s.pending.is_empty()).unwrap_or_else(|| panic!("no listener: {said}"));
    let e = img.sockets.get(&l.pending[0].embryo).expect("the embryo");
    let at = e.oob.unwrap_or_else(|| panic!("no RS_OOB on the embryo: {said}")).index as usize;
    let before: Vec<u8> = e.queue[..at].iter().flat_map(|m| m.data.to_vec()).collect();
    let after: Vec<u8> = e.queue[at + 1..].iter().flat_map(|m| m.data.to_vec()).collect();
    assert_eq!((before, &e.queue[at].data[..], after), (b"abc".to_vec(), &b"X"[..], b"d".to_vec()));
}

/// The same with SO_OOBINLINE on the receiver: the option comes back, recv(MSG_OOB) is EINVAL,
/// and the byte is read inline after the mark, as before.
#[test]
fn a_kill_dump_restores_an_out_of_band_byte_read_inline() {
    let (img, _) = kill_dump_round_trip_checked("oob-unix-inline", "check-oob");
    assert_eq!(img.sockets.values().filter(|s| s.oob.is_some()).count(), 1);
}

/// Two MSG_OOB sends: the first byte became ordinary data, the second is the out-of-band byte;
/// restored so, a read goes through the first and stops at the second's mark.
#[test]
fn a_kill_dump_restores_only_the_last_out_of_band_byte_as_out_of_band() {
    let (img, _) = kill_dump_round_trip_checked("oob-unix-twice", "check-oob");
    let s = img.sockets.values().find(|s| s.oob.is_some()).expect("RS_OOB");
    assert_eq!(&s.queue[s.oob.unwrap().index as usize].data[..], b"Y");
}

/// TCP urgent data, `--kill` (the plain dump: tests/it/urgent.rs): peeked, not read, and
/// restored at its mark.
#[test]
fn a_kill_dump_restores_tcp_urgent_data_at_its_mark() {
    let (img, _) = kill_dump_round_trip_checked("oob-tcp", "check-oob");
    let s = img.sockets.values().find(|s| s.oob.is_some()).expect("RS_OOB on the TCP socket");
    assert_eq!(&s.queue[s.oob.unwrap().index as usize].data[..], b"X");
}

/// The out-of-band situations dumped with `--kill`, restored, and dumped again with `--kill`:
/// the same image up to renumbering, the out-of-band byte at the same skb (`restore diff`
/// compares it).
#[test]
fn a_second_kill_dump_of_a_restored_out_of_band_byte_equals_the_first() {
    for scenario in ["oob-unix", "oob-unix-inline", "oob-unix-twice"] {
        second_dump_equals_first_with(scenario, LO_UP, &["--kill"]);
    }
}
