/* The tunnel after a 101 Switching Protocols (WebSocket and upgrade= protocols): bytes flow
 * both ways unchanged until both sides have closed, or nothing moved for the idle timeout
 * (the worker's timeout, as httpd's mod_proxy_http tunnel uses it). One buffer serves both
 * directions: each read is written out completely before the next poll, so a side that
 * stops reading stalls the tunnel and the idle timeout ends it. */
#include "proxy.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "io.h"
#include "tls.h"
#include "util.h"

int proxy_tunnel_run(int cfd, int bfd, char *buf, size_t cap, int idle_ms, long long *to_client,
                     long long *to_backend)
{
    return proxy_tunnel_run_tls(cfd, NULL, bfd, NULL, buf, cap, idle_ms, to_client, to_backend);
}

/* A TLS side may hold decrypted bytes poll() cannot see, and a readable socket may carry only
 * part of a record: its reads never wait (deadline "now"), a read that gets nothing yet is
 * retried after the next poll. */
int proxy_tunnel_run_tls(int cfd, struct tls_session *ct, int bfd, struct tls_session *bt,
                         char *buf, size_t cap, int idle_ms, long long *to_client,
                         long long *to_backend)
{
    int fds[2] = {cfd, bfd};
    struct tls_session *ts[2] = {ct, bt};
    int open_in[2] = {1, 1};                       /* still reading from side i */
    long long *count[2] = {to_backend, to_client}; /* bytes read from side i go to 1-i */
    while (open_in[0] || open_in[1]) {
        struct pollfd p[2];
        int np = 0, map[2], pending[2] = {0, 0}, any_pending = 0;
        for (int i = 0; i < 2; i++)
            if (open_in[i]) {
                pending[i] = ts[i] != NULL && tio_pending(ts[i]) > 0;
                any_pending |= pending[i];
                p[np] = (struct pollfd){.fd = fds[i], .events = POLLIN};
                map[np++] = i;
            }
        int n = poll(p, (nfds_t)np, any_pending ? 0 : idle_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0 && !any_pending) {
            errno = ETIMEDOUT;
            return -1;
        }
        for (int k = 0; k < np; k++) {
            int i = map[k];
            if (p[k].revents == 0 && !pending[i])
                continue;
            ssize_t got = ts[i] != NULL ? tio_read(fds[i], ts[i], buf, cap, util_now_ms())
                                        : recv(fds[i], buf, cap, MSG_DONTWAIT);
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
                            (ts[i] != NULL && errno == ETIMEDOUT)))
                continue;
            if (got <= 0) {
                /* EOF (or reset): pass the half-close on, keep the other direction going */
                open_in[i] = 0;
                if (got < 0)
                    return -1;
                if (ts[1 - i] != NULL)
                    return 0; /* TLS has no half-close: the caller ends both connections */
                shutdown(fds[1 - i], SHUT_WR);
                continue;
            }
            if (tio_write_all(fds[1 - i], ts[1 - i], buf, (size_t)got, util_now_ms() + idle_ms) < 0)
                return -1;
            if (count[i])
                *count[i] += got;
        }
    }
    return 0;
}
