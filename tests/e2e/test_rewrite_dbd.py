#!/usr/bin/env python3
"""RewriteMap dbd:/fastdbd: end to end, against SQLite 3 (a database file the test writes)
and PostgreSQL (a throwaway cluster the test creates with initdb/pg_ctl in a temp dir, on a
free port with its unix socket in that dir, and removes afterwards, even on failure).
PostgreSQL is skipped, visibly, when its server binaries or portico's libpq support are
missing.

The configurations are valid for httpd too (PORTICO_BIN=/usr/sbin/apache2, with mod_dbd and
apr-util's sqlite3/pgsql drivers)."""
import glob
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, BIN, free_port, wait_until  # noqa: E402
from backends import IS_APACHE  # noqa: E402
from test_rewrite import rw_conf, get, portico_only, configtest  # noqa: E402
from portico_test import Portico  # noqa: E402

ROWS = [("a", "alpha"), ("b", "beta"), ("multi", "x"), ("multi", "y"), ("multi", "z"),
        ("nullv", None), ("sp ace", "with-space")]

RULES = """\
RewriteEngine On
RewriteMap d "dbd:SELECT v FROM map WHERE k = %s"
RewriteMap f "fastdbd:SELECT v FROM map WHERE k = %s"
RewriteRule "^/d/(.*)$" "/r/${d:$1|NOTFOUND}" [R=302,L]
RewriteRule "^/f/(.*)$" "/r/${f:$1|NOTFOUND}" [R=302,L]
"""


def loc(r):
    m = re.search(r"/r/(.*)$", r.header("Location") or "")
    return m.group(1) if m else None


def lookup(p, prefix, key):
    return loc(get(p, "/%s/%s" % (prefix, key), headers=[("Connection", "close")]))


def dbd_portico(dbd_lines, workers=1):
    conf = rw_conf(dbd_lines + RULES, start_servers=workers, max_workers=workers,
                   extra_modules=("dbd",))
    return Portico(conf=conf, base=False, files={"index.html": "x\n"})


def common_checks(p, label, update):
    """Lookups through one worker (so fastdbd's per-process cache is observable)."""
    T.is_(lookup(p, "d", "a"), "alpha", "%s: dbd lookup" % label)
    T.is_(lookup(p, "d", "nope"), "NOTFOUND", "%s: no row: the default" % label)
    T.is_(lookup(p, "d", "nullv"), "NOTFOUND", "%s: NULL value: the default" % label)
    T.is_(lookup(p, "d", "sp%20ace"), "with-space", "%s: key with a space" % label)
    T.is_(lookup(p, "d", "a'%20OR%20'1'='1"), "NOTFOUND", "%s: the key is a bound parameter" % label)
    seen = {lookup(p, "d", "multi") for _ in range(40)}
    T.is_(seen, {"x", "y", "z"}, "%s: several rows: one chosen at random" % label)
    T.is_(lookup(p, "f", "b"), "beta", "%s: fastdbd lookup" % label)
    T.is_(lookup(p, "f", "late"), "NOTFOUND", "%s: fastdbd miss" % label)
    update("UPDATE map SET v = 'beta2' WHERE k = 'b'", "INSERT INTO map VALUES ('late', 'here')")
    T.is_(lookup(p, "d", "b"), "beta2", "%s: dbd sees a change at once" % label)
    if portico_only("%s: fastdbd caches per process until restart" % label):
        T.is_(lookup(p, "f", "b"), "beta", "%s: fastdbd still answers from its cache" % label)
        T.is_(lookup(p, "f", "late"), "NOTFOUND", "%s: fastdbd caches misses too" % label)
    p.signal(signal.SIGUSR1)
    T.ok(wait_until(lambda: lookup(p, "f", "b") == "beta2", 15),
         "%s: after a graceful restart fastdbd reads the database again" % label)
    T.is_(lookup(p, "f", "late"), "here", "%s: and the cached miss is gone" % label)


# --------------------------------------------------------------------------------------------
def sqlite_tests():
    d = tempfile.mkdtemp(prefix="portico-dbd-")
    try:
        os.chmod(d, 0o755)  # workers run as nobody when started as root
        db = os.path.join(d, "maps.db")
        con = sqlite3.connect(db)
        con.execute("CREATE TABLE map (k TEXT, v TEXT)")
        con.executemany("INSERT INTO map VALUES (?, ?)", ROWS)
        con.commit()
        con.close()
        os.chmod(db, 0o644)

        def update(*stmts):
            c = sqlite3.connect(db)
            for s in stmts:
                c.execute(s)
            c.commit()
            c.close()
        with dbd_portico("DBDriver sqlite3\nDBDParams %s\n" % db) as p:
            common_checks(p, "sqlite3", update)
        # DBDPersist Off: a connection per lookup, so a database that goes away is noticed.
        with dbd_portico("DBDriver sqlite3\nDBDParams %s\nDBDPersist Off\n" % db) as p:
            T.is_(lookup(p, "d", "a"), "alpha", "sqlite3, DBDPersist Off: lookup")
            os.rename(db, db + ".away")
            if portico_only("sqlite3: database gone: the default, logged"):
                T.is_(lookup(p, "d", "a"), "NOTFOUND", "sqlite3: database gone: the default")
                T.like(p.error_log(), r"cannot open .*maps\.db", "sqlite3: the failure is logged")
            os.rename(db + ".away", db)
            T.is_(lookup(p, "d", "a"), "alpha", "sqlite3: database back: answers again")

        if portico_only("configuration errors"):
            rc, out, _ = configtest(rw_conf("RewriteEngine On\nRewriteMap d \"dbd:SELECT v FROM t WHERE k = %s\"\n"))
            T.ok(rc != 0 and "DBDriver" in out, "dbd: without DBDriver: a load error", out)
            rc, out, _ = configtest(rw_conf("DBDriver mysql\n"))
            T.ok(rc != 0 and "mysql" in out, "an unavailable DBDriver is refused", out)
            rc, out, _ = configtest(rw_conf("DBDriver sqlite3\nDBDParams /x.db\nRewriteEngine On\n"
                                            "RewriteMap d \"dbd:SELECT v FROM t WHERE k = %s AND j = %s\"\n"))
            T.ok(rc != 0 and "2 parameters" in out, "a query with two parameters is refused", out)
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------------------------
def pg_bindir():
    for initdb in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        b = os.path.dirname(initdb)
        if os.path.exists(os.path.join(b, "pg_ctl")):
            return b
    p = shutil.which("initdb")
    return os.path.dirname(p) if p and shutil.which("pg_ctl") else None


