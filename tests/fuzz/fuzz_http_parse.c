/* libFuzzer target for the request-head parser and the path normaliser.
 * Oracles beyond "no crash": head_end agrees with itself on every prefix (a prefix of a head
 * never reports a complete head or a different verdict early), parsed strings stay inside
 * their limits, and normalisation is idempotent and never grows the path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "http_parse.h"
#include "uri_norm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_path(const char *p)
{
    size_t len = strlen(p);
    if (len == 0 || p[0] != '/')
        return;
    char *out = malloc(len + 1), *again = malloc(len + 1), *strip = malloc(len + 1);
    size_t n, n2;
    if (out == NULL || again == NULL || strip == NULL)
        abort();
    if (uri_normalise(p, len, out, &n) == 0) {
        if (n > len || out[n] != '\0' || out[0] != '/')
            abort();
        if (uri_normalise(out, n, again, &n2) != 0 || n2 != n || memcmp(out, again, n) != 0)
            abort(); /* not idempotent */
        size_t s = uri_strip_params(out, n, strip);
        if (s > n || strip[s] != '\0' || strip[0] != '/')
            abort();
    }
    if (uri_decode_all(p, len, again, &n2) == 0 && n2 > len)
        abort();
    free(out);
    free(again);
    free(strip);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* small limits so that the limit paths are reached by short inputs too */
    struct http_limits lim = {64, 48, 8};
    if (size > 0 && (data[0] & 1)) {
        lim.request_line = 8190;
        lim.field_size = 8190;
        lim.fields = 0;
    }
    ssize_t end = http_head_end((const char *)data, size, &lim);
    if (end > (ssize_t)size)
        abort();
    /* a verdict must not change as data grows past where it was reached */
    if (end != 0 && size > 0) {
        for (size_t i = 0; i < size; i += 1 + size / 64) {
            ssize_t e = http_head_end((const char *)data, i, &lim);
            if (e > 0 && e != end)
                abort();
            if (e < 0 && e != end)
                abort(); /* an early verdict must be the final one */
        }
    }
    if (end <= 0)
        return 0;

    char *buf = malloc((size_t)end); /* exact size: ASan catches any overrun */
    struct arena *a = arena_create(0);
    if (buf == NULL || a == NULL)
        abort();
    memcpy(buf, data, (size_t)end);
    struct http_request req;
    const char *why = NULL;
    int st = http_parse_request(buf, (size_t)end, &lim, a, &req, &why);
    if (st != 0 && why == NULL)
        abort();
    if (st == 0) {
        if (strlen(req.request_line) > (size_t)lim.request_line)
            abort();
        if (req.version != 10 && req.version != 11)
            abort();
        if (lim.fields && req.n_headers > lim.fields)
            abort();
        for (int i = 0; i < req.n_headers; i++) {
            const struct http_header *h = &req.headers[i];
            if (strlen(h->name) != h->name_len || strlen(h->value) != h->value_len)
                abort();
            if (h->name_len + h->value_len + 1 > (size_t)lim.field_size)
                abort();
        }
        if (req.has_te && req.content_length >= 0)
            abort(); /* smuggling: both framings accepted */
        if (req.has_te && !req.chunked)
            abort();
        if (req.version == 11 && req.host == NULL)
            abort();
        (void)http_header_get(&req, "host");
        check_path(req.path);
    }
    arena_destroy(a);
    free(buf);
    return 0;
}
