/* Unit tests for shm/balancer_shm.c: creation and binding, the global area, read-only
 * attach, carry-over across simulated graceful restarts (members added, removed,
 * reordered; one URL in two balancers; a URL listed twice), BalancerPersist on and off,
 * lbmethod and health-check changes, refusals that must leave the running segment alone,
 * unlink, and a config loaded through conf_load() when BalancerMember parses.
 *
 * Configurations are built by hand from the proxy_types.h structs so these tests do not
 * depend on the config parser. Segment names derive from per-run PidFile paths, all
 * unlinked at exit. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "balancer_slot.h"
#include "conf_types.h"
#include "proxy_types.h"
#include "slotmem.h"
#include "tap.h"
#include "testconf.h"
#include "util.h"

/* ---- cleanup ---- */

static char pid_files[4][128];
static int n_pid_files;
static pid_t test_pid;

static const char *new_pid_file(const char *what)
{
    if (n_pid_files >= 4)
        abort();
    snprintf(pid_files[n_pid_files], sizeof(pid_files[0]), "/nonexistent/bshm-test.%ld.%s.pid",
             (long)getpid(), what);
    return pid_files[n_pid_files++];
}

static void cleanup(void)
{
    if (getpid() != test_pid)
        return;
    for (int i = 0; i < n_pid_files; i++)
        balancer_shm_unlink(pid_files[i]);
    testconf_clean();
}

static void on_signal(int sig)
{
    (void)sig;
    cleanup();
    _exit(1);
}

/* ---- hand-built configurations ---- */

#define T_MAX 16

struct tconf {
    struct proxy_global_conf pg;
    struct proxy_balancer b[4];
    struct proxy_member m[T_MAX];
    struct proxy_worker w[T_MAX];
    char urls[T_MAX][200];
    int nb, nm;
};

static void tc_init(struct tconf *t, int persist)
{
    memset(t, 0, sizeof(*t));
    t->pg.balancer_persist = persist;
}

static struct proxy_balancer *tc_balancer(struct tconf *t, const char *name, const char *lbmethod,
                                          int growth)
{
    struct proxy_balancer *b = &t->b[t->nb];
    b->name = (char *)name;
    b->lbmethod = (char *)lbmethod;
    b->growth = growth;
    b->maxattempts = CONF_UNSET;
    b->index = (unsigned)t->nb;
    if (t->nb > 0)
        t->b[t->nb - 1].next = b;
    else
        t->pg.balancers = b;
    t->nb++;
    t->pg.n_balancers = (unsigned)t->nb;
    return b;
}

static struct proxy_member *tc_member(struct tconf *t, struct proxy_balancer *b, const char *url,
                                      const char *route, int lbfactor)
{
    struct proxy_member *m = &t->m[t->nm];
    struct proxy_worker *w = &t->w[t->nm];
    snprintf(t->urls[t->nm], sizeof(t->urls[0]), "%s", url);
    w->name = t->urls[t->nm];
    w->retry_ms = 60000;
    m->worker = w;
    m->balancer = b;
    m->route = (char *)(route ? route : "");
    m->redirect = (char *)"";
    m->lbfactor = lbfactor;
    t->nm++;
    struct proxy_member **tail = &b->members;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = m;
    b->n_members++;
    return m;
}

/* What the config code does: consecutive slot ranges, members first, then growth. */
static void tc_finish(struct tconf *t)
{
    unsigned base = 0;
    for (struct proxy_balancer *b = t->pg.balancers; b != NULL; b = b->next) {
        b->slot_base = base;
        unsigned i = 0;
        for (struct proxy_member *m = b->members; m != NULL; m = m->next)
            m->slot = base + i++;
        base += b->n_members + (unsigned)b->growth;
    }
    t->pg.n_member_slots = base;
}

static struct balancer_slot *find_slot(const struct slotmem *sm, const char *bal, const char *url)
{
    for (unsigned i = 0; i < slotmem_count(sm); i++) {
        struct balancer_slot *s = balancer_shm_slot(sm, i);
        if (atomic_load(&s->in_use) && strcmp(s->balancer, bal) == 0 && strcmp(s->url, url) == 0)
            return s;
    }
    return NULL;
}

