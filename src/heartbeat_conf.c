/* mod_heartmonitor's directives (HeartbeatListen, HeartbeatMaxServers, HeartbeatStorage), the
 * refusal of mod_heartbeat's HeartbeatAddress, and the pure pieces of the heartbeat process
 * (datagram parser, storage line, health-check thresholds and probe request) kept here so the
 * unit tests link the config library only. */
#include <ctype.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "conf_registry.h"
#include "heartbeat.h"
#include "proxy_types.h"
#include "util.h"

static struct heartbeat_conf *hb_conf(struct conf_cmd *cmd)
{
    if (cmd->conf->heartbeat != NULL)
        return cmd->conf->heartbeat;
    struct heartbeat_conf *h = arena_calloc(cmd->arena, 1, sizeof(*h));
    if (h == NULL)
        return NULL;
    h->max_servers = CONF_UNSET;
    cmd->conf->heartbeat = h;
    return h;
}

static int is_multicast(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        return IN_MULTICAST(ntohl(in->sin_addr.s_addr));
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        return IN6_IS_ADDR_MULTICAST(&in6->sin6_addr);
    }
    return 0;
}

static const char *set_listen(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d;
    (void)argc;
    struct heartbeat_conf *h = hb_conf(cmd);
    if (h == NULL)
        return "out of memory";
    if (h->listen != NULL)
        return "May only be specified once.";
    const char *arg = argv[0];
    const char *host = arg, *colon;
    size_t hlen;
    if (arg[0] == '[') { /* [v6]:port */
        const char *close = strchr(arg, ']');
        if (close == NULL || close[1] != ':')
            return conf_errf(cmd, "'%s': expected addr:port or [ipv6]:port", arg);
        host = arg + 1;
        hlen = (size_t)(close - host);
        colon = close + 1;
    } else {
        colon = strrchr(arg, ':');
        if (colon == NULL || strchr(arg, ':') != colon)
            return conf_errf(cmd, "'%s': expected addr:port (e.g. 239.0.0.1:27999)", arg);
        hlen = (size_t)(colon - arg);
    }
    if (hlen == 0)
        return "No host provided in multicast address";
    long long port;
    if (colon[1] == '\0' || util_parse_ll(colon + 1, 1, 65535, &port) < 0)
        return conf_errf(cmd, "'%s': no valid port (1-65535) in the address", arg);
    char hostbuf[256];
    if (hlen >= sizeof(hostbuf))
        return "the host name is too long";
    memcpy(hostbuf, host, hlen);
    hostbuf[hlen] = '\0';

    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_DGRAM,
                             .ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG};
    struct addrinfo *res = NULL;
    int rc = getaddrinfo(hostbuf, colon + 1, &hints, &res);
    if (rc != 0 || res == NULL)
        return conf_errf(cmd, "cannot resolve '%s': %s", hostbuf, gai_strerror(rc));
    /* httpd resolves IPv4 only (APR_INET); prefer it when a name has both. */
    const struct addrinfo *pick = res;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next)
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
    memcpy(&h->addr, pick->ai_addr, pick->ai_addrlen);
    h->addrlen = pick->ai_addrlen;
    freeaddrinfo(res);
    h->multicast = is_multicast(&h->addr);
    h->listen = arena_strdup(cmd->arena, arg);
    h->file = cmd->file;
    h->line = cmd->line;
    return h->listen != NULL ? NULL : "out of memory";
}

static const char *set_max_servers(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                   char **argv)
{
    (void)d;
    (void)argc;
    struct heartbeat_conf *h = hb_conf(cmd);
    if (h == NULL)
        return "out of memory";
    long long n;
    /* httpd 2.4.55+: 0 selects the file store, otherwise at least 10 slots. */
    if (util_parse_ll(argv[0], 0, 100000, &n) < 0 || (n > 0 && n < 10))
        return conf_errf(cmd,
                         "'%s': Should be 0 for file storage, or greater or equal than 10 "
                         "(at most 100000)",
                         argv[0]);
    h->max_servers = (int)n;
    return NULL;
}

static const char *set_storage(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    (void)argc;
    struct heartbeat_conf *h = hb_conf(cmd);
    if (h == NULL)
        return "out of memory";
    if (argv[0][0] == '\0' || argv[0][0] == '|')
        return "expects a file path";
    h->storage = conf_server_path(cmd, argv[0]);
    return h->storage != NULL ? NULL : "out of memory";
}

static const char *refuse_address(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    (void)cmd;
    (void)d;
    (void)argc;
    (void)argv;
    return "belongs to mod_heartbeat, which runs on a backend to announce its capacity; "
           "portico is the proxy (mod_heartmonitor's side: use HeartbeatListen here) and sends "
           "no heartbeats. Run tools/portico-heartbeat or httpd's mod_heartbeat on the backends";
}

