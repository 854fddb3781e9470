//! The scenario editor and share links.
//!
//! * [`Editor`] is the editor's part of the state: the scenario being edited (read back from the
//!   open image by `resocket_core::edit::from_image`, or from a share link), what the scenario
//!   form could not say about the image, the last refused edit, and the share fragment.
//! * [`reduce`] performs an [`EditorAction`]: every accepted edit writes the image again and
//!   opens it like any other image, so diagnostics, graph and plan are rebuilt at once.
//! * [`EditorPanel`] is the view (data + callbacks; input values are read from the DOM when a
//!   button is pressed).
//! * The effects — the download, the URL fragment, the clipboard, reading `#s=` when the page
//!   opens or the fragment changes, and the DEFLATE of share links (the browser's, so
//!   asynchronous: [`make_link`], [`read_link`]) — are the functions and the hook at the end,
//!   never the reducer.

use crate::model::Doc;
use resocket_core::edit::{self, Edit};
use resocket_core::scenario::{Scenario, SockSpec};
use resocket_core::share;
use resocket_core::sim::{How, SockType};
use resocket_core::sock::Family;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::{HtmlInputElement, HtmlSelectElement};
use yew::prelude::*;

/// The editor's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Editor {
    /// The scenario being edited.
    pub scenario: Rc<Scenario>,
    /// What differs between the image the scenario was read from and the scenario's image.
    pub notes: Vec<String>,
    /// Why the last edit was refused.
    pub error: Option<String>,
    /// The share fragment (`s=…`, without `#`) of the scenario, once asked for and made.
    pub link: Option<String>,
    /// Edits applied since the editor opened.
    pub edits: usize,
    /// Times "Copy share link" was pressed (each press makes the link and copies it again).
    pub shares: usize,
    /// A link was asked for and is being made (an edit meanwhile cancels it).
    pub sharing: bool,
    /// The objref of each of the scenario's sockets in the open image (`scenario.sockets`
    /// order): a row selects its socket in the graph, and the graph's selection marks its row.
    pub objrefs: Vec<i32>,
}

/// What the editor can be asked to do.
#[derive(Debug, Clone, PartialEq)]
pub enum EditorAction {
    /// Read the open image back into a scenario and start editing it.
    Start,
    /// Apply an edit; on success the scenario's image is opened.
    Apply(Edit),
    /// Make the share fragment of the scenario (done by [`make_link`], which answers `Linked`).
    Share,
    /// The share text of `scenario` is made (ignored if the scenario was edited meanwhile).
    Linked { scenario: Rc<Scenario>, text: String },
    /// Open the scenario of a share text (the value of `#s=`): its payload as [`read_link`]
    /// read it, or why it could not.
    OpenShared { text: String, payload: Result<Vec<u8>, String> },
    /// Stop editing (the image stays open).
    Close,
}

/// Largest image (in sockets) the editor opens: every edit writes and reopens the whole image
/// at once, which is quick up to here (bigger images are opened in slices, `crate::job`).
pub const EDIT_MAX: usize = crate::model::BIG;

/// File name of an edited image: `NAME-edited.rsimg` for `NAME.rsimg` (once).
pub fn edited_name(name: &str) -> String {
    let stem = name.strip_suffix(".rsimg").unwrap_or(name);
    if stem.ends_with("-edited") {
        format!("{stem}.rsimg")
    } else {
        format!("{stem}-edited.rsimg")
    }
}

// ---------------------------------------------------------------------------------------------
// View

#[derive(Properties, PartialEq, Debug)]
pub struct EditorProps {
    /// The editor, when editing.
    pub editor: Option<Rc<Editor>>,
    /// The open image (its verdict is the live validation).
    pub doc: Rc<Doc>,
    pub on_action: Callback<EditorAction>,
    /// Download the open image.
    pub on_download: Callback<()>,
    /// The socket selected in the graph (its row is marked).
    pub selected: Option<i32>,
    /// Select a socket (by objref) in the graph, the records and the timeline.
    pub on_select: Callback<i32>,
}

fn value(r: &NodeRef) -> String {
    if let Some(i) = r.cast::<HtmlInputElement>() {
        return i.value();
    }
    r.cast::<HtmlSelectElement>().map(|s| s.value()).unwrap_or_default()
}

