/* Strict RFC 9112 request-head parser.
 *
 * Line endings: RFC 9112 2.2 lets a recipient accept a bare LF as a line terminator. We do,
 * in the head only, because real clients (scripts, netcat) send it and the proxy re-serialises
 * every header with CRLF, so a backend never sees a framing we did not agree with. A CR is
 * only ever accepted directly before LF: a bare CR anywhere is a 400, since some parsers treat
 * it as a line break and that disagreement is a smuggling vector. The chunked decoder is
 * stricter still (CRLF only).
 *
 * Everything is checked in one pass over the buffer; strings are NUL-terminated in place and
 * only the request line copy, the header array and the few derived strings (path when a
 * query follows it, absolute-form host) come from the arena. */
#include "http_parse.h"

#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "arena.h"
#include "util.h"

#define DEF_REQUEST_LINE 8190
#define DEF_FIELD_SIZE   8190
#define DEF_FIELDS       100

/* Character classes, one table lookup per byte. */
#define C_TCHAR 0x01 /* token character (RFC 9110 5.6.2) */
#define C_DIGIT 0x02
#define C_HEX   0x04
#define C_UNRES 0x08 /* unreserved (RFC 3986): ALPHA DIGIT - . _ ~ */
#define C_SUBD  0x10 /* sub-delims: ! $ & ' ( ) * + , ; = */
#define C_CTL   0x20 /* 0x00-0x1f and 0x7f, HTAB included: callers allow it where legal */

/* Generated from the definitions above (a few lines of Python); const, so no state. */
#define T C_TCHAR
#define D C_DIGIT
#define H C_HEX
#define U C_UNRES
#define S C_SUBD
#define C C_CTL
/* clang-format off */
static const unsigned char cclass[256] = {
    C, C, C, C, C, C, C, C,
    C, C, C, C, C, C, C, C,
    C, C, C, C, C, C, C, C,
    C, C, C, C, C, C, C, C,
    0, T|S, 0, T, T|S, T, T|S, T|S,
    S, S, T|S, T|S, S, T|U, T|U, 0,
    T|D|H|U, T|D|H|U, T|D|H|U, T|D|H|U, T|D|H|U, T|D|H|U, T|D|H|U, T|D|H|U,
    T|D|H|U, T|D|H|U, 0, S, 0, S, 0, 0,
    0, T|H|U, T|H|U, T|H|U, T|H|U, T|H|U, T|H|U, T|U,
    T|U, T|U, T|U, T|U, T|U, T|U, T|U, T|U,
    T|U, T|U, T|U, T|U, T|U, T|U, T|U, T|U,
    T|U, T|U, T|U, 0, 0, 0, T, T|U,
    T, T|H|U, T|H|U, T|H|U, T|H|U, T|H|U, T|H|U, T|U,
    T|U, T|U, T|U, T|U, T|U, T|U, T|U, T|U,
    T|U, T|U, T|U, T|U, T|U, T|U, T|U, T|U,
    T|U, T|U, T|U, 0, T, 0, T|U, C,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
};
/* clang-format on */
#undef T
#undef D
#undef H
#undef U
#undef S
#undef C

#define IS(c, cls) ((cclass[(unsigned char)(c)] & (cls)) != 0)
#define IS_OWS(c)  ((c) == ' ' || (c) == '\t')

static void limits_get(const struct http_limits *lim, size_t *rl, size_t *fs, size_t *nf)
{
    *rl = (lim && lim->request_line > 0) ? (size_t)lim->request_line : DEF_REQUEST_LINE;
    *fs = (lim && lim->field_size > 0) ? (size_t)lim->field_size : DEF_FIELD_SIZE;
    if (lim == NULL)
        *nf = DEF_FIELDS;
    else
        *nf = lim->fields > 0 ? (size_t)lim->fields : 0;
}

