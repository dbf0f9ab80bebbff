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
 * pooled one turns out dead, or to another balancer member when one refuses the connection.
 * Longer bodies stream: Content-Length as received, chunked re-framed chunk by chunk.
 *
 * Expect: 100-continue is answered by portico itself, just before it first waits for body
 * bytes from the client, and not forwarded: the backend never sees Expect and its own
 * 100 Continue (should it send one anyway) is dropped. Other 1xx (102, 103) are relayed to
 * HTTP/1.1 clients. httpd instead forwards the expectation (Proxy100Continue On); ours cannot
 * deadlock on a backend that ignores Expect and costs no extra round trip.
 *
 * Response bodies: Content-Length is relayed as is; chunked and close-delimited bodies are
 * re-chunked for HTTP/1.1 clients (so the client connection survives a close-delimited
 * response), sent close-delimited to HTTP/1.0 clients. The response head waits for the first
 * body bytes so a small response leaves in one writev. A backend failure mid-body can only
 * end the client connection: the status is already out.
 *
 * balancer:// (mod_proxy_balancer's failover loop, apache-behaviour.md 2.2 and 2.5): a member
 * is chosen per attempt (balancer.h); one that refuses or times out the connection is put in
 * error and the request goes to another member, up to maxattempts, as long as nothing of it
 * was sent to a backend. Any other failure is the client's answer (502/504). */
#include "config.h"

#include "conf.h"
#include "proxy.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "backend_pool.h"
#include "balancer.h"
#include "env.h"
#include "headers.h"
#include "route.h"
#include "http_chunked.h"
#include "http_parse.h"
#include "http_response.h"
#include "io.h"
#include "log.h"
#include "proxy_reverse.h"
#include "respond.h"
#include "tls.h"
#include "util.h"

#define IOBUF_DEFAULT 8192
#define IOBUF_MIN     512
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

/* A small case-insensitive set of names (Connection tokens, header names), open addressing:
 * checking every header against it keeps a request with many headers linear. */
struct nameset {
    const char **s;
    size_t *len;
    int *val;      /* a value per name (first index of a header name) */
    unsigned mask; /* table size - 1; the set is empty when s is NULL */
};

/* A set of pointers: which header values are the client's own (RequestHeader makes new ones). */
struct ptrset {
    const void **p;
    unsigned mask; /* the set is empty when p is NULL */
};

struct px {
    struct request *r;
    const struct route_decision *d;
    struct conn *c;
    struct proxy_worker *w;           /* the worker of this attempt (a member's for a balancer) */
    struct proxy_member *m;           /* balancer member of this attempt, NULL for a plain worker */
    const char *url;                  /* backend URL of this attempt (logs, r->filename) */
    const char *target;               /* request-target sent to the backend */
    const struct proxy_srv_conf *psc; /* may be NULL: defaults */
    unsigned n_workers;
    int timeout_ms;
    int connect_timeout_ms;
    int client_timeout_ms;
    /* request */
    struct nameset ctok;            /* tokens of the client's own Connection headers */
    const struct http_header *orig; /* the client's headers, before RequestHeader */
    int n_orig;
    struct ptrset cvals; /* value pointers of orig when RequestHeader changed the list */
    char *head;          /* headers but Host, no request line, no framing, no final CRLF */
    size_t head_len;
    const char *upgrade; /* protocol(s) offered to the backend for a tunnel, or NULL */
    int has_body;
    int body_chunked;  /* client sent chunked */
    int body_complete; /* the whole body is in iobuf[0..plen) */
    int prefetched;
    size_t plen;
    long long cl_left; /* Content-Length body: bytes still to read from the client */
    struct http_chunked ch;
    long long body_total; /* decoded body bytes (LimitRequestBody for chunked) */
    int sent_100;
    int body_started; /* some body bytes went to a backend: no replay possible */
    /* backend */
    int bfd;
    struct tls_session *btls; /* https:// and wss:// backends: the TLS session on bfd */
    int reused;
    int reusable;          /* the backend connection may go back to the pool */
    int poisoned;          /* ...unless this says the request did not reach it cleanly */
    int connect_failed;    /* this attempt could not connect (503-class: failover) */
    int no_response;       /* the backend closed or reset the connection without a byte of
                            * response (a member dying under load): failover when repeatable */
    int interim_sent;      /* a 1xx went to the client */
    int read_timed_out;    /* a read from the backend timed out (failontimeout) */
    int final_status;      /* status of the backend's final response, 0 when none */
    long long b_out, b_in; /* bytes to / from the backend in this attempt */
    /* client response head not written yet: it goes out with the first body bytes */
    char *pend;
    size_t npend;
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

static int is_idempotent(enum http_method m)
{
    return m == HTTP_GET || m == HTTP_HEAD || m == HTTP_PUT || m == HTTP_DELETE ||
           m == HTTP_OPTIONS || m == HTTP_TRACE;
}

/* Reads from the backend, counting bytes (balancer bytraffic) and timeouts (failontimeout). */
static ssize_t bread(struct px *p, void *buf, size_t len)
{
    ssize_t n = tio_read(p->bfd, p->btls, buf, len, bdl(p));
    if (n > 0)
        p->b_in += n;
    else if (n < 0 && errno == ETIMEDOUT)
        p->read_timed_out = 1;
    return n;
}

static int bwritev(struct px *p, struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (tio_writev_all(p->bfd, p->btls, iov, n, bdl(p)) < 0)
        return -1;
    p->b_out += (long long)total;
    return 0;
}

/* ------------------------------------------------------------------------- name sets */

static unsigned name_hash(const char *s, size_t n)
{
    unsigned h = 2166136261u;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 'A' && ch <= 'Z')
            ch = (unsigned char)(ch + 32);
        h = (h ^ ch) * 16777619u;
    }
    return h;
}

/* Sizes the table for up to `count` names. Returns 0 or -1. */
static int nameset_init(struct nameset *ns, struct arena *a, size_t count)
{
    size_t size = 8;
    while (size < count * 2)
        size *= 2;
    ns->s = arena_calloc(a, size, sizeof(*ns->s));
    ns->len = arena_alloc(a, size * sizeof(*ns->len));
    ns->val = arena_alloc(a, size * sizeof(*ns->val));
    if (ns->s == NULL || ns->len == NULL || ns->val == NULL) {
        ns->s = NULL;
        return -1;
    }
    ns->mask = (unsigned)size - 1;
    return 0;
}

/* The slot holding name, or the empty slot where it would go. */
static unsigned nameset_slot(const struct nameset *ns, const char *s, size_t n)
{
    unsigned i = name_hash(s, n) & ns->mask;
    while (ns->s[i] != NULL && !(ns->len[i] == n && util_strncaseeq(ns->s[i], s, n)))
        i = (i + 1) & ns->mask;
    return i;
}

/* Adds name (not necessarily NUL-terminated) with value v unless present. Returns the value
 * stored for the name (v when it was added). */
static int nameset_add(struct nameset *ns, const char *s, size_t n, int v)
{
    unsigned i = nameset_slot(ns, s, n);
    if (ns->s[i] == NULL) {
        ns->s[i] = s;
        ns->len[i] = n;
        ns->val[i] = v;
    }
    return ns->val[i];
}

