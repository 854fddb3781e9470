//! The inspector in headless Chromium: render the App, open images through the gallery (the
//! same `Action::Open` path the file picker and drops use), and check what the panels show.
#![cfg(target_arch = "wasm32")]

use resocket_web::gallery;
use resocket_web::model::Doc;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement};

mod fixtures;

wasm_bindgen_test_configure!(run_in_browser);

async fn mount() -> Element {
    fixtures::serve();
    // The app follows (and writes) deep links in the fragment: start each test without one.
    let w = gloo::utils::window();
    let path = w.location().pathname().unwrap();
    w.history().unwrap().replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path)).unwrap();
    let doc = gloo::utils::document();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    fixtures::mount_app(&root);
    yew::scheduler::flush().await;
    root
}

fn all(root: &Element, sel: &str) -> Vec<Element> {
    let list = root.query_selector_all(sel).unwrap();
    (0..list.length()).filter_map(|i| list.item(i)?.dyn_into::<Element>().ok()).collect()
}

fn one(root: &Element, sel: &str) -> Element {
    root.query_selector(sel).unwrap().unwrap_or_else(|| panic!("no element matches {sel}"))
}

fn text(root: &Element, sel: &str) -> String {
    one(root, sel).text_content().unwrap_or_default()
}

async fn click(root: &Element, sel: &str) {
    one(root, sel).unchecked_into::<HtmlElement>().click();
    yew::scheduler::flush().await;
}

/// Click a gallery item and wait until its image is open (the bytes are made in a task: the
/// embedded ones are unpacked by the browser's DecompressionStream).
async fn open_gallery(root: &Element, name: &str) {
    click(root, &format!(".gallery-item[data-name=\"{name}\"]")).await;
    for _ in 0..500 {
        if root.query_selector("#summary .file").unwrap().and_then(|e| e.text_content()).as_deref() == Some(name) {
            return;
        }
        yew::platform::time::sleep(std::time::Duration::from_millis(10)).await;
        yew::scheduler::flush().await;
    }
    panic!("{name} did not open");
}

/// Wait until the timeline shows the plans (the kernel worker's answer: served in the page).
async fn until_planned(root: &Element) {
    for _ in 0..500 {
        if root.query_selector("#timeline .steps").unwrap().is_some()
            && root.query_selector("#timeline .busy").unwrap().is_none()
        {
            return;
        }
        yew::platform::time::sleep(std::time::Duration::from_millis(10)).await;
        yew::scheduler::flush().await;
    }
    panic!("not planned");
}

/// A gallery item's bytes, by name.
async fn by_name(name: &str) -> Option<Rc<[u8]>> {
    fixtures::serve();
    let item = gallery::items().into_iter().find(|i| i.name == name)?;
    Some(item.bytes().await.expect("a fixture file"))
}

async fn hover(el: &Element) {
    let ev = web_sys::MouseEvent::new_with_mouse_event_init_dict("mouseover", &{
        let init = web_sys::MouseEventInit::new();
        init.set_bubbles(true);
        init
    })
    .unwrap();
    el.dispatch_event(&ev).unwrap();
    yew::scheduler::flush().await;
}

#[wasm_bindgen_test]
async fn gallery_opens_a_generated_image_and_panels_render() {
    let root = mount().await;
    assert!(text(&root, "#gallery").contains("synth-mixed-12"));
    assert!(root.query_selector("#records").unwrap().is_none(), "nothing open yet");

    open_gallery(&root, "synth-mixed-12").await;

    let expected = Doc::load("x", Rc::from(gallery::synth_small()));
    let rows = all(&root, "#records .record");
    assert_eq!(rows.len(), expected.records.len().min(resocket_web::state::PAGE));
    assert_eq!(rows[0].get_attribute("data-type").as_deref(), Some("HEADER"));
    let summary = text(&root, "#summary");
    assert!(summary.contains(&format!("{} sockets", expected.summary.sockets)), "{summary}");
    assert!(summary.contains("0 errors"), "{summary}");
    assert!(summary.contains("valid"), "{summary}");
    assert_eq!(all(&root, "#sockets tbody tr").len(), expected.sockets.len());
    assert!(all(&root, "#diagnostics .diag.error").is_empty());
    // The first record is selected and expanded: its fields are listed and its bytes dumped.
    assert!(!all(&root, "#records .record.selected .field").is_empty());
    assert_eq!(all(&root, "#hex .b").len(), expected.records[0].len);
    root.remove();
}

