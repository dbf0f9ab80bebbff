/* mod_headers: RequestHeader (applied before the request is forwarded) and Header (applied to
 * every response portico sends, proxied or local). */
#ifndef PORTICO_HEADERS_H
#define PORTICO_HEADERS_H

#include "http_types.h"

struct request;
struct route_decision;

/* Applies the RequestHeader directives of the server then the sections of d (in order) to
 * r->h.headers (replaced by an arena copy when changed). Returns 0 or -1 (out of memory). */
int headers_apply_request(struct request *r, const struct route_decision *d);

/* Applies the Header directives to a response header list (arena array, *n entries) for a
 * response with this status (onsuccess = 2xx; `always` also for errors). The list may be
 * replaced by a new arena array. Returns 0 or -1. d may be NULL (early errors): then only
 * the server's directives apply. */
int headers_apply_response(struct request *r, const struct route_decision *d, int status,
                           struct http_header **hdrs, int *n);

#endif
