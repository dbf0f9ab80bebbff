/* mod_setenvif: SetEnvIf, SetEnvIfNoCase, BrowserMatch, BrowserMatchNoCase, SetEnvIfExpr.
 * Server and vhost rules run early (httpd's post_read_request: after ModSecurity phase 1,
 * before mod_rewrite and ProxyPass, so their variables feed %{ENV:...} and no-proxy);
 * rules in <Location>/<Directory>/<Proxy> run after routing (httpd's header_parser). */
#ifndef PORTICO_SETENVIF_H
#define PORTICO_SETENVIF_H

#include "conf_types.h"

struct request;
struct route_decision;
struct setenvif_conf; /* private to setenvif.c */

/* Server-level rules of r->srv (the main server's, then the vhost's). */
void setenvif_apply_server(struct request *r);

/* Rules of the sections in d (in merge order). */
void setenvif_apply_sections(struct request *r, const struct route_decision *d);

#endif
