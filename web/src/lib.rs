//! `resocket-web`: the image inspector. A Yew app whose state is one [`state::State`] changed
//! only by [`state::Action`]s; every fact it shows comes from `resocket-core`.

pub mod api;
pub mod client;
pub mod components;
pub mod criu;
pub mod criu_view;
mod deflate;
pub mod editor;
pub mod files;
pub mod gallery;
pub mod job;
pub mod kernel;
pub mod lesson;
pub mod message;
pub mod model;
pub mod reader;
pub mod route;
pub mod state;
pub mod worker;

use components::{
    Diagnostics, Gallery, GraphPanel, HexView, LessonsPage, RecordList, Sockets, SummaryBar, Timeline, TryBar,
};
use gallery::Item;
use model::OrderKind;
use state::{Action, FieldRef, State};
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Mount the app on `<body>`, unless the page only embeds the module for its JS API
/// (`<body data-resocket-embed>`, see `docs/embedding.md`).
pub fn start() {
    let embed = gloo::utils::document().body().is_some_and(|b| b.has_attribute("data-resocket-embed"));
    if !embed {
        yew::Renderer::<App>::new().render();
    }
}

/// The action that opens a resocket-image gallery item at once (tests). The app opens every
/// item, like picked and dropped files, through `job::open_files`; a CRIU item's files are
/// `Item::files` (its `bytes` are empty).
pub async fn open_item(item: &Item) -> Action {
    match item.bytes().await {
        Ok(bytes) => Action::Open {
            name: item.name.to_string(),
            note: item.description.to_string(),
            bytes,
            host: model::PlanHost::default(),
        },
        Err(e) => Action::OpenFailed(e),
    }
}

/// Open what the user picked or dropped (`job::open_files`: core decides by content what it
/// is), or dispatch `OpenFailed`.
fn open_picked(
    picked: impl std::future::Future<Output = Result<files::Picked, String>> + 'static,
    generation: Rc<job::Generation>,
    dispatch: UseReducerDispatcher<State>,
) {
    wasm_bindgen_futures::spawn_local(async move {
        match picked.await {
            Ok(p) if p.files.is_empty() => dispatch.dispatch(Action::OpenFailed("nothing to open: no files".into())),
            Ok(p) => {
                let (name, files) = files::named(p);
                job::open_files(
                    job::FilesRequest { name, note: String::new(), fixture: None, files, goto: None },
                    generation,
                    dispatch,
                )
            }
            Err(e) => dispatch.dispatch(Action::OpenFailed(e)),
        }
    });
}

/// Open a gallery item, then show `goto` (a deep link's order and step). The bytes are made in
/// a task: fixture files are fetched, and an item whose bytes take a while to generate is
/// generated one turn after the page shows that it is opening it.
fn open_fixture(
    item: &Item,
    goto: Option<route::Goto>,
    generation: Rc<job::Generation>,
    d: UseReducerDispatcher<State>,
) {
    let (item, g) = (*item, generation.next());
    if item.is_costly() {
        let name = item.name.to_string();
        d.dispatch(Action::Begin { name: name.clone(), fixture: Some(name), goto, host: generation.host_for(None) });
        d.dispatch(Action::Progress { stage: "generating the image", done: 0, total: 0 });
    }
    wasm_bindgen_futures::spawn_local(async move {
        if item.is_costly() {
            job::yield_now().await;
        }
        let files = item.files().await;
        // A newer open (a click or a link while this one waited) wins.
        if generation.is_current(g) {
            let files = match files {
                Ok(files) => files.into_iter().map(|f| (f.name, client::Data::Bytes(f.bytes))).collect(),
                Err(e) => return d.dispatch(Action::OpenFailed(e)),
            };
            let request = job::FilesRequest {
                name: item.name.to_string(),
                note: item.description.to_string(),
                fixture: Some(item.name.to_string()),
                files,
                goto,
            };
            job::open_files(request, generation, d);
        }
    });
}

