#!/usr/bin/env python3
"""Build a socket scenario in this process, print 'ready', then wait until stdin closes.

Usage: live.py SCENARIO DIR   (DIR: a scratch directory for path names)
Used by tests/it/dump/: the process is dumped with `checkpoint dump` while it waits.
"""
import os, socket, struct, sys

scenario, d = sys.argv[1], sys.argv[2]
keep = []

if scenario == "check":
    # Run by `restore run IMAGE -- live.py check DIR` in the restored process: accept on each
    # listener the original process described in DIR/expect.json (by fd, or received from the
    # queue of a holder fd when it was in flight), in accept order, and compare what each
    # connection holds (bytes or records, fds in flight and what they hold, EOF when the client
    # had closed) and that its client is its peer; then that nothing more is pending.
    import array, json
    want = json.load(open(os.path.join(d, "expect.json")))
    def fail(msg):
        sys.exit("check: " + msg)
    def recv_all(s, seq):
        out, fds, eof = [], [], False
        while True:
            try:
                data, anc, _, _ = s.recvmsg(1 << 16, socket.CMSG_SPACE(253 * 4))
            except BlockingIOError:
                break
            for level, ty, blob in anc:
                if level == socket.SOL_SOCKET and ty == socket.SCM_RIGHTS:
                    a = array.array("i"); a.frombytes(blob[: len(blob) - len(blob) % 4]); fds.extend(a)
            if not data and not anc and (not seq or eof_ok):
                eof = True
                break
            out.append(data.hex())
        return out, fds, eof
    # Sockets whose connected dgram peer has closed: getpeername still answers (the dead peer),
    # the datagrams read back (if read first), the first send is ECONNREFUSED and purges the
    # queue, later sends ENOTCONN.
    import errno
    for o in want.get("orphans", []):
        s = socket.socket(fileno=os.dup(o["fd"])); s.setblocking(False)
        where = "orphan fd %d" % o["fd"]
        try:
            s.getpeername()
        except OSError as e:
            fail("%s: getpeername: %s (its dead peer still answers)" % (where, e))
        if o["first"] == "read":
            got = [s.recv(1 << 16).decode() for _ in o["data"]]
            if got != o["data"]:
                fail("%s: read %r, want %r" % (where, got, o["data"]))
        for want_errno in (errno.ECONNREFUSED, errno.ENOTCONN):
            try:
                s.send(b"x")
                fail(where + ": send succeeded")
            except OSError as e:
                if e.errno != want_errno:
                    fail("%s: send: %s, want %s" % (where, e, errno.errorcode[want_errno]))
        try:
            m = s.recv(1 << 16)
            fail("%s: %r left after the refused send" % (where, m))
        except BlockingIOError:
            pass
        try:
            s.getpeername()
            fail(where + ": a peer after the refused send")
        except OSError as e:
            if e.errno != errno.ENOTCONN:
                fail("%s: getpeername: %s" % (where, e))
    for li, l in enumerate(want["listeners"]):
        if l.get("via") is not None:
            h = socket.socket(fileno=os.dup(l["via"])); h.setblocking(False)
            _, anc, _, _ = h.recvmsg(1 << 16, socket.CMSG_SPACE(4))
            a = array.array("i"); a.frombytes(anc[0][2][:4])
            ls = socket.socket(fileno=a[0])
        else:
            ls = socket.socket(fileno=os.dup(l["fd"]))
        ls.setblocking(False)
        seq = ls.type == socket.SOCK_SEQPACKET
        for ci, c in enumerate(l["conns"]):
            where = "listener %d connection %d" % (li, ci)
            try:
                conn, _ = ls.accept()
            except BlockingIOError:
                fail(where + ": nothing to accept")
            conn.setblocking(False)
            eof_ok = c["eof"]
            got, fds, eof = recv_all(conn, seq)
            if seq:
                if got != c["data"]:
                    fail("%s: records %r, want %r" % (where, got, c["data"]))
            elif "".join(got) != "".join(c["data"]):
                fail("%s: bytes %r, want %r" % (where, bytes.fromhex("".join(got)), bytes.fromhex("".join(c["data"]))))
            if eof != c["eof"]:
                fail("%s: EOF %r, want %r" % (where, eof, c["eof"]))
            if len(fds) != len(c["fds"]):
                fail("%s: %d fds in flight, want %d" % (where, len(fds), len(c["fds"])))
            for f, w in zip(fds, c["fds"]):
                x = socket.socket(fileno=f); x.setblocking(False)
                try:
                    m = x.recv(1 << 16).hex()
                except BlockingIOError:
                    m = None
                if m != w:
                    fail("%s: the fd in flight holds %r, want %r" % (where, m, w))
            if c["client"] is not None:
                cl = socket.socket(fileno=os.dup(c["client"])); cl.setblocking(False)
                cl.send(b"ping")
                if conn.recv(16) != b"ping":
                    fail(where + ": the client is not its peer")
                conn.send(b"pong")
                if cl.recv(16) != b"pong":
                    fail(where + ": it is not the client's peer")
        try:
            ls.accept()
            fail("listener %d: more connections pending than the %d expected" % (li, len(l["conns"])))
        except BlockingIOError:
            pass
    print("ok", flush=True)
    sys.exit(0)

if scenario == "check-oob":
    # Run by `restore run IMAGE -- live.py check-oob DIR` in the restored process: the socket
    # the original process held with an out-of-band byte pending (DIR/expect.json "oob") has
    # SO_OOBINLINE as it had, and reads as it would have: SIOCATMARK before and after the bytes
    # before the mark, recv(MSG_OOB) (EINVAL with SO_OOBINLINE), the bytes after; then nothing.
    import errno, fcntl, json, struct
    want = json.load(open(os.path.join(d, "expect.json")))["oob"]
    s = socket.socket(fileno=os.dup(want["fd"]))
    if want.get("accept"):
        # The byte was sent before accept(): the listener's first connection holds it.
        s = s.accept()[0]
    s.setblocking(False)
    def fail(msg):
        sys.exit("check-oob: " + msg)
    if s.getsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE) != int(want["inline"]):
        fail("SO_OOBINLINE is %d" % s.getsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE))
    for i, (kind, v) in enumerate(want["steps"]):
        if kind == "mark":
            at = struct.unpack("i", fcntl.ioctl(s.fileno(), 0x8905, struct.pack("i", 0)))[0]  # SIOCATMARK
            if bool(at) != v:
                fail("step %d: SIOCATMARK is %d, want %r" % (i, at, v))
        elif kind == "read":
            got = s.recv(1 << 16)
            if got != bytes.fromhex(v):
                fail("step %d: read %r, want %r" % (i, got, bytes.fromhex(v)))
        else:
            try:
                got = s.recv(1, socket.MSG_OOB)
            except OSError as e:
                got = None if e.errno == errno.EINVAL else e
            if got != (bytes.fromhex(v) if v is not None else None):
                fail("step %d: recv(MSG_OOB) gave %r, want %r" % (i, got, v))
    try:
        got = s.recv(1 << 16)
        fail("%r left after the last step" % got)
    except BlockingIOError:
        pass
    print("ok", flush=True)
    sys.exit(0)

