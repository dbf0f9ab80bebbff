/* portico-status: prints a running server's scoreboard and balancer members from its shared
 * memory, without sending a request (so it works when every worker is busy).
 *
 * The formatting is status_format()'s (src/status_format.c), the same code that serves
 * server-status and portico-metrics, so the tool and the handlers can never disagree; this
 * file only finds the segments, attaches them read-only for the instant of a snapshot, and
 * writes the result, once or every N seconds. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "balancer_slot.h"
#include "conf.h"
#include "conf_types.h"
#include "scoreboard.h"
#include "shm_name.h"
#include "status.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#define DEFAULT_CONF SYSCONFDIR "/portico.conf"

/* Exit statuses (documented in portico-status.8). */
enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

static const char *progname = "portico-status";
static volatile sig_atomic_t stop_requested;

struct tool {
    const struct conf *conf; /* names and ExtendedStatus; NULL with -p */
    enum status_format fmt;
    int watch; /* seconds between frames, 0 = one frame */
    int clear; /* watch on a terminal: clear the screen before each frame */
    char pid_file[4096];
    char sb_shm[96];
    char bal_shm[96];
    int bal_warned; /* a balancer-segment problem was reported (watch: once) */
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: %s [-f CONF | -p PIDFILE] [--text | --json | --prometheus | --auto]\n"
            "                      [--watch N] [--once]\n"
            "  -f CONF       read the PidFile and the names from this configuration\n"
            "                (default %s)\n"
            "  -p PIDFILE    use this PidFile path directly (no configuration is read)\n"
            "  --text        aligned columns for people (the default)\n"
            "  --json        one JSON document, as server-status?json\n"
            "  --prometheus  Prometheus text exposition format, as portico-metrics\n"
            "  --auto        httpd's server-status?auto fields, for monitoring agents\n"
            "  --watch N     print a new snapshot every N seconds until interrupted\n"
            "  --once        print one snapshot and exit (the default; overrides --watch)\n"
            "  -h, --help    show this help\n",
            progname, DEFAULT_CONF);
}

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

/* The PidFile path exactly as the master hashes it: the config's (absolute) value, or -p's
 * made absolute against the current directory without resolving symlinks. */
static int pid_file_from_arg(const char *pid_arg, char *out, size_t len)
{
    if (pid_arg[0] == '/') {
        if (util_strlcpy(out, pid_arg, len) >= len)
            goto too_long;
        return 0;
    }
    char cwd[4096];
    if (getcwd(cwd, sizeof(cwd)) == NULL) {
        fprintf(stderr, "%s: cannot get the current directory: %s\n", progname, strerror(errno));
        return -1;
    }
    int n = snprintf(out, len, "%s/%s", cwd, pid_arg);
    if (n < 0 || (size_t)n >= len)
        goto too_long;
    return 0;
too_long:
    fprintf(stderr, "%s: PidFile path too long\n", progname);
    return -1;
}

/* Loads the configuration (kept for names and ExtendedStatus) and takes its PidFile. */
static struct conf *load_conf(const char *conf_file, char *pid_file, size_t len)
{
    char errbuf[8192];
    struct conf_options opt;
    memset(&opt, 0, sizeof(opt));
    opt.config_file = conf_file != NULL ? conf_file : DEFAULT_CONF;
    struct conf *c = conf_load(&opt, errbuf, sizeof(errbuf));
    if (c == NULL) {
        fprintf(stderr, "%s: cannot load %s:\n%s%s", progname, opt.config_file, errbuf,
                (errbuf[0] && errbuf[strlen(errbuf) - 1] == '\n') ? "" : "\n");
        return NULL;
    }
    if (c->pid_file == NULL || c->pid_file[0] == '\0') {
        fprintf(stderr, "%s: %s sets no PidFile\n", progname, opt.config_file);
        goto fail;
    }
    if (util_strlcpy(pid_file, c->pid_file, len) >= len) {
        fprintf(stderr, "%s: PidFile path too long\n", progname);
        goto fail;
    }
    return c;
fail:
    conf_free(c);
    return NULL;
}

/* Attaches the balancer segment. 1 attached, 0 none (no balancer configured), -1 unreadable
 * (reported once). */
