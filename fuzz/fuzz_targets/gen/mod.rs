//! Structure-aware inputs shared by the `edit` and `plan` targets: scenarios built from the
//! fuzzer's bytes with `arbitrary::Unstructured`, either by a sequence of editor operations
//! (`edit::apply`) from a fixture scenario or an empty one, or directly as socket specs whose
//! names, addresses and roles are drawn from small alphabets (so references mostly resolve and
//! the writer and validator see real socket graphs rather than parse errors).
#![allow(dead_code)]

use libfuzzer_sys::arbitrary::{Result, Unstructured};
use resocket_core::edit::Edit;
use resocket_core::scenario::{MsgSpec, PendingSpec, Scenario, SockSpec, TaskSpec};
use resocket_core::sim::{How, SockType};
use resocket_core::sock::Family;

/// The valid fixture scenarios (`fixtures/src/valid`, without `many-1000`: a thousand sockets
/// make every execution slow without reaching more code).
pub const SEEDS: &[&str] = &[
    include_str!("../../../fixtures/src/valid/abstract-name.json"),
    include_str!("../../../fixtures/src/valid/autobind.json"),
    include_str!("../../../fixtures/src/valid/backlog0-pending.json"),
    include_str!("../../../fixtures/src/valid/buffers.json"),
    include_str!("../../../fixtures/src/valid/dgram-fan-in.json"),
    include_str!("../../../fixtures/src/valid/dgram-one-way.json"),
    include_str!("../../../fixtures/src/valid/dgram-pair.json"),
    include_str!("../../../fixtures/src/valid/dgram-self-connect.json"),
    include_str!("../../../fixtures/src/valid/inet-external.json"),
    include_str!("../../../fixtures/src/valid/inet-half-closed.json"),
    include_str!("../../../fixtures/src/valid/inet-listener.json"),
    include_str!("../../../fixtures/src/valid/inet-loopback.json"),
    include_str!("../../../fixtures/src/valid/inet6-listeners.json"),
    include_str!("../../../fixtures/src/valid/listener-pending.json"),
    include_str!("../../../fixtures/src/valid/multi-task.json"),
    include_str!("../../../fixtures/src/valid/path-name.json"),
    include_str!("../../../fixtures/src/valid/peer-closed-data.json"),
    include_str!("../../../fixtures/src/valid/pending-client-closed.json"),
    include_str!("../../../fixtures/src/valid/relative-path.json"),
    include_str!("../../../fixtures/src/valid/scm-rights.json"),
    include_str!("../../../fixtures/src/valid/seqpacket-listener.json"),
    include_str!("../../../fixtures/src/valid/seqpacket-pair.json"),
    include_str!("../../../fixtures/src/valid/shutdown-before-connect.json"),
    include_str!("../../../fixtures/src/valid/shutdown-rd.json"),
    include_str!("../../../fixtures/src/valid/shutdown-rdwr.json"),
    include_str!("../../../fixtures/src/valid/shutdown-wr.json"),
    include_str!("../../../fixtures/src/valid/stream-pair.json"),
    include_str!("../../../fixtures/src/valid/udp.json"),
    include_str!("../../../fixtures/src/valid/unconnected.json"),
    include_str!("../../../fixtures/src/valid/unlinked-path.json"),
];

/// Names for new sockets (a small set, so later edits name them again).
const NEW_NAMES: &[&str] = &["n1", "n2", "n3", "n4", "n5", "n6"];

/// AF_UNIX names: paths, relative, abstract (the empty abstract name too).
const UNIX_ADDRS: &[&str] = &["@a", "@b", "/tmp/fz/a.sock", "/tmp/fz/b.sock", "rel/c.sock", "@"];

