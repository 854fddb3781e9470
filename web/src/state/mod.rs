//! The inspector's state and the reducer that is its only writer. Actions are plain data;
//! reading files and scrolling are effects done by the components, never in the reducer.

mod criu;
mod editor;
mod lesson;

use crate::client::Reply;
use crate::message::{Job, KernelAnswer, KernelAsk};
use crate::model::{key_at, key_range, Doc, Drawing, OrderKind, PlanHost, Plans, BIG};
use crate::route::Goto;
use resocket_core::check::RunReport;
use resocket_core::sim::HostAddrs;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::Range;
use std::rc::Rc;
use yew::Reducible;

/// Rows of the record list and the sockets table rendered at once (more on demand). Their
/// boxes show about 25 rows; each 100 rows costs a browser about 25 ms to render.
pub const PAGE: usize = 100;

/// A field of a record: `(record index, key of its decoded object)`.
pub type FieldRef = (usize, String);

/// Everything the view depends on.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct State {
    /// The open image.
    pub doc: Option<Rc<Doc>>,
    /// Selected record.
    pub selected: Option<usize>,
    /// Absolute byte range highlighted in the hex view (a clicked field or diagnostic).
    pub focus: Option<Range<usize>>,
    /// The clicked diagnostic.
    pub focus_diag: Option<usize>,
    /// The clicked field.
    pub focus_field: Option<FieldRef>,
    /// Socket marked in the sockets table (from a diagnostic or a row click).
    pub focus_socket: Option<i32>,
    /// The clicked plan warning (an index into the current plan's `warnings`).
    pub focus_warning: Option<usize>,
    /// Field under the pointer (in the tree or the hex view) and its absolute bytes.
    pub hover: Option<(FieldRef, Range<usize>)>,
    /// Records whose decoded fields are shown.
    pub expanded: BTreeSet<usize>,
    /// The record expanded by selecting it (collapsed again when another is selected).
    pub auto_expanded: Option<usize>,
    /// First record row rendered.
    pub window: usize,
    /// Number of record rows rendered.
    pub shown: usize,
    /// Number of socket rows rendered.
    pub sockets_shown: usize,
    /// Why the last open failed.
    pub error: Option<String>,
    /// The image's socket graph (built on open for images up to `BIG` sockets, else on request).
    pub graph: Option<Rc<Drawing>>,
    /// The restore plans (same rule).
    pub plans: Option<Rc<Plans>>,
    /// Which order the timeline runs.
    pub order_kind: OrderKind,
    /// The order run: indices into the current plan's steps (v2's for `V2`, else the planner's).
    pub order: Vec<usize>,
    /// Custom orders reorder the v2 plan (true) or the planner's.
    pub custom_v2: bool,
    /// `check::run_order` of `order` (the kernel worker's).
    pub report: Option<Rc<RunReport>>,
    /// The request whose answer brought `order` and `report` (the worker keeps that run).
    pub run: Option<u64>,
    /// Steps of `order` executed in the timeline's view (0: the empty kernel).
    pub cursor: usize,
    /// The simulated kernel after `kernel_at` steps, as the kernel worker answered (it is
    /// `cursor` once the answer to the request the cursor's move made is in).
    pub kernel: Option<Rc<Drawing>>,
    pub kernel_at: Option<usize>,
    /// The timeline plays.
    pub playing: bool,
    /// The gallery item the open image came from (for deep links); `None` for files.
    pub fixture: Option<String>,
    /// An image being opened in slices (`crate::job`): what it is doing.
    pub loading: Option<Loading>,
    /// The order and step to show once the plans are ready (a deep link).
    pub goto: Option<Goto>,
    /// The keyboard shortcuts are listed.
    pub help: bool,
    /// The scenario editor, while editing (`crate::editor`).
    pub editor: Option<Rc<crate::editor::Editor>>,
    /// The host the restore is planned for (each open says which: `Action::Open`).
    pub host: PlanHost,
    /// The addresses last chosen for a fresh host besides loopback (empty: `lo` only, the
    /// default): kept when another image is opened, which is planned for them unless it is a
    /// CRIU checkpoint that saved its namespace.
    pub typed_host: Rc<[IpAddr]>,
    /// The CRIU checkpoint open (`crate::criu`); `doc` is then its scenario's image, if it maps.
    pub criu: Option<Rc<crate::criu::CriuDoc>>,
    /// What is selected in the CRIU panels.
    pub criu_sel: crate::criu::CriuSel,
    /// The lessons page (`crate::lesson`); kept when an image is opened.
    pub lessons: Rc<crate::lesson::Lessons>,
    /// The number of the last request made to the kernel worker (kept when an image is
    /// opened): an answer to an older one is ignored.
    pub session: u64,
    /// The request to the kernel worker not answered yet (the app's effect sends it, with the
    /// doc's bytes if the worker does not hold them: `client::Kernel`).
    pub ask: Option<Rc<KernelAsk>>,
}

