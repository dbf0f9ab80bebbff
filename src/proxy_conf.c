/* mod_proxy directives (ProxyPass, ProxyPassMatch, ProxyPassReverse*, ProxySet, the
 * server-wide knobs) and the post-parse pass: defaults, vhost inheritance, worker
 * defaults, and the `-S` dump of workers and routes.
 *
 * Workers: one per backend URL conf-wide. As in httpd, a URL whose scheme/host/port equal
 * an existing worker's and whose path starts with that worker's path shares it (the
 * longest such path wins); parameters given on a sharing ProxyPass are ignored with
 * httpd's warning, while ProxySet always applies. Hosts are resolved at load. */
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf.h"
#include "conf_regex.h"
#include "conf_registry.h"
#include "proxy_types.h"
#include "tls.h"
#include "util.h"

/* params_set bits */
enum {
    WP_TIMEOUT = 1u << 0,
    WP_CONNECTTIMEOUT = 1u << 1,
    WP_RETRY = 1u << 2,
    WP_KEEPALIVE = 1u << 3,
    WP_TTL = 1u << 4,
    WP_MAX = 1u << 5,
    WP_DISABLEREUSE = 1u << 6,
    WP_FLUSHPACKETS = 1u << 7,
    WP_FLUSHWAIT = 1u << 8,
    WP_UPGRADE = 1u << 9,
};

#define MAX_TIMEOUT_S (INT_MAX / 1000)

/* BalancerMember-only keys (mod_proxy's member keys and mod_proxy_hcheck's). */
static const char *const member_keys[] = {
    "route",      "redirect", "loadfactor", "lbset", "status", "hcmethod",
    "hcinterval", "hcpasses", "hcfails",    "hcuri", "hcexpr", "hctemplate",
};

/* Balancer keys (ProxySet on a balancer, ProxyPass to one). "timeout" is one too: there it
 * is the wait for a usable member. */
static const char *const lb_keys[] = {
    "lbmethod",      "stickysession", "stickysessionsep", "scolonpathdelim",
    "nofailover",    "maxattempts",   "failonstatus",     "failontimeout",
    "forcerecovery", "nonce",         "growth",
};

/* Worker keys portico implements (valid on ProxyPass to a URL, BalancerMember, ProxySet). */
static const char *const worker_keys[] = {
    "timeout",      "connectiontimeout", "retry",        "keepalive", "ttl",     "max",
    "disablereuse", "enablereuse",       "flushpackets", "flushwait", "upgrade",
};

/* Length limits of the shared-memory slots (shm/balancer_slot.h), checked at load. */
#define MAX_BALANCER_NAME 95 /* "balancer://name" */
#define MAX_MEMBER_URL    159
#define MAX_ROUTE         63
#define MAX_STICKY        63
#define MAX_NONCE         36
#define MAX_HCURI         63
#define MAX_HCEXPR_NAME   15 /* httpd: PROXY_WORKER_MAX_SCHEME_SIZE - 1 */

/* httpd worker keys portico does not implement: refused by name rather than ignored. */
static const char *const unsupported_keys[] = {
    "min",    "smax",    "acquire",           "ping",       "iobuffersize",
    "secret", "flusher", "receivebuffersize", "addressttl", "responsefieldsize",
};

