/* Response writing. Pages portico generates itself use its own short wording; statuses,
 * headers and connection handling follow httpd (apache-behaviour.md Appendix A, 8.4). */
#include "config.h"

#include "conf.h"
#include "respond.h"

#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>

#include "arena.h"
#include "headers.h"
#include "route.h"
#include "http_parse.h"
#include "io.h"
#include "tls.h"
#include "static_file.h"
#include "util.h"
#include "worker.h"

/* Date header, formatted at most once a second. */
static const char *http_date_now(void)
{
    static char buf[40];
    static time_t last;
    time_t now = time(NULL);
    if (now != last) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        last = now;
    }
    return buf;
}

static int status_forces_close(int status)
{
    switch (status) {
    case 400:
    case 408:
    case 411:
    case 413:
    case 414:
    case 431:
    case 500:
    case 501:
    case 503:
        return 1;
    default:
        return 0;
    }
}

void respond_decide_keepalive(struct request *r, int status, int length_known)
{
    struct conn *c = r->c;
    const struct conf_server *s = r->srv != NULL ? r->srv : c->conf->main;
    int ka = 1;
    if (!r->parsed || !s->keepalive || s->keepalive_timeout_ms <= 0 || !length_known)
        ka = 0;
    else if (status_forces_close(status) || worker_stopping())
        ka = 0;
    else if (r->h.conn_close || (r->h.version == 10 && !r->h.conn_keepalive))
        ka = 0;
    else if (r->h.version == 10 && r->h.has_te)
        ka = 0; /* RFC 9112 6.1: framing of a 1.0 message with TE cannot be trusted */
    else if ((r->h.content_length > 0 || r->h.chunked) && !r->body_consumed)
        ka = 0; /* an unread body would be taken for the next request */
    else if (s->max_keepalive_requests > 0 && c->requests + 1 >= s->max_keepalive_requests)
        ka = 0;
    c->keepalive = ka;
}

/* Names portico computes itself: a Header directive may not forge the framing. */
static int framing_header(const char *name)
{
    return util_strcaseeq(name, "Content-Length") || util_strcaseeq(name, "Transfer-Encoding") ||
           util_strcaseeq(name, "Connection") || util_strcaseeq(name, "Date") ||
           util_strcaseeq(name, "Server");
}

