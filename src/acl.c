/* Access-control evaluation: address parsing and matching with APR's rules (apr_ipsubnet_create
 * and apr_ipsubnet_test, which httpd's Require ip and Allow/Deny use), the Require tree with
 * mod_authz_core's three-valued logic, Order/Allow/Deny, Satisfy, and the merge of several
 * sections. Pure functions: no allocation, no I/O, safe on the request path. */
#include "acl.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

/* APR refuses to guess: only digits and dots, or anything with a colon, is taken for an
 * address; the rest is "not an IP" so that Allow/Deny can treat it as a host name. */
static int looks_like_ip(const char *s)
{
    if (*s == '\0')
        return 0;
    if (strchr(s, ':') != NULL)
        return 1;
    while (*s == '.' || (*s >= '0' && *s <= '9'))
        s++;
    return *s == '\0';
}

/* Partial IPv4 "10.1" / "10.1." = 10.1.0.0/16 (APR's parse_network). */
static enum acl_net_status parse_network(const char *s, struct acl_net *out)
{
    if (strlen(s) >= sizeof("255.255.255.255"))
        return ACL_NET_BAD_IP;
    int shift = 24;
    uint32_t addr = 0, mask = 0;
    while (*s != '\0') {
        if (*s < '0' || *s > '9')
            return ACL_NET_BAD_IP;
        unsigned octet = 0;
        for (; *s >= '0' && *s <= '9'; s++)
            if ((octet = octet * 10 + (unsigned)(*s - '0')) > 255)
                return ACL_NET_BAD_IP;
        if (*s == '.')
            s++;
        else if (*s != '\0')
            return ACL_NET_BAD_IP;
        if (shift < 0)
            return ACL_NET_BAD_IP;
        addr |= (uint32_t)octet << shift;
        mask |= 0xffu << shift;
        shift -= 8;
    }
    addr = htonl(addr);
    mask = htonl(mask);
    out->family = AF_INET;
    memcpy(out->addr, &addr, 4);
    memcpy(out->mask, &mask, 4);
    return ACL_NET_OK;
}

static enum acl_net_status parse_ip(const char *s, int network_allowed, struct acl_net *out)
{
    memset(out->mask, 0xff, sizeof(out->mask));
    struct in6_addr a6;
    if (inet_pton(AF_INET6, s, &a6) == 1) {
        /* A v4-mapped rule could never match: clients in that form are compared with the
         * IPv4 rules instead. APR refuses it for that reason. */
        if (IN6_IS_ADDR_V4MAPPED(&a6))
            return ACL_NET_BAD_IP;
        out->family = AF_INET6;
        memcpy(out->addr, &a6, 16);
        return ACL_NET_OK;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, s, &a4) == 1) {
        out->family = AF_INET;
        memcpy(out->addr, &a4, 4);
        return ACL_NET_OK;
    }
    if (!network_allowed)
        return ACL_NET_BAD_IP;
    return parse_network(s, out);
}

static enum acl_net_status parse_mask(const char *m, struct acl_net *out)
{
    long maxbits = out->family == AF_INET6 ? 128 : 32;
    char *end;
    errno = 0;
    long bits = strtol(m, &end, 10);
    if (*end == '\0' && end != m && errno == 0 && bits > 0 && bits <= maxbits) {
        memset(out->mask, 0, sizeof(out->mask));
        for (long i = 0; i < bits; i++)
            out->mask[i / 8] |= (unsigned char)(0x80u >> (i % 8));
        return ACL_NET_OK;
    }
    /* A dotted netmask, any bit pattern, IPv4 only. "/0" is not a valid bit count in APR
     * (0.0.0.0/0.0.0.0 is the way to write "everything"). */
    struct in_addr a4;
    if (out->family == AF_INET && inet_pton(AF_INET, m, &a4) == 1) {
        memset(out->mask, 0, sizeof(out->mask));
        memcpy(out->mask, &a4, 4);
        return ACL_NET_OK;
    }
    return ACL_NET_BAD_MASK;
}

