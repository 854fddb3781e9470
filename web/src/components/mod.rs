//! View components, one file per component (or per tight group). Each takes the data it shows
//! and `Callback`s for what the user does; none holds state of its own beyond local UI state
//! (a graph's pan/zoom, a text field's error) or computes anything beyond formatting.

mod diagnostics;
mod gallery;
mod graph;
pub mod hex;
mod lessons;
mod records;
mod sockets;
mod summary;
mod timeline;

pub use diagnostics::{DiagProps, Diagnostics};
pub use gallery::{Gallery, GalleryProps};
pub use graph::{GraphPanel, GraphPanelProps, GraphProps, SocketGraph, DETAIL_MAX, WINDOWED_MIN};
pub use hex::{HexProps, HexView};
pub use lessons::{LessonsPage, LessonsProps, TryBar, TryProps};
pub use records::{RecordList, RecordRow, RecordsProps, RowProps};
pub use sockets::{Sockets, SocketsProps};
pub use summary::{SummaryBar, SummaryProps};
pub use timeline::{Timeline, TimelineProps};
