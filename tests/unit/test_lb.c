/* Unit tests for member selection (balancer.c, lb_*.c): the exact pick sequences of
 * apache-behaviour.md 3.1-3.4, the tier walk with spares and standbys, sticky parsing and
 * routing, redirect chains, nofailover, forcerecovery, lazy retry, the failover loop's
 * tried[] and the busy counter. Slots are a plain array (balancer_set_test_slots) except in
 * the last test, which runs the selection on a real segment from two processes at once. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balancer.h"
#include "balancer_slot.h"
#include "lbmethod.h"
#include "slotmem.h"
#include "tap.h"
#include "util.h"

#define MAXM 8
#define T0   1700000000000LL /* an arbitrary CLOCK_REALTIME ms */

static struct proxy_balancer B;
static struct proxy_member M[MAXM];
static struct proxy_worker W[MAXM];
static char wname[MAXM][32];
static struct balancer_slot S[MAXM];

static void s_reset_lbstatus(void)
{
    for (unsigned i = 0; i < MAXM; i++)
        S[i].lbstatus = 0;
}

/* A balancer "balancer://t" with n members m0..m(n-1) whose loadfactors are lf[] (NULL:
 * all 1), slots filled as balancer_shm_create() would fill them. */
static void setup(const char *method, unsigned n, const int *lf)
{
    memset(&B, 0, sizeof B);
    memset(M, 0, sizeof M);
    memset(W, 0, sizeof W);
    memset(S, 0, sizeof S);
    B.name = "balancer://t";
    B.lbmethod = (char *)method;
    B.forcerecovery = 1;
    B.sticky_sep = '.';
    B.maxattempts = CONF_UNSET;
    B.n_members = n;
    B.members = n ? &M[0] : NULL;
    for (unsigned i = 0; i < n; i++) {
        snprintf(wname[i], sizeof wname[i], "http://m%u", i);
        W[i].name = wname[i];
        W[i].retry_ms = 60000;
        M[i].worker = &W[i];
        M[i].balancer = &B;
        M[i].route = "";
        M[i].redirect = "";
        M[i].lbfactor = (lf ? lf[i] : 1) * 100;
        M[i].slot = i;
        M[i].next = i + 1 < n ? &M[i + 1] : NULL;
        util_strlcpy(S[i].balancer, B.name, sizeof S[i].balancer);
        util_strlcpy(S[i].url, wname[i], sizeof S[i].url);
        S[i].in_use = 1;
        S[i].lbfactor = M[i].lbfactor;
        S[i].retry_ms = W[i].retry_ms;
        S[i].hc_last_ok = -1;
    }
    balancer_set_shm(NULL);
    balancer_set_test_slots(S);
}

static void route(unsigned i, const char *r, const char *redirect)
{
    util_strlcpy(S[i].route, r, sizeof S[i].route);
    util_strlcpy(S[i].redirect, redirect ? redirect : "", sizeof S[i].redirect);
}

static void sticky(const char *name, const char *cookie, const char *param)
{
    B.sticky = (char *)name;
    B.sticky_cookie = (char *)cookie;
    B.sticky_param = (char *)param;
}

static struct balancer_choice last;

/* One request: the chosen member's index, or -1. busy is released at once unless keep. */
static int pick_ex(const char *pq, const char *cookie, const unsigned char *tried, int64_t now,
                   int keep)
{
    int rc = balancer_choose(&B, pq, cookie, tried, now, &last);

    if (rc != 0)
        return -2;
    if (!last.member)
        return -1;
    if (!keep)
        balancer_release(last.member);
    return (int)balancer_member_index(last.member);
}

static int pick(void)
{
    return pick_ex(NULL, NULL, NULL, T0, 0);
}

/* n picks as letters ('a' = m0, '-' = none). */
static const char *seq(int n)
{
    static char buf[256];
    int i;

    for (i = 0; i < n && i < (int)sizeof buf - 1; i++) {
        int k = pick();
        buf[i] = k >= 0 ? (char)('a' + k) : '-';
    }
    buf[i] = '\0';
    return buf;
}

static int count(const char *s, char c)
{
    int k = 0;

    for (; *s; s++)
        k += *s == c;
    return k;
}

static void test_registry(void)
{
    is_str(lbmethod_find("byrequests")->name, "byrequests", "lbmethod byrequests");
    is_str(lbmethod_find("bytraffic")->name, "bytraffic", "lbmethod bytraffic");
    is_str(lbmethod_find("bybusyness")->name, "bybusyness", "lbmethod bybusyness");
    is_str(lbmethod_find("heartbeat")->name, "heartbeat", "lbmethod heartbeat");
    is_str(lbmethod_find("ByRequests")->name, "byrequests", "lbmethod names are case-insensitive");
    ok(lbmethod_find("roundrobin") == NULL, "unknown lbmethod is NULL");
    ok(lbmethod_find(NULL) == NULL, "NULL lbmethod is NULL");
}

static void diag_pick(int i, int k)
{
    printf("#   pick %d: got %c, a.lbstatus %lld\n", i, k >= 0 ? 'a' + k : '-',
           (long long)S[0].lbstatus);
}

