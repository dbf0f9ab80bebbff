/* The routing decision (ARCHITECTURE.md steps 7-9), pure: ProxyPass/ProxyPassMatch in
 * httpd's order, the sections that apply, and access control.
 *
 * httpd's order (mod_proxy proxy_trans, checked live on 2.4.71): the one-argument ProxyPass
 * of the most specific matching <Location> first, then the server's list (the main
 * server's entries, then the vhost's) in config order; the first match wins and a
 * matching "!" stops the search. Matching uses the decoded path, as httpd's r->uri.
 * Portico additionally tests "!" entries and access rules against the path with
 * ";parameters" removed from every segment, so "/admin;x=1" cannot slip past an exclusion
 * or a Require that a servlet backend would route to "/admin". */
#include "route.h"

#include <fnmatch.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "acl.h"
#include "arena.h"
#include "env.h"
#include "rewrite.h"
#include "uri_norm.h"
#include "util.h"

#define MAX_GROUPS 10

/* Per-call state: PCRE2 allocates from the request arena (no malloc per request). */
struct rctx {
    struct arena *a;
    pcre2_general_context *gctx;
    pcre2_match_context *mctx;
    pcre2_match_data *md;
    const struct conf_server *servers[2]; /* main, then the vhost (if any) */
    int n_servers;
};

static void *arena_malloc_cb(PCRE2_SIZE n, void *data)
{
    return arena_alloc(data, n);
}

static void arena_free_cb(void *p, void *data)
{
    (void)p;
    (void)data;
}

static int rctx_init(struct rctx *x, struct arena *a)
{
    x->a = a;
    x->gctx = pcre2_general_context_create(arena_malloc_cb, arena_free_cb, a);
    if (x->gctx == NULL)
        return -1;
    x->mctx = pcre2_match_context_create(x->gctx);
    x->md = pcre2_match_data_create(MAX_GROUPS, x->gctx);
    return x->mctx && x->md ? 0 : -1;
}

/* Returns 1 on a match, ovector in x->md. */
static int re_match(struct rctx *x, const void *re, const char *s)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, x->md, x->mctx);
    return rc >= 0;
}

/* httpd's alias_match(): a '/' in the alias matches one or more '/' in the path, other
 * bytes compare exactly; the path must not end inside the alias, and an alias not
 * ending in '/' must stop at a segment boundary. Returns the matched length or 0. */
static size_t alias_match(const char *uri, const char *alias)
{
    const char *ap = alias, *up = uri;
    const char *aend = alias + strlen(alias), *uend = uri + strlen(uri);
    if (ap == aend)
        return 0;
    while (ap < aend && up < uend) {
        if (*ap == '/') {
            if (*up != '/')
                return 0;
            while (*ap == '/')
                ++ap;
            while (*up == '/')
                ++up;
        } else if (*up++ != *ap++) {
            return 0;
        }
    }
    if (up == uend && ap != aend)
        return 0;
    if (ap[-1] != '/' && *up != '\0' && *up != '/')
        return 0;
    return (size_t)(up - uri);
}

/* ---- sections ---- */

static int location_matches(struct rctx *x, const struct conf_dir *d, const char *path)
{
    if (d->kind == DIR_LOCATIONMATCH)
        return re_match(x, d->regex, path);
    const char *pat = d->pattern;
    if (strpbrk(pat, "*?[") != NULL)
        return fnmatch(pat, path, FNM_PATHNAME) == 0;
    size_t n = strlen(pat);
    /* httpd's location_walk: a prefix that ends at a segment boundary. */
    return strncmp(pat, path, n) == 0 &&
           (n == 0 || pat[n - 1] == '/' || path[n] == '/' || path[n] == '\0');
}

static int proxy_section_matches(struct rctx *x, const struct conf_dir *d, const char *name)
{
    if (d->kind == DIR_PROXYMATCH)
        return re_match(x, d->regex, name);
    if (strpbrk(d->pattern, "*?[") != NULL)
        return fnmatch(d->pattern, name, 0) == 0;
    if (util_strncaseeq(d->pattern, "balancer://", 11) &&
        util_strncaseeq(name, "balancer://", 11)) {
        /* Balancer names are case-insensitive (httpd lower-cases them), so
         * <Proxy balancer://MyCluster> guards ProxyPass ... balancer://mycluster/; the path
         * part compares exactly, and a <Proxy> without one covers the whole balancer. */
        const char *pn = d->pattern + 11, *nn = name + 11;
        size_t pl = strcspn(pn, "/"), nl = strcspn(nn, "/");
        if (pl != nl || !util_strncaseeq(pn, nn, pl))
            return 0;
        return strncmp(pn + pl, nn + nl, strlen(pn + pl)) == 0;
    }
    return strncmp(d->pattern, name, strlen(d->pattern)) == 0;
}