fn clear(r: &NodeRef) {
    if let Some(i) = r.cast::<HtmlInputElement>() {
        i.set_value("");
    }
}

/// A `<select>` of the scenario's sockets (optionally with a first "none" entry).
fn socket_select(id: &str, r: &NodeRef, sockets: &[SockSpec], none: Option<&str>, label: &str) -> Html {
    html! {
        <select id={id.to_string()} ref={r.clone()} aria-label={label.to_string()}>
            // Yew inserts a list's nodes last first, which would leave the last one selected.
            if let Some(n) = none {
                <option value="" selected=true>{ n }</option>
            }
            { for sockets.iter().enumerate().map(|(i, s)| html! {
                <option value={s.name.clone()} selected={none.is_none() && i == 0}>{ &s.name }</option>
            }) }
        </select>
    }
}

/// One line saying what a socket is.
pub fn describe(sc: &Scenario, s: &SockSpec) -> String {
    let mut parts = vec![if s.family == Family::Unix { s.ty.to_string() } else { format!("{} {}", s.family, s.ty) }];
    if let Some(a) = &s.addr {
        parts.push(a.clone());
    }
    if let Some(l) = &s.accepted_from {
        parts.push(format!("accepted from {l}"));
    }
    if let Some(b) = s.listen {
        parts.push(format!("listening (backlog {b}, {} pending)", s.pending.len()));
    }
    if let Some(p) = &s.pair {
        parts.push(format!("pair of {p}"));
    } else if let Some(p) = &s.peer {
        parts.push(format!("peer {p}"));
    }
    if let Some(l) = sc.sockets.iter().find(|l| l.pending.iter().any(|p| p.client.as_deref() == Some(&s.name))) {
        parts.push(format!("pending on {}", l.name));
    }
    if s.peer_gone {
        parts.push("peer closed".into());
    }
    if s.external_peer {
        parts.push("external peer".into());
    }
    if let Some(h) = &s.shutdown {
        parts.push(format!("shutdown {}", h.word()));
    }
    parts.join(" · ")
}

fn message_text(m: &resocket_core::scenario::MsgSpec) -> String {
    let body = match (&m.data, &m.hex, m.repeat) {
        (Some(d), _, _) => format!("{d:?}"),
        (_, Some(h), _) => format!("hex {h}"),
        (_, _, Some(n)) => format!("{n} × x"),
        _ => "(empty)".into(),
    };
    let mut t = match &m.from {
        Some(f) => format!("{body} from {f}"),
        None => body,
    };
    if !m.rights.is_empty() {
        t.push_str(&format!(" + fds of {}", m.rights.join(", ")));
    }
    t
}

/// Reads an edit from the form's inputs.
type ReadEdit = Rc<dyn Fn(&[NodeRef]) -> Option<Edit>>;

