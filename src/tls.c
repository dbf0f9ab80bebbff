/* TLS sessions, their deadline-bounded I/O, and the front end: one SSL_CTX per virtual host
 * with SSLEngine on, built by the master before privileges are dropped (workers inherit
 * them through fork and never reopen a key), SNI choosing the context in the ClientHello
 * callback, ALPN http/1.1, session tickets whose keys the master generates (shared by every
 * worker of a generation, new ones on each restart), client certificates at the handshake
 * or per <Location> with TLS 1.3 post-handshake authentication. */
#include "config.h"

#include "conf.h"
#include "tls_impl.h"
#include "vhost.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>

#include "arena.h"
#include "conn.h"
#include "env.h"
#include "io.h"
#include "log.h"
#include "route.h"
#include "tls_conf.h"
#include "util.h"
#include <fnmatch.h>

/* Shared by every context of one configuration generation. */
struct tls_state {
    unsigned char key_name[16];
    unsigned char aes_key[32];
    unsigned char hmac_key[32];
    int tickets_ok;
};

/* ---------------------------------------------------------------- I/O */

/* Waits for what OpenSSL asked for; returns 0 to retry, -1 (errno) to give up. */
static int tls_wait(struct tls_session *t, int rc, int64_t deadline)
{
    int e = SSL_get_error(t->ssl, rc);
    short ev;
    if (e == SSL_ERROR_WANT_READ)
        ev = POLLIN;
    else if (e == SSL_ERROR_WANT_WRITE)
        ev = POLLOUT;
    else {
        if (e == SSL_ERROR_SYSCALL && errno != 0)
            return -1;
        ERR_clear_error();
        errno = ECONNRESET;
        return -1;
    }
    int w = io_wait(t->fd, ev, deadline);
    if (w == 0) {
        errno = ETIMEDOUT;
        return -1;
    }
    return w < 0 ? -1 : 0;
}

static int same_str(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* pem_password_cb that refuses: portico never asks for a passphrase. */
int tls_no_passphrase(char *buf, int size, int rwflag, void *u)
{
    (void)buf, (void)size, (void)rwflag, (void)u;
    return 0;
}

ssize_t tio_read(int fd, struct tls_session *t, void *buf, size_t len, int64_t deadline)
{
    if (t == NULL)
        return io_read(fd, buf, len, deadline);
    for (;;) {
        size_t got = 0;
        errno = 0;
        ERR_clear_error(); /* a stale error would turn WANT_READ into SSL_ERROR_SSL */
        int rc = SSL_read_ex(t->ssl, buf, len, &got);
        if (rc > 0)
            return (ssize_t)got;
        int e = SSL_get_error(t->ssl, rc);
        if (e == SSL_ERROR_ZERO_RETURN)
            return 0;
        if (tls_wait(t, rc, deadline) < 0)
            return -1;
    }
}

int tio_write_all(int fd, struct tls_session *t, const void *buf, size_t len, int64_t deadline)
{
    if (t == NULL)
        return io_write_all(fd, buf, len, deadline);
    const char *p = buf;
    while (len > 0) {
        size_t done = 0;
        errno = 0;
        ERR_clear_error();
        int rc = SSL_write_ex(t->ssl, p, len, &done);
        if (rc > 0) {
            p += done;
            len -= done;
            continue;
        }
        if (tls_wait(t, rc, deadline) < 0) {
            if (errno == ECONNRESET)
                errno = EPIPE;
            return -1;
        }
    }
    return 0;
}

int tio_writev_all(int fd, struct tls_session *t, struct iovec *iov, int iovcnt, int64_t deadline)
{
    if (t == NULL)
        return io_writev_all(fd, iov, iovcnt, deadline);
    /* Coalesce small pieces (a head and a short body) into one record. */
    char buf[16384];
    size_t n = 0;
    for (int i = 0; i < iovcnt; i++) {
        size_t l = iov[i].iov_len;
        if (n + l > sizeof(buf)) {
            if (n > 0 && tio_write_all(fd, t, buf, n, deadline) < 0)
                return -1;
            n = 0;
        }
        if (l >= sizeof(buf)) {
            if (tio_write_all(fd, t, iov[i].iov_base, l, deadline) < 0)
                return -1;
            continue;
        }
        memcpy(buf + n, iov[i].iov_base, l);
        n += l;
    }
    if (n > 0 && tio_write_all(fd, t, buf, n, deadline) < 0)
        return -1;
    return 0;
}

size_t tio_pending(const struct tls_session *t)
{
    return t != NULL ? (size_t)SSL_pending(t->ssl) : 0;
}

void tls_session_end(struct tls_session *t, int fd, int64_t deadline)
{
    (void)fd;
    if (t == NULL)
        return;
    /* One close_notify, without waiting for the peer's: the caller still drains. */
    for (int tries = 0; tries < 4; tries++) {
        int rc = SSL_shutdown(t->ssl);
        if (rc >= 0)
            break;
        if (SSL_get_error(t->ssl, rc) != SSL_ERROR_WANT_WRITE ||
            io_wait(t->fd, POLLOUT, deadline) <= 0)
            break;
    }
    ERR_clear_error();
    SSL_free(t->ssl);
    free(t);
}

/* ---------------------------------------------------------------- configuration */

static int srv_has_tls(const struct conf_server *s)
{
    return s->tls != NULL && s->tls->engine == 1 && s->tls->ctx != NULL;
}

const struct tls_srv_conf *tls_srv(const struct conf_server *s)
{
    return s != NULL && srv_has_tls(s) ? s->tls : NULL;
}

static void log_ssl_errors(char *err, size_t errlen, size_t used)
{
    unsigned long e = ERR_get_error();
    if (e != 0 && used + 3 < errlen) {
        char b[256];
        ERR_error_string_n(e, b, sizeof(b));
        snprintf(err + used, errlen - used, " (%s)", b);
    }
    ERR_clear_error();
}

static int alpn_cb(SSL *ssl, const unsigned char **out, unsigned char *outlen,
                   const unsigned char *in, unsigned int inlen, void *arg)
{
    (void)ssl, (void)arg;
    for (unsigned i = 0; i < inlen;) {
        unsigned l = in[i];
        if (i + 1 + l > inlen)
            break;
        if (l == 8 && memcmp(in + i + 1, "http/1.1", 8) == 0) {
            *out = in + i + 1;
            *outlen = (unsigned char)l;
            return SSL_TLSEXT_ERR_OK;
        }
        i += 1 + l;
    }
    return SSL_TLSEXT_ERR_NOACK;
}

static int ticket_cb(SSL *ssl, unsigned char key_name[16], unsigned char *iv, EVP_CIPHER_CTX *ectx,
                     EVP_MAC_CTX *hctx, int enc)
{
    const struct tls_state *st = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
    if (st == NULL || !st->tickets_ok)
        return 0;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_octet_string(OSSL_MAC_PARAM_KEY, (void *)st->hmac_key,
                                          sizeof(st->hmac_key)),
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end()};
    if (enc) {
        memcpy(key_name, st->key_name, 16);
        if (RAND_bytes(iv, EVP_MAX_IV_LENGTH) <= 0 ||
            !EVP_EncryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, st->aes_key, iv) ||
            !EVP_MAC_CTX_set_params(hctx, params))
            return -1;
        return 1;
    }
    if (memcmp(key_name, st->key_name, 16) != 0)
        return 0; /* an older generation's ticket: full handshake */
    if (!EVP_MAC_CTX_set_params(hctx, params) ||
        !EVP_DecryptInit_ex(ectx, EVP_aes_256_cbc(), NULL, st->aes_key, iv))
        return -1;
    return 1;
}

