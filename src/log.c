/* The error log (see log.h). Everything here works from a stack buffer and write(): no
 * stdio buffers that a fork() could duplicate, no malloc, no locks, so any process (master,
 * worker, heartbeat listener) may log at any time after fork(). */
#ifdef HAVE_CONFIG_H
#include "config.h" /* _GNU_SOURCE for close_range() */
#endif

#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "modules.h"
#include "util.h"

/* httpd's MAX_STRING_LEN: a longer line is cut, but still ends in '\n'. */
#define LOG_LINE_MAX 8192

static int log_fd = -1;
static const struct conf_loglevel *log_levels;

void log_set_target(int fd, const struct conf_loglevel *levels)
{
    /* Workers call this per request, nearly always with what they have: a store would still
     * dirty the page, a copy of the master's in every worker. */
    if (log_fd != fd)
        log_fd = fd;
    if (log_levels != levels)
        log_levels = levels;
}

int log_enabled(enum module_id m, enum log_level lvl)
{
    /* httpd writes notices whatever LogLevel says: start/stop/restart lines must survive
     * "LogLevel crit". */
    if (lvl == LL_NOTICE)
        return 1;
    int max = LL_WARN;
    const struct conf_loglevel *l = log_levels;
    if (l != NULL && l->set) {
        if (l->level >= 0)
            max = l->level;
        if ((int)m >= 0 && m < MOD_COUNT && l->module[m] >= 0)
            max = l->module[m];
    }
    return (int)lvl <= max;
}

/* Lines are built in a util_line whose cap keeps one byte free for the final '\n'. */

/* Appends s with control characters escaped, so a message carrying request data (a header
 * value, a path) cannot forge a second log line or drive a terminal. */
static void line_put_escaped(struct util_line *ln, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char e[4];
        size_t en = 2;
        if (c >= 0x20 && c != 0x7f) {
            util_line_put(ln, (const char *)&s[i], 1);
            continue;
        }
        e[0] = '\\';
        switch (c) {
        case '\n':
            e[1] = 'n';
            break;
        case '\t':
            e[1] = 't';
            break;
        case '\r':
            e[1] = 'r';
            break;
        default:
            e[1] = 'x';
            e[2] = hex[c >> 4];
            e[3] = hex[c & 15];
            en = 4;
        }
        if (ln->cap - ln->len < en) { /* do not leave half an escape at the cut */
            ln->full = 1;
            return;
        }
        util_line_put(ln, e, en);
    }
}

