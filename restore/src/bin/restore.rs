//! `restore`: inspect, check and decode resocket checkpoint images and CRIU checkpoints.

use clap::{Parser, Subcommand, ValueEnum};
use resocket_core::warn::{Policy, WarnCode, Warning};
use resocket_restore::input::{self, Input};
use resocket_restore::{render, render_criu, write_output, CliError, DEFAULT_MAX_BYTES, EXIT_INVALID, EXIT_OK};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Inspect, check, decode, plan, simulate and restore socket checkpoints: resocket (Linux-CR)
/// images, CRIU image directories (`criu dump -D DIR`), single CRIU image files, and checkpoint
/// archives (tar, tar.gz, tar.zst as Podman, CRI-O and the kubelet write them). What an input
/// is, is decided by its content, never by its name.
///
/// Exit status: 0 success (valid image), 1 invalid image, 2 usage or I/O error (including an
/// input that is none of the above, and an archive that cannot be unpacked within the limits).
#[derive(Debug, Parser)]
#[command(name = "restore", version, about, long_about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Refuse input files larger than this many bytes (for a CRIU directory or archive: also its
    /// images in all).
    #[arg(long, global = true, default_value_t = DEFAULT_MAX_BYTES)]
    max_bytes: u64,
    /// Refuse archives that unpack to more than this many bytes (all members, kept or not):
    /// a decompression bomb stops here.
    #[arg(long, global = true, default_value_t = resocket_core::archive::Limits::default().max_unpacked)]
    max_unpacked: u64,
}

const INPUT_HELP: &str = "Image: a resocket image (.rsimg), a CRIU image directory, one CRIU image \
file, or a checkpoint archive (tar, tar.gz, tar.zst; Podman or CRI-O layout), recognised by content";

