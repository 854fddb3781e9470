//! View components. Each takes the data it shows and `Callback`s for what the user does; none
//! holds state of its own or computes anything beyond formatting.

use crate::gallery::Item;
use crate::model::{key_range, thousands, Doc};
use crate::state::FieldRef;
use resocket_core::Severity;
use serde_json::Value;
use std::collections::BTreeSet;
use std::net::IpAddr;
use std::ops::Range;
use std::rc::Rc;
use wasm_bindgen::JsCast;
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
    let groups = ["valid", "invalid", "criu", "criu-invalid", "generated"];
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
                            <td>{ s.role.name() }</td>
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

// ---------------------------------------------------------------------------------------------
// Socket graph (SVG)

use crate::model::{step_sockets, Drawing, EdgeKind, GNode, OrderKind, CELL_H, CELL_W};
use resocket_core::check::RunReport;
use resocket_core::plan::Plan;
use std::fmt::Write as _;

/// An SVG coordinate, written with at most one decimal by integer formatting: the bundle then
/// carries no float-to-decimal code (grisu/dragon and their tables, ~5 KB gzipped).
#[derive(Debug, Clone, Copy)]
struct Px(f64);

impl std::fmt::Display for Px {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Coordinates are far inside i64; NaN (never produced) would write 0.
        let tenths = (self.0 * 10.0).round() as i64;
        let sign = if tenths < 0 { "-" } else { "" };
        let (whole, frac) = (tenths.unsigned_abs() / 10, tenths.unsigned_abs() % 10);
        if frac == 0 {
            write!(f, "{sign}{whole}")
        } else {
            write!(f, "{sign}{whole}.{frac}")
        }
    }
}

/// The value of `key` in a short list of pairs (added empty if missing).
fn entry<'a, 'k>(list: &'a mut Vec<(&'k str, String)>, key: &'k str) -> &'a mut String {
    let i = match list.iter().position(|(k, _)| *k == key) {
        Some(i) => i,
        None => {
            list.push((key, String::new()));
            list.len() - 1
        }
    };
    &mut list[i].1
}

/// Node box size.
const NODE_W: f64 = 164.0;
const NODE_H: f64 = 56.0;
/// Graphs of more sockets than this render only the nodes and edges in view (rendering a node
/// costs a browser about 0.3 ms).
pub const WINDOWED_MIN: usize = 300;
/// More nodes in view than this are drawn as plain shapes, without text.
pub const DETAIL_MAX: usize = 1200;

#[derive(Properties, PartialEq, Debug)]
pub struct GraphProps {
    /// Element id of the `<svg>`.
    pub id: AttrValue,
    pub drawing: Rc<Drawing>,
    /// Sockets marked (the failing step's).
    #[prop_or_default]
    pub marked: Vec<i32>,
    /// The selected socket.
    #[prop_or_default]
    pub selected: Option<i32>,
    pub on_select: Callback<i32>,
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        format!("{}…", s.chars().take(n - 1).collect::<String>())
    }
}

fn shutdown_text(bits: u8) -> &'static str {
    match bits & 3 {
        1 => "shut RD",
        2 => "shut WR",
        3 => "shut RDWR",
        _ => "",
    }
}

