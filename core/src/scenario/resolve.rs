//! From a scenario to the nodes the writer writes: each socket's family, name, flags and
//! options, then the links (pairs, peers, accepted sockets), the embryos of pending
//! connections, accepted INET sockets' addresses, and the queues.

use super::*;

/// The sockets by name, for lookups only (never iterated, so its order does not matter): a
/// hash map, not a B-tree of cloned names (a dump of 10,000 sockets compared names about half
/// a million times there).
pub(super) type Names<'s> = std::collections::HashMap<&'s str, usize>;

/// A task's pid and its `(fd, socket index, cloexec)` entries.
pub(super) type TaskFds = (i32, Vec<(i32, usize, bool)>);

/// The resolved role of one socket (embryos included).
#[derive(Debug, Clone)]
pub(super) struct Node {
    pub(super) family: u16,
    pub(super) ty: u16,
    pub(super) addr: Addr,
    pub(super) cwd: Option<Vec<u8>>,
    pub(super) flags: u32,
    pub(super) listen: Option<i16>,
    pub(super) peer: Option<usize>,
    pub(super) pair: bool,
    pub(super) embryo: bool,
    pub(super) shutdown: u8,
    pub(super) sndbuf: i32,
    pub(super) rcvbuf: i32,
    /// `sk_userlocks` (SNDBUF_LOCK, RCVBUF_LOCK).
    pub(super) userlocks: u8,
    /// FILE `f_flags` beyond `O_RDWR` (`O_NONBLOCK`).
    pub(super) f_flags: u32,
    /// SOCKET `socket_flags` (`SOCK_PASSCRED`).
    pub(super) socket_flags: u64,
    /// `RS_SOCKOPT` (none if empty).
    pub(super) opts: Vec<crate::sim::SockOpt>,
    pub(super) queue: Vec<(Option<usize>, Vec<u8>, Vec<usize>)>,
    /// `RS_OOB`: the queue's message sent with `MSG_OOB` (the last one marked wins, as the
    /// kernel's `oob_skb` does).
    pub(super) oob: Option<usize>,
    pub(super) pending: Vec<(usize, Option<usize>)>,
    pub(super) receiver: bool,
    /// INET: `rs_flags`, `sk_reuse`, an external peer's address, an explicit `addr`.
    pub(super) inet_flags: u16,
    pub(super) reuse: u32,
    pub(super) remote: Option<std::net::SocketAddr>,
    /// AF_UNIX dgram with an external peer: the outside peer's name (SOCKET_UNIX.raddr).
    pub(super) remote_unix: Option<crate::image::UnixAddr>,
    pub(super) explicit_addr: bool,
}

#[derive(Debug, Clone)]
pub(super) enum Addr {
    Unix(crate::image::UnixAddr),
    Inet(std::net::SocketAddr),
}

/// An INET address of a scenario: `a.b.c.d:port` or `[v6]:port`; for AF_INET6 an IPv4 address
/// stands for its v4-mapped form.
pub(super) fn parse_inet(family: u16, s: &str) -> Result<std::net::SocketAddr, String> {
    use std::net::{IpAddr, SocketAddr};
    let a: SocketAddr = s.parse().map_err(|_| format!("bad INET address {s:?} (a.b.c.d:port or [v6]:port)"))?;
    match (family, a.ip()) {
        (AF_INET, IpAddr::V4(_)) | (AF_INET6, IpAddr::V6(_)) => Ok(a),
        (AF_INET6, IpAddr::V4(v4)) => Ok(SocketAddr::new(IpAddr::V6(v4.to_ipv6_mapped()), a.port())),
        _ => Err(format!("{s:?} is an IPv6 address on an inet socket (use family inet6)")),
    }
}

/// The `remote` of an AF_UNIX socket: the name of the outside peer of a dgram `external_peer`,
/// an absolute path or an abstract name.
fn unix_remote(s: &SockSpec, r: &str) -> Result<crate::image::UnixAddr, ScenarioError> {
    let fail = |why: &str| Err(ScenarioError(format!("socket {:?}: {why}", s.name)));
    if !s.external_peer || s.ty != SockType::Dgram {
        return fail("an AF_UNIX remote is the outside name of a dgram external_peer");
    }
    match parse_addr(AF_UNIX, Some(r)) {
        Ok(Addr::Unix(a)) if a.outside_addr().is_some() => Ok(a),
        Ok(_) => fail("an AF_UNIX remote is an absolute path or an @abstract name"),
        Err(e) => fail(&e),
    }
}

