/* portico: command line (httpd's flags), config test and dumps, -k signalling, start. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "conf.h"
#include "conf_registry.h"
#include "master.h"
#include "tls.h"
#include "modules.h"
#include "proxy_types.h"
#include "util.h"

#define MAX_ARGS 64

static void usage(FILE *out)
{
    fprintf(out, "Usage: portico [-D name] [-d directory] [-f file]\n"
                 "               [-C \"directive\"] [-c \"directive\"]\n"
                 "               [-k start|restart|graceful|graceful-stop|stop]\n"
                 "               [-v] [-V] [-h] [-t] [-S] [-M] [-L] [-X]\n"
                 "Options:\n"
                 "  -D name            : define a name for use in <IfDefine name> directives\n"
                 "  -d directory       : specify an alternate initial ServerRoot\n"
                 "  -f file            : specify an alternate ServerConfigFile\n"
                 "  -C \"directive\"     : process directive before reading config files\n"
                 "  -c \"directive\"     : process directive after reading config files\n"
                 "  -v                 : show version number\n"
                 "  -V                 : show compile settings\n"
                 "  -h                 : list available command line options (this page)\n"
                 "  -L                 : list configuration directives\n"
                 "  -M                 : list loaded modules\n"
                 "  -S                 : show parsed virtual host, listener and MPM settings\n"
                 "  -t                 : run syntax check for config files\n"
                 "  -X                 : debug mode (only one worker, do not detach)\n"
                 "  -DFOREGROUND       : keep the master in the foreground\n");
}

static int has_define(const char **defs, const char *name)
{
    for (int i = 0; defs[i]; i++)
        if (strcmp(defs[i], name) == 0)
            return 1;
    return 0;
}

/* httpd's names for the contexts; a <Location>, <Directory>, <Files> and <Proxy> are told
 * apart because portico, unlike httpd, refuses some directives in some of them. */
static void print_contexts(FILE *out, const struct conf_directive *d)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{CTX_SERVER, "server config"}, {CTX_VHOST, "virtual host"},
                 {CTX_LOCATION, "location"},    {CTX_DIRECTORY, "directory"},
                 {CTX_FILES, "files"},          {CTX_PROXY, "proxy"},
                 {CTX_AUTHZ, "authz container"}};
    const char *sep = "";
    for (size_t i = 0; i < ARRAY_LEN(names); i++) {
        if (d->ctx & names[i].bit) {
            fprintf(out, "%s%s", sep, names[i].name);
            sep = ", ";
        }
    }
    if (d->flags & DIRF_GLOBAL_ONLY)
        fputs(" (top level only)", out);
}

static int cmp_directive(const void *a, const void *b)
{
    const struct conf_directive *const *x = a, *const *y = b;
    const char *nx = (*x)->name + ((*x)->name[0] == '<');
    const char *ny = (*y)->name + ((*y)->name[0] == '<');
    int r = strcasecmp(nx, ny);
    return r != 0 ? r : strcmp((*x)->name, (*y)->name);
}

/* -L: one line per directive, sorted by name (sections sort by their name without '<'):
 * "Name module-file context, context". Names and module files hold no blanks, so the
 * first two fields split on white space. */
static int list_directives(FILE *out)
{
    size_t n = 0;
    for (size_t t = 0; conf_tables[t] != NULL; t++)
        n += conf_tables[t]->n;
    const struct conf_directive **all = calloc(n ? n : 1, sizeof(*all));
    if (all == NULL) {
        fprintf(stderr, "portico: out of memory\n");
        return 1;
    }
    size_t k = 0;
    for (size_t t = 0; conf_tables[t] != NULL; t++)
        for (size_t i = 0; i < conf_tables[t]->n; i++)
            all[k++] = &conf_tables[t]->directives[i];
    qsort(all, n, sizeof(*all), cmp_directive);
    for (size_t i = 0; i < n; i++) {
        const struct conf_directive *d = all[i];
        int sec = (d->flags & DIRF_SECTION) != 0;
        char name[128];
        snprintf(name, sizeof(name), "%s%s", d->name, sec ? ">" : "");
        fprintf(out, "%-28s %-28s ", name, modules_builtin[d->module].file);
        print_contexts(out, d);
        fputc('\n', out);
    }
    free(all);
    return 0;
}

static struct conf *load_or_report(const struct conf_options *copt)
{
    static char errbuf[65536];
    struct conf *c = conf_load(copt, errbuf, sizeof(errbuf));
    if (c == NULL) {
        fputs(errbuf, stderr);
        if (errbuf[0] != '\0' && errbuf[strlen(errbuf) - 1] != '\n')
            fputc('\n', stderr);
        return NULL;
    }
    for (const struct conf_msg *m = c->warnings; m; m = m->next)
        fprintf(stderr, "%s\n", m->text);
    return c;
}

