/* The balancer-manager handler (`SetHandler balancer-manager`): an HTML page with the live
 * state of every balancer and member and forms to change them (nonce-protected, as httpd's
 * mod_proxy_balancer), plus machine-readable forms (?xml, ?json). Edits go to the balancer
 * slotmem, so every worker process sees them at once. */
#ifndef PORTICO_BALANCER_MANAGER_H
#define PORTICO_BALANCER_MANAGER_H

#include <stdint.h>

struct request;

/* Serves one request to the handler (GET shows, POST or GET with parameters edits). Reads
 * the request body itself when there is one. */
int balancer_manager_handle(struct request *r, int64_t deadline);

#endif
