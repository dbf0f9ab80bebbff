/* RewriteMap dbd:/fastdbd: and the mod_dbd directives that configure them. DBDriver sqlite3
 * is always built in; pgsql when configure found libpq (HAVE_LIBPQ). Each worker process
 * opens its own connection on the first lookup (prefork: httpd's "single LAMP-style
 * persistent connection" per process) and prepares each map's statement on it once; the
 * key is always bound as a parameter, never pasted into the SQL. Connections never cross a
 * fork: a worker forgets whatever the process it was forked from had. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>
#ifdef HAVE_LIBPQ
#include <dlfcn.h>
#include <libpq-fe.h>
#endif

#include "arena.h"
#include "conf_registry.h"
#include "conn.h"
#include "log.h"
#include "rewrite_map_impl.h"
#include "util.h"

enum dbd_driver { DBD_NONE, DBD_SQLITE3, DBD_PGSQL };

#ifdef HAVE_LIBPQ
/* libpq is not linked but loaded when a DBDriver pgsql line is read (in the master, so the
 * workers inherit it): it pulls in Kerberos, LDAP, SASL, GnuTLS and a dozen more libraries,
 * and every worker would pay for their relocated pages, fork handlers and page tables even
 * when no map uses PostgreSQL. Its soname has been libpq.so.5 since PostgreSQL 8.0. */
#define LIBPQ_SONAME "libpq.so.5"
#define PQ_FUNCS(X)                                                                                \
    X(PQclear)                                                                                     \
    X(PQconnectdbParams)                                                                           \
    X(PQerrorMessage)                                                                              \
    X(PQexec)                                                                                      \
    X(PQexecPrepared)                                                                              \
    X(PQfinish)                                                                                    \
    X(PQgetisnull)                                                                                 \
    X(PQgetvalue)                                                                                  \
    X(PQnfields)                                                                                   \
    X(PQntuples)                                                                                   \
    X(PQprepare)                                                                                   \
    X(PQresultStatus)                                                                              \
    X(PQsocket)                                                                                    \
    X(PQstatus)

static struct {
#define PQ_FIELD(f) __typeof__(f) *f;
    PQ_FUNCS(PQ_FIELD)
#undef PQ_FIELD
    int loaded;
} pq;

/* NULL, or why libpq could not be used. Never unloaded: a restart that drops DBDriver pgsql
 * keeps it mapped, as the process may still hold connections of the old configuration. */
