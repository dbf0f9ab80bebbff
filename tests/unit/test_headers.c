/* Unit tests of mod_headers (RequestHeader, Header, value formats, expr= conditions) and
 * mod_env (SetEnv, UnsetEnv, PassEnv): configs are loaded from text, requests are built by
 * hand with an arena, no socket anywhere. */
#include <ftw.h>
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
#include "headers.h"
#include "route.h"
#include "tap.h"
#include "testconf.h"
#include "util.h"

static char errbuf[8192];
static struct conf *cur; /* config of the current test */
static struct arena *ra; /* request arena */
static struct conn conn; /* a pretend client connection */
static struct conf_listener listener;

/* Loads "Listen 80\n" + text; NULL on error (message in errbuf). Frees the previous one. */
static struct conf *load(const char *text)
{
    conf_free(cur);
    cur = testconf_load("test_headers", "Listen 80\n", text, errbuf, sizeof(errbuf));
    return cur;
}

/* The first error without the "/tmp/dir/" prefix and the newline: "portico.conf:2: ...". */
static const char *load_err(const char *text)
{
    static char out[1024];
    if (load(text) != NULL)
        return "(loaded)";
    const char *s = errbuf;
    size_t rl = strlen(testconf_root);
    if (strncmp(s, testconf_root, rl) == 0 && s[rl] == '/')
        s += rl + 1;
    size_t n = strcspn(s, "\n");
    if (n >= sizeof(out))
        n = sizeof(out) - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static int has_warning(const char *needle)
{
    for (const struct conf_msg *m = cur ? cur->warnings : NULL; m != NULL; m = m->next)
        if (strstr(m->text, needle) != NULL)
            return 1;
    return 0;
}

static struct http_header mkh(const char *name, const char *value)
{
    struct http_header h = {arena_strdup(ra, name), arena_strdup(ra, value), strlen(name),
                            strlen(value)};
    return h;
}

/* A request on srv (NULL = main server); hdrs: name, value, ..., NULL. */
static struct request *mkreq(const struct conf_server *srv, const char *method, const char *path,
                             const char *const *hdrs)
{
    arena_reset(ra);
    memset(&conn, 0, sizeof(conn));
    conn.conf = cur;
    conn.listener = &listener;
    listener.protocol = "http";
    snprintf(conn.client_ip, sizeof(conn.client_ip), "10.1.2.3");
    conn.local_port = 80;
    struct request *r = arena_calloc(ra, 1, sizeof(*r));
    r->c = &conn;
    r->arena = ra;
    r->srv = srv != NULL ? srv : cur->main;
    r->h.method = arena_strdup(ra, method);
    r->h.path = arena_strdup(ra, path);
    r->path = r->h.path;
    r->h.protocol = "HTTP/1.1";
    r->h.version = 11;
    r->h.request_line = arena_printf(ra, "%s %s HTTP/1.1", method, path);
    int n = 0;
    while (hdrs != NULL && hdrs[2 * n] != NULL)
        n++;
    r->h.headers = arena_alloc(ra, sizeof(struct http_header) * (size_t)(n + 1));
    for (int i = 0; i < n; i++) {
        r->h.headers[i] = mkh(hdrs[2 * i], hdrs[2 * i + 1]);
        if (util_strcaseeq(hdrs[2 * i], "Host"))
            r->h.host = r->h.headers[i].value;
    }
    r->h.n_headers = n;
    r->start.tv_sec = 1000;
    r->start.tv_nsec = 5000;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    r->start_mono_us = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 - 1500;
    return r;
}

/* Value of the idx-th header called name in a list, NULL if absent. */
static const char *hget(const struct http_header *h, int n, const char *name, int idx)
{
    for (int i = 0; i < n; i++)
        if (util_strcaseeq(h[i].name, name) && idx-- == 0)
            return h[i].value;
    return NULL;
}

static int hcount(const struct http_header *h, int n, const char *name)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += util_strcaseeq(h[i].name, name);
    return c;
}

static const char *rq(const struct request *r, const char *name, int idx)
{
    return hget(r->h.headers, r->h.n_headers, name, idx);
}

/* The section of the main server whose pattern is `pattern`. */
static const struct conf_dir *section(const struct conf_server *s, const char *pattern)
{
    for (const struct conf_dir *d = s->dirs; d != NULL; d = d->next)
        if (strcmp(d->pattern, pattern) == 0)
            return d;
    return NULL;
}

static struct route_decision dec;

static const struct route_decision *route1(const struct conf_dir *a, const struct conf_dir *b)
{
    memset(&dec, 0, sizeof(dec));
    dec.outcome = ROUTE_PROXY;
    if (a != NULL)
        dec.sections[dec.n_sections++] = a;
    if (b != NULL)
        dec.sections[dec.n_sections++] = b;
    return &dec;
}

