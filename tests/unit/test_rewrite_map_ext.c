/* RewriteMap prg: and dbd:/fastdbd: driven directly: maps are defined through the family
 * functions on a loaded configuration (so these tests do not depend on the RewriteMap
 * directive itself), the prg: programs are started by rewrite_maps_start as the master
 * does, and forked children play the workers. */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sqlite3.h>
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
#include "rewrite.h"
#include "rewrite_map_impl.h"
#include "tap.h"
#include "testconf.h"
#include "util.h"

static char errbuf[8192];

#define PREFIX "Listen 127.0.0.1:8080\n"

/* A config snippet on one line, for test names. */
static const char *one_line(const char *s)
{
    static char buf[128];
    size_t n = 0;
    for (; *s && n + 1 < sizeof(buf); s++)
        buf[n++] = *s == '\n' ? '|' : *s;
    buf[n] = '\0';
    return buf;
}

static struct conf_cmd cmd_for(struct conf *c, struct conf_server *s)
{
    struct conf_cmd cmd;
    memset(&cmd, 0, sizeof(cmd));
    cmd.conf = c;
    cmd.arena = c->arena;
    cmd.file = "test.conf";
    cmd.line = 1;
    cmd.directive = "RewriteMap";
    cmd.ctx = s->is_vhost ? CTX_VHOST : CTX_SERVER;
    cmd.server = s;
    return cmd;
}

/* What rewrite_conf.c does for a RewriteMap line, reduced to what these families read. */
static struct rewrite_map *add_map(struct conf *c, struct conf_server *s, const char *name,
                                   enum rewrite_map_type type, int engine)
{
    struct rewrite_map *m = arena_calloc(c->arena, 1, sizeof(*m));
    m->name = arena_strdup(c->arena, name);
    m->type = type;
    m->server = s;
    m->file = "test.conf";
    m->line = 1;
    m->index = c->n_rewrite_maps++;
    if (s->rewrite == NULL) {
        s->rewrite = arena_calloc(c->arena, 1, sizeof(*s->rewrite));
        s->rewrite->engine = CONF_UNSET;
    }
    if (engine != CONF_UNSET)
        s->rewrite->engine = s->rewrite->eff_engine = engine;
    struct rewrite_map **t = &s->rewrite->maps;
    while (*t)
        t = &(*t)->next;
    *t = m;
    t = &c->rewrite_maps;
    while (*t)
        t = &(*t)->next_global;
    *t = m;
    return m;
}

struct fake_req {
    struct conn conn;
    struct request r;
};

static struct request *req_new(struct fake_req *f, const struct conf *c)
{
    memset(f, 0, sizeof(*f));
    f->conn.conf = c;
    util_strlcpy(f->conn.client_addr, "127.0.0.1:1234", sizeof(f->conn.client_addr));
    f->r.c = &f->conn;
    f->r.arena = arena_create(0);
    f->r.srv = c->main;
    return &f->r;
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
}

