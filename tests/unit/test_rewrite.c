/* Unit tests of the mod_rewrite engine (rewrite.c, rewrite_vars.c): table-driven cases
 * loaded as configuration text (so rewrite_conf.c parses them), run against in-memory
 * requests. Each case names the outcome ("LOCAL /path [query]", "PT ...", "PROXY url",
 * "R 302 url", "STATUS 403", "DECLINED") and optional side checks, one per line:
 *   E:NAME=VALUE   env var equals       E:NAME!   env var unset     E~NAME=prefix
 *   C:cookies      Set-Cookie values joined by " | "                C~substring
 *   V:names        the Vary list ("" = none)       T:type  H:handler  N:1 (nocanon) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "conf.h"
#include "conn.h"
#include "env.h"
#include "rewrite.h"
#include "tap.h"
#include "testconf.h"
#include "util.h"

static char errbuf[16384];
static char mapdir[128];
static struct arena *A;
static struct conn CONN;
static struct conf_listener LISTENER;

#define DEFAULT_PREFIX "Listen 127.0.0.1:8080\nServerName front.example\nRewriteEngine On\n"

struct tcase {
    const char *prefix; /* NULL = DEFAULT_PREFIX */
    const char *rules;
    int vh; /* 0 = main server, 1 = the first <VirtualHost> */
    const char *path;
    const char *query;
    const char *hdrs; /* "Name: value|Name: value" */
    const char *want;
    const char *checks;
};

