//! View components. Each takes the data it shows and `Callback`s for what the user does; none
//! holds state of its own or computes anything beyond formatting.

use crate::gallery::Item;
use crate::model::{key_range, thousands, Doc};
use crate::state::FieldRef;
use resocket_core::Severity;
use serde_json::Value;
use std::collections::BTreeSet;
use std::ops::Range;
use std::rc::Rc;
use yew::prelude::*;

// ---------------------------------------------------------------------------------------------
// Gallery

#[derive(Properties, PartialEq, Debug)]
pub struct GalleryProps {
    pub items: Rc<Vec<Item>>,
    /// Name of the open image, to mark it.
    pub current: Option<String>,
    pub on_open: Callback<Item>,
}

#[function_component(Gallery)]
pub fn gallery(p: &GalleryProps) -> Html {
    let groups = ["valid", "invalid", "generated"];
    html! {
        <nav id="gallery" aria-label="fixture gallery">
            { for groups.iter().map(|&g| {
                let items: Vec<Item> = p.items.iter().filter(|i| i.group == g).copied().collect();
                if items.is_empty() {
                    return html! {};
                }
                html! {
                    <section class="gallery-group" data-group={g}>
                        <h3>{ g }<span class="count">{ items.len() }</span></h3>
                        <ul>
                        { for items.into_iter().map(|item| {
                            let on_open = p.on_open.clone();
                            let current = p.current.as_deref() == Some(item.name);
                            html! {
                                <li key={item.name}>
                                    <button
                                        class={classes!("gallery-item", g, current.then_some("current"))}
                                        data-name={item.name}
                                        data-group={g}
                                        title={item.description}
                                        onclick={Callback::from(move |_| on_open.emit(item))}
                                    >{ item.name }</button>
                                </li>
                            }
                        }) }
                        </ul>
                    </section>
                }
            }) }
        </nav>
    }
}

// ---------------------------------------------------------------------------------------------
// Summary

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

// ---------------------------------------------------------------------------------------------
// Records

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
                        <span class="key">{ k }</span>
                        { value_html(&v) }
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
        other => other.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// Hex view

#[derive(Properties, PartialEq, Debug)]
pub struct HexProps {
    pub doc: Rc<Doc>,
    /// Absolute range shown.
    pub region: Range<usize>,
    /// What the region is (a record, or bytes around a finding).
    pub label: String,
    pub focus: Option<Range<usize>>,
    pub hover: Option<Range<usize>>,
    /// Name of the hovered field, shown in the caption.
    pub hover_name: Option<String>,
    pub on_hover: Callback<Option<usize>>,
}

