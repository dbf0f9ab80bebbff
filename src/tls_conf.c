/* mod_ssl's front-end directives. The contexts are built from these by tls_conf_load()
 * (tls.c) in the master; SSLProxy* belongs to tls_client.c. */
#include <stddef.h>
#include <string.h>
#include <strings.h>

#include "arena.h"
#include "conf_registry.h"
#include "tls_conf.h"
#include "util.h"

static struct tls_srv_conf *srv_tls(struct conf_cmd *cmd)
{
    struct conf_server *s = cmd->server;
    if (s->tls == NULL) {
        struct tls_srv_conf *t = arena_calloc(cmd->arena, 1, sizeof(*t));
        if (t == NULL)
            return NULL;
        t->engine = t->protocols = t->honor_order = t->tickets = CONF_UNSET;
        t->verify = t->depth = t->std_env_vars = CONF_UNSET;
        t->session_cache = t->session_timeout = CONF_UNSET;
        t->index = -1;
        s->tls = t;
    }
    return s->tls;
}

static struct tls_loc_conf *loc_tls(struct conf_cmd *cmd)
{
    struct tls_srv_conf *t = srv_tls(cmd);
    if (t == NULL)
        return NULL;
    for (struct tls_loc_conf *l = t->locs; l; l = l->next)
        if (l->dir == cmd->dir)
            return l;
    struct tls_loc_conf *l = arena_calloc(cmd->arena, 1, sizeof(*l));
    if (l == NULL)
        return NULL;
    l->dir = cmd->dir;
    l->verify = l->depth = l->std_env_vars = CONF_UNSET;
    l->next = t->locs;
    t->locs = l;
    return l;
}

static const char *set_engine(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d, (void)argc;
    struct tls_srv_conf *t = srv_tls(cmd);
    if (t == NULL)
        return "out of memory";
    if (strcasecmp(argv[0], "on") == 0)
        t->engine = 1;
    else if (strcasecmp(argv[0], "off") == 0)
        t->engine = 0;
    else if (strcasecmp(argv[0], "optional") == 0)
        return "'optional' (RFC 2817 upgrade to TLS) is not supported: use on or off";
    else
        return conf_errf(cmd, "'%s': expected on or off", argv[0]);
    return NULL;
}

static const char *set_path(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    (void)argc;
    struct tls_srv_conf *t = srv_tls(cmd);
    if (t == NULL)
        return "out of memory";
    char *p = conf_server_path(cmd, argv[0]);
    if (p == NULL || p[0] == '|')
        return conf_errf(cmd, "'%s': expected a file name", argv[0]);
    *(char **)((char *)t + d->offset) = p;
    if (d->offset == offsetof(struct tls_srv_conf, cert_file)) {
        t->file = cmd->file;
        t->line = cmd->line;
    }
    return NULL;
}

static const char *set_protocol(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv)
{
    (void)d;
    struct tls_srv_conf *t = srv_tls(cmd);
    if (t == NULL)
        return "out of memory";
    int set = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int op = 0;
        if (a[0] == '+' || a[0] == '-')
            op = *a++;
        int bits;
        if (strcasecmp(a, "all") == 0)
            bits = TLS_PROTO_12 | TLS_PROTO_13;
        else if (strcasecmp(a, "TLSv1.2") == 0)
            bits = TLS_PROTO_12;
        else if (strcasecmp(a, "TLSv1.3") == 0)
            bits = TLS_PROTO_13;
        else if (strcasecmp(a, "SSLv3") == 0 || strcasecmp(a, "TLSv1") == 0 ||
                 strcasecmp(a, "TLSv1.1") == 0 || strcasecmp(a, "SSLv2") == 0) {
            if (op != '-')
                conf_warn(cmd, "%s is not supported (TLS 1.2 is the floor): ignored", a);
            continue;
        } else {
            return conf_errf(cmd, "'%s': unknown protocol", argv[i]);
        }
        if (op == 0)
            set = bits;
        else if (op == '+')
            set |= bits;
        else
            set &= ~bits;
    }
    if (set == 0)
        return "no supported protocol left (portico speaks TLSv1.2 and TLSv1.3)";
    t->protocols = set;
    return NULL;
}