/* Response list helpers */
static struct http_header *resp;
static int n_resp;

static void mkresp(const char *const *hdrs)
{
    int n = 0;
    while (hdrs != NULL && hdrs[2 * n] != NULL)
        n++;
    resp = arena_alloc(ra, sizeof(*resp) * (size_t)(n + 1));
    for (int i = 0; i < n; i++)
        resp[i] = mkh(hdrs[2 * i], hdrs[2 * i + 1]);
    n_resp = n;
}

static const char *rs(const char *name, int idx)
{
    return hget(resp, n_resp, name, idx);
}

/* ---- RequestHeader actions ---- */

static void test_request_actions(void)
{
    load("RequestHeader set X-Set new\n"
         "RequestHeader add X-Add two\n"
         "RequestHeader append X-App b\n"
         "RequestHeader append X-App-New first\n"
         "RequestHeader merge X-Merge b\n"
         "RequestHeader merge X-Merge '\"c\"'\n"
         "RequestHeader merge X-Merge2 b\n"
         "RequestHeader unset x-unset\n"
         "RequestHeader setifempty X-Sie ignored\n"
         "RequestHeader setifempty X-Sie-New created\n"
         "RequestHeader set X-Colon: colon\n");
    ok(cur != NULL, "RequestHeader config loads: %s", errbuf);
    if (cur == NULL)
        return;
    const char *h[] = {"x-set",   "old1",  "Accept", "*/*",     "X-SET",    "old2",    "X-Add",
                       "one",     "X-App", "a",      "X-Merge", "a, b",     "X-Unset", "u1",
                       "X-Unset", "u2",    "X-Sie",  "kept",    "X-Merge2", "\"b\"",   NULL};
    struct request *r = mkreq(NULL, "GET", "/", h);
    struct http_header *orig = r->h.headers;
    is_int(headers_apply_request(r, NULL), 0, "apply returns 0");
    is_str(rq(r, "X-Set", 0), "new", "set replaces the first occurrence (case-insensitive)");
    is_int(hcount(r->h.headers, r->h.n_headers, "X-Set"), 1, "set removes the other occurrences");
    is_str(r->h.headers[0].value, "new", "set keeps the position of the first occurrence");
    is_int((int)r->h.headers[0].value_len, 3, "value_len follows the new value");
    is_str(rq(r, "X-Add", 0), "one", "add keeps the existing header");
    is_str(rq(r, "X-Add", 1), "two", "add adds a second one");
    is_str(rq(r, "X-App", 0), "a, b", "append joins with a comma");
    is_str(rq(r, "X-App-New", 0), "first", "append on a missing header adds it");
    is_str(rq(r, "X-Merge", 0), "a, b, \"c\"", "merge skips a present token, adds a new one");
    is_str(rq(r, "X-Merge2", 0), "\"b\", b", "merge: quoted and unquoted values differ");
    is_int(hcount(r->h.headers, r->h.n_headers, "X-Unset"), 0, "unset removes every occurrence");
    is_str(rq(r, "X-Sie", 0), "kept", "setifempty keeps a present header");
    is_str(rq(r, "X-Sie-New", 0), "created", "setifempty sets a missing header");
    is_str(rq(r, "X-Colon", 0), "colon", "a trailing colon on the name is dropped");
    is_str(orig[0].value, "old1", "the parser's array is not modified (arena copy)");
    ok(r->h.headers != orig, "r->h.headers replaced by a copy");
    is_str(rq(r, "Accept", 0), "*/*", "other headers untouched");
}

static void test_request_order_and_host(void)
{
    load("RequestHeader append MirrorID \"mirror 12\"\n"
         "RequestHeader unset MirrorID\n"
         "RequestHeader unset Other\n"
         "RequestHeader append Other \"mirror 12\"\n"
         "RequestHeader set Host backend.example\n");
    const char *h[] = {"Host", "front.example", NULL};
    struct request *r = mkreq(NULL, "GET", "/", h);
    headers_apply_request(r, NULL);
    is_str(rq(r, "MirrorID", 0), NULL, "append then unset: not set (manual's example)");
    is_str(rq(r, "Other", 0), "mirror 12", "unset then append: set");
    is_str(r->h.host, "backend.example", "r->h.host follows a changed Host header");

    load("RequestHeader unset Host\n");
    r = mkreq(NULL, "GET", "/", h);
    headers_apply_request(r, NULL);
    ok(r->h.host == NULL, "unset Host clears r->h.host");

    load("ServerName main\n");
    r = mkreq(NULL, "GET", "/", h);
    struct http_header *orig = r->h.headers;
    headers_apply_request(r, NULL);
    ok(r->h.headers == orig, "no directive: the array is left alone");
}

