//! The final simulated state of INET sockets against the image (`check::compare` calls
//! [`compare`]): what a restore of AF_INET/AF_INET6 sockets promises (plan/inet.rs).

use super::{Difference, Run};
use crate::image::inet::canonical;
use crate::image::{Image, Sock};
use crate::plan::{on_host, rebuilt_peers, OnHost};
use crate::sim::{HostAddrs, SimSock};
use crate::wire;

/// Differences for every AF_INET/AF_INET6 socket of the image that has an fd or a peer.
pub(super) fn compare(img: &Image<'_>, run: &Run<'_>) -> Vec<Difference> {
    let mut out = Vec::new();
    let embryos = img.embryos();
    let rebuilt = rebuilt_peers(img, &run.kernel.host);
    for s in
        img.sockets.values().filter(|s| s.inet.is_some() && matches!(s.common.family, wire::AF_INET | wire::AF_INET6))
    {
        if embryos.contains(&s.objref) {
            continue; // compared through its listener's queue
        }
        // The peer plan/inet.rs reconnects it to (itself, for a socket connected to itself; a
        // UDP socket's outside peer where the model says the connect works: 0).
        let outside = crate::plan::outside_connect(s, &run.kernel.host).is_some_and(|o| o.is_ok());
        let peer = rebuilt.get(&s.objref).copied().or(outside.then_some(0));
        compare_socket(img, run, s, peer, &mut out);
    }
    // Descriptors: checked for every family in check::compare.
    out
}

/// What plan/inet.rs does not rebuild on the run's host: a socket whose address it lacks (left
/// unbound) or that is bound to a broadcast or multicast address (no traffic).
fn off(s: &Sock<'_>, host: &HostAddrs) -> bool {
    on_host(s, host) != OnHost::Usable
}

/// A socket whose address the run's host lacks: left unbound.
fn unbound(s: &Sock<'_>, host: &HostAddrs) -> bool {
    matches!(on_host(s, host), OnHost::Missing(_))
}

/// The image socket `s` against its simulated socket; `peer`: the one the plan reconnects it to.
fn compare_socket(img: &Image<'_>, run: &Run<'_>, s: &Sock<'_>, peer: Option<i32>, out: &mut Vec<Difference>) {
    let k = &run.kernel;
    let mut diff = |what: &str, expected: String, found: String| {
        if expected != found {
            out.push(Difference { objref: s.objref, what: what.into(), expected, found });
        }
    };
    let Some(&r) = run.objref_sock.get(&s.objref) else {
        diff("exists", "yes".into(), "no".into());
        return;
    };
    let (ks, ki) = (&k.socks[r], k.inet.get(&r));
    diff("alive", "yes".into(), if ks.dead { "closed".into() } else { "yes".into() });
    let listening = s.is_listener() && !unbound(s, &k.host);
    let tcp = |v: u8| crate::summary::sym_name(wire::sym::TCP, u64::from(v));
    diff("state", tcp(want_state(s, peer, listening)), tcp(ks.state.raw()));
    let local = s.inet_local().map(canonical).filter(|l| l.port() != 0 && !unbound(s, &k.host));
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
        let (want, got) = pending_clients(img, run, s, ks);
        diff("pending clients", format!("{want:?}"), format!("{got:?}"));
    }
    if peer.is_some() || (s.is_udp() && !off(s, &k.host)) {
        let (want, got) = queues(s, ks);
        diff("queue", want, got);
    }
    if peer.is_some() && s.is_tcp() {
        let (want, got) = urgent_marks(s, ks);
        diff("urgent mark", want, got);
    }
    if peer.is_some() {
        diff("shutdown", s.common.shutdown.to_string(), ks.shutdown.to_string());
    }
    buffers(s, ks, &mut diff);
}

/// The TCP state a restore leaves: a connection to a peer outside the image, a UDP socket with
/// no rebuilt peer and a listener left unbound come back closed (plan/inet.rs); the rest as
/// recorded.
fn want_state(s: &Sock<'_>, peer: Option<i32>, listening: bool) -> u8 {
    let closed = (s.inet_connected() && peer.is_none() && s.is_tcp())
        || (s.is_udp() && peer.is_none())
        || (s.is_listener() && !listening);
    if closed {
        wire::TCP_CLOSE
    } else {
        s.common.state
    }
}

/// A listener's pending clients, expected (those the plan rebuilds: the embryo and its client
/// both on the host's addresses) and found (each embryo's client, in queue order).
fn pending_clients(img: &Image<'_>, run: &Run<'_>, s: &Sock<'_>, ks: &SimSock) -> (Vec<i32>, Vec<i32>) {
    let k = &run.kernel;
    let want = s
        .pending
        .iter()
        .filter(|p| [p.embryo, p.client].iter().all(|o| img.sockets.get(o).is_some_and(|x| !off(x, &k.host))))
        .map(|p| p.client)
        .collect();
    let got = ks
        .queue
        .iter()
        .filter_map(|skb| skb.embryo)
        .map(|e| k.socks[e].peer.and_then(|c| run.objref_of(c)).unwrap_or(0))
        .collect();
    (want, got)
}

/// The data queue, expected and found, spelled as reads see it: TCP's bytes joined, UDP's
/// datagrams one by one.
fn queues(s: &Sock<'_>, ks: &SimSock) -> (String, String) {
    let data = |v: Vec<Vec<u8>>| -> String {
        if s.is_tcp() {
            crate::bstr::escape(&v.concat())
        } else {
            v.iter().map(|d| crate::bstr::escape(d)).collect::<Vec<_>>().join(" | ")
        }
    };
    (
        data(s.queue.iter().map(|m| m.data.to_vec()).collect()),
        data(ks.queue.iter().filter(|skb| skb.embryo.is_none()).map(|skb| skb.data.clone()).collect()),
    )
}

/// Where the urgent byte (RS_OOB) is, expected and found: the unread bytes before it and the
/// byte, or "none".
fn urgent_marks(s: &Sock<'_>, ks: &SimSock) -> (String, String) {
    let show =
        |at: Option<(usize, u8)>| at.map_or_else(|| "none".to_string(), |(n, b)| format!("{b:#04x} after {n} bytes"));
    let want = s.oob.and_then(|o| {
        let i = o.index as usize;
        let byte = *s.queue.get(i)?.data.first()?;
        Some((s.queue.iter().take(i).map(|m| m.data.len()).sum(), byte))
    });
    let skbs: Vec<_> = ks.queue.iter().filter(|skb| skb.embryo.is_none()).collect();
    let got = skbs.iter().position(|skb| skb.oob).and_then(|i| {
        let byte = *skbs[i].data.first()?;
        Some((skbs.iter().take(i).map(|skb| skb.data.len()).sum(), byte))
    });
    (show(want), show(got))
}

/// Buffers as the plan restores them: UDP's, TCP's where SO_SNDBUF/SO_RCVBUF locked them.
fn buffers(s: &Sock<'_>, ks: &SimSock, diff: &mut impl FnMut(&str, String, String)) {
    let locks = s.common.userlocks;
    if s.common.sndbuf > 0 && (s.is_udp() || locks & 1 != 0) {
        let want = crate::sim::kernel::forced_sndbuf(s.common.sndbuf);
        diff("sndbuf", want.to_string(), ks.sndbuf.to_string());
    }
    if s.common.rcvbuf > 0 && (s.is_udp() || locks & 2 != 0) {
        let want = crate::sim::kernel::forced_rcvbuf(s.common.rcvbuf);
        diff("rcvbuf", want.to_string(), ks.rcvbuf.to_string());
    }
}
