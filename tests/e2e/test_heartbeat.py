#!/usr/bin/env python3
"""Heartbeat listener, lbmethod=heartbeat and active health checks, with real backends.

- HeartbeatListen 127.0.0.1:PORT receives httpd mod_heartbeat datagrams from
  tools/portico-heartbeat, one sender per member address (127.0.0.2, .3, .4 ... all on
  loopback; members of lbmethod=heartbeat are matched by IP literal): the traffic follows the
  ready counts (30:10 -> about 3:1, ready=0 -> none), changes when they change, a member never
  heard of gets nothing, and a member silent for more than 10 s is no longer used.
- A real Debian apache2 with mod_heartbeat (HeartbeatAddress 127.0.0.1:PORT) as a backend:
  its beats make it the member that answers; once it is stopped its beats go stale -> 503.
- Health checks (hcmethod=GET hcuri=/health hcinterval=1 hcfails=1 hcpasses=1): a member whose
  /health fails is taken out within about two intervals, and comes back when /health recovers.
- conf/examples/09-heartbeat.conf and 10-healthcheck.conf.

PORTICO_BIN=/usr/sbin/apache2 runs the same file against httpd, but only the health checks:
httpd's HeartbeatListen must be a multicast group (it fails to join 127.0.0.1), portico also
listens on a unicast address. (httpd's mod_heartbeat does send to a unicast 127.0.0.1.)"""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, http_request, wait_until  # noqa: E402
from backends import (BackendProc, ExamplePortico, HeartbeatSender, ApacheBackend, IS_APACHE,  # noqa: E402
                      heartbeat_tool, free_udp_port, lb_base_conf, served_by)

# httpd's heartmonitor hands new data to the balancer every 5 s (HM_UPDATE_SEC); portico at once.
SETTLE = 6.0 if IS_APACHE else 2.0
STALE = 10.0  # lbmethod heartbeat ignores beats older than this

CONF = """
HeartbeatListen 127.0.0.1:{HB}
<Proxy balancer://hb>
    BalancerMember http://127.0.0.2:{P2}
    BalancerMember http://127.0.0.3:{P3}
    BalancerMember http://127.0.0.4:{P4}
    BalancerMember http://127.0.0.5:{P5}
    ProxySet lbmethod=heartbeat
</Proxy>
<Proxy balancer://ap>
    BalancerMember http://127.0.0.1:{AP}
    BalancerMember http://127.0.0.6:{P6}
    ProxySet lbmethod=heartbeat
</Proxy>
<Proxy balancer://hc>
    BalancerMember http://127.0.0.1:{H1} hcmethod=GET hcuri=/health hcinterval=1 hcfails=1 hcpasses=1
    BalancerMember http://127.0.0.1:{H2} hcmethod=GET hcuri=/health hcinterval=1 hcfails=1 hcpasses=1
</Proxy>
ProxyPass /hb/ balancer://hb/
ProxyPass /ap/ balancer://ap/
ProxyPass /hc/ balancer://hc/
"""


def get(p, path, timeout=10):
    return http_request(p.port, "GET", path, timeout=timeout)


def hb_ready(p, host):
    """The ready count portico-status shows in the Heartbeat column of host's member row."""
    for line in p.status().splitlines():
        if host + ":" in line:
            cells = re.findall(r"\s(\d+)/(\d+)\s", line + " ")
            if cells:
                return int(cells[-1][0])
    return None


def spread(p, path, n, names):
    out = {}
    for _ in range(n):
        r = get(p, path)
        k = names.get(served_by(r)) or ("apache" if b"apache backend" in r.body else str(r.status))
        out[k] = out.get(k, 0) + 1
    return out


def set_health(b, ok):
    r = http_request(b.port, "GET", "/_control/health?ok=%d" % (1 if ok else 0))
    return r.status == 200


def main_config():
    tool = heartbeat_tool()
    T.ok(tool, "tools/portico-heartbeat exists (else a stand-in sends the same datagrams)")
    hb = free_udp_port()
    with BackendProc("echo", bind="127.0.0.2") as b2, BackendProc("echo", bind="127.0.0.3") as b3, \
            BackendProc("echo", bind="127.0.0.4") as b4, BackendProc("echo", bind="127.0.0.5") as b5, \
            BackendProc("echo", bind="127.0.0.6") as b6, BackendProc("echo", name="H1") as h1, \
            BackendProc("echo", name="H2", hc_keepalive=1) as h2, ApacheBackend(hb) as apache:
        names = {b2.addr: ".2", b3.addr: ".3", b4.addr: ".4", b5.addr: ".5", b6.addr: ".6",
                 h1.addr: "H1", h2.addr: "H2"}
        conf = CONF.format(HB=hb, P2=b2.port, P3=b3.port, P4=b4.port, P5=b5.port, P6=b6.port,
                           AP=apache.port, H1=h1.port, H2=h2.port)
        senders = {}
        with Portico(conf=lb_base_conf() + conf, base=False) as p:
            try:
                run(p, hb, names, senders, apache, dict(b2=b2, b3=b3, b4=b4, h1=h1, h2=h2))
            finally:
                for s in senders.values():
                    s.stop()
            if not IS_APACHE:  # httpd logs a crit: it cannot join 127.0.0.1 as a multicast group
                T.unlike(p.error_log(), r"[:\[](emerg|crit)\]|AddressSanitizer", "no crash in the error log")


