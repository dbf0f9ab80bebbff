/* The mod_rewrite engine for server-context rules: httpd 2.4's hook_uri2file(),
 * apply_rewrite_list(), apply_rewrite_rule() and do_expand() (apache-behaviour.md 6.4-6.9),
 * without per-directory rounds or subrequests. The current "filename" starts as the
 * decoded URL-path and every applied rule replaces it; the query (httpd's r->args) is
 * carried beside it. Everything per request lives in r->arena, PCRE2 included. */
#include "rewrite.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <fnmatch.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conn.h"
#include "env.h"
#include "headers.h"
#include "log.h"
#include "rewrite_map.h"
#include "util.h"

#define RW_NGROUPS      10 /* $0-$9 / %0-%9, httpd's AP_MAX_REG_MATCH */
#define RW_MAP_DEPTH    16 /* nested ${map:...} calls in one expansion */
#define RW_DEFAULT_LINE 8190
/* Arena bytes the rules of one request may use. httpd bounds an [N] loop only by rounds
 * (32000): a long URL rewritten each round would take gigabytes of one worker's memory. */
#define RW_MEM_BUDGET (32u << 20)

/* What apply_rewrite_list() reports (httpd's ACTION_*). */
enum { ACT_NONE, ACT_NORMAL, ACT_NOESCAPE, ACT_STATUS };

struct backref {
    const char *src; /* NULL = no back-references */
    PCRE2_SIZE ov[2 * RW_NGROUPS];
};

struct rwx {
    struct request *r;
    struct arena *a;
    const struct conf *conf;
    const struct conf_server *srv;
    pcre2_general_context *gctx;
    pcre2_match_context *mctx;
    pcre2_match_data *md;
    struct backref rr; /* $N: the rule's pattern */
    struct backref rc; /* %N: the last matched regex condition */
    const char *filename;
    const char *args;  /* current query (httpd's r->args), NULL = none */
    const char *oargs; /* the request's own query */
    const char *vary_this;
    char *vary; /* header names of this rule's matched conditions */
    int status; /* RW_STATUS answer once set */
    int redirect_status;
    int proxy;
    int passthrough;
    int depth;
    int ngroups;      /* valid ovector pairs of the last match */
    size_t mem_start; /* arena_used() when the engine started (RW_MEM_BUDGET) */
    struct rewrite_result *res;
};

/* ---- small helpers ---- */

static void *arena_malloc_cb(PCRE2_SIZE n, void *data)
{
    return arena_alloc(data, n);
}

static void arena_free_cb(void *p, void *data)
{
    (void)p;
    (void)data;
}

struct sbuf {
    struct arena *a;
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *np = arena_alloc(b->a, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        if (b->n)
            memcpy(np, b->p, b->n);
        b->p = np;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static char *sb_done(struct sbuf *b)
{
    if (b->oom)
        return NULL;
    if (b->p == NULL)
        return arena_strdup(b->a, "");
    return b->p;
}

static const char hexl[] = "0123456789abcdef";

/* httpd's atoi: leading blanks, a sign, digits; anything else ends the number. */
static long long rw_atoll(const char *s)
{
    while (*s == ' ' || (*s >= '\t' && *s <= '\r'))
        s++;
    int neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    long long v = 0;
    for (; *s >= '0' && *s <= '9'; s++)
        if (v < 1000000000000000LL)
            v = v * 10 + (*s - '0');
    return neg ? -v : v;
}

/* ap_escape_uri(): every byte but alphanumerics and $-_.+!*'(),:;@&=/~ as %xx. */
static int uri_keep(unsigned char c)
{
    return isalnum(c) || (c != '\0' && strchr("$-_.+!*'(),:;@&=/~", c) != NULL);
}

static char *escape_uri(struct arena *a, const char *s)
{
    struct sbuf b = {a, NULL, 0, 0, 0};
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (uri_keep(*p)) {
            sb_add(&b, (const char *)p, 1);
        } else {
            char e[3] = {'%', hexl[*p >> 4], hexl[*p & 15]};
            sb_add(&b, e, 3);
        }
    }
    return sb_done(&b);
}

/* httpd's escape_backref() for [B], [B=chars], [BNP], [BCTLS], [BNE=chars]. */
static char *escape_backref(struct arena *a, const char *s, size_t n,
                            const struct rewrite_rule *rule)
{
    const char *escapeme = rule->b_chars;
    const char *noescape = rule->bne_chars;
    int noplus = (rule->flags & RWF_BNP) != 0;
    int ctls = (rule->flags & RWF_BCTLS) != 0;
    struct sbuf b = {a, NULL, 0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        int candidate = (ctls ? (c <= 0x20 || c == 0x7f) : escapeme == NULL) ||
                        (escapeme != NULL && c != '\0' && strchr(escapeme, c) != NULL);
        if (candidate && noescape != NULL && c != '\0' && strchr(noescape, c) != NULL)
            candidate = 0;
        if (!candidate || isalnum(c) || c == '_') {
            sb_add(&b, (const char *)&s[i], 1);
        } else if (c == ' ' && !noplus) {
            sb_add(&b, "+", 1);
        } else {
            char e[3] = {'%', hexl[c >> 4], hexl[c & 15]};
            sb_add(&b, e, 3);
        }
    }
    return sb_done(&b);
}

/* httpd's is_absolute_uri(): length of "scheme://" (or "scheme:") for the schemes
 * mod_rewrite knows, 0 otherwise; *sqs = whether the scheme takes a query string. */
static size_t absolute_uri(const char *u, int *sqs)
{
    static const struct {
        const char *prefix;
        int sqs;
    } schemes[] = {
        {"ajp://", 1},    {"balancer://", 1}, {"ftp://", 0},   {"fcgi://", 1},
        {"gopher://", 0}, {"http://", 1},     {"https://", 1}, {"h2://", 1},
        {"h2c://", 1},    {"ldap://", 0},     {"mailto:", 1},  {"news:", 0},
        {"nntp://", 0},   {"scgi://", 1},     {"ws://", 1},    {"wss://", 1},
    };
    int dummy;
    if (sqs == NULL)
        sqs = &dummy;
    *sqs = 0;
    if (u[0] == '/' || strlen(u) <= 5)
        return 0;
    for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        size_t n = strlen(schemes[i].prefix);
        if (util_strncaseeq(u, schemes[i].prefix, n)) {
            *sqs = schemes[i].sqs;
            return n;
        }
    }
    return 0;
}

