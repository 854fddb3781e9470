//! Deep links (`route`), the deep-link and stepping parts of the reducer, and the kernel
//! worker that keeps the image, its plans and the timeline's run (`kernel::Held`,
//! `client::Kernel`), in headless Chromium.
#![cfg(target_arch = "wasm32")]

use resocket_web::gallery;
use resocket_web::kernel::RunAt;
use resocket_web::model::{Drawing, OrderKind};
use resocket_web::route::{self, Goto, Route};
use resocket_web::state::{settle, Action, State};
use std::rc::Rc;
use wasm_bindgen_test::*;
use yew::Reducible;

mod fixtures;

wasm_bindgen_test_configure!(run_in_browser);

fn route(fixture: Option<&str>, order: Option<OrderKind>, step: Option<usize>) -> Route {
    Route { fixture: fixture.map(str::to_string), order, step }
}

#[wasm_bindgen_test]
fn fragments_parse_to_routes() {
    fixtures::serve();
    assert_eq!(route::parse(""), Route::default());
    assert_eq!(route::parse("#fixture=listener-pending&step=3"), route(Some("listener-pending"), None, Some(3)));
    assert_eq!(
        route::parse("fixture=a%20b&order=naive&step=12&s=xyz"),
        route(Some("a b"), Some(OrderKind::Naive), Some(12))
    );
    assert_eq!(route::parse("#order=v2&fixture=x").order, Some(OrderKind::V2));
    assert_eq!(route::parse("#order=planner&fixture=x").order, Some(OrderKind::Planner));
    // Bad values are left out; the fixture still opens.
    assert_eq!(route::parse("#fixture=x&order=custom&step=-1"), route(Some("x"), None, None));
    assert_eq!(route::parse("#fixture=&step=2"), route(None, None, Some(2)));
    assert_eq!(route::parse("#&&fixture=x&&").fixture.as_deref(), Some("x"));
}

#[wasm_bindgen_test]
async fn routes_rewrite_only_their_keys() {
    fixtures::serve();
    let r = route(Some("listener-pending"), Some(OrderKind::Naive), Some(4));
    assert_eq!(route::apply("", &r), "#fixture=listener-pending&order=naive&step=4");
    assert_eq!(
        route::apply("#step=1&zz=a%2Bb&fixture=old", &r),
        "#fixture=listener-pending&order=naive&step=4&zz=a%2Bb"
    );
    // The planner's order and step 0 are the defaults: left out.
    assert_eq!(route::apply("#x=1", &route(Some("f"), Some(OrderKind::Planner), Some(0))), "#fixture=f&x=1");
    // A fixture replaces a share link; no fixture leaves it and removes only our keys.
    assert_eq!(route::apply("#s=AbC-_&fixture=f", &route(Some("g"), None, None)), "#fixture=g");
    assert_eq!(route::apply("#s=AbC-_&fixture=f&step=2", &Route::default()), "#s=AbC-_");
    assert_eq!(route::apply("#fixture=f", &Route::default()), "");
    // Names are percent-encoded and come back.
    let odd = route(Some("a b&c=d/é"), None, Some(7));
    assert_eq!(route::parse(&route::apply("", &odd)), odd);
    assert_eq!(route::decode("%zz%4"), "%zz%4");
}

async fn opened(name: &str) -> Rc<State> {
    fixtures::serve();
    let item = gallery::items().into_iter().find(|i| i.name == name).expect("fixture in the gallery");
    settle(Rc::new(State::default()).reduce(resocket_web::open_item(&item).await)).await
}

