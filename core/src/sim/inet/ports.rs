//! Ports: the bind-conflict rule (`inet_csk_bind_conflict`, `udp_lib_lport_inuse`), the
//! ephemeral choice, `bind()` and autobind of INET sockets.

use super::*;

/// `inet_rcv_saddr_equal(sk, sk2, match_wildcard = true)`: the classic overlap rule (UDP, and
/// TCP binds to a wildcard address).
pub(super) fn saddr_equal(sk: &InetSock, sk2: &InetSock) -> bool {
    // (A socket bound to a plain IPv6 address is IPV6_V6ONLY, set by bind, so it meets no IPv4
    // address; one that got its address from connect() is not, and does: LOOPBACK4_IPV6 against
    // an IPv4 wildcard. Both found by the differential test.)
    let v4_equal = || {
        let (a, b) = (sk.rcv4(), sk2.rcv4());
        a == b || a.is_unspecified() || b.is_unspecified()
    };
    if sk.family == InetFamily::Inet6 {
        let (t1, t2) = (class(sk.rcv6()), class(sk2.rcv6()));
        if t1 == V6Class::Mapped && t2 == V6Class::Mapped {
            return !sk2.v6only && v4_equal();
        }
        if t1 == V6Class::Any && t2 == V6Class::Any {
            return true;
        }
        if t2 == V6Class::Any && !(sk2.v6only && t1 == V6Class::Mapped) {
            return true;
        }
        if t1 == V6Class::Any && !(sk.v6only && t2 == V6Class::Mapped) {
            return true;
        }
        return sk2.rcv6().is_some() && sk.rcv6() == sk2.rcv6();
    }
    !sk2.v6only && v4_equal()
}

/// Whether binding `sk` (whose address is set) would share an address with `sk2` on the same
/// port, as TCP decides since 6.1 (bhash2): a wildcard `sk` uses the classic rule; a specific
/// one conflicts with the same address (IPv4 and v4-mapped alike) and with wildcard holders
/// that take its traffic (`inet_bind2_bucket_match_addr_any`; an AF_INET `sk` skips
/// IPV6_V6ONLY ones).
pub(super) fn tcp_overlap(sk: &InetSock, sk2: &InetSock) -> bool {
    if sk.is_wildcard() {
        return saddr_equal(sk, sk2);
    }
    let skip_v6only = sk.family == InetFamily::Inet && sk2.v6only;
    let same = match (v4_of(sk.ip()), v4_of(sk2.ip())) {
        (Some(a), Some(b)) => a == b,
        (None, None) => sk.ip() == sk2.ip(),
        _ => false,
    };
    if same {
        return !skip_v6only;
    }
    if !sk2.is_wildcard() {
        return false;
    }
    let sk_v6_plain = class(sk.rcv6()) == V6Class::Other;
    let holder_matches = match sk2.ip() {
        IpAddr::V6(v6) if v6.is_unspecified() => true,
        _ => !sk_v6_plain, // an IPv4 wildcard holder takes IPv4 and v4-mapped binds only
    };
    holder_matches && !skip_v6only
}

/// `inet_bind_conflict`: do the reuse options let `sk` share the port with `sk2` (whose address
/// overlaps)? `sk2_state` is `sk_state` (TIME_WAIT for a timewait socket).
pub(super) fn reuse_conflict(sk: &InetSock, sk2: &InetSock, sk2_state: SkState) -> bool {
    if sk.reuse && sk2.reuse && sk2_state != SkState::Listen {
        return false; // relax = true, reuseport_ok = true (inet_csk_get_port)
    }
    !(sk.reuseport && sk2.reuseport) // same uid: one restorer
}

/// Whether `me` (its local address set, as bind or listen would set it) conflicts with one of
/// `holders` — the other sockets of its protocol in the bind bucket of its port, each with its
/// `sk_state` — so that bind()/listen() fail with `EADDRINUSE` (`inet_csk_get_port` for TCP,
/// `udp_lib_lport_inuse` for UDP). The simulator's rule, shared with the scenario editor
/// (`edit.rs`).
pub fn bind_conflict<'s>(me: &InetSock, holders: impl IntoIterator<Item = (&'s InetSock, SkState)>) -> bool {
    holders.into_iter().any(|(sk2, state)| {
        if me.tcp {
            tcp_overlap(me, sk2) && reuse_conflict(me, sk2, state)
        } else {
            !((sk2.reuse && me.reuse) || (sk2.reuseport && me.reuseport)) && saddr_equal(me, sk2)
        }
    })
}