static char *slurp(const char *path)
{
    static char buf[65536];
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return buf;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Reaps what died (as the master's reap loop does) for up to ms milliseconds. */
static int reap_for(struct conf *c, int ms)
{
    int handled = 0;
    for (int i = 0; i < ms / 10; i++) {
        int st;
        pid_t pid;
        while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
            handled += rewrite_maps_reap(c, pid, st);
        usleep(10000);
    }
    return handled;
}

static const char *prg_script = "#!/bin/sh\n"
                                "n=0\n"
                                "while read -r k; do\n"
                                "  n=$((n+1))\n"
                                "  case \"$k\" in\n"
                                "    pid) echo $$ ;;\n"
                                "    uid) id -u ;;\n"
                                "    count) echo $n ;;\n"
                                "    null) echo NULL ;;\n"
                                "    Null) echo nUlL ;;\n"
                                "    empty) echo ;;\n"
                                "    crlf) printf 'v-crlf\\r\\n' ;;\n"
                                "    long) head -c 10000 /dev/zero | tr '\\000' x; echo ;;\n"
                                "    huge) head -c 300000 /dev/zero | tr '\\000' x; echo ;;\n"
                                "    two) printf 'v-two\\nstray\\n' ;;\n"
                                "    cwd) pwd ;;\n"
                                "    hang) sleep 3; echo late ;;\n"
                                "    hang1) sleep 1; echo late1 ;;\n"
                                "    die) exit 3 ;;\n"
                                "    *) echo \"v-$k\" ;;\n"
                                "  esac\n"
                                "done\n";

static void test_prg(void)
{
    struct conf *c = testconf_load("rwmapext", PREFIX, "Timeout 2\n", errbuf, sizeof(errbuf));
    ok(c != NULL, "config loads %s", one_line(errbuf));
    if (c == NULL)
        return;
    chmod(testconf_root, 0755); /* the user:group map runs as nobody */
    char script[512], logpath[512];
    snprintf(script, sizeof(script), "%s/map.sh", testconf_root);
    write_file(script, prg_script, 0755);
    snprintf(logpath, sizeof(logpath), "%s/error.log", testconf_root);
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    log_set_target(logfd, NULL);

    ok(!rewrite_maps_have_prg(c), "no prg map yet");
    struct conf_cmd cmd = cmd_for(c, c->main);
    struct rewrite_map *m = add_map(c, c->main, "p", RWM_PRG, 1);
    is_str(rwmap_prg_define(&cmd, m, script, NULL), NULL, "prg: script defines");
    ok(rewrite_maps_have_prg(c), "rewrite_maps_have_prg sees it");

    /* load-time errors */
    struct rewrite_map *bad = arena_calloc(c->arena, 1, sizeof(*bad));
    bad->name = "bad";
    const char *e = rwmap_prg_define(&cmd, bad, "/nonexistent/prog -x", NULL);
    ok(e != NULL && strstr(e, "/nonexistent/prog not found") != NULL, "missing program: %s",
       e ? e : "");
    e = rwmap_prg_define(&cmd, bad, "no-such-program-portico", NULL);
    ok(e != NULL && strstr(e, "PATH") != NULL, "program not in PATH: %s", e ? e : "");
    e = rwmap_prg_define(&cmd, bad, script, "no_such_user_portico:root");
    ok(e != NULL && strstr(e, "unknown user") != NULL, "unknown user: %s", e ? e : "");
    e = rwmap_prg_define(&cmd, bad, script, "root:no_such_group_portico");
    ok(e != NULL && strstr(e, "unknown group") != NULL, "unknown group: %s", e ? e : "");
    e = rwmap_prg_define(&cmd, bad, "", NULL);
    ok(e != NULL, "empty program is an error");
    is_str(rwmap_prg_define(&cmd, bad, "cat", NULL), NULL, "a program found through PATH");

    /* a map whose server has RewriteEngine Off is not started */
    struct conf_server *vh = arena_calloc(c->arena, 1, sizeof(*vh));
    conf_init_server(vh);
    vh->is_vhost = 1;
    vh->timeout = 2;
    struct conf_cmd vcmd = cmd_for(c, vh);
    struct rewrite_map *off = add_map(c, vh, "off", RWM_PRG, 0);
    is_str(rwmap_prg_define(&vcmd, off, script, NULL), NULL, "prg map in an engine-off vhost");
    c->vhosts = vh;

    /* runs as user:group when started as root */
    struct rewrite_map *asuser = NULL;
    int root = geteuid() == 0 && getpwnam("nobody") != NULL;
    if (root) {
        asuser = add_map(c, c->main, "u", RWM_PRG, 1);
        is_str(rwmap_prg_define(&cmd, asuser, script, "nobody"), NULL, "prg map with a user");
    }

    /* a program that writes without end and never reads */
    char streamer[512];
    snprintf(streamer, sizeof(streamer), "%s/stream.sh", testconf_root);
    write_file(streamer, "#!/bin/sh\nexec tr '\\000' x < /dev/zero\n", 0755);
    struct rewrite_map *sm = add_map(c, c->main, "s", RWM_PRG, 1);
    is_str(rwmap_prg_define(&cmd, sm, streamer, NULL), NULL, "prg: endless writer defines");

    /* a descriptor the master leaks by mistake (no CLOEXEC) must not reach the program */
    int leaked = open("/dev/null", O_RDONLY);
    char err[256] = "";
    is_int(rewrite_maps_start(c, logfd, err, sizeof(err)), 0, "rewrite_maps_start (%s)", err);
    ok(c->rewrite_prg != NULL, "runtime state stored in conf->rewrite_prg");
    close(leaked);
    if (geteuid() == 0)
        ok(strstr(slurp(logpath), "RewriteMap p: the program runs as root") != NULL,
           "started as root without user:group: noticed in the ErrorLog");

    struct fake_req f;
    struct request *r = req_new(&f, c);
    is_str(rwmap_prg_lookup(r, m, "abc"), "v-abc", "lookup answers one line");
    is_str(rwmap_prg_lookup(r, m, "x y"), "v-x y", "key with a space");
    is_str(rwmap_prg_lookup(r, m, "null"), NULL, "NULL means not found");
    is_str(rwmap_prg_lookup(r, m, "Null"), NULL, "nUlL (any case) means not found");
    is_str(rwmap_prg_lookup(r, m, "empty"), NULL, "empty line means not found");
    is_str(rwmap_prg_lookup(r, m, "crlf"), "v-crlf", "\\r\\n stripped");
    const char *lng = rwmap_prg_lookup(r, m, "long");
    is_int(lng != NULL ? (long long)strlen(lng) : -1, 10000, "a 10000-byte answer");
    is_str(rwmap_prg_lookup(r, m, "a\nb"), NULL, "key with a newline: not found");
    is_str(rwmap_prg_lookup(r, m, "after-nl"), "v-after-nl", "still in step after it");
    const char *cnt = rwmap_prg_lookup(r, m, "count");
    is_str(cnt, "9", "the newline key never reached the program (9th line)");
    is_str(rwmap_prg_lookup(r, off, "abc"), NULL, "engine-off map answers not found");
    if (asuser != NULL)
        is_str(rwmap_prg_lookup(r, asuser, "uid"), "65534", "user:group map runs as nobody");

    /* several workers at once: every answer is the one for its own key */
    fflush(stdout);
    pid_t kids[6];
    for (int k = 0; k < 6; k++) {
        kids[k] = fork();
        if (kids[k] == 0) {
            rewrite_maps_child_init(c);
            struct fake_req cf;
            struct request *cr = req_new(&cf, c);
            int bad_answers = 0;
            for (int i = 0; i < 60; i++) {
                char key[64], want[80];
                snprintf(key, sizeof(key), "w%d-%d", k, i);
                snprintf(want, sizeof(want), "v-%s", key);
                const char *got = rwmap_prg_lookup(cr, m, key);
                if (got == NULL || strcmp(got, want) != 0)
                    bad_answers++;
                arena_reset(cr->arena);
            }
            _exit(bad_answers > 100 ? 100 : bad_answers);
        }
    }
    int all_right = 1;
    for (int k = 0; k < 6; k++) {
        int st = 0;
        waitpid(kids[k], &st, 0);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            all_right = 0;
            printf("# child %d: status %d\n", k, st);
        }
    }
    ok(all_right, "6 concurrent workers x 60 lookups: every answer matches its key");
    is_str(rwmap_prg_lookup(r, m, "count"), "370", "the one program saw all 360 lookups");

    /* the program's descriptors: stdin/stdout pipes, stderr the ErrorLog, nothing else of
     * the master's (the shell may hold its script open) */
    {
        const char *pp = rwmap_prg_lookup(r, m, "pid");
        char dir[64], path[600], target[600];
        snprintf(dir, sizeof(dir), "/proc/%s/fd", pp != NULL ? pp : "0");
        int stray = 0, nfd = 0;
        for (int fd = 0; fd < 1024; fd++) {
            snprintf(path, sizeof(path), "%s/%d", dir, fd);
            ssize_t tl = readlink(path, target, sizeof(target) - 1);
            if (tl < 0)
                continue;
            target[tl] = '\0';
            nfd++;
            int fine = (fd <= 1 && strncmp(target, "pipe:", 5) == 0) ||
                       (fd == 2 && strcmp(target, logpath) == 0) || strcmp(target, script) == 0;
            if (!fine) {
                printf("# program fd %d -> %s\n", fd, target);
                stray++;
            }
        }
        ok(nfd >= 3 && stray == 0, "program holds only its pipes and the ErrorLog (%d fds)", nfd);
    }
    is_str(rwmap_prg_lookup(r, m, "cwd"), testconf_root, "program runs in its own directory");

    /* an answer past the cap: not found, the rest of the line skipped, then back in step */
    ok(strstr(slurp(logpath), "answer longer than") == NULL, "no oversize answer yet");
    is_str(rwmap_prg_lookup(r, m, "huge"), NULL, "a 300000-byte answer is not found");
    ok(strstr(slurp(logpath), "answer longer than 262144 bytes") != NULL, "and logged");
    is_str(rwmap_prg_lookup(r, m, "after-huge"), "v-after-huge", "in step after it");
    /* two lines for one key: the stray second line is dropped before the next key */
    is_str(rwmap_prg_lookup(r, m, "two"), "v-two", "two-line answer: first line taken");
    usleep(50000);
    is_str(rwmap_prg_lookup(r, m, "after-two"), "v-after-two", "the stray line is dropped");
    /* a program that floods without a newline: bounded by Timeout, memory capped */
    int64_t ts = util_now_ms();
    is_str(rwmap_prg_lookup(r, sm, "k"), NULL, "endless writer: not found");
    int64_t tst = util_now_ms() - ts;
    ok(tst >= 1900 && tst < 3500, "endless writer: gave up after Timeout (%lld ms)",
       (long long)tst);
    arena_reset(r->arena);

    /* a program that does not answer in time: NULL after Timeout, then back in step */
    int64_t t0 = util_now_ms();
    is_str(rwmap_prg_lookup(r, m, "hang"), NULL, "hung answer: not found");
    int64_t took = util_now_ms() - t0;
    ok(took >= 1900 && took < 2900, "gave up after Timeout (2 s): %lld ms", (long long)took);
    is_str(rwmap_prg_lookup(r, m, "next"), "v-next", "late answer skipped, next one right");
    ok(strstr(slurp(logpath), "no answer from the program within 2 s") != NULL,
       "timeout logged to the ErrorLog");

    /* a worker killed while it holds the lock (robust mutex, owner dead) */
    fflush(stdout);
    pid_t victim = fork();
    if (victim == 0) {
        rewrite_maps_child_init(c);
        struct fake_req cf;
        rwmap_prg_lookup(req_new(&cf, c), m, "hang1");
        _exit(0);
    }
    usleep(300000);
    kill(victim, SIGKILL);
    waitpid(victim, NULL, 0);
    is_str(rwmap_prg_lookup(r, m, "survivor"), "v-survivor",
           "after a lock owner died mid-lookup, its answer is skipped");
    ok(strstr(slurp(logpath), "died holding the rewrite-map lock") != NULL,
       "the dead owner is logged");

    /* the program dies: the master restarts it on the same pipes */
    const char *p1 = rwmap_prg_lookup(r, m, "pid");
    long pid1 = p1 != NULL ? strtol(p1, NULL, 10) : 0;
    ok(pid1 > 0, "program pid %ld", pid1);
    usleep(1100000); /* not a quick death */
    if (pid1 > 0)
        kill((pid_t)pid1, SIGKILL);
    ok(reap_for(c, 300) >= 1, "rewrite_maps_reap handles the dead program");
    const char *p2 = rwmap_prg_lookup(r, m, "pid");
    ok(p2 != NULL && strtol(p2, NULL, 10) != pid1, "a new program answers (pid %s)", p2 ? p2 : "-");
    is_str(rwmap_prg_lookup(r, m, "count"), "2", "the restarted program starts counting anew");
    ok(strstr(slurp(logpath), "restarting it") != NULL, "the death is logged");
    ok(rewrite_maps_reap(c, 999999, 0) == 0, "reap ignores other pids");

    /* a worker forked before the restart keeps working (same pipes) */
    is_str(rwmap_prg_lookup(r, m, "die"), NULL, "program exits during a lookup: not found");
    reap_for(c, 300);
    is_str(rwmap_prg_lookup(r, m, "back"), "v-back", "restarted after exiting mid-lookup");

    rewrite_maps_stop(c);
    rewrite_maps_stop(c);
    ok(1, "rewrite_maps_stop twice is safe");
    reap_for(c, 200);
    arena_destroy(r->arena);
    conf_free(c);
    log_set_target(-1, NULL);
    close(logfd);
}

/* A program that cannot even start is restarted a few times, then left alone. */
static void test_prg_quick_death(void)
{
    struct conf *c = testconf_load("rwmapext", PREFIX, "Timeout 2\n", errbuf, sizeof(errbuf));
    if (c == NULL)
        return;
    char logpath[512];
    snprintf(logpath, sizeof(logpath), "%s/error.log", testconf_root);
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    log_set_target(logfd, NULL);
    struct conf_cmd cmd = cmd_for(c, c->main);
    struct rewrite_map *m = add_map(c, c->main, "q", RWM_PRG, 1);
    is_str(rwmap_prg_define(&cmd, m, "false", NULL), NULL, "prg:false defines");
    char err[256] = "";
    is_int(rewrite_maps_start(c, logfd, err, sizeof(err)), 0, "started");
    int n = reap_for(c, 1500);
    is_int(n, 5, "restarted until the fifth quick death, then left dead");
    struct fake_req f;
    struct request *r = req_new(&f, c);
    int64_t t0 = util_now_ms();
    is_str(rwmap_prg_lookup(r, m, "k"), NULL, "dead program: not found");
    ok(util_now_ms() - t0 < 500, "at once, without waiting for Timeout");
    ok(strstr(slurp(logpath), "not restarting it") != NULL, "giving up is logged");
    rewrite_maps_stop(c);
    arena_destroy(r->arena);
    conf_free(c);
    log_set_target(-1, NULL);
    close(logfd);
}

/* ---- dbd ---- */

static void sql(sqlite3 *db, const char *q)
{
    char *msg = NULL;
    if (sqlite3_exec(db, q, NULL, NULL, &msg) != SQLITE_OK) {
        printf("# sqlite: %s: %s\n", q, msg ? msg : "?");
        sqlite3_free(msg);
    }
}

static void test_dbd_directives(void)
{
    static const struct {
        const char *conf;
        const char *err; /* substring of the error, NULL = loads */
    } cases[] = {
        {"DBDriver sqlite3\nDBDParams /tmp/x.db\n", NULL},
        {"DBDriver SQLite3\n", NULL},
        {"DBDriver mysql\n", "not available"},
        {"DBDriver\n", "DBDriver"},
        {"DBDPersist Off\nDBDMin 1\nDBDKeep 2\nDBDMax 10\nDBDExptime 300\n", NULL},
        {"DBDMax lots\n", "not a number"},
        {"DBDMin -1\n", "not a number"},
        {"DBDPersist maybe\n", "DBDPersist"},
        {"DBDPrepareSQL \"SELECT 1\" one\n", NULL},
        {"DBDPrepareSQL \"SELECT 1\"\n", "DBDPrepareSQL"},
        {"DBDInitSQL \"PRAGMA foreign_keys=ON\"\n", NULL},
        {"<Location /x>\nDBDriver sqlite3\n</Location>\n", "DBDriver"},
        {"<VirtualHost *:80>\nDBDriver sqlite3\nDBDParams v.db\n</VirtualHost>\n", NULL},
#ifdef HAVE_LIBPQ
        {"DBDriver pgsql\nDBDParams \"host=/tmp dbname=x\"\n", NULL},
#endif
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conf *c = testconf_load("rwmapext", PREFIX, cases[i].conf, errbuf, sizeof(errbuf));
        if (cases[i].err == NULL)
            ok(c != NULL, "loads: %s", one_line(cases[i].conf));
        else
            ok(c == NULL && strstr(errbuf, cases[i].err) != NULL, "refused: %s",
               one_line(cases[i].conf));
        if ((c == NULL) != (cases[i].err != NULL) || (c == NULL && !strstr(errbuf, cases[i].err)))
            printf("# %s\n", one_line(errbuf));
        if (c != NULL)
            conf_free(c);
    }
}

static void test_dbd(void)
{
    struct conf *c = testconf_load("rwmapext", PREFIX,
                                   "DBDriver sqlite3\nDBDParams maps.db\n"
                                   "<VirtualHost *:80>\nServerName v\n</VirtualHost>\n"
                                   "<VirtualHost *:80>\nServerName w\nDBDParams other.db\n"
                                   "</VirtualHost>\n",
                                   errbuf, sizeof(errbuf));
    ok(c != NULL, "dbd config loads %s", one_line(errbuf));
    if (c == NULL)
        return;
    char dbpath[512], other[512];
    snprintf(dbpath, sizeof(dbpath), "%s/maps.db", testconf_root);
    snprintf(other, sizeof(other), "%s/other.db", testconf_root);
    sqlite3 *db = NULL;
    sqlite3_open(dbpath, &db);
    sql(db, "CREATE TABLE map (k TEXT, v TEXT);"
            "INSERT INTO map VALUES ('a','alpha'),('b','beta'),('multi','x'),('multi','y'),"
            "('multi','z'),('nullv',NULL),('empty',''),('sp ace','with space');");
    sqlite3 *db2 = NULL;
    sqlite3_open(other, &db2);
    sql(db2, "CREATE TABLE map (k TEXT, v TEXT); INSERT INTO map VALUES ('a','other-alpha');");
    sqlite3_close(db2);

    struct conf_cmd cmd = cmd_for(c, c->main);
    struct rewrite_map *m = add_map(c, c->main, "d", RWM_DBD, 1);
    struct rewrite_map *fm = add_map(c, c->main, "f", RWM_FASTDBD, 1);
    struct rewrite_map *pm = add_map(c, c->main, "pct", RWM_DBD, 1);
    struct rewrite_map *nt = add_map(c, c->main, "notable", RWM_DBD, 1);
    is_str(rwmap_dbd_define(&cmd, m, "SELECT v FROM map WHERE k = %s", 0), NULL, "dbd: defines");
    is_str(rwmap_dbd_define(&cmd, fm, "SELECT v FROM map WHERE k = %s", 1), NULL,
           "fastdbd: defines");
    is_str(rwmap_dbd_define(&cmd, pm, "SELECT '100%%-' || %s", 0), NULL, "%%%% is a literal %%");
    is_str(rwmap_dbd_define(&cmd, nt, "SELECT v FROM nosuch WHERE k = %s", 0), NULL,
           "a missing table is only found at lookup (as httpd)");
    struct rewrite_map tmp = {.name = "t"};
    const char *e = rwmap_dbd_define(&cmd, &tmp, "SELECT v FROM map WHERE k = %s AND v = %s", 0);
    ok(e != NULL && strstr(e, "2 parameters") != NULL, "two parameters refused: %s", e ? e : "");
    e = rwmap_dbd_define(&cmd, &tmp, "  ", 0);
    ok(e != NULL, "empty query refused");
    is_str(rwmap_dbd_define(&cmd, &tmp, "SELECT v FROM map WHERE k = %pDt", 0), NULL,
           "apr_dbd's %%pDt is one parameter too");

    struct fake_req f;
    struct request *r = req_new(&f, c);
    rewrite_maps_child_init(c);
    is_str(rwmap_dbd_lookup(r, m, "a"), "alpha", "dbd lookup");
    is_str(rwmap_dbd_lookup(r, m, "b"), "beta", "dbd lookup, second key");
    is_str(rwmap_dbd_lookup(r, m, "nope"), NULL, "no row: not found");
    is_str(rwmap_dbd_lookup(r, m, "nullv"), NULL, "NULL column: not found");
    is_str(rwmap_dbd_lookup(r, m, "empty"), NULL, "empty value: not found");
    is_str(rwmap_dbd_lookup(r, m, "sp ace"), "with space", "key with a space");
    is_str(rwmap_dbd_lookup(r, m, "a' OR '1'='1"), NULL, "the key is bound, never pasted");
    is_str(rwmap_dbd_lookup(r, pm, "k"), "100%-k", "%%%% became %% in the SQL");
    is_str(rwmap_dbd_lookup(r, nt, "a"), NULL, "query error: not found");
    int seen[3] = {0, 0, 0};
    for (int i = 0; i < 300; i++) {
        const char *v = rwmap_dbd_lookup(r, m, "multi");
        if (v != NULL && v[1] == '\0' && v[0] >= 'x' && v[0] <= 'z')
            seen[v[0] - 'x']++;
        arena_reset(r->arena);
    }
    ok(seen[0] > 30 && seen[1] > 30 && seen[2] > 30,
       "several rows: one at random (x %d, y %d, z %d)", seen[0], seen[1], seen[2]);

    /* vhosts: without DBD* they use the main server's; DBDParams alone overrides params */
    struct conf_server *v = c->vhosts, *w = v != NULL ? v->next : NULL;
    ok(v != NULL && w != NULL, "two vhosts");
    if (v != NULL && w != NULL) {
        struct conf_cmd vcmd = cmd_for(c, v), wcmd = cmd_for(c, w);
        struct rewrite_map *vm = add_map(c, v, "vd", RWM_DBD, 1);
        struct rewrite_map *wm = add_map(c, w, "wd", RWM_DBD, 1);
        is_str(rwmap_dbd_define(&vcmd, vm, "SELECT v FROM map WHERE k = %s", 0), NULL,
               "vhost map with the main server's DBDriver");
        is_str(rwmap_dbd_define(&wcmd, wm, "SELECT v FROM map WHERE k = %s", 0), NULL,
               "vhost map with its own DBDParams");
        is_str(rwmap_dbd_lookup(r, vm, "a"), "alpha", "vhost uses the main database");
        is_str(rwmap_dbd_lookup(r, wm, "a"), "other-alpha", "vhost uses its own database");
    }

    /* fastdbd caches answers (and misses) per process until restart; dbd does not */
    is_str(rwmap_dbd_lookup(r, fm, "a"), "alpha", "fastdbd lookup");
    is_str(rwmap_dbd_lookup(r, fm, "late"), NULL, "fastdbd miss");
    sql(db, "UPDATE map SET v='changed' WHERE k='a'; INSERT INTO map VALUES ('late','here');");
    is_str(rwmap_dbd_lookup(r, m, "a"), "changed", "dbd sees the change");
    is_str(rwmap_dbd_lookup(r, fm, "a"), "alpha", "fastdbd answers from its cache");
    is_str(rwmap_dbd_lookup(r, fm, "late"), NULL, "fastdbd caches misses too");
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) {
        /* a new worker: its own connection and an empty cache */
        rewrite_maps_child_init(c);
        struct fake_req cf;
        struct request *cr = req_new(&cf, c);
        const char *a = rwmap_dbd_lookup(cr, fm, "a"), *l = rwmap_dbd_lookup(cr, fm, "late");
        _exit(a != NULL && strcmp(a, "changed") == 0 && l != NULL && strcmp(l, "here") == 0 ? 0
                                                                                            : 1);
    }
    int st = 0;
    waitpid(kid, &st, 0);
    ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "a forked worker starts with an empty cache");
    is_str(rwmap_dbd_lookup(r, m, "b"), "beta", "parent's connection unharmed by the child");
    rewrite_maps_child_init(c);
    is_str(rwmap_dbd_lookup(r, fm, "a"), "changed", "child_init empties the fastdbd cache");

    /* fastdbd's cache is bounded in bytes, not only in entries: 1200 misses with 4000-byte
     * keys (request data) make it start over well before 100000 entries */
    sql(db, "UPDATE map SET v='again' WHERE k='a';");
    is_str(rwmap_dbd_lookup(r, fm, "a"), "changed", "fastdbd: cached before the flood");
    {
        static char longkey[4001];
        memset(longkey, 'k', sizeof(longkey) - 1);
        for (int i = 0; i < 1200; i++) {
            snprintf(longkey, 16, "%06d", i);
            longkey[6] = 'k';
            rwmap_dbd_lookup(r, fm, longkey);
            arena_reset(r->arena);
        }
    }
    is_str(rwmap_dbd_lookup(r, fm, "a"), "again",
           "fastdbd: 4.8 MB of distinct keys made the cache start over");
    sql(db, "UPDATE map SET v='changed' WHERE k='a';");

    /* the database goes away and comes back: reopened on the next lookup */
    sqlite3_close(db);
    char moved[600];
    snprintf(moved, sizeof(moved), "%s.moved", dbpath);
    rename(dbpath, moved);
    rewrite_maps_child_init(c);
    char dlog[600];
    snprintf(dlog, sizeof(dlog), "%s/dbd.log", testconf_root);
    int dlogfd = open(dlog, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    log_set_target(dlogfd, NULL);
    is_str(rwmap_dbd_lookup(r, m, "a"), NULL, "missing database file: not found");
    log_set_target(-1, NULL);
    close(dlogfd);
    {
        int opens = 0;
        for (const char *q = slurp(dlog); (q = strstr(q, "cannot open")) != NULL; q++)
            opens++;
        is_int(opens, 1, "a database that cannot be opened is tried once per lookup");
    }
    rename(moved, dbpath);
    is_str(rwmap_dbd_lookup(r, m, "a"), "changed", "database back: answers again");
    arena_destroy(r->arena);
    conf_free(c);

    /* no DBDriver anywhere: a load-time error */
    c = testconf_load("rwmapext", PREFIX, "", errbuf, sizeof(errbuf));
    if (c != NULL) {
        struct conf_cmd c2 = cmd_for(c, c->main);
        struct rewrite_map t2 = {.name = "nodb"};
        e = rwmap_dbd_define(&c2, &t2, "SELECT 1 WHERE 1 = %s", 0);
        ok(e != NULL && strstr(e, "DBDriver") != NULL, "no DBDriver: %s", e ? e : "");
        conf_free(c);
    }
    /* DBDPersist Off: a connection per lookup, still correct */
    c = testconf_load("rwmapext", PREFIX, "DBDriver sqlite3\nDBDParams m.db\nDBDPersist Off\n",
                      errbuf, sizeof(errbuf));
    if (c != NULL) {
        snprintf(dbpath, sizeof(dbpath), "%s/m.db", testconf_root);
        sqlite3_open(dbpath, &db);
        sql(db, "CREATE TABLE t (k TEXT, v TEXT); INSERT INTO t VALUES ('k','v');");
        sqlite3_close(db);
        struct conf_cmd c3 = cmd_for(c, c->main);
        struct rewrite_map *m3 = add_map(c, c->main, "np", RWM_DBD, 1);
        rwmap_dbd_define(&c3, m3, "SELECT v FROM t WHERE k = %s", 0);
        r = req_new(&f, c);
        rewrite_maps_child_init(c);
        is_str(rwmap_dbd_lookup(r, m3, "k"), "v", "DBDPersist Off: first lookup");
        is_str(rwmap_dbd_lookup(r, m3, "k"), "v", "DBDPersist Off: second lookup");
        arena_destroy(r->arena);
        conf_free(c);
    }
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_prg();
    test_prg_quick_death();
    test_dbd_directives();
    test_dbd();
    testconf_clean();
    return tap_done();
}
