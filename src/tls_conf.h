/* mod_ssl's front-end directives (tls_conf.c) and the per-request TLS checks (tls.c).
 * The SSLProxy* directives live in tls_client.c with their own table and state. */
#ifndef PORTICO_TLS_CONF_H
#define PORTICO_TLS_CONF_H

#include <stdint.h>

#include "conf_types.h"

#define TLS_PROTO_12 0x1
#define TLS_PROTO_13 0x2

enum tls_verify { TLS_VERIFY_NONE, TLS_VERIFY_OPTIONAL, TLS_VERIFY_REQUIRE };

/* SSLVerifyClient / SSLVerifyDepth / SSLOptions inside a <Location> (or other section). */
struct tls_loc_conf {
    const struct conf_dir *dir;
    int verify;       /* enum tls_verify, CONF_UNSET = inherit */
    int depth;        /* CONF_UNSET = inherit */
    int std_env_vars; /* CONF_UNSET = inherit */
    struct tls_loc_conf *next;
};

/* Every field CONF_UNSET / NULL until set; tls_conf_load() merges the main server's values
 * into each virtual host. */
struct tls_srv_conf {
    int engine; /* SSLEngine: 0/1 */
    char *cert_file, *key_file, *chain_file, *ca_file;
    const char *file; /* where SSLCertificateFile was set, for load errors */
    int line;
    int protocols;      /* TLS_PROTO_* bits */
    char *ciphers;      /* SSLCipherSuite (TLS 1.2 list) */
    char *ciphersuites; /* SSLCipherSuite TLSv1.3 ... */
    int honor_order;
    int tickets;         /* SSLSessionTickets */
    int verify;          /* SSLVerifyClient */
    int depth;           /* SSLVerifyDepth */
    int std_env_vars;    /* SSLOptions +StdEnvVars */
    int session_cache;   /* main server only: 0 none, 1 shmcb (resumption by tickets) */
    int session_timeout; /* SSLSessionCacheTimeout, seconds */
    struct tls_loc_conf *locs;
    /* Built by tls_conf_load() (master, before privileges are dropped). */
    void *ctx; /* SSL_CTX * */
    int index; /* position among the TLS vhosts, for the session id context */
};

/* The server's effective TLS settings (its own merged with the main server's), NULL when
 * the server has no TLS. */
const struct tls_srv_conf *tls_srv(const struct conf_server *s);

struct request;
struct route_decision;

/* After routing, before any handler or the backend: 421 when Host chose another TLS
 * virtual host than the handshake did and their verification differs, and client
 * certificate verification required by the server or a matching <Location> (TLS 1.3
 * post-handshake authentication when the handshake did not ask). Returns 0 to go on, or
 * the status to answer (403, 421); -1 when the connection failed. Plain requests: 0. */
int tls_request_check(struct request *r, const struct route_decision *d, int64_t deadline);

/* SSLOptions +StdEnvVars in effect for r (server or section). */
int tls_std_env_vars(const struct request *r, const struct route_decision *d);

/* mod_ssl's fixup: HTTPS=on always, and the SSL_* variables with +StdEnvVars. */
void tls_export_env(struct request *r, const struct route_decision *d);

#endif
