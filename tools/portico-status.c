/* portico-status: prints a running server's scoreboard, like httpd's mod_status page, and
 * its balancer members, like the balancer-manager's table, from the shared memory, without
 * sending a request (so it works when every worker is busy).
 *
 * It works in two steps so more output formats (--json, --prometheus, ?auto) are only new
 * renderers: gather() copies everything out of the segment once into a private snapshot,
 * sanitising and bounding what another process wrote; render_*() only read the snapshot. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "balancer_slot.h"
#include "conf.h"
#include "proxy_types.h"
#include "scoreboard.h"
#include "shm_name.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/portico.conf"

/* One worker slot as copied out of shared memory. */
struct status_worker {
    unsigned slot;
    int32_t pid;
    uint32_t generation;
    char state; /* a valid letter, '.' for a dead slot, '?' for garbage */
    uint64_t requests;
    uint64_t connections;
    uint64_t bytes;
    int64_t started;
    int64_t last_used_ms;
    int64_t req_start_ms;
    uint64_t req_time_us;
    char client[sizeof(((struct sb_worker_slot *)0)->client)];
    char vhost[sizeof(((struct sb_worker_slot *)0)->vhost)];
    char request[sizeof(((struct sb_worker_slot *)0)->request)];
};

/* One balancer member as copied out of the balancer segment. */
struct status_member {
    unsigned slot;
    char url[sizeof(((struct balancer_slot *)0)->url)];
    char route[sizeof(((struct balancer_slot *)0)->route)];
    char redirect[sizeof(((struct balancer_slot *)0)->redirect)];
    char hcmethod[sizeof(((struct balancer_slot *)0)->hcmethod)];
    unsigned status; /* MEMBER_* */
    int runtime;     /* added at run time (balancer-manager), not from the config */
    int32_t lbfactor;
    int32_t lbset;
    int64_t lbstatus;
    uint64_t elected;
    int64_t busy;
    uint64_t transferred;
    uint64_t read;
    int64_t error_time_ms;
    uint64_t errors;
    uint64_t retries;
    int32_t retry_ms;
    int32_t hb_ready;
    int32_t hb_busy;
    int64_t hb_seen_ms;
    int32_t hc_passes;
    int32_t hc_fails;
    int32_t hc_last_ok;
    int32_t hc_interval_ms;
    int64_t hc_last_ms;
    uint32_t generation;
};

struct status_balancer {
    char name[sizeof(((struct balancer_shm_info *)0)->name)];
    char lbmethod[sizeof(((struct balancer_shm_info *)0)->lbmethod)];
    char sticky[sizeof(((struct balancer_shm_info *)0)->sticky)];
    unsigned n_config;   /* members from the config */
    unsigned n_growth;   /* growth slots */
    unsigned n_members;  /* in-use slots, i.e. entries in members */
    int32_t maxattempts; /* CONF_UNSET: the lbmethod's default */
    int32_t timeout_ms;
    int nofailover;
    struct status_member *members;
};

struct status_snapshot {
    char pid_file[4096];
    char shm_name[96];
    char server_name[sizeof(((struct sb_global *)0)->server_name)];
    char server_version[sizeof(((struct sb_global *)0)->server_version)];
    int32_t master_pid;
    uint32_t generation;
    int64_t start_time;
    int64_t restart_time;
    int64_t now;    /* seconds */
    int64_t now_ms; /* same instant, ms */
    unsigned slot_count;
    unsigned max_request_workers; /* clamped to slot_count */
    uint64_t total_requests;
    uint64_t total_connections;
    uint64_t total_bytes;
    unsigned busy;                 /* R W K L D C G, any generation: requests in progress */
    unsigned idle;                 /* READY of the current generation */
    unsigned starting;             /* STARTING of the current generation */
    struct status_worker *workers; /* slot_count entries */
    /* Balancer segment; absent (has_balancers 0) when no balancer is configured. */
    int has_balancers;
    char balancer_shm_name[96];
    uint64_t balancer_generation;
    int balancer_persist;
    unsigned n_balancers;
    struct status_balancer *balancers; /* n_balancers entries */
};

