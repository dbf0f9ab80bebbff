#!/usr/bin/env python3
"""Privilege separation (issue 8): what /proc/PID/status says about the master, the workers
and the heartbeat process.

Started as root with User nobody / Group nogroup, a real backend and a health-checked balancer
member (so the heartbeat process exists):
- the master stays uid 0 with exactly cap_kill, cap_setgid, cap_setuid, cap_setpcap and
  cap_net_bind_service (effective = permitted = bounding set, nothing inheritable or ambient);
- every worker and the heartbeat process run as nobody:nogroup (real, effective, saved and
  file-system ids) with every capability set empty (bounding set included) and NoNewPrivs 1;
- a worker cannot open a root-only 0600 file (a stand-in for a private key), checked two ways:
  the worker itself serves it as static content and answers 403 while a 0644 copy answers 200
  (and the same file answers 200 once made 0644, so the 403 comes from the permission check),
  and a forked probe that takes exactly the worker's uid/gid/groups from /proc gets EACCES;
- a graceful restart adds a Listen below 1024 (cap_net_bind_service kept) and the old workers
  go away (cap_kill kept: they run under another uid);
- User given as #uid without Group switches to the user's primary group; a #uid with no
  passwd entry and no Group fails -t with the User line;
- started as root without cap_setpcap in the bounding set, portico refuses to start (its
  children could not empty their own bounding set).
Started as nobody: portico serves, warns that User/Group are ignored, and has no capability;
with the file capability cap_net_bind_service=+ep on a copy of the binary it binds a port
below 1024, the master keeps only that capability and the workers none.
Every check needs root (as in CI); without it the file is skipped."""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import (BASE_CONF, BIN, Backend, T, Portico, _wait_port, http_get,  # noqa: E402
                          pid_alive, wait_until)

CAP = {"cap_kill": 5, "cap_setgid": 6, "cap_setuid": 7, "cap_setpcap": 8,
       "cap_net_bind_service": 10}
MASTER_SET = sum(1 << CAP[n] for n in ("cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
                                       "cap_net_bind_service"))
NOBODY, NOGROUP = 65534, 65534


def status(pid):
    """/proc/PID/status as a dict (None when the process is gone)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            text = f.read()
    except OSError:
        return None
    out = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        out[k] = v.strip()
    return out


def hexcap(st, field):
    return int(st.get(field, "ffffffffffffffff"), 16)


def ids(st, field):
    return [int(x) for x in st.get(field, "").split()]


def classify(p):
    """(workers, heartbeat pids) among the master's children (the heartbeat process names
    itself "portico: hb")."""
    workers, hb = [], []
    for pid in p.children():
        st = status(pid)
        if st is None:
            continue
        (hb if st.get("Name", "").startswith("portico: hb") else workers).append(pid)
    return workers, hb


def low_free_port():
    """A free port below 1024 on 127.0.0.1 (binding needs root, which this file has)."""
    for port in range(990, 600, -7):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    return None


def probe_open_as(path, uid, gid, groups):
    """Opens path in a forked child holding exactly these credentials (setgroups, setresgid,
    setresuid from root clear every capability). Returns "ok", "EACCES" or another errno
    name."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        res = b"?"
        try:
            os.close(r)
            os.setgroups(groups)
            os.setresgid(gid, gid, gid)
            os.setresuid(uid, uid, uid)
            try:
                os.close(os.open(path, os.O_RDONLY))
                res = b"ok"
            except OSError as e:
                import errno
                res = errno.errorcode.get(e.errno, str(e.errno)).encode()
        except BaseException as e:  # noqa: BLE001 - the child must always reach _exit
            res = ("setup failed: %s" % e).encode()
        finally:
            os.write(w, res)
            os._exit(0)
    os.close(w)
    data = b""
    for _ in range(100):
        chunk = os.read(r, 256)
        if not chunk:
            break
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    return data.decode()


