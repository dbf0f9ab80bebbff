"""End-to-end test harness for portico (Python 3 standard library only).

Each test file imports this module, uses the TAP reporter `T` and the helpers below, and ends
with `T.done()` (prints the plan, exits 1 when any test failed).

    from portico_test import *
    with Portico(conf="KeepAlive On\n", files={"index.html": "hi\n"}) as p:
        r = http_get(p.port, "/")
        T.is_(r.status, 200, "GET / answers 200")
    T.done()

Environment (set by `make check`; defaults let a file run directly from the source tree):
    PORTICO_BIN         the portico binary       (/work/build-lead/src/portico)
    PORTICO_STATUS_BIN  the portico-status tool  (/work/build-lead/tools/portico-status)
    PORTICO_SRCDIR      the source tree root     (two levels above this file)

Every wait in here is bounded in time and in iterations; processes are only ever signalled by
the pid this harness started or observed as a child of the master it started.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
SRCDIR = os.environ.get("PORTICO_SRCDIR") or os.path.abspath(os.path.join(HERE, "..", ".."))
BIN = os.environ.get("PORTICO_BIN") or "/work/build-lead/src/portico"
STATUS_BIN = os.environ.get("PORTICO_STATUS_BIN") or "/work/build-lead/tools/portico-status"

__all__ = [
    "T", "Tap", "SRCDIR", "BIN", "STATUS_BIN", "free_port", "free_ports", "Portico", "Backend",
    "Conn", "Response", "http_request", "http_get", "raw_exchange", "slow_get", "children_of", "proc_stat",
    "pid_alive", "wait_until", "read_text", "run_portico", "status_text", "parse_status",
    "shm_segments", "HarnessError", "LoadLoop", "generation", "master_pid",
]


class HarnessError(Exception):
    pass


# --------------------------------------------------------------------------------------------
# TAP reporter
# --------------------------------------------------------------------------------------------
class Tap:
    def __init__(self):
        self.n = 0
        self.failed = 0
        self.t0 = time.monotonic()

    def _emit(self, passed, name, directive=""):
        self.n += 1
        name = (name or "").replace("\n", " ").replace("#", "\\#")
        line = "%s %d - %s" % ("ok" if passed else "not ok", self.n, name)
        if directive:
            line += " # " + directive
        print(line, flush=True)
        if not passed and not directive.startswith("TODO"):
            self.failed += 1
        return passed

    def diag(self, msg):
        for l in str(msg).splitlines() or [""]:
            print("# " + l, flush=True)

    def ok(self, cond, name, diag=None):
        passed = bool(cond)
        self._emit(passed, name)
        if not passed and diag is not None:
            self.diag(diag)
        return passed

    def is_(self, got, expected, name):
        passed = got == expected
        self._emit(passed, name)
        if not passed:
            self.diag("     got: %r" % (got,))
            self.diag("expected: %r" % (expected,))
        return passed

    def isnt(self, got, unexpected, name):
        passed = got != unexpected
        self._emit(passed, name)
        if not passed:
            self.diag("     got: %r" % (got,))
            self.diag("expected anything else")
        return passed

    def like(self, got, pattern, name, flags=re.M):
        text = got if isinstance(got, str) else (got.decode("latin-1") if isinstance(got, bytes) else repr(got))
        passed = re.search(pattern, text, flags) is not None
        self._emit(passed, name)
        if not passed:
            shown = text if len(text) < 2000 else text[:1000] + "\n...\n" + text[-1000:]
            self.diag("                  %r" % (shown,))
            self.diag("doesn't match '%s'" % (pattern,))
        return passed

    def unlike(self, got, pattern, name, flags=re.M):
        text = got if isinstance(got, str) else (got.decode("latin-1") if isinstance(got, bytes) else repr(got))
        m = re.search(pattern, text, flags)
        self._emit(m is None, name)
        if m is not None:
            self.diag("unexpected match for '%s': %r" % (pattern, m.group(0)))
        return m is None

    def cmp_ok(self, got, op, expected, name):
        ops = {"<": lambda a, b: a < b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b,
               ">=": lambda a, b: a >= b, "==": lambda a, b: a == b, "!=": lambda a, b: a != b}
        try:
            passed = ops[op](got, expected)
        except TypeError:
            passed = False
        self._emit(passed, name)
        if not passed:
            self.diag("    %r\n        %s\n    %r" % (got, op, expected))
        return passed

    def fail(self, name, diag=None):
        return self.ok(False, name, diag)

    def skip(self, name, reason):
        return self._emit(True, name, "SKIP " + reason)

    def section(self, fn, *args, **kw):
        """Runs one group of assertions; an exception becomes a failed test, not a crash."""
        title = getattr(fn, "__name__", "section")
        try:
            fn(*args, **kw)
        except Exception as e:  # noqa: BLE001 - every error must become a TAP failure
            self.fail("%s raised %s: %s" % (title, type(e).__name__, e), traceback.format_exc())

    def done(self):
        # Sanitizer reports from any portico process (master or worker) fail the file: a
        # crashing worker is respawned and the requests may well have passed.
        for where, text in SANITIZER_REPORTS:
            self.fail("no sanitizer report from portico (%s)" % where, text[-3000:])
        print("1..%d" % self.n, flush=True)
        self.diag("%d tests, %d failed, %.1f s" % (self.n, self.failed, time.monotonic() - self.t0))
        sys.exit(1 if self.failed or self.n == 0 else 0)


T = Tap()
SANITIZER_REPORTS = []
SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


# --------------------------------------------------------------------------------------------
# small utilities
# --------------------------------------------------------------------------------------------
def free_port():
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def free_ports(n):
    socks, ports = [], []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind(("127.0.0.1", 0))
            socks.append(s)
            ports.append(s.getsockname()[1])
    finally:
        for s in socks:
            s.close()
    return ports


def wait_until(fn, timeout=10.0, interval=0.1):
    """Calls fn until it returns a true value or `timeout` seconds pass; returns the last value.
    Bounded both in time and in iterations."""
    deadline = time.monotonic() + timeout
    max_iter = int(timeout / interval) + 2
    val = None
    for _ in range(max_iter):
        val = fn()
        if val:
            return val
        if time.monotonic() >= deadline:
            break
        time.sleep(interval)
    return val


def read_text(path):
    try:
        with open(path, "rb") as f:
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def proc_stat(pid):
    """(comm, state, ppid, starttime) of a process, or None when it is gone."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read().decode("latin-1")
    except OSError:
        return None
    lp, rp = data.find("("), data.rfind(")")
    if lp < 0 or rp < 0:
        return None
    comm = data[lp + 1:rp]
    rest = data[rp + 2:].split()
    # rest[0]=state rest[1]=ppid ... starttime is field 22 overall -> rest[19]
    try:
        return comm, rest[0], int(rest[1]), int(rest[19])
    except (IndexError, ValueError):
        return None