static struct proxy_srv_conf *srv_conf(struct conf_cmd *cmd, struct conf_server *s)
{
    if (s->proxy != NULL)
        return s->proxy;
    struct proxy_srv_conf *p = arena_calloc(cmd->arena, 1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->preserve_host = p->timeout_ms = p->add_headers = p->via = CONF_UNSET;
    p->error_override = p->bad_header = p->io_buffer_size = CONF_UNSET;
    s->proxy = p;
    return p;
}

static struct proxy_dir_conf *dir_conf(struct conf_cmd *cmd, struct conf_dir *dir)
{
    if (dir->proxy != NULL)
        return dir->proxy;
    struct proxy_dir_conf *p = arena_calloc(cmd->arena, 1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->error_override = p->preserve_host = p->add_headers = CONF_UNSET;
    dir->proxy = p;
    return p;
}

static struct proxy_global_conf *global_conf(struct conf_cmd *cmd)
{
    if (cmd->conf->proxy == NULL) {
        struct proxy_global_conf *g = arena_calloc(cmd->arena, 1, sizeof(*g));
        if (g == NULL)
            return NULL;
        g->balancer_persist = 0;
        g->balancer_inherit = 1;
        g->balancer_growth = 5; /* httpd's default */
        cmd->conf->proxy = g;
    }
    return cmd->conf->proxy;
}

static int has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int is_location(const struct conf_dir *dir)
{
    return dir != NULL && (dir->kind == DIR_LOCATION || dir->kind == DIR_LOCATIONMATCH);
}

/* ---- URLs and workers ---- */

struct url_parts {
    char *scheme;
    char *host;
    int port;
    int explicit_port;
    char *path;
};

static int default_port(const char *scheme)
{
    return (strcmp(scheme, "https") == 0 || strcmp(scheme, "wss") == 0) ? 443 : 80;
}

static char *lower(char *s)
{
    for (char *p = s; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return s;
}

/* scheme://host[:port][/path]. For ProxyPassMatch (stop_at_dollar) the authority also ends
 * at a '$', so "http://b$1" keeps host b; a '$' inside the authority is refused because
 * backends are resolved at load. */
static const char *parse_url(struct conf_cmd *cmd, const char *url, int stop_at_dollar,
                             struct url_parts *u)
{
    memset(u, 0, sizeof(*u));
    const char *sep = strstr(url, "://");
    if (util_strncaseeq(url, "balancer://", 11))
        return conf_errf(cmd, "'%s': a balancer:// URL cannot be used here", url);
    if (util_strncaseeq(url, "unix:", 5))
        return conf_errf(cmd, "'%s': unix: domain socket backends are not supported", url);
    if (sep == NULL || sep == url)
        return conf_errf(cmd, "'%s' is not an absolute URL (scheme://host[:port][/path]) or '!'",
                         url);
    u->scheme = lower(arena_strndup(cmd->arena, url, (size_t)(sep - url)));
    if (u->scheme == NULL)
        return "out of memory";
    if (strcmp(u->scheme, "http") != 0 && strcmp(u->scheme, "https") != 0 &&
        strcmp(u->scheme, "ws") != 0 && strcmp(u->scheme, "wss") != 0)
        return conf_errf(cmd, "'%s': scheme '%s' is not supported (http, https, ws, wss)", url,
                         u->scheme);
    if (strpbrk(url, "?#") != NULL)
        return conf_errf(cmd, "'%s': a query or fragment in a backend URL is not supported", url);
    const char *a = sep + 3;
    size_t alen = strcspn(a, stop_at_dollar ? "/$" : "/");
    const char *ae = a + alen;
    if (memchr(a, '@', alen) != NULL)
        return conf_errf(cmd, "'%s': user information in a backend URL is not supported", url);
    const char *host_end, *colon = NULL;
    if (alen > 0 && a[0] == '[') {
        const char *rb = memchr(a, ']', alen);
        if (rb == NULL || (rb + 1 != ae && rb[1] != ':'))
            return conf_errf(cmd, "'%s': bad IPv6 address (write [addr]:port)", url);
        u->host = arena_strndup(cmd->arena, a + 1, (size_t)(rb - a - 1));
        host_end = rb + 1;
        if (host_end != ae)
            colon = host_end;
    } else {
        colon = memchr(a, ':', alen);
        host_end = colon ? colon : ae;
        u->host = arena_strndup(cmd->arena, a, (size_t)(host_end - a));
    }
    int dollar_auth = *ae == '$' && (host_end == a || (colon != NULL && colon + 1 == ae));
    if (dollar_auth || (u->host && strchr(u->host, '$') != NULL))
        return conf_errf(cmd,
                         "'%s': $N substitution in the host or port is not supported "
                         "(backends are resolved at load)",
                         url);
    if (u->host == NULL || u->host[0] == '\0')
        return conf_errf(cmd, "'%s': the URL has no host", url);
    u->port = default_port(u->scheme);
    if (colon != NULL) {
        char pbuf[16];
        size_t pl = (size_t)(ae - colon - 1);
        long long v;
        if (pl == 0 || pl >= sizeof(pbuf))
            return conf_errf(cmd, "'%s': bad port", url);
        memcpy(pbuf, colon + 1, pl);
        pbuf[pl] = '\0';
        if (util_parse_ll(pbuf, 1, 65535, &v) < 0)
            return conf_errf(cmd, "'%s': port must be a number from 1 to 65535", url);
        u->port = (int)v;
        u->explicit_port = 1;
    }
    if (u->host[0] != '\0' && strchr(u->host, ':') == NULL)
        lower(u->host);
    u->path = arena_strdup(cmd->arena, ae);
    return u->path ? NULL : "out of memory";
}

static char *host_with_port(struct arena *a, const char *host, int port, int show_port)
{
    int v6 = strchr(host, ':') != NULL;
    if (show_port)
        return arena_printf(a, "%s%s%s:%d", v6 ? "[" : "", host, v6 ? "]" : "", port);
    return arena_printf(a, "%s%s%s", v6 ? "[" : "", host, v6 ? "]" : "");
}

/* The worker this URL uses: same scheme, host and port, and the longest worker path that
 * is a prefix of the URL's path (httpd's worker sharing). */
static struct proxy_worker *find_worker(const struct conf *c, const struct url_parts *u)
{
    struct proxy_worker *best = NULL;
    size_t best_len = 0;
    if (c->proxy == NULL)
        return NULL;
    for (struct proxy_worker *w = c->proxy->workers; w != NULL; w = w->next) {
        size_t pl = strlen(w->path);
        if (w->member != NULL)
            continue;
        if (strcmp(w->scheme, u->scheme) != 0 || strcmp(w->host, u->host) != 0 ||
            w->port != u->port || strncmp(w->path, u->path, pl) != 0)
            continue;
        if (best == NULL || pl > best_len) {
            best = w;
            best_len = pl;
        }
    }
    return best;
}

static const char *resolve(struct conf_cmd *cmd, struct proxy_worker *w)
{
    struct addrinfo hints, *res = NULL;
    char pbuf[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    snprintf(pbuf, sizeof(pbuf), "%d", w->port);
    if (getaddrinfo(w->host, pbuf, &hints, &res) != 0) {
        hints.ai_flags = AI_ADDRCONFIG;
        int rc = getaddrinfo(w->host, pbuf, &hints, &res);
        if (rc != 0)
            return conf_errf(cmd, "cannot resolve backend host '%s': %s", w->host,
                             gai_strerror(rc));
    }
    if (res->ai_addrlen > sizeof(w->addr)) {
        freeaddrinfo(res);
        return "backend address too long";
    }
    memcpy(&w->addr, res->ai_addr, res->ai_addrlen);
    w->addrlen = (socklen_t)res->ai_addrlen;
    freeaddrinfo(res);
    return NULL;
}

/* A new worker for u, resolved, appended to the conf-wide list. */
static const char *worker_create(struct conf_cmd *cmd, const struct url_parts *u,
                                 struct proxy_worker **out)
{
    struct proxy_global_conf *g = global_conf(cmd);
    struct proxy_worker *w = arena_calloc(cmd->arena, 1, sizeof(*w));
    if (g == NULL || w == NULL)
        return "out of memory";
    w->scheme = u->scheme;
    w->host = u->host;
    w->port = u->port;
    w->path = u->path;
    int non_default = u->port != default_port(u->scheme);
    w->name = arena_printf(cmd->arena, "%s://%s%s", u->scheme,
                           host_with_port(cmd->arena, u->host, u->port, non_default), u->path);
    /* httpd sends the port in Host only when it is not the scheme's default, and never 80. */
    w->hostport = host_with_port(cmd->arena, u->host, u->port, non_default && u->port != 80);
    if (w->name == NULL || w->hostport == NULL)
        return "out of memory";
    w->timeout_ms = w->connect_timeout_ms = w->retry_ms = w->ttl_ms = CONF_UNSET;
    w->keepalive = w->max = w->disablereuse = w->flushpackets = w->flushwait_ms = CONF_UNSET;
    w->file = cmd->file;
    w->line = cmd->line;
    const char *err = resolve(cmd, w);
    if (err != NULL)
        return err;
    w->index = g->n_workers++;
    struct proxy_worker **pp = &g->workers;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = w;
    *out = w;
    return NULL;
}

static const char *worker_get(struct conf_cmd *cmd, const struct url_parts *u, int create,
                              struct proxy_worker **out, int *created)
{
    *created = 0;
    *out = find_worker(cmd->conf, u);
    if (*out != NULL || !create)
        return NULL;
    const char *err = worker_create(cmd, u, out);
    if (err == NULL)
        *created = 1;
    return err;
}

/* A worker for a URL chosen at run time (RewriteRule [P]): the configured worker it falls
 * under, or, as httpd's default worker, a throwaway one in the request's arena that pools
 * nothing and never holds an error state (each request resolves and connects afresh). */
struct proxy_worker *proxy_worker_for_url(const struct conf *c, struct arena *a, const char *url,
                                          const char **err)
{
    struct conf_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.conf = (struct conf *)c;
    cmd.arena = a;
    struct url_parts u;
    *err = parse_url(&cmd, url, 0, &u);
    if (*err != NULL)
        return NULL;
    struct proxy_worker *w = find_worker(c, &u);
    if (w != NULL)
        return w;
    w = arena_calloc(a, 1, sizeof(*w));
    if (w == NULL) {
        *err = "out of memory";
        return NULL;
    }
    w->scheme = u.scheme;
    w->host = u.host;
    w->port = u.port;
    w->path = "";
    int non_default = u.port != default_port(u.scheme);
    w->name = arena_printf(a, "%s://%s", u.scheme, host_with_port(a, u.host, u.port, non_default));
    w->hostport = host_with_port(a, u.host, u.port, non_default && u.port != 80);
    if (w->name == NULL || w->hostport == NULL) {
        *err = "out of memory";
        return NULL;
    }
    w->timeout_ms = w->connect_timeout_ms = w->ttl_ms = CONF_UNSET;
    w->retry_ms = 0;
    w->keepalive = 0;
    w->max = 1;
    w->disablereuse = 1;
    w->flushwait_ms = 10;
    w->index = c->proxy != NULL ? c->proxy->n_workers : 0;
    w->file = "RewriteRule [P]";
    *err = resolve(&cmd, w);
    return *err == NULL ? w : NULL;
}

/* ---- worker parameters ---- */

static const char *parse_onoff(const char *v, int *out)
{
    if (util_strcaseeq(v, "on"))
        *out = 1;
    else if (util_strcaseeq(v, "off"))
        *out = 0;
    else
        return "bad";
    return NULL;
}

/* httpd's ap_timeout_parameter_parse: a number with an optional unit ms, s, mi or h;
 * a bare number is in seconds here. Returns -1 on a format error. */
static long long parse_duration_ms(const char *v)
{
    size_t n = strspn(v, "0123456789");
    if (n == 0 || n > 12)
        return -1;
    char num[16];
    memcpy(num, v, n);
    num[n] = '\0';
    long long x;
    if (util_parse_ll(num, 0, LLONG_MAX / 3600000, &x) < 0)
        return -1;
    const char *unit = v + n;
    if (*unit == '\0' || util_strcaseeq(unit, "s"))
        x *= 1000;
    else if (util_strcaseeq(unit, "ms"))
        ;
    else if (util_strcaseeq(unit, "mi"))
        x *= 60000;
    else if (util_strcaseeq(unit, "h"))
        x *= 3600000;
    else
        return -1;
    return x;
}

static int in_list(const char *key, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (util_strcaseeq(key, list[i]))
            return 1;
    return 0;
}

/* Validates one key=value into w (a scratch worker when only checking). The messages
 * follow httpd's set_worker_param, with the key named. */
static const char *worker_param(struct conf_cmd *cmd, struct proxy_worker *w, const char *key,
                                const char *val)
{
    long long v;
    int f;
    if (util_strcaseeq(key, "timeout")) {
        if (util_parse_ll(val, 1, MAX_TIMEOUT_S, &v) < 0)
            return conf_errf(cmd,
                             "timeout=%s: Timeout must be a whole number of seconds, at least "
                             "one (httpd reads '500ms' as 500 seconds; connectiontimeout= "
                             "takes units)",
                             val);
        w->timeout_ms = (int)(v * 1000);
        w->params_set |= WP_TIMEOUT;
    } else if (util_strcaseeq(key, "connectiontimeout")) {
        v = parse_duration_ms(val);
        if (v < 0 || v > INT_MAX)
            return conf_errf(cmd, "connectiontimeout=%s: Connectiontimeout has wrong format", val);
        if (v < 1)
            return conf_errf(cmd,
                             "connectiontimeout=%s: Connectiontimeout must be at least one "
                             "millisecond.",
                             val);
        w->connect_timeout_ms = (int)v;
        w->params_set |= WP_CONNECTTIMEOUT;
    } else if (util_strcaseeq(key, "retry")) {
        if (util_parse_ll(val, 0, MAX_TIMEOUT_S, &v) < 0)
            return conf_errf(cmd, "retry=%s: Retry must be a whole number of seconds (0 or more)",
                             val);
        w->retry_ms = (int)(v * 1000);
        w->params_set |= WP_RETRY;
    } else if (util_strcaseeq(key, "ttl")) {
        if (util_parse_ll(val, 1, MAX_TIMEOUT_S, &v) < 0)
            return conf_errf(cmd, "ttl=%s: TTL must be a whole number of seconds, at least one",
                             val);
        w->ttl_ms = (int)(v * 1000);
        w->params_set |= WP_TTL;
    } else if (util_strcaseeq(key, "max")) {
        if (util_parse_ll(val, 0, 65536, &v) < 0)
            return conf_errf(cmd, "max=%s: Max must be a positive number", val);
        w->max = (int)v;
        w->params_set |= WP_MAX;
    } else if (util_strcaseeq(key, "keepalive")) {
        if (parse_onoff(val, &f) != NULL)
            return conf_errf(cmd, "keepalive=%s: KeepAlive must be On|Off", val);
        w->keepalive = f;
        w->params_set |= WP_KEEPALIVE;
    } else if (util_strcaseeq(key, "disablereuse") || util_strcaseeq(key, "enablereuse")) {
        if (parse_onoff(val, &f) != NULL)
            return conf_errf(cmd, "%s=%s: %s must be On|Off", key, val,
                             util_strcaseeq(key, "disablereuse") ? "DisableReuse" : "EnableReuse");
        w->disablereuse = util_strcaseeq(key, "disablereuse") ? f : !f;
        w->params_set |= WP_DISABLEREUSE;
    } else if (util_strcaseeq(key, "flushpackets")) {
        if (util_strcaseeq(val, "auto"))
            f = 2;
        else if (parse_onoff(val, &f) != NULL)
            return conf_errf(cmd, "flushpackets=%s: flushpackets must be on|off|auto", val);
        w->flushpackets = f;
        w->params_set |= WP_FLUSHPACKETS;
    } else if (util_strcaseeq(key, "flushwait")) {
        if (util_parse_ll(val, 0, 1000, &v) < 0)
            return conf_errf(cmd,
                             "flushwait=%s: flushwait must be <= 1000, or 0 for system default "
                             "of 10 millseconds.",
                             val);
        w->flushwait_ms = v == 0 ? 10 : (int)v;
        w->params_set |= WP_FLUSHWAIT;
    } else if (util_strcaseeq(key, "upgrade")) {
        if (val[0] == '\0' || strspn(val, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                          "0123456789!#$%&'*+-.^_`|~/") != strlen(val))
            return conf_errf(cmd, "upgrade=%s: not a protocol name (e.g. websocket, or ANY)", val);
        w->upgrade = util_strcaseeq(val, "ANY") ? arena_strdup(cmd->arena, "*")
                                                : arena_strdup(cmd->arena, val);
        w->params_set |= WP_UPGRADE;
    } else if (in_list(key, member_keys, ARRAY_LEN(member_keys)) ||
               in_list(key, lb_keys, ARRAY_LEN(lb_keys))) {
        return conf_errf(cmd,
                         "%s= is a balancer or balancer-member parameter, not valid for a "
                         "single backend URL (use balancer://name with BalancerMember lines)",
                         key);
    } else if (in_list(key, unsupported_keys, ARRAY_LEN(unsupported_keys))) {
        return conf_errf(cmd, "worker parameter %s= is not supported by portico", key);
    } else {
        return conf_errf(cmd, "unknown Worker parameter '%s'", key);
    }
    return NULL;
}

static void worker_apply(struct proxy_worker *w, const struct proxy_worker *s)
{
    unsigned b = s->params_set;
    if (b & WP_TIMEOUT)
        w->timeout_ms = s->timeout_ms;
    if (b & WP_CONNECTTIMEOUT)
        w->connect_timeout_ms = s->connect_timeout_ms;
    if (b & WP_RETRY)
        w->retry_ms = s->retry_ms;
    if (b & WP_TTL)
        w->ttl_ms = s->ttl_ms;
    if (b & WP_MAX)
        w->max = s->max;
    if (b & WP_KEEPALIVE)
        w->keepalive = s->keepalive;
    if (b & WP_DISABLEREUSE)
        w->disablereuse = s->disablereuse;
    if (b & WP_FLUSHPACKETS)
        w->flushpackets = s->flushpackets;
    if (b & WP_FLUSHWAIT)
        w->flushwait_ms = s->flushwait_ms;
    if (b & WP_UPGRADE)
        w->upgrade = s->upgrade;
    w->params_set |= b;
}

/* Parses argv[from..] as key=value worker parameters into a scratch worker. */
static const char *parse_params(struct conf_cmd *cmd, int argc, char **argv, int from,
                                struct proxy_worker *scratch, const char ***keys_out)
{
    memset(scratch, 0, sizeof(*scratch));
    const char **keys = arena_calloc(cmd->arena, (size_t)argc + 1, sizeof(*keys));
    if (keys == NULL)
        return "out of memory";
    int nk = 0;
    for (int i = from; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i])
            return conf_errf(
                cmd, "'%s' is not a parameter: parameters must be in the form key=value", argv[i]);
        char *key = arena_strndup(cmd->arena, argv[i], (size_t)(eq - argv[i]));
        if (key == NULL)
            return "out of memory";
        const char *err = worker_param(cmd, scratch, key, eq + 1);
        if (err != NULL)
            return err;
        keys[nk++] = argv[i];
    }
    *keys_out = keys;
    return NULL;
}

/* ---- balancers, members and health-check parameters ---- */

/* Splits "key=value"; the key is an arena copy. */
static const char *split_param(struct conf_cmd *cmd, const char *arg, char **key, const char **val)
{
    const char *eq = strchr(arg, '=');
    if (eq == NULL || eq == arg)
        return conf_errf(cmd, "'%s' is not a parameter: parameters must be in the form key=value",
                         arg);
    *key = arena_strndup(cmd->arena, arg, (size_t)(eq - arg));
    *val = eq + 1;
    return *key ? NULL : "out of memory";
}

static int is_balancer_url(const char *url)
{
    return util_strncaseeq(url, "balancer://", 11);
}

static int has_ctl_or_space(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* "balancer://name[/path]": *name gets "balancer://name" in lower case, *path the rest
 * (may be ""). For ProxyPassMatch (stop_at_dollar) the name also ends at a '$'. */
static const char *parse_balancer_url(struct conf_cmd *cmd, const char *url, int stop_at_dollar,
                                      char **name, char **path)
{
    const char *h = url + 11;
    size_t n = strcspn(h, stop_at_dollar ? "/$" : "/");
    if (n == 0)
        return conf_errf(cmd, "'%s': the balancer URL has no name (balancer://name/...)", url);
    if (strpbrk(url, "?#") != NULL)
        return conf_errf(cmd, "'%s': a query or fragment in a balancer URL is not supported", url);
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == '~'))
            return conf_errf(cmd,
                             "'%s': a balancer name may contain only letters, digits and "
                             "'-', '_', '.', '~'",
                             url);
    }
    if (11 + n > MAX_BALANCER_NAME)
        return conf_errf(cmd, "balancer name (%.*s) too long (at most %d characters)",
                         (int)(11 + n), url, MAX_BALANCER_NAME);
    *name = lower(arena_strndup(cmd->arena, url, 11 + n));
    *path = arena_strdup(cmd->arena, h + n);
    return *name && *path ? NULL : "out of memory";
}

