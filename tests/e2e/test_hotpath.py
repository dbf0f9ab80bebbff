#!/usr/bin/env python3
"""The hot path of bf7d264: blocking client and backend sockets with 1 s SO_RCVTIMEO/SO_SNDTIMEO
slices, idle workers asleep in epoll_wait() without a timeout (woken for a graceful stop by an
eventfd), keep-alive waits inside recv(), and large Content-Length bodies moved with splice()
through a per-worker pipe.

- USR1 retires every idle worker within 3 s (several rounds) and the new ones serve;
- a keep-alive connection idle in recv() when USR1 arrives is closed cleanly (FIN, no reset)
  after the 1 s grace, and a request sent inside the grace is answered with Connection: close;
- KeepAliveTimeout 2 and 500ms are kept to within the slice (the sub-second path uses poll());
- a half-sent head under Timeout 3 gets 408 after ~3 s; a silent connection is closed;
- splice, with one worker so the same pipe is reused: 5 MiB on keep-alive then a small answer,
  pipelined requests, a client leaving mid-download (the pipe is dropped, the next downloads
  are exact), a backend closing or stalling mid-body, HEAD of a large resource, bodies of
  32767/32768/32769/65536 bytes, an HTTP/1.0 client; the worker's pipe is watched in /proc to
  prove the splice path ran and was dropped after each failure;
- the error logs: no emerg/crit/alert, "read error" only for the stalled backend.
"""
import hashlib
import http.server
import os
import random
import signal
import socket
import sys
import threading
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, Conn, HarnessError, http_get, proc_stat, wait_until  # noqa: E402
from backends import BackendProc, request_report, pattern_sha256  # noqa: E402

MIB = 1 << 20
EMERG = r"\[(emerg|crit|alert)\]"

# The echo backend's download pattern repeats every 64 KiB, the size of the splice pipe: a
# stale pipeful in front of a pattern body would shift it by exactly one period and go unseen.
# Bodies that must reveal stale bytes come from RandomBackend instead (a random block of a
# prime length, repeated).
RAND_BLOCK = random.Random(7).randbytes(99991)


def rand_bytes(offset, n):
    out = bytearray()
    while n > 0:
        o = offset % len(RAND_BLOCK)
        take = min(n, len(RAND_BLOCK) - o)
        out += RAND_BLOCK[o:o + take]
        offset += take
        n -= take
    return bytes(out)


def rand_sha256(n):
    return hashlib.sha256(rand_bytes(0, n)).hexdigest()


class RandomBackend:
    """An HTTP/1.1 keep-alive backend in this process: GET/HEAD ...?size=N answers N bytes of
    rand_bytes() with Content-Length."""

    def __init__(self):
        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def _answer(self, body):
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
                n = int(q.get("size", ["0"])[0])
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(n))
                self.end_headers()
                for off in range(0, n if body else 0, 262144):
                    self.wfile.write(rand_bytes(off, min(262144, n - off)))

            def do_GET(self):
                self._answer(True)

            def do_HEAD(self):
                self._answer(False)

        self.srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.srv.daemon_threads = True
        self.port = self.srv.server_address[1]
        self.thread = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.srv.shutdown()
        self.srv.server_close()
        self.thread.join(5)
        return False


class TrickleBackend:
    """A backend in this process that answers GET with Content-Length: 100000 and sends the
    body in pieces with pauses between them (a paced stream), recording when each piece went
    out so the client can measure how long the proxy held it."""

    PIECES = (1000, 1000, 1000)  # then the rest after a pause
    TOTAL = 100000

    def __init__(self):
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(8)
        self.ls.settimeout(0.2)
        self.port = self.ls.getsockname()[1]
        self.sent = []  # monotonic time each piece was sent, for the last connection
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.stop:
            try:
                s, _ = self.ls.accept()
            except (socket.timeout, TimeoutError, OSError):
                continue
            try:
                self._serve(s)
            except OSError:
                pass
            finally:
                s.close()

    def _serve(self, s):
        s.settimeout(10)
        head = b""
        while b"\r\n\r\n" not in head and len(head) < 65536:
            d = s.recv(65536)
            if not d:
                return
            head += d
        s.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                  b"Content-Length: %d\r\nConnection: close\r\n\r\n" % self.TOTAL)
        self.sent = []
        off = 0
        for n in self.PIECES:
            time.sleep(0.3)
            self.sent.append(time.monotonic())
            s.sendall(rand_bytes(off, n))
            off += n
        time.sleep(0.5)
        s.sendall(rand_bytes(off, self.TOTAL - off))
        s.shutdown(socket.SHUT_WR)
        s.settimeout(2)
        try:
            s.recv(1)
        except OSError:
            pass

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop = True
        self.thread.join(5)
        self.ls.close()
        return False