if scenario == "check-reads":
    # Run by `restore run IMAGE -- live.py check-reads DIR` in the restored process: replay on
    # each socket the steps the original process wrote (DIR/expect.json "reads", by fd): its
    # name and peer, MSG_PEEK, reads (bytes, fds received, SCM_CREDENTIALS present), EOF or
    # EAGAIN, a send's errno, and the same on an fd a read received ("onfd", its index).
    import array, errno, json
    want = json.load(open(os.path.join(d, "expect.json")))["reads"]
    def fail(msg):
        sys.exit("check-reads: " + msg)
    def run(s, steps, where):
        got_fds = []
        for i, st in enumerate(steps):
            kind, at = st[0], "%s step %d (%s)" % (where, i, st[0])
            # (A path name restored under --root is bound from its directory by its last
            # component, which getsockname/getpeername then report: compared by that.)
            def same(got, want):
                got = got.encode("latin-1") if isinstance(got, str) else got
                if want is None or not got:
                    return got == want or (not got and want is None)
                if want[:1] != b"\0":
                    return os.path.basename(got) == os.path.basename(want)
                return got == want
            if kind == "name":
                if not same(s.getsockname(), bytes.fromhex(st[1])):
                    fail("%s: getsockname %r" % (at, s.getsockname()))
            elif kind == "peer":
                try:
                    p = s.getpeername()
                except OSError as e:
                    p = None
                if not same(p, bytes.fromhex(st[1]) if st[1] is not None else None):
                    fail("%s: getpeername %r, want %r" % (at, p, st[1]))
            elif kind == "peek":
                try:
                    g = s.recv(1 << 16, socket.MSG_PEEK | socket.MSG_DONTWAIT).hex()
                except BlockingIOError:
                    g = None
                if g != st[1]:
                    fail("%s: MSG_PEEK %r, want %r" % (at, g, st[1]))
            elif kind == "recv":
                try:
                    data, anc, _, _ = s.recvmsg(1 << 16, socket.CMSG_SPACE(253 * 4) + socket.CMSG_SPACE(12), socket.MSG_DONTWAIT)
                except BlockingIOError:
                    fail(at + ": EAGAIN")
                fds, creds = [], False
                for level, ty, blob in anc:
                    if level == socket.SOL_SOCKET and ty == socket.SCM_RIGHTS:
                        a = array.array("i"); a.frombytes(blob[: len(blob) - len(blob) % 4]); fds.extend(a)
                    if level == socket.SOL_SOCKET and ty == socket.SCM_CREDENTIALS:
                        creds = True
                if (data.hex(), len(fds), creds) != (st[1], st[2], st[3]):
                    fail("%s: read %r with %d fds, creds %r; want %r" % (at, data, len(fds), creds, st[1:]))
                got_fds.extend(fds)
            elif kind == "eof":
                try:
                    g = s.recv(1 << 16, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    fail(at + ": EAGAIN, not EOF")
                if g != b"":
                    fail("%s: %r, not EOF" % (at, g))
            elif kind == "eagain":
                try:
                    g = s.recv(1 << 16, socket.MSG_DONTWAIT)
                    fail("%s: %r, not EAGAIN" % (at, g))
                except BlockingIOError:
                    pass
            elif kind == "send_errno":
                try:
                    s.send(b"x", socket.MSG_DONTWAIT | socket.MSG_NOSIGNAL)
                    e = 0
                except OSError as x:
                    e = x.errno
                if errno.errorcode.get(e, str(e)) != st[1]:
                    fail("%s: send gave %s, want %s" % (at, errno.errorcode.get(e, e), st[1]))
            elif kind == "recvfrom":
                try:
                    data, addr = s.recvfrom(1 << 16, socket.MSG_DONTWAIT)
                except BlockingIOError:
                    fail(at + ": EAGAIN")
                addr = addr.encode("latin-1") if isinstance(addr, str) else addr
                if data.hex() != st[1] or not same(addr, bytes.fromhex(st[2]) if st[2] is not None else None):
                    fail("%s: %r from %r, want %r" % (at, data, addr, st[1:]))
            elif kind == "connect_errno":
                c = socket.socket(socket.AF_UNIX, s.type); c.setblocking(False)
                try:
                    c.connect(bytes.fromhex(st[1]))
                    e = 0
                except OSError as x:
                    e = x.errno
                if errno.errorcode.get(e, str(e)) != st[2]:
                    fail("%s: connect gave %s, want %s" % (at, errno.errorcode.get(e, e), st[2]))
                keep.append(c)
            elif kind == "onfd":
                run(socket.socket(fileno=got_fds[st[1]]), st[2], "%s fd #%d" % (where, st[1]))
            else:
                fail("unknown step " + kind)
    for r in want:
        run(socket.socket(fileno=os.dup(r["fd"])), r["steps"], "fd %d" % r["fd"])
    print("ok", flush=True)
    sys.exit(0)

if scenario == "check-opts":
    # Run by `restore run IMAGE -- live.py check-opts DIR` in the restored process: each option
    # the original process set (DIR/expect.json "opts": fd, level, option, how to read it, the
    # value it read back there) reads back the same with getsockopt, and a MSG_PEEK of each
    # socket with a peek offset ("peeks") starts at that offset.
    import json, struct
    want = json.load(open(os.path.join(d, "expect.json")))
    bad = []
    for o in want["opts"]:
        s = socket.socket(fileno=os.dup(o["fd"]))
        if o["kind"] == "int":
            got = s.getsockopt(o["level"], o["opt"])
        else:
            got = list(struct.unpack(o["kind"], s.getsockopt(o["level"], o["opt"], struct.calcsize(o["kind"]))))
        if got != o["value"]:
            bad.append("fd %d option %d/%d is %r, was %r" % (o["fd"], o["level"], o["opt"], got, o["value"]))
        s.detach()
    for p in want["peeks"]:
        s = socket.socket(fileno=os.dup(p["fd"]))
        try:
            got = s.recv(1 << 16, socket.MSG_PEEK | socket.MSG_DONTWAIT).hex()
        except BlockingIOError:
            got = None
        if got != p["data"]:
            bad.append("fd %d: MSG_PEEK gives %r, want %r" % (p["fd"], got and bytes.fromhex(got), bytes.fromhex(p["data"])))
        s.detach()
    if bad:
        sys.exit("check-opts: " + "; ".join(bad))
    print("ok", flush=True)
    sys.exit(0)

expect = {"listeners": [], "opts": [], "peeks": []}

def opt(s, level, name, value, kind="int"):
    """Set an option on s and record what getsockopt reads back (check-opts compares)."""
    import struct
    if kind == "int":
        s.setsockopt(level, name, value)
        got = s.getsockopt(level, name)
    else:
        s.setsockopt(level, name, struct.pack(kind, *value))
        got = list(struct.unpack(kind, s.getsockopt(level, name, struct.calcsize(kind))))
    expect["opts"].append({"fd": s.fileno(), "level": level, "opt": name, "kind": kind, "value": got})

def peek_off(s, n, then):
    """SO_PEEK_OFF = n on s; `then` is what a MSG_PEEK must return afterwards."""
    s.setsockopt(socket.SOL_SOCKET, 42, n)
    expect["opts"].append({"fd": s.fileno(), "level": socket.SOL_SOCKET, "opt": 42, "kind": "int", "value": n})
    expect["peeks"].append({"fd": s.fileno(), "data": then.hex()})

def expect_listener(l, conns, via=None):
    """What `check` must find on listener l (held at its fd, or in flight in via's queue):
    conns = [(client socket or None, [bytes per send or record], [what each passed fd holds], eof)]."""
    expect["listeners"].append({
        "fd": None if via is not None else l.fileno(),
        "via": via.fileno() if via is not None else None,
        "conns": [{"client": c.fileno() if c is not None else None, "data": [m.hex() for m in data],
                   "fds": [m.hex() for m in fds], "eof": eof} for c, data, fds, eof in conns],
    })

def expect_reads(s, steps):
    """What `check-reads` must find on s, in order (see there); bytes are written as hex."""
    conv = lambda v: v.hex() if isinstance(v, bytes) else ([conv(x) for x in v] if isinstance(v, list) else v)
    expect.setdefault("reads", []).append({"fd": s.fileno(), "steps": [[conv(x) for x in st] for st in steps]})

def name_of(addr):
    """An AF_UNIX address as check-reads compares it (bytes)."""
    return addr if isinstance(addr, bytes) else addr.encode("latin-1")

def connect(ty, addr, sends=(), rights=None):
    """A client of addr that sends these messages before accept (rights: (index, socket) whose
    fd goes with that message)."""
    c = socket.socket(socket.AF_UNIX, ty); c.connect(addr); keep.append(c)
    for i, m in enumerate(sends):
        if rights is not None and rights[0] == i:
            socket.send_fds(c, [m], [rights[1].fileno()])
        else:
            c.send(m)
    return c

def in_flight(msg):
    """One end of a dgram pair, about to be passed and closed here; the other end sends msg to it."""
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    keep.append(y)
    y.send(msg)
    return x

def pair(ty):
    a, b = socket.socketpair(socket.AF_UNIX, ty)
    keep.extend([a, b])
    return a, b

if scenario == "pairs":
    a, b = pair(socket.SOCK_STREAM)
    a.send(b"to b "); a.send(b"again"); b.send(b"to a")
    a, b = pair(socket.SOCK_DGRAM)
    for m in (b"one", b"two", b""):
        a.send(m)
    b.send(b"back")
    a, b = pair(socket.SOCK_SEQPACKET)
    a.send(b"rec1"); a.send(b""); a.send(b"rec3")
elif scenario in ("listener", "listener-data"):
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    l.bind(os.path.join(d, "srv.sock")); l.listen(5); keep.append(l)
    c0 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c0.connect(os.path.join(d, "srv.sock"))
    a0, _ = l.accept(); keep.extend([c0, a0])
    c0.send(b"GET /"); a0.send(b"200 OK")
    for i in range(2):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(os.path.join(d, "srv.sock")); keep.append(c)
        if scenario == "listener-data" and i == 1:
            c.send(b"early")
    al = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    al.bind("\0resocket-live-%d" % os.getpid()); al.listen(0); keep.append(al)
    ca = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); ca.connect("\0resocket-live-%d" % os.getpid()); keep.append(ca)