static struct proxy_balancer *balancer_by_name(const struct conf *c, const char *name, size_t n)
{
    if (c->proxy == NULL)
        return NULL;
    for (struct proxy_balancer *b = c->proxy->balancers; b != NULL; b = b->next)
        if (strlen(b->name) == n && util_strncaseeq(b->name, name, n))
            return b;
    return NULL;
}

struct proxy_balancer *proxy_balancer_find(const struct conf *c, const char *url)
{
    if (c == NULL || url == NULL || !is_balancer_url(url))
        return NULL;
    return balancer_by_name(c, url, 11 + strcspn(url + 11, "/?#"));
}

/* The balancer a URL names, created when missing and `create` is set. */
static const char *balancer_get(struct conf_cmd *cmd, const char *url, int stop_at_dollar,
                                int create, struct proxy_balancer **out, char **path)
{
    char *name;
    const char *err = parse_balancer_url(cmd, url, stop_at_dollar, &name, path);
    if (err != NULL)
        return err;
    *out = balancer_by_name(cmd->conf, name, strlen(name));
    if (*out != NULL || !create)
        return NULL;
    struct proxy_global_conf *g = global_conf(cmd);
    struct proxy_balancer *b = arena_calloc(cmd->arena, 1, sizeof(*b));
    if (g == NULL || b == NULL)
        return "out of memory";
    b->name = name;
    b->sticky_sep = '.';
    b->scolonpathdelim = b->nofailover = b->maxattempts = b->failontimeout = CONF_UNSET;
    b->forcerecovery = b->timeout_ms = b->growth = CONF_UNSET;
    b->file = cmd->file;
    b->line = cmd->line;
    b->index = g->n_balancers++;
    struct proxy_balancer **pp = &g->balancers;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = b;
    *out = b;
    return NULL;
}

static const char *onoff_param(struct conf_cmd *cmd, const char *key, const char *val, int *out,
                               const char *msg)
{
    if (parse_onoff(val, out) != NULL)
        return conf_errf(cmd, "%s=%s: %s", key, val, msg);
    return NULL;
}

/* One balancer parameter (httpd's set_balancer_param, messages kept), for ProxySet on a
 * balancer and the parameters of a ProxyPass to one. */
static const char *balancer_param(struct conf_cmd *cmd, struct proxy_balancer *b, const char *key,
                                  const char *val)
{
    long long v;
    if (util_strcaseeq(key, "lbmethod")) {
        static const char *const methods[] = {"byrequests", "bytraffic", "bybusyness", "heartbeat"};
        for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
            if (util_strcaseeq(val, methods[i])) {
                b->lbmethod = (char *)methods[i];
                return NULL;
            }
        }
        return conf_errf(cmd,
                         "lbmethod=%s: unknown lbmethod (byrequests, bytraffic, bybusyness or "
                         "heartbeat)",
                         val);
    }
    if (util_strcaseeq(key, "stickysession")) {
        if (strlen(val) > MAX_STICKY)
            return conf_errf(cmd, "stickysession=%s: stickysession length must be < %d characters",
                             val, MAX_STICKY + 1);
        if (val[0] == '\0') {
            b->sticky = b->sticky_cookie = b->sticky_param = NULL;
            return NULL;
        }
        const char *bar = strchr(val, '|');
        b->sticky = arena_strdup(cmd->arena, val);
        b->sticky_cookie = bar ? arena_strndup(cmd->arena, val, (size_t)(bar - val)) : b->sticky;
        b->sticky_param = bar ? arena_strdup(cmd->arena, bar + 1) : b->sticky;
        if (b->sticky == NULL || b->sticky_cookie == NULL || b->sticky_param == NULL)
            return "out of memory";
        if (b->sticky_cookie[0] == '\0' || b->sticky_param[0] == '\0' ||
            strchr(b->sticky_param, '|') != NULL)
            return conf_errf(cmd, "stickysession=%s: expected NAME or COOKIENAME|URLPARAMNAME",
                             val);
        return NULL;
    }
    if (util_strcaseeq(key, "stickysessionsep")) {
        if (util_strcaseeq(val, "off"))
            b->sticky_sep = 0;
        else if (strlen(val) == 1)
            b->sticky_sep = val[0];
        else
            return conf_errf(cmd,
                             "stickysessionsep=%s: stickysessionsep must be a single character "
                             "or Off",
                             val);
        return NULL;
    }
    if (util_strcaseeq(key, "nofailover"))
        return onoff_param(cmd, key, val, &b->nofailover, "failover must be On|Off");
    if (util_strcaseeq(key, "scolonpathdelim"))
        return onoff_param(cmd, key, val, &b->scolonpathdelim, "scolonpathdelim must be On|Off");
    if (util_strcaseeq(key, "failontimeout"))
        return onoff_param(cmd, key, val, &b->failontimeout, "failontimeout must be On|Off");
    if (util_strcaseeq(key, "forcerecovery"))
        return onoff_param(cmd, key, val, &b->forcerecovery, "forcerecovery must be On|Off");
    if (util_strcaseeq(key, "timeout")) {
        if (util_parse_ll(val, 1, MAX_TIMEOUT_S, &v) < 0)
            return conf_errf(cmd,
                             "timeout=%s: timeout must be at least one second (on a balancer: "
                             "whole seconds to wait for a usable member)",
                             val);
        b->timeout_ms = (int)(v * 1000);
        return NULL;
    }
    if (util_strcaseeq(key, "maxattempts")) {
        if (util_parse_ll(val, 0, 1000, &v) < 0)
            return conf_errf(cmd,
                             "maxattempts=%s: maximum number of attempts must be a positive "
                             "number (0 to 1000)",
                             val);
        b->maxattempts = (int)v;
        return NULL;
    }
    if (util_strcaseeq(key, "failonstatus")) {
        int codes[ARRAY_LEN(b->failonstatus)];
        int n = 0;
        const char *p = val;
        while (*p != '\0') {
            size_t skip = strspn(p, ", ");
            p += skip;
            size_t len = strcspn(p, ", ");
            if (len == 0)
                break;
            char num[8];
            if (len >= sizeof(num) || n == (int)ARRAY_LEN(codes))
                return conf_errf(cmd,
                                 "failonstatus=%s: failonstatus must be one or more HTTP "
                                 "response codes (at most %d)",
                                 val, (int)ARRAY_LEN(codes));
            memcpy(num, p, len);
            num[len] = '\0';
            if (util_parse_ll(num, 100, 599, &v) < 0)
                return conf_errf(cmd,
                                 "failonstatus=%s: failonstatus must be one or more HTTP "
                                 "response codes",
                                 val);
            codes[n++] = (int)v;
            p += len;
        }
        if (n == 0)
            return conf_errf(cmd,
                             "failonstatus=%s: failonstatus must be one or more HTTP response "
                             "codes",
                             val);
        memcpy(b->failonstatus, codes, (size_t)n * sizeof(int));
        b->n_failonstatus = n;
        return NULL;
    }
    if (util_strcaseeq(key, "nonce")) {
        if (util_strcaseeq(val, "None")) {
            b->nonce = "";
            return NULL;
        }
        if (strlen(val) > MAX_NONCE || val[0] == '\0')
            return conf_errf(cmd, "nonce=%s: Provided nonce is too large (1 to %d characters)", val,
                             MAX_NONCE);
        b->nonce = arena_strdup(cmd->arena, val);
        return b->nonce ? NULL : "out of memory";
    }
    if (util_strcaseeq(key, "growth")) {
        if (util_parse_ll(val, 1, 100, &v) < 0)
            return conf_errf(cmd, "growth=%s: growth must be between 1 and 100", val);
        b->growth = (int)v;
        return NULL;
    }
    if (in_list(key, worker_keys, ARRAY_LEN(worker_keys)) ||
        in_list(key, member_keys, ARRAY_LEN(member_keys)))
        return conf_errf(
            cmd,
            "unknown Balancer parameter '%s': it is a %s parameter; set it on "
            "each BalancerMember of %s",
            key, in_list(key, member_keys, ARRAY_LEN(member_keys)) ? "member" : "worker", b->name);
    return conf_errf(cmd, "unknown Balancer parameter '%s'", key);
}

/* Where the health-check keys write: a member or a ProxyHCTemplate. */
struct hc_fields {
    char **method, **uri, **expr;
    int *interval_ms, *passes, *fails;
};

static const struct proxy_hcexpr *hcexpr_lookup(const struct conf *c, const char *name)
{
    const struct proxy_hcexpr *found = NULL;
    for (const struct proxy_hcexpr *e = c->proxy ? c->proxy->hcexprs : NULL; e; e = e->next)
        if (util_strcaseeq(e->name, name))
            found = e; /* the last definition wins, as httpd's table */
    return found;
}

