//! `restore`: inspect, check and decode resocket checkpoint images.

use clap::{Parser, Subcommand, ValueEnum};
use resocket_restore::{read_input, render, write_output, CliError, DEFAULT_MAX_BYTES, EXIT_INVALID, EXIT_OK};
use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

/// Inspect, check and decode resocket (Linux-CR) socket checkpoint images.
///
/// Exit status: 0 success (valid image), 1 invalid image, 2 usage or I/O error.
#[derive(Debug, Parser)]
#[command(name = "restore", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Refuse input files larger than this many bytes.
    #[arg(long, global = true, default_value_t = DEFAULT_MAX_BYTES)]
    max_bytes: u64,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Print every record with its offset and decoded fields, the sockets, and a summary line.
    Show {
        /// Image file.
        image: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Validate an image: diagnostics with offsets and hex excerpts; exit 1 if invalid.
    Check {
        /// Image file.
        image: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Print the restore plan: numbered steps (syscalls) with the reason for each.
    Plan {
        /// Image file.
        image: PathBuf,
        /// Machine-readable output (the plan as data, as the executor and the web app use it).
        #[arg(long)]
        json: bool,
    },
    /// Run a restore order on the simulated kernel: every step's result, the first step that
    /// fails or would block with an explanation and a fix, and the differences from the image.
    Simulate {
        /// Image file.
        image: PathBuf,
        /// Which order: the planner's, the seed v2 code's record order, or connects before listeners.
        #[arg(long, value_enum, default_value_t = Order::Plan)]
        order: Order,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Decode an image into the lossless JSON text form (`checkpoint encode` reverses it).
    Decode {
        /// Image file.
        image: PathBuf,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
}

/// A restore order to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Order {
    /// The planner's order.
    Plan,
    /// The seed's v2 code: image record order, pairs joined directly, no connect/accept.
    V2,
    /// The planner's steps with every connect moved before the listeners exist.
    Naive,
}

fn emit(s: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(s.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`restore show x | head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(CliError::usage(format!("stdout: {e}"))),
    }
}

fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Show { image, json } => {
            let bytes = read_input(&image, cli.max_bytes)?;
            if json {
                emit(&(serde_json::to_string_pretty(&render::show_json(&bytes)).unwrap_or_default() + "\n"))?;
            } else {
                emit(&render::show_text(&image.display().to_string(), &bytes))?;
            }
            Ok(EXIT_OK)
        }
        Command::Check { image, json } => {
            let bytes = read_input(&image, cli.max_bytes)?;
            let valid = if json {
                let v = render::check_json(&bytes);
                emit(&(serde_json::to_string_pretty(&v).unwrap_or_default() + "\n"))?;
                v["valid"].as_bool().unwrap_or(false)
            } else {
                let (text, valid) = render::check_text(&image.display().to_string(), &bytes);
                emit(&text)?;
                valid
            };
            Ok(if valid { EXIT_OK } else { EXIT_INVALID })
        }
        Command::Plan { image, json } => {
            let bytes = read_input(&image, cli.max_bytes)?;
            let (text, _) = render::plan_output(&image.display().to_string(), &bytes, json)?;
            emit(&text)?;
            Ok(EXIT_OK)
        }
        Command::Simulate { image, order, json } => {
            let bytes = read_input(&image, cli.max_bytes)?;
            let order = match order {
                Order::Plan => render::OrderKind::Plan,
                Order::V2 => render::OrderKind::V2,
                Order::Naive => render::OrderKind::Naive,
            };
            let (text, clean) = render::simulate_output(&bytes, order, json)?;
            emit(&text)?;
            Ok(if clean { EXIT_OK } else { EXIT_INVALID })
        }
        Command::Decode { image, output } => {
            let bytes = read_input(&image, cli.max_bytes)?;
            let text = resocket_core::text::decode_to_string(&bytes)
                .map_err(|e| CliError { message: format!("{}: {e}", image.display()), code: EXIT_INVALID })?;
            match output {
                Some(p) => write_output(&p, text.as_bytes())?,
                None => emit(&text)?,
            }
            Ok(EXIT_OK)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("restore: {e}");
            ExitCode::from(e.code)
        }
    }
}
