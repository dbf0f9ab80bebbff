/* TLS with OpenSSL 3 on both sides (issue 8). tls.c: sessions and their deadline-bounded
 * I/O, the front end (contexts per virtual host, SNI, session tickets, ALPN http/1.1,
 * client certificates); tls_conf.c: the SSL* directives; tls_client.c: the back end
 * (SSLProxy* directives, one client context per worker, verification, SNI, reuse).
 * A socket carrying TLS is read and written only through tio_*; with t == NULL they are
 * the plain io_* calls, so callers do not branch. */
#ifndef PORTICO_TLS_H
#define PORTICO_TLS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct conf;
struct conf_server;
struct conf_listener;
struct proxy_worker;
struct arena;
struct iovec;
struct tls_session; /* opaque; tls_impl.h */

/* ---- I/O on a socket that may carry TLS (t NULL = plain) ---- */
ssize_t tio_read(int fd, struct tls_session *t, void *buf, size_t len, int64_t deadline);
int tio_write_all(int fd, struct tls_session *t, const void *buf, size_t len, int64_t deadline);
int tio_writev_all(int fd, struct tls_session *t, struct iovec *iov, int iovcnt, int64_t deadline);
/* Bytes already decrypted and buffered inside t: poll() on fd does not see them. */
size_t tio_pending(const struct tls_session *t);
/* Sends close_notify (bounded by deadline) and frees t; the caller closes fd. NULL is fine. */
void tls_session_end(struct tls_session *t, int fd, int64_t deadline);

/* ---- front end ---- */
/* Master, after conf_load and before privileges are dropped: builds one SSL_CTX per
 * virtual host with SSLEngine on (certificate, key, chain, protocols, ciphers, client
 * verification), the shared session-ticket keys, and checks key file permissions (warns
 * when others may read them). Returns 0 or -1 with "file:line: ..." in err. The contexts
 * hang off the conf (private fields), so a graceful restart builds new ones. */
int tls_conf_load(struct conf *c, char *err, size_t errlen);
void tls_conf_free(struct conf *c);

/* Whether connections on l start with a TLS handshake (Listen ... https, or a vhost on
 * that address with SSLEngine on). */
int tls_listener_is_tls(const struct conf *c, const struct conf_listener *l);

/* Worker: handshake on an accepted socket, bounded by deadline. On success *sni_srv is the
 * virtual host the SNI name chose (NULL: no SNI / no match, the address's default). NULL on
 * failure (logged at info: a bad client is no error of ours; plain HTTP to a TLS port gets
 * httpd's 400 text written in clear before the close). */
struct tls_session *tls_server_accept(int fd, const struct conf *c, const struct conf_listener *l,
                                      const struct conf_server **sni_srv, int64_t deadline);

/* mod_ssl variables for rewrite %{SSL:x}, %{HTTPS}, logs %{x}x, env: SSL_PROTOCOL,
 * SSL_CIPHER, SSL_CIPHER_USEKEYSIZE, SSL_SESSION_RESUMED, SSL_TLS_SNI, SSL_CLIENT_VERIFY,
 * SSL_CLIENT_S_DN, SSL_CLIENT_I_DN, SSL_CLIENT_M_SERIAL, SSL_CLIENT_V_END, ... NULL when
 * unknown or t is NULL. Result in arena a. */
const char *tls_var(const struct tls_session *t, const char *name, struct arena *a);

/* ---- back end ---- */
/* Handshake as a client on a connected backend socket for worker w (SSLProxy* settings of
 * the server that routed the request, sni = backend host name). NULL with a reason in err
 * (verification failures name the reason; the caller answers 502). */
struct tls_session *tls_client_connect(int fd, const struct conf_server *srv,
                                       const struct proxy_worker *w, const char *sni,
                                       int64_t deadline, char *err, size_t errlen);

/* Added by the back-end engineer (tls_client.c). */
struct conf_cmd;
/* conf_load's post-parse pass (called from conf_finish_proxy): vhosts inherit the main
 * server's SSLProxy* settings. */
void tls_client_conf_finish(struct conf_cmd *cmd);
/* Master, after conf_load (from tls_conf_load): builds the client SSL_CTX of every https/wss
 * worker with SSLProxyEngine on (CA files, client certificate: read before privileges are
 * dropped). Contexts not built here are built lazily by the worker process. */
int tls_client_conf_load(struct conf *c, char *err, size_t errlen);
void tls_client_conf_free(struct conf *c);
/* Whether SSLProxyEngine is on for requests of srv to w (merged with <Proxy> sections). */
int tls_client_engine(const struct conf_server *srv, const struct proxy_worker *w);
/* A pooled backend TLS connection is idle and reusable: nothing decrypted pending, no
 * application data, no close (TLS 1.3 session tickets that arrived are consumed). */
int tls_client_idle(struct tls_session *t, int fd);
/* Whether pooled client session t may serve a request of srv to w for host name `host`:
 * the same SNI (an IP literal goes without SNI and matches a session without one), the
 * same client context and the same peer checks (SSLProxy* of srv and w's <Proxy>). */
int tls_client_made_for(const struct tls_session *t, const struct conf_server *srv,
                        const struct proxy_worker *w, const char *host);
/* Non-blocking client use (health checks): start() makes a session on a connected fd (SNI =
 * w->host) without I/O; handshake_step() returns 1 done and checked, 0 poll fd for *events,
 * -1 failed (reason in err); nb_io() reads (writing 0) or writes: >0 bytes, 0 EOF, -1 with
 * errno EAGAIN and *events to wait for, or another errno. free() releases without I/O. */
struct tls_session *tls_client_start(int fd, const struct conf_server *srv,
                                     const struct proxy_worker *w, char *err, size_t errlen);
int tls_client_handshake_step(struct tls_session *t, const struct conf_server *srv,
                              const struct proxy_worker *w, short *events, char *err,
                              size_t errlen);
ssize_t tls_client_nb_io(struct tls_session *t, int writing, void *buf, size_t len, short *events);
void tls_client_free(struct tls_session *t);

#endif
