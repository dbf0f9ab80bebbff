/* The deadline-bounded I/O helpers (src/io.c) on real TCP connections over 127.0.0.1, in
 * both kinds io.h describes: blocking sockets with IO_SLICE_MS timeouts (what workers use
 * for plain connections) and non-blocking ones (TLS, health checks). Deadlines are checked
 * with generous bounds: the point is that no wait ends early, none overshoots by a slice,
 * and none hangs. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "io.h"
#include "tap.h"
#include "util.h"

/* A connected pair: *a from connect(), *b from accept(). The listener carries the slice
 * timeouts, which the accepted socket inherits (as master.c arranges). Returns 0 or -1. */
static int tcp_pair(int *a, int *b, int blocking_accept)
{
    int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sin);
    if (l < 0 || bind(l, (struct sockaddr *)&sin, sizeof(sin)) < 0 || listen(l, 4) < 0 ||
        getsockname(l, (struct sockaddr *)&sin, &len) < 0 || io_set_slice_timeouts(l) < 0)
        return -1;
    *a = io_connect((struct sockaddr *)&sin, sizeof(sin), util_now_ms() + 2000);
    struct sockaddr_storage peer;
    socklen_t plen;
    *b = *a >= 0 ? io_accept(l, &peer, &plen, blocking_accept) : -1;
    close(l);
    return *a >= 0 && *b >= 0 ? 0 : -1;
}

static int is_blocking(int fd)
{
    int fl = fcntl(fd, F_GETFL);
    return fl >= 0 && !(fl & O_NONBLOCK);
}

static void test_wait_flag(void)
{
    is_int(io_wait_flag(IO_NO_DEADLINE), 0, "no deadline: the call may wait");
    is_int(io_wait_flag(util_now_ms() + 5000), 0, "5 s left: the call waits itself");
    is_int(io_wait_flag(util_now_ms() + 300), MSG_DONTWAIT, "300 ms left: MSG_DONTWAIT, poll()");
    is_int(io_wait_flag(util_now_ms() - 1), MSG_DONTWAIT, "past the deadline: MSG_DONTWAIT");
}

/* Reads nothing until the deadline: must fail with ETIMEDOUT within [want, want + 900] ms. */
static void expect_timeout(int fd, int64_t want_ms, const char *what)
{
    char buf[16];
    int64_t t0 = util_now_ms();
    errno = 0;
    ssize_t n = io_read(fd, buf, sizeof(buf), t0 + want_ms);
    int64_t took = util_now_ms() - t0;
    int err = errno;
    ok(n == -1 && err == ETIMEDOUT, "%s: ETIMEDOUT (n=%zd, %s)", what, n, strerror(err));
    ok(took >= want_ms - 5 && took <= want_ms + 900, "%s: after %lld ms (deadline %lld ms)", what,
       (long long)took, (long long)want_ms);
}

static void test_read_deadlines(void)
{
    int a, b;
    if (tcp_pair(&a, &b, 1) < 0) {
        ok(0, "socket pair");
        return;
    }
    ok(is_blocking(b), "accepted without SOCK_NONBLOCK: a blocking socket");
    struct timeval tv;
    socklen_t tl = sizeof(tv);
    ok(getsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv, &tl) == 0 &&
           tv.tv_sec * 1000 + tv.tv_usec / 1000 == IO_SLICE_MS,
       "SO_RCVTIMEO inherited from the listener: one slice");
    expect_timeout(b, 300, "blocking, 300 ms (poll path)");
    expect_timeout(b, 1700, "blocking, 1.7 s (a slice in recv, the rest in poll)");

    /* Data already there: returned at once, whatever the deadline. */
    char buf[64];
    ok(write(a, "hello", 5) == 5, "peer writes 5 bytes");
    int64_t t0 = util_now_ms();
    ssize_t n = io_read(b, buf, sizeof(buf), t0 + 10000);
    ok(n == 5 && memcmp(buf, "hello", 5) == 0 && util_now_ms() - t0 < 500,
       "blocking read with 10 s left returns the bytes at once");

    /* Data arriving while the call waits inside recv(). */
    pid_t pid = fork();
    if (pid == 0) {
        usleep(200000);
        (void)!write(a, "late", 4);
        _exit(0);
    }
    t0 = util_now_ms();
    n = io_read(b, buf, sizeof(buf), t0 + 10000);
    int64_t took = util_now_ms() - t0;
    ok(n == 4 && memcmp(buf, "late", 4) == 0, "bytes sent 200 ms later are read");
    ok(took >= 150 && took < 900, "... when they arrive (%lld ms), not at the slice's end",
       (long long)took);
    waitpid(pid, NULL, 0);

    close(a);
    t0 = util_now_ms();
    n = io_read(b, buf, sizeof(buf), t0 + 10000);
    ok(n == 0 && util_now_ms() - t0 < 500, "EOF is returned at once (n=%zd)", n);
    close(b);
}

