/* Path normalisation table (Appendix C cases first), parameter stripping, full decoding. */
#include <string.h>

#include "tap.h"
#include "uri_norm.h"

struct norm_case {
    const char *in;
    int status;
    const char *out;
};

static const struct norm_case norm[] = {
    /* Appendix C: all four reach the ProxyPass ! exclusion for /service/index */
    {"/service/%69ndex", 0, "/service/index"},
    {"/service/./index", 0, "/service/index"},
    {"/service//index", 0, "/service/index"},
    {"/service/x/../index", 0, "/service/index"},
    {"/service/index", 0, "/service/index"},
    {"/service/index/", 0, "/service/index/"},
    {"/service/indexer", 0, "/service/indexer"},
    /* encoded slash / NUL: 404 (AllowEncodedSlashes Off) */
    {"/a%2Fb", 404, NULL},
    {"/a%2fb", 404, NULL},
    {"/a%00b", 404, NULL},
    {"/%2F", 404, NULL},
    /* climbing above the root: 400 */
    {"/..", 400, NULL},
    {"/../a", 400, NULL},
    {"/a/../..", 400, NULL},
    {"/a/../../b", 400, NULL},
    {"/%2e%2e/a", 400, NULL},
    {"/.%2E/", 400, NULL},
    /* malformed escapes: 400 */
    {"/a%", 400, NULL},
    {"/a%4", 400, NULL},
    {"/a%zz", 400, NULL},
    {"/a%4g", 400, NULL},
    {"/a%g4", 400, NULL},
    {"/%u002e", 400, NULL},
    {"/a%%41", 400, NULL},
    /* not a path */
    {"", 400, NULL},
    {"a/b", 400, NULL},
    {"*", 400, NULL},
    /* dot segments, encoded too */
    {"/", 0, "/"},
    {"//", 0, "/"},
    {"///a///b///", 0, "/a/b/"},
    {"/.", 0, "/"},
    {"/./", 0, "/"},
    {"/a/.", 0, "/a/"},
    {"/a/..", 0, "/"},
    {"/a/../", 0, "/"},
    {"/a/b/..", 0, "/a/"},
    {"/a/b/../..", 0, "/"},
    {"/a/./b/./c", 0, "/a/b/c"},
    {"/a/%2e/b", 0, "/a/b"},
    {"/a/%2E%2E/b", 0, "/b"},
    {"/a/.%2e/b", 0, "/b"},
    {"/a/%2e./b", 0, "/b"},
    {"/a/b/%2e%2e/%2e%2e/c", 0, "/c"},
    {"/a//../b", 0, "/b"},
    {"/a/.../b", 0, "/a/.../b"},
    {"/a/..b/c", 0, "/a/..b/c"},
    {"/a/b../c", 0, "/a/b../c"},
    {"/.a/b.", 0, "/.a/b."},
    {"/a/..;x/b", 0, "/a/..;x/b"},
    /* unreserved decoded, reserved kept with upper-case hex */
    {"/%41%5a%61%7A%30%39", 0, "/AZaz09"},
    {"/%2D%2e%5F%7e", 0, "/-._~"},
    {"/a%3bb", 0, "/a%3Bb"},
    {"/a%3Fb", 0, "/a%3Fb"},
    {"/a%23b", 0, "/a%23b"},
    {"/a%25b", 0, "/a%25b"},
    {"/a%25%32%46", 0, "/a%252F"},
    {"/a%20b", 0, "/a%20b"},
    {"/a%c3%a9", 0, "/a%C3%A9"},
    {"/a%ff", 0, "/a%FF"},
    {"/a;b=c/d", 0, "/a;b=c/d"},
    {"/a?b", 0, "/a?b"},
};

static void test_normalise(void)
{
    for (size_t i = 0; i < sizeof(norm) / sizeof(norm[0]); i++) {
        const struct norm_case *c = &norm[i];
        char out[256];
        size_t n = 12345;
        memset(out, 'Z', sizeof(out));
        int st = uri_normalise(c->in, strlen(c->in), out, &n);
        is_int(st, c->status, "normalise \"%s\": status %d", c->in, c->status);
        if (c->status == 0 && st == 0) {
            is_str(out, c->out, "normalise \"%s\" -> \"%s\"", c->in, c->out);
            is_int(n, strlen(c->out), "length of \"%s\"", c->out);
            ok(n <= strlen(c->in), "never longer than the input");
            /* normalising twice changes nothing */
            char again[256];
            size_t n2;
            int st2 = uri_normalise(out, n, again, &n2);
            ok(st2 == 0 && n2 == n && memcmp(again, out, n) == 0, "idempotent: \"%s\"", out);
        }
    }
    /* the length bounds the input: no reading past it, no NUL needed */
    char out[32];
    size_t n;
    is_int(uri_normalise("/a/b/../cXYZ", 8, out, &n), 0, "length-bounded input");
    is_str(out, "/a/", "only len bytes used");
    is_int(uri_normalise("/a%4", 3, out, &n), 400, "escape cut by the length");
}

struct strip_case {
    const char *in;
    const char *out;
};

static const struct strip_case strip[] = {
    {"/a;x=1/b;y", "/a/b"},
    {"/admin;jsessionid=1", "/admin"},
    {"/admin;/x", "/admin/x"},
    {"/a/b", "/a/b"},
    {"/;x/admin", "/admin"},
    {"/", "/"},
    {"/a;", "/a"},
    {"/a;b;c/d;e/", "/a/d/"},
    /* stripping exposes ".." that a servlet container resolves: resolve it too */
    {"/public/..;/admin", "/admin"},
    {"/public/..;x=1/admin/", "/admin/"},
    {"/..;/admin", "/admin"},
    {"/a/.;x/b", "/a/b"},
};

static void test_strip(void)
{
    for (size_t i = 0; i < sizeof(strip) / sizeof(strip[0]); i++) {
        char out[128];
        size_t n = uri_strip_params(strip[i].in, strlen(strip[i].in), out);
        is_str(out, strip[i].out, "strip \"%s\" -> \"%s\"", strip[i].in, strip[i].out);
        is_int(n, strlen(strip[i].out), "strip length of \"%s\"", strip[i].in);
    }
}

static void test_decode_all(void)
{
    char out[64];
    size_t n;
    is_int(uri_decode_all("/a%20b%3Fc%c3%A9", 16, out, &n), 0, "decode all");
    is_str(out, "/a b?c\xc3\xa9", "everything decoded");
    is_int(n, 8, "decoded length");
    is_int(uri_decode_all("/a%2Fb", 6, out, &n), 404, "decode_all: %%2F is 404");
    is_int(uri_decode_all("/a%00", 5, out, &n), 404, "decode_all: %%00 is 404");
    is_int(uri_decode_all("/a%2", 4, out, &n), 400, "decode_all: short escape");
    is_int(uri_decode_all("/a%xy", 5, out, &n), 400, "decode_all: bad hex");
    is_int(uri_decode_all("", 0, out, &n), 0, "decode_all: empty");
    is_int(n, 0, "empty length");
    is_int(uri_decode_all("/%2e%2e/", 8, out, &n), 0, "decode_all leaves dot segments");
    is_str(out, "/../", "dots decoded, not removed");
}

int main(void)
{
    test_normalise();
    test_strip();
    test_decode_all();
    return tap_done();
}
