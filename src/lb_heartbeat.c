/* lbmethod heartbeat: weighted random over the members whose backends report idle capacity
 * in fresh heartbeats (httpd's mod_lbmethod_heartbeat). The heartbeat process writes each
 * datagram's ready/busy/time into the slots of the members whose host is the sender's
 * address; this method only reads them. No lbset tiers, spares or standbys, no lbstatus.
 *
 * Deviations from httpd: a draining (N) member is not chosen here (httpd's heartbeat method
 * ignores the drain flag), so drain means "sticky traffic only" for every method; and a
 * member reporting no idle slot is never chosen (see below). */
#include <time.h>
#include <unistd.h>

#include "lbmethod.h"

static uint64_t rng_state;
static pid_t rng_pid; /* the process that seeded: forked workers must not share a sequence */

void lbmethod_heartbeat_seed(uint64_t seed)
{
    rng_state = seed;
    rng_pid = getpid();
}

/* splitmix64: small, fast, and good enough to spread picks; not for secrets. */
static uint64_t rng_next(void)
{
    uint64_t z;

    if (rng_pid != getpid()) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        lbmethod_heartbeat_seed(((uint64_t)getpid() << 32) ^ (uint64_t)ts.tv_nsec ^
                                ((uint64_t)ts.tv_sec << 20));
    }
    z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static int find_heartbeat(const struct lb_view *v)
{
    uint64_t openslots = 0, c = 0, pick;
    int cand = -1;

    /* scratch[i] = the weight of member i, or -1 when it is not in the draw. One snapshot:
     * the heartbeat process updates the slots without the lock. */
    for (unsigned i = 0; i < v->n; i++) {
        struct balancer_slot *s = v->slots[i];
        int64_t seen = atomic_load_explicit(&s->hb_seen_ms, memory_order_relaxed);
        int32_t ready, busy;

        v->scratch[i] = -1;
        /* A member never heard from is not in the heartbeat table at all. */
        if (seen == 0 || !lbmethod_candidate(v, i))
            continue;
        if (!lbmethod_slot_usable(s) && !lbmethod_slot_retry(s, v->now_ms))
            continue;
        if (atomic_load_explicit(&s->status, memory_order_relaxed) & MEMBER_DRAIN)
            continue;
        if (v->now_ms - seen >= LBMETHOD_HEARTBEAT_MAX_AGE_MS)
            continue;
        ready = atomic_load_explicit(&s->hb_ready, memory_order_relaxed);
        busy = atomic_load_explicit(&s->hb_busy, memory_order_relaxed);
        /* httpd's rule: a server with nobody busy is assumed to be still warming up. */
        if (busy == 0 && ready != 0)
            ready /= 4;
        /* Deviation: httpd keeps a member with 0 idle slots in the draw, where it wins
         * whenever pick lands on its range's single point; portico leaves it out. */
        if (ready <= 0)
            continue;
        v->scratch[i] = ready;
        openslots += (uint64_t)ready;
    }
    if (openslots == 0)
        return -1;

    /* Inclusive upper bound, and the ranges [c, c + ready] share their ends with the next
     * member's: the last range containing pick wins. Both are httpd's, kept so that the
     * distribution is the one httpd admins know. */
    pick = rng_next() % (openslots + 1);
    for (unsigned i = 0; i < v->n; i++) {
        if (v->scratch[i] < 0)
            continue;
        if (pick >= c && pick <= c + (uint64_t)v->scratch[i])
            cand = (int)i;
        c += (uint64_t)v->scratch[i];
    }
    return cand;
}

static void reset_heartbeat(const struct lb_view *v)
{
    (void)v;
}

const struct lbmethod lbmethod_heartbeat = {"heartbeat", find_heartbeat, reset_heartbeat};
