/* STUB (being written): RewriteMap dbm:. */
#include "rewrite_map_impl.h"

const char *rwmap_dbm_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *dbmtype,
                             const char *path)
{
    (void)cmd, (void)m, (void)dbmtype, (void)path;
    return "not implemented";
}

const char *rwmap_dbm_lookup(struct request *r, const struct rewrite_map *m, const char *key)
{
    (void)r, (void)m, (void)key;
    return NULL;
}
