//! Guided lessons (issue 16): a lesson is a plain JSON file — an id, a title, a goal, prose and a
//! sequence of steps. A step is a syscall on the simulated kernel (a [`sim::Op`](crate::sim::Op),
//! the one vocabulary of the simulator and the executor), a restore of a scenario in an order
//! (run through [`check`](crate::check)), or prose alone; a step may ask the learner to predict
//! its outcome (ok / an errno / would block) or which client's connection `accept()` returns.
//!
//! [`run`] runs a lesson on the simulator and says per step what happened, the [`Rule`] that
//! decided it (its explanation is [`Rule::explain`]'s, never a copy) and, for a question, the
//! simulator's answer, whether the lesson's stated answer agrees with it, and whether a
//! learner's answer is right. [`parse`] gives a located [`LessonError`] (line, column, step)
//! for a bad file, within [`MAX_LESSON_BYTES`] and [`MAX_STEPS`].
//!
//! The built-in lessons are files in `core/lessons/`, embedded here ([`BUILTIN`]) so the browser
//! gets the same ones. The format is documented in `docs/lessons.md`.

use crate::check::{self, Failure};
use crate::plan::{self, Plan};
use crate::scenario::Scenario;
use crate::sim::{Errno, Kernel, Op, Outcome, Rule, Slot};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The largest lesson file accepted, in bytes.
pub const MAX_LESSON_BYTES: usize = 256 * 1024;
/// The most steps a lesson may have.
pub const MAX_STEPS: usize = 200;
/// The most bytes the `repeat` payloads of one restore step's scenario may add up to (a lesson's
/// scenarios are small; the scenario writer's own bound is far larger).
pub const MAX_REPEAT_BYTES: u64 = 1 << 20;

/// The built-in lessons, in teaching order: (file name, text).
pub const BUILTIN: [(&str, &str); 9] = [
    ("socketpair.json", include_str!("../lessons/socketpair.json")),
    ("backlog.json", include_str!("../lessons/backlog.json")),
    ("data-before-accept.json", include_str!("../lessons/data-before-accept.json")),
    ("dgram.json", include_str!("../lessons/dgram.json")),
    ("scm-rights.json", include_str!("../lessons/scm-rights.json")),
    ("shutdown.json", include_str!("../lessons/shutdown.json")),
    ("names.json", include_str!("../lessons/names.json")),
    ("restore-order.json", include_str!("../lessons/restore-order.json")),
    ("inet.json", include_str!("../lessons/inet.json")),
];

/// A lesson.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawLesson")]
pub struct Lesson {
    /// Stable id (lowercase letters, digits and `-`): the URL and the CLI name it.
    pub id: String,
    /// Title.
    pub title: String,
    /// What the learner will understand at the end.
    pub goal: String,
    /// The introduction.
    pub prose: String,
    /// Names of the slots the syscall steps use (`1` → `"L"`), for display and for answers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub names: BTreeMap<Slot, String>,
    /// The steps.
    pub steps: Vec<Step>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLesson {
    id: String,
    title: String,
    goal: String,
    prose: String,
    #[serde(default)]
    names: BTreeMap<Slot, String>,
    steps: StepList,
}

impl TryFrom<RawLesson> for Lesson {
    type Error = String;
    fn try_from(r: RawLesson) -> Result<Lesson, String> {
        let slug = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-';
        if r.id.is_empty() || !r.id.chars().all(slug) {
            return Err(format!("id {:?} must be lowercase letters, digits and '-'", r.id));
        }
        let mut seen = std::collections::BTreeSet::new();
        for n in r.names.values() {
            if n.is_empty() || n.parse::<Slot>().is_ok() || !seen.insert(n.as_str()) {
                return Err(format!("slot name {n:?} is empty, a number or used twice"));
            }
        }
        let lesson =
            Lesson { id: r.id, title: r.title, goal: r.goal, prose: r.prose, names: r.names, steps: r.steps.0 };
        // An accept question names a client by slot: it must be a slot the lesson uses.
        for (i, s) in lesson.steps.iter().enumerate() {
            if let Some(Question { answer: Answer::Accepts(c), .. }) = &s.question {
                if !lesson.steps.iter().any(|t| matches!(&t.action, Action::Syscall(op) if op.slots().any(|x| x == *c)))
                {
                    return Err(format!("{STEP_MARK}{i}: the answer names slot {c}, which no syscall step uses"));
                }
            }
        }
        Ok(lesson)
    }
}

/// One step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawStep", into = "RawStep")]
pub struct Step {
    /// Text shown with the step (may be empty).
    pub prose: String,
    /// What the step does.
    pub action: Action,
    /// What the learner is asked before the step runs.
    pub question: Option<Question>,
}

/// What a step does.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Prose only: nothing runs, there is no outcome.
    Prose,
    /// One syscall on the lesson's simulated kernel (the steps share one kernel, in order).
    Syscall(Op),
    /// Restore a scenario in an order, on a fresh simulated kernel (through `check`).
    Restore(Restore),
}

