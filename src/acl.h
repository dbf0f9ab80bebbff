/* Access control: mod_authz_core/mod_authz_host `Require` (all, ip, local, not, RequireAll,
 * RequireAny, RequireNone, AuthMerging) and mod_access_compat's Order/Allow/Deny with core's
 * Satisfy, in <Proxy>, <ProxyMatch>, <Location>, <Directory> and <Files> sections.
 *
 * How httpd 2.4 combines them, and so how acl_check() does:
 * - Require lines form a tree; lines directly in a section behave as one <RequireAny>.
 *   No Require at all grants.
 * - Order/Allow/Deny give a yes/no of their own; no such directive at all says yes.
 * - Satisfy All (default): both must say yes. Satisfy Any: either is enough (with no
 *   Require in force, Satisfy Any therefore grants everyone).
 * Across sections (acl_check_sections) each module merges on its own, as in httpd: the
 * Require tree by AuthMerging (default Off: the last section with Require lines wins),
 * Order/Allow/Deny by the last section that has any of them, Satisfy by the last one set. */
#ifndef PORTICO_ACL_H
#define PORTICO_ACL_H

#include <sys/socket.h>

#include "conf_types.h"

struct acl_conf; /* defined below for acl.c / acl_conf.c; opaque to others */

/* Evaluates one section's rules for a client address. Returns 1 granted, 0 denied.
 * A NULL acl grants. */
int acl_check(const struct acl_conf *acl, const struct sockaddr_storage *client);

/* Added (acl): evaluates every section that applies to a request, in merge order (as
 * route_decision.sections lists them; NULL entries and sections without access rules are
 * skipped), merging them as httpd does (see above). Returns 1 granted, 0 denied; n == 0
 * grants. Use this rather than acl_check() on the last section: with mod_access_compat
 * rules in one section and Require in another, or with AuthMerging, only the merge gives
 * httpd's answer. */
int acl_check_sections(const struct conf_dir *const *sections, int n,
                       const struct sockaddr_storage *client);

/* Added (acl): fills a sockaddr_storage from a client address in text ("10.1.2.3", "::1",
 * "::ffff:10.1.2.3"; struct conn keeps client_ip so). Returns 0 or -1. */
int acl_client_parse(const char *ip, struct sockaddr_storage *out);

/* Parses "a.b.c.d", "a.b.c.d/nn", "a.b.c.d/m.m.m.m", partial "10.1", IPv6 with /nn, for tests
 * and for the config handlers. Returns 0 or -1. */
struct acl_net {
    int family; /* AF_INET or AF_INET6 */
    unsigned char addr[16];
    unsigned char mask[16];
};
int acl_parse_net(const char *text, struct acl_net *out);
int acl_net_match(const struct acl_net *net, const struct sockaddr_storage *client);

/* Added (acl): acl_parse_net() with httpd's (APR's) reason for a failure, which the
 * config messages need. */
enum acl_net_status {
    ACL_NET_OK,
    ACL_NET_NOT_IP,  /* does not look like an address at all (a host name?) */
    ACL_NET_BAD_IP,  /* "The specified IP address is invalid." */
    ACL_NET_BAD_MASK /* "The specified network mask is invalid." */
};
enum acl_net_status acl_parse_net_status(const char *text, struct acl_net *out);
/* APR's text for a failure ("The specified IP address is invalid."), "" for the others. */
const char *acl_net_strerror(enum acl_net_status st);

/* ---- private to acl.c and acl_conf.c ---- */

enum acl_result { ACL_DENIED, ACL_GRANTED, ACL_NEUTRAL };

enum acl_kind {
    ACL_K_ALL,    /* Require all granted|denied */
    ACL_K_IP,     /* Require ip ... */
    ACL_K_LOCAL,  /* Require local */
    ACL_K_SECTION /* <RequireAll>/<RequireAny>/<RequireNone>, or a section's implicit Any */
};

struct acl_node {
    enum acl_kind kind;
    int negate;  /* "Require not", <RequireNone> */
    int op_and;  /* sections: 1 all must pass (<RequireAll>), 0 one is enough */
    int granted; /* ACL_K_ALL */
    struct acl_net *nets;
    int n_nets;
    struct acl_node *first, *last; /* sections: children in config order */
    struct acl_node *next;
    struct acl_node *parent; /* while parsing: enclosing container, NULL = the section */
    int broken;              /* while parsing: an error inside; skip the close-time checks */
    const char *file;        /* containers: where they open, for errors found at the close */
    int line;
};

enum acl_merge { ACL_MERGE_UNSET, ACL_MERGE_OFF, ACL_MERGE_AND, ACL_MERGE_OR };
enum acl_order { ACL_DENY_ALLOW, ACL_ALLOW_DENY, ACL_MUTUAL_FAILURE };
enum acl_satisfy { ACL_SATISFY_UNSET, ACL_SATISFY_ALL, ACL_SATISFY_ANY };

struct acl_rule { /* one Allow/Deny from argument */
    int all;
    struct acl_net net;
    struct acl_rule *next;
};

struct acl_conf {
    /* mod_authz_core: any of its directives seen here (httpd creates its config then) */
    int authz_set;
    enum acl_merge merging;
    struct acl_node *authz; /* the implicit <RequireAny>; NULL = no Require here */
    /* mod_access_compat: Order/Allow/Deny seen here (its config replaces the inherited one) */
    int compat_set;
    enum acl_order order;
    struct acl_rule *allow, *deny;
    /* core */
    enum acl_satisfy satisfy;
};

#endif
