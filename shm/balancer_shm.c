/* The balancer segment: member slots shared by the master, the workers, the heartbeat
 * process and the tools (layout and carry-over rules in balancer_slot.h).
 *
 * httpd re-creates balancer shared memory zeroed on every restart and only keeps state with
 * BalancerPersist (through a file). portico keeps each surviving member's runtime state on
 * every graceful restart by copying it from the previous generation's segment, which the
 * master still has mapped; BalancerPersist decides only whether runtime edits of config
 * values survive too. */
#include "config.h"

#include "balancer_slot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "proxy_types.h"
#include "scoreboard.h"
#include "shm_name.h"
#include "util.h"

/* Flags only the config or the balancer-manager set; E and C are runtime state. */
#define ADMIN_FLAGS                                                                                \
    (MEMBER_DISABLED | MEMBER_STOPPED | MEMBER_STANDBY | MEMBER_SPARE | MEMBER_DRAIN |             \
     MEMBER_IGNORE)

static int name_for(const char *pid_file, char *name, size_t len, char *err, size_t errlen)
{
    if (shm_name_for(pid_file, BALANCER_KIND, name, len) < 0) {
        snprintf(err, errlen, "cannot derive a shared memory name from PidFile \"%s\"",
                 pid_file ? pid_file : "(null)");
        errno = EINVAL;
        return -1;
    }
    return 0;
}

/* Copies a fixed-size field that another process may be rewriting: never reads past
 * `size`, always terminates. */
static void copy_field(char *dst, size_t dstlen, const char *src, size_t size)
{
    size_t n = 0;
    while (n < size && n + 1 < dstlen && src[n] != '\0') {
        dst[n] = src[n];
        n++;
    }
    if (dstlen > 0)
        dst[n] = '\0';
}

static int field_eq(const char *field, size_t size, const char *s)
{
    size_t n = strlen(s);
    return n < size && memcmp(field, s, n) == 0 && field[n] == '\0';
}

static const char *lbmethod_of(const struct proxy_balancer *b)
{
    return b->lbmethod != NULL && b->lbmethod[0] != '\0' ? b->lbmethod : "byrequests";
}

static int has_hc(const struct proxy_member *m)
{
    return m->hcmethod != NULL && m->hcmethod[0] != '\0' && !util_strcaseeq(m->hcmethod, "none");
}

static int check_len(const char *what, const char *owner, const char *s, size_t size, char *err,
                     size_t errlen)
{
    if (s != NULL && strlen(s) >= size) {
        snprintf(err, errlen,
                 "%s: %s \"%.60s%s\" is too long for the shared memory (at most %zu characters)",
                 owner, what, s, strlen(s) > 60 ? "..." : "", size - 1);
        return -1;
    }
    return 0;
}

/* Everything about the config that could make creation fail, checked while the running
 * segment is still reachable by name. */
