#!/usr/bin/env python3
"""Differential test: every rule set in tests/e2e/rewrite_corpus/*.conf runs in Debian's apache2
and in portico, the same requests go to both, and the answers must agree on the status, the
Location header, the Set-Cookie headers, and the request line the backend received.

A corpus file is plain httpd configuration (placed after a common base config) with its
requests in comment lines:
    # REQ GET /path?query
    # REQ GET /path | User-Agent: x | Host: other.test
@BACKEND@ is replaced by the echo backend's 127.0.0.1:PORT, @DIR@ by the server's own
directory; rewrite_corpus/maps/* is copied to @DIR@/maps/ for both servers. The default Host
is www.example.test (no port, so Locations do not differ by port).

Skipped with a visible note when /usr/sbin/apache2 is absent (.ci/run installs it)."""
import glob
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, Portico, Conn, free_port, children_of, proc_stat, read_text  # noqa: E402
from backends import BackendProc, request_report, _wait_listen  # noqa: E402
from test_rewrite import rw_conf  # noqa: E402

APACHE = "/usr/sbin/apache2"
CORPUS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "rewrite_corpus")
DEFAULT_HOST = "www.example.test"
FILES = {"index.html": "local index\n", "landing": "landing page\n", "sub/page.html": "sub page\n"}


def parse_corpus(path):
    reqs, lines = [], []
    with open(path) as f:
        for line in f:
            s = line.strip()
            if s.startswith("# REQ "):
                parts = [x.strip() for x in s[6:].split(" | ")]
                method, _, target = parts[0].partition(" ")
                hdrs = []
                for h in parts[1:]:
                    k, _, v = h.partition(":")
                    hdrs.append((k.strip(), v.strip()))
                reqs.append((method, target.strip(), hdrs))
            lines.append(line)
    return "".join(lines), reqs


def setup_dir(d):
    """The docroot and the map files, identical for both servers."""
    os.chmod(d, 0o755)
    for rel, content in FILES.items():
        path = os.path.join(d, "htdocs", rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(content)
    for root in (os.path.join(d, "htdocs"), os.path.join(d, "htdocs", "sub")):
        os.chmod(root, 0o755)
    mdir = os.path.join(d, "maps")
    os.makedirs(mdir, exist_ok=True)
    os.chmod(mdir, 0o755)
    for m in glob.glob(os.path.join(CORPUS, "maps", "*")):
        dst = os.path.join(mdir, os.path.basename(m))
        shutil.copy(m, dst)
        os.chmod(dst, 0o644)


class Httpd:
    """Debian's apache2 on a private dir and a free port, in a session of its own; stopped by
    pid (and only the children seen, with their start times)."""

    def __init__(self, conf_text):
        self.conf_text = conf_text
        self.port = free_port()
        self.dir = None
        self.proc = None

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="portico-diff-httpd-")
        try:
            setup_dir(self.dir)
            text = self.conf_text.replace("@DIR@", self.dir).replace("@PORT@", str(self.port))
            with open(os.path.join(self.dir, "httpd.conf"), "w") as f:
                f.write(text)
            env = dict(os.environ, APACHE_RUN_DIR=self.dir, APACHE_LOCK_DIR=self.dir, APACHE_LOG_DIR=self.dir)
            with open(os.path.join(self.dir, "stderr.txt"), "wb") as err:
                self.proc = subprocess.Popen([APACHE, "-d", self.dir, "-f", os.path.join(self.dir, "httpd.conf"),
                                              "-DFOREGROUND"], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                             stderr=err, env=env, start_new_session=True)
            if not _wait_listen(self.port, self.proc, 15):
                raise RuntimeError("apache2 did not start: %s" % self.log()[-1500:])
        except BaseException:
            self.__exit__()
            raise
        return self

    def log(self):
        return read_text(os.path.join(self.dir, "stderr.txt")) + read_text(os.path.join(self.dir, "error.log"))

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            kids = {k: (proc_stat(k) or (0, 0, 0, 0))[3] for k in children_of(self.proc.pid)}
            try:
                os.kill(self.proc.pid, signal.SIGTERM)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                try:
                    os.kill(self.proc.pid, signal.SIGKILL)
                    self.proc.wait(timeout=5)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    pass
            for pid, start in kids.items():
                st = proc_stat(pid)
                if st and st[3] == start and st[1] != "Z":
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
        return False