fn node_html(n: &GNode, (x, y): (f64, f64), classes: Classes, on_select: &Callback<i32>) -> Html {
    let objref = n.objref;
    let onclick = on_select.reform(move |_: MouseEvent| objref);
    let (l, t) = (x - NODE_W / 2.0, y - NODE_H / 2.0);
    let shape = match n.ty.as_str() {
        "dgram" => html! { <ellipse class="shape" cx={Px(x).to_string()} cy={Px(y).to_string()}
        rx={Px(NODE_W / 2.0).to_string()} ry={Px(NODE_H / 2.0).to_string()} /> },
        ty => html! { <rect class="shape" x={Px(l).to_string()} y={Px(t).to_string()} width={Px(NODE_W).to_string()}
        height={Px(NODE_H).to_string()} rx={if ty == "stream" { "12" } else { "2" }} /> },
    };
    let title = if objref > 0 { format!("#{objref}") } else { format!("tmp{}", -objref - 1) };
    let mut badges = Vec::new();
    if let Some((used, admitted)) = n.backlog {
        badges.push(("backlog", format!("backlog {used}/{admitted}")));
    }
    if n.queued > 0 {
        badges.push(("queue", format!("{} msg/{} B", n.queued, n.queued_bytes)));
    }
    let shut = shutdown_text(n.shutdown);
    if !shut.is_empty() {
        badges.push(("shut", shut.to_string()));
    }
    let badge_text = badges.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join(" · ");
    html! {
        <g key={objref} class={classes} data-objref={objref.to_string()} data-type={n.ty.clone()}
            data-role={n.role.name()} {onclick}>
            <title>{ format!("{title} {} {} {}", n.ty, n.role, n.name) }</title>
            { shape }
            <text class="t1" x={Px(x).to_string()} y={Px(t + 16.0).to_string()}>{ format!("{title} {} · {}", n.ty, n.role) }</text>
            <text class="t2" x={Px(x).to_string()} y={Px(t + 32.0).to_string()}>{ shorten(&n.name, 24) }</text>
            if !badges.is_empty() {
                <text class="t3" x={Px(x).to_string()} y={Px(t + 47.0).to_string()}>
                { for badges.iter().enumerate().map(|(i, (class, text))| html! {
                    <tspan class={classes!("badge", *class)}>{ if i > 0 { format!(" · {text}") } else { text.clone() } }</tspan>
                }) }
                </text>
            }
            <desc>{ badge_text }</desc>
            if let Some(ext) = &n.external {
                // A peer outside the image: a dashed stub with its address.
                <g class="edge external">
                    <path d={format!("M{} {} h36", Px(x + NODE_W / 2.0), Px(y))} />
                    <text class="extlabel" x={Px(x + NODE_W / 2.0 + 4.0).to_string()} y={Px(y - 6.0).to_string()}>{ ext.clone() }</text>
                </g>
            }
        </g>
    }
}

/// Pan/zoom state: the viewBox, and the pointer drag in progress.
#[derive(Debug, Clone, Copy, PartialEq)]
struct View {
    x: f64,
    y: f64,
    w: f64,
    h: f64,
}

#[derive(Debug, Default)]
struct Drag {
    start: Option<(i32, i32, f64, f64)>,
    moved: bool,
}

fn fit(d: &Drawing, all: bool) -> View {
    let w = d.layout.width.max(CELL_W);
    // Not `f64::clamp`: its min > max assertion formats floats, which alone brought the
    // float-to-decimal code (~9 KB gzipped) into the bundle (CELL_H < CELL_W * 0.55 <= w * 0.55).
    let h = if all { d.layout.height.max(CELL_H) } else { d.layout.height.min(w * 0.55).max(CELL_H) };
    View { x: 0.0, y: 0.0, w, h: h.max(w * 0.3) }
}

