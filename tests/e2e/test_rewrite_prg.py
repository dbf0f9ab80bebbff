#!/usr/bin/env python3
"""RewriteMap prg: end to end: one program started by the master and shared by every worker
(a script that counts its calls), NULL and the default, a key with a newline, the program's
stderr in the ErrorLog, a program killed while serving (portico starts it again), a graceful
restart (a new program, the old one stopped) and the program stopped with portico.

The configuration is valid for httpd too (PORTICO_BIN=/usr/sbin/apache2); the restart-after-
death check is portico's own (httpd leaves a dead map program dead)."""
import os
import re
import signal
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, children_of, http_request, pid_alive, proc_stat, wait_until  # noqa: E402
from test_rewrite import RwPortico, get, portico_only  # noqa: E402

# Unbuffered answers (httpd's documented requirement); every call is counted and logged with
# the program's pid so the test can tell which instance answered.
MAP_PY = r'''#!/usr/bin/env python3
import os, sys
sys.stderr.write("prg-map-started pid=%d\n" % os.getpid())
sys.stderr.flush()
n = 0
calls = os.path.join(os.path.dirname(os.path.abspath(__file__)), "calls.log")
for line in sys.stdin:
    key = line.rstrip("\n")
    n += 1
    with open(calls, "a") as f:
        f.write("%d %s\n" % (os.getpid(), key))
    if key == "count":
        out = str(n)
    elif key == "pid":
        out = str(os.getpid())
    elif key == "none":
        out = "NULL"
    else:
        out = "v-" + key
    sys.stdout.write(out + "\n")
    sys.stdout.flush()
'''

BODY = """\
LogFormat "%P %U" pidlog
CustomLog @DIR@/pid.log pidlog
RewriteEngine On
RewriteMap m "prg:@DIR@/map.py"
RewriteRule "^/m/(.*)$" "/r/${m:$1|NOTFOUND}" [R=302,L]
"""


def loc(r):
    """The map's answer, from Location: http://host/r/ANSWER."""
    l = r.header("Location") or ""
    m = re.search(r"/r/(.*)$", l)
    return m.group(1) if m else None


def lookup(p, key):
    return loc(get(p, "/m/" + key, headers=[("Connection", "close")]))


def calls(p):
    try:
        with open(os.path.join(p.dir, "calls.log")) as f:
            return [l.split(" ", 1) for l in f.read().splitlines()]
    except OSError:
        return []


def fd_table(pid):
    """{fd: (target, access mode)} of a process (O_RDONLY 0, O_WRONLY 1, O_RDWR 2)."""
    out = {}
    try:
        names = os.listdir("/proc/%d/fd" % pid)
    except OSError:
        return out
    for name in names:
        try:
            target = os.readlink("/proc/%d/fd/%s" % (pid, name))
            with open("/proc/%d/fdinfo/%s" % (pid, name)) as f:
                flags = [l.split()[1] for l in f if l.startswith("flags:")][0]
        except (OSError, IndexError):
            continue
        out[int(name)] = (target, int(flags, 8) & 3)
    return out


