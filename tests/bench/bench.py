#!/usr/bin/env python3
"""portico benchmark driver (tests/bench/README.md): portico against httpd prefork and event,
nginx and HAProxy, behind one nginx backend, all on 127.0.0.1, loaded with wrk.

Everything is started here on free ports and stopped by PID. Rounds are interleaved (round ->
cell -> proxy, the proxy order rotating each round) so slow drift of the machine spreads over
every proxy; each cell reports the median and min-max over rounds, and ratios are computed
within a round before taking their median.
"""
import argparse
import datetime
import json
import os
import platform
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CONF = os.path.join(HERE, "conf")
CLK_TCK = os.sysconf("SC_CLK_TCK")

# name, path, concurrency, extra wrk headers
FULL_CELLS = [
    ("small c=1", "/small", 1, []),
    ("small c=16", "/small", 16, []),
    ("small c=64", "/small", 64, []),
    ("small c=256", "/small", 256, []),
    ("small c=16 close", "/small", 16, ["Connection: close"]),
    ("64K c=16", "/64k", 16, []),
    ("1M c=16", "/1m", 16, []),
    ("balancer c=64", "/lb/small", 64, []),
]
QUICK_CELLS = ["small c=16", "small c=256", "small c=16 close", "1M c=16"]
PROXIES = ["portico", "httpd-prefork", "httpd-event", "nginx", "haproxy", "direct"]
PEERS = ["nginx", "haproxy", "httpd-prefork", "httpd-event"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path, timeout=1.0):
    """One HTTP/1.1 request; returns the status code or None."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
            s.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" % path).encode())
            data = s.recv(64)
            m = re.match(rb"HTTP/1\.[01] (\d{3})", data)
            return int(m.group(1)) if m else None
    except OSError:
        return None


def children_map():
    kids = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % d) as f:
                st = f.read()
        except OSError:
            continue
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        kids.setdefault(ppid, []).append(int(d))
    return kids


def tree(pid):
    """pid and all its descendants."""
    kids = children_map()
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, []))
    return out


def cpu_ticks(root):
    """utime+stime of every live process in the tree plus what the root reaped (cutime+cstime),
    so workers that exit during a run are still counted."""
    total = 0
    for p in tree(root):
        try:
            with open("/proc/%d/stat" % p) as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        total += int(fields[11]) + int(fields[12])
        if p == root:
            total += int(fields[13]) + int(fields[14])
    return total


def memory(root):
    """(sum of PSS over the tree in KiB, max private KiB of a non-root process, process count,
    sum of page tables in KiB: real memory that PSS leaves out, one set per process)."""
    pss, priv_max, n, pte = 0, 0, 0, 0
    for p in tree(root):
        try:
            with open("/proc/%d/smaps_rollup" % p) as f:
                txt = f.read()
        except OSError:
            continue
        try:
            with open("/proc/%d/status" % p) as f:
                m = re.search(r"^VmPTE:\s+(\d+) kB", f.read(), re.M)
                pte += int(m.group(1)) if m else 0
        except OSError:
            pass
        vals = dict((m.group(1), int(m.group(2))) for m in re.finditer(r"^(\w+):\s+(\d+) kB", txt, re.M))
        pss += vals.get("Pss", 0)
        n += 1
        if p != root:
            priv_max = max(priv_max, vals.get("Private_Clean", 0) + vals.get("Private_Dirty", 0))
    return pss, priv_max, n, pte


UNIT = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def parse_wrk(out):
    r = {"rps": 0.0, "p50": None, "p99": None, "errors": 0, "requests": 0}
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m:
        r["rps"] = float(m.group(1))
    m = re.search(r"(\d+) requests in", out)
    if m:
        r["requests"] = int(m.group(1))
    for pct, key in (("50", "p50"), ("99", "p99")):
        m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s|m)\s*$" % pct, out, re.M)
        if m:
            r[key] = float(m.group(1)) * UNIT[m.group(2)]
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["errors"] += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        r["errors"] += int(m.group(1))
    return r


class Bench:
    def __init__(self, args):
        self.args = args
        self.dir = tempfile.mkdtemp(prefix="portico-bench-")
        os.chmod(self.dir, 0o755)
        self.procs = {}  # name -> Popen
        self.ports = {}
        self.startup_ms = {}
        self.b1, self.b2 = free_port(), free_port()
        self.user = "www-data" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name
        self.portico = os.path.join(args.build, "src", "portico")

    # --- files and processes ------------------------------------------------------------
    def render(self, template, name, extra=None):
        with open(os.path.join(CONF, template)) as f:
            txt = f.read()
        subs = {"@DIR@": self.dir, "@B1@": str(self.b1), "@B2@": str(self.b2), "@USER@": self.user}
        subs.update(extra or {})
        for k, v in subs.items():
            txt = txt.replace(k, v)
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(txt)
        return path

    def make_htdocs(self):
        d = os.path.join(self.dir, "htdocs")
        os.makedirs(d)
        with open(os.path.join(d, "small"), "wb") as f:
            f.write(b"portico benchmark: a small fixed body of exactly one hundred bytes, for the small cells.....\n")
        for name, size in (("64k", 64 * 1024), ("1m", 1024 * 1024)):
            with open(os.path.join(d, name), "wb") as f:
                f.write(bytes((i * 7) & 0xFF for i in range(size)))
        for root, dirs, files in os.walk(self.dir):
            for x in dirs:
                os.chmod(os.path.join(root, x), 0o755)

    def httpd_defines(self, name, port):
        grp = "www-data" if os.geteuid() == 0 else self.user
        d = {"BENCH_DIR": self.dir, "BENCH_NAME": name, "PORT": str(port), "B1": str(self.b1),
             "B2": str(self.b2), "BENCH_USER": self.user, "BENCH_GROUP": grp}
        out = []
        for k, v in d.items():
            out += ["-C", "Define %s %s" % (k, v)]
        return out

    def command(self, name, port):
        if name == "backend":
            return ["nginx", "-e", os.path.join(self.dir, "backend-error.log"), "-g", "daemon off;",
                    "-c", self.render("backend-nginx.conf", "backend.conf")]
        if name == "nginx":
            return ["nginx", "-e", os.path.join(self.dir, "nginx-proxy-error.log"), "-g", "daemon off;",
                    "-c", self.render("nginx-proxy.conf", "nginx-proxy.conf", {"@PORT@": str(port)})]
        if name == "haproxy":
            return ["haproxy", "-db", "-f", self.render("haproxy.cfg", "haproxy.cfg", {"@PORT@": str(port)})]
        if name == "portico":
            extra = []
            for directive in self.args.portico_c:
                extra += ["-c", directive]
            return [self.portico, "-DFOREGROUND", "-d", self.dir] + self.httpd_defines(name, port) + \
                ["-f", os.path.join(CONF, "prefork.conf")] + extra
        if name in ("httpd-prefork", "httpd-event"):
            conf = "prefork.conf" if name == "httpd-prefork" else "event.conf"
            return ["apache2", "-DFOREGROUND", "-d", self.dir] + self.httpd_defines(name, port) + \
                ["-f", os.path.join(CONF, conf)]
        raise ValueError(name)

    def start(self, name, probe="/small", extra=None, key=None):
        port = self.b1 if name == "backend" else free_port()
        cmd = self.command(name, port) + (extra or [])
        if key:  # own pid file, logs and shared memory names: never those of the running copy
            cmd = [("Define BENCH_NAME %s-%s" % (name, key)) if a == "Define BENCH_NAME " + name else a for a in cmd]
        log = open(os.path.join(self.dir, name + ".out"), "w")
        t0 = time.monotonic()
        p = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = t0 + 20
        while time.monotonic() < deadline:
            if p.poll() is not None:
                raise RuntimeError("%s exited at start (%s): see %s" % (name, " ".join(cmd), log.name))
            if http_get(port, probe, timeout=0.5) == 200:
                break
            time.sleep(0.002)
        else:
            raise RuntimeError("%s did not answer on %d" % (name, port))
        ms = (time.monotonic() - t0) * 1000
        if key:  # a start-up trial, not a proxy under test
            return p, ms
        self.startup_ms[name] = ms
        self.procs[name] = p
        self.ports[name] = port
        return p

    def startup_trials(self, name, extra, n=3):
        """Median time from exec to the first 200 through the proxy, with a small pool."""
        times = []
        for _ in range(n):
            p, ms = self.start(name, extra=extra, key="trial")
            times.append(ms)
            os.kill(p.pid, signal.SIGTERM)
            p.wait(timeout=15)
            time.sleep(0.3)
        return statistics.median(times)

    def stop_all(self):
        for name, p in self.procs.items():
            if p.poll() is None:
                try:
                    os.kill(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for name, p in self.procs.items():
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.kill(p.pid, signal.SIGKILL)
                p.wait()

    def port_of(self, name):
        return self.b1 if name == "direct" else self.ports[name]

    def root_of(self, name):
        return self.procs["backend" if name == "direct" else name].pid

    # --- measurements ---------------------------------------------------------------------
    def wrk(self, name, path, conns, headers, duration, mem_probe=False, during=None):
        url = "http://127.0.0.1:%d%s" % (self.port_of(name), path)
        if name == "direct" and path.startswith("/lb/"):
            url = "http://127.0.0.1:%d/small" % self.b1
        threads = min(self.args.threads, conns)
        cmd = ["wrk", "-t", str(threads), "-c", str(conns), "-d", "%ds" % duration, "--latency",
               "--timeout", "5s"]
        for h in headers:
            cmd += ["-H", h]
        cmd.append(url)
        root = self.root_of(name)
        t0 = cpu_ticks(root)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        mem = None
        if mem_probe or during:
            time.sleep(duration / 2.0)
            if mem_probe:
                mem = memory(root)
            if during:
                during()
        out, _ = proc.communicate()
        t1 = cpu_ticks(root)
        r = parse_wrk(out)
        r["cpu_us"] = (t1 - t0) * 1e6 / CLK_TCK / r["requests"] if r["requests"] else None
        r["mem"] = mem
        r["raw"] = out
        return r

    def strace_count(self, name, path, conns, total, close=False):
        """System calls made by the proxy's processes per request, over `total` requests."""
        root = self.root_of(name)
        pids = tree(root)
        outf = os.path.join(self.dir, "strace-%s-%s.txt" % (name, path.strip("/").replace("/", "_")))
        cmd = ["strace", "-c", "-f", "-qq", "-o", outf]
        for p in pids:
            cmd += ["-p", str(p)]
        st = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(1.0 + len(pids) * 0.01)
        done = client_load(self.port_of(name), path, conns, total, close)
        st.send_signal(signal.SIGINT)
        st.wait(timeout=30)
        with open(outf) as f:
            txt = f.read()
        calls, top = 0, []
        for line in txt.splitlines():
            m = re.match(r"^\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(?:\d+\s+)?(\w+)\s*$", line)
            if m:
                if m.group(2) == "total":
                    calls = int(m.group(1))
                else:
                    top.append((int(m.group(1)), m.group(2)))
        top.sort(reverse=True)
        n = max(done, 1)
        return {"per_req": calls / n, "requests": done,
                "top": [(s, c / n) for c, s in top[:8]], "file": outf}


