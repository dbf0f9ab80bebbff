/* Incremental chunked transfer-coding decoder (RFC 9112 section 7.1). Pure. */
#ifndef PORTICO_HTTP_CHUNKED_H
#define PORTICO_HTTP_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

struct http_chunked {
    int state;
    uint64_t remaining;   /* bytes left in the current chunk */
    size_t line_len;      /* bytes of the current size/trailer line so far */
    size_t trailer_bytes; /* total trailer section size so far */
    size_t max_line;      /* cap for a chunk-size line (with extensions) */
    size_t max_trailer;   /* cap for the trailer section */
    unsigned char digits; /* hex digits seen in the size */
};

/* max_line/max_trailer of 0 pick 4096 / 8190. */
void http_chunked_init(struct http_chunked *c, size_t max_line, size_t max_trailer);

/* Decodes in[0..inlen). Body bytes are copied to out (out may equal in: decoding in place
 * is allowed because output never overtakes input). *consumed = input bytes used,
 * *produced = body bytes written. Returns 1 when the final chunk and trailers are done
 * (bytes after that are not consumed), 0 when more input is needed, -1 when malformed
 * (bad hex, size overflow, missing CRLF, bare LF/CR, line or trailer too long). */
int http_chunked_decode(struct http_chunked *c, const char *in, size_t inlen, size_t *consumed,
                        char *out, size_t *produced);

#endif