static unsigned count_url(const struct slotmem *sm, const char *url)
{
    unsigned n = 0;
    for (unsigned i = 0; i < slotmem_count(sm); i++) {
        struct balancer_slot *s = balancer_shm_slot(sm, i);
        n += atomic_load(&s->in_use) && strcmp(s->url, url) == 0;
    }
    return n;
}

#define A   "http://a.example:8001"
#define B   "http://b.example:8002"
#define C   "http://c.example:8003"
#define D   "http://d.example:8004"
#define APP "balancer://app"
#define API "balancer://api"

/* Generation 1: app = a, b (H, lbset 1, GET check), d; api = a (same URL as app's). */
static void conf_gen1(struct tconf *t, int persist)
{
    tc_init(t, persist);
    struct proxy_balancer *app = tc_balancer(t, APP, NULL, 2);
    app->sticky = (char *)"ROUTEID";
    tc_member(t, app, A, "r1", 100);
    struct proxy_member *b = tc_member(t, app, B, "r2", 300);
    b->status = MEMBER_STANDBY;
    b->lbset = 1;
    b->hcmethod = (char *)"GET";
    b->hcinterval_ms = 5000;
    tc_member(t, app, D, "r4", 100);
    struct proxy_balancer *api = tc_balancer(t, API, "bybusyness", 0);
    tc_member(t, api, A, "x", 200);
    tc_finish(t);
}

/* Generation 2: app = c (new), b, a (reordered; d removed; a's route and factor edited in
 * the file); api unchanged. */
static void conf_gen2(struct tconf *t, int persist, const char *app_lbmethod, int b_has_hc)
{
    tc_init(t, persist);
    struct proxy_balancer *app = tc_balancer(t, APP, app_lbmethod, 2);
    tc_member(t, app, C, "r3", 100);
    struct proxy_member *b = tc_member(t, app, B, "r2", 300);
    b->status = MEMBER_STANDBY;
    b->lbset = 1;
    if (b_has_hc) {
        b->hcmethod = (char *)"GET";
        b->hcinterval_ms = 5000;
    }
    tc_member(t, app, A, "r1new", 250);
    struct proxy_balancer *api = tc_balancer(t, API, "bybusyness", 0);
    tc_member(t, api, A, "x", 200);
    tc_finish(t);
}

/* Runtime activity in generation 1, as workers, the heartbeat process and the
 * balancer-manager would leave it. */
static void simulate_traffic(struct slotmem *sm)
{
    struct balancer_slot *a = find_slot(sm, APP, A), *b = find_slot(sm, APP, B);
    struct balancer_slot *d = find_slot(sm, APP, D), *x = find_slot(sm, API, A);

    atomic_store(&a->elected, 10);
    atomic_store(&a->lbstatus, -50);
    atomic_store(&a->busy, 3);
    atomic_store(&a->transferred, 1000);
    atomic_store(&a->read, 2000);
    atomic_fetch_or(&a->status, MEMBER_ERROR);
    atomic_store(&a->error_time_ms, 12345);
    atomic_store(&a->errors, 2);
    atomic_store(&a->retries, 1);
    atomic_store(&a->hb_ready, 7);
    atomic_store(&a->hb_busy, 2);
    atomic_store(&a->hb_seen_ms, 99999);
    atomic_fetch_or(&b->status, MEMBER_HCFAIL);
    atomic_store(&b->hc_fails, 4);
    atomic_store(&b->hc_last_ok, 0);
    atomic_store(&b->hc_last_ms, 5555);
    atomic_store(&d->elected, 1234);
    atomic_store(&x->elected, 77);
    /* balancer-manager edits on a: factor, disable, route are marked edited; lbset is not. */
    atomic_store(&a->lbfactor, 500);
    atomic_fetch_or(&a->status, MEMBER_DISABLED);
    util_strlcpy(a->route, "edited", sizeof(a->route));
    atomic_store(&a->lbset, 3);
    atomic_store(&a->edited, BSLOT_EDITED_LBFACTOR | BSLOT_EDITED_STATUS | BSLOT_EDITED_ROUTE);
    /* A member added at run time in app's first growth slot. */
    struct balancer_slot *g = balancer_shm_slot(sm, 3);
    util_strlcpy(g->balancer, APP, sizeof(g->balancer));
    util_strlcpy(g->url, "http://added.example:9000", sizeof(g->url));
    atomic_store(&g->status, MEMBER_DISABLED);
    atomic_store(&g->lbfactor, 100);
    atomic_store(&g->elected, 5);
    atomic_store(&g->flags, BSLOT_F_RUNTIME);
    atomic_store(&g->in_use, 1);
}

