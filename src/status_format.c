/* Formatting the scoreboard and the balancer table (status.h), for the server-status and
 * portico-metrics handlers and for tools/portico-status.
 *
 * Two steps, as in portico-status: gather() copies both segments once into a private
 * snapshot, bounding and sanitising what other processes wrote (text fields may be torn,
 * counters are atomics read once); the renderers only read the snapshot, so every format
 * shows the same instant and none of them touches shared memory. */
#include "config.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "balancer_slot.h"
#include "conf_types.h"
#include "proxy_types.h"
#include "scoreboard.h"
#include "status.h"
#include "util.h"

/* The day of __DATE__ ("Jan  1" pads with a space). */
static int build_day(const char *s)
{
    int v = 0;
    for (int i = 0; i < 2; i++)
        if (s[i] >= '0' && s[i] <= '9')
            v = v * 10 + (s[i] - '0');
    return v;
}

/* httpd's "Server Built:" stamp, "2024-07-17T18:57:21": the compile time of this file
 * (portico has no separate build stamp), from __DATE__ "Jul 17 2024" and __TIME__. */
static const char *built_stamp(void)
{
    static char out[32];
    static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
    const char *d = __DATE__, *m = strstr(months, (char[4]){d[0], d[1], d[2], 0});
    if (out[0] == '\0')
        snprintf(out, sizeof(out), "%.4s-%02d-%02dT%s", d + 7, m ? (int)(m - months) / 3 + 1 : 0,
                 build_day(d + 4), __TIME__);
    return out;
}

/* ---- output buffer ---- */

static int buf_reserve(struct status_buf *b, size_t more)
{
    if (b->oom)
        return -1;
    if (b->len + more + 1 <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap < b->len + more + 1) {
        if (cap > ((size_t)-1) / 2)
            goto fail;
        cap *= 2;
    }
    char *n = realloc(b->buf, cap);
    if (n == NULL)
        goto fail;
    b->buf = n;
    b->cap = cap;
    return 0;
fail:
    b->oom = 1;
    return -1;
}

static void put(struct status_buf *b, const char *s, size_t n)
{
    if (buf_reserve(b, n) < 0)
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
    b->buf[b->len] = '\0';
}

static void puts_(struct status_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

static void putc_(struct status_buf *b, char c)
{
    put(b, &c, 1);
}

__attribute__((format(printf, 2, 3))) static void bprintf(struct status_buf *b, const char *fmt,
                                                          ...)
{
    va_list ap;
    char small[512];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        put(b, small, (size_t)n);
        return;
    }
    if (buf_reserve(b, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* ---- escaping (status.h; balancer_manager.c uses it too) ---- */

static const char utf8_replacement[] = "\xef\xbf\xbd"; /* U+FFFD */

/* The length of the well-formed UTF-8 sequence at p (RFC 3629: no overlongs, surrogates or
 * code points above U+10FFFF), 0 when p starts an ill-formed one. Stops at a NUL. */
static size_t utf8_len(const unsigned char *p)
{
    unsigned lo = 0x80, hi = 0xbf;
    size_t n;
    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4;
    else
        return 0;
    if (p[0] == 0xe0)
        lo = 0xa0;
    else if (p[0] == 0xed)
        hi = 0x9f;
    else if (p[0] == 0xf0)
        lo = 0x90;
    else if (p[0] == 0xf4)
        hi = 0x8f;
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xbf)
            return 0;
    return n;
}

/* What stands for the ASCII byte c, or NULL when it stands for itself. */
static const char *esc_ascii(enum status_esc how, unsigned char c, char tmp[8])
{
    static const char *const html[128] = {
        ['<'] = "&lt;", ['>'] = "&gt;", ['&'] = "&amp;", ['"'] = "&quot;", ['\''] = "&#39;",
    };
    static const char *const prom[128] = {['\\'] = "\\\\", ['"'] = "\\\"", ['\n'] = "\\n"};
    switch (how) {
    case STATUS_ESC_HTML:
        /* XML 1.0 allows no other C0 control, not even as &#N; */
        if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
            return utf8_replacement;
        return html[c];
    case STATUS_ESC_JSON:
        if (c == '"' || c == '\\') {
            tmp[0] = '\\';
            tmp[1] = (char)c;
            tmp[2] = '\0';
            return tmp;
        }
        /* < > & too: the JSON stays inert if someone pastes it into a <script> */
        if (c < 0x20 || c == 0x7f || c == '<' || c == '>' || c == '&') {
            snprintf(tmp, 8, "\\u%04x", c);
            return tmp;
        }
        return NULL;
    case STATUS_ESC_PROM:
        return prom[c];
    }
    return NULL;
}

void status_escape(enum status_esc how, const char *s,
                   void (*put_fn)(void *ctx, const char *bytes, size_t n), void *ctx)
{
    const char *run = s; /* bytes not yet given to put_fn that stand for themselves */
    while (*s) {
        char tmp[8];
        const char *rep;
        size_t n = utf8_len((const unsigned char *)s);
        if (n == 0) {
            rep = how == STATUS_ESC_JSON ? "\\ufffd" : utf8_replacement;
            n = 1;
        } else {
            rep = n == 1 ? esc_ascii(how, (unsigned char)*s, tmp) : NULL;
        }
        if (rep == NULL) {
            s += n;
            continue;
        }
        if (s > run)
            put_fn(ctx, run, (size_t)(s - run));
        put_fn(ctx, rep, strlen(rep));
        s += n;
        run = s;
    }
    if (s > run)
        put_fn(ctx, run, (size_t)(s - run));
}

static void esc_sink(void *ctx, const char *bytes, size_t n)
{
    put(ctx, bytes, n);
}

static void put_html(struct status_buf *b, const char *s)
{
    status_escape(STATUS_ESC_HTML, s, esc_sink, b);
}

static void put_json_str(struct status_buf *b, const char *s)
{
    putc_(b, '"');
    status_escape(STATUS_ESC_JSON, s, esc_sink, b);
    putc_(b, '"');
}

static void put_prom_label(struct status_buf *b, const char *s)
{
    status_escape(STATUS_ESC_PROM, s, esc_sink, b);
}

/* ---- snapshot ---- */

struct snap_worker {
    unsigned slot;
    int32_t pid;
    uint32_t generation;
    char state; /* a valid letter, '.' for a dead slot, '?' for garbage */
    uint64_t requests, connections, bytes;
    int64_t started, last_used_ms, req_start_ms;
    uint64_t req_time_us;
    int has_cpu;
    double cpu_user, cpu_sys, cpu_cuser, cpu_csys; /* seconds */
    char client[sizeof(((struct sb_worker_slot *)0)->client)];
    char vhost[sizeof(((struct sb_worker_slot *)0)->vhost)];
    char request[sizeof(((struct sb_worker_slot *)0)->request)];
};

struct snap_member {
    unsigned slot;
    char name[sizeof(((struct balancer_slot *)0)->url)];
    char route[sizeof(((struct balancer_slot *)0)->route)];
    char redirect[sizeof(((struct balancer_slot *)0)->redirect)];
    char hcmethod[sizeof(((struct balancer_slot *)0)->hcmethod)];
    unsigned status;
    int runtime;
    int32_t lbfactor, lbset;
    int64_t lbstatus;
    uint64_t elected;
    int64_t busy;
    uint64_t transferred, read;
    int64_t error_time_ms;
    uint64_t errors, retries;
    int32_t hb_ready, hb_busy;
    int64_t hb_seen_ms;
    int32_t hc_passes, hc_fails, hc_last_ok, hc_interval_ms;
    int64_t hc_last_ms;
};

struct snap_balancer {
    char name[sizeof(((struct balancer_shm_info *)0)->name)];
    char lbmethod[sizeof(((struct balancer_shm_info *)0)->lbmethod)];
    char sticky[sizeof(((struct balancer_shm_info *)0)->sticky)];
    unsigned n_config, n_growth, n_members;
    int32_t maxattempts, timeout_ms;
    int nofailover;
    struct snap_member *members;
};

struct snap {
    int has_scoreboard;
    char server_name[128];
    char server_version[sizeof(((struct sb_global *)0)->server_version)];
    int32_t master_pid;
    uint32_t generation;
    int64_t start_time, restart_time, now, now_ms, uptime;
    unsigned slot_count, max_request_workers;
    uint64_t total_requests, total_connections, total_bytes;
    unsigned busy;     /* R W K L D C */
    unsigned graceful; /* G */
    unsigned idle;     /* READY of the current generation */
    unsigned starting; /* STARTING of the current generation */
    unsigned by_state[12];
    int has_cpu;
    double cpu_user, cpu_sys, cpu_cuser, cpu_csys;
    int has_load;
    double load[3];
    struct snap_worker *workers;
    int has_balancers;
    unsigned n_balancers;
    struct snap_balancer *balancers;
    int extended;
};

static const char state_letters[] = "_SRWKLDCGI.";
static const char *const state_names[] = {
    "ready", "starting", "read",     "write",     "keepalive", "log",
    "dns",   "closing",  "graceful", "idle_kill", "dead",
};

static int state_index(char c)
{
    const char *p = c ? strchr(state_letters, c) : NULL;
    return p ? (int)(p - state_letters) : -1;
}

/* CPU seconds of a process from /proc (Linux); 0 when unavailable. httpd keeps times() of
 * each child in its scoreboard; reading them here keeps the writers untouched. */
static int proc_cpu(int32_t pid, double *ut, double *st, double *cut, double *cst)
{
    char line[1024];
    const char *p = util_proc_stat_fields((long)pid, line, sizeof(line));
    if (p == NULL)
        return 0;
    unsigned long long v[4];
    /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
     * cutime cstime */
    if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &v[0], &v[1],
               &v[2], &v[3]) != 4)
        return 0;
    long tick = sysconf(_SC_CLK_TCK);
    if (tick <= 0)
        tick = 100;
    *ut = (double)v[0] / (double)tick;
    *st = (double)v[1] / (double)tick;
    *cut = (double)v[2] / (double)tick;
    *cst = (double)v[3] / (double)tick;
    return 1;
}

