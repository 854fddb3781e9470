//! Mutation properties of the loader and of the text form.
//!
//! Inputs: every `fixtures/images/{valid,invalid,fuzz}/*.rsimg` (read at test time) plus a few
//! synthetic images, so the properties always have something to chew on. Each case bit-flips,
//! truncates, re-frames (`h.len` set to huge or off-by-one values), sets count/length fields to
//! huge values, duplicates, moves or removes a record, or appends garbage, and checks:
//!
//! * `load` does not panic, every diagnostic range lies inside the input and diagnostics come
//!   sorted; a mutation that must break a valid image (truncation, bad framing, a count that no
//!   longer matches, trailing garbage) is reported as an error;
//! * `text::decode` does not panic, succeeds exactly when the framing is intact, and then
//!   `text::encode(decode(x)) == x`, also through the JSON string;
//! * `load` never allocates in proportion to a length field (a thread-scoped counting
//!   allocator measures the peak during the call).
//!
//! The case count is proptest's (256 unless `PROPTEST_CASES` says otherwise).

use proptest::prelude::*;
use resocket_core::wire::{layout, RecordType, Records, HDR_LEN};
use resocket_core::{load, synth, text, Report};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

// ---------------------------------------------------------------------------------------------
// Inputs.

#[derive(Debug)]
struct Input {
    name: String,
    bytes: Vec<u8>,
    /// `load` finds no error in the unmutated bytes.
    valid: bool,
}

fn images_dir() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/images")).to_path_buf()
}

fn read_images(sub: &str) -> Vec<(String, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(images_dir().join(sub)) else { return Vec::new() };
    let mut out: Vec<(String, Vec<u8>)> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rsimg"))
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()));
            (format!("{sub}/{}", p.file_name().unwrap_or_default().to_string_lossy()), bytes)
        })
        .collect();
    out.sort();
    out
}

fn inputs() -> &'static [Input] {
    static INPUTS: OnceLock<Vec<Input>> = OnceLock::new();
    INPUTS.get_or_init(|| {
        let mut named: Vec<(String, Vec<u8>)> =
            ["valid", "invalid", "fuzz"].into_iter().flat_map(read_images).collect();
        for n in [3, 30] {
            named.push((format!("synth::mixed({n})"), synth::mixed(n).to_image().expect("synthetic image")));
        }
        named.push(("synth::payload_heavy(2, 300)".into(), synth::payload_heavy(2, 300).to_image().expect("synth")));
        named
            .into_iter()
            .map(|(name, bytes)| {
                let valid = load(&bytes).is_valid();
                Input { name, bytes, valid }
            })
            .collect()
    })
}

/// `(offset, len, type)` of every record that frames.
fn frames(bytes: &[u8]) -> Vec<(usize, usize, RecordType)> {
    Records::new(bytes).map_while(Result::ok).map(|r| (r.offset, r.len(), r.ty)).collect()
}

// ---------------------------------------------------------------------------------------------
// Mutations.

/// Values written into a record's `h.len`.
#[derive(Debug, Clone, Copy)]
enum LenValue {
    Max,
    Half,
    PlusOne,
    MinusOne,
    Seven,
    Zero,
}

#[derive(Debug, Clone)]
enum Mutation {
    /// Flip bit `.1` of the byte at `.0 % len`.
    FlipBits(Vec<(usize, u8)>),
    /// Cut to `seed % len` bytes.
    Truncate(usize),
    /// Overwrite `h.len` of a record.
    SetLen { rec: usize, len: LenValue },
    /// Overwrite an integer field of a fixed-layout record (any field of any layout).
    SetField { rec: usize, field: usize, value: u64 },
    /// Overwrite one of the count/length fields of [`COUNT_FIELDS`] present in the image.
    SetCount { pick: usize, value: u32 },
    /// Insert a copy of a record right after it.
    Duplicate(usize),
    /// Remove a record.
    Remove(usize),
    /// Move a record elsewhere (record boundary).
    Move { from: usize, to: usize },
    /// Append bytes.
    Append(Vec<u8>),
}

