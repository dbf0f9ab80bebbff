/* RewriteMap prg: one long-lived program per map, started by the master before it forks the
 * workers, fed "key\n" on its stdin and answering one line on its stdout. Every worker talks
 * to the same program through pipes it inherited, serialised by one process-shared robust
 * mutex (httpd's global "rewrite-map" mutex).
 *
 * The protocol has no request ids, so the hard part is staying in step with the program when
 * something goes wrong: a worker that gives up waiting (Timeout), a worker killed while it
 * held the lock, a program that dies and is restarted. The shared page records, per program,
 * how many answers are still due to lookups that gave up ("owed": that many lines are skipped
 * before the next answer is taken) and how far the current holder got, so the next holder can
 * repair the stream. When the master restarts a program it empties both pipes and bumps the
 * generation, which cancels every debt. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "conf_registry.h"
#include "conn.h"
#include "log.h"
#include "rewrite_map_impl.h"
#include "util.h"

/* A program that dies this soon after its start, this many times in a row, is left dead
 * (one that cannot start must not make the master fork in a loop). */
#define PRG_QUICK_DEATH_MS   1000
#define PRG_MAX_QUICK_DEATHS 5
/* How often a waiting worker looks whether the program was restarted under it. */
#define PRG_POLL_SLICE_MS     200
#define PRG_DEFAULT_TIMEOUT_S 60
/* Longest answer taken (httpd has no bound): a program that writes without end must not make
 * a worker grow until Timeout. A longer line answers not-found; its rest is skipped. */
#define PRG_ANSWER_MAX (256 * 1024)

struct prg_state;

/* m->priv: what RewriteMap said, plus where the runtime put the program. */
struct prg_def {
    char *cmdline; /* the command as given to /bin/sh -c */
    char *dir;     /* httpd runs the program in its own directory; NULL = found via PATH */
    char *user;    /* third argument, NULL = the user that started portico */
    uid_t uid;
    gid_t gid;
    struct prg_state *st; /* set by rewrite_maps_start, inherited by the workers */
    int slot;             /* index in st, -1 = not started (RewriteEngine Off) */
};

/* Shared between the master and every worker. pid and gen are written by the master
 * (which never takes the lock, so it can never block on a worker); the rest only under
 * the lock. */
struct prg_slot {
    _Atomic int pid;      /* 0 = not running */
    _Atomic unsigned gen; /* bumped at every (re)start */
    unsigned owed_gen;    /* the generation owed was counted in */
    int owed;             /* answer lines due to lookups that gave up: skipped */
    size_t wlen, wpos;    /* the holder's key write: total and written so far */
    int reading;          /* key fully written, answer not consumed yet */
};

struct prg_shared {
    pthread_mutex_t lock;
    struct prg_slot slot[];
};

struct prg_proc {
    const struct rewrite_map *m;
    struct prg_def *def;
    int to_rd, to_wr;     /* key pipe: the program reads to_rd, workers write to_wr */
    int from_rd, from_wr; /* answer pipe: the program writes from_wr, workers read from_rd */
    int errfd;            /* the program's stderr: an ErrorLog fd (not ours to close) */
    pid_t pid;
    int64_t started_ms;
    int quick_deaths;
};

struct prg_state {
    struct prg_shared *shm;
    size_t shm_len;
    int stopped;
    unsigned n;
    struct prg_proc proc[];
};

/* ---- load time ---- */

static int is_executable(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Whether path names an executable through $PATH (the shell will look it up the same way). */
static int in_path(const char *name)
{
    const char *path = getenv("PATH");
    if (path == NULL || *path == '\0')
        path = "/usr/local/bin:/usr/bin:/bin";
    char buf[4096];
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t n = e != NULL ? (size_t)(e - p) : strlen(p);
        if (n > 0 && (size_t)snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p, name) < sizeof(buf) &&
            is_executable(buf))
            return 1;
        p += n;
        if (*p == ':')
            p++;
    }
    return 0;
}

/* The shell would otherwise stay between the master and the program: with "exec" the pid
 * the master watches and signals is the program's. Only for plain command lines, where
 * "exec" cannot change the meaning. */
