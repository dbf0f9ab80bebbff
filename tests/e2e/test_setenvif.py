#!/usr/bin/env python3
"""mod_setenvif end to end: SetEnvIf/SetEnvIfNoCase on Remote_Addr, Request_URI,
Request_Method, Request_Protocol, headers (by name and by a regex of names), earlier env vars,
BrowserMatch, SetEnvIfExpr; the variables feed %{ENV:x} in RewriteCond, RequestHeader ... env=,
and the access log; env no-proxy keeps ProxyPass out (apache-behaviour.md 8.7, 1.6).

Valid for httpd too (PORTICO_BIN=/usr/sbin/apache2)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico  # noqa: E402
from backends import BackendProc, request_report, header_lines  # noqa: E402
from test_rewrite import rw_conf, get  # noqa: E402
from test_secrule import get_from  # noqa: E402


def EnvPortico(body, files=None):
    return Portico(conf=rw_conf(body), base=False,
                   files=files or {"index.html": "local index\n", "landing": "landing\n",
                                   "svc/local.html": "local under svc\n"})


def loc_query(r):
    return (r.header("Location") or "").partition("?")[2]


def envs_to_backend():
    with BackendProc("echo") as b:
        body = """\
SetEnvIf Remote_Addr ^127\\.0\\.0\\.7$ from_seven
SetEnvIf Request_URI \\.(gif|png)$ is_image=$1
SetEnvIf Request_Method ^DELETE$ is_delete=yes
SetEnvIf Request_Protocol ^HTTP/1\\.0$ old_proto
SetEnvIf X-Tenant ^(\\w+)$ tenant=$1
SetEnvIf tenant ^acme$ acme_tenant=1
SetEnvIfNoCase X-Mode ^fast$ fast_mode
SetEnvIf X-Mode ^fast$ fast_exact
SetEnvIf ^X-Debug- .+ has_debug
SetEnvIf Request_URI . always=1 dropme=1
SetEnvIf X-Drop ^yes$ !dropme
BrowserMatch ^Mozilla/4 legacy_browser
BrowserMatchNoCase curl is_curl=lowered
SetEnvIfExpr "%{{REQUEST_METHOD}} == 'PUT'" is_put
RequestHeader set X-E-Seven "%{{from_seven}}e" env=from_seven
RequestHeader set X-E-Image "%{{is_image}}e" env=is_image
RequestHeader set X-E-Delete "%{{is_delete}}e" env=is_delete
RequestHeader set X-E-Old "%{{old_proto}}e" env=old_proto
RequestHeader set X-E-Tenant "%{{tenant}}e" env=tenant
RequestHeader set X-E-Acme "%{{acme_tenant}}e" env=acme_tenant
RequestHeader set X-E-Fast "%{{fast_mode}}e" env=fast_mode
RequestHeader set X-E-FastExact "%{{fast_exact}}e" env=fast_exact
RequestHeader set X-E-Debug "%{{has_debug}}e" env=has_debug
RequestHeader set X-E-Always "%{{always}}e" env=always
RequestHeader set X-E-Drop "%{{dropme}}e" env=dropme
RequestHeader set X-E-Legacy "%{{legacy_browser}}e" env=legacy_browser
RequestHeader set X-E-Curl "%{{is_curl}}e" env=is_curl
RequestHeader set X-E-Put "%{{is_put}}e" env=is_put
ProxyPass /svc/ http://localhost:{b}/svc/
""".format(b=b.port)

        def seen(r):
            rep = request_report(r)
            if rep is None:
                return None
            return {l.partition(":")[0][4:].lower(): l.partition(":")[2].strip()
                    for l in rep["headers"] if l.lower().startswith("x-e-")}

        with EnvPortico(body) as p:
            r = get(p, "/svc/a")
            T.is_(seen(r), {"always": "1", "drop": "1"}, "plain request: only the unconditional variables")
            r = get_from(p, "127.0.0.7", "/svc/a")
            T.is_(seen(r).get("seven"), "1", "Remote_Addr (client from 127.0.0.7): variable set to 1")
            r = get(p, "/svc/pic.png")
            T.is_(seen(r).get("image"), "png", "Request_URI with $1 in the value")
            r = get(p, "/svc/a", method="DELETE")
            T.is_(seen(r).get("delete"), "yes", "Request_Method")
            r = get(p, "/svc/a", method="PUT", headers=[("Content-Length", "0")])
            T.is_(seen(r).get("put"), "1", "SetEnvIfExpr %{REQUEST_METHOD} == 'PUT'")
            from portico_test import raw_exchange
            r = raw_exchange(p.port, b"GET /svc/a HTTP/1.0\r\nHost: localhost\r\n\r\n")
            T.is_(seen(r).get("old"), "1", "Request_Protocol HTTP/1.0")
            r = get(p, "/svc/a", headers=[("X-Tenant", "acme")])
            s = seen(r)
            T.is_((s.get("tenant"), s.get("acme")), ("acme", "1"),
                  "a header with $1, then a variable set earlier as the attribute")
            r = get(p, "/svc/a", headers=[("X-Tenant", "other")])
            T.is_((seen(r).get("tenant"), seen(r).get("acme")), ("other", None), "... other tenant")
            r = get(p, "/svc/a", headers=[("X-Mode", "FAST")])
            T.is_((seen(r).get("fast"), seen(r).get("fastexact")), ("1", None), "SetEnvIfNoCase vs SetEnvIf")
            r = get(p, "/svc/a", headers=[("X-Debug-Trace", "1")])
            T.is_(seen(r).get("debug"), "1", "a regex of header names (^X-Debug-)")
            r = get(p, "/svc/a", headers=[("X-Drop", "yes")])
            T.is_(seen(r).get("drop"), None, "!var unsets a variable set earlier")
            r = get(p, "/svc/a", headers=[("User-Agent", "Mozilla/4.0 (compatible)")])
            T.is_(seen(r).get("legacy"), "1", "BrowserMatch")
            r = get(p, "/svc/a", headers=[("User-Agent", "CURL/8.0")])
            T.is_(seen(r).get("curl"), "lowered", "BrowserMatchNoCase with a value")


def envs_to_rewrite():
    with BackendProc("echo") as b:
        body = """\
