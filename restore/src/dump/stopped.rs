//! `--kill`: the dumped processes stopped for the length of the dump ([`Stopped`]), and the
//! guard process that resumes or kills them if the dump dies first ([`guard`]).

use super::DumpError;
use rustix::fd::OwnedFd;

/// The processes of a `checkpoint dump --kill`, stopped (SIGSTOP, every thread seen stopped in
/// `/proc/PID/task/*/stat`) for as long as the dump runs. The dump may then accept the pending
/// connections of their listeners on duplicates (the listeners' queues are emptied: the
/// processes must not run on). Dropped without [`Stopped::kill`] they are resumed (SIGCONT) if
/// nothing was accepted yet, and killed (SIGKILL) if something was.
///
/// Started with a guard ([`Stopped::stop_guarded`]), the same holds when this process dies
/// without dropping it (SIGKILL, a crash): the guard, a child process in a process group of its
/// own, holds pidfds of the processes and reads what this process tells it on a pipe; when the
/// pipe closes without the last word being "done", it resumes them or, once something was
/// accepted, kills them ([`guard`]).
#[derive(Debug)]
pub struct Stopped {
    pidfds: Vec<(i32, OwnedFd)>,
    /// The dump accepted a connection on a listener of theirs.
    consumed: bool,
    /// The accepted connections, held until the processes are killed.
    pub(super) accepted: Vec<OwnedFd>,
    done: bool,
    /// The guard process and the pipe to it.
    guard: Option<(std::process::Child, std::process::ChildStdin)>,
}

/// What [`Stopped`] tells its [`guard`] (one byte each); the last one heard decides.
mod word {
    /// The guard has its pidfds (guard → this process, on its stdout).
    pub const READY: u8 = b'r';
    /// Connections may have been accepted: kill, do not resume.
    pub const CONSUMED: u8 = b'c';
    /// This process has resumed or killed the processes itself: do nothing.
    pub const DONE: u8 = b'd';
}

impl Stopped {
    /// SIGSTOP each process (by pidfd) and wait until every thread of each is stopped.
    pub fn stop(pids: &[i32]) -> Result<Stopped, DumpError> {
        Self::stop_with(pids, None)
    }

