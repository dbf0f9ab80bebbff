#!/usr/bin/env python3
"""The SecRule subset end to end: the tutorial's hashed-IP sticky routing (step 8) with clients
on distinct 127.0.0.x source addresses, the engine switch, deny/status, chains, transformations,
operators, and `portico -t` errors. Semantics are ModSecurity v2's (apache-behaviour.md
section 9).

With PORTICO_BIN=/usr/sbin/apache2 the file runs against httpd + mod_security2 when
libapache2-mod-security2 is installed (and skips visibly otherwise)."""
import hashlib
import os
import re
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, Conn, HarnessError  # noqa: E402
from backends import BackendProc, request_report, header_lines, served_by, IS_APACHE  # noqa: E402
from test_rewrite import rw_conf, configtest, line_of, portico_only  # noqa: E402

MODSEC_SO = "/usr/lib/apache2/modules/mod_security2.so"


class SrcConn(Conn):
    """A client connection from a chosen loopback source address (127.0.0.x)."""

    def __init__(self, port, src, timeout=5.0):
        self.timeout = timeout
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(src, 0))
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False


def get_from(p, src, path, method="GET", headers=None):
    hdrs = list(headers or []) + [("Connection", "close")]
    with SrcConn(p.port, src) as c:
        r = c.request(method, path, hdrs, None, "HTTP/1.1", "localhost:%d" % p.port)
    if r is None:
        raise HarnessError("no response for %s from %s" % (path, src))
    return r


def hashchar(ip):
    return hashlib.sha1(ip.encode()).hexdigest()[0]


def SecPortico(body, **kw):
    # httpd's mod_security2 refuses to work without mod_unique_id (portico has no such module).
    mods = ("unique_id", "security2") if IS_APACHE else ("security2",)
    return Portico(conf=rw_conf(body, extra_modules=mods, **kw), base=False,
                   files={"index.html": "local index\n", "landing": "landing\n"})


def access_lines(p, needle, timeout=3.0):
    deadline = time.monotonic() + timeout
    for _ in range(100):
        lines = [l for l in p.access_log().splitlines() if needle in l]
        if lines or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)
    return []


CLIENTS = ["127.0.0.%d" % i for i in range(1, 17)]


def sticky_iphash():
    with BackendProc("echo") as b0, BackendProc("echo") as b1, BackendProc("echo") as b2:
        # Half the hex digits go to b1 or b2; the rest are not in the map: the default (b0).
        mapping = {}
        for ch in "0123456789abcdef":
            if ch in "02468":
                mapping[ch] = b1
            elif ch in "13579ace":
                mapping[ch] = b2
        text = "# hash char -> backend\n" + "".join("%s localhost:%d\n" % (ch, b.port) for ch, b in sorted(mapping.items()))
        body = """\
SecRuleEngine On
SecRule REMOTE_ADDR "^(.)" \\
    "phase:1,id:1,capture,nolog,pass,t:sha1,t:hexEncode,setenv:IPHashChar=%{{TX.1}}"
RewriteEngine On
RewriteMap hashchar2backend "txt:@DIR@/hashchar2backend.txt"
RewriteCond "%{{ENV:IPHashChar}}" ^(.)
RewriteRule ^/service1/(.*) \\
    http://${{hashchar2backend:%1|localhost:{d}}}/service1/$1 [proxy,last]
<Proxy http://localhost:{d}/service1>
    Require all granted
</Proxy>
""".format(d=b0.port)
        p = SecPortico(body)
        p.dirfiles = {"hashchar2backend.txt": text}
        with p:
            want_default = 0
            for ip in CLIENTS:
                ch = hashchar(ip)
                exp = mapping.get(ch, b0)
                want_default += exp is b0
                got = [served_by(get_from(p, ip, "/service1/page?ip=%s" % ip)) for _ in range(2)]
                T.is_(got, ["127.0.0.1:%d" % exp.port] * 2,
                      "client %s (sha1 hex starts with %s) lands on %s, twice" %
                      (ip, ch, "the map's backend" if exp is not b0 else "the default (map miss)"))
            T.ok(want_default > 0, "some clients hit the default (map miss)")
            r = get_from(p, "127.0.0.2", "/service1/x/y?z=1")
            rep = request_report(r)
            T.is_(rep and rep["line"], "GET /service1/x/y?z=1 HTTP/1.1", "the backend sees the path and query")
            T.is_(rep and header_lines(rep, "X-Forwarded-For"), ["127.0.0.2"], "... and the client's address")
            lines = access_lines(p, "ip=127.0.0.3 ")
            T.ok(lines and ("hash=%s" % hashchar("127.0.0.3")) in lines[-1],
                 "IPHashChar (%s for 127.0.0.3) in the access log as %%{IPHashChar}e" % hashchar("127.0.0.3"),
                 lines)
            r = get_from(p, "127.0.0.4", "/index.html")
            T.is_((r.status, r.body), (200, b"local index\n"), "paths outside the rule are served locally")