static int nameset_has(const struct nameset *ns, const char *s)
{
    if (ns->s == NULL)
        return 0;
    size_t n = strlen(s);
    return ns->s[nameset_slot(ns, s, n)] != NULL;
}

static unsigned ptr_hash(const void *ptr)
{
    uint64_t x = (uint64_t)(uintptr_t)ptr;
    x ^= x >> 29;
    x *= 0xbf58476d1ce4e5b9ull;
    return (unsigned)(x ^ (x >> 32));
}

static int ptrset_build(struct ptrset *ps, struct arena *a, const struct http_header *h, int n)
{
    size_t size = 8;
    while (size < (size_t)n * 2)
        size *= 2;
    ps->p = arena_calloc(a, size, sizeof(*ps->p));
    if (ps->p == NULL)
        return -1;
    ps->mask = (unsigned)size - 1;
    for (int i = 0; i < n; i++) {
        unsigned k = ptr_hash(h[i].value) & ps->mask;
        while (ps->p[k] != NULL && ps->p[k] != h[i].value)
            k = (k + 1) & ps->mask;
        ps->p[k] = h[i].value;
    }
    return 0;
}

static int ptrset_has(const struct ptrset *ps, const void *ptr)
{
    unsigned k = ptr_hash(ptr) & ps->mask;
    while (ps->p[k] != NULL) {
        if (ps->p[k] == ptr)
            return 1;
        k = (k + 1) & ps->mask;
    }
    return 0;
}

static int is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* The tokens of every Connection header in h (RFC 9110 7.6.1: the hop-by-hop fields this hop
 * names). Returns 0 or -1. */
static int connection_tokens(struct arena *a, const struct http_header *h, int n,
                             struct nameset *out)
{
    size_t count = 0;
    out->s = NULL;
    for (int i = 0; i < n; i++)
        if (util_strcaseeq(h[i].name, "Connection"))
            for (const char *v = h[i].value; *v; v++)
                count += *v == ',' ? 1 : 0;
    int any = 0;
    for (int i = 0; i < n; i++) {
        if (!util_strcaseeq(h[i].name, "Connection"))
            continue;
        if (!any && nameset_init(out, a, count + (size_t)n) < 0)
            return -1;
        any = 1;
        const char *v = h[i].value;
        while (*v) {
            while (*v == ',' || is_ows(*v))
                v++;
            const char *start = v;
            while (*v && *v != ',')
                v++;
            const char *end = v;
            while (end > start && is_ows(end[-1]))
                end--;
            if (end > start)
                nameset_add(out, start, (size_t)(end - start), 0);
        }
    }
    return 0;
}

/* ---------------------------------------------------------------- the backend request */

/* Arena string sized up front by the caller's estimate (heads: from the header lengths), so
 * the usual head takes one allocation; an estimate that falls short grows to what is
 * needed, at least doubling. */
struct sbuf {
    struct arena *a;
    char *s;
    size_t len, cap;
    int oom;
};

static void sb_init(struct sbuf *b, struct arena *a, size_t estimate)
{
    *b = (struct sbuf){.a = a};
    b->s = arena_alloc(a, estimate + 1);
    if (b->s == NULL) {
        b->oom = 1;
        return;
    }
    b->cap = estimate + 1;
    b->s[0] = '\0';
}

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = b->cap * 2;
        if (ncap < b->len + n + 1)
            ncap = b->len + n + 1;
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

/* Bytes a header list takes as "name: value\r\n" lines. */
static size_t headers_size(const struct http_header *h, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += h[i].name_len + h[i].value_len + 4;
    return total;
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
        return arena_printf(a, "%s %s%s (%s)", ver, name, portbuf, conf_server_token(r->c->conf));
    return arena_printf(a, "%s %s%s", ver, name, portbuf);
}

/* Whether header i of the request is dropped as hop-by-hop: the fixed list, and what the
 * client's own Connection header names -- but only among the client's own headers, so a
 * client cannot strip what RequestHeader set (httpd has that hole: its mod_headers runs
 * before the proxy's Connection filter). */
static int request_header_dropped(const struct px *p, const struct http_header *h)
{
    if (request_hop_header(h->name))
        return 1;
    if (!nameset_has(&p->ctok, h->name))
        return 0;
    return p->cvals.p == NULL || ptrset_has(&p->cvals, h->value);
}

/* The request's headers for the backend, but Host (which depends on the member: it goes out
 * with the request line) and framing (send time). One pass: duplicates are chained by name
 * through a hash of the names. Returns 0 or a status. */
