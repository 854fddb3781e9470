//! CRIU checkpoints in the inspector (headless Chromium): gallery items go through the same
//! `job::open_files` path as picked files and dropped folders (core's detection by content),
//! for a CRIU image directory, an invalid one, a Podman and a CRI-O archive; the JS API's result; and
//! the checkpoint reader's messages (`worker` -> `client`): lossless, checked, with progress.
//! The worker itself runs in the release build's e2e tests (e2e/criu.test.js).
#![cfg(target_arch = "wasm32")]

use resocket_web::gallery;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;
use web_sys::{Element, HtmlElement};

mod fixtures;

wasm_bindgen_test_configure!(run_in_browser);

async fn mount() -> Element {
    fixtures::serve();
    let w = gloo::utils::window();
    let path = w.location().pathname().unwrap();
    w.history().unwrap().replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&path)).unwrap();
    let doc = gloo::utils::document();
    let root = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&root).unwrap();
    // No worker script is built for these tests: the page serves the requests itself, with the
    // worker's code and through the same messages.
    resocket_web::client::serve_in_process(|r, p| Box::pin(resocket_web::worker::serve(r, p)));
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

/// Wait until something matches `sel`.
async fn until(root: &Element, sel: &str) {
    for _ in 0..500 {
        if root.query_selector(sel).unwrap().is_some() {
            return;
        }
        settle().await;
    }
    panic!("nothing matches {sel}");
}

async fn settle() {
    yew::platform::time::sleep(std::time::Duration::from_millis(10)).await;
    yew::scheduler::flush().await;
}

