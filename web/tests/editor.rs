//! The scenario editor and share links in headless Chromium: the reducer (each edit writes the
//! image again and rebuilds diagnostics, graph and plans; refused edits change nothing; share
//! links round-trip) and the panel inside the app (buttons, live validation, refusals).
#![cfg(target_arch = "wasm32")]

use resocket_core::edit::Edit;
use resocket_core::scenario::Scenario;
use resocket_core::share;
use resocket_web::editor::{self, EditorAction, EditorPanel, EditorProps};
use resocket_web::gallery;
use resocket_web::model::Doc;
use resocket_web::state::{settle, Action, State};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement, HtmlInputElement, HtmlSelectElement};
use yew::{Callback, Reducible};

mod fixtures;

wasm_bindgen_test_configure!(run_in_browser);

async fn fixture(name: &str) -> Rc<[u8]> {
    fixtures::serve();
    gallery::items()
        .into_iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no fixture {name}"))
        .bytes()
        .await
        .expect("a fixture file")
}

/// The fixture opened, its plans answered by the kernel worker's handler (in the page).
async fn opened(name: &str) -> Rc<State> {
    fixtures::serve();
    settle(Rc::new(State::default()).reduce(Action::Open {
        name: format!("{name}.rsimg"),
        note: String::new(),
        bytes: fixture(name).await,
        host: Default::default(),
    }))
    .await
}

fn ed(s: &State) -> &resocket_web::editor::Editor {
    s.editor.as_deref().expect("editing")
}

async fn apply(s: Rc<State>, e: Edit) -> Rc<State> {
    settle(s.reduce(Action::Editor(EditorAction::Apply(e)))).await
}

fn listener_name(s: &State) -> String {
    ed(s).scenario.sockets.iter().find(|x| x.listen.is_some()).expect("a listener").name.clone()
}

#[wasm_bindgen_test]
async fn each_edit_rebuilds_the_image_its_diagnostics_graph_and_plan() {
    fixtures::serve();
    let s = opened("listener-pending").await.reduce(Action::Editor(EditorAction::Start));
    assert!(ed(&s).notes.is_empty(), "a valid fixture reads back exactly: {:?}", ed(&s).notes);
    let before = s.doc.clone().unwrap();
    let l = listener_name(&s);

    let s = apply(
        s,
        Edit::AddSocket {
            name: "n1".into(),
            family: resocket_core::sock::Family::Unix,
            ty: resocket_core::sim::SockType::Stream,
        },
    )
    .await;
    let doc = s.doc.clone().unwrap();
    assert_eq!(doc.summary.sockets, before.summary.sockets + 1);
    assert_eq!(doc.name, "listener-pending-edited.rsimg");
    assert_eq!(ed(&s).edits, 1);

    let s = apply(s, Edit::Connect { client: "n1".into(), server: l.clone() }).await;
    let s = apply(s, Edit::Send { from: "n1".into(), to: None, data: "hello".into() }).await;
    let doc = s.doc.clone().unwrap();
    // n1 and its embryo are new; the image is what core writes for the scenario.
    assert_eq!(doc.summary.sockets, before.summary.sockets + 2);
    assert_eq!(&doc.bytes[..], &ed(&s).scenario.to_image().unwrap()[..]);
    assert!(doc.is_valid(), "{:?}", doc.diagnostics);
    let graph = s.graph.clone().expect("graph rebuilt");
    assert_eq!(graph.graph.nodes.len(), doc.summary.sockets);
    let plans = s.plans.clone().expect("plans rebuilt");
    assert!(plans.planner.is_ok());
    assert!(s.report.as_ref().is_some_and(|r| r.failure.is_none()), "the planner's order runs");

    // Live validation: lowering the backlog below the pending connections is reported.
    let s = apply(s, Edit::Listen { name: l, backlog: 0 }).await;
    let doc = s.doc.clone().unwrap();
    assert!(doc.diagnostics.iter().any(|d| d.code == resocket_core::Code::BacklogExceeded), "{:?}", doc.diagnostics);

    // A refused edit changes no image and says why.
    let kept = s.doc.clone().unwrap();
    let s = apply(s, Edit::Send { from: "nobody".into(), to: None, data: "x".into() }).await;
    assert!(Rc::ptr_eq(&kept, s.doc.as_ref().unwrap()));
    assert!(ed(&s).error.as_deref().is_some_and(|e| e.contains("no socket named")));
}

