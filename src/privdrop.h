/* Dropping root in children: setgid/initgroups/setuid to User/Group and no new privileges.
 * (libcap's full capability drop and verification arrive with the TLS/privsep issue.) */
#ifndef PORTICO_PRIVDROP_H
#define PORTICO_PRIVDROP_H

#include <stddef.h>

#include "conf_types.h"

/* No-op when not running as root or when User is not set. Returns 0, or -1 with a message
 * in err (the child must then refuse to serve). */
int privdrop_child(const struct conf *conf, char *err, size_t errlen);

#endif