static void test_create(const char *pf)
{
    struct tconf t;
    struct slotmem sm, ro;
    char err[512];

    conf_gen1(&t, 0);
    is_int(balancer_shm_create(&sm, pf, &t.pg, NULL, 1, err, sizeof(err)), 0, "create: %s", err);
    is_int(slotmem_count(&sm), 6, "3 + 2 growth + 1 slots");
    struct balancer_shm_global *g = balancer_shm_global(&sm);
    ok(g != NULL, "global area");
    is_int(atomic_load(&g->ready), 1, "ready published");
    is_int(balancer_shm_count(&sm), 2, "two balancers");
    is_int(g->generation, 1, "global generation");
    is_int(slotmem_generation(&sm), 1, "header generation");
    struct balancer_shm_info *i0 = balancer_shm_info(&sm, 0), *i1 = balancer_shm_info(&sm, 1);
    is_str(i0->name, APP, "info 0 name");
    is_str(i0->lbmethod, "byrequests", "default lbmethod recorded");
    is_str(i0->sticky, "ROUTEID", "sticky recorded");
    ok(i0->slot_base == 0 && i0->n_members == 3 && i0->n_slots == 5, "info 0 range 0+3 of 5");
    ok(strlen(i0->nonce) == 36 && i0->nonce[8] == '-' && i0->nonce[14] == '4',
       "nonce is a v4 UUID (%s)", i0->nonce);
    is_str(i1->lbmethod, "bybusyness", "info 1 lbmethod");
    ok(i1->slot_base == 5 && i1->n_slots == 1, "info 1 starts after app's growth");
    ok(strcmp(i0->nonce, i1->nonce) != 0, "one nonce per balancer");
    ok(balancer_shm_info(&sm, 2) == NULL, "info out of range is NULL");

    struct balancer_slot *s0 = balancer_shm_slot(&sm, 0), *s1 = balancer_shm_slot(&sm, 1);
    is_str(s0->balancer, APP, "slot 0 balancer");
    is_str(s0->url, A, "slot 0 url");
    is_str(s0->route, "r1", "slot 0 route");
    is_int(atomic_load(&s0->lbfactor), 100, "slot 0 factor");
    is_int(atomic_load(&s0->retry_ms), 60000, "retry copied");
    is_int(atomic_load(&s0->in_use), 1, "slot 0 in use");
    is_int(atomic_load(&s0->generation), 1, "slot generation");
    is_int(atomic_load(&s1->status), MEMBER_STANDBY, "config status H");
    is_int(atomic_load(&s1->lbset), 1, "config lbset");
    is_str(s1->hcmethod, "GET", "hcmethod recorded");
    is_int(atomic_load(&s1->hc_interval_ms), 5000, "hcinterval recorded");
    is_str(s0->hcmethod, "", "no health check on a");
    struct balancer_slot *g0 = balancer_shm_slot(&sm, 3);
    ok(atomic_load(&g0->in_use) == 0 && g0->balancer[0] == '\0', "growth slot free");
    is_int(atomic_load(&g0->hc_last_ok), -1, "free slot never checked");
    is_int(atomic_load(&s0->hc_last_ok), -1, "member never checked");
    struct balancer_slot *x = balancer_shm_slot(&sm, 5);
    ok(strcmp(x->balancer, API) == 0 && strcmp(x->url, A) == 0 && x->balancer_index == 1,
       "api's member in its own slot");
    is_int(t.m[0].slot, 0, "member->slot kept");

    is_int(balancer_shm_attach(&ro, pf, err, sizeof(err)), 0, "attach read-only: %s", err);
    is_int(ro.readonly, 1, "mapping is read-only");
    is_int(balancer_shm_count(&ro), 2, "attacher sees two balancers");
    is_str(balancer_shm_slot(&ro, 1)->url, B, "attacher sees slot 1");
    atomic_store(&s0->elected, 42);
    is_int(atomic_load(&balancer_shm_slot(&ro, 0)->elected), 42, "attacher sees live counters");
    is_int(slotmem_lock(&ro), -1, "no lock on a read-only attachment");
    slotmem_detach(&ro);
    slotmem_detach(&sm);
    balancer_shm_unlink(pf);
}

