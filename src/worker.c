/* Worker process. Idle workers wait in epoll with EPOLLEXCLUSIVE on every listener, so a new
 * connection wakes one worker instead of all of them (the thundering-herd trap), and
 * accept() is non-blocking so a worker that loses the race simply waits again. */
#include "worker.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "arena.h"
#include "http_chunked.h"
#include "http_parse.h"
#include "io.h"
#include "log.h"
#include "balancer.h"
#include "balancer_manager.h"
#include "privdrop.h"
#include "proxy.h"
#include "route.h"
#include "env.h"
#include "respond.h"
#include "rewrite_map.h"
#include "scoreboard.h"
#include "static_file.h"
#include "uri_norm.h"
#include "secrule.h"
#include "setenvif.h"
#include "status.h"
#include "tls.h"
#include "tls_conf.h"
#include "util.h"
#include "vhost.h"

/* mod_reqtimeout's default: the whole request head within 20 s of its first byte. */
#define HEADER_TIMEOUT_MS 20000
/* A body we do not need is drained up to this size to keep the connection; larger ones
 * close it instead. */
#define DISCARD_MAX (1024 * 1024)

static volatile sig_atomic_t graceful;
#define GRACEFUL_IDLE_MS 1000 /* how long a retiring worker still waits on keep-alive */
/* An eventfd in the idle worker's epoll set: the USR1 handler writes it, so a graceful stop
 * that arrives between the flag test and epoll_wait() still wakes the worker, without
 * blocking and unblocking the signal around every wait. */
static int wake_fd = -1;

static struct {
    const struct conf *conf;
    struct sb_worker_slot *sb;
    struct arena *req_arena;
    char *buf;
    size_t buf_cap;
} W;

int worker_stopping(void)
{
    return graceful;
}

static void on_graceful(int sig)
{
    (void)sig;
    int saved = errno;
    graceful = 1;
    if (wake_fd >= 0) {
        uint64_t one = 1;
        (void)!write(wake_fd, &one, sizeof(one));
    }
    errno = saved;
}

static void sb_state(int state)
{
    if (W.sb != NULL)
        scoreboard_set_state(W.sb, state);
}

static void addr_to_text(const struct sockaddr_storage *ss, char *ip, size_t iplen, int *port)
{
    ip[0] = '\0';
    *port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &sin->sin_addr, ip, (socklen_t)iplen);
        *port = ntohs(sin->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &sin6->sin6_addr, ip, (socklen_t)iplen);
        *port = ntohs(sin6->sin6_port);
    }
}

static size_t head_cap(const struct conf_server *s)
{
    size_t fields = s->limit_request_fields > 0 ? (size_t)s->limit_request_fields : 1000;
    return (size_t)s->limit_request_line + 2 + fields * ((size_t)s->limit_request_fieldsize + 2) +
           2 + 64;
}

static const char *env_lookup(void *ctx, const char *name)
{
    const struct request *r = ctx;
    if (r->backend_name != NULL && strcmp(name, "BALANCER_WORKER_NAME") == 0)
        return r->backend_name;
    if (strncmp(name, "SSL:", 4) == 0) /* %{VAR}x (accesslog.c) */
        return tls_var(r->c->tls, name + 4, r->arena);
    return env_get(r, name);
}

