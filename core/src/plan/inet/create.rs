//! INET phase Create: TCP/UDP sockets made, their options and buffers; and the warnings for
//! what cannot be restored.

use super::*;

impl<'i, 'a> Planner<'i, 'a> {
    /// Decide the connections and create the sockets that `socket()` makes.
    pub(super) fn inet_create(&mut self) -> Result<(), PlanError> {
        self.inet.unbound = self.unavailable();
        self.inet.mute = self.mute();
        let all = peers(self.img);
        self.inet.matched = rebuilt_peers(self.img, &self.k.host);
        let matched = self.inet.matched.clone();
        self.warn_unavailable(&all);
        let pending_of: BTreeMap<i32, i32> = order::map(
            self.img
                .sockets
                .values()
                .filter(|l| is_inet(l))
                .flat_map(|l| l.pending.iter().map(move |p| (p.embryo, l.objref))),
        );
        self.inet.conns = self.tcp_pairs(&matched, &pending_of);
        let servers: std::collections::BTreeSet<i32> = order::set(self.inet.conns.iter().map(|c| c.1));
        self.warn_pending_external(&servers, &pending_of, &all);
        for s in self.inet_socks() {
            if servers.contains(&s.objref) || pending_of.contains_key(&s.objref) {
                continue; // made by accept() (or waiting in a queue; or lost with its connection)
            }
            self.inet_socket(s, &all)?;
        }
        Ok(())
    }

