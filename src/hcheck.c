/* Active health checks (mod_proxy_hcheck) for every BalancerMember with hcmethod, run inside
 * the heartbeat process. All checks are non-blocking and share heartbeat_main's poll loop:
 * a member that blackholes its SYNs must not delay the other members' checks nor the
 * heartbeat datagrams, which sequential checks (httpd with ProxyHCTPsize 0) would do.
 *
 * One check in flight per member: connect (bounded by connectiontimeout), send the probe,
 * read the response head (bounded by timeout), decide, then drain the rest of the response
 * politely (same deadline, at most DRAIN_MAX bytes) before closing. The result goes through
 * hcheck_apply() and into the member's slot; MEMBER_HCFAIL is set and cleared with atomic
 * bit operations so the workers' own E/flag updates are never overwritten. */
#include <errno.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "balancer_slot.h"
#include "conn.h"
#include "headers.h"
#include "heartbeat.h"
#include "http_response.h"
#include "log.h"
#include "proxy_types.h"
#include "tls.h"
#include "util.h"

#define HC_MIN_INTERVAL_MS 100
#define HC_HEAD_MAX        16384
#define HC_REQ_MAX         2048
#define DRAIN_MAX          (1024 * 1024)

enum hc_state { ST_IDLE, ST_CONNECTING, ST_HANDSHAKE, ST_SENDING, ST_READING, ST_DRAINING };

struct hc_target {
    const struct proxy_member *m;
    struct balancer_slot *slot;
    enum hc_method method;
    int tcp_only;
    int use_tls;                   /* https/wss member checked over HTTP: TLS handshake first */
    const struct conf_server *srv; /* whose SSLProxy* settings (the main server's) */
    struct tls_session *tls;       /* in flight */
    short want;                    /* TLS: poll events the session waits for */
    int interval_ms, need_passes, need_fails;
    int connect_ms, timeout_ms;
    const struct headers_expr *expr; /* hcexpr, NULL = 2xx/3xx passes */
    char req[HC_REQ_MAX];
    int req_len;
    /* in flight */
    enum hc_state st;
    int fd;
    int64_t next_ms;  /* monotonic: when the next check starts */
    int64_t deadline; /* monotonic: end of the current phase */
    int64_t started;
    size_t sent;
    size_t drained;
    long long body_len; /* body bytes to expect after the head; -1 = until the close */
    char *buf;          /* HC_HEAD_MAX + 1, allocated on first HTTP check */
    size_t len;
};

struct hc_expr_cache {
    const struct proxy_hcexpr *def;
    const struct headers_expr *e;
};

struct hcheck_set {
    struct hc_expr_cache *exprs;
    unsigned n_exprs;
    struct hc_target *t;
    unsigned n;
    struct arena *arena; /* compiled expressions */
    struct arena *eval;  /* response parsing and expression evaluation, reset per check */
    int64_t base_timeout_ms;
};

static int64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The member's ProxyHCExpr, compiled once per expression into the set's arena; NULL when
 * there is none or it does not compile (logged: the check then judges by status). */
static const struct headers_expr *find_expr(struct hcheck_set *hs, const struct conf *conf,
                                            const struct proxy_member *m)
{
    const struct proxy_hcexpr *def = m->hcexpr_def;
    if (def == NULL && conf->proxy != NULL)
        for (const struct proxy_hcexpr *x = conf->proxy->hcexprs; x != NULL; x = x->next)
            if (util_strcaseeq(x->name, m->hcexpr))
                def = x;
    if (def == NULL) {
        log_msg(MOD_PROXY_HCHECK, LL_ERROR, 0, NULL,
                "unknown health check condition expr: %s (the check uses the status)", m->hcexpr);
        return NULL;
    }
    for (unsigned i = 0; i < hs->n_exprs; i++)
        if (hs->exprs[i].def == def)
            return hs->exprs[i].e;
    char err[256];
    const struct headers_expr *e = headers_expr_parse(hs->arena, def->expr, 0, err, sizeof(err));
    if (e == NULL) {
        log_msg(MOD_PROXY_HCHECK, LL_ERROR, 0, NULL,
                "could not parse expression \"%s\" of ProxyHCExpr %s: %s (the check uses the "
                "status)",
                def->expr, def->name, err);
        return NULL;
    }
    struct hc_expr_cache *c = arena_alloc(hs->arena, (hs->n_exprs + 1) * sizeof(*c));
    if (c != NULL) {
        if (hs->n_exprs > 0)
            memcpy(c, hs->exprs, hs->n_exprs * sizeof(*c));
        c[hs->n_exprs].def = def;
        c[hs->n_exprs].e = e;
        hs->exprs = c;
        hs->n_exprs++;
    }
    return e;
}