def engine_modes():
    with BackendProc("echo") as b:
        rules = """\
SecRule REMOTE_ADDR "^(.)" "phase:1,id:2,nolog,pass,t:sha1,t:hexEncode,setenv:NoCapture=%{{TX.1}}x"
SecRule REMOTE_ADDR "^(.)" "phase:1,id:1,capture,nolog,pass,t:sha1,t:hexEncode,setenv:IPHashChar=%{{TX.1}}"
SecRule REMOTE_ADDR "^(.)" "phase:1,id:4,nolog,pass,t:none,setenv:LeftOver=%{{TX.1}}"
RequestHeader set X-LeftOver "%{{LeftOver}}e" env=LeftOver
SecRule REQUEST_URI "@beginsWith /svc/blocked" "phase:1,id:3,deny,status:403,nolog"
RequestHeader set X-Hash "%{{IPHashChar}}e" env=IPHashChar
RequestHeader set X-NoCapture "%{{NoCapture}}e" env=NoCapture
ProxyPass /svc/ http://localhost:{b}/svc/
""".format(b=b.port)
        for mode in ("On", "Off", "DetectionOnly", None):
            body = ("SecRuleEngine %s\n" % mode if mode else "") + rules
            label = mode or "(no SecRuleEngine: Off)"
            with SecPortico(body) as p:
                r = get_from(p, "127.0.0.5", "/svc/a")
                rep = request_report(r)
                if mode in ("On", "DetectionOnly"):
                    T.is_(rep and header_lines(rep, "X-Hash"), [hashchar("127.0.0.5")],
                          "SecRuleEngine %s: setenv with capture -> %%{TX.1}" % label)
                    T.is_(rep and header_lines(rep, "X-NoCapture"), ["x"],
                          "SecRuleEngine %s: without capture (and no capture before) %%{TX.1} is empty" % label)
                    T.is_(rep and header_lines(rep, "X-LeftOver"), [hashchar("127.0.0.5")],
                          "SecRuleEngine %s: a later rule without capture sees the earlier rule's TX.1" % label)
                else:
                    T.is_(rep and (header_lines(rep, "X-Hash"), header_lines(rep, "X-NoCapture")), ([], []),
                          "SecRuleEngine %s: rules do not run, no env" % label)
                b.reset()
                r = get_from(p, "127.0.0.5", "/svc/blocked/x")
                if mode == "On":
                    T.is_(r.status, 403, "SecRuleEngine On: deny,status:403")
                    T.is_(len(b.wait_requests(1, timeout=0.3)), 0, "... the backend saw nothing")
                else:
                    T.is_(r.status, 200, "SecRuleEngine %s: deny not enforced" % label)