# --------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------
def read_index(sock):
    """Reads one answer for /index.html ("hot\n") off a connection that stays open."""
    got = b""
    while b"hot\n" not in got.partition(b"\r\n\r\n")[2] and len(got) < 65536:
        d = sock.recv(65536)
        if not d:
            break
        got += d
    return got


def wait_close(sock, timeout):
    """Waits for the peer to end the connection. Returns (how, seconds, bytes received) with
    how = "eof" (a clean FIN), "reset", or "timeout"."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    got = b""
    for _ in range(100000):
        left = deadline - time.monotonic()
        if left <= 0:
            return "timeout", time.monotonic() - t0, got
        sock.settimeout(left)
        try:
            d = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            return "timeout", time.monotonic() - t0, got
        except ConnectionResetError:
            return "reset", time.monotonic() - t0, got
        if not d:
            return "eof", time.monotonic() - t0, got
        got += d
    return "timeout", time.monotonic() - t0, got


def snapshot(p):
    """{pid: starttime} of the master's children (all workers in these configs)."""
    out = {}
    for k in p.children():
        st = proc_stat(k)
        if st:
            out[k] = st[3]
    return out


def still_running(snap):
    out = []
    for pid, start in snap.items():
        st = proc_stat(pid)
        if st and st[3] == start and st[1] != "Z":
            out.append(pid)
    return out


def wchan(pid):
    try:
        with open("/proc/%d/wchan" % pid) as f:
            return f.read().strip()
    except OSError:
        return "?"


def pipe_inodes(pid):
    """The pipes a process holds open (set of "pipe:[inode]" link targets)."""
    out = set()
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for n in names:
        try:
            t = os.readlink("/proc/%d/fd/%s" % (pid, n))
        except OSError:
            continue
        if t.startswith("pipe:"):
            out.add(t)
    return out


def exact(resp, n, rand=False):
    """(status, length, sha256 matches) of a download from the echo backend (pattern) or,
    with rand=True, from RandomBackend."""
    if resp is None:
        return None
    want = rand_sha256(n) if rand else pattern_sha256(n)
    return resp.status, len(resp.body), hashlib.sha256(resp.body).hexdigest() == want


# --------------------------------------------------------------------------------------------
# 1 + 2: graceful stop of idle workers and of keep-alive connections
# --------------------------------------------------------------------------------------------
def test_graceful_idle_workers(p):
    # Several rounds: the wake has to work whenever the signal lands, including between the
    # worker's flag test and its epoll_wait() (then only the eventfd can wake it).
    for rnd in range(1, 4):
        old = p.wait_children(lambda k: len(k) >= 6, timeout=8) or p.children()
        T.cmp_ok(len(old), ">=", 6, "round %d: %d idle workers before USR1" % (rnd, len(old)))
        snap = snapshot(p)
        # Idle: no request since they were forked (let the new ones reach epoll_wait).
        wait_until(lambda: all(wchan(k) in ("ep_poll", "do_epoll_wait", "0", "?") for k in snap), 2, 0.05)
        T.diag("round %d wchan: %s" % (rnd, sorted(set(wchan(k) for k in snap))))
        t0 = time.monotonic()
        p.signal(signal.SIGUSR1)
        left = wait_until(lambda: not still_running(snap) or None, timeout=3.0, interval=0.02)
        dt = time.monotonic() - t0
        T.ok(left is True, "round %d: every old worker (%d) gone %.2f s after USR1 (bound 3 s)"
             % (rnd, len(snap), dt), "still running: %r" % still_running(snap))
        new = p.wait_children(lambda k: len(k) >= 1 and not set(k) & set(snap), timeout=5)
        T.ok(new, "round %d: new workers started (%r)" % (rnd, new))
        r = http_get(p.port, "/index.html", timeout=5)
        T.is_((r.status, r.body), (200, b"hot\n"), "round %d: a new worker serves" % rnd)


