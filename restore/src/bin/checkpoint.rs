//! `checkpoint`: write resocket checkpoint images.

use clap::{Parser, Subcommand};
use resocket_restore::{encode_source, write_output, CliError, EXIT_OK};
use std::path::PathBuf;
use std::process::ExitCode;

/// Write resocket (Linux-CR) socket checkpoint images.
///
/// Exit status: 0 success; 1 the processes hold a state the image cannot record (the message
/// names the socket and what to do), the dump is not a valid image, or the source is not a
/// valid description; 2 usage, I/O or system failure (no such process, not permitted, /proc
/// or netlink failed, the processes changed during the dump: dumping again may work).
#[derive(Debug, Parser)]
#[command(name = "checkpoint", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Capture the sockets of live processes into an image.
    ///
    /// By default the processes are not disturbed: every queue is read with MSG_PEEK (a
    /// socket's own SO_PEEK_OFF is set aside for the peeks and put back; one trace is the
    /// kernel's: an empty datagram or record a peek returned is marked peeked, and later peeks
    /// with SO_PEEK_OFF skip it — warning `empty-message-peeked`), socket options are
    /// read with getsockopt (SO_PEEK_OFF, SO_KEEPALIVE, SO_LINGER, SO_RCVTIMEO/SO_SNDTIMEO,
    /// SO_PRIORITY, SO_MARK, SO_RCVLOWAT, SO_PASSSEC, SO_BROADCAST, SO_OOBINLINE, TCP_NODELAY,
    /// TCP_CORK, TCP_KEEPIDLE/KEEPINTVL/KEEPCNT, TCP_USER_TIMEOUT: docs/format.md §5.5; the
    /// SOL_SOCKET ones of unix sockets batched through io_uring where the kernel offers it),
    /// TCP urgent data (MSG_OOB) is recorded with its mark (peeks stop there: recv(MSG_OOB |
    /// MSG_PEEK), SIOCATMARK and a peek from the mark with SO_PEEK_OFF, SO_OOBINLINE set aside
    /// for the peeks and put back; refused: an urgent byte the process read already with its
    /// mark still ahead, and one announced but not arrived), an AF_UNIX stream socket with an
    /// out-of-band byte pending is refused (a peek cannot place its mark for certain), and a
    /// pending connection whose client sent
    /// data before accept() (or has closed) is refused, because that data waits on the embryo,
    /// which nothing can read without accepting it.
    /// With --kill the dump is for processes that will not run on (as CRIU's default): they are
    /// stopped, the pending connections of their unix listeners are accepted on duplicates and
    /// read, the queue of an AF_UNIX stream socket with an out-of-band byte is read for real
    /// up to its mark (SIOCATMARK) to record the byte where it was (RS_OOB: docs/format.md
    /// §5.5a), and the processes are killed once the image is written.
    Dump {
        /// Process to dump (repeat for several).
        #[arg(long = "pid", required = true)]
        pids: Vec<i32>,
        /// Image file to write.
        #[arg(short, long)]
        output: PathBuf,
        /// Also write the readable scenario (JSON) here.
        #[arg(long)]
        scenario: Option<PathBuf>,
        /// Print a machine-readable report on standard output: the image written, its sockets,
        /// and every warning (code, effect, objref in the image, message, what is lost) and
        /// diagnostic. Warning codes: docs/simulator.md, "Warnings".
        #[arg(long)]
        json: bool,
        /// For processes that will not run on: stop them (SIGSTOP), accept each AF_UNIX and TCP
        /// listener's pending connections on a duplicate of it, in accept order, to read what
        /// their clients sent before accept() (bytes, record boundaries, fds in flight; clients
        /// that have closed too; TCP ones peeked, urgent data with its mark), record them as
        /// pending in that order; read the queue of each
        /// AF_UNIX stream socket with an out-of-band byte pending (MSG_OOB) for real, SIOCATMARK
        /// asked before each read, so the byte is recorded at its mark; write the image, then
        /// SIGKILL the processes.
        /// Their listeners' accept queues are emptied, so they must not be resumed. If the dump
        /// fails before anything was accepted, the processes are resumed (SIGCONT); after, they
        /// are killed all the same — also when `checkpoint` itself is killed or crashes mid-dump
        /// (a guard process in its own process group watches for that).
        #[arg(long)]
        kill: bool,
    },
    /// The guard of a `dump --kill` (started by it, not by users): resumes the stopped processes,
    /// or kills them once their connections were accepted, if the dump dies before doing so.
    #[command(name = "__guard", hide = true)]
    Guard {
        /// The stopped processes.
        pids: Vec<i32>,
    },
    /// Encode a JSON source into an image: either the record-level text form that
    /// `restore decode` prints, or a scenario (see docs/format.md, "Scenario form").
    Encode {
        /// JSON source file (`-` for standard input).
        source: PathBuf,
        /// Image file to write.
        #[arg(short, long)]
        output: PathBuf,
    },
}