pub(super) fn parse_addr(family: u16, s: Option<&str>) -> Result<Addr, String> {
    use crate::image::UnixAddr;
    if family != AF_UNIX {
        let Some(s) = s else {
            let any: std::net::IpAddr = if family == AF_INET6 {
                std::net::Ipv6Addr::UNSPECIFIED.into()
            } else {
                std::net::Ipv4Addr::UNSPECIFIED.into()
            };
            return Ok(Addr::Inet(std::net::SocketAddr::new(any, 0)));
        };
        return parse_inet(family, s).map(Addr::Inet);
    }
    Ok(Addr::Unix(match s {
        None => UnixAddr::Unnamed,
        Some(s) => {
            let b = bstr::unescape(s).map_err(|e| e.to_string())?;
            match b.split_first() {
                Some((b'@', rest)) => UnixAddr::Abstract(rest.into()),
                Some(_) if b.len() <= 108 && !b.contains(&0) => UnixAddr::Path(b.into()),
                _ => return Err(format!("bad AF_UNIX name {s:?}")),
            }
        }
    }))
}

impl Scenario {
    pub(super) fn tasks_or_default(&self, nodes: &[Node], names: &Names<'_>) -> Result<Vec<TaskFds>, ScenarioError> {
        if self.tasks.is_empty() {
            let fds = (0..self.sockets.len())
                .filter(|&i| !self.sockets[i].no_fd && !nodes[i].embryo)
                .enumerate()
                .map(|(k, i)| (3 + k as i32, i, false))
                .collect();
            return Ok(vec![(1000, fds)]);
        }
        let mut out = Vec::new();
        for t in &self.tasks {
            let mut fds = Vec::new();
            // A set, once per task: `contains` on the list made this quadratic (a dump of
            // 10,000 close-on-exec fds spent 3.5 ms here).
            let cloexec = crate::order::set(t.cloexec.iter().copied());
            for (&fd, name) in &t.fds {
                let &i = names
                    .get(name.as_str())
                    .ok_or_else(|| ScenarioError(format!("task {} fd {fd}: no socket {name:?}", t.pid)))?;
                fds.push((fd, i, cloexec.contains(&fd)));
            }
            out.push((t.pid, fds));
        }
        Ok(out)
    }

    /// Each socket's node, its links (pairs, peers, accepted sockets), the embryos of pending
    /// connections, accepted INET sockets' addresses and the queues; and the sockets by name.
    pub(super) fn resolve(&self) -> Result<(Vec<Node>, Names<'_>), ScenarioError> {
        let names = self.names()?;
        let mut nodes = self.sockets.iter().map(node_of).collect::<Result<Vec<_>, _>>()?;
        self.link(&names, &mut nodes)?;
        self.add_embryos(&names, &mut nodes)?;
        accepted_inet_addrs(&mut nodes);
        self.queues(&names, &mut nodes)?;
        Ok((nodes, names))
    }