static void test_edit(void)
{
    load("RequestHeader edit Destination ^https://([^/]+)/(.*)$ http://$1:8080/$2\n"
         "RequestHeader edit* X-Dash - _\n"
         "RequestHeader edit X-Once - _\n"
         "RequestHeader edit* X-Anchor ^a b\n"
         "RequestHeader edit X-Multi (\\d+) <$1>\n"
         "RequestHeader edit X-Amp o [&]\n"
         "RequestHeader edit* X-Empty x* -\n"
         "RequestHeader edit X-None zzz yyy\n");
    ok(cur != NULL, "edit config loads: %s", errbuf);
    if (cur == NULL)
        return;
    const char *h[] = {"Destination", "https://front/a/b",
                       "X-Dash",      "a-b-c",
                       "X-Once",      "a-b-c",
                       "X-Anchor",    "aaa",
                       "X-Multi",     "v1 v2",
                       "x-multi",     "n3",
                       "X-Amp",       "foo",
                       "X-Empty",     "ab",
                       "X-None",      "same",
                       NULL};
    struct request *r = mkreq(NULL, "GET", "/", h);
    headers_apply_request(r, NULL);
    is_str(rq(r, "Destination", 0), "http://front:8080/a/b", "edit with $1 $2 backreferences");
    is_str(rq(r, "X-Dash", 0), "a_b_c", "edit* replaces every match");
    is_str(rq(r, "X-Once", 0), "a_b-c", "edit replaces the first match only");
    is_str(rq(r, "X-Anchor", 0), "bbb", "edit* matches the remainder as a new subject (httpd)");
    is_str(rq(r, "X-Multi", 0), "v<1> v2, n3",
           "repeated request headers are edited as one joined value (httpd's headers_in)");
    is_int(hcount(r->h.headers, r->h.n_headers, "X-Multi"), 1, "and become one header");
    is_str(rq(r, "X-Amp", 0), "f[&]o", "& is an ordinary character (httpd 2.4)");
    is_str(rq(r, "X-Empty", 0), "-a-b-", "edit* with empty matches terminates");
    is_str(rq(r, "X-None", 0), "same", "no match: value unchanged");
}

/* ---- Header (responses) ---- */

static void test_response_actions(void)
{
    load("Header set X-Set v\n"
         "Header add Set-Cookie c=3\n"
         "Header unset X-Powered-By\n"
         "Header append Vary Cookie\n"
         "Header merge Cache-Control no-cache\n"
         "Header merge Cache-Control no-store\n"
         "Header edit Location ^http://backend/ https://front/\n");
    struct request *r = mkreq(NULL, "GET", "/", NULL);
    const char *h[] = {
        "Set-Cookie", "a=1",           "Set-Cookie", "b=2",      "X-Powered-By",     "PHP", "Vary",
        "Accept",     "Cache-Control", "no-cache",   "Location", "http://backend/x", NULL};
    mkresp(h);
    is_int(headers_apply_response(r, NULL, 200, &resp, &n_resp), 0, "apply_response returns 0");
    is_int(hcount(resp, n_resp, "Set-Cookie"), 3, "add keeps duplicate Set-Cookie headers");
    is_str(rs("Set-Cookie", 2), "c=3", "the added cookie comes last");
    is_str(rs("X-Set", 0), "v", "set on a response");
    is_int(hcount(resp, n_resp, "X-Powered-By"), 0, "unset on a response");
    is_str(rs("Vary", 0), "Accept, Cookie", "append on a response");
    is_str(rs("Cache-Control", 0), "no-cache, no-store", "merge avoids duplicate tokens");
    is_str(rs("Location", 0), "https://front/x", "edit Location of a proxied redirect");

    load("Header edit Set-Cookie ^(.*)$ \"$1; HttpOnly\"\n"
         "RequestHeader merge X-M b\n"
         "RequestHeader append X-Empty v\n");
    const char *rqh[] = {"X-M", "a", "X-M", "b", "X-Empty", "", NULL};
    r = mkreq(NULL, "GET", "/", rqh);
    mkresp(h);
    headers_apply_request(r, NULL);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_str(rs("Set-Cookie", 0), "a=1; HttpOnly", "response edit: first Set-Cookie");
    is_str(rs("Set-Cookie", 1), "b=2; HttpOnly", "response edit: each Set-Cookie on its own");
    is_str(rq(r, "X-M", 0), "a, b", "merge sees every occurrence of a request header");
    is_int(hcount(r->h.headers, r->h.n_headers, "X-M"), 1, "joined into one");
    is_str(rq(r, "X-Empty", 0), ", v", "append onto an empty value (apr_table_merge)");

    load("Header set Set-Cookie only=1\n");
    r = mkreq(NULL, "GET", "/", NULL);
    mkresp(h);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_int(hcount(resp, n_resp, "Set-Cookie"), 1, "set replaces every Set-Cookie");
    is_str(rs("set-cookie", 0), "only=1", "with the new value");

    load("Header unset set-cookie\n");
    r = mkreq(NULL, "GET", "/", NULL);
    mkresp(h);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_int(hcount(resp, n_resp, "Set-Cookie"), 0, "unset removes every Set-Cookie");
}

