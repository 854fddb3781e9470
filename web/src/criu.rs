//! CRIU checkpoints in the inspector: what is shown about an opened checkpoint (its image files
//! and their entries, the archive's container metadata, the located diagnostics, the notes on
//! what a CRIU restore loses) and the CRIU panels' actions (their reducer is `state::criu`). Everything comes
//! from core, computed in the checkpoint reader's worker (`crate::worker`): `detect::open_files`
//! opens the files by content, `criu::Opened` frames, decodes and checks them,
//! `Opened::to_scenario` maps the checkpoint onto a scenario whose image the rest of the
//! inspector (graph, timeline, plan, order checking) shows as for a native image. The page
//! keeps the files' bytes and framing, and walks an entry's fields (core's wire walker and
//! schema tables) when it is shown.

use crate::message::{ArchiveMeta, Meta, Notes, SavedAddr};
use resocket_core::criu::walk::{Node, Val};
use resocket_core::criu::OpenedFile;
use resocket_core::detect::Skip;
use resocket_core::Diagnostic;
use std::ops::Range;
use std::rc::Rc;

/// An opened CRIU checkpoint, as the checkpoint reader's worker posted it (`crate::worker`).
#[derive(Debug)]
pub struct CriuDoc {
    /// The file, directory or gallery name.
    pub name: String,
    /// The gallery item's description (empty for files).
    pub note: String,
    /// The archive it came from (container metadata, members), if any.
    pub archive: Option<ArchiveMeta>,
    /// Files given that are not read.
    pub skipped: Vec<(String, Skip)>,
    /// The image files with their framing, in name order.
    pub files: Vec<OpenedFile>,
    /// Everything found wrong, located by file, entry, offset and field.
    pub diagnostics: Vec<Diagnostic>,
    /// Processes and sockets (AF_UNIX and INET) in the checkpoint.
    pub tasks: usize,
    pub sockets: usize,
    /// The interface addresses CRIU saved (`ifaddr-N.img` on `netdev-N.img`'s devices).
    pub addresses: Vec<SavedAddr>,
    /// What the mapping onto resocket's model cannot say, or CRIU did not record.
    pub notes: Notes,
    /// The scenario's resocket image (graph, timeline, plan), or why there is none.
    pub image: Result<Rc<[u8]>, String>,
    pub errors: usize,
    pub warnings: usize,
}

/// Identity: the state compares docs by `Rc`.
impl PartialEq for CriuDoc {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl CriuDoc {
    /// The checkpoint the worker read and mapped (`reader::check`), under this name.
    pub fn new(
        name: String,
        note: String,
        meta: Meta,
        notes: Notes,
        files: Vec<OpenedFile>,
        image: Option<Vec<u8>>,
    ) -> CriuDoc {
        let Meta { archive, skipped, files: _, diagnostics, tasks, sockets, unmapped, addresses } = meta;
        let errors = diagnostics.iter().filter(|d| d.is_error()).count();
        let warnings = diagnostics.len() - errors;
        let image = match (image, unmapped) {
            (Some(b), _) => Ok(Rc::from(b)),
            (None, why) => Err(why.unwrap_or_else(|| "the checkpoint has no scenario image".into())),
        };
        CriuDoc {
            name,
            note,
            archive,
            skipped,
            files,
            diagnostics,
            tasks,
            sockets,
            addresses,
            notes,
            image,
            errors,
            warnings,
        }
    }

    /// The file shown first: `files.img` (the sockets) when there is one.
    pub fn first_file(&self) -> usize {
        self.files.iter().position(|f| f.name == "files.img").unwrap_or(0)
    }

    pub fn is_valid(&self) -> bool {
        self.errors == 0
    }
}

/// One field of an entry as the entries panel lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRow {
    /// Its path (`usk.opts.so_sndbuf`, `#40` for a field the schema does not know).
    pub path: String,
    /// Nesting depth.
    pub depth: usize,
    /// False for a field the schema does not know (kept visible).
    pub known: bool,
    /// The value as text (empty for a nested message: its fields follow).
    pub value: String,
    /// Tag through end of value, in file offsets.
    pub range: Range<usize>,
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

fn rows(file: &OpenedFile, nodes: &[Node], depth: usize, out: &mut Vec<FieldRow>) {
    for n in nodes {
        let value = match &n.val {
            Val::Varint(v) | Val::Fixed64(v) => v.to_string(),
            Val::Fixed32(v) => v.to_string(),
            Val::Bytes(r) => bytes_text(file.bytes.get(r.clone()).unwrap_or_default()),
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
            rows(file, sub, depth + 1, out);
        }
    }
}

/// The fields of entry `entry` of `file`, nested ones after their parent, and the walk's error
/// (where it stopped), if any.
pub fn entry_fields(file: &OpenedFile, entry: usize) -> (Vec<FieldRow>, Option<String>) {
    let Some(w) = file.walk(entry) else { return (Vec::new(), None) };
    let mut out = Vec::new();
    rows(file, &w.nodes, 0, &mut out);
    (out, w.error.map(|e| e.to_string()))
}

/// The innermost field of `entry` whose bytes contain `at`.
pub fn field_at(file: &OpenedFile, entry: usize, at: usize) -> Option<(String, Range<usize>)> {
    file.fields(entry)
        .into_iter()
        .filter(|f| f.range.contains(&at))
        .min_by_key(|f| f.range.len())
        .map(|f| (f.path, f.range))
}

/// The entry of `file` whose bytes contain `at`.
pub fn entry_at(file: &OpenedFile, at: usize) -> Option<usize> {
    file.entry_at(at)
}

/// What is selected in the CRIU panels.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CriuSel {
    /// The file shown (index into `Opened::files`).
    pub file: usize,
    /// Its selected entry.
    pub entry: Option<usize>,
    /// Bytes highlighted in the hex view (a clicked field or diagnostic), in file offsets.
    pub focus: Option<Range<usize>>,
    /// The clicked field's path.
    pub focus_field: Option<String>,
    /// The field under the pointer and its bytes.
    pub hover: Option<(String, Range<usize>)>,
    /// The clicked diagnostic.
    pub diag: Option<usize>,
    /// Entry rows rendered.
    pub shown: usize,
    /// Notes rendered.
    pub notes_shown: usize,
}

/// What the user does in the CRIU panels.
#[derive(Debug, Clone, PartialEq)]
pub enum CriuAction {
    /// A checkpoint was opened: show it (its scenario image, if any, is opened by the caller
    /// through `Action::Open` or the sliced job just before).
    Opened(Rc<CriuDoc>),
    /// Show this image file.
    SelectFile(usize),
    /// Select an entry of the shown file.
    SelectEntry(usize),
    /// Click on a field (by path) of the selected entry.
    SelectField(String),
    /// Pointer over a field of the selected entry (or left it).
    HoverField(Option<String>),
    /// Pointer over a byte of the shown file (or left it).
    HoverByte(Option<usize>),
    /// Click on a diagnostic: show its file, entry and bytes.
    SelectDiagnostic(usize),
    /// Render more entry rows.
    MoreEntries,
    /// Render more notes.
    MoreNotes,
}
