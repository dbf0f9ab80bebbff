/* mod_headers at request time, and the two small languages its directives carry: value
 * formats ("%D %t %{VAR}e") and the ap_expr subset of expr= conditions. Both are compiled at
 * load time (headers_conf.c calls the compilers below) and only evaluated here. */
#include <arpa/inet.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf_regex.h"
#include "conn.h"
#include "env.h"
#include "headers.h"
#include "route.h"
#include "tls.h"
#include "util.h"

#define NULL_VALUE "(null)" /* what httpd prints for an unset %{VAR}e */

/* ---- growing strings in an arena ---- */

struct sbuf {
    struct arena *a;
    char *p;
    size_t n, cap;
    int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom || n == 0)
        return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->n + n + 1)
            cap *= 2;
        char *p = arena_alloc(b->a, cap);
        if (p == NULL) {
            b->oom = 1;
            return;
        }
        if (b->n > 0)
            memcpy(p, b->p, b->n);
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
    b->p[b->n] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    if (s != NULL)
        sb_add(b, s, strlen(s));
}

/* The result; "" for an empty buffer, NULL when an allocation failed. */
static char *sb_done(struct sbuf *b)
{
    if (b->oom)
        return NULL;
    if (b->p == NULL)
        return arena_strdup(b->a, "");
    return b->p;
}

/* ---- regular expressions ---- */

void *headers_regex_compile(struct arena *a, const char *pattern, char *err, size_t errlen)
{
    return conf_regex_compile(a, pattern, 0, err, errlen);
}

#define MATCH_PAIRS 10 /* $0..$9, as httpd's AP_MAX_REG_MATCH */

/* One match block per process, made on first use: no allocation per request. */
static pcre2_match_data *match_data(void)
{
    static pcre2_match_data *md;
    if (md == NULL)
        md = pcre2_match_data_create(MATCH_PAIRS, NULL);
    return md;
}

/* Returns the number of valid pairs (>= 1) on a match, 0 on no match or error. */
static int re_match(const void *re, const char *s, size_t len, PCRE2_SIZE **ov)
{
    pcre2_match_data *md = match_data();
    if (md == NULL)
        return 0;
    int rc = pcre2_match(re, (PCRE2_SPTR)s, len, 0, 0, md, NULL);
    if (rc < 0)
        return 0;
    if (ov != NULL)
        *ov = pcre2_get_ovector_pointer(md);
    return rc == 0 ? MATCH_PAIRS : rc; /* 0: more groups than pairs, all pairs set */
}

/* ---- IP networks for -ipmatch ---- */

struct ipnet {
    int family;
    unsigned char addr[16];
    unsigned char mask[16];
};

static int parse_v4_octets(const char *s, unsigned char out[4], int *count)
{
    int n = 0;
    memset(out, 0, 4);
    while (*s != '\0') {
        if (n == 4 || *s < '0' || *s > '9')
            return -1;
        int v = 0, digits = 0;
        while (*s >= '0' && *s <= '9') {
            v = v * 10 + (*s++ - '0');
            if (++digits > 3 || v > 255)
                return -1;
        }
        out[n++] = (unsigned char)v;
        if (*s == '.') {
            s++;
            if (*s == '\0')
                return -1;
        } else if (*s != '\0') {
            return -1;
        }
    }
    *count = n;
    return n > 0 ? 0 : -1;
}

static void prefix_mask(unsigned char *mask, int bytes, long long bits)
{
    memset(mask, 0, (size_t)bytes);
    for (int i = 0; i < bytes && bits > 0; i++, bits -= 8)
        mask[i] = bits >= 8 ? 0xff : (unsigned char)(0xff << (8 - bits));
}

/* "10.1.2.3", "10.1" (the /16 httpd's Require ip and -ipmatch accept), "10.0.0.0/8",
 * "10.0.0.0/255.0.0.0", "2001:db8::/32". */
static int ipnet_parse(const char *text, struct ipnet *n)
{
    char buf[128];
    if (util_strlcpy(buf, text, sizeof(buf)) >= sizeof(buf))
        return -1;
    char *slash = strchr(buf, '/');
    if (slash != NULL)
        *slash++ = '\0';
    memset(n, 0, sizeof(*n));
    long long bits;
    if (strchr(buf, ':') != NULL) {
        n->family = AF_INET6;
        if (inet_pton(AF_INET6, buf, n->addr) != 1)
            return -1;
        bits = 128;
        if (slash != NULL && util_parse_ll(slash, 0, 128, &bits) < 0)
            return -1;
        prefix_mask(n->mask, 16, bits);
    } else {
        int count;
        n->family = AF_INET;
        if (parse_v4_octets(buf, n->addr, &count) < 0)
            return -1;
        if (slash == NULL) {
            prefix_mask(n->mask, 4, count * 8);
        } else if (strchr(slash, '.') != NULL) {
            int mc;
            if (count != 4 || parse_v4_octets(slash, n->mask, &mc) < 0 || mc != 4)
                return -1;
        } else {
            if (count != 4 || util_parse_ll(slash, 0, 32, &bits) < 0)
                return -1;
            prefix_mask(n->mask, 4, bits);
        }
    }
    for (int i = 0; i < 16; i++)
        n->addr[i] &= n->mask[i];
    return 0;
}

static int ipnet_match(const struct ipnet *n, const char *ip)
{
    unsigned char a[16];
    const unsigned char *cmp = a;
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ip == NULL)
        return 0;
    if (n->family == AF_INET) {
        if (inet_pton(AF_INET, ip, a) != 1) {
            /* an IPv4 client seen through an IPv6 socket: ::ffff:a.b.c.d */
            if (inet_pton(AF_INET6, ip, a) != 1 || memcmp(a, mapped, 12) != 0)
                return 0;
            cmp = a + 12;
        }
        for (int i = 0; i < 4; i++)
            if ((cmp[i] & n->mask[i]) != n->addr[i])
                return 0;
        return 1;
    }
    if (inet_pton(AF_INET6, ip, a) != 1) {
        unsigned char v4[4];
        if (inet_pton(AF_INET, ip, v4) != 1)
            return 0;
        memcpy(a, mapped, 12);
        memcpy(a + 12, v4, 4);
    }
    for (int i = 0; i < 16; i++)
        if ((a[i] & n->mask[i]) != n->addr[i])
            return 0;
    return 1;
}

/* ---- request/response header lookups ---- */

/* All occurrences joined with ", ", as httpd's headers_in table holds them; NULL if none. */
static const char *join_headers(struct arena *a, const struct http_header *h, int n,
                                const char *name)
{
    const char *first = NULL;
    struct sbuf b = {a, NULL, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (!util_strcaseeq(h[i].name, name))
            continue;
        if (first == NULL) {
            first = h[i].value;
            continue;
        }
        if (b.p == NULL)
            sb_str(&b, first);
        sb_add(&b, ", ", 2);
        sb_str(&b, h[i].value);
    }
    if (b.p != NULL)
        return sb_done(&b);
    return first;
}

static const char *req_header(struct request *r, const char *name)
{
    return join_headers(r->arena, r->h.headers, r->h.n_headers, name);
}