#[function_component(EditorPanel)]
pub fn editor_panel(p: &EditorProps) -> Html {
    let refs = use_memo((), |_| (0..17).map(|_| NodeRef::default()).collect::<Vec<NodeRef>>());
    let Some(ed) = p.editor.clone() else {
        let on_action = p.on_action.clone();
        let too_big = p.doc.summary.sockets > EDIT_MAX;
        let hint = if too_big {
            format!("The editor opens images of up to {EDIT_MAX} sockets (each edit rewrites the whole image); this one has {}.", p.doc.summary.sockets)
        } else {
            "Edit this image as a scenario (sockets, connections, queued data), download it or share it as a link."
                .to_string()
        };
        return html! {
            <section id="editor" class="panel closed">
                <h2>{ "Scenario" }</h2>
                <p class="hint">{ hint }</p>
                <button id="edit-start" disabled={too_big}
                    onclick={Callback::from(move |_| on_action.emit(EditorAction::Start))}>{ "Edit / share…" }</button>
            </section>
        };
    };
    let sc = ed.scenario.clone();
    let act = |f: ReadEdit| {
        let (on_action, refs) = (p.on_action.clone(), Rc::clone(&refs));
        Callback::from(move |_: MouseEvent| {
            if let Some(e) = f(&refs) {
                on_action.emit(EditorAction::Apply(e));
            }
        })
    };
    // Inputs: 0 add-name 1 add-type | 2 conn-client 3 conn-server 4 pair-a 5 pair-b |
    // 6 bind-sock 7 bind-addr 8 listen-sock 9 listen-backlog | 10 send-from 11 send-to 12 send-data |
    // 13 shut-sock 14 shut-how 15 accept-name 16 add-family
    let on_add = act(Rc::new(move |r: &[NodeRef]| {
        let name = value(&r[0]);
        clear(&r[0]);
        // The selects offer only the words these parse.
        let (family, ty) = (Family::from_word(&value(&r[16]))?, SockType::from_word(&value(&r[1]))?);
        Some(Edit::AddSocket { name, family, ty })
    }));
    let on_connect = act(Rc::new(|r: &[NodeRef]| Some(Edit::Connect { client: value(&r[2]), server: value(&r[3]) })));
    let on_pair = act(Rc::new(|r: &[NodeRef]| Some(Edit::Pair { a: value(&r[4]), b: value(&r[5]) })));
    let on_bind = act(Rc::new(|r: &[NodeRef]| Some(Edit::Bind { name: value(&r[6]), addr: value(&r[7]) })));
    let on_listen = act(Rc::new(|r: &[NodeRef]| {
        let backlog = value(&r[9]).trim().parse().unwrap_or(i16::MAX);
        Some(Edit::Listen { name: value(&r[8]), backlog })
    }));
    let on_send = act(Rc::new(|r: &[NodeRef]| {
        let to = Some(value(&r[11])).filter(|t| !t.is_empty());
        Some(Edit::Send { from: value(&r[10]), to, data: value(&r[12]) })
    }));
    let on_shutdown = act(Rc::new(|r: &[NodeRef]| {
        Some(Edit::Shutdown { name: value(&r[13]), how: How::from_word(&value(&r[14]))? })
    }));
    let listeners: Vec<SockSpec> = sc.sockets.iter().filter(|s| s.listen.is_some()).cloned().collect();
    let accept_name = edit::fresh_name(&sc, "a");
    let on_accept = {
        let accept_name = accept_name.clone();
        act(Rc::new(move |r: &[NodeRef]| {
            let name = Some(value(&r[15])).filter(|n| !n.trim().is_empty()).unwrap_or_else(|| accept_name.clone());
            clear(&r[15]);
            Some(Edit::Accept { listener: value(&r[3]), name })
        }))
    };
    let (on_action, on_download) = (p.on_action.clone(), p.on_download.clone());
    let on_share = {
        let on_action = on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(EditorAction::Share))
    };
    let on_close = {
        let on_action = on_action.clone();
        Callback::from(move |_: MouseEvent| on_action.emit(EditorAction::Close))
    };
    let on_dl = Callback::from(move |_: MouseEvent| on_download.emit(()));
    let summary = &p.doc.summary;
    let verdict = if p.doc.is_valid() { "valid" } else { "invalid" };
    let link = ed.link.as_ref().map(|l| {
        let loc = gloo::utils::window().location();
        let base = format!(
            "{}{}{}",
            loc.origin().unwrap_or_default(),
            loc.pathname().unwrap_or_default(),
            loc.search().unwrap_or_default()
        );
        format!("{base}#{l}")
    });
    let sockets = &sc.sockets;
    html! {
        <section id="editor" class="panel open" aria-label="scenario editor">
            <h2>
                { "Scenario editor" }
                <span class="count">{ format!("{} sockets", sockets.len()) }</span>
                <span class="count">{ format!("{} edits", ed.edits) }</span>
            </h2>
            <div class="editor-bar">
                <span id="editor-verdict" class={classes!("verdict", verdict)} data-errors={summary.errors.to_string()}
                    data-warnings={summary.warnings.to_string()}>
                    { format!("image {verdict}: {} errors, {} warnings", summary.errors, summary.warnings) }
                </span>
                <button id="edit-download" onclick={on_dl} title="download the image of this scenario">{ "Download image" }</button>
                <button id="edit-share" onclick={on_share} title="put the scenario in the URL and copy the link">{ "Copy share link" }</button>
                <button id="edit-close" onclick={on_close}>{ "Close editor" }</button>
            </div>
            if let Some(l) = &link {
                <div class="share-row">
                    <label for="share-link">{ "Share link" }</label>
                    <input id="share-link" readonly=true value={l.clone()} data-chars={l.len().to_string()} />
                </div>
            }
            if let Some(e) = &ed.error {
                <p id="edit-error" class="edit-error" role="alert">{ e }</p>
            }
            if !ed.notes.is_empty() {
                <details id="edit-notes" class="edit-notes" open=true>
                    <summary>{ format!("{} thing(s) the scenario form cannot say about the image it was read from", ed.notes.len()) }</summary>
                    <ul>{ for ed.notes.iter().map(|n| html! { <li>{ n }</li> }) }</ul>
                </details>
            }
            <div class="table-wrap">
                <table id="edit-sockets">
                    <thead><tr><th>{ "socket" }</th><th>{ "what" }</th><th>{ "queue" }</th><th></th></tr></thead>
                    <tbody>
                    { for sockets.iter().zip(ed.objrefs.iter().copied().chain(std::iter::repeat(0))).map(|(s, objref)| {
                        let (name, on_action) = (s.name.clone(), on_action.clone());
                        let remove = Callback::from(move |_: MouseEvent| {
                            on_action.emit(EditorAction::Apply(Edit::RemoveSocket { name: name.clone() }))
                        });
                        html! {
                            <tr key={s.name.clone()} data-name={s.name.clone()} data-objref={objref.to_string()}
                                class={classes!((p.selected == Some(objref)).then_some("selected"))}>
                                <td class="name">
                                    <button class="pick" title="select this socket in the graph and the records"
                                        aria-pressed={(p.selected == Some(objref)).to_string()}
                                        onclick={p.on_select.reform(move |_: MouseEvent| objref)}>{ &s.name }</button>
                                </td>
                                <td class="what">{ describe(&sc, s) }</td>
                                <td class="queue">
                                    { for s.queue.iter().enumerate().map(|(k, m)| {
                                        let (name, on_action) = (s.name.clone(), p.on_action.clone());
                                        let drop = Callback::from(move |_: MouseEvent| {
                                            on_action.emit(EditorAction::Apply(Edit::DropMessage { name: name.clone(), index: k }))
                                        });
                                        html! {
                                            <span class="msg">{ message_text(m) }
                                                <button class="drop" title="drop this message" onclick={drop}>{ "×" }</button>
                                            </span>
                                        }
                                    }) }
                                    { for s.pending.iter().map(|pc| html! {
                                        <span class="msg pending">{ format!("pending: {}{}", pc.client.as_deref().unwrap_or("(closed client)"),
                                            if pc.sent.is_empty() { String::new() } else { format!(", sent {}", pc.sent.len()) }) }</span>
                                    }) }
                                </td>
                                <td><button class="remove" title="close every fd of this socket" onclick={remove}>{ "close" }</button></td>
                            </tr>
                        }
                    }) }
                    </tbody>
                </table>
            </div>
            <div class="edit-forms">
                <fieldset>
                    <legend>{ "socket()" }</legend>
                    <input id="add-name" ref={refs[0].clone()} placeholder={edit::fresh_name(&sc, "s")} aria-label="new socket name" size="8" />
                    <select id="add-family" ref={refs[16].clone()} aria-label="socket family" title="unix: AF_UNIX; inet, inet6: TCP (stream) and UDP (dgram)">
                        { for Family::ALL.iter().enumerate().map(|(i, f)| html! { <option value={f.word()} selected={i == 0}>{ f.word() }</option> }) }
                    </select>
                    <select id="add-type" ref={refs[1].clone()} aria-label="socket type">
                        { for SockType::ALL.iter().enumerate().map(|(i, t)| html! { <option value={t.word()} selected={i == 0}>{ t.word() }</option> }) }
                    </select>
                    <button id="add-socket" onclick={on_add}>{ "Add socket" }</button>
                </fieldset>
                <fieldset>
                    <legend>{ "bind() / listen()" }</legend>
                    { socket_select("bind-socket", &refs[6], sockets, None, "socket to bind") }
                    <input id="bind-addr" ref={refs[7].clone()} placeholder="/tmp/x.sock, @name, 127.0.0.1:80, [::1]:80" aria-label="name or address to bind" size="14"
                        title="AF_UNIX: /path or @abstract; inet: a.b.c.d:port; inet6: [v6]:port (port 0: the kernel picks one)" />
                    <button id="bind" onclick={on_bind}>{ "Bind" }</button>
                    { socket_select("listen-socket", &refs[8], sockets, None, "socket to listen on") }
                    <input id="listen-backlog" ref={refs[9].clone()} type="number" value="5" aria-label="backlog" size="4" />
                    <button id="listen" onclick={on_listen}>{ "Listen" }</button>
                </fieldset>
                <fieldset>
                    <legend>{ "connect() / socketpair() / accept()" }</legend>
                    { socket_select("connect-client", &refs[2], sockets, None, "connecting socket") }
                    <span class="arrow">{ "→" }</span>
                    { socket_select("connect-server", &refs[3], sockets, None, "socket connected to") }
                    <button id="connect" onclick={on_connect}>{ "Connect" }</button>
                    <input id="accept-name" ref={refs[15].clone()} placeholder={accept_name} aria-label="accepted socket name" size="6" />
                    <button id="accept" onclick={on_accept} disabled={listeners.is_empty()}
                        title="accept the first pending connection of the socket on the right">{ "Accept" }</button>
                    <span class="sep" />
                    { socket_select("pair-a", &refs[4], sockets, None, "first end") }
                    <span class="arrow">{ "⇄" }</span>
                    { socket_select("pair-b", &refs[5], sockets, None, "second end") }
                    <button id="pair" onclick={on_pair}>{ "socketpair" }</button>
                </fieldset>
                <fieldset>
                    <legend>{ "send() / shutdown()" }</legend>
                    { socket_select("send-from", &refs[10], sockets, None, "sender") }
                    <span class="arrow">{ "→" }</span>
                    { socket_select("send-to", &refs[11], sockets, Some("(its peer)"), "destination") }
                    <input id="send-data" ref={refs[12].clone()} placeholder="data (\\xNN escapes)" aria-label="data" size="14" />
                    <button id="send" onclick={on_send}>{ "Send" }</button>
                    <span class="sep" />
                    { socket_select("shutdown-socket", &refs[13], sockets, None, "socket to shut down") }
                    <select id="shutdown-how" ref={refs[14].clone()} aria-label="how">
                        { for [How::Wr, How::Rd, How::Rdwr].into_iter().map(|h| html! { <option value={h.word()} selected={h == How::Wr}>{ h.word() }</option> }) }
                    </select>
                    <button id="shutdown" onclick={on_shutdown}>{ "Shutdown" }</button>
                </fieldset>
            </div>
        </section>
    }
}

