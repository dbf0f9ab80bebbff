/* mod_log_config's LogFormat: compiled once at config load, rendered per request. */
#ifndef PORTICO_ACCESSLOG_H
#define PORTICO_ACCESSLOG_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "http_types.h"

struct arena;
struct accesslog_format;

/* Everything a log line may reference. Pointers may be NULL (printed as "-"). */
struct accesslog_info {
    const struct http_request *req; /* NULL when the head could not be parsed */
    const char *request_line;       /* raw first line, even for a 400 */
    const char *client_ip;
    int client_port;
    const char *local_ip;
    int local_port;
    int canonical_port;                     /* %p: the server's port */
    const char *vhost;                      /* %v: ServerName of the chosen server */
    int status;                             /* %>s final */
    int original_status;                    /* %s */
    long long body_bytes;                   /* %b/%B: response body bytes sent */
    long long bytes_in;                     /* %I */
    long long bytes_out;                    /* %O */
    struct timespec start;                  /* CLOCK_REALTIME when the request began (for %t) */
    int64_t duration_us;                    /* %D, %T */
    const struct http_header *resp_headers; /* %{X}o */
    int n_resp_headers;
    const char *(*env_get)(void *ctx, const char *name); /* %{X}e */
    void *env_ctx;
    const char *handler;     /* %R */
    const char *filename;    /* %f */
    const char *remote_user; /* %u */
    int keepalive_count;     /* %k */
    char conn_status;        /* %X: 'X' aborted, '+' keep-alive, '-' close */
};

/* Compiles a LogFormat string. Returns NULL with an error message in err for an unknown
 * %-directive or bad modifier. The result lives in `a`. */
struct accesslog_format *accesslog_compile(struct arena *a, const char *fmt, char *err,
                                           size_t errlen);

/* Renders one line including the trailing '\n' into buf, NUL-terminated after the '\n'
 * (not counted). Returns its length; a line that does not fit is truncated (never inside an
 * escape sequence) but still ends in '\n' (cap must be >= 2). Allocates nothing. */
size_t accesslog_render(const struct accesslog_format *f, const struct accesslog_info *info,
                        char *buf, size_t cap);

#endif