    /// [`Stopped::stop`], with the guard `guard` started first: a command that runs [`guard`]
    /// with `pids` (`checkpoint` runs itself: `checkpoint __guard PID...`). The processes are
    /// stopped only once the guard holds its pidfds.
    pub fn stop_guarded(pids: &[i32], mut guard: std::process::Command) -> Result<Stopped, DumpError> {
        use std::io::Read;
        use std::os::unix::process::CommandExt;
        use std::process::Stdio;
        // Its own process group: a Ctrl-C that stops the dump does not stop the guard.
        let mut child = guard
            .args(pids.iter().map(i32::to_string))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .process_group(0)
            .spawn()
            .map_err(|e| format!("the guard process: {e}"))?;
        let (Some(stdin), Some(mut stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err(DumpError::from("the guard process: no pipes"));
        };
        let mut ready = [0u8; 1];
        if stdout.read_exact(&mut ready).is_err() || ready[0] != word::READY {
            let _ = child.wait();
            return Err(DumpError::from("the guard process did not start"));
        }
        Self::stop_with(pids, Some((child, stdin)))
    }

    fn stop_with(
        pids: &[i32],
        guard: Option<(std::process::Child, std::process::ChildStdin)>,
    ) -> Result<Stopped, DumpError> {
        use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
        let mut st = Stopped { pidfds: Vec::new(), consumed: false, accepted: Vec::new(), done: false, guard };
        for &pid in pids {
            let p = Pid::from_raw(pid).ok_or(format!("{pid} is not a pid"))?;
            let fd = pidfd_open(p, PidfdFlags::empty()).map_err(|e| format!("pidfd_open({pid}): {e}"))?;
            pidfd_send_signal(&fd, Signal::STOP).map_err(|e| format!("SIGSTOP to {pid}: {e}"))?;
            st.pidfds.push((pid, fd));
        }
        for _ in 0..500 {
            if pids.iter().all(|&pid| all_threads_stopped(pid)) {
                failpoint("stopped");
                return Ok(st);
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Err(DumpError::from(format!("the processes {pids:?} did not stop within 5 s of SIGSTOP")))
    }

    /// Whether the dump accepted connections of theirs (they can no longer be resumed as they
    /// were).
    pub fn consumed(&self) -> bool {
        self.consumed
    }

    /// From here on the processes are killed, not resumed, whatever happens: told to the guard
    /// before the first accept().
    pub(super) fn mark_consumed(&mut self) -> Result<(), DumpError> {
        self.consumed = true;
        self.tell(word::CONSUMED)
    }

    fn tell(&mut self, w: u8) -> Result<(), DumpError> {
        use std::io::Write;
        match &mut self.guard {
            Some((_, pipe)) => pipe.write_all(&[w]).map_err(|e| DumpError::System(format!("the guard process: {e}"))),
            None => Ok(()),
        }
    }

    /// The guard is told "done" and reaped.
    fn dismiss_guard(&mut self) {
        let _ = self.tell(word::DONE);
        if let Some((mut child, pipe)) = self.guard.take() {
            drop(pipe);
            let _ = child.wait();
        }
    }

    /// SIGKILL each process (the `--kill` contract), then close the accepted connections.
    pub fn kill(mut self) -> Result<(), DumpError> {
        self.done = true;
        let mut err = Ok(());
        for (pid, fd) in &self.pidfds {
            if let Err(e) = rustix::process::pidfd_send_signal(fd, rustix::process::Signal::KILL) {
                if e != rustix::io::Errno::SRCH {
                    err = Err(DumpError::from(format!("SIGKILL to {pid}: {e}")));
                }
            }
        }
        self.dismiss_guard();
        err
    }
}

impl Drop for Stopped {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let sig = if self.consumed { rustix::process::Signal::KILL } else { rustix::process::Signal::CONT };
        for (_, fd) in &self.pidfds {
            let _ = rustix::process::pidfd_send_signal(fd, sig);
        }
        self.dismiss_guard();
    }
}

/// The guard of a [`Stopped`] (run in a child process: `checkpoint __guard PID...`): open a
/// pidfd of each process, say ready on `out`, read `input` to its end, and then, unless the
/// last word was "done", SIGKILL the processes if the last word was "consumed", else SIGCONT
/// them. Its pipe closes when the dumping process exits, however it exits.
pub fn guard(pids: &[i32], mut input: impl std::io::Read, mut out: impl std::io::Write) -> Result<(), DumpError> {
    use rustix::process::{pidfd_open, pidfd_send_signal, Pid, PidfdFlags, Signal};
    let mut fds = Vec::new();
    for &pid in pids {
        let p = Pid::from_raw(pid).ok_or(format!("{pid} is not a pid"))?;
        fds.push(pidfd_open(p, PidfdFlags::empty()).map_err(|e| format!("pidfd_open({pid}): {e}"))?);
    }
    out.write_all(&[word::READY]).and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    let mut last = None;
    let mut buf = [0u8; 64];
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => last = buf[..n].last().copied().or(last),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let sig = match last {
        Some(word::DONE) => return Ok(()),
        Some(word::CONSUMED) => Signal::KILL,
        _ => Signal::CONT,
    };
    for fd in &fds {
        let _ = pidfd_send_signal(fd, sig);
    }
    Ok(())
}

/// A test's way to stop the dump at a named point: with `RESOCKET_FAILPOINT=NAME` in the
/// environment, the dump sleeps there until it is killed (points: `stopped`, after the
/// processes are stopped; `accepted`, after a listener's pending connections were accepted).
pub(super) fn failpoint(name: &str) {
    if std::env::var_os("RESOCKET_FAILPOINT").is_some_and(|v| v == name) {
        eprintln!("checkpoint: failpoint {name}: waiting to be killed");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

/// Every thread of `pid` is stopped (`T`, `t`) or exiting (`Z`, `X`), per `/proc/PID/task/*/stat`.
fn all_threads_stopped(pid: i32) -> bool {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else { return false };
    tasks.flatten().all(|t| {
        let stat = std::fs::read(t.path().join("stat")).unwrap_or_default();
        // `pid (comm) S ...`: the comm may hold ')' itself; the state follows the last one.
        let state = stat.iter().rposition(|&b| b == b')').and_then(|at| stat.get(at + 2));
        matches!(state, Some(b'T' | b't' | b'Z' | b'X'))
    })
}
