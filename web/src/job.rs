//! Opening an image in slices, so that a big image never blocks input for long: a task that
//! does a bounded amount of core work, yields to the browser (a `setTimeout(0)` turn, so input
//! events and rendering run), and dispatches the results as they are ready (`Begin`, `Progress`,
//! `Loaded`, `Drawn`), then asks the kernel worker for the plans (`MakePlan`; its answer,
//! `Kernel`, ends the open). The work itself is core's, through its resumable loader
//! (`image::LoadJob`); the pieces that core does in one call (the whole-image checks, the graph
//! and its layout) are one slice each. The planner and the order's run are the kernel
//! worker's (`crate::kernel`): they take the page no time at all.

use crate::client::{self, Data, Reply};
use crate::criu::{CriuAction, CriuDoc};
use crate::message::Mode;
use crate::model::{Doc, Drawing, PlanHost};
use crate::route::Goto;
use crate::state::{Action, State};
use resocket_core::detect::{self, Detected};
use resocket_core::image::LoadJob;
use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::UseReducerDispatcher;

/// Time a slice may take before the task yields (ms). Records and steps are done in batches
/// between clock reads.
pub const SLICE_MS: f64 = 25.0;
/// Records read between clock reads.
const RECORD_BATCH: usize = 2_000;
/// Images up to this size are opened in one go (`Action::Open`): the slicing would only add
/// turns of the event loop.
pub const SYNC_MAX_BYTES: usize = 256 * 1024;

/// Which open is current: every open takes a new number, and a task whose number is no longer
/// current stops at its next yield. It also holds the addresses a fresh host gets
/// (`State::typed_host`: the app copies them here at each render, and the host control before
/// it opens an image again), and the checkpoint reader's worker of the current open, if it has
/// one.
#[derive(Debug, Default)]
pub struct Generation(Cell<u64>, RefCell<Rc<[IpAddr]>>, RefCell<Option<client::Job>>);

impl Generation {
    /// Start a new open (a checkpoint being read in a worker stops: the worker is terminated);
    /// returns its number.
    pub fn next(&self) -> u64 {
        self.0.set(self.0.get() + 1);
        drop(self.2.borrow_mut().take());
        self.0.get()
    }
    /// The worker reading open `g`'s checkpoint (dropped by the next open).
    fn set_job(&self, g: u64, job: client::Job) {
        if self.is_current(g) {
            *self.2.borrow_mut() = Some(job);
        }
    }
    /// The worker of open `g`, which has answered with a checkpoint (and is dropped then).
    fn take_job(&self, g: u64) -> Option<client::Job> {
        if self.is_current(g) {
            self.2.borrow_mut().take()
        } else {
            None
        }
    }
    /// A worker is reading a checkpoint for the current open.
    pub fn reading(&self) -> bool {
        self.2.borrow().is_some()
    }
    pub fn is_current(&self, g: u64) -> bool {
        self.0.get() == g
    }
    /// Plan the next opens of anything but a CRIU checkpoint that saved its namespace for
    /// loopback plus these addresses.
    pub fn set_fresh(&self, addrs: Rc<[IpAddr]>) {
        *self.1.borrow_mut() = addrs;
    }
    /// The host a new open is planned for: the checkpoint's saved namespace if it has one
    /// (as `restore plan` does), else a fresh one with the addresses last chosen.
    pub fn host_for(&self, criu: Option<&CriuDoc>) -> PlanHost {
        match criu.and_then(|c| c.saved_host.clone()) {
            Some(saved) => PlanHost::Saved(saved),
            None => PlanHost::Fresh(self.1.borrow().clone()),
        }
    }
}

/// Give the browser a turn (input, rendering) before continuing.
pub async fn yield_now() {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = gloo::utils::window().set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, 0);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

fn now() -> f64 {
    js_sys::Date::now()
}

/// What to open.
#[derive(Debug, Clone)]
pub struct Request {
    pub name: String,
    pub note: String,
    /// The gallery item, for deep links.
    pub fixture: Option<String>,
    pub bytes: Rc<[u8]>,
    /// The order and step to show when planned.
    pub goto: Option<Goto>,
    /// The CRIU checkpoint `bytes` is the scenario image of (`crate::criu`), if any.
    pub criu: Option<Rc<CriuDoc>>,
    /// The host to plan for (`Generation::host_for` for a new open).
    pub host: PlanHost,
}

/// Open `req`: small images at once through `Action::Open`, bigger ones in slices.
pub fn open(req: Request, generation: Rc<Generation>, d: UseReducerDispatcher<State>) {
    let g = generation.next();
    if req.bytes.len() <= SYNC_MAX_BYTES {
        d.dispatch(Action::Open { name: req.name, note: req.note, bytes: req.bytes, host: req.host });
        if let Some(c) = req.criu {
            d.dispatch(Action::Criu(CriuAction::Opened(c)));
        }
        d.dispatch(Action::Fixture(req.fixture));
        if let Some(goto) = req.goto {
            d.dispatch(Action::Goto(goto));
        }
        return;
    }
    wasm_bindgen_futures::spawn_local(async move {
        run(req, g, &generation, &d).await;
    });
}

