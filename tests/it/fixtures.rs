//! Every fixture image is up to date with its readable source, matches its golden file, and
//! behaves as its kind promises.

use resocket_core::{load, text, wire, Severity};
use resocket_fixtures::{build_all, Fixture, Kind};

fn fixtures(kind: Kind) -> Vec<Fixture> {
    build_all(kind).expect("fixture sources build")
}

fn regen_hint() -> &'static str {
    "run `./x fixtures` (cargo run -p xtask -- fixtures) and commit the result"
}

#[test]
fn there_are_enough_fixtures() {
    assert!(fixtures(Kind::Valid).len() >= 20);
    assert!(fixtures(Kind::Invalid).len() >= 15);
}

#[test]
fn committed_images_match_their_sources() {
    for kind in [Kind::Valid, Kind::Invalid] {
        for f in fixtures(kind) {
            let on_disk = std::fs::read(f.image_path()).unwrap_or_default();
            assert!(on_disk == f.image, "{} is stale: {}", f.image_path().display(), regen_hint());
        }
    }
}

#[test]
fn goldens_match() {
    for kind in [Kind::Valid, Kind::Invalid] {
        for f in fixtures(kind) {
            let golden = std::fs::read_to_string(f.golden_path()).unwrap_or_default();
            assert_eq!(golden, f.golden(), "{} differs: {}", f.golden_path().display(), regen_hint());
        }
    }
}

#[test]
fn valid_fixtures_are_valid_without_warnings() {
    for f in fixtures(Kind::Valid) {
        let r = load(&f.image);
        assert!(r.diagnostics.is_empty(), "{}: {:#?}", f.name, r.diagnostics);
        assert!(!r.image.sockets.is_empty(), "{} has no sockets", f.name);
    }
}

#[test]
fn text_form_round_trips_every_fixture_byte_for_byte() {
    for kind in [Kind::Valid, Kind::Invalid] {
        for f in fixtures(kind) {
            let Ok(t) = text::decode(&f.image) else {
                // Only framing errors make decode fail.
                assert!(
                    matches!(f.expect.as_deref(), Some("truncated" | "len-past-end" | "len-too-small")),
                    "{}",
                    f.name
                );
                continue;
            };
            assert_eq!(text::encode(&t).unwrap(), f.image, "{}", f.name);
            // And through a JSON string, as the CLI does.
            let s = serde_json::to_string_pretty(&t).unwrap();
            let back: serde_json::Value = serde_json::from_str(&s).unwrap();
            assert_eq!(text::encode(&back).unwrap(), f.image, "{}", f.name);
        }
    }
}

#[test]
fn typed_reprs_reemit_valid_images_byte_for_byte() {
    for f in fixtures(Kind::Valid) {
        assert_eq!(wire::reemit(&f.image).unwrap(), f.image, "{}", f.name);
    }
}

#[test]
fn each_invalid_fixture_triggers_its_diagnostic() {
    for f in fixtures(Kind::Invalid) {
        let expect = f.expect.clone().unwrap_or_else(|| panic!("{} has no \"expect\"", f.name));
        let r = load(&f.image);
        let hit = r.diagnostics.iter().find(|d| d.code.as_str() == expect);
        let d = hit.unwrap_or_else(|| panic!("{}: expected {expect}, got {:#?}", f.name, r.diagnostics));
        if d.severity == Severity::Error {
            assert!(!r.is_valid(), "{}", f.name);
        }
        // The diagnostic points inside the file (or at its end).
        assert!(d.range.start <= f.image.len() && d.range.end <= f.image.len(), "{}: {:?}", f.name, d.range);
        // Errors other than the expected one are only its consequences, never more than two.
        let others = r.diagnostics.iter().filter(|x| x.is_error() && x.code.as_str() != expect).count();
        assert!(others <= 1, "{}: unrelated errors {:#?}", f.name, r.diagnostics);
    }
}

#[test]
fn every_error_code_has_an_invalid_fixture_or_a_unit_test() {
    // Codes covered by fixtures; the rest must be listed here with the test that covers them.
    let covered_elsewhere = [
        "nonzero-uflags",
        "bad-uts",
        "objref-bad-type",
        "misplaced-record",
        "family-mismatch",
        "unsupported-file",
        "peer-gone",
        "bad-shutdown",
        "bad-unix-flags",
        "bad-buffer",
        "bad-sender",
        "dgram-queue-full",
        "bad-rights",
        "bad-fd",
        "unused-socket",
        "inet-address",
    ];
    let fixture_codes: Vec<String> = fixtures(Kind::Invalid).into_iter().filter_map(|f| f.expect).collect();
    for c in resocket_core::Code::ALL {
        let s = c.as_str();
        // CRIU codes have CRIU fixture sets (fixtures/criu/src/invalid), checked by
        // core/tests/it/criu.rs (criu_every_code_has_an_invalid_fixture).
        assert!(
            fixture_codes.iter().any(|f| f == s) || covered_elsewhere.contains(&s) || s.starts_with("criu-"),
            "diagnostic {s} has neither an invalid fixture nor an entry here"
        );
    }
}