static void test_byrequests(void)
{
    static const int f11[] = {1, 1}, f31[] = {3, 1}, f73[] = {70, 30}, f4[] = {25, 25, 25, 25};
    static const int f1112[] = {1, 1, 1, 2};
    static const int64_t a_status[] = {-3000, 4000,  1000,  -2000, -5000,
                                       2000,  -1000, -4000, 3000,  0};
    const char *s;
    int good = 1;

    setup("byrequests", 2, f11);
    is_str(seq(20), "abababababababababab", "1:1: strict alternation over 20");
    is_int(S[0].elected, 10, "1:1: a elected 10");
    is_int(S[1].elected, 10, "1:1: b elected 10");
    is_int(S[0].lbstatus + S[1].lbstatus, 0, "sum of lbstatus is conserved");

    setup("byrequests", 2, f31);
    s = seq(20);
    is_str(s, "aabaaabaaabaaabaaaba", "3:1: the schedule");
    is_int(count(s, 'a'), 15, "3:1: 15 to a over 20");
    is_int(count(s, 'b'), 5, "3:1: 5 to b over 20");

    setup(NULL, 2, f73);
    for (int i = 0; i < 10; i++) {
        int k = pick();
        if (k != ("abaaabaaba")[i] - 'a' || S[0].lbstatus != a_status[i]) {
            good = 0;
            diag_pick(i, k);
        }
    }
    ok(good, "70/30: picks a b a a a b a a b a with a.lbstatus -30 40 10 -20 -50 20 -10 -40 30 0");
    is_int(S[0].lbstatus, 0, "70/30: a back to 0 after the period");
    is_int(S[1].lbstatus, 0, "70/30: b back to 0 after the period");
    is_str(seq(10), "abaaabaaba", "70/30: the second period repeats the first");
    is_int(S[0].elected, 14, "70/30: 14 of 20 to a");

    setup("byrequests", 4, f4);
    S[1].status = MEMBER_DISABLED;
    S[1].lbstatus = 123;
    is_str(seq(12), "acdacdacdacd", "a=b=c=d, b disabled: a c d a c d");
    is_int(S[1].lbstatus, 123, "a disabled member's lbstatus is frozen");
    is_int(S[1].elected, 0, "the disabled member is never elected");

    setup("byrequests", 4, f1112);
    s = seq(50);
    is_str(s + 40, "dabcddabcd", "1:1:1:2: period dabcd d... as simulated");
    ok(count(s, 'a') == 10 && count(s, 'b') == 10 && count(s, 'c') == 10 && count(s, 'd') == 20,
       "1:1:1:2 over 50: 10/10/10/20");

    setup("byrequests", 3, NULL);
    S[0].status = MEMBER_STOPPED;
    S[1].status = MEMBER_HCFAIL;
    is_str(seq(4), "cccc", "stopped and health-check-failed members take nothing");
    S[1].status = MEMBER_ERROR;
    S[1].error_time_ms = T0;
    is_str(seq(3), "ccc", "a member in error within retry= takes nothing");
    S[1].status = MEMBER_IGNORE | MEMBER_DRAIN;
    is_str(seq(3), "ccc", "a draining member takes no new sessions");

    /* lbfactor is read from the slot: a run-time change takes effect at once. */
    setup("byrequests", 2, NULL);
    S[1].lbfactor = 300;
    s = seq(8);
    is_int(count(s, 'b'), 6, "lbfactor changed in the slot at run time is honoured");
}

static void test_bytraffic(void)
{
    static const int f12[] = {1, 2};
    const char *s;
    int a = 0, b = 0;

    setup("bytraffic", 3, NULL);
    S[0].transferred = 5000;
    S[1].read = 1000;
    S[2].transferred = 3000;
    is_int(pick(), 1, "bytraffic: fewest bytes wins");
    S[1].transferred = 4000;
    S[1].read = 1000;
    is_int(pick(), 2, "bytraffic: sent and read bytes weigh the same");
    S[2].read = 2000;
    is_int(pick(), 0, "bytraffic: ties go to the first member");

    setup("bytraffic", 2, f12);
    S[0].transferred = 1000; /* /100 = 10 */
    S[1].transferred = 1800; /* /200 = 9 */
    is_int(pick(), 1, "bytraffic: bytes are divided by the x100 loadfactor");
    S[1].transferred = 2000; /* 10: tie */
    is_int(pick(), 0, "bytraffic: equal traffic per factor: the first");
    S[0].transferred = 199; /* 1 */
    S[0].read = 199;        /* 1: integer division per counter gives 2, not 3 */
    S[1].transferred = 500; /* 2 */
    S[1].read = 0;
    is_int(pick(), 0, "bytraffic: integer division per counter, as httpd");

    /* Accounting drives the distribution: 1:2 factors, equal request sizes. */
    setup("bytraffic", 2, f12);
    for (int i = 0; i < 300; i++) {
        int k = pick();
        if (k < 0)
            break;
        balancer_account(&M[k], 700, 300);
        if (k == 0)
            a++;
        else
            b++;
    }
    ok(a >= 99 && a <= 101 && b >= 199 && b <= 201, "bytraffic 1:2 over 300: %d/%d", a, b);
    is_int(S[0].transferred + S[1].transferred, 300 * 700, "balancer_account adds sent bytes");
    is_int(S[0].read + S[1].read, 300 * 300, "balancer_account adds read bytes");

    setup("bytraffic", 2, NULL);
    S[0].transferred = 1000;
    S[1].transferred = 0;
    S[1].status = MEMBER_DISABLED;
    s = seq(3);
    is_str(s, "aaa", "bytraffic: a disabled member with no traffic is not chosen");
    S[1].status = 0;
    is_int(pick(), 1, "bytraffic: a re-enabled member with fewer bytes wins at once");
    ok(lbmethod_find("bytraffic")->reset != NULL, "bytraffic has a reset");
    is_int(balancer_reset(&B), 0, "balancer_reset runs");
    is_int(S[0].transferred + S[0].read, 0, "bytraffic reset clears the byte counters");
}

static void test_bybusyness(void)
{
    static const int f31[] = {3, 1};
    const char *s;

    setup("bybusyness", 3, NULL);
    S[0].busy = 2;
    S[1].busy = 1;
    S[2].busy = 1;
    is_int(pick(), 1, "bybusyness: fewest busy, tie broken in config order (equal lbstatus)");
    is_int(S[1].lbstatus, -200, "bybusyness: the winner is charged the total factor");
    is_int(S[2].lbstatus, 100, "bybusyness: the loser keeps its share");
    is_int(pick(), 2, "bybusyness: next tie goes to the higher lbstatus");
    S[0].busy = 0;
    is_int(pick(), 0, "bybusyness: an idle member beats every lbstatus");

    /* Held requests: busy grows with each pick and is spread evenly. */
    setup("bybusyness", 3, NULL);
    for (int i = 0; i < 9; i++)
        pick_ex(NULL, NULL, NULL, T0, 1);
    ok(S[0].busy == 3 && S[1].busy == 3 && S[2].busy == 3, "bybusyness: 9 held requests 3/3/3");
    balancer_release(&M[1]);
    is_int(pick_ex(NULL, NULL, NULL, T0, 1), 1, "bybusyness: the member that finished is next");

    /* Released at once: always a tie, so the weights decide as byrequests would. */
    setup("bybusyness", 2, f31);
    s = seq(20);
    is_str(s, "aabaaabaaabaaabaaaba", "bybusyness with no load in flight: byrequests' 3:1");

    setup("bybusyness", 2, NULL);
    S[0].busy = 5;
    S[0].status = MEMBER_DISABLED;
    S[1].busy = 9;
    is_int(pick(), 1, "bybusyness: a disabled idle member is still skipped");
    ok(lbmethod_find("bybusyness")->reset != NULL, "bybusyness has a reset");
}