static size_t dir_pattern_len(const char *pat)
{
    size_t n = strlen(pat);
    while (n > 1 && pat[n - 1] == '/')
        n--;
    return n;
}

/* <Directory> against a file name: the directory itself or anything below it; wildcard
 * patterns are tried against every directory prefix of the name. */
static int directory_matches(struct rctx *x, const struct conf_dir *d, const char *fname)
{
    if (d->kind == DIR_DIRECTORYMATCH) {
        /* httpd tests each directory walked ("/a/", "/a/b/"): try every prefix. */
        size_t n = strlen(fname);
        char *buf = arena_alloc(x->a, n + 2);
        if (buf == NULL)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if (fname[i] != '/' && fname[i] != '\0')
                continue;
            memcpy(buf, fname, i);
            buf[i] = '/';
            buf[i + 1] = '\0';
            if (re_match(x, d->regex, buf))
                return 1;
        }
        return 0;
    }
    const char *pat = d->pattern;
    if (strpbrk(pat, "*?[") != NULL) {
        size_t n = strlen(fname);
        char *buf = arena_alloc(x->a, n + 1);
        char *p2 = arena_strndup(x->a, pat, dir_pattern_len(pat));
        if (buf == NULL || p2 == NULL)
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if (fname[i] != '/' && fname[i] != '\0')
                continue;
            memcpy(buf, fname, i);
            buf[i] = '\0';
            if (fnmatch(p2, buf, FNM_PATHNAME) == 0)
                return 1;
        }
        return 0;
    }
    size_t n = dir_pattern_len(pat);
    if (n == 1 && pat[0] == '/')
        return fname[0] == '/';
    return strncmp(pat, fname, n) == 0 && (fname[n] == '/' || fname[n] == '\0');
}

static int files_matches(struct rctx *x, const struct conf_dir *d, const char *fname)
{
    const char *base = strrchr(fname, '/');
    base = base ? base + 1 : fname;
    if (d->kind == DIR_FILESMATCH)
        return re_match(x, d->regex, base);
    return fnmatch(d->pattern, base, 0) == 0;
}

static int components(const char *p)
{
    int n = 0;
    for (; *p; p++)
        n += *p == '/';
    return n;
}

struct seclist {
    const struct conf_dir *s[ROUTE_MAX_SECTIONS];
    int n;
    int overflow;
};

static void sec_add(struct seclist *l, const struct conf_dir *d)
{
    if (l->n < ROUTE_MAX_SECTIONS)
        l->s[l->n++] = d;
    else
        l->overflow = 1;
}

static int sec_has(const struct seclist *l, const struct conf_dir *d)
{
    for (int i = 0; i < l->n; i++)
        if (l->s[i] == d)
            return 1;
    return 0;
}

/* Merge order as httpd: <Proxy>/<ProxyMatch> (proxied) or <Directory> by depth, then
 * <DirectoryMatch>, then <Files>/<FilesMatch> (local); then <Location>/<LocationMatch>.
 * Within a group: the main server's sections, then the vhost's, in config order. */
static void collect(struct rctx *x, struct seclist *l, const char *path, const char *proxy_name,
                    const char *fname)
{
    memset(l, 0, sizeof(*l));
    if (proxy_name != NULL) {
        for (int s = 0; s < x->n_servers; s++)
            for (const struct conf_dir *d = x->servers[s]->dirs; d != NULL; d = d->next)
                if ((d->kind == DIR_PROXY || d->kind == DIR_PROXYMATCH) &&
                    proxy_section_matches(x, d, proxy_name))
                    sec_add(l, d);
    } else if (fname != NULL) {
        /* <Directory> (not regex), shortest first, stable. */
        int start = l->n;
        for (int s = 0; s < x->n_servers; s++)
            for (const struct conf_dir *d = x->servers[s]->dirs; d != NULL; d = d->next)
                if (d->kind == DIR_DIRECTORY && directory_matches(x, d, fname))
                    sec_add(l, d);
        for (int i = start + 1; i < l->n; i++) {
            const struct conf_dir *k = l->s[i];
            int kc = components(k->pattern);
            int j = i - 1;
            for (; j >= start && components(l->s[j]->pattern) > kc; j--)
                l->s[j + 1] = l->s[j];
            l->s[j + 1] = k;
        }
        for (int s = 0; s < x->n_servers; s++)
            for (const struct conf_dir *d = x->servers[s]->dirs; d != NULL; d = d->next)
                if (d->kind == DIR_DIRECTORYMATCH && directory_matches(x, d, fname))
                    sec_add(l, d);
        for (int s = 0; s < x->n_servers; s++)
            for (const struct conf_dir *d = x->servers[s]->dirs; d != NULL; d = d->next)
                if ((d->kind == DIR_FILES || d->kind == DIR_FILESMATCH) &&
                    (d->parent == NULL || sec_has(l, d->parent)) && files_matches(x, d, fname))
                    sec_add(l, d);
    }
    for (int s = 0; s < x->n_servers; s++)
        for (const struct conf_dir *d = x->servers[s]->dirs; d != NULL; d = d->next)
            if ((d->kind == DIR_LOCATION || d->kind == DIR_LOCATIONMATCH) &&
                location_matches(x, d, path))
                sec_add(l, d);
}

