#!/usr/bin/env python3
"""Bodies through the proxy: chunked uploads (small ones re-framed with Content-Length as httpd
does, large ones streamed) and downloads, Expect: 100-continue, 204/304 without bodies,
close-delimited backend responses, 1 GiB up and down with the serving worker's RSS measured
before and after, and RSS over 100k keep-alive requests. One worker process, so the worker that
served the requests is the one measured."""
import hashlib
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, Conn, http_request  # noqa: E402
from backends import BackendProc, request_report, header_lines, read_final, vmrss_kb, pattern_bytes, pattern_sha256  # noqa: E402

CONF = """\
ProxyRequests Off
MaxKeepAliveRequests 0
KeepAliveTimeout 30
ProxyPass /echo/ http://127.0.0.1:{B}/echo/
ProxyPass /chunked/ http://127.0.0.1:{C}/chunked/
ProxyPass /fixed/ http://127.0.0.1:{F}/fixed/
"""

MIB = 1 << 20
RSS_BOUND_KB = 8 * 1024


def the_worker(p):
    kids = p.wait_children(lambda k: len(k) == 1, timeout=5) or p.children()
    return kids[0] if kids else None


def chunked_body(data, size):
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out + b"0\r\n\r\n")


def test_chunked(p, b, c):
    small = b"hello chunked world " * 100  # 2000 bytes
    r = http_request(p.port, "POST", "/echo/up", headers=[("Transfer-Encoding", "chunked")],
                     body=chunked_body(small, 300))
    rep = request_report(r)
    T.is_(r.status, 200, "small chunked upload: 200")
    T.is_((rep["body_len"], rep["body_sha256"]), (len(small), hashlib.sha256(small).hexdigest()),
          "small chunked upload: backend got the exact body")
    T.is_((rep["chunked"], header_lines(rep, "Content-Length")), (False, [str(len(small))]),
          "small chunked upload re-framed with Content-Length (httpd: bodies <= 16 KiB)")
    big = pattern_bytes(0, 3 * MIB + 123)
    r = http_request(p.port, "POST", "/echo/up-big", headers=[("Transfer-Encoding", "chunked")],
                     body=chunked_body(big, 65536), timeout=20)
    rep = request_report(r)
    T.is_((rep["body_len"], rep["body_sha256"]), (len(big), hashlib.sha256(big).hexdigest()),
          "3 MiB chunked upload: backend got the exact body")
    T.diag("3 MiB chunked upload reached the backend %s" % ("chunked" if rep["chunked"] else "with Content-Length"))
    T.is_(header_lines(rep, "Transfer-Encoding") + header_lines(rep, "Content-Length") != [], True,
          "3 MiB chunked upload: framed (chunked or Content-Length)")

    r = http_request(p.port, "GET", "/chunked/down?size=%d" % (MIB + 7), timeout=20)
    T.is_(r.status, 200, "chunked download: 200")
    T.is_((len(r.body), hashlib.sha256(r.body).hexdigest()), (MIB + 7, pattern_sha256(MIB + 7)),
          "chunked download (1 MiB in 4000-byte chunks): exact bytes")
    T.ok(r.header("Transfer-Encoding") == "chunked" or r.header("Content-Length") == str(MIB + 7),
         "chunked download: framed for the client", r.headers)
    with Conn(p.port, timeout=10) as conn:
        r1 = conn.request("GET", "/chunked/one?size=10000", host="localhost")
        r2 = conn.request("GET", "/chunked/two?size=20", host="localhost")
        T.is_((len(r1.body), r2 and len(r2.body)), (10000, 20), "two chunked responses on one keep-alive connection")

    r = http_request(p.port, "GET", "/fixed/")
    T.is_(r.status, 200, "HTTP/1.0 close-delimited backend response: 200")
    T.like(r.body, r"^Server response, port %d\.\r?\n$" % p.fixed_port, "... whole body relayed")


def test_expect_and_empty(p, b):
    body = b"x" * 50000
    with Conn(p.port, timeout=5) as conn:
        conn.send(b"POST /echo/expect HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n"
                  b"Expect: 100-continue\r\n\r\n" % len(body))
        interim = conn.read_response(timeout=3)
        T.is_(interim and interim.status, 100, "Expect: 100-continue: interim 100 before the body is sent")
        conn.send(body)
        r, _ = read_final(conn)
        rep = request_report(r)
        T.is_(r and r.status, 200, "Expect: 100-continue upload: 200")
        T.is_(rep and (rep["body_len"], rep["body_sha256"]), (len(body), hashlib.sha256(body).hexdigest()),
              "Expect: 100-continue upload: backend got the exact body")
    with Conn(p.port, timeout=5) as conn:
        for st in (204, 304):
            r = conn.request("GET", "/echo/empty?status=%d" % st, host="localhost")
            T.is_((r.status, r.body), (st, b""), "backend %d: no body" % st)
        r = conn.request("GET", "/echo/after", host="localhost")
        T.is_(r.status, 200, "keep-alive continues cleanly after 204 and 304")
        r = conn.request("HEAD", "/echo/chunkhead?size=5000&chunked=1", host="localhost")
        T.is_((r.status, r.body), (200, b""), "HEAD of a chunked resource: no body")
        r = conn.request("GET", "/echo/after-head", host="localhost")
        T.is_(request_report(r) and request_report(r)["line"], "GET /echo/after-head HTTP/1.1",
              "keep-alive continues cleanly after HEAD")


