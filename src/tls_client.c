/* TLS to backends (mod_ssl's SSLProxy* side): the directives, one client SSL_CTX per distinct
 * set of settings, the handshake with SNI and httpd's post-handshake peer checks, client
 * session resumption per worker process, and the idle check of pooled TLS connections.
 *
 * Settings come from the server (a vhost inherits what it does not set from the main server)
 * and from <Proxy>/<ProxyMatch> sections whose pattern matches the worker's name (httpd
 * 2.4.30+ merges a worker's <Proxy> section into its SSL proxy settings); a matching
 * section's explicit settings win, main server's sections first, then the vhost's.
 *
 * As httpd: SSLProxyVerify defaults to none, but SSLProxyCheckPeerName and
 * SSLProxyCheckPeerExpire default to on and are checked after every handshake whatever
 * SSLProxyVerify says, so a backend certificate must at least name the host and be in date.
 * SSLProxyCheckPeerCN only matters once SSLProxyCheckPeerName is explicitly off. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fnmatch.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf_registry.h"
#include "log.h"
#include "proxy_types.h"
#include "tls_impl.h"
#include "util.h"

#define VERIFY_NONE     0
#define VERIFY_OPTIONAL 1
#define VERIFY_REQUIRE  2
#define VERIFY_NO_CA    3 /* optional_no_ca */

#define PROTO_TLS1    0x01
#define PROTO_TLS11   0x02
#define PROTO_TLS12   0x04
#define PROTO_TLS13   0x08
#define PROTO_ALL     (PROTO_TLS1 | PROTO_TLS11 | PROTO_TLS12 | PROTO_TLS13)
#define PROTO_DEFAULT (PROTO_TLS12 | PROTO_TLS13)

/* CONF_UNSET / NULL = not set at this level. */
struct tls_proxy_settings {
    int engine;
    int verify;
    int depth;
    int check_name;
    int check_cn;
    int check_expire;
    int protocols;
    char *ca_file;
    char *ca_path;
    char *ciphers;      /* TLSv1.2 and below (OpenSSL cipher list) */
    char *ciphersuites; /* TLSv1.3 */
    char *machine_cert; /* PEM with certificate(s) and key */
};

struct tls_proxy_section {
    const struct conf_dir *dir;
    struct tls_proxy_settings s;
    struct tls_proxy_section *next;
};

/* A built client context, the settings it was built from and the conf it belongs to (its
 * main server's tls_proxy_conf). One process-wide list: the conf arena does not outlive a
 * graceful restart, and the contexts stay reachable until tls_client_conf_free(). */
struct tls_proxy_ctx {
    const struct tls_proxy_conf *owner;
    struct tls_proxy_settings s;
    SSL_CTX *ctx;
    struct tls_proxy_ctx *next;
};

static struct tls_proxy_ctx *all_ctxs;

struct tls_proxy_conf {
    struct tls_proxy_settings s;
    struct tls_proxy_section *sections; /* this server's <Proxy> sections with SSLProxy* */
    struct tls_proxy_conf *parent;      /* a vhost's: the main server's (after finish) */
    int finished;
};

static void settings_unset(struct tls_proxy_settings *s)
{
    *s = (struct tls_proxy_settings){CONF_UNSET, CONF_UNSET, CONF_UNSET, CONF_UNSET,
                                     CONF_UNSET, CONF_UNSET, CONF_UNSET, NULL,
                                     NULL,       NULL,       NULL,       NULL};
}

/* Fields set in `over` replace those of `s`. */
static void settings_merge(struct tls_proxy_settings *s, const struct tls_proxy_settings *over)
{
#define M_INT(f)                                                                                   \
    if (over->f != CONF_UNSET)                                                                     \
    s->f = over->f
#define M_STR(f)                                                                                   \
    if (over->f != NULL)                                                                           \
    s->f = over->f
    M_INT(engine);
    M_INT(verify);
    M_INT(depth);
    M_INT(check_name);
    M_INT(check_cn);
    M_INT(check_expire);
    M_INT(protocols);
    M_STR(ca_file);
    M_STR(ca_path);
    M_STR(ciphers);
    M_STR(ciphersuites);
    M_STR(machine_cert);
#undef M_INT
#undef M_STR
}

static void settings_defaults(struct tls_proxy_settings *s)
{
    if (s->engine == CONF_UNSET)
        s->engine = 0;
    if (s->verify == CONF_UNSET)
        s->verify = VERIFY_NONE;
    if (s->depth == CONF_UNSET)
        s->depth = 1;
    if (s->check_name == CONF_UNSET)
        s->check_name = 1;
    if (s->check_cn == CONF_UNSET)
        s->check_cn = 1;
    if (s->check_expire == CONF_UNSET)
        s->check_expire = 1;
    if (s->protocols == CONF_UNSET)
        s->protocols = PROTO_DEFAULT;
}