static int attach_balancers(struct tool *t, struct slotmem *bsm)
{
    char err[512];
    int rc;
    /* A graceful restart replaces the segment and the master fills the new one before
     * publishing it: wait a little (bounded) rather than report a half-made segment. */
    for (int attempt = 0;; attempt++) {
        rc = balancer_shm_attach(bsm, t->pid_file, err, sizeof(err));
        if (rc == 0 || errno != EAGAIN || attempt >= 50)
            break;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (rc == 0)
        return 1;
    if (errno == ENOENT)
        return 0;
    if (!t->bal_warned)
        fprintf(stderr, "%s: balancers: %s\n", progname, err);
    t->bal_warned = 1;
    return -1;
}

/* What only the tool knows: where it looked. Text format only; admins (and the e2e harness)
 * use the "Shared memory:" line to find the segment. */
static void text_footer(const struct tool *t, const struct slotmem *bsm)
{
    printf("\nPidFile: %s\nShared memory: %s\n", t->pid_file, t->sb_shm);
    if (bsm == NULL)
        return;
    const struct balancer_shm_global *g = balancer_shm_global(bsm);
    if (g != NULL)
        printf("Balancer shared memory: %s (generation %llu, BalancerPersist %s)\n", t->bal_shm,
               (unsigned long long)g->generation, g->persist ? "On" : "Off");
}

enum frame_result {
    FRAME_OK,
    FRAME_PARTIAL, /* printed, but the balancer segment was unreadable (reported) */
    FRAME_GONE     /* nothing printed: no server, or out of memory, or stdout failed */
};

/* One snapshot, formatted and written; every problem is reported on stderr. */
static enum frame_result frame(struct tool *t)
{
    struct slotmem sm, bsm;
    char err[512];
    struct status_buf out = {NULL, 0, 0, 0};
    enum frame_result rc = FRAME_GONE;
    int bal;

    memset(&sm, 0, sizeof(sm));
    memset(&bsm, 0, sizeof(bsm));
    if (scoreboard_attach(&sm, t->pid_file, err, sizeof(err)) < 0) {
        if (errno == ENOENT)
            fprintf(stderr,
                    "%s: no portico server is running (no scoreboard at /dev/shm%s for PidFile "
                    "%s)\n",
                    progname, t->sb_shm, t->pid_file);
        else
            fprintf(stderr, "%s: %s\n", progname, err);
        return FRAME_GONE;
    }
    bal = attach_balancers(t, &bsm);

    struct status_source src = {
        .scoreboard = &sm,
        .balancers = bal > 0 ? &bsm : NULL,
        .conf = t->conf,
        .extended = status_extended(t->conf),
        .now_ms = scoreboard_now_ms(),
        .server_name = NULL,
    };
    if (status_format(&src, t->fmt, &out) < 0) {
        fprintf(stderr, "%s: out of memory\n", progname);
        goto done;
    }
    if (t->clear)
        fputs("\033[H\033[2J", stdout);
    if (out.len > 0)
        fwrite(out.buf, 1, out.len, stdout);
    if (t->fmt == STATUS_TEXT)
        text_footer(t, bal > 0 ? &bsm : NULL);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* A stop signal may cut a blocked write short (no SA_RESTART): that is the end of a
         * watch, not a failure. */
        if (!stop_requested)
            fprintf(stderr, "%s: write error: %s\n", progname, strerror(errno));
        else
            rc = FRAME_OK;
        goto done;
    }
    rc = bal < 0 ? FRAME_PARTIAL : FRAME_OK;
done:
    free(out.buf);
    if (bal > 0)
        slotmem_detach(&bsm);
    slotmem_detach(&sm);
    return rc;
}

/* Sleeps until `deadline` (CLOCK_MONOTONIC) or a stop signal. */
static void sleep_until(const struct timespec *deadline)
{
    while (!stop_requested) {
        int e = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, deadline, NULL);
        if (e == 0 || e != EINTR)
            break;
    }
}