/// Follow the deep link in the location's fragment: open its fixture (unless it is open, or
/// being opened, already) and show its order and step. Fragments without `fixture` are not ours.
fn follow_link(items: &[Item], current: Option<&str>, generation: Rc<job::Generation>, d: UseReducerDispatcher<State>) {
    let hash = gloo::utils::window().location().hash().unwrap_or_default();
    let r = route::parse(&hash);
    let Some(name) = r.fixture.as_deref() else { return };
    if current == Some(name) {
        d.dispatch(Action::Goto(r.goto()));
        return;
    }
    match items.iter().find(|i| i.name == name) {
        Some(item) => open_fixture(item, Some(r.goto()), generation, d),
        None => d.dispatch(Action::OpenFailed(format!("link: no fixture named {name:?} in the gallery"))),
    }
}

/// The keyboard shortcuts: (keys, what they do). Shown by the help panel.
pub const SHORTCUTS: &[(&str, &str)] = &[
    ("→ / ←", "timeline: step forward / back"),
    ("Shift + → / ←", "timeline: 10 steps forward / back"),
    ("Space", "timeline: play / pause"),
    ("Home / End", "timeline: first step / last step"),
    ("↓ / ↑, j / k", "records (when the record list has the focus): next / previous"),
    ("?", "show / hide this list"),
    ("Esc", "hide this list"),
];

/// The action a key press stands for, if it is a shortcut. Keys typed into inputs, selects and
/// text areas, keys with Ctrl/Alt/Meta, and keys a component already handled are not.
fn shortcut(e: &web_sys::KeyboardEvent) -> Option<Action> {
    if e.default_prevented() || e.ctrl_key() || e.alt_key() || e.meta_key() || job::is_typing_target(e.target()) {
        return None;
    }
    let n = if e.shift_key() { 10 } else { 1 };
    Some(match e.key().as_str() {
        "ArrowRight" => Action::StepTimeline(n),
        "ArrowLeft" => Action::StepTimeline(-n),
        // Space on a focused button clicks it; leave that to the browser.
        " " if e.target().and_then(|t| t.dyn_into::<web_sys::HtmlButtonElement>().ok()).is_none() => Action::TogglePlay,
        "Home" => Action::Seek(0),
        "End" => Action::Seek(usize::MAX),
        "?" => Action::ToggleHelp,
        "Escape" => Action::HideHelp,
        _ => return None,
    })
}

/// Scroll `item` into view inside its scroll container `container_id` (not the page).
fn scroll_within(container_id: &str, item_selector: &str) {
    let doc = gloo::utils::document();
    let (Some(container), Ok(Some(item))) = (doc.get_element_by_id(container_id), doc.query_selector(item_selector))
    else {
        return;
    };
    let (Some(c), Some(i)) = (container.dyn_ref::<web_sys::HtmlElement>(), item.dyn_ref::<web_sys::HtmlElement>())
    else {
        return;
    };
    let top = i.offset_top() - c.offset_top();
    let visible = c.scroll_top()..c.scroll_top() + c.client_height() - i.offset_height();
    if !visible.contains(&top) {
        c.set_scroll_top((top - c.client_height() / 3).max(0));
    }
}

/// The lessons page's action for a key press (its keys, `lesson::KEYS`; `?` and Esc on the
/// shortcut list still work), or none.
fn lesson_key(l: &lesson::Lessons, e: &web_sys::KeyboardEvent) -> Option<Action> {
    if e.default_prevented() || e.ctrl_key() || e.alt_key() || e.meta_key() || job::is_typing_target(e.target()) {
        return None;
    }
    match e.key().as_str() {
        "?" => Some(Action::ToggleHelp),
        k => lesson::key_action(l, k).map(Action::Lesson),
    }
}

