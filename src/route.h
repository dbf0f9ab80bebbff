/* Routing decides, the proxy acts (ARCHITECTURE.md "Seams"): steps 7-9 of the request path
 * as one function without I/O. Given the request head (already normalised and with its
 * vhost chosen), it returns what to do: proxy to a backend URL, answer locally, or answer a
 * status (403 from access control, ...). */
#ifndef PORTICO_ROUTE_H
#define PORTICO_ROUTE_H

#include "conn.h"
#include "proxy_types.h"

#define ROUTE_MAX_SECTIONS 32

enum route_outcome {
    ROUTE_LOCAL, /* static files / 404 */
    ROUTE_PROXY, /* forward to decision.url */
    ROUTE_STATUS /* answer decision.status (403 denied, 500 bad substitution, ...) */
};

struct route_decision {
    enum route_outcome outcome;
    int status;                      /* ROUTE_STATUS */
    const struct proxy_pass *pass;   /* ROUTE_PROXY: the ProxyPass that matched */
    struct proxy_worker *worker;     /* ROUTE_PROXY to a plain worker; NULL for a balancer */
    struct proxy_balancer *balancer; /* ROUTE_PROXY to balancer://: the engine picks a member
                                      * and builds member URL + backend_target */
    char *url;                       /* ROUTE_PROXY: full backend URL (scheme://hostport/path?q);
                                      * for a balancer "balancer://name/path?q" */
    char *backend_target;            /* ROUTE_PROXY: request-target for the backend (path?q);
                                      * for a balancer the part after "balancer://name", which
                                      * the engine appends to the chosen member's URL path */
    /* Sections that apply, in merge order (later wins): <Proxy> sections matching the
     * backend URL (or <Directory>/<Files> for local files), then <Location>s. */
    const struct conf_dir *sections[ROUTE_MAX_SECTIONS];
    int n_sections;
    const char *why; /* short trace for debug logs and dry runs: "ProxyPass /a at f:3" */
    /* ROUTE_PROXY: effective settings for this request, resolved from the worker, the
     * sections (last one setting it wins) and the server, so the engine reads them here.
     * For a balancer (worker NULL) every field is valid except the two timeouts, which
     * are then the server's (ProxyTimeout -> Timeout): the member is not chosen yet, so
     * the engine resolves them per member with route_worker_timeouts(). The balancer's
     * own timeout= (wait for a usable member) is balancer->timeout_ms. */
    int timeout_ms;                  /* timeout= -> ProxyTimeout -> Timeout */
    int connect_timeout_ms;          /* connectiontimeout= -> timeout_ms */
    int preserve_host;               /* ProxyPreserveHost */
    int add_headers;                 /* ProxyAddHeaders */
    int error_override;              /* ProxyErrorOverride On|Off */
    const int *error_override_codes; /* n == 0: every status 400..599 */
    int n_error_override_codes;
    const char *proxy_name; /* the URL <Proxy> sections were matched against */
    int server_timeout_ms;  /* ROUTE_PROXY: ProxyTimeout -> Timeout of the server, without
                             * any worker's timeout= (added for balancers) */
    /* Added for mod_rewrite (and SetHandler): */
    const char *location;   /* ROUTE_STATUS 3xx: the Location of a redirect */
    const char *handler;    /* SetHandler / [H=]: "server-status", ... NULL = default */
    const char *force_type; /* [T=]: Content-Type of a local answer, NULL = by extension */
    char **set_cookies;     /* [CO=]: Set-Cookie values sent on every response */
    int n_set_cookies;
    const char *vary;       /* header names rewrite conditions read, for Vary */
    int nocanon;            /* [P,NE]: send the URL as is */
    const char *local_path; /* ROUTE_LOCAL after a rewrite: the URL-path to serve */
    /* Per-directory core settings resolved over the sections (most specific wins), else the
     * server's: filled for every outcome. */
    long long limit_request_body; /* LimitRequestBody; 0 = unlimited */
    char *const *dir_index;       /* DirectoryIndex; NULL = "index.html" */
    int n_dir_index;
    const char *add_default_charset; /* NULL or "" = Off */
};

/* AddType of the sections in d (most specific first), then of the server: the type for
 * file's extension, or NULL to fall back to the MIME table. */
const char *route_added_type(const struct route_decision *d, const struct conf_server *srv,
                             const char *file);

/* Decides for r (uses r->srv, r->path (normalised), r->h, r->c->client_ip, r->arena).
 * Returns 0; the decision is in *d. No socket I/O towards the client or a backend; the one
 * exception to "no I/O" is mod_rewrite's map lookups (a txt/dbm file, a prg program, a
 * database), each bounded by the server's Timeout. */
int route_request(const struct conf *conf, struct request *r, struct route_decision *d);

/* First section in d of this kind list whose per-module field is set, searching from the
 * last (most specific) one; helpers for the consumers of d->sections. field_offset is
 * the offsetof() of a pointer member of struct conf_dir (proxy, headers, env, acl). */
const struct conf_dir *route_last_section_with(const struct route_decision *d, size_t field_offset);

/* The timeouts for a request of d sent through worker w (a balancer member, or d->worker):
 * w's timeout= and connectiontimeout= when set, else d's server-level values (added for
 * the load-balancing issue). */
void route_worker_timeouts(const struct route_decision *d, const struct proxy_worker *w,
                           int *timeout_ms, int *connect_timeout_ms);

/* Adds what routing decided about the response to a header list: mod_rewrite's [CO=]
 * cookies (Set-Cookie, on every response) and the Vary names its conditions read (merged
 * into an existing Vary). Returns 0 or -1 (out of memory). */
int route_add_response_headers(struct request *r, const struct route_decision *d,
                               struct http_header **hdrs, int *n);

/* Whether ProxyErrorOverride replaces a backend response with this status for d. */
int route_error_override(const struct route_decision *d, int status);

#endif