/// The socket graph. The viewBox (pan/zoom) and the search text are local UI state.
#[function_component(SocketGraph)]
pub fn socket_graph(p: &GraphProps) -> Html {
    let view = use_state(|| fit(&p.drawing, false));
    let query = use_state(String::new);
    let drag = use_mut_ref(Drag::default);
    let d = &p.drawing;
    let q = query.trim().to_ascii_lowercase();
    let matches = |n: &GNode| {
        !q.is_empty()
            && (n.name.to_ascii_lowercase().contains(&q)
                || n.objref.to_string() == q
                || n.role.name() == q
                || n.ty == q)
    };
    let n_match = d.graph.nodes.iter().filter(|n| matches(n)).count();
    let oninput = {
        let query = query.clone();
        Callback::from(move |e: InputEvent| query.set(e.target_unchecked_into::<web_sys::HtmlInputElement>().value()))
    };
    let onkeydown = {
        let (view, drawing, q) = (view.clone(), p.drawing.clone(), q.clone());
        Callback::from(move |e: KeyboardEvent| {
            if e.key() != "Enter" || q.is_empty() {
                return;
            }
            let hit = drawing
                .graph
                .nodes
                .iter()
                .find(|n| n.name.to_ascii_lowercase().contains(&q) || n.objref.to_string() == q);
            if let Some(&(x, y)) = hit.and_then(|n| drawing.layout.pos.get(&n.objref)) {
                let v = *view;
                view.set(View { x: x - v.w / 2.0, y: y - v.h / 2.0, ..v });
            }
        })
    };
    let onmousedown = {
        let (drag, view) = (drag.clone(), view.clone());
        Callback::from(move |e: MouseEvent| {
            *drag.borrow_mut() = Drag { start: Some((e.client_x(), e.client_y(), view.x, view.y)), moved: false };
        })
    };
    let onmousemove = {
        let (drag, view) = (drag.clone(), view.clone());
        Callback::from(move |e: MouseEvent| {
            let mut dr = drag.borrow_mut();
            let Some((sx, sy, vx, vy)) = dr.start else { return };
            let (dx, dy) = (e.client_x() - sx, e.client_y() - sy);
            if dx.abs() + dy.abs() < 4 && !dr.moved {
                return;
            }
            dr.moved = true;
            let width = e
                .current_target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
                .map_or(1, |el| el.client_width().max(1));
            let scale = view.w / f64::from(width);
            view.set(View { x: vx - f64::from(dx) * scale, y: vy - f64::from(dy) * scale, ..*view });
        })
    };
    let end_drag = {
        let drag = drag.clone();
        Callback::from(move |_: MouseEvent| drag.borrow_mut().start = None)
    };
    let onwheel = {
        let view = view.clone();
        Callback::from(move |e: WheelEvent| {
            e.prevent_default();
            let f = if e.delta_y() > 0.0 { 1.2 } else { 1.0 / 1.2 };
            let v = *view;
            let (cx, cy) = (v.x + v.w / 2.0, v.y + v.h / 2.0);
            let (w, h) = (v.w * f, v.h * f);
            view.set(View { x: cx - w / 2.0, y: cy - h / 2.0, w, h });
        })
    };
    let zoom = |f: f64| {
        let view = view.clone();
        Callback::from(move |_: MouseEvent| {
            let v = *view;
            let (cx, cy) = (v.x + v.w / 2.0, v.y + v.h / 2.0);
            view.set(View { x: cx - v.w * f / 2.0, y: cy - v.h * f / 2.0, w: v.w * f, h: v.h * f });
        })
    };
    let on_fit = {
        let (view, drawing) = (view.clone(), p.drawing.clone());
        Callback::from(move |_: MouseEvent| view.set(fit(&drawing, true)))
    };
    let on_select = {
        let (drag, sel) = (drag.clone(), p.on_select.clone());
        Callback::from(move |o: i32| {
            if !drag.borrow().moved {
                sel.emit(o);
            }
        })
    };
    let pos = |o: i32| d.layout.pos.get(&o).copied();
    // Big graphs: only what is in view (with a cell of margin) is rendered, and when that is
    // still a lot, as plain shapes (one path per role and edge kind) instead of one group per node.
    let v = *view;
    let windowed = d.graph.nodes.len() > WINDOWED_MIN;
    let (x0, x1, y0, y1) = (v.x - CELL_W, v.x + v.w + CELL_W, v.y - CELL_H, v.y + v.h + CELL_H);
    let in_view = |(x, y): (f64, f64)| !windowed || (x0..=x1).contains(&x) && (y0..=y1).contains(&y);
    let visible: Vec<(&GNode, (f64, f64))> =
        d.graph.nodes.iter().filter_map(|n| pos(n.objref).map(|xy| (n, xy))).filter(|&(_, xy)| in_view(xy)).collect();
    let detailed = visible.len() <= DETAIL_MAX;
    let edge_in_view = |(ax, ay): (f64, f64), (bx, by): (f64, f64)| {
        !windowed || ax.max(bx) >= x0 && ax.min(bx) <= x1 && ay.max(by) >= y0 && ay.min(by) <= y1
    };
    let shapes = (!detailed).then(|| {
        // Paths by role and by edge kind: a handful of keys, so a list (a map type would be
        // one more B-tree instance in the bundle), in the order first met.
        let mut by_role: Vec<(&str, String)> = Vec::new();
        for (n, (x, y)) in &visible {
            let path = entry(&mut by_role, n.role.name());
            let _ = write!(
                path,
                "M{} {}h{}v{}h-{}z",
                Px(x - NODE_W / 2.0),
                Px(y - NODE_H / 2.0),
                Px(NODE_W),
                Px(NODE_H),
                Px(NODE_W)
            );
        }
        let mut by_kind: Vec<(&str, String)> = Vec::new();
        for e in &d.graph.edges {
            let (Some(a), Some(b)) = (pos(e.from), pos(e.to)) else { continue };
            if e.kind == EdgeKind::SelfLoop || !edge_in_view(a, b) {
                continue;
            }
            let kind = match e.kind {
                EdgeKind::Pending(_) => "pending",
                EdgeKind::InFlight => "inflight",
                _ => "peer",
            };
            let _ = write!(entry(&mut by_kind, kind), "M{} {}L{} {}", Px(a.0), Px(a.1), Px(b.0), Px(b.1));
        }
        html! { <g class="shapes">
            { for by_kind.into_iter().map(|(k, path)| html! { <g class={classes!("edge", k)}><path d={path} /></g> }) }
            { for by_role.into_iter().map(|(r, path)| html! {
                <g class={classes!("lod", format!("role-{r}"))}><path class="shape" d={path} /></g>
            }) }
        </g> }
    });
    let edges = d.graph.edges.iter().filter(|_| detailed).filter_map(|e| {
        let ((x1, y1), (x2, y2)) = (pos(e.from)?, pos(e.to)?);
        if !edge_in_view((x1, y1), (x2, y2)) {
            return None;
        }
        let (kind, label) = match e.kind {
            EdgeKind::Peer => ("peer", None),
            EdgeKind::SelfLoop => ("self", None),
            EdgeKind::Pending(i) => ("pending", Some(i.to_string())),
            EdgeKind::InFlight => ("inflight", None),
        };
        let path = if e.kind == EdgeKind::SelfLoop {
            let (x, y) = (x1 + NODE_W / 2.0 - 10.0, y1 - NODE_H / 2.0);
            format!(
                "M{} {} C{} {} {} {} {} {}",
                Px(x - 20.0),
                Px(y),
                Px(x - 20.0),
                Px(y - 36.0),
                Px(x + 30.0),
                Px(y - 36.0),
                Px(x + 10.0),
                Px(y + 4.0)
            )
        } else if e.kind == EdgeKind::InFlight || (y1 - y2).abs() < 1.0 && (x1 - x2).abs() > CELL_W * 1.5 {
            // Curved so that it does not run under the nodes in between.
            let (mx, my) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0 - 30.0);
            format!("M{} {} Q{} {} {} {}", Px(x1), Px(y1), Px(mx), Px(my), Px(x2), Px(y2))
        } else {
            format!("M{} {} L{} {}", Px(x1), Px(y1), Px(x2), Px(y2))
        };
        let (lx, ly) = ((x1 + x2) / 2.0, (y1 + y2) / 2.0);
        Some(html! {
            <g class={classes!("edge", kind)} data-from={e.from.to_string()} data-to={e.to.to_string()}>
                <path d={path} marker-end={(e.kind != EdgeKind::Peer).then_some("url(#arrow)")} />
                if let Some(l) = label {
                    <circle class="elabel-bg" cx={Px(lx).to_string()} cy={Px(ly).to_string()} r="8" />
                    <text class="elabel" x={Px(lx).to_string()} y={Px(ly + 4.0).to_string()}>{ l }</text>
                }
            </g>
        })
    });
    // In the plain-shapes view, the nodes that are marked, selected or found are still drawn.
    let nodes = visible
        .iter()
        .filter(|(n, _)| detailed || matches(n) || p.marked.contains(&n.objref) || p.selected == Some(n.objref));
    let nodes = nodes.map(|&(n, xy)| {
        let classes = classes!(
            "node",
            format!("role-{}", n.role),
            format!("ty-{}", n.ty),
            matches(n).then_some("match"),
            p.marked.contains(&n.objref).then_some("marked"),
            (p.selected == Some(n.objref)).then_some("selected")
        );
        node_html(n, xy, classes, &on_select)
    });
    html! {
        <div class="graph-wrap">
            <div class="graph-tools">
                <input class="search" type="search" placeholder="search name, objref, role…" value={(*query).clone()} {oninput} {onkeydown} />
                if !q.is_empty() {
                    <span class="matches">{ format!("{n_match} match{}", if n_match == 1 { "" } else { "es" }) }</span>
                }
                <button class="zoom-in" onclick={zoom(1.0 / 1.25)}>{ "+" }</button>
                <button class="zoom-out" onclick={zoom(1.25)}>{ "−" }</button>
                <button class="fit" onclick={on_fit}>{ "fit" }</button>
                <span class="legend">
                    <span class="lg stream">{ "stream" }</span><span class="lg dgram">{ "dgram" }</span>
                    <span class="lg seqpacket">{ "seqpacket" }</span><span class="lg l-pending">{ "pending (accept order)" }</span>
                    <span class="lg l-inflight">{ "fd in flight" }</span>
                </span>
            </div>
            <svg id={p.id.clone()} class="graph" viewBox={format!("{} {} {} {}", Px(v.x), Px(v.y), Px(v.w), Px(v.h))}
                data-nodes={d.graph.nodes.len().to_string()} data-drawn={visible.len().to_string()}
                data-detail={if detailed { "full" } else { "shapes" }}
                {onmousedown} {onmousemove} onmouseup={end_drag.clone()} onmouseleave={end_drag} {onwheel}>
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M0 0 L10 5 L0 10 z" />
                    </marker>
                </defs>
                { for shapes }
                <g class="edges">{ for edges }</g>
                <g class="nodes">{ for nodes }</g>
            </svg>
        </div>
    }
}

