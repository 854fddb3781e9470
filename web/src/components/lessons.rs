//! The lessons page: the list (title, goal, progress), a lesson stepped through (prose, the
//! syscall, predict-then-reveal, the kernel's state drawn by [`SocketGraph`]), and the bar above
//! the editor while a lesson's scenario is tried. Text only from core (`resocket_core::lesson`).

use super::SocketGraph;
use crate::lesson::{LessonAction as A, Lessons, Trying, KEYS};
use resocket_core::lesson::{Action as Do, Lesson, Order, RestoreRun, RuleText, StepRun};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct LessonsProps {
    pub lessons: Rc<Lessons>,
    pub on_action: Callback<A>,
}

fn rule_view(r: &RuleText) -> Html {
    html! {
        <div class="rule" id="lesson-rule">
            <p><b>{ "Decided by " }</b><code class="function">{ r.function }</code>{ ": " }
                <code class="condition">{ r.condition }</code>{ format!(" (rule {})", r.rule) }</p>
            <p class="explanation">{ r.text }</p>
        </div>
    }
}

fn restore_view(r: &RestoreRun) -> Html {
    html! {
        <div class="restore-run">
            <ol class="restore-steps" start="0">
                { for r.steps.iter().map(|s| {
                    let bad = r.failure.as_ref().is_some_and(|f| f.step == s.step);
                    html! { <li class={classes!(bad.then_some("failed"))}><code>{ &s.call }</code></li> }
                }) }
            </ol>
            if let Some(f) = &r.failure {
                <div class="failure"><p>{ &f.explanation }</p><p class="fix">{ &f.fix }</p></div>
            }
            if !r.differences.is_empty() {
                <ul id="differences">
                    { for r.differences.iter().map(|d| html! {
                        <li>{ format!("#{} {}: recorded {}, restored {}", d.objref, d.what, d.expected, d.found) }</li>
                    }) }
                </ul>
            }
            if !r.warnings_text.is_empty() {
                <ul class="plan-warnings">{ for r.warnings_text.iter().map(|w| html! { <li>{ w }</li> }) }</ul>
            }
        </div>
    }
}

/// The outcome of a run: its answer and, for a restore, how many steps ran.
fn outcome_line(l: &Lesson, r: &StepRun) -> String {
    let answer = r.answer.map_or_else(|| "undetermined (the model cannot say)".to_string(), |a| a.spell(l));
    match &r.restore {
        Some(rs) => format!("{answer} — {} steps run in the {} order", rs.steps.len(), rs.order.word()),
        None => answer,
    }
}

fn step_view(p: &LessonsProps, l: &Lesson) -> Html {
    let s = &p.lessons;
    let i = s.step;
    let (Some(step), Some(run)) = (l.steps.get(i), s.runs.get(i)) else { return html! {} };
    let revealed = s.revealed(i);
    let question = step.question.as_ref().zip(run.question.as_ref()).map(|(_, q)| {
        let choices = l.choices(i);
        html! {
            <div class="question" id="lesson-question">
                <p class="prompt">{ &q.prompt }</p>
                <div class="choices" role="group" aria-label="your prediction">
                    { for choices.iter().enumerate().map(|(k, a)| {
                        let (on, a) = (p.on_action.clone(), *a);
                        let picked = q.given == Some(a);
                        html! {
                            <button class={classes!("choice", picked.then_some("picked"))} data-answer={a.spell(l)}
                                onclick={Callback::from(move |_: MouseEvent| on.emit(A::Answer { step: i, answer: a }))}>
                                <kbd>{ (k + 1).to_string() }</kbd>{ " " }{ a.spell(l) }</button>
                        }
                    }) }
                </div>
                if let (Some(given), Some(correct)) = (q.given, q.correct) {
                    <p id="lesson-verdict" class={classes!("verdict", if correct { "ok" } else { "bad" })}>
                        { if correct {
                            format!("✓ Right: {}.", given.spell(l))
                        } else {
                            format!("✗ You said {}; the kernel answers {}.", given.spell(l),
                                q.simulator.map_or_else(|| "nothing determined".into(), |a| a.spell(l)))
                        } }
                    </p>
                }
            </div>
        }
    });
    html! {
        <section class="panel lesson-step" id="lesson-step" data-step={i.to_string()}>
            <h2>{ format!("Step {} of {}", i + 1, l.steps.len()) }</h2>
            if !step.prose.is_empty() { <p class="prose">{ &step.prose }</p> }
            if let Some(c) = &run.call { <p class="call"><code>{ c }</code></p> }
            { for question }
            if revealed && !matches!(step.action, Do::Prose) {
                <div class="reveal" id="lesson-reveal">
                    <p class="outcome"><b>{ "The kernel: " }</b>{ outcome_line(l, run) }</p>
                    if let Some(r) = &run.rule { { rule_view(r) } }
                    if let Some(r) = &run.restore { { restore_view(r) } }
                </div>
            } else if !revealed {
                <p class="muted">{ "Predict first: the step runs once you have answered." }</p>
            }
        </section>
    }
}