#[wasm_bindgen_test]
async fn a_share_link_opens_the_same_scenario_and_image() {
    fixtures::serve();
    let s = opened("scm-rights").await.reduce(Action::Editor(EditorAction::Start));
    let s = apply(
        s,
        Edit::AddSocket {
            name: "extra".into(),
            family: resocket_core::sock::Family::Unix,
            ty: resocket_core::sim::SockType::Seqpacket,
        },
    )
    .await;
    let s = s.reduce(Action::Editor(EditorAction::Share));
    assert_eq!((ed(&s).shares, ed(&s).sharing, ed(&s).link.clone()), (1, true, None));
    // The link is made by the browser's CompressionStream, then arrives as `Linked`.
    let made = editor::make_link(ed(&s).scenario.clone()).await;
    let s = s.reduce(Action::Editor(made));
    let link = ed(&s).link.clone().expect("a link");
    assert!(!ed(&s).sharing);
    let text = share::find_in_fragment(&link).expect("s=").to_string();
    // Deflated by the browser, read by core's miniz_oxide: the native CLI reads the web's links.
    assert_eq!(share::bytes_of(&text).unwrap()[0], share::FORMAT_DEFLATE);
    assert_eq!(share::decode(&text).as_ref(), Ok(&*ed(&s).scenario));
    // And the other way: a link made by core opens in the browser.
    let native = share::encode(&ed(&s).scenario);
    let back = settle(Rc::new(State::default()).reduce(Action::Editor(editor::read_link(native).await))).await;
    assert_eq!(back.error, None);
    assert_eq!(ed(&back).scenario, ed(&s).scenario);

    let fresh = Rc::new(State::default()).reduce(Action::Editor(editor::read_link(text).await));
    assert!(fresh.graph.is_some() && fresh.plans.is_none() && fresh.ask.is_some(), "the plans are asked for");
    let fresh = settle(fresh).await;
    assert_eq!(fresh.error, None);
    assert_eq!(ed(&fresh).scenario, ed(&s).scenario);
    assert_eq!(fresh.doc.as_ref().unwrap().bytes, s.doc.as_ref().unwrap().bytes);
    assert_eq!(ed(&fresh).shares, 0, "opening a link does not copy it again");
    assert!(fresh.graph.is_some() && fresh.plans.is_some());
}

#[wasm_bindgen_test]
async fn a_damaged_share_link_is_a_clear_error() {
    fixtures::serve();
    // Empty, not base64url, an empty raw payload, damaged DEFLATE, an unknown format.
    for bad in ["", "!!", "AQ", "Ag", "Av__", "CQ"] {
        let s = Rc::new(State::default()).reduce(Action::Editor(editor::read_link(bad.into()).await));
        assert!(s.doc.is_none());
        let e = s.error.clone().unwrap_or_default();
        assert!(e.starts_with("share link: "), "{bad:?}: {e}");
    }
}

#[wasm_bindgen_test]
async fn a_share_link_that_inflates_past_the_limit_is_refused() {
    fixtures::serve();
    let bomb = miniz_oxide::deflate::compress_to_vec(&vec![0u8; 2 * share::MAX_BYTES], 9);
    let text = share::text_of(&share::frame(&[0; 1 << 20], Some(&bomb)));
    let s = Rc::new(State::default()).reduce(Action::Editor(editor::read_link(text).await));
    assert!(s.doc.is_none());
    let e = s.error.clone().unwrap_or_default();
    assert!(e.starts_with("share link: ") && e.contains("inflates past"), "{e}");
}