def test_graceful_keepalive(p):
    # (a) idle inside recv() (KeepAliveTimeout 30: a whole slice is left) when USR1 comes.
    with Conn(p.port, timeout=5) as c:
        r = c.request("GET", "/index.html")
        T.is_((r.status, (r.header("Connection") or "").lower()), (200, ""),
              "HTTP/1.1 keep-alive response before USR1 (no Connection: close)")
        time.sleep(0.5)
        snap = snapshot(p)
        t0 = time.monotonic()
        p.signal(signal.SIGUSR1)
        how, _, got = wait_close(c.sock, 6.0)
        dt = time.monotonic() - t0
        T.is_((how, got), ("eof", b""), "idle keep-alive connection on USR1: clean EOF, nothing sent, no reset")
        T.cmp_ok(dt, ">=", 0.7, "... not before the 1 s grace for a request in flight (%.2f s)" % dt)
        T.cmp_ok(dt, "<=", 4.0, "... within GRACEFUL_IDLE_MS + slice + margin (%.2f s)" % dt)
        c.close()  # our FIN ends the worker's lingering close
        gone = wait_until(lambda: not still_running(snap) or None, timeout=max(0.1, 4.0 - dt), interval=0.02)
        T.ok(gone is True, "... and every old worker has exited %.2f s after USR1" % (time.monotonic() - t0),
             "still running: %r" % still_running(snap))

    # (b) a request sent right after the signal, inside the grace, is still served.
    p.wait_children(lambda k: len(k) >= 6, timeout=8)
    with Conn(p.port, timeout=5) as c:
        r = c.request("GET", "/index.html")
        T.is_(r.status, 200, "second connection: first request 200")
        time.sleep(0.5)
        p.signal(signal.SIGUSR1)
        time.sleep(0.2)
        t0 = time.monotonic()
        r = c.request("GET", "/index.html?during-grace")
        T.is_((r and r.status, r and r.body), (200, b"hot\n"), "request sent 0.2 s after USR1 on the idle connection: 200")
        T.is_(r and (r.header("Connection") or "").lower(), "close", "... with Connection: close")
        how, dt, got = wait_close(c.sock, 4.0)
        T.is_((how, got), ("eof", b""), "... then a clean EOF (%.2f s)" % (time.monotonic() - t0))
    T.like(p.access_log(), r'"GET /index\.html\?during-grace HTTP/1\.1" 200 ', "access log: the grace request was 200")


# --------------------------------------------------------------------------------------------
# 3 + 4: KeepAliveTimeout and Timeout on blocking sockets
# --------------------------------------------------------------------------------------------
def keepalive_close(port, what, lo, hi):
    with Conn(port, timeout=5) as c:
        r = c.request("GET", "/index.html")
        T.is_(r.status, 200, "%s: first request 200" % what)
        how, dt, got = wait_close(c.sock, hi + 3.0)
        T.is_((how, got), ("eof", b""), "%s: idle connection closed by the server with a clean EOF" % what)
        T.ok(lo <= dt <= hi, "%s: closed after %.2f s (expected %.2f-%.2f s)" % (what, dt, lo, hi))


def test_keepalive_timeouts(p):
    keepalive_close(p.port, "KeepAliveTimeout 2", 1.8, 2.7)
    # Upper bounds below a whole extra slice: a wait that overshoots by a slice fails them.
    keepalive_close(p.ports[1], "KeepAliveTimeout 500ms (vhost)", 0.4, 0.95)
    # Keep-alive still works below the timeout: two requests 0.3 s apart on the 500ms port.
    with Conn(p.ports[1], timeout=5) as c:
        r1 = c.request("GET", "/index.html")
        time.sleep(0.3)
        r2 = c.request("GET", "/index.html")
        T.is_((r1.status, r2 and r2.status), (200, 200), "KeepAliveTimeout 500ms: a request 0.3 s later is served")