struct hcheck_set *hcheck_create(const struct conf *conf, struct slotmem *sm)
{
    struct hcheck_set *hs = calloc(1, sizeof(*hs));
    if (hs == NULL)
        return NULL;
    hs->arena = arena_create(4096);
    hs->eval = arena_create(8192);
    if (hs->arena == NULL || hs->eval == NULL)
        goto fail;
    const struct conf_server *ms = conf->main;
    hs->base_timeout_ms = ms->proxy != NULL && ms->proxy->timeout_ms > 0
                              ? ms->proxy->timeout_ms
                              : (int64_t)ms->timeout * 1000;
    if (conf->proxy == NULL || sm == NULL)
        return hs;
    unsigned count = 0;
    for (const struct proxy_balancer *b = conf->proxy->balancers; b; b = b->next)
        for (const struct proxy_member *m = b->members; m; m = m->next)
            if (hcheck_method_parse(m->hcmethod) > HC_NONE)
                count++;
    if (count == 0)
        return hs;
    hs->t = calloc(count, sizeof(*hs->t));
    if (hs->t == NULL)
        goto fail;
    int64_t now = util_now_ms();
    for (const struct proxy_balancer *b = conf->proxy->balancers; b; b = b->next)
        for (const struct proxy_member *m = b->members; m; m = m->next) {
            int method = hcheck_method_parse(m->hcmethod);
            if (method <= HC_NONE)
                continue;
            struct balancer_slot *slot = balancer_shm_slot(sm, m->slot);
            if (slot == NULL) {
                log_msg(MOD_PROXY_HCHECK, LL_ERROR, 0, NULL,
                        "%s: member %s has no slot %u: not checked", b->name, m->worker->name,
                        m->slot);
                continue;
            }
            struct hc_target *t = &hs->t[hs->n++];
            const struct proxy_worker *w = m->worker;
            t->m = m;
            t->slot = slot;
            t->method = (enum hc_method)method;
            t->fd = -1;
            t->next_ms = now; /* httpd checks every member at once when it starts */
            t->interval_ms = m->hcinterval_ms > 0 ? m->hcinterval_ms : 30000;
            if (t->interval_ms < HC_MIN_INTERVAL_MS)
                t->interval_ms = HC_MIN_INTERVAL_MS;
            t->need_passes = m->hcpasses >= 0 ? m->hcpasses : 1;
            t->need_fails = m->hcfails >= 0 ? m->hcfails : 1;
            t->timeout_ms = w->timeout_ms != CONF_UNSET ? w->timeout_ms : (int)hs->base_timeout_ms;
            t->connect_ms =
                w->connect_timeout_ms != CONF_UNSET ? w->connect_timeout_ms : t->timeout_ms;
            if (t->timeout_ms <= 0)
                t->timeout_ms = 60000;
            if (t->connect_ms <= 0)
                t->connect_ms = t->timeout_ms;
            /* httpd: TCP checks only connect; HTTP checks of https members go over TLS
             * with the SSLProxy* settings (the main server's and the member's <Proxy>) */
            if (t->method != HC_TCP &&
                (util_strcaseeq(w->scheme, "https") || util_strcaseeq(w->scheme, "wss"))) {
                t->use_tls = 1;
                t->srv = conf->main;
            }
            if (t->method != HC_TCP && !t->tcp_only) {
                t->req_len = hcheck_build_request(t->req, sizeof(t->req), t->method, w->host,
                                                  w->port, w->path, m->hcuri);
                if (t->req_len < 0) {
                    log_msg(MOD_PROXY_HCHECK, LL_ERROR, 0, NULL,
                            "%s: health check request for %s too long: TCP check instead", b->name,
                            w->name);
                    t->tcp_only = 1;
                }
            }
            if (m->hcexpr != NULL && m->hcexpr[0] != '\0' && t->method != HC_TCP)
                t->expr = find_expr(hs, conf, m);
            log_msg(MOD_PROXY_HCHECK, LL_DEBUG, 0, NULL,
                    "%s: checking %s with %s every %d ms (passes %d, fails %d, connect %d ms, "
                    "timeout %d ms)",
                    b->name, w->name, t->tcp_only ? "TCP" : m->hcmethod, t->interval_ms,
                    t->need_passes, t->need_fails, t->connect_ms, t->timeout_ms);
        }
    return hs;
fail:
    hcheck_destroy(hs);
    return NULL;
}