/* Length of the leading empty lines (CRLF or LF) RFC 9112 2.2 asks us to ignore. Returns -1
 * when there are too many of them (a client streaming blank lines must not hold a worker
 * forever), -2 when the input ends inside them (more data needed). */
static ssize_t skip_leading_empty(const char *buf, size_t len)
{
    size_t p = 0;
    for (int n = 0;; n++) {
        if (p >= len)
            return -2;
        size_t eol;
        if (buf[p] == '\n')
            eol = 1;
        else if (buf[p] == '\r' && p + 1 >= len)
            return -2;
        else if (buf[p] == '\r' && buf[p + 1] == '\n')
            eol = 2;
        else
            return (ssize_t)p;
        if (n >= HTTP_MAX_LEADING_EMPTY)
            return -1;
        p += eol;
    }
}

/* Content bytes of a line without its terminator; a CR is part of the terminator only when
 * directly followed by the LF (or by the end of the data seen so far). */
static size_t line_content(const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '\r')
        n--;
    return n;
}

ssize_t http_head_end(const char *buf, size_t len, const struct http_limits *lim)
{
    size_t rl, fs, nf;
    limits_get(lim, &rl, &fs, &nf);

    ssize_t lead = skip_leading_empty(buf, len);
    if (lead == -2)
        return 0;
    if (lead == -1)
        return -400;
    size_t p = (size_t)lead;

    /* Request line: the limit is checked on what has arrived, so a client cannot make us
     * buffer a line longer than LimitRequestLine while waiting for its end. */
    const char *lf = memchr(buf + p, '\n', len - p);
    if (lf == NULL)
        return line_content(buf + p, len - p) > rl ? -414 : 0;
    if (line_content(buf + p, (size_t)(lf - (buf + p))) > rl)
        return -414;
    p = (size_t)(lf - buf) + 1;

    size_t fields = 0;
    for (;;) {
        /* Without a field-count limit the per-line limit alone would not bound the head. */
        if (nf == 0 && p > HTTP_HEAD_MAX)
            return -431;
        lf = memchr(buf + p, '\n', len - p);
        size_t n = line_content(buf + p, lf ? (size_t)(lf - (buf + p)) : len - p);
        if (n > fs)
            return -431;
        if (lf == NULL) {
            /* A partial non-empty line is a field already: count it so that field
             * number limit+1 is refused before its end arrives. */
            if (nf && n > 0 && fields + 1 > nf)
                return -431;
            return 0;
        }
        if (n == 0)
            return (ssize_t)(lf - buf) + 1;
        if (nf && ++fields > nf)
            return -431;
        p = (size_t)(lf - buf) + 1;
    }
}

const char *http_reason(int status)
{
    /* httpd's phrases, since clients and monitoring compare portico with it. */
    /* clang-format off */
    switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Request Entity Too Large";
    case 414: return "Request-URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Requested Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Entity";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return "Unknown";
    }
    /* clang-format on */
}

enum http_method http_method_parse(const char *m)
{
    /* Methods are case-sensitive (RFC 9110 9.1): "get" is some other method. */
    static const struct {
        const char *name;
        enum http_method m;
    } tab[] = {
        {"GET", HTTP_GET},     {"HEAD", HTTP_HEAD},       {"POST", HTTP_POST},
        {"PUT", HTTP_PUT},     {"DELETE", HTTP_DELETE},   {"OPTIONS", HTTP_OPTIONS},
        {"TRACE", HTTP_TRACE}, {"CONNECT", HTTP_CONNECT}, {"PATCH", HTTP_PATCH},
    };
    if (m == NULL)
        return HTTP_OTHER;
    for (size_t i = 0; i < ARRAY_LEN(tab); i++)
        if (strcmp(m, tab[i].name) == 0)
            return tab[i].m;
    return HTTP_OTHER;
}

const char *http_header_get(const struct http_request *req, const char *name)
{
    for (int i = 0; i < req->n_headers; i++)
        if (util_strcaseeq(req->headers[i].name, name))
            return req->headers[i].value;
    return NULL;
}

