//! Editing and sharing over the fixtures: every valid fixture image reads back into a scenario
//! that writes it again byte for byte, and every scenario — the fixtures' sources and the
//! scenarios read back from images — survives a share link unchanged.

use resocket_core::edit::{self, Edit};
use resocket_core::scenario::Scenario;
use resocket_core::share;
use resocket_core::sim::SockType;
use resocket_core::sock::Family;
use resocket_fixtures::{build_all, sources, Kind};

#[test]
fn every_valid_fixture_reads_back_into_a_scenario_that_writes_it_exactly() {
    let fixtures = build_all(Kind::Valid).expect("fixtures build");
    assert!(fixtures.len() >= 20);
    for f in fixtures {
        let back = edit::from_image(&f.image);
        assert_eq!(back.notes, Vec::<String>::new(), "{}", f.name);
        assert!(back.scenario.to_image().unwrap() == f.image, "{}: not byte-identical", f.name);
    }
}

#[test]
fn invalid_fixtures_read_back_with_every_difference_noted() {
    let mut inexact = 0;
    for f in build_all(Kind::Invalid).expect("fixtures build") {
        let back = edit::from_image(&f.image);
        let errors = resocket_core::load(&f.image).error_count();
        assert_eq!(
            errors > 0,
            back.notes.first().is_some_and(|n| n.contains("error(s)")),
            "{}: {:?}",
            f.name,
            back.notes
        );
        if back.scenario.to_image().ok().as_deref() != Some(&f.image[..]) {
            inexact += 1;
            assert!(
                back.notes.iter().any(|n| n.starts_with("differs")
                    || n.contains("byte-identical")
                    || n.contains("cannot be written")),
                "{}: written back differently without a note: {:?}",
                f.name,
                back.notes
            );
        }
    }
    assert!(inexact > 10, "most invalid images cannot be said as a scenario: {inexact}");
}

fn source_scenarios() -> Vec<(String, Scenario)> {
    let mut out = Vec::new();
    for p in sources(Kind::Valid).expect("sources") {
        let text = std::fs::read_to_string(&p).unwrap();
        if text.contains("\"synthetic\"") {
            continue;
        }
        let sc = Scenario::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        out.push((p.file_stem().unwrap().to_string_lossy().into_owned(), sc));
    }
    out
}

#[test]
fn every_fixture_scenario_round_trips_through_a_share_link() {
    let scenarios = source_scenarios();
    assert!(scenarios.len() >= 20);
    for (name, sc) in scenarios {
        let text = share::encode(&sc);
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "{name}: {text}");
        assert_eq!(share::decode(&text).as_ref(), Ok(&sc), "{name}");
        let frag = format!("fixture=x&{}&step=3", share::fragment(&sc));
        assert_eq!(share::find_in_fragment(&frag), Some(text.as_str()));
    }
}

#[test]
fn every_read_back_scenario_round_trips_through_a_share_link() {
    for f in build_all(Kind::Valid).expect("fixtures build") {
        let sc = edit::from_image(&f.image).scenario;
        let text = share::encode(&sc);
        let back = share::decode(&text).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert!(back.to_image().unwrap() == f.image, "{}", f.name);
    }
}

#[test]
fn share_links_are_compact() {
    // The link of a fixture is much shorter than its JSON, and than its image in base64.
    for (name, sc) in source_scenarios() {
        let json = serde_json::to_string(&sc).unwrap();
        let text = share::encode(&sc);
        assert!(text.len() * 2 < json.len() + 64, "{name}: {} chars for {} of JSON", text.len(), json.len());
    }
    let big = build_all(Kind::Valid).unwrap().into_iter().find(|f| f.name == "many-1000").expect("many-1000");
    let sc = edit::from_image(&big.image).scenario;
    let text = share::encode(&sc);
    assert!(text.len() * 4 < big.image.len(), "{} chars for a {}-byte image", text.len(), big.image.len());
}

#[test]
fn a_fixture_edited_then_shared_opens_as_the_same_image() {
    let f = build_all(Kind::Valid).unwrap().into_iter().find(|f| f.name == "listener-pending").unwrap();
    let sc = edit::from_image(&f.image).scenario;
    let listener = sc.sockets.iter().find(|s| s.listen.is_some()).unwrap().name.clone();
    let sc =
        edit::apply(&sc, &Edit::AddSocket { name: "n1".into(), family: Family::Unix, ty: SockType::Stream }).unwrap();
    let sc = edit::apply(&sc, &Edit::Connect { client: "n1".into(), server: listener.clone() }).unwrap();
    let sc = edit::apply(&sc, &Edit::Send { from: "n1".into(), to: None, data: "hello".into() }).unwrap();
    let image = sc.to_image().unwrap();
    let report = resocket_core::load(&image);
    assert!(report.is_valid(), "{:?}", report.diagnostics);
    let l = report.image.sockets.values().find(|s| s.is_listener()).unwrap();
    assert_eq!(l.pending.len(), 3);
    let shared = share::decode(&share::encode(&sc)).unwrap();
    assert!(shared.to_image().unwrap() == image);
}

