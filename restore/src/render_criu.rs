//! `restore show`, `check` and `decode` of CRIU input (an image directory, a checkpoint
//! archive, one image file): the same layouts as for resocket images (render.rs), with the
//! file name, entry index and protobuf field path in every located diagnostic.

use crate::input::{Criu, Origin};
use crate::render::hex_excerpt;
use crate::{CliError, EXIT_USAGE};
use resocket_core::archive::{Archive, Layout};
use resocket_core::diag::{Diagnostic, Severity};
use serde_json::{json, Value};
use std::fmt::Write as _;

fn sev(d: &Diagnostic) -> &'static str {
    match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

fn counts(c: &Criu) -> (usize, usize) {
    let errors = c.opened.diagnostics.iter().filter(|d| d.is_error()).count();
    (errors, c.opened.diagnostics.len() - errors)
}

/// Where the images came from, in a few words.
fn origin_words(c: &Criu) -> String {
    match &c.origin {
        Origin::Directory { .. } => "CRIU image directory".into(),
        Origin::Image => "CRIU image file".into(),
        Origin::Archive(a) => {
            let layout = match (&a.layout, a.container.as_ref().and_then(|c| c.engine)) {
                (Layout::Container, Some(e)) => format!("{} container checkpoint", e.as_str()),
                (Layout::Container, None) => "container checkpoint".into(),
                (Layout::Bare { dir }, _) if dir.is_empty() => "CRIU image directory".into(),
                (Layout::Bare { dir }, _) => format!("CRIU image directory {dir}/"),
            };
            format!("{} archive, {layout}", a.compression.as_str())
        }
    }
}

/// One summary line: what it is, what it holds, and the verdict.
pub fn summary_line(c: &Criu) -> String {
    let cp = &c.opened.checkpoint;
    let (errors, warnings) = counts(c);
    let fds: usize = cp.tasks.iter().map(|t| cp.task_fds(t).count()).sum();
    format!(
        "{}: {} images, {} tasks, {} fds, {} unix sockets, {} inet sockets, {} queued packets{}; {} ({errors} errors, {warnings} warnings)",
        origin_words(c),
        c.opened.files.len(),
        cp.tasks.len(),
        fds,
        cp.unix.len(),
        cp.inet.len(),
        cp.packets.len(),
        if cp.legacy_layout { " (legacy unixsk.img layout)" } else { "" },
        if errors == 0 { "valid" } else { "INVALID" },
    )
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("-")
}

