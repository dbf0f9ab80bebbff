#!/usr/bin/env python3
"""TLS on the front end (issue 8): `Listen ... https` + SSLEngine virtual hosts with throwaway
certificates made at run time (tests/e2e/certs.py). Checks the handshake with `openssl
s_client` and Python's ssl module, SNI choosing the certificate (and no SNI -> the first
vhost's), 421 for a Host naming another TLS vhost than the SNI, the protocol floor (TLS 1.0/1.1
refused, 1.2 and 1.3 accepted, SSLProtocol), ALPN http/1.1, plain HTTP to the TLS port (400
with httpd's text), %{HTTPS}/%{SSL:...}/REQUEST_SCHEME seen by RewriteRule and RequestHeader
at the backend, X-Forwarded-Proto https, the access log's %{SSL_PROTOCOL}x, the http -> https
redirect followed end to end, keep-alive over TLS, a silent or garbage handshake not blocking
other clients beyond its deadline, and session resumption across connections (also when
another worker serves the resumed connection)."""
import os
import re
import socket
import ssl
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, Conn, raw_exchange, http_request  # noqa: E402
from backends import BackendProc, request_report, header_lines  # noqa: E402
from certs import Pki, openssl_offers  # noqa: E402
from tlsutil import (TLSConn, full_conf, client_ctx, https_request, s_client, tls_handshake_error,  # noqa: E402
                     wait_for)

PKI = None
A = B = None

VHOSTS = """
@LOGFORMAT@
CustomLog @DIR@/tls_access.log tlslog
Listen 127.0.0.1:@PORT1@ https
<VirtualHost 127.0.0.1:@PORT1@>
    ServerName a.test
    ServerAlias www.a.test
    SSLEngine on
    SSLCertificateFile @A_CRT@
    SSLCertificateKeyFile @A_KEY@
    DocumentRoot @DIR@/htdocs/a
    RewriteEngine On
    RewriteRule ^/app/ - [E=HTTPSVAL:%{HTTPS},E=TLSPROTO:%{SSL:SSL_PROTOCOL},E=SCHEME:%{REQUEST_SCHEME}]
    RequestHeader set X-Https "%{HTTPSVAL}e"
    RequestHeader set X-Tls-Proto "%{TLSPROTO}e"
    RequestHeader set X-Scheme "%{SCHEME}e"
    RequestHeader set X-Cipher "%{SSL_CIPHER}s"
    RequestHeader set X-Forwarded-Proto https
    ProxyPass /app/ http://127.0.0.1:@BACKEND@/
</VirtualHost>
<VirtualHost 127.0.0.1:@PORT1@>
    ServerName b.test
    ServerAlias www.b.test
    SSLEngine on
    SSLCertificateFile @B_CRT@
    SSLCertificateKeyFile @B_KEY@
    DocumentRoot @DIR@/htdocs/b
</VirtualHost>
# the plain listener (the main server): %{HTTPS} is off here, and /secure/ goes to https
RewriteEngine On
RewriteRule ^/secure/(.*)$ https://a.test:@PORT1@/app/$1 [R=301,L]
RewriteRule ^/app/ - [E=HTTPSVAL:%{HTTPS},E=SCHEME:%{REQUEST_SCHEME}]
RequestHeader set X-Https "%{HTTPSVAL}e"
RequestHeader set X-Scheme "%{SCHEME}e"
ProxyPass /app/ http://127.0.0.1:@BACKEND@/
"""

PLAIN_LOG = 'LogFormat "%h pid=%P \\"%r\\" %>s" tlslog'
SSL_LOG = ('LogFormat "%h pid=%P proto=%{SSL_PROTOCOL}x cipher=%{SSL_CIPHER}x resumed=%{SSL_SESSION_RESUMED}x '
           'sni=%{SSL_TLS_SNI}x https=%{HTTPS}x \\"%r\\" %>s" tlslog')

FILES = {"index.html": "main\n", "a/index.html": "site a\n", "b/index.html": "site b\n"}


def vhost_conf(backend_port, extra="", ssl_log=False):
    text = VHOSTS
    for k, v in (("A_CRT", A.cert), ("A_KEY", A.key), ("B_CRT", B.cert), ("B_KEY", B.key), ("BACKEND", backend_port)):
        text = text.replace("@%s@" % k, str(v))
    return full_conf(text.replace("@LOGFORMAT@", PLAIN_LOG if not ssl_log else SSL_LOG) + extra)


