//! Hex dumps: the open image's hex view, and the panel frame the CRIU panels share.

use crate::model::Doc;
use std::ops::Range;
use std::rc::Rc;
use yew::prelude::*;

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

/// A hex dump panel: its frame (title, caption, the hovered byte reported by offset) and its
/// rows of 16 bytes, each byte's classes given by the caller. The image's hex view and the
/// CRIU panels' hex are both this.
#[derive(Debug)]
pub struct HexPanel<'a> {
    /// Element ids of the panel and of its scroll box.
    pub id: &'static str,
    pub scroll_id: &'static str,
    /// What the region is, after the title.
    pub label: String,
    /// The hovered field's name and bytes, for the caption.
    pub hover: Option<(&'a str, &'a Range<usize>)>,
    pub bytes: &'a [u8],
    /// Absolute range shown (within `bytes`).
    pub region: Range<usize>,
    /// A last line saying that the unit shown goes on past the region.
    pub more: Option<String>,
    pub on_hover: &'a Callback<Option<usize>>,
}

impl HexPanel<'_> {
    /// The panel, with `class_of(offset)` the classes of each byte beyond `b` (a `dyn`: one
    /// instance of this function for both panels).
    pub fn render(&self, class_of: &dyn Fn(usize) -> Classes) -> Html {
        let bytes = self.bytes;
        let region = self.region.start.min(bytes.len())..self.region.end.min(bytes.len());
        let onmouseover = self.on_hover.reform(|e: MouseEvent| {
            e.target_dyn_into::<web_sys::Element>()
                .and_then(|el| el.get_attribute("data-off"))
                .and_then(|s| s.parse::<usize>().ok())
        });
        let onmouseleave = self.on_hover.reform(|_: MouseEvent| None);
        let rows = region.clone().step_by(16).map(|row| {
            let end = (row + 16).min(region.end);
            let ascii: String =
                bytes[row..end].iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' }).collect();
            html! {
                <div class="row" key={row}>
                    <span class="addr">{ format!("{row:08x}") }</span>
                    <span class="bytes">
                    { for (row..end).map(|o| html! {
                        <span class={classes!("b", class_of(o))} data-off={o.to_string()}>{ format!("{:02x}", bytes[o]) }</span>
                    }) }
                    </span>
                    <span class="ascii">{ ascii }</span>
                </div>
            }
        });
        html! {
            <section id={self.id} class="panel">
                <h2>{ "Hex" }<span class="count">{ self.label.clone() }</span></h2>
                <div class="caption">
                    { match self.hover {
                        Some((n, r)) => format!("{n}: {:#x}..{:#x} ({} B)", r.start, r.end, r.len()),
                        None => "hover a byte or a field".to_string(),
                    } }
                </div>
                <div class="scroll hexdump" id={self.scroll_id} {onmouseover} {onmouseleave}>
                    { for rows }
                    if let Some(more) = &self.more {
                        <div class="row note">{ more.clone() }</div>
                    }
                </div>
            </section>
        }
    }
}

/// Whether `o` is in `r`.
pub fn inside(r: Option<&Range<usize>>, o: usize) -> bool {
    r.is_some_and(|r| r.contains(&o))
}

#[function_component(HexView)]
pub fn hex_view(p: &HexProps) -> Html {
    let bytes = &p.doc.bytes;
    let start = p.region.start.min(bytes.len());
    // Header and padding bytes of the record the region starts in, from core's layout table.
    let (hdr, pads) = match p.doc.record_containing(start).and_then(|i| p.doc.record(i)) {
        Some(rec) => {
            let pads: Vec<Range<usize>> = resocket_core::wire::layout(rec.ty)
                .filter(|l| l.size == rec.len())
                .map(|l| l.padding().into_iter().map(|r| rec.offset + r.start..rec.offset + r.end).collect())
                .unwrap_or_default();
            (rec.offset..rec.offset + resocket_core::wire::HDR_LEN, pads)
        }
        None => (0..0, Vec::new()),
    };
    let more = p.region.end < bytes.len()
        && p.doc
            .record_containing(p.region.end.saturating_sub(1))
            .is_some_and(|i| p.doc.records[i].range().end > p.region.end);
    let panel = HexPanel {
        id: "hex",
        scroll_id: "hex-scroll",
        label: p.label.clone(),
        hover: p.hover_name.as_deref().zip(p.hover.as_ref()),
        bytes,
        region: p.region.clone(),
        more: more.then(|| format!("… record continues to {:#x}", p.region.end.max(1))),
        on_hover: &p.on_hover,
    };
    panel.render(&|o| {
        classes!(
            hdr.contains(&o).then_some("hdr"),
            pads.iter().any(|r| r.contains(&o)).then_some("pad"),
            inside(p.focus.as_ref(), o).then_some("hl"),
            inside(p.hover.as_ref(), o).then_some("hv")
        )
    })
}
