/* Member selection for balancer:// (mod_proxy_balancer's pre_request and the helpers the
 * lbmethods share; apache-behaviour.md 2.2-2.5). Everything a decision reads or writes is
 * in the member slots: status flags, lbfactor, lbset, route and redirect are copied there
 * from the config by balancer_shm_create() and may be changed at run time (balancer-
 * manager, health checks, another worker marking a member in error), so the config's
 * copies are never consulted here.
 *
 * Locking: one selection (forcerecovery, sticky lookup, the lbmethod, elected/busy) runs
 * under the segment's process-shared lock, so two workers never both take the "next"
 * member. mark_error/release/account are single atomic updates and take no lock.
 *
 * Unit tests have no segment: balancer_set_test_slots() gives a plain array of slots that
 * m->slot indexes, and selection runs without a lock. */
#include "balancer.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "balancer_slot.h"
#include "lbmethod.h"
#include "slotmem.h"
#include "util.h"

static struct slotmem *bal_shm;
static struct balancer_slot *bal_test_slots;

void balancer_set_shm(struct slotmem *sm)
{
    bal_shm = sm;
}

struct slotmem *balancer_get_shm(void)
{
    return bal_shm;
}

void balancer_set_test_slots(struct balancer_slot *base)
{
    bal_test_slots = base;
}

int64_t balancer_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static struct balancer_slot *slot_of(const struct proxy_member *m)
{
    if (bal_shm)
        return slotmem_slot(bal_shm, m->slot);
    if (bal_test_slots)
        return &bal_test_slots[m->slot];
    return NULL;
}

static int bal_lock(void)
{
    return bal_shm ? slotmem_lock(bal_shm) : 0;
}

static void bal_unlock(void)
{
    if (bal_shm)
        slotmem_unlock(bal_shm);
}

/* ---- lbmethod registry and the helpers every method shares ---- */

static const struct lbmethod *const lbmethods[] = {
    &lbmethod_byrequests,
    &lbmethod_bytraffic,
    &lbmethod_bybusyness,
    &lbmethod_heartbeat,
};

const struct lbmethod *lbmethod_find(const char *name)
{
    if (!name)
        return NULL;
    for (size_t i = 0; i < ARRAY_LEN(lbmethods); i++)
        if (util_strcaseeq(lbmethods[i]->name, name))
            return lbmethods[i];
    return NULL;
}

static uint32_t slot_status(const struct balancer_slot *s)
{
    return atomic_load_explicit(&s->status, memory_order_relaxed);
}

int lbmethod_slot_usable(const struct balancer_slot *s)
{
    return !(slot_status(s) & (MEMBER_DISABLED | MEMBER_STOPPED | MEMBER_ERROR | MEMBER_HCFAIL));
}

int lbmethod_slot_retry(struct balancer_slot *s, int64_t now_ms)
{
    uint32_t st = slot_status(s);

    if ((st & MEMBER_ERROR) && !(st & MEMBER_STOPPED)) {
        int64_t since = atomic_load_explicit(&s->error_time_ms, memory_order_relaxed);
        int32_t retry = atomic_load_explicit(&s->retry_ms, memory_order_relaxed);

        if ((st & MEMBER_IGNORE) || now_ms > since + retry) {
            atomic_fetch_and(&s->status, ~MEMBER_ERROR);
            atomic_fetch_add_explicit(&s->retries, 1, memory_order_relaxed);
        }
    }
    return lbmethod_slot_usable(s);
}

int lbmethod_candidate(const struct lb_view *v, unsigned i)
{
    return !v->tried || !v->tried[i];
}

