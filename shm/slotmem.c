/* slotmem: POSIX shared-memory segments with a self-describing header.
 *
 * The header is the contract between processes that do not share an address space or even
 * a build: the master that created the segment, children that inherited it and tools that
 * attach later. Everything a reader needs to find the slots is in the header, and an
 * attacher recomputes the layout from it and compares it with the real file size before it
 * touches a slot, so a segment from another build or a half-created one is refused with a
 * message naming the field instead of being read out of bounds. */
#include "config.h"

#include "slotmem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* 64 bytes is the cache-line size of every CPU we run on: slots written by different
 * processes never share a line, so one worker's counters do not bounce another's. */
#define SLOTMEM_ALIGN 64u

static size_t align_up(size_t n)
{
    return (n + (SLOTMEM_ALIGN - 1)) & ~(size_t)(SLOTMEM_ALIGN - 1);
}

size_t slotmem_header_size(void)
{
    return align_up(sizeof(struct slotmem_header));
}

/* Computes the layout for the given sizes, refusing any overflow: attach feeds this with
 * numbers read from a segment another process wrote, so they are untrusted. */
static int layout(uint64_t global_size, uint64_t slot_size, uint64_t count, size_t *global_off,
                  size_t *slots_off, size_t *stride, size_t *total)
{
    const uint64_t max = (uint64_t)SIZE_MAX / 2;
    if (global_size > max || slot_size > max || count > UINT32_MAX)
        return -1;
    size_t g_off = slotmem_header_size();
    size_t s_off = g_off + align_up((size_t)global_size);
    size_t st = align_up((size_t)slot_size);
    if (st != 0 && (size_t)count > (max - s_off) / st)
        return -1;
    *global_off = g_off;
    *slots_off = s_off;
    *stride = st;
    *total = s_off + st * (size_t)count;
    return 0;
}

/* shm_open wants exactly one leading slash and no other; a longer name would not fit the
 * struct either, and the message beats an EINVAL from the kernel. */
static int check_name(const char *name, char *err, size_t errlen)
{
    if (name == NULL || name[0] != '/' || strchr(name + 1, '/') != NULL || name[1] == '\0' ||
        strlen(name) >= sizeof(((struct slotmem *)0)->name)) {
        snprintf(err, errlen, "invalid shared memory name \"%s\"", name ? name : "(null)");
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int init_mutex(pthread_mutex_t *m, char *err, size_t errlen)
{
    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc != 0)
        goto fail;
    /* Shared: the lock lives in the segment and is taken by several processes. Robust: a
     * worker killed while holding it (OOM killer, segfault) must not wedge every other
     * worker; the next locker gets EOWNERDEAD and repairs it. */
    if ((rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED)) != 0 ||
        (rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST)) != 0 ||
        (rc = pthread_mutex_init(m, &attr)) != 0) {
        pthread_mutexattr_destroy(&attr);
        goto fail;
    }
    pthread_mutexattr_destroy(&attr);
    return 0;
fail:
    snprintf(err, errlen, "cannot initialise the shared mutex: %s", strerror(rc));
    errno = rc;
    return -1;
}

