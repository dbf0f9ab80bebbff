#!/usr/bin/env python3
"""Reverse proxy core: what the backend receives (request line, path canonicalisation, Host,
X-Forwarded-*, hop-by-hop removal, duplicate headers, RequestHeader), what the client gets back
(ProxyPassReverse for Location/Content-Location, cookie path/domain rewriting, Header always),
ProxyPreserveHost, ProxyPass matching rules, HEAD, keep-alive reuse of one backend connection,
websocket tunnelling and the access log (%>s of the backend, %D).

Expected values were taken from Debian's apache2 2.4.71 running the same configuration."""
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, Conn, http_request, raw_exchange  # noqa: E402
from backends import BackendProc, request_report, header_lines, read_final, ws_handshake, ws_frame, ws_recv_frame  # noqa: E402

CONF = """\
ProxyRequests Off
LogFormat "%h \\"%r\\" %>s %b %D" proxylog
CustomLog @DIR@/proxy.log proxylog
MaxKeepAliveRequests 0
ProxyPass /service http://127.0.0.1:{B}/service
ProxyPassReverse /service http://127.0.0.1:{B}/service
ProxyPass /front http://127.0.0.1:{B}/back
ProxyPassReverse /front /back
ProxyPassReverseCookiePath /back /front
ProxyPassReverseCookieDomain backend.internal front.example
ProxyPass /app/ http://127.0.0.1:{B}/app/
ProxyPass /m1 http://127.0.0.1:{B}/m1/
ProxyPass /pres http://127.0.0.1:{B}/pres
<Location /pres>
    ProxyPreserveHost On
</Location>
ProxyPass /noadd http://127.0.0.1:{B}/noadd
<Location /noadd>
    ProxyAddHeaders Off
</Location>
ProxyPass /ws/ ws://127.0.0.1:{B}/ws/
ProxyPass /up/ http://127.0.0.1:{B}/up/ upgrade=websocket
ProxyPass /plain/ http://127.0.0.1:{B}/plain/
ProxyPass /ka/ http://127.0.0.1:{KA}/ka/
RequestHeader set X-Forwarded-Proto https
RequestHeader unset X-Secret
Header always set X-Frame-Options DENY
<Proxy *>
    Require all granted
</Proxy>
"""


def get(p, path, hdrs=None, host=None, version="HTTP/1.1", method="GET"):
    host = "localhost:%d" % p.port if host is None else host
    return http_request(p.port, method, path, headers=hdrs or [], host=host, version=version)


def test_request_line(p, b):
    cases = [
        ("/service/a%20b?x=%20y&z", "GET /service/a%20b?x=%20y&z HTTP/1.1"),
        ("/service/%7euser/%c3%a9/a%2ab/%25/a+b/a%3fb", "GET /service/~user/%C3%A9/a*b/%25/a+b/a%3Fb HTTP/1.1"),
        ("/service/a;b=c/d", "GET /service/a;b=c/d HTTP/1.1"),
        ("/service", "GET /service HTTP/1.1"),
        ("/service/x/../y/./z", "GET /service/y/z HTTP/1.1"),
        ("/app//x", "GET /app/x HTTP/1.1"),
        ("/m1/x", "GET /m1//x HTTP/1.1"),
        ("/front/deep/path?q=1", "GET /back/deep/path?q=1 HTTP/1.1"),
    ]
    for path, line in cases:
        r = get(p, path)
        rep = request_report(r)
        T.is_(r.status, 200, "%s: 200 through the proxy" % path)
        T.is_(rep and rep["line"], line, "%s: backend request line" % path)
    r = get(p, "/app")
    T.is_(r.status, 404, "/app does not match ProxyPass /app/ (local 404)")
    T.is_(request_report(r), None, "/app: no backend report in the body")
    r = get(p, "/servicex")
    T.is_(r.status, 404, "/servicex does not match ProxyPass /service")


