//! What the inspector shows about one loaded image, computed once from `resocket-core` when the
//! image is opened: the record index, the report's diagnostics, socket rows and the summary.
//! Nothing here parses bytes itself: framing, decoding, layouts and validation all come from core.

use resocket_core::summary::{family_name, roles, sock_name, sym_name, type_name, Role};
use resocket_core::wire::{self, sym, Record, RecordType, Records, HDR_LEN};
use resocket_core::Diagnostic;
use std::ops::Range;
use std::rc::Rc;

/// One framed record, without its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecInfo {
    /// Offset of the header in the image.
    pub offset: usize,
    /// Type.
    pub ty: RecordType,
    /// `h.len`.
    pub len: usize,
}

impl RecInfo {
    /// Absolute byte range.
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset + self.len
    }
}

/// One row of the sockets table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SockRow {
    pub objref: i32,
    pub family: String,
    pub ty: String,
    pub state: String,
    pub role: Role,
    pub name: String,
    pub peer: i32,
    pub queued_msgs: usize,
    pub queued_bytes: usize,
    pub pending: usize,
    /// Index of its `SOCKET` record.
    pub record: usize,
}

/// The counts of the summary line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub sockets: usize,
    pub records: usize,
    pub bytes: usize,
    pub errors: usize,
    pub warnings: usize,
    /// `resocket_core::summary::summary_line`.
    pub line: String,
}

/// A loaded image.
#[derive(Debug)]
pub struct Doc {
    /// Its number, unique for as long as the page lives: the kernel worker keeps the image of
    /// the doc asked about last (`message::KernelAsk::doc`).
    pub id: u64,
    /// File or gallery name.
    pub name: String,
    /// What the image is (the fixture's description), if known.
    pub note: String,
    /// The image.
    pub bytes: Rc<[u8]>,
    /// Every record the framing could read.
    pub records: Vec<RecInfo>,
    /// The framing error that stopped the record list, with its offset.
    pub framing: Option<(usize, String)>,
    /// `load(bytes).diagnostics`.
    pub diagnostics: Vec<Diagnostic>,
    /// Sockets in objref order.
    pub sockets: Vec<SockRow>,
    /// Counts.
    pub summary: Summary,
    /// The model core built (detached from `bytes`), kept so that drawing and planning do not
    /// load the image again.
    pub image: resocket_core::Image<'static>,
    /// The image has TCP/UDP sockets.
    pub inet: bool,
    /// The addresses besides loopback its sockets are bound to (`plan::image_addrs`).
    pub addrs: Rc<[std::net::IpAddr]>,
}

/// A number no doc of this page had.
fn next_doc_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Identity: two docs are the same when they are the same allocation (state compares by `Rc`).
impl PartialEq for Doc {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Doc {
    /// Frame, load and validate `bytes` with `resocket-core`.
    pub fn load(name: impl Into<String>, bytes: Rc<[u8]>) -> Doc {
        let report = resocket_core::load(&bytes);
        Doc::build(name, bytes.clone(), report)
    }

    /// The doc of `bytes` whose `load` report is `report` (made in slices by the caller).
    pub fn build(name: impl Into<String>, bytes: Rc<[u8]>, report: resocket_core::Report<'_>) -> Doc {
        let mut records = Vec::new();
        let mut framing = None;
        for r in Records::new(&bytes) {
            match r {
                Ok(r) => records.push(RecInfo { offset: r.offset, ty: r.ty, len: r.len() }),
                Err(e) => framing = Some((e.offset(), e.to_string())),
            }
        }
        let img = &report.image;
        let roles = roles(img);
        let sockets = img
            .sockets
            .values()
            .zip(roles)
            .map(|(s, role)| SockRow {
                objref: s.objref,
                family: family_name(s.common.family),
                ty: type_name(s.common.sock_type),
                state: sym_name(sym::TCP, u64::from(s.common.state)),
                role,
                name: sock_name(s),
                peer: s.peer(),
                queued_msgs: s.queue.len(),
                queued_bytes: s.queued_bytes(),
                pending: s.pending.len(),
                record: s.record,
            })
            .collect();
        let summary = Summary {
            sockets: img.sockets.len(),
            records: img.record_count,
            bytes: img.size,
            errors: report.error_count(),
            warnings: report.warning_count(),
            line: resocket_core::summary::summary_line(&report),
        };
        let diagnostics = report.diagnostics;
        let image = report.image.into_owned();
        let inet = image.sockets.values().any(|s| s.inet.is_some());
        let addrs = resocket_core::plan::image_addrs(&image).into();
        Doc {
            id: next_doc_id(),
            name: name.into(),
            note: String::new(),
            bytes,
            records,
            framing,
            diagnostics,
            sockets,
            summary,
            image,
            inet,
            addrs,
        }
    }

