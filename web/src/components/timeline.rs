//! The restore timeline: the plan's steps in the order run, the simulated kernel at the cursor.

use super::SocketGraph;
use crate::model::{step_sockets, thousands, Drawing, OrderKind, PlanHost};
use resocket_core::check::RunReport;
use resocket_core::criu::SavedHost;
use resocket_core::plan::Plan;
use resocket_core::warn::Warning;
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct TimelineProps {
    pub sockets: usize,
    /// None: not planned yet (big image); Some(Err): the planner refused.
    pub plan: Option<Result<Rc<Plan>, String>>,
    pub kind: OrderKind,
    pub order: Vec<usize>,
    pub report: Option<Rc<RunReport>>,
    pub cursor: usize,
    pub playing: bool,
    pub kernel: Option<Rc<Drawing>>,
    /// The steps `kernel` is after (`cursor` once the kernel worker answered the cursor's move).
    #[prop_or_default]
    pub kernel_at: Option<usize>,
    pub selected: Option<i32>,
    pub on_plan: Callback<()>,
    pub on_order: Callback<OrderKind>,
    pub on_move: Callback<(usize, isize)>,
    pub on_seek: Callback<usize>,
    pub on_step: Callback<isize>,
    pub on_play: Callback<()>,
    pub on_tick: Callback<()>,
    pub on_socket: Callback<i32>,
    /// The clicked plan warning (an index into the plan's `warnings`).
    #[prop_or_default]
    pub focus_warning: Option<usize>,
    /// Click on a plan warning (its index): show its step and select its socket.
    #[prop_or_default]
    pub on_warning: Callback<usize>,
    /// The image is being opened in slices, or the kernel worker has a request to answer: the
    /// plan, the run or the kernel at the cursor is on its way (no button; `aria-busy`).
    #[prop_or_default]
    pub busy: bool,
    /// The image has TCP/UDP sockets: the host the plan is for matters (its addresses).
    #[prop_or_default]
    pub inet: bool,
    /// The host the plan is for (`State::host`).
    #[prop_or_default]
    pub host: PlanHost,
    /// The namespace the open CRIU checkpoint saved, if it did (`CriuDoc::saved_host`).
    #[prop_or_default]
    pub saved_host: Option<Rc<SavedHost>>,
    /// The addresses besides loopback the image's sockets are bound to (`plan::image_addrs`).
    #[prop_or_default]
    pub image_addrs: Rc<[IpAddr]>,
    /// Plan for this host.
    #[prop_or_default]
    pub on_host: Callback<PlanHost>,
}