static int str_eq(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Whether two complete settings build the same context (engine does not matter). */
static int settings_same_ctx(const struct tls_proxy_settings *a, const struct tls_proxy_settings *b)
{
    return a->verify == b->verify && a->depth == b->depth && a->protocols == b->protocols &&
           str_eq(a->ca_file, b->ca_file) && str_eq(a->ca_path, b->ca_path) &&
           str_eq(a->ciphers, b->ciphers) && str_eq(a->ciphersuites, b->ciphersuites) &&
           str_eq(a->machine_cert, b->machine_cert);
}

/* ------------------------------------------------------------------------ directives */

static struct tls_proxy_conf *conf_new(struct arena *a)
{
    struct tls_proxy_conf *t = arena_calloc(a, 1, sizeof(*t));
    if (t != NULL)
        settings_unset(&t->s);
    return t;
}

/* The settings a directive writes: the innermost <Proxy> section's, or the server's. */
static struct tls_proxy_settings *target(struct conf_cmd *cmd)
{
    struct conf_server *srv = cmd->server;
    if (srv->tls_proxy == NULL && (srv->tls_proxy = conf_new(cmd->arena)) == NULL)
        return NULL;
    struct conf_dir *dir = cmd->dir;
    if (dir == NULL || (dir->kind != DIR_PROXY && dir->kind != DIR_PROXYMATCH))
        return &srv->tls_proxy->s;
    struct tls_proxy_section **pp = &srv->tls_proxy->sections;
    for (; *pp != NULL; pp = &(*pp)->next)
        if ((*pp)->dir == dir)
            return &(*pp)->s;
    struct tls_proxy_section *sec = arena_calloc(cmd->arena, 1, sizeof(*sec));
    if (sec == NULL)
        return NULL;
    sec->dir = dir;
    settings_unset(&sec->s);
    *pp = sec;
    return &sec->s;
}

#define TARGET_OR_OOM(s)                                                                           \
    struct tls_proxy_settings *s = target(cmd);                                                    \
    if (s == NULL)                                                                                 \
    return "out of memory"

static const char *set_flag(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    (void)argc;
    TARGET_OR_OOM(s);
    int v = argv[0][0] == '1';
    switch (d->offset) {
    case 0:
        s->engine = v;
        break;
    case 1:
        s->check_name = v;
        break;
    case 2:
        s->check_cn = v;
        break;
    default:
        s->check_expire = v;
        break;
    }
    return NULL;
}

static const char *set_verify(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d, (void)argc;
    TARGET_OR_OOM(s);
    const char *a = argv[0];
    if (util_strcaseeq(a, "none"))
        s->verify = VERIFY_NONE;
    else if (util_strcaseeq(a, "optional"))
        s->verify = VERIFY_OPTIONAL;
    else if (util_strcaseeq(a, "require"))
        s->verify = VERIFY_REQUIRE;
    else if (util_strcaseeq(a, "optional_no_ca"))
        s->verify = VERIFY_NO_CA;
    else
        return conf_errf(cmd, "Invalid argument '%s'", a);
    return NULL;
}

static const char *set_depth(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                             char **argv)
{
    (void)d, (void)argc;
    TARGET_OR_OOM(s);
    long long v;
    if (util_parse_ll(argv[0], 0, 100, &v) < 0)
        return "Invalid argument: depth must be a number between 0 and 100";
    s->depth = (int)v;
    return NULL;
}

/* Files are checked at load as httpd does, so a typo is a start-up error, not a 502 later. */
static const char *set_path(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    (void)argc;
    TARGET_OR_OOM(s);
    char *path = conf_server_path(cmd, argv[0]);
    if (path == NULL)
        return "out of memory";
    int want_dir = d->offset == 1;
    if (access(path, R_OK | (want_dir ? X_OK : 0)) != 0)
        return conf_errf(cmd, "%s '%s' does not exist or is not readable",
                         want_dir ? "directory" : "file", path);
    switch (d->offset) {
    case 0:
        s->ca_file = path;
        break;
    case 1:
        s->ca_path = path;
        break;
    default:
        s->machine_cert = path;
        break;
    }
    return NULL;
}

/* SSLProxyProtocol [+|-]protocol ...: as SSLProtocol ("all" is TLSv1 up to TLSv1.3). */
static const char *set_protocol(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv)
{
    (void)d;
    TARGET_OR_OOM(s);
    int set = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        char op = 0;
        if (*a == '+' || *a == '-')
            op = *a++;
        int bit;
        if (util_strcaseeq(a, "all"))
            bit = PROTO_ALL;
        else if (util_strcaseeq(a, "TLSv1"))
            bit = PROTO_TLS1;
        else if (util_strcaseeq(a, "TLSv1.1"))
            bit = PROTO_TLS11;
        else if (util_strcaseeq(a, "TLSv1.2"))
            bit = PROTO_TLS12;
        else if (util_strcaseeq(a, "TLSv1.3"))
            bit = PROTO_TLS13;
        else if (util_strcaseeq(a, "SSLv3") || util_strcaseeq(a, "SSLv2"))
            bit = 0; /* not available in OpenSSL 3 builds: httpd ignores -SSLv3 too */
        else
            return conf_errf(cmd, "Illegal protocol '%s'", argv[i]);
        if (op == '-')
            set &= ~bit;
        else if (op == '+')
            set |= bit;
        else
            set = bit;
    }
    if (set == 0)
        return "No protocols left to use";
    s->protocols = set;
    return NULL;
}