#[wasm_bindgen_test]
async fn goto_sets_order_and_step_now_or_when_the_plans_arrive() {
    fixtures::serve();
    if !gallery::items().iter().any(|i| i.name == "listener-pending") {
        return;
    }
    let s = opened("listener-pending").await;
    let s = settle(s.reduce(Action::Goto(Goto { order: Some(OrderKind::Naive), step: Some(2) }))).await;
    assert_eq!((s.order_kind, s.cursor, s.kernel_at), (OrderKind::Naive, 2, Some(2)));
    // A step past the end stops at the last executed step.
    let s = settle(s.reduce(Action::Goto(Goto { order: None, step: Some(10_000) }))).await;
    assert_eq!((s.cursor, s.kernel_at), (s.steps_run(), Some(s.steps_run())));
    // While an open is in progress the link waits for the kernel worker's plans,
    // and the plans are asked for in the link's order.
    let item = gallery::items().into_iter().find(|i| i.name == "listener-pending").unwrap();
    let s = Rc::new(State::default()).reduce(Action::Begin {
        name: "x".into(),
        fixture: Some("x".into()),
        goto: None,
        host: Default::default(),
    });
    let s = s.reduce(Action::Goto(Goto { order: Some(OrderKind::V2), step: Some(3) }));
    assert_eq!(s.goto, Some(Goto { order: Some(OrderKind::V2), step: Some(3) }));
    let doc = Rc::new(resocket_web::model::Doc::load("x", item.bytes().await.expect("a fixture file")));
    let s = s.reduce(Action::Loaded(doc)).reduce(Action::MakePlan);
    assert_eq!(
        s.ask.as_ref().and_then(|a| match a.job {
            resocket_web::message::Job::Plan { kind, .. } => Some(kind),
            _ => None,
        }),
        Some(OrderKind::V2)
    );
    assert!(s.loading.is_some() && s.plans.is_none());
    let s = settle(s).await;
    assert_eq!((s.order_kind, s.cursor, s.loading.is_none(), s.goto), (OrderKind::V2, 3, true, None));
    assert!(s.kernel.is_some());
}

#[wasm_bindgen_test]
async fn stepping_from_the_kept_state_draws_what_a_run_from_the_start_draws() {
    fixtures::serve();
    let bytes = gallery::items()
        .into_iter()
        .find(|i| i.name == "synth-mixed-12")
        .unwrap()
        .bytes()
        .await
        .expect("a fixture file");
    let report = resocket_core::load(&bytes);
    let plan = resocket_core::plan::plan(&report.image).unwrap();
    let order = resocket_core::check::naive_order(&plan);
    let host = resocket_core::sim::HostAddrs::default();
    let mut at = RunAt::start_on(&host);
    for count in [1, 2, 5, 6, 20, order.len()] {
        at = at.advance(&plan, &order, count);
        let fresh = RunAt::start_on(&host).advance(&plan, &order, count);
        assert_eq!(at.graph(&report.image, &plan), fresh.graph(&report.image, &plan), "after {count} steps");
    }
    // The reducer, its kernel drawn by the worker: forward, back (from the start again), and
    // End give the kernels a run from the start to there gives, laid out where the image has
    // its sockets.
    let mut s = opened("synth-mixed-12").await;
    let planner = s.plans.as_ref().unwrap().planner.clone().unwrap();
    let order = s.order.clone();
    let base = Drawing::of(&report.image).layout;
    let drawn = |count: usize| {
        let g = RunAt::start_on(&host).advance(&planner, &order, count).graph(&report.image, &planner);
        Drawing::of_kernel(g, &base)
    };
    let mut forward = Vec::new();
    for k in 1..=8 {
        let before = s.clone();
        s = s.reduce(Action::StepTimeline(1));
        assert_eq!((s.cursor, s.kernel_at), (k, Some(k - 1)), "the cursor moves now, the kernel when drawn");
        assert!(Rc::ptr_eq(s.kernel.as_ref().unwrap(), before.kernel.as_ref().unwrap()));
        s = settle(s).await;
        let k_now = s.kernel.as_ref().unwrap();
        assert_eq!((s.kernel_at, &k_now.graph, &k_now.layout), (Some(k), &drawn(k).graph, &drawn(k).layout));
        forward.push(k_now.graph.clone());
    }
    for k in (0..7).rev() {
        s = settle(s.reduce(Action::StepTimeline(-1))).await;
        assert_eq!(s.kernel.as_ref().unwrap().graph, forward[k], "back to {}", k + 1);
    }
    let end = settle(s.reduce(Action::Seek(usize::MAX))).await;
    assert_eq!((end.cursor, end.kernel_at), (end.steps_run(), Some(end.steps_run())));
    assert_eq!(end.kernel.as_ref().unwrap().graph, drawn(end.steps_run()).graph);
}