def test_headers_to_backend(p, b):
    port = p.port
    r = get(p, "/service/h")
    rep = request_report(r)
    T.is_(rep["headers"][0], "Host: 127.0.0.1:%d" % b.port, "Host is the backend's (with its port), sent first")
    T.is_(header_lines(rep, "X-Forwarded-For"), ["127.0.0.1"], "X-Forwarded-For: client address")
    T.is_(header_lines(rep, "X-Forwarded-Host"), ["localhost:%d" % port], "X-Forwarded-Host: client's Host")
    T.is_(header_lines(rep, "X-Forwarded-Server"), ["localhost"], "X-Forwarded-Server: ServerName")
    T.is_(header_lines(rep, "X-Forwarded-Proto"), ["https"], "RequestHeader set X-Forwarded-Proto seen by backend")
    T.is_(r.header("X-Frame-Options"), "DENY", "Header always set reaches the client")
    T.is_(header_lines(rep, "Via"), [], "no Via by default (ProxyVia Off)")

    hop = [("X-Forwarded-For", "10.1.2.3"), ("X-Dup", "one"), ("X-Dup", "two"), ("X-Secret", "s"),
           ("Connection", "X-Hop"), ("X-Hop", "h"), ("Keep-Alive", "300"), ("TE", "trailers"),
           ("Trailer", "X-T"), ("Upgrade", "foo/1"), ("Proxy-Connection", "keep-alive"),
           ("X-Forwarded-Host", "orig.example"), ("X-Keep", "kept")]
    r = get(p, "/service/hop", hop)
    rep = request_report(r)
    T.is_(header_lines(rep, "X-Forwarded-For"), ["10.1.2.3, 127.0.0.1"], "X-Forwarded-For appended with ', '")
    T.is_(header_lines(rep, "X-Forwarded-Host"), ["orig.example, localhost:%d" % port], "X-Forwarded-Host appended too")
    T.is_(header_lines(rep, "X-Dup"), ["one, two"], "duplicate request headers joined with ', ' on one line")
    T.is_(header_lines(rep, "X-Secret"), [], "RequestHeader unset removes X-Secret")
    T.is_(header_lines(rep, "X-Keep"), ["kept"], "ordinary header forwarded")
    for h in ("X-Hop", "Keep-Alive", "TE", "Trailer", "Upgrade", "Proxy-Connection"):
        T.is_(header_lines(rep, h), [], "hop-by-hop %s not forwarded" % h)
    conn = [v.lower() for v in header_lines(rep, "Connection")]
    T.ok(all("x-hop" not in v for v in conn), "client's Connection tokens not forwarded", conn)
    T.is_(len(header_lines(rep, "Host")), 1, "exactly one Host line")

    r = raw_exchange(p.port, b"GET /service/h10 HTTP/1.0\r\n\r\n")
    rep = request_report(r)
    T.is_(rep and rep["line"], "GET /service/h10 HTTP/1.1", "HTTP/1.0 client: backend request is HTTP/1.1")
    T.is_(rep and header_lines(rep, "X-Forwarded-Host"), [], "no Host from the client: no X-Forwarded-Host")

    r = get(p, "/pres/x", host="Front.Example:8443")
    rep = request_report(r)
    T.is_(header_lines(rep, "Host"), ["Front.Example:8443"], "ProxyPreserveHost On: client's Host verbatim")
    T.is_(header_lines(rep, "X-Forwarded-Host"), ["Front.Example:8443"], "ProxyPreserveHost: X-Forwarded-Host still set")
    r = raw_exchange(p.port, b"GET /pres/x10 HTTP/1.0\r\n\r\n")
    rep = request_report(r)
    T.is_(rep and header_lines(rep, "Host"), ["localhost"], "ProxyPreserveHost, no client Host: ServerName")
    r = get(p, "/service/hp", host="Front.Example:8443")
    T.is_(header_lines(request_report(r), "Host"), ["127.0.0.1:%d" % b.port], "without ProxyPreserveHost: backend Host")

    r = get(p, "/noadd/x")
    rep = request_report(r)
    T.is_([h for h in rep["headers"] if h.lower().startswith("x-forwarded-") and not h.lower().startswith("x-forwarded-proto")],
          [], "ProxyAddHeaders Off: no X-Forwarded-For/Host/Server")


