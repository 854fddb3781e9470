//! Socket options of `RS_SOCKOPT`: the scenario key, the record, the loader's checks, the
//! planner's steps (last, after the refill) and the simulated run that reproduces them.

use resocket_core::check::run_plan;
use resocket_core::scenario::Scenario;
use resocket_core::sim::{Op, SockOpt};
use resocket_core::{load, plan, Code};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

const OPTS: &str = r#"{"sockets": [
    {"name": "a", "type": "stream", "pair": "b", "opts": [
        {"name": "peek_off", "value": 3}, {"name": "keep_alive", "value": true},
        {"name": "linger", "value": {"on": false, "secs": 9}}, {"name": "rcv_timeo", "value": 1500000},
        {"name": "priority", "value": 7}, {"name": "mark", "value": 42}, {"name": "rcv_lowat", "value": 5},
        {"name": "pass_sec", "value": true}, {"name": "oob_inline", "value": true}]},
    {"name": "b", "type": "stream", "pair": "a", "queue": [{"data": "hello"}]},
    {"name": "l", "family": "inet", "type": "stream", "addr": "127.0.0.1:7000", "listen": 3, "opts": [
        {"name": "tcp_no_delay", "value": true}, {"name": "tcp_keep_idle", "value": 100},
        {"name": "tcp_keep_cnt", "value": 4}, {"name": "tcp_user_timeout", "value": 3000},
        {"name": "tcp_cork", "value": true}, {"name": "snd_timeo", "value": 2000}]},
    {"name": "u", "family": "inet", "type": "dgram", "addr": "127.0.0.1:7001", "opts": [
        {"name": "broadcast", "value": true}]}]}"#;

fn image(json: &str) -> Vec<u8> {
    Scenario::from_json(json).expect("scenario").to_image().expect("image")
}

#[test]
fn recorded_options_are_loaded_planned_last_and_reproduced_by_the_simulator() {
    let bytes = image(OPTS);
    let r = load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let a = r.image.sockets.values().find(|s| s.opts.as_ref().is_some_and(|o| o.opts.len() == 9)).expect("a's options");
    assert!(a.opts.as_ref().unwrap().opts.contains(&SockOpt::Linger { on: false, secs: 9 }));
    let p = plan::plan(&r.image).expect("a plan");
    let run = run_plan(&r.image, &p);
    assert!(run.is_clean(), "{:?} {:#?}\n{:#?}", run.failure, run.differences, p.steps);
    let set: Vec<SockOpt> = p
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::SetSockOpt { opt, .. } if opt.recorded().is_some() => Some(opt),
            _ => None,
        })
        .collect();
    for o in [SockOpt::PeekOff(3), SockOpt::TcpNoDelay(true), SockOpt::Broadcast(true), SockOpt::Mark(42)] {
        assert!(set.contains(&o), "{o:?} not set: {set:?}");
    }
    // Lingering off with a time: the time is set with lingering on first.
    let on = set.iter().position(|o| *o == SockOpt::Linger { on: true, secs: 9 }).expect("the time");
    assert!(set.iter().position(|o| *o == SockOpt::Linger { on: false, secs: 9 }) > Some(on));
    // The peek offset comes after the last send (the refill) and before any fd is placed.
    let step = |f: &dyn Fn(&Op) -> bool| p.steps.iter().position(|s| f(&s.op));
    let peek = step(&|o| matches!(o, Op::SetSockOpt { opt: SockOpt::PeekOff(3), .. })).unwrap();
    let last_send = p.steps.iter().rposition(|s| matches!(s.op, Op::Send { .. })).unwrap();
    let first_place = step(&|o| matches!(o, Op::Place { .. })).unwrap();
    assert!(last_send < peek && peek < first_place, "{:#?}", p.steps);
    // Privileged options are warned about: SO_MARK and SO_PRIORITY 7; the sub-ms timeout too.
    let codes: Vec<&str> = p.warnings.iter().map(|w| w.code.as_str()).collect();
    assert_eq!(codes.iter().filter(|c| **c == "option-needs-privilege").count(), 2, "{codes:?}");
    assert!(!codes.contains(&"option-rounded"), "{codes:?}");
}