static int build_request_head(struct px *p)
{
    struct request *r = p->r;
    const struct http_header *h = r->h.headers;
    int n = r->h.n_headers;
    int via = p->psc ? p->psc->via : 0;
    struct sbuf b;
    sb_init(&b, r->arena,
            headers_size(h, n) + 256 + strlen(r->c->client_ip) +
                (r->h.host ? strlen(r->h.host) : 0) +
                (r->srv->server_name ? 2 * strlen(r->srv->server_name) : 0) +
                (via ? strlen(conf_server_token(r->c->conf)) : 0));

    /* next[i]: the next header with the name of i; dup[i]: i is joined onto an earlier one */
    int *next = arena_alloc(r->arena, sizeof(int) * (size_t)(n > 0 ? n : 1) * 2);
    char *dup = arena_calloc(r->arena, (size_t)(n > 0 ? n : 1), 1);
    struct nameset names;
    if (next == NULL || dup == NULL || nameset_init(&names, r->arena, (size_t)n) < 0)
        return 500;
    int *last = next + (n > 0 ? n : 1);
    for (int i = 0; i < n; i++) {
        next[i] = -1;
        last[i] = i;
        if (request_header_dropped(p, &h[i]) || util_strcaseeq(h[i].name, "Max-Forwards"))
            continue;
        int first = nameset_add(&names, h[i].name, strlen(h[i].name), i);
        if (first != i) {
            next[last[first]] = i;
            last[first] = i;
            dup[i] = 1;
        }
    }

    int have_xff = 0, have_xfh = 0, have_xfs = 0;
    int add_xf = p->d->add_headers > 0;
    for (int i = 0; i < n; i++) {
        const char *name = h[i].name;
        if (dup[i] || request_header_dropped(p, &h[i]))
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
        for (int j = next[i]; j >= 0; j = next[j]) {
            sb_str(&b, sep);
            sb_str(&b, h[j].value);
        }
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
    if (add_xf) {
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
        if (tio_write_all(c->fd, c->tls, cont, sizeof(cont) - 1, cdl(p)) < 0)
            return PX_CLIENT_GONE;
        p->r->bytes_out += (long long)sizeof(cont) - 1;
    }
    c->in_off = c->in_len = 0;
    ssize_t n = tio_read(c->fd, c->tls, c->in, c->in_cap, cdl(p));
    if (n <= 0) {
        log_msg(MOD_PROXY, LL_INFO, n < 0 ? errno : 0, c->client_addr,
                "client stopped sending the request body for %s", p->url);
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
        long long limit = p->d->limit_request_body;
        if (limit > 0 && p->body_total > limit)
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

/* Reads ahead up to one I/O buffer of body before contacting the backend (once: a failover
 * keeps it). */
static int prefetch_body(struct px *p)
{
    if (p->prefetched)
        return 0;
    p->prefetched = 1;
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

static int is_tls_scheme(const char *scheme)
{
    return util_strcaseeq(scheme, "https") || util_strcaseeq(scheme, "wss");
}

/* SNI and the name the certificate must match: the backend's host, or the client's as httpd
 * does with ProxyPreserveHost On (the Host header without its port). */
static const char *backend_sni(struct px *p)
{
    const char *h = p->d->preserve_host > 0 ? p->r->h.host : NULL;
    if (h == NULL || h[0] == '\0')
        return p->w->host;
    if (h[0] == '[') {
        const char *e = strchr(h, ']');
        return e ? arena_strndup(p->r->arena, h + 1, (size_t)(e - h - 1)) : p->w->host;
    }
    const char *colon = strchr(h, ':');
    return colon ? arena_strndup(p->r->arena, h, (size_t)(colon - h)) : h;
}

/* TLS handshake on a fresh backend connection. Failure: 502 with the reason logged (httpd:
 * "Error during SSL Handshake with remote server"); the connection is closed. */
static int backend_tls(struct px *p, const char *sni)
{
    char why[512];
    int64_t dl = util_now_ms() + p->connect_timeout_ms;
    p->btls = tls_client_connect(p->bfd, p->r->srv, p->w, sni, dl, why, sizeof(why));
    if (p->btls != NULL)
        return 0;
    log_msg(MOD_SSL, LL_ERROR, 0, p->c->client_addr, "%s (%s:%d, %s)", why, p->w->host, p->w->port,
            p->url);
    log_msg(MOD_PROXY, LL_ERROR, 0, p->c->client_addr,
            "Error during SSL Handshake with remote server returned by %s", p->url);
    close(p->bfd);
    p->bfd = -1;
    return 502;
}

static int backend_open(struct px *p, int allow_pool)
{
    const struct proxy_worker *w = p->w;
    int tls = is_tls_scheme(w->scheme);
    const char *sni = tls ? backend_sni(p) : NULL;
    p->reused = 0;
    p->btls = NULL;
    if (allow_pool) {
        struct tls_session *t;
        int fd = backend_pool_get(w, p->n_workers, &t);
        if (fd >= 0 && tls && !tls_client_made_for(t, p->r->srv, w, sni)) {
            /* Made for another name (ProxyPreserveHost) or under another server's
             * SSLProxy* settings: not this request's to use. */
            backend_conn_close(fd, t);
            fd = -1;
        }
        if (fd >= 0) {
            p->bfd = fd;
            p->btls = t;
            p->reused = 1;
            return 0;
        }
    }
    int fd = io_connect((const struct sockaddr *)&w->addr, w->addrlen,
                        util_now_ms() + p->connect_timeout_ms);
    if (fd < 0) {
        int err = errno;
        log_msg(MOD_PROXY, LL_ERROR, err, p->c->client_addr,
                "attempt to connect to %s:%d for %s failed", w->host, w->port, p->url);
        p->connect_failed = 1;
        if (p->m == NULL) {
            /* balancer members: the caller marks the error in the shared segment */
            log_msg(MOD_PROXY, LL_ERROR, 0, NULL, "worker %s put into error state for %d s",
                    w->name, (w->retry_ms >= 0 ? w->retry_ms : 60000) / 1000);
            backend_pool_set_error(w, p->n_workers);
        }
        return 503;
    }
    if (p->m == NULL)
        backend_pool_clear_error(w, p->n_workers);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (w->keepalive > 0)
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    p->bfd = fd;
    if (tls)
        return backend_tls(p, sni);
    /* Blocking with slice timeouts: the wait for the response happens inside recv() (io.h).
     * TLS connections stay non-blocking for OpenSSL. */
    if (io_make_blocking(fd) < 0) {
        log_msg(MOD_PROXY, LL_ERROR, errno, p->c->client_addr, "socket options for %s", w->name);
        close(fd);
        p->bfd = -1;
        return 503;
    }
    return 0;
}

static void backend_close(struct px *p)
{
    if (p->bfd >= 0)
        backend_conn_close(p->bfd, p->btls);
    p->bfd = -1;
    p->btls = NULL;
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
    log_msg(MOD_PROXY, LL_ERROR, err, p->c->client_addr, "pass request body failed to %s", p->url);
    if (err == EPIPE || err == ECONNRESET)
        p->no_response = 1;
    return err == ETIMEDOUT ? 504 : 502;
}

/* Request line, Host, the headers, framing, then the read-ahead body: one writev, the head
 * pieces as separate iovecs instead of one more copy. Then the rest of the body. Returns
 * PX_OK, PX_RETRY, a status or PX_CLIENT_GONE. */
static int send_request(struct px *p)
{
    struct request *r = p->r;
    /* Host first, as httpd sends it. */
    const char *host = p->w->hostport;
    if (p->d->preserve_host > 0)
        host = r->h.host ? r->h.host : r->srv->server_name;
    if (host == NULL)
        host = p->w->host;
    char *line1 =
        arena_printf(r->arena, "%s %s HTTP/1.1\r\nHost: %s\r\n", r->h.method, p->target, host);
    if (line1 == NULL)
        return 500;

    char framing[128];
    int fl = 0;
    int stream_chunked = 0;
    if (p->has_body || r->h.content_length >= 0) {
        if (p->body_complete)
            fl = snprintf(framing, sizeof(framing), "Content-Length: %zu\r\n", p->plen);
        else if (!p->body_chunked)
            fl =
                snprintf(framing, sizeof(framing), "Content-Length: %lld\r\n", r->h.content_length);
        else {
            fl = snprintf(framing, sizeof(framing), "Transfer-Encoding: chunked\r\n");
            stream_chunked = 1;
        }
    }
    if (p->upgrade)
        fl += snprintf(framing + fl, sizeof(framing) - (size_t)fl,
                       "Connection: Upgrade\r\nUpgrade: ");
    else if (p->w->disablereuse > 0)
        fl += snprintf(framing + fl, sizeof(framing) - (size_t)fl, "Connection: close\r\n");

    /* A failure before the backend has any of this request is safe to repeat when
     * nothing is lost: no body, or an idempotent request whose body we still hold. */
    int retryable = !p->has_body || (p->body_complete && is_idempotent(r->h.m));
    char cline[32];
    struct iovec iov[9];
    int niov = 0;
    iov[niov++] = (struct iovec){line1, strlen(line1)};
    iov[niov++] = (struct iovec){p->head, p->head_len};
    iov[niov++] = (struct iovec){framing, (size_t)fl};
    if (p->upgrade) {
        iov[niov++] = (struct iovec){(void *)p->upgrade, strlen(p->upgrade)};
        iov[niov++] = (struct iovec){(void *)"\r\n\r\n", 4};
    } else {
        iov[niov++] = (struct iovec){(void *)"\r\n", 2};
    }
    if (p->plen > 0) {
        if (stream_chunked) {
            int l = snprintf(cline, sizeof(cline), "%zx\r\n", p->plen);
            iov[niov++] = (struct iovec){cline, (size_t)l};
            iov[niov++] = (struct iovec){iobuf, p->plen};
            iov[niov++] = (struct iovec){(void *)"\r\n", 2};
        } else {
            iov[niov++] = (struct iovec){iobuf, p->plen};
        }
    }
    if (bwritev(p, iov, niov) < 0)
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
            struct iovec bv[3];
            int nb = 0;
            if (stream_chunked) {
                int l = snprintf(cline, sizeof(cline), "%zx\r\n", got);
                bv[nb++] = (struct iovec){cline, (size_t)l};
            }
            bv[nb++] = (struct iovec){iobuf, got};
            if (stream_chunked)
                bv[nb++] = (struct iovec){(void *)"\r\n", 2};
            if (bwritev(p, bv, nb) < 0)
                return send_failed(p, 0);
        }
        if (end)
            break;
    }
    r->body_consumed = 1;
    if (stream_chunked) {
        struct iovec t = {(void *)"0\r\n\r\n", 5};
        if (bwritev(p, &t, 1) < 0)
            return send_failed(p, 0);
    }
    return PX_OK;
}

/* ---------------------------------------------------------------- the backend response */

static void response_limits(const struct px *p, struct http_response_limits *lim)
{
    *lim = (struct http_response_limits){0, 0, 0, p->psc ? p->psc->bad_header : 0};
}

/* Reads one response head. pending/npending: bytes already read (after a 1xx). Reads go to
 * the process's I/O buffer (an arena buffer only for a head larger than that), and the head
 * alone is copied to the arena, at its exact size, to be parsed there: the buffer is reused
 * for the body. On success rest/nrest get the bytes read past the head. Returns PX_OK,
 * PX_RETRY or 502. */
static int read_head(struct px *p, const char *pending, size_t npending, int retryable,
                     struct http_response *resp, char **rest, size_t *nrest)
{
    struct arena *a = p->r->arena;
    struct http_response_limits lim;
    response_limits(p, &lim);
    char *hb = iobuf;
    size_t cap = iobuf_cap;
    if (npending > cap) {
        cap = npending * 2;
        if ((hb = arena_alloc(a, cap)) == NULL)
            return 500;
    }
    if (npending)
        memmove(hb, pending, npending);
    size_t len = npending;
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
        /* PX_RETRY below needs iobuf untouched (it may hold the body to send again): a
         * failed read writes nothing, and only a read of nothing at all is retried */
        ssize_t n = bread(p, hb + len, cap - len);
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            if (len == 0 && p->reused && retryable && err != ETIMEDOUT) {
                log_msg(MOD_PROXY, LL_DEBUG, err, p->c->client_addr,
                        "reused connection to %s closed before a response, retrying", p->w->name);
                return PX_RETRY;
            }
            log_msg(MOD_PROXY_HTTP, LL_ERROR, err, p->c->client_addr,
                    "error reading status line from remote server %s:%d for %s%s", p->w->host,
                    p->w->port, p->url, n == 0 ? ": connection closed" : "");
            if (len == 0 && (n == 0 || err == ECONNRESET || err == EPIPE))
                p->no_response = 1;
            return 502;
        }
        len += (size_t)n;
    }
    const char *why = NULL;
    char *head = hl > 0 ? arena_alloc(a, (size_t)hl + 1) : NULL;
    if (hl > 0 && head == NULL)
        return 500;
    if (head != NULL) {
        memcpy(head, hb, (size_t)hl);
        head[hl] = '\0';
    }
    if (hl < 0 ||
        http_response_parse(head, (size_t)hl, &lim, p->r->h.m == HTTP_HEAD, a, resp, &why) < 0) {
        log_msg(MOD_PROXY_HTTP, LL_ERROR, 0, p->c->client_addr, "invalid response from %s: %s",
                p->url, why ? why : "bad status line or head");
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
    struct nameset tok;
    if (h == NULL || connection_tokens(a, resp->headers, resp->n_headers, &tok) < 0)
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
        if (response_hop_header(src->name) || nameset_has(&tok, src->name))
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

/* Builds the client's response head; it stays pending in p->pend until client_out() sends
 * it with the first body bytes. Returns 0 or 500. */
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
    if (route_add_response_headers(r, p->d, &h, &n) < 0 ||
        headers_apply_response(r, p->d, status, &h, &n) < 0)
        return 500;
    respond_decide_keepalive(r, status, mode != OUT_CLOSE);

    const char *server = conf_server_token(c->conf);
    const char *reason = resp->reason && resp->reason[0] ? resp->reason : http_reason(status);
    struct sbuf b;
    sb_init(&b, r->arena, headers_size(h, n) + strlen(reason) + strlen(server) + 256);
    char line[64];
    snprintf(line, sizeof(line), "HTTP/1.1 %d ", status);
    sb_str(&b, line);
    sb_str(&b, reason);
    sb_add(&b, "\r\n", 2);
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
        sb_hdr(&b, "Server", server);
    int via = p->psc ? p->psc->via : 0;
    int via_done = 0;
    for (int i = 0; i < n; i++) {
        if (util_strcaseeq(h[i].name, "Via") && (via == 1 || via == 2) && !via_done) {
            sb_str(&b, h[i].name);
            sb_add(&b, ": ", 2);
            sb_str(&b, h[i].value);
            sb_add(&b, ", ", 2);
            sb_str(&b, via_value(p, r->arena));
            sb_add(&b, "\r\n", 2);
            via_done = 1;
            continue;
        }
        if (util_strcaseeq(h[i].name, "Via") && via == 3)
            continue;
        sb_hdr(&b, h[i].name, h[i].value);
    }
    if ((via == 1 || via == 2) && !via_done)
        sb_hdr(&b, "Via", via_value(p, r->arena));
    if (mode == OUT_LENGTH || (mode == OUT_NONE && out_cl >= 0)) {
        snprintf(line, sizeof(line), "Content-Length: %lld\r\n", out_cl);
        sb_str(&b, line);
    } else if (mode == OUT_CHUNKED) {
        sb_str(&b, "Transfer-Encoding: chunked\r\n");
    }
    const struct conf_server *s = r->srv;
    if (!c->keepalive) {
        sb_str(&b, "Connection: close\r\n");
    } else if (r->h.version == 10) {
        char ka[96];
        snprintf(ka, sizeof(ka), "Keep-Alive: timeout=%d, max=%d\r\nConnection: Keep-Alive\r\n",
                 (s->keepalive_timeout_ms + 999) / 1000,
                 s->max_keepalive_requests > 0 ? s->max_keepalive_requests - c->requests - 1 : 100);
        sb_str(&b, ka);
    }
    sb_add(&b, "\r\n", 2);
    if (b.oom)
        return 500;
    r->status = status;
    r->resp_headers = h;
    r->n_resp_headers = n;
    p->pend = b.s;
    p->npend = b.len;
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
    struct sbuf b;
    sb_init(&b, r->arena, headers_size(h, n) + 64);
    sb_str(&b, arena_printf(r->arena, "HTTP/1.1 %d %s\r\n", resp->status,
                            resp->reason && resp->reason[0] ? resp->reason
                                                            : http_reason(resp->status)));
    for (int i = 0; i < n; i++)
        sb_hdr(&b, h[i].name, h[i].value);
    sb_add(&b, "\r\n", 2);
    if (b.oom)
        return 500;
    if (tio_write_all(p->c->fd, p->c->tls, b.s, b.len, cdl(p)) < 0) {
        p->c->aborted = 1;
        return PX_CLIENT_GONE;
    }
    r->bytes_out += (long long)b.len;
    return 0;
}

/* Writes body bytes to the client in the chosen framing: behind the response head while that
 * is pending (one writev for head and first bytes), and followed by the chunked terminator
 * when `last`. With nothing to send it flushes the pending head: called before every wait
 * on the backend, so a slow body never holds the head back. */
static int client_out(struct px *p, enum out_mode mode, const char *data, size_t n, int last)
{
    struct iovec iov[5];
    int k = 0;
    char line[32];
    size_t extra = 0;
    if (p->npend > 0)
        iov[k++] = (struct iovec){p->pend, p->npend};
    if (n > 0) {
        if (mode == OUT_CHUNKED) {
            int l = snprintf(line, sizeof(line), "%zx\r\n", n);
            iov[k++] = (struct iovec){line, (size_t)l};
            extra += (size_t)l + 2;
        }
        iov[k++] = (struct iovec){(void *)data, n};
        if (mode == OUT_CHUNKED)
            iov[k++] = (struct iovec){(void *)"\r\n", 2};
    }
    if (last && mode == OUT_CHUNKED) {
        iov[k++] = (struct iovec){(void *)"0\r\n\r\n", 5};
        extra += 5;
    }
    if (k == 0)
        return 0;
    size_t head = p->npend;
    if (tio_writev_all(p->c->fd, p->c->tls, iov, k, cdl(p)) < 0) {
        log_msg(MOD_PROXY, LL_INFO, errno, p->c->client_addr,
                "client went away while receiving the response from %s", p->url);
        p->c->aborted = 1;
        p->npend = 0;
        return PX_CLIENT_GONE;
    }
    p->npend = 0;
    p->r->body_sent += (long long)n;
    p->r->bytes_out += (long long)(head + n + extra);
    return 0;
}

/* The backend failed mid-body: nothing can be said to the client any more. */
static int body_broken(struct px *p, const char *what, int err)
{
    log_msg(MOD_PROXY_HTTP, LL_ERROR, err, p->c->client_addr,
            "%s while reading the response body from %s", what, p->url);
    p->c->keepalive = 0;
    p->c->aborted = 1;
    p->reusable = 0;
    return PX_CLIENT_GONE;
}

/* A body of known length between two plain TCP connections moves through a pipe with
 * splice(): the kernel hands the pages on, the worker never copies them, and each pair of
 * system calls carries up to a pipe's 64 KiB instead of one ProxyIOBufferSize. The pipe is
 * made the first time a worker needs it (the default size: a bigger one would count against
 * the user's pipe-buffer quota, shared by every worker). */
#define SPLICE_MIN   (32 * 1024) /* smaller bodies: one read and one write are cheaper */
#define SPLICE_CHUNK (64 * 1024)
static int splice_pipe[2] = {-1, -1};

/* Bytes left in the pipe after a failure must never reach the next response. */
static void splice_pipe_drop(void)
{
    for (int i = 0; i < 2; i++) {
        if (splice_pipe[i] >= 0)
            close(splice_pipe[i]);
        splice_pipe[i] = -1;
    }
}

/* One splice() bounded by the deadline as io_read bounds a read: the call waits itself
 * while a slice is left (the sockets are blocking with slice timeouts), poll() covers the
 * rest and any EAGAIN. Returns the count, 0 on EOF, -1 with errno (ETIMEDOUT). */
static ssize_t splice_bounded(int from, int to, int pollfd, short ev, size_t len, unsigned flags,
                              int64_t deadline)
{
    for (;;) {
        int last = io_wait_flag(deadline) != 0; /* less than a slice left */
        int w = last ? io_wait(pollfd, ev, deadline) : 1;
        if (w > 0) {
            /* Near the deadline: SPLICE_F_NONBLOCK keeps the pipe side from waiting, but a
             * blocking socket still may, for at most one SO_*TIMEO slice (io.h). */
            ssize_t n = splice(from, NULL, to, NULL, len, flags | (last ? SPLICE_F_NONBLOCK : 0));
            if (n >= 0 || (errno != EAGAIN && errno != EINTR))
                return n;
            if (errno == EINTR)
                continue;
            w = io_wait(pollfd, ev, deadline);
            if (w > 0)
                continue;
        }
        if (w == 0)
            errno = ETIMEDOUT;
        return -1;
    }
}

/* Relays `left` body bytes from the backend to the client. Returns 0, PX_CLIENT_GONE (after
 * body_broken or a client failure), or 1 when no pipe can be had and nothing was moved. */
static int splice_body(struct px *p, long long left)
{
    if (splice_pipe[0] < 0 && pipe2(splice_pipe, O_CLOEXEC) < 0) {
        splice_pipe[0] = splice_pipe[1] = -1;
        return 1;
    }
    while (left > 0) {
        size_t want = left > SPLICE_CHUNK ? SPLICE_CHUNK : (size_t)left;
        ssize_t n =
            splice_bounded(p->bfd, splice_pipe[1], p->bfd, POLLIN, want, SPLICE_F_MOVE, bdl(p));
        if (n <= 0) {
            int err = n < 0 ? errno : 0;
            if (err == ETIMEDOUT)
                p->read_timed_out = 1;
            splice_pipe_drop();
            return body_broken(p, n == 0 ? "backend closed early" : "read error", err);
        }
        p->b_in += n;
        left -= n;
        /* The pipe is drained before the next read, so it never holds more than one read.
         * No SPLICE_F_MORE: it corks the client socket, and a tail shorter than the MSS would
         * then wait for the next read or the ~200 ms probe timer, stalling a paced body. */
        for (size_t inpipe = (size_t)n; inpipe > 0;) {
            ssize_t m = splice_bounded(splice_pipe[0], p->c->fd, p->c->fd, POLLOUT, inpipe,
                                       SPLICE_F_MOVE, cdl(p));
            if (m <= 0) {
                log_msg(MOD_PROXY, LL_INFO, m < 0 ? errno : 0, p->c->client_addr,
                        "client went away while receiving the response from %s", p->url);
                splice_pipe_drop();
                p->c->aborted = 1;
                return PX_CLIENT_GONE;
            }
            inpipe -= (size_t)m;
            p->r->body_sent += m;
            p->r->bytes_out += m;
        }
    }
    return 0;
}

/* Relays the body of resp; rest/nrest are body bytes already read with the head. The head
 * is still pending: the first client_out() sends it. Never reads more than the framing
 * announces, so bytes past the response stay in the socket for backend_pool_get() to see. */
static int relay_body(struct px *p, const struct http_response *resp, enum out_mode mode,
                      char *rest, size_t nrest)
{
    if (resp->framing == HTTP_BODY_NONE) {
        p->reusable = p->reusable && nrest == 0; /* bytes after a body-less response */
        return client_out(p, mode, NULL, 0, 0);
    }
    if (resp->framing == HTTP_BODY_LENGTH) {
        long long left = resp->content_length;
        size_t first = (long long)nrest > left ? (size_t)left : nrest;
        if (nrest > first)
            p->reusable = 0; /* the backend sent more than it announced */
        int rc = client_out(p, mode, rest, first, 0);
        if (rc < 0)
            return rc;
        left -= (long long)first;
        if (left >= SPLICE_MIN && mode == OUT_LENGTH && p->btls == NULL && p->c->tls == NULL) {
            rc = splice_body(p, left);
            if (rc != 1)
                return rc;
        }
        while (left > 0) {
            size_t want = (long long)iobuf_cap < left ? iobuf_cap : (size_t)left;
            ssize_t n = bread(p, iobuf, want);
            if (n <= 0)
                return body_broken(p, n == 0 ? "backend closed early" : "read error",
                                   n < 0 ? errno : 0);
            if ((rc = client_out(p, mode, iobuf, (size_t)n, 0)) < 0)
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
            if (drc < 0) {
                if (client_out(p, mode, buf, made, 0) < 0)
                    return PX_CLIENT_GONE;
                return body_broken(p, "malformed chunked encoding", 0);
            }
            int rc = client_out(p, mode, buf, made, drc == 1);
            if (rc < 0)
                return rc;
            if (drc == 1) {
                if (used < len)
                    p->reusable = 0;
                return 0;
            }
            ssize_t n = bread(p, iobuf, iobuf_cap);
            if (n <= 0)
                return body_broken(p, n == 0 ? "backend closed early" : "read error",
                                   n < 0 ? errno : 0);
            buf = iobuf;
            len = (size_t)n;
        }
    }
    /* close-delimited */
    p->reusable = 0;
    int rc = client_out(p, mode, rest, nrest, 0);
    if (rc < 0)
        return rc;
    for (;;) {
        ssize_t n = bread(p, iobuf, iobuf_cap);
        if (n == 0)
            break;
        if (n < 0)
            return body_broken(p, "read error", errno);
        if ((rc = client_out(p, mode, iobuf, (size_t)n, 0)) < 0)
            return rc;
    }
    return client_out(p, mode, NULL, 0, 1);
}

/* ProxyErrorOverride: reads and drops a small error body so the backend connection can be
 * pooled; larger or close-delimited ones just cost the connection. */
static void drain_error_body(struct px *p, const struct http_response *resp, char *rest,
                             size_t nrest)
{
    int keep = p->reusable;
    p->reusable = 0;
    if (resp->framing == HTTP_BODY_NONE) {
        p->reusable = keep && nrest == 0;
        return;
    }
    if (resp->framing == HTTP_BODY_LENGTH) {
        long long left = resp->content_length;
        if (left > DRAIN_MAX || (long long)nrest > left)
            return;
        left -= (long long)nrest;
        while (left > 0) {
            size_t want = (long long)iobuf_cap < left ? iobuf_cap : (size_t)left;
            ssize_t n = bread(p, iobuf, want);
            if (n <= 0)
                return;
            left -= n;
        }
        p->reusable = keep;
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
                p->reusable = keep && used == len;
                return;
            }
            total += len;
            if (total > DRAIN_MAX)
                return;
            ssize_t n = bread(p, iobuf, iobuf_cap);
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
                "unexpected Upgrade in 101 from %s (asked for %s)", p->url, p->upgrade);
        return 502;
    }
    struct http_header *h;
    int n;
    if (client_headers(p, resp, 1, &h, &n) < 0)
        return 500;
    struct sbuf b;
    sb_init(&b, r->arena, headers_size(h, n) + 64);
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
    /* Bytes the backend sent early, before the switch, go with the head. */
    struct iovec iov[2] = {{b.s, b.len}, {rest, nrest}};
    if (tio_writev_all(c->fd, c->tls, iov, nrest > 0 ? 2 : 1, cdl(p)) < 0) {
        c->aborted = 1;
        return PX_CLIENT_GONE;
    }
    r->bytes_out += (long long)(b.len + nrest);
    /* ...and those the client sent early go first the other way. */
    size_t early = c->in_len - c->in_off;
    if (early > 0) {
        struct iovec e = {c->in + c->in_off, early};
        if (bwritev(p, &e, 1) < 0)
            return PX_CLIENT_GONE;
    }
    c->in_off = c->in_len;
    r->body_consumed = 1;
    long long to_client = 0, to_backend = 0;
    if (proxy_tunnel_run_tls(c->fd, c->tls, p->bfd, p->btls, iobuf, iobuf_cap, p->timeout_ms,
                             &to_client, &to_backend) < 0)
        log_msg(MOD_PROXY, LL_INFO, errno, c->client_addr, "tunnel to %s ended", p->url);
    r->bytes_out += to_client;
    r->bytes_in += to_backend;
    r->body_sent += to_client;
    p->b_in += to_client;
    p->b_out += to_backend;
    return 0;
}