elif scenario == "dgram":
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind("\0self-%d" % os.getpid()); s.connect("\0self-%d" % os.getpid())
    s.send(b"note to self"); keep.append(s)
    r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind(os.path.join(d, "log.sock")); keep.append(r)
    s1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s1.bind(os.path.join(d, "s1.sock")); s1.connect(os.path.join(d, "log.sock"))
    s2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s2.bind("\0s2-%d" % os.getpid())
    keep.extend([s1, s2])
    s1.send(b"s1 a"); s2.sendto(b"s2 a", os.path.join(d, "log.sock")); s1.send(b"s1 b")
elif scenario == "shutdown":
    for how in (socket.SHUT_RD, socket.SHUT_WR, socket.SHUT_RDWR):
        a, b = pair(socket.SOCK_STREAM)
        b.send(b"queued")
        a.shutdown(how)
elif scenario == "names":
    os.chdir(d)
    os.makedirs("sub", exist_ok=True)
    os.chdir("sub")
    rel = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); rel.bind("rel.sock"); keep.append(rel)
    os.chdir(d)
    p = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); p.bind(os.path.join(d, "abs.sock")); keep.append(p)
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a.bind("\0abstract-%d" % os.getpid()); keep.append(a)
    os.chdir(os.path.join(d, "sub"))
elif scenario == "relative-elsewhere":
    # A listener and a dgram socket bound to relative names in DIR/a and DIR/a/sub, then the
    # process moves to DIR/b: its cwd says nothing of where the names are.
    for sub in ("a/sub", "b"):
        os.makedirs(os.path.join(d, sub), exist_ok=True)
    os.chdir(os.path.join(d, "a"))
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind("srv.sock"); l.listen(4); keep.append(l)
    g = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); g.bind("sub/log.sock"); keep.append(g)
    os.chdir(os.path.join(d, "b"))
elif scenario == "relative-elsewhere-check":
    # Run in the restored process (argv[3]: the root it was restored under): both names are
    # reachable at the absolute paths they had, and report the relative names they were bound by.
    # (From the directory: ROOT/DIR/a/srv.sock may be longer than sun_path.)
    os.chdir(sys.argv[3] + os.path.join(d, "a"))
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect("srv.sock")
    g = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); g.connect("sub/log.sock")
    g.send(b"reached")
    names = sorted(socket.socket(fileno=os.dup(fd)).getsockname() for fd in range(3, 64)
                   if os.path.exists("/proc/self/fd/%d" % fd) and os.readlink("/proc/self/fd/%d" % fd).startswith("socket:")
                   and socket.socket(fileno=os.dup(fd)).family == socket.AF_UNIX)
    want = ["srv.sock", "log.sock"]
    if not all(w in names for w in want):
        sys.exit("names: %r, want %r among them" % (names, want))
    print("ok")
    sys.exit(0)