static void hb(unsigned i, int ready, int busy, int64_t seen)
{
    S[i].hb_ready = ready;
    S[i].hb_busy = busy;
    S[i].hb_seen_ms = seen;
}

static void test_heartbeat(void)
{
    int n[3] = {0, 0, 0}, none = 0;
    char s1[41], s2[41];

    setup("heartbeat", 3, NULL);
    hb(0, 30, 5, T0 - 1000);
    hb(1, 10, 5, T0 - 9999);
    hb(2, 50, 5, T0 - 10000);
    lbmethod_heartbeat_seed(42);
    for (int i = 0; i < 4100; i++) {
        int k = pick();
        if (k < 0)
            none++;
        else
            n[k]++;
    }
    /* pick is uniform in [0, 40]; a owns 0..29 (30 values), b 30..40 (11: the shared end
     * goes to the later range). Expected 3000 / 1100. */
    ok(n[0] > 2850 && n[0] < 3150, "heartbeat: weighted by ready, a got %d of 4100 (~3000)", n[0]);
    ok(n[1] > 990 && n[1] < 1210, "heartbeat: b got %d of 4100 (~1100)", n[1]);
    is_int(n[2], 0, "heartbeat: a beat 10 s old is stale");
    is_int(none, 0, "heartbeat: always someone while capacity is reported");
    is_int(S[0].elected + S[1].elected, 4100, "heartbeat: elected counts every pick");

    lbmethod_heartbeat_seed(7);
    util_strlcpy(s1, seq(40), sizeof s1);
    lbmethod_heartbeat_seed(7);
    util_strlcpy(s2, seq(40), sizeof s2);
    is_str(s1, s2, "heartbeat: the same seed gives the same sequence");

    /* ready/4 when nobody is busy: 40 idle -> 10, against 10 busy-reported. */
    setup("heartbeat", 2, NULL);
    hb(0, 40, 0, T0);
    hb(1, 10, 1, T0);
    lbmethod_heartbeat_seed(1);
    n[0] = n[1] = 0;
    for (int i = 0; i < 2100; i++)
        n[pick()]++;
    /* [0,20]: a 0..9 (10 values), b 10..20 (11). */
    ok(n[0] > 880 && n[0] < 1120, "heartbeat: ready quartered when busy == 0 (a %d ~1000)", n[0]);

    setup("heartbeat", 3, NULL);
    is_int(pick(), -1, "heartbeat: members never heard from are never chosen");
    hb(0, 0, 3, T0);
    hb(1, 3, 0, T0); /* 3/4 = 0 */
    is_int(pick(), -1, "heartbeat: no idle capacity anywhere: none");
    hb(2, 8, 1, T0);
    S[2].status = MEMBER_DISABLED;
    is_int(pick(), -1, "heartbeat: a disabled member's capacity does not count");
    S[2].status = MEMBER_DRAIN;
    is_int(pick(), -1, "heartbeat: a draining member takes no new sessions");
    S[2].status = MEMBER_ERROR;
    S[2].error_time_ms = T0 - 60001;
    is_str(seq(5), "ccccc", "heartbeat: a member whose retry elapsed is retried and used");
    is_int(S[2].retries, 1, "heartbeat: the retry is counted");
    {
        unsigned char tried[3] = {0, 0, 1};
        is_int(pick_ex(NULL, NULL, tried, T0, 0), -1, "heartbeat: tried members are skipped");
    }
    hb(1, 0, 0, 0);
    hb(0, 5, 1, T0 + 5000); /* a clock step backwards: still fresh */
    is_int(pick_ex(NULL, NULL, (const unsigned char[]){0, 0, 1}, T0, 0), 0,
           "heartbeat: a beat stamped in the future counts as fresh");
}

static void test_tiers(void)
{
    const char *s;

    setup("byrequests", 4, NULL);
    S[2].lbset = 1;
    S[3].lbset = 1;
    is_str(seq(6), "ababab", "lbset 0 is used while it has usable members");
    S[0].status = MEMBER_DISABLED;
    is_str(seq(4), "bbbb", "one usable member left in lbset 0: still lbset 0");
    S[1].status = MEMBER_ERROR;
    S[1].error_time_ms = T0;
    is_str(seq(4), "cdcd", "lbset 0 empty: lbset 1");
    S[2].lbset = 5;
    S[3].lbset = 5;
    is_str(seq(2), "cd", "lbsets need not be contiguous");
    S[0].status = 0;
    is_str(seq(2), "aa", "lbset 0 back: used again at once");

    /* Hot spares: one for one. */
    setup("byrequests", 4, NULL);
    S[2].status = MEMBER_SPARE;
    S[3].status = MEMBER_SPARE;
    is_str(seq(4), "abab", "spares idle while every regular is usable");
    S[1].status = MEMBER_DISABLED;
    is_str(seq(4), "acac", "one regular down: the first spare replaces it");
    S[1].status = MEMBER_DRAIN;
    is_str(seq(4), "acac", "a draining regular is replaced by a spare too");
    S[0].status = MEMBER_STOPPED;
    s = seq(4);
    is_str(s, "cdcd", "both regulars down: both spares");
    S[3].status = MEMBER_SPARE | MEMBER_DISABLED;
    is_str(seq(2), "cc", "a disabled spare is not used");

    /* Spares only replace within their own lbset. */
    setup("byrequests", 3, NULL);
    S[1].status = MEMBER_DISABLED;
    S[2].status = MEMBER_SPARE;
    S[2].lbset = 1;
    is_str(seq(3), "aaa", "a spare of lbset 1 does not fill a hole in lbset 0");

    /* Hot standby: only when the tier has nobody else. */
    setup("byrequests", 3, NULL);
    S[2].status = MEMBER_STANDBY;
    is_str(seq(4), "abab", "standby unused while regulars are usable");
    S[0].status = MEMBER_DISABLED;
    is_str(seq(2), "bb", "standby unused while one regular is usable");
    S[1].status = MEMBER_ERROR;
    S[1].error_time_ms = T0;
    is_str(seq(2), "cc", "no regular left: the standby");
    S[2].lbstatus = 0;
    pick();
    is_int(S[2].lbstatus, 0, "a sole standby gets +lbfactor and -total like any candidate");

    setup("byrequests", 3, NULL);
    S[0].status = MEMBER_DISABLED;
    S[1].status = MEMBER_SPARE;
    S[2].status = MEMBER_STANDBY;
    is_str(seq(3), "bbb", "a spare comes before a standby");
    S[1].status = MEMBER_SPARE | MEMBER_HCFAIL;
    is_str(seq(2), "cc", "spare down too: the standby");

    /* A standby of lbset 0 beats the regulars of lbset 1. */
    setup("byrequests", 3, NULL);
    S[0].status = MEMBER_DISABLED;
    S[1].status = MEMBER_STANDBY;
    S[2].lbset = 1;
    is_str(seq(2), "bb", "a usable standby keeps the lower lbset");
    S[1].status = MEMBER_STANDBY | MEMBER_DRAIN;
    is_str(seq(2), "cc", "a draining standby is out; the next lbset takes over");

    setup("byrequests", 2, NULL);
    S[0].status = MEMBER_DISABLED;
    S[1].status = MEMBER_DISABLED;
    is_int(pick(), -1, "nothing usable: no member (503)");
    ok(last.member == NULL && !last.nofailover_503, "nothing usable: not a nofailover 503");
}

