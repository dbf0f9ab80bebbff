/* ProxyPassReverse and the cookie maps (see proxy_reverse.h). Pure: no I/O, arena only. */
#include "proxy_reverse.h"

#include <string.h>

#include "arena.h"
#include "util.h"

void proxy_front_init(struct proxy_front *f, const struct request *r)
{
    memset(f, 0, sizeof(*f));
    f->srv = r->srv;
    f->host = r->h.host;
    if (r->c != NULL) {
        f->local_port = r->c->local_port;
        if (r->c->listener != NULL && r->c->listener->protocol != NULL &&
            strcmp(r->c->listener->protocol, "https") == 0)
            f->scheme = "https";
    }
    /* As httpd's ap_http_scheme(): TLS, else the scheme of ServerName, else http. */
    if (f->scheme == NULL)
        f->scheme = r->srv && r->srv->server_scheme ? r->srv->server_scheme : "http";
}

char *proxy_front_url(struct arena *a, const struct proxy_front *f, const char *path)
{
    const char *host = NULL;
    size_t hlen = 0;
    int port = 0;
    int canonical = f->srv != NULL && f->srv->use_canonical_name == 1;
    if (!canonical && f->host != NULL && f->host[0] != '\0') {
        const char *h = f->host;
        const char *end = h[0] == '[' ? strchr(h, ']') : NULL;
        const char *colon = end ? (end[1] == ':' ? end + 1 : NULL) : strrchr(h, ':');
        host = h;
        hlen = colon ? (size_t)(colon - h) : strlen(h);
        long long v;
        if (colon != NULL && util_parse_ll(colon + 1, 1, 65535, &v) == 0)
            port = (int)v;
        /* A Host without a port gives a URL without one: what Debian's apache2 2.4.71
         * answers (checked live), whatever the listening port. */
    } else {
        host = f->srv && f->srv->server_name ? f->srv->server_name : "localhost";
        hlen = strlen(host);
        port = f->srv && f->srv->server_port ? f->srv->server_port : f->local_port;
    }
    int https = strcmp(f->scheme, "https") == 0;
    int dflt = port == 0 || port == (https ? 443 : 80);
    int v6 = host[0] != '[' && memchr(host, ':', hlen) != NULL;
    if (dflt)
        return arena_printf(a, "%s://%s%.*s%s%s", f->scheme, v6 ? "[" : "", (int)hlen, host,
                            v6 ? "]" : "", path);
    return arena_printf(a, "%s://%s%.*s%s:%d%s", f->scheme, v6 ? "[" : "", (int)hlen, host,
                        v6 ? "]" : "", port, path);
}

/* httpd's ap_is_url(): "scheme:" at the start. */
static int is_url(const char *u)
{
    const char *p = u;
    if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
        return 0;
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
           *p == '+' || *p == '-' || *p == '.')
        p++;
    return *p == ':';
}

static const char *finish_url(struct arena *a, const struct proxy_front *f, char *u)
{
    if (u == NULL || is_url(u))
        return u;
    return proxy_front_url(a, f, u);
}

/* ProxyPassReverse path balancer://name[/urlpart]: a value starting with ANY member's URL
 * (case-insensitive; its trailing '/' dropped when there is a urlpart) followed by urlpart
 * (exact) maps to path + the rest, as httpd's ap_proxy_location_reverse_map. Unlike httpd,
 * the member URL must end at a boundary ('/', '?', '#' or the end), so member
 * "http://b:80" does not claim "http://b:8080/x". */
static const char *map_balancer(struct arena *a, const struct proxy_reverse *e,
                                const struct proxy_front *f, const char *value)
{
    size_t l1 = strlen(value);
    const char *urlpart = e->balancer_path;
    size_t l3 = urlpart ? strlen(urlpart) : 0;
    for (const struct proxy_member *m = e->balancer->members; m != NULL; m = m->next) {
        const char *name = m->worker->name;
        size_t l2 = strlen(name);
        if (l2 == 0)
            continue;
        if (urlpart != NULL && name[l2 - 1] == '/')
            l2--;
        if (l1 < l2 + l3 || !util_strncaseeq(name, value, l2))
            continue;
        if (name[l2 - 1] != '/' && value[l2] != '\0' && strchr("/?#", value[l2]) == NULL)
            continue;
        if (urlpart != NULL) {
            if (strncmp(urlpart, value + l2, l3) != 0)
                continue;
            return finish_url(a, f, arena_printf(a, "%s%s", e->from, value + l2 + l3));
        }
        /* path "/" and a rest starting with '/': no double slash (httpd) */
        if (strcmp(e->from, "/") == 0 && value[l2] == '/')
            return finish_url(a, f, arena_strdup(a, value + l2));
        return finish_url(a, f, arena_printf(a, "%s%s", e->from, value + l2));
    }
    return NULL;
}