int slotmem_create(struct slotmem *sm, const char *name, const char *kind, uint32_t version,
                   size_t global_size, size_t slot_size, unsigned count, int *replaced, char *err,
                   size_t errlen)
{
    int fd = -1, saved = 0;
    void *map = MAP_FAILED;
    size_t g_off, s_off, stride, total;

    memset(sm, 0, sizeof(*sm));
    if (errlen > 0)
        err[0] = '\0';
    if (replaced != NULL)
        *replaced = 0;
    if (check_name(name, err, errlen) < 0)
        return -1;
    if (kind == NULL || kind[0] == '\0' || strlen(kind) >= sizeof(sm->hdr->kind)) {
        snprintf(err, errlen, "%s: invalid segment kind", name);
        errno = EINVAL;
        return -1;
    }
    if (slot_size == 0 ||
        layout(global_size, slot_size, count, &g_off, &s_off, &stride, &total) < 0) {
        snprintf(err, errlen, "%s: invalid size (%zu slots of %zu bytes, %zu global bytes)", name,
                 (size_t)count, slot_size, global_size);
        errno = EINVAL;
        return -1;
    }

    /* O_EXCL: a segment we did not create is never silently reused, its layout may differ.
     * The master has already checked the PidFile, so an existing name is a crashed run's
     * leftover: remove it and try once more. Processes still mapping the old segment keep
     * their copy; nobody new can find it. */
    for (int attempt = 0;; attempt++) {
        fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0600);
        if (fd >= 0)
            break;
        if (errno != EEXIST || attempt > 0) {
            saved = errno;
            snprintf(err, errlen, "cannot create shared memory segment %s: %s", name,
                     strerror(saved));
            errno = saved;
            return -1;
        }
        if (shm_unlink(name) < 0 && errno != ENOENT) {
            saved = errno;
            snprintf(err, errlen, "cannot remove stale shared memory segment %s: %s", name,
                     strerror(saved));
            errno = saved;
            return -1;
        }
        if (replaced != NULL)
            *replaced = 1;
        sm->replaced = 1;
    }

    /* A fresh shm object is zero-filled by ftruncate, so slots and globals start zeroed. */
    if (ftruncate(fd, (off_t)total) < 0) {
        saved = errno;
        snprintf(err, errlen, "cannot size shared memory segment %s to %zu bytes: %s", name, total,
                 strerror(saved));
        goto fail;
    }
    /* Reserve the pages now: on a full tmpfs the first store into a sparse mapping would be
     * a SIGBUS in the master instead of this error. */
    int fa = posix_fallocate(fd, 0, (off_t)total);
    if (fa != 0 && fa != EOPNOTSUPP && fa != EINVAL) {
        saved = fa;
        snprintf(err, errlen, "cannot reserve %zu bytes for shared memory segment %s: %s", total,
                 name, strerror(saved));
        goto fail;
    }
    map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        saved = errno;
        snprintf(err, errlen, "cannot map shared memory segment %s: %s", name, strerror(saved));
        goto fail;
    }
    /* The mapping keeps the object alive; the descriptor would only leak into children. */
    close(fd);
    fd = -1;

    struct slotmem_header *h = map;
    h->version = version;
    memcpy(h->kind, kind, strlen(kind) + 1);
    h->slot_size = slot_size;
    h->slot_count = count;
    h->global_size = global_size;
    h->total_size = total;
    h->generation = 0;
    h->created = (int64_t)time(NULL);
    h->creator_pid = (int32_t)getpid();
    if (init_mutex(&h->lock, err, errlen) < 0) {
        saved = errno;
        goto fail;
    }
    /* Magic last, after a release fence: an attacher racing with us sees either no magic
     * (and refuses) or a complete header. */
    atomic_thread_fence(memory_order_release);
    h->magic = SLOTMEM_MAGIC;

    sm->hdr = h;
    sm->global = (unsigned char *)map + g_off;
    sm->slots = (unsigned char *)map + s_off;
    sm->slot_stride = stride;
    sm->map_size = total;
    sm->readonly = 0;
    util_strlcpy(sm->name, name, sizeof(sm->name));
    return 0;

fail:
    if (map != MAP_FAILED)
        munmap(map, total);
    if (fd >= 0)
        close(fd);
    /* Leave no half-built segment behind for a tool to trip over. */
    shm_unlink(name);
    memset(sm, 0, sizeof(*sm));
    errno = saved;
    return -1;
}

/* Checks a mapped header against what the caller expects and the file size. Each message
 * names the field, so "version 1, expected 2" tells an operator they run mixed builds. */
static int validate(const struct slotmem_header *h, size_t file_size, const char *name,
                    const char *kind, uint32_t version, size_t slot_size, size_t *g_off,
                    size_t *s_off, size_t *stride, char *err, size_t errlen)
{
    size_t total;

    if (h->magic != SLOTMEM_MAGIC) {
        snprintf(err, errlen,
                 "%s: bad magic 0x%08x (not a portico segment, or still being "
                 "created)",
                 name, (unsigned)h->magic);
        return -1;
    }
    if (memchr(h->kind, '\0', sizeof(h->kind)) == NULL) {
        snprintf(err, errlen, "%s: kind field is not terminated", name);
        return -1;
    }
    if (strcmp(h->kind, kind) != 0) {
        snprintf(err, errlen, "%s: kind \"%s\", expected \"%s\"", name, h->kind, kind);
        return -1;
    }
    if (h->version != version) {
        snprintf(err, errlen,
                 "%s: layout version %u, expected %u (server and tool from "
                 "different builds?)",
                 name, (unsigned)h->version, (unsigned)version);
        return -1;
    }
    if (h->slot_size != slot_size) {
        snprintf(err, errlen, "%s: slot size %llu, expected %zu", name,
                 (unsigned long long)h->slot_size, slot_size);
        return -1;
    }
    if (layout(h->global_size, h->slot_size, h->slot_count, g_off, s_off, stride, &total) < 0) {
        snprintf(err, errlen, "%s: impossible sizes in header (%llu slots, %llu global bytes)",
                 name, (unsigned long long)h->slot_count, (unsigned long long)h->global_size);
        return -1;
    }
    if (h->total_size != total) {
        snprintf(err, errlen, "%s: total size %llu in header, layout needs %zu", name,
                 (unsigned long long)h->total_size, total);
        return -1;
    }
    if (file_size != total) {
        snprintf(err, errlen, "%s: segment is %zu bytes, header says %zu (truncated?)", name,
                 file_size, total);
        return -1;
    }
    return 0;
}