/* ---- expressions ---- */

enum xvar {
    V_REQUEST_URI,
    V_DOCUMENT_URI,
    V_REQUEST_METHOD,
    V_REQUEST_SCHEME,
    V_HTTPS,
    V_REMOTE_ADDR,
    V_CONN_REMOTE_ADDR,
    V_REMOTE_HOST,
    V_HTTP_HOST,
    V_HTTP_USER_AGENT,
    V_HTTP_REFERER,
    V_HTTP_COOKIE,
    V_HTTP_ACCEPT,
    V_HTTP_FORWARDED,
    V_HTTP_PROXY_CONNECTION,
    V_QUERY_STRING,
    V_THE_REQUEST,
    V_SERVER_PROTOCOL,
    V_SERVER_NAME,
    V_SERVER_PORT,
    V_SERVER_ADMIN,
    V_DOCUMENT_ROOT,
    V_REQUEST_STATUS,
    V_IPV6,
    V_REQUEST_FILENAME,
    V_HANDLER,
    V_CONTENT_TYPE,
    V_REMOTE_USER,
    V_PATH_INFO,
    V_IS_SUBREQ,
    V_HTTP2,
    V_CONTEXT_PREFIX,
    V_TIME,
    V_TIME_YEAR,
    V_TIME_MON,
    V_TIME_DAY,
    V_TIME_HOUR,
    V_TIME_MIN,
    V_TIME_SEC,
    V_TIME_WDAY,
    V_COUNT
};

static const char *const var_names[] = {
    "REQUEST_URI",
    "DOCUMENT_URI",
    "REQUEST_METHOD",
    "REQUEST_SCHEME",
    "HTTPS",
    "REMOTE_ADDR",
    "CONN_REMOTE_ADDR",
    "REMOTE_HOST",
    "HTTP_HOST",
    "HTTP_USER_AGENT",
    "HTTP_REFERER",
    "HTTP_COOKIE",
    "HTTP_ACCEPT",
    "HTTP_FORWARDED",
    "HTTP_PROXY_CONNECTION",
    "QUERY_STRING",
    "THE_REQUEST",
    "SERVER_PROTOCOL",
    "SERVER_NAME",
    "SERVER_PORT",
    "SERVER_ADMIN",
    "DOCUMENT_ROOT",
    "REQUEST_STATUS",
    "IPV6",
    "REQUEST_FILENAME",
    "HANDLER",
    "CONTENT_TYPE",
    "REMOTE_USER",
    "PATH_INFO",
    "IS_SUBREQ",
    "HTTP2",
    "CONTEXT_PREFIX",
    "TIME",
    "TIME_YEAR",
    "TIME_MON",
    "TIME_DAY",
    "TIME_HOUR",
    "TIME_MIN",
    "TIME_SEC",
    "TIME_WDAY",
};
_Static_assert(ARRAY_LEN(var_names) == V_COUNT, "one name per variable");

enum xfunc { F_REQ, F_HTTP, F_RESP, F_REQENV, F_ENV, F_OSENV, F_NOTE, F_TOLOWER, F_TOUPPER };

static const char *const func_names[] = {"req",   "http", "resp",    "reqenv", "env",
                                         "osenv", "note", "tolower", "toupper"};

enum xw_kind { XW_TEXT, XW_VAR, XW_FUNC };

/* A word is a list of parts whose values are concatenated. */
struct xword {
    enum xw_kind kind;
    char *text;        /* XW_TEXT */
    int id;            /* enum xvar or enum xfunc */
    struct xword *arg; /* XW_FUNC */
    struct xword *next;
};

enum xn_kind {
    XN_TRUE,
    XN_FALSE,
    XN_NOT,
    XN_AND,
    XN_OR,
    XN_STRCMP,  /* op: CMP_* */
    XN_INTCMP,  /* op: CMP_* */
    XN_REGEX,   /* op: 1 for !~ */
    XN_IPMATCH, /* l -ipmatch r */
    XN_FNMATCH, /* op: fnmatch flags */
    XN_IN,
    XN_EMPTY,   /* -z */
    XN_NONEMPTY /* -n */
};

enum { CMP_EQ, CMP_NE, CMP_LT, CMP_LE, CMP_GT, CMP_GE };

struct xnode {
    enum xn_kind kind;
    int op;
    struct xnode *a, *b;
    struct xword *l, *r;
    struct xword **list;
    int n_list;
    pcre2_code *re;
    struct ipnet net;
    int net_const; /* net was parsed at load time */
};

struct headers_expr {
    struct xnode *root; /* condition */
    struct xword *str;  /* string expression */
};

struct xparser {
    struct arena *a;
    const char *s;
    size_t i;
    char *err;
    size_t errlen;
    int failed;
};

static void xp_fail(struct xparser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void xp_fail(struct xparser *p, const char *fmt, ...)
{
    if (p->failed)
        return;
    p->failed = 1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, p->errlen, fmt, ap);
    va_end(ap);
}

static void xp_syntax(struct xparser *p)
{
    if (p->s[p->i] == '\0')
        xp_fail(p, "syntax error, unexpected end of expression");
    else
        xp_fail(p, "syntax error at '%.20s'", p->s + p->i);
}

static void xp_ws(struct xparser *p)
{
    while (p->s[p->i] == ' ' || p->s[p->i] == '\t')
        p->i++;
}

static int xp_accept(struct xparser *p, const char *tok)
{
    xp_ws(p);
    size_t n = strlen(tok);
    if (strncmp(p->s + p->i, tok, n) != 0)
        return 0;
    p->i += n;
    return 1;
}

static int is_ident(char c, int first)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           (!first && c >= '0' && c <= '9');
}

/* The bare keyword at the cursor (true, false, in), without consuming it unless it matches
 * as a whole word. */
static int xp_keyword(struct xparser *p, const char *kw)
{
    xp_ws(p);
    size_t n = strlen(kw);
    if (strncmp(p->s + p->i, kw, n) != 0 || is_ident(p->s[p->i + n], 0) || p->s[p->i + n] == '(')
        return 0;
    p->i += n;
    return 1;
}

static void *xp_alloc(struct xparser *p, size_t n)
{
    void *m = arena_calloc(p->a, 1, n);
    if (m == NULL)
        xp_fail(p, "out of memory");
    return m;
}

static struct xword *xw_text(struct xparser *p, const char *s, size_t n)
{
    struct xword *w = xp_alloc(p, sizeof(*w));
    if (w != NULL) {
        w->kind = XW_TEXT;
        w->text = arena_strndup(p->a, s, n);
    }
    return w;
}

static int lookup_name(const char *const *names, int count, const char *s, size_t n)
{
    for (int i = 0; i < count; i++)
        if (strlen(names[i]) == n && util_strncaseeq(names[i], s, n))
            return i;
    return -1;
}

