#!/usr/bin/env python3
"""Man pages: every directive of the registry (`portico -L`) has an entry in portico.conf(5)
with the registry's contexts, and every entry is a directive portico knows; every option
`portico -h` prints is described in portico(8); every man page in the tree renders with
`groff -ww` without a warning (and with `man -l`); the README's directive table lists every
directive."""
import glob
import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from portico_test import T, SRCDIR, run_portico  # noqa: E402

CONF5 = os.path.join(SRCDIR, "man", "portico.conf.5")
PORTICO8 = os.path.join(SRCDIR, "man", "portico.8")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


def section_sort_key(name):
    return (name.lstrip("<").lower(), name)


# --------------------------------------------------------------------------------------------
# portico -L
# --------------------------------------------------------------------------------------------
REGISTRY = {}  # name -> (module file, contexts)


def list_directives():
    p = run_portico(["-L"])
    T.is_(p.returncode, 0, "portico -L exits 0")
    T.is_(p.stderr, "", "portico -L prints nothing on stderr")
    lines = p.stdout.splitlines()
    bad = []
    for line in lines:
        f = line.split(None, 2)
        if len(f) != 3 or not f[1].endswith(".c"):
            bad.append(line)
            continue
        REGISTRY[f[0]] = (f[1], f[2].strip())
    T.ok(not bad, "every -L line is 'Name module.c contexts'", "\n".join(bad[:20]))
    T.cmp_ok(len(REGISTRY), ">=", 100, "portico -L lists the whole registry (%d)" % len(REGISTRY))
    T.is_(len(REGISTRY), len(lines), "no directive is listed twice")
    names = [l.split(None, 1)[0] for l in lines if l.strip()]
    T.ok(names == sorted(names, key=section_sort_key), "portico -L is sorted by name")
    for must in ("ProxyPass", "<VirtualHost>", "<Location>", "<Proxy>", "<IfModule>",
                 "BalancerMember", "RewriteRule", "Require", "<RequireAll>", "LoadModule",
                 "Include", "SetHandler"):
        T.ok(must in REGISTRY, "portico -L lists %s" % must)
    ctx = REGISTRY.get("ProxyPass", ("", ""))[1]
    T.is_(ctx, "server config, virtual host, location", "ProxyPass contexts as the registry says")
    T.is_(REGISTRY.get("<VirtualHost>", ("",))[0], "core.c", "<VirtualHost> belongs to core.c")
    T.like(REGISTRY.get("HeartbeatListen", ("", ""))[1], r"\(top level only\)",
           "a DIRF_GLOBAL_ONLY directive says so")


# --------------------------------------------------------------------------------------------
# portico.conf(5)
# --------------------------------------------------------------------------------------------
def man_entries(text):
    """Documented directives: '.It Ic Name ...' lines outside nested lists' '.It' tags.
    Returns name -> the entry's text up to the next entry."""
    entries = {}
    lines = text.splitlines()
    starts = []
    for i, line in enumerate(lines):
        m = re.match(r'^\.It Ic ("?)(\\&)?(<?[A-Za-z][A-Za-z0-9]*>?)\1(\s|$)', line)
        if m:
            name = m.group(3)
            if name.startswith("<") and not name.endswith(">"):
                name += ">"
            starts.append((i, name))
    for k, (i, name) in enumerate(starts):
        end = starts[k + 1][0] if k + 1 < len(starts) else len(lines)
        if name in entries:
            entries[name] += "\n" + "\n".join(lines[i:end])
        else:
            entries[name] = "\n".join(lines[i:end])
    return entries


def check_conf5():
    text = read(CONF5)
    entries = man_entries(text)
    T.cmp_ok(len(entries), ">=", 100, "portico.conf(5) documents %d directives" % len(entries))
    for name in sorted(REGISTRY, key=section_sort_key):
        body = entries.get(name)
        if not T.ok(body is not None, "portico.conf(5) documents %s" % name):
            continue
        ctx = REGISTRY[name][1].replace("(top level only)", "(outside any section)")
        m = re.search(r"^\.It Context\n(.*)$", body, re.M)
        T.ok(m is not None and m.group(1).strip() == ctx,
             "portico.conf(5): %s has the registry's contexts" % name,
             "man: %r\nregistry: %r" % (m.group(1) if m else None, ctx))
        T.ok(re.search(r"^\.It Default\n\S", body, re.M) is not None,
             "portico.conf(5): %s has a default" % name)
    stale = sorted(set(entries) - set(REGISTRY))
    T.ok(not stale, "every directive portico.conf(5) documents is in the registry",
         "unknown to portico -L: %s" % ", ".join(stale))
    for must in (".Sh NAME", ".Sh DESCRIPTION", ".Sh DIRECTIVES", ".Sh EXAMPLES", ".Sh SEE ALSO"):
        T.ok(re.search("^" + re.escape(must) + "$", text, re.M), "portico.conf(5) has %s" % must[4:])


