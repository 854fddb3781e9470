//! The queue records: SOCKET_QUEUE, SOCKET_BUFFER and its BUFFER, RS_RIGHTS, and RS_PENDING
//! (a listener's connections not yet accepted).

use super::{BufState, Loader, QueueState};
use crate::diag::Code;
use crate::image::{field_range, Message, ObjKind, PendingConn};
use crate::wire::*;
use std::borrow::Cow;

/// Make room for one more element, doubling from one: most listeners hold one or two pending
/// connections, and `Vec::push` would start at four.
fn grow_exact<T>(v: &mut Vec<T>) {
    if v.len() == v.capacity() {
        v.reserve_exact(v.len().max(1));
    }
}

impl<'a> Loader<'a> {
    pub(super) fn socket_queue(&mut self, rec: Record<'a>) {
        if self.queue.is_some() {
            self.close_queue(rec.offset);
        }
        let Ok(v) = SocketQueue::new_checked(rec) else { return };
        self.queue = Some(QueueState {
            offset: rec.offset,
            record: self.idx,
            count: v.skb_count(),
            bytes: v.total_bytes(),
            seen: 0,
            seen_bytes: 0,
            owner: None,
            over: false,
            lenient: false,
        });
    }

    pub(super) fn socket_buffer(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = SocketBuffer::new_checked(rec) else { return };
        let b = SocketBufferRepr::parse(&v);
        let Some(q) = &mut self.queue else {
            self.err(Code::QueueCountMismatch, rec.range(), "SOCKET_BUFFER outside a SOCKET_QUEUE");
            return;
        };
        if q.seen >= q.count && !q.over {
            let (count, qo) = (q.count, q.offset);
            q.over = true; // report once
            self.err(
                Code::QueueCountMismatch,
                qo + 8..qo + 12,
                format!("SOCKET_QUEUE declares {count} buffers but more follow (at {off:#x})"),
            );
        }
        let Some(q) = &mut self.queue else { return };
        q.seen = q.seen.saturating_add(1);
        q.seen_bytes += u64::from(b.lin_len);
        let prev_owner = q.owner.replace(b.pr_objref);
        let owner_ok = self.check_ref(
            b.pr_objref,
            ObjKind::Sock,
            field_range(off, &SOCKET_BUFFER_LAYOUT, "pr_objref"),
            "SOCKET_BUFFER.pr_objref",
        );
        if let Some(p) = prev_owner {
            if p != b.pr_objref {
                self.err(
                    Code::BadBuffer,
                    field_range(off, &SOCKET_BUFFER_LAYOUT, "pr_objref"),
                    format!("buffer of socket {} inside the queue of socket {p}", b.pr_objref),
                );
            }
        }
        if b.sk_objref != 0 {
            self.check_ref(
                b.sk_objref,
                ObjKind::Sock,
                field_range(off, &SOCKET_BUFFER_LAYOUT, "sk_objref"),
                "SOCKET_BUFFER.sk_objref",
            );
        }
        if b.nr_frags != 0 || b.frg_len != 0 {
            self.err(
                Code::BadBuffer,
                field_range(off, &SOCKET_BUFFER_LAYOUT, "nr_frags"),
                format!("AF_UNIX skb claims {} fragments / {} fragment bytes", b.nr_frags, b.frg_len),
            );
        }
        if b.skb_len != b.lin_len {
            self.err(
                Code::BadBuffer,
                field_range(off, &SOCKET_BUFFER_LAYOUT, "skb_len"),
                format!("skb_len {} differs from lin_len {} in an skb without fragments", b.skb_len, b.lin_len),
            );
        }
        if owner_ok {
            self.buf = Some(BufState { offset: off, sender: b.sk_objref, owner: b.pr_objref, lin_len: b.lin_len });
        } else {
            self.buf = Some(BufState { offset: off, sender: 0, owner: 0, lin_len: b.lin_len });
        }
    }

