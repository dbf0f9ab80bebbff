/* The balancer-manager handler (httpd's mod_proxy_balancer balancer_handler and
 * balancer_display_page): the page, its forms, ?xml and ?json, and the edits. Everything
 * shown and changed is in the balancer segment, so the page shows the live counters of every
 * worker process and an edit reaches all of them at the next selection.
 *
 * The request's parameters come from the query (GET: b, w, nonce, xml, json) or from the
 * urlencoded body (POST: everything), as in httpd. An edit needs, as in httpd, a Referer
 * whose host is the request's host (cross-site defence) and the balancer's nonce; without
 * them the page is shown unchanged and the refusal is logged. Edits of one request are
 * written under the segment's lock, the lock every selection takes. */
#include "config.h"

#include "conf.h"
#include "balancer_manager.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "arena.h"
#include "balancer.h"
#include "balancer_slot.h"
#include "http_chunked.h"
#include "io.h"
#include "tls.h"
#include "lbmethod.h"
#include "log.h"
#include "proxy_types.h"
#include "respond.h"
#include "slotmem.h"
#include "status.h"
#include "util.h"

#define BM_BODY_MAX     16384 /* a form body larger than this is refused (httpd reads 1 KB) */
#define BM_MAX_PARAMS   64
#define BALANCER_PREFIX "balancer://"

/* Flags the form may set or clear (C too, as httpd does with mod_proxy_hcheck). */
#define BM_ADMIN_FLAGS                                                                             \
    (MEMBER_DISABLED | MEMBER_STOPPED | MEMBER_STANDBY | MEMBER_SPARE | MEMBER_DRAIN |             \
     MEMBER_IGNORE)

struct bm_param {
    char *key;
    char *val;
};

struct bm {
    struct request *r;
    struct slotmem *sm;
    const struct proxy_global_conf *pg;
    struct bm_param params[BM_MAX_PARAMS];
    int n_params;
    /* output */
    char *buf;
    size_t len, cap;
    int oom;
};

/* ---- output buffer (request arena) ---- */

static void put_n(struct bm *m, const char *s, size_t n)
{
    if (m->oom)
        return;
    if (m->len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 8192;
        while (cap < m->len + n + 1)
            cap *= 2;
        char *nb = arena_alloc(m->r->arena, cap);
        if (nb == NULL) {
            m->oom = 1;
            return;
        }
        if (m->len)
            memcpy(nb, m->buf, m->len);
        m->buf = nb;
        m->cap = cap;
    }
    memcpy(m->buf + m->len, s, n);
    m->len += n;
    m->buf[m->len] = '\0';
}

static void put(struct bm *m, const char *s)
{
    put_n(m, s, strlen(s));
}

