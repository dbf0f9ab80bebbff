#!/usr/bin/env python3
"""The tutorial steps of conf/examples/, each run unchanged with real backends on free ports
(filled in with -C "Define ..."): the tutorial's socat fixed-response backend and an echo
backend that reports the request it received. Steps 11-15 are the tutorial's mod_rewrite steps
(redirects, a proxy written as a rule, the SecRule + RewriteMap hashed-IP sticky routing, map
types). Also checks that Debian's apache2 accepts every example (`apache2 -t`), since the
examples claim to be valid httpd configurations."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, SRCDIR, BIN, STATUS_BIN, Conn, http_request, raw_exchange, free_port  # noqa: E402
from backends import BackendProc, request_report, header_lines, served_by  # noqa: E402
from certs import Pki  # noqa: E402
from tlsutil import TLSConn, client_ctx, https_request  # noqa: E402

EXAMPLES = os.path.join(SRCDIR, "conf", "examples")


def example(name, backend_port, defines=(), files=None, dirfiles=None):
    text = open(os.path.join(EXAMPLES, name)).read()
    p = Portico(conf=text, base=False, files=files or {"index.html": "local index\n"}, dirfiles=dirfiles)
    p.args += ["-C", "Define PORTICO_VAR %s" % "@VAR@", "-C", "Define PORTICO_PORT %d" % p.port,
               "-C", "Define BACKEND_PORT %d" % backend_port]
    for d in defines:
        p.args += ["-C", "Define %s" % d]
    return p


class Example:
    """Portico on an example file; PORTICO_VAR is the harness's temp dir (known on enter)."""

    def __init__(self, name, backend_port, defines=(), files=None, dirfiles=None):
        self.p = example(name, backend_port, defines, files, dirfiles)

    def __enter__(self):
        p = self.p
        orig = p.launch

        def launch():
            p.args = [a.replace("@VAR@", p.dir) for a in p.args]
            orig()
        p.launch = launch
        return p.__enter__()

    def __exit__(self, *exc):
        return self.p.__exit__(*exc)


def get(p, path, **kw):
    kw.setdefault("host", "localhost:%d" % p.port)
    return http_request(p.port, "GET", path, **kw)


def access_lines(p, pattern, timeout=3.0):
    deadline = time.monotonic() + timeout
    while True:
        lines = [l for l in p.access_log().splitlines() if re.search(pattern, l)]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.1)


def step_01():
    with BackendProc("fixed") as f:
        T.diag("fixed backend: %s" % ("socat" if f.socat else "python"))
        with Example("01-proxypass.conf", f.port) as p:
            r = get(p, "/service/")
            T.is_(r.status, 200, "01: GET /service/ through the socat backend: 200")
            T.like(r.body, r"^Server response, port %d\.\r?\n$" % f.port, "01: backend's text relayed")
            T.like(r.header("Content-Type", ""), r"^text/plain", "01: backend's Content-Type relayed")
            r = get(p, "/")
            T.is_((r.status, r.body), (200, b"local index\n"), "01: / is served locally, not proxied")
            lines = access_lines(p, r'"GET /service/ HTTP/1\.1" 200 ')
            T.ok(lines and re.search(r" 200 \d+ \d+$", lines[-1]), "01: access log line with status and %D", lines)
    with BackendProc("echo") as b:
        with Example("01-proxypass.conf", b.port) as p:
            r = get(p, "/service/a/b?c=d")
            rep = request_report(r)
            T.is_(rep and rep["line"], "GET /service/a/b?c=d HTTP/1.1", "01: backend request line 1:1")
            T.is_(rep and header_lines(rep, "Host"), ["localhost:%d" % b.port], "01: Host is the backend's")
            T.is_(rep and header_lines(rep, "X-Forwarded-For"), ["127.0.0.1"], "01: X-Forwarded-For")
            r = get(p, "/service/login?status=302&location=http://localhost:%d/service/welcome" % b.port)
            T.is_(r.status, 302, "01: backend redirect passed")
            T.is_(r.header("Location"), "http://localhost:%d/service/welcome" % p.port,
                  "01: ProxyPassReverse maps the Location to the proxy")
            r = get(p, "/servicex")
            T.is_(r.status, 404, "01: /servicex is not under /service")


