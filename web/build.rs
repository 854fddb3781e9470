//! Embeds the fixture gallery: every `fixtures/images/{valid,invalid}/*.rsimg` becomes an
//! `include_bytes!` entry `(name, group, description, bytes)` in `$OUT_DIR/gallery.rs`, with the
//! description taken from `fixtures/src/<group>/<name>.json` when there is one. Missing or
//! empty directories give an empty list (the app then shows only generated images).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const GROUPS: &[&str] = &["valid", "invalid"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let fixtures = manifest.join("..").join("fixtures");
    let mut out = String::from("/// `(name, group, description, bytes)` of every embedded fixture image.\n");
    out.push_str("pub static FIXTURES: &[(&str, &str, &str, &[u8])] = &[\n");
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
            let description = description(&sources.join(format!("{name}.json")));
            let abs = path.canonicalize().unwrap_or(path.clone());
            let _ = writeln!(
                out,
                "    ({name:?}, {group:?}, {description:?}, include_bytes!({:?})),",
                abs.to_string_lossy()
            );
        }
    }
    out.push_str("];\n");
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

fn description(src: &Path) -> String {
    std::fs::read_to_string(src)
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v.get("description").and_then(|d| d.as_str()).map(str::to_owned))
        .unwrap_or_default()
}
