/* RewriteMap txt:, rnd:, int:, dbm: and the define dispatcher (rewrite_map.c,
 * rewrite_map_dbm.c, tools/portico-txt2dbm). Maps are defined through rewrite_map_define()
 * with a conf_cmd on a config loaded from a temporary ServerRoot (where the map files are
 * written); lookups use a request that has only an arena. The error log goes to a file the
 * tests read back (errors and rewrite:trace5 lines). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <gdbm.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "conf_registry.h"
#include "conn.h"
#include "log.h"
#include "rewrite_map.h"
#include "tap.h"
#include "util.h"
#include "testconf.h"

static struct conf *C;
static struct conf_cmd CMD;
static struct arena *A;
static struct request R;
static unsigned next_index;
static char logpath[512];
static int logfd = -1;

static char *root_path(const char *rel)
{
    return arena_printf(A, "%s/%s", testconf_root, rel);
}

static void write_file(const char *rel, const char *text)
{
    char *p = root_path(rel);
    FILE *f = fopen(p, "w");
    if (f == NULL) {
        perror(p);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* Moves the file's mtime by `delta` seconds so a rewrite is seen even on coarse clocks. */
static void bump_mtime(const char *rel, int delta)
{
    struct stat st;
    char *p = root_path(rel);
    if (stat(p, &st) != 0)
        return;
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    ts[1].tv_sec += delta;
    utimensat(AT_FDCWD, p, ts, 0);
}

static struct rewrite_map *define(const char *name, const char *typesrc, const char *arg3,
                                  const char **err)
{
    struct rewrite_map *m = arena_calloc(C->arena, 1, sizeof(*m));
    m->name = arena_strdup(C->arena, name);
    m->file = "test.conf";
    m->line = 1;
    m->index = next_index++;
    *err = rewrite_map_define(&CMD, m, typesrc, arg3);
    return m;
}

/* Defines a map that must load. */
static struct rewrite_map *must(const char *name, const char *typesrc)
{
    const char *err;
    struct rewrite_map *m = define(name, typesrc, NULL, &err);
    if (err != NULL) {
        printf("# define %s %s: %s\n", name, typesrc, err);
        return NULL;
    }
    return m;
}

static const char *look(const struct rewrite_map *m, const char *key)
{
    if (m == NULL)
        return "(map not defined)";
    return rewrite_map_lookup(&R, m, key);
}

/* The error log written since the last call. */
static char *log_since(void)
{
    static off_t seen;
    struct stat st;
    if (fstat(logfd, &st) != 0 || st.st_size <= seen)
        return arena_strdup(A, "");
    size_t n = (size_t)(st.st_size - seen);
    char *buf = arena_alloc(A, n + 1);
    ssize_t got = pread(logfd, buf, n, seen);
    buf[got > 0 ? got : 0] = '\0';
    seen = st.st_size;
    return buf;
}

static int contains(const char *hay, const char *needle)
{
    return hay != NULL && strstr(hay, needle) != NULL;
}

/* ------------------------------------------------------------------------------------- */

