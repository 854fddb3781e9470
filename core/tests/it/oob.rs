//! Out-of-band data on AF_UNIX stream sockets (`RS_OOB`, `sim::Op::SendOob`): the model, the
//! plan that puts the byte back at its mark, the check that compares it, the validator.

use resocket_core::check::run_plan;
use resocket_core::diag::Code;
use resocket_core::scenario::Scenario;
use resocket_core::sim::*;
use resocket_core::{load, plan};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const PAIR: &str = r#"{"sockets": [
    {"name": "a", "type": "stream", "pair": "b", "queue": [{"data": "abc"}, {"data": "X", "oob": true}, {"data": "d"}]},
    {"name": "b", "type": "stream", "pair": "a"}]}"#;

/// `sendmsg(MSG_OOB)` marks the byte's skb as the peer's `oob_skb`; a second one moves the mark
/// (the first byte is ordinary data then); on a dgram or seqpacket socket it is EOPNOTSUPP.
#[test]
fn send_oob_marks_the_last_byte_sent_so_and_needs_a_stream_socket() {
    let mut k = Kernel::new();
    assert!(k.apply(&Op::Socketpair { a: 1, b: 2, ty: SockType::Stream }).is_ok());
    assert!(k.apply(&Op::Send { slot: 1, to: None, data: Payload(b"ab".to_vec()), rights: vec![] }).is_ok());
    assert_eq!(k.apply(&Op::SendOob { slot: 1, byte: b'X', rights: vec![] }), Outcome::ok(1));
    let marks = |k: &Kernel| k.sock(2).unwrap().queue.iter().map(|s| (s.data.clone(), s.oob)).collect::<Vec<_>>();
    assert_eq!(marks(&k), [(b"ab".to_vec(), false), (b"X".to_vec(), true)]);
    assert_eq!(k.apply(&Op::SendOob { slot: 1, byte: b'Y', rights: vec![] }), Outcome::ok(1));
    assert_eq!(marks(&k), [(b"ab".to_vec(), false), (b"X".to_vec(), false), (b"Y".to_vec(), true)]);
    for ty in [SockType::Dgram, SockType::Seqpacket] {
        let mut k = Kernel::new();
        assert!(k.apply(&Op::Socketpair { a: 1, b: 2, ty }).is_ok());
        assert_eq!(k.apply(&Op::SendOob { slot: 1, byte: b'X', rights: vec![] }), Outcome::err(Errno::EOPNOTSUPP));
        assert_eq!(k.last_rule, Some(Rule::OobNeedsStream), "{ty:?}");
    }
}

/// The plan refills the queue with the bytes before the mark, `sendmsg(MSG_OOB)` of the byte,
/// then the rest; its simulated run reproduces the image, the mark included.
#[test]
fn the_plan_sends_the_out_of_band_byte_with_msg_oob_at_its_place() {
    let img = Scenario::from_json(PAIR).unwrap().to_image().unwrap();
    let r = load(&img);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let s = r.image.sockets.values().find(|s| s.oob.is_some()).expect("RS_OOB read");
    assert_eq!(s.oob.unwrap().index, 1);
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
    assert_eq!(sends, ["abc", "OOB X", "d"]);
    let run = run_plan(&r.image, &p);
    assert!(run.is_clean(), "{:?} {:#?}", run.failure, run.differences);
}

/// The check compares the mark: the same queue refilled with plain sends differs from the image
/// in its out-of-band byte.
#[test]
fn a_run_that_loses_the_mark_differs_from_the_image() {
    let img = Scenario::from_json(PAIR).unwrap().to_image().unwrap();
    let r = load(&img);
    let mut p = plan::plan(&r.image).unwrap();
    for s in &mut p.steps {
        if let Op::SendOob { slot, byte, rights } = s.op.clone() {
            s.op = Op::Send { slot, to: None, data: Payload(vec![byte]), rights };
        }
    }
    let run = run_plan(&r.image, &p);
    assert!(run.differences.iter().any(|d| d.what == "out-of-band byte"), "{:#?}", run.differences);
}