int slotmem_attach(struct slotmem *sm, const char *name, const char *kind, uint32_t version,
                   size_t slot_size, int readonly, char *err, size_t errlen)
{
    int fd, saved = 0;
    struct stat st;
    void *map = MAP_FAILED;
    size_t file_size = 0, g_off, s_off, stride;

    memset(sm, 0, sizeof(*sm));
    if (errlen > 0)
        err[0] = '\0';
    if (check_name(name, err, errlen) < 0)
        return -1;
    fd = shm_open(name, readonly ? O_RDONLY : O_RDWR, 0);
    if (fd < 0) {
        saved = errno;
        if (saved == ENOENT)
            snprintf(err, errlen, "no shared memory segment %s: is portico running?", name);
        else if (saved == EACCES)
            snprintf(err, errlen,
                     "cannot open shared memory segment %s: %s (run as root or "
                     "as the server's user)",
                     name, strerror(saved));
        else
            snprintf(err, errlen, "cannot open shared memory segment %s: %s", name,
                     strerror(saved));
        errno = saved;
        return -1;
    }
    if (fstat(fd, &st) < 0) {
        saved = errno;
        snprintf(err, errlen, "cannot stat shared memory segment %s: %s", name, strerror(saved));
        goto fail;
    }
    if (st.st_size < (off_t)slotmem_header_size()) {
        snprintf(err, errlen,
                 "%s: segment is %lld bytes, too small for a header (truncated, "
                 "or still being created)",
                 name, (long long)st.st_size);
        saved = EPROTO;
        goto fail;
    }
    file_size = (size_t)st.st_size;
    /* Map the whole file as the kernel sees it, then check the header describes exactly
     * that: no slot pointer can then reach past the mapping, whatever the header says. */
    map = mmap(NULL, file_size, readonly ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED) {
        saved = errno;
        snprintf(err, errlen, "cannot map shared memory segment %s: %s", name, strerror(saved));
        goto fail;
    }
    close(fd);
    fd = -1;
    atomic_thread_fence(memory_order_acquire);
    if (validate(map, file_size, name, kind, version, slot_size, &g_off, &s_off, &stride, err,
                 errlen) < 0) {
        saved = EPROTO;
        goto fail;
    }

    sm->hdr = map;
    sm->global = (unsigned char *)map + g_off;
    sm->slots = (unsigned char *)map + s_off;
    sm->slot_stride = stride;
    sm->map_size = file_size;
    sm->readonly = readonly ? 1 : 0;
    util_strlcpy(sm->name, name, sizeof(sm->name));
    return 0;

fail:
    if (map != MAP_FAILED)
        munmap(map, file_size);
    if (fd >= 0)
        close(fd);
    errno = saved;
    return -1;
}

void *slotmem_slot(const struct slotmem *sm, unsigned i)
{
    if (sm->hdr == NULL || (uint64_t)i >= sm->hdr->slot_count)
        return NULL;
    return sm->slots + (size_t)i * sm->slot_stride;
}

unsigned slotmem_count(const struct slotmem *sm)
{
    return sm->hdr != NULL ? (unsigned)sm->hdr->slot_count : 0;
}

void *slotmem_global(const struct slotmem *sm)
{
    return sm->hdr != NULL ? sm->global : NULL;
}

int slotmem_lock(struct slotmem *sm)
{
    /* A read-only mapping cannot write the lock word: fail instead of faulting. */
    if (sm->hdr == NULL || sm->readonly) {
        errno = EPERM;
        return -1;
    }
    int rc = pthread_mutex_lock(&sm->hdr->lock);
    if (rc == EOWNERDEAD) {
        /* The previous holder died inside its critical section. What it guarded is plain
         * counters and choices that the next update corrects, so mark the lock usable
         * again rather than leave every worker unable to ever lock it. */
        rc = pthread_mutex_consistent(&sm->hdr->lock);
    }
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

void slotmem_unlock(struct slotmem *sm)
{
    if (sm->hdr != NULL && !sm->readonly)
        pthread_mutex_unlock(&sm->hdr->lock);
}

uint64_t slotmem_generation(const struct slotmem *sm)
{
    return sm->hdr != NULL ? sm->hdr->generation : 0;
}

int slotmem_set_generation(struct slotmem *sm, uint64_t generation)
{
    if (slotmem_lock(sm) < 0)
        return -1;
    sm->hdr->generation = generation;
    slotmem_unlock(sm);
    return 0;
}

void slotmem_detach(struct slotmem *sm)
{
    if (sm->hdr != NULL)
        munmap(sm->hdr, sm->map_size);
    memset(sm, 0, sizeof(*sm));
}

int slotmem_unlink(const char *name)
{
    return shm_unlink(name);
}
