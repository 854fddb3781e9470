//! The image's diagnostics.

use crate::model::Doc;
use resocket_core::Severity;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct DiagProps {
    pub doc: Rc<Doc>,
    pub focus: Option<usize>,
    pub on_select: Callback<usize>,
}

#[function_component(Diagnostics)]
pub fn diagnostics(p: &DiagProps) -> Html {
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
        </section>
    }
}
