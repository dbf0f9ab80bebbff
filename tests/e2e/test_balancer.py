#!/usr/bin/env python3
"""balancer:// distribution with real backends: byrequests (1:1 strict alternation over 20
sequential requests, 3:1 -> 15/5 in httpd's exact order), bytraffic (a member that moved many
bytes is avoided until the others catch up), bybusyness (a member with a request in flight is
avoided), lbset tiers, hot standby (+H), drain (+N: sticky traffic only) and disabled (+D:
nothing at all), and conf/examples/06-balancer.conf (the tutorial's two-member balancer with
routes).

Each request uses a new client connection, so consecutive requests land on different portico
worker processes: the alternation only holds when the lbstatus arithmetic is shared (shm) and
the selection is serialised across processes.

PORTICO_BIN=/usr/sbin/apache2 runs the same file against httpd (check of the expectations)."""
import os
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, http_request  # noqa: E402
from backends import (BackendProc, ExamplePortico, IS_APACHE, lb_base_conf, served_by,  # noqa: E402
                      dead_port, request_report)

CONF = """
<Proxy balancer://rr>
    BalancerMember http://127.0.0.1:{A}
    BalancerMember http://127.0.0.1:{B}
</Proxy>
<Proxy balancer://w31>
    BalancerMember http://127.0.0.1:{A} loadfactor=3
    BalancerMember http://127.0.0.1:{B} loadfactor=1
</Proxy>
<Proxy balancer://traffic>
    BalancerMember http://127.0.0.1:{A}
    BalancerMember http://127.0.0.1:{B}
    ProxySet lbmethod=bytraffic
</Proxy>
<Proxy balancer://busy>
    BalancerMember http://127.0.0.1:{A}
    BalancerMember http://127.0.0.1:{B}
    ProxySet lbmethod=bybusyness
</Proxy>
<Proxy balancer://tiers>
    BalancerMember http://127.0.0.1:{A} lbset=0
    BalancerMember http://127.0.0.1:{B} lbset=0
    BalancerMember http://127.0.0.1:{C} lbset=1
</Proxy>
<Proxy balancer://tiersdown>
    BalancerMember http://127.0.0.1:{X} lbset=0 retry=60
    BalancerMember http://127.0.0.1:{C} lbset=1
</Proxy>
<Proxy balancer://standby>
    BalancerMember http://127.0.0.1:{A}
    BalancerMember http://127.0.0.1:{D} status=+H
</Proxy>
<Proxy balancer://standbyup>
    BalancerMember http://127.0.0.1:{X} retry=60
    BalancerMember http://127.0.0.1:{D} status=+H
</Proxy>
<Proxy balancer://drain>
    BalancerMember http://127.0.0.1:{A} route=a
    BalancerMember http://127.0.0.1:{B} route=b
    BalancerMember http://127.0.0.1:{D} route=d status=+N
    ProxySet stickysession=ROUTEID
</Proxy>
<Proxy balancer://disabled>
    BalancerMember http://127.0.0.1:{A} route=a
    BalancerMember http://127.0.0.1:{B} route=b
    BalancerMember http://127.0.0.1:{D} route=d status=+D
    ProxySet stickysession=ROUTEID
</Proxy>
ProxyPass /rr/ balancer://rr/
ProxyPass /w31/ balancer://w31/
ProxyPass /traffic/ balancer://traffic/
ProxyPass /busy/ balancer://busy/
ProxyPass /tiers/ balancer://tiers/
ProxyPass /tiersdown/ balancer://tiersdown/
ProxyPass /standby/ balancer://standby/
ProxyPass /standbyup/ balancer://standbyup/
ProxyPass /drain/ balancer://drain/
ProxyPass /disabled/ balancer://disabled/
"""


def get(p, path, headers=None, timeout=10):
    return http_request(p.port, "GET", path, headers=headers, timeout=timeout)


def sequence(p, path, n, names, headers=None, pause=0.0):
    """n sequential requests, each on a new connection; the backend names in order ('?' for a
    response that no known backend sent)."""
    out, statuses = [], []
    for _ in range(n):
        if pause and out:
            time.sleep(pause)
        r = get(p, path, headers)
        statuses.append(r.status)
        out.append(names.get(served_by(r), "?"))
    return out, statuses


