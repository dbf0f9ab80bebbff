/* Shared-memory segment names derive from the master's PidFile (absolute path), so a tool
 * given the same config finds the running server's segments, and two servers with
 * different PidFiles never collide. */
#ifndef PORTICO_SHM_NAME_H
#define PORTICO_SHM_NAME_H

#include <stddef.h>

/* Writes "/portico.<16 hex of FNV-1a 64 of pid_file>.<kind>" into out. Returns 0, or -1 when
 * out is too small. */
int shm_name_for(const char *pid_file, const char *kind, char *out, size_t outlen);

#endif
