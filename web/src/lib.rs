//! `resocket-web`: the image inspector. A Yew app whose state is one [`state::State`] changed
//! only by [`state::Action`]s; every fact it shows comes from `resocket-core`.

pub mod components;
pub mod gallery;
pub mod model;
pub mod state;

use components::{Diagnostics, Gallery, GraphPanel, HexView, RecordList, Sockets, SummaryBar, Timeline};
use gallery::Item;
use gloo::file::callbacks::FileReader;
use model::OrderKind;
use state::{Action, FieldRef, State};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

/// Mount the app on `<body>`.
pub fn start() {
    yew::Renderer::<App>::new().render();
}

/// The action that opens a gallery item: the gallery, the tests and the file paths all end in
/// `Action::Open`.
pub fn open_item(item: &Item) -> Action {
    Action::Open { name: item.name.to_string(), note: item.description.to_string(), bytes: item.bytes() }
}

/// Read a browser `File` and dispatch `Open` (or `OpenFailed`) when done. The reader is kept in
/// `slot`: dropping it would cancel the read.
fn read_file(file: web_sys::File, slot: Rc<RefCell<Option<FileReader>>>, dispatch: UseReducerDispatcher<State>) {
    let file = gloo::file::File::from(file);
    let name = file.name();
    let task = gloo::file::callbacks::read_as_bytes(&file, move |res| match res {
        Ok(bytes) => dispatch.dispatch(Action::Open { name, note: String::new(), bytes: Rc::from(bytes) }),
        Err(e) => dispatch.dispatch(Action::OpenFailed(format!("{name}: {e}"))),
    });
    *slot.borrow_mut() = Some(task);
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

#[function_component(App)]
pub fn app() -> Html {
    let state = use_reducer_eq(State::default);
    let items = use_memo((), |_| gallery::items());
    let reader = use_mut_ref(|| None::<FileReader>);
    let d = state.dispatcher();

    let on_open = {
        let d = d.clone();
        use_callback((), move |item: Item, _| d.dispatch(open_item(&item)))
    };
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
    let on_tick = {
        let d = d.clone();
        use_callback((), move |(), _| d.dispatch(Action::Tick))
    };
    let onchange = {
        let (d, reader) = (d.clone(), reader.clone());
        Callback::from(move |e: Event| {
            let input: HtmlInputElement = e.target_unchecked_into();
            if let Some(f) = input.files().and_then(|l| l.get(0)) {
                read_file(f, reader.clone(), d.clone());
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
    let ondrop = {
        let (d, reader, dragging) = (d.clone(), reader.clone(), dragging.clone());
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            dragging.set(false);
            if let Some(f) = e.data_transfer().and_then(|dt| dt.files()).and_then(|l| l.get(0)) {
                read_file(f, reader.clone(), d.clone());
            }
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

    let body = match &state.doc {
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
                    <SummaryBar doc={doc.clone()} />
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
                    <Diagnostics doc={doc.clone()} focus={state.focus_diag} on_select={on_diag} />
                    <GraphPanel
                        sockets={doc.summary.sockets}
                        drawing={state.graph.clone()}
                        selected={state.focus_socket}
                        on_select={on_socket.clone()}
                        {on_draw}
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
                        selected={state.focus_socket}
                        {on_plan}
                        {on_order}
                        {on_move}
                        {on_seek}
                        on_step={on_tl_step}
                        {on_play}
                        {on_tick}
                        on_socket={on_socket.clone()}
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

    html! {
        <div class={classes!("app", dragging.then_some("dragging"))} {ondragover} {ondragleave} {ondrop}>
            <header>
                <h1>{ "resocket" }<span>{ " inspector" }</span></h1>
                <label class="open">{ "Open image…" }<input type="file" id="file" {onchange} /></label>
                <span class="hint">{ "or drop a .rsimg file anywhere" }</span>
                if let Some(e) = &state.error {
                    <span class="error" id="error">{ e }</span>
                }
            </header>
            <div class="layout">
                <Gallery items={items.clone()} current={state.doc.as_ref().map(|d| d.name.clone())} {on_open} />
                <main>{ body }</main>
            </div>
        </div>
    }
}