def client_load(port, path, conns, total, close):
    """Exactly `total` HTTP/1.1 GETs over `conns` connections; returns how many got a 200."""
    per = total // conns
    ok = [0]
    lock = threading.Lock()
    req = ("GET %s HTTP/1.1\r\nHost: localhost\r\n%s\r\n" %
           (path, "Connection: close\r\n" if close else "")).encode()

    def one_response(s, buf):
        while b"\r\n\r\n" not in buf:
            d = s.recv(65536)
            if not d:
                return None, b""
            buf += d
        head, _, rest = buf.partition(b"\r\n\r\n")
        m = re.search(rb"\r\ncontent-length:\s*(\d+)", head, re.I)
        need = int(m.group(1)) if m else 0
        while len(rest) < need:
            d = s.recv(1 << 20)
            if not d:
                return None, b""
            rest += d
        return head[9:12], rest[need:]

    def worker():
        s, buf, n = None, b"", 0
        for _ in range(per):
            try:
                if s is None:
                    s = socket.create_connection(("127.0.0.1", port), timeout=10)
                    buf = b""
                s.sendall(req)
                code, buf = one_response(s, buf)
                if code == b"200":
                    n += 1
                if close or code is None:
                    s.close()
                    s = None
            except OSError:
                if s:
                    s.close()
                s = None
        if s:
            s.close()
        with lock:
            ok[0] += n

    ts = [threading.Thread(target=worker) for _ in range(conns)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    return ok[0]


def fmt_rps(vals):
    if not vals:
        return "-"
    med = statistics.median(vals)
    if len(vals) == 1:
        return "%.0f" % med
    return "%.0f (%.0f-%.0f)" % (med, min(vals), max(vals))


def fmt_ms(vals):
    vals = [v for v in vals if v is not None]
    return "%.2f" % statistics.median(vals) if vals else "-"


def fmt_ratio(vals):
    vals = [v for v in vals if v]
    if not vals:
        return "-"
    if len(vals) == 1:
        return "%.2f" % vals[0]
    return "%.2f (%.2f-%.2f)" % (statistics.median(vals), min(vals), max(vals))


def version(cmd, pattern):
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True).stdout
    except OSError:
        return "?"
    m = re.search(pattern, out)
    return m.group(1) if m else out.strip().splitlines()[0]


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            m = re.search(r"model name\s*:\s*(.*)", f.read())
            model = m.group(1).strip() if m else model
    except OSError:
        pass
    return "%s, %d CPUs, Linux %s" % (model, os.cpu_count(), platform.release())


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--build", required=True, help="build directory holding src/portico")
    ap.add_argument("--quick", action="store_true", help="1 round, 4 cells, 2 s runs: a smoke run")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=3, help="seconds per wrk run")
    ap.add_argument("--threads", type=int, default=1, help="wrk threads (1 leaves a core's worth for the servers)")
    ap.add_argument("--proxies", default=",".join(PROXIES))
    ap.add_argument("--cells", default="", help="comma-separated cell names (default: all)")
    ap.add_argument("--out", default=os.path.join(HERE, "results"), help="directory for results-*.md/json")
    ap.add_argument("--no-strace", action="store_true")
    ap.add_argument("--portico-c", action="append", default=[], metavar="DIRECTIVE",
                    help="extra directive for portico only (-c), e.g. 'ProxyIOBufferSize 65536'; repeatable")
    args = ap.parse_args()
    if args.quick:
        args.rounds, args.duration = 1, 2
    cells = FULL_CELLS
    names = args.cells.split(",") if args.cells else (QUICK_CELLS if args.quick else None)
    if names:
        cells = [c for c in FULL_CELLS if c[0] in names]
    proxies = [p for p in args.proxies.split(",") if p]

    for tool in ["wrk", "nginx"] + (["haproxy"] if "haproxy" in proxies else []) + \
            (["apache2"] if any(p.startswith("httpd") for p in proxies) else []):
        if not shutil.which(tool):
            sys.exit("bench: %s not found (run tests/bench/run.sh as root to install it)" % tool)

    b = Bench(args)
    started = datetime.datetime.now()
    results = {}  # (cell, proxy) -> list of per-round dicts
    extra = {}
    try:
        b.make_htdocs()
        b.start("backend")
        for p in proxies:
            if p != "direct":
                b.start(p)
                time.sleep(0.5)
        print("bench: dir %s; backend :%d/:%d; %s" % (b.dir, b.b1, b.b2, ", ".join(
            "%s :%d (first answer after %.0f ms)" % (p, b.ports[p], b.startup_ms[p]) for p in proxies if p != "direct")),
            flush=True)
        # Warm-up: fill every proxy's backend pool and page in its code.
        for p in proxies:
            b.wrk(p, "/small", 16, [], 1)
        for rnd in range(args.rounds):
            order = proxies[rnd % len(proxies):] + proxies[:rnd % len(proxies)]
            for cell, path, conns, headers in cells:
                for p in order:
                    r = b.wrk(p, path, conns, headers, args.duration, mem_probe=(conns == 256))
                    r["round"] = rnd
                    results.setdefault((cell, p), []).append(r)
                    print("round %d %-18s %-14s %9.0f req/s  p50 %.2f ms  p99 %.2f ms  errors %d  cpu %s us/req%s" % (
                        rnd + 1, cell, p, r["rps"], r["p50"] or 0, r["p99"] or 0, r["errors"],
                        "%.1f" % r["cpu_us"] if r["cpu_us"] else "-",
                        "  pss %d KiB" % r["mem"][0] if r["mem"] else ""), flush=True)
        # System calls per proxied request (strace slows the proxy; only the counts matter).
        extra["syscalls"] = {}
        if not args.no_strace and shutil.which("strace"):
            jobs = [("portico", "/small", 16, 4000, False), ("portico", "/small", 16, 1600, True),
                    ("portico", "/1m", 4, 200, False)]
            if not args.quick:
                jobs += [(p, "/small", 16, 4000, False) for p in ("nginx", "haproxy", "httpd-prefork")]
                jobs += [(p, "/1m", 4, 200, False) for p in ("nginx", "haproxy")]
            for p, path, conns, total, close in jobs:
                if p not in proxies:
                    continue
                s = b.strace_count(p, path, conns, total, close)
                key = "%s %s%s" % (p, path, " close" if close else "")
                extra["syscalls"][key] = s
                print("syscalls %-24s %.1f per request (%d requests): %s" % (
                    key, s["per_req"], s["requests"],
                    ", ".join("%s %.1f" % (n, c) for n, c in s["top"])), flush=True)
        # Start-up with the sample config's pool size (StartServers 5), the proxy already
        # configured for the benchmark started with 280 workers above.
        small_pool = ["-c", "StartServers 5", "-c", "MinSpareServers 5", "-c", "MaxSpareServers 10"]
        extra["startup_small_pool"] = {}
        for p in [x for x in ("portico", "httpd-prefork") if x in proxies]:
            extra["startup_small_pool"][p] = b.startup_trials(p, small_pool)
        # Graceful restart under load: errors counted across a USR1 issued mid-run.
        extra["graceful"] = {}
        for p in [x for x in ("portico", "httpd-prefork", "nginx") if x in proxies]:
            sig = signal.SIGHUP if p == "nginx" else signal.SIGUSR1
            pid = b.procs[p].pid
            r = b.wrk(p, "/small", 16, [], max(args.duration, 4), during=lambda: os.kill(pid, sig))
            extra["graceful"][p] = {"rps": r["rps"], "errors": r["errors"], "requests": r["requests"],
                                    "raw": r["raw"]}
            print("graceful %-14s %d requests, %d errors" % (p, r["requests"], r["errors"]), flush=True)
            time.sleep(2)
    finally:
        b.stop_all()
    extra["switchcost"] = switch_cost(b.dir)
    report(args, b, cells, proxies, results, extra, started)
    if not os.environ.get("BENCH_KEEP"):
        shutil.rmtree(b.dir, ignore_errors=True)


