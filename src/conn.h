/* One client connection inside a worker, and the request being served on it. */
#ifndef PORTICO_CONN_H
#define PORTICO_CONN_H

#include <stdint.h>
#include <time.h>

#include "conf_types.h"
#include "http_types.h"

struct arena;
struct sb_worker_slot;

#define CONN_BUF_SIZE 16384 /* first allocation of the input buffer */

struct conn {
    int fd;
    const struct conf *conf;
    const struct conf_listener *listener;
    struct sb_worker_slot *sb; /* this worker's scoreboard slot, may be NULL */
    char client_ip[64];
    int client_port;
    char client_addr[80]; /* "ip:port" for the error log */
    char local_ip[64];
    int local_port;
    char *in; /* input buffer (heap, grows up to the head limit) */
    size_t in_cap;
    size_t in_len; /* bytes in buffer */
    size_t in_off; /* start of unparsed bytes (pipelining) */
    int requests;  /* served on this connection */
    int keepalive; /* decision for the response being sent */
    int aborted;
    struct tls_session *tls;           /* NULL = plain HTTP (tls.h) */
    const struct conf_server *sni_srv; /* vhost the TLS SNI name chose, NULL = none */
};

/* What the worker knows about one request while serving it. */
struct request {
    struct conn *c;
    struct arena *arena;
    struct http_request h;
    int parsed;                    /* h is valid */
    int body_consumed;             /* the handler read the request body */
    int error_page;                /* sending portico's own error page (Header always only) */
    const struct conf_server *srv; /* chosen virtual host */
    char *path;                    /* normalised path */
    const char *uri;               /* decoded URL-path (httpd's r->uri), set by routing */
    struct timespec start;         /* CLOCK_REALTIME */
    int64_t start_mono_us;
    int status;
    long long body_sent;
    long long bytes_out;
    long long bytes_in;
    struct http_header *resp_headers; /* recorded for %{X}o */
    int n_resp_headers;
    const char *handler;
    const char *filename;
    struct env_var *env;                /* env.h */
    const struct route_decision *route; /* set once routing decided */
    const char *backend_name;           /* proxied: worker name, for %{BALANCER_WORKER_NAME}e */
    void *secrule_tx; /* Added (secrule): ModSecurity transaction state (TX collection,
                       * MATCHED_VAR), private to secrule.c; NULL until a rule runs */
};

#endif