/* mod_proxy_hcheck's set_worker_hc_param, messages kept. */
static const char *hc_param(struct conf_cmd *cmd, const struct hc_fields *f, const char *key,
                            const char *val)
{
    long long v;
    if (util_strcaseeq(key, "hctemplate")) {
        for (const struct proxy_hctemplate *t = cmd->conf->proxy->hctemplates; t; t = t->next) {
            if (util_strcaseeq(t->name, val)) {
                *f->method = t->hcmethod;
                *f->uri = t->hcuri;
                *f->expr = t->hcexpr;
                *f->interval_ms = t->hcinterval_ms;
                *f->passes = t->hcpasses;
                *f->fails = t->hcfails;
                return NULL;
            }
        }
        return conf_errf(cmd, "hctemplate=%s: Unknown ProxyHCTemplate name: %s", val, val);
    }
    if (util_strcaseeq(key, "hcmethod")) {
        static const char *const methods[] = {"NONE", "TCP",       "OPTIONS", "HEAD",
                                              "GET",  "OPTIONS11", "HEAD11",  "GET11"};
        for (size_t i = 0; i < ARRAY_LEN(methods); i++) {
            if (util_strcaseeq(val, methods[i])) {
                *f->method = i == 0 ? NULL : (char *)methods[i];
                return NULL;
            }
        }
        if (util_strcaseeq(val, "CPING") || util_strcaseeq(val, "PROVIDER"))
            return conf_errf(cmd, "hcmethod=%s: Health check method %s not (yet) implemented", val,
                             val);
        return conf_errf(cmd,
                         "hcmethod=%s: Unknown method (NONE, TCP, OPTIONS, HEAD, GET, "
                         "OPTIONS11, HEAD11 or GET11)",
                         val);
    }
    if (util_strcaseeq(key, "hcinterval")) {
        v = parse_duration_ms(val);
        if (v < 0 || v > INT_MAX)
            return conf_errf(cmd, "hcinterval=%s: Unparse-able hcinterval setting", val);
        if (v < 100)
            return conf_errf(cmd,
                             "hcinterval=%s: Interval must be a positive value greater than "
                             "100ms",
                             val);
        *f->interval_ms = (int)v;
        return NULL;
    }
    if (util_strcaseeq(key, "hcpasses") || util_strcaseeq(key, "hcfails")) {
        int passes = util_strcaseeq(key, "hcpasses");
        if (util_parse_ll(val, 0, 1000000, &v) < 0)
            return conf_errf(cmd, "%s=%s: %s must be a positive value", key, val,
                             passes ? "Passes" : "Fails");
        *(passes ? f->passes : f->fails) = (int)v;
        return NULL;
    }
    if (util_strcaseeq(key, "hcuri")) {
        if (strlen(val) > MAX_HCURI)
            return conf_errf(cmd, "hcuri=%s: Health check uri length must be < %d characters", val,
                             MAX_HCURI + 1);
        if (has_ctl_or_space(val))
            return conf_errf(cmd, "hcuri=%s: spaces and control characters are not allowed", val);
        *f->uri = val[0] ? arena_strdup(cmd->arena, val) : NULL;
        return NULL;
    }
    if (util_strcaseeq(key, "hcexpr")) {
        const struct proxy_hcexpr *e = hcexpr_lookup(cmd->conf, val);
        if (e == NULL)
            return conf_errf(cmd,
                             "hcexpr=%s: Unknown health check condition expr: %s (define it "
                             "first with ProxyHCExpr)",
                             val, val);
        *f->expr = e->name;
        return NULL;
    }
    return conf_errf(cmd, "unknown Worker hcheck parameter '%s'", key);
}

/* One BalancerMember key (httpd's set_worker_param for the member keys). */
static const char *member_param(struct conf_cmd *cmd, struct proxy_member *m, const char *key,
                                const char *val)
{
    long long v;
    if (util_strcaseeq(key, "route") || util_strcaseeq(key, "redirect")) {
        int route = util_strcaseeq(key, "route");
        if (strlen(val) > MAX_ROUTE)
            return conf_errf(cmd, "%s=%s: %s length must be < %d characters", key, val,
                             route ? "Route" : "Redirect", MAX_ROUTE + 1);
        char *copy = arena_strdup(cmd->arena, val);
        if (copy == NULL)
            return "out of memory";
        *(route ? &m->route : &m->redirect) = copy;
        return NULL;
    }
    if (util_strcaseeq(key, "loadfactor")) {
        char *end;
        double f = strtod(val, &end);
        if (end == val || *end != '\0' || !(f >= 1.0 && f <= 100.0))
            return conf_errf(cmd, "loadfactor=%s: LoadFactor must be a number between 1..100", val);
        m->lbfactor = (int)(f * 100.0); /* httpd truncates the same way */
        return NULL;
    }
    if (util_strcaseeq(key, "lbset")) {
        if (util_parse_ll(val, 0, 99, &v) < 0)
            return conf_errf(cmd, "lbset=%s: lbset must be between 0 and 99", val);
        m->lbset = (int)v;
        return NULL;
    }
    if (util_strcaseeq(key, "status")) {
        /* httpd: letters, each after an optional '+' (set) or '-' (clear); the sign sticks
         * for the letters that follow ("-DH" clears both). */
        static const struct {
            char letter;
            unsigned flag;
        } flags[] = {
            {'D', MEMBER_DISABLED}, {'S', MEMBER_STOPPED}, {'H', MEMBER_STANDBY},
            {'R', MEMBER_SPARE},    {'N', MEMBER_DRAIN},   {'I', MEMBER_IGNORE},
            {'E', MEMBER_ERROR},    {'C', MEMBER_HCFAIL},
        };
        int set = 1;
        for (const char *p = val; *p != '\0'; p++) {
            if (*p == '+' || *p == '-') {
                set = *p == '+';
                p++;
            }
            char c = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
            size_t i = 0;
            while (i < ARRAY_LEN(flags) && flags[i].letter != c)
                i++;
            if (i == ARRAY_LEN(flags)) {
                if (c != '\0' && strchr("OGUF", c) != NULL)
                    return conf_errf(cmd,
                                     "status=%s: flag '%c' is set by the server itself and "
                                     "cannot be configured",
                                     val, c);
                return conf_errf(cmd,
                                 "status=%s: Unknown status parameter option (letters D S H R "
                                 "N I E C, each optionally after + or -)",
                                 val);
            }
            if (set)
                m->status |= flags[i].flag;
            else
                m->status &= ~flags[i].flag;
        }
        return NULL;
    }
    struct hc_fields f = {&m->hcmethod,      &m->hcuri,    &m->hcexpr,
                          &m->hcinterval_ms, &m->hcpasses, &m->hcfails};
    return hc_param(cmd, &f, key, val);
}

/* BalancerMember [balancer://name] url [key=value ...] */
static const char *add_member(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d;
    struct conf_dir *dir = cmd->dir;
    const char *bal_url = NULL, *url = NULL;
    int first_param = argc;
    if (dir != NULL) {
        if (dir->kind == DIR_PROXYMATCH || has_wildcard(dir->pattern) ||
            !is_balancer_url(dir->pattern))
            return conf_errf(cmd,
                             "BalancerMember belongs inside <Proxy balancer://name>, not <%s %s>",
                             dir->kind == DIR_PROXYMATCH ? "ProxyMatch" : "Proxy", dir->pattern);
        bal_url = dir->pattern;
    }
    for (int i = 0; i < argc; i++) {
        if (strchr(argv[i], '=') != NULL) {
            first_param = i;
            break;
        }
        if (bal_url == NULL && dir == NULL) {
            bal_url = argv[i];
        } else if (url == NULL) {
            url = argv[i];
        } else {
            if (dir != NULL)
                return "BalancerMember can not have a balancer name when defined in a location";
            return "Invalid BalancerMember parameter. Parameter must be in the form 'key=value'";
        }
    }
    if (bal_url == NULL)
        return "BalancerMember must define balancer name when outside <Proxy > section";
    if (url == NULL)
        return "BalancerMember must define remote proxy server";
    if (!is_balancer_url(bal_url))
        return conf_errf(cmd,
                         "'%s' is not a balancer URL: outside <Proxy balancer://name> write "
                         "BalancerMember balancer://name url [key=value ...]",
                         bal_url);
    for (int i = first_param; i < argc; i++)
        if (strchr(argv[i], '=') == NULL)
            return "Invalid BalancerMember parameter. Parameter must be in the form 'key=value'";
    struct proxy_balancer *b;
    char *bpath;
    const char *err = balancer_get(cmd, bal_url, 0, 1, &b, &bpath);
    if (err != NULL)
        return err;
    b->defined = 1;
    struct url_parts u;
    err = parse_url(cmd, url, 0, &u);
    if (err != NULL)
        return err;
    /* httpd's worker sharing within the balancer: a URL under an existing member's is that
     * member, and its parameters are ignored. */
    struct proxy_member *same = NULL;
    for (struct proxy_member *m = b->members; m != NULL; m = m->next) {
        const struct proxy_worker *w = m->worker;
        size_t pl = strlen(w->path);
        if (strcmp(w->scheme, u.scheme) == 0 && strcmp(w->host, u.host) == 0 && w->port == u.port &&
            strncmp(w->path, u.path, pl) == 0 && (same == NULL || pl > strlen(same->worker->path)))
            same = m;
    }
    if (same != NULL) {
        conf_warn(cmd,
                  "'%s' is already member '%s' of %s (%s:%d; httpd's worker sharing): no new "
                  "member is added%s",
                  url, same->worker->name, b->name, same->file, same->line,
                  first_param < argc ? " and its parameters are ignored" : "");
        return NULL;
    }
    struct proxy_member *m = arena_calloc(cmd->arena, 1, sizeof(*m));
    if (m == NULL)
        return "out of memory";
    err = worker_create(cmd, &u, &m->worker);
    if (err != NULL)
        return err;
    if (strlen(m->worker->name) > MAX_MEMBER_URL)
        return conf_errf(cmd, "'%s': a member URL may have at most %d characters", url,
                         MAX_MEMBER_URL);
    m->worker->member = m;
    m->balancer = b;
    m->route = m->redirect = "";
    m->lbfactor = 100;
    m->hcinterval_ms = 30000;
    m->hcpasses = m->hcfails = 1;
    m->file = cmd->file;
    m->line = cmd->line;
    for (int i = first_param; i < argc; i++) {
        char *key;
        const char *val;
        err = split_param(cmd, argv[i], &key, &val);
        if (err == NULL) {
            if (in_list(key, member_keys, ARRAY_LEN(member_keys)))
                err = member_param(cmd, m, key, val);
            else if (in_list(key, lb_keys, ARRAY_LEN(lb_keys)))
                err = conf_errf(cmd,
                                "%s= is a balancer parameter, not a member's: set it with "
                                "ProxySet inside <Proxy %s> (or on the ProxyPass)",
                                key, b->name);
            else
                err = worker_param(cmd, m->worker, key, val);
        }
        if (err != NULL)
            return err;
    }
    struct proxy_member **pp = &b->members;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = m;
    b->n_members++;
    return NULL;
}

