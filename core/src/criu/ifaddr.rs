//! `ifaddr-N.img`: a network namespace's interface addresses, as CRIU saves them. CRIU runs
//! `ip addr save` in the namespace (criu/net.c `dump_ifaddr`) and writes its output raw (the
//! image's magic is CRIU's RAW_IMAGE_MAGIC: no IMG_COMMON word, no CRIU magic); `criu restore`
//! feeds it back to `ip addr restore`. iproute2's format (ip/ipaddress.c `ipadd_save_prep`,
//! `save_nlmsg`; lib/libnetlink.c `rtnl_from_file`): the u32 magic 0x47361222 in host byte order,
//! then the kernel's `RTM_NEWADDR` netlink messages as `RTM_GETADDR` dumped them, each
//! `nlmsg_len` bytes (a 16-byte `nlmsghdr` that counts itself), the next one
//! `NLMSG_ALIGN(nlmsg_len)` further on. A message is an `ifaddrmsg` (family, prefix length,
//! flags, scope, interface index: 8 bytes) and `rtattr`s (`rta_len` counting its 4-byte header,
//! the next one `RTA_ALIGN(rta_len)` further on). Layouts: `include/uapi/linux/netlink.h`,
//! `rtnetlink.h`, `if_addr.h`.
//!
//! Read by hand rather than with `netlink-packet-route`: that crate (0.34) does not build for
//! wasm32-unknown-unknown (its address families come from `libc`, which has none there), and
//! resocket reads only the header and four attributes. Every `nlmsg_len` and `rta_len` is
//! checked against the bytes that remain before it is used, nothing is allocated from one, and
//! the reader stops at the first error, which carries its byte offset.
//!
//! [`IfAddr::host_addr`] turns an address into what the simulator's host model needs
//! ([`crate::sim::HostAddr`]), with the broadcast addresses it gives the local routing table;
//! `restore/src/host.rs` reads the running host's addresses through the same function.

use crate::sim::HostAddr;
use serde::Serialize;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

/// `ipadd_dump_magic`, the first word of `ip addr save`'s output.
pub const MAGIC: u32 = 0x4736_1222;
/// `RTM_NEWADDR`: the only message type `ip addr save` writes.
pub const RTM_NEWADDR: u16 = 20;
/// `sizeof(struct nlmsghdr)`.
pub const NLMSG_HDRLEN: usize = 16;
/// `sizeof(struct ifaddrmsg)`.
pub const IFADDRMSG_LEN: usize = 8;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
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

fn align4(n: usize) -> usize {
    n.saturating_add(3) & !3
}

fn u32_le(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn u16_le(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([s[0], s[1]]))
}

/// An address family of an `ifaddrmsg`.
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
    fn addr_len(self) -> Option<usize> {
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

/// A netlink framing or attribute error, with the byte offset (in the file) it concerns.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NlError {
    /// The file is too short for the magic, or starts with another word.
    #[error("does not start with `ip addr save`'s magic 0x47361222 (found {found})")]
    BadMagic { found: String },
    /// Fewer than 16 bytes where a message header should be.
    #[error("truncated netlink header at offset {offset}: {remaining} bytes left, 16 needed")]
    TruncatedHeader { offset: usize, remaining: usize },
    /// `nlmsg_len` smaller than the headers it must hold.
    #[error("nlmsg_len {len} at offset {offset} is less than the {need} bytes of nlmsghdr + ifaddrmsg")]
    LengthTooShort { offset: usize, len: u32, need: usize },
    /// `nlmsg_len` runs past the end of the file.
    #[error("message at offset {offset} has nlmsg_len {len} but only {remaining} bytes remain")]
    LengthPastEnd { offset: usize, len: u32, remaining: usize },
    /// A message of another type than `RTM_NEWADDR`.
    #[error("message at offset {offset} has nlmsg_type {ty}, not RTM_NEWADDR (20)")]
    NotNewAddr { offset: usize, ty: u16 },
    /// Fewer than 4 bytes (but some) where an attribute header should be.
    #[error("truncated rtattr header at offset {offset}: {remaining} bytes left in the message, 4 needed")]
    TruncatedAttr { offset: usize, remaining: usize },
    /// `rta_len` below its own header.
    #[error("rta_len {len} at offset {offset} is less than the 4-byte rtattr header")]
    AttrTooShort { offset: usize, len: u16 },
    /// `rta_len` runs past the end of its message.
    #[error("attribute at offset {offset} has rta_len {len} but only {remaining} bytes remain in its message")]
    AttrPastEnd { offset: usize, len: u16, remaining: usize },
    /// An address attribute of the wrong length for the family.
    #[error("{attr} at offset {offset} is {len} bytes, not the {need} of an {family} address")]
    BadAddrLen { offset: usize, attr: &'static str, len: usize, need: usize, family: &'static str },
    /// An `IFA_FLAGS` attribute that is not 4 bytes.
    #[error("IFA_FLAGS at offset {offset} is {len} bytes, not 4")]
    BadFlagsLen { offset: usize, len: usize },
}