/// Progress of an image opened in slices, or of a checkpoint read by the worker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loading {
    pub name: String,
    pub stage: &'static str,
    pub done: usize,
    pub total: usize,
    /// Bytes an archive has unpacked to so far (while the worker unpacks it).
    pub unpacked: Option<u64>,
}

/// Everything that can happen.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// An image was read (gallery, file picker or drop): load it with core and plan its restore
    /// for `host`. `note` is the gallery item's description (empty for files).
    Open { name: String, note: String, bytes: Rc<[u8]>, host: PlanHost },
    /// Reading a file failed.
    OpenFailed(String),
    /// Click on a record row.
    SelectRecord(usize),
    /// Arrow keys in the record list: select the next (+1) or previous (-1) record.
    Step(isize),
    /// Click on a socket row: select its `SOCKET` record.
    SelectSocket(i32),
    /// Expand or collapse a record's fields.
    ToggleRecord(usize),
    /// Click on a field in the tree: highlight its bytes.
    SelectField(FieldRef),
    /// Pointer over a field in the tree (or left it).
    HoverField(Option<FieldRef>),
    /// Pointer over an absolute byte in the hex view (or left it).
    HoverByte(Option<usize>),
    /// Click on a diagnostic.
    SelectDiagnostic(usize),
    /// Render the next page of records.
    MoreRecords,
    /// Render the previous page of records.
    EarlierRecords,
    /// Render more sockets.
    MoreSockets,
    /// Click on a plan warning (an index into the current plan's `warnings`): show the state
    /// after its step, if it has one in the order run, and select its socket, if it has one.
    SelectWarning(usize),
    /// Build the socket graph of a big image.
    DrawGraph,
    /// Build the restore plans of a big image.
    MakePlan,
    /// Plan for this host (and run the order there again). Images of more than `BIG` sockets
    /// are re-planned by the caller (`job::open`, in slices).
    SetHost(PlanHost),
    /// Pick the order the timeline runs.
    SetOrder(OrderKind),
    /// Move the step at position `.0` of the order one place up (-1) or down (+1).
    MoveStep(usize, isize),
    /// Show the state after this many steps.
    Seek(usize),
    /// Timeline forward (+1) or back (-1).
    StepTimeline(isize),
    /// Play or pause.
    TogglePlay,
    /// The play timer: one step forward, stopping at the end.
    Tick,
    /// An image is being opened in slices (`crate::job`), to be planned for `host`: clear the
    /// view and show progress.
    Begin { name: String, fixture: Option<String>, goto: Option<Goto>, host: PlanHost },
    /// How far the sliced open is.
    Progress { stage: &'static str, done: usize, total: usize },
    /// How far the checkpoint reader's worker is (`crate::worker`).
    Reading(crate::message::Progress),
    /// The sliced open has loaded the image.
    Loaded(Rc<Doc>),
    /// … drawn its graph.
    Drawn(Rc<Drawing>),
    /// The kernel worker's answer to a request (`State::ask`): the plans (the end of a sliced
    /// open), an order's run, the kernel at the cursor.
    Kernel(Rc<KernelAnswer>),
    /// The kernel worker failed (it did not start, or refused the request).
    KernelFailed(String),
    /// The open image is this gallery item (or none).
    Fixture(Option<String>),
    /// Show this order and step (a deep link); kept until the plans are ready.
    Goto(Goto),
    /// Show or hide the list of keyboard shortcuts.
    ToggleHelp,
    /// Hide it.
    HideHelp,
    /// The scenario editor and share links (reduced by `state::editor`).
    Editor(crate::editor::EditorAction),
    /// The CRIU panels (reduced by `state::criu`).
    Criu(crate::criu::CriuAction),
    /// The lessons page (reduced by `state::lesson`).
    Lesson(crate::lesson::LessonAction),
}

