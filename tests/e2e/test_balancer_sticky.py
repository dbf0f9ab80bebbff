#!/usr/bin/env python3
"""Sticky sessions on balancer://: the route from a cookie (`NAME=session.route`, the `.route`
convention; no separator -> no route), from a URL parameter (path `;name=` and query), the
`COOKIE|param` alternative names (each used only where it belongs, names case-sensitive), the
URL parameter winning over the cookie, the route of a dead member failing over (or 503 with
nofailover=On), the manual's Set-Cookie recipe (Header add Set-Cookie ... env=
BALANCER_ROUTE_CHANGED), the BALANCER_* variables in the access log, and
conf/examples/07-sticky.conf.

PORTICO_BIN=/usr/sbin/apache2 runs the same file against httpd (check of the expectations;
httpd >= 2.4.62 no longer reads the sticky parameter from the query string, portico does, as
the manual describes: that one check is skipped for httpd)."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, http_request  # noqa: E402
from backends import BackendProc, ExamplePortico, IS_APACHE, lb_base_conf, served_by, dead_port  # noqa: E402

CONF = """
<Proxy balancer://sticky>
    BalancerMember http://127.0.0.1:{A} route=r1
    BalancerMember http://127.0.0.1:{B} route=r2
    BalancerMember http://127.0.0.1:{C} route=r3
    ProxySet stickysession=JSESSIONID|jsessionid
</Proxy>
<Proxy balancer://deadroute>
    BalancerMember http://127.0.0.1:{A} route=r1
    BalancerMember http://127.0.0.1:{X} route=rx retry=60
    ProxySet stickysession=JSESSIONID|jsessionid
</Proxy>
<Proxy balancer://nofail>
    BalancerMember http://127.0.0.1:{A} route=r1
    BalancerMember http://127.0.0.1:{X} route=rx retry=60
    ProxySet stickysession=JSESSIONID|jsessionid nofailover=On
</Proxy>
<Proxy balancer://recipe>
    BalancerMember http://127.0.0.1:{A} route=1
    BalancerMember http://127.0.0.1:{B} route=2
    ProxySet stickysession=ROUTEID
</Proxy>
<Proxy balancer://recipedead>
    BalancerMember http://127.0.0.1:{A} route=1
    BalancerMember http://127.0.0.1:{X} route=2 retry=60
    ProxySet stickysession=ROUTEID
</Proxy>
ProxyPass /sticky/ balancer://sticky/
ProxyPass /deadroute/ balancer://deadroute/
ProxyPass /nofail/ balancer://nofail/
ProxyPass /recipe/ balancer://recipe/
ProxyPass /recipedead/ balancer://recipedead/
<LocationMatch "^/recipe(dead)?/">
    Header add Set-Cookie "ROUTEID=.%{{BALANCER_WORKER_ROUTE}}e; path=/" env=BALANCER_ROUTE_CHANGED