def test_slow_head(p):
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    try:
        t0 = time.monotonic()
        s.sendall(b"GET /index.html HT")
        how, _, got = wait_close(s, 8.0)
        dt = time.monotonic() - t0
    finally:
        s.close()
    T.like(got, r"^HTTP/1\.1 408 ", "Timeout 3, half a request line then silence: 408 (README: a half-sent head gets 408)")
    T.is_(how, "eof", "... then the connection is closed cleanly")
    T.ok(2.5 <= dt <= 4.5, "... after %.2f s (Timeout 3, bound 2.5-4.5 s)" % dt)

    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    try:
        how, dt, got = wait_close(s, 8.0)
    finally:
        s.close()
    T.is_((how, got), ("eof", b""), "Timeout 3, a connection that sends nothing: closed without a response")
    T.ok(2.5 <= dt <= 4.5, "... after %.2f s" % dt)

    # The second request of a keep-alive connection: its head is bounded by Timeout too, not
    # only by the 20 s of mod_reqtimeout's default (a bug until the hot-path review).
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    try:
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = read_index(s)
        t0 = time.monotonic()
        s.sendall(b"GET /index.html HT")
        how, _, got = wait_close(s, 25.0)
        dt = time.monotonic() - t0
    finally:
        s.close()
    T.like(first, r"^HTTP/1\.1 200 ", "keep-alive: the first request is answered")
    T.like(got, r"^HTTP/1\.1 408 ", "keep-alive, half of the second request line then silence: 408")
    T.ok(2.5 <= dt <= 4.5, "... after %.2f s (Timeout 3, not the 20 s head limit)" % dt)

    # Part of the second head pipelined behind the first request: once bytes of it are here,
    # KeepAliveTimeout (500ms on this port) no longer applies, Timeout does (a review finding:
    # the rest, sent 1 s later, got 408).
    s = socket.create_connection(("127.0.0.1", p.ports[1]), timeout=10)
    try:
        s.sendall(b"GET /index.html HTTP/1.1\r\nHost: short.test\r\n\r\nGET /index.html?second HT")
        first = read_index(s)
        time.sleep(1.0)
        s.sendall(b"TP/1.1\r\nHost: short.test\r\nConnection: close\r\n\r\n")
        how, _, got = wait_close(s, 8.0)
    finally:
        s.close()
    T.like(first, r"^HTTP/1\.1 200 ", "pipelined partial head (KeepAliveTimeout 500ms): the first request is answered")
    T.like(got, r"^HTTP/1\.1 200 ", "... and the rest of the second head, sent 1 s later, is served (Timeout 3), not 408")


# --------------------------------------------------------------------------------------------
# 5: splice
# --------------------------------------------------------------------------------------------
class Worker:
    """The single worker of the splice instance and its pipes."""

    def __init__(self, p):
        self.p = p
        kids = p.wait_children(lambda k: len(k) == 1, timeout=5) or p.children()
        self.pid = kids[0] if kids else None
        self.start = proc_stat(self.pid)[3] if self.pid else None
        self.base = pipe_inodes(self.pid) if self.pid else set()

    def same(self):
        st = proc_stat(self.pid) if self.pid else None
        return st is not None and st[3] == self.start and self.p.children() == [self.pid]

    def splice_pipe(self):
        """The pipe inodes the worker made for splice (beyond those it started with)."""
        return pipe_inodes(self.pid) - self.base


def test_splice_keepalive(p, w):
    T.is_(w.splice_pipe(), set(), "no splice pipe before the first large body")
    n = 5 * MIB
    with Conn(p.port, timeout=20) as c:
        r = c.request("GET", "/echo/download?size=%d" % n)
        T.is_(exact(r, n), (200, n, True), "5 MiB Content-Length download on keep-alive: exact bytes")
        T.is_(r.header("Content-Length"), str(n), "... Content-Length passed through")
        pipe1 = w.splice_pipe()
        T.is_(len(pipe1), 1, "... the worker now holds its splice pipe (the splice path ran)", )
        r = c.request("GET", "/echo/small")
        rep = request_report(r)
        T.is_(rep and rep["line"], "GET /echo/small HTTP/1.1", "small request after it on the same connection: exact")
        T.is_(c.buf, b"", "... and no stray bytes after it")
        r = c.request("GET", "/rand/download?size=%d" % (3 * MIB))
        T.is_(exact(r, 3 * MIB, rand=True), (200, 3 * MIB, True),
              "a second large body (another backend) on the same connection: exact")
        T.is_(w.splice_pipe(), pipe1, "... through the same pipe (reused, not remade)")
        # Pipelined: a large and a small request in one write.
        c.send(b"GET /echo/pipelined-big?size=%d HTTP/1.1\r\nHost: localhost\r\n\r\n"
               b"GET /echo/pipelined-small HTTP/1.1\r\nHost: localhost\r\n\r\n" % (MIB + 3))
        r1 = c.read_response()
        r2 = c.read_response()
        T.is_(exact(r1, MIB + 3), (200, MIB + 3, True), "pipelined: the large body is exact")
        rep = request_report(r2)
        T.is_(rep and rep["line"], "GET /echo/pipelined-small HTTP/1.1", "pipelined: the small request after it is exact")