elif scenario == "rights":
    a, b = pair(socket.SOCK_STREAM)
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    keep.append(y)
    socket.send_fds(a, [b"take this"], [x.fileno()])
    x.close()
    y.send(b"for x")
elif scenario == "flags":
    # Close-on-exec bits that differ (Python makes every fd close-on-exec), a stream queue with
    # a message carrying an fd between plain bytes, a socket with a peek offset of its own
    # (SO_PEEK_OFF = 42), an idle listener and an unconnected socket, and fds that are not
    # sockets (a regular file, a pipe).
    a, b = pair(socket.SOCK_STREAM)
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    keep.append(y)
    a.send(b"before ")
    socket.send_fds(a, [b"with fd "], [x.fileno()])
    x.close()
    a.send(b"after")
    b.setsockopt(socket.SOL_SOCKET, 42, 3)
    c, e = pair(socket.SOCK_STREAM)
    e.send(b"plain")
    os.set_inheritable(a.fileno(), True)
    os.set_inheritable(e.fileno(), True)
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    l.bind("\0flags-%d" % os.getpid()); l.listen(2); keep.append(l)
    os.set_inheritable(l.fileno(), True)
    keep.append(socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM))
    keep.append(open(os.path.join(d, "plain.txt"), "w"))
    keep.extend(os.pipe())
elif scenario == "options":
    # File status flags and SO_PASSCRED that differ between sockets: one end of a stream pair
    # non-blocking with SO_PASSCRED, the other neither; a bound dgram socket with SO_PASSCRED
    # (blocking); a non-blocking listener; a non-blocking TCP listener (lo is up).
    a, b = pair(socket.SOCK_STREAM)
    a.setblocking(False)
    a.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    g = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    g.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    g.bind("\0options-%d" % os.getpid()); keep.append(g)
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    l.bind("\0options-l-%d" % os.getpid()); l.listen(1); l.setblocking(False); keep.append(l)
    import subprocess
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.bind(("127.0.0.1", 4321)); t.listen(1); t.setblocking(False); keep.append(t)
elif scenario in ("sockopts-unix", "sockopts-inet"):
    # Every recorded option away from its default on some socket, with queued data under a
    # peek offset: AF_UNIX stream and dgram (check-opts reads them back after the restore).
    SOL, TCP = socket.SOL_SOCKET, socket.IPPROTO_TCP
    SO_PASSSEC = 34
    if scenario == "sockopts-unix":
        a, b = pair(socket.SOCK_STREAM)
        b.send(b"0123"); b.send(b"456789")
        peek_off(a, 4, b"456789")
        opt(a, SOL, socket.SO_KEEPALIVE, 1)
        opt(a, SOL, socket.SO_LINGER, (1, 5), "ii")
        opt(a, SOL, socket.SO_RCVTIMEO, (1, 500000), "qq")
        opt(a, SOL, socket.SO_SNDTIMEO, (2, 0), "qq")
        opt(a, SOL, socket.SO_PRIORITY, 3)
        opt(a, SOL, socket.SO_MARK, 9)
        opt(a, SOL, socket.SO_RCVLOWAT, 2)
        opt(a, SOL, SO_PASSSEC, 1)
        opt(a, SOL, socket.SO_OOBINLINE, 1)
        opt(b, SOL, socket.SO_PRIORITY, 7)  # above 6: CAP_NET_ADMIN
        c, e = pair(socket.SOCK_DGRAM)
        e.send(b"one"); e.send(b"two")
        peek_off(c, 1, b"ne")
        opt(c, SOL, socket.SO_BROADCAST, 1)
        c.setsockopt(SOL, socket.SO_LINGER, struct.pack("ii", 1, 7))
        opt(c, SOL, socket.SO_LINGER, (0, 0), "ii")  # off, the time (7 s) kept
        g = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        g.bind("\0sockopts-%d" % os.getpid()); g.listen(2); keep.append(g)
        opt(g, SOL, socket.SO_RCVLOWAT, 7)
        opt(g, SOL, socket.SO_KEEPALIVE, 1)
    else:
        import subprocess
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        l.setsockopt(SOL, socket.SO_REUSEADDR, 1)
        l.bind(("127.0.0.1", 4400)); l.listen(2); keep.append(l)
        opt(l, TCP, socket.TCP_KEEPIDLE, 77)
        t = socket.socket(socket.AF_INET, socket.SOCK_STREAM); t.connect(("127.0.0.1", 4400)); keep.append(t)
        acc, _ = l.accept(); keep.append(acc)
        t.send(b"tcpdata")
        for name, v in ((socket.TCP_NODELAY, 1), (socket.TCP_KEEPIDLE, 100), (socket.TCP_KEEPINTVL, 10),
                        (socket.TCP_KEEPCNT, 4), (socket.TCP_USER_TIMEOUT, 3000), (socket.TCP_CORK, 1)):
            opt(t, TCP, name, v)
        opt(t, SOL, socket.SO_KEEPALIVE, 1)
        opt(t, SOL, socket.SO_LINGER, (1, 3), "ii")
        opt(t, SOL, socket.SO_MARK, 5)
        import time; time.sleep(0.1)
        peek_off(acc, 3, b"data")
        opt(acc, SOL, socket.SO_RCVTIMEO, (0, 250000), "qq")
        opt(acc, SOL, socket.SO_OOBINLINE, 1)
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 4401)); keep.append(u)
        u.sendto(b"dgram", ("127.0.0.1", 4401))
        time.sleep(0.05)
        peek_off(u, 2, b"ram")
        opt(u, SOL, socket.SO_BROADCAST, 1)
        opt(u, SOL, socket.SO_PRIORITY, 2)
        opt(u, SOL, socket.SO_SNDTIMEO, (3, 0), "qq")