/* httpd's escape_absolute_uri(): the part after "scheme://host/" through ap_escape_uri,
 * ldap URLs per '?'-separated component. */
static char *escape_absolute(struct arena *a, const char *uri, size_t scheme)
{
    const char *cp = uri + scheme;
    if (cp[-1] == '/') {
        while (*cp && *cp != '/')
            cp++;
        if (*cp == '\0' || *++cp == '\0')
            return arena_strdup(a, uri);
        if (util_strncaseeq(uri, "ldap", 4)) {
            struct sbuf b = {a, NULL, 0, 0, 0};
            sb_add(&b, uri, (size_t)(cp - uri));
            int c = 0;
            const char *tok = cp;
            for (;;) {
                const char *q = c < 4 ? strchr(tok, '?') : NULL;
                char *part = arena_strndup(a, tok, q ? (size_t)(q - tok) : strlen(tok));
                char *esc = part ? escape_uri(a, part) : NULL;
                if (esc == NULL)
                    return NULL;
                sb_add(&b, esc, strlen(esc));
                if (q == NULL)
                    break;
                sb_add(&b, "?", 1);
                tok = q + 1;
                c++;
            }
            return sb_done(&b);
        }
    }
    char *esc = escape_uri(a, cp);
    return esc ? arena_printf(a, "%.*s%s", (int)(cp - uri), uri, esc) : NULL;
}

static int has_ctl_or_space(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* A control character (HTAB included) in a response header value: a decoded %0d%0a
 * from $N, %N or a map in Location (with [NE], or in the host part, which is never
 * escaped), CO= or T= would split the response. httpd's check_headers() answers 500. */
static int has_ctl(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 1;
    return 0;
}

/* Checks what goes into response headers; on a bad value logs it, drops the cookies and
 * turns the result into a 500 (the caller sets the status). */
static int unsafe_headers(struct rwx *x)
{
    struct rewrite_result *res = x->res;
    const char *what = NULL, *val = NULL;
    if (res->outcome == RW_REDIRECT && has_ctl(res->url))
        what = "Location", val = res->url;
    else if (has_ctl(res->type))
        what = "Content-Type", val = res->type;
    for (int i = 0; what == NULL && i < res->n_set_cookies; i++)
        if (has_ctl(res->set_cookies[i]))
            what = "Set-Cookie", val = res->set_cookies[i];
    if (what == NULL)
        return 0;
    log_msg(MOD_REWRITE, LL_ERROR, 0, x->r->c ? x->r->c->client_addr : NULL,
            "Response header '%s' value of '%s' contains invalid characters, aborting request",
            what, val);
    res->outcome = RW_STATUS;
    res->set_cookies = NULL;
    res->n_set_cookies = 0;
    res->type = NULL;
    res->url = NULL;
    return 1;
}

static const char *var_str(struct rwx *x, const char *name)
{
    return rewrite_var(x->r, name, strlen(name), NULL);
}

static const char *http_scheme(struct rwx *x)
{
    return var_str(x, "REQUEST_SCHEME");
}

static int default_port(struct rwx *x)
{
    return strcmp(http_scheme(x), "https") == 0 ? 443 : 80;
}

/* "scheme://name[:port]" as httpd's fully_qualify_uri() and SCRIPT_URI build it. */
static char *this_server(struct rwx *x)
{
    const char *name = var_str(x, "SERVER_NAME");
    int port = (int)rw_atoll(var_str(x, "SERVER_PORT"));
    if (port == default_port(x))
        return arena_printf(x->a, "%s://%s", http_scheme(x), name);
    return arena_printf(x->a, "%s://%s:%d", http_scheme(x), name, port);
}

static void fully_qualify(struct rwx *x)
{
    if (x->r->h.m == HTTP_CONNECT || absolute_uri(x->filename, NULL))
        return;
    const char *srv = this_server(x);
    x->filename = arena_printf(x->a, "%s%s%s", srv, x->filename[0] == '/' ? "" : "/", x->filename);
}

/* httpd's ap_matches_request_vhost(): a <VirtualHost> address (with its port), else the
 * port must equal ServerName's (0 when it names none) and the host ServerName or a
 * ServerAlias. */
static int matches_vhost(struct rwx *x, const char *host, int port)
{
    const struct conf_server *s = x->srv;
    for (const struct conf_vaddr *v = s->addrs; v != NULL; v = v->next) {
        if (v->any_addr || (v->port != 0 && v->port != port))
            continue;
        char ip[INET6_ADDRSTRLEN] = "";
        if (v->addr.ss_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)&v->addr)->sin_addr, ip, sizeof(ip));
        else if (v->addr.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&v->addr)->sin6_addr, ip,
                      sizeof(ip));
        if (ip[0] != '\0' && util_strcaseeq(ip, host))
            return 1;
    }
    if (port != s->server_port)
        return 0;
    if (s->server_name != NULL && util_strcaseeq(host, s->server_name))
        return 1;
    for (int i = 0; i < s->n_aliases; i++)
        if (fnmatch(s->aliases[i], host, FNM_CASEFOLD) == 0)
            return 1;
    return 0;
}

