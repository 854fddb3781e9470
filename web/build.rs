//! Embeds the fixture gallery: every `fixtures/images/{valid,invalid}/*.rsimg` becomes an
//! `include_bytes!` entry `(name, group, description, bytes)` in `$OUT_DIR/gallery.rs`, with the
//! description taken from `fixtures/src/<group>/<name>.json` when there is one. Missing or
//! empty directories give an empty list (the app then shows only generated images).
//! A fixture whose source is `{"synthetic": N}` is `synth::mixed(N)` (the fixture tests keep
//! the committed image equal to it): it goes to `SYNTHETIC` as `(name, group, description, N)`
//! and is generated when opened instead of being embedded (many-1000 alone would be a tenth of
//! the gzipped bundle).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const GROUPS: &[&str] = &["valid", "invalid"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let fixtures = manifest.join("..").join("fixtures");
    let mut out = String::from("/// `(name, group, description, bytes)` of every embedded fixture image.\n");
    out.push_str("pub static FIXTURES: &[(&str, &str, &str, &[u8])] = &[\n");
    let mut synthetic = String::from("/// `(name, group, description, N)` of the `synth::mixed(N)` fixtures.\n");
    synthetic.push_str("pub static SYNTHETIC: &[(&str, &str, &str, usize)] = &[\n");
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
                let _ = writeln!(synthetic, "    ({name:?}, {group:?}, {description:?}, {n}),");
                continue;
            }
            let description = description(&source);
            let abs = path.canonicalize().unwrap_or(path.clone());
            let _ = writeln!(
                out,
                "    ({name:?}, {group:?}, {description:?}, include_bytes!({:?})),",
                abs.to_string_lossy()
            );
        }
    }
    out.push_str("];\n");
    synthetic.push_str("];\n");
    out.push_str(&synthetic);
    let dest = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR")).join("gallery.rs");
    std::fs::write(dest, out).expect("write gallery.rs");
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
