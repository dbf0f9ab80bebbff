/* RewriteMap: the dispatcher (define and lookup for every type), txt:, rnd:, int:, and the
 * per-process cache of text maps.
 *
 * A text map is read whole into a hash table the first time a worker looks a key up in it,
 * and read again when the file's mtime, size, inode or device changes: one stat() per
 * lookup (as httpd does) and then an O(1) probe, misses included. A file larger than
 * RWMAP_TXT_WHOLE_MAX is not loaded whole (a worker would hold it all); it is scanned per
 * key as httpd does, with a bounded direct-mapped cache of answers (misses too) that is
 * dropped when the file changes; so is a file of more than RWMAP_TXT_MAX_ENTRIES entries. The cache
 * lives in malloc'd memory owned by the process, not by any request or config arena;
 * rewrite_maps_child_init() empties it. */
#include "config.h"

#include "rewrite_map_impl.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "conf_registry.h"
#include "conn.h"
#include "log.h"
#include "util.h"

#define RWMAP_LINE_MAX      1024               /* httpd's REWRITE_MAX_TXT_MAP_LINE */
#define RWMAP_TXT_WHOLE_MAX (16 * 1024 * 1024) /* bigger files are scanned per key */
/* A file of many tiny entries costs more in hash table (12 bytes a slot, up to 2.7 slots an
 * entry) than in text: past this many entries it is scanned per key too, so a worker holds
 * at most ~12 MB of table plus the file's size in strings. */
#define RWMAP_TXT_MAX_ENTRIES (512 * 1024)
#define RWMAP_SCAN_SLOTS      1024  /* answers cached per scanned file */
#define RWMAP_SCAN_KEY_MAX    1024  /* longer keys are not cached */
#define RWMAP_MAX_CACHES      65536 /* bound on map indexes the cache follows */

/* ---------------------------------------------------------------------------------------
 * int: maps
 * ------------------------------------------------------------------------------------- */

typedef char *(*rwmap_int_fn)(struct arena *a, const char *key);

static char *int_toupper(struct arena *a, const char *key)
{
    char *s = arena_strdup(a, key);
    for (char *p = s; p != NULL && *p != '\0'; p++)
        if (*p >= 'a' && *p <= 'z')
            *p = (char)(*p - 'a' + 'A');
    return s;
}

