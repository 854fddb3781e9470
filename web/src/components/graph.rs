//! The socket graph (SVG): the image's, and the simulated kernel's in the timeline.

use crate::model::{thousands, Drawing, EdgeKind, GNode, CELL_H, CELL_W};
use resocket_core::sock::Role;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use yew::prelude::*;

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
        // One path per role and one per edge kind.
        let mut by_role: BTreeMap<Role, String> = BTreeMap::new();
        for (n, (x, y)) in &visible {
            let path = by_role.entry(n.role).or_default();
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
        let mut by_kind: BTreeMap<&str, String> = BTreeMap::new();
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
            let _ = write!(by_kind.entry(kind).or_default(), "M{} {}L{} {}", Px(a.0), Px(a.1), Px(b.0), Px(b.1));
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
