/* Strict parser for backend response heads.
 *
 * The proxy re-serialises every header it relays, so what matters here is that portico and
 * the client can never disagree about where the response ends: conflicting Content-Length,
 * bare CR, control bytes and malformed names make the response invalid (502) instead of
 * being passed on for the client to interpret. Where httpd is lenient in a harmless way we
 * are too: a bare LF ends a line, one empty line before the status line is skipped, obs-fold
 * is merged, and stray "HTTP/x.y ..." lines among the headers (an old IIS bug) are dropped. */
#include "http_response.h"

#include <limits.h>
#include <string.h>

#include "arena.h"
#include "util.h"

#define DEF_FIELD_SIZE 8192
#define DEF_FIELDS     1000
#define DEF_HEAD       (256 * 1024)

static int is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Control bytes other than HTAB (obs-text, 0x80-0xff, is allowed in values). */
static int is_ctl(unsigned char ch)
{
    return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

static int is_ows(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* A header line (without its line ending) that is not `token ":" ...`: what ProxyBadHeader
 * decides about. */
static int line_is_bad_header(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && is_tchar((unsigned char)s[i]))
        i++;
    return i == 0 || i == n || s[i] != ':';
}

static int line_is_status_like(const char *s, size_t n)
{
    return n >= 5 && memcmp(s, "HTTP/", 5) == 0;
}

static void limits_or_default(const struct http_response_limits *lim, size_t *field_size,
                              int *fields, size_t *head, int *bad)
{
    *field_size = lim && lim->field_size ? lim->field_size : DEF_FIELD_SIZE;
    *fields = lim && lim->fields > 0 ? lim->fields : DEF_FIELDS;
    *head = lim && lim->head ? lim->head : DEF_HEAD;
    *bad = lim ? lim->bad_header : HTTP_BAD_HEADER_ERROR;
}

ssize_t http_response_head_end(const char *buf, size_t len, const struct http_response_limits *lim)
{
    size_t field_size, head;
    int fields, bad;
    limits_or_default(lim, &field_size, &fields, &head, &bad);

    size_t pos = 0;
    int lines = 0;   /* lines after the status line */
    int status = 1;  /* the next line is the status line */
    int skipped = 0; /* the one empty line tolerated before it */
    int saw_header = 0;
    while (pos < len) {
        const char *nl = memchr(buf + pos, '\n', len - pos);
        size_t avail = nl ? (size_t)(nl - (buf + pos)) : len - pos;
        size_t content = avail;
        if (nl && content > 0 && buf[pos + content - 1] == '\r')
            content--;
        if (status && !skipped && nl == NULL && avail == 1 && buf[pos] == '\r')
            break; /* maybe the CR of the one tolerated empty line */
        if (status && !(skipped == 0 && nl && content == 0)) {
            /* Refuse an HTTP/0.9 answer or garbage as soon as it shows, rather than waiting
             * for a line end that may never come. */
            size_t cmp = avail < 5 ? avail : 5;
            if (memcmp(buf + pos, "HTTP/", cmp) != 0)
                return -1;
        }
        if (content > field_size)
            return -1;
        if (nl == NULL)
            break;
        if (status) {
            if (content == 0 && !skipped) {
                skipped = 1;
                pos += avail + 1;
                continue;
            }
            status = 0;
        } else if (content == 0) {
            return (ssize_t)(pos + avail + 1);
        } else if (bad == HTTP_BAD_HEADER_START_BODY && saw_header && !is_ows(buf[pos]) &&
                   !line_is_status_like(buf + pos, content) &&
                   line_is_bad_header(buf + pos, content)) {
            return (ssize_t)pos;
        } else {
            saw_header = 1;
            if (++lines > fields)
                return -1;
        }
        pos += avail + 1;
        if (pos > head)
            return -1;
    }
    if (len > head)
        return -1;
    return 0;
}

/* Content-Length = 1*DIGIT, possibly a list of identical values ("5, 5"). */
static int content_length_parse(const char *v, long long *out)
{
    long long val = -1;
    const char *p = v;
    for (;;) {
        while (is_ows(*p))
            p++;
        long long x = 0;
        const char *start = p;
        for (; *p >= '0' && *p <= '9'; p++) {
            int d = *p - '0';
            if (x > (LLONG_MAX - d) / 10)
                return -1;
            x = x * 10 + d;
        }
        if (p == start)
            return -1;
        while (is_ows(*p))
            p++;
        if (val >= 0 && x != val)
            return -1;
        val = x;
        if (*p == '\0')
            break;
        if (*p != ',')
            return -1;
        p++;
    }
    *out = val;
    return 0;
}

int http_token_list_has(const char *list, const char *token)
{
    if (list == NULL)
        return 0;
    size_t tl = strlen(token);
    const char *p = list;
    while (*p) {
        while (*p == ',' || is_ows(*p))
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && is_ows(end[-1]))
            end--;
        if ((size_t)(end - start) == tl && util_strncaseeq(start, token, tl))
            return 1;
    }
    return 0;
}