/// What kind of error an [`NlError`] is, for the diagnostic codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NlErrorKind {
    /// The magic.
    Magic,
    /// The bytes end inside a header.
    Truncated,
    /// A length runs past the end.
    PastEnd,
    /// A length, type or size that is wrong in itself.
    Malformed,
}

impl NlError {
    /// The byte offset the error is about.
    pub fn offset(&self) -> usize {
        match *self {
            NlError::BadMagic { .. } => 0,
            NlError::TruncatedHeader { offset, .. }
            | NlError::LengthTooShort { offset, .. }
            | NlError::LengthPastEnd { offset, .. }
            | NlError::NotNewAddr { offset, .. }
            | NlError::TruncatedAttr { offset, .. }
            | NlError::AttrTooShort { offset, .. }
            | NlError::AttrPastEnd { offset, .. }
            | NlError::BadAddrLen { offset, .. }
            | NlError::BadFlagsLen { offset, .. } => offset,
        }
    }
    /// Its kind.
    pub fn kind(&self) -> NlErrorKind {
        match self {
            NlError::BadMagic { .. } => NlErrorKind::Magic,
            NlError::TruncatedHeader { .. } | NlError::TruncatedAttr { .. } => NlErrorKind::Truncated,
            NlError::LengthPastEnd { .. } | NlError::AttrPastEnd { .. } => NlErrorKind::PastEnd,
            NlError::LengthTooShort { .. }
            | NlError::NotNewAddr { .. }
            | NlError::AttrTooShort { .. }
            | NlError::BadAddrLen { .. }
            | NlError::BadFlagsLen { .. } => NlErrorKind::Malformed,
        }
    }
    /// The field it is about (`nlmsg_len`, `IFA_ADDRESS.rta_len`, ...).
    pub fn field(&self) -> &'static str {
        match self {
            NlError::BadMagic { .. } => "magic",
            NlError::TruncatedHeader { .. } | NlError::LengthTooShort { .. } | NlError::LengthPastEnd { .. } => {
                "nlmsg_len"
            }
            NlError::NotNewAddr { .. } => "nlmsg_type",
            NlError::TruncatedAttr { .. } | NlError::AttrTooShort { .. } | NlError::AttrPastEnd { .. } => "rta_len",
            NlError::BadAddrLen { attr, .. } => attr,
            NlError::BadFlagsLen { .. } => "IFA_FLAGS",
        }
    }
}

/// Check the magic at the start of `data`: `Ok(4)`, the offset of the first message.
pub fn head(data: &[u8]) -> Result<usize, NlError> {
    match u32_le(data, 0) {
        Some(MAGIC) => Ok(4),
        Some(v) => Err(NlError::BadMagic { found: format!("{v:#010x}") }),
        None => Err(NlError::BadMagic { found: format!("a file of {} bytes", data.len()) }),
    }
}

/// One framed message: where it starts, its length (`nlmsg_len`), its body after the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Index in the file, from 0.
    pub index: usize,
    /// Offset of its `nlmsghdr`.
    pub offset: usize,
    /// `nlmsg_len`: header included.
    pub len: usize,
    /// The bytes after the header (`ifaddrmsg` and attributes).
    pub body: &'a [u8],
}