/* Replaces @MAPDIR@ in s. */
static char *subst_mapdir(const char *s)
{
    size_t cap = strlen(s) * 2 + 256;
    char *out = malloc(cap);
    size_t o = 0;
    for (const char *p = s; *p;) {
        if (strncmp(p, "@MAPDIR@", 8) == 0) {
            o += (size_t)snprintf(out + o, cap - o, "%s", mapdir);
            p += 8;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
    return out;
}

static void build_request(struct request *r, const struct conf *c, const struct conf_server *srv,
                          const char *path, const char *query, const char *hdrs)
{
    memset(r, 0, sizeof(*r));
    r->arena = A;
    r->c = &CONN;
    CONN.conf = c;
    CONN.listener = &LISTENER;
    r->srv = srv;
    r->uri = arena_strdup(A, path);
    r->path = (char *)r->uri;
    r->h.method = "GET";
    r->h.m = HTTP_GET;
    r->h.protocol = "HTTP/1.1";
    r->h.version = 11;
    r->h.path = (char *)r->uri;
    r->h.query = query ? arena_strdup(A, query) : NULL;
    r->h.target = query ? arena_printf(A, "%s?%s", path, query) : (char *)r->uri;
    r->h.request_line = arena_printf(A, "GET %s HTTP/1.1", r->h.target);
    clock_gettime(CLOCK_REALTIME, &r->start);
    struct http_header *h = arena_calloc(A, 16, sizeof(*h));
    int n = 0, have_host = 0;
    char *list = arena_strdup(A, hdrs ? hdrs : "");
    for (char *p = list; p && *p && n < 15;) {
        char *end = strchr(p, '|');
        if (end)
            *end = '\0';
        char *colon = strchr(p, ':');
        if (colon) {
            *colon = '\0';
            h[n].name = p;
            h[n].value = colon + 1 + (colon[1] == ' ');
            h[n].name_len = strlen(h[n].name);
            h[n].value_len = strlen(h[n].value);
            if (util_strcaseeq(p, "Host")) {
                have_host = 1;
                r->h.host = h[n].value;
            }
            n++;
        }
        p = end ? end + 1 : NULL;
    }
    if (!have_host) {
        h[n].name = "Host";
        h[n].value = "front.example";
        r->h.host = h[n].value;
        n++;
    }
    r->h.headers = h;
    r->h.n_headers = n;
}

static const char *outcome_text(const struct rewrite_result *res)
{
    switch (res->outcome) {
    case RW_DECLINED:
        return "DECLINED";
    case RW_LOCAL:
    case RW_PASSTHROUGH:
        if (res->query != NULL)
            return arena_printf(A, "%s %s [%s]", res->outcome == RW_LOCAL ? "LOCAL" : "PT",
                                res->uri, res->query);
        return arena_printf(A, "%s %s", res->outcome == RW_LOCAL ? "LOCAL" : "PT", res->uri);
    case RW_PROXY:
        return arena_printf(A, "PROXY %s", res->url);
    case RW_REDIRECT:
        return arena_printf(A, "R %d %s", res->status, res->url);
    case RW_STATUS:
        return arena_printf(A, "STATUS %d", res->status);
    }
    return "?";
}

static const char *cookies_text(const struct rewrite_result *res)
{
    const char *s = "";
    for (int i = 0; i < res->n_set_cookies; i++)
        s = arena_printf(A, "%s%s%s", s, i ? " | " : "", res->set_cookies[i]);
    return s;
}

static void run_checks(const struct tcase *t, int idx, struct request *r,
                       const struct rewrite_result *res)
{
    if (t->checks == NULL)
        return;
    char *list = arena_strdup(A, t->checks);
    for (char *p = list; p && *p;) {
        char *end = strchr(p, '\n');
        if (end)
            *end = '\0';
        char kind = p[0], op = p[1];
        char *arg = p + 2;
        if (kind == 'E') {
            char *eq = strchr(arg, '=');
            if (op == ':' && arg[strlen(arg) - 1] == '!' && eq == NULL) {
                arg[strlen(arg) - 1] = '\0';
                ok(env_get(r, arg) == NULL, "case %d (%s): env %s unset", idx, t->path, arg);
            } else if (eq != NULL) {
                *eq = '\0';
                const char *v = env_get(r, arg);
                if (op == ':')
                    is_str(v, eq + 1, "case %d (%s): env %s", idx, t->path, arg);
                else
                    ok(v && strncmp(v, eq + 1, strlen(eq + 1)) == 0,
                       "case %d (%s): env %s starts with '%s' (got '%s')", idx, t->path, arg,
                       eq + 1, v ? v : "(null)");
            }
        } else if (kind == 'C') {
            const char *c = cookies_text(res);
            if (op == ':')
                is_str(c, arg, "case %d (%s): cookies", idx, t->path);
            else
                ok(strstr(c, arg) != NULL, "case %d (%s): cookies contain '%s' (got '%s')", idx,
                   t->path, arg, c);
        } else if (kind == 'V') {
            is_str(res->vary ? res->vary : "", arg, "case %d (%s): vary", idx, t->path);
        } else if (kind == 'T') {
            is_str(res->type ? res->type : "", arg, "case %d (%s): type", idx, t->path);
        } else if (kind == 'H') {
            is_str(res->handler ? res->handler : "", arg, "case %d (%s): handler", idx, t->path);
        } else if (kind == 'M') {
            ok(arena_used(A) <= (size_t)strtol(arg, NULL, 10) << 20,
               "case %d: at most %s MiB used (%zu)", idx, arg, arena_used(A));
        } else if (kind == 'N') {
            is_int(res->nocanon, strtol(arg, NULL, 10), "case %d (%s): nocanon", idx, t->path);
        } else if (kind == 'W') {
            ok(res->why && strncmp(res->why, arg, strlen(arg)) == 0,
               "case %d (%s): why starts with '%s' (got '%s')", idx, t->path, arg,
               res->why ? res->why : "(null)");
        }
        p = end ? end + 1 : NULL;
    }
}

static void run_case(const struct tcase *t, int idx)
{
    char *prefix = subst_mapdir(t->prefix ? t->prefix : DEFAULT_PREFIX);
    char *rules = subst_mapdir(t->rules);
    struct conf *c = testconf_load("test_rewrite", prefix, rules, errbuf, sizeof(errbuf));
    free(prefix);
    free(rules);
    if (c == NULL) {
        ok(0, "case %d (%s): config loads: %s", idx, t->path, errbuf);
        return;
    }
    const struct conf_server *srv = t->vh ? c->vhosts : c->main;
    struct request r;
    build_request(&r, c, srv, t->path, t->query, t->hdrs);
    struct rewrite_result res;
    rewrite_translate(c, srv, &r, r.uri, &res);
    is_str(outcome_text(&res), t->want, "case %d: %s%s%s -> %s", idx, t->path, t->query ? "?" : "",
           t->query ? t->query : "", t->want);
    run_checks(t, idx, &r, &res);
    conf_free(c);
    arena_reset(A);
}

/* ---- the cases ---- */

static const char *const PORT_PREFIX =
    "Listen 127.0.0.1:8080\nServerName front.example:8080\n<VirtualHost *:8080>\n"
    "ServerName front.example:8080\nServerAlias alias.example *.wild.example\n"
    "RewriteEngine On\n";

static const char *const VHOST_PREFIX = "Listen 127.0.0.1:8080\nServerName front.example\n"
                                        "RewriteEngine On\nRewriteRule ^/m(.*) /main$1\n";

static const struct tcase cases[] = {
    /* ---- basics ---- */
    {NULL, "RewriteRule ^/a$ /b\n", 0, "/a", NULL, NULL, "LOCAL /b",
     "W~RewriteRule ^/a$ at /tmp/test_rewrite."},
    {NULL, "RewriteRule ^/a$ /b\n", 0, "/x", NULL, NULL, "DECLINED", NULL},
    {NULL, "RewriteRule ^/a(.*) /b$1\n", 0, "/a/c", NULL, NULL, "LOCAL /b/c", NULL},
    {NULL, "RewriteRule !^/keep /other\n", 0, "/x", NULL, NULL, "LOCAL /other", NULL},
    {NULL, "RewriteRule !^/keep /other\n", 0, "/keep", NULL, NULL, "DECLINED", NULL},
    {NULL, "RewriteRule !^/k(.*) /o$1\n", 0, "/zzz", NULL, NULL, "LOCAL /o", NULL},
    {NULL, "RewriteRule ^/ABC /x [NC]\n", 0, "/abc", NULL, NULL, "LOCAL /x", NULL},
    {NULL, "RewriteRule ^/ABC /x\n", 0, "/abc", NULL, NULL, "DECLINED", NULL},
    {NULL, "RewriteRule ^/a - [E=X:1]\n", 0, "/a", NULL, NULL, "DECLINED", "E:X=1"},
    {NULL, "RewriteRule ^/a b\n", 0, "/a", NULL, NULL, "LOCAL /b", NULL},
    {NULL, "RewriteRule ^/a \"\"\n", 0, "/a", NULL, NULL, "LOCAL /", NULL},
    {NULL, "RewriteRule ^/(.*)$ /x/$0\n", 0, "/p", NULL, NULL, "LOCAL /x//p", NULL},
    {NULL, "RewriteRule ^/(a)(b)?(c) /$1-$2-$3-$10\n", 0, "/ac", NULL, NULL, "LOCAL /a--c-a0",
     NULL},
    {NULL, "RewriteRule ^/a /x\\$1\\%1\\\\\n", 0, "/a", NULL, NULL, "LOCAL /x$1%1\\", NULL},
    {NULL, "RewriteRule ^/a /x%{NOPE}y\n", 0, "/a", NULL, NULL, "LOCAL /xy", NULL},
    {NULL, "RewriteRule ^/a /x%{REQUEST_METHOD\n", 0, "/a", NULL, NULL, "LOCAL /x%{REQUEST_METHOD",
     NULL},
    {NULL, "RewriteRule ^/a /x${nomap\n", 0, "/a", NULL, NULL, "LOCAL /x${nomap", NULL},
    {NULL, "RewriteRule ^/a /x$\n", 0, "/a", NULL, NULL, "LOCAL /x$", NULL},
    {NULL, "RewriteEngine Off\nRewriteRule ^/a /b\n", 0, "/a", NULL, NULL, "DECLINED", NULL},
    {NULL, "RewriteRule ^/a /b\n", 0, "/a", NULL, NULL, "LOCAL /b",
     "E:SCRIPT_URL=/a\nE:SCRIPT_URI=http://front.example/a"},
    {NULL, "RewriteRule ^/a /b\n", 0, "/a", NULL, "Host: h.example:8080", "LOCAL /b",
     "E:SCRIPT_URI=http://h.example:8080/a"},

    /* ---- query strings (6.7) ---- */
    {NULL, "RewriteRule ^/a /b\n", 0, "/a", "x=1", NULL, "LOCAL /b [x=1]", NULL},
    {NULL, "RewriteRule ^/a /b?y=2\n", 0, "/a", "x=1", NULL, "LOCAL /b [y=2]", NULL},
    {NULL, "RewriteRule ^/a /b?y=2 [QSA]\n", 0, "/a", "x=1", NULL, "LOCAL /b [y=2&x=1]", NULL},
    {NULL, "RewriteRule ^/a /b?y=2 [QSA]\n", 0, "/a", NULL, NULL, "LOCAL /b [y=2]", NULL},
    {NULL, "RewriteRule ^/a /b? [QSA]\n", 0, "/a", "x=1", NULL, "LOCAL /b [x=1]", NULL},
    {NULL, "RewriteRule ^/a /b?\n", 0, "/a", "x=1", NULL, "LOCAL /b", NULL},
    {NULL, "RewriteRule ^/a /b [QSD]\n", 0, "/a", "x=1", NULL, "LOCAL /b", NULL},
    {NULL, "RewriteRule ^/a /b?y=2 [QSD,QSA]\n", 0, "/a", "x=1", NULL, "LOCAL /b [y=2]", NULL},
    {NULL, "RewriteRule ^/a /b?x=1&\n", 0, "/a", NULL, NULL, "LOCAL /b [x=1]", NULL},
    {NULL, "RewriteRule ^/a /b?&\n", 0, "/a", NULL, NULL, "LOCAL /b []", NULL},
    {NULL, "RewriteRule ^/a /b?c?d\n", 0, "/a", NULL, NULL, "LOCAL /b [c?d]", NULL},
    {NULL, "RewriteRule ^/a /b?c?d [QSL]\n", 0, "/a", NULL, NULL, "LOCAL /b?c [d]", NULL},
    {NULL, "RewriteRule ^/a(.*) /b$1?z=1 [QSL]\n", 0, "/a?q", NULL, NULL, "LOCAL /b?q [z=1]", NULL},
    {NULL, "RewriteRule ^/a(.*) /b$1?z=1\n", 0, "/a?q", NULL, NULL, "STATUS 403", NULL},
    {NULL, "RewriteRule ^/a(.*) /b$1?z=1 [UnsafeAllow3F]\n", 0, "/a?q", NULL, NULL,
     "LOCAL /b [q?z=1]", NULL},
    {NULL, "RewriteRule ^/a(.*) /b$1\n", 0, "/a?q", NULL, NULL, "STATUS 403", NULL},
    {NULL, "RewriteRule ^/a(.*) /b$1?\n", 0, "/a?q", NULL, NULL, "LOCAL /b?q", NULL},
    {NULL, "RewriteRule ^/a(.*) /b?x$1\n", 0, "/a?q", NULL, NULL, "LOCAL /b [x?q]", NULL},
    {NULL, "RewriteRule ^/a /b?%{HTTP:X-Q}\n", 0, "/a", NULL, "X-Q: ?p", "LOCAL /b [?p]", NULL},
    {NULL, "RewriteRule ^/a /b%{HTTP:X-Q}\n", 0, "/a", NULL, "X-Q: ?p", "STATUS 403", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1\n", 0, "/s/a b", NULL, NULL, "STATUS 403", NULL},
    {NULL, "RewriteRule ^/a /b?y=1\nRewriteCond %{QUERY_STRING} ^y=1$\nRewriteRule ^/b /c\n", 0,
     "/a", "x=1", NULL, "LOCAL /c [y=1]", NULL},
    {NULL, "RewriteRule ^/a ftp://f.example/x\n", 0, "/a", "q=1", NULL, "R 302 ftp://f.example/x",
     NULL},
    {NULL, "RewriteRule ^/a mailto:me@x.example?subject=hi\n", 0, "/a", NULL, NULL,
     "R 302 mailto:me@x.example?subject=hi", NULL},

    /* ---- conditions and back-reference scoping ---- */
    {NULL, "RewriteCond %{HTTP_HOST} ^(www)\\.\nRewriteRule ^/(.*) /%1/$1\n", 0, "/a", NULL,
     "Host: www.x.example", "LOCAL /www/a", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} ^(a)\nRewriteCond %{HTTP:X-B} ^(b)\nRewriteRule ^/ /%1\n", 0,
     "/", NULL, "X-A: a|X-B: b", "LOCAL /b", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} ^(a)\nRewriteCond %{HTTP:X-B} !^(zzz)\nRewriteRule ^/ /%1\n", 0,
     "/", NULL, "X-A: a|X-B: b", "LOCAL /a", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} ^1$ [OR]\nRewriteCond %{HTTP:X-B} ^(2)$\nRewriteRule ^/ /%1\n",
     0, "/", NULL, "X-B: 2", "LOCAL /2", NULL},
    {NULL,
     "RewriteCond %{HTTP:X-A} ^(1)$ [OR]\nRewriteCond %{HTTP:X-B} ^(2)$\nRewriteRule ^/ /%1\n", 0,
     "/", NULL, "X-A: 1|X-B: 2", "LOCAL /1", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} ^1$ [OR]\nRewriteCond %{HTTP:X-B} ^2$\nRewriteRule ^/ /y\n", 0,
     "/", NULL, "X-A: 3", "DECLINED", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} ^1$\nRewriteCond %{HTTP:X-B} ^2$\nRewriteRule ^/ /y\n", 0, "/",
     NULL, "X-A: 1", "DECLINED", NULL},
    {NULL,
     "RewriteCond %{HTTP:X-A} ^1$ [OR]\nRewriteCond %{HTTP:X-B} ^2$\nRewriteCond %{HTTP:X-C} "
     "^3$\nRewriteRule ^/ /y\n",
     0, "/", NULL, "X-B: 2|X-C: 3", "LOCAL /y", NULL},
    {NULL,
     "RewriteCond %{HTTP:X-A} ^1$ [OR]\nRewriteCond %{HTTP:X-B} ^2$\nRewriteCond %{HTTP:X-C} "
     "^3$\nRewriteRule ^/ /y\n",
     0, "/", NULL, "X-A: 1|X-C: 4", "DECLINED", NULL},
    {NULL, "RewriteCond $1 ^b\nRewriteRule ^/(.*) /yes-$1\n", 0, "/bx", NULL, NULL, "LOCAL /yes-bx",
     NULL},
    {NULL, "RewriteCond $1 ^b\nRewriteRule ^/(.*) /yes-$1\n", 0, "/ax", NULL, NULL, "DECLINED",
     NULL},
    {NULL, "RewriteCond %{HTTP:X-A} ^a(b+)c\nRewriteRule ^/ /%0/%1/%2\n", 0, "/", NULL, "X-A: abbc",
     "LOCAL /abbc/bb/", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} (.+)\nRewriteRule ^/(.*) /%1 [C]\nRewriteRule ^/(.*) /$1-%1\n",
     0, "/z", NULL, "X-A: q", "LOCAL /q-", NULL},
    {NULL, "RewriteRule ^/(.*) /$1 [E=R1:%1]\n", 0, "/z", NULL, NULL, "LOCAL /z", "E:R1="},
    {NULL, "RewriteCond %{HTTP:X-A} !^(a)\nRewriteRule ^/ /n%1\n", 0, "/", NULL, "X-A: b",
     "LOCAL /n", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} ^ABC$ [NC]\nRewriteRule ^/ /nc\n", 0, "/", NULL, "X-A: abc",
     "LOCAL /nc", NULL},
    {NULL, "RewriteCond %{REQUEST_METHOD} =GET\nRewriteRule ^/ /eq\n", 0, "/", NULL, NULL,
     "LOCAL /eq", NULL},
    {NULL, "RewriteCond %{REQUEST_METHOD} =get\nRewriteRule ^/ /eq\n", 0, "/", NULL, NULL,
     "DECLINED", NULL},
    {NULL, "RewriteCond %{REQUEST_METHOD} =get [NC]\nRewriteRule ^/ /eq\n", 0, "/", NULL, NULL,
     "LOCAL /eq", NULL},
    {NULL, "RewriteCond %{HTTP:X-None} =\"\"\nRewriteRule ^/ /empty\n", 0, "/", NULL, NULL,
     "LOCAL /empty", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} !=\"\"\nRewriteRule ^/ /set\n", 0, "/", NULL, "X-V: 1",
     "LOCAL /set", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} <aa\nRewriteRule ^/ /lt\n", 0, "/", NULL, "X-V: b", "LOCAL /lt",
     NULL},
    {NULL, "RewriteCond %{HTTP:X-V} <aa [NC]\nRewriteRule ^/ /lt\n", 0, "/", NULL, "X-V: b",
     "DECLINED", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} >aa\nRewriteRule ^/ /gt\n", 0, "/", NULL, "X-V: b", "DECLINED",
     NULL},
    {NULL, "RewriteCond %{HTTP:X-V} >ab\nRewriteRule ^/ /gt\n", 0, "/", NULL, "X-V: ac",
     "LOCAL /gt", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} <=ab\nRewriteRule ^/ /le\n", 0, "/", NULL, "X-V: ab",
     "LOCAL /le", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} >=ab\nRewriteRule ^/ /ge\n", 0, "/", NULL, "X-V: aa",
     "DECLINED", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} -eq12\nRewriteRule ^/ /eq\n", 0, "/", NULL, "X-V: 12abc",
     "LOCAL /eq", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} -eq0\nRewriteRule ^/ /eq\n", 0, "/", NULL, "X-V: abc",
     "LOCAL /eq", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} -ne5\nRewriteRule ^/ /ne\n", 0, "/", NULL, "X-V: 5", "DECLINED",
     NULL},
    {NULL, "RewriteCond %{HTTP:X-V} !-ne5\nRewriteRule ^/ /ne\n", 0, "/", NULL, "X-V: 5",
     "LOCAL /ne", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} -lt5\nRewriteRule ^/ /lt\n", 0, "/", NULL, "X-V: -3",
     "LOCAL /lt", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} -le5\nRewriteRule ^/ /le\n", 0, "/", NULL, "X-V: 5",
     "LOCAL /le", NULL},
    {NULL, "RewriteCond %{HTTP:X-V} -gt5\nRewriteRule ^/ /gt\n", 0, "/", NULL, "X-V: 5", "DECLINED",
     NULL},
    {NULL, "RewriteCond %{HTTP:X-V} -ge5\nRewriteRule ^/ /ge\n", 0, "/", NULL, "X-V: 6",
     "LOCAL /ge", NULL},
    {NULL, "DocumentRoot htdocs\nRewriteCond %{DOCUMENT_ROOT} -d\nRewriteRule ^/ /dir\n", 0, "/",
     NULL, NULL, "LOCAL /dir", NULL},
    {NULL, "DocumentRoot htdocs\nRewriteCond %{DOCUMENT_ROOT} -f\nRewriteRule ^/ /file\n", 0, "/",
     NULL, NULL, "DECLINED", NULL},
    {NULL, "RewriteCond @MAPDIR@/m.txt -f\nRewriteRule ^/ /file\n", 0, "/", NULL, NULL,
     "LOCAL /file", NULL},
    {NULL, "RewriteCond @MAPDIR@/m.txt -s\nRewriteRule ^/ /size\n", 0, "/", NULL, NULL,
     "LOCAL /size", NULL},
    {NULL, "RewriteCond @MAPDIR@/empty -s\nRewriteRule ^/ /size\n", 0, "/", NULL, NULL, "DECLINED",
     NULL},
    {NULL, "RewriteCond @MAPDIR@/link -l\nRewriteRule ^/ /link\n", 0, "/", NULL, NULL,
     "LOCAL /link", NULL},
    {NULL, "RewriteCond @MAPDIR@/m.txt -L\nRewriteRule ^/ /link\n", 0, "/", NULL, NULL, "DECLINED",
     NULL},
    {NULL, "RewriteCond /bin/sh -x\nRewriteRule ^/ /exec\n", 0, "/", NULL, NULL, "LOCAL /exec",
     NULL},
    {NULL, "RewriteCond @MAPDIR@/m.txt -x\nRewriteRule ^/ /exec\n", 0, "/", NULL, NULL, "DECLINED",
     NULL},
    {NULL, "RewriteCond @MAPDIR@/nope !-f\nRewriteRule ^/ /missing\n", 0, "/", NULL, NULL,
     "LOCAL /missing", NULL},
    {NULL, "RewriteCond @MAPDIR@/m.txt -F\nRewriteRule ^/ /F\n", 0, "/", NULL, NULL, "LOCAL /F",
     NULL},
    {NULL, "RewriteCond /anything -U\nRewriteRule ^/ /U\n", 0, "/", NULL, NULL, "DECLINED", NULL},
    {NULL, "RewriteCond expr \"%{REQUEST_METHOD} == 'GET'\"\nRewriteRule ^/ /expr\n", 0, "/", NULL,
     NULL, "LOCAL /expr", NULL},
    {NULL, "RewriteCond expr \"-R '10.0.0.0/8'\"\nRewriteRule ^/ /expr\n", 0, "/", NULL, NULL,
     "DECLINED", NULL},
    {NULL, "RewriteCond expr \"-R '192.0.2.0/24'\"\nRewriteRule ^/ /expr\n", 0, "/", NULL, NULL,
     "LOCAL /expr", NULL},

    /* ---- maps ---- */
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /${m:$1}\n", 0, "/m/k1", NULL,
     NULL, "LOCAL /v1", NULL},
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /${m:$1|dflt}\n", 0, "/m/zz",
     NULL, NULL, "LOCAL /dflt", NULL},
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /x${m:$1|}y\n", 0, "/m/zz", NULL,
     NULL, "LOCAL /xy", NULL},
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /x${m:$1}y\n", 0, "/m/zz", NULL,
     NULL, "LOCAL /xy", NULL},
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /${m:$1|%{REQUEST_METHOD}}\n", 0,
     "/m/zz", NULL, NULL, "LOCAL /GET", NULL},
    {NULL,
     "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteMap lc int:tolower\nRewriteRule ^/m/(.*) "
     "/${m:${lc:$1}|none}\n",
     0, "/m/K1", NULL, NULL, "LOCAL /v1", NULL},
    {NULL, "RewriteMap up int:toupper\nRewriteRule ^/u/(.*) /${up:$1}\n", 0, "/u/abc", NULL, NULL,
     "LOCAL /ABC", NULL},
    {NULL, "RewriteMap e int:escape\nRewriteRule ^/u/(.*) /${e:$1}\n", 0, "/u/a b%", NULL, NULL,
     "LOCAL /a%20b%25", NULL},
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /${m:$1}\n", 0, "/m/q", NULL,
     NULL, "STATUS 403", NULL},
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /p?a=${m:$1}\n", 0, "/m/q", NULL,
     NULL, "LOCAL /p [a=/x?y]", NULL},
    {NULL,
     "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteCond ${m:%{HTTP:X-K}|no} ^(v.)$\n"
     "RewriteRule ^/ /c-%1\n",
     0, "/", NULL, "X-K: k2", "LOCAL /c-v2", NULL},
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /${m:$1|${m:k2}}\n", 0, "/m/none",
     NULL, NULL, "LOCAL /v2", NULL},
    {NULL, "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) /${m:$1} [B]\n", 0, "/m/k 3",
     NULL, NULL, "LOCAL /", NULL},
    {NULL,
     "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) http://${m:$1|localhost:8000}/s/ "
     "[P]\n",
     0, "/m/k4", NULL, NULL, "PROXY http://127.0.0.1:9001/s/", NULL},
    {NULL,
     "RewriteMap m txt:@MAPDIR@/m.txt\nRewriteRule ^/m/(.*) http://${m:$1|localhost:8000}/s/ "
     "[P]\n",
     0, "/m/none", NULL, NULL, "PROXY http://localhost:8000/s/", NULL},

    /* ---- F, G, R=4xx, status rules ---- */
    {NULL, "RewriteRule ^/a - [F]\n", 0, "/a", NULL, NULL, "STATUS 403", NULL},
    {NULL, "RewriteRule ^/a /ignored [F]\n", 0, "/a", NULL, NULL, "STATUS 403", NULL},
    {NULL, "RewriteRule ^/a - [G]\n", 0, "/a", NULL, NULL, "STATUS 410", NULL},
    {NULL, "RewriteRule ^/a - [R=404]\n", 0, "/a", NULL, NULL, "STATUS 404", NULL},
    {NULL, "RewriteRule ^/a - [R=503]\n", 0, "/a", NULL, NULL, "STATUS 503", NULL},
    {NULL, "RewriteRule ^/a - [E=X:1,F]\n", 0, "/a", NULL, NULL, "STATUS 403", "E:X=1"},
    {NULL, "RewriteRule ^/a /b\nRewriteRule ^/b - [F]\nRewriteRule ^/ /never\n", 0, "/a", NULL,
     NULL, "STATUS 403", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} ^1$\nRewriteRule ^/a - [F]\n", 0, "/a", NULL, NULL, "DECLINED",
     NULL},

    /* ---- redirects (6.9) ---- */
    {NULL, "RewriteRule ^/a /b [R]\n", 0, "/a", NULL, NULL, "R 302 http://front.example/b", NULL},
    {NULL, "RewriteRule ^/a /b [R=301]\n", 0, "/a", NULL, NULL, "R 301 http://front.example/b",
     NULL},
    {NULL, "RewriteRule ^/a /b [R=permanent]\n", 0, "/a", NULL, NULL,
     "R 301 http://front.example/b", NULL},
    {NULL, "RewriteRule ^/a /b [R=seeother]\n", 0, "/a", NULL, NULL, "R 303 http://front.example/b",
     NULL},
    {NULL, "RewriteRule ^/a /b [R=307]\n", 0, "/a", NULL, NULL, "R 307 http://front.example/b",
     NULL},
    {NULL, "RewriteRule ^/a /b [R=308,L]\n", 0, "/a", NULL, NULL, "R 308 http://front.example/b",
     NULL},
    {NULL, "RewriteRule ^/a b [R]\n", 0, "/a", NULL, NULL, "R 302 http://front.example/b", NULL},
    {NULL, "RewriteRule ^/a /b [R=301]\nRewriteRule ^(.*)$ $1x\n", 0, "/a", NULL, NULL,
     "R 302 http://front.example/bx", NULL},
    {NULL, "RewriteRule ^/a /b [R=301,L]\nRewriteRule ^(.*)$ $1x\n", 0, "/a", NULL, NULL,
     "R 301 http://front.example/b", NULL},
    {NULL, "RewriteRule ^/a /b [R]\nRewriteRule ^http://front\\.example/b$ /local\n", 0, "/a", NULL,
     NULL, "LOCAL /local", NULL},
    {NULL, "RewriteRule ^/a /b [R]\n", 0, "/a", "x=1", NULL, "R 302 http://front.example/b?x=1",
     NULL},
    {NULL, "RewriteRule ^/a /b\\%20c [R]\n", 0, "/a", NULL, NULL,
     "R 302 http://front.example/b%2520c", NULL},
    {NULL, "RewriteRule ^/a /b\\%20c [R,NE]\n", 0, "/a", NULL, NULL,
     "R 302 http://front.example/b%20c", NULL},
    {NULL, "RewriteRule ^/a(.*) /x$1 [R]\n", 0, "/a b#c\"<>", NULL, NULL,
     "R 302 http://front.example/x%20b%23c%22%3c%3e", NULL},
    {NULL, "RewriteRule ^/a(.*) /x$1 [R]\n", 0, "/a$-_.+!*'(),:;@&=/~", NULL, NULL,
     "R 302 http://front.example/x$-_.+!*'(),:;@&=/~", NULL},
    {NULL, "RewriteRule ^/a(.*) /x$1 [R]\n", 0, "/a\xc3\xa9", NULL, NULL,
     "R 302 http://front.example/x%c3%a9", NULL},
    {NULL, "RewriteRule ^/a \"/b?x=a b\" [R]\n", 0, "/a", NULL, NULL,
     "R 302 http://front.example/b?x=a%20b", NULL},
    {NULL, "RewriteRule ^/a \"/b?x=a b\" [R,NE]\n", 0, "/a", NULL, NULL, "STATUS 403", NULL},
    {NULL, "RewriteRule ^/a /b [R]\n", 0, "/a", "x=%41", NULL, "R 302 http://front.example/b?x=%41",
     NULL},
    {NULL, "RewriteRule ^/a /b?y=1 [R,QSA]\n", 0, "/a", "x=%41", NULL,
     "R 302 http://front.example/b?y=1&x=%2541", NULL},
    {NULL, "RewriteRule ^/a /b?y=1 [R,QSA,NE]\n", 0, "/a", "x=%41", NULL,
     "R 302 http://front.example/b?y=1&x=%41", NULL},
    {NULL, "RewriteRule ^/a http://other.example/x\n", 0, "/a", NULL, NULL,
     "R 302 http://other.example/x", NULL},
    {NULL, "RewriteRule ^/a http://other.example/x [R=301]\n", 0, "/a", NULL, NULL,
     "R 301 http://other.example/x", NULL},
    {NULL, "RewriteRule ^/a http://other.example\n", 0, "/a", "q=1", NULL,
     "R 302 http://other.example?q=1", NULL},
    {NULL, "RewriteRule ^/a http://front.example/x\n", 0, "/a", NULL, NULL,
     "R 302 http://front.example/x", NULL},
    {NULL, "RewriteRule ^/a \"ldap://l.example/o=a b?cn?sub?(x=a b)\"\n", 0, "/a", NULL, NULL,
     "R 302 ldap://l.example/o=a%20b?cn?sub?(x=a%20b)", NULL},
    {NULL, "RewriteRule ^/a /b [R]\n", 0, "/a", NULL, "Host: Front.Example:8080",
     "R 302 http://front.example:8080/b", NULL},
    {NULL, "RewriteRule ^/a /b [R]\n", 0, "/a", NULL, "Host: other.host",
     "R 302 http://other.host/b", NULL},
    {NULL, "RewriteRule ^/a /b [R]\n", 0, "/a", NULL, "Host: [::1]:8080",
     "R 302 http://[::1]:8080/b", NULL},
    {NULL, "UseCanonicalName On\nRewriteRule ^/a /b [R]\n", 0, "/a", NULL, "Host: other.host:81",
     "R 302 http://front.example/b", NULL},
    {NULL, "RewriteRule ^/$ %{REQUEST_SCHEME}://%{HTTP_HOST}/app/ [R,L]\n", 0, "/", NULL,
     "Host: www.site.example", "R 302 http://www.site.example/app/", NULL},
    /* self-reduction needs ServerName's own port (checked on httpd 2.4.71) */
    {PORT_PREFIX, "RewriteRule ^/a http://front.example:8080/x\n</VirtualHost>\n", 1, "/a", NULL,
     NULL, "LOCAL /x", NULL},
    {PORT_PREFIX, "RewriteRule ^/a http://FRONT.example:8080\n</VirtualHost>\n", 1, "/a", NULL,
     NULL, "LOCAL /", NULL},
    {PORT_PREFIX, "RewriteRule ^/a http://alias.example:8080/y?z=1\n</VirtualHost>\n", 1, "/a",
     NULL, NULL, "LOCAL /y [z=1]", NULL},
    {PORT_PREFIX, "RewriteRule ^/a http://b.wild.example:8080/w\n</VirtualHost>\n", 1, "/a", NULL,
     NULL, "LOCAL /w", NULL},
    {PORT_PREFIX, "RewriteRule ^/a http://front.example/x\n</VirtualHost>\n", 1, "/a", NULL, NULL,
     "R 302 http://front.example/x", NULL},
    {PORT_PREFIX, "RewriteRule ^/a http://front.example:8080/x [R]\n</VirtualHost>\n", 1, "/a",
     NULL, NULL, "R 302 http://front.example:8080/x", NULL},
    {PORT_PREFIX, "RewriteRule ^/a /b [R]\n</VirtualHost>\n", 1, "/a", NULL, "Host: front.example",
     "R 302 http://front.example:8080/b", NULL},

    /* ---- proxy, passthrough, L, END, N, S, C ---- */
    {NULL, "RewriteRule ^/a(.*) http://127.0.0.1:9000/b$1 [P]\n", 0, "/a/c", "q=1", NULL,
     "PROXY http://127.0.0.1:9000/b/c?q=1", "N:0"},
    {NULL, "RewriteRule ^/a(.*) http://127.0.0.1:9000/b$1 [P,NE]\n", 0, "/a/c", NULL, NULL,
     "PROXY http://127.0.0.1:9000/b/c", "N:1"},
    {NULL, "RewriteRule ^/a /b [P]\n", 0, "/a", NULL, NULL, "PROXY http://front.example/b", NULL},
    {NULL, "RewriteRule ^/a(.*) http://127.0.0.1:9000$1 [P]\nRewriteRule ^ /never\n", 0, "/a/x",
     NULL, NULL, "PROXY http://127.0.0.1:9000/x", NULL},
    {NULL, "RewriteRule ^/a(.*) http://127.0.0.1:9000/q?x=$1 [P]\n", 0, "/a b", NULL, NULL,
     "STATUS 403", NULL},
    {NULL, "RewriteRule ^/a(.*) http://127.0.0.1:9000/q?x=$1 [P,B]\n", 0, "/a b", NULL, NULL,
     "PROXY http://127.0.0.1:9000/q?x=+b", NULL},
    {NULL, "RewriteRule ^/a(.*) http://127.0.0.1:9000/x [P,T=text/x]\n", 0, "/a", NULL, NULL,
     "PROXY http://127.0.0.1:9000/x", "T:"},
    {NULL, "RewriteRule ^/a /b [PT]\n", 0, "/a", "x=1", NULL, "PT /b [x=1]", NULL},
    {NULL, "RewriteRule ^/a /b [PT]\nRewriteRule ^/b /c\n", 0, "/a", NULL, NULL, "PT /b", NULL},
    {NULL, "RewriteRule ^/a - [PT]\n", 0, "/a", NULL, NULL, "PT /a", NULL},
    {NULL, "RewriteRule ^/a /b [L]\nRewriteRule ^/b /c\n", 0, "/a", NULL, NULL, "LOCAL /b", NULL},
    {NULL, "RewriteRule ^/a /b\nRewriteRule ^/b /c\n", 0, "/a", NULL, NULL, "LOCAL /c", NULL},
    {NULL, "RewriteRule ^/a /b [END]\nRewriteRule ^/b /c\n", 0, "/a", NULL, NULL, "LOCAL /b", NULL},
    {NULL, "RewriteRule ^/a - [L]\nRewriteRule ^/a /c\n", 0, "/a", NULL, NULL, "DECLINED", NULL},
    {NULL, "RewriteRule ^/(.*)a(.*)$ /$1b$2 [N]\n", 0, "/aaa", NULL, NULL, "LOCAL /bbb", NULL},
    {NULL, "RewriteRule ^/(.*)$ /x$1 [N=5]\n", 0, "/a", NULL, NULL, "STATUS 500", NULL},
    {NULL, "RewriteRule ^/(.*)$ /x$1 [N]\n", 0, "/a", NULL, NULL, "STATUS 500", NULL},
    {NULL, "LimitRequestLine 100\nRewriteRule ^/(.*)$ /$1$1$1$1\n", 0,
     "/0123456789012345678901234567890123456789012345678901234567", NULL, NULL, "STATUS 500", NULL},
    {NULL, "RewriteRule ^/a - [S=1]\nRewriteRule ^/a /skipped\nRewriteRule ^/a /c\n", 0, "/a", NULL,
     NULL, "LOCAL /c", NULL},
    {NULL, "RewriteRule ^/a - [S=2]\nRewriteRule ^/a /s1\nRewriteRule ^/a /s2\n", 0, "/a", NULL,
     NULL, "DECLINED", NULL},
    {NULL, "RewriteRule ^/a - [S=9]\nRewriteRule ^/a /s1\n", 0, "/a", NULL, NULL, "DECLINED", NULL},
    {NULL, "RewriteRule ^/x - [S=1]\nRewriteRule ^/a /s1\n", 0, "/a", NULL, NULL, "LOCAL /s1",
     NULL},
    {NULL, "RewriteRule ^/a /b [C]\nRewriteRule ^/b /c\n", 0, "/a", NULL, NULL, "LOCAL /c", NULL},
    {NULL, "RewriteRule ^/x /b [C]\nRewriteRule ^/a /c\nRewriteRule ^/a /d\n", 0, "/a", NULL, NULL,
     "LOCAL /d", NULL},
    {NULL,
     "RewriteRule ^/x /b [C]\nRewriteRule ^/a /c [C]\nRewriteRule ^/a /d\nRewriteRule ^/a "
     "/e\n",
     0, "/a", NULL, NULL, "LOCAL /e", NULL},
    {NULL, "RewriteRule ^/a /b [C]\nRewriteRule ^/x /c [C]\nRewriteRule ^/b /d\n", 0, "/a", NULL,
     NULL, "LOCAL /b", NULL},

    /* ---- E=, CO=, T=, H= ---- */
    {NULL, "RewriteRule ^/(a)(.*) /z [E=V1:$1,E=V2:%{REQUEST_METHOD}-$2,E=EMPTY]\n", 0, "/abc",
     NULL, NULL, "LOCAL /z", "E:V1=a\nE:V2=GET-bc\nE:EMPTY="},
    {NULL, "RewriteRule ^/ - [E=GONE:1]\nRewriteRule ^/ - [E=!GONE]\n", 0, "/", NULL, NULL,
     "DECLINED", "E:GONE!"},
    {NULL, "RewriteRule ^/ - [E=A:1]\nRewriteCond %{ENV:A} ^1$\nRewriteRule ^/ /env\n", 0, "/",
     NULL, NULL, "LOCAL /env", NULL},
    {NULL, "RewriteCond %{HTTP:X-No} ^1$\nRewriteRule ^/ - [E=A:1]\n", 0, "/", NULL, NULL,
     "DECLINED", "E:A!"},
    {NULL, "RewriteCond %{HTTP:X-A} (.+)\nRewriteRule ^/ - [E=CAP:%1]\n", 0, "/", NULL, "X-A: cap",
     "DECLINED", "E:CAP=cap"},
    {NULL, "RewriteRule ^/(.*) - [E=B:$1,B]\n", 0, "/a b", NULL, NULL, "DECLINED", "E:B=a b"},
    {NULL, "RewriteRule ^/ - [CO=n:v:.example.com]\n", 0, "/", NULL, NULL, "DECLINED",
     "C:n=v; path=/; domain=.example.com"},
    {NULL, "RewriteRule ^/ - [CO=n:v:.example.com:0:/p:true:true:Strict]\n", 0, "/", NULL, NULL,
     "DECLINED", "C:n=v; path=/p; domain=.example.com; secure; HttpOnly; SameSite=Strict"},
    {NULL, "RewriteRule ^/ - [CO=n:v:x.com:0:/:secure:HttpOnly:false]\n", 0, "/", NULL, NULL,
     "DECLINED", "C:n=v; path=/; domain=x.com; secure; HttpOnly"},
    {NULL, "RewriteRule ^/ - [CO=n:v:x.com:0:/:no:0:0]\n", 0, "/", NULL, NULL, "DECLINED",
     "C:n=v; path=/; domain=x.com"},
    {NULL, "RewriteRule ^/ - [CO=n:v:x.com:10]\n", 0, "/", NULL, NULL, "DECLINED",
     "C~n=v; path=/; domain=x.com; expires="},
    {NULL, "RewriteRule ^/ - [CO=n:v:x.com:10]\n", 0, "/", NULL, NULL, "DECLINED", "C~ GMT"},
    {NULL, "RewriteRule ^/ - [CO=;n;a:b;x.com;0;/p]\n", 0, "/", NULL, NULL, "DECLINED",
     "C:n=a:b; path=/p; domain=x.com"},
    {NULL, "RewriteRule ^/ - [CO=n:v]\n", 0, "/", NULL, NULL, "DECLINED", "C:"},
    {NULL, "RewriteRule ^/ - [CO=n:v:x.com,CO=n:w:x.com,CO=m:$0:x.com]\n", 0, "/", NULL, NULL,
     "DECLINED", "C:n=v; path=/; domain=x.com | m=/; path=/; domain=x.com"},
    {NULL, "RewriteRule ^/ /r [R,CO=n:v:x.com]\n", 0, "/", NULL, NULL,
     "R 302 http://front.example/r", "C:n=v; path=/; domain=x.com"},
    {NULL, "RewriteRule ^/ - [F,CO=n:v:x.com]\n", 0, "/", NULL, NULL, "STATUS 403",
     "C:n=v; path=/; domain=x.com"},
    {NULL, "RewriteRule ^/a /b [T=Text/Plain]\n", 0, "/a", NULL, NULL, "LOCAL /b", "T:text/plain"},
    {NULL, "RewriteRule ^/(a) - [T=image/$1]\n", 0, "/a", NULL, NULL, "DECLINED", "T:image/a"},
    {NULL, "RewriteRule ^/status - [H=server-status]\n", 0, "/status", NULL, NULL, "DECLINED",
     "H:server-status"},
    {NULL, "RewriteRule ^/a http://other.example/ [T=text/x]\n", 0, "/a", NULL, NULL,
     "R 302 http://other.example/", "T:"},

    /* ---- B and friends ---- */
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1 [B]\n", 0, "/s/a b&c", NULL, NULL, "LOCAL /q [x=a+b%26c]",
     NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1 [B,BNP]\n", 0, "/s/a b&c", NULL, NULL,
     "LOCAL /q [x=a%20b%26c]", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1 [B=&]\n", 0, "/s/a&c/d", NULL, NULL,
     "LOCAL /q [x=a%26c/d]", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1 [B=&]\n", 0, "/s/a b", NULL, NULL, "STATUS 403", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1 [BCTLS]\n", 0, "/s/a b&c", NULL, NULL,
     "LOCAL /q [x=a+b&c]", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1 [B,BNE=/]\n", 0, "/s/a/b c", NULL, NULL,
     "LOCAL /q [x=a/b+c]", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1 [B]\n", 0, "/s/\xc3\xa9_Z9", NULL, NULL,
     "LOCAL /q [x=%c3%a9_Z9]", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1&m=%{REQUEST_METHOD} [B]\n", 0, "/s/a.b", NULL, NULL,
     "LOCAL /q [x=a%2eb&m=GET]", NULL},
    {NULL, "RewriteCond %{HTTP:X-A} (.+)\nRewriteRule ^/ /q?x=%1 [B]\n", 0, "/", NULL, "X-A: a/b",
     "LOCAL /q [x=a%2fb]", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q?x=$1 [B,R]\n", 0, "/s/a b", NULL, NULL,
     "R 302 http://front.example/q?x=a+b", NULL},
    {NULL, "RewriteRule ^/s/(.*) /q/$1 [B,R]\n", 0, "/s/a?b", NULL, NULL,
     "R 302 http://front.example/q/a%253fb", NULL},

    /* ---- Vary ---- */
    {NULL, "RewriteCond %{HTTP:Accept-Language} ^de\nRewriteRule ^/ /de\n", 0, "/", NULL,
     "Accept-Language: de", "LOCAL /de", "V:Accept-Language"},
    {NULL, "RewriteCond %{HTTP_HOST} ^x\nRewriteRule ^/ /h\n", 0, "/", NULL, "Host: x.example",
     "LOCAL /h", "V:"},
    {NULL, "RewriteCond %{HTTP_USER_AGENT} bot [NV]\nRewriteRule ^/ /b\n", 0, "/", NULL,
     "User-Agent: a bot", "LOCAL /b", "V:"},
    {NULL, "RewriteCond %{HTTP_USER_AGENT} bot\nRewriteRule ^/ /b\n", 0, "/", NULL,
     "User-Agent: a bot", "LOCAL /b", "V:User-Agent"},
    {NULL, "RewriteCond %{HTTP:X-Miss} ^$\nRewriteRule ^/ /m\n", 0, "/", NULL, NULL, "LOCAL /m",
     "V:"},
    {NULL, "RewriteCond %{HTTP:X-A} ^no$\nRewriteRule ^/ /m\n", 0, "/", NULL, "X-A: yes",
     "DECLINED", "V:"},
    {NULL,
     "RewriteCond %{HTTP:X-A} ^1 [OR]\nRewriteCond %{HTTP:X-B} ^2\nRewriteRule ^/ - "
     "[E=Z:1]\nRewriteCond %{HTTP_ACCEPT} .\nRewriteCond %{HTTP:x-a} .\nRewriteRule ^/ /z\n",
     0, "/", NULL, "X-A: 0|X-B: 2|Accept: */*", "LOCAL /z", "V:X-B, Accept, x-a"},

    /* ---- leading slashes ---- */
    {NULL, "RewriteRule ^/g$ //bar\n", 0, "/g", NULL, NULL, "LOCAL //bar", NULL},
    {NULL, "RewriteRule ^/g(.*) $1\n", 0, "/g///x", NULL, NULL, "LOCAL /x", NULL},
    {NULL, "RewriteRule ^/g(.*) $1 [UNC]\n", 0, "/g//x", NULL, NULL, "LOCAL //x", NULL},

    /* ---- variables (6.5) ---- */
    {NULL, "RewriteRule ^/ - [E=V:%{REQUEST_METHOD}|%{request_uri}|%{THE_REQUEST}]\n", 0, "/p",
     "q=1", NULL, "DECLINED", "E:V=GET|/p|GET /p?q=1 HTTP/1.1"},
    {NULL, "RewriteRule ^/ - [E=V:%{SERVER_NAME}:%{SERVER_PORT}:%{HTTPS}:%{REQUEST_SCHEME}]\n", 0,
     "/", NULL, "Host: h.example:81", "DECLINED", "E:V=h.example:81:off:http"},
    {NULL, "RewriteRule ^/ - [E=V:%{SERVER_NAME}:%{SERVER_PORT}]\n", 0, "/", NULL, NULL, "DECLINED",
     "E:V=front.example:80"},
    {NULL,
     "RewriteRule ^/ - [E=V:%{REMOTE_ADDR}:%{REMOTE_PORT}:%{SERVER_ADDR}:%{CONN_REMOTE_ADDR}]\n", 0,
     "/", NULL, NULL, "DECLINED", "E:V=192.0.2.7:5555:127.0.0.1:192.0.2.7"},
    {NULL, "RewriteRule ^/ - [E=V:%{HTTP_HOST}|%{HTTP_X_FOO}|%{HTTP:X-Foo}|%{HTTP_COOKIE}]\n", 0,
     "/", NULL, "X-Foo: 1|X-Foo: 2|Cookie: c=1", "DECLINED", "E:V=front.example||1, 2|c=1"},
    {NULL, "RewriteRule ^/ - [E=V:%{HTTP_REFERER}|%{HTTP_ACCEPT}|%{HTTP_FORWARDED}]\n", 0, "/",
     NULL, "Referer: r|Accept: a|Forwarded: f", "DECLINED", "E:V=r|a|f"},
    {NULL, "RewriteRule ^/ - [E=V:%{HTTP_PROXY_CONNECTION}|%{HTTP_USER_AGENT}]\n", 0, "/", NULL,
     "Proxy-Connection: pc|User-Agent: ua", "DECLINED", "E:V=pc|ua"},
    {NULL, "RewriteRule ^/ - [E=V:%{ENV:RW_TEST_OS}|%{SSL:SSL_PROTOCOL}|%{IPV6}|%{IS_SUBREQ}]\n", 0,
     "/", NULL, NULL, "DECLINED", "E:V=from-os||off|false"},
    {NULL, "RewriteRule ^/ - [E=V:%{SERVER_PROTOCOL}|%{API_VERSION}]\n", 0, "/", NULL, NULL,
     "DECLINED", "E:V=HTTP/1.1|20120211:0"},
    {NULL, "RewriteRule ^/ - [E=V:%{SERVER_SOFTWARE}]\n", 0, "/", NULL, NULL, "DECLINED",
     "E~V=portico"},
    {NULL, "RewriteRule ^/ - [E=V:%{TIME_YEAR}]\n", 0, "/", NULL, NULL, "DECLINED", "E~V=20"},
    {NULL,
     "RewriteCond %{TIME} ^[0-9]{14}$\nRewriteCond %{TIME_WDAY} ^[0-6]$\n"
     "RewriteCond %{TIME_MON}%{TIME_DAY}%{TIME_HOUR}%{TIME_MIN}%{TIME_SEC} ^[0-9]{10}$\n"
     "RewriteRule ^/ /time\n",
     0, "/", NULL, NULL, "LOCAL /time", NULL},
    {NULL,
     "ServerAdmin ops@x.example\nDocumentRoot htdocs\nRewriteRule ^/ - "
     "[E=V:%{SERVER_ADMIN}|%{DOCUMENT_ROOT}]\n",
     0, "/", NULL, NULL, "DECLINED", "E~V=ops@x.example|/tmp/test_rewrite."},
    {NULL, "RewriteRule ^/a /b\nRewriteRule ^/b - [E=F:%{REQUEST_FILENAME}|%{REQUEST_URI}]\n", 0,
     "/a", NULL, NULL, "LOCAL /b", "E:F=/b|/a"},
    {NULL, "RewriteRule ^/ - [E=V:%{REMOTE_USER}|%{PATH_INFO}|%{AUTH_TYPE}|%{nosuch}]\n", 0, "/",
     NULL, NULL, "DECLINED", "E:V=|||"},

    /* ---- inheritance ---- */
    {VHOST_PREFIX,
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\n"
     "RewriteRule ^/v /vhost\n</VirtualHost>\n",
     1, "/m", NULL, NULL, "DECLINED", NULL},
    {VHOST_PREFIX,
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\n"
     "RewriteRule ^/v /vhost\n</VirtualHost>\n",
     1, "/v", NULL, NULL, "LOCAL /vhost", NULL},
    {VHOST_PREFIX,
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\n"
     "RewriteOptions Inherit\nRewriteRule ^/v /vhost\n</VirtualHost>\n",
     1, "/m1", NULL, NULL, "LOCAL /main1", NULL},
    {VHOST_PREFIX,
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\n"
     "RewriteOptions Inherit\nRewriteRule ^/m$ /vhost [L]\n</VirtualHost>\n",
     1, "/m", NULL, NULL, "LOCAL /vhost", NULL},
    {VHOST_PREFIX,
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\n"
     "RewriteOptions InheritBefore\nRewriteRule ^/m$ /vhost [L]\n</VirtualHost>\n",
     1, "/m", NULL, NULL, "LOCAL /main", NULL},
    {VHOST_PREFIX,
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine Off\n"
     "RewriteOptions Inherit\n</VirtualHost>\n",
     1, "/m", NULL, NULL, "DECLINED", NULL},
    {"Listen 127.0.0.1:8080\nServerName front.example\nRewriteEngine On\n"
     "RewriteMap m txt:@MAPDIR@/m.txt\n",
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\n"
     "RewriteRule ^/(.*) /${m:$1|nomap}\n</VirtualHost>\n",
     1, "/k1", NULL, NULL, "LOCAL /nomap", NULL},
    {"Listen 127.0.0.1:8080\nServerName front.example\nRewriteEngine On\n"
     "RewriteMap m txt:@MAPDIR@/m.txt\n",
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\nRewriteOptions Inherit\n"
     "RewriteRule ^/(.*) /${m:$1|nomap}\n</VirtualHost>\n",
     1, "/k1", NULL, NULL, "LOCAL /v1", NULL},
    {"Listen 127.0.0.1:8080\nServerName front.example\nRewriteEngine On\n"
     "RewriteOptions InheritDown\nRewriteRule ^/m /main\n",
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\n</VirtualHost>\n", 1, "/m",
     NULL, NULL, "LOCAL /main", NULL},
    {"Listen 127.0.0.1:8080\nServerName front.example\nRewriteEngine On\n"
     "RewriteOptions InheritDown\nRewriteRule ^/m /main\n",
     "<VirtualHost *:8080>\nServerName v.example\nRewriteEngine On\nRewriteOptions "
     "IgnoreInherit\n</VirtualHost>\n",
     1, "/m", NULL, NULL, "DECLINED", NULL},
    {VHOST_PREFIX,
     "<VirtualHost 127.0.0.1:8080>\nServerName v.example\nRewriteEngine On\n"
     "RewriteRule ^/a http://127.0.0.1:8080/x\n</VirtualHost>\n",
     1, "/a", NULL, NULL, "LOCAL /x", NULL},
};

