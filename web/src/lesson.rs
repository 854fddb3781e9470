//! Guided lessons (issue 16): the lessons page's state, its actions and their reducer, and the
//! effects around them (fetching lesson files, keeping progress in localStorage).
//!
//! Every fact shown comes from `resocket_core::lesson`: [`lesson::run`] grades the answers and
//! explains each outcome with the simulator rule's own text, [`Lesson::choices`] offers the
//! answers, [`lesson::kernel_at`] is the kernel drawn at a step and [`lesson::run_restore`] the
//! outcome of a scenario changed in the editor ("try it yourself").
//!
//! The built-in lessons are not in the page's module: trunk copies `core/lessons/` next to the
//! page (`lessons/NAME.json`) and the page fetches them when the lessons page is first shown.
//! Lesson files are read by core in the checkpoint reader's worker ([`read_in_worker`]), which
//! posts the parsed lessons back (`message::LessonMsg`), so the page links no lesson file
//! reader; a bad file's located error comes back the same way.

use crate::model::{Drawing, Graph};
use resocket_core::lesson::{self, Action as Do, Answer, Answers, Lesson, Order, Restore, RestoreRun, StepRun};
use std::collections::BTreeMap;
use std::rc::Rc;

/// The file names of the built-in lessons (`lessons/NAME` next to the page), in teaching order:
/// taken from [`lesson::BUILTIN`] at compile time, so the page links the names, not the texts.
pub const BUILTIN_NAMES: [&str; lesson::BUILTIN.len()] = {
    let mut out = [""; lesson::BUILTIN.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = lesson::BUILTIN[i].0;
        i += 1;
    }
    out
};

/// The localStorage key of the learner's answers (`{lesson id: {step: answer}}`, [`answers_text`]).
pub const STORAGE_KEY: &str = "resocket.lessons.answers";

/// "Try it yourself": a lesson's restore step opened in the scenario editor.
#[derive(Debug, Clone, PartialEq)]
pub struct Trying {
    /// The lesson (index into `Lessons::list`) and step it came from.
    pub lesson: usize,
    pub step: usize,
    /// The step's restore as the lesson has it ("reset lesson" opens it again).
    pub original: Restore,
    /// The order the changed scenario is run in.
    pub order: Order,
    /// The changed scenario run in `order` (`None`: the editor holds no scenario).
    pub run: Option<Rc<RestoreRun>>,
}

/// The lessons page.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Lessons {
    /// The page is shown (instead of the inspector's panels).
    pub shown: bool,
    /// The built-in lessons were asked for (fetched once).
    pub requested: bool,
    /// The lessons: the built-ins (as fetched, in teaching order), then opened files.
    pub list: Vec<Rc<Lesson>>,
    /// The lesson open (index into `list`).
    pub current: Option<usize>,
    /// The step shown.
    pub step: usize,
    /// The current lesson run with its answers (`lesson::run`).
    pub runs: Rc<Vec<StepRun>>,
    /// The lesson's kernel at the step shown (syscall lessons).
    pub drawing: Option<Rc<Drawing>>,
    /// The learner's answers by lesson id (kept in localStorage).
    pub answers: BTreeMap<String, Answers>,
    /// A lesson file that could not be read or parsed: its name and core's located error.
    pub error: Option<String>,
    /// Large text (projectors).
    pub large: bool,
    /// A deep link waiting for its lesson to arrive: (id, step).
    pub goto: Option<(String, usize)>,
    /// Try it yourself, while the editor holds a lesson's scenario.
    pub trying: Option<Rc<Trying>>,
}

