/* Private to tls*.c. */
#ifndef PORTICO_TLS_IMPL_H
#define PORTICO_TLS_IMPL_H

#include <openssl/ssl.h>

#include "tls.h"

struct tls_session {
    SSL *ssl;
    int fd;
    int client; /* 1 for a backend connection */
};

#endif
