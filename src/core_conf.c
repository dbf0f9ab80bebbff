/* Core directives (server identity, Listen, <VirtualHost>, per-directory sections, limits,
 * keep-alive, mime/dir bits) and the post-parse pass that fills defaults and makes every
 * vhost inherit what it left unset from the main server. */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf.h"
#include "conf_regex.h"
#include "conf_registry.h"
#include "proxy_types.h"
#include "util.h"

void conf_init_server(struct conf_server *s)
{
    memset(s, 0, sizeof(*s));
    s->timeout = s->keepalive = s->max_keepalive_requests = CONF_UNSET;
    s->keepalive_timeout_ms = s->limit_request_line = s->limit_request_fieldsize = CONF_UNSET;
    s->limit_request_fields = CONF_UNSET;
    s->limit_request_body = CONF_UNSET;
    s->use_canonical_name = s->trace_enable = s->server_signature = CONF_UNSET;
    s->hostname_lookups = s->options = CONF_UNSET;
    s->error_log_fd = -1;
    s->loglevel.level = CONF_UNSET;
    memset(s->loglevel.module, 0xff, sizeof(s->loglevel.module)); /* all -1 */
}

static char *lower_dup(struct arena *a, const char *s)
{
    char *d = arena_strdup(a, s);
    for (char *p = d; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    return d;
}

/* ---- server identity ---- */

static const char *set_server_root(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                   char **argv)
{
    char real[PATH_MAX];
    struct stat st;
    if (realpath(argv[0], real) == NULL || stat(real, &st) < 0 || !S_ISDIR(st.st_mode))
        return "ServerRoot must be a valid directory";
    cmd->conf->server_root = arena_strdup(cmd->arena, real);
    return NULL;
}

static const char *parse_port(const char *s, int *port)
{
    long long v;
    if (util_parse_ll(s, 1, 65535, &v) < 0)
        return "port must be a number from 1 to 65535";
    *port = (int)v;
    return NULL;
}

static const char *set_server_name(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                   char **argv)
{
    const char *s = argv[0];
    struct conf_server *srv = cmd->server;
    const char *sep = strstr(s, "://");
    char *scheme = NULL;
    if (sep != NULL) {
        scheme = arena_strndup(cmd->arena, s, (size_t)(sep - s));
        scheme = lower_dup(cmd->arena, scheme);
        if (!util_strcaseeq(scheme, "http") && !util_strcaseeq(scheme, "https"))
            return conf_errf(cmd, "unsupported scheme '%s' (http or https)", scheme);
        s = sep + 3;
    }
    const char *host_end, *colon = NULL;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL)
            return conf_errf(cmd, "'%s': missing ']' after the IPv6 address", argv[0]);
        host_end = rb + 1;
        if (*host_end == ':')
            colon = host_end;
        else if (*host_end != '\0')
            return conf_errf(cmd, "'%s' is not [scheme://]host[:port]", argv[0]);
    } else {
        colon = strchr(s, ':');
        host_end = colon ? colon : s + strlen(s);
    }
    if (host_end == s || strchr(s, '/') != NULL)
        return conf_errf(cmd, "'%s' is not [scheme://]host[:port]", argv[0]);
    int port = 0;
    if (colon != NULL) {
        const char *err = parse_port(colon + 1, &port);
        if (err != NULL)
            return err;
    }
    srv->server_name = arena_strndup(cmd->arena, s, (size_t)(host_end - s));
    srv->server_port = port;
    srv->server_scheme = scheme;
    return NULL;
}

static const char *set_server_alias(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    struct conf_server *s = cmd->server;
    char **v = arena_alloc(cmd->arena, (size_t)(s->n_aliases + argc) * sizeof(*v));
    if (v == NULL)
        return "out of memory";
    if (s->n_aliases > 0)
        memcpy(v, s->aliases, (size_t)s->n_aliases * sizeof(*v));
    for (int i = 0; i < argc; i++)
        v[s->n_aliases + i] = lower_dup(cmd->arena, argv[i]);
    s->aliases = v;
    s->n_aliases += argc;
    return NULL;
}

/* ---- addresses ---- */

