/* The scoreboard: what every worker process is doing, readable by the master (spare-server
 * logic), by the server-status handler and by portico-status.
 *
 * Each slot has one writer at a time: the master while the slot is free (init at fork,
 * clear at reap) and the worker while it runs. Numbers are atomics so readers never see a
 * torn counter; text fields are plain bytes a reader may catch half-written, which is why
 * scoreboard_get_text() bounds and sanitises what it copies. */
#include "config.h"

#include "scoreboard.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "shm_name.h"
#include "util.h"

int64_t scoreboard_now_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) < 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int name_for(const char *pid_file, char *name, size_t len, char *err, size_t errlen)
{
    if (shm_name_for(pid_file, SB_KIND, name, len) < 0) {
        snprintf(err, errlen, "cannot derive a shared memory name from PidFile \"%s\"",
                 pid_file ? pid_file : "(null)");
        return -1;
    }
    return 0;
}

int scoreboard_create(struct slotmem *sm, const char *pid_file, unsigned server_limit, char *err,
                      size_t errlen)
{
    char name[96];

    if (server_limit == 0) {
        snprintf(err, errlen, "scoreboard needs at least one slot");
        errno = EINVAL;
        return -1;
    }
    if (name_for(pid_file, name, sizeof(name), err, errlen) < 0)
        return -1;
    if (slotmem_create(sm, name, SB_KIND, SB_VERSION, sizeof(struct sb_global),
                       sizeof(struct sb_worker_slot), server_limit, NULL, err, errlen) < 0)
        return -1;

    struct sb_global *g = scoreboard_global(sm);
    int64_t now = (int64_t)time(NULL);
    atomic_store(&g->master_pid, (int32_t)getpid());
    atomic_store(&g->generation, 0);
    g->start_time = now;
    atomic_store(&g->restart_time, now);
    g->server_limit = (int32_t)server_limit;
    atomic_store(&g->max_request_workers, (int32_t)server_limit);
    /* Zero is not a state letter: say DEAD explicitly so a reader never prints a NUL. */
    for (unsigned i = 0; i < server_limit; i++)
        atomic_store(&scoreboard_slot(sm, i)->state, SB_STATE_DEAD);
    return 0;
}

int scoreboard_attach(struct slotmem *sm, const char *pid_file, char *err, size_t errlen)
{
    char name[96];

    if (name_for(pid_file, name, sizeof(name), err, errlen) < 0)
        return -1;
    return slotmem_attach(sm, name, SB_KIND, SB_VERSION, sizeof(struct sb_worker_slot), 1, err,
                          errlen);
}

struct sb_global *scoreboard_global(const struct slotmem *sm)
{
    return slotmem_global(sm);
}

struct sb_worker_slot *scoreboard_slot(const struct slotmem *sm, unsigned i)
{
    return slotmem_slot(sm, i);
}

void scoreboard_set_state(struct sb_worker_slot *w, int state)
{
    atomic_store_explicit(&w->state, state, memory_order_relaxed);
    atomic_store_explicit(&w->last_used_ms, scoreboard_now_ms(), memory_order_relaxed);
}

void scoreboard_set_text(char *field, size_t size, const char *value)
{
    if (size == 0)
        return;
    util_strlcpy(field, value != NULL ? value : "", size);
}

void scoreboard_get_text(char *out, size_t outlen, const char *field, size_t size)
{
    if (outlen == 0)
        return;
    /* The writer may be mid-copy and the field may even lack a NUL: copy at most what fits,
     * stop at the first NUL, and show anything unprintable (or non-ASCII) as '?' so a
     * hostile request line cannot put escape sequences on an operator's terminal. */
    size_t n = size < outlen - 1 ? size : outlen - 1;
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)field[i];
        if (c == '\0')
            break;
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[i] = '\0';
}

void scoreboard_slot_init(struct slotmem *sm, struct sb_worker_slot *w, pid_t pid,
                          uint32_t generation)
{
    struct sb_global *g = scoreboard_global(sm);

    /* Hide the slot while it is rewritten. */
    atomic_store(&w->pid, 0);
    if (g != NULL) {
        atomic_fetch_add(&g->gone_requests, atomic_exchange(&w->requests, 0));
        atomic_fetch_add(&g->gone_connections, atomic_exchange(&w->connections, 0));
        atomic_fetch_add(&g->gone_bytes, atomic_exchange(&w->bytes, 0));
    } else {
        atomic_store(&w->requests, 0);
        atomic_store(&w->connections, 0);
        atomic_store(&w->bytes, 0);
    }
    int64_t now = scoreboard_now_ms();
    atomic_store(&w->generation, generation);
    atomic_store(&w->started, now / 1000);
    atomic_store(&w->last_used_ms, now);
    atomic_store(&w->req_start_ms, 0);
    atomic_store(&w->req_time_us, 0);
    w->client[0] = '\0';
    w->vhost[0] = '\0';
    w->request[0] = '\0';
    atomic_store(&w->state, SB_STATE_STARTING);
    /* seq_cst store: everything above is visible before the pid is. */
    atomic_store(&w->pid, (int32_t)pid);
}

void scoreboard_slot_clear(struct sb_worker_slot *w)
{
    atomic_store(&w->pid, 0);
    atomic_store(&w->state, SB_STATE_DEAD);
    atomic_store(&w->last_used_ms, scoreboard_now_ms());
}

uint32_t scoreboard_bump_generation(struct slotmem *sm)
{
    struct sb_global *g = scoreboard_global(sm);
    uint32_t gen = atomic_fetch_add(&g->generation, 1) + 1;
    atomic_store(&g->restart_time, (int64_t)time(NULL));
    /* The header copy is informational (tools print it); failing to lock only leaves it
     * stale, the globals above stay authoritative. */
    (void)slotmem_set_generation(sm, gen);
    return gen;
}

void scoreboard_count(const struct slotmem *sm, unsigned *idle, unsigned *busy)
{
    struct sb_global *g = scoreboard_global(sm);
    unsigned n_idle = 0, n_busy = 0;

    if (g != NULL) {
        uint32_t gen = atomic_load(&g->generation);
        unsigned count = slotmem_count(sm);
        for (unsigned i = 0; i < count; i++) {
            struct sb_worker_slot *w = scoreboard_slot(sm, i);
            if (atomic_load(&w->pid) == 0 || atomic_load(&w->generation) != gen)
                continue;
            switch (atomic_load(&w->state)) {
            case SB_STATE_READY:
            case SB_STATE_STARTING:
                n_idle++;
                break;
            case SB_STATE_READ:
            case SB_STATE_WRITE:
            case SB_STATE_KEEPALIVE:
            case SB_STATE_LOG:
            case SB_STATE_DNS:
            case SB_STATE_CLOSING:
            case SB_STATE_GRACEFUL:
                n_busy++;
                break;
            default:
                break;
            }
        }
    }
    if (idle != NULL)
        *idle = n_idle;
    if (busy != NULL)
        *busy = n_busy;
}
