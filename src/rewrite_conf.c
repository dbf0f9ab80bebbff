/* STUB (being written): mod_rewrite directives. */
#include "rewrite.h"

#include "conf_registry.h"
#include "util.h"

static const struct conf_directive rewrite_directives[] = {
    {"RewriteEngine", CTX_SRV_ANY, ARGS_FLAG, NULL, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE, NULL},
};

const struct conf_table conf_table_rewrite = {rewrite_directives, 0};

const char *rewrite_rule_compile(struct arena *a, const char *pattern, const char *subst,
                                 const char *flags, struct rewrite_rule **out)
{
    (void)a, (void)pattern, (void)subst, (void)flags, (void)out;
    return "not implemented";
}

const char *rewrite_cond_compile(struct arena *a, const char *test, const char *pattern,
                                 const char *flags, struct rewrite_cond **out)
{
    (void)a, (void)test, (void)pattern, (void)flags, (void)out;
    return "not implemented";
}

void conf_finish_rewrite(struct conf_cmd *cmd)
{
    (void)cmd;
}
