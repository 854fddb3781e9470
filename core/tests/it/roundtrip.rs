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