static void test_carry_over(const char *pf, int persist)
{
    struct tconf t1, t2;
    struct slotmem s1, s2, ro;
    char err[512], nonce[40];
    const char *p = persist ? "persist" : "no persist";

    conf_gen1(&t1, persist);
    if (balancer_shm_create(&s1, pf, &t1.pg, NULL, 1, err, sizeof(err)) < 0) {
        ok(0, "create gen 1: %s", err);
        return;
    }
    simulate_traffic(&s1);
    util_strlcpy(nonce, balancer_shm_info(&s1, 0)->nonce, sizeof(nonce));

    conf_gen2(&t2, persist, NULL, 1);
    is_int(balancer_shm_create(&s2, pf, &t2.pg, &s1, 2, err, sizeof(err)), 0, "%s: restart: %s", p,
           err);
    struct balancer_slot *a = find_slot(&s2, APP, A), *b = find_slot(&s2, APP, B);
    struct balancer_slot *c = find_slot(&s2, APP, C), *x = find_slot(&s2, API, A);
    ok(a != NULL && b != NULL && c != NULL && x != NULL, "%s: every member bound", p);
    if (a == NULL || b == NULL || c == NULL || x == NULL)
        goto out;
    ok(a == balancer_shm_slot(&s2, 2), "%s: a moved to slot 2 with its config position", p);
    is_int(atomic_load(&a->elected), 10, "%s: elected carried by URL, not index", p);
    is_int(atomic_load(&a->lbstatus), -50, "%s: lbstatus carried (same lbmethod)", p);
    is_int(atomic_load(&a->busy), 0, "%s: busy not carried", p);
    ok(atomic_load(&a->transferred) == 1000 && atomic_load(&a->read) == 2000, "%s: bytes carried",
       p);
    ok(atomic_load(&a->status) & MEMBER_ERROR, "%s: error state carried", p);
    is_int(atomic_load(&a->error_time_ms), 12345, "%s: error time carried", p);
    ok(atomic_load(&a->errors) == 2 && atomic_load(&a->retries) == 1, "%s: errors, retries", p);
    ok(atomic_load(&a->hb_ready) == 7 && atomic_load(&a->hb_busy) == 2 &&
           atomic_load(&a->hb_seen_ms) == 99999,
       "%s: heartbeat carried", p);
    is_int(atomic_load(&a->generation), 2, "%s: rebound by generation 2", p);
    if (persist) {
        is_int(atomic_load(&a->lbfactor), 500, "persist: edited factor kept");
        ok(atomic_load(&a->status) & MEMBER_DISABLED, "persist: edited D kept");
        is_str(a->route, "edited", "persist: edited route kept");
        is_int(atomic_load(&a->lbset), 0, "persist: unedited lbset follows the config");
        is_int(atomic_load(&a->edited),
               BSLOT_EDITED_LBFACTOR | BSLOT_EDITED_STATUS | BSLOT_EDITED_ROUTE,
               "persist: edited bits kept for the next restart");
        struct balancer_slot *r = find_slot(&s2, APP, "http://added.example:9000");
        ok(r != NULL, "persist: runtime-added member kept");
        if (r != NULL) {
            ok(r == balancer_shm_slot(&s2, 3), "persist: in app's first growth slot");
            ok(atomic_load(&r->elected) == 5 && (atomic_load(&r->flags) & BSLOT_F_RUNTIME) &&
                   (atomic_load(&r->status) & MEMBER_DISABLED),
               "persist: with its state and flags");
        }
    } else {
        is_int(atomic_load(&a->lbfactor), 250, "no persist: factor from the config");
        ok(!(atomic_load(&a->status) & MEMBER_DISABLED), "no persist: runtime D dropped");
        is_str(a->route, "r1new", "no persist: route from the config");
        is_int(atomic_load(&a->edited), 0, "no persist: edits forgotten");
        is_int(count_url(&s2, "http://added.example:9000"), 0,
               "no persist: runtime-added member dropped");
    }
    ok(atomic_load(&b->status) & MEMBER_HCFAIL, "%s: C carried while the check remains", p);
    ok(atomic_load(&b->status) & MEMBER_STANDBY, "%s: config H kept", p);
    ok(atomic_load(&b->hc_fails) == 4 && atomic_load(&b->hc_last_ok) == 0 &&
           atomic_load(&b->hc_last_ms) == 5555,
       "%s: hc counters carried", p);
    ok(atomic_load(&c->elected) == 0 && atomic_load(&c->status) == 0 &&
           atomic_load(&c->hc_last_ok) == -1,
       "%s: new member starts fresh", p);
    is_int(atomic_load(&x->elected), 77, "%s: same URL in another balancer keeps its own", p);
    is_int(count_url(&s2, D), 0, "%s: removed member gone", p);
    is_str(balancer_shm_info(&s2, 0)->nonce, nonce, "%s: nonce kept", p);
    is_int(atomic_load(&find_slot(&s1, APP, A)->elected), 10, "%s: old mapping still readable", p);
    is_int(balancer_shm_attach(&ro, pf, err, sizeof(err)), 0, "%s: attach by name", p);
    is_int(balancer_shm_global(&ro)->generation, 2, "%s: the name now finds generation 2", p);
    slotmem_detach(&ro);
out:
    slotmem_detach(&s1);
    slotmem_detach(&s2);
    balancer_shm_unlink(pf);
}

