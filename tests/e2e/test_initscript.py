#!/usr/bin/env python3
"""The generated LSB init script (tools/portico.init in the build dir): its LSB header, then
driven for real through start, status, reload under load (a bounded client loop during two
reloads and a refused one: zero failed requests), force-reload, try-restart, restart,
status of a dead server (1), stop, and the LSB exit codes.

The script reads its settings from a defaults file (PORTICO_DEFAULTS, here a temp file that
names the binaries and the test configuration), the way an admin would use
/etc/default/portico."""
import os
import re
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import (T, BIN, STATUS_BIN, LoadLoop, Portico, generation, master_pid,  # noqa: E402
                          children_of, http_get, pid_alive, read_text, wait_until)

BUILDDIR = os.path.dirname(os.path.dirname(os.path.abspath(BIN)))
INIT = os.path.join(BUILDDIR, "tools", "portico.init")
CTL = os.path.join(BUILDDIR, "tools", "porticoctl")

CONF = """\
GracefulShutdownTimeout 20
MaxKeepAliveRequests 0
Include @DIR@/content.conf
"""
STARTED = set()


def init(p, action, env=None, timeout=120):
    e = {k: v for k, v in os.environ.items() if not k.startswith("PORTICO")}
    e.update(PORTICOCTL=CTL, PORTICO_DEFAULTS=os.path.join(p.dir, "defaults"))
    e.update(env or {})
    args = [INIT] + ([action] if action is not None else [])
    return subprocess.run(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=e,
                          timeout=timeout, text=True, errors="replace", cwd="/",
                          stdin=subprocess.DEVNULL)