    /// The TCP connections to rebuild, as (client, server, the listener the server was
    /// accepted from): each pair of `matched` ends once, the server end decided; accepted
    /// connections first, then pending ones (`pending_of`: embryo → listener) in their
    /// listeners' accept order.
    fn tcp_pairs(&self, matched: &BTreeMap<i32, i32>, pending_of: &BTreeMap<i32, i32>) -> Vec<(i32, i32, Option<i32>)> {
        // Listener objrefs as slots: the map type of `temp_listeners` (one B-tree instance fewer
        // in the browser's bundle); `as` there and back keeps every i32.
        let mut listener_at: BTreeMap<SocketAddr, Slot> = BTreeMap::new();
        for s in self.inet_socks() {
            if s.is_tcp() && s.is_listener() {
                if let Some(l) = s.inet_local() {
                    listener_at.insert(canonical(l), s.objref as Slot);
                }
            }
        }
        let listener_for = |a: &Sock<'_>| -> Option<i32> {
            if let Some(&l) = pending_of.get(&a.objref) {
                return Some(l);
            }
            let l = canonical(a.inet_local()?);
            let any: IpAddr = if l.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
            listener_at
                .get(&l)
                .or_else(|| listener_at.get(&SocketAddr::new(any, l.port())))
                .or_else(|| listener_at.get(&SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), l.port())))
                .map(|&l| l as i32)
        };
        let mut conns = Vec::new();
        let mut seen = std::collections::BTreeSet::new();
        for s in self.inet_socks() {
            if !s.is_tcp() || !s.inet_connected() || seen.contains(&s.objref) {
                continue;
            }
            let Some(&p) = matched.get(&s.objref) else { continue };
            let Some(ps) = self.sock(p) else { continue };
            if p == s.objref || matched.get(&p) != Some(&s.objref) {
                continue;
            }
            seen.insert(s.objref);
            seen.insert(p);
            // The server end: an embryo, a socket flagged ACCEPTED, one on a listener's address;
            // else the lower objref (a temporary listener serves it).
            let server_first = |a: &Sock<'_>| {
                pending_of.contains_key(&a.objref) || a.inet_has(INET_ACCEPTED) || listener_for(a).is_some()
            };
            let (server, client) = if server_first(s) && !pending_of.contains_key(&p) {
                (s, ps)
            } else if server_first(ps) {
                (ps, s)
            } else {
                (s, ps)
            };
            conns.push((client.objref, server.objref, listener_for(server).filter(|&l| l != server.objref)));
        }
        // Accepted connections first, then pending ones in their listeners' accept order.
        let pos = |e: i32| -> usize {
            pending_of
                .get(&e)
                .and_then(|l| self.sock(*l))
                .and_then(|l| l.pending.iter().position(|p| p.embryo == e))
                .map_or(0, |i| i + 1)
        };
        order::sort_by_rank(&mut conns, |&(_, server, _)| {
            order::rank_pair(u64::from(pending_of.contains_key(&server)), pos(server) as u64)
        });
        conns
    }

    /// A warning for each pending connection whose client is outside the image.
    fn warn_pending_external(
        &mut self,
        servers: &std::collections::BTreeSet<i32>,
        pending_of: &BTreeMap<i32, i32>,
        all: &BTreeMap<i32, i32>,
    ) {
        for (&e, &l) in pending_of {
            if !servers.contains(&e) && !all.contains_key(&e) && !self.inet.unbound.contains_key(&l) {
                let from =
                    self.sock(e).and_then(|e| e.inet_remote()).map_or_else(|| "?".to_string(), |r| r.to_string());
                self.plan.warnings.push(
                    Warning::new(
                        WarnCode::PendingExternal,
                        format!(
                            "pending connection #{e} on listener #{l} came from {from}, outside the image: it cannot be rebuilt and is lost"
                        ),
                    )
                    .objref(l),
                );
            }
        }
    }

    /// Create one TCP/UDP socket that `socket()` makes, with its options (and a UDP socket's
    /// buffers); a warning when its peer is outside the image (`all`: the peers matched).
    fn inet_socket(&mut self, s: &'i Sock<'a>, all: &BTreeMap<i32, i32>) -> Result<(), PlanError> {
        let slot = s.objref as Slot;
        let ty = if s.is_tcp() { SockType::Stream } else { SockType::Dgram };
        let created_at = self.plan.steps.len();
        self.push(Op::SocketInet { slot, family: family(s), ty }, "create the socket")?;
        self.created.insert(s.objref);
        if s.common.reuse != 0 {
            self.push(Op::SetSockOpt { slot, opt: SockOpt::ReuseAddr(true) }, "SO_REUSEADDR was set")?;
        }
        if s.inet_has(INET_REUSEPORT) {
            self.push(Op::SetSockOpt { slot, opt: SockOpt::ReusePort(true) }, "SO_REUSEPORT was set")?;
        }
        if s.inet_has(INET_V6ONLY) {
            self.push(Op::SetSockOpt { slot, opt: SockOpt::V6Only(true) }, "IPV6_V6ONLY was set")?;
        }
        if s.is_udp() {
            self.inet_buffers(s)?;
        }
        // A UDP socket connected outside the image is connected again after its refill, where
        // the model says the connect works (`inet_dgram_connects`).
        if s.is_tcp() && s.inet_connected() && !all.contains_key(&s.objref) {
            let peer = s.inet_remote().map_or_else(|| "?".to_string(), |r| r.to_string());
            let lost = s.queued_bytes();
            let message = format!(
                "socket #{} was a TCP connection to {peer}, outside the image: it cannot be rebuilt, so it is restored as a closed socket (never connected: reads answer ENOTCONN, writes EPIPE){}",
                s.objref,
                if lost > 0 { format!("; its {lost} unread bytes are dropped") } else { String::new() }
            );
            let w = Warning::new(WarnCode::TcpExternalPeer, message).objref(s.objref).step(created_at);
            self.plan.warnings.push(w);
        }
        Ok(())
    }

    /// One warning per socket whose address this host does not have, saying what is lost; and
    /// one per socket connected to such a socket.
    fn warn_unavailable(&mut self, all: &BTreeMap<i32, i32>) {
        self.warn_mute(all);
        if self.inet.unbound.is_empty() {
            return;
        }
        let host: Vec<String> = self.k.host.addrs.iter().map(|h| format!("{}/{}", h.ip, h.prefix)).collect();
        let host = if host.is_empty() { "none".to_string() } else { host.join(", ") };
        let embryo_of: BTreeMap<i32, i32> =
            order::map(self.inet_socks().iter().flat_map(|l| l.pending.iter().map(move |p| (p.embryo, l.objref))));
        let mut warnings = Vec::new();
        for s in self.inet_socks() {
            let o = s.objref;
            if let Some(e) = self.inet.unbound.get(&o) {
                if embryo_of.get(&o).is_some_and(|l| self.inet.unbound.contains_key(l)) {
                    continue; // said with its listener
                }
                warnings.push(address_missing(s, e, embryo_of.contains_key(&o), all.get(&o), &host));
            } else if let Some(p) = all.get(&o).filter(|p| self.inet.unbound.contains_key(p)) {
                warnings.push(peer_address_missing(s, *p, embryo_of.contains_key(&o)));
            }
        }
        self.plan.warnings.extend(warnings);
    }

    /// One warning per socket bound to a broadcast or multicast address (bound, no traffic
    /// followed), saying what is lost (`all`: the peers matched).
    fn warn_mute(&mut self, all: &BTreeMap<i32, i32>) {
        let mute: Vec<Warning> = self
            .inet_socks()
            .into_iter()
            .filter(|s| self.inet.mute.contains(&s.objref))
            .map(|s| {
                let addr = s.inet_local().map_or_else(|| "?".to_string(), |l| l.to_string());
                let mut lost = Vec::new();
                if let Some(p) = all.get(&s.objref) {
                    lost.push(format!("its connection to #{p} is not rebuilt"));
                }
                if s.queued_bytes() > 0 {
                    lost.push(format!("its {} queued bytes are dropped", s.queued_bytes()));
                }
                Warning::new(
                    WarnCode::InetAddressMute,
                    format!(
                        "socket #{}: {addr} is a broadcast or multicast address: the socket is bound there, but the model follows no traffic to or from it{}",
                        s.objref,
                        lost.iter().map(|l| format!("; {l}")).collect::<String>()
                    ),
                )
                .objref(s.objref)
            })
            .collect();
        self.plan.warnings.extend(mute);
    }
}