static void test_txt(void)
{
    char longline[1200];
    memset(longline, 'x', sizeof(longline));
    memcpy(longline, "long ", 5);
    longline[1100] = '\n';
    longline[1101] = '\0';

    char *text = arena_printf(A,
                              "# a comment\n"
                              "alpha  one   trailing words # and a comment\n"
                              " beta  indented-is-skipped\n"
                              "\tgamma tab-is-skipped\n"
                              "beta two\n"
                              "Alpha UPPER\n"
                              "alpha second-is-ignored\n"
                              "solid\n"
                              "novalue    \n"
                              "\n"
                              "#hidden value\n"
                              "crlf value\r\n"
                              "path /a/b?c=d|e\n"
                              "%s"
                              "last  at-eof-without-newline",
                              longline);
    write_file("map.txt", text);
    struct rewrite_map *m = must("m", "txt:map.txt");
    ok(m != NULL && m->type == RWM_TXT, "txt: map defines");
    if (m == NULL)
        return;
    is_str(m->source, root_path("map.txt"), "txt: path is ServerRoot-relative");

    static const struct {
        const char *key, *want, *what;
    } cases[] = {
        {"alpha", "one", "value is the second token only"},
        {"Alpha", "UPPER", "keys are case-sensitive"},
        {"ALPHA", NULL, "no case folding"},
        {"beta", "two", "lines starting with a space are skipped"},
        {"gamma", NULL, "lines starting with a tab are skipped"},
        {"solid", NULL, "key without value: not found"},
        {"novalue", NULL, "key with only trailing blanks: not found"},
        {"#hidden", NULL, "comment lines never match"},
        {"crlf", "value", "CRLF line: \\r is whitespace"},
        {"path", "/a/b?c=d|e", "value keeps its punctuation"},
        {"last", "at-eof-without-newline", "last line without newline"},
        {"missing", NULL, "unknown key"},
        {"missing", NULL, "unknown key again (cached miss)"},
        {"", NULL, "empty key"},
        {"alpha one", NULL, "key with a space never matches"},
        {"alph", NULL, "prefix of a key does not match"},
        {"alphaa", NULL, "longer key does not match"},
        {"trailing", NULL, "third token is not a key"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        is_str(look(m, cases[i].key), cases[i].want, "txt: %s (%s)", cases[i].what, cases[i].key);

    const char *lv = look(m, "long");
    ok(lv != NULL && strlen(lv) == 1024 - 5, "txt: a line is read 1024 bytes at a time (%zu)",
       lv ? strlen(lv) : 0);
    is_str(look(m, "xxxxxxxxxx"), NULL, "txt: the rest of a long line is a line of its own");

    /* results are the request's: modifying one does not change the cache */
    char *v = (char *)look(m, "alpha");
    if (v != NULL)
        v[0] = 'X';
    is_str(look(m, "alpha"), "one", "txt: the answer is a copy in the request arena");

    /* no type prefix = txt */
    struct rewrite_map *plain = must("plain", "map.txt");
    ok(plain != NULL && plain->type == RWM_TXT, "no type prefix: txt");
    is_str(look(plain, "beta"), "two", "no type prefix: reads as txt");
    struct rewrite_map *upper = must("upper", "TXT:map.txt");
    is_str(look(upper, "alpha"), "one", "type prefix is case-insensitive");
    struct rewrite_map *absm = must("abs", root_path("map.txt"));
    is_str(look(absm, "alpha"), "one", "absolute path kept");
}

static void test_txt_reload(void)
{
    write_file("edit.txt", "k1 old\nk2 same\n");
    struct rewrite_map *m = must("edit", "txt:edit.txt");
    is_str(look(m, "k1"), "old", "reload: first value");
    is_str(look(m, "k3"), NULL, "reload: k3 missing (miss cached)");

    write_file("edit.txt", "k1 new\nk2 same\nk3 added\n");
    bump_mtime("edit.txt", 5);
    is_str(look(m, "k1"), "new", "reload: edited value seen on the next lookup");
    is_str(look(m, "k3"), "added", "reload: a cached miss is forgotten after an edit");

    /* same size, new mtime */
    write_file("edit.txt", "k1 NEW\nk2 same\nk3 added\n");
    bump_mtime("edit.txt", 10);
    is_str(look(m, "k1"), "NEW", "reload: same-size edit with a new mtime");

    /* replaced by rename (new inode), mtime identical */
    struct stat st;
    stat(root_path("edit.txt"), &st);
    write_file("edit.tmp", "k1 renamed\n");
    struct timespec ts[2] = {st.st_atim, st.st_mtim};
    utimensat(AT_FDCWD, root_path("edit.tmp"), ts, 0);
    rename(root_path("edit.tmp"), root_path("edit.txt"));
    is_str(look(m, "k1"), "renamed", "reload: file replaced by rename (new inode)");
    is_str(look(m, "k2"), NULL, "reload: keys gone after the replacement");

    /* vanished: error logged, NULL; back: served again */
    log_since();
    unlink(root_path("edit.txt"));
    is_str(look(m, "k1"), NULL, "vanished file: not found");
    char *lg = log_since();
    ok(contains(lg, "[rewrite:error]") && contains(lg, "can't access text RewriteMap file") &&
           contains(lg, "edit.txt"),
       "vanished file: error logged");
    write_file("edit.txt", "k1 back\n");
    bump_mtime("edit.txt", 20);
    is_str(look(m, "k1"), "back", "file back: read again");

    /* unreadable: error logged */
    if (geteuid() != 0) {
        chmod(root_path("edit.txt"), 0);
        bump_mtime("edit.txt", 30);
        is_str(look(m, "k1"), NULL, "unreadable file: not found");
        ok(contains(log_since(), "can't open text RewriteMap file"), "unreadable file: logged");
        chmod(root_path("edit.txt"), 0644);
    } else {
        ok(1, "# SKIP unreadable file (running as root)");
        ok(1, "# SKIP unreadable file (running as root)");
    }

    /* child init drops the caches; lookups keep working */
    rewrite_maps_child_init(C);
    is_str(look(m, "k1"), "back", "child_init: caches reset, map still answers");

    /* two maps on one file, separate cache entries */
    write_file("shared.txt", "a 1\n");
    struct rewrite_map *s1 = must("s1", "txt:shared.txt");
    struct rewrite_map *s2 = must("s2", "shared.txt");
    is_str(look(s1, "a"), "1", "two maps on one file: first");
    is_str(look(s2, "a"), "1", "two maps on one file: second");

    /* a map index reused by another map (as a new config generation would) */
    struct rewrite_map *other = must("other", "txt:map.txt");
    struct rewrite_map clone = *other;
    clone.index = s1->index;
    is_str(rewrite_map_lookup(&R, &clone, "alpha"), "one", "cache slot reused by another map");
    is_str(look(s1, "a"), "1", "and given back");
}

static size_t heap_in_use(void)
{
    struct mallinfo2 mi = mallinfo2(); /* all 0 under ASan: the bound is then not measured */
    return mi.uordblks + mi.hblkhd;
}

static void test_txt_many(void)
{
    /* 600000 tiny entries in 6.6 MB: under the size limit, but the hash table would cost
     * ~24 MB per worker; the file is scanned per key instead. */
    char *p = root_path("many.txt");
    FILE *f = fopen(p, "w");
    if (f == NULL) {
        ok(0, "many-entries file: create");
        return;
    }
    fputs("k0 first\n", f);
    for (int i = 0; i < 600000; i++)
        fprintf(f, "k%d %d\n", i, i % 10);
    fclose(f);
    struct rewrite_map *m = must("many", "txt:many.txt");
    size_t before = heap_in_use();
    is_str(look(m, "k0"), "first", "many entries: first match wins");
    size_t grew = heap_in_use() - before;
    ok(grew < 4 * 1024 * 1024, "many entries: not held in memory (%zu bytes)", grew);
    is_str(look(m, "k599999"), "9", "many entries: key at the end");
    is_str(look(m, "k599999"), "9", "many entries: cached answer");
    is_str(look(m, "k600000"), NULL, "many entries: miss");
    unlink(p);
}

static void test_txt_big(void)
{
    /* Bigger than the whole-file limit: scanned per key, answers cached. */
    char *p = root_path("big.txt");
    FILE *f = fopen(p, "w");
    if (f == NULL) {
        ok(0, "big file: create");
        return;
    }
    char pad[1025];
    memset(pad, 'p', sizeof(pad));
    pad[0] = '#';
    pad[1023] = '\n';
    pad[1024] = '\0';
    fputs("first 1\nfirst 2\n", f);
    for (int i = 0; i < 17 * 1024; i++)
        fputs(pad, f);
    fputs("endkey endval\n", f);
    fclose(f);
    struct rewrite_map *m = must("big", "txt:big.txt");
    is_str(look(m, "first"), "1", "big file: first match wins");
    is_str(look(m, "endkey"), "endval", "big file: key at the end");
    is_str(look(m, "endkey"), "endval", "big file: cached answer");
    is_str(look(m, "nope"), NULL, "big file: miss");
    is_str(look(m, "nope"), NULL, "big file: cached miss");
    f = fopen(p, "a");
    if (f != NULL) {
        fputs("nope found\n", f);
        fclose(f);
    }
    bump_mtime("big.txt", 5);
    is_str(look(m, "nope"), "found", "big file: appended key seen after the edit");
    unlink(p);
}

static void test_rnd(void)
{
    write_file("rnd.txt", "# servers\n"
                          "three a|b|c\n"
                          "weighted w1|w1|w1|w2\n"
                          "single only\n"
                          "holes x||y\n"
                          "three ignored|second|line\n");
    struct rewrite_map *m = must("r", "rnd:rnd.txt");
    ok(m != NULL && m->type == RWM_RND, "rnd: map defines");
    if (m == NULL)
        return;
    int ca = 0, cb = 0, cc = 0, other = 0;
    for (int i = 0; i < 3000; i++) {
        const char *v = look(m, "three");
        if (v == NULL)
            other++;
        else if (strcmp(v, "a") == 0)
            ca++;
        else if (strcmp(v, "b") == 0)
            cb++;
        else if (strcmp(v, "c") == 0)
            cc++;
        else
            other++;
    }
    is_int(other, 0, "rnd: only the listed alternatives come out");
    ok(ca > 850 && ca < 1150 && cb > 850 && cb < 1150 && cc > 850 && cc < 1150,
       "rnd: uniform over 3000 lookups (a=%d b=%d c=%d)", ca, cb, cc);

    int w1 = 0, w2 = 0;
    for (int i = 0; i < 4000; i++) {
        const char *v = look(m, "weighted");
        if (v != NULL && strcmp(v, "w1") == 0)
            w1++;
        else if (v != NULL && strcmp(v, "w2") == 0)
            w2++;
    }
    ok(w1 + w2 == 4000 && w1 > 2800 && w1 < 3200,
       "rnd: repeating an entry weights it (w1=%d w2=%d, expect ~3000/1000)", w1, w2);
    is_str(look(m, "single"), "only", "rnd: value without | is returned whole");
    is_str(look(m, "nope"), NULL, "rnd: unknown key");

    int nx = 0, ny = 0, nnull = 0;
    for (int i = 0; i < 600; i++) {
        const char *v = look(m, "holes");
        if (v == NULL)
            nnull++;
        else if (strcmp(v, "x") == 0)
            nx++;
        else if (strcmp(v, "y") == 0)
            ny++;
    }
    ok(nx > 120 && ny > 120 && nnull > 120 && nx + ny + nnull == 600,
       "rnd: an empty alternative answers not-found (x=%d y=%d empty=%d)", nx, ny, nnull);

    /* per-process generator: a forked child draws its own sequence */
    int fds[2];
    if (pipe(fds) == 0) {
        pid_t pid = fork();
        if (pid == 0) {
            close(fds[0]);
            char seq[64];
            size_t n = 0;
            for (int i = 0; i < 40; i++) {
                const char *v = rewrite_map_lookup(&R, m, "three");
                seq[n++] = v ? v[0] : '?';
            }
            if (write(fds[1], seq, n) < 0)
                _exit(1);
            _exit(0);
        }
        close(fds[1]);
        char child[64] = {0}, parent[64] = {0};
        ssize_t got = read(fds[0], child, 40);
        close(fds[0]);
        waitpid(pid, NULL, 0);
        for (int i = 0; i < 40; i++) {
            const char *v = look(m, "three");
            parent[i] = v ? v[0] : '?';
        }
        ok(got == 40 && memcmp(child, parent, 40) != 0,
           "rnd: parent and forked child do not share a random sequence");
    } else {
        ok(0, "pipe");
    }
}

static void test_int(void)
{
    struct rewrite_map *up = must("up", "int:toupper");
    struct rewrite_map *lo = must("lo", "int:tolower");
    struct rewrite_map *esc = must("esc", "int:escape");
    struct rewrite_map *unesc = must("unesc", "int:unescape");
    ok(up && lo && esc && unesc && up->type == RWM_INT, "int: the four functions define");
    if (!(up && lo && esc && unesc))
        return;
    is_str(up->source, "toupper", "int: source is the function name");

    static const struct {
        int which; /* 0 up, 1 lo, 2 esc, 3 unesc */
        const char *key, *want, *what;
    } cases[] = {
        {0, "Hello-World_09", "HELLO-WORLD_09", "toupper"},
        {0, "\xc3\xa9t\xc3\xa9", "\xc3\xa9T\xc3\xa9", "toupper: ASCII only"},
        {0, "", "", "toupper of \"\" is \"\" (a value, as httpd)"},
        {1, "MiXeD.Case", "mixed.case", "tolower"},
        {1, "\xc3\x89T\xc3\x89", "\xc3\x89t\xc3\x89", "tolower: ASCII only"},
        {2, "a b", "a%20b", "escape: space"},
        {2, "/p/q?x=1#frag", "/p/q%3fx=1%23frag", "escape: ? and # (lower-case hex)"},
        {2, "100%", "100%25", "escape: % itself"},
        {2, "$-_.+!*'(),:;@&=/~", "$-_.+!*'(),:;@&=/~", "escape: the safe set stays"},
        {2, "AZaz09", "AZaz09", "escape: alphanumerics stay"},
        {2, "\"<>\\^`{|}", "%22%3c%3e%5c%5e%60%7b%7c%7d", "escape: unsafe punctuation"},
        {2, "\xc3\xa9\x01\x7f", "%c3%a9%01%7f", "escape: high bytes and controls"},
        {3, "a%2Fb", "a/b", "unescape: %2F decoded"},
        {3, "a%2fb%20c", "a/b c", "unescape: lower-case hex"},
        {3, "%41%42%43", "ABC", "unescape: several"},
        {3, "100%", "100%", "unescape: lone % kept"},
        {3, "%zz%4", "%zz%4", "unescape: malformed escapes kept"},
        {3, "x%00y", "x", "unescape: %00 ends the value"},
        {3, "a+b", "a+b", "unescape: + is not a space"},
        {3, "%25", "%", "unescape: %25"},
    };
    const struct rewrite_map *maps[] = {up, lo, esc, unesc};
    for (size_t i = 0; i < ARRAY_LEN(cases); i++)
        is_str(look(maps[cases[i].which], cases[i].key), cases[i].want, "int: %s", cases[i].what);
}

static void make_gdbm(const char *rel, const char *const *kv, int newdb)
{
    GDBM_FILE db = gdbm_open(root_path(rel), 0, newdb ? GDBM_NEWDB : GDBM_WRCREAT, 0644, NULL);
    if (db == NULL) {
        printf("# gdbm_open %s: %s\n", rel, gdbm_strerror(gdbm_errno));
        return;
    }
    for (; kv[0] != NULL; kv += 2) {
        datum k = {(char *)kv[0], (int)strlen(kv[0])};
        datum v = {(char *)kv[1], (int)strlen(kv[1])};
        gdbm_store(db, k, v, GDBM_REPLACE);
    }
    gdbm_close(db);
}

static void test_dbm(void)
{
    static const char *const kv1[] = {"alpha", "one", "Beta", "two", "empty", "", NULL};
    make_gdbm("map.db", kv1, 1);
    struct rewrite_map *m = must("d", "dbm:map.db");
    ok(m != NULL && m->type == RWM_DBM, "dbm: map defines");
    if (m == NULL)
        return;
    is_str(m->source, root_path("map.db"), "dbm: path is ServerRoot-relative");
    is_str(look(m, "alpha"), "one", "dbm: fetch");
    is_str(look(m, "Beta"), "two", "dbm: fetch (case as stored)");
    is_str(look(m, "beta"), NULL, "dbm: keys are case-sensitive");
    is_str(look(m, "empty"), NULL, "dbm: empty value = not found");
    is_str(look(m, "nope"), NULL, "dbm: miss");
    is_str(look(m, ""), NULL, "dbm: empty key");

    struct rewrite_map *g = must("g", "dbm=gdbm:map.db");
    is_str(look(g, "alpha"), "one", "dbm=gdbm: accepted");
    struct rewrite_map *g2 = must("g2", "DBM=GDBM:map.db");
    is_str(look(g2, "alpha"), "one", "DBM=GDBM: case-insensitive");
    struct rewrite_map *d2 = must("d2", "dbm=default:map.db");
    is_str(look(d2, "Beta"), "two", "dbm=default: GDBM");

    /* updated in place while the map is open: a writer can lock it, the reader reopens */
    static const char *const kv2[] = {"gamma", "three", "alpha", "uno", NULL};
    make_gdbm("map.db", kv2, 0);
    bump_mtime("map.db", 5);
    is_str(look(m, "gamma"), "three", "dbm: key added while open is seen");
    is_str(look(m, "alpha"), "uno", "dbm: replaced value is seen");
    is_str(look(m, "Beta"), "two", "dbm: update keeps other keys");

    /* replaced by rename */
    static const char *const kv3[] = {"alpha", "fresh", NULL};
    make_gdbm("map.db.new", kv3, 1);
    rename(root_path("map.db.new"), root_path("map.db"));
    is_str(look(m, "alpha"), "fresh", "dbm: file replaced by rename");
    is_str(look(m, "gamma"), NULL, "dbm: old keys gone");

    log_since();
    unlink(root_path("map.db"));
    is_str(look(m, "alpha"), NULL, "dbm: vanished file: not found");
    ok(contains(log_since(), "can't access DBM RewriteMap file"), "dbm: vanished file logged");

    /* not a GDBM file at lookup time */
    write_file("map.db", "alpha one\n");
    is_str(look(m, "alpha"), NULL, "dbm: file turned into text: not found");
    ok(contains(log_since(), "can't open DBM RewriteMap"), "dbm: open failure logged");
    rewrite_maps_child_init(C);
}

static void test_txt2dbm_tool(void)
{
    const char *tool = "./tools/portico-txt2dbm";
    if (access(tool, X_OK) != 0) {
        for (int i = 0; i < 8; i++)
            ok(1, "# SKIP %s not built (run from the build directory)", tool);
        return;
    }
    write_file("src.txt", "# comment\n"
                          "k1 v1 rest ignored\n"
                          " indented skipped\n"
                          "solid\n"
                          "k2 v2\n"
                          "k2 v2b\n");
    char *cmd = arena_printf(A, "%s -i %s -o %s 2>/dev/null", tool, root_path("src.txt"),
                             root_path("tool.db"));
    is_int(system(cmd), 0, "txt2dbm: converts");
    struct rewrite_map *m = must("tool", "dbm:tool.db");
    is_str(look(m, "k1"), "v1", "txt2dbm: second token stored");
    is_str(look(m, "k2"), "v2b", "txt2dbm: a repeated key keeps the last value (httxt2dbm)");
    is_str(look(m, "indented"), NULL, "txt2dbm: indented line skipped");

    cmd = arena_printf(A, "printf 'k3 v3\\n' | %s -f GDBM -i - -o %s 2>/dev/null", tool,
                       root_path("tool.db"));
    is_int(system(cmd), 0, "txt2dbm: stdin input, -f GDBM");
    bump_mtime("tool.db", 5);
    ok(look(m, "k3") != NULL && look(m, "k1") != NULL,
       "txt2dbm: existing file updated, not truncated");

    cmd = arena_printf(A, "%s -f SDBM -i %s -o %s 2>/dev/null", tool, root_path("src.txt"),
                       root_path("x.db"));
    int st = system(cmd);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "txt2dbm: SDBM refused with exit 1");
    st = system(arena_printf(A, "%s -i %s 2>/dev/null", tool, root_path("src.txt")));
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 1, "txt2dbm: missing -o is exit 1");
}

