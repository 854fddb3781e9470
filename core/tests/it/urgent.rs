//! TCP urgent data (`RS_OOB` on a TCP socket, `sim::Op::SendOob`): the model's mark and the
//! reads around it (held against the kernel by restore/tests/it/differential_inet.rs), the plan
//! that sends the byte with MSG_OOB where it was, the check that compares the mark, the
//! validator.

use resocket_core::check::run_plan;
use resocket_core::diag::Code;
use resocket_core::scenario::Scenario;
use resocket_core::sim::*;
use resocket_core::{load, plan};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

/// A loopback TCP connection: client 2, accepted end 3 (listener 1 closed).
fn pair(k: &mut Kernel) {
    let a = |s: &str| SockAddr::Inet(s.parse().unwrap());
    for op in [
        Op::SocketInet { slot: 1, family: InetFamily::Inet, ty: SockType::Stream },
        Op::Bind { slot: 1, addr: a("127.0.0.1:1000") },
        Op::Listen { slot: 1, backlog: 1 },
        Op::SocketInet { slot: 2, family: InetFamily::Inet, ty: SockType::Stream },
        Op::Connect { slot: 2, addr: a("127.0.0.1:1000") },
        Op::Accept { slot: 1, new: 3 },
        Op::Close { slot: 1 },
        Op::SetNonblock { slot: 3, on: true },
    ] {
        assert!(k.apply(&op).is_ok(), "{op:?}");
    }
}

fn send(k: &mut Kernel, data: &[u8]) {
    assert_eq!(
        k.apply(&Op::Send { slot: 2, to: None, data: Payload(data.to_vec()), rights: vec![] }),
        Outcome::ok(data.len() as i64)
    );
}

fn urgent(k: &mut Kernel, byte: u8) {
    assert_eq!(k.apply(&Op::SendOob { slot: 2, byte, rights: vec![] }), Outcome::ok(1));
}

/// What a recv (or peek) of up to 100 bytes on the accepted end gives: the bytes, or the errno.
fn recv(k: &mut Kernel, peek: bool) -> Result<Vec<u8>, Errno> {
    match k.apply(&Op::Recv { slot: 3, len: 100, peek }) {
        Outcome::Read { data, .. } => Ok(data.0),
        Outcome::Err { errno } => Err(errno),
        o => panic!("recv gave {o:?}"),
    }
}

/// Without SO_OOBINLINE a read stops at the mark once it copied bytes, and one from the mark
/// skips the byte (live 6.18.44: "abc", then "def"; a peek from the head "abc").
#[test]
fn a_read_stops_at_the_urgent_mark_and_the_next_skips_the_byte() {
    let mut k = Kernel::new();
    pair(&mut k);
    send(&mut k, b"abc");
    urgent(&mut k, b'X');
    send(&mut k, b"def");
    assert_eq!(recv(&mut k, true), Ok(b"abc".to_vec()));
    assert_eq!(recv(&mut k, false), Ok(b"abc".to_vec()));
    assert_eq!(recv(&mut k, true), Ok(b"def".to_vec()), "a peek from the mark skips the byte");
    assert_eq!(recv(&mut k, false), Ok(b"def".to_vec()));
    assert_eq!(recv(&mut k, false), Err(Errno::EAGAIN));
}

/// With SO_OOBINLINE the byte reads as data, but a read still stops at the mark.
#[test]
fn with_so_oobinline_the_urgent_byte_reads_inline_after_the_stop() {
    let mut k = Kernel::new();
    pair(&mut k);
    assert!(k.apply(&Op::SetSockOpt { slot: 3, opt: SockOpt::OobInline(true) }).is_ok());
    send(&mut k, b"abc");
    urgent(&mut k, b'X');
    send(&mut k, b"def");
    assert_eq!(recv(&mut k, false), Ok(b"abc".to_vec()));
    assert_eq!(recv(&mut k, true), Ok(b"Xdef".to_vec()));
    assert_eq!(recv(&mut k, false), Ok(b"Xdef".to_vec()));
}

/// A second urgent byte moves the mark: the first becomes ordinary data ("ab" then "cd" sent
/// with MSG_OOB read "abc", then "e" past the skipped "d"), except when it is the next byte to
/// read without SO_OOBINLINE: then it is dropped (tcp_check_urg's copied_seq++).
#[test]
fn a_later_urgent_byte_moves_the_mark_and_drops_an_unread_one_at_the_head() {
    let mut k = Kernel::new();
    pair(&mut k);
    send(&mut k, b"a");
    urgent(&mut k, b'b');
    send(&mut k, b"c");
    urgent(&mut k, b'd');
    send(&mut k, b"e");
    assert_eq!(recv(&mut k, false), Ok(b"abc".to_vec()));
    assert_eq!(recv(&mut k, false), Ok(b"e".to_vec()));
    let mut k = Kernel::new();
    pair(&mut k);
    urgent(&mut k, b'X');
    urgent(&mut k, b'Y');
    send(&mut k, b"z");
    assert_eq!(recv(&mut k, false), Ok(b"z".to_vec()), "X dropped, Y skipped");
}

