/* Access control: mod_authz_core/mod_authz_host `Require` (all, ip, not, RequireAll,
 * RequireAny, RequireNone) and mod_access_compat's Order/Allow/Deny/Satisfy, in <Proxy>,
 * <ProxyMatch>, <Location>, <Directory> and <Files> sections. */
#ifndef PORTICO_ACL_H
#define PORTICO_ACL_H

#include <sys/socket.h>

#include "conf_types.h"

struct acl_conf; /* defined in acl.c / acl_conf.c; opaque to others */

/* Evaluates one section's rules for a client address. Returns 1 granted, 0 denied.
 * A NULL acl grants. */
int acl_check(const struct acl_conf *acl, const struct sockaddr_storage *client);

/* Parses "a.b.c.d", "a.b.c.d/nn", "a.b.c.d/m.m.m.m", partial "10.1", IPv6 with /nn, for tests
 * and for the config handlers. Returns 0 or -1. */
struct acl_net {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned char mask[16];
};
int acl_parse_net(const char *text, struct acl_net *out);
int acl_net_match(const struct acl_net *net, const struct sockaddr_storage *client);

#endif