static int plain_command(const char *s)
{
    return strpbrk(s, ";&|<>()$`\\\"'*?[]#~=%{}\n") == NULL;
}

const char *rwmap_prg_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *cmdline,
                             const char *arg3)
{
    while (*cmdline == ' ' || *cmdline == '\t')
        cmdline++;
    if (*cmdline == '\0')
        return conf_errf(cmd, "RewriteMap %s: prg: needs a program", m->name);
    size_t toklen = strcspn(cmdline, " \t");
    char *prog = arena_strndup(cmd->arena, cmdline, toklen);
    const char *rest = cmdline + toklen;
    /* httpd checks the program exists at load ("file for map not found"); a relative path
     * with a directory part is ServerRoot-relative, as httpd resolves it. */
    if (strchr(prog, '/') != NULL) {
        char *abs = conf_server_path(cmd, prog);
        struct stat st;
        if (stat(abs, &st) < 0 || !S_ISREG(st.st_mode))
            return conf_errf(cmd, "RewriteMap %s: file for map %s not found", m->name, abs);
        if (!is_executable(abs))
            conf_warn(cmd, "RewriteMap %s: %s is not executable: the program will not start",
                      m->name, abs);
        prog = abs;
    } else if (!in_path(prog)) {
        return conf_errf(cmd, "RewriteMap %s: program %s not found in PATH", m->name, prog);
    }
    struct prg_def *d = arena_calloc(cmd->arena, 1, sizeof(*d));
    char *full = arena_printf(cmd->arena, "%s%s", prog, rest);
    if (d == NULL || full == NULL)
        return "out of memory";
    d->cmdline = plain_command(full) ? arena_printf(cmd->arena, "exec %s", full) : full;
    if (strchr(prog, '/') != NULL)
        d->dir = arena_strndup(cmd->arena, prog, (size_t)(strrchr(prog, '/') - prog) + 1);
    d->slot = -1;
    d->uid = (uid_t)-1;
    d->gid = (gid_t)-1;
    if (arg3 != NULL && *arg3 != '\0') {
        const char *colon = strchr(arg3, ':');
        char *uname = colon != NULL ? arena_strndup(cmd->arena, arg3, (size_t)(colon - arg3))
                                    : arena_strdup(cmd->arena, arg3);
        struct passwd *pw = getpwnam(uname);
        if (pw == NULL)
            return conf_errf(cmd, "RewriteMap %s: unknown user '%s' (third argument is user:group)",
                             m->name, uname);
        d->user = uname;
        d->uid = pw->pw_uid;
        d->gid = pw->pw_gid;
        if (colon != NULL && colon[1] != '\0') {
            struct group *gr = getgrnam(colon + 1);
            if (gr == NULL)
                return conf_errf(cmd, "RewriteMap %s: unknown group '%s'", m->name, colon + 1);
            d->gid = gr->gr_gid;
        }
    }
    m->priv = d;
    return NULL;
}

int rewrite_maps_have_prg(const struct conf *c)
{
    for (const struct rewrite_map *m = c != NULL ? c->rewrite_maps : NULL; m; m = m->next_global)
        if (m->type == RWM_PRG)
            return 1;
    return 0;
}

/* ---- the master ---- */

static int engine_on(const struct conf *c, const struct conf_server *s)
{
    const struct rewrite_conf *rc = s->rewrite;
    if (rc != NULL && (rc->eff_engine == 1 || rc->engine == 1))
        return 1;
    /* A vhost that never said RewriteEngine has the main server's state (httpd's merge). */
    if (s != c->main && (rc == NULL || rc->engine == CONF_UNSET) && c->main->rewrite != NULL)
        return c->main->rewrite->engine == 1;
    return 0;
}

/* httpd starts the programs of the maps each server with RewriteEngine On can see. */
static void mark_wanted(const struct conf *c, const struct conf_server *s, char *want)
{
    const struct rewrite_conf *rc = s->rewrite;
    if (rc == NULL || !engine_on(c, s))
        return;
    if (rc->n_eff_maps > 0) {
        for (int i = 0; i < rc->n_eff_maps; i++)
            if (rc->eff_maps[i]->type == RWM_PRG)
                want[rc->eff_maps[i]->index] = 1;
    } else {
        for (const struct rewrite_map *m = rc->maps; m; m = m->next)
            if (m->type == RWM_PRG)
                want[m->index] = 1;
    }
}

