/* Unit tests for status_format() (every format, against a scoreboard and a balancer segment
 * filled by hand) and for SetHandler / ExtendedStatus (status_conf.c).
 *
 * The JSON output goes through a strict recursive-descent checker and the Prometheus output
 * through a line checker (HELP/TYPE before samples, names, label escaping, values), so a
 * syntax slip fails here rather than in a monitoring agent. Segment names derive from a
 * per-run PidFile path and are unlinked at exit. */
#include "config.h"

#include <ctype.h>
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
#include "scoreboard.h"
#include "slotmem.h"
#include "status.h"
#include "tap.h"
#include "testconf.h"
#include "util.h"

static char pid_file[128];
static pid_t test_pid;
static struct slotmem sb_sm, bal_sm;

static void cleanup(void)
{
    if (getpid() != test_pid)
        return;
    if (sb_sm.hdr != NULL)
        slotmem_unlink(sb_sm.name);
    balancer_shm_unlink(pid_file);
    testconf_clean();
}

static void on_signal(int sig)
{
    (void)sig;
    cleanup();
    _exit(1);
}

/* ---- fixtures ---- */

#define NOW_S 1700000000LL

struct fixture {
    struct proxy_global_conf pg;
    struct proxy_balancer b[2];
    struct proxy_member m[3];
    struct proxy_worker w[3];
    struct conf conf;
};

static void fx_member(struct fixture *f, int i, struct proxy_balancer *b, const char *url,
                      const char *route, int lbfactor, unsigned status)
{
    f->w[i].name = (char *)url;
    f->w[i].retry_ms = 60000;
    f->m[i].worker = &f->w[i];
    f->m[i].balancer = b;
    f->m[i].route = (char *)route;
    f->m[i].redirect = (char *)"";
    f->m[i].lbfactor = lbfactor;
    f->m[i].status = status;
    f->w[i].member = &f->m[i];
    struct proxy_member **tail = &b->members;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = &f->m[i];
    b->n_members++;
}

/* app = a (r1), b (route with a quote, hot standby, GET check); api = c; app has 1 growth
 * slot, so api's member is slot 3. */
static void fx_build(struct fixture *f)
{
    memset(f, 0, sizeof(*f));
    f->b[0].name = (char *)"balancer://app";
    f->b[0].lbmethod = (char *)"byrequests";
    f->b[0].sticky = (char *)"ROUTEID";
    f->b[0].growth = 1;
    f->b[0].maxattempts = CONF_UNSET;
    f->b[0].index = 0;
    f->b[0].next = &f->b[1];
    f->b[1].name = (char *)"balancer://api";
    f->b[1].lbmethod = (char *)"bybusyness";
    f->b[1].maxattempts = 2;
    f->b[1].index = 1;
    fx_member(f, 0, &f->b[0], "http://a.example:8001", "r1", 100, 0);
    fx_member(f, 1, &f->b[0], "http://b.example:8002", "q\"x\\y", 250, MEMBER_STANDBY);
    f->m[1].hcmethod = (char *)"GET";
    f->m[1].hcinterval_ms = 5000;
    fx_member(f, 2, &f->b[1], "http://c.example:8003", "", 100, 0);
    f->m[0].slot = 0;
    f->m[1].slot = 1;
    f->b[0].slot_base = 0;
    f->b[1].slot_base = 3;
    f->m[2].slot = 3;
    f->pg.balancers = &f->b[0];
    f->pg.n_balancers = 2;
    f->pg.n_member_slots = 4;
    f->conf.proxy = &f->pg;
}

static void set_worker(unsigned i, int32_t pid, uint32_t gen, int state, uint64_t req,
                       uint64_t conns, uint64_t bytes, const char *client, const char *request)
{
    struct sb_worker_slot *w = scoreboard_slot(&sb_sm, i);
    atomic_store(&w->pid, pid);
    atomic_store(&w->generation, gen);
    atomic_store(&w->state, state);
    atomic_store(&w->requests, req);
    atomic_store(&w->connections, conns);
    atomic_store(&w->bytes, bytes);
    atomic_store(&w->started, NOW_S - 100);
    atomic_store(&w->req_start_ms, (NOW_S - 2) * 1000);
    atomic_store(&w->req_time_us, 1500);
    atomic_store(&w->last_used_ms, (NOW_S - 2) * 1000);
    scoreboard_set_text(w->client, sizeof(w->client), client);
    scoreboard_set_text(w->vhost, sizeof(w->vhost), "www.example:80");
    scoreboard_set_text(w->request, sizeof(w->request), request);
}