/* ProxyHCExpr name {expr} */
static const char *add_hcexpr(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d;
    if (argv[0][0] == '\0')
        return "Missing expression name for ProxyHCExpr";
    if (strlen(argv[0]) > MAX_HCEXPR_NAME)
        return conf_errf(cmd, "Expression name limited to %d characters", MAX_HCEXPR_NAME);
    if (argc < 2)
        return "Missing expression for ProxyHCExpr";
    /* httpd's ap_getword_conf2 takes "{...}" (braces nested) as one word; the tokenizer
     * split it at spaces, so re-join the words and find the matching brace. */
    size_t len = 0;
    for (int i = 1; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *expr = arena_alloc(cmd->arena, len + 1), *o = expr;
    if (expr == NULL)
        return "out of memory";
    for (int i = 1; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (i > 1)
            *o++ = ' ';
        memcpy(o, argv[i], n);
        o += n;
    }
    *o = '\0';
    if (expr[0] == '{') {
        int depth = 0;
        char *e = expr;
        for (; *e != '\0'; e++) {
            if (*e == '{')
                depth++;
            else if (*e == '}' && --depth == 0)
                break;
        }
        if (*e == '\0')
            return "the expression's '{' is not closed by a '}'";
        if (e[1] != '\0')
            return "error: extra parameter(s)";
        *e = '\0';
        expr++;
        while (*expr == ' ')
            expr++;
        size_t n = strlen(expr);
        while (n > 0 && expr[n - 1] == ' ')
            expr[--n] = '\0';
    } else if (argc > 2) {
        return "error: extra parameter(s)";
    }
    if (expr[0] == '\0')
        return "Missing expression for ProxyHCExpr";
    struct proxy_global_conf *g = global_conf(cmd);
    struct proxy_hcexpr *e = arena_calloc(cmd->arena, 1, sizeof(*e));
    if (g == NULL || e == NULL)
        return "out of memory";
    e->name = arena_strdup(cmd->arena, argv[0]);
    e->expr = expr;
    e->file = cmd->file;
    e->line = cmd->line;
    struct proxy_hcexpr **pp = &g->hcexprs;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = e;
    return e->name ? NULL : "out of memory";
}

/* ProxyHCTemplate name key=value ... */
static const char *add_hctemplate(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    (void)d;
    if (argv[0][0] == '\0' || strchr(argv[0], '=') != NULL)
        return "Missing template name for ProxyHCTemplate";
    struct proxy_global_conf *g = global_conf(cmd);
    if (g == NULL)
        return "out of memory";
    for (const struct proxy_hctemplate *t = g->hctemplates; t != NULL; t = t->next)
        if (util_strcaseeq(t->name, argv[0]))
            return conf_errf(cmd, "template '%s' is already defined at %s:%d", argv[0], t->file,
                             t->line);
    struct proxy_hctemplate *t = arena_calloc(cmd->arena, 1, sizeof(*t));
    if (t == NULL)
        return "out of memory";
    t->name = arena_strdup(cmd->arena, argv[0]);
    t->hcmethod = "TCP"; /* httpd's template default (method 1) */
    t->hcinterval_ms = 30000;
    t->hcpasses = t->hcfails = 1;
    t->file = cmd->file;
    t->line = cmd->line;
    struct hc_fields f = {&t->hcmethod,      &t->hcuri,    &t->hcexpr,
                          &t->hcinterval_ms, &t->hcpasses, &t->hcfails};
    for (int i = 1; i < argc; i++) {
        const char *eq = strchr(argv[i], '=');
        if (eq == NULL || eq == argv[i])
            return "Invalid ProxyHCTemplate parameter. Parameter must be in the form "
                   "'key=value'";
        char *key = arena_strndup(cmd->arena, argv[i], (size_t)(eq - argv[i]));
        if (key == NULL)
            return "out of memory";
        const char *err = hc_param(cmd, &f, key, eq + 1);
        if (err != NULL)
            return err;
    }
    struct proxy_hctemplate **pp = &g->hctemplates;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = t;
    return t->name ? NULL : "out of memory";
}

/* d->offset: 0 BalancerPersist, 1 BalancerInherit. */
static const char *set_balancer_flag(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                     char **argv)
{
    (void)argc;
    struct proxy_global_conf *g = global_conf(cmd);
    if (g == NULL)
        return "out of memory";
    int v = argv[0][0] == '1';
    if (d->offset == 0) {
        g->balancer_persist = v;
    } else {
        g->balancer_inherit = v;
        if (!v)
            conf_warn(cmd, "balancers are shared by every server in portico: BalancerInherit "
                           "Off has no effect");
    }
    if (cmd->server != cmd->conf->main)
        conf_warn(cmd, "applies to the whole configuration in portico, not only this "
                       "<VirtualHost>");
    return NULL;
}

static const char *set_balancer_growth(struct conf_cmd *cmd, const struct conf_directive *d,
                                       int argc, char **argv)
{
    (void)d;
    (void)argc;
    long long v;
    if (util_parse_ll(argv[0], 0, 1000, &v) < 0)
        return "BalancerGrowth must be between 0 and 1000";
    struct proxy_global_conf *g = global_conf(cmd);
    if (g == NULL)
        return "out of memory";
    g->balancer_growth = (int)v;
    return NULL;
}

/* ---- ProxyPass / ProxyPassMatch ---- */

static void warn_slashes(struct conf_cmd *cmd, const char *path, const struct url_parts *u)
{
    size_t pl = strlen(path), ul = strlen(u->path);
    int path_slash = pl > 0 && path[pl - 1] == '/';
    int url_slash = ul > 0 && u->path[ul - 1] == '/';
    if (path_slash == url_slash)
        return;
    conf_warn(cmd,
              "'%s' %s in '/' but its URL '%s://%s%s' %s: requests below it get %s (as in "
              "httpd; end both with '/' or neither)",
              path, path_slash ? "ends" : "does not end", u->scheme, u->host, u->path,
              url_slash ? "does" : "does not",
              path_slash ? (ul == 0 ? "the remainder glued to the host name"
                                    : "the remainder glued to the URL's last segment")
                         : "a doubled '/'");
}

static const char *add_pass(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    int is_match = d->offset == 1;
    int use_regex = is_match;
    struct conf_dir *loc = is_location(cmd->dir) ? cmd->dir : NULL;
    const char *path = NULL;
    void *regex = NULL;
    int i = 0;
    if (loc == NULL) {
        if (strcmp(argv[0], "~") == 0) {
            if (is_match)
                return "ProxyPassMatch invalid syntax ('~' usage).";
            use_regex = 1;
            i++;
        }
        if (argc - i < 2)
            return "takes a path and a URL (or '!'), then optional key=value parameters";
        path = argv[i++];
        if (path[0] == '\0')
            return "the path must not be empty";
    } else {
        if (argv[0][0] == '/' || strcmp(argv[0], "~") == 0)
            return "ProxyPass|ProxyPassMatch can not have a path when defined in a location.";
        if (loc->kind == DIR_LOCATIONMATCH) {
            use_regex = 1;
            regex = loc->regex;
        } else if (!is_match && has_wildcard(loc->pattern)) {
            return conf_errf(cmd,
                             "a ProxyPass inside a wildcard <Location %s> is not supported "
                             "(use <LocationMatch> or ProxyPassMatch)",
                             loc->pattern);
        }
        path = loc->pattern;
        struct proxy_dir_conf *pd = dir_conf(cmd, loc);
        if (pd == NULL)
            return "out of memory";
        if (pd->pass != NULL)
            return conf_errf(cmd, "only one ProxyPass per <Location> (first at %s:%d)",
                             pd->pass->file, pd->pass->line);
    }
    const char *url = argv[i++];
    int nocanon = 0;
    /* Flags may sit among key=value parameters, as in httpd. */
    char **params = arena_calloc(cmd->arena, (size_t)argc + 1, sizeof(*params));
    int np = 0;
    if (params == NULL)
        return "out of memory";
    for (; i < argc; i++) {
        if (util_strcaseeq(argv[i], "nocanon")) {
            nocanon = 1;
        } else if (util_strcaseeq(argv[i], "interpolate")) {
            return "'interpolate' is not supported: portico does not expand ${VAR} in "
                   "ProxyPass at request time (use Define and ${VAR}, expanded at load)";
        } else if (util_strcaseeq(argv[i], "noquery")) {
            return "'noquery' is not supported (the query string is always passed on)";
        } else if (util_strncaseeq(argv[i], "mapping=", 8)) {
            return conf_errf(cmd,
                             "'%s' is not supported: portico always matches the normalised "
                             "path, and also checks exclusions and access rules against the "
                             "path with ;parameters removed",
                             argv[i]);
        } else {
            params[np++] = argv[i];
        }
    }
    struct proxy_pass *p = arena_calloc(cmd->arena, 1, sizeof(*p));
    if (p == NULL)
        return "out of memory";
    p->path = arena_strdup(cmd->arena, path);
    p->nocanon = nocanon;
    p->location = loc;
    p->file = cmd->file;
    p->line = cmd->line;
    if (use_regex) {
        if (regex == NULL) {
            const char *err = conf_compile_regex(cmd, path, &regex);
            if (err != NULL)
                return err;
        }
        p->regex = regex;
    }
    if (strcmp(url, "!") == 0) {
        if (np > 0 || nocanon)
            return conf_errf(cmd, "parameters are not allowed with '!' (got '%s')",
                             np > 0 ? params[0] : "nocanon");
        p->exclude = 1;
    } else if (is_balancer_url(url)) {
        struct proxy_balancer *b;
        char *bpath;
        const char *err = balancer_get(cmd, url, use_regex, 1, &b, &bpath);
        if (err != NULL)
            return err;
        /* httpd: every key=value on a balancer ProxyPass is a balancer parameter. */
        for (int k = 0; k < np; k++) {
            char *key;
            const char *val;
            err = split_param(cmd, params[k], &key, &val);
            if (err == NULL)
                err = balancer_param(cmd, b, key, val);
            if (err != NULL)
                return err;
        }
        if (!use_regex) {
            struct url_parts bu = {"balancer", b->name + 11, 0, 0, bpath};
            warn_slashes(cmd, path, &bu);
        }
        p->balancer = b;
        p->url = arena_strdup(cmd->arena, url);
    } else {
        struct url_parts u;
        const char *err = parse_url(cmd, url, use_regex, &u);
        if (err != NULL)
            return err;
        struct proxy_worker scratch;
        const char **keys;
        err = parse_params(cmd, np, params, 0, &scratch, &keys);
        if (err != NULL)
            return err;
        if (use_regex) {
            /* The worker is the URL up to the first '$'. */
            char *dollar = strchr(u.path, '$');
            if (dollar != NULL)
                *dollar = '\0';
        } else {
            warn_slashes(cmd, path, &u);
        }
        int created;
        err = worker_get(cmd, &u, 1, &p->worker, &created);
        if (err != NULL)
            return err;
        if (created) {
            worker_apply(p->worker, &scratch);
        } else {
            for (int k = 0; keys[k] != NULL; k++)
                conf_warn(cmd,
                          "Ignoring parameter '%s' for worker '%s' because of worker sharing "
                          "(defined at %s:%d; set it there or with ProxySet)",
                          keys[k], p->worker->name, p->worker->file, p->worker->line);
        }
        p->url = arena_strdup(cmd->arena, url);
    }
    if (loc != NULL) {
        loc->proxy->pass = p;
        return NULL;
    }
    struct proxy_srv_conf *sc = srv_conf(cmd, cmd->server);
    if (sc == NULL)
        return "out of memory";
    struct proxy_pass **pp = &sc->passes;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = p;
    return NULL;
}

/* ---- ProxyPassReverse and the cookie maps ---- */

static const char *append_reverse(struct conf_cmd *cmd, struct proxy_reverse **head,
                                  const char *from, const char *to)
{
    struct proxy_reverse *r = arena_calloc(cmd->arena, 1, sizeof(*r));
    if (r == NULL)
        return "out of memory";
    r->from = arena_strdup(cmd->arena, from);
    r->to = arena_strdup(cmd->arena, to);
    r->file = cmd->file;
    r->line = cmd->line;
    while (*head != NULL)
        head = &(*head)->next;
    *head = r;
    return NULL;
}

/* d->offset: 0 ProxyPassReverse, 1 ...CookieDomain, 2 ...CookiePath. */
static struct proxy_reverse **reverse_list(struct conf_cmd *cmd, int which)
{
    if (cmd->dir != NULL) {
        struct proxy_dir_conf *pd = dir_conf(cmd, cmd->dir);
        if (pd == NULL)
            return NULL;
        return which == 0 ? &pd->reverses : which == 1 ? &pd->cookie_domains : &pd->cookie_paths;
    }
    struct proxy_srv_conf *sc = srv_conf(cmd, cmd->server);
    if (sc == NULL)
        return NULL;
    return which == 0 ? &sc->reverses : which == 1 ? &sc->cookie_domains : &sc->cookie_paths;
}

static const char *add_pass_reverse(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    const char *path, *url;
    if (argc > 0 && util_strcaseeq(argv[argc - 1], "interpolate"))
        return "'interpolate' is not supported: portico does not expand ${VAR} at request time";
    if (cmd->dir != NULL && cmd->dir->kind == DIR_LOCATION) {
        if (argc != 1)
            return "ProxyPassReverse can not have a path when defined in a location.";
        path = cmd->dir->pattern;
        url = argv[0];
    } else {
        if (argc != 2) {
            if (cmd->dir != NULL && cmd->dir->kind == DIR_LOCATIONMATCH)
                return "inside <LocationMatch> give the path too (httpd would use the regular "
                       "expression as the path)";
            return "takes a path and a URL";
        }
        path = argv[0];
        url = argv[1];
    }
    char *bname = NULL, *bpath = NULL;
    if (is_balancer_url(url)) {
        /* The balancer may be defined further down: resolved in conf_finish_proxy. */
        const char *err = parse_balancer_url(cmd, url, 0, &bname, &bpath);
        if (err != NULL)
            return err;
    }
    struct proxy_reverse **head = reverse_list(cmd, 0);
    if (head == NULL)
        return "out of memory";
    const char *err = append_reverse(cmd, head, path, url);
    if (err == NULL && bname != NULL) {
        struct proxy_reverse *r = *head;
        while (r->next != NULL)
            r = r->next;
        /* "balancer://c" and "balancer://c/" compare member URLs only (httpd). */
        r->balancer_path = bpath[0] != '\0' && strcmp(bpath, "/") != 0 ? bpath : NULL;
    }
    return err;
}

static const char *add_cookie_map(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    if (argc == 3) {
        if (util_strcaseeq(argv[2], "interpolate"))
            return "'interpolate' is not supported: portico does not expand ${VAR} at request "
                   "time";
        return conf_errf(cmd, "'%s': unknown flag", argv[2]);
    }
    struct proxy_reverse **head = reverse_list(cmd, (int)d->offset);
    if (head == NULL)
        return "out of memory";
    return append_reverse(cmd, head, argv[0], argv[1]);
}

/* ---- server-wide and per-section knobs ---- */

static const char *set_proxy_requests(struct conf_cmd *cmd, const struct conf_directive *d,
                                      int argc, char **argv)
{
    if (argv[0][0] == '1')
        return "portico is a reverse proxy only; ProxyRequests On (forward proxying) is not "
               "supported";
    return NULL;
}

/* d->offset: 0 ProxyPreserveHost, 1 ProxyAddHeaders. */
static const char *set_dir_flag(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv)
{
    int v = argv[0][0] == '1';
    if (cmd->dir != NULL) {
        struct proxy_dir_conf *pd = dir_conf(cmd, cmd->dir);
        if (pd == NULL)
            return "out of memory";
        *(d->offset == 0 ? &pd->preserve_host : &pd->add_headers) = v;
        return NULL;
    }
    struct proxy_srv_conf *sc = srv_conf(cmd, cmd->server);
    if (sc == NULL)
        return "out of memory";
    *(d->offset == 0 ? &sc->preserve_host : &sc->add_headers) = v;
    return NULL;
}

static const char *set_proxy_timeout(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                     char **argv)
{
    long long v;
    if (util_parse_ll(argv[0], 0, MAX_TIMEOUT_S, &v) < 0)
        return conf_errf(cmd,
                         "'%s' is not a whole number of seconds (httpd reads '500ms' as 500 "
                         "seconds)",
                         argv[0]);
    if (v < 1)
        return "Proxy Timeout must be at least 1 second.";
    struct proxy_srv_conf *sc = srv_conf(cmd, cmd->server);
    if (sc == NULL)
        return "out of memory";
    sc->timeout_ms = (int)(v * 1000);
    return NULL;
}

static const char *set_proxy_via(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                 char **argv)
{
    static const char *const names[] = {"off", "on", "full", "block"};
    struct proxy_srv_conf *sc = srv_conf(cmd, cmd->server);
    if (sc == NULL)
        return "out of memory";
    for (int i = 0; i < 4; i++) {
        if (util_strcaseeq(argv[0], names[i])) {
            sc->via = i;
            return NULL;
        }
    }
    return "ProxyVia must be one of: off | on | full | block";
}

static const char *set_bad_header(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    static const char *const names[] = {"IsError", "Ignore", "StartBody"};
    struct proxy_srv_conf *sc = srv_conf(cmd, cmd->server);
    if (sc == NULL)
        return "out of memory";
    for (int i = 0; i < 3; i++) {
        if (util_strcaseeq(argv[0], names[i])) {
            sc->bad_header = i;
            return NULL;
        }
    }
    return "ProxyBadHeader must be one of: IsError | Ignore | StartBody";
}

static const char *set_io_buffer_size(struct conf_cmd *cmd, const struct conf_directive *d,
                                      int argc, char **argv)
{
    long long v;
    if (util_parse_ll(argv[0], 0, 1048576, &v) < 0)
        return conf_errf(cmd, "'%s' is not a whole number of bytes from 512 to 1048576 (or 0)",
                         argv[0]);
    if (v < 512 && v != 0)
        return "ProxyIOBufferSize must be >= 512 bytes, or 0 for system default.";
    struct proxy_srv_conf *sc = srv_conf(cmd, cmd->server);
    if (sc == NULL)
        return "out of memory";
    sc->io_buffer_size = v == 0 ? 8192 : (int)v;
    return NULL;
}

static const char *set_error_override(struct conf_cmd *cmd, const struct conf_directive *d,
                                      int argc, char **argv)
{
    int on;
    if (parse_onoff(argv[0], &on) != NULL)
        return "ProxyErrorOverride must be On or Off, optionally followed by status codes";
    if (argc - 1 > PROXY_MAX_ERROR_CODES)
        return conf_errf(cmd, "at most %d status codes", PROXY_MAX_ERROR_CODES);
    int codes[PROXY_MAX_ERROR_CODES];
    for (int i = 1; i < argc; i++) {
        long long v;
        if (util_parse_ll(argv[i], 0, 999, &v) < 0)
            return "ProxyErrorOverride: status codes to intercept must be numeric";
        if (v < 400 || v > 599)
            return "ProxyErrorOverride: status codes to intercept must be valid HTTP Status "
                   "Codes >=400 && <600";
        codes[i - 1] = (int)v;
    }
    int *flag, *arr, *n;
    if (cmd->dir != NULL) {
        struct proxy_dir_conf *pd = dir_conf(cmd, cmd->dir);
        if (pd == NULL)
            return "out of memory";
        flag = &pd->error_override;
        arr = pd->error_override_codes;
        n = &pd->n_error_override_codes;
    } else {
        struct proxy_srv_conf *sc = srv_conf(cmd, cmd->server);
        if (sc == NULL)
            return "out of memory";
        flag = &sc->error_override;
        arr = sc->error_override_codes;
        n = &sc->n_error_override_codes;
    }
    *flag = on;
    *n = argc - 1;
    if (argc > 1)
        memcpy(arr, codes, (size_t)(argc - 1) * sizeof(int));
    return NULL;
}

static const char *set_proxy_param(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                   char **argv)
{
    struct conf_dir *dir = cmd->dir;
    int in_section = dir != NULL && (dir->kind == DIR_PROXY || dir->kind == DIR_PROXYMATCH);
    const char *name;
    int from;
    if (in_section) {
        if (dir->kind == DIR_PROXYMATCH || has_wildcard(dir->pattern))
            return conf_errf(cmd,
                             "inside <%s %s> there is no single backend to configure: use "
                             "<Proxy scheme://host[:port][/path]>",
                             dir->kind == DIR_PROXYMATCH ? "ProxyMatch" : "Proxy", dir->pattern);
        name = dir->pattern;
        from = 0;
    } else {
        name = argv[0];
        from = 1;
        if (argc < 2)
            return "takes a backend URL and key=value parameters (the URL is omitted inside "
                   "<Proxy url>)";
    }
    if (argc - from < 1)
        return "needs at least one key=value parameter";
    if (is_balancer_url(name)) {
        struct proxy_balancer *b;
        char *bpath;
        const char *err = balancer_get(cmd, name, 0, in_section, &b, &bpath);
        if (err != NULL)
            return err;
        if (b == NULL)
            return conf_errf(cmd, "ProxySet can not find '%s' Balancer.", name);
        b->defined = 1;
        for (int i = from; i < argc; i++) {
            char *key;
            const char *val;
            err = split_param(cmd, argv[i], &key, &val);
            if (err == NULL)
                err = balancer_param(cmd, b, key, val);
            if (err != NULL)
                return err;
        }
        if (in_section) {
            struct proxy_dir_conf *pd = dir_conf(cmd, dir);
            if (pd == NULL)
                return "out of memory";
            pd->balancer = b;
        }
        return NULL;
    }
    struct url_parts u;
    const char *err = parse_url(cmd, name, 0, &u);
    if (err != NULL)
        return err;
    struct proxy_worker scratch;
    const char **keys;
    err = parse_params(cmd, argc, argv, from, &scratch, &keys);
    if (err != NULL)
        return err;
    struct proxy_worker *w;
    int created;
    err = worker_get(cmd, &u, in_section, &w, &created);
    if (err != NULL)
        return err;
    if (w == NULL)
        return conf_errf(cmd, "ProxySet can not find '%s' Worker.", name);
    worker_apply(w, &scratch);
    if (in_section) {
        struct proxy_dir_conf *pd = dir_conf(cmd, dir);
        if (pd == NULL)
            return "out of memory";
        pd->worker = w;
    }
    return NULL;
}

const char *proxy_conf_section_params(struct conf_cmd *cmd, struct conf_dir *dir, int argc,
                                      char **argv)
{
    if (argc == 0)
        return NULL;
    if (dir->kind == DIR_PROXYMATCH)
        return "Multiple <ProxyMatch> arguments not (yet) supported.";
    if (has_wildcard(dir->pattern))
        return "<Proxy> arguments are not supported for wildchar url.";
    struct conf_dir *saved = cmd->dir;
    cmd->dir = dir;
    const char *err = set_proxy_param(cmd, NULL, argc, argv);
    cmd->dir = saved;
    return err;
}

#define NONE TGT_NONE, 0

static const struct conf_directive proxy_directives[] = {
    {"ProxyRequests", CTX_SRV_ANY, ARGS_FLAG, set_proxy_requests, NONE, 0, 0, 0, MOD_PROXY,
     "Off (portico is a reverse proxy only)"},
    {"ProxyPass", CTX_SRV_ANY | CTX_LOCATION, ARGS_1MORE, add_pass, TGT_NONE, 0, 0, 0, 0, MOD_PROXY,
     "path url|! [key=value ...] [nocanon]"},
    {"ProxyPassMatch", CTX_SRV_ANY | CTX_LOCATION, ARGS_1MORE, add_pass, TGT_NONE, 1, 0, 0, 0,
     MOD_PROXY, "regex url|! [key=value ...] [nocanon]"},
    {"ProxyPassReverse", CTX_ANY, ARGS_1MORE, add_pass_reverse, NONE, 0, 0, 0, MOD_PROXY,
     "path url (url only inside <Location>)"},
    {"ProxyPassReverseCookieDomain", CTX_ANY, ARGS_TAKE23, add_cookie_map, TGT_NONE, 1, 0, 0, 0,
     MOD_PROXY, "backend-domain public-domain"},
    {"ProxyPassReverseCookiePath", CTX_ANY, ARGS_TAKE23, add_cookie_map, TGT_NONE, 2, 0, 0, 0,
     MOD_PROXY, "backend-path public-path"},
    {"ProxyPreserveHost", CTX_ANY, ARGS_FLAG, set_dir_flag, TGT_NONE, 0, 0, 0, 0, MOD_PROXY,
     "On or Off"},
    {"ProxyAddHeaders", CTX_ANY, ARGS_FLAG, set_dir_flag, TGT_NONE, 1, 0, 0, 0, MOD_PROXY,
     "On or Off"},
    {"ProxyTimeout", CTX_SRV_ANY, ARGS_TAKE1, set_proxy_timeout, NONE, 0, 0, 0, MOD_PROXY,
     "seconds"},
    {"ProxyVia", CTX_SRV_ANY, ARGS_TAKE1, set_proxy_via, NONE, 0, 0, 0, MOD_PROXY,
     "Off, On, Full or Block"},
    {"ProxyErrorOverride", CTX_ANY, ARGS_1MORE, set_error_override, NONE, 0, 0, 0, MOD_PROXY,
     "On|Off [status codes 400-599 ...]"},
    {"ProxyBadHeader", CTX_SRV_ANY, ARGS_TAKE1, set_bad_header, NONE, 0, 0, 0, MOD_PROXY,
     "IsError, Ignore or StartBody"},
    {"ProxyIOBufferSize", CTX_SRV_ANY, ARGS_TAKE1, set_io_buffer_size, NONE, 0, 0, 0, MOD_PROXY,
     "bytes (512 or more, 0 = 8192)"},
    {"ProxySet", CTX_ANY, ARGS_1MORE, set_proxy_param, NONE, 0, 0, 0, MOD_PROXY,
     "[url] key=value ... (url omitted inside <Proxy url>)"},
    {"BalancerMember", CTX_SRV_ANY | CTX_PROXY, ARGS_1MORE, add_member, NONE, 0, 0, 0, MOD_PROXY,
     "[balancer://name] url [key=value ...] (name omitted inside <Proxy balancer://name>)"},
    {"BalancerPersist", CTX_SRV_ANY, ARGS_FLAG, set_balancer_flag, NONE, 0, 0, 0, MOD_PROXY,
     "On or Off"},
    {"BalancerInherit", CTX_SRV_ANY, ARGS_FLAG, set_balancer_flag, TGT_NONE, 1, 0, 0, 0, MOD_PROXY,
     "On or Off"},
    {"BalancerGrowth", CTX_SRV_ANY, ARGS_TAKE1, set_balancer_growth, NONE, 0, 0, 0, MOD_PROXY,
     "number of balancers that may be added after start-up (0-1000)"},
    {"ProxyHCExpr", CTX_SRV_ANY, ARGS_1MORE, add_hcexpr, NONE, 0, 0, 0, MOD_PROXY_HCHECK,
     "name {expression}"},
    {"ProxyHCTemplate", CTX_SRV_ANY, ARGS_1MORE, add_hctemplate, NONE, 0, 0, 0, MOD_PROXY_HCHECK,
     "name key=value ..."},
};

const struct conf_table conf_table_proxy = {proxy_directives, ARRAY_LEN(proxy_directives)};

/* ---- post-parse ---- */

#define DEFAULT(field, v)                                                                          \
    do {                                                                                           \
        if (p->field == CONF_UNSET)                                                                \
            p->field = (v);                                                                        \
    } while (0)

/* Copies of list a followed by list b (b's own nodes are reused: only a is copied). */
static struct proxy_pass *concat_passes(struct conf_cmd *cmd, const struct proxy_pass *a,
                                        struct proxy_pass *b)
{
    struct proxy_pass *head = NULL, **tail = &head;
    for (; a != NULL; a = a->next) {
        struct proxy_pass *c = arena_alloc(cmd->arena, sizeof(*c));
        if (c == NULL)
            return b;
        *c = *a;
        c->next = NULL;
        *tail = c;
        tail = &c->next;
    }
    *tail = b;
    return head;
}

static struct proxy_reverse *concat_reverses(struct conf_cmd *cmd, const struct proxy_reverse *a,
                                             struct proxy_reverse *b)
{
    struct proxy_reverse *head = NULL, **tail = &head;
    for (; a != NULL; a = a->next) {
        struct proxy_reverse *c = arena_alloc(cmd->arena, sizeof(*c));
        if (c == NULL)
            return b;
        *c = *a;
        c->next = NULL;
        *tail = c;
        tail = &c->next;
    }
    *tail = b;
    return head;
}

/* ProxyPassReverse entries naming a balancer: resolve it (it may be defined after them). */
static void resolve_reverses(struct conf_cmd *cmd, struct proxy_reverse *r)
{
    for (; r != NULL; r = r->next) {
        if (!is_balancer_url(r->to))
            continue;
        r->balancer = proxy_balancer_find(cmd->conf, r->to);
        if (r->balancer == NULL)
            conf_error_at(cmd, r->file, r->line,
                          "ProxyPassReverse: %.*s is not defined (no BalancerMember names it)",
                          (int)(11 + strcspn(r->to + 11, "/")), r->to);
    }
}

/* Balancer checks and defaults, <Proxy balancer://> sections, member slots. */
static void finish_balancers(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    struct proxy_global_conf *g = c->proxy;
    const struct conf_server *servers[2] = {c->main, c->vhosts};
    for (int k = 0; k < 2; k++) {
        for (const struct conf_server *s = servers[k]; s != NULL; s = k ? s->next : NULL) {
            for (struct conf_dir *d = s->dirs; d != NULL; d = d->next) {
                if (d->kind != DIR_PROXY || !is_balancer_url(d->pattern) ||
                    has_wildcard(d->pattern))
                    continue;
                struct proxy_balancer *b = proxy_balancer_find(c, d->pattern);
                if (b == NULL) {
                    /* Nothing names it (a ProxyPass would have created it): harmless. */
                    conf_warn_at(cmd, d->file, d->line,
                                 "<Proxy %s>: the balancer has no members (add BalancerMember "
                                 "lines) and no ProxyPass uses it",
                                 d->pattern);
                    continue;
                }
                b->defined = 1;
                struct proxy_dir_conf *pd = dir_conf(cmd, d);
                if (pd != NULL)
                    pd->balancer = b;
            }
            if (s->proxy != NULL)
                resolve_reverses(cmd, s->proxy->reverses);
            for (struct conf_dir *d = s->dirs; d != NULL; d = d->next)
                if (d->proxy != NULL)
                    resolve_reverses(cmd, d->proxy->reverses);
        }
    }
    unsigned slot = 0, index = 0;
    for (struct proxy_balancer *b = g->balancers; b != NULL; b = b->next) {
        if (b->n_members == 0) {
            if (b->defined)
                conf_error_at(cmd, b->file, b->line,
                              "%s has no members (add BalancerMember lines inside <Proxy %s>)",
                              b->name, b->name);
            else
                conf_error_at(cmd, b->file, b->line,
                              "%s is not defined (no <Proxy %s> section with BalancerMember "
                              "lines)",
                              b->name, b->name);
        }
        if (b->lbmethod == NULL)
            b->lbmethod = "byrequests";
        if (b->scolonpathdelim == CONF_UNSET)
            b->scolonpathdelim = 0;
        if (b->nofailover == CONF_UNSET)
            b->nofailover = 0;
        if (b->failontimeout == CONF_UNSET)
            b->failontimeout = 0;
        if (b->forcerecovery == CONF_UNSET)
            b->forcerecovery = 1;
        if (b->timeout_ms == CONF_UNSET)
            b->timeout_ms = 0;
        if (b->growth == CONF_UNSET)
            b->growth = 0;
        /* httpd sets members - 1 at child init when unset and there are several members. */
        if (b->maxattempts == CONF_UNSET)
            b->maxattempts = b->n_members > 1 ? (int)b->n_members - 1 : 0;
        b->index = index++;
        b->slot_base = slot;
        for (struct proxy_member *m = b->members; m != NULL; m = m->next) {
            m->slot = slot++;
            if (m->hcexpr != NULL)
                m->hcexpr_def = hcexpr_lookup(c, m->hcexpr);
        }
        slot += (unsigned)b->growth;
    }
    g->n_balancers = index;
    g->n_member_slots = slot;
}

void conf_finish_proxy(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    tls_client_conf_finish(cmd); /* SSLProxy* inheritance, whatever else is configured */
    if (global_conf(cmd) == NULL)
        return;
    struct proxy_srv_conf *m = srv_conf(cmd, c->main);
    if (m == NULL)
        return;
    /* Before the vhosts copy the main server's ProxyPassReverse entries. */
    finish_balancers(cmd);
    /* vhosts first: an unset ProxyTimeout there falls back to the main server's only when
     * the main server set one, else to the vhost's own Timeout. */
    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        struct proxy_srv_conf *p = srv_conf(cmd, v);
        if (p == NULL)
            return;
        p->passes = concat_passes(cmd, m->passes, p->passes);
        p->reverses = concat_reverses(cmd, m->reverses, p->reverses);
        p->cookie_domains = concat_reverses(cmd, m->cookie_domains, p->cookie_domains);
        p->cookie_paths = concat_reverses(cmd, m->cookie_paths, p->cookie_paths);
        if (p->timeout_ms == CONF_UNSET)
            p->timeout_ms = m->timeout_ms != CONF_UNSET ? m->timeout_ms : v->timeout * 1000;
        if (p->error_override == CONF_UNSET) {
            p->error_override = m->error_override;
            p->n_error_override_codes = m->n_error_override_codes;
            memcpy(p->error_override_codes, m->error_override_codes,
                   sizeof(p->error_override_codes));
        }
        DEFAULT(preserve_host, m->preserve_host);
        DEFAULT(add_headers, m->add_headers);
        DEFAULT(via, m->via);
        DEFAULT(bad_header, m->bad_header);
        DEFAULT(io_buffer_size, m->io_buffer_size);
    }
    struct proxy_srv_conf *p = m;
    DEFAULT(timeout_ms, c->main->timeout * 1000);
    DEFAULT(preserve_host, 0);
    DEFAULT(add_headers, 1);
    DEFAULT(via, 0);
    DEFAULT(error_override, 0);
    DEFAULT(bad_header, 0);
    DEFAULT(io_buffer_size, 8192);
    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        p = v->proxy;
        DEFAULT(preserve_host, 0);
        DEFAULT(add_headers, 1);
        DEFAULT(via, 0);
        DEFAULT(error_override, 0);
        DEFAULT(bad_header, 0);
        DEFAULT(io_buffer_size, 8192);
    }
    for (struct proxy_worker *w = c->proxy->workers; w != NULL; w = w->next) {
        if (w->retry_ms == CONF_UNSET)
            w->retry_ms = 60000;
        if (w->keepalive == CONF_UNSET)
            w->keepalive = 0;
        if (w->max == CONF_UNSET || w->max == 0)
            w->max = 1; /* httpd: ThreadsPerChild, which is 1 under prefork */
        if (w->disablereuse == CONF_UNSET)
            w->disablereuse = 0;
        if (w->flushpackets == CONF_UNSET)
            w->flushpackets = 0;
        if (w->flushwait_ms == CONF_UNSET)
            w->flushwait_ms = 10;
    }
}