#[wasm_bindgen_test]
async fn images_above_the_limit_are_not_edited() {
    fixtures::serve();
    let big = resocket_core::synth::mixed(resocket_web::editor::EDIT_MAX).to_image().unwrap();
    let s = Rc::new(State::default()).reduce(Action::Open {
        name: "big".into(),
        note: String::new(),
        bytes: Rc::from(big),
        host: Default::default(),
    });
    assert!(s.doc.as_ref().unwrap().summary.sockets > resocket_web::editor::EDIT_MAX);
    let after = s.clone().reduce(Action::Editor(EditorAction::Start));
    assert!(after.editor.is_none());
    // Nor opened from a share link.
    let text = share::encode(&resocket_core::synth::mixed(resocket_web::editor::EDIT_MAX));
    let s = Rc::new(State::default()).reduce(Action::Editor(editor::read_link(text).await));
    assert!(s.doc.is_none());
    assert!(s.error.as_deref().is_some_and(|e| e.contains("the editor opens scenarios of up to")), "{:?}", s.error);
}

#[wasm_bindgen_test]
async fn an_image_the_scenario_form_cannot_say_is_edited_with_notes() {
    fixtures::serve();
    let s = opened("synth-truncated").await.reduce(Action::Editor(EditorAction::Start));
    assert!(!ed(&s).notes.is_empty());
    assert!(ed(&s).notes[0].contains("error"));
}

// ---- the panel in the app ----

async fn mount() -> Element {
    fixtures::serve();
    let doc = gloo::utils::document();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    fixtures::mount_app(&root);
    yew::scheduler::flush().await;
    root
}

fn one(root: &Element, sel: &str) -> Element {
    root.query_selector(sel).unwrap().unwrap_or_else(|| panic!("no element matches {sel}"))
}

async fn wait_for(root: &Element, sel: &str) -> Element {
    for _ in 0..400 {
        if let Some(e) = root.query_selector(sel).unwrap() {
            return e;
        }
        yew::platform::time::sleep(std::time::Duration::from_millis(10)).await;
        yew::scheduler::flush().await;
    }
    panic!("{sel} did not appear");
}

async fn click(root: &Element, sel: &str) {
    one(root, sel).unchecked_into::<HtmlElement>().click();
    yew::scheduler::flush().await;
}

fn set(root: &Element, sel: &str, v: &str) {
    let e = one(root, sel);
    if let Some(i) = e.dyn_ref::<HtmlInputElement>() {
        i.set_value(v);
    } else {
        e.unchecked_into::<HtmlSelectElement>().set_value(v);
    }
}

fn sockets_stat(root: &Element) -> usize {
    one(root, "#summary [data-stat=\"sockets\"] b").text_content().unwrap().replace(',', "").parse().unwrap()
}

#[wasm_bindgen_test]
async fn the_panel_edits_the_open_image_and_shows_refusals() {
    fixtures::serve();
    let root = mount().await;
    click(&root, ".gallery-item[data-name=\"listener-pending\"]").await;
    wait_for(&root, "#edit-start").await;
    let n0 = sockets_stat(&root);
    click(&root, "#edit-start").await;
    wait_for(&root, "#editor.open").await;
    let rows = root.query_selector_all("#edit-sockets tbody tr").unwrap().length() as usize;
    assert_eq!(rows, n0 - 2, "the two embryos are pending connections, not sockets of the scenario");

    // Defaults: the first choice of each list (Yew inserts nodes last first; the panel says which).
    let val = |sel: &str| one(&root, sel).unchecked_into::<HtmlSelectElement>().value();
    assert_eq!(val("#add-type"), "stream");
    assert_eq!(val("#send-to"), "");
    assert_eq!(val("#shutdown-how"), "wr");
    let first = one(&root, "#edit-sockets tbody tr").get_attribute("data-name").unwrap();
    assert_eq!(val("#connect-client"), first);

    set(&root, "#add-name", "n1");
    set(&root, "#add-type", "stream");
    click(&root, "#add-socket").await;
    wait_for(&root, "#edit-sockets tr[data-name=\"n1\"]").await;
    assert_eq!(sockets_stat(&root), n0 + 1);

    let listener = one(&root, "#edit-sockets tbody").children();
    let l = (0..listener.length())
        .filter_map(|i| listener.item(i))
        .find(|tr| tr.text_content().unwrap_or_default().contains("listening"))
        .and_then(|tr| tr.get_attribute("data-name"))
        .expect("a listener row");
    set(&root, "#connect-client", "n1");
    set(&root, "#connect-server", &l);
    click(&root, "#connect").await;
    assert_eq!(sockets_stat(&root), n0 + 2, "n1 and its embryo");
    assert!(one(&root, "#edit-sockets tr[data-name=\"n1\"]")
        .text_content()
        .unwrap()
        .contains(&format!("pending on {l}")));
    assert_eq!(one(&root, "#graph").query_selector_all(".node").unwrap().length() as usize, n0 + 2);

    set(&root, "#send-from", "n1");
    set(&root, "#send-to", "");
    set(&root, "#send-data", "hello");
    click(&root, "#send").await;
    let row = one(&root, &format!("#edit-sockets tr[data-name=\"{l}\"]")).text_content().unwrap();
    assert!(row.contains("pending: n1, sent 1"), "{row}");
    assert_eq!(one(&root, "#editor-verdict").get_attribute("data-errors").as_deref(), Some("0"));

    // Refused: connecting n1 again.
    click(&root, "#connect").await;
    assert!(one(&root, "#edit-error").text_content().unwrap().contains("EISCONN"));

    click(&root, "#edit-share").await;
    // Made in a task (the browser's CompressionStream), then shown and put in the location.
    let link = wait_for(&root, "#share-link").await.unchecked_into::<HtmlInputElement>().value();
    assert!(link.contains("#s="), "{link}");
    let hash = gloo::utils::window().location().hash().unwrap();
    assert!(link.ends_with(&hash), "the location carries the link: {hash}");
    gloo::utils::window()
        .history()
        .unwrap()
        .replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some("#"))
        .unwrap();
    root.remove();
}