#[wasm_bindgen_test]
async fn field_and_hex_hover_highlight_each_other() {
    let root = mount().await;
    open_gallery(&root, "synth-mixed-12").await;
    // HEADER's `magic` field covers 8 bytes; hovering its first byte in the hex view marks them.
    let magic = resocket_core::wire::HEADER_LAYOUT.fields.iter().find(|f| f.name == "magic").unwrap();
    let byte = one(&root, &format!("#hex .b[data-off=\"{}\"]", magic.offset));
    hover(&byte).await;
    assert_eq!(all(&root, "#hex .b.hv").len(), magic.size);
    assert_eq!(one(&root, "#records .field.hover").get_attribute("data-key").as_deref(), Some("magic"));
    // Clicking a field focuses its bytes.
    click(&root, "#records .record.selected .field[data-key=\"rev\"]").await;
    let rev = resocket_core::wire::HEADER_LAYOUT.fields.iter().find(|f| f.name == "rev").unwrap();
    assert_eq!(all(&root, "#hex .b.hl").len(), rev.size);
    root.remove();
}

#[wasm_bindgen_test]
async fn truncated_image_lists_a_diagnostic_that_highlights_its_bytes() {
    let root = mount().await;
    open_gallery(&root, "synth-truncated").await;
    let expected = Doc::load("x", Rc::from(gallery::synth_truncated()));
    assert!(expected.summary.errors > 0);
    let diags = all(&root, "#diagnostics .diag");
    assert_eq!(diags.len(), expected.diagnostics.len());
    let code = expected.diagnostics[0].code.as_str();
    assert_eq!(diags[0].get_attribute("data-code").as_deref(), Some(code));
    assert!(text(&root, "#summary").contains("invalid"));
    assert!(root.query_selector("#records .framing-error").unwrap().is_some());

    click(&root, "#diagnostics .diag").await;
    assert!(one(&root, "#diagnostics .diag").class_list().contains("focus"));
    assert!(!all(&root, "#hex .b.hl").is_empty(), "the diagnostic's bytes are highlighted");
    let d = &expected.diagnostics[0];
    let hl: Vec<usize> =
        all(&root, "#hex .b.hl").iter().filter_map(|e| e.get_attribute("data-off")?.parse().ok()).collect();
    assert!(hl.iter().all(|o| d.range.contains(o)), "{hl:?} outside {:?}", d.range);
    root.remove();
}

#[wasm_bindgen_test]
async fn every_fixture_loads_in_wasm_with_the_expected_verdict() {
    // resocket-core's own tests do not build for wasm32 (proptest); this runs its loader there.
    // (The CRIU items, groups `criu` and `criu-invalid`: tests/criu.rs.)
    fixtures::serve();
    for item in gallery::items().iter().filter(|i| matches!(i.group, "valid" | "invalid")) {
        let doc = Doc::load(item.name, item.bytes().await.expect("a fixture file"));
        match item.group {
            "valid" => assert_eq!(doc.summary.errors, 0, "{}: {:?}", item.name, doc.diagnostics),
            _ => assert!(!doc.diagnostics.is_empty(), "{} has no findings", item.name),
        }
    }
}

