//! Cross-crate integration tests (one binary, modules by topic).

mod diagnostics;
mod fixtures;
mod plan;
