//! The record list: one row per record, its decoded fields on demand.

use crate::model::{key_range, thousands, Doc};
use crate::state::FieldRef;
use serde_json::Value;
use std::collections::BTreeSet;
use std::ops::Range;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct RecordsProps {
    pub doc: Rc<Doc>,
    pub selected: Option<usize>,
    pub expanded: BTreeSet<usize>,
    pub window: usize,
    pub shown: usize,
    pub hover: Option<FieldRef>,
    pub focus_field: Option<FieldRef>,
    /// Absolute bytes highlighted (a clicked field or diagnostic).
    pub focus: Option<Range<usize>>,
    pub on_select: Callback<usize>,
    pub on_toggle: Callback<usize>,
    pub on_field: Callback<FieldRef>,
    pub on_hover_field: Callback<Option<FieldRef>>,
    pub on_more: Callback<()>,
    pub on_earlier: Callback<()>,
    /// Arrow keys: +1 / -1.
    pub on_step: Callback<isize>,
}

#[function_component(RecordList)]
pub fn record_list(p: &RecordsProps) -> Html {
    let total = p.doc.records.len();
    let start = p.window.min(total);
    let end = (start + p.shown).min(total);
    let key_of = |f: &Option<FieldRef>, i: usize| f.as_ref().filter(|f| f.0 == i).map(|f| f.1.clone());
    let on_more = p.on_more.reform(|_: MouseEvent| ());
    let on_earlier = p.on_earlier.reform(|_: MouseEvent| ());
    let onkeydown = {
        let step = p.on_step.clone();
        Callback::from(move |e: KeyboardEvent| {
            let delta = match e.key().as_str() {
                "ArrowDown" | "j" => 1,
                "ArrowUp" | "k" => -1,
                "PageDown" => 20,
                "PageUp" => -20,
                _ => return,
            };
            e.prevent_default();
            step.emit(delta);
        })
    };
    html! {
        <section id="records" class="panel">
            <h2>{ "Records" }<span class="count">{ format!("{} of {}", end - start, thousands(total)) }</span></h2>
            <div class="scroll" id="records-scroll" tabindex="0" {onkeydown}>
                if start > 0 {
                    <button class="more earlier" onclick={on_earlier}>
                        { format!("show earlier ({} hidden)", thousands(start)) }</button>
                }
                <ol class="record-list">
                { for (start..end).map(|i| html! {
                    <RecordRow
                        key={i}
                        doc={p.doc.clone()}
                        index={i}
                        selected={p.selected == Some(i)}
                        expanded={p.expanded.contains(&i)}
                        hover_key={key_of(&p.hover, i)}
                        focus_key={key_of(&p.focus_field, i)}
                        focus={p.focus.clone().filter(|_| p.selected == Some(i))}
                        on_select={p.on_select.clone()}
                        on_toggle={p.on_toggle.clone()}
                        on_field={p.on_field.clone()}
                        on_hover_field={p.on_hover_field.clone()}
                    />
                }) }
                </ol>
                if end < total {
                    <button class="more later" onclick={on_more}>
                        { format!("show more ({} more records)", thousands(total - end)) }</button>
                }
                if let Some((off, msg)) = &p.doc.framing {
                    <p class="framing-error">{ format!("framing stops at {off:#x}: {msg}") }</p>
                }
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq, Debug)]
pub struct RowProps {
    pub doc: Rc<Doc>,
    pub index: usize,
    pub selected: bool,
    pub expanded: bool,
    pub hover_key: Option<String>,
    pub focus_key: Option<String>,
    /// Absolute bytes highlighted; fields overlapping them are marked.
    pub focus: Option<Range<usize>>,
    pub on_select: Callback<usize>,
    pub on_toggle: Callback<usize>,
    pub on_field: Callback<FieldRef>,
    pub on_hover_field: Callback<Option<FieldRef>>,
}

