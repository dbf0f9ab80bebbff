/* The forwarding engine (ARCHITECTURE.md request step 10): one proxied request, from the
 * backend connection to the last byte relayed back.
 *
 * Memory stays flat whatever the body sizes: bodies move through one I/O buffer per worker
 * process (ProxyIOBufferSize, allocated once and only ever grown), the client's input buffer
 * and a per-request arena for the heads. Every wait has its own deadline: backend I/O the
 * worker's timeout (timeout= -> ProxyTimeout -> Timeout), client I/O the server's Timeout.
 *
 * Request bodies: up to one I/O buffer is read ahead before the backend is contacted. A body
 * that fits goes out with Content-Length (also when the client sent it chunked, as httpd
 * does below its 16 KiB spool size) and can be sent again on a fresh connection when a
 * pooled one turns out dead. Longer bodies stream: Content-Length as received, chunked
 * re-framed chunk by chunk.
 *
 * Expect: 100-continue is answered by portico itself, just before it first waits for body
 * bytes from the client, and not forwarded: the backend never sees Expect and its own
 * 100 Continue (should it send one anyway) is dropped. Other 1xx (102, 103) are relayed to
 * HTTP/1.1 clients. httpd instead forwards the expectation (Proxy100Continue On); ours cannot
 * deadlock on a backend that ignores Expect and costs no extra round trip.
 *
 * Response bodies: Content-Length is relayed as is; chunked and close-delimited bodies are
 * re-chunked for HTTP/1.1 clients (so the client connection survives a close-delimited
 * response), sent close-delimited to HTTP/1.0 clients. A backend failure mid-body can only
 * end the client connection: the status is already out. */
#include "config.h"

#include "proxy.h"

#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "backend_pool.h"
#include "headers.h"
#include "http_chunked.h"
#include "http_parse.h"
#include "http_response.h"
#include "io.h"
#include "log.h"
#include "proxy_reverse.h"
#include "respond.h"
#include "util.h"

#define IOBUF_DEFAULT 8192
#define IOBUF_MIN     512
#define HEAD_FIRST    8192
/* A backend error body replaced by ProxyErrorOverride is read and dropped up to this size to
 * keep the backend connection; a longer one costs a new connection instead. */
#define DRAIN_MAX (256 * 1024)

/* Outcome of a step: 0 done; a status (400..599) to answer with portico's error page; a
 * retry on a fresh backend connection; or the client connection is gone. */
#define PX_OK          0
#define PX_CLIENT_GONE (-1)
#define PX_RETRY       (-2)

enum out_mode { OUT_NONE, OUT_LENGTH, OUT_CHUNKED, OUT_CLOSE };

/* The one I/O buffer of this worker process. */
static char *iobuf;
static size_t iobuf_cap;

struct px {
    struct request *r;
    const struct route_decision *d;
    struct conn *c;
    const struct proxy_worker *w;
    const struct proxy_srv_conf *psc; /* may be NULL: defaults */
    unsigned n_workers;
    int timeout_ms;
    int connect_timeout_ms;
    int client_timeout_ms;
    /* request */
    char *head; /* request line and headers, no framing, no final CRLF */
    size_t head_len;
    const char *upgrade; /* protocol(s) offered to the backend for a tunnel, or NULL */
    int has_body;
    int body_chunked;  /* client sent chunked */
    int body_complete; /* the whole body is in iobuf[0..plen) */
    size_t plen;
    long long cl_left; /* Content-Length body: bytes still to read from the client */
    struct http_chunked ch;
    long long body_total; /* decoded body bytes (LimitRequestBody for chunked) */
    int sent_100;
    int body_started; /* some body bytes went to a backend: no replay possible */
    /* backend */
    int bfd;
    int reused;
    int reusable; /* the backend connection may go back to the pool */
    int poisoned; /* ...unless this says the request did not reach it cleanly */
};

static int64_t bdl(const struct px *p)
{
    return util_now_ms() + p->timeout_ms;
}

static int64_t cdl(const struct px *p)
{
    return util_now_ms() + p->client_timeout_ms;
}

static int iobuf_ensure(size_t want)
{
    if (iobuf_cap >= want)
        return 0;
    char *n = realloc(iobuf, want);
    if (n == NULL)
        return -1;
    iobuf = n;
    iobuf_cap = want;
    return 0;
}

void proxy_pool_close_all(void)
{
    backend_pool_close_all();
}

static const char *hdr_get(const struct request *r, const char *name)
{
    return http_header_get(&r->h, name);
}

/* Names listed in any Connection header of the request. */
static int listed_in_connection(const struct http_header *h, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (util_strcaseeq(h[i].name, "Connection") && http_token_list_has(h[i].value, name))
            return 1;
    return 0;
}

static int is_idempotent(enum http_method m)
{
    return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_PUT || m == HTTP_DELETE ||
           m == HTTP_OPTIONS || m == HTTP_TRACE;
}

/* ---------------------------------------------------------------- the backend request */