/* Handshake state, reachable from the SSL through ex_data while accepting. */
struct hs_arg {
    const struct conf *conf;
    struct sockaddr_storage local;
    const struct conf_server *srv; /* context in use */
    const struct conf_server *sni; /* named by SNI */
};
static int hs_index = -1;

/* The SNI name from a ClientHello, NULL when absent or malformed. */
static const char *hello_sni(SSL *ssl, char *name, size_t cap)
{
    const unsigned char *p;
    size_t len;
    if (!SSL_client_hello_get0_ext(ssl, TLSEXT_TYPE_server_name, &p, &len) || len < 5)
        return NULL;
    size_t list = ((size_t)p[0] << 8) | p[1];
    if (list + 2 != len || p[2] != TLSEXT_NAMETYPE_host_name)
        return NULL;
    size_t n = ((size_t)p[3] << 8) | p[4];
    if (n + 5 > len || n == 0 || n >= cap || memchr(p + 5, 0, n) != NULL)
        return NULL;
    memcpy(name, p + 5, n);
    name[n] = '\0';
    return name;
}

/* Switches the SSL to the vhost's context and the settings SSL_set_SSL_CTX does not copy. */
static void use_srv(SSL *ssl, const struct conf_server *s)
{
    SSL_CTX *ctx = s->tls->ctx;
    if (SSL_get_SSL_CTX(ssl) != ctx)
        SSL_set_SSL_CTX(ssl, ctx);
    SSL_clear_options(ssl, SSL_get_options(ssl) ^ SSL_CTX_get_options(ctx));
    SSL_set_options(ssl, SSL_CTX_get_options(ctx));
    SSL_set_verify(ssl, SSL_CTX_get_verify_mode(ctx), SSL_CTX_get_verify_callback(ctx));
    SSL_set_verify_depth(ssl, SSL_CTX_get_verify_depth(ctx));
    SSL_set_min_proto_version(ssl, SSL_CTX_get_min_proto_version(ctx));
    SSL_set_max_proto_version(ssl, SSL_CTX_get_max_proto_version(ctx));
    if (s->tls->ciphers != NULL)
        SSL_set_cipher_list(ssl, s->tls->ciphers);
    if (s->tls->ciphersuites != NULL)
        SSL_set_ciphersuites(ssl, s->tls->ciphersuites);
}

