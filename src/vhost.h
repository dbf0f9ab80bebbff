/* Virtual host selection (apache-behaviour.md 8.3): IP-based on the local address, then
 * name-based on Host among the vhosts sharing the best address; the first listed is the
 * default. */
#ifndef PORTICO_VHOST_H
#define PORTICO_VHOST_H

#include <sys/socket.h>

#include "conf_types.h"

/* host may be NULL (HTTP/1.0 without Host); its port is ignored. Never returns NULL. */
const struct conf_server *vhost_select(const struct conf *conf,
                                       const struct sockaddr_storage *local, const char *host);

/* The same choice among the servers accept() takes (the TLS handshake picks among TLS
 * vhosts): NULL when the address's candidates have none. *named (may be NULL) tells
 * whether host named the result rather than it being the address's default. */
const struct conf_server *vhost_select_where(const struct conf *conf,
                                             const struct sockaddr_storage *local, const char *host,
                                             int (*accept)(const struct conf_server *), int *named);

#endif