def vctx(**kw):
    return client_ctx(ca=PKI.ca_cert, **kw)


def tls_port(p):
    return p.ports[1]


# --------------------------------------------------------------------------------------------
def handshake_s_client(p):
    req = b"GET /index.html HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n"
    rc, out = s_client(tls_port(p), ["-servername", "a.test", "-CAfile", PKI.ca_cert, "-verify_return_error",
                                     "-ign_eof"], stdin=req)
    T.like(out, r"Verify return code: 0 \(ok\)", "s_client: certificate chain verifies against the test CA")
    T.like(out, r"HTTP/1\.1 200 ", "s_client: GET / over TLS answers 200")
    T.like(out, r"site a", "s_client: a.test's DocumentRoot served")
    T.like(out, r"subject=CN ?= ?a\.test", "s_client: the server certificate is a.test's")
    T.like(out, r"New, TLSv1\.3", "s_client: TLS 1.3 negotiated by default")


def handshake_python(p):
    with TLSConn(tls_port(p), sni="a.test", ctx=vctx()) as c:
        T.ok(c.version in ("TLSv1.2", "TLSv1.3"), "python ssl: handshake verified, version %s" % c.version)
        r = c.request("GET", "/index.html", host="a.test", headers=[("Connection", "close")])
        T.is_((r.status, r.body), (200, b"site a\n"), "python ssl: GET / -> 200 from a.test")
        T.ok(c.closed_by_peer(3), "python ssl: Connection: close honoured (server closes)")


def sni(p):
    port = tls_port(p)
    cases = [("a.test", "a.test", b"site a\n"), ("www.a.test", "a.test", b"site a\n"),
             ("b.test", "b.test", b"site b\n"), ("www.b.test", "b.test", b"site b\n")]
    for name, cn, body in cases:
        with TLSConn(port, sni=name, ctx=vctx()) as c:
            got_cn, sans = c.peer_names()
            T.is_(got_cn, cn, "SNI %s: certificate CN=%s" % (name, cn))
            T.ok(name in sans, "SNI %s: the name is in the certificate's SAN %r" % (name, sans))
            r = c.request("GET", "/index.html", host=name, headers=[("Connection", "close")])
            T.is_((r.status, r.body), (200, body), "SNI %s: served by %s's vhost" % (name, cn))
    # no SNI at all: the first vhost on the address supplies the certificate
    with TLSConn(port, sni=None, ctx=client_ctx()) as c:
        T.is_(c.peer_names()[0], "a.test", "no SNI: the default (first) vhost's certificate")
        r = c.request("GET", "/index.html", host="a.test", headers=[("Connection", "close")])
        T.is_((r.status, r.body), (200, b"site a\n"), "no SNI, Host a.test: served")
    with TLSConn(port, sni="unknown.test", ctx=client_ctx()) as c:
        T.is_(c.peer_names()[0], "a.test", "SNI naming no vhost: the default vhost's certificate")
    # Host naming another TLS vhost than the SNI chose: 421 Misdirected Request
    with TLSConn(port, sni="a.test", ctx=vctx()) as c:
        r = c.request("GET", "/index.html", host="b.test", headers=[("Connection", "close")])
        T.is_(r.status, 421, "SNI a.test + Host b.test -> 421 Misdirected Request")
        T.unlike(r.body, r"site b", "421: b.test's content not served through a.test's handshake")


def _refused(err):
    return err is not None