    /// The framed record at `index`.
    pub fn record(&self, index: usize) -> Option<Record<'_>> {
        let r = self.records.get(index)?;
        Some(Record { offset: r.offset, ty: r.ty, bytes: self.bytes.get(r.range())? })
    }

    /// Index of the record whose bytes contain `offset`.
    pub fn record_containing(&self, offset: usize) -> Option<usize> {
        let i = self.records.partition_point(|r| r.offset <= offset).checked_sub(1)?;
        self.records[i].range().contains(&offset).then_some(i)
    }

    /// True when the image has no errors.
    pub fn is_valid(&self) -> bool {
        self.summary.errors == 0
    }
}

/// The record-relative bytes a key of `text::decode_record`'s object stands for: a layout field,
/// the header's `type`, or the payload of a variable-length record.
pub fn key_range(rec: &Record<'_>, key: &str) -> Option<Range<usize>> {
    if key == "type" {
        return Some(0..4);
    }
    if key == "len" {
        return Some(4..HDR_LEN);
    }
    if let Some(l) = wire::layout(rec.ty).filter(|l| l.size == rec.len()) {
        return l.fields.iter().find(|f| f.name == key).map(|f| f.offset..f.offset + f.size);
    }
    match key {
        "text" | "hex" | "nuls" => Some(HDR_LEN..rec.len()),
        "objrefs" if rec.ty == RecordType::RS_RIGHTS => Some(16.min(rec.len())..rec.len()),
        "reserved" if rec.ty == RecordType::RS_RIGHTS => Some(12..16),
        _ => None,
    }
}

/// The key (as in `key_range`) that record-relative byte `at` belongs to.
pub fn key_at(rec: &Record<'_>, at: usize) -> Option<&'static str> {
    if at < 4 {
        return Some("type");
    }
    if at < HDR_LEN {
        return Some("len");
    }
    if let Some(l) = wire::layout(rec.ty).filter(|l| l.size == rec.len()) {
        return l.field_at(at).map(|f| f.name);
    }
    if rec.ty == RecordType::RS_RIGHTS && wire::Rights::new_checked(*rec).is_ok() {
        return Some(if at < 16 { "reserved" } else { "objrefs" });
    }
    match resocket_core::text::decode_record(rec).get("text") {
        Some(_) => Some("text"),
        None => Some("hex"),
    }
}

/// Largest number of bytes the hex view renders at once.
pub const HEX_MAX: usize = 2048;

/// The bytes the hex view shows: the selected record (or, for a focus outside every record, the
/// rows around it), at most [`HEX_MAX`] bytes, moved so that the focus is visible.
pub fn hex_region(doc: &Doc, selected: Option<usize>, focus: Option<&Range<usize>>) -> Range<usize> {
    let total = doc.bytes.len();
    let base = match (selected.and_then(|i| doc.records.get(i)), focus) {
        (Some(r), _) => r.range(),
        (None, Some(f)) => {
            let start = (f.start.min(total) & !15).saturating_sub(64);
            start..(f.end.max(f.start + 1) + 64).min(total)
        }
        (None, None) => 0..total,
    };
    let mut start = base.start;
    if let Some(f) = focus {
        if f.start >= start + HEX_MAX && f.start < base.end {
            start = (f.start & !15).saturating_sub(64).max(base.start);
        }
    }
    start..base.end.min(start + HEX_MAX)
}

/// Format `n` bytes as `1,234 B` style text.
pub fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Socket graph view-model: built from an image or from the simulated kernel of a restore run.

use resocket_core::check::Run;
use resocket_core::criu::SavedHost;
use resocket_core::image::Image;
use resocket_core::sim::HostAddrs;
use std::collections::BTreeMap;
use std::net::IpAddr;

/// The host a restore is planned and simulated for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanHost {
    /// A fresh network namespace with `lo` up and these addresses besides loopback (none: `lo`
    /// only, the default).
    Fresh(Rc<[IpAddr]>),
    /// The network namespace a CRIU checkpoint saved: its addresses and routes (what a CLI
    /// `restore plan` of the checkpoint plans for).
    Saved(Rc<SavedHost>),
}