#[test]
fn a_plan_without_the_option_steps_is_caught_by_the_comparison() {
    let bytes = image(OPTS);
    let r = load(&bytes);
    let mut p = plan::plan(&r.image).expect("a plan");
    p.steps.retain(|s| !matches!(s.op, Op::SetSockOpt { opt: SockOpt::PeekOff(_), .. }));
    let run = run_plan(&r.image, &p);
    assert!(run.differences.iter().any(|d| d.what == "SO_PEEK_OFF"), "{:#?}", run.differences);
}

#[test]
fn tcp_keepalive_times_are_set_even_at_the_kernels_defaults() {
    // They follow net.ipv4.tcp_keepalive_* where the socket never set them: the restoring host
    // may have other values.
    let json = r#"{"sockets": [{"name": "t", "family": "inet", "type": "stream", "opts": [
        {"name": "tcp_keep_idle", "value": 7200}, {"name": "tcp_no_delay", "value": false}]}]}"#;
    let bytes = image(json);
    let r = load(&bytes);
    let p = plan::plan(&r.image).unwrap();
    let set: Vec<SockOpt> = p
        .steps
        .iter()
        .filter_map(|s| match s.op {
            Op::SetSockOpt { opt, .. } if opt.recorded().is_some() => Some(opt),
            _ => None,
        })
        .collect();
    assert_eq!(set, [SockOpt::TcpKeepIdle(7200)]);
}

#[test]
fn an_image_without_options_plans_no_option_step_and_defaults_are_skipped() {
    let json = r#"{"sockets": [{"name": "a", "type": "dgram", "opts": [{"name": "peek_off", "value": -1},
        {"name": "rcv_lowat", "value": 1}]}]}"#;
    let bytes = image(json);
    let r = load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let p = plan::plan(&r.image).unwrap();
    assert!(!p.steps.iter().any(|s| matches!(s.op, Op::SetSockOpt { .. })), "{:#?}", p.steps);
    assert!(run_plan(&r.image, &p).is_clean());
}

