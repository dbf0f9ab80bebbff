/* Small string and number helpers shared by every subsystem. */
#ifndef PORTICO_UTIL_H
#define PORTICO_UTIL_H

#include <stddef.h>
#include <stdint.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Copies at most size-1 bytes and NUL-terminates; returns strlen(src) so a caller detects
 * truncation with `>= size` (BSD strlcpy semantics). */
size_t util_strlcpy(char *dst, const char *src, size_t size);

/* Parses a whole decimal string into [min, max]. Returns 0, or -1 with errno set
 * (EINVAL for junk or empty, ERANGE outside bounds). Replaces atoi/strtol guesswork. */
int util_parse_ll(const char *s, long long min, long long max, long long *out);

/* Case-insensitive ASCII comparisons that ignore the locale. */
int util_strcaseeq(const char *a, const char *b);
int util_strncaseeq(const char *a, const char *b, size_t n);

/* A line built in a fixed buffer (log lines): what does not fit is dropped, never overflows;
 * `full` tells that something was cut. The caller keeps its own room for a final '\n'. */
struct util_line {
    char *buf;
    size_t len;
    size_t cap; /* usable bytes */
    int full;
};
void util_line_put(struct util_line *ln, const char *s, size_t n);
void util_line_puts(struct util_line *ln, const char *s);

/* Milliseconds on CLOCK_MONOTONIC: the base of every deadline in portico. */
int64_t util_now_ms(void);

/* Reads /proc/PID/stat into buf and returns the fields after the command name (from the
 * state on), or NULL: the name may contain spaces and parentheses, so they start after the
 * last ')'. */
const char *util_proc_stat_fields(long pid, char *buf, size_t len);

#endif
