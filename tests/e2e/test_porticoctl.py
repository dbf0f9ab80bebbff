#!/usr/bin/env python3
"""porticoctl: every action on a generated configuration with its own PidFile and logs in a
temp dir (the server daemonizes as it would in production): exit codes (LSB), start twice,
status/fullstatus, graceful and restart (generation changes, the master stays), a broken
configuration refused by graceful and restart with the -t output while the old
configuration keeps serving, pass-through of portico options, PORTICO_PIDFILE, stale pid
files, graceful-stop and stop.

porticoctl is the generated script in the build dir (PORTICO_BIN's parent's parent)."""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import (T, BIN, STATUS_BIN, Portico, generation, master_pid, children_of,  # noqa: E402
                          http_get, pid_alive, read_text, wait_until)

BUILDDIR = os.path.dirname(os.path.dirname(os.path.abspath(BIN)))
CTL = os.path.join(BUILDDIR, "tools", "porticoctl")

CONF = """\
GracefulShutdownTimeout 20
Include @DIR@/content.conf
"""

# Daemons this test started (observed through their pid files), killed at the end if a
# test left one behind.
STARTED = set()


def ctl(p, *args, env=None, timeout=60):
    e = dict(os.environ)
    e.update(PORTICO_BIN=BIN, PORTICO_STATUS=STATUS_BIN, PORTICO_CONF=p.conf_path)
    e.pop("PORTICO_PIDFILE", None)
    e.update(env or {})
    r = subprocess.run([CTL] + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=e, timeout=timeout, text=True, errors="replace", cwd=p.dir,
                       stdin=subprocess.DEVNULL)
    return r


def body(p, path="/index.html"):
    try:
        r = http_get(p.port, path, timeout=5)
        return r.status, r.body
    except OSError as e:
        return None, str(e).encode()


def set_content(p, text, broken=False):
    with open(os.path.join(p.dir, "content.conf"), "w") as f:
        f.write("# written by test_porticoctl.py\n")
        if broken:
            f.write("ProxyPass /x http://127.0.0.1:1/\nBogusDirective on\n")
    p.write_file("index.html", text)


def kill_leftovers(p):
    master_pid(p, STARTED)
    for pid in sorted(STARTED):
        if pid_alive(pid):
            T.diag("killing leftover master %d" % pid)
            kids = children_of(pid)
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
            for k in kids:
                try:
                    os.kill(k, signal.SIGKILL)
                except OSError:
                    pass


def test_arguments(p):
    r = ctl(p)
    T.is_(r.returncode, 2, "no action: exit 2")
    T.like(r.stderr, r"^Usage: porticoctl", "no action: usage on stderr")
    r = ctl(p, "frobnicate")
    T.is_(r.returncode, 2, "unknown action: exit 2")
    T.like(r.stderr, r"unknown action 'frobnicate'", "unknown action: named in the message")
    r = ctl(p, "startssl")
    T.is_(r.returncode, 3, "startssl: exit 3 (unimplemented)")
    r = ctl(p, "-h")
    T.is_(r.returncode, 0, "-h: exit 0")
    T.like(r.stdout, r"graceful-stop", "-h lists the actions")
    r = ctl(p, "-v")
    T.is_(r.returncode, 0, "-v passes through to portico")
    T.like(r.stdout, r"^Server version: portico/", "-v prints portico's version")
    r = ctl(p, "-S")
    T.is_(r.returncode, 0, "-S passes through to portico")
    T.like(r.stdout, r'^PidFile: "%s"$' % p.pidfile.replace(".", r"\."),
           "-S reads PORTICO_CONF (PidFile of the test configuration)")
    r = ctl(p, "pidfile")
    T.is_((r.returncode, r.stdout.strip()), (0, p.pidfile), "pidfile prints the configured PidFile")
    r = ctl(p, "pidfile", env={"PORTICO_PIDFILE": os.path.join(p.dir, "forced.pid")})
    T.is_(r.stdout.strip(), os.path.join(p.dir, "forced.pid"), "PORTICO_PIDFILE wins over the file")
    r = ctl(p, "status", env={"PORTICO_STOP_TIMEOUT": "soon"})
    T.is_(r.returncode, 2, "a non-numeric PORTICO_STOP_TIMEOUT: exit 2")
    r = ctl(p, "status", env={"PORTICO_BIN": os.path.join(p.dir, "no-such-portico")})
    T.is_(r.returncode, 1, "missing PORTICO_BIN: exit 1")
    T.like(r.stderr, r"not executable", "missing PORTICO_BIN: says so")


