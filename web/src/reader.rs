//! The checkpoint reader's work, run in its worker ([`crate::worker`] is the JS side around
//! it): open files by content (core's `detect::open_files`: one resocket image, a CRIU image
//! directory's files, one CRIU image, a tar/tar.gz/tar.zst checkpoint archive), map a CRIU
//! checkpoint onto a scenario and its image ([`check`]), and the embedding API's result
//! (`openCheckpoint`, [`crate::api`]): that image loaded, checked and planned by core
//! ([`open_json`]); and an entry's fields walked for the page's entries panel ([`fields`], from
//! the entry's bytes the page sends).

use crate::message::{ArchiveMeta, FieldRow, Fields, FileMeta, Meta, Progress, SavedAddr, Stage, Walk};
use crate::model::Doc;
use resocket_core::archive;
use resocket_core::criu::walk::{Node, Val};
use resocket_core::criu::{self, ImageFile, Note, OpenedFile};
use resocket_core::detect::{self, CriuInput, Opening, Step};
use serde_json::{json, Value};
use std::rc::Rc;

/// A checkpoint opened and mapped: what the worker posts (and what `openCheckpoint` reports).
#[derive(Debug)]
pub struct Checked {
    pub meta: Meta,
    /// The mapping's notes (none when the checkpoint has errors: it is not mapped).
    pub notes: Vec<Note>,
    pub files: Vec<OpenedFile>,
    /// The scenario's resocket image, when the checkpoint maps.
    pub image: Option<Vec<u8>>,
}

/// Map an opened checkpoint onto a scenario and its image, as `restore convert` does: a
/// checkpoint with errors is not mapped (its diagnostics say why).
pub fn check(input: CriuInput, progress: &mut dyn FnMut(Progress)) -> Checked {
    let CriuInput { archive, skipped, opened } = input;
    let errors = opened.diagnostics.iter().filter(|d| d.is_error()).count();
    let (notes, image, unmapped) = if errors > 0 {
        let why = format!("the checkpoint has {errors} errors (see Diagnostics): it is not mapped onto a restore");
        (Vec::new(), None, Some(why))
    } else {
        progress(Progress { stage: Stage::Mapping, done: 0, total: 0, unpacked: 0 });
        let (scenario, notes) = opened.to_scenario();
        match scenario.to_image() {
            Ok(image) => (notes, Some(image), None),
            Err(e) => (notes, None, Some(format!("the checkpoint does not map onto a resocket image: {e}"))),
        }
    };
    let c = &opened.checkpoint;
    let addresses = SavedAddr::of(&opened);
    let saved_host = opened.saved_host();
    let files = opened
        .files
        .iter()
        .map(|f| FileMeta {
            name: f.name.clone(),
            first_magic: f.first_magic,
            magic: f.magic,
            decoded: f.decoded,
            extras: f.entries().any(|e| e.extra.is_some()),
        })
        .collect();
    let meta = Meta {
        archive: archive.as_deref().map(ArchiveMeta::of),
        skipped,
        files,
        tasks: c.tasks.len(),
        sockets: c.unix.len() + c.inet.len(),
        diagnostics: opened.diagnostics,
        unmapped,
        addresses,
        saved_host,
    };
    Checked { meta, notes, files: opened.files, image }
}

/// What the files turned out to be.
#[derive(Debug)]
pub enum Outcome {
    Rsimg(ImageFile),
    Criu(Box<Checked>),
}

/// Open the files by content (core's `detect::open_files`) and map a checkpoint, telling
/// `progress` how far it is.
pub fn open(files: Vec<ImageFile>, progress: &mut dyn FnMut(Progress)) -> Result<Outcome, String> {
    let mut step = |s: Step| {
        progress(match s {
            Step::Unpacking(u) => {
                Progress { stage: Stage::Unpacking, done: u.consumed, total: u.total, unpacked: u.unpacked }
            }
            Step::Reading(criu::Reading::Images { done, total }) => {
                Progress { stage: Stage::Images, done: done as u64, total: total as u64, unpacked: 0 }
            }
            Step::Reading(criu::Reading::Checking) => {
                Progress { stage: Stage::Checking, done: 0, total: 0, unpacked: 0 }
            }
        })
    };
    match detect::open_files_observed(files, archive::Limits::default(), &mut step).map_err(|e| e.to_string())? {
        Opening::Rsimg(f) => Ok(Outcome::Rsimg(f)),
        Opening::Criu(c) => Ok(Outcome::Criu(Box::new(check(*c, progress)))),
    }
}

