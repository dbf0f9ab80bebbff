/* Request-head parser: good requests, every error status, every smuggling vector, limits at
 * and one past the boundary. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http_parse.h"
#include "tap.h"

static struct arena *A;
static char buf[1 << 17];
static const struct http_limits DEF = {8190, 8190, 100};

/* Runs head_end then the parser on raw[0..len), as the worker will. Returns 0, the status,
 * or -1 when head_end still wants more data. */
static int run(const char *raw, size_t len, const struct http_limits *lim, struct http_request *req,
               const char **why)
{
    static struct http_request dummy;
    const char *w = NULL;
    if (req == NULL)
        req = &dummy;
    if (why == NULL)
        why = &w;
    arena_reset(A);
    memcpy(buf, raw, len);
    ssize_t n = http_head_end(buf, len, lim);
    if (n < 0)
        return (int)-n;
    if (n == 0)
        return -1;
    return http_parse_request(buf, (size_t)n, lim, A, req, why);
}

static int st(const char *raw)
{
    return run(raw, strlen(raw), &DEF, NULL, NULL);
}

struct bad_case {
    const char *raw;
    int status;
    const char *what;
};

#define H11 " HTTP/1.1\r\nHost: a\r\n"

static const struct bad_case bad[] = {
    /* request line */
    {"GET /\r\n\r\n", 400, "HTTP/0.9 style line (no version)"},
    {"GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505, "HTTP/2.0"},
    {"GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505, "HTTP/1.2"},
    {"GET / HTTP/0.9\r\n\r\n", 505, "HTTP/0.9 with version"},
    {"GET / HTTP/3.0\r\n\r\n", 505, "HTTP/3.0"},
    {"GET / http/1.1\r\nHost: a\r\n\r\n", 400, "lower-case protocol"},
    {"GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400, "two-digit minor"},
    {"GET / HTTP/11\r\nHost: a\r\n\r\n", 400, "no dot in version"},
    {"GET / HTTP/1.\r\nHost: a\r\n\r\n", 400, "truncated version"},
    {"GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, "trailing SP after version"},
    {"GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "two SP after method"},
    {"GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400, "two SP after target"},
    {"GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "HTAB as separator"},
    {" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "leading SP"},
    {"G(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "non-token method"},
    {"GET\r\n\r\n", 400, "method only"},
    {"GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400, "fragment in target"},
    {"GET /a\x01z HTTP/1.1\r\nHost: a\r\n\r\n", 400, "control char in target"},
    {"GET /a\x7fz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "DEL in target"},
    {"GET /a\tz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "HTAB in target"},
    {"GET /a\rz HTTP/1.1\r\nHost: a\r\n\r\n", 400, "bare CR in request line"},
    {"GET / HTTP/1.1\r\r\nHost: a\r\n\r\n", 400, "CR CR LF after request line"},
    {"GET * HTTP/1.1\r\nHost: a\r\n\r\n", 400, "asterisk-form with GET"},
    {"CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CONNECT with origin-form"},
    {"CONNECT a.example HTTP/1.1\r\nHost: a\r\n\r\n", 400, "CONNECT without port"},
    {"GET a.example:443 HTTP/1.1\r\nHost: a\r\n\r\n", 400, "authority-form with GET"},
    {"GET ftp://a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "ftp absolute-form"},
    {"GET http://u@a/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "userinfo in absolute-form"},
    {"GET http:/// HTTP/1.1\r\nHost: a\r\n\r\n", 400, "empty host in absolute-form"},
    {"GET http://a b/ HTTP/1.1\r\nHost: a\r\n\r\n", 400, "SP in absolute-form host"},
    {"GET index.html HTTP/1.1\r\nHost: a\r\n\r\n", 400, "relative target"},
    {"GET http://a/ HTTP/1.1\r\n\r\n", 400, "absolute-form but no Host on 1.1"},
    /* header syntax */
    {"GET /" H11 "X-A : b\r\n\r\n", 400, "SP before colon"},
    {"GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", 400, "HTAB before colon"},
    {"GET /" H11 "X-A: b\r\n c\r\n\r\n", 400, "obs-fold SP"},
    {"GET /" H11 "X-A: b\r\n\tc\r\n\r\n", 400, "obs-fold HTAB"},
    {"GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, "whitespace before first header"},
    {"GET /" H11 "X-A: b\rc\r\n\r\n", 400, "bare CR in value"},
    {"GET /" H11 "X-A\r: b\r\n\r\n", 400, "bare CR in name"},
    {"GET /" H11 "X-A: b\r\r\n\r\n", 400, "CR CR LF after value"},
    {"GET /" H11 "X-A: \x01\r\n\r\n", 400, "control char in value"},
    {"GET /" H11 "X-A: a\x7f\r\n\r\n", 400, "DEL in value"},
    {"GET /" H11 ": b\r\n\r\n", 400, "empty field name"},
    {"GET /" H11 "NoColon\r\n\r\n", 400, "no colon"},
    {"GET /" H11 "X(A): b\r\n\r\n", 400, "non-token name"},
    /* Host */
    {"GET / HTTP/1.1\r\n\r\n", 400, "HTTP/1.1 without Host"},
    {"GET /" H11 "Host: a\r\n\r\n", 400, "two Host headers"},
    {"GET /" H11 "host: b\r\n\r\n", 400, "two Host headers, other case"},
    {"GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", 400, "two Host headers on 1.0"},
    {"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400, "Host with SP"},
    {"GET / HTTP/1.1\r\nHost: u@a\r\n\r\n", 400, "Host with userinfo"},
    {"GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", 400, "Host with slash"},
    {"GET / HTTP/1.1\r\nHost: a:99999\r\n\r\n", 400, "Host port out of range"},
    {"GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", 400, "Host port not numeric"},
    {"GET / HTTP/1.1\r\nHost: \r\n\r\n", 400, "empty Host"},
    {"GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", 400, "unclosed IP literal"},
    {"GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", 400, "Host bad escape"},
    {"GET / HTTP/1.1\r\nHost: a, b\r\n\r\n", 400, "Host list"},
    /* smuggling: Content-Length */
    {"POST /" H11 "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "CL then TE"},
    {"POST /" H11 "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n", 400, "TE then CL"},
    {"POST /" H11 "Content-Length: 5\r\nContent-Length: 6\r\n\r\n", 400, "two differing CL"},
    {"POST /" H11 "Content-Length: 5, 6\r\n\r\n", 400, "CL list differing"},
    {"POST /" H11 "Content-Length: 5,\r\n\r\n", 400, "CL list trailing comma"},
    {"POST /" H11 "Content-Length: ,5\r\n\r\n", 400, "CL list leading comma"},
    {"POST /" H11 "Content-Length: -1\r\n\r\n", 400, "negative CL"},
    {"POST /" H11 "Content-Length: +5\r\n\r\n", 400, "CL with plus"},
    {"POST /" H11 "Content-Length: 5a\r\n\r\n", 400, "CL with junk"},
    {"POST /" H11 "Content-Length: 0x10\r\n\r\n", 400, "hex CL"},
    {"POST /" H11 "Content-Length: 5 5\r\n\r\n", 400, "CL with inner SP"},
    {"POST /" H11 "Content-Length: \r\n\r\n", 400, "empty CL"},
    {"POST /" H11 "Content-Length: 9223372036854775808\r\n\r\n", 400, "CL 2^63"},
    {"POST /" H11 "Content-Length: 99999999999999999999999\r\n\r\n", 400, "CL overflow"},
    /* smuggling: Transfer-Encoding */
    {"POST /" H11 "Transfer-Encoding: gzip\r\n\r\n", 400, "TE gzip only (final not chunked)"},
    {"POST /" H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", 400, "TE chunked then gzip"},
    {"POST /" H11 "Transfer-Encoding: identity\r\n\r\n", 400, "TE identity"},
    {"POST /" H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400,
     "TE lines chunked, gzip"},
    {"POST /" H11 "Transfer-Encoding: gzip, chunked\r\n\r\n", 501, "TE gzip, chunked"},
    {"POST /" H11 "Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
     "TE lines gzip then chunked"},
    {"POST /" H11 "Transfer-Encoding: chunked, chunked\r\n\r\n", 501, "chunked twice"},
    {"POST /" H11 "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", 501,
     "chunked twice across lines"},
    {"POST /" H11 "Transfer-Encoding: x;q=\"a,chunked\", chunked\r\n\r\n", 501,
     "quoted comma in a parameter"},
    {"POST /" H11 "Transfer-Encoding: chunked;a=b\r\n\r\n", 400, "chunked with a parameter"},
    {"POST /" H11 "Transfer-Encoding: \r\n\r\n", 400, "empty TE"},
    {"POST /" H11 "Transfer-Encoding: ,\r\n\r\n", 400, "TE with only empty members"},
    {"POST /" H11 "Transfer-Encoding: chunked x\r\n\r\n", 400, "TE junk after coding"},
    {"POST /" H11 "Transfer-Encoding: chunk\x01"
     "ed\r\n\r\n",
     400, "TE with control byte"},
    {"POST /" H11 "Transfer-Encoding: \"chunked\"\r\n\r\n", 400, "TE quoted"},
    {"POST /" H11 "Transfer-Encoding : chunked\r\n\r\n", 400, "TE SP before colon"},
    {"POST /" H11 "Transfer-Encoding:\r\n chunked\r\n\r\n", 400, "TE obs-folded"},
    {"POST /" H11 "Transfer-Encoding: xchunked\r\n\r\n", 400, "TE xchunked"},
    /* Expect */
    {"POST /" H11 "Expect: something\r\n\r\n", 417, "unknown expectation"},
    {"POST /" H11 "Expect: 100-continue, x\r\n\r\n", 417, "expectation list"},
};

struct lf_case {
    const char *raw;
    size_t len;
    int status;
    const char *what;
};

/* NUL bytes need explicit lengths */
#define L(s) s, sizeof(s) - 1
static const struct lf_case nul[] = {
    {L("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "NUL in target"},
    {L("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n"), 400, "NUL in value"},
    {L("GET / HTTP/1.1\r\nHost: a\r\nX\0: ab\r\n\r\n"), 400, "NUL in name"},
    {L("G\0T / HTTP/1.1\r\nHost: a\r\n\r\n"), 400, "NUL in method"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        is_int(st(bad[i].raw), bad[i].status, "%d: %s", bad[i].status, bad[i].what);
    for (size_t i = 0; i < sizeof(nul) / sizeof(nul[0]); i++) {
        is_int(strlen(nul[i].raw) < nul[i].len, 1, "case has an embedded NUL");
        is_int(run(nul[i].raw, nul[i].len, &DEF, NULL, NULL), nul[i].status, "%d: %s",
               nul[i].status, nul[i].what);
    }
}

static void test_good(void)
{
    struct http_request r;
    const char *why = "x";
    const char *raw = "GET /a/b?x=1&y HTTP/1.1\r\nHost: Example.COM:8080\r\n"
                      "User-Agent:  curl/8 \r\nAccept:*/*\r\nX-Empty:\r\n"
                      "X-Tab:\tv\t1\t\r\nX-Obs: caf\xc3\xa9\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, &why), 0, "origin-form request parses");
    ok(why == NULL, "no reason on success");
    is_str(r.request_line, "GET /a/b?x=1&y HTTP/1.1", "request_line kept whole");
    is_str(r.method, "GET", "method");
    is_int(r.m, HTTP_GET, "method enum");
    is_str(r.target, "/a/b?x=1&y", "target as sent");
    is_str(r.path, "/a/b", "path without query");
    is_str(r.query, "x=1&y", "query");
    is_str(r.protocol, "HTTP/1.1", "protocol");
    is_int(r.version, 11, "version 11");
    is_int(r.n_headers, 6, "six headers");
    is_str(r.host, "Example.COM:8080", "host from Host");
    is_str(r.headers[1].name, "User-Agent", "header name case kept");
    is_str(r.headers[1].value, "curl/8", "OWS trimmed both sides");
    is_int(r.headers[1].value_len, 6, "value_len");
    is_int(r.headers[1].name_len, 10, "name_len");
    is_str(r.headers[2].value, "*/*", "value without OWS");
    is_str(r.headers[3].value, "", "empty value");
    is_str(r.headers[4].value, "v\t1", "inner HTAB kept, outer trimmed");
    is_str(r.headers[5].value, "caf\xc3\xa9", "obs-text allowed in value");
    is_str(http_header_get(&r, "user-agent"), "curl/8", "http_header_get case-insensitive");
    ok(http_header_get(&r, "Cookie") == NULL, "http_header_get absent");
    is_int(r.content_length, -1, "no Content-Length");
    is_int(r.chunked, 0, "not chunked");
    is_int(r.has_te, 0, "no TE");
    is_int(r.conn_close, 0, "1.1 keep-alive by default");
    is_int(r.expect_continue, 0, "no expect");

    raw = "GET /p HTTP/1.1\r\nHost: a\r\nX-Dup: 1\r\nx-dup: 2\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "duplicate headers accepted");
    is_str(http_header_get(&r, "X-DUP"), "1", "header_get returns the first");
    is_str(r.query, NULL, "no query");
    is_str(r.path, "/p", "path");
    memcpy(buf, "GET / HTTP/1.0\r\n\r\nX", 19);
    is_int(http_parse_request(buf, 19, &DEF, A, &r, NULL), 400, "parser: bytes after the head");
    memcpy(buf, "GET / HTTP/1.0\r\nX: y\r\n", 22);
    is_int(http_parse_request(buf, 22, &DEF, A, &r, NULL), 400, "parser: head without end");

    raw = "GET http://Back.example:81/x/y?q=1 HTTP/1.1\r\nHost: other\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "absolute-form parses");
    is_str(r.host, "Back.example:81", "host from absolute-form wins over Host");
    is_str(r.path, "/x/y", "absolute-form path");
    is_str(r.query, "q=1", "absolute-form query");
    is_str(r.target, "http://Back.example:81/x/y?q=1", "absolute-form target kept");

    raw = "GET HTTPS://h?z HTTP/1.1\r\nHost: h\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "https absolute-form without path");
    is_str(r.path, "/", "empty path becomes /");
    is_str(r.query, "z", "query right after authority");
    is_str(r.host, "h", "host");

    raw = "GET http://[::1]:8080/ HTTP/1.1\r\nHost: [::1]:8080\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "IPv6 literal authority and Host");
    is_str(r.host, "[::1]:8080", "IPv6 host");

    raw = "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "asterisk-form with OPTIONS");
    is_str(r.path, "*", "asterisk path");
    is_int(r.m, HTTP_OPTIONS, "OPTIONS enum");

    raw = "CONNECT db.example:5432 HTTP/1.1\r\nHost: db.example:5432\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "authority-form with CONNECT");
    is_str(r.host, "db.example:5432", "CONNECT host");
    is_str(r.path, "", "CONNECT path is empty");

    raw = "GET / HTTP/1.0\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "HTTP/1.0 without Host");
    is_int(r.version, 10, "version 10");
    ok(r.host == NULL, "host NULL");
    is_int(r.conn_close, 1, "1.0 closes by default");
    is_int(r.n_headers, 0, "no headers");

    raw = "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "HTTP/1.0 keep-alive");
    is_int(r.conn_close, 0, "keep-alive: not closing");
    is_int(r.conn_keepalive, 1, "conn_keepalive");

    raw = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, CLOSE\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "Connection list");
    is_int(r.conn_close, 1, "close found in a list, any case");

    raw = "GET / HTTP/1.0\r\nConnection: keep-alive\r\nConnection: close\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "keep-alive and close");
    is_int(r.conn_close, 1, "close wins");
    is_int(r.conn_keepalive, 0, "keepalive cleared when closing");

    raw = "get / HTTP/1.1\r\nHost: a\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "unknown (lower-case) method is a token");
    is_int(r.m, HTTP_OTHER, "lower-case get is HTTP_OTHER");

    raw = "GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "obs-text in target passes as in httpd");
}

static void test_framing_good(void)
{
    struct http_request r;
    const char *raw = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 42\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "Content-Length");
    is_int(r.content_length, 42, "CL value");

    raw = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 7, 7\r\nContent-Length: 007\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "identical CL values fold");
    is_int(r.content_length, 7, "folded CL value");

    raw = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9223372036854775807\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "CL 2^63-1 accepted");
    is_int(r.content_length, 9223372036854775807LL, "CL max value");

    raw = "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "CL 0");
    is_int(r.content_length, 0, "CL 0 value");

    raw = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "TE chunked (any case)");
    is_int(r.chunked, 1, "chunked");
    is_int(r.has_te, 1, "has_te");
    is_int(r.conn_close, 0, "1.1 chunked keeps the connection");

    raw = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: , chunked ,\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "empty TE list members ignored");

    raw = "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "TE on HTTP/1.0 is parsed");
    is_int(r.has_te, 1, "1.0 TE: has_te");
    is_int(r.chunked, 1, "1.0 TE: chunked");
    is_int(r.conn_close, 1, "1.0 TE: close afterwards despite keep-alive");

    raw = "POST / HTTP/1.1\r\nHost: a\r\nExpect: 100-Continue\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "Expect: 100-continue");
    is_int(r.expect_continue, 1, "expect_continue");

    raw = "POST / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "Expect on 1.0");
    is_int(r.expect_continue, 0, "ignored on HTTP/1.0 (RFC 9110 10.1.1)");
}

static void test_line_endings(void)
{
    struct http_request r;
    const char *raw = "GET /lf HTTP/1.1\nHost: a\nX: y\n\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "bare LF line endings accepted");
    is_str(r.headers[1].value, "y", "LF-terminated value");
    raw = "GET /mix HTTP/1.1\r\nHost: a\nX: y\r\n\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "mixed CRLF / LF");
    raw = "\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    is_int(run(raw, strlen(raw), &DEF, &r, NULL), 0, "leading empty lines skipped");
    is_str(r.request_line, "GET / HTTP/1.1", "request line after empty lines");

    char tmp[256];
    size_t n = 0;
    for (int i = 0; i < HTTP_MAX_LEADING_EMPTY; i++)
        n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "\r\n");
    n += (size_t)snprintf(tmp + n, sizeof(tmp) - n, "GET / HTTP/1.0\r\n\r\n");
    is_int(run(tmp, n, &DEF, NULL, NULL), 0, "exactly HTTP_MAX_LEADING_EMPTY empty lines");
    memmove(tmp + 2, tmp, n);
    memcpy(tmp, "\r\n", 2);
    is_int(run(tmp, n + 2, &DEF, NULL, NULL), 400, "one more empty line: 400");
    is_int(st("\r\n\r\n"), -1, "only empty lines: more data needed");
    is_int(st("\r"), -1, "lone CR at start: more data needed");
    is_int(st("\r\rGET / HTTP/1.0\r\n\r\n"), 400, "bare CR before the request line");
}

/* Builds "GET /aaa… HTTP/1.1" of exactly `len` bytes then the given header section. */
static size_t mk_line(char *out, size_t len, const char *rest)
{
    size_t fixed = strlen("GET / HTTP/1.1");
    size_t n = 0;
    memcpy(out, "GET /", 5);
    n = 5;
    for (size_t i = 0; i < len - fixed; i++)
        out[n++] = 'a';
    memcpy(out + n, " HTTP/1.1\r\n", 11);
    n += 11;
    size_t rl = strlen(rest);
    memcpy(out + n, rest, rl);
    return n + rl;
}

/* "Host: a\r\nX: vvv…" where the X line content is exactly len bytes. */
static size_t mk_field(char *out, size_t len)
{
    size_t n = (size_t)snprintf(out, 64, "GET / HTTP/1.1\r\nHost: a\r\nX: ");
    for (size_t i = 0; i < len - 3; i++)
        out[n++] = 'v';
    memcpy(out + n, "\r\n\r\n", 4);
    return n + 4;
}

static size_t mk_fields(char *out, int count)
{
    size_t n = (size_t)snprintf(out, 64, "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < count; i++)
        n += (size_t)snprintf(out + n, 64, "X-%d: v\r\n", i);
    memcpy(out + n, "\r\n", 2);
    return n + 2;
}

static void test_limits(void)
{
    static char raw[1 << 17];
    struct http_limits small = {40, 30, 5};
    size_t n;

    n = mk_line(raw, 40, "Host: a\r\n\r\n");
    is_int(run(raw, n, &small, NULL, NULL), 0, "request line exactly at LimitRequestLine");
    n = mk_line(raw, 41, "Host: a\r\n\r\n");
    is_int(run(raw, n, &small, NULL, NULL), 414, "request line one past: 414");
    is_int(http_head_end(raw, 41, &small), -414, "head_end: 414 before the line ends");
    is_int(http_head_end(raw, 40, &small), 0, "head_end: 40 bytes, still waiting");
    n = mk_line(raw, 40, "Host: a\r\n\r\n");
    is_int(http_head_end(raw, 41, &small), 0, "head_end: limit + CR still waiting");
    /* the parser checks the limit on its own too (callers may skip head_end) */
    n = mk_line(raw, 41, "Host: a\r\n\r\n");
    memcpy(buf, raw, n);
    arena_reset(A);
    struct http_request r;
    is_int(http_parse_request(buf, n, &small, A, &r, NULL), 414, "parser alone: 414");
    n = mk_line(raw, 8190, "Host: a\r\n\r\n");
    is_int(run(raw, n, &DEF, NULL, NULL), 0, "default limit: 8190 ok");
    n = mk_line(raw, 8191, "Host: a\r\n\r\n");
    is_int(run(raw, n, &DEF, NULL, NULL), 414, "default limit: 8191 is 414");
    is_int(run(raw, n, NULL, NULL, NULL), 414, "NULL limits use 8190");

    n = mk_field(raw, 30);
    is_int(run(raw, n, &small, NULL, NULL), 0, "field exactly at LimitRequestFieldSize");
    n = mk_field(raw, 31);
    is_int(run(raw, n, &small, NULL, NULL), 431, "field one past: 431");
    is_int(http_head_end(raw, n - 4, &small), -431, "head_end: 431 before the field ends");
    memcpy(buf, raw, n);
    arena_reset(A);
    is_int(http_parse_request(buf, n, &small, A, &r, NULL), 431, "parser alone: 431 field");
    n = mk_field(raw, 8190);
    is_int(run(raw, n, &DEF, NULL, NULL), 0, "default field 8190 ok");
    n = mk_field(raw, 8191);
    is_int(run(raw, n, &DEF, NULL, NULL), 431, "default field 8191 is 431");

    n = mk_fields(raw, 5);
    is_int(run(raw, n, &small, NULL, NULL), 0, "fields exactly at LimitRequestFields");
    n = mk_fields(raw, 6);
    is_int(run(raw, n, &small, NULL, NULL), 431, "one field more: 431");
    is_int(http_head_end(raw, n - 6, &small), -431, "head_end: 431 on the partial 6th field");
    memcpy(buf, raw, n);
    arena_reset(A);
    is_int(http_parse_request(buf, n, &small, A, &r, NULL), 431, "parser alone: 431 count");
    n = mk_fields(raw, 100);
    is_int(run(raw, n, &DEF, NULL, NULL), 0, "100 fields with default limit");
    n = mk_fields(raw, 101);
    is_int(run(raw, n, &DEF, NULL, NULL), 431, "101 fields: 431");
    struct http_limits unlimited = {8190, 8190, 0};
    n = mk_fields(raw, 3000);
    is_int(run(raw, n, &unlimited, &r, NULL), 0, "LimitRequestFields 0: unlimited");
    is_int(r.n_headers, 3000, "all 3000 headers kept");

    /* with no field-count limit the whole head is still capped */
    static char big[HTTP_HEAD_MAX + 8192];
    size_t bn = (size_t)snprintf(big, 64, "GET / HTTP/1.1\r\n");
    while (bn < HTTP_HEAD_MAX + 100)
        bn += (size_t)snprintf(big + bn, 64, "X: 0123456789012345678901234567890123456789\r\n");
    is_int(http_head_end(big, bn, &unlimited), -431, "unlimited fields: whole head capped");
}

static void test_incremental(void)
{
    const char *raw = "\r\nPOST /x?y HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc";
    size_t head = strlen(raw) - 3;
    int fails = 0;
    for (size_t i = 0; i < head; i++)
        if (http_head_end(raw, i, &DEF) != 0)
            fails++;
    is_int(fails, 0, "every prefix of the head: more data needed");
    is_int(http_head_end(raw, head, &DEF), (long long)head, "complete head found");
    is_int(http_head_end(raw, strlen(raw), &DEF), (long long)head, "body bytes not counted");
}

static void test_helpers(void)
{
    is_str(http_reason(200), "OK", "reason 200");
    is_str(http_reason(404), "Not Found", "reason 404");
    is_str(http_reason(414), "Request-URI Too Long", "reason 414 (httpd)");
    is_str(http_reason(431), "Request Header Fields Too Large", "reason 431");
    is_str(http_reason(505), "HTTP Version Not Supported", "reason 505");
    is_str(http_reason(999), "Unknown", "reason unknown");
    is_int(http_method_parse("GET"), HTTP_GET, "method GET");
    is_int(http_method_parse("PATCH"), HTTP_PATCH, "method PATCH");
    is_int(http_method_parse("CONNECT"), HTTP_CONNECT, "method CONNECT");
    is_int(http_method_parse("Get"), HTTP_OTHER, "methods are case-sensitive");
    is_int(http_method_parse("PROPFIND"), HTTP_OTHER, "other method");
}

int main(void)
{
    A = arena_create(0);
    if (A == NULL)
        return 1;
    test_bad();
    test_good();
    test_framing_good();
    test_line_endings();
    test_limits();
    test_incremental();
    test_helpers();
    arena_destroy(A);
    return tap_done();
}