static int make_segments(struct fixture *f)
{
    char err[256];
    if (scoreboard_create(&sb_sm, pid_file, 8, err, sizeof(err)) < 0) {
        ok(0, "scoreboard_create: %s", err);
        return -1;
    }
    struct sb_global *g = scoreboard_global(&sb_sm);
    atomic_store(&g->master_pid, 4242);
    atomic_store(&g->generation, 3);
    g->start_time = NOW_S - 7200;
    atomic_store(&g->restart_time, NOW_S - 3661);
    atomic_store(&g->max_request_workers, 6);
    scoreboard_set_text(g->server_name, sizeof(g->server_name), "www.example");
    scoreboard_set_text(g->server_version, sizeof(g->server_version), "portico/9.9");
    atomic_store(&g->gone_requests, 10);
    atomic_store(&g->gone_connections, 4);
    atomic_store(&g->gone_bytes, 2048);
    /* _ W G S . . (.) K : slot 6 is dead beyond MaxRequestWorkers (hidden), slot 7 live. */
    set_worker(0, (int32_t)getpid(), 3, SB_STATE_READY, 5, 2, 1000, "127.0.0.1", "GET / HTTP/1.1");
    set_worker(1, 999999, 3, SB_STATE_WRITE, 7, 3, 3000, "10.0.0.1", "GET /a\"<b>&\\ HTTP/1.1");
    set_worker(2, 999998, 2, SB_STATE_GRACEFUL, 1, 1, 100, "10.0.0.2", "GET /old HTTP/1.1");
    set_worker(3, 999997, 3, SB_STATE_STARTING, 0, 0, 0, "", "");
    set_worker(7, 999996, 3, SB_STATE_KEEPALIVE, 2, 1, 20, "10.0.0.3", "GET /k HTTP/1.1");

    if (balancer_shm_create(&bal_sm, pid_file, &f->pg, NULL, 3, err, sizeof(err)) < 0) {
        ok(0, "balancer_shm_create: %s", err);
        return -1;
    }
    struct balancer_slot *a = balancer_shm_slot(&bal_sm, 0), *b = balancer_shm_slot(&bal_sm, 1),
                         *c = balancer_shm_slot(&bal_sm, 3);
    atomic_store(&a->elected, 42);
    atomic_store(&a->busy, 1);
    atomic_store(&a->transferred, 5000);
    atomic_store(&a->read, 10240);
    atomic_store(&a->lbstatus, -7);
    atomic_store(&b->elected, 3);
    atomic_store(&b->hc_last_ok, 1);
    atomic_store(&b->hc_passes, 4);
    atomic_store(&b->hc_last_ms, (NOW_S - 3) * 1000);
    atomic_store(&c->status, MEMBER_ERROR);
    atomic_store(&c->errors, 2);
    atomic_store(&c->error_time_ms, (NOW_S - 30) * 1000);
    atomic_store(&c->hb_ready, 5);
    atomic_store(&c->hb_busy, 1);
    atomic_store(&c->hb_seen_ms, (NOW_S - 1) * 1000);
    ok(1, "segments created and filled");
    return 0;
}

static char *run(const struct status_source *src, enum status_format fmt)
{
    struct status_buf out = {NULL, 0, 0, 0};
    int rc = status_format(src, fmt, &out);
    if (rc < 0) {
        free(out.buf);
        return NULL;
    }
    if (out.buf == NULL)
        return strdup("");
    if (strlen(out.buf) != out.len) {
        free(out.buf);
        return NULL;
    }
    return out.buf;
}

static int has(const char *text, const char *needle)
{
    return text != NULL && strstr(text, needle) != NULL;
}

/* ---- a strict JSON checker ---- */

struct jp {
    const char *p;
    int depth;
};

static void jws(struct jp *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\t' || *j->p == '\r')
        j->p++;
}

static int jvalue(struct jp *j);

static int jstring(struct jp *j)
{
    if (*j->p != '"')
        return 0;
    j->p++;
    while (*j->p != '"') {
        unsigned char c = (unsigned char)*j->p;
        if (c == '\0' || c < 0x20)
            return 0;
        if (c == '\\') {
            j->p++;
            if (*j->p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit((unsigned char)j->p[i]))
                        return 0;
                j->p += 5;
                continue;
            }
            if (*j->p == '\0' || strchr("\"\\/bfnrt", *j->p) == NULL)
                return 0;
        }
        j->p++;
    }
    j->p++;
    return 1;
}

static int jnumber(struct jp *j)
{
    const char *s = j->p;
    if (*j->p == '-')
        j->p++;
    if (*j->p == '0')
        j->p++;
    else if (isdigit((unsigned char)*j->p))
        while (isdigit((unsigned char)*j->p))
            j->p++;
    else
        return 0;
    if (*j->p == '.') {
        j->p++;
        if (!isdigit((unsigned char)*j->p))
            return 0;
        while (isdigit((unsigned char)*j->p))
            j->p++;
    }
    if (*j->p == 'e' || *j->p == 'E') {
        j->p++;
        if (*j->p == '+' || *j->p == '-')
            j->p++;
        if (!isdigit((unsigned char)*j->p))
            return 0;
        while (isdigit((unsigned char)*j->p))
            j->p++;
    }
    return j->p > s;
}