/* "[v6]:port", "addr:port", "port"/"*:port" (any address). port_opt: a missing port is 0. */
static const char *split_addr(struct conf_cmd *cmd, const char *s, int port_opt, char **host,
                              int *port)
{
    const char *ps = NULL;
    *host = NULL;
    *port = 0;
    if (s[0] == '[') {
        const char *rb = strchr(s, ']');
        if (rb == NULL || (rb[1] != '\0' && rb[1] != ':'))
            return conf_errf(cmd, "'%s' is not a valid [IPv6]:port address", s);
        *host = arena_strndup(cmd->arena, s + 1, (size_t)(rb - s - 1));
        ps = rb[1] == ':' ? rb + 2 : NULL;
    } else {
        const char *c = strrchr(s, ':');
        if (c != NULL) {
            *host = arena_strndup(cmd->arena, s, (size_t)(c - s));
            ps = c + 1;
        } else if (port_opt) {
            *host = arena_strdup(cmd->arena, s);
        } else {
            ps = s;
        }
    }
    if (ps == NULL) {
        if (!port_opt)
            return conf_errf(cmd, "'%s': port must be specified", s);
        return NULL;
    }
    if (port_opt && strcmp(ps, "*") == 0)
        return NULL;
    if (parse_port(ps, port) != NULL)
        return conf_errf(cmd, "'%s': port must be a number from 1 to 65535", s);
    return NULL;
}

static const char *resolve(struct conf_cmd *cmd, const char *host, int port,
                           struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    char pbuf[16];
    snprintf(pbuf, sizeof(pbuf), "%d", port);
    if (getaddrinfo(host, pbuf, &hints, &res) != 0) {
        hints.ai_flags = 0;
        int rc = getaddrinfo(host, pbuf, &hints, &res);
        if (rc != 0)
            return conf_errf(cmd, "cannot resolve host name %s: %s", host, gai_strerror(rc));
    }
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return NULL;
}

static char *addr_text(struct conf_cmd *cmd, const struct sockaddr_storage *ss, int any, int port)
{
    char buf[INET6_ADDRSTRLEN];
    if (any)
        return arena_printf(cmd->arena, "*:%d", port);
    if (ss->ss_family == AF_INET6) {
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)ss)->sin6_addr, buf, sizeof(buf));
        return arena_printf(cmd->arena, "[%s]:%d", buf, port);
    }
    inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, buf, sizeof(buf));
    return arena_printf(cmd->arena, "%s:%d", buf, port);
}

static const char *set_listen(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    char *host;
    int port;
    const char *err = split_addr(cmd, argv[0], 0, &host, &port);
    if (err != NULL)
        return err;
    struct conf_listener *l = arena_calloc(cmd->arena, 1, sizeof(*l));
    if (l == NULL)
        return "out of memory";
    int any = host == NULL || strcmp(host, "*") == 0;
    if (any) {
        /* Wildcard = IPv4 any; write [::]:port for IPv6. */
        struct sockaddr_in *sin = (struct sockaddr_in *)&l->addr;
        sin->sin_family = AF_INET;
        sin->sin_port = htons((uint16_t)port);
        sin->sin_addr.s_addr = htonl(INADDR_ANY);
        l->addrlen = sizeof(*sin);
    } else if ((err = resolve(cmd, host, port, &l->addr, &l->addrlen)) != NULL) {
        return err;
    }
    l->text = addr_text(cmd, &l->addr, any, port);
    if (argc > 1) {
        l->protocol = lower_dup(cmd->arena, argv[1]);
        if (strcmp(l->protocol, "http") != 0 && strcmp(l->protocol, "https") != 0)
            return conf_errf(cmd, "protocol '%s' is not supported (http or https)", argv[1]);
    } else {
        l->protocol = arena_strdup(cmd->arena, port == 443 ? "https" : "http");
    }
    l->fd = -1;
    l->file = cmd->file;
    l->line = cmd->line;
    struct conf_listener **pp = &cmd->conf->listeners;
    for (; *pp != NULL; pp = &(*pp)->next)
        if (strcmp((*pp)->text, l->text) == 0)
            return conf_errf(cmd,
                             "Cannot define multiple Listeners on the same IP:port (%s, "
                             "first at %s:%d)",
                             l->text, (*pp)->file, (*pp)->line);
    *pp = l;
    return NULL;
}

static const char *parse_vaddr(struct conf_cmd *cmd, const char *arg, struct conf_vaddr *va)
{
    char *host;
    int port;
    const char *err = split_addr(cmd, arg, 1, &host, &port);
    if (err != NULL)
        return err;
    va->port = port;
    if (host == NULL || strcmp(host, "*") == 0 || strcmp(host, "_default_") == 0) {
        va->any_addr = 1;
        return NULL;
    }
    socklen_t len;
    return resolve(cmd, host, port, &va->addr, &len);
}

