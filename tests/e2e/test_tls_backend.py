#!/usr/bin/env python3
"""TLS to the back end (issue 8): https:// backends and balancer members with SSLProxyEngine on,
against Python TLS backends (tests/e2e/tlsutil.py) with throwaway certificates
(tests/e2e/certs.py). Checks SSLProxyVerify require with the right CA (200) and a wrong CA (502,
reason in the ErrorLog), SSLProxyCheckPeerName (a certificate for another name: 502; off: 200),
SSLProxyCheckPeerExpire (expired: on 502, off 200), the SNI sent to the backend (= the backend
host), https:// without SSLProxyEngine (never reaches the backend), keep-alive reuse of TLS
backend connections, and a balancer with https members."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, Conn, http_request  # noqa: E402
from backends import request_report  # noqa: E402
from certs import Pki  # noqa: E402
from tlsutil import TLSBackendProc, wait_for, full_conf  # noqa: E402

PKI = OTHER = None


def proxy_conf(backend_url, settings, extra=""):
    return full_conf("""
SSLProxyEngine on
%s
ProxyPass /b/ %s/
%s
""" % (settings, backend_url, extra))


def get(p, path="/b/x"):
    return http_request(p.port, "GET", path, timeout=15)


def verify_right_ca(cert):
    with TLSBackendProc("echo", cert=cert.cert, key=cert.key) as be:
        conf = proxy_conf("https://localhost:%d" % be.port,
                          "SSLProxyVerify require\nSSLProxyCACertificateFile %s" % PKI.ca_cert)
        with Portico(base=False, conf=conf) as p:
            r = get(p, "/b/hello?q=1")
            rep = request_report(r) or {}
            T.is_((r.status, rep.get("line")), (200, "GET /hello?q=1 HTTP/1.1"),
                  "SSLProxyVerify require + the right CA: 200 from the TLS backend")
            hs = be.handshakes()
            T.ok(hs and hs[-1].get("sni") == "localhost", "SNI sent to the backend is its host name (localhost)",
                 hs)
            T.ok(hs and hs[-1].get("version") in ("TLSv1.2", "TLSv1.3"), "backend handshake version %s"
                 % (hs[-1].get("version") if hs else None))


def verify_wrong_ca(cert):
    with TLSBackendProc("echo", cert=cert.cert, key=cert.key) as be:
        conf = proxy_conf("https://localhost:%d" % be.port,
                          "SSLProxyVerify require\nSSLProxyCACertificateFile %s" % OTHER.ca_cert)
        with Portico(base=False, conf=conf) as p:
            r = get(p)
            T.is_(r.status, 502, "SSLProxyVerify require + a wrong CA: 502")
            T.is_(be.requests(), [], "wrong CA: no request reached the backend")
            log = wait_for(lambda: re.search(r"verif|certificate|issuer", p.error_log(), re.I) and p.error_log(), 3)
            T.like(log or p.error_log(), r"(?i)(unable to get local issuer|certificate verify failed|self.signed|"
                   r"verify error|unable to verify)", "wrong CA: the verification failure reason is in the ErrorLog")
            T.like(log or p.error_log(), r"localhost:%d|127\.0\.0\.1:%d" % (be.port, be.port),
                   "wrong CA: the ErrorLog names the backend")


def check_peer_name():
    other = PKI.server("other.test", ["other.test"], basename="other-name")
    with TLSBackendProc("echo", cert=other.cert, key=other.key) as be:
        url = "https://localhost:%d" % be.port
        base = "SSLProxyVerify require\nSSLProxyCACertificateFile %s" % PKI.ca_cert
        with Portico(base=False, conf=proxy_conf(url, base)) as p:
            r = get(p)
            T.is_(r.status, 502, "SSLProxyCheckPeerName on (default): a certificate for other.test -> 502")
            T.like(p.error_log(), r"(?i)(name|hostname|CN|mismatch|other\.test|localhost)",
                   "peer name mismatch: reason in the ErrorLog")
        with Portico(base=False, conf=proxy_conf(url, base + "\nSSLProxyCheckPeerName off\nSSLProxyCheckPeerCN off")) as p:
            r = get(p)
            T.is_(r.status, 200, "SSLProxyCheckPeerName off (+ CN off): the same backend -> 200")


def check_peer_expire():
    old = PKI.server("localhost", ["localhost"], expired=True, basename="expired")
    with TLSBackendProc("echo", cert=old.cert, key=old.key) as be:
        url = "https://localhost:%d" % be.port
        # SSLProxyVerify none: with require, OpenSSL's chain check refuses an expired
        # certificate whatever SSLProxyCheckPeerExpire says (as in httpd)
        with Portico(base=False, conf=proxy_conf(url, "SSLProxyVerify none\nSSLProxyCheckPeerExpire on")) as p:
            r = get(p)
            T.is_(r.status, 502, "expired backend certificate, SSLProxyCheckPeerExpire on -> 502")
            T.like(p.error_log(), r"(?i)expire", "expired: the ErrorLog says so")
        with Portico(base=False, conf=proxy_conf(url, "SSLProxyVerify none\nSSLProxyCheckPeerExpire off")) as p:
            r = get(p)
            T.is_(r.status, 200, "expired backend certificate, SSLProxyCheckPeerExpire off -> 200")
        with Portico(base=False, conf=proxy_conf(url, "SSLProxyVerify require\nSSLProxyCACertificateFile %s" % PKI.ca_cert)) as p:
            r = get(p)
            T.is_(r.status, 502, "expired certificate with SSLProxyVerify require -> 502")


def engine_off(cert):
    with TLSBackendProc("echo", cert=cert.cert, key=cert.key) as be:
        conf = full_conf("ProxyPass /b/ https://localhost:%d/\n" % be.port)
        p = Portico(base=False, conf=conf)
        try:
            p.__enter__()
        except Exception as e:  # noqa: BLE001 - refusing the config at start is fine too
            T.ok(re.search(r"SSLProxyEngine", str(e)), "https:// without SSLProxyEngine: refused at start, "
                 "naming SSLProxyEngine", str(e)[-800:])
            return
        try:
            r = get(p)
            T.ok(r.status in (500, 502), "https:// without SSLProxyEngine on: %d (500 as httpd, or 502)" % r.status)
            T.is_(be.requests(), [], "https:// without SSLProxyEngine: nothing reaches the backend")
            T.like(p.error_log(), r"SSLProxyEngine", "https:// without SSLProxyEngine: the ErrorLog hints at it")
        finally:
            p.__exit__(None, None, None)


def keepalive_reuse(cert):
    with TLSBackendProc("echo", cert=cert.cert, key=cert.key) as be:
        conf = proxy_conf("https://localhost:%d" % be.port,
                          "SSLProxyVerify require\nSSLProxyCACertificateFile %s" % PKI.ca_cert)
        with Portico(base=False, conf=conf, start_servers=2, min_spare=1, max_spare=2, max_workers=2) as p:
            with Conn(p.port, timeout=15) as c:
                sts = [c.request("GET", "/b/ka?i=%d" % i).status for i in range(8)]
            T.is_(sts, [200] * 8, "8 requests over one client keep-alive connection")
            T.is_(be.accepts(), 1, "they used one TLS backend connection (kept alive and reused)")
            T.is_(len(be.handshakes()), 1, "one TLS handshake with the backend for 8 requests")
            conns = {r["conn"] for r in be.requests()}
            T.is_(len(conns), 1, "all 8 requests arrived on the same backend connection")
            # separate client connections: each worker reuses its own backend connection
            for i in range(8):
                r = http_request(p.port, "GET", "/b/sep?i=%d" % i, timeout=15)
                T.is_(r.status, 200, "separate client connection %d" % i) if r.status != 200 else None
            n = be.accepts()
            T.cmp_ok(n, "<=", 2 + 1, "16 requests from 9 client connections: at most one backend connection per "
                     "worker (2 workers) + the first (%d)" % n)
            T.cmp_ok(len(be.handshakes()), "<=", 3, "TLS handshakes with the backend bounded by the worker count")


def no_reuse_across_settings(cert):
    """Workers are shared by every virtual host, so a pooled TLS connection verified under
    one host's SSLProxy* settings must not be handed to another host's request."""
    with TLSBackendProc("echo", cert=cert.cert, key=cert.key) as be:
        url = "https://localhost:%d" % be.port
        conf = full_conf("""
