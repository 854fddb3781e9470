//! The lessons page's reducer (`resocket_web::lesson`, `state::lesson`) in headless Chromium:
//! lessons arrive in teaching order, stepping and answering (predict, then reveal), progress by
//! lesson, deep links waiting for their lesson, keys, bad files' located errors, and "try it
//! yourself" (the editor holds the step's scenario; edits and orders re-run it; reset).
#![cfg(target_arch = "wasm32")]

use resocket_core::edit::Edit;
use resocket_core::lesson::{self as core_lesson, Answer, Order};
use resocket_core::sim::Errno;
use resocket_web::editor::EditorAction;
use resocket_web::lesson::{self, LessonAction as L, Lessons};
use resocket_web::message::{LessonFile, LessonMsg};
use resocket_web::state::{settle, Action, State};
use std::rc::Rc;
use wasm_bindgen_test::*;
use yew::Reducible;

wasm_bindgen_test_configure!(run_in_browser);

fn act(s: Rc<State>, a: L) -> Rc<State> {
    s.reduce(Action::Lesson(a))
}

/// A lesson file as the worker reads it: core's parse, through the form the worker posts.
fn read(text: &str) -> Result<core_lesson::Lesson, String> {
    LessonFile::read(String::new(), text).lesson.and_then(LessonMsg::lesson)
}

/// The page shown with every built-in lesson arrived, last first (as fetches may come back).
fn loaded() -> Rc<State> {
    let mut s = act(Rc::new(State::default()), L::Show(true));
    for (name, text) in core_lesson::BUILTIN.iter().rev() {
        s = act(s, L::Fetched { name: name.to_string(), lesson: read(text) });
    }
    s
}

fn open(id: &str) -> Rc<State> {
    let s = loaded();
    let i = s.lessons.list.iter().position(|l| l.id == id).unwrap();
    act(s, L::Select(Some(i)))
}

#[wasm_bindgen_test]
fn built_in_lessons_are_listed_in_teaching_order_whatever_order_they_arrive_in() {
    let s = loaded();
    let ids: Vec<&str> = s.lessons.list.iter().map(|l| l.id.as_str()).collect();
    let want: Vec<String> = lesson::BUILTIN_NAMES.iter().map(|n| n.trim_end_matches(".json").to_string()).collect();
    assert_eq!(ids, want);
    // The same file twice is kept once.
    let (name, text) = core_lesson::BUILTIN[0];
    let again = act(s.clone(), L::Fetched { name: name.into(), lesson: read(text) });
    assert_eq!(again.lessons.list.len(), s.lessons.list.len());
}

#[wasm_bindgen_test]
fn a_question_hides_its_outcome_until_answered_then_grades_and_explains() {
    let s = act(open("backlog"), L::Go(8));
    assert!(!s.lessons.revealed(8));
    // The kernel drawn before the step ran: L with two pending connections, c3 unconnected.
    let d = s.lessons.drawing.clone().unwrap();
    let l = d.graph.node(1).unwrap();
    assert_eq!(l.backlog, Some((2, 2)));
    assert!(l.name.starts_with("L · "), "{}", l.name);
    let s = act(s, L::Answer { step: 8, answer: Answer::Ok });
    let q = s.lessons.runs[8].question.clone().unwrap();
    assert_eq!((q.given, q.correct), (Some(Answer::Ok), Some(false)));
    assert!(s.lessons.revealed(8));
    let s = act(s, L::Answer { step: 8, answer: Answer::WouldBlock });
    let r = &s.lessons.runs[8];
    assert_eq!(r.question.as_ref().unwrap().correct, Some(true));
    assert!(r.rule.unwrap().function.starts_with("unix_stream_connect"));
    assert_eq!(s.lessons.progress(s.lessons.lesson().unwrap()), (1, 9));
    // An answer that is not one of the step's choices, or on a step with no question, is ignored.
    let same = act(s.clone(), L::Answer { step: 8, answer: Answer::Accepts(2) });
    assert!(Rc::ptr_eq(&same, &s));
    let same = act(s.clone(), L::Answer { step: 0, answer: Answer::Ok });
    assert!(Rc::ptr_eq(&same, &s));
}

#[wasm_bindgen_test]
fn stepping_stays_inside_the_lesson_and_keys_stand_for_actions() {
    let s = open("backlog");
    let n = s.lessons.lesson().unwrap().steps.len();
    let back = act(s.clone(), L::StepBy(-1));
    assert!(Rc::ptr_eq(&back, &s));
    let end = act(s, L::StepBy(1000));
    assert_eq!(end.lessons.step, n - 1);
    let at8 = act(end, L::Go(8));
    assert_eq!(lesson::key_action(&at8.lessons, "ArrowRight"), Some(L::StepBy(1)));
    assert_eq!(lesson::key_action(&at8.lessons, "2"), Some(L::Answer { step: 8, answer: Answer::WouldBlock }));
    assert_eq!(lesson::key_action(&at8.lessons, "Escape"), Some(L::Select(None)));
    assert_eq!(lesson::key_action(&at8.lessons, "x"), None);
}