static int is_valid_state(int c)
{
    return c > 0 && c < 128 && strchr(state_letters, c) != NULL;
}

static int gather_scoreboard(const struct slotmem *sm, struct snap *s)
{
    struct sb_global *g = scoreboard_global(sm);

    s->has_scoreboard = 1;
    if (s->server_name[0] == '\0')
        scoreboard_get_text(s->server_name, sizeof(s->server_name), g->server_name,
                            sizeof(g->server_name));
    scoreboard_get_text(s->server_version, sizeof(s->server_version), g->server_version,
                        sizeof(g->server_version));
    s->master_pid = atomic_load(&g->master_pid);
    s->generation = atomic_load(&g->generation);
    s->start_time = g->start_time;
    s->restart_time = atomic_load(&g->restart_time);
    s->uptime = s->restart_time > 0 && s->now > s->restart_time ? s->now - s->restart_time : 0;

    /* The mapping's slot count is the only trustworthy bound. */
    s->slot_count = slotmem_count(sm);
    int32_t mrw = atomic_load(&g->max_request_workers);
    s->max_request_workers =
        (mrw <= 0 || (uint32_t)mrw > s->slot_count) ? s->slot_count : (unsigned)mrw;
    s->workers = calloc(s->slot_count ? s->slot_count : 1, sizeof(*s->workers));
    if (s->workers == NULL)
        return -1;
    s->total_requests = atomic_load(&g->gone_requests);
    s->total_connections = atomic_load(&g->gone_connections);
    s->total_bytes = atomic_load(&g->gone_bytes);

    for (unsigned i = 0; i < s->slot_count; i++) {
        struct sb_worker_slot *w = scoreboard_slot(sm, i);
        struct snap_worker *o = &s->workers[i];
        int state = atomic_load(&w->state);

        o->slot = i;
        o->pid = atomic_load(&w->pid);
        o->generation = atomic_load(&w->generation);
        o->state = o->pid == 0 ? SB_STATE_DEAD : is_valid_state(state) ? (char)state : '?';
        o->requests = atomic_load(&w->requests);
        o->connections = atomic_load(&w->connections);
        o->bytes = atomic_load(&w->bytes);
        o->started = atomic_load(&w->started);
        o->last_used_ms = atomic_load(&w->last_used_ms);
        o->req_start_ms = atomic_load(&w->req_start_ms);
        o->req_time_us = atomic_load(&w->req_time_us);
        scoreboard_get_text(o->client, sizeof(o->client), w->client, sizeof(w->client));
        scoreboard_get_text(o->vhost, sizeof(o->vhost), w->vhost, sizeof(w->vhost));
        scoreboard_get_text(o->request, sizeof(o->request), w->request, sizeof(w->request));

        s->total_requests += o->requests;
        s->total_connections += o->connections;
        s->total_bytes += o->bytes;
        if (i < s->max_request_workers || o->pid != 0) {
            int si = state_index(o->state);
            if (si >= 0)
                s->by_state[si]++;
        }
        if (o->pid == 0)
            continue;
        if (o->pid > 0 &&
            proc_cpu(o->pid, &o->cpu_user, &o->cpu_sys, &o->cpu_cuser, &o->cpu_csys)) {
            o->has_cpu = 1;
            s->has_cpu = 1;
            s->cpu_user += o->cpu_user;
            s->cpu_sys += o->cpu_sys;
            s->cpu_cuser += o->cpu_cuser;
            s->cpu_csys += o->cpu_csys;
        }
        if (o->state == SB_STATE_GRACEFUL)
            s->graceful++;
        else if (o->state != '?' && strchr("RWKLDC", o->state) != NULL)
            s->busy++;
        else if (o->generation == s->generation && o->state == SB_STATE_READY)
            s->idle++;
        else if (o->generation == s->generation && o->state == SB_STATE_STARTING)
            s->starting++;
    }
    return 0;
}

/* A C string through scoreboard_get_text's bounding and sanitising. */
static void set_text(char *out, size_t outlen, const char *s)
{
    scoreboard_get_text(out, outlen, s, strlen(s) + 1);
}

/* The contract says CLOCK_REALTIME ms; a writer that used the monotonic clock (values below
 * 2001-09-09 in ms) is converted rather than shown as decades ago. 0 stays 0 (never). */
static int64_t wall_ms(int64_t t, int64_t mono_offset)
{
    return t > 0 && t < 1000000000000LL ? t + mono_offset : t;
}

/* The config's name for a member slot, when the config is at hand. */
static const char *conf_member_name(const struct conf *c, unsigned slot)
{
    if (c == NULL || c->proxy == NULL)
        return NULL;
    for (const struct proxy_balancer *b = c->proxy->balancers; b != NULL; b = b->next)
        for (const struct proxy_member *m = b->members; m != NULL; m = m->next)
            if (m->slot == slot && m->worker != NULL && m->worker->name != NULL)
                return m->worker->name;
    return NULL;
}

static const char *conf_balancer_name(const struct conf *c, unsigned index)
{
    if (c == NULL || c->proxy == NULL)
        return NULL;
    for (const struct proxy_balancer *b = c->proxy->balancers; b != NULL; b = b->next)
        if (b->index == index)
            return b->name;
    return NULL;
}

