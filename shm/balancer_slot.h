/* Balancer member state in shared memory: one slot per BalancerMember (plus growth slots),
 * in a slotmem segment of kind BALANCER_KIND, created by the master and shared by every
 * worker and the heartbeat process. Slots are matched to members by (balancer, url), never
 * by index, so a graceful restart keeps the state of members that survive it.
 *
 * Counters are C11 atomics. The selection step of an lbmethod (read-modify-write of lbstatus
 * across several slots) runs under the segment's process-shared lock (slotmem_lock).
 *
 * The global area holds a struct balancer_shm_global followed by one struct
 * balancer_shm_info per balancer (config order); balancer i owns the slots
 * info[i].slot_base .. info[i].slot_base + info[i].n_slots - 1: its config members first
 * (member->slot), then its growth slots (free until a member is added at run time). */
#ifndef PORTICO_BALANCER_SLOT_H
#define PORTICO_BALANCER_SLOT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "slotmem.h"

#define BALANCER_KIND "balancer"
/* 2: per-balancer records in the global area; slot gained edited, flags, balancer_index,
 * hcmethod, hc_interval_ms. */
#define BALANCER_VERSION 2u

/* balancer_slot.edited: fields changed at run time (balancer-manager sets the bit when it
 * changes the field). With BalancerPersist On exactly these keep their runtime value across
 * a restart; the others follow the new config. */
#define BSLOT_EDITED_STATUS   0x01u /* the administrative flags D S H R N I */
#define BSLOT_EDITED_LBFACTOR 0x02u
#define BSLOT_EDITED_LBSET    0x04u
#define BSLOT_EDITED_ROUTE    0x08u
#define BSLOT_EDITED_REDIRECT 0x10u

/* balancer_slot.flags */
#define BSLOT_F_RUNTIME 0x01u /* added at run time (balancer-manager), not in the config */

struct balancer_slot {
    char balancer[96]; /* "balancer://name"; "" = free slot */
    char url[160];     /* member URL */
    char route[64];
    char redirect[64];
    _Atomic uint32_t in_use;  /* 1 when the slot belongs to a member */
    _Atomic uint32_t status;  /* MEMBER_* flags (proxy_types.h) */
    _Atomic int32_t lbfactor; /* x100 */
    _Atomic int32_t lbset;
    _Atomic int64_t lbstatus;      /* byrequests/bybusyness accounting */
    _Atomic uint64_t elected;      /* times chosen */
    _Atomic int64_t busy;          /* requests in flight through this member, all processes */
    _Atomic uint64_t transferred;  /* bytes sent to the member */
    _Atomic uint64_t read;         /* bytes read from the member */
    _Atomic int64_t error_time_ms; /* CLOCK_REALTIME ms when it entered MEMBER_ERROR (kept
                                    * after recovery: "last error" for the tools) */
    _Atomic uint64_t errors;       /* times it entered the error state */
    _Atomic uint64_t retries;      /* times it was retried after retry= */
    _Atomic int32_t retry_ms;      /* retry= (copied from the config for the tools) */
    /* Heartbeat (mod_heartmonitor data for this member's host). */
    _Atomic int32_t hb_ready;
    _Atomic int32_t hb_busy;
    _Atomic int64_t hb_seen_ms; /* CLOCK_REALTIME ms of the last heartbeat, 0 = never */
    /* Health check results (written by the heartbeat process only). */
    _Atomic int32_t hc_passes; /* consecutive passes */
    _Atomic int32_t hc_fails;  /* consecutive failures */
    _Atomic int64_t hc_last_ms;
    _Atomic int32_t hc_last_ok;  /* 1 pass, 0 fail, -1 never checked (create sets -1) */
    _Atomic uint32_t generation; /* config generation that (re)bound the slot */
    /* Added in version 2. */
    _Atomic uint32_t edited;        /* BSLOT_EDITED_* */
    _Atomic uint32_t flags;         /* BSLOT_F_* */
    uint32_t balancer_index;        /* index of the owning balancer_shm_info */
    _Atomic int32_t hc_interval_ms; /* hcinterval= (for the tools; 0 = no health check) */
    char hcmethod[16];              /* hcmethod= as configured, "" = no health check */
};