struct sticky_case {
    const char *sticky, *cookie_name, *param_name;
    char sep;
    int scolon;
    const char *pq, *cookie;
    int ret;
    const char *route, *used;
};

static void test_sticky_parse(void)
{
    static const struct sticky_case cases[] = {
        /* cookie forms */
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEID=.n1", 1, "n1", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "a=b; ROUTEID=.n2; c=d", 1, "n2", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "a=b;ROUTEID=x.n3", 1, "n3", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "a=b, ROUTEID=x.n4, c=d", 1, "n4", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "a=b,ROUTEID=x.n5", 1, "n5", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEID  =.n6", 1, "n6", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "\tROUTEID=.n7", 1, "n7", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "XROUTEID=.n1", 0, "", NULL},
        {"ROUTEID", 0, 0, '.', 0, "/", "XROUTEID=.n1; ROUTEID=.n8", 1, "n8", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "routeid=.n1", 0, "", NULL},
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEID=", 0, "", NULL},
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEID", 0, "", NULL},
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEIDX=.n1", 0, "", NULL},
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEID=abc", 0, "", NULL},
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEID=a.b.c", 1, "b.c", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEID=abc.", 1, "", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/", "ROUTEID=;x=.n1", 0, "", NULL},
        {"ROUTEID", 0, 0, 0, 0, "/", "ROUTEID=node1", 1, "node1", "ROUTEID"},
        {"ROUTEID", 0, 0, 0, 0, "/", "ROUTEID=a.node1", 1, "a.node1", "ROUTEID"},
        {"ROUTEID", 0, 0, '~', 0, "/", "ROUTEID=a.b~n9", 1, "n9", "ROUTEID"},
        {"ROUTEID", 0, 0, '~', 0, "/", "ROUTEID=a.n9", 0, "", NULL},
        {"ROUTEID", 0, 0, '.', 0, NULL, NULL, 0, "", NULL},
        /* URL parameter forms */
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app?jsessionid=abc.n1", 0,
         1, "n1", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0,
         "/app?x=1&jsessionid=abc.n2&y=2", 0, 1, "n2", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app;jsessionid=abc.n3", 0,
         1, "n3", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app;jsessionid=abc.n3;x=1",
         0, 1, "n3;x=1", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 1, "/app;jsessionid=abc.n3;x=1",
         0, 1, "n3", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 1, "/app;jsessionid=abc.n4?q=1",
         0, 1, "n4", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app?xjsessionid=a.n5", 0, 1,
         "n5", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0,
         "/app?jsessionid&jsessionid=a.n6", 0, 1, "n6", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0,
         "/app?jsessionid=&jsessionid=a.n7", 0, 1, "n7", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app?jsessionid=", 0, 0, "",
         NULL},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app?JSESSIONID=a.n1", 0, 0,
         "", NULL},
        /* cookie vs parameter */
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app?jsessionid=a.p1",
         "JSESSIONID=a.c1", 1, "p1", "jsessionid"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app", "JSESSIONID=a.c1", 1,
         "c1", "JSESSIONID"},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app", "jsessionid=a.c1", 0,
         "", NULL},
        {"JSESSIONID|jsessionid", "JSESSIONID", "jsessionid", '.', 0, "/app?jsessionid=nodot",
         "JSESSIONID=a.c1", 0, "", NULL},
        {"ROUTEID", 0, 0, '.', 0, "/app?ROUTEID=.q1", "ROUTEID=.c1", 1, "q1", "ROUTEID"},
        {"ROUTEID", 0, 0, '.', 0, "/app?a=1", "ROUTEID=.c1", 1, "c1", "ROUTEID"},
        {"ROUTEID", 0, 0, 0, 0, "/app?ROUTEID=whole", 0, 1, "whole", "ROUTEID"},
        {NULL, 0, 0, '.', 0, "/app?ROUTEID=.q1", "ROUTEID=.c1", 0, "", NULL},
        {"", 0, 0, '.', 0, "/app?ROUTEID=.q1", "ROUTEID=.c1", 0, "", NULL},
    };
    char r[64];
    const char *used;
    char small[4];

    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct sticky_case *c = &cases[i];
        int ret;

        memset(&B, 0, sizeof B);
        sticky(c->sticky, c->cookie_name, c->param_name);
        B.sticky_sep = c->sep;
        B.scolonpathdelim = c->scolon;
        ret = balancer_sticky_route(&B, c->pq, c->cookie, r, sizeof r, &used);
        ok(ret == c->ret && strcmp(r, c->route) == 0 &&
               ((!used && !c->used) || (used && c->used && strcmp(used, c->used) == 0)),
           "sticky %zu: %s | %s -> %d \"%s\"", i, c->pq ? c->pq : "(null)",
           c->cookie ? c->cookie : "(null)", c->ret, c->route);
        if (!(ret == c->ret && strcmp(r, c->route) == 0))
            printf("#   got %d \"%s\" used %s\n", ret, r, used ? used : "(null)");
    }
    memset(&B, 0, sizeof B);
    sticky("R", 0, 0);
    B.sticky_sep = '.';
    /* A route longer than any member's cannot match one: a prefix must not either. */
    is_int(balancer_sticky_route(&B, "/", "R=.abcdef", small, sizeof small, &used), 0,
           "a route longer than the buffer is no route");
    ok(used == NULL, "... and no sticky name is reported");
}