/* httpd's reduce_uri(): strip "scheme://thishost[:port]" when it names this server. */
static void reduce_uri(struct rwx *x)
{
    const char *scheme = http_scheme(x);
    size_t l = strlen(scheme);
    const char *f = x->filename;
    if (strlen(f) <= l + 3 || !util_strncaseeq(f, scheme, l) || strncmp(f + l, "://", 3) != 0)
        return;
    const char *host = f + l + 3, *cp = host;
    while (*cp && *cp != '/' && *cp != ':')
        cp++;
    char *h = arena_strndup(x->a, host, (size_t)(cp - host));
    if (h == NULL)
        return;
    int port;
    const char *url;
    if (*cp == ':') {
        const char *portp = ++cp;
        while (*cp && *cp != '/')
            cp++;
        char *ps = arena_strndup(x->a, portp, (size_t)(cp - portp));
        port = ps ? (int)(unsigned short)rw_atoll(ps) : 0;
        url = *cp ? cp : "/";
    } else if (*cp == '/') {
        port = default_port(x);
        url = cp;
    } else {
        port = default_port(x);
        url = "/";
    }
    if (matches_vhost(x, h, port)) {
        if (log_enabled(MOD_REWRITE, LL_TRACE3))
            log_msg(MOD_REWRITE, LL_TRACE3, 0, NULL, "reduce %s -> %s", x->filename, url);
        x->filename = url;
    }
}

/* ---- expansion (httpd's do_expand) ---- */

static const char *find_closing_curly(const char *s)
{
    unsigned depth = 1;
    for (; *s; s++) {
        if (*s == '}' && --depth == 0)
            return s;
        if (*s == '{')
            depth++;
    }
    return NULL;
}

static char *find_char_in_curlies(char *s, int c)
{
    unsigned depth = 1;
    for (; *s; s++) {
        if (*s == c && depth == 1)
            return s;
        if (*s == '}' && --depth == 0)
            return NULL;
        if (*s == '{')
            depth++;
    }
    return NULL;
}

static const char *lookup_var(struct rwx *x, const char *name, size_t len)
{
    /* The engine answers what changes while rules run: the current filename and query. */
    if ((len == 16 && util_strncaseeq(name, "REQUEST_FILENAME", 16)) ||
        (len == 15 && util_strncaseeq(name, "SCRIPT_FILENAME", 15)))
        return x->filename;
    if (len == 12 && util_strncaseeq(name, "QUERY_STRING", 12))
        return x->args ? x->args : "";
    const char *hdr = NULL;
    const char *v = rewrite_var(x->r, name, len, &hdr);
    if (hdr != NULL && !util_strcaseeq(hdr, "Host"))
        x->vary_this = x->vary_this ? arena_printf(x->a, "%s, %s", x->vary_this, hdr)
                                    : arena_strdup(x->a, hdr);
    return v != NULL ? v : "";
}

static const char *map_lookup(struct rwx *x, const char *name, const char *key)
{
    const struct rewrite_conf *rc = x->srv->rewrite;
    const struct rewrite_map *m = NULL;
    for (int i = 0; i < rc->n_eff_maps && m == NULL; i++)
        if (strcmp(rc->eff_maps[i]->name, name) == 0)
            m = rc->eff_maps[i];
    if (m == NULL || key == NULL) {
        if (m == NULL && log_enabled(MOD_REWRITE, LL_TRACE5))
            log_msg(MOD_REWRITE, LL_TRACE5, 0, NULL,
                    "map lookup FAILED: map=%s key=%s (no such map)", name, key ? key : "");
        return NULL;
    }
    const char *v = rewrite_map_lookup(x->r, m, key);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

struct qtrack {
    int *unsafe; /* NULL = not tracking */
    int last;    /* [QSL]: the last '?' decides */
};

static void put_literal(struct sbuf *b, struct qtrack *q, const char *s, size_t n)
{
    sb_add(b, s, n);
    if (q->unsafe != NULL && memchr(s, '?', n) != NULL) {
        *q->unsafe = 0;
        if (!q->last)
            q->unsafe = NULL;
    }
}

static void put_expansion(struct sbuf *b, struct qtrack *q, const char *s, size_t n)
{
    sb_add(b, s, n);
    if (q->unsafe != NULL && memchr(s, '?', n) != NULL) {
        *q->unsafe = 1;
        if (!q->last)
            q->unsafe = NULL;
    }
}

/* One left-to-right pass: \c, $N, %N, %{VAR}, ${map:key|default}; text an expansion
 * produced is never expanded again. rule (may be NULL) brings the [B] escaping; unsafe
 * (may be NULL) receives whether the query-splitting '?' came from an expansion. */
static char *expand(struct rwx *x, const char *in, const struct rewrite_rule *rule, int *unsafe)
{
    struct sbuf b = {x->a, NULL, 0, 0, 0};
    struct qtrack q = {unsafe, rule != NULL && (rule->flags & RWF_QSLAST) != 0};
    if (unsafe != NULL)
        *unsafe = 0;
    const char *p = in;
    while (*p) {
        size_t span = strcspn(p, "\\$%");
        if (span > 0) {
            put_literal(&b, &q, p, span);
            p += span;
            continue;
        }
        if (*p == '\\') {
            if (p[1] == '\0') {
                put_literal(&b, &q, p, 1);
                break;
            }
            put_literal(&b, &q, p + 1, 1);
            p += 2;
            continue;
        }
        if (p[1] == '{') {
            const char *end = find_closing_curly(p + 2);
            if (end == NULL) {
                put_literal(&b, &q, p, 2);
                p += 2;
                continue;
            }
            if (*p == '%') {
                const char *v = lookup_var(x, p + 2, (size_t)(end - p - 2));
                put_expansion(&b, &q, v, strlen(v));
                p = end + 1;
                continue;
            }
            char *inner = arena_strndup(x->a, p + 2, (size_t)(end - p - 2));
            char *key = inner ? find_char_in_curlies(inner, ':') : NULL;
            if (key == NULL) {
                put_literal(&b, &q, p, 2);
                p += 2;
                continue;
            }
            *key++ = '\0';
            char *dflt = find_char_in_curlies(key, '|');
            if (dflt != NULL)
                *dflt++ = '\0';
            const char *v = NULL;
            if (x->depth < RW_MAP_DEPTH) {
                x->depth++;
                v = map_lookup(x, inner, expand(x, key, rule, NULL));
                if (v == NULL && dflt != NULL && *dflt != '\0')
                    v = expand(x, dflt, rule, NULL);
                x->depth--;
            }
            if (v != NULL)
                put_expansion(&b, &q, v, strlen(v));
            p = end + 1;
            continue;
        }
        if (p[1] >= '0' && p[1] <= '9') {
            int n = p[1] - '0';
            const struct backref *br = *p == '$' ? &x->rr : &x->rc;
            if (br->src != NULL && br->ov[2 * n] != PCRE2_UNSET &&
                br->ov[2 * n + 1] > br->ov[2 * n]) {
                const char *s = br->src + br->ov[2 * n];
                size_t len = br->ov[2 * n + 1] - br->ov[2 * n];
                if (rule != NULL && (rule->flags & (RWF_B | RWF_BCTLS))) {
                    char *e = escape_backref(x->a, s, len, rule);
                    if (e != NULL && log_enabled(MOD_REWRITE, LL_TRACE5))
                        log_msg(MOD_REWRITE, LL_TRACE5, 0, NULL,
                                "escaping backreference '%.*s' to '%s'", (int)len, s, e);
                    if (e != NULL)
                        put_expansion(&b, &q, e, strlen(e));
                } else {
                    put_expansion(&b, &q, s, len);
                }
            }
            p += 2;
            continue;
        }
        put_literal(&b, &q, p, 1);
        p++;
    }
    return sb_done(&b);
}

/* ---- conditions ---- */

/* Returns 1 on a match; x->ngroups = the ovector pairs that match set (PCRE2 leaves the
 * pairs past the pattern's last group as an earlier match left them). */
static int re_match(struct rwx *x, const void *re, const char *s)
{
    int rc = pcre2_match(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, x->md, x->mctx);
    x->ngroups = rc == 0 ? RW_NGROUPS : rc > 0 ? rc : 0;
    return rc >= 0;
}

static void save_backrefs(struct rwx *x, struct backref *br, const char *src)
{
    PCRE2_SIZE *ov = pcre2_get_ovector_pointer(x->md);
    uint32_t n = pcre2_get_ovector_count(x->md);
    if (n > (uint32_t)x->ngroups)
        n = (uint32_t)x->ngroups;
    br->src = src;
    for (uint32_t i = 0; i < RW_NGROUPS; i++) {
        br->ov[2 * i] = i < n ? ov[2 * i] : PCRE2_UNSET;
        br->ov[2 * i + 1] = i < n ? ov[2 * i + 1] : PCRE2_UNSET;
    }
}

/* httpd's compare_lexicography(): the longer string is the greater one. */
static int compare_lex(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la != lb)
        return la > lb ? 1 : -1;
    int c = memcmp(a, b, la);
    return c > 0 ? 1 : c < 0 ? -1 : 0;
}

