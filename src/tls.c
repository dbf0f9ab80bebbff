/* STUB (being written): TLS sessions, their I/O, and the front end. */
#include "tls_impl.h"

#include "io.h"

ssize_t tio_read(int fd, struct tls_session *t, void *buf, size_t len, int64_t deadline)
{
    (void)t;
    return io_read(fd, buf, len, deadline);
}

int tio_write_all(int fd, struct tls_session *t, const void *buf, size_t len, int64_t deadline)
{
    (void)t;
    return io_write_all(fd, buf, len, deadline);
}

int tio_writev_all(int fd, struct tls_session *t, struct iovec *iov, int iovcnt, int64_t deadline)
{
    (void)t;
    return io_writev_all(fd, iov, iovcnt, deadline);
}

size_t tio_pending(const struct tls_session *t)
{
    (void)t;
    return 0;
}

void tls_session_end(struct tls_session *t, int fd, int64_t deadline)
{
    (void)t, (void)fd, (void)deadline;
}

int tls_listener_is_tls(const struct conf *c, const struct conf_listener *l)
{
    (void)c, (void)l;
    return 0;
}

struct tls_session *tls_server_accept(int fd, const struct conf *c, const struct conf_listener *l,
                                      const struct conf_server **sni_srv, int64_t deadline)
{
    (void)fd, (void)c, (void)l, (void)deadline;
    *sni_srv = NULL;
    return NULL;
}

const char *tls_var(const struct tls_session *t, const char *name, struct arena *a)
{
    (void)t, (void)name, (void)a;
    return NULL;
}
