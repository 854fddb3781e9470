//! The reducer of the CRIU panels' actions ([`CriuAction`]): a part of [`State`]'s reducer,
//! kept beside it so that the CRIU view data (`crate::criu`) does not depend on the app's state.

use super::{State, PAGE};
use crate::criu::{entry_at, CriuAction, CriuSel};
use std::rc::Rc;

/// The reducer of [`CriuAction`]s (`Action::Criu`).
pub(super) fn reduce(state: Rc<State>, action: CriuAction) -> Rc<State> {
    let mut s = (*state).clone();
    // The doc is shared (`Rc`): its files are borrowed, never copied.
    let doc = s.criu.clone();
    let shown_file = doc.as_ref().and_then(|c| c.files.get(s.criu_sel.file));
    match action {
        CriuAction::Opened(doc) => {
            if doc.image.is_err() {
                // Nothing else to show: clear the previous image's panels.
                s = State {
                    shown: PAGE,
                    sockets_shown: PAGE,
                    help: s.help,
                    host: s.host.clone(),
                    typed_host: s.typed_host.clone(),
                    ..State::default()
                };
            }
            let file = doc.first_file();
            let entry = doc.files.get(file).filter(|f| f.entry_count() > 0).map(|_| 0);
            s.criu_sel = CriuSel { file, entry, shown: PAGE, notes_shown: PAGE, ..CriuSel::default() };
            s.criu = Some(doc);
        }
        CriuAction::SelectFile(i) => {
            let Some(doc) = doc else { return state };
            let Some(f) = doc.files.get(i) else { return state };
            if s.criu_sel.file == i {
                return state;
            }
            s.criu_sel = CriuSel {
                file: i,
                entry: (f.entry_count() > 0).then_some(0),
                shown: PAGE,
                notes_shown: s.criu_sel.notes_shown,
                ..CriuSel::default()
            };
        }
        CriuAction::SelectEntry(e) => {
            if shown_file.is_none_or(|f| e >= f.entry_count()) {
                return state;
            }
            if s.criu_sel.entry != Some(e) {
                s.criu_sel.fields = None;
            }
            s.criu_sel.entry = Some(e);
            s.criu_sel.focus = None;
            s.criu_sel.focus_field = None;
            s.criu_sel.diag = None;
            s.criu_sel.shown = s.criu_sel.shown.max(e + 1);
        }
        CriuAction::SelectField(path) => {
            let (Some(_), Some(e)) = (shown_file, s.criu_sel.entry) else { return state };
            let fields = s.criu_sel.fields.as_ref().filter(|w| w.file == s.criu_sel.file && w.entry == e);
            let Some(field) = fields.and_then(|w| w.get(&path)) else { return state };
            s.criu_sel.focus = Some(field.range.clone());
            s.criu_sel.focus_field = Some(path);
            s.criu_sel.diag = None;
        }
        CriuAction::HoverField(path) => {
            let hover = match (shown_file, s.criu_sel.fields.as_ref(), path) {
                (Some(_), Some(w), Some(p)) if Some(w.entry) == s.criu_sel.entry && w.file == s.criu_sel.file => {
                    w.get(&p).map(|x| (x.path.clone(), x.range.clone()))
                }
                _ => None,
            };
            if hover == s.criu_sel.hover {
                return state;
            }
            s.criu_sel.hover = hover;
        }
        CriuAction::HoverByte(at) => {
            // The fields of the selected entry are the ones walked (the hex shows its bytes).
            let hover = match (shown_file, s.criu_sel.fields.as_ref(), at) {
                (Some(f), Some(w), Some(at))
                    if w.file == s.criu_sel.file
                        && entry_at(f, at) == Some(w.entry)
                        && s.criu_sel.entry == Some(w.entry) =>
                {
                    w.at(at).map(|x| (x.path.clone(), x.range.clone()))
                }
                _ => None,
            };
            if hover == s.criu_sel.hover {
                return state;
            }
            s.criu_sel.hover = hover;
        }
        CriuAction::SelectDiagnostic(k) => {
            let Some(doc) = doc else { return state };
            let Some(d) = doc.diagnostics.get(k) else { return state };
            let file = d.file.as_ref().and_then(|n| doc.files.iter().position(|f| &f.name == n));
            if let Some(i) = file {
                if i != s.criu_sel.file {
                    s.criu_sel =
                        CriuSel { file: i, shown: PAGE, notes_shown: s.criu_sel.notes_shown, ..CriuSel::default() };
                }
                let f = &doc.files[i];
                let entry = d.record.filter(|&e| e < f.entry_count()).or_else(|| entry_at(f, d.range.start));
                if s.criu_sel.entry != entry {
                    s.criu_sel.fields = None;
                }
                s.criu_sel.entry = entry;
                if let Some(e) = entry {
                    s.criu_sel.shown = s.criu_sel.shown.max(e + 1);
                }
                s.criu_sel.focus = Some(d.range.clone());
            } else {
                s.criu_sel.focus = None;
            }
            s.criu_sel.focus_field = d.field.clone();
            s.criu_sel.diag = Some(k);
        }
        CriuAction::MoreEntries => s.criu_sel.shown += PAGE,
        CriuAction::MoreNotes => s.criu_sel.notes_shown += PAGE,
        CriuAction::Fields(f) => {
            if f.file != s.criu_sel.file || Some(f.entry) != s.criu_sel.entry {
                return state;
            }
            s.criu_sel.fields = Some(f);
        }
    }
    Rc::new(s)
}
