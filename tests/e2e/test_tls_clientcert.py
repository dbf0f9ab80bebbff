#!/usr/bin/env python3
"""Client certificates on the front end (issue 8): SSLVerifyClient require / optional per
virtual host, and per <Location> through TLS 1.3 post-handshake authentication (PHA): a client
that offers PHA and has a certificate gets through; one that cannot do PHA (no extension, or
TLS 1.2) gets 403 or a closed connection and the protected backend never sees the request.
A Host naming another TLS vhost (different verification) than the SNI gets 421, and a session
resumed from one vhost is not resumed into another. SSL_CLIENT_* variables reach the backend
(RequestHeader %{...}s) and the access log (%{...}x). Certificates are made at run time."""
import os
import re
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico  # noqa: E402
from backends import BackendProc  # noqa: E402
from certs import Pki  # noqa: E402
from tlsutil import TLSConn, full_conf, client_ctx, IS_APACHE  # noqa: E402

PKI = OTHER = None
A = B = C = ALICE = MALLORY = None

CONF = """
LogFormat "%h \\"%r\\" %>s verify=%{SSL_CLIENT_VERIFY}x dn=%{SSL_CLIENT_S_DN}x" certlog
CustomLog @DIR@/cert_access.log certlog
Listen 127.0.0.1:@PORT1@ https
# a.test: no verification at the handshake; /private/ asks for a certificate afterwards (PHA)
<VirtualHost 127.0.0.1:@PORT1@>
    ServerName a.test
    SSLEngine on
    SSLCertificateFile @A_CRT@
    SSLCertificateKeyFile @A_KEY@
    SSLCACertificateFile @CA@
    DocumentRoot @DIR@/htdocs/a
    RequestHeader set X-Client-DN "%{SSL_CLIENT_S_DN}s"
    RequestHeader set X-Client-Verify "%{SSL_CLIENT_VERIFY}s"
    ProxyPass /private/ http://127.0.0.1:@BACKEND@/private/
    ProxyPass /open/ http://127.0.0.1:@BACKEND@/open/
    <Location /private/>
        SSLVerifyClient require
        SSLVerifyDepth 2
    </Location>
    <Location /maybe/>
        SSLVerifyClient optional
    </Location>
    ProxyPass /maybe/ http://127.0.0.1:@BACKEND@/maybe/
</VirtualHost>
# b.test: a certificate is required at the handshake
<VirtualHost 127.0.0.1:@PORT1@>
    ServerName b.test
    SSLEngine on
    SSLCertificateFile @B_CRT@
    SSLCertificateKeyFile @B_KEY@
    SSLCACertificateFile @CA@
    SSLVerifyClient require
    SSLOptions +StdEnvVars
    RequestHeader set X-Client-CN "%{SSL_CLIENT_S_DN_CN}s"
    ProxyPass / http://127.0.0.1:@BACKEND@/b/
</VirtualHost>
# c.test: optional at the handshake
<VirtualHost 127.0.0.1:@PORT1@>
    ServerName c.test
    SSLEngine on
    SSLCertificateFile @C_CRT@
    SSLCertificateKeyFile @C_KEY@
    SSLCACertificateFile @CA@
    SSLVerifyClient optional
    RequestHeader set X-Client-Verify "%{SSL_CLIENT_VERIFY}s"
    ProxyPass / http://127.0.0.1:@BACKEND@/c/
</VirtualHost>
"""

FILES = {"index.html": "main\n", "a/index.html": "site a\n"}


def conf(backend_port):
    text = CONF
    for k, v in (("A_CRT", A.cert), ("A_KEY", A.key), ("B_CRT", B.cert), ("B_KEY", B.key), ("C_CRT", C.cert),
                 ("C_KEY", C.key), ("CA", PKI.ca_cert), ("BACKEND", backend_port)):
        text = text.replace("@%s@" % k, str(v))
    return full_conf(text)


def ctx(cert=None, pha=False, max_version=None):
    c = client_ctx(ca=PKI.ca_cert, max_version=max_version)
    if cert is not None:
        c.load_cert_chain(cert.cert, cert.key)
    c.post_handshake_auth = pha
    return c


def get(p, sni, path, context, host=None):
    """(status or an error string, response) for one request on a new connection."""
    try:
        with TLSConn(p.ports[1], sni=sni, ctx=context) as c:
            r = c.request("GET", path, host=host or sni, headers=[("Connection", "close")])
            return r.status, r
    except (ssl.SSLError, OSError, Exception) as e:  # a refused handshake or a closed connection
        return "error:%s" % type(e).__name__, None


def backend_paths(be):
    return [e["line"].split()[1] for e in be.requests()]


def hdr(r, name):
    return r.header(name) if r is not None else None