def pid_alive(pid):
    st = proc_stat(pid)
    return st is not None and st[1] != "Z"


def children_of(ppid):
    """Pids of the live (non-zombie) processes whose parent is ppid, sorted."""
    out = []
    try:
        names = os.listdir("/proc")
    except OSError:
        return out
    for name in names:
        if not name.isdigit():
            continue
        st = proc_stat(int(name))
        if st and st[2] == ppid and st[1] != "Z":
            out.append(int(name))
    return sorted(out)


def shm_segments():
    try:
        return sorted(n for n in os.listdir("/dev/shm") if n.startswith("portico."))
    except OSError:
        return []


def run_portico(args, timeout=20, cwd=None):
    """Runs the portico binary to completion; returns CompletedProcess (text)."""
    return subprocess.run([BIN] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          timeout=timeout, cwd=cwd, text=True, errors="replace")


def status_text(pidfile, timeout=10):
    """Output of `portico-status -p PIDFILE` (stdout + stderr)."""
    try:
        r = subprocess.run([STATUS_BIN, "-p", pidfile], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout, text=True, errors="replace")
    except (OSError, subprocess.TimeoutExpired) as e:
        return "portico-status failed: %s" % e
    return r.stdout + r.stderr


def parse_status(text):
    """Pulls what the tests need from portico-status's text page: generation, idle count, the
    state-letters line and the worker rows (dicts keyed by the column titles)."""
    info = {"generation": None, "idle": None, "busy": None, "letters": None, "workers": [],
            "master_pid": None, "shm": None}
    m = re.search(r"Generation:\s*(\d+)", text)
    if m:
        info["generation"] = int(m.group(1))
    m = re.search(
        r"(\d+) requests currently being processed, (?:\d+ workers gracefully restarting, )?"
        r"(\d+) idle workers", text)
    if m:
        info["busy"], info["idle"] = int(m.group(1)), int(m.group(2))
    m = re.search(r"Master PID:\s*(\d+)", text)
    if m:
        info["master_pid"] = int(m.group(1))
    m = re.search(r"Shared memory:\s*(\S+)", text)
    if m:
        info["shm"] = m.group(1)
    letters = [l for l in text.splitlines() if l and re.fullmatch(r"[._SRWKLDCGI]+", l)]
    if letters:
        info["letters"] = "".join(letters)
    lines = text.splitlines()
    for i, l in enumerate(lines):
        if re.match(r"\s*Slot\s+PID\s+Gen\s+St\b", l):
            titles = l.split()
            for row in lines[i + 1:]:
                cells = row.split(None, len(titles) - 1)
                if len(cells) < 4 or not cells[0].isdigit():
                    break
                info["workers"].append(dict(zip(titles, cells)))
            break
    return info