# --------------------------------------------------------------------------------------------
# portico(8) and portico -h
# --------------------------------------------------------------------------------------------
def check_portico8():
    p = run_portico(["-h"])
    T.is_(p.returncode, 0, "portico -h exits 0")
    help_text = p.stdout
    opts = set()
    for m in re.finditer(r"\[-([A-Za-z])[\] ]", help_text):  # usage line: [-D name] [-v]
        opts.add(m.group(1))
    for m in re.finditer(r"^\s+-([A-Za-z])\b", help_text, re.M):  # option lines
        opts.add(m.group(1))
    T.cmp_ok(len(opts), ">=", 13, "portico -h lists the options (%s)" % "".join(sorted(opts)))
    T.ok("L" in opts, "portico -h lists -L")
    text = read(PORTICO8)
    for o in sorted(opts):
        described = re.search(r"^\.It Fl %s(\s|$)" % o, text, re.M) or \
            re.search(r"^\.It Fl [a-zA-Z] .*, Fl %s(\s|$)" % o, text, re.M)
        T.ok(described, "portico(8) describes -%s" % o)
    for word in re.findall(r"-D([A-Z_]+)", help_text):
        T.ok(re.search(r"Fl D%s\b" % word, text), "portico(8) describes -D%s" % word)
    for cmd in ("start", "restart", "graceful", "graceful-stop", "stop"):
        T.ok(re.search(r"^\.It Cm %s$" % re.escape(cmd), text, re.M), "portico(8) describes -k %s" % cmd)
    for sig in ("SIGTERM", "SIGHUP", "SIGUSR1", "SIGWINCH"):
        T.ok(re.search(r"^\.It Dv %s\b" % sig, text, re.M), "portico(8) describes %s" % sig)
    for sec in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS", "ENVIRONMENT", "FILES",
                "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        T.ok(re.search(r"^\.Sh %s$" % sec, text, re.M), "portico(8) has %s" % sec)


# --------------------------------------------------------------------------------------------
# every man page renders
# --------------------------------------------------------------------------------------------
def check_render():
    pages = sorted(glob.glob(os.path.join(SRCDIR, "man", "*.[58]")) +
                   glob.glob(os.path.join(SRCDIR, "tools", "*.8")))
    rel = [os.path.relpath(p, SRCDIR) for p in pages]
    for must in ("man/portico.8", "man/portico.conf.5"):
        T.ok(must in rel, "%s exists" % must)
    groff = shutil.which("groff")
    man = shutil.which("man")
    env = dict(os.environ, MANWIDTH="80", MANPAGER="cat", PAGER="cat", LC_ALL="C.UTF-8")
    for page, name in zip(pages, rel):
        if groff is None:
            T.skip("groff -ww %s" % name, "groff is not installed")
        else:
            p = subprocess.run([groff, "-ww", "-man", "-Tutf8", page], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, errors="replace", timeout=60)
            T.ok(p.returncode == 0 and p.stderr == "", "groff -ww renders %s without warnings" % name,
                 p.stderr[-3000:])
            T.ok(re.search(r"^NAME$", re.sub(r".\x08", "", p.stdout), re.M),
                 "%s has a NAME section" % name)
        if man is None:
            T.skip("man -l %s" % name, "man is not installed")
        else:
            p = subprocess.run([man, "-l", page], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, errors="replace", timeout=60, env=env)
            T.ok(p.returncode == 0 and p.stderr == "" and "NAME" in p.stdout,
                 "man -l shows %s" % name, p.stderr[-3000:])


# --------------------------------------------------------------------------------------------
# README's directive table
# --------------------------------------------------------------------------------------------
def check_readme():
    text = read(os.path.join(SRCDIR, "README.md"))
    m = re.search(r"^## Directive reference\n(.*?)^## ", text, re.M | re.S)
    if not T.ok(m is not None, "README.md has a Directive reference section"):
        return
    rows = set(re.findall(r"^\| `([^`]+)` \|", m.group(1), re.M))
    missing = sorted(set(REGISTRY) - rows, key=section_sort_key)
    T.ok(not missing, "README's directive table lists every directive", ", ".join(missing))
    stale = sorted(rows - set(REGISTRY))
    T.ok(not stale, "README's directive table lists only known directives", ", ".join(stale))


T.section(list_directives)
T.section(check_conf5)
T.section(check_portico8)
T.section(check_render)
T.section(check_readme)
T.done()