static int validate_conf(const struct proxy_global_conf *pg, char *err, size_t errlen)
{
    unsigned total = pg->n_member_slots, nb = 0;
    unsigned char *owner = calloc(total ? total : 1, 1);
    int rc = -1;

    if (owner == NULL) {
        snprintf(err, errlen, "out of memory");
        errno = ENOMEM;
        return -1;
    }
    for (const struct proxy_balancer *b = pg->balancers; b != NULL; b = b->next, nb++) {
        unsigned walked = 0;
        const struct balancer_slot *proto = NULL;
        const struct balancer_shm_info *iproto = NULL;

        if (b->name == NULL || check_len("balancer name", "balancer", b->name,
                                         sizeof(proto->balancer), err, errlen) < 0) {
            if (b->name == NULL)
                snprintf(err, errlen, "balancer without a name");
            goto done;
        }
        if (check_len("stickysession", b->name, b->sticky, sizeof(iproto->sticky), err, errlen) <
                0 ||
            check_len("lbmethod", b->name, lbmethod_of(b), sizeof(iproto->lbmethod), err, errlen) <
                0)
            goto done;
        unsigned growth = b->growth > 0 ? (unsigned)b->growth : 0;
        if (b->slot_base > total || b->n_members > total - b->slot_base ||
            growth > total - b->slot_base - b->n_members) {
            snprintf(err, errlen,
                     "%s: slots %u..%u (%u members, growth %u) beyond the %u member slots", b->name,
                     b->slot_base, b->slot_base + b->n_members + growth, b->n_members, growth,
                     total);
            goto done;
        }
        for (unsigned s = b->slot_base; s < b->slot_base + b->n_members + growth; s++) {
            if (owner[s]) {
                snprintf(err, errlen, "%s: slot %u also belongs to another balancer", b->name, s);
                goto done;
            }
            owner[s] = 1;
        }
        for (const struct proxy_member *m = b->members; m != NULL; m = m->next, walked++) {
            const char *url = m->worker != NULL ? m->worker->name : NULL;
            if (url == NULL) {
                snprintf(err, errlen, "%s: member without a URL", b->name);
                goto done;
            }
            if (check_len("member URL", b->name, url, sizeof(proto->url), err, errlen) < 0 ||
                check_len("route", url, m->route, sizeof(proto->route), err, errlen) < 0 ||
                check_len("redirect", url, m->redirect, sizeof(proto->redirect), err, errlen) < 0 ||
                check_len("hcmethod", url, m->hcmethod, sizeof(proto->hcmethod), err, errlen) < 0)
                goto done;
            if (m->slot < b->slot_base || m->slot >= b->slot_base + b->n_members + growth) {
                snprintf(err, errlen, "%s: member %s has slot %u outside %u..%u", b->name, url,
                         m->slot, b->slot_base, b->slot_base + b->n_members + growth - 1);
                goto done;
            }
            if (owner[m->slot] == 2) {
                snprintf(err, errlen, "%s: member %s shares slot %u with another member", b->name,
                         url, m->slot);
                goto done;
            }
            owner[m->slot] = 2;
        }
        if (walked != b->n_members) {
            snprintf(err, errlen, "%s: %u members listed, n_members says %u", b->name, walked,
                     b->n_members);
            goto done;
        }
    }
    if (nb != pg->n_balancers) {
        snprintf(err, errlen, "%u balancers listed, n_balancers says %u", nb, pg->n_balancers);
        goto done;
    }
    rc = 0;
done:
    free(owner);
    if (rc < 0)
        errno = EINVAL;
    return rc;
}

/* A random UUID (version 4) for the balancer-manager's nonce. */
static int make_nonce(char *out, size_t len)
{
    unsigned char r[16];
    size_t got = 0;

    while (got < sizeof(r)) {
        ssize_t n = getrandom(r + got, sizeof(r) - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        got += (size_t)n;
    }
    r[6] = (unsigned char)((r[6] & 0x0f) | 0x40);
    r[8] = (unsigned char)((r[8] & 0x3f) | 0x80);
    snprintf(out, len, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", r[0],
             r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10], r[11], r[12], r[13],
             r[14], r[15]);
    return 0;
}

/* The previous segment, if it has our layout (it is the same build's, unless the caller
 * passes something odd: then nothing is carried over rather than misread). */
static int old_usable(const struct slotmem *old)
{
    return old != NULL && old->hdr != NULL && old->hdr->version == BALANCER_VERSION &&
           old->hdr->slot_size == sizeof(struct balancer_slot) &&
           strcmp(old->hdr->kind, BALANCER_KIND) == 0 && balancer_shm_global(old) != NULL &&
           atomic_load(&balancer_shm_global(old)->ready) == 1;
}

static const struct balancer_shm_info *find_old_info(const struct slotmem *old, const char *name)
{
    unsigned n = balancer_shm_count(old);
    for (unsigned i = 0; i < n; i++) {
        const struct balancer_shm_info *in = balancer_shm_info(old, i);
        if (field_eq(in->name, sizeof(in->name), name))
            return in;
    }
    return NULL;
}

/* First in-use old slot of (balancer, url) not yet taken by another new member: a URL listed
 * twice in a balancer then maps one-to-one instead of twice onto the same state. */
static unsigned find_old_slot(const struct slotmem *old, unsigned char *taken, const char *bname,
                              const char *url)
{
    unsigned n = slotmem_count(old);
    for (unsigned i = 0; i < n; i++) {
        const struct balancer_slot *o = balancer_shm_slot(old, i);
        if (taken[i] || atomic_load(&o->in_use) != 1)
            continue;
        if (field_eq(o->balancer, sizeof(o->balancer), bname) &&
            field_eq(o->url, sizeof(o->url), url)) {
            taken[i] = 1;
            return i;
        }
    }
    return UINT32_MAX;
}

