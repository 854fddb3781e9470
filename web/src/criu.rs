//! CRIU checkpoints in the inspector: what is shown about an opened checkpoint (its image files
//! and their entries, the archive's container metadata, the located diagnostics, the notes on
//! what a CRIU restore loses) and the CRIU panels' actions (their reducer is `state::criu`). Everything comes
//! from core, computed in the checkpoint reader's worker (`crate::worker`): `detect::open_files`
//! opens the files by content, `criu::Opened` frames, decodes and checks them,
//! `Opened::to_scenario` maps the checkpoint onto a scenario whose image the rest of the
//! inspector (graph, timeline, plan, order checking) shows as for a native image. The page
//! keeps the files' bytes and framing, the one copy of them (the worker that read them is
//! gone); a worker of the doc's own walks the entry shown from the bytes the page sends it
//! (core's wire walker and schema tables, not linked by the page).

use crate::message::{ArchiveMeta, Fields, Meta, Notes, SavedAddr, Walk};
use resocket_core::criu::{OpenedFile, SavedHost};
use resocket_core::detect::Skip;
use resocket_core::Diagnostic;
use std::cell::RefCell;
use std::ops::Range;
use std::rc::Rc;

/// An opened CRIU checkpoint, as the checkpoint reader's worker posted it (`crate::worker`).
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
    /// The saved namespace its restore is planned for when it is opened (`Opened::saved_host`).
    pub saved_host: Option<Rc<SavedHost>>,
    /// What the mapping onto resocket's model cannot say, or CRIU did not record.
    pub notes: Notes,
    /// The scenario's resocket image (graph, timeline, plan), or why there is none.
    pub image: Result<Rc<[u8]>, String>,
    pub errors: usize,
    pub warnings: usize,
    /// Asks a worker to walk an entry (its answer comes as [`CriuAction::Fields`]). It owns
    /// that worker (`client::walker`): dropping the doc terminates it.
    walker: RefCell<Option<Walker>>,
}

/// `walker(request)`: ask for an entry to be walked.
pub type Walker = Box<dyn Fn(Walk)>;

impl std::fmt::Debug for CriuDoc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CriuDoc").field("name", &self.name).field("files", &self.files.len()).finish_non_exhaustive()
    }
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
        let Meta { archive, skipped, files: _, diagnostics, tasks, sockets, unmapped, addresses, saved_host } = meta;
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
            saved_host: saved_host.map(Rc::new),
            notes,
            image,
            errors,
            warnings,
            walker: RefCell::new(None),
        }
    }

    /// Entries are walked by `walker` (a worker's, `client::walker`).
    pub fn set_walker(&self, walker: Walker) {
        *self.walker.borrow_mut() = Some(walker);
    }

    /// Ask for entry `entry` of file `file` to be walked, sending its bytes (nothing without a
    /// walker, or for an entry the file does not have).
    pub fn walk(&self, file: usize, entry: usize) {
        let Some(req) = self.files.get(file).and_then(|f| Walk::of(f, file, entry)) else { return };
        if let Some(w) = self.walker.borrow().as_ref() {
            w(req);
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
    /// The selected entry's fields, once the worker has walked it.
    pub fields: Option<Rc<Fields>>,
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
    /// The worker walked an entry.
    Fields(Rc<Fields>),
}