#[function_component(LessonsPage)]
pub fn lessons_page(p: &LessonsProps) -> Html {
    let s = &p.lessons;
    let on = p.on_action.clone();
    let large = {
        let on = on.clone();
        Callback::from(move |_: MouseEvent| on.emit(A::ToggleLarge))
    };
    let bar = html! {
        <div class="lesson-tools">
            <button id="lesson-large" onclick={large} aria-pressed={s.large.to_string()}>{ "Large text (+)" }</button>
            <details class="lesson-keys" id="lesson-keys"><summary>{ "Keys" }</summary>
                <dl>{ for KEYS.iter().map(|(k, w)| html! { <><dt><kbd>{ *k }</kbd></dt><dd>{ *w }</dd></> }) }</dl>
            </details>
        </div>
    };
    let error = s.error.as_ref().map(|e| html! { <p class="edit-error" id="lesson-error" role="alert">{ e }</p> });
    let Some(l) = s.lesson().cloned() else {
        return html! {
            <section id="lessons" class={classes!("panel", "lessons", s.large.then_some("large"))}>
                <h2>{ "Lessons" }</h2>
                { bar }
                { for error }
                <p class="muted">{ "Predict what the kernel answers, then see why. Drop a lesson file (.json) here, or open one with ?lesson=URL." }</p>
                if s.list.is_empty() { <p class="muted">{ "loading the lessons…" }</p> }
                <ul class="lesson-list">
                    { for s.list.iter().enumerate().map(|(i, l)| {
                        let (right, total) = s.progress(l);
                        let on = on.clone();
                        html! {
                            <li class="lesson-card" data-id={l.id.clone()}>
                                <button class="lesson-open" id={format!("lesson-open-{}", l.id)}
                                    onclick={Callback::from(move |_: MouseEvent| on.emit(A::Select(Some(i))))}>{ &l.title }</button>
                                <p class="goal">{ &l.goal }</p>
                                <p class="progress">{ format!("{right} of {total} questions answered right") }</p>
                            </li>
                        }
                    }) }
                </ul>
            </section>
        };
    };
    let (right, total) = s.progress(&l);
    let go = |a: A| {
        let on = on.clone();
        Callback::from(move |_: MouseEvent| on.emit(a.clone()))
    };
    let can_try = s.restore_for(s.step).is_some();
    let drawing = s.drawing.clone();
    html! {
        <section id="lessons" class={classes!("lessons", s.large.then_some("large"))} data-lesson={l.id.clone()}>
            <div class="panel lesson-head">
                <h2><button id="lesson-back" onclick={go(A::Select(None))}>{ "← Lessons" }</button>{ &l.title }</h2>
                <p class="goal">{ &l.goal }</p>
                { bar }
                { for error }
                if s.step == 0 { <p class="prose intro">{ &l.prose }</p> }
                <div class="controls">
                    <button id="lesson-prev" onclick={go(A::StepBy(-1))} disabled={s.step == 0}>{ "← previous" }</button>
                    <span class="pos">{ format!("{} / {}", s.step + 1, l.steps.len()) }</span>
                    <button id="lesson-next" onclick={go(A::StepBy(1))} disabled={s.step + 1 >= l.steps.len()}>{ "next →" }</button>
                    <button id="lesson-try" onclick={go(A::TryIt)} disabled={!can_try}
                        title={if can_try { "open this step's scenario in the editor (t)" } else { "this lesson has no scenario to open" }}>
                        { "Try it yourself (t)" }</button>
                    <span class="progress">{ format!("{right} of {total} right") }</span>
                </div>
            </div>
            <div class="lesson-body">
                <ol class="lesson-steps panel">
                    { for l.steps.iter().zip(s.runs.iter()).enumerate().map(|(i, (st, r))| {
                        let text = r.call.clone().unwrap_or_else(|| "(prose)".into());
                        let q = st.question.is_some().then(|| html! { <span class="q" title="a question">{ "?" }</span> });
                        html! {
                            <li class={classes!("lesson-stepitem", (i == s.step).then_some("current"))}
                                onclick={go(A::Go(i))}><code>{ text }</code>{ for q }</li>
                        }
                    }) }
                </ol>
                <div class="lesson-main">
                    { step_view(p, &l) }
                    if let Some(d) = drawing {
                        <section class="panel" id="lesson-state">
                            <h2>{ "The simulated kernel" }</h2>
                            <SocketGraph id="lesson-graph" drawing={d} on_select={Callback::noop()} />
                        </section>
                    }
                </div>
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq, Debug)]
pub struct TryProps {
    pub trying: Rc<Trying>,
    /// The lesson's title.
    pub title: AttrValue,
    pub on_action: Callback<A>,
}