SSLProxyEngine on
<VirtualHost *:@PORT@>
    ServerName lax.test
    SSLProxyEngine on
    SSLProxyVerify none
    ProxyPass /b/ %s/
</VirtualHost>
<VirtualHost *:@PORT@>
    ServerName strict.test
    SSLProxyEngine on
    SSLProxyVerify require
    SSLProxyCACertificateFile %s
    ProxyPass /b/ %s/
</VirtualHost>
""" % (url, OTHER.ca_cert, url))
        with Portico(base=False, conf=conf, start_servers=1, min_spare=1, max_spare=1,
                     max_workers=1) as p:
            r = http_request(p.port, "GET", "/b/lax", host="lax.test", timeout=15)
            T.is_(r.status, 200, "vhost with SSLProxyVerify none: 200 (its connection is pooled)")
            r = http_request(p.port, "GET", "/b/strict", host="strict.test", timeout=15)
            T.is_(r.status, 502, "vhost with SSLProxyVerify require and a wrong CA, same worker "
                  "process: 502, the pooled connection of the other vhost is not reused")
            lines = [q.get("line") for q in be.requests()]
            T.ok(not any("/strict" in (l or "") for l in lines),
                 "the strict vhost's request never reached the backend (%s)" % lines)


def balancer(cert):
    with TLSBackendProc("echo", cert=cert.cert, key=cert.key, name="m1") as b1, \
            TLSBackendProc("echo", cert=cert.cert, key=cert.key, name="m2") as b2:
        conf = full_conf("""