/// A small image opens at once and asks the kernel worker for its plans; an answer to a
/// request that a newer one superseded (here: the host changed) is ignored, and the newer one's
/// answer is shown; a link followed while the plans are on their way waits for them.
#[wasm_bindgen_test]
async fn answers_to_superseded_kernel_requests_are_ignored() {
    use resocket_web::model::PlanHost;
    fixtures::serve();
    let item = gallery::items().into_iter().find(|i| i.name == "inet-external").expect("fixture in the gallery");
    let s = Rc::new(State::default()).reduce(resocket_web::open_item(&item).await);
    assert!(s.graph.is_some() && s.plans.is_none() && s.ask.is_some(), "drawn now, planned by the worker");
    let (stale, _) = resocket_web::state::kernel_request(&s).unwrap();
    let addr: std::net::IpAddr = "10.0.0.1".parse().unwrap();
    let s = s.reduce(Action::SetHost(PlanHost::Fresh(Rc::from([addr]))));
    let s = s.reduce(Action::Goto(Goto { order: Some(OrderKind::V2), step: Some(1) }));
    assert!(s.goto.is_some(), "the link waits for the plans");
    let answer = resocket_web::client::serve_here(stale).await.and_then(resocket_web::state::kernel_action).unwrap();
    let after = s.clone().reduce(answer);
    assert!(Rc::ptr_eq(&after, &s), "the stale answer changes nothing");
    let s = settle(s).await;
    let plans = s.plans.clone().expect("the newer request's plans");
    assert_eq!(s.ask, None);
    // Planned for the host asked last: what core plans there.
    let img = resocket_core::load(&s.doc.as_ref().unwrap().bytes).image;
    let host = resocket_core::sim::HostAddrs::loopback_and(&[addr]);
    assert_eq!(plans.planner.as_deref().ok(), resocket_core::plan::plan_on(&img, &host).ok().as_ref());
    // The link's order and step, applied once the plans came (v2 runs no INET step here).
    assert_eq!((s.order_kind, s.cursor, s.goto.is_none()), (OrderKind::V2, 1.min(s.steps_run()), true));
}

