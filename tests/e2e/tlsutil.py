#!/usr/bin/env python3
"""TLS helpers for the e2e tests (Python 3 standard library only), kept apart from
portico_test.py and backends.py, which other tests depend on.

Client side:
    ctx = client_ctx(ca=pki.ca_cert)                 # verifying context (or ca=None: no verify)
    with TLSConn(port, sni="a.test", ctx=ctx) as c:  # a portico_test.Conn over TLS
        r = c.request("GET", "/", host="a.test")
        c.peer_names()                                # CN + DNS SANs of the server certificate
    https_request(port, "GET", "/", host=..., sni=..., ctx=...)   # one request, Connection: close
    s_client(port, ["-servername", "a.test"], stdin=b"...")       # `openssl s_client` run

Server side (a TLS backend): `tlsutil.py tls-backend KIND PORT EVENTS cert=C key=K [opts]`
runs a backends.py server of KIND whose accepted sockets are wrapped in TLS; every handshake
adds {"ev": "tls", "conn": N, "sni": ..., "version": ...} (or "tls-fail") to the events file.
From a test: `with TLSBackendProc("echo", cert=c.cert, key=c.key) as b: ...` (a
backends.BackendProc: b.port, b.requests(), b.accepts(), b.tls_events()).
"""
import os
import socket
import ssl
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import backends  # noqa: E402
from portico_test import Conn, HarnessError  # noqa: E402

OPENSSL = "openssl"


# --------------------------------------------------------------------------------------------
# configs: PORTICO_BIN=/usr/sbin/apache2 runs the TLS tests against httpd (a check of the
# tests themselves); then the modules are loaded first
# --------------------------------------------------------------------------------------------
IS_APACHE = os.path.basename(os.environ.get("PORTICO_BIN", "")).startswith(("apache2", "httpd"))
APACHE_MODULES = ["mpm_prefork", "authz_core", "proxy", "proxy_http", "proxy_balancer", "lbmethod_byrequests",
                  "slotmem_shm", "headers", "rewrite", "ssl", "socache_shmcb"]


def full_conf(extra):
    """A whole config (use with Portico(base=False)): the harness's base config + extra; for
    httpd, LoadModule lines and DefaultRuntimeDir first."""
    import portico_test
    pre = ""
    if IS_APACHE:
        for m in APACHE_MODULES:
            pre += "LoadModule %s_module /usr/lib/apache2/modules/mod_%s.so\n" % (m, m)
        pre += "DefaultRuntimeDir @DIR@\n"
    return pre + portico_test.BASE_CONF + extra


# --------------------------------------------------------------------------------------------
# client side
# --------------------------------------------------------------------------------------------
def client_ctx(ca=None, verify=True, check_hostname=None, min_version=None, max_version=None,
               alpn=None, cert=None, key=None, legacy=False):
    """An SSLContext for talking to portico. ca=None or verify=False: no verification.
    legacy=True lowers the security level so that TLS 1.0/1.1 can be offered at all."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca and verify:
        ctx.load_verify_locations(ca)
        ctx.check_hostname = True if check_hostname is None else check_hostname
        ctx.verify_mode = ssl.CERT_REQUIRED
    else:
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
    if legacy:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    if min_version is not None:
        ctx.minimum_version = min_version
    if max_version is not None:
        ctx.maximum_version = max_version
    if alpn:
        ctx.set_alpn_protocols(list(alpn))
    if cert:
        ctx.load_cert_chain(cert, key)
    return ctx


class TLSConn(Conn):
    """portico_test.Conn over TLS. sni=None sends no server_name extension."""

    def __init__(self, port, sni=None, ctx=None, host="127.0.0.1", timeout=5.0, session=None):
        self.timeout = timeout
        self.buf = b""
        self.eof = False
        raw = socket.create_connection((host, port), timeout=timeout)
        ctx = ctx or client_ctx()
        try:
            self.sock = ctx.wrap_socket(raw, server_hostname=sni, session=session)
        except BaseException:
            raw.close()
            raise
        self.sock.settimeout(timeout)

    def _fill(self, deadline):
        try:
            return Conn._fill(self, deadline)
        except (ssl.SSLEOFError, ssl.SSLZeroReturnError):
            self.eof = True
            return False
        except ssl.SSLError as e:
            if "EOF" in str(e):
                self.eof = True
                return False
            raise

    def peer_cert(self):
        return self.sock.getpeercert(binary_form=True)

    def peer_names(self):
        return peer_names(self.sock)

    @property
    def version(self):
        return self.sock.version()

    @property
    def session(self):
        return self.sock.session

    @property
    def session_reused(self):
        return self.sock.session_reused

    def alpn(self):
        return self.sock.selected_alpn_protocol()


def _der_names(der):
    """CN and DNS names of a DER certificate via `openssl x509` (getpeercert() is empty when
    the context does not verify)."""
    r = subprocess.run([OPENSSL, "x509", "-inform", "DER", "-noout", "-subject", "-ext", "subjectAltName"],
                       input=der, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=10)
    text = r.stdout.decode("latin-1")
    cn = None
    for line in text.splitlines():
        if line.startswith("subject="):
            for part in line[len("subject="):].split(","):
                k, _, v = part.strip().partition("=")
                if k.strip() == "CN":
                    cn = v.strip()
    sans = []
    for tok in text.replace(",", " ").split():
        if tok.startswith("DNS:"):
            sans.append(tok[4:])
    return cn, sans


def peer_names(sslsock):
    """(CN, [DNS SANs]) of the peer certificate of an SSLSocket."""
    der = sslsock.getpeercert(binary_form=True)
    if not der:
        return None, []
    return _der_names(der)


def https_request(port, method="GET", path="/", host="localhost", sni="__host__", ctx=None, headers=None,
                  body=None, timeout=5.0):
    """One request over a new TLS connection (Connection: close added). sni="__host__" sends
    the Host name (without port) as SNI; None sends none."""
    if sni == "__host__":
        sni = host.rsplit(":", 1)[0] if host and not host.startswith("[") else None
    hdrs = list(headers or [])
    if not any(k.lower() == "connection" for k, _ in hdrs):
        hdrs.append(("Connection", "close"))
    with TLSConn(port, sni=sni, ctx=ctx, timeout=timeout) as c:
        r = c.request(method, path, hdrs, body, "HTTP/1.1", host)
    if r is None:
        raise HarnessError("TLS connection closed without a response")
    return r


def s_client(port, args=(), stdin=b"", timeout=15):
    """Runs `openssl s_client -connect 127.0.0.1:PORT ARGS`, feeding stdin (then EOF: s_client
    with -ign_eof keeps reading until the server closes). Returns (rc, output text)."""
    cmd = [OPENSSL, "s_client", "-connect", "127.0.0.1:%d" % port] + list(args)
    try:
        r = subprocess.run(cmd, input=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = e.stdout or b""
        return None, out.decode("latin-1") + "\n[s_client timed out]"
    return r.returncode, r.stdout.decode("latin-1")


def tls_handshake_error(port, ctx, sni=None, timeout=5.0):
    """Tries a handshake; returns None on success, else the exception."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s = ctx.wrap_socket(raw, server_hostname=sni)
        s.close()
        return None
    except (ssl.SSLError, OSError) as e:
        return e
    finally:
        raw.close()