static const char *progname = "portico-status";

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-f CONF] [-p PIDFILE]\n"
            "  -f CONF     read the PidFile from this configuration (default %s)\n"
            "  -p PIDFILE  use this PidFile path directly (no configuration is read)\n"
            "  --help      show this help\n",
            progname, DEFAULT_CONF);
}

static int valid_state(int c)
{
    return c != 0 && strchr("._SRWKLDCGI", c) != NULL;
}

static int is_busy(char c)
{
    return c != 0 && strchr("RWKLDCG", c) != NULL;
}

/* Copies the segment into snap. Everything numeric is range-checked here, so renderers can
 * trust the snapshot. */
static int gather(const struct slotmem *sm, struct status_snapshot *snap)
{
    struct sb_global *g = scoreboard_global(sm);
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    snap->now = (int64_t)ts.tv_sec;
    snap->now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    scoreboard_get_text(snap->server_name, sizeof(snap->server_name), g->server_name,
                        sizeof(g->server_name));
    scoreboard_get_text(snap->server_version, sizeof(snap->server_version), g->server_version,
                        sizeof(g->server_version));
    snap->master_pid = atomic_load(&g->master_pid);
    snap->generation = atomic_load(&g->generation);
    snap->start_time = g->start_time;
    snap->restart_time = atomic_load(&g->restart_time);

    /* The mapping's slot count is the only trustworthy bound; the globals' limits are
     * just numbers another process wrote. */
    snap->slot_count = slotmem_count(sm);
    int32_t mrw = atomic_load(&g->max_request_workers);
    snap->max_request_workers =
        (mrw <= 0 || (uint32_t)mrw > snap->slot_count) ? snap->slot_count : (unsigned)mrw;

    snap->workers = calloc(snap->slot_count ? snap->slot_count : 1, sizeof(*snap->workers));
    if (snap->workers == NULL)
        return -1;
    snap->total_requests = atomic_load(&g->gone_requests);
    snap->total_connections = atomic_load(&g->gone_connections);
    snap->total_bytes = atomic_load(&g->gone_bytes);

    for (unsigned i = 0; i < snap->slot_count; i++) {
        struct sb_worker_slot *w = scoreboard_slot(sm, i);
        struct status_worker *o = &snap->workers[i];
        int state = atomic_load(&w->state);

        o->slot = i;
        o->pid = atomic_load(&w->pid);
        o->generation = atomic_load(&w->generation);
        o->state = o->pid == 0 ? SB_STATE_DEAD : valid_state(state) ? (char)state : '?';
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

        snap->total_requests += o->requests;
        snap->total_connections += o->connections;
        snap->total_bytes += o->bytes;
        if (o->pid == 0)
            continue;
        if (is_busy(o->state))
            snap->busy++;
        else if (o->generation == snap->generation && o->state == SB_STATE_READY)
            snap->idle++;
        else if (o->generation == snap->generation && o->state == SB_STATE_STARTING)
            snap->starting++;
    }
    return 0;
}

/* The slots' timestamps are CLOCK_REALTIME ms by contract; a writer that used the monotonic
 * clock instead (values below 2001-09-09 in ms, i.e. an uptime) is converted rather than
 * shown as "56 years ago". 0 stays 0 (never). */
static int64_t wall_ms(int64_t t, int64_t mono_offset)
{
    return t > 0 && t < 1000000000000LL ? t + mono_offset : t;
}

/* Copies the balancer segment into snap; everything bounded by the mapping (the attach
 * checked each balancer's slot range against it). */