impl Kernel {
    /// Sockets in the bind buckets of `port` for one protocol (live, orphaned and TIME_WAIT),
    /// other than `r`.
    pub(super) fn port_holders(
        &self,
        tcp: bool,
        port: u16,
        r: SockRef,
    ) -> impl Iterator<Item = (SockRef, &InetSock)> + '_ {
        self.inet.iter().filter(move |&(o, i)| o != r && i.tcp == tcp && i.bound && i.port() == port)
    }

    /// Would `r`, with its local address set to `at`, conflict with a holder of that port?
    /// (`inet_csk_get_port` / `udp_lib_get_port` for an explicit port.)
    pub(super) fn port_conflict(&self, r: SockRef, at: SocketAddr) -> bool {
        let mut me = self.isk(r).clone();
        me.local = Some(at);
        bind_conflict(&me, self.port_holders(me.tcp, at.port(), r).map(|(o, sk2)| (sk2, self.socks[o].state)))
    }

    /// An ephemeral port for `r` at `ip`. DEVIATION: Linux starts at a random offset in
    /// `ip_local_port_range`; the model counts up from 32768 so runs are reproducible.
    pub(super) fn ephemeral(&mut self, r: SockRef, ip: IpAddr) -> Option<u16> {
        let (lo, hi) = EPHEMERAL_PORTS;
        let span = u32::from(hi - lo) + 1;
        for _ in 0..span {
            let p = if (lo..=hi).contains(&self.next_ephemeral) { self.next_ephemeral } else { lo };
            self.next_ephemeral = if p == hi { lo } else { p + 1 };
            let tcp = self.isk(r).tcp;
            // A port no socket of the protocol holds at all (Linux may share a port between
            // connections to different peers; choosing a free one is one of its choices).
            if self.port_holders(tcp, p, r).next().is_none() && !self.port_conflict(r, SocketAddr::new(ip, p)) {
                return Some(p);
            }
        }
        None
    }

    pub(super) fn inet_bind(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        let family = self.isk(r).family;
        let tcp = self.isk(r).tcp;
        let (fam, len) = addr_len(addr);
        let at = match (family, addr) {
            (InetFamily::Inet, SockAddr::Inet(a @ SocketAddr::V4(_))) => *a,
            (InetFamily::Inet6, SockAddr::Inet(a @ SocketAddr::V6(_))) => *a,
            // The executor passes no address for AF_UNSPEC (bind needs one).
            (_, SockAddr::Unspec) => return self.deny(Rule::InetAddressFamily, Errno::EINVAL),
            (InetFamily::Inet, _) => {
                // inet_bind: short → EINVAL; another family → EAFNOSUPPORT (AF_UNSPEC aside).
                let e = if len < 16 { Errno::EINVAL } else { Errno::EAFNOSUPPORT };
                return self.deny(Rule::InetAddressFamily, e);
            }
            (InetFamily::Inet6, _) => {
                let e = if len < 24 {
                    Errno::EINVAL
                } else if fam != 10 {
                    Errno::EAFNOSUPPORT
                } else {
                    Errno::EINVAL
                };
                return self.deny(Rule::InetAddressFamily, e);
            }
        };
        let bound = self.isk(r).port() != 0 || self.socks[r].state != SkState::Close;
        match at {
            SocketAddr::V4(_) => {
                // __inet_bind: the address must be local (or broadcast, multicast), then the
                // socket unbound and CLOSE.
                if let Err(e) = self.host.bind_refusal(at, tcp) {
                    return self.refuse(e);
                }
                if bound {
                    return self.deny(Rule::InetAlreadyBound, Errno::EINVAL);
                }
            }
            SocketAddr::V6(a6) => {
                // __inet6_bind: multicast on TCP, then the socket state, then the address.
                if a6.ip().is_multicast() && tcp {
                    return self.deny(Rule::TcpMulticastBind, Errno::EINVAL);
                }
                if bound {
                    return self.deny(Rule::InetAlreadyBound, Errno::EINVAL);
                }
                if a6.ip().to_ipv4_mapped().is_some() && self.isk(r).v6only {
                    return self.deny(Rule::V6OnlyRefusesV4Mapped, Errno::EINVAL);
                }
                // The v4-mapped address by the IPv4 rule, another one by ipv6_chk_addr (a
                // link-local one needs a scope id first).
                if let Err(e) = self.host.bind_refusal(at, tcp) {
                    return self.refuse(e);
                }
            }
        }
        let port = if at.port() == 0 {
            match self.ephemeral(r, at.ip()) {
                Some(p) => p,
                None => return self.deny(Rule::NoEphemeralPort, Errno::EADDRINUSE),
            }
        } else {
            if self.port_conflict(r, at) {
                return self.deny(Rule::PortInUse, Errno::EADDRINUSE);
            }
            at.port()
        };
        let i = self.isk_mut(r);
        i.local = Some(SocketAddr::new(at.ip(), port));
        i.bound = true;
        i.addr_locked = !i.is_wildcard();
        i.port_locked = at.port() != 0;
        if class(i.rcv6()) == V6Class::Other {
            // __inet6_bind: a plain IPv6 address makes the socket IPv6-only.
            i.v6only = true;
        }
        Outcome::ok(0)
    }

    /// Bind an ephemeral port if none is bound (`inet_autobind`, connect's `inet_hash_connect`).
    pub(super) fn autobind(&mut self, r: SockRef) -> Result<(), Errno> {
        if self.isk(r).port() != 0 {
            return Ok(());
        }
        let ip = self.isk(r).ip();
        let p = self.ephemeral(r, ip).ok_or(Errno::EAGAIN)?;
        let i = self.isk_mut(r);
        i.local = Some(SocketAddr::new(ip, p));
        i.bound = true;
        Ok(())
    }
}