unsigned hcheck_count(const struct hcheck_set *hs)
{
    return hs != NULL ? hs->n : 0;
}

static void close_fd(struct hc_target *t)
{
    if (t->tls != NULL)
        tls_client_free(t->tls);
    t->tls = NULL;
    if (t->fd >= 0)
        close(t->fd);
    t->fd = -1;
}

/* Records one result in the slot and schedules the next check. */
static void finish(struct hcheck_set *hs, struct hc_target *t, int ok, int64_t now,
                   const char *what)
{
    struct balancer_slot *s = t->slot;
    unsigned status = atomic_load(&s->status);
    int passes = atomic_load(&s->hc_passes), fails = atomic_load(&s->hc_fails);
    int change = hcheck_apply(&status, &passes, &fails, ok, t->need_passes, t->need_fails);
    if (change > 0)
        atomic_fetch_or(&s->status, MEMBER_HCFAIL);
    else if (change < 0)
        atomic_fetch_and(&s->status, ~(MEMBER_HCFAIL | MEMBER_ERROR));
    atomic_store(&s->hc_passes, passes);
    atomic_store(&s->hc_fails, fails);
    atomic_store(&s->hc_last_ok, ok ? 1 : 0);
    atomic_store(&s->hc_last_ms, realtime_ms());
    const char *bname = t->m->balancer != NULL ? t->m->balancer->name : "";
    if (change > 0)
        log_msg(MOD_PROXY_HCHECK, LL_WARN, 0, NULL, "%s: health check DISABLING %s: %s", bname,
                t->m->worker->name, what);
    else if (change < 0)
        log_msg(MOD_PROXY_HCHECK, LL_WARN, 0, NULL, "%s: health check ENABLING %s", bname,
                t->m->worker->name);
    else
        log_msg(MOD_PROXY_HCHECK, LL_DEBUG, 0, NULL, "%s: health check of %s %s: %s", bname,
                t->m->worker->name, ok ? "passed" : "failed", what);
    /* httpd: the next check is due `interval` after this one started; never overlap. */
    t->next_ms = t->started + t->interval_ms;
    if (t->next_ms < now)
        t->next_ms = now;
    t->len = 0;
    t->sent = 0;
    t->drained = 0;
    arena_reset(hs->eval);
}

