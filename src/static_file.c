/* Files under DocumentRoot. The path was normalised before we get here (no dot segments,
 * no encoded slashes), so joining it to DocumentRoot cannot climb out. */
#include "static_file.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "io.h"
#include "tls.h"
#include "mime.h"
#include "respond.h"
#include "route.h"
#include "uri_norm.h"
#include "util.h"

static const char *content_type(struct request *r, const char *file)
{
    /* RewriteRule [T=] forces the type, as httpd's forced_type. */
    const char *t = r->route && r->route->force_type ? r->route->force_type
                                                     : route_added_type(r->route, r->srv, file);
    if (t == NULL)
        t = mime_type_for(NULL, file);
    if (t == NULL)
        return NULL;
    const char *cs = r->route ? r->route->add_default_charset : r->srv->add_default_charset;
    if (cs != NULL && *cs != '\0' &&
        (strncmp(t, "text/plain", 10) == 0 || strncmp(t, "text/html", 9) == 0))
        return arena_printf(r->arena, "%s; charset=%s", t, cs);
    return t;
}

static int send_fd(struct request *r, int fd, const struct stat *st, const char *file, int status,
                   int64_t deadline)
{
    struct resp_header hdrs[3];
    int nh = 0;
    char lm[40];
    struct tm tm;
    gmtime_r(&st->st_mtime, &tm);
    strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    hdrs[nh++] = (struct resp_header){"Last-Modified", lm};
    const char *ct = content_type(r, file);
    if (ct != NULL)
        hdrs[nh++] = (struct resp_header){"Content-Type", ct};
    if (respond_send_head(r, status, hdrs, nh, (long long)st->st_size, deadline) < 0)
        return -1;
    if (r->h.m == HTTP_HEAD)
        return 0;
    off_t off = 0;
    if (r->c->tls != NULL) {
        /* sendfile() would bypass the encryption: read and write through the session. */
        char buf[16384];
        while (off < st->st_size) {
            size_t want = (size_t)(st->st_size - off) < sizeof(buf) ? (size_t)(st->st_size - off)
                                                                    : sizeof(buf);
            ssize_t n = pread(fd, buf, want, off);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                break;
            if (tio_write_all(r->c->fd, r->c->tls, buf, (size_t)n, deadline) < 0) {
                r->c->aborted = 1;
                return -1;
            }
            off += n;
            r->body_sent += n;
            r->bytes_out += n;
            deadline = util_now_ms() + (int64_t)r->srv->timeout * 1000;
        }
    }
    while (r->c->tls == NULL && off < st->st_size) {
        ssize_t n = sendfile(r->c->fd, fd, &off, (size_t)(st->st_size - off));
        if (n > 0) {
            r->body_sent += n;
            r->bytes_out += n;
            /* Timeout bounds each wait for progress, as httpd's does, not the transfer. */
            deadline = util_now_ms() + (int64_t)r->srv->timeout * 1000;
            continue;
        }
        if (n == 0)
            break; /* file shrank: the client sees a short body and the connection closes */
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN && io_wait(r->c->fd, POLLOUT, deadline) > 0)
            continue;
        r->c->aborted = 1;
        return -1;
    }
    if (off < st->st_size) {
        r->c->keepalive = 0;
        r->c->aborted = 1;
    }
    return 0;
}

static int open_under_root(struct request *r, const char *uri_path, struct stat *st,
                           char **file_out)
{
    const char *root = r->srv->document_root;
    if (root == NULL)
        return -1;
    char *file = arena_printf(r->arena, "%s%s", root, uri_path);
    if (file == NULL)
        return -1;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -1;
    if (fstat(fd, st) < 0) {
        close(fd);
        return -1;
    }
    *file_out = file;
    return fd;
}

int static_file_serve_error(struct request *r, const char *uri_path, int status, int64_t deadline)
{
    struct stat st;
    char *file;
    int fd = open_under_root(r, uri_path, &st, &file);
    if (fd < 0)
        return 1;
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return 1;
    }
    int rc = send_fd(r, fd, &st, file, status, deadline);
    close(fd);
    return rc;
}

int static_file_handle(struct request *r, int64_t deadline)
{
    if (r->h.m == HTTP_OPTIONS) {
        struct resp_header h = {"Allow", "GET, HEAD, OPTIONS, TRACE"};
        return respond_send(r, 200, &h, 1, NULL, 0, 0, deadline);
    }
    /* The file system sees the fully decoded name (what routing and <Directory> matched);
     * uri_normalise() already refused encoded slashes and NULs. */
    size_t plen0 = strlen(r->path);
    char *decoded = arena_alloc(r->arena, plen0 + 1);
    size_t dlen = 0;
    if (decoded == NULL)
        return respond_error(r, 500, NULL, deadline);
    int st_dec = uri_decode_all(r->path, plen0, decoded, &dlen);
    if (st_dec != 0)
        return respond_error(r, st_dec, NULL, deadline);
    struct stat st;
    char *file;
    int fd = open_under_root(r, decoded, &st, &file);
    if (fd < 0)
        return respond_error(r, errno == EACCES ? 403 : 404, NULL, deadline);
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        size_t plen = strlen(r->path);
        if (plen == 0 || r->path[plen - 1] != '/') {
            /* httpd's mod_dir: a directory without its slash is redirected to it. */
            const char *host = r->h.host != NULL ? r->h.host : r->srv->server_name;
            const char *scheme = r->c->listener != NULL && r->c->listener->protocol != NULL
                                     ? r->c->listener->protocol
                                     : "http";
            char *loc = arena_printf(r->arena, "%s://%s%s/%s%s", scheme, host ? host : "localhost",
                                     r->path, r->h.query ? "?" : "", r->h.query ? r->h.query : "");
            return respond_error(r, 301, loc, deadline);
        }
        char *const *idx = r->route ? r->route->dir_index : r->srv->dir_index;
        int nidx = r->route ? r->route->n_dir_index : r->srv->n_dir_index;
        static char *const default_index[] = {"index.html"};
        if (idx == NULL) {
            idx = default_index;
            nidx = 1;
        }
        fd = -1;
        for (int i = 0; i < nidx && fd < 0; i++) {
            char *p = arena_printf(r->arena, "%s%s", decoded, idx[i]);
            if (p == NULL)
                break;
            fd = open_under_root(r, p, &st, &file);
            if (fd >= 0 && !S_ISREG(st.st_mode)) {
                close(fd);
                fd = -1;
            }
        }
        if (fd < 0)
            return respond_error(r, 403, NULL, deadline);
    } else if (!S_ISREG(st.st_mode)) {
        close(fd);
        return respond_error(r, 404, NULL, deadline);
    }
    if (r->h.m != HTTP_GET && r->h.m != HTTP_HEAD) {
        close(fd);
        return respond_error(r, 405, NULL, deadline);
    }
    r->filename = file;
    int rc = send_fd(r, fd, &st, file, 200, deadline);
    close(fd);
    return rc;
}
