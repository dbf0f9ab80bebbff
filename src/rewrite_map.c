/* STUB (being written): RewriteMap dispatch, txt:, rnd:, int:. */
#include "rewrite_map_impl.h"

const char *rewrite_map_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *typesrc,
                               const char *arg3)
{
    (void)cmd, (void)m, (void)typesrc, (void)arg3;
    return "not implemented";
}

const char *rewrite_map_lookup(struct request *r, const struct rewrite_map *m, const char *key)
{
    (void)r, (void)m, (void)key;
    return NULL;
}

void rewrite_maps_child_init(const struct conf *c)
{
    rwmap_prg_child_init(c);
    rwmap_dbd_child_init(c);
}