static int str_cmp(const struct rewrite_cond *c, const char *input)
{
    if (c->flags & RWCF_NOCASE) {
        int v = strcasecmp(input, c->pattern);
        return v > 0 ? 1 : v < 0 ? -1 : 0;
    }
    return compare_lex(input, c->pattern);
}

static int apply_cond(struct rwx *x, const struct rewrite_cond *c)
{
    const char *input = c->op == RWC_EXPR ? "" : expand(x, c->test, NULL, NULL);
    struct stat st;
    int rc = 0;
    if (input == NULL)
        return 0;
    switch (c->op) {
    case RWC_REGEX:
        rc = re_match(x, c->regex, input);
        if (rc && !c->negate)
            save_backrefs(x, &x->rc, input);
        break;
    case RWC_STR_LT:
        rc = str_cmp(c, input) < 0;
        break;
    case RWC_STR_LE:
        rc = str_cmp(c, input) <= 0;
        break;
    case RWC_STR_GT:
        rc = str_cmp(c, input) > 0;
        break;
    case RWC_STR_GE:
        rc = str_cmp(c, input) >= 0;
        break;
    case RWC_STR_EQ:
        rc = (c->flags & RWCF_NOCASE) ? strcasecmp(input, c->pattern) == 0
                                      : strcmp(input, c->pattern) == 0;
        break;
    case RWC_INT_EQ:
        rc = rw_atoll(input) == c->number;
        break;
    case RWC_INT_NE:
        rc = rw_atoll(input) != c->number;
        break;
    case RWC_INT_LT:
        rc = rw_atoll(input) < c->number;
        break;
    case RWC_INT_LE:
        rc = rw_atoll(input) <= c->number;
        break;
    case RWC_INT_GT:
        rc = rw_atoll(input) > c->number;
        break;
    case RWC_INT_GE:
        rc = rw_atoll(input) >= c->number;
        break;
    case RWC_FILE_DIR:
        rc = stat(input, &st) == 0 && S_ISDIR(st.st_mode);
        break;
    case RWC_FILE_REG:
    case RWC_FILE_SUBREQ: /* no subrequests: -F is -f */
        rc = stat(input, &st) == 0 && S_ISREG(st.st_mode);
        break;
    case RWC_FILE_SIZE:
        rc = stat(input, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
        break;
    case RWC_FILE_LINK:
        rc = lstat(input, &st) == 0 && S_ISLNK(st.st_mode);
        break;
    case RWC_FILE_EXEC:
        rc = stat(input, &st) == 0 && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) != 0;
        break;
    case RWC_URL_SUBREQ:
        rc = 0; /* no subrequests: -U never passes */
        break;
    case RWC_EXPR:
        rc = c->expr != NULL && headers_expr_eval(c->expr, x->r, 0, NULL, 0);
        break;
    }
    if (c->negate)
        rc = !rc;
    if (log_enabled(MOD_REWRITE, LL_TRACE4))
        log_msg(MOD_REWRITE, LL_TRACE4, 0, NULL, "RewriteCond: input='%s' pattern='%s%s'%s => %s",
                c->op == RWC_EXPR ? "expr" : input, c->negate ? "!" : "",
                c->pattern ? c->pattern : "", (c->flags & RWCF_NOCASE) ? " [NC]" : "",
                rc ? "matched" : "not-matched");
    return rc;
}