static const char *set_virtual_host(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    struct conf_server *s = arena_alloc(cmd->arena, sizeof(*s));
    if (s == NULL)
        return "out of memory";
    conf_init_server(s);
    s->is_vhost = 1;
    s->file = cmd->file;
    s->line = cmd->line;
    struct conf_vaddr **tail = &s->addrs;
    for (int i = 0; i < argc; i++) {
        struct conf_vaddr *va = arena_calloc(cmd->arena, 1, sizeof(*va));
        if (va == NULL)
            return "out of memory";
        const char *err = parse_vaddr(cmd, argv[i], va);
        if (err != NULL)
            return err;
        *tail = va;
        tail = &va->next;
    }
    struct conf_server **pp = &cmd->conf->vhosts;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = s;
    cmd->server = s;
    return conf_section_push(cmd, "VirtualHost", CTX_VHOST, NULL, NULL, NULL);
}

/* ---- per-directory sections ---- */

static const unsigned dir_ctx[] = {
    [DIR_LOCATION] = CTX_LOCATION,   [DIR_LOCATIONMATCH] = CTX_LOCATION,
    [DIR_DIRECTORY] = CTX_DIRECTORY, [DIR_DIRECTORYMATCH] = CTX_DIRECTORY,
    [DIR_FILES] = CTX_FILES,         [DIR_FILESMATCH] = CTX_FILES,
    [DIR_PROXY] = CTX_PROXY,         [DIR_PROXYMATCH] = CTX_PROXY,
};

/* d->offset is the section's kind; "<Location ~ re>" becomes the Match kind (kind + 1). */
static const char *open_dir_section(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    enum conf_dir_kind kind = (enum conf_dir_kind)d->offset;
    int is_match = kind == DIR_LOCATIONMATCH || kind == DIR_DIRECTORYMATCH ||
                   kind == DIR_FILESMATCH || kind == DIR_PROXYMATCH;
    const char *pattern = argv[0];
    int is_proxy = kind == DIR_PROXY || kind == DIR_PROXYMATCH;
    int used = 1;
    if (argc >= 2 && !is_match && strcmp(argv[0], "~") == 0) {
        kind = (enum conf_dir_kind)(kind + 1);
        is_match = 1;
        pattern = argv[1];
        used = 2;
    }
    /* Only <Proxy> takes more: balancer parameters, as `ProxySet` would set them. */
    if (argc > used && !is_proxy)
        return "takes one argument (or '~' and a regular expression)";
    struct conf_dir *dir = arena_calloc(cmd->arena, 1, sizeof(*dir));
    if (dir == NULL)
        return "out of memory";
    dir->kind = kind;
    dir->pattern = arena_strdup(cmd->arena, pattern);
    dir->options = CONF_UNSET;
    dir->limit_request_body = CONF_UNSET;
    dir->parent = cmd->dir;
    dir->file = cmd->file;
    dir->line = cmd->line;
    if (is_match) {
        const char *err = conf_compile_regex(cmd, pattern, &dir->regex);
        if (err != NULL)
            return err;
    }
    struct conf_dir **pp = &cmd->server->dirs;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = dir;
    if (argc > used) {
        const char *err = proxy_conf_section_params(cmd, dir, argc - used, argv + used);
        if (err != NULL)
            return err;
    }
    return conf_section_push(cmd, d->name + 1, dir_ctx[kind], dir, NULL, NULL);
}

/* ---- values that live on the server or on a section ---- */

static const char *set_limit_request_body(struct conf_cmd *cmd, const struct conf_directive *d,
                                          int argc, char **argv)
{
    long long v;
    if (util_parse_ll(argv[0], 0, LLONG_MAX, &v) < 0)
        return conf_errf(cmd, "'%s' is not a whole number of bytes (0 = unlimited)", argv[0]);
    if (cmd->dir != NULL)
        cmd->dir->limit_request_body = v;
    else
        cmd->server->limit_request_body = v;
    return NULL;
}