SetEnvIf X-Tenant ^(\\w+)$ tenant=$1
SetEnvIf Remote_Addr ^127\\.0\\.0\\.8$ internal
BrowserMatchNoCase (iphone|android) mobile=$1
SetEnvIf Request_URI ^/svc/local no-proxy
RewriteEngine On
RewriteCond %{{ENV:tenant}} (.+)
RewriteRule ^/t/(.*)$ /landing?tenant=%1&path=$1 [R,L]
RewriteCond %{{ENV:internal}} !=1
RewriteRule ^/admin - [F]
RewriteCond %{{ENV:mobile}} ^(.+)$
RewriteRule ^/app/(.*)$ /landing?m=%1 [R,L]
RewriteRule ^/svc/skip - [E=no-proxy:1]
ProxyPass /svc/ http://localhost:{b}/svc/
ProxyPass /admin http://localhost:{b}/admin
""".format(b=b.port)
        with EnvPortico(body) as p:
            r = get(p, "/t/x", headers=[("X-Tenant", "acme")])
            T.is_(loc_query(r), "tenant=acme&path=x", "SetEnvIf header -> %{ENV:tenant} -> %1 in RewriteRule")
            r = get(p, "/t/x")
            T.is_(r.status, 404, "no header: the condition fails")
            r = get(p, "/admin")
            T.is_(r.status, 403, "RewriteCond %{ENV:internal} !=1: other clients get F")
            r = get_from(p, "127.0.0.8", "/admin")
            rep = request_report(r)
            T.is_(rep and rep["line"], "GET /admin HTTP/1.1", "client 127.0.0.8 (SetEnvIf Remote_Addr) reaches ProxyPass")
            r = get(p, "/app/x", headers=[("User-Agent", "Mozilla/5.0 (iPhone; CPU)")])
            T.is_(loc_query(r), "m=iPhone", "BrowserMatchNoCase capture -> %{ENV:mobile}")
            b.reset()
            r = get(p, "/svc/local.html")
            T.is_((r.status, r.body), (200, b"local under svc\n"), "SetEnvIf ... no-proxy: ProxyPass skipped, served locally")
            r = get(p, "/svc/skip")
            T.is_(r.status, 404, "RewriteRule [E=no-proxy:1]: ProxyPass skipped too")
            T.is_(len(b.wait_requests(1, timeout=0.3)), 0, "... the backend saw neither")
            r = get(p, "/svc/other")
            T.is_(request_report(r) and request_report(r)["line"], "GET /svc/other HTTP/1.1", "other paths still proxied")
            for _ in range(30):
                if "/svc/other" in p.access_log():
                    break
                time.sleep(0.1)


def main():
    for fn in (envs_to_backend, envs_to_rewrite):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
