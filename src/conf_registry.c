/* Directive lookup, the central context and argument-count checks, and the generic
 * setters every module table uses. */
#include "conf_registry.h"

#include <limits.h>
#include <stdarg.h>
#include <string.h>

#include "arena.h"
#include "util.h"

const struct conf_table *const conf_tables[] = {
    &conf_table_parse,     &conf_table_so,        &conf_table_core,
    &conf_table_mpm,       &conf_table_log,       &conf_table_proxy,
    &conf_table_headers,   &conf_table_env,       &conf_table_acl,
    &conf_table_heartbeat, &conf_table_rewrite,   &conf_table_dbd,
    &conf_table_secrule,   &conf_table_setenvif,  &conf_table_status,
    &conf_table_tls,       &conf_table_tls_proxy, NULL,
};

const struct conf_directive *conf_registry_find(const char *name)
{
    for (size_t t = 0; conf_tables[t] != NULL; t++) {
        const struct conf_table *tab = conf_tables[t];
        for (size_t i = 0; i < tab->n; i++)
            if (util_strcaseeq(tab->directives[i].name, name))
                return &tab->directives[i];
    }
    return NULL;
}

const char *conf_errf(struct conf_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = arena_vprintf(cmd->arena, fmt, ap);
    va_end(ap);
    return s ? s : "out of memory";
}

void conf_warn(struct conf_cmd *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = arena_vprintf(cmd->arena, fmt, ap);
    va_end(ap);
    conf_warn_at(cmd, cmd->file, cmd->line, "%s: %s", cmd->directive ? cmd->directive : "",
                 msg ? msg : "out of memory");
}

char *conf_server_path(struct conf_cmd *cmd, const char *path)
{
    if (path[0] == '/' || path[0] == '|' || cmd->conf->server_root == NULL)
        return arena_strdup(cmd->arena, path);
    const char *root = cmd->conf->server_root;
    size_t rl = strlen(root);
    const char *sep = (rl > 0 && root[rl - 1] == '/') ? "" : "/";
    return arena_printf(cmd->arena, "%s%s%s", root, sep, path);
}

/* "<VirtualHost" is shown as "<VirtualHost>" in messages, as httpd does. */
static const char *display_name(struct conf_cmd *cmd, const struct conf_directive *d)
{
    if (d->flags & DIRF_SECTION)
        return conf_errf(cmd, "%s>", d->name);
    return d->name;
}

static const char *allowed_list(struct conf_cmd *cmd, unsigned ctx)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{CTX_SERVER, "the main server config"},
                 {CTX_VHOST, "<VirtualHost>"},
                 {CTX_LOCATION, "<Location>"},
                 {CTX_DIRECTORY, "<Directory>"},
                 {CTX_FILES, "<Files>"},
                 {CTX_PROXY, "<Proxy>"}};
    const char *out = "";
    for (size_t i = 0; i < ARRAY_LEN(names); i++)
        if (ctx & names[i].bit)
            out = conf_errf(cmd, "%s%s%s", out, *out ? ", " : "", names[i].name);
    return out;
}

static const char *check_context(struct conf_cmd *cmd, const struct conf_directive *d)
{
    int global_only = (d->flags & DIRF_GLOBAL_ONLY) != 0;
    if ((d->ctx & cmd->ctx) && !(global_only && cmd->ctx != CTX_SERVER))
        return NULL;
    if (cmd->ctx == CTX_SERVER)
        return conf_errf(cmd, "not allowed in the main server config, only in %s",
                         allowed_list(cmd, d->ctx));
    return conf_errf(cmd, "cannot occur within %s section",
                     cmd->section_name ? cmd->section_name : "this");
}

static const char *check_argc(struct conf_cmd *cmd, const struct conf_directive *d, int argc)
{
    const char *want = NULL;
    switch (d->args) {
    case ARGS_NONE:
        want = argc == 0 ? NULL : "takes no arguments";
        break;
    case ARGS_TAKE1:
    case ARGS_FLAG:
        want = argc == 1 ? NULL : "takes one argument";
        break;
    case ARGS_TAKE2:
        want = argc == 2 ? NULL : "takes two arguments";
        break;
    case ARGS_TAKE3:
        want = argc == 3 ? NULL : "takes three arguments";
        break;
    case ARGS_TAKE12:
        want = (argc == 1 || argc == 2) ? NULL : "takes one or two arguments";
        break;
    case ARGS_TAKE13:
    case ARGS_TAKE123:
        want = (argc >= 1 && argc <= 3) ? NULL : "takes one, two or three arguments";
        break;
    case ARGS_TAKE23:
        want = (argc == 2 || argc == 3) ? NULL : "takes two or three arguments";
        break;
    case ARGS_ITERATE:
    case ARGS_1MORE:
        want = argc >= 1 ? NULL : "requires at least one argument";
        break;
    case ARGS_RAW:
        break;
    }
    if (want == NULL)
        return NULL;
    if (d->help != NULL)
        return conf_errf(cmd, "%s (%s)", want, d->help);
    return want;
}

