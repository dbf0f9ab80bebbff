#!/usr/bin/env python3
"""Core per-directory settings in sections: LimitRequestBody, DirectoryIndex,
AddDefaultCharset and AddType inside <Location>/<Directory> apply to the requests those
sections match, as in httpd (the most specific section wins over the server's value).
LimitRequestBody also limits proxied request bodies, which httpd does not do.

Valid for httpd too (PORTICO_BIN=/usr/sbin/apache2)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, http_request  # noqa: E402
from backends import BackendProc  # noqa: E402
from test_rewrite import rw_conf, get, portico_only  # noqa: E402


def post(p, path, n):
    return http_request(p.port, "POST", path, body=b"x" * n, host="localhost:%d" % p.port,
                        timeout=10.0)


def main():
    with BackendProc("echo") as b:
        body = """\
TypesConfig /etc/mime.types
LimitRequestBody 100000
AddDefaultCharset Off
<Location /up/small>
    LimitRequestBody 10
</Location>
<Location /up/free>
    LimitRequestBody 0
</Location>
ProxyPass /up/ http://localhost:{b}/up/
<Directory @DIR@/htdocs/docs>
    DirectoryIndex start.html
    AddDefaultCharset utf-8
</Directory>
<Location /types>
    AddType application/x-portico .zz
</Location>
""".format(b=b.port)
        files = {"index.html": "root\n", "docs/start.html": "<p>start</p>\n",
                 "docs/index.html": "not me\n", "types/a.zz": "zz\n", "plain.zz": "zz\n",
                 "docs/readme.txt": "text\n"}
        with Portico(conf=rw_conf(body, extra_modules=("dir", "mime")), base=False, files=files) as p:
            # httpd never applies LimitRequestBody to reverse-proxied requests (ap_http_filter
            # skips it when r->proxyreq is set); portico does, per section.
            if portico_only("LimitRequestBody on proxied requests, per <Location>"):
                r = post(p, "/up/small/x", 20)
                T.is_(r.status, 413, "<Location> LimitRequestBody 10: a 20-byte body gets 413")
                r = post(p, "/up/other", 20)
                T.ok(r.status != 413, "the server's 100000 applies elsewhere (%d)" % r.status)
                r = post(p, "/up/free/x", 200000)
                T.ok(r.status != 413,
                     "LimitRequestBody 0 in a <Location> lifts the server's limit (%d)" % r.status)
                r = post(p, "/up/other", 200000)
                T.is_(r.status, 413, "... which still holds outside it")

            r = get(p, "/docs/")
            T.is_((r.status, r.body), (200, b"<p>start</p>\n"),
                  "<Directory> DirectoryIndex start.html picks start.html")
            r = get(p, "/")
            T.is_((r.status, r.body), (200, b"root\n"), "the default index.html elsewhere")
            r = get(p, "/docs/readme.txt")
            T.is_(r.header("Content-Type"), "text/plain; charset=utf-8",
                  "<Directory> AddDefaultCharset utf-8 applies to text/plain")
            r = get(p, "/docs/start.html")
            T.is_(r.header("Content-Type"), "text/html; charset=utf-8", "... and to text/html")
            r = get(p, "/index.html")
            T.is_(r.header("Content-Type"), "text/html", "server AddDefaultCharset Off elsewhere")

            r = get(p, "/types/a.zz")
            T.is_(r.header("Content-Type"), "application/x-portico",
                  "<Location> AddType maps .zz inside it")
            r = get(p, "/plain.zz")
            T.ok(r.header("Content-Type") != "application/x-portico",
                 "... and not outside it (%r)" % r.header("Content-Type"))
    T.done()


if __name__ == "__main__":
    main()
