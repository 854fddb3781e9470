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
elif scenario == "external":
    # One end stays here; the other lives in a child process that is not dumped.
    a, b = pair(socket.SOCK_STREAM)
    b.send(b"from outside")
    if os.fork() == 0:
        a.close()
        sys.stdin.read()
        os._exit(0)
    b.close()
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
        # One of each thing `checkpoint dump` warns about (tests/it/dump.rs), the outside
        # ends in a child process that is not dumped.
        os.chdir(d)
        rel = socket.socket(socket.AF_UNIX, T); rel.bind("rel.sock"); rel.listen(1); keep.append(rel)  # relative-cwd-guessed
        keep.append(socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 0))  # family-left-out
        gl = socket.socket(socket.AF_UNIX, T); gl.bind(os.path.join(d, "gone.sock")); gl.listen(1)
        gc = socket.socket(socket.AF_UNIX, T); gc.connect(os.path.join(d, "gone.sock"))
        ga, _ = gl.accept(); gl.close(); keep.extend([gc, ga])  # listener-gone
        r = socket.socket(socket.AF_UNIX, U); r.bind(os.path.join(d, "r.sock")); keep.append(r)
        tcp_listener(socket.AF_INET, ("127.0.0.1", 8090), 5)
        client(socket.AF_INET, ("127.0.0.1", 8090)); client(socket.AF_INET, ("127.0.0.1", 8090))  # accept-order-guessed
        keep[-1].setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # option-not-recorded
        sa, sb = pair(socket.SOCK_SEQPACKET); sa.send(b"record"); sb.shutdown(socket.SHUT_RD)  # seqpacket-empty-tail
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
elif scenario.startswith("many-"):
    n = int(scenario.split("-")[1])
    for i in range(n // 2):
        a, b = pair(socket.SOCK_STREAM)
        a.send(b"message %d" % i)
else:
    sys.exit("unknown scenario " + scenario)

print("ready", flush=True)
sys.stdin.read()
