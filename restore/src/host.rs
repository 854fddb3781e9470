//! The addresses of this host, as the model needs them ([`HostAddrs`], `core/src/sim/inet/host.rs`):
//! one netlink `RTM_GETLINK` dump (which interfaces are loopback, which are up), one
//! `RTM_GETADDR` dump (every IPv4 and IPv6 address) and an `RTM_GETROUTE` dump per family (the
//! main table's routes), in the caller's network namespace — the one `restore run` creates its
//! sockets in.
//! Layouts: `include/uapi/linux/if_addr.h` (`ifaddrmsg`, `IFA_*`), `rtnetlink.h` (`ifinfomsg`).

use crate::diag_unix::{netlink_dump, u32_at};
use resocket_core::criu::ifaddr::IfAddr;
use resocket_core::image::UnixAddr;
use resocket_core::sim::{HostAddr, HostAddrs, HostRoute, Routes, SockAddr};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

const RTM_NEWLINK: u16 = 16;
const RTM_GETLINK: u16 = 18;
const RTM_NEWADDR: u16 = 20;
const RTM_GETADDR: u16 = 22;
const RTM_NEWROUTE: u16 = 24;
const RTM_GETROUTE: u16 = 26;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// [`read`], or the loopback-only host when the addresses cannot be read (with the reason,
/// for a warning).
pub fn read_or_loopback() -> (HostAddrs, Option<String>) {
    match read() {
        Ok(h) => (h, None),
        Err(e) => (
            HostAddrs::loopback(),
            Some(format!("cannot read this host's addresses ({e}): planning for a host with only lo")),
        ),
    }
}

/// Read this network namespace's interface addresses.
pub fn read() -> Result<HostAddrs, String> {
    // NETLINK_ROUTE is protocol 0 (`None`). ifinfomsg: family, pad, type, index, flags, change.
    let mut links: BTreeMap<u32, u32> = BTreeMap::new();
    for m in netlink_dump(None, RTM_GETLINK, RTM_NEWLINK, &[0u8; 16])? {
        if m.len() >= 16 {
            links.insert(u32_at(&m, 4), u32_at(&m, 8));
        }
    }
    // ifaddrmsg: family (AF_UNSPEC: all), prefix length, flags, scope, index.
    let msgs = netlink_dump(None, RTM_GETADDR, RTM_NEWADDR, &[0u8; 8])?;
    let mut host = HostAddrs::from_addrs(msgs.iter().filter_map(|m| parse_addr(m, &links)));
    host.routes = Routes { v4: main_routes(AF_INET), v6: main_routes(AF_INET6) };
    Ok(host)
}

/// The main table's routes of one family (`RTM_GETROUTE` dump), read by core's route reader
/// (the one that reads a CRIU checkpoint's `route-N.img`: the same messages, saved by
/// `ip route save`); `None` when they cannot be read, or one of them cannot: a list cut short
/// would make destinations unreachable that are not. Other tables and policy rules are not
/// read (the model follows the main table only).
fn main_routes(family: u8) -> Option<Vec<HostRoute>> {
    use resocket_core::criu::route::{Route, RT_TABLE_MAIN};
    // rtmsg: family, dst_len, src_len, tos, table, protocol, scope, type, flags (u32).
    let mut rtmsg = [0u8; 12];
    rtmsg[0] = family;
    let msgs = netlink_dump(None, RTM_GETROUTE, RTM_NEWROUTE, &rtmsg).ok()?;
    let mut routes = Vec::new();
    for m in msgs {
        let r = Route::parse(&m, 0).ok()?;
        if r.table == RT_TABLE_MAIN {
            routes.push(r.host_route()?);
        }
    }
    Some(routes)
}

/// One `RTM_NEWADDR` message (after its `nlmsghdr`): the address (none for a tentative IPv6
/// one) and, for IPv4 on an interface that is up, the broadcast addresses it gives the local
/// routing table. Read by core's `ifaddr` reader, the one that reads a CRIU checkpoint's
/// `ifaddr-N.img` (the same messages, saved by `ip addr save`; little-endian, as on x86_64).
fn parse_addr(m: &[u8], links: &BTreeMap<u32, u32>) -> Option<(HostAddr, Vec<Ipv4Addr>)> {
    let a = IfAddr::parse(m, 0).ok()?;
    a.host_addr(links.get(&a.ifindex).copied().unwrap_or(0))
}

