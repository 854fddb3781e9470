//! The planner's plan runs clean on the simulator and reproduces every valid fixture.

use resocket_core::{check, load, plan};
use resocket_fixtures::{build_all, Kind};

#[test]
fn every_valid_fixture_plans_runs_clean_and_compares_equal() {
    let mut failures = Vec::new();
    for f in build_all(Kind::Valid).unwrap() {
        let r = load(&f.image);
        let p = match plan::plan(&r.image) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: {e}", f.name));
                continue;
            }
        };
        let rep = check::run_plan(&r.image, &p);
        if let Some(fl) = &rep.failure {
            failures.push(format!("{}: step {} failed: {}", f.name, fl.step, fl.explanation));
        }
        for d in &rep.differences {
            failures.push(format!("{}: #{} {}: expected {} found {}", f.name, d.objref, d.what, d.expected, d.found));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_checker_reports_the_kernel_state_after_every_step() {
    let f = build_all(Kind::Valid).unwrap().into_iter().find(|f| f.name == "listener-pending").unwrap();
    let r = load(&f.image);
    let p = plan::plan(&r.image).unwrap();
    let order: Vec<usize> = (0..p.steps.len()).collect();
    let (rep, states) = check::run_order_traced(&r.image, &p, &order);
    assert_eq!(rep, check::run_order(&r.image, &p, &order));
    assert_eq!(states.len(), p.steps.len());
    // The listener is #3: its queue fills as the pending clients connect (accept takes one
    // away again), and its embryos show up as pending on it.
    let queued: Vec<usize> = states
        .iter()
        .filter_map(|st| st.iter().find(|s| s.objref == Some(3)).and_then(|s| s.backlog.map(|_| s.queued)))
        .collect();
    assert!(queued.contains(&1) && queued.ends_with(&[2]), "{queued:?}");
    let last = states.last().unwrap();
    let pending: Vec<i32> = last.iter().filter(|s| s.pending_on == Some(3)).filter_map(|s| s.objref).collect();
    assert_eq!(pending, vec![10, 13]);
    // A failing order stops with the state at the failure.
    let naive = check::naive_order(&p);
    let (rep, states) = check::run_order_traced(&r.image, &p, &naive);
    let fail = rep.failure.unwrap();
    assert_eq!(states.len(), fail.position + 1);
}

#[test]
fn a_plan_on_the_image_s_own_addresses_binds_what_a_loopback_host_cannot() {
    use resocket_core::sim::HostAddrs;
    let f = build_all(Kind::Valid).unwrap().into_iter().find(|f| f.name == "inet-external").expect("fixture");
    let r = load(&f.image);
    let addrs = plan::image_addrs(&r.image);
    assert_eq!(addrs, vec!["10.0.0.2".parse::<std::net::IpAddr>().unwrap()]);
    let unbound = |p: &plan::Plan| p.warnings.iter().filter(|w| w.message.contains("10.0.0.2")).count();
    // On lo only: both sockets are left unbound, one warning each.
    let lo = plan::plan(&r.image).unwrap();
    assert_eq!(unbound(&lo), 2, "{:#?}", lo.warnings);
    // On a host with the image's address: bound where they were, nothing said about 10.0.0.2.
    let host = HostAddrs::loopback_and(&addrs);
    let same = plan::plan_on(&r.image, &host).unwrap();
    assert_eq!(unbound(&same), 0, "{:#?}", same.warnings);
    assert!(same.warnings.len() < lo.warnings.len());
    let rep = check::run_order_on(&r.image, &same, &(0..same.steps.len()).collect::<Vec<_>>(), &host);
    assert!(rep.failure.is_none(), "{:?}", rep.failure);
    // The same plan job, a phase at a time.
    let mut job = plan::PlanJob::new_on(&r.image, &host);
    while !job.advance() {}
    assert_eq!(job.finish().unwrap().steps.len(), same.steps.len());
}

#[test]
fn address_lists_parse_as_users_write_them() {
    let a = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    assert_eq!(plan::parse_addrs(""), Ok(vec![]));
    assert_eq!(plan::parse_addrs(" 10.1.2.3,2001:db8::3  10.1.2.3 "), Ok(vec![a("10.1.2.3"), a("2001:db8::3")]));
    assert_eq!(plan::parse_addrs("10.1.2.3, nope"), Err("\"nope\" is not an IPv4 or IPv6 address".into()));
    // Loopback, wildcard, multicast and broadcast bindings are not addresses a host needs.
    let img = resocket_core::scenario::Scenario::from_json(
        r#"{ "sockets": [
            { "name": "a", "family": "inet", "type": "dgram", "addr": "127.0.0.1:1" },
            { "name": "b", "family": "inet", "type": "dgram", "addr": "0.0.0.0:2" },
            { "name": "c", "family": "inet", "type": "dgram", "addr": "224.0.0.9:3" },
            { "name": "d", "family": "inet6", "type": "dgram", "addr": "[::ffff:192.0.2.1]:4" },
            { "name": "e", "family": "inet6", "type": "stream", "addr": "[2001:db8::7]:5" },
            { "name": "f", "family": "inet", "type": "dgram", "addr": "192.0.2.1:6" } ] }"#,
    )
    .unwrap()
    .to_image()
    .unwrap();
    let r = load(&img);
    assert_eq!(plan::image_addrs(&r.image), vec![a("192.0.2.1"), a("2001:db8::7")]);
}

