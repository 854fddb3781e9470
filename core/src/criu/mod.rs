//! CRIU image directories: `criu dump -D DIR` output read, validated and mapped onto
//! resocket's model. See `docs/criu.md`.
//!
//! * [`frame`] — the image framing (magics, `u32 size` + protobuf entries, extras), zero-copy.
//! * [`pb`] — prost messages written from CRIU's field numbers; [`schema`] — the same fields
//!   as tables (names, types, labels) for [`walk`], the protobuf wire walker that gives every
//!   field its byte range and keeps unknown fields visible.
//! * [`load`] — [`open`]: every file framed and decoded; [`check`] joins the images into the
//!   checkpoint and checks it across images (located diagnostics: file, entry, byte offset,
//!   field path).
//! * [`map`] — [`Opened::to_scenario`]: the checkpoint as a resocket scenario, with named
//!   notes for what CRIU records less than resocket.
//! * [`crit`] — JSON in the shape of `crit decode`.
//! * [`rtnl`] — the netlink dumps CRIU saves with iproute2 (not protobuf): [`ifaddr`]
//!   (`ifaddr-N.img`, `ip addr save`) and [`route`] (`route-N.img`, `route6-N.img`,
//!   `ip route save`); [`Opened::host`] makes the namespace's addresses and routes the
//!   simulator's host.
//!
//! The caller does the I/O: [`open`] takes the `.img` files of a directory as bytes.

pub mod check;
pub mod crit;
pub mod frame;
pub mod ifaddr;
pub mod load;
pub mod map;
pub mod pb;
pub mod route;
pub mod rtnl;
pub mod schema;
pub mod walk;

use crate::diag::Diagnostic;
use std::ops::Range;

pub use frame::Magic;
pub use load::{open, open_observed, Reading};
pub use map::{Note, NoteCode};

mod file;
mod model;
pub use file::*;
pub use model::*;

/// An opened CRIU checkpoint.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    /// The model.
    pub checkpoint: Checkpoint,
    /// Everything found wrong, located by file, entry, offset and field.
    pub diagnostics: Vec<Diagnostic>,
    /// Each image file with its entries, in name order.
    pub files: Vec<OpenedFile>,
}