static void test_nonblocking(void)
{
    int a, b;
    if (tcp_pair(&a, &b, 0) < 0) {
        ok(0, "socket pair");
        return;
    }
    ok(!is_blocking(b), "accepted with SOCK_NONBLOCK (TLS listeners)");
    ok(!is_blocking(a), "io_connect returns a non-blocking socket");
    expect_timeout(b, 300, "non-blocking, 300 ms");
    expect_timeout(b, 1300, "non-blocking, 1.3 s");
    ok(io_make_blocking(a) == 0 && is_blocking(a), "io_make_blocking clears O_NONBLOCK");
    expect_timeout(a, 1300, "made blocking, 1.3 s");
    close(a);
    close(b);
}

/* A peer that never reads: the writer fills both buffers, then must give up at the deadline
 * with ETIMEDOUT, in both kinds of socket. */
static void test_write_deadline(int blocking)
{
    int a, b;
    if (tcp_pair(&a, &b, blocking) < 0) {
        ok(0, "socket pair");
        return;
    }
    int small = 4096;
    setsockopt(b, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    setsockopt(a, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    size_t big = 8u << 20;
    char *buf = calloc(1, big);
    int64_t t0 = util_now_ms();
    errno = 0;
    int rc = buf != NULL ? io_write_all(b, buf, big, t0 + 1500) : 0;
    int64_t took = util_now_ms() - t0;
    int err = errno;
    ok(rc == -1 && err == ETIMEDOUT, "%s: a write nobody reads fails with ETIMEDOUT (%s)",
       blocking ? "blocking" : "non-blocking", strerror(err));
    ok(took >= 1490 && took <= 2100, "... at the deadline (%lld ms of 1500)", (long long)took);

    /* writev of everything once the peer reads: all bytes arrive in order. */
    close(a);
    close(b);
    if (tcp_pair(&a, &b, blocking) < 0) {
        ok(0, "socket pair");
        free(buf);
        return;
    }
    size_t part = 300000;
    for (size_t i = 0; i < 3 * part && buf != NULL; i++)
        buf[i] = (char)(i * 31 + 7);
    struct iovec iov[3] = {{buf, part}, {buf + part, part}, {buf + 2 * part, part}};
    pid_t pid = fork();
    if (pid == 0) {
        close(b);
        char *got = malloc(3 * part);
        size_t have = 0;
        int64_t deadline = util_now_ms() + 10000;
        /* a came from io_connect: non-blocking, so read through the deadline helper. */
        while (got != NULL && have < 3 * part) {
            ssize_t n = io_read(a, got + have, 3 * part - have, deadline);
            if (n <= 0)
                break;
            have += (size_t)n;
        }
        _exit(have == 3 * part && memcmp(got, buf, have) == 0 ? 0 : 1);
    }
    close(a);
    rc = io_writev_all(b, iov, 3, util_now_ms() + 5000);
    close(b);
    int status = -1;
    waitpid(pid, &status, 0);
    ok(rc == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "%s: writev of 900 KB in three pieces arrives whole and in order",
       blocking ? "blocking" : "non-blocking");
    free(buf);
}

static void test_pipe_fallback(void)
{
    int p[2];
    if (pipe(p) < 0) {
        ok(0, "pipe");
        return;
    }
    char buf[8];
    ok(io_write_all(p[1], "pipe", 4, util_now_ms() + 1000) == 0, "io_write_all on a pipe");
    ssize_t n = io_read(p[0], buf, sizeof(buf), util_now_ms() + 1000);
    ok(n == 4 && memcmp(buf, "pipe", 4) == 0, "io_read on a pipe (ENOTSOCK: read() instead)");
    close(p[0]);
    close(p[1]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    test_wait_flag();
    test_read_deadlines();
    test_nonblocking();
    test_write_deadline(1);
    test_write_deadline(0);
    test_pipe_fallback();
    return tap_done();
}