#[wasm_bindgen_test]
async fn big_image_renders_a_window_of_records() {
    // many-1000 (about 8,000 records) when the fixture is embedded; the 100k-record synth-large is
    // left to the e2e test, which runs the optimised build (this one is unoptimised).
    if !gallery::items().iter().any(|i| i.name == "many-1000") {
        return;
    }
    let root = mount().await;
    open_gallery(&root, "many-1000").await;
    // A big image opens in slices (resocket_web::job): wait until it is done.
    for _ in 0..2000 {
        if root.query_selector("#timeline").unwrap().is_some() && root.query_selector("#loading").unwrap().is_none() {
            break;
        }
        resocket_web::job::yield_now().await;
        yew::scheduler::flush().await;
    }
    let page = resocket_web::state::PAGE;
    assert_eq!(all(&root, "#records .record").len(), page);
    assert!(text(&root, "#records").contains("show more"));
    click(&root, "#records button.more.later").await;
    assert_eq!(all(&root, "#records .record").len(), 2 * page);
    assert_eq!(all(&root, "#sockets tbody tr").len(), page);
    root.remove();
}

#[wasm_bindgen_test]
async fn arrow_keys_step_through_records_and_socket_rows_select_their_record() {
    let root = mount().await;
    open_gallery(&root, "synth-mixed-12").await;
    let selected = |root: &Element| one(root, "#records .record.selected").get_attribute("data-index");
    assert_eq!(selected(&root).as_deref(), Some("0"));
    let key = |k: &str| {
        let init = web_sys::KeyboardEventInit::new();
        init.set_key(k);
        init.set_bubbles(true);
        web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()
    };
    let list = one(&root, "#records-scroll");
    list.dispatch_event(&key("ArrowDown")).unwrap();
    list.dispatch_event(&key("ArrowDown")).unwrap();
    yew::scheduler::flush().await;
    assert_eq!(selected(&root).as_deref(), Some("2"));
    // Only the selected record is expanded automatically.
    assert_eq!(all(&root, "#records .record .fields").len(), 1);
    list.dispatch_event(&key("ArrowUp")).unwrap();
    yew::scheduler::flush().await;
    assert_eq!(selected(&root).as_deref(), Some("1"));

    let expected = Doc::load("x", Rc::from(gallery::synth_small()));
    let sock = &expected.sockets[3];
    click(&root, &format!("#sockets tr[data-objref=\"{}\"]", sock.objref)).await;
    assert_eq!(selected(&root), Some(sock.record.to_string()));
    assert_eq!(one(&root, "#records .record.selected").get_attribute("data-type").as_deref(), Some("SOCKET"));
    assert!(one(&root, &format!("#sockets tr[data-objref=\"{}\"]", sock.objref)).class_list().contains("focus"));
    // SOCKET has padding; the hex view marks it.
    assert!(!all(&root, "#hex .b.pad").is_empty());
    assert_eq!(all(&root, "#hex .b.hdr").len(), 8);
    root.remove();
}

fn key_event(k: &str) -> web_sys::KeyboardEvent {
    let init = web_sys::KeyboardEventInit::new();
    init.set_key(k);
    init.set_bubbles(true);
    web_sys::KeyboardEvent::new_with_keyboard_event_init_dict("keydown", &init).unwrap()
}

async fn timeline_key(root: &Element, k: &str, times: usize) {
    let tl = one(root, "#timeline");
    for _ in 0..times {
        tl.dispatch_event(&key_event(k)).unwrap();
    }
    yew::scheduler::flush().await;
    until_idle(root).await;
}

/// Wait until the kernel worker has answered what the timeline asked (the kernel at the
/// cursor, an order's run).
async fn until_idle(root: &Element) {
    for _ in 0..500 {
        if root.query_selector("#timeline[aria-busy=\"false\"]").unwrap().is_some() {
            return;
        }
        yew::platform::time::sleep(std::time::Duration::from_millis(10)).await;
        yew::scheduler::flush().await;
    }
    panic!("the timeline stays busy");
}

fn backlog_badge(root: &Element, objref: i32) -> String {
    text(root, &format!("#kgraph .node[data-objref=\"{objref}\"] .badge.backlog"))
}