static int gather_balancers(const struct slotmem *sm, const struct conf *c, struct snap *s)
{
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int64_t mono_offset = s->now_ms - ((int64_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000);

    if (balancer_shm_global(sm) == NULL)
        return 0;
    s->has_balancers = 1;
    s->n_balancers = balancer_shm_count(sm);
    s->balancers = calloc(s->n_balancers ? s->n_balancers : 1, sizeof(*s->balancers));
    if (s->balancers == NULL)
        return -1;
    for (unsigned b = 0; b < s->n_balancers; b++) {
        const struct balancer_shm_info *in = balancer_shm_info(sm, b);
        struct snap_balancer *o = &s->balancers[b];

        scoreboard_get_text(o->name, sizeof(o->name), in->name, sizeof(in->name));
        if (o->name[0] == '\0') {
            const char *cn = conf_balancer_name(c, b);
            if (cn != NULL)
                set_text(o->name, sizeof(o->name), cn);
            else
                snprintf(o->name, sizeof(o->name), "balancer #%u", b);
        }
        scoreboard_get_text(o->lbmethod, sizeof(o->lbmethod), in->lbmethod, sizeof(in->lbmethod));
        scoreboard_get_text(o->sticky, sizeof(o->sticky), in->sticky, sizeof(in->sticky));
        o->n_config = in->n_members;
        o->n_growth = in->n_slots > in->n_members ? in->n_slots - in->n_members : 0;
        o->maxattempts = in->maxattempts;
        o->timeout_ms = in->timeout_ms;
        o->nofailover = in->nofailover != 0;
        o->members = calloc(in->n_slots ? in->n_slots : 1, sizeof(*o->members));
        if (o->members == NULL)
            return -1;
        for (unsigned k = 0; k < in->n_slots; k++) {
            const struct balancer_slot *sl = balancer_shm_slot(sm, in->slot_base + k);
            if (sl == NULL || atomic_load(&sl->in_use) != 1)
                continue;
            struct snap_member *m = &o->members[o->n_members++];
            m->slot = in->slot_base + k;
            /* The slot's URL is authoritative (it also covers members added at run time);
             * the config's name, then the slot number, stand in when it is empty. */
            scoreboard_get_text(m->name, sizeof(m->name), sl->url, sizeof(sl->url));
            if (m->name[0] == '\0') {
                const char *cn = conf_member_name(c, m->slot);
                if (cn != NULL)
                    set_text(m->name, sizeof(m->name), cn);
                else
                    snprintf(m->name, sizeof(m->name), "slot %u", m->slot);
            }
            scoreboard_get_text(m->route, sizeof(m->route), sl->route, sizeof(sl->route));
            scoreboard_get_text(m->redirect, sizeof(m->redirect), sl->redirect,
                                sizeof(sl->redirect));
            scoreboard_get_text(m->hcmethod, sizeof(m->hcmethod), sl->hcmethod,
                                sizeof(sl->hcmethod));
            m->status = atomic_load(&sl->status);
            m->runtime = (atomic_load(&sl->flags) & BSLOT_F_RUNTIME) != 0;
            m->lbfactor = atomic_load(&sl->lbfactor);
            m->lbset = atomic_load(&sl->lbset);
            m->lbstatus = atomic_load(&sl->lbstatus);
            m->elected = atomic_load(&sl->elected);
            m->busy = atomic_load(&sl->busy);
            m->transferred = atomic_load(&sl->transferred);
            m->read = atomic_load(&sl->read);
            m->error_time_ms = wall_ms(atomic_load(&sl->error_time_ms), mono_offset);
            m->errors = atomic_load(&sl->errors);
            m->retries = atomic_load(&sl->retries);
            m->hb_ready = atomic_load(&sl->hb_ready);
            m->hb_busy = atomic_load(&sl->hb_busy);
            m->hb_seen_ms = wall_ms(atomic_load(&sl->hb_seen_ms), mono_offset);
            m->hc_passes = atomic_load(&sl->hc_passes);
            m->hc_fails = atomic_load(&sl->hc_fails);
            m->hc_last_ok = atomic_load(&sl->hc_last_ok);
            m->hc_interval_ms = atomic_load(&sl->hc_interval_ms);
            m->hc_last_ms = wall_ms(atomic_load(&sl->hc_last_ms), mono_offset);
        }
    }
    return 0;
}

static void snap_free(struct snap *s)
{
    free(s->workers);
    for (unsigned b = 0; s->balancers != NULL && b < s->n_balancers; b++)
        free(s->balancers[b].members);
    free(s->balancers);
}

static int gather(const struct status_source *src, struct snap *s)
{
    memset(s, 0, sizeof(*s));
    s->now_ms = src->now_ms > 0 ? src->now_ms : scoreboard_now_ms();
    s->now = s->now_ms / 1000;
    s->extended = src->extended;
    /* Names from the request (Host) and the config get the scoreboard's sanitising too: the
     * ?auto and text formats print them as they are. */
    if (src->server_name != NULL)
        set_text(s->server_name, sizeof(s->server_name), src->server_name);
    if (getloadavg(s->load, 3) == 3)
        s->has_load = 1;
    if (src->scoreboard != NULL && src->scoreboard->hdr != NULL &&
        gather_scoreboard(src->scoreboard, s) < 0)
        return -1;
    if (s->server_name[0] == '\0' && src->conf != NULL && src->conf->main != NULL &&
        src->conf->main->server_name != NULL)
        set_text(s->server_name, sizeof(s->server_name), src->conf->main->server_name);
    if (s->server_name[0] == '\0')
        util_strlcpy(s->server_name, "localhost", sizeof(s->server_name));
    if (s->server_version[0] == '\0')
        util_strlcpy(s->server_version, "portico/" PACKAGE_VERSION, sizeof(s->server_version));
    if (src->balancers != NULL && src->balancers->hdr != NULL &&
        gather_balancers(src->balancers, src->conf, s) < 0)
        return -1;
    return 0;
}

/* ---- shared pieces ---- */

static void format_time(char *out, size_t len, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
        strftime(out, len, "%A, %d-%b-%Y %H:%M:%S %Z", &tm) == 0)
        util_strlcpy(out, "-", len);
}

/* httpd's " 1 day 2 hours 3 minutes 4 seconds" (leading space), zero parts left out. */
static void format_uptime(char *out, size_t len, int64_t secs)
{
    static const struct {
        const char *unit;
        int64_t size;
    } parts[] = {{"day", 86400}, {"hour", 3600}, {"minute", 60}, {"second", 1}};
    size_t used = 0;

    out[0] = '\0';
    if (secs < 0)
        secs = 0;
    for (size_t i = 0; i < ARRAY_LEN(parts); i++) {
        int64_t n = secs / parts[i].size;
        secs %= parts[i].size;
        if (n == 0 || used >= len)
            continue;
        int w = snprintf(out + used, len - used, " %lld %s%s", (long long)n, parts[i].unit,
                         n == 1 ? "" : "s");
        if (w > 0)
            used += (size_t)w;
    }
    if (out[0] == '\0')
        util_strlcpy(out, " 0 seconds", len);
}

/* httpd's format_byte_out: "123 B", "1.5 kB", "2.3 MB", "1.1 GB". */
static void format_bytes(char *out, size_t len, uint64_t b)
{
    if (b < 5120)
        snprintf(out, len, "%llu B", (unsigned long long)b);
    else if (b < 5120ull * 1024)
        snprintf(out, len, "%.1f kB", (double)b / 1024);
    else if (b < 5120ull * 1024 * 1024)
        snprintf(out, len, "%.1f MB", (double)b / (1024.0 * 1024));
    else
        snprintf(out, len, "%.1f GB", (double)b / (1024.0 * 1024 * 1024));
}

