/* Writing responses: status line, the headers every response carries (Date, Server,
 * Content-Length, Connection), canned error pages and ErrorDocument. */
#ifndef PORTICO_RESPOND_H
#define PORTICO_RESPOND_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"

struct resp_header {
    const char *name;
    const char *value;
};

/* Decides keep-alive for the response about to be sent (httpd's ap_set_keepalive rules) and
 * stores it in r->c->keepalive. */
void respond_decide_keepalive(struct request *r, int status, int length_known);

/* Sends status line + headers + body (body may be NULL). content_length < 0 means "use
 * body_len". For HEAD, 204 and 304 no body is written. Records status and byte counts in r.
 * Returns 0, or -1 when the client could not be written to (connection is then dead). */
int respond_send(struct request *r, int status, const struct resp_header *hdrs, int nhdrs,
                 const char *body, size_t body_len, long long content_length, int64_t deadline);

/* Sends only the head (for bodies streamed by the caller afterwards). */
int respond_send_head(struct request *r, int status, const struct resp_header *hdrs, int nhdrs,
                      long long content_length, int64_t deadline);

/* Sends an error (or redirect when location != NULL) page, honouring ErrorDocument of the
 * request's server and directory sections. */
int respond_error(struct request *r, int status, const char *location, int64_t deadline);

/* HTML-escapes s into the arena. */
char *respond_html_escape(struct arena *a, const char *s);

#endif
