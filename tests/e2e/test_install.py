#!/usr/bin/env python3
"""make install / make uninstall into a temp DESTDIR from the build dir (PORTICO_BIN's
parent's parent), with the prefix the build was configured with (the generated scripts carry
those paths): every file is there, the scripts carry the real paths, the man pages render
with groff -ww, the installed portico accepts the installed portico.conf (-t, -d pointing at
the DESTDIR sysconfdir), the installed porticoctl starts, queries (through the installed
portico-status) and stops the installed portico, the systemd unit passes
`systemd-analyze verify` (skipped visibly when it cannot run), a reinstall keeps an edited
portico.conf, and make uninstall removes everything but an edited portico.conf."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import (T, BIN, SRCDIR, children_of, free_port, http_get, pid_alive,  # noqa: E402
                          read_text, wait_until)

BUILDDIR = os.path.dirname(os.path.dirname(os.path.abspath(BIN)))
DIRS = ("prefix", "exec_prefix", "bindir", "sbindir", "sysconfdir", "datarootdir", "mandir",
        "localstatedir", "runstatedir")


def make_vars():
    """The install directories from the build dir's Makefile, ${var} references expanded."""
    raw = {}
    for line in read_text(os.path.join(BUILDDIR, "Makefile")).splitlines():
        m = re.match(r"^([a-z_]+) = (.*)$", line)
        if m and m.group(1) in DIRS:
            raw[m.group(1)] = m.group(2).strip()
    out = {}
    for k in raw:
        v = raw[k]
        for _ in range(10):  # bounded expansion
            v2 = re.sub(r"\$[{(]([a-z_]+)[})]", lambda m: raw.get(m.group(1), ""), v)
            if v2 == v:
                break
            v = v2
        out[k] = v
    return out


