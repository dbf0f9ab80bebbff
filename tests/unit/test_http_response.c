/* Backend response head parser: status lines, headers, ProxyBadHeader, framing, limits. */
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http_response.h"
#include "tap.h"

enum { BAD = -1 };

/* Expected outcome of one head. rc: 0 or BAD. framing/cl/close only checked when rc == 0. */
struct pcase {
    const char *name;
    const char *head;
    int head_req;
    int bad_header;
    int rc;
    int status;
    int framing;
    long long cl;
    int conn_close;
};

static struct arena *A;

/* Runs head_end then parse on a private copy, as the proxy does. */
static int run(const char *head, int head_req, int bad, struct http_response *resp,
               ssize_t *end_out)
{
    size_t len = strlen(head);
    char *buf = arena_strndup(A, head, len);
    struct http_response_limits lim = {0, 0, 0, bad};
    ssize_t end = http_response_head_end(buf, len, &lim);
    if (end_out)
        *end_out = end;
    if (end <= 0)
        return BAD;
    return http_response_parse(buf, (size_t)end, &lim, head_req, A, resp, NULL);
}

static const struct pcase cases[] = {
    /* status lines */
    {"200 CL", "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 0, 0, 0, 200, HTTP_BODY_LENGTH, 5,
     0},
    {"HTTP/1.0 keeps close", "HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_LENGTH, 5, 1},
    {"HTTP/1.0 keep-alive",
     "HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_LENGTH, 0, 0},
    {"empty reason with SP", "HTTP/1.1 404 \r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 404,
     HTTP_BODY_LENGTH, 0, 0},
    {"no reason, no SP", "HTTP/1.1 404\r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 404,
     HTTP_BODY_LENGTH, 0, 0},
    {"HTTP/1.2 taken as 1.1", "HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_LENGTH, 0, 0},
    {"bare LF lines", "HTTP/1.1 200 OK\nContent-Length: 2\n\n", 0, 0, 0, 200, HTTP_BODY_LENGTH, 2,
     0},
    {"one leading empty line", "\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_LENGTH, 1, 0},
    {"two leading empty lines", "\r\n\r\nHTTP/1.1 200 OK\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"HTTP/2.0", "HTTP/2.0 200 OK\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"HTTP/0.9 body", "<html>hi</html>\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"lower-case http", "http/1.1 200 OK\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"two-digit status", "HTTP/1.1 20 OK\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"four-digit status", "HTTP/1.1 2000 OK\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"status 600", "HTTP/1.1 600 Odd\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"status 099", "HTTP/1.1 099 Odd\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"letters in status", "HTTP/1.1 2x0 OK\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"two spaces before status", "HTTP/1.1  200 OK\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"control byte in reason", "HTTP/1.1 200 O\x01K\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"bare CR in status line", "HTTP/1.1 200 O\rK\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    /* headers */
    {"space before colon", "HTTP/1.1 200 OK\r\nX-Sp : 1\r\nContent-Length: 0\r\n\r\n", 0, 0, BAD, 0,
     0, 0, 0},
    {"empty name", "HTTP/1.1 200 OK\r\n: v\r\nContent-Length: 0\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"bad name char", "HTTP/1.1 200 OK\r\nX(a): v\r\nContent-Length: 0\r\n\r\n", 0, 0, BAD, 0, 0, 0,
     0},
    {"bare CR in value", "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 2\r\n\r\n", 0, 0, BAD, 0,
     0, 0, 0},
    {"NUL in value", "HTTP/1.1 200 OK\r\nX-A: a\001b\r\nContent-Length: 2\r\n\r\n", 0, 0, BAD, 0, 0,
     0, 0},
    {"no colon, IsError",
     "HTTP/1.1 200 OK\r\nX-Good: 1\r\nThis is bad\r\nContent-Length: 2\r\n\r\n", 0,
     HTTP_BAD_HEADER_ERROR, BAD, 0, 0, 0, 0},
    {"no colon, Ignore", "HTTP/1.1 200 OK\r\nX-Good: 1\r\nThis is bad\r\nContent-Length: 2\r\n\r\n",
     0, HTTP_BAD_HEADER_IGNORE, 0, 200, HTTP_BODY_LENGTH, 2, 0},
    {"no colon first, StartBody", "HTTP/1.1 200 OK\r\nThis is bad\r\n\r\n", 0,
     HTTP_BAD_HEADER_START_BODY, BAD, 0, 0, 0, 0},
    {"stray status line ignored", "HTTP/1.1 200 OK\r\nHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
     0, 0, 0, 200, HTTP_BODY_LENGTH, 0, 0},
    {"fold before any header", "HTTP/1.1 200 OK\r\n  x\r\nContent-Length: 0\r\n\r\n", 0, 0, BAD, 0,
     0, 0, 0},
    /* framing */
    {"duplicate equal CL", "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\n", 0,
     0, 0, 200, HTTP_BODY_LENGTH, 3, 0},
    {"CL list equal", "HTTP/1.1 200 OK\r\nContent-Length: 3, 3\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_LENGTH, 3, 0},
    {"differing CL", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n", 0, 0, BAD,
     0, 0, 0, 0},
    {"CL list differing", "HTTP/1.1 200 OK\r\nContent-Length: 2, 3\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"negative CL", "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"CL with junk", "HTTP/1.1 200 OK\r\nContent-Length: 12abc\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"empty CL", "HTTP/1.1 200 OK\r\nContent-Length:\r\n\r\n", 0, 0, BAD, 0, 0, 0, 0},
    {"CL overflow", "HTTP/1.1 200 OK\r\nContent-Length: 99999999999999999999\r\n\r\n", 0, 0, BAD, 0,
     0, 0, 0},
    {"chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_CHUNKED, -1, 0},
    {"gzip, chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_CHUNKED, -1, 0},
    {"CL + TE: TE wins, close",
     "HTTP/1.1 200 OK\r\nContent-Length: 100\r\nTransfer-Encoding: chunked\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_CHUNKED, -1, 1},
    {"TE not chunked: close-delimited", "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 0,
     0, 200, HTTP_BODY_CLOSE, -1, 1},
    {"chunked then gzip line",
     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 0, 0, 0,
     200, HTTP_BODY_CLOSE, -1, 1},
    {"no framing: close-delimited", "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", 0, 0, 0,
     200, HTTP_BODY_CLOSE, -1, 1},
    {"Connection: close",
     "HTTP/1.1 200 OK\r\nConnection: Keep-Alive, CLOSE\r\nContent-Length: 1\r\n\r\n", 0, 0, 0, 200,
     HTTP_BODY_LENGTH, 1, 1},
    {"HEAD keeps CL value", "HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n", 1, 0, 0, 200,
     HTTP_BODY_NONE, 1234, 0},
    {"HEAD chunked", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 1, 0, 0, 200,
     HTTP_BODY_NONE, -1, 0},
    {"204 ignores CL", "HTTP/1.1 204 No Content\r\nContent-Length: 10\r\n\r\n", 0, 0, 0, 204,
     HTTP_BODY_NONE, 10, 0},
    {"304 no body", "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n", 0, 0, 0, 304,
     HTTP_BODY_NONE, -1, 0},
    {"100 interim", "HTTP/1.1 100 Continue\r\n\r\n", 0, 0, 0, 100, HTTP_BODY_NONE, -1, 0},
    {"103 early hints", "HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n", 0, 0, 0,
     103, HTTP_BODY_NONE, -1, 0},
    {"101 upgrade",
     "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", 0, 0,
     0, 101, HTTP_BODY_NONE, -1, 0},
};

static void test_table(void)
{
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const struct pcase *c = &cases[i];
        struct http_response resp;
        int rc = run(c->head, c->head_req, c->bad_header, &resp, NULL);
        if (c->rc == BAD) {
            is_int(rc, BAD, "%s: invalid", c->name);
            continue;
        }
        is_int(rc, 0, "%s: parses", c->name);
        if (rc != 0)
            continue;
        ok(resp.status == c->status && (int)resp.framing == c->framing &&
               resp.content_length == c->cl && resp.conn_close == c->conn_close,
           "%s: status %d framing %d cl %lld close %d", c->name, resp.status, (int)resp.framing,
           resp.content_length, resp.conn_close);
    }
}

static void test_details(void)
{
    struct http_response resp;
    ssize_t end;
    int rc = run("HTTP/1.1 302 Found Here\r\nLocation:  http://b/x  \r\nSet-Cookie: a=1\r\n"
                 "Set-Cookie: b=2\r\nContent-Length: 0\r\n\r\nBODY",
                 0, 0, &resp, &end);
    is_int(rc, 0, "redirect parses");
    is_str(resp.reason, "Found Here", "reason phrase kept");
    is_str(http_response_header(&resp, "location"), "http://b/x", "value OWS trimmed");
    is_int(resp.n_headers, 4, "duplicate Set-Cookie kept apart");
    is_int(end,
           (ssize_t)strlen("HTTP/1.1 302 Found Here\r\nLocation:  http://b/x  \r\n"
                           "Set-Cookie: a=1\r\nSet-Cookie: b=2\r\nContent-Length: 0\r\n\r\n"),
           "head end excludes the body");
    is_int((long long)resp.head_len, (long long)end, "head_len is the whole head");

    rc = run("HTTP/1.1 200 OK\r\nX-Fold: a\r\n  b\r\n\tc \r\nContent-Length: 2\r\n\r\n", 0, 0,
             &resp, NULL);
    is_int(rc, 0, "obs-fold accepted");
    is_str(http_response_header(&resp, "X-Fold"), "a b c", "obs-fold merged with one SP");
    is_int(resp.n_headers, 2, "fold lines are not headers");

    rc = run("HTTP/1.1 200 OK\r\nX-Good: 1\r\nThis is bad\r\nContent-Length: 2\r\n\r\nok", 0,
             HTTP_BAD_HEADER_IGNORE, &resp, NULL);
    is_int(resp.n_headers, 2, "Ignore drops the bad line");

    const char *sb = "HTTP/1.1 200 OK\r\nX-Good: 1\r\nThis is body\r\nmore\r\n\r\n";
    rc = run(sb, 0, HTTP_BAD_HEADER_START_BODY, &resp, &end);
    is_int(rc, 0, "StartBody after a header parses");
    is_int(end, (ssize_t)strlen("HTTP/1.1 200 OK\r\nX-Good: 1\r\n"),
           "StartBody: head ends at the bad line");
    is_int((long long)resp.head_len, (long long)end, "StartBody: head_len");
    is_int((int)resp.framing, HTTP_BODY_CLOSE, "StartBody: close-delimited body");
    is_int(resp.n_headers, 1, "StartBody: one header");

    /* StartBody finds the bad line even without an empty line after it */
    struct http_response_limits sbl = {0, 0, 0, HTTP_BAD_HEADER_START_BODY};
    const char *nb = "HTTP/1.1 200 OK\r\nX: 1\r\n<html>";
    is_int(http_response_head_end(nb, strlen(nb), &sbl), 0, "StartBody: bad line needs its end");
    nb = "HTTP/1.1 200 OK\r\nX: 1\r\n<html>\n";
    is_int(http_response_head_end(nb, strlen(nb), &sbl),
           (ssize_t)strlen("HTTP/1.1 200 OK\r\nX: 1\r\n"),
           "StartBody: bad line with LF ends the head");

    rc =
        run("HTTP/1.1 101 Switching Protocols\r\nUpgrade: WebSocket\r\nConnection: upgrade\r\n\r\n",
            0, 0, &resp, NULL);
    ok(rc == 0 && resp.conn_upgrade && resp.upgrade && strcmp(resp.upgrade, "WebSocket") == 0,
       "101: upgrade token and protocol");
}

static void test_incremental(void)
{
    const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n";
    size_t n = strlen(h);
    int need_more = 1;
    for (size_t i = 0; i < n; i++)
        if (http_response_head_end(h, i, NULL) != 0)
            need_more = 0;
    ok(need_more, "every prefix needs more input");
    is_int(http_response_head_end(h, n, NULL), (ssize_t)n, "complete head found");
    is_int(http_response_head_end("HELLO", 5, NULL), -1, "garbage refused before any line end");
    is_int(http_response_head_end("HT", 2, NULL), 0, "partial HTTP/ prefix waits");
    is_int(http_response_head_end("HX", 2, NULL), -1, "wrong prefix refused at once");
    is_int(http_response_head_end("\r", 1, NULL), 0, "leading CR waits for its LF");
    is_int(http_response_head_end("\r\n\r\n", 4, NULL), -1, "second empty line is garbage");
    is_int(http_response_head_end("", 0, NULL), 0, "empty buffer waits");
}

static void test_limits(void)
{
    struct http_response_limits lim = {64, 3, 0, 0};
    char big[256];
    memset(big, 0, sizeof(big));
    memcpy(big, "HTTP/1.1 200 OK\r\nX-Long: ", 25);
    memset(big + 25, 'a', 60);
    is_int(http_response_head_end(big, strlen(big), &lim), -1,
           "line over field_size refused before its end");
    const char *ok4 = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    ok(http_response_head_end(ok4, strlen(ok4), &lim) > 0, "three headers within fields=3");
    const char *many = "HTTP/1.1 200 OK\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
    is_int(http_response_head_end(many, strlen(many), &lim), -1, "fourth header over fields=3");
    struct http_response_limits hl = {0, 0, 40, 0};
    const char *longhead = "HTTP/1.1 200 OK\r\nA: 1234567890\r\nB: 1234567890\r\n";
    is_int(http_response_head_end(longhead, strlen(longhead), &hl), -1, "head over its cap");
    /* parse applies field_size too (a caller may skip head_end) */
    char *copy = arena_strdup(A, "HTTP/1.1 200 OK\r\nX: 0123456789012345678901234567890123456789"
                                 "0123456789012345678901234567890123456789\r\n\r\n");
    struct http_response resp;
    is_int(http_response_parse(copy, strlen(copy), &lim, 0, A, &resp, NULL), -1,
           "parse refuses a line over field_size");
}

static void test_tokens(void)
{
    ok(http_token_list_has("keep-alive, Upgrade", "upgrade"), "token found, case-insensitive");
    ok(http_token_list_has(" close ", "close"), "token with OWS");
    ok(!http_token_list_has("closed", "close"), "prefix is not the token");
    ok(!http_token_list_has("", "close"), "empty list");
    ok(!http_token_list_has(NULL, "close"), "NULL list");
    ok(http_token_list_has("a,,b", "b"), "empty members skipped");
}

int main(void)
{
    A = arena_create(0);
    test_table();
    test_details();
    test_incremental();
    test_limits();
    test_tokens();
    arena_destroy(A);
    return tap_done();
}
