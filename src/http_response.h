/* Strict parser for a backend's response head (RFC 9112 sections 4-6), and the framing
 * decision for its body. Pure: works on a buffer, never on a socket. The proxy reads the
 * head into a buffer, asks http_response_head_end() where it stops, then parses it in place
 * with http_response_parse(). */
#ifndef PORTICO_HTTP_RESPONSE_H
#define PORTICO_HTTP_RESPONSE_H

#include <sys/types.h>

#include "http_types.h"

struct arena;

/* What ProxyBadHeader says to do with a header line that is not `name: value`. */
enum http_bad_header {
    HTTP_BAD_HEADER_ERROR,     /* IsError (default): the response is invalid (502) */
    HTTP_BAD_HEADER_IGNORE,    /* Ignore: drop the line */
    HTTP_BAD_HEADER_START_BODY /* StartBody: the line and what follows are the body */
};

/* How the response body is delimited (RFC 9112 6.3). */
enum http_body_framing {
    HTTP_BODY_NONE,    /* HEAD, 1xx, 204, 304 */
    HTTP_BODY_LENGTH,  /* Content-Length (may be 0) */
    HTTP_BODY_CHUNKED, /* Transfer-Encoding ending in chunked */
    HTTP_BODY_CLOSE    /* read until the backend closes */
};

struct http_response_limits {
    size_t field_size; /* longest status or header line (ResponseFieldSize); 0 = 8192 */
    int fields;        /* most header lines; 0 = 1000 */
    size_t head;       /* largest head in bytes; 0 = 256 KiB */
    int bad_header;    /* enum http_bad_header */
};

struct http_response {
    int version;                 /* 10 or 11 */
    int status;                  /* 100..599 */
    char *reason;                /* reason phrase as sent (may be "") */
    struct http_header *headers; /* arena array, in order received, obs-fold merged */
    int n_headers;
    enum http_body_framing framing;
    long long content_length; /* HTTP_BODY_LENGTH: the length; the header's value (or -1)
                                 otherwise, so a HEAD/304 answer can pass it on */
    int conn_close;           /* the backend connection cannot carry another request: Connection:
                                 close, HTTP/1.0 without keep-alive, close-delimited body, or both
                                 Transfer-Encoding and Content-Length (RFC 9112 6.3 item 3) */
    int conn_upgrade;         /* Connection lists "upgrade" */
    const char *upgrade;      /* Upgrade header value, NULL when absent */
    size_t head_len;          /* bytes of buf the head took; with StartBody less than the length
                                 http_response_head_end() returned: the rest is body */
};

/* Finds the end of a response head in buf[0..len): the empty line, or with StartBody the
 * first header line without a colon (which then belongs to the body). Lines end in CRLF or
 * a bare LF (RFC 9112 2.2). Returns the head length, 0 when more input is needed, or -1 when
 * the head cannot be valid whatever follows: a line longer than lim->field_size, more than
 * lim->fields lines, a head beyond lim->head, or a first line that is not "HTTP/". Stateless:
 * call it again with the grown buffer. lim may be NULL (defaults, ProxyBadHeader IsError). */
ssize_t http_response_head_end(const char *buf, size_t len, const struct http_response_limits *lim);

/* Parses a complete head (buf[0..len), len from http_response_head_end) in place. head_req
 * is true when the request was HEAD (the response then has no body whatever it says).
 * Returns 0, or -1 for an invalid response (the proxy answers 502) with a static *reason
 * (reason may be NULL): a status line that is not `HTTP/1.x NNN [reason]`, a bad header
 * under ProxyBadHeader IsError (no colon, an invalid name or whitespace before the colon),
 * a bare CR or NUL or other control byte in a line, differing or malformed Content-Length,
 * a StartBody line before any header, or an arena failure. HTTP/0.9 responses (no status
 * line) are refused too, where httpd would pass them on as a 200. Obs-fold lines are merged into
 * the previous value with one SP (RFC 9112 5.2 lets a proxy do this; httpd does the same). */
int http_response_parse(char *buf, size_t len, const struct http_response_limits *lim, int head_req,
                        struct arena *a, struct http_response *resp, const char **reason);

/* First header with this name (case-insensitive), or NULL. */
const char *http_response_header(const struct http_response *resp, const char *name);

/* Whether a comma-separated token list (Connection, Upgrade, Transfer-Encoding) holds the
 * token, compared case-insensitively. */
int http_token_list_has(const char *list, const char *token);

#endif