#[test]
fn docs_simulator_lists_every_warning_code_with_its_origin_and_effect() {
    use resocket_core::warn::{Origin, WarnCode};
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/simulator.md");
    let doc = std::fs::read_to_string(&path).unwrap();
    for c in WarnCode::ALL {
        let from = match c.origin() {
            Origin::Plan => "plan",
            Origin::Dump => "dump",
            Origin::Both => "dump, plan",
            Origin::Run => "run",
        };
        let row = format!("| `{c}` | {from} | {} | ", c.effect().as_str());
        let line = doc.lines().find(|l| l.starts_with(&row)).unwrap_or_else(|| panic!("no row {row:?} in {path:?}"));
        assert!(line.ends_with(&format!("| {} |", c.lost())), "{line}");
    }
}

#[test]
fn the_valid_fixtures_plan_without_warnings_except_inet_external_on_loopback() {
    for f in build_all(Kind::Valid).unwrap() {
        let r = load(&f.image);
        let p = plan::plan(&r.image).unwrap();
        let codes: Vec<&str> = p.warnings.iter().map(|w| w.code.as_str()).collect();
        if f.name == "inet-external" {
            assert_eq!(
                codes,
                ["inet-address-missing", "inet-address-missing", "tcp-external-peer", "udp-external-peer"]
            );
        } else {
            assert!(codes.is_empty(), "{}: {codes:?}", f.name);
        }
    }
}