static void test_sticky_choose(void)
{
    setup("byrequests", 3, NULL);
    sticky("ROUTEID", "ROUTEID", "ROUTEID");
    route(0, "n1", NULL);
    route(1, "n2", NULL);
    route(2, "n3", NULL);

    is_int(pick_ex("/", "ROUTEID=.n2", NULL, T0, 1), 1, "sticky cookie picks its member");
    is_str(last.sticky_name, "ROUTEID", "BALANCER_SESSION_STICKY");
    is_str(last.session_route, "n2", "BALANCER_SESSION_ROUTE");
    is_int(last.route_changed, 0, "route honoured: BALANCER_ROUTE_CHANGED unset");
    is_int(S[1].elected, 1, "a sticky hit counts as elected");
    is_int(S[1].busy, 1, "a sticky hit counts as busy");
    is_int(S[1].lbstatus, -200, "sticky hit: byrequests accounting (+100 each, -300 chosen)");
    is_int(S[0].lbstatus, 100, "sticky hit: the others gain their factor");
    balancer_release(&M[1]);

    is_int(pick_ex("/", NULL, NULL, T0, 0), 0, "no route: balanced");
    is_int(last.route_changed, 1, "no route with stickysession: BALANCER_ROUTE_CHANGED=1");
    ok(last.sticky_name == NULL && last.session_route == NULL, "no route: no session variables");

    pick_ex("/", "ROUTEID=.zz", NULL, T0, 0);
    ok(last.member != NULL, "unknown route: balanced");
    is_str(last.session_route, "zz", "unknown route: still reported");
    is_int(last.route_changed, 1, "unknown route: route changed");

    is_int(pick_ex("/x;ROUTEID=.n3", "ROUTEID=.n1", NULL, T0, 0), 2, "URL parameter beats cookie");
    is_int(pick_ex("/x?a=1&ROUTEID=.n3", NULL, NULL, T0, 0), 2, "route in the query string");

    /* Disabled / stopped: no sticky traffic; drain: still sticky. */
    S[2].status = MEMBER_DISABLED;
    ok(pick_ex("/", "ROUTEID=.n3", NULL, T0, 0) != 2, "a disabled member loses its sessions");
    is_int(last.route_changed, 1, "failover from the route: route changed");
    S[2].status = MEMBER_STOPPED;
    ok(pick_ex("/", "ROUTEID=.n3", NULL, T0, 0) != 2, "a stopped member loses its sessions");
    S[2].status = MEMBER_DRAIN;
    is_int(pick_ex("/", "ROUTEID=.n3", NULL, T0, 0), 2, "a draining member keeps its sessions");
    is_int(last.route_changed, 0, "drain + sticky: route unchanged");
    {
        int saw = 0;
        for (int i = 0; i < 10; i++)
            saw |= pick_ex("/", NULL, NULL, T0, 0) == 2;
        ok(!saw, "a draining member takes no new sessions");
    }
    S[2].status = MEMBER_ERROR;
    S[2].error_time_ms = T0 - 1000;
    ok(pick_ex("/", "ROUTEID=.n3", NULL, T0, 0) != 2, "a member in error loses its sessions");
    is_int(pick_ex("/", "ROUTEID=.n3", NULL, T0 + 60000, 0), 2,
           "its retry elapsed: the sticky request itself brings it back");
    is_int(S[2].retries, 1, "sticky lookup counted the retry");
    S[2].status = MEMBER_STANDBY;
    is_int(pick_ex("/", "ROUTEID=.n3", NULL, T0, 0), 2, "a hot standby takes its own route");

    /* The same route on a standby and a regular: the regular first. */
    route(0, "dup", NULL);
    route(2, "dup", NULL);
    S[0].status = 0;
    S[2].status = MEMBER_STANDBY;
    route(1, "n2", NULL);
    is_int(pick_ex("/", "ROUTEID=.dup", NULL, T0, 0), 0, "route on regular and standby: regular");
    S[0].status = MEMBER_DISABLED;
    is_int(pick_ex("/", "ROUTEID=.dup", NULL, T0, 0), 2, "regular down: the standby with it");

    /* Sticky hit accounting skips unusable members. */
    setup("byrequests", 3, NULL);
    sticky("R", "R", "R");
    route(0, "a", NULL);
    S[2].status = MEMBER_DISABLED;
    pick_ex("/", "R=.a", NULL, T0, 0);
    ok(S[0].lbstatus == -100 && S[1].lbstatus == 100 && S[2].lbstatus == 0,
       "sticky accounting: only usable members gain, the chosen pays the total");

    /* Route names are case-sensitive and empty routes never match. */
    setup("byrequests", 2, NULL);
    sticky("R", "R", "R");
    route(1, "Node", NULL);
    pick_ex("/", "R=.node", NULL, T0, 0);
    is_int(last.route_changed, 1, "routes compare case-sensitively");
    pick_ex("/", "R=x.", NULL, T0, 0);
    is_str(last.session_route, "", "an empty route is reported empty");
    is_int(last.route_changed, 1, "an empty route matches no member (not one with no route)");

    /* stickysessionsep=Off: the whole value is the route. */
    setup("byrequests", 2, NULL);
    sticky("R", "R", "R");
    B.sticky_sep = 0;
    route(1, "node.b", NULL);
    is_int(pick_ex("/", "R=node.b", NULL, T0, 0), 1, "stickysessionsep=Off: whole value routes");

    /* No stickysession configured: cookies are not looked at, route_changed stays 0. */
    setup("byrequests", 2, NULL);
    route(1, "n2", NULL);
    pick_ex("/", "ROUTEID=.n2", NULL, T0, 0);
    ok(last.route_changed == 0 && last.session_route == NULL, "no stickysession: no sticky logic");
}

