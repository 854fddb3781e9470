//! AF_UNIX names: `bind` (paths, abstract names, autobind), `unlink`, and the lookup
//! `unix_find_other` a connect or send makes (§1.3, §3).

use crate::image::UnixAddr;
use crate::sim::ops::{Errno, Outcome, SockAddr, SockType};
use crate::sim::rule::{Refusal, Rule};
use crate::sim::state::{join, FsNode, Kernel, SockRef};

impl Kernel {
    fn alloc_autobind(&mut self, ty: SockType) -> Result<Vec<u8>, Refusal> {
        // DEVIATION: Linux starts the 20-bit counter at a random value (§3); we start at 0 so
        // runs are reproducible.
        for _ in 0..(1u32 << 20) {
            let name = format!("{:05x}", self.autobind_next).into_bytes();
            self.autobind_next = (self.autobind_next + 1) & 0xfffff;
            if !self.abstract_names.contains_key(&(ty, name.clone())) {
                return Ok(name);
            }
        }
        Err(Refusal::new(Rule::AutobindExhausted, Errno::ENOSPC))
    }

    pub(in crate::sim) fn bind(&mut self, r: SockRef, addr: &SockAddr) -> Outcome {
        let ty = self.socks[r].ty;
        match addr {
            SockAddr::Unspec | SockAddr::Inet(_) => self.deny(Rule::NotAUnixAddress, Errno::EINVAL),
            SockAddr::Autobind => {
                if self.socks[r].name.is_some() {
                    return Outcome::ok(0); // §3: autobind on a bound socket changes nothing
                }
                match self.alloc_autobind(ty) {
                    Ok(name) => {
                        self.abstract_names.insert((ty, name.clone()), r);
                        self.socks[r].name = Some(UnixAddr::Abstract(name.into()));
                        Outcome::ok(0)
                    }
                    Err(e) => self.refuse(e),
                }
            }
            SockAddr::Abstract(a) => {
                if a.len() > 107 {
                    return self.deny(Rule::AbstractNameTooLong, Errno::EINVAL);
                }
                if self.socks[r].name.is_some() {
                    return self.deny(Rule::AlreadyBound, Errno::EINVAL);
                }
                if self.abstract_names.contains_key(&(ty, a.clone())) {
                    return self.deny(Rule::AbstractNameInUse, Errno::EADDRINUSE);
                }
                self.abstract_names.insert((ty, a.clone()), r);
                self.socks[r].name = Some(UnixAddr::Abstract(a.as_slice().into()));
                Outcome::ok(0)
            }
            SockAddr::Path(p) => {
                if p.is_empty() || p.len() > 108 || p.contains(&0) {
                    return self.deny(Rule::BadPath, Errno::EINVAL);
                }
                let full = join(&self.cwd, p);
                // unix_bind_bsd: mknod first (EEXIST → EADDRINUSE, even for a stale file)…
                if self.fs.contains_key(&full) {
                    return self.deny(Rule::PathExists, Errno::EADDRINUSE);
                }
                // …then a bound socket gets EINVAL and the new node is removed again (§3).
                if self.socks[r].name.is_some() {
                    return self.deny(Rule::AlreadyBound, Errno::EINVAL);
                }
                self.next_ino += 1;
                let ino = self.next_ino;
                self.fs.insert(full, FsNode::Socket(ino));
                self.bound_inodes.insert(ino, r);
                let s = &mut self.socks[r];
                s.ino = Some(ino);
                s.name = Some(UnixAddr::Path(p.as_slice().into()));
                Outcome::ok(0)
            }
        }
    }

    pub(in crate::sim) fn unlink(&mut self, path: &[u8], stale_only: bool) -> Outcome {
        let full = join(&self.cwd, path);
        match self.fs.get(&full) {
            None if stale_only => Outcome::ok(0),
            None => self.deny(Rule::UnlinkMissing, Errno::ENOENT),
            Some(FsNode::Other) if stale_only => self.deny(Rule::StaleUnlinkNotASocket, Errno::ENOTSOCK),
            Some(FsNode::Socket(ino)) if stale_only && self.bound_inodes.contains_key(ino) => {
                self.deny(Rule::StaleUnlinkStillBound, Errno::EADDRINUSE)
            }
            Some(_) => {
                self.fs.remove(&full);
                Outcome::ok(0)
            }
        }
    }

    /// `unix_find_other`: name lookup (§1.3 step 3).
    pub(in crate::sim) fn find_other(&self, addr: &SockAddr, ty: SockType) -> Result<SockRef, Refusal> {
        let no = |rule, errno| Err(Refusal::new(rule, errno));
        match addr {
            SockAddr::Path(p) => {
                let full = join(&self.cwd, p);
                match self.fs.get(&full) {
                    None => no(Rule::NoSuchPath, Errno::ENOENT),
                    Some(FsNode::Other) => no(Rule::PathNotASocket, Errno::ECONNREFUSED),
                    Some(FsNode::Socket(ino)) => match self.bound_inodes.get(ino) {
                        None => no(Rule::NobodyBoundThere, Errno::ECONNREFUSED),
                        Some(&o) if self.socks[o].ty != ty => no(Rule::WrongSocketType, Errno::EPROTOTYPE),
                        Some(&o) => Ok(o),
                    },
                }
            }
            // The abstract namespace is per socket type: another type's name is ECONNREFUSED.
            SockAddr::Abstract(a) => match self.abstract_names.get(&(ty, a.clone())) {
                Some(&o) => Ok(o),
                None => no(Rule::NoSuchAbstractName, Errno::ECONNREFUSED),
            },
            // unix_validate_addr: a sockaddr_in is not a sockaddr_un.
            SockAddr::Autobind | SockAddr::Unspec | SockAddr::Inet(_) => no(Rule::NotAUnixAddress, Errno::EINVAL),
        }
    }

    pub(in crate::sim) fn maybe_autobind(&mut self, r: SockRef) -> Result<(), Refusal> {
        if self.socks[r].passcred && self.socks[r].name.is_none() {
            let ty = self.socks[r].ty;
            let name = self.alloc_autobind(ty)?;
            self.abstract_names.insert((ty, name.clone()), r);
            self.socks[r].name = Some(UnixAddr::Abstract(name.into()));
        }
        Ok(())
    }
}