def main():
    with RwPortico(BODY, dirfiles={"map.py": MAP_PY}, start_servers=4, max_workers=8, start=False) as p:
        os.chmod(os.path.join(p.dir, "map.py"), 0o755)
        p.launch()

        def basics():
            T.is_(lookup(p, "alpha"), "v-alpha", "prg map answers a key")
            T.is_(lookup(p, "none"), "NOTFOUND", "NULL from the program: the default applies")
            T.is_(lookup(p, "a%0Ab"), "NOTFOUND", "key with a newline: not found, never sent")
            T.is_(lookup(p, "after"), "v-after", "still in step afterwards")
            sent = [k for _, k in calls(p)]
            T.ok("a\nb" not in sent and "a" not in sent and "b" not in sent,
                 "the newline key never reached the program", sent)
            T.like(p.error_log(), r"prg-map-started pid=\d+", "the program's stderr goes to the ErrorLog")
        T.section(basics)

        def descriptors():
            if not portico_only("descriptors of the program and the workers"):
                return
            prog = int(lookup(p, "pid"))
            fds = fd_table(prog)
            T.is_(sorted(fds), [0, 1, 2], "the program holds only stdin, stdout, stderr: %r" % fds)
            T.ok(fds.get(0, ("", 9))[0].startswith("pipe:") and fds.get(0, ("", 9))[1] == 0,
                 "stdin: the read end of a pipe", fds.get(0))
            T.ok(fds.get(1, ("", 9))[0].startswith("pipe:") and fds.get(1, ("", 9))[1] == 1,
                 "stdout: the write end of a pipe", fds.get(1))
            T.is_(fds.get(2, ("",))[0], os.path.realpath(p.error_log_path), "stderr: the ErrorLog")
            keys, answers = fds[0][0], fds[1][0]
            # Workers write keys and read answers; the program's own ends (keys' read end,
            # answers' write end) would keep a dead program's pipes half alive.
            workers = [k for k in children_of(p.pid) if k != prog]
            wrong = {}
            for w in workers:
                for fd, (target, mode) in fd_table(w).items():
                    if (target == keys and mode != 1) or (target == answers and mode != 0):
                        wrong.setdefault(w, []).append((fd, target, mode))
            T.ok(len(workers) >= 1, "workers found (%d)" % len(workers))
            T.is_(wrong, {}, "no worker holds the program's ends of its pipes")
        T.section(descriptors)

        def shared_by_workers():
            before = len(calls(p))
            results, errors = {}, []

            def client(i):
                try:
                    for j in range(10):
                        key = "k%d-%d" % (i, j)
                        results[key] = lookup(p, key)
                except Exception as e:  # noqa: BLE001
                    errors.append(repr(e))
            threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
            T.is_(errors, [], "80 concurrent lookups raised nothing")
            wrong = {k: v for k, v in results.items() if v != "v-" + k}
            T.is_(wrong, {}, "every answer belongs to its own key (80 lookups, 8 clients)")
            c = calls(p)
            T.is_(len(c) - before, 80, "the program saw each of the 80 lookups once")
            T.is_(len({pid for pid, _ in c}), 1, "one program answered them all")
            pids = set()
            for line in open(os.path.join(p.dir, "pid.log")).read().splitlines():
                pid, _, url = line.partition(" ")
                if url.startswith("/m/k"):
                    pids.add(pid)
            T.cmp_ok(len(pids), ">=", 2, "several workers shared the one program (%d)" % len(pids))
            n = lookup(p, "count")
            T.is_(n, str(len(calls(p))), "the program's own count matches its calls")
        T.section(shared_by_workers)

        def restart_after_death():
            if not portico_only("a killed program is started again"):
                return
            pid1 = int(lookup(p, "pid"))
            st = proc_stat(pid1)
            T.ok(st is not None and st[2] == p.pid, "the program is a child of the master")
            time.sleep(1.2)  # older than a second: not a program that cannot start
            os.kill(pid1, signal.SIGKILL)
            T.ok(wait_until(lambda: "restarting it" in p.error_log(), 10),
                 "the death is logged and the program restarted")
            pid2 = lookup(p, "pid")
            T.ok(pid2 is not None and pid2 != str(pid1) and pid_alive(int(pid2)),
                 "a new program answers (%s, was %d)" % (pid2, pid1))
            T.is_(lookup(p, "count"), "2", "the new program counts from scratch")
            T.is_(lookup(p, "again"), "v-again", "workers forked before the death still use it")
        T.section(restart_after_death)

        def graceful():
            old = int(lookup(p, "pid"))
            p.signal(signal.SIGUSR1)
            T.ok(wait_until(lambda: lookup(p, "pid") not in (None, str(old)), 15),
                 "after a graceful restart a new program answers")
            T.ok(wait_until(lambda: not pid_alive(old) or (proc_stat(old) or [0, "Z"])[1] == "Z", 10),
                 "the old program was stopped")
            T.is_(lookup(p, "post"), "v-post", "lookups work after the restart")
        T.section(graceful)

        last = lookup(p, "pid")
        p.stop()
        if last is not None:
            T.ok(wait_until(lambda: not pid_alive(int(last)) or (proc_stat(int(last)) or [0, "Z"])[1] == "Z", 10),
                 "the program ends with portico")
    T.done()


if __name__ == "__main__":
    main()