/// How [`crate::diag_unix::UnixDiag::name`] spells an AF_UNIX name (the raw `sun_path`: a path
/// with its NUL, an abstract name after its leading NUL); `None` for an unnamed socket.
pub fn diag_name(a: &UnixAddr) -> Option<Vec<u8>> {
    match a {
        UnixAddr::Unnamed => None,
        UnixAddr::Path(p) => Some([&p[..], &[0u8][..]].concat()),
        UnixAddr::Abstract(n) => Some([&[0u8][..], n].concat()),
    }
}

/// Which of the outside names the image's dgram sockets were connected to
/// ([`resocket_core::image::Image::outside_dgram_names`]) have a dgram socket bound now
/// ([`HostAddrs::unix`]): a probe, not a unix_diag dump, because a probe is the executor's own
/// `connect()` — a path resolved as the restore's connect resolves it (under `root`, inside
/// the root: [`crate::fsroot::Fs::target`]), its permissions and its socket type checked — and
/// it asks only about the names the image records. Abstract names are the network namespace's,
/// root or not.
pub fn outside_unix(img: &resocket_core::image::Image<'_>, root: Option<&std::path::Path>) -> Vec<UnixAddr> {
    use rustix::net::{self as net, AddressFamily, SocketAddrUnix, SocketType};
    let fs = crate::fsroot::Fs::new(root, 0);
    let reachable = |name: &UnixAddr| {
        let Ok(probe) = net::socket_with(AddressFamily::UNIX, SocketType::DGRAM, net::SocketFlags::CLOEXEC, None)
        else {
            return false;
        };
        match name.outside_addr() {
            Some(SockAddr::Path(p)) => fs.target(&p).is_ok_and(|t| net::connect(&probe, &t.addr).is_ok()),
            Some(SockAddr::Abstract(n)) => {
                SocketAddrUnix::new_abstract_name(&n).is_ok_and(|a| net::connect(&probe, &a).is_ok())
            }
            _ => false,
        }
    };
    img.outside_dgram_names().into_iter().filter(reachable).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use resocket_core::criu::ifaddr::{IFA_F_SECONDARY, IFA_F_TENTATIVE, IFF_LOOPBACK, IFF_UP};
    use std::net::Ipv6Addr;

    const AF_INET: u8 = 2;
    const AF_INET6: u8 = 10;
    const IFA_ADDRESS: u16 = 1;
    const IFA_LOCAL: u16 = 2;
    const IFA_BROADCAST: u16 = 4;
    const IFA_FLAGS: u16 = 8;

    fn attr(ty: u16, p: &[u8]) -> Vec<u8> {
        let mut a = Vec::new();
        a.extend_from_slice(&(4 + p.len() as u16).to_ne_bytes());
        a.extend_from_slice(&ty.to_ne_bytes());
        a.extend_from_slice(p);
        while a.len() % 4 != 0 {
            a.push(0);
        }
        a
    }

    #[test]
    fn addresses_are_read_and_tentative_ones_left_out() {
        let links = BTreeMap::from([(1, IFF_UP | IFF_LOOPBACK), (3, IFF_UP)]);
        let mut m = vec![AF_INET, 24, 0, 0];
        m.extend_from_slice(&3u32.to_ne_bytes());
        m.extend(attr(IFA_ADDRESS, &[10, 9, 9, 9]));
        m.extend(attr(IFA_LOCAL, &[10, 1, 2, 3]));
        m.extend(attr(IFA_BROADCAST, &[10, 1, 2, 255]));
        let (a, b) = parse_addr(&m, &links).unwrap();
        assert_eq!((a.ip, a.prefix, a.ifindex, a.loopback), ("10.1.2.3".parse().unwrap(), 24, 3, false));
        // The explicit broadcast address and the prefix's all-ones one.
        assert_eq!(b, [Ipv4Addr::new(10, 1, 2, 255), Ipv4Addr::new(10, 1, 2, 255)]);
        let mut secondary = m.clone();
        secondary[2] = IFA_F_SECONDARY as u8;
        secondary.truncate(8 + 16);
        assert_eq!(parse_addr(&secondary, &links).unwrap().1, Vec::<Ipv4Addr>::new());
        let mut m6 = vec![AF_INET6, 64, 0, 0];
        m6.extend_from_slice(&1u32.to_ne_bytes());
        m6.extend(attr(IFA_ADDRESS, &"2001:db8::3".parse::<Ipv6Addr>().unwrap().octets()));
        let (a, _) = parse_addr(&m6, &links).unwrap();
        assert!(a.loopback);
        let mut t = m6.clone();
        t.extend(attr(IFA_FLAGS, &IFA_F_TENTATIVE.to_ne_bytes()));
        assert!(parse_addr(&t, &links).is_none(), "tentative");
        assert!(parse_addr(&m6[..7], &links).is_none(), "truncated");
    }
}