static void test_redirect_nofailover(void)
{
    setup("byrequests", 4, NULL);
    sticky("R", "R", "R");
    route(0, "r1", "r2");
    route(1, "r2", NULL);
    route(2, "r3", NULL);
    route(3, "r4", NULL);
    S[0].status = MEMBER_DISABLED;
    is_int(pick_ex("/", "R=.r1", NULL, T0, 0), 1, "redirect=: an unusable member hands over");
    is_int(last.route_changed, 1, "redirected: route changed");
    is_str(last.session_route, "r1", "redirected: the requested route is reported");
    S[0].status = 0;
    is_int(pick_ex("/", "R=.r1", NULL, T0, 0), 0, "usable again: its own route");

    /* A chain r1 -> r2 -> r3 -> r4 with the first three down. */
    route(1, "r2", "r3");
    route(2, "r3", "r4");
    S[0].status = S[1].status = S[2].status = MEMBER_DISABLED;
    is_int(pick_ex("/", "R=.r1", NULL, T0, 0), 3, "a redirect chain as long as the balancer ends");
    /* A cycle r1 <-> r2, both down: bounded, then balanced. */
    route(1, "r2", "r1");
    route(0, "r1", "r2");
    is_int(pick_ex("/", "R=.r1", NULL, T0, 0), 3, "a redirect cycle terminates, then balances");
    route(3, "r4", "r4");
    S[3].status = MEMBER_DISABLED;
    is_int(pick_ex("/", "R=.r4", NULL, T0, 0), -1, "self-redirect of a dead member terminates");

    /* nofailover. */
    setup("byrequests", 2, NULL);
    sticky("R", "R", "R");
    route(0, "a", "");
    route(1, "b", "");
    B.nofailover = 1;
    S[0].status = MEMBER_ERROR;
    S[0].error_time_ms = T0;
    is_int(pick_ex("/", "R=.a", NULL, T0, 0), -1, "nofailover: the route's member is down");
    is_int(last.nofailover_503, 1, "nofailover: 503");
    is_int(S[1].elected, 0, "nofailover: nobody else is elected");
    is_int(pick_ex("/", "R=.zz", NULL, T0, 0), 1, "nofailover: unknown route is balanced");
    is_int(last.nofailover_503, 0, "nofailover: unknown route is no 503");
    is_int(pick_ex("/", NULL, NULL, T0, 0), 1, "nofailover: no route is balanced");
    route(0, "a", "b");
    is_int(pick_ex("/", "R=.a", NULL, T0, 0), 1, "nofailover still follows redirect=");
    is_int(last.nofailover_503, 0, "nofailover + redirect: no 503");
    B.nofailover = 0;
    route(0, "a", "");
    is_int(pick_ex("/", "R=.a", NULL, T0, 0), 1, "failover allowed: another member");
    is_int(pick_ex("/", "R=.a", NULL, T0 + 60001, 0), 0, "retry elapsed: back to the route");
}