/// What `openCheckpoint` ([`crate::api::open_checkpoint`]) returns, as JSON (also used by the tests without a JS boundary).
pub fn open_json(files: Vec<ImageFile>) -> Result<Value, String> {
    let name = match files.as_slice() {
        [f] => f.name.clone(),
        fs => format!("{} files", fs.len()),
    };
    let opening = detect::open_files(files, resocket_core::archive::Limits::default()).map_err(|e| e.to_string())?;
    let (mut out, image) = match opening {
        Opening::Rsimg(f) => (json!({ "kind": "rsimg", "files": [], "notes": [] }), Ok(Rc::<[u8]>::from(f.bytes))),
        Opening::Criu(c) => {
            let doc = check(*c, &mut |_| {});
            let files: Vec<Value> = doc
                .files
                .iter()
                .map(|f| {
                    json!({
                        "name": f.name, "magic": f.magic_name(), "knownMagic": f.known_magic().is_some(),
                        "decoded": f.decoded, "entries": f.entry_count(), "bytes": f.bytes.len(),
                    })
                })
                .collect();
            let meta = &doc.meta;
            let container = meta.archive.as_ref().map(|a| {
                json!({ "compression": a.compression.as_str(), "layout": a.layout, "metadata": a.container,
                        "members": a.members, "unpacked": a.unpacked })
            });
            let out = json!({
                "kind": "criu",
                "files": files,
                "skipped": meta.skipped.iter().map(|(n, w)| json!({ "name": n, "why": w.as_str() })).collect::<Vec<_>>(),
                "container": container,
                "diagnostics": meta.diagnostics,
                "notes": doc.notes,
                "valid": !meta.diagnostics.iter().any(|d| d.is_error()),
            });
            let image = match (doc.image, &meta.unmapped) {
                (Some(b), _) => Ok(Rc::from(b)),
                (None, why) => Err(why.clone().unwrap_or_default()),
            };
            (out, image)
        }
    };
    match image {
        Ok(bytes) => {
            let doc = Doc::load(name, bytes);
            let sockets: Vec<Value> = doc
                .sockets
                .iter()
                .map(|s| {
                    json!({ "objref": s.objref, "family": s.family, "type": s.ty, "state": s.state, "role": s.role,
                            "name": s.name, "peer": s.peer, "queuedMessages": s.queued_msgs,
                            "queuedBytes": s.queued_bytes, "pending": s.pending })
                })
                .collect();
            out["sockets"] = Value::Array(sockets);
            if out["kind"] == "rsimg" {
                out["diagnostics"] = serde_json::to_value(&doc.diagnostics).unwrap_or_default();
                out["valid"] = Value::Bool(doc.is_valid());
            }
            match resocket_core::plan::plan(&doc.image) {
                Ok(p) => out["plan"] = serde_json::to_value(&p).unwrap_or_default(),
                Err(e) => out["planError"] = Value::String(e.to_string()),
            }
        }
        Err(why) => {
            out["sockets"] = Value::Array(Vec::new());
            out["planError"] = Value::String(why);
        }
    }
    Ok(out)
}

/// Bytes shown as text or hex in a field's value.
const VALUE_BYTES: usize = 48;

fn bytes_text(b: &[u8]) -> String {
    let shown = &b[..b.len().min(VALUE_BYTES)];
    let more = if b.len() > VALUE_BYTES { format!("… ({} B)", b.len()) } else { String::new() };
    if !shown.is_empty() && shown.iter().all(|&c| c.is_ascii_graphic() || c == b' ') {
        format!("\"{}\"{more}", String::from_utf8_lossy(shown))
    } else {
        let hex: Vec<String> = shown.iter().map(|c| format!("{c:02x}")).collect();
        format!("{}{more}", hex.join(" "))
    }
}

/// The rows of `nodes`, values read from `walk`'s payload (field ranges are file offsets).
fn rows(walk: &Walk, nodes: &[Node], depth: usize, out: &mut Vec<FieldRow>) {
    for n in nodes {
        let value = match &n.val {
            Val::Varint(v) | Val::Fixed64(v) => v.to_string(),
            Val::Fixed32(v) => v.to_string(),
            Val::Bytes(r) => {
                let at = r.start.saturating_sub(walk.offset)..r.end.saturating_sub(walk.offset);
                bytes_text(walk.payload.get(at).unwrap_or_default())
            }
            Val::Packed(v) => format!("[{}]", v.iter().map(u64::to_string).collect::<Vec<_>>().join(", ")),
            Val::Msg(_) => String::new(),
        };
        out.push(FieldRow {
            path: n.field.path.clone(),
            depth,
            known: n.field.name.is_some(),
            value,
            range: n.field.range.clone(),
        });
        if let Val::Msg(sub) = &n.val {
            rows(walk, sub, depth + 1, out);
        }
    }
}

/// The entry a walk request carries, walked (core's wire walk over its image's schema): its
/// fields, nested ones after their parent, and the walk's error (where it stopped), if any.
/// Only the request is read: the worker keeps nothing of the checkpoint.
pub fn fields(walk: &Walk) -> Fields {
    let schema = walk.magic.and_then(criu::Magic::from_value).and_then(criu::schema::of_magic).filter(|_| walk.decoded);
    let mut rows_out = Vec::new();
    let mut error = None;
    if let Some(s) = schema {
        let w = criu::walk::walk(&walk.payload, walk.offset, s);
        rows(walk, &w.nodes, 0, &mut rows_out);
        error = w.error.map(|e| e.to_string());
    }
    Fields { file: walk.file, entry: walk.entry, schema: schema.is_some(), rows: rows_out, error }
}

/// A lesson file read by core (its bytes must be UTF-8 text): the `lessons` answer's part.
pub fn lesson_file(f: ImageFile) -> crate::message::LessonFile {
    match String::from_utf8(f.bytes) {
        Ok(text) => crate::message::LessonFile::read(f.name, &text),
        Err(_) => crate::message::LessonFile { name: f.name, lesson: Err("the file is not UTF-8 text".into()) },
    }
}
