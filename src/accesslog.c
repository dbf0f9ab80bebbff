/* mod_log_config's LogFormat (see accesslog.h). A format is compiled once at config load
 * into a flat array of items; rendering walks it into the caller's buffer with no
 * allocation, so a worker can log from any state, including after an out-of-memory error. */
#ifdef HAVE_CONFIG_H
#include "config.h" /* localtime_r() and friends under -std=c11 */
#endif

#include "accesslog.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "util.h"

#define AL_MAX_STATUS 16 /* status codes in one %400,501...{}x condition */

enum al_kind {
    AL_LITERAL,
    AL_CLIENT_IP,   /* %a %h */
    AL_LOCAL_IP,    /* %A */
    AL_BYTES_B,     /* %B */
    AL_BYTES_CLF,   /* %b */
    AL_COOKIE,      /* %{n}C */
    AL_DURATION_US, /* %D */
    AL_ENV,         /* %{n}e */
    AL_FILENAME,    /* %f */
    AL_PROTOCOL,    /* %H */
    AL_HEADER_IN,   /* %{n}i */
    AL_KEEPALIVE,   /* %k */
    AL_IDENT,       /* %l */
    AL_DASH,        /* %L %{n}n %^ti %^to: nothing portico records */
    AL_METHOD,      /* %m */
    AL_HEADER_OUT,  /* %{n}o */
    AL_PORT,        /* %p %{canonical|local|remote}p */
    AL_PID,         /* %P %{pid|tid|hextid}P */
    AL_QUERY,       /* %q */
    AL_REQUEST,     /* %r */
    AL_HANDLER,     /* %R */
    AL_STATUS,      /* %s %>s %<s */
    AL_TIME,        /* %t %{...}t */
    AL_DURATION,    /* %T %{s|ms|us}T */
    AL_USER,        /* %u */
    AL_PATH,        /* %U */
    AL_VHOST,       /* %v */
    AL_SERVER_NAME, /* %V */
    AL_CONN_STATUS, /* %X */
    AL_BYTES_IN,    /* %I */
    AL_BYTES_OUT,   /* %O */
    AL_BYTES_ALL,   /* %S */
    AL_ARG_ECHO     /* a bogus {arg} httpd echoes (e.g. %{bogus}p) */
};

/* Sub-forms chosen at compile time so rendering never re-parses the argument. */
enum al_sub {
    SUB_NONE,
    SUB_PORT_CANONICAL,
    SUB_PORT_LOCAL,
    SUB_PORT_REMOTE,
    SUB_PID,
    SUB_TID,
    SUB_HEXTID,
    SUB_STATUS_ORIG,
    SUB_STATUS_FINAL,
    SUB_TIME_CLF,
    SUB_TIME_STRFTIME,
    SUB_TIME_SEC,
    SUB_TIME_MSEC,
    SUB_TIME_USEC,
    SUB_TIME_MSEC_FRAC,
    SUB_TIME_USEC_FRAC,
    SUB_DUR_S,
    SUB_DUR_MS,
    SUB_DUR_US
};

struct al_item {
    enum al_kind kind;
    enum al_sub sub;
    const char *arg; /* literal text, header/env/cookie name, or strftime format */
    size_t arg_len;
    int time_end; /* %{end:...}t: the time the request finished */
    int negate;   /* %!200{...}x */
    int n_status;
    int status[AL_MAX_STATUS];
};

struct accesslog_format {
    struct al_item *items;
    int n_items;
};

/* ---- compile ---------------------------------------------------------------------- */

/* Counts an upper bound of items: every '%' starts at most one directive and one literal. */
static int count_items(const char *fmt)
{
    int n = 1;
    for (const char *p = fmt; *p; p++)
        if (*p == '%')
            n += 2;
    return n;
}

/* Decodes httpd's escapes in literal text (\\ \r \n \t; any other backslash is kept). */
static size_t unescape_literal(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            char c = s[i + 1];
            char r = c == '\\' ? '\\' : c == 'r' ? '\r' : c == 'n' ? '\n' : c == 't' ? '\t' : 0;
            if (r != 0) {
                out[o++] = r;
                i++;
                continue;
            }
        }
        out[o++] = s[i];
    }
    out[o] = '\0';
    return o;
}

