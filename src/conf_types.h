/* The parsed configuration. One `struct conf` per generation, allocated from its own arena,
 * immutable once conf_load() returns it; workers inherit it through fork().
 * Unset per-server/per-directory values are CONF_UNSET (-1) or NULL until conf_load()'s merge
 * pass fills them from the main server and the defaults httpd documents. */
#ifndef PORTICO_CONF_TYPES_H
#define PORTICO_CONF_TYPES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include "modules.h"

struct arena;

#define CONF_UNSET (-1)

/* Contexts (where a directive may appear), a bitmask. */
#define CTX_SERVER    0x01u /* main server config, outside any section */
#define CTX_VHOST     0x02u /* directly inside <VirtualHost> */
#define CTX_LOCATION  0x04u /* <Location>, <LocationMatch> */
#define CTX_DIRECTORY 0x08u /* <Directory>, <DirectoryMatch> */
#define CTX_FILES     0x10u /* <Files>, <FilesMatch> */
#define CTX_PROXY     0x20u /* <Proxy>, <ProxyMatch> */
/* Added by acl_conf.c: inside <RequireAll>/<RequireAny>/<RequireNone>, where httpd allows only
 * authorization directives (and the conditional sections). Not part of CTX_ANY. */
#define CTX_AUTHZ   0x40u
#define CTX_DIR_ANY (CTX_LOCATION | CTX_DIRECTORY | CTX_FILES | CTX_PROXY)
#define CTX_SRV_ANY (CTX_SERVER | CTX_VHOST)
#define CTX_ANY     (CTX_SRV_ANY | CTX_DIR_ANY)

enum log_level {
    LL_EMERG,
    LL_ALERT,
    LL_CRIT,
    LL_ERROR,
    LL_WARN,
    LL_NOTICE,
    LL_INFO,
    LL_DEBUG,
    LL_TRACE1,
    LL_TRACE2,
    LL_TRACE3,
    LL_TRACE4,
    LL_TRACE5,
    LL_TRACE6,
    LL_TRACE7,
    LL_TRACE8
};

/* `LogLevel warn proxy:debug`: level for every module unless module[m] >= 0. */
struct conf_loglevel {
    int set; /* 0 until a LogLevel directive was seen in this scope */
    signed char level;
    signed char module[MOD_COUNT];
};

struct conf_listener {
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char *text;     /* normalised "127.0.0.1:8080" / "[::1]:8080" / "*:8080" */
    char *protocol; /* "http" or "https" */
    int fd;         /* -1 until the master opens it */
    const char *file;
    int line;
    struct conf_listener *next;
};

/* One address of <VirtualHost addr[:port] ...>. */
struct conf_vaddr {
    struct sockaddr_storage addr;
    int any_addr; /* "*" or "_default_" */
    int port;     /* 0 = any port */
    struct conf_vaddr *next;
};

struct conf_errdoc {
    int status;
    char *value; /* '"' + message text (httpd's marker, no closing quote), "/local/path",
                  * "http://url", or "default" (restores the canned page). Within a list the
                  * first entry for a status wins (vhost entries precede inherited ones). */
    struct conf_errdoc *next;
};

struct conf_logformat { /* LogFormat "fmt" nickname */
    char *nickname;
    char *format;
    struct conf_logformat *next;
};

struct accesslog_format; /* compiled LogFormat, see accesslog.h */

/* Per-module configuration hung off servers and sections; each module defines its struct
 * in its own header and allocates it on first use (NULL = the module has nothing here). */
struct proxy_srv_conf;    /* proxy_types.h */
struct proxy_dir_conf;    /* proxy_types.h */
struct headers_conf;      /* headers.h: RequestHeader / Header */
struct env_conf;          /* env.h: SetEnv / UnsetEnv / PassEnv */
struct acl_conf;          /* acl.h: Require, Order/Allow/Deny/Satisfy */
struct proxy_global_conf; /* proxy_types.h: every backend worker */
struct heartbeat_conf;    /* heartbeat.h: mod_heartmonitor */
struct rewrite_conf;      /* rewrite.h: mod_rewrite (server/vhost only) */
struct rewrite_map;       /* rewrite.h */
struct secrule_conf;      /* secrule.h: the ModSecurity subset */
struct setenvif_conf;     /* setenvif.h: SetEnvIf, BrowserMatch, SetEnvIfExpr */
struct dbd_conf;          /* rewrite_map_dbd.c: DBDriver, DBDParams */
struct tls_srv_conf;      /* tls_conf.c: SSL* and SSLProxy* directives of a server */
struct tls_proxy_conf;    /* tls_client.c: SSLProxy* directives (back-end engineer) */