const char *conf_registry_invoke(struct conf_cmd *cmd, const char *name, int argc, char **argv)
{
    const struct conf_directive *d = conf_registry_find(name);
    if (d == NULL)
        return conf_errf(cmd,
                         "%s%s: unknown directive (perhaps misspelled, or from a module "
                         "portico does not build in)",
                         name, name[0] == '<' ? ">" : "");
    const char *dn = display_name(cmd, d);
    cmd->directive = dn;
    const char *err = check_context(cmd, d);
    if (err == NULL)
        err = check_argc(cmd, d, argc);
    if (err == NULL && d->args == ARGS_FLAG) {
        if (util_strcaseeq(argv[0], "on"))
            argv[0] = arena_strdup(cmd->arena, "1");
        else if (util_strcaseeq(argv[0], "off"))
            argv[0] = arena_strdup(cmd->arena, "0");
        else
            err = "must be On or Off";
    }
    if (err == NULL) {
        if (d->args == ARGS_ITERATE) {
            for (int i = 0; i < argc && err == NULL; i++)
                err = d->handler(cmd, d, 1, argv + i);
        } else {
            err = d->handler(cmd, d, argc, argv);
        }
    }
    if (err == NULL)
        return NULL;
    return conf_errf(cmd, "%s: %s", dn, err);
}

static void *target(struct conf_cmd *cmd, const struct conf_directive *d)
{
    switch (d->target) {
    case TGT_CONF:
        return cmd->conf;
    case TGT_SERVER:
        return cmd->server;
    case TGT_DIR:
        return cmd->dir;
    case TGT_NONE:
        break;
    }
    return NULL;
}

#define FIELD(type, cmd, d) ((type *)((char *)target((cmd), (d)) + (d)->offset))

const char *conf_set_flag(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                          char **argv)
{
    *FIELD(int, cmd, d) = argv[0][0] == '1';
    return NULL;
}

static const char *parse_bounded(struct conf_cmd *cmd, const struct conf_directive *d,
                                 const char *s, long long *out)
{
    if (util_parse_ll(s, d->min, d->max, out) == 0)
        return NULL;
    return conf_errf(cmd, "'%s' is not a whole number from %lld to %lld", s, d->min, d->max);
}

const char *conf_set_int(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                         char **argv)
{
    long long v;
    const char *err = parse_bounded(cmd, d, argv[0], &v);
    if (err == NULL)
        *FIELD(int, cmd, d) = (int)v;
    return err;
}

const char *conf_set_size(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                          char **argv)
{
    long long v;
    const char *err = parse_bounded(cmd, d, argv[0], &v);
    if (err == NULL)
        *FIELD(long long, cmd, d) = v;
    return err;
}

const char *conf_set_string(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    *FIELD(char *, cmd, d) = arena_strdup(cmd->arena, argv[0]);
    return NULL;
}

const char *conf_set_path(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                          char **argv)
{
    *FIELD(char *, cmd, d) = conf_server_path(cmd, argv[0]);
    return NULL;
}

const char *conf_set_seconds_ms(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv)
{
    const char *s = argv[0];
    size_t n = strlen(s);
    long long v;
    int ok;
    if (n > 2 && util_strcaseeq(s + n - 2, "ms")) {
        char num[32];
        if (n - 2 >= sizeof(num))
            return conf_errf(cmd, "'%s' is not a duration", s);
        memcpy(num, s, n - 2);
        num[n - 2] = '\0';
        ok = util_parse_ll(num, 0, INT_MAX, &v) == 0;
    } else {
        ok = util_parse_ll(s, 0, INT_MAX / 1000, &v) == 0;
        v *= 1000;
    }
    if (!ok || v < d->min || v > d->max)
        return conf_errf(cmd, "'%s' is not a duration from %lld to %lld seconds (or NNNms)", s,
                         d->min / 1000, d->max / 1000);
    *FIELD(int, cmd, d) = (int)v;
    return NULL;
}

const char *conf_accept(struct conf_cmd *cmd, const struct conf_directive *d, int argc, char **argv)
{
    return NULL;
}
