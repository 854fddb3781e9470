//! The final simulated state of INET sockets against the image (`check::compare` calls
//! [`compare`]): what a restore of AF_INET/AF_INET6 sockets promises (plan/inet.rs).

use super::{Difference, Run};
use crate::image::inet::canonical;
use crate::image::Image;
use crate::plan::{on_host, rebuilt_peers, OnHost};
use crate::wire;

/// Differences for every AF_INET/AF_INET6 socket of the image that has an fd or a peer.
pub(super) fn compare(img: &Image<'_>, run: &Run<'_>) -> Vec<Difference> {
    let k = &run.kernel;
    let mut out = Vec::new();
    let embryos = img.embryos();
    // What plan/inet.rs does not rebuild on the run's host: sockets whose address it lacks
    // (left unbound) or that are bound to a broadcast or multicast address (no traffic).
    let off = |s: &crate::image::Sock<'_>| on_host(s, &k.host) != OnHost::Usable;
    let unbound = |s: &crate::image::Sock<'_>| matches!(on_host(s, &k.host), OnHost::Missing(_));
    let rebuilt = rebuilt_peers(img, &k.host);
    for s in
        img.sockets.values().filter(|s| s.inet.is_some() && matches!(s.common.family, wire::AF_INET | wire::AF_INET6))
    {
        let mut diff = |what: &str, expected: String, found: String| {
            if expected != found {
                out.push(Difference { objref: s.objref, what: what.into(), expected, found });
            }
        };
        if embryos.contains(&s.objref) {
            continue; // compared through its listener's queue
        }
        let Some(&r) = run.objref_sock.get(&s.objref) else {
            diff("exists", "yes".into(), "no".into());
            continue;
        };
        let (ks, ki) = (&k.socks[r], k.inet.get(&r));
        diff("alive", "yes".into(), if ks.dead { "closed".into() } else { "yes".into() });
        // The peer plan/inet.rs reconnects it to (itself, for a socket connected to itself).
        let peer = rebuilt.get(&s.objref).copied();
        let listening = s.is_listener() && !unbound(s);
        // A connection to a peer outside the image comes back closed (plan/inet.rs).
        let want_state =
            if s.inet_connected() && peer.is_none() && s.is_tcp() { wire::TCP_CLOSE } else { s.common.state };
        let want_state = if s.is_udp() && peer.is_none() { wire::TCP_CLOSE } else { want_state };
        let want_state = if s.is_listener() && !listening { wire::TCP_CLOSE } else { want_state };
        let tcp = |v: u8| crate::summary::sym_name(wire::sym::TCP, u64::from(v));
        diff("state", tcp(want_state), tcp(ks.state.raw()));
        let local = s.inet_local().map(canonical).filter(|l| l.port() != 0 && !unbound(s));
        if let Some(l) = local {
            let got = ki.and_then(|i| i.local).map(canonical);
            diff("address", l.to_string(), got.map_or("none".into(), |g| g.to_string()));
        }
        if peer.is_some() {
            let want = s.inet_remote().map(canonical);
            let got = ki.and_then(|i| i.remote).map(canonical);
            diff("peer address", format!("{want:?}"), format!("{got:?}"));
        }
        if listening {
            diff("backlog", s.effective_backlog().to_string(), ks.max_ack_backlog.to_string());
            // Those the plan rebuilds: the embryo and its client both on the host's addresses.
            let want: Vec<i32> = s
                .pending
                .iter()
                .filter(|p| [p.embryo, p.client].iter().all(|o| img.sockets.get(o).is_some_and(|x| !off(x))))
                .map(|p| p.client)
                .collect();
            let got: Vec<i32> = ks
                .queue
                .iter()
                .filter_map(|skb| skb.embryo)
                .map(|e| k.socks[e].peer.and_then(|c| run.objref_of(c)).unwrap_or(0))
                .collect();
            diff("pending clients", format!("{want:?}"), format!("{got:?}"));
        }
        if peer.is_some() || (s.is_udp() && !off(s)) {
            let data = |v: Vec<Vec<u8>>| -> String {
                if s.is_tcp() {
                    crate::bstr::escape(&v.concat())
                } else {
                    v.iter().map(|d| crate::bstr::escape(d)).collect::<Vec<_>>().join(" | ")
                }
            };
            diff(
                "queue",
                data(s.queue.iter().map(|m| m.data.to_vec()).collect()),
                data(ks.queue.iter().filter(|skb| skb.embryo.is_none()).map(|skb| skb.data.clone()).collect()),
            );
        }
        if peer.is_some() {
            diff("shutdown", s.common.shutdown.to_string(), ks.shutdown.to_string());
        }
        // Buffers as the plan restores them: UDP's, TCP's where SO_SNDBUF/SO_RCVBUF locked them.
        let locks = s.common.userlocks;
        if s.common.sndbuf > 0 && (s.is_udp() || locks & 1 != 0) {
            let want = (2 * i64::from(s.common.sndbuf)).max(crate::sim::kernel::SOCK_MIN_SNDBUF);
            diff("sndbuf", want.to_string(), ks.sndbuf.to_string());
        }
        if s.common.rcvbuf > 0 && (s.is_udp() || locks & 2 != 0) {
            let want = (2 * i64::from(s.common.rcvbuf)).max(crate::sim::kernel::SOCK_MIN_RCVBUF);
            diff("rcvbuf", want.to_string(), ks.rcvbuf.to_string());
        }
    }
    // Descriptors: checked for every family in check::compare.
    out
}