static int gather_balancers(const struct slotmem *sm, struct status_snapshot *snap)
{
    const struct balancer_shm_global *g = balancer_shm_global(sm);
    struct timespec mono;
    clock_gettime(CLOCK_MONOTONIC, &mono);
    int64_t mono_offset = snap->now_ms - ((int64_t)mono.tv_sec * 1000 + mono.tv_nsec / 1000000);

    snap->has_balancers = 1;
    snap->balancer_generation = g->generation;
    snap->balancer_persist = g->persist != 0;
    snap->n_balancers = balancer_shm_count(sm);
    snap->balancers = calloc(snap->n_balancers ? snap->n_balancers : 1, sizeof(*snap->balancers));
    if (snap->balancers == NULL)
        return -1;
    for (unsigned b = 0; b < snap->n_balancers; b++) {
        const struct balancer_shm_info *in = balancer_shm_info(sm, b);
        struct status_balancer *o = &snap->balancers[b];

        scoreboard_get_text(o->name, sizeof(o->name), in->name, sizeof(in->name));
        scoreboard_get_text(o->lbmethod, sizeof(o->lbmethod), in->lbmethod, sizeof(in->lbmethod));
        scoreboard_get_text(o->sticky, sizeof(o->sticky), in->sticky, sizeof(in->sticky));
        o->n_config = in->n_members;
        o->n_growth = in->n_slots - in->n_members;
        o->maxattempts = in->maxattempts;
        o->timeout_ms = in->timeout_ms;
        o->nofailover = in->nofailover != 0;
        o->members = calloc(in->n_slots ? in->n_slots : 1, sizeof(*o->members));
        if (o->members == NULL)
            return -1;
        for (unsigned k = 0; k < in->n_slots; k++) {
            const struct balancer_slot *s = balancer_shm_slot(sm, in->slot_base + k);
            if (s == NULL || atomic_load(&s->in_use) != 1)
                continue;
            struct status_member *m = &o->members[o->n_members++];
            m->slot = in->slot_base + k;
            scoreboard_get_text(m->url, sizeof(m->url), s->url, sizeof(s->url));
            scoreboard_get_text(m->route, sizeof(m->route), s->route, sizeof(s->route));
            scoreboard_get_text(m->redirect, sizeof(m->redirect), s->redirect, sizeof(s->redirect));
            scoreboard_get_text(m->hcmethod, sizeof(m->hcmethod), s->hcmethod, sizeof(s->hcmethod));
            m->status = atomic_load(&s->status);
            m->runtime = (atomic_load(&s->flags) & BSLOT_F_RUNTIME) != 0;
            m->lbfactor = atomic_load(&s->lbfactor);
            m->lbset = atomic_load(&s->lbset);
            m->lbstatus = atomic_load(&s->lbstatus);
            m->elected = atomic_load(&s->elected);
            m->busy = atomic_load(&s->busy);
            m->transferred = atomic_load(&s->transferred);
            m->read = atomic_load(&s->read);
            m->error_time_ms = wall_ms(atomic_load(&s->error_time_ms), mono_offset);
            m->errors = atomic_load(&s->errors);
            m->retries = atomic_load(&s->retries);
            m->retry_ms = atomic_load(&s->retry_ms);
            m->hb_ready = atomic_load(&s->hb_ready);
            m->hb_busy = atomic_load(&s->hb_busy);
            m->hb_seen_ms = wall_ms(atomic_load(&s->hb_seen_ms), mono_offset);
            m->hc_passes = atomic_load(&s->hc_passes);
            m->hc_fails = atomic_load(&s->hc_fails);
            m->hc_last_ok = atomic_load(&s->hc_last_ok);
            m->hc_interval_ms = atomic_load(&s->hc_interval_ms);
            m->hc_last_ms = wall_ms(atomic_load(&s->hc_last_ms), mono_offset);
            m->generation = atomic_load(&s->generation);
        }
    }
    return 0;
}

static void format_time(char *out, size_t len, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || localtime_r(&tt, &tm) == NULL ||
        strftime(out, len, "%A, %d-%b-%Y %H:%M:%S %Z", &tm) == 0)
        util_strlcpy(out, "-", len);
}

/* httpd's " 1 day 2 hours 3 minutes 4 seconds", zero parts left out. */
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

static void format_bytes(char *out, size_t len, uint64_t b)
{
    if (b < 1024)
        snprintf(out, len, "%llu B", (unsigned long long)b);
    else if (b < 1024ull * 1024)
        snprintf(out, len, "%.1f kB", (double)b / 1024);
    else if (b < 1024ull * 1024 * 1024)
        snprintf(out, len, "%.1f MB", (double)b / (1024.0 * 1024));
    else
        snprintf(out, len, "%.1f GB", (double)b / (1024.0 * 1024 * 1024));
}