/// Read a dropped lesson file and open it (core parses it in the worker; a bad one shows its
/// located error).
fn open_lesson_file(f: web_sys::File, d: UseReducerDispatcher<State>) {
    wasm_bindgen_futures::spawn_local(async move {
        let name = f.name();
        match wasm_bindgen_futures::JsFuture::from(f.text()).await.ok().and_then(|t| t.as_string()) {
            Some(text) => open_lessons(vec![(name, text)], d),
            None => {
                d.dispatch(Action::Lesson(lesson::LessonAction::Failed(format!("{name}: could not be read as text"))))
            }
        }
    });
}

/// Open lesson files `(name, text)`, read by core in the worker.
fn open_lessons(files: Vec<(String, String)>, d: UseReducerDispatcher<State>) {
    lesson::read_in_worker(files, move |read| {
        for (name, lesson) in read {
            d.dispatch(Action::Lesson(lesson::LessonAction::OpenFile { name, lesson }));
        }
    });
}

/// The lessons page's effects: progress read back at start and kept in localStorage, a deep
/// link (`#lesson=ID&at=N`) and `?lesson=URL` followed at start, the built-in lessons fetched
/// when the page is first shown, and the fragment kept in step with the lesson and step shown.
#[hook]
fn use_lesson_effects(l: &Rc<lesson::Lessons>, d: UseReducerDispatcher<State>) {
    {
        let d = d.clone();
        use_effect_with((), move |_| {
            d.dispatch(Action::Lesson(lesson::LessonAction::Restored(lesson::load_answers())));
            let loc = gloo::utils::window().location();
            if let Some((id, step)) = lesson::route_of(&loc.hash().unwrap_or_default()) {
                d.dispatch(Action::Lesson(lesson::LessonAction::Goto { id, step }));
            }
            let search = loc.search().unwrap_or_default();
            let url =
                route::pairs(search.trim_start_matches('?')).into_iter().find(|(k, _)| k == "lesson").map(|(_, v)| v);
            if let Some(url) = url.filter(|u| !u.is_empty()) {
                d.dispatch(Action::Lesson(lesson::LessonAction::Show(true)));
                wasm_bindgen_futures::spawn_local(async move {
                    match lesson::fetch_text(&url).await {
                        Ok(text) => open_lessons(vec![(url, text)], d),
                        Err(e) => d.dispatch(Action::Lesson(lesson::LessonAction::Failed(format!("lesson {e}")))),
                    }
                });
            }
        });
    }
    {
        let d = d.clone();
        use_effect_with(l.requested, move |&requested| {
            if requested {
                // Every file fetched at once, then all of them read in one worker.
                let fetches: Vec<_> = lesson::BUILTIN_NAMES
                    .iter()
                    .map(|name| (*name, lesson::fetch_text(&format!("lessons/{name}"))))
                    .collect();
                wasm_bindgen_futures::spawn_local(async move {
                    let mut texts = Vec::new();
                    for (name, fetch) in fetches {
                        match fetch.await {
                            Ok(text) => texts.push((name.to_string(), text)),
                            Err(e) => {
                                d.dispatch(Action::Lesson(lesson::LessonAction::Failed(format!("lessons/{name}: {e}"))))
                            }
                        }
                    }
                    lesson::read_in_worker(texts, move |read| {
                        for (name, lesson) in read {
                            d.dispatch(Action::Lesson(lesson::LessonAction::Fetched { name, lesson }));
                        }
                    });
                });
            }
        });
    }
    use_effect_with(l.answers.clone(), |a| {
        if !a.is_empty() {
            lesson::save_answers(a);
        }
    });
    let place = l.shown.then(|| (l.lesson().map(|x| x.id.clone()), l.step));
    let l2 = l.clone();
    use_effect_with(place, move |place| {
        if place.as_ref().is_none_or(|p| p.0.is_none()) && !l2.shown {
            return;
        }
        let loc = gloo::utils::window().location();
        let hash = loc.hash().unwrap_or_default();
        let new = lesson::fragment_for(&hash, &l2);
        if new != hash && !(new.is_empty() && hash == "#") {
            let url = format!("{}{}{new}", loc.pathname().unwrap_or_default(), loc.search().unwrap_or_default());
            if let Ok(h) = gloo::utils::window().history() {
                let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
            }
        }
    });
}

