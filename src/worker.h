/* A worker process: accept one connection at a time and serve its keep-alive requests. */
#ifndef PORTICO_WORKER_H
#define PORTICO_WORKER_H

#include "conf_types.h"

struct slotmem;

/* Runs the accept loop until a graceful stop (SIGUSR1), MaxConnectionsPerChild or the
 * master's death; never returns (exits the process). `slot` indexes the scoreboard (sb may
 * be NULL for tests). Privileges are dropped here before the first accept. */
void worker_main(const struct conf *conf, struct slotmem *sb, unsigned slot, unsigned generation)
    __attribute__((noreturn));

/* True once this worker was told to finish (graceful stop or restart): responses then
 * close the connection instead of keeping it alive. */
int worker_stopping(void);

#endif