/* ---- rules ---- */

static void add_vary(struct rwx *x, const char *names)
{
    /* The rule's names, merged into the result without repeating one. */
    const char *p = names;
    while (*p) {
        size_t n = strcspn(p, ",");
        const char *name = p;
        p += n;
        while (*p == ',' || *p == ' ')
            p++;
        while (n > 0 && name[n - 1] == ' ')
            n--;
        if (n == 0)
            continue;
        const char *v = x->res->vary;
        int dup = 0;
        while (v != NULL && *v && !dup) {
            size_t m = strcspn(v, ",");
            if (m == n && util_strncaseeq(v, name, n))
                dup = 1;
            v += m;
            while (*v == ',' || *v == ' ')
                v++;
        }
        if (!dup)
            x->res->vary = x->res->vary ? arena_printf(x->a, "%s, %.*s", x->res->vary, (int)n, name)
                                        : arena_strndup(x->a, name, n);
    }
}

static void do_env(struct rwx *x, const struct rewrite_rule *p)
{
    for (const struct rewrite_env_action *e = p->env; e != NULL; e = e->next) {
        char *name = expand(x, e->name, NULL, NULL);
        if (name == NULL)
            continue;
        if (e->value == NULL || name[0] == '!') {
            if (name[0] == '!')
                name++;
            env_unset(x->r, name);
            if (log_enabled(MOD_REWRITE, LL_TRACE5))
                log_msg(MOD_REWRITE, LL_TRACE5, 0, NULL, "unsetting env variable '%s'", name);
            continue;
        }
        char *val = expand(x, e->value, NULL, NULL);
        if (val == NULL)
            continue;
        env_set(x->r, name, val);
        if (log_enabled(MOD_REWRITE, LL_TRACE5))
            log_msg(MOD_REWRITE, LL_TRACE5, 0, NULL, "setting env variable '%s' to '%s'", name,
                    val);
    }
}

/* apr_strtok(): empty fields are skipped, as httpd's cookie parser does. */
static char *next_token(char **s, char sep)
{
    char *p = *s;
    while (*p == sep)
        p++;
    if (*p == '\0') {
        *s = p;
        return NULL;
    }
    char *tok = p;
    while (*p && *p != sep)
        p++;
    if (*p)
        *p++ = '\0';
    *s = p;
    return tok;
}

static void add_cookie(struct rwx *x, char *s)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    char sep = ':';
    if (*s == ';') {
        sep = ';';
        s++;
    }
    char *var = next_token(&s, sep);
    char *val = var ? next_token(&s, sep) : NULL;
    char *domain = val ? next_token(&s, sep) : NULL;
    if (domain == NULL)
        return;
    struct rewrite_result *res = x->res;
    size_t vl = strlen(var);
    for (int i = 0; i < res->n_set_cookies; i++)
        if (strncmp(res->set_cookies[i], var, vl) == 0 && res->set_cookies[i][vl] == '=') {
            if (log_enabled(MOD_REWRITE, LL_TRACE5))
                log_msg(MOD_REWRITE, LL_TRACE5, 0, NULL, "skipping already set cookie '%s'", var);
            return;
        }
    char *expires = next_token(&s, sep);
    char *path = expires ? next_token(&s, sep) : NULL;
    char *secure = path ? next_token(&s, sep) : NULL;
    char *httponly = secure ? next_token(&s, sep) : NULL;
    char *samesite = httponly ? next_token(&s, sep) : NULL;
    char exp_time[64] = "";
    if (expires != NULL) {
        long long minutes = rw_atoll(expires);
        if (minutes != 0) {
            time_t t = x->r->start.tv_sec ? x->r->start.tv_sec : time(NULL);
            t += (time_t)(minutes * 60);
            struct tm tm;
            /* A huge lifetime puts the year past what struct tm holds: gmtime_r() fails and
             * tm stays unset (tm_wday/tm_mon would index out of the tables). */
            if (gmtime_r(&t, &tm) != NULL && tm.tm_wday >= 0 && tm.tm_wday < 7 && tm.tm_mon >= 0 &&
                tm.tm_mon < 12)
                snprintf(exp_time, sizeof(exp_time),
                         "; expires=%s, %.2d-%s-%.4d %.2d:%.2d:%.2d GMT", days[tm.tm_wday],
                         tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                         tm.tm_sec);
        }
    }
    int sec = secure && (strcasecmp(secure, "true") == 0 || strcmp(secure, "1") == 0 ||
                         strcasecmp(secure, "secure") == 0);
    int ho = httponly && (strcasecmp(httponly, "true") == 0 || strcmp(httponly, "1") == 0 ||
                          strcasecmp(httponly, "HttpOnly") == 0);
    int ss = samesite && strcmp(samesite, "0") != 0 && strcasecmp(samesite, "false") != 0;
    char *cookie = arena_printf(
        x->a, "%s=%s; path=%s; domain=%s%s%s%s%s%s", var, val, path ? path : "/", domain, exp_time,
        sec ? "; secure" : "", ho ? "; HttpOnly" : "", ss ? "; SameSite=" : "", ss ? samesite : "");
    char **list = arena_alloc(x->a, sizeof(char *) * (size_t)(res->n_set_cookies + 1));
    if (cookie == NULL || list == NULL)
        return;
    if (res->n_set_cookies > 0)
        memcpy(list, res->set_cookies, sizeof(char *) * (size_t)res->n_set_cookies);
    list[res->n_set_cookies++] = cookie;
    res->set_cookies = list;
    if (log_enabled(MOD_REWRITE, LL_TRACE5))
        log_msg(MOD_REWRITE, LL_TRACE5, 0, NULL, "setting cookie '%s'", cookie);
}

static void do_cookies(struct rwx *x, const struct rewrite_rule *p)
{
    for (const struct rewrite_cookie *c = p->cookies; c != NULL; c = c->next) {
        char *s = expand(x, c->spec, NULL, NULL);
        if (s != NULL)
            add_cookie(x, s);
    }
}