def protocol_floor(p):
    port = tls_port(p)
    for name, ver in (("TLS 1.0", ssl.TLSVersion.TLSv1), ("TLS 1.1", ssl.TLSVersion.TLSv1_1)):
        ctx = client_ctx(min_version=ver, max_version=ver, legacy=True)
        err = tls_handshake_error(port, ctx, sni="a.test")
        msg = str(err)
        if err is not None and re.search(r"NO_PROTOCOLS_AVAILABLE|no protocols available", msg, re.I):
            T.skip("python ssl: %s refused" % name, "the local OpenSSL cannot offer %s (%s)" % (name, msg))
            continue
        T.ok(err is not None, "python ssl: %s handshake refused by the default SSLProtocol" % name,
             "handshake succeeded" if err is None else None)
        T.diag("%s: %s" % (name, msg))
    for name, ver in (("TLS 1.2", ssl.TLSVersion.TLSv1_2), ("TLS 1.3", ssl.TLSVersion.TLSv1_3)):
        with TLSConn(port, sni="a.test", ctx=vctx(min_version=ver, max_version=ver)) as c:
            r = c.request("GET", "/index.html", host="a.test", headers=[("Connection", "close")])
            T.is_((c.version, r.status), (name.replace(" ", "v"), 200), "python ssl: %s accepted" % name)
    for flag, name in (("-tls1_1", "TLSv1.1"), ("-tls1", "TLSv1")):
        if not openssl_offers(flag):
            T.skip("s_client %s refused" % flag, "this openssl has no %s" % flag)
            continue
        rc, out = s_client(port, [flag, "-cipher", "DEFAULT@SECLEVEL=0", "-servername", "a.test"],
                           stdin=b"")
        if re.search(r"no protocols available|unsupported protocol.*client|wrong ssl version", out, re.I) and \
                "alert protocol version" not in out:
            T.skip("s_client %s refused" % flag, "the local OpenSSL cannot offer %s" % name)
            continue
        T.ok(rc != 0 and not re.search(r"New, %s," % re.escape(name), out) and "Cipher is (NONE)" in out,
             "s_client %s: handshake refused" % flag, out[-1200:])


def protocol_config():
    """SSLProtocol -all +TLSv1.3: a TLS-1.2-only client is refused, 1.3 accepted."""
    with BackendProc("echo") as be:
        with Portico(base=False, conf=vhost_conf(be.port).replace("    SSLEngine on\n", "    SSLEngine on\n    SSLProtocol -all +TLSv1.3\n", 1),
                     files=FILES, nports=2) as p:
            err = tls_handshake_error(tls_port(p), client_ctx(max_version=ssl.TLSVersion.TLSv1_2), sni="a.test")
            T.ok(err is not None, "SSLProtocol -all +TLSv1.3: a TLS 1.2 client is refused", "handshake succeeded")
            err = tls_handshake_error(tls_port(p), client_ctx(min_version=ssl.TLSVersion.TLSv1_3), sni="a.test")
            T.ok(err is None, "SSLProtocol -all +TLSv1.3: a TLS 1.3 client is accepted", str(err))


def alpn(p):
    with TLSConn(tls_port(p), sni="a.test", ctx=vctx(alpn=["h2", "http/1.1"])) as c:
        T.is_(c.alpn(), "http/1.1", "ALPN: offered h2 + http/1.1, http/1.1 selected")
        r = c.request("GET", "/index.html", host="a.test", headers=[("Connection", "close")])
        T.is_(r.status, 200, "ALPN http/1.1 connection serves HTTP/1.1")
    rc, out = s_client(tls_port(p), ["-servername", "a.test", "-alpn", "http/1.1"], stdin=b"")
    T.like(out, r"ALPN protocol: http/1\.1", "s_client -alpn http/1.1: selected")


def plain_http(p):
    t0 = time.monotonic()
    r = raw_exchange(tls_port(p), b"GET /index.html HTTP/1.1\r\nHost: a.test\r\n\r\n", timeout=8)
    T.ok(r is not None and r.status == 400, "plain HTTP to the TLS port -> 400", repr(r))
    if r is None:
        return
    T.ok(time.monotonic() - t0 < 4, "plain HTTP: answered at once, not after a handshake deadline")
    T.like(r.body, r"You're speaking plain HTTP to an SSL-enabled server port\.<br />\s*\n\s*Instead use the HTTPS "
           r"scheme to access this URL, please\.<br />", "plain HTTP: httpd's explanation in the body")
    T.like(r.body, r"<title>400 Bad Request</title>", "plain HTTP: httpd's 400 page")