const struct conf_dir *route_last_section_with(const struct route_decision *d, size_t field_offset)
{
    for (int i = d->n_sections - 1; i >= 0; i--) {
        const struct conf_dir *s = d->sections[i];
        void *const *field = (void *const *)(const void *)((const char *)s + field_offset);
        if (*field != NULL)
            return s;
    }
    return NULL;
}

int route_error_override(const struct route_decision *d, int status)
{
    if (!d->error_override || status < 400 || status > 599)
        return 0;
    if (d->n_error_override_codes == 0)
        return 1;
    for (int i = 0; i < d->n_error_override_codes; i++)
        if (d->error_override_codes[i] == status)
            return 1;
    return 0;
}

/* ---- ProxyPass matching and the backend URL ---- */

/* The one-argument ProxyPass of the last matching <Location> (most specific in merge
 * order), as httpd merges the per-directory alias. */
static const struct proxy_pass *location_pass(struct rctx *x, const char *path)
{
    const struct proxy_pass *p = NULL;
    for (int s = 0; s < x->n_servers; s++)
        for (const struct conf_dir *d = x->servers[s]->dirs; d != NULL; d = d->next)
            if ((d->kind == DIR_LOCATION || d->kind == DIR_LOCATIONMATCH) && d->proxy != NULL &&
                d->proxy->pass != NULL && location_matches(x, d, path))
                p = d->proxy->pass;
    return p;
}

/* 1 when p matches path; *len is the matched length of a prefix entry. */
static int pass_matches(struct rctx *x, const struct proxy_pass *p, const char *path, size_t *len)
{
    if (p->regex != NULL)
        return re_match(x, p->regex, path);
    *len = alias_match(path, p->path);
    return *len > 0;
}

/* httpd's ap_pregsub: $0..$9 from the last match on subject, "\c" for a literal c. */
static char *substitute(struct rctx *x, const char *tmpl, const char *subject)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
    uint32_t n = pcre2_get_ovector_count(x->md);
    size_t cap = 0;
    for (int pass = 0; pass < 2; pass++) {
        char *out = pass ? arena_alloc(x->a, cap + 1) : NULL;
        size_t o = 0;
        if (pass && out == NULL)
            return NULL;
        for (const char *s = tmpl; *s; s++) {
            if (*s == '$' && s[1] >= '0' && s[1] <= '9') {
                uint32_t g = (uint32_t)(s[1] - '0');
                s++;
                if (g >= n || ov[2 * g] == PCRE2_UNSET)
                    continue;
                size_t gl = ov[2 * g + 1] - ov[2 * g];
                if (pass)
                    memcpy(out + o, subject + ov[2 * g], gl);
                o += gl;
                continue;
            }
            if (*s == '\\' && s[1] != '\0')
                s++;
            if (pass)
                out[o] = *s;
            o++;
        }
        if (pass) {
            out[o] = '\0';
            return out;
        }
        cap = o;
    }
    return NULL;
}

/* Characters httpd's ap_proxy_canonenc() leaves alone in a path (enc_path). */
static int canon_keep(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("~$-_.+!*'(),;:@&=/", c) != NULL);
}

/* Re-encodes a decoded path as mod_proxy_http does: every byte outside canon_keep() as
 * %XX with upper-case hex (so a literal '%' becomes %25 and '?' %3F). */