/* A duration for humans, two units at most: "0s", "42s", "3m12s", "2h05m", "4d03h". */
static void format_age(char *out, size_t len, int64_t ms)
{
    int64_t s = ms > 0 ? ms / 1000 : 0;
    if (s < 60)
        snprintf(out, len, "%llds", (long long)s);
    else if (s < 3600)
        snprintf(out, len, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else if (s < 86400)
        snprintf(out, len, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else
        snprintf(out, len, "%lldd%02lldh", (long long)(s / 86400), (long long)(s % 86400 / 3600));
}

/* mod_proxy's ap_proxy_parse_wstatus words: "Init " then one word per flag, "Ok " when
 * usable (e.g. "Init Ok ", "Init Err ", "Init Stby Ok "). */
const char *status_member_wstatus(char *out, size_t len, unsigned st)
{
    static const struct {
        unsigned flag;
        const char *name;
    } tbl[] = {
        {MEMBER_IGNORE, "Ign "},   {MEMBER_DRAIN, "Drn "},   {MEMBER_DISABLED, "Dis "},
        {MEMBER_STOPPED, "Stop "}, {MEMBER_ERROR, "Err "},   {MEMBER_STANDBY, "Stby "},
        {MEMBER_SPARE, "Spar "},   {MEMBER_HCFAIL, "HcFl "},
    };
    util_strlcpy(out, "Init ", len);
    size_t n = strlen(out);
    for (size_t i = 0; i < ARRAY_LEN(tbl) && n < len; i++)
        if (st & tbl[i].flag)
            n += (size_t)snprintf(out + n, len - n, "%s", tbl[i].name);
    if (n < len && status_member_usable(st))
        snprintf(out + n, len - n, "Ok ");
    return out;
}

int status_member_usable(unsigned st)
{
    return !(st & (MEMBER_DISABLED | MEMBER_STOPPED | MEMBER_ERROR | MEMBER_HCFAIL));
}

/* The state letters: every slot up to MaxRequestWorkers, beyond it only live slots
 * (MaxRequestWorkers lowered by a graceful restart while old workers finish). */
static void put_letters(struct status_buf *b, const struct snap *s, unsigned per_line)
{
    unsigned col = 0;
    for (unsigned i = 0; i < s->slot_count; i++) {
        const struct snap_worker *w = &s->workers[i];
        if (i >= s->max_request_workers && w->pid == 0)
            continue;
        putc_(b, w->state);
        if (per_line && ++col % per_line == 0)
            putc_(b, '\n');
    }
    if (per_line && col % per_line != 0)
        putc_(b, '\n');
}

/* mod_status's SS column: seconds since the slot's last state change (ws_record.last_used). */
static int64_t seconds_since(int64_t now_ms, int64_t t_ms)
{
    return t_ms > 0 && now_ms >= t_ms ? (now_ms - t_ms) / 1000 : -1;
}

/* ---- ?auto ---- */

static void render_auto(struct status_buf *b, const struct snap *s)
{
    char t[128];

    bprintf(b, "%s\n", s->server_name);
    bprintf(b, "ServerVersion: %s\n", s->server_version);
    puts_(b, "ServerMPM: prefork\n");
    bprintf(b, "Server Built: %s\n", built_stamp());
    format_time(t, sizeof(t), s->now);
    bprintf(b, "CurrentTime: %s\n", t);
    format_time(t, sizeof(t), s->restart_time);
    bprintf(b, "RestartTime: %s\n", t);
    /* httpd's config generation counts from 1, its MPM generation from 0. */
    bprintf(b, "ParentServerConfigGeneration: %lu\n", (unsigned long)s->generation);
    bprintf(b, "ParentServerMPMGeneration: %lu\n",
            (unsigned long)(s->generation > 0 ? s->generation - 1 : 0));
    bprintf(b, "ServerUptimeSeconds: %lld\n", (long long)s->uptime);
    format_uptime(t, sizeof(t), s->uptime);
    bprintf(b, "ServerUptime:%s\n", t);
    if (s->has_load)
        bprintf(b, "Load1: %.2f\nLoad5: %.2f\nLoad15: %.2f\n", s->load[0], s->load[1], s->load[2]);
    if (s->extended) {
        /* httpd computes these in float from the kB count: keep its rounding. */
        unsigned long kb = (unsigned long)(s->total_bytes >> 10);
        unsigned long count = (unsigned long)s->total_requests;
        bprintf(b, "Total Accesses: %lu\n", count);
        bprintf(b, "Total kBytes: %lu\n", kb);
        /* Total Duration: portico keeps only each slot's last request time. */
        if (s->has_cpu) {
            bprintf(b, "CPUUser: %g\nCPUSystem: %g\nCPUChildrenUser: %g\nCPUChildrenSystem: %g\n",
                    s->cpu_user, s->cpu_sys, s->cpu_cuser, s->cpu_csys);
            double cpu = s->cpu_user + s->cpu_sys + s->cpu_cuser + s->cpu_csys;
            if (cpu > 0 && s->uptime > 0)
                bprintf(b, "CPULoad: %g\n", cpu / (double)s->uptime * 100.);
        }
        bprintf(b, "Uptime: %lld\n", (long long)s->uptime);
        if (s->uptime > 0) {
            bprintf(b, "ReqPerSec: %g\n", (double)((float)count / (float)s->uptime));
            bprintf(b, "BytesPerSec: %g\n", (double)(1024.0f * (float)kb / (float)s->uptime));
        }
        if (count > 0)
            bprintf(b, "BytesPerReq: %g\n", (double)(1024.0f * (float)kb / (float)count));
    }
    bprintf(b, "BusyWorkers: %u\n", s->busy);
    bprintf(b, "GracefulWorkers: %u\n", s->graceful);
    bprintf(b, "IdleWorkers: %u\n", s->idle);
    puts_(b, "Scoreboard: ");
    put_letters(b, s, 0);
    putc_(b, '\n');
    /* mod_proxy's status hook (ProxyStatus On): portico always shows its balancers. */
    for (unsigned i = 0; i < s->n_balancers; i++) {
        const struct snap_balancer *sb = &s->balancers[i];
        bprintf(b, "ProxyBalancer[%u]Name: %s\n", i, sb->name);
        for (unsigned k = 0; k < sb->n_members; k++) {
            const struct snap_member *m = &sb->members[k];
            status_member_wstatus(t, sizeof(t), m->status);
            bprintf(b, "ProxyBalancer[%u]Worker[%u]Name: %s\n", i, k, m->name);
            bprintf(b, "ProxyBalancer[%u]Worker[%u]Status: %s\n", i, k, t);
            bprintf(b, "ProxyBalancer[%u]Worker[%u]Elected: %llu\n", i, k,
                    (unsigned long long)m->elected);
            bprintf(b, "ProxyBalancer[%u]Worker[%u]Busy: %lld\n", i, k, (long long)m->busy);
            bprintf(b, "ProxyBalancer[%u]Worker[%u]Sent: %lluK\n", i, k,
                    (unsigned long long)(m->transferred >> 10));
            bprintf(b, "ProxyBalancer[%u]Worker[%u]Rcvd: %lluK\n", i, k,
                    (unsigned long long)(m->read >> 10));
        }
    }
}

/* ---- HTML ---- */

static void html_dt(struct status_buf *b, const char *label, const char *value)
{
    bprintf(b, "<dt>%s: ", label);
    put_html(b, value);
    puts_(b, "</dt>\n");
}

static void render_html_workers(struct status_buf *b, const struct snap *s)
{
    puts_(b, "\n\n<table border=\"0\"><tr><th>Srv</th><th>PID</th><th>Acc</th><th>M</th>"
             "<th>CPU</th><th>SS</th><th>Req</th><th>Conn</th><th>Bytes</th><th>Client</th>"
             "<th>VHost</th><th>Request</th></tr>\n\n");
    for (unsigned i = 0; i < s->slot_count; i++) {
        const struct snap_worker *w = &s->workers[i];
        char bytes[32];
        if (w->requests == 0 && (w->state == SB_STATE_READY || w->state == SB_STATE_DEAD))
            continue;
        bprintf(b, "<tr><td><b>%u-%lu</b></td>", w->slot, (unsigned long)w->generation);
        if (w->pid != 0)
            bprintf(b, "<td>%ld</td>", (long)w->pid);
        else
            puts_(b, "<td>-</td>");
        bprintf(b, "<td>%llu</td>", (unsigned long long)w->requests);
        if (w->state == SB_STATE_READY || w->state == SB_STATE_DEAD)
            bprintf(b, "<td>%c</td>", w->state);
        else
            bprintf(b, "<td><b>%c</b></td>", w->state);
        if (w->has_cpu)
            bprintf(b, "<td>%.2f</td>", w->cpu_user + w->cpu_sys + w->cpu_cuser + w->cpu_csys);
        else
            puts_(b, "<td>-</td>");
        int64_t ss = seconds_since(s->now_ms, w->last_used_ms);
        if (ss >= 0)
            bprintf(b, "<td>%lld</td>", (long long)ss);
        else
            puts_(b, "<td>-</td>");
        bprintf(b, "<td>%llu</td><td>%llu</td>", (unsigned long long)(w->req_time_us / 1000),
                (unsigned long long)w->connections);
        format_bytes(bytes, sizeof(bytes), w->bytes);
        bprintf(b, "<td>%s</td>", bytes);
        puts_(b, "<td>");
        put_html(b, w->client);
        puts_(b, "</td><td nowrap>");
        put_html(b, w->vhost);
        puts_(b, "</td><td nowrap>");
        put_html(b, w->request);
        puts_(b, "</td></tr>\n\n");
    }
    puts_(b, "</table>\n <hr /> <table>\n"
             " <tr><th>Srv</th><td>Child Server number - generation</td></tr>\n"
             " <tr><th>PID</th><td>OS process ID</td></tr>\n"
             " <tr><th>Acc</th><td>Number of requests this child has served</td></tr>\n"
             " <tr><th>M</th><td>Mode of operation</td></tr>\n"
             " <tr><th>CPU</th><td>CPU usage, number of seconds</td></tr>\n"
             " <tr><th>SS</th><td>Seconds since beginning of most recent request</td></tr>\n"
             " <tr><th>Req</th><td>Milliseconds required to process most recent "
             "request</td></tr>\n"
             " <tr><th>Conn</th><td>Connections this child has accepted</td></tr>\n"
             " <tr><th>Bytes</th><td>Bytes sent by this child</td></tr>\n"
             " </table>\n");
}

static void render_html_balancers(struct status_buf *b, const struct snap *s)
{
    char cell[160];
    for (unsigned i = 0; i < s->n_balancers; i++) {
        const struct snap_balancer *sb = &s->balancers[i];
        puts_(b, "<hr />\n<h1>Proxy LoadBalancer Status for ");
        put_html(b, sb->name);
        puts_(b, "</h1>\n\n<table border=\"0\"><tr><th>SSes</th><th>Timeout</th><th>Method</th>"
                 "<th>Members</th></tr>\n<tr><td>");
        put_html(b, sb->sticky[0] ? sb->sticky : " - ");
        bprintf(b, "</td><td>%ld</td><td>", (long)(sb->timeout_ms > 0 ? sb->timeout_ms / 1000 : 0));
        put_html(b, sb->lbmethod);
        bprintf(b, "</td><td>%u</td></tr>\n</table>\n\n", sb->n_members);
        puts_(b, "<table border=\"0\"><tr><th>Member</th><th>Route</th><th>Redir</th><th>F</th>"
                 "<th>Set</th><th>Stat</th><th>Acc</th><th>Busy</th><th>Load</th><th>Wr</th>"
                 "<th>Rd</th><th>Err</th><th>Last error</th><th>Heartbeat</th>"
                 "<th>Health</th></tr>\n");
        for (unsigned k = 0; k < sb->n_members; k++) {
            const struct snap_member *m = &sb->members[k];
            char wr[32], rd[32], age[32];
            puts_(b, "<tr><td>");
            put_html(b, m->name);
            if (m->runtime)
                puts_(b, " [runtime]");
            puts_(b, "</td><td>");
            put_html(b, m->route);
            puts_(b, "</td><td>");
            put_html(b, m->redirect);
            balancer_status_text(m->status, cell, sizeof(cell));
            format_bytes(wr, sizeof(wr), m->transferred);
            format_bytes(rd, sizeof(rd), m->read);
            bprintf(b,
                    "</td><td>%.2f</td><td>%ld</td><td>%s</td><td>%llu</td><td>%lld</td>"
                    "<td>%lld</td><td>%s</td><td>%s</td><td>%llu</td>",
                    (double)m->lbfactor / 100.0, (long)m->lbset, cell,
                    (unsigned long long)m->elected, (long long)m->busy, (long long)m->lbstatus, wr,
                    rd, (unsigned long long)m->errors);
            if (m->error_time_ms > 0) {
                format_age(age, sizeof(age), s->now_ms - m->error_time_ms);
                bprintf(b, "<td>%s ago</td>", age);
            } else {
                puts_(b, "<td>-</td>");
            }
            if (m->hb_seen_ms > 0) {
                format_age(age, sizeof(age), s->now_ms - m->hb_seen_ms);
                bprintf(b, "<td>%ld/%ld %s</td>", (long)m->hb_ready, (long)m->hb_busy, age);
            } else {
                puts_(b, "<td>-</td>");
            }
            puts_(b, "<td>");
            if (m->hcmethod[0] == '\0') {
                puts_(b, "-");
            } else if (m->hc_last_ok < 0 || m->hc_last_ms <= 0) {
                put_html(b, m->hcmethod);
                puts_(b, " pending");
            } else {
                format_age(age, sizeof(age), s->now_ms - m->hc_last_ms);
                put_html(b, m->hcmethod);
                bprintf(b, " %s(%ld) %s ago", m->hc_last_ok ? "ok" : "FAIL",
                        (long)(m->hc_last_ok ? m->hc_passes : m->hc_fails), age);
            }
            puts_(b, "</td></tr>\n");
        }
        puts_(b, "</table>\n");
    }
    if (s->n_balancers > 0)
        puts_(b, "<hr /><table>\n"
                 "<tr><th>SSes</th><td>Sticky session name</td></tr>\n"
                 "<tr><th>Timeout</th><td>Balancer Timeout</td></tr>\n"
                 "<tr><th>F</th><td>Load Balancer Factor</td></tr>\n"
                 "<tr><th>Set</th><td>Load Balancer Set</td></tr>\n"
                 "<tr><th>Stat</th><td>Worker status: I ignore errors, N drain, D disabled, "
                 "S stopped, E in error, H hot standby, R hot spare, C health check failed; "
                 "Ok usable</td></tr>\n"
                 "<tr><th>Acc</th><td>Number of uses (elected)</td></tr>\n"
                 "<tr><th>Load</th><td>lbmethod accounting (lbstatus)</td></tr>\n"
                 "<tr><th>Wr</th><td>Number of bytes transferred</td></tr>\n"
                 "<tr><th>Rd</th><td>Number of bytes read</td></tr>\n"
                 "</table>\n");
}

static void render_html(struct status_buf *b, const struct snap *s)
{
    char t[128];

    puts_(b, "<!DOCTYPE HTML PUBLIC \"-//W3C//DTD HTML 4.01//EN\" "
             "\"http://www.w3.org/TR/html4/strict.dtd\">\n<html><head>\n"
             "<title>portico Status</title>\n</head><body>\n<h1>portico Server Status for ");
    put_html(b, s->server_name);
    puts_(b, "</h1>\n\n<dl>");
    html_dt(b, "Server Version", s->server_version);
    bprintf(b, "<dt>Server MPM: prefork</dt>\n<dt>Server Built: %s\n</dt></dl><hr /><dl>\n",
            built_stamp());
    format_time(t, sizeof(t), s->now);
    html_dt(b, "Current Time", t);
    format_time(t, sizeof(t), s->restart_time);
    html_dt(b, "Restart Time", t);
    bprintf(b, "<dt>Parent Server Config. Generation: %lu</dt>\n", (unsigned long)s->generation);
    bprintf(b, "<dt>Parent Server MPM Generation: %lu</dt>\n",
            (unsigned long)(s->generation > 0 ? s->generation - 1 : 0));
    format_uptime(t, sizeof(t), s->uptime);
    bprintf(b, "<dt>Server uptime: %s</dt>\n", t);
    if (s->has_load)
        bprintf(b, "<dt>Server load: %.2f %.2f %.2f</dt>\n", s->load[0], s->load[1], s->load[2]);
    if (s->extended) {
        char traffic[32];
        format_bytes(traffic, sizeof(traffic), s->total_bytes);
        bprintf(b, "<dt>Total accesses: %llu - Total connections: %llu - Total Traffic: %s</dt>\n",
                (unsigned long long)s->total_requests, (unsigned long long)s->total_connections,
                traffic);
        if (s->has_cpu) {
            double cpu = s->cpu_user + s->cpu_sys + s->cpu_cuser + s->cpu_csys;
            bprintf(b, "<dt>CPU Usage: u%g s%g cu%g cs%g", s->cpu_user, s->cpu_sys, s->cpu_cuser,
                    s->cpu_csys);
            if (cpu > 0 && s->uptime > 0)
                bprintf(b, " - %.3g%% CPU load", cpu / (double)s->uptime * 100.);
            puts_(b, "</dt>\n");
        }
        if (s->uptime > 0) {
            char rate[32];
            format_bytes(rate, sizeof(rate), s->total_bytes / (uint64_t)s->uptime);
            bprintf(b, "<dt>%.3g requests/sec - %s/second",
                    (double)s->total_requests / (double)s->uptime, rate);
            if (s->total_requests > 0) {
                format_bytes(rate, sizeof(rate), s->total_bytes / s->total_requests);
                bprintf(b, " - %s/request", rate);
            }
            puts_(b, "</dt>\n");
        }
    }
    bprintf(b,
            "<dt>%u requests currently being processed, %u workers gracefully restarting, "
            "%u idle workers</dt>\n</dl><pre>",
            s->busy, s->graceful, s->idle);
    put_letters(b, s, 64);
    puts_(b, "</pre>\n<p>Scoreboard Key:<br />\n"
             "\"<b><code>_</code></b>\" Waiting for Connection, \n"
             "\"<b><code>S</code></b>\" Starting up, \n"
             "\"<b><code>R</code></b>\" Reading Request,<br />\n"
             "\"<b><code>W</code></b>\" Sending Reply, \n"
             "\"<b><code>K</code></b>\" Keepalive (read), \n"
             "\"<b><code>D</code></b>\" DNS Lookup,<br />\n"
             "\"<b><code>C</code></b>\" Closing connection, \n"
             "\"<b><code>L</code></b>\" Logging, \n"
             "\"<b><code>G</code></b>\" Gracefully finishing,<br /> \n"
             "\"<b><code>I</code></b>\" Idle cleanup of worker, \n"
             "\"<b><code>.</code></b>\" Open slot with no current process<br />\n</p>\n");
    if (s->extended) {
        render_html_workers(b, s);
    } else {
        puts_(b, "<hr />To obtain a full report with current status information you need to "
                 "use the <code>ExtendedStatus On</code> directive. \n");
    }
    render_html_balancers(b, s);
    puts_(b, "</body></html>\n");
}

/* ---- JSON ---- */

static void json_kv_str(struct status_buf *b, const char *k, const char *v, int comma)
{
    bprintf(b, "%s\"%s\": ", comma ? ", " : "", k);
    put_json_str(b, v);
}

static void render_json(struct status_buf *b, const struct snap *s)
{
    puts_(b, "{\"server\": {");
    json_kv_str(b, "name", s->server_name, 0);
    json_kv_str(b, "version", s->server_version, 1);
    json_kv_str(b, "mpm", "prefork", 1);
    json_kv_str(b, "built", built_stamp(), 1);
    bprintf(b,
            ", \"master_pid\": %ld, \"current_time\": %lld, \"start_time\": %lld, "
            "\"restart_time\": %lld, \"uptime_seconds\": %lld, \"config_generation\": %lu, "
            "\"mpm_generation\": %lu, \"extended_status\": %s",
            (long)s->master_pid, (long long)s->now, (long long)s->start_time,
            (long long)s->restart_time, (long long)s->uptime, (unsigned long)s->generation,
            (unsigned long)(s->generation > 0 ? s->generation - 1 : 0),
            s->extended ? "true" : "false");
    if (s->has_load)
        bprintf(b, ", \"load\": [%.2f, %.2f, %.2f]", s->load[0], s->load[1], s->load[2]);
    else
        puts_(b, ", \"load\": null");
    bprintf(b,
            ", \"total_accesses\": %llu, \"total_connections\": %llu, \"total_bytes\": %llu, "
            "\"busy_workers\": %u, \"graceful_workers\": %u, \"idle_workers\": %u, "
            "\"starting_workers\": %u, \"max_request_workers\": %u, \"server_limit\": %u",
            (unsigned long long)s->total_requests, (unsigned long long)s->total_connections,
            (unsigned long long)s->total_bytes, s->busy, s->graceful, s->idle, s->starting,
            s->max_request_workers, s->slot_count);
    if (s->has_cpu)
        bprintf(b,
                ", \"cpu\": {\"user\": %.2f, \"system\": %.2f, \"children_user\": %.2f, "
                "\"children_system\": %.2f}",
                s->cpu_user, s->cpu_sys, s->cpu_cuser, s->cpu_csys);
    puts_(b, ", \"scoreboard\": \"");
    put_letters(b, s, 0);
    puts_(b, "\"}");

    puts_(b, ",\n \"workers\": [");
    int first = 1;
    for (unsigned i = 0; i < s->slot_count; i++) {
        const struct snap_worker *w = &s->workers[i];
        if (w->pid == 0)
            continue;
        bprintf(b,
                "%s\n  {\"slot\": %u, \"pid\": %ld, \"generation\": %lu, \"state\": \"%c\", "
                "\"requests\": %llu, \"connections\": %llu, \"bytes\": %llu, \"started\": %lld",
                first ? "" : ",", w->slot, (long)w->pid, (unsigned long)w->generation,
                w->state == '"' || w->state == '\\' ? '?' : w->state,
                (unsigned long long)w->requests, (unsigned long long)w->connections,
                (unsigned long long)w->bytes, (long long)w->started);
        first = 0;
        int64_t ss = seconds_since(s->now_ms, w->last_used_ms);
        if (ss >= 0)
            bprintf(b, ", \"seconds_since_request\": %lld", (long long)ss);
        else
            puts_(b, ", \"seconds_since_request\": null");
        bprintf(b, ", \"last_request_ms\": %llu", (unsigned long long)(w->req_time_us / 1000));
        if (w->has_cpu)
            bprintf(b, ", \"cpu_seconds\": %.2f",
                    w->cpu_user + w->cpu_sys + w->cpu_cuser + w->cpu_csys);
        if (s->extended) {
            json_kv_str(b, "client", w->client, 1);
            json_kv_str(b, "vhost", w->vhost, 1);
            json_kv_str(b, "request", w->request, 1);
        }
        putc_(b, '}');
    }
    puts_(b, first ? "]" : "\n ]");

    puts_(b, ",\n \"balancers\": [");
    for (unsigned i = 0; i < s->n_balancers; i++) {
        const struct snap_balancer *sb = &s->balancers[i];
        puts_(b, i ? ",\n  {" : "\n  {");
        json_kv_str(b, "name", sb->name, 0);
        json_kv_str(b, "lbmethod", sb->lbmethod, 1);
        puts_(b, ", \"sticky\": ");
        if (sb->sticky[0])
            put_json_str(b, sb->sticky);
        else
            puts_(b, "null");
        bprintf(b, ", \"nofailover\": %s, \"timeout_ms\": %ld, ", sb->nofailover ? "true" : "false",
                (long)sb->timeout_ms);
        if (sb->maxattempts >= 0)
            bprintf(b, "\"maxattempts\": %ld", (long)sb->maxattempts);
        else
            puts_(b, "\"maxattempts\": null");
        bprintf(b, ", \"config_members\": %u, \"growth_slots\": %u, \"members\": [", sb->n_config,
                sb->n_growth);
        for (unsigned k = 0; k < sb->n_members; k++) {
            const struct snap_member *m = &sb->members[k];
            char st[32];
            puts_(b, k ? ",\n    {" : "\n    {");
            bprintf(b, "\"slot\": %u", m->slot);
            json_kv_str(b, "name", m->name, 1);
            json_kv_str(b, "route", m->route, 1);
            json_kv_str(b, "redirect", m->redirect, 1);
            balancer_status_text(m->status, st, sizeof(st));
            json_kv_str(b, "status", st, 1);
            bprintf(b,
                    ", \"usable\": %s, \"runtime\": %s, \"lbfactor\": %.2f, \"lbset\": %ld, "
                    "\"elected\": %llu, \"busy\": %lld, \"load\": %lld, \"bytes_written\": %llu, "
                    "\"bytes_read\": %llu, \"errors\": %llu, \"retries\": %llu",
                    status_member_usable(m->status) ? "true" : "false",
                    m->runtime ? "true" : "false", (double)m->lbfactor / 100.0, (long)m->lbset,
                    (unsigned long long)m->elected, (long long)m->busy, (long long)m->lbstatus,
                    (unsigned long long)m->transferred, (unsigned long long)m->read,
                    (unsigned long long)m->errors, (unsigned long long)m->retries);
            if (m->error_time_ms > 0)
                bprintf(b, ", \"last_error_age_ms\": %lld",
                        (long long)(s->now_ms - m->error_time_ms));
            else
                puts_(b, ", \"last_error_age_ms\": null");
            if (m->hb_seen_ms > 0)
                bprintf(b, ", \"heartbeat\": {\"ready\": %ld, \"busy\": %ld, \"age_ms\": %lld}",
                        (long)m->hb_ready, (long)m->hb_busy,
                        (long long)(s->now_ms - m->hb_seen_ms));
            else
                puts_(b, ", \"heartbeat\": null");
            if (m->hcmethod[0]) {
                puts_(b, ", \"health\": {");
                json_kv_str(b, "method", m->hcmethod, 0);
                bprintf(b, ", \"interval_ms\": %ld, \"passes\": %ld, \"fails\": %ld",
                        (long)m->hc_interval_ms, (long)m->hc_passes, (long)m->hc_fails);
                if (m->hc_last_ok < 0 || m->hc_last_ms <= 0)
                    puts_(b, ", \"last_ok\": null, \"age_ms\": null}");
                else
                    bprintf(b, ", \"last_ok\": %s, \"age_ms\": %lld}",
                            m->hc_last_ok ? "true" : "false",
                            (long long)(s->now_ms - m->hc_last_ms));
            } else {
                puts_(b, ", \"health\": null");
            }
            putc_(b, '}');
        }
        puts_(b, sb->n_members ? "\n  ]}" : "]}");
    }
    puts_(b, s->n_balancers ? "\n ]}\n" : "]}\n");
}

/* ---- Prometheus text exposition (0.0.4) ---- */

static void prom_family(struct status_buf *b, const char *name, const char *type, const char *help)
{
    bprintf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static void prom_member_labels(struct status_buf *b, const struct snap_balancer *sb,
                               const struct snap_member *m)
{
    puts_(b, "{balancer=\"");
    put_prom_label(b, sb->name);
    puts_(b, "\",member=\"");
    put_prom_label(b, m->name);
    puts_(b, "\",route=\"");
    put_prom_label(b, m->route);
    puts_(b, "\"}");
}

enum member_metric {
    MM_ELECTED,
    MM_WRITTEN,
    MM_READ,
    MM_ERRORS,
    MM_BUSY,
    MM_UP,
    MM_ERROR_STATE,
    MM_LBFACTOR,
    MM_LBSET,
    MM_HB_READY,
    MM_HB_BUSY,
    MM_HB_AGE,
    MM_HC_UP
};

/* Writes one member's sample of metric `mm`, or nothing when the member has no such data
 * (no heartbeat seen, no health check). */
static void prom_member_sample(struct status_buf *b, const char *name, enum member_metric mm,
                               const struct snap *s, const struct snap_balancer *sb,
                               const struct snap_member *m)
{
    char v[64];
    switch (mm) {
    case MM_ELECTED:
        snprintf(v, sizeof(v), "%llu", (unsigned long long)m->elected);
        break;
    case MM_WRITTEN:
        snprintf(v, sizeof(v), "%llu", (unsigned long long)m->transferred);
        break;
    case MM_READ:
        snprintf(v, sizeof(v), "%llu", (unsigned long long)m->read);
        break;
    case MM_ERRORS:
        snprintf(v, sizeof(v), "%llu", (unsigned long long)m->errors);
        break;
    case MM_BUSY:
        snprintf(v, sizeof(v), "%lld", (long long)m->busy);
        break;
    case MM_UP:
        snprintf(v, sizeof(v), "%d", status_member_usable(m->status));
        break;
    case MM_ERROR_STATE:
        snprintf(v, sizeof(v), "%d", (m->status & MEMBER_ERROR) != 0);
        break;
    case MM_LBFACTOR:
        snprintf(v, sizeof(v), "%.2f", (double)m->lbfactor / 100.0);
        break;
    case MM_LBSET:
        snprintf(v, sizeof(v), "%ld", (long)m->lbset);
        break;
    case MM_HB_READY:
    case MM_HB_BUSY:
    case MM_HB_AGE:
        if (m->hb_seen_ms <= 0)
            return;
        if (mm == MM_HB_AGE)
            snprintf(v, sizeof(v), "%.3f", (double)(s->now_ms - m->hb_seen_ms) / 1000.0);
        else
            snprintf(v, sizeof(v), "%ld", (long)(mm == MM_HB_READY ? m->hb_ready : m->hb_busy));
        break;
    case MM_HC_UP:
        if (m->hcmethod[0] == '\0' || m->hc_last_ok < 0 || m->hc_last_ms <= 0)
            return;
        snprintf(v, sizeof(v), "%d", m->hc_last_ok != 0);
        break;
    }
    puts_(b, name);
    prom_member_labels(b, sb, m);
    bprintf(b, " %s\n", v);
}

static void render_prometheus(struct status_buf *b, const struct snap *s)
{
    static const struct {
        const char *name, *type, *help;
        enum member_metric mm;
    } member_metrics[] = {
        {"portico_balancer_member_requests_total", "counter",
         "Times the member was elected for a request.", MM_ELECTED},
        {"portico_balancer_member_bytes_written_total", "counter", "Bytes sent to the member.",
         MM_WRITTEN},
        {"portico_balancer_member_bytes_read_total", "counter", "Bytes read from the member.",
         MM_READ},
        {"portico_balancer_member_errors_total", "counter",
         "Times the member entered the error state.", MM_ERRORS},
        {"portico_balancer_member_busy", "gauge",
         "Requests in flight through the member, all processes.", MM_BUSY},
        {"portico_balancer_member_up", "gauge",
         "1 when the member is usable (none of the D S E C flags).", MM_UP},
        {"portico_balancer_member_in_error", "gauge", "1 when the member is in the error state.",
         MM_ERROR_STATE},
        {"portico_balancer_member_lbfactor", "gauge", "The member's loadfactor.", MM_LBFACTOR},
        {"portico_balancer_member_lbset", "gauge", "The member's lbset.", MM_LBSET},
        {"portico_balancer_member_heartbeat_ready", "gauge",
         "Ready workers the member's last heartbeat announced.", MM_HB_READY},
        {"portico_balancer_member_heartbeat_busy", "gauge",
         "Busy workers the member's last heartbeat announced.", MM_HB_BUSY},
        {"portico_balancer_member_heartbeat_age_seconds", "gauge",
         "Seconds since the member's last heartbeat.", MM_HB_AGE},
        {"portico_balancer_member_health_check_up", "gauge",
         "1 when the member's last health check passed.", MM_HC_UP},
    };

    prom_family(b, "portico_info", "gauge", "portico version and MPM.");
    puts_(b, "portico_info{version=\"");
    put_prom_label(b, s->server_version);
    puts_(b, "\",mpm=\"prefork\"} 1\n");
    if (s->has_scoreboard) {
        prom_family(b, "portico_start_time_seconds", "gauge",
                    "Unix time of the server's first start.");
        bprintf(b, "portico_start_time_seconds %lld\n", (long long)s->start_time);
        prom_family(b, "portico_restart_time_seconds", "gauge",
                    "Unix time of the last (graceful) restart.");
        bprintf(b, "portico_restart_time_seconds %lld\n", (long long)s->restart_time);
        prom_family(b, "portico_uptime_seconds", "gauge", "Seconds since the last restart.");
        bprintf(b, "portico_uptime_seconds %lld\n", (long long)s->uptime);
        prom_family(b, "portico_config_generation", "gauge", "Configuration generation.");
        bprintf(b, "portico_config_generation %lu\n", (unsigned long)s->generation);
        prom_family(b, "portico_requests_total", "counter", "Requests served.");
        bprintf(b, "portico_requests_total %llu\n", (unsigned long long)s->total_requests);
        prom_family(b, "portico_connections_total", "counter", "Client connections accepted.");
        bprintf(b, "portico_connections_total %llu\n", (unsigned long long)s->total_connections);
        prom_family(b, "portico_bytes_total", "counter", "Response bytes sent to clients.");
        bprintf(b, "portico_bytes_total %llu\n", (unsigned long long)s->total_bytes);
        prom_family(b, "portico_max_request_workers", "gauge", "MaxRequestWorkers.");
        bprintf(b, "portico_max_request_workers %u\n", s->max_request_workers);
        prom_family(b, "portico_worker_state", "gauge",
                    "Scoreboard slots by state (slots beyond MaxRequestWorkers only when live).");
        for (size_t i = 0; i < ARRAY_LEN(state_names); i++)
            bprintf(b, "portico_worker_state{state=\"%s\"} %u\n", state_names[i], s->by_state[i]);
        prom_family(b, "portico_busy_workers", "gauge", "Workers serving a request (R W K L D C).");
        bprintf(b, "portico_busy_workers %u\n", s->busy);
        prom_family(b, "portico_idle_workers", "gauge",
                    "Workers of the current generation waiting for a connection.");
        bprintf(b, "portico_idle_workers %u\n", s->idle);
        if (s->has_cpu) {
            prom_family(b, "portico_cpu_seconds_total", "counter",
                        "CPU time of the live worker processes.");
            bprintf(b, "portico_cpu_seconds_total{mode=\"user\"} %.2f\n", s->cpu_user);
            bprintf(b, "portico_cpu_seconds_total{mode=\"system\"} %.2f\n", s->cpu_sys);
        }
    }
    if (s->has_load) {
        prom_family(b, "portico_load", "gauge", "System load average.");
        bprintf(b,
                "portico_load{period=\"1m\"} %.2f\nportico_load{period=\"5m\"} %.2f\n"
                "portico_load{period=\"15m\"} %.2f\n",
                s->load[0], s->load[1], s->load[2]);
    }
    if (s->n_balancers == 0)
        return;
    prom_family(b, "portico_balancer_members", "gauge", "Members of the balancer.");
    for (unsigned i = 0; i < s->n_balancers; i++) {
        puts_(b, "portico_balancer_members{balancer=\"");
        put_prom_label(b, s->balancers[i].name);
        bprintf(b, "\"} %u\n", s->balancers[i].n_members);
    }
    for (size_t k = 0; k < ARRAY_LEN(member_metrics); k++) {
        prom_family(b, member_metrics[k].name, member_metrics[k].type, member_metrics[k].help);
        for (unsigned i = 0; i < s->n_balancers; i++)
            for (unsigned j = 0; j < s->balancers[i].n_members; j++)
                prom_member_sample(b, member_metrics[k].name, member_metrics[k].mm, s,
                                   &s->balancers[i], &s->balancers[i].members[j]);
    }
}

/* ---- plain text (portico-status) ---- */

enum col_align { LEFT, RIGHT };

struct column {
    const char *title;
    enum col_align align;
};

#define CELL 176 /* fits a member URL (159) plus " [runtime]" */

/* A text table whose widths are computed over all rows, so columns line up. */
struct table {
    const struct column *cols;
    int ncols;
    unsigned nrows;
    char (*cells)[CELL];
};

static int table_init(struct table *t, const struct column *cols, int ncols, unsigned rows)
{
    t->cols = cols;
    t->ncols = ncols;
    t->nrows = 1;
    t->cells = calloc((size_t)(rows + 1) * (size_t)ncols, sizeof(*t->cells));
    if (t->cells == NULL)
        return -1;
    for (int c = 0; c < ncols; c++)
        util_strlcpy(t->cells[c], cols[c].title, CELL);
    return 0;
}

static char (*table_row(struct table *t))[CELL]
{
    return &t->cells[(size_t)t->nrows++ * (size_t)t->ncols];
}

static void table_put(struct status_buf *b, struct table *t, const char *indent)
{
    int width[32];
    for (int c = 0; c < t->ncols && c < 32; c++) {
        width[c] = 0;
        for (unsigned r = 0; r < t->nrows; r++) {
            int l = (int)strlen(t->cells[(size_t)r * (size_t)t->ncols + (size_t)c]);
            if (l > width[c])
                width[c] = l;
        }
    }
    for (unsigned r = 0; r < t->nrows; r++) {
        const char(*row)[CELL] = &t->cells[(size_t)r * (size_t)t->ncols];
        puts_(b, indent);
        for (int c = 0; c < t->ncols; c++) {
            if (c == t->ncols - 1)
                bprintf(b, "%s\n", row[c]); /* no trailing blanks */
            else if (t->cols[c].align == RIGHT)
                bprintf(b, "%*s  ", width[c], row[c]);
            else
                bprintf(b, "%-*s  ", width[c], row[c]);
        }
    }
    free(t->cells);
    t->cells = NULL;
}

static const struct column worker_columns[] = {
    {"Slot", RIGHT},  {"PID", RIGHT},   {"Gen", RIGHT},   {"St", LEFT},
    {"Req", RIGHT},   {"Conn", RIGHT},  {"Bytes", RIGHT}, {"SS", RIGHT},
    {"ReqMs", RIGHT}, {"Client", LEFT}, {"VHost", LEFT},  {"Request", LEFT},
};

static int text_workers(struct status_buf *b, const struct snap *s)
{
    unsigned live = 0;
    for (unsigned i = 0; i < s->slot_count; i++)
        live += s->workers[i].pid != 0;
    if (live == 0) {
        puts_(b, "No worker processes.\n");
        return 0;
    }
    struct table t;
    int ncols = s->extended ? (int)ARRAY_LEN(worker_columns) : (int)ARRAY_LEN(worker_columns) - 3;
    if (table_init(&t, worker_columns, ncols, live) < 0)
        return -1;
    for (unsigned i = 0; i < s->slot_count; i++) {
        const struct snap_worker *w = &s->workers[i];
        if (w->pid == 0)
            continue;
        char(*cell)[CELL] = table_row(&t);
        snprintf(cell[0], CELL, "%u", w->slot);
        snprintf(cell[1], CELL, "%ld", (long)w->pid);
        snprintf(cell[2], CELL, "%lu", (unsigned long)w->generation);
        snprintf(cell[3], CELL, "%c", w->state);
        snprintf(cell[4], CELL, "%llu", (unsigned long long)w->requests);
        snprintf(cell[5], CELL, "%llu", (unsigned long long)w->connections);
        snprintf(cell[6], CELL, "%llu", (unsigned long long)w->bytes);
        int64_t ss = seconds_since(s->now_ms, w->last_used_ms);
        if (ss >= 0)
            snprintf(cell[7], CELL, "%lld", (long long)ss);
        else
            util_strlcpy(cell[7], "-", CELL);
        if (w->requests > 0)
            snprintf(cell[8], CELL, "%llu", (unsigned long long)(w->req_time_us / 1000));
        else
            util_strlcpy(cell[8], "-", CELL);
        if (s->extended) {
            util_strlcpy(cell[9], w->client[0] ? w->client : "-", CELL);
            util_strlcpy(cell[10], w->vhost[0] ? w->vhost : "-", CELL);
            util_strlcpy(cell[11], w->request[0] ? w->request : "-", CELL);
        }
    }
    table_put(b, &t, "");
    return 0;
}

static const struct column member_columns[] = {
    {"Member", LEFT},    {"Route", LEFT},    {"Factor", RIGHT}, {"Set", RIGHT},
    {"Status", LEFT},    {"Elected", RIGHT}, {"Busy", RIGHT},   {"Load", RIGHT},
    {"To", RIGHT},       {"From", RIGHT},    {"Errors", RIGHT}, {"LastError", RIGHT},
    {"Heartbeat", LEFT}, {"Check", LEFT},
};

static void fill_member_row(char (*cell)[CELL], const struct snap_member *m, int64_t now_ms)
{
    char age[32];

    snprintf(cell[0], CELL, "%s%s", m->name, m->runtime ? " [runtime]" : "");
    if (m->route[0] != '\0' && m->redirect[0] != '\0')
        snprintf(cell[1], CELL, "%s>%s", m->route, m->redirect);
    else
        util_strlcpy(cell[1], m->route[0] ? m->route : "-", CELL);
    snprintf(cell[2], CELL, "%.2f", (double)m->lbfactor / 100.0);
    snprintf(cell[3], CELL, "%ld", (long)m->lbset);
    balancer_status_text(m->status, cell[4], CELL);
    snprintf(cell[5], CELL, "%llu", (unsigned long long)m->elected);
    snprintf(cell[6], CELL, "%lld", (long long)m->busy);
    snprintf(cell[7], CELL, "%lld", (long long)m->lbstatus);
    format_bytes(cell[8], CELL, m->transferred);
    format_bytes(cell[9], CELL, m->read);
    snprintf(cell[10], CELL, "%llu", (unsigned long long)m->errors);
    if (m->error_time_ms > 0) {
        format_age(age, sizeof(age), now_ms - m->error_time_ms);
        snprintf(cell[11], CELL, "%s ago", age);
    } else {
        util_strlcpy(cell[11], "-", CELL);
    }
    /* mod_lbmethod_heartbeat ignores beats 10 s old or more. */
    if (m->hb_seen_ms > 0) {
        format_age(age, sizeof(age), now_ms - m->hb_seen_ms);
        snprintf(cell[12], CELL, "%ld/%ld %s%s", (long)m->hb_ready, (long)m->hb_busy, age,
                 now_ms - m->hb_seen_ms >= 10000 ? " stale" : "");
    } else {
        util_strlcpy(cell[12], "-", CELL);
    }
    if (m->hcmethod[0] == '\0') {
        util_strlcpy(cell[13], "-", CELL);
    } else if (m->hc_last_ok < 0 || m->hc_last_ms <= 0) {
        snprintf(cell[13], CELL, "%s pending", m->hcmethod);
    } else {
        format_age(age, sizeof(age), now_ms - m->hc_last_ms);
        snprintf(cell[13], CELL, "%s %s(%ld) %s ago", m->hcmethod, m->hc_last_ok ? "ok" : "FAIL",
                 (long)(m->hc_last_ok ? m->hc_passes : m->hc_fails), age);
    }
}

static int text_balancers(struct status_buf *b, const struct snap *s)
{
    if (!s->has_balancers)
        return 0;
    for (unsigned i = 0; i < s->n_balancers; i++) {
        const struct snap_balancer *sb = &s->balancers[i];
        unsigned used = sb->n_members > sb->n_config ? sb->n_members - sb->n_config : 0;
        char extra[64] = "";
        if (sb->maxattempts >= 0)
            snprintf(extra, sizeof(extra), ", maxattempts %ld", (long)sb->maxattempts);
        bprintf(b,
                "\n%s: lbmethod %s, stickysession %s, nofailover %s, timeout %lds%s, "
                "%u members, growth %u/%u used\n",
                sb->name, sb->lbmethod, sb->sticky[0] ? sb->sticky : "-",
                sb->nofailover ? "On" : "Off",
                (long)(sb->timeout_ms > 0 ? sb->timeout_ms / 1000 : 0), extra, sb->n_members, used,
                sb->n_growth);
        if (sb->n_members == 0) {
            puts_(b, "  (no members)\n");
            continue;
        }
        struct table t;
        if (table_init(&t, member_columns, (int)ARRAY_LEN(member_columns), sb->n_members) < 0)
            return -1;
        for (unsigned k = 0; k < sb->n_members; k++)
            fill_member_row(table_row(&t), &sb->members[k], s->now_ms);
        table_put(b, &t, "  ");
    }
    puts_(b, "\nStatus: I ignore errors, N drain, D disabled, S stopped, E in error,\n"
             "H hot standby, R hot spare, C health check failed; Ok = usable.\n"
             "Factor = loadfactor, Set = lbset, Load = lbstatus, To/From = bytes sent to/read\n"
             "from the member, Heartbeat = ready/busy and age of the last beat.\n");
    return 0;
}

static int render_text(struct status_buf *b, const struct snap *s)
{
    char t[128], up[128], traffic[32];

    bprintf(b, "portico Server Status for %s\n\n", s->server_name);
    bprintf(b, "Server Version: %s\nServer MPM: prefork\nServer Built: %s\n", s->server_version,
            built_stamp());
    if (s->master_pid > 0)
        bprintf(b, "Master PID: %ld\n", (long)s->master_pid);
    putc_(b, '\n');
    format_time(t, sizeof(t), s->now);
    bprintf(b, "Current Time: %s\n", t);
    format_time(t, sizeof(t), s->start_time);
    bprintf(b, "Start Time: %s\n", t);
    format_time(t, sizeof(t), s->restart_time);
    bprintf(b, "Restart Time: %s\n", t);
    bprintf(b, "Parent Server Config. Generation: %lu\n", (unsigned long)s->generation);
    format_uptime(up, sizeof(up), s->uptime);
    bprintf(b, "Server uptime: %s\n", up);
    if (s->has_load)
        bprintf(b, "Server load: %.2f %.2f %.2f\n", s->load[0], s->load[1], s->load[2]);
    format_bytes(traffic, sizeof(traffic), s->total_bytes);
    bprintf(b, "Total accesses: %llu - Total connections: %llu - Total Traffic: %s\n",
            (unsigned long long)s->total_requests, (unsigned long long)s->total_connections,
            traffic);
    bprintf(b,
            "%u requests currently being processed, %u workers gracefully restarting, "
            "%u idle workers\n\n",
            s->busy, s->graceful, s->idle);
    put_letters(b, s, 64);
    puts_(b, "\nScoreboard Key:\n"
             "\"_\" Waiting for Connection, \"S\" Starting up, \"R\" Reading Request,\n"
             "\"W\" Sending Reply, \"K\" Keepalive (read), \"D\" DNS Lookup,\n"
             "\"C\" Closing connection, \"L\" Logging, \"G\" Gracefully finishing,\n"
             "\"I\" Idle cleanup of worker, \".\" Open slot with no current process\n\n");
    if (text_workers(b, s) < 0)
        return -1;
    return text_balancers(b, s);
}

/* ---- entry point ---- */

int status_format(const struct status_source *src, enum status_format fmt, struct status_buf *out)
{
    struct snap s;
    int rc = -1;

    if (gather(src, &s) < 0)
        goto done;
    switch (fmt) {
    case STATUS_TEXT:
        if (render_text(out, &s) < 0)
            goto done;
        break;
    case STATUS_HTML:
        render_html(out, &s);
        break;
    case STATUS_AUTO:
        render_auto(out, &s);
        break;
    case STATUS_JSON:
        render_json(out, &s);
        break;
    case STATUS_PROMETHEUS:
        render_prometheus(out, &s);
        break;
    }
    rc = out->oom ? -1 : 0;
done:
    snap_free(&s);
    return rc;
}
