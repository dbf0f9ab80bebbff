/* STUB (being written): SetHandler, ExtendedStatus. */
#include "conf_registry.h"
#include "status.h"

static const struct conf_directive status_directives[] = {
    {"SetHandler", CTX_DIR_ANY, ARGS_TAKE1, NULL, TGT_NONE, 0, 0, 0, 0, MOD_CORE, NULL},
};

const struct conf_table conf_table_status = {status_directives, 0};
