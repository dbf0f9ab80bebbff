/* mod_rewrite's server variables (%{NAME} in RewriteCond test strings and substitutions),
 * as httpd's lookup_variable() answers them (apache-behaviour.md 6.5). Names compare
 * case-insensitively; an unknown name gives "". Header lookups report the header they read
 * so the engine can build the Vary header. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "conf.h"
#include "arena.h"
#include "conn.h"
#include "env.h"
#include "rewrite.h"
#include "tls.h"
#include "util.h"

/* httpd's MODULE_MAGIC_NUMBER of 2.4.x, for %{API_VERSION}. */
#define RW_MMN_MAJOR 20120211
#define RW_MMN_MINOR 0

static const struct conf_server *req_server(const struct request *r)
{
    if (r->srv != NULL)
        return r->srv;
    return r->c != NULL && r->c->conf != NULL ? r->c->conf->main : NULL;
}

/* httpd merges repeated request headers with ", " before any module sees them. */
static const char *header_value(struct request *r, const char *name)
{
    const char *first = NULL;
    char *joined = NULL;
    for (int i = 0; i < r->h.n_headers; i++) {
        const struct http_header *h = &r->h.headers[i];
        if (!util_strcaseeq(h->name, name))
            continue;
        if (first == NULL) {
            first = h->value;
        } else {
            joined = arena_printf(r->arena, "%s, %s", joined ? joined : first, h->value);
            if (joined == NULL)
                return NULL;
        }
    }
    return joined ? joined : first;
}

static const char *lookup_header(struct request *r, const char *name, const char **hdr_used)
{
    const char *v = header_value(r, name);
    /* As httpd: only a header that is present varies the answer. */
    if (v != NULL && hdr_used != NULL)
        *hdr_used = name;
    return v;
}

static int is_tls(const struct request *r)
{
    /* The TLS session, or (no SSLEngine anywhere: TLS terminated in front of us) a listener
     * declared "Listen ... https". */
    return r->c != NULL &&
           (r->c->tls != NULL || (r->c->listener != NULL && r->c->listener->protocol != NULL &&
                                  strcmp(r->c->listener->protocol, "https") == 0));
}

/* ap_http_scheme(): TLS, else the scheme of ServerName, else http. */
static const char *http_scheme(const struct request *r)
{
    const struct conf_server *s = req_server(r);
    if (is_tls(r))
        return "https";
    return s != NULL && s->server_scheme != NULL ? s->server_scheme : "http";
}

static int default_port(const struct request *r)
{
    return strcmp(http_scheme(r), "https") == 0 ? 443 : 80;
}

/* The host and port of the Host header (or absolute-form target); host lower-cased
 * without IPv6 brackets, port 0 when absent. */