def variables(p, be):
    r = https_request(tls_port(p), "GET", "/app/vars", host="a.test", ctx=vctx())
    T.is_(r.status, 200, "TLS vhost proxies /app/ to the backend")
    rep = request_report(r) or {"headers": []}
    T.is_(header_lines(rep, "X-Https"), ["on"], "%{HTTPS} is on in RewriteRule [E=] -> RequestHeader")
    proto = header_lines(rep, "X-Tls-Proto")
    T.ok(proto in (["TLSv1.3"], ["TLSv1.2"]), "%%{SSL:SSL_PROTOCOL} at the backend: %r" % proto)
    T.is_(header_lines(rep, "X-Scheme"), ["https"], "%{REQUEST_SCHEME} is https")
    cipher = header_lines(rep, "X-Cipher")
    T.ok(len(cipher) == 1 and re.match(r"^[A-Z0-9_-]+$", cipher[0]) and "null" not in cipher[0].lower(),
         "RequestHeader %%{SSL_CIPHER}s gives the cipher: %r" % cipher)
    T.is_(header_lines(rep, "X-Forwarded-Proto"), ["https"], "RequestHeader set X-Forwarded-Proto https")
    r = http_request(p.port, "GET", "/app/vars")
    rep = request_report(r) or {"headers": []}
    T.is_(header_lines(rep, "X-Https"), ["off"], "plain listener: %{HTTPS} is off")
    T.is_(header_lines(rep, "X-Scheme"), ["http"], "plain listener: %{REQUEST_SCHEME} is http")
    T.is_(header_lines(rep, "X-Forwarded-Proto"), [], "plain listener: no X-Forwarded-Proto https")


def redirect_e2e(p, be):
    r = http_request(p.port, "GET", "/secure/page?x=1", host="a.test")
    loc = r.header("Location") or ""
    T.is_((r.status, loc), (301, "https://a.test:%d/app/page?x=1" % tls_port(p)),
          "plain listener: 301 to the https listener")
    u = urllib.parse.urlsplit(loc)
    if u.scheme != "https":
        return
    r2 = https_request(u.port, "GET", u.path + ("?" + u.query if u.query else ""), host=u.netloc,
                       sni=u.hostname, ctx=vctx())
    rep = request_report(r2) or {}
    T.is_((r2.status, rep.get("line")), (200, "GET /page?x=1 HTTP/1.1"),
          "redirect followed over TLS: the backend answers")
    T.is_(header_lines(rep, "X-Forwarded-Proto") if rep else None, ["https"],
          "followed request reaches the backend with X-Forwarded-Proto https")


def keepalive(p, be):
    with TLSConn(tls_port(p), sni="a.test", ctx=vctx()) as c:
        statuses, conns = [], set()
        for i in range(6):
            r = c.request("GET", "/app/ka?i=%d" % i, host="a.test")
            statuses.append(r.status if r else None)
            if r is not None:
                conns.add(r.header("X-Backend-Conn"))
                if i == 5:
                    T.isnt((r.header("Connection") or "").lower(), "close", "TLS keep-alive: no Connection: close")
        T.is_(statuses, [200] * 6, "TLS keep-alive: 6 requests on one TLS connection")
        T.is_(len(conns), 1, "TLS keep-alive: one worker served them (one backend connection reused)")
        r = c.request("GET", "/index.html", host="a.test", headers=[("Connection", "close")])
        T.is_((r.status, r.body), (200, b"site a\n"), "TLS keep-alive: a local file after proxied requests")


def slow_handshakes_many_workers(p):
    """Three silent and two garbage connections do not stop another client being served."""
    port = tls_port(p)
    hold = []
    try:
        for _ in range(3):
            hold.append(socket.create_connection(("127.0.0.1", port), timeout=5))
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03")  # a ClientHello cut short
        hold.append(s)
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.sendall(b"\x00\xff\x13junk junk junk\r\n\r\n" * 4)
        hold.append(s)
        time.sleep(0.3)
        t0 = time.monotonic()
        r = https_request(port, "GET", "/index.html", host="a.test", ctx=vctx(), timeout=10)
        el = time.monotonic() - t0
        T.is_(r.status, 200, "another client is served while 5 connections stall or send junk")
        T.cmp_ok(el, "<", 2.0, "... at once (%.2f s), not after their deadline" % el)
        # the junk connection is dropped at once, not kept to the deadline
        junk = hold.pop()
        junk.settimeout(3)
        t0 = time.monotonic()
        try:
            data = junk.recv(4096)
            while data and time.monotonic() - t0 < 3:
                data = junk.recv(4096)
            closed = True
        except socket.timeout:
            closed = False
        except OSError:
            closed = True
        T.ok(closed, "garbage handshake: the connection is closed promptly (%.2f s)" % (time.monotonic() - t0))
    finally:
        for s in hold:
            s.close()


