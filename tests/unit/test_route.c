/* Unit tests of mod_proxy configuration (proxy_conf.c), the routing decision (route.c)
 * and the response-header rewriting (proxy_reverse.c). Configs are loaded with
 * conf_load() from a temporary ServerRoot; requests are built in memory (no sockets). */
#include <ftw.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "conf.h"
#include "conf_registry.h"
#include "conn.h"
#include "proxy_reverse.h"
#include "proxy_types.h"
#include "route.h"
#include "tap.h"
#include "testconf.h"
#include "uri_norm.h"
#include "util.h"

static char errbuf[16384];
static struct arena *A;
static struct conn CONN;

/* Writes "Listen/ServerName" + text as portico.conf (so the first line of text is line 3)
 * and loads it. */
static struct conf *load(const char *text)
{
    return testconf_load("test_route", "Listen 127.0.0.1:8080\nServerName front.example\n", text,
                         errbuf, sizeof(errbuf));
}

/* Routes raw_path?query on srv from client ip; "local", "STATUS n" or the backend URL. */
static const char *route_ex(const struct conf *c, const struct conf_server *srv,
                            const char *raw_path, const char *query, const char *ip,
                            struct route_decision *d)
{
    struct request r;
    memset(&r, 0, sizeof(r));
    r.arena = A;
    r.c = &CONN;
    util_strlcpy(CONN.client_ip, ip ? ip : "192.0.2.10", sizeof(CONN.client_ip));
    r.h.path = arena_strdup(A, raw_path);
    r.h.query = query ? arena_strdup(A, query) : NULL;
    size_t n = strlen(raw_path), nl = 0;
    char *norm = arena_alloc(A, n + 1);
    int st = uri_normalise(raw_path, n, norm, &nl);
    if (st != 0)
        return arena_printf(A, "NORMALISE %d", st);
    norm[nl] = '\0';
    r.path = norm;
    r.srv = srv;
    route_request(c, &r, d);
    if (d->outcome == ROUTE_LOCAL)
        return "local";
    if (d->outcome == ROUTE_STATUS)
        return arena_printf(A, "STATUS %d", d->status);
    return d->url;
}

static const char *route(const struct conf *c, const char *raw_path, const char *query)
{
    struct route_decision d;
    return route_ex(c, NULL, raw_path, query, NULL, &d);
}

/* ---- Appendix C, slashes, Match, nocanon, encoding ---- */

static const char *const main_conf =
    "ProxyPass /service/index !\n"
    "ProxyPass /service http://127.0.0.1:8000/service\n"
    "ProxyPass /app/ http://127.0.0.1:8001/app/\n"
    "ProxyPass /app2 http://127.0.0.1:8001/app2/\n"
    "ProxyPass /app3/ http://127.0.0.1:8001/app3\n"
    "ProxyPass /exact http://127.0.0.1:8002/exact\n"
    "ProxyPass /nocanon http://127.0.0.1:8003/raw nocanon\n"
    "ProxyPassMatch ^/img/(.*)\\.gif$ http://127.0.0.1:8004/images/$1.png\n"
    "ProxyPassMatch \\.jpg$ http://127.0.0.1:8004/j\n"
    "ProxyPassMatch ^/cap/([a-z]+)/(.*)$ http://127.0.0.1:8004/$2/$1\n"
    "ProxyPassMatch ^/admin !\n"
    "ProxyPass /glue/ http://127.0.0.1:8005\n"
    "ProxyPass /enc http://127.0.0.1:8006/x%20y\n"
    "ProxyPass / http://127.0.0.1:9000/\n";