static void test_recovery(void)
{
    setup("byrequests", 3, NULL);
    balancer_mark_error(&M[0], T0);
    is_int(S[0].status & MEMBER_ERROR, MEMBER_ERROR, "mark_error sets E");
    is_int(S[0].error_time_ms, T0, "mark_error stamps error_time");
    is_int(S[0].errors, 1, "mark_error counts the error");
    balancer_mark_error(&M[0], T0 + 5);
    is_int(S[0].errors, 1, "errors counts entries into the error state");
    is_int(S[0].error_time_ms, T0 + 5, "a new failure restarts the retry period");
    S[1].status = MEMBER_IGNORE;
    balancer_mark_error(&M[1], T0);
    is_int(S[1].status & MEMBER_ERROR, 0, "status I: never put in error");
    is_int(S[1].errors, 0, "status I: not counted");

    /* Lazy retry: strictly after error_time + retry. */
    is_str(seq(2), "bc", "the member in error is skipped");
    is_int(pick_ex(NULL, NULL, NULL, T0 + 5 + 60000, 0) != 0, 1, "at error_time + retry: not yet");
    is_int(S[0].retries, 0, "no retry counted yet");
    {
        int saw = 0;
        for (int i = 0; i < 3; i++)
            saw |= pick_ex(NULL, NULL, NULL, T0 + 5 + 60001, 0) == 0;
        ok(saw, "1 ms later: retried and chosen again");
    }
    is_int(S[0].status & MEMBER_ERROR, 0, "the retry cleared E");
    is_int(S[0].retries, 1, "the retry is counted");

    S[2].retry_ms = 0;
    balancer_mark_error(&M[2], T0);
    S[0].status = MEMBER_DISABLED;
    is_int(pick_ex(NULL, NULL, NULL, T0 + 1, 0) >= 0, 1, "retry=0: retried on the next request");
    is_int(S[2].status & MEMBER_ERROR, 0, "retry=0 cleared E 1 ms later");

    setup("byrequests", 2, NULL);
    S[0].status = MEMBER_ERROR | MEMBER_IGNORE;
    S[0].error_time_ms = T0;
    is_int(pick(), 0, "status I in error: retried at once");

    setup("byrequests", 2, NULL);
    B.forcerecovery = 0;
    S[0].status = MEMBER_ERROR | MEMBER_STOPPED;
    S[0].error_time_ms = T0 - 600000;
    S[1].status = MEMBER_DISABLED;
    is_int(pick(), -1, "stopped: the retry never revives it");
    is_int(S[0].status & MEMBER_ERROR, MEMBER_ERROR, "stopped keeps E");

    /* forcerecovery. */
    setup("byrequests", 3, NULL);
    for (int i = 0; i < 3; i++)
        balancer_mark_error(&M[i], T0);
    is_int(pick_ex(NULL, NULL, NULL, T0 + 10, 0), 0, "all in error, forcerecovery=On: recovered");
    ok(!(S[0].status & MEMBER_ERROR) && !(S[1].status & MEMBER_ERROR) &&
           !(S[2].status & MEMBER_ERROR),
       "forcerecovery clears E on every member");
    ok(S[0].retries == 1 && S[1].retries == 1 && S[2].retries == 1,
       "forcerecovery counts a retry on every member");

    setup("byrequests", 3, NULL);
    B.forcerecovery = 0;
    for (int i = 0; i < 3; i++)
        balancer_mark_error(&M[i], T0);
    is_int(pick_ex(NULL, NULL, NULL, T0 + 10, 0), -1, "all in error, forcerecovery=Off: none");
    is_int(S[1].retries, 0, "forcerecovery=Off: nothing cleared");

    setup("byrequests", 3, NULL);
    for (int i = 0; i < 3; i++)
        balancer_mark_error(&M[i], T0);
    S[1].error_time_ms = T0 - 60000;
    is_int(pick_ex(NULL, NULL, NULL, T0 + 10, 0), 1, "one retry elapsed: normal recovery first");
    ok((S[0].status & MEMBER_ERROR) && (S[2].status & MEMBER_ERROR), "...and no forced recovery");

    setup("byrequests", 2, NULL);
    balancer_mark_error(&M[0], T0);
    S[1].status = MEMBER_DISABLED;
    is_int(pick_ex(NULL, NULL, NULL, T0 + 10, 0), -1, "one disabled, one in error: no forcing");

    /* The failover loop: tried[] members are not offered again. */
    setup("byrequests", 3, NULL);
    {
        unsigned char tried[3] = {0, 0, 0};
        int k = pick_ex(NULL, NULL, tried, T0, 0);
        tried[k] = 1;
        balancer_mark_error(&M[k], T0);
        int k2 = pick_ex(NULL, NULL, tried, T0, 0);
        ok(k2 >= 0 && k2 != k, "second attempt: another member");
        tried[k2] = 1;
        S[k2].status |= MEMBER_IGNORE; /* not put in error: only tried[] keeps it out */
        int k3 = pick_ex(NULL, NULL, tried, T0, 0);
        ok(k3 >= 0 && k3 != k && k3 != k2, "third attempt: the last member");
        tried[k3] = 1;
        is_int(pick_ex(NULL, NULL, tried, T0, 0), -1, "everyone tried: none");
    }
    setup("byrequests", 3, NULL);
    S[2].status = MEMBER_SPARE;
    {
        unsigned char tried[3] = {0, 1, 0};
        is_int(pick_ex(NULL, NULL, tried, T0, 0), 0, "tried: the untried regular first");
        is_int(pick_ex(NULL, NULL, tried, T0, 0), 2, "a tried regular is a hole the spare fills");
    }
    setup("byrequests", 2, NULL);
    sticky("R", "R", "R");
    route(0, "a", NULL);
    S[0].status = MEMBER_IGNORE;
    {
        unsigned char tried[2] = {1, 0};
        is_int(pick_ex("/", "R=.a", tried, T0, 0), 1, "a tried sticky member is failed over");
        is_int(last.route_changed, 1, "...with route changed");
        B.nofailover = 1;
        is_int(pick_ex("/", "R=.a", tried, T0, 0), -1, "...or a 503 with nofailover");
        is_int(last.nofailover_503, 1, "nofailover after a failed attempt");
    }
}

static void test_counters(void)
{
    struct proxy_member lone;

    setup("byrequests", 2, NULL);
    is_int(pick_ex(NULL, NULL, NULL, T0, 1), 0, "held request");
    is_int(S[0].busy, 1, "busy++ on the chosen member");
    balancer_release(&M[0]);
    is_int(S[0].busy, 0, "release: busy--");
    balancer_release(&M[0]);
    is_int(S[0].busy, 0, "release never goes below 0");
    S[1].busy = 3;
    balancer_release(&M[1]);
    is_int(S[1].busy, 2, "release from 3");
    balancer_release(NULL);
    ok(1, "release(NULL) is harmless");

    is_int(balancer_member_index(&M[0]), 0, "member index 0");
    is_int(balancer_member_index(&M[1]), 1, "member index 1");
    memset(&lone, 0, sizeof lone);
    is_int(balancer_member_index(&lone), 0, "a member without balancer: 0");

    is_int(balancer_choose(NULL, NULL, NULL, NULL, T0, &last), 0, "no balancer: rc 0");
    ok(last.member == NULL, "no balancer: no member");
    setup("byrequests", 0, NULL);
    is_int(balancer_choose(&B, NULL, NULL, NULL, T0, &last), 0, "no members: rc 0");
    ok(last.member == NULL, "no members: no member");

    /* Unknown or unset lbmethod falls back to byrequests. */
    setup(NULL, 2, NULL);
    is_str(seq(4), "abab", "unset lbmethod: byrequests");
    setup("nonsense", 2, NULL);
    is_str(seq(4), "abab", "unknown lbmethod: byrequests");

    setup("byrequests", 2, NULL);
    seq(3);
    ok(S[0].lbstatus != 0 || S[1].lbstatus != 0, "lbstatus moved");
    is_int(balancer_reset(&B), 0, "reset byrequests");
    ok(S[0].lbstatus == 0 && S[1].lbstatus == 0, "byrequests reset zeroes lbstatus");

    ok(balancer_now_ms() > T0, "balancer_now_ms is CLOCK_REALTIME ms");
}

static void test_no_wait(void)
{
    int64_t t0, dt;

    setup("byrequests", 2, NULL);
    S[0].status = S[1].status = MEMBER_DISABLED;
    B.timeout_ms = 500;
    t0 = util_now_ms();
    is_int(pick(), -1, "nothing usable with timeout=");
    dt = util_now_ms() - t0;
    ok(dt < 100, "balancer_choose never waits: the caller polls for timeout= (%lld ms)",
       (long long)dt);
}