/* Growable arena string. */
struct sbuf {
    struct arena *a;
    char *s;
    size_t len, cap;
    int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 1024;
        while (ncap < b->len + n + 1)
            ncap *= 2;
        char *ns = arena_alloc(b->a, ncap);
        if (ns == NULL) {
            b->oom = 1;
            return;
        }
        if (b->len)
            memcpy(ns, b->s, b->len);
        b->s = ns;
        b->cap = ncap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static void sb_hdr(struct sbuf *b, const char *name, const char *value)
{
    sb_str(b, name);
    sb_add(b, ": ", 2);
    sb_str(b, value);
    sb_add(b, "\r\n", 2);
}

/* Request headers that describe this hop only, or that portico regenerates. */
static int request_hop_header(const char *name)
{
    static const char *const hop[] = {
        "Host",  "Connection", "Keep-Alive",        "Proxy-Connection", "Proxy-Authorization",
        "TE",    "Trailer",    "Transfer-Encoding", "Content-Length",   "Upgrade",
        "Expect"};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (util_strcaseeq(name, hop[i]))
            return 1;
    return 0;
}

static const char *via_value(struct px *p, struct arena *a)
{
    const struct request *r = p->r;
    const char *name = r->srv->server_name ? r->srv->server_name : r->c->local_ip;
    int port = r->srv->server_port > 0 ? r->srv->server_port : r->c->local_port;
    char portbuf[16] = "";
    if (port != 80 && port > 0)
        snprintf(portbuf, sizeof(portbuf), ":%d", port);
    const char *ver = r->h.version == 10 ? "1.0" : "1.1";
    if (p->psc && p->psc->via == 2)
        return arena_printf(a, "%s %s%s (%s)", ver, name, portbuf,
                            respond_server_token(r->c->conf));
    return arena_printf(a, "%s %s%s", ver, name, portbuf);
}

/* Request line and headers for the backend (framing and Connection come at send time).
 * Returns 0 or a status. */
static int build_request_head(struct px *p)
{
    struct request *r = p->r;
    const struct http_header *h = r->h.headers;
    int n = r->h.n_headers;
    struct sbuf b = {.a = r->arena};
    int via = p->psc ? p->psc->via : 0;

    sb_str(&b, r->h.method);
    sb_add(&b, " ", 1);
    sb_str(&b, p->d->backend_target && p->d->backend_target[0] ? p->d->backend_target : "/");
    sb_add(&b, " HTTP/1.1\r\n", 11);

    /* Host first, as httpd sends it. */
    const char *host = p->w->hostport;
    if (p->d->preserve_host > 0)
        host = r->h.host ? r->h.host : r->srv->server_name;
    if (host == NULL)
        host = p->w->host;
    sb_hdr(&b, "Host", host);

    char *done = arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), 1);
    if (done == NULL)
        return 500;
    int have_xff = 0, have_xfh = 0, have_xfs = 0;
    for (int i = 0; i < n; i++) {
        if (done[i])
            continue;
        const char *name = h[i].name;
        if (request_hop_header(name) || listed_in_connection(h, n, name))
            continue;
        if (util_strcaseeq(name, "Via") && via == 3)
            continue; /* ProxyVia Block */
        if (util_strcaseeq(name, "Max-Forwards")) {
            long long mf;
            if (util_parse_ll(h[i].value, 0, LLONG_MAX, &mf) < 0 || mf == 0)
                return 400; /* httpd: "Max-Forwards has reached zero - proxy loop?" */
            sb_hdr(&b, name, arena_printf(r->arena, "%lld", mf - 1));
            continue;
        }
        /* Duplicates travel as one line, joined in order (what httpd's core does to a
         * request's headers); Cookie with "; ", the separator its syntax needs. */
        const char *sep = util_strcaseeq(name, "Cookie") ? "; " : ", ";
        sb_str(&b, name);
        sb_add(&b, ": ", 2);
        sb_str(&b, h[i].value);
        for (int j = i + 1; j < n; j++)
            if (!done[j] && util_strcaseeq(h[j].name, name)) {
                sb_str(&b, sep);
                sb_str(&b, h[j].value);
                done[j] = 1;
            }
        int add_xf = p->d->add_headers > 0;
        if (add_xf && util_strcaseeq(name, "X-Forwarded-For")) {
            sb_add(&b, ", ", 2);
            sb_str(&b, r->c->client_ip);
            have_xff = 1;
        } else if (add_xf && util_strcaseeq(name, "X-Forwarded-Host") && r->h.host) {
            sb_add(&b, ", ", 2);
            sb_str(&b, r->h.host);
            have_xfh = 1;
        } else if (add_xf && util_strcaseeq(name, "X-Forwarded-Server") && r->srv->server_name) {
            sb_add(&b, ", ", 2);
            sb_str(&b, r->srv->server_name);
            have_xfs = 1;
        } else if (util_strcaseeq(name, "Via") && (via == 1 || via == 2)) {
            sb_add(&b, ", ", 2);
            sb_str(&b, via_value(p, r->arena));
            via = 0; /* added */
        }
        sb_add(&b, "\r\n", 2);
    }
    if (via == 1 || via == 2)
        sb_hdr(&b, "Via", via_value(p, r->arena));
    if (p->d->add_headers > 0) {
        if (!have_xff)
            sb_hdr(&b, "X-Forwarded-For", r->c->client_ip);
        if (!have_xfh && r->h.host)
            sb_hdr(&b, "X-Forwarded-Host", r->h.host);
        if (!have_xfs && r->srv->server_name)
            sb_hdr(&b, "X-Forwarded-Server", r->srv->server_name);
    }
    if (b.oom)
        return 500;
    p->head = b.s;
    p->head_len = b.len;
    return 0;
}

/* ------------------------------------------------------------- reading the client body */

/* Refills the client input buffer (empty by then). Sends 100 Continue first when the
 * client waits for it. Returns bytes read, or PX_CLIENT_GONE. */