static void setup_files(void)
{
    snprintf(mapdir, sizeof(mapdir), "/tmp/test_rewrite_maps.%d", (int)getpid());
    mkdir(mapdir, 0755);
    char path[256];
    snprintf(path, sizeof(path), "%s/m.txt", mapdir);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        exit(2);
    fprintf(f, "# test map\nk1 v1\nk2 v2 # comment\nk 3 ignored\nk v3\nq /x?y\n"
               "k4 127.0.0.1:9001\n");
    fclose(f);
    snprintf(path, sizeof(path), "%s/empty", mapdir);
    f = fopen(path, "w");
    if (f != NULL)
        fclose(f);
    char link[256];
    snprintf(link, sizeof(link), "%s/link", mapdir);
    snprintf(path, sizeof(path), "%s/m.txt", mapdir);
    if (symlink(path, link) != 0)
        perror("symlink");
}

static void cleanup_files(void)
{
    const char *names[] = {"m.txt", "empty", "link"};
    char path[256];
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof(path), "%s/%s", mapdir, names[i]);
        unlink(path);
    }
    rmdir(mapdir);
}

/* The "B" case above reads map key "k 3": txt keys end at whitespace, so "k+3" (escaped)
 * misses and "k" would not be asked; the map lookup sees exactly the expanded key. */