#[function_component(RecordRow)]
pub fn record_row(p: &RowProps) -> Html {
    let i = p.index;
    let Some(rec) = p.doc.record(i) else { return html! {} };
    let ty = rec.ty.name().map_or_else(|| format!("type {}", rec.ty.0), str::to_owned);
    let onclick = p.on_select.reform(move |_: MouseEvent| i);
    let ontoggle = {
        let t = p.on_toggle.clone();
        Callback::from(move |e: MouseEvent| {
            e.stop_propagation();
            t.emit(i);
        })
    };
    let fields = p.expanded.then(|| {
        let decoded = resocket_core::text::decode_record(&rec);
        let Value::Object(map) = decoded else { return html! {} };
        html! {
            <ul class="fields">
            { for map.into_iter().filter(|(k, _)| k != "type").map(|(k, v)| {
                let hover = p.on_hover_field.clone();
                let leave = p.on_hover_field.clone();
                let click = p.on_field.clone();
                let (k1, k2) = (k.clone(), k.clone());
                let in_focus = p.focus_key.as_deref() == Some(k.as_str())
                    || p.focus.as_ref().zip(key_range(&rec, &k)).is_some_and(|(f, r)| {
                        f.start < rec.offset + r.end && rec.offset + r.start < f.end
                    });
                html! {
                    <li
                        class={classes!(
                            "field",
                            (p.hover_key.as_deref() == Some(k.as_str())).then_some("hover"),
                            in_focus.then_some("focus")
                        )}
                        data-key={k.clone()}
                        onmouseenter={Callback::from(move |_: MouseEvent| hover.emit(Some((i, k1.clone()))))}
                        onmouseleave={Callback::from(move |_: MouseEvent| leave.emit(None))}
                        onclick={Callback::from(move |e: MouseEvent| { e.stop_propagation(); click.emit((i, k2.clone())) })}
                    >
                        <span class="key">{ k.clone() }</span>
                        { value_html(&v) }
                        if let Some(note) = resocket_core::image::inet::field_note(&rec, &k) {
                            <span class="note">{ note }</span>
                        }
                    </li>
                }
            }) }
            </ul>
        }
    });
    html! {
        <li class={classes!("record", p.selected.then_some("selected"), (!rec.ty.is_known()).then_some("unknown"))}
            data-index={i.to_string()} data-type={ty.clone()}>
            <div class="record-head" {onclick}>
                <button class="toggle" onclick={ontoggle} aria-label="expand">
                    { if p.expanded { "▾" } else { "▸" } }</button>
                <span class="idx">{ format!("#{i}") }</span>
                <span class="off">{ format!("{:#08x}", rec.offset) }</span>
                <span class="ty">{ ty }</span>
                <span class="len">{ format!("{} B", rec.len()) }</span>
            </div>
            { fields.unwrap_or_default() }
        </li>
    }
}

/// Longest string value shown in full in the tree.
const MAX_TEXT: usize = 240;

fn value_html(v: &Value) -> Html {
    match v {
        Value::Object(m) => html! {
            <ul class="tree">
            { for m.iter().map(|(k, v)| html! { <li><span class="key">{ k }</span>{ value_html(v) }</li> }) }
            </ul>
        },
        Value::Array(a) if a.iter().all(|x| !x.is_object() && !x.is_array()) => {
            let items: Vec<String> = a.iter().map(scalar_text).collect();
            html! { <span class="val list">{ format!("[{}]", items.join(", ")) }</span> }
        }
        Value::Array(a) => html! {
            <ol class="tree">{ for a.iter().map(|v| html! { <li>{ value_html(v) }</li> }) }</ol>
        },
        Value::String(_) => html! { <span class="val str">{ scalar_text(v) }</span> },
        _ => html! { <span class="val num">{ scalar_text(v) }</span> },
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() > MAX_TEXT => {
            format!("{}… ({} chars)", s.chars().take(MAX_TEXT).collect::<String>(), s.chars().count())
        }
        Value::String(s) => s.clone(),
        // Not `Value`'s Display: that is serde_json's serializer (string escaping, float
        // formatting, its error type), ~3 KB of the bundle for the scalars here. The record
        // decoder writes integers only.
        Value::Number(n) => match (n.as_u64(), n.as_i64()) {
            (Some(u), _) => u.to_string(),
            (_, Some(i)) => i.to_string(),
            _ => "(not an integer)".into(),
        },
        Value::Bool(b) => b.to_string(),
        Value::Null => "null".into(),
        // Composites are drawn as trees (`value_html`); never reached.
        Value::Array(_) | Value::Object(_) => String::new(),
    }
}
