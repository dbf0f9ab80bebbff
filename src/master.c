/* Master process. It never serves a request: it opens what needs root, forks workers, keeps
 * between MinSpareServers and MaxSpareServers of them idle (httpd's algorithm, 7.2 of
 * apache-behaviour.md), and turns signals into stops and restarts. All signals are blocked
 * and taken synchronously with sigtimedwait(), so no handler races the bookkeeping. */
#include "config.h"

#include "master.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "io.h"
#include "log.h"
#include "mime.h"
#include "privdrop.h" /* privsep */
#include "balancer.h"
#include "balancer_slot.h"
#include "heartbeat.h"
#include "rewrite_map.h"
#include "scoreboard.h"
#include "slotmem.h"
#include "tls.h"
#include "util.h"
#include "worker.h"

#define CHILD_FATAL_EXIT 2 /* a worker that cannot run at all: stop, do not respawn-loop */

struct child {
    pid_t pid;
    unsigned gen;
    int retiring;
};

static struct {
    struct conf *conf;
    const struct master_options *opt;
    struct slotmem sb;
    struct slotmem bal; /* balancer members; bal.hdr == NULL when no balancer is configured */
    pid_t hb_pid;       /* the heartbeat/health-check process, 0 when not running */
    struct child *kids;
    unsigned server_limit;
    unsigned gen;
    int spawn_rate;
    int hold_off;
    int warned_max;
    int detached; /* daemonized and the starting shell released */
    sigset_t sigs;
} M;

/* A killed master whose parent (a container's PID 1) never reaps it stays a zombie: it
 * answers kill(pid, 0) but runs nothing, so it must not block a new start. */
static int pid_is_zombie(pid_t pid)
{
    char buf[512];
    const char *f = util_proc_stat_fields((long)pid, buf, sizeof(buf));
    return f != NULL && f[0] == 'Z';
}

long master_read_pid(const char *pid_file, char *err, size_t errlen)
{
    FILE *f = fopen(pid_file, "r");
    if (f == NULL) {
        if (errno == ENOENT)
            return 0;
        snprintf(err, errlen, "Error retrieving pid file %s: %s", pid_file, strerror(errno));
        return -1;
    }
    char buf[32] = {0};
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
        buf[--n] = '\0';
    long long pid;
    if (util_parse_ll(buf, 1, 0x7fffffff, &pid) < 0) {
        snprintf(err, errlen,
                 "Error retrieving pid file %s: bad contents. Remove it before continuing if it "
                 "is corrupted.",
                 pid_file);
        return -1;
    }
    if ((pid_t)pid == getpid() || (kill((pid_t)pid, 0) < 0 && errno == ESRCH) ||
        pid_is_zombie((pid_t)pid))
        return 0;
    return (long)pid;
}

static int write_pid_file(const char *path)
{
    char tmp[4096];
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%ld\n", (long)getpid());
    if (fclose(f) != 0 || rename(tmp, path) < 0)
        return -1;
    return 0;
}

/* ---- listeners ---- */