impl Default for PlanHost {
    fn default() -> Self {
        PlanHost::Fresh(Rc::from([]))
    }
}

impl PlanHost {
    /// The simulator's host.
    pub fn addrs(&self) -> HostAddrs {
        match self {
            PlanHost::Fresh(extra) => HostAddrs::loopback_and(extra),
            PlanHost::Saved(s) => s.host.clone(),
        }
    }
}

/// Above this many sockets the graph and the timeline are built only on request.
pub const BIG: usize = 2000;

/// One socket of the graph.
#[derive(Debug, Clone, PartialEq, Eq, resocket_core::codec::Encode, resocket_core::codec::Decode)]
pub struct GNode {
    /// Image objref; temporaries of a restore run get `-(sockref + 1)`.
    pub objref: i32,
    /// `stream`, `dgram`, `seqpacket` (or `typeN`).
    pub ty: String,
    /// Its role: [`summary::role`](resocket_core::summary::role) for an image's socket,
    /// [`Kernel::roles`](resocket_core::sim::Kernel::roles) for the kernel's.
    pub role: Role,
    pub name: String,
    pub queued: usize,
    pub queued_bytes: usize,
    /// Listeners: (pending connections, connections admitted = backlog + 1).
    pub backlog: Option<(usize, i64)>,
    /// `sk_shutdown` bits (1 = RCV, 2 = SEND).
    pub shutdown: u8,
    /// INET: the address of a peer outside the image (drawn as a dashed stub).
    pub external: Option<String>,
}

/// What an edge stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, resocket_core::codec::Encode, resocket_core::codec::Decode)]
pub enum EdgeKind {
    /// Connected peers (one edge per mutual pair; one-way for dgram connects).
    Peer,
    /// A socket connected to itself.
    SelfLoop,
    /// Embryo → listener, labelled by its accept position.
    Pending(usize),
    /// A socket in flight (SCM_RIGHTS) → the socket whose queue holds it.
    InFlight,
}

/// One edge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, resocket_core::codec::Encode, resocket_core::codec::Decode)]
pub struct GEdge {
    pub from: i32,
    pub to: i32,
    pub kind: EdgeKind,
}

/// Nodes and edges, nodes in objref order (the kernel worker posts its kernel's:
/// `message::KernelAnswer`).
#[derive(Debug, Clone, PartialEq, Eq, Default, resocket_core::codec::Encode, resocket_core::codec::Decode)]
pub struct Graph {
    pub nodes: Vec<GNode>,
    pub edges: Vec<GEdge>,
}

/// Node centres by objref: the objrefs sorted, with their centres (looked up by binary search;
/// a map type here was one more B-tree instance in the bundle).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Positions {
    keys: Vec<i32>,
    xy: Vec<(f64, f64)>,
}

impl Positions {
    /// The centre of node `objref`.
    pub fn get(&self, objref: &i32) -> Option<&(f64, f64)> {
        self.keys.binary_search(objref).ok().map(|i| &self.xy[i])
    }
    /// Every centre, in objref order.
    pub fn values(&self) -> impl Iterator<Item = &(f64, f64)> + '_ {
        self.xy.iter()
    }
}

/// Node centres by objref, and the drawing's size.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Layout {
    pub pos: Positions,
    pub width: f64,
    pub height: f64,
}

/// Grid cell size of the layout.
pub const CELL_W: f64 = 190.0;
pub const CELL_H: f64 = 78.0;
const COLS: usize = 6;

