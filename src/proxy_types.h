/* mod_proxy configuration as parsed (owned by proxy_conf.c) and read by routing (route.c)
 * and the forwarding engine (proxy.c). Times are milliseconds; CONF_UNSET (-1) means
 * "inherit" until conf_finish_proxy() fills the defaults. */
#ifndef PORTICO_PROXY_TYPES_H
#define PORTICO_PROXY_TYPES_H

#include <stdio.h>
#include <sys/socket.h>

#include "conf_types.h"

/* A backend "worker" in httpd's sense: one target URL and its connection parameters.
 * Workers are shared by every ProxyPass/ProxySet naming the same URL and numbered
 * conf-wide (index) so each worker process can keep per-worker state (connection pool,
 * error state) in a plain array. */
struct proxy_worker {
    char *name;     /* normalised URL: lower-case scheme and host, default port dropped,
                     * path as written ("http://localhost:8000/service") */
    char *scheme;   /* "http", "https", "ws", "wss" (lower case) */
    char *host;     /* host as written (IPv6 without brackets) */
    int port;       /* explicit or the scheme's default */
    char *hostport; /* Host header value for the backend: host[:port] (IPv6 bracketed), the
                     * port only when not the scheme's default (and never 80: httpd's quirk) */
    char *path;     /* path part of the URL ("" when none) */
    struct sockaddr_storage addr; /* resolved at load */
    socklen_t addrlen;
    int timeout_ms;         /* timeout=; CONF_UNSET: ProxyTimeout, then Timeout (per server:
                             * use route_decision.timeout_ms, which resolves the chain) */
    int connect_timeout_ms; /* connectiontimeout=; CONF_UNSET: the timeout */
    int retry_ms;           /* retry=; default 60 s; 0 = retry at once */
    int keepalive;          /* keepalive=On: SO_KEEPALIVE on backend sockets */
    int ttl_ms;             /* ttl=: max idle time of a pooled connection; CONF_UNSET = none */
    int max;                /* max=: pooled connections per worker process; default 1 */
    int disablereuse;       /* disablereuse=On (or enablereuse=Off): never pool */
    int flushpackets;       /* 0 off, 1 on, 2 auto */
    int flushwait_ms;       /* default 10 */
    char *upgrade;          /* upgrade=: protocol to tunnel ("*" for ANY); NULL = "websocket" for
                             * ws:// and wss:// only, no upgrade for http(s):// */
    unsigned index;         /* 0 .. conf->proxy->n_workers-1 */
    const char *file;
    int line;
    struct proxy_worker *next; /* conf-wide list, in order of first mention */
    /* Which parameters were given explicitly (bit per key, proxy_conf.c), so a later
     * ProxyPass sharing the worker can warn as httpd does. */
    unsigned params_set;
    /* Non-NULL: this worker is a BalancerMember's (added for the load-balancing issue).
     * Member workers are in the conf-wide list (so per-worker arrays cover them) but are
     * never shared with ProxyPass/ProxySet URLs, as httpd keeps a balancer's workers apart. */
    struct proxy_member *member;
};

/* Member status flags (httpd's letters, apache-behaviour.md 1.4), in config and in shm. */
#define MEMBER_DISABLED 0x01u /* D */
#define MEMBER_STOPPED  0x02u /* S */
#define MEMBER_STANDBY  0x04u /* H: hot standby */
#define MEMBER_SPARE    0x08u /* R: hot spare */
#define MEMBER_DRAIN    0x10u /* N: drain (sticky traffic only) */
#define MEMBER_IGNORE   0x20u /* I: ignore errors */
#define MEMBER_ERROR    0x40u /* E: in error (connect failed, failonstatus, ...) */
#define MEMBER_HCFAIL   0x80u /* C: failed its health check */

struct proxy_balancer;

/* ProxyHCExpr name {expr} (mod_proxy_hcheck), conf-wide in config order. portico stores the
 * text; the heartbeat process compiles and evaluates it (`compiled` is for its use). */
struct proxy_hcexpr {
    char *name; /* as written; looked up case-insensitively, as httpd's table */
    char *expr; /* the expression, outer {} removed; words re-joined with single spaces */
    void *compiled;
    const char *file;
    int line;
    struct proxy_hcexpr *next;
};

/* ProxyHCTemplate name key=value...: hctemplate= copies all six fields onto a member. As in
 * httpd a template's hcmethod defaults to TCP and passes/fails to 1, interval to 30 s. */