    /// The sockets by name (each name once), after bounding the bytes `repeat` payloads make.
    fn names(&self) -> Result<Names<'_>, ScenarioError> {
        // `repeat` is the one payload spelling that is not bounded by the text's own length: a
        // few bytes of JSON per message can ask for 256 MiB each. Their sum is bounded before
        // anything is allocated.
        let repeated: u64 = self
            .sockets
            .iter()
            .flat_map(|s| s.queue.iter().chain(s.pending.iter().flat_map(|p| &p.sent)))
            .map(|m| u64::from(m.repeat.unwrap_or(0)))
            .sum();
        if repeated > MAX_REPEAT_TOTAL {
            return fail(format!(
                "the messages' repeat payloads total {repeated} bytes; at most {MAX_REPEAT_TOTAL} (256 MiB) in all"
            ));
        }
        let mut names = Names::with_capacity(self.sockets.len());
        for (i, s) in self.sockets.iter().enumerate() {
            if names.insert(s.name.as_str(), i).is_some() {
                return fail(format!("two sockets are named {:?}", s.name));
            }
        }
        Ok(names)
    }

    /// Pairs, peers and accepted sockets (which take their listener's name).
    fn link(&self, names: &Names<'_>, nodes: &mut [Node]) -> Result<(), ScenarioError> {
        for (i, s) in self.sockets.iter().enumerate() {
            if let Some(p) = &s.pair {
                let j = look(names, p, "pair", &s.name)?;
                if self.sockets[j].pair.as_deref() != Some(s.name.as_str()) {
                    return fail(format!("socket {:?} pairs with {p:?}, which does not pair back", s.name));
                }
                nodes[i].peer = Some(j);
                nodes[i].pair = true;
            }
            if let Some(p) = &s.peer {
                let j = look(names, p, "peer", &s.name)?;
                nodes[i].peer = Some(j);
                nodes[j].receiver = true;
            }
            if let Some(l) = &s.accepted_from {
                let j = look(names, l, "accepted_from", &s.name)?;
                nodes[i].flags |= UNIX_ACCEPTED;
                nodes[i].inet_flags |= INET_ACCEPTED;
                if nodes[i].family == AF_UNIX || !nodes[i].explicit_addr {
                    nodes[i].addr = nodes[j].addr.clone();
                    nodes[i].explicit_addr = false;
                }
                nodes[i].cwd = nodes[j].cwd.clone();
                nodes[i].flags &= !UNIX_LINKED;
            }
        }
        Ok(())
    }

    /// One new node per pending connection: the embryo, with the data its client sent.
    fn add_embryos(&self, names: &Names<'_>, nodes: &mut Vec<Node>) -> Result<(), ScenarioError> {
        // Embryos: one new node per pending connection.
        for (i, s) in self.sockets.iter().enumerate() {
            for p in &s.pending {
                let client = p.client.as_deref().map(|c| look(names, c, "pending client", &s.name)).transpose()?;
                if client.is_none() && nodes[i].family != AF_UNIX {
                    return fail(format!("socket {:?}: an INET pending connection needs its client", s.name));
                }
                let e = nodes.len();
                let mut embryo = nodes[i].clone();
                embryo.listen = None;
                embryo.inet_flags |= INET_ACCEPTED;
                embryo.explicit_addr = false;
                embryo.reuse = nodes[i].reuse;
                embryo.flags = nodes[i].flags & !UNIX_LINKED;
                embryo.peer = client;
                embryo.embryo = true;
                embryo.pending.clear();
                embryo.queue.clear();
                embryo.oob = None;
                embryo.opts.clear();
                if embryo.family == AF_UNIX {
                    // unix_stream_connect makes the embryo with unix_create1: the host's default
                    // buffers and no locks, not the listener's (a TCP child is sk_clone_lock's
                    // copy of its listener, buffers and locks included).
                    embryo.sndbuf = DEFAULT_BUF;
                    embryo.rcvbuf = DEFAULT_BUF;
                    embryo.userlocks = 0;
                }
                embryo.shutdown = if client.is_none() { SHUTDOWN_MASK } else { 0 };
                if client.is_none() {
                    embryo.flags |= UNIX_PEER_GONE;
                }
                for m in &p.sent {
                    let data = m.payload().map_err(|e| ScenarioError(format!("socket {:?} pending: {e}", s.name)))?;
                    let rights =
                        m.rights.iter().map(|r| look(names, r, "rights", &s.name)).collect::<Result<_, _>>()?;
                    if m.oob {
                        embryo.oob = Some(embryo.queue.len());
                    }
                    embryo.queue.push((client, data, rights));
                }
                nodes.push(embryo);
                if let Some(c) = client {
                    nodes[c].peer = Some(e);
                }
                nodes[i].pending.push((e, client));
            }
        }
        Ok(())
    }

    /// Each socket's queued messages (their sender, bytes and SCM_RIGHTS).
    fn queues(&self, names: &Names<'_>, nodes: &mut [Node]) -> Result<(), ScenarioError> {
        for (i, s) in self.sockets.iter().enumerate() {
            for m in &s.queue {
                let data = m.payload().map_err(|e| ScenarioError(format!("socket {:?}: {e}", s.name)))?;
                let from = match &m.from {
                    Some(f) => Some(look(names, f, "message sender", &s.name)?),
                    None => nodes[i].peer,
                };
                let rights = m.rights.iter().map(|r| look(names, r, "rights", &s.name)).collect::<Result<_, _>>()?;
                if m.oob {
                    nodes[i].oob = Some(nodes[i].queue.len());
                }
                nodes[i].queue.push((from, data, rights));
            }
        }
        Ok(())
    }
}