/// "Restore scenario S in order O".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restore {
    /// Which order.
    pub order: Order,
    /// The checkpointed state, in the scenario form (`docs/format.md`).
    pub scenario: Scenario,
}

/// The order a restore step runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// The planner's order.
    Plan,
    /// The planner's steps with every connect moved before the listeners exist
    /// ([`check::naive_order`]).
    Naive,
    /// The seed's v2 code ([`check::v2_plan`]): record order, pairs joined directly.
    V2,
}

impl Order {
    /// `plan`, `naive`, `v2`.
    pub fn word(self) -> &'static str {
        match self {
            Order::Plan => "plan",
            Order::Naive => "naive",
            Order::V2 => "v2",
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStep {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    prose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    syscall: Option<Op>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    restore: Option<Restore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    question: Option<Question>,
}

impl TryFrom<RawStep> for Step {
    type Error = String;
    fn try_from(r: RawStep) -> Result<Step, String> {
        let action = match (r.syscall, r.restore) {
            (Some(_), Some(_)) => return Err("a step has a syscall or a restore, not both".into()),
            (Some(op), None) => Action::Syscall(op),
            (None, Some(rs)) => {
                check_scenario(&rs.scenario)?;
                Action::Restore(rs)
            }
            (None, None) => Action::Prose,
        };
        if let Some(q) = &r.question {
            match (&action, q.answer) {
                (Action::Prose, _) => {
                    return Err("a question on a step with no outcome (no syscall, no restore)".into());
                }
                (Action::Syscall(op), Answer::Accepts(_)) if !matches!(op, Op::Accept { .. }) => {
                    return Err("an \"accepts\" answer on a step that is not an accept".into());
                }
                (Action::Restore(_), Answer::Accepts(_)) => {
                    return Err("an \"accepts\" answer on a restore step".into());
                }
                (_, Answer::Ok | Answer::Accepts(_)) if q.rule.is_some() => {
                    return Err(
                        "a rule on a question whose answer is a success (rules decide refusals and waits)".into()
                    );
                }
                _ => {}
            }
        }
        Ok(Step { prose: r.prose, action, question: r.question })
    }
}

impl From<Step> for RawStep {
    fn from(s: Step) -> RawStep {
        let (syscall, restore) = match s.action {
            Action::Prose => (None, None),
            Action::Syscall(op) => (Some(op), None),
            Action::Restore(r) => (None, Some(r)),
        };
        RawStep { prose: s.prose, syscall, restore, question: s.question }
    }
}

/// A restore step's scenario must be small and must load into a valid image the planner plans.
fn check_scenario(sc: &Scenario) -> Result<(), String> {
    let mut repeat = 0u64;
    for s in &sc.sockets {
        let msgs = s.queue.iter().chain(s.pending.iter().flat_map(|p| p.sent.iter()));
        for m in msgs {
            repeat = repeat.saturating_add(m.repeat.map_or(0, u64::from));
        }
    }
    if repeat > MAX_REPEAT_BYTES {
        return Err(format!("the scenario repeats {repeat} bytes; a lesson's limit is {MAX_REPEAT_BYTES}"));
    }
    let bytes = sc.to_image().map_err(|e| e.to_string())?;
    let report = crate::load(&bytes);
    if let Some(d) = report.diagnostics.iter().find(|d| d.is_error()) {
        return Err(format!("the scenario is not a valid image: {}", d.message));
    }
    plan::plan(&report.image).map(|_| ()).map_err(|e| e.to_string())
}

/// A question: the learner predicts, then the step runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// What is asked.
    pub prompt: String,
    /// The lesson's stated right answer (a test holds it to the simulator's).
    pub answer: Answer,
    /// The rule the lesson says decides it (for an errno or a wait); checked like the answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<Rule>,
}

/// An answer: a step's outcome in the learner's vocabulary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, crate::codec::Encode, crate::codec::Decode)]
#[serde(rename_all = "snake_case")]
pub enum Answer {
    /// The call succeeds (a restore: runs to its end).
    Ok,
    /// The call fails with this errno (a restore: its first failing step does).
    Errno(Errno),
    /// The call would block (in a single-threaded restore: forever).
    WouldBlock,
    /// `accept()` returns the connection of this client slot.
    Accepts(Slot),
}

impl Answer {
    /// The answer an outcome gives; `None` for one the model leaves undetermined or an invalid
    /// step (no prediction can be right).
    pub fn of(out: &Outcome) -> Option<Answer> {
        match out {
            Outcome::Ok { .. } | Outcome::Read { .. } => Some(Answer::Ok),
            Outcome::Err { errno } => Some(Answer::Errno(*errno)),
            Outcome::WouldBlock { block: crate::sim::Block::Undetermined { .. } } => None,
            Outcome::WouldBlock { .. } => Some(Answer::WouldBlock),
            Outcome::Invalid { .. } => None,
        }
    }

