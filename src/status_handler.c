/* The server-status handler (mod_status's page, ?auto, plus ?json) and portico-metrics
 * (Prometheus text exposition), both formatted by status_format(). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "balancer.h"
#include "conn.h"
#include "respond.h"
#include "scoreboard.h"
#include "status.h"

static const struct slotmem *scoreboard;

void status_set_scoreboard(const struct slotmem *sb)
{
    scoreboard = sb;
}

/* httpd's ap_get_server_name with UseCanonicalName Off: the Host header's name without the
 * port, else ServerName. */
static const char *request_server_name(struct request *r)
{
    const char *h = r->h.host;
    if (h != NULL && h[0] != '\0') {
        const char *end = NULL;
        if (h[0] == '[')
            end = strchr(h, ']') ? strchr(h, ']') + 1 : NULL;
        else
            end = strchr(h, ':');
        size_t n = end != NULL ? (size_t)(end - h) : strlen(h);
        char *name = arena_strndup(r->arena, h, n);
        if (name != NULL && n > 0)
            return name;
    }
    if (r->srv != NULL && r->srv->server_name != NULL)
        return r->srv->server_name;
    return NULL;
}

/* Formats and sends; the buffer is malloc'd by the formatter (a status page is not the hot
 * path, and its size depends on ServerLimit and the balancers). */
static int send_status(struct request *r, enum status_format fmt, const char *type,
                       const char *refresh, int64_t deadline)
{
    const struct conf *conf = r->c->conf;
    struct status_source src = {
        .scoreboard = scoreboard,
        .balancers = balancer_get_shm(),
        .conf = conf,
        .extended = status_extended(conf),
        .now_ms = scoreboard_now_ms(),
        .server_name = request_server_name(r),
    };
    struct status_buf out = {NULL, 0, 0, 0};
    struct resp_header hdrs[2];
    int nh = 0;

    if (status_format(&src, fmt, &out) < 0) {
        free(out.buf);
        return respond_error(r, 500, NULL, deadline);
    }
    hdrs[nh++] = (struct resp_header){"Content-Type", type};
    if (refresh != NULL)
        hdrs[nh++] = (struct resp_header){"Refresh", refresh};
    int rc = respond_send(r, 200, hdrs, nh, out.buf ? out.buf : "", out.len, -1, deadline);
    free(out.buf);
    return rc;
}

/* mod_status matches its options as substrings of the query string ("?auto&refresh=5",
 * "?refresh=5;auto"); portico adds "json". */
static const char *query_option(const char *query, const char *name)
{
    if (query == NULL)
        return NULL;
    return strstr(query, name);
}

/* "refresh=N": N seconds (N < 1 gives 10, as httpd); a bare "refresh" gives 1. */
static const char *refresh_value(struct request *r, const char *query)
{
    const char *p = query_option(query, "refresh");
    if (p == NULL)
        return NULL;
    p += strlen("refresh");
    if (*p != '=')
        return "1";
    p++;
    int neg = 0;
    if (*p == '-') {
        neg = 1;
        p++;
    }
    long long n = 0;
    int digits = 0;
    while (isdigit((unsigned char)*p) && digits < 9) {
        n = n * 10 + (*p++ - '0');
        digits++;
    }
    if (digits == 0)
        return "1";
    if (neg || n < 1)
        n = 10;
    char *v = arena_printf(r->arena, "%lld", n);
    return v != NULL ? v : "10";
}

int status_handle_server_status(struct request *r, int64_t deadline)
{
    if (r->h.m != HTTP_GET && r->h.m != HTTP_HEAD)
        return respond_error(r, 405, NULL, deadline);
    const char *q = r->h.query;
    const char *refresh = refresh_value(r, q);
    if (query_option(q, "json") != NULL)
        return send_status(r, STATUS_JSON, "application/json", refresh, deadline);
    if (query_option(q, "auto") != NULL)
        return send_status(r, STATUS_AUTO, "text/plain; charset=ISO-8859-1", refresh, deadline);
    return send_status(r, STATUS_HTML, "text/html; charset=ISO-8859-1", refresh, deadline);
}

int status_handle_metrics(struct request *r, int64_t deadline)
{
    if (r->h.m != HTTP_GET && r->h.m != HTTP_HEAD)
        return respond_error(r, 405, NULL, deadline);
    return send_status(r, STATUS_PROMETHEUS, "text/plain; version=0.0.4; charset=utf-8", NULL,
                       deadline);
}
