//! The writer: resolved nodes to canonical image bytes in Linux-CR record order.

use super::resolve::{Addr, Node, TaskFds};
use super::*;
use crate::sock::{SkState, SsState};

pub(super) struct Writer<'n> {
    nodes: &'n [Node],
    out: Vec<u8>,
    next: i32,
    pub(super) sock_ref: Vec<Option<i32>>,
    file_ref: Vec<Option<i32>>,
    worklist: Vec<usize>,
}

impl<'n> Writer<'n> {
    pub(super) fn new(nodes: &'n [Node]) -> Self {
        Writer {
            nodes,
            // About what a socket with its file, fd and one short message takes (626 bytes in
            // a dump of 10,000 of them): the image grows without copying itself a dozen times.
            // Sized by the nodes already in memory, never by a length read from an input.
            out: Vec::with_capacity(nodes.len().saturating_mul(640)),
            next: 1,
            sock_ref: vec![None; nodes.len()],
            file_ref: vec![None; nodes.len()],
            worklist: Vec::new(),
        }
    }

    fn objref(&mut self, objtype: u32) -> i32 {
        let r = self.next;
        self.next += 1;
        ObjrefRepr { objtype, objref: r }.emit(&mut self.out);
        r
    }

    pub(super) fn write(&mut self, sc: &Scenario, tasks: &[TaskFds]) -> Vec<u8> {
        self.header(sc);
        for (pid, fds) in tasks {
            let table = self.objref(OBJ_FILE_TABLE);
            FileTableRepr { fdt_nfds: fds.len() as i32 }.emit(&mut self.out);
            for &(fd, i, cloexec) in fds {
                let file = self.file(i);
                FileDescRepr { fd_objref: file, fd_descriptor: fd, fd_close_on_exec: u32::from(cloexec) }
                    .emit(&mut self.out);
            }
            self.deferred();
            TaskRepr { pid: *pid, files_objref: table }.emit(&mut self.out);
        }
        // Sockets no fd holds (in flight only, or only referenced by nothing).
        for i in 0..self.nodes.len() {
            if self.sock_ref[i].is_none() && !self.nodes[i].embryo {
                self.sock(i);
            }
        }
        self.deferred();
        TailRepr { magic: MAGIC_TAIL }.emit(&mut self.out);
        std::mem::take(&mut self.out)
    }

    fn header(&mut self, sc: &Scenario) {
        let mut parts = sc.kernel.split(|c: char| !c.is_ascii_digit()).map(|p| p.parse::<u16>().unwrap_or(0));
        let h = HeaderRepr {
            magic: MAGIC_HEAD,
            arch_id: ARCH_X86_64,
            major: parts.next().unwrap_or(0),
            minor: parts.next().unwrap_or(0),
            patch: parts.next().unwrap_or(0),
            rev: REV,
            task_comm_len: 16,
            at_vector_size: 50,
            signal_nsig: 64,
            uts_sysname_len: UTS_LEN,
            uts_nodename_len: UTS_LEN,
            uts_release_len: UTS_LEN,
            uts_version_len: UTS_LEN,
            uts_machine_len: UTS_LEN,
            uts_domainname_len: UTS_LEN,
            rlimit_nlimits: 16,
            n_tty_buf_size: 4096,
            tty_termios_nccs: 19,
            time: sc.time,
            uflags: 0,
        };
        h.emit(&mut self.out);
        for s in [sc.kernel.as_bytes(), b"#1 SMP resocket", b"x86_64"] {
            let mut b = s.to_vec();
            b.resize(usize::from(UTS_LEN), 0);
            emit_raw(&mut self.out, RecordType::BUFFER, &b);
        }
    }

    fn file(&mut self, i: usize) -> i32 {
        if let Some(r) = self.file_ref[i] {
            return r;
        }
        let r = self.objref(OBJ_FILE);
        let sock = self.sock(i);
        let f_flags = O_RDWR | self.nodes[i].f_flags;
        FileSocketRepr { f_type: FILE_SOCKET, f_mode: 0x3, f_flags, sock_objref: sock, ..Default::default() }
            .emit(&mut self.out);
        self.file_ref[i] = Some(r);
        r
    }

