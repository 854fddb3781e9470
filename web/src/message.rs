//! The checkpoint reader's messages between the page ([`crate::client`]) and its worker
//! ([`crate::worker`]): the types both sides share, and their encoding. This is the only module
//! of the web crate that encodes or decodes them, with bincode 2's own `Encode`/`Decode` derives
//! (core's types carried here derive them too: `Diagnostic`, `criu::Note`, `detect::Skip`,
//! the archive's `Compression`, `Layout`, `Container`).
//!
//! Why bincode and not serde-wasm-bindgen (issue 17 asked for the latter): the page decoding the
//! message through serde linked serde-wasm-bindgen's `Deserializer`, every `Deserialize` impl of
//! the message (an internally tagged enum through serde's buffering `Content`) and, through
//! serde's type errors, the float formatting code: about 20 KB of the page's gzipped bundle
//! (docs/benchmarks.md, "The page bundle back under budget"). The worker still builds the
//! embedding API's plain JS object with serde-wasm-bindgen (`{type: "api"}`): the page passes it
//! on without reading it.
//!
//! Messages (JS objects; the bincode parts are `Uint8Array`s):
//!
//! * page → worker: `{mode: "inspect" | "api" | "lessons", files: [{name, bytes}]}` ([`Mode`];
//!   for `lessons`, the bytes are lesson files' UTF-8 text); and, to a worker of its own while
//!   the checkpoint is shown, `{mode: "fields", data}` ([`Walk`]: the entry's bytes): walk that
//!   entry;
//! * worker → page: `{type: "ready"}`, `{type: "progress", data}` ([`Progress`]),
//!   `{type: "criu", meta, notes, noteEnds, bytes, entries, image}` ([`Meta`]; the notes one
//!   encoding each, `noteEnds` where each ends, so that the page decodes only those it shows),
//!   `{type: "fields", data}` ([`Fields`]: an entry walked),
//!   `{type: "rsimg", name, bytes}`, `{type: "api", value}`, `{type: "failed", message}`,
//!   `{type: "lessons", data}` ([`LessonFile`]s: each file's lesson, or core's located error).
//!
//! The kernel worker (`client::Kernel`, one kept by the page; its work is [`crate::kernel`]):
//! page → worker `{mode: "kernel", data, image?}` ([`KernelAsk`]; `image` the image's bytes,
//! transferred, with the first request about a doc only: the worker keeps the image loaded,
//! its plans and its run), worker → page `{type: "kernel", data}` ([`KernelAnswer`]: the plans,
//! the order run, and the kernel at the timeline's cursor as the graph draws it). Each request
//! carries its session: the page ignores the answer to a request a newer one superseded, and
//! keeps at most one request waiting behind the one the worker is serving (the newest).
//!
//! Lesson files (built-in ones fetched from `lessons/`, dropped ones, `?lesson=URL` ones) are
//! read here too, so that the page links no lesson file reader: the worker parses and checks
//! them with `lesson::parse` and posts each as a [`LessonMsg`].
//!
//! A worker walks an entry's protobuf fields (core's wire walker and schema tables) when the
//! page shows it, so that the page links neither. The page holds the one copy of the files: a
//! walk request carries the entry's payload and its file's magic, so the worker keeps nothing of
//! the checkpoint, and the worker that read it is terminated once it has handed it over (its
//! linear memory, grown to its peak while reading, goes with it: docs/benchmarks.md); the walks
//! go to a worker started for them (`client::walker`, kept by `criu::CriuDoc`).

use crate::model::{Graph, OrderKind};
use resocket_core::archive::{Compression, Container, Layout};
use resocket_core::check::RunReport;
use resocket_core::codec::{self, Decode, Encode};
use resocket_core::criu::{Note, OpenedFile};
use resocket_core::detect::Skip;
use resocket_core::lesson::{self, Action as Do, Lesson, Order, Question, Restore, Step};
use resocket_core::plan::Plan;
use resocket_core::share;
use resocket_core::sim::{HostAddrs, Op, Slot};
use resocket_core::Diagnostic;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Where the worker posts: `post(message, transfer list)`.
pub type Post = std::rc::Rc<dyn Fn(wasm_bindgen::JsValue, js_sys::Array)>;

