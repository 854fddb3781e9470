#!/usr/bin/env python3
"""Build a socket scenario in this process, print 'ready', then wait until stdin closes.

Usage: live.py SCENARIO DIR   (DIR: a scratch directory for path names)
Used by tests/it/dump.rs: the process is dumped with `checkpoint dump` while it waits.
"""
import os, socket, sys

scenario, d = sys.argv[1], sys.argv[2]
keep = []

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
elif scenario == "rights":
    a, b = pair(socket.SOCK_STREAM)
    x, y = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    keep.append(y)
    socket.send_fds(a, [b"take this"], [x.fileno()])
    x.close()
    y.send(b"for x")
elif scenario == "external":
    # One end stays here; the other lives in a child process that is not dumped.
    a, b = pair(socket.SOCK_STREAM)
    b.send(b"from outside")
    if os.fork() == 0:
        a.close()
        sys.stdin.read()
        os._exit(0)
    b.close()
elif scenario.startswith("many-"):
    n = int(scenario.split("-")[1])
    for i in range(n // 2):
        a, b = pair(socket.SOCK_STREAM)
        a.send(b"message %d" % i)
else:
    sys.exit("unknown scenario " + scenario)

print("ready", flush=True)
sys.stdin.read()