struct proxy_hctemplate {
    char *name;
    char *hcmethod; /* canonical upper case ("TCP", "GET11", ...); NULL = NONE */
    char *hcuri;    /* NULL = none */
    int hcinterval_ms;
    int hcpasses;
    int hcfails;
    char *hcexpr; /* ProxyHCExpr name, NULL = none */
    const char *file;
    int line;
    struct proxy_hctemplate *next;
};

/* One BalancerMember. Its connection parameters are an ordinary worker; its runtime state
 * (counters, lbstatus, error time, health) lives in the balancer slotmem (shm/balancer_slot.h)
 * at index `slot`, shared by every process. */
struct proxy_member {
    struct proxy_worker *worker;
    struct proxy_balancer *balancer;
    char *route;     /* route= ("" when none) */
    char *redirect;  /* redirect= route ("" when none) */
    int lbfactor;    /* loadfactor x 100 (100..10000), httpd's scale */
    int lbset;       /* lbset= (0..99) */
    unsigned status; /* MEMBER_* set in the config (status=+H etc.) */
    /* Health check (mod_proxy_hcheck): method NULL = none. */
    char *hcmethod;    /* "TCP", "OPTIONS", "HEAD", "GET" (also the *11 forms), upper case */
    char *hcuri;       /* NULL = none */
    int hcinterval_ms; /* default 30 s */
    int hcpasses;      /* default 1 */
    int hcfails;       /* default 1 */
    char *hcexpr;      /* name of a ProxyHCExpr, NULL = none */
    const struct proxy_hcexpr *hcexpr_def; /* that ProxyHCExpr (resolved at load) */
    unsigned slot;                         /* index in the balancer slotmem */
    const char *file;
    int line;
    struct proxy_member *next; /* config order within the balancer */
};

/* A balancer://name with its members and ProxySet parameters. */
struct proxy_balancer {
    char *name; /* "balancer://name", lower case */
    struct proxy_member *members;
    unsigned n_members;
    char *lbmethod;      /* "byrequests" (default), "bytraffic", "bybusyness", "heartbeat" */
    char *sticky;        /* stickysession= as written ("COOKIE|param" allowed), NULL = none */
    char *sticky_cookie; /* the cookie name (first alternative) */
    char *sticky_param;  /* the URL parameter name (second alternative, else the first) */
    char sticky_sep;     /* stickysessionsep=, default '.'; 0 = Off (whole value is the route) */
    int scolonpathdelim; /* scolonpathdelim=On */
    int nofailover;      /* nofailover=On */
    int maxattempts;     /* maxattempts=; default members - 1 (resolved at load) */
    int failonstatus[32];
    int n_failonstatus;
    int failontimeout;
    int forcerecovery;  /* default On */
    int timeout_ms;     /* timeout=: wait this long for a usable member; 0 = no wait */
    int growth;         /* growth= (default 0): spare member slots for members added at
                         * run time (balancer-manager); BalancerGrowth is another thing */
    char *nonce;        /* nonce=: NULL = random at start-up, "" = None (manager) */
    int defined;        /* named by <Proxy balancer://>, BalancerMember or ProxySet (not
                         * only by a ProxyPass/ProxyPassReverse) */
    unsigned slot_base; /* first member slot; members use slot_base .. + n_members + growth */
    unsigned index;     /* 0 .. n_balancers-1 */
    const char *file;
    int line;
    struct proxy_balancer *next;
};

/* One ProxyPass / ProxyPassMatch, in config order. */
struct proxy_pass {
    char *path;                      /* ProxyPass path, or the regex source of ProxyPassMatch */
    void *regex;                     /* pcre2_code * for ProxyPassMatch, NULL otherwise */
    char *url;                       /* target as written ($1..$9 for Match); NULL for "!" */
    int exclude;                     /* "!" */
    int nocanon;                     /* nocanon flag */
    struct proxy_worker *worker;     /* NULL for "!" and for balancer:// targets */
    struct proxy_balancer *balancer; /* balancer:// target, else NULL */
    const struct conf_dir *location; /* the <Location> of a one-argument ProxyPass */
    const char *file;
    int line;
    struct proxy_pass *next;
};

/* ProxyPassReverse, ProxyPassReverseCookieDomain and ...CookiePath entries. */
struct proxy_reverse {
    char *from; /* ProxyPassReverse: local path; Cookie*: backend domain/path */
    char *to;   /* ProxyPassReverse: backend URL;  Cookie*: local domain/path */
    /* ProxyPassReverse to balancer://name[/urlpart]: the balancer (resolved at load; any
     * member's URL + urlpart maps back) and urlpart (NULL when none or "/"). */
    struct proxy_balancer *balancer;
    char *balancer_path;
    const char *file;
    int line;
    struct proxy_reverse *next;
};

