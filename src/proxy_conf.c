/* STUB: mod_proxy directives arrive here (being written). */
#include "conf_registry.h"
#include "util.h"

static const struct conf_directive proxy_directives[] = {{0}};
const struct conf_table conf_table_proxy = {proxy_directives, 0};

void conf_finish_proxy(struct conf_cmd *cmd)
{
    (void)cmd;
}
