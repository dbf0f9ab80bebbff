/* The forwarding engine: executes a ROUTE_PROXY decision (ARCHITECTURE.md step 10). */
#ifndef PORTICO_PROXY_H
#define PORTICO_PROXY_H

#include <stddef.h>
#include <stdint.h>

#include "conn.h"
#include "route.h"

/* Forwards r to d->url and relays the response (or sends portico's error page: 502/503/504,
 * ProxyErrorOverride). Reads the request body from the client itself (sets
 * r->body_consumed, and leaves r->c->in_off at the first byte after the body). Every wait
 * is bounded per I/O: backend waits by the worker's timeout, client waits by the server's
 * Timeout (`deadline` bounds nothing after the first client write: a 1 GiB transfer may take
 * longer than one Timeout). Returns 0 when a response was sent (c->keepalive says whether
 * the connection goes on), -1 when the client connection is unusable (the worker closes
 * it). */
int proxy_handle(struct request *r, const struct route_decision *d, int64_t deadline);

/* Per worker process: drops pooled backend connections (after fork, on exit). */
void proxy_pool_close_all(void);

/* proxy_tunnel.c: relays bytes between the client socket cfd and the backend socket bfd in
 * both directions through buf until both sides closed (0), or an error or idle_ms without
 * any traffic (-1, errno ETIMEDOUT for the idle timeout). Half-closes are passed on with
 * shutdown(SHUT_WR). Bytes relayed are added to *to_client / *to_backend (may be NULL). */
int proxy_tunnel_run(int cfd, int bfd, char *buf, size_t cap, int idle_ms, long long *to_client,
                     long long *to_backend);

/* Added for TLS (issue 8): the same with either side possibly carrying TLS (ct/bt NULL =
 * plain; proxy_tunnel_run is this with both NULL). A TLS side cannot be half-closed: when
 * the other side ends, close_notify is not sent here (the caller ends the session) and the
 * tunnel stops once nothing is left to relay towards it. */
struct tls_session;
int proxy_tunnel_run_tls(int cfd, struct tls_session *ct, int bfd, struct tls_session *bt,
                         char *buf, size_t cap, int idle_ms, long long *to_client,
                         long long *to_backend);

#endif