static void test_define_errors(void)
{
    mkdir(root_path("adir"), 0755);
    write_file("notgdbm.db", "text\n");
    write_file("sdbm.pag", "");
    static const struct {
        const char *typesrc, *want;
    } cases[] = {
        {"txt:nope.txt", "file for map e not found: "},
        {"nope.txt", "file for map e not found: "},
        {"rnd:nope.txt", "file for map e not found: "},
        {"txt:", "missing path"},
        {"txt:adir", "is a directory"},
        {"dbm:nope.db", "file for map e not found: "},
        {"dbm:sdbm", "looks like an SDBM map"},
        {"dbm=sdbm:x.db", "portico is built with GDBM only"},
        {"dbm=NDBM:x.db", "portico is built with GDBM only"},
        {"dbm=db:x.db", "portico is built with GDBM only"},
        {"dbm=foo:x.db", "dbm type foo is invalid"},
        {"dbm=gdbm", "bad map: dbm=gdbm"},
        {"dbmap.txt", "bad map: dbmap.txt"},
        {"dbm:notgdbm.db", "cannot open"},
        {"int:nope", "internal map not found: nope"},
        {"int:TOUPPER", "internal map not found: TOUPPER"},
        {"int:", "internal map not found"},
    };
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const char *err = NULL;
        define("e", cases[i].typesrc, NULL, &err);
        ok(contains(err, cases[i].want), "define error: %s -> %s", cases[i].typesrc,
           err ? err : "(accepted)");
    }
    const char *err = NULL;
    define("e", "txt:nope.txt", NULL, &err);
    is_str(err, arena_printf(A, "file for map e not found: %s", root_path("nope.txt")),
           "define error: httpd's wording with the resolved path");

    /* prg: and dbd: go to their own files with the type set */
    struct rewrite_map *p = define("p", "prg:/bin/cat", "nobody:nogroup", &err);
    ok(p->type == RWM_PRG && p->arg != NULL && strcmp(p->arg, "nobody:nogroup") == 0,
       "prg: dispatched, third argument kept");
    struct rewrite_map *d = define("q", "dbd:SELECT v FROM t WHERE k = %s", NULL, &err);
    ok(d->type == RWM_DBD, "dbd: dispatched");
    d = define("q2", "FastDBD:SELECT v FROM t WHERE k = %s", NULL, &err);
    ok(d->type == RWM_FASTDBD, "fastdbd: dispatched (case-insensitive)");
}