#[wasm_bindgen_test]
async fn socket_graph_timeline_and_invalid_orders() {
    let item = gallery::items().into_iter().find(|i| i.name == "listener-pending");
    let Some(item) = item else { return };
    let root = mount().await;
    open_gallery(&root, "listener-pending").await;
    let bytes = item.bytes().await.expect("a fixture file");
    let report = resocket_core::load(&bytes);
    let img = &report.image;
    // One node per socket; the listener's pending connections are edges labelled 0, 1.
    assert_eq!(all(&root, "#graph .node").len(), img.sockets.len());
    let listener = img.sockets.values().find(|s| s.is_listener()).unwrap();
    assert_eq!(
        all(&root, &format!("#graph .edge.pending[data-to=\"{}\"]", listener.objref)).len(),
        listener.pending.len()
    );
    assert!(!all(&root, "#graph .edge.peer").is_empty());
    let badge = text(&root, &format!("#graph .node[data-objref=\"{}\"] .badge.backlog", listener.objref));
    assert_eq!(badge, format!("backlog {}/{}", listener.pending.len(), listener.effective_backlog() + 1));

    // Clicking a node selects its SOCKET record.
    let sock = img.sockets.values().nth(1).unwrap();
    let node = one(&root, &format!("#graph .node[data-objref=\"{}\"]", sock.objref));
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    node.dispatch_event(&web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &init).unwrap()).unwrap();
    yew::scheduler::flush().await;
    assert_eq!(one(&root, "#records .record.selected").get_attribute("data-index"), Some(sock.record.to_string()));

    // The planner's timeline: every step listed, nothing executed yet.
    let plan = resocket_core::plan::plan(img).unwrap();
    assert_eq!(all(&root, "#timeline .step").len(), plan.steps.len());
    assert!(all(&root, "#kgraph .node").is_empty());
    let listen = plan.steps.iter().position(|s| matches!(s.op, resocket_core::sim::Op::Listen { .. })).unwrap();
    timeline_key(&root, "ArrowRight", listen + 1).await;
    let admitted = listener.effective_backlog() + 1;
    assert_eq!(backlog_badge(&root, listener.objref), format!("backlog 0/{admitted}"));
    // Step on until both pending connections are made: the backlog fills and embryos appear.
    let pending_nodes = |root: &Element| all(root, "#kgraph .node[data-role=\"pending\"]").len();
    let mut seen = vec![];
    for _ in listen + 1..plan.steps.len() {
        timeline_key(&root, "ArrowRight", 1).await;
        seen.push((backlog_badge(&root, listener.objref), pending_nodes(&root)));
    }
    assert!(seen.contains(&(format!("backlog 1/{admitted}"), 1)), "{seen:?}");
    assert_eq!(seen.last().unwrap(), &(format!("backlog 2/{admitted}"), 2), "{seen:?}");
    assert_eq!(all(&root, "#kgraph .node").len(), img.sockets.len());
    assert!(text(&root, "#timeline .verdict").contains("reproduces"));
    // Left arrow steps back.
    timeline_key(&root, "ArrowLeft", 1).await;
    assert_eq!(
        one(&root, "#timeline .step.current").get_attribute("data-index"),
        Some((plan.steps.len() - 2).to_string())
    );

    // The naive order: connects before the listener exists fail with ENOENT.
    let select = one(&root, "#order").unchecked_into::<web_sys::HtmlSelectElement>();
    select.set_value("naive");
    select.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    yew::scheduler::flush().await;
    until_idle(&root).await;
    let failed = one(&root, "#timeline .step.failed");
    let msg = text(&root, "#failure");
    assert!(msg.contains("ENOENT"), "{msg}");
    let failed_step: usize = failed.get_attribute("data-step").unwrap().parse().unwrap();
    assert_eq!(plan.steps[failed_step].phase, resocket_core::plan::Phase::Connect);
    root.remove();
}

