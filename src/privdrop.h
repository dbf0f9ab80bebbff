/* Privilege separation with libcap.
 *
 * The master opens listeners, logs and key files with the privileges it was started with, then
 * privdrop_master() reduces it to the few capabilities it still needs for restarts and for
 * managing children. Every child (worker, heartbeat process) calls privdrop_child(): it leaves
 * root for User/Group, drops every capability (permitted, effective, inheritable, ambient and
 * the bounding set), sets no_new_privs and reads the result back; a child for which any of
 * this fails must not serve. */
#ifndef PORTICO_PRIVDROP_H
#define PORTICO_PRIVDROP_H

#include <stddef.h>

#include "conf_types.h"

/* What the master keeps when started as root (libcap text form; privdrop.c says why). A
 * master started as another user keeps at most cap_net_bind_service (a file capability). */
#define PRIVDROP_MASTER_CAPS "cap_kill,cap_setgid,cap_setuid,cap_setpcap,cap_net_bind_service"

/* Call once in the master after listeners and logs are open and before the first fork.
 * Logs warnings (User/Group ignored when not root, children running as root) and an info
 * line with what is kept. Returns -1 with a message in err when the capabilities children
 * need to drop their own privileges are missing or the drop did not hold. */
int privdrop_master(const struct conf *conf, char *err, size_t errlen);

/* Call in every child before it handles any input. Returns 0, or -1 with the reason in err:
 * the child must then exit with the master's "fatal, do not respawn" status. */
int privdrop_child(const struct conf *conf, char *err, size_t errlen);

#endif