#[test]
fn the_loader_refuses_options_a_socket_cannot_take_with_the_field() {
    use resocket_core::wire::{RecordType, Records, RS_SOCKOPT_LAYOUT};
    let at = |bytes: &[u8]| {
        let rec = Records::new(bytes).flatten().find(|r| r.ty == RecordType::RS_SOCKOPT).unwrap();
        rec.offset
    };
    let check = |json: &str, field: &str| {
        let bytes = image(json);
        let r = load(&bytes);
        let d = r
            .diagnostics
            .iter()
            .find(|d| d.code == Code::BadSockopt)
            .unwrap_or_else(|| panic!("{json}: {:#?}", r.diagnostics));
        let f = RS_SOCKOPT_LAYOUT.fields.iter().find(|f| f.name == field).unwrap();
        assert_eq!(d.range.start, at(&bytes) + f.offset, "{json}: {d:?}");
    };
    check(
        r#"{"sockets": [{"name": "a", "type": "stream", "opts": [{"name": "tcp_cork", "value": true}]}]}"#,
        "recorded",
    );
    check(
        r#"{"sockets": [{"name": "u", "family": "inet", "type": "dgram", "opts": [{"name": "tcp_no_delay", "value": true}]}]}"#,
        "recorded",
    );
    check(
        r#"{"sockets": [{"name": "t", "family": "inet", "type": "stream", "opts": [{"name": "pass_sec", "value": true}]}]}"#,
        "recorded",
    );
    check(r#"{"sockets": [{"name": "a", "type": "stream", "opts": [{"name": "peek_off", "value": -5}]}]}"#, "peek_off");
    check(
        r#"{"sockets": [{"name": "a", "type": "stream", "opts": [{"name": "rcv_timeo", "value": -1}]}]}"#,
        "rcvtimeo_us",
    );
}

#[test]
fn the_scenario_refuses_options_with_keys_of_their_own_and_duplicates() {
    for json in [
        r#"{"sockets": [{"name": "a", "type": "stream", "opts": [{"name": "snd_buf", "value": 5}]}]}"#,
        r#"{"sockets": [{"name": "a", "type": "stream", "opts": [{"name": "mark", "value": 5}, {"name": "mark", "value": 6}]}]}"#,
    ] {
        assert!(Scenario::from_json(json).unwrap().to_image().is_err(), "{json}");
    }
}

#[test]
fn options_come_back_from_the_image_into_the_scenario_and_through_a_share_link() {
    let sc = Scenario::from_json(OPTS).unwrap();
    let back = resocket_core::edit::from_image(&sc.to_image().unwrap());
    assert!(back.notes.is_empty(), "{:#?}", back.notes);
    // (Read back in the record's bit order.)
    let opts = |s: &Scenario| {
        let mut v: Vec<Vec<SockOpt>> = s.sockets.iter().map(|s| s.opts.clone()).filter(|o| !o.is_empty()).collect();
        v.iter_mut().for_each(|o| o.sort_by_key(|o| o.recorded()));
        v
    };
    assert_eq!(opts(&back.scenario), opts(&sc));
    let shared = resocket_core::share::decode(&resocket_core::share::encode(&sc)).expect("a link");
    assert_eq!(shared, sc);
    // Without options a link is the bytes it always was (no trailer).
    let mut plain = sc.clone();
    plain.sockets.iter_mut().for_each(|s| s.opts.clear());
    let b = resocket_core::share::payload(&plain);
    assert!(resocket_core::share::payload(&sc).starts_with(&b));
}

#[test]
fn the_text_form_and_the_records_view_name_the_record_and_its_bits() {
    let bytes = image(OPTS);
    let text = resocket_core::text::decode_to_string(&bytes).expect("text");
    assert!(text.contains(r#""type": "RS_SOCKOPT""#), "{text}");
    assert!(text.contains(r#""SO_PEEK_OFF""#) && text.contains(r#""NODELAY""#), "{text}");
    let back = resocket_core::text::encode(&serde_json::from_str(&text).unwrap()).expect("encode");
    assert_eq!(back, bytes);
}

#[test]
fn an_embryo_or_a_second_record_is_refused_as_a_whole() {
    use resocket_core::sim::SockOpt;
    let json = r#"{"sockets": [{"name": "l", "type": "stream", "addr": "@l", "listen": 2,
        "opts": [{"name": "keep_alive", "value": true}], "pending": [{"client": "c"}]},
        {"name": "c", "type": "stream"}]}"#;
    let bytes = image(json);
    let r = load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let l = r.image.sockets.values().find(|s| s.is_listener()).unwrap();
    let (listener, embryo) = (l.objref, l.pending[0].embryo);
    // Before TAIL (its last 16 bytes): one record more.
    let with = |sock: i32| {
        let mut b = bytes[..bytes.len() - 16].to_vec();
        let at = b.len();
        resocket_core::sockopt::encode(sock, &[SockOpt::Mark(1)]).emit(&mut b);
        b.extend_from_slice(&bytes[bytes.len() - 16..]);
        (b, at)
    };
    for sock in [embryo, listener] {
        let (b, at) = with(sock);
        let r = load(&b);
        let d: Vec<_> = r.diagnostics.iter().filter(|d| d.code == Code::BadSockopt).collect();
        assert_eq!(d.len(), 1, "{:#?}", r.diagnostics);
        assert_eq!(d[0].range, at..at + 72, "socket {sock}: {:?}", d[0]);
    }
}