int respond_send_head(struct request *r, int status, const struct resp_header *hdrs, int nhdrs,
                      long long content_length, int64_t deadline)
{
    struct conn *c = r->c;
    const struct conf *conf = c->conf;
    int head_only = r->parsed && r->h.m == HTTP_HEAD;
    int no_body = head_only || status == 204 || status == 304 || status < 200;
    respond_decide_keepalive(r, status, content_length >= 0 || no_body);

    /* mod_headers: `Header` on handler responses, only `Header always` on error pages. */
    int n = nhdrs;
    struct http_header *h = arena_alloc(r->arena, sizeof(*h) * (size_t)(nhdrs + 1));
    if (h == NULL)
        return -1;
    for (int i = 0; i < nhdrs; i++) {
        h[i].name = (char *)hdrs[i].name;
        h[i].value = (char *)hdrs[i].value;
        h[i].name_len = strlen(hdrs[i].name);
        h[i].value_len = strlen(hdrs[i].value);
    }
    if (route_add_response_headers(r, r->route, &h, &n) < 0)
        return -1;
    if (r->srv != NULL) {
        int rc = r->error_page ? headers_apply_error_response(r, r->route, status, &h, &n)
                               : headers_apply_response(r, r->route, status, &h, &n);
        if (rc < 0)
            return -1;
    }

    char buf[8192];
    size_t off = 0;
    int w = snprintf(buf, sizeof(buf), "HTTP/1.1 %d %s\r\nDate: %s\r\nServer: %s\r\n", status,
                     http_reason(status), http_date_now(), conf_server_token(conf));
    if (w < 0 || (size_t)w >= sizeof(buf))
        return -1;
    off = (size_t)w;
    for (int i = 0; i < n; i++) {
        if (framing_header(h[i].name))
            continue;
        w = snprintf(buf + off, sizeof(buf) - off, "%s: %s\r\n", h[i].name, h[i].value);
        if (w < 0 || (size_t)w >= sizeof(buf) - off)
            return -1;
        off += (size_t)w;
    }
    r->resp_headers = h;
    r->n_resp_headers = n;
    if (content_length >= 0 && status != 204 && status != 304 && status >= 200) {
        w = snprintf(buf + off, sizeof(buf) - off, "Content-Length: %lld\r\n", content_length);
        if (w < 0 || (size_t)w >= sizeof(buf) - off)
            return -1;
        off += (size_t)w;
    }
    const struct conf_server *s = r->srv != NULL ? r->srv : conf->main;
    if (!c->keepalive)
        w = snprintf(buf + off, sizeof(buf) - off, "Connection: close\r\n\r\n");
    else if (r->h.version == 10)
        w = snprintf(buf + off, sizeof(buf) - off,
                     "Keep-Alive: timeout=%d, max=%d\r\nConnection: Keep-Alive\r\n\r\n",
                     (s->keepalive_timeout_ms + 999) / 1000,
                     s->max_keepalive_requests > 0 ? s->max_keepalive_requests - c->requests - 1
                                                   : 100);
    else
        w = snprintf(buf + off, sizeof(buf) - off, "\r\n");
    if (w < 0 || (size_t)w >= sizeof(buf) - off)
        return -1;
    off += (size_t)w;
    r->status = status;
    if (tio_write_all(c->fd, c->tls, buf, off, deadline) < 0) {
        c->aborted = 1;
        return -1;
    }
    r->bytes_out += (long long)off;
    return 0;
}

int respond_send(struct request *r, int status, const struct resp_header *hdrs, int nhdrs,
                 const char *body, size_t body_len, long long content_length, int64_t deadline)
{
    if (content_length < 0)
        content_length = (long long)body_len;
    if (respond_send_head(r, status, hdrs, nhdrs, content_length, deadline) < 0)
        return -1;
    int no_body = (r->parsed && r->h.m == HTTP_HEAD) || status == 204 || status == 304;
    if (no_body || body == NULL || body_len == 0)
        return 0;
    if (tio_write_all(r->c->fd, r->c->tls, body, body_len, deadline) < 0) {
        r->c->aborted = 1;
        return -1;
    }
    r->body_sent += (long long)body_len;
    r->bytes_out += (long long)body_len;
    return 0;
}

char *respond_html_escape(struct arena *a, const char *s)
{
    size_t n = 0;
    for (const char *p = s; *p; p++)
        n += (*p == '<' || *p == '>') ? 4 : *p == '&' ? 5 : *p == '"' ? 6 : 1;
    char *out = arena_alloc(a, n + 1);
    if (out == NULL)
        return NULL;
    char *o = out;
    for (const char *p = s; *p; p++) {
        const char *rep = NULL;
        switch (*p) {
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '&':
            rep = "&amp;";
            break;
        case '"':
            rep = "&quot;";
            break;
        default:
            *o++ = *p;
            continue;
        }
        size_t l = strlen(rep);
        memcpy(o, rep, l);
        o += l;
    }
    *o = '\0';
    return out;
}

