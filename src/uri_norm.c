/* Request-path normalisation: one pass, segment by segment, writing into out. Every later
 * match (ProxyPass, Location, Require, rewrite) sees this one form, so "%69ndex", "./index",
 * "//index" and "x/../index" cannot slip past a rule written for "index" (Appendix C). */
#include "uri_norm.h"

#include <string.h>

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

static int is_unreserved(unsigned char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '-' || ch == '.' || ch == '_' || ch == '~';
}

/* Decodes the escape at s[0] ('%'), n bytes available. Returns the byte, -400 for a malformed
 * escape, -404 for an encoded '/' or NUL (AllowEncodedSlashes Off: a '/' that is not a
 * segment separator would let one path mean two things). */
static int escape_decode(const char *s, size_t n)
{
    if (n < 3)
        return -400;
    int hi = hexval((unsigned char)s[1]), lo = hexval((unsigned char)s[2]);
    if (hi < 0 || lo < 0)
        return -400;
    int v = hi * 16 + lo;
    if (v == '/' || v == 0)
        return -404;
    return v;
}

/* Removes the last segment of out[0..*o) (which ends with '/'), leaving the '/' before it.
 * Returns -1 at the root. */
static int pop_segment(const char *out, size_t *o)
{
    if (*o <= 1)
        return -1;
    size_t k = *o - 1; /* the trailing '/' */
    while (k > 0 && out[k - 1] != '/')
        k--;
    *o = k;
    return 0;
}

int uri_normalise(const char *path, size_t len, char *out, size_t *outlen)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 1, o = 1;

    if (len == 0 || path[0] != '/')
        return 400;
    out[0] = '/';
    /* Invariant: out[0..o) ends with '/'. Each segment is decoded straight after it; it
     * never grows (an escape stays 3 bytes or becomes 1), so out needs at most len+1. */
    while (i <= len) {
        size_t seg = o;
        for (; i < len && path[i] != '/'; i++) {
            unsigned char ch = (unsigned char)path[i];
            if (ch != '%') {
                out[o++] = (char)ch;
                continue;
            }
            int v = escape_decode(path + i, len - i);
            if (v < 0)
                return -v;
            if (is_unreserved((unsigned char)v)) {
                out[o++] = (char)v;
            } else {
                out[o++] = '%';
                out[o++] = hex[v >> 4];
                out[o++] = hex[v & 15];
            }
            i += 2;
        }
        int last = i >= len;
        size_t n = o - seg;
        if (n == 1 && out[seg] == '.') {
            o = seg; /* "." (or "%2e") goes, whatever follows */
        } else if (n == 2 && out[seg] == '.' && out[seg + 1] == '.') {
            o = seg;
            if (pop_segment(out, &o) != 0)
                return 400; /* climbing above the root: httpd answers 400 */
        } else if (n > 0 && !last) {
            out[o++] = '/';
        }
        /* n == 0: an empty segment, i.e. "//" merged, or the trailing slash that stays */
        i++;
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}

/* Dot-segment removal and slash merging on an already decoded path, clamping ".." at the
 * root: the input here has passed uri_normalise, so a ".." can only come from stripping
 * "..;x", which a servlet container resolves as "..". Clamping gives the most restrictive
 * view for access checks rather than an error path. */
static size_t dots_merge(char *p, size_t len)
{
    size_t i = 1, o = 1;
    if (len == 0 || p[0] != '/')
        return len;
    while (i <= len) {
        size_t seg = o;
        for (; i < len && p[i] != '/'; i++)
            p[o++] = p[i];
        int last = i >= len;
        size_t n = o - seg;
        if (n == 1 && p[seg] == '.') {
            o = seg;
        } else if (n == 2 && p[seg] == '.' && p[seg + 1] == '.') {
            o = seg;
            (void)pop_segment(p, &o);
        } else if (n > 0 && !last) {
            p[o++] = '/';
        }
        i++;
    }
    p[o] = '\0';
    return o;
}

size_t uri_strip_params(const char *path, size_t len, char *out)
{
    size_t o = 0;
    int in_param = 0;
    for (size_t i = 0; i < len; i++) {
        if (path[i] == '/')
            in_param = 0;
        else if (path[i] == ';')
            in_param = 1;
        if (!in_param)
            out[o++] = path[i];
    }
    out[o] = '\0';
    /* "/a/..;x/admin" is "/a/../admin" to Tomcat: resolve what stripping exposed. */
    return dots_merge(out, o);
}

int uri_decode_all(const char *in, size_t len, char *out, size_t *outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (in[i] != '%') {
            out[o++] = in[i];
            continue;
        }
        int v = escape_decode(in + i, len - i);
        if (v < 0)
            return -v;
        out[o++] = (char)v;
        i += 2;
    }
    out[o] = '\0';
    *outlen = o;
    return 0;
}