static void putf(struct bm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void putf(struct bm *m, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    put_n(m, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

static void esc_sink(void *ctx, const char *bytes, size_t n)
{
    put_n(ctx, bytes, n);
}

/* HTML/XML text and attribute values (both quote kinds). */
static void put_esc(struct bm *m, const char *s)
{
    status_escape(STATUS_ESC_HTML, s, esc_sink, m);
}

/* A query-string value inside an href (then HTML-escaped by the caller's context: '&' never
 * appears unescaped). */
static void put_urlenc(struct bm *m, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
            strchr("-_.~/:", c) != NULL) {
            put_n(m, s, 1);
        } else {
            char e[3] = {'%', hex[c >> 4], hex[c & 15]};
            put_n(m, e, 3);
        }
    }
}

static void put_json_str(struct bm *m, const char *s)
{
    put(m, "\"");
    status_escape(STATUS_ESC_JSON, s, esc_sink, m);
    put(m, "\"");
}

/* ---- parameters ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* In place: %XX and '+' (forms send spaces as '+'). */
static void url_decode(char *s)
{
    char *o = s;
    for (; *s; s++) {
        if (*s == '+') {
            *o++ = ' ';
        } else if (*s == '%' && hexval(s[1]) >= 0 && hexval(s[2]) >= 0) {
            *o++ = (char)(hexval(s[1]) * 16 + hexval(s[2]));
            s += 2;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

static const char *param(const struct bm *m, const char *key)
{
    /* the last one wins, as apr_table_set */
    for (int i = m->n_params - 1; i >= 0; i--)
        if (strcmp(m->params[i].key, key) == 0)
            return m->params[i].val;
    return NULL;
}

static void parse_params(struct bm *m, const char *input, size_t len, const char *const *allowed)
{
    char *args = arena_strndup(m->r->arena, input, len);
    if (args == NULL)
        return;
    char *p = args;
    while (*p && m->n_params < BM_MAX_PARAMS) {
        char *end = strchr(p, '&');
        if (end != NULL)
            *end = '\0';
        char *val = strchr(p, '=');
        if (val != NULL)
            *val++ = '\0';
        else
            val = p + strlen(p); /* "" inside args: url_decode writes to it */
        url_decode(p);
        url_decode(val);
        int ok = allowed == NULL;
        for (const char *const *a = allowed; a != NULL && *a != NULL; a++)
            if (strcmp(*a, p) == 0)
                ok = 1;
        if (ok && *p) {
            m->params[m->n_params].key = p;
            m->params[m->n_params].val = val;
            m->n_params++;
        }
        if (end == NULL)
            break;
        p = end + 1;
    }
}

/* Reads the request body (Content-Length or chunked) into the arena, at most BM_BODY_MAX.
 * Returns 0, 413 when larger, 400 when malformed, -1 when the client is gone. */
static int read_body(struct request *r, int64_t deadline, char **out, size_t *outlen)
{
    struct conn *c = r->c;
    *out = NULL;
    *outlen = 0;
    if (!r->h.chunked && r->h.content_length <= 0) {
        r->body_consumed = 1;
        return 0;
    }
    if (!r->h.chunked && r->h.content_length > BM_BODY_MAX)
        return 413;
    if (r->h.expect_continue) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        if (tio_write_all(c->fd, c->tls, cont, sizeof(cont) - 1, deadline) < 0)
            return -1;
    }
    char *body = arena_alloc(r->arena, BM_BODY_MAX + 1);
    if (body == NULL)
        return 500;
    size_t have = 0;
    if (r->h.chunked) {
        struct http_chunked ch;
        http_chunked_init(&ch, 0, 0);
        for (;;) {
            if (c->in_off < c->in_len) {
                size_t used = 0, produced = 0;
                /* decode in place, then copy out what it produced */
                char *start = c->in + c->in_off;
                int rc =
                    http_chunked_decode(&ch, start, c->in_len - c->in_off, &used, start, &produced);
                if (have + produced > BM_BODY_MAX)
                    return 413;
                memcpy(body + have, start, produced);
                have += produced;
                c->in_off += used;
                if (rc == 1)
                    break;
                if (rc < 0)
                    return 400;
                if (c->in_off < c->in_len)
                    continue;
            }
            c->in_off = c->in_len = 0;
            ssize_t n = tio_read(c->fd, c->tls, c->in, c->in_cap, deadline);
            if (n <= 0)
                return -1;
            c->in_len = (size_t)n;
            r->bytes_in += n;
        }
    } else {
        size_t want = (size_t)r->h.content_length;
        while (have < want) {
            if (c->in_off < c->in_len) {
                size_t take = c->in_len - c->in_off;
                if (take > want - have)
                    take = want - have;
                memcpy(body + have, c->in + c->in_off, take);
                have += take;
                c->in_off += take;
                continue;
            }
            c->in_off = c->in_len = 0;
            ssize_t n = tio_read(c->fd, c->tls, c->in, c->in_cap, deadline);
            if (n <= 0)
                return -1;
            c->in_len = (size_t)n;
            r->bytes_in += n;
        }
    }
    body[have] = '\0';
    r->body_consumed = 1;
    *out = body;
    *outlen = have;
    return 0;
}

/* The host of a URI authority [userinfo@]host[:port] in [a, e): *host and the length, 0 when
 * there is none. The userinfo ends at the last '@', as apr_uri_parse and browsers read it. */
static size_t authority_host(const char *a, const char *e, const char **host)
{
    for (const char *q = e; q > a; q--)
        if (q[-1] == '@') {
            a = q;
            break;
        }
    if (a < e && *a == '[') {
        const char *close = memchr(a, ']', (size_t)(e - a));
        if (close == NULL || (close + 1 < e && close[1] != ':'))
            return 0;
        *host = a + 1;
        return (size_t)(close - a - 1);
    }
    const char *colon = memchr(a, ':', (size_t)(e - a));
    *host = a;
    return (size_t)((colon != NULL ? colon : e) - a);
}

/* httpd's safe_referer: the Referer is an absolute URI whose host is the host the request
 * was made to (the Host header's, else ServerName), ports aside. */
static int safe_referer(const struct request *r, const char *ref)
{
    /* RFC 3986 scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), then "//" authority:
     * a "://" further on (in a relative reference's query, say) names no host. */
    const char *p = ref;
    if (!isalpha((unsigned char)*p))
        return 0;
    while (isalnum((unsigned char)*p) || *p == '+' || *p == '-' || *p == '.')
        p++;
    if (strncmp(p, "://", 3) != 0)
        return 0;
    p += 3;
    const char *rh, *host = r->h.host;
    size_t rl = authority_host(p, p + strcspn(p, "/?#"), &rh), hl;
    if (host != NULL && *host != '\0')
        hl = authority_host(host, host + strlen(host), &host);
    else if ((host = r->srv->server_name) != NULL)
        hl = strlen(host);
    else
        return 0;
    return rl > 0 && rl == hl && strncasecmp(rh, host, rl) == 0;
}

/* The nonce as the request gives it equals the balancer's; the time taken does not depend on
 * where they differ. */
static int nonce_eq(const char *given, const char *nonce)
{
    size_t gl = strlen(given), nl = strlen(nonce);
    unsigned char diff = gl != nl;
    for (size_t i = 0; i < nl; i++)
        diff |= (unsigned char)(nonce[i] ^ given[i < gl ? i : 0]);
    return diff == 0;
}

/* A route or redirect from the form: printable ASCII without blanks (what a cookie or URL
 * parameter can carry back), else the edit is ignored. */
static int route_ok(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f)
            return 0;
    return 1;
}

/* ---- the segment ---- */

static const struct balancer_shm_info *info_for(const struct bm *m, const struct proxy_balancer *b)
{
    struct balancer_shm_info *in = balancer_shm_info(m->sm, b->index);
    if (in == NULL || strncmp(in->name, b->name, sizeof(in->name)) != 0)
        return NULL;
    return in;
}

static void field(char *dst, size_t dstlen, const char *src, size_t size)
{
    size_t n = strnlen(src, size);
    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* The balancer named by b= (without "balancer://", case-insensitive). */
static struct proxy_balancer *find_balancer(const struct bm *m, const char *name)
{
    for (struct proxy_balancer *b = m->pg->balancers; b != NULL; b = b->next)
        if (strncasecmp(b->name, BALANCER_PREFIX, sizeof(BALANCER_PREFIX) - 1) == 0 &&
            util_strcaseeq(b->name + sizeof(BALANCER_PREFIX) - 1, name))
            return b;
    return NULL;
}

/* URLs compare with the scheme and host case-insensitive and a trailing '/' ignored. */
static int url_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 0 && a[la - 1] == '/')
        la--;
    if (lb > 0 && b[lb - 1] == '/')
        lb--;
    if (la != lb)
        return 0;
    const char *pa = strstr(a, "://"), *pb = strstr(b, "://");
    size_t ha = pa ? (size_t)(pa + 3 - a) + strcspn(pa + 3, "/") : la;
    if (ha > la)
        ha = la;
    if (pb == NULL || pa == NULL || strncasecmp(a, b, ha) != 0)
        return strncmp(a, b, la) == 0;
    return strncmp(a + ha, b + ha, la - ha) == 0;
}

/* The in-use slot of b whose URL is url, or -1. */
static int find_member_slot(const struct bm *m, const struct balancer_shm_info *in, const char *url)
{
    for (unsigned k = in->slot_base; k < in->slot_base + in->n_slots; k++) {
        struct balancer_slot *s = balancer_shm_slot(m->sm, k);
        char su[sizeof(s->url)];
        if (s == NULL || atomic_load(&s->in_use) != 1)
            continue;
        field(su, sizeof(su), s->url, sizeof(s->url));
        if (url_eq(su, url))
            return (int)k;
    }
    return -1;
}

static long strtol_prefix(const char *v)
{
    /* httpd uses atoi: leading digits, garbage after them ignored, 0 when none */
    return strtol(v, NULL, 10);
}

/* ---- edits (under the segment lock) ---- */

static void edit_member(struct bm *m, struct balancer_shm_info *in, struct balancer_slot *s)
{
    const char *v;
    unsigned st0 = atomic_load(&s->status);
    uint32_t edited = 0;

    if ((v = param(m, "w_lf")) != NULL) {
        double f = strtod(v, NULL);
        if (f >= 1.0 && f <= 100.0) {
            int32_t lf = (int32_t)(f * 100.0);
            atomic_store(&s->lbfactor, lf);
            edited |= BSLOT_EDITED_LBFACTOR;
            /* httpd's recalc_factors: every member's lbstatus restarts from its factor */
            for (unsigned k = in->slot_base; k < in->slot_base + in->n_slots; k++) {
                struct balancer_slot *o = balancer_shm_slot(m->sm, k);
                if (o != NULL && atomic_load(&o->in_use) == 1)
                    atomic_store(&o->lbstatus, (int64_t)atomic_load(&o->lbfactor));
            }
        }
    }
    if ((v = param(m, "w_wr")) != NULL && route_ok(v)) {
        if (*v && strlen(v) < sizeof(s->route))
            util_strlcpy(s->route, v, sizeof(s->route));
        else
            memset(s->route, 0, sizeof(s->route));
        edited |= BSLOT_EDITED_ROUTE;
    }
    if ((v = param(m, "w_rr")) != NULL && route_ok(v)) {
        if (*v && strlen(v) < sizeof(s->redirect))
            util_strlcpy(s->redirect, v, sizeof(s->redirect));
        else
            memset(s->redirect, 0, sizeof(s->redirect));
        edited |= BSLOT_EDITED_REDIRECT;
    }
    static const struct {
        const char *key;
        unsigned flag;
    } flags[] = {
        {"w_status_I", MEMBER_IGNORE},   {"w_status_N", MEMBER_DRAIN},
        {"w_status_D", MEMBER_DISABLED}, {"w_status_H", MEMBER_STANDBY},
        {"w_status_R", MEMBER_SPARE},    {"w_status_S", MEMBER_STOPPED},
        {"w_status_C", MEMBER_HCFAIL},
    };
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        if ((v = param(m, flags[i].key)) == NULL)
            continue;
        if (strtol_prefix(v) != 0)
            atomic_fetch_or(&s->status, flags[i].flag);
        else
            atomic_fetch_and(&s->status, ~flags[i].flag);
        if (flags[i].flag & BM_ADMIN_FLAGS)
            edited |= BSLOT_EDITED_STATUS;
    }
    if ((v = param(m, "w_ls")) != NULL) {
        long ls = strtol_prefix(v);
        if (ls >= 0 && ls <= 99) {
            atomic_store(&s->lbset, (int32_t)ls);
            edited |= BSLOT_EDITED_LBSET;
        }
    }
    atomic_fetch_or(&s->edited, edited);
    /* A member coming back: the lbmethod starts over (httpd's need_reset). */
    if (!status_member_usable(st0) && status_member_usable(atomic_load(&s->status)))
        atomic_store(&in->need_reset, 1);
}