/* failonstatus: the member goes into error, and the response is still delivered. */
static void check_failonstatus(struct px *p, int status)
{
    if (p->m == NULL)
        return;
    const struct proxy_balancer *b = p->m->balancer;
    for (int i = 0; i < b->n_failonstatus; i++)
        if (b->failonstatus[i] == status) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, p->c->client_addr,
                    "%s: forcing worker (%s) into error state due to status code %d matching "
                    "'failonstatus'",
                    b->name, p->w->name, status);
            balancer_mark_error(p->m, balancer_now_ms());
            return;
        }
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
                        "101 Switching Protocols from %s without an upgrade request", p->url);
                return 502;
            }
            p->final_status = 101;
            return run_tunnel(p, &resp, rest, nrest);
        }
        if (resp.status >= 200)
            break;
        if ((rc = send_interim(p, &resp)) != 0)
            return rc;
        p->interim_sent = 1;
    }
    p->final_status = resp.status;
    p->reusable = !resp.conn_close;
    check_failonstatus(p, resp.status);

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
    if (up == NULL || !nameset_has(&p->ctok, "upgrade"))
        return NULL;
    if (strcmp(allowed, "*") == 0 || util_strcaseeq(allowed, "ANY") ||
        http_token_list_has(up, allowed))
        return up;
    return NULL;
}