static int arg_is(const char *arg, const char *word)
{
    return arg != NULL && util_strcaseeq(arg, word);
}

/* Finishes an item for directive letter c; returns 0, or -1 with err set. */
static int finish_item(struct al_item *it, char c, int want_orig, char *err, size_t errlen)
{
    const char *a = it->arg;
    switch (c) {
    case 'a':
    case 'h':
        it->kind = AL_CLIENT_IP; /* {c}: the peer, the same without mod_remoteip */
        break;
    case 'A':
        it->kind = AL_LOCAL_IP;
        break;
    case 'B':
        it->kind = AL_BYTES_B;
        break;
    case 'b':
        it->kind = AL_BYTES_CLF;
        break;
    case 'C':
    case 'e':
    case 'i':
    case 'o':
        if (a == NULL || *a == '\0') {
            snprintf(err, errlen, "LogFormat directive %%%c needs a {name}", c);
            return -1;
        }
        it->kind = c == 'C'   ? AL_COOKIE
                   : c == 'e' ? AL_ENV
                   : c == 'i' ? AL_HEADER_IN
                              : AL_HEADER_OUT;
        break;
    case 'D':
        it->kind = AL_DURATION_US;
        break;
    case 'f':
        it->kind = AL_FILENAME;
        break;
    case 'H':
        it->kind = AL_PROTOCOL;
        break;
    case 'k':
        it->kind = AL_KEEPALIVE;
        break;
    case 'l':
        it->kind = AL_IDENT;
        break;
    case 'L':
    case 'n':
        it->kind = AL_DASH;
        break;
    case 'm':
        it->kind = AL_METHOD;
        break;
    case 'p':
        it->kind = AL_PORT;
        if (a == NULL || arg_is(a, "canonical"))
            it->sub = SUB_PORT_CANONICAL;
        else if (arg_is(a, "local"))
            it->sub = SUB_PORT_LOCAL;
        else if (arg_is(a, "remote"))
            it->sub = SUB_PORT_REMOTE;
        else
            it->kind = AL_ARG_ECHO; /* httpd prints a bogus argument as is */
        break;
    case 'P':
        it->kind = AL_PID;
        if (a == NULL || arg_is(a, "pid"))
            it->sub = SUB_PID;
        else if (arg_is(a, "tid"))
            it->sub = SUB_TID;
        else if (arg_is(a, "hextid"))
            it->sub = SUB_HEXTID;
        else
            it->kind = AL_ARG_ECHO;
        break;
    case 'q':
        it->kind = AL_QUERY;
        break;
    case 'r':
        it->kind = AL_REQUEST;
        break;
    case 'R':
        it->kind = AL_HANDLER;
        break;
    case 's':
        it->kind = AL_STATUS;
        /* httpd logs the original status for a bare %s, the final one for %>s. */
        it->sub = want_orig == 0 ? SUB_STATUS_FINAL : SUB_STATUS_ORIG;
        break;
    case 't':
        it->kind = AL_TIME;
        it->sub = SUB_TIME_CLF;
        if (a != NULL) {
            if (strncmp(a, "begin:", 6) == 0) {
                a += 6;
            } else if (strncmp(a, "end:", 4) == 0) {
                a += 4;
                it->time_end = 1;
            }
            it->arg = a;
            it->arg_len = strlen(a);
            if (*a == '\0')
                it->sub = SUB_TIME_CLF;
            else if (strcmp(a, "sec") == 0)
                it->sub = SUB_TIME_SEC;
            else if (strcmp(a, "msec") == 0)
                it->sub = SUB_TIME_MSEC;
            else if (strcmp(a, "usec") == 0)
                it->sub = SUB_TIME_USEC;
            else if (strcmp(a, "msec_frac") == 0)
                it->sub = SUB_TIME_MSEC_FRAC;
            else if (strcmp(a, "usec_frac") == 0)
                it->sub = SUB_TIME_USEC_FRAC;
            else
                it->sub = SUB_TIME_STRFTIME;
        }
        break;
    case 'T':
        it->kind = AL_DURATION;
        if (arg_is(a, "ms"))
            it->sub = SUB_DUR_MS;
        else if (arg_is(a, "us"))
            it->sub = SUB_DUR_US;
        else
            it->sub = SUB_DUR_S; /* "s", none, or anything else, as httpd */
        break;
    case 'u':
        it->kind = AL_USER;
        break;
    case 'U':
        it->kind = AL_PATH;
        break;
    case 'v':
        it->kind = AL_VHOST;
        break;
    case 'V':
        it->kind = AL_SERVER_NAME;
        break;
    case 'X':
        it->kind = AL_CONN_STATUS;
        break;
    case 'I':
        it->kind = AL_BYTES_IN;
        break;
    case 'O':
        it->kind = AL_BYTES_OUT;
        break;
    case 'S':
        it->kind = AL_BYTES_ALL;
        break;
    default:
        if ((unsigned char)c >= 0x21 && (unsigned char)c < 0x7f)
            snprintf(err, errlen, "unrecognized LogFormat directive %%%c", c);
        else
            snprintf(err, errlen, "unrecognized LogFormat directive %%\\x%02x",
                     (unsigned)(unsigned char)c);
        return -1;
    }
    return 0;
}

