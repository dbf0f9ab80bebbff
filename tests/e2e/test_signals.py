#!/usr/bin/env python3
"""Signals and -k: graceful restart under load (zero failed requests), a bad config on
graceful keeps the old one, graceful picks up a new DocumentRoot, -k graceful/stop through the
PidFile, a killed worker is respawned, HUP restart, TERM cleans up (children, PidFile, shm),
WINCH graceful-stop finishes an in-flight request."""
import os
import re
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import (T, LoadLoop, Portico, generation, http_get, run_portico,  # noqa: E402
                          parse_status, pid_alive, slow_get, shm_segments, wait_until)

CONF = """\
GracefulShutdownTimeout 30
"""


def worker_pids(p):
    return sorted(int(w["PID"]) for w in parse_status(p.status())["workers"])


def test_graceful_under_load(p):
    g0 = generation(p)
    T.is_(g0, 1, "portico-status shows generation 1 after start")
    load = LoadLoop(p.port, seconds=8.0, expect=(b"generation one\n",))
    load.start()
    time.sleep(1.0)
    old = worker_pids(p)
    T.ok(load.is_alive() and load.ok > 0, "load running when USR1 is sent (%d ok so far)" % load.ok)
    p.signal(signal.SIGUSR1)
    g1 = wait_until(lambda: (generation(p) or 0) > g0 and generation(p), 10)
    T.ok(g1 and g1 > g0, "USR1: generation changes in portico-status (%r -> %r)" % (g0, g1))
    time.sleep(1.5)
    T.ok(load.is_alive(), "load still running when the second USR1 is sent (%d ok so far)" % load.ok)
    p.signal(signal.SIGUSR1)
    g2 = wait_until(lambda: (generation(p) or 0) > (g1 or 0) and generation(p), 10)
    T.ok(g2 and g1 and g2 > g1, "second USR1 under load: generation changes again (%r -> %r)" % (g1, g2))
    load.join(20)
    T.ok(not load.is_alive(), "load loop ended within its bound")
    T.ok(load.ok >= 50, "load loop made progress (%d ok requests)" % load.ok)
    T.is_(len(load.failures), 0, "zero failed requests across two graceful restarts (%d ok)" % load.ok)
    for f in load.failures[:10]:
        T.diag(f)
    # old workers have been replaced by new-generation ones
    replaced = wait_until(lambda: (lambda ws: ws and not (set(int(w["PID"]) for w in ws) & set(old))
                                   and all(int(w["Gen"]) == g2 for w in ws))(parse_status(p.status())["workers"]), 10)
    T.ok(replaced, "after graceful restarts every worker is a new-generation process", p.status())
    T.ok(p.alive(), "master still running after USR1")


def test_graceful_bad_config(p):
    g = generation(p)
    good_conf = open(p.conf_path).read()
    bad = good_conf + "# broken on purpose\nKeepAlive Sometimes\n"
    bad_line = bad.count("\n")
    with open(p.conf_path, "w") as f:
        f.write(bad)
    p.signal(signal.SIGUSR1)
    pat = r"portico\.conf:%d:" % bad_line
    log = wait_until(lambda: re.search(pat, p.error_log()) and p.error_log(), 10) or p.error_log()
    T.like(log, pat, "graceful with a syntax error: error log names portico.conf:%d:" % bad_line)
    T.like(log, r"KeepAlive", "... and the directive")
    T.ok(p.alive(), "master still running after the failed graceful restart")
    ok = 0
    for _ in range(10):
        try:
            ok += http_get(p.port, "/index.html").status == 200
        except Exception as e:  # noqa: BLE001
            T.diag(str(e))
    T.is_(ok, 10, "still serving with the old configuration (10/10)")
    T.is_(generation(p), g, "generation unchanged after a failed graceful restart")
    with open(p.conf_path, "w") as f:
        f.write(good_conf)