# --------------------------------------------------------------------------------------------
# HTTP client over raw sockets
# --------------------------------------------------------------------------------------------
class Response:
    def __init__(self, version, status, reason, headers, body, raw):
        self.version, self.status, self.reason = version, status, reason
        self.headers = headers  # list of (name, value), order kept
        self.body = body
        self.raw = raw

    def header(self, name, default=None):
        name = name.lower()
        for k, v in self.headers:
            if k.lower() == name:
                return v
        return default

    def headers_all(self, name):
        name = name.lower()
        return [v for k, v in self.headers if k.lower() == name]

    def __repr__(self):
        return "<Response %s %s %r, %d body bytes>" % (self.version, self.status, self.reason, len(self.body or b""))


class Conn:
    """One client connection with a read buffer, so pipelined responses can be read one by
    one. All operations are bounded by `timeout` seconds."""

    def __init__(self, port, host="127.0.0.1", timeout=5.0):
        self.timeout = timeout
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.buf = b""
        self.eof = False

    def send(self, data):
        if isinstance(data, str):
            data = data.encode("latin-1")
        self.sock.sendall(data)

    def _fill(self, deadline):
        if self.eof:
            return False
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("read deadline passed")
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def _read_until(self, marker, deadline, limit=1 << 20):
        for _ in range(100000):
            i = self.buf.find(marker)
            if i >= 0:
                out, self.buf = self.buf[:i + len(marker)], self.buf[i + len(marker):]
                return out
            if len(self.buf) > limit:
                raise HarnessError("no %r within %d bytes" % (marker, limit))
            if not self._fill(deadline):
                return None
        raise HarnessError("read loop bound reached")

    def _read_exact(self, n, deadline):
        for _ in range(1000000):
            if len(self.buf) >= n:
                out, self.buf = self.buf[:n], self.buf[n:]
                return out
            if not self._fill(deadline):
                raise HarnessError("connection closed after %d of %d body bytes" % (len(self.buf), n))
        raise HarnessError("read loop bound reached")

    def read_response(self, head=False, timeout=None):
        """Reads one response. head=True: the request was HEAD (no body). Returns None when the
        server closed the connection before sending anything."""
        deadline = time.monotonic() + (timeout if timeout is not None else self.timeout)
        head_bytes = self._read_until(b"\r\n\r\n", deadline)
        if head_bytes is None:
            if self.buf:
                raise HarnessError("connection closed inside a response head: %r" % self.buf[:200])
            return None
        text = head_bytes.decode("latin-1")
        lines = text.split("\r\n")
        m = re.match(r"(HTTP/\d\.\d) (\d{3})(?: (.*))?$", lines[0])
        if not m:
            raise HarnessError("bad status line %r" % lines[0])
        version, status, reason = m.group(1), int(m.group(2)), m.group(3) or ""
        headers = []
        for l in lines[1:]:
            if not l:
                continue
            k, _, v = l.partition(":")
            headers.append((k.strip(), v.strip()))
        resp = Response(version, status, reason, headers, b"", head_bytes)
        if head or 100 <= status < 200 or status in (204, 304):
            return resp
        te = (resp.header("Transfer-Encoding") or "").lower()
        cl = resp.header("Content-Length")
        if "chunked" in te:
            body = b""
            for _ in range(100000):
                size_line = self._read_until(b"\r\n", deadline)
                if size_line is None:
                    raise HarnessError("connection closed inside chunked body")
                size = int(size_line.split(b";")[0].strip(), 16)
                if size == 0:
                    for _ in range(1000):  # trailers
                        t = self._read_until(b"\r\n", deadline)
                        if t is None or t == b"\r\n":
                            break
                    break
                body += self._read_exact(size, deadline)
                self._read_exact(2, deadline)
            resp.body = body
        elif cl is not None:
            resp.body = self._read_exact(int(cl), deadline)
        else:
            for _ in range(1000000):
                if not self._fill(deadline):
                    break
            resp.body, self.buf = self.buf, b""
        resp.raw += resp.body
        return resp

    def request(self, method="GET", path="/", headers=None, body=None, version="HTTP/1.1",
                host="localhost", timeout=None):
        lines = ["%s %s %s" % (method, path, version)]
        hdrs = list(headers or [])
        if host is not None and not any(k.lower() == "host" for k, _ in hdrs):
            hdrs.insert(0, ("Host", host))
        if body is not None and not any(k.lower() in ("content-length", "transfer-encoding") for k, _ in hdrs):
            hdrs.append(("Content-Length", str(len(body))))
        for k, v in hdrs:
            lines.append("%s: %s" % (k, v))
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if body is not None:
            data += body if isinstance(body, bytes) else body.encode("latin-1")
        self.send(data)
        return self.read_response(head=(method == "HEAD"), timeout=timeout)

    def closed_by_peer(self, timeout=3.0):
        """True when the server closes the connection (EOF or reset) within timeout seconds
        and sends nothing more."""
        if self.buf:
            return False
        deadline = time.monotonic() + timeout
        try:
            for _ in range(1000):
                if not self._fill(deadline):
                    return True
                return False
        except (socket.timeout, TimeoutError):
            return False
        except OSError:
            return True
        return False

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