def test_splice_client_leaves(p, w):
    before = w.splice_pipe()
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    s.settimeout(10)
    s.connect(("127.0.0.1", p.port))
    s.sendall(b"GET /echo/leave?size=%d HTTP/1.1\r\nHost: localhost\r\n\r\n" % (20 * MIB))
    got = 0
    for _ in range(10000):
        d = s.recv(16384)
        if not d:
            break
        got += len(d)
        if got >= 100000:
            break
    s.close()  # unread data: the kernel resets the connection
    T.cmp_ok(got, ">=", 100000, "client read %d bytes of a 20 MiB download, then closed" % got)
    # The worker notices on its next splice to the client and drops the pipe.
    dropped = wait_until(lambda: before and not (w.splice_pipe() & before), timeout=5, interval=0.05)
    T.ok(dropped, "... the worker dropped its splice pipe (%r -> %r)" % (before, w.splice_pipe()))
    n = 3 * MIB
    with Conn(p.port, timeout=20) as c:
        r = c.request("GET", "/rand/after-leave?size=%d" % n)
        T.is_(exact(r, n, rand=True), (200, n, True), "new connection after that: 3 MiB exact (no stale pipe bytes)")
        now = w.splice_pipe()
        T.ok(len(now) == 1 and not now & before, "... through a new pipe (%r)" % now)
        r = c.request("GET", "/echo/after-leave-small")
        rep = request_report(r)
        T.is_(rep and rep["line"], "GET /echo/after-leave-small HTTP/1.1", "... then a small request: exact")
    T.ok(w.same(), "the same worker served all of it (no crash, no respawn)")


def broken_download(port, path, timeout=10):
    """GET on keep-alive; returns (harness error text, seconds, closed afterwards)."""
    t0 = time.monotonic()
    with Conn(port, timeout=timeout) as c:
        c.send(b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path.encode())
        err = None
        try:
            c.read_response()
        except HarnessError as e:
            err = str(e)
        dt = time.monotonic() - t0
        return err or "", dt, c.eof


def test_splice_backend_breaks(p, w):
    before = w.splice_pipe()
    err, dt, closed = broken_download(p.port, "/midclose/x")
    T.like(err, r"closed after 5000 of 100000 body bytes",
           "backend closes mid-body (spliced): client gets 5000 bytes, then the connection closes")
    T.cmp_ok(dt, "<", 2.0, "... promptly (%.2f s)" % dt)
    T.ok(before and not (w.splice_pipe() & before), "... and the pipe was dropped")

    r = http_get(p.port, "/rand/between?size=%d" % MIB, timeout=10)
    T.is_(exact(r, MIB, rand=True), (200, MIB, True), "1 MiB download after the mid-body close: exact")
    now = w.splice_pipe()
    T.ok(len(now) == 1 and not now & before, "... through a new pipe (%r)" % now)
    before = now

    err, dt, closed = broken_download(p.port, "/stall/x")
    T.like(err, r"closed after 1000 of 1000000 body bytes",
           "backend stalls mid-body (ProxyTimeout 2): client gets 1000 bytes, then the connection closes")
    T.ok(1.8 <= dt <= 3.5, "... after %.2f s (ProxyTimeout 2, bound 1.8-3.5 s)" % dt)
    T.ok(before and not (w.splice_pipe() & before), "... and the pipe was dropped")

    n = MIB
    with Conn(p.port, timeout=10) as c:
        r = c.request("GET", "/rand/after-stall?size=%d" % n)
        T.is_(exact(r, n, rand=True), (200, n, True), "the same worker then serves a 1 MiB download exactly")
        r = c.request("GET", "/echo/after-stall-small")
        T.is_(request_report(r) and request_report(r)["line"], "GET /echo/after-stall-small HTTP/1.1",
              "... and a small request after it")
    T.ok(w.same(), "the same worker served all of it (no crash, no respawn)")


