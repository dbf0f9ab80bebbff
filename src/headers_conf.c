/* STUB: mod_headers directives arrive here (being written). */
#include "conf_registry.h"

static const struct conf_directive headers_directives[] = {{0}};
const struct conf_table conf_table_headers = {headers_directives, 0};

void conf_finish_headers(struct conf_cmd *cmd)
{
    (void)cmd;
}
