/* Region allocator: one arena per config generation, per connection and per request.
 * Everything allocated from an arena is freed by one arena_destroy() or arena_reset(). */
#ifndef PORTICO_ARENA_H
#define PORTICO_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

/* Creates an arena whose first block holds `first_block` bytes (0 = default 4 KiB).
 * Returns NULL on allocation failure. */
struct arena *arena_create(size_t first_block);

/* Frees every block and runs cleanup hooks in reverse order of registration. */
void arena_destroy(struct arena *a);

/* Runs cleanups and frees all blocks but the first, which is kept for reuse: the cheap
 * way to recycle a per-request arena in a keep-alive loop. */
void arena_reset(struct arena *a);

/* Aligned (16 bytes) allocation; NULL on failure. Memory is not zeroed (arena_calloc is). */
void *arena_alloc(struct arena *a, size_t n);
void *arena_calloc(struct arena *a, size_t count, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_printf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vprintf(struct arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* Registers fn(data) to run when the arena is reset or destroyed (fds, PCRE2 data, ...).
 * Returns 0, or -1 when the hook could not be allocated (fn is then NOT registered). */
int arena_cleanup_add(struct arena *a, void (*fn)(void *), void *data);

/* Bytes handed out so far (for tests and statistics). */
size_t arena_used(const struct arena *a);

#endif