#[wasm_bindgen_test]
async fn the_closed_panel_offers_to_edit_and_emits_start() {
    fixtures::serve();
    let doc = gloo::utils::document();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let props = EditorProps {
        editor: None,
        doc: Rc::new(Doc::load("x", fixture("stream-pair").await)),
        on_action: {
            let got = got.clone();
            Callback::from(move |a| got.borrow_mut().push(a))
        },
        on_download: Callback::noop(),
        selected: None,
        on_select: Callback::noop(),
    };
    yew::Renderer::<EditorPanel>::with_root_and_props(root.clone(), props).render();
    yew::scheduler::flush().await;
    click(&root, "#edit-start").await;
    assert_eq!(*got.borrow(), vec![EditorAction::Start]);
    assert!(root.query_selector("#edit-sockets").unwrap().is_none());
    let _ = Scenario::default();
    root.remove();
}

fn row(root: &Element, name: &str) -> String {
    one(root, &format!("#edit-sockets tr[data-name=\"{name}\"]")).text_content().unwrap_or_default()
}

fn error_text(root: &Element) -> Option<String> {
    root.query_selector("#edit-error").unwrap().and_then(|e| e.text_content())
}

async fn add(root: &Element, name: &str, ty: &str) {
    set(root, "#add-name", name);
    set(root, "#add-type", ty);
    click(root, "#add-socket").await;
    assert_eq!(error_text(root), None);
}