static int open_listener(struct conf_listener *l, int backlog, char *err, size_t errlen)
{
    int fd = socket(l->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        goto fail;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (l->addr.ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&l->addr, l->addrlen) < 0 || listen(fd, backlog) < 0)
        goto fail;
    l->fd = fd;
    return 0;
fail:
    snprintf(err, errlen, "%s:%d: Listen: could not bind to address %s: %s", l->file, l->line,
             l->text, strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

/* Opens conf's listeners, taking over the open sockets of `old` with the same address so a
 * restart never closes a listening socket (queued connections survive). */
static int listeners_open(struct conf *conf, struct conf *old, char *err, size_t errlen)
{
    for (struct conf_listener *l = conf->listeners; l; l = l->next) {
        l->fd = -1;
        for (struct conf_listener *o = old ? old->listeners : NULL; o; o = o->next) {
            if (o->fd >= 0 && strcmp(o->text, l->text) == 0) {
                l->fd = o->fd;
                o->fd = -1;
                break;
            }
        }
        if (l->fd < 0 && open_listener(l, conf->listen_backlog, err, errlen) < 0)
            return -1;
        /* Accepted sockets inherit these, which saves every connection the system calls:
         * the slice timeouts let a worker's reads and writes wait inside the call (io.h),
         * and responses go out without Nagle's delay. */
        int one = 1;
        if (io_set_slice_timeouts(l->fd) < 0 ||
            setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) < 0) {
            snprintf(err, errlen, "%s:%d: Listen: setting socket options on %s: %s", l->file,
                     l->line, l->text, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static void listeners_close(struct conf *conf)
{
    for (struct conf_listener *l = conf ? conf->listeners : NULL; l; l = l->next) {
        if (l->fd >= 0)
            close(l->fd);
        l->fd = -1;
    }
}

/* ---- logs ---- */

/* Servers often share one log file: open each destination once. */
static int log_fd_for(struct conf *conf, const char *dest, char *err, size_t errlen)
{
    for (struct conf_server *s = conf->main; s; s = (s == conf->main ? conf->vhosts : s->next)) {
        if (s->error_log_fd >= 0 && s->error_log != NULL && strcmp(s->error_log, dest) == 0)
            return s->error_log_fd;
        for (struct conf_customlog *l = s->logs; l; l = l->next)
            if (l->fd >= 0 && strcmp(l->path, dest) == 0)
                return l->fd;
    }
    return log_open(dest, err, errlen);
}

static int logs_open(struct conf *conf, char *err, size_t errlen)
{
    for (struct conf_server *s = conf->main; s; s = (s == conf->main ? conf->vhosts : s->next)) {
        if (s->error_log != NULL &&
            (s->error_log_fd = log_fd_for(conf, s->error_log, err, errlen)) < 0)
            return -1;
        for (struct conf_customlog *l = s->logs; l; l = l->next)
            if ((l->fd = log_fd_for(conf, l->path, err, errlen)) < 0)
                return -1;
    }
    return 0;
}

static void close_once(int *fds, int *n, int fd)
{
    if (fd < 0)
        return;
    for (int i = 0; i < *n; i++)
        if (fds[i] == fd)
            return;
    fds[(*n)++] = fd;
    close(fd);
}

static void logs_close(struct conf *conf)
{
    int closed[512], n = 0;
    for (struct conf_server *s = conf->main; s; s = (s == conf->main ? conf->vhosts : s->next)) {
        if (n < 500)
            close_once(closed, &n, s->error_log_fd);
        s->error_log_fd = -1;
        for (struct conf_customlog *l = s->logs; l; l = l->next) {
            if (n < 500)
                close_once(closed, &n, l->fd);
            l->fd = -1;
        }
    }
}

/* ---- children ---- */

static void spawn(unsigned slot)
{
    struct sb_worker_slot *w = scoreboard_slot(&M.sb, slot);
    /* Initialised before fork() so the slot already reads STARTING when the child runs. */
    scoreboard_slot_init(&M.sb, w, 0, M.gen);
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(MOD_MPM_PREFORK, LL_ERROR, errno, NULL, "fork");
        scoreboard_set_state(w, SB_STATE_DEAD);
        return;
    }
    if (pid == 0) {
        /* Signals stay blocked until worker_main() has its handlers installed. */
        atomic_store(&w->pid, (int32_t)getpid());
        worker_main(M.conf, &M.sb, slot, M.gen);
    }
    atomic_store(&w->pid, (int32_t)pid);
    M.kids[slot] = (struct child){.pid = pid, .gen = M.gen, .retiring = 0};
}

static unsigned count_children(void)
{
    unsigned n = M.hb_pid != 0;
    for (unsigned i = 0; i < M.server_limit; i++)
        n += M.kids[i].pid != 0;
    return n;
}

/* The heartbeat process reads the config and the balancer segment it was forked with, so
 * it is replaced on every restart. */
static int64_t hb_restart_at; /* a dead heartbeat process is restarted from the 1 s tick */

static void heartbeat_start(void)
{
    hb_restart_at = 0;
    if (M.hb_pid != 0 || !heartbeat_needed(M.conf))
        return;
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(MOD_HEARTMONITOR, LL_ERROR, errno, NULL, "fork of the heartbeat process");
        return;
    }
    if (pid == 0)
        heartbeat_main(M.conf, M.bal.hdr != NULL ? &M.bal : NULL);
    M.hb_pid = pid;
}

/* The old process is reaped later as a stray; a new one may start at once. */
static void heartbeat_stop(void)
{
    if (M.hb_pid != 0)
        kill(M.hb_pid, SIGTERM);
    M.hb_pid = 0;
}

static void signal_children(int sig, int only_old)
{
    /* The heartbeat process has no request to finish: any stop is a TERM for it. */
    if (M.hb_pid != 0 && !only_old)
        kill(M.hb_pid, sig == SIGKILL ? SIGKILL : SIGTERM);
    for (unsigned i = 0; i < M.server_limit; i++) {
        if (M.kids[i].pid == 0 || (only_old && M.kids[i].gen == M.gen))
            continue;
        kill(M.kids[i].pid, sig);
        if (sig == SIGUSR1)
            M.kids[i].retiring = 1;
    }
}

static int stopping;

static void reap(void)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
        if (rewrite_maps_reap(M.conf, pid, st))
            continue;
        if (pid == M.hb_pid) {
            M.hb_pid = 0;
            /* Exit 2: it could not drop privileges, and never will: do not loop. */
            int fatal = WIFEXITED(st) && WEXITSTATUS(st) == CHILD_FATAL_EXIT;
            if (fatal)
                log_msg(MOD_HEARTMONITOR, LL_ALERT, 0, NULL,
                        "heartbeat process %ld could not start; heartbeats and health checks "
                        "are off until the next restart",
                        (long)pid);
            if (!stopping && !fatal && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
                log_msg(MOD_HEARTMONITOR, LL_ERROR, 0, NULL,
                        "heartbeat process %ld died (%s %d), restarting it", (long)pid,
                        WIFSIGNALED(st) ? "signal" : "exit",
                        WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
                /* Not at once: one that keeps dying must not spin the master. */
                hb_restart_at = util_now_ms() + 1000;
            }
            continue;
        }
        unsigned slot = M.server_limit;
        for (unsigned i = 0; i < M.server_limit; i++)
            if (M.kids[i].pid == pid)
                slot = i;
        if (slot == M.server_limit)
            continue; /* a piped logger or a stray */
        struct child k = M.kids[slot];
        M.kids[slot].pid = 0;
        /* Died holding a balancer member busy (crash, kill -9, TERM mid-request): release
         * it, in the segment of its own generation only. */
        int32_t held = atomic_exchange(&scoreboard_slot(&M.sb, slot)->balancer_busy, 0);
        if (held > 0 && k.gen == M.gen && M.bal.hdr != NULL) {
            struct balancer_slot *bs = balancer_shm_slot(&M.bal, (unsigned)(held - 1));
            int64_t cur = bs != NULL ? atomic_load(&bs->busy) : 0;
            while (cur > 0 && !atomic_compare_exchange_weak(&bs->busy, &cur, cur - 1))
                ;
        }
        scoreboard_slot_clear(scoreboard_slot(&M.sb, slot));
        if (WIFSIGNALED(st) && !(stopping && WTERMSIG(st) == SIGTERM)) {
            log_msg(MOD_MPM_PREFORK, LL_NOTICE, 0, NULL, "child pid %ld exit signal %s (%d)",
                    (long)pid, strsignal(WTERMSIG(st)), WTERMSIG(st));
        } else if (WIFEXITED(st) && WEXITSTATUS(st) == CHILD_FATAL_EXIT && !stopping) {
            log_msg(MOD_MPM_PREFORK, LL_ALERT, 0, NULL,
                    "child pid %ld could not start (exit %d), shutting down", (long)pid,
                    WEXITSTATUS(st));
            stopping = SIGTERM;
            continue;
        }
        /* A worker that died unexpectedly is replaced at once; one that retired or reached
         * MaxConnectionsPerChild is left to the spare-server logic. */
        int unexpected = WIFSIGNALED(st) || (WIFEXITED(st) && WEXITSTATUS(st) != 0);
        if (!stopping && unexpected && !k.retiring && k.gen == M.gen &&
            slot < (unsigned)M.conf->max_request_workers)
            spawn(slot);
    }
}

static void maintain_spares(void)
{
    unsigned idle = 0, last_idle = M.server_limit;
    for (unsigned i = 0; i < M.server_limit; i++) {
        struct child *k = &M.kids[i];
        if (k->pid == 0 || k->gen != M.gen || k->retiring)
            continue;
        int state = atomic_load(&scoreboard_slot(&M.sb, i)->state);
        if (state == SB_STATE_READY || state == SB_STATE_STARTING) {
            idle++;
            last_idle = i;
        }
    }
    const struct conf *c = M.conf;
    if (idle > (unsigned)c->max_spare_servers && last_idle < M.server_limit) {
        /* Retire one per second, as httpd does, so load spikes do not thrash the pool. */
        kill(M.kids[last_idle].pid, SIGUSR1);
        M.kids[last_idle].retiring = 1;
        M.spawn_rate = 1;
        return;
    }
    if (idle >= (unsigned)c->min_spare_servers) {
        M.spawn_rate = 1;
        return;
    }
    unsigned limit = (unsigned)c->max_request_workers;
    if (limit > M.server_limit)
        limit = M.server_limit;
    int spawned = 0;
    for (unsigned i = 0; i < limit && spawned < M.spawn_rate; i++) {
        if (M.kids[i].pid == 0) {
            spawn(i);
            spawned++;
        }
    }
    if (spawned == 0) {
        if (!M.warned_max) {
            log_msg(MOD_MPM_PREFORK, LL_ERROR, 0, NULL,
                    "server reached MaxRequestWorkers setting, consider raising the "
                    "MaxRequestWorkers setting");
            M.warned_max = 1;
        }
        M.spawn_rate = 1;
        return;
    }
    if (M.spawn_rate >= 8)
        log_msg(MOD_MPM_PREFORK, LL_INFO, 0, NULL,
                "server seems busy, (you may need to increase StartServers, or "
                "Min/MaxSpareServers), spawning %d children, there are %u idle",
                spawned, idle);
    if (M.hold_off > 0)
        M.hold_off--;
    else if (M.spawn_rate < 32)
        M.spawn_rate *= 2;
}

static void start_servers(void)
{
    unsigned limit = (unsigned)M.conf->max_request_workers;
    if (limit > M.server_limit)
        limit = M.server_limit;
    int want = M.conf->start_servers;
    for (unsigned i = 0; i < limit && want > 0; i++) {
        if (M.kids[i].pid == 0) {
            spawn(i);
            want--;
        }
    }
}

/* Signals that arrived while wait_children() was busy, for the main loop. */
static int pending_sig;

/* Waits for every child up to `seconds` (0 = no limit), then SIGKILLs the rest; with `term`
 * TERM is re-sent each second. A TERM arriving meanwhile turns a graceful wait into a stop
 * (10 s at most); other signals are kept for the main loop. */
static void wait_children(int seconds, int term)
{
    int64_t end = seconds > 0 ? util_now_ms() + (int64_t)seconds * 1000 : INT64_MAX;
    int64_t next_term = util_now_ms() + 1000;
    while (count_children() > 0) {
        int64_t now = util_now_ms();
        if (now >= end)
            break;
        if (term && now >= next_term) {
            signal_children(SIGTERM, 0);
            next_term = now + 1000;
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        siginfo_t si;
        int sig = sigtimedwait(&M.sigs, &si, &ts);
        if ((sig == SIGTERM || sig == SIGINT) && stopping != SIGTERM) {
            log_msg(MOD_MPM_PREFORK, LL_NOTICE, 0, NULL, "caught SIGTERM, shutting down");
            stopping = SIGTERM;
            term = 1;
            signal_children(SIGTERM, 0);
            if (end > now + 10000)
                end = now + 10000;
        } else if (sig > 0 && sig != SIGCHLD) {
            pending_sig = sig;
        }
        reap();
    }
    if (count_children() > 0) {
        signal_children(SIGKILL, 0);
        while (count_children() > 0) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            siginfo_t si;
            int sig = sigtimedwait(&M.sigs, &si, &ts);
            if (sig > 0 && sig != SIGCHLD && sig != SIGTERM && sig != SIGINT)
                pending_sig = sig;
            reap();
        }
    }
}

static void log_config_errors(const char *what, const char *errbuf)
{
    char copy[8192];
    util_strlcpy(copy, errbuf, sizeof(copy));
    char *save = NULL;
    for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
        log_msg(MOD_CORE, LL_ERROR, 0, NULL, "%s: %s", what, line);
}

static void log_warnings(const struct conf *c)
{
    for (const struct conf_msg *m = c->warnings; m; m = m->next)
        log_msg(MOD_CORE, LL_WARN, 0, NULL, "%s", m->text);
}

/* Re-reads the configuration. On any failure the running one stays, untouched. */
/* Once the shell has its prompt back, the daemon's stderr must not hold the caller's
 * terminal or pipe open (`out=$(portico -k start)` would wait for the server to stop):
 * it goes to the main ErrorLog, as httpd's does. */
static void stderr_to_log(const struct conf *conf)
{
    int fd = conf->main->error_log_fd;
    if (fd == 2)
        return;
    if (fd < 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (null >= 0) {
            dup2(null, 2);
            close(null);
        }
        return;
    }
    dup2(fd, 2);
}

static int reload(int graceful)
{
    static char errbuf[16384];
    struct conf *next = conf_load(&M.opt->copt, errbuf, sizeof(errbuf));
    if (next == NULL) {
        log_config_errors(graceful ? "graceful restart failed, keeping the old configuration"
                                   : "restart failed, keeping the old configuration",
                          errbuf);
        return -1;
    }
    char err[1024];
    /* New contexts and new session-ticket keys: a restart rotates them. */
    if (tls_conf_load(next, err, sizeof(err)) < 0) {
        log_msg(MOD_SSL, LL_ERROR, 0, NULL, "restart failed, keeping the old configuration: %s",
                err);
        conf_free(next);
        return -1;
    }
    if (listeners_open(next, M.conf, err, sizeof(err)) < 0 ||
        logs_open(next, err, sizeof(err)) < 0) {
        log_msg(MOD_CORE, LL_ERROR, 0, NULL, "restart failed, keeping the old configuration: %s",
                err);
        /* Hand reused sockets back before dropping the new config. */
        for (struct conf_listener *l = next->listeners; l; l = l->next)
            for (struct conf_listener *o = M.conf->listeners; o; o = o->next)
                if (l->fd >= 0 && o->fd < 0 && strcmp(o->text, l->text) == 0) {
                    o->fd = l->fd;
                    l->fd = -1;
                }
        listeners_close(next);
        logs_close(next);
        tls_conf_free(next);
        conf_free(next);
        return -1;
    }
    /* Members keep their state across a graceful restart (matched by balancer and URL);
     * a hard restart starts from the configuration unless BalancerPersist is On. */
    struct slotmem nb = {0};
    int keep = graceful || (next->proxy != NULL && next->proxy->balancer_persist);
    if (balancer_shm_create(&nb, next->pid_file, next->proxy,
                            keep && M.bal.hdr != NULL ? &M.bal : NULL, M.gen + 1, err,
                            sizeof(err)) < 0) {
        log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, NULL,
                "restart failed, keeping the old configuration: %s", err);
        for (struct conf_listener *l = next->listeners; l; l = l->next)
            for (struct conf_listener *o = M.conf->listeners; o; o = o->next)
                if (l->fd >= 0 && o->fd < 0 && strcmp(o->text, l->text) == 0) {
                    o->fd = l->fd;
                    l->fd = -1;
                }
        listeners_close(next);
        logs_close(next);
        tls_conf_free(next);
        conf_free(next);
        return -1;
    }
    if (M.bal.hdr != NULL) {
        if (nb.hdr == NULL || strcmp(nb.name, M.bal.name) != 0)
            slotmem_unlink(M.bal.name); /* PidFile changed, or no balancer any more */
        slotmem_detach(&M.bal);
    }
    M.bal = nb;
    balancer_set_shm(M.bal.hdr != NULL ? &M.bal : NULL);
    if (mime_load(next, err, sizeof(err)) < 0) {
        log_msg(MOD_CORE, LL_ERROR, 0, NULL, "restart failed: %s", err);
        mime_load(M.conf, err, sizeof(err));
    }
    if ((unsigned)next->server_limit != M.server_limit) {
        log_msg(MOD_MPM_PREFORK, LL_WARN, 0, NULL,
                "changing ServerLimit to %d from %u is not allowed during restart; keeping %u",
                next->server_limit, M.server_limit, M.server_limit);
        next->server_limit = (int)M.server_limit;
        if (next->max_request_workers > next->server_limit)
            next->max_request_workers = next->server_limit;
    }
    /* httpd starts map programs anew on every restart (and kills the old ones); portico
     * lets the old ones serve the draining workers and end on EOF when the last is gone.
     * A new program that cannot start fails the restart. */
    if (rewrite_maps_start(next, next->main->error_log_fd, err, sizeof(err)) < 0) {
        log_msg(MOD_REWRITE, LL_ERROR, 0, NULL, "restart failed, keeping the old configuration: %s",
                err);
        rewrite_maps_stop(next);
        listeners_close(next);
        logs_close(next);
        tls_conf_free(next);
        conf_free(next);
        return -1;
    }
    struct conf *old = M.conf;
    M.conf = next;
    rewrite_maps_release(old);
    listeners_close(old); /* only those the new config no longer listens on */
    logs_close(old);
    tls_conf_free(old);
    conf_free(old);
    log_set_target(M.conf->main->error_log_fd, &M.conf->main->loglevel);
    if (M.detached)
        stderr_to_log(M.conf);
    log_warnings(M.conf);
    M.gen = scoreboard_bump_generation(&M.sb);
    heartbeat_stop();
    heartbeat_start();
    struct sb_global *g = scoreboard_global(&M.sb);
    atomic_store(&g->max_request_workers, M.conf->max_request_workers);
    M.warned_max = 0;
    return 0;
}

static void shutdown_files(void)
{
    unlink(M.conf->pid_file);
    if (M.bal.hdr != NULL)
        slotmem_detach(&M.bal);
    balancer_shm_unlink(M.conf->pid_file);
    char name[128];
    util_strlcpy(name, M.sb.name, sizeof(name));
    slotmem_detach(&M.sb);
    slotmem_unlink(name);
}

static int daemonize(int *notify_fd)
{
    int p[2];
    if (pipe(p) < 0)
        return -1;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid > 0) {
        /* The parent returns to the shell once the daemon wrote its pid file. */
        close(p[1]);
        char ok = 0;
        ssize_t n;
        do
            n = read(p[0], &ok, 1);
        while (n < 0 && errno == EINTR);
        _exit(n == 1 && ok == '1' ? 0 : 1);
    }
    close(p[0]);
    setsid();
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
        dup2(null, 0);
        dup2(null, 1);
        if (null > 2)
            close(null);
    }
    *notify_fd = p[1];
    return 0;
}