/* The runtime state that belongs to the member, not to the config or to in-flight
 * requests. */
static void carry_runtime(struct balancer_slot *s, const struct balancer_slot *o, int keep_lbstatus,
                          int keep_hc)
{
    if (keep_lbstatus)
        atomic_store(&s->lbstatus, atomic_load(&o->lbstatus));
    atomic_store(&s->elected, atomic_load(&o->elected));
    atomic_store(&s->transferred, atomic_load(&o->transferred));
    atomic_store(&s->read, atomic_load(&o->read));
    atomic_store(&s->error_time_ms, atomic_load(&o->error_time_ms));
    atomic_store(&s->errors, atomic_load(&o->errors));
    atomic_store(&s->retries, atomic_load(&o->retries));
    atomic_store(&s->hb_ready, atomic_load(&o->hb_ready));
    atomic_store(&s->hb_busy, atomic_load(&o->hb_busy));
    atomic_store(&s->hb_seen_ms, atomic_load(&o->hb_seen_ms));
    unsigned runtime = atomic_load(&o->status) & MEMBER_ERROR;
    if (keep_hc) {
        /* Without a health check nothing would ever clear C again. */
        runtime |= atomic_load(&o->status) & MEMBER_HCFAIL;
        atomic_store(&s->hc_passes, atomic_load(&o->hc_passes));
        atomic_store(&s->hc_fails, atomic_load(&o->hc_fails));
        atomic_store(&s->hc_last_ms, atomic_load(&o->hc_last_ms));
        atomic_store(&s->hc_last_ok, atomic_load(&o->hc_last_ok));
    }
    atomic_fetch_or(&s->status, runtime);
}

/* BalancerPersist: the fields edited at run time keep their runtime values. */
static void carry_edits(struct balancer_slot *s, const struct balancer_slot *o)
{
    unsigned edited = atomic_load(&o->edited);
    if (edited & BSLOT_EDITED_STATUS) {
        unsigned st = atomic_load(&s->status);
        atomic_store(&s->status, (st & ~ADMIN_FLAGS) | (atomic_load(&o->status) & ADMIN_FLAGS));
    }
    if (edited & BSLOT_EDITED_LBFACTOR)
        atomic_store(&s->lbfactor, atomic_load(&o->lbfactor));
    if (edited & BSLOT_EDITED_LBSET)
        atomic_store(&s->lbset, atomic_load(&o->lbset));
    if (edited & BSLOT_EDITED_ROUTE)
        copy_field(s->route, sizeof(s->route), o->route, sizeof(o->route));
    if (edited & BSLOT_EDITED_REDIRECT)
        copy_field(s->redirect, sizeof(s->redirect), o->redirect, sizeof(o->redirect));
    atomic_store(&s->edited, edited);
}

static void bind_member(struct balancer_slot *s, const struct proxy_member *m, unsigned bindex,
                        unsigned generation)
{
    util_strlcpy(s->balancer, m->balancer->name, sizeof(s->balancer));
    util_strlcpy(s->url, m->worker->name, sizeof(s->url));
    util_strlcpy(s->route, m->route ? m->route : "", sizeof(s->route));
    util_strlcpy(s->redirect, m->redirect ? m->redirect : "", sizeof(s->redirect));
    atomic_store(&s->status, m->status);
    atomic_store(&s->lbfactor, m->lbfactor > 0 ? m->lbfactor : 100);
    atomic_store(&s->lbset, m->lbset);
    atomic_store(&s->retry_ms, m->worker->retry_ms);
    atomic_store(&s->hc_last_ok, -1);
    if (has_hc(m)) {
        util_strlcpy(s->hcmethod, m->hcmethod, sizeof(s->hcmethod));
        atomic_store(&s->hc_interval_ms, m->hcinterval_ms);
    }
    s->balancer_index = bindex;
    atomic_store(&s->generation, generation);
    atomic_store(&s->in_use, 1);
}