static int jcontainer(struct jp *j, char close, int object)
{
    if (++j->depth > 32)
        return 0;
    j->p++;
    jws(j);
    if (*j->p == close) {
        j->p++;
        j->depth--;
        return 1;
    }
    for (;;) {
        jws(j);
        if (object) {
            if (!jstring(j))
                return 0;
            jws(j);
            if (*j->p++ != ':')
                return 0;
        }
        if (!jvalue(j))
            return 0;
        jws(j);
        if (*j->p == ',') {
            j->p++;
            continue;
        }
        if (*j->p++ != close)
            return 0;
        j->depth--;
        return 1;
    }
}

static int jvalue(struct jp *j)
{
    jws(j);
    switch (*j->p) {
    case '{':
        return jcontainer(j, '}', 1);
    case '[':
        return jcontainer(j, ']', 0);
    case '"':
        return jstring(j);
    case 't':
        return strncmp(j->p, "true", 4) == 0 ? (j->p += 4, 1) : 0;
    case 'f':
        return strncmp(j->p, "false", 5) == 0 ? (j->p += 5, 1) : 0;
    case 'n':
        return strncmp(j->p, "null", 4) == 0 ? (j->p += 4, 1) : 0;
    default:
        return jnumber(j);
    }
}

static int json_valid(const char *text)
{
    if (text == NULL)
        return 0;
    struct jp j = {text, 0};
    jws(&j);
    if (*j.p != '{' || !jvalue(&j))
        return 0;
    jws(&j);
    return *j.p == '\0';
}

/* ---- a Prometheus text-format checker ---- */

static int prom_name_ok(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_' || s[0] == ':'))
        return 0;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_' || s[i] == ':'))
            return 0;
    return 1;
}

/* Returns NULL when valid, else a description of the first problem. */
static const char *prom_check(const char *text, char *why, size_t whylen)
{
    char family[128] = "", typed[128] = "";
    char seen[64][128];
    int nseen = 0;
    const char *line = text;
    int lineno = 0;

    while (*line) {
        const char *end = strchr(line, '\n');
        if (end == NULL) {
            snprintf(why, whylen, "last line without newline");
            return why;
        }
        size_t len = (size_t)(end - line);
        char buf[1024];
        lineno++;
        if (len >= sizeof(buf)) {
            snprintf(why, whylen, "line %d too long", lineno);
            return why;
        }
        memcpy(buf, line, len);
        buf[len] = '\0';
        line = end + 1;
        if (strncmp(buf, "# HELP ", 7) == 0) {
            char *sp = strchr(buf + 7, ' ');
            if (sp == NULL || !prom_name_ok(buf + 7, (size_t)(sp - buf - 7))) {
                snprintf(why, whylen, "line %d: bad HELP", lineno);
                return why;
            }
            *sp = '\0';
            for (int i = 0; i < nseen; i++)
                if (strcmp(seen[i], buf + 7) == 0) {
                    snprintf(why, whylen, "line %d: family %.64s declared twice", lineno, buf + 7);
                    return why;
                }
            if (nseen < 64)
                util_strlcpy(seen[nseen++], buf + 7, sizeof(seen[0]));
            util_strlcpy(family, buf + 7, sizeof(family));
            continue;
        }
        if (strncmp(buf, "# TYPE ", 7) == 0) {
            char *sp = strchr(buf + 7, ' ');
            if (sp == NULL) {
                snprintf(why, whylen, "line %d: bad TYPE", lineno);
                return why;
            }
            *sp = '\0';
            if (strcmp(buf + 7, family) != 0 ||
                (strcmp(sp + 1, "counter") != 0 && strcmp(sp + 1, "gauge") != 0)) {
                snprintf(why, whylen, "line %d: TYPE %.64s does not follow its HELP", lineno,
                         buf + 7);
                return why;
            }
            util_strlcpy(typed, buf + 7, sizeof(typed));
            continue;
        }
        if (buf[0] == '#') {
            snprintf(why, whylen, "line %d: unexpected comment", lineno);
            return why;
        }
        /* A sample: name[{labels}] value */
        size_t n = strcspn(buf, "{ ");
        if (!prom_name_ok(buf, n) || strncmp(buf, typed, n) != 0 || typed[n] != '\0') {
            snprintf(why, whylen, "line %d: sample %.*s outside its family %.64s", lineno, (int)n,
                     buf, typed);
            return why;
        }
        const char *p = buf + n;
        if (*p == '{') {
            p++;
            while (*p != '}') {
                size_t ln = strcspn(p, "=");
                if (!prom_name_ok(p, ln) || p[ln] != '=' || p[ln + 1] != '"') {
                    snprintf(why, whylen, "line %d: bad label", lineno);
                    return why;
                }
                p += ln + 2;
                while (*p != '"') {
                    if (*p == '\0') {
                        snprintf(why, whylen, "line %d: unterminated label value", lineno);
                        return why;
                    }
                    if (*p == '\\') {
                        p++;
                        if (*p != '\\' && *p != '"' && *p != 'n') {
                            snprintf(why, whylen, "line %d: bad escape", lineno);
                            return why;
                        }
                    }
                    p++;
                }
                p++;
                if (*p == ',')
                    p++;
                else if (*p != '}') {
                    snprintf(why, whylen, "line %d: bad label list", lineno);
                    return why;
                }
            }
            p++;
        }
        if (*p != ' ') {
            snprintf(why, whylen, "line %d: no value", lineno);
            return why;
        }
        char *vend;
        strtod(p + 1, &vend);
        if (vend == p + 1 || *vend != '\0') {
            snprintf(why, whylen, "line %d: bad value '%.64s'", lineno, p + 1);
            return why;
        }
    }
    return NULL;
}

