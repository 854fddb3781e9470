//! The resumable forms of loading and running an order (`image::LoadJob`, `check::OrderRun`,
//! `Run::detach`/`RunState::attach`) give exactly what the one-call forms give, however the work
//! is sliced. The browser inspector relies on this to load and check big images in slices.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;

use resocket_core::check::{naive_order, run_order, v2_plan, OrderRun, Run};
use resocket_core::image::LoadJob;
use resocket_core::{load, plan, synth};

/// Every fixture image (natively; wasm32 in node has no file system) plus generated ones
/// (valid, truncated, garbage).
fn images() -> Vec<(String, Vec<u8>)> {
    let mut out = fixture_images();
    let mixed = synth::mixed(40).to_image().expect("synth image");
    let mut cut = mixed.clone();
    cut.truncate(cut.len() - 37);
    out.push(("synth::mixed(40)".into(), mixed));
    out.push(("synth::mixed(40) truncated".into(), cut));
    out.push(("garbage".into(), vec![7; 100]));
    out.push(("empty".into(), Vec::new()));
    out
}

#[cfg(target_arch = "wasm32")]
fn fixture_images() -> Vec<(String, Vec<u8>)> {
    Vec::new()
}

#[cfg(not(target_arch = "wasm32"))]
fn fixture_images() -> Vec<(String, Vec<u8>)> {
    use std::path::PathBuf;
    let mut out = Vec::new();
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../fixtures/images");
    for group in ["valid", "invalid"] {
        let Ok(rd) = std::fs::read_dir(root.join(group)) else { continue };
        let mut paths: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths.into_iter().filter(|p| p.extension().is_some_and(|e| e == "rsimg")) {
            out.push((p.display().to_string(), std::fs::read(&p).expect("read fixture")));
        }
    }
    out
}

fn load_sliced(bytes: &[u8], slice: usize) -> (resocket_core::Report<'_>, usize) {
    let mut job = LoadJob::new(bytes);
    let mut calls = 1;
    let mut last = job.position();
    while !job.advance(slice) {
        assert!(job.position() > last, "advance({slice}) made progress");
        last = job.position();
        calls += 1;
    }
    assert_eq!(job.position(), bytes.len());
    (job.finish(), calls)
}

#[test]
fn load_job_in_slices_equals_load() {
    let images = images();
    #[cfg(not(target_arch = "wasm32"))]
    assert!(images.len() > 10, "fixtures found: {}", images.len());
    for (name, bytes) in &images {
        let whole = load(bytes);
        for slice in [1, 3, 64, usize::MAX] {
            let (sliced, calls) = load_sliced(bytes, slice);
            assert_eq!(sliced, whole, "{name}, slices of {slice}");
            if slice == 1 {
                // One call per record, plus the one that finds the end.
                assert!(calls >= whole.image.record_count, "{name}: {calls} calls");
            }
        }
    }
}

#[test]
fn load_job_finish_reads_what_is_left() {
    let bytes = synth::mixed(30).to_image().expect("synth image");
    let mut job = LoadJob::new(&bytes);
    assert!(!job.advance(5));
    assert_eq!(job.finish(), load(&bytes));
}

#[test]
fn order_run_in_slices_equals_run_order() {
    let bytes = synth::mixed(60).to_image().expect("synth image");
    let report = load(&bytes);
    let img = &report.image;
    let planned = plan::plan(img).expect("plan");
    let v2 = v2_plan(img);
    let own: Vec<usize> = (0..planned.steps.len()).collect();
    let naive = naive_order(&planned);
    let mut reversed = own.clone();
    reversed.reverse();
    let cases = [
        ("planner", &planned, own),
        ("naive", &planned, naive),
        ("reversed", &planned, reversed),
        ("v2", &v2, (0..v2.steps.len()).collect()),
    ];
    for (name, p, order) in cases {
        let whole = run_order(img, p, &order);
        for slice in [1, 7, 1000] {
            let mut job = OrderRun::default();
            let mut last = 0;
            while !job.advance(p, &order, slice) {
                assert_eq!(job.position(), last + slice, "{name}: one slice of steps");
                last = job.position();
            }
            assert!(job.advance(p, &order, slice), "{name}: done stays done");
            assert_eq!(job.finish(img, p), whole, "{name}, slices of {slice}");
        }
    }
    // The naive order fails: the sliced run stops at the same step.
    let naive = naive_order(&planned);
    let mut job = OrderRun::default();
    while !job.advance(&planned, &naive, 2) {}
    let rep = job.finish(img, &planned);
    assert!(rep.failure.is_some());
    assert_eq!(rep, run_order(img, &planned, &naive));
}

#[test]
fn detached_run_continues_where_it_stopped() {
    let bytes = synth::mixed(20).to_image().expect("synth image");
    let report = load(&bytes);
    let p = plan::plan(&report.image).expect("plan");
    let mut straight = Run::new(&p);
    let mut hopping = Run::new(&p).detach();
    for (i, step) in p.steps.iter().enumerate() {
        let a = straight.step(step);
        let mut run = hopping.attach(&p);
        let b = run.step(step);
        assert_eq!(a, b, "step {i}");
        assert_eq!(run.kernel, straight.kernel, "step {i}");
        hopping = run.detach();
    }
    assert_eq!(hopping.objref_sock, straight.objref_sock);
    assert_eq!(hopping.sock_objref, straight.sock_objref);
}

#[test]
fn plan_job_phase_by_phase_equals_plan() {
    let mut planned = 0;
    for (name, bytes) in images() {
        let report = load(&bytes);
        let whole = plan::plan(&report.image);
        let mut job = plan::PlanJob::new(&report.image);
        let mut phases = 1;
        while !job.advance() {
            phases += 1;
        }
        if whole.is_ok() {
            planned += 1;
            assert_eq!(phases, 11, "{name}: one call per phase");
        }
        assert_eq!(job.finish(), whole, "{name}");
        // finish() alone does every phase.
        assert_eq!(plan::PlanJob::new(&report.image).finish(), whole, "{name}");
    }
    assert!(planned >= 3, "{planned} images planned");
}

/// `summary::roles` (linear, used for whole tables and graphs) says what `summary::role` says.
#[test]
fn roles_of_all_sockets_equal_role_of_each() {
    for (name, bytes) in images() {
        let report = load(&bytes);
        let img = &report.image;
        let each: Vec<resocket_core::summary::Role> =
            img.sockets.values().map(|s| resocket_core::summary::role(img, s)).collect();
        assert_eq!(resocket_core::summary::roles(img), each, "{name}");
    }
}
