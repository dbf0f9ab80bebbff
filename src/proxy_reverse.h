/* Response-header rewriting for reverse-proxied requests, pure functions the engine calls
 * on each backend response header: ProxyPassReverse (httpd's
 * ap_proxy_location_reverse_map) and ProxyPassReverseCookieDomain/Path (httpd's
 * ap_proxy_cookie_reverse_map). */
#ifndef PORTICO_PROXY_REVERSE_H
#define PORTICO_PROXY_REVERSE_H

#include "conn.h"
#include "route.h"

struct arena;

/* What the client addressed, to make a mapped path absolute as httpd's ap_construct_url()
 * does: scheme://host[:port] with the port left out when it is the scheme's default. */
struct proxy_front {
    const char *scheme;            /* "http" or "https" (the listener's protocol) */
    const char *host;              /* the client's Host header, NULL when none */
    const struct conf_server *srv; /* ServerName, its port, UseCanonicalName */
    int local_port;                /* the connection's local port */
};

/* Fills f from a request being served (listener protocol, Host, vhost, local port). */
void proxy_front_init(struct proxy_front *f, const struct request *r);

/* "scheme://host[:port]" + path for the front end (UseCanonicalName Off: the client's
 * Host and its port, else ServerName and its port or the local port). */
char *proxy_front_url(struct arena *a, const struct proxy_front *f, const char *path);

/* ProxyPassReverse for one Location, Content-Location, URI or Destination value. The
 * entries are the server's (the main server's, then the vhost's) followed by those of the
 * sections in d, in merge order; the first whose URL is a case-insensitive prefix of the
 * value (or, for a URL starting with '/', of the value's path) replaces that prefix with
 * its local path, and a result that is not an absolute URL is made absolute with
 * proxy_front_url(). Returns value itself when nothing matched. */
const char *proxy_reverse_location(struct arena *a, const struct conf_server *srv,
                                   const struct route_decision *d, const struct proxy_front *f,
                                   const char *value);

/* Set-Cookie: each "path=" attribute whose value starts with a ProxyPassReverseCookiePath
 * backend path (case-sensitive) and each "domain=" attribute whose value starts with a
 * ProxyPassReverseCookieDomain backend domain (case-insensitive) gets the whole value
 * replaced by the public one. Returns value itself when nothing changed. */
const char *proxy_reverse_cookie(struct arena *a, const struct conf_server *srv,
                                 const struct route_decision *d, const char *value);

#endif