# --------------------------------------------------------------------------------------------
def handshake_require(p, be):
    st, _ = get(p, "b.test", "/x", ctx())
    T.ok(st != 200 and str(st).startswith("error"), "b.test require: no certificate -> handshake refused (%s)" % st)
    st, _ = get(p, "b.test", "/x", ctx(cert=MALLORY))
    T.ok(str(st).startswith("error"), "b.test require: certificate from another CA -> refused (%s)" % st)
    T.ok(not any(x.startswith("/b/") for x in backend_paths(be)), "b.test: backend not reached without a good certificate")
    st, r = get(p, "b.test", "/x", ctx(cert=ALICE))
    T.is_(st, 200, "b.test require: alice's certificate -> 200")
    T.like(r.body.decode("latin-1") if r else "", r"(?i)x-client-cn: alice", "b.test: SSL_CLIENT_S_DN_CN at the backend")


def handshake_optional(p, be):
    st, r = get(p, "c.test", "/x", ctx())
    T.is_(st, 200, "c.test optional: no certificate -> 200")
    T.like(r.body.decode("latin-1") if r else "", r"(?i)x-client-verify: NONE", "c.test: SSL_CLIENT_VERIFY NONE")
    st, r = get(p, "c.test", "/x", ctx(cert=ALICE))
    T.is_(st, 200, "c.test optional: with a certificate -> 200")
    T.like(r.body.decode("latin-1") if r else "", r"(?i)x-client-verify: SUCCESS", "c.test: SSL_CLIENT_VERIFY SUCCESS")
    st, _ = get(p, "c.test", "/x", ctx(cert=MALLORY))
    T.ok(str(st).startswith("error"), "c.test optional: a certificate that does not verify -> refused (%s)" % st)


def location_pha(p, be):
    be.reset()
    st, r = get(p, "a.test", "/open/x", ctx())
    T.is_(st, 200, "a.test /open/: no certificate needed")
    st, r = get(p, "a.test", "/private/x", ctx(cert=ALICE, pha=True))
    T.is_(st, 200, "a.test /private/: TLS 1.3 client with PHA and a certificate -> 200")
    body = r.body.decode("latin-1") if r else ""
    T.like(body, r"(?i)x-client-dn: CN=alice", "a.test /private/: SSL_CLIENT_S_DN after PHA at the backend")
    T.like(body, r"(?i)x-client-verify: SUCCESS", "a.test /private/: SSL_CLIENT_VERIFY SUCCESS after PHA")
    n_ok = backend_paths(be).count("/private/x")
    st, _ = get(p, "a.test", "/private/y", ctx(cert=ALICE, pha=False))
    T.ok(st == 403 or str(st).startswith("error"), "a.test /private/: client without PHA -> 403 or closed (%s)" % st)
    st, _ = get(p, "a.test", "/private/z", ctx(cert=ALICE, pha=True, max_version=ssl.TLSVersion.TLSv1_2))
    if IS_APACHE:  # httpd renegotiates TLS 1.2; portico does not renegotiate
        T.ok(st in (200, 403), "a.test /private/: TLS 1.2 client (httpd renegotiates: %s)" % st)
    else:
        T.ok(st == 403 or str(st).startswith("error"), "a.test /private/: TLS 1.2 client -> 403 or closed (%s)" % st)
    st, _ = get(p, "a.test", "/private/y", ctx(pha=True))
    T.ok(st == 403 or str(st).startswith("error"), "a.test /private/: PHA but no certificate -> 403 or closed (%s)" % st)
    st, _ = get(p, "a.test", "/private/y", ctx(cert=MALLORY, pha=True))
    T.ok(st == 403 or str(st).startswith("error"), "a.test /private/: certificate of another CA -> 403 or closed (%s)"
         % st)
    T.is_(backend_paths(be).count("/private/y"), 0, "a.test /private/: the backend never saw a refused request")
    T.is_(n_ok, 1, "a.test /private/: the backend saw the authenticated request once")
    st, r = get(p, "a.test", "/maybe/x", ctx(pha=False))
    T.is_(st, 403, "a.test /maybe/ (optional): client that cannot do PHA -> 403 (as httpd)")
    st, r = get(p, "a.test", "/maybe/x", ctx(cert=ALICE, pha=True))
    T.is_(st, 200, "a.test /maybe/ (optional): with PHA and a certificate -> 200")
    T.like(r.body.decode("latin-1") if r else "", r"(?i)x-client-verify: SUCCESS", "a.test /maybe/: verified by PHA")
    # keep-alive: the certificate obtained once serves the next request on the connection
    try:
        with TLSConn(p.ports[1], sni="a.test", ctx=ctx(cert=ALICE, pha=True)) as c:
            r1 = c.request("GET", "/private/k1", host="a.test")
            r2 = c.request("GET", "/private/k2", host="a.test")
            T.is_((r1.status, r2.status), (200, 200), "a.test /private/: two requests on one connection after one PHA")
    except Exception as e:
        T.fail("a.test /private/: keep-alive after PHA", repr(e))