static const char *pq_load(void)
{
    if (pq.loaded)
        return NULL;
    void *h = dlopen(LIBPQ_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        return dlerror();
    void *sym;
#define PQ_SYM(f)                                                                                  \
    if ((sym = dlsym(h, #f)) == NULL)                                                              \
        return LIBPQ_SONAME " has no " #f;                                                         \
    memcpy(&pq.f, &sym, sizeof(sym)); /* ISO C has no object-to-function pointer cast */
    PQ_FUNCS(PQ_SYM)
#undef PQ_SYM
    pq.loaded = 1;
    return NULL;
}
#endif

struct dbd_sql {
    char *sql;
    char *label; /* DBDPrepareSQL only */
    struct dbd_sql *next;
};

/* Per server (conf_server.dbd); unset fields come from the main server, as httpd merges. */
struct dbd_conf {
    enum dbd_driver driver; /* DBD_NONE = unset */
    char *params;           /* DBDParams as written, NULL = unset */
    char *params_path;      /* the same, ServerRoot-relative (the sqlite3 database file) */
    int persist;            /* DBDPersist, CONF_UNSET = On */
    /* DBDMin/DBDKeep/DBDMax/DBDExptime size httpd's per-process pool on threaded MPMs; a
     * prefork worker has exactly one connection, so they are accepted and kept for -t -D
     * DUMP only. */
    int min, keep, max, exptime;
    struct dbd_sql *prepared; /* DBDPrepareSQL: no portico module uses labels yet */
    struct dbd_sql *init;     /* DBDInitSQL, run on every new connection */
};

/* m->priv */
struct dbd_map {
    char *sql_sqlite; /* the query with '?' for the key */
    char *sql_pg;     /* the query with $1 */
    int nparams;      /* 0 or 1 */
    int fast;         /* fastdbd: answers cached per process */
    const struct conf_server *main;
};

/* ---- directives ---- */

static struct dbd_conf *dbd_get(struct conf_cmd *cmd)
{
    struct conf_server *s = cmd->server;
    if (s->dbd == NULL) {
        s->dbd = arena_calloc(cmd->arena, 1, sizeof(*s->dbd));
        if (s->dbd == NULL)
            return NULL;
        s->dbd->persist = s->dbd->min = s->dbd->keep = s->dbd->max = s->dbd->exptime = CONF_UNSET;
    }
    return s->dbd;
}

static const char *set_driver(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d, (void)argc;
    struct dbd_conf *dc = dbd_get(cmd);
    if (dc == NULL)
        return "out of memory";
    if (util_strcaseeq(argv[0], "sqlite3")) {
        dc->driver = DBD_SQLITE3;
        return NULL;
    }
    if (util_strcaseeq(argv[0], "pgsql")) {
#ifdef HAVE_LIBPQ
        const char *why = pq_load();
        if (why != NULL)
            return conf_errf(cmd, "pgsql: cannot load %s (%s): install libpq5", LIBPQ_SONAME, why);
        dc->driver = DBD_PGSQL;
        return NULL;
#else
        return "pgsql: this portico was built without PostgreSQL support (libpq); install "
               "libpq-dev and run configure again";
#endif
    }
    return conf_errf(cmd, "driver '%s' is not available (portico has sqlite3 and pgsql)", argv[0]);
}

static const char *set_params(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d, (void)argc;
    struct dbd_conf *dc = dbd_get(cmd);
    if (dc == NULL)
        return "out of memory";
    dc->params = arena_strdup(cmd->arena, argv[0]);
    /* httpd hands the string to sqlite3_open unchanged (relative to the daemon's cwd, /);
     * portico reads a relative database path from ServerRoot like every other file. */
    if (argv[0][0] != '\0' && strcmp(argv[0], ":memory:") != 0 && strncmp(argv[0], "file:", 5) != 0)
        dc->params_path = conf_server_path(cmd, argv[0]);
    else
        dc->params_path = dc->params;
    return NULL;
}

static const char *set_persist(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d, (void)argc;
    struct dbd_conf *dc = dbd_get(cmd);
    if (dc == NULL)
        return "out of memory";
    dc->persist = argv[0][0] == '1';
    return NULL;
}

static const char *set_number(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)argc;
    struct dbd_conf *dc = dbd_get(cmd);
    long long v;
    if (dc == NULL)
        return "out of memory";
    if (util_parse_ll(argv[0], 0, 1000000000, &v) < 0)
        return conf_errf(cmd, "'%s' is not a number of %s", argv[0],
                         d->offset == 3 ? "seconds" : "connections");
    int *slot[] = {&dc->min, &dc->keep, &dc->max, &dc->exptime};
    *slot[d->offset] = (int)v;
    return NULL;
}

static const char *add_sql(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                           char **argv)
{
    struct dbd_conf *dc = dbd_get(cmd);
    struct dbd_sql *q = arena_calloc(cmd->arena, 1, sizeof(*q));
    if (dc == NULL || q == NULL)
        return "out of memory";
    if (argv[0][0] == '\0')
        return "needs an SQL statement";
    q->sql = arena_strdup(cmd->arena, argv[0]);
    q->label = argc > 1 ? arena_strdup(cmd->arena, argv[1]) : NULL;
    struct dbd_sql **tail = d->offset == 1 ? &dc->prepared : &dc->init;
    while (*tail != NULL)
        tail = &(*tail)->next;
    *tail = q;
    return NULL;
}

static const struct conf_directive dbd_directives[] = {
    {"DBDriver", CTX_SRV_ANY, ARGS_TAKE1, set_driver, TGT_NONE, 0, 0, 0, 0, MOD_DBD,
     "DBDriver sqlite3|pgsql"},
    {"DBDParams", CTX_SRV_ANY, ARGS_TAKE1, set_params, TGT_NONE, 0, 0, 0, 0, MOD_DBD,
     "DBDParams database-file (sqlite3) | \"libpq conninfo\" (pgsql)"},
    {"DBDPersist", CTX_SRV_ANY, ARGS_FLAG, set_persist, TGT_NONE, 0, 0, 0, 0, MOD_DBD,
     "DBDPersist On|Off"},
    {"DBDMin", CTX_SRV_ANY, ARGS_TAKE1, set_number, TGT_NONE, 0, 0, 0, 0, MOD_DBD, "DBDMin number"},
    {"DBDKeep", CTX_SRV_ANY, ARGS_TAKE1, set_number, TGT_NONE, 1, 0, 0, 0, MOD_DBD,
     "DBDKeep number"},
    {"DBDMax", CTX_SRV_ANY, ARGS_TAKE1, set_number, TGT_NONE, 2, 0, 0, 0, MOD_DBD, "DBDMax number"},
    {"DBDExptime", CTX_SRV_ANY, ARGS_TAKE1, set_number, TGT_NONE, 3, 0, 0, 0, MOD_DBD,
     "DBDExptime seconds"},
    {"DBDPrepareSQL", CTX_SRV_ANY, ARGS_TAKE2, add_sql, TGT_NONE, 1, 0, 0, 0, MOD_DBD,
     "DBDPrepareSQL \"SQL statement\" label"},
    {"DBDInitSQL", CTX_SRV_ANY, ARGS_TAKE1, add_sql, TGT_NONE, 2, 0, 0, 0, MOD_DBD,
     "DBDInitSQL \"SQL statement\""},
};

const struct conf_table conf_table_dbd = {dbd_directives,
                                          sizeof(dbd_directives) / sizeof(dbd_directives[0])};

/* What a server uses: its own settings, the main server's for what it left unset. */
struct dbd_eff {
    enum dbd_driver driver;
    const char *params, *params_path;
    int persist;
    const struct dbd_sql *init;
};

static void dbd_effective(const struct conf_server *s, const struct conf_server *main,
                          struct dbd_eff *e)
{
    const struct dbd_conf *own = s != NULL ? s->dbd : NULL;
    const struct dbd_conf *base = main != NULL && main != s ? main->dbd : NULL;
    memset(e, 0, sizeof(*e));
    e->persist = CONF_UNSET;
    for (int i = 0; i < 2; i++) {
        const struct dbd_conf *dc = i == 0 ? own : base;
        if (dc == NULL)
            continue;
        if (e->driver == DBD_NONE)
            e->driver = dc->driver;
        if (e->params == NULL)
            e->params = dc->params, e->params_path = dc->params_path;
        if (e->persist == CONF_UNSET)
            e->persist = dc->persist;
        if (e->init == NULL)
            e->init = dc->init;
    }
    if (e->params == NULL)
        e->params = e->params_path = "";
    if (e->persist == CONF_UNSET)
        e->persist = 1;
}

/* ---- defining a map ---- */

/* apr_dbd_prepare's placeholder syntax: '%' + a letter (with the hh/h/l/ll/pD size
 * prefixes) is a parameter, "%%" is a literal '%'. Writes the query with the driver's
 * marker into out (NULL = only count); returns the number of parameters. */
static int translate_sql(const char *q, int pg, char *out)
{
    int n = 0;
    size_t o = 0;
    for (; *q; q++) {
        if (q[0] == '%' && q[1] == '%') {
            if (out)
                out[o] = '%';
            o++;
            q++;
            continue;
        }
        if (q[0] == '%' && ((q[1] >= 'a' && q[1] <= 'z') || (q[1] >= 'A' && q[1] <= 'Z'))) {
            q++;
            if ((q[0] == 'h' && q[1] == 'h') || (q[0] == 'l' && q[1] == 'l'))
                q += (q[2] == 'd' || q[2] == 'u') ? 2 : 0;
            else if ((q[0] == 'h' || q[0] == 'l') && (q[1] == 'd' || q[1] == 'u' || q[1] == 'f'))
                q++;
            else if (q[0] == 'p' && q[1] == 'D' && q[2] != '\0')
                q += 2;
            n++;
            char mark[16];
            int len =
                pg ? snprintf(mark, sizeof(mark), "$%d", n) : snprintf(mark, sizeof(mark), "?");
            if (out)
                memcpy(out + o, mark, (size_t)len);
            o += (size_t)len;
            continue;
        }
        if (out)
            out[o] = *q;
        o++;
    }
    if (out)
        out[o] = '\0';
    return n;
}

const char *rwmap_dbd_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *sql, int fast)
{
    while (*sql == ' ' || *sql == '\t')
        sql++;
    if (*sql == '\0')
        return conf_errf(cmd, "RewriteMap %s: %sdbd: needs an SQL query", m->name,
                         fast ? "fast" : "");
    struct dbd_eff e;
    dbd_effective(cmd->server, cmd->conf->main, &e);
    if (e.driver == DBD_NONE)
        return conf_errf(cmd,
                         "RewriteMap %s: %sdbd: needs a database: put DBDriver and DBDParams "
                         "before this line (in this server or the main server)",
                         m->name, fast ? "fast" : "");
    int n = translate_sql(sql, 0, NULL);
    if (n > 1)
        return conf_errf(cmd,
                         "RewriteMap %s: the query has %d parameters; a map lookup passes "
                         "exactly one, the key (%%s)",
                         m->name, n);
    if (n == 0)
        conf_warn(cmd,
                  "RewriteMap %s: the query has no %%s parameter: every key gets the same "
                  "answer",
                  m->name);
    struct dbd_map *dm = arena_calloc(cmd->arena, 1, sizeof(*dm));
    size_t cap = strlen(sql) + 16;
    if (dm == NULL || (dm->sql_sqlite = arena_alloc(cmd->arena, cap)) == NULL ||
        (dm->sql_pg = arena_alloc(cmd->arena, cap)) == NULL)
        return "out of memory";
    translate_sql(sql, 0, dm->sql_sqlite);
    translate_sql(sql, 1, dm->sql_pg);
    dm->nparams = n;
    dm->fast = fast;
    dm->main = cmd->conf->main;
    m->priv = dm;
    return NULL;
}

/* ---- per-process connections ---- */

struct dbd_conn {
    enum dbd_driver driver;
    char *params; /* malloc'd: identifies the connection */
    sqlite3 *db;
#ifdef HAVE_LIBPQ
    PGconn *pg;
#endif
    sqlite3_stmt **stmts;       /* per map index */
    unsigned char *pg_prepared; /* per map index */
    unsigned nmaps;
    struct dbd_conn *next;
};

struct dbd_centry {
    struct dbd_centry *next;
    char *val; /* "" = not found */
    char key[];
};

#define DBD_CACHE_BUCKETS 1024
/* Per map and process; past either bound the cache starts over. Keys are request data (a
 * URL can be 8 KB), so the count alone would not bound the memory. */
#define DBD_CACHE_MAX   100000
#define DBD_CACHE_BYTES (4u * 1024 * 1024)

struct dbd_cache {
    struct dbd_centry *b[DBD_CACHE_BUCKETS];
    unsigned count;
    size_t bytes;
};

static struct {
    pid_t pid; /* the process these belong to */
    struct dbd_conn *conns;
    struct dbd_cache **caches; /* per map index, fastdbd only */
    unsigned ncaches;
    uint64_t rng;
} P;

/* After fork: the parent's connections are not ours. Closing them here would talk to the
 * server on the parent's behalf (PQfinish sends Terminate), so they are only forgotten;
 * their sockets are closed without a word. */
static void dbd_close(struct dbd_conn *c);

static void dbd_forget_all(void)
{
    /* Our own connections (child_init called again in the same process) close normally. */
    while (P.pid == getpid() && P.conns != NULL)
        dbd_close(P.conns);
    for (struct dbd_conn *c = P.conns; c;) {
        struct dbd_conn *next = c->next;
#ifdef HAVE_LIBPQ
        if (c->pg != NULL && pq.PQsocket(c->pg) >= 0)
            close(pq.PQsocket(c->pg));
#endif
        free(c->params);
        free(c->stmts);
        free(c->pg_prepared);
        free(c);
        c = next;
    }
    P.conns = NULL;
    for (unsigned i = 0; i < P.ncaches; i++) {
        struct dbd_cache *ca = P.caches[i];
        for (unsigned b = 0; ca != NULL && b < DBD_CACHE_BUCKETS; b++)
            for (struct dbd_centry *e = ca->b[b]; e;) {
                struct dbd_centry *n = e->next;
                free(e->val);
                free(e);
                e = n;
            }
        free(ca);
    }
    free(P.caches);
    P.caches = NULL;
    P.ncaches = 0;
    P.pid = getpid();
    P.rng = ((uint64_t)P.pid << 32) ^ (uint64_t)time(NULL) ^ 0x9e3779b97f4a7c15ull;
}

void rwmap_dbd_child_init(const struct conf *c)
{
    (void)c;
    dbd_forget_all();
}

static void dbd_close(struct dbd_conn *c)
{
    for (unsigned i = 0; i < c->nmaps; i++)
        if (c->stmts[i] != NULL)
            sqlite3_finalize(c->stmts[i]);
    if (c->db != NULL)
        sqlite3_close(c->db);
#ifdef HAVE_LIBPQ
    if (c->pg != NULL)
        pq.PQfinish(c->pg);
#endif
    struct dbd_conn **pp = &P.conns;
    while (*pp != NULL && *pp != c)
        pp = &(*pp)->next;
    if (*pp == c)
        *pp = c->next;
    free(c->params);
    free(c->stmts);
    free(c->pg_prepared);
    free(c);
}

static const char *client_of(const struct request *r)
{
    return r != NULL && r->c != NULL ? r->c->client_addr : NULL;
}

static int run_init_sql(const struct request *r, struct dbd_conn *c, const struct dbd_sql *init)
{
    for (const struct dbd_sql *q = init; q; q = q->next) {
        if (c->driver == DBD_SQLITE3) {
            char *msg = NULL;
            if (sqlite3_exec(c->db, q->sql, NULL, NULL, &msg) != SQLITE_OK) {
                log_msg(MOD_DBD, LL_ERROR, 0, client_of(r), "DBDInitSQL \"%s\" failed: %s", q->sql,
                        msg != NULL ? msg : "?");
                sqlite3_free(msg);
                return -1;
            }
        }
#ifdef HAVE_LIBPQ
        if (c->driver == DBD_PGSQL) {
            PGresult *res = pq.PQexec(c->pg, q->sql);
            ExecStatusType st = pq.PQresultStatus(res);
            if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
                log_msg(MOD_DBD, LL_ERROR, 0, client_of(r), "DBDInitSQL \"%s\" failed: %s", q->sql,
                        pq.PQerrorMessage(c->pg));
                pq.PQclear(res);
                return -1;
            }
            pq.PQclear(res);
        }
#endif
    }
    return 0;
}

/* *fresh says whether the connection was opened by this call (else it is a kept one). */
static struct dbd_conn *dbd_connect(const struct request *r, const struct dbd_eff *e,
                                    unsigned nmaps, int *fresh)
{
    const char *params = e->driver == DBD_SQLITE3 ? e->params_path : e->params;
    *fresh = 0;
    for (struct dbd_conn *c = P.conns; c; c = c->next)
        if (c->driver == e->driver && strcmp(c->params, params) == 0 && c->nmaps >= nmaps)
            return c;
    *fresh = 1;
    struct dbd_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->driver = e->driver;
    c->nmaps = nmaps;
    c->params = strdup(params);
    c->stmts = calloc(nmaps + 1, sizeof(*c->stmts));
    c->pg_prepared = calloc(nmaps + 1, 1);
    if (c->params == NULL || c->stmts == NULL || c->pg_prepared == NULL)
        goto fail;
    c->next = P.conns;
    P.conns = c;
    if (e->driver == DBD_SQLITE3) {
        /* No CREATE: a mistyped path is an error, not a new empty database. */
        int rc = sqlite3_open_v2(params, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI, NULL);
        if (rc != SQLITE_OK) {
            log_msg(MOD_DBD, LL_ERROR, 0, client_of(r), "DBD sqlite3: cannot open %s: %s", params,
                    c->db != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
            goto fail_listed;
        }
        sqlite3_busy_timeout(c->db, 5000);
    }
#ifdef HAVE_LIBPQ
    if (e->driver == DBD_PGSQL) {
        /* Our connect_timeout first: one in the admin's conninfo overrides it. */
        const char *keys[] = {"connect_timeout", "dbname", NULL};
        const char *vals[] = {"10", params, NULL};
        c->pg = pq.PQconnectdbParams(keys, vals, 1);
        if (c->pg == NULL || pq.PQstatus(c->pg) != CONNECTION_OK) {
            log_msg(MOD_DBD, LL_ERROR, 0, client_of(r), "DBD pgsql: cannot connect: %s",
                    c->pg != NULL ? pq.PQerrorMessage(c->pg) : "out of memory");
            goto fail_listed;
        }
    }
#endif
    if (run_init_sql(r, c, e->init) < 0)
        goto fail_listed;
    return c;
fail_listed:
    dbd_close(c);
    return NULL;
fail:
    free(c->params);
    free(c->stmts);
    free(c->pg_prepared);
    free(c);
    return NULL;
}

static uint64_t dbd_rand(void)
{
    P.rng ^= P.rng << 13;
    P.rng ^= P.rng >> 7;
    P.rng ^= P.rng << 17;
    return P.rng;
}

/* httpd's choice among several rows: each later row replaces the pick with chance 1/n. */
static int take_row(unsigned n)
{
    return n == 1 || dbd_rand() % n == 0;
}

/* 0 = answered (*out NULL when no row), -1 = query error, -2 = connection broken. */
static int query_sqlite(struct request *r, struct dbd_conn *c, const struct rewrite_map *m,
                        const struct dbd_map *dm, const char *key, const char **out)
{
    sqlite3_stmt *st = c->stmts[m->index];
    if (st == NULL) {
        if (sqlite3_prepare_v2(c->db, dm->sql_sqlite, -1, &st, NULL) != SQLITE_OK) {
            log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                    "RewriteMap %s: cannot prepare \"%s\": %s", m->name, dm->sql_sqlite,
                    sqlite3_errmsg(c->db));
            int ec = sqlite3_errcode(c->db);
            return ec == SQLITE_NOTADB || ec == SQLITE_CORRUPT || ec == SQLITE_IOERR ? -2 : -1;
        }
        c->stmts[m->index] = st;
    }
    if (dm->nparams > 0)
        sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
    unsigned n = 0;
    int rc;
    *out = NULL;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        n++;
        const unsigned char *v = sqlite3_column_count(st) > 0 ? sqlite3_column_text(st, 0) : NULL;
        if (take_row(n))
            *out = v != NULL ? arena_strdup(r->arena, (const char *)v) : NULL;
    }
    int ec = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(c->db);
    if (rc != SQLITE_DONE)
        log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r), "RewriteMap %s: error %s looking up %s",
                m->name, sqlite3_errmsg(c->db), key);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (n > 1)
        log_msg(MOD_REWRITE, LL_TRACE3, 0, client_of(r), "Multiple values found for %s", key);
    if (rc == SQLITE_DONE)
        return 0;
    *out = NULL;
    return ec == SQLITE_NOTADB || ec == SQLITE_CORRUPT || ec == SQLITE_IOERR ? -2 : -1;
}