def http_request(port, method="GET", path="/", headers=None, body=None, version="HTTP/1.1",
                 host="localhost", timeout=5.0):
    """One request on a new connection (with `Connection: close` added)."""
    hdrs = list(headers or [])
    if not any(k.lower() == "connection" for k, _ in hdrs):
        hdrs.append(("Connection", "close"))
    with Conn(port, timeout=timeout) as c:
        r = c.request(method, path, hdrs, body, version, host)
    if r is None:
        raise HarnessError("connection closed without a response")
    return r


def http_get(port, path="/", host="localhost", headers=None, timeout=5.0):
    return http_request(port, "GET", path, headers=headers, host=host, timeout=timeout)


def slow_get(port, path, rate=4e6, chunk=65536, rcvbuf=65536, timeout=30.0, host="localhost",
             progress=None):
    """GET on a new connection with a small receive buffer, reading at most `rate` bytes per
    second (a slow reader). progress(n_bytes_so_far) is called after every read. Returns
    (status or None, headers dict (lower-case names), body bytes, elapsed seconds, error or None)."""
    t0 = time.monotonic()
    deadline = t0 + timeout
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    data, err = b"", None
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(timeout)
        s.connect(("127.0.0.1", port))
        s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n" % (path, host)).encode())
        for _ in range(10000000):
            left = deadline - time.monotonic()
            if left <= 0:
                err = "timeout after %d bytes" % len(data)
                break
            s.settimeout(left)
            b = s.recv(chunk)
            if not b:
                break
            data += b
            if progress:
                progress(len(data))
            ahead = t0 + len(data) / rate - time.monotonic()
            if ahead > 0:
                time.sleep(min(ahead, 1.0))
    except OSError as e:
        err = "%s after %d bytes" % (e, len(data))
    finally:
        s.close()
    elapsed = time.monotonic() - t0
    head, sep, body = data.partition(b"\r\n\r\n")
    status, headers = None, {}
    if sep:
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
        status = int(m.group(1)) if m else None
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
    return status, headers, body, elapsed, err


def raw_exchange(port, data, timeout=5.0, head=False):
    """Sends raw bytes on a new connection and reads one response (None when the server
    closed without answering)."""
    with Conn(port, timeout=timeout) as c:
        c.send(data)
        return c.read_response(head=head)


# --------------------------------------------------------------------------------------------
# processes
# --------------------------------------------------------------------------------------------
def _wait_port(port, proc, timeout):
    deadline = time.monotonic() + timeout
    for _ in range(int(timeout / 0.05) + 2):
        if proc is not None and proc.poll() is not None:
            return False
        try:
            s = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            s.close()
            return True
        except OSError:
            pass
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return False


def _stop_pid(proc, timeout=10.0):
    """TERM, wait up to timeout, then KILL. Returns True when it ended after TERM."""
    if proc.poll() is not None:
        return True
    try:
        os.kill(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=timeout)
        return True
    except subprocess.TimeoutExpired:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        return False