static void access_log(struct request *r)
{
    const struct conf_server *s = r->srv != NULL ? r->srv : W.conf->main;
    const struct conf_customlog *logs = s->logs != NULL ? s->logs : W.conf->main->logs;
    if (logs == NULL)
        return;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    struct accesslog_info info = {
        .req = r->parsed ? &r->h : NULL,
        .request_line = r->parsed ? r->h.request_line : NULL,
        .client_ip = r->c->client_ip,
        .client_port = r->c->client_port,
        .local_ip = r->c->local_ip,
        .local_port = r->c->local_port,
        .canonical_port = s->server_port > 0 ? s->server_port : r->c->local_port,
        .vhost = s->server_name,
        .status = r->status,
        .original_status = r->status,
        .body_bytes = r->body_sent,
        .bytes_in = r->bytes_in,
        .bytes_out = r->bytes_out,
        .start = r->start,
        .duration_us = ((int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000) - r->start_mono_us,
        .resp_headers = r->resp_headers,
        .n_resp_headers = r->n_resp_headers,
        .env_get = env_lookup,
        .env_ctx = r,
        .handler = r->handler,
        .filename = r->filename,
        .keepalive_count = r->c->requests,
        .conn_status = r->c->aborted     ? 'X'
                       : r->c->keepalive ? '+'
                                         : '-',
    };
    char line[8192];
    sb_state(SB_STATE_LOG);
    for (const struct conf_customlog *l = logs; l; l = l->next) {
        if (l->fd < 0 || l->compiled == NULL)
            continue;
        if (l->env != NULL && (env_get(r, l->env) != NULL) == l->env_negate)
            continue; /* CustomLog ... env=[!]VAR */
        size_t n = accesslog_render(l->compiled, &info, line, sizeof(line));
        /* One write() per line on an O_APPEND fd: lines from many workers never mix. */
        if (write(l->fd, line, n) < 0)
            log_msg(MOD_LOG_CONFIG, LL_ERROR, errno, NULL, "writing access log %s", l->path);
    }
}

/* Drains a request body no handler reads, before the response as httpd's
 * ap_discard_request_body() does, so a malformed body is still answered 400 and the
 * connection can carry the next request. Returns 0 when drained, 1 when the body is too
 * large to be worth draining (the connection closes after the response instead), 400 for a
 * malformed chunked body, -1 when the client failed. */
static int discard_body(struct request *r, int64_t deadline)
{
    struct conn *c = r->c;
    if (r->h.chunked) {
        struct http_chunked ch;
        http_chunked_init(&ch, 0, 0);
        size_t total = 0;
        for (;;) {
            if (c->in_off < c->in_len) {
                size_t used = 0, produced = 0;
                int rc = http_chunked_decode(&ch, c->in + c->in_off, c->in_len - c->in_off, &used,
                                             c->in + c->in_off, &produced);
                c->in_off += used;
                total += used;
                if (rc == 1)
                    break;
                if (rc < 0)
                    return 400;
                if (total > DISCARD_MAX)
                    return 1;
            }
            c->in_off = c->in_len = 0;
            ssize_t n = tio_read(c->fd, c->tls, c->in, c->in_cap, deadline);
            if (n <= 0)
                return -1;
            c->in_len = (size_t)n;
            r->bytes_in += n;
        }
        r->body_consumed = 1;
        return 0;
    }
    long long left = r->h.content_length;
    if (left <= 0)
        return 0;
    if (left > DISCARD_MAX)
        return 1;
    size_t have = c->in_len - c->in_off;
    if ((long long)have >= left) {
        c->in_off += (size_t)left;
        r->body_consumed = 1;
        return 0;
    }
    left -= (long long)have;
    c->in_off = c->in_len = 0;
    while (left > 0) {
        ssize_t n = tio_read(c->fd, c->tls, c->in, c->in_cap, deadline);
        if (n <= 0)
            return -1;
        r->bytes_in += n;
        if (n > left) { /* pipelined bytes of the next request */
            c->in_off = (size_t)left;
            c->in_len = (size_t)n;
            left = 0;
        } else {
            left -= n;
        }
    }
    r->body_consumed = 1;
    return 0;
}

static int handle_trace(struct request *r, int64_t deadline)
{
    if (r->h.content_length > 0 || r->h.chunked)
        return respond_error(r, 413, NULL, deadline);
    /* Echo the head, as RFC 9110 9.3.8 describes. */
    char *echo = arena_printf(r->arena, "%s\r\n", r->h.request_line);
    for (int i = 0; echo != NULL && i < r->h.n_headers; i++)
        echo = arena_printf(r->arena, "%s%s: %s\r\n", echo, r->h.headers[i].name,
                            r->h.headers[i].value);
    if (echo == NULL)
        return respond_error(r, 500, NULL, deadline);
    struct resp_header h = {"Content-Type", "message/http"};
    return respond_send(r, 200, &h, 1, echo, strlen(echo), -1, deadline);
}

/* A disruptive SecRule answer: the body was not read, so the connection cannot be reused
 * unless there is none. */
static int refuse(struct request *r, int status, int64_t deadline)
{
    if (r->h.content_length > 0 || r->h.chunked)
        r->c->keepalive = 0;
    return respond_error(r, status, NULL, deadline);
}

/* SetHandler / [H=] for a local answer. */
static int run_handler(struct request *r, const char *handler, int64_t deadline)
{
    r->handler = handler;
    if (strcmp(handler, "server-status") == 0)
        return status_handle_server_status(r, deadline);
    if (strcmp(handler, "portico-metrics") == 0)
        return status_handle_metrics(r, deadline);
    if (strcmp(handler, "balancer-manager") == 0)
        return balancer_manager_handle(r, deadline);
    if (strcmp(handler, "proxy-server") == 0)
        return respond_error(r, 403, NULL, deadline); /* httpd: no proxy target */
    log_msg(MOD_CORE, LL_ERROR, 0, r->c->client_addr, "handler '%s' is not available", handler);
    return respond_error(r, 501, NULL, deadline);
}

/* Steps 3-9 of ARCHITECTURE.md for what exists so far: limits, normalisation, handler. */
static int handle_request(struct request *r, int64_t deadline)
{
    const struct conf_server *s = r->srv;
    if (r->h.path == NULL || r->h.path[0] != '/') {
        /* OPTIONS * (asterisk-form) is about the server itself. */
        if (r->h.m == HTTP_OPTIONS) {
            struct resp_header h = {"Allow", "GET, HEAD, OPTIONS, TRACE"};
            return respond_send(r, 200, &h, 1, NULL, 0, 0, deadline);
        }
        return respond_error(r, 400, NULL, deadline);
    }
    size_t len = strlen(r->h.path);
    char *norm = arena_alloc(r->arena, len + 1);
    size_t nlen = 0;
    if (norm == NULL)
        return respond_error(r, 500, NULL, deadline);
    int st = uri_normalise(r->h.path, len, norm, &nlen);
    if (st != 0)
        return respond_error(r, st, NULL, deadline);
    r->path = norm;
    if (r->h.m == HTTP_TRACE && s->trace_enable == 0)
        return respond_error(r, 405, NULL, deadline);
    /* The decoded form (httpd's r->uri) for SetEnvIf Request_URI and SecRule before routing
     * sets it for good; an undecodable path is answered by routing. */
    char *dec = arena_alloc(r->arena, nlen + 1);
    size_t dlen = 0;
    if (dec != NULL && uri_decode_all(norm, nlen, dec, &dlen) == 0 &&
        memchr(dec, 0, dlen) == NULL) {
        dec[dlen] = '\0';
        r->uri = dec;
    } else {
        r->uri = norm;
    }

    /* Steps 5: ModSecurity phase 1, then SetEnvIf (httpd's post_read_request order). */
    int sec = secrule_run(r, 1);
    if (sec != 0)
        return refuse(r, sec, deadline);
    setenvif_apply_server(r);

    /* The decision lives as long as the request: the access log and headers read it. */
    struct route_decision *d = arena_calloc(r->arena, 1, sizeof(*d));
    if (d == NULL)
        return respond_error(r, 500, NULL, deadline);
    route_request(W.conf, r, d);
    r->route = d;
    if (r->c->tls != NULL) {
        /* Before anything can reach a handler or the backend: 421 and client certificates. */
        int tst = tls_request_check(r, d, deadline);
        if (tst < 0)
            return -1;
        if (tst != 0)
            return refuse(r, tst, deadline);
        tls_export_env(r, d);
    }
    if (d->limit_request_body > 0 && r->h.content_length > d->limit_request_body)
        return respond_error(r, 413, NULL, deadline); /* a <Location>'s own limit */
    setenvif_apply_sections(r, d);
    env_apply(r, d);
    log_msg(MOD_PROXY, LL_DEBUG, 0, r->c->client_addr, "route %s: %s", r->path,
            d->why ? d->why : "-");
    sec = secrule_run(r, 2);
    if (sec != 0)
        return refuse(r, sec, deadline);
    if (d->outcome == ROUTE_PROXY) {
        r->handler = "proxy-server";
        return proxy_handle(r, d, deadline);
    }
    /* The balancer-manager reads its form body itself. */
    if (d->outcome == ROUTE_LOCAL && d->handler != NULL &&
        strcmp(d->handler, "balancer-manager") == 0)
        return run_handler(r, d->handler, deadline);
    /* Local handlers never read the body. With Expect: 100-continue the client waits for us:
     * answer without reading and close instead (RFC 9110 10.1.1). */
    if ((r->h.content_length > 0 || r->h.chunked) && !r->h.expect_continue) {
        int rc = discard_body(r, deadline);
        if (rc < 0) {
            r->c->aborted = 1;
            return -1;
        }
        if (rc == 400)
            return respond_error(r, 400, NULL, deadline);
    }
    if (d->outcome == ROUTE_STATUS)
        return respond_error(r, d->status, d->location, deadline);
    if (d->handler != NULL)
        return run_handler(r, d->handler, deadline);
    if (d->local_path != NULL)
        r->path = (char *)d->local_path;
    if (r->h.m == HTTP_TRACE)
        return handle_trace(r, deadline);
    if (s->document_root == NULL)
        return respond_error(r, 404, NULL, deadline);
    return static_file_handle(r, deadline);
}

/* Reads the first bytes of the next request on an idle keep-alive connection. Returns the
 * byte count, 0 on EOF, -1 on error, and IDLE_STOP on the deadline or when this worker is
 * told to stop. Every wait lasts at most a second (the signal may arrive just before it):
 * a plain connection waits inside recv() (one system call per request, io.h), a TLS one in
 * poll() because the session may hold buffered bytes. */
#define IDLE_STOP (-2)
static ssize_t idle_read(struct conn *c, void *buf, size_t len, int64_t deadline)
{
    if (c->tls != NULL && tio_pending(c->tls) > 0)
        return tio_read(c->fd, c->tls, buf, len, deadline);
    int64_t grace_end = 0;
    for (;;) {
        if (graceful) {
            /* A keep-alive client may be sending its next request right now: closing at
             * once would lose it (httpd prefork serves it). Give it a moment; that response
             * then carries Connection: close. */
            if (grace_end == 0)
                grace_end = util_now_ms() + GRACEFUL_IDLE_MS;
            if (deadline > grace_end)
                deadline = grace_end;
        }
        int64_t left = deadline - util_now_ms();
        if (left <= 0)
            return IDLE_STOP;
        int slice = left > IO_SLICE_MS ? IO_SLICE_MS : (int)left;
        if (c->tls == NULL && slice == IO_SLICE_MS) {
            ssize_t n = recv(c->fd, buf, len, 0); /* waits up to SO_RCVTIMEO */
            if (n >= 0)
                return n;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                return -1;
            continue;
        }
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int n = poll(&pfd, 1, slice);
        if (n > 0)
            return tio_read(c->fd, c->tls, buf, len, deadline);
        if (n < 0 && errno != EINTR)
            return -1;
    }
}

static void fill_sb_request(struct request *r)
{
    if (W.sb == NULL)
        return;
    scoreboard_set_text(W.sb->request, sizeof(W.sb->request), r->parsed ? r->h.request_line : "");
    scoreboard_set_text(W.sb->vhost, sizeof(W.sb->vhost),
                        r->srv && r->srv->server_name ? r->srv->server_name : "");
}

/* Lingering close, as httpd's ap_lingering_close: send our FIN, then read and discard what
 * the client still sends (an unread body, a pipelined request) until it closes, for at most
 * LINGER_MS and LINGER_MAX bytes. Closing with unread data would make the kernel answer
 * with a reset that can destroy the response still in flight. */
#define LINGER_MS  2000
#define LINGER_MAX (512 * 1024)
static void lingering_close(int fd, struct tls_session *tls, int nothing_unread)
{
    if (tls != NULL)
        tls_session_end(tls, fd, util_now_ms() + LINGER_MS / 2);
    /* Nothing more can come when the client closed its side, or when it asked to close (or
     * spoke HTTP/1.0 without keep-alive) and sent a request without a body that was read
     * whole (RFC 9112 9.6: it must not send another request): then the wait for its FIN
     * only costs a sleep and a wake-up. */
    if (!nothing_unread && shutdown(fd, SHUT_WR) == 0) {
        char sink[4096];
        int64_t deadline = util_now_ms() + LINGER_MS;
        size_t total = 0;
        while (total < LINGER_MAX) {
            ssize_t n = io_read(fd, sink, sizeof(sink), deadline);
            if (n <= 0)
                break;
            total += (size_t)n;
        }
    }
    close(fd);
}

/* The deadline of a head once its first byte is here: all of it within HEADER_TIMEOUT_MS and
 * Timeout (a first request's deadline already counts Timeout from the accept; a keep-alive
 * one's was KeepAliveTimeout, which only bounds the wait for that first byte). */
static int64_t head_deadline(const struct conf_server *s, int requests, int64_t deadline)
{
    int64_t now = util_now_ms();
    int64_t hd = now + HEADER_TIMEOUT_MS;
    int64_t td = now + (int64_t)s->timeout * 1000;
    if (requests > 0)
        return hd < td ? hd : td;
    return hd < deadline ? hd : deadline;
}

/* A listener bound to one address already tells the local end; a wildcard one needs asking. */
static int local_address(int fd, const struct conf_listener *l, struct sockaddr_storage *local)
{
    if (l->addr.ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)&l->addr;
        if (sin->sin_addr.s_addr != htonl(INADDR_ANY)) {
            memcpy(local, &l->addr, sizeof(*sin));
            return 0;
        }
    } else if (l->addr.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&l->addr;
        if (!IN6_IS_ADDR_UNSPECIFIED(&sin6->sin6_addr)) {
            memcpy(local, &l->addr, sizeof(*sin6));
            return 0;
        }
    }
    socklen_t llen = sizeof(*local);
    return getsockname(fd, (struct sockaddr *)local, &llen);
}

