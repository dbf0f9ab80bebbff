/* The directive registry: every directive is declared once, in its module's table, with the
 * contexts it may appear in, its argument shape and its handler. The registry checks
 * context and argument count for all of them (handlers only check values) and produces
 * the "file:line: Directive: problem" messages. */
#ifndef PORTICO_CONF_REGISTRY_H
#define PORTICO_CONF_REGISTRY_H

#include <stddef.h>

#include "conf_types.h"

enum conf_args {
    ARGS_NONE,    /* no argument */
    ARGS_TAKE1,   /* exactly one */
    ARGS_TAKE2,   /* exactly two */
    ARGS_TAKE12,  /* one or two */
    ARGS_TAKE13,  /* one to three */
    ARGS_TAKE23,  /* two or three */
    ARGS_TAKE123, /* one to three */
    ARGS_TAKE3,   /* exactly three */
    ARGS_FLAG,    /* On|Off (case-insensitive), handler gets "1"/"0" in argv[0] */
    ARGS_ITERATE, /* one or more, handler called once per argument */
    ARGS_1MORE,   /* one or more, handler gets them all */
    ARGS_RAW      /* zero or more, handler gets them all */
};

/* Where a generic setter writes: d->offset is relative to this object. */
enum conf_target { TGT_NONE, TGT_CONF, TGT_SERVER, TGT_DIR };

#define DIRF_SECTION     0x01u /* "<Name ...>" opens a section; handler pushes it */
#define DIRF_GLOBAL_ONLY 0x02u /* not inside any section, even if ctx allows the server */

struct conf_cmd;
struct conf_directive;

/* Returns NULL on success or an error message (static or from cmd's arena); the registry
 * prefixes it with "file:line: Directive: ". */
typedef const char *(*conf_handler)(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv);

struct conf_directive {
    const char *name; /* case-insensitive; sections are spelled "<Name" */
    unsigned ctx;     /* CTX_* where it may appear */
    enum conf_args args;
    conf_handler handler;
    enum conf_target target;
    size_t offset;
    long long min, max; /* bounds for the numeric setters */
    unsigned flags;     /* DIRF_* */
    enum module_id module;
    const char *help; /* syntax, shown in "takes N arguments" errors and -L */
};

/* One module's table (a subsystem may register several). */
struct conf_table {
    const struct conf_directive *directives;
    size_t n;
};

/* Parse-time state handed to every handler. */
struct conf_cmd {
    struct conf *conf;
    struct arena *arena; /* == conf->arena */
    const char *file;    /* current file (arena copy) and line of the directive */
    int line;
    const char *directive;      /* the name as written */
    unsigned ctx;               /* CTX_* of where we are */
    struct conf_server *server; /* main server or the current <VirtualHost> */
    struct conf_dir *dir;       /* innermost per-directory section, or NULL */
    void *section;              /* object of the innermost module-specific section */
    const char *section_name;   /* innermost non-conditional section, "<Location>", or NULL */
    struct conf_parser *parser; /* private to conf_parse.c */
    const char *raw_args;       /* the line after the directive name, ${VAR} expanded but not
                                 * tokenised (NULL for sections) */
};

/* Section directives call this to make the following lines, up to the matching close
 * tag, parse in `ctx` with `dir`/`section` set (either may be NULL to keep the
 * current one) and with cmd->server as the handler left it (<VirtualHost> sets it first).
 * `name` is the section name without '<' ("VirtualHost"). `close` (may be NULL) runs
 * when the close tag is seen; it returns an error message or NULL. Returns NULL or an
 * error message. A section handler that fails without pushing makes the parser skip the
 * section's body, so one bad opening line gives one error. */
const char *conf_section_push(struct conf_cmd *cmd, const char *name, unsigned ctx,
                              struct conf_dir *dir, void *section,
                              const char *(*close)(struct conf_cmd *cmd));