def slow_handshake_one_worker():
    """One worker only, Timeout 2: a silent client holds it at most ~2 s (the handshake
    deadline), then the next client is served; the silent socket is closed by portico."""
    with BackendProc("echo") as be:
        conf = vhost_conf(be.port) + "Timeout 2\n"  # after the base config's Timeout 10: the last wins
        with Portico(base=False, conf=conf, files=FILES, nports=2, start_servers=1, min_spare=1, max_spare=1,
                     max_workers=1) as p:
            port = tls_port(p)
            r = https_request(port, "GET", "/index.html", host="a.test", ctx=vctx(), timeout=10)
            T.is_(r.status, 200, "one worker: served")
            for kind, payload in (("silent", b""), ("partial ClientHello", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc")):
                s = socket.create_connection(("127.0.0.1", port), timeout=10)
                try:
                    if payload:
                        s.sendall(payload)
                    time.sleep(0.2)
                    t0 = time.monotonic()
                    r = https_request(port, "GET", "/index.html", host="a.test", ctx=vctx(), timeout=15)
                    el = time.monotonic() - t0
                    T.is_(r.status, 200, "one worker, %s client holding it: next client served" % kind)
                    T.cmp_ok(el, "<", 5.0, "... within the handshake deadline + margin (%.2f s)" % el)
                    s.settimeout(8)
                    t1 = time.monotonic()
                    try:
                        gone = s.recv(100) == b""
                    except socket.timeout:
                        gone = False
                    except OSError:
                        gone = True
                    T.ok(gone, "%s client: portico closed it (by %.2f s after the next client)"
                         % (kind, time.monotonic() - t1))
                finally:
                    s.close()
            T.unlike(p.error_log(), r"\[(emerg|crit|alert)\]", "no emerg/crit/alert in the error log")


def resumption(p):
    port = tls_port(p)
    for label, ver in (("TLS 1.3", ssl.TLSVersion.TLSv1_3), ("TLS 1.2", ssl.TLSVersion.TLSv1_2)):
        ctx = vctx(min_version=ver, max_version=ver)
        # first connection stays open (keep-alive): its worker is busy, so the resumed
        # connections below are served by other workers (prefork: one connection per worker)
        first = TLSConn(port, sni="a.test", ctx=ctx)
        try:
            r = first.request("GET", "/index.html", host="a.test")
            T.is_(r.status, 200, "%s: first connection" % label)
            sess = first.session
            reused = []
            for i in range(4):
                with TLSConn(port, sni="a.test", ctx=ctx, session=sess) as c:
                    r = c.request("GET", "/index.html?resume=%d" % i, host="a.test", headers=[("Connection", "close")])
                    reused.append((c.session_reused, r.status))
                    if c.session is not None:
                        sess = c.session  # a client keeps the newest ticket (TLS 1.3 tickets may be single-use)
            T.is_(reused, [(True, 200)] * 4, "%s: 4 later connections resume the session" % label)
        finally:
            first.close()
    lines = wait_for(lambda: [l for l in open(os.path.join(p.dir, "tls_access.log")).read().splitlines()
                              if "resume=" in l], 3) or []
    pids = set(re.findall(r"pid=(\d+)", "\n".join(lines)))
    T.diag("resumed connections were served by worker pids %s" % sorted(pids))
    rc, out = s_client(port, ["-servername", "a.test", "-sess_out", os.path.join(p.dir, "sess.pem"), "-ign_eof"],
                       stdin=b"GET /index.html HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    rc, out = s_client(port, ["-servername", "a.test", "-sess_in", os.path.join(p.dir, "sess.pem"), "-ign_eof"],
                       stdin=b"GET /index.html HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n")
    T.like(out, r"Reused, TLSv1\.[23]", "s_client -sess_in: session reused")


def log_vars():
    """mod_ssl variables in the access log (%{VAR}x)."""
    with BackendProc("echo") as be:
        with Portico(base=False, conf=vhost_conf(be.port, ssl_log=True), files=FILES, nports=2) as p:
            ctx = vctx()
            with TLSConn(tls_port(p), sni="a.test", ctx=ctx) as c:
                c.request("GET", "/app/logvars", host="a.test")
                sess = c.session
            with TLSConn(tls_port(p), sni="a.test", ctx=ctx, session=sess) as c:
                c.request("GET", "/index.html?logresumed", host="a.test")
            log = wait_for(lambda: [l for l in open(os.path.join(p.dir, "tls_access.log")).read().splitlines()
                                    if "/app/logvars" in l or "logresumed" in l], 3, want=2) or []
            T.ok(len(log) == 2 and re.search(r"proto=TLSv1\.[23] cipher=[A-Z0-9_-]+ resumed=Initial sni=a\.test https=on",
                                             log[0]), "access log: %{SSL_PROTOCOL}x %{SSL_CIPHER}x "
                 "%{SSL_SESSION_RESUMED}x %{SSL_TLS_SNI}x %{HTTPS}x", log)
            T.ok(len(log) == 2 and "resumed=Resumed" in log[1], "access log: resumed session logged as Resumed", log)
            r = http_request(p.port, "GET", "/index.html")
            T.is_(r.status, 200, "plain listener still serves with the SSL log format")


def main_instance():
    with BackendProc("echo") as be:
        with Portico(base=False, conf=vhost_conf(be.port), files=FILES, nports=2, start_servers=3, min_spare=3,
                     max_spare=6) as p:
            for fn in (handshake_s_client, handshake_python, sni, protocol_floor, alpn, plain_http):
                T.section(fn, p)
            for fn in (variables, redirect_e2e, keepalive):
                T.section(fn, p, be)
            T.section(resumption, p)
            T.section(slow_handshakes_many_workers, p)
            T.ok(p.alive(), "portico still running after the TLS tests")
            T.unlike(p.error_log(), r"\[(emerg|crit|alert)\]", "no emerg/crit/alert in the error log")


def encrypted_key():
    """An encrypted private key must fail -t with a clear message, never prompt for a
    passphrase on the terminal (a master waiting on a tty would hang the restart)."""
    import subprocess
    import tempfile
    if "apache" in os.path.basename(os.environ.get("PORTICO_BIN", "")):
        T.skip("encrypted key refused by -t", "portico-only")
        return
    d = tempfile.mkdtemp(prefix="portico-tls-enc-")
    try:
        enc = os.path.join(d, "enc.key")
        subprocess.run(["openssl", "pkey", "-in", A.key, "-aes256", "-passout", "pass:secret",
                        "-out", enc], check=True, capture_output=True)
        os.makedirs(os.path.join(d, "htdocs"))
        conf = os.path.join(d, "portico.conf")
        with open(conf, "w") as f:
            f.write("Listen 127.0.0.1:1 https\nServerName x\nPidFile %s/p.pid\n"
                    "ErrorLog %s/e.log\n<VirtualHost *:1>\nServerName a.test\nSSLEngine on\n"
                    "SSLCertificateFile %s\nSSLCertificateKeyFile %s\n</VirtualHost>\n"
                    % (d, d, A.cert, enc))
        r = subprocess.run([os.environ["PORTICO_BIN"], "-t", "-d", d, "-f", conf],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
        T.is_(r.returncode, 1, "-t with an encrypted key fails")
        T.like(r.stderr, r"portico\.conf:\d+: SSLCertificateKeyFile .*encrypted keys are not "
               r"supported", "... naming the file:line and why, without prompting")
        # A key others can read loads, with a warning naming it.
        plain = os.path.join(d, "open.key")
        subprocess.run(["cp", A.key, plain], check=True)
        os.chmod(plain, 0o644)
        with open(conf, "w") as f:
            f.write("Listen 127.0.0.1:1 https\nServerName x\nPidFile %s/p.pid\n"
                    "ErrorLog %s/e.log\n<VirtualHost *:1>\nServerName a.test\nSSLEngine on\n"
                    "SSLCertificateFile %s\nSSLCertificateKeyFile %s\n</VirtualHost>\n"
                    % (d, d, A.cert, plain))
        r = subprocess.run([os.environ["PORTICO_BIN"], "-t", "-d", d, "-f", conf],
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=20)
        T.is_(r.returncode, 0, "-t with a group/other-readable key: accepted")
        T.like(r.stderr, r"private key .*open\.key is readable by group or others \(mode 0644\)",
               "... with a warning to chmod 600 it")
    finally:
        subprocess.run(["rm", "-rf", d])


def main():
    global PKI, A, B
    PKI = Pki()
    try:
        A = PKI.server("a.test", ["a.test", "www.a.test"])
        B = PKI.server("b.test", ["b.test", "www.b.test"])
        T.section(main_instance)
        T.section(protocol_config)
        T.section(log_vars)
        T.section(slow_handshake_one_worker)
        T.section(encrypted_key)
    finally:
        PKI.cleanup()
    T.done()


if __name__ == "__main__":
    main()