    /// How the CLI and the inspector spell it: `ok`, `EAGAIN`, `would-block`, or the client's
    /// name (its slot number when the lesson names none).
    pub fn spell(&self, lesson: &Lesson) -> String {
        match self {
            Answer::Ok => "ok".into(),
            Answer::Errno(e) => e.to_string(),
            Answer::WouldBlock => "would-block".into(),
            Answer::Accepts(s) => lesson.slot_name(*s),
        }
    }
}

impl Lesson {
    /// The display name of a slot: its name in `names`, else `s` and the number.
    pub fn slot_name(&self, slot: Slot) -> String {
        self.names.get(&slot).cloned().unwrap_or_else(|| format!("s{slot}"))
    }

    /// The slot a name (or `s3`, or `3`) stands for.
    pub fn slot_named(&self, name: &str) -> Option<Slot> {
        self.names
            .iter()
            .find(|(_, n)| n.as_str() == name)
            .map(|(s, _)| *s)
            .or_else(|| name.strip_prefix('s').unwrap_or(name).parse().ok())
    }

    /// A learner's answer to step `step`'s question, as typed: `ok`, `would-block` (or
    /// `would_block`, `blocks`), an errno name, or for an accept question the client's name or
    /// slot. Case does not matter for the words and errnos.
    pub fn parse_answer(&self, step: usize, text: &str) -> Result<Answer, String> {
        let q = self
            .steps
            .get(step)
            .and_then(|s| s.question.as_ref())
            .ok_or_else(|| format!("step {step} asks no question"))?;
        let t = text.trim();
        if let Answer::Accepts(_) = q.answer {
            if let Some(s) = self.slot_named(t) {
                return Ok(Answer::Accepts(s));
            }
        }
        let lower = t.to_ascii_lowercase();
        match lower.as_str() {
            "ok" | "succeeds" | "success" | "0" => return Ok(Answer::Ok),
            "would-block" | "would_block" | "wouldblock" | "blocks" | "block" => return Ok(Answer::WouldBlock),
            _ => {}
        }
        let up = t.to_ascii_uppercase();
        if let Some(e) = Errno::ALL.iter().copied().find(|e| e.to_string() == up) {
            return Ok(Answer::Errno(e));
        }
        Err(format!(
            "{t:?} is not an answer: ok, would-block, an errno name (EAGAIN){}",
            match q.answer {
                Answer::Accepts(_) => ", or the client's name",
                _ => "",
            }
        ))
    }
}

/// The errnos every question offers as choices (besides those the lesson's questions state): the
/// answers AF_UNIX and loopback calls give most often.
pub const CHOICE_ERRNOS: [Errno; 9] = [
    Errno::EAGAIN,
    Errno::ENOENT,
    Errno::ECONNREFUSED,
    Errno::EADDRINUSE,
    Errno::EPIPE,
    Errno::ENOTCONN,
    Errno::EPERM,
    Errno::EINVAL,
    Errno::EISCONN,
];

impl Lesson {
    /// The answers a learner picks from at step `step`'s question (empty when it asks none):
    /// for an accept, first each client slot that a syscall step before it connected (in that
    /// order); then `ok` (for an accept: a connection whose client was closed), `would_block`, and the errnos of
    /// [`CHOICE_ERRNOS`] followed by any other errno a question of the lesson states. The right
    /// answer is among them whatever it is (a test holds every built-in question to that).
    pub fn choices(&self, step: usize) -> Vec<Answer> {
        let Some(s) = self.steps.get(step).filter(|s| s.question.is_some()) else { return Vec::new() };
        let mut out = Vec::new();
        let accept = matches!(s.action, Action::Syscall(Op::Accept { .. }));
        if accept {
            for t in &self.steps[..step] {
                if let Action::Syscall(Op::Connect { slot, .. }) = &t.action {
                    if !out.contains(&Answer::Accepts(*slot)) {
                        out.push(Answer::Accepts(*slot));
                    }
                }
            }
        }
        // An accept answers `ok` too: a connection whose client is gone is no client's.
        out.push(Answer::Ok);
        out.push(Answer::WouldBlock);
        let stated = self.steps.iter().filter_map(|t| match t.question.as_ref().map(|q| q.answer) {
            Some(Answer::Errno(e)) => Some(e),
            _ => None,
        });
        for e in CHOICE_ERRNOS.into_iter().chain(stated) {
            if !out.contains(&Answer::Errno(e)) {
                out.push(Answer::Errno(e));
            }
        }
        if let Some(Question { answer: a @ Answer::Accepts(_), .. }) = &s.question {
            if !out.contains(a) {
                out.insert(0, *a);
            }
        }
        out
    }
}

/// The lesson's simulated kernel once its first `steps` steps have run (the syscall steps among
/// them; restore steps run on kernels of their own): what the inspector draws at a step.
pub fn kernel_at(lesson: &Lesson, steps: usize) -> Kernel {
    let mut k = Kernel::new();
    for s in lesson.steps.iter().take(steps) {
        if let Action::Syscall(op) = &s.action {
            k.apply(op);
        }
    }
    k
}

/// A bad lesson file: where, in which step, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}{}: {message}", step.map(|s| format!(" (step {s})")).unwrap_or_default())]
pub struct LessonError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// The step (0-based index in `steps`) the error is in, if it is in one.
    pub step: Option<usize>,
    /// What is wrong.
    pub message: String,
}

