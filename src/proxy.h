/* The forwarding engine: executes a ROUTE_PROXY decision (ARCHITECTURE.md step 10). */
#ifndef PORTICO_PROXY_H
#define PORTICO_PROXY_H

#include <stdint.h>

#include "conn.h"
#include "route.h"

/* Forwards r to d->url and relays the response (or sends portico's error page: 502/503/504,
 * ProxyErrorOverride). Reads the request body from the client itself (sets
 * r->body_consumed). Returns 0 when a response was sent, -1 when the client connection is
 * unusable (the worker closes it). */
int proxy_handle(struct request *r, const struct route_decision *d, int64_t deadline);

/* Per worker process: drops pooled backend connections (after fork, on exit). */
void proxy_pool_close_all(void);

#endif
