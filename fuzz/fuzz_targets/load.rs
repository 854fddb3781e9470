//! `load` must not panic on any input, and the text form must round-trip every framed input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resocket_core::{load, text};

fuzz_target!(|data: &[u8]| {
    let report = load(data);
    for d in &report.diagnostics {
        assert!(d.range.start <= d.range.end && d.range.end <= data.len(), "diagnostic outside the input: {d}");
    }
    if let Ok(v) = text::decode(data) {
        let back = text::encode(&v).expect("encode(decode(x))");
        assert!(back == data, "encode(decode(x)) != x");
    }
});
