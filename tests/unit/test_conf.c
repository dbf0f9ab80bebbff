/* Unit tests of the config language: lexer, parser, registry checks, Include, conditionals,
 * Define/${}, core/mpm/log directives, defaults, inheritance and the dumps. Each test writes
 * its config into a fresh temporary ServerRoot. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "conf.h"
#include "conf_lex.h"
#include "log.h"
#include "modules.h"
#include "tap.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/unit/conf"
#endif

static char root[256];
static char errbuf[8192];

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void fresh_root(void)
{
    if (root[0] != '\0')
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    snprintf(root, sizeof(root), "/tmp/test_conf.XXXXXX");
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
}

static void write_file(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    /* create parent directories */
    for (char *p = path + strlen(root) + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        mkdir(path, 0755);
        *p = '/';
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fputs(text, f);
    fclose(f);
}

/* "@" in a template stands for the ServerRoot (the temp dir). */
static const char *expand_at(const char *tmpl)
{
    static char out[8192];
    size_t o = 0;
    for (const char *p = tmpl; *p && o + 300 < sizeof(out); p++) {
        if (*p == '@')
            o += (size_t)snprintf(out + o, sizeof(out) - o, "%s", root);
        else
            out[o++] = *p;
    }
    out[o] = '\0';
    return out;
}

static struct conf *load_opts(const char *text, const char **pre, const char **post,
                              const char **defines)
{
    fresh_root();
    write_file("portico.conf", text);
    struct conf_options o = {root, NULL, defines, pre, post};
    return conf_load(&o, errbuf, sizeof(errbuf));
}

static struct conf *load(const char *text)
{
    return load_opts(text, NULL, NULL, NULL);
}

/* Loads in the current root (files written beforehand). */
static struct conf *load_here(void)
{
    struct conf_options o = {root, NULL, NULL, NULL, NULL};
    return conf_load(&o, errbuf, sizeof(errbuf));
}

static int has_warning(const struct conf *c, const char *needle)
{
    for (const struct conf_msg *m = c->warnings; m != NULL; m = m->next)
        if (strstr(m->text, needle) != NULL)
            return 1;
    return 0;
}

static int defined(const struct conf *c, const char *name)
{
    for (const struct conf_define *d = c->defines; d != NULL; d = d->next)
        if (strcmp(d->name, name) == 0)
            return 1;
    return 0;
}

static const char *define_value(const struct conf *c, const char *name)
{
    for (const struct conf_define *d = c->defines; d != NULL; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d->value;
    return NULL;
}

/* ---- lexer ---- */

static void test_lexer(void)
{
    struct arena *a = arena_create(0);
    static const struct {
        const char *in;
        int argc;
        const char *w[4];
    } split[] = {
        {"Timeout 5", 2, {"Timeout", "5"}},
        {"  A   b\tc  ", 3, {"A", "b", "c"}},
        {"X \"a b\" c", 3, {"X", "a b", "c"}},
        {"X 'a b' c", 3, {"X", "a b", "c"}},
        {"X \"a \\\"q\\\" b\"", 2, {"X", "a \"q\" b"}},
        {"X 'it\\'s'", 2, {"X", "it's"}},
        {"X \"back\\\\slash\"", 2, {"X", "back\\slash"}},
        {"X a\\\\b", 2, {"X", "a\\b"}},
        {"X a\\nb", 2, {"X", "a\\nb"}},
        {"X \"a\\nb\"", 2, {"X", "a\\nb"}},
        {"X \"unterminated here", 2, {"X", "unterminated here"}},
        {"X mid\"quote", 2, {"X", "mid\"quote"}},
        {"X \"\"", 2, {"X", ""}},
        {"X # not a comment", 5, {"X", "#", "not", "a"}},
    };
    for (size_t i = 0; i < sizeof(split) / sizeof(split[0]); i++) {
        char **argv;
        int argc = conf_lex_split(a, split[i].in, &argv);
        is_int(argc, split[i].argc, "split argc: %s", split[i].in);
        for (int k = 0; k < argc && k < 4; k++)
            if (split[i].w[k] != NULL)
                is_str(argv[k], split[i].w[k], "split word %d: %s", k, split[i].in);
    }

    const char *buf = "First a \\\n   b\n# comment \\\nswallowed\n\n  Third\\ \nLast\\";
    struct conf_lexer lx;
    conf_lex_init(&lx, buf, strlen(buf));
    char *t;
    int line;
    is_int(conf_lex_next(&lx, &t, &line), 1, "lex: first line");
    is_str(t, "First a    b", "continuation keeps the next line's indentation");
    is_int(line, 1, "continued line numbered by its first line");
    conf_lex_next(&lx, &t, &line);
    ok(conf_lex_is_blank(t) && line == 3, "comment continued onto the next line");
    conf_lex_next(&lx, &t, &line);
    ok(conf_lex_is_blank(t) && line == 5, "empty line is blank");
    conf_lex_next(&lx, &t, &line);
    is_str(t, "Third\\", "backslash then space does not continue");
    is_int(line, 6, "line number after continuation");
    conf_lex_next(&lx, &t, &line);
    is_str(t, "Last\\", "backslash at end of file is kept");
    is_int(conf_lex_next(&lx, &t, &line), 0, "lex: end");
    conf_lex_free(&lx);

    const char *crlf = "A b\r\nC \\\r\nd\r\n";
    conf_lex_init(&lx, crlf, strlen(crlf));
    conf_lex_next(&lx, &t, &line);
    is_str(t, "A b", "CRLF stripped");
    conf_lex_next(&lx, &t, &line);
    is_str(t, "C d", "CRLF continuation");
    conf_lex_free(&lx);
    arena_destroy(a);
}

static const char *lookup_fixed(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "A") == 0)
        return "alpha";
    if (strcmp(name, "S") == 0)
        return "two words";
    if (strcmp(name, "R") == 0)
        return "${A}";
    return NULL;
}

static int n_undefined;
static void count_undefined(void *ctx, const char *name)
{
    (void)ctx;
    (void)name;
    n_undefined++;
}

