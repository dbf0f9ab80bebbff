/* libFuzzer target for the chunked decoder. The first byte picks the caps and a split
 * stride; the oracle is that decoding in one call, in pieces, and in place all agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http_chunked.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
    int rc;
    size_t consumed, produced;
};

static struct run decode(const char *in, size_t len, size_t stride, size_t max_line,
                         size_t max_trailer, char *out)
{
    struct http_chunked c;
    struct run r = {0, 0, 0};
    http_chunked_init(&c, max_line, max_trailer);
    while (r.consumed < len) {
        size_t n = len - r.consumed, used, made;
        if (stride && n > stride)
            n = stride;
        r.rc = http_chunked_decode(&c, in + r.consumed, n, &used, out + r.produced, &made);
        if (used > n || made > used)
            abort();
        r.consumed += used;
        r.produced += made;
        if (r.rc != 0)
            break;
        if (used < n)
            abort(); /* 0 means "need more": everything offered must have been used */
    }
    return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t stride = (data[0] & 7) + 1;
    size_t max_line = (data[0] & 8) ? 16 : 0;
    size_t max_trailer = (data[0] & 16) ? 32 : 0;
    const char *in = (const char *)data + 1;
    size_t len = size - 1;

    char *out1 = malloc(len + 1), *out2 = malloc(len + 1), *inplace = malloc(len + 1);
    if (out1 == NULL || out2 == NULL || inplace == NULL)
        abort();
    struct run a = decode(in, len, 0, max_line, max_trailer, out1);
    struct run b = decode(in, len, stride, max_line, max_trailer, out2);
    memcpy(inplace, in, len);
    struct run c = decode(inplace, len, 0, max_line, max_trailer, inplace);
    /* with a stride the error may be found in a later call, but at the same byte */
    if (a.rc != b.rc || a.consumed != b.consumed || a.produced != b.produced ||
        memcmp(out1, out2, a.produced) != 0)
        abort();
    if (a.rc != c.rc || a.consumed != c.consumed || a.produced != c.produced ||
        memcmp(out1, inplace, a.produced) != 0)
        abort();
    free(out1);
    free(out2);
    free(inplace);
    return 0;
}