static char *canon_path(struct arena *a, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        n += canon_keep(*p) ? 1 : 3;
    char *out = arena_alloc(a, n + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (canon_keep(*p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

/* Raw query or nocanon path bytes httpd refuses with 403 (not VCHAR / obs-text). */
static int has_ctl(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p && *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* Length of "scheme://authority" at the start of a ProxyPass URL. */
static size_t authority_len(const char *url, int regex)
{
    const char *sep = strstr(url, "://");
    if (sep == NULL)
        return 0;
    return (size_t)(sep + 3 - url) + strcspn(sep + 3, regex ? "/$" : "/");
}

/* Builds d->url/backend_target/proxy_name for a matched entry. Returns 0, or an HTTP
 * status for the request. */
static int build_target(struct rctx *x, struct request *r, const struct proxy_pass *p,
                        const char *dpath, size_t len, int raw_ok, struct route_decision *d)
{
    const char *query = r->h.query;
    const char *raw = r->h.path ? r->h.path : dpath;
    size_t alen = authority_len(p->url, p->regex != NULL);
    const char *found = NULL; /* p->url with the request's part, before encoding */
    int use_raw = 0;
    /* After a RewriteRule [PT] the client's bytes are not the path that matched: httpd
     * would send the old path's tail when the lengths agree, past the rule and the access
     * checks made on the new one. */
    if (p->nocanon && raw_ok) {
        /* httpd uses the client's bytes only when the raw path matches the same way
         * ("ignoring unsafe nocanon" otherwise). */
        if (p->regex != NULL) {
            if (re_match(x, p->regex, raw)) {
                found = substitute(x, p->url, raw);
                if (found != NULL && strcmp(found, p->url) == 0)
                    found = arena_printf(x->a, "%s%s", p->url, raw);
                use_raw = 1;
            }
        } else if (alias_match(raw, p->path) == len && strncmp(raw, dpath, len) == 0) {
            found = arena_printf(x->a, "%s%s", p->url, raw + len);
            use_raw = 1;
        }
        if (use_raw && has_ctl(found))
            return 403;
    }
    if (!use_raw) {
        if (p->regex != NULL) {
            if (!re_match(x, p->regex, dpath))
                return 500;
            found = substitute(x, p->url, dpath);
            if (found != NULL && strcmp(found, p->url) == 0)
                found = arena_printf(x->a, "%s%s", p->url, dpath);
        } else {
            found = arena_printf(x->a, "%s%s", p->url, dpath + len);
        }
    }
    if (found == NULL)
        return 500;
    d->proxy_name = found;
    const char *fpath = found + alen;
    if (fpath[0] != '\0' && fpath[0] != '/') {
        /* "ProxyPass /a/ http://b" + "/a/x" -> "http://bx": httpd would look up host
         * "bx"; the backend portico resolved at load cannot serve it. */
        d->why = arena_printf(x->a, "ProxyPass%s %s at %s:%d: '%s' glues the path to the host",
                              p->regex ? "Match" : "", p->path, p->file, p->line, found);
        return 502;
    }
    char *path = use_raw ? (char *)fpath : canon_path(x->a, fpath);
    if (path == NULL)
        return 500;
    if (path[0] == '\0')
        path = "/";
    if (query != NULL && has_ctl(query))
        return 403;
    d->backend_target = query ? arena_printf(x->a, "%s?%s", path, query) : arena_strdup(x->a, path);
    if (p->balancer != NULL)
        d->url = arena_printf(x->a, "%s%s", p->balancer->name,
                              d->backend_target ? d->backend_target : "");
    else
        d->url = arena_printf(x->a, "%s://%s%s", p->worker->scheme, p->worker->hostport,
                              d->backend_target ? d->backend_target : "");
    return d->url && d->backend_target ? 0 : 500;
}

/* The backend names a ;parameter-stripped request reaches, for the <Proxy> access check:
 * the entry's mapping of the stripped path (as build_target() maps the path) and the
 * stripped form of the name itself (what a servlet backend resolves "..;" and ";x" to,
 * also when the stripped path no longer matches the entry). Either may be NULL. */
static void stripped_proxy_names(struct rctx *x, const struct proxy_pass *p, const char *spath,
                                 const char *pname, const char *out[2])
{
    out[0] = out[1] = NULL;
    if (p->regex != NULL) {
        if (re_match(x, p->regex, spath)) {
            out[0] = substitute(x, p->url, spath);
            if (out[0] != NULL && strcmp(out[0], p->url) == 0)
                out[0] = arena_printf(x->a, "%s%s", p->url, spath);
        }
    } else {
        size_t slen = alias_match(spath, p->path);
        if (slen > 0)
            out[0] = arena_printf(x->a, "%s%s", p->url, spath + slen);
    }
    size_t alen = authority_len(pname, 0), plen = strlen(pname + alen);
    char *s = arena_alloc(x->a, alen + plen + 1);
    if (s == NULL)
        return;
    memcpy(s, pname, alen);
    if (pname[alen] == '/')
        uri_strip_params(pname + alen, plen, s + alen);
    else
        memcpy(s + alen, pname + alen, plen + 1);
    if (out[0] == NULL || strcmp(s, out[0]) != 0)
        out[1] = s;
}

static void client_addr(const struct request *r, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (r->c != NULL)
        acl_client_parse(r->c->client_ip, ss);
}

static const char *section_name(struct arena *a, const struct conf_dir *s)
{
    static const char *const kinds[] = {
        [DIR_LOCATION] = "Location",   [DIR_LOCATIONMATCH] = "LocationMatch",
        [DIR_DIRECTORY] = "Directory", [DIR_DIRECTORYMATCH] = "DirectoryMatch",
        [DIR_FILES] = "Files",         [DIR_FILESMATCH] = "FilesMatch",
        [DIR_PROXY] = "Proxy",         [DIR_PROXYMATCH] = "ProxyMatch",
    };
    return arena_printf(a, "<%s %s> at %s:%d", kinds[s->kind], s->pattern, s->file, s->line);
}

/* Access control over every section that applies, merged as httpd does (acl.c: the
 * last section with Require lines wins under AuthMerging Off, Order/Allow/Deny and
 * Satisfy merge on their own). Returns the section to blame, or NULL when granted. */
static const struct conf_dir *acl_denies(const struct seclist *l,
                                         const struct sockaddr_storage *client)
{
    if (acl_check_sections(l->s, l->n, client))
        return NULL;
    for (int i = l->n - 1; i >= 0; i--)
        if (l->s[i]->acl != NULL)
            return l->s[i];
    return l->n > 0 ? l->s[l->n - 1] : NULL;
}

static char *file_name(struct rctx *x, const struct conf_server *srv, const char *path)
{
    if (srv->document_root == NULL)
        return NULL;
    return arena_printf(x->a, "%s%s", srv->document_root, path);
}

static void effective_settings(const struct conf_server *srv, struct route_decision *d)
{
    const struct proxy_srv_conf *sc = srv->proxy;
    const struct proxy_worker *w = d->worker;
    int base_timeout = sc && sc->timeout_ms > 0 ? sc->timeout_ms : srv->timeout * 1000;
    d->server_timeout_ms = base_timeout;
    d->timeout_ms = w && w->timeout_ms != CONF_UNSET ? w->timeout_ms : base_timeout;
    d->connect_timeout_ms =
        w && w->connect_timeout_ms != CONF_UNSET ? w->connect_timeout_ms : d->timeout_ms;
    d->preserve_host = sc ? sc->preserve_host == 1 : 0;
    d->add_headers = sc ? sc->add_headers != 0 : 1;
    d->error_override = sc ? sc->error_override == 1 : 0;
    if (sc != NULL) {
        d->error_override_codes = sc->error_override_codes;
        d->n_error_override_codes = sc->n_error_override_codes;
    }
    int ph = 0, ah = 0, eo = 0;
    for (int i = d->n_sections - 1; i >= 0; i--) {
        const struct proxy_dir_conf *pd = d->sections[i]->proxy;
        if (pd == NULL)
            continue;
        if (!ph && pd->preserve_host != CONF_UNSET) {
            d->preserve_host = pd->preserve_host;
            ph = 1;
        }
        if (!ah && pd->add_headers != CONF_UNSET) {
            d->add_headers = pd->add_headers;
            ah = 1;
        }
        if (!eo && pd->error_override != CONF_UNSET) {
            d->error_override = pd->error_override;
            d->error_override_codes = pd->error_override_codes;
            d->n_error_override_codes = pd->n_error_override_codes;
            eo = 1;
        }
    }
}

void route_worker_timeouts(const struct route_decision *d, const struct proxy_worker *w,
                           int *timeout_ms, int *connect_timeout_ms)
{
    int t = w != NULL && w->timeout_ms != CONF_UNSET ? w->timeout_ms : d->server_timeout_ms;
    *timeout_ms = t;
    *connect_timeout_ms =
        w != NULL && w->connect_timeout_ms != CONF_UNSET ? w->connect_timeout_ms : t;
}

static const char *pass_text(struct arena *a, const struct proxy_pass *p, const char *extra)
{
    if (p->location != NULL)
        return arena_printf(a, "ProxyPass %s in <Location%s %s> at %s:%d%s",
                            p->exclude ? "!" : p->url,
                            p->location->kind == DIR_LOCATIONMATCH ? "Match" : "",
                            p->location->pattern, p->file, p->line, extra);
    return arena_printf(a, "ProxyPass%s %s %s at %s:%d%s", p->regex ? "Match" : "", p->path,
                        p->exclude ? "!" : p->url, p->file, p->line, extra);
}

/* SetHandler of the most specific section that sets one ("none" is stored as ""). As in
 * httpd, a ProxyPass match wins over SetHandler, so only local answers get here. */
static const char *section_handler(const struct route_decision *d)
{
    for (int i = d->n_sections - 1; i >= 0; i--)
        if (d->sections[i]->handler != NULL)
            return d->sections[i]->handler[0] ? d->sections[i]->handler : NULL;
    return NULL;
}

static int decide_status(struct route_decision *d, int status, const char *why)
{
    d->outcome = ROUTE_STATUS;
    d->status = status;
    if (why != NULL)
        d->why = why;
    return 0;
}

/* RFC 3986 remove_dot_segments on a decoded URL-path (in place): a RewriteRule result
 * built from the query or a map may hold "/x/../admin", which <Proxy .../admin> would not
 * see but the backend resolves to /admin. Returns -1 when ".." climbs above the root. */
static int remove_dots(char *path)
{
    char *out = path;
    const char *in = path;
    while (*in) {
        const char *seg = in + (*in == '/');
        size_t n = strcspn(seg, "/");
        if (*in == '/' && n == 1 && seg[0] == '.') {
            in = seg + 1;
            if (*in == '\0')
                *out++ = '/';
            continue;
        }
        if (*in == '/' && n == 2 && seg[0] == '.' && seg[1] == '.') {
            if (out == path)
                return -1;
            while (out > path && *--out != '/')
                ;
            in = seg + 2;
            if (*in == '\0')
                *out++ = '/';
            continue;
        }
        size_t len = (size_t)(seg - in) + n;
        memmove(out, in, len);
        out += len;
        in += len;
    }
    *out = '\0';
    return 0;
}

/* Builds the proxy target of a RewriteRule [P] URL (httpd's "proxy:" filename): a
 * balancer:// URL or a worker, the path canonicalised unless [NE] (nocanon), the query
 * passed on as mod_proxy_http does with r->args. Returns 0 or an HTTP status. */
static int rewrite_target(struct rctx *x, const struct conf *conf, const char *url, int nocanon,
                          struct route_decision *d)
{
    const char *q = strchr(url, '?');
    size_t ulen = q ? (size_t)(q - url) : strlen(url);
    char *base = arena_strndup(x->a, url, ulen);
    if (base == NULL)
        return 500;
    const char *query = q && q[1] != '\0' ? q + 1 : NULL;
    if (query != NULL && has_ctl(query))
        return 403;
    size_t alen = authority_len(base, 0);
    char *fpath = alen ? base + alen : "";
    if (remove_dots(fpath) < 0) {
        d->why = arena_printf(x->a, "'%s' climbs above the root", url);
        return 400;
    }
    /* A decoded '#' (%23) is part of the path: mod_proxy re-encodes it; only the worker
     * lookup below must not take it for a fragment. */
    char *hash = strchr(base, '#');
    if (hash != NULL && nocanon)
        return 403; /* cannot go out raw in a request-target */
    char *wurl = hash != NULL ? arena_strndup(x->a, base, (size_t)(hash - base)) : base;
    if (wurl == NULL)
        return 500;
    if (util_strncaseeq(base, "balancer://", 11)) {
        d->balancer = proxy_balancer_find(conf, base);
        if (d->balancer == NULL) {
            d->why = arena_printf(x->a, "no balancer for '%s'", base);
            return 500;
        }
    } else {
        const char *err = NULL;
        d->worker = proxy_worker_for_url(conf, x->a, wurl, &err);
        if (d->worker == NULL) {
            d->why = arena_printf(x->a, "cannot proxy to '%s': %s", base, err ? err : "no memory");
            return err != NULL && strstr(err, "resolve") != NULL ? 502 : 500;
        }
    }
    char *path = nocanon ? (char *)fpath : canon_path(x->a, fpath);
    if (path == NULL)
        return 500;
    if (path[0] == '\0')
        path = "/";
    d->backend_target = query ? arena_printf(x->a, "%s?%s", path, query) : arena_strdup(x->a, path);
    if (d->balancer != NULL)
        d->url = arena_printf(x->a, "%s%s", d->balancer->name, d->backend_target);
    else
        d->url = arena_printf(x->a, "%s://%s%s", d->worker->scheme, d->worker->hostport,
                              d->backend_target);
    /* <Proxy> sections see the normalised name (httpd's "proxy:" filename keeps the query). */
    d->proxy_name = query ? arena_printf(x->a, "%s?%s", base, query) : base;
    d->outcome = ROUTE_PROXY;
    d->nocanon = nocanon;
    return d->url && d->backend_target ? 0 : 500;
}

/* The per-directory core settings of d's sections over the server's. */
static void core_settings(const struct conf_server *srv, struct route_decision *d)
{
    d->limit_request_body = srv->limit_request_body > 0 ? srv->limit_request_body : 0;
    d->dir_index = srv->dir_index;
    d->n_dir_index = srv->n_dir_index;
    d->add_default_charset = srv->add_default_charset;
    int lb = 0, di = 0, cs = 0;
    for (int i = d->n_sections - 1; i >= 0; i--) {
        const struct conf_dir *s = d->sections[i];
        if (!lb && s->limit_request_body != CONF_UNSET) {
            d->limit_request_body = s->limit_request_body > 0 ? s->limit_request_body : 0;
            lb = 1;
        }
        if (!di && s->dir_index != NULL) {
            d->dir_index = s->dir_index;
            d->n_dir_index = s->n_dir_index;
            di = 1;
        }
        if (!cs && s->add_default_charset != NULL) {
            d->add_default_charset = s->add_default_charset;
            cs = 1;
        }
    }
}

const char *route_added_type(const struct route_decision *d, const struct conf_server *srv,
                             const char *file)
{
    const char *dot = strrchr(file, '.');
    const char *slash = strrchr(file, '/');
    if (dot == NULL || (slash != NULL && dot < slash) || dot[1] == '\0')
        return NULL;
    for (int i = d != NULL ? d->n_sections - 1 : -1; i >= 0; i--)
        for (const struct conf_addtype *a = d->sections[i]->addtypes; a; a = a->next)
            if (util_strcaseeq(a->ext, dot + 1))
                return a->type;
    for (const struct conf_addtype *a = srv != NULL ? srv->addtypes : NULL; a; a = a->next)
        if (util_strcaseeq(a->ext, dot + 1))
            return a->type;
    return NULL;
}

int route_request(const struct conf *conf, struct request *r, struct route_decision *d)
{
    memset(d, 0, sizeof(*d));
    const struct conf_server *srv = r->srv ? r->srv : conf->main;
    core_settings(srv, d);
    struct rctx x;
    memset(&x, 0, sizeof(x));
    if (rctx_init(&x, r->arena) < 0)
        return decide_status(d, 500, "out of memory");
    x.servers[x.n_servers++] = conf->main;
    if (srv != conf->main)
        x.servers[x.n_servers++] = srv;

    /* The decoded path (httpd's r->uri) and its ;parameter-free twin. */
    const char *npath = r->path ? r->path : "/";
    size_t nlen = strlen(npath), dlen = 0;
    char *dpath, *spath = arena_alloc(x.a, nlen + 1);
    if (spath == NULL)
        return decide_status(d, 500, "out of memory");
    if (r->uri != NULL && r->uri != r->path) {
        /* The worker already decoded it (for SecRule and SetEnvIf, which run first). */
        dpath = (char *)r->uri;
        dlen = strlen(dpath);
    } else {
        dpath = arena_alloc(x.a, nlen + 1);
        if (dpath == NULL)
            return decide_status(d, 500, "out of memory");
        int rc = uri_decode_all(npath, nlen, dpath, &dlen);
        if (rc != 0 || memchr(dpath, '\0', dlen) != NULL)
            return decide_status(d, rc ? rc : 404, "undecodable path");
        dpath[dlen] = '\0';
        r->uri = dpath;
    }

    /* 0. mod_rewrite's server rules (translate_name runs it before mod_proxy). */
    struct rewrite_result rw;
    rewrite_translate(conf, srv, r, dpath, &rw);
    d->set_cookies = rw.set_cookies;
    d->n_set_cookies = rw.n_set_cookies;
    d->vary = rw.vary;
    d->force_type = rw.type;
    d->handler = rw.handler;
    int rw_status = 0, rewritten = 0;
    switch (rw.outcome) {
    case RW_DECLINED:
        break;
    case RW_STATUS:
        return decide_status(d, rw.status, rw.why);
    case RW_REDIRECT:
        d->location = rw.url;
        return decide_status(d, rw.status, rw.why);
    case RW_PROXY:
        rw_status = rewrite_target(&x, conf, rw.url, rw.nocanon, d);
        if (rw_status == 0)
            d->why = rw.why;
        rewritten = 1;
        break;
    case RW_LOCAL:
    case RW_PASSTHROUGH:
        /* The new URL-path and query replace the request's for everything below. */
        if (rw.uri == NULL || rw.uri[0] != '/')
            return decide_status(d, 400, rw.why);
        /* The request path was normalised before the rules ran, their result was not: a
         * "/app/../admin" built from the query must meet ProxyPass and the ACL as /admin
         * (httpd keeps the dots; the backend resolves them past the checks). */
        if (remove_dots(rw.uri) < 0)
            return decide_status(d, 400, rw.why);
        dpath = rw.uri;
        dlen = strlen(dpath);
        spath = arena_alloc(x.a, dlen + 1);
        if (spath == NULL)
            return decide_status(d, 500, "out of memory");
        r->h.query = rw.query;
        d->local_path = dpath; /* served locally unless [PT] hands it to a ProxyPass */
        if (rw.outcome == RW_LOCAL) {
            d->why = rw.why;
            rewritten = 1;
        }
        break;
    }
    uri_strip_params(dpath, dlen, spath);
    int has_params = strcmp(spath, dpath) != 0;

    /* 1. ProxyPass: the <Location> entry, then the server list; exclusions also see the
     * stripped path, and win when either path matches. */
    const struct proxy_pass *hit = NULL, *excluded = NULL;
    size_t len = 0, slen;
    int by_stripped = 0;
    /* A rule that mapped the request (and env no-proxy, set early by SetEnvIf) keeps
     * ProxyPass out, as mod_proxy's translate hook never runs then. */
    int skip_pass = rewritten || env_get(r, "no-proxy") != NULL;
    const struct proxy_pass *loc_s = has_params && !skip_pass ? location_pass(&x, spath) : NULL;
    const struct proxy_pass *loc_n = skip_pass ? NULL : location_pass(&x, dpath);
    if (loc_s != NULL && loc_s->exclude && pass_matches(&x, loc_s, spath, &slen)) {
        excluded = loc_s;
        by_stripped = 1;
    } else if (loc_n != NULL) {
        if (loc_n->exclude) {
            if (pass_matches(&x, loc_n, dpath, &len))
                excluded = loc_n;
            else if (has_params && pass_matches(&x, loc_n, spath, &slen))
                excluded = loc_n, by_stripped = 1;
        } else if (pass_matches(&x, loc_n, dpath, &len)) {
            hit = loc_n;
        }
    }
    if (hit == NULL && excluded == NULL && srv->proxy != NULL && !skip_pass) {
        for (const struct proxy_pass *p = srv->proxy->passes; p != NULL; p = p->next) {
            if (p->exclude) {
                if (pass_matches(&x, p, dpath, &len)) {
                    excluded = p;
                    break;
                }
                if (has_params && pass_matches(&x, p, spath, &slen)) {
                    excluded = p;
                    by_stripped = 1;
                    break;
                }
            } else if (pass_matches(&x, p, dpath, &len)) {
                hit = p;
                break;
            }
        }
    }

    int status = 0;
    if (hit != NULL) {
        d->outcome = ROUTE_PROXY;
        d->pass = hit;
        d->worker = hit->worker;
        d->balancer = hit->balancer;
        status = build_target(&x, r, hit, dpath, len, rw.outcome != RW_PASSTHROUGH, d);
        if (d->why == NULL)
            d->why = pass_text(x.a, hit, "");
    } else if (rewritten) {
        status = rw_status;
    } else {
        d->outcome = ROUTE_LOCAL;
        d->why = excluded
                     ? pass_text(x.a, excluded, by_stripped ? " (path without ;parameters)" : "")
                     : "no ProxyPass matched";
    }

    /* 2. Sections, and access control on the path and on the stripped path. */
    struct seclist l, ls;
    const char *pname = NULL;
    if (d->outcome == ROUTE_PROXY)
        pname = d->proxy_name ? d->proxy_name : "";
    collect(&x, &l, dpath, pname, pname ? NULL : file_name(&x, srv, dpath));
    if (l.overflow)
        return decide_status(d, 500, "more than ROUTE_MAX_SECTIONS sections apply");
    memcpy(d->sections, l.s, sizeof(l.s));
    d->n_sections = l.n;
    core_settings(srv, d);
    struct sockaddr_storage client;
    client_addr(r, &client);
    const struct conf_dir *deny = acl_denies(&l, &client);
    if (deny == NULL && has_params) {
        /* The stripped path also needs its own backend name: "/x/a/..;/admin" reaches
         * "http://b/x/admin" on a servlet backend, which <Proxy .../x/admin> must see. */
        const char *snames[2] = {NULL, NULL};
        if (pname != NULL && hit != NULL)
            stripped_proxy_names(&x, hit, spath, pname, snames);
        for (int k = 0; k < 2 && deny == NULL; k++) {
            if (k == 1 && snames[1] == NULL)
                break;
            const char *sn = pname == NULL ? NULL : snames[k] ? snames[k] : pname;
            collect(&x, &ls, spath, sn, sn ? NULL : file_name(&x, srv, spath));
            if (ls.overflow)
                return decide_status(d, 500, "more than ROUTE_MAX_SECTIONS sections apply");
            deny = acl_denies(&ls, &client);
        }
    }
    if (deny != NULL)
        return decide_status(
            d, 403,
            arena_printf(x.a, "denied by %s%s", section_name(x.a, deny),
                         acl_denies(&l, &client) ? "" : " (path without ;parameters)"));
    if (status != 0)
        return decide_status(d, status, arena_printf(x.a, "%s: status %d", d->why, status));
    if (d->outcome == ROUTE_PROXY)
        effective_settings(srv, d);
    else if (d->handler == NULL)
        d->handler = section_handler(d);
    return 0;
}

int route_add_response_headers(struct request *r, const struct route_decision *d,
                               struct http_header **hdrs, int *n)
{
    if (d == NULL || (d->n_set_cookies == 0 && d->vary == NULL))
        return 0;
    struct http_header *h = arena_alloc(r->arena, sizeof(*h) * (size_t)(*n + d->n_set_cookies + 1));
    if (h == NULL)
        return -1;
    if (*n > 0)
        memcpy(h, *hdrs, sizeof(*h) * (size_t)*n);
    int k = *n;
    for (int i = 0; i < d->n_set_cookies; i++)
        h[k++] =
            (struct http_header){"Set-Cookie", d->set_cookies[i], 10, strlen(d->set_cookies[i])};
    if (d->vary != NULL) {
        int merged = 0;
        for (int i = 0; i < k && !merged; i++) {
            if (!util_strcaseeq(h[i].name, "Vary"))
                continue;
            char *v = arena_printf(r->arena, "%.*s, %s", (int)h[i].value_len, h[i].value, d->vary);
            if (v == NULL)
                return -1;
            h[i].value = v;
            h[i].value_len = strlen(v);
            merged = 1;
        }
        if (!merged)
            h[k++] = (struct http_header){"Vary", (char *)d->vary, 4, strlen(d->vary)};
    }
    *hdrs = h;
    *n = k;
    return 0;
}