def check_dropped(pid, what, uid=NOBODY, gid=NOGROUP, bounding_empty=True):
    # A child just forked may still be dropping; no_new_privs is its last step.
    wait_until(lambda: (status(pid) or {}).get("NoNewPrivs") in (None, "1"), 5, 0.05)
    st = status(pid)
    if not T.ok(st is not None, "%s is alive" % what):
        return
    T.is_(ids(st, "Uid"), [uid] * 4, "%s: real/effective/saved/fs uid = %d" % (what, uid))
    T.is_(ids(st, "Gid"), [gid] * 4, "%s: real/effective/saved/fs gid = %d" % (what, gid))
    T.ok(0 not in ids(st, "Groups") or gid == 0, "%s: no supplementary group 0" % what,
         st.get("Groups"))
    for f in ("CapInh", "CapPrm", "CapEff", "CapAmb"):
        T.is_(hexcap(st, f), 0, "%s: %s = 0" % (what, f))
    if bounding_empty:
        T.is_(hexcap(st, "CapBnd"), 0, "%s: CapBnd = 0" % what)
    T.is_(st.get("NoNewPrivs"), "1", "%s: NoNewPrivs: 1" % what)


HC_CONF = """
<Proxy balancer://hc>
    BalancerMember http://127.0.0.1:{BP} hcmethod=GET hcuri=/ hcinterval=1
</Proxy>
ProxyPass /app/ balancer://hc/
HeartbeatListen 127.0.0.1:{HB}
"""


def free_udp_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def test_root_drop():
    with Backend() as be:
        conf = HC_CONF.format(BP=be.port, HB=free_udp_port())
        files = {"pub.txt": "public\n", "key.pem": "-----BEGIN PRIVATE KEY-----\nsecret\n"}
        with Portico(conf=conf, files=files, start=False) as p:
            key = os.path.join(p.docroot, "key.pem")
            os.chown(key, 0, 0)
            os.chmod(key, 0o600)
            p.launch()
            r = http_get(p.port, "/app/")
            T.is_(r.status, 200, "proxied request to a real backend after the drop")
            workers, hb = [], []

            def settle():
                nonlocal workers, hb
                workers, hb = classify(p)
                return len(workers) >= 2 and len(hb) == 1

            wait_until(settle, 10)
            T.cmp_ok(len(workers), ">=", 2, "workers running")
            T.is_(len(hb), 1, "the heartbeat process is running")

            st = status(p.pid)
            T.is_(ids(st, "Uid"), [0] * 4, "master stays uid 0")
            for f in ("CapEff", "CapPrm", "CapBnd"):
                T.is_(hex(hexcap(st, f)), hex(MASTER_SET),
                      "master %s = kill,setgid,setuid,setpcap,net_bind_service" % f)
            T.is_(hexcap(st, "CapInh"), 0, "master CapInh = 0")
            T.is_(hexcap(st, "CapAmb"), 0, "master CapAmb = 0")
            T.like(p.error_log(), r"master capabilities after start-up: "
                   r"cap_kill,cap_setgid,cap_setuid,cap_setpcap,cap_net_bind_service[+=]ep",
                   "the master logs what it kept")
            for w in workers:
                check_dropped(w, "worker %d" % w)
            for h in hb:
                check_dropped(h, "heartbeat process %d" % h)

            # The root-only file, through the worker itself (static files are opened by the
            # worker per request), with two controls.
            T.is_(http_get(p.port, "/pub.txt").status, 200, "worker serves a 0644 file")
            T.is_(http_get(p.port, "/key.pem").status, 403,
                  "worker cannot open the root-only 0600 file: 403")
            os.chmod(key, 0o644)
            T.is_(http_get(p.port, "/key.pem").status, 200,
                  "the same file made 0644 is served: the 403 was the permission check")
            os.chmod(key, 0o600)
            # And with the exact credentials the kernel reports for a worker.
            wst = status(workers[0])
            if wst is not None:
                got = probe_open_as(key, ids(wst, "Uid")[3], ids(wst, "Gid")[3], ids(wst, "Groups"))
                T.is_(got, "EACCES", "a process with a worker's uid/gid/groups and no "
                      "capability gets EACCES on the key file")
                T.is_(probe_open_as(os.path.join(p.docroot, "pub.txt"), ids(wst, "Uid")[3],
                                    ids(wst, "Gid")[3], ids(wst, "Groups")), "ok",
                      "... and can open the 0644 file (the probe works)")

            # Graceful restart: a new Listen below 1024 (cap_net_bind_service), old workers
            # signalled across uids (cap_kill).
            low = low_free_port()
            if low is None:
                T.skip("graceful restart binds a port below 1024", "no free low port")
            else:
                old = set(workers)
                p.write_conf(extra=conf + "Listen 127.0.0.1:%d\n" % low)
                p.signal(signal.SIGUSR1)
                T.ok(_wait_port(low, p.proc, 10), "after a graceful restart the master binds "
                     "port %d (cap_net_bind_service kept)" % low, p.error_log()[-2000:])
                r = http_get(low, "/pub.txt")
                T.is_(r.status, 200, "the new low port serves")
                gone = wait_until(lambda: not any(pid_alive(x) for x in old), 10)
                T.ok(gone, "old workers (uid nobody) ended on the master's signal (cap_kill)")
                nw, nhb = [], []

                def settle2():
                    nonlocal nw, nhb
                    nw, nhb = classify(p)
                    return len(nw) >= 1 and len(nhb) == 1

                wait_until(settle2, 10)
                for w in nw[:2]:
                    check_dropped(w, "new-generation worker %d" % w)
                for h in nhb:
                    check_dropped(h, "new heartbeat process %d" % h)
                st = status(p.pid)
                T.is_(hex(hexcap(st, "CapEff")), hex(MASTER_SET), "master CapEff unchanged")
            T.ok(p.stop(), "SIGTERM stops master and workers")
            T.unlike(p.error_log(), r"refuses to (serve|run)", "no child refused to start")