/* The lbmethods on a bare view, without balancer_choose: the ARCHITECTURE contract. */
static void test_bare_view(void)
{
    struct balancer_slot sl[3];
    struct balancer_slot *p[3] = {&sl[0], &sl[1], &sl[2]};
    int32_t scratch[3];
    struct lb_view v = {NULL, p, 3, NULL, T0, scratch};
    char out[10];

    memset(sl, 0, sizeof sl);
    for (int i = 0; i < 3; i++)
        sl[i].lbfactor = 100;
    for (int i = 0; i < 9; i++)
        out[i] = (char)('a' + lbmethod_byrequests.find(&v));
    out[9] = '\0';
    is_str(out, "abcabcabc", "byrequests on a bare view: round robin");
    is_int(sl[0].elected, 0, "lbmethods do not count elected (the caller does)");
    sl[0].busy = 1;
    sl[1].busy = 1;
    is_int(lbmethod_bybusyness.find(&v), 2, "bybusyness on a bare view");
    sl[2].transferred = 5;
    is_int(lbmethod_bytraffic.find(&v), 0, "bytraffic on a bare view");
    is_int(lbmethod_heartbeat.find(&v), -1, "heartbeat on a bare view with no beats");
    v.n = 0;
    is_int(lbmethod_byrequests.find(&v), -1, "an empty view: -1");
}

/* The real segment: two processes picking at once stay in strict alternation overall. */
static void test_shm(void)
{
    struct slotmem sm;
    char err[256], name[96];
    pid_t kids[2];
    int st, good = 1;

    snprintf(name, sizeof name, "/portico-test.%ld.lb", (long)getpid());
    if (slotmem_create(&sm, name, BALANCER_KIND, BALANCER_VERSION, 0, sizeof(struct balancer_slot),
                       2, NULL, err, sizeof err) != 0) {
        ok(0, "slotmem_create: %s", err);
        return;
    }
    setup("byrequests", 2, NULL);
    for (int i = 0; i < 2; i++)
        memcpy(slotmem_slot(&sm, (unsigned)i), &S[i], sizeof S[i]);
    balancer_set_test_slots(NULL);
    balancer_set_shm(&sm);
    ok(balancer_get_shm() == &sm, "set_shm/get_shm");

    for (int k = 0; k < 2; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            int bad = 0;
            for (int i = 0; i < 2000; i++) {
                struct balancer_choice c;
                if (balancer_choose(&B, NULL, NULL, NULL, T0, &c) != 0 || !c.member)
                    bad = 1;
                else
                    balancer_release(c.member);
            }
            _exit(bad);
        }
    }
    for (int k = 0; k < 2; k++) {
        if (kids[k] < 0 || waitpid(kids[k], &st, 0) != kids[k] || !WIFEXITED(st) ||
            WEXITSTATUS(st) != 0)
            good = 0;
    }
    ok(good, "two processes, 2000 picks each, all answered");
    {
        struct balancer_slot *a = slotmem_slot(&sm, 0), *b = slotmem_slot(&sm, 1);
        is_int(a->elected + b->elected, 4000, "every pick counted once");
        is_int(a->elected, 2000, "under the lock 1:1 stays exactly 2000/2000");
        ok(a->lbstatus + b->lbstatus == 0 && a->busy == 0 && b->busy == 0,
           "lbstatus conserved and busy back to 0");
        balancer_mark_error(&M[1], T0);
        is_int(b->status & MEMBER_ERROR, MEMBER_ERROR, "mark_error writes the shared slot");
        is_str(seq(3), "aaa", "...and every process skips it");
    }
    balancer_set_shm(NULL);
    slotmem_detach(&sm);
    slotmem_unlink(name);
}

/* Members added at run time (balancer-manager): a growth slot in use with BSLOT_F_RUNTIME is
 * a candidate like a config member, appears after them, has its own tried[] index and no
 * worker until the caller resolves one; disabling it in the slot takes it out at once. */
static void test_runtime_member(void)
{
    static const int f11[] = {1, 1};
    unsigned char tried[4] = {0};
    char buf[64];

    setup("byrequests", 2, f11);
    B.growth = 2;
    is_int((int)balancer_capacity(&B), 4, "runtime: capacity = members + growth");
    is_str(seq(4), "abab", "runtime: free growth slots are not candidates");
    util_strlcpy(S[3].balancer, B.name, sizeof S[3].balancer);
    util_strlcpy(S[3].url, "http://added:81", sizeof S[3].url);
    S[3].lbfactor = 100;
    S[3].retry_ms = 60000;
    S[3].flags = BSLOT_F_RUNTIME;
    S[3].in_use = 1;
    for (int i = 0; i < 2; i++)
        S[i].lbstatus = 0;
    is_str(seq(6), "abdabd", "runtime: the added member takes its turn (index = slot - base)");
    int k = pick_ex(NULL, NULL, NULL, T0, 1);
    ok(k == 0 && !balancer_member_is_runtime(last.member),
       "runtime: a config member is not runtime");
    balancer_release(last.member);
    pick_ex(NULL, NULL, NULL, T0, 1);
    k = pick_ex(NULL, NULL, NULL, T0, 1);
    ok(k == 3 && balancer_member_is_runtime(last.member) && last.member->worker == NULL,
       "runtime: chosen with worker NULL (resolved by the caller)");
    is_int(balancer_member_url(last.member, buf, sizeof buf), 0, "runtime: its URL from the slot");
    is_str(buf, "http://added:81", "runtime: ... as written there");
    is_int(S[3].busy, 1, "runtime: its slot's busy counts the request");
    balancer_release(last.member);
    tried[3] = 1;
    tried[0] = 1;
    k = pick_ex(NULL, NULL, tried, T0, 0);
    is_int(k, 1, "runtime: tried[] excludes it by its index");
    S[3].status |= MEMBER_DISABLED;
    s_reset_lbstatus();
    is_str(seq(4), "abab", "runtime: disabled in the slot: no longer chosen");
    S[3].in_use = 0;
    balancer_set_test_slots(NULL);
}

int main(void)
{
    test_registry();
    test_byrequests();
    test_bytraffic();
    test_bybusyness();
    test_heartbeat();
    test_tiers();
    test_sticky_parse();
    test_sticky_choose();
    test_redirect_nofailover();
    test_recovery();
    test_counters();
    test_no_wait();
    test_bare_view();
    test_runtime_member();
    test_shm();
    return tap_done();
}
