#!/usr/bin/env python3
"""TCP urgent data (MSG_OOB) on a loopback connection, for tests/it/urgent.rs.

Usage: urgent.py SCENARIO DIR   build the scenario in this process (in its own network
                                namespace: lo is brought up), write DIR/expect.json (the fd and
                                the steps `check` must see), print 'ready', wait until stdin
                                closes (a line "after" first: run the steps here, on the
                                original socket, and print 'ok' or the first difference). With --self-check instead: run the steps here, on the
                                original socket, and print 'ok' or the first difference (how
                                each scenario's steps were checked against the kernel).
       urgent.py check DIR      run in the restored process (`restore run IMAGE -- ...`): replay
                                the steps on the socket; print 'ok' or exit with the first
                                difference.

A step is ["mark", bool] (SIOCATMARK), ["peek", hex] (MSG_PEEK from the head, 100 bytes, the
socket's own peek offset set aside), ["urg", hex|None] (recv(MSG_OOB | MSG_PEEK): the byte, or
None for EINVAL), ["oob", hex|None] (recv(MSG_OOB), which takes the byte), ["read", hex] (one
recv of up to 100 bytes: where it stops) or ["eagain"] (nothing left).
"""
import errno, fcntl, json, os, socket, struct, subprocess, sys, time

scenario, d = sys.argv[1], sys.argv[2]
SO_PEEK_OFF = 42


def atmark(s):
    return bool(struct.unpack("i", fcntl.ioctl(s.fileno(), 0x8905, struct.pack("i", 0)))[0])


def run(s, steps):
    """Replay `steps` on socket `s`; the first difference, or None."""
    s.setblocking(False)
    for i, (kind, v) in enumerate(steps):
        want = bytes.fromhex(v) if isinstance(v, str) else v
        if kind == "mark":
            got = atmark(s)
        elif kind == "peek":
            off = s.getsockopt(socket.SOL_SOCKET, SO_PEEK_OFF)
            s.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, -1)
            got = s.recv(100, socket.MSG_PEEK)
            s.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, off)
        elif kind in ("urg", "oob"):
            flags = socket.MSG_OOB | (socket.MSG_PEEK if kind == "urg" else 0)
            try:
                got = s.recv(1, flags)
            except OSError as e:
                got = None if e.errno == errno.EINVAL else errno.errorcode[e.errno]
        elif kind == "read":
            got = s.recv(100)
        else:
            try:
                got = s.recv(100)
            except BlockingIOError:
                got = want = None
        if got != want:
            return "step %d %s: got %r, want %r" % (i, kind, got, want)
    return None


if scenario == "check":
    want = json.load(open(os.path.join(d, "expect.json")))
    s = socket.socket(fileno=os.dup(want["fd"]))
    if want.get("accept"):
        s = s.accept()[0]  # sent before accept(): the listener's first connection holds it
    inline = s.getsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE)
    if inline != int(want["inline"]):
        sys.exit("check: SO_OOBINLINE is %d" % inline)
    if "peek_off" in want and s.getsockopt(socket.SOL_SOCKET, SO_PEEK_OFF) != want["peek_off"]:
        sys.exit("check: SO_PEEK_OFF is %d" % s.getsockopt(socket.SOL_SOCKET, SO_PEEK_OFF))
    why = run(s, want["steps"])
    if why:
        sys.exit("check: " + why)
    print("ok", flush=True)
    sys.exit(0)

subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
keep = []
fam, host = (socket.AF_INET6, "::1") if scenario == "v6" else (socket.AF_INET, "127.0.0.1")
l = socket.socket(fam, socket.SOCK_STREAM)
l.bind((host, 4600))
l.listen(2)
keep.append(l)
b = socket.socket(fam, socket.SOCK_STREAM)
b.connect((host, 4600))
keep.append(b)
a = None
if scenario != "pending":
    a, _ = l.accept()
    keep.append(a)
expect = {"fd": a.fileno() if a else l.fileno(), "inline": scenario == "inline"}
if scenario == "inline":
    a.setsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE, 1)