static void fd_onto(int fd, int target)
{
    if (fd == target)
        fcntl(fd, F_SETFD, 0);
    else if (dup2(fd, target) < 0)
        _exit(127);
}

static int prg_spawn(struct prg_state *st, struct prg_proc *p)
{
    pid_t pid = fork();
    if (pid < 0) {
        log_msg(MOD_REWRITE, LL_ERROR, errno, NULL, "RewriteMap %s: cannot start program",
                p->m->name);
        return -1;
    }
    if (pid == 0) {
        /* exec() keeps the master's ignored signals and blocked mask: reset them. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        static const int sigs[] = {SIGPIPE, SIGCHLD, SIGHUP,  SIGTERM, SIGINT,
                                   SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            signal(sigs[i], SIG_DFL);
        int errfd = p->errfd;
        if (errfd < 0)
            errfd = open("/dev/null", O_WRONLY);
        /* Moved above the standard descriptors first, so no dup2 clobbers another source. */
        int in = fcntl(p->to_rd, F_DUPFD, 3), out = fcntl(p->from_wr, F_DUPFD, 3);
        int err = errfd >= 0 ? fcntl(errfd, F_DUPFD, 3) : -1;
        if (in < 0 || out < 0)
            _exit(127);
        fd_onto(in, STDIN_FILENO);
        fd_onto(out, STDOUT_FILENO);
        if (err >= 0)
            fd_onto(err, STDERR_FILENO);
        /* Listeners, logs, the scoreboard and other programs' pipes: none is the program's.
         * Most are CLOEXEC already; close_range covers any that is not (ENOSYS before
         * Linux 5.9: the slow way). */
        if (close_range(3, ~0u, 0) != 0) {
            long max = sysconf(_SC_OPEN_MAX);
            for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); fd++)
                close(fd);
        }
        if (p->def->dir != NULL && chdir(p->def->dir) != 0) {
            static const char msg[] = "portico: RewriteMap program: cannot chdir to its "
                                      "directory\n";
            ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
            (void)w;
        }
        if (p->def->user != NULL && geteuid() == 0) {
            if (setgid(p->def->gid) < 0 || initgroups(p->def->user, p->def->gid) < 0 ||
                setuid(p->def->uid) < 0) {
                /* The master is single-threaded: snprintf is safe after this fork. */
                char msg[512];
                int n = snprintf(msg, sizeof(msg),
                                 "portico: RewriteMap %s: cannot run the program as %s "
                                 "(uid %ld, gid %ld): %s\n",
                                 p->m->name, p->def->user, (long)p->def->uid, (long)p->def->gid,
                                 strerror(errno));
                ssize_t w = write(STDERR_FILENO, msg,
                                  n > 0 && (size_t)n < sizeof(msg) ? (size_t)n : sizeof(msg) - 1);
                (void)w;
                _exit(127);
            }
        }
        execl("/bin/sh", "sh", "-c", p->def->cmdline, (char *)NULL);
        _exit(127);
    }
    p->pid = pid;
    p->started_ms = util_now_ms();
    struct prg_slot *sl = &st->shm->slot[p->def->slot];
    atomic_fetch_add(&sl->gen, 1u);
    atomic_store(&sl->pid, (int)pid);
    return 0;
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