/* TCP_NODELAY and the slice timeouts come from the listener (master.c). */
static void serve_connection(int fd, const struct conf_listener *l,
                             const struct sockaddr_storage *peer)
{
    const struct conf *conf = W.conf;
    struct conn c = {.fd = fd, .conf = conf, .listener = l, .sb = W.sb};
    struct sockaddr_storage local;
    memset(&local, 0, sizeof(local));
    if (local_address(fd, l, &local) < 0) {
        close(fd);
        return;
    }
    addr_to_text(peer, c.client_ip, sizeof(c.client_ip), &c.client_port);
    addr_to_text(&local, c.local_ip, sizeof(c.local_ip), &c.local_port);
    snprintf(c.client_addr, sizeof(c.client_addr), "%s:%d", c.client_ip, c.client_port);
    int nothing_unread = 0; /* see lingering_close */
    if (W.sb != NULL) {
        scoreboard_set_text(W.sb->client, sizeof(W.sb->client), c.client_ip);
        atomic_fetch_add(&W.sb->connections, 1);
    }

    const struct conf_server *defsrv = vhost_select(conf, &local, NULL);
    if (conf->tls_state != NULL && tls_listener_is_tls(conf, l)) {
        sb_state(SB_STATE_READ);
        int64_t hs = util_now_ms() + (int64_t)defsrv->timeout * 1000;
        if (hs > util_now_ms() + HEADER_TIMEOUT_MS)
            hs = util_now_ms() + HEADER_TIMEOUT_MS;
        c.tls = tls_server_accept(fd, conf, l, &c.sni_srv, hs);
        if (c.tls == NULL) {
            sb_state(SB_STATE_CLOSING);
            lingering_close(fd, NULL, 0);
            return;
        }
    }
    c.in = W.buf;
    c.in_cap = W.buf_cap;
    struct http_limits lim = {defsrv->limit_request_line, defsrv->limit_request_fieldsize,
                              defsrv->limit_request_fields};

    for (;;) {
        arena_reset(W.req_arena);
        struct request r = {.c = &c, .arena = W.req_arena, .status = 0};
        const struct conf_server *s = defsrv;
        log_set_target(s->error_log_fd, &s->loglevel);

        /* Read the head: idle wait bounded by KeepAliveTimeout between requests, then the
         * whole head within HEADER_TIMEOUT_MS (and Timeout) of its first byte. */
        int64_t deadline = util_now_ms() + (c.requests == 0 ? (int64_t)s->timeout * 1000
                                                            : (int64_t)s->keepalive_timeout_ms);
        if (c.requests == 0 && deadline > util_now_ms() + HEADER_TIMEOUT_MS)
            deadline = util_now_ms() + HEADER_TIMEOUT_MS;
        ssize_t hl;
        int got_bytes = c.in_len > c.in_off;
        /* Part of a pipelined head is already here: it is being read, not idle. */
        if (got_bytes && c.requests > 0)
            deadline = head_deadline(s, c.requests, deadline);
        sb_state(c.requests == 0 || got_bytes ? SB_STATE_READ : SB_STATE_KEEPALIVE);
        int status = 0;
        for (;;) {
            hl = http_head_end(c.in + c.in_off, c.in_len - c.in_off, &lim);
            if (hl != 0)
                break;
            if (c.in_off > 0 && c.in_off == c.in_len)
                c.in_off = c.in_len = 0;
            if (c.in_len == c.in_cap) {
                if (c.in_off > 0) {
                    memmove(c.in, c.in + c.in_off, c.in_len - c.in_off);
                    c.in_len -= c.in_off;
                    c.in_off = 0;
                } else {
                    size_t cap = head_cap(s);
                    if (c.in_cap >= cap) {
                        hl = -431;
                        break;
                    }
                    size_t ncap = c.in_cap * 2 < cap ? c.in_cap * 2 : cap;
                    char *nb = realloc(c.in, ncap);
                    if (nb == NULL) {
                        hl = -500;
                        break;
                    }
                    W.buf = c.in = nb;
                    W.buf_cap = c.in_cap = ncap;
                }
            }
            /* A retiring worker drops an idle keep-alive connection, but always serves the
             * first request of one it accepted. */
            ssize_t n;
            if (!got_bytes && c.requests > 0) {
                n = idle_read(&c, c.in + c.in_len, c.in_cap - c.in_len, deadline);
                if (n == IDLE_STOP)
                    goto done;
            } else {
                n = tio_read(fd, c.tls, c.in + c.in_len, c.in_cap - c.in_len, deadline);
            }
            if (n == 0) {
                nothing_unread = 1;
                goto done;
            }
            if (n < 0) {
                if (errno == ETIMEDOUT && got_bytes) {
                    status = 408;
                    break;
                }
                goto done;
            }
            if (!got_bytes) {
                got_bytes = 1;
                clock_gettime(CLOCK_REALTIME, &r.start);
                sb_state(SB_STATE_READ);
                deadline = head_deadline(s, c.requests, deadline);
            }
            c.in_len += (size_t)n;
        }
        if (r.start.tv_sec == 0)
            clock_gettime(CLOCK_REALTIME, &r.start);
        struct timespec mono;
        clock_gettime(CLOCK_MONOTONIC, &mono);
        r.start_mono_us = (int64_t)mono.tv_sec * 1000000 + mono.tv_nsec / 1000;
        int64_t wdeadline = util_now_ms() + (int64_t)s->timeout * 1000;
        const char *reason = NULL;
        if (status == 0 && hl < 0)
            status = (int)-hl;
        if (status == 0) {
            r.bytes_in = hl;
            /* Parse a copy: the parser works in place and every r.h string points into it,
             * while c.in is reused for the body (reading a body into c.in would otherwise
             * rewrite the headers under our feet: a smuggling and response-splitting hole). */
            char *head = arena_alloc(r.arena, (size_t)hl + 1);
            if (head == NULL) {
                status = 500;
            } else {
                memcpy(head, c.in + c.in_off, (size_t)hl);
                head[hl] = '\0';
                status = http_parse_request(head, (size_t)hl, &lim, r.arena, &r.h, &reason);
            }
            c.in_off += (size_t)hl;
            if (status == 0)
                r.parsed = 1;
        }
        if (status != 0) {
            if (reason != NULL)
                log_msg(MOD_CORE, LL_INFO, 0, c.client_addr, "bad request: %s", reason);
            r.srv = defsrv;
            sb_state(SB_STATE_WRITE);
            respond_error(&r, status, NULL, wdeadline);
            access_log(&r);
            if (W.sb != NULL)
                atomic_fetch_add(&W.sb->requests, 1);
            goto done;
        }

        r.srv = s = vhost_select(conf, &local, r.h.host);
        log_set_target(s->error_log_fd, &s->loglevel);
        fill_sb_request(&r);
        sb_state(SB_STATE_WRITE);
        if (W.sb != NULL)
            atomic_store(&W.sb->req_start_ms,
                         (int64_t)r.start.tv_sec * 1000 + r.start.tv_nsec / 1000000);
        handle_request(&r, wdeadline);
        c.requests++;
        if (W.sb != NULL) {
            atomic_fetch_add(&W.sb->requests, 1);
            atomic_fetch_add(&W.sb->bytes, (uint64_t)r.bytes_out);
            clock_gettime(CLOCK_MONOTONIC, &mono);
            int64_t took = (int64_t)mono.tv_sec * 1000000 + mono.tv_nsec / 1000 - r.start_mono_us;
            atomic_store(&W.sb->req_time_us, (uint64_t)(took > 0 ? took : 0));
        }
        access_log(&r);
        if (!c.keepalive || c.aborted) {
            /* Only without a body: some clients send a stray CRLF after one (the reason
             * httpd lingers at all), and that byte arriving after close() means a reset. */
            nothing_unread = !c.aborted && r.h.conn_close && c.in_off == c.in_len &&
                             r.h.content_length <= 0 && !r.h.chunked;
            break;
        }
    }
done:
    sb_state(SB_STATE_CLOSING);
    lingering_close(fd, c.tls, nothing_unread);
}

