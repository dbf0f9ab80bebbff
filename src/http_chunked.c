/* Incremental chunked decoder (RFC 9112 7.1), a byte-driven state machine so that any split
 * of the input gives the same result. Strict on purpose: only CRLF ends a line (no bare LF,
 * no bare CR), because chunk framing is where front and back ends disagreeing turns into
 * request smuggling, and we forward the body re-framed, so leniency buys nothing. */
#include "http_chunked.h"

#include <stdint.h>
#include <string.h>

#define DEF_MAX_LINE    4096
#define DEF_MAX_TRAILER 8190
#define MAX_DIGITS      16
#define SIZE_MAX_OK     ((uint64_t)INT64_MAX) /* callers add sizes in signed arithmetic */

enum {
    CH_SIZE = 0, /* hex digits of chunk-size; zero so a zeroed struct starts here */
    CH_SIZE_WS,  /* BWS after the size, before ';' or CR */
    CH_EXT,      /* chunk extensions, skipped up to CR */
    CH_SIZE_LF,  /* CR seen after the size line */
    CH_DATA,
    CH_DATA_CR, /* chunk data done: CRLF must follow */
    CH_DATA_LF,
    CH_TR_START, /* start of a trailer line, or the final CRLF */
    CH_TR_NAME,
    CH_TR_VALUE,
    CH_TR_LF,  /* CR seen after a trailer field */
    CH_END_LF, /* CR of the final empty line seen */
    CH_DONE,
    CH_ERROR
};

void http_chunked_init(struct http_chunked *c, size_t max_line, size_t max_trailer)
{
    memset(c, 0, sizeof(*c));
    c->state = CH_SIZE;
    c->max_line = max_line ? max_line : DEF_MAX_LINE;
    c->max_trailer = max_trailer ? max_trailer : DEF_MAX_TRAILER;
}

static int hexval(unsigned char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

static int is_tchar(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch != 0 && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* Field content may hold HTAB and obs-text but no other control byte. */
static int is_ctl(unsigned char ch)
{
    return (ch < 0x20 && ch != '\t') || ch == 0x7f;
}

int http_chunked_decode(struct http_chunked *c, const char *in, size_t inlen, size_t *consumed,
                        char *out, size_t *produced)
{
    size_t i = 0, o = 0;
    int rc = 0;
    size_t max_line = c->max_line ? c->max_line : DEF_MAX_LINE;
    size_t max_trailer = c->max_trailer ? c->max_trailer : DEF_MAX_TRAILER;

    while (i < inlen) {
        unsigned char ch = (unsigned char)in[i];

        if (c->state == CH_DATA) {
            size_t n = inlen - i;
            if ((uint64_t)n > c->remaining)
                n = (size_t)c->remaining;
            /* memmove: out may alias in, and output never overtakes input */
            memmove(out + o, in + i, n);
            o += n;
            i += n;
            c->remaining -= n;
            if (c->remaining == 0)
                c->state = CH_DATA_CR;
            continue;
        }
        if (c->state == CH_DONE || c->state == CH_ERROR)
            break;

        /* line-based states: one byte at a time, with the length caps (the size line's
         * CRLF is not part of its length; the trailer section counts every byte) */
        i++;
        if (c->state <= CH_EXT && ch != '\r') {
            if (++c->line_len > max_line)
                goto bad;
        } else if (c->state >= CH_TR_START) {
            if (++c->trailer_bytes > max_trailer)
                goto bad;
        }
        switch (c->state) {
        case CH_SIZE: {
            int d = hexval(ch);
            if (d >= 0) {
                if (++c->digits > MAX_DIGITS || c->remaining > (SIZE_MAX_OK - (uint64_t)d) / 16)
                    goto bad;
                c->remaining = c->remaining * 16 + (uint64_t)d;
                break;
            }
            if (c->digits == 0)
                goto bad;
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (ch == ';')
                c->state = CH_EXT;
            else if (ch == ' ' || ch == '\t')
                c->state = CH_SIZE_WS;
            else
                goto bad;
            break;
        }
        case CH_SIZE_WS:
            /* BWS before ';' (RFC 9112 7.1.1); trailing whitespace alone is not allowed */
            if (ch == ';')
                c->state = CH_EXT;
            else if (ch != ' ' && ch != '\t')
                goto bad;
            break;
        case CH_EXT:
            /* Extensions are ignored; bounded by max_line and free of controls (so no bare
             * LF can hide in them). */
            if (ch == '\r')
                c->state = CH_SIZE_LF;
            else if (is_ctl(ch))
                goto bad;
            break;
        case CH_SIZE_LF:
            if (ch != '\n')
                goto bad;
            c->line_len = 0;
            c->digits = 0;
            if (c->remaining == 0) {
                c->state = CH_TR_START;
                c->trailer_bytes = 0;
            } else {
                c->state = CH_DATA;
            }
            break;
        case CH_DATA_CR:
            if (ch != '\r')
                goto bad;
            c->state = CH_DATA_LF;
            break;
        case CH_DATA_LF:
            if (ch != '\n')
                goto bad;
            c->state = CH_SIZE;
            c->line_len = 0;
            c->digits = 0;
            c->remaining = 0;
            break;
        case CH_TR_START:
            if (ch == '\r')
                c->state = CH_END_LF;
            else if (is_tchar(ch))
                c->state = CH_TR_NAME; /* no obs-fold, no leading whitespace */
            else
                goto bad;
            break;
        case CH_TR_NAME:
            if (ch == ':')
                c->state = CH_TR_VALUE;
            else if (!is_tchar(ch))
                goto bad;
            break;
        case CH_TR_VALUE:
            if (ch == '\r')
                c->state = CH_TR_LF;
            else if (is_ctl(ch))
                goto bad;
            break;
        case CH_TR_LF:
            if (ch != '\n')
                goto bad;
            c->state = CH_TR_START;
            break;
        case CH_END_LF:
            if (ch != '\n')
                goto bad;
            c->state = CH_DONE;
            break;
        default:
            goto bad;
        }
    }
    if (c->state == CH_DONE)
        rc = 1;
    else if (c->state == CH_ERROR)
        rc = -1;
    goto out;
bad:
    c->state = CH_ERROR;
    rc = -1;
out:
    *consumed = i;
    *produced = o;
    return rc;
}
