//! The lessons against the real kernel: every syscall step of every built-in lesson
//! (core/lessons/*.json) runs on the simulator and, through the executor, on this machine's
//! kernel — in a fresh network namespace with `lo` up and a scratch root for path names — and
//! the two must answer the same (values, errnos, reads, would-block). A lesson must not teach
//! something the real kernel contradicts. Restore steps are the planner's, checked live by
//! `kernel.rs` and `inet_restore.rs`.

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
    let _ = std::fs::remove_dir_all(&root);
    out
}

#[test]
fn every_lessons_syscall_steps_get_the_real_kernels_answers() {
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
