/* STUB (being written): SSL* directives and the front-end contexts. */
#include "conf_registry.h"
#include "tls_impl.h"

static const struct conf_directive tls_directives[] = {
    {"SSLEngine", CTX_SRV_ANY, ARGS_TAKE1, NULL, TGT_NONE, 0, 0, 0, 0, MOD_SSL, NULL},
};

const struct conf_table conf_table_tls = {tls_directives, 0};

int tls_conf_load(struct conf *c, char *err, size_t errlen)
{
    (void)c, (void)err, (void)errlen;
    return 0;
}

void tls_conf_free(struct conf *c)
{
    (void)c;
}