def operators():
    with BackendProc("echo") as b:
        body = """\
SecRuleEngine On
SecRule REQUEST_HEADERS:User-Agent "@contains badbot" "phase:1,id:10,t:lowercase,deny,status:403,nolog"
SecRule REQUEST_METHOD "@streq POST" "phase:1,id:11,chain,deny,status:405,nolog"
    SecRule REQUEST_URI "@beginsWith /svc/ro/"
SecRule REMOTE_ADDR "@ipMatch 127.0.0.9,127.0.0.10" "phase:1,id:12,deny,status:403,nolog"
SecRule REQUEST_URI "@endsWith .bak" "phase:1,id:13,deny,status:404,nolog"
SecRule REQUEST_URI "!@beginsWith /svc/" "phase:1,id:14,pass,nolog,setenv:OutsideSvc=1"
SecRule ARGS_GET:token "@rx ^[0-9a-f]{{4}}$" "phase:1,id:15,pass,nolog,t:trim,setenv:TokenOk=%{{MATCHED_VAR}}"
SecRule REQUEST_HEADERS:X-Key "@streq secret" "phase:1,id:16,t:urlDecode,t:md5,t:hexEncode,pass,nolog,setenv:Never=1"
SecRule REQUEST_HEADERS:X-Key "@streq 5ebe2294ecd0e0f08eab7690d2a6ee69" "phase:1,id:17,t:md5,t:hexEncode,pass,nolog,setenv:KeyMd5=ok"
RequestHeader set X-Outside "1" env=OutsideSvc
RequestHeader set X-Token "%{{TokenOk}}e" env=TokenOk
RequestHeader set X-KeyMd5 "%{{KeyMd5}}e" env=KeyMd5
RewriteEngine On
RewriteCond %{{ENV:OutsideSvc}} =1
RewriteRule ^/out/(.*)$ http://localhost:{b}/out/$1 [P,L]
ProxyPass /svc/ http://localhost:{b}/svc/
""".format(b=b.port)
        with SecPortico(body) as p:
            r = get_from(p, "127.0.0.5", "/svc/x", headers=[("User-Agent", "Mozilla BadBot/1.0")])
            T.is_(r.status, 403, "t:lowercase + @contains on REQUEST_HEADERS:User-Agent: deny")
            r = get_from(p, "127.0.0.5", "/svc/x", headers=[("User-Agent", "curl/8")])
            T.is_(r.status, 200, "... another agent passes")
            r = get_from(p, "127.0.0.5", "/svc/ro/x", method="POST", headers=[("Content-Length", "0")])
            T.is_(r.status, 405, "chain: POST and /svc/ro/ -> status:405")
            r = get_from(p, "127.0.0.5", "/svc/ro/x")
            T.is_(r.status, 200, "chain: GET /svc/ro/ passes")
            r = get_from(p, "127.0.0.5", "/svc/rw/x", method="POST", headers=[("Content-Length", "0")])
            T.is_(r.status, 200, "chain: POST elsewhere passes")
            for ip, st in (("127.0.0.9", 403), ("127.0.0.10", 403), ("127.0.0.11", 200)):
                r = get_from(p, ip, "/svc/x")
                T.is_(r.status, st, "@ipMatch 127.0.0.9,127.0.0.10: client %s -> %d" % (ip, st))
            r = get_from(p, "127.0.0.5", "/svc/db.bak")
            T.is_(r.status, 404, "@endsWith .bak -> status:404")
            r = get_from(p, "127.0.0.5", "/out/x")
            rep = request_report(r)
            T.is_(rep and rep["line"], "GET /out/x HTTP/1.1", "!@beginsWith sets env for other paths; RewriteCond uses it")
            T.is_(rep and header_lines(rep, "X-Outside"), ["1"], "... RequestHeader env= sees it")
            r = get_from(p, "127.0.0.5", "/svc/x")
            rep = request_report(r)
            T.is_(rep and header_lines(rep, "X-Outside"), [], "negated operator does not fire on /svc/")
            r = get_from(p, "127.0.0.5", "/svc/t?token=%20beef%20")
            rep = request_report(r)
            T.is_(rep and header_lines(rep, "X-Token"), ["beef"],
                  "ARGS_GET:token, t:trim before @rx; %{MATCHED_VAR} is the transformed value")
            r = get_from(p, "127.0.0.5", "/svc/t", headers=[("X-Key", "secret")])
            rep = request_report(r)
            T.is_(rep and header_lines(rep, "X-KeyMd5"), ["ok"], "t:md5,t:hexEncode then @streq")