static void test_trace(void)
{
    struct conf_loglevel lv;
    memset(&lv, 0, sizeof(lv));
    lv.set = 1;
    lv.level = LL_WARN;
    memset(lv.module, -1, sizeof(lv.module));
    lv.module[MOD_REWRITE] = LL_TRACE5;
    log_set_target(logfd, &lv);
    log_since();
    write_file("tr.txt", "k v\n");
    struct rewrite_map *m = must("tr", "txt:tr.txt");
    look(m, "k");
    look(m, "z");
    struct rewrite_map *u = must("tu", "int:toupper");
    look(u, "abc");
    char *lg = log_since();
    ok(contains(lg, "[rewrite:trace5]") &&
           contains(lg, "map lookup OK: map=tr[txt] key=k -> val=v"),
       "trace5: lookup OK line");
    ok(contains(lg, "map lookup FAILED: map=tr[txt] key=z"), "trace5: lookup FAILED line");
    ok(contains(lg, "map lookup OK: map=tu key=abc -> val=ABC"), "trace5: int map line");
    lv.module[MOD_REWRITE] = LL_TRACE4;
    look(m, "k");
    ok(!contains(log_since(), "map lookup"), "trace4: no map lines");
    log_set_target(logfd, NULL);
}

static const struct rewrite_map *find_map(const struct conf *c, const char *name)
{
    for (const struct rewrite_map *m = c->rewrite_maps; m != NULL; m = m->next_global)
        if (strcmp(m->name, name) == 0)
            return m;
    return NULL;
}

