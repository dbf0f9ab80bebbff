#!/usr/bin/env python3
"""portico -t / -S / -M / -C / -c: good and bad configuration files, the sample config, and the
same sample accepted by Debian's apache2 -t."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, SRCDIR, BIN, free_ports, run_portico  # noqa: E402

ports = free_ports(2)
PORT, PORT2 = ports

tmp = tempfile.mkdtemp(prefix="portico-e2e-conf-")


def write(rel, text):
    path = os.path.join(tmp, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text.replace("@DIR@", tmp).replace("@PORT@", str(PORT)).replace("@PORT2@", str(PORT2)))
    return path


def ptest(conf, *extra):
    return run_portico(["-t", "-d", tmp, "-f", conf] + list(extra))


GOOD = """\
# A good configuration using every config-language feature the e2e suite checks.
ServerRoot "@DIR@"
LoadModule mpm_prefork_module /usr/lib/apache2/modules/mod_mpm_prefork.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule rewrite_module /usr/lib/apache2/modules/mod_rewrite.so
Define PORT @PORT@
Define SITE defined
Listen 127.0.0.1:${PORT}
ServerName main.example
PidFile @DIR@/run/portico.pid
ErrorLog @DIR@/error.log
DocumentRoot @DIR@/htdocs
# a glob and a ServerRoot-relative path
Include conf.d/*.conf
Include extra/relative.conf
IncludeOptional @DIR@/nothing-here/*.conf
IncludeOptional optional.d/*.conf
<IfModule proxy_module>
    <VirtualHost *:${PORT}>
        ServerName ifmodule-proxy.example
    </VirtualHost>
</IfModule>
<IfModule !mod_nonexistent.c>
    <VirtualHost *:${PORT}>
        ServerName ifmodule-negated.example
    </VirtualHost>
</IfModule>
<IfModule mod_nonexistent.c>
    ThisDirectiveDoesNotExist here
</IfModule>
<IfModule !mod_proxy.c>
    ThisDirectiveDoesNotExistEither here
</IfModule>
<IfDefine X>
    <VirtualHost *:${PORT}>
        ServerName ifdefine-x.example
    </VirtualHost>
</IfDefine>
<IfDefine !X>
    NotADirectiveUnlessXIsMissing
</IfDefine>
<VirtualHost *:${PORT}>
    ServerName ${SITE}.example
</VirtualHost>
"""

good = write("portico.conf", GOOD)
os.makedirs(os.path.join(tmp, "htdocs"))
os.makedirs(os.path.join(tmp, "run"))
write("conf.d/a.conf", "<VirtualHost *:${PORT}>\n    ServerName glob-a.example\n</VirtualHost>\n")
write("conf.d/b.conf", "<VirtualHost *:${PORT}>\n    ServerName glob-b.example\n</VirtualHost>\n")
write("conf.d/ignored.txt", "NotADirectiveInATxtFile\n")
write("extra/relative.conf", "<VirtualHost *:${PORT}>\n    ServerName relative.example\n</VirtualHost>\n")
os.makedirs(os.path.join(tmp, "optional.d"))


def test_good():
    r = ptest(good, "-DX")
    T.is_(r.returncode, 0, "-t on the good config with -DX exits 0")
    T.like(r.stderr, r"^Syntax OK$", "-t prints Syntax OK on stderr")
    T.unlike(r.stderr, r"(?i)error|unknown", "-t on the good config prints no error")

    r = run_portico(["-t", "-d", tmp, "-f", "portico.conf", "-DX"], cwd="/")
    T.is_(r.returncode, 0, "-f with a relative path is ServerRoot-relative (-d)")
    T.like(r.stderr, r"^Syntax OK$", "... Syntax OK")

    r = ptest(good)
    T.is_(r.returncode, 1, "without -DX, <IfDefine !X> content is read and fails")
    lineno = GOOD.splitlines().index("    NotADirectiveUnlessXIsMissing") + 1
    T.like(r.stderr, r"^%s:%d: NotADirectiveUnlessXIsMissing: " % (re.escape(good), lineno),
           "... with the file:line of the line inside <IfDefine !X>")
    T.unlike(r.stderr, r"Syntax OK", "... and no Syntax OK")

    s = run_portico(["-S", "-d", tmp, "-f", good, "-DX"])
    T.is_(s.returncode, 0, "-S exits 0")
    out = s.stdout + s.stderr
    T.like(out, r"127\.0\.0\.1:%d" % PORT, "-S lists the listener")
    for name in ("glob-a.example", "glob-b.example", "relative.example", "ifmodule-proxy.example",
                 "ifmodule-negated.example", "ifdefine-x.example", "defined.example"):
        T.like(out, r"namevhost %s\b" % re.escape(name), "-S lists vhost %s" % name)
    T.like(out, r"default server glob-a\.example\b", "-S: the first vhost (from the glob, sorted) is the default")
    T.unlike(out, r"\$\{", "-S shows no unexpanded ${VAR}")
    T.like(out, r"Main server: main\.example", "-S shows the main server name")
    a = out.find("glob-a.example")
    b = out.find("glob-b.example")
    T.ok(0 <= a < b, "Include glob reads files in sorted order (a before b)")
    T.unlike(out, r"NotADirectiveInATxtFile", "glob *.conf does not read the .txt file")


def test_modules():
    r = run_portico(["-M"])
    T.is_(r.returncode, 0, "-M exits 0")
    T.like(r.stdout, r"^\s*proxy_module \(static\)$", "-M lists proxy_module (static)")
    T.like(r.stdout, r"^\s*mpm_prefork_module \(static\)$", "-M lists mpm_prefork_module (static)")
    T.unlike(r.stdout, r"mpm_event_module", "-M does not list mpm_event_module")


def test_cmdline_directives():
    base = write("cmdline.conf", "ServerRoot @DIR@\nServerName cmd.example\nPidFile @DIR@/run/c.pid\n"
                                 "ErrorLog @DIR@/error.log\nListen 127.0.0.1:${LPORT}\n")
    r = ptest(base)
    T.is_(r.returncode, 1, "config using an undefined ${LPORT} in Listen fails without -C")
    r = run_portico(["-S", "-d", tmp, "-f", base, "-C", "Define LPORT %d" % PORT])
    T.is_(r.returncode, 0, "-C 'Define LPORT N' is processed before the file")
    T.like(r.stdout, r"127\.0\.0\.1:%d" % PORT, "... and the Define reaches Listen")
    r = run_portico(["-S", "-d", tmp, "-f", base, "-C", "Define LPORT %d" % PORT,
                     "-c", "Listen 127.0.0.1:%d" % PORT2])
    T.is_(r.returncode, 0, "-c 'Listen ...' after the file is accepted")
    T.like(r.stdout, r"127\.0\.0\.1:%d" % PORT2, "-S shows the -c listener")
    r = ptest(base, "-C", "Define LPORT %d" % PORT, "-c", "Frobnicate on")
    T.is_(r.returncode, 1, "-c with an unknown directive fails -t")
    T.like(r.stderr, r"Frobnicate: unknown directive", "... naming the directive")
    r = ptest(base, "-C", "Define LPORT %d" % PORT, "-C", "KeepAlive sometimes")
    T.is_(r.returncode, 1, "-C with a bad value fails -t")
    T.like(r.stderr, r"KeepAlive: ", "... naming the directive")


HEAD = "ServerRoot @DIR@\nServerName bad.example\nPidFile @DIR@/run/bad.pid\nErrorLog @DIR@/error.log\n"
# (name, body lines appended after HEAD (4 lines), expected line, message regex)
BAD = [
    ("unknown directive", "Listen 127.0.0.1:@PORT@\nFrobnicate on\n", 6,
     r"Frobnicate: .*unknown directive"),
    ("wrong argument count", "Listen 127.0.0.1:@PORT@\nKeepAlive\n", 6, r"KeepAlive: .*takes one argument"),
    ("too many arguments", "Listen 127.0.0.1:@PORT@\nStartServers 1 2\n", 6,
     r"StartServers: .*takes one argument"),
    ("bad number", "Listen 127.0.0.1:@PORT@\nTimeout abc\n", 6, r"Timeout: .*'abc'.*(number|integer)"),
    ("bad flag", "Listen 127.0.0.1:@PORT@\nKeepAlive maybe\n", 6, r"KeepAlive: .*On or Off"),
    ("unclosed section", "Listen 127.0.0.1:@PORT@\n<VirtualHost *:@PORT@>\nServerName v\n", 6,
     r"<VirtualHost>.*(not closed|Expected </VirtualHost>)"),
    ("mismatched close", "Listen 127.0.0.1:@PORT@\n<VirtualHost *:@PORT@>\n</Location>\n", 7,
     r"Expected </VirtualHost> but saw </Location>"),
    ("close without open", "Listen 127.0.0.1:@PORT@\n</VirtualHost>\n", 6, r"</VirtualHost> without matching"),
    ("bad Listen port", "Listen 127.0.0.1:99999\n", 5, r"Listen: .*port"),
    ("bad Listen address", "Listen foo:bar\n", 5, r"Listen: "),
    ("unknown module in LoadModule",
     "LoadModule foo_module /usr/lib/apache2/modules/mod_foo.so\nListen 127.0.0.1:@PORT@\n", 5,
     r"LoadModule: .*foo_module"),
    ("mpm_event_module refused",
     "LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\nListen 127.0.0.1:@PORT@\n", 5,
     r"LoadModule: .*mpm_event_module.*prefork"),
    ("directive in the wrong context (Listen in VirtualHost)",
     "Listen 127.0.0.1:@PORT@\n<VirtualHost *:@PORT@>\nListen 127.0.0.1:@PORT2@\n</VirtualHost>\n", 7,
     r"Listen: cannot occur within <VirtualHost> section"),
    ("directive in the wrong context (User in Location)",
     "Listen 127.0.0.1:@PORT@\n<Location />\nUser nobody\n</Location>\n", 7, r"User: .*<Location>"),
    ("missing Include file", "Listen 127.0.0.1:@PORT@\nInclude @DIR@/does-not-exist.conf\n", 6,
     r"Include: .*does-not-exist\.conf"),
    ("Include glob with no match", "Listen 127.0.0.1:@PORT@\nInclude @DIR@/empty.d/*.conf\n", 6,
     r"Include: "),
    ("unknown directive inside a true <IfModule>",
     "Listen 127.0.0.1:@PORT@\n<IfModule mod_proxy.c>\nProxyFrob on\n</IfModule>\n", 7, r"ProxyFrob: "),
]


def test_bad():
    os.makedirs(os.path.join(tmp, "empty.d"), exist_ok=True)
    for i, (name, body, line, msg) in enumerate(BAD):
        path = write("bad/bad%02d.conf" % i, HEAD + body)
        r = ptest(path)
        T.is_(r.returncode, 1, "bad config (%s): -t exits 1" % name)
        T.like(r.stderr, r"^%s:%d: %s" % (re.escape(path), line, msg),
               "bad config (%s): '%s:%d: ...' with the message" % (name, os.path.basename(path), line))
        T.unlike(r.stderr, r"Syntax OK", "bad config (%s): no Syntax OK" % name)

    # an error inside an included file names that file and its line
    inc = write("bad/inc/broken.conf", "# comment\n\nKeepAlive On\nBrokenDirective 1\n")
    path = write("bad/includer.conf", HEAD + "Listen 127.0.0.1:@PORT@\nInclude bad/inc/*.conf\n")
    r = ptest(path)
    T.is_(r.returncode, 1, "error in an included file: exit 1")
    T.like(r.stderr, r"^%s:4: BrokenDirective: " % re.escape(inc), "... reported as included-file:line")

    # line numbers survive backslash continuations
    path = write("bad/cont.conf", HEAD + "Listen \\\n  127.0.0.1:@PORT@\nServerAdmin \\\n  a@b\nNope 1\n")
    r = ptest(path)
    T.like(r.stderr, r"^%s:9: Nope: " % re.escape(path), "line count includes continuation lines")



def test_sample():
    sample = os.path.join(SRCDIR, "conf", "portico.conf")
    if not os.path.exists(sample):
        T.fail("sample %s exists" % sample)
        return
    var = os.path.join(tmp, "sample-var")
    os.makedirs(os.path.join(var, "htdocs"), exist_ok=True)
    r = run_portico(["-t", "-d", SRCDIR, "-f", sample, "-C", "Define PORTICO_VAR %s" % var])
    T.is_(r.returncode, 0, "sample conf/portico.conf passes portico -t")
    T.like(r.stderr, r"Syntax OK", "... Syntax OK", )
    T.unlike(r.stderr, r"^\S+:\d+: ", "... without file:line warnings")

    apache = "/usr/sbin/apache2"
    if not os.path.exists(apache):
        T.skip("apache2 -t accepts the sample", "no /usr/sbin/apache2")
        return
    env = dict(os.environ)
    # Debian's apache2 wants these from /etc/apache2/envvars; a self-contained sample needs none
    # but the binary refuses to start without APACHE_RUN_DIR etc. being sane.
    env.setdefault("APACHE_RUN_DIR", var)
    env.setdefault("APACHE_LOCK_DIR", var)
    env.setdefault("APACHE_LOG_DIR", var)
    try:
        a = subprocess.run([apache, "-t", "-d", SRCDIR, "-f", sample, "-C", "Define PORTICO_VAR %s" % var],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30, env=env)
    except (OSError, subprocess.TimeoutExpired) as e:
        T.fail("apache2 -t runs", str(e))
        return
    T.is_(a.returncode, 0, "apache2 -t accepts the sample conf/portico.conf (httpd variant)")
    T.like(a.stdout + a.stderr, r"Syntax OK", "... apache2 says Syntax OK")
    if a.returncode != 0:
        T.diag(a.stdout + a.stderr)


try:
    for fn in (test_good, test_modules, test_cmdline_directives, test_bad, test_sample):
        T.section(fn)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
T.done()
