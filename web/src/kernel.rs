//! The kernel worker's work ([`crate::worker`] is the JS side around it): the planner, the
//! seed's v2 plan and an order run on the simulator, for the page, which links none of them
//! once every caller has moved here (docs/benchmarks.md, "The kernel worker"). The page keeps
//! one such worker for as long as it lives (`client::Kernel`) and sends it the image with each
//! request ([`crate::message::PlanAsk`]).

use crate::message::{PlanAsk, Planned};
use crate::model::OrderKind;
use resocket_core::{check, plan};

/// The order of `kind` of the plans (indices into v2's steps for [`OrderKind::V2`], else into
/// the planner's), with the plan it indexes; `None` when it needs the planner's plan and there
/// is none. A custom order is the user's reordering of one of these: asked afresh, it is the
/// planner's.
pub fn order_of<'p>(
    kind: OrderKind,
    planner: &'p Result<plan::Plan, String>,
    v2: &'p plan::Plan,
) -> (OrderKind, Option<(&'p plan::Plan, Vec<usize>)>) {
    let all = |p: &plan::Plan| (0..p.steps.len()).collect::<Vec<usize>>();
    match (kind, planner) {
        (OrderKind::V2, _) => (kind, Some((v2, all(v2)))),
        (OrderKind::Naive, Ok(p)) => (kind, Some((p, check::naive_order(p)))),
        (OrderKind::Naive, Err(_)) => (kind, None),
        (OrderKind::Planner | OrderKind::Custom, Ok(p)) => (OrderKind::Planner, Some((p, all(p)))),
        (OrderKind::Planner | OrderKind::Custom, Err(_)) => (OrderKind::Planner, None),
    }
}

/// Load `image`, plan it for `ask.host`, and run the order `ask.kind` there.
pub fn plan(ask: &PlanAsk, image: &[u8]) -> Planned {
    let img = resocket_core::load(image).image;
    let planner = plan::plan_on(&img, &ask.host).map_err(|e| e.to_string());
    let v2 = check::v2_plan(&img);
    let (kind, run) = order_of(ask.kind, &planner, &v2);
    let (order, report) = match run {
        Some((p, order)) => {
            let report = check::run_order_on(&img, p, &order, &ask.host);
            (order, Some(report))
        }
        None => (Vec::new(), None),
    };
    Planned { session: ask.session, planner, v2, kind, order, report }
}