def test_configtest(p):
    for verb in ("configtest", "-t"):
        r = ctl(p, verb)
        T.is_(r.returncode, 0, "%s on a good configuration: exit 0" % verb)
        T.like(r.stderr, r"Syntax OK", "%s: Syntax OK" % verb)
    r = ctl(p, "configtest", "-C", "NoSuchDirective 1")
    T.is_(r.returncode, 1, "configtest with an extra -C option that breaks it: exit 1")
    T.like(r.stderr, r"NoSuchDirective", "extra portico options after the action reach portico")


def test_not_running(p):
    for verb in ("status", "fullstatus"):
        r = ctl(p, verb)
        T.is_(r.returncode, 7, "%s before start: exit 7 (not running)" % verb)
        T.like(r.stdout, r"portico is not running", "%s before start: says not running" % verb)
    r = ctl(p, "stop")
    T.is_(r.returncode, 0, "stop when not running: exit 0 (LSB)")
    T.like(r.stdout, r"not running", "stop when not running: says so")
    r = ctl(p, "graceful-stop")
    T.is_(r.returncode, 0, "graceful-stop when not running: exit 0")


def test_start_status(p):
    set_content(p, "generation one\n")
    t0 = time.monotonic()
    r = ctl(p, "start")
    T.is_(r.returncode, 0, "start: exit 0 (%s)" % (r.stderr.strip() or "no message"))
    pid = master_pid(p, STARTED)
    T.ok(pid is not None, "start: the PidFile names a live master when porticoctl returns (%.2fs)"
         % (time.monotonic() - t0))
    T.is_(body(p), (200, b"generation one\n"), "start: the server answers")
    r = ctl(p, "start")
    T.is_(r.returncode, 0, "start again: exit 0")
    T.like(r.stdout, r"already running", "start again: already running")
    T.is_(master_pid(p, STARTED), pid, "start again: same master")

    r = ctl(p, "status")
    T.is_(r.returncode, 0, "status: exit 0")
    T.like(r.stdout, r"\b%d\b" % pid, "status shows the master pid")
    T.like(r.stdout, r"^[._SRWKLDCGI]+$", "status shows the line of worker states")
    T.unlike(r.stdout, r"^\s*Slot\s+PID\b", "status leaves out the per-worker table")
    full = ctl(p, "fullstatus")
    T.is_(full.returncode, 0, "fullstatus: exit 0")
    T.like(full.stdout, r"^\s*Slot\s+PID\b", "fullstatus has the per-worker table")
    kids = children_of(pid)
    T.ok(kids and all(str(k) in full.stdout for k in kids),
         "fullstatus lists every worker pid (%s)" % kids)
    # Counters, times and the state letters move between the two calls: compare shapes.
    def shape(t):
        t = re.sub(r"\b(second|minute|hour|day)s\b", r"\1", re.sub(r"\d+", "#", t))
        return re.sub(r"[._SRWKLDCGI]{4,}", "L", t)
    T.ok(shape(full.stdout).startswith(shape(r.stdout.rstrip("\n"))),
         "status is the head of fullstatus (numbers and state letters aside)")
    return pid


def test_reloads(p, pid):
    g0 = generation(p)
    r = ctl(p, "graceful")
    T.is_(r.returncode, 0, "graceful: exit 0")
    g1 = wait_until(lambda: (generation(p) or 0) > (g0 or 0) and generation(p), 10)
    T.ok(g1 and g0 and g1 > g0, "graceful: generation %r -> %r" % (g0, g1))
    T.is_(master_pid(p, STARTED), pid, "graceful: same master")

    set_content(p, "generation two\n")
    r = ctl(p, "restart")
    T.is_(r.returncode, 0, "restart: exit 0")
    g2 = wait_until(lambda: (generation(p) or 0) > (g1 or 0) and generation(p), 10)
    T.ok(g2 and g1 and g2 > g1, "restart: generation %r -> %r" % (g1, g2))
    T.is_(master_pid(p, STARTED), pid, "restart: same master")
    T.is_(wait_until(lambda: body(p) == (200, b"generation two\n"), 10) and body(p),
          (200, b"generation two\n"), "restart: serves the new content")

    # A broken configuration: graceful and restart refuse it and say why.
    set_content(p, "generation three\n", broken=True)
    for verb in ("graceful", "restart"):
        r = ctl(p, verb)
        T.is_(r.returncode, 1, "%s with a broken configuration: exit 1" % verb)
        T.like(r.stderr, r"content\.conf:3: BogusDirective: ",
               "%s refused: the -t output (file:line: Directive:) is printed" % verb)
        T.like(r.stderr, r"%s refused" % verb, "%s refused: says it refused" % verb)
    time.sleep(0.5)
    T.is_(generation(p), g2, "broken configuration: the generation did not change")
    T.is_(master_pid(p, STARTED), pid, "broken configuration: same master")
    T.is_(body(p), (200, b"generation three\n"),
          "broken configuration: still served by the running server (document changed on disk)")
    T.is_(body(p, "/x")[0], 404, "broken configuration: its ProxyPass /x was never loaded")
    r = ctl(p, "status")
    T.is_(r.returncode, 1, "status with a configuration that does not load: exit 1 (PidFile unknown)")
    r = ctl(p, "status", env={"PORTICO_PIDFILE": p.pidfile})
    T.is_(r.returncode, 0, "status with PORTICO_PIDFILE works although the configuration is broken")
    set_content(p, "generation four\n")
    r = ctl(p, "graceful")
    T.is_(r.returncode, 0, "graceful after the fix: exit 0")
    g3 = wait_until(lambda: (generation(p) or 0) > (g2 or 0) and generation(p), 10)
    T.ok(g3 and g2 and g3 > g2, "graceful after the fix: generation %r -> %r" % (g2, g3))