/* -k stop|restart|graceful|graceful-stop: signal the server named by the PidFile. */
static int signal_server(struct conf *c, const char *cmd, const struct master_options *mo)
{
    char err[512];
    long pid = master_read_pid(c->pid_file, err, sizeof(err));
    int sig = 0;
    if (strcmp(cmd, "stop") == 0)
        sig = SIGTERM;
    else if (strcmp(cmd, "restart") == 0)
        sig = SIGHUP;
    else if (strcmp(cmd, "graceful") == 0)
        sig = SIGUSR1;
    else if (strcmp(cmd, "graceful-stop") == 0)
        sig = SIGWINCH;
    int start = strcmp(cmd, "start") == 0 || (pid == 0 && (sig == SIGHUP || sig == SIGUSR1));
    int rc = 1;
    if (pid < 0) {
        fprintf(stderr, "%s\n", err);
    } else if (sig == 0 && strcmp(cmd, "start") != 0) {
        fprintf(stderr, "portico: unknown -k command '%s'\n", cmd);
    } else if (start && pid > 0) {
        fprintf(stderr, "portico (pid %ld) already running\n", pid);
        rc = 0; /* apachectl start on a running server is not a failure */
    } else if (start) {
        if (sig != 0)
            fprintf(stderr, "portico not running, trying to start\n");
        return master_run(c, mo); /* takes ownership of c */
    } else if (pid == 0) {
        fprintf(stderr, "portico (no pid file) not running\n");
    } else if (kill((pid_t)pid, sig) < 0) {
        fprintf(stderr, "portico: cannot signal pid %ld: %s\n", pid, strerror(errno));
    } else {
        rc = 0;
    }
    conf_free(c);
    return rc;
}

int main(int argc, char **argv)
{
    const char *defines[MAX_ARGS + 1] = {0}, *pre[MAX_ARGS + 1] = {0}, *post[MAX_ARGS + 1] = {0};
    int nd = 0, npre = 0, npost = 0;
    int test = 0, dump = 0, modules = 0, single = 0;
    const char *kcmd = NULL;
    struct master_options mo = {0};
    int ch;
    while ((ch = getopt(argc, argv, "f:d:D:C:c:k:e:E:tSMLXvVhT")) != -1) {
        switch (ch) {
        case 'f':
            mo.copt.config_file = optarg;
            break;
        case 'd':
            mo.copt.server_root = optarg;
            break;
        case 'D':
            if (nd < MAX_ARGS)
                defines[nd++] = optarg;
            break;
        case 'C':
            if (npre < MAX_ARGS)
                pre[npre++] = optarg;
            break;
        case 'c':
            if (npost < MAX_ARGS)
                post[npost++] = optarg;
            break;
        case 'k':
            kcmd = optarg;
            break;
        case 'e':
        case 'E':
        case 'T':
            break; /* accepted for httpd compatibility */
        case 't':
            test = 1;
            break;
        case 'S':
            dump = 1;
            break;
        case 'M':
            modules = 1;
            break;
        case 'L':
            return list_directives(stdout);
        case 'X':
            single = 1;
            break;
        case 'v':
            printf("Server version: portico/%s (Unix)\n", PACKAGE_VERSION);
            return 0;
        case 'V':
            printf("Server version: portico/%s (Unix)\nServer MPM:     prefork\n"
                   " -D SYSCONFDIR=\"%s\"\n -D SERVER_CONFIG_FILE=\"portico.conf\"\n",
                   PACKAGE_VERSION, SYSCONFDIR);
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        usage(stderr);
        return 1;
    }
    mo.copt.defines = defines;
    mo.copt.pre = pre;
    mo.copt.post = post;
    mo.single = single || has_define(defines, "ONE_PROCESS");
    mo.foreground = has_define(defines, "FOREGROUND") || has_define(defines, "NO_DETACH");

    if (modules) {
        conf_dump_modules(stdout);
        return 0;
    }
    struct conf *c = load_or_report(&mo.copt);
    if (c == NULL)
        return 1;
    if (dump) {
        conf_dump(c, stdout);
        proxy_conf_dump(c, stdout);
        conf_free(c);
        return 0;
    }
    if (test) {
        /* Certificates and keys that do not load (or do not match) would only fail at
         * start: check them here too, as httpd's -t does. */
        char terr[1024];
        if (tls_conf_load(c, terr, sizeof(terr)) < 0) {
            fprintf(stderr, "%s\n", terr);
            tls_conf_free(c);
            conf_free(c);
            return 1;
        }
        tls_conf_free(c);
        fprintf(stderr, "Syntax OK\n");
        conf_free(c);
        return 0;
    }
    if (kcmd != NULL)
        return signal_server(c, kcmd, &mo);
    return master_run(c, &mo);
}
