/* Load-balancing methods (httpd's mod_lbmethod_*; apache-behaviour.md section 3).
 *
 * An lbmethod only chooses: it looks at a view of one balancer's member slots and returns
 * the index of the member to use. It never connects, and it changes nothing but its own
 * accounting fields in the slots (lbstatus for byrequests/bybusyness). balancer_choose()
 * (balancer.c) takes the segment lock, builds the view, runs forcerecovery and the sticky
 * lookup, calls the method, and then bumps elected/busy on the member it returned. Because
 * the view is plain arrays, unit tests drive the methods on calloc'd slots and assert the
 * exact pick sequences.
 *
 * The byrequests schedule (the idea, as mod_lbmethod_byrequests.c explains it):
 *
 *   lbfactor is the member's work quota, lbstatus how urgently it must work to fulfil it.
 *   Each pick hands every candidate its quota (lbstatus += lbfactor), takes the most urgent
 *   one (highest lbstatus; ties go to the earlier member in config order) and charges it the
 *   total quota handed out (lbstatus -= sum of lbfactor). The sum of lbstatus over the
 *   candidates therefore never changes, and members that are disabled or in error are
 *   simply not candidates: their lbstatus is frozen, the others are still scheduled fairly.
 *
 *   Worked example, loadfactor a=70 b=30 (lbfactor 7000/3000; only ratios matter, shown /100):
 *
 *     pick  a.lbstatus+70  b.lbstatus+30  chosen  a after  b after
 *       1        70             30          a       -30       30
 *       2        40             60          b        40      -40
 *       3       110            -10          a        10      -10
 *       4        80             20          a       -20       20
 *       5        50             50          a (tie) -50       50
 *       6        20             80          b        20      -20
 *       7        90             10          a       -10       10
 *       8        60             40          a       -40       40
 *       9        30             70          b        30      -30
 *      10       100              0          a         0        0   <- period of 10: 7 a, 3 b
 *
 *   With a=b=c=d=25 and b disabled the schedule is a c d a c d ...; 1:1 alternates strictly.
 *
 * The tier walk shared by byrequests, bytraffic and bybusyness (lbmethod_walk_tiers, httpd's
 * ap_proxy_balancer_get_best_worker): lbset 0 first, a higher lbset only when a lower one
 * yields nobody; within a tier the usable regular members are candidates, hot spares (R)
 * fill in one-for-one for unusable (error, disabled, stopped, draining, already tried)
 * regulars, hot standbys (H) only when the tier has no other candidate. is_best() is called
 * for every candidate in that order, so byrequests' "+= lbfactor" reaches spares and
 * standbys too, exactly as in httpd.
 *
 * Adding a method:
 *   1. Write src/lb_NAME.c defining `const struct lbmethod lbmethod_NAME = {"NAME", find,
 *      reset};`. find() returns an index into the view or -1. A tiered method is an is_best
 *      callback passed to lbmethod_walk_tiers() plus whatever it does to the winner
 *      afterwards (see lb_byrequests.c, ten lines); an untiered one walks v->slots itself and
 *      must skip members for which lbmethod_candidate() is 0 (see lb_heartbeat.c).
 *   2. Declare it below and add it to the table in balancer.c (lbmethod_find), so the config
 *      accepts `lbmethod=NAME`.
 *   3. Add the file to libpconf in Makefile.am, and pick sequences to tests/unit/test_lb.c.
 * find() runs under the balancer segment's lock: keep it O(members), no I/O, no allocation.
 */
#ifndef PORTICO_LBMETHOD_H
#define PORTICO_LBMETHOD_H

#include <stdint.h>

#include "balancer_slot.h"
#include "proxy_types.h"

/* One balancer's members as an lbmethod sees them: members[i] (config order) owns slots[i]. */
struct lb_view {
    struct proxy_member *const *members;
    struct balancer_slot *const *slots;
    unsigned n;
    const unsigned char *tried; /* tried[i] != 0: not a candidate for this request; may be NULL */
    int64_t now_ms;             /* CLOCK_REALTIME ms (error_time_ms and hb_seen_ms use it) */
    int32_t *scratch;           /* n entries a method may use (heartbeat: a snapshot of the
                                 * weights, which the heartbeat process changes unlocked) */
};

struct lbmethod {
    const char *name;
    /* Index of the member to use, or -1 when none is usable. */
    int (*find)(const struct lb_view *v);
    /* Forgets the accounting (balancer-manager lbmethod change, re-enabled member). */
    void (*reset)(const struct lb_view *v);
};

extern const struct lbmethod lbmethod_byrequests;
extern const struct lbmethod lbmethod_bytraffic;
extern const struct lbmethod lbmethod_bybusyness;
extern const struct lbmethod lbmethod_heartbeat;

/* The method called `name` (case-insensitive, as httpd's provider lookup), or NULL: the
 * config uses it to reject an unknown lbmethod=. */
const struct lbmethod *lbmethod_find(const char *name);

/* The helpers below live in balancer.c. */

/* httpd's PROXY_WORKER_IS_USABLE: none of disabled, stopped, error, health-check failed.
 * Drain, standby, spare and ignore-errors members are usable. */
int lbmethod_slot_usable(const struct balancer_slot *s);

/* httpd's ap_proxy_retry_worker: a member in error (and not stopped) whose retry= has
 * elapsed (now > error_time + retry), or which has status I, leaves the error state and
 * counts a retry. Returns lbmethod_slot_usable() afterwards. */
int lbmethod_slot_retry(struct balancer_slot *s, int64_t now_ms);

/* 1 when member i may be considered at all for this request (not tried already). */
int lbmethod_candidate(const struct lb_view *v, unsigned i);

/* The tier walk (see above). is_best(cur, best, baton) says whether the candidate `cur`
 * beats the best so far (`best` is NULL for the first candidate); it may update accounting
 * for cur. Returns the index of the winner or -1. */
int lbmethod_walk_tiers(const struct lb_view *v,
                        int (*is_best)(struct balancer_slot *cur, struct balancer_slot *best,
                                       void *baton),
                        void *baton);

/* Seeds the heartbeat method's random generator (tests make pick sequences reproducible;
 * without it each process seeds itself from its pid and the clock on first use). */
void lbmethod_heartbeat_seed(uint64_t seed);

/* Heartbeats older than this are ignored (httpd's LBM_HEARTBEAT_MAX_LASTSEEN, 10 s). */
#define LBMETHOD_HEARTBEAT_MAX_AGE_MS 10000

#endif
