#!/usr/bin/env python3
"""Access control on proxied URLs: Require in <Proxy>, <ProxyMatch>, <Location>, the
<RequireAll>/<RequireAny>/<RequireNone> containers, Require not ip, the httpd 2.2 forms
(Order/Allow/Deny) and the ProxyPass exclusion with every bypass attempt of Appendix C.
Every denied request must give 403 and never reach the backend: the tests count the requests
the backend saw, not just the statuses."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, raw_exchange  # noqa: E402
from backends import BackendProc, request_report  # noqa: E402

CONF = """\
ProxyRequests Off
ProxyPass /service/index !
ProxyPass /service http://127.0.0.1:{B}/service
ProxyPassReverse /service http://127.0.0.1:{B}/service
ProxyPass /denied http://127.0.0.1:{B}/denied
ProxyPass /private http://127.0.0.1:{B}/private
ProxyPass /matched http://127.0.0.1:{B}/matched
ProxyPass /admin http://127.0.0.1:{B}/admin
ProxyPass /local http://127.0.0.1:{B}/local
ProxyPass /notme http://127.0.0.1:{B}/notme
ProxyPass /all http://127.0.0.1:{B}/all
ProxyPass /old-deny http://127.0.0.1:{B}/old-deny
ProxyPass /old-allow http://127.0.0.1:{B}/old-allow
ProxyPass /none http://127.0.0.1:{B}/none

<Proxy *>
    Require all granted
</Proxy>
<Proxy http://127.0.0.1:{B}/denied>
    Require all denied
</Proxy>
<Proxy "http://127.0.0.1:{B}/private*">
    Require ip 10.0.0.0/8 192.168.1.1
</Proxy>
<ProxyMatch "^http://127\\.0\\.0\\.1:[0-9]+/matched/(secret|hidden)">
    Require all denied
</ProxyMatch>
<Location /admin>
    Require ip 10.0.0.0/8
</Location>
<Location /local>
    Require ip 127.0.0.1
</Location>
<Location /notme>
    <RequireAll>
        Require all granted
        Require not ip 127.0.0.0/8
    </RequireAll>
</Location>
<Location /all>
    <RequireAny>
        Require ip 10.1.1.1
        Require ip 127.0.0.1/32
    </RequireAny>
</Location>
<Location /none>
    <RequireAll>
        Require all granted
        <RequireNone>
            Require ip 127.0.0.1
        </RequireNone>
    </RequireAll>
</Location>
<Location /old-deny>
    Order deny,allow
    Deny from all
    Allow from 10.0.0.0/8
</Location>
<Location /old-allow>
    Order allow,deny
    Allow from 127.0.0.1
</Location>
"""

# (path, expected status, what the backend must see or None when it must see nothing)
ACCESS = [
    ("/denied/x", 403, None, "<Proxy url> Require all denied"),
    ("/private/x", 403, None, "<Proxy url*> Require ip 10/8 from 127.0.0.1"),
    ("/matched/secret", 403, None, "<ProxyMatch> Require all denied"),
    ("/matched/hidden/x", 403, None, "<ProxyMatch> second alternative"),
    ("/matched/public", 200, "GET /matched/public HTTP/1.1", "<ProxyMatch> not matching: granted"),
    ("/admin/x", 403, None, "<Location> Require ip 10/8"),
    ("/local/x", 200, "GET /local/x HTTP/1.1", "<Location> Require ip 127.0.0.1"),
    ("/notme/x", 403, None, "<RequireAll> with Require not ip 127/8"),
    ("/all/x", 200, "GET /all/x HTTP/1.1", "<RequireAny> second alternative matches"),
    ("/none/x", 403, None, "<RequireNone> of a matching ip"),
    ("/old-deny/x", 403, None, "Order deny,allow / Deny from all / Allow from 10/8"),
    ("/old-allow/x", 200, "GET /old-allow/x HTTP/1.1", "Order allow,deny / Allow from 127.0.0.1"),
    ("/service/ok", 200, "GET /service/ok HTTP/1.1", "<Proxy *> Require all granted"),
]

# Appendix C + httpd 2.4.71 live: status for each path under `ProxyPass /service/index !` with no
# local file (so "excluded" shows as the local 404, and nothing reaches the backend).
EXCLUDED = ["/service/index", "/service/index/", "/service/index/sub", "/service/index?x=1",
            "/service/%69ndex", "/service/./index", "/service//index", "/service/x/../index",
            "//service/index", "/service/%2e/index", "/service/index/.", "/service/../service/index",
            "/service/a/%2e%2e/index", "/service/%69%6e%64%65%78",
            # Deliberate deviation: httpd 2.4.71 proxies these (it strips path parameters only
            # with mapping=servlet), which lets `;x=1` reach a Java backend as /service/index.
            # portico matches exclusions with path parameters removed.
            "/service/index;x=1", "/service/index%3Bx=1", "/service/index;jsessionid=1/sub"]
PROXIED = [("/service/indexer", "GET /service/indexer HTTP/1.1"),
           ("/service/index.html", "GET /service/index.html HTTP/1.1"),
           ("/service/INDEX", "GET /service/INDEX HTTP/1.1"),
           ("/service/indexer;x=1", "GET /service/indexer;x=1 HTTP/1.1")]
OTHER = [("/service/index%2F", 404), ("/service/index%00", 404), ("/service/index#f", 400),
         ("/service/../../index", 400)]


def req(p, path):
    return raw_exchange(p.port, ("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())


def test_access(p, b):
    for path, status, line, what in ACCESS:
        b.reset()
        r = req(p, path)
        T.is_(r.status, status, "%s: %s -> %d" % (path, what, status))
        seen = [e["line"] for e in b.wait_requests(1 if line else 0, timeout=1.0 if line else 0.3)]
        T.is_(seen, [line] if line else [], "%s: backend saw %s" % (path, line or "nothing"))
        if status == 403:
            T.unlike(r.body, r'"line"', "%s: 403 body is portico's, not the backend's" % path)


def test_exclusion(p, b):
    b.reset()
    for path in EXCLUDED:
        r = req(p, path)
        T.is_(r.status, 404, "excluded %s: local 404 (not proxied)" % path)
    T.is_([e["line"] for e in b.wait_requests(1, timeout=0.5)], [], "no excluded path reached the backend")
    for path, line in PROXIED:
        b.reset()
        r = req(p, path)
        rep = request_report(r)
        T.is_(r.status, 200, "%s is not excluded: proxied (as httpd)" % path)
        T.is_(rep and rep["line"], line, "%s: backend request line" % path)
    b.reset()
    for path, status in OTHER:
        r = req(p, path)
        T.is_(r.status, status, "%s: %d before any mapping (as httpd)" % (path, status))
    T.is_([e["line"] for e in b.wait_requests(1, timeout=0.5)], [], "... none of those reached the backend")


def main():
    with BackendProc("echo") as b:
        with Portico(conf=CONF.replace("{B}", str(b.port)), files={"other.html": "x\n"}) as p:
            T.section(test_access, p, b)
            T.section(test_exclusion, p, b)
            T.unlike(p.error_log(), r"\[(emerg|crit|alert)\]", "no emerg/crit/alert in the error log")
    T.done()


if __name__ == "__main__":
    main()