/* Per attempt: the worker (a member's for a balancer) and what follows from it. */
static int use_worker(struct px *p, struct proxy_worker *w)
{
    const struct route_decision *d = p->d;
    struct request *r = p->r;
    p->w = w;
    /* timeout= -> ProxyTimeout -> Timeout; route resolved it for a plain worker, but for a
     * balancer it cannot know the member: the member's own timeout= comes first then */
    if (p->m != NULL && w->timeout_ms > 0)
        p->timeout_ms = w->timeout_ms;
    else if (d->timeout_ms > 0)
        p->timeout_ms = d->timeout_ms;
    else if (w->timeout_ms > 0)
        p->timeout_ms = w->timeout_ms;
    else if (p->psc && p->psc->timeout_ms > 0)
        p->timeout_ms = p->psc->timeout_ms;
    else
        p->timeout_ms = r->srv->timeout > 0 ? r->srv->timeout * 1000 : 60000;
    if (w->connect_timeout_ms > 0)
        p->connect_timeout_ms = w->connect_timeout_ms;
    else if (p->m == NULL && d->connect_timeout_ms > 0)
        p->connect_timeout_ms = d->connect_timeout_ms;
    else
        p->connect_timeout_ms = p->timeout_ms;

    if (p->m == NULL) {
        p->target = d->backend_target && d->backend_target[0] ? d->backend_target : "/";
        p->url = d->url;
    } else {
        /* httpd: the member's URL, its path included, followed by the path after the
         * balancer's name; one slash where both bring one */
        const char *path = w->path ? w->path : "";
        const char *t = d->backend_target ? d->backend_target : "";
        size_t pl = strlen(path);
        if (pl > 0 && path[pl - 1] == '/' && t[0] == '/')
            t++;
        const char *slash = pl == 0 && t[0] != '/' ? "/" : "";
        p->target = arena_printf(r->arena, "%s%s%s", slash, path, t);
        p->url = p->target ? arena_printf(r->arena, "%s://%s%s", w->scheme, w->hostport, p->target)
                           : NULL;
        if (p->url == NULL)
            return 500;
    }
    r->backend_name = w->name;
    r->filename = arena_printf(r->arena, "proxy:%s", p->url);
    p->upgrade = upgrade_for(p);
    if (is_tls_scheme(w->scheme) && !tls_client_engine(r->srv, w)) {
        /* httpd: mod_ssl's AH01961, then mod_proxy's AH00961 and a 500 */
        log_msg(MOD_SSL, LL_ERROR, 0, p->c->client_addr,
                "SSL Proxy requested for %s:%d but not enabled [Hint: SSLProxyEngine]", w->host,
                w->port);
        log_msg(MOD_PROXY, LL_ERROR, 0, p->c->client_addr,
                "HTTPS: failed to enable ssl support for %s:%d (%s)", w->host, w->port, w->host);
        return 500;
    }
    return 0;
}

