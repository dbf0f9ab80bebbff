/* STUB: mod_env directives arrive here (being written). */
#include "conf_registry.h"

static const struct conf_directive env_directives[] = {{0}};
const struct conf_table conf_table_env = {env_directives, 0};