#[wasm_bindgen_test]
async fn every_form_of_the_panel_performs_its_edit() {
    fixtures::serve();
    let root = mount().await;
    click(&root, ".gallery-item[data-name=\"unconnected\"]").await;
    wait_for(&root, "#edit-start").await;
    click(&root, "#edit-start").await;
    wait_for(&root, "#editor.open").await;

    // bind() + listen(), connect(), accept().
    add(&root, "srv", "seqpacket").await;
    add(&root, "cli", "seqpacket").await;
    set(&root, "#bind-socket", "srv");
    set(&root, "#bind-addr", "@srv");
    click(&root, "#bind").await;
    assert!(row(&root, "srv").contains("@srv"), "{}", row(&root, "srv"));
    set(&root, "#listen-socket", "srv");
    set(&root, "#listen-backlog", "3");
    click(&root, "#listen").await;
    assert!(row(&root, "srv").contains("listening (backlog 3, 0 pending)"), "{}", row(&root, "srv"));
    set(&root, "#connect-client", "cli");
    set(&root, "#connect-server", "srv");
    click(&root, "#connect").await;
    assert!(row(&root, "srv").contains("1 pending"));
    set(&root, "#accept-name", "acc");
    click(&root, "#accept").await;
    assert_eq!(error_text(&root), None);
    assert!(row(&root, "acc").contains("accepted from srv · peer cli"), "{}", row(&root, "acc"));
    assert!(row(&root, "cli").contains("peer acc"));

    // socketpair(), send(), shutdown(), drop a message, close().
    add(&root, "x", "stream").await;
    add(&root, "y", "stream").await;
    set(&root, "#pair-a", "x");
    set(&root, "#pair-b", "y");
    click(&root, "#pair").await;
    assert!(row(&root, "x").contains("pair of y"));
    set(&root, "#send-from", "x");
    set(&root, "#send-to", "");
    set(&root, "#send-data", "one");
    click(&root, "#send").await;
    set(&root, "#send-data", "two");
    click(&root, "#send").await;
    assert!(row(&root, "y").contains("\"one\"") && row(&root, "y").contains("\"two\""), "{}", row(&root, "y"));
    set(&root, "#shutdown-socket", "x");
    set(&root, "#shutdown-how", "wr");
    click(&root, "#shutdown").await;
    assert!(row(&root, "x").contains("shutdown wr") && row(&root, "y").contains("shutdown rd"));
    click(&root, "#edit-sockets tr[data-name=\"y\"] .msg button.drop").await;
    assert!(!row(&root, "y").contains("\"one\"") && row(&root, "y").contains("\"two\""), "{}", row(&root, "y"));
    click(&root, "#edit-sockets tr[data-name=\"x\"] button.remove").await;
    assert!(root.query_selector("#edit-sockets tr[data-name=\"x\"]").unwrap().is_none());
    assert!(row(&root, "y").contains("peer closed"), "{}", row(&root, "y"));
    assert_eq!(one(&root, "#editor-verdict").get_attribute("data-errors").as_deref(), Some("0"));

    click(&root, "#edit-close").await;
    assert!(root.query_selector("#editor.closed").unwrap().is_some());
    root.remove();
}

#[wasm_bindgen_test]
async fn editor_rows_and_the_graph_select_the_same_socket() {
    fixtures::serve();
    let root = mount().await;
    click(&root, ".gallery-item[data-name=\"listener-pending\"]").await;
    wait_for(&root, "#edit-start").await;
    click(&root, "#edit-start").await;
    wait_for(&root, "#editor.open").await;
    let graph_selected = |root: &Element| {
        root.query_selector("#graph .node.selected").unwrap().and_then(|n| n.get_attribute("data-objref"))
    };
    let row_selected = |root: &Element| {
        root.query_selector("#edit-sockets tr.selected").unwrap().and_then(|r| r.get_attribute("data-name"))
    };
    // A row's name selects its socket in the graph (read back from the image: its objref there).
    let rows = root.query_selector_all("#edit-sockets tbody tr").unwrap();
    let last = rows.item(rows.length() - 1).unwrap().unchecked_into::<Element>();
    let (name, objref) = (last.get_attribute("data-name").unwrap(), last.get_attribute("data-objref").unwrap());
    assert_ne!(objref, "0");
    click(&root, &format!("#edit-sockets tr[data-name=\"{name}\"] button.pick")).await;
    assert_eq!(graph_selected(&root).as_deref(), Some(objref.as_str()));
    assert_eq!(row_selected(&root).as_deref(), Some(name.as_str()));
    // The graph's selection marks the row of its socket.
    let first = one(&root, "#edit-sockets tbody tr");
    let (name0, objref0) = (first.get_attribute("data-name").unwrap(), first.get_attribute("data-objref").unwrap());
    // An SVG node has no click(): a bubbling click event, as a pointer gives.
    let init = web_sys::MouseEventInit::new();
    init.set_bubbles(true);
    let ev = web_sys::MouseEvent::new_with_mouse_event_init_dict("click", &init).unwrap();
    one(&root, &format!("#graph .node[data-objref=\"{objref0}\"]")).dispatch_event(&ev).unwrap();
    yew::scheduler::flush().await;
    assert_eq!(row_selected(&root).as_deref(), Some(name0.as_str()));
    // After an edit the image is written again: a new socket's row selects the new node.
    set(&root, "#add-name", "fresh");
    click(&root, "#add-socket").await;
    let row = wait_for(&root, "#edit-sockets tr[data-name=\"fresh\"]").await;
    let fresh = row.get_attribute("data-objref").unwrap();
    click(&root, "#edit-sockets tr[data-name=\"fresh\"] button.pick").await;
    assert_eq!(graph_selected(&root).as_deref(), Some(fresh.as_str()));
    let node = one(&root, &format!("#graph .node[data-objref=\"{fresh}\"]"));
    assert_eq!(node.get_attribute("data-role").as_deref(), Some("unconnected"), "{}", node.outer_html());
    root.remove();
}

