/* Status output: the scoreboard and the balancer table, formatted (status_format.c, shared
 * by the server-status handler and tools/portico-status) and served over HTTP
 * (status_handler.c: `SetHandler server-status` and `SetHandler portico-metrics`). */
#ifndef PORTICO_STATUS_H
#define PORTICO_STATUS_H

#include <stddef.h>
#include <stdint.h>

struct request;
struct slotmem;
struct conf;

enum status_format {
    STATUS_TEXT,      /* aligned columns (portico-status default) */
    STATUS_HTML,      /* server-status page */
    STATUS_AUTO,      /* httpd's server-status?auto fields */
    STATUS_JSON,      /* ?json, --json */
    STATUS_PROMETHEUS /* portico-metrics, --prometheus */
};

/* A growing output buffer (malloc'd; the caller frees buf). */
struct status_buf {
    char *buf;
    size_t len, cap;
    int oom;
};

struct status_source {
    const struct slotmem *scoreboard; /* may be NULL (no server) */
    const struct slotmem *balancers;  /* may be NULL (no balancer configured) */
    const struct conf *conf;          /* names of balancers and members; may be NULL in tools
                                       * that only have the segments */
    int extended;                     /* ExtendedStatus On: per-worker request details */
    int64_t now_ms;                   /* CLOCK_REALTIME */
    /* Added by status: the name on the first line of ?auto and in the HTML title (httpd
     * uses the request's host name); NULL = the scoreboard's ServerName. */
    const char *server_name;
};

/* Formats everything in the given format into out. Returns 0, or -1 when out of memory. */
int status_format(const struct status_source *src, enum status_format fmt, struct status_buf *out);

/* A member's status as mod_proxy's ap_proxy_parse_wstatus words ("Init Ok ", "Init Dis ",
 * ...) into out (returned); and whether those flags let it take traffic. Shared by the
 * status pages and the balancer-manager. */
const char *status_member_wstatus(char *out, size_t len, unsigned st);
int status_member_usable(unsigned st);

/* The handlers, dispatched by worker.c on r->handler. */
int status_handle_server_status(struct request *r, int64_t deadline);
int status_handle_metrics(struct request *r, int64_t deadline);

/* Added by status: ExtendedStatus of c. conf->extended_status is 0 when unset (= On, as
 * httpd 2.4 with mod_status loaded), 1 for Off, 2 for On. c NULL = On. */
int status_extended(const struct conf *c);

/* Added by review: the one escaper of every status and balancer-manager output. The text
 * goes to put(ctx, bytes, n) in runs. Bytes that are not UTF-8 (and, for HTML/XML, control
 * characters XML 1.0 forbids even as references) come out as U+FFFD, so a hostile route or
 * Host header cannot make the JSON, XML or exposition invalid. */
enum status_esc {
    STATUS_ESC_HTML, /* HTML and XML text and attribute values (both quote kinds) */
    STATUS_ESC_JSON, /* the inside of a JSON string; < > & as \u escapes too */
    STATUS_ESC_PROM  /* the inside of a Prometheus label value */
};
void status_escape(enum status_esc how, const char *s,
                   void (*put)(void *ctx, const char *bytes, size_t n), void *ctx);

/* The worker's segments (set by worker.c after fork; the balancer one is balancer_get_shm()). */
void status_set_scoreboard(const struct slotmem *sb);

#endif
