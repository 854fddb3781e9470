//! The socket records: SOCKET, its family record (SOCKET_UNIX, SOCKET_INET), RS_SOCKOPT and
//! RS_OOB.

use super::{Loader, Open};
use crate::diag::{Code, Diagnostic};
use crate::image::{field_range, inet, ObjKind, OobMark, RecordedOpts, Sock, UnixAddr, UnixPart};
use crate::wire::*;

/// `SOCKET_UNIX`'s fields but the two `sun_path`s.
struct UnixScalars {
    this: i32,
    peer: i32,
    peercred: i32,
    flags: u32,
    laddr_len: u32,
    raddr_len: u32,
    laddr_family: u16,
    raddr_family: u16,
}

/// Offsets of `laddr_path` and `raddr_path` in `SOCKET_UNIX` (checked against the layout in a
/// test).
const LADDR_PATH: usize = 34;
const RADDR_PATH: usize = 144;

/// The 108-byte `sun_path` at `off` of a record whose size was checked (zeros if it is short).
fn sun_path(rec: &[u8], off: usize) -> &[u8; 108] {
    rec.get(off..off + 108).and_then(|s| s.try_into().ok()).unwrap_or(&[0; 108])
}

impl<'a> Loader<'a> {
    pub(super) fn socket(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Socket::new_checked(rec) else { return };
        let Some(Open::Socket(objref, _)) = self.stack.last() else {
            self.err(Code::MisplacedRecord, rec.range(), "SOCKET record without a preceding OBJREF of type SOCK");
            return;
        };
        let objref = *objref;
        self.stack.pop();
        let common = SocketRepr::parse(&v);
        if matches!(common.family, AF_UNIX | AF_INET | AF_INET6) {
            self.stack.push(Open::Family(objref, off));
        } else {
            // No family record exists for it: nothing more is awaited.
            let d = Diagnostic::new(
                Code::UnsupportedFamily,
                field_range(off, &SOCKET_LAYOUT, "family"),
                format!("socket {objref} has family {}", common.family),
            );
            self.diags.push(d.record(self.idx).objref(objref));
        }
        self.slots.insert(objref, self.socks.len(), self.objs.dense.len());
        self.socks.push(Sock {
            objref,
            offset: off,
            record: self.idx,
            common,
            unix: None,
            inet: None,
            queue: Vec::new(),
            pending: Vec::new(),
            opts: None,
            oob: None,
        });
    }

    fn take_family(&mut self, rec: &Record<'_>) -> Option<i32> {
        match self.stack.last() {
            Some(Open::Family(objref, _)) => {
                let o = *objref;
                self.stack.pop();
                Some(o)
            }
            _ => {
                self.err(Code::MisplacedRecord, rec.range(), format!("{} record without its SOCKET", rec.ty));
                None
            }
        }
    }

    pub(super) fn socket_unix(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = SocketUnix::new_checked(rec) else { return };
        let Some(objref) = self.take_family(&rec) else { return };
        // The scalars through the view; the two sun_paths borrowed from the record rather than
        // copied out twice (`SocketUnixRepr::parse` then the decode).
        let u = UnixScalars {
            this: v.this(),
            peer: v.peer(),
            peercred: v.peercred(),
            flags: v.flags(),
            laddr_len: v.laddr_len(),
            raddr_len: v.raddr_len(),
            laddr_family: v.laddr_family(),
            raddr_family: v.raddr_family(),
        };
        let bytes = rec.bytes;
        let idx = self.idx;
        let family = self.sock(objref).map_or(0, |s| s.common.family);
        if family != AF_UNIX {
            self.diags.push(
                Diagnostic::new(
                    Code::FamilyMismatch,
                    rec.range(),
                    format!("SOCKET_UNIX for socket {objref} whose family is {family}"),
                )
                .record(idx)
                .objref(objref),
            );
        }
        if u.this != objref {
            self.diags.push(
                Diagnostic::new(
                    Code::FamilyMismatch,
                    field_range(off, &SOCKET_UNIX_LAYOUT, "this"),
                    format!("SOCKET_UNIX.this is {} inside the definition of socket {objref}", u.this),
                )
                .record(idx)
                .objref(objref),
            );
        }
        if u.peer != 0 {
            self.check_ref(u.peer, ObjKind::Sock, field_range(off, &SOCKET_UNIX_LAYOUT, "peer"), "SOCKET_UNIX.peer");
        }
        let mut addr = |len: u32, fam: u16, path: &[u8; 108], which: &str| -> UnixAddr {
            match UnixAddr::decode(len, fam, path) {
                Ok(a) => a,
                Err(e) => {
                    let d = Diagnostic::new(
                        Code::BadAddress,
                        field_range(off, &SOCKET_UNIX_LAYOUT, &format!("{which}_len")),
                        format!("socket {objref} {which}: {e}"),
                    );
                    self.diags.push(d.record(idx).objref(objref));
                    UnixAddr::Unnamed
                }
            }
        };
        let laddr = addr(u.laddr_len, u.laddr_family, sun_path(bytes, LADDR_PATH), "laddr");
        let raddr = addr(u.raddr_len, u.raddr_family, sun_path(bytes, RADDR_PATH), "raddr");
        if u.flags & !UNIX_FLAGS_KNOWN != 0 {
            self.diags.push(
                Diagnostic::new(
                    Code::BadUnixFlags,
                    field_range(off, &SOCKET_UNIX_LAYOUT, "flags"),
                    format!("SOCKET_UNIX.flags has unknown bits {:#x}", u.flags & !UNIX_FLAGS_KNOWN),
                )
                .record(idx)
                .objref(objref),
            );
        }
        if laddr.is_relative_path() {
            self.cwd_due = Some(objref);
        }
        if let Some(s) = self.sock_mut(objref) {
            s.unix = Some(UnixPart { peer: u.peer, peercred: u.peercred, flags: u.flags, laddr, raddr, cwd: None });
        }
    }