/* BalancerPersist: members the balancer-manager added to the old segment, and that the new
 * config does not list, move to a free growth slot of the same balancer (they are dropped
 * when the balancer is gone or has no free slot left). */
static void carry_runtime_members(struct slotmem *sm, const struct slotmem *old,
                                  unsigned char *taken, unsigned generation)
{
    unsigned n = slotmem_count(old);
    for (unsigned i = 0; i < n; i++) {
        const struct balancer_slot *o = balancer_shm_slot(old, i);
        if (taken[i] || atomic_load(&o->in_use) != 1 || !(atomic_load(&o->flags) & BSLOT_F_RUNTIME))
            continue;
        char bname[sizeof(o->balancer)];
        copy_field(bname, sizeof(bname), o->balancer, sizeof(o->balancer));
        unsigned nb = balancer_shm_count(sm);
        for (unsigned b = 0; b < nb; b++) {
            struct balancer_shm_info *in = balancer_shm_info(sm, b);
            if (strcmp(in->name, bname) != 0)
                continue;
            for (unsigned k = in->slot_base + in->n_members; k < in->slot_base + in->n_slots; k++) {
                struct balancer_slot *s = balancer_shm_slot(sm, k);
                if (atomic_load(&s->in_use))
                    continue;
                copy_field(s->balancer, sizeof(s->balancer), o->balancer, sizeof(o->balancer));
                copy_field(s->url, sizeof(s->url), o->url, sizeof(o->url));
                copy_field(s->route, sizeof(s->route), o->route, sizeof(o->route));
                copy_field(s->redirect, sizeof(s->redirect), o->redirect, sizeof(o->redirect));
                copy_field(s->hcmethod, sizeof(s->hcmethod), o->hcmethod, sizeof(o->hcmethod));
                atomic_store(&s->status, atomic_load(&o->status));
                atomic_store(&s->lbfactor, atomic_load(&o->lbfactor));
                atomic_store(&s->lbset, atomic_load(&o->lbset));
                atomic_store(&s->retry_ms, atomic_load(&o->retry_ms));
                atomic_store(&s->hc_interval_ms, atomic_load(&o->hc_interval_ms));
                atomic_store(&s->hc_last_ok, -1);
                carry_runtime(s, o, 1, s->hcmethod[0] != '\0');
                atomic_store(&s->edited, atomic_load(&o->edited));
                atomic_store(&s->flags, BSLOT_F_RUNTIME);
                s->balancer_index = b;
                atomic_store(&s->generation, generation);
                atomic_store(&s->in_use, 1);
                taken[i] = 1;
                break;
            }
            break;
        }
    }
}