/// What can happen on the lessons page.
#[derive(Debug, Clone, PartialEq)]
pub enum LessonAction {
    /// Show the page (fetching the built-ins the first time) or go back to the inspector.
    Show(bool),
    /// A built-in lesson file arrived (`name`), read by core in the worker: its lesson or its
    /// located error.
    Fetched { name: String, lesson: Result<Lesson, String> },
    /// A lesson file was opened (dropped, or `?lesson=URL`) and read: shown, or its error shown.
    OpenFile { name: String, lesson: Result<Lesson, String> },
    /// A lesson file could not be read or fetched.
    Failed(String),
    /// Open a lesson (by index), or go back to the list (`None`).
    Select(Option<usize>),
    /// Show step `n` of the open lesson.
    Go(usize),
    /// Next (+1) or previous (-1) step.
    StepBy(isize),
    /// The learner's prediction at `step`.
    Answer { step: usize, answer: Answer },
    /// The learner's answers, read back from localStorage.
    Restored(BTreeMap<String, Answers>),
    /// Large text on or off.
    ToggleLarge,
    /// A deep link: lesson `id`, step `step` (followed once the lesson is there).
    Goto { id: String, step: usize },
    /// Try it yourself: open the scenario of the current step (or the nearest restore step) in
    /// the editor (reduced by the app's state, which owns the editor).
    TryIt,
    /// Run the changed scenario in another order.
    TryOrder(Order),
    /// Reset lesson: open the step's own scenario again (reduced by the app's state).
    Reset,
}

impl Lessons {
    /// The open lesson.
    pub fn lesson(&self) -> Option<&Rc<Lesson>> {
        self.current.and_then(|i| self.list.get(i))
    }

    /// The restore the current step opens in the editor: its own, else the nearest restore step
    /// before it, else after it (`None`: the lesson has none).
    pub fn restore_for(&self, step: usize) -> Option<(usize, &Restore)> {
        let l = self.lesson()?;
        let of = |i: usize| match &l.steps.get(i)?.action {
            Do::Restore(r) => Some((i, r)),
            _ => None,
        };
        (0..=step.min(l.steps.len().saturating_sub(1))).rev().chain(step + 1..l.steps.len()).find_map(of)
    }

    /// (questions answered right, questions) of lesson `l`, from the kept answers.
    pub fn progress(&self, l: &Lesson) -> (usize, usize) {
        let total = l.steps.iter().filter(|s| s.question.is_some()).count();
        let Some(a) = self.answers.get(&l.id).filter(|a| !a.is_empty()) else { return (0, total) };
        let right =
            lesson::run(l, a).iter().filter(|r| r.question.as_ref().and_then(|q| q.correct) == Some(true)).count();
        (right, total)
    }

    /// Run the open lesson again and redraw its kernel at the step shown.
    fn rerun(&mut self) {
        let Some(l) = self.lesson().cloned() else {
            self.runs = Rc::default();
            self.drawing = None;
            return;
        };
        self.step = self.step.min(l.steps.len().saturating_sub(1));
        let empty = Answers::new();
        self.runs = Rc::new(lesson::run(&l, self.answers.get(&l.id).unwrap_or(&empty)));
        self.redraw();
    }

    /// The kernel after the steps shown: up to and including the step, unless it asks a
    /// question not answered yet (predict first: the step has not run).
    fn redraw(&mut self) {
        let Some(l) = self.lesson().cloned() else { return };
        let revealed = self.revealed(self.step);
        let upto = self.step + usize::from(revealed);
        // A restore step: the checkpoint it restores (the restore's own run is listed below).
        if let Some(Do::Restore(r)) = l.steps.get(self.step).map(|s| &s.action) {
            self.drawing = r.scenario.to_image().ok().map(|b| Rc::new(Drawing::of_image(&b)));
            return;
        }
        if !l.steps.iter().any(|s| matches!(s.action, Do::Syscall(_))) {
            self.drawing = None;
            return;
        }
        let k = lesson::kernel_at(&l, upto);
        let key = |r: usize| k.slot_of(r).map_or(-(r as i32) - 1, |s| s as i32);
        let mut graph = Graph::of_kernel(&k, &key);
        for n in &mut graph.nodes {
            if n.objref > 0 {
                n.name = format!("{} · {}", l.slot_name(n.objref as resocket_core::sim::Slot), n.name);
            }
        }
        let layout = graph.layout(None);
        self.drawing = Some(Rc::new(Drawing { graph, layout }));
    }