static int hello_cb(SSL *ssl, int *al, void *arg)
{
    (void)arg, (void)al;
    struct hs_arg *h = SSL_get_ex_data(ssl, hs_index);
    if (h == NULL)
        return SSL_CLIENT_HELLO_SUCCESS;
    char name[256];
    const char *sni = hello_sni(ssl, name, sizeof(name));
    if (sni == NULL)
        return SSL_CLIENT_HELLO_SUCCESS;
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.')
        name[n - 1] = '\0';
    int named = 0;
    const struct conf_server *v = vhost_select_where(h->conf, &h->local, sni, srv_has_tls, &named);
    if (v != NULL && named) {
        h->sni = v;
        if (v != h->srv) {
            use_srv(ssl, v);
            h->srv = v;
        }
    }
    return SSL_CLIENT_HELLO_SUCCESS;
}

static void merge(struct tls_srv_conf *t, const struct tls_srv_conf *m)
{
#define M_INT(f)                                                                                   \
    if (t->f == CONF_UNSET)                                                                        \
    t->f = m != NULL ? m->f : CONF_UNSET
#define M_PTR(f)                                                                                   \
    if (t->f == NULL && m != NULL)                                                                 \
    t->f = m->f
    M_INT(engine);
    M_INT(protocols);
    M_INT(honor_order);
    M_INT(tickets);
    M_INT(verify);
    M_INT(depth);
    M_INT(std_env_vars);
    M_INT(session_timeout);
    M_PTR(cert_file);
    M_PTR(key_file);
    M_PTR(chain_file);
    M_PTR(ca_file);
    M_PTR(ciphers);
    M_PTR(ciphersuites);
    if (t->file == NULL && m != NULL) {
        t->file = m->file;
        t->line = m->line;
    }
#undef M_INT
#undef M_PTR
    if (t->protocols == CONF_UNSET)
        t->protocols = TLS_PROTO_12 | TLS_PROTO_13;
    if (t->tickets == CONF_UNSET)
        t->tickets = 1;
    if (t->verify == CONF_UNSET)
        t->verify = TLS_VERIFY_NONE;
    if (t->depth == CONF_UNSET)
        t->depth = 1;
    if (t->std_env_vars == CONF_UNSET)
        t->std_env_vars = 0;
    if (t->session_timeout == CONF_UNSET)
        t->session_timeout = 300;
}

static int any_loc_verifies(const struct tls_srv_conf *t, const struct tls_srv_conf *m)
{
    for (int k = 0; k < 2; k++)
        for (const struct tls_loc_conf *l = k ? (m ? m->locs : NULL) : t->locs; l; l = l->next)
            if (l->verify > TLS_VERIFY_NONE)
                return 1;
    return 0;
}

