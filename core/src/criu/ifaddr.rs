//! `ifaddr-N.img`: a network namespace's interface addresses, as CRIU saves them: `ip addr
//! save`'s output (framing: [`super::rtnl`]), `RTM_NEWADDR` messages as `RTM_GETADDR` dumped
//! them. A message is an `ifaddrmsg` (family, prefix length, flags, scope, interface index:
//! 8 bytes) and `rtattr`s; `IFA_ADDRESS`, `IFA_LOCAL`, `IFA_LABEL`, `IFA_BROADCAST` and
//! `IFA_FLAGS` are read. Layouts: `include/uapi/linux/if_addr.h`.
//!
//! [`IfAddr::host_addr`] turns an address into what the simulator's host model needs
//! ([`crate::sim::HostAddr`]), with the broadcast addresses it gives the local routing table;
//! `restore/src/host.rs` reads the running host's addresses through the same function.

use super::rtnl::{attrs, u32_le, Attr, Dump, NlError, NLMSG_HDRLEN};
use crate::sim::HostAddr;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `sizeof(struct ifaddrmsg)`.
pub const IFADDRMSG_LEN: usize = 8;
pub(crate) const AF_INET: u8 = 2;
pub(crate) const AF_INET6: u8 = 10;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_LABEL: u16 = 3;
const IFA_BROADCAST: u16 = 4;
const IFA_FLAGS: u16 = 8;
/// `IFA_F_SECONDARY`.
pub const IFA_F_SECONDARY: u32 = 0x01;
/// `IFA_F_TENTATIVE`: duplicate address detection has not finished (`ipv6_chk_addr` refuses it).
pub const IFA_F_TENTATIVE: u32 = 0x40;
/// `IFF_UP`.
pub const IFF_UP: u32 = 0x1;
/// `IFF_LOOPBACK`.
pub const IFF_LOOPBACK: u32 = 0x8;

/// An address family of an `ifaddrmsg` or `rtmsg`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AddrFamily {
    /// `AF_INET`
    Inet,
    /// `AF_INET6`
    Inet6,
    /// Any other family (kept, not read).
    Unknown(u8),
}

impl AddrFamily {
    /// The family of an `ifa_family` value.
    pub fn of(v: u8) -> AddrFamily {
        match v {
            AF_INET => AddrFamily::Inet,
            AF_INET6 => AddrFamily::Inet6,
            v => AddrFamily::Unknown(v),
        }
    }
    /// The length of its addresses (`None`: not an IP family).
    pub(crate) fn addr_len(self) -> Option<usize> {
        match self {
            AddrFamily::Inet => Some(4),
            AddrFamily::Inet6 => Some(16),
            AddrFamily::Unknown(_) => None,
        }
    }
}

/// One address of an interface: an `RTM_NEWADDR` message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IfAddr {
    /// `ifa_family`.
    pub family: AddrFamily,
    /// `ifa_prefixlen`.
    pub prefix: u8,
    /// `ifa_flags`, or the 32-bit `IFA_FLAGS` attribute when present.
    pub flags: u32,
    /// `ifa_scope` (`RT_SCOPE_*`: 0 universe, 253 link, 254 host).
    pub scope: u8,
    /// `ifa_index`: the interface.
    pub ifindex: u32,
    /// `IFA_ADDRESS` (IPv4: the peer's on a point-to-point link; IPv6: the address).
    pub address: Option<IpAddr>,
    /// `IFA_LOCAL` (IPv4: the interface's own address).
    pub local: Option<IpAddr>,
    /// `IFA_BROADCAST`.
    pub broadcast: Option<Ipv4Addr>,
    /// `IFA_LABEL` (`eth0:1`).
    pub label: Option<String>,
}

/// The error for a message body shorter than its family header (`base`: the body's offset).
pub(crate) fn too_short(dump: Dump, body: &[u8], base: usize) -> NlError {
    NlError::LengthTooShort {
        dump,
        offset: base.saturating_sub(NLMSG_HDRLEN),
        len: u32::try_from(body.len() + NLMSG_HDRLEN).unwrap_or(u32::MAX),
        need: NLMSG_HDRLEN + dump.head_len(),
    }
}