fn archive_text(out: &mut String, a: &Archive) {
    if let Some(k) = &a.container {
        let _ = writeln!(out, "container:");
        let _ = writeln!(out, "  name          {}", opt(&k.name));
        let _ = writeln!(out, "  engine        {}", k.engine.map_or("-", |e| e.as_str()));
        let _ = writeln!(out, "  image         {}", opt(&k.image));
        let _ = writeln!(out, "  created       {}", opt(&k.created));
        let _ = writeln!(out, "  checkpointed  {}", opt(&k.checkpointed));
        let _ = writeln!(out, "  id            {}", opt(&k.id));
        let _ = writeln!(out, "  runtime       {}", opt(&k.runtime));
        if k.namespace.is_some() || k.pod.is_some() {
            let _ = writeln!(out, "  pod           {}/{}", opt(&k.namespace), opt(&k.pod));
        }
        out.push('\n');
    }
    if !a.members.is_empty() {
        let _ = writeln!(out, "other members ({} bytes unpacked in all):", a.unpacked);
        for m in &a.members {
            let kind =
                serde_json::to_value(m.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
            let _ = writeln!(out, "  {:<40} {:>12} B  {kind}", m.path, m.size);
        }
        out.push('\n');
    }
    for w in &a.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    if !a.warnings.is_empty() {
        out.push('\n');
    }
}

/// The mapped checkpoint as resocket's socket table, or why it could not be mapped.
fn sockets_text(c: &Criu) -> String {
    let (sc, _) = c.opened.to_scenario();
    match sc.to_image() {
        Ok(bytes) => {
            let report = resocket_core::load(&bytes);
            if report.image.sockets.is_empty() {
                "no sockets\n".into()
            } else {
                resocket_core::summary::socket_table(&report.image)
            }
        }
        Err(e) => format!("not mapped onto resocket's model: {e}\n"),
    }
}

/// The interface addresses CRIU saved (ifaddr-N.img), per namespace and interface, and which
/// namespace `plan` and `simulate` plan for.
fn addresses_text(out: &mut String, c: &Criu) {
    let cp = &c.opened.checkpoint;
    if cp.ifaddrs.is_empty() {
        return;
    }
    let host = c.opened.host_ns();
    let _ = writeln!(out, "\naddresses (ifaddr-N.img, `ip addr save`):");
    for a in &cp.ifaddrs {
        let dev = cp.netdevs.iter().find(|d| d.ns == a.ns && d.ifindex == a.addr.ifindex);
        let dev = dev.map_or_else(|| format!("if{}", a.addr.ifindex), |d| d.name.clone());
        let ip = a.addr.own().map_or_else(|| "-".to_string(), |ip| format!("{ip}/{}", a.addr.prefix));
        let mut flags = Vec::new();
        if a.addr.secondary() {
            flags.push("secondary");
        }
        if a.addr.flags & resocket_core::criu::ifaddr::IFA_F_TENTATIVE != 0 {
            flags.push("tentative");
        }
        let planned = if Some(a.ns) == host { "" } else { "  (not planned for)" };
        let line = format!("  netns {:<4} {:<10} {:<44} {}{planned}", a.ns, dev, ip, flags.join(" "));
        let _ = writeln!(out, "{}", line.trim_end());
    }
}

/// The devices (netdev-N.img), routes (route-N.img, route6-N.img) and namespaces (netns-N.img)
/// CRIU saved.
fn network_text(out: &mut String, c: &Criu) {
    let cp = &c.opened.checkpoint;
    if !cp.netdevs.is_empty() {
        let _ = writeln!(out, "\ndevices (netdev-N.img):");
        for d in &cp.netdevs {
            let kind = d.kind.word();
            let state = if d.up() { "up" } else { "down" };
            let addr = d.address_text().unwrap_or_else(|| "-".into());
            let line = format!(
                "  netns {:<4} {:<3} {:<10} {:<9} {:<4} mtu {:<6} {addr}",
                d.ns, d.ifindex, d.name, kind, state, d.mtu
            );
            let _ = writeln!(out, "{}", line.trim_end());
        }
    }
    if !cp.routes.is_empty() {
        let _ = writeln!(out, "\nroutes (route-N.img, route6-N.img, `ip route save`):");
        for r in &cp.routes {
            let rt = &r.route;
            let dev = rt.oif.map(|i| {
                cp.netdevs
                    .iter()
                    .find(|d| d.ns == r.ns && d.ifindex == i)
                    .map_or_else(|| format!("if{i}"), |d| d.name.clone())
            });
            let mut words = Vec::new();
            if rt.kind != resocket_core::criu::route::RouteType::Unicast {
                words.push(rt.kind.word().to_string());
            }
            words.push(rt.dst_text());
            if let Some(g) = rt.gateway {
                words.push(format!("via {g}"));
            }
            if let Some(d) = dev {
                words.push(format!("dev {d}"));
            }
            if let Some(src) = rt.prefsrc {
                words.push(format!("src {src}"));
            }
            if let Some(m) = rt.priority {
                words.push(format!("metric {m}"));
            }
            if rt.multipath {
                words.push("multipath".into());
            }
            let _ = writeln!(out, "  netns {:<4} {}", r.ns, words.join(" "));
        }
    }
    for n in &cp.netns {
        let ext = n.ext_key.as_ref().map_or_else(String::new, |k| {
            format!(", external (key {k}): CRIU saved none of its devices, addresses or routes")
        });
        let ids: Vec<String> = n.nsids.iter().map(|(ns, id)| format!("netns {ns} = nsid {id}")).collect();
        let ids = if ids.is_empty() { "none".to_string() } else { ids.join(", ") };
        let _ = writeln!(out, "\nnetns {} (netns-{}.img): ids it gives other namespaces: {ids}{ext}", n.ns, n.ns);
    }
}

/// `restore show` of CRIU input.
pub fn show_text(name: &str, c: &Criu) -> String {
    let mut out = format!("{name}: {}\n\n", summary_line(c));
    match &c.origin {
        Origin::Archive(a) => archive_text(&mut out, a),
        Origin::Directory { skipped } if !skipped.is_empty() => {
            let _ = writeln!(out, "not read:");
            for s in skipped {
                let _ = writeln!(out, "  {:<40} {:>12} B  {}", s.name, s.size, s.why.as_str());
            }
            out.push('\n');
        }
        _ => {}
    }
    let _ = writeln!(out, "images:");
    for f in &c.opened.files {
        let entries = if f.decoded || f.entry_count() > 0 {
            format!("{} entries", f.entry_count())
        } else {
            "not decoded".into()
        };
        let _ = writeln!(out, "  {:<28} {:<14} {:>10} B  {entries}", f.name, f.magic_name(), f.bytes.len());
    }
    addresses_text(&mut out, c);
    network_text(&mut out, c);
    let _ = writeln!(out, "\nsockets (mapped onto resocket's model):");
    out.push_str(&sockets_text(c));
    let (_, notes) = c.opened.to_scenario();
    if !notes.is_empty() {
        let _ = writeln!(out, "\nnotes (what CRIU did not record, or the mapping onto resocket's model cannot carry):");
        for n in &notes {
            let _ = writeln!(out, "  {}", crate::input::note_line(n));
        }
    }
    if !c.opened.diagnostics.is_empty() {
        let _ = writeln!(out, "\ndiagnostics:");
        for d in &c.opened.diagnostics {
            let _ = writeln!(out, "  {d}");
        }
    }
    out
}

fn diagnostic_json(d: &Diagnostic) -> Value {
    json!({
        "code": d.code.as_str(),
        "severity": d.severity,
        "file": d.file,
        "entry": d.record,
        "offset": d.range.start,
        "end": d.range.end,
        "field": d.field,
        "message": d.message,
        "help": d.help(),
    })
}

fn archive_json(a: &Archive) -> Value {
    json!({
        "compression": a.compression,
        "layout": a.layout,
        "container": a.container,
        "members": a.members,
        "unpacked": a.unpacked,
        "warnings": a.warnings.iter().map(ToString::to_string).collect::<Vec<_>>(),
    })
}

/// `restore show --json` of CRIU input.
pub fn show_json(c: &Criu) -> Value {
    let (errors, warnings) = counts(c);
    let (sc, notes) = c.opened.to_scenario();
    let origin = match &c.origin {
        Origin::Directory { skipped } => json!({
            "kind": "directory",
            "skipped": skipped.iter().map(|s| json!({"name": s.name, "size": s.size, "why": s.why.as_str()})).collect::<Vec<_>>(),
        }),
        Origin::Image => json!({ "kind": "image" }),
        Origin::Archive(a) => {
            let mut v = archive_json(a);
            if let Value::Object(m) = &mut v {
                m.insert("kind".into(), json!("archive"));
            }
            v
        }
    };
    json!({
        "format": "criu",
        "summary": summary_line(c),
        "valid": errors == 0,
        "errors": errors,
        "warnings": warnings,
        "origin": origin,
        "images": c.opened.files.iter().map(|f| json!({
            "name": f.name,
            "magic": f.magic_name(),
            "size": f.bytes.len(),
            "entries": f.entry_count(),
            "decoded": f.decoded,
        })).collect::<Vec<_>>(),
        "addresses": c.opened.checkpoint.ifaddrs,
        "devices": c.opened.checkpoint.netdevs,
        "routes": c.opened.checkpoint.routes,
        "netns": c.opened.checkpoint.netns,
        "host_ns": c.opened.host_ns(),
        "scenario": sc,
        "notes": notes,
        "diagnostics": c.opened.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

/// One CRIU diagnostic in the rustc-like layout of `restore check`.
pub fn diagnostic_text(name: &str, c: &Criu, d: &Diagnostic) -> String {
    let mut out = format!("{}[{}]: {}\n", sev(d), d.code, d.message);
    let gutter = 8;
    let file = d.file.as_deref();
    let bytes = file.and_then(|f| c.opened.files.iter().find(|x| x.name == f)).map(|f| f.bytes.as_slice());
    let mut at = String::new();
    if let Some(e) = d.record {
        let _ = write!(at, "entry {e}");
    }
    if let Some(f) = &d.field {
        let _ = write!(at, "{}field {f}", if at.is_empty() { "" } else { ", " });
    }
    let at = if at.is_empty() { String::new() } else { format!(" ({at})") };
    // A directory's file as a path; an archive's as ARCHIVE:MEMBER; one image as itself.
    let path = match (file, &c.origin) {
        (Some(f), Origin::Directory { .. }) => format!("{}/{f}", name.trim_end_matches('/')),
        (Some(f), Origin::Archive(a)) => match &a.layout {
            Layout::Container => format!("{name}:checkpoint/{f}"),
            Layout::Bare { dir } if dir.is_empty() => format!("{name}:{f}"),
            Layout::Bare { dir } => format!("{name}:{dir}/{f}"),
        },
        _ => name.to_string(),
    };
    let _ = writeln!(out, "{:>gutter$}--> {path} @ {:#x}..{:#x}{at}", "", d.range.start, d.range.end);
    if let Some(bytes) = bytes.filter(|b| !b.is_empty()) {
        let _ = writeln!(out, "{:>gutter$} |", "");
        out.push_str(&hex_excerpt(bytes, d.range.clone(), gutter));
    }
    let _ = writeln!(out, "{:>gutter$} |", "");
    let _ = writeln!(out, "{:>gutter$} = help: {}", "", d.help());
    out
}

/// `restore check` of CRIU input, and whether it is valid.
pub fn check_text(name: &str, c: &Criu) -> (String, bool) {
    let mut out = String::new();
    for d in &c.opened.diagnostics {
        out.push_str(&diagnostic_text(name, c, d));
        out.push('\n');
    }
    if let Origin::Archive(a) = &c.origin {
        for w in &a.warnings {
            let _ = writeln!(out, "warning: {w}\n");
        }
    }
    let (errors, _) = counts(c);
    let _ = writeln!(out, "{name}: {}", summary_line(c));
    (out, errors == 0)
}

/// `restore check --json` of CRIU input.
pub fn check_json(c: &Criu) -> Value {
    let (errors, warnings) = counts(c);
    let archive_warnings: Vec<String> = match &c.origin {
        Origin::Archive(a) => a.warnings.iter().map(ToString::to_string).collect(),
        _ => Vec::new(),
    };
    json!({
        "archive_warnings": archive_warnings,
        "format": "criu",
        "valid": errors == 0,
        "errors": errors,
        "warnings": warnings,
        "summary": summary_line(c),
        "diagnostics": c.opened.diagnostics.iter().map(diagnostic_json).collect::<Vec<_>>(),
    })
}

/// `restore decode` of CRIU input: crit's JSON. One image file (`--file NAME`, or an input
/// that is one image) prints as `crit decode` prints it; a directory or archive as an object
/// keyed by file name.
pub fn decode(c: &Criu, file: Option<&str>) -> Result<Value, CliError> {
    let all = c.opened.crit_json();
    let single = match (file, &c.origin) {
        (Some(f), _) => Some(f.to_string()),
        (None, Origin::Image) => c.opened.files.first().map(|f| f.name.clone()),
        (None, _) => None,
    };
    let Some(name) = single else { return Ok(all) };
    match all.get(&name) {
        Some(v) => Ok(v.clone()),
        None => {
            let known: Vec<&str> = c.opened.files.iter().map(|f| f.name.as_str()).collect();
            let why = if known.contains(&name.as_str()) {
                "is not an image resocket decodes".to_string()
            } else {
                format!("is not in the checkpoint (its images: {})", known.join(", "))
            };
            Err(CliError { message: format!("--file {name}: {why}"), code: EXIT_USAGE })
        }
    }
}
