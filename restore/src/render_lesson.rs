//! `restore lesson`: the list of lessons, or one lesson walked step by step — each step's
//! prose, the syscall, the question, the simulator's answer (and the learner's, graded), the
//! kernel rule and its explanation. Everything shown is computed by `resocket_core::lesson`.

use crate::render::rule_text;
use resocket_core::lesson::{self, Action, Answers, Lesson, StepRun};
use serde_json::json;
use std::fmt::Write as _;

/// `restore lesson` with no lesson: the built-in lessons, one a line.
pub fn list_text() -> String {
    let mut out = String::from("lessons (restore lesson ID walks one; docs/lessons.md):\n");
    for r in lesson::builtin() {
        match r {
            Ok(l) => {
                let q = l.steps.iter().filter(|s| s.question.is_some()).count();
                let _ = writeln!(out, "  {:<20} {}  ({} steps, {q} questions)", l.id, l.title, l.steps.len());
            }
            Err((name, e)) => {
                let _ = writeln!(out, "  lessons/{name}: {e}");
            }
        }
    }
    out
}

/// The list as JSON: id, title, goal, steps, questions.
pub fn list_json() -> serde_json::Value {
    let items: Vec<_> = lesson::builtin()
        .into_iter()
        .filter_map(Result::ok)
        .map(|l| {
            json!({
                "id": l.id, "title": l.title, "goal": l.goal, "steps": l.steps.len(),
                "questions": l.steps.iter().filter(|s| s.question.is_some()).count(),
            })
        })
        .collect();
    json!({ "lessons": items })
}

fn indent(out: &mut String, text: &str, by: &str) {
    for line in text.lines() {
        let _ = writeln!(out, "{by}{line}");
    }
}

fn step_text(out: &mut String, l: &Lesson, r: &StepRun) {
    let step = &l.steps[r.step];
    let _ = writeln!(out, "\n[{}]", r.step);
    if !step.prose.is_empty() {
        indent(out, &step.prose, "  ");
    }
    if let Some(q) = &r.question {
        let _ = writeln!(out, "  ? {}", q.prompt);
    }
    if let Some(call) = &r.call {
        if let Action::Syscall(_) = step.action {
            let _ = writeln!(out, "  $ {call}");
        }
    }
    if let Some(run) = &r.restore {
        let _ =
            writeln!(out, "  $ restore the scenario in the {} order ({} steps run)", run.order.word(), run.steps.len());
        for s in &run.steps {
            let _ = writeln!(out, "      {:<56} = {}", s.call, s.outcome.short());
        }
        match &run.failure {
            Some(f) => {
                let _ = writeln!(out, "  = fails at its step {}: {}\n    fix: {}", f.position, f.explanation, f.fix);
            }
            None if run.differences.is_empty() => {
                let _ = writeln!(out, "  = runs to the end; the simulated state equals the image");
            }
            None => {
                let _ = writeln!(out, "  = runs to the end, but the result differs from the image:");
                for d in &run.differences {
                    let _ = writeln!(out, "      #{} {}: expected {}, found {}", d.objref, d.what, d.expected, d.found);
                }
            }
        }
        for w in &run.warnings_text {
            indent(out, w, "    ");
        }
    } else if let Some(o) = &r.outcome {
        let _ = writeln!(out, "  = {}", o.short());
    }
    if let Some(q) = &r.question {
        let sim = q.simulator.map_or_else(|| "(the model cannot say)".into(), |a| a.spell(l));
        let _ = writeln!(out, "  answer: {sim}");
        if let (Some(g), Some(c)) = (q.given, q.correct) {
            let _ = writeln!(out, "  your answer: {} — {}", g.spell(l), if c { "right" } else { "wrong" });
        }
        if !q.stated_agrees {
            let _ = writeln!(out, "  (the lesson says {}, which is not what the simulator says)", q.stated.spell(l));
        }
    }
    if let Some(rule) = r.rule {
        out.push_str(&rule_text(rule.rule));
    }
}

/// One lesson walked: every step, its question and answer, its rule explained.
pub fn lesson_text(l: &Lesson, answers: &Answers) -> String {
    let runs = lesson::run(l, answers);
    let mut out = format!("{} — {}\n\ngoal: {}\n\n", l.id, l.title, l.goal);
    indent(&mut out, &l.prose, "");
    for r in &runs {
        step_text(&mut out, l, r);
    }
    let graded: Vec<bool> = runs.iter().filter_map(|r| r.question.as_ref().and_then(|q| q.correct)).collect();
    if !graded.is_empty() {
        let right = graded.iter().filter(|&&c| c).count();
        let _ = writeln!(out, "\n{right} of {} answers right", graded.len());
    }
    out
}

/// One lesson as JSON: the lesson and every step's run.
pub fn lesson_json(l: &Lesson, answers: &Answers) -> serde_json::Value {
    json!({ "lesson": l, "steps": lesson::run(l, answers) })
}

/// Whether every given answer is right.
pub fn all_right(l: &Lesson, answers: &Answers) -> bool {
    lesson::run(l, answers).iter().filter_map(|r| r.question.as_ref()).all(|q| q.correct != Some(false))
}