// ---------------------------------------------------------------------------------------------
// Effects

/// Offer `bytes` as a download named `name` (a Blob behind an object URL, clicked through a
/// temporary anchor).
pub fn download(name: &str, bytes: &[u8]) {
    let blob = gloo::file::Blob::new_with_options(bytes, Some("application/octet-stream"));
    let url = gloo::file::ObjectUrl::from(blob);
    let doc = gloo::utils::document();
    let Ok(a) = doc.create_element("a") else { return };
    let _ = a.set_attribute("href", &url);
    let _ = a.set_attribute("download", name);
    if let Some(a) = a.dyn_ref::<web_sys::HtmlElement>() {
        a.click();
    }
    // Revoked a little later: revoking at once can cancel the download.
    gloo::timers::callback::Timeout::new(30_000, move || drop(url)).forget();
}

/// Make the location's fragment `link` (a share fragment stands alone: it replaces a deep link
/// to a fixture) without adding a history entry.
pub fn set_fragment(link: &str) {
    let window = gloo::utils::window();
    let loc = window.location();
    if loc.hash().unwrap_or_default() == format!("#{link}") {
        return;
    }
    let url = format!("{}{}#{link}", loc.pathname().unwrap_or_default(), loc.search().unwrap_or_default());
    if let Ok(h) = window.history() {
        let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
    }
}

