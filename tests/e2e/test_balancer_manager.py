#!/usr/bin/env python3
"""balancer-manager end to end, on conf/examples/16-balancer-manager.conf with three real
backends: the page lists the members, ?xml and ?json parse with the right counts, a change
with a wrong or missing nonce (or no same-host Referer) changes nothing, disabling a member
through the form makes the traffic leave it, drain, a new load factor changes the
distribution, a member added in a growth slot receives traffic once enabled, and a real
headless Chromium renders the page and drives the real edit form (skipped, visibly, when
the `chromium` package is not installed).

Requests use a new connection each, so they land on different worker processes: the
changes must reach all of them through the shared memory."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import Conn, T, http_request  # noqa: E402
from backends import BackendProc, ExamplePortico, served_by  # noqa: E402

NS = {"httpd": "http://httpd.apache.org"}
BM = "/balancer-manager"


def get(p, path, headers=None, timeout=10):
    return http_request(p.port, "GET", path, headers=headers, timeout=timeout)


def state(p):
    r = get(p, BM + "?json")
    return json.loads(r.body.decode())


def member(st, url):
    for b in st["balancers"]:
        for m in b["members"]:
            if m["url"] == url:
                return m
    return None


def post(p, fields, referer=True):
    body = urllib.parse.urlencode(fields).encode()
    hdrs = [("Content-Type", "application/x-www-form-urlencoded")]
    if referer:
        hdrs.append(("Referer", "http://localhost:%d%s" % (p.port, BM)))
    return http_request(p.port, "POST", BM, headers=hdrs, body=body, timeout=10)


def counts(p, n, names):
    out = {}
    for _ in range(n):
        r = get(p, "/app/x")
        k = names.get(served_by(r), "?") if r.status == 200 else "status%d" % r.status
        out[k] = out.get(k, 0) + 1
    return out


def page_and_formats(p, urls, nonce):
    r = get(p, BM)
    T.is_(r.status, 200, "GET /balancer-manager: 200")
    T.like(r.header("Content-Type", ""), r"^text/html", "... text/html")
    text = r.body.decode()
    T.like(text, r"LoadBalancer Status for <a [^>]*>balancer://backend</a>", "the page names the balancer")
    for u in urls:
        T.ok(u in text, "the page lists member %s" % u)
    T.ok("?b=backend&amp;w=%s&amp;nonce=%s" % (urllib.parse.quote(urls[0], safe="/:"), nonce) in text,
         "each member has an edit link carrying the nonce")
    T.like(text, r"<td class='status'>Init Ok </td>", "status in httpd's words (Init Ok)")
    T.like(text, r"<td>byrequests</td>", "the lbmethod is shown")

    r = get(p, BM + "?xml")
    T.like(r.header("Content-Type", ""), r"^text/xml", "?xml: text/xml")
    root = ET.fromstring(r.body)
    T.is_(root.tag, "{http://httpd.apache.org}manager", "?xml: httpd:manager root")
    bals = root.findall("httpd:balancers/httpd:balancer", NS)
    T.is_(len(bals), 1, "?xml: one balancer")
    T.is_(bals[0].findtext("httpd:name", None, NS), "balancer://backend", "?xml: its name")
    ws = bals[0].findall("httpd:workers/httpd:worker", NS)
    T.is_(sorted(w.findtext("httpd:name", None, NS) for w in ws), sorted(urls), "?xml: the two workers")
    T.is_(sorted(w.findtext("httpd:route", None, NS) for w in ws), ["one", "two"], "?xml: their routes")
    T.is_(bals[0].findtext("httpd:lbmethod", None, NS), "byrequests", "?xml: lbmethod")

    st = state(p)
    T.is_(len(st["balancers"]), 1, "?json: one balancer")
    b = st["balancers"][0]
    T.is_((b["name"], len(b["members"]), b["growth_free"], b["max_members"]),
          ("balancer://backend", 2, 2, 4), "?json: two members, two free growth slots of four")
    T.is_(sorted(m["url"] for m in b["members"]), sorted(urls), "?json: member URLs")

    r = get(p, BM + "?b=backend&nonce=" + nonce)
    T.like(r.body.decode(), r"<form method='POST' id='edit-balancer'", "?b=: the balancer form")
    T.like(r.body.decode(), r"name='b_nwrkr'", "... with 'Add New Worker' (growth slots free)")
    r = get(p, BM + "?b=backend&w=%s&nonce=%s" % (urllib.parse.quote(urls[0]), nonce))
    t = r.body.decode()
    T.like(t, r"<form method='POST' id='edit-worker'", "?b=&w=: the member's edit form")
    T.ok("name='nonce' id='nonce' value=\"%s\"" % nonce in t, "... carrying the nonce")


def wrong_nonce(p, a_url, nonce):
    before = member(state(p), a_url)
    base = {"b": "backend", "w": a_url, "w_status_D": "1", "w_lf": "7"}
    r = post(p, dict(base, nonce="not-the-nonce"))
    T.is_(r.status, 200, "wrong nonce: the page, 200")
    r = post(p, base)
    T.is_(r.status, 200, "missing nonce: the page, 200")
    r = post(p, dict(base, nonce=nonce), referer=False)
    T.is_(r.status, 200, "right nonce but no Referer: the page, 200")
    after = member(state(p), a_url)
    T.is_((after["status"], after["loadfactor"]), (before["status"], before["loadfactor"]),
          "none of them changed anything")
    T.like(p.error_log(), r"wrong nonce", "the wrong nonce is logged")
    T.like(p.error_log(), r"cross-site access", "the missing Referer is logged")


def disable_drain_factor(p, urls, names, nonce):
    a, b = urls
    r = post(p, {"b": "backend", "w": a, "nonce": nonce, "w_status_D": "1"})
    T.is_(r.status, 200, "disable A through the form: 200")
    T.like(member(state(p), a)["status"], r"Dis", "A now shows Dis")
    c = counts(p, 12, names)
    T.is_(c, {"B": 12}, "A disabled: all 12 requests go to B")
    post(p, {"b": "backend", "w": a, "nonce": nonce, "w_status_D": "0"})
    c = counts(p, 12, names)
    T.is_(c, {"A": 6, "B": 6}, "A enabled again: 6/6")

    post(p, {"b": "backend", "w": b, "nonce": nonce, "w_status_N": "1"})
    T.like(member(state(p), b)["status"], r"Drn", "B now shows Drn")
    c = counts(p, 10, names)
    T.is_(c, {"A": 10}, "B draining: new (non-sticky) requests all go to A")
    post(p, {"b": "backend", "w": b, "nonce": nonce, "w_status_N": "0"})

    post(p, {"b": "backend", "w": a, "nonce": nonce, "w_lf": "3"})
    T.is_(member(state(p), a)["loadfactor"], 3.0, "A's load factor is now 3")
    c = counts(p, 20, names)
    T.is_(c, {"A": 15, "B": 5}, "load factor 3:1: 15/5 over 20 requests")
    post(p, {"b": "backend", "w": a, "nonce": nonce, "w_lf": "1"})
    post(p, {"b": "backend", "nonce": nonce, "b_lbm": "bytraffic"})
    T.is_(state(p)["balancers"][0]["lbmethod"], "bytraffic", "b_lbm changes the balancer's lbmethod")
    post(p, {"b": "backend", "nonce": nonce, "b_lbm": "byrequests", "b_max": "1", "b_tmo": "2"})
    st = state(p)["balancers"][0]
    T.is_((st["lbmethod"], st["maxattempts"], st["timeout"]), ("byrequests", 1, 2),
          "b_lbm, b_max, b_tmo together")


def hostile_inputs(p, urls, nonce):
    """CSRF and input handling: Referer parsing, nonce of another length, routes that are
    not printable ASCII, keep-alive after a POST (Content-Length and chunked), a body over
    the limit, and a path that would make the page's links protocol-relative."""
    b = urls[1]
    base = {"b": "backend", "w": b, "nonce": nonce}
    route0 = member(state(p), b)["route"]

    def post_ref(fields, referer):
        body = urllib.parse.urlencode(fields).encode()
        hdrs = [("Content-Type", "application/x-www-form-urlencoded"), ("Referer", referer)]
        return http_request(p.port, "POST", BM, headers=hdrs, body=body, timeout=10)

    port = p.port
    refused = [("http://localhost@evil.example:%d%s" % (port, BM), "userinfo names localhost, host is evil"),
               ("/x?next=http://localhost:%d%s" % (port, BM), "a relative Referer with a URL in its query"),
               ("http://localhost.evil.example:%d/" % port, "a host that only starts with localhost"),
               ("http://[::1]:%d/" % port, "an IPv6 literal that is not the Host")]
    for ref, what in refused:
        r = post_ref(dict(base, w_wr="csrf"), ref)
        T.is_((r.status, member(state(p), b)["route"]), (200, route0), "Referer refused: " + what)
    r = post_ref(dict(base, w_wr="via-userinfo"), "http://evil.example@localhost:%d%s" % (port, BM))
    T.is_(member(state(p), b)["route"], "via-userinfo", "Referer with userinfo before this host: accepted")
    r = post(p, dict(base, nonce=nonce[:-1], w_wr="short-nonce"))
    T.is_(member(state(p), b)["route"], "via-userinfo", "a nonce one character short: refused")
    r = post(p, dict(base, nonce=nonce + "0", w_wr="long-nonce"))
    T.is_(member(state(p), b)["route"], "via-userinfo", "a nonce one character long: refused")

    for bad, what in (("x\x01y", "a control character"), ("r\xff", "a byte that is not UTF-8"),
                      ("a b", "a blank"), ("<i>", None)):
        body = ("b=backend&w=%s&nonce=%s&w_wr=%s" % (urllib.parse.quote(b, safe=""), nonce,
                urllib.parse.quote(bad.encode("latin-1"), safe=""))).encode()
        hdrs = [("Content-Type", "application/x-www-form-urlencoded"),
                ("Referer", "http://localhost:%d%s" % (port, BM))]
        http_request(p.port, "POST", BM, headers=hdrs, body=body, timeout=10)
        if what is not None:
            T.is_(member(state(p), b)["route"], "via-userinfo", "a route with %s is ignored" % what)
    T.is_(member(state(p), b)["route"], "<i>", "a route with markup is stored ...")
    page = get(p, BM).body.decode()
    T.ok("<i>" not in page and "&lt;i&gt;" in page, "... and escaped in the page")
    xml_ok = True
    try:
        ET.fromstring(get(p, BM + "?xml").body)
    except ET.ParseError:
        xml_ok = False
    T.ok(xml_ok, "... and ?xml still parses")
    T.ok("\\u003ci\\u003e" in get(p, BM + "?json").body.decode(), "... and ?json \\u-escapes it")

    # keep-alive: the POST's body is consumed exactly, the next request on the connection works
    hdrs = [("Content-Type", "application/x-www-form-urlencoded"),
            ("Referer", "http://localhost:%d%s" % (port, BM))]
    with Conn(p.port, timeout=10) as c:
        body = urllib.parse.urlencode(dict(base, w_wr="ka1")).encode()
        r1 = c.request("POST", BM, hdrs, body)
        r2 = c.request("GET", BM + "?json")
        T.is_((r1 and r1.status, r2 and r2.status), (200, 200), "keep-alive: POST then GET on one connection")
        T.is_(json.loads(r2.body.decode())["balancers"][0]["members"][1]["route"] if r2 else None, "ka1",
              "... the GET sees the POST's change")
        body = urllib.parse.urlencode(dict(base, w_wr=route0)).encode()
        chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        r3 = c.request("POST", BM, hdrs + [("Transfer-Encoding", "chunked")], chunked)
        r4 = c.request("GET", BM + "?xml")
        T.is_((r3 and r3.status, r4 and r4.status), (200, 200), "keep-alive: chunked POST then GET")
    T.is_(member(state(p), b)["route"], route0, "the chunked POST's change applied (route restored)")

    with Conn(p.port, timeout=10) as c:
        big = b"w_wr=x&" + b"a" * 20000
        r = c.request("POST", BM, hdrs, big)
        T.is_(r and r.status, 413, "a form body over 16 KB: 413")
        T.ok(c.closed_by_peer(), "... and the connection is closed")

    r = get(p, "//" + BM.lstrip("/"))
    if r.status == 200:
        t = r.body.decode()
        T.ok(re.search(r"(href|action)=\"//", t) is None, "a //path request: no protocol-relative links")
    else:
        T.ok(True, "a //path request is not the manager (%d)" % r.status)


