/* RewriteMap: defining maps at load and looking keys up per request. One file per family:
 * rewrite_map.c (dispatch, txt:, rnd:, int:, the per-process cache), rewrite_map_dbm.c
 * (dbm[=gdbm]:), rewrite_map_prg.c (prg:, one program per map started by the master and
 * shared by every worker under a cross-process lock), rewrite_map_dbd.c (dbd:/fastdbd:
 * through DBDriver/DBDParams: SQLite 3 built in, PostgreSQL when configure found libpq). */
#ifndef PORTICO_REWRITE_MAP_H
#define PORTICO_REWRITE_MAP_H

#include <stddef.h>
#include <sys/types.h>

#include "rewrite.h"

struct conf_cmd;
struct request;

/* RewriteMap name type:source [arg3]: fills m (name already set, file/line set) from the
 * "type:source" argument and the optional third one; checks what httpd checks at load
 * (file exists, int: name known, dbm type valid, DBDriver configured for dbd, ...) and
 * builds m->priv. Called by rewrite_conf.c. Returns NULL or an error message. */
const char *rewrite_map_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *typesrc,
                               const char *arg3);

/* Looks key up in m for r. Returns the value (in r->arena, or a static string), or NULL when
 * the key is not found or its value is empty (the two are the same for mod_rewrite). Errors
 * (file gone, program dead, database down) are logged and answer NULL. Writes
 * `rewrite:trace5` lines. */
const char *rewrite_map_lookup(struct request *r, const struct rewrite_map *m, const char *key);

/* ---- process lifecycle (called by master.c / worker.c) ---- */

/* Master, after a configuration is loaded and before workers are forked: starts every
 * prg: map of c whose server has RewriteEngine On (stderr to that server's ErrorLog fd,
 * given by errlog_fd), sets up the lock the workers share. Returns 0, or -1 with a
 * message in err. On a graceful restart it is called for the new conf; the old conf's
 * programs are stopped with rewrite_maps_stop() once the master no longer needs them
 * (they see EOF on stdin when the last old worker exits). */
int rewrite_maps_start(struct conf *c, int errlog_fd, char *err, size_t errlen);

/* Master: a child exited; if it was one of c's map programs, start it again (same pipes,
 * so workers keep their descriptors) and return 1; else 0. */
int rewrite_maps_reap(struct conf *c, pid_t pid, int status);

/* Master: stop c's programs (close the master's pipe ends, TERM them) and release the lock
 * segment. Safe to call twice. */
void rewrite_maps_stop(struct conf *c);

/* Master, on a restart: close the master's ends of c's programs without signalling them,
 * so the old workers still draining keep their answers and each program ends on EOF when
 * the last of them exits. */
void rewrite_maps_release(struct conf *c);

/* Worker, after fork: drop the descriptors it does not use, reset per-process caches and
 * database connections (opened lazily on first lookup). */
void rewrite_maps_child_init(const struct conf *c);

/* Whether c has any prg: map (the master checks this to decide whether to call start). */
int rewrite_maps_have_prg(const struct conf *c);

#endif