static int build_ctx(struct conf *c, struct conf_server *s, struct tls_state *st, int index,
                     int session_cache, char *err, size_t errlen)
{
    struct tls_srv_conf *t = s->tls;
    const char *where = t->file != NULL ? t->file : (s->file ? s->file : c->config_file);
    int line = t->file != NULL ? t->line : s->line;
    const char *name = s->server_name ? s->server_name : "(main server)";
    int n;
    if (t->cert_file == NULL) {
        snprintf(err, errlen, "%s:%d: SSLEngine on for %s without SSLCertificateFile", where, line,
                 name);
        return -1;
    }
    const char *key = t->key_file != NULL ? t->key_file : t->cert_file;
    struct stat sb;
    if (stat(key, &sb) == 0 && (sb.st_mode & (S_IRGRP | S_IROTH)) != 0)
        log_msg(MOD_SSL, LL_WARN, 0, NULL,
                "%s:%d: private key %s is readable by group or others (mode %04o): chmod 600 it",
                where, line, key, (unsigned)(sb.st_mode & 07777));
    SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
    if (ctx == NULL)
        goto ssl_fail;
    t->ctx = ctx;
    t->index = index;
    SSL_CTX_set_min_proto_version(ctx,
                                  (t->protocols & TLS_PROTO_12) ? TLS1_2_VERSION : TLS1_3_VERSION);
    SSL_CTX_set_max_proto_version(ctx,
                                  (t->protocols & TLS_PROTO_13) ? TLS1_3_VERSION : TLS1_2_VERSION);
    long opts = SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_IGNORE_UNEXPECTED_EOF;
    if (t->honor_order == 1)
        opts |= SSL_OP_CIPHER_SERVER_PREFERENCE;
    if (t->tickets == 0 || !session_cache)
        opts |= SSL_OP_NO_TICKET;
    SSL_CTX_set_options(ctx, (uint64_t)opts);
    if (SSL_CTX_use_certificate_chain_file(ctx, t->cert_file) != 1) {
        n = snprintf(err, errlen, "%s:%d: SSLCertificateFile %s: cannot load", where, line,
                     t->cert_file);
        log_ssl_errors(err, errlen, (size_t)(n > 0 ? n : 0));
        return -1;
    }
    if (t->chain_file != NULL) {
        FILE *f = fopen(t->chain_file, "r");
        X509 *x;
        if (f == NULL) {
            snprintf(err, errlen, "%s:%d: SSLCertificateChainFile %s: %s", where, line,
                     t->chain_file, strerror(errno));
            return -1;
        }
        while ((x = PEM_read_X509(f, NULL, NULL, NULL)) != NULL)
            if (!SSL_CTX_add_extra_chain_cert(ctx, x)) {
                X509_free(x);
                break;
            }
        fclose(f);
        ERR_clear_error();
    }
    /* An encrypted key would make OpenSSL prompt on the terminal and hang the master. */
    SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
    if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
        n = snprintf(err, errlen,
                     "%s:%d: SSLCertificateKeyFile %s: cannot load (encrypted keys are not "
                     "supported)",
                     where, line, key);
        log_ssl_errors(err, errlen, (size_t)(n > 0 ? n : 0));
        return -1;
    }
    if (SSL_CTX_check_private_key(ctx) != 1) {
        n = snprintf(err, errlen, "%s:%d: the private key %s does not match the certificate %s",
                     where, line, key, t->cert_file);
        log_ssl_errors(err, errlen, (size_t)(n > 0 ? n : 0));
        return -1;
    }
    if (t->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, t->ciphers) != 1) {
        n = snprintf(err, errlen, "%s:%d: SSLCipherSuite '%s': no usable cipher", where, line,
                     t->ciphers);
        log_ssl_errors(err, errlen, (size_t)(n > 0 ? n : 0));
        return -1;
    }
    if (t->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, t->ciphersuites) != 1) {
        n = snprintf(err, errlen, "%s:%d: SSLCipherSuite TLSv1.3 '%s': no usable suite", where,
                     line, t->ciphersuites);
        log_ssl_errors(err, errlen, (size_t)(n > 0 ? n : 0));
        return -1;
    }
    int loc_verify = any_loc_verifies(t, c->main->tls);
    if (t->verify > TLS_VERIFY_NONE || loc_verify) {
        if (t->ca_file == NULL) {
            snprintf(err, errlen, "%s:%d: SSLVerifyClient for %s needs SSLCACertificateFile", where,
                     line, name);
            return -1;
        }
        if (SSL_CTX_load_verify_locations(ctx, t->ca_file, NULL) != 1) {
            n = snprintf(err, errlen, "%s:%d: SSLCACertificateFile %s: cannot load", where, line,
                         t->ca_file);
            log_ssl_errors(err, errlen, (size_t)(n > 0 ? n : 0));
            return -1;
        }
        STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(t->ca_file);
        if (names != NULL)
            SSL_CTX_set_client_CA_list(ctx, names);
        ERR_clear_error();
    }
    int mode = SSL_VERIFY_NONE;
    if (t->verify == TLS_VERIFY_OPTIONAL)
        mode = SSL_VERIFY_PEER;
    else if (t->verify == TLS_VERIFY_REQUIRE)
        mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT;
    SSL_CTX_set_verify(ctx, mode, NULL);
    SSL_CTX_set_verify_depth(ctx, t->depth);
    /* Resumption stays within one vhost and its verification settings (CVE-2025-23048). */
    char sid[SSL_MAX_SID_CTX_LENGTH];
    int sl = snprintf(sid, sizeof(sid), "portico:%d:%d:%d", index, t->verify, t->depth);
    SSL_CTX_set_session_id_context(ctx, (const unsigned char *)sid, (unsigned)sl);
    /* A per-process cache would miss in every other worker: tickets only. */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
    SSL_CTX_set_timeout(ctx, t->session_timeout);
    SSL_CTX_set_num_tickets(ctx, (t->tickets == 0 || !session_cache) ? 0 : 2);
    SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
    SSL_CTX_set_app_data(ctx, st);
    SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
    SSL_CTX_set_client_hello_cb(ctx, hello_cb, NULL);
    return 0;
ssl_fail:
    n = snprintf(err, errlen, "%s:%d: cannot create a TLS context", where, line);
    log_ssl_errors(err, errlen, (size_t)(n > 0 ? n : 0));
    return -1;
}

static int front_conf_load(struct conf *c, char *err, size_t errlen);
static void front_conf_free(struct conf *c);

int tls_conf_load(struct conf *c, char *err, size_t errlen)
{
    /* The back end's client contexts (tls_client.c) are built here too: same moment, same
     * privileges. */
    if (front_conf_load(c, err, errlen) < 0)
        return -1;
    if (tls_client_conf_load(c, err, errlen) < 0) {
        tls_conf_free(c);
        return -1;
    }
    return 0;
}

