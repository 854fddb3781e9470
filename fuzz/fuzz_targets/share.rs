//! Share links are untrusted input: reading any bytes or text must not panic (nor allocate past
//! the module's bounds: libFuzzer's `-malloc_limit_mb` catches that), and a scenario that reads
//! must write its image and come back unchanged through a link of its own.
#![no_main]

use libfuzzer_sys::fuzz_target;
use resocket_core::share;

fuzz_target!(|data: &[u8]| {
    if let Ok(sc) = share::from_bytes(data) {
        let _ = sc.to_image();
        assert_eq!(share::decode(&share::encode(&sc)).as_ref(), Ok(&sc), "decode(encode(x)) != x");
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(bytes) = share::bytes_of(text) {
            assert_eq!(share::text_of(&bytes), text, "base64url is not one spelling per byte string");
        }
        let _ = share::decode(text);
    }
});