/* Forgets what the previous attempt (another member) left. */
static void attempt_reset(struct px *p)
{
    p->connect_failed = p->read_timed_out = p->no_response = p->interim_sent = 0;
    p->reusable = p->poisoned = 0;
    p->final_status = 0;
    p->b_in = p->b_out = 0;
}

/* Gives the backend connection back to the pool or closes it. */
static void backend_done(struct px *p, int rc)
{
    if (p->bfd >= 0 && p->reusable && !p->poisoned && rc != PX_CLIENT_GONE)
        backend_pool_put(p->w, p->n_workers, p->bfd, p->btls);
    else
        backend_close(p);
    p->bfd = -1;
    p->btls = NULL;
}

/* One attempt on p->w: connect (a pooled connection first, then a fresh one if that turns out
 * dead and the request can be repeated), send, relay the response. The connection is given
 * back or closed before returning. Returns PX_OK, a status or PX_CLIENT_GONE. */
static int run_attempt(struct px *p)
{
    struct request *r = p->r;
    int rc;
    for (int attempt = 0;; attempt++) {
        if ((rc = backend_open(p, attempt == 0)) != 0)
            break;
        int retryable = attempt == 0 && p->reused &&
                        (!p->has_body || (p->body_complete && is_idempotent(r->h.m)));
        rc = send_request(p);
        if (rc == PX_OK) {
            rc = handle_response(p, retryable);
            if (rc == PX_RETRY && !p->body_started && attempt == 0) {
                backend_close(p);
                continue;
            }
        } else if (rc == PX_RETRY && attempt == 0) {
            backend_close(p);
            continue;
        } else if (rc == 502 && p->bfd >= 0) {
            /* The backend stopped taking the body (not a timeout): it may have answered
             * already, a 413 of its own say. Relay that rather than our error page. */
            p->poisoned = 1;
            rc = handle_response(p, 0);
            if (rc == PX_RETRY)
                rc = 502;
        }
        break;
    }
    if (rc == PX_RETRY)
        rc = 502;
    backend_done(p, rc);
    return rc;
}