/* ---- format tests ---- */

static void test_auto(const struct status_source *base)
{
    struct status_source src = *base;
    char *t = run(&src, STATUS_AUTO);
    ok(t != NULL, "auto: formatted");
    if (t == NULL)
        return;
    ok(strncmp(t, "www.example\n", 12) == 0, "auto: first line is the server name");
    /* The keys in httpd's order (prefork; Total Duration and DurationPerReq absent: portico
     * keeps no duration sum). CPU keys come from /proc and may be absent elsewhere. */
    static const char *const keys[] = {
        "ServerVersion",
        "ServerMPM",
        "Server Built",
        "CurrentTime",
        "RestartTime",
        "ParentServerConfigGeneration",
        "ParentServerMPMGeneration",
        "ServerUptimeSeconds",
        "ServerUptime",
        "Load1",
        "Load5",
        "Load15",
        "Total Accesses",
        "Total kBytes",
        "CPUUser",
        "CPUSystem",
        "CPUChildrenUser",
        "CPUChildrenSystem",
        "CPULoad",
        "Uptime",
        "ReqPerSec",
        "BytesPerSec",
        "BytesPerReq",
        "BusyWorkers",
        "GracefulWorkers",
        "IdleWorkers",
        "Scoreboard",
    };
    size_t k = 0, bad = 0;
    const char *line = strchr(t, '\n') + 1;
    while (*line && strncmp(line, "ProxyBalancer", 13) != 0) {
        size_t klen = strcspn(line, ":");
        while (k < ARRAY_LEN(keys) &&
               !(strlen(keys[k]) == klen && strncmp(line, keys[k], klen) == 0) &&
               (strncmp(keys[k], "CPU", 3) == 0 || strncmp(keys[k], "Load", 4) == 0))
            k++; /* optional keys */
        if (k < ARRAY_LEN(keys) && strlen(keys[k]) == klen && strncmp(line, keys[k], klen) == 0)
            k++;
        else
            bad++;
        line = strchr(line, '\n');
        if (line == NULL)
            break;
        line++;
    }
    is_int(bad, 0, "auto: every key is httpd's, in httpd's order");
    is_int(k, ARRAY_LEN(keys), "auto: ends with Scoreboard");
    ok(has(t, "\nServerVersion: portico/9.9\n"), "auto: version from the scoreboard");
    ok(has(t, "\nServerMPM: prefork\n"), "auto: MPM");
    const char *bt = strstr(t, "\nServer Built: ");
    ok(bt != NULL && isdigit((unsigned char)bt[15]) && bt[19] == '-' && bt[22] == '-' &&
           bt[25] == 'T' && bt[28] == ':' && bt[34] == '\n',
       "auto: Server Built as httpd's YYYY-MM-DDTHH:MM:SS");
    ok(has(t, "\nParentServerConfigGeneration: 3\nParentServerMPMGeneration: 2\n"),
       "auto: generations (MPM counts from 0)");
    ok(has(t, "\nServerUptimeSeconds: 3661\nServerUptime: 1 hour 1 minute 1 second\n"),
       "auto: uptime from the restart time, httpd's spelling");
    ok(has(t, "\nTotal Accesses: 25\n"), "auto: Total Accesses = gone + every slot");
    ok(has(t, "\nTotal kBytes: 6\n"), "auto: Total kBytes (6168 bytes)");
    ok(has(t, "\nUptime: 3661\n"), "auto: Uptime");
    ok(has(t, "\nReqPerSec: 0.00682874\n"), "auto: ReqPerSec as %%g");
    ok(has(t, "\nBytesPerSec: 1.67823\n"), "auto: BytesPerSec from kB as httpd");
    ok(has(t, "\nBytesPerReq: 245.76\n"), "auto: BytesPerReq");
    ok(has(t, "\nBusyWorkers: 2\nGracefulWorkers: 1\nIdleWorkers: 1\n"),
       "auto: busy (W, K), graceful (G), idle (_ of this generation)");
    ok(has(t, "\nScoreboard: _WGS..K\n"), "auto: scoreboard line skips dead slots past MRW");
    ok(has(t, "\nProxyBalancer[0]Name: balancer://app\n"), "auto: balancer name");
    ok(has(t, "\nProxyBalancer[0]Worker[0]Name: http://a.example:8001\n"
              "ProxyBalancer[0]Worker[0]Status: Init Ok \n"
              "ProxyBalancer[0]Worker[0]Elected: 42\n"
              "ProxyBalancer[0]Worker[0]Busy: 1\n"
              "ProxyBalancer[0]Worker[0]Sent: 4K\n"
              "ProxyBalancer[0]Worker[0]Rcvd: 10K\n"),
       "auto: member block as mod_proxy's hook");
    ok(has(t, "\nProxyBalancer[0]Worker[1]Status: Init Stby Ok \n"), "auto: standby wording");
    ok(has(t, "\nProxyBalancer[1]Worker[0]Status: Init Err \n"), "auto: error wording");
    ok(!has(t, "Worker[2]"), "auto: the free growth slot is not a member");
    free(t);

    src.extended = 0;
    t = run(&src, STATUS_AUTO);
    ok(t != NULL && !has(t, "Total Accesses") && !has(t, "ReqPerSec") && has(t, "BusyWorkers: 2"),
       "auto: ExtendedStatus Off drops the extended block only");
    free(t);

    src.extended = 1;
    src.server_name = "host.test";
    t = run(&src, STATUS_AUTO);
    ok(t != NULL && strncmp(t, "host.test\n", 10) == 0, "auto: the request's host name first");
    free(t);
}

