#!/usr/bin/env python3
"""Serving requests: static files, errors, keep-alive, pipelining, strict parsing (smuggling
vectors, limits), virtual hosts, ErrorDocument, access and error log formats, slow clients."""
import os
import re
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, Conn, http_get, http_request, raw_exchange, slow_get, wait_until  # noqa: E402

DATE_RE = r"^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d{2} (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d{2}:\d{2}:\d{2} GMT$"

BIG = bytes((i * 7) % 251 for i in range(200000))
HUGE = BIG * 90  # 18 MB

FILES = {
    "index.html": "<h1>main index</h1>\n",
    "hello.txt": "hello, world\n",
    "big.bin": BIG,
    "huge.bin": HUGE,
    "sub/index.html": "<p>sub index</p>\n",
    "start/start.html": "<p>start page</p>\n",
    "start/index.html": "<p>not the first DirectoryIndex</p>\n",
    "x": "x at the root\n",
}

CONF = """\
Listen 127.0.0.1:@PORT1@
Timeout 3
LimitRequestLine 8190
LimitRequestFieldSize 8190
LimitRequestFields 100
DirectoryIndex start.html index.html
TraceEnable off
ErrorDocument 404 "Custom e2e not-found text"
LogFormat "%D %{X-Test}i %v" e2etiming
CustomLog @DIR@/custom.log e2etiming

<VirtualHost *:@PORT1@>
    ServerName one.example
    DocumentRoot @DIR@/docs1
</VirtualHost>
<VirtualHost *:@PORT1@>
    ServerName two.example
    ServerAlias alias-two.example
    DocumentRoot @DIR@/docs2
</VirtualHost>
"""


def test_static(p):
    r = http_get(p.port, "/hello.txt")
    T.is_(r.status, 200, "GET /hello.txt: 200")
    T.is_(r.body, b"hello, world\n", "GET /hello.txt: body")
    T.is_(r.header("Content-Length"), "13", "GET /hello.txt: Content-Length")
    T.like(r.header("Content-Type", ""), r"^text/plain\b", "GET /hello.txt: Content-Type text/plain")
    T.like(r.header("Date", ""), DATE_RE, "GET: Date header in IMF-fixdate format")
    T.like(r.header("Server", ""), r"portico", "GET: Server header names portico")
    T.is_(len(r.headers_all("Date")), 1, "GET: exactly one Date header")

    r = http_get(p.port, "/index.html")
    T.like(r.header("Content-Type", ""), r"^text/html\b", "GET /index.html: Content-Type text/html")

    r = http_get(p.port, "/big.bin", timeout=10)
    T.is_(r.status, 200, "GET of a 200 kB file: 200")
    T.ok(r.body == BIG, "GET of a 200 kB file: body intact (%d bytes)" % len(r.body))

    with Conn(p.port) as c:
        h = c.request("HEAD", "/hello.txt")
        T.is_(h.status, 200, "HEAD /hello.txt: 200")
        T.is_(h.header("Content-Length"), "13", "HEAD: Content-Length of the GET")
        T.like(h.header("Content-Type", ""), r"^text/plain\b", "HEAD: Content-Type")
        g = c.request("GET", "/x")
        T.ok(g is not None and g.status == 200 and g.body == b"x at the root\n",
             "HEAD sent no body (next response on the connection is intact)", repr(g))


def test_errors_and_dirs(p):
    r = http_get(p.port, "/no-such-file")
    T.is_(r.status, 404, "missing file: 404")
    T.like(r.body, r"Custom e2e not-found text", "ErrorDocument 404 \"text\" is the body")
    T.is_(r.header("Content-Length"), str(len(r.body)), "404: Content-Length matches the body")

    r = http_get(p.port, "/sub")
    T.is_(r.status, 301, "directory without slash: 301")
    T.like(r.header("Location", ""), r"^(https?://[^/]+)?/sub/$", "301 Location ends with /sub/")

    r = http_get(p.port, "/sub/")
    T.is_(r.status, 200, "directory with slash: 200")
    T.is_(r.body, b"<p>sub index</p>\n", "DirectoryIndex index.html served")
    r = http_get(p.port, "/start/")
    T.is_(r.body, b"<p>start page</p>\n", "DirectoryIndex order: first existing name (start.html) wins")
    r = http_get(p.port, "/")
    T.is_(r.body, b"<h1>main index</h1>\n", "/ serves DocumentRoot's index.html")

    r = http_get(p.port, "/a/%2Fb")
    T.is_(r.status, 404, "/a/%2Fb (encoded slash): 404")
    r = raw_exchange(p.port, b"GET /../x HTTP/1.1\r\nHost: localhost\r\n\r\n")
    T.is_(r and r.status, 400, "/../x (dot segments above the root): 400")
    r = http_get(p.port, "/sub/../x")
    T.ok(r.status == 200 and r.body == b"x at the root\n", "/sub/../x is normalised to /x", repr(r))
    r = http_get(p.port, "/%78")
    T.ok(r.status == 200 and r.body == b"x at the root\n", "/%78 (encoded unreserved) serves /x", repr(r))

    r = http_request(p.port, "TRACE", "/")
    T.is_(r.status, 405, "TRACE with TraceEnable off: 405")