def misdirected(p, be):
    be.reset()
    # SNI a.test (no verification at the handshake), Host b.test (require): 421, backend untouched
    st, r = get(p, "a.test", "/x", ctx(), host="b.test")
    T.is_(st, 421, "SNI a.test + Host b.test -> 421 Misdirected Request")
    T.ok(r is not None and b"Server Name Indication" in r.body, "421 body explains the SNI mismatch")
    st, _ = get(p, "c.test", "/x", ctx(cert=ALICE), host="b.test")
    T.is_(st, 421, "SNI c.test (optional) + Host b.test (require) -> 421 even with a certificate")
    T.is_(len(be.requests()), 0, "no 421 request reached a backend")
    st, _ = get(p, "b.test", "/x", ctx(cert=ALICE), host="b.test:%d" % p.ports[1])
    T.is_(st, 200, "Host with the port matches the SNI vhost -> 200")


def resumption_across_vhosts(p, be):
    # A session from c.test (verified alice) must not be resumed into b.test's handshake.
    c_ctx = ctx(cert=ALICE)
    try:
        with TLSConn(p.ports[1], sni="c.test", ctx=c_ctx) as c:
            c.request("GET", "/x", host="c.test")
            sess = c.session
    except Exception as e:
        T.fail("resumption setup", repr(e))
        return
    # the same client context (alice's certificate) so that only the server decides
    try:
        with TLSConn(p.ports[1], sni="b.test", ctx=c_ctx, session=sess) as c:
            r = c.request("GET", "/x", host="b.test")
            reused, st = c.session_reused, r.status
    except (ssl.SSLError, OSError) as e:
        reused, st = False, "error:%s" % type(e).__name__
    T.ok(not reused, "a c.test session is not resumed into b.test (per-vhost session id context)")
    T.is_(st, 200, "b.test still served after a full handshake with the certificate")
    # same vhost: resumption works
    with TLSConn(p.ports[1], sni="c.test", ctx=c_ctx) as c:
        c.request("GET", "/x", host="c.test")
        sess = c.session
    with TLSConn(p.ports[1], sni="c.test", ctx=c_ctx, session=sess) as c:
        r = c.request("GET", "/x", host="c.test")
        T.ok(c.session_reused and r.status == 200, "c.test session resumed on c.test")


def access_log(p):
    with open(os.path.join(p.dir, "cert_access.log")) as f:
        log = f.read()
    T.like(log, r'"GET /private/x HTTP/1.1" 200 verify=SUCCESS dn=CN=alice', "access log: %{SSL_CLIENT_VERIFY}x and DN")


def bad_configs():
    """Directives portico refuses, with a message that says so (portico -t)."""
    import subprocess
    import tempfile
    import portico_test
    for text, what in (("<IfModule ssl_module>\nSSLEngine optional\n</IfModule>\n", "SSLEngine optional"),
                       ("SSLVerifyClient optional_no_ca\n", "SSLVerifyClient optional_no_ca")):
        d = tempfile.mkdtemp(prefix="portico-cc-")
        path = os.path.join(d, "t.conf")
        with open(path, "w") as f:
            f.write("ServerName localhost\nListen 127.0.0.1:1\nPidFile %s/p.pid\nErrorLog %s/e.log\n%s" % (d, d, text))
        r = subprocess.run([portico_test.BIN, "-t", "-f", path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=20)
        T.ok(r.returncode != 0 and re.search(r"(?i)not supported", r.stdout), "%s refused: %s" % (what, r.stdout.strip()))
        subprocess.run(["rm", "-rf", d])


def main_instance():
    with BackendProc("echo") as be:
        with Portico(base=False, conf=conf(be.port), files=FILES, nports=2, start_servers=2, min_spare=2,
                     max_spare=4) as p:
            T.section(handshake_require, p, be)
            T.section(handshake_optional, p, be)
            T.section(location_pha, p, be)
            T.section(misdirected, p, be)
            T.section(resumption_across_vhosts, p, be)
            T.section(access_log, p)
            T.ok(p.alive(), "portico still running after the client-certificate tests")
            T.unlike(p.error_log(), r"\[(emerg|crit|alert)\]", "no emerg/crit/alert in the error log")


def main():
    global PKI, OTHER, A, B, C, ALICE, MALLORY
    PKI = Pki()
    OTHER = Pki(cn="Other Test CA")
    try:
        A = PKI.server("a.test")
        B = PKI.server("b.test")
        C = PKI.server("c.test")
        ALICE = PKI.client("alice")
        MALLORY = OTHER.client("mallory")
        T.section(main_instance)
        if not IS_APACHE:
            T.section(bad_configs)
    finally:
        PKI.cleanup()
        OTHER.cleanup()
    T.done()


if __name__ == "__main__":
    main()