/// `bad-oob`: on a socket that is not an AF_UNIX stream one, on a skb of more than one byte, past
/// the queue, twice; the scenario's form round-trips the mark (image → scenario → image).
#[test]
fn rs_oob_is_validated_and_survives_the_scenario_form() {
    let bad = |json: &str| {
        let img = Scenario::from_json(json).unwrap().to_image().unwrap();
        load(&img).diagnostics.iter().filter(|d| d.code == Code::BadOob).count()
    };
    assert_eq!(bad(PAIR), 0);
    assert_eq!(bad(&PAIR.replace(r#""data": "X""#, r#""data": "XY""#)), 1, "two bytes");
    assert_eq!(bad(&PAIR.replace(r#""stream""#, r#""seqpacket""#)), 1, "seqpacket");
    // Read back into a scenario, the image comes back byte for byte (the mark with it).
    let img = Scenario::from_json(PAIR).unwrap().to_image().unwrap();
    let imported = resocket_core::edit::from_image(&img);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    assert!(imported.scenario.sockets.iter().flat_map(|s| &s.queue).any(|m| m.oob));
    // A second RS_OOB for the socket is refused.
    let mut twice = img.clone();
    let at =
        (0..img.len() - 16).step_by(8).find(|&i| img[i..i + 2] == 8005u16.to_le_bytes()).expect("RS_OOB in the image");
    let rec = img[at..at + 16].to_vec();
    twice.splice(at..at, rec);
    let codes: Vec<Code> = load(&twice).diagnostics.iter().map(|d| d.code).collect();
    assert!(codes.contains(&Code::BadOob), "{codes:?}");
}

/// `restore diff` compares the out-of-band byte: the same queue without the mark differs.
#[test]
fn images_that_differ_only_in_the_mark_differ() {
    let with = Scenario::from_json(PAIR).unwrap().to_image().unwrap();
    let without = Scenario::from_json(&PAIR.replace(r#", "oob": true"#, "")).unwrap().to_image().unwrap();
    let (a, b) = (load(&with), load(&without));
    assert_eq!(resocket_core::diff::diff(&a.image, &a.image, b"", b""), Vec::<String>::new());
    let d = resocket_core::diff::diff(&a.image, &b.image, b"", b"");
    assert!(d.iter().any(|l| l.contains("oob")), "{d:?}");
}

/// A share link carries the out-of-band byte's mark (it was dropped without a word before):
/// after the options' list (written, empty, when there are none), so a link without one is the
/// bytes it always was; a mark naming no message, or one out of order, is refused.
#[test]
fn a_share_link_carries_the_out_of_band_mark() {
    use resocket_core::share;
    let sc = Scenario::from_json(PAIR).expect("scenario");
    let back = share::decode(&share::encode(&sc)).expect("a link");
    assert_eq!(back, sc);
    assert!(back.sockets[0].queue[1].oob);
    let mut plain = sc.clone();
    plain.sockets.iter_mut().flat_map(|s| s.queue.iter_mut()).for_each(|m| m.oob = false);
    let (p, with) = (share::payload(&plain), share::payload(&sc));
    assert!(with.starts_with(&p) && with.len() > p.len());
    // With socket options as well: both lists, in order.
    let mut both = sc.clone();
    both.sockets[1].opts = vec![SockOpt::KeepAlive(true)];
    assert_eq!(share::decode(&share::encode(&both)).expect("a link"), both);
    // The trailer is [options: empty] [marks: (0, 1)]: varints 0, then 1, 0, 1.
    assert_eq!(&with[p.len()..], &[0, 1, 0, 1]);
    let bad = |tail: &[u8]| share::from_payload(&[&p[..], tail].concat());
    assert!(matches!(bad(&[0, 1, 0, 7]), Err(share::ShareError::Invalid(_))), "no message 7");
    assert!(matches!(bad(&[0, 1, 5, 0]), Err(share::ShareError::Invalid(_))), "no socket 5");
    assert!(matches!(bad(&[0, 2, 0, 2, 0, 1]), Err(share::ShareError::Invalid(_))), "out of order");
    assert!(matches!(bad(&[0, 0]), Err(share::ShareError::Trailing(_))), "an empty list is a second spelling");
    assert!(matches!(bad(&[0]), Err(share::ShareError::Trailing(_))), "an empty options list alone");
}

/// A pending client that sent an out-of-band byte before accept(): its embryo holds the mark
/// (`queue_oob` marks `unix_peer`, the embryo, and accept() hands it over as it is). CRIU has no
/// place for it; resocket validates it, plans the client's `sendmsg(MSG_OOB)` right after its
/// connect, checks it on the simulator, and carries it through the scenario form and share links.
pub const PENDING: &str = r#"{"sockets": [
    {"name": "L", "type": "stream", "addr": "@oob-l", "listen": 2,
     "pending": [{"client": "c", "sent": [{"data": "abc"}, {"data": "X", "oob": true}, {"data": "d"}]}]},
    {"name": "c", "type": "stream"}]}"#;

#[test]
fn an_out_of_band_byte_sent_before_accept_waits_on_the_embryo_and_comes_back() {
    let sc = Scenario::from_json(PENDING).unwrap();
    let img = sc.to_image().unwrap();
    let r = load(&img);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let embryo = r.image.sockets.values().find(|s| s.oob.is_some()).expect("the embryo's RS_OOB");
    assert_eq!(embryo.oob.unwrap().index, 1);
    let p = plan::plan(&r.image).unwrap();
    let connect = p.steps.iter().position(|s| matches!(s.op, Op::Connect { .. })).expect("the client connects");
    let sends: Vec<(usize, String)> = p
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.op {
            Op::Send { data, .. } => Some((i, String::from_utf8_lossy(&data.0).into_owned())),
            Op::SendOob { byte, .. } => Some((i, format!("OOB {}", *byte as char))),
            _ => None,
        })
        .collect();
    assert_eq!(sends.iter().map(|(_, s)| s.as_str()).collect::<Vec<_>>(), ["abc", "OOB X", "d"]);
    assert!(sends.iter().all(|&(i, _)| i > connect), "{:#?}", p.steps);
    assert!(!p.steps.iter().any(|s| matches!(s.op, Op::Accept { .. })), "nothing is accepted: {:#?}", p.steps);
    let run = run_plan(&r.image, &p);
    assert!(run.is_clean(), "{:?} {:#?}", run.failure, run.differences);
    // The same plan with the byte sent plainly differs from the image in the embryo's mark.
    let mut plain = p.clone();
    for s in &mut plain.steps {
        if let Op::SendOob { slot, byte, rights } = s.op.clone() {
            s.op = Op::Send { slot, to: None, data: Payload(vec![byte]), rights };
        }
    }
    let run = run_plan(&r.image, &plain);
    assert!(run.differences.iter().any(|d| d.what == "out-of-band byte"), "{:#?}", run.differences);
    // Image → scenario → image keeps the mark; a share link carries it.
    let imported = resocket_core::edit::from_image(&img);
    assert!(imported.notes.is_empty(), "{:?}", imported.notes);
    assert_eq!(imported.scenario.to_image().unwrap(), img);
    let back = resocket_core::share::decode(&resocket_core::share::encode(&sc)).expect("a link");
    assert_eq!(back, sc);
    assert!(back.sockets[0].pending[0].sent[1].oob);
}

/// The pending marks' list follows the queue marks' list, written (then maybe empty) only when
/// a pending mark exists: a link without one is the bytes it was; bad lists are refused.
#[test]
fn a_share_link_carries_a_pending_clients_out_of_band_mark_after_the_queue_marks() {
    use resocket_core::share;
    let sc = Scenario::from_json(PENDING).unwrap();
    let mut plain = sc.clone();
    plain.sockets[0].pending[0].sent[1].oob = false;
    let (p, with) = (share::payload(&plain), share::payload(&sc));
    // [options: empty] [queue marks: empty] [pending marks: (0, 0, 1)].
    assert_eq!(&with[p.len()..], &[0, 0, 1, 0, 0, 1]);
    let bad = |tail: &[u8]| share::from_payload(&[&p[..], tail].concat());
    assert!(matches!(bad(&[0, 0, 1, 0, 0, 7]), Err(share::ShareError::Invalid(_))), "no message 7");
    assert!(matches!(bad(&[0, 0, 1, 0, 3, 0]), Err(share::ShareError::Invalid(_))), "no pending 3");
    assert!(matches!(bad(&[0, 0, 2, 0, 0, 1, 0, 0, 1]), Err(share::ShareError::Invalid(_))), "twice");
    assert!(matches!(bad(&[0, 0, 0]), Err(share::ShareError::Trailing(_))), "an empty last list");
    assert!(matches!(bad(&[0, 0, 1, 0, 0, 1, 9]), Err(share::ShareError::Trailing(_))), "a byte after the lists");
    assert_eq!(bad(&[0, 0, 1, 0, 0, 1]), Ok(sc));
}
