/* slotmem: a typed-by-size array of slots in a POSIX shared-memory segment.
 * Created by the master, attached by children (inherited mapping) and by tools (read-only).
 *
 *   +----------------------------+  offset 0
 *   | struct slotmem_header      |  magic, layout version, kind, slot size/count, generation,
 *   |                            |  creator pid, process-shared mutex
 *   +----------------------------+  SLOTMEM_HDR_SIZE (aligned to 64)
 *   | global area (global_size)  |  the user's per-segment data (e.g. scoreboard globals)
 *   +----------------------------+  aligned to 64
 *   | slot 0 .. slot count-1     |  slot_size bytes each (aligned to 64)
 *   +----------------------------+
 */
#ifndef PORTICO_SLOTMEM_H
#define PORTICO_SLOTMEM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SLOTMEM_MAGIC 0x504f5254u /* "PORT" */

struct slotmem_header {
    uint32_t magic;
    uint32_t version;   /* layout version of the user's slots */
    char kind[32];      /* "scoreboard", "balancer", ... */
    uint64_t slot_size; /* bytes per slot as the creator sized it */
    uint64_t slot_count;
    uint64_t global_size;
    uint64_t total_size; /* whole mapping */
    uint64_t generation; /* bumped by the owner on each (graceful) restart */
    int64_t created;     /* CLOCK_REALTIME seconds */
    int32_t creator_pid;
    int32_t pad;
    pthread_mutex_t lock; /* PTHREAD_PROCESS_SHARED, robust */
};

struct slotmem {
    struct slotmem_header *hdr;
    unsigned char *global;
    unsigned char *slots;
    size_t slot_stride;
    size_t map_size;
    int readonly;
    int replaced; /* create: 1 when a stale segment of that name was removed first */
    char name[96];
};

/* Bytes before the global area: the header rounded up to 64 (SLOTMEM_HDR_SIZE above). */
size_t slotmem_header_size(void);

/* Creates (O_EXCL) and maps a segment named `name` ("/portico..."); an existing segment of
 * that name is a leftover of a crashed run (the master checked the PidFile first): it is
 * unlinked and replaced, and *replaced (if not NULL) is set to 1. Slots and global area are
 * zeroed. Returns 0 or -1 with a message in err. */
int slotmem_create(struct slotmem *sm, const char *name, const char *kind, uint32_t version,
                   size_t global_size, size_t slot_size, unsigned count, int *replaced, char *err,
                   size_t errlen);

/* Attaches an existing segment; checks magic, kind, version and slot size, and that the
 * file size matches the header. readonly maps PROT_READ (status tools). Returns 0 or -1
 * with a message in err ("no such segment: is portico running?" for ENOENT). errno is ENOENT
 * when the segment does not exist, EPROTO when its header does not match. */
int slotmem_attach(struct slotmem *sm, const char *name, const char *kind, uint32_t version,
                   size_t slot_size, int readonly, char *err, size_t errlen);

/* Pointer to slot i, or NULL when out of range. */
void *slotmem_slot(const struct slotmem *sm, unsigned i);
unsigned slotmem_count(const struct slotmem *sm);
void *slotmem_global(const struct slotmem *sm);

/* The segment's process-shared lock (robust: a holder that died is recovered). Returns 0
 * or -1. Never call on a read-only attachment. */
int slotmem_lock(struct slotmem *sm);
void slotmem_unlock(struct slotmem *sm);

/* The header's generation (informational for tools; the owner's authoritative copy may live
 * in its global area, as the scoreboard's does). set takes the lock: writable mappings only.
 * Returns 0 or -1 (errno). */
uint64_t slotmem_generation(const struct slotmem *sm);
int slotmem_set_generation(struct slotmem *sm, uint64_t generation);

/* Unmaps (the segment stays). */
void slotmem_detach(struct slotmem *sm);

/* Removes the name (the creator does this on stop). Returns 0 or -1 (errno). */
int slotmem_unlink(const char *name);

#endif