/* uri-host [ ":" port ] (RFC 3986 3.2.2): the Host field and the authority of absolute-form
 * and authority-form targets. Userinfo ("user@") is refused: RFC 9110 4.2.4 asks recipients
 * to treat it as an error, and it is a classic way to confuse host-based routing. */
static int host_valid(const char *s, size_t n, int need_port)
{
    size_t i = 0;
    if (n == 0)
        return 0;
    if (s[0] == '[') {
        for (i = 1; i < n && s[i] != ']'; i++)
            if (!IS(s[i], C_UNRES | C_SUBD) && s[i] != ':')
                return 0;
        if (i >= n || i == 1)
            return 0;
        i++;
    } else {
        for (; i < n && s[i] != ':'; i++) {
            if (s[i] == '%') {
                if (i + 2 >= n || !IS(s[i + 1], C_HEX) || !IS(s[i + 2], C_HEX))
                    return 0;
                i += 2;
            } else if (!IS(s[i], C_UNRES | C_SUBD)) {
                return 0;
            }
        }
        if (i == 0)
            return 0;
    }
    if (i == n)
        return !need_port;
    if (s[i] != ':')
        return 0;
    i++;
    if (i == n)
        return !need_port;
    long port = 0;
    for (; i < n; i++) {
        if (!IS(s[i], C_DIGIT))
            return 0;
        port = port * 10 + (s[i] - '0');
        if (port > 65535)
            return 0;
    }
    return 1;
}

/* Content-Length = 1*DIGIT, possibly repeated as a list ("5, 5") by a sloppy intermediary;
 * identical members fold to one (RFC 9110 8.6), anything else is a framing conflict. */
static int content_length_parse(const char *v, size_t n, long long *out)
{
    long long val = -1;
    size_t i = 0;
    for (;;) {
        while (i < n && IS_OWS(v[i]))
            i++;
        long long x = 0;
        size_t start = i;
        for (; i < n && IS(v[i], C_DIGIT); i++) {
            int d = v[i] - '0';
            if (x > (LLONG_MAX - d) / 10)
                return -1;
            x = x * 10 + d;
        }
        if (i == start)
            return -1;
        while (i < n && IS_OWS(v[i]))
            i++;
        if (val >= 0 && x != val)
            return -1;
        val = x;
        if (i == n)
            break;
        if (v[i] != ',')
            return -1;
        i++;
    }
    *out = val;
    return 0;
}

struct te_state {
    int codings; /* codings seen, all Transfer-Encoding lines together */
    int chunked; /* times chunked was applied */
    int last_chunked;
    int unknown; /* a coding we do not implement */
    int invalid; /* syntax error */
};

/* Transfer-Encoding = #transfer-coding; transfer-coding = token *( OWS ";" OWS param ).
 * Empty list members are ignored as RFC 9110 5.6.1 requires; the verdict is given once all
 * lines are seen, because the order of codings across lines matters. */
static void te_parse(const char *v, size_t n, struct te_state *te)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (IS_OWS(v[i]) || v[i] == ','))
            i++;
        if (i == n)
            break;
        size_t start = i;
        while (i < n && IS(v[i], C_TCHAR))
            i++;
        if (i == start) {
            te->invalid = 1;
            return;
        }
        size_t tlen = i - start;
        int params = 0;
        while (i < n && IS_OWS(v[i]))
            i++;
        if (i < n && v[i] == ';') {
            /* Parameters are only meaningful for codings we refuse anyway; skip them, quotes
             * included, so a comma inside a quoted value does not start a new coding. */
            params = 1;
            int q = 0;
            for (; i < n && (q || v[i] != ','); i++) {
                if (q && v[i] == '\\' && i + 1 < n)
                    i++;
                else if (v[i] == '"')
                    q = !q;
            }
            if (q) {
                te->invalid = 1;
                return;
            }
        }
        if (i < n && v[i] != ',') {
            te->invalid = 1;
            return;
        }
        te->codings++;
        if (tlen == 7 && util_strncaseeq(v + start, "chunked", 7)) {
            if (params) {
                te->invalid = 1; /* chunked defines no parameters */
                return;
            }
            te->chunked++;
            te->last_chunked = 1;
        } else {
            te->unknown = 1;
            te->last_chunked = 0;
        }
    }
}