/* Parses the directive after a '%' at *sp into it; advances *sp past it. */
static int parse_directive(struct arena *a, const char **sp, struct al_item *it, char *err,
                           size_t errlen)
{
    const char *s = *sp;
    int want_orig = -1;
    memset(it, 0, sizeof(*it));
    for (;;) {
        char c = *s;
        if (c == '\0') {
            snprintf(err, errlen, "LogFormat ends inside a %%-directive");
            return -1;
        }
        if (c == '!') {
            it->negate = 1;
            s++;
        } else if (c == '<') {
            want_orig = 1;
            s++;
        } else if (c == '>') {
            want_orig = 0;
            s++;
        } else if (c == ',') {
            s++;
        } else if (c == '{') {
            const char *end = strchr(s + 1, '}');
            if (end == NULL) {
                snprintf(err, errlen, "LogFormat has an unterminated %%{ argument");
                return -1;
            }
            char *arg = arena_strndup(a, s + 1, (size_t)(end - s - 1));
            if (arg == NULL) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            it->arg = arg;
            it->arg_len = (size_t)(end - s - 1);
            s = end + 1;
        } else if (c >= '0' && c <= '9') {
            int v = 0;
            while (*s >= '0' && *s <= '9') {
                v = v * 10 + (*s - '0');
                if (v > 999) {
                    snprintf(err, errlen, "LogFormat status condition is not a status code");
                    return -1;
                }
                s++;
            }
            if (it->n_status >= AL_MAX_STATUS) {
                snprintf(err, errlen, "LogFormat status condition lists more than %d codes",
                         AL_MAX_STATUS);
                return -1;
            }
            it->status[it->n_status++] = v;
        } else if (c == '^') {
            /* %^ti / %^to: trailers, which portico does not keep. */
            if ((s[1] == 't') && (s[2] == 'i' || s[2] == 'o')) {
                it->kind = AL_DASH;
                *sp = s + 3;
                return 0;
            }
            snprintf(err, errlen, "unrecognized LogFormat directive %%^%.2s", s + 1);
            return -1;
        } else if (c == 'x') {
            /* mod_ssl's %{VAR}x: looked up through env_get under an "SSL:" prefix no
             * environment variable can carry. */
            if (it->arg == NULL || it->arg[0] == '\0') {
                snprintf(err, errlen, "LogFormat directive %%x needs a {name}");
                return -1;
            }
            it->arg = arena_printf(a, "SSL:%s", it->arg);
            if (it->arg == NULL) {
                snprintf(err, errlen, "out of memory");
                return -1;
            }
            it->kind = AL_ENV;
            *sp = s + 1;
            return 0;
        } else {
            if (finish_item(it, c, want_orig, err, errlen) < 0)
                return -1;
            *sp = s + 1;
            return 0;
        }
    }
}