/// Named files to open (picked, dropped or from the gallery): core tells by their content what
/// they are (`detect::open_files`, in the checkpoint reader's worker for anything but one
/// resocket image).
#[derive(Debug)]
pub struct FilesRequest {
    pub name: String,
    pub note: String,
    pub fixture: Option<String>,
    pub files: Vec<(String, Data)>,
    pub goto: Option<Goto>,
}

/// Bytes enough to tell what a file is (`detect::detect`: a tar's `ustar` is at 257).
const HEAD: usize = 512;

/// Open named files: one resocket image (or one file that is nothing known) as [`open`] does,
/// in the page; anything else (a directory's images, picked `.img` files, an archive) in the
/// checkpoint reader's worker ([`open_checkpoint`]).
pub fn open_files(req: FilesRequest, generation: Rc<Generation>, d: UseReducerDispatcher<State>) {
    let FilesRequest { name, note, fixture, mut files, goto } = req;
    let rsimg = |head: &[u8]| matches!(detect::detect(head), Detected::Rsimg | Detected::Unknown);
    match files.as_slice() {
        // One file that is none of the formats opens as a resocket image too, as the inspector
        // always did: its diagnostics (`missing-header`, …) and hex say what is wrong with it.
        [(_, Data::Bytes(b))] if rsimg(&b[..b.len().min(HEAD)]) => {
            let bytes = match files.pop() {
                Some((_, Data::Bytes(b))) => Rc::from(b),
                _ => Rc::from(Vec::new()),
            };
            open(
                Request { name, note, fixture, bytes, goto, criu: None, host: generation.host_for(None) },
                generation,
                d,
            )
        }
        [(_, Data::Blob(b))] => {
            // Read what it is first: a resocket image is read in the page, the rest by the worker.
            let (b, g) = (b.clone(), generation.next());
            wasm_bindgen_futures::spawn_local(async move {
                let head = match b.slice_with_i32_and_i32(0, HEAD as i32) {
                    Ok(h) => crate::files::bytes_of_blob(&h).await,
                    Err(_) => Err(format!("{name}: the browser could not read it")),
                };
                let bytes = match head {
                    Ok(head) if rsimg(&head) => crate::files::bytes_of_blob(&b).await.map(Some),
                    Ok(_) => Ok(None),
                    Err(e) => Err(e),
                };
                if !generation.is_current(g) {
                    return;
                }
                match bytes {
                    Ok(Some(bytes)) => {
                        let host = generation.host_for(None);
                        open(
                            Request { name, note, fixture, bytes: Rc::from(bytes), goto, criu: None, host },
                            generation,
                            d,
                        )
                    }
                    Ok(None) => open_checkpoint(FilesRequest { name, note, fixture, files, goto }, generation, d),
                    Err(e) => d.dispatch(Action::OpenFailed(e)),
                }
            });
        }
        _ => open_checkpoint(FilesRequest { name, note, fixture, files, goto }, generation, d),
    }
}

/// Open a checkpoint in the checkpoint reader's worker: its progress messages drive the page's
/// progress bar; the checkpoint it posts is shown in the CRIU panels and its scenario's image
/// opened as any image (`Request::criu` keeps the checkpoint for its panels). A newer open
/// terminates the worker (`Generation::next`).
pub fn open_checkpoint(req: FilesRequest, generation: Rc<Generation>, d: UseReducerDispatcher<State>) {
    let FilesRequest { name, note, fixture, files, goto } = req;
    let g = generation.next();
    d.dispatch(Action::Begin { name: name.clone(), fixture: fixture.clone(), goto, host: generation.host_for(None) });
    d.dispatch(Action::Progress { stage: "starting the checkpoint reader", done: 0, total: 0 });
    let (request, transfer) = client::request(Mode::Inspect, files);
    let on_reply = {
        let (generation, d) = (generation.clone(), d.clone());
        move |reply: Reply| {
            if !generation.is_current(g) {
                return;
            }
            let (name, note, fixture) = (name.clone(), note.clone(), fixture.clone());
            match reply {
                Reply::Progress(p) => d.dispatch(Action::Reading(p)),
                Reply::Failed(e) => {
                    generation.next();
                    d.dispatch(Action::OpenFailed(e));
                }
                Reply::Rsimg { bytes, .. } => {
                    let bytes = Rc::from(bytes);
                    {
                        let host = generation.host_for(None);
                        open(
                            Request { name, note, fixture, bytes, goto, criu: None, host },
                            generation.clone(),
                            d.clone(),
                        )
                    }
                }
                Reply::Criu(parts) => {
                    let doc = Rc::new(parts.doc(name.clone(), note.clone()));
                    // The worker that read it goes now, and its memory with it (the page holds
                    // the files); the entries shown are walked by a worker of the doc's own.
                    drop(generation.take_job(g));
                    let fields = d.clone();
                    doc.set_walker(client::walker(move |f| {
                        fields.dispatch(Action::Criu(CriuAction::Fields(Rc::new(*f))))
                    }));
                    match doc.image.clone() {
                        Ok(bytes) => open(
                            Request {
                                name,
                                note,
                                fixture,
                                bytes,
                                goto,
                                host: generation.host_for(Some(&doc)),
                                criu: Some(doc),
                            },
                            generation.clone(),
                            d.clone(),
                        ),
                        Err(_) => {
                            generation.next();
                            d.dispatch(Action::Criu(CriuAction::Opened(doc)));
                            d.dispatch(Action::Fixture(fixture));
                        }
                    }
                }
                Reply::Api(_) | Reply::Fields(_) | Reply::Lessons(_) | Reply::Kernel(_) | Reply::Unheld => {}
            }
        }
    };
    match client::start(request, transfer, on_reply) {
        Ok(job) => generation.set_job(g, job),
        Err(e) => d.dispatch(Action::OpenFailed(e)),
    }
}