enum acl_net_status acl_parse_net_status(const char *text, struct acl_net *out)
{
    char ip[INET6_ADDRSTRLEN + 64];
    const char *slash = strchr(text, '/');
    size_t n = slash ? (size_t)(slash - text) : strlen(text);
    memset(out, 0, sizeof(*out));
    if (n >= sizeof(ip))
        return looks_like_ip(text) ? ACL_NET_BAD_IP : ACL_NET_NOT_IP;
    memcpy(ip, text, n);
    ip[n] = '\0';
    if (!looks_like_ip(ip))
        return ACL_NET_NOT_IP;
    enum acl_net_status st = parse_ip(ip, slash == NULL, out);
    if (st == ACL_NET_OK && slash != NULL)
        st = parse_mask(slash + 1, out);
    if (st != ACL_NET_OK) {
        memset(out, 0, sizeof(*out));
        return st;
    }
    for (size_t i = 0; i < sizeof(out->addr); i++)
        out->addr[i] &= out->mask[i];
    return ACL_NET_OK;
}

int acl_parse_net(const char *text, struct acl_net *out)
{
    return acl_parse_net_status(text, out) == ACL_NET_OK ? 0 : -1;
}

const char *acl_net_strerror(enum acl_net_status st)
{
    switch (st) {
    case ACL_NET_BAD_IP:
        return "The specified IP address is invalid.";
    case ACL_NET_BAD_MASK:
        return "The specified network mask is invalid.";
    case ACL_NET_OK:
    case ACL_NET_NOT_IP:
        break;
    }
    return "";
}

static int masked_equal(const unsigned char *a, const struct acl_net *net, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((a[i] & net->mask[i]) != net->addr[i])
            return 0;
    return 1;
}

int acl_net_match(const struct acl_net *net, const struct sockaddr_storage *client)
{
    if (net == NULL || client == NULL)
        return 0;
    if (client->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)client;
        return net->family == AF_INET &&
               masked_equal((const unsigned char *)&sin->sin_addr, net, 4);
    }
    if (client->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)client;
        const unsigned char *a = (const unsigned char *)&sin6->sin6_addr;
        /* A dual-stack listener sees IPv4 clients as ::ffff:a.b.c.d: IPv4 rules apply. */
        if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
            return net->family == AF_INET && masked_equal(a + 12, net, 4);
        return net->family == AF_INET6 && masked_equal(a, net, 16);
    }
    return 0;
}

int acl_client_parse(const char *ip, struct sockaddr_storage *out)
{
    memset(out, 0, sizeof(*out));
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)out;
    if (inet_pton(AF_INET6, ip, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        return 0;
    }
    struct sockaddr_in *s4 = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, ip, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        return 0;
    }
    memset(out, 0, sizeof(*out));
    return -1;
}

/* httpd also grants when the client address equals the connection's local address; only
 * the client is known here, and a client connecting to its own address other than loopback
 * is rare enough to leave out. */