#[wasm_bindgen_test]
async fn graph_view_model_self_loops_fds_in_flight_and_the_kernel_after_the_plan() {
    use resocket_web::model::{EdgeKind, Graph};
    if let Some(bytes) = by_name("dgram-self-connect").await {
        let g = Graph::of_image(&resocket_core::load(&bytes).image);
        assert!(g.edges.iter().any(|e| e.kind == EdgeKind::SelfLoop && e.from == e.to), "{g:?}");
    }
    if let Some(bytes) = by_name("scm-rights").await {
        let report = resocket_core::load(&bytes);
        let g = Graph::of_image(&report.image);
        assert!(g.edges.iter().any(|e| e.kind == EdgeKind::InFlight), "{g:?}");
        // After the whole plan the simulated kernel draws the same sockets, edges of the same kinds.
        let plan = resocket_core::plan::plan(&report.image).unwrap();
        let mut run = resocket_core::check::Run::new(&plan);
        for s in &plan.steps {
            assert!(run.step(s).is_ok());
        }
        run.map_embryos(&report.image);
        let k = Graph::of_run(&run);
        let objrefs = |g: &Graph| g.nodes.iter().map(|n| n.objref).collect::<Vec<_>>();
        assert_eq!(objrefs(&k), objrefs(&g));
        let kinds = |g: &Graph| {
            let mut v: Vec<String> = g.edges.iter().map(|e| format!("{:?}", e.kind)).collect();
            v.sort();
            v
        };
        assert_eq!(kinds(&k), kinds(&g));
    }
}

#[wasm_bindgen_test]
async fn inet_sockets_show_addresses_loopback_edges_and_external_stubs() {
    use resocket_web::model::{EdgeKind, Graph};
    let bytes = by_name("inet-loopback").await.expect("the inet-loopback fixture");
    let g = Graph::of_image(&resocket_core::load(&bytes).image);
    // Client #5 and accepted #7 are matched by address: one peer edge, nodes named address:port.
    assert!(g.edges.iter().any(|e| e.kind == EdgeKind::Peer && (e.from, e.to) == (5, 7)), "{g:?}");
    assert_eq!(g.node(5).map(|n| n.name.as_str()), Some("127.0.0.1:40000"));
    assert!(g.nodes.iter().all(|n| n.external.is_none()));
    let bytes = by_name("inet-external").await.expect("the inet-external fixture");
    let g = Graph::of_image(&resocket_core::load(&bytes).image);
    assert_eq!(g.node(3).and_then(|n| n.external.clone()).as_deref(), Some("203.0.113.7:443"));
    // Drawn: a dashed stub with the peer's address on the socket's node.
    let root = mount().await;
    open_gallery(&root, "inet-external").await;
    assert_eq!(text(&root, "#graph .node[data-objref=\"3\"] .edge.external .extlabel"), "203.0.113.7:443");
    // The SOCKET_INET record's address fields read as addresses next to their hex.
    let bytes = by_name("inet-external").await.unwrap();
    let mut records = resocket_core::wire::Records::new(&bytes);
    let idx = Iterator::position(&mut records, |r: Result<resocket_core::wire::Record<'_>, _>| {
        r.is_ok_and(|r| r.ty == resocket_core::wire::RecordType::SOCKET_INET)
    })
    .unwrap();
    click(&root, &format!("#records .record[data-index=\"{idx}\"] .record-head")).await;
    let notes: Vec<String> =
        all(&root, "#records .record.selected .field .note").iter().filter_map(|e| e.text_content()).collect();
    assert!(notes.iter().any(|n| n == "203.0.113.7"), "{notes:?}");
    assert!(notes.iter().any(|n| n == "AF_INET 10.0.0.2:51000"), "{notes:?}");
    root.remove();
}