/* Connection: the tokens we act on; others name hop-by-hop headers the proxy drops. */
static void conn_tokens(const char *v, size_t n, struct http_request *req)
{
    size_t i = 0;
    while (i < n) {
        while (i < n && (IS_OWS(v[i]) || v[i] == ','))
            i++;
        size_t start = i;
        while (i < n && v[i] != ',')
            i++;
        size_t end = i;
        while (end > start && IS_OWS(v[end - 1]))
            end--;
        size_t tl = end - start;
        if (tl == 5 && util_strncaseeq(v + start, "close", 5))
            req->conn_close = 1;
        else if (tl == 10 && util_strncaseeq(v + start, "keep-alive", 10))
            req->conn_keepalive = 1;
    }
}

/* Splits the request target into path / query / host by its form (RFC 9112 3.2). */
static int target_parse(struct http_request *req, struct arena *a, const char **why)
{
    char *t = req->target;
    size_t tlen = strlen(t);

    if (req->m == HTTP_CONNECT) {
        /* authority-form, and only for CONNECT: host and a port, nothing else */
        if (!host_valid(t, tlen, 1)) {
            *why = "CONNECT needs an authority-form target (host:port)";
            return 400;
        }
        req->host = t;
        req->path = t + tlen; /* no path: an empty string, never NULL */
        return 0;
    }
    if (t[0] == '*' && t[1] == '\0') {
        if (req->m != HTTP_OPTIONS) {
            *why = "asterisk-form target with a method other than OPTIONS";
            return 400;
        }
        req->path = t;
        return 0;
    }

    char *p = t;
    if (t[0] != '/') {
        size_t skip;
        if (util_strncaseeq(t, "http://", 7))
            skip = 7;
        else if (util_strncaseeq(t, "https://", 8))
            skip = 8;
        else {
            *why = "invalid request target";
            return 400;
        }
        char *auth = t + skip;
        size_t alen = strcspn(auth, "/?");
        if (!host_valid(auth, alen, 0)) {
            *why = "invalid host in absolute-form target";
            return 400;
        }
        req->host = arena_strndup(a, auth, alen);
        if (req->host == NULL)
            goto nomem;
        p = auth + alen;
    }

    char *q = strchr(p, '?');
    if (q != NULL)
        req->query = q + 1;
    size_t plen = q ? (size_t)(q - p) : strlen(p);
    if (plen == 0)
        req->path = arena_strdup(a, "/"); /* "http://host" or "http://host?q" */
    else if (q == NULL)
        req->path = p; /* already NUL-terminated by the target itself */
    else
        req->path = arena_strndup(a, p, plen);
    if (req->path == NULL)
        goto nomem;
    return 0;
nomem:
    *why = "out of memory";
    return 500;
}

