#!/usr/bin/env python3
"""RewriteMap end to end: txt (edited while serving), rnd (distribution, also over backends),
int (toupper/tolower/escape/unescape), dbm built with tools/portico-txt2dbm, and the
`${map:key|default}` defaults. prg and dbd maps have their own files (test_rewrite_prg.py,
test_rewrite_dbd.py).

Valid for httpd too (PORTICO_BIN=/usr/sbin/apache2; the dbm file is then built by httxt2dbm)."""
import collections
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, BIN, STATUS_BIN  # noqa: E402
from backends import BackendProc, served_by, request_report, IS_APACHE  # noqa: E402
from test_rewrite import RwPortico, get, portico_only  # noqa: E402


def txt2dbm_tool():
    """tools/portico-txt2dbm of the build under test (httpd's httxt2dbm when testing httpd)."""
    if IS_APACHE:
        return "/usr/sbin/httxt2dbm"
    cands = [os.environ.get("PORTICO_TXT2DBM_BIN"),
             os.path.join(os.path.dirname(STATUS_BIN), "portico-txt2dbm"),
             os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(BIN))), "tools", "portico-txt2dbm")]
    for c in cands:
        if c and os.path.isfile(c) and os.access(c, os.X_OK):
            return c
    return None


def loc_query(r):
    loc = r.header("Location") or ""
    return loc.partition("?")[2]


def write_later(path, text, bump=2):
    """Rewrites a map file and gives it an mtime clearly later than before (whole seconds
    apart, so a 1-second mtime granularity still sees the change)."""
    old = os.stat(path).st_mtime if os.path.exists(path) else time.time()
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)
    t = max(time.time(), old) + bump
    os.utime(path, (t, t))


TXT = """\
# a comment line, then key value pairs
alpha   one
beta    two   trailing words are ignored
  gamma indented-lines-are-skipped
Alpha   upper-case-key
alpha   second-alpha-is-not-used
empty
"""


def txt_map():
    body = """\
RewriteEngine On
RewriteMap  vals  txt:@DIR@/vals.txt
RewriteMap  other txt:@DIR@/other.txt
RewriteRule ^/m/(.*)$    /landing?v=${vals:$1|none}  [R,L]
RewriteRule ^/nd/(.*)$   /landing?v=${vals:$1}x      [R,L]
RewriteRule ^/nest/(.*)$ /landing?v=${vals:$1|${other:$1|deep}} [R,L]
"""
    with RwPortico(body, dirfiles={"vals.txt": TXT, "other.txt": "zeta from-other\n"}) as p:
        for key, want, name in (("alpha", "v=one", "a txt key"), ("beta", "v=two", "only the first token is the value"),
                                ("gamma", "v=none", "a line starting with whitespace is skipped"),
                                ("Alpha", "v=upper-case-key", "keys are case-sensitive"),
                                ("nosuch", "v=none", "a miss gives the default"),
                                ("empty", "v=none", "a key without a value is a miss")):
            r = get(p, "/m/" + key)
            T.is_(loc_query(r), want, "txt: %s (%s)" % (name, key))
        r = get(p, "/nd/nosuch")
        T.is_(loc_query(r), "v=x", "txt: a miss without a default is empty")
        r = get(p, "/nest/zeta")
        T.is_(loc_query(r), "v=from-other", "nested map in the default")
        r = get(p, "/nest/omega")
        T.is_(loc_query(r), "v=deep", "nested default of the nested map")

        # edited while serving: every worker follows the new file
        path = os.path.join(p.dir, "vals.txt")
        for i in range(4):
            get(p, "/m/alpha")  # warm the per-worker caches
        write_later(path, TXT.replace("alpha   one", "alpha   uno").replace("beta    two", "delta   four"))
        got = [loc_query(get(p, "/m/alpha")) for _ in range(8)]
        T.is_(got, ["v=uno"] * 8, "txt edited while serving (later mtime): the next requests follow it")
        T.is_(loc_query(get(p, "/m/beta")), "v=none", "... a removed key is gone")
        T.is_(loc_query(get(p, "/m/delta")), "v=four", "... a new key is found")
        write_later(path, "alpha tres\n")
        got = [loc_query(get(p, "/m/alpha")) for _ in range(8)]
        T.is_(got, ["v=tres"] * 8, "txt edited a second time")
        # the map file disappears: the lookup fails, the default applies, the server lives
        os.rename(path, path + ".gone")
        r = get(p, "/m/alpha")
        T.is_((r.status, loc_query(r)), (302, "v=none"), "txt file removed while serving: lookups fail to the default")
        os.rename(path + ".gone", path)
        t = time.time() + 4
        os.utime(path, (t, t))
        T.is_(loc_query(get(p, "/m/alpha")), "v=tres", "... and the file back is read again")