impl Message<'_> {
    /// The whole message (header included, alignment padding not).
    pub fn range(&self) -> Range<usize> {
        self.offset..self.offset + self.len
    }
    /// The address it carries.
    pub fn addr(&self) -> Result<IfAddr, NlError> {
        IfAddr::parse(self.body, self.offset + NLMSG_HDRLEN)
    }
}

/// The length of the message framed at `start` (its `nlmsg_len`), if it is one that fits: for
/// [`super::OpenedFile::entry`], which reads the framing again from the bytes.
pub fn message_len_at(data: &[u8], start: usize) -> Option<usize> {
    let len = usize::try_from(u32_le(data, start)?).ok()?;
    (len >= NLMSG_HDRLEN && start.checked_add(len)? <= data.len()).then_some(len)
}

/// Iterator over the messages of an `ip addr save` stream from `pos` (after the magic); fuses
/// after its first error.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    data: &'a [u8],
    pos: usize,
    index: usize,
    done: bool,
}

impl<'a> Messages<'a> {
    /// Frame `data` (the whole file) from `pos`.
    pub fn new(data: &'a [u8], pos: usize) -> Self {
        Messages { data, pos, index: 0, done: false }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, NlError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let offset = self.pos;
        let rest = self.data.get(offset..).unwrap_or(&[]);
        if rest.is_empty() {
            self.done = true;
            return None;
        }
        self.done = true;
        let (Some(len), Some(ty)) = (u32_le(rest, 0), u16_le(rest, 4)) else {
            return Some(Err(NlError::TruncatedHeader { offset, remaining: rest.len() }));
        };
        if rest.len() < NLMSG_HDRLEN {
            return Some(Err(NlError::TruncatedHeader { offset, remaining: rest.len() }));
        }
        let need = NLMSG_HDRLEN + IFADDRMSG_LEN;
        let n = usize::try_from(len).unwrap_or(usize::MAX);
        if n < need {
            return Some(Err(NlError::LengthTooShort { offset, len, need }));
        }
        let Some(msg) = rest.get(..n) else {
            return Some(Err(NlError::LengthPastEnd { offset, len, remaining: rest.len() }));
        };
        if ty != RTM_NEWADDR {
            return Some(Err(NlError::NotNewAddr { offset, ty }));
        }
        // rtnl_from_file reads NLMSG_ALIGN(len - 16) bytes after the header; the last message
        // may end unpadded.
        self.pos = offset + align4(n).min(rest.len());
        self.done = false;
        let index = self.index;
        self.index += 1;
        Some(Ok(Message { index, offset, len: n, body: &msg[NLMSG_HDRLEN..] }))
    }
}

/// One attribute: type, payload, and where its header starts in the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// `rta_type`.
    pub ty: u16,
    /// Offset of its `rtattr` header.
    pub offset: usize,
    /// Its payload (`rta_len - 4` bytes).
    pub payload: &'a [u8],
}

/// The attributes of a message body after its 8-byte `ifaddrmsg`, checked; `base` is the
/// body's offset in the file.
pub fn attrs(body: &[u8], base: usize) -> Result<Vec<Attr<'_>>, NlError> {
    let mut out = Vec::new();
    let mut pos = IFADDRMSG_LEN;
    while pos < body.len() {
        let offset = base + pos;
        let rest = &body[pos..];
        let (Some(len), Some(ty)) = (u16_le(rest, 0), u16_le(rest, 2)) else {
            return Err(NlError::TruncatedAttr { offset, remaining: rest.len() });
        };
        let n = usize::from(len);
        if n < 4 {
            return Err(NlError::AttrTooShort { offset, len });
        }
        let Some(a) = rest.get(..n) else {
            return Err(NlError::AttrPastEnd { offset, len, remaining: rest.len() });
        };
        out.push(Attr { ty, offset, payload: &a[4..] });
        pos += align4(n).min(rest.len());
    }
    Ok(out)
}