/* Opens the socket and starts a non-blocking connect. */
static void start(struct hcheck_set *hs, struct hc_target *t, int64_t now)
{
    const struct proxy_worker *w = t->m->worker;
    t->started = now;
    t->len = t->sent = t->drained = 0;
    t->fd = socket(w->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (t->fd < 0) {
        /* Our own shortage (EMFILE...), not the member's fault: try again later. */
        log_msg(MOD_PROXY_HCHECK, LL_ERROR, errno, NULL, "health check socket for %s", w->name);
        t->next_ms = now + t->interval_ms;
        return;
    }
    if (connect(t->fd, (const struct sockaddr *)&w->addr, w->addrlen) == 0) {
        t->st = ST_CONNECTING; /* completes on the first POLLOUT */
    } else if (errno == EINPROGRESS) {
        t->st = ST_CONNECTING;
    } else {
        int e = errno;
        close_fd(t);
        t->st = ST_IDLE;
        finish(hs, t, 0, now, strerror(e));
        return;
    }
    t->deadline = now + t->connect_ms;
}

int hcheck_prepare(struct hcheck_set *hs, struct pollfd *pfd, int max, int64_t now,
                   int64_t *wake_ms)
{
    int n = 0;
    if (hs == NULL)
        return 0;
    for (unsigned i = 0; i < hs->n; i++) {
        struct hc_target *t = &hs->t[i];
        if (t->st == ST_IDLE && now >= t->next_ms) {
            /* httpd skips stopped members; the flag may change at run time. */
            if (atomic_load(&t->slot->status) & MEMBER_STOPPED)
                t->next_ms = now + t->interval_ms;
            else
                start(hs, t, now);
        }
        if (t->st == ST_IDLE) {
            if (t->next_ms < *wake_ms)
                *wake_ms = t->next_ms;
            continue;
        }
        if (t->deadline < *wake_ms)
            *wake_ms = t->deadline;
        if (n >= max)
            continue; /* cannot happen: the caller sizes pfd by hcheck_count */
        pfd[n].fd = t->fd;
        if (t->tls != NULL && t->st != ST_CONNECTING)
            pfd[n].events = t->want;
        else
            pfd[n].events = t->st == ST_CONNECTING || t->st == ST_SENDING ? POLLOUT : POLLIN;
        pfd[n].revents = 0;
        n++;
    }
    return n;
}

/* The response head is complete in t->buf[0..head): pass or fail. */
static int judge(struct hcheck_set *hs, struct hc_target *t, size_t head, const char **what)
{
    t->body_len = -1;
    struct http_response resp;
    const char *reason = NULL;
    struct http_response_limits lim = {HC_HEAD_MAX, 100, HC_HEAD_MAX, HTTP_BAD_HEADER_ERROR};
    int head_req = t->method == HC_HEAD || t->method == HC_HEAD11;
    if (http_response_parse(t->buf, head, &lim, head_req, hs->eval, &resp, &reason) < 0) {
        *what = reason != NULL ? reason : "invalid response";
        return 0;
    }
    /* A member that keeps the connection open after a sized body must not stall the
     * next check until it closes: the check ends when the body is read. */
    if (resp.framing == HTTP_BODY_NONE)
        t->body_len = 0;
    else if (resp.framing == HTTP_BODY_LENGTH)
        t->body_len = resp.content_length;
    if (t->expr != NULL) {
        struct request r;
        memset(&r, 0, sizeof(r));
        r.arena = hs->eval;
        r.status = resp.status;
        clock_gettime(CLOCK_REALTIME, &r.start);
        int ok = headers_expr_eval(t->expr, &r, resp.status, resp.headers, resp.n_headers);
        *what = ok ? "condition passed" : "condition failed";
        return ok;
    }
    static char msg[32];
    snprintf(msg, sizeof(msg), "status %d", resp.status);
    *what = msg;
    return resp.status >= 200 && resp.status <= 399;
}

static void step(struct hcheck_set *hs, struct hc_target *t, short revents, int64_t now)
{
    if (t->st == ST_CONNECTING) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(t->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
            err = errno;
        if (err == 0 && !(revents & (POLLOUT | POLLERR | POLLHUP)))
            return; /* spurious */
        /* A peer that accepted and closed at once still connected (httpd's TCP check
         * passes it); only an error without POLLOUT means the connect failed. */
        if (err != 0 || !(revents & POLLOUT)) {
            close_fd(t);
            t->st = ST_IDLE;
            finish(hs, t, 0, now, err != 0 ? strerror(err) : "connect failed");
            return;
        }
        if (t->method == HC_TCP || t->tcp_only) {
            close_fd(t);
            t->st = ST_IDLE;
            finish(hs, t, 1, now, "connected");
            return;
        }
        if (t->buf == NULL && (t->buf = malloc(HC_HEAD_MAX + 1)) == NULL) {
            close_fd(t);
            t->st = ST_IDLE;
            log_msg(MOD_PROXY_HCHECK, LL_ERROR, ENOMEM, NULL, "health check buffer");
            t->next_ms = now + t->interval_ms;
            return;
        }
        t->deadline = now + t->timeout_ms;
        if (t->use_tls) {
            char why[512];
            t->tls = tls_client_start(t->fd, t->srv, t->m->worker, why, sizeof(why));
            if (t->tls == NULL) {
                close_fd(t);
                t->st = ST_IDLE;
                finish(hs, t, 0, now, why);
                return;
            }
            t->st = ST_HANDSHAKE;
        } else {
            t->st = ST_SENDING;
        }
    }
    if (t->st == ST_HANDSHAKE) {
        char err[512];
        int r = tls_client_handshake_step(t->tls, t->srv, t->m->worker, &t->want, err, sizeof(err));
        if (r == 0)
            return;
        if (r < 0) {
            close_fd(t);
            t->st = ST_IDLE;
            finish(hs, t, 0, now, err);
            return;
        }
        t->st = ST_SENDING;
        t->want = POLLOUT;
    }
    if (t->st == ST_SENDING) {
        ssize_t k = t->tls != NULL
                        ? tls_client_nb_io(t->tls, 1, t->req + t->sent,
                                           (size_t)t->req_len - t->sent, &t->want)
                        : send(t->fd, t->req + t->sent, (size_t)t->req_len - t->sent, MSG_NOSIGNAL);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (k < 0) {
            int e = errno;
            close_fd(t);
            t->st = ST_IDLE;
            finish(hs, t, 0, now, strerror(e));
            return;
        }
        t->sent += (size_t)k;
        if (t->sent < (size_t)t->req_len)
            return;
        t->st = ST_READING;
        t->want = POLLIN;
        return;
    }
    if (t->st == ST_READING) {
        ssize_t k = t->tls != NULL ? tls_client_nb_io(t->tls, 0, t->buf + t->len,
                                                      HC_HEAD_MAX - t->len, &t->want)
                                   : recv(t->fd, t->buf + t->len, HC_HEAD_MAX - t->len, 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (k <= 0) {
            int e = k < 0 ? errno : 0;
            close_fd(t);
            t->st = ST_IDLE;
            finish(hs, t, 0, now, e ? strerror(e) : "connection closed before the response head");
            return;
        }
        t->len += (size_t)k;
        struct http_response_limits lim = {HC_HEAD_MAX, 100, HC_HEAD_MAX, HTTP_BAD_HEADER_ERROR};
        ssize_t head = http_response_head_end(t->buf, t->len, &lim);
        if (head == 0 && t->len < HC_HEAD_MAX)
            return;
        const char *what = "response head too large or invalid";
        int ok = head > 0 ? judge(hs, t, (size_t)head, &what) : 0;
        size_t body = t->len - (head > 0 ? (size_t)head : 0);
        finish(hs, t, ok, now, what);
        t->drained = body;
        t->st = ST_DRAINING;
        if (head <= 0 || (t->body_len >= 0 && (long long)t->drained >= t->body_len)) {
            close_fd(t);
            t->st = ST_IDLE;
        }
        return;
    }
    if (t->st == ST_DRAINING) {
        char sink[4096];
        ssize_t k = t->tls != NULL ? tls_client_nb_io(t->tls, 0, sink, sizeof(sink), &t->want)
                                   : recv(t->fd, sink, sizeof(sink), 0);
        if (k < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (k > 0)
            t->drained += (size_t)k;
        if (k <= 0 || t->drained > DRAIN_MAX ||
            (t->body_len >= 0 && (long long)t->drained >= t->body_len)) {
            close_fd(t);
            t->st = ST_IDLE;
        }
    }
}

void hcheck_advance(struct hcheck_set *hs, const struct pollfd *pfd, int n, int64_t now)
{
    if (hs == NULL)
        return;
    int k = 0;
    for (unsigned i = 0; i < hs->n; i++) {
        struct hc_target *t = &hs->t[i];
        if (t->st == ST_IDLE)
            continue;
        /* prepare listed the in-flight targets in this order; a target started by
         * prepare after the poll cannot exist (advance runs right after poll). */
        short rev = 0;
        if (k < n && pfd[k].fd == t->fd)
            rev = pfd[k++].revents;
        if (rev != 0)
            step(hs, t, rev, now);
        if (t->st != ST_IDLE && now >= t->deadline) {
            enum hc_state st = t->st;
            close_fd(t);
            t->st = ST_IDLE;
            if (st != ST_DRAINING)
                finish(hs, t, 0, now,
                       st == ST_CONNECTING  ? "connect timed out"
                       : st == ST_HANDSHAKE ? "TLS handshake timed out"
                                            : "response timed out");
        }
    }
}

void hcheck_destroy(struct hcheck_set *hs)
{
    if (hs == NULL)
        return;
    for (unsigned i = 0; i < hs->n; i++) {
        close_fd(&hs->t[i]);
        free(hs->t[i].buf);
    }
    free(hs->t);
    if (hs->arena != NULL)
        arena_destroy(hs->arena);
    if (hs->eval != NULL)
        arena_destroy(hs->eval);
    free(hs);
}