int main(void)
{
    A = arena_create(0);
    LISTENER.protocol = "http";
    util_strlcpy(CONN.client_ip, "192.0.2.7", sizeof(CONN.client_ip));
    CONN.client_port = 5555;
    util_strlcpy(CONN.local_ip, "127.0.0.1", sizeof(CONN.local_ip));
    CONN.local_port = 8080;
    setenv("RW_TEST_OS", "from-os", 1);
    setup_files();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        run_case(&cases[i], (int)i);

    /* https listener: scheme, port and HTTPS follow the connection */
    LISTENER.protocol = "https";
    static const struct tcase tls[] = {
        {NULL, "RewriteRule ^/a /b [R]\n", 0, "/a", NULL, NULL, "R 302 https://front.example/b",
         NULL},
        {NULL, "RewriteRule ^/a /b [R]\n", 0, "/a", NULL, "Host: front.example:443",
         "R 302 https://front.example/b", NULL},
        {NULL, "RewriteRule ^/ - [E=V:%{HTTPS}|%{REQUEST_SCHEME}|%{SERVER_PORT}]\n", 0, "/", NULL,
         NULL, "DECLINED", "E:V=on|https|443"},
        {NULL,
         "RewriteCond %{HTTPS} !=on\nRewriteRule ^/(.*) https://%{SERVER_NAME}/$1 [R=301,L]\n", 0,
         "/x", NULL, NULL, "DECLINED", NULL},
    };
    for (size_t i = 0; i < sizeof(tls) / sizeof(tls[0]); i++)
        run_case(&tls[i], 1000 + (int)i);
    LISTENER.protocol = "http";
    static const struct tcase plain[] = {
        {NULL,
         "RewriteCond %{HTTPS} !=on\nRewriteRule ^/(.*) https://%{SERVER_NAME}/$1 [R=301,L]\n", 0,
         "/x", "a=1", NULL, "R 301 https://front.example/x?a=1", NULL},
    };
    run_case(&plain[0], 2000);

    /* engine off without any rewrite config, and a NULL rewrite conf */
    {
        struct conf *c =
            testconf_load("test_rewrite", "Listen 127.0.0.1:8080\n", "", errbuf, sizeof(errbuf));
        ok(c != NULL, "plain config loads: %s", errbuf);
        if (c != NULL) {
            struct request r;
            build_request(&r, c, c->main, "/a", NULL, NULL);
            struct rewrite_result res;
            rewrite_translate(c, c->main, &r, "/a", &res);
            is_int(res.outcome, RW_DECLINED, "no mod_rewrite config: declined");
            ok(env_get(&r, "SCRIPT_URL") == NULL, "no SCRIPT_URL when the engine is off");
            conf_free(c);
        }
    }
    /* '*' and non-URL-path targets are declined unless AllowAnyURI */
    {
        struct conf *c = testconf_load("test_rewrite", DEFAULT_PREFIX, "RewriteRule ^ /x\n", errbuf,
                                       sizeof(errbuf));
        ok(c != NULL, "config loads: %s", errbuf);
        if (c != NULL) {
            struct request r;
            build_request(&r, c, c->main, "*", NULL, NULL);
            struct rewrite_result res;
            rewrite_translate(c, c->main, &r, "*", &res);
            is_int(res.outcome, RW_DECLINED, "OPTIONS * is not rewritten");
            conf_free(c);
        }
        c = testconf_load("test_rewrite", DEFAULT_PREFIX,
                          "RewriteOptions AllowAnyURI\nRewriteRule ^ /x\n", errbuf, sizeof(errbuf));
        ok(c != NULL, "config loads: %s", errbuf);
        if (c != NULL) {
            struct request r;
            build_request(&r, c, c->main, "*", NULL, NULL);
            struct rewrite_result res;
            rewrite_translate(c, c->main, &r, "*", &res);
            is_str(outcome_text(&res), "LOCAL /x", "AllowAnyURI rewrites '*'");
            conf_free(c);
        }
    }
    /* Review fixes: values decoded from the request must not split a response header or
     * the backend request; a huge CO= lifetime; the [N] memory budget. */
#define X64    "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define LONG_N "/n" X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64 X64
    static const struct tcase sec[] = {
        {NULL, "RewriteRule ^/ne/(.*) http://example.com/$1 [R,NE]\n", 0, "/ne/a\r\nX-I: 1", NULL,
         NULL, "STATUS 500", NULL},
        {NULL, "RewriteRule ^/ne/(.*) http://example.com/$1 [R,NE]\n", 0, "/ne/a\tb", NULL, NULL,
         "STATUS 500", NULL},
        {NULL, "RewriteRule ^/h/(.*) http://$1/x [R]\n", 0, "/h/ev\r\nX-I:1", NULL, NULL,
         "STATUS 500", NULL},
        {NULL, "RewriteRule ^/h/(.*) http://example.com/$1 [R]\n", 0, "/h/a\r\nb", NULL, NULL,
         "R 302 http://example.com/a%0d%0ab", NULL},
        {NULL, "RewriteRule ^/co/(.*) - [CO=foo:$1:example.com]\n", 0, "/co/a\r\nX-I: 1", NULL,
         NULL, "STATUS 500", "C:"},
        {NULL, "RewriteRule ^/co/(.*) - [CO=ok:1:example.com]\nRewriteRule ^/co/(.*) /z [F]\n", 0,
         "/co/a", NULL, NULL, "STATUS 403", "C:ok=1; path=/; domain=example.com"},
        {NULL, "RewriteRule ^/t/(.*) /x [T=$1]\n", 0, "/t/text/html\r\nX-I: 1", NULL, NULL,
         "STATUS 500", "T:"},
        {NULL, "RewriteRule ^/p/(.*) http://127.0.0.1:9/$1 [P,NE]\n", 0, "/p/a\r\nX: 1", NULL, NULL,
         "STATUS 403", NULL},
        {NULL, "RewriteRule ^/p/(.*) http://127.0.0.1:9/$1 [P,NE]\n", 0, "/p/a b", NULL, NULL,
         "STATUS 403", NULL},
        {NULL, "RewriteRule ^/p/(.*) http://127.0.0.1:9/$1 [P]\n", 0, "/p/a b", NULL, NULL,
         "PROXY http://127.0.0.1:9/a b", "N:0"},
        {NULL, "RewriteRule ^/big - [CO=c:v:example.com:99999999999999999]\n", 0, "/big", NULL,
         NULL, "DECLINED", "C:c=v; path=/; domain=example.com"},
        {NULL, "RewriteRule ^/neg - [CO=c:v:example.com:-99999999999999999]\n", 0, "/neg", NULL,
         NULL, "DECLINED", "C:c=v; path=/; domain=example.com"},
        {NULL, "RewriteRule ^/n(.*)$ /n$1 [N]\n", 0, LONG_N, NULL, NULL, "STATUS 500", "M:40"},
    };
    for (size_t i = 0; i < sizeof(sec) / sizeof(sec[0]); i++)
        run_case(&sec[i], 3000 + (int)i);

    testconf_clean();
    cleanup_files();
    arena_destroy(A);
    return tap_done();
}