def rnd_map():
    with BackendProc("echo") as b1, BackendProc("echo") as b2:
        rnd = "pool a|b|c\nweighted x|x|x|y\nsingle only\nbackends 127.0.0.1:%d|127.0.0.1:%d\n" % (b1.port, b2.port)
        body = """\
RewriteEngine On
RewriteMap  choose rnd:@DIR@/rnd.txt
RewriteRule ^/r/(.*)$   /landing?s=${choose:$1|miss}  [R,L]
RewriteRule ^/rp/(.*)$  http://${choose:backends}/rp/$1 [P,L]
<Proxy http://127.0.0.1:%d/>
    Require all granted
</Proxy>
""" % b1.port
        with RwPortico(body, dirfiles={"rnd.txt": rnd}) as p:
            n = 60
            c = collections.Counter(loc_query(get(p, "/r/pool")) for _ in range(n))
            T.is_(sorted(c), ["s=a", "s=b", "s=c"], "rnd: only the listed alternatives, each seen in %d requests" % n)
            T.ok(all(v >= 5 for v in c.values()), "rnd: roughly uniform (each >= 5 of %d)" % n, dict(c))
            c = collections.Counter(loc_query(get(p, "/r/weighted")) for _ in range(n))
            T.ok(set(c) == {"s=x", "s=y"} and c["s=x"] > c["s=y"], "rnd: a repeated alternative weighs more",
                 dict(c))
            T.is_(loc_query(get(p, "/r/single")), "s=only", "rnd: one alternative")
            T.is_(loc_query(get(p, "/r/nosuch")), "s=miss", "rnd: miss gives the default")
            c = collections.Counter()
            lines = set()
            for i in range(30):
                r = get(p, "/rp/x%d" % i)
                c[served_by(r)] += 1
                rep = request_report(r)
                lines.add(rep["line"].replace("x%d" % i, "N") if rep else None)
            want = {"127.0.0.1:%d" % b1.port, "127.0.0.1:%d" % b2.port}
            T.is_(set(c), want, "rnd over backends with [P]: both backends used", )
            T.is_(lines, {"GET /rp/N HTTP/1.1"}, "... each with the rewritten path")


def int_maps():
    body = """\
RewriteEngine On
RewriteMap  up    int:toupper
RewriteMap  down  int:tolower
RewriteMap  esc   int:escape
RewriteMap  unesc int:unescape
RewriteRule ^/up/(.*)$    /landing?u=${up:$1}     [R,L]
RewriteRule ^/down/(.*)$  /landing?d=${down:$1}   [R,L]
RewriteRule ^/esc/(.*)$   /landing?e=${esc:$1}    [R,NE,L]
RewriteCond %{QUERY_STRING} ^v=(.*)$
RewriteRule ^/unesc$      /landing/${unesc:%1}    [R,NE,L,QSD]
RewriteRule ^/hostlc/     http://${down:%{HTTP_HOST}}/x [R,L]
"""
    with RwPortico(body) as p:
        T.is_(loc_query(get(p, "/up/abc-Def_9")), "u=ABC-DEF_9", "int:toupper")
        T.is_(loc_query(get(p, "/down/ABC-Def_9")), "d=abc-def_9", "int:tolower")
        T.is_(loc_query(get(p, "/esc/a%20b%22c/d")), "e=a%20b%22c/d", "int:escape (httpd's URI escaping, lower-case hex)")
        r = get(p, "/unesc?v=a%2Fb%41")
        T.is_(r.header("Location"), "http://localhost:%d/landing/a/bA" % p.port, "int:unescape decodes everything, %2F too")
        r = get(p, "/hostlc/", host="WWW.Example.TEST")
        T.is_(r.header("Location"), "http://www.example.test/x", "int:tolower on %{HTTP_HOST} (a variable as the key)")