int lbmethod_walk_tiers(const struct lb_view *v,
                        int (*is_best)(struct balancer_slot *cur, struct balancer_slot *best,
                                       void *baton),
                        void *baton)
{
    int best = -1;
    int32_t max_lbset = 0;

    for (unsigned i = 0; i < v->n; i++) {
        int32_t ls = atomic_load_explicit(&v->slots[i]->lbset, memory_order_relaxed);

        if (ls > max_lbset)
            max_lbset = ls > 99 ? 99 : ls; /* the config allows 0..99: never trust shm more */
    }

    for (int32_t cur = 0; best < 0 && cur <= max_lbset; cur++) {
        unsigned unusable = 0, spares_used = 0;

        /* scratch[i]: 1 usable spare, 2 usable standby of this tier, 0 otherwise. */
        for (unsigned i = 0; i < v->n; i++) {
            struct balancer_slot *s = v->slots[i];
            uint32_t st;
            int reserve;

            v->scratch[i] = 0;
            if (atomic_load_explicit(&s->lbset, memory_order_relaxed) != cur)
                continue;
            st = slot_status(s);
            reserve = (st & (MEMBER_SPARE | MEMBER_STANDBY)) != 0;
            /* A draining or already tried regular is a hole a spare may fill; a draining
             * or tried spare/standby is simply out. */
            if ((st & MEMBER_DRAIN) || !lbmethod_candidate(v, i)) {
                if (!reserve)
                    unusable++;
                continue;
            }
            if (!lbmethod_slot_usable(s))
                lbmethod_slot_retry(s, v->now_ms);
            st = slot_status(s);
            if (st & MEMBER_SPARE) {
                if (lbmethod_slot_usable(s))
                    v->scratch[i] = 1;
            } else if (st & MEMBER_STANDBY) {
                if (lbmethod_slot_usable(s))
                    v->scratch[i] = 2;
            } else if (lbmethod_slot_usable(s)) {
                if (is_best(s, best >= 0 ? v->slots[best] : NULL, baton))
                    best = (int)i;
            } else {
                unusable++;
            }
        }
        /* Spares replace unusable regulars one for one, in config order. */
        for (unsigned i = 0; i < v->n && spares_used < unusable; i++) {
            if (v->scratch[i] != 1)
                continue;
            spares_used++;
            if (is_best(v->slots[i], best >= 0 ? v->slots[best] : NULL, baton))
                best = (int)i;
        }
        if (best < 0)
            for (unsigned i = 0; i < v->n; i++)
                if (v->scratch[i] == 2 &&
                    is_best(v->slots[i], best >= 0 ? v->slots[best] : NULL, baton))
                    best = (int)i;
    }
    return best;
}

/* ---- sticky sessions ---- */

/* httpd's get_path_param: a raw substring search, so "xjsessionid=" matches "jsessionid"
 * too, as in httpd. The value ends at '?' or '&' (and ';' with scolonpathdelim). An empty
 * value makes the search go on to the next occurrence (httpd's strtok would instead skip
 * the delimiters and take whatever follows). */
static const char *find_url_param(const char *url, const char *name, int scolon, size_t *len)
{
    size_t nl = strlen(name);

    if (nl == 0)
        return NULL;
    for (const char *p = strstr(url, name); p; p = strstr(p + 1, name)) {
        const char *q = p + nl;
        size_t l;

        if (*q != '=')
            continue;
        q++;
        l = strcspn(q, scolon ? ";?&" : "?&");
        if (l > 0) {
            *len = l;
            return q;
        }
    }
    return NULL;
}

/* httpd's get_cookie_param: NAME at the start or after ';', ',' or white space, optional
 * white space before '=', a non-empty value running to ';' or ','. Case-sensitive. */
static const char *find_cookie(const char *cookies, const char *name, size_t *len)
{
    size_t nl = strlen(name);

    if (nl == 0)
        return NULL;
    for (const char *p = strstr(cookies, name); p; p = strstr(p + 1, name)) {
        const char *q;

        if (p != cookies && p[-1] != ';' && p[-1] != ',' && !isspace((unsigned char)p[-1]))
            continue;
        q = p + nl;
        while (*q && isspace((unsigned char)*q))
            q++;
        if (*q == '=' && q[1]) {
            q++;
            *len = strcspn(q, ";,");
            return q;
        }
    }
    return NULL;
}