/* The Cookie header the sticky lookup reads: duplicates joined (httpd's core merges a
 * request's repeated headers before the balancer sees them). */
static const char *cookie_header(struct request *r)
{
    const char *first = NULL;
    char *joined = NULL;
    for (int i = 0; i < r->h.n_headers; i++) {
        const struct http_header *h = &r->h.headers[i];
        if (!util_strcaseeq(h->name, "Cookie"))
            continue;
        if (first == NULL)
            first = h->value;
        else
            joined = arena_printf(r->arena, "%s; %s", joined ? joined : first, h->value);
    }
    return joined ? joined : first;
}

static void member_env(struct px *p, const struct proxy_balancer *b,
                       const struct balancer_choice *ch)
{
    struct request *r = p->r;
    const struct proxy_member *m = ch->member;
    char route[64];
    /* The slot's route: the balancer-manager may have changed it */
    if (balancer_member_route(m, route, sizeof(route)) < 0)
        util_strlcpy(route, m->route ? m->route : "", sizeof(route));
    env_set(r, "BALANCER_NAME", b->name);
    env_set(r, "BALANCER_WORKER_NAME", m->worker->name);
    env_set(r, "BALANCER_WORKER_ROUTE", route);
    if (ch->sticky_name != NULL && ch->session_route != NULL) {
        env_set(r, "BALANCER_SESSION_STICKY", ch->sticky_name);
        env_set(r, "BALANCER_SESSION_ROUTE", ch->session_route);
    }
    if (ch->route_changed)
        env_set(r, "BALANCER_ROUTE_CHANGED", "1");
    else
        env_unset(r, "BALANCER_ROUTE_CHANGED");
}

/* The worker of a member added at run time (balancer-manager): made once per process and
 * slot from the slot's URL, in a process-lifetime arena (resolving the host may block, so
 * never under the balancer lock). proxy_worker_for_url() gives a ProxyPass worker of the same
 * origin (its connection pool) or a non-pooling default one; the copy gets the member's own
 * URL and path. A slot given to another URL gets a fresh worker: the old copy stays in the
 * arena, at most growth= of them per balancer and process lifetime. */
static struct arena *rt_arena;

static int runtime_worker(struct px *p, struct proxy_member *m)
{
    char url[160];
    if (balancer_member_url(m, url, sizeof(url)) < 0)
        return -1;
    if (m->worker != NULL && strcmp(m->worker->name, url) == 0)
        return 0;
    m->worker = NULL;
    if (rt_arena == NULL && (rt_arena = arena_create(4096)) == NULL)
        return -1;
    const char *err = NULL;
    struct proxy_worker *w = proxy_worker_for_url(p->c->conf, rt_arena, url, &err);
    struct proxy_worker *copy = w ? arena_alloc(rt_arena, sizeof(*copy)) : NULL;
    if (copy == NULL) {
        log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, p->c->client_addr,
                "%s: cannot use runtime member %s: %s", m->balancer->name, url,
                err ? err : "out of memory");
        return -1;
    }
    *copy = *w;
    const char *rest = strstr(url, "://");
    const char *path = rest ? strchr(rest + 3, '/') : NULL;
    copy->path = arena_strdup(rt_arena, path ? path : "");
    copy->name = arena_strdup(rt_arena, url);
    if (copy->path == NULL || copy->name == NULL)
        return -1;
    copy->member = m;
    m->worker = copy;
    return 0;
}

/* balancer_choose, waiting up to the balancer's timeout= for a member to become usable
 * (httpd polls every timeout/100). */
