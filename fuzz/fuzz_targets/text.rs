//! The two JSON forms read from untrusted text: the record text form (`text::encode`, what
//! `restore convert` and the inspector's text view read back) and the scenario form
//! (`Scenario::from_json`, fixtures and the editor). On any bytes that parse as JSON:
//!
//! * `text::encode` never panics; when it writes bytes, `load` reads them without panicking,
//!   and when their framing is intact, `decode` of them encodes back to the same bytes
//!   (`encode` is a function of what `decode` shows);
//! * `Scenario::from_json` never panics; a scenario that reads and writes an image gives one
//!   `load` reads without panicking, its diagnostics inside the image.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resocket_core::scenario::Scenario;
use resocket_core::{load, text};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(v) = serde_json::from_str::<serde_json::Value>(s) {
        if let Ok(bytes) = text::encode(&v) {
            let r = load(&bytes);
            for d in &r.diagnostics {
                assert!(d.range.end <= bytes.len(), "diagnostic outside the image: {d}");
            }
            if let Ok(shown) = text::decode(&bytes) {
                let back = text::encode(&shown).expect("encode(decode(encode(v)))");
                assert!(back == bytes, "encode(decode(b)) != b for b = encode(v)");
            }
        }
    }
    if let Ok(sc) = Scenario::from_json(s) {
        if let Ok(bytes) = sc.to_image() {
            let r = load(&bytes);
            for d in &r.diagnostics {
                assert!(d.range.end <= bytes.len(), "diagnostic outside the image: {d}");
            }
        }
    }
});
