/* Unit tests for shm/: slotmem create/attach/validation, stale replacement, read-only
 * mappings, the robust mutex, cross-process atomics, the scoreboard and segment names.
 * Every segment name carries the test's pid, and every name is unlinked at exit, even when
 * an assertion failed half-way. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "scoreboard.h"
#include "shm_name.h"
#include "slotmem.h"
#include "tap.h"

#define MAX_NAMES 16

static char names[MAX_NAMES][96];
static int n_names;
static pid_t test_pid;

/* Registers a fresh unique name for cleanup. */
static const char *new_name(const char *what)
{
    if (n_names >= MAX_NAMES)
        abort();
    snprintf(names[n_names], sizeof(names[0]), "/portico-test.%ld.%s", (long)getpid(), what);
    return names[n_names++];
}

static void cleanup(void)
{
    /* Forked children leave through _exit(), but be sure only the parent unlinks. */
    if (getpid() != test_pid)
        return;
    for (int i = 0; i < n_names; i++)
        shm_unlink(names[i]);
}

static void on_signal(int sig)
{
    /* shm_unlink and _exit are async-signal-safe; exit() and stdio are not. */
    (void)sig;
    if (getpid() == test_pid)
        for (int i = 0; i < n_names; i++)
            shm_unlink(names[i]);
    _exit(1);
}

struct test_slot {
    _Atomic uint64_t counter;
    uint64_t locked_counter; /* plain: only ever changed under the segment lock */
    char text[40];
};

struct test_global {
    _Atomic uint64_t total;
    char label[16];
};

static int wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            return -1;
    }
    return status;
}

static void test_names(void)
{
    char a[96], b[96], c[96], small[20];

    is_int(shm_name_for("a", "scoreboard", a, sizeof(a)), 0, "shm_name_for succeeds");
    /* FNV-1a 64 of "a" is the published test vector af63dc4c8601ec8c. */
    is_str(a, "/portico.af63dc4c8601ec8c.scoreboard", "FNV-1a 64 test vector");
    is_int(shm_name_for("", "x", b, sizeof(b)), 0, "empty pid file hashes");
    is_str(b, "/portico.cbf29ce484222325.x", "FNV-1a 64 of empty string is the offset basis");
    shm_name_for("/run/portico.pid", "scoreboard", a, sizeof(a));
    shm_name_for("/run/portico.pid", "scoreboard", b, sizeof(b));
    is_str(a, b, "same pid file gives the same name");
    shm_name_for("/run/portico2.pid", "scoreboard", c, sizeof(c));
    ok(strcmp(a, c) != 0, "different pid files give different names");
    int good = strncmp(a, "/portico.", 9) == 0 && strlen(a) == 9 + 16 + 1 + strlen("scoreboard");
    for (int i = 9; good && i < 25; i++)
        good = (a[i] >= '0' && a[i] <= '9') || (a[i] >= 'a' && a[i] <= 'f');
    ok(good && a[25] == '.', "format is /portico.<16 lowercase hex>.<kind>: %s", a);
    is_int(shm_name_for("/run/portico.pid", "scoreboard", small, sizeof(small)), -1,
           "too small a buffer fails");
    is_int(shm_name_for("/run/portico.pid", "a/b", c, sizeof(c)), -1, "slash in kind refused");
}