OOB = socket.MSG_OOB
if scenario == "mid":
    # The byte amid the queue, and a peek offset of the process's own (the dump's peeks set it
    # aside and put it back; the restore sets it again).
    b.send(b"ab"); b.send(b"cX", OOB); b.send(b"def")
    a.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, 1)
    expect["peek_off"] = 1
    steps = [("mark", False), ("urg", b"X"), ("peek", b"abc"), ("read", b"abc"), ("mark", True),
             ("peek", b"def"), ("oob", b"X"), ("urg", None), ("mark", True), ("read", b"def"), ("eagain", None)]
elif scenario == "head":
    # The byte at the head: SIOCATMARK at once, reads and peeks skip it.
    b.send(b"X", OOB); b.send(b"yz")
    steps = [("mark", True), ("urg", b"X"), ("peek", b"yz"), ("read", b"yz"), ("mark", False), ("urg", None),
             ("eagain", None)]
elif scenario == "inline":
    # SO_OOBINLINE: the byte reads as data after the stop at the mark; recv(MSG_OOB) is EINVAL.
    b.send(b"ab"); b.send(b"cX", OOB); b.send(b"d")
    steps = [("mark", False), ("urg", None), ("peek", b"abc"), ("read", b"abc"), ("mark", True),
             ("peek", b"Xd"), ("read", b"Xd"), ("eagain", None)]
elif scenario == "twice":
    # A second urgent send moves the mark: X becomes ordinary data, Y the urgent byte.
    b.send(b"a"); b.send(b"bX", OOB); b.send(b"c"); b.send(b"Y", OOB); b.send(b"d")
    steps = [("urg", b"Y"), ("peek", b"abXc"), ("read", b"abXc"), ("mark", True), ("read", b"d"), ("eagain", None)]
elif scenario == "read":
    # The process took the byte with recv(MSG_OOB): the mark and its hole stay ahead.
    b.send(b"ab"); b.send(b"X", OOB); b.send(b"c")
    time.sleep(0.05)
    a.recv(1, OOB)
    steps = [("mark", False), ("urg", None), ("read", b"ab"), ("mark", True), ("read", b"c")]
elif scenario == "v6":
    # The same over IPv6 (::1).
    b.send(b"ab"); b.send(b"X", OOB); b.send(b"c")
    steps = [("urg", b"X"), ("peek", b"ab"), ("read", b"ab"), ("mark", True), ("read", b"c"), ("eagain", None)]
elif scenario == "pending":
    # Urgent data a client sent before accept() (`--kill` accepts it on a duplicate).
    b.send(b"ab"); b.send(b"X", OOB); b.send(b"c")
    expect["accept"] = True
    steps = [("urg", b"X"), ("peek", b"ab"), ("read", b"ab"), ("mark", True), ("read", b"c"), ("eagain", None)]
else:
    sys.exit("unknown scenario " + scenario)
time.sleep(0.05)
expect["steps"] = [[k, v.hex() if isinstance(v, bytes) else v] for k, v in steps]
if "--self-check" in sys.argv:
    s = a if a else l.accept()[0]
    print(run(s, expect["steps"]) or "ok", flush=True)
    sys.exit(0)
json.dump(expect, open(os.path.join(d, "expect.json"), "w"))
print("ready", flush=True)
# "after" on stdin (once the test has dumped this process): replay the steps on the original
# socket, its options checked first, and print 'ok' or the first difference.
if sys.stdin.readline().strip() == "after":
    s = a if a else l.accept()[0]
    why = None
    if s.getsockopt(socket.SOL_SOCKET, socket.SO_OOBINLINE) != int(expect["inline"]):
        why = "SO_OOBINLINE changed"
    elif "peek_off" in expect and s.getsockopt(socket.SOL_SOCKET, SO_PEEK_OFF) != expect["peek_off"]:
        why = "SO_PEEK_OFF changed"
    print(why or run(s, expect["steps"]) or "ok", flush=True)
sys.stdin.read()