def test_numeric_user_no_group():
    conf = BASE_CONF.replace("User nobody\nGroup nogroup\n", "User #65534\n")
    with Portico(conf=conf, base=False) as p:
        T.is_(http_get(p.port, "/").status, 200, "User #65534 without Group: serves")
        ws = wait_until(lambda: classify(p)[0], 5) or []
        if T.ok(ws, "a worker runs"):
            check_dropped(ws[0], "worker (User #65534, no Group)")


def test_unknown_uid_needs_group():
    # A numeric User with no passwd entry and no Group: the master cannot know which group to
    # give the children, and says so at -t with the User line instead of every worker
    # refusing to serve at start.
    uid = next((u for u in range(54321, 54400) if not _has_passwd(u)), None)
    if not T.ok(uid is not None, "a uid without a passwd entry exists"):
        return
    d = tempfile.mkdtemp(prefix="portico-privsep-")
    try:
        path = os.path.join(d, "p.conf")
        with open(path, "w") as f:
            f.write("Listen 127.0.0.1:%d\nServerName localhost\nUser #%d\n" % (low_free_port(), uid))
        r = subprocess.run([BIN, "-t", "-f", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20, text=True)
        T.ok(r.returncode != 0, "-t: User #%d without Group fails (exit %d)" % (uid, r.returncode))
        T.like(r.stdout + r.stderr, r"p\.conf:3: User: uid %d has no passwd entry, so Group must be set" % uid,
               "... naming file:line and what to do")
        with open(path, "a") as f:
            f.write("Group nogroup\n")
        r = subprocess.run([BIN, "-t", "-f", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=20, text=True)
        T.is_(r.returncode, 0, "... and passes once Group is set (%s)" % (r.stdout + r.stderr).strip())
    finally:
        shutil.rmtree(d, ignore_errors=True)


def _has_passwd(uid):
    import pwd
    try:
        pwd.getpwuid(uid)
        return True
    except KeyError:
        return False


def test_no_setpcap_refuses():
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        T.skip("start without cap_setpcap", "no setpriv")
        return
    with Portico(start=False) as p:
        cmd = [setpriv, "--bounding-set", "-setpcap", "--", BIN, "-d", p.dir, "-f", p.conf_path,
               "-DFOREGROUND"]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=20,
                           text=True, errors="replace")
        T.is_(r.returncode, 1, "root without cap_setpcap in the bounding set: exit 1")
        T.like(r.stderr, r"without cap_setpcap", "... saying why")


class UserPortico(Portico):
    """Portico started as nobody (the directory is handed over to nobody first)."""

    def __init__(self, *a, binary=None, **kw):
        super().__init__(*a, **kw)
        self.binary = binary or BIN

    def launch(self):
        for root, dirs, files in os.walk(self.dir):
            for n in dirs + files:
                os.chown(os.path.join(root, n), NOBODY, NOGROUP)
        os.chown(self.dir, NOBODY, NOGROUP)
        self.out = open(os.path.join(self.dir, "stdout.txt"), "wb")
        self.err = open(os.path.join(self.dir, "stderr.txt"), "wb")
        cmd = [self.binary, "-d", self.dir, "-f", self.conf_path, "-DFOREGROUND"]
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=self.err,
                                     stdin=subprocess.DEVNULL, cwd=self.dir, user=NOBODY,
                                     group=NOGROUP, extra_groups=[])
        self.started = _wait_port(self.port, self.proc, self.start_timeout)
        self.children()