elif scenario in ("oob-unix", "oob-unix-inline", "oob-unix-twice", "oob-tcp"):
    # An out-of-band byte pending amid queued bytes: AF_UNIX stream (MSG_OOB, Linux >= 5.15),
    # the same with the receiver SO_OOBINLINE, TCP urgent data. DIR/oob.txt: what the receiver
    # holds, written at the end of the run (the dump must leave all of it in place).
    if scenario == "oob-tcp":
        import subprocess
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
        l = socket.socket(socket.AF_INET, socket.SOCK_STREAM); l.bind(("127.0.0.1", 4500)); l.listen(1); keep.append(l)
        b = socket.socket(socket.AF_INET, socket.SOCK_STREAM); b.connect(("127.0.0.1", 4500)); keep.append(b)
        a, _ = l.accept(); keep.append(a)
    else:
        a, b = pair(socket.SOCK_STREAM)
        if scenario == "oob-unix-inline":
            a.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
    b.send(b"ab"); b.send(b"cX", socket.MSG_OOB); b.send(b"d")
    # What `check-oob` must read from a, in order: ("mark", at the mark?), ("read", bytes),
    # ("oob", the byte recv(MSG_OOB) returns, or None for EINVAL).
    if scenario == "oob-unix-twice":
        # A second MSG_OOB send: X becomes ordinary data, Y the out-of-band byte.
        b.send(b"eY", socket.MSG_OOB); b.send(b"f")
        steps = [("mark", False), ("read", b"abcXde"), ("mark", True), ("oob", b"Y"), ("read", b"f")]
    elif scenario == "oob-unix-inline":
        steps = [("mark", False), ("read", b"abc"), ("mark", True), ("oob", None), ("read", b"Xd")]
    else:
        steps = [("mark", False), ("read", b"abc"), ("mark", True), ("oob", b"X"), ("read", b"d")]
    expect["oob"] = {"fd": a.fileno(), "inline": scenario == "oob-unix-inline",
                     "steps": [[k, v.hex() if isinstance(v, bytes) else v] for k, v in steps]}
    import atexit, time
    time.sleep(0.05)
    def report():
        a.setblocking(False)
        inline = a.getsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE)
        a.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 0)
        try:
            oob = a.recv(1, socket.MSG_OOB | socket.MSG_PEEK).decode()
        except OSError as e:
            oob = str(e)
        open(os.path.join(d, "oob.txt"), "w").write("inline=%d oob=%s" % (inline, oob))
    atexit.register(report)
elif scenario == "oob-pending":
    # A client that connected and sent an out-of-band byte amid its data before accept(): the
    # embryo holds the mark (`queue_oob` marks unix_peer, the embryo). `--kill` reads it.
    addr = "\0oob-pending-%d" % os.getpid()
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(addr); l.listen(2); keep.append(l)
    b = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); b.connect(addr); keep.append(b)
    b.send(b"ab"); b.send(b"cX", socket.MSG_OOB); b.send(b"d")
    steps = [("mark", False), ("read", b"abc"), ("mark", True), ("oob", b"X"), ("read", b"d")]
    expect["oob"] = {"fd": l.fileno(), "accept": True, "inline": False,
                     "steps": [[k, v.hex() if isinstance(v, bytes) else v] for k, v in steps]}
elif scenario == "seqpacket-half-shut":
    # A seqpacket pair, b shut down for writing after queueing three records (one empty) at a,
    # with one record queued at b: a reads the records, then EOF; b reads its record, then
    # EAGAIN, and its sends are EPIPE; a can still send to b.
    a, b = pair(socket.SOCK_SEQPACKET)
    b.send(b"first"); b.send(b""); b.send(b"third")
    a.send(b"to b")
    b.shutdown(socket.SHUT_WR)
    expect_reads(a, [["recv", b"first", 0, False], ["recv", b"", 0, False], ["recv", b"third", 0, False], ["eof"]])
    expect_reads(b, [["send_errno", "EPIPE"], ["recv", b"to b", 0, False], ["eagain"]])
elif scenario == "passcred-closed-sender":
    # A named dgram receiver with SO_PASSCRED holding datagrams from a named sender that has
    # closed since: they are read back with SCM_CREDENTIALS, then EAGAIN.
    r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind(os.path.join(d, "creds.sock")); keep.append(r)
    r.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
    s1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s1.bind("\0closed-sender-%d" % os.getpid())
    s1.sendto(b"with creds", os.path.join(d, "creds.sock")); s1.sendto(b"", os.path.join(d, "creds.sock"))
    s1.close()
    expect_reads(r, [["recv", b"with creds", 0, True], ["recv", b"", 0, True], ["eagain"]])
elif scenario == "nested-rights":
    # fds in flight two deep: q's queue carries n (a dgram socket) whose queue carries x, whose
    # queue holds a datagram; n and x are held by nothing else.
    p, q = pair(socket.SOCK_STREAM)
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM); keep.append(y)
    y.send(b"inner")
    m, n = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM); keep.append(m)
    socket.send_fds(m, [b"middle"], [x.fileno()]); x.close()
    socket.send_fds(p, [b"outer"], [n.fileno()]); n.close()
    expect_reads(q, [["recv", b"outer", 1, False], ["eagain"],
                     ["onfd", 0, [["recv", b"middle", 1, False], ["eagain"], ["onfd", 0, [["recv", b"inner", 0, False], ["eagain"]]]]]])
elif scenario == "abstract-nul":
    # Abstract names with NUL bytes inside: a listener with an accepted connection (data both
    # ways) and a pending client, and a dgram socket connected to one such name.
    name = b"\0res\0ocket\0%d" % os.getpid()
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(name); l.listen(3); keep.append(l)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(name); keep.append(c)
    acc, _ = l.accept(); keep.append(acc)
    c.send(b"to the server"); acc.send(b"to the client")
    dname = b"\0dg\0ram\0%d" % os.getpid()
    g = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); g.bind(dname); keep.append(g)
    h = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); h.connect(dname); keep.append(h)
    h.send(b"dgram to a nul name")
    expect_reads(l, [["name", name]])
    expect_reads(acc, [["name", name], ["recv", b"to the server", 0, False], ["eagain"]])
    expect_reads(c, [["peer", name], ["recv", b"to the client", 0, False], ["eagain"]])
    expect_reads(g, [["name", dname], ["recv", b"dgram to a nul name", 0, False]])
    expect_reads(h, [["peer", dname]])
elif scenario == "seqpacket-peek-off":
    # SO_PEEK_OFF in the middle of a seqpacket record: a peek starts 3 bytes into the first
    # record and the next one at the second record; plain reads return whole records.
    a, b = pair(socket.SOCK_SEQPACKET)
    b.send(b"record one"); b.send(b"record two")
    a.setsockopt(socket.SOL_SOCKET, 42, 3)
    expect_reads(a, [["peek", b"ord one"], ["peek", b"record two"], ["recv", b"record one", 0, False],
                     ["recv", b"record two", 0, False], ["eagain"]])
elif scenario == "stream-peer-closed":
    # A stream pair whose other end sent and closed: the data, then EOF; a send is EPIPE.
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM); keep.append(a)
    b.send(b"last "); b.send(b"words"); b.close()
    expect_reads(a, [["send_errno", "EPIPE"], ["recv", b"last words", 0, False], ["eof"]])
elif scenario == "seqpacket-named":
    # A seqpacket listener on a path with an accepted connection, records both ways: the
    # accepted socket carries the listener's name, the client's peer is that name.
    path = os.path.join(d, "seq.sock").encode()
    l = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); l.bind(path); l.listen(2); keep.append(l)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); c.connect(path); keep.append(c)
    acc, _ = l.accept(); keep.append(acc)
    c.send(b"req 1"); c.send(b"req 2"); acc.send(b"resp")
    expect_reads(acc, [["name", path], ["recv", b"req 1", 0, False], ["recv", b"req 2", 0, False], ["eagain"]])
    expect_reads(c, [["peer", path], ["recv", b"resp", 0, False], ["eagain"]])