static void test_json(const struct status_source *base)
{
    struct status_source src = *base;
    char *t = run(&src, STATUS_JSON);
    ok(json_valid(t), "json: parses strictly");
    ok(has(t, "\"total_accesses\": 25"), "json: total accesses");
    ok(has(t, "\"busy_workers\": 2, \"graceful_workers\": 1, \"idle_workers\": 1"),
       "json: worker counts");
    ok(has(t, "\"scoreboard\": \"_WGS..K\""), "json: scoreboard letters");
    ok(has(t, "\"request\": \"GET /a\\\"\\u003cb\\u003e\\u0026\\\\ HTTP/1.1\""),
       "json: request escaped (markup as \\u escapes)");
    ok(has(t, "\"route\": \"q\\\"x\\\\y\""), "json: route with quote and backslash escaped");
    ok(has(t, "\"name\": \"balancer://app\""), "json: balancer name");
    ok(has(t, "\"sticky\": \"ROUTEID\""), "json: sticky");
    ok(has(t, "\"name\": \"http://a.example:8001\", \"route\": \"r1\""), "json: member");
    ok(has(t, "\"elected\": 42, \"busy\": 1, \"load\": -7, \"bytes_written\": 5000, "
              "\"bytes_read\": 10240"),
       "json: member counters");
    ok(has(t, "\"heartbeat\": {\"ready\": 5, \"busy\": 1, \"age_ms\": 1000}"), "json: heartbeat");
    ok(has(t, "\"health\": {\"method\": \"GET\", \"interval_ms\": 5000, \"passes\": 4, "
              "\"fails\": 0, \"last_ok\": true, \"age_ms\": 3000}"),
       "json: health check");
    ok(has(t, "\"last_error_age_ms\": 30000"), "json: last error age");
    ok(has(t, "\"usable\": false"), "json: member in error not usable");
    ok(has(t, "\"maxattempts\": null") && has(t, "\"maxattempts\": 2"), "json: maxattempts");
    ok(has(t, "\"pid\": 999996"), "json: live worker beyond MRW listed");
    free(t);

    src.extended = 0;
    t = run(&src, STATUS_JSON);
    ok(json_valid(t) && !has(t, "\"client\""), "json: ExtendedStatus Off hides client/request");
    free(t);

    /* Control characters, quotes and bytes that are not UTF-8 in a server name given by the
     * caller (the Host header): sanitised as scoreboard text, then escaped. */
    src.server_name = "we\"ird\x01na\xffme\\";
    t = run(&src, STATUS_JSON);
    ok(json_valid(t) && has(t, "\"name\": \"we\\\"ird?na?me\\\\\""),
       "json: control characters and non-UTF-8 bytes of the host name sanitised");
    free(t);
    t = run(&src, STATUS_AUTO);
    ok(t != NULL && strncmp(t, "we\"ird?na?me\\\n", 14) == 0, "auto: the host name sanitised");
    free(t);
}