/* ---- portico -S ---- */

static void dump_ms(FILE *out, const char *key, int ms, const char *unset)
{
    if (ms == CONF_UNSET)
        fprintf(out, " %s=(%s)", key, unset);
    else if (ms % 1000 == 0)
        fprintf(out, " %s=%ds", key, ms / 1000);
    else
        fprintf(out, " %s=%dms", key, ms);
}

static void dump_passes(FILE *out, const struct conf_server *s)
{
    const struct proxy_srv_conf *p = s->proxy;
    /* One-argument ProxyPass lines in <Location>s are tried before the list. */
    for (const struct conf_dir *d = s->dirs; d != NULL; d = d->next)
        if (d->proxy != NULL && d->proxy->pass != NULL)
            fprintf(out, "    <Location%s %s> ProxyPass %s%s (%s:%d)\n",
                    d->kind == DIR_LOCATIONMATCH ? "Match" : "", d->pattern,
                    d->proxy->pass->exclude ? "!" : d->proxy->pass->url,
                    d->proxy->pass->nocanon ? " nocanon" : "", d->proxy->pass->file,
                    d->proxy->pass->line);
    if (p == NULL)
        return;
    for (const struct proxy_pass *e = p->passes; e != NULL; e = e->next)
        fprintf(out, "    ProxyPass%s %s %s%s (%s:%d)\n", e->regex ? "Match" : "", e->path,
                e->exclude ? "!" : e->url, e->nocanon ? " nocanon" : "", e->file, e->line);
    for (const struct proxy_reverse *r = p->reverses; r != NULL; r = r->next)
        fprintf(out, "    ProxyPassReverse %s %s (%s:%d)\n", r->from, r->to, r->file, r->line);
    static const char *const via[] = {"Off", "On", "Full", "Block"};
    static const char *const bad[] = {"IsError", "Ignore", "StartBody"};
    fprintf(out,
            "    ProxyTimeout %ds, ProxyPreserveHost %s, ProxyAddHeaders %s, ProxyVia %s, "
            "ProxyErrorOverride %s",
            p->timeout_ms / 1000, p->preserve_host == 1 ? "On" : "Off",
            p->add_headers == 0 ? "Off" : "On", (unsigned)p->via < 4 ? via[p->via] : "?",
            p->error_override == 1 ? "On" : "Off");
    for (int i = 0; i < p->n_error_override_codes; i++)
        fprintf(out, " %d", p->error_override_codes[i]);
    fprintf(out, ", ProxyBadHeader %s, ProxyIOBufferSize %d\n",
            (unsigned)p->bad_header < 3 ? bad[p->bad_header] : "?", p->io_buffer_size);
}