def config_errors():
    if not portico_only("portico -t on bad SecRule configs"):
        return
    head = "ServerRoot @DIR@\nListen 127.0.0.1:@PORT@\nServerName localhost\nErrorLog @DIR@/error.log\n" \
           "PidFile @DIR@/p.pid\nDocumentRoot @DIR@/htdocs\nSecRuleEngine On\n"
    cases = [
        ("unknown operator", 'SecRule REMOTE_ADDR "@frobnicate x" "phase:1,id:1,pass"\n', "SecRule",
         r"SecRule: .*frobnicate"),
        ("unknown action", 'SecRule REMOTE_ADDR "^(.)" "phase:1,id:1,pass,explode"\n', "SecRule",
         r"SecRule: .*explode"),
        ("unknown transformation", 'SecRule REMOTE_ADDR "^(.)" "phase:1,id:1,pass,t:rot13x"\n', "SecRule",
         r"SecRule: .*rot13x"),
        ("unknown variable", 'SecRule RESPONSE_BODY "x" "phase:1,id:1,pass"\n', "SecRule",
         r"SecRule: .*RESPONSE_BODY"),
        ("missing id", 'SecRule REMOTE_ADDR "^(.)" "phase:1,pass"\n', "SecRule", r"SecRule: .*id"),
        ("duplicate id", 'SecRule REMOTE_ADDR "^a" "phase:1,id:7,pass"\nSecRule REMOTE_ADDR "^b" "phase:1,id:7,pass"\n',
         'SecRule REMOTE_ADDR "^b"', r"SecRule: .*same id"),
        ("bad engine", "SecRuleEngine Sometimes\n", "SecRuleEngine Sometimes", r"SecRuleEngine: "),
        ("bad regex", 'SecRule REMOTE_ADDR "^((" "phase:1,id:1,pass"\n', "SecRule", r"SecRule: "),
    ]
    for name, text, needle, msg in cases:
        conf = head + text
        rc, err, path = configtest(conf)
        ln = line_of(conf, needle) if needle != "SecRule" else line_of(conf, "SecRule ")
        T.is_(rc, 1, "-t: %s: exit 1" % name) or T.diag(err[-800:])
        T.like(err, r"^%s:%d: %s" % (re.escape(path), ln, msg), "-t: %s: file:%d: and the message" % (name, ln))
    conf = head + 'SecRule REMOTE_ADDR "^(.)" "phase:1,id:1,nolog,pass,t:sha1,t:hexEncode,setenv:IPHashChar=%{TX.1}"\n'
    rc, err, path = configtest(conf)
    T.is_(rc, 0, "-t: %{TX.1} without capture is accepted") or T.diag(err)
    T.like(err, r"(?i)capture", "... with a warning about the missing capture action")
    conf = head + ("LoadModule security2_module /usr/lib/apache2/modules/mod_security2.so\n"
                   'SecRule REMOTE_ADDR "^(.)" "phase:1,id:1,capture,nolog,pass,t:sha1,t:hexEncode,setenv:IPHashChar=%{TX.1}"\n')
    rc, err, path = configtest(conf)
    T.is_((rc, err.strip().splitlines()[-1:]), (0, ["Syntax OK"]), "-t: LoadModule security2_module + the tutorial's rule: Syntax OK")
    T.unlike(err, r"(?i)capture", "... no capture warning when the rule has it")


def main():
    if IS_APACHE and not os.path.exists(MODSEC_SO):
        print("1..0 # SKIP httpd without mod_security2 (libapache2-mod-security2 not installed)")
        return
    for fn in (sticky_iphash, engine_modes, operators, config_errors):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