BASE_CONF = """\
# written by tests/e2e/portico_test.py
ServerRoot "@DIR@"
Listen 127.0.0.1:@PORT@
ServerName localhost
PidFile @DIR@/portico.pid
ErrorLog @DIR@/error.log
LogLevel @LOGLEVEL@
LogFormat "%h %l %u %t \\"%r\\" %>s %b \\"%{Referer}i\\" \\"%{User-Agent}i\\"" combined
CustomLog @DIR@/access.log combined
DocumentRoot @DIR@/htdocs
User nobody
Group nogroup
Timeout 10
KeepAlive On
KeepAliveTimeout 5
StartServers @START@
MinSpareServers @MINSPARE@
MaxSpareServers @MAXSPARE@
MaxRequestWorkers @MAXWORKERS@
"""


class Portico:
    """Runs portico on a fresh config in a fresh temp dir.

    conf:   text appended to the base config (or the whole file with base=False). The
            placeholders @DIR@, @PORT@ and @PORTn@ (extra ports, see nports) are replaced.
    files:  {relative path under htdocs: str|bytes} written before start.
    dirfiles: {relative path under the server dir: str|bytes} written before start.
    start:  False to only write the files (for -t tests and such).
    """

    def __init__(self, conf="", files=None, base=True, start=True, args=None, nports=1, dirfiles=None,
                 start_servers=2, min_spare=1, max_spare=4, max_workers=10, loglevel="info",
                 start_timeout=10.0):
        self.extra_conf = conf
        self.files = files if files is not None else {"index.html": "<h1>portico e2e</h1>\n"}
        self.dirfiles = dirfiles or {}
        self.base = base
        self.start = start
        self.args = list(args or [])
        self.ports = free_ports(nports)
        self.port = self.ports[0]
        self.settings = dict(START=start_servers, MINSPARE=min_spare, MAXSPARE=max_spare,
                             MAXWORKERS=max_workers, LOGLEVEL=loglevel)
        self.start_timeout = start_timeout
        self.proc = None
        self.dir = None
        self.seen_children = {}  # pid -> starttime, every child observed
        self.shm_before = []

    # paths
    @property
    def conf_path(self):
        return os.path.join(self.dir, "portico.conf")

    @property
    def pidfile(self):
        return os.path.join(self.dir, "portico.pid")

    @property
    def error_log_path(self):
        return os.path.join(self.dir, "error.log")

    @property
    def access_log_path(self):
        return os.path.join(self.dir, "access.log")

    @property
    def docroot(self):
        return os.path.join(self.dir, "htdocs")

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    def subst(self, text):
        text = text.replace("@DIR@", self.dir)
        for i, p in enumerate(self.ports):
            text = text.replace("@PORT%d@" % i, str(p))
        text = text.replace("@PORT@", str(self.port))
        for k, v in self.settings.items():
            text = text.replace("@%s@" % k, str(v))
        return text

    def write_conf(self, extra=None, base=None):
        """(Re)writes portico.conf; used for graceful-restart tests too."""
        extra = self.extra_conf if extra is None else extra
        base = self.base if base is None else base
        text = (BASE_CONF if base else "") + extra
        with open(self.conf_path, "w") as f:
            f.write(self.subst(text))

    def write_file(self, rel, content, root=None):
        path = os.path.join(root or self.docroot, rel)
        d = os.path.dirname(path)
        if not os.path.isdir(d):
            os.makedirs(d)
            os.chmod(d, 0o755)
        with open(path, "wb") as f:
            f.write(content.encode() if isinstance(content, str) else content)
        os.chmod(path, 0o644)
        return path

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="portico-e2e-")
        try:
            os.chmod(self.dir, 0o755)  # workers run as nobody when started as root
            os.makedirs(self.docroot)
            os.chmod(self.docroot, 0o755)
            for rel, content in self.files.items():
                self.write_file(rel, content)
            for rel, content in self.dirfiles.items():
                self.write_file(rel, content, root=self.dir)
            self.write_conf()
            if self.start:
                self.launch()
        except BaseException:
            self.cleanup()
            raise
        return self

    def launch(self):
        self.shm_before = shm_segments()
        self.out = open(os.path.join(self.dir, "stdout.txt"), "wb")
        self.err = open(os.path.join(self.dir, "stderr.txt"), "wb")
        cmd = [BIN, "-d", self.dir, "-f", self.conf_path, "-DFOREGROUND"] + self.args
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err, stdin=subprocess.DEVNULL,
                                     cwd=self.dir)
        if not _wait_port(self.port, self.proc, self.start_timeout):
            rc = self.proc.poll()
            raise HarnessError("portico did not accept on port %d within %.0f s (exit %r)\nstderr: %s\nerror.log: %s"
                               % (self.port, self.start_timeout, rc, read_text(os.path.join(self.dir, "stderr.txt"))[-2000:],
                                  self.error_log()[-2000:]))
        self.children()

    def children(self):
        """The master's live children (workers and helpers), remembered for cleanup."""
        if not self.proc:
            return []
        kids = children_of(self.proc.pid)
        for k in kids:
            st = proc_stat(k)
            if st:
                self.seen_children.setdefault(k, st[3])
        return kids

    def wait_children(self, pred, timeout=10.0, interval=0.1):
        return wait_until(lambda: (lambda k: k if pred(k) else None)(self.children()), timeout, interval)

    def error_log(self):
        return read_text(self.error_log_path)

    def access_log(self):
        return read_text(self.access_log_path)

    def stderr_text(self):
        return read_text(os.path.join(self.dir, "stderr.txt"))

    def status(self):
        return status_text(self.pidfile)

    def signal(self, sig):
        os.kill(self.proc.pid, sig)

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def wait_exit(self, timeout=10.0):
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None

    def stop(self):
        if self.proc is None:
            return True
        self.children()
        graceful = _stop_pid(self.proc)
        self._kill_leftovers()
        for f in ("out", "err"):
            h = getattr(self, f, None)
            if h:
                h.close()
        return graceful

    def _kill_leftovers(self):
        for pid, start in list(self.seen_children.items()):
            st = proc_stat(pid)
            if st and st[3] == start and st[1] != "Z":
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass

    def cleanup(self):
        try:
            self.stop()
            if self.dir:
                text = read_text(os.path.join(self.dir, "stderr.txt"))
                if any(m in text for m in SANITIZER_MARKERS):
                    SANITIZER_REPORTS.append((self.dir, text))
        finally:
            if os.environ.get("PORTICO_E2E_KEEP") and self.dir:
                sys.stderr.write("keeping %s\n" % self.dir)
            elif self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, *exc):
        self.cleanup()
        return False