    pub(super) fn buffer(&mut self, rec: Record<'a>) {
        let Some(b) = self.buf.take() else {
            self.err(Code::MisplacedRecord, rec.range(), "BUFFER record that belongs to no SOCKET_BUFFER");
            return;
        };
        let data = rec.payload();
        if data.len() != b.lin_len as usize {
            self.err(
                Code::BadBuffer,
                rec.range(),
                format!("BUFFER holds {} bytes, its SOCKET_BUFFER says lin_len {}", data.len(), b.lin_len),
            );
        }
        if b.owner == 0 {
            return;
        }
        if let Some(pos) = self.slots.get(b.owner).filter(|&p| p < self.socks.len()) {
            let m = Message { sender: b.sender, data: Cow::Borrowed(data), rights: Vec::new(), offset: b.offset };
            self.last_msg = Some(self.msgs.len());
            self.msgs.push((pos, m));
        }
    }

    pub(super) fn rights(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Some(i) = self.last_msg.take() else {
            self.err(Code::BadRights, rec.range(), "RS_RIGHTS must follow the BUFFER of a queued message");
            return;
        };
        let v = match Rights::new_checked(rec) {
            Ok(v) => v,
            Err(e) => {
                self.err(Code::BadRights, off + 4..off + 8, e.to_string());
                return;
            }
        };
        let n = v.nr_fds();
        if n == 0 || n > SCM_MAX_FD {
            self.err(
                Code::BadRights,
                off + 8..off + 12,
                format!("RS_RIGHTS carries {n} fds; SCM_RIGHTS allows 1..={SCM_MAX_FD}"),
            );
        }
        if v.reserved() != 0 {
            self.err(Code::NonzeroPadding, off + 12..off + 16, "RS_RIGHTS.reserved is not zero");
        }
        let family = self.msgs.get(i).and_then(|&(pos, _)| self.socks.get(pos)).map(|s| s.common.family);
        if let Some(f) = family.filter(|&f| f != AF_UNIX) {
            self.err(
                Code::BadRights,
                rec.range(),
                format!(
                    "RS_RIGHTS on the queue of an {} socket: SCM_RIGHTS travels on AF_UNIX sockets only",
                    crate::summary::family_name(f)
                ),
            );
        }
        let mut refs = Vec::new();
        for (k, r) in v.objrefs().enumerate() {
            let range = off + 16 + 4 * k..off + 20 + 4 * k;
            if r <= 0 || self.objs.get(r).is_none() {
                self.err(
                    Code::RightsMissing,
                    range,
                    format!("SCM_RIGHTS entry {k} names objref {r}, which no earlier OBJREF introduced"),
                );
            } else if self.check_ref(r, ObjKind::File, range, "SCM_RIGHTS entry") {
                refs.push(r);
            }
        }
        if let Some((_, m)) = self.msgs.get_mut(i) {
            m.rights = refs;
        }
    }

    pub(super) fn pending(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Pending::new_checked(rec) else { return };
        let p = PendingRepr::parse(&v);
        let l = self.check_ref(
            p.listener,
            ObjKind::Sock,
            field_range(off, &RS_PENDING_LAYOUT, "listener"),
            "RS_PENDING.listener",
        );
        let e = self.check_ref(
            p.embryo,
            ObjKind::Sock,
            field_range(off, &RS_PENDING_LAYOUT, "embryo"),
            "RS_PENDING.embryo",
        );
        if p.client != 0 {
            self.check_ref(
                p.client,
                ObjKind::Sock,
                field_range(off, &RS_PENDING_LAYOUT, "client"),
                "RS_PENDING.client",
            );
        }
        if !(l && e) {
            return;
        }
        let Some(listener) = self.sock_mut(p.listener) else { return };
        let expect = listener.pending.len();
        grow_exact(&mut listener.pending);
        listener.pending.push(PendingConn { embryo: p.embryo, client: p.client, offset: off });
        if p.index as usize != expect {
            self.err(
                Code::BadPending,
                field_range(off, &RS_PENDING_LAYOUT, "index"),
                format!("RS_PENDING.index is {} but it is connection {expect} of listener {}", p.index, p.listener),
            );
        }
    }
}