def test_splice_edges(p, w):
    with Conn(p.port, timeout=10) as c:
        r = c.request("HEAD", "/echo/head?size=%d" % (8 * MIB))
        T.is_((r.status, r.header("Content-Length"), r.body), (200, str(8 * MIB), b""),
              "HEAD of an 8 MiB resource: Content-Length kept, no body")
        for n in (65536, 32767, 32768, 32769, 100):
            r = c.request("GET", "/echo/sized?size=%d" % n)
            T.is_(exact(r, n), (200, n, True), "%d-byte body on the same connection: exact" % n)
        r = c.request("GET", "/echo/edges-end")
        T.is_(request_report(r) and request_report(r)["line"], "GET /echo/edges-end HTTP/1.1",
              "small request after them: exact, no stray bytes")
        T.is_(c.buf, b"", "... nothing left over in the connection")

    n = 2 * MIB
    with Conn(p.port, timeout=20) as c:
        r = c.request("GET", "/echo/old?size=%d" % n, version="HTTP/1.0")
        T.is_(exact(r, n), (200, n, True), "HTTP/1.0 client: 2 MiB body exact")
        T.is_((r.header("Content-Length"), r.header("Transfer-Encoding")), (str(n), None),
              "... Content-Length passed through (not close-delimited, not chunked)")
        how, _, got = wait_close(c.sock, 3.0)
        T.is_((how, got), ("eof", b""), "... then the connection closes (no keep-alive asked for)")
    T.ok(w.same(), "the same worker served all of it")


def test_close_without_linger(p, w):
    # A client that asked to close and sent nothing more gets no lingering wait for its FIN:
    # with one worker, a second connection is served at once although the first client keeps
    # its socket open (with the lingering wait it would queue for LINGER_MS, 2 s).
    n = 2 * MIB
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    try:
        s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        how, _, got = wait_close(s, 10.0)
        head, _, body = got.partition(b"\r\n\r\n")
        T.is_((how, head.split(b"\r\n")[0], len(body), hashlib.sha256(body).hexdigest() == rand_sha256(n)),
              ("eof", b"HTTP/1.1 200 OK", n, True), "static 2 MiB with Connection: close: exact, then EOF")
        t0 = time.monotonic()
        r = http_get(p.port, "/index.html", timeout=5)
        dt = time.monotonic() - t0
        T.is_(r.status, 200, "a new connection while that client still holds its socket open: 200")
        T.cmp_ok(dt, "<", 0.8, "... at once (%.2f s): no lingering wait for the first client's FIN" % dt)
    finally:
        s.close()
    # A request with a body keeps the lingering close even when it asked to close: some
    # clients send a stray CRLF after a body, and that byte after close() would be a reset.
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    try:
        s.sendall(b"POST /index.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n"
                  b"Content-Length: 5\r\n\r\nhello")
        how, _, got = wait_close(s, 5.0)
        T.ok(how == "eof" and got.startswith(b"HTTP/1.1 "), "POST with a body and Connection: close: answered, then EOF")
        t0 = time.monotonic()
        r = http_get(p.port, "/index.html", timeout=6)
        dt = time.monotonic() - t0
        T.ok(r.status == 200 and 1.5 <= dt <= 3.0,
             "... the worker still lingers for that client's FIN (next connection served after %.2f s)" % dt)
    finally:
        s.close()
    # The contrast, which shows the measure above can see a lingering close: after a 400 the
    # worker still waits for the client's FIN (its request may not have been read whole).
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    try:
        s.sendall(b"NOT A REQUEST\r\n\r\n")
        how, _, got = wait_close(s, 5.0)
        T.like(got, r"^HTTP/1\.1 400 ", "a malformed request: 400, then the server's FIN")
        t0 = time.monotonic()
        r = http_get(p.port, "/index.html", timeout=6)
        dt = time.monotonic() - t0
        T.ok(r.status == 200 and 1.5 <= dt <= 3.0,
             "... the lingering close holds the worker until LINGER_MS (next connection served after %.2f s)" % dt)
    finally:
        s.close()