/// INET addresses of the loopback host and of no host, wildcards, v4-mapped, ephemeral port 0,
/// link-local and multicast.
const INET_ADDRS: &[&str] = &[
    "127.0.0.1:0",
    "127.0.0.1:8080",
    "127.0.0.2:8080",
    "0.0.0.0:8080",
    "0.0.0.0:0",
    "10.1.2.3:80",
    "[::1]:0",
    "[::1]:8080",
    "[::]:8080",
    "[::]:0",
    "[::ffff:127.0.0.1]:8080",
    "[::ffff:0.0.0.0]:8080",
    "[fe80::1]:80",
    "[ff02::1]:80",
    "127.0.0.1:32768",
    "127.0.0.1:60999",
];

/// Spellings no bind accepts.
const BAD_ADDRS: &[&str] = &["", "@\\x00z", "\\q", "not an address"];

/// Any address: mostly one of the socket's family (`unix`), sometimes of the other or broken.
fn addr(u: &mut Unstructured<'_>, unix: bool) -> Result<String> {
    Ok(match u.int_in_range(0u8..=15)? {
        0 => u.arbitrary::<String>()?,
        1 => u.choose(BAD_ADDRS)?.to_string(),
        2 if unix => u.choose(INET_ADDRS)?.to_string(),
        2 => u.choose(UNIX_ADDRS)?.to_string(),
        _ if unix => u.choose(UNIX_ADDRS)?.to_string(),
        _ => u.choose(INET_ADDRS)?.to_string(),
    })
}

const DATA: &[&str] = &["x", "", "hello", "\\x00\\xff", "GET / HTTP/1.1\\x0d\\x0a"];

/// Families, AF_UNIX twice as often.
const FAMILIES: &[Family] = &[Family::Unix, Family::Unix, Family::Inet, Family::Inet6];

/// A socket name: mostly one of the scenario's, sometimes a new one, rarely anything.
fn name(u: &mut Unstructured<'_>, sc: &Scenario) -> Result<String> {
    Ok(match u.int_in_range(0u8..=15)? {
        0..=10 if !sc.sockets.is_empty() => u.choose(&sc.sockets)?.name.clone(),
        11 => u.arbitrary::<String>()?,
        _ => u.choose(NEW_NAMES)?.to_string(),
    })
}

fn pick(u: &mut Unstructured<'_>, from: &[&str]) -> Result<String> {
    Ok(if u.ratio(1u8, 16)? { u.arbitrary::<String>()? } else { u.choose(from)?.to_string() })
}

/// One editor operation, its operands drawn mostly from the scenario's own sockets.
pub fn edit(u: &mut Unstructured<'_>, sc: &Scenario) -> Result<Edit> {
    Ok(match u.int_in_range(0u8..=9)? {
        0 => Edit::AddSocket {
            name: name(u, sc)?,
            family: *u.choose(FAMILIES)?,
            ty: *u.choose(&SockType::ALL)?,
        },
        1 => Edit::RemoveSocket { name: name(u, sc)? },
        2 => {
            let name = name(u, sc)?;
            let unix = sc.sockets.iter().find(|s| s.name == name).is_none_or(|s| s.family == Family::Unix);
            Edit::Bind { addr: addr(u, unix)?, name }
        }
        3 => Edit::Listen { name: name(u, sc)?, backlog: u.int_in_range(-2i16..=5)? },
        4 => Edit::Pair { a: name(u, sc)?, b: name(u, sc)? },
        5 => Edit::Connect { client: name(u, sc)?, server: name(u, sc)? },
        6 => Edit::Accept { listener: name(u, sc)?, name: name(u, sc)? },
        7 => Edit::Send {
            from: name(u, sc)?,
            to: if u.arbitrary()? { Some(name(u, sc)?) } else { None },
            data: pick(u, DATA)?,
        },
        8 => Edit::Shutdown { name: name(u, sc)?, how: *u.choose(&How::ALL)? },
        _ => Edit::DropMessage { name: name(u, sc)?, index: u.int_in_range(0usize..=3)? },
    })
}

