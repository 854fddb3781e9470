//! Checkpoint archives are untrusted input: unpacking any bytes must not panic, nor allocate
//! past the limits (libFuzzer's `-malloc_limit_mb` catches that), and what unpacks must be
//! within them. Seeds: `fixtures/criu/archives/*.tar.gz` (and gzip/zstd/tar heads of it).
#![no_main]

use libfuzzer_sys::fuzz_target;
use resocket_core::archive::{self, Limits};

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_unpacked: 64 << 20, max_members: 1000, max_kept: 16 << 20 };
    if let Ok(a) = archive::unpack_with(data, limits) {
        assert!(a.unpacked <= limits.max_unpacked);
        let kept: usize = a.images.iter().map(|i| i.bytes.len()).sum();
        assert!(kept as u64 <= limits.max_kept);
        assert!(a.members.len() + a.images.len() <= limits.max_members);
        assert!(!a.images.is_empty());
    }
});