/// A count or length field: record type, name, offset, width, and whether a valid image
/// with that field changed must be reported as invalid.
const COUNT_FIELDS: &[(RecordType, &str, usize, usize, bool)] = &[
    (RecordType::SOCKET_QUEUE, "skb_count", 8, 4, true),
    (RecordType::SOCKET_QUEUE, "total_bytes", 12, 4, true),
    (RecordType::SOCKET_BUFFER, "lin_len", 20, 4, true),
    (RecordType::SOCKET_BUFFER, "frg_len", 24, 4, true),
    (RecordType::SOCKET_BUFFER, "skb_len", 28, 4, true),
    (RecordType::SOCKET_BUFFER, "nr_frags", 54, 2, true),
    (RecordType::SOCKET_UNIX, "laddr_len", 24, 4, true),
    (RecordType::SOCKET_UNIX, "raddr_len", 28, 4, true),
    (RecordType::SOCKET_INET, "laddr_len", 288, 4, true),
    (RecordType::SOCKET_INET, "raddr_len", 292, 4, true),
    (RecordType::RS_RIGHTS, "nr_fds", 8, 4, true),
    (RecordType::RS_PENDING, "index", 20, 4, true),
    (RecordType::HEADER, "uts_release_len", 42, 2, true),
    (RecordType::HEADER, "uts_version_len", 44, 2, true),
    (RecordType::HEADER, "uts_machine_len", 46, 2, true),
    // Cross-checked against the FILE_DESC records that follow (bad-fd).
    (RecordType::FILE_TABLE, "fdt_nfds", 8, 4, true),
];

fn put(bytes: &mut [u8], at: usize, width: usize, value: u64) {
    if let Some(dst) = bytes.get_mut(at..at + width) {
        dst.copy_from_slice(&value.to_le_bytes()[..width]);
    }
}

fn get(bytes: &[u8], at: usize, width: usize) -> u64 {
    let mut le = [0u8; 8];
    if let Some(src) = bytes.get(at..at + width) {
        le[..width].copy_from_slice(src);
    }
    u64::from_le_bytes(le)
}

/// `(absolute offset, width, must_break)` of every count field present in `bytes`.
fn count_sites(bytes: &[u8]) -> Vec<(usize, usize, bool)> {
    let mut out = Vec::new();
    for (off, len, ty) in frames(bytes) {
        for &(fty, _, at, width, must) in COUNT_FIELDS {
            if fty == ty && at + width <= len {
                out.push((off + at, width, must));
            }
        }
    }
    out
}