def test_splice_paced(p, w, trickle):
    # A backend that paces a Content-Length body (a media server, a progress stream): each
    # piece must reach the client as soon as the backend sent it. Spliced with SPLICE_F_MORE,
    # a piece smaller than the MSS stayed corked in the client socket until the next one or
    # the ~200 ms zero-window probe timer (a review finding).
    s = socket.create_connection(("127.0.0.1", p.port), timeout=10)
    got_at = []
    try:
        s.sendall(b"GET /trickle/x HTTP/1.1\r\nHost: localhost\r\n\r\n")
        buf = b""
        while b"\r\n\r\n" not in buf and len(buf) < 65536:
            d = s.recv(65536)
            if not d:
                break
            buf += d
        head, _, body = buf.partition(b"\r\n\r\n")
        want = 0
        for n in TrickleBackend.PIECES:
            want += n
            while len(body) < want:
                d = s.recv(65536)
                if not d:
                    break
                body += d
            got_at.append(time.monotonic())
        how, _, rest = wait_close(s, 10.0)
        body += rest
    finally:
        s.close()
    T.like(head, r"^HTTP/1\.1 200 ", "paced Content-Length body: 200")
    T.is_((len(body), hashlib.sha256(body).hexdigest() == rand_sha256(TrickleBackend.TOTAL)),
          (TrickleBackend.TOTAL, True), "... exact bytes")
    T.ok(len(w.splice_pipe()) == 1, "... through the splice path (%r)" % w.splice_pipe())
    sent = trickle.sent
    delays = [round(g - t, 3) for g, t in zip(got_at, sent)]
    T.ok(len(delays) == len(TrickleBackend.PIECES) and max(delays) < 0.15,
         "... each %d-byte piece reaches the client at once (delays %r s, bound 0.15 s)"
         % (TrickleBackend.PIECES[0], delays))


# --------------------------------------------------------------------------------------------
def check_log(p, what, read_errors_ok=None):
    log = p.error_log()
    T.unlike(log, EMERG, "%s: no emerg/crit/alert in the error log" % what)
    lines = [l for l in log.splitlines() if "read error" in l]
    if read_errors_ok is None:
        T.is_(lines, [], "%s: no 'read error' lines" % what)
    else:
        bad = [l for l in lines if read_errors_ok not in l]
        T.ok(len(lines) >= 1 and not bad, "%s: 'read error' only for %s (%d lines)" % (what, read_errors_ok, len(lines)),
             "\n".join(lines[:10]))


def main():
    conf_a = "KeepAliveTimeout 30\nMaxKeepAliveRequests 0\n"
    with Portico(conf=conf_a, files={"index.html": "hot\n"}, start_servers=6, min_spare=6, max_spare=8,
                 max_workers=10) as p:
        T.section(test_graceful_idle_workers, p)
        T.section(test_graceful_keepalive, p)
        check_log(p, "graceful")

    conf_b = """\
Timeout 3
KeepAliveTimeout 2
Listen 127.0.0.1:@PORT1@
<VirtualHost 127.0.0.1:@PORT1@>
    ServerName short.test
    KeepAliveTimeout 500ms
</VirtualHost>
"""
    with Portico(conf=conf_b, files={"index.html": "hot\n"}, nports=2, start_servers=3, min_spare=2,
                 max_spare=4, max_workers=6) as p:
        T.section(test_keepalive_timeouts, p)
        T.section(test_slow_head, p)
        check_log(p, "timeouts")

    with BackendProc("echo") as echo, BackendProc("midclose") as mid, BackendProc("stall", delay=6) as stall, \
            RandomBackend() as rnd, TrickleBackend() as trickle:
        conf_c = """\
ProxyRequests Off
ProxyTimeout 2
KeepAliveTimeout 30
MaxKeepAliveRequests 0
ProxyPass /echo/ http://127.0.0.1:%d/echo/
ProxyPass /midclose/ http://127.0.0.1:%d/midclose/
ProxyPass /stall/ http://127.0.0.1:%d/stall/
ProxyPass /rand/ http://127.0.0.1:%d/rand/
ProxyPass /trickle/ http://127.0.0.1:%d/trickle/
""" % (echo.port, mid.port, stall.port, rnd.port, trickle.port)
        with Portico(conf=conf_c, files={"index.html": "hot\n", "big.bin": rand_bytes(0, 2 * MIB)}, start_servers=1, min_spare=1, max_spare=1,
                     max_workers=1) as p:
            w = Worker(p)
            T.ok(w.pid, "one worker (pid %r)" % w.pid)
            for fn in (test_splice_keepalive, test_splice_client_leaves, test_splice_backend_breaks,
                       test_splice_edges, test_close_without_linger):
                T.section(fn, p, w)
            T.section(test_splice_paced, p, w, trickle)
            check_log(p, "splice", read_errors_ok="/stall/")
    T.done()


if __name__ == "__main__":
    main()