def exchange(port, method, target, hdrs):
    """One raw request; returns the comparable outcome."""
    hdrs = list(hdrs)
    if not any(k.lower() == "host" for k, _ in hdrs):
        hdrs.insert(0, ("Host", DEFAULT_HOST))
    hdrs.append(("Connection", "close"))
    if method in ("POST", "PUT"):
        hdrs.append(("Content-Length", "0"))
    data = "%s %s HTTP/1.1\r\n" % (method, target) + "".join("%s: %s\r\n" % kv for kv in hdrs) + "\r\n"
    try:
        with Conn(port, timeout=10) as c:
            c.send(data.encode("latin-1"))
            r = c.read_response(head=(method == "HEAD"))
    except Exception as e:  # noqa: BLE001 - a difference, reported as such
        return {"error": "%s: %s" % (type(e).__name__, e)}
    if r is None:
        return {"error": "closed without a response"}
    rep = request_report(r) if r.header("X-Backend-Port") else None
    return {"status": r.status, "location": r.header("Location"),
            "set-cookie": r.headers_all("Set-Cookie"),
            "backend": rep["line"] if rep else None}


def run_file(path, backend):
    name = os.path.basename(path)
    text, reqs = parse_corpus(path)
    reqs = [(m, t.replace("@BACKEND@", backend.addr), h) for m, t, h in reqs]
    if not reqs:
        T.fail("%s has # REQ lines" % name)
        return
    body = text.replace("@BACKEND@", backend.addr)
    conf = rw_conf(body, loglevel="info rewrite:trace4", start_servers=1, max_workers=4)
    results = {}
    try:
        with Httpd(conf) as h:
            results["httpd"] = [exchange(h.port, *rq) for rq in reqs]
    except Exception as e:  # noqa: BLE001
        T.fail("%s: apache2 runs the rule set" % name, str(e))
        return
    p = Portico(conf=conf, base=False, start=False, files={})
    try:
        with p:
            setup_dir(p.dir)
            p.launch()
            results["portico"] = [exchange(p.port, *rq) for rq in reqs]
            plog = p.error_log()
    except Exception as e:  # noqa: BLE001
        T.fail("%s: portico runs the rule set" % name, str(e))
        return
    if os.environ.get("RW_CORPUS_SHOW"):
        for rq, a in zip(reqs, results["httpd"]):
            T.diag("httpd %s %s %s -> %r" % (rq[0], rq[1], rq[2] or "", a))
    for i, (method, target, hdrs) in enumerate(reqs):
        a, b = results["httpd"][i], results["portico"][i]
        label = "%s: %s %s%s" % (name, method, target, "".join(" [%s: %s]" % kv for kv in hdrs))
        if not T.is_(b, a, label):
            T.diag("portico error.log tail:\n" + "\n".join(plog.splitlines()[-8:]))


def main():
    if not os.path.exists(APACHE):
        print("1..0 # SKIP apache2 not installed (%s)" % APACHE)
        return
    files = sorted(glob.glob(os.path.join(CORPUS, "*.conf")))
    only = os.environ.get("RW_CORPUS")  # e.g. RW_CORPUS=07 runs the files starting with 07
    if only:
        files = [f for f in files if os.path.basename(f).startswith(only)]
    T.ok(len(files) >= 25 or only, "rewrite_corpus has at least 25 rule sets (%d)" % len(files))
    with BackendProc("echo") as b:
        for f in files:
            T.section(run_file, f, b)
    T.done()


if __name__ == "__main__":
    main()