def add_member(p, urls, names, nonce, c_url):
    r = post(p, {"b": "backend", "nonce": nonce, "b_nwrkr": c_url, "b_wyes": "1"})
    T.is_(r.status, 200, "add a member in a growth slot: 200")
    st = state(p)["balancers"][0]
    m = member(state(p), c_url)
    T.ok(m is not None and m["runtime"], "the new member is listed, marked runtime", m)
    T.is_((len(st["members"]), st["growth_free"]), (3, 1), "three members, one growth slot left")
    T.like(m["status"] if m else "", r"Dis", "a new member starts disabled (as httpd)")
    c = counts(p, 6, names)
    T.ok("C" not in c, "... and gets no traffic while disabled", c)
    r = post(p, {"b": "backend", "nonce": nonce, "b_nwrkr": c_url, "b_wyes": "1"})
    T.is_(r.status, 400, "adding the same URL again: 400")
    post(p, {"b": "backend", "w": c_url, "nonce": nonce, "w_status_D": "0", "w_wr": "three"})
    c = counts(p, 30, names)
    T.is_(c, {"A": 10, "B": 10, "C": 10}, "enabled: the runtime member takes its third of 30 requests")
    m = member(state(p), c_url)
    T.is_((m["route"], m["elected"] >= 10), ("three", True), "its route and elected count in ?json")
    T.ok(c_url in get(p, BM + "?xml").body.decode(), "... and in ?xml")


