#!/usr/bin/env python3
"""Prefork pool maintenance: MinSpareServers spawns (with a doubling spawn rate), MaxSpareServers
retires one per second, MaxRequestWorkers caps the pool under a burst of slow clients,
MaxConnectionsPerChild recycles a worker, and portico-status shows the state letters."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, http_get, parse_status, pid_alive, wait_until  # noqa: E402


def idle(p):
    return parse_status(p.status())["idle"]


def test_min_spare():
    with Portico(start_servers=1, min_spare=3, max_spare=5, max_workers=10) as p:
        first = len(p.children())
        T.cmp_ok(first, "<=", 3, "StartServers 1: few children right after start (%d)" % first)
        t0 = time.monotonic()
        n = wait_until(lambda: (idle(p) or 0) >= 3 and idle(p), 6, 0.1)
        took = time.monotonic() - t0
        T.ok(n and n >= 3, "MinSpareServers 3: idle workers rise to >= 3 (%r) within 6 s (%.1f s)" % (n, took),
             p.status())
        time.sleep(2.5)
        kids = p.children()
        st = parse_status(p.status())
        T.ok(3 <= len(kids) <= 5, "pool settles between MinSpare 3 and MaxSpare 5 (%d children)" % len(kids))
        T.ok(st["idle"] is not None and 3 <= st["idle"] <= 5, "idle count within [3, 5] (%r)" % st["idle"])
        T.is_(http_get(p.port, "/").status, 200, "serving with the grown pool")


def test_spawn_rate_doubles():
    """httpd spawns 1, 2, 4, 8... per maintenance second while below MinSpareServers: from 1 to 8
    idle takes about 3 s; at a fixed one per second it would take 7 s."""
    with Portico(start_servers=1, min_spare=8, max_spare=12, max_workers=16) as p:
        t0 = time.monotonic()
        samples = []
        for _ in range(100):
            n = len(p.children())
            samples.append((time.monotonic() - t0, n))
            if n >= 8 or samples[-1][0] > 8:
                break
            time.sleep(0.2)
        T.diag("children over time: %s" % ", ".join("%.1fs:%d" % s for s in samples[::3]))
        T.ok(samples[-1][1] >= 8 and samples[-1][0] <= 5.5,
             "spawn rate doubles: 1 -> 8 children within 5.5 s (%d at %.1f s)" % (samples[-1][1], samples[-1][0]))
        n = wait_until(lambda: (idle(p) or 0) >= 8 and idle(p), 3)
        T.ok(n, "idle workers reach MinSpareServers 8 (%r)" % n)


def test_max_spare():
    with Portico(start_servers=10, min_spare=1, max_spare=4, max_workers=12) as p:
        wait_until(lambda: len(p.children()) >= 10, 5)
        t0 = time.monotonic()
        samples = []
        for _ in range(200):
            samples.append((time.monotonic() - t0, len(p.children())))
            if samples[-1][1] <= 4 or samples[-1][0] > 15:
                break
            time.sleep(0.25)
        T.diag("children over time: %s" % ", ".join("%.1fs:%d" % s for s in samples[::4]))
        T.ok(samples[0][1] >= 10, "StartServers 10: 10 children at start (%d)" % samples[0][1])
        T.ok(samples[-1][1] <= 4, "MaxSpareServers 4: children drop to <= 4 (%d after %.1f s)" % (samples[-1][1], samples[-1][0]))
        T.cmp_ok(samples[-1][0], "<=", 12.0, "... within 12 s")
        # httpd retires one idle worker per maintenance second: not all at once
        early = [c for t, c in samples if t <= 1.2]
        T.ok(early and min(early) >= 8, "retirement is gradual: still >= 8 children after ~1 s (%r)" % early)
        drops = [samples[i][1] - samples[i + 4][1] for i in range(0, len(samples) - 4)]
        T.ok(not drops or max(drops) <= 2, "never more than 2 children retired within a second (max %r)" % (max(drops) if drops else None))
        time.sleep(2.5)
        kids = len(p.children())
        T.ok(1 <= kids <= 4, "pool stays within [MinSpare 1, MaxSpare 4] afterwards (%d)" % kids)
        T.is_(http_get(p.port, "/").status, 200, "serving after retirements")


def test_max_request_workers():
    with Portico(start_servers=2, min_spare=2, max_spare=8, max_workers=4,
                 conf="Timeout 8\nServerLimit 16\n") as p:
        socks = []
        peak = 0
        try:
            for _ in range(12):
                s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
                s.sendall(b"GET / HTTP/1.1\r\nHost: loc")  # half a head: the worker waits
                socks.append(s)
            t0 = time.monotonic()
            letters = None
            for _ in range(60):
                peak = max(peak, len(p.children()))
                st = parse_status(p.status())
                if st["letters"] and "R" in st["letters"]:
                    letters = st["letters"]
                if time.monotonic() - t0 > 4:
                    break
                time.sleep(0.1)
            T.ok(peak >= 4, "burst of 12 slow clients grows the pool to MaxRequestWorkers (peak %d)" % peak)
            T.cmp_ok(peak, "<=", 4, "child count never exceeds MaxRequestWorkers 4 (peak %d)" % peak)
            T.like(letters or "", r"^R{4}|R.*R.*R.*R", "status letters show 4 workers reading (R): %r" % letters)
            T.like(p.error_log(), r"MaxRequestWorkers", "error log warns that MaxRequestWorkers was reached")
        finally:
            for s in socks:
                s.close()
        ok = wait_until(lambda: _get_ok(p.port), 10)
        T.ok(ok, "after the slow clients are gone, requests are served again")
        T.cmp_ok(len(p.children()), "<=", 4, "still at most 4 children")


def _get_ok(port):
    try:
        return http_get(port, "/", timeout=3).status == 200
    except Exception:  # noqa: BLE001
        return False


def test_max_connections_per_child():
    with Portico(start_servers=1, min_spare=1, max_spare=1, max_workers=1,
                 conf="MaxConnectionsPerChild 3\n") as p:
        # the harness's start-up probe was a connection too: use a fresh worker (0 connections)
        def fresh():
            ws = parse_status(p.status())["workers"]
            if len(ws) == 1 and ws[0]["Conn"] == "0" and pid_alive(int(ws[0]["PID"])):
                return int(ws[0]["PID"])
            return None
        first = None
        for _ in range(4):
            first = wait_until(fresh, 3)
            if first:
                break
            _get_ok(p.port)
        T.ok(first, "one fresh worker with 0 connections (MaxRequestWorkers 1)", p.status())
        if not first:
            return
        T.is_(p.children(), [first], "it is the master's only child")
        for i in range(2):
            T.is_(http_get(p.port, "/").status, 200, "connection %d served" % (i + 1))
        time.sleep(0.3)
        T.ok(pid_alive(first), "worker %d still alive after 2 connections" % first)
        T.is_(http_get(p.port, "/").status, 200, "connection 3 served")
        gone = wait_until(lambda: not pid_alive(first), 5)
        T.ok(gone, "worker %d exits after its 3rd connection (MaxConnectionsPerChild 3)" % first)
        new = wait_until(lambda: [k for k in p.children() if k != first], 8)
        T.ok(new, "a new worker replaces it (%r)" % (new,))
        T.is_(http_get(p.port, "/").status, 200, "connection 4 served by the new worker")
        pids = [int(w["PID"]) for w in parse_status(p.status())["workers"]]
        T.ok(first not in pids and pids, "scoreboard lists the new worker, not the recycled one (%r)" % pids)


def test_status_letters():
    with Portico(start_servers=3, min_spare=1, max_spare=6, max_workers=8) as p:
        wait_until(lambda: (idle(p) or 0) >= 3, 5)
        text = p.status()
        st = parse_status(text)
        T.ok(st["letters"] is not None, "portico-status prints a state letters line", text)
        letters = st["letters"] or ""
        T.like(letters, r"^[_SRWKLDCGI.]+$", "letters line uses httpd's letters")
        T.is_(len(letters), 8, "one letter per MaxRequestWorkers slot")
        T.is_(letters.count("_"), st["idle"], "'_' count equals the idle workers count")
        T.is_(len(letters) - letters.count("."), len(p.children()), "non-'.' letters equal live children")
        T.is_(st["master_pid"], p.pid, "portico-status shows the master pid")
        # a client that holds a worker shows as R (reading) or K (keep-alive)
        s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
        try:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
            got = wait_until(lambda: "R" in (parse_status(p.status())["letters"] or ""), 3)
            T.ok(got, "a half-sent request shows as R in the letters line", p.status())
        finally:
            s.close()
        with socket.create_connection(("127.0.0.1", p.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            s.recv(65536)
            got = wait_until(lambda: "K" in (parse_status(p.status())["letters"] or ""), 3)
            T.ok(got, "an idle keep-alive connection shows as K", p.status())


for fn in (test_min_spare, test_spawn_rate_doubles, test_max_spare, test_max_request_workers, test_max_connections_per_child,
           test_status_letters):
    T.section(fn)
T.done()