    /// Step `i`'s outcome may be shown: it asks no question, or the learner has answered it.
    pub fn revealed(&self, i: usize) -> bool {
        let Some(l) = self.lesson() else { return false };
        match l.steps.get(i) {
            Some(s) if s.question.is_some() => self.answers.get(&l.id).is_some_and(|a| a.contains_key(&i)),
            Some(_) => true,
            None => false,
        }
    }

    /// Open the lesson with this id at `step`, if it is in the list.
    fn follow(&mut self, id: &str, step: usize) -> bool {
        let Some(i) = self.list.iter().position(|l| l.id == id) else { return false };
        self.current = Some(i);
        self.step = step;
        self.shown = true;
        self.rerun();
        true
    }

    /// Add (or replace, by id) a parsed lesson; its index.
    fn add(&mut self, l: Lesson) -> usize {
        match self.list.iter().position(|x| x.id == l.id) {
            Some(i) => {
                self.list[i] = Rc::new(l);
                i
            }
            None => {
                self.list.push(Rc::new(l));
                self.list.len() - 1
            }
        }
    }

    /// The changed scenario `scenario` run in the try's order.
    pub fn tried(t: &Trying, scenario: Option<&resocket_core::scenario::Scenario>) -> Trying {
        let run = scenario.map(|sc| Rc::new(lesson::run_restore(&Restore { order: t.order, scenario: sc.clone() })));
        Trying { run, ..t.clone() }
    }
}

/// The reducer of the page's own actions (`TryIt` and `Reset` need the editor: the app's
/// state reduces them, `state::lesson`).
pub fn reduce(s: &Lessons, action: LessonAction) -> Option<Lessons> {
    let mut s = s.clone();
    match action {
        LessonAction::Show(on) => {
            if on == s.shown && (!on || s.requested) {
                return None;
            }
            s.shown = on;
            s.requested |= on;
        }
        LessonAction::Fetched { name, lesson } => match lesson {
            Ok(l) => {
                // Built-ins keep teaching order whatever order they arrive in.
                let rank = |id: &str| BUILTIN_NAMES.iter().position(|n| n.strip_suffix(".json") == Some(id));
                let at = s
                    .list
                    .iter()
                    .position(|x| rank(&x.id).is_none_or(|r| rank(&l.id).is_some_and(|me| me < r)))
                    .unwrap_or(s.list.len());
                if s.list.iter().any(|x| x.id == l.id) {
                    return None;
                }
                s.list.insert(at, Rc::new(l));
                if let Some(c) = s.current.filter(|&c| c >= at) {
                    s.current = Some(c + 1);
                }
                if let Some((id, step)) = s.goto.clone() {
                    if s.follow(&id, step) {
                        s.goto = None;
                    }
                }
            }
            Err(e) => s.error = Some(format!("{name}: {e}")),
        },
        LessonAction::OpenFile { name, lesson } => match lesson {
            Ok(l) => {
                let i = s.add(l);
                s.error = None;
                s.shown = true;
                s.current = Some(i);
                s.step = 0;
                s.rerun();
            }
            Err(e) => {
                s.shown = true;
                s.error = Some(format!("{name}: {e}"));
            }
        },
        LessonAction::Failed(e) => s.error = Some(e),
        LessonAction::Select(i) => {
            if i.is_some_and(|i| i >= s.list.len()) {
                return None;
            }
            s.current = i;
            s.step = 0;
            s.rerun();
        }
        LessonAction::Go(n) => {
            let len = s.lesson()?.steps.len();
            if n >= len || n == s.step {
                return None;
            }
            s.step = n;
            s.redraw();
        }
        LessonAction::StepBy(d) => {
            let len = s.lesson()?.steps.len();
            let n = s.step.saturating_add_signed(d).min(len.saturating_sub(1));
            if n == s.step {
                return None;
            }
            s.step = n;
            s.redraw();
        }
        LessonAction::Answer { step, answer } => {
            let l = s.lesson()?.clone();
            if !l.choices(step).contains(&answer) {
                return None;
            }
            s.answers.entry(l.id.clone()).or_default().insert(step, answer);
            s.rerun();
        }
        LessonAction::Restored(a) => {
            s.answers = a;
            s.rerun();
        }
        LessonAction::ToggleLarge => s.large = !s.large,
        LessonAction::Goto { id, step } => {
            s.shown = true;
            s.requested = true;
            if !s.follow(&id, step) {
                s.goto = Some((id, step));
            }
        }
        LessonAction::TryOrder(order) => {
            let t = s.trying.as_ref()?;
            if t.order == order {
                return None;
            }
            let mut t = (**t).clone();
            t.order = order;
            s.trying = Some(Rc::new(t));
            // The run is redone by the app's state, which holds the editor's scenario.
        }
        LessonAction::TryIt | LessonAction::Reset => return None,
    }
    Some(s)
}

