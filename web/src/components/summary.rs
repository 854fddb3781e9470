//! The summary bar of the open image.

use crate::model::{thousands, Doc};
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct SummaryProps {
    pub doc: Rc<Doc>,
}

#[function_component(SummaryBar)]
pub fn summary_bar(p: &SummaryProps) -> Html {
    let s = &p.doc.summary;
    let verdict = if p.doc.is_valid() { "valid" } else { "invalid" };
    html! {
        <section id="summary" class={classes!(verdict)} title={s.line.clone()}>
            <span class="file">{ &p.doc.name }</span>
            <span class={classes!("verdict", verdict)}>{ verdict }</span>
            <span class="stat" data-stat="sockets"><b>{ thousands(s.sockets) }</b>{ " sockets" }</span>
            <span class="stat" data-stat="records"><b>{ thousands(s.records) }</b>{ " records" }</span>
            <span class="stat" data-stat="bytes"><b>{ thousands(s.bytes) }</b>{ " bytes" }</span>
            <span class="stat errors" data-stat="errors"><b>{ s.errors }</b>{ " errors" }</span>
            <span class="stat warnings" data-stat="warnings"><b>{ s.warnings }</b>{ " warnings" }</span>
            if !p.doc.note.is_empty() {
                <span class="note">{ &p.doc.note }</span>
            }
        </section>
    }
}