/// The socket named `n`, or the error that `who`'s `what` names no socket.
fn look(names: &Names<'_>, n: &str, what: &str, who: &str) -> Result<usize, ScenarioError> {
    names.get(n).copied().ok_or_else(|| ScenarioError(format!("socket {who:?}: {what} {n:?} does not exist")))
}

/// One socket's node before links: family, type, name, flags, options, buffers.
fn node_of(s: &SockSpec) -> Result<Node, ScenarioError> {
    let (family, ty) = (s.family.raw(), s.ty.raw());
    let addr = parse_addr(family, s.addr.as_deref()).map_err(|e| ScenarioError(format!("socket {:?}: {e}", s.name)))?;
    let mut seen = 0u32;
    for o in &s.opts {
        let Some(n) = o.recorded() else {
            return fail(format!(
                    "socket {:?}: opts holds {o:?}, which has a key of its own (sndbuf, rcvbuf, passcred, reuseaddr, reuseport, v6only)",
                    s.name
                ));
        };
        if seen & n.bit() != 0 {
            return fail(format!("socket {:?}: {} is in opts twice", s.name, n.c_name()));
        }
        seen |= n.bit();
    }
    let mut flags = 0;
    if matches!(&addr, Addr::Unix(crate::image::UnixAddr::Path(_))) && !s.unlinked {
        flags |= UNIX_LINKED;
    }
    if s.autobind {
        flags |= UNIX_AUTOBIND;
    }
    if s.peer_gone {
        flags |= UNIX_PEER_GONE;
    }
    if s.external_peer {
        flags |= UNIX_EXTERNAL_PEER;
    }
    let shutdown = s.shutdown.map_or(0, How::bits);
    if family != AF_UNIX && (s.peer_gone || s.autobind || s.unlinked || s.cwd.is_some()) {
        return fail(format!("socket {:?}: peer_gone, autobind, unlinked and cwd are AF_UNIX only", s.name));
    }
    if (s.reuseaddr || s.reuseport || s.v6only) && family == AF_UNIX {
        return fail(format!("socket {:?}: reuseaddr, reuseport and v6only are INET only", s.name));
    }
    let remote_unix = match &s.remote {
        Some(r) if family == AF_UNIX => Some(unix_remote(s, r)?),
        _ => None,
    };
    let remote = match s.remote.as_ref().filter(|_| family != AF_UNIX) {
        Some(r) if s.external_peer => {
            Some(parse_inet(family, r).map_err(|e| ScenarioError(format!("socket {:?}: {e}", s.name)))?)
        }
        Some(_) => return fail(format!("socket {:?}: remote is the address of an external_peer", s.name)),
        None if s.external_peer && family != AF_UNIX => {
            return fail(format!("socket {:?}: an INET external_peer needs its remote address", s.name))
        }
        None => None,
    };
    let mut inet_flags = 0;
    if s.reuseport {
        inet_flags |= INET_REUSEPORT;
    }
    // bind() to a plain IPv6 address makes the socket IPV6_V6ONLY (__inet6_bind).
    let plain_v6 = matches!(&addr, Addr::Inet(a) if matches!(a.ip(), std::net::IpAddr::V6(v6)
            if !v6.is_unspecified() && v6.to_ipv4_mapped().is_none()));
    if s.v6only || (plain_v6 && s.accepted_from.is_none()) {
        inet_flags |= INET_V6ONLY;
    }
    Ok(Node {
        inet_flags,
        reuse: u32::from(s.reuseaddr),
        remote,
        remote_unix,
        explicit_addr: s.addr.is_some(),
        family,
        ty,
        addr,
        cwd: s.cwd.as_ref().map(|c| c.as_bytes().to_vec()),
        flags,
        listen: s.listen,
        peer: None,
        pair: false,
        embryo: false,
        // A closing peer shuts a stream/seqpacket survivor down, never a dgram one (§1.6).
        shutdown: if s.peer_gone && ty != SOCK_DGRAM { SHUTDOWN_MASK } else { shutdown },
        sndbuf: s.sndbuf.unwrap_or(DEFAULT_BUF),
        rcvbuf: s.rcvbuf.unwrap_or(DEFAULT_BUF),
        userlocks: u8::from(s.sndbuf_lock) | (u8::from(s.rcvbuf_lock) << 1),
        f_flags: if s.nonblock { O_NONBLOCK } else { 0 },
        socket_flags: if s.passcred { SOCK_PASSCRED } else { 0 },
        opts: s.opts.clone(),
        queue: Vec::new(),
        oob: None,
        pending: Vec::new(),
        receiver: false,
    })
}