impl State {
    /// The plan the current order indexes.
    pub fn plan(&self) -> Option<Rc<resocket_core::plan::Plan>> {
        let plans = self.plans.as_ref()?;
        let v2 = self.order_kind == OrderKind::V2 || (self.order_kind == OrderKind::Custom && self.custom_v2);
        if v2 {
            Some(plans.v2.clone())
        } else {
            plans.planner.as_ref().ok().cloned()
        }
    }

    /// Steps the timeline can show: the executed ones (up to the failure).
    pub fn steps_run(&self) -> usize {
        self.report.as_ref().map_or(0, |r| r.results.len())
    }

    /// Ask the kernel worker for `job` and the kernel at the cursor (superseding the request
    /// not answered yet, if any).
    fn ask_kernel(&mut self, job: Job) {
        let Some(doc) = self.doc.as_ref() else { return };
        self.session += 1;
        self.ask = Some(Rc::new(KernelAsk { session: self.session, doc: doc.id, job, cursor: self.cursor }));
    }

    /// A plan or a run asked for is not answered yet (the order and the steps shown are to
    /// change: the app writes no deep link meanwhile).
    pub fn running(&self) -> bool {
        self.ask.as_ref().is_some_and(|a| !matches!(a.job, Job::At { .. }))
    }

    /// Redraw the kernel at the cursor: ask the worker for it (with the plans or the run asked
    /// for and not answered yet, if any, which the newer request replaces).
    fn redraw(&mut self) {
        let job = match self.ask.as_ref().map(|a| &a.job) {
            Some(j @ (Job::Plan { .. } | Job::Run { .. })) => j.clone(),
            _ => match self.run {
                Some(run) => Job::At { run },
                None => return,
            },
        };
        self.ask_kernel(job);
    }

    /// Run the order `kind` of the plans (a custom one: `order` of v2's or the planner's plan,
    /// `custom_v2`); the timeline shows the order it shows until the answer comes.
    fn run_order(&mut self, kind: OrderKind) {
        let Some(plans) = self.plans.as_ref() else { return };
        let order = if kind == OrderKind::Custom { self.order.clone() } else { Vec::new() };
        self.ask_kernel(Job::Run { plans: plans.session, kind, v2: self.custom_v2, order });
    }

    /// Apply a deep link's order and step (the plans are ready): the step is the kernel
    /// worker's to clamp when an order is run for it.
    fn goto(&mut self, g: Goto) {
        let order = g.order.filter(|&k| k != self.order_kind);
        if order.is_some() {
            self.focus_warning = None;
            self.playing = false;
            self.cursor = 0;
        }
        if let Some(step) = g.step {
            self.playing = false;
            self.cursor = if order.is_some() || self.running() { step } else { step.min(self.steps_run()) };
        }
        match order {
            Some(kind) => self.run_order(kind),
            None if g.step.is_some() => self.redraw(),
            None => {}
        }
    }