def switch_cost(workdir):
    """Per-hop cost of a ring of N processes / threads on one CPU (switchcost.c), after every
    server has stopped: how much this machine charges for what a prefork worker does twice per
    request. {} when no C compiler is there."""
    cc = shutil.which("cc") or shutil.which("gcc")
    exe = os.path.join(workdir, "switchcost")
    if cc is None or subprocess.run([cc, "-O2", "-pthread", "-o", exe, os.path.join(HERE, "switchcost.c")],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        return {}
    out = {}
    for n in (2, 16, 64, 256):
        for mode in ("procs", "threads"):
            r = subprocess.run([exe, str(n), mode], capture_output=True, text=True, timeout=120)
            f = r.stdout.split()
            if r.returncode == 0 and len(f) == 3:
                out["%d %s" % (n, mode)] = float(f[2])
    print("switch cost (us per hop): " + ", ".join("%s %.1f" % kv for kv in out.items()), flush=True)
    return out


def report(args, b, cells, proxies, results, extra, started):
    versions = {
        "portico": version([b.portico, "-v"], r"portico/(\S+)"),
        "httpd": version(["apache2", "-v"], r"Apache/(\S+)"),
        "nginx": version(["nginx", "-v"], r"nginx/(\S+)"),
        "haproxy": version(["haproxy", "-v"], r"version (\S+)"),
        "wrk": version(["wrk", "-v"], r"wrk (\S+)"),
    }
    L = []
    L.append("Run %s on %s; %s. %d round(s) x %d s per cell, wrk -t%d, keep-alive unless noted, "
             "%s mode." % (started.strftime("%Y-%m-%d %H:%M"), platform.node() or "?", machine(),
                           args.rounds, args.duration, args.threads, "quick" if args.quick else "full"))
    if args.portico_c:
        L.append("portico run with extra directives: " + "; ".join(args.portico_c) + ".")
    L.append("Versions: " + ", ".join("%s %s" % kv for kv in versions.items()) + ".")
    L.append("")
    L.append("Requests/s, median (min-max) over rounds:")
    L.append("")
    L.append("| cell | " + " | ".join(proxies) + " |")
    L.append("|---" * (len(proxies) + 1) + "|")
    for cell, *_ in cells:
        row = [fmt_rps([r["rps"] for r in results.get((cell, p), [])]) for p in proxies]
        L.append("| %s | %s |" % (cell, " | ".join(row)))
    L.append("")
    L.append("Latency p50 / p99 in ms (median over rounds), errors (sum over rounds), CPU us per request "
             "(all of the proxy's processes; `direct` is the backend's):")
    L.append("")
    L.append("| cell | " + " | ".join(proxies) + " |")
    L.append("|---" * (len(proxies) + 1) + "|")
    for cell, *_ in cells:
        row = []
        for p in proxies:
            rs = results.get((cell, p), [])
            if not rs:
                row.append("-")
                continue
            cpu = [r["cpu_us"] for r in rs if r["cpu_us"]]
            row.append("%s / %s, %d err, %s us" % (fmt_ms([r["p50"] for r in rs]), fmt_ms([r["p99"] for r in rs]),
                                                   sum(r["errors"] for r in rs),
                                                   "%.0f" % statistics.median(cpu) if cpu else "-"))
        L.append("| %s | %s |" % (cell, " | ".join(row)))
    L.append("")
    # Ratios within the same round.
    if "portico" in proxies:
        others = [p for p in proxies if p != "portico"]
        L.append("portico / peer (requests/s ratio computed within each round; median (min-max)); "
                 "the `direct` column is portico / direct, the fraction of the ceiling:")
        L.append("")
        L.append("| cell | " + " | ".join(others) + " |")
        L.append("|---" * (len(others) + 1) + "|")
        for cell, *_ in cells:
            row = []
            mine = {r["round"]: r["rps"] for r in results.get((cell, "portico"), [])}
            for p in others:
                theirs = {r["round"]: r["rps"] for r in results.get((cell, p), [])}
                row.append(fmt_ratio([mine[k] / theirs[k] for k in mine if k in theirs and theirs[k]]))
            L.append("| %s | %s |" % (cell, " | ".join(row)))
        L.append("")
    mem_cell = [c for c in cells if c[2] == 256]
    if mem_cell:
        L.append("Memory at c=256 (sampled mid-run): sum of PSS over all processes, largest private "
                 "(clean+dirty) of one worker, process count:")
        L.append("")
        L.append("| proxy | PSS total | worker private max | processes | page tables (not in PSS) |")
        L.append("|---|---|---|---|---|")
        for p in proxies:
            ms = [r["mem"] for r in results.get((mem_cell[0][0], p), []) if r["mem"]]
            if ms:
                L.append("| %s | %.1f MiB | %.2f MiB | %d | %.1f MiB |" % (
                    p + (" (backend)" if p == "direct" else ""), statistics.median(m[0] for m in ms) / 1024,
                    statistics.median(m[1] for m in ms) / 1024, ms[-1][2],
                    statistics.median(m[3] for m in ms) / 1024))
        L.append("")
    L.append("Start to first served request: " + ", ".join(
        "%s %.0f ms" % (p, b.startup_ms[p]) for p in proxies if p in b.startup_ms) + ".")
    if extra.get("startup_small_pool"):
        L.append("With StartServers 5 (the sample config's pool), median of 3 starts: " + ", ".join(
            "%s %.0f ms" % kv for kv in extra["startup_small_pool"].items()) + ".")
    if extra.get("graceful"):
        L.append("Graceful restart mid-run (c=16, small): " + ", ".join(
            "%s %d errors in %d requests" % (p, g["errors"], g["requests"]) for p, g in extra["graceful"].items()) + ".")
    if extra.get("syscalls"):
        L.append("")
        L.append("System calls per proxied request (strace -c -f over a fixed number of requests):")
        L.append("")
        L.append("| proxy, request | per request | top calls per request |")
        L.append("|---|---|---|")
        for k, s in extra["syscalls"].items():
            L.append("| %s | %.1f | %s |" % (k, s["per_req"], ", ".join("%s %.1f" % t for t in s["top"][:6])))
    sc = extra.get("switchcost") or {}
    if sc:
        L.append("")
        L.append("Context-switch cost on this machine (tests/bench/switchcost.c: N processes or threads on "
                 "one CPU pass a byte around a ring of pipes; microseconds per hop, a switch plus a read and "
                 "a write). A prefork worker switches about twice per proxied keep-alive request, among as "
                 "many processes as there are busy connections:")
        L.append("")
        L.append("| N | processes | threads |")
        L.append("|---|---|---|")
        for n in (2, 16, 64, 256):
            if "%d procs" % n in sc:
                L.append("| %d | %.1f | %s |" % (n, sc["%d procs" % n],
                                                 "%.1f" % sc["%d threads" % n] if "%d threads" % n in sc else "-"))
    text = "\n".join(L) + "\n"
    print()
    print(text)
    os.makedirs(args.out, exist_ok=True)
    stamp = started.strftime("%Y%m%d-%H%M")
    tag = "quick" if args.quick else "full"
    with open(os.path.join(args.out, "results-%s-%s.md" % (stamp, tag)), "w") as f:
        f.write(text)
    raw = {"%s|%s" % k: [{x: y for x, y in r.items() if x != "raw"} for r in v] for k, v in results.items()}
    with open(os.path.join(args.out, "results-%s-%s.json" % (stamp, tag)), "w") as f:
        json.dump({"results": raw, "extra": extra, "startup_ms": b.startup_ms}, f, indent=1, default=str)


if __name__ == "__main__":
    main()