/* Last member of a Transfer-Encoding list ("gzip, chunked" -> chunked). */
static int te_last_is_chunked(const char *v)
{
    const char *end = v + strlen(v);
    while (end > v && (is_ows(end[-1]) || end[-1] == ','))
        end--;
    const char *start = end;
    while (start > v && start[-1] != ',')
        start--;
    while (start < end && is_ows(*start))
        start++;
    /* a transfer-parameter (";q=...") is not valid after chunked */
    return end - start == 7 && util_strncaseeq(start, "chunked", 7);
}

static int status_line_parse(char *s, size_t n, struct http_response *resp)
{
    /* HTTP-version SP 3DIGIT [SP reason-phrase]; the SP after the code is required by RFC
     * 9112 4 but commonly missing when the reason is empty, which is harmless. */
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || s[7] < '0' || s[7] > '9' || s[8] != ' ')
        return -1;
    resp->version = s[7] == '0' ? 10 : 11;
    for (int i = 9; i < 12; i++)
        if (s[i] < '0' || s[i] > '9')
            return -1;
    resp->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    if (resp->status < 100 || resp->status > 599)
        return -1;
    if (n == 12) {
        resp->reason = s + 12;
        return 0;
    }
    if (s[12] != ' ')
        return -1;
    for (size_t i = 13; i < n; i++)
        if (is_ctl((unsigned char)s[i]))
            return -1;
    resp->reason = s + 13;
    return 0;
}

int http_response_parse(char *buf, size_t len, const struct http_response_limits *lim, int head_req,
                        struct arena *a, struct http_response *resp, const char **reason)
{
    size_t field_size, head;
    int fields, bad;
    limits_or_default(lim, &field_size, &fields, &head, &bad);
    const char *why = NULL;
    memset(resp, 0, sizeof(*resp));
    resp->content_length = -1;
    resp->head_len = len;

    /* Pass 1: cut the lines, validate bytes, count headers. Lines are NUL-terminated in
     * place at their CR or LF. */
    size_t pos = 0;
    int status_done = 0, skipped = 0;
    int nlines = 0;
    struct http_header *hdrs = NULL;
    int cap = 0;
    int ended = 0;
    while (pos < len) {
        char *line = buf + pos;
        char *nl = memchr(line, '\n', len - pos);
        if (nl == NULL) {
            why = "response head without a line end";
            goto fail;
        }
        size_t n = (size_t)(nl - line);
        if (n > 0 && line[n - 1] == '\r')
            n--;
        pos += (size_t)(nl - line) + 1;
        if (memchr(line, '\r', n) != NULL || memchr(line, '\0', n) != NULL) {
            why = "bare CR or NUL in the response head";
            goto fail;
        }
        if (n > field_size) {
            why = "response header line over ResponseFieldSize";
            goto fail;
        }
        line[n] = '\0';
        if (!status_done) {
            if (n == 0 && !skipped) {
                skipped = 1;
                continue;
            }
            if (status_line_parse(line, n, resp) < 0) {
                why = "invalid status line";
                goto fail;
            }
            status_done = 1;
            continue;
        }
        if (n == 0) {
            ended = 1;
            break;
        }
        if (is_ows(line[0])) {
            /* obs-fold: continue the previous value, the fold becoming one SP */
            if (nlines == 0) {
                why = "continuation line before any header";
                goto fail;
            }
            for (size_t i = 0; i < n; i++)
                if (is_ctl((unsigned char)line[i])) {
                    why = "control character in a response header";
                    goto fail;
                }
            struct http_header *h = &hdrs[nlines - 1];
            size_t s = 0;
            while (s < n && is_ows(line[s]))
                s++;
            size_t e = n;
            while (e > s && is_ows(line[e - 1]))
                e--;
            if (e == s)
                continue;
            char *v = arena_alloc(a, h->value_len + 1 + (e - s) + 1);
            if (v == NULL) {
                why = "out of memory";
                goto fail;
            }
            memcpy(v, h->value, h->value_len);
            size_t vl = h->value_len;
            if (vl > 0)
                v[vl++] = ' ';
            memcpy(v + vl, line + s, e - s);
            vl += e - s;
            v[vl] = '\0';
            h->value = v;
            h->value_len = vl;
            continue;
        }
        if (line_is_bad_header(line, n)) {
            if (line_is_status_like(line, n))
                continue; /* a second status line among the headers: old IIS, ignored */
            if (bad == HTTP_BAD_HEADER_IGNORE)
                continue;
            if (bad == HTTP_BAD_HEADER_START_BODY && nlines > 0) {
                /* the body starts with this line: http_response_head_end() stopped here */
                resp->head_len = (size_t)(line - buf);
                ended = 1;
                break;
            }
            why = "bad header in the response (no colon or an invalid name)";
            goto fail;
        }
        char *colon = strchr(line, ':');
        char *v = colon + 1;
        for (char *p = v; *p; p++)
            if (is_ctl((unsigned char)*p)) {
                why = "control character in a response header";
                goto fail;
            }
        while (is_ows(*v))
            v++;
        char *e = line + n;
        while (e > v && is_ows(e[-1]))
            e--;
        *e = '\0';
        *colon = '\0';
        if (nlines >= fields) {
            why = "too many response headers";
            goto fail;
        }
        if (nlines == cap) {
            int ncap = cap ? cap * 2 : 16;
            struct http_header *nh = arena_alloc(a, sizeof(*nh) * (size_t)ncap);
            if (nh == NULL) {
                why = "out of memory";
                goto fail;
            }
            if (nlines > 0)
                memcpy(nh, hdrs, sizeof(*nh) * (size_t)nlines);
            hdrs = nh;
            cap = ncap;
        }
        hdrs[nlines].name = line;
        hdrs[nlines].name_len = (size_t)(colon - line);
        hdrs[nlines].value = v;
        hdrs[nlines].value_len = (size_t)(e - v);
        nlines++;
    }
    if (!status_done || !ended) {
        /* With StartBody the caller may hand us a head cut before its empty line. */
        if (!(status_done && bad == HTTP_BAD_HEADER_START_BODY && pos == len && nlines > 0)) {
            why = "incomplete response head";
            goto fail;
        }
    }
    resp->headers = hdrs;
    resp->n_headers = nlines;

