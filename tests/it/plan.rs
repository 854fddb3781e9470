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