/* lbmethod change resets lbstatus; a removed health check drops C and the hc counters; a
 * URL listed twice maps one-to-one. */
static void test_changes(const char *pf)
{
    struct tconf t1, t2, t3;
    struct slotmem s1, s2, s3;
    char err[512];

    conf_gen1(&t1, 0);
    if (balancer_shm_create(&s1, pf, &t1.pg, NULL, 1, err, sizeof(err)) < 0) {
        ok(0, "create: %s", err);
        return;
    }
    simulate_traffic(&s1);
    conf_gen2(&t2, 0, "bytraffic", 0);
    is_int(balancer_shm_create(&s2, pf, &t2.pg, &s1, 2, err, sizeof(err)), 0, "restart: %s", err);
    struct balancer_slot *a = find_slot(&s2, APP, A), *b = find_slot(&s2, APP, B);
    is_int(atomic_load(&a->lbstatus), 0, "lbmethod changed: lbstatus reset");
    is_int(atomic_load(&a->elected), 10, "lbmethod changed: counters kept");
    is_str(balancer_shm_info(&s2, 0)->lbmethod, "bytraffic", "new lbmethod recorded");
    ok(!(atomic_load(&b->status) & MEMBER_HCFAIL), "check removed: C dropped");
    ok(atomic_load(&b->hc_last_ok) == -1 && atomic_load(&b->hc_fails) == 0,
       "check removed: hc state dropped");
    is_str(b->hcmethod, "", "check removed: no hcmethod");
    slotmem_detach(&s1);

    /* app lists a twice. */
    tc_init(&t3, 0);
    struct proxy_balancer *app = tc_balancer(&t3, APP, "bytraffic", 0);
    tc_member(&t3, app, A, "1", 100);
    tc_member(&t3, app, A, "2", 100);
    tc_finish(&t3);
    is_int(balancer_shm_create(&s3, pf, &t3.pg, &s2, 3, err, sizeof(err)), 0, "restart 3: %s", err);
    struct balancer_slot *d0 = balancer_shm_slot(&s3, 0), *d1 = balancer_shm_slot(&s3, 1);
    ok(atomic_load(&d0->elected) == 10 && atomic_load(&d1->elected) == 0,
       "duplicate URL: state goes to the first only");
    is_int(balancer_shm_count(&s3), 1, "api removed from the globals");
    slotmem_detach(&s2);
    slotmem_detach(&s3);
    balancer_shm_unlink(pf);
}

