use resocket_core::{load, synth, text};
#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

#[test]
fn synthetic_images_are_valid_and_round_trip() {
    for n in [0, 1, 10, 100, 1000] {
        let img = synth::mixed(n).to_image().unwrap();
        let report = load(&img);
        assert!(report.diagnostics.is_empty(), "n={n}: {:#?}", &report.diagnostics[..report.diagnostics.len().min(5)]);
        let t = text::decode(&img).unwrap();
        assert_eq!(text::encode(&t).unwrap(), img);
    }
}

/// A task's `cloexec` list, in any order, marks exactly those fds close-on-exec in the image's
/// fd table (and no other).
#[test]
fn a_tasks_cloexec_list_marks_exactly_its_fds() {
    let sc = resocket_core::scenario::Scenario::from_json(
        r#"{"tasks": [{"pid": 7, "fds": {"3": "a", "4": "b", "5": "c", "6": "d", "9": "e"}, "cloexec": [9, 3, 5]}],
            "sockets": [{"name": "a", "type": "dgram"}, {"name": "b", "type": "dgram"}, {"name": "c", "type": "dgram"},
                        {"name": "d", "type": "dgram"}, {"name": "e", "type": "dgram"}]}"#,
    )
    .unwrap();
    let bytes = sc.to_image().unwrap();
    let r = load(&bytes);
    assert!(r.is_valid(), "{:#?}", r.diagnostics);
    let marks: Vec<(i32, bool)> = r.image.tables[0].fds.iter().map(|f| (f.fd, f.cloexec)).collect();
    assert_eq!(marks, [(3, true), (4, false), (5, true), (6, false), (9, true)]);
}

/// Plans and run reports survive the codec unchanged (the browser's kernel worker posts them to
/// the page): every fixture's plan (steps, slots, warnings) and the report of its naive order,
/// which fails with a rule on several of them; a decode needs all the bytes. Native only (it
/// reads the fixture directory); in wasm the synthetic images below go through the same codec.
#[cfg(not(target_arch = "wasm32"))]
#[test]
fn plans_and_run_reports_survive_the_codec() {
    use resocket_core::{check, codec, plan};
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images/valid");
    let (mut failures, mut warnings) = (0, 0);
    for entry in std::fs::read_dir(dir).unwrap() {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        let img = load(&bytes).image;
        let p = plan::plan(&img).unwrap();
        let report = check::run_order(&img, &p, &check::naive_order(&p));
        failures += usize::from(report.failure.as_ref().is_some_and(|f| f.rule.is_some()));
        warnings += p.warnings.len();
        let enc = codec::encode(&p);
        assert_eq!(codec::decode::<plan::Plan, { 1 << 24 }>(&enc).unwrap(), (p, enc.len()));
        let enc = codec::encode(&report);
        assert_eq!(codec::decode::<check::RunReport, { 1 << 24 }>(&enc).unwrap(), (report, enc.len()));
        assert!(codec::decode::<check::RunReport, { 1 << 24 }>(&enc[..enc.len() - 1]).is_err());
    }
    assert!(failures > 0 && warnings > 0, "the fixtures exercise failures ({failures}) and warnings ({warnings})");
}

/// The same codec round trip on synthetic images, which also runs in wasm (node), where the
/// kernel worker's messages are encoded and decoded.
#[test]
fn plans_and_run_reports_of_synthetic_images_survive_the_codec() {
    use resocket_core::{check, codec, plan};
    for n in [1, 10, 200] {
        let bytes = synth::mixed(n).to_image().unwrap();
        let img = load(&bytes).image;
        let p = plan::plan(&img).unwrap();
        let report = check::run_order(&img, &p, &check::naive_order(&p));
        let enc = codec::encode(&p);
        assert_eq!(codec::decode::<plan::Plan, { 1 << 24 }>(&enc).unwrap(), (p, enc.len()));
        let enc = codec::encode(&report);
        assert_eq!(codec::decode::<check::RunReport, { 1 << 24 }>(&enc).unwrap(), (report, enc.len()));
    }
}