impl Mutation {
    /// Apply to `bytes`. Returns whether a valid input must come out invalid (when changed).
    fn apply(&self, bytes: &mut Vec<u8>) -> bool {
        let fr = frames(bytes);
        let pick = |seed: usize| fr.get(seed % fr.len().max(1)).copied();
        match self {
            Mutation::FlipBits(flips) => {
                let n = bytes.len();
                if n > 0 {
                    for &(at, bit) in flips {
                        bytes[at % n] ^= 1 << (bit % 8);
                    }
                }
                false
            }
            Mutation::Truncate(seed) => {
                let n = bytes.len();
                if n > 0 {
                    bytes.truncate(seed % n);
                }
                true
            }
            Mutation::SetLen { rec, len } => {
                let Some((off, l, _)) = pick(*rec) else { return false };
                let l = l as u32;
                let v = match len {
                    LenValue::Max => u32::MAX,
                    LenValue::Half => 0x8000_0000,
                    LenValue::PlusOne => l + 1,
                    LenValue::MinusOne => l - 1,
                    LenValue::Seven => 7,
                    LenValue::Zero => 0,
                };
                put(bytes, off + 4, 4, u64::from(v));
                true
            }
            Mutation::SetField { rec, field, value } => {
                let Some((off, l, ty)) = pick(*rec) else { return false };
                let Some(lay) = layout(ty).filter(|lay| lay.size == l) else { return false };
                let ints: Vec<_> = lay.fields.iter().filter(|f| f.signed.is_some()).collect();
                if let Some(f) = ints.get(field % ints.len().max(1)) {
                    put(bytes, off + f.offset, f.size, *value);
                }
                false
            }
            Mutation::SetCount { pick: seed, value } => {
                let sites = count_sites(bytes);
                let Some(&(at, width, must)) = sites.get(seed % sites.len().max(1)) else { return false };
                put(bytes, at, width, u64::from(*value));
                must
            }
            Mutation::Duplicate(seed) => {
                let Some((off, l, ty)) = pick(*seed) else { return false };
                let copy = bytes[off..off + l].to_vec();
                bytes.splice(off + l..off + l, copy);
                matches!(ty, RecordType::HEADER | RecordType::TAIL | RecordType::OBJREF)
            }
            Mutation::Remove(seed) => {
                let Some((off, l, ty)) = pick(*seed) else { return false };
                bytes.drain(off..off + l);
                matches!(ty, RecordType::HEADER | RecordType::TAIL)
            }
            Mutation::Move { from, to } => {
                let (Some((off, l, _)), Some((to_off, _, _))) = (pick(*from), pick(*to)) else { return false };
                let rec: Vec<u8> = bytes.drain(off..off + l).collect();
                let at = if to_off > off { to_off - l } else { to_off };
                bytes.splice(at..at, rec);
                false
            }
            Mutation::Append(garbage) => {
                bytes.extend_from_slice(garbage);
                !garbage.is_empty()
            }
        }
    }
}

fn len_value() -> impl Strategy<Value = LenValue> {
    prop_oneof![
        Just(LenValue::Max),
        Just(LenValue::Half),
        Just(LenValue::PlusOne),
        Just(LenValue::MinusOne),
        Just(LenValue::Seven),
        Just(LenValue::Zero),
    ]
}

fn huge_u32() -> impl Strategy<Value = u32> {
    prop_oneof![Just(u32::MAX), Just(0x8000_0000), Just(0x7fff_ffff), Just(0x0100_0000), Just(0xffff), any::<u32>()]
}

fn boundary_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(u64::MAX),
        Just(0x8000_0000),
        Just(0x7fff_ffff),
        Just(0xffff_ffff),
        Just(0x8000),
        any::<u64>()
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        prop::collection::vec((any::<usize>(), 0..8u8), 1..8).prop_map(Mutation::FlipBits),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), len_value()).prop_map(|(rec, len)| Mutation::SetLen { rec, len }),
        (any::<usize>(), any::<usize>(), boundary_u64()).prop_map(|(rec, field, value)| Mutation::SetField {
            rec,
            field,
            value
        }),
        (any::<usize>(), huge_u32()).prop_map(|(pick, value)| Mutation::SetCount { pick, value }),
        any::<usize>().prop_map(Mutation::Duplicate),
        any::<usize>().prop_map(Mutation::Remove),
        (any::<usize>(), any::<usize>()).prop_map(|(from, to)| Mutation::Move { from, to }),
        prop::collection::vec(any::<u8>(), 1..64).prop_map(Mutation::Append),
    ]
}

fn input_index() -> impl Strategy<Value = usize> {
    0..inputs().len()
}

// ---------------------------------------------------------------------------------------------
// Checks.

/// Load and check the report's own invariants.
fn check_load(bytes: &[u8]) -> Report<'_> {
    let report = load(bytes);
    assert_eq!(report.image.size, bytes.len());
    let mut prev = (0, 0);
    for d in &report.diagnostics {
        assert!(
            d.range.start <= d.range.end && d.range.end <= bytes.len(),
            "diagnostic range {:?} outside the {}-byte input: {d}",
            d.range,
            bytes.len()
        );
        if let Some(r) = d.record {
            assert!(r < report.image.record_count.max(1), "record {r} of {}: {d}", report.image.record_count);
        }
        let key = (d.range.start, d.range.end);
        assert!(key >= prev, "diagnostics out of order at {d}");
        prev = key;
    }
    report
}

