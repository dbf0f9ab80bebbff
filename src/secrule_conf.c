/* STUB (being written): SecRuleEngine, SecRule, SecAction, SecDefaultAction. */
#include "conf_registry.h"
#include "secrule.h"

static const struct conf_directive secrule_directives[] = {
    {"SecRuleEngine", CTX_SRV_ANY, ARGS_TAKE1, NULL, TGT_NONE, 0, 0, 0, 0, MOD_SECURITY2, NULL},
};

const struct conf_table conf_table_secrule = {secrule_directives, 0};