static int front_conf_load(struct conf *c, char *err, size_t errlen)
{
    err[0] = '\0';
    const struct tls_srv_conf *m = c->main->tls;
    int any = 0;
    for (struct conf_server *s = c->main; s; s = s == c->main ? c->vhosts : s->next) {
        if (s->tls == NULL && (s == c->main || m == NULL))
            continue;
        struct tls_srv_conf *t = arena_calloc(c->arena, 1, sizeof(*t));
        if (t == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        if (s->tls != NULL) {
            *t = *s->tls;
        } else {
            t->engine = t->protocols = t->honor_order = t->tickets = CONF_UNSET;
            t->verify = t->depth = t->std_env_vars = CONF_UNSET;
            t->session_cache = t->session_timeout = CONF_UNSET;
        }
        merge(t, s == c->main ? NULL : m);
        t->ctx = NULL;
        s->tls = t;
        if (t->engine == 1)
            any = 1;
        m = c->main->tls;
    }
    if (!any)
        return 0;
    if (hs_index < 0)
        hs_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
    struct tls_state *st = calloc(1, sizeof(*st));
    if (st == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    c->tls_state = st;
    st->tickets_ok = RAND_bytes(st->key_name, sizeof(st->key_name)) == 1 &&
                     RAND_bytes(st->aes_key, sizeof(st->aes_key)) == 1 &&
                     RAND_bytes(st->hmac_key, sizeof(st->hmac_key)) == 1;
    /* Resumption is by tickets alone (SSLSessionTickets, default on), with or without
     * SSLSessionCache: their key is shared by every worker of this generation. */
    int cache = 1;
    int index = 0;
    for (struct conf_server *s = c->main; s; s = s == c->main ? c->vhosts : s->next) {
        if (s->tls == NULL || s->tls->engine != 1)
            continue;
        if (build_ctx(c, s, st, index++, cache, err, errlen) < 0) {
            front_conf_free(c);
            return -1;
        }
    }
    return 0;
}

void tls_conf_free(struct conf *c)
{
    tls_client_conf_free(c);
    front_conf_free(c);
}

static void front_conf_free(struct conf *c)
{
    for (struct conf_server *s = c->main; s; s = s == c->main ? c->vhosts : s->next)
        if (s->tls != NULL && s->tls->ctx != NULL) {
            SSL_CTX_free(s->tls->ctx);
            s->tls->ctx = NULL;
        }
    if (c->tls_state != NULL) {
        OPENSSL_cleanse(c->tls_state, sizeof(struct tls_state));
        free(c->tls_state);
        c->tls_state = NULL;
    }
}

static int vaddr_covers(const struct conf_server *v, const struct conf_listener *l)
{
    int port = 0;
    if (l->addr.ss_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)&l->addr)->sin_port);
    else if (l->addr.ss_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *)&l->addr)->sin6_port);
    for (const struct conf_vaddr *a = v->addrs; a; a = a->next)
        if (a->port == 0 || a->port == port)
            return 1;
    return 0;
}

int tls_listener_is_tls(const struct conf *c, const struct conf_listener *l)
{
    if (c->tls_state == NULL)
        return 0;
    if (l->protocol != NULL && util_strcaseeq(l->protocol, "https"))
        return 1;
    if (srv_has_tls(c->main))
        return 1;
    for (const struct conf_server *v = c->vhosts; v; v = v->next)
        if (srv_has_tls(v) && vaddr_covers(v, l))
            return 1;
    return 0;
}

/* ---------------------------------------------------------------- accept */

static void plain_http_answer(int fd, const struct conf *c, int64_t deadline)
{
    static const char body[] =
        "<!DOCTYPE HTML PUBLIC \"-//IETF//DTD HTML 2.0//EN\">\n"
        "<html><head>\n"
        "<title>400 Bad Request</title>\n"
        "</head><body>\n"
        "<h1>Bad Request</h1>\n"
        "<p>Your browser sent a request that this server could not understand.<br />\n"
        "Reason: You're speaking plain HTTP to an SSL-enabled server port.<br />\n"
        " Instead use the HTTPS scheme to access this URL, please.<br />\n"
        "</p>\n"
        "</body></html>\n";
    char sink[4096];
    /* Take the request head off the socket first, so closing does not reset the answer. */
    (void)!recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
    char date[64];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    char head[512];
    int n = snprintf(head, sizeof(head),
                     "HTTP/1.1 400 Bad Request\r\nDate: %s\r\nServer: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n"
                     "Content-Type: text/html; charset=iso-8859-1\r\n\r\n",
                     date, conf_server_token(c), sizeof(body) - 1);
    struct iovec iov[2] = {{head, (size_t)n}, {(void *)body, sizeof(body) - 1}};
    io_writev_all(fd, iov, 2, deadline);
}

struct tls_session *tls_server_accept(int fd, const struct conf *c, const struct conf_listener *l,
                                      const struct conf_server **sni_srv, int64_t deadline)
{
    (void)l;
    *sni_srv = NULL;
    struct hs_arg h = {.conf = c};
    socklen_t ll = sizeof(h.local);
    if (getsockname(fd, (struct sockaddr *)&h.local, &ll) < 0)
        return NULL;
    int named;
    h.srv = vhost_select_where(c, &h.local, NULL, srv_has_tls, &named);
    if (h.srv == NULL) {
        for (const struct conf_server *v = c->vhosts; v && h.srv == NULL; v = v->next)
            if (srv_has_tls(v))
                h.srv = v;
        if (h.srv == NULL)
            return NULL;
    }
    /* A TLS record starts with 0x16; anything printable is someone speaking HTTP. */
    unsigned char first;
    for (;;) {
        ssize_t n = recv(fd, &first, 1, MSG_PEEK);
        if (n == 1)
            break;
        if (n == 0)
            return NULL;
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN || io_wait(fd, POLLIN, deadline) <= 0)
            return NULL;
    }
    if (first != 0x16) {
        if (first >= 'A' && first <= 'Z') {
            log_msg(MOD_SSL, LL_INFO, 0, NULL, "plain HTTP request on a TLS port");
            plain_http_answer(fd, c, deadline);
        }
        return NULL;
    }
    struct tls_session *t = calloc(1, sizeof(*t));
    if (t == NULL)
        return NULL;
    t->fd = fd;
    t->conf = c;
    t->ssl = SSL_new(h.srv->tls->ctx);
    if (t->ssl == NULL || !SSL_set_fd(t->ssl, fd))
        goto fail;
    SSL_set_ex_data(t->ssl, hs_index, &h);
    for (;;) {
        errno = 0;
        int rc = SSL_accept(t->ssl);
        if (rc == 1)
            break;
        int e = SSL_get_error(t->ssl, rc);
        if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE) {
            unsigned long ec = ERR_peek_error();
            char b[256] = "";
            if (ec != 0)
                ERR_error_string_n(ec, b, sizeof(b));
            log_msg(MOD_SSL, LL_INFO, 0, NULL, "TLS handshake failed: %s",
                    b[0] ? b : "connection closed");
            goto fail;
        }
        if (tls_wait(t, rc, deadline) < 0) {
            log_msg(MOD_SSL, LL_INFO, errno, NULL, "TLS handshake did not complete");
            goto fail;
        }
    }
    SSL_set_ex_data(t->ssl, hs_index, NULL);
    t->hs_srv = h.srv;
    t->sni_srv = h.sni;
    *sni_srv = h.sni;
    return t;
