/* The table of built-in modules and the spellings httpd accepts for them, plus LoadModule:
 * every module is compiled in, so LoadModule only has to recognise the name. */
#include "modules.h"

#include <string.h>

#include "conf_registry.h"
#include "util.h"

const struct module_def modules_builtin[MOD_COUNT] = {
    {MOD_CORE, "core", "core.c"},
    {MOD_SO, "so", "mod_so.c"},
    {MOD_HTTP, "http", "http_core.c"},
    {MOD_MPM_PREFORK, "mpm_prefork", "prefork.c"},
    {MOD_UNIXD, "unixd", "mod_unixd.c"},
    {MOD_AUTHZ_CORE, "authz_core", "mod_authz_core.c"},
    {MOD_AUTHZ_HOST, "authz_host", "mod_authz_host.c"},
    {MOD_ACCESS_COMPAT, "access_compat", "mod_access_compat.c"},
    {MOD_LOG_CONFIG, "log_config", "mod_log_config.c"},
    {MOD_MIME, "mime", "mod_mime.c"},
    {MOD_DIR, "dir", "mod_dir.c"},
    {MOD_ALIAS, "alias", "mod_alias.c"},
    {MOD_ENV, "env", "mod_env.c"},
    {MOD_SETENVIF, "setenvif", "mod_setenvif.c"},
    {MOD_HEADERS, "headers", "mod_headers.c"},
    {MOD_REQTIMEOUT, "reqtimeout", "mod_reqtimeout.c"},
    {MOD_PROXY, "proxy", "mod_proxy.c"},
    {MOD_PROXY_HTTP, "proxy_http", "mod_proxy_http.c"},
    {MOD_PROXY_WSTUNNEL, "proxy_wstunnel", "mod_proxy_wstunnel.c"},
    {MOD_PROXY_BALANCER, "proxy_balancer", "mod_proxy_balancer.c"},
    {MOD_LBMETHOD_BYREQUESTS, "lbmethod_byrequests", "mod_lbmethod_byrequests.c"},
    {MOD_LBMETHOD_BYTRAFFIC, "lbmethod_bytraffic", "mod_lbmethod_bytraffic.c"},
    {MOD_LBMETHOD_BYBUSYNESS, "lbmethod_bybusyness", "mod_lbmethod_bybusyness.c"},
    {MOD_LBMETHOD_HEARTBEAT, "lbmethod_heartbeat", "mod_lbmethod_heartbeat.c"},
    {MOD_SLOTMEM_SHM, "slotmem_shm", "mod_slotmem_shm.c"},
    {MOD_HEARTMONITOR, "heartmonitor", "mod_heartmonitor.c"},
    {MOD_PROXY_HCHECK, "proxy_hcheck", "mod_proxy_hcheck.c"},
    {MOD_WATCHDOG, "watchdog", "mod_watchdog.c"},
    {MOD_REWRITE, "rewrite", "mod_rewrite.c"},
    {MOD_DBD, "dbd", "mod_dbd.c"},
    {MOD_SSL, "ssl", "mod_ssl.c"},
    {MOD_SOCACHE_SHMCB, "socache_shmcb", "mod_socache_shmcb.c"},
    {MOD_SERVER_STATUS, "status", "mod_status.c"},
    {MOD_SECURITY2, "security2", "mod_security2.c"},
};

/* "mod_proxy" is "mod_proxy.c" without the suffix: compare up to the dot. */
static int match_file_stem(const char *file, const char *ident)
{
    size_t n = strlen(ident);
    return strncmp(file, ident, n) == 0 && strcmp(file + n, ".c") == 0;
}

int module_find(const char *ident, int log_name)
{
    size_t n = strlen(ident);
    for (int i = 0; i < MOD_COUNT; i++) {
        const struct module_def *m = &modules_builtin[i];
        size_t ln = strlen(m->name);
        if (n == ln + 7 && strncmp(ident, m->name, ln) == 0 && strcmp(ident + ln, "_module") == 0)
            return (int)m->id;
        if (strcmp(ident, m->file) == 0 || match_file_stem(m->file, ident))
            return (int)m->id;
        if (log_name && strcmp(ident, m->name) == 0)
            return (int)m->id;
    }
    return -1;
}

const char *module_refusal(const char *ident)
{
    static const char *const other_mpms[] = {
        "mpm_event_module", "mpm_worker_module", "mpm_event", "mpm_worker",
        "mod_mpm_event.c",  "mod_mpm_worker.c",  "event.c",   "worker.c"};
    for (size_t i = 0; i < ARRAY_LEN(other_mpms); i++)
        if (strcmp(ident, other_mpms[i]) == 0)
            return "portico is prefork: load mpm_prefork_module instead";
    return NULL;
}

/* LoadModule name path: the path is ignored, so Debian's
 * /usr/lib/apache2/modules/mod_*.so lines work unchanged. */
static const char *set_load_module(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                   char **argv)
{
    const char *why = module_refusal(argv[0]);
    if (why != NULL)
        return conf_errf(cmd, "%s: %s", argv[0], why);
    int id = module_find(argv[0], 0);
    if (id < 0)
        return conf_errf(cmd,
                         "cannot load module %s: portico does not build it in "
                         "(\"portico -M\" lists the built-in modules)",
                         argv[0]);
    if (!module_available(id)) {
        /* Debian enables mod_ssl with its whole <IfModule ssl_module> setup: keep the config
         * loading, and say loudly that those sections are skipped. */
        conf_warn(cmd,
                  "%s: TLS is not built into portico yet; <IfModule %s> sections are "
                  "skipped",
                  argv[0], argv[0]);
        return NULL;
    }
    cmd->conf->module_loaded[id] = 1;
    return NULL;
}

static const struct conf_directive so_directives[] = {
    {"LoadModule", CTX_SERVER, ARGS_TAKE2, set_load_module, TGT_NONE, 0, 0, 0, 0, MOD_SO,
     "a module name and the path to its shared object (ignored: modules are built in)"},
};

const struct conf_table conf_table_so = {so_directives, ARRAY_LEN(so_directives)};

int module_available(int id)
{
    (void)id;
    return 1; /* mod_ssl and socache_shmcb arrived with TLS (issue 8) */
}
