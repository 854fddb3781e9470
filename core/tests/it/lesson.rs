//! Lessons (core/src/lesson.rs): the built-in ones load, every stated answer is the simulator's,
//! every refusal a lesson shows names its rule with the rule's own explanation, answers are
//! graded, and bad lesson files get located errors.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use resocket_core::lesson::{self, Action, Answer, Answers, LessonError, RuleText, MAX_LESSON_BYTES, MAX_STEPS};
use resocket_core::sim::{Errno, Outcome, Rule};

fn all() -> Vec<lesson::Lesson> {
    lesson::builtin().into_iter().map(|r| r.unwrap_or_else(|(n, e)| panic!("lessons/{n}: {e}"))).collect()
}

#[test]
fn every_builtin_lesson_loads_with_a_unique_id_and_a_question() {
    let lessons = all();
    assert!(lessons.len() >= 8, "{} lessons", lessons.len());
    let mut ids: Vec<&str> = lessons.iter().map(|l| l.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), lessons.len(), "duplicate lesson ids");
    for l in &lessons {
        assert!(l.steps.iter().any(|s| s.question.is_some()), "{} asks nothing", l.id);
        assert!(!l.title.is_empty() && !l.goal.is_empty() && !l.prose.is_empty(), "{}", l.id);
        assert_eq!(lesson::find(&l.id).as_ref(), Some(l));
    }
    // The topics of issue 16, one lesson each.
    for id in [
        "socketpair",
        "backlog",
        "data-before-accept",
        "dgram",
        "scm-rights",
        "shutdown",
        "names",
        "restore-order",
        "inet",
    ] {
        assert!(lesson::find(id).is_some(), "no lesson {id}");
    }
}

#[test]
fn every_stated_answer_and_rule_is_what_the_simulator_says() {
    for l in all() {
        for r in lesson::run(&l, &Answers::new()) {
            if let Some(q) = &r.question {
                assert!(
                    q.stated_agrees,
                    "lesson {} step {}: the lesson says {:?} (rule {:?}), the simulator {:?} (rule {:?})",
                    l.id,
                    r.step,
                    q.stated,
                    l.steps[r.step].question.as_ref().and_then(|q| q.rule),
                    q.simulator,
                    r.rule.map(|t| t.rule)
                );
                assert!(q.simulator.is_some(), "lesson {} step {}: the model cannot say", l.id, r.step);
            }
        }
    }
}

/// No step of a lesson is invalid or left undetermined, and every refusal or wait it shows
/// comes with the rule that decided it and that rule's explanation (Rule::explain's text, not a
/// copy): a lesson never shows an errno without saying why.
#[test]
fn every_refusal_a_lesson_shows_names_its_rule_and_explanation() {
    let mut rules = std::collections::BTreeSet::new();
    for l in all() {
        for r in lesson::run(&l, &Answers::new()) {
            match &l.steps[r.step].action {
                Action::Prose => assert!(r.outcome.is_none() && r.answer.is_none()),
                Action::Syscall(_) => assert!(r.outcome.is_some(), "{} step {}", l.id, r.step),
                Action::Restore(_) => assert!(r.restore.is_some(), "{} step {}", l.id, r.step),
            }
            let Some(out) = &r.outcome else { continue };
            assert!(!matches!(out, Outcome::Invalid { .. }), "lesson {} step {}: {out:?}", l.id, r.step);
            assert!(r.answer.is_some(), "lesson {} step {}: undetermined {out:?}", l.id, r.step);
            if !out.is_ok() {
                let t = r.rule.unwrap_or_else(|| panic!("lesson {} step {}: {out:?} names no rule", l.id, r.step));
                assert_eq!(t, RuleText::of(t.rule));
                let e = t.rule.explain();
                assert!(std::ptr::eq(t.text, e.text) && !t.text.is_empty() && !t.function.is_empty());
                rules.insert(t.rule);
            } else {
                assert!(r.rule.is_none(), "lesson {} step {}: a success with a rule", l.id, r.step);
            }
        }
    }
    // The lessons show the rules the issue names, among others.
    for r in [Rule::BacklogFull, Rule::AcceptQueueEmpty, Rule::DgramPeerTaken, Rule::PathExists, Rule::NoSuchPath] {
        assert!(rules.contains(&r), "no lesson shows {r}");
    }
}