static const char *set_ciphers(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    struct tls_srv_conf *t = srv_tls(cmd);
    if (t == NULL)
        return "out of memory";
    if (argc == 1) {
        t->ciphers = arena_strdup(cmd->arena, argv[0]);
        return NULL;
    }
    if (strcasecmp(argv[0], "SSL") == 0 || strcasecmp(argv[0], "TLSv1.2") == 0)
        t->ciphers = arena_strdup(cmd->arena, argv[1]);
    else if (strcasecmp(argv[0], "TLSv1.3") == 0)
        t->ciphersuites = arena_strdup(cmd->arena, argv[1]);
    else
        return conf_errf(cmd, "'%s': expected SSL or TLSv1.3 before the cipher list", argv[0]);
    return NULL;
}

static const char *set_flag(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    (void)argc;
    struct tls_srv_conf *t = srv_tls(cmd);
    if (t == NULL)
        return "out of memory";
    *(int *)((char *)t + d->offset) = argv[0][0] == '1';
    return NULL;
}

static const char *set_verify(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d, (void)argc;
    int v;
    if (strcasecmp(argv[0], "none") == 0)
        v = TLS_VERIFY_NONE;
    else if (strcasecmp(argv[0], "optional") == 0)
        v = TLS_VERIFY_OPTIONAL;
    else if (strcasecmp(argv[0], "require") == 0)
        v = TLS_VERIFY_REQUIRE;
    else if (strcasecmp(argv[0], "optional_no_ca") == 0)
        return "optional_no_ca is not supported (it accepts any certificate): use optional";
    else
        return conf_errf(cmd, "'%s': expected none, optional or require", argv[0]);
    if (cmd->dir != NULL) {
        struct tls_loc_conf *l = loc_tls(cmd);
        if (l == NULL)
            return "out of memory";
        l->verify = v;
    } else {
        struct tls_srv_conf *t = srv_tls(cmd);
        if (t == NULL)
            return "out of memory";
        t->verify = v;
    }
    return NULL;
}

static const char *set_depth(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                             char **argv)
{
    (void)d, (void)argc;
    long long n;
    if (util_parse_ll(argv[0], 0, 100, &n) < 0)
        return conf_errf(cmd, "'%s': expected a depth from 0 to 100", argv[0]);
    if (cmd->dir != NULL) {
        struct tls_loc_conf *l = loc_tls(cmd);
        if (l == NULL)
            return "out of memory";
        l->depth = (int)n;
    } else {
        struct tls_srv_conf *t = srv_tls(cmd);
        if (t == NULL)
            return "out of memory";
        t->depth = (int)n;
    }
    return NULL;
}

static const char *set_options(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    int env = CONF_UNSET;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int on = a[0] != '-';
        if (a[0] == '+' || a[0] == '-')
            a++;
        if (strcasecmp(a, "StdEnvVars") == 0)
            env = on;
        else if (strcasecmp(a, "ExportCertData") == 0 || strcasecmp(a, "StrictRequire") == 0 ||
                 strcasecmp(a, "OptRenegotiate") == 0 || strcasecmp(a, "LegacyDNStringFormat") == 0)
            conf_warn(cmd, "%s is not supported: ignored", a);
        else if (strcasecmp(a, "FakeBasicAuth") == 0)
            return "FakeBasicAuth is not supported";
        else
            return conf_errf(cmd, "'%s': unknown option", argv[i]);
    }
    if (env == CONF_UNSET)
        return NULL;
    if (cmd->dir != NULL) {
        struct tls_loc_conf *l = loc_tls(cmd);
        if (l == NULL)
            return "out of memory";
        l->std_env_vars = env;
    } else {
        struct tls_srv_conf *t = srv_tls(cmd);
        if (t == NULL)
            return "out of memory";
        t->std_env_vars = env;
    }
    return NULL;
}

static const char *set_session_cache(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                     char **argv)
{
    (void)d, (void)argc;
    struct tls_srv_conf *t = srv_tls(cmd);
    if (t == NULL)
        return "out of memory";
    if (strcasecmp(argv[0], "none") == 0 || strcasecmp(argv[0], "nonenotnull") == 0)
        t->session_cache = 0;
    else if (strncasecmp(argv[0], "shmcb:", 6) == 0)
        t->session_cache = 1; /* resumption is by tickets with a key shared by all workers */
    else
        return conf_errf(cmd, "'%s': expected none or shmcb:path[(size)]", argv[0]);
    return NULL;
}

static const char *set_session_timeout(struct conf_cmd *cmd, const struct conf_directive *d,
                                       int argc, char **argv)
{
    (void)d, (void)argc;
    long long n;
    if (util_parse_ll(argv[0], 0, 86400 * 7, &n) < 0)
        return conf_errf(cmd, "'%s': expected seconds", argv[0]);
    struct tls_srv_conf *t = srv_tls(cmd);
    if (t == NULL)
        return "out of memory";
    t->session_timeout = (int)n;
    return NULL;
}