elif scenario == "backlog-full":
    # A listener with backlog 0 holding one pending connection: the queue is full, so one
    # more non-blocking connect is EAGAIN; after accepting, the client is its peer.
    name = b"\0backlog-full-%d" % os.getpid()
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(name); l.listen(0); keep.append(l)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(name); keep.append(c)
    expect_reads(l, [["connect_errno", name, "EAGAIN"]])
    expect_listener(l, [(c, [], [], False)])
elif scenario == "dgram-senders":
    # An unconnected receiver with datagrams from a named live sender, from an unnamed one and
    # from itself, in that order: each read with its sender's name (none for the unnamed one).
    rn = os.path.join(d, "rcv.sock").encode()
    r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); r.bind(rn); keep.append(r)
    sn = b"\0named-sender-%d" % os.getpid()
    s1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s1.bind(sn); keep.append(s1)
    s2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); keep.append(s2)
    s1.sendto(b"from named", rn); s2.sendto(b"from unnamed", rn); r.sendto(b"from myself", rn)
    expect_reads(r, [["recvfrom", b"from named", sn], ["recvfrom", b"from unnamed", None],
                     ["recvfrom", b"from myself", rn], ["eagain"]])
elif scenario == "external":
    # One end stays here; the other lives in a child process that is not dumped.
    a, b = pair(socket.SOCK_STREAM)
    b.send(b"from outside")
    if os.fork() == 0:
        a.close()
        sys.stdin.read()
        os._exit(0)
    b.close()
elif scenario == "external-dgram":
    # A dgram socket connected to a receiver bound at a path by a child that is not dumped.
    path = os.path.join(d, "ext-dgram.sock")
    r = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    r.bind(path)
    if os.fork() == 0:
        sys.stdin.read()
        os._exit(0)
    r.close()
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    a.connect(path)
elif scenario in ("early-stream", "early-seqpacket"):
    # Clients that sent data before accept(): several sends, none, one with an fd in flight
    # (itself holding a datagram), and an accepted connection ahead of them.
    ty = socket.SOCK_STREAM if scenario == "early-stream" else socket.SOCK_SEQPACKET
    addr = os.path.join(d, "srv.sock")
    l = socket.socket(socket.AF_UNIX, ty); l.bind(addr); l.listen(8); keep.append(l)
    c0 = connect(ty, addr); a0, _ = l.accept(); keep.append(a0); c0.send(b"accepted")
    x = in_flight(b"for x")
    c1 = connect(ty, addr, [b"early", b" more"])
    c2 = connect(ty, addr)
    c3 = connect(ty, addr, [b"with fd", b"", b"after"], rights=(0, x))
    x.close()
    if ty == socket.SOCK_STREAM:
        expect_listener(l, [(c1, [b"early more"], [], False), (c2, [], [], False), (c3, [b"with fd", b"after"], [b"for x"], False)])
    else:
        expect_listener(l, [(c1, [b"early", b" more"], [], False), (c2, [], [], False), (c3, [b"with fd", b"", b"after"], [b"for x"], False)])
elif scenario == "early-mixed":
    # A listener amid many other sockets: stream pairs with data, datagrams, an idle abstract
    # listener, a seqpacket listener with a pending record, and six pending stream clients that
    # alternate data and none.
    for i in range(12):
        a, b = pair(socket.SOCK_STREAM); a.send(b"pair %d" % i)
    for i in range(4):
        a, b = pair(socket.SOCK_DGRAM); a.send(b"dgram %d" % i)
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); idle.bind("\0early-idle-%d" % os.getpid()); idle.listen(3); keep.append(idle)
    sq = "\0early-seq-%d" % os.getpid()
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); ls.bind(sq); ls.listen(2); keep.append(ls)
    s1 = connect(socket.SOCK_SEQPACKET, sq, [b"record one", b"record two"])
    expect_listener(ls, [(s1, [b"record one", b"record two"], [], False)])
    addr = os.path.join(d, "mixed.sock")
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(addr); l.listen(10); keep.append(l)
    conns = []
    for i in range(6):
        sends = [b"client %d says hi" % i] if i % 2 == 0 else []
        conns.append((connect(socket.SOCK_STREAM, addr, sends), sends, [], False))
    expect_listener(l, conns)
elif scenario == "early-in-flight":
    # The listener is in flight only: passed over a stream pair and closed here; two pending
    # clients sent data (one with an fd).
    addr = "\0early-flight-%d" % os.getpid()
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(addr); l.listen(4)
    x = in_flight(b"for x again")
    c1 = connect(socket.SOCK_STREAM, addr, [b"first client"])
    c2 = connect(socket.SOCK_STREAM, addr, [b"second", b" client"], rights=(1, x))
    x.close()
    a, b = pair(socket.SOCK_STREAM)
    socket.send_fds(a, [b"L"], [l.fileno()])
    expect_listener(l, [(c1, [b"first client"], [], False), (c2, [b"second client"], [b"for x again"], False)], via=b)
    l.close()
elif scenario == "early-closed":
    # Pending connections whose clients have closed: one after sending data (an fd with it),
    # one without sending, between two live clients (one with data).
    addr = os.path.join(d, "closed.sock")
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(addr); l.listen(6); keep.append(l)
    c1 = connect(socket.SOCK_STREAM, addr)
    x = in_flight(b"left behind")
    g1 = connect(socket.SOCK_STREAM, addr, [b"last ", b"words"], rights=(1, x))
    x.close()
    g2 = connect(socket.SOCK_STREAM, addr)
    c2 = connect(socket.SOCK_STREAM, addr, [b"still here"])
    for g in (g1, g2):
        keep.remove(g); g.close()
    expect_listener(l, [(c1, [], [], False), (None, [b"last words"], [b"left behind"], True), (None, [], [], True), (c2, [b"still here"], [], False)])
    # A seqpacket listener whose pending client sent two records and closed.
    sq = "\0early-closed-seq-%d" % os.getpid()
    ls = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET); ls.bind(sq); ls.listen(1); keep.append(ls)
    g3 = connect(socket.SOCK_SEQPACKET, sq, [b"record 1", b"record 2"])
    keep.remove(g3); g3.close()
    expect_listener(ls, [(None, [b"record 1", b"record 2"], [], True)])
elif scenario == "orphan-dgram":
    # Datagrams queued at an unnamed socket from a sender that has since closed: b was one end
    # of a dgram socketpair whose other end sent two datagrams (one empty) and closed.
    # Two of them: `check` reads one before sending, and sends on the other first.
    expect["orphans"] = []
    for first in ("read", "send"):
        a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        keep.append(b)
        a.send(b"orphan one"); a.send(b""); a.send(b"orphan three")
        a.close()
        expect["orphans"].append({"fd": b.fileno(), "first": first, "data": ["orphan one", "", "orphan three"]})