/* Returns 0, or 400 for an add that cannot be done (as httpd). */
static int edit_balancer(struct bm *m, struct proxy_balancer *b, struct balancer_shm_info *in)
{
    const char *v;
    if ((v = param(m, "b_lbm")) != NULL && strlen(v) < sizeof(in->lbmethod) &&
        strncmp(v, in->lbmethod, sizeof(in->lbmethod)) != 0) {
        const struct lbmethod *lm = lbmethod_find(v);
        if (lm != NULL) {
            util_strlcpy(in->lbmethod, lm->name, sizeof(in->lbmethod));
            atomic_store(&in->need_reset, 1);
        }
    }
    if ((v = param(m, "b_tmo")) != NULL) {
        long t = strtol_prefix(v);
        if (t >= 0 && t <= 7200)
            in->timeout_ms = (int32_t)(t * 1000);
    }
    if ((v = param(m, "b_max")) != NULL) {
        long t = strtol_prefix(v);
        if (t >= 0 && t <= 99)
            in->maxattempts = (int32_t)t;
    }
    if ((v = param(m, "b_sforce")) != NULL)
        in->nofailover = strtol_prefix(v) != 0;
    if ((v = param(m, "b_ss")) != NULL && *v && strlen(v) < sizeof(in->sticky) - 1) {
        if (strcmp(v, "-") == 0) {
            memset(in->sticky, 0, sizeof(in->sticky));
        } else {
            /* the page shows "cookie | param": take it back without the blanks */
            char tmp[sizeof(in->sticky)];
            size_t n = 0;
            for (const char *p = v; *p && n + 1 < sizeof(tmp); p++)
                if (*p != ' ')
                    tmp[n++] = *p;
            tmp[n] = '\0';
            if (n > 0 && tmp[0] != '|' && tmp[n - 1] != '|' &&
                strchr(tmp, '|') == strrchr(tmp, '|'))
                util_strlcpy(in->sticky, tmp, sizeof(in->sticky));
        }
    }
    if ((v = param(m, "b_wyes")) != NULL && strcmp(v, "1") == 0 &&
        (v = param(m, "b_nwrkr")) != NULL) {
        const char *err = NULL;
        struct balancer_slot *free_slot = NULL;
        /* The URL must be one portico can proxy to (scheme, host that resolves). */
        struct proxy_worker *w = proxy_worker_for_url(m->r->c->conf, m->r->arena, v, &err);
        if (w == NULL || !route_ok(v) || strlen(v) >= sizeof(free_slot->url) ||
            find_member_slot(m, in, v) >= 0) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, m->r->c->client_addr,
                    "%s: failed to add worker %s%s%s", b->name, v, err ? ": " : "",
                    err ? err
                        : (w != NULL && strlen(v) < sizeof(free_slot->url) ? ": already a member"
                                                                           : ""));
            return 400;
        }
        for (unsigned k = in->slot_base + in->n_members; k < in->slot_base + in->n_slots; k++) {
            struct balancer_slot *s = balancer_shm_slot(m->sm, k);
            if (s != NULL && atomic_load(&s->in_use) == 0) {
                free_slot = s;
                break;
            }
        }
        if (free_slot == NULL) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, m->r->c->client_addr,
                    "%s: failed to add worker %s: no free growth slot", b->name, v);
            return 400;
        }
        struct balancer_slot *s = free_slot;
        /* A free slot may hold a previous tenant's leftovers: start clean. */
        memset(s->balancer, 0, sizeof(s->balancer));
        memset(s->url, 0, sizeof(s->url));
        memset(s->route, 0, sizeof(s->route));
        memset(s->redirect, 0, sizeof(s->redirect));
        memset(s->hcmethod, 0, sizeof(s->hcmethod));
        util_strlcpy(s->balancer, b->name, sizeof(s->balancer));
        util_strlcpy(s->url, v, sizeof(s->url));
        /* httpd: "by default, all new workers are disabled" */
        atomic_store(&s->status, MEMBER_DISABLED);
        atomic_store(&s->lbfactor, 100);
        atomic_store(&s->lbset, 0);
        atomic_store(&s->lbstatus, 0);
        atomic_store(&s->elected, 0);
        atomic_store(&s->busy, 0);
        atomic_store(&s->transferred, 0);
        atomic_store(&s->read, 0);
        atomic_store(&s->error_time_ms, 0);
        atomic_store(&s->errors, 0);
        atomic_store(&s->retries, 0);
        atomic_store(&s->retry_ms, 60000);
        atomic_store(&s->hb_ready, 0);
        atomic_store(&s->hb_busy, 0);
        atomic_store(&s->hb_seen_ms, 0);
        atomic_store(&s->hc_passes, 0);
        atomic_store(&s->hc_fails, 0);
        atomic_store(&s->hc_last_ms, 0);
        atomic_store(&s->hc_last_ok, -1);
        atomic_store(&s->hc_interval_ms, 0);
        atomic_store(&s->edited, 0);
        atomic_store(&s->flags, BSLOT_F_RUNTIME);
        s->balancer_index = b->index;
        const struct balancer_shm_global *g = balancer_shm_global(m->sm);
        atomic_store(&s->generation, g ? (uint32_t)g->generation : 0);
        /* last: selection in other processes only looks at in-use slots */
        atomic_store_explicit(&s->in_use, 1, memory_order_release);
        log_msg(MOD_PROXY_BALANCER, LL_NOTICE, 0, m->r->c->client_addr,
                "%s: member %s added at run time (disabled)", b->name, v);
    }
    return 0;
}