static const char *set_error_document(struct conf_cmd *cmd, const struct conf_directive *d,
                                      int argc, char **argv)
{
    if (argc < 2)
        return "takes two arguments (an HTTP status code and a message, path or URL)";
    long long status;
    if (util_parse_ll(argv[0], 400, 599, &status) < 0)
        return conf_errf(cmd, "Unsupported HTTP response code %s", argv[0]);
    const char *v = argv[1];
    char *value;
    if (argc > 2) {
        /* Unquoted text: httpd takes the rest of the line as the message. */
        value = arena_strdup(cmd->arena, "\"");
        for (int i = 1; i < argc; i++)
            value = arena_printf(cmd->arena, "%s%s%s", value, i > 1 ? " " : "", argv[i]);
    } else if (util_strcaseeq(v, "default") || v[0] == '/' || strstr(v, "://") != NULL) {
        if (status == 401 && strstr(v, "://") != NULL) {
            conf_warn(cmd, "cannot use a full URL in a 401 ErrorDocument directive --- ignoring!");
            return NULL;
        }
        value = arena_strdup(cmd->arena, util_strcaseeq(v, "default") ? "default" : v);
    } else {
        value = arena_printf(cmd->arena, "\"%s", v);
    }
    if (value == NULL)
        return "out of memory";
    struct conf_errdoc **head = cmd->dir ? &cmd->dir->errdocs : &cmd->server->errdocs;
    for (struct conf_errdoc *e = *head; e != NULL; e = e->next) {
        if (e->status == (int)status) {
            e->value = value;
            return NULL;
        }
    }
    struct conf_errdoc *e = arena_calloc(cmd->arena, 1, sizeof(*e));
    if (e == NULL)
        return "out of memory";
    e->status = (int)status;
    e->value = value;
    while (*head != NULL)
        head = &(*head)->next;
    *head = e;
    return NULL;
}

static const struct {
    const char *name;
    int bit;
} option_names[] = {
    {"Indexes", OPT_INDEXES},
    {"Includes", OPT_INCLUDES},
    {"IncludesNOEXEC", OPT_INCLUDES},
    {"FollowSymLinks", OPT_FOLLOWSYMLINKS},
    {"SymLinksIfOwnerMatch", OPT_SYMLINKSIFOWNERMATCH},
    {"ExecCGI", OPT_EXECCGI},
    {"RunScripts", OPT_EXECCGI},
    {"MultiViews", OPT_MULTIVIEWS},
    {"All", OPT_ALL},
    {"None", OPT_NONE},
};

static const char *set_options(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    int prefixed = argv[0][0] == '+' || argv[0][0] == '-';
    int opts = 0, add = 0, remove = 0;
    for (int i = 0; i < argc; i++) {
        char action = (argv[i][0] == '+' || argv[i][0] == '-') ? argv[i][0] : '\0';
        if ((action != '\0') != prefixed)
            return "Either all Options must start with + or -, or no Option may.";
        const char *w = argv[i] + (action ? 1 : 0);
        int bit = -1;
        for (size_t k = 0; k < ARRAY_LEN(option_names); k++)
            if (util_strcaseeq(w, option_names[k].name))
                bit = option_names[k].bit;
        if (bit < 0 || (action && bit == OPT_NONE && util_strcaseeq(w, "None")))
            return conf_errf(cmd, "Illegal option %s", argv[i]);
        if (action == '-') {
            remove |= bit;
            add &= ~bit;
        } else if (action == '+') {
            add |= bit;
            remove &= ~bit;
        } else {
            opts |= bit;
        }
    }
    if (cmd->dir != NULL) {
        struct conf_dir *dir = cmd->dir;
        if (prefixed) {
            dir->options_add = (dir->options_add & ~remove) | add;
            dir->options_remove = (dir->options_remove & ~add) | remove;
            if (dir->options != CONF_UNSET)
                dir->options = (dir->options & ~remove) | add;
        } else {
            dir->options = opts;
            dir->options_add = dir->options_remove = 0;
        }
        return NULL;
    }
    struct conf_server *s = cmd->server;
    if (!prefixed) {
        s->options = opts;
    } else {
        int base = s->options == CONF_UNSET ? OPT_FOLLOWSYMLINKS : s->options;
        s->options = (base & ~remove) | add;
    }
    return NULL;
}

static const char *set_allow_override(struct conf_cmd *cmd, const struct conf_directive *d,
                                      int argc, char **argv)
{
    if (argc == 1 && util_strcaseeq(argv[0], "None"))
        return NULL;
    conf_warn(cmd, "portico does not read .htaccess files; treated as None");
    return NULL;
}

static const char *set_directory_index(struct conf_cmd *cmd, const struct conf_directive *d,
                                       int argc, char **argv)
{
    char **v = arena_alloc(cmd->arena, (size_t)argc * sizeof(*v));
    if (v == NULL)
        return "out of memory";
    for (int i = 0; i < argc; i++)
        v[i] = arena_strdup(cmd->arena, argv[i]);
    /* "DirectoryIndex disabled" turns the index off: an empty list. */
    int n = (argc == 1 && util_strcaseeq(argv[0], "disabled")) ? 0 : argc;
    if (cmd->dir != NULL) {
        cmd->dir->dir_index = v;
        cmd->dir->n_dir_index = n;
    } else {
        cmd->server->dir_index = v;
        cmd->server->n_dir_index = n;
    }
    return NULL;
}