static void dump_status(FILE *out, unsigned st)
{
    static const struct {
        unsigned flag;
        char letter;
    } flags[] = {
        {MEMBER_IGNORE, 'I'}, {MEMBER_DRAIN, 'N'},   {MEMBER_DISABLED, 'D'}, {MEMBER_STOPPED, 'S'},
        {MEMBER_ERROR, 'E'},  {MEMBER_STANDBY, 'H'}, {MEMBER_SPARE, 'R'},    {MEMBER_HCFAIL, 'C'},
    };
    fprintf(out, " status=");
    if (st == 0)
        fprintf(out, "-");
    for (size_t i = 0; i < ARRAY_LEN(flags); i++)
        if (st & flags[i].flag)
            fprintf(out, "+%c", flags[i].letter);
}

static void dump_balancers(const struct conf *c, FILE *out)
{
    const struct proxy_global_conf *g = c->proxy;
    if (g->balancers == NULL)
        return;
    fprintf(out,
            "Balancers (%u, %u member slots; BalancerPersist %s, BalancerInherit %s, "
            "BalancerGrowth %d):\n",
            g->n_balancers, g->n_member_slots, g->balancer_persist ? "On" : "Off",
            g->balancer_inherit ? "On" : "Off", g->balancer_growth);
    for (const struct proxy_balancer *b = g->balancers; b != NULL; b = b->next) {
        fprintf(out, "  #%u %s lbmethod=%s", b->index, b->name, b->lbmethod);
        if (b->sticky != NULL)
            fprintf(out, " stickysession=%s (cookie %s, param %s)", b->sticky, b->sticky_cookie,
                    b->sticky_param);
        if (b->sticky_sep)
            fprintf(out, " stickysessionsep=%c", b->sticky_sep);
        else
            fprintf(out, " stickysessionsep=Off");
        fprintf(out, " scolonpathdelim=%s nofailover=%s maxattempts=%d",
                b->scolonpathdelim == 1 ? "On" : "Off", b->nofailover == 1 ? "On" : "Off",
                b->maxattempts);
        dump_ms(out, "timeout", b->timeout_ms, "0");
        if (b->n_failonstatus > 0) {
            fprintf(out, " failonstatus=");
            for (int i = 0; i < b->n_failonstatus; i++)
                fprintf(out, "%s%d", i ? "," : "", b->failonstatus[i]);
        }
        fprintf(out, " failontimeout=%s forcerecovery=%s growth=%d slots=%u..%u",
                b->failontimeout == 1 ? "On" : "Off", b->forcerecovery == 0 ? "Off" : "On",
                b->growth, b->slot_base,
                b->slot_base + b->n_members + (unsigned)(b->growth > 0 ? b->growth : 0) - 1);
        if (b->nonce != NULL)
            fprintf(out, " nonce=%s", b->nonce[0] ? "(set)" : "None");
        fprintf(out, " (%s:%d)\n", b->file, b->line);
        for (const struct proxy_member *m = b->members; m != NULL; m = m->next) {
            fprintf(out, "    slot %u: %s worker #%u route=%s", m->slot, m->worker->name,
                    m->worker->index, m->route[0] ? m->route : "-");
            if (m->redirect[0])
                fprintf(out, " redirect=%s", m->redirect);
            fprintf(out, " loadfactor=%d.%02d lbset=%d", m->lbfactor / 100, m->lbfactor % 100,
                    m->lbset);
            dump_status(out, m->status);
            if (m->hcmethod != NULL) {
                fprintf(out, " hcmethod=%s", m->hcmethod);
                if (m->hcuri != NULL)
                    fprintf(out, " hcuri=%s", m->hcuri);
                dump_ms(out, "hcinterval", m->hcinterval_ms, "30s");
                fprintf(out, " hcpasses=%d hcfails=%d", m->hcpasses, m->hcfails);
                if (m->hcexpr != NULL)
                    fprintf(out, " hcexpr=%s", m->hcexpr);
            }
            fprintf(out, " (%s:%d)\n", m->file, m->line);
        }
    }
    for (const struct proxy_hcexpr *e = g->hcexprs; e != NULL; e = e->next)
        fprintf(out, "  ProxyHCExpr %s {%s} (%s:%d)\n", e->name, e->expr, e->file, e->line);
    for (const struct proxy_hctemplate *t = g->hctemplates; t != NULL; t = t->next) {
        fprintf(out, "  ProxyHCTemplate %s hcmethod=%s", t->name,
                t->hcmethod ? t->hcmethod : "NONE");
        if (t->hcuri != NULL)
            fprintf(out, " hcuri=%s", t->hcuri);
        dump_ms(out, "hcinterval", t->hcinterval_ms, "30s");
        fprintf(out, " hcpasses=%d hcfails=%d", t->hcpasses, t->hcfails);
        if (t->hcexpr != NULL)
            fprintf(out, " hcexpr=%s", t->hcexpr);
        fprintf(out, " (%s:%d)\n", t->file, t->line);
    }
}

