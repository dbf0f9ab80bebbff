/* The master process: listeners, logs, shared memory, pid file, and the prefork pool. */
#ifndef PORTICO_MASTER_H
#define PORTICO_MASTER_H

#include "conf.h"

struct master_options {
    struct conf_options copt; /* to re-read the same files on restart */
    int foreground;           /* -DFOREGROUND / -DNO_DETACH */
    int single;               /* -X */
};

/* Takes ownership of conf. Opens everything, forks workers and supervises them until a stop
 * signal. Returns the process exit status. */
int master_run(struct conf *conf, const struct master_options *opt);

/* Reads the pid from a PidFile; returns the pid when that process is alive, 0 when there is
 * no file or no such process, -1 when the file is unreadable or corrupt (msg in err). */
long master_read_pid(const char *pid_file, char *err, size_t errlen);

#endif