struct conf_customlog {
    char *path;   /* absolute (ServerRoot applied) or "|program" */
    char *format; /* the format string, nickname already resolved */
    struct accesslog_format *compiled;
    char *env; /* env=[!]VAR condition or NULL */
    int env_negate;
    int fd; /* opened by the master, -1 before */
    const char *file;
    int line;
    struct conf_customlog *next;
};

struct conf_addtype { /* AddType type ext... (ext stored without the dot, lower case) */
    char *type;
    char *ext;
    struct conf_addtype *next;
};

/* Options bits (core Options directive). */
#define OPT_NONE                 0x00
#define OPT_INDEXES              0x01
#define OPT_INCLUDES             0x02
#define OPT_FOLLOWSYMLINKS       0x04
#define OPT_EXECCGI              0x08
#define OPT_MULTIVIEWS           0x10
#define OPT_SYMLINKSIFOWNERMATCH 0x20
#define OPT_ALL                                                                                    \
    (OPT_INDEXES | OPT_INCLUDES | OPT_FOLLOWSYMLINKS | OPT_EXECCGI | OPT_SYMLINKSIFOWNERMATCH)

enum conf_dir_kind {
    DIR_LOCATION,
    DIR_LOCATIONMATCH,
    DIR_DIRECTORY,
    DIR_DIRECTORYMATCH,
    DIR_FILES,
    DIR_FILESMATCH,
    DIR_PROXY,
    DIR_PROXYMATCH
};

/* One <Location>/<Directory>/<Files>/<Proxy> section (and their Match forms). Nested
 * <Files> inside <Directory> get their own conf_dir with `parent` set. Modules add their
 * per-directory fields here as they arrive. */
struct conf_dir {
    enum conf_dir_kind kind;
    char *pattern;                   /* as written (tilde form turns into the Match kind) */
    void *regex;                     /* pcre2_code * for Match kinds, compiled at load time */
    int options;                     /* OPT_* bits; CONF_UNSET = inherit */
    int options_add, options_remove; /* +X/-X forms */
    char **dir_index;                /* DirectoryIndex list, NULL = inherit */
    int n_dir_index;
    struct conf_errdoc *errdocs;
    long long limit_request_body; /* CONF_UNSET = inherit */
    char *add_default_charset;    /* NULL = inherit, "" = Off */
    struct conf_addtype *addtypes;
    struct proxy_dir_conf *proxy;
    struct headers_conf *headers;
    struct env_conf *env;
    struct acl_conf *acl;
    struct setenvif_conf *setenvif; /* SetEnvIf in this section (run after routing) */
    char *handler;                  /* SetHandler (lower case; "none" = NULL), NULL = inherit */
    struct conf_dir *parent;
    const char *file;
    int line;
    struct conf_dir *next; /* config order within the server */
};

/* Per-server settings: the main server and each <VirtualHost>. */
struct conf_server {
    int is_vhost;
    struct conf_vaddr *addrs; /* vhost addresses; NULL for the main server */
    char *server_name;        /* host part of ServerName */
    int server_port;          /* port from ServerName, 0 = none */
    char *server_scheme;      /* scheme from ServerName, NULL = none */
    char **aliases;           /* ServerAlias names, lower case; may hold wildcards */
    int n_aliases;
    char *server_admin;
    char *document_root; /* absolute, no trailing slash */
    int timeout;         /* seconds */
    int keepalive;       /* flag */
    int max_keepalive_requests;
    int keepalive_timeout_ms;
    int limit_request_line;
    int limit_request_fieldsize;
    int limit_request_fields;
    long long limit_request_body;
    int use_canonical_name; /* 0 off, 1 on, 2 dns */
    int trace_enable;       /* 0 off, 1 on, 2 extended */
    int server_signature;   /* 0 off, 1 on, 2 email */
    int hostname_lookups;   /* 0 off only */
    char *add_default_charset;
    char **dir_index;
    int n_dir_index;
    struct conf_errdoc *errdocs;
    struct conf_addtype *addtypes;
    int options;
    char *error_log;  /* absolute path, "|program" or "syslog[:facility]" */
    int error_log_fd; /* opened by the master; -1 before */
    struct conf_loglevel loglevel;
    struct conf_customlog *logs;
    struct conf_dir *dirs; /* sections in config order */
    struct proxy_srv_conf *proxy;
    struct headers_conf *headers;
    struct env_conf *env;
    struct rewrite_conf *rewrite;   /* NULL = no mod_rewrite directive in this server */
    struct secrule_conf *secrule;   /* NULL = none */
    struct setenvif_conf *setenvif; /* NULL = none */
    struct dbd_conf *dbd;           /* NULL = none (a vhost inherits the main server's) */
    struct tls_srv_conf *tls;       /* NULL = no SSL* directive here (tls_conf.c) */
    /* SSLProxy* (tls_client.c, back end); every server has one after load */
    struct tls_proxy_conf *tls_proxy;
    const char *file;
    int line;
    struct conf_server *next;
};