def test_stops(p, pid):
    r = ctl(p, "graceful-stop")
    T.is_(r.returncode, 0, "graceful-stop: exit 0")
    T.ok(not pid_alive(pid), "graceful-stop: the master is gone when porticoctl returns")
    T.ok(not os.path.exists(p.pidfile), "graceful-stop: the PidFile is removed")
    r = ctl(p, "status")
    T.is_(r.returncode, 7, "status after graceful-stop: exit 7")

    # restart of a stopped server starts it (as apachectl / portico -k restart do)
    r = ctl(p, "restart")
    T.is_(r.returncode, 0, "restart when not running: exit 0")
    T.like(r.stdout, r"not running, trying to start", "restart when not running: starts it")
    pid2 = master_pid(p, STARTED)
    T.ok(pid2 is not None and pid2 != pid, "restart when not running: a new master %r" % pid2)
    T.is_(body(p), (200, b"generation four\n"), "the restarted server answers")

    # stop with a configuration that no longer loads: refused without PORTICO_PIDFILE...
    set_content(p, "generation five\n", broken=True)
    r = ctl(p, "stop")
    T.is_(r.returncode, 1, "stop with a broken configuration and no PORTICO_PIDFILE: exit 1")
    T.like(r.stderr, r"BogusDirective", "...and prints why")
    T.ok(pid_alive(pid2), "...and the server still runs")
    # ...and works with it.
    r = ctl(p, "stop", env={"PORTICO_PIDFILE": p.pidfile})
    T.is_(r.returncode, 0, "stop with PORTICO_PIDFILE although the configuration is broken: exit 0")
    T.ok(not pid_alive(pid2), "stop: the master is gone when porticoctl returns")
    set_content(p, "generation six\n")

    # a stale pid file (a process that has exited)
    dead = subprocess.Popen(["true"])
    dead.wait(10)
    with open(p.pidfile, "w") as f:
        f.write("%d\n" % dead.pid)
    r = ctl(p, "status")
    T.is_(r.returncode, 7, "status with a stale pid file: exit 7")
    T.like(r.stdout, r"stale pid file", "status with a stale pid file: says so")
    r = ctl(p, "stop")
    T.is_(r.returncode, 0, "stop with a stale pid file: exit 0")
    r = ctl(p, "start")
    T.is_(r.returncode, 0, "start over a stale pid file: exit 0 (%s)" % r.stderr.strip())
    pid3 = master_pid(p, STARTED)
    T.ok(pid3 is not None and pid3 != dead.pid, "start over a stale pid file: a live master")
    kids = children_of(pid3) if pid3 else []
    r = ctl(p, "stop")
    T.is_(r.returncode, 0, "stop: exit 0")
    T.ok(pid3 is not None and not pid_alive(pid3), "stop: the master is gone")
    T.ok(wait_until(lambda: not any(pid_alive(k) for k in kids), 10),
         "stop: its workers are gone too")


def main():
    if not os.access(CTL, os.X_OK):
        T.skip("porticoctl", "%s not built (make tools/porticoctl)" % CTL)
        T.done()
    with Portico(conf=CONF, start=False) as p:
        try:
            set_content(p, "generation zero\n")
            T.section(test_arguments, p)
            T.section(test_configtest, p)
            T.section(test_not_running, p)
            pid = test_start_status(p)
            if pid:
                T.section(test_reloads, p, pid)
                T.section(test_stops, p, pid)
            else:
                T.fail("server did not start; reload and stop tests not run",
                       read_text(p.error_log_path)[-2000:])
        finally:
            kill_leftovers(p)
    T.done()


if __name__ == "__main__":
    main()
