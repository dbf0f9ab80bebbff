/* RewriteMap dbm[=type]:path. portico is built with GDBM only, so the types httpd knows
 * through APR (sdbm, ndbm, db) are refused at load with a message that says how to
 * rebuild the map (portico-txt2dbm). Each worker keeps its maps open read-only and opens
 * one again when the file's mtime, size, inode or device changes (one stat() per lookup,
 * as httpd). Readers take no lock (GDBM_NOLOCK): a long-lived reader holding GDBM's
 * shared lock would make portico-txt2dbm fail to update the file while portico serves.
 * No mmap either, so a file truncated under a worker reads as an error, not SIGBUS. */
#include "config.h"

#include "rewrite_map_impl.h"

#include <errno.h>
#include <gdbm.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "conf_registry.h"
#include "conn.h"
#include "log.h"
#include "util.h"

#define RWMAP_DBM_MAX_OPEN 65536 /* bound on map indexes followed */
#define RWMAP_DBM_FLAGS    (GDBM_READER | GDBM_NOLOCK | GDBM_NOMMAP | GDBM_CLOEXEC)

struct dbm_handle {
    const struct rewrite_map *owner;
    GDBM_FILE db;
    pid_t pid; /* the process that opened it (a forked child opens its own) */
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
};

static struct dbm_handle *handles;
static size_t n_handles;

static const char *client_of(const struct request *r)
{
    return r->c != NULL ? r->c->client_addr : NULL;
}

static void handle_close(struct dbm_handle *h)
{
    /* A descriptor inherited through fork() is closed too: it is this process's copy. */
    if (h->db != NULL)
        gdbm_close(h->db);
    memset(h, 0, sizeof(*h));
}

const char *rwmap_dbm_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *dbmtype,
                             const char *path)
{
    if (dbmtype != NULL && !util_strcaseeq(dbmtype, "gdbm") &&
        !util_strcaseeq(dbmtype, "default")) {
        if (util_strcaseeq(dbmtype, "sdbm") || util_strcaseeq(dbmtype, "ndbm") ||
            util_strcaseeq(dbmtype, "db"))
            return conf_errf(cmd,
                             "dbm type %s is not available: portico is built with GDBM only "
                             "(use dbm: or dbm=gdbm: and rebuild the map with portico-txt2dbm)",
                             dbmtype);
        return conf_errf(cmd, "dbm type %s is invalid (gdbm, default)", dbmtype);
    }
    if (*path == '\0')
        return conf_errf(cmd, "map %s: missing path to dbm map", m->name);
    char *abs = conf_server_path(cmd, path);
    if (abs == NULL)
        return "out of memory";
    m->type = RWM_DBM;
    m->source = abs;

    struct stat st;
    if (stat(abs, &st) != 0) {
        char *pag = arena_printf(cmd->arena, "%s.pag", abs);
        if (pag != NULL && stat(pag, &st) == 0)
            return conf_errf(cmd,
                             "file for map %s not found: %s (%s looks like an SDBM map: "
                             "portico reads GDBM files; rebuild it with portico-txt2dbm)",
                             m->name, abs, pag);
        return conf_errf(cmd, "file for map %s not found: %s", m->name, abs);
    }
    /* httpd only checks that the file exists; opening it here turns a map in another DBM
     * format into a load-time error instead of a failed lookup per request. */
    GDBM_FILE db = gdbm_open(abs, 0, RWMAP_DBM_FLAGS, 0, NULL);
    if (db == NULL)
        return conf_errf(cmd, "map %s: cannot open %s as a GDBM file: %s", m->name, abs,
                         gdbm_strerror(gdbm_errno));
    gdbm_close(db);
    return NULL;
}

static struct dbm_handle *handle_get(const struct rewrite_map *m)
{
    if (m->index >= RWMAP_DBM_MAX_OPEN)
        return NULL;
    if (m->index >= n_handles) {
        size_t n = m->index + 1 < 8 ? 8 : (size_t)m->index + 1;
        struct dbm_handle *nh = realloc(handles, n * sizeof(*nh));
        if (nh == NULL)
            return NULL;
        memset(nh + n_handles, 0, (n - n_handles) * sizeof(*nh));
        handles = nh;
        n_handles = n;
    }
    return &handles[m->index];
}

const char *rwmap_dbm_lookup(struct request *r, const struct rewrite_map *m, const char *key)
{
    struct stat st;
    if (stat(m->source, &st) != 0) {
        log_msg(MOD_REWRITE, LL_ERROR, errno, client_of(r),
                "mod_rewrite: can't access DBM RewriteMap file %s", m->source);
        return NULL;
    }
    struct dbm_handle *h = handle_get(m);
    struct dbm_handle local = {0};
    if (h == NULL)
        h = &local; /* no slot: open, fetch, close (httpd's way) */
    if (h->db != NULL &&
        (h->owner != m || h->pid != getpid() || h->dev != st.st_dev || h->ino != st.st_ino ||
         h->size != st.st_size || h->mtime.tv_sec != st.st_mtim.tv_sec ||
         h->mtime.tv_nsec != st.st_mtim.tv_nsec))
        handle_close(h);
    if (h->db == NULL) {
        h->db = gdbm_open(m->source, 0, RWMAP_DBM_FLAGS, 0, NULL);
        if (h->db == NULL) {
            log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                    "mod_rewrite: can't open DBM RewriteMap %s: %s", m->source,
                    gdbm_strerror(gdbm_errno));
            memset(h, 0, sizeof(*h));
            return NULL;
        }
        h->owner = m;
        h->pid = getpid();
        h->dev = st.st_dev;
        h->ino = st.st_ino;
        h->size = st.st_size;
        h->mtime = st.st_mtim;
    }

    datum k = {(char *)key, (int)strlen(key)};
    datum v = gdbm_fetch(h->db, k);
    const char *out = NULL;
    if (v.dptr != NULL) {
        out = arena_strndup(r->arena, v.dptr, (size_t)v.dsize);
        free(v.dptr);
    } else if (gdbm_errno != GDBM_ITEM_NOT_FOUND && gdbm_errno != GDBM_NO_ERROR) {
        log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                "mod_rewrite: can't read DBM RewriteMap %s: %s", m->source,
                gdbm_strerror(gdbm_errno));
        handle_close(h); /* opened afresh on the next lookup */
    }
    if (h == &local)
        handle_close(h);
    return out;
}
