/* The error log, in httpd's format:
 *   [Wed Oct 11 14:32:52.123456 2000] [module:level] [pid N] [client IP:port] message
 * Each line is one write() to an O_APPEND descriptor, so lines from many processes never
 * interleave. A process logs to one target at a time (the master: the main server's
 * ErrorLog; a worker switches to the vhost's ErrorLog per request). */
#ifndef PORTICO_LOG_H
#define PORTICO_LOG_H

#include <stdarg.h>
#include <sys/types.h>

#include "conf_types.h"

/* Current target: fd (-1 = stderr) and levels (NULL = warn for all). */
void log_set_target(int fd, const struct conf_loglevel *levels);

/* Whether a message of this module and level would be written (notice always is, as
 * httpd writes notices whatever LogLevel says). */
int log_enabled(enum module_id m, enum log_level lvl);

/* Writes one line. errnum != 0 appends ": strerror(errnum)". client = "ip:port" or NULL. */
void log_msg(enum module_id m, enum log_level lvl, int errnum, const char *client, const char *fmt,
             ...) __attribute__((format(printf, 5, 6)));
void log_vmsg(enum module_id m, enum log_level lvl, int errnum, const char *client, const char *fmt,
              va_list ap) __attribute__((format(printf, 5, 0)));

/* Opens a log destination as the master does before forking: a path (created 0640,
 * O_APPEND|O_CLOEXEC) or "|program" (spawned through /bin/sh with its stdin on a pipe; the
 * write end is returned). Returns the fd or -1 with a message in err. */
int log_open(const char *dest, char *err, size_t errlen);

/* log_open() that also stores the pid of a piped logger in *pid (0 for a file), so the
 * master can reap it and start it again when it dies. pid may be NULL. */
int log_open_pid(const char *dest, pid_t *pid, char *err, size_t errlen);

/* Level names: "warn" -> LL_WARN; returns -1 for an unknown name. */
int log_level_parse(const char *name);
const char *log_level_name(enum log_level lvl);

#endif
