/* lbmethod bytraffic: the member that moved the fewest bytes (sent plus read) per unit of
 * loadfactor wins. Counters are cumulative since start or reset, never aged, so a member
 * that comes back with fresh counters takes every request until it has caught up: that is
 * httpd's behaviour. */
#include "lbmethod.h"

/* httpd divides each counter by the x100 lbfactor separately (integer division); a factor
 * of 0 can only come from a corrupt slot, and must not trap. */
static uint64_t traffic_of(const struct balancer_slot *s)
{
    int32_t f = atomic_load_explicit(&s->lbfactor, memory_order_relaxed);
    uint64_t d = f > 0 ? (uint64_t)f : 1u;

    return atomic_load_explicit(&s->transferred, memory_order_relaxed) / d +
           atomic_load_explicit(&s->read, memory_order_relaxed) / d;
}

static int is_best_bytraffic(struct balancer_slot *cur, struct balancer_slot *best, void *baton)
{
    uint64_t *min = baton;
    uint64_t t = traffic_of(cur);

    if (!best || t < *min) {
        *min = t;
        return 1;
    }
    return 0;
}

static int find_bytraffic(const struct lb_view *v)
{
    uint64_t min = 0;

    return lbmethod_walk_tiers(v, is_best_bytraffic, &min);
}

static void reset_bytraffic(const struct lb_view *v)
{
    for (unsigned i = 0; i < v->n; i++) {
        atomic_store_explicit(&v->slots[i]->transferred, 0, memory_order_relaxed);
        atomic_store_explicit(&v->slots[i]->read, 0, memory_order_relaxed);
    }
}

const struct lbmethod lbmethod_bytraffic = {"bytraffic", find_bytraffic, reset_bytraffic};