static const struct conf_directive heartbeat_directives[] = {
    {"HeartbeatListen", CTX_SERVER, ARGS_TAKE1, set_listen, TGT_NONE, 0, 0, 0, DIRF_GLOBAL_ONLY,
     MOD_HEARTMONITOR, "HeartbeatListen addr:port"},
    {"HeartbeatMaxServers", CTX_SERVER, ARGS_TAKE1, set_max_servers, TGT_NONE, 0, 0, 0,
     DIRF_GLOBAL_ONLY, MOD_HEARTMONITOR, "HeartbeatMaxServers number"},
    {"HeartbeatStorage", CTX_SERVER, ARGS_TAKE1, set_storage, TGT_NONE, 0, 0, 0, DIRF_GLOBAL_ONLY,
     MOD_HEARTMONITOR, "HeartbeatStorage file-path"},
    {"HeartbeatAddress", CTX_SERVER, ARGS_RAW, refuse_address, TGT_NONE, 0, 0, 0, DIRF_GLOBAL_ONLY,
     MOD_HEARTMONITOR, "HeartbeatAddress addr:port (mod_heartbeat: refused)"},
};
const struct conf_table conf_table_heartbeat = {heartbeat_directives,
                                                ARRAY_LEN(heartbeat_directives)};

const char *heartbeat_storage_path(const struct conf *conf, char *buf, size_t size)
{
    const struct heartbeat_conf *h = conf->heartbeat;
    if (h == NULL || size == 0)
        return NULL;
    if (h->storage != NULL) {
        if (util_strlcpy(buf, h->storage, size) >= size)
            return NULL;
        return buf;
    }
    if (h->max_servers != 0 || conf->default_runtime_dir == NULL)
        return NULL;
    int n = snprintf(buf, size, "%s/hb.dat", conf->default_runtime_dir);
    return n > 0 && (size_t)n < size ? buf : NULL;
}

int heartbeat_needed(const struct conf *conf)
{
    if (conf->heartbeat != NULL && conf->heartbeat->listen != NULL)
        return 1;
    if (conf->proxy == NULL)
        return 0;
    for (const struct proxy_balancer *b = conf->proxy->balancers; b; b = b->next)
        for (const struct proxy_member *m = b->members; m; m = m->next)
            if (hcheck_method_parse(m->hcmethod) > HC_NONE)
                return 1;
    return 0;
}

/* ---------------------------------------------------------------- datagram parser */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* URL-unescapes s[0..n) into out (ap_unescape_url; '+' stays '+'). -1 on a bad escape, an
 * escaped control byte or overflow. */