/* "%{NAME}" or "%{func:arg}" with the cursor just after "%{". */
static struct xword *xp_variable(struct xparser *p)
{
    const char *start = p->s + p->i;
    const char *end = strchr(start, '}');
    if (end == NULL) {
        xp_fail(p, "missing '}' after '%%{%.20s'", start);
        return NULL;
    }
    p->i += (size_t)(end - start) + 1;
    const char *colon = memchr(start, ':', (size_t)(end - start));
    struct xword *w = xp_alloc(p, sizeof(*w));
    if (w == NULL)
        return NULL;
    if (colon != NULL) {
        w->kind = XW_FUNC;
        w->id = lookup_name(func_names, (int)ARRAY_LEN(func_names), start, (size_t)(colon - start));
        if (w->id < 0) {
            xp_fail(p, "Function '%.*s' does not exist", (int)(colon - start), start);
            return NULL;
        }
        w->arg = xw_text(p, colon + 1, (size_t)(end - colon - 1));
        return w;
    }
    w->kind = XW_VAR;
    w->id = lookup_name(var_names, V_COUNT, start, (size_t)(end - start));
    if (w->id < 0) {
        xp_fail(p, "Variable '%.*s' does not exist", (int)(end - start), start);
        return NULL;
    }
    return w;
}

/* Text up to `quote` (or the end when quote is 0) with %{...} interpolation; backslash
 * makes the next character literal. */
static struct xword *xp_string(struct xparser *p, char quote)
{
    struct xword *head = NULL, **tail = &head;
    struct sbuf lit = {p->a, NULL, 0, 0, 0};
    for (;;) {
        char c = p->s[p->i];
        int end = quote ? c == quote : c == '\0';
        if (c == '\0' && quote) {
            xp_fail(p, "unterminated string");
            return NULL;
        }
        if (end || (c == '%' && p->s[p->i + 1] == '{')) {
            if (lit.n > 0 || (end && head == NULL)) {
                *tail = xw_text(p, lit.p ? lit.p : "", lit.n);
                if (*tail == NULL)
                    return NULL;
                tail = &(*tail)->next;
                lit = (struct sbuf){p->a, NULL, 0, 0, 0};
            }
            if (end) {
                if (quote)
                    p->i++;
                return head;
            }
            p->i += 2;
            *tail = xp_variable(p);
            if (*tail == NULL)
                return NULL;
            tail = &(*tail)->next;
            continue;
        }
        if (c == '\\' && p->s[p->i + 1] != '\0')
            c = p->s[++p->i];
        sb_add(&lit, &c, 1);
        p->i++;
    }
}

static struct xword *xp_word(struct xparser *p);

static struct xword *xp_word1(struct xparser *p)
{
    xp_ws(p);
    const char *s = p->s + p->i;
    if (*s == '\'' || *s == '"') {
        p->i++;
        return xp_string(p, *s);
    }
    if (s[0] == '%' && s[1] == '{') {
        p->i += 2;
        return xp_variable(p);
    }
    if (*s >= '0' && *s <= '9') {
        size_t n = 0;
        while (s[n] >= '0' && s[n] <= '9')
            n++;
        p->i += n;
        return xw_text(p, s, n);
    }
    if (is_ident(*s, 1)) {
        size_t n = 0;
        while (is_ident(s[n], 0))
            n++;
        size_t j = n;
        while (s[j] == ' ' || s[j] == '\t')
            j++;
        if (s[j] != '(') {
            xp_syntax(p);
            return NULL;
        }
        int id = lookup_name(func_names, (int)ARRAY_LEN(func_names), s, n);
        if (id < 0) {
            xp_fail(p, "Function '%.*s' does not exist", (int)n, s);
            return NULL;
        }
        p->i += j + 1;
        struct xword *w = xp_alloc(p, sizeof(*w));
        if (w == NULL)
            return NULL;
        w->kind = XW_FUNC;
        w->id = id;
        w->arg = xp_word(p);
        if (w->arg == NULL)
            return NULL;
        if (!xp_accept(p, ")")) {
            xp_syntax(p);
            return NULL;
        }
        return w;
    }
    xp_syntax(p);
    return NULL;
}

/* word ('.' word)*: the dot concatenates. */
static struct xword *xp_word(struct xparser *p)
{
    struct xword *head = xp_word1(p);
    while (head != NULL && xp_accept(p, ".")) {
        struct xword *more = xp_word1(p);
        if (more == NULL)
            return NULL;
        struct xword *t = head;
        while (t->next != NULL)
            t = t->next;
        t->next = more;
    }
    return head;
}

static int word_is_const(const struct xword *w)
{
    for (; w != NULL; w = w->next)
        if (w->kind != XW_TEXT)
            return 0;
    return 1;
}

/* "/re/flags" or "m#re#flags". */
static pcre2_code *xp_regex(struct xparser *p)
{
    xp_ws(p);
    char delim = p->s[p->i];
    if (delim == 'm' && p->s[p->i + 1] != '\0') {
        p->i++;
        delim = p->s[p->i];
    } else if (delim != '/') {
        xp_fail(p, "expected a regular expression (/.../) at '%.20s'", p->s + p->i);
        return NULL;
    }
    p->i++;
    struct sbuf b = {p->a, NULL, 0, 0, 0};
    for (;;) {
        char c = p->s[p->i];
        if (c == '\0') {
            xp_fail(p, "unterminated regular expression");
            return NULL;
        }
        p->i++;
        if (c == delim)
            break;
        if (c == '\\' && p->s[p->i] == delim) {
            c = delim;
            p->i++;
        } else if (c == '\\' && p->s[p->i] != '\0') {
            sb_add(&b, &c, 1);
            c = p->s[p->i++];
        }
        sb_add(&b, &c, 1);
    }
    uint32_t opts = 0;
    while (p->s[p->i] == 'i') {
        opts |= PCRE2_CASELESS;
        p->i++;
    }
    const char *src = sb_done(&b);
    if (src == NULL) {
        xp_fail(p, "out of memory");
        return NULL;
    }
    char err[200];
    pcre2_code *re = conf_regex_compile(p->a, src, opts, err, sizeof(err));
    if (re == NULL) {
        xp_fail(p, "Failed to compile regular expression '%s': %s", src, err);
        return NULL;
    }
    return re;
}

static struct xnode *xp_node(struct xparser *p, enum xn_kind kind)
{
    struct xnode *n = xp_alloc(p, sizeof(*n));
    if (n != NULL)
        n->kind = kind;
    return n;
}

/* "-name" operator at the cursor; returns its length (0 when none). */
static size_t dash_op(const char *s)
{
    if (s[0] != '-' || !is_ident(s[1], 1))
        return 0;
    size_t n = 1;
    while (is_ident(s[n], 0))
        n++;
    return n;
}

static struct xnode *xp_or(struct xparser *p);