    /* Framing (RFC 9112 6.3). */
    int te = 0, te_chunked = 0, have_cl = 0;
    long long cl = -1;
    int ka = 0;
    for (int i = 0; i < nlines; i++) {
        const struct http_header *h = &hdrs[i];
        if (util_strcaseeq(h->name, "Content-Length")) {
            long long x;
            if (content_length_parse(h->value, &x) < 0 || (have_cl && x != cl)) {
                why = "invalid or conflicting Content-Length";
                goto fail;
            }
            cl = x;
            have_cl = 1;
        } else if (util_strcaseeq(h->name, "Transfer-Encoding")) {
            /* several lines form one list: the last line's last coding is the final one */
            te = 1;
            te_chunked = te_last_is_chunked(h->value);
        } else if (util_strcaseeq(h->name, "Connection")) {
            if (http_token_list_has(h->value, "close"))
                resp->conn_close = 1;
            if (http_token_list_has(h->value, "keep-alive"))
                ka = 1;
            if (http_token_list_has(h->value, "upgrade"))
                resp->conn_upgrade = 1;
        } else if (util_strcaseeq(h->name, "Upgrade")) {
            resp->upgrade = h->value;
        }
    }
    if (resp->version == 10 && !ka)
        resp->conn_close = 1;
    resp->content_length = cl;
    if (head_req || resp->status < 200 || resp->status == 204 || resp->status == 304) {
        resp->framing = HTTP_BODY_NONE;
        if (te && have_cl)
            resp->conn_close = 1;
    } else if (te) {
        /* Transfer-Encoding wins over Content-Length, and such a message was framed by
         * someone we cannot trust: never reuse the connection after it. */
        resp->framing = te_chunked ? HTTP_BODY_CHUNKED : HTTP_BODY_CLOSE;
        resp->content_length = -1;
        if (have_cl || !te_chunked)
            resp->conn_close = 1;
    } else if (have_cl) {
        resp->framing = HTTP_BODY_LENGTH;
    } else {
        resp->framing = HTTP_BODY_CLOSE;
        resp->conn_close = 1;
    }
    if (reason)
        *reason = NULL;
    return 0;
fail:
    if (reason)
        *reason = why;
    return -1;
}

const char *http_response_header(const struct http_response *resp, const char *name)
{
    for (int i = 0; i < resp->n_headers; i++)
        if (util_strcaseeq(resp->headers[i].name, name))
            return resp->headers[i].value;
    return NULL;
}
