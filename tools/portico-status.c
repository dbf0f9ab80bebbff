/* portico-status: prints a running server's scoreboard, like httpd's mod_status page, from
 * the shared memory, without sending a request (so it works when every worker is busy).
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

#include "conf.h"
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

#define N_COLS 12
static const struct {
    const char *title;
    enum col_align align;
} columns[N_COLS] = {
    {"Slot", RIGHT},  {"PID", RIGHT},   {"Gen", RIGHT},   {"St", LEFT},
    {"Req", RIGHT},   {"Conn", RIGHT},  {"Bytes", RIGHT}, {"SS", RIGHT},
    {"ReqMs", RIGHT}, {"Client", LEFT}, {"VHost", LEFT},  {"Request", LEFT},
};

struct table_row {
    char cell[N_COLS][160];
};

static void fill_row(struct table_row *r, const struct status_worker *w, int64_t now_ms)
{
    snprintf(r->cell[0], sizeof(r->cell[0]), "%u", w->slot);
    snprintf(r->cell[1], sizeof(r->cell[1]), "%ld", (long)w->pid);
    snprintf(r->cell[2], sizeof(r->cell[2]), "%lu", (unsigned long)w->generation);
    snprintf(r->cell[3], sizeof(r->cell[3]), "%c", w->state);
    snprintf(r->cell[4], sizeof(r->cell[4]), "%llu", (unsigned long long)w->requests);
    snprintf(r->cell[5], sizeof(r->cell[5]), "%llu", (unsigned long long)w->connections);
    snprintf(r->cell[6], sizeof(r->cell[6]), "%llu", (unsigned long long)w->bytes);
    /* SS: seconds since the current or last request began (mod_status's column). */
    if (w->req_start_ms > 0 && now_ms >= w->req_start_ms)
        snprintf(r->cell[7], sizeof(r->cell[7]), "%lld",
                 (long long)((now_ms - w->req_start_ms) / 1000));
    else
        util_strlcpy(r->cell[7], "-", sizeof(r->cell[7]));
    if (w->requests > 0)
        snprintf(r->cell[8], sizeof(r->cell[8]), "%llu",
                 (unsigned long long)(w->req_time_us / 1000));
    else
        util_strlcpy(r->cell[8], "-", sizeof(r->cell[8]));
    util_strlcpy(r->cell[9], w->client[0] ? w->client : "-", sizeof(r->cell[9]));
    util_strlcpy(r->cell[10], w->vhost[0] ? w->vhost : "-", sizeof(r->cell[10]));
    util_strlcpy(r->cell[11], w->request[0] ? w->request : "-", sizeof(r->cell[11]));
}

static void print_row(FILE *out, const struct table_row *r, const int *width)
{
    for (int c = 0; c < N_COLS; c++) {
        if (c == N_COLS - 1)
            fprintf(out, "%s\n", r->cell[c]); /* no trailing blanks */
        else if (columns[c].align == RIGHT)
            fprintf(out, "%*s  ", width[c], r->cell[c]);
        else
            fprintf(out, "%-*s  ", width[c], r->cell[c]);
    }
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

    struct table_row *rows = calloc(live + 1, sizeof(*rows));
    if (rows == NULL)
        return -1;
    int width[N_COLS];
    for (int c = 0; c < N_COLS; c++)
        util_strlcpy(rows[0].cell[c], columns[c].title, sizeof(rows[0].cell[c]));
    unsigned n = 1;
    for (unsigned i = 0; i < snap->slot_count; i++) {
        if (snap->workers[i].pid != 0)
            fill_row(&rows[n++], &snap->workers[i], snap->now_ms);
    }
    for (int c = 0; c < N_COLS; c++) {
        width[c] = 0;
        for (unsigned r = 0; r < n; r++) {
            int l = (int)strlen(rows[r].cell[c]);
            if (l > width[c])
                width[c] = l;
        }
    }
    for (unsigned r = 0; r < n; r++)
        print_row(out, &rows[r], width);
    free(rows);
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
    return render_workers(out, snap);
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
    int ch, rc = 1;

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
    if (render_text(stdout, &snap) < 0) {
        fprintf(stderr, "%s: out of memory\n", progname);
        goto done;
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "%s: write error: %s\n", progname, strerror(errno));
        goto done;
    }
    rc = 0;
done:
    slotmem_detach(&sm);
    free(snap.workers);
    return rc;
}