/// `text::decode` succeeds exactly when framing is intact, and then round-trips.
fn check_text(bytes: &[u8]) {
    let framed = Records::new(bytes).all(|r| r.is_ok());
    match text::decode(bytes) {
        Ok(v) => {
            assert!(framed, "decode accepted broken framing");
            let back = text::encode(&v).unwrap_or_else(|e| panic!("encode(decode(x)) failed: {e}"));
            assert!(back == bytes, "encode(decode(x)) != x ({} vs {} bytes)", back.len(), bytes.len());
            let s = serde_json::to_string(&v).expect("serialize");
            let v2: serde_json::Value = serde_json::from_str(&s).expect("parse back");
            assert!(text::encode(&v2).ok().as_deref() == Some(bytes), "round trip through the JSON string differs");
        }
        Err(e) => assert!(!framed, "decode failed on framed input: {e}"),
    }
}

fn check_all(bytes: &[u8]) -> bool {
    let valid = check_load(bytes).is_valid();
    check_text(bytes);
    valid
}

proptest! {
    #[test]
    fn single_mutations_never_panic_and_break_what_they_must(i in input_index(), m in mutation()) {
        let input = &inputs()[i];
        let mut bytes = input.bytes.clone();
        let must_break = m.apply(&mut bytes);
        let valid = check_all(&bytes);
        if input.valid && must_break && bytes != input.bytes {
            prop_assert!(!valid, "{} after {:?} still loads as valid", input.name, m);
        }
    }

    #[test]
    fn stacked_mutations_never_panic(i in input_index(), ms in prop::collection::vec(mutation(), 1..6)) {
        let mut bytes = inputs()[i].bytes.clone();
        for m in &ms {
            m.apply(&mut bytes);
        }
        check_all(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        check_all(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// Deterministic checks.

#[test]
fn there_are_inputs_and_the_valid_ones_round_trip() {
    let all = inputs();
    assert!(all.iter().any(|i| i.valid), "no valid input at all");
    for i in all {
        check_all(&i.bytes);
    }
}

#[test]
fn truncating_a_valid_image_is_an_error() {
    for input in inputs().iter().filter(|i| i.valid) {
        let fr = frames(&input.bytes);
        // Every record boundary, a cut inside each header and inside each record; sampled on
        // big images so debug builds stay fast.
        let step = (fr.len() / 64).max(1);
        for &(off, len, _) in fr.iter().step_by(step) {
            for cut in [off, off + HDR_LEN / 2, off + len / 2, off + len - 1] {
                if cut < input.bytes.len() {
                    let report = check_load(&input.bytes[..cut]);
                    assert!(!report.is_valid(), "{} cut to {cut} bytes loads as valid", input.name);
                }
            }
        }
    }
}

#[test]
fn fuzz_regressions_load_without_panic() {
    for (name, bytes) in read_images("fuzz") {
        eprintln!("fuzz regression {name}");
        check_all(&bytes);
    }
}

// ---------------------------------------------------------------------------------------------
// Memory: `load` must not allocate in proportion to a length field.

mod counting {
    //! A global allocator that counts live bytes per thread, only while a measurement runs on
    //! that thread; other tests of the binary pay one thread-local read per allocation.
    use std::alloc::{GlobalAlloc, Layout, System};
    use std::cell::Cell;

    thread_local! {
        static ON: Cell<bool> = const { Cell::new(false) };
        static LIVE: Cell<isize> = const { Cell::new(0) };
        static PEAK: Cell<isize> = const { Cell::new(0) };
    }

    fn note(delta: isize) {
        let _ = ON.try_with(|on| {
            if on.get() {
                let live = LIVE.with(|l| {
                    l.set(l.get() + delta);
                    l.get()
                });
                PEAK.with(|p| p.set(p.get().max(live)));
            }
        });
    }

    #[derive(Debug)]
    pub struct Counting;

    #[allow(unsafe_code)]
    // SAFETY: every call forwards to `System` with the caller's arguments unchanged.
    unsafe impl GlobalAlloc for Counting {
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            note(layout.size() as isize);
            unsafe { System.alloc(layout) }
        }
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            note(layout.size() as isize);
            unsafe { System.alloc_zeroed(layout) }
        }
        unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
            note(-(layout.size() as isize));
            unsafe { System.dealloc(ptr, layout) }
        }
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            note(new_size as isize - layout.size() as isize);
            unsafe { System.realloc(ptr, layout, new_size) }
        }
    }

    /// Run `f` and return its result with the peak of bytes allocated (and not yet freed)
    /// on this thread during the call.
    pub fn peak<R>(f: impl FnOnce() -> R) -> (R, usize) {
        LIVE.with(|l| l.set(0));
        PEAK.with(|p| p.set(0));
        ON.with(|on| on.set(true));
        let r = f();
        ON.with(|on| on.set(false));
        (r, PEAK.with(Cell::get).max(0) as usize)
    }
}