static const char *set_add_default_charset(struct conf_cmd *cmd, const struct conf_directive *d,
                                           int argc, char **argv)
{
    const char *v = argv[0];
    if (util_strcaseeq(v, "on"))
        v = "iso-8859-1";
    else if (util_strcaseeq(v, "off"))
        v = "";
    char *c = arena_strdup(cmd->arena, v);
    if (cmd->dir != NULL)
        cmd->dir->add_default_charset = c;
    else
        cmd->server->add_default_charset = c;
    return NULL;
}

static const char *set_add_type(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv)
{
    if (argc < 2)
        return "requires a media type and at least one extension";
    if (strchr(argv[0], '/') == NULL)
        return conf_errf(cmd, "'%s' is not a media type (type/subtype)", argv[0]);
    struct conf_addtype **head = cmd->dir ? &cmd->dir->addtypes : &cmd->server->addtypes;
    char *type = lower_dup(cmd->arena, argv[0]);
    for (int i = 1; i < argc; i++) {
        const char *e = argv[i][0] == '.' ? argv[i] + 1 : argv[i];
        char *ext = lower_dup(cmd->arena, e);
        struct conf_addtype *t;
        for (t = *head; t != NULL; t = t->next)
            if (strcmp(t->ext, ext) == 0)
                break;
        if (t == NULL) {
            t = arena_calloc(cmd->arena, 1, sizeof(*t));
            if (t == NULL)
                return "out of memory";
            struct conf_addtype **pp = head;
            while (*pp != NULL)
                pp = &(*pp)->next;
            *pp = t;
            t->ext = ext;
        }
        t->type = type;
    }
    return NULL;
}

static const char *set_document_root(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                     char **argv)
{
    char *p = conf_server_path(cmd, argv[0]);
    size_t n = p ? strlen(p) : 0;
    while (n > 1 && p[n - 1] == '/')
        p[--n] = '\0';
    struct stat st;
    if (p != NULL && (stat(p, &st) < 0 || !S_ISDIR(st.st_mode)))
        conf_warn(cmd, "DocumentRoot [%s] does not exist", p);
    cmd->server->document_root = p;
    return NULL;
}

/* Enumerations: table of names to values. */
struct enum_val {
    const char *name;
    int value;
};

static const char *set_enum(struct conf_cmd *cmd, const char *arg, const struct enum_val *v,
                            size_t n, int *out, const char *expect)
{
    for (size_t i = 0; i < n; i++) {
        if (util_strcaseeq(arg, v[i].name)) {
            *out = v[i].value;
            return NULL;
        }
    }
    return conf_errf(cmd, "'%s' is not one of %s", arg, expect);
}

static const char *set_server_tokens(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                     char **argv)
{
    static const struct enum_val v[] = {
        {"Prod", TOKENS_PROD},   {"ProductOnly", TOKENS_PROD}, {"Major", TOKENS_MAJOR},
        {"Minor", TOKENS_MINOR}, {"Min", TOKENS_MIN},          {"Minimal", TOKENS_MIN},
        {"OS", TOKENS_OS},       {"Full", TOKENS_FULL},
    };
    int t = 0;
    const char *err = set_enum(cmd, argv[0], v, ARRAY_LEN(v), &t,
                               "Prod[uctOnly], Major, Minor, Min[imal], OS, Full");
    if (err == NULL)
        cmd->conf->server_tokens = (enum server_tokens)t;
    return err;
}

static const char *set_server_signature(struct conf_cmd *cmd, const struct conf_directive *d,
                                        int argc, char **argv)
{
    static const struct enum_val v[] = {{"Off", 0}, {"On", 1}, {"EMail", 2}};
    return set_enum(cmd, argv[0], v, ARRAY_LEN(v), &cmd->server->server_signature,
                    "On, Off, EMail");
}

static const char *set_use_canonical_name(struct conf_cmd *cmd, const struct conf_directive *d,
                                          int argc, char **argv)
{
    static const struct enum_val v[] = {{"Off", 0}, {"On", 1}, {"DNS", 2}};
    return set_enum(cmd, argv[0], v, ARRAY_LEN(v), &cmd->server->use_canonical_name,
                    "On, Off, DNS");
}

static const char *set_trace_enable(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    static const struct enum_val v[] = {{"Off", 0}, {"On", 1}, {"Extended", 2}};
    return set_enum(cmd, argv[0], v, ARRAY_LEN(v), &cmd->server->trace_enable, "On, Off, Extended");
}