int rewrite_maps_start(struct conf *c, int errlog_fd, char *err, size_t errlen)
{
    if (c == NULL || c->rewrite_prg != NULL || !rewrite_maps_have_prg(c))
        return 0;
    char *want = arena_calloc(c->arena, c->n_rewrite_maps + 1, 1);
    if (want == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    for (const struct conf_server *s = c->main; s; s = s == c->main ? c->vhosts : s->next)
        mark_wanted(c, s, want);
    unsigned n = 0;
    for (const struct rewrite_map *m = c->rewrite_maps; m; m = m->next_global)
        if (m->type == RWM_PRG && m->index < c->n_rewrite_maps && want[m->index] && m->priv)
            n++;
    if (n == 0)
        return 0; /* RewriteEngine Off wherever the maps are: httpd starts nothing either */

    struct prg_state *st = arena_calloc(c->arena, 1, sizeof(*st) + n * sizeof(struct prg_proc));
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    st->shm_len = sizeof(struct prg_shared) + n * sizeof(struct prg_slot);
    void *page = mmap(NULL, st->shm_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (page == MAP_FAILED) {
        snprintf(err, errlen, "RewriteMap: cannot map the rewrite-map lock: %s", strerror(errno));
        return -1;
    }
    memset(page, 0, st->shm_len);
    st->shm = page;
    pthread_mutexattr_t ma;
    pthread_mutexattr_init(&ma);
    pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
    pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
    int rc = pthread_mutex_init(&st->shm->lock, &ma);
    pthread_mutexattr_destroy(&ma);
    if (rc != 0) {
        snprintf(err, errlen, "RewriteMap: cannot create the rewrite-map lock: %s", strerror(rc));
        munmap(page, st->shm_len);
        return -1;
    }
    c->rewrite_prg = st;

    for (const struct rewrite_map *m = c->rewrite_maps; m; m = m->next_global) {
        if (m->type != RWM_PRG || m->index >= c->n_rewrite_maps || !want[m->index] || !m->priv)
            continue;
        struct prg_proc *p = &st->proc[st->n];
        struct prg_def *d = m->priv;
        int kp[2], ap[2];
        p->to_rd = p->to_wr = p->from_rd = p->from_wr = -1;
        if (pipe2(kp, O_CLOEXEC) < 0 || pipe2(ap, O_CLOEXEC) < 0) {
            snprintf(err, errlen, "RewriteMap %s: cannot create pipes: %s", m->name,
                     strerror(errno));
            goto fail;
        }
        p->to_rd = kp[0], p->to_wr = kp[1], p->from_rd = ap[0], p->from_wr = ap[1];
        /* Only the workers' ends: a worker must never block on a program that stopped
         * reading or answering; the program keeps ordinary blocking descriptors. */
        fcntl(p->to_wr, F_SETFL, fcntl(p->to_wr, F_GETFL) | O_NONBLOCK);
        fcntl(p->from_rd, F_SETFL, fcntl(p->from_rd, F_GETFL) | O_NONBLOCK);
        p->m = m;
        p->def = d;
        p->errfd =
            m->server != NULL && m->server->error_log_fd >= 0 ? m->server->error_log_fd : errlog_fd;
        d->st = st;
        d->slot = (int)st->n;
        st->n++;
        if (d->user == NULL && geteuid() == 0)
            log_msg(MOD_REWRITE, LL_NOTICE, 0, NULL,
                    "RewriteMap %s: the program runs as root, as httpd runs it (give user:group "
                    "as the third argument to run it as someone else)",
                    m->name);
        if (d->user != NULL && geteuid() != 0)
            log_msg(MOD_REWRITE, LL_WARN, 0, NULL,
                    "RewriteMap %s: not started as root, the program runs as the current user "
                    "instead of %s",
                    m->name, d->user);
        if (prg_spawn(st, p) < 0) {
            snprintf(err, errlen, "RewriteMap %s: cannot start %s: %s", m->name, d->cmdline,
                     strerror(errno));
            goto fail;
        }
    }
    return 0;
fail:
    rewrite_maps_stop(c);
    return -1;
}

/* Empties a pipe the master holds a read end of (the program is dead, no one else reads
 * the key pipe; workers may be reading the answer pipe, which the generation bump covers). */
static void drain_fd(int fd)
{
    char buf[4096];
    for (int i = 0; i < 1024; i++) {
        struct pollfd pf = {fd, POLLIN, 0};
        if (poll(&pf, 1, 0) <= 0 || !(pf.revents & POLLIN))
            return;
        if (read(fd, buf, sizeof(buf)) <= 0)
            return;
    }
}

int rewrite_maps_reap(struct conf *c, pid_t pid, int status)
{
    struct prg_state *st = c != NULL ? c->rewrite_prg : NULL;
    if (st == NULL || pid <= 0)
        return 0;
    struct prg_proc *p = NULL;
    for (unsigned i = 0; i < st->n; i++)
        if (st->proc[i].pid == pid)
            p = &st->proc[i];
    if (p == NULL)
        return 0;
    p->pid = 0;
    if (st->stopped)
        return 1; /* the page is gone; the programs were told to stop */
    struct prg_slot *sl = &st->shm->slot[p->def->slot];
    atomic_store(&sl->pid, 0);
    char how[64];
    if (WIFSIGNALED(status))
        snprintf(how, sizeof(how), "was killed by signal %d", WTERMSIG(status));
    else
        snprintf(how, sizeof(how), "exited with status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
    int64_t now = util_now_ms();
    p->quick_deaths = now - p->started_ms < PRG_QUICK_DEATH_MS ? p->quick_deaths + 1 : 0;
    if (p->quick_deaths >= PRG_MAX_QUICK_DEATHS) {
        log_msg(MOD_REWRITE, LL_ALERT, 0, NULL,
                "RewriteMap %s: program %ld %s; it died %d times within a second of its start, "
                "not restarting it (lookups answer not-found until the next restart)",
                p->m->name, (long)pid, how, p->quick_deaths);
        return 1;
    }
    /* Keys the dead program never read and answers no one took would put the new one out
     * of step: start it on empty pipes and cancel the debts (generation bump in spawn). */
    drain_fd(p->to_rd);
    drain_fd(p->from_rd);
    prg_spawn(st, p);
    log_msg(MOD_REWRITE, LL_ERROR, 0, NULL,
            "RewriteMap %s: program %ld (%s) %s, restarting it (new pid %ld)", p->m->name,
            (long)pid, p->def->cmdline, how, (long)p->pid);
    return 1;
}

static void stop_programs(struct conf *c, int term)
{
    struct prg_state *st = c != NULL ? c->rewrite_prg : NULL;
    if (st == NULL || st->stopped)
        return;
    st->stopped = 1;
    for (unsigned i = 0; i < st->n; i++) {
        struct prg_proc *p = &st->proc[i];
        close_fd(&p->to_rd);
        close_fd(&p->to_wr);
        close_fd(&p->from_rd);
        close_fd(&p->from_wr);
        if (p->pid > 0 && term)
            kill(p->pid, SIGTERM);
    }
    /* Workers still running keep their own mapping of the page. */
    if (st->shm != NULL)
        munmap(st->shm, st->shm_len);
    st->shm = NULL;
}

void rewrite_maps_stop(struct conf *c)
{
    stop_programs(c, 1);
}

void rewrite_maps_release(struct conf *c)
{
    stop_programs(c, 0);
}

/* ---- the workers ---- */

void rwmap_prg_child_init(const struct conf *c)
{
    struct prg_state *st = c != NULL ? c->rewrite_prg : NULL;
    if (st == NULL)
        return;
    /* A worker holding the program's ends would keep a dead program's pipes half alive. */
    for (unsigned i = 0; i < st->n; i++) {
        close_fd(&st->proc[i].to_rd);
        close_fd(&st->proc[i].from_wr);
    }
}

static int lookup_timeout_ms(const struct request *r, const struct rewrite_map *m)
{
    int t = r != NULL && r->srv != NULL ? r->srv->timeout : CONF_UNSET;
    if (t <= 0 && m->server != NULL)
        t = m->server->timeout;
    if (t <= 0)
        t = PRG_DEFAULT_TIMEOUT_S;
    return t > 3600 ? 3600 * 1000 : t * 1000;
}

/* Drops what the program already wrote before our key goes out: answers owed to lookups
 * that gave up, or stray output. Never waits. */
static void drain_ready(int fd, struct prg_slot *sl)
{
    char buf[4096];
    for (int i = 0; i < 1024; i++) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            return;
        for (ssize_t k = 0; k < n; k++)
            if (buf[k] == '\n' && sl->owed > 0)
                sl->owed--;
    }
}

/* Repairs what the previous holder left: a key cut short (terminate it, its answer is
 * owed) or an answer it never read (owed). Returns -1 when the program does not even take
 * one byte (it stopped reading). */
static int repair_slot(int wfd, struct prg_slot *sl)
{
    if (sl->wpos > 0 && sl->wpos < sl->wlen) {
        if (write(wfd, "\n", 1) != 1)
            return -1;
        sl->owed++;
    } else if (sl->reading) {
        sl->owed++;
    }
    sl->wpos = sl->wlen = 0;
    sl->reading = 0;
    return 0;
}

static const char *client_of(const struct request *r)
{
    return r != NULL && r->c != NULL ? r->c->client_addr : NULL;
}

const char *rwmap_prg_lookup(struct request *r, const struct rewrite_map *m, const char *key)
{
    struct prg_def *d = m->priv;
    /* A newline would put the program out of step with every later lookup. */
    if (key == NULL || strchr(key, '\n') != NULL)
        return NULL;
    if (d == NULL || d->st == NULL || d->slot < 0 || d->st->shm == NULL) {
        log_msg(MOD_REWRITE, LL_DEBUG, 0, client_of(r),
                "RewriteMap %s: program not started (RewriteEngine Off in its server)", m->name);
        return NULL;
    }
    struct prg_state *st = d->st;
    struct prg_proc *p = &st->proc[d->slot];
    struct prg_slot *sl = &st->shm->slot[d->slot];
    if (atomic_load(&sl->pid) == 0) {
        log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r), "RewriteMap %s: program is not running",
                m->name);
        return NULL;
    }
    int tmo = lookup_timeout_ms(r, m);
    int64_t deadline = util_now_ms() + tmo;
    /* Monotonic: a clock step must not stretch or cut the wait for the lock. */
    struct timespec abs;
    clock_gettime(CLOCK_MONOTONIC, &abs);
    abs.tv_sec += tmo / 1000;
    abs.tv_nsec += (long)(tmo % 1000) * 1000000L;
    if (abs.tv_nsec >= 1000000000L) {
        abs.tv_sec++;
        abs.tv_nsec -= 1000000000L;
    }
    int rc = pthread_mutex_clocklock(&st->shm->lock, CLOCK_MONOTONIC, &abs);
    if (rc == EOWNERDEAD) {
        /* Its slot's wpos/reading say what it left in the pipes; repaired below (or at that
         * map's next lookup). */
        log_msg(MOD_REWRITE, LL_WARN, 0, client_of(r),
                "RewriteMap: a process died holding the rewrite-map lock; recovering");
        pthread_mutex_consistent(&st->shm->lock);
    } else if (rc != 0) {
        log_msg(MOD_REWRITE, LL_ERROR, rc, client_of(r),
                "RewriteMap %s: could not get the rewrite-map lock within %d s", m->name,
                tmo / 1000);
        return NULL;
    }

    const char *result = NULL;
    unsigned gen = atomic_load(&sl->gen);
    if (sl->owed_gen != gen) {
        /* Restarted since the debts were counted: the master emptied both pipes. */
        sl->owed_gen = gen;
        sl->owed = 0;
        sl->wpos = sl->wlen = 0;
        sl->reading = 0;
    }
    if (repair_slot(p->to_wr, sl) < 0) {
        log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                "RewriteMap %s: program does not read its input", m->name);
        goto out;
    }
    int retried = 0;
