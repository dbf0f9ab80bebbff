/* mod_headers: RequestHeader (applied before the request is forwarded) and Header (applied to
 * every response portico sends, proxied or local), plus the small ap_expr subset their
 * expr= conditions use.
 *
 * Scopes apply in httpd's order: the main server, the virtual host (conf_finish_headers
 * prepends the main server's directives to every vhost's list, so r->srv->headers holds
 * both), then the sections of the route decision in order. */
#ifndef PORTICO_HEADERS_H
#define PORTICO_HEADERS_H

#include <stddef.h>

#include "http_types.h"

struct arena;
struct request;
struct route_decision;

enum headers_action {
    HDR_SET,        /* replace every occurrence (first keeps its place) */
    HDR_SETIFEMPTY, /* set when absent */
    HDR_ADD,        /* one more occurrence, duplicates kept (Set-Cookie) */
    HDR_APPEND,     /* ", value" onto the first occurrence, or add */
    HDR_MERGE,      /* append unless the value is already a token of the first occurrence */
    HDR_UNSET,      /* remove every occurrence */
    HDR_ECHO,       /* Header only: copy request headers whose name matches the regex */
    HDR_EDIT,       /* regex search-and-replace in every occurrence, first match */
    HDR_EDIT_ALL    /* edit*: every match */
};

/* httpd keeps three lists: RequestHeader (fixup_in), Header [onsuccess] (headers_out) and
 * Header always (err_headers_out). */
enum headers_list { HL_REQUEST, HL_ONSUCCESS, HL_ALWAYS, HL_COUNT };

/* One piece of a compiled value: "%D ms since %t" is TIME ... */
enum headers_fmt_kind {
    HFMT_TEXT,     /* arg: literal (backslash escapes \n \r \t \\ already resolved) */
    HFMT_TIME,     /* %t: "t=" + microseconds since the epoch at request start */
    HFMT_DURATION, /* %D: "D=" + microseconds since request start */
    HFMT_ENV,      /* %{arg}e: request environment variable, "(null)" when unset */
    HFMT_REQHDR,   /* %{arg}i: request header (portico; httpd's %i is the idle percentage) */
    HFMT_SSL,      /* %{arg}s: SSL variable; portico has no TLS yet: "(null)" as httpd */
    HFMT_EXPR      /* value "expr=...": a string expression */
};

struct headers_expr; /* compiled expression; private to headers.c */

struct headers_fmt {
    enum headers_fmt_kind kind;
    char *arg;
    struct headers_expr *expr; /* HFMT_EXPR */
};

struct header_entry {
    enum headers_action action;
    char *name;              /* without a trailing colon; echo: the regex source */
    struct headers_fmt *fmt; /* value; for edit the replacement */
    int n_fmt;
    void *regex; /* pcre2_code *: edit pattern, echo name pattern */
    char *env;   /* env=[!]VAR condition (name only), or NULL */
    int env_negate;
    struct headers_expr *cond; /* expr= condition, or NULL */
    const char *file;
    int line;
    struct header_entry *next;
};

struct headers_conf {
    struct header_entry *head[HL_COUNT];
    struct header_entry *tail[HL_COUNT];
};

/* Applies the RequestHeader directives of the server then the sections of d (in order) to
 * r->h.headers (replaced by an arena copy when changed; r->h.host follows the Host header).
 * d may be NULL: server directives only. Returns 0 or -1 (out of memory). */
int headers_apply_request(struct request *r, const struct route_decision *d);

/* Applies the Header directives to the response a handler produced: a proxied response
 * whatever its status (backend 404s and 302s included, as httpd does) or a local file.
 * `Header [onsuccess]` directives edit the list itself; `Header always` directives build a
 * separate list, which starts empty and is put in front of it, so `Header always unset X`
 * does not remove a backend's X (httpd's err_headers_out: "always is not a superset of
 * onsuccess"). Pass the end-to-end headers only: the caller adds or re-derives framing
 * (Content-Length, Transfer-Encoding, Connection), Date and Server afterwards. The list may
 * be replaced by a new arena array. Returns 0 or -1. d may be NULL (server only). */
int headers_apply_response(struct request *r, const struct route_decision *d, int status,
                           struct http_header **hdrs, int *n);

/* Same, for a response portico generates on its error path (400, 403 denied, local 404,
 * 5xx proxy errors, redirects, ErrorDocument pages): only `Header always` directives apply,
 * and they edit the list directly (httpd's ap_send_error_response drops headers_out and
 * keeps err_headers_out, with Location copied there). */
int headers_apply_error_response(struct request *r, const struct route_decision *d, int status,
                                 struct http_header **hdrs, int *n);

/* ---- building blocks, shared with headers_conf.c and usable by other modules ---- */

/* Compiles an ap_expr boolean condition (string_mode 0) or a string expression such as the
 * value of `Header set X "expr=%{REQUEST_URI}"` (string_mode 1). Regexes and -ipmatch
 * networks are compiled now. Returns NULL with a message in err on failure. */
struct headers_expr *headers_expr_parse(struct arena *a, const char *text, int string_mode,
                                        char *err, size_t errlen);

/* Evaluates a condition for r; resp/n_resp are the response headers for resp() (may be
 * NULL), status the response status (0 for request-time evaluation). Returns 1 or 0. */
int headers_expr_eval(const struct headers_expr *e, struct request *r, int status,
                      const struct http_header *resp, int n_resp);
/* Evaluates a string expression into r->arena (NULL when out of memory). */
char *headers_expr_string(const struct headers_expr *e, struct request *r, int status,
                          const struct http_header *resp, int n_resp);

/* Compiles a Header value ("%D %{X}e text\n"). Returns 0, or -1 with a message in err. */
int headers_fmt_compile(struct arena *a, const char *text, struct headers_fmt **out, int *n,
                        char *err, size_t errlen);

/* Compiles a regex with PCRE2 and registers its release on the arena. Returns NULL with a
 * message in err. */
void *headers_regex_compile(struct arena *a, const char *pattern, char *err, size_t errlen);

#endif