static const char *set_hostname_lookups(struct conf_cmd *cmd, const struct conf_directive *d,
                                        int argc, char **argv)
{
    if (util_strcaseeq(argv[0], "off")) {
        if (cmd->dir == NULL)
            cmd->server->hostname_lookups = 0;
        return NULL;
    }
    if (util_strcaseeq(argv[0], "on") || util_strcaseeq(argv[0], "double"))
        return conf_errf(cmd,
                         "%s is not supported: portico never does reverse DNS lookups "
                         "(only Off)",
                         argv[0]);
    return conf_errf(cmd, "'%s' is not one of On, Off, Double", argv[0]);
}

#define SRV(field) TGT_SERVER, offsetof(struct conf_server, field)
#define CNF(field) TGT_CONF, offsetof(struct conf, field)
#define NONE       TGT_NONE, 0
#define SECTION(name, kind, ctx)                                                                   \
    {                                                                                              \
        "<" name, ctx, ARGS_TAKE12, open_dir_section, TGT_NONE, kind, 0, 0, DIRF_SECTION,          \
            MOD_CORE, "a path or pattern (or '~' and a regular expression)"                        \
    }
#define SECTION_P(name, kind, ctx)                                                                 \
    {                                                                                              \
        "<" name, ctx, ARGS_1MORE, open_dir_section, TGT_NONE, kind, 0, 0, DIRF_SECTION,           \
            MOD_PROXY, "a URL or pattern, then optional balancer parameters"                       \
    }
#define SECTION_M(name, kind, ctx)                                                                 \
    {                                                                                              \
        "<" name, ctx, ARGS_TAKE1, open_dir_section, TGT_NONE, kind, 0, 0, DIRF_SECTION, MOD_CORE, \
            "a regular expression"                                                                 \
    }