/// The scenario an edit sequence starts from: empty, or one of the fixtures.
pub fn start(u: &mut Unstructured<'_>) -> Result<Scenario> {
    let k = u.int_in_range(0..=SEEDS.len())?;
    Ok(SEEDS.get(k).and_then(|s| Scenario::from_json(s).ok()).unwrap_or_default())
}

/// A start scenario and up to 32 edits applied to it; refused edits leave it as it was.
pub fn edited(u: &mut Unstructured<'_>) -> Result<Scenario> {
    let mut sc = start(u)?;
    for _ in 0..u.int_in_range(0u8..=32)? {
        let e = edit(u, &sc)?;
        if let Ok(next) = resocket_core::edit::apply(&sc, &e) {
            sc = next;
        }
    }
    Ok(sc)
}

const SPEC_NAMES: &[&str] = &["a", "b", "c", "d", "e", "f"];

/// One of the first `n` spec names (the sockets of the scenario being written).
fn spec_name(u: &mut Unstructured<'_>, n: usize) -> Result<String> {
    Ok(u.choose(&SPEC_NAMES[..n.clamp(1, SPEC_NAMES.len())])?.to_string())
}

fn opt_name(u: &mut Unstructured<'_>, n: usize) -> Result<Option<String>> {
    Ok(if u.ratio(1u8, 3)? { Some(spec_name(u, n)?) } else { None })
}

fn msg(u: &mut Unstructured<'_>, n: usize) -> Result<MsgSpec> {
    let mut m = MsgSpec { from: opt_name(u, n)?, ..MsgSpec::default() };
    match u.int_in_range(0u8..=3)? {
        0 => m.data = Some(pick(u, DATA)?),
        1 => m.hex = Some(pick(u, &["00", "ff00", "zz"])?),
        // Up to 300 KB: above the default buffers, so the planner's buffer raises are reached.
        2 => m.repeat = Some(u.int_in_range(0u32..=300_000)?),
        _ => {}
    }
    if u.ratio(1u8, 6)? {
        m.rights = vec![spec_name(u, n)?];
    }
    // The out-of-band byte (`RS_OOB`): valid on a one-byte message of an AF_UNIX stream queue,
    // a socket's or a pending connection's.
    if u.ratio(1u8, 8)? {
        m.oob = true;
        if u.arbitrary()? {
            (m.data, m.hex, m.repeat) = (Some("X".to_string()), None, None);
        }
    }
    Ok(m)
}