/// An address attribute of a message of `family` (`None` for a family that is not IP).
pub(crate) fn ip_attr(at: &Attr<'_>, family: AddrFamily, name: &'static str) -> Result<Option<IpAddr>, NlError> {
    let Some(need) = family.addr_len() else { return Ok(None) };
    let p = at.payload;
    match (<[u8; 4]>::try_from(p), <[u8; 16]>::try_from(p)) {
        (Ok(b), _) if need == 4 => Ok(Some(IpAddr::V4(Ipv4Addr::from(b)))),
        (_, Ok(b)) if need == 16 => Ok(Some(IpAddr::V6(Ipv6Addr::from(b)))),
        _ => Err(NlError::BadAddrLen {
            offset: at.offset,
            attr: name,
            len: p.len(),
            need,
            family: if need == 4 { "IPv4" } else { "IPv6" },
        }),
    }
}

impl IfAddr {
    /// Read an `RTM_NEWADDR` body (the bytes after the `nlmsghdr`: `ifaddrmsg` and attributes);
    /// `base` is its offset in the file, for the errors.
    pub fn parse(body: &[u8], base: usize) -> Result<IfAddr, NlError> {
        let Some(h) = body.get(..IFADDRMSG_LEN) else {
            return Err(too_short(Dump::Addr, body, base));
        };
        let family = AddrFamily::of(h[0]);
        let mut a = IfAddr {
            family,
            prefix: h[1],
            flags: u32::from(h[2]),
            scope: h[3],
            ifindex: u32_le(h, 4).unwrap_or(0),
            address: None,
            local: None,
            broadcast: None,
            label: None,
        };
        for at in attrs(body, base, IFADDRMSG_LEN)? {
            let ip = |name: &'static str| ip_attr(&at, family, name);
            match at.ty {
                IFA_ADDRESS => a.address = ip("IFA_ADDRESS")?,
                IFA_LOCAL => a.local = ip("IFA_LOCAL")?,
                IFA_BROADCAST => {
                    if let Some(IpAddr::V4(b)) = ip("IFA_BROADCAST")? {
                        a.broadcast = Some(b);
                    }
                }
                IFA_LABEL => {
                    let s = at.payload.split(|&b| b == 0).next().unwrap_or(&[]);
                    a.label = Some(String::from_utf8_lossy(s).into_owned());
                }
                IFA_FLAGS => a.flags = at.u32("IFA_FLAGS")?,
                _ => {}
            }
        }
        Ok(a)
    }

    /// The interface's own address: IPv4 `IFA_LOCAL` (else `IFA_ADDRESS`), IPv6 `IFA_ADDRESS`.
    pub fn own(&self) -> Option<IpAddr> {
        match self.family {
            AddrFamily::Inet => self.local.or(self.address),
            AddrFamily::Inet6 => self.address,
            AddrFamily::Unknown(_) => None,
        }
    }

    /// A secondary address (not the first of its prefix on its interface).
    pub fn secondary(&self) -> bool {
        self.flags & IFA_F_SECONDARY != 0
    }

    /// The address as the host model holds it, on an interface with these `IFF_*` flags, and
    /// the broadcast addresses it adds to the local table (`fib_add_ifaddr`, on an interface
    /// that is up: the explicit one, and for a primary address of a prefix shorter than /31
    /// outside 0.0.0.0/8 the prefix's all-ones address). `None` for an address the host does
    /// not have: none given, another family, or an IPv6 one still tentative.
    pub fn host_addr(&self, link_flags: u32) -> Option<(HostAddr, Vec<Ipv4Addr>)> {
        let own = self.own()?;
        if self.family == AddrFamily::Inet6 && self.flags & IFA_F_TENTATIVE != 0 {
            return None;
        }
        let up = link_flags & IFF_UP != 0;
        let primary = !self.secondary();
        let mut brds = Vec::new();
        if let (IpAddr::V4(a), true) = (own, up) {
            brds.extend(self.broadcast);
            let mask = u32::MAX.checked_shl(32 - u32::from(self.prefix.min(32))).unwrap_or(0);
            let net = u32::from(a) & mask;
            if primary && self.prefix < 31 && net >> 24 != 0 {
                brds.push(Ipv4Addr::from(net | !mask));
            }
        }
        let loopback = link_flags & IFF_LOOPBACK != 0 && up && primary;
        Some((HostAddr { ip: own, prefix: self.prefix, ifindex: self.ifindex, loopback }, brds))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::criu::rtnl::{head, Message, Messages};

    const MAGIC: u32 = 0x4736_1222;
    const RTM_NEWADDR: u16 = 20;

    fn addr(m: &Message<'_>) -> Result<IfAddr, NlError> {
        IfAddr::parse(m.body, m.body_offset())
    }
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn attr(ty: u16, p: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&(4 + p.len() as u16).to_le_bytes());
        a.extend_from_slice(&ty.to_le_bytes());
        a.extend_from_slice(p);
        while !a.len().is_multiple_of(4) {
            a.push(0);
        }
        a
    }