static const char *canned_text(int status)
{
    switch (status) {
    case 400:
        return "The request could not be understood by this server.";
    case 403:
        return "Access to this resource is forbidden.";
    case 404:
        return "The requested URL was not found on this server.";
    case 405:
        return "The method is not allowed for this URL.";
    case 408:
        return "The server timed out waiting for the request.";
    case 410:
        return "The requested resource is gone and has no forwarding address.";
    case 411:
        return "A request with a body must state its length.";
    case 413:
        return "The request body is larger than this server accepts.";
    case 414:
        return "The request URL is longer than this server accepts.";
    case 417:
        return "The expectation given in the request cannot be met.";
    case 421:
        return "The client needs a new connection for this request as the requested host "
               "name does not match the Server Name Indication (SNI) in use for this "
               "connection.";
    case 431:
        return "The request header fields are larger than this server accepts.";
    case 500:
        return "The server hit an internal error and could not complete the request.";
    case 501:
        return "The server does not implement what the request asked for.";
    case 502:
        return "The proxy received an invalid response from an upstream server.";
    case 503:
        return "The service is temporarily unavailable. Please try again later.";
    case 504:
        return "The upstream server did not answer in time.";
    case 505:
        return "The HTTP version of the request is not supported.";
    default:
        return "The server could not complete the request.";
    }
}

static const struct conf_errdoc *errdoc_in(const struct conf_errdoc *list, int status)
{
    for (const struct conf_errdoc *e = list; e; e = e->next)
        if (e->status == status)
            return e; /* the first entry for a status wins (conf_types.h) */
    return NULL;
}

/* ErrorDocument: a matching <Location> (the later, the more specific) wins over the
 * server's list. */
static const struct conf_errdoc *find_errdoc(const struct request *r, int status)
{
    if (r->srv == NULL)
        return NULL;
    const struct conf_errdoc *found = errdoc_in(r->srv->errdocs, status);
    if (r->path != NULL) {
        for (const struct conf_dir *d = r->srv->dirs; d; d = d->next) {
            if (d->kind != DIR_LOCATION || d->pattern == NULL ||
                strncmp(r->path, d->pattern, strlen(d->pattern)) != 0)
                continue;
            const struct conf_errdoc *e = errdoc_in(d->errdocs, status);
            if (e != NULL)
                found = e;
        }
    }
    if (found != NULL && strcmp(found->value, "default") == 0)
        return NULL;
    return found;
}

int respond_error(struct request *r, int status, const char *location, int64_t deadline)
{
    r->error_page = 1;
    struct resp_header hdrs[3];
    int nh = 0;
    const struct conf_errdoc *ed = location == NULL ? find_errdoc(r, status) : NULL;
    if (ed != NULL) {
        if (strncmp(ed->value, "http://", 7) == 0 || strncmp(ed->value, "https://", 8) == 0) {
            status = 302;
            location = ed->value;
        } else if (ed->value[0] == '/') {
            if (static_file_serve_error(r, ed->value, status, deadline) == 0)
                return 0;
            if (r->c->aborted)
                return -1;
        } else {
            /* A message: httpd keeps its opening quote as the marker. */
            const char *text = ed->value[0] == '"' ? ed->value + 1 : ed->value;
            hdrs[nh++] = (struct resp_header){"Content-Type", "text/html; charset=iso-8859-1"};
            return respond_send(r, status, hdrs, nh, text, strlen(text), -1, deadline);
        }
    }
    const char *reason = http_reason(status);
    char *body;
    if (location != NULL) {
        char *esc = respond_html_escape(r->arena, location);
        hdrs[nh++] = (struct resp_header){"Location", location};
        body = arena_printf(r->arena,
                            "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                            "<body><h1>%s</h1>\n<p>This resource is at <a href=\"%s\">%s</a>.</p>\n"
                            "</body></html>\n",
                            status, reason, reason, esc ? esc : "", esc ? esc : "");
    } else {
        body = arena_printf(r->arena,
                            "<!DOCTYPE html>\n<html><head><title>%d %s</title></head>\n"
                            "<body><h1>%s</h1>\n<p>%s</p>\n</body></html>\n",
                            status, reason, reason, canned_text(status));
    }
    if (body == NULL)
        body = "";
    hdrs[nh++] = (struct resp_header){"Content-Type", "text/html; charset=iso-8859-1"};
    if (status == 405)
        hdrs[nh++] = (struct resp_header){"Allow", "GET, HEAD, OPTIONS, TRACE"};
    return respond_send(r, status, hdrs, nh, body, strlen(body), -1, deadline);
}