#define PROXY_MAX_ERROR_CODES 32

/* Per server (main or vhost). A vhost inherits unset values from the main server; its
 * ProxyPass list is the main server's followed by its own (httpd appends the vhost's
 * entries to the base server's: checked live on httpd 2.4.71), and likewise for the
 * ProxyPassReverse* lists. */
struct proxy_srv_conf {
    struct proxy_pass *passes;
    struct proxy_reverse *reverses;
    struct proxy_reverse *cookie_domains;
    struct proxy_reverse *cookie_paths;
    int preserve_host;  /* ProxyPreserveHost, default Off */
    int timeout_ms;     /* ProxyTimeout; unset = this server's Timeout */
    int add_headers;    /* ProxyAddHeaders, default On */
    int via;            /* ProxyVia: 0 Off, 1 On, 2 Full, 3 Block */
    int error_override; /* ProxyErrorOverride On|Off */
    int error_override_codes[PROXY_MAX_ERROR_CODES]; /* n == 0: every status >= 400 */
    int n_error_override_codes;
    int bad_header;     /* ProxyBadHeader: 0 IsError, 1 Ignore, 2 StartBody */
    int io_buffer_size; /* ProxyIOBufferSize, bytes (default 8192) */
};

/* Per <Location>/<Proxy>/<Directory> section (CONF_UNSET/NULL = not set here). */
struct proxy_dir_conf {
    struct proxy_worker *worker;     /* <Proxy url>: the worker ProxySet configures, if any */
    struct proxy_balancer *balancer; /* <Proxy balancer://name>: that balancer, if it exists */
    int error_override;              /* CONF_UNSET = server's */
    int error_override_codes[PROXY_MAX_ERROR_CODES];
    int n_error_override_codes;
    struct proxy_pass *pass;              /* one-argument ProxyPass in <Location>/<LocationMatch> */
    struct proxy_reverse *reverses;       /* ProxyPassReverse in this section */
    struct proxy_reverse *cookie_domains; /* ProxyPassReverseCookieDomain here */
    struct proxy_reverse *cookie_paths;   /* ProxyPassReverseCookiePath here */
    int preserve_host;                    /* ProxyPreserveHost here, CONF_UNSET = server's */
    int add_headers;                      /* ProxyAddHeaders here, CONF_UNSET = server's */
};

/* conf-wide proxy state. */
struct proxy_global_conf {
    struct proxy_worker *workers;
    unsigned n_workers;
    struct proxy_balancer *balancers;
    unsigned n_balancers;
    unsigned n_member_slots; /* sum over balancers of n_members + growth */
    int balancer_persist;    /* BalancerPersist On: runtime edits survive restarts (default Off) */
    int balancer_inherit;    /* BalancerInherit (default On) */
    int balancer_growth;     /* BalancerGrowth (default 5): httpd's number of extra *balancers*
                              * that may be added after start-up (members use growth=) */
    struct proxy_hcexpr *hcexprs;         /* ProxyHCExpr, config order */
    struct proxy_hctemplate *hctemplates; /* ProxyHCTemplate, config order */
};

/* `portico -S`: workers with their effective parameters and every server's ProxyPass
 * list in match order (proxy_conf.c). */
void proxy_conf_dump(const struct conf *c, FILE *out);

/* The balancer a "balancer://name[/path]" URL names (case-insensitive), or NULL: for the
 * RewriteRule [P] engine, at load (undefined name = config error) and per request. */
struct proxy_balancer *proxy_balancer_find(const struct conf *c, const char *url);

/* The worker a run-time URL (RewriteRule [P]) uses: the configured worker with the same
 * scheme, host, port and longest path prefix, else a non-pooling default worker allocated
 * in arena `a` (its index is n_workers: the slot every such worker shares). NULL with a
 * message in *err for a URL portico cannot proxy to (scheme, unresolvable host). */
struct arena;
struct proxy_worker *proxy_worker_for_url(const struct conf *c, struct arena *a, const char *url,
                                          const char **err);

/* httpd's "<Proxy url key=value ...>": the parameters after the URL, applied as a ProxySet
 * inside the section `dir` (balancer or worker parameters). For the <Proxy> section handler
 * (core_conf.c); returns NULL or an error message. */
struct conf_cmd;
const char *proxy_conf_section_params(struct conf_cmd *cmd, struct conf_dir *dir, int argc,
                                      char **argv);

#endif