#[global_allocator]
static ALLOC: counting::Counting = counting::Counting;

/// Set every count/length field of every record to its largest value (and `fdt_nfds` too).
fn all_counts_huge(bytes: &[u8]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for (at, width, _) in count_sites(bytes) {
        put(&mut out, at, width, u64::MAX);
    }
    out
}

#[test]
fn huge_count_fields_do_not_allocate() {
    let mut cases: Vec<(String, Vec<u8>)> = vec![
        ("synth::mixed(30)".into(), synth::mixed(30).to_image().expect("synth")),
        ("synth::payload_heavy(4, 4096)".into(), synth::payload_heavy(4, 4096).to_image().expect("synth")),
    ];
    cases.extend(read_images("valid").into_iter().filter(|(_, b)| b.len() < 64 * 1024));
    let mut touched = std::collections::BTreeSet::new();
    for (name, bytes) in &cases {
        let huge = all_counts_huge(bytes);
        for (off, _, ty) in frames(bytes) {
            if COUNT_FIELDS.iter().any(|f| f.0 == ty) && get(&huge, off + 8, 4) == u64::from(u32::MAX) {
                touched.insert(ty);
            }
        }
        let (base_valid, base) = counting::peak(|| load(bytes).is_valid());
        let (huge_valid, peak) = counting::peak(|| load(&huge).is_valid());
        assert!(base_valid, "{name} is not valid to begin with");
        assert!(!huge_valid || huge == *bytes, "{name} with huge counts loads as valid");
        // Diagnostics make the broken image cost more than the valid one, but in proportion
        // to the records present, never to the 4 GiB the fields claim.
        let bound = 4 * base + 64 * bytes.len() + (1 << 20);
        assert!(peak <= bound, "{name}: load peaked at {peak} bytes with huge counts ({base} without, bound {bound})");
    }
    for ty in [RecordType::SOCKET_QUEUE, RecordType::RS_RIGHTS] {
        assert!(touched.contains(&ty), "no input has a {ty} record to inflate");
    }
}

#[test]
fn rights_claiming_more_fds_than_present_do_not_allocate() {
    // A framed RS_RIGHTS record whose nr_fds says 0xffff_ffff but holds three entries.
    let Some((_, valid)) = read_images("valid").into_iter().find(|(n, _)| n.contains("scm-rights")) else {
        return; // the fixture set has no SCM_RIGHTS image
    };
    let mut bytes = valid.clone();
    for (off, _, ty) in frames(&valid) {
        if ty == RecordType::RS_RIGHTS {
            put(&mut bytes, off + 8, 4, u64::from(u32::MAX));
        }
    }
    assert_ne!(bytes, valid);
    let (_, base) = counting::peak(|| load(&valid).is_valid());
    let (report_valid, peak) = counting::peak(|| check_load(&bytes).is_valid());
    assert!(!report_valid);
    assert!(peak <= 4 * base + (1 << 20), "peak {peak} vs {base}");
    check_text(&bytes);
}
