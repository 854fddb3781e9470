//! Cross-crate integration tests (one binary, modules by topic).

mod archives;
mod criu_oracle;
mod diagnostics;
mod edit;
mod fixtures;
mod plan;