fn peer_edges(nodes: &[GNode], peer: &BTreeMap<i32, i32>, edges: &mut Vec<GEdge>) {
    for n in nodes {
        let Some(&p) = peer.get(&n.objref) else { continue };
        if p == n.objref {
            edges.push(GEdge { from: p, to: p, kind: EdgeKind::SelfLoop });
        } else if peer.get(&p) != Some(&n.objref) || n.objref < p {
            edges.push(GEdge { from: n.objref, to: p, kind: EdgeKind::Peer });
        }
    }
}

impl Graph {
    /// The graph of an image.
    pub fn of_image(img: &Image<'_>) -> Graph {
        let mut g = Graph::default();
        let mut peer = BTreeMap::new();
        // INET peers are matched by address (loopback connections whose two ends are here).
        let inet_peers = resocket_core::image::inet::peers(img);
        for (s, role) in img.sockets.values().zip(roles(img)) {
            g.nodes.push(GNode {
                objref: s.objref,
                ty: type_name(s.common.sock_type),
                role,
                name: sock_name(s),
                queued: s.queue.len(),
                queued_bytes: s.queued_bytes(),
                backlog: s.is_listener().then(|| (s.pending.len(), s.effective_backlog() + 1)),
                shutdown: s.common.shutdown,
                external: (s.inet_connected() && !inet_peers.contains_key(&s.objref))
                    .then(|| s.inet_remote().map_or_else(|| "?".into(), |r| r.to_string())),
            });
            if s.peer() != 0 && img.sockets.contains_key(&s.peer()) {
                peer.insert(s.objref, s.peer());
            }
            if let Some(&p) = inet_peers.get(&s.objref) {
                peer.insert(s.objref, p);
            }
        }
        peer_edges(&g.nodes, &peer, &mut g.edges);
        for s in img.sockets.values() {
            for (i, p) in s.pending.iter().enumerate() {
                g.edges.push(GEdge { from: p.embryo, to: s.objref, kind: EdgeKind::Pending(i) });
            }
            for m in &s.queue {
                for f in &m.rights {
                    if let Some(f) = img.files.get(f) {
                        g.edges.push(GEdge { from: f.repr.sock_objref, to: s.objref, kind: EdgeKind::InFlight });
                    }
                }
            }
        }
        g
    }

    /// The graph of the simulated kernel of a restore run (released sockets left out).
    pub fn of_run(run: &Run<'_>) -> Graph {
        Graph::of_kernel(&run.kernel, &|r| run.objref_of(r).unwrap_or(-(r as i32) - 1))
    }

    /// The graph of a simulated kernel, each socket keyed by `key` of its sockref (released
    /// sockets left out).
    pub fn of_kernel(k: &resocket_core::sim::Kernel, key: &dyn Fn(usize) -> i32) -> Graph {
        let mut g = Graph::default();
        let mut peer = BTreeMap::new();
        let live = |r: usize| !k.socks[r].dead;
        let roles = k.roles();
        for (r, s) in k.socks.iter().enumerate().filter(|&(r, _)| live(r)) {
            let p = s.peer.filter(|&p| live(p));
            let role = roles[r].unwrap_or(Role::Unconnected);
            g.nodes.push(GNode {
                objref: key(r),
                ty: s.ty.word().to_string(),
                role,
                name: match (&s.name, k.inet.get(&r).and_then(|i| i.local)) {
                    (Some(n), _) => n.display(),
                    (None, Some(a)) => a.to_string(),
                    (None, None) => "(unnamed)".to_string(),
                },
                queued: if s.state == resocket_core::sock::SkState::Listen { 0 } else { s.queue.len() },
                queued_bytes: s.queue.iter().map(|b| b.data.len()).sum(),
                backlog: (s.state == resocket_core::sock::SkState::Listen)
                    .then(|| (s.queue.len(), s.max_ack_backlog + 1)),
                shutdown: s.shutdown,
                external: None,
            });
            if let Some(p) = p {
                peer.insert(key(r), key(p));
            }
        }
        peer_edges(&g.nodes, &peer, &mut g.edges);
        for (r, s) in k.socks.iter().enumerate().filter(|&(r, _)| live(r)) {
            for (i, e) in s.queue.iter().filter_map(|b| b.embryo).enumerate() {
                g.edges.push(GEdge { from: key(e), to: key(r), kind: EdgeKind::Pending(i) });
            }
            for f in s.queue.iter().flat_map(|b| &b.rights) {
                g.edges.push(GEdge { from: key(*f), to: key(r), kind: EdgeKind::InFlight });
            }
        }
        g
    }