def step_02():
    with BackendProc("echo") as b:
        with Example("02-exclusions.conf", b.port) as p:
            b.reset()
            for path in ("/service/index", "/service/index/sub", "/service/%69ndex", "/service//index",
                         "/service/./index", "/service/x/../index", "/service/index;x=1"):
                r = raw_exchange(p.port, ("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
                                          % path).encode())
                T.is_(r.status, 404, "02: %s excluded (local 404)" % path)
            T.is_(len(b.wait_requests(1, timeout=0.5)), 0, "02: none of them reached the backend")
            r = get(p, "/service/indexer")
            T.is_(request_report(r) and request_report(r)["line"], "GET /service/indexer HTTP/1.1",
                  "02: /service/indexer is proxied")
            r = get(p, "/service/other")
            T.is_(r.status, 200, "02: the rest of /service is proxied")


def step_03():
    with BackendProc("slow", delay=8) as s:
        with Example("03-proxytimeout.conf", s.port, defines=["PROXY_TIMEOUT 2"]) as p:
            t0 = time.monotonic()
            r = get(p, "/service/slow", timeout=10)
            dt = time.monotonic() - t0
            T.is_(r.status, 502, "03: backend silent for longer than ProxyTimeout 2: 502")
            T.ok(1.8 <= dt < 3.0, "03: ... after ProxyTimeout, within ProxyTimeout + 1 s (%.2f s)" % dt)
            T.like(p.error_log(), r"localhost:%d|127\.0\.0\.1:%d" % (s.port, s.port),
                   "03: the timeout is logged with the backend address")
            T.unlike(r.body, r"%d" % s.port, "03: the error page does not show the backend port")
    with BackendProc("fixed") as f:
        with Example("03-proxytimeout.conf", f.port, defines=["PROXY_TIMEOUT 2"]) as p:
            r = get(p, "/service/")
            T.is_(r.status, 200, "03: a prompt backend is unaffected")


def step_04():
    files = {"index.html": "local\n", "errors/404.html": "<p>Local not-found page</p>\n"}
    with BackendProc("echo") as b:
        with Example("04-proxyerroroverride.conf", b.port, files=files) as p:
            r = get(p, "/service/x?status=500&errbody=Traceback:+db+at+10.0.0.5")
            T.is_(r.status, 500, "04: backend 500 status kept")
            T.unlike(r.body, r"Traceback|10\.0\.0\.5", "04: backend 500 body hidden")
            T.like(r.body, r"Sorry, the service had a problem\.", "04: ErrorDocument 500 text sent instead")
            r = get(p, "/service/x?status=404&errbody=backend+404+internals")
            T.is_(r.status, 404, "04: backend 404 status kept")
            T.like(r.body, r"Local not-found page", "04: ErrorDocument 404 local page sent")
            T.unlike(r.body, r"internals", "04: backend 404 body hidden")
            r = get(p, "/service/x?status=503&errbody=backend+503+internals")
            T.is_(r.status, 503, "04: backend 503 status kept")
            T.unlike(r.body, r"internals", "04: backend 503 body hidden (portico's own page)")
            r = get(p, "/service/ok")
            T.is_(r.status, 200, "04: 200 passes")
            T.like(r.body, r"GET /service/ok HTTP/1\.1", "04: ... with the backend's body")
            r = get(p, "/service/moved?status=301&location=/x&errbody=moved+body")
            T.is_((r.status, r.body), (301, b"moved body"), "04: 301 (< 400) passes untouched")


def step_05():
    with BackendProc("echo") as b:
        with Example("05-forwarded-headers.conf", b.port) as p:
            r = get(p, "/service1/index.html", host="www.example.test",
                    headers=[("X-Forwarded-For", "203.0.113.9"), ("Proxy", "evil")])
            rep = request_report(r)
            T.is_(rep and rep["line"], "GET /service1/index.html HTTP/1.1", "05: request line")
            T.is_(header_lines(rep, "Host"), ["www.example.test"], "05: ProxyPreserveHost: client's Host")
            T.is_(header_lines(rep, "X-Forwarded-For"), ["203.0.113.9, 127.0.0.1"], "05: X-Forwarded-For appended")
            T.is_(header_lines(rep, "X-Forwarded-Host"), ["www.example.test"], "05: X-Forwarded-Host")
            T.is_(header_lines(rep, "X-Forwarded-Server"), ["localhost"], "05: X-Forwarded-Server")
            T.is_(header_lines(rep, "X-Forwarded-Proto"), ["http"], "05: RequestHeader set X-Forwarded-Proto")
            T.is_(header_lines(rep, "Proxy"), [], "05: RequestHeader unset Proxy")
            T.is_(r.header("X-Content-Type-Options"), "nosniff", "05: Header always set reaches the client")
            r = get(p, "/service1/x?status=404")
            T.is_(r.header("X-Content-Type-Options"), "nosniff", "05: ... also on a backend error")