def test_reverse_mapping(p, b):
    front = "http://localhost:%d" % p.port
    bk = "http://127.0.0.1:%d" % b.port
    r = get(p, "/service?status=302&location=%s/service/target" % bk)
    T.is_(r.status, 302, "backend 302 passed through")
    T.is_(r.header("Location"), front + "/service/target", "absolute Location mapped back to the client's Host")
    r = get(p, "/service?status=302&location=%s/other" % bk)
    T.is_(r.header("Location"), bk + "/other", "Location outside the mapped URL left alone")
    r = get(p, "/service?status=201&location=%s/service/new&content_location=%s/service/cl" % (bk, bk))
    T.is_(r.header("Location"), front + "/service/new", "201 Location mapped")
    T.is_(r.header("Content-Location"), front + "/service/cl", "Content-Location mapped")
    r = get(p, "/service?status=301&hdr=URI:%s/service/u" % bk)
    T.is_(r.header("URI"), front + "/service/u", "URI header mapped")
    r = get(p, "/front?status=302&location=/back/rel")
    T.is_(r.header("Location"), front + "/front/rel", "relative redirect mapped (path form) and made absolute")
    r = get(p, "/front?status=302&location=http://other.example/back/abs")
    T.is_(r.header("Location"), front + "/front/abs", "path-form ProxyPassReverse maps any host's path")
    r = get(p, "/front?status=302&location=/elsewhere")
    T.is_(r.header("Location"), "/elsewhere", "relative Location outside the mapping unchanged")
    r = get(p, "/service?status=302&location=%s/service/t" % bk, host="Front.Example")
    T.is_(r.header("Location"), "http://Front.Example/service/t", "mapping uses the client's Host (no port)")

    r = get(p, "/front?cookie=a%3D1%3B%20Path%3D/back/x%3B%20Domain%3Dbackend.internal%3B%20HttpOnly"
               "&cookie=b%3D2%3B%20path%3D/other%3B%20domain%3DBACKEND.internal.sub&cookie=c%3D3")
    T.is_(r.headers_all("Set-Cookie"),
          ["a=1; Path=/front; Domain=front.example; HttpOnly", "b=2; path=/other; domain=front.example", "c=3"],
          "Set-Cookie path (whole value, prefix match) and domain (case-insensitive) rewritten")


def test_status_and_head(p, b):
    r = get(p, "/service/x?status=404")
    T.is_(r.status, 404, "backend 404 passed through (no ProxyErrorOverride)")
    T.is_(request_report(r)["line"], "GET /service/x?status=404 HTTP/1.1", "backend's own 404 body passed through")
    T.is_(r.header("X-Frame-Options"), "DENY", "Header always set on a backend error too")
    b.reset()
    with Conn(p.port) as c:
        r = c.request("HEAD", "/service/head", host="localhost")
        T.is_(r.status, 200, "HEAD: 200")
        T.ok(r.header("Content-Length") not in (None, "0"), "HEAD: backend Content-Length passed", r.headers)
        r2 = c.request("GET", "/service/after-head", host="localhost")
        T.is_(r2.status, 200, "GET after HEAD on the same connection: no stray body bytes")
        T.is_(request_report(r2) and request_report(r2)["line"], "GET /service/after-head HTTP/1.1",
              "GET after HEAD reaches the backend intact")
    lines = [e["line"] for e in b.requests()]
    T.is_(lines[:1], ["HEAD /service/head HTTP/1.1"], "backend saw HEAD (not GET)")


def test_keepalive_reuse(p, b):
    b = b.ka  # a backend that no other test talks to: its accept count starts at zero
    n, conns, bad = 100, set(), 0
    t0 = time.monotonic()
    with Conn(p.port, timeout=10) as c:
        for i in range(n):
            r = c.request("GET", "/ka/%d" % i, host="localhost")
            rep = request_report(r)
            if r.status != 200 or not rep or rep["line"] != "GET /ka/%d HTTP/1.1" % i:
                bad += 1
            else:
                conns.add(rep["conn"])
    T.is_(bad, 0, "100 keep-alive requests on one client connection all proxied correctly")
    T.is_(b.accepts(), 1, "... over exactly one backend connection (backend accepts counted)")
    T.is_(len(conns), 1, "... the backend saw one connection id")
    T.diag("100 keep-alive requests in %.2f s" % (time.monotonic() - t0))