/* One per balancer, in the global area after struct balancer_shm_global. Text fields are
 * written by the master at creation (the balancer-manager may rewrite lbmethod and sticky
 * later: readers copy them bounded). */
struct balancer_shm_info {
    char name[96];      /* "balancer://name" */
    char lbmethod[32];  /* the lbmethod in use */
    char sticky[64];    /* stickysession= as written, "" = none */
    char nonce[40];     /* balancer-manager CSRF token: a random UUID, kept across restarts */
    uint32_t slot_base; /* first slot */
    uint32_t n_members; /* config members: slot_base .. slot_base + n_members - 1 */
    uint32_t n_slots;   /* n_members + growth */
    int32_t maxattempts;
    int32_t timeout_ms;
    uint32_t nofailover;
    _Atomic uint32_t need_reset; /* set when lbstatus must be reset (balancer-manager) */
    uint32_t pad;
};

struct balancer_shm_global {
    _Atomic uint32_t ready; /* 1 once the master filled globals and slots (release store) */
    uint32_t n_balancers;
    uint32_t persist; /* BalancerPersist of the config that created the segment */
    uint32_t pad;
    uint64_t generation;      /* config generation that created the segment */
    int64_t first_created_ms; /* the first segment of this server (carried over) */
    int64_t created_ms;       /* this segment (start or last restart) */
    struct balancer_shm_info info[];
};

struct proxy_global_conf;

/* Master: creates the balancer segment for pg (pg->n_member_slots slots; growth included)
 * and binds every member to its slot (member->slot, assigned by the config code). When `old`
 * (the running segment of the previous generation, may be NULL) has an in-use slot with the
 * same (balancer, url), that member's runtime state is carried over: elected, lbstatus
 * (reset when the balancer's lbmethod changed), transferred, read, the error state E with
 * error_time, errors, retries, heartbeat and health-check fields (the C flag and the hc
 * counters only while the member still has an hcmethod). busy starts at 0: requests in
 * flight belong to the old generation's children, which release them in the old segment.
 * Config values (route, redirect, lbfactor, lbset, flags D S H R N I) come from the new
 * config, except that with pg->balancer_persist the fields edited at run time
 * (BSLOT_EDITED_*) keep their runtime value, and members added at run time are kept in a
 * free growth slot of their balancer.
 *
 * Everything that can be checked (name and URL lengths, slot ranges) is checked before the
 * old name is unlinked. The old segment's name is then unlinked (processes still attached
 * keep their mapping, and the caller still owns and must detach `old`), and the new one is
 * created. `sm` must not be `old`. With no balancer configured (pg NULL or no balancers)
 * nothing is created: sm->hdr stays NULL and 0 is returned.
 * Returns 0 or -1 with a message in err. */
int balancer_shm_create(struct slotmem *sm, const char *pid_file, struct proxy_global_conf *pg,
                        const struct slotmem *old, unsigned generation, char *err, size_t errlen);

/* Tools: attaches read-only, and checks the global area and every balancer's slot range
 * against the mapping. errno ENOENT: no segment (no server, or no balancer configured);
 * EAGAIN: the master is still filling it (retry shortly); EPROTO: layout mismatch. */
int balancer_shm_attach(struct slotmem *sm, const char *pid_file, char *err, size_t errlen);

/* Removes the segment's name (the master on stop). Returns 0, or -1 (errno; ENOENT when
 * there was none). */
int balancer_shm_unlink(const char *pid_file);

/* Slot i, or NULL when out of range. */
struct balancer_slot *balancer_shm_slot(const struct slotmem *sm, unsigned i);

/* The global area, or NULL when sm is not mapped. */
struct balancer_shm_global *balancer_shm_global(const struct slotmem *sm);

/* Number of balancers, bounded by the global area's size (0 when not mapped). */
unsigned balancer_shm_count(const struct slotmem *sm);

/* Balancer i's record, or NULL when out of range. */
struct balancer_shm_info *balancer_shm_info(const struct slotmem *sm, unsigned i);

/* Status flags as httpd's letters in its table order (I N D S E H R C), then " Ok" when the
 * member is usable (none of D S E C), e.g. "Ok", "H Ok", "E", "DH". Returns out. */
char *balancer_status_text(unsigned status, char *out, size_t outlen);

#endif