/* SSLProxyCipherSuite [SSL|TLSv1.3] spec (httpd 2.4.36+: the protocol selects the list). */
static const char *set_ciphers(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    TARGET_OR_OOM(s);
    const char *spec = argv[argc - 1];
    char *copy = arena_strdup(cmd->arena, spec);
    if (copy == NULL)
        return "out of memory";
    if (argc == 1 || util_strcaseeq(argv[0], "SSL"))
        s->ciphers = copy;
    else if (util_strcaseeq(argv[0], "TLSv1.3"))
        s->ciphersuites = copy;
    else
        return conf_errf(cmd, "protocol '%s' not supported (SSL or TLSv1.3)", argv[0]);
    return NULL;
}

#define CTX_TLSP (CTX_SRV_ANY | CTX_PROXY)
#define DIR(name, args, fn, off, help)                                                             \
    {                                                                                              \
        name, CTX_TLSP, args, fn, TGT_NONE, off, 0, 0, 0, MOD_SSL, help                            \
    }

static const struct conf_directive tls_proxy_directives[] = {
    DIR("SSLProxyEngine", ARGS_FLAG, set_flag, 0, "On|Off"),
    DIR("SSLProxyCheckPeerName", ARGS_FLAG, set_flag, 1, "On|Off"),
    DIR("SSLProxyCheckPeerCN", ARGS_FLAG, set_flag, 2, "On|Off"),
    DIR("SSLProxyCheckPeerExpire", ARGS_FLAG, set_flag, 3, "On|Off"),
    DIR("SSLProxyVerify", ARGS_TAKE1, set_verify, 0, "none|optional|require|optional_no_ca"),
    DIR("SSLProxyVerifyDepth", ARGS_TAKE1, set_depth, 0, "number"),
    DIR("SSLProxyCACertificateFile", ARGS_TAKE1, set_path, 0, "file"),
    DIR("SSLProxyCACertificatePath", ARGS_TAKE1, set_path, 1, "directory"),
    DIR("SSLProxyMachineCertificateFile", ARGS_TAKE1, set_path, 2, "file"),
    DIR("SSLProxyProtocol", ARGS_1MORE, set_protocol, 0, "[+|-]protocol ..."),
    DIR("SSLProxyCipherSuite", ARGS_TAKE12, set_ciphers, 0, "[SSL|TLSv1.3] cipher-spec"),
};

const struct conf_table conf_table_tls_proxy = {
    tls_proxy_directives, sizeof(tls_proxy_directives) / sizeof(tls_proxy_directives[0])};

/* --------------------------------------------------------------- resolution and contexts */

void tls_client_conf_finish(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    struct conf_server *m = c->main;
    if (m->tls_proxy == NULL)
        m->tls_proxy = conf_new(cmd->arena);
    if (m->tls_proxy == NULL)
        return;
    m->tls_proxy->finished = 1;
    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        if (v->tls_proxy == NULL) {
            v->tls_proxy = m->tls_proxy;
            continue;
        }
        v->tls_proxy->parent = m->tls_proxy;
        v->tls_proxy->finished = 1;
        struct tls_proxy_settings s = m->tls_proxy->s;
        settings_merge(&s, &v->tls_proxy->s);
        v->tls_proxy->s = s;
    }
}