static void test_refusals(const char *pf)
{
    struct tconf t, bad;
    struct slotmem s1, s2, ro;
    char err[512];

    conf_gen1(&t, 0);
    if (balancer_shm_create(&s1, pf, &t.pg, NULL, 1, err, sizeof(err)) < 0) {
        ok(0, "create: %s", err);
        return;
    }
    is_int(balancer_shm_create(&s1, pf, &t.pg, &s1, 2, err, sizeof(err)), -1,
           "new handle == old refused");
    ok(s1.hdr != NULL, "old handle untouched");

    conf_gen1(&bad, 0);
    bad.m[0].route = (char *)"0123456789012345678901234567890123456789012345678901234567890123";
    is_int(balancer_shm_create(&s2, pf, &bad.pg, &s1, 2, err, sizeof(err)), -1,
           "64-char route refused");
    ok(strstr(err, "route") != NULL && strstr(err, "too long") != NULL, "message: %s", err);
    ok(s2.hdr == NULL, "no segment on failure");
    is_int(balancer_shm_attach(&ro, pf, err, sizeof(err)), 0,
           "running segment still reachable by name");
    slotmem_detach(&ro);

    conf_gen1(&bad, 0);
    /* 199 characters: fits the config's buffer, not the slot's 160. */
    memset(bad.urls[0], 'x', sizeof(bad.urls[0]) - 1);
    bad.urls[0][sizeof(bad.urls[0]) - 1] = '\0';
    memcpy(bad.urls[0], "http://", 7);
    is_int(balancer_shm_create(&s2, pf, &bad.pg, &s1, 2, err, sizeof(err)), -1,
           "over-long URL refused");
    ok(strstr(err, "member URL") != NULL, "message: %s", err);

    conf_gen1(&bad, 0);
    bad.m[1].slot = 0;
    is_int(balancer_shm_create(&s2, pf, &bad.pg, &s1, 2, err, sizeof(err)), -1,
           "two members on one slot refused");
    ok(strstr(err, "shares slot") != NULL, "message: %s", err);

    conf_gen1(&bad, 0);
    bad.pg.n_member_slots = 4;
    is_int(balancer_shm_create(&s2, pf, &bad.pg, &s1, 2, err, sizeof(err)), -1,
           "slot range beyond n_member_slots refused");
    is_int(errno, EINVAL, "errno EINVAL");

    /* A config without balancers removes the segment. */
    struct proxy_global_conf none;
    memset(&none, 0, sizeof(none));
    is_int(balancer_shm_create(&s2, pf, &none, &s1, 2, err, sizeof(err)), 0,
           "no balancers: success");
    ok(s2.hdr == NULL, "no balancers: no segment");
    errno = 0;
    is_int(balancer_shm_attach(&ro, pf, err, sizeof(err)), -1, "no balancers: nothing to attach");
    is_int(errno, ENOENT, "errno ENOENT");
    ok(ro.hdr == NULL, "failed attach leaves the handle empty");
    is_int(atomic_load(&balancer_shm_slot(&s1, 0)->in_use), 1, "old mapping still usable");
    slotmem_detach(&s1);

    is_int(balancer_shm_create(&s1, pf, &t.pg, NULL, 3, err, sizeof(err)), 0, "create again");
    slotmem_detach(&s1);
    is_int(balancer_shm_unlink(pf), 0, "unlink");
    errno = 0;
    is_int(balancer_shm_unlink(pf), -1, "second unlink fails");
    is_int(errno, ENOENT, "with ENOENT");
}