    /// Node by objref.
    pub fn node(&self, objref: i32) -> Option<&GNode> {
        self.nodes.iter().find(|n| n.objref == objref)
    }

    /// A deterministic grid layout: each listener on the left of a block of rows with, per
    /// pending connection, its embryo and the embryo's client; then connected pairs side by side
    /// (three pairs a row); then the other sockets, six a row. Nodes with a position in `base`
    /// keep it (the timeline draws the kernel where the image has its sockets).
    pub fn layout(&self, base: Option<&Layout>) -> Layout {
        // Each node's position by its index; nodes found by objref through `keys`.
        let mut keys: Vec<(i32, usize)> = self.nodes.iter().enumerate().map(|(i, n)| (n.objref, i)).collect();
        resocket_core::order::sort_by_rank(&mut keys, |k| resocket_core::order::rank_i32(k.0));
        let index = |o: i32| keys.binary_search_by_key(&o, |k| k.0).ok().map(|j| keys[j].1);
        let mut pos = NodePos { at: vec![None; self.nodes.len()], index };
        let mut row = 0usize;
        let at = |c: usize, r: usize| ((c as f64 + 0.5) * CELL_W, (r as f64 + 0.5) * CELL_H);
        if let Some(b) = base {
            for n in &self.nodes {
                if let Some(&p) = b.pos.get(&n.objref) {
                    pos.insert(n.objref, p);
                }
            }
            row = (b.height / CELL_H).round() as usize;
        } else {
            let peer: BTreeMap<i32, i32> = resocket_core::order::map(
                self.edges.iter().filter(|e| e.kind == EdgeKind::Peer).flat_map(|e| [(e.from, e.to), (e.to, e.from)]),
            );
            // (listener, embryo) in accept order per listener (a stable sort of a list: no
            // map-of-lists type in the bundle).
            let mut pending: Vec<(i32, i32)> =
                self.edges.iter().filter(|e| matches!(e.kind, EdgeKind::Pending(_))).map(|e| (e.to, e.from)).collect();
            resocket_core::order::sort_by_rank(&mut pending, |p| resocket_core::order::rank_i32(p.0));
            for n in self.nodes.iter().filter(|n| n.role == Role::Listening) {
                pos.insert(n.objref, at(0, row));
                let embryos = resocket_core::order::run_of(&pending, n.objref, |p| p.0);
                for (i, &(_, e)) in embryos.iter().enumerate() {
                    pos.or_insert(e, at(1, row + i));
                    if let Some(&c) = peer.get(&e) {
                        pos.or_insert(c, at(2, row + i));
                    }
                }
                row += embryos.len().max(1);
            }
            let mut col = 0;
            for n in &self.nodes {
                let Some(&p) = peer.get(&n.objref) else { continue };
                if pos.contains_key(n.objref) || pos.contains_key(p) {
                    continue;
                }
                pos.insert(n.objref, at(col, row));
                pos.insert(p, at(col + 1, row));
                col += 2;
                if col >= COLS {
                    col = 0;
                    row += 1;
                }
            }
            if col > 0 {
                row += 1;
            }
        }
        let mut col = 0;
        for n in &self.nodes {
            if pos.contains_key(n.objref) {
                continue;
            }
            pos.insert(n.objref, at(col, row));
            col += 1;
            if col == COLS {
                col = 0;
                row += 1;
            }
        }
        if col > 0 {
            row += 1;
        }
        let at = pos.at;
        let pos = Positions {
            keys: keys.iter().map(|k| k.0).collect(),
            // Every node has a position by now (the last pass places the rest).
            xy: keys.iter().map(|k| at[k.1].unwrap_or_default()).collect(),
        };
        let height = pos.values().map(|p| p.1 + CELL_H / 2.0).fold(CELL_H, f64::max).max(row as f64 * CELL_H);
        let width = pos.values().map(|p| p.0 + CELL_W / 2.0).fold(CELL_W, f64::max);
        let width = base.map_or(width, |b| width.max(b.width));
        Layout { pos, width, height }
    }
}

