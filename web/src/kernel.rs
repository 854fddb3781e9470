//! The kernel worker's work ([`crate::worker`] is the JS side around it): the planner, the
//! seed's v2 plan, order runs on the simulator and the simulated kernel at the timeline's
//! cursor, for the page, which links none of them once every caller has moved here
//! (docs/benchmarks.md, "The kernel worker"). The page keeps one such worker for as long as it
//! lives (`client::Kernel`); the worker keeps the image of the doc asked about last, loaded, with
//! its plans and the run of the order asked last ([`Held`]), so that the page sends an image once
//! and a step of the timeline executes one step here, not the whole prefix again.

use crate::message::{Job, KernelAnswer, KernelAsk, PlansMsg, RunMsg};
use crate::model::{Graph, OrderKind};
use resocket_core::check::{self, RunState};
use resocket_core::image::Image;
use resocket_core::plan::{self, Plan};
use resocket_core::sim::HostAddrs;
use std::cell::RefCell;

/// The order of `kind` of the plans (indices into v2's steps for [`OrderKind::V2`], else into
/// the planner's), with the plan it indexes; `None` when it needs the planner's plan and there
/// is none. A custom order asked afresh (a deep link's, a lesson's) is the planner's.
pub fn order_of<'p>(
    kind: OrderKind,
    planner: &'p Result<Plan, String>,
    v2: &'p Plan,
) -> (OrderKind, Option<(&'p Plan, Vec<usize>)>) {
    let all = |p: &Plan| (0..p.steps.len()).collect::<Vec<usize>>();
    match (kind, planner) {
        (OrderKind::V2, _) => (kind, Some((v2, all(v2)))),
        (OrderKind::Naive, Ok(p)) => (kind, Some((p, check::naive_order(p)))),
        (OrderKind::Naive, Err(_)) => (kind, None),
        (OrderKind::Planner | OrderKind::Custom, Ok(p)) => (OrderKind::Planner, Some((p, all(p)))),
        (OrderKind::Planner | OrderKind::Custom, Err(_)) => (OrderKind::Planner, None),
    }
}

/// The simulated kernel after the first `cursor` steps of an order (kept between requests so
/// that a step forward executes one step, not the whole prefix again).
#[derive(Debug, Clone)]
pub struct RunAt {
    pub cursor: usize,
    pub state: RunState,
}

impl RunAt {
    /// Before the first step, on a host with these addresses.
    pub fn start_on(host: &HostAddrs) -> RunAt {
        RunAt { cursor: 0, state: RunState::on_host(host) }
    }

    /// The state after `count` steps of `order`, continuing from `self` (which must be a state
    /// of the same plan and order with `self.cursor <= count`).
    pub fn advance(self, plan: &Plan, order: &[usize], count: usize) -> RunAt {
        let mut run = self.state.attach(plan);
        for &i in order.iter().take(count).skip(self.cursor) {
            if let Some(step) = plan.steps.get(i) {
                run.step(step);
            }
        }
        RunAt { cursor: count.max(self.cursor), state: run.detach() }
    }

    /// The kernel's graph (its sockets keyed by the image's objrefs, embryos through their
    /// listeners' queues).
    pub fn graph(&self, img: &Image<'_>, plan: &Plan) -> Graph {
        let mut run = self.state.clone().attach(plan);
        run.map_embryos(img);
        Graph::of_run(&run)
    }
}

/// What the worker keeps of the doc asked about last.
#[derive(Debug)]
pub struct Held {
    doc: u64,
    image: Image<'static>,
    plans: Option<HeldPlans>,
    run: Option<HeldRun>,
}

/// The plans answered to request `session`, made for `host`.
#[derive(Debug)]
struct HeldPlans {
    session: u64,
    host: HostAddrs,
    planner: Result<Plan, String>,
    v2: Plan,
}

/// The run answered to request `session`: an order of v2's plan or of the planner's, the steps
/// it executed, and the kernel at the cursor asked last.
#[derive(Debug)]
struct HeldRun {
    session: u64,
    v2: bool,
    order: Vec<usize>,
    steps_run: usize,
    at: RunAt,
}

impl HeldPlans {
    fn plan(&self, v2: bool) -> Option<&Plan> {
        if v2 {
            Some(&self.v2)
        } else {
            self.planner.as_ref().ok()
        }
    }
}

impl Held {
    /// The image of doc `doc`, loaded.
    pub fn load(doc: u64, bytes: &[u8]) -> Held {
        Held { doc, image: resocket_core::load(bytes).image.into_owned(), plans: None, run: None }
    }

    /// Answer `ask` (about this doc: [`serve`] sees to it).
    pub fn answer(&mut self, ask: &KernelAsk) -> Result<KernelAnswer, String> {
        let (plans, run) = match &ask.job {
            Job::Plan { host, kind } => {
                let planner = plan::plan_on(&self.image, host).map_err(|e| e.to_string());
                let v2 = check::v2_plan(&self.image);
                self.plans = Some(HeldPlans { session: ask.session, host: host.clone(), planner, v2 });
                let msg = self.plans.as_ref().map(|p| PlansMsg { planner: p.planner.clone(), v2: p.v2.clone() });
                (msg, Some(self.run(ask.session, *kind, false, Vec::new())?))
            }
            Job::Run { plans, kind, v2, order } => {
                if self.plans.as_ref().map(|p| p.session) != Some(*plans) {
                    return Err(format!("the kernel worker holds no plans of request {plans}"));
                }
                (None, Some(self.run(ask.session, *kind, *v2, order.clone())?))
            }
            Job::At { run } => {
                if self.run.as_ref().map(|r| r.session) != Some(*run) {
                    return Err(format!("the kernel worker holds no run of request {run}"));
                }
                (None, None)
            }
        };
        let (cursor, kernel) = self.kernel_at(ask.cursor);
        Ok(KernelAnswer { session: ask.session, plans, run, cursor, kernel })
    }

    /// Run the order `kind` of the held plans (for a custom one: `order` of v2's steps or the
    /// planner's) and keep it as the run of request `session`.
    fn run(&mut self, session: u64, kind: OrderKind, v2: bool, order: Vec<usize>) -> Result<RunMsg, String> {
        let p = self.plans.as_ref().ok_or("the kernel worker holds no plans")?;
        let (kind, run) = match kind {
            OrderKind::Custom => (kind, p.plan(v2).map(|plan| (plan, order))),
            _ => order_of(kind, &p.planner, &p.v2),
        };
        let Some((plan, order)) = run else {
            self.run = None;
            return Ok(RunMsg { kind, order: Vec::new(), report: None });
        };
        let report = check::run_order_on(&self.image, plan, &order, &p.host);
        let v2 = std::ptr::eq(plan, &p.v2);
        let at = RunAt::start_on(&p.host);
        self.run = Some(HeldRun { session, v2, order: order.clone(), steps_run: report.results.len(), at });
        Ok(RunMsg { kind, order, report: Some(report) })
    }

    /// The kernel after `cursor` steps of the held run (at most the steps it executed), from
    /// the kept state when the cursor moved forward, else from the start; none without a run.
    fn kernel_at(&mut self, cursor: usize) -> (usize, Option<Graph>) {
        let (Some(r), Some(p)) = (self.run.as_mut(), self.plans.as_ref()) else { return (0, None) };
        let Some(plan) = p.plan(r.v2) else { return (0, None) };
        let cursor = cursor.min(r.steps_run);
        let from = std::mem::replace(&mut r.at, RunAt::start_on(&p.host));
        let from = if from.cursor <= cursor { from } else { RunAt::start_on(&p.host) };
        r.at = from.advance(plan, &r.order, cursor);
        (cursor, Some(r.at.graph(&self.image, plan)))
    }
}

thread_local! {
    /// The doc asked about last (the worker's: the page's own module never serves a request,
    /// except in the browser tests, which have no worker).
    static HELD: RefCell<Option<Held>> = const { RefCell::new(None) };
}

/// Why a request is not answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The worker holds another doc's image (or none), and the request did not carry its own:
    /// the page sends it again with the image (`client::Kernel`).
    Unheld,
    /// Anything else, said.
    Failed(String),
}

/// Answer `ask`; `image` is its doc's image if the page sent it (it does with the first request
/// about a doc, and again after a refusal): loaded and kept unless it is the one held.
pub fn serve(ask: &KernelAsk, image: Option<&[u8]>) -> Result<KernelAnswer, Refused> {
    HELD.with(|h| {
        let mut h = h.borrow_mut();
        if let Some(bytes) = image.filter(|_| h.as_ref().is_none_or(|held| held.doc != ask.doc)) {
            *h = Some(Held::load(ask.doc, bytes));
        }
        match h.as_mut() {
            Some(held) if held.doc == ask.doc => held.answer(ask).map_err(Refused::Failed),
            _ => Err(Refused::Unheld),
        }
    })
}
