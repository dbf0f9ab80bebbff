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
#include "util.h"

int proxy_tunnel_run(int cfd, int bfd, char *buf, size_t cap, int idle_ms, long long *to_client,
                     long long *to_backend)
{
    int fds[2] = {cfd, bfd};
    int open_in[2] = {1, 1};                       /* still reading from side i */
    long long *count[2] = {to_backend, to_client}; /* bytes read from side i go to 1-i */
    while (open_in[0] || open_in[1]) {
        struct pollfd p[2];
        int np = 0, map[2];
        for (int i = 0; i < 2; i++)
            if (open_in[i]) {
                p[np] = (struct pollfd){.fd = fds[i], .events = POLLIN};
                map[np++] = i;
            }
        int n = poll(p, (nfds_t)np, idle_ms);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        for (int k = 0; k < np; k++) {
            if (p[k].revents == 0)
                continue;
            int i = map[k];
            ssize_t got = read(fds[i], buf, cap);
            if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                continue;
            if (got <= 0) {
                /* EOF (or reset): pass the half-close on, keep the other direction going */
                open_in[i] = 0;
                shutdown(fds[1 - i], SHUT_WR);
                if (got < 0)
                    return -1;
                continue;
            }
            if (io_write_all(fds[1 - i], buf, (size_t)got, util_now_ms() + idle_ms) < 0)
                return -1;
            if (count[i])
                *count[i] += got;
        }
    }
    return 0;
}