    fn msg(family: u8, prefix: u8, ifindex: u32, attrs: &[Vec<u8>]) -> Vec<u8> {
        let mut body = vec![family, prefix, 0, 0];
        body.extend_from_slice(&ifindex.to_le_bytes());
        for a in attrs {
            body.extend_from_slice(a);
        }
        let mut m = ((NLMSG_HDRLEN + body.len()) as u32).to_le_bytes().to_vec();
        m.extend_from_slice(&RTM_NEWADDR.to_le_bytes());
        m.extend_from_slice(&[0; 10]);
        m.extend(body);
        m
    }

    #[test]
    fn messages_and_addresses() {
        let mut f = MAGIC.to_le_bytes().to_vec();
        f.extend(msg(
            AF_INET,
            24,
            2,
            &[attr(IFA_ADDRESS, &[10, 0, 0, 5]), attr(IFA_LOCAL, &[10, 0, 0, 5]), attr(IFA_LABEL, b"eth0\0")],
        ));
        let v6: Ipv6Addr = "2001:db8::5".parse().unwrap();
        f.extend(msg(AF_INET6, 64, 2, &[attr(IFA_ADDRESS, &v6.octets()), attr(IFA_FLAGS, &0x80u32.to_le_bytes())]));
        let pos = head(&f, Dump::Addr).unwrap();
        let m: Vec<_> = Messages::new(&f, pos, Dump::Addr).collect::<Result<_, _>>().unwrap();
        assert_eq!(m.len(), 2);
        let a = addr(&m[0]).unwrap();
        assert_eq!(
            (a.own(), a.prefix, a.ifindex, a.label.as_deref()),
            (Some("10.0.0.5".parse().unwrap()), 24, 2, Some("eth0"))
        );
        let (h, brd) = a.host_addr(IFF_UP).unwrap();
        assert!(!h.loopback);
        assert_eq!(brd, [Ipv4Addr::new(10, 0, 0, 255)]);
        let b = addr(&m[1]).unwrap();
        assert_eq!((b.own(), b.flags), (Some(IpAddr::V6(v6)), 0x80));
    }

    #[test]
    fn lengths_are_checked() {
        let mut f = MAGIC.to_le_bytes().to_vec();
        f.extend(msg(AF_INET, 8, 1, &[attr(IFA_LOCAL, &[127, 0, 0, 1])]));
        let full = f.clone();
        // nlmsg_len past the end.
        f.truncate(f.len() - 1);
        let e = Messages::new(&f, 4, Dump::Addr).last().unwrap().unwrap_err();
        assert!(matches!(e, NlError::LengthPastEnd { offset: 4, .. }), "{e}");
        // A header cut short.
        let e = Messages::new(&full[..10], 4, Dump::Addr).last().unwrap().unwrap_err();
        assert_eq!(e, NlError::TruncatedHeader { offset: 4, remaining: 6 });
        // nlmsg_len below the headers.
        let mut g = full.clone();
        g[4..8].copy_from_slice(&20u32.to_le_bytes());
        assert!(matches!(Messages::new(&g, 4, Dump::Addr).next(), Some(Err(NlError::LengthTooShort { len: 20, .. }))));
        // rta_len past the message.
        let mut g = full.clone();
        g[4 + 24..4 + 26].copy_from_slice(&200u16.to_le_bytes());
        let m = Messages::new(&g, 4, Dump::Addr).next().unwrap().unwrap();
        assert!(matches!(addr(&m), Err(NlError::AttrPastEnd { offset: 28, len: 200, .. })));
        // rta_len below its header; an address of the wrong size; another message type.
        let mut g = full.clone();
        g[4 + 24..4 + 26].copy_from_slice(&2u16.to_le_bytes());
        assert!(matches!(
            addr(&Messages::new(&g, 4, Dump::Addr).next().unwrap().unwrap()),
            Err(NlError::AttrTooShort { .. })
        ));
        let mut g = full.clone();
        g[4 + 24..4 + 26].copy_from_slice(&7u16.to_le_bytes());
        assert!(matches!(
            addr(&Messages::new(&g, 4, Dump::Addr).next().unwrap().unwrap()),
            Err(NlError::BadAddrLen { len: 3, .. })
        ));
        let mut g = full.clone();
        g[8] = 21;
        assert!(matches!(Messages::new(&g, 4, Dump::Addr).next(), Some(Err(NlError::WrongType { ty: 21, .. }))));
        assert!(head(&[0x22, 0x12], Dump::Addr).is_err());
        assert!(head(&[0, 0, 0, 0], Dump::Addr).is_err());
    }
}
