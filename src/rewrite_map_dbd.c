/* STUB (being written): RewriteMap dbd:/fastdbd:, DBDriver, DBDParams. */
#include "conf_registry.h"
#include "rewrite_map_impl.h"

static const struct conf_directive dbd_directives[] = {
    {"DBDriver", CTX_SRV_ANY, ARGS_TAKE1, NULL, TGT_NONE, 0, 0, 0, 0, MOD_DBD, NULL},
};

const struct conf_table conf_table_dbd = {dbd_directives, 0};

const char *rwmap_dbd_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *sql, int fast)
{
    (void)cmd, (void)m, (void)sql, (void)fast;
    return "not implemented";
}

const char *rwmap_dbd_lookup(struct request *r, const struct rewrite_map *m, const char *key)
{
    (void)r, (void)m, (void)key;
    return NULL;
}

void rwmap_dbd_child_init(const struct conf *c)
{
    (void)c;
}
