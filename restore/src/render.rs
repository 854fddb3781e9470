//! Text and JSON renderings of `restore show` and `restore check`.

use resocket_core::diag::{Diagnostic, Severity};
use resocket_core::wire::{Record, Records};
use resocket_core::{load, summary, text, Report};
use serde_json::{json, Value};
use std::fmt::Write as _;

fn compact(v: &Value, max: usize) -> String {
    let s = match v {
        Value::String(s) => format!("\"{s}\""),
        other => other.to_string(),
    };
    if s.chars().count() > max {
        let cut: String = s.chars().take(max).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// One line per record: offset, index, type, len and the decoded fields.
pub fn record_line(idx: usize, rec: &Record<'_>) -> String {
    let mut line = format!("@{:#08x} #{idx:<5} {:<14} len {:<6}", rec.offset, rec.ty.to_string(), rec.len());
    if let Value::Object(m) = text::decode_record(rec) {
        for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "type") {
            let _ = write!(line, " {k}={}", compact(v, 72));
        }
    }
    line.trim_end().to_string()
}

/// `restore show` as text.
pub fn show_text(name: &str, bytes: &[u8]) -> String {
    let report = load(bytes);
    let mut out = format!("{name}: {}\n\n", summary::summary_line(&report));
    for (idx, rec) in Records::new(bytes).enumerate() {
        match rec {
            Ok(rec) => {
                out.push_str(&record_line(idx, &rec));
                out.push('\n');
            }
            Err(e) => {
                let _ = writeln!(out, "@{:#08x} #{idx:<5} framing error: {e}", e.offset());
            }
        }
    }
    if !report.image.sockets.is_empty() {
        out.push('\n');
        out.push_str(&summary::socket_table(&report.image));
    }
    if !report.diagnostics.is_empty() {
        out.push('\n');
        out.push_str(&summary::diagnostics_list(&report));
    }
    out
}

/// `restore show --json`.
pub fn show_json(bytes: &[u8]) -> Value {
    let report = load(bytes);
    let mut records = Vec::new();
    let mut framing = Value::Null;
    for (idx, rec) in Records::new(bytes).enumerate() {
        match rec {
            Ok(rec) => {
                let mut v = text::decode_record(&rec);
                if let Value::Object(m) = &mut v {
                    m.insert("index".into(), json!(idx));
                    m.insert("offset".into(), json!(rec.offset));
                    m.insert("len".into(), json!(rec.len()));
                }
                records.push(v);
            }
            Err(e) => framing = json!({ "offset": e.offset(), "message": e.to_string() }),
        }
    }
    json!({
        "summary": summary::summary_line(&report),
        "valid": report.is_valid(),
        "size": bytes.len(),
        "records": records,
        "framing_error": framing,
        "sockets": sockets_json(&report),
        "diagnostics": diagnostics_json(&report),
    })
}

fn sockets_json(report: &Report<'_>) -> Value {
    let img = &report.image;
    let roles = summary::roles(img);
    Value::Array(
        img.sockets
            .values()
            .zip(roles)
            .map(|(s, role)| {
                json!({
                    "objref": s.objref,
                    "family": summary::family_name(s.common.family),
                    "type": summary::type_name(s.common.sock_type),
                    "role": role,
                    "name": summary::sock_name(s),
                    "peer": s.peer(),
                    "queued_messages": s.queue.len(),
                    "queued_bytes": s.queued_bytes(),
                    "pending": s.pending.iter().map(|p| json!({"embryo": p.embryo, "client": p.client})).collect::<Vec<_>>(),
                    "backlog": s.common.backlog,
                    "shutdown": s.common.shutdown,
                })
            })
            .collect(),
    )
}

fn diagnostics_json(report: &Report<'_>) -> Value {
    Value::Array(
        report
            .diagnostics
            .iter()
            .map(|d| {
                json!({
                    "code": d.code.as_str(),
                    "severity": d.severity,
                    "offset": d.range.start,
                    "end": d.range.end,
                    "record": d.record,
                    "objref": d.objref,
                    "message": d.message,
                    "help": d.help(),
                })
            })
            .collect(),
    )
}

/// `restore check --json`.
pub fn check_json(bytes: &[u8]) -> Value {
    let report = load(bytes);
    json!({
        "valid": report.is_valid(),
        "errors": report.error_count(),
        "warnings": report.warning_count(),
        "summary": summary::summary_line(&report),
        "diagnostics": diagnostics_json(&report),
    })
}

/// Hex rows (16 bytes each) covering `range`, with carets under the bytes of the range.
pub fn hex_excerpt(bytes: &[u8], range: std::ops::Range<usize>, gutter: usize) -> String {
    let mut out = String::new();
    let start_row = range.start / 16 * 16;
    let last = range.end.max(range.start + 1).min(bytes.len().max(1)) - 1;
    let end_row = (last / 16 * 16).min(start_row + 32); // at most 3 rows
    let mut row = start_row;
    while row <= end_row && row < bytes.len() {
        let chunk = &bytes[row..(row + 16).min(bytes.len())];
        let hex: Vec<String> = chunk.iter().map(|b| format!("{b:02x}")).collect();
        let _ = writeln!(out, "{:>gutter$} | {}", format!("{row:#06x}"), hex.join(" "));
        let marks: String =
            (0..chunk.len())
                .map(|i| {
                    if range.contains(&(row + i)) || (range.is_empty() && row + i == range.start) {
                        "^^"
                    } else {
                        "  "
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
        if marks.contains('^') {
            let _ = writeln!(out, "{:>gutter$} | {}", "", marks.trim_end());
        }
        row += 16;
    }
    if range.start >= bytes.len() {
        let _ = writeln!(out, "{:>gutter$} | (end of file at {:#x})", "", bytes.len());
    }
    out
}

/// One diagnostic in a rustc-like layout.
pub fn diagnostic_text(name: &str, bytes: &[u8], d: &Diagnostic) -> String {
    let sev = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut out = format!("{sev}[{}]: {}\n", d.code, d.message);
    let rec = summary::record_at(bytes, d.range.start)
        .map(|(i, r)| format!(" (record {i}: {} at {:#x})", r.ty, r.offset))
        .unwrap_or_default();
    let gutter = 8;
    let _ = writeln!(out, "{:>gutter$}--> {name} @ {:#x}..{:#x}{rec}", "", d.range.start, d.range.end);
    let _ = writeln!(out, "{:>gutter$} |", "");
    out.push_str(&hex_excerpt(bytes, d.range.clone(), gutter));
    let _ = writeln!(out, "{:>gutter$} |", "");
    let _ = writeln!(out, "{:>gutter$} = help: {}", "", d.help());
    out
}

/// `restore check` as text, and whether the image is valid.
pub fn check_text(name: &str, bytes: &[u8]) -> (String, bool) {
    let report = load(bytes);
    let mut out = String::new();
    for d in &report.diagnostics {
        out.push_str(&diagnostic_text(name, bytes, d));
        out.push('\n');
    }
    let _ = writeln!(out, "{name}: {}", summary::summary_line(&report));
    (out, report.is_valid())
}

/// Load and validate an image, then plan its restore for a host with these addresses.
fn planned_on<'b>(
    bytes: &'b [u8],
    host: &resocket_core::sim::HostAddrs,
) -> Result<(resocket_core::Report<'b>, resocket_core::plan::Plan), crate::CliError> {
    let report = load(bytes);
    if !report.is_valid() {
        return Err(crate::CliError {
            message: format!("the image is invalid ({} errors): run `restore check` for details", report.error_count()),
            code: crate::EXIT_INVALID,
        });
    }
    let plan = resocket_core::plan::plan_on(&report.image, host)
        .map_err(|e| crate::CliError { message: e.to_string(), code: crate::EXIT_INVALID })?;
    Ok((report, plan))
}

/// `restore plan` output, for the model's loopback-only host.
pub fn plan_output(name: &str, bytes: &[u8], json: bool) -> Result<(String, bool), crate::CliError> {
    plan_output_on(name, bytes, json, &resocket_core::sim::HostAddrs::default())
}

/// `restore plan` output for a host with these addresses (`restore` passes this host's).
pub fn plan_output_on(
    name: &str,
    bytes: &[u8],
    json: bool,
    host: &resocket_core::sim::HostAddrs,
) -> Result<(String, bool), crate::CliError> {
    let (_, plan) = planned_on(bytes, host)?;
    if json {
        return Ok((serde_json::to_string_pretty(&plan).unwrap_or_default() + "\n", true));
    }
    Ok((plan_text(name, &plan), true))
}

/// A plan as `restore plan` prints it: numbered steps by phase, with reasons, then the warnings.
pub fn plan_text(name: &str, plan: &resocket_core::plan::Plan) -> String {
    let mut out = format!("{name}: {} steps\n", plan.steps.len());
    let mut phase = None;
    for (i, s) in plan.steps.iter().enumerate() {
        if phase != Some(s.phase) {
            phase = Some(s.phase);
            let _ = writeln!(out, "\n== {:?}", s.phase);
        }
        let _ = writeln!(out, "{i:>5}  {:<60}  # {}", plan.describe(i), s.why);
    }
    if !plan.warnings.is_empty() {
        out.push('\n');
        out.push_str(&plan.warnings_text());
    }
    out
}

/// Which order `restore simulate` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKind {
    /// The planner's.
    Plan,
    /// The seed's v2 code.
    V2,
    /// Connects before listeners.
    Naive,
}

/// `restore simulate` output, planned for and run on a host with these addresses, and whether
/// the run was clean.
/// What `restore simulate` prints besides every step's result.
#[derive(Debug, Clone, Copy, Default)]
pub struct SimulateShow {
    /// The simulated sockets after every step.
    pub states: bool,
    /// The failing step's kernel rule, explained.
    pub explain: bool,
    /// JSON instead of text.
    pub json: bool,
}

/// The explanation of a rule, as `--explain` prints it (indented under the failure).
pub fn rule_text(rule: resocket_core::sim::Rule) -> String {
    let e = rule.explain();
    format!(
        "  kernel rule [{rule}]: {}
    when: {}
    {}
",
        e.function, e.condition, e.text
    )
}

pub fn simulate_output_on(
    bytes: &[u8],
    order: OrderKind,
    show: SimulateShow,
    host: &resocket_core::sim::HostAddrs,
) -> Result<(String, bool), crate::CliError> {
    let SimulateShow { states: with_states, explain, json } = show;
    use resocket_core::check;
    let (report, plan) = planned_on(bytes, host)?;
    let (plan, order) = ordered(&report, plan, order);
    let (rep, states) = if with_states {
        check::run_order_traced_on(&report.image, &plan, &order, host)
    } else {
        (check::run_order_on(&report.image, &plan, &order, host), Vec::new())
    };
    let clean = rep.is_clean();
    if json {
        let mut v = json!({ "plan": plan, "report": rep, "clean": clean, "states": states });
        if let (true, Some(rule)) = (explain, rep.failure.as_ref().and_then(|f| f.rule)) {
            let e = rule.explain();
            v["explanation"] =
                json!({ "rule": rule, "function": e.function, "condition": e.condition, "text": e.text });
        }
        return Ok((serde_json::to_string_pretty(&v).unwrap_or_default() + "\n", clean));
    }
    let mut out = String::new();
    for (pos, r) in rep.results.iter().enumerate() {
        let _ = writeln!(out, "{pos:>5}  step {:<5} {:<60} = {}", r.step, r.text(&plan), r.outcome.short());
        for s in states.get(pos).into_iter().flatten().filter(|s| !s.closed) {
            out.push_str(&state_line(s));
            out.push('\n');
        }
    }
    out.push_str(&run_end(&rep, &plan, explain));
    Ok((out, clean))
}

/// The plan and the order of its steps `simulate --order` runs: the plan's own, the seed's v2
/// plan, or the plan's steps in the naive order.
fn ordered(
    report: &Report<'_>,
    plan: resocket_core::plan::Plan,
    order: OrderKind,
) -> (resocket_core::plan::Plan, Vec<usize>) {
    use resocket_core::check;
    match order {
        OrderKind::Plan => {
            let n = plan.steps.len();
            (plan, (0..n).collect::<Vec<_>>())
        }
        OrderKind::V2 => {
            let v2 = check::v2_plan(&report.image);
            let n = v2.steps.len();
            (v2, (0..n).collect())
        }
        OrderKind::Naive => {
            let order = check::naive_order(&plan);
            (plan, order)
        }
    }
}

/// One open socket after a step (`--states`): who, type, state, name, and what it holds.
fn state_line(s: &resocket_core::check::SockState) -> String {
    let who = s.objref.map_or_else(|| "tmp".to_string(), |o| format!("#{o}"));
    let state = format!("TCP_{}", s.state);
    let mut line = format!("         {who:<6} {:<10} {state:<16} {}", format!("{:?}", s.ty).to_lowercase(), s.name);
    if s.peer != 0 {
        let _ = write!(line, "  peer #{}", s.peer);
    }
    if let Some(b) = s.backlog {
        let _ = write!(line, "  pending {}/{}", s.queued, b + 1);
    } else if s.queued > 0 {
        let _ = write!(line, "  queue {} msg / {} B", s.queued, s.queued_bytes);
    }
    if let Some(l) = s.pending_on {
        let _ = write!(line, "  (embryo on #{l})");
    }
    if s.shutdown != 0 {
        let _ = write!(line, "  shutdown {}", s.shutdown);
    }
    line.trim_end().to_string()
}

/// How the run ended: the first failure (its fix, its kernel rule), or completed, equal to
/// the image (but for what the plan warned of) or not.
fn run_end(rep: &resocket_core::check::RunReport, plan: &resocket_core::plan::Plan, explain: bool) -> String {
    let mut out = String::new();
    if let Some(f) = &rep.failure {
        let _ =
            writeln!(out, "\nfailed at position {} (step {}): {}\n  fix: {}", f.position, f.step, f.explanation, f.fix);
        match f.rule {
            Some(rule) if explain => out.push_str(&rule_text(rule)),
            Some(rule) => {
                let _ = writeln!(out, "  kernel rule [{rule}] (--explain says more)");
            }
            None => {}
        }
    } else if rep.differences.is_empty() && plan.warnings.is_empty() {
        let _ = writeln!(out, "\nall {} steps completed; the simulated state equals the image", rep.results.len());
    } else if rep.differences.is_empty() {
        // The plan restores less than the image holds (warned): the comparison expects that.
        let _ = writeln!(
            out,
            "\nall {} steps completed; the simulated state equals the image except where the plan says it cannot restore it:",
            rep.results.len()
        );
        out.push_str(&plan.warnings_text());
    } else {
        let _ = writeln!(out, "\nall {} steps completed, but the result differs from the image:", rep.results.len());
        for d in &rep.differences {
            let _ = writeln!(out, "  #{} {}: expected {}, found {}", d.objref, d.what, d.expected, d.found);
        }
    }
    out
}

/// Warnings as JSON: code, effect, objref, step, message and what is lost or changed.
pub fn warnings_json(warnings: &[resocket_core::warn::Warning]) -> Value {
    Value::Array(
        warnings
            .iter()
            .map(|w| {
                json!({
                    "code": w.code.as_str(),
                    "effect": w.effect,
                    "objref": w.objref,
                    "step": w.step,
                    "message": w.message,
                    "lost": w.lost(),
                })
            })
            .collect(),
    )
}

/// Warnings as text, each as [`resocket_core::warn::Warning::render`] gives it (no steps to
/// describe: a dump's), every line after `prefix`.
pub fn warnings_text(prefix: &str, warnings: &[resocket_core::warn::Warning]) -> String {
    let mut out = String::new();
    for w in warnings {
        for line in w.render(&|_| String::new()).lines() {
            let _ = writeln!(out, "{prefix}{line}");
        }
    }
    out
}

/// The plan's warnings as text, every line after `prefix` (steps described).
pub fn plan_warnings_text(prefix: &str, plan: &resocket_core::plan::Plan) -> String {
    let mut out = String::new();
    for line in plan.warnings_text().lines() {
        let _ = writeln!(out, "{prefix}{line}");
    }
    out
}