def run(p, hb, names, senders, apache, bk):
    if IS_APACHE:
        # httpd's heartmonitor only joins a multicast group ("AH02072: Failed to join multicast
        # group" for 127.0.0.1), and multicast would leave loopback: only the health checks here.
        T.skip("lbmethod=heartbeat with HeartbeatListen 127.0.0.1", "httpd listens on multicast groups only")
        health_checks(p, names, bk["h1"], bk["h2"])
        return
    senders[".2"] = HeartbeatSender(hb, "127.0.0.2", ready=30, busy=1).start()
    senders[".3"] = HeartbeatSender(hb, "127.0.0.3", ready=10, busy=1).start()
    senders[".4"] = HeartbeatSender(hb, "127.0.0.4", ready=0, busy=5).start()
    up = wait_until(lambda: get(p, "/hb/probe").status == 200, SETTLE + 4, 0.25)
    T.ok(up, "lbmethod=heartbeat: requests are answered once heartbeats arrive")
    time.sleep(1.2)  # every sender has beaten at least once
    d = spread(p, "/hb/x", 200, names)
    T.diag("ready 30/10/0/never: %s" % d)
    T.is_(sum(d.get(k, 0) for k in (".2", ".3")), 200, "ready 30/10/0: every request answered by .2 or .3")
    T.ok(125 <= d.get(".2", 0) <= 178, "ready 30 vs 10: .2 gets about 3/4 of 200 (%d)" % d.get(".2", 0))
    T.is_((d.get(".4", 0), d.get(".5", 0)), (0, 0), "ready=0 and a member never heard of: no traffic")

    # The ready counts change: .2 down to 5, .4 up to 40.
    senders[".2"].stop()
    senders[".4"].stop()
    senders[".2"] = HeartbeatSender(hb, "127.0.0.2", ready=5, busy=1).start()
    senders[".4"] = HeartbeatSender(hb, "127.0.0.4", ready=40, busy=1).start()
    time.sleep(SETTLE)
    # A loaded machine (the ASan run) may take longer than SETTLE to get the new beats into
    # the shared slots: measure only once portico-status shows them.
    T.ok(wait_until(lambda: hb_ready(p, "127.0.0.2") == 5 and hb_ready(p, "127.0.0.4") == 40, 15, 0.25),
         "portico-status shows the new ready counts (5 and 40)")
    d = spread(p, "/hb/y", 200, names)
    T.diag("ready 5/10/40: %s" % d)
    T.ok(118 <= d.get(".4", 0) <= 172, "weights follow the new ready counts: .4 (40 of 55) gets most (%d)"
         % d.get(".4", 0))
    # Weighted random: over 200 requests .2 (mean 18) reaches .3 (mean 36) about once in 120
    # runs; over 400 once in several thousand.
    d2 = spread(p, "/hb/z", 200, names)
    both = {k: d.get(k, 0) + d2.get(k, 0) for k in (".2", ".3", ".4")}
    T.ok(both[".2"] < both[".3"], ".2 (ready 5) now gets less than .3 (ready 10) over 400 requests: %s" % both)

    # The real apache2 with mod_heartbeat.
    T.ok(wait_until(lambda: get(p, "/ap/index.html").status == 200, SETTLE + 4, 0.25),
         "apache2 with mod_heartbeat: its member is chosen once its beats arrive", apache.log()[-1500:])
    d = spread(p, "/ap/index.html", 20, names)
    T.is_(d, {"apache": 20}, "apache2's beats make it the member that answers, the silent .6 gets nothing")
    if not IS_APACHE:
        text = p.status()
        T.like(text, r"127\.0\.0\.1:%d" % apache.port, "portico-status lists the apache member", )

    # Staleness: .3 and apache fall silent; meanwhile the health checks run.
    senders[".3"].stop()
    apache.stop()
    silent_at = time.monotonic()
    health_checks(p, names, bk["h1"], bk["h2"])
    left = silent_at + STALE + (5.5 if IS_APACHE else 1.5) - time.monotonic()
    if left > 0:
        time.sleep(left)
    d = spread(p, "/hb/z", 60, names)
    T.is_(d.get(".3", 0), 0, "no beat from .3 for over 10 s: it gets no traffic (%s)" % d)
    T.is_(d.get(".2", 0) + d.get(".4", 0), 60, "... the members still beating take it all")
    r = get(p, "/ap/index.html")
    T.is_(r.status, 503, "apache2 stopped, its beats stale: the ap balancer has no member left: 503")


