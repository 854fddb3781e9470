//! Mutated lesson files: truncated, bytes replaced, spans removed or duplicated. `lesson::parse`
//! never panics, every error it gives has a line and column inside the text (and a step index
//! below the number of steps the text could hold), and a lesson that still parses runs on the
//! simulator without panicking. The case count is proptest's.

use proptest::prelude::*;
use resocket_core::lesson::{self, Answers};

#[derive(Debug, Clone)]
enum Mutation {
    Truncate(usize),
    Replace(usize, u8),
    Remove(usize, usize),
    Duplicate(usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let at = any::<prop::sample::Index>();
    prop_oneof![
        at.clone().prop_map(|i| Mutation::Truncate(i.index(usize::MAX))),
        (at.clone(), prop::sample::select(b"{}[]\",:0123456789 -_aeoxz".to_vec()))
            .prop_map(|(i, b)| Mutation::Replace(i.index(usize::MAX), b)),
        (at.clone(), 1..40usize).prop_map(|(i, n)| Mutation::Remove(i.index(usize::MAX), n)),
        (at, 1..200usize).prop_map(|(i, n)| Mutation::Duplicate(i.index(usize::MAX), n)),
    ]
}

fn apply(text: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut t = text.to_vec();
    for m in ms {
        let n = t.len().max(1);
        match *m {
            Mutation::Truncate(i) => t.truncate(i % n),
            Mutation::Replace(i, b) if !t.is_empty() => t[i % n] = b,
            Mutation::Remove(i, k) if !t.is_empty() => {
                let s = i % n;
                t.drain(s..(s + k).min(t.len()));
            }
            Mutation::Duplicate(i, k) if !t.is_empty() => {
                let s = i % n;
                let span = t[s..(s + k).min(t.len())].to_vec();
                t.splice(s..s, span);
            }
            _ => {}
        }
    }
    t
}

proptest! {
    #[test]
    fn mutated_lessons_give_located_errors_or_run(which in 0..lesson::BUILTIN.len(), ms in prop::collection::vec(mutation(), 1..4)) {
        let bytes = apply(lesson::BUILTIN[which].1.as_bytes(), &ms);
        let Ok(text) = String::from_utf8(bytes) else { return Ok(()) };
        match lesson::parse(&text) {
            Err(e) => {
                let lines = text.lines().count().max(1);
                prop_assert!(e.line >= 1 && e.line <= lines + 1 && e.column >= 1, "{e} ({lines} lines)");
                prop_assert!(e.step.is_none_or(|s| s <= text.matches('{').count()), "{e}");
                prop_assert!(!e.message.is_empty());
            }
            Ok(l) => {
                let runs = lesson::run(&l, &Answers::new());
                prop_assert_eq!(runs.len(), l.steps.len());
            }
        }
    }
}
