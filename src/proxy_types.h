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
};

/* One ProxyPass / ProxyPassMatch, in config order. */
struct proxy_pass {
    char *path;                      /* ProxyPass path, or the regex source of ProxyPassMatch */
    void *regex;                     /* pcre2_code * for ProxyPassMatch, NULL otherwise */
    char *url;                       /* target as written ($1..$9 for Match); NULL for "!" */
    int exclude;                     /* "!" */
    int nocanon;                     /* nocanon flag */
    struct proxy_worker *worker;     /* NULL for "!" (for Match: the URL before any '$') */
    const struct conf_dir *location; /* the <Location> of a one-argument ProxyPass */
    const char *file;
    int line;
    struct proxy_pass *next;
};

/* ProxyPassReverse, ProxyPassReverseCookieDomain and ...CookiePath entries. */
struct proxy_reverse {
    char *from; /* ProxyPassReverse: local path; Cookie*: backend domain/path */
    char *to;   /* ProxyPassReverse: backend URL;  Cookie*: local domain/path */
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
    struct proxy_worker *worker; /* <Proxy url>: the worker ProxySet configures, if any */
    int error_override;          /* CONF_UNSET = server's */
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
};

/* `portico -S`: workers with their effective parameters and every server's ProxyPass
 * list in match order (proxy_conf.c). */
void proxy_conf_dump(const struct conf *c, FILE *out);

#endif