static void test_create_attach(void)
{
    const char *name = new_name("basic");
    char err[256] = "";
    struct slotmem sm, at;
    int replaced = -1;

    is_int(slotmem_create(&sm, name, "test", 3, sizeof(struct test_global),
                          sizeof(struct test_slot), 5, &replaced, err, sizeof(err)),
           0, "create: %s", err);
    is_int(replaced, 0, "fresh segment is not a replacement");
    is_int(slotmem_count(&sm), 5, "slot count");
    ok(sm.hdr->magic == SLOTMEM_MAGIC, "magic written");
    is_str(sm.hdr->kind, "test", "kind written");
    is_int(sm.hdr->creator_pid, getpid(), "creator pid");
    ok(sm.hdr->created > 0, "creation time set");
    is_int(sm.hdr->total_size, sm.map_size, "total size matches mapping");
    ok(((uintptr_t)slotmem_global(&sm) % 64) == 0, "global area 64-byte aligned");
    int aligned = 1;
    for (unsigned i = 0; i < 5; i++)
        aligned &= ((uintptr_t)slotmem_slot(&sm, i) % 64) == 0;
    ok(aligned, "every slot 64-byte aligned");
    ok(slotmem_slot(&sm, 5) == NULL, "slot out of range is NULL");
    struct test_slot *s0 = slotmem_slot(&sm, 0), *s4 = slotmem_slot(&sm, 4);
    ok(atomic_load(&s4->counter) == 0 && s4->text[0] == '\0', "slots start zeroed");

    atomic_store(&s0->counter, 42);
    snprintf(s4->text, sizeof(s4->text), "hello");
    struct test_global *g = slotmem_global(&sm);
    snprintf(g->label, sizeof(g->label), "glob");

    is_int(slotmem_attach(&at, name, "test", 3, sizeof(struct test_slot), 0, err, sizeof(err)), 0,
           "attach read-write: %s", err);
    struct test_slot *a0 = slotmem_slot(&at, 0), *a4 = slotmem_slot(&at, 4);
    is_int(atomic_load(&a0->counter), 42, "attacher sees creator's counter");
    is_str(a4->text, "hello", "attacher sees creator's text");
    is_str(((struct test_global *)slotmem_global(&at))->label, "glob", "attacher sees globals");
    atomic_fetch_add(&a0->counter, 1);
    is_int(atomic_load(&s0->counter), 43, "creator sees attacher's write");

    is_int(slotmem_set_generation(&sm, 7), 0, "set generation");
    is_int(slotmem_generation(&at), 7, "attacher reads generation");

    slotmem_detach(&at);
    ok(at.hdr == NULL && slotmem_slot(&at, 0) == NULL, "detach clears the handle");
    slotmem_detach(&sm);
    is_int(slotmem_unlink(name), 0, "unlink");
    errno = 0;
    is_int(slotmem_attach(&at, name, "test", 3, sizeof(struct test_slot), 1, err, sizeof(err)), -1,
           "attach after unlink fails");
    is_int(errno, ENOENT, "errno ENOENT");
    ok(strstr(err, "no shared memory segment") && strstr(err, "is portico running?"),
       "clear message: %s", err);
}

static void test_validation(void)
{
    const char *name = new_name("valid");
    char err[256] = "";
    struct slotmem sm, at;

    if (slotmem_create(&sm, name, "test", 3, 0, sizeof(struct test_slot), 4, NULL, err,
                       sizeof(err)) < 0) {
        ok(0, "create for validation: %s", err);
        return;
    }
    ok(1, "create with no global area");
    ok(slotmem_global(&sm) != NULL, "global pointer still valid with size 0");

    is_int(slotmem_attach(&at, name, "balancer", 3, sizeof(struct test_slot), 1, err, sizeof(err)),
           -1, "wrong kind refused");
    ok(strstr(err, "kind") != NULL, "message names the kind: %s", err);
    is_int(slotmem_attach(&at, name, "test", 4, sizeof(struct test_slot), 1, err, sizeof(err)), -1,
           "wrong version refused");
    ok(strstr(err, "version 3, expected 4") != NULL, "message names the version: %s", err);
    is_int(slotmem_attach(&at, name, "test", 3, sizeof(struct test_slot) + 8, 1, err, sizeof(err)),
           -1, "wrong slot size refused");
    ok(strstr(err, "slot size") != NULL, "message names the slot size: %s", err);
    is_int(errno, EPROTO, "mismatch errno is EPROTO");

    /* Truncate the object behind the creator's back, as a foreign process could. */
    int fd = shm_open(name, O_RDWR, 0);
    ok(fd >= 0 && ftruncate(fd, (off_t)(sm.map_size - 64)) == 0, "truncate segment");
    is_int(slotmem_attach(&at, name, "test", 3, sizeof(struct test_slot), 1, err, sizeof(err)), -1,
           "truncated segment refused");
    ok(strstr(err, "truncated") != NULL, "message says truncated: %s", err);
    ok(fd >= 0 && ftruncate(fd, 16) == 0, "truncate below a header");
    is_int(slotmem_attach(&at, name, "test", 3, sizeof(struct test_slot), 1, err, sizeof(err)), -1,
           "segment smaller than a header refused");
    ok(fd >= 0 && ftruncate(fd, (off_t)sm.map_size) == 0, "restore size (zero-filled tail)");
    if (fd >= 0)
        close(fd);
    /* The first 16 bytes survived: header intact except the tail. Corrupt the magic. */
    sm.hdr->magic = 0xdeadbeef;
    is_int(slotmem_attach(&at, name, "test", 3, sizeof(struct test_slot), 1, err, sizeof(err)), -1,
           "bad magic refused");
    ok(strstr(err, "magic") != NULL, "message names the magic: %s", err);

    is_int(slotmem_create(&at, "no-slash", "test", 1, 0, 8, 1, NULL, err, sizeof(err)), -1,
           "name without leading slash refused");
    is_int(slotmem_create(&at, name, "test", 1, 0, 0, 1, NULL, err, sizeof(err)), -1,
           "zero slot size refused");
    slotmem_detach(&sm);
    slotmem_unlink(name);
}