/* The state-letter line: every slot up to MaxRequestWorkers, and beyond it only live slots
 * (MaxRequestWorkers lowered by a graceful restart while old workers finish), as httpd. */
static void render_letters(FILE *out, const struct status_snapshot *snap)
{
    unsigned col = 0;
    for (unsigned i = 0; i < snap->slot_count; i++) {
        const struct status_worker *w = &snap->workers[i];
        if (i >= snap->max_request_workers && w->pid == 0)
            continue;
        fputc(w->state, out);
        if (++col % 64 == 0)
            fputc('\n', out);
    }
    if (col % 64 != 0)
        fputc('\n', out);
}

enum col_align { LEFT, RIGHT };

struct column {
    const char *title;
    enum col_align align;
};

#define CELL 176 /* fits a member URL (159) plus " [runtime]" */

/* A text table: ncols cells per row, the first row the titles. Widths are computed over all
 * rows so the columns line up whatever the data. */
struct table {
    const struct column *cols;
    int ncols;
    unsigned nrows;
    char (*cells)[CELL];
};

static int table_init(struct table *t, const struct column *cols, int ncols, unsigned data_rows)
{
    t->cols = cols;
    t->ncols = ncols;
    t->nrows = 1;
    t->cells = calloc((size_t)(data_rows + 1) * (size_t)ncols, sizeof(*t->cells));
    if (t->cells == NULL)
        return -1;
    for (int c = 0; c < ncols; c++)
        util_strlcpy(t->cells[c], cols[c].title, CELL);
    return 0;
}

/* The cells of the next row. */
static char (*table_row(struct table *t))[CELL]
{
    return &t->cells[(size_t)t->nrows++ * (size_t)t->ncols];
}

static void table_print(FILE *out, const struct table *t, const char *indent)
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
        fputs(indent, out);
        for (int c = 0; c < t->ncols; c++) {
            if (c == t->ncols - 1)
                fprintf(out, "%s\n", row[c]); /* no trailing blanks */
            else if (t->cols[c].align == RIGHT)
                fprintf(out, "%*s  ", width[c], row[c]);
            else
                fprintf(out, "%-*s  ", width[c], row[c]);
        }
    }
}

static void table_free(struct table *t)
{
    free(t->cells);
    t->cells = NULL;
}

#define N_WORKER_COLS 12
static const struct column worker_columns[N_WORKER_COLS] = {
    {"Slot", RIGHT},  {"PID", RIGHT},   {"Gen", RIGHT},   {"St", LEFT},
    {"Req", RIGHT},   {"Conn", RIGHT},  {"Bytes", RIGHT}, {"SS", RIGHT},
    {"ReqMs", RIGHT}, {"Client", LEFT}, {"VHost", LEFT},  {"Request", LEFT},
};

static void fill_worker_row(char (*cell)[CELL], const struct status_worker *w, int64_t now_ms)
{
    snprintf(cell[0], CELL, "%u", w->slot);
    snprintf(cell[1], CELL, "%ld", (long)w->pid);
    snprintf(cell[2], CELL, "%lu", (unsigned long)w->generation);
    snprintf(cell[3], CELL, "%c", w->state);
    snprintf(cell[4], CELL, "%llu", (unsigned long long)w->requests);
    snprintf(cell[5], CELL, "%llu", (unsigned long long)w->connections);
    snprintf(cell[6], CELL, "%llu", (unsigned long long)w->bytes);
    /* SS: seconds since the current or last request began (mod_status's column). */
    if (w->req_start_ms > 0 && now_ms >= w->req_start_ms)
        snprintf(cell[7], CELL, "%lld", (long long)((now_ms - w->req_start_ms) / 1000));
    else
        util_strlcpy(cell[7], "-", CELL);
    if (w->requests > 0)
        snprintf(cell[8], CELL, "%llu", (unsigned long long)(w->req_time_us / 1000));
    else
        util_strlcpy(cell[8], "-", CELL);
    util_strlcpy(cell[9], w->client[0] ? w->client : "-", CELL);
    util_strlcpy(cell[10], w->vhost[0] ? w->vhost : "-", CELL);
    util_strlcpy(cell[11], w->request[0] ? w->request : "-", CELL);
}