fn run(cli: Cli) -> Result<u8, CliError> {
    match cli.command {
        Command::Dump { pids, output, scenario, json, kill } => {
            let mut stopped = if kill {
                let exe = std::env::current_exe().map_err(|e| CliError::usage(format!("the guard process: {e}")))?;
                let mut guard = std::process::Command::new(exe);
                guard.arg("__guard");
                Some(resocket_restore::dump::Stopped::stop_guarded(&pids, guard).map_err(CliError::from)?)
            } else {
                None
            };
            let d = match &mut stopped {
                Some(st) => resocket_restore::dump::dump_killing(&pids, st),
                None => resocket_restore::dump::dump(&pids),
            };
            let d = d.map_err(|e| {
                let fate = match stopped.take() {
                    Some(st) if st.consumed() => {
                        let _ = st.kill();
                        " (the processes were killed: pending connections of theirs had been accepted)"
                    }
                    Some(_) => " (the processes were resumed: nothing of theirs had been touched)",
                    None => "",
                };
                let e = CliError::from(e);
                CliError { message: format!("{}{fate}", e.message), ..e }
            })?;
            let (bytes, warnings) =
                d.to_image().map_err(|e| CliError { message: e.to_string(), code: resocket_restore::EXIT_INVALID })?;
            eprint!("{}", resocket_restore::render::warnings_text("checkpoint: ", &warnings));
            if let Some(p) = scenario {
                let text = serde_json::to_string_pretty(&d.scenario).unwrap_or_default() + "\n";
                write_output(&p, text.as_bytes())?;
            }
            write_output(&output, &bytes)?;
            if let Some(st) = stopped {
                st.kill().map_err(CliError::from)?;
                eprintln!("checkpoint: --kill: the processes {pids:?} were killed");
            }
            let report = resocket_core::load(&bytes);
            eprintln!(
                "checkpoint: {} sockets of {} processes, {} bytes -> {}",
                report.image.sockets.len(),
                pids.len(),
                bytes.len(),
                output.display()
            );
            for diag in report.diagnostics.iter() {
                eprintln!("checkpoint: {diag}");
            }
            if json {
                let v = serde_json::json!({
                    "output": output.display().to_string(),
                    "pids": pids,
                    "sockets": report.image.sockets.len(),
                    "bytes": bytes.len(),
                    "valid": report.is_valid(),
                    "warnings": resocket_restore::render::warnings_json(&warnings),
                    "diagnostics": report.diagnostics.iter().map(|d| serde_json::json!({
                        "code": d.code.as_str(), "severity": d.severity, "objref": d.objref, "message": d.message,
                    })).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
            }
            Ok(if report.is_valid() { EXIT_OK } else { resocket_restore::EXIT_INVALID })
        }
        Command::Guard { pids } => {
            resocket_restore::dump::guard(&pids, std::io::stdin().lock(), std::io::stdout().lock())
                .map_err(CliError::from)?;
            Ok(EXIT_OK)
        }
        Command::Encode { source, output } => {
            let text = if source.as_os_str() == "-" {
                std::io::read_to_string(std::io::stdin()).map_err(|e| CliError::usage(format!("stdin: {e}")))?
            } else {
                std::fs::read_to_string(&source).map_err(|e| CliError::usage(format!("{}: {e}", source.display())))?
            };
            let bytes =
                encode_source(&text).map_err(|e| CliError { message: format!("{}: {e}", source.display()), ..e })?;
            write_output(&output, &bytes)?;
            eprintln!("checkpoint: wrote {} bytes to {}", bytes.len(), output.display());
            Ok(EXIT_OK)
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("checkpoint: {e}");
            ExitCode::from(e.code)
        }
    }
}