/// MSG_OOB on TCP with SCM_RIGHTS is EINVAL (no rights over TCP); on UDP over IPv4 EOPNOTSUPP,
/// the socket autobound first; UDP over IPv6 ignores the flag (unconnected: EDESTADDRREQ, as a
/// plain send; live 6.18.44, found by the random traces).
#[test]
fn msg_oob_on_tcp_takes_no_fds_and_udp_refuses_it_over_ipv4_only() {
    let mut k = Kernel::new();
    pair(&mut k);
    assert_eq!(k.apply(&Op::SendOob { slot: 2, byte: b'X', rights: vec![3] }), Outcome::err(Errno::EINVAL));
    assert!(k.apply(&Op::SocketInet { slot: 4, family: InetFamily::Inet, ty: SockType::Dgram }).is_ok());
    assert_eq!(k.apply(&Op::SendOob { slot: 4, byte: b'X', rights: vec![] }), Outcome::err(Errno::EOPNOTSUPP));
    assert_eq!(k.last_rule, Some(Rule::OobNeedsStream));
    assert_ne!(k.inet_sock(4).and_then(|i| i.local).map(|a| a.port()), Some(0), "autobound");
    assert!(k.apply(&Op::SocketInet { slot: 5, family: InetFamily::Inet6, ty: SockType::Dgram }).is_ok());
    assert_eq!(k.apply(&Op::SendOob { slot: 5, byte: b'X', rights: vec![] }), Outcome::err(Errno::EDESTADDRREQ));
}

/// A TCP connection whose accepted end holds "abc", the urgent byte X, "def".
pub const TCP: &str = r#"{"sockets": [
    {"name": "L", "type": "stream", "family": "inet", "addr": "127.0.0.1:8080", "listen": 4},
    {"name": "c", "type": "stream", "family": "inet", "addr": "127.0.0.1:40000", "peer": "s"},
    {"name": "s", "type": "stream", "family": "inet", "peer": "c", "accepted_from": "L",
     "queue": [{"data": "abc"}, {"data": "X", "oob": true}, {"data": "def"}]}]}"#;

/// The plan sends the bytes before the mark, the byte with MSG_OOB, then the rest; its run
/// reproduces the image, mark included; the same plan with a plain send of the byte differs in
/// the mark.
#[test]
fn the_plan_sends_the_urgent_byte_with_msg_oob_where_it_was() {
    let img = Scenario::from_json(TCP).unwrap().to_image().unwrap();
    let r = load(&img);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let p = plan::plan(&r.image).unwrap();
    let sends: Vec<String> = p
        .steps
        .iter()
        .filter_map(|s| match &s.op {
            Op::Send { data, .. } => Some(String::from_utf8_lossy(&data.0).into_owned()),
            Op::SendOob { byte, .. } => Some(format!("OOB {}", *byte as char)),
            _ => None,
        })
        .collect();
    assert_eq!(sends, ["abc", "OOB X", "def"]);
    let run = run_plan(&r.image, &p);
    assert!(run.is_clean(), "{:?} {:#?}", run.failure, run.differences);
    let mut plain = p.clone();
    for s in &mut plain.steps {
        if let Op::SendOob { slot, byte, rights } = s.op.clone() {
            s.op = Op::Send { slot, to: None, data: Payload(vec![byte]), rights };
        }
    }
    let run = run_plan(&r.image, &plain);
    assert!(run.differences.iter().any(|d| d.what == "urgent mark"), "{:#?}", run.differences);
}

/// `bad-oob` on TCP: a 1-byte skb of a TCP stream's queue is fine, a longer one or a UDP socket's
/// is not; the scenario form keeps the mark.
#[test]
fn rs_oob_on_tcp_is_validated_and_survives_the_scenario_form() {
    let bad = |json: &str| {
        let img = Scenario::from_json(json).unwrap().to_image().unwrap();
        load(&img).diagnostics.iter().filter(|d| d.code == Code::BadOob).count()
    };
    assert_eq!(bad(TCP), 0);
    assert_eq!(bad(&TCP.replace(r#""data": "X""#, r#""data": "XY""#)), 1, "two bytes");
    let udp = r#"{"sockets": [
        {"name": "u", "type": "dgram", "family": "inet", "addr": "127.0.0.1:53", "queue": [{"data": "X", "from": "v", "oob": true}]},
        {"name": "v", "type": "dgram", "family": "inet", "addr": "127.0.0.1:54"}]}"#;
    assert_eq!(bad(udp), 1, "UDP");
    let img = Scenario::from_json(TCP).unwrap().to_image().unwrap();
    let imported = resocket_core::edit::from_image(&img);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    assert_eq!(imported.scenario.to_image().unwrap(), img);
}
