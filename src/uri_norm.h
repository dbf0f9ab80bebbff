/* Request-path normalisation, done once per request before any match (ARCHITECTURE.md
 * step 3). Pure. */
#ifndef PORTICO_URI_NORM_H
#define PORTICO_URI_NORM_H

#include <stddef.h>

/* Normalises path[0..len) (must start with '/') into out (room for len+1 bytes):
 * percent-decodes unreserved characters (ALPHA DIGIT - . _ ~), upper-cases the hex of the
 * escapes it keeps, merges runs of '/', removes "." and ".." segments (also their
 * percent-encoded forms). Returns 0 with *outlen set, 400 when a ".." climbs above the root
 * or an escape is malformed, 404 for an encoded '/' (%2F) or NUL (%00), as httpd does with
 * AllowEncodedSlashes Off. */
int uri_normalise(const char *path, size_t len, char *out, size_t *outlen);

/* Copies path with every ";params" removed from each segment ("/a;x=1/b;y" -> "/a/b"),
 * so access checks see what a servlet container will route. out has room for len+1.
 * Returns the new length. */
size_t uri_strip_params(const char *path, size_t len, char *out);

/* Percent-decodes everything (for %{REQUEST_URI}-style consumers); same contract as above,
 * returns 0 or 400/404. */
int uri_decode_all(const char *in, size_t len, char *out, size_t *outlen);

#endif
