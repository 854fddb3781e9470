//! The descriptor records: FILE (a socket file), FILE_TABLE, FILE_DESC and RS_TASK.

use super::{Loader, Open};
use crate::diag::Code;
use crate::image::{field_range, Fd, FileObj, FileTable, ObjKind};
use crate::wire::{self, *};

impl<'a> Loader<'a> {
    pub(super) fn file(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        self.pop_unfinished_sockets(&rec);
        let objref = match self.stack.last() {
            Some(Open::File(o, _)) => {
                let o = *o;
                self.stack.pop();
                o
            }
            _ => {
                self.err(Code::MisplacedRecord, rec.range(), "FILE record without a preceding OBJREF of type FILE");
                return;
            }
        };
        let f_type = le_u32(rec.bytes, 8);
        if f_type != FILE_SOCKET {
            let name = sym::FILE_TYPE.iter().find(|(v, _)| *v == u64::from(f_type)).map_or("unknown", |(_, n)| n);
            self.err(
                Code::UnsupportedFile,
                off + 8..off + 12,
                format!("FILE {objref} has f_type {f_type} ({name}), not SOCKET"),
            );
            return;
        }
        let Ok(v) = FileSocket::new_checked(rec) else { return };
        let repr = FileSocketRepr::parse(&v);
        self.check_ref(
            repr.sock_objref,
            ObjKind::Sock,
            field_range(off, &FILE_SOCKET_LAYOUT, "sock_objref"),
            "FILE.sock_objref",
        );
        self.files.push(FileObj { objref, repr, offset: off });
    }

    pub(super) fn file_table(&mut self, rec: Record<'a>) {
        let Ok(v) = wire::FileTable::new_checked(rec) else { return };
        let Some(Open::Table(objref, _)) = self.stack.last() else {
            self.err(
                Code::MisplacedRecord,
                rec.range(),
                "FILE_TABLE record without a preceding OBJREF of type FILE_TABLE",
            );
            return;
        };
        let objref = *objref;
        self.stack.pop();
        self.img.tables.push(FileTable {
            objref,
            nfds: v.fdt_nfds(),
            offset: rec.offset,
            desc_records: 0,
            pid: None,
            fds: Vec::new(),
        });
        self.cur_table = Some(self.img.tables.len() - 1);
        self.cur_fds.clear();
    }

    pub(super) fn file_desc(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = FileDesc::new_checked(rec) else { return };
        let Some(t) = self.cur_table else {
            self.err(Code::MisplacedRecord, rec.range(), "FILE_DESC before any FILE_TABLE");
            return;
        };
        if let Some(table) = self.img.tables.get_mut(t) {
            table.desc_records += 1;
        }
        let (file, fd, coe) = (v.fd_objref(), v.fd_descriptor(), v.fd_close_on_exec());
        let ok = self.check_ref(
            file,
            ObjKind::File,
            field_range(off, &FILE_DESC_LAYOUT, "fd_objref"),
            "FILE_DESC.fd_objref",
        );
        let r = field_range(off, &FILE_DESC_LAYOUT, "fd_descriptor");
        if fd < 0 {
            self.err(Code::BadFd, r, format!("fd {fd} is negative"));
            return;
        }
        if coe > 1 {
            self.err(
                Code::BadFd,
                field_range(off, &FILE_DESC_LAYOUT, "fd_close_on_exec"),
                format!("fd_close_on_exec is {coe}, not 0 or 1"),
            );
        }
        let Some(table) = self.img.tables.get_mut(t) else { return };
        if !self.cur_fds.insert(fd) {
            let objref = table.objref;
            self.err(Code::BadFd, r, format!("fd {fd} appears twice in file table {objref}"));
            return;
        }
        if ok {
            table.fds.push(Fd { fd, file, cloexec: coe != 0, offset: off });
        }
    }

    pub(super) fn task(&mut self, rec: Record<'a>) {
        let off = rec.offset;
        let Ok(v) = Task::new_checked(rec) else { return };
        let (pid, files) = (v.pid(), v.files_objref());
        if !self.check_ref(
            files,
            ObjKind::FileTable,
            field_range(off, &RS_TASK_LAYOUT, "files_objref"),
            "RS_TASK.files_objref",
        ) {
            return;
        }
        if pid <= 0 {
            self.err(
                Code::MisplacedRecord,
                field_range(off, &RS_TASK_LAYOUT, "pid"),
                format!("RS_TASK.pid {pid} is not a pid"),
            );
        }
        if let Some(t) = self.img.tables.iter_mut().find(|t| t.objref == files) {
            t.pid = Some(pid);
        }
        self.cur_table = None;
    }
}
