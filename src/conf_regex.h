/* Regular expressions compiled at config load (PCRE2, JIT when available). */
#ifndef PORTICO_CONF_REGEX_H
#define PORTICO_CONF_REGEX_H

#include <stddef.h>

struct arena;
struct conf_cmd;

/* Compiles pattern with PCRE2 options opts plus httpd's default RegexDefaultOptions
 * (PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY, as ap_regcomp adds them); the code is freed with
 * arena a. Returns a pcre2_code *, or NULL with PCRE2's message ("... at offset N") in err. */
void *conf_regex_compile(struct arena *a, const char *pattern, unsigned opts, char *err,
                         size_t errlen);

/* For directive handlers: the same with the error as "regular expression 'P' could not be
 * compiled: ..." ready to return. Returns NULL on success with *out set. */
const char *conf_compile_regex(struct conf_cmd *cmd, const char *pattern, void **out);

#endif
