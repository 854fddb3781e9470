//! Lists the fixture gallery: every `fixtures/images/{valid,invalid}/*.rsimg` becomes an entry
//! `(name, group, description, Source::File(path))` in `$OUT_DIR/gallery.rs`, with the
//! description taken from `fixtures/src/<group>/<name>.json` when there is one. The images are
//! not in the page's module: trunk copies `fixtures/images`, `fixtures/criu/images` and
//! `fixtures/criu/archives` next to the page (index.html) and the gallery fetches an item's
//! files when it is opened, as the lessons page fetches its lesson files (the packed images
//! were 9.2 KB of the gzipped page, incompressible: docs/benchmarks.md). `path` is the file's
//! path under `fixtures/`, relative to the page. Missing or empty directories give an empty
//! list (the app then shows only generated images).
//! A fixture whose source is `{"synthetic": N}` is `synth::mixed(N)` (the fixture tests keep
//! the committed image equal to it): its entry is `Source::Synthetic(N)` and it is generated
//! when opened instead of being fetched.
//! The browser tests, which are served no fixture files, read the same files from
//! `$OUT_DIR/fixture_files.rs` (`(path, include_bytes!(…))` of every file listed), through
//! `gallery::load_with`; the page does not link it.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

const GROUPS: &[&str] = &["valid", "invalid"];

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let fixtures = manifest.join("..").join("fixtures");
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    // Every file listed: (path relative to the page, path on disk), for the tests' table.
    let mut listed: Vec<(String, PathBuf)> = Vec::new();
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
            let url = format!("fixtures/images/{group}/{name}.rsimg");
            let _ = writeln!(out, "    ({name:?}, {group:?}, {description:?}, Source::File({url:?})),");
            listed.push((url, path.clone()));
        }
    }
    criu(&fixtures.join("criu"), &mut listed, &mut out);
    out.push_str("];\n");
    std::fs::write(out_dir.join("gallery.rs"), out).expect("write gallery.rs");
    let mut files = String::from("/// Every fixture file the gallery lists: (its path under the page, its bytes).\n");
    files.push_str("pub static FIXTURE_FILES: &[(&str, &[u8])] = &[\n");
    for (url, disk) in &listed {
        let _ = writeln!(files, "    ({url:?}, include_bytes!({:?})),", disk.to_string_lossy());
    }
    files.push_str("];\n");
    std::fs::write(out_dir.join("fixture_files.rs"), files).expect("write fixture_files.rs");
}

/// The CRIU gallery: every image directory `fixtures/criu/images/{valid,invalid}/NAME/` becomes
/// `(criu-NAME, "criu" | "criu-invalid", description, Source::Criu(dir, &[file, ...]))`
/// (description from `fixtures/criu/src/GROUP/NAME/fixture.meta`), and every checkpoint archive
/// `fixtures/criu/archives/NAME.tar.*` an embedded item of the `criu` group, opened by content.
fn criu(root: &Path, listed: &mut Vec<(String, PathBuf)>, out: &mut String) {
    for (group, label) in [("valid", "criu"), ("invalid", "criu-invalid")] {
        let images = root.join("images").join(group);
        watch(&images);
        for dir in sorted(&images).into_iter().filter(|p| p.is_dir()) {
            let Some(name) = dir.file_name().and_then(|s| s.to_str()) else { continue };
            let meta = root.join("src").join(group).join(name).join("fixture.meta");
            let description = description(&meta);
            // `criu-` keeps the names (deep links) apart from the resocket fixtures'.
            let dir_url = format!("fixtures/criu/images/{group}/{name}");
            criu_dir_item(&dir, &dir_url, &format!("criu-{name}"), label, &description, listed, out);
        }
    }
    // Real dumps made by `criu dump` (fixtures/criu/real/README.md), described by the first
    // comment line of the program that was dumped.
    let real = root.join("real");
    watch(&real);
    for dir in sorted(&real).into_iter().filter(|p| p.is_dir()) {
        let Some(name) = dir.file_name().and_then(|s| s.to_str()) else { continue };
        if !name.starts_with("criu-") || name.ends_with(".crit") {
            continue;
        }
        let program = std::fs::read_to_string(real.join("src").join(format!("{name}.py"))).unwrap_or_default();
        let description = program.lines().next().and_then(|l| l.strip_prefix("# ")).unwrap_or("a real CRIU dump");
        let dir_url = format!("fixtures/criu/real/{name}");
        criu_dir_item(&dir, &dir_url, &format!("real-{name}"), "criu", description, listed, out);
    }
    // Real container checkpoint archives (`podman container checkpoint --export`, README.md).
    for f in sorted(&real).into_iter().filter(|p| p.is_file()) {
        let Some(fname) = f.file_name().and_then(|s| s.to_str()) else { continue };
        let Some(name) = fname.strip_suffix(".tar.gz").filter(|n| n.starts_with("podman-")) else { continue };
        let description = format!(
            "a real Podman checkpoint archive (podman container checkpoint --export, runc, CRIU 4.2: {fname}) \
             of a static program's AF_UNIX, TCP and UDP sockets, opened by its content"
        );
        let url = format!("fixtures/criu/real/{fname}");
        let _ = writeln!(out, "    ({:?}, \"criu\", {description:?}, Source::File({url:?})),", format!("real-{name}"));
        listed.push((url, f.clone()));
    }
    let archives = root.join("archives");
    watch(&archives);
    for f in sorted(&archives).into_iter().filter(|p| p.is_file()) {
        let Some(fname) = f.file_name().and_then(|s| s.to_str()) else { continue };
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
        let url = format!("fixtures/criu/archives/{fname}");
        let _ = writeln!(out, "    ({fname:?}, \"criu\", {description:?}, Source::File({url:?})),");
        listed.push((url, f.clone()));
    }
}

/// One gallery item for a CRIU image directory `dir`, served at `dir_url`: its files listed.
fn criu_dir_item(
    dir: &Path,
    dir_url: &str,
    item: &str,
    label: &str,
    description: &str,
    listed: &mut Vec<(String, PathBuf)>,
    out: &mut String,
) {
    let mut files = String::new();
    for f in sorted(dir).into_iter().filter(|p| p.is_file()) {
        let Some(fname) = f.file_name().and_then(|s| s.to_str()) else { continue };
        let _ = write!(files, "{fname:?}, ");
        listed.push((format!("{dir_url}/{fname}"), f.clone()));
    }
    let _ = writeln!(out, "    ({item:?}, {label:?}, {description:?}, Source::Criu({dir_url:?}, &[{files}])),");
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
