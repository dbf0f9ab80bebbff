#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "arena.h"
#include "tap.h"
#include "util.h"

static int cleaned;
static void count_cleanup(void *p)
{
    cleaned += *(int *)p;
}

int main(void)
{
    struct arena *a = arena_create(64);
    ok(a != NULL, "arena_create");
    char *p = arena_alloc(a, 10);
    ok(p != NULL && ((uintptr_t)p % 16) == 0, "allocation is 16-byte aligned");
    char *big = arena_alloc(a, 100000);
    ok(big != NULL, "allocation larger than the block gets its own block");
    memset(big, 'x', 100000);
    is_str(arena_strdup(a, "hello"), "hello", "strdup");
    is_str(arena_strndup(a, "hello", 3), "hel", "strndup");
    is_str(arena_printf(a, "%s-%d", "a", 42), "a-42", "printf");
    int *z = arena_calloc(a, 8, sizeof(int));
    int zero = 1;
    for (int i = 0; i < 8; i++)
        zero &= z[i] == 0;
    ok(zero, "calloc zeroes");
    ok(arena_calloc(a, SIZE_MAX / 2, 4) == NULL, "calloc overflow refused");
    ok(arena_used(a) >= 100000, "used counts bytes");
    int one = 1, two = 2;
    arena_cleanup_add(a, count_cleanup, &one);
    arena_cleanup_add(a, count_cleanup, &two);
    arena_reset(a);
    is_int(cleaned, 3, "reset runs every cleanup");
    is_int(arena_used(a), 0, "reset empties the arena");
    p = arena_alloc(a, 32);
    ok(p != NULL, "arena usable after reset");
    arena_cleanup_add(a, count_cleanup, &one);
    arena_destroy(a);
    is_int(cleaned, 4, "destroy runs cleanups");

    long long v;
    is_int(util_parse_ll("42", 0, 100, &v), 0, "parse_ll ok");
    is_int(v, 42, "parse_ll value");
    is_int(util_parse_ll("101", 0, 100, &v), -1, "parse_ll above max");
    is_int(util_parse_ll("4x", 0, 100, &v), -1, "parse_ll junk");
    is_int(util_parse_ll("", 0, 100, &v), -1, "parse_ll empty");
    is_int(util_parse_ll(" 4", 0, 100, &v), -1, "parse_ll leading space");
    ok(util_strcaseeq("Content-Length", "content-length"), "strcaseeq");
    ok(!util_strcaseeq("Content-Length", "content-lengt"), "strcaseeq length differs");
    char buf[4];
    is_int(util_strlcpy(buf, "abcdef", sizeof(buf)), 6, "strlcpy returns source length");
    is_str(buf, "abc", "strlcpy truncates");
    /* A command name with ") " in it must not shift the fields (prctl names the process). */
    prctl(PR_SET_NAME, "a) b) c", 0, 0, 0);
    char st[512];
    const char *f = util_proc_stat_fields((long)getpid(), st, sizeof(st));
    ok(f != NULL && f[0] == 'R' && f[1] == ' ', "proc_stat_fields: the state of a running process");
    long ppid = f != NULL ? strtol(f + 2, NULL, 10) : -1;
    is_int(ppid, getppid(), "proc_stat_fields: then the parent pid, despite ') ' in the name");
    ok(util_proc_stat_fields(-1, st, sizeof(st)) == NULL, "proc_stat_fields: no such process");
    return tap_done();
}
