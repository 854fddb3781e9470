//! `cargo run -p xtask -- <task>` (or `./x <task>`).
//!
//! Tasks:
//! * `fixtures` — rebuild `fixtures/images/**` and `fixtures/expected/**` from `fixtures/src/**`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "fixtures" => match resocket_fixtures::write_all() {
            Ok(paths) => {
                println!("wrote {} files under {}", paths.len(), resocket_fixtures::root().display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("xtask fixtures: {e}");
                ExitCode::FAILURE
            }
        },
        _ => {
            eprintln!("usage: cargo run -p xtask -- fixtures");
            ExitCode::from(2)
        }
    }
}
