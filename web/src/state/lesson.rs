//! The reducer of the lessons page's actions ([`LessonAction`]): the page's own are
//! `crate::lesson::reduce`; "try it yourself" and "reset lesson" open a lesson's scenario in the
//! scenario editor, which this state owns.

use super::editor::open_with;
use super::State;
use crate::editor::Editor;
use crate::lesson::{self, LessonAction, Lessons, Trying};
use crate::model::OrderKind;
use resocket_core::lesson::{Order, Restore};
use std::rc::Rc;

/// The timeline's order for a lesson's restore order.
fn kind(o: Order) -> OrderKind {
    match o {
        Order::Plan => OrderKind::Planner,
        Order::Naive => OrderKind::Naive,
        Order::V2 => OrderKind::V2,
    }
}

/// Open `rs`'s scenario in the editor (as any scenario opens) for step `step` of lesson `lesson`.
fn try_restore(state: Rc<State>, lesson: usize, step: usize, rs: Restore) -> Rc<State> {
    let Ok((bytes, objrefs)) = rs.scenario.to_image_mapped() else { return state };
    let id = state.lessons.list.get(lesson).map(|l| l.id.clone()).unwrap_or_default();
    let ed = Editor { scenario: Rc::new(rs.scenario.clone()), objrefs, ..Editor::default() };
    let note = rs.scenario.description.clone();
    let lessons = state.lessons.clone();
    let opened = open_with(state, format!("lesson-{id}-step-{}.rsimg", step + 1), note, bytes, ed);
    let mut s = (*opened).clone();
    let t = Trying { lesson, step, order: rs.order, original: rs.clone(), run: None };
    let mut l = (*lessons).clone();
    l.shown = false;
    l.trying = Some(Rc::new(Lessons::tried(&t, Some(&rs.scenario))));
    s.lessons = Rc::new(l);
    s.choose_order(kind(rs.order));
    Rc::new(s)
}

/// After an editor action: run the tried scenario (as the editor now holds it) again.
pub(super) fn retry(state: Rc<State>) -> Rc<State> {
    let Some(t) = state.lessons.trying.clone() else { return state };
    let Some(ed) = state.editor.clone() else { return state };
    let mut s = (*state).clone();
    let mut l = (*s.lessons).clone();
    l.trying = Some(Rc::new(Lessons::tried(&t, Some(&ed.scenario))));
    s.lessons = Rc::new(l);
    Rc::new(s)
}

/// The reducer of [`LessonAction`]s (called by `State::reduce`).
pub(super) fn reduce(state: Rc<State>, action: LessonAction) -> Rc<State> {
    match action {
        LessonAction::TryIt => {
            let l = &state.lessons;
            let (Some(i), Some((step, rs))) = (l.current, l.restore_for(l.step)) else { return state };
            let rs = rs.clone();
            try_restore(state, i, step, rs)
        }
        LessonAction::Reset => {
            let Some(t) = state.lessons.trying.clone() else { return state };
            try_restore(state, t.lesson, t.step, t.original.clone())
        }
        a => {
            let order = match &a {
                LessonAction::TryOrder(o) => Some(*o),
                _ => None,
            };
            let Some(l) = lesson::reduce(&state.lessons, a) else { return state };
            let mut s = (*state).clone();
            s.lessons = Rc::new(l);
            if let Some(o) = order {
                s.choose_order(kind(o));
                return retry(Rc::new(s));
            }
            Rc::new(s)
        }
    }
}