#[wasm_bindgen_test]
async fn the_panel_makes_a_tcp_listener_and_a_pending_connection() {
    fixtures::serve();
    let root = mount().await;
    click(&root, ".gallery-item[data-name=\"unconnected\"]").await;
    wait_for(&root, "#edit-start").await;
    click(&root, "#edit-start").await;
    wait_for(&root, "#editor.open").await;
    let val = |sel: &str| one(&root, sel).unchecked_into::<HtmlSelectElement>().value();
    assert_eq!(val("#add-family"), "unix", "the first family is the default");

    set(&root, "#add-family", "inet");
    add(&root, "web", "stream").await;
    add(&root, "cl", "stream").await;
    assert!(row(&root, "web").starts_with("webinet stream"), "{}", row(&root, "web"));
    // seqpacket is no INET type (ESOCKTNOSUPPORT), as on Linux.
    set(&root, "#add-name", "sp");
    set(&root, "#add-type", "seqpacket");
    click(&root, "#add-socket").await;
    assert!(error_text(&root).is_some_and(|e| e.contains("ESOCKTNOSUPPORT")), "{:?}", error_text(&root));

    // An address the loopback host does not have, then a good one.
    set(&root, "#bind-socket", "web");
    set(&root, "#bind-addr", "192.0.2.1:8080");
    click(&root, "#bind").await;
    assert!(error_text(&root).is_some_and(|e| e.contains("EADDRNOTAVAIL")), "{:?}", error_text(&root));
    set(&root, "#bind-addr", "127.0.0.1:8080");
    click(&root, "#bind").await;
    assert_eq!(error_text(&root), None);
    assert!(row(&root, "web").contains("127.0.0.1:8080"), "{}", row(&root, "web"));
    set(&root, "#listen-socket", "web");
    set(&root, "#listen-backlog", "2");
    click(&root, "#listen").await;
    assert!(row(&root, "web").contains("listening (backlog 2, 0 pending)"), "{}", row(&root, "web"));
    // The port is taken now.
    set(&root, "#bind-socket", "cl");
    click(&root, "#bind").await;
    assert!(error_text(&root).is_some_and(|e| e.contains("EADDRINUSE")), "{:?}", error_text(&root));

    let before = sockets_stat(&root);
    set(&root, "#connect-client", "cl");
    set(&root, "#connect-server", "web");
    click(&root, "#connect").await;
    assert_eq!(error_text(&root), None);
    assert_eq!(sockets_stat(&root), before + 1, "the embryo of the pending connection");
    assert!(row(&root, "web").contains("1 pending"), "{}", row(&root, "web"));
    assert!(
        row(&root, "cl").contains("127.0.0.1:32768") && row(&root, "cl").contains("pending on web"),
        "{}",
        row(&root, "cl")
    );
    assert_eq!(one(&root, "#editor-verdict").get_attribute("data-errors").as_deref(), Some("0"));
    // The graph shows the pending connection: an edge from the embryo to the listener.
    let listener = one(&root, "#edit-sockets tr[data-name=\"web\"]").get_attribute("data-objref").unwrap();
    let edge = wait_for(&root, &format!("#graph .edge.pending[data-to=\"{listener}\"]")).await;
    let embryo = edge.get_attribute("data-from").unwrap();
    let client = one(&root, "#edit-sockets tr[data-name=\"cl\"]").get_attribute("data-objref").unwrap();
    assert!(
        root.query_selector(&format!("#graph .edge.peer[data-from=\"{client}\"][data-to=\"{embryo}\"], #graph .edge.peer[data-from=\"{embryo}\"][data-to=\"{client}\"]"))
            .unwrap()
            .is_some(),
        "the client is the embryo's peer"
    );
    root.remove();
}