#[function_component(HexView)]
pub fn hex_view(p: &HexProps) -> Html {
    let bytes = &p.doc.bytes;
    let region = p.region.start.min(bytes.len())..p.region.end.min(bytes.len());
    let onmouseover = p.on_hover.reform(|e: MouseEvent| {
        e.target_dyn_into::<web_sys::Element>()
            .and_then(|el| el.get_attribute("data-off"))
            .and_then(|s| s.parse::<usize>().ok())
    });
    let onmouseleave = p.on_hover.reform(|_: MouseEvent| None);
    let inside = |r: &Option<Range<usize>>, o: usize| r.as_ref().is_some_and(|r| r.contains(&o));
    // Header and padding bytes of the record the region starts in, from core's layout table.
    let (hdr, pads) = match p.doc.record_containing(region.start).and_then(|i| p.doc.record(i)) {
        Some(rec) => {
            let pads: Vec<Range<usize>> = resocket_core::wire::layout(rec.ty)
                .filter(|l| l.size == rec.len())
                .map(|l| l.padding().into_iter().map(|r| rec.offset + r.start..rec.offset + r.end).collect())
                .unwrap_or_default();
            (rec.offset..rec.offset + resocket_core::wire::HDR_LEN, pads)
        }
        None => (0..0, Vec::new()),
    };
    let rows = region.clone().step_by(16).map(|row| {
        let end = (row + 16).min(region.end);
        let ascii: String =
            bytes[row..end].iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
        html! {
            <div class="row" key={row}>
                <span class="addr">{ format!("{row:08x}") }</span>
                <span class="bytes">
                { for (row..end).map(|o| html! {
                    <span
                        class={classes!(
                            "b",
                            hdr.contains(&o).then_some("hdr"),
                            pads.iter().any(|r| r.contains(&o)).then_some("pad"),
                            inside(&p.focus, o).then_some("hl"),
                            inside(&p.hover, o).then_some("hv")
                        )}
                        data-off={o.to_string()}
                    >{ format!("{:02x}", bytes[o]) }</span>
                }) }
                </span>
                <span class="ascii">{ ascii }</span>
            </div>
        }
    });
    let more = p.region.end < bytes.len()
        && p.doc
            .record_containing(p.region.end.saturating_sub(1))
            .is_some_and(|i| p.doc.records[i].range().end > p.region.end);
    html! {
        <section id="hex" class="panel">
            <h2>{ "Hex" }<span class="count">{ &p.label }</span></h2>
            <div class="caption">
                { match (&p.hover_name, &p.hover) {
                    (Some(n), Some(r)) => format!("{n}: {:#x}..{:#x} ({} B)", r.start, r.end, r.len()),
                    _ => "hover a byte or a field".to_string(),
                } }
            </div>
            <div class="scroll hexdump" id="hex-scroll" {onmouseover} {onmouseleave}>
                { for rows }
                if more {
                    <div class="row note">{ format!("… record continues to {:#x}", p.region.end.max(1)) }</div>
                }
            </div>
        </section>
    }
}

// ---------------------------------------------------------------------------------------------
// Diagnostics

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

// ---------------------------------------------------------------------------------------------
// Sockets

#[derive(Properties, PartialEq, Debug)]
pub struct SocketsProps {
    pub doc: Rc<Doc>,
    pub shown: usize,
    /// The marked socket.
    pub focus: Option<i32>,
    /// Select a socket (and its `SOCKET` record).
    pub on_select: Callback<i32>,
    pub on_more: Callback<()>,
}

#[function_component(Sockets)]
pub fn sockets(p: &SocketsProps) -> Html {
    let rows = &p.doc.sockets;
    let shown = p.shown.min(rows.len());
    let on_more = p.on_more.reform(|_: MouseEvent| ());
    html! {
        <section id="sockets" class="panel">
            <h2>{ "Sockets" }<span class="count">{ thousands(rows.len()) }</span></h2>
            <div class="table-wrap">
            <table>
                <thead><tr>
                    <th>{ "objref" }</th><th>{ "family" }</th><th>{ "type" }</th><th>{ "state" }</th>
                    <th>{ "role" }</th><th>{ "name" }</th><th>{ "peer" }</th><th>{ "queued" }</th>
                    <th>{ "pending" }</th>
                </tr></thead>
                <tbody>
                { for rows[..shown].iter().map(|s| {
                    let objref = s.objref;
                    let onclick = p.on_select.reform(move |_: MouseEvent| objref);
                    html! {
                        <tr key={s.objref} class={classes!("socket", (p.focus == Some(objref)).then_some("focus"))}
                            data-objref={s.objref.to_string()} {onclick}>
                            <td class="num">{ s.objref }</td>
                            <td>{ &s.family }</td>
                            <td>{ &s.ty }</td>
                            <td>{ &s.state }</td>
                            <td>{ s.role }</td>
                            <td class="name">{ &s.name }</td>
                            <td class="num">{ if s.peer == 0 { "-".to_string() } else { s.peer.to_string() } }</td>
                            <td class="num">{ if s.queued_msgs == 0 { "-".to_string() } else {
                                format!("{} msg / {} B", s.queued_msgs, s.queued_bytes) } }</td>
                            <td class="num">{ if s.pending == 0 { "-".to_string() } else { s.pending.to_string() } }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            </div>
            if shown < rows.len() {
                <button class="more" onclick={on_more}>{ format!("show more ({} more sockets)", thousands(rows.len() - shown)) }</button>
            }
        </section>
    }
}