static void test_always_onsuccess(void)
{
    load("Header set X-On on\n"
         "Header onsuccess set X-On2 on2\n"
         "Header always set X-Al al\n"
         "Header always unset X-B\n"
         "Header always edit Location ^http: https:\n");
    ok(cur != NULL, "always/onsuccess config loads: %s", errbuf);
    if (cur == NULL)
        return;
    const char *h[] = {"X-B", "b1", "Location", "http://x/", NULL};

    struct request *r = mkreq(NULL, "GET", "/p/nf", NULL);
    mkresp(h);
    headers_apply_response(r, NULL, 404, &resp, &n_resp);
    is_str(rs("X-On", 0), "on", "proxied 404: onsuccess applies (httpd: handler response)");
    is_str(rs("X-On2", 0), "on2", "explicit onsuccess too");
    is_str(rs("X-Al", 0), "al", "proxied 404: always applies");
    is_str(resp[0].name, "X-Al", "always headers come first (err_headers_out overlay)");
    is_str(rs("X-B", 0), "b1", "always unset does not remove a backend header");
    is_str(rs("Location", 0), "http://x/", "always edit does not see a backend Location");

    r = mkreq(NULL, "GET", "/nope", NULL);
    mkresp(h);
    headers_apply_error_response(r, NULL, 404, &resp, &n_resp);
    is_str(rs("X-On", 0), NULL, "local 404: onsuccess does not apply");
    is_str(rs("X-Al", 0), "al", "local 404: always applies");
    is_str(rs("X-B", 0), NULL, "error path: always unset edits the list itself");
    is_str(rs("Location", 0), "https://x/", "error path: always edit sees Location");

    r = mkreq(NULL, "GET", "/ok", NULL);
    mkresp(NULL);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_int(n_resp, 3, "200 with an empty list: X-Al, X-On, X-On2");
}

static void test_echo(void)
{
    load("Header echo ^X-Req\n"
         "Header always echo ^Tra\n");
    const char *h[] = {"X-Req-A", "1", "x-req-b", "2", "X-Request", "3", "Trace-Id", "t", NULL};
    struct request *r = mkreq(NULL, "GET", "/", h);
    mkresp(NULL);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_str(rs("X-Req-A", 0), "1", "echo copies a matching request header");
    is_str(rs("X-Request", 0), "3", "every matching one");
    is_str(rs("x-req-b", 0), NULL, "echo's regex is case-sensitive");
    is_str(rs("Trace-Id", 0), "t", "always echo");
}