    pub(super) fn socket_inet(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = SocketInet::new_checked(rec) else { return };
        let Some(objref) = self.take_family(&rec) else { return };
        let i = SocketInetRepr::parse(&v);
        let family = self.sock(objref).map_or(0, |s| s.common.family);
        if !matches!(family, AF_INET | AF_INET6) {
            let d = Diagnostic::new(
                Code::FamilyMismatch,
                rec.range(),
                format!("SOCKET_INET for socket {objref} whose family is {family}"),
            );
            self.diags.push(d.record(self.idx).objref(objref));
        }
        // Lengths, addresses, ports, flags, type and state against the SOCKET (image/inet.rs).
        if let Some(s) = self.slots.get(objref).and_then(|p| self.socks.get(p)) {
            inet::check_record(s, off, self.idx, &i, &mut self.diags);
        }
        if let Some(s) = self.sock_mut(objref) {
            s.inet = Some(Box::new(i));
        }
    }

    /// `RS_OOB`: kept on its socket; what it may name (a stream's 1-byte skb) is checked with
    /// the whole image, once every queue is read (image/semantic.rs).
    pub(super) fn oob(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Oob::new_checked(rec) else { return };
        let r = OobRepr::parse(&v);
        if !self.check_ref(r.sock, ObjKind::Sock, field_range(off, &RS_OOB_LAYOUT, "sock"), "RS_OOB.sock") {
            return;
        }
        let twice = self.sock(r.sock).is_some_and(|s| s.oob.is_some());
        if twice {
            self.err(
                Code::BadOob,
                rec.range(),
                format!("socket {} has a second RS_OOB record: a socket holds one out-of-band byte at most", r.sock),
            );
            return;
        }
        if let Some(s) = self.sock_mut(r.sock) {
            s.oob = Some(OobMark { index: r.index, offset: off });
        }
    }

    pub(super) fn sockopt(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = SockOptRec::new_checked(rec) else { return };
        let r = SockOptRepr::parse(&v);
        let at = |f: &str| field_range(off, &RS_SOCKOPT_LAYOUT, f);
        if !self.check_ref(r.sock, ObjKind::Sock, at("sock"), "RS_SOCKOPT.sock") {
            return;
        }
        let opts = match crate::sockopt::decode(&r) {
            Ok(o) => o,
            Err(b) => {
                self.err(Code::BadSockopt, at(b.field), format!("socket {}: {}", r.sock, b.message));
                return;
            }
        };
        let Some(s) = self.sock_mut(r.sock) else { return };
        let (family, ty, twice) = (s.common.family, s.common.sock_type, s.opts.is_some());
        if twice {
            self.err(Code::BadSockopt, rec.range(), format!("socket {} has a second RS_SOCKOPT record", r.sock));
            return;
        }
        if let Some(kind) = crate::sockopt::OptKind::of(family, ty) {
            for o in &opts {
                let Some(name) = o.recorded() else { continue };
                if let Some(why) = kind.refuses(name) {
                    self.err(
                        Code::BadSockopt,
                        at("recorded"),
                        format!("socket {} records {}: {why}", r.sock, name.c_name()),
                    );
                    return;
                }
            }
        }
        if let Some(s) = self.sock_mut(r.sock) {
            s.opts = Some(Box::new(RecordedOpts { opts, offset: off }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn sun_path_offsets_match_the_layout() {
        assert_eq!(field_range(0, &SOCKET_UNIX_LAYOUT, "laddr_path"), LADDR_PATH..LADDR_PATH + 108);
        assert_eq!(field_range(0, &SOCKET_UNIX_LAYOUT, "raddr_path"), RADDR_PATH..RADDR_PATH + 108);
    }
}