def portico_has_pgsql():
    if IS_APACHE:
        return os.path.exists("/usr/lib/x86_64-linux-gnu/apr-util-1/apr_dbd_pgsql.so")
    rc, out, _ = configtest(rw_conf("DBDriver pgsql\n"))
    return rc == 0


class PgCluster:
    """initdb + pg_ctl start in a temp dir, as the postgres user when we are root."""

    def __init__(self, bindir):
        self.bindir = bindir
        self.dir = None
        self.port = free_port()
        self.started = False

    def run(self, *args, check=True, timeout=60):
        cmd = list(args)
        if os.geteuid() == 0:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout,
                           cwd="/")
        if check and r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(args), r.returncode, r.stdout[-2000:]))
        return r

    def __enter__(self):
        self.dir = tempfile.mkdtemp(prefix="portico-pg-")
        try:
            os.chmod(self.dir, 0o755)
            if os.geteuid() == 0:
                shutil.chown(self.dir, "postgres", "postgres")
            data = os.path.join(self.dir, "data")
            self.run(os.path.join(self.bindir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres",
                     "--no-sync", "-E", "UTF8")
            opts = "-p %d -k %s -c listen_addresses=''" % (self.port, self.dir)
            self.started = True
            self.run(os.path.join(self.bindir, "pg_ctl"), "-D", data, "-o", opts, "-l",
                     os.path.join(self.dir, "pg.log"), "-w", "-t", "60", "start")
        except BaseException:
            self.cleanup()
            raise
        return self

    def psql(self, sql):
        psql = os.path.join(self.bindir, "psql")
        if not os.path.exists(psql):
            psql = shutil.which("psql")
        return self.run(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", self.dir, "-p", str(self.port),
                        "-U", "postgres", "-d", "postgres", "-c", sql)

    def restart(self):
        data = os.path.join(self.dir, "data")
        opts = "-p %d -k %s -c listen_addresses=''" % (self.port, self.dir)
        self.run(os.path.join(self.bindir, "pg_ctl"), "-D", data, "-o", opts, "-l",
                 os.path.join(self.dir, "pg.log"), "-w", "-t", "60", "-m", "fast", "restart")

    def cleanup(self):
        try:
            if self.started:
                self.run(os.path.join(self.bindir, "pg_ctl"), "-D", os.path.join(self.dir, "data"), "-w",
                         "-t", "30", "-m", "immediate", "stop", check=False)
        finally:
            if self.dir:
                shutil.rmtree(self.dir, ignore_errors=True)

    def __exit__(self, *a):
        self.cleanup()


def pg_tests():
    bindir = pg_bindir()
    if bindir is None:
        print("# SKIP PostgreSQL: no initdb/pg_ctl (apt-get install postgresql)", flush=True)
        T.skip("dbd against PostgreSQL", "PostgreSQL server binaries not installed")
        return
    if not portico_has_pgsql():
        print("# SKIP PostgreSQL: %s" % ("apr-util has no pgsql driver (libaprutil1-dbd-pgsql)" if IS_APACHE
                                          else "portico built without libpq (apt-get install libpq-dev, configure)"),
              flush=True)
        T.skip("dbd against PostgreSQL", "portico built without DBDriver pgsql (libpq)")
        return
    if os.geteuid() == 0:
        try:
            import pwd
            pwd.getpwnam("postgres")
        except KeyError:
            T.skip("dbd against PostgreSQL", "no postgres system user to run the cluster")
            return
    with PgCluster(bindir) as pg:
        values = ", ".join("('%s', %s)" % (k, "NULL" if v is None else "'%s'" % v) for k, v in ROWS)
        pg.psql("CREATE TABLE map (k text, v text); INSERT INTO map VALUES %s;" % values)

        def update(*stmts):
            pg.psql("; ".join(stmts) + ";")
        params = "host=%s port=%d dbname=postgres user=postgres" % (pg.dir, pg.port)
        with dbd_portico('DBDriver pgsql\nDBDParams "%s"\n' % params) as p:
            common_checks(p, "pgsql", update)
            pg.restart()
            T.is_(lookup(p, "d", "a"), "alpha", "pgsql: database restarted: the worker reconnects")
            T.unlike(p.error_log(), r"AddressSanitizer", "no sanitizer report")


def main():
    T.section(sqlite_tests)
    T.section(pg_tests)
    T.done()


if __name__ == "__main__":
    main()