enum server_tokens { TOKENS_PROD, TOKENS_MAJOR, TOKENS_MINOR, TOKENS_MIN, TOKENS_OS, TOKENS_FULL };

struct conf_define { /* Define NAME [value] and -D NAME */
    char *name;
    char *value; /* NULL when defined without a value */
    struct conf_define *next;
};

/* Process-wide settings and everything else. */
struct conf {
    struct arena *arena;
    char *server_root; /* absolute */
    char *config_file; /* absolute */
    struct conf_define *defines;
    unsigned char module_loaded[MOD_COUNT]; /* always 1 for built-ins; LoadModule is a no-op */
    struct conf_listener *listeners;
    struct conf_server *main;   /* the main server (also the defaults of every vhost) */
    struct conf_server *vhosts; /* <VirtualHost>s in config order */
    char *pid_file;             /* absolute */
    char *default_runtime_dir;  /* absolute */
    char *user;                 /* NULL = keep the starting user */
    char *group;
    uid_t uid;             /* resolved at load; (uid_t)-1 when User is not set */
    const char *user_file; /* where User was set, for the errors of conf_finish_mpm */
    int user_line;
    gid_t gid; /* (gid_t)-1 when Group is not set */
    /* The children's credentials, resolved in the master by conf_finish_mpm (root with User
     * only) so that a child switches with setgroups/setgid/setuid alone: passwd/group lookups
     * after fork() would load NSS modules into every worker (private pages each). */
    gid_t run_gid;     /* Group, else User's primary group; (gid_t)-1 when neither is known */
    gid_t *run_groups; /* User's supplementary groups (getgrouplist, run_gid included) */
    int n_run_groups;  /* 0: none to add (a numeric User with no passwd entry); -1: the
                        * lookup failed, children refuse to serve */
    int start_servers;
    int min_spare_servers;
    int max_spare_servers;
    int max_request_workers;
    int server_limit;
    int max_connections_per_child;
    int listen_backlog;
    int graceful_shutdown_timeout;        /* seconds, 0 = wait forever */
    const char *max_request_workers_file; /* where MaxRequestWorkers was set, for warnings */
    int max_request_workers_line;
    enum server_tokens server_tokens;
    char *types_config; /* TypesConfig path, absolute; NULL = built-in table */
    struct conf_logformat *logformats;
    char *last_logformat;      /* the nickname-less LogFormat, for TransferLog */
    struct conf_msg *warnings; /* emitted while loading, in order */
    struct proxy_global_conf *proxy;
    struct heartbeat_conf *heartbeat; /* heartbeat.h: HeartbeatListen etc.; NULL = none set */
    struct rewrite_map *rewrite_maps; /* every RewriteMap, conf-wide (next_global) */
    unsigned n_rewrite_maps;
    void *rewrite_prg;   /* runtime state of prg: maps (rewrite_map_prg.c), NULL = none */
    int extended_status; /* ExtendedStatus, default On (as httpd 2.3.6+) */
    void *tls_state;     /* SSL_CTXs and ticket keys built by tls_conf_load(), NULL = none */
};

struct conf_msg {
    char *text; /* "file:line: Directive: message" */
    struct conf_msg *next;
};

#endif