/* Records a warning "file:line: Directive: msg" in conf->warnings. */
void conf_warn(struct conf_cmd *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Resolves a ServerRoot-relative path (absolute paths and "|pipe" returned unchanged). */
char *conf_server_path(struct conf_cmd *cmd, const char *path);

/* Looks a directive up across every registered table (case-insensitive), NULL if none. */
const struct conf_directive *conf_registry_find(const char *name);

/* Every registered table, NULL-terminated (for -L, the man-page test and lookups). */
extern const struct conf_table *const conf_tables[];

/* Every table, one per module (conf_tables lists them). */
extern const struct conf_table conf_table_parse;     /* Include, If*, Define: conf_parse.c */
extern const struct conf_table conf_table_so;        /* LoadModule: modules.c */
extern const struct conf_table conf_table_core;      /* core_conf.c */
extern const struct conf_table conf_table_mpm;       /* mpm_conf.c (prefork, unixd) */
extern const struct conf_table conf_table_log;       /* log_conf.c (core logs, log_config) */
extern const struct conf_table conf_table_proxy;     /* proxy_conf.c (mod_proxy, proxy_http) */
extern const struct conf_table conf_table_headers;   /* headers_conf.c (mod_headers) */
extern const struct conf_table conf_table_env;       /* env_conf.c (mod_env) */
extern const struct conf_table conf_table_heartbeat; /* heartbeat_conf.c (heartmonitor) */
extern const struct conf_table conf_table_acl;       /* acl_conf.c (authz_core/host, compat) */
extern const struct conf_table conf_table_rewrite;   /* rewrite_conf.c (mod_rewrite) */
extern const struct conf_table conf_table_dbd;       /* rewrite_map_dbd.c (mod_dbd) */
extern const struct conf_table conf_table_secrule;   /* secrule_conf.c (mod_security2 subset) */
extern const struct conf_table conf_table_setenvif;  /* setenvif.c (mod_setenvif) */
extern const struct conf_table conf_table_status;    /* status_conf.c (SetHandler, mod_status) */
extern const struct conf_table conf_table_tls;       /* tls_conf.c (mod_ssl) */
extern const struct conf_table conf_table_tls_proxy; /* tls_client.c (mod_ssl SSLProxy*) */

/* Runs one directive: lookup, context and argument checks, handler. Returns NULL or the
 * message "Directive: problem" (the caller adds "file:line: "). */
const char *conf_registry_invoke(struct conf_cmd *cmd, const char *name, int argc, char **argv);

/* Formats a handler's error message in the config arena. */
const char *conf_errf(struct conf_cmd *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Records "file:line: msg" as an error (conf_load then fails) or a warning; for the
 * post-parse checks that cite an object's location. file NULL = the main config file, no
 * line. Implemented by the parser, which owns the error list. */
void conf_error_at(struct conf_cmd *cmd, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void conf_warn_at(struct conf_cmd *cmd, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Per-server defaults: every field CONF_UNSET / NULL (core_conf.c). */
void conf_init_server(struct conf_server *s);

/* Post-parse passes run by conf_load() in this order (cmd->file/line are meaningless). */
void conf_finish_core(struct conf_cmd *cmd);    /* defaults, vhost inheritance, Listen check */
void conf_finish_mpm(struct conf_cmd *cmd);     /* prefork defaults and clamping */
void conf_finish_log(struct conf_cmd *cmd);     /* log defaults, CustomLog formats */
void conf_finish_proxy(struct conf_cmd *cmd);   /* proxy defaults, vhost inheritance, workers */
void conf_finish_headers(struct conf_cmd *cmd); /* mod_headers/mod_env checks */
void conf_finish_acl(struct conf_cmd *cmd);     /* access-control checks */
void conf_finish_secrule(struct conf_cmd *cmd); /* SecRule chains that end a scope */

/* Generic setters: write through d->target/d->offset. */
const char *conf_set_flag(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                          char **argv);
const char *conf_set_int(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                         char **argv); /* bounded by d->min..d->max */
const char *conf_set_size(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                          char **argv); /* long long, bytes, bounded */
const char *conf_set_string(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv);
const char *conf_set_path(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                          char **argv); /* ServerRoot-relative */
const char *conf_set_seconds_ms(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv); /* "5" or "500ms" into int ms */
const char *conf_accept(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                        char **argv); /* accepted, no effect (Mutex, ...) */

#endif