elif scenario == "orphan-named":
    # A named dgram socket that received from x, then connected to a, which sent to it and
    # closed: x's datagram was queued before the connect, a's after.
    pid = os.getpid()
    b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); b.bind("\0orphan-b-%d" % pid); keep.append(b)
    x = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); x.bind("\0orphan-x-%d" % pid); keep.append(x)
    x.sendto(b"from x", "\0orphan-b-%d" % pid)
    a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); a.bind("\0orphan-a-%d" % pid)
    b.connect("\0orphan-a-%d" % pid)
    a.sendto(b"from a", "\0orphan-b-%d" % pid)
    a.close()
    expect["orphans"] = [{"fd": b.fileno(), "first": "read", "data": ["from x", "from a"]}]
elif scenario == "pending-outside":
    # A unix listener whose pending client lives in a child process that is not dumped.
    addr = "\0pending-outside-%d" % os.getpid()
    l = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); l.bind(addr); l.listen(2); keep.append(l)
    done_r, done_w = os.pipe()
    if os.fork() == 0:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); c.connect(addr); c.send(b"from outside")
        os.write(done_w, b"x")
        sys.stdin.read()
        os._exit(0)
    os.read(done_r, 1)
elif scenario.startswith("inet"):
    import subprocess, time
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    T, U = socket.SOCK_STREAM, socket.SOCK_DGRAM
    def tcp_listener(fam, addr, backlog):
        l = socket.socket(fam, T); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind(addr); l.listen(backlog); keep.append(l)
        return l
    def client(fam, addr):
        c = socket.socket(fam, T); c.connect(addr); keep.append(c)
        return c
    if scenario == "inet":
        # A server on 127.0.0.1 with an accepted connection holding data both ways and two
        # pending clients; a dual-stack listener on [::] with a pending IPv4 client; a UDP pair
        # with datagrams both ways; an unconnected UDP receiver with a datagram from a third one.
        l = tcp_listener(socket.AF_INET, ("127.0.0.1", 8080), 5)
        c0 = client(socket.AF_INET, ("127.0.0.1", 8080))
        a0, _ = l.accept(); keep.append(a0)
        c0.send(b"GET / HTTP/1.1"); a0.send(b"HTTP/1.1 200 OK")
        client(socket.AF_INET, ("127.0.0.1", 8080)); client(socket.AF_INET, ("127.0.0.1", 8080))
        tcp_listener(socket.AF_INET6, ("::", 9090), 3)
        client(socket.AF_INET, ("127.0.0.1", 9090))
        u1 = socket.socket(socket.AF_INET, U); u1.bind(("127.0.0.1", 5001))
        u2 = socket.socket(socket.AF_INET, U); u2.bind(("127.0.0.1", 5002))
        u1.connect(("127.0.0.1", 5002)); u2.connect(("127.0.0.1", 5001))
        u1.send(b"ping 1"); u1.send(b""); u1.send(b"ping 3"); u2.send(b"pong")
        u3 = socket.socket(socket.AF_INET, U); u3.bind(("127.0.0.1", 5003))
        u4 = socket.socket(socket.AF_INET, U); u4.bind(("127.0.0.1", 5004))
        u4.sendto(b"to u3", ("127.0.0.1", 5003))
        keep.extend([u1, u2, u3, u4])
    elif scenario == "inet-host":
        # Sockets on addresses of a second interface (a veth pair, both ends here): a server
        # on 10.1.2.3 with an accepted connection (data both ways) and two pending clients (one
        # from 127.0.0.1), an IPv6 server on 2001:db8::3 with an accepted and a pending client,
        # a UDP pair on 10.1.2.3 with a datagram queued.
        for cmd in ("ip link add rs0 type veth peer name rs1", "ip addr add 10.1.2.3/24 dev rs0",
                    "ip addr add 2001:db8::3/64 dev rs0 nodad", "ip link set rs0 up", "ip link set rs1 up"):
            subprocess.run(cmd.split(), check=True)
        # The IPv6 address stays tentative (bind() EADDRNOTAVAIL) until the veth's carrier is
        # seen, which the kernel reports asynchronously (linkwatch), even with nodad: wait for it.
        import time
        for _ in range(200):
            out = subprocess.run("ip -6 -o addr show dev rs0 tentative".split(), capture_output=True, text=True).stdout
            if not out.strip():
                break
            time.sleep(0.05)
        else:
            sys.exit("inet-host: 2001:db8::3 is still tentative after 10 s")
        l = tcp_listener(socket.AF_INET, ("10.1.2.3", 8080), 5)
        c0 = client(socket.AF_INET, ("10.1.2.3", 8080))
        a0, _ = l.accept(); keep.append(a0)
        c0.send(b"GET / HTTP/1.1"); a0.send(b"HTTP/1.1 200 OK")
        client(socket.AF_INET, ("10.1.2.3", 8080))
        c2 = socket.socket(socket.AF_INET, T); c2.bind(("127.0.0.1", 0)); c2.connect(("10.1.2.3", 8080)); keep.append(c2)
        l6 = tcp_listener(socket.AF_INET6, ("2001:db8::3", 9090), 3)
        c6 = client(socket.AF_INET6, ("2001:db8::3", 9090))
        a6, _ = l6.accept(); keep.append(a6)
        a6.send(b"hello over v6")
        client(socket.AF_INET6, ("2001:db8::3", 9090))
        u1 = socket.socket(socket.AF_INET, U); u1.bind(("10.1.2.3", 5001))
        u2 = socket.socket(socket.AF_INET, U); u2.bind(("10.1.2.3", 5002))
        u1.connect(("10.1.2.3", 5002)); u1.send(b"to u2")
        keep.extend([u1, u2])
    elif scenario == "inet-mixed":
        # Unix and INET sockets in one process, of two INET kinds only (TCP over IPv4, UDP over
        # IPv6): a unix stream pair with data, a TCP server with an accepted connection (data)
        # and a pending client, a bound IPv6 UDP socket with a datagram from itself.
        a, b = pair(socket.SOCK_STREAM)
        a.send(b"unix bytes")
        l = tcp_listener(socket.AF_INET, ("127.0.0.1", 8082), 4)
        c0 = client(socket.AF_INET, ("127.0.0.1", 8082))
        a0, _ = l.accept(); keep.append(a0)
        c0.send(b"tcp bytes")
        client(socket.AF_INET, ("127.0.0.1", 8082))
        u = socket.socket(socket.AF_INET6, U); u.bind(("::1", 5353)); keep.append(u)
        u.sendto(b"udp6 to self", ("::1", 5353))
    elif scenario == "inet-self":
        # A TCP socket connected to itself (simultaneous open) with data it sent itself.
        s = socket.socket(socket.AF_INET, T); s.bind(("127.0.0.1", 7000)); s.connect(("127.0.0.1", 7000))
        s.send(b"note to self"); keep.append(s)
    elif scenario == "inet-early-data":
        # A pending client that already sent data: it waits on the embryo.
        tcp_listener(socket.AF_INET, ("127.0.0.1", 8081), 5)
        client(socket.AF_INET, ("127.0.0.1", 8081)).send(b"too early")
    elif scenario == "inet-early-data-and-unix":
        # Data before accept() on a TCP listener (refused even by --kill) and on a unix one.
        tcp_listener(socket.AF_INET, ("127.0.0.1", 8083), 5)
        client(socket.AF_INET, ("127.0.0.1", 8083)).send(b"too early")
        ul = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); ul.bind("\0early-unix-%d" % os.getpid()); ul.listen(2); keep.append(ul)
        connect(socket.SOCK_STREAM, "\0early-unix-%d" % os.getpid(), [b"unix early"])
    elif scenario == "inet-early-order":
        # Three TCP clients created in one order and connected in another, two of them sending
        # before accept(); and a unix listener with data before accept. `--kill` reads them all,
        # in accept order (the TCP accept queue's order is the connect order, not the clients').
        l = tcp_listener(socket.AF_INET, ("127.0.0.1", 8084), 5)
        cs = [socket.socket(socket.AF_INET, T) for _ in range(3)]
        keep.extend(cs)
        for i in (2, 0, 1):
            cs[i].connect(("127.0.0.1", 8084))
        cs[2].send(b"created third, connected first")
        cs[1].send(b"created second")
        expect_listener(l, [(cs[2], [b"created third, connected first"], [], False), (cs[0], [], [], False),
                            (cs[1], [b"created second"], [], False)])
        ul = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); ul.bind("\0early-order-%d" % os.getpid()); ul.listen(2); keep.append(ul)
        uc = connect(socket.SOCK_STREAM, "\0early-order-%d" % os.getpid(), [b"unix early"])
        expect_listener(ul, [(uc, [b"unix early"], [], False)])
    elif scenario == "inet-external":
        # The server lives in a child process that is not dumped.
        l = tcp_listener(socket.AF_INET, ("127.0.0.1", 7070), 5)
        if os.fork() == 0:
            a, _ = l.accept(); a.send(b"from the server")
            sys.stdin.read()
            os._exit(0)
        l.close(); keep.remove(l)
        client(socket.AF_INET, ("127.0.0.1", 7070))
    elif scenario == "inet-warnings":
        # One of each thing `checkpoint dump` warns about (tests/it/dump/), the outside
        # ends in a child process that is not dumped.
        os.chdir(d)
        # relative-cwd-guessed: the socket's own file no longer has the name (renamed), so where
        # the name was bound cannot be told from it.
        rel = socket.socket(socket.AF_UNIX, T); rel.bind("rel.sock"); rel.listen(1); keep.append(rel)
        os.rename("rel.sock", "moved.sock")
        keep.append(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))  # family-left-out
        gl = socket.socket(socket.AF_UNIX, T); gl.bind(os.path.join(d, "gone.sock")); gl.listen(1)
        gc = socket.socket(socket.AF_UNIX, T); gc.connect(os.path.join(d, "gone.sock"))
        ga, _ = gl.accept(); gl.close(); keep.extend([gc, ga])  # listener-gone
        r = socket.socket(socket.AF_UNIX, U); r.bind(os.path.join(d, "r.sock")); keep.append(r)
        tcp_listener(socket.AF_INET, ("127.0.0.1", 8090), 5)
        client(socket.AF_INET, ("127.0.0.1", 8090)); client(socket.AF_INET, ("127.0.0.1", 8090))  # accept-order-guessed
        keep[-1].setsockopt(socket.IPPROTO_IP, socket.IP_TOS, 0x10)  # option-not-recorded
        sa, sb = pair(socket.SOCK_SEQPACKET); sa.send(b"record"); sb.shutdown(socket.SHUT_RD)  # seqpacket-empty-tail
        ea, eb = pair(U); ea.send(b""); ea.send(b"after")  # empty-message-peeked
        outside = tcp_listener(socket.AF_INET, ("127.0.0.1", 7071), 5)
        client(socket.AF_INET, ("127.0.0.1", 7071))  # tcp-external-peer: accepted in the child
        u = socket.socket(socket.AF_INET, U); u.connect(("127.0.0.1", 9)); keep.append(u)  # udp-external-peer
        a, b = pair(T)  # unix-external-peer: b lives on in the child
        done_r, done_w = os.pipe()
        if os.fork() == 0:
            a.close()
            x, _ = outside.accept(); x.send(b"from outside")
            p = socket.socket(socket.AF_INET, T); p.connect(("127.0.0.1", 8090))  # pending-external
            o = socket.socket(socket.AF_UNIX, U); o.bind("\0resocket-outside-%d" % os.getpid())
            o.sendto(b"from outside", os.path.join(d, "r.sock"))  # dgram-sender-outside
            os.write(done_w, b"x")
            sys.stdin.read()
            os._exit(0)
        os.read(done_r, 1)
        outside.close(); keep.remove(outside); b.close(); keep.remove(b)
    else:
        sys.exit("unknown scenario " + scenario)
    time.sleep(0.2)  # loopback delivery and handshakes settle