/// What a request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The inspector's panels (a `criu` or `rsimg` answer).
    Inspect,
    /// The embedding API's JSON (an `api` answer).
    Api,
    /// The fields of an entry of the checkpoint read last (a `fields` answer).
    Fields,
    /// Lesson files read by core (a `lessons` answer).
    Lessons,
    /// The kernel worker: plans, order runs and the kernel at the timeline's cursor (a `kernel`
    /// answer, [`KernelAsk`]).
    Kernel,
}

impl Mode {
    /// Its name in the request.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Inspect => "inspect",
            Mode::Api => "api",
            Mode::Fields => "fields",
            Mode::Lessons => "lessons",
            Mode::Kernel => "kernel",
        }
    }
}

/// What the worker is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum Stage {
    /// Reading the files given (bytes read of all of them).
    Reading,
    /// Unpacking an archive (bytes of the archive consumed; `unpacked`: bytes out).
    Unpacking,
    /// Framing and decoding the CRIU images (images read).
    Images,
    /// The checks across images.
    Checking,
    /// Mapping the checkpoint onto a scenario and writing its image.
    Mapping,
    /// Posting the result to the page.
    Sending,
}

impl Stage {
    /// What the page's progress line says.
    pub fn label(self) -> &'static str {
        match self {
            Stage::Reading => "reading the files",
            Stage::Unpacking => "unpacking the archive",
            Stage::Images => "reading the CRIU images",
            Stage::Checking => "checking the checkpoint",
            Stage::Mapping => "mapping the checkpoint onto a scenario",
            Stage::Sending => "handing the checkpoint to the page",
        }
    }
}

/// A progress message (`done` of `total`; `total` 0 when the stage has no measure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub struct Progress {
    pub stage: Stage,
    pub done: u64,
    pub total: u64,
    /// Bytes the archive has unpacked to (unpacking only).
    pub unpacked: u64,
}

/// One image file as posted, without its bytes and entries (sent beside it).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct FileMeta {
    pub name: String,
    pub first_magic: Option<u32>,
    pub magic: Option<u32>,
    pub decoded: bool,
    /// Its entries carry an extra blob (sk-queues, tcp-stream): `payload.end..range.end`.
    pub extras: bool,
}

/// The archive a checkpoint came from, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct ArchiveMeta {
    pub compression: Compression,
    pub layout: Layout,
    /// Bytes the tar stream unpacked to.
    pub unpacked: u64,
    /// Members other than CRIU images.
    pub members: usize,
    pub container: Option<Container>,
    /// What did not stop the read (`archive::Warning`), as the worker rendered it.
    pub warnings: Vec<String>,
}

impl ArchiveMeta {
    pub fn of(a: &resocket_core::archive::Archive) -> ArchiveMeta {
        ArchiveMeta {
            compression: a.compression,
            layout: a.layout.clone(),
            unpacked: a.unpacked,
            members: a.members.len(),
            container: a.container.clone(),
            warnings: a.warnings.iter().map(ToString::to_string).collect(),
        }
    }
}

/// An interface address CRIU saved (`ifaddr-N.img`), on its device (`netdev-N.img`).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct SavedAddr {
    /// The network namespace (N of the file names).
    pub ns: u32,
    /// The interface's name, when `netdev-N.img` has it.
    pub device: Option<String>,
    pub ifindex: u32,
    /// The interface's own address (`IFA_LOCAL`, else `IFA_ADDRESS`) and prefix length.
    pub addr: Option<IpAddr>,
    pub prefix: u8,
    /// `IFA_F_SECONDARY`, `IFA_F_TENTATIVE`.
    pub secondary: bool,
    pub tentative: bool,
    /// Its namespace is the one the plan and the simulation are for (`Opened::host_ns`).
    pub planned: bool,
}

