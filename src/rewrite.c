/* STUB (being written): the mod_rewrite engine. */
#include "rewrite.h"

#include <string.h>

int rewrite_translate(const struct conf *conf, const struct conf_server *srv, struct request *r,
                      const char *path, struct rewrite_result *res)
{
    (void)conf, (void)srv, (void)r, (void)path;
    memset(res, 0, sizeof(*res));
    res->outcome = RW_DECLINED;
    return 0;
}
