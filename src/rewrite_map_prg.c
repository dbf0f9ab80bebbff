/* STUB (being written): RewriteMap prg:. */
#include "rewrite_map_impl.h"

const char *rwmap_prg_define(struct conf_cmd *cmd, struct rewrite_map *m, const char *cmdline,
                             const char *arg3)
{
    (void)cmd, (void)m, (void)cmdline, (void)arg3;
    return "not implemented";
}

const char *rwmap_prg_lookup(struct request *r, const struct rewrite_map *m, const char *key)
{
    (void)r, (void)m, (void)key;
    return NULL;
}

void rwmap_prg_child_init(const struct conf *c)
{
    (void)c;
}

int rewrite_maps_start(struct conf *c, int errlog_fd, char *err, size_t errlen)
{
    (void)c, (void)errlog_fd, (void)err, (void)errlen;
    return 0;
}

int rewrite_maps_reap(struct conf *c, pid_t pid, int status)
{
    (void)c, (void)pid, (void)status;
    return 0;
}

void rewrite_maps_stop(struct conf *c)
{
    (void)c;
}

int rewrite_maps_have_prg(const struct conf *c)
{
    (void)c;
    return 0;
}
