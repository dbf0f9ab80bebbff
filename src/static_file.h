/* The local handler: files under DocumentRoot for GET/HEAD, 404 otherwise. */
#ifndef PORTICO_STATIC_FILE_H
#define PORTICO_STATIC_FILE_H

#include <stdint.h>

#include "conn.h"

/* Serves r->path from the server's DocumentRoot (DirectoryIndex, trailing-slash redirect,
 * 403 for directories without an index, 404, 405 for methods other than GET/HEAD/OPTIONS).
 * Returns 0 when a response was sent, -1 when the client connection failed. */
int static_file_handle(struct request *r, int64_t deadline);

/* ErrorDocument with a local path: sends that file with `status`. Returns 0 when sent, 1
 * when the document does not exist (caller falls back to the canned page), -1 on a client
 * write failure. */
int static_file_serve_error(struct request *r, const char *uri_path, int status, int64_t deadline);

#endif