impl IfAddr {
    /// Read an `RTM_NEWADDR` body (the bytes after the `nlmsghdr`: `ifaddrmsg` and attributes);
    /// `base` is its offset in the file, for the errors.
    pub fn parse(body: &[u8], base: usize) -> Result<IfAddr, NlError> {
        let Some(h) = body.get(..IFADDRMSG_LEN) else {
            return Err(NlError::LengthTooShort {
                offset: base.saturating_sub(NLMSG_HDRLEN),
                len: u32::try_from(body.len() + NLMSG_HDRLEN).unwrap_or(u32::MAX),
                need: NLMSG_HDRLEN + IFADDRMSG_LEN,
            });
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
        for at in attrs(body, base)? {
            let ip = |name: &'static str| -> Result<Option<IpAddr>, NlError> {
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
            };
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
                IFA_FLAGS => {
                    a.flags = match <[u8; 4]>::try_from(at.payload) {
                        Ok(b) => u32::from_le_bytes(b),
                        Err(_) => return Err(NlError::BadFlagsLen { offset: at.offset, len: at.payload.len() }),
                    }
                }
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
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    fn attr(ty: u16, p: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&(4 + p.len() as u16).to_le_bytes());
        a.extend_from_slice(&ty.to_le_bytes());
        a.extend_from_slice(p);
        while a.len() % 4 != 0 {
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
        let pos = head(&f).unwrap();
        let m: Vec<_> = Messages::new(&f, pos).collect::<Result<_, _>>().unwrap();
        assert_eq!(m.len(), 2);
        let a = m[0].addr().unwrap();
        assert_eq!(
            (a.own(), a.prefix, a.ifindex, a.label.as_deref()),
            (Some("10.0.0.5".parse().unwrap()), 24, 2, Some("eth0"))
        );
        let (h, brd) = a.host_addr(IFF_UP).unwrap();
        assert!(!h.loopback);
        assert_eq!(brd, [Ipv4Addr::new(10, 0, 0, 255)]);
        let b = m[1].addr().unwrap();
        assert_eq!((b.own(), b.flags), (Some(IpAddr::V6(v6)), 0x80));
    }

    #[test]
    fn lengths_are_checked() {
        let mut f = MAGIC.to_le_bytes().to_vec();
        f.extend(msg(AF_INET, 8, 1, &[attr(IFA_LOCAL, &[127, 0, 0, 1])]));
        let full = f.clone();
        // nlmsg_len past the end.
        f.truncate(f.len() - 1);
        let e = Messages::new(&f, 4).last().unwrap().unwrap_err();
        assert!(matches!(e, NlError::LengthPastEnd { offset: 4, .. }), "{e}");
        // A header cut short.
        let e = Messages::new(&full[..10], 4).last().unwrap().unwrap_err();
        assert_eq!(e, NlError::TruncatedHeader { offset: 4, remaining: 6 });
        // nlmsg_len below the headers.
        let mut g = full.clone();
        g[4..8].copy_from_slice(&20u32.to_le_bytes());
        assert!(matches!(Messages::new(&g, 4).next(), Some(Err(NlError::LengthTooShort { len: 20, .. }))));
        // rta_len past the message.
        let mut g = full.clone();
        g[4 + 24..4 + 26].copy_from_slice(&200u16.to_le_bytes());
        let m = Messages::new(&g, 4).next().unwrap().unwrap();
        assert!(matches!(m.addr(), Err(NlError::AttrPastEnd { offset: 28, len: 200, .. })));
        // rta_len below its header; an address of the wrong size; another message type.
        let mut g = full.clone();
        g[4 + 24..4 + 26].copy_from_slice(&2u16.to_le_bytes());
        assert!(matches!(Messages::new(&g, 4).next().unwrap().unwrap().addr(), Err(NlError::AttrTooShort { .. })));
        let mut g = full.clone();
        g[4 + 24..4 + 26].copy_from_slice(&7u16.to_le_bytes());
        assert!(matches!(
            Messages::new(&g, 4).next().unwrap().unwrap().addr(),
            Err(NlError::BadAddrLen { len: 3, .. })
        ));
        let mut g = full.clone();
        g[8] = 21;
        assert!(matches!(Messages::new(&g, 4).next(), Some(Err(NlError::NotNewAddr { ty: 21, .. }))));
        assert!(head(&[0x22, 0x12]).is_err());
        assert!(head(&[0, 0, 0, 0]).is_err());
    }
}