def run_make(target, destdir, timeout=300):
    return subprocess.run(["make", "-s", "-C", BUILDDIR, target, "DESTDIR=" + destdir],
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", timeout=timeout)


def expected_files(v):
    d = lambda k, *p: os.path.join(v[k], *p)  # noqa: E731
    return {
        d("sbindir", "portico"): True,  # value: must be executable
        d("sbindir", "porticoctl"): True,
        d("bindir", "portico-status"): True,
        d("bindir", "portico-txt2dbm"): True,
        d("bindir", "portico-heartbeat"): True,
        d("sysconfdir", "portico.conf"): False,
        d("sysconfdir", "init.d", "portico"): True,
        d("prefix", "lib", "systemd", "system", "portico.service"): False,
        d("mandir", "man8", "portico.8"): False,
        d("mandir", "man8", "porticoctl.8"): False,
        d("mandir", "man8", "portico-status.8"): False,
        d("mandir", "man8", "portico-txt2dbm.8"): False,
        d("mandir", "man5", "portico.conf.5"): False,
    }


def files_under(root):
    out = []
    for dp, _, fns in os.walk(root):
        out += [os.path.join(dp, f) for f in fns]
    return sorted(out)


def test_files(dest, v):
    for path, exe in sorted(expected_files(v).items()):
        full = dest + path
        T.ok(os.path.isfile(full), "installed: %s" % path)
        if exe:
            T.ok(os.access(full, os.X_OK), "executable: %s" % path)
    ctl = read_text(dest + os.path.join(v["sbindir"], "porticoctl"))
    T.like(ctl, r"^PORTICO_BIN=\$\{PORTICO_BIN:-%s\}$" % re.escape(os.path.join(v["sbindir"], "portico")),
           "installed porticoctl finds portico in sbindir")
    T.like(ctl, r"^PORTICO_CONF=\$\{PORTICO_CONF:-%s\}$" % re.escape(os.path.join(v["sysconfdir"], "portico.conf")),
           "installed porticoctl finds portico.conf in sysconfdir")
    T.like(ctl, r"^PORTICO_STATUS=\$\{PORTICO_STATUS:-%s\}$" % re.escape(os.path.join(v["bindir"], "portico-status")),
           "installed porticoctl finds portico-status in bindir")
    initscript = read_text(dest + os.path.join(v["sysconfdir"], "init.d", "portico"))
    T.like(initscript, r"^PORTICOCTL=\$\{PORTICOCTL:-%s\}$" % re.escape(os.path.join(v["sbindir"], "porticoctl")),
           "installed init script uses the installed porticoctl")
    unit = read_text(dest + os.path.join(v["prefix"], "lib", "systemd", "system", "portico.service"))
    for name, text in (("porticoctl", ctl), ("init script", initscript), ("unit", unit)):
        T.unlike(text, r"@[a-zA-Z_]+@", "%s: every @substitution@ was made" % name)
    T.is_(read_text(dest + os.path.join(v["sysconfdir"], "portico.conf")),
          read_text(os.path.join(SRCDIR, "conf", "portico.conf")), "portico.conf is the sample")


def test_manpages(dest, v):
    groff = shutil.which("groff")
    for path in sorted(p for p in expected_files(v) if re.search(r"\.[58]$", p)):
        if groff is None:
            T.skip("groff -ww %s" % os.path.basename(path), "groff not installed")
            continue
        r = subprocess.run([groff, "-ww", "-man", "-Tutf8", dest + path], stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, errors="replace", timeout=30)
        T.is_((r.returncode, r.stderr), (0, ""), "groff -ww renders %s without warnings"
              % os.path.basename(path))


def test_unit(dest, v):
    unit_path = dest + os.path.join(v["prefix"], "lib", "systemd", "system", "portico.service")
    unit = read_text(unit_path)
    keys = {}
    for line in unit.splitlines():
        m = re.match(r"^([A-Za-z]+)=(.*)$", line)
        if m:
            keys.setdefault(m.group(1), []).append(m.group(2))
    T.is_(keys.get("Type"), ["forking"], "unit: Type=forking")
    pidfile = (keys.get("PIDFile") or [""])[0]
    T.ok(pidfile.startswith("/"), "unit: PIDFile= set (%s)" % pidfile)
    T.ok("PORTICO_PIDFILE=" + pidfile in keys.get("Environment", []),
         "unit: PORTICO_PIDFILE matches PIDFile= (porticoctl forces portico's PidFile to it)")
    ctl = os.path.join(v["sbindir"], "porticoctl")
    T.is_(keys.get("ExecStartPre"), [ctl + " configtest"], "unit: ExecStartPre runs the configtest")
    T.is_(keys.get("ExecStart"), [ctl + " start"], "unit: ExecStart")
    T.is_(keys.get("ExecReload"), [ctl + " graceful"], "unit: ExecReload = graceful")
    T.is_(keys.get("ExecStop"), [ctl + " graceful-stop"], "unit: ExecStop = graceful-stop")
    stop_to = int((keys.get("TimeoutStopSec") or ["0"])[0])
    env_to = [int(e.split("=", 1)[1]) for e in keys.get("Environment", [])
              if e.startswith("PORTICO_STOP_TIMEOUT=")]
    T.ok(stop_to > 0 and env_to and env_to[0] < stop_to,
         "unit: TimeoutStopSec (%d) above porticoctl's own wait (%r)" % (stop_to, env_to))
    T.ok("NoNewPrivileges" not in keys and "MemoryDenyWriteExecute" not in keys,
         "unit: no NoNewPrivileges/MemoryDenyWriteExecute (setuid helpers, PCRE2 JIT)")
    T.is_(keys.get("WantedBy"), ["multi-user.target"], "unit: WantedBy=multi-user.target")

    sa = shutil.which("systemd-analyze")
    if sa is None:
        T.skip("systemd-analyze verify", "systemd-analyze not installed (apt-get install systemd)")
        return
    # verify checks that the Exec programs exist: point them into the DESTDIR.
    tmp = tempfile.mkdtemp(prefix="portico-unit-")
    try:
        copy = os.path.join(tmp, "portico.service")
        with open(copy, "w") as f:
            f.write(unit.replace(v["sbindir"] + "/", dest + v["sbindir"] + "/"))
        env = dict(os.environ, MANPATH=dest + v["mandir"], SYSTEMD_LOG_COLOR="0")
        try:
            r = subprocess.run([sa, "verify", copy], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, errors="replace", timeout=60, env=env)
        except (OSError, subprocess.TimeoutExpired) as e:
            T.skip("systemd-analyze verify", "cannot run here: %s" % e)
            return
        if r.returncode != 0 and re.search(r"(?i)failed to (initialize|set up|connect)|not been booted|"
                                           r"No such file or directory.*(/run/systemd|dbus)", r.stdout):
            T.skip("systemd-analyze verify", "cannot run in this container: %s" % r.stdout.strip()[:200])
            return
        T.is_((r.returncode, r.stdout.strip()), (0, ""), "systemd-analyze verify: clean")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def test_run_installed(dest, v):
    sysconf = dest + v["sysconfdir"]
    portico = dest + os.path.join(v["sbindir"], "portico")
    r = subprocess.run([portico, "-d", sysconf, "-f", os.path.join(sysconf, "portico.conf"), "-t"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace", timeout=30)
    T.is_(r.returncode, 0, "installed portico -t -d DESTDIR/sysconfdir on the installed portico.conf: 0")
    T.like(r.stderr, r"Syntax OK", "installed portico.conf: Syntax OK (%s)" % r.stderr.strip()[:300])

    # Run the installed server through the installed porticoctl, on a free port and a private
    # PORTICO_VAR (the sample's own knob for where the pid file and logs go).
    var = tempfile.mkdtemp(prefix="portico-inst-var-")
    os.chmod(var, 0o755)
    os.makedirs(os.path.join(var, "htdocs"))
    os.chmod(os.path.join(var, "htdocs"), 0o755)
    with open(os.path.join(var, "htdocs", "index.html"), "w") as f:
        f.write("installed\n")
    os.chmod(os.path.join(var, "htdocs", "index.html"), 0o644)
    port = free_port()
    conf = os.path.join(var, "portico.conf")
    text = read_text(os.path.join(sysconf, "portico.conf"))
    text = re.sub(r"^Listen 127\.0\.0\.1:8080$", "Listen 127.0.0.1:%d" % port, text, flags=re.M)
    with open(conf, "w") as f:
        f.write(text)
    env = {k: val for k, val in os.environ.items() if not k.startswith("PORTICO")}
    env.update(PORTICO_BIN=portico, PORTICO_CONF=conf,
               PORTICO_STATUS=dest + os.path.join(v["bindir"], "portico-status"))
    ctl = dest + os.path.join(v["sbindir"], "porticoctl")
    extra = ["-d", sysconf, "-C", "Define PORTICO_VAR " + var]

    def run(*args):
        return subprocess.run([ctl] + list(args) + extra, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, errors="replace", timeout=60, env=env, stdin=subprocess.DEVNULL)

    pid = None
    try:
        r = run("start")
        T.is_(r.returncode, 0, "installed porticoctl start: 0 (%s)" % r.stderr.strip()[:300])
        txt = read_text(os.path.join(var, "portico.pid")).strip()
        pid = int(txt) if txt.isdigit() else None
        T.ok(pid and pid_alive(pid), "installed server: master running, PidFile under PORTICO_VAR")
        resp = http_get(port, "/index.html", timeout=5)
        T.is_((resp.status, resp.body), (200, b"installed\n"), "installed server answers")
        r = run("status")
        T.is_(r.returncode, 0, "installed porticoctl status (installed portico-status): 0")
        T.like(r.stdout, r"\b%d\b" % (pid or 0), "status shows the master pid")
        r = run("graceful")
        T.is_(r.returncode, 0, "installed porticoctl graceful: 0")
        kids = children_of(pid) if pid else []
        r = run("stop")
        T.is_(r.returncode, 0, "installed porticoctl stop: 0")
        T.ok(pid and not pid_alive(pid), "installed server stopped")
        T.ok(wait_until(lambda: not any(pid_alive(k) for k in kids), 10), "its workers are gone")
    finally:
        if pid and pid_alive(pid):
            for victim in [pid] + children_of(pid):
                try:
                    os.kill(victim, signal.SIGKILL)
                except OSError:
                    pass
        shutil.rmtree(var, ignore_errors=True)


def main():
    if shutil.which("make") is None or not os.path.isfile(os.path.join(BUILDDIR, "Makefile")):
        T.skip("make install", "no make or no Makefile in %s" % BUILDDIR)
        T.done()
    v = make_vars()
    T.ok(all(k in v for k in DIRS), "install directories read from %s/Makefile" % BUILDDIR)
    dest = tempfile.mkdtemp(prefix="portico-destdir-")
    conf = dest + os.path.join(v["sysconfdir"], "portico.conf")
    try:
        # Cycle 1: install, check, run, uninstall: nothing is left.
        r = run_make("install", dest)
        T.is_(r.returncode, 0, "make install DESTDIR=%s: 0" % dest)
        if r.returncode != 0:
            T.diag(r.stdout[-3000:])
        T.section(test_files, dest, v)
        T.section(test_manpages, dest, v)
        T.section(test_unit, dest, v)
        T.section(test_run_installed, dest, v)
        r = run_make("uninstall", dest)
        T.is_(r.returncode, 0, "make uninstall: 0")
        left = files_under(dest)
        T.is_(left, [], "make uninstall of an untouched install leaves no file (the sample "
              "portico.conf goes too)")

        # Cycle 2: an edited portico.conf survives a reinstall and the uninstall.
        r = run_make("install", dest)
        T.is_(r.returncode, 0, "make install again: 0")
        with open(conf, "a") as f:
            f.write("\n# edited by the admin\nServerAdmin admin@example.org\n")
        edited = read_text(conf)
        r = run_make("install", dest)
        T.is_(r.returncode, 0, "make install over an edited portico.conf: 0")
        T.is_(read_text(conf), edited, "make install keeps the edited portico.conf")
        r = run_make("uninstall", dest)
        T.is_(r.returncode, 0, "make uninstall with an edited portico.conf: 0")
        left = [p[len(dest):] for p in files_under(dest)]
        T.is_(left, [os.path.join(v["sysconfdir"], "portico.conf")],
              "make uninstall removes every file but the edited portico.conf")
        T.is_(read_text(conf), edited, "the edited portico.conf is intact")
    finally:
        shutil.rmtree(dest, ignore_errors=True)
    T.done()


if __name__ == "__main__":
    main()
