//! The image's diagnostics and the restore plan's warnings, each with its stable code and place.

use crate::model::{thousands, Doc};
use crate::state::PAGE;
use resocket_core::plan::Plan;
use resocket_core::Severity;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct DiagProps {
    pub doc: Rc<Doc>,
    pub focus: Option<usize>,
    pub on_select: Callback<usize>,
    /// The restore plan the timeline runs: its warnings are listed after the diagnostics.
    #[prop_or_default]
    pub plan: Option<Rc<Plan>>,
    /// The clicked plan warning (an index into the plan's `warnings`).
    #[prop_or_default]
    pub focus_warning: Option<usize>,
    /// Click on a plan warning: show its step in the timeline and select its socket.
    #[prop_or_default]
    pub on_warning: Callback<usize>,
}

#[function_component(Diagnostics)]
pub fn diagnostics(p: &DiagProps) -> Html {
    // Plan warnings rendered (a big image can have one per socket): local UI state.
    let warnings_shown = use_state_eq(|| PAGE);
    let diags = &p.doc.diagnostics;
    html! {
        <section id="diagnostics" class="panel">
            <h2>{ "Diagnostics" }<span class="count">{ diags.len() }</span></h2>
            if diags.is_empty() {
                <p class="ok">{ "No findings: the image is valid." }</p>
            } else {
                <ul class="diag-list">
                { for diags.iter().enumerate().map(|(k, d)| {
                    let sev = match d.severity { Severity::Error => "error", Severity::Warning => "warning" };
                    let onclick = p.on_select.reform(move |_: MouseEvent| k);
                    html! {
                        <li key={k} class={classes!("diag", sev, (p.focus == Some(k)).then_some("focus"))}
                            data-code={d.code.as_str()} data-index={k.to_string()} {onclick}>
                            <div class="diag-head">
                                <span class="sev">{ sev }</span>
                                <code class="code">{ d.code.as_str() }</code>
                                <span class="at">{ format!("@{:#x}..{:#x}", d.range.start, d.range.end) }</span>
                                if let Some(o) = d.objref {
                                    <span class="objref">{ format!("socket {o}") }</span>
                                }
                            </div>
                            <div class="msg">{ &d.message }</div>
                            <div class="help">{ d.help() }</div>
                        </li>
                    }
                }) }
                </ul>
            }
            { plan_warnings(p, &warnings_shown) }
        </section>
    }
}

/// The plan's warnings, `shown` of them (at least up to the focused one).
fn plan_warnings(p: &DiagProps, shown: &UseStateHandle<usize>) -> Html {
    let Some(plan) = p.plan.as_ref().filter(|plan| !plan.warnings.is_empty()) else { return html! {} };
    let warnings = &plan.warnings;
    let n = (**shown).max(p.focus_warning.map_or(0, |k| k + 1)).min(warnings.len());
    let more = {
        let shown = shown.clone();
        Callback::from(move |_: MouseEvent| shown.set(*shown + PAGE))
    };
    html! {
        <>
        <h3>{ "Plan warnings" }<span class="count">{ thousands(warnings.len()) }</span></h3>
        <ul class="diag-list plan-warn-list">
        { for warnings[..n].iter().enumerate().map(|(k, w)| {
            let onclick = p.on_warning.reform(move |_: MouseEvent| k);
            html! {
                <li key={k} class={classes!("diag", "warning", "plan-warning", (p.focus_warning == Some(k)).then_some("focus"))}
                    data-code={w.code.as_str()} data-index={k.to_string()} {onclick}>
                    <div class="diag-head">
                        <span class="sev">{ "plan" }</span>
                        <code class="code">{ w.code.as_str() }</code>
                        if let Some(place) = w.place() {
                            <span class="at">{ place }</span>
                        }
                    </div>
                    <div class="msg">{ &w.message }</div>
                    <div class="help">{ format!("{}: {}", w.effect.as_str(), w.lost()) }</div>
                </li>
            }
        }) }
        </ul>
        if n < warnings.len() {
            <button class="more" onclick={more}>{ format!("show more ({} more warnings)", thousands(warnings.len() - n)) }</button>
        }
        </>
    }
}