static void test_routing(void)
{
    struct conf *c = load(main_conf);
    ok(c != NULL, "main config loads: %s", errbuf);
    if (c == NULL)
        return;
    static const struct {
        const char *path, *query, *want;
    } cases[] = {
        /* Appendix C: the exclusion matches path segments, after normalisation */
        {"/service/index", NULL, "local"},
        {"/service/index/", NULL, "local"},
        {"/service/index/sub", NULL, "local"},
        {"/service/index", "x=1", "local"},
        {"/service/indexer", NULL, "http://127.0.0.1:8000/service/indexer"},
        {"/service/%69ndex", NULL, "local"},
        {"/service/./index", NULL, "local"},
        {"/service//index", NULL, "local"},
        {"/service/x/../index", NULL, "local"},
        {"/service/Index", NULL, "http://127.0.0.1:8000/service/Index"},
        /* portico's stricter rule: ;parameters cannot bypass an exclusion */
        {"/service/index;x=1", NULL, "local"},
        {"/service/index;jsessionid=1/sub", NULL, "local"},
        {"/service/index%3Bx=1", NULL, "local"},
        {"/service;a=b/index", NULL, "local"},
        {"/service", NULL, "http://127.0.0.1:8000/service"},
        {"/service", "x=1&y", "http://127.0.0.1:8000/service?x=1&y"},
        {"/service/a", "", "http://127.0.0.1:8000/service/a?"},
        /* trailing slashes, as httpd */
        {"/app", NULL, "http://127.0.0.1:9000/app"},
        {"/app/", NULL, "http://127.0.0.1:8001/app/"},
        {"/app//x", NULL, "http://127.0.0.1:8001/app/x"},
        {"/app2/x", NULL, "http://127.0.0.1:8001/app2//x"},
        {"/app2", NULL, "http://127.0.0.1:8001/app2/"},
        {"/app3/x", NULL, "http://127.0.0.1:8001/app3x"},
        {"/exact", NULL, "http://127.0.0.1:8002/exact"},
        {"/exactly", NULL, "http://127.0.0.1:9000/exactly"},
        {"/glue/", NULL, "http://127.0.0.1:8005/"},
        {"/glue/x", NULL, "STATUS 502"},
        {"/", NULL, "http://127.0.0.1:9000/"},
        /* ProxyPassMatch */
        {"/img/a%20b.gif", "q=1", "http://127.0.0.1:8004/images/a%20b.png?q=1"},
        {"/x/y.jpg", NULL, "http://127.0.0.1:8004/j/x/y.jpg"},
        {"/cap/abc/rest/of", NULL, "http://127.0.0.1:8004/rest/of/abc"},
        {"/admin", NULL, "local"},
        {"/administrator", NULL, "local"},
        {"/admin;x=1", NULL, "local"},
        {"/%61dmin", NULL, "local"},
        /* re-encoding: decoded then httpd's enc_path set, upper-case hex */
        {"/p/%21%3B%7e%25x", NULL, "http://127.0.0.1:9000/p/!;~%25x"},
        {"/sp%20ace", NULL, "http://127.0.0.1:9000/sp%20ace"},
        {"/q%3fx", NULL, "http://127.0.0.1:9000/q%3Fx"},
        {"/u%c3%a9", NULL, "http://127.0.0.1:9000/u%C3%A9"},
        {"/enc/q%20r", NULL, "http://127.0.0.1:8006/x%2520y/q%20r"},
        {"/x", "a\x01", "STATUS 403"},
        {"/x", "a=%20b", "http://127.0.0.1:9000/x?a=%20b"},
        /* nocanon: the client's bytes, when the raw path matches the same way */
        {"/nocanon/a%41b", "x=%41", "http://127.0.0.1:8003/raw/a%41b?x=%41"},
        {"//nocanon/a%41b", NULL, "http://127.0.0.1:8003/raw/aAb"},
        /* normalisation rejects before routing */
        {"/a%2Fb", NULL, "NORMALISE 404"},
        {"/../x", NULL, "NORMALISE 400"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        is_str(route(c, cases[i].path, cases[i].query), cases[i].want, "route %s%s%s",
               cases[i].path, cases[i].query ? "?" : "", cases[i].query ? cases[i].query : "");

    struct route_decision d;
    route_ex(c, NULL, "/service/x", "q", NULL, &d);
    is_str(d.backend_target, "/service/x?q", "backend_target is origin-form");
    ok(d.worker != NULL && strcmp(d.worker->hostport, "127.0.0.1:8000") == 0, "worker hostport");
    ok(d.why != NULL && strstr(d.why, "ProxyPass /service http://127.0.0.1:8000/service at ") &&
           strstr(d.why, "portico.conf:4"),
       "why names the ProxyPass and its line: %s", d.why);
    is_int(d.timeout_ms, 60000, "timeout falls back to Timeout");
    is_int(d.connect_timeout_ms, 60000, "connect timeout falls back to the timeout");
    is_int(d.add_headers, 1, "ProxyAddHeaders defaults On");
    is_int(d.preserve_host, 0, "ProxyPreserveHost defaults Off");
    route_ex(c, NULL, "/service/index;x=1", NULL, NULL, &d);
    ok(d.why && strstr(d.why, "without ;parameters"), "why says the stripped path matched: %s",
       d.why);
    route_ex(c, NULL, "/glue/x", NULL, NULL, &d);
    ok(d.why && strstr(d.why, "glues"), "glued host explained: %s", d.why);
    /* workers: one per URL, shared by prefix as httpd does */
    is_int(c->proxy->n_workers, 12, "workers: one per URL unless a worker path prefixes it");
    conf_free(c);
}

/* ---- <Location> one-argument form, vhost inheritance, sections, access ---- */

static const char *const loc_conf =
    "DocumentRoot htdocs\n"
    "ProxyPass /loc !\n"
    "ProxyPass /m http://127.0.0.1:8010/main-m\n"
    "<Location /loc>\n"
    "  ProxyPass http://127.0.0.1:8011/locpass\n"
    "</Location>\n"
    "<Location /loc/inner>\n"
    "  ProxyPass http://127.0.0.1:8011/inner\n"
    "</Location>\n"
    "<Location /loc/inner/no>\n"
    "  ProxyPass !\n"
    "</Location>\n"
    "<LocationMatch ^/lm/(.*)$>\n"
    "  ProxyPass http://127.0.0.1:8012/lm/$1\n"
    "</LocationMatch>\n"
    "<Proxy *>\n"
    "  ProxyErrorOverride On 500 502\n"
    "</Proxy>\n"
    "<Proxy http://127.0.0.1:8010/main-m/secret>\n"
    "  Require ip 10.0.0.0/8\n"
    "</Proxy>\n"
    "<Location /m/private>\n"
    "  Require all denied\n"
    "</Location>\n"
    "<Location /m/hdr>\n"
    "  ProxyPreserveHost On\n"
    "  ProxyErrorOverride Off\n"
    "</Location>\n"
    "<Location /local/deny>\n"
    "  Require all denied\n"
    "</Location>\n"
    "<Directory @/htdocs/sub>\n"
    "  Options None\n"
    "</Directory>\n"
    "<Directory @/htdocs>\n"
    "  Options None\n"
    "</Directory>\n"
    "<Files *.txt>\n"
    "  Options None\n"
    "</Files>\n"
    "ProxyTimeout 7\n"
    "<VirtualHost 127.0.0.1:8080>\n"
    "  ServerName v.example\n"
    "  ProxyPass /m http://127.0.0.1:8020/vhost-m timeout=3 connectiontimeout=250ms\n"
    "  ProxyPass /v http://127.0.0.1:8020/v\n"
    "  <Location /vloc>\n"
    "    ProxyPass http://127.0.0.1:8021/vloc\n"
    "  </Location>\n"
    "</VirtualHost>\n"
    "<VirtualHost 127.0.0.1:8080>\n"
    "  ServerName w.example\n"
    "  Timeout 11\n"
    "  ProxyPass /w http://127.0.0.1:8030/w\n"
    "</VirtualHost>\n";

/* The config text with '@' replaced by the ServerRoot is only known after mkdtemp: load
 * twice, the first time to learn the testconf_root. */
static struct conf *load_at(const char *text)
{
    static char buf[16384];
    struct conf *c = load("");
    if (c != NULL)
        conf_free(c);
    char keep[256];
    util_strlcpy(keep, testconf_root, sizeof(keep));
    size_t o = 0;
    for (const char *p = text; *p && o + 300 < sizeof(buf); p++) {
        if (*p == '@')
            o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s", keep);
        else
            buf[o++] = *p;
    }
    buf[o] = '\0';
    /* load() makes a new testconf_root: write into the old one instead. */
    char path[512];
    snprintf(path, sizeof(path), "%s/portico.conf", keep);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return NULL;
    fprintf(f, "Listen 127.0.0.1:8080\nServerName front.example\n%s", buf);
    fclose(f);
    struct conf_options opt = {keep, NULL, NULL, NULL, NULL};
    errbuf[0] = '\0';
    return conf_load(&opt, errbuf, sizeof(errbuf));
}

static int has_section(const struct route_decision *d, enum conf_dir_kind k, const char *pat)
{
    for (int i = 0; i < d->n_sections; i++)
        if (d->sections[i]->kind == k && strstr(d->sections[i]->pattern, pat) != NULL)
            return i + 1;
    return 0;
}

static void test_locations(void)
{
    struct conf *c = load_at(loc_conf);
    ok(c != NULL, "location config loads: %s", errbuf);
    if (c == NULL)
        return;
    const struct conf_server *v = c->vhosts, *w = c->vhosts->next;
    static const struct {
        int srv; /* 0 main, 1 v, 2 w */
        const char *path, *ip, *want;
    } cases[] = {
        /* a <Location> ProxyPass is tried before the server list, so "ProxyPass /loc !"
         * does not exclude it (httpd) */
        {0, "/loc/z", NULL, "http://127.0.0.1:8011/locpass/z"},
        {0, "/loc", NULL, "http://127.0.0.1:8011/locpass"},
        {0, "/locx", NULL, "local"},
        {0, "/loc/inner/y", NULL, "http://127.0.0.1:8011/inner/y"},
        {0, "/loc/innerx", NULL, "http://127.0.0.1:8011/locpass/innerx"},
        {0, "/loc/inner/no", NULL, "local"},
        {0, "/loc/inner/no/more", NULL, "local"},
        {0, "/loc/inner/no;x=1", NULL, "local"},
        {0, "/lm/a/b", NULL, "http://127.0.0.1:8012/lm/a/b"},
        /* vhosts: the main server's entries come first, then the vhost's (httpd) */
        {1, "/m/x", NULL, "http://127.0.0.1:8010/main-m/x"},
        {1, "/v/x", NULL, "http://127.0.0.1:8020/v/x"},
        {1, "/vloc/1", NULL, "http://127.0.0.1:8021/vloc/1"},
        {1, "/loc/1", NULL, "http://127.0.0.1:8011/locpass/1"},
        {0, "/vloc/1", NULL, "local"},
        {0, "/v/x", NULL, "local"},
        {2, "/w", NULL, "http://127.0.0.1:8030/w"},
        {2, "/v", NULL, "local"},
        /* access control: <Proxy> prefix of the backend URL, <Location> */
        {0, "/m/secret", "192.0.2.1", "STATUS 403"},
        {0, "/m/secretive", "192.0.2.1", "STATUS 403"},
        {0, "/m/secret", "10.1.2.3", "http://127.0.0.1:8010/main-m/secret"},
        {0, "/m/private", NULL, "STATUS 403"},
        {0, "/m/private/x", NULL, "STATUS 403"},
        {0, "/m/privateer", NULL, "http://127.0.0.1:8010/main-m/privateer"},
        {0, "/m/private;x=1", NULL, "STATUS 403"},
        {0, "/m/private%3Bx=1/y", NULL, "STATUS 403"},
        {0, "/m//private", NULL, "STATUS 403"},
        {1, "/m/private", NULL, "STATUS 403"},
        {0, "/local/deny", NULL, "STATUS 403"},
        {0, "/local/deny;a", NULL, "STATUS 403"},
        {0, "/local/other", NULL, "local"},
    };
    const struct conf_server *srvs[] = {c->main, v, w};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct route_decision d;
        is_str(route_ex(c, srvs[cases[i].srv], cases[i].path, NULL, cases[i].ip, &d), cases[i].want,
               "route %s on server %d from %s", cases[i].path, cases[i].srv,
               cases[i].ip ? cases[i].ip : "default");
    }

    struct route_decision d;
    route_ex(c, NULL, "/m/hdr/x", NULL, NULL, &d);
    ok(has_section(&d, DIR_PROXY, "*") && has_section(&d, DIR_LOCATION, "/m/hdr") &&
           has_section(&d, DIR_PROXY, "*") < has_section(&d, DIR_LOCATION, "/m/hdr"),
       "proxied: <Proxy *> then <Location>");
    ok(!has_section(&d, DIR_PROXY, "secret"), "<Proxy .../secret> not collected for /m/hdr");
    is_int(d.preserve_host, 1, "ProxyPreserveHost On from <Location>");
    is_int(d.error_override, 0, "ProxyErrorOverride Off: <Location> wins over <Proxy *>");
    is_int(d.timeout_ms, 7000, "ProxyTimeout 7");
    route_ex(c, NULL, "/m/x", NULL, NULL, &d);
    is_int(d.error_override, 1, "ProxyErrorOverride On from <Proxy *>");
    is_int(d.n_error_override_codes, 2, "two override codes");
    ok(route_error_override(&d, 502) && !route_error_override(&d, 404) &&
           !route_error_override(&d, 200),
       "route_error_override honours the code list");
    ok(route_last_section_with(&d, offsetof(struct conf_dir, proxy)) != NULL,
       "route_last_section_with finds a section with proxy conf");
    ok(route_last_section_with(&d, offsetof(struct conf_dir, headers)) == NULL,
       "route_last_section_with: none with headers");
    is_str(d.proxy_name, "http://127.0.0.1:8010/main-m/x", "proxy_name as httpd's r->filename");
    route_ex(c, v, "/m/x", NULL, NULL, &d);
    is_int(d.timeout_ms, 7000, "vhost inherits the main ProxyTimeout");
    route_ex(c, v, "/v/x", NULL, NULL, &d);
    is_int(d.timeout_ms, 7000, "vhost worker without timeout= uses ProxyTimeout");
    route_ex(c, w, "/w", NULL, NULL, &d);
    is_int(d.timeout_ms, 7000, "second vhost: main's ProxyTimeout beats its own Timeout");

    route_ex(c, NULL, "/sub/a.txt", NULL, NULL, &d);
    is_int(d.outcome, ROUTE_LOCAL, "local request");
    int d1 = has_section(&d, DIR_DIRECTORY, "/htdocs/sub"),
        d2 = has_section(&d, DIR_DIRECTORY, "htdocs");
    ok(d2 && d1 && d2 < d1 && d1 == 2, "<Directory> by depth: htdocs then htdocs/sub");
    ok(has_section(&d, DIR_FILES, "*.txt") == 3, "<Files *.txt> after <Directory>");
    ok(!has_section(&d, DIR_PROXY, "*"), "no <Proxy> for a local request");
    route_ex(c, NULL, "/loc/inner/no", NULL, NULL, &d);
    ok(d.why && strstr(d.why, "ProxyPass ! in <Location /loc/inner/no>"), "why: %s", d.why);
    route_ex(c, NULL, "/m/private;x=1", NULL, NULL, &d);
    ok(d.why && strstr(d.why, "denied by <Location /m/private>") &&
           strstr(d.why, "without ;parameters"),
       "why: %s", d.why);
    conf_free(c);
}

/* ---- <Proxy> access rules see the backend name of the ;parameter-stripped path ---- */

static void test_proxy_acl_stripped(void)
{
    struct conf *c = load("ProxyPass /x http://127.0.0.1:8040/x\n"
                          "ProxyPassMatch ^/m/(.*)$ http://127.0.0.1:8041/mm/$1\n"
                          "ProxyPass /y/ http://127.0.0.1:8042/z/\n"
                          "<Proxy \"http://127.0.0.1:8040/x/admin\">\n"
                          "  Require all denied\n"
                          "</Proxy>\n"
                          "<ProxyMatch \"/x/secret$\">\n"
                          "  Require all denied\n"
                          "</ProxyMatch>\n"
                          "<Proxy \"http://127.0.0.1:8041/mm/admin\">\n"
                          "  Require all denied\n"
                          "</Proxy>\n"
                          "<Proxy \"http://127.0.0.1:8042/admin\">\n"
                          "  Require all denied\n"
                          "</Proxy>\n");
    ok(c != NULL, "stripped-name config loads: %s", errbuf);
    if (c == NULL)
        return;
    static const struct {
        const char *path, *want;
    } cases[] = {
        {"/x/admin", "STATUS 403"},
        {"/x/foo/..;/admin", "STATUS 403"},
        {"/x/foo/..;a=1/admin/z", "STATUS 403"},
        {"/x/admin;jsessionid=1", "STATUS 403"},
        {"/x;a/admin", "local"}, /* no ProxyPass matches "/x;a" */
        {"/x/secret", "STATUS 403"},
        {"/x/secret;a=1", "STATUS 403"},
        {"/x/secret;a=1/", "http://127.0.0.1:8040/x/secret;a=1/"},
        {"/x/foo;a=1", "http://127.0.0.1:8040/x/foo;a=1"},
        {"/x/secretive;a=1", "http://127.0.0.1:8040/x/secretive;a=1"},
        {"/m/admin;v=2", "STATUS 403"},
        {"/m/q/..;/admin", "STATUS 403"},
        {"/m/q;v=2", "http://127.0.0.1:8041/mm/q;v=2"},
        /* the stripped path leaves the entry ("/y/.." climbs out of /y/): the backend
         * still resolves its own name, which the <Proxy> sees */
        {"/y/..;/..;/admin", "STATUS 403"},
        {"/y/a;b", "http://127.0.0.1:8042/z/a;b"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        is_str(route(c, cases[i].path, NULL), cases[i].want, "<Proxy> ACL: %s", cases[i].path);
    struct route_decision d;
    route_ex(c, NULL, "/x/secret;a=1", NULL, NULL, &d);
    ok(d.why && strstr(d.why, "denied by <ProxyMatch /x/secret$>") &&
           strstr(d.why, "without ;parameters"),
       "why: %s", d.why);
    conf_free(c);
}

/* ---- worker parameters and ProxySet ---- */

static void test_workers(void)
{
    struct conf *c = load("ProxyPass /a http://127.0.0.1:8000/ timeout=5 connectiontimeout=1500ms "
                          "retry=0 keepalive=On ttl=30 max=4 flushpackets=auto flushwait=20\n"
                          "ProxyPass /b http://127.0.0.1:8000/b timeout=9\n"
                          "ProxyPass /ws ws://127.0.0.1:8001/ws\n"
                          "ProxyPass /up http://127.0.0.1:8002/ upgrade=ANY disablereuse=On\n"
                          "ProxyPass /er http://127.0.0.1:8003/ enablereuse=Off\n"
                          "ProxyPass /v6 http://[::1]:8004/x\n"
                          "ProxyPass /p80 https://LocalHost:80/\n"
                          "<Proxy http://127.0.0.1:8005>\n"
                          "  ProxySet timeout=12 retry=5\n"
                          "</Proxy>\n"
                          "ProxyPass /ps http://127.0.0.1:8005/x\n"
                          "ProxySet http://127.0.0.1:8002/ max=2\n"
                          "ProxyPass /d http://LOCALHOST:80/D\n");
    ok(c != NULL, "worker config loads: %s", errbuf);
    if (c == NULL)
        return;
    struct route_decision d;
    route_ex(c, NULL, "/a", NULL, NULL, &d);
    const struct proxy_worker *wk = d.worker;
    ok(wk != NULL, "worker /a");
    if (wk != NULL) {
        is_int(wk->timeout_ms, 5000, "timeout=5");
        is_int(wk->connect_timeout_ms, 1500, "connectiontimeout=1500ms");
        is_int(wk->retry_ms, 0, "retry=0");
        is_int(wk->keepalive, 1, "keepalive=On");
        is_int(wk->ttl_ms, 30000, "ttl=30");
        is_int(wk->max, 4, "max=4");
        is_int(wk->flushpackets, 2, "flushpackets=auto");
        is_int(wk->flushwait_ms, 20, "flushwait=20");
        is_int(d.timeout_ms, 5000, "decision timeout from timeout=");
        is_int(d.connect_timeout_ms, 1500, "decision connect timeout");
    }
    route_ex(c, NULL, "/b", NULL, NULL, &d);
    ok(d.worker == wk, "http://127.0.0.1:8000/b shares the worker http://127.0.0.1:8000/");
    is_int(d.timeout_ms, 5000, "a sharing ProxyPass's timeout= is ignored (httpd)");
    int warned = 0;
    for (const struct conf_msg *m = c->warnings; m; m = m->next)
        warned |= strstr(m->text, "Ignoring parameter 'timeout=9' for worker "
                                  "'http://127.0.0.1:8000/' because of worker sharing") != NULL;
    ok(warned, "worker sharing warning");
    route_ex(c, NULL, "/ws/x", NULL, NULL, &d);
    ok(d.worker && strcmp(d.worker->scheme, "ws") == 0 && d.worker->port == 8001 &&
           d.worker->upgrade == NULL,
       "ws:// worker, no upgrade= stored");
    is_str(d.url, "ws://127.0.0.1:8001/ws/x", "ws URL");
    route_ex(c, NULL, "/up", NULL, NULL, &d);
    ok(d.worker && d.worker->upgrade && strcmp(d.worker->upgrade, "*") == 0,
       "upgrade=ANY stored as *");
    ok(d.worker && d.worker->disablereuse == 1 && d.worker->max == 2,
       "disablereuse=On and ProxySet max=2 applied");
    route_ex(c, NULL, "/er", NULL, NULL, &d);
    ok(d.worker && d.worker->disablereuse == 1, "enablereuse=Off is disablereuse");
    ok(d.worker && d.worker->retry_ms == 60000 && d.worker->max == 1 && d.worker->keepalive == 0 &&
           d.worker->ttl_ms == CONF_UNSET && d.worker->timeout_ms == CONF_UNSET,
       "worker defaults: retry 60s, max 1, keepalive Off, no ttl, timeout unset");
    route_ex(c, NULL, "/v6/y", NULL, NULL, &d);
    is_str(d.url, "http://[::1]:8004/x/y", "IPv6 backend URL bracketed");
    ok(d.worker && strcmp(d.worker->host, "::1") == 0 && d.worker->addr.ss_family == AF_INET6,
       "IPv6 host resolved");
    route_ex(c, NULL, "/p80", NULL, NULL, &d);
    ok(d.worker && strcmp(d.worker->hostport, "localhost") == 0,
       "https://h:80: port 80 never in Host (httpd quirk), host lower-cased: %s",
       d.worker ? d.worker->hostport : "");
    route_ex(c, NULL, "/ps", NULL, NULL, &d);
    ok(d.worker && d.worker->timeout_ms == 12000 && d.worker->retry_ms == 5000,
       "<Proxy url> ProxySet configures the worker a later ProxyPass shares");
    route_ex(c, NULL, "/d/x", NULL, NULL, &d);
    ok(d.worker && strcmp(d.worker->name, "http://localhost/D") == 0 &&
           strcmp(d.worker->hostport, "localhost") == 0,
       "worker name normalised: %s", d.worker ? d.worker->name : "");
    is_str(d.url, "http://localhost/D/x", "URL uses the normalised authority");

    char *dump = NULL;
    size_t dl = 0;
    FILE *f = open_memstream(&dump, &dl);
    proxy_conf_dump(c, f);
    fclose(f);
    ok(dump && strstr(dump, "Proxy workers:") &&
           strstr(dump, "http://127.0.0.1:8000/ (Host: 127.0.0.1:8000) timeout=5s "
                        "connectiontimeout=1500ms retry=0s ttl=30s max=4 keepalive=On"),
       "-S dump lists workers");
    ok(dump && strstr(dump, "ProxyPass /a http://127.0.0.1:8000/ ("), "-S dump lists routes");
    free(dump);
    conf_free(c);
}

/* ---- config errors: exact messages ---- */

static void test_errors(void)
{
    static const struct {
        const char *conf, *msg;
    } cases[] = {
        {"ProxyRequests On\n",
         "portico.conf:3: ProxyRequests: portico is a reverse proxy only; ProxyRequests On "
         "(forward proxying) is not supported"},
        {"ProxyRequests maybe\n", "portico.conf:3: ProxyRequests: must be On or Off"},
        {"ProxyPass /a\n", "portico.conf:3: ProxyPass: takes a path and a URL (or '!'), then "
                           "optional key=value parameters"},
        {"ProxyPass /a http://127.0.0.1:1/ interpolate\n",
         "portico.conf:3: ProxyPass: 'interpolate' is not supported"},
        {"ProxyPass /a http://127.0.0.1:1/ noquery\n",
         "portico.conf:3: ProxyPass: 'noquery' is not supported (the query string is always "
         "passed on)"},
        {"ProxyPass /a http://127.0.0.1:1/ mapping=servlet\n",
         "portico.conf:3: ProxyPass: 'mapping=servlet' is not supported"},
        {"ProxyPass /a http://127.0.0.1:1/ bare\n",
         "portico.conf:3: ProxyPass: 'bare' is not a parameter: parameters must be in the form "
         "key=value"},
        {"ProxyPass /a http://127.0.0.1:1/ foo=1\n",
         "portico.conf:3: ProxyPass: unknown Worker parameter 'foo'"},
        {"ProxyPass /a http://127.0.0.1:1/ stickysession=JSESSIONID\n",
         "portico.conf:3: ProxyPass: stickysession= is a balancer or balancer-member "
         "parameter, not valid for a single backend URL"},
        {"ProxyPass /a http://127.0.0.1:1/ lbmethod=byrequests\n",
         "portico.conf:3: ProxyPass: lbmethod= is a balancer"},
        {"ProxyPass /a http://127.0.0.1:1/ ping=1\n",
         "portico.conf:3: ProxyPass: worker parameter ping= is not supported by portico"},
        {"ProxyPass /a balancer://c/\n",
         "portico.conf:3: balancer://c is not defined (no <Proxy balancer://c> section with "
         "BalancerMember lines)"},
        {"ProxyPass /a ajp://127.0.0.1:1/\n",
         "portico.conf:3: ProxyPass: 'ajp://127.0.0.1:1/': scheme 'ajp' is not supported "
         "(http, https, ws, wss)"},
        {"ProxyPass /a unix:/run/x.sock|http://l/\n",
         "portico.conf:3: ProxyPass: 'unix:/run/x.sock|http://l/': unix: domain socket "
         "backends are not supported"},
        {"ProxyPass /a 127.0.0.1:1\n",
         "portico.conf:3: ProxyPass: '127.0.0.1:1' is not an absolute URL"},
        {"ProxyPass /a http://127.0.0.1:0/\n",
         "portico.conf:3: ProxyPass: 'http://127.0.0.1:0/': port must be a number from 1 to "
         "65535"},
        {"ProxyPass /a http:///x\n", "portico.conf:3: ProxyPass: 'http:///x': the URL has no host"},
        {"ProxyPass /a http://u@127.0.0.1/\n",
         "portico.conf:3: ProxyPass: 'http://u@127.0.0.1/': user information"},
        {"ProxyPass /a http://127.0.0.1/x?y=1\n",
         "portico.conf:3: ProxyPass: 'http://127.0.0.1/x?y=1': a query or fragment"},
        {"ProxyPass /a http://no-such-host.invalid/\n",
         "portico.conf:3: ProxyPass: cannot resolve backend host 'no-such-host.invalid'"},
        {"ProxyPass /a ! timeout=5\n",
         "portico.conf:3: ProxyPass: parameters are not allowed with '!' (got 'timeout=5')"},
        {"ProxyPass /a http://127.0.0.1:1/ timeout=500ms\n",
         "portico.conf:3: ProxyPass: timeout=500ms: Timeout must be a whole number of seconds, "
         "at least one"},
        {"ProxyPass /a http://127.0.0.1:1/ timeout=0\n",
         "portico.conf:3: ProxyPass: timeout=0: Timeout must be a whole number of seconds"},
        {"ProxyPass /a http://127.0.0.1:1/ connectiontimeout=abc\n",
         "portico.conf:3: ProxyPass: connectiontimeout=abc: Connectiontimeout has wrong format"},
        {"ProxyPass /a http://127.0.0.1:1/ connectiontimeout=0\n",
         "portico.conf:3: ProxyPass: connectiontimeout=0: Connectiontimeout must be at least "
         "one millisecond."},
        {"ProxyPass /a http://127.0.0.1:1/ retry=-1\n",
         "portico.conf:3: ProxyPass: retry=-1: Retry must be a whole number of seconds (0 or "
         "more)"},
        {"ProxyPass /a http://127.0.0.1:1/ ttl=0\n",
         "portico.conf:3: ProxyPass: ttl=0: TTL must be a whole number of seconds, at least one"},
        {"ProxyPass /a http://127.0.0.1:1/ max=-1\n",
         "portico.conf:3: ProxyPass: max=-1: Max must be a positive number"},
        {"ProxyPass /a http://127.0.0.1:1/ keepalive=yes\n",
         "portico.conf:3: ProxyPass: keepalive=yes: KeepAlive must be On|Off"},
        {"ProxyPass /a http://127.0.0.1:1/ disablereuse=2\n",
         "portico.conf:3: ProxyPass: disablereuse=2: DisableReuse must be On|Off"},
        {"ProxyPass /a http://127.0.0.1:1/ flushpackets=x\n",
         "portico.conf:3: ProxyPass: flushpackets=x: flushpackets must be on|off|auto"},
        {"ProxyPass /a http://127.0.0.1:1/ flushwait=2000\n",
         "portico.conf:3: ProxyPass: flushwait=2000: flushwait must be <= 1000"},
        {"ProxyPass /a http://127.0.0.1:1/ upgrade=a,b\n",
         "portico.conf:3: ProxyPass: upgrade=a,b: not a protocol name"},
        {"ProxyPass ~ ^/a http://127.0.0.1:1/\nProxyPassMatch ~ ^/a http://127.0.0.1:1/\n",
         "portico.conf:4: ProxyPassMatch: ProxyPassMatch invalid syntax ('~' usage)."},
        {"ProxyPassMatch ^/(a http://127.0.0.1:1/\n",
         "portico.conf:3: ProxyPassMatch: regular expression '^/(a' could not be compiled"},
        {"ProxyPassMatch ^/(.*)$ http://$1/\n",
         "portico.conf:3: ProxyPassMatch: 'http://$1/': $N substitution in the host or port is "
         "not supported (backends are resolved at load)"},
        {"<Location /x>\nProxyPass /x http://127.0.0.1:1/\n</Location>\n",
         "portico.conf:4: ProxyPass: ProxyPass|ProxyPassMatch can not have a path when defined "
         "in a location."},
        {"<Location /x>\nProxyPass http://127.0.0.1:1/\nProxyPass http://127.0.0.1:2/\n"
         "</Location>\n",
         "portico.conf:5: ProxyPass: only one ProxyPass per <Location> (first at "},
        {"<Location /x*>\nProxyPass http://127.0.0.1:1/\n</Location>\n",
         "portico.conf:4: ProxyPass: a ProxyPass inside a wildcard <Location /x*> is not "
         "supported"},
        {"<Directory />\nProxyPass /x http://127.0.0.1:1/\n</Directory>\n",
         "portico.conf:4: ProxyPass: cannot occur within <Directory> section"},
        {"<Proxy *>\nProxyPass /x http://127.0.0.1:1/\n</Proxy>\n",
         "portico.conf:4: ProxyPass: cannot occur within <Proxy> section"},
        {"ProxyPassReverse /a\n", "portico.conf:3: ProxyPassReverse: takes a path and a URL"},
        {"ProxyPassReverse /a http://b/ interpolate\n",
         "portico.conf:3: ProxyPassReverse: 'interpolate' is not supported"},
        {"<Location /x>\nProxyPassReverse /x http://b/\n</Location>\n",
         "portico.conf:4: ProxyPassReverse: ProxyPassReverse can not have a path when defined "
         "in a location."},
        {"ProxyPassReverse / balancer://c/\n",
         "portico.conf:3: ProxyPassReverse: balancer://c is not defined (no BalancerMember "
         "names it)"},
        {"ProxyPassReverseCookiePath /a\n",
         "portico.conf:3: ProxyPassReverseCookiePath: takes two or three arguments"},
        {"ProxyPassReverseCookieDomain a b interpolate\n",
         "portico.conf:3: ProxyPassReverseCookieDomain: 'interpolate' is not supported"},
        {"ProxyPassReverseCookieDomain a b c\n",
         "portico.conf:3: ProxyPassReverseCookieDomain: 'c': unknown flag"},
        {"ProxyPreserveHost maybe\n", "portico.conf:3: ProxyPreserveHost: must be On or Off"},
        {"ProxyAddHeaders 2\n", "portico.conf:3: ProxyAddHeaders: must be On or Off"},
        {"ProxyTimeout 0\n", "portico.conf:3: ProxyTimeout: Proxy Timeout must be at least 1 "
                             "second."},
        {"ProxyTimeout 500ms\n",
         "portico.conf:3: ProxyTimeout: '500ms' is not a whole number of seconds (httpd reads "
         "'500ms' as 500 seconds)"},
        {"<Location /x>\nProxyTimeout 5\n</Location>\n",
         "portico.conf:4: ProxyTimeout: cannot occur within <Location> section"},
        {"ProxyVia maybe\n", "portico.conf:3: ProxyVia: ProxyVia must be one of: off | on | full "
                             "| block"},
        {"ProxyBadHeader foo\n", "portico.conf:3: ProxyBadHeader: ProxyBadHeader must be one of: "
                                 "IsError | Ignore | StartBody"},
        {"ProxyIOBufferSize 100\n",
         "portico.conf:3: ProxyIOBufferSize: ProxyIOBufferSize must be >= 512 bytes, or 0 for "
         "system default."},
        {"ProxyIOBufferSize big\n",
         "portico.conf:3: ProxyIOBufferSize: 'big' is not a whole number of bytes"},
        {"ProxyErrorOverride On 200\n",
         "portico.conf:3: ProxyErrorOverride: ProxyErrorOverride: status codes to intercept "
         "must be valid HTTP Status Codes >=400 && <600"},
        {"ProxyErrorOverride On 404 abc\n",
         "portico.conf:3: ProxyErrorOverride: ProxyErrorOverride: status codes to intercept "
         "must be numeric"},
        {"ProxyErrorOverride Maybe\n",
         "portico.conf:3: ProxyErrorOverride: ProxyErrorOverride must be On or Off"},
        {"ProxySet http://127.0.0.1:1/ timeout=5\n",
         "portico.conf:3: ProxySet: ProxySet can not find 'http://127.0.0.1:1/' Worker."},
        {"ProxySet http://127.0.0.1:1/\n",
         "portico.conf:3: ProxySet: takes a backend URL and key=value parameters"},
        {"<Proxy *>\nProxySet timeout=5\n</Proxy>\n",
         "portico.conf:4: ProxySet: inside <Proxy *> there is no single backend to configure"},
        {"<Proxy http://127.0.0.1:1/>\nProxySet route=a\n</Proxy>\n",
         "portico.conf:4: ProxySet: route= is a balancer or balancer-member parameter"},
        {"<Proxy balancer://c>\nProxySet lbmethod=byrequests\n</Proxy>\n",
         "portico.conf:4: balancer://c has no members (add BalancerMember lines inside <Proxy "
         "balancer://c>)"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct conf *c = load(cases[i].conf);
        ok(c == NULL && strstr(errbuf, cases[i].msg) != NULL, "error: %s", cases[i].msg);
        if (c != NULL || strstr(errbuf, cases[i].msg) == NULL)
            printf("#   got: %s\n", c ? "(loaded)" : errbuf);
        if (c != NULL)
            conf_free(c);
    }
    /* accepted forms */
    struct conf *c = load("ProxyRequests Off\n"
                          "ProxyPass /a http://127.0.0.1:1/a nocanon NoCanon\n"
                          "ProxyVia Full\nProxyBadHeader StartBody\nProxyIOBufferSize 0\n"
                          "ProxyErrorOverride On 404 500\n"
                          "ProxyPassReverseCookieDomain backend.local front.example\n"
                          "ProxyPass /b/ http://127.0.0.1:1/b\n");
    ok(c != NULL, "valid directives load: %s", errbuf);
    if (c != NULL) {
        const struct proxy_srv_conf *p = c->main->proxy;
        ok(p->via == 2 && p->bad_header == 2 && p->io_buffer_size == 8192 &&
               p->error_override == 1 && p->n_error_override_codes == 2 &&
               p->error_override_codes[1] == 500,
           "ProxyVia Full, ProxyBadHeader StartBody, ProxyIOBufferSize 0 = 8192, codes");
        int warned = 0;
        for (const struct conf_msg *m = c->warnings; m; m = m->next)
            warned |= strstr(m->text, "portico.conf:10: ProxyPass: '/b/' ends in '/' but its URL "
                                      "'http://127.0.0.1/b' does not") != NULL;
        ok(warned, "trailing-slash mismatch warned");
        conf_free(c);
    }
    c = load("");
    ok(c != NULL && c->main->proxy && c->main->proxy->timeout_ms == 60000 &&
           c->main->proxy->io_buffer_size == 8192 && c->main->proxy->add_headers == 1 &&
           c->main->proxy->via == 0 && c->proxy != NULL && c->proxy->n_workers == 0,
       "defaults without any proxy directive");
    if (c != NULL)
        conf_free(c);
}

/* ---- load balancing: balancers, members, health-check keys ---- */

static const char *const bal_conf =
    "ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}\n"
    "ProxyHCExpr gdown {hc('body') !~ /Shutting Down/}\n"
    "ProxyHCTemplate tcheck hcmethod=GET hcuri=/health hcinterval=5 hcpasses=2 hcfails=3 "
    "hcexpr=ok234\n"
    "ProxyHCTemplate bare hcuri=/x\n"
    "BalancerPersist On\n"
    "BalancerGrowth 7\n"
    "<Proxy balancer://MyCluster>\n"
    "  BalancerMember http://127.0.0.1:8101 route=node1 loadfactor=2.5 lbset=1 timeout=7 "
    "connectiontimeout=250ms retry=3 keepalive=On ttl=9 max=2 disablereuse=On hcmethod=head11 "
    "hcuri=/ping hcinterval=500ms hcpasses=4 hcfails=5 hcexpr=gdown\n"
    "  BalancerMember http://127.0.0.1:8102/sub/ route=node2 redirect=node1 status=+H "
    "hctemplate=tcheck\n"
    "  BalancerMember http://127.0.0.1:8103 status=D-D+NI hctemplate=bare hcfails=9\n"
    "  ProxySet lbmethod=ByTraffic stickysession=JSESSIONID|jsessionid stickysessionsep=_ "
    "scolonpathdelim=On nofailover=On maxattempts=5 \"failonstatus=502,503 504\" "
    "failontimeout=On forcerecovery=Off timeout=3 growth=2 nonce=None\n"
    "</Proxy>\n"
    "BalancerMember balancer://second http://127.0.0.1:8201\n"
    "BalancerMember balancer://second http://127.0.0.1:8202 status=-D\n"
    "ProxySet balancer://second lbmethod=bybusyness\n"
    "<Proxy balancer://third>\n"
    "  BalancerMember http://127.0.0.1:8301\n"
    "</Proxy>\n"
    "<Proxy balancer://second/deny>\n"
    "  Require all denied\n"
    "</Proxy>\n"
    "ProxyPass /app balancer://mycluster/app timeout=4\n"
    "ProxyPass /two/ balancer://second/\n"
    "ProxyPassMatch ^/m/(.*)$ balancer://third/x/$1\n"
    "ProxyPass /plain http://127.0.0.1:8101/plain\n"
    "ProxyPassReverse /app balancer://mycluster/app\n"
    "ProxyPassReverse /two balancer://second/\n"
    "ProxyPassReverse / balancer://third\n";

static const struct proxy_member *member_at(const struct proxy_balancer *b, int i)
{
    const struct proxy_member *m = b ? b->members : NULL;
    while (m != NULL && i-- > 0)
        m = m->next;
    return m;
}

static void test_balancers(void)
{
    struct conf *c = load(bal_conf);
    ok(c != NULL, "balancer config loads: %s", errbuf);
    if (c == NULL)
        return;
    const struct proxy_global_conf *g = c->proxy;
    is_int((int)g->n_balancers, 3, "three balancers");
    is_int(g->balancer_persist, 1, "BalancerPersist On");
    is_int(g->balancer_inherit, 1, "BalancerInherit defaults On");
    is_int(g->balancer_growth, 7, "BalancerGrowth 7");
    struct proxy_balancer *b1 = proxy_balancer_find(c, "balancer://MYCLUSTER/x");
    struct proxy_balancer *b2 = proxy_balancer_find(c, "balancer://second");
    struct proxy_balancer *b3 = proxy_balancer_find(c, "balancer://third/");
    ok(b1 && b2 && b3 && b1 == g->balancers && b1->next == b2 && b2->next == b3,
       "proxy_balancer_find, case-insensitive, config order");
    ok(proxy_balancer_find(c, "balancer://nope") == NULL &&
           proxy_balancer_find(c, "http://x") == NULL,
       "proxy_balancer_find: unknown names");
    if (!b1 || !b2 || !b3) {
        conf_free(c);
        return;
    }
    is_str(b1->name, "balancer://mycluster", "balancer name lower-cased");
    is_int((int)b1->n_members, 3, "three members");
    is_str(b1->lbmethod, "bytraffic", "lbmethod (case-insensitive)");
    is_str(b1->sticky, "JSESSIONID|jsessionid", "stickysession as written");
    is_str(b1->sticky_cookie, "JSESSIONID", "sticky cookie name");
    is_str(b1->sticky_param, "jsessionid", "sticky URL parameter name");
    is_int(b1->sticky_sep, '_', "stickysessionsep");
    ok(b1->scolonpathdelim == 1 && b1->nofailover == 1 && b1->failontimeout == 1 &&
           b1->forcerecovery == 0,
       "scolonpathdelim, nofailover, failontimeout, forcerecovery");
    is_int(b1->maxattempts, 5, "maxattempts=5");
    ok(b1->n_failonstatus == 3 && b1->failonstatus[0] == 502 && b1->failonstatus[2] == 504,
       "failonstatus list with ',' and ' '");
    is_int(b1->timeout_ms, 4000, "ProxyPass timeout= is the balancer's (after ProxySet's 3)");
    is_int(b1->growth, 2, "growth=2");
    ok(b1->nonce != NULL && b1->nonce[0] == '\0', "nonce=None");
    const struct proxy_member *m1 = member_at(b1, 0), *m2 = member_at(b1, 1),
                              *m3 = member_at(b1, 2);
    if (m1 && m2 && m3) {
        is_str(m1->route, "node1", "route");
        is_str(m1->redirect, "", "no redirect");
        is_int(m1->lbfactor, 250, "loadfactor 2.5 -> lbfactor 250");
        is_int(m1->lbset, 1, "lbset");
        is_int((int)m1->status, 0, "no status flags");
        const struct proxy_worker *w = m1->worker;
        ok(w->timeout_ms == 7000 && w->connect_timeout_ms == 250 && w->retry_ms == 3000 &&
               w->keepalive == 1 && w->ttl_ms == 9000 && w->max == 2 && w->disablereuse == 1,
           "worker keys on a member");
        ok(w->member == m1 && m1->balancer == b1, "member <-> worker <-> balancer links");
        ok(m1->hcmethod && strcmp(m1->hcmethod, "HEAD11") == 0 && strcmp(m1->hcuri, "/ping") == 0 &&
               m1->hcinterval_ms == 500 && m1->hcpasses == 4 && m1->hcfails == 5,
           "hc keys: method upper-cased, interval in ms");
        ok(m1->hcexpr && strcmp(m1->hcexpr, "gdown") == 0 && m1->hcexpr_def &&
               strcmp(m1->hcexpr_def->expr, "hc('body') !~ /Shutting Down/") == 0,
           "hcexpr resolved to its ProxyHCExpr");
        is_str(m2->worker->name, "http://127.0.0.1:8102/sub/", "member URL with a path");
        is_str(m2->redirect, "node1", "redirect");
        is_int((int)m2->status, (int)MEMBER_STANDBY, "status=+H");
        ok(m2->hcmethod && strcmp(m2->hcmethod, "GET") == 0 && strcmp(m2->hcuri, "/health") == 0 &&
               m2->hcinterval_ms == 5000 && m2->hcpasses == 2 && m2->hcfails == 3 &&
               strcmp(m2->hcexpr, "ok234") == 0 && m2->hcexpr_def &&
               strcmp(m2->hcexpr_def->expr, "%{REQUEST_STATUS} =~ /^[234]/") == 0,
           "hctemplate copies the template's keys");
        is_int((int)m3->status, (int)(MEMBER_DRAIN | MEMBER_IGNORE), "status=D-D+NI");
        ok(m3->hcmethod && strcmp(m3->hcmethod, "TCP") == 0 && strcmp(m3->hcuri, "/x") == 0 &&
               m3->hcfails == 9 && m3->hcpasses == 1 && m3->hcinterval_ms == 30000 &&
               m3->hcexpr == NULL,
           "template without hcmethod gives TCP (httpd); a later key overrides it");
        ok(m3->worker->timeout_ms == CONF_UNSET && m3->worker->retry_ms == 60000 &&
               m3->worker->max == 1,
           "member worker defaults");
        is_int(m1->lbfactor == 250 && member_at(b2, 0)->lbfactor == 100, 1,
               "loadfactor defaults to 1 (100)");
    }
    /* defaults and slots */
    ok(strcmp(b2->lbmethod, "bybusyness") == 0 && b2->maxattempts == 1 && b2->growth == 0 &&
           b2->forcerecovery == 1 && b2->nofailover == 0 && b2->sticky == NULL &&
           b2->sticky_sep == '.' && b2->timeout_ms == 0 && b2->nonce == NULL,
       "balancer defaults; maxattempts = members - 1");
    ok(strcmp(b3->lbmethod, "byrequests") == 0 && b3->maxattempts == 0,
       "default lbmethod byrequests; one member: maxattempts 0");
    ok(b1->index == 0 && b2->index == 1 && b3->index == 2, "balancer indexes");
    ok(b1->slot_base == 0 && m1 && m1->slot == 0 && m2->slot == 1 && m3->slot == 2,
       "first balancer's member slots");
    ok(b2->slot_base == 5 && member_at(b2, 0)->slot == 5 && member_at(b2, 1)->slot == 6,
       "second balancer after 3 members + growth 2");
    ok(b3->slot_base == 7 && member_at(b3, 0)->slot == 7 && g->n_member_slots == 8, "slot total");

    /* routing */
    struct route_decision d;
    is_str(route_ex(c, NULL, "/app/x", "q=1&jsessionid=a.b", NULL, &d),
           "balancer://mycluster/app/x?q=1&jsessionid=a.b", "ProxyPass to a balancer");
    ok(d.balancer == b1 && d.worker == NULL, "decision: balancer set, worker NULL");
    is_str(d.backend_target, "/app/x?q=1&jsessionid=a.b",
           "backend_target: path after the balancer name, with the query");
    is_str(d.proxy_name, "balancer://mycluster/app/x", "proxy_name");
    ok(d.why && strstr(d.why, "ProxyPass /app balancer://mycluster/app"), "why: %s", d.why);
    ok(has_section(&d, DIR_PROXY, "balancer://MyCluster") != 0,
       "<Proxy balancer://MyCluster> applies, names compared case-insensitively");
    is_int(d.timeout_ms, 60000, "balancer decision: server timeout");
    int t = 0, ct = 0;
    route_worker_timeouts(&d, m1 ? m1->worker : NULL, &t, &ct);
    ok(t == 7000 && ct == 250, "route_worker_timeouts: member's timeout and connectiontimeout");
    route_worker_timeouts(&d, m3 ? m3->worker : NULL, &t, &ct);
    ok(t == 60000 && ct == 60000, "route_worker_timeouts: unset member falls back to Timeout");
    is_str(route_ex(c, NULL, "/app/a%20b;v=1", NULL, NULL, &d),
           "balancer://mycluster/app/a%20b;v=1", "path re-encoded as for a worker");
    is_str(route(c, "/two/a", NULL), "balancer://second/a", "second balancer");
    is_str(route(c, "/two/deny/x", NULL), "STATUS 403", "<Proxy balancer://second/deny> denies");
    is_str(route(c, "/two/x/..;/deny", NULL), "STATUS 403",
           "<Proxy balancer://...> sees the stripped path's name too");
    is_str(route(c, "/two/denyx", NULL), "STATUS 403", "<Proxy> is a plain prefix (httpd)");
    is_str(route(c, "/m/abc", NULL), "balancer://third/x/abc", "ProxyPassMatch to a balancer");
    is_str(route_ex(c, NULL, "/plain/z", NULL, NULL, &d), "http://127.0.0.1:8101/plain/z",
           "plain ProxyPass to a member's host");
    ok(d.worker != NULL && d.worker->member == NULL && d.balancer == NULL &&
           (!m1 || d.worker != m1->worker),
       "a ProxyPass never shares a member's worker");

    /* reverse mapping through every member */
    route_ex(c, NULL, "/app/x", NULL, NULL, &d);
    struct proxy_front f = {"http", "front.example", c->main, 80};
    static const struct {
        const char *in, *want;
    } rev[] = {
        {"http://127.0.0.1:8101/app/x", "http://front.example/app/x"},
        {"HTTP://127.0.0.1:8101/app", "http://front.example/app"},
        {"http://127.0.0.1:8102/sub/app/y?z", "http://front.example/app/y?z"},
        {"http://127.0.0.1:8103/app/", "http://front.example/app/"},
        {"http://127.0.0.1:8101/other", "http://127.0.0.1:8101/other"},
        {"http://127.0.0.1:8201/z", "http://front.example/two/z"},
        {"http://127.0.0.1:8202", "http://front.example/two"},
        {"http://127.0.0.1:82011/z", "http://127.0.0.1:82011/z"},
        {"http://127.0.0.1:8301/q", "http://front.example/q"},
        {"/relative", "/relative"},
    };
    for (size_t i = 0; i < ARRAY_LEN(rev); i++)
        is_str(proxy_reverse_location(A, c->main, &d, &f, rev[i].in), rev[i].want,
               "balancer reverse map %s", rev[i].in);

    char *dump = NULL;
    size_t dl = 0;
    FILE *fp = open_memstream(&dump, &dl);
    proxy_conf_dump(c, fp);
    fclose(fp);
    ok(dump && strstr(dump, "Balancers (3, 8 member slots; BalancerPersist On, BalancerInherit "
                            "On, BalancerGrowth 7):"),
       "-S dump: balancer header");
    ok(dump && strstr(dump, "#0 balancer://mycluster lbmethod=bytraffic stickysession="
                            "JSESSIONID|jsessionid (cookie JSESSIONID, param jsessionid) "
                            "stickysessionsep=_ scolonpathdelim=On nofailover=On maxattempts=5 "
                            "timeout=4s failonstatus=502,503,504 failontimeout=On "
                            "forcerecovery=Off growth=2 slots=0..4 nonce=None"),
       "-S dump: balancer parameters");
    ok(dump && strstr(dump, "slot 1: http://127.0.0.1:8102/sub/ worker #") &&
           strstr(dump, "route=node2 redirect=node1 loadfactor=1.00 lbset=0 status=+H "
                        "hcmethod=GET hcuri=/health hcinterval=5s hcpasses=2 hcfails=3 "
                        "hcexpr=ok234"),
       "-S dump: members");
    ok(dump && strstr(dump, "loadfactor=2.50 lbset=1") && strstr(dump, "status=+I+N"),
       "-S dump: factor and flags");
    ok(dump && strstr(dump, "[member of balancer://mycluster]"), "-S dump: member workers");
    ok(dump && strstr(dump, "ProxyHCExpr ok234 {%{REQUEST_STATUS} =~ /^[234]/}"),
       "-S dump: ProxyHCExpr");
    ok(dump && strstr(dump, "ProxyPass /app balancer://mycluster/app ("), "-S dump: routes");
    if (dump && getenv("DUMP"))
        fputs(dump, stdout);
    free(dump);
    conf_free(c);

    /* warnings, accepted forms */
    c = load("<Proxy balancer://w>\n"
             "BalancerMember http://127.0.0.1:8401/a\n"
             "BalancerMember http://127.0.0.1:8401/a/b route=x\n"
             "</Proxy>\n"
             "ProxyPass /w/ balancer://w\n"
             "<VirtualHost *:8080>\n"
             "BalancerInherit Off\n"
             "ProxyPass /v balancer://w/v\n"
             "</VirtualHost>\n");
    ok(c != NULL, "sharing config loads: %s", errbuf);
    if (c != NULL) {
        int shared = 0, slash = 0, inherit = 0;
        for (const struct conf_msg *m = c->warnings; m; m = m->next) {
            shared |= strstr(m->text, "portico.conf:5: BalancerMember: 'http://127.0.0.1:8401/a/b' "
                                      "is already member 'http://127.0.0.1:8401/a' of "
                                      "balancer://w") != NULL &&
                      strstr(m->text, "its parameters are ignored") != NULL;
            slash |= strstr(m->text, "portico.conf:7: ProxyPass: '/w/' ends in '/' but its URL "
                                     "'balancer://w' does not") != NULL;
            inherit |=
                strstr(m->text, "portico.conf:9: BalancerInherit: balancers are shared") != NULL;
        }
        ok(shared, "member sharing warned, no new member");
        ok(slash, "slash mismatch on a balancer ProxyPass warned");
        ok(inherit, "BalancerInherit Off warned");
        const struct proxy_balancer *b = proxy_balancer_find(c, "balancer://w");
        ok(b && b->n_members == 1, "shared member not added");
        const struct conf_server *v = c->vhosts;
        is_str(route_ex(c, v, "/v/1", NULL, NULL, &d), "balancer://w/v/1",
               "a vhost routes to a main-server balancer");
        conf_free(c);
    }
}

static void test_balancer_errors(void)
{
    static const struct {
        const char *conf, *msg;
    } cases[] = {
        {"<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 lbmethod=bytraffic\n</Proxy>\n",
         "portico.conf:4: BalancerMember: lbmethod= is a balancer parameter, not a member's: set "
         "it with ProxySet inside <Proxy balancer://c> (or on the ProxyPass)"},
        {"ProxyPass /a balancer://c/ retry=5\n",
         "portico.conf:3: ProxyPass: unknown Balancer parameter 'retry': it is a worker "
         "parameter; set it on each BalancerMember of balancer://c"},
        {"ProxyPass /a balancer://c/ route=x\n",
         "portico.conf:3: ProxyPass: unknown Balancer parameter 'route': it is a member "
         "parameter"},
        {"ProxyPass /a balancer://c/ foo=1\n",
         "portico.conf:3: ProxyPass: unknown Balancer parameter 'foo'"},
        {"ProxyPass /a balancer://c/ bare\n",
         "portico.conf:3: ProxyPass: 'bare' is not a parameter: parameters must be in the form "
         "key=value"},
        {"<Proxy balancer://empty>\nRequire all granted\n</Proxy>\nProxyPass /e balancer://empty\n",
         "portico.conf:6: balancer://empty has no members (add BalancerMember lines inside "
         "<Proxy balancer://empty>)"},
        {"ProxySet balancer://c lbmethod=bytraffic\n",
         "portico.conf:3: ProxySet: ProxySet can not find 'balancer://c' Balancer."},
        {"ProxyPass /a balancer://c/ lbmethod=random\n",
         "portico.conf:3: ProxyPass: lbmethod=random: unknown lbmethod (byrequests, bytraffic, "
         "bybusyness or heartbeat)"},
        {"ProxyPass /a balancer://c/ stickysession=a|b|c\n",
         "portico.conf:3: ProxyPass: stickysession=a|b|c: expected NAME or "
         "COOKIENAME|URLPARAMNAME"},
        {"ProxyPass /a balancer://c/ stickysessionsep=ab\n",
         "portico.conf:3: ProxyPass: stickysessionsep=ab: stickysessionsep must be a single "
         "character or Off"},
        {"ProxyPass /a balancer://c/ nofailover=maybe\n",
         "portico.conf:3: ProxyPass: nofailover=maybe: failover must be On|Off"},
        {"ProxyPass /a balancer://c/ scolonpathdelim=2\n",
         "portico.conf:3: ProxyPass: scolonpathdelim=2: scolonpathdelim must be On|Off"},
        {"ProxyPass /a balancer://c/ failontimeout=x\n",
         "portico.conf:3: ProxyPass: failontimeout=x: failontimeout must be On|Off"},
        {"ProxyPass /a balancer://c/ forcerecovery=x\n",
         "portico.conf:3: ProxyPass: forcerecovery=x: forcerecovery must be On|Off"},
        {"ProxyPass /a balancer://c/ timeout=0\n",
         "portico.conf:3: ProxyPass: timeout=0: timeout must be at least one second"},
        {"ProxyPass /a balancer://c/ maxattempts=-1\n",
         "portico.conf:3: ProxyPass: maxattempts=-1: maximum number of attempts must be a "
         "positive number"},
        {"ProxyPass /a balancer://c/ failonstatus=abc\n",
         "portico.conf:3: ProxyPass: failonstatus=abc: failonstatus must be one or more HTTP "
         "response codes"},
        {"ProxyPass /a balancer://c/ failonstatus=99\n",
         "portico.conf:3: ProxyPass: failonstatus=99: failonstatus must be one or more HTTP "
         "response codes"},
        {"ProxyPass /a balancer://c/ failonstatus=,\n",
         "portico.conf:3: ProxyPass: failonstatus=,: failonstatus must be one or more HTTP "
         "response codes"},
        {"ProxyPass /a balancer://c/ growth=0\n",
         "portico.conf:3: ProxyPass: growth=0: growth must be between 1 and 100"},
        {"ProxyPass /a balancer://c/ growth=101\n",
         "portico.conf:3: ProxyPass: growth=101: growth must be between 1 and 100"},
        {"ProxyPass /a balancer://c/ nonce=0123456789012345678901234567890123456\n",
         "portico.conf:3: ProxyPass: nonce=0123456789012345678901234567890123456: Provided "
         "nonce is too large"},
        {"ProxyPass /a balancer:///x\n",
         "portico.conf:3: ProxyPass: 'balancer:///x': the balancer URL has no name"},
        {"ProxyPass /a balancer://a:1/\n",
         "portico.conf:3: ProxyPass: 'balancer://a:1/': a balancer name may contain only "
         "letters, digits and '-', '_', '.', '~'"},
        {"ProxyPass /a balancer://c/x?y\n",
         "portico.conf:3: ProxyPass: 'balancer://c/x?y': a query or fragment in a balancer URL"},
        {"ProxyPassMatch ^/(.*)$ balancer://$1/\n",
         "portico.conf:3: ProxyPassMatch: 'balancer://$1/': the balancer URL has no name"},
        {"BalancerMember http://127.0.0.1:1\n",
         "portico.conf:3: BalancerMember: BalancerMember must define remote proxy server"},
        {"BalancerMember route=a\n",
         "portico.conf:3: BalancerMember: BalancerMember must define balancer name when outside "
         "<Proxy > section"},
        {"BalancerMember http://127.0.0.1:1 http://127.0.0.1:2\n",
         "portico.conf:3: BalancerMember: 'http://127.0.0.1:1' is not a balancer URL"},
        {"BalancerMember balancer://c http://127.0.0.1:1 http://127.0.0.1:2\n",
         "portico.conf:3: BalancerMember: Invalid BalancerMember parameter. Parameter must be "
         "in the form 'key=value'"},
        {"BalancerMember balancer://c http://127.0.0.1:1 route=a bare\n",
         "portico.conf:3: BalancerMember: Invalid BalancerMember parameter. Parameter must be "
         "in the form 'key=value'"},
        {"<Proxy balancer://c>\nBalancerMember balancer://c http://127.0.0.1:1\n</Proxy>\n",
         "portico.conf:4: BalancerMember: BalancerMember can not have a balancer name when "
         "defined in a location"},
        {"<Proxy http://127.0.0.1:1/>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n",
         "portico.conf:4: BalancerMember: BalancerMember belongs inside <Proxy balancer://name>, "
         "not <Proxy http://127.0.0.1:1/>"},
        {"<ProxyMatch ^balancer://c>\nBalancerMember http://127.0.0.1:1\n</ProxyMatch>\n",
         "portico.conf:4: BalancerMember: BalancerMember belongs inside <Proxy balancer://name>, "
         "not <ProxyMatch ^balancer://c>"},
        {"<Location /x>\nBalancerMember balancer://c http://127.0.0.1:1\n</Location>\n",
         "portico.conf:4: BalancerMember: cannot occur within <Location> section"},
        {"BalancerMember balancer://c balancer://d\n",
         "portico.conf:3: BalancerMember: 'balancer://d': a balancer:// URL cannot be used here"},
        {"BalancerMember balancer://c ajp://127.0.0.1:1\n",
         "portico.conf:3: BalancerMember: 'ajp://127.0.0.1:1': scheme 'ajp' is not supported"},
        {"BalancerMember balancer://c http://127.0.0.1:1 foo=1\n",
         "portico.conf:3: BalancerMember: unknown Worker parameter 'foo'"},
        {"BalancerMember balancer://c http://127.0.0.1:1 timeout=0\n",
         "portico.conf:3: BalancerMember: timeout=0: Timeout must be a whole number of seconds"},
        {"BalancerMember balancer://c http://127.0.0.1:1 loadfactor=0.5\n",
         "portico.conf:3: BalancerMember: loadfactor=0.5: LoadFactor must be a number between "
         "1..100"},
        {"BalancerMember balancer://c http://127.0.0.1:1 loadfactor=101\n",
         "portico.conf:3: BalancerMember: loadfactor=101: LoadFactor must be a number between "
         "1..100"},
        {"BalancerMember balancer://c http://127.0.0.1:1 loadfactor=2x\n",
         "portico.conf:3: BalancerMember: loadfactor=2x: LoadFactor must be a number between "
         "1..100"},
        {"BalancerMember balancer://c http://127.0.0.1:1 lbset=100\n",
         "portico.conf:3: BalancerMember: lbset=100: lbset must be between 0 and 99"},
        {"BalancerMember balancer://c http://127.0.0.1:1 "
         "route=0123456789012345678901234567890123456789012345678901234567890123\n",
         "Route length must be < 64 characters"},
        {"BalancerMember balancer://c http://127.0.0.1:1 "
         "redirect=0123456789012345678901234567890123456789012345678901234567890123\n",
         "Redirect length must be < 64 characters"},
        {"BalancerMember balancer://c http://127.0.0.1:1 status=X\n",
         "portico.conf:3: BalancerMember: status=X: Unknown status parameter option (letters D "
         "S H R N I E C, each optionally after + or -)"},
        {"BalancerMember balancer://c http://127.0.0.1:1 status=+\n",
         "portico.conf:3: BalancerMember: status=+: Unknown status parameter option"},
        {"BalancerMember balancer://c http://127.0.0.1:1 status=+O\n",
         "portico.conf:3: BalancerMember: status=+O: flag 'O' is set by the server itself and "
         "cannot be configured"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hcmethod=CPING\n",
         "portico.conf:3: BalancerMember: hcmethod=CPING: Health check method CPING not (yet) "
         "implemented"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hcmethod=POST\n",
         "portico.conf:3: BalancerMember: hcmethod=POST: Unknown method"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hcinterval=50ms\n",
         "portico.conf:3: BalancerMember: hcinterval=50ms: Interval must be a positive value "
         "greater than 100ms"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hcinterval=soon\n",
         "portico.conf:3: BalancerMember: hcinterval=soon: Unparse-able hcinterval setting"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hcpasses=-1\n",
         "portico.conf:3: BalancerMember: hcpasses=-1: Passes must be a positive value"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hcfails=x\n",
         "portico.conf:3: BalancerMember: hcfails=x: Fails must be a positive value"},
        {"BalancerMember balancer://c http://127.0.0.1:1 \"hcuri=/a b\"\n",
         "portico.conf:3: BalancerMember: hcuri=/a b: spaces and control characters are not "
         "allowed"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hcexpr=nope\n",
         "portico.conf:3: BalancerMember: hcexpr=nope: Unknown health check condition expr: "
         "nope (define it first with ProxyHCExpr)"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hcexpr=late\nProxyHCExpr late {true}\n",
         "portico.conf:3: BalancerMember: hcexpr=late: Unknown health check condition expr"},
        {"BalancerMember balancer://c http://127.0.0.1:1 hctemplate=nope\n",
         "portico.conf:3: BalancerMember: hctemplate=nope: Unknown ProxyHCTemplate name: nope"},
        {"ProxyPass /a http://127.0.0.1:1/ hcmethod=GET\n",
         "portico.conf:3: ProxyPass: hcmethod= is a balancer or balancer-member parameter, not "
         "valid for a single backend URL (use balancer://name with BalancerMember lines)"},
        {"BalancerGrowth 1001\n",
         "portico.conf:3: BalancerGrowth: BalancerGrowth must be between 0 and 1000"},
        {"BalancerPersist maybe\n", "portico.conf:3: BalancerPersist: must be On or Off"},
        {"ProxyHCExpr x\n", "portico.conf:3: ProxyHCExpr: Missing expression for ProxyHCExpr"},
        {"ProxyHCExpr x {}\n", "portico.conf:3: ProxyHCExpr: Missing expression for ProxyHCExpr"},
        {"ProxyHCExpr averyverylongname {true}\n",
         "portico.conf:3: ProxyHCExpr: Expression name limited to 15 characters"},
        {"ProxyHCExpr x {a b\n",
         "portico.conf:3: ProxyHCExpr: the expression's '{' is not closed by a '}'"},
        {"ProxyHCExpr x a b\n", "portico.conf:3: ProxyHCExpr: error: extra parameter(s)"},
        {"ProxyHCExpr x {a} b\n", "portico.conf:3: ProxyHCExpr: error: extra parameter(s)"},
        {"ProxyHCTemplate t bare\n",
         "portico.conf:3: ProxyHCTemplate: Invalid ProxyHCTemplate parameter. Parameter must be "
         "in the form 'key=value'"},
        {"ProxyHCTemplate t route=1\n",
         "portico.conf:3: ProxyHCTemplate: unknown Worker hcheck parameter 'route'"},
        {"ProxyHCTemplate t hcmethod=GET\nProxyHCTemplate T hcmethod=HEAD\n",
         "portico.conf:4: ProxyHCTemplate: template 'T' is already defined at "},
        {"ProxyHCTemplate hcmethod=GET\n",
         "portico.conf:3: ProxyHCTemplate: Missing template name for ProxyHCTemplate"},
        {"<Location /x>\nProxyHCExpr x {true}\n</Location>\n",
         "portico.conf:4: ProxyHCExpr: cannot occur within <Location> section"},
        {"ProxyPassReverse / balancer://nope/x\n"
         "<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n",
         "portico.conf:3: ProxyPassReverse: balancer://nope is not defined (no BalancerMember "
         "names it)"},
        {"ProxyPassReverse / balancer://\n",
         "portico.conf:3: ProxyPassReverse: 'balancer://': the balancer URL has no name"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        struct conf *c = load(cases[i].conf);
        ok(c == NULL && strstr(errbuf, cases[i].msg) != NULL, "balancer error: %s", cases[i].msg);
        if (c != NULL || strstr(errbuf, cases[i].msg) == NULL)
            printf("#   got: %s\n", c ? "(loaded)" : errbuf);
        if (c != NULL)
            conf_free(c);
    }
    struct conf *e = load("<Proxy balancer://empty>\nRequire all granted\n</Proxy>\n");
    int warned = 0;
    for (const struct conf_msg *m = e ? e->warnings : NULL; m; m = m->next)
        warned |=
            strstr(m->text, "portico.conf:3: <Proxy balancer://empty>: the balancer has no "
                            "members (add BalancerMember lines) and no ProxyPass uses it") != NULL;
    ok(e != NULL && warned, "an unused empty <Proxy balancer://> only warns: %s", errbuf);
    if (e != NULL)
        conf_free(e);
    /* "<Proxy balancer://s key=value>": the hook the <Proxy> section handler calls */
    struct conf *sc = load("<Proxy balancer://s>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n"
                           "<ProxyMatch ^balancer://s>\n</ProxyMatch>\n");
    ok(sc != NULL, "section-params config loads: %s", errbuf);
    if (sc != NULL) {
        struct conf_cmd cmd;
        memset(&cmd, 0, sizeof(cmd));
        cmd.conf = sc;
        cmd.arena = sc->arena;
        cmd.file = "x.conf";
        cmd.line = 1;
        cmd.server = sc->main;
        struct conf_dir *dir = sc->main->dirs;
        char *good[] = {"lbmethod=bytraffic", "nofailover=On"};
        char *bad[] = {"retry=5"};
        const char *err = proxy_conf_section_params(&cmd, dir, 2, good);
        const struct proxy_balancer *b = sc->proxy->balancers;
        ok(err == NULL && strcmp(b->lbmethod, "bytraffic") == 0 && b->nofailover == 1,
           "proxy_conf_section_params applies balancer parameters: %s", err ? err : "");
        err = proxy_conf_section_params(&cmd, dir, 1, bad);
        ok(err && strstr(err, "unknown Balancer parameter 'retry'"), "and refuses worker keys");
        err = proxy_conf_section_params(&cmd, dir->next, 2, good);
        ok(err && strcmp(err, "Multiple <ProxyMatch> arguments not (yet) supported.") == 0,
           "<ProxyMatch> arguments refused");
        ok(cmd.dir == NULL, "cmd->dir restored");
        conf_free(sc);
    }
    /* forward references: ProxyPass and ProxyPassReverse before the <Proxy> section */
    struct conf *c = load("ProxyPass /a balancer://late/\n"
                          "ProxyPassReverse /a balancer://late/\n"
                          "<Proxy balancer://late>\nBalancerMember http://127.0.0.1:1\n</Proxy>\n");
    ok(c != NULL, "ProxyPass may name a balancer defined further down: %s", errbuf);
    if (c != NULL) {
        const struct proxy_reverse *r = c->main->proxy->reverses;
        ok(r && r->balancer == proxy_balancer_find(c, "balancer://late") &&
               r->balancer_path == NULL,
           "ProxyPassReverse resolved at the end of the config");
        conf_free(c);
    }
    c = load("<Proxy balancer://c>\nBalancerMember http://127.0.0.1:1 status=\n</Proxy>\n"
             "ProxyPass /a balancer://c/ stickysession= stickysessionsep=off\n");
    ok(c != NULL && c->proxy->balancers->sticky == NULL && c->proxy->balancers->sticky_sep == 0 &&
           c->proxy->balancers->members->status == 0,
       "empty status and stickysession, stickysessionsep=Off: %s", errbuf);
    if (c != NULL)
        conf_free(c);
}

/* ---- ProxyPassReverse and cookies ---- */

static void test_reverse(void)
{
    struct conf *c = load("ProxyPass /mirror/foo/ http://127.0.0.1:8000/\n"
                          "ProxyPassReverse /mirror/foo/ http://backend.localhost/\n"
                          "ProxyPassReverse /pathonly/ /internal/\n"
                          "ProxyPassReverse /abs/ http://other.localhost:8080/x/\n"
                          "ProxyPassReverseCookiePath / /mirror/foo/\n"
                          "ProxyPassReverseCookieDomain backend.localhost front.example\n"
                          "<Location /sec>\n"
                          "  ProxyPass http://127.0.0.1:8001/s\n"
                          "  ProxyPassReverse http://127.0.0.1:8001/s\n"
                          "  ProxyPassReverseCookiePath /s /sec\n"
                          "</Location>\n");
    ok(c != NULL, "reverse config loads: %s", errbuf);
    if (c == NULL)
        return;
    struct route_decision d;
    route_ex(c, NULL, "/mirror/foo/bar", NULL, NULL, &d);
    struct proxy_front f = {"http", "front.example", c->main, 80};
    static const struct {
        const char *in, *want;
    } loc[] = {
        {"http://backend.localhost/quux", "http://front.example/mirror/foo/quux"},
        {"HTTP://Backend.Localhost/quux", "http://front.example/mirror/foo/quux"},
        {"http://backend.localhost", "http://backend.localhost"},
        {"http://elsewhere.localhost/quux", "http://elsewhere.localhost/quux"},
        {"/relative/path", "/relative/path"},
        {"http://any.host/internal/a?b", "http://front.example/pathonly/a?b"},
        {"http://other.localhost:8080/x/y", "http://front.example/abs/y"},
    };
    for (size_t i = 0; i < ARRAY_LEN(loc); i++)
        is_str(proxy_reverse_location(A, c->main, &d, &f, loc[i].in), loc[i].want, "Location %s",
               loc[i].in);
    struct proxy_front f2 = {"https", "front.example:8443", c->main, 443};
    is_str(proxy_reverse_location(A, c->main, &d, &f2, "http://backend.localhost/q"),
           "https://front.example:8443/mirror/foo/q", "client's scheme and Host port");
    struct proxy_front f3 = {"http", NULL, c->main, 8080};
    is_str(proxy_reverse_location(A, c->main, &d, &f3, "http://backend.localhost/q"),
           "http://front.example:8080/mirror/foo/q", "no Host: ServerName and local port");
    struct proxy_front f4 = {"http", "[::1]:8080", c->main, 8080};
    is_str(proxy_reverse_location(A, c->main, &d, &f4, "http://backend.localhost/q"),
           "http://[::1]:8080/mirror/foo/q", "IPv6 Host kept bracketed");
    /* a Location's ProxyPassReverse applies only inside it */
    is_str(proxy_reverse_location(A, c->main, &d, &f, "http://127.0.0.1:8001/s/x"),
           "http://127.0.0.1:8001/s/x", "Location entry not applied outside it");
    route_ex(c, NULL, "/sec/x", NULL, NULL, &d);
    is_str(proxy_reverse_location(A, c->main, &d, &f, "http://127.0.0.1:8001/s/x"),
           "http://front.example/sec/x", "one-argument ProxyPassReverse in <Location>");

    route_ex(c, NULL, "/mirror/foo/bar", NULL, NULL, &d);
    static const struct {
        const char *in, *want;
    } ck[] = {
        {"a=b; path=/example", "a=b; path=/mirror/foo/"},
        {"a=b; Path=/; Domain=backend.localhost; HttpOnly",
         "a=b; Path=/mirror/foo/; Domain=front.example; HttpOnly"},
        {"a=b; domain=BACKEND.localhost", "a=b; domain=front.example"},
        {"a=b; domain=other.localhost", "a=b; domain=other.localhost"},
        {"a=b", "a=b"},
        {"a=b;path=/x;secure", "a=b;path=/mirror/foo/;secure"},
    };
    for (size_t i = 0; i < ARRAY_LEN(ck); i++)
        is_str(proxy_reverse_cookie(A, c->main, &d, ck[i].in), ck[i].want, "Set-Cookie %s",
               ck[i].in);
    route_ex(c, NULL, "/sec/x", NULL, NULL, &d);
    is_str(proxy_reverse_cookie(A, c->main, &d, "s=1; path=/s/deep"), "s=1; path=/mirror/foo/",
           "server cookie path entries come before the Location's (httpd merge order)");
    conf_free(c);
}

int main(void)
{
    A = arena_create(0);
    test_routing();
    test_locations();
    test_proxy_acl_stripped();
    test_workers();
    test_errors();
    test_reverse();
    test_balancers();
    test_balancer_errors();
    testconf_clean();
    arena_destroy(A);
    return tap_done();
}