def test_as_nobody():
    with UserPortico() as p:
        if not T.ok(p.started, "started as nobody, portico serves", p.stderr_text()[-2000:]):
            return
        T.is_(http_get(p.port, "/").status, 200, "GET / as nobody")
        T.like(p.error_log(), r"started as uid 65534, not as root: User nobody / Group nogroup "
               r"ignored", "warns that User/Group are ignored")
        st = status(p.pid)
        T.is_(ids(st, "Uid"), [NOBODY] * 4, "master runs as nobody")
        T.is_(hexcap(st, "CapEff"), 0, "master CapEff = 0")
        ws = wait_until(lambda: classify(p)[0], 5) or []
        for w in ws[:2]:
            check_dropped(w, "worker %d (started as nobody)" % w, bounding_empty=False)


def test_file_capability():
    setcap = shutil.which("setcap")
    low = low_free_port()
    if setcap is None or low is None:
        T.skip("file capability cap_net_bind_service", "no setcap or no free low port")
        return
    d = tempfile.mkdtemp(prefix="portico-fcap-")
    try:
        os.chmod(d, 0o755)
        copy = os.path.join(d, "portico")
        shutil.copy2(BIN, copy)
        os.chmod(copy, 0o755)
        conf = BASE_CONF.replace("Listen 127.0.0.1:@PORT@", "Listen 127.0.0.1:%d" % low)
        # Control: without the file capability nobody cannot bind the low port.
        with UserPortico(conf=conf, base=False, binary=copy, start_timeout=5) as p:
            T.ok(not p.started, "as nobody without the file capability: port %d not bound" % low)
            p.wait_exit(10)
            T.like(p.stderr_text() + p.error_log(), r"could not bind", "... bind error reported")
        r = subprocess.run([setcap, "cap_net_bind_service=+ep", copy], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0:
            T.skip("file capability", "setcap failed: %s" % r.stdout.strip())
            return
        with UserPortico(conf=conf, base=False, binary=copy) as p:
            # UserPortico waits on p.port; the real listener is the low port.
            ok = _wait_port(low, p.proc, 10)
            if not T.ok(ok, "with cap_net_bind_service=+ep, nobody binds port %d" % low,
                        p.stderr_text()[-2000:] + p.error_log()[-2000:]):
                return
            T.is_(http_get(low, "/").status, 200, "... and serves")
            st = status(p.pid)
            T.is_(ids(st, "Uid"), [NOBODY] * 4, "master runs as nobody")
            T.is_(hex(hexcap(st, "CapEff")), hex(1 << CAP["cap_net_bind_service"]),
                  "master keeps only cap_net_bind_service (effective)")
            T.is_(hex(hexcap(st, "CapPrm")), hex(1 << CAP["cap_net_bind_service"]),
                  "master keeps only cap_net_bind_service (permitted)")
            ws = wait_until(lambda: classify(p)[0], 5) or []
            T.ok(ws, "workers run")
            for w in ws[:2]:
                check_dropped(w, "worker %d (file capability)" % w, bounding_empty=False)
    finally:
        shutil.rmtree(d, ignore_errors=True)


if os.geteuid() != 0:
    T.skip("privilege separation", "needs root (as in CI)")
else:
    T.section(test_root_drop)
    T.section(test_numeric_user_no_group)
    T.section(test_unknown_uid_needs_group)
    T.section(test_no_setpcap_refuses)
    T.section(test_as_nobody)
    T.section(test_file_capability)
T.done()
