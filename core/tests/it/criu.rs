//! The CRIU reader over the committed fixture sets (`fixtures/criu/images/{valid,invalid}/*/`):
//! valid sets open without errors and map onto a scenario that writes and validates; each
//! invalid set reports the code its `fixture.meta` expects, located in a file. Also: `open`
//! never panics on mutated fixture bytes (proptest), and unit-level cases built in memory.

use proptest::prelude::*;
use resocket_core::criu::{self, ImageFile, Opened};
use resocket_core::diag::Code;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/criu")).to_path_buf()
}

struct Set {
    name: String,
    expect: Option<String>,
    files: Vec<ImageFile>,
}

fn sets(kind: &str) -> Vec<Set> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(root().join("images").join(kind)) else { return out };
    let mut dirs: Vec<PathBuf> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    dirs.sort();
    for d in dirs {
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(root().join("src").join(kind).join(&name).join("fixture.meta")).unwrap(),
        )
        .unwrap();
        let mut files = Vec::new();
        for f in std::fs::read_dir(&d).unwrap().filter_map(Result::ok) {
            files.push(ImageFile {
                name: f.file_name().to_string_lossy().into_owned(),
                bytes: std::fs::read(f.path()).unwrap(),
            });
        }
        out.push(Set { name, expect: meta["expect"].as_str().map(Into::into), files });
    }
    out
}

fn render(o: &Opened) -> String {
    o.diagnostics.iter().map(|d| format!("  {d}\n")).collect()
}

#[test]
fn criu_fixture_counts() {
    assert!(sets("valid").len() >= 15, "at least 15 valid CRIU fixture sets");
    assert!(sets("invalid").len() >= 15, "at least 15 invalid CRIU fixture sets");
}

#[test]
fn criu_valid_sets_open_without_errors() {
    for s in sets("valid") {
        let o = criu::open(s.files);
        assert!(o.is_valid(), "{}:\n{}", s.name, render(&o));
        assert!(!o.checkpoint.tasks.is_empty(), "{}: no tasks", s.name);
        for t in &o.checkpoint.tasks {
            assert!(t.comm.is_some() && t.files_id.is_some(), "{}: task {} not joined", s.name, t.pid);
        }
    }
}

/// Every valid set maps onto a scenario that writes a valid image, plans, and whose plan
/// reproduces the image on the simulator.
#[test]
fn criu_valid_sets_map_plan_and_simulate() {
    use resocket_core::{check, load, plan};
    let mut failures = Vec::new();
    for s in sets("valid") {
        let o = criu::open(s.files);
        let (sc, _notes) = o.to_scenario();
        let img = match sc.to_image() {
            Ok(i) => i,
            Err(e) => {
                failures.push(format!("{}: {e}", s.name));
                continue;
            }
        };
        let r = load(&img);
        if !r.is_valid() {
            failures.push(format!("{}: image invalid: {:?}", s.name, r.diagnostics));
            continue;
        }
        let p = match plan::plan(&r.image) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: plan: {e}", s.name));
                continue;
            }
        };
        let rep = check::run_plan(&r.image, &p);
        if !rep.is_clean() {
            failures.push(format!("{}: simulate: {:?} {:?}", s.name, rep.failure.map(|f| f.explanation), rep.differences));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn criu_invalid_sets_report_their_code() {
    for s in sets("invalid") {
        let expect = s.expect.clone().unwrap_or_else(|| panic!("{}: no expect", s.name));
        let code = Code::from_str_opt(&expect).unwrap_or_else(|| panic!("{}: unknown code {expect}", s.name));
        let o = criu::open(s.files);
        let d = o.diagnostics.iter().find(|d| d.code == code);
        let d = d.unwrap_or_else(|| panic!("{}: expected {expect}, got:\n{}", s.name, render(&o)));
        assert!(d.file.is_some(), "{}: {d} names no file", s.name);
        let file = o.files.iter().find(|f| Some(&f.name) == d.file.as_ref());
        if let Some(f) = file {
            assert!(d.range.end <= f.bytes.len(), "{}: {d} range past the file", s.name);
        }
    }
}

#[test]
fn criu_every_code_has_an_invalid_fixture() {
    let expected: std::collections::BTreeSet<String> = sets("invalid").into_iter().filter_map(|s| s.expect).collect();
    for c in Code::ALL.iter().filter(|c| c.as_str().starts_with("criu-")) {
        let skip = [Code::CriuUnknownImage, Code::CriuUnknownField];
        if !skip.contains(c) {
            assert!(expected.contains(c.as_str()), "no invalid CRIU fixture for {c}");
        }
    }
}

#[test]
fn criu_unknown_field_is_visible() {
    let s = sets("valid").into_iter().find(|s| s.name == "unknown-field").unwrap();
    let o = criu::open(s.files);
    let d = o.diagnostics.iter().find(|d| d.code == Code::CriuUnknownField).expect("warning");
    assert_eq!(d.field.as_deref(), Some("#1001"));
    assert_eq!(d.file.as_deref(), Some("files.img"));
    let f = o.files.iter().find(|f| f.name == "files.img").unwrap();
    let unknown: Vec<_> = f.entries[0].unknown_fields().collect();
    assert_eq!(unknown.len(), 1);
    assert_eq!(&f.bytes[unknown[0].range.clone()], &[0xc8, 0x3e, 0x2a]);
}

#[test]
fn criu_fields_have_byte_ranges() {
    let s = sets("valid").into_iter().find(|s| s.name == "stream-pair").unwrap();
    let o = criu::open(s.files);
    let f = o.files.iter().find(|f| f.name == "files.img").unwrap();
    let e = &f.entries[1];
    let peer = e.fields.iter().find(|x| x.path == "usk.peer").expect("usk.peer");
    assert!(e.payload.start <= peer.range.start && peer.range.end <= e.payload.end);
    // tag 8 varint 30001
    assert_eq!(&f.bytes[peer.value.clone()], &[0xb1, 0xea, 0x01]);
}

fn all_inputs() -> Vec<Vec<ImageFile>> {
    sets("valid").into_iter().chain(sets("invalid")).map(|s| s.files).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]
    #[test]
    fn criu_open_never_panics_on_mutated_bytes(set in 0usize..64, file in 0usize..16, at in any::<usize>(),
                                               byte in any::<u8>(), cut in any::<bool>(), mapped in any::<bool>()) {
        let inputs = all_inputs();
        let mut files = inputs[set % inputs.len()].clone();
        let k = file % files.len();
        let b = &mut files[k].bytes;
        if !b.is_empty() {
            let i = at % b.len();
            if cut { b.truncate(i); } else { b[i] ^= byte | 1; }
        }
        let o = criu::open(files);
        for d in &o.diagnostics {
            if let Some(f) = o.files.iter().find(|f| Some(&f.name) == d.file.as_ref()) {
                prop_assert!(d.range.start <= d.range.end && d.range.end <= f.bytes.len().max(d.range.end.min(f.bytes.len())), "{d}");
            }
        }
        if mapped {
            let (sc, _notes) = o.to_scenario();
            let _ = sc.to_image();
        }
        let _ = o.crit_json();
    }
}