int balancer_shm_create(struct slotmem *sm, const char *pid_file, struct proxy_global_conf *pg,
                        const struct slotmem *old, unsigned generation, char *err, size_t errlen)
{
    char name[96];
    unsigned char *taken = NULL;
    int saved;

    if (errlen > 0)
        err[0] = '\0';
    if (sm == NULL || sm == old) {
        snprintf(err, errlen, "balancer_shm_create: new and old handles must differ");
        errno = EINVAL;
        return -1;
    }
    memset(sm, 0, sizeof(*sm));
    if (name_for(pid_file, name, sizeof(name), err, errlen) < 0)
        return -1;
    if (pg != NULL && pg->balancers != NULL && validate_conf(pg, err, errlen) < 0)
        return -1;
    int carry = old_usable(old);
    if (carry) {
        taken = calloc(slotmem_count(old) ? slotmem_count(old) : 1, 1);
        if (taken == NULL) {
            snprintf(err, errlen, "out of memory");
            errno = ENOMEM;
            return -1;
        }
    }

    /* Unlink first: slotmem_create would otherwise take the running segment's name for a
     * crashed run's leftover and report it as stale. */
    if (old != NULL && old->name[0] != '\0')
        slotmem_unlink(old->name);
    if (pg == NULL || pg->balancers == NULL) {
        /* No balancer: no segment, and none left behind for the tools to show. */
        slotmem_unlink(name);
        free(taken);
        return 0;
    }

    size_t gsize = sizeof(struct balancer_shm_global) +
                   (size_t)pg->n_balancers * sizeof(struct balancer_shm_info);
    if (slotmem_create(sm, name, BALANCER_KIND, BALANCER_VERSION, gsize,
                       sizeof(struct balancer_slot), pg->n_member_slots, NULL, err, errlen) < 0)
        goto fail;

    struct balancer_shm_global *g = slotmem_global(sm);
    const struct balancer_shm_global *og = carry ? balancer_shm_global(old) : NULL;
    g->n_balancers = pg->n_balancers;
    g->persist = pg->balancer_persist ? 1 : 0;
    g->generation = generation;
    g->created_ms = scoreboard_now_ms(); /* wall clock: tools show it */
    g->first_created_ms =
        og != NULL && og->first_created_ms > 0 ? og->first_created_ms : g->created_ms;
    /* Free slots (growth) must not read as "health check failed". */
    for (unsigned i = 0; i < pg->n_member_slots; i++)
        atomic_store(&balancer_shm_slot(sm, i)->hc_last_ok, -1);

    unsigned bi = 0;
    for (struct proxy_balancer *b = pg->balancers; b != NULL; b = b->next, bi++) {
        struct balancer_shm_info *in = &g->info[bi];
        const struct balancer_shm_info *oin = carry ? find_old_info(old, b->name) : NULL;
        char old_lbm[sizeof(in->lbmethod)] = "";

        util_strlcpy(in->name, b->name, sizeof(in->name));
        util_strlcpy(in->lbmethod, lbmethod_of(b), sizeof(in->lbmethod));
        util_strlcpy(in->sticky, b->sticky ? b->sticky : "", sizeof(in->sticky));
        in->slot_base = b->slot_base;
        in->n_members = b->n_members;
        in->n_slots = b->n_members + (b->growth > 0 ? (unsigned)b->growth : 0);
        in->maxattempts = b->maxattempts;
        in->timeout_ms = b->timeout_ms;
        in->nofailover = b->nofailover ? 1 : 0;
        /* The nonce survives a restart so a manager page loaded before a reload still
         * works; it is secret either way. */
        if (b->nonce != NULL) /* nonce=: the admin's value, or "" for None (no check) */
            util_strlcpy(in->nonce, b->nonce, sizeof(in->nonce));
        else if (oin != NULL && oin->nonce[0] != '\0')
            copy_field(in->nonce, sizeof(in->nonce), oin->nonce, sizeof(oin->nonce));
        else if (make_nonce(in->nonce, sizeof(in->nonce)) < 0) {
            saved = errno;
            snprintf(err, errlen, "cannot get random bytes for the balancer nonce: %s",
                     strerror(saved));
            errno = saved;
            goto fail;
        }
        if (oin != NULL)
            copy_field(old_lbm, sizeof(old_lbm), oin->lbmethod, sizeof(oin->lbmethod));
        /* lbstatus means something else under another lbmethod (httpd resets it too). */
        int keep_lbstatus = oin != NULL && strcmp(old_lbm, in->lbmethod) == 0;

        for (struct proxy_member *m = b->members; m != NULL; m = m->next) {
            struct balancer_slot *s = balancer_shm_slot(sm, m->slot);
            bind_member(s, m, bi, generation);
            if (!carry)
                continue;
            unsigned oi = find_old_slot(old, taken, b->name, m->worker->name);
            if (oi == UINT32_MAX)
                continue;
            const struct balancer_slot *o = balancer_shm_slot(old, oi);
            carry_runtime(s, o, keep_lbstatus, has_hc(m));
            if (pg->balancer_persist)
                carry_edits(s, o);
        }
    }
    if (carry && pg->balancer_persist)
        carry_runtime_members(sm, old, taken, generation);

    if (slotmem_set_generation(sm, generation) < 0) {
        saved = errno;
        snprintf(err, errlen, "cannot lock the balancer segment: %s", strerror(saved));
        errno = saved;
        goto fail;
    }
    atomic_store_explicit(&g->ready, 1, memory_order_release);
    free(taken);
    return 0;

fail:
    saved = errno;
    if (sm->hdr != NULL) {
        /* Leave no half-filled segment for the tools. */
        slotmem_detach(sm);
        slotmem_unlink(name);
    }
    free(taken);
    errno = saved;
    return -1;
}