fail:
    ERR_clear_error();
    if (t->ssl != NULL)
        SSL_free(t->ssl);
    free(t);
    return NULL;
}

/* ---------------------------------------------------------------- per request */

static const struct tls_loc_conf *loc_for(const struct request *r, const struct route_decision *d)
{
    if (d == NULL)
        return NULL;
    const struct tls_srv_conf *ts[2] = {r->srv ? r->srv->tls : NULL, r->c->conf->main->tls};
    for (int i = d->n_sections - 1; i >= 0; i--)
        for (int k = 0; k < 2; k++)
            for (const struct tls_loc_conf *l = ts[k] ? ts[k]->locs : NULL; l; l = l->next)
                if (l->dir == d->sections[i] && l->verify != CONF_UNSET)
                    return l;
    return NULL;
}

int tls_std_env_vars(const struct request *r, const struct route_decision *d)
{
    if (r->c->tls == NULL)
        return 0;
    if (d != NULL) {
        const struct tls_srv_conf *ts[2] = {r->srv ? r->srv->tls : NULL, r->c->conf->main->tls};
        for (int i = d->n_sections - 1; i >= 0; i--)
            for (int k = 0; k < 2; k++)
                for (const struct tls_loc_conf *l = ts[k] ? ts[k]->locs : NULL; l; l = l->next)
                    if (l->dir == d->sections[i] && l->std_env_vars != CONF_UNSET)
                        return l->std_env_vars;
    }
    const struct tls_srv_conf *t = r->srv ? r->srv->tls : NULL;
    return t != NULL && t->std_env_vars == 1;
}

static int have_good_cert(SSL *ssl)
{
    return SSL_get0_peer_certificate(ssl) != NULL && SSL_get_verify_result(ssl) == X509_V_OK;
}

/* Sees the client's Finished of a post-handshake authentication: the only sign that an
 * exchange without a certificate is over. */
static void pha_info_cb(const SSL *ssl, int where, int ret)
{
    (void)ret;
    struct tls_session *t = SSL_get_app_data(ssl);
    if (t != NULL && t->pha_state == 1 && (where & SSL_CB_LOOP) &&
        SSL_get_state(ssl) == TLS_ST_SR_FINISHED)
        t->pha_state = 2;
}

/* TLS 1.3 post-handshake authentication. Returns 0 when the exchange completed (with or
 * without a certificate), 1 when the client cannot do it, -1 when the connection failed. */
static int post_handshake_auth(struct tls_session *t, int depth, int64_t deadline)
{
    SSL *ssl = t->ssl;
    if (SSL_version(ssl) != TLS1_3_VERSION)
        return 1;
    SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
    SSL_set_verify_depth(ssl, depth);
    if (SSL_verify_client_post_handshake(ssl) != 1) {
        ERR_clear_error();
        return 1;
    }
    t->pha_state = 1;
    SSL_set_app_data(ssl, t);
    SSL_set_info_callback(ssl, pha_info_cb);
    for (;;) {
        int rc = SSL_do_handshake(ssl);
        if (rc == 1)
            break;
        if (tls_wait(t, rc, deadline) < 0)
            return -1;
    }
    /* The client answers inside its next records; read them without consuming data. */
    for (;;) {
        char b;
        size_t got = 0;
        errno = 0;
        int rc = SSL_peek_ex(ssl, &b, 1, &got);
        if (t->pha_state == 2)
            break;
        if (rc > 0)
            return -1; /* request data ahead of the answer (a body): give up */
        int e = SSL_get_error(ssl, rc);
        if (e == SSL_ERROR_ZERO_RETURN)
            return -1;
        if (tls_wait(t, rc, deadline) < 0)
            return -1;
    }
    SSL_set_info_callback(ssl, NULL);
    return 0;
}