static const struct conf_directive core_directives[] = {
    {"ServerRoot", CTX_SERVER, ARGS_TAKE1, set_server_root, NONE, 0, 0, 0, MOD_CORE,
     "the base directory of relative paths"},
    {"ServerName", CTX_SRV_ANY, ARGS_TAKE1, set_server_name, NONE, 0, 0, 0, MOD_CORE,
     "[scheme://]host[:port]"},
    {"ServerAlias", CTX_VHOST, ARGS_1MORE, set_server_alias, NONE, 0, 0, 0, MOD_CORE,
     "host names (wildcards allowed)"},
    {"ServerAdmin", CTX_SRV_ANY, ARGS_TAKE1, conf_set_string, SRV(server_admin), 0, 0, 0, MOD_CORE,
     "an e-mail address or URL"},
    {"Listen", CTX_SERVER, ARGS_TAKE12, set_listen, NONE, 0, 0, 0, MOD_CORE,
     "[addr:]port [protocol]"},
    {"<VirtualHost", CTX_SERVER, ARGS_1MORE, set_virtual_host, NONE, 0, 0, DIRF_SECTION, MOD_CORE,
     "one or more addr[:port]"},
    SECTION("Location", DIR_LOCATION, CTX_SRV_ANY),
    SECTION_M("LocationMatch", DIR_LOCATIONMATCH, CTX_SRV_ANY),
    SECTION("Directory", DIR_DIRECTORY, CTX_SRV_ANY),
    SECTION_M("DirectoryMatch", DIR_DIRECTORYMATCH, CTX_SRV_ANY),
    SECTION("Files", DIR_FILES, CTX_SRV_ANY | CTX_DIRECTORY),
    SECTION_M("FilesMatch", DIR_FILESMATCH, CTX_SRV_ANY | CTX_DIRECTORY),
    SECTION_P("Proxy", DIR_PROXY, CTX_SRV_ANY),
    SECTION_P("ProxyMatch", DIR_PROXYMATCH, CTX_SRV_ANY),
    {"DocumentRoot", CTX_SRV_ANY, ARGS_TAKE1, set_document_root, NONE, 0, 0, 0, MOD_CORE,
     "a directory"},
    {"ErrorDocument", CTX_ANY, ARGS_1MORE, set_error_document, NONE, 0, 0, 0, MOD_CORE,
     "an HTTP status code and a message, local path or URL"},
    {"Timeout", CTX_SRV_ANY, ARGS_TAKE1, conf_set_int, SRV(timeout), 0, 86400, 0, MOD_CORE,
     "seconds"},
    {"KeepAlive", CTX_SRV_ANY, ARGS_FLAG, conf_set_flag, SRV(keepalive), 0, 0, 0, MOD_CORE,
     "On or Off"},
    {"MaxKeepAliveRequests", CTX_SRV_ANY, ARGS_TAKE1, conf_set_int, SRV(max_keepalive_requests), 0,
     INT_MAX, 0, MOD_CORE, "requests, 0 = unlimited"},
    {"KeepAliveTimeout", CTX_SRV_ANY, ARGS_TAKE1, conf_set_seconds_ms, SRV(keepalive_timeout_ms), 0,
     3600 * 1000, 0, MOD_CORE, "seconds or NNNms"},
    {"LimitRequestLine", CTX_SRV_ANY, ARGS_TAKE1, conf_set_int, SRV(limit_request_line), 1, 1048576,
     0, MOD_CORE, "bytes"},
    {"LimitRequestFieldSize", CTX_SRV_ANY, ARGS_TAKE1, conf_set_int, SRV(limit_request_fieldsize),
     1, 1048576, 0, MOD_CORE, "bytes"},
    {"LimitRequestFields", CTX_SRV_ANY, ARGS_TAKE1, conf_set_int, SRV(limit_request_fields), 0,
     32767, 0, MOD_CORE, "header count, 0 = unlimited"},
    {"LimitRequestBody", CTX_ANY, ARGS_TAKE1, set_limit_request_body, NONE, 0, 0, 0, MOD_CORE,
     "bytes, 0 = unlimited"},
    {"Options", CTX_ANY, ARGS_1MORE, set_options, NONE, 0, 0, 0, MOD_CORE,
     "None, All, or [+|-]Indexes, FollowSymLinks, ..."},
    {"AllowOverride", CTX_DIRECTORY, ARGS_1MORE, set_allow_override, NONE, 0, 0, 0, MOD_CORE,
     "None (.htaccess files are never read)"},
    {"DirectoryIndex", CTX_ANY, ARGS_1MORE, set_directory_index, NONE, 0, 0, 0, MOD_DIR,
     "file names, or disabled"},
    {"AddDefaultCharset", CTX_ANY, ARGS_TAKE1, set_add_default_charset, NONE, 0, 0, 0, MOD_CORE,
     "On, Off or a charset"},
    {"ServerTokens", CTX_SERVER, ARGS_TAKE1, set_server_tokens, NONE, 0, 0, 0, MOD_CORE,
     "Prod, Major, Minor, Min, OS or Full"},
    {"ServerSignature", CTX_SRV_ANY, ARGS_TAKE1, set_server_signature, NONE, 0, 0, 0, MOD_CORE,
     "On, Off or EMail"},
    {"HostnameLookups", CTX_ANY, ARGS_TAKE1, set_hostname_lookups, NONE, 0, 0, 0, MOD_CORE, "Off"},
    {"UseCanonicalName", CTX_SRV_ANY, ARGS_TAKE1, set_use_canonical_name, NONE, 0, 0, 0, MOD_CORE,
     "On, Off or DNS"},
    {"TraceEnable", CTX_SRV_ANY, ARGS_TAKE1, set_trace_enable, NONE, 0, 0, 0, MOD_CORE,
     "On, Off or Extended"},
    {"AddType", CTX_ANY, ARGS_1MORE, set_add_type, NONE, 0, 0, 0, MOD_MIME,
     "a media type and file extensions"},
    {"TypesConfig", CTX_SERVER, ARGS_TAKE1, conf_set_path, CNF(types_config), 0, 0, 0, MOD_MIME,
     "the mime.types file"},
    {"Mutex", CTX_SERVER, ARGS_1MORE, conf_accept, NONE, 0, 0, 0, MOD_CORE,
     "mechanism[:dir] [names] (accepted, portico chooses its own locks)"},
    {"DefaultRuntimeDir", CTX_SERVER, ARGS_TAKE1, conf_set_path, CNF(default_runtime_dir), 0, 0, 0,
     MOD_CORE, "a directory"},
};

const struct conf_table conf_table_core = {core_directives, ARRAY_LEN(core_directives)};

/* ---- post-parse: defaults and inheritance ---- */

#define DEFAULT_INT(field, v)                                                                      \
    do {                                                                                           \
        if (m->field == CONF_UNSET)                                                                \
            m->field = (v);                                                                        \
    } while (0)
#define INHERIT(field, unset)                                                                      \
    do {                                                                                           \
        if (v->field == (unset))                                                                   \
            v->field = m->field;                                                                   \
    } while (0)

