#!/usr/bin/env python3
"""mod_rewrite end to end: the tutorial's rewrite steps and the RewriteRule flags, with real
backends, raw HTTP, and httpd 2.4's answers as the expectation (apache-behaviour.md section 6,
mod_rewrite.xml, rewrite/flags.xml).

Every configuration here is valid for Debian's apache2 too: PORTICO_BIN=/usr/sbin/apache2 runs
this file against httpd (a check of the tests themselves); portico-only checks then skip.

The other rewrite test files import rw_conf/RwPortico/get from here."""
import os
import re
import subprocess
import sys
import tempfile
import shutil

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, BIN, http_request, raw_exchange  # noqa: E402
from backends import BackendProc, request_report, header_lines, served_by, IS_APACHE  # noqa: E402,F401

# portico has these built in; httpd loads them (each line guarded so both read the file).
RW_MODULES = ["mpm_prefork", "authz_core", "authz_host", "proxy", "proxy_http", "proxy_balancer",
              "lbmethod_byrequests", "slotmem_shm", "headers", "env", "setenvif", "rewrite", "alias"]


def rw_modules(extra=()):
    out = []
    for m in list(RW_MODULES) + list(extra):
        so = "/usr/lib/apache2/modules/mod_%s.so" % m
        if IS_APACHE and not os.path.exists(so):
            continue
        out.append("<IfModule !%s_module>\n    LoadModule %s_module %s\n</IfModule>" % (m, m, so))
    return "\n".join(out) + "\n"


RW_LOGFORMAT = '"%h \\"%r\\" %>s rw_env=%{RW_ENV}e hash=%{IPHashChar}e"'


def rw_conf(body, loglevel="info", start_servers=2, max_workers=8, extra_modules=()):
    """A whole config (Portico(base=False)) valid for portico and httpd, then `body`."""
    user = "User nobody\nGroup nogroup\n" if os.geteuid() == 0 else ""
    return rw_modules(extra_modules) + """\
ServerRoot "@DIR@"
DefaultRuntimeDir "@DIR@"
Listen 127.0.0.1:@PORT@
ServerName localhost
PidFile @DIR@/portico.pid
ErrorLog @DIR@/error.log
LogLevel %s
LogFormat %s rw
CustomLog @DIR@/access.log rw
DocumentRoot @DIR@/htdocs
<Directory @DIR@/htdocs>
    Require all granted
</Directory>
%sTimeout 10
KeepAlive On
KeepAliveTimeout 5
StartServers %d
MinSpareServers 1
MaxSpareServers %d
MaxRequestWorkers %d
ProxyRequests Off
""" % (loglevel, RW_LOGFORMAT, user, start_servers, max_workers, max_workers) + body


def RwPortico(body, files=None, dirfiles=None, loglevel="info", nports=1, start_servers=2, max_workers=8,
              **kw):
    files = files if files is not None else {"index.html": "local index\n", "landing": "landing page\n"}
    conf = rw_conf(body, loglevel=loglevel, start_servers=start_servers, max_workers=max_workers)
    return Portico(conf=conf, base=False, files=files, dirfiles=dirfiles, nports=nports, **kw)


def get(p, path, host=None, headers=None, method="GET", port=None, timeout=5.0):
    port = port or p.port
    return http_request(port, method, path, headers=headers,
                        host=host if host is not None else "localhost:%d" % port, timeout=timeout)


def backend_line(r):
    rep = request_report(r)
    return rep["line"] if rep else None


def portico_only(name):
    """True when the check is about portico itself (skipped, visibly, when running httpd)."""
    if IS_APACHE:
        T.skip(name, "portico-only check (PORTICO_BIN is httpd)")
        return False
    return True