    fn sock(&mut self, i: usize) -> i32 {
        if let Some(r) = self.sock_ref[i] {
            return r;
        }
        let n = &self.nodes[i];
        let r = self.objref(OBJ_SOCK);
        self.sock_ref[i] = Some(r);
        self.worklist.push(i);
        let inet = n.family != AF_UNIX;
        let (state, socket_state) = self.states(n);
        let (state, socket_state) = (state.raw(), socket_state.raw());
        // INET: sk_max_ack_backlog is 0 until listen(); AF_UNIX copies max_dgram_qlen.
        let backlog = n.listen.unwrap_or(if inet { 0 } else { crate::image::MAX_DGRAM_QLEN as i16 });
        SocketRepr {
            has_buffers: u8::from(!n.queue.is_empty()),
            socket_state,
            family: n.family,
            common_state: state,
            state,
            rcvlowat: 1,
            rcvbuf: n.rcvbuf / 2,
            sndbuf: n.sndbuf / 2,
            sock_type: n.ty,
            backlog,
            protocol: match (inet, n.ty) {
                (false, _) => 0,
                (true, SOCK_DGRAM) => IPPROTO_UDP,
                (true, _) => IPPROTO_TCP,
            },
            reuse: n.reuse,
            shutdown: n.shutdown,
            userlocks: n.userlocks,
            socket_flags: n.socket_flags,
            ..Default::default()
        }
        .emit(&mut self.out);
        match &n.addr {
            Addr::Unix(laddr) => self.unix_record(r, n, laddr),
            Addr::Inet(local) => {
                let remote = match n.peer {
                    Some(p) => match &self.nodes[p].addr {
                        Addr::Inet(a) => Some(*a),
                        Addr::Unix(_) => None,
                    },
                    None => n.remote,
                };
                inet_record(n.family, *local, remote, n.inet_flags).emit(&mut self.out);
            }
        }
        r
    }

    /// `sk_state` and `socket->state` of node `n`: LISTEN, ESTABLISHED (a TCP connection
    /// half-closed by shutdown(SHUT_WR): FIN_WAIT2 on the closer, CLOSE_WAIT on the other end)
    /// or CLOSE; SS_CONNECTING for an embryo.
    fn states(&self, n: &Node) -> (SkState, SsState) {
        let inet = n.family != AF_UNIX;
        let established = n.peer.is_some()
            || n.pair
            || n.embryo
            || (n.flags & (UNIX_PEER_GONE | UNIX_EXTERNAL_PEER) != 0)
            || (n.ty == SOCK_DGRAM && n.receiver && !inet);
        // A TCP connection half-closed by shutdown(SHUT_WR): FIN_WAIT2 on the closer, CLOSE_WAIT
        // on the other end (the FIN and its ACK cross loopback at once).
        let peer_wr = n.peer.is_some_and(|p| self.nodes[p].shutdown & 2 != 0);
        let tcp = inet && n.ty == SOCK_STREAM;
        let state = match (n.listen.is_some(), established, tcp, n.shutdown & 2 != 0, peer_wr) {
            (true, ..) => SkState::Listen,
            (false, true, true, true, false) => SkState::FinWait2,
            (false, true, true, false, true) => SkState::CloseWait,
            (false, true, ..) => SkState::Established,
            (false, false, ..) => SkState::Close,
        };
        let connected = matches!(state, SkState::Established | SkState::FinWait2 | SkState::CloseWait);
        let socket_state = if n.embryo {
            SsState::Connecting
        } else if connected && (n.ty != SOCK_DGRAM || n.pair) {
            SsState::Connected
        } else {
            SsState::Unconnected
        };
        (state, socket_state)
    }

    /// The SOCKET_UNIX record of socket `r` (node `n`, named `laddr`), after its peer's (an
    /// embryo's client's) socket, and its cwd for a relative name.
    fn unix_record(&mut self, r: i32, n: &Node, laddr: &crate::image::UnixAddr) {
        // The peer (or an embryo's client) is introduced before this socket's SOCKET_UNIX.
        let peer = n.peer.map(|p| self.sock(p)).unwrap_or(0);
        let raddr = match n.peer {
            Some(p) => match &self.nodes[p].addr {
                Addr::Unix(a) => a.clone(),
                Addr::Inet(..) => crate::image::UnixAddr::Unnamed,
            },
            None => n.remote_unix.clone().unwrap_or(crate::image::UnixAddr::Unnamed),
        };
        let (laddr_len, laddr_family, lp) = laddr.encode();
        let (raddr_len, raddr_family, rp) = raddr.encode();
        SocketUnixRepr {
            this: r,
            peer,
            peercred: 0,
            flags: n.flags,
            laddr_len,
            raddr_len,
            laddr_family,
            laddr_path: Bytes(lp),
            raddr_family,
            raddr_path: Bytes(rp),
        }
        .emit(&mut self.out);
        if laddr.is_relative_path() {
            let mut cwd = n.cwd.clone().unwrap_or_default();
            cwd.push(0);
            emit_raw(&mut self.out, RecordType::STRING, &cwd);
        }
    }