fn spec(u: &mut Unstructured<'_>, name: &str, n: usize) -> Result<SockSpec> {
    let family = *u.choose(FAMILIES)?;
    let mut s = SockSpec {
        name: name.to_string(),
        ty: *u.choose(&SockType::ALL)?,
        family,
        ..SockSpec::default()
    };
    let unix = s.family == Family::Unix;
    if u.arbitrary()? {
        s.addr = Some(addr(u, unix)?);
    }
    // Options of the other family make the writer refuse the scenario: rarely.
    let other = u.ratio(1u8, 16)?;
    if (unix || other) && u.ratio(1u8, 8)? {
        s.cwd = Some(pick(u, &["/tmp", "/", "rel"])?);
    }
    if unix || other {
        s.autobind = u.ratio(1u8, 8)?;
        s.unlinked = u.ratio(1u8, 8)?;
    }
    if u.ratio(1u8, 3)? {
        s.listen = Some(u.int_in_range(-1i16..=4)?);
        for _ in 0..u.int_in_range(0u8..=3)? {
            let client = opt_name(u, n)?;
            let sent = if u.ratio(1u8, 3)? { vec![msg(u, n)?] } else { Vec::new() };
            s.pending.push(PendingSpec { client, sent });
        }
    }
    s.peer = opt_name(u, n)?;
    if u.ratio(1u8, 4)? {
        s.pair = Some(spec_name(u, n)?);
    }
    if u.ratio(1u8, 5)? {
        s.accepted_from = Some(spec_name(u, n)?);
    }
    s.peer_gone = (unix || other) && u.ratio(1u8, 10)?;
    s.external_peer = u.ratio(1u8, 10)?;
    // The outside peer of an AF_UNIX dgram socket: a name the host may have (the plan target's
    // outside receivers), or one that no host can (relative).
    if unix && s.external_peer && s.ty == SockType::Dgram && u.arbitrary()? {
        s.remote = Some(pick(u, &["/run/outside.sock", "@outside", "@out\\x00side", "rel.sock"])?);
    }
    if !unix || other {
        if s.external_peer && u.arbitrary()? {
            s.remote = Some(pick(u, &["10.0.0.1:443", "[2001:db8::1]:443", "127.0.0.1:1"])?);
        }
        s.reuseaddr = u.ratio(1u8, 6)?;
        s.reuseport = u.ratio(1u8, 8)?;
        s.v6only = u.ratio(1u8, 8)?;
    }
    if u.ratio(1u8, 4)? {
        s.shutdown = Some(*u.choose(&How::ALL)?);
    }
    if u.ratio(1u8, 6)? {
        s.sndbuf = Some(u.int_in_range(0i32..=500_000)?);
    }
    if u.ratio(1u8, 6)? {
        s.rcvbuf = Some(u.int_in_range(0i32..=500_000)?);
    }
    s.sndbuf_lock = u.ratio(1u8, 10)?;
    s.rcvbuf_lock = u.ratio(1u8, 10)?;
    s.nonblock = u.ratio(1u8, 6)?;
    s.passcred = u.ratio(1u8, 6)?;
    for _ in 0..u.int_in_range(0u8..=3)? {
        s.queue.push(msg(u, n)?);
    }
    s.no_fd = u.ratio(1u8, 10)?;
    Ok(s)
}

/// A scenario written directly: 1 to 6 sockets named from `a`…`f`, roles and references drawn
/// from the same names, sometimes with explicit tasks.
pub fn direct(u: &mut Unstructured<'_>) -> Result<Scenario> {
    let n = u.int_in_range(1usize..=SPEC_NAMES.len())?;
    let mut sc = Scenario { kernel: "6.18.44".into(), ..Scenario::default() };
    for name in &SPEC_NAMES[..n] {
        sc.sockets.push(spec(u, name, n)?);
    }
    if u.ratio(1u8, 5)? {
        for pid in [1000, 1001] {
            let mut t = TaskSpec { pid, fds: Default::default(), cloexec: Vec::new() };
            for _ in 0..u.int_in_range(0u8..=4)? {
                t.fds.insert(u.int_in_range(0i32..=8)?, spec_name(u, n)?);
            }
            if u.arbitrary()? {
                t.cloexec.push(u.int_in_range(0i32..=8)?);
            }
            sc.tasks.push(t);
        }
    }
    Ok(sc)
}

/// Every name the scenario refers to is one of its sockets (what `edit::apply` promises of an
/// accepted edit); the first dangling reference otherwise.
pub fn dangling(sc: &Scenario) -> Option<String> {
    let known = |n: &str| sc.sockets.iter().any(|s| s.name == n);
    let msg_refs = |m: &MsgSpec| m.from.iter().chain(m.rights.iter()).cloned().collect::<Vec<_>>();
    for s in &sc.sockets {
        let mut refs: Vec<String> = [&s.peer, &s.pair, &s.accepted_from].into_iter().flatten().cloned().collect();
        for p in &s.pending {
            refs.extend(p.client.iter().cloned());
            p.sent.iter().for_each(|m| refs.extend(msg_refs(m)));
        }
        s.queue.iter().for_each(|m| refs.extend(msg_refs(m)));
        if let Some(r) = refs.into_iter().find(|r| !known(r)) {
            return Some(format!("{:?} names {r:?}", s.name));
        }
    }
    for t in &sc.tasks {
        if let Some((fd, n)) = t.fds.iter().find(|(_, n)| !known(n)) {
            return Some(format!("pid {} fd {fd} names {n:?}", t.pid));
        }
    }
    None
}