static const char *map_one(struct arena *a, const struct proxy_reverse *e,
                           const struct proxy_front *f, const char *value)
{
    if (e->balancer != NULL)
        return map_balancer(a, e, f, value);
    const char *part = value;
    if (e->to[0] == '/') {
        /* A path-only URL compares against the path of an absolute value. */
        const char *s = strstr(value, "://");
        const char *slash = s ? strchr(s + 3, '/') : NULL;
        if (slash != NULL)
            part = slash;
    }
    size_t l2 = strlen(e->to);
    if (l2 == 0 || strlen(part) < l2 || !util_strncaseeq(e->to, part, l2))
        return NULL;
    return finish_url(a, f, arena_printf(a, "%s%s", e->from, part + l2));
}

const char *proxy_reverse_location(struct arena *a, const struct conf_server *srv,
                                   const struct route_decision *d, const struct proxy_front *f,
                                   const char *value)
{
    if (value == NULL)
        return NULL;
    if (srv != NULL && srv->proxy != NULL) {
        for (const struct proxy_reverse *e = srv->proxy->reverses; e != NULL; e = e->next) {
            const char *m = map_one(a, e, f, value);
            if (m != NULL)
                return m;
        }
    }
    for (int i = 0; d != NULL && i < d->n_sections; i++) {
        const struct proxy_dir_conf *pd = d->sections[i]->proxy;
        for (const struct proxy_reverse *e = pd ? pd->reverses : NULL; e != NULL; e = e->next) {
            const char *m = map_one(a, e, f, value);
            if (m != NULL)
                return m;
        }
    }
    return value;
}

/* First entry (server list, then the sections') whose backend value prefixes v. */
static const char *cookie_lookup(const struct conf_server *srv, const struct route_decision *d,
                                 int domain, const char *v, size_t vl)
{
    const struct proxy_reverse *lists[ROUTE_MAX_SECTIONS + 1];
    int n = 0;
    if (srv != NULL && srv->proxy != NULL)
        lists[n++] = domain ? srv->proxy->cookie_domains : srv->proxy->cookie_paths;
    for (int i = 0; d != NULL && i < d->n_sections; i++) {
        const struct proxy_dir_conf *pd = d->sections[i]->proxy;
        if (pd != NULL)
            lists[n++] = domain ? pd->cookie_domains : pd->cookie_paths;
    }
    for (int k = 0; k < n; k++) {
        for (const struct proxy_reverse *e = lists[k]; e != NULL; e = e->next) {
            size_t l = strlen(e->from);
            if (vl >= l && (domain ? util_strncaseeq(e->from, v, l) : strncmp(e->from, v, l) == 0))
                return e->to;
        }
    }
    return NULL;
}

const char *proxy_reverse_cookie(struct arena *a, const struct conf_server *srv,
                                 const struct route_decision *d, const char *value)
{
    if (value == NULL)
        return NULL;
    size_t vlen = strlen(value);
    /* Each replacement may grow the value; size the output in a first pass. */
    size_t cap = vlen + 1;
    for (int pass = 0; pass < 2; pass++) {
        char *out = pass ? arena_alloc(a, cap) : NULL;
        size_t o = 0;
        int changed = 0;
        if (pass && out == NULL)
            return value;
        const char *s = value;
        while (*s != '\0') {
            const char *seg_end = strchr(s, ';');
            if (seg_end == NULL)
                seg_end = s + strlen(s);
            const char *t = s;
            while (t < seg_end && *t == ' ')
                t++;
            const char *attr_v = NULL, *rep = NULL;
            if ((size_t)(seg_end - t) >= 5 && util_strncaseeq(t, "path=", 5)) {
                attr_v = t + 5;
                rep = cookie_lookup(srv, d, 0, attr_v, (size_t)(seg_end - attr_v));
            } else if ((size_t)(seg_end - t) >= 7 && util_strncaseeq(t, "domain=", 7)) {
                attr_v = t + 7;
                rep = cookie_lookup(srv, d, 1, attr_v, (size_t)(seg_end - attr_v));
            }
            size_t keep = rep ? (size_t)(attr_v - s) : (size_t)(seg_end - s);
            if (pass)
                memcpy(out + o, s, keep);
            o += keep;
            if (rep != NULL) {
                size_t rl = strlen(rep);
                if (pass)
                    memcpy(out + o, rep, rl);
                o += rl;
                changed = 1;
            }
            s = seg_end;
            if (*s == ';') {
                if (pass)
                    out[o] = ';';
                o++;
                s++;
            }
        }
        if (!changed)
            return value;
        if (pass) {
            out[o] = '\0';
            return out;
        }
        cap = o + 1;
    }
    return value;
}