def test_graceful_new_docroot(p):
    os.makedirs(os.path.join(p.dir, "htdocs2"))
    os.chmod(os.path.join(p.dir, "htdocs2"), 0o755)
    p.write_file("index.html", "generation two\n", root=os.path.join(p.dir, "htdocs2"))
    conf = open(p.conf_path).read()
    conf = conf.replace("DocumentRoot %s/htdocs\n" % p.dir, "DocumentRoot %s/htdocs2\n" % p.dir)
    T.like(conf, r"htdocs2", "config rewritten with the new DocumentRoot")
    with open(p.conf_path, "w") as f:
        f.write(conf)
    g = generation(p)
    p.signal(signal.SIGUSR1)
    body = wait_until(lambda: (lambda r: r.body if r.body == b"generation two\n" else None)(http_get(p.port, "/")), 10)
    T.is_(body, b"generation two\n", "graceful restart with a new DocumentRoot serves the new content")
    T.cmp_ok(generation(p) or 0, ">", g or 0, "... with a new generation")


def test_k_graceful(p):
    g = generation(p)
    r = run_portico(["-d", p.dir, "-f", p.conf_path, "-k", "graceful"])
    T.is_(r.returncode, 0, "-k graceful exits 0")
    if r.returncode:
        T.diag(r.stderr)
    g2 = wait_until(lambda: (generation(p) or 0) > (g or 0) and generation(p), 10)
    T.ok(g2, "-k graceful (via the PidFile) bumps the generation (%r -> %r)" % (g, g2))
    T.is_(http_get(p.port, "/").status, 200, "serving after -k graceful")


def test_k_start_running(p):
    r = run_portico(["-d", p.dir, "-f", p.conf_path, "-k", "start"])
    T.is_(r.returncode, 0, "-k start while running exits 0, as httpd (nothing to do)")
    T.like(r.stderr, r"already running", "... saying it is already running")
    T.ok(p.alive(), "... and the running master is untouched")


def test_log_reopen(p):
    """Logs are reopened on graceful restart (logrotate: rename, then graceful)."""
    for name in ("access.log", "error.log"):
        os.rename(os.path.join(p.dir, name), os.path.join(p.dir, name + ".1"))
    g = generation(p)
    p.signal(signal.SIGUSR1)
    wait_until(lambda: (generation(p) or 0) > (g or 0), 10)
    ok = wait_until(lambda: os.path.exists(p.access_log_path) and os.path.exists(p.error_log_path), 5)
    T.ok(ok, "graceful restart re-creates renamed access and error logs")
    # old workers may still be finishing; the new generation writes to the new file
    wait_until(lambda: all(int(w["Gen"]) > (g or 0) for w in parse_status(p.status())["workers"]), 10)
    http_get(p.port, "/index.html?after-rotate")
    log = wait_until(lambda: "after-rotate" in p.access_log() and p.access_log(), 5) or p.access_log()
    T.like(log, r'"GET /index\.html\?after-rotate HTTP/1\.1" 200', "requests after the reopen go to the new access log")
    T.unlike(open(p.access_log_path + ".1").read(), r"after-rotate", "... not to the rotated file")


def test_killed_worker(p):
    before = worker_pids(p)
    T.ok(len(before) >= 2, "at least two workers before the kill (%r)" % before)
    victim = before[0]
    os.kill(victim, signal.SIGKILL)
    new = wait_until(lambda: (lambda now: now if victim not in now and set(now) - set(before) else None)(
        [k for k in p.children()]), 10)
    T.ok(new, "SIGKILL of worker %d: a new worker pid appears within 10 s" % victim,
         "children now %r, before %r" % (p.children(), before))
    pat = r"pid %d\b.*(signal|Killed)|(signal|Killed).*pid %d\b" % (victim, victim)
    log = wait_until(lambda: re.search(pat, p.error_log()) and p.error_log(), 5) or p.error_log()
    T.like(log, pat, "error log mentions the killed worker's pid and signal")
    T.like(log, r"pid %d\b.*(\b9\b|SIGKILL|Killed)" % victim, "... naming signal 9 / SIGKILL")
    T.is_(http_get(p.port, "/").status, 200, "serving after the worker was killed")


def test_hup(p):
    g = generation(p)
    kids = p.children()
    p.signal(signal.SIGHUP)
    g2 = wait_until(lambda: (generation(p) or 0) > (g or 0) and generation(p), 10)
    T.ok(g2, "HUP: generation changes (%r -> %r)" % (g, g2))
    gone = wait_until(lambda: not (set(p.children()) & set(kids)), 10)
    T.ok(gone, "HUP: all old children replaced", "old %r now %r" % (kids, p.children()))
    ok = wait_until(lambda: _get_ok(p.port), 10)
    T.ok(ok, "HUP restart serves again")
    T.ok(p.alive(), "master survives HUP (same pid %d)" % p.pid)