/// Yield; `false` when a newer open has started (stop).
async fn turn(g: u64, generation: &Generation) -> bool {
    yield_now().await;
    generation.is_current(g)
}

/// When the task last gave the browser a turn.
struct Pace {
    since: f64,
}

impl Pace {
    /// Yield if the task has been busy for a slice since its last turn (a turn costs a few ms
    /// and often a frame: quick pieces share one); `false` when a newer open has started.
    async fn breathe(&mut self, g: u64, generation: &Generation) -> bool {
        if now() - self.since < SLICE_MS {
            return generation.is_current(g);
        }
        self.turn(g, generation).await
    }

    /// Yield now.
    async fn turn(&mut self, g: u64, generation: &Generation) -> bool {
        let ok = turn(g, generation).await;
        self.since = now();
        ok
    }
}

async fn run(req: Request, g: u64, generation: &Generation, d: &UseReducerDispatcher<State>) {
    let Request { name, note, fixture, bytes, goto, criu, host } = req;
    d.dispatch(Action::Begin { name: name.clone(), fixture, goto, host: host.clone() });
    if let Some(c) = criu {
        d.dispatch(Action::Criu(CriuAction::Opened(c)));
    }
    let mut pace = Pace { since: now() };
    if !pace.turn(g, generation).await {
        return;
    }
    // Parse and validate, a batch of records at a time.
    let mut job = LoadJob::new(&bytes);
    loop {
        let t0 = now();
        let mut done = false;
        while !done && now() - t0 < SLICE_MS {
            done = job.advance(RECORD_BATCH);
        }
        d.dispatch(Action::Progress { stage: "reading records", done: job.position(), total: bytes.len() });
        if !pace.turn(g, generation).await {
            return;
        }
        if done {
            break;
        }
    }
    d.dispatch(Action::Progress { stage: "checking the image", done: bytes.len(), total: bytes.len() });
    let report = job.finish();
    if !pace.breathe(g, generation).await {
        return;
    }
    let mut doc = Doc::build(name, bytes.clone(), report);
    doc.note = note;
    let doc = Rc::new(doc);
    // Rendering the doc is a piece of its own (Yew renders at the end of the task).
    if !pace.breathe(g, generation).await {
        return;
    }
    d.dispatch(Action::Loaded(doc.clone()));
    // Rendering the records and the sockets table in one task would be one long task.
    if !pace.turn(g, generation).await {
        return;
    }
    d.dispatch(Action::MoreSockets);
    d.dispatch(Action::Progress { stage: "drawing the graph", done: 0, total: 0 });
    if !pace.breathe(g, generation).await {
        return;
    }
    d.dispatch(Action::Drawn(Rc::new(Drawing::of(&doc.image))));
    // The kernel worker plans it and runs the order (the deep link's, if it has one): the
    // open ends with its answer (`Action::Kernel`).
    d.dispatch(Action::Progress { stage: "planning the restore", done: 0, total: 0 });
    d.dispatch(Action::MakePlan);
}

/// The element an event happened in is one where keys mean text (or a native control's own
/// keys): shortcuts stay out of it.
pub fn is_typing_target(target: Option<web_sys::EventTarget>) -> bool {
    let Some(el) = target.and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return false };
    let tag = el.tag_name().to_ascii_lowercase();
    matches!(tag.as_str(), "input" | "textarea" | "select")
        || el.get_attribute("contenteditable").is_some_and(|v| v != "false")
}