/// Open a gallery item and wait until `ready` holds.
async fn open(root: &Element, name: &str, ready: impl Fn(&Element) -> bool) {
    click(root, &format!(".gallery-item[data-name=\"{name}\"]")).await;
    for _ in 0..500 {
        if root.query_selector("#summary.criu .file").unwrap().and_then(|e| e.text_content()).as_deref() == Some(name)
            && ready(root)
        {
            return;
        }
        settle().await;
    }
    panic!("{name} did not open");
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
async fn a_criu_directory_opens_with_its_images_entries_graph_and_plan() {
    fixtures::serve();
    let root = mount().await;
    let graphed =
        |r: &Element| !all(r, "#graph .node").is_empty() && r.query_selector(".controls .verdict").unwrap().is_some();
    open(&root, "criu-listener-accepted-pending", graphed).await;
    assert_eq!(text(&root, "#summary .verdict"), "valid");
    // The image list: every file with its magic and entry count; files.img shown first.
    let files: Vec<String> =
        all(&root, "#criu-files tbody tr").iter().filter_map(|r| r.get_attribute("data-name")).collect();
    assert!(files.contains(&"files.img".to_string()) && files.contains(&"pstree.img".to_string()), "{files:?}");
    assert!(text(&root, "#criu-files tr.focus").contains("FILES"), "{}", text(&root, "#criu-files tr.focus"));
    assert!(text(&root, "#criu-entries h2").contains("files.img"));
    // The scenario's image: graph (a listener, its pending client), the plan reproduces it.
    assert!(all(&root, "#graph .node").len() >= 4);
    assert_eq!(text(&root, ".controls .verdict"), "reproduces the image");
    assert!(!all(&root, "#criu-notes li").is_empty(), "notes on what CRIU does not record");
    // Field <-> byte highlighting in the selected entry (its fields walked by the worker).
    until(&root, "#criu-entries .record.selected .field").await;
    let field = one(&root, "#criu-entries .record.selected .field");
    let path = field.get_attribute("data-key").unwrap();
    field.unchecked_ref::<HtmlElement>().click();
    yew::scheduler::flush().await;
    assert!(!all(&root, "#criu-hex .b.hl").is_empty(), "the clicked field's bytes are highlighted");
    let b = all(&root, "#criu-hex .b.hl")[0].clone();
    hover(&b).await;
    assert!(text(&root, "#criu-hex .caption").contains('.'), "{}", text(&root, "#criu-hex .caption"));
    assert!(!all(&root, "#criu-entries .field.hover").is_empty(), "the hovered byte marks its field ({path})");
    // Another file.
    click(&root, "#criu-files tr[data-name=\"pstree.img\"]").await;
    assert!(text(&root, "#criu-entries h2").contains("pstree.img"));
    until(&root, "#criu-entries .record.selected .field").await;
}

#[wasm_bindgen_test]
async fn an_invalid_checkpoint_lists_located_diagnostics_that_highlight_their_bytes() {
    fixtures::serve();
    let root = mount().await;
    open(&root, "criu-peer-missing", |r| r.query_selector("#diagnostics .diag").unwrap().is_some()).await;
    assert_eq!(text(&root, "#summary .verdict"), "invalid");
    let d = one(&root, "#diagnostics .diag[data-code=\"criu-peer-missing\"]");
    assert!(d.text_content().unwrap_or_default().contains("files.img"), "located in its file");
    d.unchecked_ref::<HtmlElement>().click();
    yew::scheduler::flush().await;
    assert!(!all(&root, "#criu-hex .b.hl").is_empty());
    assert!(root.query_selector("#criu-unmapped").unwrap().is_some(), "no plan for a checkpoint with errors");
    assert!(root.query_selector("#graph").unwrap().is_none());
}

/// A checkpoint with a network namespace lists the addresses CRIU saved (ifaddr-2.img, on
/// netdev-2.img's devices), which the simulator's host is built from, marked as planned for.
#[wasm_bindgen_test]
async fn a_checkpoint_lists_the_addresses_criu_saved() {
    fixtures::serve();
    let root = mount().await;
    open(&root, "criu-inet-netns", |r| r.query_selector("#criu-addresses tbody tr").unwrap().is_some()).await;
    let rows: Vec<String> =
        all(&root, "#criu-addresses tbody tr").iter().map(|r| r.text_content().unwrap_or_default()).collect();
    for want in [("eth0", "10.0.0.5/24"), ("eth0", "2001:db8::5/64"), ("lo", "127.0.0.1/8"), ("lo", "::1/128")] {
        assert!(rows.iter().any(|r| r.contains(want.0) && r.contains(want.1)), "{want:?} in {rows:?}");
    }
    assert_eq!(all(&root, "#criu-addresses tbody tr.planned").len(), rows.len(), "netns 2 is planned for: {rows:?}");
    // A checkpoint without an ifaddr image has no such panel.
    open(&root, "criu-stream-pair", |r| !all(r, "#graph .node").is_empty()).await;
    assert!(root.query_selector("#criu-addresses").unwrap().is_none());
}

/// A checkpoint that saved its namespace is planned and simulated for it, as `restore plan`
/// does: its sockets on 10.0.0.5 and 2001:db8::5 are bound, with no `inet-address-missing`
/// warning; "lo only" plans for a fresh namespace (the warning comes), "the saved namespace"
/// goes back; a resocket image opened next is planned for a fresh host again.
#[wasm_bindgen_test]
async fn a_checkpoint_is_planned_for_the_namespace_it_saved() {
    let root = mount().await;
    open(&root, "criu-inet-netns", |r| r.query_selector(".controls .verdict").unwrap().is_some()).await;
    let host = || one(&root, "#host").get_attribute("data-host").unwrap_or_default();
    let warned = |root: &Element| {
        root.query_selector("#plan-warnings li[data-code=\"inet-address-missing\"]").unwrap().is_some()
    };
    assert_eq!(host(), "saved");
    let saved = text(&root, "#host-saved");
    assert!(saved.contains("network namespace 2 (ifaddr-2.img): "), "{saved}");
    assert!(saved.contains("10.0.0.5/24") && saved.contains("2001:db8::5/64"), "{saved}");
    assert!(saved.contains("2 routes (route-2.img), 2 routes (route6-2.img)"), "{saved}");
    assert!(!warned(&root), "{}", text(&root, ".timeline"));
    assert_eq!(text(&root, ".controls .verdict"), "reproduces the image");
    click(&root, "#host-lo").await;
    assert_eq!(host(), "fresh");
    // The kernel worker plans again for the host chosen.
    until(&root, "#plan-warnings li[data-code=\"inet-address-missing\"]").await;
    assert!(warned(&root), "on lo only 10.0.0.5 is missing: {}", text(&root, ".timeline"));
    assert!(text(&root, "#host-saved-ns").contains("the saved namespace 2"));
    click(&root, "#host-saved-ns").await;
    assert_eq!(host(), "saved");
    until(&root, ".controls .verdict").await;
    assert!(!warned(&root));
    open(&root, "criu-stream-pair", |r| !all(r, "#graph .node").is_empty()).await;
    click(&root, ".gallery-item[data-name=\"inet-external\"]").await;
    for _ in 0..500 {
        if root.query_selector("#host").unwrap().is_some() {
            break;
        }
        settle().await;
    }
    assert_eq!(host(), "fresh");
    root.remove();
}

#[wasm_bindgen_test]
async fn a_podman_archive_opens_by_content_with_its_container_metadata() {
    fixtures::serve();
    let root = mount().await;
    open(&root, "podman-stream-pair.tar.gz", |r| !all(r, "#graph .node").is_empty()).await;
    assert_eq!(text(&root, "#container dd[data-key=\"compression\"]"), "tar.gz");
    assert_eq!(text(&root, "#container dd[data-key=\"engine\"]"), "Podman");
    assert!(text(&root, "#summary [data-stat=\"source\"]").contains("archive"));
    assert!(all(&root, "#criu-files tbody tr").len() >= 5);
}

/// The kubelet's CRI-O checkpoint archive sits in the gallery's CRIU group next to the Podman
/// sample, and opens from it by content: an uncompressed tar in the container layout, CRI-O's
/// metadata (container name, pod and namespace from the `io.kubernetes.cri-o.*` annotations),
/// and the checkpoint's sockets (a listener with its accepted and pending clients) drawn.
#[wasm_bindgen_test]
async fn the_crio_kubelet_archive_opens_from_the_gallery_with_its_pod() {
    fixtures::serve();
    const NAME: &str = "checkpoint-web-0_shop-server-2026-12-01T00:00:00Z.tar";
    let root = mount().await;
    let names: Vec<String> = all(&root, ".gallery-group[data-group=\"criu\"] .gallery-item")
        .iter()
        .filter_map(|e| e.get_attribute("data-name"))
        .collect();
    let at = names.iter().position(|n| n == NAME).unwrap_or_else(|| panic!("{NAME} not in {names:?}"));
    assert_eq!(names.get(at + 1).map(String::as_str), Some("podman-stream-pair.tar.gz"), "{names:?}");
    open(&root, NAME, |r| !all(r, "#graph .node").is_empty()).await;
    assert_eq!(text(&root, "#summary .verdict"), "valid");
    assert_eq!(text(&root, "#container dd[data-key=\"compression\"]"), "tar");
    assert_eq!(text(&root, "#container dd[data-key=\"layout\"]"), "images under checkpoint/");
    assert_eq!(text(&root, "#container dd[data-key=\"engine\"]"), "CRI-O");
    assert_eq!(text(&root, "#container dd[data-key=\"name\"]"), "server");
    assert_eq!(text(&root, "#container dd[data-key=\"pod\"]"), "web-0");
    assert_eq!(text(&root, "#container dd[data-key=\"namespace\"]"), "shop");
    assert!(all(&root, "#graph .node").len() >= 4, "the listener, its accepted and pending clients");
}

#[wasm_bindgen_test]
async fn the_js_api_opens_a_directory_and_an_archive() {
    fixtures::serve();
    for name in ["criu-stream-pair", "podman-stream-pair.tar.gz"] {
        let item = gallery::items().into_iter().find(|i| i.name == name).expect("in the gallery");
        let files = item.files().await.expect("fixture files");
        let v = resocket_web::reader::open_json(files).expect("opens");
        assert_eq!(v["kind"], "criu", "{name}");
        assert_eq!(v["valid"], true, "{name}");
        assert_eq!(v["sockets"].as_array().map(Vec::len), Some(2), "{name}: {}", v["sockets"]);
        assert!(v["plan"]["steps"].as_array().is_some_and(|s| !s.is_empty()), "{name}");
    }
    let bad = resocket_web::reader::open_json(vec![resocket_core::criu::ImageFile {
        name: "x.txt".into(),
        bytes: b"hi".to_vec(),
    }]);
    assert!(bad.is_err());
}

#[wasm_bindgen_test]
async fn every_criu_gallery_item_opens_with_the_expected_verdict() {
    fixtures::serve();
    let items: Vec<_> = gallery::items().into_iter().filter(|i| i.group.starts_with("criu")).collect();
    assert!(items.len() >= 30, "{} CRIU items", items.len());
    // The real dumps of fixtures/criu/real/ are in the gallery, as valid checkpoints.
    let real: Vec<&str> = items.iter().map(|i| i.name).filter(|n| n.starts_with("real-criu-")).collect();
    assert_eq!(real.len(), 4, "{real:?}");
    // And the real Podman checkpoint archive (fixtures/criu/real/podman-4.3.1-sockets.tar.gz).
    assert!(items.iter().any(|i| i.name == "real-podman-4.3.1-sockets"), "no real Podman archive");
    for item in items {
        let v = resocket_web::reader::open_json(item.files().await.expect("fixture files"))
            .unwrap_or_else(|e| panic!("{}: {e}", item.name));
        if item.group == "criu" {
            assert_eq!(v["valid"], true, "{}: {}", item.name, v["diagnostics"]);
            assert!(v["plan"].is_object(), "{}: {}", item.name, v["planError"]);
        } else {
            assert!(v["diagnostics"].as_array().is_some_and(|d| !d.is_empty()), "{}", item.name);
        }
    }
}

/// What the worker posts, decoded by the page, is what the worker had: every file's name,
/// magics, bytes and entry framing, the diagnostics, notes, archive metadata and the image.
#[wasm_bindgen_test]
async fn the_worker_message_carries_the_checkpoint_losslessly() {
    fixtures::serve();
    use resocket_web::client::{decode, Reply};
    use resocket_web::reader::{self, Outcome};
    use resocket_web::worker;
    let items: Vec<_> = gallery::items().into_iter().filter(|i| i.group.starts_with("criu")).collect();
    let mut archives = 0;
    for item in items {
        let files = item.files().await.expect("fixture files");
        let Ok(Outcome::Criu(c)) = reader::open(files.clone(), &mut |_| {}) else {
            panic!("{}: not a checkpoint", item.name)
        };
        let (msg, transfer) = worker::criu_message(&c);
        // Each file's bytes and framing, the image, and the meta, notes and note ends.
        assert_eq!(transfer.length() as usize, 2 * c.files.len() + usize::from(c.image.is_some()) + 3, "{}", item.name);
        let Some(Ok(Reply::Criu(parts))) = decode(msg) else { panic!("{}: not decoded", item.name) };
        assert_eq!(parts.files, c.files, "{}", item.name);
        assert_eq!(parts.image, c.image, "{}", item.name);
        let mut meta = c.meta.clone();
        meta.files.clear();
        // The notes stay encoded on the page, each decoded when shown.
        assert_eq!(parts.notes.len(), c.notes.len(), "{}", item.name);
        assert_eq!(parts.notes.get(0..c.notes.len()), c.notes, "{}", item.name);
        assert_eq!(parts.meta, meta, "{}", item.name);
        archives += usize::from(c.meta.archive.is_some());
        assert!(c.files.iter().any(|f| f.entry_count() > 0), "{}", item.name);
    }
    assert!(archives >= 1, "an archive among the items");
}

/// The page checks the framing it is given against the bytes: entry starts out of order,
/// past the file's end, or whose entry would run past it or into the next are refused.
#[wasm_bindgen_test]
fn entry_offsets_are_checked_against_the_file() {
    fixtures::serve();
    use resocket_web::message::{file_from, FileMeta};
    let meta = || FileMeta { name: "pstree.img".into(), first_magic: None, magic: None, decoded: false, extras: false };
    // Two words of magic, then entries of 2 and 1 payload bytes.
    let bytes = [0u8, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0xaa, 0xbb, 1, 0, 0, 0, 0xcc].to_vec();
    let f = file_from(meta(), bytes.clone(), &[8, 14]).expect("valid");
    assert_eq!(f.entry_count(), 2);
    assert_eq!(f.entry(1).map(|e| (e.range, e.payload)), Some((14..19, 18..19)));
    assert!(file_from(meta(), bytes.clone(), &[14, 8]).is_err(), "out of order");
    assert!(file_from(meta(), bytes.clone(), &[8, 12]).is_err(), "into the previous entry");
    assert!(file_from(meta(), bytes.clone(), &[8, 20]).is_err(), "past the end");
    assert!(file_from(meta(), bytes[..17].to_vec(), &[8, 14]).is_err(), "an entry running past the end");
}

/// The worker's handler posts progress (bytes unpacked for an archive, images read, the
/// checks, the mapping), then the checkpoint; a bad archive ends in a `failed` message.
#[wasm_bindgen_test]
async fn the_worker_posts_progress_then_the_checkpoint_or_why_not() {
    fixtures::serve();
    use resocket_web::client::{decode, Reply};
    use resocket_web::message::{Mode, Stage};
    use resocket_web::worker;
    use std::cell::RefCell;
    use std::rc::Rc;
    let item = gallery::items().into_iter().find(|i| i.name == "podman-stream-pair.tar.gz").expect("in the gallery");
    let serve = |files: Vec<resocket_core::criu::ImageFile>| async move {
        let got: Rc<RefCell<Vec<Reply>>> = Rc::default();
        let sink = got.clone();
        let files = files.into_iter().map(|f| (f.name, resocket_web::client::Data::Bytes(f.bytes))).collect();
        let (req, _) = resocket_web::client::request(Mode::Inspect, files);
        worker::serve(req, Rc::new(move |m, _| sink.borrow_mut().extend(decode(m).map(|r| r.expect("decoded"))))).await;
        got.take()
    };
    let replies = serve(item.files().await.expect("fixture files")).await;
    let stages: Vec<Stage> =
        replies.iter().filter_map(|r| if let Reply::Progress(p) = r { Some(p.stage) } else { None }).collect();
    for s in [Stage::Unpacking, Stage::Images, Stage::Checking, Stage::Mapping, Stage::Sending] {
        assert!(stages.contains(&s), "{s:?} in {stages:?}");
    }
    let last_unpack = replies
        .iter()
        .rev()
        .find_map(|r| match r {
            Reply::Progress(p) if p.stage == Stage::Unpacking => Some(*p),
            _ => None,
        })
        .expect("unpacking reported");
    assert_eq!(last_unpack.done, last_unpack.total);
    assert!(last_unpack.unpacked > last_unpack.total, "a tar.gz unpacks to more than its size");
    assert!(matches!(replies.last(), Some(Reply::Criu(_))), "{:?}", replies.last());
    // A gzip stream cut short: located in the message, no checkpoint.
    let mut bad = item.files().await.expect("fixture files");
    let half = bad[0].bytes.len() / 2;
    bad[0].bytes.truncate(half);
    let replies = serve(bad).await;
    match replies.last() {
        Some(Reply::Failed(m)) => assert!(m.contains("gzip") && m.contains("truncated"), "{m}"),
        other => panic!("{other:?}"),
    }
}

/// A walk request carries its entry: a worker that never read the checkpoint (a fresh one, as
/// the page's walker is) answers it with the entry's fields, field ranges in file offsets and
/// values read from the bytes sent; bytes changed in the request change the answer, so nothing
/// else is read.
#[wasm_bindgen_test]
async fn an_entry_is_walked_from_the_bytes_its_request_carries() {
    fixtures::serve();
    use resocket_web::client::{decode, walk_request, Reply};
    use resocket_web::message::Walk;
    use resocket_web::reader::{self, Outcome};
    use resocket_web::worker;
    use std::cell::RefCell;
    use std::rc::Rc;
    let item = gallery::items().into_iter().find(|i| i.name == "criu-unknown-field").expect("in the gallery");
    let Ok(Outcome::Criu(c)) = reader::open(item.files().await.expect("fixture files"), &mut |_| {}) else {
        panic!("not a checkpoint")
    };
    let k = c.files.iter().position(|f| f.name == "files.img").expect("files.img");
    let walk = Walk::of(&c.files[k], k, 0).expect("entry 0");
    drop(c);
    let serve = |w: Walk| async move {
        let got: Rc<RefCell<Vec<Reply>>> = Rc::default();
        let sink = got.clone();
        worker::serve(
            walk_request(&w),
            Rc::new(move |m, _| sink.borrow_mut().extend(decode(m).map(|r| r.expect("decoded")))),
        )
        .await;
        match got.take().pop() {
            Some(Reply::Fields(f)) => f,
            r => panic!("not fields: {r:?}"),
        }
    };
    let f = serve(walk.clone()).await;
    assert!(f.schema && f.error.is_none(), "{f:?}");
    assert_eq!((f.file, f.entry), (k, 0));
    assert!(f.rows.iter().any(|r| !r.known), "the unknown field is kept: {:?}", f.rows);
    assert!(f.rows.iter().all(|r| r.range.start >= walk.offset && r.range.end <= walk.offset + walk.payload.len()));
    let ino = f.get("usk.ino").expect("usk.ino").clone();
    // The same request with the inode's varint changed: the answer follows the bytes sent.
    let mut other = walk.clone();
    let at = ino.range.end - 1 - walk.offset;
    other.payload[at] ^= 0x01;
    let g = serve(other).await;
    assert_ne!(g.get("usk.ino").map(|r| r.value.clone()), Some(ino.value.clone()));
    // A request naming a file resocket does not decode has no schema: no rows.
    let raw = serve(Walk { decoded: false, ..walk }).await;
    assert!(!raw.schema && raw.rows.is_empty());
}