impl SavedAddr {
    /// The addresses of an opened checkpoint, file order.
    pub fn of(opened: &resocket_core::criu::Opened) -> Vec<SavedAddr> {
        let c = &opened.checkpoint;
        let host = opened.host_ns();
        c.ifaddrs
            .iter()
            .map(|a| SavedAddr {
                ns: a.ns,
                device: c.netdevs.iter().find(|d| d.ns == a.ns && d.ifindex == a.addr.ifindex).map(|d| d.name.clone()),
                ifindex: a.addr.ifindex,
                addr: a.addr.own(),
                prefix: a.addr.prefix,
                secondary: a.addr.secondary(),
                tentative: a.addr.flags & resocket_core::criu::ifaddr::IFA_F_TENTATIVE != 0,
                planned: host == Some(a.ns),
            })
            .collect()
    }
}

/// An opened checkpoint as the page shows it, without the files' bytes and entries and
/// without the notes (each sent beside it).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct Meta {
    /// The archive it came from, if any.
    pub archive: Option<ArchiveMeta>,
    /// Files given that are not read.
    pub skipped: Vec<(String, Skip)>,
    pub files: Vec<FileMeta>,
    pub diagnostics: Vec<Diagnostic>,
    pub tasks: usize,
    /// AF_UNIX and INET sockets.
    pub sockets: usize,
    /// Why there is no scenario image, if there is none.
    pub unmapped: Option<String>,
    /// The interface addresses CRIU saved, which the simulator's host is built from.
    pub addresses: Vec<SavedAddr>,
    /// The saved namespace the restore is planned for by default (`Opened::saved_host`).
    pub saved_host: Option<resocket_core::criu::SavedHost>,
}

/// One field of an entry as the entries panel lists it.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
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
    pub range: std::ops::Range<usize>,
}

/// The page asks for entry `entry` of file `file` to be walked (a `fields` request): the entry's
/// payload and what says its schema, so that the worker needs nothing else of the checkpoint.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Walk {
    pub file: usize,
    pub entry: usize,
    /// The file's image magic, and whether resocket decodes its entries (`OpenedFile::schema`).
    pub magic: Option<u32>,
    pub decoded: bool,
    /// Where the payload starts in its file (field ranges are file offsets), and its bytes.
    pub offset: usize,
    pub payload: Vec<u8>,
}

impl Walk {
    /// The request for entry `entry` of `f` (file `file` of the checkpoint); `None` for an entry
    /// the file does not have.
    pub fn of(f: &OpenedFile, file: usize, entry: usize) -> Option<Walk> {
        let e = f.entry(entry)?;
        let payload = f.bytes.get(e.payload.clone())?.to_vec();
        Some(Walk { file, entry, magic: f.magic, decoded: f.decoded, offset: e.payload.start, payload })
    }
}

/// Entry `entry` of file `file`, walked: its fields, nested ones after their parent.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct Fields {
    pub file: usize,
    pub entry: usize,
    /// The image has a schema (its entries are decoded): no rows and no error is then an
    /// empty message.
    pub schema: bool,
    pub rows: Vec<FieldRow>,
    /// Where and why the walk stopped, if it did.
    pub error: Option<String>,
}

impl Fields {
    /// The innermost field whose bytes contain `at`.
    pub fn at(&self, at: usize) -> Option<&FieldRow> {
        self.rows.iter().filter(|f| f.range.contains(&at)).min_by_key(|f| f.range.len())
    }
    /// The field at `path`.
    pub fn get(&self, path: &str) -> Option<&FieldRow> {
        self.rows.iter().find(|f| f.path == path)
    }
}

/// The most a decoded message may claim (bincode checks every length against what is left of
/// it before allocating): the page's own worker writes them, but a length is never trusted.
const MAX_MESSAGE: usize = 1 << 28;

/// The bytes of a message part.
pub fn encode<T: Encode>(v: &T) -> Vec<u8> {
    // Encoding into a vector cannot fail (no writer errors, no limit on encoding).
    codec::encode(v)
}