int tls_request_check(struct request *r, const struct route_decision *d, int64_t deadline)
{
    struct tls_session *t = r->c->tls;
    if (t == NULL)
        return 0;
    const struct tls_srv_conf *hs = t->hs_srv ? t->hs_srv->tls : NULL;
    const struct tls_srv_conf *rs = tls_srv(r->srv);
    if (r->srv != t->hs_srv) {
        /* Without SNI every Host shares the default's handshake: only a vhost verifying
         * clients differently cannot be served on it. */
        int differs = rs == NULL || hs == NULL || rs->verify != hs->verify ||
                      rs->depth != hs->depth || rs->protocols != hs->protocols ||
                      rs->honor_order != hs->honor_order || !same_str(rs->ca_file, hs->ca_file) ||
                      !same_str(rs->ciphers, hs->ciphers) ||
                      !same_str(rs->ciphersuites, hs->ciphersuites);
        if (t->sni_srv != NULL || differs) {
            log_msg(MOD_SSL, LL_INFO, 0, r->c->client_addr,
                    "Host %s names another virtual host than the TLS handshake chose (SNI %s)",
                    r->h.host ? r->h.host : "-",
                    t->sni_srv && t->sni_srv->server_name ? t->sni_srv->server_name : "none");
            return 421;
        }
    }
    if (rs == NULL)
        return 0;
    int verify = rs->verify, depth = rs->depth;
    const struct tls_loc_conf *l = loc_for(r, d);
    if (l != NULL) {
        verify = l->verify;
        if (l->depth != CONF_UNSET)
            depth = l->depth;
    }
    if (verify == TLS_VERIFY_NONE)
        return 0;
    SSL *ssl = t->ssl;
    if (have_good_cert(ssl))
        return 0;
    if (SSL_get0_peer_certificate(ssl) != NULL)
        return 403; /* presented, but verification failed */
    if (verify == rs->verify && verify == TLS_VERIFY_OPTIONAL)
        return 0; /* the handshake already asked */
    if (t->pha_state == -1)
        return 403;
    if (t->pha_state == 0) {
        int rc = post_handshake_auth(t, depth, deadline);
        if (rc < 0) {
            r->c->keepalive = 0;
            r->c->aborted = 1;
            return -1;
        }
        if (rc > 0) {
            /* As httpd: even for optional, a client that cannot be asked is refused. */
            t->pha_state = -1;
            log_msg(MOD_SSL, LL_INFO, 0, r->c->client_addr,
                    "cannot perform post-handshake authentication for %s (needs TLS 1.3 and a "
                    "client offering it)",
                    r->path ? r->path : "-");
            return 403;
        }
        if (have_good_cert(ssl))
            return 0;
        if (SSL_get0_peer_certificate(ssl) != NULL)
            return 403;
    }
    if (verify == TLS_VERIFY_OPTIONAL)
        return 0;
    log_msg(MOD_SSL, LL_INFO, 0, r->c->client_addr,
            "client certificate required for %s and not provided", r->path ? r->path : "-");
    return 403;
}

static const char *const std_vars[] = {
    "SSL_PROTOCOL",        "SSL_CIPHER",          "SSL_CIPHER_USEKEYSIZE", "SSL_CIPHER_ALGKEYSIZE",
    "SSL_CIPHER_EXPORT",   "SSL_SESSION_ID",      "SSL_SESSION_RESUMED",   "SSL_SECURE_RENEG",
    "SSL_COMPRESS_METHOD", "SSL_VERSION_LIBRARY", "SSL_VERSION_INTERFACE", "SSL_CLIENT_VERIFY",
    "SSL_CLIENT_S_DN",     "SSL_CLIENT_I_DN",     "SSL_CLIENT_M_SERIAL",   "SSL_CLIENT_M_VERSION",
    "SSL_CLIENT_V_START",  "SSL_CLIENT_V_END",    "SSL_CLIENT_S_DN_CN",    "SSL_CLIENT_I_DN_CN",
    "SSL_SERVER_S_DN",     "SSL_SERVER_I_DN",     "SSL_SERVER_S_DN_CN",    "SSL_SERVER_M_SERIAL",
    "SSL_SERVER_V_START",  "SSL_SERVER_V_END",
};

void tls_export_env(struct request *r, const struct route_decision *d)
{
    struct tls_session *t = r->c->tls;
    if (t == NULL)
        return;
    env_set(r, "HTTPS", "on");
    const char *sni = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
    if (sni != NULL)
        env_set(r, "SSL_TLS_SNI", sni);
    if (!tls_std_env_vars(r, d))
        return;
    env_set(r, "SSL", "1");
    for (size_t i = 0; i < ARRAY_LEN(std_vars); i++) {
        const char *v = tls_var(t, std_vars[i], r->arena);
        if (v != NULL)
            env_set(r, std_vars[i], v);
    }
}

/* ---------------------------------------------------------------- variables */

/* What a memory BIO holds, as a string in the arena; frees the BIO. */
static const char *bio_text(BIO *b, struct arena *a)
{
    char *p;
    long len = BIO_get_mem_data(b, &p);
    char *s = len >= 0 ? arena_alloc(a, (size_t)len + 1) : NULL;
    if (s != NULL) {
        memcpy(s, p, (size_t)len);
        s[len] = '\0';
    }
    BIO_free(b);
    return s;
}

static const char *dn_text(X509_NAME *n, struct arena *a)
{
    if (n == NULL)
        return NULL;
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL)
        return NULL;
    X509_NAME_print_ex(b, n, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
    return bio_text(b, a);
}

