/* Choosing a balancer member for a request (mod_proxy_balancer's pre_request, apache-
 * behaviour.md 2.2-2.5): sticky route first, then the lbmethod over lbset tiers with hot
 * spares and standbys; lazy recovery of members whose retry= elapsed; forcerecovery.
 * The selection runs under the balancer segment's lock; every counter lives in shm, so a
 * member marked in error by one worker is skipped by all of them at once. */
#ifndef PORTICO_BALANCER_H
#define PORTICO_BALANCER_H

#include <stddef.h>
#include <stdatomic.h>
#include <stdint.h>

#include "proxy_types.h"

struct slotmem;

struct balancer_choice {
    struct proxy_member *member; /* NULL: nothing usable (answer 503) */
    const char *sticky_name;     /* BALANCER_SESSION_STICKY: cookie/param found, or NULL */
    const char *session_route;   /* BALANCER_SESSION_ROUTE: route parsed, or NULL */
    int route_changed;           /* BALANCER_ROUTE_CHANGED */
    int nofailover_503;          /* the route's member is unusable and nofailover=On */
    /* Storage for session_route (the route is cut out of the request, which is not NUL-
     * terminated there). Added by lb: a longer route is truncated, and cannot match any
     * member anyway (routes are < 64 characters). */
    char session_route_buf[128];
};

/* The segment the worker processes use (set by the master before forking; NULL when no
 * balancer is configured). */
void balancer_set_shm(struct slotmem *sm);
struct slotmem *balancer_get_shm(void);

/* Picks a member. `path_query` is the part of the request URL searched for the sticky URL
 * parameter: portico searches the raw (undecoded) path AND the query ("/app;jsessionid=x.n1"
 * and "/app?jsessionid=x.n1" both work), as the manual describes and httpd <= 2.4.61 did
 * (2.4.62+ dropped the query); `cookie` the Cookie header (may be NULL); tried[i] != 0 excludes
 * member i (config order) already tried by this request's failover loop (may be NULL). On success
 * the chosen slot's elected and busy are incremented. It never waits: the balancer's
 * timeout= polling (httpd's find_best_worker) is the caller's (proxy.c choose_member). Strings in
 * *out point into path_query/cookie or the config. Returns 0 (out->member may be NULL), -1 on a
 * lock failure. */
int balancer_choose(struct proxy_balancer *b, const char *path_query, const char *cookie,
                    const unsigned char *tried, int64_t now_ms, struct balancer_choice *out);

/* The clock of now_ms above, of error_time_ms and of hb_seen_ms: CLOCK_REALTIME in ms (the
 * slots are shared with tools and survive restarts, so the monotonic clock will not do). */
int64_t balancer_now_ms(void);

/* The sticky route of a request (apache-behaviour.md 2.3), pure: URL parameter first (raw
 * substring search of path_query, value ending at '?', '&', and ';' with scolonpathdelim),
 * else the cookie; then the text after the first stickysessionsep (none: no route), or the
 * whole value with stickysessionsep=Off. Returns 1 with the route (possibly "", truncated to
 * routelen-1) in route and the cookie/param name found in *used, or 0. */
int balancer_sticky_route(const struct proxy_balancer *b, const char *path_query,
                          const char *cookie, char *route, size_t routelen, const char **used);

/* Runs the lbmethod's reset (lbstatus or byte counters to 0) on b's members: for the
 * balancer-manager (lbmethod change, re-enabled member). Returns 0 or -1 (lock). */
int balancer_reset(struct proxy_balancer *b);

/* Unit tests only: with no segment set, m->slot indexes this plain array and selection
 * takes no lock. */
struct balancer_slot;
void balancer_set_test_slots(struct balancer_slot *base);

/* Where balancer_choose()/balancer_release() note the member slot (+1, 0 = none) this
 * process holds busy: the worker's scoreboard slot, so the master releases it when the
 * process dies mid-request (busy would otherwise stay high for good). */
void balancer_set_busy_note(_Atomic int32_t *note);

/* busy-- when the request through m ends (never below 0). */
void balancer_release(struct proxy_member *m);

/* Puts m in the error state (connect failure, failonstatus, failontimeout) unless it has
 * status I. */
void balancer_mark_error(struct proxy_member *m, int64_t now_ms);

/* Adds bytes sent to / read from the member (bytraffic, status tools). */
void balancer_account(struct proxy_member *m, uint64_t transferred, uint64_t read);

/* Member index (config order) within its balancer, for the tried[] array. */
unsigned balancer_member_index(const struct proxy_member *m);

/* Added for the balancer-manager (runtime members and runtime balancer settings). */

/* Member slots a balancer owns: config members + growth= (the size of a tried[] array). */
unsigned balancer_capacity(const struct proxy_balancer *b);

/* 1 when m is a member added at run time (a growth slot, BSLOT_F_RUNTIME). balancer_choose()
 * returns such members with worker NULL until the caller resolves one (proxy.c, once per
 * process and slot) from balancer_member_url(). */
int balancer_member_is_runtime(const struct proxy_member *m);

/* The member's URL / route as the slot says now (bounded copies). Return 0, or -1 (no slot,
 * empty URL). */
int balancer_member_url(const struct proxy_member *m, char *buf, size_t len);
int balancer_member_route(const struct proxy_member *m, char *buf, size_t len);

/* The balancer's settings as in force now: the segment's (the balancer-manager may have
 * changed them) or else the config's; maxattempts resolved (members - 1 when unset, runtime
 * members counted). */
struct balancer_params {
    char lbmethod[32];
    char sticky[64];
    int maxattempts;
    int timeout_ms;
    int nofailover;
    unsigned members; /* config + runtime members in use */
};
int balancer_params(const struct proxy_balancer *b, struct balancer_params *out);

#endif