/// The kernel worker, kept for as long as the app is: each request the state makes
/// (`State::ask`, a new session each) is sent (with the doc's bytes if the worker does not
/// hold them), and the answers are dispatched (the reducer ignores those of superseded
/// sessions).
#[hook]
fn use_kernel(state: &State, d: UseReducerDispatcher<State>) {
    let kernel = use_memo((), move |_| {
        client::Kernel::new(move |reply| {
            if let Some(a) = state::kernel_action(reply) {
                d.dispatch(a);
            }
        })
    });
    let image = state.doc.as_ref().map(|d| d.bytes.clone());
    use_effect_with(state.ask.clone(), move |ask| {
        if let (Some(ask), Some(image)) = (ask.clone(), image) {
            kernel.ask(ask, image);
        }
    });
}

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer_eq(State::default);
    let items = use_memo((), |_| gallery::items());
    let generation = use_memo((), |_| Rc::new(job::Generation::default()));
    let generation: Rc<job::Generation> = (*generation).clone();
    let d = state.dispatcher();
    use_kernel(&state, d.clone());
    let on_editor = {
        let d = d.clone();
        use_callback((), move |a: editor::EditorAction, _| d.dispatch(Action::Editor(a)))
    };
    // Share links: `#s=` opens its scenario; "Copy share link" writes the location.
    editor::use_share_link(state.editor.as_ref(), on_editor.clone());
    let on_download = {
        let doc = state.doc.clone();
        Callback::from(move |()| {
            if let Some(doc) = &doc {
                editor::download(&doc.name, &doc.bytes);
            }
        })
    };

    let on_open = {
        let (d, generation) = (d.clone(), generation.clone());
        use_callback((), move |item: Item, _| open_fixture(&item, None, generation.clone(), d.clone()))
    };
    // The fixture open (or opening) as of the last render, for the window listeners.
    let latest = use_mut_ref(|| None::<String>);
    latest.borrow_mut().clone_from(&state.fixture);
    // The lessons page as of the last render, for the key listener.
    let lessons_now = use_mut_ref(|| Rc::new(lesson::Lessons::default()));
    *lessons_now.borrow_mut() = state.lessons.clone();
    use_lesson_effects(&state.lessons, d.clone());
    // Deep links: follow the fragment on load and when it changes; shortcuts on the document.
    {
        let (d, items, generation, latest) = (d.clone(), items.clone(), generation.clone(), latest.clone());
        let lessons_now = lessons_now.clone();
        use_effect_with((), move |_| {
            follow_link(&items, latest.borrow().as_deref(), generation.clone(), d.clone());
            let on_hash = {
                let d = d.clone();
                gloo::events::EventListener::new(&gloo::utils::window(), "hashchange", move |_| {
                    let hash = gloo::utils::window().location().hash().unwrap_or_default();
                    if let Some((id, step)) = lesson::route_of(&hash) {
                        d.dispatch(Action::Lesson(lesson::LessonAction::Goto { id, step }));
                    }
                    let current = latest.borrow().clone();
                    follow_link(&items, current.as_deref(), generation.clone(), d.clone());
                })
            };
            let on_key = gloo::events::EventListener::new(&gloo::utils::document(), "keydown", move |e| {
                let Some(e) = e.dyn_ref::<web_sys::KeyboardEvent>() else { return };
                let on_lessons = lessons_now.borrow().shown;
                let action = if on_lessons { lesson_key(&lessons_now.borrow(), e) } else { shortcut(e) };
                if let Some(action) = action {
                    e.prevent_default();
                    d.dispatch(action);
                }
            });
            move || drop((on_hash, on_key))
        });
    }
    // … and keep the fragment in step with what is shown (not while an open is in progress).
    {
        // Nothing is written before an image is open: the first render must not strip a link
        // that `follow_link` is still opening.
        let route = (state.loading.is_none() && !state.running() && state.doc.is_some()).then(|| route::Route {
            fixture: state.fixture.clone(),
            order: Some(state.order_kind).filter(|&k| k != OrderKind::Custom),
            step: Some(state.cursor).filter(|_| state.order_kind != OrderKind::Custom),
        });
        use_effect_with(route, |route| {
            let Some(route) = route else { return };
            let loc = gloo::utils::window().location();
            let hash = loc.hash().unwrap_or_default();
            let new = route::apply(&hash, route);
            if new != hash && !(new.is_empty() && hash == "#") {
                let url = format!("{}{}{new}", loc.pathname().unwrap_or_default(), loc.search().unwrap_or_default());
                if let Ok(h) = gloo::utils::window().history() {
                    let _ = h.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&url));
                }
            }
        });
    }
    let on_select = {
        let d = d.clone();
        use_callback((), move |i: usize, _| d.dispatch(Action::SelectRecord(i)))
    };
    let on_step = {
        let d = d.clone();
        use_callback((), move |delta: isize, _| d.dispatch(Action::Step(delta)))
    };
    let on_socket = {
        let d = d.clone();
        use_callback((), move |objref: i32, _| d.dispatch(Action::SelectSocket(objref)))
    };
    let on_toggle = {
        let d = d.clone();
        use_callback((), move |i: usize, _| d.dispatch(Action::ToggleRecord(i)))
    };
    let on_field = {
        let d = d.clone();
        use_callback((), move |f: FieldRef, _| d.dispatch(Action::SelectField(f)))
    };
    let on_hover_field = {
        let d = d.clone();
        use_callback((), move |f: Option<FieldRef>, _| d.dispatch(Action::HoverField(f)))
    };
    let on_hover_byte = {
        let d = d.clone();
        use_callback((), move |o: Option<usize>, _| d.dispatch(Action::HoverByte(o)))
    };
    let on_diag = {
        let d = d.clone();
        use_callback((), move |k: usize, _| d.dispatch(Action::SelectDiagnostic(k)))
    };
    let on_warning = {
        let d = d.clone();
        use_callback((), move |k: usize, _| d.dispatch(Action::SelectWarning(k)))
    };
    let on_more = {
        let d = d.clone();
        use_callback((), move |(), _| d.dispatch(Action::MoreRecords))
    };
    let on_earlier = {
        let d = d.clone();
        use_callback((), move |(), _| d.dispatch(Action::EarlierRecords))
    };
    let on_more_sockets = {
        let d = d.clone();
        use_callback((), move |(), _| d.dispatch(Action::MoreSockets))
    };
    let on_draw = {
        let d = d.clone();
        use_callback((), move |(), _| d.dispatch(Action::DrawGraph))
    };
    let on_plan = {
        let d = d.clone();
        use_callback((), move |(), _| d.dispatch(Action::MakePlan))
    };
    let on_order = {
        let d = d.clone();
        use_callback((), move |k: OrderKind, _| d.dispatch(Action::SetOrder(k)))
    };
    let on_move = {
        let d = d.clone();
        use_callback((), move |(pos, delta): (usize, isize), _| d.dispatch(Action::MoveStep(pos, delta)))
    };
    let on_seek = {
        let d = d.clone();
        use_callback((), move |k: usize, _| d.dispatch(Action::Seek(k)))
    };
    let on_tl_step = {
        let d = d.clone();
        use_callback((), move |delta: isize, _| d.dispatch(Action::StepTimeline(delta)))
    };
    let on_play = {
        let d = d.clone();
        use_callback((), move |(), _| d.dispatch(Action::TogglePlay))
    };
    // The addresses of a fresh host the restore is planned for: opens started from callbacks
    // read them from `generation` (set at each render); a change of host re-plans at once, or
    // opens a big image again (planned in slices).
    generation.set_fresh(state.typed_host.clone());
    let on_host = {
        let (d, generation, doc, fixture, criu) =
            (d.clone(), generation.clone(), state.doc.clone(), state.fixture.clone(), state.criu.clone());
        Callback::from(move |host: model::PlanHost| {
            d.dispatch(Action::SetHost(host.clone()));
            if let model::PlanHost::Fresh(a) = &host {
                generation.set_fresh(a.clone());
            }
            if let Some(doc) = doc.as_ref().filter(|doc| doc.summary.sockets > model::BIG) {
                let request = job::Request {
                    name: doc.name.clone(),
                    note: doc.note.clone(),
                    fixture: fixture.clone(),
                    bytes: doc.bytes.clone(),
                    goto: None,
                    criu: criu.clone(),
                    host: host.clone(),
                };
                job::open(request, generation.clone(), d.clone());
            }
        })
    };
    let on_tick = {
        let d = d.clone();
        use_callback((), move |(), _| d.dispatch(Action::Tick))
    };
    let on_help = {
        let d = d.clone();
        Callback::from(move |_: MouseEvent| d.dispatch(Action::ToggleHelp))
    };
    // The file picker (one or more files: an image, .img files, an archive) and the directory
    // picker (a CRIU image directory).
    let onchange = {
        let (d, generation) = (d.clone(), generation.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(list) = input.files().filter(|l| l.length() > 0) {
                let picked = files::from_input(&list);
                open_picked(async move { Ok(picked) }, generation.clone(), d.clone());
            }
            input.set_value("");
        })
    };
    let dragging = use_state_eq(|| false);
    let ondragover = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(true);
        })
    };
    let ondragleave = {
        let dragging = dragging.clone();
        Callback::from(move |e: DragEvent| {
            if e.related_target().is_none() {
                dragging.set(false); // left the window, not just moved between children
            }
        })
    };
    // Drops of files or a folder: the entries are taken now (they are gone after the event).
    let ondrop = {
        let (d, dragging, generation) = (d.clone(), dragging.clone(), generation.clone());
        let lessons_shown = state.lessons.shown;
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            let Some(dt) = e.data_transfer() else { return };
            // On the lessons page a dropped .json file is a lesson.
            if lessons_shown {
                if let Some(f) = dt.files().and_then(|l| l.get(0)).filter(|f| f.name().ends_with(".json")) {
                    open_lesson_file(f, d.clone());
                    return;
                }
            }
            let entries = files::drop_entries(&dt);
            if entries.is_empty() {
                // No entries API (or a drop of plain files some browsers give only as a list).
                if let Some(list) = dt.files().filter(|l| l.length() > 0) {
                    let picked = files::from_input(&list);
                    open_picked(async move { Ok(picked) }, generation.clone(), d.clone());
                }
                return;
            }
            open_picked(files::from_drop(entries), generation.clone(), d.clone());
        })
    };

    // Effects after render: keep the selected record and the highlighted bytes in view.
    {
        let key = (state.selected, state.focus.clone());
        use_effect_with(key, |_| {
            scroll_within("records-scroll", "#records .record.selected");
            scroll_within("hex-scroll", "#hex .b.hl");
        });
    }

    let loading = state.loading.as_ref().map(|l| {
        let pct = if l.total > 0 { (l.done as u64 * 100 / l.total as u64).min(100) } else { 0 };
        html! {
            <section id="loading" class="panel" aria-live="polite">
                <span class="what">{ format!("opening {}: {}", l.name, l.stage) }</span>
                if l.total > 0 {
                    <progress max="100" value={pct.to_string()} />
                    <span class="pct">{ format!("{pct} %") }</span>
                } else {
                    // A stage without a measure: an indeterminate bar.
                    <progress />
                }
                if let Some(u) = l.unpacked {
                    <span class="unpacked">{ format!("{} bytes unpacked", model::thousands(u as usize)) }</span>
                }
            </section>
        }
    });
    let help = state.help.then(|| {
        html! {
            <section id="shortcuts" class="panel" aria-label="keyboard shortcuts">
                <h2>{ "Keyboard shortcuts" }</h2>
                <dl>
                { for SHORTCUTS.iter().map(|(k, what)| html! { <><dt><kbd>{ *k }</kbd></dt><dd>{ *what }</dd></> }) }
                </dl>
            </section>
        }
    });
    // A CRIU checkpoint's own panels (its scenario image, if it maps, is `state.doc`).
    let on_criu = {
        let d = d.clone();
        use_callback((), move |a: criu::CriuAction, _| d.dispatch(Action::Criu(a)))
    };
    // The entry shown is walked by the worker that read the checkpoint (`reader::fields`).
    {
        let walk = (state.criu.clone(), state.criu_sel.file, state.criu_sel.entry);
        use_effect_with(walk, |(doc, file, entry)| {
            if let (Some(doc), Some(entry)) = (doc, entry) {
                doc.walk(*file, *entry);
            }
        });
    }
    let criu_panels = state.criu.as_ref().map(|c| {
        use criu::CriuAction as A;
        use criu_view::*;
        let sel = state.criu_sel.clone();
        html! {
            <>
                <CriuSummary doc={c.clone()} />
                <CriuFiles doc={c.clone()} selected={sel.file} on_select={on_criu.reform(A::SelectFile)} />
                <div class="panes">
                    <CriuEntries doc={c.clone()} sel={sel.clone()} on_entry={on_criu.reform(A::SelectEntry)}
                        on_field={on_criu.reform(A::SelectField)} on_hover_field={on_criu.reform(A::HoverField)}
                        on_more={on_criu.reform(|()| A::MoreEntries)} />
                    <CriuHex doc={c.clone()} sel={sel.clone()} on_hover={on_criu.reform(A::HoverByte)} />
                </div>
                <CriuDiagnostics doc={c.clone()} focus={sel.diag} on_select={on_criu.reform(A::SelectDiagnostic)} />
                <CriuNotes doc={c.clone()} shown={sel.notes_shown} on_more={on_criu.reform(|()| A::MoreNotes)} />
                <CriuAddresses doc={c.clone()} />
            </>
        }
    });
    let body = match &state.doc {
        None if state.loading.is_none() && criu_panels.is_some() => criu_panels.unwrap_or_default(),
        None if state.loading.is_some() => html! {},
        None => html! {
            <section class="empty panel">
                <h2>{ "No image open" }</h2>
                <p>{ "Pick an image from the gallery, open a file, or drop one anywhere on the page." }</p>
            </section>
        },
        Some(doc) => {
            let region = model::hex_region(doc, state.selected, state.focus.as_ref());
            let label = match state.selected.and_then(|i| doc.records.get(i).map(|r| (i, r))) {
                Some((i, r)) => format!("record #{i} {} at {:#x}", r.ty, r.offset),
                None => format!("bytes {:#x}..{:#x}", region.start, region.end),
            };
            let (hover_name, hover_range) = match &state.hover {
                Some(((_, k), r)) => (Some(k.clone()), Some(r.clone())),
                None => (None, None),
            };
            html! {
                <>
                if let Some(panels) = criu_panels {
                    { panels }
                } else {
                    <SummaryBar doc={doc.clone()} />
                    <editor::EditorPanel editor={state.editor.clone()} doc={doc.clone()} on_action={on_editor}
                        {on_download} selected={state.focus_socket} on_select={on_socket.clone()} />
                    <div class="panes">
                        <RecordList
                            doc={doc.clone()}
                            selected={state.selected}
                            expanded={state.expanded.clone()}
                            window={state.window}
                            shown={state.shown}
                            hover={state.hover.as_ref().map(|(f, _)| f.clone())}
                            focus_field={state.focus_field.clone()}
                            focus={state.focus.clone()}
                            {on_select}
                            {on_step}
                            {on_toggle}
                            {on_field}
                            {on_hover_field}
                            {on_more}
                            {on_earlier}
                        />
                        <HexView
                            doc={doc.clone()}
                            {region}
                            {label}
                            focus={state.focus.clone()}
                            hover={hover_range}
                            {hover_name}
                            on_hover={on_hover_byte}
                        />
                    </div>
                    <Diagnostics doc={doc.clone()} focus={state.focus_diag} on_select={on_diag} plan={state.plan()}
                        focus_warning={state.focus_warning} on_warning={on_warning.clone()} />
                }
                    <GraphPanel
                        sockets={doc.summary.sockets}
                        drawing={state.graph.clone()}
                        selected={state.focus_socket}
                        on_select={on_socket.clone()}
                        {on_draw}
                        busy={state.loading.is_some()}
                    />
                    <Timeline
                        sockets={doc.summary.sockets}
                        plan={state.plans.as_ref().map(|p| match &p.planner {
                            Err(e) if state.order_kind != OrderKind::V2 => Err(e.clone()),
                            _ => state.plan().ok_or_else(|| "no plan".to_string()),
                        })}
                        kind={state.order_kind}
                        order={state.order.clone()}
                        report={state.report.clone()}
                        cursor={state.cursor}
                        playing={state.playing}
                        kernel={state.kernel.clone()}
                        kernel_at={state.kernel_at}
                        selected={state.focus_socket}
                        {on_plan}
                        {on_order}
                        {on_move}
                        {on_seek}
                        on_step={on_tl_step}
                        {on_play}
                        {on_tick}
                        on_socket={on_socket.clone()}
                        focus_warning={state.focus_warning}
                        {on_warning}
                        busy={state.loading.is_some() || state.ask.is_some()}
                        inet={doc.inet}
                        host={state.host.clone()}
                        saved_host={state.criu.as_ref().and_then(|c| c.saved_host.clone())}
                        image_addrs={doc.addrs.clone()}
                        {on_host}
                    />
                    <Sockets
                        doc={doc.clone()}
                        shown={state.sockets_shown}
                        focus={state.focus_socket}
                        on_select={on_socket}
                        on_more={on_more_sockets}
                    />
                </>
            }
        }
    };

    let on_lesson = {
        let d = d.clone();
        use_callback((), move |a: lesson::LessonAction, _| d.dispatch(Action::Lesson(a)))
    };
    let lessons_toggle = on_lesson.reform({
        let shown = state.lessons.shown;
        move |_: MouseEvent| lesson::LessonAction::Show(!shown)
    });
    let body = if state.lessons.shown {
        html! { <LessonsPage lessons={state.lessons.clone()} on_action={on_lesson.clone()} /> }
    } else {
        let t = state.lessons.trying.clone();
        let title =
            t.as_ref().and_then(|t| state.lessons.list.get(t.lesson)).map(|l| l.title.clone()).unwrap_or_default();
        html! {
            <>
                if let Some(t) = t {
                    <TryBar trying={t} title={title} on_action={on_lesson.clone()} />
                }
                { body }
            </>
        }
    };
    html! {
        <div class={classes!("app", dragging.then_some("dragging"))} {ondragover} {ondragleave} {ondrop}>
            <header>
                <h1>{ "resocket" }<span>{ " inspector" }</span></h1>
                <label class="open">{ "Open files…" }<input type="file" id="file" multiple=true onchange={onchange.clone()} /></label>
                <label class="open">{ "Open CRIU directory…" }<input type="file" id="dir" webkitdirectory=true {onchange} /></label>
                <span class="hint">{ "or drop a .rsimg, a CRIU image directory, .img files or a checkpoint archive anywhere" }</span>
                if let Some(e) = &state.error {
                    <span class="error" id="error">{ e }</span>
                }
                <button id="lessons-toggle" class="lessons-toggle" onclick={lessons_toggle}
                    aria-pressed={state.lessons.shown.to_string()}>{ "Lessons" }</button>
                <button id="help-toggle" class="help-toggle" onclick={on_help} aria-expanded={state.help.to_string()}
                    title="keyboard shortcuts (?)">{ "⌨ shortcuts ?" }</button>
            </header>
            <div class="layout">
                <Gallery items={items.clone()} current={state.doc.as_ref().map(|d| d.name.clone())} {on_open} />
                <main>{ for help }{ for loading }{ body }</main>
            </div>
        </div>
    }
}