void worker_main(const struct conf *conf, struct slotmem *sb, unsigned slot, unsigned generation)
{
    (void)generation;
    W.conf = conf;
    W.sb = sb != NULL ? scoreboard_slot(sb, slot) : NULL;
    if (W.sb != NULL) {
        atomic_store(&W.sb->balancer_busy, 0);
        balancer_set_busy_note(&W.sb->balancer_busy);
    }
    log_set_target(conf->main->error_log_fd, &conf->main->loglevel);
    status_set_scoreboard(sb);
    rewrite_maps_child_init(conf);

    wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct sigaction sa = {.sa_handler = on_graceful};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGTERM, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGWINCH, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    /* The master forks us with its signals blocked; unblock only now that the handlers
     * are in place, so a USR1 sent right after fork() retires us instead of killing us. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    char err[256];
    pid_t master = getppid();
    if (privdrop_child(conf, err, sizeof(err)) < 0) {
        log_msg(MOD_UNIXD, LL_ALERT, 0, NULL, "worker refuses to serve: %s", err);
        _exit(2);
    }
    /* Armed after the privilege drop: changing credentials clears the parent-death signal,
     * and a worker outliving its master would keep the listeners. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != master)
        _exit(0);
    W.req_arena = arena_create(16384);
    W.buf_cap = CONN_BUF_SIZE;
    W.buf = malloc(W.buf_cap);
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event wake = {.events = EPOLLIN, .data.ptr = NULL};
    if (W.req_arena == NULL || W.buf == NULL || ep < 0 || wake_fd < 0 ||
        epoll_ctl(ep, EPOLL_CTL_ADD, wake_fd, &wake) < 0) {
        /* A resource shortage: exit 1 so the master replaces us later. */
        log_msg(MOD_MPM_PREFORK, LL_ALERT, errno, NULL, "worker setup failed");
        _exit(1);
    }
    for (const struct conf_listener *l = conf->listeners; l; l = l->next) {
        struct epoll_event ev = {.events = EPOLLIN | EPOLLEXCLUSIVE, .data.ptr = (void *)l};
        if (epoll_ctl(ep, EPOLL_CTL_ADD, l->fd, &ev) < 0) {
            log_msg(MOD_MPM_PREFORK, LL_ALERT, errno, NULL, "epoll_ctl on %s", l->text);
            _exit(1);
        }
    }

    long conns = 0;
    for (;;) {
        if (conf->max_connections_per_child > 0 && conns >= conf->max_connections_per_child)
            break;
        sb_state(SB_STATE_READY);
        if (graceful)
            break;
        /* No timeout: a graceful stop writes wake_fd, and nothing else needs an idle
         * worker to wake up. */
        struct epoll_event evs[8];
        int n = epoll_wait(ep, evs, 8, -1);
        if (n <= 0)
            continue;
        for (int i = 0; i < n; i++) {
            const struct conf_listener *l = evs[i].data.ptr;
            if (l == NULL)
                continue; /* wake_fd: the loop checks the flag */
            struct sockaddr_storage peer;
            socklen_t plen;
            /* TLS goes through OpenSSL's non-blocking handshake and reads (tls.c). */
            int tls = conf->tls_state != NULL && tls_listener_is_tls(conf, l);
            int fd = io_accept(l->fd, &peer, &plen, !tls);
            if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE) {
                    log_msg(MOD_MPM_PREFORK, LL_ERROR, errno, NULL, "accept");
                    usleep(100000);
                }
                continue;
            }
            conns++;
            serve_connection(fd, l, &peer);
            break; /* re-check graceful and the connection limit */
        }
    }
    sb_state(SB_STATE_DEAD);
    proxy_pool_close_all();
    close(ep);
    free(W.buf);
    arena_destroy(W.req_arena);
    _exit(0);
}