static void force_type_handler(struct rwx *x, const struct rewrite_rule *p)
{
    const char *what[2] = {p->type, p->handler};
    for (int i = 0; i < 2; i++) {
        if (what[i] == NULL)
            continue;
        char *v = expand(x, what[i], p, NULL);
        if (v == NULL || v[0] == '\0')
            continue;
        for (char *c = v; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        if (log_enabled(MOD_REWRITE, LL_TRACE2))
            log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "remember %s to have %s '%s'", x->filename,
                    i == 0 ? "MIME-type" : "Content-handler", v);
        if (i == 0)
            x->res->type = v;
        else
            x->res->handler = v;
    }
}

/* httpd's splitout_queryargs(). Returns -1 for the unsafe '?' refusal. */
static int split_query(struct rwx *x, const struct rewrite_rule *p, int qsnone, int qslast,
                       int unsafe)
{
    if (qsnone) {
        if (log_enabled(MOD_REWRITE, LL_TRACE2))
            log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL,
                    "discarding query string, no parse from substitution");
        x->args = NULL;
        return 0;
    }
    int sqs;
    size_t skip = absolute_uri(x->filename, &sqs);
    if (skip > 0 && !sqs) {
        x->args = NULL;
        return 0;
    }
    if (p->flags & RWF_QSDISCARD) {
        x->args = NULL;
        if (log_enabled(MOD_REWRITE, LL_TRACE2))
            log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "discarding query string");
    }
    const char *f = x->filename + skip;
    const char *q = qslast ? strrchr(f, '?') : strchr(f, '?');
    if (q == NULL)
        return 0;
    if (unsafe && !(p->flags & RWF_UNSAFE_3F)) {
        if (log_enabled(MOD_REWRITE, LL_TRACE1))
            log_msg(MOD_REWRITE, LL_TRACE1, 0, NULL,
                    "Unsafe URL with %%3f URL rewritten without UnsafeAllow3F");
        return -1;
    }
    const char *olduri = x->filename;
    char *path = arena_strndup(x->a, x->filename, (size_t)(q - x->filename));
    char *args;
    q++;
    if (p->flags & RWF_QSAPPEND) {
        args = *q ? arena_printf(x->a, "%s&%s", q, x->args ? x->args : "")
                  : (char *)(x->args ? arena_strdup(x->a, x->args) : NULL);
    } else {
        args = arena_strdup(x->a, q);
    }
    if (path == NULL)
        return -2;
    if (args != NULL) {
        size_t len = strlen(args);
        if (len == 0)
            args = NULL;
        else if (args[len - 1] == '&')
            args[len - 1] = '\0';
    }
    x->filename = path;
    x->args = args;
    if (log_enabled(MOD_REWRITE, LL_TRACE3))
        log_msg(MOD_REWRITE, LL_TRACE3, 0, NULL, "split uri=%s -> uri=%s, args=%s", olduri,
                x->filename, x->args ? x->args : "<none>");
    return 0;
}

/* httpd's apply_rewrite_rule(): 0 = no match, 1 = applied, 2 = applied without a
 * substitution, -1 = refused (403), -2 = out of memory. */
static int apply_rule(struct rwx *x, const struct rewrite_rule *p)
{
    const char *uri = x->filename;
    if (log_enabled(MOD_REWRITE, LL_TRACE3))
        log_msg(MOD_REWRITE, LL_TRACE3, 0, NULL, "applying pattern '%s' to uri '%s'", p->pattern,
                uri);
    int m = re_match(x, p->regex, uri);
    if (m == p->negate)
        return 0;
    x->vary_this = NULL;
    x->rc.src = NULL;
    if (p->negate)
        x->rr.src = NULL;
    else
        save_backrefs(x, &x->rr, uri);

    for (const struct rewrite_cond *c = p->conds; c != NULL; c = c->next) {
        int rc = apply_cond(x, c);
        if (c->flags & RWCF_NOVARY)
            x->vary_this = NULL;
        if (c->flags & RWCF_ORNEXT) {
            if (!rc) {
                x->vary_this = NULL;
                continue;
            }
            while (c->next != NULL && (c->flags & RWCF_ORNEXT))
                c = c->next;
        } else if (!rc) {
            return 0;
        }
        if (x->vary_this != NULL) {
            x->vary = x->vary ? arena_printf(x->a, "%s, %s", x->vary, x->vary_this)
                              : (char *)x->vary_this;
            x->vary_this = NULL;
        }
    }

    int nosub = p->subst == NULL || (p->flags & (RWF_FORBIDDEN | RWF_GONE | RWF_STATUS_ONLY));
    char *newuri = NULL;
    int unsafe = 0, qsnone = 0, qslast = (p->flags & RWF_QSLAST) != 0;
    if (!nosub) {
        const char *subst = p->subst;
        size_t sl = strlen(subst);
        /* A literal '?' ending the substitution: no query at all (httpd's QSNONE, the
         * '?' dropped), or with [QSA] the last '?' splits. */
        if (sl > 0 && subst[sl - 1] == '?') {
            if (p->flags & RWF_QSAPPEND) {
                qslast = 1;
            } else {
                qsnone = 1;
                subst = arena_strndup(x->a, subst, sl - 1);
                if (subst == NULL)
                    return -2;
            }
        }
        struct rewrite_rule tmp = *p;
        if (qslast)
            tmp.flags |= RWF_QSLAST;
        newuri = expand(x, subst, &tmp, &unsafe);
        if (newuri == NULL)
            return -2;
        if (log_enabled(MOD_REWRITE, LL_TRACE2))
            log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "rewrite '%s' -> '%s'", uri, newuri);
    }

    do_env(x, p);
    do_cookies(x, p);

    if (nosub) {
        force_type_handler(x, p);
        int st = (p->flags & RWF_FORBIDDEN)     ? 403
                 : (p->flags & RWF_GONE)        ? 410
                 : (p->flags & RWF_STATUS_ONLY) ? p->redirect_status
                                                : 0;
        if (st != 0) {
            if (log_enabled(MOD_REWRITE, LL_TRACE2))
                log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "forcing responsecode %d for %s", st,
                        x->filename);
            x->status = st;
        }
        return 2;
    }

    x->filename = newuri;
    int rc = split_query(x, p, qsnone, qslast, unsafe);
    if (rc < 0)
        return rc;

    /* Server context: a relative result becomes a URL-path. */
    if (x->filename[0] != '/' && !absolute_uri(x->filename, NULL) &&
        !(p->flags & (RWF_PROXY | RWF_REDIRECT))) {
        x->filename = arena_printf(x->a, "/%s", x->filename);
        if (x->filename == NULL)
            return -2;
    }

    if (p->flags & RWF_PROXY) {
        fully_qualify(x);
        if (log_enabled(MOD_REWRITE, LL_TRACE2))
            log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "forcing proxy-throughput with %s",
                    x->filename);
        x->proxy = 1;
        return 1;
    }
    x->proxy = 0;
    if (p->flags & RWF_REDIRECT) {
        fully_qualify(x);
        if (log_enabled(MOD_REWRITE, LL_TRACE2))
            log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "explicitly forcing redirect with %s",
                    x->filename);
        x->redirect_status = p->redirect_status;
        return 1;
    }
    reduce_uri(x);
    if (absolute_uri(x->filename, NULL)) {
        if (log_enabled(MOD_REWRITE, LL_TRACE2))
            log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "implicitly forcing redirect (rc=%d) with %s",
                    p->redirect_status, x->filename);
        x->redirect_status = p->redirect_status;
        return 1;
    }
    if (!(p->flags & RWF_UNC) && !(p->subst[0] == '/' && p->subst[1] == '/'))
        while (x->filename[0] == '/' && x->filename[1] == '/')
            x->filename++;
    force_type_handler(x, p);
    return 1;
}

