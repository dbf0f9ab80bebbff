/* STUB (being written): TLS to backends. */
#include <stdio.h>

#include "tls_impl.h"

struct tls_session *tls_client_connect(int fd, const struct conf_server *srv,
                                       const struct proxy_worker *w, const char *sni,
                                       int64_t deadline, char *err, size_t errlen)
{
    (void)fd, (void)srv, (void)w, (void)sni, (void)deadline;
    snprintf(err, errlen, "TLS to backends is not built yet");
    return NULL;
}