int master_run(struct conf *conf, const struct master_options *opt)
{
    char err[1024];
    M.conf = conf;
    M.opt = opt;
    M.spawn_rate = 1;
    M.gen = 1;

    long running = master_read_pid(conf->pid_file, err, sizeof(err));
    if (running < 0) {
        fprintf(stderr, "portico: %s\n", err);
        goto fail;
    }
    if (running > 0) {
        fprintf(stderr, "portico (pid %ld) already running\n", running);
        goto fail;
    }
    if (listeners_open(conf, NULL, err, sizeof(err)) < 0 || logs_open(conf, err, sizeof(err)) < 0 ||
        mime_load(conf, err, sizeof(err)) < 0) {
        fprintf(stderr, "portico: %s\n", err);
        goto fail;
    }
    M.server_limit = (unsigned)conf->server_limit;
    if (scoreboard_create(&M.sb, conf->pid_file, M.server_limit, err, sizeof(err)) < 0) {
        fprintf(stderr, "portico: %s\n", err);
        goto fail;
    }
    M.kids = calloc(M.server_limit, sizeof(*M.kids));
    if (M.kids == NULL)
        goto fail_shm;
    if (balancer_shm_create(&M.bal, conf->pid_file, conf->proxy, NULL, M.gen, err, sizeof(err)) <
        0) {
        fprintf(stderr, "portico: %s\n", err);
        goto fail_shm;
    }
    balancer_set_shm(M.bal.hdr != NULL ? &M.bal : NULL);
    if (M.sb.replaced)
        log_msg(MOD_CORE, LL_NOTICE, 0, NULL, "replaced a stale shared memory segment %s",
                M.sb.name);

    int notify = -1;
    if (!opt->foreground && !opt->single && daemonize(&notify) < 0) {
        fprintf(stderr, "portico: cannot daemonize: %s\n", strerror(errno));
        return 1;
    }
    if (write_pid_file(conf->pid_file) < 0) {
        fprintf(stderr, "portico: cannot write PidFile %s: %s\n", conf->pid_file, strerror(errno));
        shutdown_files();
        return 1;
    }
    struct sb_global *g = scoreboard_global(&M.sb);
    atomic_store(&g->master_pid, (int32_t)getpid());
    atomic_store(&g->generation, M.gen);
    g->start_time = (int64_t)time(NULL);
    atomic_store(&g->restart_time, g->start_time);
    atomic_store(&g->max_request_workers, conf->max_request_workers);
    scoreboard_set_text(g->server_version, sizeof(g->server_version), "portico/" PACKAGE_VERSION);
    scoreboard_set_text(g->server_name, sizeof(g->server_name),
                        conf->main->server_name ? conf->main->server_name : "");

    log_set_target(conf->main->error_log_fd, &conf->main->loglevel);
    log_warnings(conf);
    /* TLS contexts read the private keys here, while we still may: workers inherit them
     * through fork() and could not reopen the files. */
    if (tls_conf_load(conf, err, sizeof(err)) < 0) {
        log_msg(MOD_SSL, LL_EMERG, 0, NULL, "%s", err);
        fprintf(stderr, "portico: %s\n", err);
        shutdown_files();
        goto fail;
    }
    /* privsep (src/privdrop.c): listeners, logs and the pid file are open; keep only the
     * capabilities restarts and children need, before any child or map program starts. */
    if (privdrop_master(conf, err, sizeof(err)) < 0) {
        log_msg(MOD_UNIXD, LL_EMERG, 0, NULL, "%s", err);
        fprintf(stderr, "portico: %s\n", err);
        shutdown_files();
        goto fail;
    }
    /* After daemonize(): map programs must be this process's children, to be reaped. */
    if (rewrite_maps_start(conf, conf->main->error_log_fd, err, sizeof(err)) < 0) {
        log_msg(MOD_REWRITE, LL_EMERG, 0, NULL, "%s", err);
        fprintf(stderr, "portico: %s\n", err);
        rewrite_maps_stop(conf);
        shutdown_files();
        goto fail;
    }

    if (opt->single) {
        atomic_store(&scoreboard_slot(&M.sb, 0)->pid, (int32_t)getpid());
        worker_main(conf, &M.sb, 0, M.gen);
    }

    sigemptyset(&M.sigs);
    int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGWINCH, SIGCHLD};
    for (size_t i = 0; i < ARRAY_LEN(sigs); i++)
        sigaddset(&M.sigs, sigs[i]);
    sigprocmask(SIG_BLOCK, &M.sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_msg(MOD_MPM_PREFORK, LL_NOTICE, 0, NULL,
            "portico/%s configured -- resuming normal operations", PACKAGE_VERSION);
    /* Release the shell first: children must not inherit the notification pipe. */
    if (notify >= 0) {
        (void)!write(notify, "1", 1);
        close(notify);
        M.detached = 1;
        stderr_to_log(conf);
    }
    start_servers();
    heartbeat_start();

    int64_t next_tick = util_now_ms() + 1000;
    for (;;) {
        if (stopping == SIGTERM)
            break;
        int64_t left = next_tick - util_now_ms();
        if (left < 0)
            left = 0;
        struct timespec ts = {left / 1000, (left % 1000) * 1000000};
        siginfo_t si;
        int sig = pending_sig;
        pending_sig = 0;
        if (sig == 0)
            sig = sigtimedwait(&M.sigs, &si, &ts);
        if (sig == SIGCHLD) {
            reap();
        } else if (sig == SIGTERM || sig == SIGINT) {
            log_msg(MOD_MPM_PREFORK, LL_NOTICE, 0, NULL, "caught SIGTERM, shutting down");
            stopping = SIGTERM;
            break;
        } else if (sig == SIGUSR1) {
            log_msg(MOD_MPM_PREFORK, LL_NOTICE, 0, NULL,
                    "Graceful restart requested, doing restart");
            if (reload(1) == 0) {
                signal_children(SIGUSR1, 1);
                M.hold_off = 10;
                start_servers();
                log_msg(MOD_MPM_PREFORK, LL_NOTICE, 0, NULL,
                        "portico/%s configured -- resuming normal operations (generation %u)",
                        PACKAGE_VERSION, M.gen);
            }
        } else if (sig == SIGHUP) {
            log_msg(MOD_MPM_PREFORK, LL_NOTICE, 0, NULL, "SIGHUP received.  Attempting to restart");
            stopping = SIGHUP;
            signal_children(SIGTERM, 0);
            wait_children(5, 1);
            if (stopping == SIGTERM)
                break;
            stopping = 0;
            reload(0);
            start_servers();
            heartbeat_start(); /* also when the reload failed: TERM took the old one */
        } else if (sig == SIGWINCH) {
            log_msg(MOD_MPM_PREFORK, LL_NOTICE, 0, NULL,
                    "caught SIGWINCH, shutting down gracefully");
            stopping = SIGWINCH;
            unlink(M.conf->pid_file);
            listeners_close(M.conf);
            signal_children(SIGUSR1, 0);
            wait_children(M.conf->graceful_shutdown_timeout, 0);
            break;
        }
        if (util_now_ms() >= next_tick) {
            reap();
            if (!stopping)
                maintain_spares();
            if (!stopping && hb_restart_at != 0 && util_now_ms() >= hb_restart_at)
                heartbeat_start();
            next_tick = util_now_ms() + 1000;
        }
    }
    if (stopping == SIGTERM) {
        signal_children(SIGTERM, 0);
        wait_children(10, 1);
    }
    rewrite_maps_stop(M.conf);
    shutdown_files();
    listeners_close(M.conf);
    logs_close(M.conf);
    tls_conf_free(M.conf);
    conf_free(M.conf);
    free(M.kids);
    mime_free();
    return 0;

fail_shm:
    shutdown_files();
fail:
    listeners_close(M.conf);
    logs_close(M.conf);
    tls_conf_free(M.conf);
    conf_free(M.conf);
    free(M.kids);
    mime_free();
    return 1;
}