static void default_server_name(struct conf_cmd *cmd)
{
    char host[256];
    if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
        util_strlcpy(host, "127.0.0.1", sizeof(host));
    host[sizeof(host) - 1] = '\0';
    cmd->conf->main->server_name = arena_strdup(cmd->arena, host);
    conf_warn_at(cmd, NULL, 0,
                 "Could not reliably determine the server's fully qualified domain name, "
                 "using %s. Set the 'ServerName' directive globally to suppress this message",
                 host);
}

/* Lists: the vhost's own entries first, then copies of the main server's, so a lookup
 * that takes the first match sees the vhost's override. */
static void inherit_errdocs(struct conf_cmd *cmd, struct conf_server *v,
                            const struct conf_server *m)
{
    struct conf_errdoc **tail = &v->errdocs;
    while (*tail != NULL)
        tail = &(*tail)->next;
    for (const struct conf_errdoc *e = m->errdocs; e != NULL; e = e->next) {
        struct conf_errdoc *c = arena_alloc(cmd->arena, sizeof(*c));
        if (c == NULL)
            return;
        *c = *e;
        c->next = NULL;
        *tail = c;
        tail = &c->next;
    }
}

static void inherit_addtypes(struct conf_cmd *cmd, struct conf_server *v,
                             const struct conf_server *m)
{
    struct conf_addtype **tail = &v->addtypes;
    while (*tail != NULL)
        tail = &(*tail)->next;
    for (const struct conf_addtype *t = m->addtypes; t != NULL; t = t->next) {
        struct conf_addtype *c = arena_alloc(cmd->arena, sizeof(*c));
        if (c == NULL)
            return;
        *c = *t;
        c->next = NULL;
        *tail = c;
        tail = &c->next;
    }
}

void conf_finish_core(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    struct conf_server *m = c->main;
    DEFAULT_INT(timeout, 60);
    DEFAULT_INT(keepalive, 1);
    DEFAULT_INT(max_keepalive_requests, 100);
    DEFAULT_INT(keepalive_timeout_ms, 5000);
    DEFAULT_INT(limit_request_line, 8190);
    DEFAULT_INT(limit_request_fieldsize, 8190);
    DEFAULT_INT(limit_request_fields, 100);
    DEFAULT_INT(limit_request_body, 1073741824LL);
    DEFAULT_INT(use_canonical_name, 0);
    DEFAULT_INT(trace_enable, 1);
    DEFAULT_INT(server_signature, 0);
    DEFAULT_INT(hostname_lookups, 0);
    DEFAULT_INT(options, OPT_FOLLOWSYMLINKS);
    if (m->add_default_charset == NULL)
        m->add_default_charset = arena_strdup(cmd->arena, "");
    if (m->server_name == NULL)
        default_server_name(cmd);
    if (c->default_runtime_dir == NULL)
        c->default_runtime_dir = conf_server_path(cmd, "logs");

    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        if (v->server_name == NULL) {
            v->server_name = m->server_name;
            v->server_port = m->server_port;
            v->server_scheme = m->server_scheme;
        }
        INHERIT(server_admin, NULL);
        INHERIT(document_root, NULL);
        INHERIT(timeout, CONF_UNSET);
        INHERIT(keepalive, CONF_UNSET);
        INHERIT(max_keepalive_requests, CONF_UNSET);
        INHERIT(keepalive_timeout_ms, CONF_UNSET);
        INHERIT(limit_request_line, CONF_UNSET);
        INHERIT(limit_request_fieldsize, CONF_UNSET);
        INHERIT(limit_request_fields, CONF_UNSET);
        INHERIT(limit_request_body, CONF_UNSET);
        INHERIT(use_canonical_name, CONF_UNSET);
        INHERIT(trace_enable, CONF_UNSET);
        INHERIT(server_signature, CONF_UNSET);
        INHERIT(hostname_lookups, CONF_UNSET);
        INHERIT(add_default_charset, NULL);
        INHERIT(options, CONF_UNSET);
        if (v->dir_index == NULL) {
            v->dir_index = m->dir_index;
            v->n_dir_index = m->n_dir_index;
        }
        inherit_errdocs(cmd, v, m);
        inherit_addtypes(cmd, v, m);
    }
    if (c->listeners == NULL)
        conf_error_at(cmd, NULL, 0, "no listening sockets available: add a Listen directive");
}

const char *conf_server_token(const struct conf *c)
{
    switch (c->server_tokens) {
    case TOKENS_PROD:
        return "portico";
    case TOKENS_MAJOR:
        return "portico/0";
    default:
        return "portico/" PACKAGE_VERSION;
    }
}
