/* Blocking-with-deadline socket I/O. Every wait in portico goes through these helpers:
 * try the call, poll() for what is left of an absolute CLOCK_MONOTONIC deadline (ms, from
 * util_now_ms()), retry on EINTR, fail with errno = ETIMEDOUT when the deadline passes.
 * A deadline of IO_NO_DEADLINE waits forever (only the master uses it). */
#ifndef PORTICO_IO_H
#define PORTICO_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define IO_NO_DEADLINE INT64_MAX

/* Waits until fd is readable (events = POLLIN) or writable (POLLOUT).
 * Returns 1 ready, 0 on deadline, -1 on error (errno). */
int io_wait(int fd, short events, int64_t deadline);

/* Reads at most len bytes; returns bytes read (>0), 0 on EOF, -1 on error or deadline
 * (errno = ETIMEDOUT). */
ssize_t io_read(int fd, void *buf, size_t len, int64_t deadline);

/* Writes all of buf; returns 0, or -1 (errno; ETIMEDOUT on deadline, EPIPE on peer close). */
int io_write_all(int fd, const void *buf, size_t len, int64_t deadline);

/* writev() until everything is written; iov is modified. Returns 0 or -1 as io_write_all. */
struct iovec;
int io_writev_all(int fd, struct iovec *iov, int iovcnt, int64_t deadline);

/* Non-blocking connect bounded by the deadline. Returns a connected fd (O_NONBLOCK set,
 * CLOEXEC) or -1 with errno. */
int io_connect(const struct sockaddr *sa, socklen_t salen, int64_t deadline);

/* accept4() with CLOEXEC|NONBLOCK. Returns the fd, or -1 with errno (EAGAIN when another
 * process won the race: the caller goes back to poll). */
int io_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen);

/* Sets O_NONBLOCK; returns 0 or -1. */
int io_set_nonblock(int fd);

#endif