def configtest(text, name="bad.conf"):
    """portico -t on a whole file (written to a temp dir). Returns (rc, stderr, path)."""
    d = tempfile.mkdtemp(prefix="portico-rw-t-")
    try:
        os.makedirs(os.path.join(d, "htdocs"))
        path = os.path.join(d, name)
        with open(path, "w") as f:
            f.write(text.replace("@DIR@", d).replace("@PORT@", "8080"))
        r = subprocess.run([BIN, "-t", "-d", d, "-f", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, errors="replace", timeout=20)
        return r.returncode, r.stderr + r.stdout, path
    finally:
        shutil.rmtree(d, ignore_errors=True)


def line_of(text, needle):
    for i, l in enumerate(text.splitlines(), 1):
        if needle in l:
            return i
    raise ValueError(needle)


# --------------------------------------------------------------------------------------------
def tutorial_root_redirect():
    body = """\
RewriteEngine           On
RewriteOptions          InheritDownBefore
RewriteRule             ^/$ %{REQUEST_SCHEME}://%{HTTP_HOST}/index.html  [redirect,last]
"""
    with RwPortico(body) as p:
        r = get(p, "/")
        loc = "http://localhost:%d/index.html" % p.port
        T.is_(r.status, 302, "^/$ [redirect,last]: 302")
        T.is_(r.header("Location"), loc, "Location built from %{REQUEST_SCHEME}://%{HTTP_HOST}")
        T.like(r.body, r'<a href="%s">' % re.escape(loc), "redirect body links to the new location")
        T.like(r.header("Content-Type", ""), r"^text/html", "redirect body is text/html")
        r = get(p, "/", host="www.example.test")
        T.is_(r.header("Location"), "http://www.example.test/index.html", "the client's Host is used as given")
        r = get(p, "/", host="www.example.test", method="HEAD")
        T.is_((r.status, r.header("Location"), r.body), (302, "http://www.example.test/index.html", b""),
              "HEAD: same status and Location, no body")
        r = get(p, "/?a=1")
        T.is_(r.header("Location"), "http://localhost:%d/index.html?a=1" % p.port,
              "the original query string is kept (no ? in the substitution)")
        r = get(p, "/index.html")
        T.is_((r.status, r.body), (200, b"local index\n"), "/index.html is not redirected, served locally")


def https_redirect():
    # Two listeners: @PORT0@ plays port 80, @PORT1@ plays 443 (portico has no TLS yet: only
    # the Location is checked).
    body = """\
Listen 127.0.0.1:@PORT1@
RewriteEngine        On
RewriteCond          %{SERVER_PORT} =@PORT0@
RewriteRule          ^/by-name/(.*)$ https://%{SERVER_NAME}/$1 [R=301,L]
RewriteCond          %{HTTPS} off
RewriteCond          %{SERVER_PORT} =@PORT0@
RewriteRule          ^/(.*)$ https://%{HTTP_HOST}/$1    [redirect,last]
"""
    with RwPortico(body, nports=2) as p:
        p0, p1 = p.ports
        # SERVER_PORT is the Host header's port (UseCanonicalName Off), 80 when it has none.
        r = get(p, "/a/b?q=1", host="www.example.test:%d" % p0)
        T.is_(r.status, 302, "port-80 request: 302")
        T.is_(r.header("Location"), "https://www.example.test:%d/a/b?q=1" % p0,
              "https://%{HTTP_HOST}/$1: the Host header as sent, query kept")
        r = get(p, "/by-name/x?y=2", host="www.example.test:%d" % p0)
        T.is_((r.status, r.header("Location")), (301, "https://www.example.test/x?y=2"),
              "https://%{SERVER_NAME}/$1 [R=301]: the Host's name without its port")
        r = get(p, "/a/b", host="www.example.test")
        T.is_(r.status, 404, "Host without a port: %{SERVER_PORT} is 80, not this port: no redirect")
        r = get(p, "/index.html", port=p1)
        T.is_((r.status, r.body), (200, b"local index\n"), "the other port (%{SERVER_PORT} differs): no redirect")
        r = get(p, "/x", host="www.example.test", port=p1)
        T.is_(r.status, 404, "... and no redirect for any path on it")


def proxy_last():
    with BackendProc("echo") as b:
        body = """\
RewriteEngine    On
RewriteRule      ^/service1/(.*)    http://localhost:{b}/service1/$1 [proxy,last]
ProxyPassReverse /   http://localhost:{b}/
<Proxy http://localhost:{b}/service1>
    Require all granted
    Options None
</Proxy>
""".format(b=b.port)
        with RwPortico(body) as p:
            r = get(p, "/service1/a/b?x=1")
            T.is_(backend_line(r), "GET /service1/a/b?x=1 HTTP/1.1", "[proxy,last]: backend sees the URL and query")
            T.is_(r.status, 200, "[proxy,last]: backend's 200")
            rep = request_report(r)
            T.is_(rep and header_lines(rep, "X-Forwarded-For"), ["127.0.0.1"], "X-Forwarded-For added as for ProxyPass")
            r = get(p, "/service1/login?status=302&location=http://localhost:%d/service1/welcome" % b.port)
            T.is_(r.status, 302, "backend redirect passed through")
            T.is_(r.header("Location"), "http://localhost:%d/service1/welcome" % p.port,
                  "ProxyPassReverse / maps the backend's Location back")
            r = get(p, "/service1/sp%20ace")
            T.is_(backend_line(r), "GET /service1/sp%20ace HTTP/1.1", "a decoded space is re-encoded toward the backend")
            b.reset()
            r = get(p, "/service2/x")
            T.is_(r.status, 404, "a path no rule matches is served locally (404)")
            T.is_(len(b.wait_requests(1, timeout=0.3)), 0, "... and the backend saw nothing")


def proxy_balancer():
    with BackendProc("echo") as b1, BackendProc("echo") as b2:
        body = """\
<Proxy balancer://backend>
    BalancerMember http://localhost:{b1} route=backend-port-{b1}
    BalancerMember http://localhost:{b2} route=backend-port-{b2}
    Require all granted
    Options None
</Proxy>
RewriteEngine    On
RewriteRule      ^/service1/(.*)  balancer://backend/service/$1   [proxy,last]
ProxyPassReverse /  balancer://backend/
""".format(b1=b1.port, b2=b2.port)
        with RwPortico(body, start_servers=1, max_workers=1) as p:
            seen = []
            for i in range(4):
                r = get(p, "/service1/p%d?i=%d" % (i, i))
                seen.append(served_by(r))
                T.is_(backend_line(r), "GET /service/p%d?i=%d HTTP/1.1" % (i, i),
                      "[P] to balancer://backend/service/$1: member sees /service/p%d" % i)
            addrs = ["127.0.0.1:%d" % b1.port, "127.0.0.1:%d" % b2.port]
            T.is_(sorted(seen), sorted(addrs * 2), "four requests: two on each member (byrequests)")
            T.ok(seen[0] != seen[1] and seen[1] != seen[2], "the members alternate", seen)
            r = get(p, "/service1/x?status=301&location=http://localhost:%d/service/moved" % b2.port)
            T.is_(r.header("Location"), "http://localhost:%d/service/moved" % p.port,
                  "ProxyPassReverse / balancer://backend/ maps a member's redirect")


def query_flags():
    body = """\
RewriteEngine On
RewriteRule ^/qsa/(.*)   /new/$1?added=1  [R=301,QSA,L]
RewriteRule ^/qsd/(.*)   /new/$1          [R=301,QSD,L]
RewriteRule ^/qsdq/(.*)  /new/$1?own=1    [R=301,QSD,QSA,L]
RewriteRule ^/qm/(.*)    /new/$1?         [R=301,L]
RewriteRule ^/keep/(.*)  /new/$1          [R=301,L]
RewriteRule ^/repl/(.*)  /new/$1?a=b      [R,L]
RewriteRule ^/perm/(.*)  /new/$1          [R=permanent,L]
RewriteRule ^/see/(.*)   /new/$1          [R=seeother,L]
RewriteRule ^/r307/(.*)  /new/$1          [R=307,L]
RewriteRule ^/r308/(.*)  /new/$1          [R=308,L]
"""
    with RwPortico(body) as p:
        base = "http://localhost:%d" % p.port
        cases = [
            ("/qsa/x?orig=2", 301, "/new/x?added=1&orig=2", "QSA appends the original query"),
            ("/qsa/x", 301, "/new/x?added=1", "QSA without an original query"),
            ("/qsd/x?orig=2", 301, "/new/x", "QSD drops the original query"),
            ("/qsdq/x?orig=2", 301, "/new/x?own=1", "QSD beats QSA; the substitution's own query stays"),
            ("/qm/x?orig=2", 301, "/new/x", "a trailing '?' removes the query"),
            ("/keep/x?orig=2", 301, "/new/x?orig=2", "no '?' in the substitution keeps the query"),
            ("/repl/x?orig=2", 302, "/new/x?a=b", "a new query replaces the original (R alone is 302)"),
            ("/perm/x", 301, "/new/x", "R=permanent is 301"),
            ("/see/x", 303, "/new/x", "R=seeother is 303"),
            ("/r307/x", 307, "/new/x", "R=307"),
            ("/r308/x", 308, "/new/x", "R=308"),
        ]
        for path, status, loc, name in cases:
            r = get(p, path)
            T.is_((r.status, r.header("Location")), (status, base + loc), "%s: %s" % (name, path))
        r = get(p, "/see/x")
        T.like(r.body, r'<a href="%s/new/x">' % re.escape(base), "303 body links to the location too")


def escaping():
    body = """\
RewriteEngine On
RewriteRule ^/lit$        /target/a\%20b  [R,L]
RewriteRule ^/litne$      /target/a\%20b  [R,NE,L]
RewriteRule ^/pct2$       /target/a%20b   [R,L]
RewriteRule ^/bne/(.*)$   /target?q=$1    [R,B,NE,L]
RewriteRule ^/frag$       /target#sec     [R,L]
RewriteRule ^/fragne$     /target#sec     [R,NE,L]
RewriteRule ^/back/(.*)$  /target/$1      [R,L]
RewriteRule ^/bflag/(.*)$ /target?q=$1    [R,B,L]
RewriteRule ^/pct/(.*)$   /target/$1      [R,NE,L]
"""
    with RwPortico(body) as p:
        base = "http://localhost:%d" % p.port
        cases = [
            ("/lit", base + "/target/a%2520b", "a literal %20 is escaped again without NE (%2520)"),
            ("/litne", base + "/target/a%20b", "NE leaves %20 alone"),
            ("/frag", base + "/target%23sec", "'#' is escaped without NE"),
            ("/fragne", base + "/target#sec", "NE keeps the fragment"),
            ("/back/a%20b", base + "/target/a%20b", "a decoded space from $1 is escaped once"),
            ("/back/caf%C3%A9", base + "/target/caf%c3%a9", "non-ASCII bytes are escaped in lower-case hex"),
            ("/pct2", base + "/target/a0b", "an unescaped %2 is a (here empty) condition backreference"),
            ("/bflag/a%26b%20c", base + "/target?q=a%2526b+c",
             "B escapes the backreference, then the redirect escapes the query again (as httpd does)"),
            ("/bne/a%26b%20c", base + "/target?q=a%26b+c", "B with NE: & -> %26, space -> +, once"),
            ("/pct/a%2541", base + "/target/a%41", "NE: the decoded path goes out as is"),
        ]
        for path, loc, name in cases:
            r = get(p, path)
            T.is_((r.status, r.header("Location")), (302, loc), "%s: %s" % (name, path))


def status_flags():
    with BackendProc("echo") as b:
        body = """\
RewriteEngine On
RewriteRule ^/secret      -   [F]
RewriteRule ^/old/        -   [G]
RewriteRule ^/missing     -   [R=404]
RewriteRule ^/teapot/x    /ignored [R=403,L]
RewriteRule ^/nc/Admin    -   [NC,F]
RewriteRule ^/svc/private -   [F]
ProxyPass /svc/ http://localhost:{b}/svc/
""".format(b=b.port)
        with RwPortico(body) as p:
            for path, status, name in (("/secret", 403, "F"), ("/secret/deeper", 403, "F (prefix regex)"),
                                       ("/old/page", 410, "G"), ("/missing", 404, "R=404 status only"),
                                       ("/teapot/x", 403, "R=403 ignores the substitution"),
                                       ("/nc/ADMIN", 403, "NC: caseless pattern"),
                                       ("/svc/private", 403, "F before ProxyPass")):
                r = get(p, path)
                T.is_(r.status, status, "%s: %s answers %d" % (name, path, status))
                T.is_(r.header("Location"), None, "%s: no Location" % name)
            r = get(p, "/missing", method="HEAD")
            T.is_((r.status, r.body), (404, b""), "R=404 on HEAD: no body")
            b.reset()
            r = get(p, "/svc/public")
            T.is_(backend_line(r), "GET /svc/public HTTP/1.1", "ProxyPass still proxies what the rules leave alone")
            T.is_(len(b.requests()), 1, "... and only that reached the backend")


def env_flag():
    with BackendProc("echo") as b:
        body = """\
RewriteEngine On
RewriteRule ^/env/(.*)$  -  [E=RW_ENV:$1,E=RW_OTHER]
RewriteRule ^/env/drop   -  [E=!RW_ENV]
RequestHeader set X-Rw-Env "%{{RW_ENV}}e" env=RW_ENV
RequestHeader set X-Rw-Other "set" env=RW_OTHER
ProxyPass /env/ http://localhost:{b}/env/
""".format(b=b.port)
        with RwPortico(body) as p:
            r = get(p, "/env/abc")
            rep = request_report(r)
            T.is_(rep and rep["line"], "GET /env/abc HTTP/1.1", "E= with '-': ProxyPass still proxies")
            T.is_(rep and header_lines(rep, "X-Rw-Env"), ["abc"], "E=RW_ENV:$1 seen by RequestHeader ... env=")
            T.is_(rep and header_lines(rep, "X-Rw-Other"), ["set"], "E=RW_OTHER (no value) sets the variable")
            r = get(p, "/env/drop")
            rep = request_report(r)
            T.is_(rep and header_lines(rep, "X-Rw-Env"), [], "E=!RW_ENV unsets it again")
            T.is_(rep and header_lines(rep, "X-Rw-Other"), ["set"], "... and leaves the others")
            lines = []
            for _ in range(30):
                lines = [l for l in p.access_log().splitlines() if "/env/abc" in l]
                if lines:
                    break
                import time
                time.sleep(0.1)
            T.ok(lines and "rw_env=abc" in lines[-1], "%{RW_ENV}e in the access log", lines)


def cookie_flag():
    body = """\
RewriteEngine On
RewriteRule ^/lang/(..)$  /landing  [R,L,CO=lang:$1:.example.test]
RewriteRule ^/long$       /landing  [R,L,CO=tok:v1:.example.test:0:/app:secure:HttpOnly]
RewriteRule ^/two$        /landing  [R,L,CO=a:1:.example.test,CO=b:2:.example.test]
RewriteRule ^/deny$       -         [F,CO=seen:1:.example.test]
"""
    with RwPortico(body) as p:
        r = get(p, "/lang/fr")
        T.is_(r.status, 302, "CO with R: still a redirect")
        T.is_(r.headers_all("Set-Cookie"), ["lang=fr; path=/; domain=.example.test"],
              "CO=lang:$1:domain: Set-Cookie on the redirect")
        r = get(p, "/long")
        T.is_(r.headers_all("Set-Cookie"), ["tok=v1; path=/app; domain=.example.test; secure; HttpOnly"],
              "CO with path, secure and HttpOnly")
        r = get(p, "/two")
        T.is_(r.headers_all("Set-Cookie"), ["a=1; path=/; domain=.example.test", "b=2; path=/; domain=.example.test"],
              "two CO flags: two Set-Cookie headers")
        r = get(p, "/deny")
        T.is_((r.status, r.headers_all("Set-Cookie")), (403, ["seen=1; path=/; domain=.example.test"]),
              "CO on an F rule: the cookie goes out with the 403")


def passthrough():
    with BackendProc("echo") as b:
        body = """\
RewriteEngine On
RewriteRule ^/old/(.*)    /service/$1 [PT]
RewriteRule ^/nopt/(.*)   /service/$1
RewriteRule ^/alias/(.*)  /service/$1 [PT,L]
RewriteRule ^/ptlocal$    /landing    [PT]
ProxyPass /service/private !
ProxyPass /service/ http://localhost:{b}/service/
""".format(b=b.port)
        with RwPortico(body) as p:
            r = get(p, "/old/x?y=1")
            T.is_(backend_line(r), "GET /service/x?y=1 HTTP/1.1", "[PT] hands the new URI to ProxyPass")
            b.reset()
            r = get(p, "/nopt/x")
            T.is_(r.status, 404, "without PT the result is a local path: ProxyPass does not see it (404)")
            T.is_(len(b.wait_requests(1, timeout=0.3)), 0, "... nothing reached the backend")
            r = get(p, "/alias/private")
            T.is_(r.status, 404, "[PT] into a ProxyPass '!' exclusion: still excluded (local 404)")
            T.is_(len(b.wait_requests(1, timeout=0.3)), 0, "... nothing reached the backend")
            r = get(p, "/service/private")
            T.is_(r.status, 404, "the exclusion holds for the direct URL as well")
            r = get(p, "/alias/public")
            T.is_(backend_line(r), "GET /service/public HTTP/1.1", "[PT] to a proxied path is proxied")
            r = get(p, "/ptlocal")
            T.is_((r.status, r.body), (200, b"landing page\n"),
                  "[PT] to a path no ProxyPass claims: the new URI is served locally")


def vhost_inherit():
    body = """\
RewriteEngine On
RewriteRule ^/main$   /landing?from=main [R,L]
RewriteRule ^/order$  /landing?first=main [R,L]
<VirtualHost *:@PORT@>
    ServerName noinherit.test
    RewriteEngine On
    RewriteRule ^/own$  /landing?from=noinherit [R,L]
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName inherit.test
    RewriteEngine On
    RewriteOptions Inherit
    RewriteRule ^/own$    /landing?from=inherit [R,L]
    RewriteRule ^/order$  /landing?first=vhost [R,L]
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName before.test
    RewriteEngine On
    RewriteOptions InheritBefore
    RewriteRule ^/order$  /landing?first=vhost [R,L]
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName stateonly.test
</VirtualHost>
"""
    with RwPortico(body) as p:
        loc = lambda r: r.header("Location")  # noqa: E731
        r = get(p, "/main", host="noinherit.test")
        T.is_((r.status, loc(r)), (404, None), "vhost without Inherit does not see the main server's rules")
        r = get(p, "/own", host="noinherit.test")
        T.is_(loc(r), "http://noinherit.test/landing?from=noinherit", "... but runs its own")
        r = get(p, "/main", host="inherit.test")
        T.is_(loc(r), "http://inherit.test/landing?from=main", "vhost with Inherit runs the main server's rules")
        r = get(p, "/order", host="inherit.test")
        T.is_(loc(r), "http://inherit.test/landing?first=vhost", "Inherit: the vhost's own rules run first")
        r = get(p, "/order", host="before.test")
        T.is_(loc(r), "http://before.test/landing?first=main", "InheritBefore: the main server's rules run first")
        r = get(p, "/main", host="stateonly.test")
        T.is_((r.status, loc(r)), (404, None), "vhost with no Rewrite* directives: no rules at all")
    body = """\
RewriteEngine On
RewriteOptions InheritDownBefore
RewriteRule ^/main$  /landing?from=main [R,L]
<VirtualHost *:@PORT@>
    ServerName down.test
    RewriteEngine On
    RewriteRule ^/own$  /landing?from=down [R,L]
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName ignore.test
    RewriteEngine On
    RewriteOptions IgnoreInherit
    RewriteRule ^/own$  /landing?from=ignore [R,L]
</VirtualHost>
"""
    with RwPortico(body) as p:
        r = get(p, "/main", host="down.test")
        T.is_(r.header("Location"), "http://down.test/landing?from=main",
              "InheritDownBefore (the tutorial's option): every vhost runs the main rules")
        r = get(p, "/own", host="down.test")
        T.is_(r.header("Location"), "http://down.test/landing?from=down", "... and its own")
        r = get(p, "/main", host="ignore.test")
        T.is_(r.status, 404, "IgnoreInherit: this vhost does not take them")


def next_flag():
    body = """\
RewriteEngine On
RewriteRule ^/n/(.*)-(.*)$  /n/$1_$2   [N]
RewriteRule ^/n/(.*)$       /done/$1   [R,L]
RewriteRule ^/loop/(.*)$    /loop/$1   [N=5]
RewriteRule ^/forever/(.*)$ /forever/$1 [N]
"""
    with RwPortico(body) as p:
        r = get(p, "/n/a-b-c-d")
        T.is_(r.header("Location"), "http://localhost:%d/done/a_b_c_d" % p.port, "N restarts the rules on the result")
        r = get(p, "/loop/x")
        T.is_(r.status, 500, "N=5 on a rule that always matches: 500 after the limit")
        r = get(p, "/forever/x", timeout=20)
        T.is_(r.status, 500, "N without a limit stops at the default limit: 500")
        r = get(p, "/index.html")
        T.is_(r.status, 200, "the worker still serves afterwards")


def chain_skip():
    body = """\
RewriteEngine On
RewriteRule ^/c/(.*)$    -             [C,E=RW_ENV:chained]
RewriteRule ^(.*)$       /landing?c=$1 [R,L]
RewriteRule ^/s/(.*)$    -             [S=1]
RewriteRule ^/s/(.*)$    /landing?skipped=no  [R,L]
RewriteRule ^/s/(.*)$    /landing?skipped=yes [R,L]
RewriteCond %{QUERY_STRING} (^|&)id=(\\d+)
RewriteRule ^/cond$      /landing/%2   [R,L,QSD]
RewriteCond %{HTTP:X-Switch} =on [NC]
RewriteRule ^/hdr$       /landing?switch=on [R,L]
RewriteRule ^/hdr$       /landing?switch=off [R,L]
RewriteRule !^/(c|s|cond|hdr|neg|index|landing)  /landing?neg=1 [R,L]
"""
    with RwPortico(body) as p:
        base = "http://localhost:%d" % p.port
        r = get(p, "/c/x")
        T.is_(r.header("Location"), base + "/landing?c=/c/x", "C: the chained rule runs after a match")
        r = get(p, "/s/x")
        T.is_(r.header("Location"), base + "/landing?skipped=yes", "S=1 skips the next rule")
        r = get(p, "/cond?a=b&id=42")
        T.is_(r.header("Location"), base + "/landing/42", "%2 from the RewriteCond, QSD")
        r = get(p, "/cond?id=x")
        T.is_((r.status, r.header("Location")), (404, None), "condition fails: rule skipped")
        r = get(p, "/hdr", headers=[("X-Switch", "ON")])
        T.is_(r.header("Location"), base + "/landing?switch=on", "%{HTTP:X-Switch} =on [NC]")
        r = get(p, "/hdr")
        T.is_(r.header("Location"), base + "/landing?switch=off", "... header absent: the next rule")
        r = get(p, "/other")
        T.is_(r.header("Location"), base + "/landing?neg=1", "!pattern matches what the regex does not")
        r = get(p, "/landing")
        T.is_((r.status, r.body), (200, b"landing page\n"), "the landing page itself is served")


def trace_log():
    body = """\
RewriteEngine On
RewriteRule ^/trace/(.*)$  /landing  [L]
"""
    with RwPortico(body, loglevel="info rewrite:trace3") as p:
        r = get(p, "/trace/abc")
        T.is_((r.status, r.body), (200, b"landing page\n"), "internal rewrite to a local file")
        import time
        text = ""
        for _ in range(30):
            text = p.error_log()
            if "/trace/abc" in text:
                break
            time.sleep(0.1)
        lines = [l for l in text.splitlines() if "rewrite:trace" in l]
        T.ok(lines, "LogLevel rewrite:trace3 writes [rewrite:traceN] lines to the ErrorLog", text[-2000:])
        T.ok(any("/trace/abc" in l for l in lines), "... naming the URI", lines[-10:])
        T.ok(any(re.search(r"\^/trace/\(\.\*\)\$", l) for l in lines), "... and the pattern (trace3)", lines[-10:])
        T.ok(any(re.search(r"rewrite '/trace/abc' -> '/landing'", l) for l in lines),
             "... and httpd's \"rewrite 'A' -> 'B'\" line (trace2)", lines[-10:])
        T.ok(all(re.search(r"\[rewrite:trace[1-3]\]", l) for l in lines), "... no level above trace3", lines[-5:])
    with RwPortico(body, loglevel="info") as p:
        get(p, "/trace/abc")
        import time
        time.sleep(0.3)
        T.unlike(p.error_log(), r"rewrite:trace", "LogLevel info: no rewrite traces")


def config_errors():
    if not portico_only("portico -t on bad rewrite configs"):
        return
    head = "ServerRoot @DIR@\nListen 127.0.0.1:@PORT@\nServerName localhost\nErrorLog @DIR@/error.log\n" \
           "PidFile @DIR@/p.pid\nDocumentRoot @DIR@/htdocs\nRewriteEngine On\n"
    cases = [
        ("bad flag", "RewriteRule ^/a /b [R,BOGUS]\n", "RewriteRule ^/a", r"RewriteRule: .*unknown flag 'BOGUS'"),
        ("bad flag delimiters", "RewriteRule ^/a /b R,L\n", "RewriteRule ^/a", r"RewriteRule: .*flag delimiters"),
        ("integer CondPattern split in two (httpd reads '80' as the flags)",
         "RewriteCond %{SERVER_PORT} -eq 80\nRewriteRule ^/a /b\n", "RewriteCond", r"RewriteCond: .*flag delimiters"),
        ("bad cond flag", "RewriteCond %{HTTPS} off [XX]\nRewriteRule ^/a /b\n", "RewriteCond",
         r"RewriteCond: .*unknown flag"),
        ("bad regex", "RewriteRule ^/a(( /b [L]\n", "RewriteRule ^/a((", r"RewriteRule: "),
        ("unknown option", "RewriteOptions Frobnicate\n", "RewriteOptions", r"RewriteOptions: .*Frobnicate"),
        ("bad engine", "RewriteEngine maybe\n", "RewriteEngine maybe", r"RewriteEngine: "),
        ("bad redirect code", "RewriteRule ^/a /b [R=299]\n", "RewriteRule ^/a", r"RewriteRule: "),
        ("RewriteRule in <Location>", "<Location /x>\n    RewriteRule ^ /b\n</Location>\n", "    RewriteRule",
         r"RewriteRule: "),
        ("RewriteCond in <Location>", "<Location /x>\n    RewriteCond %{HTTPS} off\n</Location>\n",
         "    RewriteCond", r"RewriteCond: "),
        ("RewriteRule in <Directory>", "<Directory @DIR@/htdocs>\n    RewriteRule ^ /b\n</Directory>\n",
         "    RewriteRule", r"RewriteRule: "),
        ("txt map file missing", "RewriteMap m txt:@DIR@/nope.txt\n", "RewriteMap", r"RewriteMap: .*nope\.txt"),
        ("unknown int map", "RewriteMap m int:frobnicate\n", "RewriteMap", r"RewriteMap: .*frobnicate"),
    ]
    for name, text, needle, msg in cases:
        conf = head + text
        rc, err, path = configtest(conf)
        ln = line_of(conf, needle)
        T.is_(rc, 1, "-t: %s: exit 1" % name) or T.diag(err[-800:])
        T.like(err, r"^%s:%d: %s" % (re.escape(path), ln, msg), "-t: %s: file:%d: and the message" % (name, ln))
    # httpd accepts a rule using a map that is not declared (the lookup fails at run time, the
    # default applies); portico accepts it too, with a file:line warning.
    conf = head + "RewriteRule ^/a /b/${nosuchmap:$1|x} [R]\n"
    rc, err, path = configtest(conf)
    T.is_(rc, 0, "-t: a map used but not declared is accepted (as httpd does)") or T.diag(err)
    T.like(err, r"^%s:%d: .*nosuchmap" % (re.escape(path), line_of(conf, "RewriteRule ^/a")),
           "... with a file:line warning naming the map")
    rc, err, _ = configtest(head + "RewriteRule ^/a /b [R=301,L,QSA,NE,NC]\nRewriteCond %{HTTPS} off [NC,OR]\n"
                            "RewriteCond %{SERVER_PORT} -eq80\nRewriteRule ^/c - [F]\n")
    T.is_((rc, err.strip().splitlines()[-1:]), (0, ["Syntax OK"]), "-t: good rules: Syntax OK")


def review_security():
    """Request data expanded into headers or a backend URL (review fixes)."""
    with BackendProc("echo") as b:
        body = """\
RewriteEngine On
RewriteRule ^/ne/(.*) http://example.com/$1 [R,NE]
RewriteRule ^/host/(.*) http://$1/x [R]
RewriteRule ^/co/(.*) /landing [CO=foo:$1:example.com]
RewriteRule ^/pne/(.*) http://127.0.0.1:%(bp)d/$1 [P,NE]
RewriteRule ^/pq/(.*) http://127.0.0.1:%(bp)d/$1 [P]
RewriteCond %%{QUERY_STRING} p=(.*)
RewriteRule ^/pp http://127.0.0.1:%(bp)d/%%1 [P]
RewriteCond %%{QUERY_STRING} p=(.*)
RewriteRule ^/pt /%%1 [PT]
RewriteRule ^/app/old$ /app/new [PT]
<Proxy http://127.0.0.1:%(bp)d/admin>
    Require all denied
</Proxy>
ProxyPass /admin http://127.0.0.1:%(bp)d/admin
ProxyPass /app http://127.0.0.1:%(bp)d/app nocanon
""" % {"bp": b.port}
        with RwPortico(body) as p:
            def raw(path):
                data = ("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode()
                return raw_exchange(p.port, data)
            for path, name in (("/ne/a%0d%0aX-Injected:%201", "[R,NE] with a decoded CRLF in $1"),
                               ("/host/ev%0d%0aX-Injected:1", "[R] with a CRLF in the host part"),
                               ("/co/a%0d%0aX-Injected:%201", "CO= with a CRLF in $1")):
                r = raw(path)
                T.is_(r.status, 500, "%s: 500 (httpd's check_headers)" % name)
                T.unlike(r.raw.decode("latin-1"), r"(?i)^X-Injected", "%s: no injected header" % name)
                T.unlike(r.raw.decode("latin-1"), r"(?i)^Set-Cookie", "%s: no Set-Cookie" % name)
            r = raw("/pne/a%0d%0aX:%201")
            T.is_((r.status, len(b.requests())), (403, 0), "[P,NE] with a CRLF in the path: 403, nothing sent")
            r = get(p, "/pq/a%23b")
            T.is_((r.status, backend_line(r)), (200, "GET /a%23b HTTP/1.1"), "[P]: a decoded '#' goes out as %23")
            if portico_only("dot-segments in a rewritten path"):
                r = get(p, "/pp?p=x/../admin")
                T.is_(r.status, 403, "[P] to x/../admin: <Proxy .../admin> applies to the resolved path")
                r = get(p, "/pp?p=x/./y/../z")
                T.is_(backend_line(r), "GET /x/z?p=x/./y/../z HTTP/1.1", "[P]: dot-segments resolved")
                r = get(p, "/pt?p=x/../admin/a")
                T.is_(r.status, 403, "[PT] to x/../admin/a: ProxyPass /admin and its <Proxy> apply")
                r = get(p, "/pt?p=../admin")
                T.is_(r.status, 400, "[PT] climbing above the root: 400")
                r = get(p, "/app/old")
                T.is_(backend_line(r), "GET /app/new HTTP/1.1",
                      "[PT] then ProxyPass nocanon: the rewritten path goes out, not the client's")


def main():
    for fn in (tutorial_root_redirect, https_redirect, proxy_last, proxy_balancer, query_flags, escaping,
               status_flags, env_flag, cookie_flag, passthrough, vhost_inherit, next_flag, chain_skip,
               trace_log, config_errors, review_security):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