/// The prefix an error inside a step carries until [`parse`] takes it apart.
const STEP_MARK: &str = "step #";

/// The steps, counted as they are read: an error inside one names it, and no more than
/// [`MAX_STEPS`] are kept.
struct StepList(Vec<Step>);

impl<'de> Deserialize<'de> for StepList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StepList, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = StepList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of steps")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StepList, A::Error> {
                let mut out = Vec::new();
                loop {
                    // serde_json keeps the inner error's position: it reads it back from the end of
                    // the message ("… at line L column C"), so the prefix only adds the step.
                    match seq.next_element::<Step>() {
                        Ok(Some(_)) if out.len() >= MAX_STEPS => {
                            return Err(de::Error::custom(format!(
                                "{STEP_MARK}{}: more than {MAX_STEPS} steps",
                                out.len()
                            )));
                        }
                        Ok(Some(s)) => out.push(s),
                        Ok(None) => return Ok(StepList(out)),
                        Err(e) => return Err(de::Error::custom(format!("{STEP_MARK}{}: {e}", out.len()))),
                    }
                }
            }
        }
        d.deserialize_seq(V)
    }
}

/// Parse a lesson file.
pub fn parse(text: &str) -> Result<Lesson, LessonError> {
    if text.len() > MAX_LESSON_BYTES {
        return Err(LessonError {
            line: 1,
            column: 1,
            step: None,
            message: format!("the file is {} bytes; a lesson may have {MAX_LESSON_BYTES}", text.len()),
        });
    }
    serde_json::from_str(text).map_err(|e| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        let msg = full.strip_suffix(&suffix).unwrap_or(&full);
        // A check of the whole lesson (its id, an answer naming a slot) runs once the text is
        // read: it is located at the end of the text.
        let (line, column) = if e.line() == 0 { end_of(text) } else { (e.line(), e.column().max(1)) };
        let (step, message) = match msg.strip_prefix(STEP_MARK).and_then(|m| m.split_once(": ")) {
            Some((n, rest)) => match n.parse::<usize>() {
                Ok(n) => (Some(n), rest.to_string()),
                Err(_) => (None, msg.to_string()),
            },
            None => (None, msg.to_string()),
        };
        LessonError { line, column, step, message }
    })
}

/// The line and column (1-based) of the last character of `text` that is not white space.
fn end_of(text: &str) -> (usize, usize) {
    let t = text.trim_end();
    let line = t.matches('\n').count() + 1;
    let column = t.rsplit('\n').next().map_or(0, |l| l.chars().count()).max(1);
    (line, column)
}