int balancer_sticky_route(const struct proxy_balancer *b, const char *path_query,
                          const char *cookie, char *route, size_t routelen, const char **used)
{
    const char *param_name, *cookie_name, *val = NULL;
    size_t len = 0;

    *used = NULL;
    if (routelen)
        route[0] = '\0';
    if (!b->sticky || !*b->sticky || routelen == 0)
        return 0;
    param_name = b->sticky_param ? b->sticky_param : b->sticky;
    cookie_name = b->sticky_cookie ? b->sticky_cookie : b->sticky;

    /* The URL parameter wins over the cookie, even when its value holds no route. */
    if (path_query && (val = find_url_param(path_query, param_name, b->scolonpathdelim, &len)))
        *used = param_name;
    else if (cookie && (val = find_cookie(cookie, cookie_name, &len)))
        *used = cookie_name;
    if (!val)
        return 0;
    if (b->sticky_sep) {
        const char *sep = memchr(val, b->sticky_sep, len);

        /* No separator: no route at all, the request is balanced normally. */
        if (!sep) {
            *used = NULL;
            return 0;
        }
        len -= (size_t)(sep + 1 - val);
        val = sep + 1;
    }
    if (len >= routelen) { /* longer than any member's route: a prefix must not match */
        *used = NULL;
        return 0;
    }
    memcpy(route, val, len);
    route[len] = '\0';
    return 1;
}

/* The slot's route fields are fixed-size arrays that another process may rewrite (under
 * the lock we hold): compare within their bounds. */
static int slot_route_eq(const char *field, size_t size, const char *route)
{
    return field[0] && strnlen(field, size) < size && strncmp(field, route, size) == 0;
}

static int sticky_usable(const struct lb_view *v, unsigned i)
{
    struct balancer_slot *s = v->slots[i];

    if (!lbmethod_candidate(v, i))
        return 0;
    return lbmethod_slot_usable(s) || lbmethod_slot_retry(s, v->now_ms);
}

/* httpd's find_route_worker: the first member owning `route`, non-standby members first;
 * an unusable one hands over to its redirect= route, the chain bounded by the member count
 * so redirect cycles end. Draining members qualify: they keep their sessions. */
static int find_route(const struct lb_view *v, const char *route, unsigned depth)
{
    for (int standby = 0; standby < 2; standby++) {
        for (unsigned i = 0; i < v->n; i++) {
            struct balancer_slot *s = v->slots[i];
            char redirect[sizeof s->redirect];
            int r;

            if (((slot_status(s) & MEMBER_STANDBY) != 0) != standby)
                continue;
            if (!slot_route_eq(s->route, sizeof s->route, route))
                continue;
            if (sticky_usable(v, i))
                return (int)i;
            if (!s->redirect[0] || depth >= v->n)
                continue;
            memcpy(redirect, s->redirect, sizeof redirect);
            redirect[sizeof redirect - 1] = '\0';
            r = find_route(v, redirect, depth + 1);
            if (r >= 0)
                return r;
        }
    }
    return -1;
}

static int route_owned(const struct lb_view *v, const char *route)
{
    for (unsigned i = 0; i < v->n; i++)
        if (slot_route_eq(v->slots[i]->route, sizeof v->slots[i]->route, route))
            return 1;
    return 0;
}

/* ---- the selection ---- */

/* Per-process arrays for the view, grown when a larger balancer is seen (at most a few
 * times per process: never per request in steady state). */
static struct proxy_member **view_members;
static struct balancer_slot **view_slots;
static int32_t *view_scratch;
static unsigned char *view_tried;
static unsigned view_cap;

/* Members added at run time (balancer-manager, a growth slot with BSLOT_F_RUNTIME): each
 * process makes its own struct proxy_member for such a slot the first time it sees it, indexed
 * by slot number. The worker is left NULL for proxy.c to resolve outside the lock; the URL
 * copy notices a slot that was given to another member since. */