#[test]
fn answers_are_graded_against_the_simulator() {
    let l = lesson::find("backlog").unwrap();
    // Step 8: c3's blocking connect to a full backlog; step 11: the first accept returns c1's.
    let step = |i: usize, a: &str| (i, l.parse_answer(i, a).unwrap());
    let wrong: Answers = [step(8, "ok"), step(11, "c2")].into_iter().collect();
    let right: Answers = [step(8, "would-block"), step(11, "c1")].into_iter().collect();
    let graded = |answers: &Answers| -> Vec<Option<bool>> {
        lesson::run(&l, answers).iter().filter_map(|r| r.question.as_ref()).map(|q| q.correct).collect()
    };
    let (w, r) = (graded(&wrong), graded(&right));
    let idx = |i: usize| l.steps[..i].iter().filter(|s| s.question.is_some()).count();
    assert_eq!((w[idx(8)], w[idx(11)]), (Some(false), Some(false)));
    assert_eq!((r[idx(8)], r[idx(11)]), (Some(true), Some(true)));
    assert_eq!(w[idx(4)], None, "an unanswered question is not graded");
    let run = lesson::run(&l, &right);
    let q = run[11].question.as_ref().unwrap();
    assert_eq!((q.given, q.simulator), (Some(Answer::Accepts(2)), Some(Answer::Accepts(2))));
    assert_eq!(run[8].rule.map(|t| t.rule), Some(Rule::BacklogFull));
}

#[test]
fn learners_answers_are_parsed_in_the_lessons_words() {
    let l = lesson::find("backlog").unwrap();
    assert_eq!(l.parse_answer(10, "eagain"), Ok(Answer::Errno(Errno::EAGAIN)));
    assert_eq!(l.parse_answer(8, "Would_Block"), Ok(Answer::WouldBlock));
    assert_eq!(l.parse_answer(4, "OK"), Ok(Answer::Ok));
    assert_eq!(l.parse_answer(11, "c2"), Ok(Answer::Accepts(3)));
    assert_eq!(l.parse_answer(11, "3"), Ok(Answer::Accepts(3)));
    assert_eq!(Answer::Accepts(3).spell(&l), "c2");
    assert!(l.parse_answer(10, "EWHATEVER").is_err());
    assert!(l.parse_answer(0, "ok").is_err(), "step 0 asks nothing");
}

#[test]
fn a_lesson_written_back_parses_to_the_same_lesson() {
    for l in all() {
        let text = serde_json::to_string_pretty(&l).unwrap();
        assert_eq!(lesson::parse(&text).as_ref(), Ok(&l), "{}", l.id);
    }
}

const HEAD: &str = "{\n  \"id\": \"t\", \"title\": \"T\", \"goal\": \"G\", \"prose\": \"P\",\n  \"steps\": [\n";

fn bad(steps: &str) -> LessonError {
    let text = format!("{HEAD}{steps}\n  ]\n}}\n");
    lesson::parse(&text).expect_err("a bad lesson")
}

#[test]
fn a_truncated_lesson_file_gives_a_located_error_in_its_step() {
    let text = format!("{HEAD}    {{ \"syscall\": {{ \"op\": \"socket\", \"slot\": 1, \"ty\": \"stream\" }} }},\n    {{ \"syscall\": {{ \"op\": \"socket\", \"slot\"");
    let e = lesson::parse(&text).unwrap_err();
    assert_eq!((e.line, e.step), (5, Some(1)), "{e}");
    assert!(e.message.contains("EOF"), "{e}");
    let e = lesson::parse("{ \"id\": \"t\", ").unwrap_err();
    assert_eq!((e.line, e.step), (1, None), "{e}");
}

#[test]
fn an_unknown_op_is_located_at_its_step() {
    let e = bad("    { \"syscall\": { \"op\": \"socket\", \"slot\": 1, \"ty\": \"stream\" } },\n    { \"prose\": \"x\",\n      \"syscall\": { \"op\": \"sockit\", \"slot\": 1 } }");
    assert_eq!((e.line, e.step), (6, Some(1)), "{e}");
    assert!(e.message.contains("sockit"), "{e}");
    assert!(e.to_string().starts_with("line 6, column "), "{e}");
    assert!(e.to_string().contains("(step 1)"), "{e}");
}

#[test]
fn a_question_on_a_step_with_no_outcome_is_refused_at_its_step() {
    let e = bad("    { \"prose\": \"a\" },\n    { \"prose\": \"b\" },\n    { \"prose\": \"only words\", \"question\": { \"prompt\": \"?\", \"answer\": \"ok\" } }");
    // A problem with a whole step is found once the step is read: the position is the next
    // token after it (here the `]` on line 7); the step index says which.
    assert_eq!((e.line, e.step), (7, Some(2)), "{e}");
    assert!(e.message.contains("no outcome"), "{e}");
}