static const char *set_ignored(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)cmd, (void)d, (void)argc, (void)argv;
    return NULL; /* SSLRandomSeed: OpenSSL 3 seeds itself */
}

static const char *set_passphrase(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    (void)d, (void)argc;
    if (strcasecmp(argv[0], "builtin") != 0)
        conf_warn(cmd, "%s: portico cannot ask for pass phrases; keys must not be encrypted",
                  argv[0]);
    return NULL;
}

#define SRV_OFF(f) TGT_NONE, offsetof(struct tls_srv_conf, f)

static const struct conf_directive tls_directives[] = {
    {"SSLEngine", CTX_SRV_ANY, ARGS_TAKE1, set_engine, TGT_NONE, 0, 0, 0, 0, MOD_SSL, "on or off"},
    {"SSLCertificateFile", CTX_SRV_ANY, ARGS_TAKE1, set_path, SRV_OFF(cert_file), 0, 0, 0, MOD_SSL,
     "a PEM certificate file (leaf first, then intermediates)"},
    {"SSLCertificateKeyFile", CTX_SRV_ANY, ARGS_TAKE1, set_path, SRV_OFF(key_file), 0, 0, 0,
     MOD_SSL, "a PEM private key file"},
    {"SSLCertificateChainFile", CTX_SRV_ANY, ARGS_TAKE1, set_path, SRV_OFF(chain_file), 0, 0, 0,
     MOD_SSL, "a PEM file of intermediate certificates"},
    {"SSLCACertificateFile", CTX_SRV_ANY, ARGS_TAKE1, set_path, SRV_OFF(ca_file), 0, 0, 0, MOD_SSL,
     "a PEM file of CAs for client certificates"},
    {"SSLProtocol", CTX_SRV_ANY, ARGS_1MORE, set_protocol, TGT_NONE, 0, 0, 0, 0, MOD_SSL,
     "[+|-]protocol ... (all, TLSv1.2, TLSv1.3)"},
    {"SSLCipherSuite", CTX_SRV_ANY, ARGS_TAKE12, set_ciphers, TGT_NONE, 0, 0, 0, 0, MOD_SSL,
     "[SSL|TLSv1.3] cipher-spec"},
    {"SSLHonorCipherOrder", CTX_SRV_ANY, ARGS_FLAG, set_flag, SRV_OFF(honor_order), 0, 0, 0,
     MOD_SSL, "on or off"},
    {"SSLSessionTickets", CTX_SRV_ANY, ARGS_FLAG, set_flag, SRV_OFF(tickets), 0, 0, 0, MOD_SSL,
     "on or off"},
    {"SSLSessionCache", CTX_SERVER, ARGS_TAKE1, set_session_cache, TGT_NONE, 0, 0, 0,
     DIRF_GLOBAL_ONLY, MOD_SSL, "none or shmcb:path[(size)]"},
    {"SSLSessionCacheTimeout", CTX_SRV_ANY, ARGS_TAKE1, set_session_timeout, TGT_NONE, 0, 0, 0, 0,
     MOD_SSL, "seconds"},
    {"SSLVerifyClient", CTX_SRV_ANY | CTX_LOCATION | CTX_DIRECTORY | CTX_PROXY, ARGS_TAKE1,
     set_verify, TGT_NONE, 0, 0, 0, 0, MOD_SSL, "none, optional or require"},
    {"SSLVerifyDepth", CTX_SRV_ANY | CTX_LOCATION | CTX_DIRECTORY | CTX_PROXY, ARGS_TAKE1,
     set_depth, TGT_NONE, 0, 0, 0, 0, MOD_SSL, "a number"},
    {"SSLOptions", CTX_SRV_ANY | CTX_DIR_ANY, ARGS_1MORE, set_options, TGT_NONE, 0, 0, 0, 0,
     MOD_SSL, "[+|-]StdEnvVars ..."},
    {"SSLRandomSeed", CTX_SERVER, ARGS_TAKE23, set_ignored, TGT_NONE, 0, 0, 0, DIRF_GLOBAL_ONLY,
     MOD_SSL, "context source [bytes] (ignored)"},
    {"SSLPassPhraseDialog", CTX_SERVER, ARGS_TAKE1, set_passphrase, TGT_NONE, 0, 0, 0,
     DIRF_GLOBAL_ONLY, MOD_SSL, "builtin"},
};

const struct conf_table conf_table_tls = {tls_directives, ARRAY_LEN(tls_directives)};
