/* Per worker process state of the backend workers (struct proxy_worker), indexed by
 * worker->index: the keep-alive pool of idle backend connections and the error state that
 * answers 503 without trying during a worker's retry= window. Nothing here is shared between
 * processes: each prefork child pools its own connections, as httpd's prefork children do. */
#ifndef PORTICO_BACKEND_POOL_H
#define PORTICO_BACKEND_POOL_H

#include <stdint.h>

#include "proxy_types.h"

struct tls_session;

/* An idle connection for w that is safe to reuse: not older than ttl=, and with nothing to
 * read (pending bytes or EOF mean the backend closed it or broke framing; it is closed).
 * Returns the fd, or -1 when none. n_workers is conf->proxy->n_workers (sizes the table on
 * first use). *tls receives the connection's TLS session (NULL for a plain one): a pooled
 * TLS connection keeps its session with the fd. */
int backend_pool_get(const struct proxy_worker *w, unsigned n_workers, struct tls_session **tls);

/* Gives back a connection whose last response was read completely and that the backend did
 * not close. Closed instead when disablereuse=On, when anything is readable on it (bytes past
 * the response, EOF: never reused), or when the pool holds max= idle connections (the oldest
 * goes). */
void backend_pool_put(const struct proxy_worker *w, unsigned n_workers, int fd,
                      struct tls_session *tls);

/* Closes a backend connection: close_notify first when it carries TLS (briefly bounded). */
void backend_conn_close(int fd, struct tls_session *tls);

/* Error state (httpd's PROXY_WORKER_IN_ERROR) of plain workers: usable() is false until
 * retry= has passed since set_error(). retry=0 never blocks. Balancer members keep theirs in
 * the balancer's shared memory instead (balancer.h), so this is never used for them. */
int backend_pool_usable(const struct proxy_worker *w, unsigned n_workers);
void backend_pool_set_error(const struct proxy_worker *w, unsigned n_workers);
void backend_pool_clear_error(const struct proxy_worker *w, unsigned n_workers);

/* Closes every pooled connection (worker exit; after fork in a child that must not share
 * them). */
void backend_pool_close_all(void);

#endif