/// A message part from its bytes, all of them.
pub fn decode<T: Decode<()>>(bytes: &[u8]) -> Result<T, String> {
    let (v, used) =
        codec::decode::<T, MAX_MESSAGE>(bytes).map_err(|e| format!("the checkpoint reader's message: {e}"))?;
    if used != bytes.len() {
        return Err(format!("the checkpoint reader's message: {} bytes after its end", bytes.len() - used));
    }
    Ok(v)
}

/// The notes, one encoding after another, and where each ends.
pub fn encode_notes(notes: &[Note]) -> (Vec<u8>, Vec<u32>) {
    let mut bytes = Vec::new();
    let mut ends = Vec::with_capacity(notes.len());
    for n in notes {
        bytes.extend(encode(n));
        ends.push(u32::try_from(bytes.len()).unwrap_or(u32::MAX));
    }
    (bytes, ends)
}

/// The mapping's notes as posted: a big checkpoint has one per socket or more, so each is
/// decoded when it is shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Notes {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

impl Notes {
    /// The notes of `bytes`, each ending where `ends` says (checked when a note is read).
    pub fn new(bytes: Vec<u8>, ends: Vec<u32>) -> Notes {
        Notes { bytes, ends }
    }
    pub fn len(&self) -> usize {
        self.ends.len()
    }
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }
    /// Notes `range` (those that do not decode are left out).
    pub fn get(&self, range: std::ops::Range<usize>) -> Vec<Note> {
        let end = range.end.min(self.len());
        (range.start.min(end)..end)
            .filter_map(|i| {
                let from = if i == 0 { 0 } else { *self.ends.get(i - 1)? as usize };
                let to = *self.ends.get(i)? as usize;
                decode(self.bytes.get(from..to)?).ok()
            })
            .collect()
    }
}

/// A file's entry framing as posted: where each entry starts (its size field), as u32s (wasm32
/// offsets are 32 bits); the rest of each entry is read again from the bytes.
pub fn entries_of(f: &OpenedFile) -> Vec<u32> {
    f.starts().to_vec()
}

/// A file's bytes, entries and metadata as the page rebuilds it, checked against the bytes
/// ([`OpenedFile::from_framing`]).
pub fn file_from(meta: FileMeta, bytes: Vec<u8>, words: &[u32]) -> Result<OpenedFile, String> {
    let starts = words.to_vec();
    let name = meta.name.clone();
    OpenedFile::from_framing(meta.name, meta.first_magic, meta.magic, meta.decoded, bytes, starts)
        .map_err(|e| format!("{name}: {e}"))
}

/// A lesson as the worker posts it, read and checked there by core's [`lesson::parse`]: the
/// page links no lesson file reader (serde_json's deserializers of `Lesson`, `sim::Op`,
/// `Scenario`; docs/benchmarks.md, "The page bundle back under budget"). A restore step's
/// scenario travels as its share-link payload ([`share::payload`]), which the page decodes for
/// share links anyway.
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct LessonMsg {
    pub id: String,
    pub title: String,
    pub goal: String,
    pub prose: String,
    pub names: BTreeMap<Slot, String>,
    pub steps: Vec<StepMsg>,
}

/// A lesson's step as posted ([`lesson::Step`]).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct StepMsg {
    pub prose: String,
    pub action: ActionMsg,
    pub question: Option<Question>,
}

/// What a step does, as posted ([`lesson::Action`]).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub enum ActionMsg {
    Prose,
    Syscall(Op),
    /// The scenario's share payload.
    Restore {
        order: Order,
        scenario: Vec<u8>,
    },
}

impl LessonMsg {
    /// The message of a parsed lesson.
    pub fn of(l: &Lesson) -> LessonMsg {
        let step = |s: &Step| StepMsg {
            prose: s.prose.clone(),
            action: match &s.action {
                Do::Prose => ActionMsg::Prose,
                Do::Syscall(op) => ActionMsg::Syscall(op.clone()),
                Do::Restore(r) => ActionMsg::Restore { order: r.order, scenario: share::payload(&r.scenario) },
            },
            question: s.question.clone(),
        };
        LessonMsg {
            id: l.id.clone(),
            title: l.title.clone(),
            goal: l.goal.clone(),
            prose: l.prose.clone(),
            names: l.names.clone(),
            steps: l.steps.iter().map(step).collect(),
        }
    }