# --------------------------------------------------------------------------------------------
# the mod_rewrite steps (tutorial steps 5-8 written with RewriteRule / SecRule / RewriteMap)
# --------------------------------------------------------------------------------------------
def step_11():
    with Example("11-rewrite-redirect.conf", 0) as p:
        r = get(p, "/")
        loc = "http://localhost:%d/index.html" % p.port
        T.is_((r.status, r.header("Location")), (302, loc),
              "11: ^/$ -> %{REQUEST_SCHEME}://%{HTTP_HOST}/index.html [redirect,last]")
        T.like(r.body, r'<a href="%s">' % re.escape(loc), "11: the redirect page links to the new location")
        r = get(p, "/", host="www.example.test")
        T.is_(r.header("Location"), "http://www.example.test/index.html", "11: the client's Host is used")
        r = get(p, "/?a=1")
        T.is_(r.header("Location"), loc + "?a=1", "11: the query string is kept")
        r = get(p, "/index.html")
        T.is_((r.status, r.body), (200, b"local index\n"), "11: /index.html itself is served")
        lines = access_lines(p, r'"GET / HTTP/1\.1" 302 ')
        T.ok(lines, "11: the 302 is in the access log", p.access_log()[-500:])


def tls_files(where):
    """Throwaway certificate + key for localhost under WHERE/tls (example 12's paths)."""
    pki = Pki(base=os.path.join(where, "pki"))
    c = pki.server("localhost", ["localhost", "www.example.test"], ips=["127.0.0.1"],
                   out_dir=os.path.join(where, "tls"), basename="server")
    return pki, c


def step_12():
    tls = free_port()
    with BackendProc("echo") as be:
        ex = Example("12-rewrite-https.conf", be.port, defines=["TLS_PORT %d" % tls])
        p = ex.p
        orig = p.launch

        def launch():
            ex_pki[0] = tls_files(p.dir)
            orig()
        ex_pki = [None]
        p.launch = launch
        with ex as p:
            ca = ex_pki[0][0].ca_cert
            r = get(p, "/a/b?q=1")
            T.is_((r.status, r.header("Location")), (302, "https://localhost:%d/a/b?q=1" % p.port),
                  "12: plain-HTTP port: redirect to https://%{HTTP_HOST}/$1, query kept")
            r = get(p, "/", host="www.example.test")
            T.is_(r.header("Location"), "https://www.example.test/", "12: / on port \"80\" goes to https://host/")
            # end to end: the client follows the redirect; "443" is ${TLS_PORT} (curl --connect-to)
            r = get(p, "/app/page?x=1", host="www.example.test")
            loc = r.header("Location") or ""
            T.is_((r.status, loc), (302, "https://www.example.test/app/page?x=1"), "12: /app/ on port \"80\" redirects")
            u = urllib.parse.urlsplit(loc)
            if u.scheme == "https":
                ctx = client_ctx(ca=ca)
                r2 = https_request(tls, "GET", u.path + "?" + u.query, host=u.netloc, sni=u.hostname, ctx=ctx)
                rep = request_report(r2) or {}
                T.is_((r2.status, rep.get("line")), (200, "GET /page?x=1 HTTP/1.1"),
                      "12: the redirect followed over TLS reaches the application")
                T.is_(header_lines(rep, "X-Forwarded-Proto") if rep else None, ["https"],
                      "12: the application sees X-Forwarded-Proto https")
                r3 = https_request(tls, "GET", "/index.html", host="localhost:%d" % tls, sni="localhost", ctx=ctx)
                T.is_((r3.status, r3.body), (200, b"local index\n"), "12: the https listener does not redirect")
                with TLSConn(tls, sni="localhost", ctx=ctx) as c:
                    T.is_(c.peer_names()[0], "localhost", "12: the https listener presents ${PORTICO_VAR}/tls/server.crt")
            r = http_request(tls, "GET", "/index.html", host="localhost:%d" % tls)
            T.is_(r.status, 400, "12: plain HTTP to the https listener -> 400")