/// The kernel worker serves one request at a time: of the requests made meanwhile only the
/// newest is sent when it answers; each carries the image only until the worker holds it, and
/// again after a failed request.
#[wasm_bindgen_test]
async fn the_kernel_worker_serves_only_the_newest_waiting_request_and_gets_each_image_once() {
    use resocket_web::client::{self, Reply};
    use resocket_web::message::{Job, KernelAsk};
    use std::cell::RefCell;
    thread_local! {
        /// The requests served: (their session, they carried an image).
        static SEEN: RefCell<Vec<(u64, bool)>> = const { RefCell::new(Vec::new()) };
    }
    fn counting(r: wasm_bindgen::JsValue, p: resocket_web::message::Post) -> client::Served {
        let has = |k: &str| js_sys::Reflect::get(&r, &k.into()).is_ok_and(|v| !v.is_undefined());
        let data = js_sys::Reflect::get(&r, &"data".into()).unwrap();
        let ask: KernelAsk = resocket_web::message::decode(&js_sys::Uint8Array::new(&data).to_vec()).unwrap();
        SEEN.with(|s| s.borrow_mut().push((ask.session, has("image"))));
        Box::pin(resocket_web::worker::serve(r, p))
    }
    fixtures::serve();
    client::serve_in_process(counting);
    let bytes: Rc<[u8]> =
        gallery::items().into_iter().find(|i| i.name == "listener-pending").unwrap().bytes().await.unwrap();
    let doc = resocket_web::model::Doc::load("x", bytes.clone()).id;
    let got = Rc::new(RefCell::new(Vec::new()));
    let kernel = {
        let got = got.clone();
        client::Kernel::new(move |r| match r {
            Reply::Kernel(a) => got.borrow_mut().push(Ok(a.session)),
            Reply::Failed(e) => got.borrow_mut().push(Err(e)),
            _ => {}
        })
    };
    let plan = |session| KernelAsk {
        session,
        doc,
        job: Job::Plan { host: Default::default(), kind: OrderKind::Naive },
        cursor: 1,
    };
    let until = |n: usize| {
        let got = got.clone();
        async move {
            for _ in 0..200 {
                if got.borrow().len() >= n {
                    break;
                }
                resocket_web::job::yield_now().await;
            }
        }
    };
    for session in 1..=4 {
        kernel.ask(Rc::new(plan(session)), bytes.clone());
    }
    until(2).await;
    // A request for a run the worker does not hold fails; the next one carries the image again.
    kernel.ask(Rc::new(KernelAsk { session: 5, doc, job: Job::At { run: 99 }, cursor: 0 }), bytes.clone());
    until(3).await;
    kernel.ask(Rc::new(KernelAsk { session: 6, doc, job: Job::At { run: 4 }, cursor: 3 }), bytes.clone());
    until(4).await;
    // Another doc's image; then the worker is made to hold a third one (as another page's
    // requests would in the tests): a request about the second, without its image, is refused
    // as unheld and sent again with it (a plan: the worker that lost an image lost its plans).
    let other = resocket_web::model::Doc::load("y", bytes.clone()).id;
    kernel.ask(Rc::new(KernelAsk { doc: other, ..plan(7) }), bytes.clone());
    until(5).await;
    let third = KernelAsk { doc: u64::MAX, ..plan(0) };
    assert!(resocket_web::kernel::serve(&third, Some(&bytes)).is_ok());
    kernel.ask(Rc::new(KernelAsk { doc: other, ..plan(8) }), bytes.clone());
    until(6).await;
    fixtures::serve();
    let got = got.borrow().clone();
    assert_eq!(got[..2], [Ok(1), Ok(4)]);
    assert!(got[2].as_ref().is_err_and(|e| e.contains("no run of request 99")), "{got:?}");
    assert_eq!(got[3..], [Ok(6), Ok(7), Ok(8)]);
    let seen = SEEN.with(|s| s.borrow().clone());
    assert_eq!(seen, [(1, true), (4, false), (5, false), (6, true), (7, true), (8, false), (8, true)]);
}

/// A failed kernel worker (it did not start, or refused a request) ends what waited for it
/// with its error; a failure with no request waiting changes nothing.
#[wasm_bindgen_test]
async fn a_failed_kernel_worker_shows_its_error() {
    use resocket_web::client;
    use resocket_web::message::{Job, KernelAsk};
    fixtures::serve();
    let item = gallery::items().into_iter().find(|i| i.name == "listener-pending").expect("fixture in the gallery");
    let s = Rc::new(State::default()).reduce(resocket_web::open_item(&item).await);
    assert!(s.ask.is_some() && s.plans.is_none());
    // The worker's own refusal: a request about a run it does not hold.
    let doc = s.doc.clone().unwrap();
    let ask = KernelAsk { session: 1, doc: doc.id, job: Job::At { run: u64::MAX }, cursor: 0 };
    let (request, _) = client::kernel_request(&ask, Some(&doc.bytes));
    let failed = client::serve_here(request).await.and_then(resocket_web::state::kernel_action).unwrap();
    let Action::KernelFailed(e) = &failed else { panic!("{failed:?}") };
    assert!(e.contains(&format!("no run of request {}", u64::MAX)), "{e}");
    let after = s.clone().reduce(failed.clone());
    assert_eq!((after.error.as_deref(), after.ask.is_none(), after.plans.is_none()), (Some(e.as_str()), true, true));
    assert!(Rc::ptr_eq(&after.clone().reduce(failed), &after), "nothing waits: ignored");
    // The next request is answered as usual.
    let s = settle(after.reduce(Action::MakePlan)).await;
    assert!(s.plans.is_some() && s.report.is_some() && s.ask.is_none());
}