static const char *rule_why(struct rwx *x, const struct rewrite_rule *p)
{
    return arena_printf(x->a, "RewriteRule %s%s at %s:%d", p->negate ? "!" : "", p->pattern,
                        p->file ? p->file : "?", p->line);
}

/* httpd's apply_rewrite_list() for server context. */
static int apply_list(struct rwx *x, const struct rewrite_rule *const *rules, int n)
{
    int changed = ACT_NONE, round = 1;
    int limit = x->srv->limit_request_line > 0 ? x->srv->limit_request_line : RW_DEFAULT_LINE;
loop:
    for (int i = 0; i < n; i++) {
        const struct rewrite_rule *p = rules[i];
        x->vary = NULL;
        int rc = apply_rule(x, p);
        if (rc == 0) {
            while (i + 1 < n && (p->flags & RWF_CHAIN))
                p = rules[++i];
            continue;
        }
        x->res->why = rule_why(x, p);
        if (rc == -2) {
            x->status = 500;
            return ACT_STATUS;
        }
        if (rc < 0) {
            x->status = 403;
            return ACT_STATUS;
        }
        if (strlen(x->filename) > 2 * (size_t)limit) {
            log_msg(MOD_REWRITE, LL_ERROR, 0, x->r->c ? x->r->c->client_addr : NULL,
                    "RewriteRule '%s' and URI '%s' exceeded maximum length (%d)", p->pattern,
                    x->r->uri ? x->r->uri : "", 2 * limit);
            x->status = 500;
            return ACT_STATUS;
        }
        if (x->vary != NULL)
            add_vary(x, x->vary);
        if (x->status != 0)
            return ACT_STATUS;
        if (rc != 2)
            changed = (p->flags & RWF_NOESCAPE) ? ACT_NOESCAPE : ACT_NORMAL;
        if (p->flags & RWF_PASSTHROUGH) {
            if (log_enabled(MOD_REWRITE, LL_TRACE2))
                log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL,
                        "forcing '%s' to get passed through to next API URI-to-filename "
                        "handler",
                        x->filename);
            x->passthrough = 1;
            changed = ACT_NORMAL;
            break;
        }
        if (p->flags & RWF_END) {
            if (log_enabled(MOD_REWRITE, LL_TRACE8))
                log_msg(MOD_REWRITE, LL_TRACE8, 0, NULL,
                        "Rule has END flag, no further rewriting for this request");
            break;
        }
        if (p->flags & (RWF_PROXY | RWF_LAST))
            break;
        if (p->flags & RWF_NEXT) {
            int max = p->max_rounds > 0 ? p->max_rounds : 32000;
            if (arena_used(x->a) - x->mem_start > RW_MEM_BUDGET) {
                log_msg(MOD_REWRITE, LL_ERROR, 0, x->r->c ? x->r->c->client_addr : NULL,
                        "RewriteRule '%s' and URI '%s' used more than %u MiB in %d rounds via "
                        "the [N] flag",
                        p->pattern, x->r->uri ? x->r->uri : "", RW_MEM_BUDGET >> 20, round);
                x->status = 500;
                return ACT_STATUS;
            }
            if (++round >= max) {
                log_msg(MOD_REWRITE, LL_ERROR, 0, x->r->c ? x->r->c->client_addr : NULL,
                        "RewriteRule '%s' and URI '%s' exceeded maximum number of rounds (%d) "
                        "via the [N] flag",
                        p->pattern, x->r->uri ? x->r->uri : "", max);
                x->status = 500;
                return ACT_STATUS;
            }
            goto loop;
        }
        if (p->skip > 0)
            i += p->skip < n - i ? p->skip : n - i;
    }
    return changed;
}