/* ---- rendering ---- */

/* httpd's apr_strfsize: "  0 ", "973 ", "1.2K", " 12M" */
static void put_size(struct bm *m, uint64_t size)
{
    static const char units[] = "KMGTPE";
    if (size < 973) {
        putf(m, "%3d ", (int)size);
        return;
    }
    double v = (double)size;
    for (const char *u = units; *u; u++) {
        v /= 1024.0;
        if (v < 973.0 || u[1] == '\0') {
            if (v < 9.95)
                putf(m, "%d.%d%c", (int)v, (int)((v - (int)v) * 10.0), *u);
            else
                putf(m, "%3d%c", (int)(v + 0.5), *u);
            return;
        }
    }
}

struct member_view {
    unsigned slot;
    char url[160], route[64], redirect[64];
    unsigned status;
    int32_t lbfactor, lbset, hb_ready, hb_busy;
    int64_t lbstatus, busy, error_time_ms, hb_seen_ms;
    uint64_t elected, transferred, read, errors, retries;
    int runtime;
};

static void snapshot(const struct balancer_slot *s, unsigned k, struct member_view *v)
{
    v->slot = k;
    field(v->url, sizeof(v->url), s->url, sizeof(s->url));
    field(v->route, sizeof(v->route), s->route, sizeof(s->route));
    field(v->redirect, sizeof(v->redirect), s->redirect, sizeof(s->redirect));
    v->status = atomic_load(&s->status);
    v->lbfactor = atomic_load(&s->lbfactor);
    v->lbset = atomic_load(&s->lbset);
    v->lbstatus = atomic_load(&s->lbstatus);
    v->elected = atomic_load(&s->elected);
    v->busy = atomic_load(&s->busy);
    v->transferred = atomic_load(&s->transferred);
    v->read = atomic_load(&s->read);
    v->errors = atomic_load(&s->errors);
    v->retries = atomic_load(&s->retries);
    v->error_time_ms = atomic_load(&s->error_time_ms);
    v->hb_ready = atomic_load(&s->hb_ready);
    v->hb_busy = atomic_load(&s->hb_busy);
    v->hb_seen_ms = atomic_load(&s->hb_seen_ms);
    v->runtime = (atomic_load(&s->flags) & BSLOT_F_RUNTIME) != 0;
}

static void rfc822(int64_t ms, char *out, size_t len)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

struct bal_view {
    char lbmethod[32], sticky[64], nonce[40];
    int timeout_s, maxattempts, nofailover;
    unsigned used, n_slots, growth_free;
};

static void bal_snapshot(const struct bm *m, const struct proxy_balancer *b,
                         const struct balancer_shm_info *in, struct bal_view *v)
{
    struct balancer_params bp;
    balancer_params(b, &bp);
    memset(v, 0, sizeof(*v));
    util_strlcpy(v->lbmethod, bp.lbmethod, sizeof(v->lbmethod));
    util_strlcpy(v->sticky, bp.sticky, sizeof(v->sticky));
    v->timeout_s = bp.timeout_ms > 0 ? bp.timeout_ms / 1000 : 0;
    v->maxattempts = bp.maxattempts;
    v->nofailover = bp.nofailover;
    if (in == NULL)
        return;
    field(v->nonce, sizeof(v->nonce), in->nonce, sizeof(in->nonce));
    v->n_slots = in->n_slots;
    for (unsigned k = in->slot_base; k < in->slot_base + in->n_slots; k++) {
        struct balancer_slot *s = balancer_shm_slot(m->sm, k);
        if (s != NULL && atomic_load(&s->in_use) == 1)
            v->used++;
        else if (k >= in->slot_base + in->n_members)
            v->growth_free++;
    }
}