fn addr_list(a: &[IpAddr]) -> String {
    a.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The host the plan is for: loopback plus the addresses typed here, or the image's own, or
/// the namespace a CRIU checkpoint saved.
#[derive(Properties, PartialEq, Debug)]
struct HostProps {
    host: PlanHost,
    saved_host: Option<Rc<SavedHost>>,
    image_addrs: Rc<[IpAddr]>,
    on_host: Callback<PlanHost>,
}

#[function_component(HostControl)]
fn host_control(p: &HostProps) -> Html {
    let error = use_state_eq(|| None::<String>);
    let onchange = {
        let (on_host, error) = (p.on_host.clone(), error.clone());
        Callback::from(move |e: Event| {
            let text = e.target_unchecked_into::<web_sys::HtmlInputElement>().value();
            match resocket_core::plan::parse_addrs(&text) {
                Ok(a) => {
                    error.set(None);
                    on_host.emit(PlanHost::Fresh(a.into()));
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    let use_image = {
        let (on_host, a, error) = (p.on_host.clone(), p.image_addrs.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            on_host.emit(PlanHost::Fresh(a.clone()));
        })
    };
    let lo_only = {
        let (on_host, error) = (p.on_host.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            on_host.emit(PlanHost::default());
        })
    };
    let (typed, saved): (&[IpAddr], _) = match &p.host {
        PlanHost::Fresh(a) => (a, None),
        PlanHost::Saved(s) => (&[], Some(s)),
    };
    // The checkpoint's saved namespace, offered when the plan is for a fresh host.
    let offer_saved = p.saved_host.clone().filter(|_| saved.is_none()).map(|s| {
        let (on_host, error, ns) = (p.on_host.clone(), error.clone(), s.ns);
        let onclick = Callback::from(move |_: MouseEvent| {
            error.set(None);
            on_host.emit(PlanHost::Saved(s.clone()));
        });
        (ns, onclick)
    });
    html! {
        <div id="host" class="host" data-host={if saved.is_some() { "saved" } else { "fresh" }}
            title="The network namespace the restore is planned and simulated for">
            if let Some(s) = saved {
                <span id="host-saved" class="host-saved">{ format!("planned for {s}") }</span>
                <label for="host-addrs">{ "or a fresh host with lo and" }</label>
            } else {
                <label for="host-addrs">{ "planned for a fresh host with lo and" }</label>
            }
            <input id="host-addrs" type="text" value={addr_list(typed)} placeholder="no other address" {onchange}
                aria-invalid={error.is_some().to_string()} size="28" />
            if let Some((ns, onclick)) = offer_saved {
                <button id="host-saved-ns" {onclick} title="plan for the addresses and routes the checkpoint saved">
                    { format!("the saved namespace {ns}") }</button>
            }
            if !p.image_addrs.is_empty() && (saved.is_some() || typed != &*p.image_addrs) {
                <button id="host-image" onclick={use_image}
                    title={format!("plan for the addresses the image's sockets are bound to: {}", addr_list(&p.image_addrs))}>
                    { "the image's addresses" }</button>
            }
            if saved.is_some() || !typed.is_empty() {
                <button id="host-lo" onclick={lo_only}>{ "lo only" }</button>
            }
            if let Some(e) = &*error {
                <span class="host-error" role="alert">{ e }</span>
            }
        </div>
    }
}

/// Steps rendered around the cursor.
const STEP_WINDOW: usize = 150;

#[function_component(Timeline)]
pub fn timeline(p: &TimelineProps) -> Html {
    {
        let tick = p.on_tick.clone();
        use_effect_with(p.playing, move |&playing| {
            let iv = playing.then(|| gloo::timers::callback::Interval::new(700, move || tick.emit(())));
            move || drop(iv)
        });
    }
    let plan = match &p.plan {
        None if p.busy => {
            // The host control stays while the kernel worker plans for the host just chosen.
            return html! {
                <section id="timeline" class="panel" aria-busy="true">
                    <h2>{ "Restore timeline" }</h2>
                    <p class="busy">{ "planning…" }</p>
                    if p.inet {
                        <HostControl host={p.host.clone()} saved_host={p.saved_host.clone()} image_addrs={p.image_addrs.clone()} on_host={p.on_host.clone()} />
                    }
                    // Where the timeline has the rest of its panel: the host control is then
                    // the same child, counted from the end as Yew matches children, and stays
                    // (its input keeps the focus) when the plans come.
                    <></>
                </section>
            };
        }
        None => {
            let on_plan = p.on_plan.reform(|_: MouseEvent| ());
            return html! {
                <section id="timeline" class="panel">
                    <h2>{ "Restore timeline" }</h2>
                    <button class="plan" onclick={on_plan}>{ format!("plan ({} sockets)", thousands(p.sockets)) }</button>
                </section>
            };
        }
        Some(Err(e)) => {
            return html! {
                <section id="timeline" class="panel">
                    <h2>{ "Restore timeline" }</h2>
                    <p class="plan-error">{ e }</p>
                </section>
            };
        }
        Some(Ok(plan)) => plan.clone(),
    };
    let report = p.report.clone();
    let failure = report.as_ref().and_then(|r| r.failure.clone());
    let n_run = report.as_ref().map_or(0, |r| r.results.len());
    let n = p.order.len();
    let onchange = p
        .on_order
        .reform(|e: Event| OrderKind::from_id(&e.target_unchecked_into::<web_sys::HtmlSelectElement>().value()));
    let start = p.cursor.saturating_sub(STEP_WINDOW / 5).min(n.saturating_sub(STEP_WINDOW));
    let end = (start + STEP_WINDOW).min(n);
    let mut positions: Vec<usize> = (start..end).collect();
    if let Some(f) = failure.as_ref().filter(|f| !(start..end).contains(&f.position)) {
        positions.push(f.position);
        resocket_core::order::sort_by_rank(&mut positions, |&i| i as u128);
    }
    // The plan's warnings by the step they belong to, shown beside it.
    let mut by_step: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (k, w) in plan.warnings.iter().enumerate() {
        if let Some(step) = w.step {
            by_step.entry(step).or_default().push(k);
        }
    }
    let mut last_phase = None;
    let mut prev_pos = None;
    let rows = positions.iter().map(|&pos| {
        let i = p.order[pos];
        let step = &plan.steps[i];
        let mut out = Vec::new();
        if prev_pos.is_some_and(|q: usize| q + 1 != pos) {
            out.push(html! { <li class="gap">{ "…" }</li> });
            last_phase = None;
        }
        prev_pos = Some(pos);
        if last_phase != Some(step.phase) {
            last_phase = Some(step.phase);
            out.push(html! { <li class="phase">{ format!("{:?}", step.phase) }</li> });
        }
        let failed = failure.as_ref().is_some_and(|f| f.position == pos);
        let outcome = report.as_ref().and_then(|r| r.results.get(pos)).map(|r| r.outcome.short());
        let seek = p.on_seek.reform(move |_: MouseEvent| pos + 1);
        let up = {
            let m = p.on_move.clone();
            Callback::from(move |e: MouseEvent| {
                e.stop_propagation();
                m.emit((pos, -1))
            })
        };
        let down = {
            let m = p.on_move.clone();
            Callback::from(move |e: MouseEvent| {
                e.stop_propagation();
                m.emit((pos, 1))
            })
        };
        let warned = by_step.get(&i).map_or(&[][..], Vec::as_slice);
        out.push(html! {
            <li key={format!("s{pos}")}
                class={classes!(
                    "step",
                    (pos < p.cursor).then_some("done"),
                    (pos + 1 == p.cursor).then_some("current"),
                    failed.then_some("failed"),
                    (pos >= n_run).then_some("not-run"),
                    (!warned.is_empty()).then_some("warned")
                )}
                data-index={pos.to_string()} data-step={i.to_string()} title={step.why.to_string()} onclick={seek}>
                <span class="num">{ pos }</span>
                <code class="op">{ plan.describe(i) }</code>
                if let Some(o) = outcome {
                    <span class="outcome">{ o }</span>
                }
                { for warned.iter().map(|&k| warn_badge(&plan.warnings[k], k, p.focus_warning == Some(k), &p.on_warning)) }
                <span class="move">
                    <button class="up" onclick={up} disabled={pos == 0} title="move up">{ "↑" }</button>
                    <button class="down" onclick={down} disabled={pos + 1 >= n} title="move down">{ "↓" }</button>
                </span>
            </li>
        });
        out.into_iter().collect::<Html>()
    });
    let current = p.cursor.checked_sub(1).and_then(|pos| Some((pos, *p.order.get(pos)?)));
    let marked = failure.as_ref().map(|f| step_sockets(&plan, f.step)).unwrap_or_default();
    let back = p.on_step.reform(|_: MouseEvent| -1);
    let fwd = p.on_step.reform(|_: MouseEvent| 1);
    let play = p.on_play.reform(|_: MouseEvent| ());
    let rewind = p.on_seek.reform(|_: MouseEvent| 0);
    // The keys (→ ← Space Home End) are the app's document-wide shortcuts (`crate::shortcut`).
    html! {
        <section id="timeline" class="panel" tabindex="0" aria-busy={p.busy.to_string()}>
            <h2>{ "Restore timeline" }<span class="count">{ format!("{n} steps") }</span></h2>
            <div class="controls">
                <select id="order" {onchange}>
                    { for [(OrderKind::Planner, "planner's order"), (OrderKind::V2, "seed's v2 order"),
                           (OrderKind::Naive, "naive order"), (OrderKind::Custom, "custom (reordered)")]
                        .into_iter().map(|(k, label)| html! {
                            <option value={k.id()} selected={p.kind == k}>{ label }</option>
                        }) }
                </select>
                <button class="rewind" onclick={rewind} title="start">{ "|◀" }</button>
                <button class="back" onclick={back} title="step back (←)">{ "◀" }</button>
                <button class="play" onclick={play} title="play/pause (space)">{ if p.playing { "⏸" } else { "▶" } }</button>
                <button class="fwd" onclick={fwd} title="step forward (→)">{ "▶|" }</button>
                <span class="pos">{ format!("{} / {}", p.cursor, n_run) }</span>
                <span class="keys" title="keyboard shortcuts (? lists them all)">
                    <kbd>{ "←" }</kbd><kbd>{ "→" }</kbd>{ " step · " }<kbd>{ "Space" }</kbd>{ " play · " }
                    <kbd>{ "Home" }</kbd><kbd>{ "End" }</kbd>
                </span>
                if let Some(r) = &report {
                    if r.is_clean() {
                        <span class="verdict ok">{ "reproduces the image" }</span>
                    } else if r.failure.is_some() {
                        <span class="verdict bad">{ "fails" }</span>
                    } else {
                        <span class="verdict warn">{ format!("completes with {} differences", r.differences.len()) }</span>
                    }
                }
            </div>
            if p.inet {
                <HostControl host={p.host.clone()} saved_host={p.saved_host.clone()} image_addrs={p.image_addrs.clone()} on_host={p.on_host.clone()} />
            }
            // The rest in one fragment, as in the "planning…" panel (the host control stays).
            <>
            if !plan.warnings.is_empty() {
                <details id="plan-warnings" class="plan-warnings" open={plan.warnings.len() <= 3}>
                    <summary>{ format!("the plan restores less than the image ({} warning{})", plan.warnings.len(),
                        if plan.warnings.len() == 1 { "" } else { "s" }) }</summary>
                    <ul>{ for plan.warnings.iter().enumerate().map(|(k, w)| {
                        let onclick = p.on_warning.reform(move |_: MouseEvent| k);
                        html! {
                            <li data-code={w.code.as_str()} data-index={k.to_string()}
                                class={classes!("plan-warning", (p.focus_warning == Some(k)).then_some("focus"))} {onclick}>
                                <code>{ w.code.as_str() }</code>
                                if let Some(place) = w.place() {
                                    <span class="at">{ place }</span>
                                }
                                { " " }{ w.message.clone() }
                            </li>
                        }
                    }) }</ul>
                </details>
            }
            <div class="now">
                { match current {
                    Some((pos, i)) => html! { <>
                        <code class="op">{ format!("{pos}: {}", plan.describe(i)) }</code>
                        <div class="why">{ plan.steps[i].why.to_string() }</div>
                    </> },
                    None => html! { <div class="why">{ "Before the first step: an empty kernel. Step forward (→) or play (space)." }</div> },
                } }
            </div>
            if let Some(f) = &failure {
                <div id="failure" class="failure">
                    <b>{ format!("step {} fails: ", f.position) }</b>{ &f.explanation }
                    <div class="fix">{ format!("fix: {}", f.fix) }</div>
                </div>
            }
            if let Some(r) = report.as_ref().filter(|r| r.failure.is_none() && !r.differences.is_empty()) {
                <ul id="differences">
                { for r.differences.iter().map(|d| html! {
                    <li>{ format!("socket {}: {}: expected {}, found {}", d.objref, d.what, d.expected, d.found) }</li>
                }) }
                </ul>
            }
            <div class="timeline-body">
                <ol class="steps">{ for rows }</ol>
                <div class={classes!("kernel", (p.kernel_at != Some(p.cursor)).then_some("stale"))}
                    data-at={p.kernel_at.map(|k| k.to_string())}>
                    if let Some(k) = &p.kernel {
                        <SocketGraph id="kgraph" drawing={k.clone()} {marked} selected={p.selected} on_select={p.on_socket.clone()} />
                    }
                </div>
            </div>
            </>
        </section>
    }
}

/// A plan warning's code beside its step: a click shows the step and selects its socket (and
/// does not also seek to the step's row position, which the row's own click would).
fn warn_badge(w: &Warning, k: usize, focus: bool, on_warning: &Callback<usize>) -> Html {
    let onclick = {
        let on_warning = on_warning.clone();
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            on_warning.emit(k)
        })
    };
    let title = match w.objref {
        Some(o) => format!("socket #{o}: {} ({}: {})", w.message, w.effect.as_str(), w.lost()),
        None => format!("{} ({}: {})", w.message, w.effect.as_str(), w.lost()),
    };
    html! {
        <button class={classes!("warn", focus.then_some("focus"))} data-code={w.code.as_str()} data-index={k.to_string()}
            {title} {onclick}>{ w.code.as_str() }</button>
    }
}