static void test_prometheus(const struct status_source *base)
{
    char why[256];
    char *t = run(base, STATUS_PROMETHEUS);
    const char *bad = t ? prom_check(t, why, sizeof(why)) : "no output";
    ok(bad == NULL, "prometheus: valid exposition (%s)", bad ? bad : "ok");
    ok(has(t, "# HELP portico_requests_total ") && has(t, "# TYPE portico_requests_total counter\n"
                                                          "portico_requests_total 25\n"),
       "prometheus: requests counter with HELP/TYPE");
    ok(has(t, "\nportico_bytes_total 6168\n"), "prometheus: bytes");
    ok(has(t, "\nportico_worker_state{state=\"ready\"} 1\n") &&
           has(t, "\nportico_worker_state{state=\"dead\"} 2\n") &&
           has(t, "\nportico_worker_state{state=\"keepalive\"} 1\n"),
       "prometheus: worker states");
    ok(has(t, "\nportico_balancer_member_requests_total{balancer=\"balancer://app\","
              "member=\"http://a.example:8001\",route=\"r1\"} 42\n"),
       "prometheus: member requests");
    ok(has(t, "\nportico_balancer_member_requests_total{balancer=\"balancer://app\","
              "member=\"http://b.example:8002\",route=\"q\\\"x\\\\y\"} 3\n"),
       "prometheus: label value escaped");
    ok(has(t, "\nportico_balancer_member_bytes_read_total{balancer=\"balancer://app\","
              "member=\"http://a.example:8001\",route=\"r1\"} 10240\n"),
       "prometheus: bytes read");
    ok(has(t, "\nportico_balancer_member_bytes_written_total{balancer=\"balancer://app\","
              "member=\"http://a.example:8001\",route=\"r1\"} 5000\n"),
       "prometheus: bytes written");
    ok(has(t, "\nportico_balancer_member_up{balancer=\"balancer://api\","
              "member=\"http://c.example:8003\",route=\"\"} 0\n"),
       "prometheus: member in error is down");
    ok(has(t, "\nportico_balancer_member_heartbeat_ready{balancer=\"balancer://api\","
              "member=\"http://c.example:8003\",route=\"\"} 5\n") &&
           !has(t, "heartbeat_ready{balancer=\"balancer://app\""),
       "prometheus: heartbeat only where one was seen");
    ok(has(t, "\nportico_balancer_member_busy{balancer=\"balancer://app\","
              "member=\"http://a.example:8001\",route=\"r1\"} 1\n"),
       "prometheus: busy gauge");
    ok(has(t, "\nportico_balancer_member_health_check_up{balancer=\"balancer://app\","
              "member=\"http://b.example:8002\",route=\"q\\\"x\\\\y\"} 1\n"),
       "prometheus: health check");
    /* The checker itself must catch what it is there for. */
    ok(prom_check("foo 1\n", why, sizeof(why)) != NULL, "checker: sample without TYPE refused");
    ok(prom_check("# HELP a x\n# TYPE a gauge\na{l=\"x\"y\"} 1\n", why, sizeof(why)) != NULL,
       "checker: unescaped quote refused");
    ok(prom_check("# HELP a x\n# TYPE a gauge\na 1\n", why, sizeof(why)) == NULL,
       "checker: a valid family passes");
    ok(!json_valid("{\"a\": [1, 2,]}") && !json_valid("{\"a\": \"x\ny\"}") &&
           json_valid("{\"a\": [1, -2.5e3, null, true, {\"b\": \"\\u00e9\"}]}"),
       "checker: the JSON checker refuses and accepts correctly");
    free(t);
}

static void test_html(const struct status_source *base)
{
    char *t = run(base, STATUS_HTML);
    ok(has(t, "<title>portico Status</title>"), "html: title");
    ok(has(t, "Server Status for www.example</h1>"), "html: heading");
    ok(has(t, "<dt>Server Version: portico/9.9</dt>"), "html: version");
    ok(has(t, "<dt>Server uptime:  1 hour 1 minute 1 second</dt>"), "html: uptime as httpd");
    ok(has(t, "<dt>Total accesses: 25 - "), "html: totals");
    ok(has(t, "<dt>2 requests currently being processed, 1 workers gracefully restarting, 1 idle "
              "workers</dt>"),
       "html: counts line");
    ok(has(t, "<pre>_WGS..K\n</pre>"), "html: scoreboard letters");
    ok(has(t, "Scoreboard Key:"), "html: key");
    ok(has(t, "GET /a&quot;&lt;b&gt;&amp;\\ HTTP/1.1") && !has(t, "/a\"<b>"),
       "html: request line escaped");
    ok(has(t, "<tr><td><b>1-3</b></td><td>999999</td><td>7</td><td><b>W</b></td>"),
       "html: worker row");
    ok(has(t, "</td><td>2</td><td>1</td><td>3</td><td>3000 B</td><td>10.0.0.1</td>"),
       "html: SS (since last use), Req ms, Conn, Bytes, Client");
    ok(!has(t, "<b>4-"), "html: dead unused slot not listed");
    ok(has(t, "Proxy LoadBalancer Status for balancer://app</h1>"), "html: balancer heading");
    ok(has(t, "<td>q&quot;x\\y</td>"), "html: route escaped");
    ok(has(t, "<td>2.50</td><td>0</td><td>H Ok</td><td>3</td>"), "html: member factor/status");
    ok(has(t, "<td>5/1 1s</td>"), "html: heartbeat cell");
    ok(has(t, "<td>GET ok(4) 3s ago</td>"), "html: health cell");
    ok(has(t, "</body></html>\n"), "html: complete");
    free(t);

    struct status_source src = *base;
    src.extended = 0;
    t = run(&src, STATUS_HTML);
    ok(has(t, "ExtendedStatus On") && !has(t, "999999</td>"),
       "html: ExtendedStatus Off: no worker table");
    free(t);
}

/* The column where `word` starts on the line holding `anchor`. */
static long column_of(const char *text, const char *anchor, const char *word)
{
    const char *l = text ? strstr(text, anchor) : NULL;
    if (l == NULL)
        return -1;
    while (l > text && l[-1] != '\n')
        l--;
    const char *e = strchr(l, '\n');
    const char *w = strstr(l, word);
    if (w == NULL || (e != NULL && w > e))
        return -1;
    return (long)(w - l);
}

