"""Throwaway certificates for the TLS tests, made with the `openssl` command at run time in a
temp dir (no key is ever committed). EC P-256 keys: quick to make.

    pki = Pki()                     # a temp dir with a CA ("Portico Test CA")
    a = pki.server("a.test", ["a.test", "www.a.test"])      # -> Cert(cert=..., key=..., name=...)
    old = pki.server("old.test", expired=True)
    cli = pki.client("alice")
    other = Pki(cn="Other Test CA")  # an unrelated CA (the "wrong CA" cases)
    ...
    pki.cleanup()                   # or use it as a context manager

Certificates are signed with `openssl ca` (it takes explicit -startdate/-enddate, which an
expired certificate needs with OpenSSL 3.0's `x509 -req`). Key files are mode 0600, as an admin
would have them (portico warns about keys others may read).
"""
import os
import shutil
import subprocess
import tempfile
from collections import namedtuple

Cert = namedtuple("Cert", "name cert key chain")

OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"

CA_CNF = """\
[ ca ]
default_ca = testca
[ testca ]
dir = {dir}
database = $dir/index.txt
new_certs_dir = $dir/newcerts
serial = $dir/serial
default_md = sha256
policy = anything
unique_subject = no
copy_extensions = none
[ anything ]
commonName = supplied
organizationName = optional
[ req ]
distinguished_name = dn
prompt = no
[ dn ]
CN = unused
[ v3_ca ]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $ENV::PORTICO_SAN
authorityKeyIdentifier = keyid
[ client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
authorityKeyIdentifier = keyid
"""


class CertError(Exception):
    pass


def _run(args, env=None, cwd=None):
    e = dict(os.environ)
    e.update(env or {})
    e.setdefault("PORTICO_SAN", "DNS:unused")
    r = subprocess.run([OPENSSL] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                       timeout=30, env=e, cwd=cwd)
    if r.returncode != 0:
        raise CertError("openssl %s failed: %s" % (" ".join(args[:3]), r.stdout[-1500:]))
    return r.stdout


class Pki:
    """A CA in its own temp dir (or under `base`) that signs server and client certificates."""

    def __init__(self, cn="Portico Test CA", base=None):
        self.own_dir = base is None
        self.dir = tempfile.mkdtemp(prefix="portico-pki-") if base is None else base
        os.makedirs(self.dir, exist_ok=True)
        os.chmod(self.dir, 0o755)
        self.cadir = os.path.join(self.dir, "ca-" + cn.replace(" ", "_"))
        os.makedirs(os.path.join(self.cadir, "newcerts"))
        open(os.path.join(self.cadir, "index.txt"), "w").close()
        with open(os.path.join(self.cadir, "serial"), "w") as f:
            f.write("%016X\n" % int.from_bytes(os.urandom(7), "big"))
        self.cnf = os.path.join(self.cadir, "ca.cnf")
        with open(self.cnf, "w") as f:
            f.write(CA_CNF.format(dir=self.cadir))
        self.ca_cert = os.path.join(self.cadir, "ca.crt")
        self.ca_key = os.path.join(self.cadir, "ca.key")
        _run(["req", "-x509", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", self.ca_key, "-out", self.ca_cert, "-days", "30", "-subj", "/CN=" + cn,
              "-config", self.cnf, "-extensions", "v3_ca"])
        os.chmod(self.ca_key, 0o600)
        os.chmod(self.ca_cert, 0o644)
        self.cn = cn

    def _sign(self, cn, ext, san=None, expired=False, out_dir=None, basename=None):
        d = out_dir or self.dir
        os.makedirs(d, exist_ok=True)
        base = os.path.join(d, basename or cn.replace("*", "_star_"))
        key, csr, crt = base + ".key", base + ".csr", base + ".crt"
        _run(["req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
              "-keyout", key, "-out", csr, "-subj", "/CN=" + cn, "-config", self.cnf])
        args = ["ca", "-batch", "-config", self.cnf, "-cert", self.ca_cert, "-keyfile", self.ca_key,
                "-in", csr, "-out", crt, "-extensions", ext, "-notext"]
        if expired:
            args += ["-startdate", "20200101000000Z", "-enddate", "20200201000000Z"]
        else:
            args += ["-days", "30"]
        _run(args, env={"PORTICO_SAN": san or "DNS:unused"})
        os.chmod(key, 0o600)
        os.chmod(crt, 0o644)
        os.unlink(csr)
        return Cert(cn, crt, key, self.ca_cert)

    def server(self, cn, names=None, ips=(), expired=False, out_dir=None, basename=None):
        """A server certificate: CN=cn, subjectAltName DNS:names (default [cn]) + IP:ips."""
        names = list(names) if names is not None else [cn]
        san = ",".join(["DNS:" + n for n in names] + ["IP:" + i for i in ips]) or "DNS:" + cn
        return self._sign(cn, "server", san=san, expired=expired, out_dir=out_dir, basename=basename)

    def client(self, cn, out_dir=None):
        return self._sign(cn, "client", out_dir=out_dir)

    def cleanup(self):
        if self.own_dir:
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False


def cert_text(path):
    """`openssl x509 -text` of a certificate file."""
    return _run(["x509", "-in", path, "-noout", "-text"])


def openssl_offers(proto_flag):
    """Whether the local `openssl s_client` accepts a protocol flag (e.g. -tls1_1) at all."""
    r = subprocess.run([OPENSSL, "s_client", "-help"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=10)
    return proto_flag in r.stdout