def dbm_map():
    tool = txt2dbm_tool()
    if tool is None:
        T.fail("tools/portico-txt2dbm found (PORTICO_TXT2DBM_BIN, beside portico-status or ../tools)")
        return
    body = """\
RewriteEngine On
RewriteMap  db dbm=gdbm:@DIR@/map.dbm
RewriteRule ^/d/(.*)$   /landing?v=${db:$1|none}  [R,L]
"""
    dflt = """\
RewriteEngine On
RewriteMap  db dbm:@DIR@/map.dbm
RewriteRule ^/d/(.*)$   /landing?v=${db:$1|none}  [R,L]
"""
    src = "# comment\nalpha one\nbeta two trailing\nAlpha upper\n"
    p = RwPortico(body, start=False, dirfiles={"map.txt": src})
    with p:
        dbm = os.path.join(p.dir, "map.dbm")
        r = subprocess.run([tool, "-f", "GDBM", "-i", os.path.join(p.dir, "map.txt"), "-o", dbm],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=20)
        T.is_(r.returncode, 0, "%s -f GDBM -i map.txt -o map.dbm" % os.path.basename(tool)) or T.diag(r.stdout)
        T.ok(os.path.exists(dbm), "... writes the GDBM file")
        os.chmod(dbm, 0o644)
        p.launch()
        for key, want in (("alpha", "v=one"), ("beta", "v=two"), ("Alpha", "v=upper"), ("gamma", "v=none")):
            T.is_(loc_query(get(p, "/d/" + key)), want, "dbm=gdbm: %s" % key)
        # rebuilt while serving (httxt2dbm updates an existing file; build a new one and move it in)
        for i in range(4):
            get(p, "/d/alpha")
        src2 = os.path.join(p.dir, "map2.txt")
        with open(src2, "w") as f:
            f.write("alpha uno\ngamma three\n")
        new = os.path.join(p.dir, "map-new.dbm")
        r = subprocess.run([tool, "-f", "GDBM", "-i", src2, "-o", new], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=20)
        os.chmod(new, 0o644)
        old = os.stat(dbm).st_mtime
        os.rename(new, dbm)
        t = max(time.time(), old) + 2
        os.utime(dbm, (t, t))
        got = [loc_query(get(p, "/d/alpha")) for _ in range(6)]
        T.is_(got, ["v=uno"] * 6, "dbm rebuilt while serving: the next requests follow it")
        T.is_(loc_query(get(p, "/d/gamma")), "v=three", "... new key found")
    if not portico_only("dbm: (no type) is GDBM in portico"):
        return
    p = RwPortico(dflt, start=False, dirfiles={"map.txt": src})
    with p:
        dbm = os.path.join(p.dir, "map.dbm")
        r = subprocess.run([tool, "-i", os.path.join(p.dir, "map.txt"), "-o", dbm], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=20)
        T.is_(r.returncode, 0, "portico-txt2dbm without -f (default type)") or T.diag(r.stdout)
        os.chmod(dbm, 0o644)
        p.launch()
        T.is_(loc_query(get(p, "/d/alpha")), "v=one", "dbm: (default type) reads portico-txt2dbm's default output")


def main():
    for fn in (txt_map, rnd_map, int_maps, dbm_map):
        T.section(fn)
    T.done()


if __name__ == "__main__":
    main()