#[test]
fn bincode_is_named_by_the_codec_module_only() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf();
    let mut stack = vec![root.join("core/src"), root.join("web/src"), root.join("restore/src"), root.join("fixtures")];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                seen += 1;
                let text = std::fs::read_to_string(&p).unwrap();
                let uses = text.lines().any(|l| !l.trim_start().starts_with("//") && l.contains("bincode"));
                // core/src/codec.rs names it; everything else derives and encodes through it.
                assert!(!uses || p.ends_with("core/src/codec.rs"), "{} uses bincode", p.display());
            }
        }
    }
    assert!(seen > 20);
}

#[test]
fn each_scenario_socket_is_mapped_to_its_objref_in_the_image() {
    use resocket_core::wire::{SOCK_DGRAM, SOCK_STREAM};
    for f in build_all(Kind::Valid).expect("fixtures build") {
        let back = edit::from_image(&f.image);
        let (written, mapped) = back.scenario.to_image_mapped().unwrap();
        // Read from an image and written back: the same bytes, so the same objrefs.
        assert_eq!(written, f.image, "{}", f.name);
        assert_eq!(mapped, back.objrefs, "{}", f.name);
        assert_eq!(mapped.len(), back.scenario.sockets.len(), "{}", f.name);
        let report = resocket_core::load(&written);
        let mut seen = std::collections::BTreeSet::new();
        for (spec, &o) in back.scenario.sockets.iter().zip(&mapped) {
            assert!(seen.insert(o), "{}: objref {o} twice", f.name);
            let sock = report.image.sockets.get(&o).unwrap_or_else(|| panic!("{}: no socket #{o}", f.name));
            assert_eq!(sock.common.sock_type, spec.ty.raw(), "{}: {} is #{o}", f.name, spec.name);
            assert_eq!(sock.is_listener(), spec.listen.is_some(), "{}: {} is #{o}", f.name, spec.name);
        }
    }
    // A scenario written from its source: each socket has an objref of its own, whatever order
    // the writer reaches them in.
    let sc = Scenario::from_json(
        r#"{ "sockets": [ { "name": "a", "type": "dgram", "no_fd": true }, { "name": "b", "type": "stream" } ] }"#,
    )
    .unwrap();
    let (image, mapped) = sc.to_image_mapped().unwrap();
    let report = resocket_core::load(&image);
    assert_eq!(report.image.sockets.get(&mapped[1]).map(|s| s.common.sock_type), Some(SOCK_STREAM));
    assert_eq!(report.image.sockets.get(&mapped[0]).map(|s| s.common.sock_type), Some(SOCK_DGRAM));
}

#[test]
fn an_inet_fixture_is_extended_by_edits_and_still_restores_on_the_simulator() {
    let f = build_all(Kind::Valid).unwrap().into_iter().find(|f| f.name == "inet-loopback").unwrap();
    let sc = edit::from_image(&f.image).scenario;
    let l = sc.sockets.iter().find(|s| s.listen.is_some()).unwrap().name.clone();
    let step = |sc: &Scenario, e: Edit| edit::apply(sc, &e).unwrap_or_else(|err| panic!("{e:?}: {err}"));
    let sc = step(&sc, Edit::AddSocket { name: "n".into(), family: Family::Inet, ty: SockType::Stream });
    let sc = step(&sc, Edit::Connect { client: "n".into(), server: l.clone() });
    let n = sc.sockets.iter().find(|s| s.name == "n").unwrap();
    assert_eq!(n.addr.as_deref(), Some("127.0.0.1:32768"), "the loopback source and the first free ephemeral port");
    // accept() takes the first pending connection (the fixture's c1); then n's data waits on its embryo.
    let sc = step(&sc, Edit::Accept { listener: l.clone(), name: "acc".into() });
    let sc = step(&sc, Edit::Send { from: "n".into(), to: None, data: "hello".into() });
    let sc = step(&sc, Edit::Send { from: "acc".into(), to: None, data: "welcome".into() });
    // A UDP pair beside it.
    let sc = step(&sc, Edit::AddSocket { name: "dns".into(), family: Family::Inet, ty: SockType::Dgram });
    let sc = step(&sc, Edit::Bind { name: "dns".into(), addr: "127.0.0.1:53".into() });
    let sc = step(&sc, Edit::AddSocket { name: "q".into(), family: Family::Inet, ty: SockType::Dgram });
    let sc = step(&sc, Edit::Connect { client: "q".into(), server: "dns".into() });
    let sc = step(&sc, Edit::Send { from: "q".into(), to: None, data: "query".into() });
    // The fixture's listener holds 127.0.0.1:8080.
    let taken = edit::apply(&sc, &Edit::Bind { name: "n".into(), addr: "0.0.0.0:8080".into() }).unwrap_err();
    assert!(taken.to_string().contains("EINVAL"), "n is connected: {taken}");

    let image = sc.to_image().unwrap();
    let report = resocket_core::load(&image);
    assert!(report.is_valid(), "{:?}", report.diagnostics);
    let plan = resocket_core::plan::plan(&report.image).expect("plans");
    let run = resocket_core::check::run_plan(&report.image, &plan);
    assert!(run.is_clean(), "{:?} {:?}", run.failure, run.differences);
    let back = edit::from_image(&image);
    assert_eq!(back.notes, Vec::<String>::new());
    assert!(back.scenario.to_image().unwrap() == image);
}