static int render_workers(FILE *out, const struct status_snapshot *snap)
{
    unsigned live = 0;
    for (unsigned i = 0; i < snap->slot_count; i++)
        live += snap->workers[i].pid != 0;
    if (live == 0) {
        fprintf(out, "No worker processes.\n");
        return 0;
    }
    struct table t;
    if (table_init(&t, worker_columns, N_WORKER_COLS, live) < 0)
        return -1;
    for (unsigned i = 0; i < snap->slot_count; i++) {
        if (snap->workers[i].pid != 0)
            fill_worker_row(table_row(&t), &snap->workers[i], snap->now_ms);
    }
    table_print(out, &t, "");
    table_free(&t);
    return 0;
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

#define N_MEMBER_COLS 14
static const struct column member_columns[N_MEMBER_COLS] = {
    {"Member", LEFT},    {"Route", LEFT},    {"Factor", RIGHT}, {"Set", RIGHT},
    {"Status", LEFT},    {"Elected", RIGHT}, {"Busy", RIGHT},   {"Load", RIGHT},
    {"To", RIGHT},       {"From", RIGHT},    {"Errors", RIGHT}, {"LastError", RIGHT},
    {"Heartbeat", LEFT}, {"Check", LEFT},
};

static void fill_member_row(char (*cell)[CELL], const struct status_member *m, int64_t now_ms)
{
    char age[32];

    snprintf(cell[0], CELL, "%s%s", m->url, m->runtime ? " [runtime]" : "");
    if (m->route[0] != '\0' && m->redirect[0] != '\0')
        snprintf(cell[1], CELL, "%s>%s", m->route, m->redirect);
    else
        util_strlcpy(cell[1], m->route[0] ? m->route : "-", CELL);
    /* lbfactor is kept x100, shown as httpd's manager does. */
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
    /* Heartbeat: "ready/busy age"; mod_lbmethod_heartbeat ignores beats 10 s old or more. */
    if (m->hb_seen_ms > 0) {
        format_age(age, sizeof(age), now_ms - m->hb_seen_ms);
        snprintf(cell[12], CELL, "%ld/%ld %s%s", (long)m->hb_ready, (long)m->hb_busy, age,
                 now_ms - m->hb_seen_ms >= 10000 ? " stale" : "");
    } else {
        util_strlcpy(cell[12], "-", CELL);
    }
    /* Check: method, last result with its consecutive count, and how long ago. */
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

/* The balancer-manager's tables in text: a line per balancer, then its members. */
static int render_balancers(FILE *out, const struct status_snapshot *snap)
{
    if (!snap->has_balancers)
        return 0;
    fprintf(out, "\nBalancers (shared memory %s, generation %llu, BalancerPersist %s)\n",
            snap->balancer_shm_name, (unsigned long long)snap->balancer_generation,
            snap->balancer_persist ? "On" : "Off");
    for (unsigned b = 0; b < snap->n_balancers; b++) {
        const struct status_balancer *sb = &snap->balancers[b];
        unsigned used_growth = sb->n_members > sb->n_config ? sb->n_members - sb->n_config : 0;
        char extra[160] = "";

        if (sb->maxattempts >= 0)
            snprintf(extra, sizeof(extra), ", maxattempts %ld", (long)sb->maxattempts);
        fprintf(out,
                "\n%s: lbmethod %s, stickysession %s, nofailover %s, timeout %lds%s, "
                "%u members, growth %u/%u used\n",
                sb->name, sb->lbmethod, sb->sticky[0] ? sb->sticky : "-",
                sb->nofailover ? "On" : "Off",
                (long)(sb->timeout_ms > 0 ? sb->timeout_ms / 1000 : 0), extra, sb->n_members,
                used_growth, sb->n_growth);
        if (sb->n_members == 0) {
            fprintf(out, "  (no members)\n");
            continue;
        }
        struct table t;
        if (table_init(&t, member_columns, N_MEMBER_COLS, sb->n_members) < 0)
            return -1;
        for (unsigned k = 0; k < sb->n_members; k++)
            fill_member_row(table_row(&t), &sb->members[k], snap->now_ms);
        table_print(out, &t, "  ");
        table_free(&t);
    }
    fprintf(out, "\nStatus: I ignore errors, N drain, D disabled, S stopped, E in error,\n"
                 "H hot standby, R hot spare, C health check failed; Ok = usable.\n"
                 "Factor = loadfactor, Set = lbset, Load = lbstatus, To/From = bytes sent to/read\n"
                 "from the member, Heartbeat = ready/busy and age of the last beat.\n");
    return 0;
}

/* The plain-text page, after mod_status's HTML one. */
static int render_text(FILE *out, const struct status_snapshot *snap)
{
    char t[128], up[128], traffic[32];

    fprintf(out, "portico Server Status for %s\n\n",
            snap->server_name[0] ? snap->server_name : "(unnamed server)");
    fprintf(out, "Server Version: %s\n",
            snap->server_version[0] ? snap->server_version : "(unknown)");
    fprintf(out, "Server MPM: prefork\n");
    fprintf(out, "Master PID: %ld\n", (long)snap->master_pid);
    fprintf(out, "PidFile: %s\n", snap->pid_file);
    fprintf(out, "Shared memory: %s\n\n", snap->shm_name);
    format_time(t, sizeof(t), snap->now);
    fprintf(out, "Current Time: %s\n", t);
    format_time(t, sizeof(t), snap->start_time);
    fprintf(out, "Start Time: %s\n", t);
    format_time(t, sizeof(t), snap->restart_time);
    fprintf(out, "Restart Time: %s\n", t);
    fprintf(out, "Parent Server Config. Generation: %lu\n", (unsigned long)snap->generation);
    /* Uptime counts from the last restart, as httpd's does. */
    format_uptime(up, sizeof(up), snap->restart_time > 0 ? snap->now - snap->restart_time : 0);
    fprintf(out, "Server uptime: %s\n", up);
    format_bytes(traffic, sizeof(traffic), snap->total_bytes);
    fprintf(out, "Total accesses: %llu - Total connections: %llu - Total Traffic: %s\n",
            (unsigned long long)snap->total_requests, (unsigned long long)snap->total_connections,
            traffic);
    fprintf(out, "%u requests currently being processed, %u idle workers\n\n", snap->busy,
            snap->idle);

    render_letters(out, snap);
    fprintf(out, "\nScoreboard Key:\n"
                 "\"_\" Waiting for Connection, \"S\" Starting up, \"R\" Reading Request,\n"
                 "\"W\" Sending Reply, \"K\" Keepalive (read), \"D\" DNS Lookup,\n"
                 "\"C\" Closing connection, \"L\" Logging, \"G\" Gracefully finishing,\n"
                 "\"I\" Idle cleanup of worker, \".\" Open slot with no current process\n\n");
    if (render_workers(out, snap) < 0)
        return -1;
    return render_balancers(out, snap);
}

/* The PidFile path exactly as the master hashes it: the config's (absolute) value, or -p's
 * made absolute against the current directory without resolving symlinks. */
static int find_pid_file(const char *conf_file, const char *pid_arg, char *out, size_t len)
{
    if (pid_arg != NULL) {
        if (pid_arg[0] == '/') {
            if (util_strlcpy(out, pid_arg, len) >= len)
                goto too_long;
            return 0;
        }
        char cwd[4096];
        if (getcwd(cwd, sizeof(cwd)) == NULL) {
            fprintf(stderr, "%s: cannot get the current directory: %s\n", progname,
                    strerror(errno));
            return -1;
        }
        int n = snprintf(out, len, "%s/%s", cwd, pid_arg);
        if (n < 0 || (size_t)n >= len)
            goto too_long;
        return 0;
    }

    char errbuf[8192];
    struct conf_options opt;
    memset(&opt, 0, sizeof(opt));
    opt.config_file = conf_file != NULL ? conf_file : DEFAULT_CONF;
    struct conf *c = conf_load(&opt, errbuf, sizeof(errbuf));
    if (c == NULL) {
        fprintf(stderr, "%s: cannot load %s:\n%s%s", progname, opt.config_file, errbuf,
                (errbuf[0] && errbuf[strlen(errbuf) - 1] == '\n') ? "" : "\n");
        return -1;
    }
    int rc = 0;
    if (c->pid_file == NULL || c->pid_file[0] == '\0') {
        fprintf(stderr, "%s: %s sets no PidFile\n", progname, opt.config_file);
        rc = -1;
    } else if (util_strlcpy(out, c->pid_file, len) >= len) {
        rc = -1;
        fprintf(stderr, "%s: PidFile path too long\n", progname);
    }
    conf_free(c);
    return rc;

too_long:
    fprintf(stderr, "%s: PidFile path too long\n", progname);
    return -1;
}

/* Attaches the balancer segment, copies it into snap and detaches. An absent segment means
 * no balancer is configured: 0, nothing shown. Returns -1 (message printed) on failure. */
static int gather_balancer_segment(struct status_snapshot *snap)
{
    struct slotmem bsm;
    char err[512];
    int rc;

    if (shm_name_for(snap->pid_file, BALANCER_KIND, snap->balancer_shm_name,
                     sizeof(snap->balancer_shm_name)) < 0) {
        fprintf(stderr, "%s: cannot derive a shared memory name from %s\n", progname,
                snap->pid_file);
        return -1;
    }
    /* A graceful restart replaces the segment, and the master fills the new one before
     * publishing it: wait a little (bounded) rather than report a half-made segment. */
    for (int attempt = 0;; attempt++) {
        rc = balancer_shm_attach(&bsm, snap->pid_file, err, sizeof(err));
        if (rc == 0 || errno != EAGAIN || attempt >= 50)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc < 0) {
        if (errno == ENOENT)
            return 0;
        fprintf(stderr, "%s: balancers: %s\n", progname, err);
        return -1;
    }
    rc = gather_balancers(&bsm, snap);
    slotmem_detach(&bsm);
    if (rc < 0)
        fprintf(stderr, "%s: out of memory\n", progname);
    return rc;
}

static void snapshot_free(struct status_snapshot *snap)
{
    free(snap->workers);
    snap->workers = NULL;
    for (unsigned b = 0; snap->balancers != NULL && b < snap->n_balancers; b++)
        free(snap->balancers[b].members);
    free(snap->balancers);
    snap->balancers = NULL;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *conf_file = NULL, *pid_arg = NULL;
    struct status_snapshot snap;
    struct slotmem sm;
    char err[512];
    int ch, rc = 1, partial;

    memset(&snap, 0, sizeof(snap));
    while ((ch = getopt_long(argc, argv, "f:p:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'f':
            conf_file = optarg;
            break;
        case 'p':
            pid_arg = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind != argc || (conf_file != NULL && pid_arg != NULL)) {
        if (optind == argc)
            fprintf(stderr, "%s: -f and -p are exclusive\n", progname);
        usage(stderr);
        return 2;
    }

    if (find_pid_file(conf_file, pid_arg, snap.pid_file, sizeof(snap.pid_file)) < 0)
        return 1;
    if (shm_name_for(snap.pid_file, SB_KIND, snap.shm_name, sizeof(snap.shm_name)) < 0) {
        fprintf(stderr, "%s: cannot derive a shared memory name from %s\n", progname,
                snap.pid_file);
        return 1;
    }
    if (scoreboard_attach(&sm, snap.pid_file, err, sizeof(err)) < 0) {
        if (errno == ENOENT)
            fprintf(stderr, "%s: no running server found for %s (no shared memory %s)\n", progname,
                    snap.pid_file, snap.shm_name);
        else
            fprintf(stderr, "%s: %s\n", progname, err);
        return 1;
    }
    if (gather(&sm, &snap) < 0) {
        fprintf(stderr, "%s: out of memory\n", progname);
        goto done;
    }
    /* The snapshot holds copies: release the segment before the (possibly slow) output. */
    slotmem_detach(&sm);
    /* A balancer segment we cannot read still leaves the scoreboard worth printing. */
    partial = gather_balancer_segment(&snap) < 0;
    if (render_text(stdout, &snap) < 0) {
        fprintf(stderr, "%s: out of memory\n", progname);
        goto done;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: write error: %s\n", progname, strerror(errno));
        goto done;
    }
    rc = partial ? 1 : 0;
done:
    slotmem_detach(&sm);
    snapshot_free(&snap);
    return rc;
}