struct accesslog_format *accesslog_compile(struct arena *a, const char *fmt, char *err,
                                           size_t errlen)
{
    if (fmt == NULL) {
        snprintf(err, errlen, "empty LogFormat");
        return NULL;
    }
    struct accesslog_format *f = arena_calloc(a, 1, sizeof(*f));
    if (f == NULL)
        goto oom;
    f->items = arena_calloc(a, (size_t)count_items(fmt), sizeof(struct al_item));
    if (f->items == NULL)
        goto oom;
    const char *s = fmt;
    while (*s) {
        if (*s != '%') {
            const char *e = s;
            while (*e && *e != '%')
                e++;
            char *lit = arena_alloc(a, (size_t)(e - s) + 1);
            if (lit == NULL)
                goto oom;
            struct al_item *it = &f->items[f->n_items++];
            it->kind = AL_LITERAL;
            it->arg = lit;
            it->arg_len = unescape_literal(s, (size_t)(e - s), lit);
            s = e;
            continue;
        }
        s++;
        if (*s == '%') { /* %% */
            struct al_item *it = &f->items[f->n_items++];
            it->kind = AL_LITERAL;
            it->arg = "%";
            it->arg_len = 1;
            s++;
            continue;
        }
        if (parse_directive(a, &s, &f->items[f->n_items], err, errlen) < 0)
            return NULL;
        f->n_items++;
    }
    return f;
oom:
    snprintf(err, errlen, "out of memory");
    return NULL;
}

/* ---- render ----------------------------------------------------------------------- */

/* The line being rendered: cap excludes the reserved "\n\0". */

static void out_char(struct util_line *o, char c)
{
    util_line_put(o, &c, 1);
}

static void out_ll(struct util_line *o, long long v)
{
    char b[24];
    int n = snprintf(b, sizeof(b), "%lld", v);
    if (n > 0)
        util_line_put(o, b, (size_t)n);
}

/* ap_escape_logitem(): '"' and '\' get a backslash, \b \n \r \t \v their C spelling, other
 * non-printables (and every byte >= 0x80) \xhh, so a line always parses back unambiguously
 * and request data cannot forge lines. An escape is never split at the cut. */
static void out_escaped(struct util_line *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n && !o->full; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[4];
        size_t en = 2;
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            util_line_put(o, &s[i], 1);
            continue;
        }
        e[0] = '\\';
        switch (c) {
        case '"':
        case '\\':
            e[1] = (char)c;
            break;
        case '\b':
            e[1] = 'b';
            break;
        case '\n':
            e[1] = 'n';
            break;
        case '\r':
            e[1] = 'r';
            break;
        case '\t':
            e[1] = 't';
            break;
        case '\v':
            e[1] = 'v';
            break;
        default:
            e[1] = 'x';
            e[2] = hex[c >> 4];
            e[3] = hex[c & 15];
            en = 4;
        }
        if (o->cap - o->len < en) {
            o->full = 1;
            return;
        }
        util_line_put(o, e, en);
    }
}

/* A string value: NULL prints "-", anything else escaped. */
static void out_str(struct util_line *o, const char *s)
{
    if (s == NULL)
        out_char(o, '-');
    else
        out_escaped(o, s, strlen(s));
}

/* Every value of a header joined by ", ", as httpd merges repeated request headers (and
 * Set-Cookie in responses); "-" when absent. */
static void out_header(struct util_line *o, const struct http_header *h, int n, const char *name,
                       int all)
{
    int found = 0;
    for (int i = 0; i < n; i++) {
        if (h[i].name == NULL || !util_strcaseeq(h[i].name, name))
            continue;
        if (found)
            util_line_puts(o, ", ");
        if (h[i].value != NULL)
            out_escaped(o, h[i].value, strlen(h[i].value));
        found = 1;
        if (!all)
            break;
    }
    if (!found)
        out_char(o, '-');
}

/* %{name}C: the value of one cookie among all Cookie headers. */
static void out_cookie(struct util_line *o, const struct http_request *req, const char *name)
{
    size_t nlen = strlen(name);
    if (req != NULL) {
        for (int i = 0; i < req->n_headers; i++) {
            const struct http_header *h = &req->headers[i];
            if (h->name == NULL || h->value == NULL || !util_strcaseeq(h->name, "Cookie"))
                continue;
            const char *p = h->value;
            while (*p) {
                while (*p == ' ' || *p == '\t' || *p == ';')
                    p++;
                const char *end = strchr(p, ';');
                size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
                if (len > nlen && p[nlen] == '=' && strncmp(p, name, nlen) == 0) {
                    const char *v = p + nlen + 1;
                    size_t vlen = len - nlen - 1;
                    while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                        vlen--;
                    out_escaped(o, v, vlen);
                    return;
                }
                p += len;
            }
        }
    }
    out_char(o, '-');
}

