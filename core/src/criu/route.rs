//! `route-N.img` and `route6-N.img`: a network namespace's routes, as CRIU saves them. CRIU runs
//! `ip route save` and `ip -6 route save` in the namespace (criu/net.c `dump_route`; the main
//! table, iproute2's default for `save`) and writes their output raw (framing:
//! [`super::rtnl`]); `criu restore` feeds them to `ip route restore`. A message is an
//! `RTM_NEWROUTE`: an `rtmsg` (family, destination prefix length, source prefix length, tos,
//! table, protocol, scope, type: 8 bytes, then a u32 of flags) and `rtattr`s, of which
//! `RTA_DST`, `RTA_OIF`, `RTA_GATEWAY`, `RTA_PRIORITY`, `RTA_PREFSRC`, `RTA_TABLE` and
//! `RTA_MULTIPATH` (its presence) are read. Layouts: `include/uapi/linux/rtnetlink.h`.
//!
//! [`Route::host_route`] makes a route what the simulator's host model holds
//! ([`crate::sim::HostRoute`]), so a destination that no route covers is `ENETUNREACH` there,
//! as on the restored host.

use super::ifaddr::{ip_attr, too_short, AddrFamily};
use super::rtnl::{attrs, Dump, NlError};
use crate::sim::HostRoute;
use serde::Serialize;
use std::net::IpAddr;

/// `sizeof(struct rtmsg)`.
pub const RTMSG_LEN: usize = 12;
const RTA_DST: u16 = 1;
const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const RTA_PRIORITY: u16 = 6;
const RTA_PREFSRC: u16 = 7;
const RTA_MULTIPATH: u16 = 9;
const RTA_TABLE: u16 = 15;
/// `RT_TABLE_MAIN`.
pub const RT_TABLE_MAIN: u32 = 254;

/// `rtm_type` (`RTN_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RouteType {
    /// `RTN_UNSPEC`
    Unspec,
    /// `RTN_UNICAST`: a gateway or direct route.
    Unicast,
    /// `RTN_LOCAL`: an address of this host.
    Local,
    /// `RTN_BROADCAST`
    Broadcast,
    /// `RTN_ANYCAST`
    Anycast,
    /// `RTN_MULTICAST`
    Multicast,
    /// `RTN_BLACKHOLE`: dropped silently.
    Blackhole,
    /// `RTN_UNREACHABLE`
    Unreachable,
    /// `RTN_PROHIBIT`
    Prohibit,
    /// `RTN_THROW`: the lookup goes on in another table.
    Throw,
    /// `RTN_NAT`
    Nat,
    /// `RTN_XRESOLVE`
    Xresolve,
    /// Any other value (kept).
    Other(u8),
}

impl RouteType {
    /// The type of an `rtm_type` value.
    pub fn of(v: u8) -> RouteType {
        match v {
            0 => RouteType::Unspec,
            1 => RouteType::Unicast,
            2 => RouteType::Local,
            3 => RouteType::Broadcast,
            4 => RouteType::Anycast,
            5 => RouteType::Multicast,
            6 => RouteType::Blackhole,
            7 => RouteType::Unreachable,
            8 => RouteType::Prohibit,
            9 => RouteType::Throw,
            10 => RouteType::Nat,
            11 => RouteType::Xresolve,
            v => RouteType::Other(v),
        }
    }
    /// `ip route`'s word for it (`unicast` is printed as nothing there).
    pub fn word(self) -> &'static str {
        match self {
            RouteType::Unspec => "unspec",
            RouteType::Unicast => "unicast",
            RouteType::Local => "local",
            RouteType::Broadcast => "broadcast",
            RouteType::Anycast => "anycast",
            RouteType::Multicast => "multicast",
            RouteType::Blackhole => "blackhole",
            RouteType::Unreachable => "unreachable",
            RouteType::Prohibit => "prohibit",
            RouteType::Throw => "throw",
            RouteType::Nat => "nat",
            RouteType::Xresolve => "xresolve",
            RouteType::Other(_) => "other",
        }
    }
}

