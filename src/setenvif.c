/* STUB (being written): mod_setenvif. */
#include "setenvif.h"

#include "conf_registry.h"

static const struct conf_directive setenvif_directives[] = {
    {"SetEnvIf", CTX_ANY, ARGS_1MORE, NULL, TGT_NONE, 0, 0, 0, 0, MOD_SETENVIF, NULL},
};

const struct conf_table conf_table_setenvif = {setenvif_directives, 0};

void setenvif_apply_server(struct request *r)
{
    (void)r;
}

void setenvif_apply_sections(struct request *r, const struct route_decision *d)
{
    (void)r, (void)d;
}
