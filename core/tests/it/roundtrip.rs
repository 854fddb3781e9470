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