/* The RewriteMap directive itself (rewrite_conf.c): checked when it is registered. */
static void test_directive(void)
{
    if (conf_registry_find("RewriteMap") == NULL) {
        ok(1, "# SKIP RewriteMap directive not registered yet");
        return;
    }
    char err[2048];
    struct conf *c = testconf_load("test_rwmap_dir", "Listen 127.0.0.1:8080\nServerName t\n",
                                   "RewriteMap m txt:nope.txt\n", err, sizeof(err));
    err[strcspn(err, "\n")] = '\0';
    ok(c == NULL && strstr(err, "RewriteMap: file for map m not found: ") != NULL,
       "RewriteMap line: missing file is a file:line error: %s", err);
    if (c != NULL)
        conf_free(c);
    c = testconf_load("test_rwmap_dir", "Listen 127.0.0.1:8080\nServerName t\n",
                      "RewriteMap m int:nope\n", err, sizeof(err));
    err[strcspn(err, "\n")] = '\0';
    ok(c == NULL && strstr(err, "RewriteMap: internal map not found: nope") != NULL,
       "RewriteMap line: unknown int: map: %s", err);
    if (c != NULL)
        conf_free(c);

    /* maps in their own directory (the config's ServerRoot is created by the load) */
    char dir[] = "/tmp/test_rwmap_files.XXXXXX";
    if (mkdtemp(dir) == NULL) {
        ok(0, "mkdtemp");
        return;
    }
    char txt[128], db[128];
    snprintf(txt, sizeof(txt), "%s/hosts.txt", dir);
    snprintf(db, sizeof(db), "%s/hosts.db", dir);
    FILE *f = fopen(txt, "w");
    if (f != NULL) {
        fputs("0 backend-a:8000\n1 backend-b:8000|backend-c:8000\n", f);
        fclose(f);
    }
    GDBM_FILE g = gdbm_open(db, 0, GDBM_NEWDB, 0644, NULL);
    if (g != NULL) {
        datum k = {"0", 1}, v = {"dbm-a", 5};
        gdbm_store(g, k, v, GDBM_REPLACE);
        gdbm_close(g);
    }
    char *body = arena_printf(A,
                              "RewriteEngine On\n"
                              "RewriteMap hashchar2backend \"txt:%s\"\n"
                              "RewriteMap pick rnd:%s\n"
                              "RewriteMap hdb dbm=gdbm:%s\n"
                              "RewriteMap lc int:tolower\n",
                              txt, txt, db);
    c = testconf_load("test_rwmap_dir", "Listen 127.0.0.1:8080\nServerName t\n", body, err,
                      sizeof(err));
    err[strcspn(err, "\n")] = '\0';
    ok(c != NULL, "RewriteMap lines load: %s", err);
    if (c != NULL) {
        const struct rewrite_map *t = find_map(c, "hashchar2backend"), *r = find_map(c, "pick"),
                                 *d = find_map(c, "hdb"), *l = find_map(c, "lc");
        ok(t && r && d && l && c->n_rewrite_maps == 4, "four maps in the conf-wide list");
        if (t && r && d && l) {
            ok(t->index != r->index && r->index != d->index && d->index != l->index,
               "maps have distinct indexes");
            is_str(look(t, "0"), "backend-a:8000", "RewriteMap txt: lookup");
            is_str(look(t, "2"), NULL, "RewriteMap txt: miss (the rule's default applies)");
            const char *pv = look(r, "1");
            ok(pv != NULL &&
                   (strcmp(pv, "backend-b:8000") == 0 || strcmp(pv, "backend-c:8000") == 0),
               "RewriteMap rnd: lookup picks one alternative (%s)", pv ? pv : "(null)");
            is_str(look(d, "0"), "dbm-a", "RewriteMap dbm=gdbm: lookup");
            is_str(look(l, "MiXed"), "mixed", "RewriteMap int:tolower lookup");
        }
        conf_free(c);
    }
    unlink(txt);
    unlink(db);
    rmdir(dir);
}

int main(void)
{
    char err[2048];
    C = testconf_load("test_rwmap", "Listen 127.0.0.1:8080\nServerName t\n", "", err, sizeof(err));
    if (C == NULL) {
        printf("Bail out! config: %s\n", err);
        return 1;
    }
    A = arena_create(0);
    memset(&CMD, 0, sizeof(CMD));
    CMD.conf = C;
    CMD.arena = C->arena;
    CMD.file = "test.conf";
    CMD.line = 1;
    CMD.ctx = CTX_SERVER;
    CMD.server = C->main;
    memset(&R, 0, sizeof(R));
    R.arena = A;

    snprintf(logpath, sizeof(logpath), "%s/error.log", testconf_root);
    logfd = open(logpath, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    log_set_target(logfd, NULL);

    test_txt();
    test_txt_reload();
    test_txt_big();
    test_txt_many();
    test_rnd();
    test_int();
    test_dbm();
    test_txt2dbm_tool();
    test_define_errors();
    test_trace();

    log_set_target(-1, NULL);
    close(logfd);
    conf_free(C);
    testconf_clean();
    test_directive();
    testconf_clean();
    arena_destroy(A);
    return tap_done();
}