/// Positions while laying out: by node index, found by objref.
struct NodePos<F: Fn(i32) -> Option<usize>> {
    at: Vec<Option<(f64, f64)>>,
    index: F,
}

impl<F: Fn(i32) -> Option<usize>> NodePos<F> {
    fn insert(&mut self, objref: i32, p: (f64, f64)) {
        if let Some(i) = (self.index)(objref) {
            self.at[i] = Some(p);
        }
    }
    fn or_insert(&mut self, objref: i32, p: (f64, f64)) {
        if let Some(i) = (self.index)(objref) {
            self.at[i].get_or_insert(p);
        }
    }
    fn contains_key(&self, objref: i32) -> bool {
        (self.index)(objref).is_some_and(|i| self.at[i].is_some())
    }
}

/// A graph with its layout, shared by `Rc` (compared by identity).
#[derive(Debug)]
pub struct Drawing {
    pub graph: Graph,
    pub layout: Layout,
}

impl PartialEq for Drawing {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Drawing {
    /// A kernel's graph (`message::KernelAnswer::kernel`), laid out where the image has its
    /// sockets (`base`).
    pub fn of_kernel(graph: Graph, base: &Layout) -> Drawing {
        let layout = graph.layout(Some(base));
        Drawing { graph, layout }
    }

    /// The image's graph, laid out.
    pub fn of_image(bytes: &[u8]) -> Drawing {
        Drawing::of(&resocket_core::load(bytes).image)
    }

    /// The graph of a loaded image, laid out.
    pub fn of(img: &Image<'_>) -> Drawing {
        let graph = Graph::of_image(img);
        let layout = graph.layout(None);
        Drawing { graph, layout }
    }
}

/// Which order the timeline runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, resocket_core::codec::Encode, resocket_core::codec::Decode)]
pub enum OrderKind {
    /// `plan::plan`, in its own order.
    #[default]
    Planner,
    /// `check::v2_plan` (the seed's order).
    V2,
    /// `check::naive_order` of the planner's steps.
    Naive,
    /// Reordered by hand.
    Custom,
}

impl OrderKind {
    pub fn id(self) -> &'static str {
        match self {
            OrderKind::Planner => "planner",
            OrderKind::V2 => "v2",
            OrderKind::Naive => "naive",
            OrderKind::Custom => "custom",
        }
    }
    pub fn from_id(s: &str) -> OrderKind {
        match s {
            "v2" => OrderKind::V2,
            "naive" => OrderKind::Naive,
            "custom" => OrderKind::Custom,
            _ => OrderKind::Planner,
        }
    }
}

/// The plans of an image: the planner's (or why there is none) and the seed's v2.
#[derive(Debug)]
pub struct Plans {
    /// The kernel worker's request that made them (`message::Job::Run` names it).
    pub session: u64,
    pub planner: Result<Rc<resocket_core::plan::Plan>, String>,
    pub v2: Rc<resocket_core::plan::Plan>,
}

impl PartialEq for Plans {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

impl Plans {
    pub fn of_image(bytes: &[u8]) -> Plans {
        Plans::of(&resocket_core::load(bytes).image)
    }

    /// The plans of a loaded image (for the default host: `lo` only).
    pub fn of(img: &Image<'_>) -> Plans {
        Plans::of_on(img, &HostAddrs::default())
    }

    /// The plans of a loaded image for a host with these addresses (v2's order binds what the
    /// records say whatever the host: it is the seed's).
    pub fn of_on(img: &Image<'_>, host: &HostAddrs) -> Plans {
        Plans {
            session: 0,
            planner: resocket_core::plan::plan_on(img, host).map(Rc::new).map_err(|e| e.to_string()),
            v2: Rc::new(resocket_core::check::v2_plan(img)),
        }
    }
}

/// The image objrefs a step operates on.
pub fn step_sockets(plan: &resocket_core::plan::Plan, i: usize) -> Vec<i32> {
    plan.steps
        .get(i)
        .map(|s| s.op.slots().filter_map(|slot| plan.slots.get(&slot).and_then(|x| x.objref)).collect())
        .unwrap_or_default()
}