struct rt_member {
    struct proxy_member m;
    char url[sizeof(((struct balancer_slot *)0)->url)];
};
static struct rt_member *rt_members;
static unsigned rt_cap;

static unsigned capacity(const struct proxy_balancer *b)
{
    return b->n_members + (b->growth > 0 ? (unsigned)b->growth : 0);
}

unsigned balancer_capacity(const struct proxy_balancer *b)
{
    return b ? capacity(b) : 0;
}

static struct balancer_slot *slot_at(unsigned i)
{
    if (bal_shm)
        return slotmem_slot(bal_shm, i);
    if (bal_test_slots)
        return &bal_test_slots[i];
    return NULL;
}

static int slot_is_runtime(const struct balancer_slot *s)
{
    return atomic_load_explicit(&s->in_use, memory_order_acquire) == 1 &&
           (atomic_load_explicit(&s->flags, memory_order_relaxed) & BSLOT_F_RUNTIME) != 0;
}

int balancer_member_is_runtime(const struct proxy_member *m)
{
    return m && m->balancer && m->slot >= m->balancer->slot_base + m->balancer->n_members;
}

/* The runtime member of growth slot k of b (under the lock). NULL when out of memory. */
static struct proxy_member *rt_member(struct proxy_balancer *b, unsigned k,
                                      const struct balancer_slot *s)
{
    if (k >= rt_cap) {
        unsigned cap = k + 16;
        struct rt_member *n = realloc(rt_members, cap * sizeof *n);

        if (!n)
            return NULL;
        memset(n + rt_cap, 0, (cap - rt_cap) * sizeof *n);
        rt_members = n;
        rt_cap = cap;
    }
    struct rt_member *e = &rt_members[k];
    if (e->m.balancer != b || strncmp(e->url, s->url, sizeof e->url) != 0) {
        memset(e, 0, sizeof *e);
        memcpy(e->url, s->url, sizeof e->url);
        e->url[sizeof e->url - 1] = '\0';
        e->m.balancer = b;
        e->m.slot = k;
        e->m.route = "";
        e->m.redirect = "";
        e->m.lbfactor = 100;
        e->m.file = "balancer-manager";
    }
    return &e->m;
}

static int build_view(struct proxy_balancer *b, const unsigned char *tried, int64_t now_ms,
                      struct lb_view *v)
{
    unsigned n = 0, cap_b = capacity(b);

    if (cap_b > view_cap) {
        unsigned cap = cap_b < 16 ? 16 : cap_b;
        struct proxy_member **m = realloc(view_members, cap * sizeof *m);
        struct balancer_slot **s;
        int32_t *sc;
        unsigned char *t;

        if (!m)
            return -1;
        view_members = m;
        if (!(s = realloc(view_slots, cap * sizeof *s)))
            return -1;
        view_slots = s;
        if (!(sc = realloc(view_scratch, cap * sizeof *sc)))
            return -1;
        view_scratch = sc;
        if (!(t = realloc(view_tried, cap)))
            return -1;
        view_tried = t;
        view_cap = cap;
    }
    for (struct proxy_member *m = b->members; m && n < b->n_members; m = m->next) {
        struct balancer_slot *s = slot_of(m);

        if (!s)
            return -1;
        view_members[n] = m;
        view_slots[n] = s;
        view_tried[n] = tried ? tried[n] : 0;
        n++;
    }
    /* Growth slots in use: members added at run time, after the config's ones. tried[] is
     * indexed by balancer_member_index(), slot - slot_base for these. */
    for (unsigned k = b->slot_base + b->n_members; k < b->slot_base + cap_b; k++) {
        struct balancer_slot *s = slot_at(k);
        struct proxy_member *m;

        if (!s || !slot_is_runtime(s))
            continue;
        if (!(m = rt_member(b, k, s)))
            return -1;
        view_members[n] = m;
        view_slots[n] = s;
        view_tried[n] = tried ? tried[k - b->slot_base] : 0;
        n++;
    }
    v->members = view_members;
    v->slots = view_slots;
    v->scratch = view_scratch;
    v->n = n;
    v->tried = view_tried;
    v->now_ms = now_ms;
    return 0;
}

