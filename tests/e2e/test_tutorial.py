#!/usr/bin/env python3
"""The tutorial steps of conf/examples/, each run unchanged with real backends on free ports
(filled in with -C "Define ..."): the tutorial's socat fixed-response backend and an echo
backend that reports the request it received. Also checks that Debian's apache2 accepts every
example (`apache2 -t`), since the examples claim to be valid httpd configurations."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, SRCDIR, BIN, http_request, raw_exchange  # noqa: E402
from backends import BackendProc, request_report, header_lines  # noqa: E402

EXAMPLES = os.path.join(SRCDIR, "conf", "examples")


def example(name, backend_port, defines=(), files=None):
    text = open(os.path.join(EXAMPLES, name)).read()
    p = Portico(conf=text, base=False, files=files or {"index.html": "local index\n"})
    p.args += ["-C", "Define PORTICO_VAR %s" % "@VAR@", "-C", "Define PORTICO_PORT %d" % p.port,
               "-C", "Define BACKEND_PORT %d" % backend_port]
    for d in defines:
        p.args += ["-C", "Define %s" % d]
    return p


class Example:
    """Portico on an example file; PORTICO_VAR is the harness's temp dir (known on enter)."""

    def __init__(self, name, backend_port, defines=(), files=None):
        self.p = example(name, backend_port, defines, files)

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


def apache_accepts():
    apache = shutil.which("apache2") or ("/usr/sbin/apache2" if os.path.exists("/usr/sbin/apache2") else None)
    names = sorted(os.path.basename(f) for f in glob.glob(os.path.join(EXAMPLES, "*.conf")))
    T.ok(len(names) >= 5, "conf/examples has the tutorial steps", names)
    for name in names:
        d = tempfile.mkdtemp(prefix="portico-ex-")
        try:
            os.makedirs(os.path.join(d, "htdocs"))
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
    for fn in (apache_accepts, step_01, step_02, step_03, step_04, step_05):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
