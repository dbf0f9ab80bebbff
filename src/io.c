/* Deadline-bounded socket I/O (see io.h). Each helper tries the call first and only polls
 * when the kernel says EAGAIN, so the common case costs one system call; on a blocking socket
 * with slice timeouts the call itself also does the waiting. */
#include "io.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "util.h"

int io_wait(int fd, short events, int64_t deadline)
{
    struct pollfd pfd = {.fd = fd, .events = events};
    for (;;) {
        int timeout = -1;
        if (deadline != IO_NO_DEADLINE) {
            int64_t left = deadline - util_now_ms();
            if (left <= 0)
                return 0;
            timeout = left > 3600000 ? 3600000 : (int)left;
        }
        int n = poll(&pfd, 1, timeout);
        if (n > 0)
            return 1; /* readable, writable, or an error the next call reports */
        if (n == 0) {
            if (deadline == IO_NO_DEADLINE)
                continue;
            if (util_now_ms() >= deadline)
                return 0;
            continue;
        }
        if (errno != EINTR)
            return -1;
    }
}

int io_wait_flag(int64_t deadline)
{
    if (deadline == IO_NO_DEADLINE)
        return 0;
    return deadline - util_now_ms() >= IO_SLICE_MS ? 0 : MSG_DONTWAIT;
}

int io_set_slice_timeouts(int fd)
{
    struct timeval tv = {.tv_sec = IO_SLICE_MS / 1000, .tv_usec = (IO_SLICE_MS % 1000) * 1000};
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
        return -1;
    return 0;
}

int io_make_blocking(int fd)
{
    /* Sockets carry no other status flag portico sets, so 0 only clears O_NONBLOCK. */
    if (io_set_slice_timeouts(fd) < 0 || fcntl(fd, F_SETFL, 0) < 0)
        return -1;
    return 0;
}

ssize_t io_read(int fd, void *buf, size_t len, int64_t deadline)
{
    int not_socket = 0;
    for (;;) {
        ssize_t n = not_socket ? read(fd, buf, len) : recv(fd, buf, len, io_wait_flag(deadline));
        if (n < 0 && errno == ENOTSOCK) {
            not_socket = 1; /* a pipe or a file */
            continue;
        }
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        int r = io_wait(fd, POLLIN, deadline);
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (r < 0)
            return -1;
    }
}

int io_write_all(int fd, const void *buf, size_t len, int64_t deadline)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL | io_wait_flag(deadline));
        if (n < 0 && errno == ENOTSOCK)
            n = write(fd, p, len);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return -1;
        int r = io_wait(fd, POLLOUT, deadline);
        if (r == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (r < 0)
            return -1;
    }
    return 0;
}

int io_writev_all(int fd, struct iovec *iov, int iovcnt, int64_t deadline)
{
    while (iovcnt > 0) {
        if (iov->iov_len == 0) {
            iov++;
            iovcnt--;
            continue;
        }
        struct msghdr msg = {.msg_iov = iov, .msg_iovlen = (size_t)iovcnt};
        ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL | io_wait_flag(deadline));
        if (n < 0 && errno == ENOTSOCK)
            n = writev(fd, iov, iovcnt);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK)
                return -1;
            int r = io_wait(fd, POLLOUT, deadline);
            if (r == 0) {
                errno = ETIMEDOUT;
                return -1;
            }
            if (r < 0)
                return -1;
            continue;
        }
        size_t done = (size_t)n;
        while (iovcnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return 0;
}

int io_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0)
        return -1;
    return fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

int io_connect(const struct sockaddr *sa, socklen_t salen, int64_t deadline)
{
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, sa, salen) == 0)
        return fd;
    if (errno != EINPROGRESS && errno != EINTR)
        goto fail;
    int r = io_wait(fd, POLLOUT, deadline);
    if (r <= 0) {
        if (r == 0)
            errno = ETIMEDOUT;
        goto fail;
    }
    int soerr = 0;
    socklen_t len = sizeof(soerr);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
        goto fail;
    if (soerr != 0) {
        errno = soerr;
        goto fail;
    }
    return fd;
fail:;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

int io_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen, int blocking)
{
    for (;;) {
        *peerlen = sizeof(*peer);
        int fd = accept4(lfd, (struct sockaddr *)peer, peerlen,
                         blocking ? SOCK_CLOEXEC : SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd >= 0)
            return fd;
        if (errno == EINTR || errno == ECONNABORTED)
            continue;
        return -1;
    }
}