# --------------------------------------------------------------------------------------------
# server side: a TLS backend (backends.Server with wrapped sockets)
# --------------------------------------------------------------------------------------------
class TLSServer(backends.Server):
    def __init__(self, kind, port, events, opts):
        backends.Server.__init__(self, kind, port, events, opts)
        self.ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ctx.load_cert_chain(opts["cert"], opts.get("key"))
        if opts.get("alpn"):
            self.ctx.set_alpn_protocols(opts["alpn"].split(","))

        def on_sni(sslobj, name, _ctx):
            sslobj.portico_sni = name
        self.ctx.sni_callback = on_sni

    def handle(self, sock, conn):
        sock.settimeout(float(self.opts.get("hs_timeout", "10")))
        try:
            ss = self.ctx.wrap_socket(sock, server_side=True)
        except (ssl.SSLError, OSError) as e:
            self.ev.log(ev="tls-fail", conn=conn, error="%s: %s" % (type(e).__name__, e))
            try:
                sock.close()
            except OSError:
                pass
            self.ev.log(ev="close", conn=conn)
            return
        ss.settimeout(None)
        self.ev.log(ev="tls", conn=conn, sni=getattr(ss, "portico_sni", None), version=ss.version(),
                    resumed=ss.session_reused)
        backends.Server.handle(self, ss, conn)


def tls_backend_main(argv):
    import signal
    kind, port, events = argv[0], int(argv[1]), argv[2]
    opts = dict(a.split("=", 1) for a in argv[3:])
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    srv = TLSServer(kind, port, backends.Events(events), opts)
    if not hasattr(srv, "k_" + kind):
        sys.exit("unknown kind %r" % kind)
    srv.serve()


class TLSBackendProc(backends.BackendProc):
    """A backends.py server of `kind` speaking TLS with certificate `cert` / key `key`."""

    def __init__(self, kind="echo", cert=None, key=None, port=None, bind="127.0.0.1", **opts):
        backends.BackendProc.__init__(self, kind, port, bind, **opts)
        self.opts["cert"] = cert
        if key:
            self.opts["key"] = key

    def start(self):
        cmd = [sys.executable, os.path.abspath(__file__), "tls-backend", self.kind, str(self.port),
               self.events_path] + ["%s=%s" % kv for kv in self.opts.items()]
        with open(os.path.join(self.dir, "stderr.txt"), "ab") as err:
            self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        if not backends._wait_listen(self.port, self.proc, 10, self.bind):
            self.stop()
            raise RuntimeError("TLS backend did not listen on %s:%d: %s" % (
                self.bind, self.port, open(os.path.join(self.dir, "stderr.txt")).read()[-1000:]))
        self._wait_probe()
        return self

    def tls_events(self):
        return [e for e in self.events() if e["ev"] in ("tls", "tls-fail")]

    def handshakes(self):
        """Successful handshakes after the readiness probe."""
        return [e for e in self.events() if e["ev"] == "tls"]


def wait_for(fn, timeout=5.0, interval=0.05, want=1):
    """Calls fn until its value has at least `want` items (or is true), bounded by timeout."""
    deadline = time.monotonic() + timeout
    val = None
    for _ in range(int(timeout / interval) + 2):
        val = fn()
        ok = (len(val) >= want) if isinstance(val, (list, tuple)) else bool(val)
        if ok or time.monotonic() > deadline:
            return val
        time.sleep(interval)
    return val


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "tls-backend":
        tls_backend_main(sys.argv[2:])
    else:
        sys.exit("usage: tlsutil.py tls-backend KIND PORT EVENTS cert=FILE key=FILE [opt=val ...]")
