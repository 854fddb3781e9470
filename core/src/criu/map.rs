//! [`to_scenario`]: a CRIU checkpoint as a resocket scenario, with named notes.
use super::Opened;
use crate::scenario::Scenario;

/// What a note is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NoteCode {
    /// CRIU does not record the order of a listener's pending connections.
    AcceptOrder,
}

/// A note on the mapping.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Note {
    /// What it is about.
    pub code: NoteCode,
    /// The scenario socket concerned, if any.
    pub socket: Option<String>,
    /// One line.
    pub message: String,
}

/// The scenario of an opened checkpoint.
pub fn to_scenario(_o: &Opened) -> (Scenario, Vec<Note>) {
    (Scenario::default(), Vec::new())
}
