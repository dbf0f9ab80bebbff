/* lbmethod byrequests (httpd's default): weighted request counting. The schedule and a
 * worked example are in lbmethod.h; this is the is_best callback plus the final charge. */
#include "lbmethod.h"

static int is_best_byrequests(struct balancer_slot *cur, struct balancer_slot *best, void *baton)
{
    int64_t *total = baton;
    int32_t f = atomic_load_explicit(&cur->lbfactor, memory_order_relaxed);
    int64_t st = atomic_load_explicit(&cur->lbstatus, memory_order_relaxed) + f;

    atomic_store_explicit(&cur->lbstatus, st, memory_order_relaxed);
    *total += f;
    /* Strict '>': ties stay with the earlier member in config order. */
    return !best || st > atomic_load_explicit(&best->lbstatus, memory_order_relaxed);
}

static int find_byrequests(const struct lb_view *v)
{
    int64_t total = 0;
    int i = lbmethod_walk_tiers(v, is_best_byrequests, &total);

    if (i >= 0)
        atomic_fetch_sub_explicit(&v->slots[i]->lbstatus, total, memory_order_relaxed);
    return i;
}

static void reset_byrequests(const struct lb_view *v)
{
    for (unsigned i = 0; i < v->n; i++)
        atomic_store_explicit(&v->slots[i]->lbstatus, 0, memory_order_relaxed);
}

const struct lbmethod lbmethod_byrequests = {"byrequests", find_byrequests, reset_byrequests};