static void test_status_text(void)
{
    static const struct {
        unsigned status;
        const char *want;
    } cases[] = {
        {0, "Ok"},
        {MEMBER_STANDBY, "H Ok"},
        {MEMBER_ERROR, "E"},
        {MEMBER_DISABLED | MEMBER_STANDBY, "DH"},
        {MEMBER_DRAIN | MEMBER_IGNORE, "IN Ok"},
        {MEMBER_HCFAIL | MEMBER_SPARE, "RC"},
        {MEMBER_STOPPED | MEMBER_ERROR, "SE"},
    };
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        is_str(balancer_status_text(cases[i].status, buf, sizeof(buf)), cases[i].want,
               "status 0x%02x -> %s", cases[i].status, cases[i].want);
}

/* Through the real parser, once BalancerMember is parsed. */
static void test_conf_load(const char *pf)
{
    char errbuf[4096], err[512];
    struct slotmem sm;
    struct conf *c =
        testconf_load("bshm", "Listen 127.0.0.1:8080\nServerName front.example\n",
                      "<Proxy balancer://mycluster>\n"
                      "    BalancerMember http://127.0.0.1:8001 route=one\n"
                      "    BalancerMember http://127.0.0.1:8002 route=two loadfactor=3\n"
                      "    ProxySet growth=2\n"
                      "</Proxy>\n"
                      "ProxyPass /app balancer://mycluster/\n",
                      errbuf, sizeof(errbuf));
    if (c == NULL || c->proxy == NULL || c->proxy->n_balancers != 1) {
        ok(1, "# SKIP BalancerMember not parsed yet (%.80s)", c == NULL ? errbuf : "no balancer");
        if (c != NULL)
            conf_free(c);
        return;
    }
    is_int(balancer_shm_create(&sm, pf, c->proxy, NULL, 1, err, sizeof(err)), 0,
           "parsed config: create: %s", err);
    is_int(slotmem_count(&sm), 4, "parsed config: 2 members + growth 2");
    struct balancer_slot *s = find_slot(&sm, "balancer://mycluster", "http://127.0.0.1:8002");
    ok(s != NULL && strcmp(s->route, "two") == 0 && atomic_load(&s->lbfactor) == 300,
       "parsed config: member two bound with route and factor");
    if (s != NULL)
        atomic_store(&s->elected, 9);

    /* Reload: a new member first, one gone, two moved. */
    struct slotmem sm2;
    struct conf *c2 =
        testconf_load("bshm", "Listen 127.0.0.1:8080\nServerName front.example\n",
                      "<Proxy balancer://mycluster>\n"
                      "    BalancerMember http://127.0.0.1:8003 route=three\n"
                      "    BalancerMember http://127.0.0.1:8002 route=two loadfactor=3\n"
                      "</Proxy>\n"
                      "ProxyPass /app balancer://mycluster/\n",
                      errbuf, sizeof(errbuf));
    ok(c2 != NULL, "parsed config 2 loads: %.200s", errbuf);
    if (c2 != NULL) {
        is_int(balancer_shm_create(&sm2, pf, c2->proxy, &sm, 2, err, sizeof(err)), 0,
               "parsed config 2: restart: %s", err);
        const struct proxy_member *two = c2->proxy->balancers->members->next;
        struct balancer_slot *s2 = balancer_shm_slot(&sm2, two->slot);
        ok(s2 != NULL && strcmp(s2->url, "http://127.0.0.1:8002") == 0,
           "parsed config 2: member->slot points at its slot");
        is_int(s2 ? atomic_load(&s2->elected) : 0, 9, "parsed config 2: counters carried");
        is_int(count_url(&sm2, "http://127.0.0.1:8001"), 0, "parsed config 2: removed member gone");
        slotmem_detach(&sm2);
        conf_free(c2);
    }
    slotmem_detach(&sm);
    balancer_shm_unlink(pf);
    conf_free(c);
}

int main(void)
{
    test_pid = getpid();
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGABRT, on_signal);

    const char *pf = new_pid_file("a");
    test_create(pf);
    test_carry_over(pf, 0);
    test_carry_over(pf, 1);
    test_changes(pf);
    test_refusals(pf);
    test_status_text();
    test_conf_load(new_pid_file("conf"));
    return tap_done();
}