static int client_fill(struct px *p)
{
    struct conn *c = p->c;
    if (p->r->h.expect_continue && p->r->h.version >= 11 && !p->sent_100) {
        static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
        p->sent_100 = 1;
        if (io_write_all(c->fd, cont, sizeof(cont) - 1, cdl(p)) < 0)
            return PX_CLIENT_GONE;
        p->r->bytes_out += (long long)sizeof(cont) - 1;
    }
    c->in_off = c->in_len = 0;
    ssize_t n = io_read(c->fd, c->in, c->in_cap, cdl(p));
    if (n <= 0) {
        log_msg(MOD_PROXY, LL_INFO, n < 0 ? errno : 0, c->client_addr,
                "client stopped sending the request body for %s", p->d->url);
        return PX_CLIENT_GONE;
    }
    c->in_len = (size_t)n;
    p->r->bytes_in += n;
    return (int)n;
}

/* Moves body bytes into out[0..cap): raw for Content-Length, decoded for chunked. Stops at
 * the end of the body or when out is full; reads from the client only when it has nothing
 * buffered and produced nothing yet. *got = bytes placed in out, *end = body complete.
 * Returns 0, 400 (malformed chunked), 413 (over LimitRequestBody) or PX_CLIENT_GONE. */
static int body_take(struct px *p, char *out, size_t cap, size_t *got, int *end)
{
    struct conn *c = p->c;
    *got = 0;
    *end = 0;
    for (;;) {
        if (!p->body_chunked) {
            if (p->cl_left == 0) {
                *end = 1;
                return 0;
            }
        }
        size_t avail = c->in_len - c->in_off;
        if (avail == 0) {
            if (*got > 0)
                return 0;
            int rc = client_fill(p);
            if (rc < 0)
                return rc;
            continue;
        }
        size_t room = cap - *got;
        if (room == 0)
            return 0;
        if (!p->body_chunked) {
            size_t n = avail < room ? avail : room;
            if ((long long)n > p->cl_left)
                n = (size_t)p->cl_left;
            memcpy(out + *got, c->in + c->in_off, n);
            c->in_off += n;
            *got += n;
            p->cl_left -= (long long)n;
            continue;
        }
        /* chunked: the decoder's output never exceeds its input, so feeding at most `room`
         * bytes keeps it inside out */
        size_t feed = avail < room ? avail : room;
        size_t used = 0, made = 0;
        int rc = http_chunked_decode(&p->ch, c->in + c->in_off, feed, &used, out + *got, &made);
        c->in_off += used;
        *got += made;
        p->body_total += (long long)made;
        const struct conf_server *s = p->r->srv;
        if (s->limit_request_body > 0 && p->body_total > s->limit_request_body)
            return 413;
        if (rc < 0) {
            log_msg(MOD_PROXY, LL_INFO, 0, c->client_addr, "malformed chunked request body");
            return 400;
        }
        if (rc == 1) {
            *end = 1;
            return 0;
        }
    }
}