static void test_expand(void)
{
    struct arena *a = arena_create(0);
    static const struct {
        const char *in, *out;
        int undefined;
    } cases[] = {
        {"X ${A}", "X alpha", 0},
        {"X ${A}${A}-", "X alphaalpha-", 0},
        {"X ${S}", "X two words", 0},
        {"X ${R}", "X ${A}", 0}, /* single pass */
        {"X ${NOPE}", "X ${NOPE}", 1},
        {"X ${map:key}", "X ${map:key}", 0},
        {"X $A {A} ${A", "X $A {A} ${A", 0},
        {"X $${A}", "X $alpha", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        n_undefined = 0;
        is_str(conf_lex_expand(a, cases[i].in, lookup_fixed, count_undefined, NULL), cases[i].out,
               "expand %s", cases[i].in);
        is_int(n_undefined, cases[i].undefined, "undefined count for %s", cases[i].in);
    }
    arena_destroy(a);
}

/* ---- every error message, exact text ---- */

static void test_errors(void)
{
    static const struct {
        const char *conf;
        const char *want; /* "@" = ServerRoot */
    } cases[] = {
        {"Listen 80\nFrobnicate on\n",
         "@/portico.conf:2: Frobnicate: unknown directive (perhaps misspelled, or from a module "
         "portico does not build in)\n"},
        {"Listen 80\n<Frob x>\nTimeout 1\n</Frob>\n",
         "@/portico.conf:2: <Frob>: unknown directive (perhaps misspelled, or from a module "
         "portico does not build in)\n"},
        {"Listen 80\nTimeout abc\n",
         "@/portico.conf:2: Timeout: 'abc' is not a whole number from 0 to 86400\n"},
        {"Listen 80\nTimeout\n", "@/portico.conf:2: Timeout: takes one argument (seconds)\n"},
        {"Listen 80\nTimeout 5 # five\n",
         "@/portico.conf:2: Timeout: takes one argument (seconds)\n"},
        {"Listen 80\nKeepAlive maybe\n", "@/portico.conf:2: KeepAlive: must be On or Off\n"},
        {"Listen 80\nKeepAliveTimeout 5s\n",
         "@/portico.conf:2: KeepAliveTimeout: '5s' is not a duration from 0 to 3600 seconds (or "
         "NNNms)\n"},
        {"Listen 80\nTimeout x\nKeepAlive y\nFoo\n",
         "@/portico.conf:2: Timeout: 'x' is not a whole number from 0 to 86400\n"
         "@/portico.conf:3: KeepAlive: must be On or Off\n"
         "@/portico.conf:4: Foo: unknown directive (perhaps misspelled, or from a module portico "
         "does not build in)\n"},
        {"Listen 80\n<VirtualHost *:80>\n<VirtualHost *:81>\n</VirtualHost>\n</VirtualHost>\n",
         "@/portico.conf:3: <VirtualHost>: cannot occur within <VirtualHost> section\n"},
        {"Listen 80\n<VirtualHost>\nTimeout 1\n</VirtualHost>\n",
         "@/portico.conf:2: <VirtualHost>: requires at least one argument (one or more "
         "addr[:port])\n"},
        {"Listen 80\n<Location /a>\n</Directory>\n",
         "@/portico.conf:3: Expected </Location> but saw </Directory>\n"},
        {"Listen 80\n</Location>\n", "@/portico.conf:2: </Location> without matching <Location "
                                     "section\n"},
        {"Listen 80\n<Location /a>\nTimeout 5\n",
         "@/portico.conf:3: Timeout: cannot occur within <Location> section\n"
         "@/portico.conf:2: <Location> was not closed.\n"},
        {"Listen 80\n<Location /a>\n<IfDefine !X>\nListen 81\n</IfDefine>\n</Location>\n",
         "@/portico.conf:4: Listen: cannot occur within <Location> section\n"},
        {"Listen 80\n<Location /a\n</Location>\n",
         "@/portico.conf:2: <Location> directive missing closing '>'\n"},
        {"Listen 80\n<Location /a>\n</Location\n",
         "@/portico.conf:3: </Location> directive missing closing '>'\n"
         "@/portico.conf:2: <Location> was not closed.\n"},
        {"Listen 80\n<Location /a>\n<Location /b>\n</Location>\n</Location>\n",
         "@/portico.conf:3: <Location>: cannot occur within <Location> section\n"},
        {"Listen 80\n<IfModule nosuch_module>\nFoo\n",
         "@/portico.conf:2: Expected </IfModule> before end of configuration\n"},
        {"Listen 80\n<IfModule !proxy_module>\n<IfDefine X>\n</IfModule>\n",
         "@/portico.conf:2: Expected </IfModule> before end of configuration\n"},
        {"Listen 80\n<IfModule !>\n</IfModule>\n",
         "@/portico.conf:2: <IfModule>: missing argument after '!'\n"},
        {"Listen 80\n<IfDefine>\n</IfDefine>\n",
         "@/portico.conf:2: <IfDefine>: takes one argument ([!]IfDefine argument)\n"},
        {"Listen 80\nInclude nothere.conf\n",
         "@/portico.conf:2: Include: Could not open configuration file @/nothere.conf: No such "
         "file or directory\n"},
        {"Listen 80\nInclude /nonexistent-dir-xyz/*.conf\n",
         "@/portico.conf:2: Include: Could not open config directory /nonexistent-dir-xyz: No "
         "such file or directory\n"},
        {"Listen 80\nInclude *.nomatch\n",
         "@/portico.conf:2: Include: No matches for the wildcard '*.nomatch' in '@', failing\n"},
        {"Listen 80\nInclude portico.conf\n",
         "@/portico.conf:2: Include: @/portico.conf is included recursively (include loop)\n"},
        {"Listen 80\nLoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so\n",
         "@/portico.conf:2: LoadModule: mpm_event_module: portico is prefork: load "
         "mpm_prefork_module instead\n"},
        {"Listen 80\nLoadModule mpm_worker_module modules/mod_mpm_worker.so\n",
         "@/portico.conf:2: LoadModule: mpm_worker_module: portico is prefork: load "
         "mpm_prefork_module instead\n"},
        {"Listen 80\nLoadModule foo_module modules/mod_foo.so\n",
         "@/portico.conf:2: LoadModule: cannot load module foo_module: portico does not build "
         "it in (\"portico -M\" lists the built-in modules)\n"},
        {"Listen 80\nLoadModule proxy_module\n",
         "@/portico.conf:2: LoadModule: takes two arguments (a module name and the path to its "
         "shared object (ignored: modules are built in))\n"},
        {"Listen 80\nListen 80\n",
         "@/portico.conf:2: Listen: Cannot define multiple Listeners on the same IP:port (*:80, "
         "first at @/portico.conf:1)\n"},
        {"Listen 99999\n",
         "@/portico.conf:1: Listen: '99999': port must be a number from 1 to 65535\n"
         "@/portico.conf: no listening sockets available: add a Listen directive\n"},
        {"Listen 80\nListen [::1]\n",
         "@/portico.conf:2: Listen: '[::1]': port must be specified\n"},
        {"Listen 80\nListen 81 gopher\n",
         "@/portico.conf:2: Listen: protocol 'gopher' is not supported (http or https)\n"},
        {"Listen 80\nListen 1 2 3\n",
         "@/portico.conf:2: Listen: takes one or two arguments ([addr:]port [protocol])\n"},
        {"Timeout 5\n", "@/portico.conf: no listening sockets available: add a Listen "
                        "directive\n"},
        {"Listen 80\n<VirtualHost *:80>\nListen 81\n</VirtualHost>\n",
         "@/portico.conf:3: Listen: cannot occur within <VirtualHost> section\n"},
        {"Listen 80\nServerAlias www.example.com\n",
         "@/portico.conf:2: ServerAlias: not allowed in the main server config, only in "
         "<VirtualHost>\n"},
        {"Listen 80\nAllowOverride None\n",
         "@/portico.conf:2: AllowOverride: not allowed in the main server config, only in "
         "<Directory>\n"},
        {"Listen 80\nServerName a.example:0\n",
         "@/portico.conf:2: ServerName: port must be a number from 1 to 65535\n"},
        {"Listen 80\nServerName ftp://a.example\n",
         "@/portico.conf:2: ServerName: unsupported scheme 'ftp' (http or https)\n"},
        {"Listen 80\nServerName a/b\n",
         "@/portico.conf:2: ServerName: 'a/b' is not [scheme://]host[:port]\n"},
        {"Listen 80\nServerRoot /nonexistent-xyz\n",
         "@/portico.conf:2: ServerRoot: ServerRoot must be a valid directory\n"},
        {"Listen 80\nUser nosuchuser_xyz\n",
         "@/portico.conf:2: User: unknown user 'nosuchuser_xyz'\n"},
        {"Listen 80\nGroup nosuchgroup_xyz\n",
         "@/portico.conf:2: Group: unknown group 'nosuchgroup_xyz'\n"},
        {"Listen 80\nUser #abc\n", "@/portico.conf:2: User: '#abc' is not a numeric user id\n"},
        {"Listen 80\nHostnameLookups On\n",
         "@/portico.conf:2: HostnameLookups: On is not supported: portico never does reverse "
         "DNS lookups (only Off)\n"},
        {"Listen 80\nHostnameLookups Double\n",
         "@/portico.conf:2: HostnameLookups: Double is not supported: portico never does reverse "
         "DNS lookups (only Off)\n"},
        {"Listen 80\nOptions +Indexes FollowSymLinks\n",
         "@/portico.conf:2: Options: Either all Options must start with + or -, or no Option "
         "may.\n"},
        {"Listen 80\nOptions Bogus\n", "@/portico.conf:2: Options: Illegal option Bogus\n"},
        {"Listen 80\nOptions -None\n", "@/portico.conf:2: Options: Illegal option -None\n"},
        {"Listen 80\nServerTokens Loud\n",
         "@/portico.conf:2: ServerTokens: 'Loud' is not one of Prod[uctOnly], Major, Minor, "
         "Min[imal], OS, Full\n"},
        {"Listen 80\nTraceEnable sometimes\n",
         "@/portico.conf:2: TraceEnable: 'sometimes' is not one of On, Off, Extended\n"},
        {"Listen 80\nLogLevel proxy:loud\n",
         "@/portico.conf:2: LogLevel: 'loud' is not a log level (emerg, alert, crit, error, "
         "warn, notice, info, debug, trace1 to trace8)\n"},
        {"Listen 80\nLogLevel nomod:debug\n",
         "@/portico.conf:2: LogLevel: unknown module 'nomod' (portico -M lists the modules)\n"},
        {"Listen 80\nCustomLog logs/x \"%h\" expr=true\n",
         "@/portico.conf:2: CustomLog: expr= conditions are not supported (use env=[!]VAR)\n"},
        {"Listen 80\nCustomLog logs/x \"%h\" when=1\n",
         "@/portico.conf:2: CustomLog: 'when=1': the condition must be env=[!]VAR\n"},
        {"Listen 80\nCustomLog logs/x\n",
         "@/portico.conf:2: CustomLog: takes two or three arguments (a file or |program, a "
         "format or nickname, and optional env=[!]VAR)\n"},
        {"Listen 80\nDefine a:b x\n",
         "@/portico.conf:2: Define: Variable name must not contain ':'\n"},
        {"Listen 80\nUnDefine\n", "@/portico.conf:2: UnDefine: takes one argument (a variable "
                                  "name)\n"},
        {"Listen 80\nErrorDocument 999 x\n",
         "@/portico.conf:2: ErrorDocument: Unsupported HTTP response code 999\n"},
        {"Listen 80\nErrorDocument 404\n",
         "@/portico.conf:2: ErrorDocument: takes two arguments (an HTTP status code and a "
         "message, path or URL)\n"},
        {"Listen 80\nAddType text/html\n",
         "@/portico.conf:2: AddType: requires a media type and at least one extension\n"},
        {"Listen 80\nAddType html .html\n",
         "@/portico.conf:2: AddType: 'html' is not a media type (type/subtype)\n"},
        {"Listen 80\nStartServers many\n",
         "@/portico.conf:2: StartServers: 'many' is not a whole number\n"},
        {"Listen 80\nMaxConnectionsPerChild -1\n",
         "@/portico.conf:2: MaxConnectionsPerChild: '-1' is not a whole number from 0 to "
         "2147483647\n"},
        {"Listen 80\nLimitRequestFields 40000\n",
         "@/portico.conf:2: LimitRequestFields: '40000' is not a whole number from 0 to 32767\n"},
        {"Listen 80\nLimitRequestBody -5\n",
         "@/portico.conf:2: LimitRequestBody: '-5' is not a whole number of bytes (0 = "
         "unlimited)\n"},
        {"Listen 80\nPidFile\n",
         "@/portico.conf:2: PidFile: takes one argument (the file holding the master's pid)\n"},
        {"Listen 80\n<Directory /x>\n<Location /y>\n</Location>\n</Directory>\n",
         "@/portico.conf:3: <Location>: cannot occur within <Directory> section\n"},
        {"Listen 80\n<Files a>\n<Files b>\n</Files>\n</Files>\n",
         "@/portico.conf:3: <Files>: cannot occur within <Files> section\n"},
        {"Listen 80\n<Location a b>\n</Location>\n",
         "@/portico.conf:2: <Location>: takes one argument (or '~' and a regular expression)\n"},
        {"Listen 80\n<IfDefine NOPE>\nThis is garbage\n<Nested>\n</IfDefine>\n</Nested>\n"
         "</IfDefine>\n",
         ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct conf *c = load(cases[i].conf);
        const char *want = expand_at(cases[i].want);
        if (want[0] == '\0') {
            ok(c != NULL, "loads: case %zu", i);
            if (c == NULL)
                printf("#   %s", errbuf);
        } else {
            ok(c == NULL, "fails: case %zu", i);
            is_str(errbuf, want, "error text, case %zu", i);
        }
        conf_free(c);
    }

    /* The PCRE2 message itself is the library's; check our part. */
    struct conf *c = load("Listen 80\n<LocationMatch \"(\">\n</LocationMatch>\n");
    ok(c == NULL, "bad regex fails");
    ok(strstr(errbuf, ":2: <LocationMatch>: regular expression '(' could not be compiled: ") !=
               NULL &&
           strstr(errbuf, "at offset 1") != NULL,
       "bad regex message names the pattern and offset: %s", errbuf);
    conf_free(c);
    c = load("Listen 80\n<Location ~ \"[\">\n</Location>\n");
    ok(c == NULL && strstr(errbuf, "<Location>: regular expression '[' could not") != NULL,
       "<Location ~ bad> fails");
    conf_free(c);
}

/* ---- -C / -c ---- */

static void test_command_line(void)
{
    const char *pre[] = {"Timeout 7", "KeepAliveTimeout 9", NULL};
    const char *post[] = {"Timeout 11", NULL};
    struct conf *c = load_opts("Listen 80\nTimeout 9\n", pre, NULL, NULL);
    ok(c != NULL, "-C loads");
    is_int(c ? c->main->timeout : -2, 9, "-C comes before the file");
    is_int(c ? c->main->keepalive_timeout_ms : -2, 9000, "-C directive applied");
    conf_free(c);
    c = load_opts("Listen 80\nTimeout 9\n", pre, post, NULL);
    is_int(c ? c->main->timeout : -2, 11, "-c comes after the file");
    conf_free(c);

    const char *bad_pre[] = {"Bogus 1", "Timeout x", NULL};
    const char *bad_post[] = {"Listen 80", NULL};
    c = load_opts("Listen 80\n", bad_pre, bad_post, NULL);
    ok(c == NULL, "bad -C/-c fails");
    is_str(errbuf,
           expand_at("-C:1: Bogus: unknown directive (perhaps misspelled, or from a module "
                     "portico does not build in)\n"
                     "-C:2: Timeout: 'x' is not a whole number from 0 to 86400\n"
                     "-c:1: Listen: Cannot define multiple Listeners on the same IP:port (*:80, "
                     "first at @/portico.conf:1)\n"),
           "-C/-c errors cite -C:N and -c:N");
    conf_free(c);

    /* -C ServerRoot moves the default config file. */
    fresh_root();
    write_file("other/portico.conf", "Listen 8123\n");
    char sr[400];
    snprintf(sr, sizeof(sr), "ServerRoot %s/other", root);
    const char *pre_root[] = {sr, NULL};
    struct conf_options o = {root, NULL, NULL, pre_root, NULL};
    c = conf_load(&o, errbuf, sizeof(errbuf));
    ok(c != NULL && c->listeners && strcmp(c->listeners->text, "*:8123") == 0,
       "-C ServerRoot decides where portico.conf is read");
    conf_free(c);

    /* Missing main config file. */
    fresh_root();
    struct conf_options o2 = {root, "absent.conf", NULL, NULL, NULL};
    c = conf_load(&o2, errbuf, sizeof(errbuf));
    ok(c == NULL, "missing config fails");
    is_str(errbuf,
           expand_at("Could not open configuration file @/absent.conf: No such file or "
                     "directory\n"),
           "missing config message");
    conf_free(c);
}

/* ---- Include ---- */

static void test_include(void)
{
    fresh_root();
    write_file("portico.conf", "Listen 80\nDefine ORDER start\nInclude conf.d/*.conf\n"
                               "Include dir\nIncludeOptional nothere.conf\n"
                               "IncludeOptional conf.d/*.none\nIncludeOptional nodir/*/x.conf\n"
                               "Include sites/*/site.conf\n");
    write_file("conf.d/b.conf", "Define ORDER ${ORDER}-b\n");
    write_file("conf.d/a.conf", "Define ORDER ${ORDER}-a\n");
    write_file("conf.d/B.conf", "Define ORDER ${ORDER}-B\n");
    write_file("conf.d/.hidden.conf", "Define HIDDEN_GLOB\n");
    write_file("conf.d/a.conf~", "Define BACKUP\n");
    write_file("dir/x", "Define DIR_X ${ORDER}\n");
    write_file("dir/sub/y.conf", "Define DIR_Y\n");
    write_file("dir/.dot", "Define DIR_DOT\n");
    write_file("sites/one/site.conf", "Define SITE_ONE\n");
    write_file("sites/two/site.conf", "Define SITE_TWO\n");
    write_file("sites/three.conf", "Define NOT_A_DIR\n");
    struct conf *c = load_here();
    ok(c != NULL, "include tree loads");
    if (c == NULL) {
        printf("# %s", errbuf);
        return;
    }
    is_str(define_value(c, "ORDER"), "start-B-a-b", "glob matches in byte order");
    ok(!defined(c, "HIDDEN_GLOB"), "wildcard does not match a leading dot");
    ok(!defined(c, "BACKUP"), "*.conf does not match a backup file");
    ok(defined(c, "DIR_X") && defined(c, "DIR_Y") && defined(c, "DIR_DOT"),
       "directory include is recursive and takes dotfiles");
    ok(defined(c, "SITE_ONE") && defined(c, "SITE_TWO") && !defined(c, "NOT_A_DIR"),
       "wildcard in a directory component");
    conf_free(c);

    /* Errors inside included files cite the included file. */
    fresh_root();
    write_file("portico.conf", "Listen 80\nInclude inc/*.conf\n");
    write_file("inc/a.conf", "\n\nBogus here\n<Location /x>\n");
    write_file("inc/b.conf", "</VirtualHost>\n");
    c = load_here();
    ok(c == NULL, "errors in includes fail");
    is_str(errbuf,
           expand_at("@/inc/a.conf:3: Bogus: unknown directive (perhaps misspelled, or from a "
                     "module portico does not build in)\n"
                     "@/inc/a.conf:4: <Location> was not closed.\n"
                     "@/inc/b.conf:1: </VirtualHost> without matching <VirtualHost section\n"),
           "included file:line in errors; sections do not span files");
    conf_free(c);

    /* Include inside a vhost applies there. */
    fresh_root();
    write_file("portico.conf", "Listen 80\n<VirtualHost *:80>\nInclude v.conf\n</VirtualHost>\n");
    write_file("v.conf", "ServerAlias Inc.Example\nTimeout 3\n");
    c = load_here();
    ok(c != NULL && c->vhosts && c->vhosts->n_aliases == 1 &&
           strcmp(c->vhosts->aliases[0], "inc.example") == 0 && c->vhosts->timeout == 3,
       "Include inside <VirtualHost> runs in the vhost");
    conf_free(c);

    /* Mutual include loop, and a missing file below a glob. */
    fresh_root();
    write_file("portico.conf", "Listen 80\nInclude a.conf\n");
    write_file("a.conf", "Include b.conf\n");
    write_file("b.conf", "Include a.conf\n");
    c = load_here();
    is_str(errbuf,
           expand_at("@/b.conf:1: Include: @/a.conf is included recursively (include "
                     "loop)\n"),
           "indirect include loop detected");
    conf_free(c);
    fresh_root();
    write_file("portico.conf", "Listen 80\nInclude s/*/site.conf\n");
    write_file("s/one/other.conf", "\n");
    c = load_here();
    is_str(errbuf,
           expand_at("@/portico.conf:2: Include: Could not open configuration file "
                     "@/s/one/site.conf: No such file or directory\n"),
           "fixed component below a wildcard must exist");
    conf_free(c);
    write_file("portico.conf", "Listen 80\nIncludeOptional s/*/site.conf\n");
    c = load_here();
    ok(c != NULL, "IncludeOptional ignores it");
    conf_free(c);
}

/* ---- conditionals, Define, ${} ---- */

static void test_conditionals(void)
{
    const char *defs[] = {"FROM_CMDLINE", NULL};
    struct conf *c =
        load_opts("Listen 80\n"
                  "<IfModule proxy_module>\nDefine M1\n</IfModule>\n"
                  "<IfModule mod_proxy.c>\nDefine M2\n</IfModule>\n"
                  "<IfModule mod_proxy>\nDefine M3\n</IfModule>\n"
                  "<IfModule !proxy_module>\nDefine M4\n</IfModule>\n"
                  "<IfModule nosuch_module>\nDefine M5\nGarbage line here\n</IfModule>\n"
                  "<IfModule !nosuch_module>\nDefine M6\n</IfModule>\n"
                  "<IfModule mpm_event_module>\nDefine M7\n</IfModule>\n"
                  "<IfModule prefork.c>\nDefine M8\n</IfModule>\n"
                  "<IfModule mod_ssl.so>\nDefine M9\n</IfModule>\n"
                  "<IfDefine FROM_CMDLINE>\nDefine D1\n</IfDefine>\n"
                  "<IfDefine LATER>\nDefine D2\n</IfDefine>\n"
                  "Define LATER\n"
                  "<IfDefine LATER>\nDefine D3\n</IfDefine>\n"
                  "<IfDefine !NOPE>\nDefine D4\n</IfDefine>\n"
                  "UnDefine LATER\n"
                  "<IfDefine LATER>\nDefine D5\n</IfDefine>\n"
                  "<IfDefine FROM_CMDLINE>\n<IfModule !proxy_module>\nDefine D6\n</IfModule>\n"
                  "<IfModule rewrite_module>\nDefine D7\n</IfModule>\n</IfDefine>\n"
                  "<ifmodule proxy_module>\nDefine CASE\n</IFMODULE>\n"
                  "<IfFile portico.conf>\nDefine F1\n</IfFile>\n"
                  "<IfFile !nothere>\nDefine F2\n</IfFile>\n"
                  "<IfFile \"/nonexistent/x y\">\nDefine F3\n</IfFile>\n"
                  "<IfDirective ProxyPassXYZ>\nDefine I1\n</IfDirective>\n"
                  "<IfDirective Timeout>\nDefine I2\n</IfDirective>\n"
                  "<IfSection VirtualHost>\nDefine S1\n</IfSection>\n"
                  "<IfSection !Timeout>\nDefine S2\n</IfSection>\n",
                  NULL, NULL, defs);
    ok(c != NULL, "conditionals load");
    if (c == NULL) {
        printf("# %s", errbuf);
        return;
    }
    ok(defined(c, "M1"), "IfModule name_module");
    ok(defined(c, "M2"), "IfModule mod_name.c");
    ok(defined(c, "M3"), "IfModule mod_name");
    ok(!defined(c, "M4"), "IfModule !loaded is false");
    ok(!defined(c, "M5"), "IfModule unknown is false and its body is skipped");
    ok(defined(c, "M6"), "IfModule !unknown is true");
    ok(!defined(c, "M7"), "mpm_event_module is not loaded");
    ok(defined(c, "M8"), "prefork.c spelling");
    ok(!defined(c, "M9"), "mod_ssl.so is not a spelling httpd accepts");
    ok(defined(c, "D1"), "IfDefine sees -D");
    ok(!defined(c, "D2"), "Define is visible only to later lines");
    ok(defined(c, "D3"), "IfDefine sees Define");
    ok(defined(c, "D4"), "IfDefine !undefined");
    ok(!defined(c, "D5"), "UnDefine removes");
    ok(!defined(c, "D6") && defined(c, "D7"), "nested conditionals");
    ok(defined(c, "CASE"), "section names are case-insensitive");
    ok(defined(c, "F1") && defined(c, "F2") && !defined(c, "F3"), "IfFile");
    ok(!defined(c, "I1") && defined(c, "I2"), "IfDirective");
    ok(defined(c, "S1") && defined(c, "S2"), "IfSection");
    conf_free(c);

    setenv("PORTICO_TEST_PORT", "8181", 1);
    setenv("PORTICO_TEST_WORDS", "two words", 1);
    c = load("Define port 8080\nListen ${port}\nListen ${PORTICO_TEST_PORT}\n"
             "Define port 8282\nListen ${port}\nServerAdmin \"${PORTICO_TEST_WORDS}\"\n"
             "ServerName ${UNDEFINED_THING}\nDefine map:x 1\n");
    ok(c == NULL, "Define with ':' fails");
    c = load("Define port 8080\nListen ${port}\nListen ${PORTICO_TEST_PORT}\n"
             "Define port 8282\nListen ${port}\nServerAdmin \"${PORTICO_TEST_WORDS}\"\n"
             "ServerName ${UNDEFINED_THING}\nServerSignature Off\n"
             "DocumentRoot ${rewrite:map}\nDefine NOVALUE\nDefine CHECK ${NOVALUE}\n");
    ok(c != NULL, "${} config loads");
    if (c == NULL)
        printf("# %s", errbuf);
    if (c != NULL) {
        const struct conf_listener *l = c->listeners;
        is_str(l ? l->text : NULL, "*:8080", "${} from Define");
        l = l ? l->next : NULL;
        is_str(l ? l->text : NULL, "*:8181", "${} from the environment");
        l = l ? l->next : NULL;
        is_str(l ? l->text : NULL, "*:8282", "redefined value for later lines");
        is_str(c->main->server_admin, "two words", "quoted ${} keeps spaces");
        is_str(c->main->server_name, "${UNDEFINED_THING}", "undefined stays literal");
        ok(has_warning(c, expand_at("@/portico.conf:7: Config variable ${UNDEFINED_THING} is "
                                    "not defined")),
           "undefined variable warning with file:line");
        ok(!has_warning(c, "Config variable ${rewrite:map}"),
           "names with ':' are left alone silently");
        ok(has_warning(c, "${NOVALUE} is not defined"), "Define without value sets no ${}");
    }
    conf_free(c);

    c = load("Listen 80\nServerAdmin ${PORTICO_TEST_WORDS}\n");
    ok(c == NULL, "unquoted ${} with spaces splits into two arguments");
    conf_free(c);
}

/* ---- directives, defaults, inheritance ---- */

static void test_defaults(void)
{
    struct conf *c = load("Listen 80\nListen 127.0.0.1:443\nListen [::1]:8443 https\n"
                          "Listen 10.0.0.1:8080 HTTP\nServerName www.example.com\n");
    ok(c != NULL, "minimal config loads");
    if (c == NULL) {
        printf("# %s", errbuf);
        return;
    }
    const struct conf_server *m = c->main;
    is_int(m->timeout, 60, "Timeout default");
    is_int(m->keepalive, 1, "KeepAlive default");
    is_int(m->max_keepalive_requests, 100, "MaxKeepAliveRequests default");
    is_int(m->keepalive_timeout_ms, 5000, "KeepAliveTimeout default");
    is_int(m->limit_request_line, 8190, "LimitRequestLine default");
    is_int(m->limit_request_fieldsize, 8190, "LimitRequestFieldSize default");
    is_int(m->limit_request_fields, 100, "LimitRequestFields default");
    is_int(m->limit_request_body, 1073741824LL, "LimitRequestBody default");
    is_int(m->trace_enable, 1, "TraceEnable default");
    is_int(c->start_servers, 5, "StartServers default");
    is_int(c->min_spare_servers, 5, "MinSpareServers default");
    is_int(c->max_spare_servers, 10, "MaxSpareServers default");
    is_int(c->max_request_workers, 256, "MaxRequestWorkers default");
    is_int(c->server_limit, 256, "ServerLimit default");
    is_int(c->listen_backlog, 511, "ListenBacklog default");
    is_int(c->max_connections_per_child, 0, "MaxConnectionsPerChild default");
    is_int(conf_log_level(m, MOD_PROXY), LL_WARN, "LogLevel default warn");
    is_str(c->pid_file, expand_at("@/logs/portico.pid"), "PidFile default");
    is_str(m->error_log, expand_at("@/logs/error_log"), "ErrorLog default");
    is_str(c->server_root, root, "ServerRoot from options");
    is_str(c->config_file, expand_at("@/portico.conf"), "config file default");
    ok(c->user == NULL && c->uid == (uid_t)-1, "User unset");
    is_int(m->error_log_fd, -1, "error log fd -1");
    const struct conf_listener *l = c->listeners;
    ok(l && strcmp(l->text, "*:80") == 0 && strcmp(l->protocol, "http") == 0 && l->fd == -1,
       "Listen 80: *:80 http, fd -1");
    l = l ? l->next : NULL;
    ok(l && strcmp(l->text, "127.0.0.1:443") == 0 && strcmp(l->protocol, "https") == 0,
       "port 443 defaults to https");
    l = l ? l->next : NULL;
    ok(l && strcmp(l->text, "[::1]:8443") == 0 && strcmp(l->protocol, "https") == 0 &&
           l->addr.ss_family == AF_INET6,
       "IPv6 listener with protocol");
    l = l ? l->next : NULL;
    ok(l && strcmp(l->protocol, "http") == 0 && l->line == 4, "protocol lower-cased, line kept");
    ok(!has_warning(c, "fully qualified"), "no ServerName warning when set");
    conf_free(c);

    c = load("Listen 80\n");
    ok(c && has_warning(c, "Could not reliably determine the server's fully qualified domain "
                           "name"),
       "missing ServerName warns");
    conf_free(c);
}

static void test_vhosts(void)
{
    struct conf *c =
        load("Listen 80\nServerName main.example:8080\n"
             "<VirtualHost *:80 10.1.2.3:81 [::1] _default_:443>\n"
             "ServerName a.example\nServerAlias A1.Example *.wild.example\nServerAlias third\n"
             "KeepAliveTimeout 250ms\nErrorDocument 404 /nf.html\n"
             "AddType text/x-a .A\n</VirtualHost>\n"
             "<VirtualHost *:80>\nKeepAlive Off\n</VirtualHost>\n"
             "Timeout 33\nErrorDocument 404 \"main 404\"\nErrorDocument 500 \"main 500\"\n"
             "AddType text/x-a a b\nLogLevel info proxy:debug\nDirectoryIndex index.html x.html\n");
    ok(c != NULL, "vhost config loads");
    if (c == NULL) {
        printf("# %s", errbuf);
        return;
    }
    const struct conf_server *a = c->vhosts, *b = a ? a->next : NULL;
    ok(a && b && b->next == NULL, "two vhosts in order");
    if (!a || !b)
        return;
    is_int(a->timeout, 33, "main-server directive after a vhost still applies");
    is_int(a->keepalive_timeout_ms, 250, "KeepAliveTimeout NNNms");
    is_int(b->keepalive, 0, "vhost's own KeepAlive");
    is_int(a->keepalive, 1, "inherited default KeepAlive");
    is_str(a->server_name, "a.example", "vhost ServerName");
    is_str(b->server_name, "main.example", "vhost without ServerName inherits the main one");
    is_int(b->server_port, 8080, "and its port");
    is_int(a->n_aliases, 3, "ServerAlias accumulates");
    is_str(a->aliases[0], "a1.example", "aliases lower-cased");
    is_str(a->aliases[1], "*.wild.example", "wildcard alias kept");
    const struct conf_vaddr *va = a->addrs;
    ok(va && va->any_addr && va->port == 80, "*:80");
    va = va ? va->next : NULL;
    ok(va && !va->any_addr && va->port == 81 && va->addr.ss_family == AF_INET, "10.1.2.3:81");
    va = va ? va->next : NULL;
    ok(va && va->port == 0 && va->addr.ss_family == AF_INET6, "[::1] any port");
    va = va ? va->next : NULL;
    ok(va && va->any_addr && va->port == 443, "_default_:443");
    ok(a->errdocs && a->errdocs->status == 404 && strcmp(a->errdocs->value, "/nf.html") == 0,
       "vhost ErrorDocument first");
    ok(a->errdocs && a->errdocs->next && a->errdocs->next->status == 404 &&
           a->errdocs->next->next && a->errdocs->next->next->status == 500,
       "main ErrorDocuments follow");
    ok(c->main->errdocs && strcmp(c->main->errdocs->value, "\"main 404") == 0,
       "text ErrorDocument stored with httpd's quote marker");
    ok(a->addtypes && strcmp(a->addtypes->ext, "a") == 0 &&
           strcmp(a->addtypes->type, "text/x-a") == 0,
       "AddType extension stored lower case without the dot");
    ok(b->n_dir_index == 2 && strcmp(b->dir_index[1], "x.html") == 0, "DirectoryIndex inherited");
    is_int(conf_log_level(b, MOD_PROXY), LL_DEBUG, "vhost inherits module log level");
    is_int(conf_log_level(b, MOD_SSL), LL_INFO, "vhost inherits base log level");
    is_str(b->error_log, c->main->error_log, "ErrorLog inherited");
    is_str(a->file, expand_at("@/portico.conf"), "vhost keeps its file");
    is_int(a->line, 3, "vhost keeps its line");

    FILE *f = tmpfile();
    conf_dump(c, f);
    rewind(f);
    char dump[8192];
    size_t n = fread(dump, 1, sizeof(dump) - 1, f);
    dump[n] = '\0';
    fclose(f);
    ok(strstr(dump, "Listeners:\n  *:80") != NULL, "dump lists listeners first");
    ok(strstr(dump, "*:80                   is a NameVirtualHost\n         default server "
                    "a.example") != NULL,
       "dump: name-based address, default first");
    ok(strstr(dump, "port 80 namevhost main.example") != NULL, "dump: second name vhost");
    ok(strstr(dump, "10.1.2.3:81            a.example (") != NULL, "dump: IP-based vhost");
    ok(strstr(dump, "[::1]:*") != NULL, "dump: IPv6 any port");
    ok(strstr(dump, "                 alias a1.example\n") != NULL, "dump: aliases");
    ok(strstr(dump, "ServerRoot: \"") != NULL && strstr(dump, "PidFile: \"") != NULL,
       "dump: ServerRoot and PidFile");
    ok(strstr(dump, "MaxRequestWorkers 256") != NULL, "dump: MPM limits");
    conf_free(c);

    c = load("Listen 80\n<VirtualHost *:80>\nLogLevel error\n</VirtualHost>\n"
             "LogLevel debug rewrite:trace3\n");
    ok(c && conf_log_level(c->vhosts, MOD_REWRITE) == LL_ERROR,
       "a vhost's bare LogLevel resets module levels");
    ok(c && conf_log_level(c->main, MOD_REWRITE) == LL_TRACE3 &&
           conf_log_level(c->main, MOD_CORE) == LL_DEBUG,
       "LogLevel module:level");
    conf_free(c);
    c = load("Listen 80\nLogLevel rewrite:trace3 info\n");
    ok(c && conf_log_level(c->main, MOD_REWRITE) == LL_INFO, "bare level resets module levels");
    conf_free(c);
    c = load("Listen 80\nLogLevel mod_proxy.c:error proxy_http_module:crit\n");
    ok(c && conf_log_level(c->main, MOD_PROXY) == LL_ERROR &&
           conf_log_level(c->main, MOD_PROXY_HTTP) == LL_CRIT,
       "LogLevel accepts module spellings");
    conf_free(c);
}

static void test_mpm(void)
{
    struct conf *c = load("Listen 80\nMaxRequestWorkers 300\n");
    ok(c && c->max_request_workers == 256, "MaxRequestWorkers clamped to ServerLimit");
    ok(c && has_warning(c, expand_at("@/portico.conf:2: MaxRequestWorkers: 300 exceeds "
                                     "ServerLimit value of 256, decreasing to 256")),
       "clamping warns with file:line");
    conf_free(c);
    c = load("Listen 80\nMaxRequestWorkers 300\nServerLimit 400\n");
    ok(c && c->max_request_workers == 300 && c->server_limit == 400, "ServerLimit raises it");
    conf_free(c);
    c = load("Listen 80\nServerLimit 10\n");
    ok(c && c->max_request_workers == 10 && c->start_servers == 5, "default MRW under limit");
    conf_free(c);
    c = load("Listen 80\nServerLimit 3\nStartServers 8\n");
    ok(c && c->start_servers == 3, "StartServers above MaxRequestWorkers is lowered");
    conf_free(c);
    c = load("Listen 80\nMinSpareServers 5\nMaxSpareServers 3\n");
    ok(c && c->max_spare_servers == 6, "MaxSpareServers <= Min becomes Min+1");
    conf_free(c);
    c = load("Listen 80\nMaxClients 50\nStartServers 0\nServerLimit 300000\n"
             "MaxRequestsPerChild 1000\nListenBacklog 1024\nGracefulShutdownTimeout 30\n");
    ok(c != NULL, "old names load");
    if (c != NULL) {
        is_int(c->max_request_workers, 50, "MaxClients sets MaxRequestWorkers");
        ok(has_warning(c, "MaxClients: MaxClients is deprecated, use MaxRequestWorkers"),
           "MaxClients warns");
        is_int(c->start_servers, 1, "StartServers 0 raised to 1");
        ok(has_warning(c, ":3: StartServers: 0 is below the minimum, raised to 1"),
           "StartServers warning");
        is_int(c->server_limit, 200000, "ServerLimit capped");
        is_int(c->max_connections_per_child, 1000, "MaxRequestsPerChild");
        is_int(c->listen_backlog, 1024, "ListenBacklog");
        is_int(c->graceful_shutdown_timeout, 30, "GracefulShutdownTimeout");
    }
    conf_free(c);
    c = load("Listen 80\nUser root\nGroup #0\nPidFile run/p.pid\nPidFile /abs/p.pid\n");
    ok(c && c->uid == 0 && strcmp(c->user, "root") == 0, "User by name");
    ok(c && c->gid == 0 && strcmp(c->group, "#0") == 0, "Group by #gid");
    ok(c && strcmp(c->pid_file, "/abs/p.pid") == 0, "last PidFile wins, absolute kept");
    conf_free(c);
}

static void test_core_directives(void)
{
    struct conf *c = load(
        "Listen 80\n"
        "serverroot /tmp\n"
        "TIMEOUT 12\n"
        "ServerName https://[::1]:8443\n"
        "DocumentRoot htdocs/\n"
        "ErrorDocument 404 Not found here\n"
        "ErrorDocument 403 default\n"
        "ErrorDocument 401 http://example.com/login\n"
        "ErrorDocument 500 http://example.com/oops\n"
        "ErrorDocument 404 \"Replaced\"\n"
        "Options Indexes FollowSymLinks\n"
        "AddDefaultCharset On\n"
        "ServerTokens Prod\nServerSignature EMail\nUseCanonicalName DNS\nTraceEnable extended\n"
        "HostnameLookups off\nMutex file:/var/lock default\nDefaultRuntimeDir run\n"
        "TypesConfig /etc/mime.types\nLimitRequestBody 0\nLimitRequestLine 100\n"
        "<Directory /var/www>\n  Options -Indexes +ExecCGI\n  AllowOverride All\n"
        "  <Files \"x.php\">\n  LimitRequestBody 10\n  </Files>\n"
        "  <FilesMatch \\.bak$>\n  </FilesMatch>\n</Directory>\n"
        "<Location ~ \"^/api/(v1|v2)\">\nErrorDocument 502 \"bad gateway\"\n"
        "DirectoryIndex disabled\nAddDefaultCharset utf-8\n</Location>\n"
        "<LocationMatch ^/x>\nOptions None\n</LocationMatch>\n"
        "<Proxy balancer://app>\n</Proxy>\n<ProxyMatch ^http://(.*)>\n</ProxyMatch>\n"
        "<DirectoryMatch \"^/srv\">\n</DirectoryMatch>\n"
        "LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so\n"
        "LoadModule mpm_prefork_module modules/mod_mpm_prefork.so\n");
    ok(c != NULL, "core directives load");
    if (c == NULL) {
        printf("# %s", errbuf);
        return;
    }
    const struct conf_server *m = c->main;
    is_int(m->timeout, 12, "directive names are case-insensitive");
    is_str(c->server_root, "/tmp", "ServerRoot directive");
    is_str(m->server_scheme, "https", "ServerName scheme");
    is_str(m->server_name, "[::1]", "ServerName IPv6 host");
    is_int(m->server_port, 8443, "ServerName port");
    is_str(m->document_root, "/tmp/htdocs", "DocumentRoot relative to ServerRoot, no slash");
    ok(has_warning(c, "DocumentRoot [/tmp/htdocs] does not exist"), "missing DocumentRoot warns");
    const struct conf_errdoc *e = m->errdocs;
    ok(e && e->status == 404 && strcmp(e->value, "\"Replaced") == 0,
       "later ErrorDocument for a status replaces it");
    e = e ? e->next : NULL;
    ok(e && e->status == 403 && strcmp(e->value, "default") == 0, "ErrorDocument default");
    e = e ? e->next : NULL;
    ok(e && e->status == 500 && strcmp(e->value, "http://example.com/oops") == 0,
       "ErrorDocument URL");
    ok(e && e->next == NULL, "401 URL not stored");
    ok(has_warning(c, expand_at("@/portico.conf:8: ErrorDocument: cannot use a full URL in a "
                                "401 ErrorDocument directive --- ignoring!")),
       "401 URL warns like httpd");
    is_int(m->options, OPT_INDEXES | OPT_FOLLOWSYMLINKS, "Options list");
    is_str(m->add_default_charset, "iso-8859-1", "AddDefaultCharset On");
    is_int(c->server_tokens, TOKENS_PROD, "ServerTokens");
    is_int(m->server_signature, 2, "ServerSignature EMail");
    is_int(m->use_canonical_name, 2, "UseCanonicalName DNS");
    is_int(m->trace_enable, 2, "TraceEnable extended");
    is_str(c->default_runtime_dir, "/tmp/run", "DefaultRuntimeDir");
    is_str(c->types_config, "/etc/mime.types", "TypesConfig");
    is_int(m->limit_request_body, 0, "LimitRequestBody 0");
    is_int(m->limit_request_line, 100, "LimitRequestLine");
    ok(has_warning(c, "AllowOverride: portico does not read .htaccess files; treated as None"),
       "AllowOverride All warns");

    const struct conf_dir *d = m->dirs;
    ok(d && d->kind == DIR_DIRECTORY && strcmp(d->pattern, "/var/www") == 0, "<Directory>");
    ok(d && d->options == CONF_UNSET && d->options_add == OPT_EXECCGI &&
           d->options_remove == OPT_INDEXES,
       "Options +X -Y in a section");
    const struct conf_dir *files = d ? d->next : NULL;
    ok(files && files->kind == DIR_FILES && files->parent == d &&
           strcmp(files->pattern, "x.php") == 0 && files->limit_request_body == 10,
       "<Files> nested in <Directory> with its own LimitRequestBody");
    const struct conf_dir *fm = files ? files->next : NULL;
    ok(fm && fm->kind == DIR_FILESMATCH && fm->regex != NULL, "<FilesMatch> compiled");
    const struct conf_dir *loc = fm ? fm->next : NULL;
    ok(loc && loc->kind == DIR_LOCATIONMATCH && loc->regex != NULL &&
           strcmp(loc->pattern, "^/api/(v1|v2)") == 0 && loc->parent == NULL,
       "<Location ~ re> becomes LocationMatch");
    ok(loc && loc->errdocs && loc->errdocs->status == 502, "ErrorDocument in a section");
    ok(loc && loc->dir_index && loc->n_dir_index == 0, "DirectoryIndex disabled");
    ok(loc && strcmp(loc->add_default_charset, "utf-8") == 0, "AddDefaultCharset charset");
    const struct conf_dir *lm = loc ? loc->next : NULL;
    ok(lm && lm->kind == DIR_LOCATIONMATCH && lm->options == OPT_NONE, "<LocationMatch>");
    const struct conf_dir *px = lm ? lm->next : NULL;
    ok(px && px->kind == DIR_PROXY && strcmp(px->pattern, "balancer://app") == 0, "<Proxy>");
    px = px ? px->next : NULL;
    ok(px && px->kind == DIR_PROXYMATCH && px->regex != NULL, "<ProxyMatch>");
    px = px ? px->next : NULL;
    ok(px && px->kind == DIR_DIRECTORYMATCH && px->next == NULL, "<DirectoryMatch>");
    conf_free(c);

    c = load("Listen 80\nOptions +Indexes\nOptions -FollowSymLinks +MultiViews\n");
    is_int(c ? c->main->options : -2, OPT_INDEXES | OPT_MULTIVIEWS,
           "+/- Options on the server start from the default");
    conf_free(c);
    c = load("Listen 80\nOptions All\n");
    is_int(c ? c->main->options : -2, OPT_ALL, "Options All");
    conf_free(c);
}

static void test_logs(void)
{
    setenv("PORTICO_NOLOG", "1", 1);
    struct conf *c = load("Listen 80\nCustomLog logs/access_log combined\n"
                          "CustomLog \"|/usr/bin/rotatelogs x 86400\" \"%h %>s\" env=!nolog\n"
                          "LogFormat \"%h %l %u %t \\\"%r\\\" %>s %b \\\"%{Referer}i\\\"\" "
                          "combined\n"
                          "LogFormat \"%h only\"\nTransferLog logs/transfer\n"
                          "CustomLog logs/lit justtext env=X\n"
                          "ErrorLog logs/error_main\n"
                          "<VirtualHost *:80>\nErrorLog \"|/bin/cat\"\n</VirtualHost>\n"
                          "<VirtualHost *:81>\nCustomLog /v/log \"%v\"\n</VirtualHost>\n");
    ok(c != NULL, "log config loads");
    if (c == NULL) {
        printf("# %s", errbuf);
        return;
    }
    const struct conf_customlog *l = c->main->logs;
    ok(l && strcmp(l->path, expand_at("@/logs/access_log")) == 0 &&
           strcmp(l->format, "%h %l %u %t \"%r\" %>s %b \"%{Referer}i\"") == 0 &&
           l->compiled != NULL && l->fd == -1,
       "CustomLog nickname defined later resolves");
    l = l ? l->next : NULL;
    ok(l && strcmp(l->path, "|/usr/bin/rotatelogs x 86400") == 0 && l->env_negate &&
           strcmp(l->env, "nolog") == 0 && strcmp(l->format, "%h %>s") == 0,
       "piped CustomLog with env=!VAR and inline format");
    l = l ? l->next : NULL;
    ok(l && strcmp(l->format, "%h only") == 0, "TransferLog uses the nickname-less LogFormat");
    l = l ? l->next : NULL;
    ok(l && strcmp(l->env, "X") == 0 && !l->env_negate, "env=VAR");
    ok(has_warning(c, "CustomLog: 'justtext' is not a LogFormat nickname"),
       "unknown nickname warns");
    is_str(c->main->error_log, expand_at("@/logs/error_main"), "ErrorLog relative to ServerRoot");
    conf_free(load("Listen 80\nErrorLog syslog:local1\n"));
    ok(strstr(errbuf, ":2: ErrorLog: syslog is not supported; pipe to logger") != NULL,
       "ErrorLog syslog is refused at -t with the logger alternative");
    const struct conf_server *v1 = c->vhosts, *v2 = v1 ? v1->next : NULL;
    ok(v1 && strcmp(v1->error_log, "|/bin/cat") == 0, "vhost piped ErrorLog");
    ok(v1 && v1->logs == c->main->logs, "vhost without logs shares the main server's");
    ok(v2 && v2->logs && v2->logs != c->main->logs && v2->logs->next == NULL,
       "vhost with its own CustomLog does not inherit");
    conf_free(c);

    c = load("Listen 80\nTransferLog logs/t\n");
    ok(c && strcmp(c->main->logs->format, "%h %l %u %t \"%r\" %>s %b") == 0,
       "TransferLog defaults to CLF");
    conf_free(c);
    is_int(log_level_parse("WARN"), LL_WARN, "log_level_parse is case-insensitive");
    is_int(log_level_parse("trace8"), LL_TRACE8, "trace8");
    is_int(log_level_parse("loud"), -1, "unknown level");
    is_str(log_level_name(LL_NOTICE), "notice", "log_level_name");
    is_str(log_level_name(LL_TRACE1), "trace1", "log_level_name trace1");
}

static void test_modules(void)
{
    is_int(module_find("proxy_module", 0), MOD_PROXY, "module_find identifier");
    is_int(module_find("mod_proxy.c", 0), MOD_PROXY, "module_find source name");
    is_int(module_find("mod_proxy", 0), MOD_PROXY, "module_find stem");
    is_int(module_find("proxy", 0), -1, "bare name only for LogLevel");
    is_int(module_find("proxy", 1), MOD_PROXY, "bare name with log_name");
    is_int(module_find("core_module", 0), MOD_CORE, "core_module");
    is_int(module_find("core.c", 0), MOD_CORE, "core.c");
    is_int(module_find("http_core.c", 0), MOD_HTTP, "http_core.c");
    is_int(module_find("security2_module", 0), MOD_SECURITY2, "security2_module");
    is_int(module_find("mod_lbmethod_heartbeat.c", 0), MOD_LBMETHOD_HEARTBEAT, "lbmethod file");
    is_int(module_find("proxy_modulex", 0), -1, "near miss");
    is_int(module_find("mpm_event_module", 0), -1, "mpm_event not built in");
    ok(module_refusal("mpm_event_module") != NULL, "mpm_event refused");
    ok(module_refusal("proxy_module") == NULL, "proxy not refused");
    for (int i = 0; i < MOD_COUNT; i++)
        if (modules_builtin[i].id != (enum module_id)i)
            ok(0, "module table out of order at %d", i);

    FILE *f = tmpfile();
    conf_dump_modules(f);
    rewind(f);
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    buf[n] = '\0';
    fclose(f);
    ok(strncmp(buf, "Loaded Modules:\n core_module (static)\n so_module (static)\n", 56) == 0,
       "-M output starts like httpd's");
    ok(strstr(buf, " security2_module (static)\n") != NULL, "-M lists security2");
    int lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    is_int(lines, MOD_COUNT + 1, "-M: one line per module");
    ok(strstr(buf, " ssl_module (static)\n") != NULL, "-M lists ssl");
}

static void test_debian_fixture(void)
{
    setenv("APACHE_RUN_DIR", "/var/run/apache2", 1);
    setenv("APACHE_PID_FILE", "/var/run/apache2/apache2.pid", 1);
    setenv("APACHE_LOG_DIR", "/var/log/apache2", 1);
    struct conf_options o = {TEST_DATA_DIR "/debian", "apache2.conf", NULL, NULL, NULL};
    struct conf *c = conf_load(&o, errbuf, sizeof(errbuf));
    ok(c == NULL, "Debian fixture: one unknown directive");
    is_str(errbuf,
           TEST_DATA_DIR "/debian/apache2.conf:26: AccessFileName: unknown directive (perhaps "
                         "misspelled, or from a module portico does not build in)\n",
           "only AccessFileName is reported: every LoadModule line was accepted");
    conf_free(c);
    const char *post[] = {NULL};
    const char *pre[] = {"<IfDefine NEVER>", NULL};
    (void)post;
    struct conf_options o2 = {TEST_DATA_DIR "/debian", "apache2.conf", NULL, pre, NULL};
    c = conf_load(&o2, errbuf, sizeof(errbuf));
    ok(c == NULL &&
           strstr(errbuf, "-C:1: Expected </IfDefine> before end of configuration") != NULL,
       "a -C section must close in its own line");
    conf_free(c);

    /* Same fixture without the unknown line: copy it via Include and -c. */
    fresh_root();
    char inc[600];
    snprintf(inc, sizeof(inc),
             "ServerRoot %s/debian\nDefine x\n<IfDefine never>\nInclude apache2.conf\n"
             "</IfDefine>\nInclude mods-enabled/*.load\nInclude mods-enabled/*.conf\n"
             "Listen 80\nPidFile ${APACHE_PID_FILE}\n",
             TEST_DATA_DIR);
    write_file("portico.conf", inc);
    c = load_here();
    ok(c != NULL, "Debian mods-enabled files load");
    if (c != NULL) {
        is_int(c->max_request_workers, 150, "IfModule mpm_prefork_module applied");
        is_str(c->pid_file, "/var/run/apache2/apache2.pid", "${APACHE_PID_FILE} from env");
    }
    conf_free(c);
}

int main(void)
{
    test_lexer();
    test_expand();
    test_errors();
    test_command_line();
    test_include();
    test_conditionals();
    test_defaults();
    test_vhosts();
    test_mpm();
    test_core_directives();
    test_logs();
    test_modules();
    test_debian_fixture();
    if (root[0] != '\0')
        nftw(root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return tap_done();
}
