/* lbmethod bybusyness: fewest requests in flight (busy, counted across all processes);
 * ties on busy are settled with byrequests' accounting, so weights matter only there. */
#include "lbmethod.h"

static int is_best_bybusyness(struct balancer_slot *cur, struct balancer_slot *best, void *baton)
{
    int64_t *total = baton;
    int32_t f = atomic_load_explicit(&cur->lbfactor, memory_order_relaxed);
    int64_t st = atomic_load_explicit(&cur->lbstatus, memory_order_relaxed) + f;
    int64_t busy, best_busy;

    atomic_store_explicit(&cur->lbstatus, st, memory_order_relaxed);
    *total += f;
    if (!best)
        return 1;
    busy = atomic_load_explicit(&cur->busy, memory_order_relaxed);
    best_busy = atomic_load_explicit(&best->busy, memory_order_relaxed);
    return busy < best_busy ||
           (busy == best_busy && st > atomic_load_explicit(&best->lbstatus, memory_order_relaxed));
}

static int find_bybusyness(const struct lb_view *v)
{
    int64_t total = 0;
    int i = lbmethod_walk_tiers(v, is_best_bybusyness, &total);

    if (i >= 0)
        atomic_fetch_sub_explicit(&v->slots[i]->lbstatus, total, memory_order_relaxed);
    return i;
}

/* busy is not reset here although httpd does: requests in flight still hold it and would
 * drive it below its true value when they end (release floors at 0, but the count would
 * stay wrong until the member is idle). */
static void reset_bybusyness(const struct lb_view *v)
{
    for (unsigned i = 0; i < v->n; i++)
        atomic_store_explicit(&v->slots[i]->lbstatus, 0, memory_order_relaxed);
}

const struct lbmethod lbmethod_bybusyness = {"bybusyness", find_bybusyness, reset_bybusyness};