static void test_text(const struct status_source *base)
{
    char *t = run(base, STATUS_TEXT);
    ok(has(t, "portico Server Status for www.example\n"), "text: heading");
    ok(has(t, "Master PID: 4242\n"), "text: master pid");
    ok(has(t, "Total accesses: 25 - Total connections: 11 - "), "text: totals");
    ok(has(t, "\n_WGS..K\n"), "text: letters");
    ok(has(t, "balancer://app: lbmethod byrequests, stickysession ROUTEID, nofailover Off, "
              "timeout 0s, 2 members, growth 0/1 used\n"),
       "text: balancer line");
    long h = column_of(t, "Member ", "Route"), m1 = column_of(t, "http://a.example:8001", "r1"),
         m2 = column_of(t, "http://b.example:8002", "q\"x");
    ok(h > 0 && h == m1 && h == m2, "text: member columns aligned (%ld %ld %ld)", h, m1, m2);
    long w1 = column_of(t, "Slot  ", "Client"), w2 = column_of(t, "999999", "10.0.0.1");
    ok(w1 > 0 && w1 == w2, "text: worker columns aligned (%ld %ld)", w1, w2);
    ok(has(t, "E  ") && has(t, "30s ago"), "text: error state and age");
    free(t);
}

static void test_names(const struct status_source *base, struct fixture *f)
{
    /* A slot whose URL is empty: the config's name, else the slot number. */
    struct balancer_slot *s = balancer_shm_slot(&bal_sm, 3);
    char saved[sizeof(s->url)];
    memcpy(saved, s->url, sizeof(saved));
    memset(s->url, 0, sizeof(s->url));
    struct status_source src = *base;
    src.conf = &f->conf;
    f->w[2].name = (char *)"http://from-conf:1";
    char *t = run(&src, STATUS_AUTO);
    ok(has(t, "ProxyBalancer[1]Worker[0]Name: http://from-conf:1\n"), "names: from the config");
    free(t);
    src.conf = NULL;
    t = run(&src, STATUS_AUTO);
    ok(has(t, "ProxyBalancer[1]Worker[0]Name: slot 3\n"), "names: slot number without config");
    free(t);
    memcpy(s->url, saved, sizeof(saved));
}

/* ---- status_escape (shared with balancer_manager.c) ---- */

static void esc_collect(void *ctx, const char *bytes, size_t n)
{
    char *out = ctx;
    size_t l = strlen(out);
    if (l + n < 256) {
        memcpy(out + l, bytes, n);
        out[l + n] = '\0';
    }
}