int rewrite_translate(const struct conf *conf, const struct conf_server *srv, struct request *r,
                      const char *path, struct rewrite_result *res)
{
    memset(res, 0, sizeof(*res));
    res->outcome = RW_DECLINED;
    if (srv == NULL || srv->rewrite == NULL || srv->rewrite->eff_engine != 1)
        return 0;
    const struct rewrite_conf *rc = srv->rewrite;
    if (path == NULL)
        path = r->uri ? r->uri : "/";
    /* Only a URL-path is rewritten unless AllowAnyURI (CVE-2011-3368). */
    if (!(rc->options & RWO_ALLOW_ANY_URI) &&
        (path[0] != '/' || (r->h.target != NULL && strcmp(r->h.target, "*") == 0))) {
        if (log_enabled(MOD_REWRITE, LL_TRACE8))
            log_msg(MOD_REWRITE, LL_TRACE8, 0, NULL,
                    "Declining, request-URI '%s' is not a URL-path", path);
        return 0;
    }

    struct rwx x;
    memset(&x, 0, sizeof(x));
    x.r = r;
    x.a = r->arena;
    x.conf = conf;
    x.srv = srv;
    x.res = res;
    x.redirect_status = 302;
    x.mem_start = arena_used(r->arena);
    const struct conf_server *saved_srv = r->srv;
    r->srv = srv; /* rewrite_var() reads the server from the request */
    x.gctx = pcre2_general_context_create(arena_malloc_cb, arena_free_cb, r->arena);
    x.mctx = x.gctx ? pcre2_match_context_create(x.gctx) : NULL;
    x.md = x.gctx ? pcre2_match_data_create(RW_NGROUPS, x.gctx) : NULL;
    if (x.mctx == NULL || x.md == NULL) {
        res->outcome = RW_STATUS;
        res->status = 500;
        res->why = "out of memory";
        goto done;
    }

    env_set(r, "SCRIPT_URL", path);
    char *uri_base = this_server(&x);
    if (uri_base != NULL)
        env_set(r, "SCRIPT_URI", arena_printf(x.a, "%s%s", uri_base, path));

    x.filename = path;
    x.args = r->h.query;
    x.oargs = r->h.query;
    if (log_enabled(MOD_REWRITE, LL_TRACE2))
        log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "init rewrite engine with requested uri %s", path);

    int status = apply_list(&x, (const struct rewrite_rule *const *)rc->eff_rules, rc->n_eff_rules);
    if (status == ACT_STATUS) {
        res->outcome = RW_STATUS;
        res->status = x.status;
        goto done;
    }
    if (status == ACT_NONE) {
        if (log_enabled(MOD_REWRITE, LL_TRACE1))
            log_msg(MOD_REWRITE, LL_TRACE1, 0, NULL, "pass through %s", x.filename);
        goto done;
    }
    size_t skip = x.passthrough || x.proxy ? 0 : absolute_uri(x.filename, NULL);
    int will_escape = skip > 0 && status != ACT_NOESCAPE;
    if (x.args != NULL && !will_escape && has_ctl_or_space(x.args)) {
        if (log_enabled(MOD_REWRITE, LL_TRACE1))
            log_msg(MOD_REWRITE, LL_TRACE1, 0, NULL,
                    "Rewritten query string contains control characters or spaces");
        res->outcome = RW_STATUS;
        res->status = 403;
        goto done;
    }
    if (x.proxy) {
        res->outcome = RW_PROXY;
        res->nocanon = status == ACT_NOESCAPE;
        res->url =
            x.args ? arena_printf(x.a, "%s?%s", x.filename, x.args) : arena_strdup(x.a, x.filename);
        if (log_enabled(MOD_REWRITE, LL_TRACE1))
            log_msg(MOD_REWRITE, LL_TRACE1, 0, NULL, "go-ahead with proxy request proxy:%s [OK]",
                    res->url ? res->url : "");
    } else if (x.passthrough) {
        res->outcome = RW_PASSTHROUGH;
        res->uri = (char *)x.filename;
        res->query = (char *)x.args;
    } else if (skip > 0) {
        char *url = status == ACT_NOESCAPE ? arena_strdup(x.a, x.filename)
                                           : escape_absolute(x.a, x.filename, skip);
        if (url != NULL && status != ACT_NOESCAPE && log_enabled(MOD_REWRITE, LL_TRACE1))
            log_msg(MOD_REWRITE, LL_TRACE1, 0, NULL, "escaping %s for redirect", x.filename);
        if (url != NULL && x.args != NULL) {
            int noescape =
                status == ACT_NOESCAPE || (x.oargs != NULL && strcmp(x.args, x.oargs) == 0);
            url = arena_printf(x.a, "%s?%s", url, noescape ? x.args : escape_uri(x.a, x.args));
        }
        int st = x.redirect_status >= 300 && x.redirect_status <= 399 ? x.redirect_status : 302;
        res->outcome = RW_REDIRECT;
        res->status = st;
        res->url = url;
        if (log_enabled(MOD_REWRITE, LL_TRACE1))
            log_msg(MOD_REWRITE, LL_TRACE1, 0, NULL, "redirect to %s [REDIRECT/%d]", url ? url : "",
                    st);
    } else {
        if (x.filename[0] != '/') {
            res->outcome = RW_STATUS;
            res->status = 400;
            goto done;
        }
        res->outcome = RW_LOCAL;
        res->uri = (char *)x.filename;
        res->query = (char *)x.args;
        if (log_enabled(MOD_REWRITE, LL_TRACE2))
            log_msg(MOD_REWRITE, LL_TRACE2, 0, NULL, "local path result: %s", x.filename);
    }
    if ((res->outcome == RW_PROXY || res->outcome == RW_REDIRECT) && res->url == NULL) {
        res->outcome = RW_STATUS;
        res->status = 500;
    }
    /* [P,NE] sends the path as the rules built it: a control character or space there
     * (a decoded %0d%0a in $1) would split the backend request (httpd: AH10415, 403). */
    if (res->outcome == RW_PROXY && res->nocanon && has_ctl_or_space(res->url)) {
        log_msg(MOD_REWRITE, LL_ERROR, 0, r->c ? r->c->client_addr : NULL,
                "To be forwarded path contains control characters or spaces");
        res->outcome = RW_STATUS;
        res->status = 403;
    }
done:
    if (unsafe_headers(&x))
        res->status = 500;
    r->srv = saved_srv;
    return 0;
}
