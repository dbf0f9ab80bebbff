/* Chunked decoder: good bodies at every split point, each malformed form, the caps. */
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"
#include "tap.h"

#define L(s) s, sizeof(s) - 1

struct result {
    int rc;
    size_t consumed;
    char body[4096];
    size_t body_len;
};

/* Feeds in[0..len) in pieces cut at the given points (sorted, ending with len), as a socket
 * would deliver it, and collects the body. Stops at the first non-zero return. */
static void feed(const char *in, size_t len, const size_t *cuts, size_t ncuts, size_t max_line,
                 size_t max_trailer, struct result *r)
{
    struct http_chunked c;
    http_chunked_init(&c, max_line, max_trailer);
    memset(r, 0, sizeof(*r));
    size_t pos = 0;
    for (size_t k = 0; k < ncuts; k++) {
        size_t end = cuts[k];
        while (pos < end) {
            size_t used, made;
            r->rc =
                http_chunked_decode(&c, in + pos, end - pos, &used, r->body + r->body_len, &made);
            pos += used;
            r->consumed += used;
            r->body_len += made;
            if (r->rc != 0)
                return;
            if (used == 0)
                break;
        }
    }
}

static void whole(const char *in, size_t len, struct result *r)
{
    size_t cut = len;
    feed(in, len, &cut, 1, 0, 0, r);
}

/* Same result for every single split point and for one byte at a time. */
static int all_splits_agree(const char *in, size_t len, const struct result *want)
{
    struct result r;
    for (size_t i = 0; i <= len; i++) {
        size_t cuts[2] = {i, len};
        feed(in, len, cuts, 2, 0, 0, &r);
        if (r.rc != want->rc || r.consumed != want->consumed || r.body_len != want->body_len ||
            memcmp(r.body, want->body, r.body_len) != 0) {
            printf("#   split at %zu: rc %d consumed %zu body %zu\n", i, r.rc, r.consumed,
                   r.body_len);
            return 0;
        }
    }
    size_t *cuts = malloc((len + 1) * sizeof(*cuts));
    if (cuts == NULL)
        return 0;
    for (size_t i = 0; i < len; i++)
        cuts[i] = i + 1;
    feed(in, len, cuts, len, 0, 0, &r);
    free(cuts);
    return r.rc == want->rc && r.consumed == want->consumed && r.body_len == want->body_len &&
           memcmp(r.body, want->body, r.body_len) == 0;
}

struct good_case {
    const char *in;
    size_t len;
    const char *body;
    size_t consumed; /* 0 = all of in */
    const char *what;
};

static const struct good_case good[] = {
    {L("5\r\nhello\r\n0\r\n\r\n"), "hello", 0, "one chunk"},
    {L("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"), "hello world", 0, "two chunks"},
    {L("a\r\n0123456789\r\nA\r\nabcdefghij\r\n0\r\n\r\n"), "0123456789abcdefghij", 0,
     "hex lower and upper"},
    {L("005\r\nhello\r\n000\r\n\r\n"), "hello", 0, "leading zeros"},
    {L("5;name=val;x\r\nhello\r\n0;last\r\n\r\n"), "hello", 0, "chunk extensions"},
    {L("5 ;q=\"a b\"\r\nhello\r\n0\t;x\r\n\r\n"), "hello", 0, "BWS before extension"},
    {L("3\r\n\r\n\r\r\n0\r\n\r\n"), "\r\n\r", 0, "CR LF inside data is data"},
    {L("0\r\n\r\n"), "", 0, "empty body"},
    {L("2\r\nok\r\n0\r\nX-Sum: abc\r\nX-Other:\t v \r\n\r\n"), "ok", 0, "trailer fields"},
    {L("2\r\nok\r\n0\r\n\r\nGET / HTTP/1.1\r\n"), "ok", 12, "next request not consumed"},
};

struct bad_case {
    const char *in;
    size_t len;
    const char *what;
};

static const struct bad_case bad[] = {
    {L("g\r\n"), "bad hex"},
    {L("\r\n"), "no size"},
    {L(";x\r\n"), "extension without size"},
    {L("-5\r\nhello\r\n"), "negative size"},
    {L("0x5\r\nhello\r\n"), "0x prefix"},
    {L("+5\r\nhello\r\n"), "plus sign"},
    {L(" 5\r\nhello\r\n"), "leading space"},
    {L("5 \r\nhello\r\n"), "trailing space without extension"},
    {L("5\nhello\r\n0\r\n\r\n"), "bare LF after size"},
    {L("5\rhello\r\n0\r\n\r\n"), "bare CR after size"},
    {L("5\r\nhelloX\r\n0\r\n\r\n"), "data longer than size"},
    {L("5\r\nhello\n0\r\n\r\n"), "bare LF after data"},
    {L("5\r\nhello\r0\r\n\r\n"), "bare CR after data"},
    {L("5\r\nhello0\r\n\r\n"), "no CRLF after data"},
    {L("5;a\nb\r\nhello\r\n"), "bare LF in extension"},
    {L("5;a\x01\r\nhello\r\n"), "control byte in extension"},
    {L("5;a\0\r\nhello\r\n"), "NUL in extension"},
    {L("00000000000000005\r\nhello\r\n"), "17 hex digits"},
    {L("8000000000000000\r\n"), "size 2^63"},
    {L("ffffffffffffffff\r\n"), "size 2^64-1"},
    {L("10000000000000000\r\n"), "size 2^64 (overflow)"},
    {L("0\r\nX: a\r\n b\r\n\r\n"), "obs-fold in trailer"},
    {L("0\r\n X: a\r\n\r\n"), "trailer starting with SP"},
    {L("0\r\nNoColon\r\n\r\n"), "trailer without colon"},
    {L("0\r\nX : a\r\n\r\n"), "SP before colon in trailer"},
    {L("0\r\nX: a\nY: b\r\n\r\n"), "bare LF in trailer"},
    {L("0\r\nX: a\rb\r\n\r\n"), "bare CR in trailer"},
    {L("0\r\nX: a\0\r\n\r\n"), "NUL in trailer"},
    {L("0\r\n\n"), "bare LF as final line"},
    {L("0\r\n\r\r"), "CR CR as final line"},
    {L("0\n\r\n"), "bare LF after last-chunk"},
};

