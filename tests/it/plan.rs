//! The planner's plan runs clean on the simulator and reproduces every valid fixture.

use resocket_core::{check, load, plan};
use resocket_fixtures::{build_all, Kind};

#[test]
fn every_valid_fixture_plans_runs_clean_and_compares_equal() {
    let mut failures = Vec::new();
    for f in build_all(Kind::Valid).unwrap() {
        let r = load(&f.image);
        let p = match plan::plan(&r.image) {
            Ok(p) => p,
            Err(e) => {
                failures.push(format!("{}: {e}", f.name));
                continue;
            }
        };
        let rep = check::run_plan(&r.image, &p);
        if let Some(fl) = &rep.failure {
            failures.push(format!("{}: step {} failed: {}", f.name, fl.step, fl.explanation));
        }
        for d in &rep.differences {
            failures.push(format!("{}: #{} {}: expected {} found {}", f.name, d.objref, d.what, d.expected, d.found));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_checker_reports_the_kernel_state_after_every_step() {
    let f = build_all(Kind::Valid).unwrap().into_iter().find(|f| f.name == "listener-pending").unwrap();
    let r = load(&f.image);
    let p = plan::plan(&r.image).unwrap();
    let order: Vec<usize> = (0..p.steps.len()).collect();
    let (rep, states) = check::run_order_traced(&r.image, &p, &order);
    assert_eq!(rep, check::run_order(&r.image, &p, &order));
    assert_eq!(states.len(), p.steps.len());
    // The listener is #3: its queue fills as the pending clients connect (accept takes one
    // away again), and its embryos show up as pending on it.
    let queued: Vec<usize> = states
        .iter()
        .filter_map(|st| st.iter().find(|s| s.objref == Some(3)).and_then(|s| s.backlog.map(|_| s.queued)))
        .collect();
    assert!(queued.contains(&1) && queued.ends_with(&[2]), "{queued:?}");
    let last = states.last().unwrap();
    let pending: Vec<i32> = last.iter().filter(|s| s.pending_on == Some(3)).filter_map(|s| s.objref).collect();
    assert_eq!(pending, vec![10, 13]);
    // A failing order stops with the state at the failure.
    let naive = check::naive_order(&p);
    let (rep, states) = check::run_order_traced(&r.image, &p, &naive);
    let fail = rep.failure.unwrap();
    assert_eq!(states.len(), fail.position + 1);
}