static struct xnode *xp_compare(struct xparser *p, struct xword *l)
{
    static const struct {
        const char *tok;
        enum xn_kind kind;
        int op;
    } ops[] = {
        /* longest first */
        {"==", XN_STRCMP, CMP_EQ},
        {"=~", XN_REGEX, 0},
        {"!=", XN_STRCMP, CMP_NE},
        {"!~", XN_REGEX, 1},
        {"<=", XN_STRCMP, CMP_LE},
        {">=", XN_STRCMP, CMP_GE},
        {"=", XN_STRCMP, CMP_EQ},
        {"<", XN_STRCMP, CMP_LT},
        {">", XN_STRCMP, CMP_GT},
        {"-eq", XN_INTCMP, CMP_EQ},
        {"-ne", XN_INTCMP, CMP_NE},
        {"-lt", XN_INTCMP, CMP_LT},
        {"-le", XN_INTCMP, CMP_LE},
        {"-gt", XN_INTCMP, CMP_GT},
        {"-ge", XN_INTCMP, CMP_GE},
        {"-ipmatch", XN_IPMATCH, 0},
        {"-strmatch", XN_FNMATCH, 0},
        {"-strcmatch", XN_FNMATCH, FNM_CASEFOLD},
        {"-fnmatch", XN_FNMATCH, FNM_PATHNAME},
    };
    xp_ws(p);
    const char *s = p->s + p->i;
    if (xp_keyword(p, "in")) {
        struct xnode *n = xp_node(p, XN_IN);
        if (n == NULL)
            return NULL;
        n->l = l;
        if (!xp_accept(p, "{")) {
            xp_syntax(p);
            return NULL;
        }
        int cap = 0;
        do {
            struct xword *w = xp_word(p);
            if (w == NULL)
                return NULL;
            if (n->n_list == cap) {
                cap = cap ? cap * 2 : 4;
                struct xword **nl = xp_alloc(p, sizeof(*nl) * (size_t)cap);
                if (nl == NULL)
                    return NULL;
                if (n->n_list > 0)
                    memcpy(nl, n->list, sizeof(*nl) * (size_t)n->n_list);
                n->list = nl;
            }
            n->list[n->n_list++] = w;
        } while (xp_accept(p, ","));
        if (!xp_accept(p, "}")) {
            xp_syntax(p);
            return NULL;
        }
        return n;
    }
    size_t dl = dash_op(s);
    for (size_t k = 0; k < ARRAY_LEN(ops); k++) {
        size_t tl = strlen(ops[k].tok);
        if (ops[k].tok[0] == '-' ? dl != tl || strncmp(s, ops[k].tok, tl) != 0
                                 : strncmp(s, ops[k].tok, tl) != 0)
            continue;
        p->i += tl;
        struct xnode *n = xp_node(p, ops[k].kind);
        if (n == NULL)
            return NULL;
        n->op = ops[k].op;
        n->l = l;
        if (n->kind == XN_REGEX) {
            n->re = xp_regex(p);
            return n->re ? n : NULL;
        }
        n->r = xp_word(p);
        if (n->r == NULL)
            return NULL;
        if (n->kind == XN_IPMATCH && word_is_const(n->r)) {
            struct sbuf b = {p->a, NULL, 0, 0, 0};
            for (const struct xword *w = n->r; w != NULL; w = w->next)
                sb_str(&b, w->text);
            const char *net = sb_done(&b);
            if (net == NULL || ipnet_parse(net, &n->net) < 0) {
                xp_fail(p, "parsing of subnet/netmask failed: '%s'", net ? net : "");
                return NULL;
            }
            n->net_const = 1;
        }
        return n;
    }
    if (dl > 0)
        xp_fail(p, "unsupported operator '%.*s'", (int)dl, s);
    else
        xp_syntax(p);
    return NULL;
}

static struct xnode *xp_primary(struct xparser *p)
{
    xp_ws(p);
    if (xp_accept(p, "(")) {
        struct xnode *n = xp_or(p);
        if (n != NULL && !xp_accept(p, ")")) {
            xp_syntax(p);
            return NULL;
        }
        return n;
    }
    if (xp_keyword(p, "true"))
        return xp_node(p, XN_TRUE);
    if (xp_keyword(p, "false"))
        return xp_node(p, XN_FALSE);
    const char *s = p->s + p->i;
    size_t dl = dash_op(s);
    if (dl > 0) {
        enum xn_kind kind;
        if (dl == 2 && s[1] == 'n')
            kind = XN_NONEMPTY;
        else if (dl == 2 && s[1] == 'z')
            kind = XN_EMPTY;
        else if (dl == 2 && s[1] == 'R')
            kind = XN_IPMATCH;
        else {
            xp_fail(p, "unsupported operator '%.*s'", (int)dl, s);
            return NULL;
        }
        p->i += dl;
        struct xnode *n = xp_node(p, kind);
        if (n == NULL)
            return NULL;
        if (kind == XN_IPMATCH) { /* -R 'net': REMOTE_ADDR -ipmatch 'net' */
            struct xword *ra = xp_alloc(p, sizeof(*ra));
            if (ra == NULL)
                return NULL;
            ra->kind = XW_VAR;
            ra->id = V_REMOTE_ADDR;
            n->l = ra;
            n->r = xp_word(p);
            if (n->r == NULL)
                return NULL;
            if (word_is_const(n->r)) {
                if (ipnet_parse(n->r->text ? n->r->text : "", &n->net) < 0 || n->r->next != NULL) {
                    xp_fail(p, "parsing of subnet/netmask failed: '%s'",
                            n->r->text ? n->r->text : "");
                    return NULL;
                }
                n->net_const = 1;
            }
            return n;
        }
        n->l = xp_word(p);
        return n->l ? n : NULL;
    }
    struct xword *l = xp_word(p);
    if (l == NULL)
        return NULL;
    return xp_compare(p, l);
}

static struct xnode *xp_not(struct xparser *p)
{
    xp_ws(p);
    if (p->s[p->i] == '!' && p->s[p->i + 1] != '=' && p->s[p->i + 1] != '~') {
        p->i++;
        struct xnode *n = xp_node(p, XN_NOT);
        if (n == NULL || (n->a = xp_not(p)) == NULL)
            return NULL;
        return n;
    }
    return xp_primary(p);
}

static struct xnode *xp_and(struct xparser *p)
{
    struct xnode *a = xp_not(p);
    while (a != NULL && xp_accept(p, "&&")) {
        struct xnode *n = xp_node(p, XN_AND);
        if (n == NULL)
            return NULL;
        n->a = a;
        if ((n->b = xp_not(p)) == NULL)
            return NULL;
        a = n;
    }
    return a;
}

static struct xnode *xp_or(struct xparser *p)
{
    struct xnode *a = xp_and(p);
    while (a != NULL && xp_accept(p, "||")) {
        struct xnode *n = xp_node(p, XN_OR);
        if (n == NULL)
            return NULL;
        n->a = a;
        if ((n->b = xp_and(p)) == NULL)
            return NULL;
        a = n;
    }
    return a;
}

struct headers_expr *headers_expr_parse(struct arena *a, const char *text, int string_mode,
                                        char *err, size_t errlen)
{
    struct xparser p = {a, text, 0, err, errlen, 0};
    struct headers_expr *e = xp_alloc(&p, sizeof(*e));
    if (e == NULL)
        return NULL;
    if (string_mode) {
        e->str = xp_string(&p, 0);
    } else {
        e->root = xp_or(&p);
        xp_ws(&p);
        if (e->root != NULL && p.s[p.i] != '\0')
            xp_syntax(&p);
    }
    return p.failed ? NULL : e;
}

