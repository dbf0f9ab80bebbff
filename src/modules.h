/* The modules portico builds in. Their names are httpd's, so `LoadModule`, `<IfModule>`,
 * `-M` and `LogLevel module:level` accept an httpd configuration unchanged. */
#ifndef PORTICO_MODULES_H
#define PORTICO_MODULES_H

enum module_id {
    MOD_CORE,
    MOD_SO,
    MOD_HTTP,
    MOD_MPM_PREFORK,
    MOD_UNIXD,
    MOD_AUTHZ_CORE,
    MOD_AUTHZ_HOST,
    MOD_ACCESS_COMPAT,
    MOD_LOG_CONFIG,
    MOD_MIME,
    MOD_DIR,
    MOD_ALIAS,
    MOD_ENV,
    MOD_SETENVIF,
    MOD_HEADERS,
    MOD_REQTIMEOUT,
    MOD_PROXY,
    MOD_PROXY_HTTP,
    MOD_PROXY_WSTUNNEL,
    MOD_PROXY_BALANCER,
    MOD_LBMETHOD_BYREQUESTS,
    MOD_LBMETHOD_BYTRAFFIC,
    MOD_LBMETHOD_BYBUSYNESS,
    MOD_LBMETHOD_HEARTBEAT,
    MOD_SLOTMEM_SHM,
    MOD_HEARTMONITOR,
    MOD_PROXY_HCHECK,
    MOD_WATCHDOG,
    MOD_REWRITE,
    MOD_DBD,
    MOD_SSL,
    MOD_SOCACHE_SHMCB,
    MOD_SERVER_STATUS, /* mod_status; MOD_STATUS is taken by <sys/timex.h> */
    MOD_SECURITY2,
    MOD_COUNT
};

struct module_def {
    enum module_id id;
    const char *name; /* "proxy": LogLevel spelling; identifier is name + "_module" */
    const char *file; /* "mod_proxy.c": the source-file spelling <IfModule> accepts */
};

extern const struct module_def modules_builtin[MOD_COUNT];

/* Finds a built-in module by any spelling httpd accepts: "proxy_module", "mod_proxy.c",
 * "mod_proxy" (and "proxy" when log_name is set, for LogLevel). Returns the id or -1. */
int module_find(const char *ident, int log_name);

/* Module identifiers httpd has that portico deliberately refuses, with the reason; NULL
 * when the identifier is not one of them (e.g. "mpm_event_module" -> "portico is prefork"). */
const char *module_refusal(const char *ident);

/* Whether a listed module is actually built in (TLS is not yet). */
int module_available(int id);

#endif
