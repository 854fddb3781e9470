//! The CRIU panels: the checkpoint's summary and container metadata, its image files, the
//! entries of one file with field↔byte highlighting, its hex, the located diagnostics and the
//! notes on what a CRIU restore loses. Data and callbacks in, nothing computed beyond
//! formatting (an entry's fields come from the worker's walk, `reader::fields`).

use crate::components::hex::{inside, HexPanel};
use crate::criu::{CriuDoc, CriuSel};
use crate::message::Fields;
use crate::model::{thousands, HEX_MAX};
use resocket_core::Severity;
use std::ops::Range;
use std::rc::Rc;
use yew::prelude::*;

#[derive(Properties, PartialEq, Debug)]
pub struct DocProps {
    pub doc: Rc<CriuDoc>,
}

/// The summary line and, for an archive, its container metadata.
#[function_component(CriuSummary)]
pub fn criu_summary(p: &DocProps) -> Html {
    let d = &p.doc;
    let verdict = if d.is_valid() { "valid" } else { "invalid" };
    let source = match &d.archive {
        Some(a) => format!("{} checkpoint archive", a.compression.as_str()),
        None if d.files.len() == 1 => "one CRIU image".to_string(),
        None => "CRIU image directory".to_string(),
    };
    let container = d.archive.as_ref().map(|a| {
        let layout = match &a.layout {
            resocket_core::archive::Layout::Container => "images under checkpoint/".to_string(),
            resocket_core::archive::Layout::Bare { dir } if dir.is_empty() => "images at the top".to_string(),
            resocket_core::archive::Layout::Bare { dir } => format!("images under {dir}/"),
        };
        let mut rows: Vec<(&str, String)> = vec![
            ("compression", a.compression.as_str().to_string()),
            ("layout", layout),
            ("unpacked", format!("{} bytes", thousands(usize::try_from(a.unpacked).unwrap_or(usize::MAX)))),
            ("other members", a.members.to_string()),
        ];
        if let Some(m) = &a.container {
            let fields: [(&str, Option<String>); 9] = [
                ("engine", m.engine.map(|e| e.as_str().to_string())),
                ("name", m.name.clone()),
                ("id", m.id.clone()),
                ("image", m.image.clone()),
                ("runtime", m.runtime.clone()),
                ("created", m.created.clone()),
                ("checkpointed", m.checkpointed.clone()),
                ("namespace", m.namespace.clone()),
                ("pod", m.pod.clone()),
            ];
            rows.extend(fields.into_iter().filter_map(|(k, v)| v.map(|v| (k, v))));
        }
        html! {
            <section id="container" class="panel">
                <h2>{ "Archive" }</h2>
                <dl class="meta">
                { for rows.into_iter().map(|(k, v)| html! { <><dt>{ k }</dt><dd data-key={k}>{ v }</dd></> }) }
                </dl>
                if !a.warnings.is_empty() {
                    <ul class="warnings">{ for a.warnings.iter().map(|w| html! { <li>{ w }</li> }) }</ul>
                }
            </section>
        }
    });
    html! {
        <>
            <section id="summary" class={classes!("criu", verdict)}>
                <span class="file">{ &d.name }</span>
                <span class={classes!("verdict", verdict)}>{ verdict }</span>
                <span class="stat" data-stat="source">{ source }</span>
                <span class="stat" data-stat="files"><b>{ d.files.len() }</b>{ " images" }</span>
                <span class="stat" data-stat="tasks"><b>{ d.tasks }</b>{ " tasks" }</span>
                <span class="stat" data-stat="sockets"><b>{ thousands(d.sockets) }</b>{ " sockets" }</span>
                <span class="stat errors" data-stat="errors"><b>{ d.errors }</b>{ " errors" }</span>
                <span class="stat warnings" data-stat="warnings"><b>{ d.warnings }</b>{ " warnings" }</span>
                if !d.note.is_empty() {
                    <span class="note">{ &d.note }</span>
                }
            </section>
            { for container }
        </>
    }
}

#[derive(Properties, PartialEq, Debug)]
pub struct FilesProps {
    pub doc: Rc<CriuDoc>,
    pub selected: usize,
    pub on_select: Callback<usize>,
}

