#!/usr/bin/env python3
# login-storm.py: a storm of logins against chatd, for measuring what it
# does to everyone else's latency (run chatbench scenario D meanwhile).
# Usage: bench/login-storm.py PORT NAME PASSWORD [RATE [SECONDS]]
# Opens 20 connections to 127.0.0.1:PORT and sends "/login NAME
# PASSWORD" on them in turn, RATE a second (default 20) for SECONDS
# (default 8), then prints how many were sent and answered.  Each
# connection sends its next login only when the last one is answered,
# as a client would.  The account must exist (chatd --add-account).
import selectors, socket, sys, time

port, name, pw = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rate = float(sys.argv[4]) if len(sys.argv) > 4 else 20.0
secs = float(sys.argv[5]) if len(sys.argv) > 5 else 8.0
sel = selectors.DefaultSelector()
conns = []
for i in range(20):
    s = socket.create_connection(("127.0.0.1", port))
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, i)
    conns.append({"s": s, "busy": False, "buf": b""})
sent = answered = 0
start = time.monotonic()
nxt = start
turn = 0
while True:
    now = time.monotonic()
    if now - start >= secs and all(not c["busy"] for c in conns):
        break
    if now >= nxt and now - start < secs:
        c = conns[turn % len(conns)]
        turn += 1
        if not c["busy"]:
            c["s"].sendall(("/login %s %s\n" % (name, pw)).encode())
            c["busy"] = True
            sent += 1
        nxt += 1.0 / rate
    for key, _ in sel.select(timeout=max(0.0, min(0.01, nxt - now))):
        c = conns[key.data]
        data = c["s"].recv(65536)
        if not data:
            sys.exit("connection closed")
        c["buf"] += data
        while b"\n" in c["buf"]:
            ln, c["buf"] = c["buf"].split(b"\n", 1)
            if b"logged in as" in ln or b"wrong name" in ln:
                c["busy"] = False
                answered += 1
    if now - start > secs + 30:
        break
print("logins sent %d answered %d in %.1fs (%.1f/s)" %
      (sent, answered, time.monotonic() - start,
       answered / (time.monotonic() - start)))