/// The built-in lessons, parsed (a built-in that does not parse is reported by name: a test
/// insists there is none).
pub fn builtin() -> Vec<Result<Lesson, (&'static str, LessonError)>> {
    BUILTIN.iter().map(|(name, text)| parse(text).map_err(|e| (*name, e))).collect()
}

/// The built-in lesson with this id.
pub fn find(id: &str) -> Option<Lesson> {
    builtin().into_iter().filter_map(Result::ok).find(|l| l.id == id)
}

/// A rule and what [`Rule::explain`] says about it (the text is the rule's own, not a copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RuleText {
    /// The rule's stable name.
    pub rule: Rule,
    /// The Linux function that decides it.
    pub function: &'static str,
    /// The condition it tests.
    pub condition: &'static str,
    /// One paragraph for a learner.
    pub text: &'static str,
}

impl RuleText {
    /// The rule, explained.
    pub fn of(rule: Rule) -> RuleText {
        let e = rule.explain();
        RuleText { rule, function: e.function, condition: e.condition, text: e.text }
    }
}

/// One executed syscall of a restore step's order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreStep {
    /// Its index in the plan.
    pub step: usize,
    /// The syscall as C-like text.
    pub call: String,
    /// What the simulator returned.
    pub outcome: Outcome,
}

/// A restore step, run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RestoreRun {
    /// The order.
    pub order: Order,
    /// Each executed syscall, up to and including the first that failed or would block.
    pub steps: Vec<RestoreStep>,
    /// The first step that failed or would block, explained, with a fix.
    pub failure: Option<Failure>,
    /// The failing syscall as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_call: Option<String>,
    /// How the result differs from the image, for an order that completed.
    pub differences: Vec<check::Difference>,
    /// The plan's warnings (what it cannot restore exactly).
    pub warnings: Vec<crate::warn::Warning>,
    /// The warnings as text, each as [`Warning::render`](crate::warn::Warning::render) gives
    /// it (its step described).
    pub warnings_text: Vec<String>,
}

/// A question, answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct QuestionRun {
    /// What was asked.
    pub prompt: String,
    /// The simulator's answer (`None`: the model cannot say, no answer is right).
    pub simulator: Option<Answer>,
    /// The lesson's stated answer.
    pub stated: Answer,
    /// The stated answer, and the stated rule if any, are the simulator's.
    pub stated_agrees: bool,
    /// The learner's answer, if one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub given: Option<Answer>,
    /// Whether the learner's answer is the simulator's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correct: Option<bool>,
}

/// One step, run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StepRun {
    /// Index in the lesson's steps.
    pub step: usize,
    /// The syscall as C-like text (slots by name), or `restore (order ORDER)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub call: Option<String>,
    /// What it returned (a restore: its failing step's outcome; `None` when it completed, and
    /// for prose).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// The outcome in the question vocabulary (`None` for prose, or when the model cannot say).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub answer: Option<Answer>,
    /// The kernel rule that refused the call or made it wait, explained.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleText>,
    /// A restore step's run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restore: Option<RestoreRun>,
    /// The step's question, answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub question: Option<QuestionRun>,
}

/// The learner's answers, by step.
pub type Answers = BTreeMap<usize, Answer>;

/// Run a lesson on the simulator, grading `answers` (by step index; steps without a question
/// are ignored).
pub fn run(lesson: &Lesson, answers: &Answers) -> Vec<StepRun> {
    let mut k = Kernel::new();
    let name = |s: Slot| lesson.slot_name(s);
    lesson
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let mut r =
                StepRun { step: i, call: None, outcome: None, answer: None, rule: None, restore: None, question: None };
            let mut rule = None;
            match &step.action {
                Action::Prose => {}
                Action::Syscall(op) => {
                    r.call = Some(op.describe(&name));
                    let out = k.apply(op);
                    rule = k.last_rule;
                    r.answer = match (op, &out) {
                        (Op::Accept { new, .. }, o) if o.is_ok() => {
                            let client = k.sock(*new).and_then(|s| s.peer).and_then(|p| k.slot_of(p));
                            Some(client.map_or(Answer::Ok, Answer::Accepts))
                        }
                        (_, o) => Answer::of(o),
                    };
                    r.outcome = Some(out);
                }
                Action::Restore(rs) => {
                    r.call = Some(format!("restore (order {})", rs.order.word()));
                    let run = run_restore(rs);
                    rule = run.failure.as_ref().and_then(|f| f.rule);
                    r.answer = run.answer();
                    r.outcome = run.failed_outcome().cloned();
                    r.restore = Some(run);
                }
            }
            r.rule = rule.map(RuleText::of);
            if let Some(q) = &step.question {
                let given = answers.get(&i).copied();
                let stated_agrees = r.answer == Some(q.answer) && (q.rule.is_none() || q.rule == rule);
                r.question = Some(QuestionRun {
                    prompt: q.prompt.clone(),
                    simulator: r.answer,
                    stated: q.answer,
                    stated_agrees,
                    given,
                    correct: given.map(|g| r.answer == Some(g)),
                });
            }
            r
        })
        .collect()
}

