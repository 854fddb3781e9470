//! Where each record may stand: the header and its uts buffers, exact sizes, definition
//! nesting, queue boundaries, and the records outside any object (OBJREF, STRING, TAIL); each
//! record then goes to its family's reader.

use super::{Loader, Open, QueueState};
use crate::diag::{Code, Diagnostic};
use crate::image::{field_range, ObjKind, UnknownRecord};
use crate::wire::{self, *};
use std::borrow::Cow;

impl<'a> Loader<'a> {
    pub(super) fn record(&mut self, rec: Record<'a>) {
        if self.tail {
            self.err(Code::DataAfterTail, rec.range(), format!("{} record after the TAIL", rec.ty));
            return;
        }
        if self.header_and_uts(rec) || !self.size_ok(rec) {
            return;
        }
        self.close_what_it_ends(rec);
        self.dispatch(rec);
    }

    /// The HEADER and the three uts BUFFERs after it; true when `rec` was one of them.
    fn header_and_uts(&mut self, rec: Record<'a>) -> bool {
        // Header and uts buffers.
        if self.idx == 0 {
            if rec.ty != RecordType::HEADER {
                self.err(Code::MissingHeader, rec.range(), format!("the image starts with {}, not HEADER", rec.ty));
                if rec.ty == RecordType::BUFFER {
                    // The header alone is lost: take the leading BUFFERs as the uts strings.
                    self.uts_lens = [rec.payload().len() as u16; 3];
                    self.uts_due = 3;
                    self.missing_header = true;
                }
            } else {
                self.header(rec);
                return true;
            }
        } else if rec.ty == RecordType::HEADER {
            self.err(Code::MisplacedRecord, rec.range(), "a second HEADER record");
            return true;
        }
        if self.uts_due > 0 {
            let i = 3 - self.uts_due as usize;
            let want = self.uts_lens[i] as usize;
            let len_ok = rec.payload().len() == want || self.missing_header;
            if rec.ty != RecordType::BUFFER || !len_ok {
                self.err(
                    Code::BadUts,
                    rec.range(),
                    format!(
                        "uts buffer {} of {want} bytes expected, found {} of {} bytes",
                        i + 1,
                        rec.ty,
                        rec.payload().len()
                    ),
                );
                // Count a BUFFER of the wrong size as the uts string it stands in for, so the
                // next ones are not reported again as misplaced.
                if rec.ty == RecordType::BUFFER {
                    self.uts_due -= 1;
                    return true;
                }
                self.uts_due = 0;
            } else {
                let p = rec.payload();
                let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
                self.img.header.uts.push(p[..end].to_vec());
                self.uts_due -= 1;
                return true;
            }
        }
        false
    }

    /// Fixed-size records: the exact length, then zero padding; false when `rec` cannot be read.
    fn size_ok(&mut self, rec: Record<'a>) -> bool {
        let off = rec.offset;
        // Fixed-size records: exact length first.
        let layout_index = wire::layout_index(rec.ty);
        if let Some(layout) = layout_index.and_then(|i| LAYOUTS.get(i)) {
            let size_ok = if rec.ty == RecordType::FILE {
                // A FILE of another f_type has the 48-byte generic layout.
                rec.len() == layout.size || (rec.len() == 48 && le_u32(rec.bytes, 8) != FILE_SOCKET)
            } else {
                rec.len() == layout.size
            };
            if !size_ok {
                self.err(
                    Code::WrongSize,
                    off + 4..off + 8,
                    format!("{} record has len {}, its layout is {} bytes", rec.ty, rec.len(), layout.size),
                );
                self.after_bad_record(&rec);
                return false;
            }
            if rec.len() == layout.size {
                self.check_padding_at(&rec, layout, layout_index);
            }
        }
        true
    }

    /// What `rec` ends by standing where it stands: the open definitions, a cwd or ERROR string
    /// due, a SOCKET_BUFFER's BUFFER, the message RS_RIGHTS attaches to, the open queue.
    fn close_what_it_ends(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        if rec.ty != RecordType::STRING {
            self.error_string_due = false;
        }
        // Where records may appear: definition nesting, queues, cwd strings.
        let nested_ok = matches!(
            rec.ty,
            RecordType::OBJREF
                | RecordType::SOCKET
                | RecordType::SOCKET_UNIX
                | RecordType::SOCKET_INET
                | RecordType::FILE
                | RecordType::FILE_TABLE
        ) || (rec.ty == RecordType::STRING && (self.cwd_due.is_some() || self.error_string_due));
        if rec.ty != RecordType::STRING {
            if let Some(objref) = self.cwd_due.take() {
                self.diags.push(
                    Diagnostic::new(
                        Code::RelativeWithoutCwd,
                        off..off,
                        format!(
                            "socket {objref} is bound to a relative path but no cwd STRING follows its SOCKET_UNIX"
                        ),
                    )
                    .objref(objref)
                    .record(self.idx),
                );
            }
        }
        if !nested_ok && !self.stack.is_empty() {
            self.close_open_socket_defs(&rec);
        }
        if let Some(b) = &self.buf {
            if rec.ty != RecordType::BUFFER {
                let o = b.offset;
                self.buf = None;
                self.err(
                    Code::BadBuffer,
                    o..o + SOCKET_BUFFER_LAYOUT.size,
                    "SOCKET_BUFFER is not followed by its BUFFER",
                );
            }
        }
        if rec.ty != RecordType::RS_RIGHTS && rec.ty != RecordType::BUFFER {
            self.last_msg = None;
        }
        let queue_ok = nested_ok
            || matches!(
                rec.ty,
                RecordType::SOCKET_BUFFER | RecordType::BUFFER | RecordType::RS_RIGHTS | RecordType::SOCKET_FRAG
            );
        let queue_done = self.queue.as_ref().is_some_and(|q| q.seen >= q.count && self.buf.is_none());
        if self.queue.is_some() && (!queue_ok || (queue_done && rec.ty == RecordType::SOCKET_QUEUE)) {
            self.close_queue(off);
        }
    }