static void test_stale_and_readonly(void)
{
    const char *name = new_name("stale");
    char err[256] = "";
    struct slotmem sm, ro;
    int replaced = -1;

    if (slotmem_create(&sm, name, "test", 1, 0, sizeof(struct test_slot), 2, &replaced, err,
                       sizeof(err)) < 0) {
        ok(0, "create: %s", err);
        return;
    }
    struct test_slot *s = slotmem_slot(&sm, 1);
    atomic_store(&s->counter, 99);
    /* A crash: the mapping goes away, the name stays. */
    slotmem_detach(&sm);

    is_int(slotmem_create(&sm, name, "test", 1, 0, sizeof(struct test_slot), 3, &replaced, err,
                          sizeof(err)),
           0, "create over a stale segment: %s", err);
    is_int(replaced, 1, "replaced reported");
    is_int(sm.replaced, 1, "replaced recorded in the handle");
    is_int(slotmem_count(&sm), 3, "new layout in effect");
    s = slotmem_slot(&sm, 1);
    is_int(atomic_load(&s->counter), 0, "new segment is zeroed");
    atomic_store(&s->counter, 5);

    is_int(slotmem_attach(&ro, name, "test", 1, sizeof(struct test_slot), 1, err, sizeof(err)), 0,
           "read-only attach: %s", err);
    is_int(ro.readonly, 1, "handle marked read-only");
    is_int(atomic_load(&((struct test_slot *)slotmem_slot(&ro, 1))->counter), 5,
           "read-only attacher reads");
    errno = 0;
    is_int(slotmem_lock(&ro), -1, "lock on a read-only mapping refused");
    is_int(errno, EPERM, "errno EPERM");

    /* Writing must fault: do it in a child so the fault is contained. ASan turns the
     * SIGSEGV into exit(1); either way the child must not exit 0. */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Keep ASan's report of the expected fault out of the test log. */
        int nul = open("/dev/null", O_WRONLY);
        if (nul >= 0)
            dup2(nul, STDERR_FILENO);
        struct test_slot *w = slotmem_slot(&ro, 1);
        *(volatile uint64_t *)&w->locked_counter = 1;
        _exit(0);
    }
    int status = pid > 0 ? wait_child(pid) : -1;
    ok(status != -1 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0),
       "write through a read-only mapping faults");

    slotmem_detach(&ro);
    slotmem_detach(&sm);
    slotmem_unlink(name);
}

static void test_robust_mutex(void)
{
    const char *name = new_name("robust");
    char err[256] = "";
    struct slotmem sm;

    if (slotmem_create(&sm, name, "test", 1, 0, sizeof(struct test_slot), 1, NULL, err,
                       sizeof(err)) < 0) {
        ok(0, "create: %s", err);
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        /* Die holding the lock. */
        _exit(slotmem_lock(&sm) == 0 ? 0 : 1);
    }
    int status = pid > 0 ? wait_child(pid) : -1;
    ok(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "child locked and died holding the lock");
    is_int(slotmem_lock(&sm), 0, "parent recovers the lock of a dead owner");
    slotmem_unlock(&sm);
    is_int(slotmem_lock(&sm), 0, "lock usable again after recovery");
    slotmem_unlock(&sm);

    slotmem_detach(&sm);
    slotmem_unlink(name);
}

#define CHILDREN   6
#define INCREMENTS 20000

