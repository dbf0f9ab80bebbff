/* prefork and unixd directives: process counts, limits, PidFile, User/Group, and the
 * post-parse defaults and clamping of apache-behaviour.md 7.1. */
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "conf.h"
#include "conf_registry.h"
#include "util.h"

#define MAX_SERVER_LIMIT 200000 /* httpd's compile-time MAX_SERVER_LIMIT for prefork */

static int *conf_int(struct conf_cmd *cmd, const struct conf_directive *d)
{
    return (int *)((char *)cmd->conf + d->offset);
}

/* Numbers httpd raises to a floor (with a warning) instead of refusing. */
static const char *set_clamped(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    long long v;
    if (util_parse_ll(argv[0], INT_MIN, INT_MAX, &v) < 0)
        return conf_errf(cmd, "'%s' is not a whole number", argv[0]);
    if (v < d->min) {
        conf_warn(cmd, "%lld is below the minimum, raised to %lld", v, d->min);
        v = d->min;
    }
    if (v > d->max) {
        conf_warn(cmd, "%lld is above the maximum, lowered to %lld", v, d->max);
        v = d->max;
    }
    *conf_int(cmd, d) = (int)v;
    return NULL;
}

static const char *set_max_request_workers(struct conf_cmd *cmd, const struct conf_directive *d,
                                           int argc, char **argv)
{
    if (util_strcaseeq(d->name, "MaxClients"))
        conf_warn(cmd, "MaxClients is deprecated, use MaxRequestWorkers");
    cmd->conf->max_request_workers_file = cmd->file;
    cmd->conf->max_request_workers_line = cmd->line;
    return set_clamped(cmd, d, argc, argv);
}

static const char *set_user(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    const char *name = argv[0];
    long long id;
    if (name[0] == '#') {
        if (util_parse_ll(name + 1, -1, UINT_MAX, &id) < 0)
            return conf_errf(cmd, "'%s' is not a numeric user id", name);
    } else {
        struct passwd *pw = getpwnam(name);
        if (pw == NULL)
            return conf_errf(cmd, "unknown user '%s'", name);
        id = pw->pw_uid;
    }
    cmd->conf->user = arena_strdup(cmd->arena, name);
    cmd->conf->uid = (uid_t)id;
    cmd->conf->user_file = cmd->file;
    cmd->conf->user_line = cmd->line;
    return NULL;
}

static const char *set_group(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                             char **argv)
{
    const char *name = argv[0];
    long long id;
    if (name[0] == '#') {
        if (util_parse_ll(name + 1, -1, UINT_MAX, &id) < 0)
            return conf_errf(cmd, "'%s' is not a numeric group id", name);
    } else {
        struct group *gr = getgrnam(name);
        if (gr == NULL)
            return conf_errf(cmd, "unknown group '%s'", name);
        id = gr->gr_gid;
    }
    cmd->conf->group = arena_strdup(cmd->arena, name);
    cmd->conf->gid = (gid_t)id;
    return NULL;
}

#define CNF(field) TGT_CONF, offsetof(struct conf, field)

static const struct conf_directive mpm_directives[] = {
    {"StartServers", CTX_SERVER, ARGS_TAKE1, set_clamped, CNF(start_servers), 1, MAX_SERVER_LIMIT,
     0, MOD_MPM_PREFORK, "number of children started at start-up"},
    {"MinSpareServers", CTX_SERVER, ARGS_TAKE1, set_clamped, CNF(min_spare_servers), 1,
     MAX_SERVER_LIMIT, 0, MOD_MPM_PREFORK, "minimum number of idle children"},
    {"MaxSpareServers", CTX_SERVER, ARGS_TAKE1, set_clamped, CNF(max_spare_servers), 1,
     MAX_SERVER_LIMIT, 0, MOD_MPM_PREFORK, "maximum number of idle children"},
    {"MaxRequestWorkers", CTX_SERVER, ARGS_TAKE1, set_max_request_workers, CNF(max_request_workers),
     1, MAX_SERVER_LIMIT, 0, MOD_MPM_PREFORK,
     "maximum number of children (simultaneous connections)"},
    {"MaxClients", CTX_SERVER, ARGS_TAKE1, set_max_request_workers, CNF(max_request_workers), 1,
     MAX_SERVER_LIMIT, 0, MOD_MPM_PREFORK, "deprecated name of MaxRequestWorkers"},
    {"ServerLimit", CTX_SERVER, ARGS_TAKE1, set_clamped, CNF(server_limit), 1, MAX_SERVER_LIMIT, 0,
     MOD_MPM_PREFORK, "upper bound of MaxRequestWorkers"},
    {"MaxConnectionsPerChild", CTX_SERVER, ARGS_TAKE1, conf_set_int, CNF(max_connections_per_child),
     0, INT_MAX, 0, MOD_MPM_PREFORK, "connections a child serves before exiting, 0 = never"},
    {"MaxRequestsPerChild", CTX_SERVER, ARGS_TAKE1, conf_set_int, CNF(max_connections_per_child), 0,
     INT_MAX, 0, MOD_MPM_PREFORK, "old name of MaxConnectionsPerChild"},
    {"ListenBacklog", CTX_SERVER, ARGS_TAKE1, conf_set_int, CNF(listen_backlog), 1, INT_MAX, 0,
     MOD_MPM_PREFORK, "listen(2) backlog"},
    {"GracefulShutdownTimeout", CTX_SERVER, ARGS_TAKE1, conf_set_int,
     CNF(graceful_shutdown_timeout), 0, INT_MAX, 0, MOD_MPM_PREFORK,
     "seconds a graceful stop waits, 0 = forever"},
    {"PidFile", CTX_SERVER, ARGS_TAKE1, conf_set_path, CNF(pid_file), 0, 0, 0, MOD_MPM_PREFORK,
     "the file holding the master's pid"},
    {"User", CTX_SERVER, ARGS_TAKE1, set_user, TGT_NONE, 0, 0, 0, 0, MOD_UNIXD,
     "a user name or #uid"},
    {"Group", CTX_SERVER, ARGS_TAKE1, set_group, TGT_NONE, 0, 0, 0, 0, MOD_UNIXD,
     "a group name or #gid"},
};