/// `inet-address-missing`: socket `s`'s address is not this host's (`e`: bind()'s errno,
/// `host`: the host's addresses); what it loses (an embryo: the pending connection; `peer`: the
/// peer matched).
fn address_missing(s: &Sock<'_>, e: &Errno, embryo: bool, peer: Option<&i32>, host: &str) -> Warning {
    let o = s.objref;
    let addr = s.inet_local().map_or_else(|| "?".to_string(), |l| l.to_string());
    let mut lost = Vec::new();
    if s.is_listener() {
        lost.push("not listening".to_string());
        if !s.pending.is_empty() {
            lost.push(format!("its {} pending connections are lost", s.pending.len()));
        }
    } else if s.inet_connected() && s.is_tcp() {
        lost.push(match peer {
            Some(p) => {
                format!("its connection to #{p} cannot be rebuilt: it is restored as a closed socket (never connected)")
            }
            None => "restored as a closed socket (never connected)".to_string(),
        });
    } else if s.inet_connected() {
        lost.push("unconnected".to_string());
    }
    let q = s.queued_bytes();
    if q > 0 {
        lost.push(format!("its {q} queued bytes are dropped"));
    }
    let what = if embryo {
        format!("pending connection #{o} on {addr} is lost (this host cannot make it)")
    } else {
        format!("left unbound{}", lost.iter().map(|l| format!(", {l}")).collect::<String>())
    };
    Warning::new(
        WarnCode::InetAddressMissing,
        format!("socket #{o}: {addr} is not an address of this host (bind() would fail with {e}; the host has {host}): {what}"),
    )
    .objref(o)
}

/// `inet-peer-address-missing`: socket `s` (an embryo, or not) was connected to `p`, whose
/// address is not this host's.
fn peer_address_missing(s: &Sock<'_>, p: i32, embryo: bool) -> Warning {
    let o = s.objref;
    let addr = s.inet_local().map_or_else(|| "?".to_string(), |l| l.to_string());
    let peer = s.inet_remote().map_or_else(|| "?".to_string(), |r| r.to_string());
    if embryo {
        return Warning::new(
            WarnCode::InetPeerAddressMissing,
            format!("pending connection #{o} on {addr} came from #{p} at {peer}, which is not an address of this host: it is lost"),
        )
        .objref(o);
    }
    let q = s.queued_bytes();
    Warning::new(
        WarnCode::InetPeerAddressMissing,
        format!(
            "socket #{o} was connected to #{p} at {peer}, which is not an address of this host: {}{}",
            if s.is_tcp() {
                "it is restored as a closed socket bound to its own address (never connected)"
            } else {
                "it is restored bound but unconnected"
            },
            if q > 0 && s.is_tcp() { format!("; its {q} unread bytes are dropped") } else { String::new() }
        ),
    )
    .objref(o)
}