    /// Hand `rec` to the reader of its record family.
    fn dispatch(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        match rec.ty {
            RecordType::OBJREF => self.objref(rec),
            RecordType::SOCKET => self.socket(rec),
            RecordType::SOCKET_UNIX => self.socket_unix(rec),
            RecordType::SOCKET_INET => self.socket_inet(rec),
            RecordType::STRING => self.string(rec),
            RecordType::FILE => self.file(rec),
            RecordType::FILE_TABLE => self.file_table(rec),
            RecordType::FILE_DESC => self.file_desc(rec),
            RecordType::SOCKET_QUEUE => self.socket_queue(rec),
            RecordType::SOCKET_BUFFER => self.socket_buffer(rec),
            RecordType::SOCKET_FRAG => {
                self.err(Code::BadBuffer, rec.range(), "AF_UNIX buffers have no fragments (SOCKET_FRAG)");
            }
            RecordType::BUFFER => self.buffer(rec),
            RecordType::RS_RIGHTS => self.rights(rec),
            RecordType::RS_PENDING => self.pending(rec),
            RecordType::RS_TASK => self.task(rec),
            RecordType::RS_SOCKOPT => self.sockopt(rec),
            RecordType::RS_OOB => self.oob(rec),
            RecordType::HEADER_ARCH => {
                if self.idx != 4 {
                    self.err(Code::MisplacedRecord, rec.range(), "HEADER_ARCH must directly follow the uts buffers");
                }
            }
            RecordType::TAIL => self.tail(rec),
            RecordType::ERROR => {
                self.err(Code::ErrorRecord, rec.range(), "the image contains a CKPT_HDR_ERROR record");
                self.error_string_due = true;
            }
            _ => {
                self.err(
                    Code::UnknownRecord,
                    rec.range(),
                    format!("unknown record type {} ({} bytes) skipped", rec.ty.0, rec.len()),
                );
                self.img.unknown.push(UnknownRecord {
                    record: self.idx,
                    offset: off,
                    ty: rec.ty,
                    payload: Cow::Borrowed(rec.payload()),
                });
            }
        }
    }

    /// After a record that could not be read, keep the grammar state sane.
    fn after_bad_record(&mut self, rec: &Record<'_>) {
        match rec.ty {
            RecordType::SOCKET => {
                if let Some(Open::Socket(objref, _)) = self.stack.last() {
                    let objref = *objref;
                    self.stack.pop();
                    self.stack.push(Open::Family(objref, rec.offset));
                }
            }
            RecordType::SOCKET_UNIX | RecordType::SOCKET_INET => {
                if let Some(Open::Family(..)) = self.stack.last() {
                    self.stack.pop();
                }
            }
            RecordType::FILE => {
                if let Some(Open::File(..)) = self.stack.last() {
                    self.stack.pop();
                }
            }
            RecordType::SOCKET_BUFFER => {
                if let Some(q) = &mut self.queue {
                    q.seen += 1;
                }
            }
            RecordType::SOCKET_QUEUE => {
                // Unreadable counts: accept the buffers that follow without checking them.
                self.queue = Some(QueueState {
                    offset: rec.offset,
                    record: self.idx,
                    count: u32::MAX,
                    bytes: 0,
                    seen: 0,
                    seen_bytes: 0,
                    owner: None,
                    over: true,
                    lenient: true,
                });
            }
            _ => {}
        }
    }

