/* Segment names from the PidFile path.
 *
 * POSIX shm names are one flat namespace per host, so they must be unique per server
 * instance yet computable by a tool that only has the config. The PidFile is exactly that:
 * unique per running master (two masters cannot share one) and known from the config.
 * Hashing keeps the name short and free of the path's slashes; FNV-1a is enough since
 * collisions only matter between PidFiles on one host. */
#include "config.h"

#include "shm_name.h"

#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define FNV64_OFFSET 0xcbf29ce484222325ull
#define FNV64_PRIME  0x100000001b3ull

static uint64_t fnv1a64(const char *s)
{
    uint64_t h = FNV64_OFFSET;
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        h ^= *p;
        h *= FNV64_PRIME;
    }
    return h;
}

int shm_name_for(const char *pid_file, const char *kind, char *out, size_t outlen)
{
    /* A slash in the kind would make shm_open fail (or, on some systems, create a file in a
     * directory): refuse it here where the caller's mistake is obvious. */
    if (pid_file == NULL || kind == NULL || kind[0] == '\0' || strchr(kind, '/') != NULL) {
        errno = EINVAL;
        return -1;
    }
    int n = snprintf(out, outlen, "/portico.%016" PRIx64 ".%s", fnv1a64(pid_file), kind);
    if (n < 0 || (size_t)n >= outlen) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}