/// The image files: name, magic, entries; unknown magics and images not decoded are marked;
/// files given that are not read are listed after them.
#[function_component(CriuFiles)]
pub fn criu_files(p: &FilesProps) -> Html {
    let files = &p.doc.files;
    html! {
        <section id="criu-files" class="panel">
            <h2>{ "Image files" }<span class="count">{ files.len() }</span></h2>
            <div class="table-wrap">
            <table>
                <thead><tr><th>{ "file" }</th><th>{ "magic" }</th><th>{ "entries" }</th><th>{ "bytes" }</th></tr></thead>
                <tbody>
                { for files.iter().enumerate().map(|(i, f)| {
                    let onclick = p.on_select.reform(move |_: MouseEvent| i);
                    let unknown = f.known_magic().is_none();
                    html! {
                        <tr key={i} class={classes!((p.selected == i).then_some("focus"), unknown.then_some("unknown"))}
                            data-name={f.name.clone()} {onclick}>
                            <td class="name">{ &f.name }</td>
                            <td class="magic">{ f.magic_name() }
                                if unknown { <span class="tag">{ " unknown" }</span> }
                                else if !f.decoded { <span class="tag">{ " not decoded" }</span> }
                            </td>
                            <td class="num">{ f.entry_count() }</td>
                            <td class="num">{ thousands(f.bytes.len()) }</td>
                        </tr>
                    }
                }) }
                { for p.doc.skipped.iter().map(|(name, why)| html! {
                    <tr class="skipped" data-name={name.clone()}>
                        <td class="name">{ name }</td><td colspan="3">{ why.as_str() }</td>
                    </tr>
                }) }
                </tbody>
            </table>
            </div>
        </section>
    }
}

#[derive(Properties, PartialEq, Debug)]
pub struct EntriesProps {
    pub doc: Rc<CriuDoc>,
    pub sel: CriuSel,
    pub on_entry: Callback<usize>,
    pub on_field: Callback<String>,
    pub on_hover_field: Callback<Option<String>>,
    pub on_more: Callback<()>,
}

fn overlaps(a: &Range<usize>, b: &Range<usize>) -> bool {
    a.start < b.end && b.start < a.end
}

/// The entries of the shown file; the selected one with its fields (path, value, bytes).
#[function_component(CriuEntries)]
pub fn criu_entries(p: &EntriesProps) -> Html {
    let Some(file) = p.doc.files.get(p.sel.file) else { return html! {} };
    let total = file.entry_count();
    let end = p.sel.shown.min(total);
    let fields = p.sel.fields.as_deref().filter(|f| f.file == p.sel.file && Some(f.entry) == p.sel.entry);
    let on_more = p.on_more.reform(|_: MouseEvent| ());
    html! {
        <section id="criu-entries" class="panel">
            <h2>{ format!("Entries of {}", file.name) }<span class="count">{ format!("{end} of {}", thousands(total)) }</span></h2>
            <div class="scroll" id="criu-entries-scroll">
                if total == 0 {
                    <p class="muted">{ if file.decoded || file.known_magic().is_none() { "no entries framed" } else { "not decoded: listed by name and magic" } }</p>
                }
                <ol class="record-list">
                { for (0..end).filter_map(|i| file.entry(i).map(|e| (i, e))).map(|(i, e)| {
                    let selected = p.sel.entry == Some(i);
                    let onclick = p.on_entry.reform(move |_: MouseEvent| i);
                    html! {
                        <li key={i} class={classes!("record", "entry", selected.then_some("selected"))} data-index={i.to_string()}>
                            <div class="record-head" {onclick}>
                                <span class="toggle">{ if selected { "▾" } else { "▸" } }</span>
                                <span class="idx">{ format!("#{i}") }</span>
                                <span class="off">{ format!("{:#08x}", e.range.start) }</span>
                                <span class="ty">{ file.magic_name() }</span>
                                <span class="len">{ format!("{} B", e.range.len()) }
                                    if let Some(x) = &e.extra { { format!(" + {} B", x.len()) } }</span>
                            </div>
                            if selected {
                                { fields_html(p, fields) }
                            }
                        </li>
                    }
                }) }
                </ol>
                if end < total {
                    <button class="more later" onclick={on_more}>{ format!("show more ({} more entries)", thousands(total - end)) }</button>
                }
            </div>
        </section>
    }
}

