/* Logging directives (core ErrorLog/LogLevel, mod_log_config's LogFormat/CustomLog/
 * TransferLog), level names, and the post-parse pass that resolves log formats and merges
 * the log settings of vhosts with the main server's. */
#include <string.h>

#include "accesslog.h"
#include "arena.h"
#include "conf.h"
#include "conf_registry.h"
#include "log.h"
#include "util.h"

#define CLF_FORMAT "%h %l %u %t \"%r\" %>s %b"

static const char *const level_names[] = {
    "emerg",  "alert",  "crit",   "error",  "warn",   "notice", "info",   "debug",
    "trace1", "trace2", "trace3", "trace4", "trace5", "trace6", "trace7", "trace8",
};

int log_level_parse(const char *name)
{
    for (size_t i = 0; i < ARRAY_LEN(level_names); i++)
        if (util_strcaseeq(name, level_names[i]))
            return (int)i;
    return -1;
}

const char *log_level_name(enum log_level lvl)
{
    if ((int)lvl < 0 || (size_t)lvl >= ARRAY_LEN(level_names))
        return "unknown";
    return level_names[lvl];
}

int conf_log_level(const struct conf_server *s, enum module_id m)
{
    if ((int)m >= 0 && m < MOD_COUNT && s->loglevel.module[m] >= 0)
        return s->loglevel.module[m];
    if (s->loglevel.level >= 0)
        return s->loglevel.level;
    return LL_WARN;
}

static const char *set_error_log(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                 char **argv)
{
    const char *v = argv[0];
    /* Refused here rather than at start-up, so -t and a graceful restart catch it. */
    if (strcmp(v, "syslog") == 0 || strncmp(v, "syslog:", 7) == 0)
        return "syslog is not supported; pipe to logger instead: "
               "ErrorLog \"|/usr/bin/logger -t portico -p local7.info\"";
    cmd->server->error_log = conf_server_path(cmd, v);
    return NULL;
}

/* "LogLevel info ssl:warn": a bare level sets the default and resets module levels. */
static const char *set_log_level(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                 char **argv)
{
    struct conf_loglevel *ll = &cmd->server->loglevel;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        const char *colon = strchr(w, ':');
        const char *lname = colon ? colon + 1 : w;
        int lvl = log_level_parse(lname);
        if (lvl < 0)
            return conf_errf(cmd,
                             "'%s' is not a log level (emerg, alert, crit, error, warn, notice, "
                             "info, debug, trace1 to trace8)",
                             lname);
        if (colon == NULL) {
            ll->level = (signed char)lvl;
            memset(ll->module, 0xff, sizeof(ll->module));
        } else {
            char *mname = arena_strndup(cmd->arena, w, (size_t)(colon - w));
            int id = mname ? module_find(mname, 1) : -1;
            if (id < 0)
                return conf_errf(cmd, "unknown module '%s' (portico -M lists the modules)",
                                 mname ? mname : w);
            ll->module[id] = (signed char)lvl;
        }
    }
    ll->set = 1;
    return NULL;
}

static const char *check_format(struct conf_cmd *cmd, const char *fmt)
{
    char err[256] = "";
    if (accesslog_compile(cmd->arena, fmt, err, sizeof(err)) == NULL)
        return conf_errf(cmd, "%s", err[0] ? err : "invalid log format");
    return NULL;
}

static const char *set_log_format(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    const char *err = check_format(cmd, argv[0]);
    if (err != NULL)
        return err;
    char *fmt = arena_strdup(cmd->arena, argv[0]);
    if (argc == 1) {
        cmd->conf->last_logformat = fmt;
        return NULL;
    }
    for (struct conf_logformat *f = cmd->conf->logformats; f != NULL; f = f->next) {
        if (strcmp(f->nickname, argv[1]) == 0) {
            f->format = fmt;
            return NULL;
        }
    }
    struct conf_logformat *f = arena_calloc(cmd->arena, 1, sizeof(*f));
    if (f == NULL)
        return "out of memory";
    f->nickname = arena_strdup(cmd->arena, argv[1]);
    f->format = fmt;
    f->next = cmd->conf->logformats;
    cmd->conf->logformats = f;
    return NULL;
}