def test_access_log(p, b):
    open(os.path.join(p.dir, "proxy.log"), "a").close()
    get(p, "/service/logged?status=418")
    get(p, "/service/slowlog?sleep_ms=300")
    deadline = time.monotonic() + 5
    text = ""
    while time.monotonic() < deadline:
        text = open(os.path.join(p.dir, "proxy.log")).read()
        if "slowlog" in text:
            break
        time.sleep(0.1)
    m = re.search(r'^127\.0\.0\.1 "GET /service/logged\?status=418 HTTP/1\.1" 418 \d+ (\d+)$', text, re.M)
    T.ok(m, "access log has the backend's status 418 for the proxied request", text[-2000:])
    m = re.search(r'^127\.0\.0\.1 "GET /service/slowlog\?sleep_ms=300 HTTP/1\.1" 200 \d+ (\d+)$', text, re.M)
    T.ok(m and 300000 <= int(m.group(1)) < 5000000, "%D of a 300 ms backend is >= 300000 us",
         m and m.group(0) or text[-2000:])


def ws_session(p, path, name):
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    try:
        status, hdrs, expect, rd = ws_handshake(s, path)
        T.like(status or "", r"^HTTP/1\.1 101\b", "%s: 101 Switching Protocols" % name)
        T.is_(hdrs.get("sec-websocket-accept"), expect, "%s: Sec-WebSocket-Accept from the backend" % name)
        T.is_((hdrs.get("upgrade") or "").lower(), "websocket", "%s: Upgrade: websocket" % name)
        msgs = [(1, b"hello through portico"), (2, bytes(range(256)) * 400), (1, b"x" * 70000)]
        ok = True
        for op, payload in msgs:
            s.sendall(ws_frame(op, payload, mask=True))
            fr = ws_recv_frame(rd)
            ok = ok and fr is not None and fr[0] == op and fr[1] == payload
        T.ok(ok, "%s: text, binary and 70000-byte messages echoed" % name)
        s.sendall(ws_frame(8, b"\x03\xe8bye", mask=True))
        fr = ws_recv_frame(rd)
        T.ok(fr is not None and fr[0] == 8, "%s: close frame echoed" % name)
        s.settimeout(5)
        try:
            tail = s.recv(10)
        except OSError:
            tail = b""
        T.is_(tail, b"", "%s: tunnel closed after the backend closed" % name)
    finally:
        s.close()


def test_websocket(p, b):
    ws_session(p, "/ws/echo", "ProxyPass ws://")
    ws_session(p, "/up/echo", "ProxyPass http:// upgrade=websocket")
    # Without upgrade=, httpd drops Upgrade (hop-by-hop): the backend sees a plain GET.
    s = socket.create_connection(("127.0.0.1", p.port), timeout=5)
    try:
        status, hdrs, expect, rd = ws_handshake(s, "/plain/echo")
        T.unlike(status or "", r" 101\b", "no upgrade= on an http:// worker: no tunnel")
    finally:
        s.close()
    reqs = [e for e in b.requests() if e["line"].startswith("GET /plain/echo")]
    T.ok(reqs and not header_lines(reqs[-1], "Upgrade"), "... and the backend saw no Upgrade header",
         reqs and reqs[-1]["headers"])


def main():
    with BackendProc("echo") as b, BackendProc("echo") as ka:
        b.ka = ka
        with Portico(conf=CONF.replace("{B}", str(b.port)).replace("{KA}", str(ka.port)), max_workers=4) as p:
            for fn in (test_request_line, test_headers_to_backend, test_reverse_mapping, test_status_and_head,
                       test_keepalive_reuse, test_access_log, test_websocket):
                T.section(fn, p, b)
            T.unlike(p.error_log(), r"\[(emerg|crit|alert)\]", "no emerg/crit/alert in the error log")
    T.done()


if __name__ == "__main__":
    main()
