#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

size_t util_strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = '\0';
    }
    return len;
}

int util_parse_ll(const char *s, long long min, long long max, long long *out)
{
    if (s == NULL || *s == '\0') {
        errno = EINVAL;
        return -1;
    }
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (*end != '\0' || end == s || s[0] == ' ' || s[0] == '\t') {
        errno = EINVAL;
        return -1;
    }
    if (errno == ERANGE || v < min || v > max) {
        errno = ERANGE;
        return -1;
    }
    *out = v;
    return 0;
}

static int lower(int c)
{
    return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c;
}

int util_strncaseeq(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lower((unsigned char)a[i]) != lower((unsigned char)b[i]))
            return 0;
        if (a[i] == '\0')
            return 1;
    }
    return 1;
}

int util_strcaseeq(const char *a, const char *b)
{
    for (;; a++, b++) {
        if (lower((unsigned char)*a) != lower((unsigned char)*b))
            return 0;
        if (*a == '\0')
            return 1;
    }
}

int64_t util_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void util_line_put(struct util_line *ln, const char *s, size_t n)
{
    if (ln->full)
        return;
    if (n > ln->cap - ln->len) {
        n = ln->cap - ln->len;
        ln->full = 1;
    }
    memcpy(ln->buf + ln->len, s, n);
    ln->len += n;
}

void util_line_puts(struct util_line *ln, const char *s)
{
    util_line_put(ln, s, strlen(s));
}

const char *util_proc_stat_fields(long pid, char *buf, size_t len)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || len < 2) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')');
    return p != NULL && p[1] == ' ' ? p + 2 : NULL;
}