again:
    drain_ready(p->from_rd, sl);

    size_t klen = strlen(key);
    char *msg = arena_alloc(r->arena, klen + 1);
    if (msg == NULL)
        goto out;
    memcpy(msg, key, klen);
    msg[klen] = '\n';
    sl->wlen = klen + 1;
    sl->wpos = 0;
    while (sl->wpos < sl->wlen) {
        ssize_t w = write(p->to_wr, msg + sl->wpos, sl->wlen - sl->wpos);
        if (w > 0) {
            sl->wpos += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno != EAGAIN) {
            log_msg(MOD_REWRITE, LL_ERROR, errno, client_of(r),
                    "RewriteMap %s: cannot write to the program", m->name);
            goto out; /* a partial key is repaired by the next holder */
        }
        int64_t left = deadline - util_now_ms();
        if (left <= 0) {
            log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                    "RewriteMap %s: program did not take the key within %d s", m->name, tmo / 1000);
            goto out;
        }
        struct pollfd pf = {p->to_wr, POLLOUT, 0};
        poll(&pf, 1, (int)(left < PRG_POLL_SLICE_MS ? left : PRG_POLL_SLICE_MS));
        if (atomic_load(&sl->gen) != gen)
            goto restarted;
    }
    sl->wpos = sl->wlen = 0;
    sl->reading = 1;

    /* Read lines: the first `owed` belong to lookups that gave up, the next is ours. */
    size_t cap = 128, len = 0;
    char *line = arena_alloc(r->arena, cap);
    if (line == NULL)
        goto out;
    int done = 0, toolong = 0;
    while (!done) {
        char buf[4096];
        ssize_t n = read(p->from_rd, buf, sizeof(buf));
        if (n > 0) {
            for (ssize_t k = 0; k < n && !done; k++) {
                if (sl->owed > 0) {
                    if (buf[k] == '\n')
                        sl->owed--;
                    continue;
                }
                if (buf[k] == '\n') {
                    /* At once: a holder killed after this point owes nothing, and one
                     * counted as owing would make the next holder skip its own answer. */
                    sl->reading = 0;
                    done = 1;
                    break;
                }
                if (len >= PRG_ANSWER_MAX) {
                    /* Read on to the newline without keeping anything (the line is ours
                     * to consume); at Timeout, reading stays set and the next holder skips
                     * the rest. */
                    toolong = 1;
                    continue;
                }
                if (len + 1 >= cap) {
                    char *bigger = arena_alloc(r->arena, cap * 2);
                    if (bigger == NULL)
                        goto out;
                    memcpy(bigger, line, len);
                    line = bigger;
                    cap *= 2;
                }
                line[len++] = buf[k];
            }
            /* A program that never stops writing never leaves read() idle: the deadline
             * is checked here too. */
            if (!done && util_now_ms() >= deadline)
                goto timeout;
            continue;
        }
        if (n == 0) {
            log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                    "RewriteMap %s: program closed its output", m->name);
            goto out;
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN) {
            log_msg(MOD_REWRITE, LL_ERROR, errno, client_of(r),
                    "RewriteMap %s: cannot read from the program", m->name);
            goto out;
        }
        int64_t left = deadline - util_now_ms();
        if (left <= 0)
            goto timeout;
        struct pollfd pf = {p->from_rd, POLLIN, 0};
        poll(&pf, 1, (int)(left < PRG_POLL_SLICE_MS ? left : PRG_POLL_SLICE_MS));
        if (atomic_load(&sl->gen) != gen)
            goto restarted;
    }
    sl->reading = 0;
    if (toolong) {
        log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                "RewriteMap %s: answer longer than %d bytes, taken as not found", m->name,
                PRG_ANSWER_MAX);
        goto out;
    }
    if (len > 0 && line[len - 1] == '\r')
        len--;
    line[len] = '\0';
    if (len == 0 || (len == 4 && strcasecmp(line, "NULL") == 0))
        result = NULL;
    else
        result = line;
    goto out;
timeout:
    log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
            "RewriteMap %s: no answer from the program within %d s (Timeout)", m->name, tmo / 1000);
    goto out; /* reading stays set: the next holder counts the answer as owed */
restarted:
    /* The master emptied the pipes for the new program: ask it once more. */
    if (!retried && util_now_ms() < deadline) {
        retried = 1;
        gen = atomic_load(&sl->gen);
        sl->owed_gen = gen;
        sl->owed = 0;
        sl->wpos = sl->wlen = 0;
        sl->reading = 0;
        goto again;
    }
    log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
            "RewriteMap %s: program was restarted during the lookup", m->name);
out:
    pthread_mutex_unlock(&st->shm->lock);
    return result;
}