    /// The doc just opened: select its first record.
    fn opened(&mut self, doc: Rc<Doc>) {
        if !doc.records.is_empty() {
            self.selected = Some(0);
            self.expanded.insert(0);
            self.auto_expanded = Some(0);
        }
        self.doc = Some(doc);
    }

    /// Choose an order and run it from its first step.
    fn set_order(&mut self, kind: OrderKind) {
        if self.plans.is_none() {
            return;
        }
        self.focus_warning = None;
        self.playing = false;
        self.cursor = 0;
        self.run_order(kind);
    }

    /// The simulator's host for [`State::host`].
    pub fn host_addrs(&self) -> HostAddrs {
        self.host.addrs()
    }

    /// A fresh host with the addresses last chosen ([`State::typed_host`]).
    pub fn fresh_host(&self) -> PlanHost {
        PlanHost::Fresh(self.typed_host.clone())
    }

    fn make_plan(&mut self) {
        self.ask_plan(OrderKind::Planner);
    }

    /// Ask the kernel worker for the plans of the doc and the run of the order `kind` (the
    /// timeline shows "planning…" until [`Action::Planned`] answers).
    fn ask_plan(&mut self, kind: OrderKind) {
        if self.doc.is_none() {
            return;
        }
        self.plans = None;
        self.report = None;
        self.run = None;
        self.kernel = None;
        self.kernel_at = None;
        self.order = Vec::new();
        self.cursor = 0;
        self.playing = false;
        self.focus_warning = None;
        let host = self.host_addrs();
        self.ask_kernel(Job::Plan { host, kind });
    }

    /// Run the order `kind`: at once when the plans are here, else ask for them with it.
    pub(crate) fn choose_order(&mut self, kind: OrderKind) {
        if self.plans.is_none() {
            self.ask_plan(kind);
        } else {
            self.set_order(kind);
        }
    }

    /// The kernel worker's answer to the request asked last.
    fn answered(&mut self, a: KernelAnswer) {
        self.ask = None;
        self.loading = None;
        if let Some(p) = a.plans {
            let planner = p.planner.map(Rc::new);
            self.plans = Some(Rc::new(Plans { session: a.session, planner, v2: Rc::new(p.v2) }));
        }
        if let Some(r) = a.run {
            self.run = r.report.is_some().then_some(a.session);
            self.order_kind = r.kind;
            self.order = r.order;
            self.report = r.report.map(Rc::new);
        }
        self.cursor = a.cursor;
        self.kernel_at = Some(a.cursor);
        self.kernel = match (a.kernel, self.doc.clone()) {
            (Some(k), Some(doc)) => {
                let base = self.graph.get_or_insert_with(|| Rc::new(Drawing::of(&doc.image)));
                Some(Rc::new(Drawing::of_kernel(k, &base.layout)))
            }
            _ => None,
        };
        if let Some(g) = self.goto.take() {
            self.goto(g);
        }
    }

    fn field_hover(&self, field: FieldRef) -> Option<(FieldRef, Range<usize>)> {
        let doc = self.doc.as_ref()?;
        let rec = doc.record(field.0)?;
        let r = key_range(&rec, &field.1)?;
        Some((field, rec.offset + r.start..rec.offset + r.end))
    }

    fn clear_focus(&mut self) {
        self.focus_warning = None;
        self.focus = None;
        self.focus_diag = None;
        self.focus_field = None;
        self.focus_socket = None;
    }

    /// Select record `i`, making sure its row is rendered and its fields are shown.
    fn select(&mut self, i: usize) {
        self.selected = Some(i);
        if let Some(prev) = self.auto_expanded.take() {
            self.expanded.remove(&prev);
        }
        if self.expanded.insert(i) {
            self.auto_expanded = Some(i);
        }
        if i < self.window || i >= self.window + self.shown {
            self.window = i.saturating_sub(PAGE / 10);
            self.shown = PAGE;
        }
    }
}

impl Reducible for State {
    type Action = Action;