    /// The lesson again (a restore step's scenario decoded as a share link's is, bounded).
    pub fn lesson(self) -> Result<Lesson, String> {
        let step = |s: StepMsg| -> Result<Step, String> {
            let action = match s.action {
                ActionMsg::Prose => Do::Prose,
                ActionMsg::Syscall(op) => Do::Syscall(op),
                ActionMsg::Restore { order, scenario } => Do::Restore(Restore {
                    order,
                    scenario: share::from_payload(&scenario)
                        .map_err(|e| format!("the lesson reader's message: a restore step's scenario: {e}"))?,
                }),
            };
            Ok(Step { prose: s.prose, action, question: s.question })
        };
        Ok(Lesson {
            id: self.id,
            title: self.title,
            goal: self.goal,
            prose: self.prose,
            names: self.names,
            steps: self.steps.into_iter().map(step).collect::<Result<_, _>>()?,
        })
    }
}

/// A lesson file as the worker read it (a `lessons` answer holds one per file sent): its name,
/// and its lesson or core's located error ([`lesson::LessonError`]'s text).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct LessonFile {
    pub name: String,
    pub lesson: Result<LessonMsg, String>,
}

impl LessonFile {
    /// A lesson file's text read by core.
    pub fn read(name: String, text: &str) -> LessonFile {
        let lesson = lesson::parse(text).map(|l| LessonMsg::of(&l)).map_err(|e| e.to_string());
        LessonFile { name, lesson }
    }
}

/// A request to the kernel worker (a `kernel` request, [`crate::kernel::serve`]): what to do
/// with the image of doc `doc` (sent beside the first request about it, `image`; the worker
/// keeps it, its plans and its run until a request about another doc comes), and where the
/// timeline's cursor is: every answer carries the kernel after that many steps of the run.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct KernelAsk {
    /// The request's number: a newer one supersedes it (`State::session`).
    pub session: u64,
    /// The doc whose image it is about (`model::Doc::id`).
    pub doc: u64,
    pub job: Job,
    /// Steps of the run executed in the kernel asked for (the worker stops at the last one run).
    pub cursor: usize,
}

/// What a [`KernelAsk`] asks for besides the kernel at the cursor.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum Job {
    /// Plan the image for `host` (the planner's and v2's plans) and run their order `kind`.
    Plan { host: HostAddrs, kind: OrderKind },
    /// Run another order of the plans answered to request `plans`: their order `kind`, or, for
    /// [`OrderKind::Custom`], `order` of v2's steps (`v2`) or of the planner's.
    Run { plans: u64, kind: OrderKind, v2: bool, order: Vec<usize> },
    /// Only the kernel at the cursor, in the run answered to request `run`.
    At { run: u64 },
}

/// The plans of an image, as the kernel worker made them: the planner's (or why there is none)
/// and the seed's v2.
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct PlansMsg {
    pub planner: Result<Plan, String>,
    pub v2: Plan,
}

/// An order of the plans run on the simulator: which (`kind`), its steps (indices into v2's
/// plan for [`OrderKind::V2`] or a custom order of v2's, else into the planner's) and the run's
/// report (none when the order needs the planner's plan and there is none).
#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RunMsg {
    pub kind: OrderKind,
    pub order: Vec<usize>,
    pub report: Option<RunReport>,
}

/// The kernel worker's answer to a [`KernelAsk`]: the plans (for a [`Job::Plan`]), the run (for
/// a plan or a [`Job::Run`]), and the simulated kernel after `cursor` steps of the run as the
/// timeline draws it (none when there is no run).
#[derive(Debug, Clone, PartialEq, Encode, Decode)]
pub struct KernelAnswer {
    pub session: u64,
    pub plans: Option<PlansMsg>,
    pub run: Option<RunMsg>,
    /// The cursor asked for, or the last step run if it was past it.
    pub cursor: usize,
    pub kernel: Option<Graph>,
}