/* Reads ahead up to one I/O buffer of body before contacting the backend. */
static int prefetch_body(struct px *p)
{
    p->plen = 0;
    p->body_complete = !p->has_body;
    if (!p->has_body)
        return 0;
    while (p->plen < iobuf_cap) {
        size_t got;
        int end;
        int rc = body_take(p, iobuf + p->plen, iobuf_cap - p->plen, &got, &end);
        if (rc != 0)
            return rc;
        p->plen += got;
        if (end) {
            p->body_complete = 1;
            p->r->body_consumed = 1;
            return 0;
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- backend connection */

static int backend_open(struct px *p, int allow_pool)
{
    const struct proxy_worker *w = p->w;
    p->reused = 0;
    if (allow_pool) {
        int fd = backend_pool_get(w, p->n_workers);
        if (fd >= 0) {
            p->bfd = fd;
            p->reused = 1;
            return 0;
        }
    }
    int fd = io_connect((const struct sockaddr *)&w->addr, w->addrlen,
                        util_now_ms() + p->connect_timeout_ms);
    if (fd < 0) {
        int err = errno;
        log_msg(MOD_PROXY, LL_ERROR, err, p->c->client_addr,
                "attempt to connect to %s:%d for %s failed", w->host, w->port, p->d->url);
        log_msg(MOD_PROXY, LL_ERROR, 0, NULL, "worker %s put into error state for %d s", w->name,
                (w->retry_ms >= 0 ? w->retry_ms : 60000) / 1000);
        backend_pool_set_error(w, p->n_workers);
        return 503;
    }
    backend_pool_clear_error(w, p->n_workers);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (w->keepalive > 0)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    p->bfd = fd;
    return 0;
}

static void backend_close(struct px *p)
{
    if (p->bfd >= 0)
        close(p->bfd);
    p->bfd = -1;
}

/* Sends one chunk (size line, data, CRLF) to fd. */
static int write_chunk(int fd, const char *data, size_t n, int64_t deadline)
{
    char line[32];
    int l = snprintf(line, sizeof(line), "%zx\r\n", n);
    struct iovec iov[3] = {{line, (size_t)l}, {(void *)data, n}, {(void *)"\r\n", 2}};
    return io_writev_all(fd, iov, 3, deadline);
}

/* A write to the backend failed: retry, 504 for a timeout, 502 otherwise (httpd). */
static int send_failed(struct px *p, int retryable)
{
    int err = errno;
    if (p->reused && retryable) {
        log_msg(MOD_PROXY, LL_DEBUG, err, p->c->client_addr,
                "reused connection to %s failed, retrying on a new one", p->w->name);
        return PX_RETRY;
    }
    log_msg(MOD_PROXY, LL_ERROR, err, p->c->client_addr, "pass request body failed to %s",
            p->d->url);
    return err == ETIMEDOUT ? 504 : 502;
}

/* Head, read-ahead body, and the rest of the body. Returns PX_OK, PX_RETRY, a status or
 * PX_CLIENT_GONE. */
static int send_request(struct px *p)
{
    struct request *r = p->r;
    struct sbuf b = {.a = r->arena};
    sb_add(&b, p->head, p->head_len);
    int stream_chunked = 0;
    if (p->has_body || r->h.content_length >= 0) {
        if (p->body_complete)
            sb_str(&b, arena_printf(r->arena, "Content-Length: %zu\r\n", p->plen));
        else if (!p->body_chunked)
            sb_str(&b, arena_printf(r->arena, "Content-Length: %lld\r\n", r->h.content_length));
        else {
            sb_str(&b, "Transfer-Encoding: chunked\r\n");
            stream_chunked = 1;
        }
    }
    if (p->upgrade) {
        sb_str(&b, "Connection: Upgrade\r\n");
        sb_hdr(&b, "Upgrade", p->upgrade);
    } else if (p->w->disablereuse > 0) {
        sb_str(&b, "Connection: close\r\n");
    }
    sb_add(&b, "\r\n", 2);
    if (b.oom)
        return 500;

    /* A failure before the backend has any of this request is safe to repeat when
     * nothing is lost: no body, or an idempotent request whose body we still hold. */
    int retryable = !p->has_body || (p->body_complete && is_idempotent(r->h.m));
    char line[32];
    struct iovec iov[4];
    int niov = 0;
    iov[niov++] = (struct iovec){b.s, b.len};
    if (p->plen > 0) {
        if (stream_chunked) {
            int l = snprintf(line, sizeof(line), "%zx\r\n", p->plen);
            iov[niov++] = (struct iovec){line, (size_t)l};
            iov[niov++] = (struct iovec){iobuf, p->plen};
            iov[niov++] = (struct iovec){(void *)"\r\n", 2};
        } else {
            iov[niov++] = (struct iovec){iobuf, p->plen};
        }
    }
    if (io_writev_all(p->bfd, iov, niov, bdl(p)) < 0)
        return send_failed(p, retryable);
    if (p->body_complete)
        return PX_OK;

    /* Stream the rest: from here on the body cannot be replayed. */
    p->body_started = 1;
    for (;;) {
        size_t got;
        int end;
        int rc = body_take(p, iobuf, iobuf_cap, &got, &end);
        if (rc != 0)
            return rc;
        if (got > 0) {
            int w = stream_chunked ? write_chunk(p->bfd, iobuf, got, bdl(p))
                                   : io_write_all(p->bfd, iobuf, got, bdl(p));
            if (w < 0)
                return send_failed(p, 0);
        }
        if (end)
            break;
    }
    r->body_consumed = 1;
    if (stream_chunked && io_write_all(p->bfd, "0\r\n\r\n", 5, bdl(p)) < 0)
        return send_failed(p, 0);
    return PX_OK;
}

/* ---------------------------------------------------------------- the backend response */

static void response_limits(const struct px *p, struct http_response_limits *lim)
{
    *lim = (struct http_response_limits){0, 0, 0, p->psc ? p->psc->bad_header : 0};
}

/* Reads one response head. pending/npending: bytes already read (after a 1xx). On success
 * rest/nrest get the bytes read past the head. Returns PX_OK, PX_RETRY or 502. */
static int read_head(struct px *p, const char *pending, size_t npending, int retryable,
                     struct http_response *resp, char **rest, size_t *nrest)
{
    struct arena *a = p->r->arena;
    struct http_response_limits lim;
    response_limits(p, &lim);
    size_t cap = HEAD_FIRST > npending * 2 ? HEAD_FIRST : npending * 2;
    char *hb = arena_alloc(a, cap);
    if (hb == NULL)
        return 500;
    size_t len = 0;
    if (npending) {
        memcpy(hb, pending, npending);
        len = npending;
    }
    ssize_t hl;
    for (;;) {
        hl = http_response_head_end(hb, len, &lim);
        if (hl != 0)
            break;
        if (len == cap) {
            char *nb = arena_alloc(a, cap * 2);
            if (nb == NULL)
                return 500;
            memcpy(nb, hb, len);
            hb = nb;
            cap *= 2;
        }
        ssize_t n = io_read(p->bfd, hb + len, cap - len, bdl(p));
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            if (len == 0 && p->reused && retryable && err != ETIMEDOUT) {
                log_msg(MOD_PROXY, LL_DEBUG, err, p->c->client_addr,
                        "reused connection to %s closed before a response, retrying", p->w->name);
                return PX_RETRY;
            }
            log_msg(MOD_PROXY_HTTP, LL_ERROR, err, p->c->client_addr,
                    "error reading status line from remote server %s:%d for %s%s", p->w->host,
                    p->w->port, p->d->url, n == 0 ? ": connection closed" : "");
            return 502;
        }
        len += (size_t)n;
    }
    const char *why = NULL;
    if (hl < 0 ||
        http_response_parse(hb, (size_t)hl, &lim, p->r->h.m == HTTP_HEAD, a, resp, &why) < 0) {
        log_msg(MOD_PROXY_HTTP, LL_ERROR, 0, p->c->client_addr, "invalid response from %s: %s",
                p->d->url, why ? why : "bad status line or head");
        return 502;
    }
    *rest = hb + resp->head_len;
    *nrest = len - resp->head_len;
    return PX_OK;
}

/* Response headers that describe the backend hop only, or that portico re-derives. */
static int response_hop_header(const char *name)
{
    static const char *const hop[] = {
        "Connection", "Keep-Alive", "Proxy-Connection",  "Proxy-Authenticate", "TE",
        "Trailer",    "Upgrade",    "Transfer-Encoding", "Content-Length"};
    for (size_t i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
        if (util_strcaseeq(name, hop[i]))
            return 1;
    return 0;
}

static const char *http_date(char *buf, size_t len)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, len, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return buf;
}

/* The end-to-end headers of resp, as the client will see them (before mod_headers). */
static int client_headers(struct px *p, const struct http_response *resp, int keep_upgrade,
                          struct http_header **out, int *nout)
{
    struct arena *a = p->r->arena;
    struct http_header *h = arena_alloc(a, sizeof(*h) * (size_t)(resp->n_headers + 1));
    if (h == NULL)
        return -1;
    int n = 0;
    struct proxy_front front;
    proxy_front_init(&front, p->r);
    for (int i = 0; i < resp->n_headers; i++) {
        const struct http_header *src = &resp->headers[i];
        if (keep_upgrade && util_strcaseeq(src->name, "Upgrade")) {
            h[n++] = *src;
            continue;
        }
        if (response_hop_header(src->name) ||
            listed_in_connection(resp->headers, resp->n_headers, src->name))
            continue;
        h[n] = *src;
        /* ProxyPassReverse (httpd maps Destination too) and the cookie maps */
        const char *mapped = NULL;
        if (util_strcaseeq(src->name, "Location") ||
            util_strcaseeq(src->name, "Content-Location") || util_strcaseeq(src->name, "URI") ||
            util_strcaseeq(src->name, "Destination"))
            mapped = proxy_reverse_location(a, p->r->srv, p->d, &front, src->value);
        else if (util_strcaseeq(src->name, "Set-Cookie"))
            mapped = proxy_reverse_cookie(a, p->r->srv, p->d, src->value);
        if (mapped != NULL && mapped != src->value) { /* NULL: out of memory, keep it */
            h[n].value = (char *)mapped;
            h[n].value_len = strlen(mapped);
        }
        n++;
    }
    *out = h;
    *nout = n;
    return 0;
}

/* Writes the client's response head. Returns 0 or PX_CLIENT_GONE. */
static int send_client_head(struct px *p, const struct http_response *resp, enum out_mode mode,
                            long long out_cl)
{
    struct request *r = p->r;
    struct conn *c = p->c;
    struct http_header *h;
    int n;
    int status = resp->status;
    if (client_headers(p, resp, 0, &h, &n) < 0)
        return 500;
    if (headers_apply_response(r, p->d, status, &h, &n) < 0)
        return 500;
    respond_decide_keepalive(r, status, mode != OUT_CLOSE);

    struct sbuf b = {.a = r->arena};
    const char *reason = resp->reason && resp->reason[0] ? resp->reason : http_reason(status);
    sb_str(&b, arena_printf(r->arena, "HTTP/1.1 %d %s\r\n", status, reason));
    int have_date = 0, have_server = 0;
    for (int i = 0; i < n; i++) {
        if (util_strcaseeq(h[i].name, "Date"))
            have_date = 1;
        else if (util_strcaseeq(h[i].name, "Server"))
            have_server = 1;
    }
    /* The backend's Date and Server pass through; ours only fill in (httpd). */
    char date[40];
    if (!have_date)
        sb_hdr(&b, "Date", http_date(date, sizeof(date)));
    if (!have_server)
        sb_hdr(&b, "Server", respond_server_token(c->conf));
    int via = p->psc ? p->psc->via : 0;
    int via_done = 0;
    for (int i = 0; i < n; i++) {
        if (util_strcaseeq(h[i].name, "Via") && (via == 1 || via == 2) && !via_done) {
            sb_hdr(&b, "Via", arena_printf(r->arena, "%s, %s", h[i].value, via_value(p, r->arena)));
            via_done = 1;
            continue;
        }
        if (util_strcaseeq(h[i].name, "Via") && via == 3)
            continue;
        sb_hdr(&b, h[i].name, h[i].value);
    }
    if ((via == 1 || via == 2) && !via_done)
        sb_hdr(&b, "Via", via_value(p, r->arena));
    if (mode == OUT_LENGTH || (mode == OUT_NONE && out_cl >= 0))
        sb_str(&b, arena_printf(r->arena, "Content-Length: %lld\r\n", out_cl));
    else if (mode == OUT_CHUNKED)
        sb_str(&b, "Transfer-Encoding: chunked\r\n");
    const struct conf_server *s = r->srv;
    if (!c->keepalive)
        sb_str(&b, "Connection: close\r\n");
    else if (r->h.version == 10)
        sb_str(&b, arena_printf(
                       r->arena, "Keep-Alive: timeout=%d, max=%d\r\nConnection: Keep-Alive\r\n",
                       (s->keepalive_timeout_ms + 999) / 1000,
                       s->max_keepalive_requests > 0 ? s->max_keepalive_requests - c->requests - 1
                                                     : 100));
    sb_add(&b, "\r\n", 2);
    if (b.oom)
        return 500;
    r->status = status;
    r->resp_headers = h;
    r->n_resp_headers = n;
    if (io_write_all(c->fd, b.s, b.len, cdl(p)) < 0) {
        c->aborted = 1;
        return PX_CLIENT_GONE;
    }
    r->bytes_out += (long long)b.len;
    return 0;
}

/* Relays a 102/103 interim response to an HTTP/1.1 client. */
static int send_interim(struct px *p, const struct http_response *resp)
{
    struct request *r = p->r;
    if (r->h.version < 11 || resp->status == 100)
        return 0;
    struct http_header *h;
    int n;
    if (client_headers(p, resp, 0, &h, &n) < 0)
        return 500;
    struct sbuf b = {.a = r->arena};
    sb_str(&b, arena_printf(r->arena, "HTTP/1.1 %d %s\r\n", resp->status,
                            resp->reason && resp->reason[0] ? resp->reason
                                                            : http_reason(resp->status)));
    for (int i = 0; i < n; i++)
        sb_hdr(&b, h[i].name, h[i].value);
    sb_add(&b, "\r\n", 2);
    if (b.oom)
        return 500;
    if (io_write_all(p->c->fd, b.s, b.len, cdl(p)) < 0) {
        p->c->aborted = 1;
        return PX_CLIENT_GONE;
    }
    r->bytes_out += (long long)b.len;
    return 0;
}

/* Client write of body bytes in the chosen framing. */
static int client_body_write(struct px *p, enum out_mode mode, const char *data, size_t n)
{
    if (n == 0)
        return 0;
    int rc = mode == OUT_CHUNKED ? write_chunk(p->c->fd, data, n, cdl(p))
                                 : io_write_all(p->c->fd, data, n, cdl(p));
    if (rc < 0) {
        log_msg(MOD_PROXY, LL_INFO, errno, p->c->client_addr,
                "client went away while receiving the response from %s", p->d->url);
        p->c->aborted = 1;
        return PX_CLIENT_GONE;
    }
    p->r->body_sent += (long long)n;
    p->r->bytes_out += (long long)n + (mode == OUT_CHUNKED ? 8 : 0);
    return 0;
}

/* The backend failed mid-body: nothing can be said to the client any more. */
static int body_broken(struct px *p, const char *what, int err)
{
    log_msg(MOD_PROXY_HTTP, LL_ERROR, err, p->c->client_addr,
            "%s while reading the response body from %s", what, p->d->url);
    p->c->keepalive = 0;
    p->c->aborted = 1;
    p->reusable = 0;
    return PX_CLIENT_GONE;
}

/* Relays the body of resp; rest/nrest are body bytes already read with the head. */
static int relay_body(struct px *p, const struct http_response *resp, enum out_mode mode,
                      char *rest, size_t nrest)
{
    if (resp->framing == HTTP_BODY_NONE) {
        p->reusable = nrest == 0; /* bytes after a body-less response break framing */
        return 0;
    }
    if (resp->framing == HTTP_BODY_LENGTH) {
        long long left = resp->content_length;
        size_t first = (long long)nrest > left ? (size_t)left : nrest;
        if (nrest > first)
            p->reusable = 0; /* the backend sent more than it announced */
        int rc = client_body_write(p, mode, rest, first);
        if (rc < 0)
            return rc;
        left -= (long long)first;
        while (left > 0) {
            size_t want = (long long)iobuf_cap < left ? iobuf_cap : (size_t)left;
            ssize_t n = io_read(p->bfd, iobuf, want, bdl(p));
            if (n <= 0)
                return body_broken(p, n == 0 ? "backend closed early" : "read error",
                                   n < 0 ? errno : 0);
            if ((rc = client_body_write(p, mode, iobuf, (size_t)n)) < 0)
                return rc;
            left -= n;
        }
        return 0;
    }
    if (resp->framing == HTTP_BODY_CHUNKED) {
        struct http_chunked ch;
        http_chunked_init(&ch, 0, 0);
        char *buf = rest;
        size_t len = nrest;
        for (;;) {
            size_t used = 0, made = 0;
            int drc = http_chunked_decode(&ch, buf, len, &used, buf, &made);
            int rc = client_body_write(p, mode, buf, made);
            if (rc < 0)
                return rc;
            if (drc < 0)
                return body_broken(p, "malformed chunked encoding", 0);
            if (drc == 1) {
                if (used < len)
                    p->reusable = 0;
                break;
            }
            ssize_t n = io_read(p->bfd, iobuf, iobuf_cap, bdl(p));
            if (n <= 0)
                return body_broken(p, n == 0 ? "backend closed early" : "read error",
                                   n < 0 ? errno : 0);
            buf = iobuf;
            len = (size_t)n;
        }
        if (mode == OUT_CHUNKED) {
            if (io_write_all(p->c->fd, "0\r\n\r\n", 5, cdl(p)) < 0) {
                p->c->aborted = 1;
                return PX_CLIENT_GONE;
            }
            p->r->bytes_out += 5;
        }
        return 0;
    }
    /* close-delimited */
    p->reusable = 0;
    int rc = client_body_write(p, mode, rest, nrest);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t n = io_read(p->bfd, iobuf, iobuf_cap, bdl(p));
        if (n == 0)
            break;
        if (n < 0)
            return body_broken(p, "read error", errno);
        if ((rc = client_body_write(p, mode, iobuf, (size_t)n)) < 0)
            return rc;
    }
    if (mode == OUT_CHUNKED) {
        if (io_write_all(p->c->fd, "0\r\n\r\n", 5, cdl(p)) < 0) {
            p->c->aborted = 1;
            return PX_CLIENT_GONE;
        }
        p->r->bytes_out += 5;
    }
    return 0;
}

/* ProxyErrorOverride: reads and drops a small error body so the backend connection can be
 * pooled; larger or close-delimited ones just cost the connection. */
static void drain_error_body(struct px *p, const struct http_response *resp, char *rest,
                             size_t nrest)
{
    p->reusable = 0;
    if (resp->framing == HTTP_BODY_NONE) {
        p->reusable = nrest == 0;
        return;
    }
    if (resp->framing == HTTP_BODY_LENGTH) {
        long long left = resp->content_length;
        if (left > DRAIN_MAX || (long long)nrest > left)
            return;
        left -= (long long)nrest;
        while (left > 0) {
            size_t want = (long long)iobuf_cap < left ? iobuf_cap : (size_t)left;
            ssize_t n = io_read(p->bfd, iobuf, want, bdl(p));
            if (n <= 0)
                return;
            left -= n;
        }
        p->reusable = 1;
        return;
    }
    if (resp->framing == HTTP_BODY_CHUNKED) {
        struct http_chunked ch;
        http_chunked_init(&ch, 0, 0);
        char *buf = rest;
        size_t len = nrest, total = 0;
        for (;;) {
            size_t used = 0, made = 0;
            int drc = http_chunked_decode(&ch, buf, len, &used, buf, &made);
            if (drc < 0)
                return;
            if (drc == 1) {
                p->reusable = used == len;
                return;
            }
            total += len;
            if (total > DRAIN_MAX)
                return;
            ssize_t n = io_read(p->bfd, iobuf, iobuf_cap, bdl(p));
            if (n <= 0)
                return;
            buf = iobuf;
            len = (size_t)n;
        }
    }
}

/* 101 Switching Protocols: relay the head, then tunnel until either side is done. */
static int run_tunnel(struct px *p, const struct http_response *resp, char *rest, size_t nrest)
{
    struct request *r = p->r;
    struct conn *c = p->c;
    if (resp->upgrade == NULL || !http_token_list_has(p->upgrade, resp->upgrade)) {
        log_msg(MOD_PROXY_HTTP, LL_ERROR, 0, c->client_addr,
                "unexpected Upgrade in 101 from %s (asked for %s)", p->d->url, p->upgrade);
        return 502;
    }
    struct http_header *h;
    int n;
    if (client_headers(p, resp, 1, &h, &n) < 0)
        return 500;
    struct sbuf b = {.a = r->arena};
    sb_str(&b, "HTTP/1.1 101 Switching Protocols\r\n");
    for (int i = 0; i < n; i++)
        sb_hdr(&b, h[i].name, h[i].value);
    sb_str(&b, "Connection: Upgrade\r\n\r\n");
    if (b.oom)
        return 500;
    r->status = 101;
    r->resp_headers = h;
    r->n_resp_headers = n;
    c->keepalive = 0;
    p->reusable = 0;
    if (io_write_all(c->fd, b.s, b.len, cdl(p)) < 0) {
        c->aborted = 1;
        return PX_CLIENT_GONE;
    }
    r->bytes_out += (long long)b.len;
    /* Bytes each side sent early, before the switch, go first. */
    if (nrest > 0 && io_write_all(c->fd, rest, nrest, cdl(p)) < 0)
        return PX_CLIENT_GONE;
    r->bytes_out += (long long)nrest;
    size_t early = c->in_len - c->in_off;
    if (early > 0 && io_write_all(p->bfd, c->in + c->in_off, early, bdl(p)) < 0)
        return PX_CLIENT_GONE;
    c->in_off = c->in_len;
    r->body_consumed = 1;
    long long to_client = 0, to_backend = 0;
    if (proxy_tunnel_run(c->fd, p->bfd, iobuf, iobuf_cap, p->timeout_ms, &to_client, &to_backend) <
        0)
        log_msg(MOD_PROXY, LL_INFO, errno, c->client_addr, "tunnel to %s ended", p->d->url);
    r->bytes_out += to_client;
    r->bytes_in += to_backend;
    r->body_sent += to_client;
    return 0;
}

/* Reads the response (after 1xx interims) and relays it. */
static int handle_response(struct px *p, int retryable)
{
    struct request *r = p->r;
    struct http_response resp;
    char *rest = NULL;
    size_t nrest = 0;
    for (;;) {
        int rc = read_head(p, rest, nrest, retryable, &resp, &rest, &nrest);
        if (rc != PX_OK)
            return rc;
        retryable = 0;
        if (resp.status == 101) {
            if (p->upgrade == NULL) {
                log_msg(MOD_PROXY_HTTP, LL_ERROR, 0, p->c->client_addr,
                        "101 Switching Protocols from %s without an upgrade request", p->d->url);
                return 502;
            }
            return run_tunnel(p, &resp, rest, nrest);
        }
        if (resp.status >= 200)
            break;
        if ((rc = send_interim(p, &resp)) != 0)
            return rc;
    }
    p->reusable = !resp.conn_close;

    if (route_error_override(p->d, resp.status)) {
        drain_error_body(p, &resp, rest, nrest);
        return resp.status;
    }

    enum out_mode mode;
    long long out_cl = -1;
    switch (resp.framing) {
    case HTTP_BODY_NONE:
        mode = OUT_NONE;
        if (resp.status != 204 && resp.status >= 200)
            out_cl = resp.content_length;
        break;
    case HTTP_BODY_LENGTH:
        mode = OUT_LENGTH;
        out_cl = resp.content_length;
        break;
    default:
        mode = r->h.version >= 11 ? OUT_CHUNKED : OUT_CLOSE;
        break;
    }
    int rc = send_client_head(p, &resp, mode, out_cl);
    if (rc != 0)
        return rc;
    /* From here the status is out: errors can only end the connection. */
    rc = relay_body(p, &resp, mode, rest, nrest);
    return rc < 0 ? rc : PX_OK;
}

/* ---------------------------------------------------------------------- entry point */

static const char *upgrade_for(const struct px *p)
{
    const struct request *r = p->r;
    const struct proxy_worker *w = p->w;
    const char *allowed = w->upgrade;
    if (allowed == NULL && (util_strcaseeq(w->scheme, "ws") || util_strcaseeq(w->scheme, "wss")))
        allowed = "websocket";
    if (allowed == NULL || r->h.version < 11)
        return NULL;
    const char *up = hdr_get(r, "Upgrade");
    if (up == NULL || !listed_in_connection(r->h.headers, r->h.n_headers, "upgrade"))
        return NULL;
    if (strcmp(allowed, "*") == 0 || util_strcaseeq(allowed, "ANY") ||
        http_token_list_has(up, allowed))
        return up;
    return NULL;
}

static int resolve_timeout(const struct px *p)
{
    if (p->d->timeout_ms > 0)
        return p->d->timeout_ms;
    if (p->w->timeout_ms > 0)
        return p->w->timeout_ms;
    if (p->psc && p->psc->timeout_ms > 0)
        return p->psc->timeout_ms;
    return p->r->srv->timeout > 0 ? p->r->srv->timeout * 1000 : 60000;
}

int proxy_handle(struct request *r, const struct route_decision *d, int64_t deadline)
{
    (void)deadline; /* per-I/O deadlines below, see proxy.h */
    struct conn *c = r->c;
    struct px p = {
        .r = r,
        .d = d,
        .c = c,
        .w = d->worker,
        .psc = r->srv->proxy,
        .n_workers = c->conf->proxy ? c->conf->proxy->n_workers : d->worker->index + 1,
        .bfd = -1,
    };
    int rc;
    r->backend_name = p.w->name;
    r->handler = "proxy-server";
    r->filename = arena_printf(r->arena, "proxy:%s", d->url);
    p.timeout_ms = resolve_timeout(&p);
    p.connect_timeout_ms = d->connect_timeout_ms > 0     ? d->connect_timeout_ms
                           : p.w->connect_timeout_ms > 0 ? p.w->connect_timeout_ms
                                                         : p.timeout_ms;
    p.client_timeout_ms = r->srv->timeout > 0 ? r->srv->timeout * 1000 : 60000;
    size_t want =
        p.psc && p.psc->io_buffer_size >= IOBUF_MIN ? (size_t)p.psc->io_buffer_size : IOBUF_DEFAULT;
    if (iobuf_ensure(want) < 0) {
        rc = 500;
        goto fail;
    }

    if (util_strcaseeq(p.w->scheme, "https") || util_strcaseeq(p.w->scheme, "wss")) {
        log_msg(MOD_PROXY, LL_ERROR, 0, c->client_addr,
                "TLS to backends is not supported yet: cannot proxy to %s", d->url);
        rc = 500;
        goto fail;
    }
    if (!backend_pool_usable(p.w, p.n_workers)) {
        log_msg(MOD_PROXY, LL_ERROR, 0, c->client_addr,
                "disabled connection for (%s:%d): worker %s in error state", p.w->host, p.w->port,
                p.w->name);
        rc = 503;
        goto fail;
    }
    if (headers_apply_request(r, d) < 0) {
        rc = 500;
        goto fail;
    }
    p.upgrade = upgrade_for(&p);
    p.body_chunked = r->h.chunked;
    p.has_body = r->h.chunked || r->h.content_length > 0;
    p.cl_left = r->h.chunked ? 0 : r->h.content_length > 0 ? r->h.content_length : 0;
    if (p.body_chunked)
        http_chunked_init(&p.ch, 0, 0);
    if (!p.has_body)
        r->body_consumed = 1;
    if ((rc = build_request_head(&p)) != 0)
        goto fail;
    if ((rc = prefetch_body(&p)) != 0)
        goto fail;

    for (int attempt = 0;; attempt++) {
        if ((rc = backend_open(&p, attempt == 0)) != 0)
            goto fail;
        int retryable =
            attempt == 0 && p.reused && (!p.has_body || (p.body_complete && is_idempotent(r->h.m)));
        rc = send_request(&p);
        if (rc == PX_OK) {
            rc = handle_response(&p, retryable);
            if (rc == PX_RETRY && !p.body_started && attempt == 0) {
                backend_close(&p);
                continue;
            }
        } else if (rc == PX_RETRY && attempt == 0) {
            backend_close(&p);
            continue;
        } else if (rc == 502 && p.bfd >= 0) {
            /* The backend stopped taking the body (not a timeout): it may have answered
             * already, a 413 of its own say. Relay that rather than our error page. */
            p.poisoned = 1;
            rc = handle_response(&p, 0);
            if (rc == PX_RETRY)
                rc = 502;
        }
        break;
    }
    if (rc == PX_RETRY)
        rc = 502;
fail:
    if (p.bfd >= 0 && p.reusable && !p.poisoned && rc != PX_CLIENT_GONE)
        backend_pool_put(p.w, p.n_workers, p.bfd);
    else
        backend_close(&p);
    p.bfd = -1;
    if (rc == PX_OK)
        return 0;
    if (rc == PX_CLIENT_GONE) {
        c->keepalive = 0;
        c->aborted = 1;
        if (r->status == 0)
            r->status = 400;
        return -1;
    }
    if (r->status != 0) {
        /* a head already went out: nothing more can be said on this connection */
        c->keepalive = 0;
        return -1;
    }
    return respond_error(r, rc, NULL, cdl(&p)) < 0 ? -1 : 0;
}