static const char *bshort(const struct proxy_balancer *b)
{
    return strncasecmp(b->name, BALANCER_PREFIX, sizeof(BALANCER_PREFIX) - 1) == 0
               ? b->name + sizeof(BALANCER_PREFIX) - 1
               : b->name;
}

static void render_xml(struct bm *m)
{
    put(m, "<?xml version='1.0' encoding='UTF-8' ?>\n");
    put(m, "<httpd:manager xmlns:httpd='http://httpd.apache.org'>\n  <httpd:balancers>\n");
    for (const struct proxy_balancer *b = m->pg->balancers; b != NULL; b = b->next) {
        const struct balancer_shm_info *in = info_for(m, b);
        struct bal_view bv;
        bal_snapshot(m, b, in, &bv);
        put(m, "    <httpd:balancer>\n      <httpd:name>");
        put_esc(m, b->name);
        put(m, "</httpd:name>\n");
        if (bv.sticky[0]) {
            put(m, "      <httpd:stickysession>");
            put_esc(m, bv.sticky);
            put(m, "</httpd:stickysession>\n");
            putf(m, "      <httpd:nofailover>%s</httpd:nofailover>\n",
                 bv.nofailover ? "On" : "Off");
        }
        putf(m, "      <httpd:timeout>%d</httpd:timeout>\n", bv.timeout_s);
        putf(m, "      <httpd:maxattempts>%d</httpd:maxattempts>\n", bv.maxattempts);
        put(m, "      <httpd:lbmethod>");
        put_esc(m, bv.lbmethod);
        put(m, "</httpd:lbmethod>\n");
        if (bv.sticky[0])
            putf(m, "      <httpd:scolonpathdelim>%s</httpd:scolonpathdelim>\n",
                 b->scolonpathdelim ? "On" : "Off");
        putf(m, "      <httpd:growth>%u</httpd:growth>\n", bv.growth_free);
        put(m, "      <httpd:workers>\n");
        for (unsigned k = in ? in->slot_base : 0; in && k < in->slot_base + in->n_slots; k++) {
            struct balancer_slot *s = balancer_shm_slot(m->sm, k);
            struct member_view mv;
            char st[96], date[64];
            if (s == NULL || atomic_load(&s->in_use) != 1)
                continue;
            snapshot(s, k, &mv);
            const char *rest = strstr(mv.url, "://");
            char scheme[16] = "", host[128] = "";
            int port = 0;
            if (rest != NULL) {
                field(scheme, sizeof(scheme), mv.url, (size_t)(rest - mv.url));
                const char *h = rest + 3;
                size_t hl = *h == '[' ? strcspn(h, "]") + 1 : strcspn(h, ":/");
                field(host, sizeof(host), h, hl);
                if (h[hl] == ':')
                    port = (int)strtol(h + hl + 1, NULL, 10);
                else
                    port = strcmp(scheme, "https") == 0 ? 443 : 80;
            }
            put(m, "        <httpd:worker>\n          <httpd:name>");
            put_esc(m, mv.url);
            put(m, "</httpd:name>\n          <httpd:scheme>");
            put_esc(m, scheme);
            put(m, "</httpd:scheme>\n          <httpd:hostname>");
            put_esc(m, host);
            put(m, "</httpd:hostname>\n");
            putf(m, "          <httpd:loadfactor>%.2f</httpd:loadfactor>\n", mv.lbfactor / 100.0);
            putf(m, "          <httpd:port>%d</httpd:port>\n", port);
            putf(m, "          <httpd:status>%s</httpd:status>\n",
                 status_member_wstatus(st, sizeof(st), mv.status));
            if (mv.error_time_ms > 0) {
                rfc822(mv.error_time_ms, date, sizeof(date));
                putf(m, "          <httpd:error_time>%s</httpd:error_time>\n", date);
            }
            putf(m, "          <httpd:retries>%" PRIu64 "</httpd:retries>\n", mv.retries);
            putf(m, "          <httpd:lbstatus>%" PRId64 "</httpd:lbstatus>\n", mv.lbstatus);
            putf(m, "          <httpd:transferred>%" PRIu64 "</httpd:transferred>\n",
                 mv.transferred);
            putf(m, "          <httpd:read>%" PRIu64 "</httpd:read>\n", mv.read);
            putf(m, "          <httpd:elected>%" PRIu64 "</httpd:elected>\n", mv.elected);
            put(m, "          <httpd:route>");
            put_esc(m, mv.route);
            put(m, "</httpd:route>\n          <httpd:redirect>");
            put_esc(m, mv.redirect);
            put(m, "</httpd:redirect>\n");
            putf(m, "          <httpd:busy>%" PRId64 "</httpd:busy>\n", mv.busy);
            putf(m, "          <httpd:lbset>%d</httpd:lbset>\n", mv.lbset);
            putf(m, "          <httpd:errors>%" PRIu64 "</httpd:errors>\n", mv.errors);
            putf(m, "          <httpd:hb_ready>%d</httpd:hb_ready>\n", mv.hb_ready);
            putf(m, "          <httpd:hb_busy>%d</httpd:hb_busy>\n", mv.hb_busy);
            putf(m, "          <httpd:runtime>%s</httpd:runtime>\n", mv.runtime ? "On" : "Off");
            put(m, "        </httpd:worker>\n");
        }
        put(m, "      </httpd:workers>\n    </httpd:balancer>\n");
    }
    put(m, "  </httpd:balancers>\n</httpd:manager>");
}