static void test_conditions(void)
{
    load("Header set X-Env yes env=HAVE\n"
         "Header set X-NoEnv yes env=!HAVE\n"
         "RequestHeader set X-Req-Env yes env=have\n"
         "Header set X-Uri yes \"expr=%{REQUEST_URI} == '/x'\"\n"
         "Header set X-Re yes \"expr=%{HTTP:User-Agent} =~ /curl\\/[0-9]/\"\n"
         "Header set X-N yes \"expr=-n %{HTTP:X-Debug}\"\n"
         "Header set X-Not yes \"expr=!(%{REQUEST_METHOD} == 'GET')\"\n"
         "Header set X-And yes \"expr=%{REQUEST_METHOD} == 'GET' && %{HTTP_HOST} = 'h'\"\n"
         "Header set X-Or yes \"expr=%{REQUEST_METHOD} == 'PUT' || %{REQUEST_SCHEME} == "
         "'http'\"\n"
         "Header set X-Ip yes \"expr=%{REMOTE_ADDR} -ipmatch '10.0.0.0/8'\"\n"
         "Header set X-Ip2 yes \"expr=%{REMOTE_ADDR} -ipmatch '192.168.0.0/16'\"\n"
         "Header set X-R yes \"expr=-R '10.1'\"\n"
         "Header set X-In yes \"expr=%{REQUEST_METHOD} in { 'PUT', 'GET' }\"\n"
         "Header set X-Status yes \"expr=%{REQUEST_STATUS} -ge 400\"\n"
         "Header set X-Str yes \"expr=%{REQUEST_URI} -strmatch '/x*'\"\n"
         "Header set X-Resp yes \"expr=resp('X-Backend') == 'b'\"\n"
         "Header set X-Env2 yes \"expr=reqenv('have') == '1' && -z %{HTTP:Nope}\"\n"
         "Header set X-Ci yes \"expr=%{HTTP_USER_AGENT} =~ m#CURL#i\"\n");
    ok(cur != NULL, "condition config loads: %s", errbuf);
    if (cur == NULL)
        return;
    const char *h[] = {"User-Agent", "curl/8.1", "Host", "h", NULL};
    struct request *r = mkreq(NULL, "GET", "/x", h);
    env_set(r, "HAVE", "1");
    const char *rh[] = {"X-Backend", "b", NULL};
    mkresp(rh);
    headers_apply_request(r, NULL);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_str(rs("X-Env", 0), "yes", "env=VAR set: applies");
    is_str(rs("X-NoEnv", 0), NULL, "env=!VAR set: skipped");
    is_str(rq(r, "X-Req-Env", 0), "yes", "env= on RequestHeader (names case-insensitive)");
    is_str(rs("X-Uri", 0), "yes", "expr REQUEST_URI ==");
    is_str(rs("X-Re", 0), "yes", "expr HTTP:Header =~ /re/ with an escaped slash");
    is_str(rs("X-N", 0), NULL, "expr -n of a missing header is false");
    is_str(rs("X-Not", 0), NULL, "expr ! and parentheses");
    is_str(rs("X-And", 0), "yes", "expr && with HTTP_HOST and '='");
    is_str(rs("X-Or", 0), "yes", "expr || with REQUEST_SCHEME");
    is_str(rs("X-Ip", 0), "yes", "expr -ipmatch inside the net");
    is_str(rs("X-Ip2", 0), NULL, "expr -ipmatch outside the net");
    is_str(rs("X-R", 0), "yes", "expr -R with a partial address");
    is_str(rs("X-In", 0), "yes", "expr in { list }");
    is_str(rs("X-Status", 0), NULL, "expr REQUEST_STATUS -ge 400 on a 200");
    is_str(rs("X-Str", 0), "yes", "expr -strmatch");
    is_str(rs("X-Resp", 0), "yes", "expr resp() reads the response headers");
    is_str(rs("X-Env2", 0), "yes", "expr reqenv() and -z");
    is_str(rs("X-Ci", 0), "yes", "expr m#re#i case-insensitive");

    const char *h2[] = {"User-Agent", "wget", "X-Debug", "1", NULL};
    r = mkreq(NULL, "POST", "/y", h2);
    snprintf(conn.client_ip, sizeof(conn.client_ip), "::ffff:192.168.1.1");
    mkresp(NULL);
    headers_apply_response(r, NULL, 502, &resp, &n_resp);
    is_str(rs("X-Env", 0), NULL, "env=VAR unset: skipped");
    is_str(rs("X-NoEnv", 0), "yes", "env=!VAR unset: applies");
    is_str(rs("X-Uri", 0), NULL, "expr REQUEST_URI mismatch");
    is_str(rs("X-Re", 0), NULL, "expr =~ mismatch");
    is_str(rs("X-N", 0), "yes", "expr -n of a present header");
    is_str(rs("X-Not", 0), "yes", "expr ! on POST");
    is_str(rs("X-Ip2", 0), "yes", "expr -ipmatch with an IPv4-mapped client address");
    is_str(rs("X-Status", 0), "yes", "expr REQUEST_STATUS -ge 400 on a 502");
}