elif scenario == "empty-peeked":
    # An empty datagram before a full one. Once a peek has returned the empty one, the kernel
    # marks it (skb->peeked) and a peek with SO_PEEK_OFF skips it; a plain recv still reads it
    # (tests/it/dump/). On a line from stdin: peek with SO_PEEK_OFF 0, then recv, and say.
    a, b = pair(socket.SOCK_DGRAM); a.send(b""); a.send(b"x"); keep.extend([a, b])
    print("ready", flush=True)
    sys.stdin.readline()
    b.setsockopt(socket.SOL_SOCKET, 42, 0)  # SO_PEEK_OFF
    peeked = b.recv(16, socket.MSG_PEEK | socket.MSG_DONTWAIT)
    b.setsockopt(socket.SOL_SOCKET, 42, -1)
    first = b.recv(16, socket.MSG_DONTWAIT)
    print("peek=%s recv=%s" % (peeked.hex() or "-", first.hex() or "-"), flush=True)
    sys.stdin.read()
    sys.exit(0)
elif scenario.startswith("many-"):
    n = int(scenario.split("-")[1])
    for i in range(n // 2):
        a, b = pair(socket.SOCK_STREAM)
        a.send(b"message %d" % i)
else:
    sys.exit("unknown scenario " + scenario)

import json
json.dump(expect, open(os.path.join(d, "expect.json"), "w"))
print("ready", flush=True)
sys.stdin.read()