def byrequests(p, names):
    seq, st = sequence(p, "/rr/x", 20, names)
    T.is_(st, [200] * 20, "byrequests 1:1: 20 sequential requests answered 200")
    T.is_("".join(seq), "AB" * 10, "byrequests 1:1: strict alternation A B A B ... over 20 requests")
    seq, st = sequence(p, "/w31/x", 20, names)
    T.is_((seq.count("A"), seq.count("B")), (15, 5), "byrequests 3:1: 15/5 over 20 requests")
    # lbstatus walk with factors 300/100: A(300,100) A(200,200: tie -> first) B(100,300) A(400,0)
    T.is_("".join(seq), "AABA" * 5, "byrequests 3:1: httpd's order A A B A, repeated")


def bytraffic(p, names):
    r = get(p, "/traffic/big?size=300000")
    first = names.get(served_by(r), "?")
    T.is_((r.status, len(r.body)), (200, 300000), "bytraffic: a 300 kB answer")
    T.is_(first, "A", "bytraffic: the first request goes to the first member (all at 0 bytes)")
    seq, st = sequence(p, "/traffic/small", 10, names)
    T.is_("".join(seq), "B" * 10, "bytraffic: the next 10 small requests all go to the member with fewer bytes")
    r = get(p, "/traffic/big2?size=300000")
    T.is_(names.get(served_by(r), "?"), "B", "bytraffic: a big one too, while B is still behind")
    T.is_(r.status, 200, "bytraffic: ... answered in full")


def bybusyness(p, names, backends):
    for b in backends.values():
        b.reset()
    result = {}

    def slow():
        try:
            # long enough that the 6 requests below finish first even under ASan on a slow host
            result["r"] = get(p, "/busy/slow?sleep_ms=6000", timeout=20)
        except Exception as e:  # noqa: BLE001
            result["e"] = e
    th = threading.Thread(target=slow, daemon=True)
    th.start()
    holder = None
    deadline = time.monotonic() + 5
    while holder is None and time.monotonic() < deadline:
        for n, b in backends.items():
            if any("/slow?" in e["line"] for e in b.requests()):
                holder = n
        time.sleep(0.05)
    T.ok(holder in ("A", "B"), "bybusyness: the slow request reached a member (%s)" % holder)
    # A short pause between requests: the worker that answered the previous one releases
    # its member's busy count just after the client has the last byte (as httpd does, in
    # the request pool cleanup), and bybusyness must not be judged on that instant.
    seq, st = sequence(p, "/busy/fast", 6, names, pause=0.1)
    other = "B" if holder == "A" else "A"
    T.is_("".join(seq), other * 6,
          "bybusyness: while %s has a request in flight, 6 fast requests all go to %s" % (holder, other))
    th.join(20)
    T.is_(result.get("r") and result["r"].status, 200, "bybusyness: the slow request completed (%r)"
          % result.get("e"))
    seq, st = sequence(p, "/busy/fast", 4, names)
    T.ok(holder in seq, "bybusyness: once idle again, %s takes requests again (%s)" % (holder, seq))


def tiers(p, names):
    seq, st = sequence(p, "/tiers/x", 10, names)
    T.is_(st, [200] * 10, "lbset: 10 requests answered")
    T.is_((seq.count("A"), seq.count("B"), seq.count("C")), (5, 5, 0),
          "lbset: lbset 0 members share the traffic, the lbset 1 member gets none")
    seq, st = sequence(p, "/tiersdown/x", 5, names)
    T.is_(st, [200] * 5, "lbset: the only lbset 0 member refuses connections: still 200")
    T.is_(seq, ["C"] * 5, "lbset: ... served by the lbset 1 member")


def standby(p, names):
    seq, st = sequence(p, "/standby/x", 10, names)
    T.is_(seq, ["A"] * 10, "hot standby (+H): unused while a normal member is usable")
    seq, st = sequence(p, "/standbyup/x", 5, names)
    T.is_(st, [200] * 5, "hot standby: the normal member is down: still 200")
    T.is_(seq, ["D"] * 5, "hot standby: ... served by the +H member")