static void test_formats(void)
{
    load("Header set X-Fmt \"%D %t\"\n"
         "Header set X-Pct \"100%% sure%\"\n"
         "Header set X-Env \"v=%{FOO}e u=%{NOPE}e\"\n"
         "Header set X-Hdr \"host=%{Host}i none=%{X-None}i\"\n"
         "Header set X-Ssl \"%{SSL_PROTOCOL}s\"\n"
         "Header set X-Esc \"a\\tb\\\\c\\qd\"\n"
         "Header set X-Expr \"expr=uri=%{REQUEST_URI} m=%{REQUEST_METHOD}\"\n"
         "Header set X-Nl \"%{NL}e\"\n"
         "RequestHeader set X-Forwarded-Proto \"%{REQUEST_SCHEME}e\"\n"
         "RequestHeader edit X-Path ^ \"%{FOO}e:\"\n");
    ok(cur != NULL, "format config loads: %s", errbuf);
    if (cur == NULL)
        return;
    const char *h[] = {"Host", "front", "X-Path", "/p", NULL};
    struct request *r = mkreq(NULL, "GET", "/u", h);
    env_set(r, "FOO", "bar");
    env_set(r, "NL", "a\r\nb");
    mkresp(NULL);
    headers_apply_request(r, NULL);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    const char *f = rs("X-Fmt", 0);
    long long dus = -1;
    char tbuf[64] = "";
    ok(f != NULL && sscanf(f, "D=%lld %63s", &dus, tbuf) == 2, "%%D %%t: '%s'", f ? f : "");
    ok(dus >= 1500 && dus < 60000000, "%%D counts microseconds since the start (%lld)", dus);
    is_str(tbuf, "t=1000000005", "%%t is t= + microseconds since the epoch at start");
    is_str(rs("X-Pct", 0), "100% sure%", "%%%% and a trailing %% give %%");
    is_str(rs("X-Env", 0), "v=bar u=(null)", "%%{VAR}e, (null) when unset as httpd");
    is_str(rs("X-Hdr", 0), "host=front none=(null)", "%%{Name}i gives a request header");
    is_str(rs("X-Ssl", 0), "(null)", "%%{VAR}s is (null) without TLS");
    is_str(rs("X-Esc", 0), "a\tb\\c\\qd", "\\t and \\\\ escapes, unknown ones kept");
    is_str(rs("X-Expr", 0), "uri=/u m=GET", "expr= value (string expression)");
    is_str(rs("X-Nl", 0), "a  b", "CR/LF in a value turn into spaces");
    is_str(rq(r, "X-Forwarded-Proto", 0), "(null)", "formats on RequestHeader too");
    is_str(rq(r, "X-Path", 0), "bar:/p", "format specifiers in an edit replacement");
}

/* main server, vhost, sections in order */
static void test_scopes(void)
{
    load("Header append X-Order main\n"
         "RequestHeader append X-Order main\n"
         "<Location /a>\n"
         "Header append X-Order loc-a\n"
         "RequestHeader append X-Order loc-a\n"
         "</Location>\n"
         "<Location /a/b>\n"
         "Header append X-Order loc-ab\n"
         "</Location>\n"
         "<VirtualHost *:80>\n"
         "ServerName v1\n"
         "Header append X-Order vhost\n"
         "RequestHeader append X-Order vhost\n"
         "</VirtualHost>\n"
         "<VirtualHost *:80>\n"
         "ServerName v2\n"
         "</VirtualHost>\n");
    ok(cur != NULL, "scope config loads: %s", errbuf);
    if (cur == NULL)
        return;
    const struct conf_dir *a = section(cur->main, "/a");
    const struct conf_dir *ab = section(cur->main, "/a/b");
    ok(a != NULL && ab != NULL, "sections found");
    struct request *r = mkreq(cur->vhosts, "GET", "/a/b", NULL);
    mkresp(NULL);
    headers_apply_request(r, route1(a, ab));
    headers_apply_response(r, route1(a, ab), 200, &resp, &n_resp);
    is_str(rs("X-Order", 0), "main, vhost, loc-a, loc-ab", "response: main, vhost, sections");
    is_str(rq(r, "X-Order", 0), "main, vhost, loc-a", "request: main, vhost, sections");

    r = mkreq(cur->vhosts->next, "GET", "/", NULL);
    mkresp(NULL);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_str(rs("X-Order", 0), "main", "a vhost without directives inherits the main server's");

    r = mkreq(NULL, "GET", "/", NULL);
    mkresp(NULL);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_str(rs("X-Order", 0), "main", "d == NULL: server directives only");
}