    fn deferred(&mut self) {
        // (INET sockets name their peers by address: nothing nests.)
        let mut k = 0;
        while k < self.worklist.len() {
            let i = self.worklist[k];
            k += 1;
            if !self.nodes[i].opts.is_empty() {
                let sock = self.sock(i);
                crate::sockopt::encode(sock, &self.nodes[i].opts).emit(&mut self.out);
            }
            let pending = self.nodes[i].pending.clone();
            for (index, (e, client)) in pending.into_iter().enumerate() {
                let embryo = self.sock(e);
                let client = client.map(|c| self.sock(c)).unwrap_or(0);
                let listener = self.sock(i);
                PendingRepr { listener, embryo, client, index: index as u32 }.emit(&mut self.out);
            }
            if self.nodes[i].queue.is_empty() {
                continue;
            }
            let queue = self.nodes[i].queue.clone();
            let mut files = Vec::new();
            for (_, _, rights) in &queue {
                files.push(rights.iter().map(|&r| self.file(r)).collect::<Vec<_>>());
            }
            let senders: Vec<i32> = queue.iter().map(|(from, _, _)| from.map(|f| self.sock(f)).unwrap_or(0)).collect();
            let owner = self.sock(i);
            let total: usize = queue.iter().map(|(_, d, _)| d.len()).sum();
            SocketQueueRepr { skb_count: queue.len() as u32, total_bytes: total as u32 }.emit(&mut self.out);
            for (((_, data, _), files), sender) in queue.iter().zip(files).zip(senders) {
                SocketBufferRepr {
                    lin_len: data.len() as u32,
                    skb_len: data.len() as u32,
                    sk_objref: sender,
                    pr_objref: owner,
                    ..Default::default()
                }
                .emit(&mut self.out);
                emit_raw(&mut self.out, RecordType::BUFFER, data);
                if !files.is_empty() {
                    wire::RightsRepr { objrefs: files }.emit(&mut self.out);
                }
            }
            if let Some(index) = self.nodes[i].oob {
                wire::OobRepr { sock: owner, index: index as u32 }.emit(&mut self.out);
            }
        }
        self.worklist.clear();
    }
}

/// The `SOCKET_INET` record of a socket at `local`, connected to `remote` if any: what the
/// kernel holds (AF_INET: `rcv_saddr`, `saddr`, `num`, `sport`, `daddr`, `dport` and the
/// `getsockname`/`getpeername` copies; AF_INET6: the `inet6_*` addresses, the embedded IPv4
/// address of a v4-mapped one in the IPv4 fields, and no `sockaddr`).
pub fn inet_record(
    family: u16,
    local: std::net::SocketAddr,
    remote: Option<std::net::SocketAddr>,
    rs_flags: u16,
) -> SocketInetRepr {
    use std::net::IpAddr;
    let v4 = |ip: IpAddr| -> [u8; 4] {
        match ip {
            IpAddr::V4(a) => a.octets(),
            IpAddr::V6(a) => a.to_ipv4_mapped().map_or([0; 4], |m| m.octets()),
        }
    };
    let v6 = |ip: IpAddr| -> [u8; 16] {
        match ip {
            IpAddr::V6(a) => a.octets(),
            IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
        }
    };
    let sockaddr_in = |a: std::net::SocketAddr| -> [u8; 16] {
        let mut b = [0u8; 16];
        b[0..2].copy_from_slice(&AF_INET.to_le_bytes());
        b[2..4].copy_from_slice(&a.port().to_be_bytes());
        b[4..8].copy_from_slice(&v4(a.ip()));
        b
    };
    let mut r = SocketInetRepr {
        rcv_saddr: Bytes(v4(local.ip())),
        saddr: Bytes(v4(local.ip())),
        num: local.port(),
        sport: Bytes(local.port().to_be_bytes()),
        uc_ttl: -1,
        rs_flags,
        ..Default::default()
    };
    if let Some(rm) = remote {
        r.daddr = Bytes(v4(rm.ip()));
        r.dport = Bytes(rm.port().to_be_bytes());
    }
    if family == AF_INET6 {
        r.inet6_rcv_saddr = Bytes(v6(local.ip()));
        r.inet6_saddr = Bytes(v6(local.ip()));
        if let Some(rm) = remote {
            r.inet6_daddr = Bytes(v6(rm.ip()));
        }
    } else {
        r.laddr_len = 16;
        r.laddr = Bytes(sockaddr_in(local));
        if let Some(rm) = remote {
            r.raddr_len = 16;
            r.raddr = Bytes(sockaddr_in(rm));
        }
    }
    r
}