    fn header(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Header::new_checked(rec) else {
            self.err(
                Code::MissingHeader,
                off + 4..off + 8,
                format!("HEADER record has len {}, its layout is {} bytes", rec.len(), HEADER_LAYOUT.size),
            );
            return;
        };
        let h = HeaderRepr::parse(&v);
        if h.magic != MAGIC_HEAD {
            self.err(
                Code::BadMagic,
                field_range(off, &HEADER_LAYOUT, "magic"),
                format!("HEADER.magic is {:#018x}, expected {MAGIC_HEAD:#018x}", h.magic),
            );
        }
        if h.rev != REV {
            self.err(
                Code::BadRev,
                field_range(off, &HEADER_LAYOUT, "rev"),
                format!("HEADER.rev is {}, expected {REV}", h.rev),
            );
        }
        if h.arch_id != ARCH_X86_64 {
            self.err(
                Code::BadArch,
                field_range(off, &HEADER_LAYOUT, "arch_id"),
                format!("HEADER.arch_id is {}, expected {ARCH_X86_64} (X86_64)", h.arch_id),
            );
        }
        if h.uflags != 0 {
            self.err(
                Code::NonzeroUflags,
                field_range(off, &HEADER_LAYOUT, "uflags"),
                format!("HEADER.uflags is {:#x}", h.uflags),
            );
        }
        self.check_padding(&rec, &HEADER_LAYOUT);
        self.uts_lens = [h.uts_release_len, h.uts_version_len, h.uts_machine_len];
        self.uts_due = 3;
        self.img.header.repr = h;
    }

    fn objref(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Objref::new_checked(rec) else { return };
        let (objtype, objref) = (v.objtype(), v.objref());
        if let Some(Open::Socket(o, so)) = self.stack.last() {
            let (o, so) = (*o, *so);
            self.stack.pop();
            self.diags.push(Diagnostic::new(
                Code::MisplacedRecord,
                so..so + OBJREF_LAYOUT.size,
                format!("OBJREF {o} of type SOCK is not followed by a SOCKET record"),
            ));
        }
        if let Some(Open::Table(o, so)) = self.stack.last() {
            let (o, so) = (*o, *so);
            self.stack.pop();
            self.diags.push(Diagnostic::new(
                Code::MisplacedRecord,
                so..so + OBJREF_LAYOUT.size,
                format!("OBJREF {o} of type FILE_TABLE is not followed by a FILE_TABLE record"),
            ));
        }
        let kind = match objtype {
            OBJ_FILE_TABLE => ObjKind::FileTable,
            OBJ_FILE => ObjKind::File,
            OBJ_SOCK => ObjKind::Sock,
            t => {
                let name = sym::OBJ.iter().find(|(v, _)| *v == u64::from(t)).map_or("unknown", |(_, n)| n);
                let msg = if t >= OBJ_MAX {
                    format!("OBJREF.objtype {t} is not an object type (CKPT_OBJ_MAX is {OBJ_MAX})")
                } else {
                    format!("OBJREF.objtype {t} ({name}) has no place in a socket image")
                };
                self.err(Code::ObjrefBadType, field_range(off, &OBJREF_LAYOUT, "objtype"), msg);
                return;
            }
        };
        let r = field_range(off, &OBJREF_LAYOUT, "objref");
        if objref <= 0 {
            self.err(Code::ObjrefNonpositive, r, format!("OBJREF introduces objref {objref}; objrefs start at 1"));
            return;
        }
        if let Some(prev) = self.objs.get(objref) {
            self.err(
                Code::ObjrefDuplicate,
                r,
                format!("objref {objref} was already introduced (as a {})", prev.name()),
            );
            return;
        }
        self.objs.insert(objref, kind);
        self.stack.push(match kind {
            ObjKind::Sock => Open::Socket(objref, off),
            ObjKind::File => Open::File(objref, off),
            ObjKind::FileTable => Open::Table(objref, off),
        });
    }
    fn string(&mut self, rec: Record<'a>) {
        if std::mem::take(&mut self.error_string_due) {
            // Linux-CR's error record: ERROR then a STRING whose first byte is NUL.
            let msg = rec.payload().iter().skip(1).take_while(|&&b| b != 0).copied().collect::<Vec<u8>>();
            if let Some(d) = self.diags.iter_mut().rev().find(|d| d.code == Code::ErrorRecord) {
                d.message = format!("the checkpoint failed: {}", crate::bstr::escape(&msg));
                d.range.end = rec.offset + rec.len();
            }
            return;
        }
        let Some(objref) = self.cwd_due.take() else {
            self.err(Code::MisplacedRecord, rec.range(), "STRING record outside a socket's cwd position");
            return;
        };
        let p = rec.payload();
        let body = match p.split_last() {
            Some((0, body)) => body,
            _ => {
                self.err(Code::RelativeWithoutCwd, rec.range(), "the cwd STRING does not end with its NUL");
                p
            }
        };
        if body.first() != Some(&b'/') || body.contains(&0) {
            let d = Diagnostic::new(
                Code::RelativeWithoutCwd,
                rec.range(),
                format!("socket {objref}'s cwd {:?} is not an absolute path", crate::bstr::escape(body)),
            );
            self.diags.push(d.record(self.idx).objref(objref));
        }
        if let Some(u) = self.sock_mut(objref).and_then(|s| s.unix.as_mut()) {
            u.cwd = Some(body.into());
        }
    }

    fn tail(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Tail::new_checked(rec) else { return };
        if v.magic() != MAGIC_TAIL {
            self.err(
                Code::BadTailMagic,
                field_range(off, &TAIL_LAYOUT, "magic"),
                format!("TAIL.magic is {:#018x}, expected {MAGIC_TAIL:#018x}", v.magic()),
            );
        }
        self.tail = true;
    }
}
