/* The one place regular expressions are compiled: at config load, with the JIT when the
 * platform has one, and released with the config's arena. Nothing compiles a regex while
 * serving a request. */
#include "conf_regex.h"

#include <stdio.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf_registry.h"

static void regex_free(void *re)
{
    pcre2_code_free(re);
}

/* httpd compiles every configured regex through ap_regcomp, which adds RegexDefaultOptions
 * (default "DOTALL DOLLAR_ENDONLY" since 2.4.30): '.' also matches a newline (a decoded %0A)
 * and '$' matches only at the very end, not before a final newline. Doing the same here keeps
 * <LocationMatch>, ProxyPassMatch, Header edit, SetEnvIf, ap_expr and RewriteRule patterns
 * matching what they match in httpd. */
#define REGEX_DEFAULT_OPTS (PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY)

void *conf_regex_compile(struct arena *a, const char *pattern, unsigned opts, char *err,
                         size_t errlen)
{
    int code;
    PCRE2_SIZE off;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
                                   opts | REGEX_DEFAULT_OPTS, &code, &off, NULL);
    if (re == NULL) {
        PCRE2_UCHAR msg[200];
        pcre2_get_error_message(code, msg, sizeof(msg));
        snprintf(err, errlen, "%s at offset %zu", (const char *)msg, (size_t)off);
        return NULL;
    }
    /* A JIT failure (no JIT on this CPU, no executable memory) only costs speed. */
    (void)pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    if (arena_cleanup_add(a, regex_free, re) < 0) {
        pcre2_code_free(re);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    return re;
}

const char *conf_compile_regex(struct conf_cmd *cmd, const char *pattern, void **out)
{
    char err[256];
    void *re = conf_regex_compile(cmd->arena, pattern, 0, err, sizeof(err));
    if (re == NULL)
        return conf_errf(cmd, "regular expression '%s' could not be compiled: %s", pattern, err);
    *out = re;
    return NULL;
}
