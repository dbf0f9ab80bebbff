/* The scoreboard: one slot per worker process (ServerLimit slots), plus globals, in a
 * slotmem segment of kind "scoreboard". Writers are the owning worker (its slot) and the
 * master (pid/generation/state at fork and reap). Counters are C11 atomics; the text fields
 * are written without a lock and may be torn while a reader copies them (as httpd's), so
 * readers copy and NUL-terminate. */
#ifndef PORTICO_SCOREBOARD_H
#define PORTICO_SCOREBOARD_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "slotmem.h"

#define SB_KIND    "scoreboard"
#define SB_VERSION 3u /* 2: sb_global gained the gone_* totals; 3: balancer_busy */

/* Apache's mod_status letters. */
#define SB_STATE_DEAD      '.'
#define SB_STATE_STARTING  'S'
#define SB_STATE_READY     '_'
#define SB_STATE_READ      'R'
#define SB_STATE_WRITE     'W'
#define SB_STATE_KEEPALIVE 'K'
#define SB_STATE_LOG       'L'
#define SB_STATE_DNS       'D'
#define SB_STATE_CLOSING   'C'
#define SB_STATE_GRACEFUL  'G'
#define SB_STATE_IDLE_KILL 'I'

struct sb_global {
    _Atomic int32_t master_pid;
    _Atomic uint32_t generation;  /* current config generation */
    int64_t start_time;           /* CLOCK_REALTIME seconds of the first start */
    _Atomic int64_t restart_time; /* of the last (graceful) restart */
    int32_t server_limit;
    _Atomic int32_t max_request_workers;
    char server_name[128];
    char server_version[64];
    /* Counters of processes whose slot was since reused (scoreboard_slot_init folds them in
     * here), so totals never go backwards when a worker is replaced. */
    _Atomic uint64_t gone_requests;
    _Atomic uint64_t gone_connections;
    _Atomic uint64_t gone_bytes;
};

struct sb_worker_slot {
    _Atomic int32_t pid; /* 0 = dead slot */
    _Atomic uint32_t generation;
    _Atomic int state;            /* SB_STATE_* */
    _Atomic uint64_t requests;    /* requests served by this process */
    _Atomic uint64_t connections; /* connections accepted by this process */
    _Atomic uint64_t bytes;       /* response bytes sent */
    _Atomic int64_t started;      /* CLOCK_REALTIME seconds the process started */
    _Atomic int64_t last_used_ms; /* CLOCK_REALTIME ms of the last state change */
    _Atomic int64_t req_start_ms; /* start of the current/last request */
    _Atomic uint64_t req_time_us; /* duration of the last request */
    char client[48];
    char vhost[64];
    char request[128];
    _Atomic int32_t balancer_busy; /* balancer slot + 1 this process holds busy, 0 = none */
};

/* Creates the scoreboard for server_limit workers (master). */
int scoreboard_create(struct slotmem *sm, const char *pid_file, unsigned server_limit, char *err,
                      size_t errlen);
/* Attaches read-only (tools). */
int scoreboard_attach(struct slotmem *sm, const char *pid_file, char *err, size_t errlen);

struct sb_global *scoreboard_global(const struct slotmem *sm);
struct sb_worker_slot *scoreboard_slot(const struct slotmem *sm, unsigned i);

/* Sets state and the last-used time. */
void scoreboard_set_state(struct sb_worker_slot *w, int state);

/* Copies a text field into the slot, NUL-terminated and truncated to fit. */
void scoreboard_set_text(char *field, size_t size, const char *value);

/* Copies a text field out of a slot another process writes: NUL-terminated, printable. */
void scoreboard_get_text(char *out, size_t outlen, const char *field, size_t size);

/* Master, at fork (before the child runs, or in the child first thing): folds the slot's old
 * counters into the global totals, zeroes counters and text, stamps generation, start time
 * and STARTING, then publishes pid last so a reader that sees the pid sees the rest. */
void scoreboard_slot_init(struct slotmem *sm, struct sb_worker_slot *w, pid_t pid,
                          uint32_t generation);

/* Master, at reap: pid 0 and DEAD. Counters stay (totals still include them). */
void scoreboard_slot_clear(struct sb_worker_slot *w);

/* Master, on each (graceful) restart: generation + 1 in the globals and in the slotmem
 * header, restart_time = now. Returns the new generation. Workers of older generations stop
 * counting as idle at once. */
uint32_t scoreboard_bump_generation(struct slotmem *sm);

/* CLOCK_REALTIME in milliseconds (the unit of last_used_ms and req_start_ms). */
int64_t scoreboard_now_ms(void);

/* Counts by state of the slots of the current generation: idle (READY+STARTING, as the
 * spare-server logic counts them) and busy (R W K L D C G). */
void scoreboard_count(const struct slotmem *sm, unsigned *idle, unsigned *busy);

#endif