/// A restore step that cannot run (its scenario was checked when the lesson was parsed, so this
/// does not happen for a parsed lesson): reported as an invalid outcome.
fn invalid(mut run: RestoreRun, why: String) -> RestoreRun {
    run.steps.push(RestoreStep {
        step: 0,
        call: "(the scenario)".into(),
        outcome: Outcome::Invalid { why: why.clone() },
    });
    run.failure = Some(Failure { position: 0, step: 0, explanation: why, fix: "fix the scenario".into(), rule: None });
    run
}

impl Restore {
    /// The plan and the order (indices into its steps) this step runs, for the scenario's
    /// image `img` (the differential test runs the same ones on the real kernel).
    pub fn plan_and_order(&self, img: &crate::Image<'_>) -> Result<(Plan, Vec<usize>), String> {
        let planned = plan::plan(img).map_err(|e| e.to_string())?;
        Ok(match self.order {
            Order::Plan => {
                let n = planned.steps.len();
                (planned, (0..n).collect())
            }
            Order::Naive => {
                let o = check::naive_order(&planned);
                (planned, o)
            }
            Order::V2 => {
                let v2 = check::v2_plan(img);
                let n = v2.steps.len();
                (v2, (0..n).collect())
            }
        })
    }
}

impl RestoreRun {
    /// The outcome of the step that failed or would block (`None`: the order ran to its end).
    pub fn failed_outcome(&self) -> Option<&Outcome> {
        self.steps.last().map(|s| &s.outcome).filter(|_| self.failure.is_some())
    }

    /// The run in the question vocabulary: `ok` when the order ran to its end, else its failing
    /// step's answer (`None` when the model cannot say).
    pub fn answer(&self) -> Option<Answer> {
        match self.failed_outcome() {
            None => Some(Answer::Ok),
            Some(o) => Answer::of(o),
        }
    }
}

/// Run a restore step: the scenario's image, the planner's plan, the order, through `check`.
/// A lesson's own steps were checked when it was parsed; a scenario changed since (the
/// inspector's "try it yourself") that does not plan is reported as an invalid outcome.
pub fn run_restore(rs: &Restore) -> RestoreRun {
    let mut run = RestoreRun {
        order: rs.order,
        steps: Vec::new(),
        failure: None,
        failed_call: None,
        differences: Vec::new(),
        warnings: Vec::new(),
        warnings_text: Vec::new(),
    };
    let (bytes, objrefs) = match rs.scenario.to_image_mapped() {
        Ok(b) => b,
        Err(e) => return invalid(run, e.to_string()),
    };
    let report = crate::load(&bytes);
    let (mut plan, order) = match rs.plan_and_order(&report.image) {
        Ok(p) => p,
        Err(e) => return invalid(run, e),
    };
    // The scenario's sockets by their names in the scenario (the planner's slot of a restored
    // socket is its objref), so the steps read `connect(c1, …)`, not `connect(#5, …)`.
    for (sock, o) in rs.scenario.sockets.iter().zip(objrefs) {
        if let Some(info) = plan.slots.get_mut(&(o as Slot)).filter(|i| i.objref == Some(o)) {
            info.label.clone_from(&sock.name);
        }
    }
    let rep = check::run_order(&report.image, &plan, &order);
    run.steps = rep
        .results
        .iter()
        .map(|s| RestoreStep { step: s.step, call: plan.describe(s.step), outcome: s.outcome.clone() })
        .collect();
    run.failed_call = rep.failure.as_ref().map(|f| plan.describe(f.step));
    run.differences = rep.differences;
    run.warnings_text = plan.warnings.iter().map(|w| w.render(&|i| plan.describe(i)).trim_end().to_string()).collect();
    run.warnings = plan.warnings;
    run.failure = rep.failure;
    run
}