/* The request line [s, e), terminator excluded. */
static int request_line_parse(char *s, char *e, size_t rl, struct http_request *req,
                              struct arena *a, const char **why)
{
    if ((size_t)(e - s) > rl) {
        *why = "request line exceeds LimitRequestLine";
        return 414;
    }
    char *q = s;
    while (q < e && IS(*q, C_TCHAR))
        q++;
    if (q == s || q == e || *q != ' ') {
        *why = q == e && q != s ? "request line without target (HTTP/0.9 style)" : "invalid method";
        return 400;
    }
    char *t = q + 1;
    char *r = t;
    for (; r < e && *r != ' '; r++) {
        if (*r == '#') {
            *why = "fragment in the request target";
            return 400;
        }
        /* obs-text (>= 0x80) is let through as httpd's Strict mode does; controls, DEL and
         * spaces are not. */
        if (IS(*r, C_CTL)) {
            *why = *r == '\r' ? "bare CR in the request line" : "control character in target";
            return 400;
        }
    }
    if (r == t) {
        *why = "empty request target (or more than one SP)";
        return 400;
    }
    if (r == e) {
        *why = "request line without HTTP version (HTTP/0.9 is not supported)";
        return 400;
    }
    char *v = r + 1;
    if (e - v != 8 || memcmp(v, "HTTP/", 5) != 0 || !IS(v[5], C_DIGIT) || v[6] != '.' ||
        !IS(v[7], C_DIGIT)) {
        *why = "malformed HTTP version";
        return 400;
    }
    if (v[5] == '1' && v[7] == '1')
        req->version = 11;
    else if (v[5] == '1' && v[7] == '0')
        req->version = 10;
    else {
        *why = "unsupported HTTP version";
        return 505;
    }

    req->request_line = arena_strndup(a, s, (size_t)(e - s));
    if (req->request_line == NULL) {
        *why = "out of memory";
        return 500;
    }
    *q = '\0';
    *r = '\0';
    *e = '\0';
    req->method = s;
    req->m = http_method_parse(s);
    req->target = t;
    req->protocol = v;
    return target_parse(req, a, why);
}

int http_parse_request(char *buf, size_t len, const struct http_limits *lim, struct arena *a,
                       struct http_request *req, const char **reason)
{
    const char *why_dummy;
    const char **why = reason ? reason : &why_dummy;
    size_t rl, fs, nf;
    int st;
    char *end = buf + len;

    limits_get(lim, &rl, &fs, &nf);
    memset(req, 0, sizeof(*req));
    req->content_length = -1;
    *why = NULL;

    ssize_t lead = skip_leading_empty(buf, len);
    if (lead < 0) {
        *why = lead == -1 ? "too many empty lines before the request line" : "empty request";
        return 400;
    }
    char *s = buf + lead;
    char *lf = memchr(s, '\n', (size_t)(end - s));
    if (lf == NULL) {
        *why = "incomplete request line";
        return 400;
    }
    char *e = (lf > s && lf[-1] == '\r') ? lf - 1 : lf;
    st = request_line_parse(s, e, rl, req, a, why);
    if (st)
        return st;

    /* One allocation for the header array: count the lines first (memchr is cheap next to
     * growing an array), the head is complete and bounded by the caller's limits. */
    char *h = lf + 1;
    size_t lines = 0;
    for (char *c = h; c < end && (c = memchr(c, '\n', (size_t)(end - c))) != NULL; c++)
        lines++;
    req->headers = arena_calloc(a, lines ? lines : 1, sizeof(*req->headers));
    if (req->headers == NULL) {
        *why = "out of memory";
        return 500;
    }