#ifdef HAVE_LIBPQ
static int query_pg(struct request *r, struct dbd_conn *c, const struct rewrite_map *m,
                    const struct dbd_map *dm, const char *key, const char **out)
{
    char name[48];
    snprintf(name, sizeof(name), "portico_rewritemap_%u", m->index);
    *out = NULL;
    if (!c->pg_prepared[m->index]) {
        PGresult *res = pq.PQprepare(c->pg, name, dm->sql_pg, dm->nparams, NULL);
        int okp = pq.PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!okp)
            log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                    "RewriteMap %s: cannot prepare \"%s\": %s", m->name, dm->sql_pg,
                    pq.PQerrorMessage(c->pg));
        pq.PQclear(res);
        if (!okp)
            return pq.PQstatus(c->pg) == CONNECTION_OK ? -1 : -2;
        c->pg_prepared[m->index] = 1;
    }
    const char *vals[1] = {key};
    PGresult *res =
        pq.PQexecPrepared(c->pg, name, dm->nparams, dm->nparams > 0 ? vals : NULL, NULL, NULL, 0);
    if (pq.PQresultStatus(res) != PGRES_TUPLES_OK) {
        log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r), "RewriteMap %s: error %s looking up %s",
                m->name, pq.PQerrorMessage(c->pg), key);
        pq.PQclear(res);
        return pq.PQstatus(c->pg) == CONNECTION_OK ? -1 : -2;
    }
    int rows = pq.PQntuples(res);
    for (int i = 0; i < rows && pq.PQnfields(res) > 0; i++)
        if (take_row((unsigned)i + 1))
            *out =
                pq.PQgetisnull(res, i, 0) ? NULL : arena_strdup(r->arena, pq.PQgetvalue(res, i, 0));
    if (rows > 1)
        log_msg(MOD_REWRITE, LL_TRACE3, 0, client_of(r), "Multiple values found for %s", key);
    pq.PQclear(res);
    return 0;
}
#endif

