//! The lessons against the real kernel: every syscall step of every built-in lesson
//! (core/lessons/*.json) runs on the simulator and, through the executor, on this machine's
//! kernel — in a fresh network namespace with `lo` up and a scratch root for path names — and
//! the two must answer the same (values, errnos, reads, would-block). So must every restore
//! step's order (the planner's, the naive one, v2): each of its syscalls, up to the first that
//! fails, on a fresh executor. A lesson must not teach something the real kernel contradicts.

use resocket_core::check;
use resocket_core::lesson::{self, Action};
use resocket_core::sim::{Kernel, Op, Outcome};
use resocket_restore::exec::{Config, Executor, PlaceMode};

/// Same answer, as far as a caller can tell (differential.rs's rule).
fn agree(sim: &Outcome, real: &Outcome) -> bool {
    match (sim, real) {
        (Outcome::Ok { value: a }, Outcome::Ok { value: b }) => a == b,
        (
            Outcome::Read { data: a, rights: ra, truncated: ta },
            Outcome::Read { data: b, rights: rb, truncated: tb },
        ) => a == b && ra == rb && ta == tb,
        (Outcome::Err { errno: a }, Outcome::Err { errno: b }) => a == b,
        (Outcome::WouldBlock { .. }, Outcome::WouldBlock { .. }) => true,
        _ => false,
    }
}

/// The disagreements of one lesson's syscall steps, run on both kernels.
fn run_lesson(l: &lesson::Lesson) -> Vec<String> {
    let _quiet = super::differential_inet::QUIET.read().unwrap_or_else(|e| e.into_inner());
    super::differential_inet::fresh_netns_with_lo();
    let root = std::env::temp_dir().join(format!("resocket-lesson-{}-{}", std::process::id(), l.id));
    std::fs::create_dir_all(root.join("tmp")).expect("scratch root");
    let mut sim = Kernel::new();
    let mut real = Executor::new(Config {
        root: Some(root.clone()),
        place: PlaceMode::HoldAll,
        fd_base: 1024,
        inherit_all: false,
    });
    let mut out = Vec::new();
    let ops: Vec<(usize, &Op)> = l
        .steps
        .iter()
        .enumerate()
        .filter_map(|(i, s)| match &s.action {
            Action::Syscall(op) => Some((i, op)),
            _ => None,
        })
        .collect();
    for (i, op) in ops {
        let (a, b) = (sim.apply(op), real.apply(op));
        if !agree(&a, &b) {
            out.push(format!("lesson {} step {i} {op:?}: simulator {a:?}, kernel {b:?}", l.id));
            break; // the two kernels' states differ from here on
        }
    }
    real.rollback();
    // The restore steps, each on a fresh executor (the simulator's run is check's).
    for (i, step) in l.steps.iter().enumerate() {
        let Action::Restore(rs) = &step.action else { continue };
        let bytes = rs.scenario.to_image().expect("checked when parsed");
        let report = resocket_core::load(&bytes);
        let (plan, order) = rs.plan_and_order(&report.image).expect("checked when parsed");
        let sim = check::run_order(&report.image, &plan, &order);
        let mut real = Executor::new(Config {
            root: Some(root.clone()),
            place: PlaceMode::HoldAll,
            fd_base: 1024,
            inherit_all: false,
        });
        let mut ran = 0;
        for (pos, &k) in order.iter().enumerate() {
            let Some(expected) = sim.results.get(pos) else { break };
            let got = real.apply(&plan.steps[k].op);
            ran += 1;
            if !agree(&expected.outcome, &got) {
                out.push(format!(
                    "lesson {} step {i} ({:?} order) position {pos} `{}`: simulator {:?}, kernel {got:?}",
                    l.id,
                    rs.order,
                    plan.describe(k),
                    expected.outcome
                ));
                break;
            }
            if !got.is_ok() {
                break;
            }
        }
        if ran < sim.results.len() && out.is_empty() {
            out.push(format!(
                "lesson {} step {i}: the kernel ran {ran} of the simulator's {} steps",
                l.id,
                sim.results.len()
            ));
        }
        real.rollback();
    }
    let _ = std::fs::remove_dir_all(&root);
    out
}

#[test]
fn every_lessons_syscalls_and_restores_get_the_real_kernels_answers() {
    let mut bad = Vec::new();
    let mut n = 0;
    for r in lesson::builtin() {
        let l = r.unwrap_or_else(|(name, e)| panic!("lessons/{name}: {e}"));
        n += 1;
        // Each lesson in its own thread: a fresh network namespace (and fd table) per lesson.
        let found = std::thread::scope(|s| s.spawn(|| run_lesson(&l)).join())
            .unwrap_or_else(|_| vec![format!("{}: panicked", l.id)]);
        bad.extend(found);
    }
    assert!(n >= 8);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}