def chromium_run(args, timeout=60):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    prof = tempfile.mkdtemp(prefix="portico-chromium-")
    try:
        cmd = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
               "--disable-dev-shm-usage", "--user-data-dir=" + prof] + args
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=dict(os.environ, HOME=prof), start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, 9)
            out, err = proc.communicate()
        return proc.returncode, out.decode(errors="replace"), err.decode(errors="replace")
    finally:
        shutil.rmtree(prof, ignore_errors=True)


DRIVER = """<!DOCTYPE html>
<html><head><title>driving</title></head><body>
<iframe id="bm" src="%s"></iframe>
<script>
var step = 0;
document.getElementById('bm').onload = function () {
  var doc = this.contentDocument;
  if (step === 0) {
    step = 1;
    doc.getElementById('w_status_D1').checked = true;
    doc.getElementById('edit-worker').submit();
  } else if (step === 1) {
    step = 2;
    var st = doc.querySelectorAll('td.status');
    var txt = [];
    for (var i = 0; i < st.length; i++) txt.push(st[i].textContent);
    document.title = 'submitted';
    var pre = document.createElement('pre');
    pre.id = 'result';
    pre.textContent = txt.join('|');
    document.body.appendChild(pre);
  }
};
</script></body></html>
"""


def chromium(p, urls, names, nonce):
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        T.skip("headless Chromium: page renders", "chromium not installed (Debian package `chromium`)")
        T.skip("headless Chromium: the real form disables a member", "chromium not installed")
        return
    a = urls[0]
    rc, out, err = chromium_run(["--dump-dom", "http://localhost:%d%s" % (p.port, BM)])
    T.like(out, r"LoadBalancer Status for", "Chromium --dump-dom: the page renders") or T.diag(err[-800:])
    T.ok(all(u in out for u in urls), "Chromium: every member is in the DOM")
    T.like(out, r"<table class=\"members\">", "Chromium: the member table parsed as a table")

    edit = "%s?b=backend&w=%s&nonce=%s" % (BM, urllib.parse.quote(a, safe=""), nonce)
    with open(os.path.join(p.dir, "htdocs", "drive.html"), "w") as f:
        f.write(DRIVER % edit)
    before = counts(p, 6, names)
    T.ok(before.get("A", 0) > 0, "before the browser's edit A takes traffic", before)
    rc, out, err = chromium_run(["--virtual-time-budget=15000", "--dump-dom",
                                 "http://localhost:%d/drive.html" % p.port], timeout=90)
    T.like(out, r"<title>submitted</title>", "Chromium submitted the real edit form and loaded the answer") \
        or T.diag(out[-1500:] + err[-800:])
    T.like(out, r"Init Dis ", "... whose page shows the member disabled")
    T.like(member(state(p), a)["status"], r"Dis", "the slot says A is disabled")
    c = counts(p, 12, names)
    T.ok(c.get("A", 0) == 0 and sum(c.values()) == 12 and "?" not in c,
         "after the browser's edit no request goes to A", c)
    T.like(p.access_log(), r"POST /balancer-manager HTTP/1.1\" 200", "the browser's POST is in the access log")