int balancer_shm_attach(struct slotmem *sm, const char *pid_file, char *err, size_t errlen)
{
    char name[96];
    int saved = EPROTO;

    memset(sm, 0, sizeof(*sm));
    if (name_for(pid_file, name, sizeof(name), err, errlen) < 0)
        return -1;
    if (slotmem_attach(sm, name, BALANCER_KIND, BALANCER_VERSION, sizeof(struct balancer_slot), 1,
                       err, errlen) < 0)
        return -1;

    const struct balancer_shm_global *g = balancer_shm_global(sm);
    if (g == NULL) {
        snprintf(err, errlen, "%s: global area too small (%llu bytes)", name,
                 (unsigned long long)sm->hdr->global_size);
        goto fail;
    }
    if (atomic_load_explicit(&g->ready, memory_order_acquire) != 1) {
        snprintf(err, errlen, "%s: the server is still filling the balancer segment", name);
        saved = EAGAIN;
        goto fail;
    }
    uint64_t room = (sm->hdr->global_size - sizeof(*g)) / sizeof(struct balancer_shm_info);
    if (g->n_balancers > room) {
        snprintf(err, errlen, "%s: %u balancers do not fit the %llu-byte global area", name,
                 (unsigned)g->n_balancers, (unsigned long long)sm->hdr->global_size);
        goto fail;
    }
    unsigned count = slotmem_count(sm);
    for (unsigned i = 0; i < g->n_balancers; i++) {
        const struct balancer_shm_info *in = &g->info[i];
        if (in->slot_base > count || in->n_slots > count - in->slot_base ||
            in->n_members > in->n_slots) {
            snprintf(err, errlen, "%s: balancer %u has slots %u+%u beyond the %u slots", name, i,
                     (unsigned)in->slot_base, (unsigned)in->n_slots, count);
            goto fail;
        }
    }
    return 0;
fail:
    slotmem_detach(sm);
    errno = saved;
    return -1;
}

int balancer_shm_unlink(const char *pid_file)
{
    char name[96], err[160];

    if (name_for(pid_file, name, sizeof(name), err, sizeof(err)) < 0)
        return -1;
    return slotmem_unlink(name);
}

struct balancer_slot *balancer_shm_slot(const struct slotmem *sm, unsigned i)
{
    return slotmem_slot(sm, i);
}

struct balancer_shm_global *balancer_shm_global(const struct slotmem *sm)
{
    if (sm == NULL || sm->hdr == NULL || sm->hdr->global_size < sizeof(struct balancer_shm_global))
        return NULL;
    return slotmem_global(sm);
}

unsigned balancer_shm_count(const struct slotmem *sm)
{
    const struct balancer_shm_global *g = balancer_shm_global(sm);
    if (g == NULL)
        return 0;
    uint64_t room = (sm->hdr->global_size - sizeof(*g)) / sizeof(struct balancer_shm_info);
    return g->n_balancers < room ? g->n_balancers : (unsigned)room;
}

struct balancer_shm_info *balancer_shm_info(const struct slotmem *sm, unsigned i)
{
    if (i >= balancer_shm_count(sm))
        return NULL;
    return &balancer_shm_global(sm)->info[i];
}

char *balancer_status_text(unsigned status, char *out, size_t outlen)
{
    static const struct {
        unsigned flag;
        char letter;
    } order[] = {
        {MEMBER_IGNORE, 'I'}, {MEMBER_DRAIN, 'N'},   {MEMBER_DISABLED, 'D'}, {MEMBER_STOPPED, 'S'},
        {MEMBER_ERROR, 'E'},  {MEMBER_STANDBY, 'H'}, {MEMBER_SPARE, 'R'},    {MEMBER_HCFAIL, 'C'},
    };
    char buf[16];
    size_t n = 0;

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++)
        if (status & order[i].flag)
            buf[n++] = order[i].letter;
    buf[n] = '\0';
    int usable = !(status & (MEMBER_DISABLED | MEMBER_STOPPED | MEMBER_ERROR | MEMBER_HCFAIL));
    snprintf(out, outlen, "%s%s%s", buf, usable && n ? " " : "", usable ? "Ok" : "");
    return out;
}
