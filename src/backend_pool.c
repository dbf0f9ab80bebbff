/* Backend connection pool and error state, per worker process (see backend_pool.h).
 *
 * A prefork child serves one client at a time, so its pool for one backend rarely holds more
 * than one connection (httpd's prefork default max=1). Idle connections are kept LIFO: the
 * most recently used one is the least likely to have been closed by the backend's own
 * keep-alive timeout. */
#include "backend_pool.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tls.h"
#include "util.h"

#define POOL_HARD_MAX 64 /* bound for max= so a config typo cannot hoard fds */

struct pool_idle {
    int fd;
    struct tls_session *tls;
    int64_t since_ms;
};

/* close_notify only waits this long: a backend that does not read is not worth more. */
#define CLOSE_NOTIFY_MS 100

void backend_conn_close(int fd, struct tls_session *tls)
{
    if (tls != NULL)
        tls_session_end(tls, fd, util_now_ms() + CLOSE_NOTIFY_MS);
    if (fd >= 0)
        close(fd);
}

struct pool_slot {
    struct pool_idle *idle;
    int n;
    int cap;
    int in_error;
    int64_t error_since_ms;
};

static struct pool_slot *slots;
static unsigned n_slots;

static struct pool_slot *slot_for(const struct proxy_worker *w, unsigned n_workers)
{
    if (w->index >= n_slots) {
        unsigned n = n_workers > w->index ? n_workers : w->index + 1;
        struct pool_slot *ns = realloc(slots, sizeof(*ns) * n);
        if (ns == NULL)
            return NULL;
        for (unsigned i = n_slots; i < n; i++)
            ns[i] = (struct pool_slot){0};
        slots = ns;
        n_slots = n;
    }
    return &slots[w->index];
}

/* Anything to read while no request is outstanding means EOF, an error, or bytes the backend
 * sent past the end of its last response: none of these connections can carry a request. A
 * surplus response left in the socket would otherwise be read as the answer to the next
 * request, possibly another client's. Checked when the connection is taken, which also sees
 * bytes that came with the end of the last body: one system call per reuse, not two. */
static int still_idle(int fd, struct tls_session *tls)
{
    if (tls != NULL)
        return tls_client_idle(tls, fd);
    char c;
    for (int i = 0; i < 4; i++) {
        ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    }
    return 0;
}

int backend_pool_get(const struct proxy_worker *w, unsigned n_workers, struct tls_session **tls)
{
    *tls = NULL;
    struct pool_slot *s = slot_for(w, n_workers);
    if (s == NULL)
        return -1;
    int64_t now = util_now_ms();
    while (s->n > 0) {
        struct pool_idle e = s->idle[--s->n];
        if ((w->ttl_ms > 0 && now - e.since_ms >= w->ttl_ms) || !still_idle(e.fd, e.tls)) {
            backend_conn_close(e.fd, e.tls);
            continue;
        }
        *tls = e.tls;
        return e.fd;
    }
    return -1;
}

void backend_pool_put(const struct proxy_worker *w, unsigned n_workers, int fd,
                      struct tls_session *tls)
{
    struct pool_slot *s = slot_for(w, n_workers);
    /* max=0 means the default in httpd (threads per child: 1 under prefork) */
    int max = w->max > 0 ? w->max : 1;
    if (max > POOL_HARD_MAX)
        max = POOL_HARD_MAX;
    if (s == NULL || w->disablereuse > 0) {
        backend_conn_close(fd, tls);
        return;
    }
    if (s->n >= max) {
        /* keep the fresh one: drop the oldest */
        backend_conn_close(s->idle[0].fd, s->idle[0].tls);
        for (int i = 1; i < s->n; i++)
            s->idle[i - 1] = s->idle[i];
        s->n--;
    }
    if (s->n == s->cap) {
        int ncap = s->cap ? s->cap * 2 : 2;
        struct pool_idle *ni = realloc(s->idle, sizeof(*ni) * (size_t)ncap);
        if (ni == NULL) {
            backend_conn_close(fd, tls);
            return;
        }
        s->idle = ni;
        s->cap = ncap;
    }
    s->idle[s->n++] = (struct pool_idle){fd, tls, util_now_ms()};
}

int backend_pool_usable(const struct proxy_worker *w, unsigned n_workers)
{
    struct pool_slot *s = slot_for(w, n_workers);
    if (s == NULL || !s->in_error)
        return 1;
    int64_t retry = w->retry_ms >= 0 ? w->retry_ms : 60000;
    if (util_now_ms() - s->error_since_ms >= retry)
        return 1; /* the next request is the retry; a failure sets the error again */
    return 0;
}

void backend_pool_set_error(const struct proxy_worker *w, unsigned n_workers)
{
    struct pool_slot *s = slot_for(w, n_workers);
    if (s == NULL)
        return;
    s->in_error = 1;
    s->error_since_ms = util_now_ms();
}

void backend_pool_clear_error(const struct proxy_worker *w, unsigned n_workers)
{
    struct pool_slot *s = slot_for(w, n_workers);
    if (s != NULL)
        s->in_error = 0;
}

void backend_pool_close_all(void)
{
    for (unsigned i = 0; i < n_slots; i++) {
        for (int k = 0; k < slots[i].n; k++)
            backend_conn_close(slots[i].idle[k].fd, slots[i].idle[k].tls);
        free(slots[i].idle);
    }
    free(slots);
    slots = NULL;
    n_slots = 0;
}
