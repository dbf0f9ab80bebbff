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

static const char *const balancer_keys[] = {
    "lbmethod",      "stickysession", "maxattempts", "nofailover", "failonstatus",
    "failontimeout", "forcerecovery", "nonce",       "growth",     "scolonpathdelim",
    "lbset",         "loadfactor",    "route",       "redirect",   "status",
    "hcmethod",      "hcinterval",    "hcpasses",    "hcfails",    "hcuri",
    "hcexpr",        "hctemplate",
};

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
    if (cmd->conf->proxy == NULL)
        cmd->conf->proxy = arena_calloc(cmd->arena, 1, sizeof(*cmd->conf->proxy));
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
        return "balancer:// arrives with the load-balancing issue";
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

static const char *worker_get(struct conf_cmd *cmd, const struct url_parts *u, int create,
                              struct proxy_worker **out, int *created)
{
    *created = 0;
    *out = find_worker(cmd->conf, u);
    if (*out != NULL || !create)
        return NULL;
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
    *created = 1;
    return NULL;
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
    } else if (in_list(key, balancer_keys, ARRAY_LEN(balancer_keys))) {
        return conf_errf(cmd,
                         "%s= is a balancer or balancer-member parameter, not valid for a "
                         "single backend URL (balancer:// arrives with the load-balancing "
                         "issue)",
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
    if (util_strncaseeq(url, "balancer://", 11))
        return "balancer:// arrives with the load-balancing issue";
    struct proxy_reverse **head = reverse_list(cmd, 0);
    if (head == NULL)
        return "out of memory";
    return append_reverse(cmd, head, path, url);
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

void conf_finish_proxy(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    if (global_conf(cmd) == NULL)
        return;
    struct proxy_srv_conf *m = srv_conf(cmd, c->main);
    if (m == NULL)
        return;
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
            fprintf(out, " (%s:%d)\n", w->file, w->line);
        }
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