def test_connections(p):
    with Conn(p.port) as c:
        a = c.request("GET", "/hello.txt")
        b = c.request("GET", "/x")
        T.ok(a and a.status == 200 and b and b.status == 200 and b.body == b"x at the root\n",
             "keep-alive: two requests on one connection", "%r %r" % (a, b))
        T.isnt((a.header("Connection") or "").lower(), "close", "keep-alive: first response does not close")

    with Conn(p.port) as c:
        c.send(b"GET /hello.txt HTTP/1.1\r\nHost: localhost\r\n\r\n"
               b"GET /x HTTP/1.1\r\nHost: localhost\r\n\r\n"
               b"GET /sub/ HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        rs = [c.read_response() for _ in range(3)]
        T.is_([r and r.body for r in rs], [b"hello, world\n", b"x at the root\n", b"<p>sub index</p>\n"],
              "pipelined: three responses in request order")
        T.ok(c.closed_by_peer(3), "pipelined: closed after the Connection: close request")

    with Conn(p.port) as c:
        r = c.request("GET", "/hello.txt", version="HTTP/1.0", host=None)
        T.is_(r and r.status, 200, "HTTP/1.0 request without Host: 200")
        T.ok(c.closed_by_peer(3), "HTTP/1.0 without keep-alive: server closes")

    with Conn(p.port) as c:
        r = c.request("GET", "/hello.txt", headers=[("Connection", "close")])
        T.like(r.header("Connection", ""), r"(?i)close", "Connection: close echoed in the response")
        T.ok(c.closed_by_peer(3), "Connection: close honoured")

    with Conn(p.port) as c:
        c.send(b"POST /hello.txt HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n"
               b"Expect: 100-continue\r\n\r\n")
        r = c.read_response()
        final = r
        if r is not None and r.status == 100:
            c.send(b"0123456789")
            final = c.read_response()
        T.ok(final is not None and final.status >= 200,
             "Expect: 100-continue POST gets a final response", repr(final))
        # When the server answered without 100 Continue it must either read the body we now
        # send or close: the body must never be parsed as the next request.
        try:
            if r is not None and r.status != 100:
                c.send(b"0123456789")
            c.send(b"GET /x HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            nxt = c.read_response()
        except (BrokenPipeError, ConnectionResetError):
            nxt = None
        T.ok(nxt is None or nxt.status == 200,
             "after the 100-continue exchange the connection is not desynchronised", repr(nxt))


def test_slow_download():
    """Timeout bounds each wait for the client, as httpd's does, not the whole response: a
    steady download that takes longer than Timeout completes. Its own server with Timeout 10,
    so a loaded test machine (ASan, parallel builds) that stalls the reader for several
    seconds is not mistaken for the property failing; the download takes over 12 s."""
    with Portico(conf="Timeout 10\n", files={"huge.bin": HUGE}) as p:
        status, headers, body, elapsed, err = slow_get(p.port, "/huge.bin", rate=1.5e6, timeout=90)
        T.is_(status, 200, "slow steady download: 200")
        T.ok(body == HUGE and elapsed > 10,
             "slow steady download (%.1f s > Timeout 10 s) receives all %d bytes"
             % (elapsed, len(HUGE)), "got %d bytes, error %r" % (len(body), err))


def expect_400_and_close(p, data, name, status=400):
    kids = p.children()
    with Conn(p.port) as c:
        c.send(data)
        try:
            r = c.read_response()
        except Exception as e:  # noqa: BLE001
            r = None
            T.diag("%s: %s" % (name, e))
        T.is_(r and r.status, status, "%s: %d" % (name, status))
        # whatever the status, the rest of a broken message must never be read as a request
        T.ok(r is not None and c.closed_by_peer(3), "%s: connection closed afterwards" % name)
    r = http_get(p.port, "/x")
    T.is_(r.status, 200, "%s: a new connection is still served" % name)
    return kids


def test_strict_parsing(p):
    before = p.children()
    expect_400_and_close(p, b"GARBAGE\r\n\r\n", "malformed request line")
    expect_400_and_close(p, b"GET /x HTTP/1.1 extra\r\nHost: localhost\r\n\r\n", "request line with 4 parts")
    expect_400_and_close(p, b"GET /x HTTP/1.1\r\n\r\n", "HTTP/1.1 without Host")
    expect_400_and_close(p, b"GET /x HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "two Host headers")
    expect_400_and_close(p, b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                            b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", "smuggling: CL + TE")
    expect_400_and_close(p, b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n"
                            b"Content-Length: 6\r\n\r\nhello!", "smuggling: two different Content-Lengths")
    expect_400_and_close(p, b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5, 6\r\n\r\nhello!",
                         "smuggling: Content-Length list with different values")
    expect_400_and_close(p, b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-Folded: a\r\n  b\r\n\r\n",
                         "smuggling: obs-fold")
    expect_400_and_close(p, b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-Bare: a\rb\r\n\r\n", "smuggling: bare CR")
    expect_400_and_close(p, b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"zz\r\nhello\r\n0\r\n\r\n", "smuggling: bad chunk size")
    expect_400_and_close(p, b"POST /x HTTP/1.1\r\nHost: localhost\r\nContent-Length: -1\r\n\r\n",
                         "negative Content-Length")
    expect_400_and_close(p, b"GET /x HTTP/1.1\r\nHost: localhost\r\nBad Header: v\r\n\r\n",
                         "space in a header name")
    expect_400_and_close(p, b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: foo, chunked\r\n\r\n"
                            b"0\r\n\r\n", "unknown Transfer-Encoding (foo, chunked)", status=501)
    # RFC 9112 6.3: chunked is not the final coding -> 400 and close
    expect_400_and_close(p, b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: foo\r\n\r\n",
                         "Transfer-Encoding without final chunked")
    # a body framing error on GET as well (the response must not be sent before the body
    # was found broken: httpd reads the body first and answers 400)
    expect_400_and_close(p, b"GET /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"1x\r\nh\r\n0\r\n\r\n", "smuggling: bad chunk size on GET")
    expect_400_and_close(p, b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                            b"fffffffffffffffffffff\r\nhello\r\n0\r\n\r\n", "smuggling: chunk size overflow")
    expect_400_and_close(p, b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: localhost\r\n\r\n",
                         "request line over LimitRequestLine", status=414)
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(120))
    expect_400_and_close(p, b"GET /x HTTP/1.1\r\nHost: localhost\r\n" + many + b"\r\n",
                         "more than LimitRequestFields fields", status=431)
    expect_400_and_close(p, b"GET /x HTTP/1.1\r\nHost: localhost\r\nX-Huge: " + b"h" * 9000 + b"\r\n\r\n",
                         "field over LimitRequestFieldSize", status=431)

    # a chunked body that is well-formed is accepted (the 400s above are not blanket refusals)
    r = raw_exchange(p.port, b"POST /x HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n"
                             b"Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n")
    T.ok(r is not None and r.status not in (400, 501), "well-formed chunked POST is not rejected as malformed",
         repr(r))
    # the pool survived: no worker died from malformed input
    T.unlike(p.error_log(), r"exit signal", "no worker died on malformed input")
    T.ok(len(p.children()) >= 1 and len(before) >= 1, "workers still running after the malformed requests")


def test_vhosts(p):
    port = p.ports[1]
    r = http_get(port, "/", host="two.example")
    T.is_(r.body, b"docs2 index\n", "vhost two.example serves its DocumentRoot")
    r = http_get(port, "/", host="TWO.Example:%d" % port)
    T.is_(r.body, b"docs2 index\n", "Host match is case-insensitive and ignores the port")
    r = http_get(port, "/", host="alias-two.example")
    T.is_(r.body, b"docs2 index\n", "ServerAlias selects the vhost")
    r = http_get(port, "/", host="one.example")
    T.is_(r.body, b"docs1 index\n", "vhost one.example serves its DocumentRoot")
    r = http_get(port, "/", host="unknown.example")
    T.is_(r.body, b"docs1 index\n", "unknown Host: the first vhost is the default")
    r = http_get(p.port, "/", host="two.example")
    T.is_(r.body, b"<h1>main index</h1>\n", "vhosts on another port do not capture the main listener")


def test_logs(p):
    with Conn(p.port) as c:
        r = c.request("GET", "/hello.txt?q=1", headers=[("Referer", "http://ref.example/page"),
                                                        ("User-Agent", "e2e-agent/1.0"),
                                                        ("X-Test", "xtest-value"), ("Connection", "close")])
        T.is_(r.status, 200, "request for the access log")
    pat = (r'^127\.0\.0\.1 - - \[\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}\] '
           r'"GET /hello\.txt\?q=1 HTTP/1\.1" 200 13 "http://ref\.example/page" "e2e-agent/1\.0"$')
    log = wait_until(lambda: re.search(pat, p.access_log(), re.M) and p.access_log(), 5) or p.access_log()
    T.like(log, pat, "access log: combined line with request line, status, size, referer, agent")
    pat404 = r'"GET /no-such-file HTTP/1\.1" 404 \d+ "-" "-"$'
    T.like(log, pat404, "access log: the 404 is logged with its status")
    pat = r"^\d+ xtest-value localhost$"
    custom = os.path.join(p.dir, "custom.log")
    cl = wait_until(lambda: re.search(pat, open(custom).read(), re.M) and open(custom).read(), 5) or ""
    T.like(cl, pat, "LogFormat \"%D %{X-Test}i %v\": microseconds, request header, vhost name")
    T.like(cl, r"^\d+ - localhost$", "%{X-Test}i without the header logs -")
    r = http_get(p.ports[1], "/", host="two.example", headers=[("X-Test", "vh")])
    cl = wait_until(lambda: re.search(r"^\d+ vh two\.example$", open(custom).read(), re.M) and open(custom).read(), 5) or ""
    T.like(cl, r"^\d+ vh two\.example$", "%v logs the vhost's ServerName")

    el = p.error_log()
    T.like(el, r"^\[(Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2}\.\d{6} \d{4}\] "
               r"\[[a-z_0-9]+:(emerg|alert|crit|error|warn|notice|info|debug|trace\d)\] \[pid \d+\] ",
           "error log lines are in httpd's format")
    bad = [l for l in el.splitlines() if l and not re.match(r"^\[[^]]+\] \[[a-z_0-9]+:[a-z0-9]+\] \[pid \d+(:tid \d+)?\] ", l)]
    T.is_(bad, [], "every error log line has the [date] [module:level] [pid N] prefix")


def test_slow_clients(p):
    """A client that sends half a header, and one that drips a byte every 0.5 s, are cut off
    (408 or close) within a bounded time while other clients are still served."""
    results = {}

    def slow(name, drip):
        s = socket.create_connection(("127.0.0.1", p.port), timeout=15)
        t0 = time.monotonic()
        s.sendall(b"GET /hello.txt HTTP/1.1\r\nHost: loc")
        data = b""
        try:
            for _ in range(60):
                if drip:
                    try:
                        s.sendall(b"a")
                    except OSError:
                        break
                s.settimeout(0.5)
                try:
                    chunk = s.recv(4096)
                except socket.timeout:
                    if time.monotonic() - t0 > 15:
                        break
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                data += chunk
        finally:
            s.close()
        results[name] = (time.monotonic() - t0, data)

    threads = [threading.Thread(target=slow, args=("half", False)),
               threading.Thread(target=slow, args=("drip", True))]
    for t in threads:
        t.start()
    served = 0
    t0 = time.monotonic()
    for _ in range(20):
        try:
            r = http_get(p.port, "/x", timeout=3)
            served += r.status == 200
        except Exception as e:  # noqa: BLE001
            T.diag("request during slow clients: %s" % e)
        time.sleep(0.1)
        if time.monotonic() - t0 > 4:
            break
    for t in threads:
        t.join(20)
    T.ok(served >= 5, "other clients served while slow clients hold workers (%d ok)" % served)
    for name in ("half", "drip"):
        took, data = results.get(name, (None, b""))
        T.ok(took is not None and took < 10.0,
             "slow client (%s) cut off within 10 s (Timeout 3)" % name, "took %r" % (took,))
        T.ok(data == b"" or data.startswith(b"HTTP/1.1 408") or data.startswith(b"HTTP/1.0 408"),
             "slow client (%s) gets 408 or a plain close" % name, repr(data[:80]))


def test_body_cannot_rewrite_head(p):
    """A body arriving after the head once landed in the buffer the parsed head still lived
    in, so the headers (here Host, used for the redirect) were read back from the body:
    response splitting. The head must stay what the client sent."""
    evil = b"evil.example\r\nSet-Cookie: pwned=1\r\nX-Pad: " + b"a" * 40
    head = ("POST /sub HTTP/1.1\r\nHost: front.example\r\nContent-Length: %d\r\n\r\n"
            % len(evil)).encode()
    with Conn(p.port, timeout=5) as c:
        c.send(head)
        time.sleep(0.3)
        c.send(evil)
        r = c.read_response()
    T.ok(r is not None, "delayed body: a response arrives")
    if r is None:
        return
    T.is_(r.status, 301, "delayed body: 301 for the directory")
    T.is_(r.header("Location", ""), "http://front.example/sub/",
          "delayed body: Location built from the real Host header")
    T.ok(all("pwned" not in v for _, v in r.headers), "delayed body: no injected header")


def main():
    with Portico(conf=CONF, files=dict(FILES), nports=2, start_servers=4, min_spare=2, max_spare=6,
                 dirfiles={"docs1/index.html": "docs1 index\n", "docs2/index.html": "docs2 index\n"}) as p:
        for fn in (test_static, test_errors_and_dirs, test_connections, test_strict_parsing, test_vhosts,
                   test_logs, test_slow_clients, test_body_cannot_rewrite_head):
            T.section(fn, p)
    T.section(test_slow_download)


T.section(main)
T.done()