fn fields_html(p: &EntriesProps, fields: Option<&Fields>) -> Html {
    let Some(Fields { rows, error, schema, .. }) = fields else { return html! {} };
    if rows.is_empty() && error.is_none() {
        let what = if *schema { "an empty message" } else { "its schema is not decoded here" };
        return html! { <p class="muted">{ what }</p> };
    }
    html! {
        <>
        <ul class="fields">
        { for rows.iter().map(|f| {
            let (hover, leave, click) = (p.on_hover_field.clone(), p.on_hover_field.clone(), p.on_field.clone());
            let (k1, k2) = (f.path.clone(), f.path.clone());
            let in_focus = p.sel.focus_field.as_deref() == Some(f.path.as_str())
                || p.sel.focus.as_ref().is_some_and(|r| overlaps(r, &f.range));
            let hovered = p.sel.hover.as_ref().is_some_and(|(h, _)| h == &f.path);
            html! {
                <li class={classes!("field", (!f.known).then_some("unknown"), hovered.then_some("hover"), in_focus.then_some("focus"))}
                    data-key={f.path.clone()}
                    style={format!("padding-left: {}px", 4 + 14 * f.depth)}
                    onmouseenter={Callback::from(move |_: MouseEvent| hover.emit(Some(k1.clone())))}
                    onmouseleave={Callback::from(move |_: MouseEvent| leave.emit(None))}
                    onclick={Callback::from(move |e: MouseEvent| { e.stop_propagation(); click.emit(k2.clone()) })}>
                    <span class="key">{ &f.path }</span>
                    <span class="val">{ &f.value }</span>
                    if !f.known { <span class="note">{ "unknown field: kept, not decoded" }</span> }
                </li>
            }
        }) }
        </ul>
        if let Some(e) = error {
            <p class="framing-error">{ format!("the walk stops: {e}") }</p>
        }
        </>
    }
}

#[derive(Properties, PartialEq, Debug)]
pub struct HexProps {
    pub doc: Rc<CriuDoc>,
    pub sel: CriuSel,
    pub on_hover: Callback<Option<usize>>,
}

/// The bytes of the selected entry (or the file's start), with the focus and the hovered field.
#[function_component(CriuHex)]
pub fn criu_hex(p: &HexProps) -> Html {
    let Some(file) = p.doc.files.get(p.sel.file) else { return html! {} };
    let bytes = &file.bytes;
    let base = match p.sel.entry.and_then(|e| file.entry(e)) {
        Some(e) => e.range,
        None => match &p.sel.focus {
            Some(f) => (f.start.min(bytes.len()) & !15).saturating_sub(64)..f.end.saturating_add(64).min(bytes.len()),
            None => 0..bytes.len(),
        },
    };
    let mut start = base.start.min(bytes.len());
    if let Some(f) = &p.sel.focus {
        if f.start >= start + HEX_MAX && f.start < base.end {
            start = (f.start & !15).saturating_sub(64).max(base.start);
        }
    }
    let region = start..base.end.min(start + HEX_MAX).min(bytes.len());
    let hover = p.sel.hover.as_ref().map(|h| &h.1);
    let head = p.sel.entry.and_then(|e| file.entry(e)).map(|e| e.range.start..e.payload.start);
    let label = match p.sel.entry {
        Some(e) => format!("{} entry #{e} at {:#x}", file.name, region.start),
        None => format!("{} bytes {:#x}..{:#x}", file.name, region.start, region.end),
    };
    let panel = HexPanel {
        id: "criu-hex",
        scroll_id: "criu-hex-scroll",
        label,
        hover: p.sel.hover.as_ref().map(|(n, r)| (n.as_str(), r)),
        bytes,
        region: region.clone(),
        more: (region.end < base.end).then(|| format!("… entry continues to {:#x}", base.end)),
        on_hover: &p.on_hover,
    };
    panel.render(&|o| {
        classes!(
            inside(head.as_ref(), o).then_some("hdr"),
            inside(p.sel.focus.as_ref(), o).then_some("hl"),
            inside(hover, o).then_some("hv")
        )
    })
}

#[derive(Properties, PartialEq, Debug)]
pub struct DiagProps {
    pub doc: Rc<CriuDoc>,
    pub focus: Option<usize>,
    pub on_select: Callback<usize>,
}