</LocationMatch>
"""


def get(p, path, cookie=None):
    return http_request(p.port, "GET", path, headers=[("Cookie", cookie)] if cookie else None, timeout=10)


def members(p, names, path, n, cookie=None):
    out = []
    for _ in range(n):
        r = get(p, path, cookie)
        out.append(names.get(served_by(r), str(r.status)))
    return out


def log_line(p, marker, timeout=3.0):
    """The access log line of the request whose URL contains marker."""
    deadline = time.monotonic() + timeout
    while True:
        for line in p.access_log().splitlines():
            if marker in line:
                return line
        if time.monotonic() > deadline:
            return ""
        time.sleep(0.1)


def cookie_routes(p, names):
    T.is_(members(p, names, "/sticky/c1", 6, "JSESSIONID=abc.r2"), ["B"] * 6,
          "cookie JSESSIONID=abc.r2: 6 requests, all to route r2")
    T.is_(members(p, names, "/sticky/c2", 3, "a=1; JSESSIONID=xyz.r3; b=2"), ["C"] * 3,
          "cookie among others: route r3")
    T.is_(members(p, names, "/sticky/c3", 3, "JSESSIONID=xyz.r1"), ["A"] * 3, "route r1")
    seq = members(p, names, "/sticky/nosep", 6, "JSESSIONID=abcdef")
    T.cmp_ok(len(set(seq)), ">", 1, "a session value without '.' has no route: balanced (%s)" % seq)
    seq = members(p, names, "/sticky/wrongcase", 6, "jsessionid=abc.r2")
    T.cmp_ok(len(set(seq)), ">", 1, "cookie names are case-sensitive and the cookie is JSESSIONID (%s)" % seq)
    seq = members(p, names, "/sticky/unknown", 6, "JSESSIONID=abc.nosuchroute")
    T.is_(sorted(set(seq)), ["A", "B", "C"], "a route no member has: balanced over all")


def url_routes(p, names):
    T.is_(members(p, names, "/sticky/p1;jsessionid=abc.r3", 4), ["C"] * 4,
          "path parameter ;jsessionid=abc.r3: route r3")
    T.is_(members(p, names, "/sticky/p2;jsessionid=abc.r3", 3, "JSESSIONID=abc.r1"), ["C"] * 3,
          "the URL parameter wins over the cookie")
    seq = members(p, names, "/sticky/p3;JSESSIONID=abc.r3", 6)
    T.cmp_ok(len(set(seq)), ">", 1, "the URL parameter is jsessionid (case-sensitive): ;JSESSIONID= is not (%s)" % seq)
    if IS_APACHE:
        T.skip("query parameter ?jsessionid=", "httpd >= 2.4.62 searches the path only")
    else:
        T.is_(members(p, names, "/sticky/q1?x=1&jsessionid=abc.r2", 4), ["B"] * 4,
              "query parameter ?jsessionid=abc.r2: route r2")
        T.is_(members(p, names, "/sticky/q2?jsessionid=abc.r2&y=2", 2), ["B"] * 2,
              "query parameter followed by another one")


def failover(p, names):
    seq = members(p, names, "/deadroute/d1", 4, "JSESSIONID=abc.rx")
    T.is_(seq, ["A"] * 4, "the route's member refuses connections: the request goes to another member")
    line = log_line(p, "/deadroute/d1")
    T.like(line, r" 200 .*sroute=rx changed=1", "... logged with BALANCER_SESSION_ROUTE=rx, BALANCER_ROUTE_CHANGED=1")
    r = get(p, "/nofail/n1", "JSESSIONID=abc.rx")
    T.is_(r.status, 503, "nofailover=On: the route's member is down: 503")
    T.is_(served_by(r), None, "... made by the proxy")
    r = get(p, "/nofail/n2", "JSESSIONID=abc.rx")
    T.is_(r.status, 503, "nofailover=On: again 503 while it is in error")
    T.is_(members(p, names, "/nofail/n3", 3, "JSESSIONID=abc.r1"), ["A"] * 3, "nofailover=On: a live route works")
    T.is_(members(p, names, "/nofail/n4", 3), ["A"] * 3, "nofailover=On: requests without a route are balanced")


def recipe(p, names):
    r = get(p, "/recipe/first")
    who = names.get(served_by(r))
    route = {"A": "1", "B": "2"}.get(who)
    T.ok(route, "recipe: the first request is served (by %s)" % who)
    T.is_(r.headers_all("Set-Cookie"), ["ROUTEID=.%s; path=/" % route],
          "recipe: first request (no route): Set-Cookie ROUTEID=.<route of the member>")
    cookie = "ROUTEID=.%s" % route
    seqs, cookies = [], []
    for _ in range(5):
        r = get(p, "/recipe/again", cookie)
        seqs.append(names.get(served_by(r)))
        cookies += r.headers_all("Set-Cookie")
    T.is_(seqs, [who] * 5, "recipe: with the cookie, 5 more requests go to the same member")
    T.is_(cookies, [], "recipe: ... and no new Set-Cookie (route unchanged)")
    other = "2" if route == "1" else "1"
    r = get(p, "/recipe/other", "ROUTEID=.%s" % other)
    T.is_(names.get(served_by(r)), {"1": "A", "2": "B"}[other], "recipe: cookie for the other route: that member")
    T.is_(r.headers_all("Set-Cookie"), [], "recipe: ... no Set-Cookie")
    r = get(p, "/recipedead/x", "ROUTEID=.2")
    T.is_((r.status, names.get(served_by(r))), (200, "A"), "recipe: route of a dead member: another member")
    T.is_(r.headers_all("Set-Cookie"), ["ROUTEID=.1; path=/"], "recipe: ... and a new cookie for its route")


def env_in_log(p, names, ports):
    get(p, "/sticky/env-sticky", "JSESSIONID=s1.r2")
    get(p, "/sticky/env-param;jsessionid=s1.r3")
    get(p, "/sticky/env-none")
    line = log_line(p, "/sticky/env-sticky")
    T.like(line, r" 200 name=balancer://sticky worker=http://127\.0\.0\.1:%d route=r2 sticky=JSESSIONID "
           r"sroute=r2 changed=-$" % ports["B"], "log: cookie route -> BALANCER_NAME, _WORKER_NAME, "
           "_WORKER_ROUTE, _SESSION_STICKY, _SESSION_ROUTE, no _ROUTE_CHANGED")
    line = log_line(p, "/sticky/env-param")
    T.like(line, r" 200 name=balancer://sticky worker=http://127\.0\.0\.1:%d route=r3 sticky=jsessionid "
           r"sroute=r3 changed=-$" % ports["C"], "log: URL parameter -> BALANCER_SESSION_STICKY=jsessionid")
    line = log_line(p, "/sticky/env-none")
    T.like(line, r" 200 name=balancer://sticky worker=http://127\.0\.0\.1:\d+ route=r\d sticky=- sroute=- changed=1$",
           "log: no route -> BALANCER_ROUTE_CHANGED=1, no session variables")


def main_config():
    with BackendProc("echo", name="A") as a, BackendProc("echo", name="B") as b, \
            BackendProc("echo", name="C") as c:
        bk = dict(A=a, B=b, C=c)
        names = {x.addr: n for n, x in bk.items()}
        ports = {n: x.port for n, x in bk.items()}
        conf = CONF.format(A=a.port, B=b.port, C=c.port, X=dead_port())
        with Portico(conf=lb_base_conf() + conf, base=False) as p:
            for fn, args in ((cookie_routes, (p, names)), (url_routes, (p, names)), (failover, (p, names)),
                             (recipe, (p, names)), (env_in_log, (p, names, ports))):
                T.section(fn, *args)


def example_07():
    with BackendProc("echo") as b1, BackendProc("echo") as b2:
        names = {b1.addr: "1", b2.addr: "2"}
        with ExamplePortico("07-sticky.conf", dict(BACKEND1_PORT=b1.port, BACKEND2_PORT=b2.port)) as p:
            r = http_request(p.port, "GET", "/app/")
            who = names.get(served_by(r))
            T.is_(r.status, 200, "07: GET /app/ proxied")
            T.is_(r.headers_all("Set-Cookie"), ["ROUTEID=.%s; path=/" % who],
                  "07: the first answer sets ROUTEID=.<route> (routes are 1 and 2)")
            seq, cookies = [], []
            for _ in range(6):
                r = http_request(p.port, "GET", "/app/page", headers=[("Cookie", "ROUTEID=.%s" % who)])
                seq.append(names.get(served_by(r)))
                cookies += r.headers_all("Set-Cookie")
            T.is_(seq, [who] * 6, "07: the browser's next requests stay on member %s" % who)
            T.is_(cookies, [], "07: no further Set-Cookie")
            r = http_request(p.port, "GET", "/app/x;routeid=abc.2")
            T.is_(names.get(served_by(r)), "2", "07: the ;routeid= path parameter (for clients without cookies)")
            T.like(log_line(p, "/app/page"), r"route=%s sticky=ROUTEID" % who,
                   "07: the access log shows route and sticky name")


def main():
    for fn in (main_config, example_07):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