static int is_local(const struct sockaddr_storage *client)
{
    static const struct acl_net lo4 = {AF_INET, {127}, {0xff}};
    static const struct acl_net lo6 = {AF_INET6,
                                       {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                                       {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                        0xff, 0xff, 0xff, 0xff, 0xff, 0xff}};
    return acl_net_match(&lo4, client) || acl_net_match(&lo6, client);
}

/* mod_authz_core's apply_authz_sections(): neutral children do not count; a negated entry
 * turns granted into denied and denied into neutral (not matching a "not" rule proves
 * nothing). */
static enum acl_result eval_node(const struct acl_node *n, const struct sockaddr_storage *c)
{
    enum acl_result r = ACL_DENIED;
    switch (n->kind) {
    case ACL_K_ALL:
        r = n->granted ? ACL_GRANTED : ACL_DENIED;
        break;
    case ACL_K_IP:
        for (int i = 0; i < n->n_nets; i++)
            if (acl_net_match(&n->nets[i], c)) {
                r = ACL_GRANTED;
                break;
            }
        break;
    case ACL_K_LOCAL:
        r = is_local(c) ? ACL_GRANTED : ACL_DENIED;
        break;
    case ACL_K_SECTION:
        r = ACL_NEUTRAL;
        for (const struct acl_node *ch = n->first; ch != NULL; ch = ch->next) {
            enum acl_result cr = eval_node(ch, c);
            if (cr == ACL_NEUTRAL)
                continue;
            if (n->op_and ? cr == ACL_DENIED : cr == ACL_GRANTED) {
                r = cr;
                break;
            }
            if (r == ACL_NEUTRAL)
                r = cr;
        }
        break;
    }
    if (n->negate) {
        if (r == ACL_GRANTED)
            r = ACL_DENIED;
        else if (r == ACL_DENIED)
            r = ACL_NEUTRAL;
    }
    return r;
}

/* The two-child section AuthMerging And|Or builds from the inherited and the new rules. */
static enum acl_result combine(int op_and, enum acl_result base, enum acl_result add)
{
    enum acl_result r = ACL_NEUTRAL;
    const enum acl_result ch[2] = {base, add};
    for (int i = 0; i < 2; i++) {
        if (ch[i] == ACL_NEUTRAL)
            continue;
        if (op_and ? ch[i] == ACL_DENIED : ch[i] == ACL_GRANTED)
            return ch[i];
        if (r == ACL_NEUTRAL)
            r = ch[i];
    }
    return r;
}

static int find_rule(const struct acl_rule *list, const struct sockaddr_storage *c)
{
    for (; list != NULL; list = list->next)
        if (list->all || acl_net_match(&list->net, c))
            return 1;
    return 0;
}

/* mod_access_compat's check_dir_access(). */
static int compat_ok(const struct acl_conf *a, const struct sockaddr_storage *c)
{
    switch (a->order) {
    case ACL_ALLOW_DENY:
        return find_rule(a->allow, c) && !find_rule(a->deny, c);
    case ACL_DENY_ALLOW:
        return find_rule(a->allow, c) || !find_rule(a->deny, c);
    case ACL_MUTUAL_FAILURE:
        break;
    }
    return find_rule(a->allow, c) && !find_rule(a->deny, c);
}

/* Merged state while walking the sections in order. */
struct merge {
    int have_authz; /* a Require tree is in force */
    enum acl_result authz;
    const struct acl_conf *compat;
    enum acl_satisfy satisfy;
};

/* merge_authz_core_dir_config(), evaluated as it goes: the tree is pure, so evaluating
 * each section's tree once and combining the results gives the merged tree's answer. */
static void merge_add(struct merge *m, const struct acl_conf *a, const struct sockaddr_storage *c)
{
    if (a->compat_set)
        m->compat = a;
    if (a->satisfy != ACL_SATISFY_UNSET)
        m->satisfy = a->satisfy;
    if (!a->authz_set)
        return;
    if (a->merging == ACL_MERGE_UNSET && a->authz == NULL && m->have_authz)
        return; /* keeps the inherited rules */
    if (a->merging == ACL_MERGE_OFF || a->merging == ACL_MERGE_UNSET ||
        (!m->have_authz && a->authz == NULL)) {
        m->have_authz = a->authz != NULL;
        if (m->have_authz)
            m->authz = eval_node(a->authz, c);
        return;
    }
    if (a->authz == NULL)
        return;
    enum acl_result r = eval_node(a->authz, c);
    m->authz = m->have_authz ? combine(a->merging == ACL_MERGE_AND, m->authz, r) : r;
    m->have_authz = 1;
}

/* ap_process_request_internal(): Satisfy All needs both the host check (access_compat)
 * and the Require tree; Satisfy Any is content with either. No Require = granted, no
 * Order/Allow/Deny = allowed. A neutral tree is a denial. */
static int merge_result(const struct merge *m, const struct sockaddr_storage *c)
{
    int compat = m->compat == NULL || compat_ok(m->compat, c);
    int authz = !m->have_authz || m->authz == ACL_GRANTED;
    if (m->satisfy == ACL_SATISFY_ANY)
        return compat || authz;
    return compat && authz;
}

int acl_check(const struct acl_conf *acl, const struct sockaddr_storage *client)
{
    if (acl == NULL)
        return 1;
    struct merge m = {0, ACL_NEUTRAL, NULL, ACL_SATISFY_UNSET};
    merge_add(&m, acl, client);
    return merge_result(&m, client);
}

int acl_check_sections(const struct conf_dir *const *sections, int n,
                       const struct sockaddr_storage *client)
{
    struct merge m = {0, ACL_NEUTRAL, NULL, ACL_SATISFY_UNSET};
    for (int i = 0; i < n; i++)
        if (sections[i] != NULL && sections[i]->acl != NULL)
            merge_add(&m, sections[i]->acl, client);
    return merge_result(&m, client);
}
