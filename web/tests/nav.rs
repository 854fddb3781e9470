//! Deep links (`route`), the deep-link and stepping parts of the reducer, and the kept kernel
//! state of the timeline (`model::RunAt`), in headless Chromium.
#![cfg(target_arch = "wasm32")]

use resocket_web::gallery;
use resocket_web::model::{kernel_drawing, Drawing, OrderKind, RunAt};
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
    let s =
        opened("listener-pending").await.reduce(Action::Goto(Goto { order: Some(OrderKind::Naive), step: Some(2) }));
    assert_eq!((s.order_kind, s.cursor), (OrderKind::Naive, 2));
    // A step past the end stops at the last executed step.
    let s = s.reduce(Action::Goto(Goto { order: None, step: Some(10_000) }));
    assert_eq!(s.cursor, s.steps_run());
    // While an open is in progress the link waits for the kernel worker's answer (`Planned`),
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
    assert_eq!(s.ask.as_ref().map(|a| a.kind), Some(OrderKind::V2));
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
    let base = Drawing::of(&report.image).layout;
    let mut at = RunAt::start();
    for count in [1, 2, 5, 6, 20, order.len()] {
        at = at.advance(&plan, &order, count);
        let kept = at.drawing(&report.image, &plan, &base);
        let fresh = kernel_drawing(&bytes, &plan, &order, count, &base);
        assert_eq!(kept.graph, fresh.graph, "after {count} steps");
        assert_eq!(kept.layout, fresh.layout, "after {count} steps");
    }
    // The reducer: forward, back (from the start again), and End give the same kernels.
    let mut s = opened("synth-mixed-12").await;
    let mut forward = Vec::new();
    for _ in 0..8 {
        s = s.reduce(Action::StepTimeline(1));
        forward.push(s.kernel.as_ref().unwrap().graph.clone());
    }
    for k in (0..7).rev() {
        s = s.reduce(Action::StepTimeline(-1));
        assert_eq!(s.kernel.as_ref().unwrap().graph, forward[k], "back to {}", k + 1);
    }
    let end = s.reduce(Action::Seek(usize::MAX));
    assert_eq!(end.cursor, end.steps_run());
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
/// newest is sent when it answers.
#[wasm_bindgen_test]
async fn the_kernel_worker_serves_only_the_newest_waiting_request() {
    use resocket_web::client::{self, Reply};
    use std::cell::RefCell;
    fixtures::serve();
    let bytes = gallery::items().into_iter().find(|i| i.name == "listener-pending").unwrap().bytes().await.unwrap();
    let got = Rc::new(RefCell::new(Vec::new()));
    let kernel = {
        let got = got.clone();
        client::Kernel::new(move |r| {
            if let Reply::Planned(p) = r {
                got.borrow_mut().push(p.session);
            }
        })
    };
    for session in 1..=4 {
        let ask = resocket_web::message::PlanAsk { session, host: Default::default(), kind: OrderKind::Naive };
        let (request, transfer) = client::plan_request(&ask, &bytes);
        kernel.ask(request, transfer);
    }
    for _ in 0..100 {
        if got.borrow().len() >= 2 {
            break;
        }
        resocket_web::job::yield_now().await;
    }
    for _ in 0..5 {
        resocket_web::job::yield_now().await;
    }
    assert_eq!(*got.borrow(), [1, 4]);
}