static int watch_loop(struct tool *t)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: the signal must cut the sleep short. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    int partial = 0;
    while (!stop_requested) {
        enum frame_result r = frame(t);
        /* The server went away (or stdout did): nothing more to watch. An unreadable
         * balancer segment alone is no reason to stop; it only sets the exit status. */
        if (r == FRAME_GONE)
            return EXIT_FAIL;
        partial |= r == FRAME_PARTIAL;
        /* Frames start every N seconds; one that took longer (a blocked terminal) delays the
         * next rather than causing a burst. */
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        next.tv_sec += t->watch;
        if (next.tv_sec < now.tv_sec || (next.tv_sec == now.tv_sec && next.tv_nsec < now.tv_nsec))
            next = now;
        sleep_until(&next);
    }
    /* Interrupted by the admin: the normal end of a watch. */
    return partial ? EXIT_FAIL : EXIT_OK;
}

static int set_format(enum status_format *fmt, int *fmt_set, enum status_format f)
{
    if (*fmt_set && *fmt != f) {
        fprintf(stderr, "%s: --text, --json, --prometheus and --auto are exclusive\n", progname);
        return -1;
    }
    *fmt = f;
    *fmt_set = 1;
    return 0;
}

int main(int argc, char **argv)
{
    enum { OPT_TEXT = 256, OPT_JSON, OPT_PROM, OPT_AUTO, OPT_WATCH, OPT_ONCE };
    static const struct option longopts[] = {
        {"help", no_argument, NULL, 'h'},      {"text", no_argument, NULL, OPT_TEXT},
        {"json", no_argument, NULL, OPT_JSON}, {"prometheus", no_argument, NULL, OPT_PROM},
        {"auto", no_argument, NULL, OPT_AUTO}, {"watch", required_argument, NULL, OPT_WATCH},
        {"once", no_argument, NULL, OPT_ONCE}, {NULL, 0, NULL, 0},
    };
    const char *conf_file = NULL, *pid_arg = NULL;
    struct tool t;
    struct conf *conf = NULL;
    int ch, fmt_set = 0, once = 0, rc;
    long long n;

    memset(&t, 0, sizeof(t));
    t.fmt = STATUS_TEXT;
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
            return EXIT_OK;
        case OPT_TEXT:
        case OPT_JSON:
        case OPT_PROM:
        case OPT_AUTO: {
            static const enum status_format map[] = {STATUS_TEXT, STATUS_JSON, STATUS_PROMETHEUS,
                                                     STATUS_AUTO};
            if (set_format(&t.fmt, &fmt_set, map[ch - OPT_TEXT]) < 0)
                return EXIT_USAGE;
            break;
        }
        case OPT_WATCH:
            if (util_parse_ll(optarg, 1, 86400, &n) < 0) {
                fprintf(stderr, "%s: --watch wants whole seconds from 1 to 86400, not '%s'\n",
                        progname, optarg);
                return EXIT_USAGE;
            }
            t.watch = (int)n;
            break;
        case OPT_ONCE:
            once = 1;
            break;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc || (conf_file != NULL && pid_arg != NULL)) {
        if (optind == argc)
            fprintf(stderr, "%s: -f and -p are exclusive\n", progname);
        else
            fprintf(stderr, "%s: unexpected argument '%s'\n", progname, argv[optind]);
        usage(stderr);
        return EXIT_USAGE;
    }
    if (once)
        t.watch = 0;

    if (pid_arg != NULL) {
        if (pid_file_from_arg(pid_arg, t.pid_file, sizeof(t.pid_file)) < 0)
            return EXIT_FAIL;
    } else {
        conf = load_conf(conf_file, t.pid_file, sizeof(t.pid_file));
        if (conf == NULL)
            return EXIT_FAIL;
        t.conf = conf;
    }
    if (shm_name_for(t.pid_file, SB_KIND, t.sb_shm, sizeof(t.sb_shm)) < 0 ||
        shm_name_for(t.pid_file, BALANCER_KIND, t.bal_shm, sizeof(t.bal_shm)) < 0) {
        fprintf(stderr, "%s: cannot derive a shared memory name from %s\n", progname, t.pid_file);
        rc = EXIT_FAIL;
        goto done;
    }
    t.clear = t.watch > 0 && isatty(STDOUT_FILENO);
    if (t.watch > 0)
        rc = watch_loop(&t);
    else
        rc = frame(&t) == FRAME_OK ? EXIT_OK : EXIT_FAIL;
done:
    if (conf != NULL)
        conf_free(conf);
    return rc;
}