    struct te_state te = {0};
    int n_host = 0;
    char *host_hdr = NULL;
    int done = 0;
    while (h < end) {
        lf = memchr(h, '\n', (size_t)(end - h));
        if (lf == NULL)
            break;
        e = (lf > h && lf[-1] == '\r') ? lf - 1 : lf;
        if (e == h) {
            h = lf + 1;
            done = 1;
            break;
        }
        if ((size_t)(e - h) > fs) {
            *why = "header field exceeds LimitRequestFieldSize";
            return 431;
        }
        if (nf && (size_t)req->n_headers >= nf) {
            *why = "more header fields than LimitRequestFields";
            return 431;
        }
        if (IS_OWS(*h)) {
            /* obs-fold, or whitespace between the request line and the first field: both
             * are ways to hide a header from one parser and show it to another. */
            *why = "obsolete line folding or leading whitespace in a header";
            return 400;
        }
        char *c = h;
        while (c < e && IS(*c, C_TCHAR))
            c++;
        if (c == e || *c != ':' || c == h) {
            *why = c < e && IS_OWS(*c) ? "whitespace before the colon of a header"
                                       : "invalid header field name";
            return 400;
        }
        struct http_header *hd = &req->headers[req->n_headers];
        hd->name = h;
        hd->name_len = (size_t)(c - h);
        char *v = c + 1;
        while (v < e && IS_OWS(*v))
            v++;
        char *ve = e;
        while (ve > v && IS_OWS(ve[-1]))
            ve--;
        for (char *x = v; x < ve; x++) {
            if (IS(*x, C_CTL) && *x != '\t') {
                *why = *x == '\r'   ? "bare CR in a header"
                       : *x == '\0' ? "NUL in a header"
                                    : "control character in a header";
                return 400;
            }
        }
        *c = '\0';
        *ve = '\0';
        hd->value = v;
        hd->value_len = (size_t)(ve - v);
        req->n_headers++;

        switch (hd->name_len) {
        case 4:
            if (util_strcaseeq(hd->name, "host")) {
                if (++n_host > 1) {
                    *why = "more than one Host header";
                    return 400;
                }
                if (!host_valid(v, hd->value_len, 0)) {
                    *why = "invalid Host header";
                    return 400;
                }
                host_hdr = v;
            }
            break;
        case 6:
            if (util_strcaseeq(hd->name, "expect")) {
                if (util_strcaseeq(v, "100-continue")) {
                    /* RFC 9110 10.1.1: an HTTP/1.0 client cannot expect 100 */
                    if (req->version >= 11)
                        req->expect_continue = 1;
                } else if (hd->value_len > 0) {
                    *why = "unsupported expectation";
                    return 417;
                }
            }
            break;
        case 10:
            if (util_strcaseeq(hd->name, "connection"))
                conn_tokens(v, hd->value_len, req);
            break;
        case 14:
            if (util_strcaseeq(hd->name, "content-length")) {
                long long cl;
                if (content_length_parse(v, hd->value_len, &cl) != 0 ||
                    (req->content_length >= 0 && cl != req->content_length)) {
                    *why = "invalid or conflicting Content-Length";
                    return 400;
                }
                req->content_length = cl;
            }
            break;
        case 17:
            if (util_strcaseeq(hd->name, "transfer-encoding")) {
                req->has_te = 1;
                te_parse(v, hd->value_len, &te);
            }
            break;
        default:
            break;
        }
        h = lf + 1;
    }
    if (!done) {
        *why = "incomplete request head";
        return 400;
    }
    if (h != end) {
        *why = "data after the end of the request head";
        return 400;
    }

    if (req->has_te) {
        if (req->content_length >= 0) {
            *why = "both Content-Length and Transfer-Encoding";
            return 400;
        }
        if (te.invalid || te.codings == 0) {
            *why = "malformed Transfer-Encoding";
            return 400;
        }
        /* RFC 9112 6.3: without chunked last the body length of a request is unknowable */
        if (!te.last_chunked) {
            *why = "Transfer-Encoding does not end with chunked";
            return 400;
        }
        if (te.unknown) {
            *why = "unsupported transfer coding";
            return 501;
        }
        if (te.chunked > 1) {
            *why = "chunked applied more than once";
            return 501;
        }
        req->chunked = 1;
        /* RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has faulty framing;
         * we read it as chunked but close afterwards. */
        if (req->version == 10)
            req->conn_close = 1;
    }

    if (n_host == 0 && req->version >= 11) {
        /* RFC 9112 3.2 asks for Host even with an absolute-form target (httpd accepts it) */
        *why = "HTTP/1.1 request without Host";
        return 400;
    }
    /* RFC 9112 3.2.2: the authority of an absolute-form target wins over Host. */
    if (req->host == NULL && host_hdr != NULL)
        req->host = host_hdr;

    if (req->version == 10 && !req->conn_keepalive)
        req->conn_close = 1;
    if (req->conn_close)
        req->conn_keepalive = 0;
    return 0;
}