/* ---- expression evaluation ---- */

struct xctx {
    struct request *r;
    int status;
    const struct http_header *resp;
    int n_resp;
};

static const char *nz(const char *s)
{
    return s != NULL ? s : "";
}

static char *xw_eval(const struct xword *w, const struct xctx *x);

static const char *time_var(struct request *r, int id)
{
    time_t t = r->start.tv_sec != 0 ? r->start.tv_sec : time(NULL);
    struct tm tm;
    localtime_r(&t, &tm);
    switch (id) {
    case V_TIME:
        return arena_printf(r->arena, "%04d%02d%02d%02d%02d%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                            tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    case V_TIME_YEAR:
        return arena_printf(r->arena, "%04d", tm.tm_year + 1900);
    case V_TIME_MON:
        return arena_printf(r->arena, "%02d", tm.tm_mon + 1);
    case V_TIME_DAY:
        return arena_printf(r->arena, "%02d", tm.tm_mday);
    case V_TIME_HOUR:
        return arena_printf(r->arena, "%02d", tm.tm_hour);
    case V_TIME_MIN:
        return arena_printf(r->arena, "%02d", tm.tm_min);
    case V_TIME_SEC:
        return arena_printf(r->arena, "%02d", tm.tm_sec);
    default:
        return arena_printf(r->arena, "%d", tm.tm_wday);
    }
}

static int is_https(const struct request *r)
{
    return r->c != NULL && r->c->listener != NULL && r->c->listener->protocol != NULL &&
           strcmp(r->c->listener->protocol, "https") == 0;
}

static const char *var_value(int id, const struct xctx *x)
{
    struct request *r = x->r;
    const struct conn *c = r->c;
    switch ((enum xvar)id) {
    case V_REQUEST_URI:
    case V_DOCUMENT_URI:
        return r->path != NULL ? r->path : r->h.path;
    case V_REQUEST_METHOD:
        return r->h.method;
    case V_REQUEST_SCHEME:
        return is_https(r) ? "https" : "http";
    case V_HTTPS:
        return is_https(r) ? "on" : "off";
    case V_REMOTE_ADDR:
    case V_CONN_REMOTE_ADDR:
    case V_REMOTE_HOST:
        return c != NULL ? c->client_ip : NULL;
    case V_HTTP_HOST:
        return req_header(r, "Host");
    case V_HTTP_USER_AGENT:
        return req_header(r, "User-Agent");
    case V_HTTP_REFERER:
        return req_header(r, "Referer");
    case V_HTTP_COOKIE:
        return req_header(r, "Cookie");
    case V_HTTP_ACCEPT:
        return req_header(r, "Accept");
    case V_HTTP_FORWARDED:
        return req_header(r, "Forwarded");
    case V_HTTP_PROXY_CONNECTION:
        return req_header(r, "Proxy-Connection");
    case V_QUERY_STRING:
        return r->h.query;
    case V_THE_REQUEST:
        return r->h.request_line;
    case V_SERVER_PROTOCOL:
        return r->h.protocol;
    case V_SERVER_NAME:
        return r->srv != NULL && r->srv->server_name != NULL ? r->srv->server_name : r->h.host;
    case V_SERVER_PORT:
        if (r->srv != NULL && r->srv->server_port > 0)
            return arena_printf(r->arena, "%d", r->srv->server_port);
        return c != NULL ? arena_printf(r->arena, "%d", c->local_port) : NULL;
    case V_SERVER_ADMIN:
        return r->srv != NULL ? r->srv->server_admin : NULL;
    case V_DOCUMENT_ROOT:
        return r->srv != NULL ? r->srv->document_root : NULL;
    case V_REQUEST_STATUS:
        return arena_printf(r->arena, "%d", x->status ? x->status : r->status);
    case V_IPV6:
        return c != NULL && strchr(c->client_ip, ':') != NULL ? "on" : "off";
    case V_REQUEST_FILENAME:
        return r->filename;
    case V_HANDLER:
        return r->handler;
    case V_CONTENT_TYPE:
        return join_headers(r->arena, x->resp, x->n_resp, "Content-Type");
    case V_IS_SUBREQ:
        return "false";
    case V_HTTP2:
        return "off";
    case V_REMOTE_USER:
    case V_PATH_INFO:
    case V_CONTEXT_PREFIX:
        return NULL;
    case V_TIME:
    case V_TIME_YEAR:
    case V_TIME_MON:
    case V_TIME_DAY:
    case V_TIME_HOUR:
    case V_TIME_MIN:
    case V_TIME_SEC:
    case V_TIME_WDAY:
        return time_var(r, id);
    case V_COUNT:
        break;
    }
    return NULL;
}

static const char *func_value(int id, const char *arg, const struct xctx *x)
{
    struct request *r = x->r;
    switch ((enum xfunc)id) {
    case F_REQ:
    case F_HTTP:
        return req_header(r, arg);
    case F_RESP:
        return join_headers(r->arena, x->resp, x->n_resp, arg);
    case F_REQENV:
        return env_get(r, arg);
    case F_ENV: {
        const char *v = env_get(r, arg);
        return v != NULL ? v : getenv(arg);
    }
    case F_OSENV:
        return getenv(arg);
    case F_NOTE:
        return NULL;
    case F_TOLOWER:
    case F_TOUPPER: {
        char *s = arena_strdup(r->arena, arg);
        for (char *q = s; q != NULL && *q; q++) {
            if (id == F_TOLOWER && *q >= 'A' && *q <= 'Z')
                *q = (char)(*q + 32);
            else if (id == F_TOUPPER && *q >= 'a' && *q <= 'z')
                *q = (char)(*q - 32);
        }
        return s;
    }
    }
    return NULL;
}

static char *xw_eval(const struct xword *w, const struct xctx *x)
{
    if (w != NULL && w->next == NULL && w->kind == XW_TEXT)
        return w->text;
    struct sbuf b = {x->r->arena, NULL, 0, 0, 0};
    for (; w != NULL; w = w->next) {
        switch (w->kind) {
        case XW_TEXT:
            sb_str(&b, w->text);
            break;
        case XW_VAR:
            sb_str(&b, var_value(w->id, x));
            break;
        case XW_FUNC: {
            const char *arg = xw_eval(w->arg, x);
            if (arg != NULL)
                sb_str(&b, func_value(w->id, arg, x));
            break;
        }
        }
    }
    return sb_done(&b);
}

static int cmp_result(int c, int op)
{
    switch (op) {
    case CMP_EQ:
        return c == 0;
    case CMP_NE:
        return c != 0;
    case CMP_LT:
        return c < 0;
    case CMP_LE:
        return c <= 0;
    case CMP_GT:
        return c > 0;
    default:
        return c >= 0;
    }
}

static int xn_eval(const struct xnode *n, const struct xctx *x)
{
    switch (n->kind) {
    case XN_TRUE:
        return 1;
    case XN_FALSE:
        return 0;
    case XN_NOT:
        return !xn_eval(n->a, x);
    case XN_AND:
        return xn_eval(n->a, x) && xn_eval(n->b, x);
    case XN_OR:
        return xn_eval(n->a, x) || xn_eval(n->b, x);
    case XN_EMPTY:
        return nz(xw_eval(n->l, x))[0] == '\0';
    case XN_NONEMPTY:
        return nz(xw_eval(n->l, x))[0] != '\0';
    case XN_STRCMP:
        return cmp_result(strcmp(nz(xw_eval(n->l, x)), nz(xw_eval(n->r, x))), n->op);
    case XN_INTCMP: {
        long long a, b;
        /* httpd logs "Not a number" and treats the comparison as false */
        if (util_parse_ll(nz(xw_eval(n->l, x)), -0x7fffffffffffffffLL, 0x7fffffffffffffffLL, &a) <
                0 ||
            util_parse_ll(nz(xw_eval(n->r, x)), -0x7fffffffffffffffLL, 0x7fffffffffffffffLL, &b) <
                0)
            return 0;
        return cmp_result(a < b ? -1 : a > b, n->op);
    }
    case XN_REGEX: {
        const char *s = nz(xw_eval(n->l, x));
        int m = re_match(n->re, s, strlen(s), NULL) > 0;
        return n->op ? !m : m;
    }
    case XN_IPMATCH: {
        struct ipnet net = n->net;
        if (!n->net_const && ipnet_parse(nz(xw_eval(n->r, x)), &net) < 0)
            return 0;
        return ipnet_match(&net, xw_eval(n->l, x));
    }
    case XN_FNMATCH:
        return fnmatch(nz(xw_eval(n->r, x)), nz(xw_eval(n->l, x)), n->op) == 0;
    case XN_IN: {
        const char *s = nz(xw_eval(n->l, x));
        for (int i = 0; i < n->n_list; i++)
            if (strcmp(s, nz(xw_eval(n->list[i], x))) == 0)
                return 1;
        return 0;
    }
    }
    return 0;
}

int headers_expr_eval(const struct headers_expr *e, struct request *r, int status,
                      const struct http_header *resp, int n_resp)
{
    struct xctx x = {r, status, resp, n_resp};
    if (e == NULL || e->root == NULL)
        return 0;
    return xn_eval(e->root, &x);
}

char *headers_expr_string(const struct headers_expr *e, struct request *r, int status,
                          const struct http_header *resp, int n_resp)
{
    struct xctx x = {r, status, resp, n_resp};
    if (e == NULL || e->str == NULL)
        return arena_strdup(r->arena, "");
    return xw_eval(e->str, &x);
}

/* ---- value formats ---- */

int headers_fmt_compile(struct arena *a, const char *text, struct headers_fmt **out, int *n,
                        char *err, size_t errlen)
{
    size_t cap = 4;
    int count = 0;
    struct headers_fmt *v = arena_calloc(a, cap, sizeof(*v));
    if (v == NULL)
        goto oom;
    if (strncmp(text, "expr=", 5) == 0) {
        v[0].kind = HFMT_EXPR;
        v[0].expr = headers_expr_parse(a, text + 5, 1, err, errlen);
        if (v[0].expr == NULL)
            return -1;
        *out = v;
        *n = 1;
        return 0;
    }
    const char *s = text;
    while (*s != '\0') {
        if ((size_t)count == cap) {
            struct headers_fmt *nv = arena_calloc(a, cap * 2, sizeof(*nv));
            if (nv == NULL)
                goto oom;
            memcpy(nv, v, sizeof(*v) * cap);
            v = nv;
            cap *= 2;
        }
        struct headers_fmt *f = &v[count];
        if (*s != '%') {
            /* literal up to the next '%', with httpd's backslash escapes */
            struct sbuf b = {a, NULL, 0, 0, 0};
            while (*s != '\0' && *s != '%') {
                char c = *s++;
                if (c == '\\') {
                    switch (*s) {
                    case '\\':
                        c = '\\';
                        s++;
                        break;
                    case 'r':
                        c = '\r';
                        s++;
                        break;
                    case 'n':
                        c = '\n';
                        s++;
                        break;
                    case 't':
                        c = '\t';
                        s++;
                        break;
                    default:
                        break; /* kept verbatim */
                    }
                }
                sb_add(&b, &c, 1);
            }
            f->kind = HFMT_TEXT;
            if ((f->arg = sb_done(&b)) == NULL)
                goto oom;
            count++;
            continue;
        }
        s++;
        if (*s == '%' || *s == '\0') {
            f->kind = HFMT_TEXT;
            f->arg = "%";
            if (*s)
                s++;
            count++;
            continue;
        }
        const char *arg = NULL;
        size_t arg_len = 0;
        if (*s == '{') {
            const char *close = strchr(s + 1, '}');
            if (close == NULL) {
                snprintf(err, errlen, "missing '}' in format '%s'", text);
                return -1;
            }
            arg = s + 1;
            arg_len = (size_t)(close - arg);
            s = close + 1;
        }
        char tag = *s;
        switch (tag) {
        case 't':
            f->kind = HFMT_TIME;
            break;
        case 'D':
            f->kind = HFMT_DURATION;
            break;
        case 'e':
            f->kind = HFMT_ENV;
            break;
        case 'i':
            f->kind = HFMT_REQHDR;
            break;
        case 's':
            f->kind = HFMT_SSL;
            break;
        case 'l':
        case 'b':
            snprintf(err, errlen, "%%%c (server load and busy figures) is not supported by portico",
                     tag);
            return -1;
        case '\0':
            snprintf(err, errlen, "Unrecognized header format %% at the end of '%s'", text);
            return -1;
        default:
            snprintf(err, errlen, "Unrecognized header format %%%c", tag);
            return -1;
        }
        if ((tag == 'e' || tag == 'i' || tag == 's') && (arg == NULL || arg_len == 0)) {
            if (tag == 'i')
                snprintf(err, errlen,
                         "%%i (server idle percentage) is not supported by portico; "
                         "%%{Name}i gives a request header");
            else
                snprintf(err, errlen, "%%%c needs a name: %%{NAME}%c", tag, tag);
            return -1;
        }
        s++;
        if (arg != NULL && (f->arg = arena_strndup(a, arg, arg_len)) == NULL)
            goto oom;
        count++;
    }
    *out = v;
    *n = count;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

static int64_t now_us(clockid_t clk)
{
    struct timespec ts;
    clock_gettime(clk, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* CR and LF would split the header (httpd turns them into spaces for %{VAR}e; a portico
 * value never carries them). */
static void unwrap(char *s)
{
    for (; s != NULL && *s; s++)
        if (*s == '\r' || *s == '\n')
            *s = ' ';
}

static char *fmt_eval(const struct headers_fmt *f, int n, const struct xctx *x)
{
    struct request *r = x->r;
    struct sbuf b = {r->arena, NULL, 0, 0, 0};
    char num[48];
    for (int i = 0; i < n; i++) {
        switch (f[i].kind) {
        case HFMT_TEXT:
            sb_str(&b, f[i].arg);
            break;
        case HFMT_TIME: {
            int64_t t = r->start.tv_sec != 0
                            ? (int64_t)r->start.tv_sec * 1000000 + r->start.tv_nsec / 1000
                            : now_us(CLOCK_REALTIME);
            snprintf(num, sizeof(num), "t=%lld", (long long)t);
            sb_str(&b, num);
            break;
        }
        case HFMT_DURATION: {
            int64_t d = now_us(CLOCK_MONOTONIC) - r->start_mono_us;
            snprintf(num, sizeof(num), "D=%lld", (long long)(d > 0 ? d : 0));
            sb_str(&b, num);
            break;
        }
        case HFMT_ENV: {
            const char *v = env_get(r, f[i].arg);
            sb_str(&b, v != NULL ? v : NULL_VALUE);
            break;
        }
        case HFMT_REQHDR: {
            const char *v = req_header(r, f[i].arg);
            sb_str(&b, v != NULL ? v : NULL_VALUE);
            break;
        }
        case HFMT_SSL: { /* mod_ssl variable (added for TLS, issue 8) */
            const char *v = tls_var(r->c != NULL ? r->c->tls : NULL, f[i].arg, r->arena);
            sb_str(&b, v != NULL ? v : NULL_VALUE);
            break;
        }
        case HFMT_EXPR:
            sb_str(&b, headers_expr_string(f[i].expr, r, x->status, x->resp, x->n_resp));
            break;
        }
    }
    char *out = sb_done(&b);
    unwrap(out);
    return out;
}

/* ---- header lists ---- */

struct hlist {
    struct arena *a;
    struct http_header *v;
    int n, cap;
    int owned; /* v is our arena copy */
    int changed;
};

static int hl_own(struct hlist *l, int extra)
{
    if (l->owned && l->n + extra <= l->cap)
        return 0;
    int cap = l->cap > 0 ? l->cap * 2 : 8;
    while (cap < l->n + extra)
        cap *= 2;
    struct http_header *v = arena_alloc(l->a, sizeof(*v) * (size_t)cap);
    if (v == NULL)
        return -1;
    if (l->n > 0)
        memcpy(v, l->v, sizeof(*v) * (size_t)l->n);
    l->v = v;
    l->cap = cap;
    l->owned = 1;
    return 0;
}

static int hl_find(const struct hlist *l, const char *name, int from)
{
    for (int i = from; i < l->n; i++)
        if (util_strcaseeq(l->v[i].name, name))
            return i;
    return -1;
}

static int hl_add(struct hlist *l, const char *name, char *value)
{
    if (value == NULL || hl_own(l, 1) < 0)
        return -1;
    char *nm = arena_strdup(l->a, name);
    if (nm == NULL)
        return -1;
    struct http_header *h = &l->v[l->n++];
    h->name = nm;
    h->name_len = strlen(nm);
    h->value = value;
    h->value_len = strlen(value);
    l->changed = 1;
    return 0;
}

static int hl_set_value(struct hlist *l, int i, char *value)
{
    if (value == NULL || hl_own(l, 0) < 0)
        return -1;
    l->v[i].value = value;
    l->v[i].value_len = strlen(value);
    l->changed = 1;
    return 0;
}

static int hl_remove_from(struct hlist *l, const char *name, int from)
{
    if (hl_find(l, name, from) < 0)
        return 0;
    if (hl_own(l, 0) < 0)
        return -1;
    int o = from;
    for (int i = from; i < l->n; i++)
        if (!util_strcaseeq(l->v[i].name, name))
            l->v[o++] = l->v[i];
    l->n = o;
    l->changed = 1;
    return 0;
}

/* httpd's merge test: is `val` already one of the comma-separated tokens of `cur`
 * (double-quoted strings kept whole, compared case-sensitively)? */
static int has_token(const char *cur, const char *val)
{
    size_t vlen = strlen(val);
    while (*cur) {
        while (*cur == ' ' || *cur == '\t')
            cur++;
        const char *start = cur;
        while (*cur && *cur != ',') {
            if (*cur++ == '"')
                while (*cur)
                    if (*cur++ == '"')
                        break;
        }
        if ((size_t)(cur - start) == vlen && strncmp(start, val, vlen) == 0)
            return 1;
        if (*cur)
            cur++;
    }
    return 0;
}

/* ap_pregsub as httpd 2.4 has it: $0..$9 are the match and its groups ('&' is an ordinary
 * character there), a backslash quotes the next character. */
static void pregsub(struct sbuf *b, const char *tmpl, const char *subj, const PCRE2_SIZE *ov,
                    int pairs)
{
    for (const char *t = tmpl; *t;) {
        char c = *t++;
        int no = -1;
        if (c == '$' && *t >= '0' && *t <= '9')
            no = *t++ - '0';
        if (no < 0) {
            if (c == '\\' && *t)
                c = *t++;
            sb_add(b, &c, 1);
        } else if (no < pairs && ov[2 * no] != PCRE2_UNSET && ov[2 * no] < ov[2 * no + 1]) {
            sb_add(b, subj + ov[2 * no], ov[2 * no + 1] - ov[2 * no]);
        }
    }
}

/* httpd's process_regexp: edit replaces the first match; edit* goes on in the remainder,
 * which is matched as a new subject (so ^ matches again there, as in httpd). An empty match
 * moves one character on instead of looping. */
static char *regex_edit(struct arena *a, const void *re, const char *tmpl, const char *value,
                        int all)
{
    struct sbuf b = {a, NULL, 0, 0, 0};
    const char *s = value;
    size_t len = strlen(value);
    int edited = 0;
    while (1) {
        PCRE2_SIZE *ov;
        int pairs = re_match(re, s, len, &ov);
        if (pairs == 0)
            break;
        /* the ovector is overwritten by the next match: copy what we need first */
        size_t so = ov[0], eo = ov[1];
        edited = 1;
        sb_add(&b, s, so);
        pregsub(&b, tmpl, s, ov, pairs);
        if (eo == so) {
            if (so < len)
                sb_add(&b, s + so, 1);
            eo = so + 1;
        }
        if (eo > len) {
            s += len;
            len = 0;
            break;
        }
        s += eo;
        len -= eo;
        if (!all)
            break;
    }
    if (!edited)
        return (char *)value;
    sb_add(&b, s, len);
    return sb_done(&b);
}

struct actx {
    struct request *r;
    int status;
    const struct hlist *resp; /* headers_out, for resp() in conditions */
    int join;                 /* request list: repeated headers act as one joined value */
};

static int entry_applies(const struct header_entry *e, struct actx *x)
{
    if (e->cond != NULL) {
        const struct http_header *rh = x->resp ? x->resp->v : NULL;
        int rn = x->resp ? x->resp->n : 0;
        return headers_expr_eval(e->cond, x->r, x->status, rh, rn);
    }
    if (e->env != NULL)
        return (env_get(x->r, e->env) != NULL) != e->env_negate;
    return 1;
}

static int apply_entry(const struct header_entry *e, struct actx *ax, struct hlist *l)
{
    struct request *r = ax->r;
    if (!entry_applies(e, ax))
        return 0;
    int i = e->action == HDR_ECHO ? -1 : hl_find(l, e->name, 0);
    if (ax->join && i >= 0 && e->action != HDR_ADD && hl_find(l, e->name, i + 1) >= 0) {
        /* httpd's headers_in holds one "a, b" entry for repeated request headers: edit,
         * append and merge see the joined value */
        const char *all = join_headers(r->arena, l->v, l->n, e->name);
        if (all == NULL || hl_set_value(l, i, (char *)all) < 0 ||
            hl_remove_from(l, e->name, i + 1) < 0)
            return -1;
    }
    /* resp() in a value sees the list as it is now (it may be the one being edited) */
    struct xctx x = {r, ax->status, ax->resp ? ax->resp->v : NULL, ax->resp ? ax->resp->n : 0};
    switch (e->action) {
    case HDR_SET:
        if (i < 0)
            return hl_add(l, e->name, fmt_eval(e->fmt, e->n_fmt, &x));
        if (hl_set_value(l, i, fmt_eval(e->fmt, e->n_fmt, &x)) < 0)
            return -1;
        return hl_remove_from(l, e->name, i + 1);
    case HDR_SETIFEMPTY:
        return i < 0 ? hl_add(l, e->name, fmt_eval(e->fmt, e->n_fmt, &x)) : 0;
    case HDR_ADD:
        return hl_add(l, e->name, fmt_eval(e->fmt, e->n_fmt, &x));
    case HDR_APPEND:
    case HDR_MERGE: {
        char *v = fmt_eval(e->fmt, e->n_fmt, &x);
        if (v == NULL)
            return -1;
        if (i < 0)
            return hl_add(l, e->name, v);
        if (e->action == HDR_MERGE && has_token(l->v[i].value, v))
            return 0;
        /* apr_table_merge: even an empty old value gets the ", " */
        return hl_set_value(l, i, arena_printf(r->arena, "%s, %s", l->v[i].value, v));
    }
    case HDR_UNSET:
        return hl_remove_from(l, e->name, 0);
    case HDR_ECHO:
        for (int k = 0; k < r->h.n_headers; k++) {
            const struct http_header *h = &r->h.headers[k];
            if (re_match(e->regex, h->name, strlen(h->name), NULL) > 0 &&
                hl_add(l, h->name, arena_strdup(r->arena, h->value)) < 0)
                return -1;
        }
        return 0;
    case HDR_EDIT:
    case HDR_EDIT_ALL:
        for (; i >= 0; i = hl_find(l, e->name, i + 1)) {
            x.resp = ax->resp ? ax->resp->v : NULL;
            x.n_resp = ax->resp ? ax->resp->n : 0;
            char *tmpl = fmt_eval(e->fmt, e->n_fmt, &x);
            if (tmpl == NULL)
                return -1;
            char *v =
                regex_edit(r->arena, e->regex, tmpl, l->v[i].value, e->action == HDR_EDIT_ALL);
            if (v == NULL)
                return -1;
            if (v != l->v[i].value) {
                unwrap(v);
                if (hl_set_value(l, i, v) < 0)
                    return -1;
            }
        }
        return 0;
    }
    return 0;
}

/* The headers_conf of every scope that applies, in order. */
static int scopes(const struct request *r, const struct route_decision *d,
                  const struct headers_conf **out)
{
    int n = 0;
    const struct conf_server *srv = r->srv;
    if (srv == NULL && r->c != NULL && r->c->conf != NULL)
        srv = r->c->conf->main;
    if (srv != NULL && srv->headers != NULL)
        out[n++] = srv->headers;
    for (int i = 0; d != NULL && i < d->n_sections && i < ROUTE_MAX_SECTIONS; i++)
        if (d->sections[i] != NULL && d->sections[i]->headers != NULL)
            out[n++] = d->sections[i]->headers;
    return n;
}

static int apply_list(const struct headers_conf *const *sc, int n_sc, enum headers_list which,
                      struct actx *x, struct hlist *l)
{
    for (int s = 0; s < n_sc; s++)
        for (const struct header_entry *e = sc[s]->head[which]; e != NULL; e = e->next)
            if (apply_entry(e, x, l) < 0)
                return -1;
    return 0;
}

int headers_apply_request(struct request *r, const struct route_decision *d)
{
    const struct headers_conf *sc[ROUTE_MAX_SECTIONS + 1];
    int n_sc = scopes(r, d, sc);
    if (n_sc == 0)
        return 0;
    struct hlist l = {r->arena, r->h.headers, r->h.n_headers, r->h.n_headers, 0, 0};
    struct actx x = {r, 0, NULL, 1};
    if (apply_list(sc, n_sc, HL_REQUEST, &x, &l) < 0)
        return -1;
    if (l.changed) {
        r->h.headers = l.v;
        r->h.n_headers = l.n;
        int h = hl_find(&l, "Host", 0);
        r->h.host = h >= 0 ? l.v[h].value : NULL;
    }
    return 0;
}

int headers_apply_response(struct request *r, const struct route_decision *d, int status,
                           struct http_header **hdrs, int *n)
{
    const struct headers_conf *sc[ROUTE_MAX_SECTIONS + 1];
    int n_sc = scopes(r, d, sc);
    if (n_sc == 0)
        return 0;
    struct hlist out = {r->arena, *hdrs, *n, *n, 0, 0};
    struct hlist err = {r->arena, NULL, 0, 0, 0, 0};
    struct actx x = {r, status, &out, 0};
    /* httpd's output filter: err_headers_out fixups first, then headers_out */
    if (apply_list(sc, n_sc, HL_ALWAYS, &x, &err) < 0 ||
        apply_list(sc, n_sc, HL_ONSUCCESS, &x, &out) < 0)
        return -1;
    if (err.n == 0) {
        if (out.changed) {
            *hdrs = out.v;
            *n = out.n;
        }
        return 0;
    }
    /* the header filter's overlay: err_headers_out first, then headers_out */
    struct http_header *all = arena_alloc(r->arena, sizeof(*all) * (size_t)(err.n + out.n));
    if (all == NULL)
        return -1;
    memcpy(all, err.v, sizeof(*all) * (size_t)err.n);
    if (out.n > 0)
        memcpy(all + err.n, out.v, sizeof(*all) * (size_t)out.n);
    *hdrs = all;
    *n = err.n + out.n;
    return 0;
}

int headers_apply_error_response(struct request *r, const struct route_decision *d, int status,
                                 struct http_header **hdrs, int *n)
{
    const struct headers_conf *sc[ROUTE_MAX_SECTIONS + 1];
    int n_sc = scopes(r, d, sc);
    if (n_sc == 0)
        return 0;
    struct hlist l = {r->arena, *hdrs, *n, *n, 0, 0};
    struct actx x = {r, status, &l, 0};
    if (apply_list(sc, n_sc, HL_ALWAYS, &x, &l) < 0)
        return -1;
    if (l.changed) {
        *hdrs = l.v;
        *n = l.n;
    }
    return 0;
}
