/* SetHandler (core, per section) and ExtendedStatus (mod_status). Handler names are kept
 * lower case as httpd does; routing reads conf_dir.handler of the most specific section, and
 * "" there means "None" (stops inheritance of an outer section's handler). */
#include <ctype.h>
#include <string.h>

#include "arena.h"
#include "conf_registry.h"
#include "status.h"
#include "util.h"

/* The handlers portico can dispatch. Unknown names are refused (httpd would accept any
 * name and fail at request time; a typo is better reported at load). */
static const char *const known_handlers[] = {
    "server-status",    /* mod_status */
    "portico-metrics",  /* Prometheus text exposition */
    "balancer-manager", /* mod_proxy_balancer's manager page */
    "proxy-server",     /* mod_proxy's handler name */
};

static const char *set_handler(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    (void)argc;
    const char *arg = argv[0];
    size_t n = strlen(arg);

    if (cmd->dir == NULL)
        return "only allowed inside <Location>, <Directory>, <Files> or <Proxy>";
    /* "default-handler" is httpd's name for what None gives: the default (static) answer. */
    if (util_strcaseeq(arg, "none") || util_strcaseeq(arg, "default-handler")) {
        cmd->dir->handler = arena_strdup(cmd->arena, "");
        return cmd->dir->handler != NULL ? NULL : "out of memory";
    }
    char *lc = arena_strndup(cmd->arena, arg, n);
    if (lc == NULL)
        return "out of memory";
    for (size_t i = 0; i < n; i++)
        lc[i] = (char)tolower((unsigned char)lc[i]);
    for (size_t i = 0; i < ARRAY_LEN(known_handlers); i++) {
        if (strcmp(lc, known_handlers[i]) == 0) {
            cmd->dir->handler = lc;
            return NULL;
        }
    }
    if (strncmp(lc, "proxy:", 6) == 0)
        return conf_errf(cmd,
                         "'%s': the proxy:URL handler form is not supported; use ProxyPass "
                         "(in this <Location> or with the path) instead",
                         arg);
    return conf_errf(cmd,
                     "unknown handler '%s'; portico knows server-status, portico-metrics, "
                     "balancer-manager, proxy-server and None",
                     arg);
}

/* conf->extended_status: 0 unset (= On, httpd 2.4's default with mod_status), 1 Off, 2 On
 * (the conf is zeroed, so 0 must mean the default). */
static const char *set_extended(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv)
{
    (void)d;
    (void)argc;
    cmd->conf->extended_status = argv[0][0] == '1' ? 2 : 1;
    return NULL;
}

int status_extended(const struct conf *c)
{
    return c == NULL || c->extended_status != 1;
}

static const struct conf_directive status_directives[] = {
    {"SetHandler", CTX_DIR_ANY, ARGS_TAKE1, set_handler, TGT_NONE, 0, 0, 0, 0, MOD_CORE,
     "SetHandler handler-name|None"},
    {"ExtendedStatus", CTX_SERVER, ARGS_FLAG, set_extended, TGT_NONE, 0, 0, 0, 0, MOD_CORE,
     "ExtendedStatus On|Off"},
};

const struct conf_table conf_table_status = {status_directives, ARRAY_LEN(status_directives)};