def main():
    with BackendProc("echo") as ba, BackendProc("echo") as bb, BackendProc("echo") as bc:
        names = {ba.addr: "A", bb.addr: "B", bc.addr: "C"}
        urls = ["http://127.0.0.1:%d" % ba.port, "http://127.0.0.1:%d" % bb.port]
        c_url = "http://127.0.0.1:%d" % bc.port
        with ExamplePortico("16-balancer-manager.conf",
                            defines={"BACKEND1_PORT": ba.port, "BACKEND2_PORT": bb.port}) as p:
            st = state(p)
            nonce = st["balancers"][0]["nonce"]
            T.like(nonce, r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$",
                   "the nonce is a random UUID")
            T.section(lambda: page_and_formats(p, urls, nonce))
            T.section(lambda: wrong_nonce(p, urls[0], nonce))
            T.section(lambda: disable_drain_factor(p, urls, names, nonce))
            T.section(lambda: hostile_inputs(p, urls, nonce))
            T.section(lambda: add_member(p, urls, names, nonce, c_url))
            T.section(lambda: chromium(p, urls, names, nonce))
            r = http_request(p.port, "DELETE", BM)
            T.is_(r.status, 405, "DELETE: 405")
            T.ok(re.search(r"AddressSanitizer|runtime error", p.error_log()) is None, "no sanitizer report")
    T.done()


if __name__ == "__main__":
    main()