def step_13():
    with BackendProc("echo") as b1, BackendProc("echo") as b2:
        with Example("13-rewrite-proxy.conf", b1.port,
                     defines=["BACKEND1_PORT %d" % b1.port, "BACKEND2_PORT %d" % b2.port]) as p:
            r = get(p, "/service1/a/b?x=1")
            rep = request_report(r)
            T.is_(rep and rep["line"], "GET /service1/a/b?x=1 HTTP/1.1", "13: [proxy,last] to the backend, path and query")
            T.is_(served_by(r), "127.0.0.1:%d" % b1.port, "13: ... on backend 1")
            T.is_(rep and header_lines(rep, "X-Forwarded-For"), ["127.0.0.1"], "13: X-Forwarded-For as with ProxyPass")
            r = get(p, "/service1/login?status=302&location=http://localhost:%d/service1/welcome" % b1.port)
            T.is_((r.status, r.header("Location")), (302, "http://localhost:%d/service1/welcome" % p.port),
                  "13: ProxyPassReverse / maps the backend's redirect")
            seen = []
            for i in range(4):
                r = get(p, "/service2/p%d" % i)
                rep = request_report(r)
                T.is_(rep and rep["line"], "GET /service/p%d HTTP/1.1" % i,
                      "13: RewriteRule [P] to balancer://backend/service/$1 (request %d)" % (i + 1))
                seen.append(served_by(r))
            T.ok(set(seen) == {"127.0.0.1:%d" % b1.port, "127.0.0.1:%d" % b2.port},
                 "13: the balancer uses both members", seen)
            r = get(p, "/service2/x?status=301&location=http://localhost:%d/service/moved" % b2.port)
            T.is_(r.header("Location"), "http://localhost:%d/service/moved" % p.port,
                  "13: ProxyPassReverse / balancer://backend/ maps a member's redirect")
            r = get(p, "/other")
            T.is_(r.status, 404, "13: other paths are not proxied")


def _from(p, src, path):
    with SrcConn(p.port, src) as c:
        return c.request("GET", path, [("Connection", "close")], None, "HTTP/1.1", "localhost:%d" % p.port)


class SrcConn(Conn):
    def __init__(self, port, src, timeout=5.0):
        import socket
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
        self.buf = b""
        self.eof = False


def step_14():
    import hashlib
    with BackendProc("echo") as b0, BackendProc("echo") as b1, BackendProc("echo") as b2:
        # the shipped map with the real ports; digits c and d left out: they take the default
        shipped = open(os.path.join(EXAMPLES, "hashchar2backend.txt")).read()
        lines = [l for l in shipped.splitlines(True) if not l.startswith(("c ", "d ", "default "))]
        text = "".join(lines).replace("localhost:8000", "localhost:%d" % b1.port).replace(
            "localhost:8001", "localhost:%d" % b2.port) + "default localhost:%d\n" % b0.port
        mapping = {}
        for l in lines:
            if l.strip() and not l.startswith("#"):
                k, v = l.split()[:2]
                mapping[k] = b1 if v.endswith(":8000") else b2
        with Example("14-secrule-iphash.conf", b0.port, dirfiles={"hashchar2backend.txt": text},
                     defines=["BACKEND1_PORT %d" % b0.port, "BACKEND2_PORT %d" % b1.port]) as p:
            defaults = 0
            for i in range(1, 17):
                ip = "127.0.0.%d" % i
                ch = hashlib.sha1(ip.encode()).hexdigest()[0]
                want = mapping.get(ch, b0)
                defaults += want is b0
                got = [served_by(_from(p, ip, "/service1/x")) for _ in range(2)]
                T.is_(got, ["127.0.0.1:%d" % want.port] * 2, "14: client %s (hash %s) -> %s" %
                      (ip, ch, "the default backend" if want is b0 else "the map's backend"))
            T.ok(defaults, "14: some clients fall to the default (digits c, d not in the map)")
            r = _from(p, "127.0.0.2", "/service1/y?z=1")
            rep = request_report(r)
            T.is_(rep and rep["line"], "GET /service1/y?z=1 HTTP/1.1", "14: the backend gets the path and query")
            T.is_(rep and header_lines(rep, "X-IP-Hash"), [hashlib.sha1(b"127.0.0.2").hexdigest()[0]],
                  "14: RequestHeader ... env=IPHashChar carries the digit")
            lines = access_lines(p, r'^127\.0\.0\.3 .*"GET /service1/x HTTP/1\.1" 200 .* hash=%s$'
                                 % hashlib.sha1(b"127.0.0.3").hexdigest()[0])
            T.ok(lines, "14: %{IPHashChar}e in the access log", p.access_log()[-800:])