/// One route: an `RTM_NEWROUTE` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Route {
    /// `rtm_family`.
    pub family: AddrFamily,
    /// `RTA_DST` (`None`: the default route, `0.0.0.0/0` or `::/0`).
    pub dst: Option<IpAddr>,
    /// `rtm_dst_len`.
    pub dst_len: u8,
    /// `rtm_type`.
    #[serde(rename = "type")]
    pub kind: RouteType,
    /// The table: `RTA_TABLE`, else `rtm_table`.
    pub table: u32,
    /// `rtm_protocol` (`RTPROT_*`: 2 kernel, 3 boot, 4 static).
    pub protocol: u8,
    /// `rtm_scope` (`RT_SCOPE_*`: 0 universe, 253 link, 254 host).
    pub scope: u8,
    /// `RTA_OIF`: the output interface.
    pub oif: Option<u32>,
    /// `RTA_GATEWAY`.
    pub gateway: Option<IpAddr>,
    /// `RTA_PREFSRC`: the preferred source address.
    pub prefsrc: Option<IpAddr>,
    /// `RTA_PRIORITY`: the metric.
    pub priority: Option<u32>,
    /// `RTA_MULTIPATH` is present (its next hops are not read).
    pub multipath: bool,
}

impl Route {
    /// Read an `RTM_NEWROUTE` body (the bytes after the `nlmsghdr`: `rtmsg` and attributes);
    /// `base` is its offset in the file, for the errors.
    pub fn parse(body: &[u8], base: usize) -> Result<Route, NlError> {
        let Some(h) = body.get(..RTMSG_LEN) else {
            return Err(too_short(Dump::Route, body, base));
        };
        let family = AddrFamily::of(h[0]);
        let mut r = Route {
            family,
            dst: None,
            dst_len: h[1],
            kind: RouteType::of(h[7]),
            table: u32::from(h[4]),
            protocol: h[5],
            scope: h[6],
            oif: None,
            gateway: None,
            prefsrc: None,
            priority: None,
            multipath: false,
        };
        for at in attrs(body, base, RTMSG_LEN)? {
            match at.ty {
                RTA_DST => r.dst = ip_attr(&at, family, "RTA_DST")?,
                RTA_GATEWAY => r.gateway = ip_attr(&at, family, "RTA_GATEWAY")?,
                RTA_PREFSRC => r.prefsrc = ip_attr(&at, family, "RTA_PREFSRC")?,
                RTA_OIF => r.oif = Some(at.u32("RTA_OIF")?),
                RTA_PRIORITY => r.priority = Some(at.u32("RTA_PRIORITY")?),
                RTA_TABLE => r.table = at.u32("RTA_TABLE")?,
                RTA_MULTIPATH => r.multipath = true,
                _ => {}
            }
        }
        Ok(r)
    }

    /// `ip route`'s spelling of the destination: `default`, `10.0.0.0/24`, `2001:db8::/64`.
    pub fn dst_text(&self) -> String {
        match (self.dst, self.dst_len) {
            (None, 0) => "default".into(),
            (Some(ip), n) => format!("{ip}/{n}"),
            (None, n) => format!("?/{n}"),
        }
    }