/// An accepted INET socket (or embryo) without its own addr: the listener's port on the
/// loopback address of its client's family (a wildcard listener accepts on the address the
/// client connected to).
fn accepted_inet_addrs(nodes: &mut [Node]) {
    for i in 0..nodes.len() {
        if nodes[i].family == AF_UNIX || nodes[i].explicit_addr || nodes[i].inet_flags & INET_ACCEPTED == 0 {
            continue;
        }
        let Addr::Inet(l) = nodes[i].addr else { continue };
        if !l.ip().is_unspecified() {
            continue;
        }
        let client_v4 = match nodes[i].peer.map(|p| &nodes[p].addr) {
            Some(Addr::Inet(c)) => {
                c.is_ipv4() || matches!(c.ip(), std::net::IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
            }
            _ => l.is_ipv4(),
        };
        let lo4 = std::net::Ipv4Addr::LOCALHOST;
        let ip: std::net::IpAddr = match (nodes[i].family == AF_INET6, client_v4) {
            (false, _) => lo4.into(),
            (true, true) => lo4.to_ipv6_mapped().into(),
            (true, false) => std::net::Ipv6Addr::LOCALHOST.into(),
        };
        nodes[i].addr = Addr::Inet(std::net::SocketAddr::new(ip, l.port()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn written(json: &str) -> Result<Vec<u8>, ScenarioError> {
        Scenario::from_json(json).and_then(|s| s.to_image())
    }

    /// Names are looked up, never iterated: a duplicate is the first one in scenario order, a
    /// reference to a missing socket names it, and a reference resolves to the named socket.
    #[test]
    fn sockets_are_found_by_name_and_the_first_duplicate_is_named() {
        let dup = r#"{"sockets": [{"name": "b", "type": "dgram"}, {"name": "a", "type": "dgram"},
            {"name": "b", "type": "dgram"}, {"name": "a", "type": "dgram"}]}"#;
        assert_eq!(written(dup), Err(ScenarioError("two sockets are named \"b\"".into())));
        let missing = r#"{"sockets": [{"name": "a", "type": "stream", "pair": "c"}, {"name": "b", "type": "stream"}]}"#;
        assert_eq!(written(missing), Err(ScenarioError("socket \"a\": pair \"c\" does not exist".into())));
        // The pair resolves to the socket named, whatever the order: the two images are the
        // same up to that order's objrefs, so both load as one socketpair.
        for order in [["a", "b", "c"], ["c", "b", "a"]] {
            let socks: Vec<String> = order
                .iter()
                .map(|n| match *n {
                    "a" => r#"{"name": "a", "type": "stream", "pair": "c"}"#.to_string(),
                    "c" => r#"{"name": "c", "type": "stream", "pair": "a"}"#.to_string(),
                    _ => r#"{"name": "b", "type": "stream"}"#.to_string(),
                })
                .collect();
            let sc = Scenario::from_json(&format!(r#"{{"sockets": [{}]}}"#, socks.join(","))).unwrap();
            let (bytes, objrefs) = sc.to_image_mapped().unwrap();
            let r = crate::load(&bytes);
            assert!(r.is_valid(), "{:?}", r.diagnostics);
            let at = |n: &str| order.iter().position(|x| *x == n).map(|i| objrefs[i]).unwrap();
            let peer_of = |o: i32| r.image.sockets.get(&o).and_then(|s| s.unix.as_ref()).map(|u| u.peer).unwrap();
            assert_eq!((peer_of(at("a")), peer_of(at("c"))), (at("c"), at("a")));
        }
    }
}