static void test_escape(void)
{
    static const struct {
        enum status_esc how;
        const char *in, *want, *what;
    } cases[] = {
        {STATUS_ESC_HTML, "<a href=\"x\">'&'</a>",
         "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;", "html: markup and both quotes"},
        {STATUS_ESC_HTML,
         "a\x01"
         "b\tc\x7f",
         "a\xef\xbf\xbd"
         "b\tc\xef\xbf\xbd",
         "html: controls XML forbids become U+FFFD, tab stays"},
        {STATUS_ESC_HTML, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
         "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "html: well-formed UTF-8 kept"},
        {STATUS_ESC_HTML, "\xff\xc0\xaf\xed\xa0\x80x",
         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdx",
         "html: invalid, overlong and surrogate bytes become U+FFFD each"},
        {STATUS_ESC_HTML, "\xe2\x82", "\xef\xbf\xbd\xef\xbf\xbd",
         "html: truncated sequence at the end"},
        {STATUS_ESC_JSON, "q\"b\\\n<&>", "q\\\"b\\\\\\u000a\\u003c\\u0026\\u003e",
         "json: quotes, backslash, controls, markup"},
        {STATUS_ESC_JSON, "a\xf4\x90\x80\x80\xc3\xa9", "a\\ufffd\\ufffd\\ufffd\\ufffd\xc3\xa9",
         "json: beyond U+10FFFF is \\ufffd, UTF-8 kept"},
        {STATUS_ESC_PROM, "a\"b\\c\nd\xfe", "a\\\"b\\\\c\\nd\xef\xbf\xbd",
         "prometheus: quote, backslash, newline, non-UTF-8"},
        {STATUS_ESC_JSON, "", "", "json: empty"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        char out[256] = "";
        status_escape(cases[i].how, cases[i].in, esc_collect, out);
        is_str(out, cases[i].want, "%s", cases[i].what);
    }
}

static void test_empty(void)
{
    struct status_source src = {NULL, NULL, NULL, 1, NOW_S * 1000, NULL};
    static const enum status_format fmts[] = {STATUS_TEXT, STATUS_HTML, STATUS_AUTO, STATUS_JSON,
                                              STATUS_PROMETHEUS};
    int all = 1;
    for (size_t i = 0; i < ARRAY_LEN(fmts); i++) {
        char *t = run(&src, fmts[i]);
        all &= t != NULL;
        if (fmts[i] == STATUS_JSON)
            ok(json_valid(t), "empty: JSON still valid");
        if (fmts[i] == STATUS_PROMETHEUS) {
            char why[256];
            ok(t != NULL && prom_check(t, why, sizeof(why)) == NULL,
               "empty: Prometheus still valid");
        }
        if (fmts[i] == STATUS_AUTO)
            ok(has(t, "localhost\n") && has(t, "\nScoreboard: \n"), "empty: auto without data");
        free(t);
    }
    ok(all, "empty: every format works without segments");
}

/* ---- configuration ---- */

static char errbuf[4096];

static struct conf *load(const char *text)
{
    return testconf_load("test_status", "Listen 127.0.0.1:8080\nServerName s.example\n", text,
                         errbuf, sizeof(errbuf));
}

static const struct conf_dir *find_dir(const struct conf *c, const char *pattern)
{
    for (const struct conf_dir *d = c->main->dirs; d != NULL; d = d->next)
        if (strcmp(d->pattern, pattern) == 0)
            return d;
    return NULL;
}

static void test_conf(void)
{
    struct conf *c = load("<Location /server-status>\n  SetHandler Server-Status\n</Location>\n"
                          "<Location /metrics>\n  SetHandler portico-metrics\n</Location>\n"
                          "<LocationMatch ^/bm>\n  SetHandler balancer-manager\n</LocationMatch>\n"
                          "<Location /server-status/none>\n  SetHandler None\n</Location>\n"
                          "<Location /p>\n  SetHandler proxy-server\n</Location>\n");
    ok(c != NULL, "conf: SetHandler loads (%s)", errbuf);
    if (c != NULL) {
        const struct conf_dir *d = find_dir(c, "/server-status");
        is_str(d ? d->handler : NULL, "server-status", "conf: handler stored lower case");
        d = find_dir(c, "/metrics");
        is_str(d ? d->handler : NULL, "portico-metrics", "conf: portico-metrics");
        d = find_dir(c, "^/bm");
        is_str(d ? d->handler : NULL, "balancer-manager", "conf: balancer-manager accepted");
        d = find_dir(c, "/server-status/none");
        is_str(d ? d->handler : NULL, "", "conf: None stored as \"\" (clears inheritance)");
        d = find_dir(c, "/p");
        is_str(d ? d->handler : NULL, "proxy-server", "conf: proxy-server");
        is_int(c->extended_status, 0, "conf: ExtendedStatus unset is 0");
        ok(status_extended(c), "conf: unset means On");
        conf_free(c);
    }

    c = load("<Location /x>\n  SetHandler server-info\n</Location>\n");
    ok(c == NULL && has(errbuf, ":4: SetHandler: unknown handler 'server-info'") &&
           has(errbuf, "server-status, portico-metrics, balancer-manager, proxy-server"),
       "conf: unknown handler refused, known ones listed");
    if (c)
        conf_free(c);
    c = load("SetHandler server-status\n");
    ok(c == NULL && has(errbuf, "SetHandler"), "conf: SetHandler outside a section refused");
    if (c)
        conf_free(c);
    c = load("<Location /x>\n  SetHandler proxy:http://b/\n</Location>\n");
    ok(c == NULL && has(errbuf, "proxy:URL"), "conf: proxy:URL form refused with a hint");
    if (c)
        conf_free(c);
    c = load("<Location /x>\n  SetHandler\n</Location>\n");
    ok(c == NULL && has(errbuf, "takes one argument"), "conf: SetHandler without argument");
    if (c)
        conf_free(c);

    c = load("ExtendedStatus Off\n");
    ok(c != NULL && c->extended_status == 1 && !status_extended(c), "conf: ExtendedStatus Off");
    if (c)
        conf_free(c);
    c = load("ExtendedStatus on\n");
    ok(c != NULL && c->extended_status == 2 && status_extended(c), "conf: ExtendedStatus On");
    if (c)
        conf_free(c);
    c = load("<Location /x>\n  ExtendedStatus On\n</Location>\n");
    ok(c == NULL && has(errbuf, "ExtendedStatus"), "conf: ExtendedStatus only in the server");
    if (c)
        conf_free(c);
    c = load("ExtendedStatus maybe\n");
    ok(c == NULL, "conf: ExtendedStatus needs On|Off");
    if (c)
        conf_free(c);
    ok(status_extended(NULL), "conf: no config means On");
}

int main(void)
{
    struct fixture f;

    test_pid = getpid();
    snprintf(pid_file, sizeof(pid_file), "/nonexistent/status-test.%ld.pid", (long)getpid());
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGABRT, on_signal);
    signal(SIGSEGV, on_signal);

    fx_build(&f);
    if (make_segments(&f) == 0) {
        struct status_source src = {&sb_sm, &bal_sm, NULL, 1, NOW_S * 1000, NULL};
        test_auto(&src);
        test_json(&src);
        test_prometheus(&src);
        test_html(&src);
        test_text(&src);
        test_names(&src, &f);
    }
    test_escape();
    test_empty();
    test_conf();
    slotmem_detach(&bal_sm);
    return tap_done();
}