/// The keys of the lessons page: (keys, what they do), shown in its help.
pub const KEYS: &[(&str, &str)] = &[
    ("→ / ←, n / p", "next / previous step"),
    ("1 … 9", "pick that answer (a question not yet answered, or to answer again)"),
    ("t", "try it yourself: open the step's scenario in the editor"),
    ("+", "large text on / off"),
    ("Esc", "back to the list of lessons"),
];

/// The action a key press on the lessons page stands for (`None`: not one of its keys).
pub fn key_action(l: &Lessons, key: &str) -> Option<LessonAction> {
    let lesson = l.lesson();
    Some(match key {
        "ArrowRight" | "n" if lesson.is_some() => LessonAction::StepBy(1),
        "ArrowLeft" | "p" if lesson.is_some() => LessonAction::StepBy(-1),
        "t" if lesson.is_some() => LessonAction::TryIt,
        "+" => LessonAction::ToggleLarge,
        "Escape" if lesson.is_some() => LessonAction::Select(None),
        k => {
            let d = k.parse::<usize>().ok().filter(|d| (1..=9).contains(d))?;
            let answer = *lesson?.choices(l.step).get(d - 1)?;
            LessonAction::Answer { step: l.step, answer }
        }
    })
}

/// The fragment keys of a lesson's deep link: `#lesson=ID&at=STEP`.
pub fn route_of(fragment: &str) -> Option<(String, usize)> {
    let pairs = crate::route::pairs(fragment);
    let id = pairs.iter().find(|(k, _)| k == "lesson").map(|(_, v)| v.clone()).filter(|v| !v.is_empty())?;
    let at = pairs.iter().find(|(k, _)| k == "at").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
    Some((id, at))
}

/// The fragment for the lessons page as it stands: `fragment` with its `lesson` and `at` keys
/// replaced (dropped when no lesson is open); every other key kept.
pub fn fragment_for(fragment: &str, l: &Lessons) -> String {
    let mut out: Vec<String> = Vec::new();
    if let Some(x) = l.lesson().filter(|_| l.shown) {
        out.push(format!("lesson={}", crate::route::encode(&x.id)));
        if l.step > 0 {
            out.push(format!("at={}", l.step));
        }
    }
    for raw in fragment.trim_start_matches('#').split('&').filter(|p| !p.is_empty()) {
        let key = crate::route::decode(raw.split_once('=').map_or(raw, |(k, _)| k));
        if key != "lesson" && key != "at" {
            out.push(raw.to_string());
        }
    }
    if out.is_empty() {
        String::new()
    } else {
        format!("#{}", out.join("&"))
    }
}

// ---------------------------------------------------------------------------------------------
// Effects

/// Fetch `url` as text (the request starts at the call, not when the future is first polled).
pub fn fetch_text(url: &str) -> impl std::future::Future<Output = Result<String, String>> {
    let started = gloo::utils::window().fetch_with_str(url);
    let url = url.to_string();
    async move { read_text(&url, started).await }
}

