/* STUB (being written): mod_rewrite server variables. */
#include "rewrite.h"

const char *rewrite_var(struct request *r, const char *name, size_t len, const char **hdr_used)
{
    (void)r, (void)name, (void)len;
    if (hdr_used != NULL)
        *hdr_used = NULL;
    return "";
}
