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

#endif