#[derive(Properties, PartialEq, Debug)]
pub struct GraphPanelProps {
    /// Socket count of the image.
    pub sockets: usize,
    pub drawing: Option<Rc<Drawing>>,
    pub selected: Option<i32>,
    pub on_select: Callback<i32>,
    pub on_draw: Callback<()>,
    /// The image is being opened in slices: the graph is on its way (no button).
    #[prop_or_default]
    pub busy: bool,
}

/// The image's socket graph, or a button to build it for big images.
#[function_component(GraphPanel)]
pub fn graph_panel(p: &GraphPanelProps) -> Html {
    let on_draw = p.on_draw.reform(|_: MouseEvent| ());
    html! {
        <section id="graph-panel" class="panel">
            <h2>{ "Socket graph" }<span class="count">{ thousands(p.sockets) }</span></h2>
            { match &p.drawing {
                Some(d) => html! {
                    <SocketGraph id="graph" drawing={d.clone()} selected={p.selected} on_select={p.on_select.clone()} />
                },
                None if p.busy => html! { <p class="busy">{ "drawing…" }</p> },
                None => html! {
                    <button class="draw" onclick={on_draw}>{ format!("draw graph ({} sockets)", thousands(p.sockets)) }</button>
                },
            } }
        </section>
    }
}