static char *int_tolower(struct arena *a, const char *key)
{
    char *s = arena_strdup(a, key);
    for (char *p = s; p != NULL && *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return s;
}

/* ap_escape_uri(): everything but alphanumerics and $-_.+!*'(),:;@&=/~ becomes %xx with
 * lower-case hex digits (ap_os_escape_path's c2x). */
static char *int_escape(struct arena *a, const char *key)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = strlen(key);
    char *s = arena_alloc(a, 3 * n + 1);
    if (s == NULL)
        return NULL;
    char *o = s;
    for (const unsigned char *p = (const unsigned char *)key; *p != '\0'; p++) {
        if ((*p < 128 && isalnum(*p)) || strchr("$-_.+!*'(),:;@&=/~", *p) != NULL) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return s;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ap_unescape_url() as the map function uses it: every valid %xx is decoded, %2F included
 * (httpd only flags it in a return code the map ignores); a malformed escape stays as it
 * is; %00 ends the string. */
static char *int_unescape(struct arena *a, const char *key)
{
    char *s = arena_strdup(a, key);
    if (s == NULL)
        return NULL;
    size_t x = 0;
    for (size_t y = 0; s[y] != '\0'; x++, y++) {
        int hi, lo;
        if (s[y] == '%' && (hi = hexval((unsigned char)s[y + 1])) >= 0 &&
            (lo = hexval((unsigned char)s[y + 2])) >= 0) {
            s[x] = (char)(hi * 16 + lo);
            y += 2;
        } else {
            s[x] = s[y];
        }
    }
    s[x] = '\0';
    return s;
}

struct int_map {
    const char *name;
    rwmap_int_fn fn;
};

/* httpd looks the name up case-sensitively (an APR hash of registered functions). */
static const struct int_map int_maps[] = {
    {"toupper", int_toupper},
    {"tolower", int_tolower},
    {"escape", int_escape},
    {"unescape", int_unescape},
};

/* ---------------------------------------------------------------------------------------
 * per-process random numbers (rnd:)
 * ------------------------------------------------------------------------------------- */

static uint64_t rng_state;
static pid_t rng_pid; /* 0 = seed on next use; a forked child notices the pid change too */

static uint64_t rng_next(void)
{
    if (rng_pid != getpid()) {
        uint64_t seed = 0;
        if (getrandom(&seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            seed = (uint64_t)ts.tv_nsec * 0x9E3779B97F4A7C15ull ^ (uint64_t)ts.tv_sec;
        }
        rng_pid = getpid();
        rng_state = seed ^ ((uint64_t)rng_pid << 32);
    }
    /* splitmix64 */
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) without modulo bias. */
static unsigned rng_below(unsigned n)
{
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do
        v = rng_next();
    while (v >= limit);
    return (unsigned)(v % n);
}

/* ---------------------------------------------------------------------------------------
 * txt:/rnd: files and their per-process cache
 * ------------------------------------------------------------------------------------- */

struct txt_entry {
    uint32_t hash;
    uint32_t key; /* offsets into txt_cache.strings; key 0 = empty slot (offset 0 unused) */
    uint32_t val;
};

struct scan_slot {
    char *key; /* malloc'd; NULL = empty */
    char *val; /* malloc'd; NULL = cached miss */
};

struct txt_cache {
    const struct rewrite_map *owner; /* the map this entry describes (NULL = unused) */
    int loaded;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    /* whole-file mode */
    char *strings;
    size_t strings_len, strings_cap;
    struct txt_entry *table;
    size_t table_cap; /* power of two */
    size_t n;
    /* scan mode (file bigger than RWMAP_TXT_WHOLE_MAX) */
    struct scan_slot *slots;
};

static struct txt_cache *caches;
static size_t n_caches;

static uint32_t hash_bytes(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 16777619u;
    }
    return h;
}

static void txt_cache_clear(struct txt_cache *tc)
{
    free(tc->strings);
    free(tc->table);
    if (tc->slots != NULL) {
        for (size_t i = 0; i < RWMAP_SCAN_SLOTS; i++) {
            free(tc->slots[i].key);
            free(tc->slots[i].val);
        }
        free(tc->slots);
    }
    memset(tc, 0, sizeof(*tc));
}

/* Empties tc and makes it describe the file st (not loaded yet). */
static void txt_cache_reset(struct txt_cache *tc, const struct rewrite_map *owner,
                            const struct stat *st)
{
    txt_cache_clear(tc);
    tc->owner = owner;
    tc->dev = st->st_dev;
    tc->ino = st->st_ino;
    tc->size = st->st_size;
    tc->mtime = st->st_mtim;
}

static struct txt_cache *txt_cache_get(const struct rewrite_map *m)
{
    if (m->index >= RWMAP_MAX_CACHES)
        return NULL;
    if (m->index >= n_caches) {
        size_t n = m->index + 1 < 16 ? 16 : (size_t)m->index + 1;
        struct txt_cache *c = realloc(caches, n * sizeof(*c));
        if (c == NULL)
            return NULL;
        memset(c + n_caches, 0, (n - n_caches) * sizeof(*c));
        caches = c;
        n_caches = n;
    }
    struct txt_cache *tc = &caches[m->index];
    if (tc->owner != m) {
        txt_cache_clear(tc);
        tc->owner = m;
    }
    return tc;
}

static int same_file(const struct txt_cache *tc, const struct stat *st)
{
    return tc->loaded && tc->dev == st->st_dev && tc->ino == st->st_ino &&
           tc->size == st->st_size && tc->mtime.tv_sec == st->st_mtim.tv_sec &&
           tc->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Splits one line as httpd's lookup_map_txtfile() reads it. Returns 0 when the line holds
 * no entry (comment, leading whitespace, no value). */
static int txt_split(char *line, char **key, size_t *klen, char **val, size_t *vlen)
{
    if (line[0] == '#' || line[0] == '\0' || isspace((unsigned char)line[0]))
        return 0;
    char *p = line;
    while (*p != '\0' && !isspace((unsigned char)*p))
        p++;
    if (*p == '\0') /* key without even a separator after it */
        return 0;
    *key = line;
    *klen = (size_t)(p - line);
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return 0;
    *val = p;
    while (*p != '\0' && !isspace((unsigned char)*p))
        p++;
    *vlen = (size_t)(p - *val);
    return 1;
}

static uint32_t strings_add(struct txt_cache *tc, const char *s, size_t n, int *oom)
{
    if (tc->strings_len + n + 1 > tc->strings_cap) {
        size_t cap = tc->strings_cap ? tc->strings_cap : 4096;
        while (cap < tc->strings_len + n + 1)
            cap *= 2;
        char *ns = realloc(tc->strings, cap);
        if (ns == NULL) {
            *oom = 1;
            return 0;
        }
        tc->strings = ns;
        tc->strings_cap = cap;
    }
    uint32_t off = (uint32_t)tc->strings_len;
    memcpy(tc->strings + off, s, n);
    tc->strings[off + n] = '\0';
    tc->strings_len += n + 1;
    return off;
}

static struct txt_entry *table_find(const struct txt_cache *tc, const char *key, size_t klen,
                                    uint32_t h)
{
    if (tc->table == NULL)
        return NULL;
    size_t mask = tc->table_cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        struct txt_entry *e = &tc->table[i];
        if (e->key == 0)
            return e;
        if (e->hash == h && strncmp(tc->strings + e->key, key, klen) == 0 &&
            tc->strings[e->key + klen] == '\0')
            return e;
    }
}

static int table_grow(struct txt_cache *tc)
{
    size_t cap = tc->table_cap ? tc->table_cap * 2 : 64;
    struct txt_entry *nt = calloc(cap, sizeof(*nt));
    if (nt == NULL)
        return -1;
    for (size_t i = 0; i < tc->table_cap; i++) {
        struct txt_entry *e = &tc->table[i];
        if (e->key == 0)
            continue;
        size_t j = e->hash & (cap - 1);
        while (nt[j].key != 0)
            j = (j + 1) & (cap - 1);
        nt[j] = *e;
    }
    free(tc->table);
    tc->table = nt;
    tc->table_cap = cap;
    return 0;
}

/* Reads the whole file into tc (first occurrence of a key wins). Returns 0, 1 when the file
 * holds too many entries to keep (tc is then half-filled: the caller clears it), or -1
 * (errno). size_hint (the file's size) sizes the string store once. */
static int txt_load(struct txt_cache *tc, FILE *f, off_t size_hint)
{
    char line[RWMAP_LINE_MAX + 1];
    int oom = 0;
    if (size_hint > 0 && size_hint <= RWMAP_TXT_WHOLE_MAX) {
        /* key and value with their NULs never take more than their line */
        tc->strings = malloc((size_t)size_hint + 2);
        tc->strings_cap = tc->strings != NULL ? (size_t)size_hint + 2 : 0;
    }
    strings_add(tc, "", 0, &oom); /* offset 0 marks empty table slots */
    while (!oom && fgets(line, sizeof(line), f) != NULL) {
        char *key, *val;
        size_t klen, vlen;
        if (!txt_split(line, &key, &klen, &val, &vlen))
            continue;
        uint32_t h = hash_bytes(key, klen);
        if (tc->n >= RWMAP_TXT_MAX_ENTRIES)
            return 1;
        if ((tc->n + 1) * 4 > tc->table_cap * 3 && table_grow(tc) != 0) {
            oom = 1;
            break;
        }
        struct txt_entry *e = table_find(tc, key, klen, h);
        if (e->key != 0)
            continue;
        uint32_t ko = strings_add(tc, key, klen, &oom);
        uint32_t vo = strings_add(tc, val, vlen, &oom);
        if (oom)
            break;
        e->hash = h;
        e->key = ko;
        e->val = vo;
        tc->n++;
    }
    if (oom) {
        errno = ENOMEM;
        return -1;
    }
    if (ferror(f)) {
        errno = EIO;
        return -1;
    }
    return 0;
}

/* httpd's per-key scan (files too big to hold). Returns a malloc'd value, NULL for a miss;
 * *err set on a read error. */
static char *txt_scan(FILE *f, const char *key, int *err)
{
    char line[RWMAP_LINE_MAX + 1];
    size_t want = strlen(key);
    while (fgets(line, sizeof(line), f) != NULL) {
        char *k, *v;
        size_t klen, vlen;
        if (!txt_split(line, &k, &klen, &v, &vlen))
            continue;
        if (klen == want && memcmp(k, key, klen) == 0)
            return strndup(v, vlen);
    }
    if (ferror(f))
        *err = 1;
    return NULL;
}

static const char *client_of(const struct request *r)
{
    return r->c != NULL ? r->c->client_addr : NULL;
}

/* The cached value for key (NULL = not in the file), copied into the request arena. *failed
 * is set when the file cannot be read (logged here). */
static const char *txt_lookup(struct request *r, const struct rewrite_map *m, const char *key,
                              int *failed)
{
    struct stat st;
    *failed = 0;
    if (stat(m->source, &st) != 0) {
        log_msg(MOD_REWRITE, LL_ERROR, errno, client_of(r),
                "mod_rewrite: can't access text RewriteMap file %s", m->source);
        *failed = 1;
        return NULL;
    }
    struct txt_cache *tc = txt_cache_get(m);
    size_t klen = strlen(key);
    if (tc != NULL && same_file(tc, &st)) {
        if (tc->slots == NULL) {
            struct txt_entry *e = table_find(tc, key, klen, hash_bytes(key, klen));
            return e != NULL && e->key != 0 ? arena_strdup(r->arena, tc->strings + e->val) : NULL;
        }
        struct scan_slot *s = &tc->slots[hash_bytes(key, klen) & (RWMAP_SCAN_SLOTS - 1)];
        if (s->key != NULL && strcmp(s->key, key) == 0)
            return s->val != NULL ? arena_strdup(r->arena, s->val) : NULL;
    }

    FILE *f = fopen(m->source, "re");
    if (f == NULL) {
        log_msg(MOD_REWRITE, LL_ERROR, errno, client_of(r),
                "mod_rewrite: can't open text RewriteMap file %s", m->source);
        *failed = 1;
        return NULL;
    }
    /* What we read is described by the descriptor's state before reading, so an edit that
     * lands while we read changes the mtime again and the next lookup rereads. */
    if (fstat(fileno(f), &st) != 0)
        memset(&st, 0, sizeof(st));

    /* tc NULL (index out of bounds, no memory): plain uncached scan, as httpd does */
    if (tc != NULL && !same_file(tc, &st)) {
        const struct rewrite_map *owner = tc->owner;
        txt_cache_reset(tc, owner, &st);
        int rc = st.st_size > RWMAP_TXT_WHOLE_MAX ? 1 : txt_load(tc, f, st.st_size);
        int saved = errno;
        if (rc == 1) {
            txt_cache_reset(tc, owner, &st);
            tc->slots = calloc(RWMAP_SCAN_SLOTS, sizeof(*tc->slots));
            tc->loaded = tc->slots != NULL; /* else every lookup scans, uncached */
            rewind(f);
        } else {
            fclose(f);
            if (rc != 0) {
                log_msg(MOD_REWRITE, LL_ERROR, saved, client_of(r),
                        "mod_rewrite: can't read text RewriteMap file %s", m->source);
                txt_cache_clear(tc);
                tc->owner = owner;
                *failed = 1;
                return NULL;
            }
            tc->loaded = 1;
            struct txt_entry *e = table_find(tc, key, klen, hash_bytes(key, klen));
            return e != NULL && e->key != 0 ? arena_strdup(r->arena, tc->strings + e->val) : NULL;
        }
    }

    int err = 0;
    char *v = txt_scan(f, key, &err);
    fclose(f);
    if (err) {
        log_msg(MOD_REWRITE, LL_ERROR, EIO, client_of(r),
                "mod_rewrite: can't read text RewriteMap file %s", m->source);
        free(v);
        *failed = 1;
        return NULL;
    }
    const char *out = v != NULL ? arena_strdup(r->arena, v) : NULL;
    if (tc != NULL && tc->slots != NULL && klen <= RWMAP_SCAN_KEY_MAX) {
        struct scan_slot *s = &tc->slots[hash_bytes(key, klen) & (RWMAP_SCAN_SLOTS - 1)];
        char *k = strdup(key);
        if (k != NULL) {
            free(s->key);
            free(s->val);
            s->key = k;
            s->val = v;
            v = NULL;
        }
    }
    free(v);
    return out;
}

/* httpd's select_random_value_part(): one of the '|'-separated parts, uniformly. */
static const char *rnd_pick(char *value)
{
    unsigned n = 1;
    for (const char *p = value; (p = strchr(p, '|')) != NULL; p++)
        n++;
    if (n == 1)
        return value;
    unsigned k = rng_below(n);
    char *part = value;
    while (k-- > 0)
        part = strchr(part, '|') + 1;
    char *end = strchr(part, '|');
    if (end != NULL)
        *end = '\0';
    return part;
}

/* ---------------------------------------------------------------------------------------
 * define
 * ------------------------------------------------------------------------------------- */

static int has_prefix(const char *s, const char *prefix)
{
    return util_strncaseeq(s, prefix, strlen(prefix));
}

static const char *define_file(struct conf_cmd *cmd, struct rewrite_map *m,
                               enum rewrite_map_type type, const char *path)
{
    const char *what = type == RWM_RND ? "rnd" : "txt";
    if (*path == '\0')
        return conf_errf(cmd, "map %s: missing path to %s map", m->name, what);
    char *abs = conf_server_path(cmd, path);
    if (abs == NULL)
        return "out of memory";
    struct stat st;
    if (stat(abs, &st) != 0)
        return conf_errf(cmd, "file for map %s not found: %s", m->name, abs);
    if (S_ISDIR(st.st_mode))
        return conf_errf(cmd, "file for map %s is a directory: %s", m->name, abs);
    m->type = type;
    m->source = abs;
    return NULL;
}

const char *rewrite_map_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *typesrc,
                               const char *arg3)
{
    if (m->server == NULL)
        m->server = cmd->server;
    m->arg = arg3 != NULL ? arena_strdup(cmd->arena, arg3) : NULL;
    m->priv = NULL;

    if (has_prefix(typesrc, "txt:"))
        return define_file(cmd, m, RWM_TXT, typesrc + 4);
    if (has_prefix(typesrc, "rnd:"))
        return define_file(cmd, m, RWM_RND, typesrc + 4);
    if (has_prefix(typesrc, "dbm")) {
        /* As httpd: anything starting with "dbm" is a DBM map, "dbm:path" or
         * "dbm=type:path". */
        m->type = RWM_DBM;
        if (typesrc[3] == ':')
            return rwmap_dbm_define(cmd, m, NULL, typesrc + 4);
        const char *colon = typesrc[3] == '=' ? strchr(typesrc + 4, ':') : NULL;
        if (colon == NULL)
            return conf_errf(cmd, "bad map: %s", typesrc);
        char *dbmtype = arena_strndup(cmd->arena, typesrc + 4, (size_t)(colon - typesrc - 4));
        if (dbmtype == NULL)
            return "out of memory";
        return rwmap_dbm_define(cmd, m, dbmtype, colon + 1);
    }
    if (has_prefix(typesrc, "dbd:") || has_prefix(typesrc, "fastdbd:")) {
        int fast = typesrc[0] == 'f' || typesrc[0] == 'F';
        const char *sql = typesrc + (fast ? 8 : 4);
        m->type = fast ? RWM_FASTDBD : RWM_DBD;
        m->source = arena_strdup(cmd->arena, sql);
        return rwmap_dbd_define(cmd, m, sql, fast);
    }
    if (has_prefix(typesrc, "prg:")) {
        m->type = RWM_PRG;
        m->source = arena_strdup(cmd->arena, typesrc + 4);
        return rwmap_prg_define(cmd, m, typesrc + 4, arg3);
    }
    if (has_prefix(typesrc, "int:")) {
        const char *fn = typesrc + 4;
        for (size_t i = 0; i < ARRAY_LEN(int_maps); i++) {
            if (strcmp(int_maps[i].name, fn) == 0) {
                m->type = RWM_INT;
                m->source = arena_strdup(cmd->arena, fn);
                m->priv = (void *)&int_maps[i];
                return NULL;
            }
        }
        return conf_errf(cmd, "internal map not found: %s (toupper, tolower, escape, unescape)",
                         fn);
    }
    return define_file(cmd, m, RWM_TXT, typesrc);
}

/* ---------------------------------------------------------------------------------------
 * lookup
 * ------------------------------------------------------------------------------------- */

static void trace_result(struct request *r, const struct rewrite_map *m, const char *tag,
                         const char *key, const char *val)
{
    if (!log_enabled(MOD_REWRITE, LL_TRACE5))
        return;
    if (val != NULL)
        log_msg(MOD_REWRITE, LL_TRACE5, 0, client_of(r), "map lookup OK: map=%s%s key=%s -> val=%s",
                m->name, tag, key, val);
    else
        log_msg(MOD_REWRITE, LL_TRACE5, 0, client_of(r), "map lookup FAILED: map=%s%s key=%s",
                m->name, tag, key);
}

const char *rewrite_map_lookup(struct request *r, const struct rewrite_map *m, const char *key)
{
    const char *v = NULL;
    int failed = 0;
    if (key == NULL)
        key = "";

    switch (m->type) {
    case RWM_TXT:
    case RWM_RND:
        v = txt_lookup(r, m, key, &failed);
        if (failed)
            return NULL;
        trace_result(r, m, "[txt]", key, v != NULL && *v != '\0' ? v : NULL);
        if (v != NULL && m->type == RWM_RND && *v != '\0') {
            v = rnd_pick((char *)v); /* v is the request's own copy */
            if (log_enabled(MOD_REWRITE, LL_TRACE5))
                log_msg(MOD_REWRITE, LL_TRACE5, 0, client_of(r),
                        "randomly chosen the subvalue `%s'", v);
        }
        break;
    case RWM_DBM:
        v = rwmap_dbm_lookup(r, m, key);
        trace_result(r, m, "[dbm]", key, v != NULL && *v != '\0' ? v : NULL);
        break;
    case RWM_INT: {
        const struct int_map *im = m->priv;
        v = im != NULL ? im->fn(r->arena, key) : NULL;
        trace_result(r, m, "", key, v);
        /* httpd hands an internal function's "" on as a value (no default applies) */
        return v;
    }
    case RWM_PRG:
        v = rwmap_prg_lookup(r, m, key);
        trace_result(r, m, "", key, v);
        break;
    case RWM_DBD:
    case RWM_FASTDBD:
        v = rwmap_dbd_lookup(r, m, key);
        if (log_enabled(MOD_REWRITE, LL_TRACE5)) {
            if (v != NULL && *v != '\0')
                log_msg(MOD_REWRITE, LL_TRACE5, 0, client_of(r),
                        "SQL map lookup OK: map %s key=%s, val=%s", m->name, key, v);
            else
                log_msg(MOD_REWRITE, LL_TRACE5, 0, client_of(r),
                        "SQL map lookup FAILED: map %s key=%s", m->name, key);
        }
        break;
    }
    return v != NULL && *v != '\0' ? v : NULL;
}

void rewrite_maps_child_init(const struct conf *c)
{
    for (size_t i = 0; i < n_caches; i++)
        txt_cache_clear(&caches[i]);
    free(caches);
    caches = NULL;
    n_caches = 0;
    rng_pid = 0;
    rwmap_prg_child_init(c);
    rwmap_dbd_child_init(c);
}