const struct conf_table conf_table_mpm = {mpm_directives, ARRAY_LEN(mpm_directives)};

/* The ids a child switches to, looked up here in the master: initgroups() in each child
 * would walk every group source in nsswitch.conf and dlopen its module (systemd's, say)
 * after fork(), a few dozen KiB of private memory and page tables per worker. Done on every
 * load, so a graceful restart sees changed group memberships as httpd's children do. */
static void resolve_run_ids(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    c->run_gid = c->gid;
    c->run_groups = NULL;
    c->n_run_groups = 0;
    /* Only a root master switches users; a test run (-t) as a user looks nothing up. */
    if (c->user == NULL || geteuid() != 0)
        return;
    struct passwd *pw = getpwuid(c->uid);
    if (c->run_gid == (gid_t)-1 && pw != NULL)
        c->run_gid = pw->pw_gid;
    if (c->run_gid == (gid_t)-1) {
        /* Said here, with the line, rather than by every child refusing to serve. */
        conf_error_at(cmd, c->user_file, c->user_line,
                      "User: uid %ld has no passwd entry, so Group must be set", (long)c->uid);
        return;
    }
    /* A numeric User with no passwd entry has no supplementary groups to add. */
    char *name = c->user[0] != '#' ? c->user
                 : pw != NULL      ? arena_strdup(cmd->arena, pw->pw_name)
                                   : NULL;
    if (name == NULL)
        return;
    int cap = 32;
    for (int tries = 0; tries < 8; tries++) {
        gid_t *g = arena_alloc(cmd->arena, (size_t)cap * sizeof(*g));
        int n = cap;
        if (g == NULL)
            break;
        if (getgrouplist(name, c->run_gid, g, &n) >= 0) {
            c->run_groups = g;
            c->n_run_groups = n;
            return;
        }
        cap = n > cap ? n : cap * 2; /* glibc says how many it needs */
    }
    c->n_run_groups = -1;
    conf_error_at(cmd, c->user_file, c->user_line, "User: cannot list the groups of '%s'", name);
}

void conf_finish_mpm(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    resolve_run_ids(cmd);
    if (c->server_limit == CONF_UNSET)
        c->server_limit = 256;
    if (c->max_request_workers == CONF_UNSET)
        c->max_request_workers = 256 < c->server_limit ? 256 : c->server_limit;
    if (c->max_request_workers > c->server_limit) {
        conf_warn_at(cmd, c->max_request_workers_file, c->max_request_workers_line,
                     "MaxRequestWorkers: %d exceeds ServerLimit value of %d, decreasing to %d. "
                     "To increase, raise ServerLimit.",
                     c->max_request_workers, c->server_limit, c->server_limit);
        c->max_request_workers = c->server_limit;
    }
    if (c->start_servers == CONF_UNSET)
        c->start_servers = 5;
    if (c->start_servers > c->max_request_workers)
        c->start_servers = c->max_request_workers;
    if (c->min_spare_servers == CONF_UNSET)
        c->min_spare_servers = 5;
    if (c->max_spare_servers == CONF_UNSET)
        c->max_spare_servers = 10;
    if (c->max_spare_servers <= c->min_spare_servers)
        c->max_spare_servers = c->min_spare_servers + 1;
    if (c->max_connections_per_child == CONF_UNSET)
        c->max_connections_per_child = 0;
    if (c->listen_backlog == CONF_UNSET)
        c->listen_backlog = 511;
    if (c->graceful_shutdown_timeout == CONF_UNSET)
        c->graceful_shutdown_timeout = 0;
    if (c->pid_file == NULL)
        c->pid_file = conf_server_path(cmd, "logs/portico.pid");
}