// ---------------------------------------------------------------------------------------------
// Restore timeline

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
    pub selected: Option<i32>,
    pub on_plan: Callback<()>,
    pub on_order: Callback<OrderKind>,
    pub on_move: Callback<(usize, isize)>,
    pub on_seek: Callback<usize>,
    pub on_step: Callback<isize>,
    pub on_play: Callback<()>,
    pub on_tick: Callback<()>,
    pub on_socket: Callback<i32>,
    /// The image is being opened in slices: the plan is on its way (no button).
    #[prop_or_default]
    pub busy: bool,
    /// The image has TCP/UDP sockets: the host the plan is for matters (its addresses).
    #[prop_or_default]
    pub inet: bool,
    /// The addresses besides loopback the plan is for (`State::host`).
    #[prop_or_default]
    pub host: Rc<[IpAddr]>,
    /// The addresses besides loopback the image's sockets are bound to (`plan::image_addrs`).
    #[prop_or_default]
    pub image_addrs: Rc<[IpAddr]>,
    /// Plan for loopback plus these addresses.
    #[prop_or_default]
    pub on_host: Callback<Rc<[IpAddr]>>,
}

fn addr_list(a: &[IpAddr]) -> String {
    a.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

/// The host the plan is for: loopback plus the addresses typed here, or the image's own.
#[derive(Properties, PartialEq, Debug)]
struct HostProps {
    host: Rc<[IpAddr]>,
    image_addrs: Rc<[IpAddr]>,
    on_host: Callback<Rc<[IpAddr]>>,
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
                    on_host.emit(a.into());
                }
                Err(e) => error.set(Some(e)),
            }
        })
    };
    let use_image = {
        let (on_host, a, error) = (p.on_host.clone(), p.image_addrs.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            on_host.emit(a.clone());
        })
    };
    let lo_only = {
        let (on_host, error) = (p.on_host.clone(), error.clone());
        Callback::from(move |_: MouseEvent| {
            error.set(None);
            on_host.emit(Rc::from([]));
        })
    };
    html! {
        <div id="host" class="host" title="The restore is planned for a fresh network namespace with these addresses">
            <label for="host-addrs">{ "planned for a host with lo and" }</label>
            <input id="host-addrs" type="text" value={addr_list(&p.host)} placeholder="no other address" {onchange}
                aria-invalid={error.is_some().to_string()} size="28" />
            if !p.image_addrs.is_empty() && p.host != p.image_addrs {
                <button id="host-image" onclick={use_image}
                    title={format!("plan for the addresses the image's sockets are bound to: {}", addr_list(&p.image_addrs))}>
                    { "the image's addresses" }</button>
            }
            if !p.host.is_empty() {
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
            return html! {
                <section id="timeline" class="panel">
                    <h2>{ "Restore timeline" }</h2>
                    <p class="busy">{ "planning…" }</p>
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
        out.push(html! {
            <li key={format!("s{pos}")}
                class={classes!(
                    "step",
                    (pos < p.cursor).then_some("done"),
                    (pos + 1 == p.cursor).then_some("current"),
                    failed.then_some("failed"),
                    (pos >= n_run).then_some("not-run")
                )}
                data-index={pos.to_string()} data-step={i.to_string()} title={step.why.to_string()} onclick={seek}>
                <span class="num">{ pos }</span>
                <code class="op">{ plan.describe(i) }</code>
                if let Some(o) = outcome {
                    <span class="outcome">{ o }</span>
                }
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
        <section id="timeline" class="panel" tabindex="0">
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
                <HostControl host={p.host.clone()} image_addrs={p.image_addrs.clone()} on_host={p.on_host.clone()} />
            }
            if !plan.warnings.is_empty() {
                <details id="plan-warnings" class="plan-warnings" open={plan.warnings.len() <= 3}>
                    <summary>{ format!("the plan restores less than the image ({} warning{})", plan.warnings.len(),
                        if plan.warnings.len() == 1 { "" } else { "s" }) }</summary>
                    <ul>{ for plan.warnings.iter().map(|w| html! {
                        <li data-code={w.code.as_str()}><code>{ w.code.as_str() }</code>{ " " }{ w.message.clone() }</li>
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
                <div class="kernel">
                    if let Some(k) = &p.kernel {
                        <SocketGraph id="kgraph" drawing={k.clone()} {marked} selected={p.selected} on_select={p.on_socket.clone()} />
                    }
                </div>
            </div>
        </section>
    }
}