def stream_upload(port, path, n, timeout=60):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(b"PUT %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\nConnection: close\r\n\r\n"
                  % (path.encode(), n))
        block = pattern_bytes(0, 1 << 16)  # the pattern repeats every 64 KiB
        sent = 0
        while sent < n:
            take = min(len(block), n - sent)
            s.sendall(block[:take])
            sent += take
        data = b""
        while True:
            d = s.recv(65536)
            if not d:
                break
            data += d
        return data
    finally:
        s.close()


def stream_download(port, path, timeout=60):
    """(status line, body length, body sha256) without keeping the body in memory."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(b"GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path.encode())
        buf = b""
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return None, 0, None
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        h = hashlib.sha256(rest)
        n = len(rest)
        chunked = b"transfer-encoding: chunked" in head.lower()
        if chunked:
            return head.split(b"\r\n")[0].decode(), -1, "chunked (not checked)"
        while True:
            d = s.recv(1 << 18)
            if not d:
                break
            h.update(d)
            n += len(d)
        return head.split(b"\r\n")[0].decode(), n, h.hexdigest()
    finally:
        s.close()


def test_large(p, b):
    size = 1024 * MIB  # the figure: a 1 GiB transfer must leave the worker flat
    # warm the worker up (first backend connection, buffers) before the baseline
    for _ in range(3):
        http_request(p.port, "GET", "/echo/warm?size=300000", timeout=10)
    pid = the_worker(p)
    before = vmrss_kb(pid)
    t0 = time.monotonic()
    data = stream_upload(p.port, "/echo/upload", size)
    up_s = time.monotonic() - t0
    after_up = vmrss_kb(pid)
    body = data.partition(b"\r\n\r\n")[2]
    import json
    try:
        rep = json.loads(body)
    except ValueError:
        rep = {}
    T.like(data[:20], r"^HTTP/1\.1 200", "1 GiB upload: 200")
    T.is_((rep.get("body_len"), rep.get("body_sha256")), (size, pattern_sha256(size)),
          "1 GiB upload: backend got every byte (sha256)")
    t0 = time.monotonic()
    status, n, sha = stream_download(p.port, "/echo/download?size=%d" % size)
    down_s = time.monotonic() - t0
    after_down = vmrss_kb(pid)
    T.like(status or "", r"^HTTP/1\.1 200", "1 GiB download: 200")
    T.is_((n, sha), (size, pattern_sha256(size)), "1 GiB download: every byte (sha256)")
    T.is_(the_worker(p), pid, "the same worker served both")
    T.diag("worker %s VmRSS: before %s KiB, after 1 GiB up %s KiB (%.1f s), after 1 GiB down %s KiB (%.1f s)"
           % (pid, before, after_up, up_s, after_down, down_s))
    T.cmp_ok((after_up or 1 << 30) - (before or 0), "<", RSS_BOUND_KB, "worker RSS growth over a 1 GiB upload < 8 MiB")
    T.cmp_ok((after_down or 1 << 30) - (before or 0), "<", RSS_BOUND_KB, "worker RSS growth over a 1 GiB download < 8 MiB")


def test_many_requests(p, b):
    pid = the_worker(p)
    n = 100000  # the figure
    with Conn(p.port, timeout=10) as conn:
        for i in range(200):
            conn.request("GET", "/echo/warm/%d" % i, host="localhost")
        before = vmrss_kb(pid)
        t0 = time.monotonic()
        bad, done = 0, 0
        for i in range(n):
            r = conn.request("GET", "/echo/k/%d?q=%d" % (i, i), host="localhost",
                             headers=[("X-Pad", "v" * (i % 200))])
            done += 1
            if r is None or r.status != 200:
                bad += 1
            if time.monotonic() - t0 > 90:
                break
        dt = time.monotonic() - t0
        after = vmrss_kb(pid)
    T.is_((done, bad), (n, 0), "100k keep-alive requests on one connection, all 200 (%.1f s)" % dt)
    T.diag("worker %s VmRSS over %d keep-alive requests: before %s KiB, after %s KiB" % (pid, done, before, after))
    T.cmp_ok((after or 1 << 30) - (before or 0), "<", 1024, "worker RSS growth over 100k requests < 1 MiB")


def main():
    with BackendProc("echo") as b, BackendProc("chunked") as c, BackendProc("fixed") as f:
        conf = CONF.replace("{B}", str(b.port)).replace("{C}", str(c.port)).replace("{F}", str(f.port))
        with Portico(conf=conf, start_servers=1, min_spare=1, max_spare=1, max_workers=1) as p:
            p.fixed_port = f.port
            T.section(test_chunked, p, b, c)
            T.section(test_expect_and_empty, p, b)
            T.section(test_large, p, b)
            T.section(test_many_requests, p, b)
            T.unlike(p.error_log(), r"\[(emerg|crit|alert)\]", "no emerg/crit/alert in the error log")
    T.done()


if __name__ == "__main__":
    main()