#[test]
fn questions_that_do_not_fit_their_step_are_refused() {
    let accepts_on_send = "    { \"syscall\": { \"op\": \"send\", \"slot\": 1, \"data\": \"x\" }, \"question\": { \"prompt\": \"?\", \"answer\": { \"accepts\": 1 } } }";
    assert!(bad(accepts_on_send).message.contains("not an accept"));
    let rule_on_ok = "    { \"syscall\": { \"op\": \"socket\", \"slot\": 1, \"ty\": \"stream\" }, \"question\": { \"prompt\": \"?\", \"answer\": \"ok\", \"rule\": \"backlog-full\" } }";
    assert!(bad(rule_on_ok).message.contains("success"));
    let unknown_rule = "    { \"syscall\": { \"op\": \"socket\", \"slot\": 1, \"ty\": \"stream\" }, \"question\": { \"prompt\": \"?\", \"answer\": \"would_block\", \"rule\": \"no-such-rule\" } }";
    let e = bad(unknown_rule);
    assert!(e.message.contains("no-such-rule") && e.step == Some(0), "{e}");
    let both = "    { \"syscall\": { \"op\": \"close\", \"slot\": 1 }, \"restore\": { \"order\": \"plan\", \"scenario\": { \"sockets\": [] } } }";
    assert!(bad(both).message.contains("not both"));
    let bad_scenario = "    { \"restore\": { \"order\": \"plan\", \"scenario\": { \"sockets\": [ { \"name\": \"a\", \"type\": \"stream\", \"pair\": \"zz\" } ] } } }";
    assert_eq!(bad(bad_scenario).step, Some(0));
    let huge_repeat = "    { \"restore\": { \"order\": \"plan\", \"scenario\": { \"sockets\": [ { \"name\": \"a\", \"type\": \"stream\", \"pair\": \"b\", \"queue\": [ { \"repeat\": 200000000 } ] }, { \"name\": \"b\", \"type\": \"stream\", \"pair\": \"a\" } ] } } }";
    assert!(bad(huge_repeat).message.contains("repeats"), "{}", bad(huge_repeat));
    let e = lesson::parse(&format!("{HEAD}    {{ \"prose\": \"x\" }}\n  ], \"extra\": 1\n}}")).unwrap_err();
    assert!(e.message.contains("extra") && e.step.is_none(), "{e}");
}

#[test]
fn oversized_lesson_files_and_step_lists_are_refused() {
    let text = format!("{HEAD}{}", " ".repeat(MAX_LESSON_BYTES));
    let e = lesson::parse(&text).unwrap_err();
    assert!(e.message.contains("bytes"), "{e}");
    let steps = vec!["{ \"prose\": \"x\" }"; MAX_STEPS + 1].join(",\n");
    let e = bad(&steps);
    assert_eq!(e.step, Some(MAX_STEPS), "{e}");
    assert!(e.message.contains("more than"), "{e}");
    let steps = vec!["{ \"prose\": \"x\" }"; MAX_STEPS].join(",\n");
    assert!(lesson::parse(&format!("{HEAD}{steps}\n  ]\n}}")).is_ok());
}

/// The example of docs/lessons.md is a lesson whose stated answers are the simulator's.
#[test]
fn the_documented_example_lesson_is_right() {
    let doc = include_str!("../../../docs/lessons.md");
    let after = doc.split("## Writing a lesson").nth(1).unwrap();
    let json = after.split("```json\n").nth(1).and_then(|s| s.split("```").next()).unwrap();
    let l = lesson::parse(json).unwrap_or_else(|e| panic!("docs/lessons.md example: {e}"));
    let runs = lesson::run(&l, &Answers::new());
    let questions: Vec<_> = runs.iter().filter_map(|r| r.question.as_ref()).collect();
    assert_eq!(questions.len(), 3);
    assert!(questions.iter().all(|q| q.stated_agrees), "{questions:?}");
}

#[test]
fn whole_lesson_errors_are_located_at_the_end_of_the_text() {
    let e = lesson::parse(
        "{ \"id\": \"Bad Id\", \"title\": \"t\", \"goal\": \"g\", \"prose\": \"p\",\n  \"steps\": [] }\n\n",
    )
    .unwrap_err();
    assert_eq!((e.line, e.column, e.step), (2, 15, None), "{e}");
    assert!(e.message.contains("lowercase"), "{e}");
    let e = bad("    { \"syscall\": { \"op\": \"close\", \"slot\": 1 } },\n    { \"syscall\": { \"op\": \"accept\", \"slot\": 1, \"new\": 2 }, \"question\": { \"prompt\": \"?\", \"answer\": { \"accepts\": 9 } } }");
    assert_eq!((e.line, e.step), (7, Some(1)), "{e}");
    assert!(e.message.contains("slot 9"), "{e}");
}