async fn read_text(url: &str, started: js_sys::Promise) -> Result<String, String> {
    use wasm_bindgen::JsCast;
    let js = |e: wasm_bindgen::JsValue| e.as_string().unwrap_or_else(|| format!("{e:?}"));
    let resp = wasm_bindgen_futures::JsFuture::from(started).await.map_err(js)?;
    let resp: web_sys::Response = resp.dyn_into().map_err(js)?;
    if !resp.ok() {
        return Err(format!("{url}: HTTP {}", resp.status()));
    }
    let text = wasm_bindgen_futures::JsFuture::from(resp.text().map_err(js)?).await.map_err(js)?;
    text.as_string().ok_or_else(|| format!("{url}: not text"))
}

/// Read lesson files `(name, text)` with core in the checkpoint reader's worker (a worker of its
/// own, terminated once it has answered); `done` gets each file's lesson or located error, in
/// the order given (every file gets the worker's error if the worker fails).
pub fn read_in_worker(
    files: Vec<(String, String)>,
    done: impl FnOnce(Vec<(String, Result<Lesson, String>)>) + 'static,
) {
    use crate::client::{self, Data, Job, Reply};
    use std::cell::RefCell;
    type Done = Box<dyn FnOnce(Vec<(String, Result<Lesson, String>)>)>;
    let names: Vec<String> = files.iter().map(|f| f.0.clone()).collect();
    let done: Rc<RefCell<Option<Done>>> = Rc::new(RefCell::new(Some(Box::new(done))));
    let finish = {
        let done = done.clone();
        move |out| {
            if let Some(d) = done.borrow_mut().take() {
                d(out);
            }
        }
    };
    let failed = move |e: &str| names.iter().map(|n| (n.clone(), Err(e.to_string()))).collect::<Vec<_>>();
    let (request, transfer) = client::request(
        crate::message::Mode::Lessons,
        files.into_iter().map(|(name, text)| (name, Data::Bytes(text.into_bytes()))).collect(),
    );
    let job: Rc<RefCell<Option<Job>>> = Rc::default();
    let keep = job.clone();
    let on_failed = failed.clone();
    let finish2 = finish.clone();
    let started = client::start(request, transfer, move |reply| {
        let out = match reply {
            Reply::Lessons(files) => {
                files.into_iter().map(|f| (f.name, f.lesson.and_then(crate::message::LessonMsg::lesson))).collect()
            }
            Reply::Failed(e) => on_failed(&e),
            _ => return,
        };
        finish2(out);
        // Answered: the worker goes.
        keep.borrow_mut().take();
    });
    match started {
        Ok(j) => *job.borrow_mut() = Some(j),
        Err(e) => finish(failed(&e)),
    }
}

/// The most the kept answers may claim when decoded (bincode checks every length against it).
const MAX_KEPT: usize = 1 << 20;

/// The kept answers' text: their codec (bincode) encoding in base64url, as share links spell
/// bytes. Not JSON: the page links no JSON parser (docs/benchmarks.md, "The page bundle, text
/// tables and the lesson runs").
pub fn answers_text(a: &BTreeMap<String, Answers>) -> String {
    resocket_core::share::text_of(&resocket_core::codec::encode(a))
}

/// The answers of a kept text (`None`: not one, e.g. the JSON an earlier version kept).
pub fn answers_of(text: &str) -> Option<BTreeMap<String, Answers>> {
    let bytes = resocket_core::share::bytes_of(text).ok()?;
    let (a, used) = resocket_core::codec::decode::<BTreeMap<String, Answers>, MAX_KEPT>(&bytes).ok()?;
    (used == bytes.len()).then_some(a)
}

/// The learner's answers kept in localStorage (none when there are none or they do not read).
pub fn load_answers() -> BTreeMap<String, Answers> {
    let storage = gloo::utils::window().local_storage().ok().flatten();
    let text = storage.and_then(|s| s.get_item(STORAGE_KEY).ok().flatten());
    text.and_then(|t| answers_of(&t)).unwrap_or_default()
}

/// Keep the learner's answers in localStorage.
pub fn save_answers(a: &BTreeMap<String, Answers>) {
    if let Some(s) = gloo::utils::window().local_storage().ok().flatten() {
        let _ = s.set_item(STORAGE_KEY, &answers_text(a));
    }
}
