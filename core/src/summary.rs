//! Plain-text views of a loaded image: the one-line summary (like `crit info`), the socket
//! table, and the diagnostics list used by golden files. Shared by the CLI, the fixture goldens
//! and the web inspector.

use crate::image::{Image, Report, Sock};
pub use crate::sock::Role;
use crate::sock::{PeerFact, RoleFacts};
use crate::wire::{self, *};
use std::fmt::Write as _;

/// Symbolic name of a value in a symbol table, or the number.
pub fn sym_name(table: &[(u64, &'static str)], v: u64) -> String {
    table.iter().find(|(k, _)| *k == v).map_or_else(|| v.to_string(), |(_, n)| (*n).to_string())
}

/// Short type name: `stream`, `dgram`, `seqpacket` (or `typeN`).
pub fn type_name(t: u16) -> String {
    crate::sim::SockType::from_raw(t).map_or_else(|| format!("type{t}"), |t| t.word().into())
}

/// Short family name: `unix`, `inet`, `inet6` (or `afN`).
pub fn family_name(f: u16) -> String {
    crate::sock::Family::from_raw(f).map_or_else(|| format!("af{f}"), |f| f.word().into())
}

/// The role a socket plays ([`Role`]). Looks through every listener's pending connections: for
/// all the sockets of an image use [`roles`].
pub fn role(img: &Image<'_>, s: &Sock<'_>) -> Role {
    let is_embryo = |o| img.sockets.values().any(|l| l.pending.iter().any(|p| p.embryo == o));
    role_with(s, &is_embryo, &|s| crate::image::inet::peer_of(img, s))
}

/// [`role`] of every socket, in `img.sockets` order, with the embryos and the INET peers
/// ([`crate::image::inet::peers`]) found once (instead of a scan of the image per socket).
pub fn roles(img: &Image<'_>) -> Vec<Role> {
    let embryos = img.embryos();
    let peers = crate::image::inet::peers(img);
    img.sockets.values().map(|s| role_with(s, &|o| embryos.contains(&o), &|s| peers.get(&s.objref).copied())).collect()
}

/// The [`RoleFacts`] of an image's socket: what its records say (`peer_of`: an INET socket's
/// peer by address, `image::inet`'s one rule).
fn role_with(s: &Sock<'_>, is_embryo: &dyn Fn(i32) -> bool, peer_of: &dyn Fn(&Sock<'_>) -> Option<i32>) -> Role {
    let pending = is_embryo(s.objref);
    let facts = if s.inet.is_some() {
        let peer = if !s.inet_connected() {
            PeerFact::None
        } else {
            match peer_of(s) {
                Some(p) if p == s.objref => PeerFact::Itself,
                Some(p) if is_embryo(p) => PeerFact::Embryo,
                Some(_) => PeerFact::Socket,
                None => PeerFact::Outside,
            }
        };
        RoleFacts {
            listening: s.common.state == TCP_LISTEN && s.is_tcp(),
            pending,
            peer,
            targeted: false,
            bound: s.common.state == TCP_CLOSE && s.inet_local().is_some_and(|a| a.port() != 0),
        }
    } else {
        let u = s.unix.as_ref();
        let established = s.common.state == TCP_ESTABLISHED;
        let peer = match u {
            Some(u) if established && u.peer == s.objref => PeerFact::Itself,
            Some(u) if established && u.has(UNIX_PEER_GONE) => PeerFact::Closed,
            Some(u) if established && is_embryo(u.peer) => PeerFact::Embryo,
            Some(u) if established && u.peer != 0 => PeerFact::Socket,
            _ => PeerFact::None,
        };
        // A record ESTABLISHED without a peer: the target of another socket's one-way connect.
        let targeted = established && peer == PeerFact::None;
        RoleFacts { listening: s.common.state == TCP_LISTEN, pending, peer, targeted, bound: false }
    };
    Role::of(&facts)
}

/// Name of a socket for display: the UNIX name, or `addr:port` for INET.
pub fn sock_name(s: &Sock<'_>) -> String {
    if let Some(u) = &s.unix {
        return u.laddr.display();
    }
    if let Some(a) = s.inet_local() {
        return a.to_string(); // a.b.c.d:port, [v6]:port
    }
    "-".into()
}

/// One-line summary, like `crit info`.
pub fn summary_line(report: &Report<'_>) -> String {
    let img = &report.image;
    let mut by_type = std::collections::BTreeMap::<String, usize>::new();
    for s in img.sockets.values() {
        *by_type.entry(format!("{} {}", family_name(s.common.family), type_name(s.common.sock_type))).or_default() += 1;
    }
    let types: Vec<String> = by_type.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let msgs: usize = img.sockets.values().map(|s| s.queue.len()).sum();
    let bytes: usize = img.sockets.values().map(Sock::queued_bytes).sum();
    let pending: usize = img.sockets.values().map(|s| s.pending.len()).sum();
    let fds: usize = img.tables.iter().map(|t| t.fds.len()).sum();
    let verdict = if report.is_valid() { "valid" } else { "INVALID" };
    format!(
        "{} bytes, {} records, {} sockets ({}), {} tasks, {} fds, {} queued messages ({} bytes), {} pending connections; {} ({} errors, {} warnings)",
        img.size,
        img.record_count,
        img.sockets.len(),
        if types.is_empty() { "none".to_string() } else { types.join(", ") },
        img.tables.len(),
        fds,
        msgs,
        bytes,
        pending,
        verdict,
        report.error_count(),
        report.warning_count()
    )
}

/// A table of sockets, one per line, in objref order.
pub fn socket_table(img: &Image<'_>) -> String {
    let holders = img.fd_holders();
    let inet_peers = crate::image::inet::peers(img);
    let roles = roles(img);
    let mut out = String::new();
    let _ = writeln!(out, "objref  family type       role            name                             peer  fds        queue      pending  shutdown");
    for (s, role) in img.sockets.values().zip(roles) {
        let fds = holders
            .get(&s.objref)
            .map(|v| {
                v.iter()
                    .map(|(t, fd)| {
                        let pid = img.tables.get(*t).and_then(|t| t.pid).unwrap_or(0);
                        format!("{pid}:{fd}")
                    })
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_else(|| "-".into());
        let queue = if s.queue.is_empty() { "-".into() } else { format!("{}m/{}B", s.queue.len(), s.queued_bytes()) };
        let pending =
            if s.is_listener() { format!("{}/{}", s.pending.len(), s.effective_backlog() + 1) } else { "-".into() };
        let shutdown = match s.common.shutdown {
            0 => "-",
            1 => "rd",
            2 => "wr",
            3 => "rdwr",
            _ => "?",
        };
        let peer = match (s.peer(), inet_peers.get(&s.objref)) {
            (0, Some(p)) => p.to_string(),
            (0, None) if s.inet_connected() => "ext".to_string(),
            (0, None) => "-".to_string(),
            (p, _) => p.to_string(),
        };
        let _ = writeln!(
            out,
            "{:<7} {:<6} {:<10} {:<15} {:<32} {:<5} {:<10} {:<10} {:<8} {}",
            s.objref,
            family_name(s.common.family),
            type_name(s.common.sock_type),
            role,
            sock_name(s),
            peer,
            fds,
            queue,
            pending,
            shutdown
        );
    }
    out
}

/// Diagnostics, one per line: `severity[code] @offset message`.
pub fn diagnostics_list(report: &Report<'_>) -> String {
    let mut out = String::new();
    for d in &report.diagnostics {
        let sev = match d.severity {
            crate::Severity::Error => "error",
            crate::Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{sev}[{}] @{:#x}..{:#x} {}", d.code, d.range.start, d.range.end, d.message);
    }
    out
}

/// The record containing byte `offset`, as (index, record).
pub fn record_at(bytes: &[u8], offset: usize) -> Option<(usize, wire::Record<'_>)> {
    wire::Records::new(bytes).map_while(Result::ok).enumerate().find(|(_, r)| r.range().contains(&offset))
}