impl Opened {
    /// True when no diagnostic is an error.
    pub fn is_valid(&self) -> bool {
        !self.diagnostics.iter().any(Diagnostic::is_error)
    }
    /// The file at `loc`.
    pub fn file(&self, loc: Loc) -> Option<&OpenedFile> {
        self.files.get(loc.file())
    }
    /// The payload of the entry at `loc`.
    pub fn payload(&self, loc: Loc) -> Option<&[u8]> {
        let f = self.file(loc)?;
        f.bytes.get(f.entry(loc.entry())?.payload)
    }
    /// The whole entry of unix socket `s`, decoded again from its bytes (`None` only if they
    /// do not decode, which [`open`] would have reported).
    pub fn unix_entry(&self, s: &UnixSock) -> Option<pb::UnixSkEntry> {
        use prost::Message;
        let p = self.payload(s.at)?;
        match self.file(s.at)?.kind {
            ImageKind::Unixsk => pb::UnixSkEntry::decode(p).ok(),
            _ => pb::FileEntry::decode(p).ok()?.usk,
        }
    }
    /// The FD flags (`FD_CLOEXEC`) of the fd at `loc` (an `fdinfo-N.img` entry), decoded again
    /// from its bytes (`None` only if they do not decode, which [`open`] would have reported).
    pub fn fd_flags(&self, loc: Loc) -> Option<u32> {
        use prost::Message;
        pb::FdinfoEntry::decode(self.payload(loc)?).ok().map(|e| e.flags)
    }
    /// The field path prefix of unix socket `s`'s entry: `usk.` in files.img, none in the
    /// legacy unixsk.img.
    pub fn unix_prefix(&self, s: &UnixSock) -> &'static str {
        match self.file(s.at).map(|f| f.kind) {
            Some(ImageKind::Unixsk) => "",
            _ => "usk.",
        }
    }
    /// The bytes of `range` in file `file`.
    pub fn bytes(&self, file: usize, range: Range<usize>) -> &[u8] {
        self.files.get(file).and_then(|f| f.bytes.get(range)).unwrap_or(&[])
    }
    /// The network namespace whose addresses CRIU saved (an `ifaddr-N.img`) and that the
    /// sockets are restored for: the first task's `net_ns_id`, or the only namespace with an
    /// `ifaddr-N.img` when the tasks do not name one that has it.
    pub fn host_ns(&self) -> Option<u32> {
        let saved: Vec<u32> = self
            .files
            .iter()
            .filter_map(|f| match f.kind {
                ImageKind::Ifaddr(n) => Some(n),
                _ => None,
            })
            .collect();
        match self.checkpoint.tasks.first().and_then(|t| t.net_ns_id) {
            Some(n) if saved.contains(&n) => Some(n),
            _ => match saved.as_slice() {
                [n] => Some(*n),
                _ => None,
            },
        }
    }

    /// The saved namespace the checkpoint is planned for, with its host ([`Opened::host_ns`],
    /// [`Opened::host`]); `None` without an `ifaddr-N.img`.
    pub fn saved_host(&self) -> Option<SavedHost> {
        Some(SavedHost { ns: self.host_ns()?, host: self.host()? })
    }

    /// The addresses of that namespace as the simulator's host ([`crate::sim::HostAddrs`]), to
    /// plan and simulate for the host the checkpoint was taken on (as `criu restore` rebuilds
    /// it): its `ifaddr-N.img` addresses, each on its interface of `netdev-N.img` (up, loopback:
    /// the device's `IFF_*` flags; an interface without a netdev entry counts as up, and as
    /// loopback when the address is a loopback one). `None` without an `ifaddr-N.img`.
    pub fn host(&self) -> Option<crate::sim::HostAddrs> {
        let ns = self.host_ns()?;
        let ck = &self.checkpoint;
        let addrs = ck.ifaddrs.iter().filter(|a| a.ns == ns).filter_map(|a| {
            let dev = ck.netdevs.iter().find(|d| d.ns == ns && d.ifindex == a.addr.ifindex);
            let flags = match (dev, a.addr.own()) {
                (Some(d), _) => d.flags,
                (None, Some(ip)) if ip.is_loopback() => ifaddr::IFF_UP | ifaddr::IFF_LOOPBACK,
                (None, _) => ifaddr::IFF_UP,
            };
            a.addr.host_addr(flags)
        });
        let mut host = crate::sim::HostAddrs::from_addrs(addrs);
        host.routes = self.host_routes(ns);
        Some(host)
    }

    /// The main-table routes of namespace `ns` as the host model holds them: IPv4's from
    /// `route-N.img`, IPv6's from `route6-N.img`, each only if its file is there and read
    /// without error (a route list cut short would make destinations unreachable that are not).
    pub fn host_routes(&self, ns: u32) -> crate::sim::Routes {
        let table = |kind: ImageKind, v4: bool| -> Option<Vec<crate::sim::HostRoute>> {
            let f = self.files.iter().find(|f| f.kind == kind && f.decoded)?;
            if self.diagnostics.iter().any(|d| d.is_error() && d.file.as_deref() == Some(f.name.as_str())) {
                return None;
            }
            let routes = self.checkpoint.routes.iter().filter(|r| r.ns == ns && r.route.table == route::RT_TABLE_MAIN);
            Some(routes.filter_map(|r| r.route.host_route()).filter(|h| h.dst.is_ipv4() == v4).collect())
        };
        crate::sim::Routes { v4: table(ImageKind::Route(ns), true), v6: table(ImageKind::Route6(ns), false) }
    }

    /// The route of namespace `ns` that takes packets to `ip` (the longest prefix of the main
    /// table), if its routes were saved and one covers it; `None` also when not saved.
    pub fn route_to(&self, ns: u32, ip: std::net::IpAddr) -> Option<&NsRoute> {
        let h = match self.host_routes(ns).lookup(ip) {
            crate::sim::RouteLookup::Via(h) => h,
            _ => return None,
        };
        self.checkpoint.routes.iter().find(|r| r.ns == ns && r.route.host_route() == Some(h))
    }

    /// The checkpoint as a resocket scenario, and the notes on what it cannot say or what CRIU
    /// did not record. See [`map`].
    pub fn to_scenario(&self) -> (crate::scenario::Scenario, Vec<Note>) {
        map::to_scenario(self)
    }
    /// Each decoded image as crit would print it (`crit decode`), keyed by file name.
    pub fn crit_json(&self) -> serde_json::Value {
        crit::to_json(self)
    }
}

/// The network namespace a CRIU checkpoint saved, as the host a restore is planned for
/// ([`Opened::saved_host`]): the CLI and the inspector both plan for it by default.
#[derive(Debug, Clone, PartialEq, Eq, crate::codec::Encode, crate::codec::Decode)]
pub struct SavedHost {
    /// The namespace (N of `ifaddr-N.img`).
    pub ns: u32,
    /// Its addresses and, where saved, routes.
    pub host: crate::sim::HostAddrs,
}

/// "the checkpoint's network namespace 2 (ifaddr-2.img): 10.0.0.5/24, …; 2 routes
/// (route-2.img), 2 routes (route6-2.img)".
impl std::fmt::Display for SavedHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = self.ns;
        write!(f, "the checkpoint's network namespace {ns} (ifaddr-{ns}.img): ")?;
        if self.host.addrs.is_empty() {
            f.write_str("no addresses")?;
        }
        for (k, a) in self.host.addrs.iter().enumerate() {
            write!(f, "{}{}/{}", if k == 0 { "" } else { ", " }, a.ip, a.prefix)?;
        }
        let routes = [(&self.host.routes.v4, "route"), (&self.host.routes.v6, "route6")];
        for (k, (r, file)) in routes.into_iter().filter_map(|(r, file)| Some((r.as_ref()?, file))).enumerate() {
            write!(f, "{}{} routes ({file}-{ns}.img)", if k == 0 { "; " } else { ", " }, r.len())?;
        }
        Ok(())
    }
}