static const char *add_log(struct conf_cmd *cmd, const char *path, const char *format,
                           const char *cond)
{
    struct conf_customlog *l = arena_calloc(cmd->arena, 1, sizeof(*l));
    if (l == NULL)
        return "out of memory";
    if (cond != NULL) {
        if (strncmp(cond, "expr=", 5) == 0)
            return "expr= conditions are not supported (use env=[!]VAR)";
        if (strncmp(cond, "env=", 4) != 0 || cond[4] == '\0' || (cond[4] == '!' && cond[5] == '\0'))
            return conf_errf(cmd, "'%s': the condition must be env=[!]VAR", cond);
        l->env_negate = cond[4] == '!';
        l->env = arena_strdup(cmd->arena, cond + 4 + l->env_negate);
    }
    l->path = conf_server_path(cmd, path);
    l->format = format ? arena_strdup(cmd->arena, format) : NULL; /* resolved after parsing */
    l->fd = -1;
    l->file = cmd->file;
    l->line = cmd->line;
    struct conf_customlog **pp = &cmd->server->logs;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = l;
    return NULL;
}

static const char *set_custom_log(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    return add_log(cmd, argv[0], argv[1], argc > 2 ? argv[2] : NULL);
}

static const char *set_transfer_log(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    return add_log(cmd, argv[0], NULL, NULL);
}

static const struct conf_directive log_directives[] = {
    {"ErrorLog", CTX_SRV_ANY, ARGS_TAKE1, set_error_log, TGT_NONE, 0, 0, 0, 0, MOD_CORE,
     "a file or |program"},
    {"LogLevel", CTX_SRV_ANY, ARGS_1MORE, set_log_level, TGT_NONE, 0, 0, 0, 0, MOD_CORE,
     "[module:]level ..."},
    {"LogFormat", CTX_SRV_ANY, ARGS_TAKE12, set_log_format, TGT_NONE, 0, 0, 0, 0, MOD_LOG_CONFIG,
     "a format string and an optional nickname"},
    {"CustomLog", CTX_SRV_ANY, ARGS_TAKE23, set_custom_log, TGT_NONE, 0, 0, 0, 0, MOD_LOG_CONFIG,
     "a file or |program, a format or nickname, and optional env=[!]VAR"},
    {"TransferLog", CTX_SRV_ANY, ARGS_TAKE1, set_transfer_log, TGT_NONE, 0, 0, 0, 0, MOD_LOG_CONFIG,
     "a file or |program (uses the last LogFormat without a nickname)"},
};

const struct conf_table conf_table_log = {log_directives, ARRAY_LEN(log_directives)};

static const char *find_nickname(const struct conf *c, const char *name)
{
    for (const struct conf_logformat *f = c->logformats; f != NULL; f = f->next)
        if (strcmp(f->nickname, name) == 0)
            return f->format;
    return NULL;
}

/* Nicknames resolve after parsing, as httpd resolves them when it opens the logs, so a
 * LogFormat below the CustomLog that names it still counts. */
static void resolve_logs(struct conf_cmd *cmd, struct conf_server *s)
{
    struct conf *c = cmd->conf;
    for (struct conf_customlog *l = s->logs; l != NULL; l = l->next) {
        const char *directive = l->format ? "CustomLog" : "TransferLog";
        if (l->format == NULL) {
            l->format = c->last_logformat ? c->last_logformat : arena_strdup(c->arena, CLF_FORMAT);
        } else {
            const char *nick = find_nickname(c, l->format);
            if (nick != NULL)
                l->format = (char *)nick;
            else if (strchr(l->format, '%') == NULL)
                conf_warn_at(cmd, l->file, l->line,
                             "%s: '%s' is not a LogFormat nickname; it is logged as a literal "
                             "format",
                             directive, l->format);
        }
        char err[256] = "";
        l->compiled = accesslog_compile(c->arena, l->format, err, sizeof(err));
        if (l->compiled == NULL)
            conf_error_at(cmd, l->file, l->line, "%s: %s", directive,
                          err[0] ? err : "invalid log format");
    }
}

void conf_finish_log(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    struct conf_server *m = c->main;
    if (m->error_log == NULL)
        m->error_log = conf_server_path(cmd, "logs/error_log");
    if (m->loglevel.level < 0)
        m->loglevel.level = LL_WARN;
    resolve_logs(cmd, m);
    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        if (v->error_log == NULL)
            v->error_log = m->error_log;
        /* A vhost's bare level resets module levels, so it inherits none of them. */
        if (v->loglevel.level < 0) {
            v->loglevel.level = m->loglevel.level;
            for (int i = 0; i < MOD_COUNT; i++)
                if (v->loglevel.module[i] < 0)
                    v->loglevel.module[i] = m->loglevel.module[i];
        }
        v->loglevel.set |= m->loglevel.set;
        resolve_logs(cmd, v);
        if (v->logs == NULL)
            v->logs = m->logs; /* same objects: one fd per log file */
    }
}