#[wasm_bindgen_test]
async fn the_plan_follows_the_host_it_is_for() {
    let root = mount().await;
    open_gallery(&root, "inet-external").await;
    until_planned(&root).await;
    let warnings = |root: &Element| text(root, "#plan-warnings");
    // On lo only (the default) both sockets bound to 10.0.0.2 are left unbound, and the plan says so.
    assert!(warnings(&root).contains("10.0.0.2"), "{}", warnings(&root));
    let input = one(&root, "#host-addrs").unchecked_into::<HtmlInputElement>();
    assert_eq!(input.value(), "");
    // The image's own addresses: the plan binds them, and says nothing more about 10.0.0.2.
    input.focus().unwrap();
    click(&root, "#host-image").await;
    until_planned(&root).await;
    // The control stayed while the kernel worker planned: the same input, its focus kept.
    let now = one(&root, "#host-addrs");
    assert!(js_sys::Object::is(&now, &input), "the host control was drawn anew");
    let focused = gloo::utils::document().active_element().map(|e| e.id());
    assert_eq!(focused.as_deref(), Some("host-addrs"));
    assert_eq!(one(&root, "#host-addrs").unchecked_into::<HtmlInputElement>().value(), "10.0.0.2");
    assert!(!warnings(&root).contains("10.0.0.2"), "{}", warnings(&root));
    assert!(root.query_selector("#host-image").unwrap().is_none());
    // A typed list is parsed by core; a word that is not an address is shown, nothing changes.
    let input = one(&root, "#host-addrs").unchecked_into::<HtmlInputElement>();
    input.set_value("10.0.0.2, nope");
    input.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    yew::scheduler::flush().await;
    assert_eq!(text(&root, "#host .host-error"), "\"nope\" is not an IPv4 or IPv6 address");
    assert!(!warnings(&root).contains("10.0.0.2"));
    // Back to lo only; the host is kept when another image opens.
    click(&root, "#host-lo").await;
    until_planned(&root).await;
    assert!(warnings(&root).contains("10.0.0.2"));
    let input = one(&root, "#host-addrs").unchecked_into::<HtmlInputElement>();
    input.set_value("192.0.2.9");
    input.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    yew::scheduler::flush().await;
    open_gallery(&root, "inet-loopback").await;
    until_planned(&root).await;
    assert_eq!(one(&root, "#host-addrs").unchecked_into::<HtmlInputElement>().value(), "192.0.2.9");
    click(&root, "#host-lo").await;
    // An image without TCP/UDP sockets has no host control.
    open_gallery(&root, "stream-pair").await;
    assert!(root.query_selector("#host").unwrap().is_none());
    root.remove();
}