    fn reduce(self: Rc<Self>, action: Action) -> Rc<Self> {
        let mut s = (*self).clone();
        match action {
            Action::Open { name, note, bytes, host } => {
                let mut doc = Doc::load(name, bytes);
                doc.note = note;
                s = State {
                    shown: PAGE,
                    sockets_shown: PAGE,
                    help: s.help,
                    host,
                    typed_host: s.typed_host,
                    lessons: s.lessons,
                    session: s.session,
                    ..State::default()
                };
                let small = doc.summary.sockets <= BIG;
                s.opened(Rc::new(doc));
                if small {
                    let doc = s.doc.clone().expect("set above");
                    s.graph = Some(Rc::new(Drawing::of(&doc.image)));
                    s.make_plan();
                }
            }
            Action::Begin { name, fixture, goto, host } => {
                // The sockets table comes one turn after the records (`job`: MoreSockets): two
                // shorter renders instead of one long one.
                s = State {
                    shown: PAGE,
                    sockets_shown: 0,
                    help: s.help,
                    fixture,
                    goto,
                    host,
                    typed_host: s.typed_host,
                    lessons: s.lessons,
                    session: s.session,
                    ..State::default()
                };
                s.loading = Some(Loading { name, stage: "reading", done: 0, total: 0, unpacked: None });
            }
            Action::Progress { stage, done, total } => {
                let Some(l) = s.loading.as_mut() else { return self };
                *l = Loading { name: l.name.clone(), stage, done, total, unpacked: None };
            }
            Action::Reading(p) => {
                let Some(l) = s.loading.as_mut() else { return self };
                let n = |x: u64| usize::try_from(x).unwrap_or(usize::MAX);
                let unpacked = (p.stage == crate::message::Stage::Unpacking).then_some(p.unpacked);
                *l = Loading {
                    name: l.name.clone(),
                    stage: p.stage.label(),
                    done: n(p.done),
                    total: n(p.total),
                    unpacked,
                };
            }
            Action::Loaded(doc) => {
                if s.loading.is_none() {
                    return self;
                }
                s.opened(doc);
            }
            Action::Drawn(d) => {
                if s.loading.is_none() {
                    return self;
                }
                s.graph = Some(d);
            }
            Action::Kernel(a) => {
                if s.ask.as_ref().map(|x| x.session) != Some(a.session) {
                    return self;
                }
                s.answered(Rc::try_unwrap(a).unwrap_or_else(|a| (*a).clone()));
            }
            Action::KernelFailed(e) => {
                if s.ask.take().is_none() {
                    return self;
                }
                s.loading = None;
                s.error = Some(e);
            }
            Action::Fixture(f) => s.fixture = f,
            Action::Goto(g) => {
                if s.loading.is_some() || s.ask.as_ref().is_some_and(|a| matches!(a.job, Job::Plan { .. })) {
                    s.goto = Some(g);
                } else if s.plans.is_some() {
                    s.goto(g);
                } else {
                    return self;
                }
            }
            Action::Editor(a) => return lesson::retry(editor::reduce(self, a)),
            Action::Lesson(a) => return lesson::reduce(self, a),
            Action::Criu(a) => return criu::reduce(self, a),
            Action::ToggleHelp => s.help = !s.help,
            Action::HideHelp => {
                if !s.help {
                    return self;
                }
                s.help = false;
            }
            Action::DrawGraph => {
                let Some(doc) = s.doc.clone() else { return self };
                s.graph = Some(Rc::new(Drawing::of(&doc.image)));
            }
            // A sliced open asks for the order of its deep link, if it has one.
            Action::MakePlan => s.ask_plan(s.goto.as_ref().and_then(|g| g.order).unwrap_or_default()),
            Action::SetHost(host) => {
                if host == s.host {
                    return self;
                }
                if let PlanHost::Fresh(a) = &host {
                    s.typed_host = a.clone();
                }
                s.host = host;
                match s.doc.as_ref().map(|d| d.summary.sockets) {
                    Some(n) if n <= BIG && (s.plans.is_some() || s.ask.is_some()) => s.make_plan(),
                    // The caller opens the image again with the new host (planned in slices).
                    _ => {
                        s.ask = None;
                        s.plans = None;
                        s.report = None;
                        s.run = None;
                        s.kernel = None;
                        s.kernel_at = None;
                    }
                }
            }
            Action::SetOrder(kind) => {
                if kind == OrderKind::Custom {
                    s.custom_v2 = s.order_kind == OrderKind::V2 || (s.order_kind == OrderKind::Custom && s.custom_v2);
                }
                s.set_order(kind);
            }
            Action::MoveStep(pos, delta) => {
                let Some(to) = pos.checked_add_signed(delta).filter(|&t| t < s.order.len()) else { return self };
                if pos >= s.order.len() {
                    return self;
                }
                s.custom_v2 = s.order_kind == OrderKind::V2 || (s.order_kind == OrderKind::Custom && s.custom_v2);
                s.order.swap(pos, to);
                s.order_kind = OrderKind::Custom;
                s.playing = false;
                // Its outcomes are the new order's run's (the worker's answer).
                s.report = None;
                s.run_order(OrderKind::Custom);
            }
            Action::Seek(k) => {
                let k = k.min(s.steps_run());
                if k == s.cursor {
                    return self;
                }
                s.cursor = k;
                s.redraw();
            }
            Action::StepTimeline(delta) => {
                let k = s.cursor.saturating_add_signed(delta).min(s.steps_run());
                if k == s.cursor {
                    return self;
                }
                s.cursor = k;
                s.playing = false;
                s.redraw();
            }
            Action::TogglePlay => {
                s.playing = !s.playing;
                if s.playing && s.cursor >= s.steps_run() {
                    s.cursor = 0;
                    s.redraw();
                }
            }
            Action::Tick => {
                if !s.playing {
                    return self;
                }
                if s.cursor >= s.steps_run() {
                    s.playing = false;
                } else {
                    s.cursor += 1;
                    s.redraw();
                }
            }
            Action::OpenFailed(e) => {
                // A failed open stops its progress (a sliced open of files that are not a checkpoint).
                s.loading = None;
                s.error = Some(e);
            }
            Action::SelectRecord(i) => {
                if s.selected == Some(i) {
                    return self;
                }
                s.select(i);
                s.clear_focus();
            }
            Action::Step(delta) => {
                let Some(n) = s.doc.as_ref().map(|d| d.records.len()).filter(|&n| n > 0) else { return self };
                let next = s.selected.map_or(0, |i| i.saturating_add_signed(delta).min(n - 1));
                if s.selected == Some(next) {
                    return self;
                }
                s.select(next);
                s.clear_focus();
            }
            Action::SelectSocket(objref) => {
                let Some(rec) = s.doc.as_ref().and_then(|d| d.sockets.iter().find(|r| r.objref == objref)) else {
                    return self;
                };
                let record = rec.record;
                s.select(record);
                s.clear_focus();
                s.focus_socket = Some(objref);
            }
            Action::ToggleRecord(i) => {
                if s.auto_expanded == Some(i) {
                    s.auto_expanded = None; // touched by hand: keep it as the user leaves it
                }
                if !s.expanded.remove(&i) {
                    s.expanded.insert(i);
                }
            }
            Action::SelectField(field) => {
                let Some((field, range)) = s.field_hover(field) else { return self };
                s.select(field.0);
                s.clear_focus();
                s.focus = Some(range);
                s.focus_field = Some(field);
            }
            Action::HoverField(field) => {
                let hover = field.and_then(|f| s.field_hover(f));
                if hover == s.hover {
                    return self;
                }
                s.hover = hover;
            }
            Action::HoverByte(at) => {
                let hover = at.and_then(|at| {
                    let doc = s.doc.as_ref()?;
                    let i = doc.record_containing(at)?;
                    let rec = doc.record(i)?;
                    let key = key_at(&rec, at - rec.offset)?;
                    s.field_hover((i, key.to_string()))
                });
                if hover == s.hover {
                    return self;
                }
                s.hover = hover;
            }
            Action::SelectDiagnostic(k) => {
                let Some(d) = s.doc.as_ref().and_then(|doc| doc.diagnostics.get(k)).cloned() else { return self };
                let doc = s.doc.clone().expect("checked above");
                let rec = doc.record_containing(d.range.start).or(d.record.filter(|&r| r < doc.records.len()));
                match rec {
                    Some(i) => s.select(i),
                    None => s.selected = None,
                }
                s.focus = Some(d.range.clone());
                s.focus_diag = Some(k);
                s.focus_field = None;
                s.focus_socket = d.objref;
            }
            Action::MoreRecords => s.shown += PAGE,
            Action::EarlierRecords => {
                let back = s.window.min(PAGE);
                s.window -= back;
                s.shown += back;
            }
            Action::MoreSockets => s.sockets_shown += PAGE,
            Action::SelectWarning(k) => {
                let Some(w) = s.plan().and_then(|p| p.warnings.get(k).cloned()) else { return self };
                if let Some(pos) = w.step.and_then(|step| s.order.iter().position(|&i| i == step)) {
                    s.playing = false;
                    s.cursor = (pos + 1).min(s.steps_run());
                    s.redraw();
                }
                let record =
                    w.objref.and_then(|o| s.doc.as_ref()?.sockets.iter().find(|r| r.objref == o)).map(|r| r.record);
                if let Some(record) = record {
                    s.select(record);
                }
                s.clear_focus();
                s.focus_socket = w.objref;
                s.focus_warning = Some(k);
            }
        }
        Rc::new(s)
    }
}