/// The CRIU diagnostics, located: file, entry, byte offset, field path.
#[function_component(CriuDiagnostics)]
pub fn criu_diagnostics(p: &DiagProps) -> Html {
    let diags = &p.doc.diagnostics;
    html! {
        <section id="diagnostics" class="panel criu">
            <h2>{ "Diagnostics" }<span class="count">{ diags.len() }</span></h2>
            if diags.is_empty() {
                <p class="ok">{ "No findings: the checkpoint is valid." }</p>
            } else {
                <ul class="diag-list">
                { for diags.iter().enumerate().map(|(k, d)| {
                    let sev = match d.severity { Severity::Error => "error", Severity::Warning => "warning" };
                    let onclick = p.on_select.reform(move |_: MouseEvent| k);
                    let mut at = d.file.clone().unwrap_or_default();
                    if let Some(e) = d.record {
                        at.push_str(&format!(" entry #{e}"));
                    }
                    at.push_str(&format!(" @{:#x}", d.range.start));
                    html! {
                        <li key={k} class={classes!("diag", sev, (p.focus == Some(k)).then_some("focus"))}
                            data-code={d.code.as_str()} data-index={k.to_string()} {onclick}>
                            <div class="diag-head">
                                <span class="sev">{ sev }</span>
                                <code class="code">{ d.code.as_str() }</code>
                                <span class="at">{ at }</span>
                                if let Some(f) = &d.field {
                                    <span class="objref field">{ f.clone() }</span>
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

#[derive(Properties, PartialEq, Debug)]
pub struct NotesProps {
    pub doc: Rc<CriuDoc>,
    /// Notes rendered (more on demand).
    pub shown: usize,
    pub on_more: Callback<()>,
}

/// What a CRIU restore loses (the mapping's notes, per socket), or why there is no restore.
#[function_component(CriuNotes)]
pub fn criu_notes(p: &NotesProps) -> Html {
    let d = &p.doc;
    let total = d.notes.len();
    let shown = d.notes.get(0..p.shown);
    let on_more = p.on_more.reform(|_: MouseEvent| ());
    html! {
        <section id="criu-notes" class="panel">
            <h2>{ "Notes" }<span class="count">{ thousands(total) }</span></h2>
            if let Err(why) = &d.image {
                <p class="plan-error" id="criu-unmapped">{ format!("No socket graph or plan: {why}.") }</p>
            } else if total == 0 {
                <p class="ok">{ "The checkpoint maps onto resocket's model without loss." }</p>
            } else {
                <p class="muted">{ "What CRIU does not record, or the mapping cannot say, per socket:" }</p>
                <ul class="notes">
                { for shown.iter().map(|n| html! {
                    <li data-code={n.code.as_str()}>
                        <code class="code">{ n.code.as_str() }</code>
                        if let Some(s) = &n.socket { <span class="sock">{ format!(" {s}") }</span> }
                        <span class="msg">{ format!(": {}", n.message) }</span>
                    </li>
                }) }
                </ul>
                if p.shown < total {
                    <button class="more later" onclick={on_more}>{ format!("show more ({} more notes)", thousands(total - p.shown)) }</button>
                }
            }
        </section>
    }
}

/// The interface addresses CRIU saved (`ifaddr-N.img`, on `netdev-N.img`'s devices), per
/// namespace: the simulator's host for the plan and the timeline is built from those of the
/// namespace marked as planned for (`criu::Opened::host`).
#[function_component(CriuAddresses)]
pub fn criu_addresses(p: &DocProps) -> Html {
    let addrs = &p.doc.addresses;
    if addrs.is_empty() {
        return html! {};
    }
    html! {
        <section id="criu-addresses" class="panel">
            <h2>{ "Saved addresses" }<span class="count">{ addrs.len() }</span></h2>
            <p class="muted">{ "What ip addr save wrote (ifaddr-N.img): the checkpoint opens planned and simulated for the namespace marked planned for (the host control above the timeline can choose a fresh one)." }</p>
            <div class="table-wrap">
            <table>
                <thead><tr><th>{ "netns" }</th><th>{ "interface" }</th><th>{ "address" }</th><th>{ "flags" }</th><th></th></tr></thead>
                <tbody>
                { for addrs.iter().map(|a| {
                    let dev = a.device.clone().unwrap_or_else(|| format!("if{}", a.ifindex));
                    let ip = a.addr.map_or_else(|| "-".to_string(), |ip| format!("{ip}/{}", a.prefix));
                    let flags = [(a.secondary, "secondary"), (a.tentative, "tentative")]
                        .into_iter()
                        .filter_map(|(on, f)| on.then_some(f))
                        .collect::<Vec<_>>()
                        .join(" ");
                    html! {
                        <tr class={classes!(a.planned.then_some("planned"))} data-ns={a.ns.to_string()}>
                            <td class="num">{ a.ns }</td>
                            <td class="name">{ dev }</td>
                            <td class="num addr">{ ip }</td>
                            <td>{ flags }</td>
                            <td class="muted">{ if a.planned { "planned for" } else { "" } }</td>
                        </tr>
                    }
                }) }
                </tbody>
            </table>
            </div>
        </section>
    }
}