static const char *dn_part(X509_NAME *n, const char *part, struct arena *a)
{
    int nid = OBJ_txt2nid(part);
    if (n == NULL || nid == NID_undef)
        return NULL;
    int i = X509_NAME_get_index_by_NID(n, nid, -1);
    if (i < 0)
        return NULL;
    ASN1_STRING *s = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(n, i));
    unsigned char *u = NULL;
    int len = ASN1_STRING_to_UTF8(&u, s);
    if (len < 0)
        return NULL;
    char *r = arena_alloc(a, (size_t)len + 1);
    if (r != NULL) {
        memcpy(r, u, (size_t)len);
        r[len] = '\0';
    }
    OPENSSL_free(u);
    return r;
}

static const char *time_text(const ASN1_TIME *tm, struct arena *a)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (b == NULL || tm == NULL) {
        BIO_free(b);
        return NULL;
    }
    ASN1_TIME_print(b, tm);
    return bio_text(b, a);
}

static const char *cert_var(X509 *x, const char *n, struct arena *a)
{
    if (x == NULL)
        return NULL;
    if (strcmp(n, "S_DN") == 0)
        return dn_text(X509_get_subject_name(x), a);
    if (strcmp(n, "I_DN") == 0)
        return dn_text(X509_get_issuer_name(x), a);
    if (strncmp(n, "S_DN_", 5) == 0)
        return dn_part(X509_get_subject_name(x), n + 5, a);
    if (strncmp(n, "I_DN_", 5) == 0)
        return dn_part(X509_get_issuer_name(x), n + 5, a);
    if (strcmp(n, "M_VERSION") == 0)
        return arena_printf(a, "%ld", X509_get_version(x) + 1);
    if (strcmp(n, "M_SERIAL") == 0) {
        BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
        char *hex = bn ? BN_bn2hex(bn) : NULL;
        const char *r = hex ? arena_strdup(a, hex) : NULL;
        OPENSSL_free(hex);
        BN_free(bn);
        return r;
    }
    if (strcmp(n, "V_START") == 0)
        return time_text(X509_get0_notBefore(x), a);
    if (strcmp(n, "V_END") == 0)
        return time_text(X509_get0_notAfter(x), a);
    return NULL;
}

const char *tls_var(const struct tls_session *t, const char *name, struct arena *a)
{
    if (t == NULL || name == NULL)
        return NULL;
    SSL *ssl = t->ssl;
    if (strcmp(name, "HTTPS") == 0)
        return "on";
    if (strncmp(name, "SSL_", 4) != 0)
        return NULL;
    const char *n = name + 4;
    const SSL_CIPHER *ci = SSL_get_current_cipher(ssl);
    if (strcmp(n, "PROTOCOL") == 0)
        return SSL_get_version(ssl);
    if (strcmp(n, "CIPHER") == 0)
        return ci ? SSL_CIPHER_get_name(ci) : NULL;
    if (strcmp(n, "CIPHER_USEKEYSIZE") == 0 || strcmp(n, "CIPHER_ALGKEYSIZE") == 0) {
        int alg = 0, use = ci ? SSL_CIPHER_get_bits(ci, &alg) : 0;
        return arena_printf(a, "%d", n[7] == 'U' ? use : alg);
    }
    if (strcmp(n, "CIPHER_EXPORT") == 0 || strcmp(n, "SECURE_RENEG") == 0)
        return "false";
    if (strcmp(n, "COMPRESS_METHOD") == 0)
        return "NULL";
    if (strcmp(n, "SESSION_RESUMED") == 0)
        return SSL_session_reused(ssl) ? "Resumed" : "Initial";
    if (strcmp(n, "SESSION_ID") == 0) {
        unsigned len = 0;
        const unsigned char *id = SSL_SESSION_get_id(SSL_get_session(ssl), &len);
        char *s = arena_alloc(a, (size_t)len * 2 + 1);
        if (s == NULL)
            return NULL;
        for (unsigned i = 0; i < len; i++)
            snprintf(s + 2 * i, 3, "%02X", id[i]);
        s[2 * len] = '\0';
        return s;
    }
    if (strcmp(n, "TLS_SNI") == 0)
        return SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    if (strcmp(n, "VERSION_LIBRARY") == 0)
        return OpenSSL_version(OPENSSL_VERSION);
    if (strcmp(n, "VERSION_INTERFACE") == 0)
        return "portico/" PACKAGE_VERSION;
    if (strcmp(n, "CLIENT_VERIFY") == 0) {
        if (SSL_get0_peer_certificate(ssl) == NULL)
            return "NONE";
        long v = SSL_get_verify_result(ssl);
        if (v == X509_V_OK)
            return "SUCCESS";
        return arena_printf(a, "FAILED:%s", X509_verify_cert_error_string(v));
    }
    if (strncmp(n, "CLIENT_", 7) == 0)
        return cert_var(SSL_get0_peer_certificate(ssl), n + 7, a);
    if (strncmp(n, "SERVER_", 7) == 0)
        return cert_var(SSL_get_certificate(ssl), n + 7, a);
    return NULL;
}