/// Copy `text` to the clipboard where the page may (a secure context with the Clipboard API);
/// a refusal is ignored (the link is on the page to copy by hand).
pub fn copy(text: &str) {
    let window = gloo::utils::window();
    let nav = window.navigator();
    let has = web_sys::js_sys::Reflect::has(&nav, &"clipboard".into()).unwrap_or(false);
    if !window.is_secure_context() || !has {
        return;
    }
    let promise = nav.clipboard().write_text(text);
    let ignore = wasm_bindgen::closure::Closure::<dyn FnMut(wasm_bindgen::JsValue)>::new(|_| {});
    let _ = promise.catch(&ignore);
    ignore.forget(); // called at most once, by the browser, after this function returned
}

/// Make the share text of `scenario` (bincode by core, raw DEFLATE by the browser, the shorter
/// form kept): the `Linked` action to dispatch.
pub async fn make_link(scenario: Rc<Scenario>) -> EditorAction {
    let payload = share::payload(&scenario);
    let deflated = crate::deflate::deflate(&payload).await;
    let text = share::text_of(&share::frame(&payload, deflated.as_deref()));
    EditorAction::Linked { scenario, text }
}

/// Read share text `text` down to its payload (base64url, format byte, and the browser's
/// inflate, bounded by `share::MAX_BYTES`): the `OpenShared` action to dispatch.
pub async fn read_link(text: String) -> EditorAction {
    let payload = match share::bytes_of(&text).map_err(|e| e.to_string()) {
        Err(e) => Err(e),
        Ok(bytes) => match share::unframe(&bytes) {
            Err(e) => Err(e.to_string()),
            Ok(share::Framed::Raw(p)) => Ok(p.to_vec()),
            Ok(share::Framed::Deflated(d)) => crate::deflate::inflate(d, share::MAX_BYTES)
                .await
                .map_err(|e| share::ShareError::Inflate(e).to_string()),
        },
    };
    EditorAction::OpenShared { text, payload }
}

