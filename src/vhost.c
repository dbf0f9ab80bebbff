#include "vhost.h"

#include <fnmatch.h>
#include <netinet/in.h>
#include <string.h>

#include "util.h"

static int local_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

static int same_ip(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family == AF_INET && b->ss_family == AF_INET)
        return ((const struct sockaddr_in *)a)->sin_addr.s_addr ==
               ((const struct sockaddr_in *)b)->sin_addr.s_addr;
    if (a->ss_family == AF_INET6 && b->ss_family == AF_INET6)
        return memcmp(&((const struct sockaddr_in6 *)a)->sin6_addr,
                      &((const struct sockaddr_in6 *)b)->sin6_addr, sizeof(struct in6_addr)) == 0;
    return 0;
}

/* 2 = exact address match, 1 = wildcard address match, 0 = no match. */
static int addr_score(const struct conf_server *v, const struct sockaddr_storage *local, int port)
{
    int best = 0;
    for (const struct conf_vaddr *a = v->addrs; a; a = a->next) {
        if (a->port != 0 && a->port != port)
            continue;
        if (a->any_addr)
            best = best < 1 ? 1 : best;
        else if (same_ip(&a->addr, local))
            return 2;
    }
    return best;
}

static int name_matches(const struct conf_server *v, const char *host)
{
    if (v->server_name != NULL && util_strcaseeq(v->server_name, host))
        return 1;
    for (int i = 0; i < v->n_aliases; i++)
        if (fnmatch(v->aliases[i], host, FNM_CASEFOLD) == 0)
            return 1;
    return 0;
}

const struct conf_server *vhost_select_where(const struct conf *conf,
                                             const struct sockaddr_storage *local, const char *host,
                                             int (*accept)(const struct conf_server *), int *named)
{
    if (named != NULL)
        *named = 0;
    int port = local_port(local);
    int best = 0;
    for (const struct conf_server *v = conf->vhosts; v; v = v->next) {
        int s = addr_score(v, local, port);
        if (s > best)
            best = s;
    }
    if (best == 0)
        return accept == NULL || accept(conf->main) ? conf->main : NULL;

    char name[256];
    const char *want = NULL;
    if (host != NULL) {
        size_t n = 0;
        if (host[0] == '[') { /* IPv6 literal: keep the brackets, drop the port */
            const char *end = strchr(host, ']');
            n = end ? (size_t)(end - host) + 1 : strlen(host);
        } else {
            const char *colon = strchr(host, ':');
            n = colon ? (size_t)(colon - host) : strlen(host);
        }
        if (n > 0 && host[n - 1] == '.')
            n--;
        if (n > 0 && n < sizeof(name)) {
            memcpy(name, host, n);
            name[n] = '\0';
            want = name;
        }
    }
    const struct conf_server *first = NULL;
    for (const struct conf_server *v = conf->vhosts; v; v = v->next) {
        if (addr_score(v, local, port) != best || (accept != NULL && !accept(v)))
            continue;
        if (first == NULL)
            first = v;
        if (want != NULL && name_matches(v, want)) {
            if (named != NULL)
                *named = 1;
            return v;
        }
    }
    return first;
}

const struct conf_server *vhost_select(const struct conf *conf,
                                       const struct sockaddr_storage *local, const char *host)
{
    return vhost_select_where(conf, local, host, NULL, NULL);
}
