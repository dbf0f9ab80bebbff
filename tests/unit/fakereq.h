/* A request built in memory for the unit tests of the request-time modules (SecRule,
 * SetEnvIf): a connection, the request line's parts and "Name: value\n" header lines, all
 * in the given arena. Header-only; include it once per test program. */
#ifndef PORTICO_TEST_FAKEREQ_H
#define PORTICO_TEST_FAKEREQ_H

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "conn.h"
#include "util.h"

struct fakereq {
    const char *ip;       /* client address; NULL = 192.0.2.10 */
    const char *local_ip; /* NULL = 127.0.0.1 */
    const char *method;   /* NULL = GET */
    const char *path;     /* NULL = / */
    const char *query;    /* NULL = none */
    const char *headers;  /* "Name: value\n" lines, each ending in '\n'; NULL = none */
};

/* Fills r and c (both zeroed first). r->uri is the path, as after routing; r->h.host the
 * Host header's value when there is one. */
static void fakereq_build(struct request *r, struct conn *c, struct arena *a,
                          const struct conf *conf, const struct conf_server *srv,
                          const struct fakereq *f)
{
    memset(r, 0, sizeof(*r));
    memset(c, 0, sizeof(*c));
    c->conf = conf;
    util_strlcpy(c->client_ip, f->ip ? f->ip : "192.0.2.10", sizeof(c->client_ip));
    snprintf(c->client_addr, sizeof(c->client_addr), "%s:40000", c->client_ip);
    util_strlcpy(c->local_ip, f->local_ip ? f->local_ip : "127.0.0.1", sizeof(c->local_ip));
    r->c = c;
    r->arena = a;
    r->srv = srv != NULL ? srv : conf->main;
    r->h.method = arena_strdup(a, f->method ? f->method : "GET");
    r->h.path = arena_strdup(a, f->path ? f->path : "/");
    r->h.query = f->query ? arena_strdup(a, f->query) : NULL;
    r->h.protocol = "HTTP/1.1";
    r->path = r->h.path;
    r->uri = r->h.path;
    const char *hs = f->headers ? f->headers : "";
    int n = 0;
    for (const char *p = hs; *p; p++)
        n += *p == '\n';
    r->h.headers = arena_calloc(a, (size_t)n + 1, sizeof(struct http_header));
    for (const char *p = hs; *p;) {
        const char *nl = strchr(p, '\n');
        const char *colon = strchr(p, ':');
        struct http_header *h = &r->h.headers[r->h.n_headers++];
        h->name = arena_strndup(a, p, (size_t)(colon - p));
        h->name_len = strlen(h->name);
        const char *v = colon + 1;
        while (*v == ' ')
            v++;
        h->value = arena_strndup(a, v, (size_t)(nl - v));
        h->value_len = strlen(h->value);
        if (util_strcaseeq(h->name, "Host"))
            r->h.host = h->value;
        p = nl + 1;
    }
}

#endif
