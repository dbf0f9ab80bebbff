/* What the RewriteMap families export to the dispatcher in rewrite_map.c (private to the
 * rewrite_map*.c files). */
#ifndef PORTICO_REWRITE_MAP_IMPL_H
#define PORTICO_REWRITE_MAP_IMPL_H

#include "rewrite_map.h"

/* dbm[=type]:path (rewrite_map_dbm.c); dbmtype NULL = default (GDBM). */
const char *rwmap_dbm_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *dbmtype,
                             const char *path);
const char *rwmap_dbm_lookup(struct request *r, const struct rewrite_map *m, const char *key);

/* prg:command line (rewrite_map_prg.c). */
const char *rwmap_prg_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *cmdline,
                             const char *arg3);
const char *rwmap_prg_lookup(struct request *r, const struct rewrite_map *m, const char *key);
void rwmap_prg_child_init(const struct conf *c);

/* dbd:/fastdbd:SQL (rewrite_map_dbd.c). */
const char *rwmap_dbd_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *sql,
                             int fast);
const char *rwmap_dbd_lookup(struct request *r, const struct rewrite_map *m, const char *key);
void rwmap_dbd_child_init(const struct conf *c);

#endif