/// Above the editor while a lesson's scenario is tried: the step's outcome for the scenario as
/// changed, in an order, "reset lesson" and "back to the lesson".
#[function_component(TryBar)]
pub fn try_bar(p: &TryProps) -> Html {
    let t = &p.trying;
    let on = p.on_action.clone();
    let go = |a: A| {
        let on = on.clone();
        Callback::from(move |_: MouseEvent| on.emit(a.clone()))
    };
    let outcome = t.run.as_ref().map(|r| {
        let what = match (r.answer(), &r.failure) {
            (Some(resocket_core::lesson::Answer::Ok), _) => "runs to its end".to_string(),
            (Some(a), _) => format!("fails: {}", match a {
                resocket_core::lesson::Answer::Errno(e) => e.to_string(),
                _ => "would block".into(),
            }),
            (None, _) => "undetermined".into(),
        };
        let rule = r.failure.as_ref().and_then(|f| f.rule).map(|x| format!(" (rule {x})")).unwrap_or_default();
        html! {
            <>
                <p id="try-outcome" class="outcome">{ format!("The {} order {what}{rule}, after {} steps.", r.order.word(), r.steps.len()) }</p>
                <details><summary>{ "the steps" }</summary>{ restore_view(r) }</details>
            </>
        }
    });
    html! {
        <section id="lesson-try-bar" class="panel try-bar">
            <h2>{ format!("Try it yourself — {}, step {}", p.title, t.step + 1) }</h2>
            <div class="controls">
                <label for="try-order">{ "order" }</label>
                <select id="try-order" onchange={{
                    let on = on.clone();
                    Callback::from(move |e: Event| {
                        let v = e.target_unchecked_into::<web_sys::HtmlSelectElement>().value();
                        let o = [Order::Plan, Order::Naive, Order::V2].into_iter().find(|o| o.word() == v);
                        if let Some(o) = o { on.emit(A::TryOrder(o)); }
                    })
                }}>
                    { for [Order::Plan, Order::Naive, Order::V2].into_iter().map(|o| html! {
                        <option value={o.word()} selected={o == t.order}>{ o.word() }</option>
                    }) }
                </select>
                <button id="lesson-reset" onclick={go(A::Reset)}>{ "Reset lesson" }</button>
                <button id="lesson-return" onclick={go(A::Show(true))}>{ "Back to the lesson" }</button>
            </div>
            { for outcome }
        </section>
    }
}