static int choose_member(struct px *p, struct proxy_balancer *b, int timeout_ms, const char *cookie,
                         const unsigned char *tried, struct balancer_choice *ch)
{
    const char *pq = p->d->backend_target ? p->d->backend_target : "";
    int64_t until = util_now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    for (int i = 0; i <= 100; i++) {
        *ch = (struct balancer_choice){0};
        if (balancer_choose(b, pq, cookie, tried, balancer_now_ms(), ch) < 0)
            return -1;
        if (ch->member != NULL || ch->nofailover_503 || util_now_ms() >= until)
            return 0;
        int64_t step = timeout_ms / 100 > 0 ? timeout_ms / 100 : 1;
        struct timespec ts = {(time_t)(step / 1000), (long)(step % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 0;
}

/* mod_proxy's failover loop over the members of d->balancer. */
static int run_balancer(struct px *p)
{
    struct request *r = p->r;
    struct proxy_balancer *b = p->d->balancer;
    unsigned cap = balancer_capacity(b);
    unsigned char *tried = arena_calloc(r->arena, cap > 0 ? cap : 1, 1);
    if (tried == NULL)
        return 500;
    /* maxattempts, timeout: as the balancer-manager may have set them */
    struct balancer_params bp;
    balancer_params(b, &bp);
    int max_attempts = bp.maxattempts;
    const char *cookie = cookie_header(r);
    int rc = 503;
    for (int attempts = 0;; attempts++) {
        struct balancer_choice ch;
        if (choose_member(p, b, bp.timeout_ms, cookie, tried, &ch) < 0) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, errno, r->c->client_addr,
                    "%s: cannot lock the balancer", b->name);
            return 500;
        }
        if (ch.member == NULL) {
            if (ch.nofailover_503)
                log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, r->c->client_addr,
                        "%s: All workers are in error state for route (%s)", b->name,
                        ch.session_route ? ch.session_route : "");
            else
                log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, r->c->client_addr,
                        "%s: All workers are in error state", b->name);
            return attempts == 0 ? 503 : rc;
        }
        struct proxy_member *m = ch.member;
        unsigned idx = balancer_member_index(m);
        if (idx < cap)
            tried[idx] = 1;
        if (balancer_member_is_runtime(m) && runtime_worker(p, m) < 0) {
            /* an unusable URL (unresolvable host): like a refused connect */
            balancer_mark_error(m, balancer_now_ms());
            balancer_release(m);
            if (attempts >= max_attempts)
                return 503;
            continue;
        }
        p->m = m;
        attempt_reset(p);
        member_env(p, b, &ch);
        rc = use_worker(p, m->worker);
        if (rc == 0)
            rc = prefetch_body(p);
        if (rc == 0)
            rc = run_attempt(p);
        balancer_account(m, (uint64_t)p->b_out, (uint64_t)p->b_in);
        if (p->connect_failed) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, r->c->client_addr,
                    "%s: member %s put into error state", b->name, m->worker->name);
            balancer_mark_error(m, balancer_now_ms());
        } else if (p->read_timed_out && b->failontimeout > 0) {
            log_msg(MOD_PROXY_BALANCER, LL_ERROR, 0, r->c->client_addr,
                    "%s: forcing worker (%s) into error state due to timeout and 'failontimeout' "
                    "parameter being set",
                    b->name, m->worker->name);
            balancer_mark_error(m, balancer_now_ms());
        }
        balancer_release(m);
        /* A refused or timed out connect fails over (httpd), as long as the whole request
         * can still be sent again: its read-ahead body is kept, the rest is unread. Beyond
         * httpd, so that a member dying under load loses no request: an idempotent request
         * whose connection the member closed or reset before any byte of response. */
        int again = p->connect_failed && rc == 503;
        if (!again && p->no_response && rc == 502 && r->status == 0 && !p->interim_sent &&
            is_idempotent(r->h.m) && (!p->has_body || p->body_complete))
            again = 1;
        if (!again || p->body_started || attempts >= max_attempts)
            return rc;
        log_msg(MOD_PROXY_BALANCER, LL_INFO, 0, r->c->client_addr,
                "%s: trying another member after %s failed (attempt %d of %d)", b->name,
                m->worker->name, attempts + 2, max_attempts + 1);
    }
}

/* A plain worker (its error state was checked on entry). */
static int run_worker(struct px *p)
{
    attempt_reset(p);
    int rc = use_worker(p, p->d->worker);
    if (rc != 0)
        return rc;
    if ((rc = prefetch_body(p)) != 0)
        return rc;
    return run_attempt(p);
}

int proxy_handle(struct request *r, const struct route_decision *d, int64_t deadline)
{
    (void)deadline; /* per-I/O deadlines below, see proxy.h */
    struct conn *c = r->c;
    struct px p = {
        .r = r,
        .d = d,
        .c = c,
        .psc = r->srv->proxy,
        .n_workers = c->conf->proxy ? c->conf->proxy->n_workers : 0,
        .bfd = -1,
        .url = d->url ? d->url : "",
    };
    int rc;
    r->handler = "proxy-server";
    r->filename = arena_printf(r->arena, "proxy:%s", p.url);
    p.client_timeout_ms = r->srv->timeout > 0 ? r->srv->timeout * 1000 : 60000;
    p.timeout_ms = p.client_timeout_ms;
    size_t want =
        p.psc && p.psc->io_buffer_size >= IOBUF_MIN ? (size_t)p.psc->io_buffer_size : IOBUF_DEFAULT;
    if (iobuf_ensure(want) < 0 || (d->worker == NULL && d->balancer == NULL)) {
        rc = 500;
        goto fail;
    }
    /* Plain worker in error: 503 before anything else, the body unread. */
    if (d->balancer == NULL && !backend_pool_usable(d->worker, p.n_workers)) {
        p.w = d->worker;
        log_msg(MOD_PROXY, LL_ERROR, 0, c->client_addr,
                "disabled connection for (%s:%d): worker %s in error state", p.w->host, p.w->port,
                p.w->name);
        rc = 503;
        goto fail;
    }
    /* What the client's Connection header names is taken from its own headers, before
     * RequestHeader: a client must not be able to strip what the admin sets. */
    p.orig = r->h.headers;
    p.n_orig = r->h.n_headers;
    if (connection_tokens(r->arena, r->h.headers, r->h.n_headers, &p.ctok) < 0 ||
        headers_apply_request(r, d) < 0) {
        rc = 500;
        goto fail;
    }
    if (r->h.headers != p.orig && p.ctok.s != NULL &&
        ptrset_build(&p.cvals, r->arena, p.orig, p.n_orig) < 0) {
        rc = 500;
        goto fail;
    }
    p.body_chunked = r->h.chunked;
    p.has_body = r->h.chunked || r->h.content_length > 0;
    p.cl_left = r->h.chunked ? 0 : r->h.content_length > 0 ? r->h.content_length : 0;
    if (p.body_chunked)
        http_chunked_init(&p.ch, 0, 0);
    if (!p.has_body)
        r->body_consumed = 1;
    if ((rc = build_request_head(&p)) != 0)
        goto fail;
    rc = d->balancer != NULL ? run_balancer(&p) : run_worker(&p);
fail:
    if (p.bfd >= 0)
        backend_done(&p, rc);
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