def _get_ok(port):
    try:
        return http_get(port, "/", timeout=3).status == 200
    except Exception:  # noqa: BLE001
        return False


def check_gone(p, kids, shm, how):
    rc = p.wait_exit(10)
    T.ok(rc is not None, "%s: master exits within 10 s (exit %r)" % (how, rc))
    left = [k for k in kids if pid_alive(k)]
    if left:
        time.sleep(1)
        left = [k for k in kids if pid_alive(k)]
    T.is_(left, [], "%s: no child left running" % how)
    T.ok(not os.path.exists(p.pidfile), "%s: PidFile removed" % how)
    T.ok(shm, "%s: the server's shm segment was known (%r)" % (how, shm))
    if shm:
        prefix = shm.lstrip("/").rsplit(".", 1)[0] + "."
        rest = [s for s in shm_segments() if s.startswith(prefix)]
        T.is_(rest, [], "%s: no /dev/shm/%s* segment left" % (how, prefix))


def test_k_stop(p):
    kids = p.children()
    shm = parse_status(p.status())["shm"]
    r = run_portico(["-d", p.dir, "-f", p.conf_path, "-k", "stop"])
    T.is_(r.returncode, 0, "-k stop exits 0")
    check_gone(p, kids, shm, "-k stop")


def test_term():
    with Portico(start_servers=4, min_spare=2, max_spare=6) as p:
        wait_until(lambda: len(p.children()) >= 4, 5)
        kids = p.children()
        T.ok(len(kids) >= 4, "TERM test: StartServers 4 children running (%d)" % len(kids))
        shm = parse_status(p.status())["shm"]
        T.ok(shm and os.path.exists("/dev/shm/" + shm.lstrip("/")), "shm segment %r exists while running" % shm)
        # a keep-alive client holding a worker must not delay TERM
        from portico_test import Conn
        c = Conn(p.port)
        c.request("GET", "/")
        t0 = time.monotonic()
        p.signal(signal.SIGTERM)
        check_gone(p, kids, shm, "TERM")
        T.cmp_ok(time.monotonic() - t0, "<", 10, "TERM: everything gone in under 10 s")
        c.close()


def test_winch():
    huge = bytes(range(256)) * (16 * 4096)  # 16 MB
    with Portico(conf=CONF, files={"index.html": "x\n", "huge.bin": huge}, start_servers=2) as p:
        kids = p.children()
        state = {"sent": False, "alive_mid": None, "n": 0}

        def progress(n):
            state["n"] = n
            if not state["sent"] and n >= 256 * 1024:
                state["sent"] = True
                state["t_winch"] = time.monotonic()
                p.signal(signal.SIGWINCH)
            elif state["sent"] and state["alive_mid"] is None and time.monotonic() - state["t_winch"] > 0.5:
                state["alive_mid"] = p.alive()

        status, headers, body, elapsed, err = slow_get(p.port, "/huge.bin", rate=4e6, timeout=40,
                                                       progress=progress)
        T.ok(state["sent"], "WINCH sent during the download")
        T.is_(status, 200, "in-flight download during WINCH: 200")
        T.ok(body == huge, "in-flight download completes intact after WINCH (%d of %d bytes, %.1f s)"
             % (len(body), len(huge), elapsed), "error %r" % err)
        T.is_(state["alive_mid"], True, "master still running 0.5 s after WINCH (waiting for the request)")
        rc = p.wait_exit(10)
        T.ok(rc is not None, "WINCH: master exits after the in-flight request (exit %r)" % rc)
        T.is_([k for k in kids if pid_alive(k)], [], "WINCH: no child left")
        T.ok(not os.path.exists(p.pidfile), "WINCH: PidFile removed")
        T.like(p.error_log(), r"SIGWINCH|graceful", "error log mentions the graceful stop")


def main():
    with Portico(conf=CONF, files={"index.html": "generation one\n"}, start_servers=3, min_spare=3,
                 max_spare=6, max_workers=20) as p:
        for fn in (test_graceful_under_load, test_graceful_bad_config, test_graceful_new_docroot,
                   test_k_graceful, test_k_start_running, test_log_reopen, test_killed_worker, test_hup, test_k_stop):
            T.section(fn, p)


T.section(main)
T.section(test_term)
T.section(test_winch)
T.done()
