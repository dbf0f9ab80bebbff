/* Private to tls*.c. */
#ifndef PORTICO_TLS_IMPL_H
#define PORTICO_TLS_IMPL_H

#include <openssl/ssl.h>

#include "tls.h"

struct tls_session {
    SSL *ssl;
    int fd;
    int client; /* 1 for a backend connection */
    /* Added (front end, tls.c): */
    const struct conf_server *hs_srv;  /* vhost whose context did the handshake */
    const struct conf_server *sni_srv; /* vhost the SNI name chose, NULL = none */
    const void *conf;                  /* struct conf of the accepting worker */
    int pha_state;                     /* 0 none, 1 requested, 2 done, -1 failed */
    /* Added (back end, tls_client.c): the peer checks the connection was verified with, so
     * a pooled connection is never handed to a server whose SSLProxy* settings differ. */
    unsigned peer_checks;
};

/* pem_password_cb for SSL_CTX_set_default_passwd_cb: never prompts (tls.c). */
int tls_no_passphrase(char *buf, int size, int rwflag, void *u);

#endif