static void render_json(struct bm *m)
{
    put(m, "{\"balancers\":[");
    int firstb = 1;
    for (const struct proxy_balancer *b = m->pg->balancers; b != NULL; b = b->next) {
        const struct balancer_shm_info *in = info_for(m, b);
        struct bal_view bv;
        bal_snapshot(m, b, in, &bv);
        put(m, firstb ? "\n {" : ",\n {");
        firstb = 0;
        put(m, "\"name\":");
        put_json_str(m, b->name);
        put(m, ",\"lbmethod\":");
        put_json_str(m, bv.lbmethod);
        put(m, ",\"stickysession\":");
        put_json_str(m, bv.sticky);
        putf(m, ",\"nofailover\":%s,\"timeout\":%d,\"maxattempts\":%d",
             bv.nofailover ? "true" : "false", bv.timeout_s, bv.maxattempts);
        putf(m, ",\"max_members\":%u,\"used\":%u,\"growth_free\":%u", bv.n_slots, bv.used,
             bv.growth_free);
        put(m, ",\"nonce\":");
        put_json_str(m, bv.nonce);
        put(m, ",\"members\":[");
        int firstm = 1;
        for (unsigned k = in ? in->slot_base : 0; in && k < in->slot_base + in->n_slots; k++) {
            struct balancer_slot *s = balancer_shm_slot(m->sm, k);
            struct member_view mv;
            char st[96], flags[16];
            if (s == NULL || atomic_load(&s->in_use) != 1)
                continue;
            snapshot(s, k, &mv);
            put(m, firstm ? "\n  {" : ",\n  {");
            firstm = 0;
            put(m, "\"url\":");
            put_json_str(m, mv.url);
            put(m, ",\"route\":");
            put_json_str(m, mv.route);
            put(m, ",\"redirect\":");
            put_json_str(m, mv.redirect);
            put(m, ",\"status\":");
            put_json_str(m, status_member_wstatus(st, sizeof(st), mv.status));
            put(m, ",\"flags\":");
            put_json_str(m, balancer_status_text(mv.status, flags, sizeof(flags)));
            putf(m, ",\"loadfactor\":%.2f,\"lbset\":%d,\"lbstatus\":%" PRId64, mv.lbfactor / 100.0,
                 mv.lbset, mv.lbstatus);
            putf(m,
                 ",\"elected\":%" PRIu64 ",\"busy\":%" PRId64 ",\"transferred\":%" PRIu64
                 ",\"read\":%" PRIu64,
                 mv.elected, mv.busy, mv.transferred, mv.read);
            putf(m, ",\"errors\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"error_time_ms\":%" PRId64,
                 mv.errors, mv.retries, mv.error_time_ms);
            putf(m, ",\"hb_ready\":%d,\"hb_busy\":%d,\"hb_seen_ms\":%" PRId64, mv.hb_ready,
                 mv.hb_busy, mv.hb_seen_ms);
            putf(m, ",\"runtime\":%s,\"slot\":%u}", mv.runtime ? "true" : "false", mv.slot);
        }
        put(m, "]}");
    }
    put(m, "\n]}\n");
}

static void put_radio(struct bm *m, const char *name, int on)
{
    putf(m,
         "<td><label for='%s1'>On</label> <input name='%s' id='%s1' value='1' type=radio%s> "
         "<br/> <label for='%s0'>Off</label> <input name='%s' id='%s0' value='0' type=radio%s>"
         "</td>\n",
         name, name, name, on ? " checked" : "", name, name, name, on ? "" : " checked");
}

static void put_hidden(struct bm *m, const char *name, const char *value)
{
    putf(m, "<input type=hidden name='%s' id='%s' value=\"", name, name);
    put_esc(m, value);
    put(m, "\">\n");
}