#[derive(Debug, Subcommand)]
enum Command {
    /// Print every record with its offset and decoded fields, the sockets, and a summary line
    /// (CRIU input: the images with magic and entry count, the container of an archive, the
    /// mapped sockets and the notes).
    Show {
        #[arg(help = INPUT_HELP)]
        image: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Validate an image: diagnostics with offsets and hex excerpts (CRIU input: also file,
    /// entry and protobuf field); exit 1 if invalid.
    Check {
        #[arg(help = INPUT_HELP)]
        image: PathBuf,
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// Restore an image's sockets on this host (of a CRIU checkpoint: the socket part only):
    /// validate, plan, execute with real syscalls, place each socket at its recorded fd; then
    /// exec COMMAND with them, hold them (--hold), or report and exit. On any failure everything
    /// done so far is undone.
    ///
    /// For a CRIU checkpoint (a directory or an archive) only the SOCKET PART is restored: the
    /// sockets, at their fd numbers in the process given by --pid (default: the first task),
    /// with their names, peers, queues and options. No process, memory, file other than a
    /// socket, mount or namespace is restored; that is CRIU's job (`criu restore`). What
    /// CRIU's images do not record (accept order, datagram senders...) is printed as notes.
    #[command(after_long_help = warn_codes_help())]
    Run {
        #[arg(help = INPUT_HELP)]
        image: PathBuf,
        /// Restore every name inside this directory, resolved by the kernel as in a chroot there
        /// (symlinks and `..` never lead out); bound sockets report their last component.
        #[arg(long)]
        root: Option<PathBuf>,
        /// Read the state back from the kernel and compare it with the image (states, names,
        /// peers, queues, flags, every recorded socket option and peek offset); exit 1 on any
        /// difference.
        #[arg(long)]
        verify: bool,
        /// Print the plan and do nothing (with a --deny-warnings / -D policy: exit 1 if it refuses the plan).
        #[arg(long)]
        dry_run: bool,
        /// With --dry-run: the plan as JSON (steps, slots, and warnings with code, objref, step, message).
        #[arg(long, requires = "dry_run")]
        json: bool,
        /// Refuse a plan that carries any warning, before anything is done (exit 1 with the list);
        /// -A CODE accepts one. Codes: docs/simulator.md, "Warnings".
        #[arg(long)]
        deny_warnings: bool,
        /// Refuse a plan that carries the warning CODE, before anything is done (repeatable).
        #[arg(short = 'D', long = "deny", value_name = "CODE", value_parser = parse_warn_code)]
        deny: Vec<WarnCode>,
        /// Accept the warning CODE under --deny-warnings (repeatable; -D wins over -A).
        #[arg(short = 'A', long = "allow", value_name = "CODE", value_parser = parse_warn_code)]
        allow: Vec<WarnCode>,
        /// Keep the restored sockets open until interrupted.
        #[arg(long)]
        hold: bool,
        /// Whose fds to place at their exact numbers (default: the image's first process).
        #[arg(long)]
        pid: Option<i32>,
        /// Refuse plans that create more sockets.
        #[arg(long, default_value_t = 1_000_000)]
        max_sockets: usize,
        /// Refuse plans that queue more bytes.
        #[arg(long, default_value_t = 1 << 30)]
        max_queued_bytes: usize,
        /// Command to exec with the restored fds.
        #[arg(last = true)]
        command: Vec<String>,
    },
    /// Print the restore plan: numbered steps (syscalls) with the reason for each.
    ///
    /// INET sockets are planned for this host's addresses, except for a CRIU checkpoint that
    /// saved its network namespace's addresses (ifaddr-N.img): it is planned for those, the
    /// host it was taken on (`restore run` always plans for this host).
    Plan {
        #[arg(help = INPUT_HELP)]
        image: PathBuf,
        /// Machine-readable output (the plan as data, as the executor and the web app use it).
        #[arg(long)]
        json: bool,
    },
    /// Run a restore order on the simulated kernel: every step's result, the first step that
    /// fails or would block with an explanation and a fix, and the differences from the image.
    ///
    /// The simulated host has this host's addresses, or, for a CRIU checkpoint that saved its
    /// network namespace's addresses (ifaddr-N.img), those.
    Simulate {
        #[arg(help = INPUT_HELP)]
        image: PathBuf,
        /// Which order: the planner's, the seed v2 code's record order, or connects before listeners.
        #[arg(long, value_enum, default_value_t = Order::Plan)]
        order: Order,
        /// Also show the simulated sockets after every step.
        #[arg(long)]
        states: bool,
        /// For the step that fails or would block: the kernel rule that decided it — the Linux
        /// function, the condition it tests and why (the explanations of the inspector's lessons).
        #[arg(long)]
        explain: bool,
        /// Machine-readable output (the failure's rule by name; with --explain, its explanation).
        #[arg(long)]
        json: bool,
    },
    /// Guided lessons: without LESSON, the list; with one (a built-in id or a lesson file), walk
    /// it — each step's prose, the syscall, the question, the simulator's answer, the kernel
    /// rule that decided it and its explanation. `--answer STEP=ANSWER` grades a learner's
    /// answers (exit 1 if one is wrong). The format: docs/lessons.md.
    Lesson {
        /// A built-in lesson's id (`restore lesson` lists them) or a lesson file (JSON).
        lesson: Option<String>,
        /// A learner's answer to step STEP's question (0-based, as printed): `ok`, `would-block`,
        /// an errno name (`EAGAIN`), or for an accept question the client's name. Repeatable.
        #[arg(long = "answer", value_name = "STEP=ANSWER")]
        answers: Vec<String>,
        /// Machine-readable output (the lesson and every step's run, as the inspector gets them).
        #[arg(long)]
        json: bool,
    },
    /// Compare two images up to renumbering (sockets matched by process position and fd, embryos by accept
    /// position, peers and in-flight sockets through them); exit 1 if they differ.
    Diff {
        /// First image (any input `show` takes).
        a: PathBuf,
        /// Second image (any input `show` takes).
        b: PathBuf,
        /// Path prefix to remove from the first image's names (a restore root).
        #[arg(long, default_value = "")]
        strip_a: String,
        /// Path prefix to remove from the second image's names.
        #[arg(long, default_value = "")]
        strip_b: String,
    },
    /// Decode an image into the lossless JSON text form (`checkpoint encode` reverses it).
    ///
    /// CRIU input prints JSON in the shape of `crit decode` (crit's field names and value
    /// formats, `{"magic": ..., "entries": [...]}` per image file): for a directory or an
    /// archive, one JSON object keyed by image file name (the images resocket decodes); for
    /// one image file, or with --file NAME, that image alone, as `crit decode -i NAME` prints it.
    Decode {
        #[arg(help = INPUT_HELP)]
        image: PathBuf,
        /// Write to this file instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
        /// CRIU input: decode only this image file of the checkpoint (`files.img`).
        #[arg(long, value_name = "NAME")]
        file: Option<String>,
    },
    /// Write a checkpoint (a CRIU directory, image or archive; or a resocket image) as a resocket
    /// image, printing every note on what the conversion cannot carry or CRIU did not record.
    Convert {
        #[arg(help = INPUT_HELP)]
        input: PathBuf,
        /// The resocket image to write.
        #[arg(short, long)]
        output: PathBuf,
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

/// The warning codes for `restore run --help`: code, effect, what is lost or changed.
fn warn_codes_help() -> String {
    let mut out = String::from("Warning codes (-D/-A; docs/simulator.md, \"Warnings\"):\n");
    for c in WarnCode::ALL {
        out.push_str(&format!("  {:<28} {:<8} {}\n", c.as_str(), c.effect().as_str(), c.lost()));
    }
    out
}

/// A warning code as `-D`/`-A` take it (the kebab-case spelling).
fn parse_warn_code(s: &str) -> Result<WarnCode, String> {
    WarnCode::from_str_opt(s).ok_or_else(|| {
        let all: Vec<&str> = WarnCode::ALL.iter().map(|c| c.as_str()).collect();
        format!("unknown warning code {s:?}; the codes are: {}", all.join(", "))
    })
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

/// Print the notes of a CRIU mapping to standard error (standard output stays the command's).
fn warn_notes(name: &str, notes: &[resocket_core::criu::Note]) {
    for n in notes {
        eprintln!("restore: {name}: {}", input::note_line(n));
    }
}

/// The resocket image an input stands for (a CRIU checkpoint through its scenario), its notes
/// printed to standard error.
fn image_of(path: &std::path::Path, budget: input::Budget) -> Result<Vec<u8>, CliError> {
    let name = path.display().to_string();
    let (bytes, notes) = input::open(path, budget)?.image_bytes(&name)?;
    warn_notes(&name, &notes);
    Ok(bytes)
}

/// [`image_of`], and the host to plan and simulate for: a CRIU checkpoint that saved its network
/// namespace's addresses (`ifaddr-N.img`) is planned for them, the host it was taken on (as
/// `criu restore` rebuilds the namespace); any other input for this host's addresses, as
/// `restore run` would; either with the outside AF_UNIX names this host has.
fn image_and_host(
    path: &std::path::Path,
    budget: input::Budget,
) -> Result<(Vec<u8>, resocket_core::sim::HostAddrs), CliError> {
    let name = path.display().to_string();
    let input = input::open(path, budget)?;
    let saved = match &input {
        Input::Criu(c) => c.opened.saved_host(),
        Input::Rsimg(_) => None,
    };
    let (bytes, notes) = input.image_bytes(&name)?;
    warn_notes(&name, &notes);
    let mut host = match saved {
        Some(saved) => {
            eprintln!("restore: {name}: planned for {saved}");
            saved.host
        }
        None => this_host(),
    };
    // The outside AF_UNIX names this host has, probed as `restore run` (without `--root`)
    // probes them, so the plan shown is the plan run.
    host.unix = resocket_restore::host::outside_unix(&resocket_core::load(&bytes).image, None);
    Ok((bytes, host))
}

fn pretty(v: &serde_json::Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_default() + "\n"
}

fn run(cli: Cli) -> Result<u8, CliError> {
    let budget = input::Budget { max_bytes: cli.max_bytes, max_unpacked: cli.max_unpacked };
    match cli.command {
        Command::Show { image, json } => {
            let name = image.display().to_string();
            match input::open(&image, budget)? {
                Input::Rsimg(bytes) if json => emit(&pretty(&render::show_json(&bytes)))?,
                Input::Rsimg(bytes) => emit(&render::show_text(&name, &bytes))?,
                Input::Criu(c) if json => emit(&pretty(&render_criu::show_json(&c)))?,
                Input::Criu(c) => emit(&render_criu::show_text(&name, &c))?,
            }
            Ok(EXIT_OK)
        }
        Command::Check { image, json } => check_command(&image, budget, json),
        Command::Run {
            image,
            root,
            verify,
            dry_run,
            json,
            deny_warnings,
            deny,
            allow,
            hold,
            pid,
            max_sockets,
            max_queued_bytes,
            command,
        } => run_image(
            &image,
            budget,
            RunArgs {
                root,
                verify,
                dry_run,
                json,
                policy: Policy { deny_all: deny_warnings, deny, allow },
                hold,
                pid,
                max_sockets,
                max_queued_bytes,
                command,
            },
        ),
        Command::Plan { image, json } => {
            let (bytes, host) = image_and_host(&image, budget)?;
            let (text, _) = render::plan_output_on(&image.display().to_string(), &bytes, json, &host)?;
            emit(&text)?;
            Ok(EXIT_OK)
        }
        Command::Simulate { image, order, states, explain, json } => {
            let (bytes, host) = image_and_host(&image, budget)?;
            let order = match order {
                Order::Plan => render::OrderKind::Plan,
                Order::V2 => render::OrderKind::V2,
                Order::Naive => render::OrderKind::Naive,
            };
            // Planned for and run on a model of the host: the checkpoint's saved addresses, or
            // this host's, as `restore run` would.
            let show = render::SimulateShow { states, explain, json };
            let (text, clean) = render::simulate_output_on(&bytes, order, show, &host)?;
            emit(&text)?;
            Ok(if clean { EXIT_OK } else { EXIT_INVALID })
        }
        Command::Lesson { lesson, answers, json } => lesson_command(lesson.as_deref(), &answers, json),
        Command::Diff { a, b, strip_a, strip_b } => diff_command(&a, &b, budget, &strip_a, &strip_b),
        Command::Decode { image, output, file } => decode_command(&image, budget, output.as_deref(), file.as_deref()),
        Command::Convert { input: path, output } => convert_command(&path, &output, budget),
    }
}

/// `restore check`.
fn check_command(image: &Path, budget: input::Budget, json: bool) -> Result<u8, CliError> {
    let name = image.display().to_string();
    let (text, valid) = match input::open(image, budget)? {
        Input::Rsimg(bytes) if json => {
            let v = render::check_json(&bytes);
            let valid = v["valid"].as_bool().unwrap_or(false);
            (pretty(&v), valid)
        }
        Input::Rsimg(bytes) => render::check_text(&name, &bytes),
        Input::Criu(c) if json => {
            let v = render_criu::check_json(&c);
            let valid = v["valid"].as_bool().unwrap_or(false);
            (pretty(&v), valid)
        }
        Input::Criu(c) => render_criu::check_text(&name, &c),
    };
    emit(&text)?;
    Ok(if valid { EXIT_OK } else { EXIT_INVALID })
}

/// `restore diff`.
fn diff_command(a: &Path, b: &Path, budget: input::Budget, strip_a: &str, strip_b: &str) -> Result<u8, CliError> {
    let (ba, bb) = (image_of(a, budget)?, image_of(b, budget)?);
    let (ra, rb) = (resocket_core::load(&ba), resocket_core::load(&bb));
    let diffs = resocket_core::diff::diff(&ra.image, &rb.image, strip_a.as_bytes(), strip_b.as_bytes());
    let mut text = String::new();
    for d in &diffs {
        text.push_str(d);
        text.push('\n');
    }
    if diffs.is_empty() {
        text.push_str("the images describe the same sockets\n");
    }
    emit(&text)?;
    Ok(if diffs.is_empty() { EXIT_OK } else { EXIT_INVALID })
}

/// `restore decode`.
fn decode_command(
    image: &Path,
    budget: input::Budget,
    output: Option<&Path>,
    file: Option<&str>,
) -> Result<u8, CliError> {
    let text = match input::open(image, budget)? {
        Input::Rsimg(_) if file.is_some() => {
            return Err(CliError::usage(format!(
                "{}: --file names an image of a CRIU checkpoint; this is a resocket image",
                image.display()
            )))
        }
        Input::Rsimg(bytes) => resocket_core::text::decode_to_string(&bytes)
            .map_err(|e| CliError { message: format!("{}: {e}", image.display()), code: EXIT_INVALID })?,
        Input::Criu(c) => pretty(&render_criu::decode(&c, file)?),
    };
    match output {
        Some(p) => write_output(p, text.as_bytes())?,
        None => emit(&text)?,
    }
    Ok(EXIT_OK)
}

/// `restore convert`.
fn convert_command(path: &Path, output: &Path, budget: input::Budget) -> Result<u8, CliError> {
    let name = path.display().to_string();
    let (bytes, notes) = match input::open(path, budget)? {
        Input::Rsimg(b) => {
            eprintln!("restore: {name} is already a resocket image; written unchanged");
            (b, Vec::new())
        }
        Input::Criu(c) => c.to_image(&name)?,
    };
    write_output(output, &bytes)?;
    let report = resocket_core::load(&bytes);
    let mut text = format!("{}: {}\n", output.display(), resocket_core::summary::summary_line(&report));
    if notes.is_empty() {
        text.push_str("no notes: the mapping reports nothing lost\n");
    } else {
        text.push_str(&format!("{} notes on what the image does not carry:\n", notes.len()));
        for n in &notes {
            text.push_str(&input::note_line(n));
            text.push('\n');
        }
    }
    emit(&text)?;
    Ok(if report.is_valid() { EXIT_OK } else { EXIT_INVALID })
}

/// `restore lesson`.
fn lesson_command(which: Option<&str>, answers: &[String], json: bool) -> Result<u8, CliError> {
    use resocket_core::lesson;
    use resocket_restore::render_lesson as rl;
    let Some(which) = which else {
        if !answers.is_empty() {
            return Err(CliError::usage("--answer needs a lesson"));
        }
        emit(&if json { pretty(&rl::list_json()) } else { rl::list_text() })?;
        return Ok(EXIT_OK);
    };
    let l = match lesson::find(which) {
        Some(l) => l,
        None => {
            let path = std::path::Path::new(which);
            if !path.exists() {
                let ids: Vec<String> = lesson::builtin().into_iter().filter_map(Result::ok).map(|l| l.id).collect();
                return Err(CliError::usage(format!(
                    "{which}: no such lesson or file; the lessons are: {}",
                    ids.join(", ")
                )));
            }
            let bytes = resocket_restore::read_input(path, lesson::MAX_LESSON_BYTES as u64)?;
            let text = String::from_utf8(bytes)
                .map_err(|e| CliError { message: format!("{which}: not UTF-8: {e}"), code: EXIT_INVALID })?;
            lesson::parse(&text).map_err(|e| CliError { message: format!("{which}: {e}"), code: EXIT_INVALID })?
        }
    };
    let mut graded = lesson::Answers::new();
    for a in answers {
        let (step, text) =
            a.split_once('=').ok_or_else(|| CliError::usage(format!("--answer {a:?}: expected STEP=ANSWER")))?;
        let step: usize =
            step.trim().parse().map_err(|_| CliError::usage(format!("--answer {a:?}: STEP is a step number")))?;
        let answer = l.parse_answer(step, text).map_err(|e| CliError::usage(format!("--answer {a:?}: {e}")))?;
        graded.insert(step, answer);
    }
    emit(&if json { pretty(&rl::lesson_json(&l, &graded)) } else { rl::lesson_text(&l, &graded) })?;
    Ok(if rl::all_right(&l, &graded) { EXIT_OK } else { EXIT_INVALID })
}

struct RunArgs {
    root: Option<PathBuf>,
    verify: bool,
    dry_run: bool,
    json: bool,
    policy: Policy,
    hold: bool,
    pid: Option<i32>,
    max_sockets: usize,
    max_queued_bytes: usize,
    command: Vec<String>,
}

fn run_image(image: &std::path::Path, budget: input::Budget, a: RunArgs) -> Result<u8, CliError> {
    use resocket_restore::{exec, run};
    // A CRIU checkpoint is restored through its scenario: the socket part only.
    let bytes = image_of(image, budget)?;
    let report = resocket_core::load(&bytes);
    if !report.is_valid() {
        return Err(CliError {
            message: format!(
                "{}: invalid image ({} errors); see `restore check`",
                image.display(),
                report.error_count()
            ),
            code: EXIT_INVALID,
        });
    }
    // INET sockets are planned for this host's addresses (those of the namespace the
    // sockets are made in).
    let (mut host, host_warning) = this_host_warned();
    // The outside AF_UNIX names a dgram socket of the image is reconnected to (paths inside
    // the root under `--root`).
    host.unix = resocket_restore::host::outside_unix(&report.image, a.root.as_deref());
    let pid = a.pid.or_else(|| report.image.tables.first().and_then(|t| t.pid)).unwrap_or(0);
    // What this run itself changes (beyond the plan): said, and refused like the plan's.
    let mut run_warnings: Vec<Warning> = host_warning.into_iter().collect();
    if !a.command.is_empty() {
        run_warnings.extend(exec_warnings(&report.image, pid));
    }
    eprint!("{}", render::warnings_text("restore: ", &run_warnings));
    let planned = |host: &resocket_core::sim::HostAddrs| {
        resocket_core::plan::plan_on(&report.image, host)
            .map_err(|e| CliError { message: e.to_string(), code: EXIT_INVALID })
    };
    if a.dry_run {
        let plan = planned(&host)?;
        if a.json {
            emit(&(serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n"))?;
        } else {
            // The text lists the warnings after the steps.
            emit(&render::plan_text(&image.display().to_string(), &plan))?;
        }
        refuse(&a.policy, &plan, &run_warnings)?;
        return Ok(EXIT_OK);
    }
    let caps = run::Caps { max_sockets: a.max_sockets, max_queued_bytes: a.max_queued_bytes };
    run::check_image_caps(&report.image, caps)?;
    // A warning policy needs the whole plan before the first step: planned first, then executed
    // (without one, planning and execution overlap).
    let whole = if a.policy.is_active() {
        let plan = planned(&host)?;
        refuse(&a.policy, &plan, &run_warnings)?;
        run::check_plan_caps(&plan, caps)?;
        Some(plan)
    } else {
        None
    };
    let root = match &a.root {
        Some(r) => Some(std::fs::canonicalize(r).map_err(|e| CliError::usage(format!("--root {}: {e}", r.display())))?),
        None => None,
    };
    let inherit_all = !a.command.is_empty();
    let cfg = exec::Config {
        root: root.clone(),
        place: exec::PlaceMode::Exact(pid),
        fd_base: run::fd_base_image(&report.image),
        inherit_all,
    };
    let closed = resocket_restore::raw::close_inherited(run::image_fds(&report.image, pid));
    if !closed.is_empty() {
        eprintln!("restore: closed inherited fds {closed:?}: the restored process has its own sockets there");
    }
    let progress = rustix::termios::isatty(std::io::stderr());
    // Planning (proven step by step on the model) and execution overlap: see plan_and_execute.
    let (ex, plan) = match whole {
        Some(plan) => (run::execute(&plan, cfg, progress)?, plan),
        None => run::plan_and_execute_on(&report.image, &host, cfg, caps, progress)?,
    };
    eprint!("{}", render::plan_warnings_text("restore: ", &plan));
    let exact = ex.held.iter().filter(|h| h.exact).count();
    eprintln!(
        "restore: {} steps done; {} sockets held, {exact} placed at their fd numbers for pid {pid}",
        plan.steps.len(),
        ex.held.len()
    );
    held(ex, &report.image, root.as_ref(), &a)
}

/// The restored sockets: verified against the image (`--verify`: undone on a difference), then
/// handed to the command exec'd, or held until interrupted (`--hold`).
fn held(
    mut ex: resocket_restore::exec::Executor,
    img: &resocket_core::Image<'_>,
    root: Option<&std::path::PathBuf>,
    a: &RunArgs,
) -> Result<u8, CliError> {
    if a.verify {
        let diffs = resocket_restore::run::verify(img, &ex.held, root);
        if !diffs.is_empty() {
            for d in &diffs {
                eprintln!("restore: verify: {d}");
            }
            ex.rollback();
            return Ok(EXIT_INVALID);
        }
        eprintln!("restore: verify: the kernel state matches the image");
    }
    if !a.command.is_empty() {
        use std::os::unix::process::CommandExt;
        let err = std::process::Command::new(&a.command[0]).args(&a.command[1..]).exec();
        ex.rollback();
        return Err(CliError::usage(format!("exec {}: {err}", a.command[0])));
    }
    if a.hold {
        eprintln!("restore: holding the restored sockets; interrupt to exit");
        loop {
            std::thread::park();
        }
    }
    Ok(EXIT_OK)
}

/// What exec'ing a command with process `pid`'s fds changes: the other processes' sockets
/// are closed, and fds that were close-on-exec are handed over open.
fn exec_warnings(img: &resocket_core::Image<'_>, pid: i32) -> Vec<Warning> {
    let mut out = Vec::new();
    let socket_fds = |t: &resocket_core::image::FileTable| {
        t.fds
            .iter()
            .filter(|f| img.files.get(&f.file).is_some_and(|f| img.sockets.contains_key(&f.repr.sock_objref)))
            .count()
    };
    for t in img.tables.iter().filter(|t| t.pid.unwrap_or(0) != pid) {
        let n = socket_fds(t);
        if n > 0 {
            out.push(Warning::new(
                WarnCode::OtherProcessesClosed,
                format!(
                    "pid {}: its {n} socket fds are not the command's (placed for pid {pid}): exec closes them",
                    t.pid.unwrap_or(0)
                ),
            ));
        }
    }
    let coe: Vec<i32> = img
        .tables
        .iter()
        .filter(|t| t.pid.unwrap_or(0) == pid)
        .flat_map(|t| &t.fds)
        .filter(|f| f.cloexec)
        .map(|f| f.fd)
        .collect();
    if !coe.is_empty() {
        out.push(Warning::new(
            WarnCode::CloexecDropped,
            format!("fds {coe:?} were close-on-exec in the image; they are handed to the command open (it may set FD_CLOEXEC again)"),
        ));
    }
    out
}

/// Refuse the plan if the policy refuses any of its warnings or the run's own: exit 1 with
/// their list.
fn refuse(policy: &Policy, plan: &resocket_core::plan::Plan, run_warnings: &[Warning]) -> Result<(), CliError> {
    let mut refused = policy.refused(run_warnings);
    refused.extend(policy.refused(&plan.warnings));
    if refused.is_empty() {
        return Ok(());
    }
    let mut message = format!(
        "the plan carries {} warning{} that --deny-warnings / -D refuse{}; nothing was done:\n",
        refused.len(),
        if refused.len() == 1 { "" } else { "s" },
        if refused.len() == 1 { "s" } else { "" }
    );
    for w in refused {
        message.push_str(&w.render(&|i| plan.describe(i)));
    }
    Err(CliError { message: message.trim_end().to_string(), code: EXIT_INVALID })
}

/// This host's addresses for the planner (netlink; the loopback-only host, with a warning,
/// if they cannot be read).
fn this_host() -> resocket_core::sim::HostAddrs {
    let (host, w) = this_host_warned();
    if let Some(w) = w {
        eprint!("{}", render::warnings_text("restore: ", &[w]));
    }
    host
}

/// [`this_host`], the warning returned instead of printed.
fn this_host_warned() -> (resocket_core::sim::HostAddrs, Option<Warning>) {
    let (host, why) = resocket_restore::host::read_or_loopback();
    (host, why.map(|w| Warning::new(WarnCode::HostAddressesUnknown, w)))
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