/* The balancer's record in the segment (lbmethod, sticky and the other values the balancer-
 * manager may change), or NULL without a segment. */
static struct balancer_shm_info *info_of(const struct proxy_balancer *b)
{
    struct balancer_shm_info *in = bal_shm ? balancer_shm_info(bal_shm, b->index) : NULL;

    if (in && strncmp(in->name, b->name, sizeof in->name) != 0)
        return NULL;
    return in;
}

static void copy_bounded(char *dst, size_t dstlen, const char *src, size_t size)
{
    size_t n = strnlen(src, size);

    if (n >= dstlen)
        n = dstlen - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

int balancer_params(const struct proxy_balancer *b, struct balancer_params *out)
{
    const struct balancer_shm_info *in = info_of(b);
    unsigned members = b->n_members;

    memset(out, 0, sizeof *out);
    util_strlcpy(out->lbmethod, b->lbmethod && *b->lbmethod ? b->lbmethod : "byrequests",
                 sizeof out->lbmethod);
    util_strlcpy(out->sticky, b->sticky ? b->sticky : "", sizeof out->sticky);
    out->maxattempts = b->maxattempts;
    out->timeout_ms = b->timeout_ms;
    out->nofailover = b->nofailover;
    if (in) {
        copy_bounded(out->lbmethod, sizeof out->lbmethod, in->lbmethod, sizeof in->lbmethod);
        copy_bounded(out->sticky, sizeof out->sticky, in->sticky, sizeof in->sticky);
        out->maxattempts = in->maxattempts;
        out->timeout_ms = in->timeout_ms;
        out->nofailover = (int)in->nofailover;
    }
    for (unsigned k = b->slot_base + b->n_members; k < b->slot_base + capacity(b); k++) {
        struct balancer_slot *s = slot_at(k);

        if (s && slot_is_runtime(s))
            members++;
    }
    out->members = members;
    if (out->maxattempts < 0)
        out->maxattempts = members > 1 ? (int)members - 1 : 0;
    return 0;
}

/* The lbmethod in the segment (the balancer-manager may have changed it), else the config's. */
static const struct lbmethod *method_of(const struct proxy_balancer *b)
{
    const struct balancer_shm_info *in = info_of(b);
    const struct lbmethod *lm = NULL;

    if (in) {
        char name[sizeof in->lbmethod];

        copy_bounded(name, sizeof name, in->lbmethod, sizeof in->lbmethod);
        lm = lbmethod_find(name);
    }
    if (!lm)
        lm = lbmethod_find(b->lbmethod);
    return lm ? lm : &lbmethod_byrequests;
}

/* httpd's force_recovery: when every member is in error, first give each its normal retry
 * (stopping at the first that recovers), then with forcerecovery=On clear them all. */
static void force_recovery(const struct proxy_balancer *b, const struct lb_view *v)
{
    for (unsigned i = 0; i < v->n; i++) {
        if (!(slot_status(v->slots[i]) & MEMBER_ERROR))
            return;
        lbmethod_slot_retry(v->slots[i], v->now_ms);
        if (!(slot_status(v->slots[i]) & MEMBER_ERROR))
            return;
    }
    if (!b->forcerecovery)
        return;
    for (unsigned i = 0; i < v->n; i++) {
        atomic_fetch_add_explicit(&v->slots[i]->retries, 1, memory_order_relaxed);
        atomic_fetch_and(&v->slots[i]->status, ~MEMBER_ERROR);
    }
}

/* Sticky hits count toward fairness: httpd's default "updatelbstatus" for every method,
 * over every usable member, without tiers. */
static void account_sticky(const struct lb_view *v, unsigned chosen)
{
    int64_t total = 0;

    for (unsigned i = 0; i < v->n; i++) {
        struct balancer_slot *s = v->slots[i];

        if (lbmethod_slot_usable(s)) {
            int32_t f = atomic_load_explicit(&s->lbfactor, memory_order_relaxed);

            atomic_fetch_add_explicit(&s->lbstatus, f, memory_order_relaxed);
            total += f;
        }
    }
    atomic_fetch_sub_explicit(&v->slots[chosen]->lbstatus, total, memory_order_relaxed);
}

/* Where this process notes the member slot it holds busy (its scoreboard slot), so the
 * master can release it when the process dies mid-request. */
static _Atomic int32_t *busy_note;

void balancer_set_busy_note(_Atomic int32_t *note)
{
    busy_note = note;
}

static void take(const struct lb_view *v, int i, struct balancer_choice *out)
{
    atomic_fetch_add_explicit(&v->slots[i]->elected, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&v->slots[i]->busy, 1, memory_order_relaxed);
    out->member = v->members[i];
    if (busy_note != NULL)
        atomic_store(busy_note, (int32_t)out->member->slot + 1);
}

/* The balancer as the segment says it is now: the balancer-manager may have changed
 * stickysession and nofailover. The sticky names live in static storage (prefork: one
 * request at a time per process), since balancer_choice.sticky_name may point to them. */
static const struct proxy_balancer *effective(const struct proxy_balancer *b,
                                              struct proxy_balancer *copy)
{
    static char sticky[sizeof(((struct balancer_shm_info *)0)->sticky)];
    static char cookie[sizeof sticky], param[sizeof sticky];
    const struct balancer_shm_info *in = info_of(b);

    if (!in)
        return b;
    copy_bounded(sticky, sizeof sticky, in->sticky, sizeof in->sticky);
    if ((int)in->nofailover == b->nofailover && strcmp(sticky, b->sticky ? b->sticky : "") == 0)
        return b;
    *copy = *b;
    copy->nofailover = (int)in->nofailover;
    if (strcmp(sticky, b->sticky ? b->sticky : "") == 0)
        return copy;
    if (!sticky[0]) {
        copy->sticky = copy->sticky_cookie = copy->sticky_param = NULL;
        return copy;
    }
    const char *bar = strchr(sticky, '|');
    if (bar) {
        copy_bounded(cookie, sizeof cookie, sticky, (size_t)(bar - sticky));
        util_strlcpy(param, bar + 1, sizeof param);
    } else {
        util_strlcpy(cookie, sticky, sizeof cookie);
        util_strlcpy(param, sticky, sizeof param);
    }
    copy->sticky = sticky;
    copy->sticky_cookie = cookie;
    copy->sticky_param = param;
    return copy;
}

int balancer_choose(struct proxy_balancer *b, const char *path_query, const char *cookie,
                    const unsigned char *tried, int64_t now_ms, struct balancer_choice *out)
{
    struct lb_view v;
    const struct lbmethod *lm;
    struct proxy_balancer copy;
    const struct proxy_balancer *eb;
    struct balancer_shm_info *in;
    int sticky_conf, idx = -1;

    out->member = NULL;
    out->sticky_name = NULL;
    out->session_route = NULL;
    out->route_changed = 0;
    out->nofailover_503 = 0;
    out->session_route_buf[0] = '\0';
    if (!b || capacity(b) == 0)
        return 0;
    if (bal_lock() < 0)
        return -1;
    lm = method_of(b);
    eb = effective(b, &copy);
    sticky_conf = eb->sticky && *eb->sticky;
    if (build_view(b, tried, now_ms, &v) < 0)
        goto fail;
    /* The balancer-manager changed the lbmethod or re-enabled a member (httpd's need_reset,
     * done by the next selection in any process). */
    if ((in = info_of(b)) && atomic_exchange(&in->need_reset, 0))
        lm->reset(&v);

    force_recovery(eb, &v);

    if (sticky_conf && balancer_sticky_route(eb, path_query, cookie, out->session_route_buf,
                                             sizeof out->session_route_buf, &out->sticky_name)) {
        const char *route = out->session_route_buf;

        out->session_route = route;
        if (*route && (idx = find_route(&v, route, 1)) >= 0) {
            account_sticky(&v, (unsigned)idx);
            if (!slot_route_eq(v.slots[idx]->route, sizeof v.slots[idx]->route, route))
                out->route_changed = 1;
            take(&v, idx, out);
            bal_unlock();
            return 0;
        }
        if (*route && eb->nofailover && route_owned(&v, route)) {
            out->nofailover_503 = 1;
            bal_unlock();
            return 0;
        }
    }

    idx = lm->find(&v);
    if (idx >= 0)
        take(&v, idx, out);
    bal_unlock();

    /* A sticky balancer tells the response to (re)issue the route cookie. */
    if (idx >= 0 && sticky_conf)
        out->route_changed = 1;
    return 0;

fail:
    bal_unlock();
    return -1;
}

void balancer_release(struct proxy_member *m)
{
    struct balancer_slot *s = m ? slot_of(m) : NULL;
    int64_t cur;

    if (!s)
        return;
    if (busy_note != NULL)
        atomic_store(busy_note, 0);
    cur = atomic_load_explicit(&s->busy, memory_order_relaxed);
    while (cur > 0 && !atomic_compare_exchange_weak(&s->busy, &cur, cur - 1))
        ;
}

void balancer_mark_error(struct proxy_member *m, int64_t now_ms)
{
    struct balancer_slot *s = m ? slot_of(m) : NULL;

    if (!s || (slot_status(s) & MEMBER_IGNORE))
        return;
    atomic_store_explicit(&s->error_time_ms, now_ms, memory_order_relaxed);
    /* errors counts entries into the error state, not every failure while in it. */
    if (!(atomic_fetch_or(&s->status, MEMBER_ERROR) & MEMBER_ERROR))
        atomic_fetch_add_explicit(&s->errors, 1, memory_order_relaxed);
}

void balancer_account(struct proxy_member *m, uint64_t transferred, uint64_t read)
{
    struct balancer_slot *s = m ? slot_of(m) : NULL;

    if (!s)
        return;
    atomic_fetch_add_explicit(&s->transferred, transferred, memory_order_relaxed);
    atomic_fetch_add_explicit(&s->read, read, memory_order_relaxed);
}

unsigned balancer_member_index(const struct proxy_member *m)
{
    unsigned i = 0;

    if (balancer_member_is_runtime(m))
        return m->slot - m->balancer->slot_base;

    for (const struct proxy_member *p = m->balancer ? m->balancer->members : NULL; p;
         p = p->next, i++)
        if (p == m)
            return i;
    return 0;
}

int balancer_reset(struct proxy_balancer *b)
{
    struct lb_view v;

    if (!b || capacity(b) == 0)
        return 0;
    if (bal_lock() < 0)
        return -1;
    if (build_view(b, NULL, balancer_now_ms(), &v) < 0)
        goto fail;
    method_of(b)->reset(&v);
    bal_unlock();
    return 0;

fail:
    bal_unlock();
    return -1;
}

int balancer_member_url(const struct proxy_member *m, char *buf, size_t len)
{
    const struct balancer_slot *s = m ? slot_of(m) : NULL;

    if (!s || len == 0)
        return -1;
    copy_bounded(buf, len, s->url, sizeof s->url);
    return buf[0] ? 0 : -1;
}

int balancer_member_route(const struct proxy_member *m, char *buf, size_t len)
{
    const struct balancer_slot *s = m ? slot_of(m) : NULL;

    if (len == 0)
        return -1;
    buf[0] = '\0';
    if (!s)
        return -1;
    /* Route edits are written under the lock; a bounded copy is enough for the env var. */
    copy_bounded(buf, len, s->route, sizeof s->route);
    return 0;
}