static int section_matches(const struct conf_dir *d, const char *name)
{
    if (d->kind == DIR_PROXYMATCH) {
        if (d->regex == NULL)
            return 0;
        pcre2_match_data *md = pcre2_match_data_create(1, NULL);
        if (md == NULL)
            return 0;
        int rc = pcre2_match(d->regex, (PCRE2_SPTR)name, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
        pcre2_match_data_free(md);
        return rc >= 0;
    }
    if (strpbrk(d->pattern, "*?[") != NULL)
        return fnmatch(d->pattern, name, 0) == 0;
    size_t n = strlen(d->pattern);
    return util_strncaseeq(d->pattern, name, n);
}

static void apply_sections(struct tls_proxy_settings *s, const struct tls_proxy_section *sec,
                           const struct proxy_worker *w)
{
    const char *bname = w->member && w->member->balancer ? w->member->balancer->name : NULL;
    for (; sec != NULL; sec = sec->next) {
        const struct proxy_dir_conf *pd = sec->dir->proxy;
        int hit = 0;
        if (pd != NULL && pd->worker == w)
            hit = 1;
        else if (pd != NULL && pd->balancer != NULL && w->member != NULL &&
                 w->member->balancer == pd->balancer)
            hit = 1;
        else if (section_matches(sec->dir, w->name))
            hit = 1;
        else if (bname != NULL && section_matches(sec->dir, bname))
            hit = 1;
        if (hit)
            settings_merge(s, &sec->s);
    }
}

/* The complete settings for requests of srv to w. */
static void effective(const struct conf_server *srv, const struct proxy_worker *w,
                      struct tls_proxy_settings *out)
{
    settings_unset(out);
    const struct tls_proxy_conf *t = srv ? srv->tls_proxy : NULL;
    if (t != NULL) {
        *out = t->s;
        if (t->parent != NULL && t->parent != t)
            apply_sections(out, t->parent->sections, w);
        apply_sections(out, t->sections, w);
    }
    settings_defaults(out);
}

static struct tls_proxy_conf *root_of(const struct conf_server *srv)
{
    struct tls_proxy_conf *t = srv ? srv->tls_proxy : NULL;
    while (t != NULL && t->parent != NULL)
        t = t->parent;
    return t;
}

static void ssl_errors(char *err, size_t errlen, const char *what)
{
    unsigned long e = ERR_get_error();
    char buf[256] = "";
    if (e != 0)
        ERR_error_string_n(e, buf, sizeof(buf));
    ERR_clear_error();
    snprintf(err, errlen, "%s%s%s", what, buf[0] ? ": " : "", buf);
}

/* httpd's depth rule (SSLProxyVerifyDepth, default 1): a certificate deeper than the depth
 * fails, the trust anchor included, so 1 = a leaf signed directly by a configured CA. OpenSSL's
 * own limit does not count the anchor and would let one more intermediate through. */
static int depth_ok(X509_STORE_CTX *st)
{
    SSL *ssl = X509_STORE_CTX_get_ex_data(st, SSL_get_ex_data_X509_STORE_CTX_idx());
    /* ctx_build set OpenSSL's depth one above SSLProxyVerifyDepth */
    int depth = ssl != NULL ? SSL_get_verify_depth(ssl) - 1 : -1;
    if (depth >= 0 && X509_STORE_CTX_get_error_depth(st) > depth) {
        X509_STORE_CTX_set_error(st, X509_V_ERR_CERT_CHAIN_TOO_LONG);
        return 0;
    }
    return 1;
}

static int verify_cb(int ok, X509_STORE_CTX *st)
{
    return ok && depth_ok(st);
}

/* SSLProxyVerify optional_no_ca: an unknown issuer is fine, anything else is not. */
static int verify_no_ca_cb(int ok, X509_STORE_CTX *st)
{
    if (ok)
        return depth_ok(st);
    switch (X509_STORE_CTX_get_error(st)) {
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        return 1;
    default:
        return 0;
    }
}

static int new_session_cb(SSL *ssl, SSL_SESSION *sess);

static int proto_version(int bit)
{
    switch (bit) {
    case PROTO_TLS1:
        return TLS1_VERSION;
    case PROTO_TLS11:
        return TLS1_1_VERSION;
    case PROTO_TLS12:
        return TLS1_2_VERSION;
    default:
        return TLS1_3_VERSION;
    }
}

static SSL_CTX *ctx_build(const struct tls_proxy_settings *s, char *err, size_t errlen)
{
    SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
    if (ctx == NULL) {
        ssl_errors(err, errlen, "SSL_CTX_new");
        return NULL;
    }
    int lo = 0, hi = 0;
    for (int b = PROTO_TLS1; b <= PROTO_TLS13; b <<= 1)
        if (s->protocols & b) {
            if (lo == 0)
                lo = b;
            hi = b;
        }
    SSL_CTX_set_min_proto_version(ctx, proto_version(lo));
    SSL_CTX_set_max_proto_version(ctx, proto_version(hi));
    if (lo < PROTO_TLS12)
        SSL_CTX_set_security_level(ctx, 0); /* OpenSSL 3 refuses TLS < 1.2 at level 1+ */
    SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
    SSL_CTX_set_mode(ctx, SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY);
    if (s->ciphers != NULL && SSL_CTX_set_cipher_list(ctx, s->ciphers) != 1) {
        ssl_errors(err, errlen, "SSLProxyCipherSuite: no usable cipher");
        goto fail;
    }
    if (s->ciphersuites != NULL && SSL_CTX_set_ciphersuites(ctx, s->ciphersuites) != 1) {
        ssl_errors(err, errlen, "SSLProxyCipherSuite TLSv1.3: no usable cipher suite");
        goto fail;
    }
    if ((s->ca_file != NULL || s->ca_path != NULL) &&
        SSL_CTX_load_verify_locations(ctx, s->ca_file, s->ca_path) != 1) {
        ssl_errors(err, errlen, "SSLProxyCACertificateFile/Path: cannot load");
        goto fail;
    }
    switch (s->verify) {
    case VERIFY_NONE:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
        break;
    case VERIFY_NO_CA:
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_no_ca_cb);
        break;
    default:
        /* a server always presents a certificate: optional verifies as require does */
        SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, verify_cb);
        break;
    }
    SSL_CTX_set_verify_depth(ctx, s->depth + 1); /* the callbacks apply httpd's limit */
    if (s->machine_cert != NULL) {
        SSL_CTX_set_default_passwd_cb(ctx, tls_no_passphrase);
        if (SSL_CTX_use_certificate_chain_file(ctx, s->machine_cert) != 1 ||
            SSL_CTX_use_PrivateKey_file(ctx, s->machine_cert, SSL_FILETYPE_PEM) != 1 ||
            SSL_CTX_check_private_key(ctx) != 1) {
            ssl_errors(err, errlen, "SSLProxyMachineCertificateFile: cannot load");
            goto fail;
        }
    }
    /* client-side cache only through new_session_cb: one session per worker (below) */
    SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
    SSL_CTX_sess_set_new_cb(ctx, new_session_cb);
    return ctx;