#[wasm_bindgen_test]
fn a_deep_link_waits_for_its_lesson_and_the_fragment_follows_the_step() {
    let s = act(Rc::new(State::default()), L::Goto { id: "names".into(), step: 3 });
    assert!(s.lessons.shown && s.lessons.lesson().is_none());
    let mut s = s;
    for (name, text) in core_lesson::BUILTIN {
        s = act(s, L::Fetched { name: name.into(), lesson: read(text) });
    }
    assert_eq!(s.lessons.lesson().map(|l| l.id.as_str()), Some("names"));
    assert_eq!(s.lessons.step, 3);
    assert_eq!(lesson::fragment_for("#s=abc", &s.lessons), "#lesson=names&at=3&s=abc");
    assert_eq!(lesson::route_of("#lesson=names&at=3&s=abc"), Some(("names".into(), 3)));
    let list = act(s, L::Select(None));
    assert_eq!(lesson::fragment_for("#lesson=names&at=3", &list.lessons), "");
}

#[wasm_bindgen_test]
fn progress_is_kept_by_lesson_and_read_back() {
    let s = act(open("backlog"), L::Answer { step: 4, answer: Answer::Ok });
    let kept = s.lessons.answers.clone();
    assert_eq!(kept.get("backlog").and_then(|a| a.get(&4)), Some(&Answer::Ok));
    lesson::save_answers(&kept);
    assert_eq!(lesson::load_answers(), kept);
    // Kept as codec bytes in base64url, not JSON: the page links no JSON parser. The JSON an
    // earlier version kept, and a damaged text, read as no answers.
    let text = lesson::answers_text(&kept);
    assert!(!text.contains('{') && !text.contains("backlog"), "{text}");
    assert_eq!(lesson::answers_of(&text), Some(kept.clone()));
    assert_eq!(lesson::answers_of(r#"{"backlog":{"4":"ok"}}"#), None);
    assert_eq!(lesson::answers_of(&text[..text.len() - 2]), None);
    let fresh = act(open("backlog"), L::Restored(kept));
    assert!(fresh.lessons.revealed(4));
    assert_eq!(fresh.lessons.runs[4].question.as_ref().unwrap().correct, Some(true));
}

#[wasm_bindgen_test]
fn a_bad_lesson_file_shows_cores_located_error_and_a_good_one_opens() {
    let s = loaded();
    let bad = "{\n  \"id\": \"mine\", \"title\": \"t\", \"goal\": \"g\", \"prose\": \"p\",\n  \"steps\": [ { \"syscall\": { \"op\": \"sockit\" } } ]\n}";
    let s = act(s, L::OpenFile { name: "mine.json".into(), lesson: read(bad) });
    let e = s.lessons.error.clone().unwrap();
    let core_err = core_lesson::parse(bad).unwrap_err();
    assert_eq!(e, format!("mine.json: {core_err}"));
    assert!(e.contains("line 3") && e.contains("(step 0)"), "{e}");
    let (_, text) = core_lesson::BUILTIN[0];
    let good = text.replace("\"id\": \"socketpair\"", "\"id\": \"mine\"");
    let s = act(s, L::OpenFile { name: "mine.json".into(), lesson: read(&good) });
    assert_eq!(s.lessons.error, None);
    assert_eq!(s.lessons.lesson().map(|l| l.id.as_str()), Some("mine"));
    assert_eq!(s.lessons.list.len(), core_lesson::BUILTIN.len() + 1);
}

#[wasm_bindgen_test]
async fn try_it_opens_the_steps_scenario_in_the_editor_and_follows_edits_orders_and_reset() {
    resocket_web::client::serve_in_process(|r, p| Box::pin(resocket_web::worker::serve(r, p)));
    let s = act(open("restore-order"), L::Go(4));
    let s = act(s, L::TryIt);
    // The kernel worker plans the scenario's image in the lesson's order.
    assert_eq!(
        s.ask.as_ref().and_then(|a| match a.job {
            resocket_web::message::Job::Plan { kind, .. } => Some(kind),
            _ => None,
        }),
        Some(resocket_web::model::OrderKind::Planner)
    );
    let s = settle(s).await;
    assert!(!s.lessons.shown);
    let ed = s.editor.clone().expect("the editor holds the scenario");
    assert_eq!(ed.scenario.sockets[0].listen, Some(0));
    let t = s.lessons.trying.clone().unwrap();
    assert_eq!((t.step, t.order), (4, Order::Plan));
    let steps0 = t.run.as_ref().unwrap().steps.len();
    assert!(s.doc.is_some() && s.report.is_some(), "the scenario's image opened and planned");
    // The backlog raised in the editor: the same order needs no raised backlog.
    let s = settle(s.reduce(Action::Editor(EditorAction::Apply(Edit::Listen { name: "L".into(), backlog: 5 })))).await;
    let run = s.lessons.trying.as_ref().unwrap().run.clone().unwrap();
    assert_eq!(run.answer(), Some(Answer::Ok));
    assert!(run.steps.len() < steps0);
    // Another order: naive fails, named by its rule; the timeline runs the same order.
    let s = act(s, L::TryOrder(Order::Naive));
    let asked = s.ask.as_ref().map(|a| a.job.clone());
    assert!(
        matches!(asked, Some(resocket_web::message::Job::Run { kind: resocket_web::model::OrderKind::Naive, .. })),
        "the plans are here: only the order is run, {asked:?}"
    );
    let s = settle(s).await;
    let run = s.lessons.trying.as_ref().unwrap().run.clone().unwrap();
    assert_eq!(run.answer(), Some(Answer::Errno(Errno::ECONNREFUSED)));
    assert_eq!(s.order_kind, resocket_web::model::OrderKind::Naive);
    // Reset lesson: the step's own scenario and order again.
    let s = act(s, L::Reset);
    assert_eq!(
        s.ask.as_ref().and_then(|a| match a.job {
            resocket_web::message::Job::Plan { kind, .. } => Some(kind),
            _ => None,
        }),
        Some(resocket_web::model::OrderKind::Planner)
    );
    let s = settle(s).await;
    assert_eq!(s.order_kind, resocket_web::model::OrderKind::Planner);
    assert_eq!(s.editor.as_ref().unwrap().scenario.sockets[0].listen, Some(0));
    let t = s.lessons.trying.clone().unwrap();
    assert_eq!((t.order, t.run.as_ref().unwrap().steps.len()), (Order::Plan, steps0));
    // A syscall step opens the nearest restore step's scenario (backlog and socketpair end
    // with one); a lesson with none opens nothing.
    let b = act(open("backlog"), L::Go(3));
    let last = b.lessons.lesson().unwrap().steps.len() - 1;
    assert_eq!(b.lessons.restore_for(3).map(|(i, _)| i), Some(last));
    let tried = act(b.clone(), L::TryIt);
    assert_eq!(tried.lessons.trying.as_ref().map(|t| t.step), Some(last));
    assert_eq!(tried.editor.as_ref().unwrap().scenario.sockets[0].listen, Some(0));
    assert_eq!(tried.lessons.trying.as_ref().unwrap().run.as_ref().unwrap().answer(), Some(Answer::Ok));
    let sp: &Lessons = &open("socketpair").lessons;
    assert!(sp.restore_for(0).is_some());
    let l: &Lessons = &open("names").lessons;
    assert!(l.restore_for(0).is_some());
    let only_syscalls = "{ \"id\": \"mine\", \"title\": \"t\", \"goal\": \"g\", \"prose\": \"p\", \"steps\": [ { \"syscall\": { \"op\": \"socket\", \"slot\": 1, \"ty\": \"stream\" } } ] }";
    let m = act(loaded(), L::OpenFile { name: "mine.json".into(), lesson: read(only_syscalls) });
    assert!(m.lessons.restore_for(0).is_none());
    let same = act(m.clone(), L::TryIt);
    assert!(Rc::ptr_eq(&same, &m));
}

#[wasm_bindgen_test]
async fn lesson_files_are_read_in_the_worker_and_arrive_as_core_parses_them() {
    use std::cell::RefCell;
    resocket_web::client::serve_in_process(|r, p| Box::pin(resocket_web::worker::serve(r, p)));
    let bad = "{\n  \"id\": \"mine\", \"title\": \"t\", \"goal\": \"g\", \"prose\": \"p\",\n  \"steps\": [ { \"syscall\": { \"op\": \"sockit\" } } ]\n}";
    let mut files: Vec<(String, String)> =
        core_lesson::BUILTIN.iter().map(|(n, t)| (n.to_string(), t.to_string())).collect();
    files.push(("mine.json".into(), bad.into()));
    type Read = Vec<(String, Result<core_lesson::Lesson, String>)>;
    let got: Rc<RefCell<Option<Read>>> = Rc::default();
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let got = got.clone();
        lesson::read_in_worker(files.clone(), move |read| {
            *got.borrow_mut() = Some(read);
            let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
        });
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
    let got = got.borrow_mut().take().unwrap();
    assert_eq!(got.len(), files.len());
    for ((name, text), (got_name, lesson)) in files.iter().zip(&got) {
        assert_eq!(name, got_name);
        // The same lesson, restore steps' scenarios included, or the same located error.
        assert_eq!(lesson, &core_lesson::parse(text).map_err(|e| e.to_string()), "{name}");
    }
    assert!(got.last().unwrap().1.as_ref().unwrap_err().contains("(step 0)"));
    assert!(
        got.iter()
            .filter(|(_, l)| l
                .as_ref()
                .is_ok_and(|l| l.steps.iter().any(|s| matches!(s.action, core_lesson::Action::Restore(_)))))
            .count()
            >= 2
    );
}