/// A restore step names the scenario's sockets by their scenario names.
#[test]
fn a_restore_step_speaks_of_the_scenarios_sockets_by_name() {
    let l = lesson::find("restore-order").unwrap();
    let runs = lesson::run(&l, &Answers::new());
    let r = runs[0].restore.as_ref().unwrap();
    assert_eq!(r.failed_call.as_deref(), Some("connect(c0, /tmp/lesson-srv.sock)"));
    assert!(r.failure.as_ref().unwrap().explanation.starts_with("connect(c0, "), "{:?}", r.failure);
    assert_eq!(r.steps[0].call, "L = socket(AF_UNIX, SOCK_STREAM)");
}

#[test]
fn every_questions_right_answer_is_among_its_choices_and_no_choice_twice() {
    for l in all() {
        let runs = lesson::run(&l, &Answers::new());
        for (i, s) in l.steps.iter().enumerate() {
            let c = l.choices(i);
            let Some(q) = &s.question else {
                assert!(c.is_empty(), "{} step {i}: choices without a question", l.id);
                continue;
            };
            let right = runs[i].question.as_ref().and_then(|q| q.simulator).unwrap();
            assert!(c.contains(&right), "{} step {i}: {right:?} not in {c:?}", l.id);
            assert!(c.contains(&q.answer), "{} step {i}", l.id);
            assert!(c.contains(&Answer::WouldBlock), "{} step {i}", l.id);
            let mut spelled: Vec<String> = c.iter().map(|a| a.spell(&l)).collect();
            let n = spelled.len();
            spelled.sort();
            spelled.dedup();
            assert_eq!(spelled.len(), n, "{} step {i}: {c:?}", l.id);
        }
    }
}

#[test]
fn an_accept_question_offers_the_clients_that_connected_before_it_in_order() {
    let l = lesson::find("backlog").unwrap();
    let accept =
        l.steps.iter().position(|s| matches!(s.action, Action::Syscall(resocket_core::sim::Op::Accept { .. })));
    let c = l.choices(accept.unwrap());
    assert_eq!(&c[..5], &[Answer::Accepts(2), Answer::Accepts(3), Answer::Accepts(4), Answer::Ok, Answer::WouldBlock]);
    // The choices the socketpair lesson offers at a plain call start with ok and would-block.
    let l = lesson::find("socketpair").unwrap();
    let q = l.steps.iter().position(|s| s.question.is_some()).unwrap();
    assert_eq!(&l.choices(q)[..3], &[Answer::Ok, Answer::WouldBlock, Answer::Errno(Errno::EAGAIN)]);
}

#[test]
fn kernel_at_is_the_lessons_kernel_after_its_syscall_steps() {
    let l = lesson::find("backlog").unwrap();
    // After socket, bind, listen: one listening socket, slot 1.
    let k = lesson::kernel_at(&l, 3);
    let live: Vec<_> = k.socks.iter().filter(|s| !s.dead).collect();
    assert_eq!(live.len(), 1);
    assert_eq!(k.sock(1).map(|s| s.state), Some(resocket_core::sock::SkState::Listen));
    // After the first connect: c1, its embryo on L's queue.
    let k = lesson::kernel_at(&l, 5);
    assert_eq!(k.sock(1).map(|s| s.queue.len()), Some(1));
    assert!(lesson::kernel_at(&l, 0).socks.is_empty());
}

#[test]
fn a_changed_scenario_runs_in_the_order_asked() {
    let l = lesson::find("restore-order").unwrap();
    let Action::Restore(rs) = &l.steps[4].action else { panic!() };
    let planned = lesson::run_restore(rs);
    assert_eq!(planned.answer(), Some(Answer::Ok));
    // The planner raises backlog 0 for two pending connections: listen(L, 1), then listen(L, 0).
    assert!(planned.steps.iter().any(|s| s.call == "listen(L, 1)"), "{:?}", planned.steps);
    let mut wide = rs.clone();
    wide.scenario.sockets[0].listen = Some(5);
    let w = lesson::run_restore(&wide);
    assert!(w.steps.iter().all(|s| s.call != "listen(L, 1)") && w.steps.iter().any(|s| s.call == "listen(L, 5)"));
    assert!(w.steps.len() < planned.steps.len());
    wide.order = lesson::Order::Naive;
    let n = lesson::run_restore(&wide);
    assert_eq!(n.answer(), Some(Answer::Errno(Errno::ECONNREFUSED)));
    assert_eq!(n.failed_outcome(), Some(&Outcome::Err { errno: Errno::ECONNREFUSED }));
}