static void render_html(struct bm *m, const struct proxy_balancer *bsel, int wsel)
{
    struct request *r = m->r;
    const char *self = r->h.path ? r->h.path : "/balancer-manager";
    /* The links and forms point back here: "//host/..." would make them protocol-relative,
     * sending the nonce to another site. */
    while (self[0] == '/' && self[1] == '/')
        self++;
    const struct proxy_global_conf *pg = m->pg;

    put(m, "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>Balancer Manager</title>\n"
           "<style type='text/css'>\n"
           "table { border: 1px solid gray; border-spacing: 3px; border-collapse: collapse; "
           "background-color: white; text-align: center; }\n"
           "th { border: 1px dotted gray; padding: 2px; background-color: lightgray; }\n"
           "td { border: 1px dotted gray; padding: 2px; }\n"
           "</style>\n</head>\n<body><h1>Load Balancer Manager for ");
    put_esc(m, r->h.host ? r->h.host : (r->srv->server_name ? r->srv->server_name : ""));
    put(m, "</h1>\n\n<dl><dt>Server Version: ");
    put_esc(m, conf_server_token(r->c->conf));
    put(m, "</dt>\n");
    putf(m, "<dt>Balancer changes will %sbe persisted on restart.</dt>",
         pg->balancer_persist ? "" : "NOT ");
    putf(m, "<dt>Balancers are %sinherited from main server.</dt>",
         pg->balancer_inherit ? "" : "NOT ");
    put(m, "</dl>\n");

    for (const struct proxy_balancer *b = pg->balancers; b != NULL; b = b->next) {
        const struct balancer_shm_info *in = info_for(m, b);
        struct bal_view bv;
        bal_snapshot(m, b, in, &bv);
        put(m, "<hr />\n<h3>LoadBalancer Status for <a href=\"");
        put_esc(m, self);
        put(m, "?b=");
        put_urlenc(m, bshort(b));
        put(m, "&amp;nonce=");
        put_urlenc(m, bv.nonce);
        put(m, "\" class='balancer'>");
        put_esc(m, b->name);
        put(m, "</a></h3>\n\n<table class='balancer' data-balancer=\"");
        put_esc(m, b->name);
        put(m, "\"><tr><th>MaxMembers</th><th>StickySession</th><th>DisableFailover</th>"
               "<th>Timeout</th><th>FailoverAttempts</th><th>Method</th><th>Growth left</th>"
               "</tr>\n<tr>");
        putf(m, "<td>%u [%u Used]</td>\n<td>", bv.n_slots, bv.used);
        if (bv.sticky[0])
            put_esc(m, bv.sticky);
        else
            put(m, " (None) ");
        putf(m, "</td><td>%s</td>\n<td>%d</td><td>%d</td>\n<td>", bv.nofailover ? "On" : "Off",
             bv.timeout_s, bv.maxattempts);
        put_esc(m, bv.lbmethod);
        putf(m, "</td>\n<td>%u</td>\n</tr>\n</table>\n<br />", bv.growth_free);
        put(m, "\n\n<table class='members'><tr><th>Worker URL</th><th>Route</th>"
               "<th>RouteRedir</th><th>Factor</th><th>Set</th><th>Status</th><th>Elected</th>"
               "<th>Busy</th><th>Load</th><th>To</th><th>From</th><th>Errors</th>"
               "<th>Last error</th><th>HB ready</th><th>HB busy</th></tr>\n");
        for (unsigned k = in ? in->slot_base : 0; in && k < in->slot_base + in->n_slots; k++) {
            struct balancer_slot *s = balancer_shm_slot(m->sm, k);
            struct member_view mv;
            char st[96], date[64];
            if (s == NULL || atomic_load(&s->in_use) != 1)
                continue;
            snapshot(s, k, &mv);
            put(m, "<tr class='member'>\n<td><a class='edit' href=\"");
            put_esc(m, self);
            put(m, "?b=");
            put_urlenc(m, bshort(b));
            put(m, "&amp;w=");
            put_urlenc(m, mv.url);
            put(m, "&amp;nonce=");
            put_urlenc(m, bv.nonce);
            put(m, "\">");
            put_esc(m, mv.url);
            put(m, "</a></td><td>");
            put_esc(m, mv.route);
            put(m, "</td><td>");
            put_esc(m, mv.redirect);
            putf(m, "</td><td>%.2f</td><td>%d</td><td class='status'>", mv.lbfactor / 100.0,
                 mv.lbset);
            put_esc(m, status_member_wstatus(st, sizeof(st), mv.status));
            putf(m, "</td><td>%" PRIu64 "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>",
                 mv.elected, mv.busy, mv.lbstatus);
            put_size(m, mv.transferred);
            put(m, "</td><td>");
            put_size(m, mv.read);
            putf(m, "</td><td>%" PRIu64 "</td><td>", mv.errors);
            if (mv.error_time_ms > 0) {
                rfc822(mv.error_time_ms, date, sizeof(date));
                put(m, date);
            } else {
                put(m, "-");
            }
            if (mv.hb_seen_ms > 0)
                putf(m, "</td><td>%d</td><td>%d", mv.hb_ready, mv.hb_busy);
            else
                put(m, "</td><td>-</td><td>-");
            put(m, "</td></tr>\n");
        }
        put(m, "</table>\n");
    }
    put(m, "<hr />\n");

    if (bsel != NULL) {
        const struct balancer_shm_info *in = info_for(m, bsel);
        struct bal_view bv;
        bal_snapshot(m, bsel, in, &bv);
        struct balancer_slot *s = wsel >= 0 ? balancer_shm_slot(m->sm, (unsigned)wsel) : NULL;
        if (s != NULL) {
            struct member_view mv;
            snapshot(s, (unsigned)wsel, &mv);
            put(m, "<h3>Edit worker settings for ");
            put_esc(m, mv.url);
            put(m, "</h3>\n<form method='POST' id='edit-worker' "
                   "enctype='application/x-www-form-urlencoded' action=\"");
            put_esc(m, self);
            put(m, "\">\n<table><tr><td>Load factor:</td><td><input name='w_lf' id='w_lf' "
                   "type=text ");
            putf(m, "value='%.2f'></td></tr>\n", mv.lbfactor / 100.0);
            putf(m,
                 "<tr><td>LB Set:</td><td><input name='w_ls' id='w_ls' type=text "
                 "value='%d'></td></tr>\n",
                 mv.lbset);
            put(m, "<tr><td>Route:</td><td><input name='w_wr' id='w_wr' type=text value=\"");
            put_esc(m, mv.route);
            put(m, "\"></td></tr>\n<tr><td>Route Redirect:</td><td><input name='w_rr' id='w_rr' "
                   "type=text value=\"");
            put_esc(m, mv.redirect);
            put(m, "\"></td></tr>\n<tr><td>Status:</td><td><table><tr><th>Ignore Errors</th>"
                   "<th>Draining Mode</th><th>Disabled</th><th>Hot Standby</th>"
                   "<th>Hot Spare</th><th>Stopped</th></tr>\n<tr>");
            put_radio(m, "w_status_I", (mv.status & MEMBER_IGNORE) != 0);
            put_radio(m, "w_status_N", (mv.status & MEMBER_DRAIN) != 0);
            put_radio(m, "w_status_D", (mv.status & MEMBER_DISABLED) != 0);
            put_radio(m, "w_status_H", (mv.status & MEMBER_STANDBY) != 0);
            put_radio(m, "w_status_R", (mv.status & MEMBER_SPARE) != 0);
            put_radio(m, "w_status_S", (mv.status & MEMBER_STOPPED) != 0);
            put(m, "</tr></table></td></tr>\n<tr><td colspan='2'><input type=submit "
                   "value='Submit'></td></tr>\n</table>\n");
            put_hidden(m, "w", mv.url);
            put_hidden(m, "b", bshort(bsel));
            put_hidden(m, "nonce", bv.nonce);
            put(m, "</form>\n<hr />\n");
        } else {
            put(m, "<h3>Edit balancer settings for ");
            put_esc(m, bsel->name);
            put(m, "</h3>\n<form method='POST' id='edit-balancer' "
                   "enctype='application/x-www-form-urlencoded' action=\"");
            put_esc(m, self);
            put(m, "\">\n<table>\n<tr><td>LBmethod:</td>\n<td>\n<select name='b_lbm' "
                   "id='b_lbm'>");
            static const char *const methods[] = {"byrequests", "bytraffic", "bybusyness",
                                                  "heartbeat"};
            for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
                putf(m, "<option value='%s'%s>%s</option>\n", methods[i],
                     strcmp(methods[i], bv.lbmethod) == 0 ? " selected" : "", methods[i]);
            put(m, "</select>\n</td></tr>\n");
            putf(m,
                 "<tr><td>Timeout:</td><td><input name='b_tmo' id='b_tmo' type=text "
                 "value='%d'></td></tr>\n",
                 bv.timeout_s);
            putf(m,
                 "<tr><td>Failover Attempts:</td><td><input name='b_max' id='b_max' type=text "
                 "value='%d'></td></tr>\n",
                 bv.maxattempts);
            put(m, "<tr><td>Disable Failover:</td>");
            put_radio(m, "b_sforce", bv.nofailover);
            put(m, "</tr>\n<tr><td>Sticky Session:</td><td><input name='b_ss' id='b_ss' size=64 "
                   "type=text value=\"");
            put_esc(m, bv.sticky);
            put(m, "\">&nbsp;&nbsp;&nbsp;&nbsp;(Use '-' to delete)</td></tr>\n");
            if (bv.growth_free > 0)
                put(m, "<tr><td>Add New Worker:</td><td><input name='b_nwrkr' id='b_nwrkr' "
                       "size=32 type=text>&nbsp;&nbsp;&nbsp;&nbsp;Are you sure? <input "
                       "name='b_wyes' id='b_wyes' type=checkbox value='1'></td></tr>");
            put(m, "<tr><td colspan=2><input type=submit value='Submit'></td></tr>\n"
                   "</table>\n");
            put_hidden(m, "b", bshort(bsel));
            put_hidden(m, "nonce", bv.nonce);
            put(m, "</form>\n<hr />\n");
        }
    }
    put(m, "</body></html>\n");
}

