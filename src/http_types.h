/* A parsed HTTP/1.x request head. The parser works in place: every string points into the
 * caller's buffer and is NUL-terminated there, so the buffer must outlive the request. */
#ifndef PORTICO_HTTP_TYPES_H
#define PORTICO_HTTP_TYPES_H

#include <stddef.h>

enum http_method {
    HTTP_OTHER,
    HTTP_GET,
    HTTP_HEAD,
    HTTP_POST,
    HTTP_PUT,
    HTTP_DELETE,
    HTTP_OPTIONS,
    HTTP_TRACE,
    HTTP_CONNECT,
    HTTP_PATCH
};

struct http_header {
    char *name;  /* as sent (case kept); compare with util_strcaseeq */
    char *value; /* OWS trimmed */
    size_t name_len;
    size_t value_len;
};

struct http_request {
    char *request_line; /* the first line, without CRLF (for %r and THE_REQUEST) */
    char *method;
    enum http_method m;
    char *target;   /* request-target as sent */
    char *path;     /* raw path of the target (origin-form, or path of absolute-form) */
    char *query;    /* after '?', NULL when the target has none */
    char *protocol; /* "HTTP/1.1" */
    int version;    /* 10 or 11 */
    struct http_header *headers; /* arena array, in order received */
    int n_headers;
    char *host;               /* Host header value (or absolute-form authority), NULL when absent */
    long long content_length; /* -1 when absent */
    int chunked;              /* Transfer-Encoding: chunked (the final coding) */
    int has_te;               /* any Transfer-Encoding header (HTTP/1.0 + TE => close afterwards) */
    int expect_continue;      /* Expect: 100-continue */
    int conn_close;           /* Connection: close (or HTTP/1.0 without keep-alive, or
                                 HTTP/1.0 with Transfer-Encoding: RFC 9112 6.1) */
    int conn_keepalive;       /* Connection: keep-alive */
};

/* Limits from LimitRequestLine / LimitRequestFieldSize / LimitRequestFields (0 = none for
 * fields). */
struct http_limits {
    int request_line;
    int field_size;
    int fields;
};

#endif