fail:
    SSL_CTX_free(ctx);
    return NULL;
}

/* The context for srv -> w, built on first use (the master builds them all at load). */
static SSL_CTX *ctx_for(const struct conf_server *srv, const struct tls_proxy_settings *s,
                        char *err, size_t errlen)
{
    struct tls_proxy_conf *root = root_of(srv);
    if (root == NULL) {
        snprintf(err, errlen, "no SSLProxy configuration");
        return NULL;
    }
    for (struct tls_proxy_ctx *e = all_ctxs; e != NULL; e = e->next)
        if (e->owner == root && settings_same_ctx(&e->s, s))
            return e->ctx;
    struct tls_proxy_ctx *e = calloc(1, sizeof(*e));
    if (e == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    e->owner = root;
    e->s = *s;
    if ((e->ctx = ctx_build(s, err, errlen)) == NULL) {
        free(e);
        return NULL;
    }
    e->next = all_ctxs;
    all_ctxs = e;
    return e->ctx;
}

static int is_tls_worker(const struct proxy_worker *w)
{
    return util_strcaseeq(w->scheme, "https") || util_strcaseeq(w->scheme, "wss");
}

int tls_client_engine(const struct conf_server *srv, const struct proxy_worker *w)
{
    struct tls_proxy_settings s;
    effective(srv, w, &s);
    return s.engine == 1;
}

static void conf_load_one(const struct conf_server *srv, const struct proxy_worker *w, int *rc,
                          char *err, size_t errlen)
{
    struct tls_proxy_settings s;
    effective(srv, w, &s);
    if (s.engine != 1 || *rc < 0)
        return;
    char why[256];
    if (ctx_for(srv, &s, why, sizeof(why)) == NULL) {
        snprintf(err, errlen, "%s:%d: SSL proxy context for %s: %s", w->file ? w->file : "?",
                 w->line, w->name, why);
        *rc = -1;
        return;
    }
    if ((s.verify == VERIFY_REQUIRE || s.verify == VERIFY_OPTIONAL) && s.ca_file == NULL &&
        s.ca_path == NULL)
        log_msg(MOD_SSL, LL_WARN, 0, NULL,
                "SSLProxyVerify for %s without SSLProxyCACertificateFile/Path: every "
                "verification will fail",
                w->name);
}

int tls_client_conf_load(struct conf *c, char *err, size_t errlen)
{
    if (c->proxy == NULL)
        return 0;
    int rc = 0;
    for (const struct proxy_worker *w = c->proxy->workers; w != NULL; w = w->next) {
        if (!is_tls_worker(w))
            continue;
        conf_load_one(c->main, w, &rc, err, errlen);
        for (const struct conf_server *v = c->vhosts; v != NULL; v = v->next)
            conf_load_one(v, w, &rc, err, errlen);
    }
    return rc;
}

void tls_client_conf_free(struct conf *c)
{
    const struct tls_proxy_conf *root = c->main ? c->main->tls_proxy : NULL;
    if (root == NULL)
        return;
    struct tls_proxy_ctx **pp = &all_ctxs;
    while (*pp != NULL) {
        struct tls_proxy_ctx *e = *pp;
        if (e->owner != root) {
            pp = &e->next;
            continue;
        }
        *pp = e->next;
        SSL_CTX_free(e->ctx);
        free(e);
    }
}

/* ------------------------------------------------------------------ session resumption */

/* One resumable session per worker index in this process (a prefork child talks to one
 * backend at a time; the last session is the freshest). Runtime workers share index
 * n_workers, hence the host and context check. */
struct sess_slot {
    SSL_SESSION *sess;
    const SSL_CTX *ctx;
    char host[256];
    int port;
};

static struct sess_slot *sess_slots;
static unsigned n_sess_slots;
static int sess_ex_index = -1;

static struct sess_slot *sess_slot_for(unsigned idx)
{
    if (idx >= n_sess_slots) {
        unsigned n = idx + 8;
        struct sess_slot *ns = realloc(sess_slots, sizeof(*ns) * n);
        if (ns == NULL)
            return NULL;
        for (unsigned i = n_sess_slots; i < n; i++)
            ns[i] = (struct sess_slot){0};
        sess_slots = ns;
        n_sess_slots = n;
    }
    return &sess_slots[idx];
}

struct sess_key {
    unsigned idx;
    int port;
    char host[256];
};

static int new_session_cb(SSL *ssl, SSL_SESSION *sess)
{
    const struct sess_key *k = sess_ex_index >= 0 ? SSL_get_ex_data(ssl, sess_ex_index) : NULL;
    if (k == NULL || !SSL_SESSION_is_resumable(sess))
        return 0;
    struct sess_slot *slot = sess_slot_for(k->idx);
    if (slot == NULL)
        return 0;
    if (slot->sess != NULL)
        SSL_SESSION_free(slot->sess);
    slot->sess = sess;
    slot->ctx = SSL_get_SSL_CTX(ssl);
    slot->port = k->port;
    util_strlcpy(slot->host, k->host, sizeof(slot->host));
    return 1; /* we keep the reference */
}

static void free_key(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl, void *argp)
{
    (void)parent, (void)ad, (void)idx, (void)argl, (void)argp;
    free(ptr);
}

/* ------------------------------------------------------------------------- handshake */

static int is_ip_literal(const char *h)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, h, buf) == 1 || inet_pton(AF_INET6, h, buf) == 1;
}