class Backend:
    """tools/demo-backend.py on a free port, stopped by pid."""

    def __init__(self, port=None, timeout=10.0):
        self.port = port or free_port()
        self.timeout = timeout
        self.proc = None

    def __enter__(self):
        script = os.path.join(SRCDIR, "tools", "demo-backend.py")
        self.proc = subprocess.Popen([sys.executable, script, str(self.port)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        if not _wait_port(self.port, self.proc, self.timeout):
            _stop_pid(self.proc, 5)
            err = self.proc.stderr.read().decode("utf-8", "replace") if self.proc.stderr else ""
            raise HarnessError("demo backend did not listen on %d: %s" % (self.port, err[-1000:]))
        return self

    def __exit__(self, *exc):
        if self.proc:
            _stop_pid(self.proc, 5)
            if self.proc.stderr:
                self.proc.stderr.close()
        return False


def generation(p):
    """The configuration generation portico-status reports for p (None when unreadable)."""
    return parse_status(status_text(p.pidfile))["generation"]


def master_pid(p, started, pidfile=None):
    """The live master's pid from the PidFile (None when absent or dead); every pid seen is
    added to `started`, so a test can stop what it started by PID even when it fails."""
    txt = read_text(pidfile or p.pidfile).strip()
    if not txt.isdigit():
        return None
    pid = int(txt)
    started.add(pid)
    return pid if pid_alive(pid) else None


class LoadLoop(threading.Thread):
    """A bounded request loop: at most max_requests or `seconds`, a new connection each, no
    retries. Every failure is recorded; a 200 whose body is not in `expect` (when given) is
    one."""

    def __init__(self, port, seconds=8.0, max_requests=2000, path="/index.html", expect=None):
        super().__init__(daemon=True)
        self.port, self.seconds, self.max_requests, self.path = port, seconds, max_requests, path
        self.expect = expect
        self.ok = 0
        self.failures = []
        self.stop_flag = threading.Event()

    def run(self):
        t_end = time.monotonic() + self.seconds
        for i in range(self.max_requests):
            if time.monotonic() > t_end or self.stop_flag.is_set():
                break
            try:
                r = http_get(self.port, self.path, timeout=5)
                if r.status == 200 and (self.expect is None or r.body in self.expect):
                    self.ok += 1
                else:
                    self.failures.append("request %d: %r %r" % (i, r, r.body[:60]))
            except Exception as e:  # noqa: BLE001
                self.failures.append("request %d: %s: %s" % (i, type(e).__name__, e))
            time.sleep(0.002)