def step_15():
    with BackendProc("echo") as b1, BackendProc("echo") as b2:
        dirfiles = {"15-paths.txt": open(os.path.join(EXAMPLES, "15-paths.txt")).read(),
                    "15-servers.rnd": "app localhost:%d|localhost:%d\n" % (b1.port, b2.port)}
        defines = ["BACKEND1_PORT %d" % b1.port, "BACKEND2_PORT %d" % b2.port]
        with Example("15-rewrite-maps.conf", b1.port, defines=defines, dirfiles=dirfiles) as p:
            base = "http://localhost:%d" % p.port
            r = get(p, "/go/Docs")
            T.is_((r.status, r.header("Location")), (301, base + "/documentation/"), "15: txt map + int:tolower")
            r = get(p, "/go/nothing")
            T.is_((r.status, r.header("Location")), (301, base + "/"), "15: a miss takes the default")
            seen, lines = set(), set()
            for i in range(24):
                r = get(p, "/pool/x")
                seen.add(served_by(r))
                rep = request_report(r)
                lines.add(rep and rep["line"])
            T.is_(seen, {"127.0.0.1:%d" % b1.port, "127.0.0.1:%d" % b2.port}, "15: rnd map spreads over both backends")
            T.is_(lines, {"GET /pool/x HTTP/1.1"}, "15: ... with the rewritten path")
            path = os.path.join(p.dir, "15-paths.txt")
            with open(path, "a") as f:
                f.write("new       /brand-new/\n")
            t = time.time() + 3
            os.utime(path, (t, t))
            r = get(p, "/go/NEW")
            T.is_(r.header("Location"), base + "/brand-new/", "15: a line added while serving is used at once")
        tool = os.environ.get("PORTICO_TXT2DBM_BIN") or os.path.join(os.path.dirname(STATUS_BIN), "portico-txt2dbm")
        if not os.access(tool, os.X_OK):
            T.fail("15: portico-txt2dbm found (%s)" % tool)
            return
        p = example("15-rewrite-maps.conf", b1.port, defines + ["WITH_DBM"], dirfiles=dirfiles)
        p.start = False
        with p:
            p.args = [a.replace("@VAR@", p.dir) for a in p.args]
            r = subprocess.run([tool, "-f", "GDBM", "-i", os.path.join(p.dir, "15-paths.txt"),
                                "-o", os.path.join(p.dir, "15-paths.dbm")], stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, timeout=20)
            T.is_(r.returncode, 0, "15: portico-txt2dbm -f GDBM builds the dbm map") or T.diag(r.stdout)
            os.chmod(os.path.join(p.dir, "15-paths.dbm"), 0o644)
            p.launch()
            r = get(p, "/db/Blog")
            T.is_(r.header("Location"), "http://localhost:%d/news/index.html" % p.port, "15: dbm=gdbm map (-D WITH_DBM)")

def apache_accepts():
    apache = shutil.which("apache2") or ("/usr/sbin/apache2" if os.path.exists("/usr/sbin/apache2") else None)
    names = sorted(os.path.basename(f) for f in glob.glob(os.path.join(EXAMPLES, "*.conf")))
    T.ok(len(names) >= 5, "conf/examples has the tutorial steps", names)
    for name in names:
        d = tempfile.mkdtemp(prefix="portico-ex-")
        try:
            os.makedirs(os.path.join(d, "htdocs"))
            # the map files the rewrite examples read from ${MAP_DIR} (= PORTICO_VAR)
            for m in glob.glob(os.path.join(EXAMPLES, "*.txt")) + glob.glob(os.path.join(EXAMPLES, "*.rnd")):
                shutil.copy(m, d)
            if name.startswith("12-"):
                tls_files(d)  # SSLCertificateFile must exist for both -t runs
            r = subprocess.run([BIN, "-t",
                                "-C", "Define PORTICO_VAR " + d, "-f", os.path.join(EXAMPLES, name)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=20)
            T.is_((r.returncode, r.stdout.strip().splitlines()[-1:]), (0, ["Syntax OK"]), "portico -t %s" % name)
            if not apache:
                T.skip("apache2 -t %s" % name, "apache2 not installed")
                continue
            r = subprocess.run([apache, "-t", "-d", d, "-C", "Define PORTICO_VAR " + d, "-f",
                                os.path.join(EXAMPLES, name)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, timeout=20, start_new_session=True)
            T.is_(r.returncode, 0, "apache2 -t accepts %s" % name) or T.diag(r.stdout[-1500:])
        finally:
            shutil.rmtree(d, ignore_errors=True)


def main():
    for fn in (apache_accepts, step_01, step_02, step_03, step_04, step_05, step_11, step_12, step_13,
               step_14, step_15):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
