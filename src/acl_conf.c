/* STUB: access-control directives arrive here (being written). */
#include "conf_registry.h"

static const struct conf_directive acl_directives[] = {{0}};
const struct conf_table conf_table_acl = {acl_directives, 0};

void conf_finish_acl(struct conf_cmd *cmd)
{
    (void)cmd;
}