#[wasm_bindgen_test]
async fn a_big_image_is_planned_again_in_slices_for_another_host() {
    // More sockets than `BIG`, all bound to 10.0.0.2, opened as a file (more than
    // `SYNC_MAX_BYTES`: opened, and planned again, in slices by `job`).
    let n = resocket_web::model::BIG + 10;
    let socks: Vec<String> = (0..n)
        .map(|i| {
            format!(r#"{{ "name": "u{i}", "family": "inet", "type": "dgram", "addr": "10.0.0.2:{}" }}"#, 20000 + i)
        })
        .collect();
    let json = format!(r#"{{ "sockets": [ {} ] }}"#, socks.join(", "));
    let bytes = resocket_core::scenario::Scenario::from_json(&json).unwrap().to_image().unwrap();
    assert!(bytes.len() > resocket_web::job::SYNC_MAX_BYTES);
    let root = mount().await;
    let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(&bytes[..]));
    let file = web_sys::File::new_with_u8_array_sequence(&parts, "big-inet.rsimg").unwrap();
    let dt = web_sys::DataTransfer::new().unwrap();
    dt.items().add_with_file(&file).unwrap();
    let input = one(&root, "#file").unchecked_into::<HtmlInputElement>();
    input.set_files(dt.files().as_ref());
    input.dispatch_event(&web_sys::Event::new("change").unwrap()).unwrap();
    let planned = |root: &Element| {
        root.query_selector("#timeline .steps").unwrap().is_some() && root.query_selector("#loading").unwrap().is_none()
    };
    async fn until(root: &Element, ok: impl Fn(&Element) -> bool) {
        for _ in 0..1000 {
            if ok(root) {
                return;
            }
            yew::platform::time::sleep(std::time::Duration::from_millis(10)).await;
            yew::scheduler::flush().await;
        }
        panic!("timed out");
    }
    until(&root, |r| planned(r) && text(r, "#summary .file") == "big-inet.rsimg").await;
    let summary = |root: &Element| text(root, "#plan-warnings summary");
    assert!(summary(&root).contains(&format!("({n} warnings)")), "{}", summary(&root));
    click(&root, "#host-image").await;
    until(&root, |r| planned(r) && r.query_selector("#plan-warnings").unwrap().is_none()).await;
    assert_eq!(one(&root, "#host-addrs").unchecked_into::<HtmlInputElement>().value(), "10.0.0.2");
    assert_eq!(text(&root, "#timeline .verdict"), "reproduces the image");
    click(&root, "#host-lo").await;
    until(&root, |r| planned(r) && r.query_selector("#plan-warnings").is_ok_and(|w| w.is_some())).await;
    root.remove();
}

#[wasm_bindgen_test]
async fn plan_warnings_sit_beside_their_steps_and_select_step_and_socket() {
    // On a loopback-only host (the default), inet-external's plan warns with a code, a socket
    // and a step for what it cannot restore.
    let bytes = by_name("inet-external").await.expect("the inet-external fixture");
    let image = resocket_core::load(&bytes).image;
    let plans = resocket_web::model::Plans::of(&image);
    let plan = plans.planner.as_ref().expect("inet-external plans");
    let (k, w) = plan
        .warnings
        .iter()
        .enumerate()
        .find(|(_, w)| w.step.is_some() && w.objref.is_some())
        .expect("a warning with a step and a socket");
    let (step, objref, code) = (w.step.unwrap(), w.objref.unwrap(), w.code.as_str());
    let root = mount().await;
    open_gallery(&root, "inet-external").await;
    // The timeline: the warning's code beside its step, and only beside steps that have one.
    let badge = format!("#timeline .step[data-step=\"{step}\"] .warn[data-index=\"{k}\"]");
    assert_eq!(text(&root, &badge), code);
    let badged: Vec<usize> = all(&root, "#timeline .step .warn")
        .iter()
        .map(|b| b.get_attribute("data-index").unwrap().parse().unwrap())
        .collect();
    let with_step: Vec<usize> = (0..plan.warnings.len()).filter(|&j| plan.warnings[j].step.is_some()).collect();
    assert_eq!(badged, with_step);
    for j in &badged {
        let row = one(&root, &format!("#timeline .warn[data-index=\"{j}\"]")).closest(".step").unwrap().unwrap();
        assert_eq!(row.get_attribute("data-step"), plan.warnings[*j].step.map(|s| s.to_string()));
    }
    // Clicking it shows the state after that step and selects its socket.
    click(&root, &badge).await;
    assert_eq!(one(&root, "#timeline .step.current").get_attribute("data-step"), Some(step.to_string()));
    assert_eq!(one(&root, "#sockets tr.focus").get_attribute("data-objref"), Some(objref.to_string()));
    assert!(one(&root, &badge).class_list().contains("focus"));
    // The diagnostics list has every plan warning with its code and place.
    let listed = all(&root, "#diagnostics .plan-warning");
    assert_eq!(listed.len(), plan.warnings.len());
    let item = format!("#diagnostics .plan-warning[data-index=\"{k}\"]");
    assert_eq!(one(&root, &item).get_attribute("data-code").as_deref(), Some(code));
    assert_eq!(text(&root, &format!("{item} .code")), code);
    assert_eq!(text(&root, &format!("{item} .at")), w.place().unwrap());
    // Clicking there selects the step and socket too: first move away.
    click(&root, "#timeline .rewind").await;
    click(&root, "#sockets tr.socket:not(.focus)").await;
    assert!(root.query_selector("#timeline .step.current").unwrap().is_none());
    click(&root, &item).await;
    assert_eq!(one(&root, "#timeline .step.current").get_attribute("data-step"), Some(step.to_string()));
    assert_eq!(one(&root, "#sockets tr.focus").get_attribute("data-objref"), Some(objref.to_string()));
    assert!(one(&root, &item).class_list().contains("focus"));
    root.remove();
}