static const char *verify_reason(SSL *ssl)
{
    long v = SSL_get_verify_result(ssl);
    return v == X509_V_OK ? NULL : X509_verify_cert_error_string(v);
}

/* httpd's post-handshake checks (ssl_io_filter_handshake, proxy side). */
static int peer_checks(SSL *ssl, const struct tls_proxy_settings *s, const char *host, char *err,
                       size_t errlen)
{
    X509 *cert = SSL_get1_peer_certificate(ssl);
    int ok = 0;
    if (s->check_expire) {
        if (cert == NULL || X509_cmp_current_time(X509_get0_notBefore(cert)) >= 0 ||
            X509_cmp_current_time(X509_get0_notAfter(cert)) <= 0) {
            snprintf(err, errlen, "SSL Proxy: Peer certificate is expired");
            goto done;
        }
    }
    if (s->check_name && host != NULL) {
        int match = 0;
        if (cert != NULL) {
            if (is_ip_literal(host))
                match = X509_check_ip_asc(cert, host, 0) == 1;
            else
                match = X509_check_host(cert, host, 0, 0, NULL) == 1;
        }
        if (!match) {
            snprintf(err, errlen, "SSL Proxy: Peer certificate does not match for hostname %s",
                     host);
            goto done;
        }
    } else if (s->check_cn && host != NULL) {
        char cn[256] = "";
        if (cert != NULL)
            X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
        if (!util_strcaseeq(cn, host)) {
            snprintf(err, errlen,
                     "SSL Proxy: Peer certificate CN mismatch: Certificate CN: %s Requested "
                     "hostname: %s",
                     cn, host);
            goto done;
        }
    }
    ok = 1;
done:
    X509_free(cert);
    return ok;
}