static const char *const mon_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void out_time(struct util_line *o, const struct al_item *it, const struct accesslog_info *in)
{
    struct timespec t = in->start;
    if (it->time_end && in->duration_us > 0) {
        long long ns = (long long)t.tv_nsec + (in->duration_us % 1000000) * 1000;
        t.tv_sec += (time_t)(in->duration_us / 1000000 + ns / 1000000000);
        t.tv_nsec = (long)(ns % 1000000000);
    }
    long long usec = (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
    char b[256];
    int n;
    switch (it->sub) {
    case SUB_TIME_SEC:
        out_ll(o, (long long)t.tv_sec);
        return;
    case SUB_TIME_MSEC:
        out_ll(o, usec / 1000);
        return;
    case SUB_TIME_USEC:
        out_ll(o, usec);
        return;
    case SUB_TIME_MSEC_FRAC:
        n = snprintf(b, sizeof(b), "%03ld", (long)(t.tv_nsec / 1000000));
        util_line_put(o, b, (size_t)n);
        return;
    case SUB_TIME_USEC_FRAC:
        n = snprintf(b, sizeof(b), "%06ld", (long)(t.tv_nsec / 1000));
        util_line_put(o, b, (size_t)n);
        return;
    default:
        break;
    }
    struct tm tm;
    time_t secs = t.tv_sec;
    if (localtime_r(&secs, &tm) == NULL) {
        out_char(o, '-');
        return;
    }
    if (it->sub == SUB_TIME_STRFTIME) {
/* The format comes from the administrator's LogFormat, checked by nobody but strftime
 * itself, exactly as httpd passes it on. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        size_t sn = strftime(b, sizeof(b), it->arg, &tm);
#pragma GCC diagnostic pop
        util_line_put(o, b, sn);
        return;
    }
    char z[8];
    if (strftime(z, sizeof(z), "%z", &tm) == 0)
        util_strlcpy(z, "+0000", sizeof(z));
    n = snprintf(b, sizeof(b), "[%02d/%s/%04d:%02d:%02d:%02d %s]", tm.tm_mday,
                 mon_names[(unsigned)tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                 tm.tm_sec, z);
    if (n > 0)
        util_line_put(o, b, (size_t)n < sizeof(b) ? (size_t)n : sizeof(b) - 1);
}

/* %V: the Host the client asked for, without its port (UseCanonicalName Off). */
static void out_server_name(struct util_line *o, const struct accesslog_info *in)
{
    const char *h = in->req != NULL ? in->req->host : NULL;
    if (h == NULL || *h == '\0') {
        out_str(o, in->vhost);
        return;
    }
    size_t n = strlen(h);
    if (h[0] == '[') {
        const char *rb = strchr(h, ']');
        if (rb != NULL)
            n = (size_t)(rb - h) + 1;
    } else {
        const char *colon = strchr(h, ':');
        if (colon != NULL)
            n = (size_t)(colon - h);
    }
    out_escaped(o, h, n);
}

static int status_matches(const struct al_item *it, int status)
{
    int hit = 0;
    for (int i = 0; i < it->n_status; i++)
        if (it->status[i] == status)
            hit = 1;
    return it->negate ? !hit : hit;
}

static void render_item(struct util_line *o, const struct al_item *it,
                        const struct accesslog_info *in)
{
    const struct http_request *req = in->req;
    if (it->n_status > 0 && !status_matches(it, in->status)) {
        out_char(o, '-');
        return;
    }
    switch (it->kind) {
    case AL_LITERAL:
    case AL_ARG_ECHO:
        if (it->kind == AL_ARG_ECHO)
            out_escaped(o, it->arg, it->arg_len);
        else
            util_line_put(o, it->arg, it->arg_len);
        break;
    case AL_CLIENT_IP:
        out_str(o, in->client_ip);
        break;
    case AL_LOCAL_IP:
        out_str(o, in->local_ip);
        break;
    case AL_BYTES_B:
        out_ll(o, in->body_bytes);
        break;
    case AL_BYTES_CLF:
        if (in->body_bytes <= 0)
            out_char(o, '-');
        else
            out_ll(o, in->body_bytes);
        break;
    case AL_COOKIE:
        out_cookie(o, req, it->arg);
        break;
    case AL_DURATION_US:
        out_ll(o, (long long)in->duration_us);
        break;
    case AL_ENV:
        out_str(o, in->env_get != NULL ? in->env_get(in->env_ctx, it->arg) : NULL);
        break;
    case AL_FILENAME:
        out_str(o, in->filename);
        break;
    case AL_PROTOCOL:
        out_str(o, req != NULL ? req->protocol : NULL);
        break;
    case AL_HEADER_IN:
        if (req == NULL)
            out_char(o, '-');
        else
            out_header(o, req->headers, req->n_headers, it->arg, 1);
        break;
    case AL_KEEPALIVE:
        out_ll(o, in->keepalive_count);
        break;
    case AL_IDENT:
    case AL_DASH:
        out_char(o, '-');
        break;
    case AL_METHOD:
        out_str(o, req != NULL ? req->method : NULL);
        break;
    case AL_HEADER_OUT:
        out_header(o, in->resp_headers, in->resp_headers != NULL ? in->n_resp_headers : 0, it->arg,
                   util_strcaseeq(it->arg, "Set-Cookie"));
        break;
    case AL_PORT: {
        int p = it->sub == SUB_PORT_LOCAL    ? in->local_port
                : it->sub == SUB_PORT_REMOTE ? in->client_port
                                             : in->canonical_port;
        if (p <= 0)
            out_char(o, '-');
        else
            out_ll(o, p);
        break;
    }
    case AL_PID: {
        /* Workers are single-threaded: the thread id is the pid. */
        long pid = (long)getpid();
        if (it->sub == SUB_HEXTID) {
            char b[24];
            int n = snprintf(b, sizeof(b), "%lx", pid);
            util_line_put(o, b, (size_t)n);
        } else {
            out_ll(o, pid);
        }
        break;
    }
    case AL_QUERY:
        if (req != NULL && req->query != NULL) {
            out_char(o, '?');
            out_escaped(o, req->query, strlen(req->query));
        }
        break;
    case AL_REQUEST:
        out_str(o, in->request_line != NULL ? in->request_line
                   : req != NULL            ? req->request_line
                                            : NULL);
        break;
    case AL_HANDLER:
        out_str(o, in->handler);
        break;
    case AL_STATUS: {
        int st = it->sub == SUB_STATUS_FINAL ? in->status : in->original_status;
        if (st <= 0)
            st = in->status;
        if (st <= 0)
            out_char(o, '-');
        else
            out_ll(o, st);
        break;
    }
    case AL_TIME:
        out_time(o, it, in);
        break;
    case AL_DURATION: {
        long long us = (long long)in->duration_us;
        out_ll(o, it->sub == SUB_DUR_US ? us : it->sub == SUB_DUR_MS ? us / 1000 : us / 1000000);
        break;
    }
    case AL_USER:
        /* httpd prints an empty user as "" so the field still counts as one. */
        if (in->remote_user != NULL && in->remote_user[0] == '\0')
            util_line_puts(o, "\"\"");
        else
            out_str(o, in->remote_user);
        break;
    case AL_PATH:
        out_str(o, req != NULL ? req->path : NULL);
        break;
    case AL_VHOST:
        out_str(o, in->vhost);
        break;
    case AL_SERVER_NAME:
        out_server_name(o, in);
        break;
    case AL_CONN_STATUS:
        out_char(o, in->conn_status != 0 ? in->conn_status : '-');
        break;
    case AL_BYTES_IN:
        out_ll(o, in->bytes_in);
        break;
    case AL_BYTES_OUT:
        out_ll(o, in->bytes_out);
        break;
    case AL_BYTES_ALL:
        out_ll(o, in->bytes_in + in->bytes_out);
        break;
    }
}

size_t accesslog_render(const struct accesslog_format *f, const struct accesslog_info *info,
                        char *buf, size_t cap)
{
    if (cap < 2) {
        if (cap == 1)
            buf[0] = '\n';
        return cap;
    }
    struct util_line o = {buf, 0, cap - 2, 0};
    for (int i = 0; f != NULL && i < f->n_items && !o.full; i++)
        render_item(&o, &f->items[i], info);
    buf[o.len++] = '\n';
    buf[o.len] = '\0';
    return o.len;
}