void proxy_conf_dump(const struct conf *c, FILE *out)
{
    fprintf(out, "Proxy workers:\n");
    if (c->proxy != NULL) {
        for (const struct proxy_worker *w = c->proxy->workers; w != NULL; w = w->next) {
            fprintf(out, "  #%u %s (Host: %s)", w->index, w->name, w->hostport);
            dump_ms(out, "timeout", w->timeout_ms, "ProxyTimeout");
            dump_ms(out, "connectiontimeout", w->connect_timeout_ms, "timeout");
            dump_ms(out, "retry", w->retry_ms, "60s");
            dump_ms(out, "ttl", w->ttl_ms, "none");
            fprintf(out, " max=%d keepalive=%s disablereuse=%s", w->max,
                    w->keepalive == 1 ? "On" : "Off", w->disablereuse == 1 ? "On" : "Off");
            if (w->upgrade != NULL)
                fprintf(out, " upgrade=%s", w->upgrade);
            if (w->member != NULL)
                fprintf(out, " [member of %s]", w->member->balancer->name);
            fprintf(out, " (%s:%d)\n", w->file, w->line);
        }
        dump_balancers(c, out);
    }
    fprintf(out, "Proxy routes (in match order):\n");
    fprintf(out, "  main server %s:\n", c->main->server_name ? c->main->server_name : "");
    dump_passes(out, c->main);
    for (const struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        fprintf(out, "  vhost %s (%s:%d):\n", v->server_name ? v->server_name : "", v->file,
                v->line);
        dump_passes(out, v);
    }
}
