//! Cross-crate integration tests (one binary, modules by topic).

mod diagnostics;
mod edit;
mod fixtures;
mod plan;