    /// The route as the host model holds it (`None` for a family that is not IP, or a
    /// destination that is not of its family).
    pub fn host_route(&self) -> Option<HostRoute> {
        let unspecified = match self.family {
            AddrFamily::Inet => IpAddr::from(std::net::Ipv4Addr::UNSPECIFIED),
            AddrFamily::Inet6 => IpAddr::from(std::net::Ipv6Addr::UNSPECIFIED),
            AddrFamily::Unknown(_) => return None,
        };
        let dst = self.dst.unwrap_or(unspecified);
        if dst.is_ipv4() != unspecified.is_ipv4() {
            return None;
        }
        Some(HostRoute {
            dst,
            prefix: self.dst_len,
            unicast: self.kind == RouteType::Unicast,
            oif: self.oif.unwrap_or(0),
            gateway: self.gateway,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criu::rtnl::{head, Messages};
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn attr(ty: u16, p: &[u8]) -> Vec<u8> {
        let mut a = ((4 + p.len()) as u16).to_le_bytes().to_vec();
        a.extend_from_slice(&ty.to_le_bytes());
        a.extend_from_slice(p);
        while !a.len().is_multiple_of(4) {
            a.push(0);
        }
        a
    }

    fn msg(rtmsg: [u8; 8], attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut body = rtmsg.to_vec();
        body.extend_from_slice(&[0; 4]);
        for a in attrs {
            body.extend_from_slice(a);
        }
        let mut m = ((16 + body.len()) as u32).to_le_bytes().to_vec();
        m.extend_from_slice(&24u16.to_le_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend(body);
        m
    }

    #[test]
    fn routes_and_their_checks() {
        let mut f = Dump::Route.magic().to_le_bytes().to_vec();
        f.extend(msg(
            [2, 24, 0, 0, 254, 3, 0, 1],
            &[
                attr(RTA_TABLE, &254u32.to_le_bytes()),
                attr(RTA_DST, &[192, 168, 7, 0]),
                attr(RTA_GATEWAY, &[10, 0, 0, 1]),
            ],
        ));
        f.extend(msg([2, 0, 0, 0, 254, 4, 0, 7], &[attr(RTA_OIF, &3u32.to_le_bytes())]));
        let pos = head(&f, Dump::Route).unwrap();
        let m: Vec<_> = Messages::new(&f, pos, Dump::Route).collect::<Result<_, _>>().unwrap();
        let r: Vec<Route> = m.iter().map(|m| Route::parse(m.body, m.body_offset()).unwrap()).collect();
        assert_eq!(
            (r[0].dst_text(), r[0].gateway, r[0].kind, r[0].table),
            ("192.168.7.0/24".to_string(), Some("10.0.0.1".parse().unwrap()), RouteType::Unicast, 254)
        );
        assert_eq!((r[1].dst_text(), r[1].oif, r[1].kind), ("default".to_string(), Some(3), RouteType::Unreachable));
        let h = r[1].host_route().unwrap();
        assert_eq!((h.dst, h.prefix, h.unicast), ("0.0.0.0".parse().unwrap(), 0, false));
        // An address message is not a route; an ifaddr magic is not a route dump's.
        let mut g = f.clone();
        g[8] = 20;
        assert!(matches!(Messages::new(&g, 4, Dump::Route).next(), Some(Err(NlError::WrongType { ty: 20, .. }))));
        assert!(head(&Dump::Addr.magic().to_le_bytes(), Dump::Route).is_err());
        // nlmsg_len below nlmsghdr + rtmsg (28).
        let mut g = f.clone();
        g[4..8].copy_from_slice(&27u32.to_le_bytes());
        assert!(matches!(
            Messages::new(&g, 4, Dump::Route).next(),
            Some(Err(NlError::LengthTooShort { len: 27, need: 28, .. }))
        ));
        // A gateway of the wrong size; an RTA_OIF that is not 4 bytes.
        let bad = msg([2, 24, 0, 0, 254, 3, 0, 1], &[attr(RTA_GATEWAY, &[10, 0, 0])]);
        assert!(matches!(Route::parse(&bad[16..], 16), Err(NlError::BadAddrLen { attr: "RTA_GATEWAY", len: 3, .. })));
        let bad = msg([2, 24, 0, 0, 254, 3, 0, 1], &[attr(RTA_OIF, &[3, 0])]);
        assert!(matches!(Route::parse(&bad[16..], 16), Err(NlError::BadU32Len { attr: "RTA_OIF", len: 2, .. })));
    }
}