/// One taxonomy: after a clean restore on the simulator, every socket of every valid fixture
/// plays the role in the kernel (`Kernel::roles`, what the timeline draws) that it plays in the
/// image (`summary::roles`, what the table and the graph show) — except where a warning says
/// the restore changes it.
#[test]
fn every_restored_socket_plays_its_image_role_in_the_simulated_kernel() {
    use resocket_core::summary::{roles, Role};
    let mut failures = Vec::new();
    let mut compared = 0;
    for f in build_all(Kind::Valid).unwrap() {
        let r = load(&f.image);
        let Ok(p) = plan::plan(&r.image) else { continue };
        let mut run = check::Run::new(&p);
        if p.steps.iter().any(|s| !run.step(s).is_ok()) {
            failures.push(format!("{}: the plan does not run clean", f.name));
            continue;
        }
        run.map_embryos(&r.image);
        let kernel_roles = run.kernel.roles();
        let warned: Vec<i32> = p.warnings.iter().filter_map(|w| w.objref).collect();
        for (s, want) in r.image.sockets.values().zip(roles(&r.image)) {
            let got = run.objref_sock.get(&s.objref).and_then(|&k| kernel_roles.get(k).copied().flatten());
            if warned.contains(&s.objref) && want == Role::ExternalPeer {
                continue; // restored otherwise, and the plan says so
            }
            compared += 1;
            if got != Some(want) {
                failures.push(format!("{} #{}: image {want}, kernel {got:?}", f.name, s.objref));
            }
        }
    }
    assert!(compared > 100, "{compared}");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `plan` fuzz target (2026-12-07, its tenth finding): an AF_UNIX pending connection recorded
/// with a send buffer that `unix_stream_connect` does not give its embryo (`unix_create1`:
/// `net.core.wmem_default`) came back with the default, unwarned. Nothing can set an option on
/// an embryo before accept(), so the plan says `pending-sndbuf-default` on the embryo, and
/// an embryo recorded with the default gets no warning.
#[test]
fn a_pending_connection_recorded_with_another_sndbuf_is_warned() {
    use resocket_core::warn::WarnCode;
    use resocket_fixtures::{patch, root};
    let base = std::fs::read(root().join("images/valid/listener-pending.rsimg")).unwrap();
    let r = load(&base);
    let l = r.image.sockets.values().find(|s| s.is_listener()).unwrap();
    let embryo = l.pending[1].embryo;
    let sndbuf = |r: &resocket_core::Report<'_>| r.image.sockets.get(&embryo).unwrap().common.sndbuf;
    assert_eq!(sndbuf(&r), 106_496, "the fixture's embryo has connect()'s buffer");
    let p = plan::plan(&r.image).unwrap();
    assert!(p.warnings.iter().all(|w| w.code != WarnCode::PendingSndbufDefault), "{:?}", p.warnings);
    let bytes = (0..16)
        .filter_map(|nth| {
            let ops = [serde_json::json!({"at": {"type": "SOCKET", "nth": nth}, "set": {"sndbuf": 2304}})];
            patch(&base, &ops).ok()
        })
        .find(|b| sndbuf(&load(b)) == 2304)
        .expect("the embryo's SOCKET record");
    let patched = load(&bytes);
    assert!(patched.is_valid(), "{:#?}", patched.diagnostics);
    let p = plan::plan(&patched.image).unwrap();
    let w: Vec<_> = p.warnings.iter().filter(|w| w.code == WarnCode::PendingSndbufDefault).collect();
    assert_eq!(w.len(), 1, "{:?}", p.warnings);
    assert_eq!(w[0].objref, Some(embryo));
    let run = check::run_plan(&patched.image, &p);
    assert!(run.failure.is_none(), "{:?}", run.failure);
    let what: Vec<(i32, &str)> = run.differences.iter().map(|d| (d.objref, d.what.as_str())).collect();
    assert_eq!(what, [(embryo, "sndbuf")], "the one difference is the one warned about");
}

/// A datagram larger than its sender's recorded sndbuf - 32 (the sender lowered SO_SNDBUF
/// after queuing it: `differential.rs` `a_datagram_larger_than_its_senders_lowered_sndbuf_stays_queued`)
/// is valid, and the plan raises the sender's sndbuf just for the send, then sets it back.
#[test]
fn a_datagram_above_its_senders_sndbuf_is_sent_with_the_sndbuf_raised_then_set_back() {
    use resocket_core::sim::kernel::forced_sndbuf;
    use resocket_core::sim::{Op, SockOpt};
    let f =
        resocket_fixtures::build(Kind::Valid, &resocket_fixtures::root().join("src/valid/dgram-sndbuf-lowered.json"))
            .unwrap();
    let r = load(&f.image);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let sender = r.image.sockets.values().find(|s| s.queue.is_empty()).unwrap();
    let recorded = forced_sndbuf(sender.common.sndbuf);
    let p = plan::plan(&r.image).unwrap();
    let forced: Vec<(usize, i64)> = p
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match s.op {
            Op::SetSockOpt { opt: SockOpt::SndBufForce(v), .. } => Some((i, forced_sndbuf(v))),
            _ => None,
        })
        .collect();
    let send = p.steps.iter().position(|s| matches!(s.op, Op::Send { .. })).expect("the datagram is sent");
    let raised = forced.iter().rfind(|(i, _)| *i < send).expect("a sndbuf set before the send");
    assert!(raised.1 - 32 >= 5_000, "the send needs sk_sndbuf >= 5,032, the plan gives {}", raised.1);
    let last = forced.last().unwrap();
    assert!(last.0 > send && last.1 == recorded, "set back to {recorded} after the send: {forced:?}");
    let run = check::run_plan(&r.image, &p);
    assert!(run.failure.is_none(), "{:?}", run.failure);
}

/// `dgram-too-large` is the skb maximum: a datagram of exactly `UNIX_DGRAM_MAX` bytes is valid and
/// restores on the simulator; one byte more is refused (the invalid fixture).
#[test]
fn the_largest_datagram_one_skb_holds_is_valid_and_one_byte_more_is_not() {
    use resocket_core::diag::Code;
    use resocket_core::sim::kernel::UNIX_DGRAM_MAX;
    let src = resocket_fixtures::root().join("src/invalid/dgram-too-large.json");
    let over = resocket_fixtures::build(Kind::Invalid, &src).unwrap();
    let r = load(&over.image);
    let too_large: Vec<_> = r.diagnostics.iter().filter(|d| d.code == Code::DgramTooLarge).collect();
    assert_eq!(too_large.len(), 1, "{:#?}", r.diagnostics);
    assert!(too_large[0].message.contains(&format!("{}-byte", UNIX_DGRAM_MAX + 1)));
    let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&src).unwrap()).unwrap();
    v["scenario"]["sockets"][1]["queue"][0]["repeat"] = UNIX_DGRAM_MAX.into();
    let dir = std::env::temp_dir().join(format!("resocket-dgram-max-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dgram-max.json");
    std::fs::write(&path, v["scenario"].to_string()).unwrap();
    let at_max = resocket_fixtures::build(Kind::Valid, &path);
    let _ = std::fs::remove_dir_all(&dir);
    let at_max = at_max.unwrap();
    let r = load(&at_max.image);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let p = plan::plan(&r.image).unwrap();
    let run = check::run_plan(&r.image, &p);
    assert!(run.failure.is_none(), "{:?}", run.failure);
}
