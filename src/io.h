/* Blocking-with-deadline socket I/O. Every wait in portico goes through these helpers: they
 * bound it by an absolute CLOCK_MONOTONIC deadline (ms, from util_now_ms()), retry on EINTR,
 * and fail with errno = ETIMEDOUT when the deadline passes. A deadline of IO_NO_DEADLINE waits
 * forever (only the master uses it).
 *
 * Two kinds of socket go through them. Non-blocking ones (TLS connections, health checks):
 * try the call, poll() on EAGAIN. Blocking ones whose SO_RCVTIMEO and SO_SNDTIMEO are
 * IO_SLICE_MS (plain client connections, which inherit them from the listener, and plain
 * backend connections, see io_make_blocking): while at least a slice is left the call itself
 * waits, so reading a request or a response costs one system call instead of read, poll, read;
 * a slice that passes without progress returns EAGAIN and the helper polls for the rest. With
 * less than a slice left the call is made with MSG_DONTWAIT, so no wait here overshoots its
 * deadline. sendfile() and splice() have no such flag for the socket side: near a deadline
 * they may wait up to one slice more, which still bounds them. */
#ifndef PORTICO_IO_H
#define PORTICO_IO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#define IO_NO_DEADLINE INT64_MAX

/* The longest a single blocking call on a blocking socket may sleep (SO_RCVTIMEO and
 * SO_SNDTIMEO). It also bounds how late a worker blocked in recv() notices a graceful stop
 * whose signal arrived just before the call. */
#define IO_SLICE_MS 1000

/* Sets SO_RCVTIMEO and SO_SNDTIMEO to IO_SLICE_MS. Returns 0 or -1. */
int io_set_slice_timeouts(int fd);

/* Clears O_NONBLOCK on a connected socket and sets the slice timeouts. Returns 0 or -1. */
int io_make_blocking(int fd);

/* MSG_DONTWAIT unless at least IO_SLICE_MS remain before the deadline (see above). */
int io_wait_flag(int64_t deadline);

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

/* accept4() with CLOEXEC, and NONBLOCK unless `blocking` (the new socket inherits the
 * listener's slice timeouts). Returns the fd, or -1 with errno (EAGAIN when another process
 * won the race: the caller goes back to poll). */
int io_accept(int lfd, struct sockaddr_storage *peer, socklen_t *peerlen, int blocking);

/* Sets O_NONBLOCK; returns 0 or -1. */
int io_set_nonblock(int fd);

#endif
