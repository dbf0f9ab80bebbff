/* Strict RFC 9112 request-head parser. Pure: works on a buffer, never on a socket. */
#ifndef PORTICO_HTTP_PARSE_H
#define PORTICO_HTTP_PARSE_H

#include <sys/types.h>

#include "http_types.h"

struct arena;

/* Empty lines tolerated before the request line (httpd allows 10 as well). */
#define HTTP_MAX_LEADING_EMPTY 10
/* Cap on the whole head when LimitRequestFields is 0 (unlimited): the per-line limit alone
 * would not bound what we buffer. */
#define HTTP_HEAD_MAX (1024 * 1024)

/* Finds the end of a request head in buf[0..len) (leading empty lines before the request
 * line are tolerated as RFC 9112 allows and counted in the result).
 * Returns the head length including the final empty line, 0 when more input is needed,
 * or -status when the limits are already exceeded: -414 when the request line is longer
 * than lim->request_line, -431 when a header line or the whole head is too long, -400 when
 * more than HTTP_MAX_LEADING_EMPTY empty lines precede the request line. Bare LF ends a line
 * (RFC 9112 2.2); a lone CR does not. Stateless: call it again with the grown buffer.
 * lim may be NULL (httpd defaults 8190/8190/100); request_line/field_size <= 0 pick 8190. */
ssize_t http_head_end(const char *buf, size_t len, const struct http_limits *lim);

/* Parses a complete head (buf[0..len), len from http_head_end) in place.
 * Returns 0, or the HTTP status to answer: 400 malformed (also: both Content-Length and
 * Transfer-Encoding, differing or malformed Content-Length, obs-fold, bare CR, missing
 * Host on HTTP/1.1, whitespace before a colon, fragment in the target), 414 request line
 * too long, 431 a field too long or too many fields, 501 unknown transfer coding,
 * 505 unsupported HTTP version, 417 an Expect other than 100-continue, 500 arena exhausted.
 * *reason gets a static text for the error log (NULL on success; reason may be NULL).
 * Header array, a copy of the request line, and path/host when they cannot be cut out of
 * the buffer in place are allocated from `a`. For CONNECT, host is the target and path "".
 * A missing Host on HTTP/1.1 is a 400 even with an absolute-form target (RFC 9112 3.2). */
int http_parse_request(char *buf, size_t len, const struct http_limits *lim, struct arena *a,
                       struct http_request *req, const char **reason);

/* First header with this name (case-insensitive), or NULL. */
const char *http_header_get(const struct http_request *req, const char *name);

/* Reason phrase for a status code ("Not Found"), "Unknown" for others. */
const char *http_reason(int status);

/* Method name to enum. */
enum http_method http_method_parse(const char *m);

#endif