static const char *const day_names[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
static const char *const mon_names[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "[Wed Oct 11 14:32:52.123456 2000] ": names from our own tables, so a setlocale() call
 * elsewhere cannot change the format that log parsers expect. */
static void line_put_time(struct util_line *ln)
{
    struct timespec ts;
    struct tm tm;
    char tbuf[64];
    clock_gettime(CLOCK_REALTIME, &ts);
    time_t t = ts.tv_sec;
    if (localtime_r(&t, &tm) == NULL)
        memset(&tm, 0, sizeof(tm));
    int n = snprintf(tbuf, sizeof(tbuf), "[%s %s %02d %02d:%02d:%02d.%06ld %d] ",
                     day_names[(unsigned)tm.tm_wday % 7], mon_names[(unsigned)tm.tm_mon % 12],
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (long)(ts.tv_nsec / 1000),
                     tm.tm_year + 1900);
    if (n > 0)
        util_line_put(ln, tbuf, (size_t)n < sizeof(tbuf) ? (size_t)n : sizeof(tbuf) - 1);
}

static void write_line(int fd, const char *buf, size_t len)
{
    /* One write() keeps lines whole on an O_APPEND file; the loop only matters for a pipe
     * that accepted part of a long line. EPIPE (logger gone) is dropped silently: a
     * logging failure must not take a request down with it. */
    while (len > 0) {
        ssize_t w = write(fd, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

void log_vmsg(enum module_id m, enum log_level lvl, int errnum, const char *client, const char *fmt,
              va_list ap)
{
    if (!log_enabled(m, lvl))
        return;
    int saved_errno = errno;
    char buf[LOG_LINE_MAX];
    char msg[LOG_LINE_MAX];
    struct util_line ln = {buf, 0, sizeof(buf) - 1, 0};

    line_put_time(&ln);
    util_line_puts(&ln, "[");
    util_line_puts(&ln, ((int)m >= 0 && m < MOD_COUNT && modules_builtin[m].name != NULL)
                            ? modules_builtin[m].name
                            : "core");
    util_line_puts(&ln, ":");
    const char *lname = log_level_name(lvl);
    util_line_puts(&ln, lname != NULL ? lname : "error");
    util_line_puts(&ln, "] ");

    char pbuf[32];
    int pn = snprintf(pbuf, sizeof(pbuf), "[pid %ld] ", (long)getpid());
    if (pn > 0)
        util_line_put(&ln, pbuf, (size_t)pn);
    if (client != NULL) {
        util_line_puts(&ln, "[client ");
        line_put_escaped(&ln, client, strlen(client));
        util_line_puts(&ln, "] ");
    }

    int mn = vsnprintf(msg, sizeof(msg), fmt, ap);
    if (mn > 0)
        line_put_escaped(&ln, msg, (size_t)mn < sizeof(msg) ? (size_t)mn : sizeof(msg) - 1);
    if (errnum != 0) {
        char ebuf[256];
        util_line_puts(&ln, ": ");
        /* strerror_r's GNU/XSI split is not worth it: strerror() is only unsafe with threads,
         * and portico's processes are single-threaded. */
        util_strlcpy(ebuf, strerror(errnum), sizeof(ebuf));
        util_line_puts(&ln, ebuf);
    }
    buf[ln.len++] = '\n';
    write_line(log_fd >= 0 ? log_fd : STDERR_FILENO, buf, ln.len);
    errno = saved_errno;
}

void log_msg(enum module_id m, enum log_level lvl, int errnum, const char *client, const char *fmt,
             ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(m, lvl, errnum, client, fmt, ap);
    va_end(ap);
}

/* In the child, before exec: the logger must not hold listeners, other logs or the write
 * end of its own pipe (which would keep it from ever seeing EOF). */
static void close_from(int lowfd)
{
#if defined(__linux__) && defined(__GLIBC__) &&                                                    \
    (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    if (close_range((unsigned)lowfd, ~0u, 0) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = lowfd; fd < max; fd++)
        close(fd);
}

static int open_pipe(const char *prog, pid_t *pid_out, char *err, size_t errlen)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) {
        snprintf(err, errlen, "cannot create pipe for \"|%s\": %s", prog, strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "cannot start \"%s\": %s", prog, strerror(errno));
        close(p[0]);
        close(p[1]);
        return -1;
    }
    if (pid == 0) {
        /* exec() keeps ignored signals ignored and the blocked mask: the master may ignore
         * SIGPIPE/SIGCHLD or block signals, and the logger (and the shell waiting for it)
         * must start with the defaults. */
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        static const int sigs[] = {SIGPIPE, SIGCHLD, SIGHUP,  SIGTERM, SIGINT,
                                   SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH};
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
            signal(sigs[i], SIG_DFL);
        if (p[0] != STDIN_FILENO) {
            if (dup2(p[0], STDIN_FILENO) < 0)
                _exit(127);
        } else {
            fcntl(STDIN_FILENO, F_SETFD, 0);
        }
        close_from(3);
        execl("/bin/sh", "sh", "-c", prog, (char *)NULL);
        _exit(127);
    }
    close(p[0]);
    if (pid_out != NULL)
        *pid_out = pid;
    return p[1];
}

int log_open_pid(const char *dest, pid_t *pid, char *err, size_t errlen)
{
    if (pid != NULL)
        *pid = 0;
    if (dest == NULL || *dest == '\0') {
        snprintf(err, errlen, "empty log destination");
        return -1;
    }
    if (dest[0] == '|') {
        /* httpd's "||prog" (no shell) and "|$prog" (shell) both run through the shell. */
        const char *prog = dest + 1;
        if (*prog == '|' || *prog == '$')
            prog++;
        while (*prog == ' ' || *prog == '\t')
            prog++;
        if (*prog == '\0') {
            snprintf(err, errlen, "piped log \"%s\" names no program", dest);
            return -1;
        }
        return open_pipe(prog, pid, err, errlen);
    }
    if (strcmp(dest, "syslog") == 0 || strncmp(dest, "syslog:", 7) == 0) {
        snprintf(err, errlen, "syslog logging is not supported yet");
        return -1;
    }
    int fd = open(dest, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open log file %s: %s", dest, strerror(errno));
        return -1;
    }
    return fd;
}

int log_open(const char *dest, char *err, size_t errlen)
{
    return log_open_pid(dest, NULL, err, errlen);
}