static void test_good(void)
{
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct result r;
        const struct good_case *g = &good[i];
        size_t want_used = g->consumed ? g->consumed : g->len;
        whole(g->in, g->len, &r);
        is_int(r.rc, 1, "%s: done", g->what);
        is_int(r.consumed, want_used, "%s: consumed", g->what);
        r.body[r.body_len] = '\0';
        is_str(r.body, g->body, "%s: body", g->what);
        ok(all_splits_agree(g->in, g->len, &r), "%s: every split point agrees", g->what);
    }
}

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct result r;
        whole(bad[i].in, bad[i].len, &r);
        is_int(r.rc, -1, "rejected: %s", bad[i].what);
        ok(all_splits_agree(bad[i].in, bad[i].len, &r), "%s: rejected at every split", bad[i].what);
    }
}

static void test_sizes(void)
{
    struct http_chunked c;
    size_t used, made;
    char out[64];
    http_chunked_init(&c, 0, 0);
    is_int(http_chunked_decode(&c, L("7fffffffffffffff\r\nab"), &used, out, &made), 0,
           "size 2^63-1 accepted, waiting for data");
    is_int(made, 2, "two data bytes produced");
    ok(c.remaining == 0x7fffffffffffffffULL - 2, "remaining counts down");
    http_chunked_init(&c, 0, 0);
    is_int(http_chunked_decode(&c, L("0000000000000010\r\n"), &used, out, &made), 0,
           "16 hex digits accepted");
    ok(c.remaining == 16, "16-digit size value");
}

static void test_caps(void)
{
    char in[256];
    struct result r;
    size_t cut;

    /* size line of exactly max_line bytes before CRLF, then one more */
    memcpy(in, "1;", 2);
    memset(in + 2, 'x', 18);
    memcpy(in + 20, "\r\nA\r\n0\r\n\r\n", 10);
    cut = 30;
    feed(in, 30, &cut, 1, 20, 0, &r);
    is_int(r.rc, 1, "size line exactly at the cap");
    memset(in + 2, 'x', 19);
    memcpy(in + 21, "\r\nA\r\n0\r\n\r\n", 10);
    cut = 31;
    feed(in, 31, &cut, 1, 20, 0, &r);
    is_int(r.rc, -1, "size line one past the cap");
    is_int(r.consumed, 21, "rejected as soon as the cap is passed");

    /* default cap of 4096 */
    static char longext[5000];
    memcpy(longext, "1;", 2);
    memset(longext + 2, 'e', sizeof(longext) - 2);
    cut = sizeof(longext);
    feed(longext, sizeof(longext), &cut, 1, 0, 0, &r);
    is_int(r.rc, -1, "endless extension stops at the default 4096");
    is_int(r.consumed, 4097, "after 4097 bytes");

    /* trailer section: "X: vv\r\n" lines then CRLF, capped */
    const char *t = "0\r\nX: 12345\r\n\r\n"; /* trailer section = 12 bytes */
    cut = strlen(t);
    feed(t, strlen(t), &cut, 1, 0, 12, &r);
    is_int(r.rc, 1, "trailer section exactly at the cap");
    feed(t, strlen(t), &cut, 1, 0, 11, &r);
    is_int(r.rc, -1, "trailer section one past the cap");
}

static void test_misc(void)
{
    struct http_chunked c;
    size_t used, made;
    char out[64];

    /* in-place decoding */
    char in[] = "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n";
    http_chunked_init(&c, 0, 0);
    is_int(http_chunked_decode(&c, in, strlen(in), &used, in, &made), 1, "in-place decode");
    is_int(made, 7, "in-place length");
    ok(memcmp(in, "abcdefg", 7) == 0, "in-place body");

    /* sticky states */
    is_int(http_chunked_decode(&c, L("5\r\n"), &used, out, &made), 1, "done stays done");
    is_int(used, 0, "nothing consumed after done");
    http_chunked_init(&c, 0, 0);
    is_int(http_chunked_decode(&c, L("z"), &used, out, &made), -1, "error");
    is_int(http_chunked_decode(&c, L("0\r\n\r\n"), &used, out, &made), -1, "error is sticky");

    /* a zeroed struct without init works with the default caps */
    memset(&c, 0, sizeof(c));
    is_int(http_chunked_decode(&c, L("1\r\nz\r\n0\r\n\r\n"), &used, out, &made), 1,
           "zeroed struct decodes");
    is_int(http_chunked_decode(&c, "", 0, &used, out, &made), 1, "empty input after done");

    http_chunked_init(&c, 0, 0);
    is_int(http_chunked_decode(&c, "", 0, &used, out, &made), 0, "empty input: need more");
    is_int(used + made, 0, "nothing used or made");
}

int main(void)
{
    test_good();
    test_bad();
    test_sizes();
    test_caps();
    test_misc();
    return tap_done();
}
