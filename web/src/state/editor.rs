//! The reducer of the scenario editor's actions ([`EditorAction`]): a part of [`State`]'s
//! reducer, kept beside it so that the editor (its state, panel and share links) does not
//! depend on the app's state.

use super::{Action, State};
use crate::editor::{edited_name, Editor, EditorAction, EDIT_MAX};
use resocket_core::{edit, share};
use std::rc::Rc;
use yew::Reducible;

/// Open `bytes` as the image named `name` (the same path as any other open) and keep `editor`.
pub(super) fn open_with(state: Rc<State>, name: String, note: String, bytes: Vec<u8>, editor: Editor) -> Rc<State> {
    // The edited scenario is planned for the host the image was.
    let host = state.host.clone();
    let opened = state.reduce(Action::Open { name, note, bytes: Rc::from(bytes), host });
    let mut s = (*opened).clone();
    s.editor = Some(Rc::new(editor));
    Rc::new(s)
}

/// The reducer of [`EditorAction`]s (called by `State::reduce`).
pub(super) fn reduce(state: Rc<State>, action: EditorAction) -> Rc<State> {
    let mut s = (*state).clone();
    match action {
        EditorAction::Start => {
            let Some(doc) = s.doc.as_ref().filter(|d| d.summary.sockets <= EDIT_MAX) else { return state };
            let imported = edit::from_image(&doc.bytes);
            s.editor = Some(Rc::new(Editor {
                scenario: Rc::new(imported.scenario),
                notes: imported.notes,
                objrefs: imported.objrefs,
                ..Editor::default()
            }));
        }
        EditorAction::Close => s.editor = None,
        EditorAction::Share => {
            let Some(ed) = &s.editor else { return state };
            let mut ed = (**ed).clone();
            ed.link = None;
            ed.shares += 1;
            ed.sharing = true;
            s.editor = Some(Rc::new(ed));
        }
        EditorAction::Linked { scenario, text } => {
            let Some(ed) = s.editor.as_ref().filter(|ed| ed.sharing && Rc::ptr_eq(&ed.scenario, &scenario)) else {
                return state;
            };
            let mut ed = (**ed).clone();
            ed.link = Some(share::fragment_of(&text));
            ed.sharing = false;
            s.editor = Some(Rc::new(ed));
        }
        EditorAction::Apply(e) => {
            let (Some(ed), Some(doc)) = (s.editor.clone(), s.doc.clone()) else { return state };
            let mut ed = (*ed).clone();
            ed.link = None;
            ed.sharing = false;
            let written = edit::apply(&ed.scenario, &e)
                .map_err(|err| err.to_string())
                .and_then(|sc| sc.to_image_mapped().map(|b| (sc, b)).map_err(|err| err.to_string()));
            match written {
                Ok((sc, (bytes, objrefs))) => {
                    ed.scenario = Rc::new(sc);
                    ed.objrefs = objrefs;
                    ed.error = None;
                    ed.edits += 1;
                    let note = ed.scenario.description.clone();
                    return open_with(state, edited_name(&doc.name), note, bytes, ed);
                }
                Err(err) => {
                    ed.error = Some(err);
                    s.editor = Some(Rc::new(ed));
                }
            }
        }
        EditorAction::OpenShared { text, payload } => {
            let opened = payload
                .and_then(|p| share::from_payload(&p).map_err(|e| e.to_string()))
                .and_then(|sc| {
                    let n = sc.sockets.len() + sc.sockets.iter().map(|s| s.pending.len()).sum::<usize>();
                    if n > EDIT_MAX {
                        return Err(format!("{n} sockets; the editor opens scenarios of up to {EDIT_MAX}"));
                    }
                    Ok(sc)
                })
                .and_then(|sc| sc.to_image_mapped().map(|b| (sc, b)).map_err(|e| e.to_string()));
            match opened {
                Ok((sc, (bytes, objrefs))) => {
                    let note = sc.description.clone();
                    let ed = Editor {
                        scenario: Rc::new(sc),
                        link: Some(share::fragment_of(&text)),
                        objrefs,
                        ..Editor::default()
                    };
                    return open_with(state, "shared.rsimg".into(), note, bytes, ed);
                }
                Err(e) => s.error = Some(format!("share link: {e}")),
            }
        }
    }
    Rc::new(s)
}