static const char *host_header(struct request *r, int *port)
{
    *port = 0;
    const char *h = r->h.host;
    if (h == NULL || h[0] == '\0')
        return NULL;
    const char *end;
    const char *colon;
    size_t hlen;
    if (h[0] == '[') {
        end = strchr(h, ']');
        if (end == NULL)
            return NULL;
        colon = end[1] == ':' ? end + 1 : NULL;
        h++;
        hlen = (size_t)(end - h);
    } else {
        colon = strrchr(h, ':');
        hlen = colon ? (size_t)(colon - h) : strlen(h);
    }
    long long v;
    if (colon != NULL && colon[1] != '\0' && util_parse_ll(colon + 1, 0, 65535, &v) == 0)
        *port = (int)v;
    while (hlen > 0 && h[hlen - 1] == '.') /* fix_hostname drops a trailing dot */
        hlen--;
    char *out = arena_strndup(r->arena, h, hlen);
    for (char *p = out; p != NULL && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

/* ap_get_server_name(): the client's Host under UseCanonicalName Off, else ServerName. */
static const char *server_name(struct request *r)
{
    const struct conf_server *s = req_server(r);
    int ucn = s != NULL ? s->use_canonical_name : 0;
    if (ucn == 2 && r->c != NULL && r->c->local_ip[0] != '\0')
        return r->c->local_ip; /* DNS: portico does no reverse lookups */
    if (ucn != 1) {
        int port;
        const char *h = host_header(r, &port);
        if (h != NULL && h[0] != '\0')
            return h;
    }
    if (s != NULL && s->server_name != NULL)
        return s->server_name;
    return r->c != NULL && r->c->local_ip[0] != '\0' ? r->c->local_ip : "localhost";
}

/* ap_get_server_port() with UseCanonicalPhysicalPort Off. */
static int server_port(struct request *r)
{
    const struct conf_server *s = req_server(r);
    int ucn = s != NULL ? s->use_canonical_name : 0;
    if (ucn != 1) {
        int port;
        if (host_header(r, &port) != NULL && port > 0)
            return port;
    }
    return s != NULL && s->server_port > 0 ? s->server_port : default_port(r);
}

static const char *server_software(const struct request *r)
{
    const struct conf *c = r->c != NULL ? r->c->conf : NULL;
    return c != NULL ? conf_server_token(c) : "portico/" PACKAGE_VERSION;
}

static const char *time_var(struct request *r, const char *which)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    if (which == NULL)
        return arena_printf(r->arena, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (strcmp(which, "YEAR") == 0)
        return arena_printf(r->arena, "%04d", tm.tm_year + 1900);
    if (strcmp(which, "MON") == 0)
        return arena_printf(r->arena, "%02d", tm.tm_mon + 1);
    if (strcmp(which, "DAY") == 0)
        return arena_printf(r->arena, "%02d", tm.tm_mday);
    if (strcmp(which, "HOUR") == 0)
        return arena_printf(r->arena, "%02d", tm.tm_hour);
    if (strcmp(which, "MIN") == 0)
        return arena_printf(r->arena, "%02d", tm.tm_min);
    if (strcmp(which, "SEC") == 0)
        return arena_printf(r->arena, "%02d", tm.tm_sec);
    if (strcmp(which, "WDAY") == 0)
        return arena_printf(r->arena, "%d", tm.tm_wday);
    return NULL;
}

static int is_ipv6_client(const struct request *r)
{
    if (r->c == NULL || strchr(r->c->client_ip, ':') == NULL)
        return 0;
    return !util_strncaseeq(r->c->client_ip, "::ffff:", 7) ||
           strchr(r->c->client_ip + 7, '.') == NULL;
}

/* The seven header variables httpd knows; any other HTTP_* is empty. */
static const char *const http_vars[][2] = {
    {"HTTP_ACCEPT", "Accept"},
    {"HTTP_COOKIE", "Cookie"},
    {"HTTP_FORWARDED", "Forwarded"},
    {"HTTP_HOST", "Host"},
    {"HTTP_PROXY_CONNECTION", "Proxy-Connection"},
    {"HTTP_REFERER", "Referer"},
    {"HTTP_USER_AGENT", "User-Agent"},
};

static const char *plain_var(struct request *r, const char *v, const char **hdr_used)
{
    const struct conf_server *s = req_server(r);
    const struct conn *c = r->c;
    for (size_t i = 0; i < sizeof(http_vars) / sizeof(http_vars[0]); i++)
        if (strcmp(v, http_vars[i][0]) == 0)
            return lookup_header(r, http_vars[i][1], hdr_used);
    if (strncmp(v, "TIME", 4) == 0) {
        if (v[4] == '\0')
            return time_var(r, NULL);
        if (v[4] == '_')
            return time_var(r, v + 5);
        return NULL;
    }
    if (strcmp(v, "IPV6") == 0)
        return is_ipv6_client(r) ? "on" : "off";
    if (strcmp(v, "HTTPS") == 0)
        return is_tls(r) ? "on" : "off";
    if (strcmp(v, "IS_SUBREQ") == 0)
        return "false"; /* portico makes no subrequests */
    if (strcmp(v, "API_VERSION") == 0)
        return arena_printf(r->arena, "%d:%d", RW_MMN_MAJOR, RW_MMN_MINOR);
    if (strcmp(v, "SERVER_NAME") == 0) {
        const char *n = server_name(r);
        return strchr(n, ':') != NULL ? arena_printf(r->arena, "[%s]", n) : n;
    }
    if (strcmp(v, "SERVER_PORT") == 0)
        return arena_printf(r->arena, "%d", server_port(r));
    if (strcmp(v, "SERVER_ADDR") == 0)
        return c != NULL ? c->local_ip : NULL;
    if (strcmp(v, "SERVER_ADMIN") == 0)
        return s != NULL ? s->server_admin : NULL;
    if (strcmp(v, "SERVER_PROTOCOL") == 0)
        return r->h.protocol;
    if (strcmp(v, "SERVER_SOFTWARE") == 0)
        return server_software(r);
    if (strcmp(v, "REMOTE_ADDR") == 0 || strcmp(v, "CONN_REMOTE_ADDR") == 0 ||
        strcmp(v, "REMOTE_HOST") == 0) /* HostnameLookups Off: the address */
        return c != NULL ? c->client_ip : NULL;
    if (strcmp(v, "REMOTE_PORT") == 0)
        return c != NULL ? arena_printf(r->arena, "%d", c->client_port) : NULL;
    if (strcmp(v, "REQUEST_METHOD") == 0)
        return r->h.method;
    if (strcmp(v, "REQUEST_SCHEME") == 0)
        return http_scheme(r);
    if (strcmp(v, "REQUEST_URI") == 0)
        return r->uri != NULL ? r->uri : r->path;
    if (strcmp(v, "REQUEST_FILENAME") == 0 || strcmp(v, "SCRIPT_FILENAME") == 0)
        return r->filename != NULL ? r->filename : r->uri != NULL ? r->uri : r->path;
    if (strcmp(v, "QUERY_STRING") == 0)
        return r->h.query;
    if (strcmp(v, "THE_REQUEST") == 0)
        return r->h.request_line;
    if (strcmp(v, "DOCUMENT_ROOT") == 0 || strcmp(v, "CONTEXT_DOCUMENT_ROOT") == 0)
        return s != NULL ? s->document_root : NULL;
    if (strcmp(v, "SCRIPT_USER") == 0 || strcmp(v, "SCRIPT_GROUP") == 0)
        return "<unknown>"; /* no file is looked at before translate_name */
    /* AUTH_TYPE, REMOTE_USER, REMOTE_IDENT, PATH_INFO, CONTEXT_PREFIX: nothing sets them
     * in server context. */
    return NULL;
}

const char *rewrite_var(struct request *r, const char *name, size_t len, const char **hdr_used)
{
    if (hdr_used != NULL)
        *hdr_used = NULL;
    if (len < 4)
        return "";
    const char *res = NULL;
    if (name[3] == ':' && len > 4) {
        char *arg = arena_strndup(r->arena, name + 4, len - 4);
        if (arg == NULL)
            return NULL;
        if (util_strncaseeq(name, "ENV", 3)) {
            res = env_get(r, arg);
            if (res == NULL)
                res = getenv(arg);
        } else if (util_strncaseeq(name, "SSL", 3))
            res = tls_var(r->c != NULL ? r->c->tls : NULL, arg, r->arena);
    } else if (len > 5 && name[4] == ':') {
        char *arg = arena_strndup(r->arena, name + 5, len - 5);
        if (arg == NULL)
            return NULL;
        if (util_strncaseeq(name, "HTTP", 4))
            res = lookup_header(r, arg, hdr_used);
        else if (util_strncaseeq(name, "LA-U", 4) || util_strncaseeq(name, "LA-F", 4))
            /* No subrequests: the look-ahead sees what this request sees. */
            return rewrite_var(r, arg, len - 5, hdr_used);
    } else if (len < 64) {
        char v[64];
        for (size_t i = 0; i < len; i++)
            v[i] = (char)(name[i] >= 'a' && name[i] <= 'z' ? name[i] - 'a' + 'A' : name[i]);
        v[len] = '\0';
        res = plain_var(r, v, hdr_used);
    }
    return res != NULL ? res : "";
}