static int unescape(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            if (c < 0x20 || c == 0x7f)
                return -1;
            i += 2;
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

int heartbeat_parse_message(const char *buf, size_t len, struct hb_message *out, const char **why)
{
    const char *dummy;
    if (why == NULL)
        why = &dummy;
    *why = NULL;
    if (len == 0) {
        *why = "empty datagram";
        return -1;
    }
    if (len > HB_MAX_MSG_LEN) {
        *why = "datagram longer than 1000 bytes";
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (c < 0x21 || c >= 0x7f) {
            *why = "control, space or non-ASCII byte";
            return -1;
        }
    }
    int have_v = 0, have_ready = 0, have_busy = 0, have_port = 0;
    long long ready = 0, busy = 0, port = 80;
    size_t i = 0;
    while (i <= len) {
        size_t end = i;
        while (end < len && buf[end] != '&')
            end++;
        if (end == i) {
            *why = "empty key=value pair";
            return -1;
        }
        const char *eq = memchr(buf + i, '=', end - i);
        size_t klen = eq != NULL ? (size_t)(eq - (buf + i)) : end - i;
        char key[HB_MAX_MSG_LEN + 1], val[HB_MAX_MSG_LEN + 1];
        /* A key without '=' gets the value "1", as httpd's qs_to_table. */
        if (klen == 0 || unescape(buf + i, klen, key, sizeof(key)) < 0) {
            *why = "bad key";
            return -1;
        }
        if (eq == NULL)
            util_strlcpy(val, "1", sizeof(val));
        else if (unescape(eq + 1, (size_t)(buf + end - (eq + 1)), val, sizeof(val)) < 0) {
            *why = "bad value";
            return -1;
        }
        int known = strcmp(key, "v") == 0 || strcmp(key, "ready") == 0 ||
                    strcmp(key, "busy") == 0 || strcmp(key, "port") == 0;
        if (known) {
            int *seen;
            long long *dst, min = 0, max = INT32_MAX;
            if (strcmp(key, "v") == 0) {
                if (have_v || strcmp(val, "1") != 0) {
                    *why = have_v ? "duplicate v" : "unsupported version (v=1 expected)";
                    return -1;
                }
                have_v = 1;
                i = end + 1;
                continue;
            }
            if (strcmp(key, "ready") == 0) {
                seen = &have_ready;
                dst = &ready;
            } else if (strcmp(key, "busy") == 0) {
                seen = &have_busy;
                dst = &busy;
            } else {
                seen = &have_port;
                dst = &port;
                min = 1;
                max = 65535;
            }
            if (*seen) {
                *why = "duplicate key";
                return -1;
            }
            for (const char *p = val; *p; p++)
                if (!isdigit((unsigned char)*p)) {
                    *why = "value is not a decimal number";
                    return -1;
                }
            if (util_parse_ll(val, min, max, dst) < 0) {
                *why = "number out of range";
                return -1;
            }
            *seen = 1;
        }
        i = end + 1;
    }
    if (!have_v || !have_ready || !have_busy) {
        *why = "v, ready and busy are required";
        return -1;
    }
    out->ready = (int)ready;
    out->busy = (int)busy;
    out->port = (int)port;
    return 0;
}

int heartbeat_format_line(char *buf, size_t size, const char *ip, int ready, int busy,
                          int64_t lastseen_s, int port)
{
    if (lastseen_s < 0)
        lastseen_s = 0;
    int n = snprintf(buf, size, "%s &ready=%u&busy=%u&lastseen=%u&port=%u\n", ip, (unsigned)ready,
                     (unsigned)busy, (unsigned)lastseen_s, (unsigned)port);
    return n > 0 && (size_t)n < size ? n : -1;
}

/* ---------------------------------------------------------------- health checks */

int hcheck_apply(unsigned *status, int *passes, int *fails, int ok, int need_passes, int need_fails)
{
    /* As httpd's hc_check: only a member the checks themselves took out (C) is re-enabled by
     * passing checks (which then also clears E); an E set by a worker (connect error,
     * failonstatus) is left to retry=, and failures keep counting toward C meanwhile. */
    if (*status & MEMBER_HCFAIL) {
        if (!ok) {
            *passes = 0;
            return 0;
        }
        *passes += 1;
        *fails = 0;
        if (*passes < need_passes)
            return 0;
        *status &= ~(MEMBER_HCFAIL | MEMBER_ERROR);
        *passes = 0;
        return -1;
    }
    if (ok) {
        *fails = 0;
        return 0;
    }
    *fails += 1;
    *passes = 0;
    if (*fails < need_fails)
        return 0;
    *status |= MEMBER_HCFAIL;
    *fails = 0;
    return 1;
}

static const char *const hc_method_names[] = {"NONE", "TCP",       "OPTIONS", "HEAD",
                                              "GET",  "OPTIONS11", "HEAD11",  "GET11"};

int hcheck_method_parse(const char *name)
{
    if (name == NULL || name[0] == '\0')
        return HC_NONE;
    for (size_t i = 0; i < ARRAY_LEN(hc_method_names); i++)
        if (util_strcaseeq(name, hc_method_names[i]))
            return (int)i;
    return -1;
}

int hcheck_build_request(char *buf, size_t size, enum hc_method m, const char *host, int port,
                         const char *path, const char *hcuri)
{
    const char *method, *proto = "HTTP/1.0", *extra = "";
    switch (m) {
    case HC_OPTIONS11:
    case HC_HEAD11:
    case HC_GET11:
        proto = "HTTP/1.1";
        extra = "Connection: close\r\n";
        break;
    default:
        break;
    }
    switch (m) {
    case HC_OPTIONS:
    case HC_OPTIONS11:
        method = "OPTIONS";
        break;
    case HC_HEAD:
    case HC_HEAD11:
        method = "HEAD";
        break;
    case HC_GET:
    case HC_GET11:
        method = "GET";
        break;
    default:
        return -1;
    }
    if (path == NULL)
        path = "";
    if (hcuri == NULL)
        hcuri = "";
    const char *sep = path[0] != '\0' && hcuri[0] != '\0' ? "/" : "";
    /* httpd sends "GET  HTTP/1.0" for a member without a path and no hcuri, and a target
     * without a leading slash for hcuri=status: both are invalid request lines. */
    const char *lead = path[0] != '/' && !(path[0] == '\0' && hcuri[0] == '/') ? "/" : "";
    int v6 = strchr(host, ':') != NULL;
    int n;
    if (strcmp(method, "OPTIONS") == 0)
        n = snprintf(buf, size, "OPTIONS * %s\r\nHost: %s%s%s:%d\r\n%s\r\n", proto, v6 ? "[" : "",
                     host, v6 ? "]" : "", port, extra);
    else
        n = snprintf(buf, size, "%s %s%s%s%s %s\r\nHost: %s%s%s:%d\r\n%s\r\n", method, lead, path,
                     sep, hcuri, proto, v6 ? "[" : "", host, v6 ? "]" : "", port, extra);
    return n > 0 && (size_t)n < size ? n : -1;
}