static void test_config_errors(void)
{
    static const struct {
        const char *conf;
        const char *want;
    } cases[] = {
        {"Header bogus X y\n", "portico.conf:2: Header: unknown action 'bogus': the first argument "
                               "must be add, set, setifempty, append, merge, unset, echo, edit or "
                               "edit*"},
        {"RequestHeader bogus X y\n",
         "portico.conf:2: RequestHeader: unknown action 'bogus': the first argument must be add, "
         "set, setifempty, append, merge, unset, edit or edit*"},
        {"Header set X-A\n", "portico.conf:2: Header: Header set requires a header name and a "
                             "value"},
        {"Header set\n", "portico.conf:2: Header: Header set needs a header name"},
        {"Header always\n", "portico.conf:2: Header: an action is missing after the condition"},
        {"Header\n", "portico.conf:2: Header: requires at least one argument ([always|onsuccess] "
                     "action header [value] [replacement] [early|env=[!]VAR|expr=EXPR])"},
        {"Header edit X (a y\n",
         "portico.conf:2: Header: Header edit regex '(a' could not be compiled: missing closing "
         "parenthesis at offset 2"},
        {"Header edit X a\n", "portico.conf:2: Header: Header edit requires a match and a "
                              "substitution"},
        {"Header echo (\n", "portico.conf:2: Header: Header echo regex '(' could not be compiled: "
                            "missing closing parenthesis at offset 1"},
        {"RequestHeader echo X\n", "portico.conf:2: RequestHeader: Header echo only valid on "
                                   "Header directives"},
        {"RequestHeader always set X y\n",
         "portico.conf:2: RequestHeader: 'always' is a condition of Header; RequestHeader takes "
         "none"},
        {"Header set X y foo\n", "portico.conf:2: Header: unknown condition 'foo' (early, "
                                 "env=[!]VAR or expr=EXPRESSION)"},
        {"Header set X y env=!\n", "portico.conf:2: Header: missing environment variable name: "
                                   "the condition should be env=[!]VAR"},
        {"Header set X y env=A extra\n", "portico.conf:2: Header: Header has too many arguments"},
        {"Header unset X y z\n",
         "portico.conf:2: Header: Header unset takes a header name and an optional condition"},
        {"Header set X \"%Q\"\n", "portico.conf:2: Header: Unrecognized header format %Q"},
        {"Header set X \"%l\"\n",
         "portico.conf:2: Header: %l (server load and busy figures) is not supported by portico"},
        {"Header set X \"%e\"\n", "portico.conf:2: Header: %e needs a name: %{NAME}e"},
        {"Header set \"Bad Name\" y\n", "portico.conf:2: Header: 'Bad Name' is not a valid header "
                                        "name"},
        {"Header note X y\n", "portico.conf:2: Header: the 'note' action is not supported "
                              "(portico has no request notes)"},
        {"Header set X y \"expr=%{REQUEST_URI} ==\"\n",
         "portico.conf:2: Header: Can't parse envclause/expression '%{REQUEST_URI} ==': syntax "
         "error, unexpected end of expression"},
        {"Header set X y \"expr=%{FOO} == 'x'\"\n",
         "portico.conf:2: Header: Can't parse envclause/expression '%{FOO} == 'x'': Variable "
         "'FOO' does not exist"},
        {"Header set X y \"expr=%{REQUEST_URI} =~ /(/\"\n",
         "portico.conf:2: Header: Can't parse envclause/expression '%{REQUEST_URI} =~ /(/': "
         "Failed to compile regular expression '(': missing closing parenthesis at offset 1"},
        {"Header set X y \"expr=%{REMOTE_ADDR} -ipmatch '10.0.0.0/88'\"\n",
         "portico.conf:2: Header: Can't parse envclause/expression '%{REMOTE_ADDR} -ipmatch "
         "'10.0.0.0/88'': parsing of subnet/netmask failed: '10.0.0.0/88'"},
        {"Header set X y \"expr=foo(%{REQUEST_URI})\"\n",
         "portico.conf:2: Header: Can't parse envclause/expression 'foo(%{REQUEST_URI})': "
         "Function 'foo' does not exist"},
        {"Header set X y \"expr=%{REQUEST_URI} -d '/x'\"\n",
         "portico.conf:2: Header: Can't parse envclause/expression '%{REQUEST_URI} -d '/x'': "
         "unsupported operator '-d'"},
        {"Header set X y \"expr=(true\"\n",
         "portico.conf:2: Header: Can't parse envclause/expression '(true': syntax error, "
         "unexpected end of expression"},
        {"Header set X y \"expr=true false\"\n",
         "portico.conf:2: Header: Can't parse envclause/expression 'true false': syntax error at "
         "'false'"},
        {"Header set X \"expr=%{NOPE}\"\n",
         "portico.conf:2: Header: Variable 'NOPE' does not exist"},
        {"<Location />\nHeader set X y early\n</Location>\n",
         "portico.conf:3: Header: 'early' is only allowed in the main server and <VirtualHost> "
         "context"},
        {"SetEnv A B C\n", "portico.conf:2: SetEnv: takes one or two arguments (SetEnv NAME "
                           "[value])"},
        {"UnsetEnv\n", "portico.conf:2: UnsetEnv: requires at least one argument (UnsetEnv "
                       "NAME...)"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char what[64];
        snprintf(what, sizeof(what), "%s", cases[i].conf);
        what[strcspn(what, "\n")] = '\0';
        is_str(load_err(cases[i].conf), cases[i].want, "error: %s", what);
    }

    load("Header set X y early\n");
    ok(cur != NULL && has_warning("'early' is applied like a normal directive"),
       "early in the server context: accepted with a warning");
}

/* ---- mod_env ---- */

static void test_env_api(void)
{
    load("ServerName x\n");
    struct request *r = mkreq(NULL, "GET", "/", NULL);
    ok(env_get(r, "A") == NULL, "env_get on an empty table");
    is_int(env_set(r, "Alpha", "1"), 0, "env_set");
    is_str(env_get(r, "ALPHA"), "1", "env_get is case-insensitive");
    env_set(r, "alpha", "2");
    is_str(env_get(r, "Alpha"), "2", "env_set replaces");
    ok(r->env != NULL && r->env->next == NULL, "one entry after a replace");
    env_set(r, "Beta", NULL);
    is_str(env_get(r, "beta"), "", "env_set with NULL value sets an empty string");
    env_unset(r, "ALPHA");
    ok(env_get(r, "Alpha") == NULL, "env_unset");
    is_str(env_get(r, "Beta"), "", "others stay");
}

static void test_env_directives(void)
{
    setenv("PORTICO_TEST_PASS", "passed", 1);
    unsetenv("PORTICO_TEST_UNDEF");
    load("SetEnv A 1\n"
         "SetEnv EMPTY\n"
         "SetEnv GONE x\n"
         "UnsetEnv GONE\n"
         "SetEnv LATER x\n"
         "PassEnv PORTICO_TEST_PASS PORTICO_TEST_UNDEF\n"
         "<Location /s>\n"
         "UnsetEnv A\n"
         "SetEnv B sec\n"
         "</Location>\n"
         "<Location /s/t>\n"
         "SetEnv A back\n"
         "</Location>\n"
         "<VirtualHost *:80>\n"
         "ServerName v\n"
         "SetEnv LATER vhost\n"
         "UnsetEnv EMPTY\n"
         "</VirtualHost>\n");
    ok(cur != NULL, "env config loads: %s", errbuf);
    if (cur == NULL)
        return;
    ok(has_warning("PassEnv: PassEnv variable PORTICO_TEST_UNDEF was undefined"),
       "PassEnv of an undefined variable warns (httpd AH01506)");

    struct request *r = mkreq(NULL, "GET", "/", NULL);
    env_set(r, "FROM_SETENVIF", "kept");
    env_apply(r, NULL);
    is_str(env_get(r, "A"), "1", "SetEnv NAME value");
    is_str(env_get(r, "EMPTY"), "", "SetEnv NAME: empty value");
    ok(env_get(r, "GONE") == NULL, "UnsetEnv after SetEnv in the same scope");
    is_str(env_get(r, "PORTICO_TEST_PASS"), "passed", "PassEnv copies the process value");
    ok(env_get(r, "PORTICO_TEST_UNDEF") == NULL, "PassEnv of an undefined variable: nothing");
    is_str(env_get(r, "FROM_SETENVIF"), "kept", "request variables set earlier stay");

    const struct conf_dir *s = section(cur->main, "/s");
    const struct conf_dir *st = section(cur->main, "/s/t");
    r = mkreq(NULL, "GET", "/s", NULL);
    env_set(r, "A", "from-setenvif");
    env_apply(r, route1(s, NULL));
    is_str(env_get(r, "A"), "from-setenvif",
           "UnsetEnv cancels the server's SetEnv, not a request variable (httpd)");
    is_str(env_get(r, "B"), "sec", "SetEnv in a section");
    r = mkreq(NULL, "GET", "/s", NULL);
    env_apply(r, route1(s, NULL));
    ok(env_get(r, "A") == NULL, "UnsetEnv in a section removes the server's SetEnv");
    r = mkreq(NULL, "GET", "/s/t", NULL);
    env_apply(r, route1(s, st));
    is_str(env_get(r, "A"), "back", "a later section sets it again");

    r = mkreq(cur->vhosts, "GET", "/", NULL);
    env_apply(r, NULL);
    is_str(env_get(r, "A"), "1", "a vhost inherits the main server's SetEnv");
    is_str(env_get(r, "LATER"), "vhost", "and overrides it");
    ok(env_get(r, "EMPTY") == NULL, "UnsetEnv in a vhost removes an inherited variable");

    /* conditions read what SetEnv put there */
    load("SetEnv HAVE_IT 1\n"
         "Header set X-Cond yes env=have_it\n"
         "Header set X-Val \"%{HAVE_IT}e\"\n");
    r = mkreq(NULL, "GET", "/", NULL);
    env_apply(r, NULL);
    mkresp(NULL);
    headers_apply_response(r, NULL, 200, &resp, &n_resp);
    is_str(rs("X-Cond", 0), "yes", "Header env= sees SetEnv");
    is_str(rs("X-Val", 0), "1", "%%{VAR}e sees SetEnv");
}

int main(void)
{
    ra = arena_create(0);
    test_request_actions();
    test_request_order_and_host();
    test_edit();
    test_response_actions();
    test_always_onsuccess();
    test_echo();
    test_conditions();
    test_formats();
    test_scopes();
    test_config_errors();
    test_env_api();
    test_env_directives();
    conf_free(cur);
    testconf_clean();
    arena_destroy(ra);
    return tap_done();
}