/* ---- fastdbd's per-process cache ---- */

static unsigned cache_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % DBD_CACHE_BUCKETS;
}

static struct dbd_cache *cache_for(unsigned idx, unsigned nmaps)
{
    if (idx >= P.ncaches) {
        unsigned n = nmaps > idx ? nmaps : idx + 1;
        struct dbd_cache **nc = realloc(P.caches, n * sizeof(*nc));
        if (nc == NULL)
            return NULL;
        memset(nc + P.ncaches, 0, (n - P.ncaches) * sizeof(*nc));
        P.caches = nc;
        P.ncaches = n;
    }
    if (P.caches[idx] == NULL)
        P.caches[idx] = calloc(1, sizeof(struct dbd_cache));
    return P.caches[idx];
}

static const struct dbd_centry *cache_get(struct dbd_cache *ca, const char *key)
{
    for (const struct dbd_centry *e = ca->b[cache_hash(key)]; e; e = e->next)
        if (strcmp(e->key, key) == 0)
            return e;
    return NULL;
}

static void cache_put(struct dbd_cache *ca, const char *key, const char *val)
{
    size_t kl = strlen(key);
    size_t cost = sizeof(struct dbd_centry) + kl + 1 + (val != NULL ? strlen(val) : 0) + 1;
    if (cost > DBD_CACHE_BYTES / 16)
        return; /* one huge entry would evict everything else */
    if (ca->count >= DBD_CACHE_MAX || ca->bytes + cost > DBD_CACHE_BYTES) {
        for (unsigned b = 0; b < DBD_CACHE_BUCKETS; b++)
            for (struct dbd_centry *e = ca->b[b]; e;) {
                struct dbd_centry *n = e->next;
                free(e->val);
                free(e);
                e = n;
            }
        memset(ca, 0, sizeof(*ca));
    }
    struct dbd_centry *e = malloc(sizeof(*e) + kl + 1);
    if (e == NULL || (e->val = strdup(val != NULL ? val : "")) == NULL) {
        free(e);
        return;
    }
    memcpy(e->key, key, kl + 1);
    unsigned h = cache_hash(key);
    e->next = ca->b[h];
    ca->b[h] = e;
    ca->count++;
    ca->bytes += cost;
}

