//! The one place with `unsafe`: closing descriptors this process inherited at numbers the
//! restored process needs. They are not owned by anything in this program, so no `OwnedFd`
//! exists for them; `close(2)` on a raw number is the only way.

#![allow(unsafe_code, reason = "closing inherited raw fds has no safe API; confined to this module")]

use rustix::fd::RawFd;

/// Close every fd in `wanted` that is open in this process and at or above 3 (stdio stays).
/// Returns the numbers closed. Call before the restore creates any descriptor, so every open
/// fd below the executor's base is an inherited one.
pub fn close_inherited(wanted: impl IntoIterator<Item = RawFd>) -> Vec<RawFd> {
    let open: std::collections::BTreeSet<RawFd> = match std::fs::read_dir("/proc/self/fd") {
        Ok(dir) => dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect(),
        Err(_) => return Vec::new(),
    };
    let mut closed = Vec::new();
    for fd in wanted {
        if fd < 3 || !open.contains(&fd) {
            continue;
        }
        // SAFETY: `fd` was listed in /proc/self/fd before this program opened any socket, and
        // nothing in this program holds it (all our descriptors are OwnedFds created later), so
        // borrowing it for one fcntl and then closing it cannot invalidate an OwnedFd or
        // BorrowedFd. The listing's own directory fd is closed by now: fcntl tells.
        let still_open = unsafe { rustix::io::fcntl_getfd(rustix::fd::BorrowedFd::borrow_raw(fd)) }.is_ok();
        if still_open {
            // SAFETY: as above; the fd is open and unowned.
            unsafe { rustix::io::close(fd) };
            closed.push(fd);
        }
    }
    closed
}
