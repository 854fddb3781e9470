//! `cargo run -p xtask -- <task>` (or `./x <task>`).
//!
//! Tasks:
//! * `fixtures` — rebuild `fixtures/images/**` and `fixtures/expected/**` from `fixtures/src/**`,
//!   `fixtures/criu/images/**` from `fixtures/criu/src/**` with `crit encode`, and the
//!   checkpoint archives `fixtures/criu/archives/*.tar.gz` from those images.

use std::process::ExitCode;

fn main() -> ExitCode {
    let task = std::env::args().nth(1).unwrap_or_default();
    match task.as_str() {
        "fixtures" => match resocket_fixtures::write_all().and_then(|p| {
            let c = resocket_fixtures::criu::write_all()?;
            let a = resocket_fixtures::archives::write_all()?;
            Ok((p, c, a))
        }) {
            Ok((paths, criu, archives)) => {
                println!("wrote {} files under {}", paths.len(), resocket_fixtures::root().display());
                println!(
                    "wrote {} CRIU images under {} (crit encode)",
                    criu.len(),
                    resocket_fixtures::criu::root().display()
                );
                println!(
                    "wrote {} checkpoint archives under {}",
                    archives.len(),
                    resocket_fixtures::archives::root().display()
                );
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