/// The share text in the location's fragment, unless the fragment is a deep link to a fixture
/// (those open the fixture instead).
fn shared_in_location() -> Option<String> {
    let hash = gloo::utils::window().location().hash().unwrap_or_default();
    let is_fixture_link = hash.trim_start_matches('#').split('&').any(|kv| kv.starts_with("fixture="));
    (!is_fixture_link).then(|| share::find_in_fragment(&hash).map(str::to_string)).flatten()
}

/// Open the scenario of a `#s=` link when the page opens and whenever the fragment changes to
/// another share text; put the share fragment in the location and on the clipboard when one
/// is made.
#[hook]
pub fn use_share_link(editor: Option<&Rc<Editor>>, on_action: Callback<EditorAction>) {
    let last = use_mut_ref(|| None::<String>);
    {
        let (on_action, last) = (on_action.clone(), last.clone());
        use_effect_with((), move |_| {
            let check = move || {
                let Some(text) = shared_in_location() else { return };
                if last.borrow().as_deref() != Some(text.as_str()) {
                    *last.borrow_mut() = Some(text.clone());
                    let on_action = on_action.clone();
                    wasm_bindgen_futures::spawn_local(async move {
                        on_action.emit(read_link(text).await);
                    });
                }
            };
            check();
            let listener = gloo::events::EventListener::new(&gloo::utils::window(), "hashchange", move |_| check());
            move || drop(listener)
        });
    }
    // A press of "Copy share link" (`shares` counts them) asks for a link: made in a task.
    let asked = editor.filter(|e| e.sharing).map(|e| (e.shares, e.scenario.clone()));
    {
        use_effect_with(asked, move |asked| {
            if let Some((_, scenario)) = asked.clone() {
                wasm_bindgen_futures::spawn_local(async move {
                    on_action.emit(make_link(scenario).await);
                });
            }
        });
    }
    let share = editor.map(|e| (e.link.clone(), e.shares));
    use_effect_with(share, move |share| {
        // Only a press of "Copy share link" writes the location and the clipboard (not the link
        // of a scenario opened from the location).
        if let Some((Some(l), n)) = share.as_ref().filter(|(_, n)| *n > 0) {
            let _ = n;
            *last.borrow_mut() = share::find_in_fragment(l).map(str::to_string);
            set_fragment(l);
            copy(&gloo::utils::window().location().href().unwrap_or_default());
        }
    });
}