/// The action of a kernel worker's answer (`None`: not one of its answers).
pub fn kernel_action(reply: Reply) -> Option<Action> {
    match reply {
        Reply::Kernel(a) => Some(Action::Kernel(Rc::new(*a))),
        Reply::Failed(e) => Some(Action::KernelFailed(e)),
        _ => None,
    }
}

/// The state's request to the kernel worker, if it has one waiting for its answer, with its
/// doc's image.
pub fn kernel_request(s: &State) -> Option<(wasm_bindgen::JsValue, js_sys::Array)> {
    let (ask, doc) = (s.ask.as_ref()?, s.doc.as_ref()?);
    Some(crate::client::kernel_request(ask, Some(&doc.bytes)))
}

thread_local! {
    /// The doc whose image [`settle`] sent the handler last.
    static SETTLED: crate::client::Holder = crate::client::Holder::default();
}

/// Answer the state's kernel requests in the page (through the handler that
/// `client::serve_in_process` set: the worker's own, which keeps the image as the worker does;
/// each image is sent once, as `client::Kernel` sends it) and reduce the answers, as the app's
/// effect and the kernel worker do; the browser tests' way of driving the reducer.
pub async fn settle(mut s: Rc<State>) -> Rc<State> {
    while let (Some(ask), Some(doc)) = (s.ask.clone(), s.doc.clone()) {
        let (request, _) = SETTLED.with(|h| h.request(&ask, &doc.bytes));
        let reply = crate::client::serve_here(request).await;
        if matches!(reply, Some(Reply::Unheld)) {
            // Another image was served since (another test's): again, with this one.
            SETTLED.with(crate::client::Holder::forget);
            continue;
        }
        let Some(action) = reply.and_then(kernel_action) else { break };
        if matches!(action, Action::KernelFailed(_)) {
            SETTLED.with(crate::client::Holder::forget);
        }
        let before = s.ask.clone();
        s = s.reduce(action);
        if s.ask == before {
            break;
        }
    }
    s
}