/* ---- lookup ---- */

const char *rwmap_dbd_lookup(struct request *r, const struct rewrite_map *m, const char *key)
{
    const struct dbd_map *dm = m->priv;
    if (dm == NULL || key == NULL)
        return NULL;
    if (P.pid != getpid())
        dbd_forget_all(); /* forked without rewrite_maps_child_init: never reuse */
    const struct conf *conf = r != NULL && r->c != NULL ? r->c->conf : NULL;
    unsigned nmaps =
        conf != NULL && conf->n_rewrite_maps > m->index ? conf->n_rewrite_maps : m->index + 1;
    struct dbd_cache *ca = dm->fast ? cache_for(m->index, nmaps) : NULL;
    if (ca != NULL) {
        const struct dbd_centry *e = cache_get(ca, key);
        if (e != NULL)
            return e->val[0] != '\0' ? arena_strdup(r->arena, e->val) : NULL;
    }
    struct dbd_eff e;
    dbd_effective(m->server, dm->main, &e);
    if (e.driver == DBD_NONE) {
        log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                "RewriteMap %s: no DBDriver for this server", m->name);
        return NULL;
    }
    const char *val = NULL;
    int rc = -1;
    /* A kept connection the server dropped (restart, idle timeout) is opened again once; a
     * connection that cannot be opened is not tried twice (a database that is down would
     * cost each lookup two connect timeouts). */
    for (int attempt = 0; attempt < 2; attempt++) {
        int fresh = 0;
        struct dbd_conn *c = dbd_connect(r, &e, nmaps, &fresh);
        if (c == NULL) {
            log_msg(MOD_REWRITE, LL_ERROR, 0, client_of(r),
                    "rewritemap: No db handle available! Check your database access (map %s)",
                    m->name);
            rc = -2;
            break;
        }
        if (c->driver == DBD_SQLITE3)
            rc = query_sqlite(r, c, m, dm, key, &val);
#ifdef HAVE_LIBPQ
        else
            rc = query_pg(r, c, m, dm, key, &val);
#endif
        if (rc == -2 || !e.persist)
            dbd_close(c);
        if (rc != -2 || fresh)
            break;
    }
    if (rc != 0)
        return NULL;
    if (ca != NULL)
        cache_put(ca, key, val);
    return val != NULL && *val != '\0' ? val : NULL;
}