def drain_disabled(p, names):
    seq, st = sequence(p, "/drain/x", 12, names)
    T.is_(st, [200] * 12, "drain (+N): 12 requests without a route answered")
    T.is_(seq.count("D"), 0, "drain (+N): none of them reaches the draining member")
    T.is_((seq.count("A"), seq.count("B")), (6, 6), "drain (+N): the other two share them")
    seq, st = sequence(p, "/drain/x", 4, names, headers=[("Cookie", "ROUTEID=.d")])
    T.is_(seq, ["D"] * 4, "drain (+N): requests whose sticky route names it still reach it")
    seq, st = sequence(p, "/drain/x", 4, names, headers=[("Cookie", "ROUTEID=.a")])
    T.is_(seq, ["A"] * 4, "drain: sticky to another member unaffected")

    seq, st = sequence(p, "/disabled/x", 12, names)
    T.is_(seq.count("D"), 0, "disabled (+D): no request without a route reaches it")
    seq, st = sequence(p, "/disabled/x", 4, names, headers=[("Cookie", "ROUTEID=.d")])
    T.is_(st, [200] * 4, "disabled (+D): a sticky route naming it is answered (failover)")
    T.is_(seq.count("D"), 0, "disabled (+D): ... but not by the disabled member")


def distribution():
    with BackendProc("echo", name="A") as a, BackendProc("echo", name="B") as b, \
            BackendProc("echo", name="C") as c, BackendProc("echo", name="D") as d:
        bk = dict(A=a, B=b, C=c, D=d)
        names = {x.addr: n for n, x in bk.items()}
        conf = CONF.format(A=a.port, B=b.port, C=c.port, D=d.port, X=dead_port())
        with Portico(conf=lb_base_conf() + conf, base=False) as p:
            for fn, args in ((byrequests, (p, names)), (bytraffic, (p, names)),
                             (bybusyness, (p, names, dict(A=a, B=b))), (tiers, (p, names)),
                             (standby, (p, names)), (drain_disabled, (p, names))):
                T.section(fn, *args)
            T.unlike(p.error_log(), r"AddressSanitizer|[:\[](emerg|crit)\]", "no crash or emergency in the error log")


def example_06():
    """The tutorial's step 7 (ProxyPass form until the rewrite issue brings RewriteRule [P])."""
    with BackendProc("echo", name="8000") as b1, BackendProc("echo", name="8001") as b2:
        defs = dict(BACKEND1_PORT=b1.port, BACKEND2_PORT=b2.port)
        with ExamplePortico("06-balancer.conf", defs) as p:
            names = {b1.addr: "1", b2.addr: "2"}
            seq = []
            for _ in range(6):
                r = http_request(p.port, "GET", "/service1/index.html", host="localhost:%d" % p.port)
                seq.append(names.get(served_by(r), "?"))
                rep = request_report(r)
            T.is_("".join(seq), "121212", "06: /service1/ alternates between the two members")
            T.is_(rep and rep["line"], "GET /service/index.html HTTP/1.1",
                  "06: /service1/index.html reaches the backend as /service/index.html")
            r = http_request(p.port, "GET", "/service1/login?status=302&location=http://localhost:%d/service/welcome"
                             % b2.port, host="localhost:%d" % p.port)
            T.is_(r.status, 302, "06: a backend redirect is passed on")
            T.like(r.header("Location") or "", r"^http://localhost:%d/service/welcome$" % p.port,
                   "06: ProxyPassReverse / balancer://backend/ maps any member's URL back to the proxy")
            log = p.access_log()
            T.like(log, r"worker=http://localhost:%d route=backend-port-%d" % (b1.port, b1.port),
                   "06: access log names member and route (BALANCER_WORKER_NAME/ROUTE)")
            r = http_request(p.port, "GET", "/index.html")
            T.is_((r.status, r.body), (200, b"local\n"), "06: /index.html is served locally")


def main():
    if IS_APACHE:
        T.diag("running against httpd: %s" % os.environ.get("PORTICO_BIN"))
    for fn in (distribution, example_06):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