int balancer_manager_handle(struct request *r, int64_t deadline)
{
    struct bm *m = arena_calloc(r->arena, 1, sizeof(*m));
    if (m == NULL)
        return respond_error(r, 500, NULL, deadline);
    m->r = r;
    m->sm = balancer_get_shm();
    m->pg = r->c->conf->proxy;

    if (r->h.m != HTTP_GET && r->h.m != HTTP_HEAD && r->h.m != HTTP_POST) {
        if (r->h.content_length > 0 || r->h.chunked)
            r->c->keepalive = 0;
        return respond_error(r, 405, NULL, deadline);
    }
    if (r->h.m == HTTP_POST) {
        char *body;
        size_t blen;
        int rc = read_body(r, deadline, &body, &blen);
        if (rc < 0) {
            r->c->aborted = 1;
            return -1;
        }
        if (rc != 0) {
            r->c->keepalive = 0;
            return respond_error(r, rc, NULL, deadline);
        }
        if (body != NULL)
            parse_params(m, body, blen, NULL);
        /* the output format may come in the query of a POST too */
        static const char *const fmt_only[] = {"xml", "json", NULL};
        if (r->h.query != NULL)
            parse_params(m, r->h.query, strlen(r->h.query), fmt_only);
    } else if (r->h.query != NULL) {
        static const char *const allowed[] = {"w", "b", "nonce", "xml", "json", NULL};
        parse_params(m, r->h.query, strlen(r->h.query), allowed);
    }

    if (m->pg == NULL || m->pg->balancers == NULL || m->sm == NULL) {
        static const char msg[] = "<!DOCTYPE html>\n<html><head><title>Balancer Manager</title>"
                                  "</head><body><h1>No balancer configured</h1></body></html>\n";
        struct resp_header h = {"Content-Type", "text/html; charset=utf-8"};
        return respond_send(r, 200, &h, 1, msg, sizeof(msg) - 1, -1, deadline);
    }

    struct proxy_balancer *bsel = NULL;
    const char *v;
    if ((v = param(m, "b")) != NULL)
        bsel = find_balancer(m, v);
    struct balancer_shm_info *in =
        bsel != NULL ? (struct balancer_shm_info *)info_for(m, bsel) : NULL;
    int wsel = -1;
    if (in != NULL && (v = param(m, "w")) != NULL)
        wsel = find_member_slot(m, in, v);

    /* Anything besides what selects the view is an edit. */
    int edits = 0;
    for (int i = 0; i < m->n_params; i++) {
        const char *k = m->params[i].key;
        if (strcmp(k, "b") != 0 && strcmp(k, "w") != 0 && strcmp(k, "nonce") != 0 &&
            strcmp(k, "xml") != 0 && strcmp(k, "json") != 0)
            edits = 1;
    }
    int status = 200;
    if (edits && in != NULL) {
        const char *ref = NULL;
        for (int i = 0; i < r->h.n_headers; i++)
            if (util_strcaseeq(r->h.headers[i].name, "Referer"))
                ref = r->h.headers[i].value;
        char nonce[sizeof(in->nonce)];
        field(nonce, sizeof(nonce), in->nonce, sizeof(in->nonce));
        const char *given = param(m, "nonce");
        if (ref == NULL || !safe_referer(r, ref)) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, r->c->client_addr,
                    "ignoring params in balancer-manager cross-site access (Referer %s)",
                    ref ? ref : "missing");
        } else if (nonce[0] != '\0' && (given == NULL || !nonce_eq(given, nonce))) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, r->c->client_addr,
                    "%s: ignoring balancer-manager changes: %s nonce", bsel->name,
                    given ? "wrong" : "missing");
        } else if (slotmem_lock(m->sm) < 0) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, errno, r->c->client_addr,
                    "%s: cannot lock the balancer segment", bsel->name);
            return respond_error(r, 500, NULL, deadline);
        } else {
            if (wsel >= 0)
                edit_member(m, in, balancer_shm_slot(m->sm, (unsigned)wsel));
            int rc = edit_balancer(m, bsel, in);
            slotmem_unlock(m->sm);
            if (rc != 0)
                return respond_error(r, rc, NULL, deadline);
            log_msg(MOD_PROXY_BALANCER, LL_NOTICE, 0, r->c->client_addr,
                    "%s: balancer-manager changes applied%s%s", bsel->name, wsel >= 0 ? " to " : "",
                    wsel >= 0 ? param(m, "w") : "");
        }
    } else if (edits) {
        log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, r->c->client_addr,
                "ignoring balancer-manager changes: no such balancer");
    }

    const char *ctype;
    if (param(m, "xml") != NULL) {
        render_xml(m);
        ctype = "text/xml; charset=utf-8";
    } else if (param(m, "json") != NULL) {
        render_json(m);
        ctype = "application/json";
    } else {
        render_html(m, bsel, wsel);
        ctype = "text/html; charset=utf-8";
    }
    if (m->oom)
        return respond_error(r, 500, NULL, deadline);
    struct resp_header h[2] = {{"Content-Type", ctype}, {"Cache-Control", "no-cache"}};
    return respond_send(r, status, h, 2, m->buf, m->len, -1, deadline);
}