SSLProxyEngine on
SSLProxyVerify require
SSLProxyCACertificateFile %s
<Proxy balancer://tlsfarm>
    BalancerMember https://localhost:%d
    BalancerMember https://localhost:%d
    ProxySet lbmethod=byrequests
</Proxy>
ProxyPass /b/ balancer://tlsfarm/
""" % (PKI.ca_cert, b1.port, b2.port))
        with Portico(base=False, conf=conf) as p:
            names = []
            for i in range(6):
                r = http_request(p.port, "GET", "/b/lb?i=%d" % i, timeout=15)
                names.append((r.status, r.header("X-Backend-Name")))
            T.ok(all(s == 200 for s, _ in names), "balancer with https members: 6 x 200", names)
            T.is_(sorted({n for _, n in names if n}), ["m1", "m2"], "both https members served requests")
            hs = b1.handshakes() + b2.handshakes()
            T.ok(hs and all(h.get("sni") == "localhost" for h in hs), "balancer members get SNI localhost", hs)
        # one member with a certificate from another CA: its requests fail over / 502, never plain
        bad = OTHER.server("localhost", ["localhost"], basename="other-ca-localhost")
        with TLSBackendProc("echo", cert=bad.cert, key=bad.key, name="bad") as b3:
            conf2 = conf.replace("BalancerMember https://localhost:%d\n" % b2.port,
                                 "BalancerMember https://localhost:%d\n" % b3.port)
            with Portico(base=False, conf=conf2) as p:
                res = [http_request(p.port, "GET", "/b/lb2?i=%d" % i, timeout=15) for i in range(6)]
                T.is_(b3.requests(), [], "a member whose certificate does not verify never receives a request")
                T.ok(any(r.status == 200 and r.header("X-Backend-Name") == "m1" for r in res),
                     "the good member keeps serving", [(r.status, r.header("X-Backend-Name")) for r in res])


def main():
    global PKI, OTHER
    PKI = Pki()
    OTHER = Pki(cn="Other Test CA")
    try:
        cert = PKI.server("localhost", ["localhost"], ips=["127.0.0.1"], basename="backend")
        T.section(verify_right_ca, cert)
        T.section(verify_wrong_ca, cert)
        T.section(check_peer_name)
        T.section(check_peer_expire)
        T.section(engine_off, cert)
        T.section(keepalive_reuse, cert)
        T.section(no_reuse_across_settings, cert)
        T.section(balancer, cert)
    finally:
        PKI.cleanup()
        OTHER.cleanup()
    T.done()


if __name__ == "__main__":
    main()