static void test_concurrency(void)
{
    const char *name = new_name("atomic");
    char err[256] = "";
    struct slotmem sm;
    pid_t pids[CHILDREN];

    if (slotmem_create(&sm, name, "test", 1, sizeof(struct test_global), sizeof(struct test_slot),
                       2, NULL, err, sizeof(err)) < 0) {
        ok(0, "create: %s", err);
        return;
    }
    fflush(stdout);
    for (int c = 0; c < CHILDREN; c++) {
        pids[c] = fork();
        if (pids[c] == 0) {
            /* Half use the inherited mapping, half attach on their own, as tools and
             * workers do. */
            struct slotmem mine;
            struct slotmem *use = &sm;
            if (c % 2 == 1) {
                char e[256];
                if (slotmem_attach(&mine, name, "test", 1, sizeof(struct test_slot), 0, e,
                                   sizeof(e)) < 0)
                    _exit(2);
                use = &mine;
            }
            struct test_slot *s = slotmem_slot(use, 0);
            struct test_global *g = slotmem_global(use);
            for (int i = 0; i < INCREMENTS; i++) {
                atomic_fetch_add_explicit(&s->counter, 1, memory_order_relaxed);
                atomic_fetch_add_explicit(&g->total, 2, memory_order_relaxed);
                if (i % 10 == 0) {
                    if (slotmem_lock(use) < 0)
                        _exit(3);
                    s->locked_counter++;
                    slotmem_unlock(use);
                }
            }
            _exit(0);
        }
    }
    int all_ok = 1;
    for (int c = 0; c < CHILDREN; c++) {
        int status = pids[c] > 0 ? wait_child(pids[c]) : -1;
        all_ok &= status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    ok(all_ok, "%d children finished", CHILDREN);
    struct test_slot *s = slotmem_slot(&sm, 0);
    struct test_global *g = slotmem_global(&sm);
    is_int(atomic_load(&s->counter), CHILDREN * INCREMENTS, "atomic slot counter exact");
    is_int(atomic_load(&g->total), 2 * CHILDREN * INCREMENTS, "atomic global counter exact");
    is_int(s->locked_counter, CHILDREN * (INCREMENTS / 10), "mutex-protected counter exact");

    slotmem_detach(&sm);
    slotmem_unlink(name);
}

static void test_scoreboard(void)
{
    char pid_file[96], name[96], err[256] = "";
    struct slotmem sb, ro;

    snprintf(pid_file, sizeof(pid_file), "/nonexistent/portico-test.%ld.pid", (long)getpid());
    if (shm_name_for(pid_file, SB_KIND, name, sizeof(name)) < 0 || n_names >= MAX_NAMES) {
        ok(0, "scoreboard name");
        return;
    }
    snprintf(names[n_names++], sizeof(names[0]), "%s", name);

    is_int(scoreboard_attach(&ro, pid_file, err, sizeof(err)), -1, "attach before create fails");
    is_int(errno, ENOENT, "errno ENOENT when no server runs");
    is_int(scoreboard_create(&sb, pid_file, 8, err, sizeof(err)), 0, "scoreboard create: %s", err);
    struct sb_global *g = scoreboard_global(&sb);
    is_int(g->server_limit, 8, "server limit in globals");
    is_int(atomic_load(&g->master_pid), getpid(), "master pid in globals");
    is_int(atomic_load(&scoreboard_slot(&sb, 7)->state), SB_STATE_DEAD, "slots start dead");
    ok(scoreboard_slot(&sb, 8) == NULL, "slot beyond ServerLimit is NULL");

    unsigned idle = 99, busy = 99;
    scoreboard_count(&sb, &idle, &busy);
    ok(idle == 0 && busy == 0, "empty scoreboard counts nothing");

    /* Generation 0: slots 0-1 ready, 2 starting, 3 writing, 4 keep-alive, 5 dead. */
    for (unsigned i = 0; i < 5; i++)
        scoreboard_slot_init(&sb, scoreboard_slot(&sb, i), 1000 + (pid_t)i, 0);
    is_int(atomic_load(&scoreboard_slot(&sb, 2)->state), SB_STATE_STARTING,
           "slot_init sets STARTING");
    scoreboard_set_state(scoreboard_slot(&sb, 0), SB_STATE_READY);
    scoreboard_set_state(scoreboard_slot(&sb, 1), SB_STATE_READY);
    scoreboard_set_state(scoreboard_slot(&sb, 3), SB_STATE_WRITE);
    scoreboard_set_state(scoreboard_slot(&sb, 4), SB_STATE_KEEPALIVE);
    ok(atomic_load(&scoreboard_slot(&sb, 3)->last_used_ms) > 1600000000000LL,
       "set_state stamps realtime ms");
    scoreboard_count(&sb, &idle, &busy);
    is_int(idle, 3, "idle = READY + STARTING");
    is_int(busy, 2, "busy = W + K");

    /* Graceful restart: old workers no longer count. */
    is_int(scoreboard_bump_generation(&sb), 1, "bump generation returns 1");
    is_int(slotmem_generation(&sb), 1, "header generation follows");
    scoreboard_count(&sb, &idle, &busy);
    ok(idle == 0 && busy == 0, "old-generation slots not counted");
    scoreboard_slot_init(&sb, scoreboard_slot(&sb, 6), 2006, 1);
    scoreboard_set_state(scoreboard_slot(&sb, 6), SB_STATE_READY);
    scoreboard_slot_init(&sb, scoreboard_slot(&sb, 7), 2007, 1);
    scoreboard_set_state(scoreboard_slot(&sb, 7), SB_STATE_GRACEFUL);
    scoreboard_count(&sb, &idle, &busy);
    ok(idle == 1 && busy == 1, "new-generation READY idle, G busy");
    scoreboard_slot_clear(scoreboard_slot(&sb, 6));
    scoreboard_count(&sb, &idle, &busy);
    is_int(idle, 0, "cleared slot not counted");

    /* Totals survive slot reuse. */
    struct sb_worker_slot *w = scoreboard_slot(&sb, 6);
    atomic_store(&w->requests, 10);
    atomic_store(&w->bytes, 1000);
    scoreboard_slot_init(&sb, w, 3006, 1);
    is_int(atomic_load(&w->requests), 0, "reused slot starts at zero");
    is_int(atomic_load(&g->gone_requests), 10, "old requests folded into globals");
    is_int(atomic_load(&g->gone_bytes), 1000, "old bytes folded into globals");

    /* Text helpers. */
    char out[256];
    scoreboard_set_text(w->request, sizeof(w->request), "GET /index.html HTTP/1.1");
    scoreboard_get_text(out, sizeof(out), w->request, sizeof(w->request));
    is_str(out, "GET /index.html HTTP/1.1", "text round trip");
    char longv[300];
    memset(longv, 'x', sizeof(longv) - 1);
    longv[sizeof(longv) - 1] = '\0';
    scoreboard_set_text(w->client, sizeof(w->client), longv);
    is_int(strlen(w->client), sizeof(w->client) - 1, "set_text truncates to the field");
    scoreboard_set_text(w->vhost, sizeof(w->vhost), "a\033[2Jb\tc\xc3\xa9");
    scoreboard_get_text(out, sizeof(out), w->vhost, sizeof(w->vhost));
    is_str(out, "a?[2Jb?c??", "get_text masks control and non-ASCII bytes");
    memset(w->request, 'y', sizeof(w->request)); /* a torn, unterminated field */
    scoreboard_get_text(out, sizeof(out), w->request, sizeof(w->request));
    is_int(strlen(out), sizeof(w->request), "unterminated field copied up to its size");
    scoreboard_get_text(out, 5, w->request, sizeof(w->request));
    is_str(out, "yyyy", "get_text truncates to the output");
    scoreboard_set_text(g->server_name, sizeof(g->server_name), "www.example.com");

    is_int(scoreboard_attach(&ro, pid_file, err, sizeof(err)), 0, "scoreboard attach: %s", err);
    is_int(ro.readonly, 1, "scoreboard attach is read-only");
    is_str(scoreboard_global(&ro)->server_name, "www.example.com", "tool sees globals");
    scoreboard_count(&ro, &idle, &busy);
    ok(idle == 1 && busy == 1, "count works on a read-only attachment (S and G)");
    slotmem_detach(&ro);

    /* A second master on the same PidFile after a crash replaces the segment. */
    struct slotmem sb2;
    slotmem_detach(&sb);
    is_int(scoreboard_create(&sb2, pid_file, 4, err, sizeof(err)), 0, "recreate: %s", err);
    is_int(sb2.replaced, 1, "stale scoreboard replaced");
    slotmem_detach(&sb2);
    slotmem_unlink(name);
}

int main(void)
{
    test_pid = getpid();
    atexit(cleanup);
    /* A failed assertion must not leave segments behind: exit through atexit on signals a
     * test run commonly gets (Ctrl-C, the harness's timeout). */
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    setvbuf(stdout, NULL, _IOLBF, 0);

    test_names();
    test_create_attach();
    test_validation();
    test_stale_and_readonly();
    test_robust_mutex();
    test_concurrency();
    test_scoreboard();
    return tap_done();
}