/* A client session in connect state on fd, no I/O yet. */
/* The peer checks a session was made with (tls_session.peer_checks). */
static unsigned checks_of(const struct tls_proxy_settings *s)
{
    return (s->check_name == 1 ? 1u : 0u) | (s->check_cn == 1 ? 2u : 0u) |
           (s->check_expire == 1 ? 4u : 0u) | (s->verify > 0 ? 8u : 0u);
}

static struct tls_session *client_new(int fd, const struct conf_server *srv,
                                      const struct proxy_worker *w, const char *host,
                                      struct tls_proxy_settings *s, char *err, size_t errlen)
{
    char why[256];
    effective(srv, w, s);
    if (s->engine != 1) {
        snprintf(err, errlen,
                 "SSL Proxy requested for %s:%d but not enabled [Hint: SSLProxyEngine]", w->host,
                 w->port);
        return NULL;
    }
    SSL_CTX *ctx = ctx_for(srv, s, why, sizeof(why));
    if (ctx == NULL) {
        snprintf(err, errlen, "%s", why);
        return NULL;
    }
    if (sess_ex_index < 0)
        sess_ex_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, free_key);
    SSL *ssl = SSL_new(ctx);
    if (ssl == NULL || SSL_set_fd(ssl, fd) != 1) {
        ssl_errors(err, errlen, "SSL_new");
        goto fail;
    }
    if (host[0] != '\0' && !is_ip_literal(host) && SSL_set_tlsext_host_name(ssl, host) != 1) {
        ssl_errors(err, errlen, "SNI");
        goto fail;
    }
    struct sess_key *k = calloc(1, sizeof(*k));
    if (k != NULL) {
        k->idx = w->index;
        k->port = w->port;
        util_strlcpy(k->host, host, sizeof(k->host));
        if (sess_ex_index < 0 || SSL_set_ex_data(ssl, sess_ex_index, k) != 1)
            free(k);
    }
    struct sess_slot *slot = sess_slot_for(w->index);
    if (slot != NULL && slot->sess != NULL && slot->ctx == ctx && slot->port == w->port &&
        strcmp(slot->host, host) == 0)
        SSL_set_session(ssl, slot->sess);
    SSL_set_connect_state(ssl);
    struct tls_session *t = calloc(1, sizeof(*t));
    if (t == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    t->ssl = ssl;
    t->peer_checks = checks_of(s);
    t->fd = fd;
    t->client = 1;
    return t;
fail:
    SSL_free(ssl);
    return NULL;
}

static void client_free(struct tls_session *t)
{
    if (t != NULL) {
        SSL_free(t->ssl);
        free(t);
    }
}

/* One SSL_connect step: 1 done and checked, 0 wait for *events, -1 failed (err). */
static int client_step(struct tls_session *t, const struct tls_proxy_settings *s, short *events,
                       char *err, size_t errlen)
{
    SSL *ssl = t->ssl;
    ERR_clear_error();
    errno = 0;
    int r = SSL_connect(ssl);
    if (r != 1) {
        int e = SSL_get_error(ssl, r);
        if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
            *events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
            return 0;
        }
        const char *vr = verify_reason(ssl);
        if (vr != NULL)
            snprintf(err, errlen, "SSL Proxy: certificate verification failed: %s", vr);
        else if (e == SSL_ERROR_SYSCALL || e == SSL_ERROR_ZERO_RETURN)
            snprintf(err, errlen, "Error during SSL Handshake with remote server: %s",
                     errno ? strerror(errno) : "connection closed");
        else
            ssl_errors(err, errlen, "Error during SSL Handshake with remote server");
        ERR_clear_error();
        return -1;
    }
    const char *host = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
    const struct sess_key *k = sess_ex_index >= 0 ? SSL_get_ex_data(ssl, sess_ex_index) : NULL;
    if (host == NULL && k != NULL)
        host = k->host; /* IP literal: no SNI, but the certificate must still name it */
    if (!peer_checks(ssl, s, host, err, errlen))
        return -1;
    return 1;
}