def set_content(p, text, broken=False):
    # Atomic replacement: a request during the reload must never see a half-written file.
    tmp = os.path.join(p.docroot, ".index.tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, os.path.join(p.docroot, "index.html"))
    with open(os.path.join(p.dir, "content.conf"), "w") as f:
        f.write("# written by test_initscript.py\n")
        if broken:
            f.write("NotADirective at all\n")


def test_header():
    text = read_text(INIT)
    T.ok(text.startswith("#!/bin/sh\n"), "init script: #!/bin/sh")
    T.ok(os.access(INIT, os.X_OK), "init script: executable")
    m = re.search(r"^### BEGIN INIT INFO\n(.*?)^### END INIT INFO$", text, re.S | re.M)
    T.ok(m, "LSB header block present")
    fields = {}
    last = None
    for line in (m.group(1) if m else "").splitlines():
        mm = re.match(r"#\s*([A-Za-z-]+):\s*(.*)$", line)
        if mm:
            last = mm.group(1)
            fields[last] = mm.group(2).strip()
        elif last and re.match(r"#(\t|  )\s*\S", line):
            fields[last] += " " + line[1:].strip()  # LSB continuation line
    T.is_(fields.get("Provides"), "portico", "LSB Provides: portico")
    for key in ("Required-Start", "Required-Stop"):
        T.ok(set(fields.get(key, "").split()) >= {"$network", "$remote_fs"},
             "LSB %s has $network $remote_fs (%r)" % (key, fields.get(key)))
    T.is_(fields.get("Default-Start", "").split(), ["2", "3", "4", "5"], "LSB Default-Start: 2 3 4 5")
    T.is_(fields.get("Default-Stop", "").split(), ["0", "1", "6"], "LSB Default-Stop: 0 1 6")
    T.ok(fields.get("Short-Description"), "LSB Short-Description present")
    T.ok(len(fields.get("Description", "")) > 20, "LSB Description present (continued lines joined)")
    r = subprocess.run(["sh", "-n", INIT], stderr=subprocess.PIPE, text=True, timeout=10)
    T.is_((r.returncode, r.stderr), (0, ""), "sh -n accepts the init script")
    T.unlike(text, r"@[a-zA-Z_]+@", "every @substitution@ was made")
    for tool in ("dash",):
        path = next((os.path.join(d, tool) for d in os.environ.get("PATH", "").split(":")
                     if os.access(os.path.join(d, tool), os.X_OK)), None)
        if path is None:
            T.skip("%s -n init script" % tool, "%s not installed" % tool)
            continue
        r = subprocess.run([path, "-n", INIT], stderr=subprocess.PIPE, text=True, timeout=10)
        T.is_(r.returncode, 0, "%s -n accepts the init script" % tool)


def test_codes_stopped(p):
    r = init(p, None)
    T.is_(r.returncode, 2, "no action: exit 2")
    r = init(p, "bounce")
    T.is_(r.returncode, 2, "unknown action: exit 2")
    T.like(r.stderr, r"Usage: .*start\|stop\|restart\|try-restart\|reload\|force-reload\|status",
           "unknown action: usage lists the LSB actions")
    r = init(p, "status")
    T.is_(r.returncode, 3, "status before start: 3 (not running)")
    for action in ("reload", "force-reload"):
        r = init(p, action)
        T.is_(r.returncode, 7, "%s when not running: 7" % action)
    r = init(p, "try-restart")
    T.is_(r.returncode, 0, "try-restart when not running: 0, nothing started")
    T.ok(master_pid(p, STARTED) is None, "try-restart did not start the server")
    r = init(p, "stop")
    T.is_(r.returncode, 0, "stop when not running: 0")
    missing = {"PORTICOCTL": os.path.join(p.dir, "no-porticoctl")}
    T.is_(init(p, "status", missing).returncode, 4, "porticoctl missing: status 4")
    T.is_(init(p, "start", missing).returncode, 5, "porticoctl missing: start 5 (not installed)")


def test_running(p):
    set_content(p, "one\n")
    r = init(p, "start")
    T.is_(r.returncode, 0, "start: 0 (%s)" % r.stderr.strip())
    pid = master_pid(p, STARTED)
    T.ok(pid, "start: a live master in the PidFile")
    r0 = http_get(p.port, "/index.html", timeout=5)
    T.is_((r0.status, r0.body), (200, b"one\n"), "start: serving")
    r = init(p, "start")
    T.is_(r.returncode, 0, "start when running: 0")
    T.is_(master_pid(p, STARTED), pid, "start when running: same master")
    r = init(p, "status")
    T.is_(r.returncode, 0, "status: 0 (running)")
    T.like(r.stdout, r"\b%d\b" % (pid or 0), "status prints the short scoreboard with the master pid")

    # Reload under load: two good reloads and a refused one, zero failed requests.
    g0 = generation(p)
    load = LoadLoop(p.port, seconds=12.0, max_requests=4000, expect=(b"one\n", b"two\n", b"three\n"))
    load.start()
    time.sleep(1.0)
    T.ok(load.is_alive() and load.ok > 0, "load running before the reload (%d ok)" % load.ok)
    set_content(p, "two\n")
    r = init(p, "reload")
    T.is_(r.returncode, 0, "reload under load: 0 (%s)" % r.stderr.strip())
    g1 = wait_until(lambda: (generation(p) or 0) > (g0 or 0) and generation(p), 10)
    T.ok(g1 and g0 and g1 > g0, "reload: generation %r -> %r" % (g0, g1))
    time.sleep(1.0)
    set_content(p, "three\n", broken=True)
    r = init(p, "reload")
    T.is_(r.returncode, 1, "reload with a broken configuration: 1")
    T.like(r.stderr, r"content\.conf:2: NotADirective: ",
           "reload refused: prints the configtest output")
    T.like(r.stderr, r"refused", "reload refused: says so")
    time.sleep(0.5)
    T.is_(generation(p), g1, "refused reload: generation unchanged")
    set_content(p, "three\n")
    r = init(p, "force-reload")
    T.is_(r.returncode, 0, "force-reload under load: 0")
    g2 = wait_until(lambda: (generation(p) or 0) > (g1 or 0) and generation(p), 10)
    T.ok(g2 and g1 and g2 > g1, "force-reload: generation %r -> %r" % (g1, g2))
    time.sleep(1.0)
    T.ok(load.is_alive(), "load still running after the reloads (%d ok)" % load.ok)
    load.stop_flag.set()
    load.join(20)
    T.ok(not load.is_alive(), "load loop ended within its bound")
    T.ok(load.ok >= 50, "load made progress (%d ok requests)" % load.ok)
    T.is_(len(load.failures), 0, "zero failed requests across reload, refused reload, force-reload")
    for f in load.failures[:10]:
        T.diag(f)
    T.is_(master_pid(p, STARTED), pid, "reloads kept the master")
    r3 = http_get(p.port, "/index.html", timeout=5)
    T.is_(r3.body, b"three\n", "after the reloads: new content served")

    # restart = stop + start (a new master); refused on a broken configuration.
    set_content(p, "four\n", broken=True)
    r = init(p, "restart")
    T.is_(r.returncode, 1, "restart with a broken configuration: 1, refused")
    T.is_(master_pid(p, STARTED), pid, "refused restart: the server still runs")
    set_content(p, "four\n")
    r = init(p, "restart")
    T.is_(r.returncode, 0, "restart: 0 (%s)" % r.stderr.strip())
    pid2 = master_pid(p, STARTED)
    T.ok(pid2 and pid2 != pid and not pid_alive(pid), "restart: a new master (%r -> %r)" % (pid, pid2))
    T.is_(http_get(p.port, "/index.html", timeout=5).body, b"four\n", "restart: serving")
    r = init(p, "try-restart")
    T.is_(r.returncode, 0, "try-restart when running: 0")
    pid3 = master_pid(p, STARTED)
    T.ok(pid3 and pid3 != pid2, "try-restart when running restarted it (%r -> %r)" % (pid2, pid3))

    # A dead master that left its pid file: status 1.
    kids = children_of(pid3) if pid3 else []
    if pid3:
        os.kill(pid3, signal.SIGKILL)
        for k in kids:
            try:
                os.kill(k, signal.SIGKILL)
            except OSError:
                pass
        wait_until(lambda: not pid_alive(pid3), 10)
    r = init(p, "status")
    T.is_(r.returncode, 1, "status of a killed master whose pid file is left: 1")
    r = init(p, "start")
    T.is_(r.returncode, 0, "start over the stale pid file: 0 (%s)" % r.stderr.strip())
    pid4 = master_pid(p, STARTED)
    T.ok(pid4 and pid4 != pid3, "start over the stale pid file: a new master")
    kids = children_of(pid4) if pid4 else []
    r = init(p, "stop")
    T.is_(r.returncode, 0, "stop: 0")
    T.ok(pid4 and not pid_alive(pid4), "stop: the master is gone when the script returns")
    T.ok(wait_until(lambda: not any(pid_alive(k) for k in kids), 10), "stop: the workers are gone")
    T.ok(not os.path.exists(p.pidfile), "stop: the PidFile is removed")
    r = init(p, "status")
    T.is_(r.returncode, 3, "status after stop: 3")
    r = init(p, "stop")
    T.is_(r.returncode, 0, "stop again: 0")


def kill_leftovers(p):
    master_pid(p, STARTED)
    for pid in sorted(STARTED):
        if pid_alive(pid):
            T.diag("killing leftover master %d" % pid)
            kids = children_of(pid)
            for victim in [pid] + kids:
                try:
                    os.kill(victim, signal.SIGKILL)
                except OSError:
                    pass


def main():
    if not (os.access(INIT, os.X_OK) and os.access(CTL, os.X_OK)):
        T.skip("init script", "%s or %s not built" % (INIT, CTL))
        T.done()
    T.section(test_header)
    with Portico(conf=CONF, start=False, start_servers=3, max_workers=20) as p:
        try:
            set_content(p, "zero\n")
            with open(os.path.join(p.dir, "defaults"), "w") as f:
                f.write("# sourced by the init script\nPORTICO_BIN=%s\nPORTICO_STATUS=%s\n"
                        "PORTICO_CONF=%s\nPORTICO_STOP_TIMEOUT=20\n" % (BIN, STATUS_BIN, p.conf_path))
            T.section(test_codes_stopped, p)
            T.section(test_running, p)
        finally:
            kill_leftovers(p)
    T.done()


if __name__ == "__main__":
    main()