def health_checks(p, names, h1, h2):
    d = spread(p, "/hc/a", 10, names)
    T.is_(d, {"H1": 5, "H2": 5}, "health checks: both healthy, both used")
    T.ok(wait_until(lambda: any(e.get("path") == "/health" for e in h1.events() if e["ev"] == "health"), 3),
         "health checks: GET /health reaches the member")
    probe = [e for e in h1.requests() if e["line"].startswith("GET /health ")]
    T.like(probe[-1]["line"] if probe else "", r"^GET /health HTTP/1\.[01]$", "health checks: the probe is GET /health")
    hosts = [l for l in (probe[-1]["headers"] if probe else []) if l.lower().startswith("host:")]
    T.is_(hosts, ["Host: 127.0.0.1:%d" % h1.port], "health checks: Host carries the member's host:port")
    T.ok(set_health(h1, False), "H1's /health now answers 503")
    t0 = time.monotonic()
    gone = wait_until(lambda: spread(p, "/hc/b", 4, names).get("H1", 0) == 0, 5, 0.2)
    T.ok(gone, "health check fails: H1 taken out within %.1f s" % (time.monotonic() - t0))
    d = spread(p, "/hc/c", 10, names)
    T.is_(d, {"H2": 10}, "while H1 fails its check, all requests go to H2")
    if not IS_APACHE:
        from test_balancer_failover import member_row
        row = member_row(p.status(), "balancer://hc", "http://127.0.0.1:%d" % h1.port)
        T.like(row, r"(?i)hcfl|hc.?fail|\bC\b|health", "portico-status shows H1 failing its health check")
    T.ok(set_health(h1, True), "H1's /health answers 200 again")
    t0 = time.monotonic()
    back = wait_until(lambda: spread(p, "/hc/d", 4, names).get("H1", 0) > 0, 5, 0.2)
    T.ok(back, "health check passes again: H1 back within %.1f s" % (time.monotonic() - t0))
    # H2 answers the HTTP/1.0 probe with Content-Length and keeps the connection open (as
    # some servers do): the answer is complete all the same, and the next check is on time.
    t_h2 = [e["t"] for e in h2.requests() if e["line"].startswith("GET /health ")]
    span = (t_h2[-1] - t_h2[0]) if len(t_h2) > 1 else 0
    T.ok(len(t_h2) >= 3 and span / (len(t_h2) - 1) < 1.6,
         "health checks: a member keeping the probe's connection open is still checked every "
         "hcinterval (%d probes over %.1f s)" % (len(t_h2), span))


def example_09():
    if IS_APACHE:
        T.skip("09-heartbeat.conf", "httpd listens on multicast groups only")
        return
    hb = free_udp_port()
    with BackendProc("echo", bind="127.0.0.2") as m1, BackendProc("echo", bind="127.0.0.3") as m2:
        names = {m1.addr: "1", m2.addr: "2"}
        defs = dict(HEARTBEAT_PORT=hb, MEMBER1="127.0.0.2:%d" % m1.port, MEMBER2="127.0.0.3:%d" % m2.port)
        with ExamplePortico("09-heartbeat.conf", defs) as p:
            with HeartbeatSender(hb, "127.0.0.2", ready=20, busy=2), HeartbeatSender(hb, "127.0.0.3", ready=0, busy=9):
                up = wait_until(lambda: http_request(p.port, "GET", "/app/").status == 200, SETTLE + 4, 0.25)
                T.ok(up, "09: answered once the members' heartbeats arrive")
                time.sleep(1.2)
                d = spread(p, "/app/x", 20, names)
                T.is_(d, {"1": 20}, "09: member 1 (ready 20) takes all, member 2 (ready 0, all busy) none")


def example_10():
    with BackendProc("echo") as m1, BackendProc("echo") as m2:
        names = {m1.addr: "1", m2.addr: "2"}
        with ExamplePortico("10-healthcheck.conf", dict(BACKEND1_PORT=m1.port, BACKEND2_PORT=m2.port)) as p:
            d = spread(p, "/app/a", 6, names)
            T.is_(d, {"1": 3, "2": 3}, "10: both members healthy and used")
            set_health(m2, False)
            gone = wait_until(lambda: spread(p, "/app/b", 4, names).get("2", 0) == 0, 5, 0.2)
            T.ok(gone, "10: member 2's /health fails: no more traffic to it")
            set_health(m2, True)
            back = wait_until(lambda: spread(p, "/app/c", 4, names).get("2", 0) > 0, 5, 0.2)
            T.ok(back, "10: /health passes again: member 2 back")
            probes = [e for e in m2.requests() if "/health" in e["line"] and "/_control/" not in e["line"]]
            T.ok(probes and all(e["line"].startswith("GET /health ") for e in probes),
                 "10: the probes are GET /health (%d seen)" % len(probes))


def main():
    for fn in (main_config, example_09, example_10):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