struct tls_session *tls_client_connect(int fd, const struct conf_server *srv,
                                       const struct proxy_worker *w, const char *sni,
                                       int64_t deadline, char *err, size_t errlen)
{
    struct tls_proxy_settings s;
    const char *host = sni != NULL ? sni : w->host ? w->host : "";
    struct tls_session *t = client_new(fd, srv, w, host, &s, err, errlen);
    if (t == NULL)
        return NULL;
    for (;;) {
        short ev = 0;
        int r = client_step(t, &s, &ev, err, errlen);
        if (r > 0)
            return t;
        if (r < 0)
            break;
        int64_t left = deadline - util_now_ms();
        if (left <= 0) {
            snprintf(err, errlen, "SSL Handshake with remote server timed out");
            break;
        }
        struct pollfd pf = {.fd = fd, .events = ev};
        if (poll(&pf, 1, left > INT32_MAX ? INT32_MAX : (int)left) < 0 && errno != EINTR) {
            snprintf(err, errlen, "poll: %s", strerror(errno));
            break;
        }
    }
    client_free(t);
    return NULL;
}

/* ---- non-blocking use (health checks in the heartbeat process's poll loop) ---- */

struct tls_session *tls_client_start(int fd, const struct conf_server *srv,
                                     const struct proxy_worker *w, char *err, size_t errlen)
{
    struct tls_proxy_settings s;
    return client_new(fd, srv, w, w->host ? w->host : "", &s, err, errlen);
}

int tls_client_handshake_step(struct tls_session *t, const struct conf_server *srv,
                              const struct proxy_worker *w, short *events, char *err, size_t errlen)
{
    struct tls_proxy_settings s;
    effective(srv, w, &s);
    return client_step(t, &s, events, err, errlen);
}

ssize_t tls_client_nb_io(struct tls_session *t, int writing, void *buf, size_t len, short *events)
{
    size_t done = 0;
    ERR_clear_error();
    errno = 0;
    int r = writing ? SSL_write_ex(t->ssl, buf, len, &done) : SSL_read_ex(t->ssl, buf, len, &done);
    if (r > 0)
        return (ssize_t)done;
    int e = SSL_get_error(t->ssl, r);
    ERR_clear_error();
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *events = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        errno = EAGAIN;
        return -1;
    }
    if (e == SSL_ERROR_ZERO_RETURN)
        return 0;
    if (errno == 0)
        errno = ECONNRESET;
    return e == SSL_ERROR_SYSCALL && errno == ECONNRESET && !writing ? 0 : -1;
}

void tls_client_free(struct tls_session *t)
{
    client_free(t);
}

/* Pooled connection check: 1 = idle and reusable. Raw bytes on an idle TLS connection are
 * not necessarily a protocol error: TLS 1.3 servers send NewSessionTicket (and KeyUpdate)
 * records after the handshake, so a non-blocking SSL_read processes whatever arrived and the
 * connection is kept when that yields no application data and no close. */
int tls_client_idle(struct tls_session *t, int fd)
{
    if (t == NULL || t->ssl == NULL)
        return 0;
    if (SSL_pending(t->ssl) > 0)
        return 0;
    for (int i = 0; i < 8; i++) {
        char c;
        ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK;
        if (n == 0)
            return 0;
        ERR_clear_error();
        int r = SSL_read(t->ssl, &c, 1);
        if (r > 0)
            return 0; /* bytes past the response */
        int e = SSL_get_error(t->ssl, r);
        ERR_clear_error();
        if (e != SSL_ERROR_WANT_READ)
            return 0; /* close_notify, alert, reset */
        /* only handshake messages: look again, the socket may hold more records */
    }
    return 0;
}

int tls_client_made_for(const struct tls_session *t, const struct conf_server *srv,
                        const struct proxy_worker *w, const char *host)
{
    if (t == NULL || t->ssl == NULL)
        return 0;
    /* Workers are shared by every virtual host: a connection verified under one host's
     * SSLProxy* settings (CA, checks, client certificate) must not serve another's. */
    struct tls_proxy_settings s;
    effective(srv, w, &s);
    char why[64];
    SSL_CTX *ctx = s.engine == 1 ? ctx_for(srv, &s, why, sizeof(why)) : NULL;
    if (ctx == NULL || SSL_get_SSL_CTX(t->ssl) != ctx || t->peer_checks != checks_of(&s))
        return 0;
    const char *n = SSL_get_servername(t->ssl, TLSEXT_NAMETYPE_host_name);
    if (host == NULL || host[0] == '\0' || is_ip_literal(host))
        return n == NULL;
    return n != NULL && util_strcaseeq(n, host);
}
