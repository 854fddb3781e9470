//! Embeds the fixture gallery: every `fixtures/images/{valid,invalid}/*.rsimg` becomes an entry
//! `(name, group, description, Source::Embedded(start, len))` in `$OUT_DIR/gallery.rs`, with
//! the description taken from `fixtures/src/<group>/<name>.json` when there is one. The images
//! themselves are concatenated and DEFLATE-compressed into one `$OUT_DIR/fixtures.deflate`
//! (`PACKED`, `UNPACKED` bytes when inflated): the images are mostly zero padding and repeat
//! each other, so one stream is a few KB where the raw bytes cost ~15 KB of the gzipped bundle
//! (the app already carries the inflater for share links). Missing or empty directories give an
//! empty list (the app then shows only generated images).
//! A fixture whose source is `{"synthetic": N}` is `synth::mixed(N)` (the fixture tests keep
//! the committed image equal to it): its entry is `Source::Synthetic(N)` and it is generated
//! when opened instead of being embedded (many-1000 alone would be a tenth of the gzipped
//! bundle).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const GROUPS: &[&str] = &["valid", "invalid"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let fixtures = manifest.join("..").join("fixtures");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut blob: Vec<u8> = Vec::new();
    // In gallery order: valid then invalid, by name within a group (as on disk).
    let mut out = String::from("/// `(name, group, description, source)` of every fixture, in gallery order.\n");
    out.push_str("pub static FIXTURES: &[(&str, &str, &str, Source)] = &[\n");
    for group in GROUPS {
        let images = fixtures.join("images").join(group);
        let sources = fixtures.join("src").join(group);
        watch(&images);
        watch(&sources);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&images)
            .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
            .unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "rsimg") && p.is_file());
        files.sort();
        for path in files {
            let Some(name) = path.file_stem().and_then(|s| s.to_str()) else { continue };
            let source = sources.join(format!("{name}.json"));
            if let Some(n) = synthetic_size(&source) {
                let description = format!("synth::mixed({n}), generated when opened");
                let _ = writeln!(out, "    ({name:?}, {group:?}, {description:?}, Source::Synthetic({n})),");
                continue;
            }
            let description = description(&source);
            let bytes = std::fs::read(&path).expect("read a fixture image");
            let _ = writeln!(
                out,
                "    ({name:?}, {group:?}, {description:?}, Source::Embedded({}, {})),",
                blob.len(),
                bytes.len()
            );
            blob.extend_from_slice(&bytes);
        }
    }
    criu(&fixtures.join("criu"), &mut blob, &mut out);
    out.push_str("];\n");
    let packed = out_dir.join("fixtures.deflate");
    std::fs::write(&packed, miniz_oxide::deflate::compress_to_vec(&blob, 10)).expect("write fixtures.deflate");
    let _ = writeln!(out, "/// The fixture images, concatenated and DEFLATE-compressed.");
    let _ = writeln!(out, "static PACKED: &[u8] = include_bytes!({:?});", packed.to_string_lossy());
    let _ = writeln!(out, "/// The length of `PACKED` inflated.");
    let _ = writeln!(out, "const UNPACKED: usize = {};", blob.len());
    std::fs::write(out_dir.join("gallery.rs"), out).expect("write gallery.rs");
}

/// The CRIU gallery: every image directory `fixtures/criu/images/{valid,invalid}/NAME/` becomes
/// `(criu-NAME, "criu" | "criu-invalid", description, Source::Criu(&[(file, start, len), ...]))`
/// (description from `fixtures/criu/src/GROUP/NAME/fixture.meta`), and every checkpoint archive
/// `fixtures/criu/archives/NAME.tar.*` an embedded item of the `criu` group, opened by content.
fn criu(root: &Path, blob: &mut Vec<u8>, out: &mut String) {
    for (group, label) in [("valid", "criu"), ("invalid", "criu-invalid")] {
        let images = root.join("images").join(group);
        watch(&images);
        for dir in sorted(&images).into_iter().filter(|p| p.is_dir()) {
            let Some(name) = dir.file_name().and_then(|s| s.to_str()) else { continue };
            let meta = root.join("src").join(group).join(name).join("fixture.meta");
            let description = description(&meta);
            let mut files = String::new();
            for f in sorted(&dir).into_iter().filter(|p| p.is_file()) {
                let Some(fname) = f.file_name().and_then(|s| s.to_str()) else { continue };
                let bytes = std::fs::read(&f).expect("read a CRIU fixture image");
                let _ = write!(files, "({fname:?}, {}, {}), ", blob.len(), bytes.len());
                blob.extend_from_slice(&bytes);
            }
            // `criu-` keeps the names (deep links) apart from the resocket fixtures'.
            let item = format!("criu-{name}");
            let _ = writeln!(out, "    ({item:?}, {label:?}, {description:?}, Source::Criu(&[{files}])),");
        }
    }
    let archives = root.join("archives");
    watch(&archives);
    for f in sorted(&archives).into_iter().filter(|p| p.is_file()) {
        let Some(fname) = f.file_name().and_then(|s| s.to_str()) else { continue };
        let bytes = std::fs::read(&f).expect("read a checkpoint archive");
        // Described by the naming conventions of the tools that write them; what is opened is
        // decided by the content (core's `detect`, `archive`), never by the name.
        let description = if fname.starts_with("checkpoint-") && fname.ends_with(".tar") {
            format!(
                "a CRI-O container checkpoint as the kubelet's checkpoint API writes it ({fname}: an \
                 uncompressed tar named checkpoint-POD_NAMESPACE-CONTAINER-TIME.tar), opened by its content"
            )
        } else if fname.starts_with("podman-") {
            format!(
                "a Podman container checkpoint (podman container checkpoint --export: {fname}), opened by its content"
            )
        } else {
            format!("a checkpoint archive ({fname}), opened by its content")
        };
        let _ = writeln!(
            out,
            "    ({fname:?}, \"criu\", {description:?}, Source::Embedded({}, {})),",
            blob.len(),
            bytes.len()
        );
        blob.extend_from_slice(&bytes);
    }
}

fn sorted(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> =
        std::fs::read_dir(dir).map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect()).unwrap_or_default();
    v.sort();
    v
}

/// Re-run when the directory (or, while it does not exist, its nearest existing ancestor) changes.
fn watch(dir: &Path) {
    let mut p = dir;
    while !p.exists() {
        match p.parent() {
            Some(parent) => p = parent,
            None => return,
        }
    }
    println!("cargo:rerun-if-changed={}", p.display());
}

fn synthetic_size(src: &Path) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(src).ok()?).ok()?;
    v.get("synthetic")?.as_u64()
}

fn description(src: &Path) -> String {
    std::fs::read_to_string(src)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("description").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_default()
}
