/* mod_rewrite directives (server and <VirtualHost> context only) and the post-parse pass that
 * builds each server's effective rule and map lists. Parsing follows httpd 2.4's
 * mod_rewrite.c (cmd_rewriterule, cmd_rewritecond, cmd_parseflagfield) so that rule sets
 * written for httpd load unchanged and bad ones fail with httpd's messages. */
#include "rewrite.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf_regex.h"
#include "conf_registry.h"
#include "headers.h"
#include "proxy_types.h"
#include "rewrite_map.h"
#include "util.h"

/* Private to this file: "a RewriteOptions directive was seen in this server" (httpd's
 * options_set). conf_finish_rewrite() replaces options by the effective set and clears it. */
#define RWO_SET_ 0x80000000u

static const char *oom = "out of memory";

/* ---- flags text "[A,B=val,...]" (cmd_parseflagfield) ---- */

typedef const char *(*flag_fn)(struct arena *a, void *obj, char *key, char *val);

static const char *parse_flag_field(struct arena *a, const char *text, void *obj, flag_fn fn)
{
    size_t n = strlen(text);
    if (n < 2 || text[0] != '[' || text[n - 1] != ']')
        return "bad flag delimiters";
    char *buf = arena_strndup(a, text + 1, n - 2);
    if (buf == NULL)
        return oom;
    /* Same walk as httpd: the closing ']' acts as a final ',' so "[]" and "[L,,R]" name an
     * empty flag, which is an unknown flag there too. */
    char *key = buf;
    for (;;) {
        while (isspace((unsigned char)*key))
            key++;
        char *comma = strchr(key, ',');
        char *end = comma != NULL ? comma : key + strlen(key);
        while (end > key && isspace((unsigned char)end[-1]))
            end--;
        *end = '\0';
        char *val = strchr(key, '=');
        if (val != NULL)
            *val++ = '\0';
        const char *err = fn(a, obj, key, val);
        if (err != NULL)
            return err;
        if (comma == NULL)
            break;
        key = comma + 1;
    }
    return NULL;
}

static const char *unknown_flag(struct arena *a, const char *key)
{
    const char *m = arena_printf(a, "unknown flag '%s'", key);
    return m != NULL ? m : oom;
}

/* ---- RewriteCond ---- */

static const char *cond_flag(struct arena *a, void *obj, char *key, char *val)
{
    (void)val;
    struct rewrite_cond *c = obj;
    if (util_strcaseeq(key, "nocase") || util_strcaseeq(key, "NC"))
        c->flags |= RWCF_NOCASE;
    else if (util_strcaseeq(key, "ornext") || util_strcaseeq(key, "OR"))
        c->flags |= RWCF_ORNEXT;
    else if (util_strcaseeq(key, "novary") || util_strcaseeq(key, "NV"))
        c->flags |= RWCF_NOVARY;
    else
        return unknown_flag(a, key);
    return NULL;
}

/* atoi as httpd's -eq/-lt/... use it: leading blanks, a sign, digits, junk ignored. */
static long long atoi_like(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    int neg = 0;
    if (*s == '+' || *s == '-')
        neg = *s++ == '-';
    long long v = 0;
    for (; isdigit((unsigned char)*s); s++) {
        v = v * 10 + (*s - '0');
        if (v > INT_MAX)
            v = (long long)INT_MAX + 1; /* clamp: atoi's overflow is undefined anyway */
    }
    v = neg ? -v : v;
    if (v > INT_MAX)
        v = INT_MAX;
    if (v < INT_MIN)
        v = INT_MIN;
    return v;
}

/* The operator of a CondPattern (after '!'), exactly as cmd_rewritecond classifies it: the
 * file tests are the whole pattern, the integer operators need something after them, a
 * one-character pattern is always a regex. Returns how many bytes the operator takes. */
static size_t cond_classify(const char *p, enum rewrite_cond_op *op)
{
    *op = RWC_REGEX;
    if (p[0] == '\0' || p[1] == '\0')
        return 0;
    if (p[0] == '-') {
        if (p[2] == '\0') {
            switch (p[1]) {
            case 'f':
                *op = RWC_FILE_REG;
                break;
            case 's':
                *op = RWC_FILE_SIZE;
                break;
            case 'd':
                *op = RWC_FILE_DIR;
                break;
            case 'x':
                *op = RWC_FILE_EXEC;
                break;
            case 'h':
            case 'L':
            case 'l':
                *op = RWC_FILE_LINK;
                break;
            case 'U':
                *op = RWC_URL_SUBREQ;
                break;
            case 'F':
                *op = RWC_FILE_SUBREQ;
                break;
            default:
                break;
            }
            return 0;
        }
        if (p[3] == '\0')
            return 0;
        static const struct {
            char a, b;
            enum rewrite_cond_op op;
        } ints[] = {{'l', 't', RWC_INT_LT}, {'l', 'e', RWC_INT_LE}, {'g', 't', RWC_INT_GT},
                    {'g', 'e', RWC_INT_GE}, {'e', 'q', RWC_INT_EQ}, {'n', 'e', RWC_INT_NE}};
        for (size_t i = 0; i < ARRAY_LEN(ints); i++)
            if (p[1] == ints[i].a && p[2] == ints[i].b) {
                *op = ints[i].op;
                return 3;
            }
        return 0;
    }
    switch (p[0]) {
    case '>':
        *op = p[1] == '=' ? RWC_STR_GE : RWC_STR_GT;
        return p[1] == '=' ? 2 : 1;
    case '<':
        *op = p[1] == '=' ? RWC_STR_LE : RWC_STR_LT;
        return p[1] == '=' ? 2 : 1;
    case '=':
        *op = RWC_STR_EQ;
        /* =""  is httpd's spelling of "the empty string" */
        return strcmp(p + 1, "\"\"") == 0 ? 3 : 1;
    default:
        return 0;
    }
}

static int cond_is_string_op(enum rewrite_cond_op op)
{
    return op >= RWC_STR_LT && op <= RWC_STR_GE;
}

/* rewrite_cond_compile() with a report of the NC flag dropped on a non-regex pattern (the
 * directive handler turns it into httpd's warning). */
static const char *cond_compile(struct arena *a, const char *test, const char *pattern,
                                const char *flags, struct rewrite_cond **out, int *nc_dropped)
{
    *out = NULL;
    *nc_dropped = 0;
    struct rewrite_cond *c = arena_calloc(a, 1, sizeof(*c));
    if (c == NULL || (c->test = arena_strdup(a, test)) == NULL)
        return oom;
    const char *err;
    if (flags != NULL && (err = parse_flag_field(a, flags, c, cond_flag)) != NULL)
        return err;
    const char *p = pattern;
    if (*p == '!') {
        c->negate = 1;
        p++;
    }
    if (util_strcaseeq(test, "expr")) {
        c->op = RWC_EXPR;
    } else {
        p += cond_classify(p, &c->op);
    }
    if (c->op != RWC_REGEX && !cond_is_string_op(c->op) && (c->flags & RWCF_NOCASE)) {
        c->flags &= ~RWCF_NOCASE;
        *nc_dropped = 1;
    }
    if ((c->pattern = arena_strdup(a, p)) == NULL)
        return oom;
    char msg[256];
    switch (c->op) {
    case RWC_REGEX:
        c->regex = conf_regex_compile(a, p, (c->flags & RWCF_NOCASE ? PCRE2_CASELESS : 0), msg,
                                      sizeof(msg));
        if (c->regex == NULL)
            return arena_printf(a, "cannot compile regular expression '%s': %s", p, msg);
        break;
    case RWC_EXPR:
        c->expr = headers_expr_parse(a, p, 0, msg, sizeof(msg));
        if (c->expr == NULL)
            return arena_printf(a, "cannot compile expression \"%s\": %s", p, msg);
        break;
    case RWC_INT_EQ:
    case RWC_INT_NE:
    case RWC_INT_LT:
    case RWC_INT_LE:
    case RWC_INT_GT:
    case RWC_INT_GE:
        c->number = atoi_like(p);
        break;
    default:
        break;
    }
    *out = c;
    return NULL;
}

const char *rewrite_cond_compile(struct arena *a, const char *test, const char *pattern,
                                 const char *flags, struct rewrite_cond **out)
{
    int dropped;
    return cond_compile(a, test, pattern, flags, out, &dropped);
}

/* ---- RewriteRule ---- */

/* The statuses httpd 2.4 knows (ap_index_of_response); R= accepts only these. */
static int http_status_known(long long s)
{
    static const short known[] = {100, 101, 102, 103, 200, 201, 202, 203, 204, 205, 206, 207,
                                  208, 226, 300, 301, 302, 303, 304, 305, 307, 308, 400, 401,
                                  402, 403, 404, 405, 406, 407, 408, 409, 410, 411, 412, 413,
                                  414, 415, 416, 417, 421, 422, 423, 424, 426, 428, 429, 431,
                                  451, 500, 501, 502, 503, 504, 505, 506, 507, 508, 510, 511};
    for (size_t i = 0; i < ARRAY_LEN(known); i++)
        if (known[i] == s)
            return 1;
    return 0;
}

/* Splits E= text into name and value at the first ':' outside %{...} and ${...}, so that
 * E=%{ENV:a}:b names the expanded variable as httpd (which expands, then splits) would. */
static const char *env_action(struct arena *a, struct rewrite_rule *r, const char *val)
{
    if (val == NULL || *val == '\0')
        return "flag 'E' wants a variable (E=VAR:VALUE, E=VAR or E=!VAR)";
    struct rewrite_env_action *e = arena_calloc(a, 1, sizeof(*e));
    if (e == NULL)
        return oom;
    if (val[0] == '!') {
        if ((e->name = arena_strdup(a, val + 1)) == NULL)
            return oom;
    } else {
        int depth = 0;
        const char *colon = NULL;
        for (const char *s = val; *s != '\0' && colon == NULL; s++) {
            if ((s[0] == '%' || s[0] == '$') && s[1] == '{') {
                depth++;
                s++;
            } else if (s[0] == '}' && depth > 0) {
                depth--;
            } else if (s[0] == ':' && depth == 0) {
                colon = s;
            }
        }
        e->name = colon ? arena_strndup(a, val, (size_t)(colon - val)) : arena_strdup(a, val);
        e->value = arena_strdup(a, colon ? colon + 1 : "");
        if (e->name == NULL || e->value == NULL)
            return oom;
    }
    struct rewrite_env_action **pp = &r->env;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = e;
    return NULL;
}

static const char *cookie_action(struct arena *a, struct rewrite_rule *r, const char *val)
{
    if (val == NULL || *val == '\0')
        return "flag 'CO' wants a cookie (CO=NAME:VALUE:DOMAIN[:lifetime[:path[:secure"
               "[:httponly[:samesite]]]]])";
    struct rewrite_cookie *c = arena_calloc(a, 1, sizeof(*c));
    if (c == NULL || (c->spec = arena_strdup(a, val)) == NULL)
        return oom;
    struct rewrite_cookie **pp = &r->cookies;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = c;
    return NULL;
}

/* T= and H= are lower-cased here when they are plain text; with a variable or back-reference
 * in them httpd lower-cases after expansion, so the text is kept as written (the engine
 * lower-cases the expanded value). Empty = none, as httpd ignores an empty result. */
static const char *forced_text(struct arena *a, const char *val, char **out)
{
    if (val == NULL || *val == '\0') {
        *out = NULL;
        return NULL;
    }
    char *s = arena_strdup(a, val);
    if (s == NULL)
        return oom;
    if (strpbrk(s, "$%") == NULL)
        for (char *q = s; *q != '\0'; q++)
            *q = (char)tolower((unsigned char)*q);
    *out = s;
    return NULL;
}

static const char *redirect_code(struct arena *a, struct rewrite_rule *r, const char *val)
{
    r->flags |= RWF_REDIRECT;
    if (val == NULL || *val == '\0')
        return NULL;
    long long code;
    if (util_strcaseeq(val, "permanent"))
        code = 301;
    else if (util_strcaseeq(val, "temp"))
        code = 302;
    else if (util_strcaseeq(val, "seeother"))
        code = 303;
    else if (util_parse_ll(val, 0, 999, &code) < 0 || !http_status_known(code))
        return arena_printf(a, "invalid HTTP response code '%s' for flag 'R'", val);
    r->redirect_status = (int)code;
    if (code < 300 || code > 399)
        r->flags |= RWF_STATUS_ONLY;
    else
        r->flags &= ~RWF_STATUS_ONLY;
    return NULL;
}

static const char *number_flag(struct arena *a, const char *flag, const char *val, long long min,
                               int *out)
{
    long long v;
    if (util_parse_ll(val, min, INT_MAX, &v) < 0)
        return arena_printf(a, "flag '%s' wants a whole number from %lld, not '%s'", flag, min,
                            val);
    *out = (int)v;
    return NULL;
}

/* The rule flags, by every name httpd accepts (and the documented long forms it does not,
 * like backrefnoplus). bit is set when the flag has no value to handle. */
static const char *rule_flag(struct arena *a, void *obj, char *key, char *val)
{
    struct rewrite_rule *r = obj;
    static const struct {
        const char *name, *name2;
        unsigned bit;
    } simple[] = {
        {"BNP", "backrefnoplus", RWF_BNP},
        {"backrefernoplus", NULL, RWF_BNP}, /* httpd's code spells it so */
        {"BCTLS", NULL, RWF_BCTLS | RWF_B},
        {"C", "chain", RWF_CHAIN},
        {"DPI", "discardpath", RWF_DPI},
        {"D", NULL, RWF_DPI},
        {"END", NULL, RWF_END},
        {"F", "forbidden", RWF_FORBIDDEN},
        {"G", "gone", RWF_GONE},
        {"L", "last", RWF_LAST},
        {"NC", "nocase", RWF_NOCASE},
        {"NE", "noescape", RWF_NOESCAPE},
        {"NS", "nosubreq", RWF_NOSUBREQ},
        {"P", "proxy", RWF_PROXY},
        {"PT", "passthrough", RWF_PASSTHROUGH},
        {"QSA", "qsappend", RWF_QSAPPEND},
        {"QSD", "qsdiscard", RWF_QSDISCARD},
        {"QSL", "qslast", RWF_QSLAST},
        {"UnsafeAllow3F", NULL, RWF_UNSAFE_3F},
        {"UnsafePrefixStat", NULL, RWF_UNSAFE_PREFIX},
        {"UNC", NULL, RWF_UNC},
    };
    for (size_t i = 0; i < ARRAY_LEN(simple); i++)
        if (util_strcaseeq(key, simple[i].name) ||
            (simple[i].name2 != NULL && util_strcaseeq(key, simple[i].name2))) {
            r->flags |= simple[i].bit;
            return NULL;
        }
    if (util_strcaseeq(key, "B") || util_strcaseeq(key, "backrefescaping")) {
        r->flags |= RWF_B;
        if (val != NULL && *val != '\0' && (r->b_chars = arena_strdup(a, val)) == NULL)
            return oom;
        return NULL;
    }
    if (util_strcaseeq(key, "BNE")) {
        if (val == NULL || *val == '\0')
            return "flag 'BNE' wants a list of characters (i.e. [BNE=...])";
        return (r->bne_chars = arena_strdup(a, val)) != NULL ? NULL : oom;
    }
    if (util_strcaseeq(key, "CO") || util_strcaseeq(key, "cookie"))
        return cookie_action(a, r, val);
    if (util_strcaseeq(key, "E") || util_strcaseeq(key, "env"))
        return env_action(a, r, val);
    if (util_strcaseeq(key, "H") || util_strcaseeq(key, "handler"))
        return forced_text(a, val, &r->handler);
    if (util_strcaseeq(key, "T") || util_strcaseeq(key, "type"))
        return forced_text(a, val, &r->type);
    if (util_strcaseeq(key, "N") || util_strcaseeq(key, "next")) {
        r->flags |= RWF_NEXT;
        if (val != NULL && *val != '\0')
            return number_flag(a, "N", val, 1, &r->max_rounds);
        return NULL;
    }
    if (util_strcaseeq(key, "S") || util_strcaseeq(key, "skip")) {
        if (val == NULL || *val == '\0')
            return "flag 'S' wants the number of rules to skip (S=n)";
        return number_flag(a, "S", val, 0, &r->skip);
    }
    if (util_strcaseeq(key, "R") || util_strcaseeq(key, "redirect"))
        return redirect_code(a, r, val);
    return unknown_flag(a, key);
}

const char *rewrite_rule_compile(struct arena *a, const char *pattern, const char *subst,
                                 const char *flags, struct rewrite_rule **out)
{
    *out = NULL;
    struct rewrite_rule *r = arena_calloc(a, 1, sizeof(*r));
    if (r == NULL)
        return oom;
    r->redirect_status = 302;
    r->max_rounds = 32000; /* httpd's REWRITE_MAX_ROUNDS */
    const char *err;
    if (flags != NULL && (err = parse_flag_field(a, flags, r, rule_flag)) != NULL)
        return err;
    if (*pattern == '!') {
        r->negate = 1;
        pattern++;
    }
    if ((r->pattern = arena_strdup(a, pattern)) == NULL)
        return oom;
    char msg[256];
    r->regex = conf_regex_compile(a, pattern, (r->flags & RWF_NOCASE ? PCRE2_CASELESS : 0), msg,
                                  sizeof(msg));
    if (r->regex == NULL)
        return arena_printf(a, "cannot compile regular expression '%s': %s", pattern, msg);
    if (strcmp(subst, "-") != 0 && (r->subst = arena_strdup(a, subst)) == NULL)
        return oom;
    *out = r;
    return NULL;
}

/* ---- directives ---- */

static const char *per_dir_refused =
    "per-directory rewrite rules are not supported; put them in server or <VirtualHost> context";

static struct rewrite_conf *scope_conf(struct conf_cmd *cmd)
{
    struct rewrite_conf **slot = &cmd->server->rewrite;
    if (*slot == NULL && (*slot = arena_calloc(cmd->arena, 1, sizeof(**slot))) != NULL)
        (*slot)->engine = CONF_UNSET;
    return *slot;
}

/* Scope check and conf lookup shared by every handler. */
static const char *scope(struct conf_cmd *cmd, struct rewrite_conf **rc)
{
    if (cmd->dir != NULL)
        return per_dir_refused;
    if ((*rc = scope_conf(cmd)) == NULL)
        return oom;
    return NULL;
}

static const char *set_engine(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d, (void)argc;
    struct rewrite_conf *rc;
    const char *err = scope(cmd, &rc);
    if (err != NULL)
        return err;
    rc->engine = argv[0][0] == '1';
    return NULL;
}

static const char *set_options(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    struct rewrite_conf *rc;
    const char *err = scope(cmd, &rc);
    if (err != NULL)
        return err;
    static const struct {
        const char *name;
        unsigned bit;
        const char *note; /* warning: accepted, but means nothing in server context */
    } opts[] = {
        {"Inherit", RWO_INHERIT, NULL},
        {"InheritBefore", RWO_INHERIT_BEFORE, NULL},
        {"InheritDown", RWO_INHERIT_DOWN, NULL},
        {"InheritDownBefore", RWO_INHERIT_DOWN_BEFORE, NULL},
        {"IgnoreInherit", RWO_IGNORE_INHERIT, NULL},
        {"AllowNoSlash", RWO_ALLOW_NO_SLASH, "only affects per-directory rules"},
        {"AllowAnyURI", RWO_ALLOW_ANY_URI, NULL},
        {"MergeBase", RWO_MERGE_BASE, "only affects per-directory RewriteBase"},
        {"LongURLOptimization", RWO_LONG_URL_OPT, NULL},
        {"IgnoreContextInfo", RWO_IGNORE_CONTEXT_INFO,
         "only affects relative substitutions of per-directory rules"},
        {"LegacyPrefixDocRoot", RWO_LEGACY_PREFIX_DOCROOT, NULL},
        {"UnsafePrefixStat", RWO_UNSAFE_PREFIX_STAT, NULL},
    };
    unsigned add = 0;
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (util_strncaseeq(w, "MaxRedirects=", 13)) {
            conf_warn(cmd, "MaxRedirects option has been removed in favor of the global "
                           "LimitInternalRecursion directive and will be ignored.");
            continue;
        }
        size_t k = 0;
        while (k < ARRAY_LEN(opts) && !util_strcaseeq(w, opts[k].name))
            k++;
        if (k == ARRAY_LEN(opts))
            return conf_errf(cmd, "unknown option '%s'", w);
        add |= opts[k].bit;
        if (opts[k].note != NULL)
            conf_warn(cmd, "%s %s; it has no effect in server or <VirtualHost> context",
                      opts[k].name, opts[k].note);
    }
    rc->options |= add | RWO_SET_;
    return NULL;
}

static const char *set_base(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    (void)d, (void)argc, (void)argv;
    if (cmd->dir != NULL)
        return per_dir_refused;
    return "only valid in per-directory config files (portico runs rewrite rules only in server "
           "and <VirtualHost> context, where substitutions are URL-paths already)";
}

/* One argument of httpd's parseargline: an opening '"' or '\'' runs to the same quote (no
 * escapes inside), otherwise to the next blank; in both forms a backslash before a blank keeps
 * the blank in the argument and the backslash stays. The argument is NUL-terminated in place
 * and *s moved past its terminator; *ended is set when the line ended first (an unclosed
 * quote then runs to the end of the line, as in httpd). */
static char *argline_word(char **s, int *ended)
{
    char *p = *s;
    while (isspace((unsigned char)*p))
        p++;
    char quote = (*p == '"' || *p == '\'') ? *p++ : '\0';
    char *word = p;
    for (; *p != '\0'; p++) {
        if ((isspace((unsigned char)*p) && quote == '\0') || *p == quote)
            break;
        if (*p == '\\' && isspace((unsigned char)p[1]))
            p++;
    }
    *ended = *p == '\0';
    if (!*ended)
        *p++ = '\0';
    *s = p;
    return word;
}

/* RewriteRule/RewriteCond split their own line as httpd's parseargline does, so backslashes
 * reach the regex as written (the core tokenizer would turn "\\" into "\") and "a\ b" is one
 * argument. Two or three arguments into args[] (args[2] NULL without flags); text after the third
 * is ignored as httpd ignores it (with a warning when the flags before it look complete). Without a
 * raw line (never from the parser), the tokenised arguments are used. */
static const char *argline(struct conf_cmd *cmd, int argc, char **argv, char *args[3])
{
    args[0] = args[1] = args[2] = NULL;
    if (cmd->raw_args == NULL) {
        if (argc < 2)
            return conf_errf(cmd, "bad argument line '%s'", argc == 1 ? argv[0] : "");
        for (int i = 0; i < argc && i < 3; i++)
            args[i] = argv[i];
        return NULL;
    }
    char *s = arena_strdup(cmd->arena, cmd->raw_args);
    if (s == NULL)
        return oom;
    int ended;
    args[0] = argline_word(&s, &ended);
    if (ended)
        return conf_errf(cmd, "bad argument line '%s'", cmd->raw_args);
    args[1] = argline_word(&s, &ended);
    while (!ended && isspace((unsigned char)*s))
        s++;
    if (ended || *s == '\0')
        return NULL;
    args[2] = argline_word(&s, &ended);
    while (!ended && isspace((unsigned char)*s))
        s++;
    size_t l = strlen(args[2]);
    /* With flags split by a blank ("[L, R]") the third argument is "[L," and that fails as
     * bad flag delimiters; only text after complete flags is worth a warning. */
    if (!ended && *s != '\0' && l > 0 && args[2][l - 1] == ']')
        conf_warn(cmd, "ignoring text after the flags: '%s'", s);
    return NULL;
}

static const char *add_cond(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    (void)d;
    struct rewrite_conf *rc;
    char *args[3];
    const char *err = scope(cmd, &rc);
    if (err == NULL)
        err = argline(cmd, argc, argv, args);
    if (err != NULL)
        return err;
    struct rewrite_cond *c;
    int nc_dropped;
    err = cond_compile(cmd->arena, args[0], args[1], args[2], &c, &nc_dropped);
    if (err != NULL)
        return err;
    if (nc_dropped)
        conf_warn(cmd,
                  "NoCase option for non-regex pattern '%s' is not supported and will be "
                  "ignored.",
                  c->pattern);
    if (c->op == RWC_URL_SUBREQ)
        conf_warn(cmd, "-U is always false in portico (it makes no subrequests)");
    else if (c->op == RWC_FILE_SUBREQ)
        conf_warn(cmd, "-F is answered as -f in portico (it makes no subrequests, so access "
                       "control is not checked)");
    c->file = cmd->file;
    c->line = cmd->line;
    struct rewrite_cond **pp = &rc->pending;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = c;
    return NULL;
}

static const char *add_rule(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    (void)d;
    struct rewrite_conf *rc;
    char *args[3];
    const char *err = scope(cmd, &rc);
    if (err == NULL)
        err = argline(cmd, argc, argv, args);
    if (err != NULL)
        return err;
    struct rewrite_rule *r;
    err = rewrite_rule_compile(cmd->arena, args[0], args[1], args[2], &r);
    if (err != NULL) {
        /* httpd pushes the rule before parsing it, so the conditions are consumed either way;
         * the load fails anyway. */
        rc->pending = NULL;
        return err;
    }
    r->file = cmd->file;
    r->line = cmd->line;
    r->conds = rc->pending;
    rc->pending = NULL;
    struct rewrite_rule **pp = &rc->rules;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = r;
    return NULL;
}

static const char *add_map(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                           char **argv)
{
    (void)d;
    struct rewrite_conf *rc;
    const char *err = scope(cmd, &rc);
    if (err != NULL)
        return err;
    if (argv[0][0] == '\0')
        return "the map name is empty";
    for (struct rewrite_map *m = rc->maps; m != NULL; m = m->next)
        if (strcmp(m->name, argv[0]) == 0)
            return conf_errf(cmd, "map '%s' is already defined in this server at %s:%d", argv[0],
                             m->file, m->line);
    struct rewrite_map *m = arena_calloc(cmd->arena, 1, sizeof(*m));
    if (m == NULL || (m->name = arena_strdup(cmd->arena, argv[0])) == NULL)
        return oom;
    m->file = cmd->file;
    m->line = cmd->line;
    m->server = cmd->server;
    m->index = cmd->conf->n_rewrite_maps; /* set before define: its caches may use it */
    err = rewrite_map_define(cmd, m, argv[1], argc > 2 ? argv[2] : NULL);
    if (err != NULL)
        return err;
    cmd->conf->n_rewrite_maps++;
    struct rewrite_map **pp = &rc->maps;
    while (*pp != NULL)
        pp = &(*pp)->next;
    *pp = m;
    pp = &cmd->conf->rewrite_maps;
    while (*pp != NULL)
        pp = &(*pp)->next_global;
    *pp = m;
    return NULL;
}

static const char *accept_lock(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)argc, (void)argv;
    conf_warn(cmd,
              "%s is not needed: portico serialises prg: maps with its own lock (httpd 2.4 "
              "removed RewriteLock; use `Mutex ... rewrite-map` there)",
              d->name);
    return NULL;
}

static const struct conf_directive rewrite_directives[] = {
    {"RewriteEngine", CTX_ANY, ARGS_FLAG, set_engine, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE,
     "RewriteEngine On|Off"},
    {"RewriteOptions", CTX_ANY, ARGS_1MORE, set_options, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE,
     "RewriteOptions Option..."},
    {"RewriteBase", CTX_ANY, ARGS_TAKE1, set_base, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE,
     "RewriteBase URL-path"},
    {"RewriteCond", CTX_ANY, ARGS_RAW, add_cond, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE,
     "RewriteCond TestString CondPattern [flags]"},
    {"RewriteRule", CTX_ANY, ARGS_RAW, add_rule, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE,
     "RewriteRule Pattern Substitution [flags]"},
    {"RewriteMap", CTX_SRV_ANY, ARGS_TAKE23, add_map, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE,
     "RewriteMap name type:source [user:group]"},
    {"RewriteLock", CTX_SRV_ANY, ARGS_TAKE1, accept_lock, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE,
     "RewriteLock path"},
    {"RewriteMapLock", CTX_SRV_ANY, ARGS_TAKE1, accept_lock, TGT_NONE, 0, 0, 0, 0, MOD_REWRITE,
     "RewriteMapLock path"},
};

const struct conf_table conf_table_rewrite = {rewrite_directives, ARRAY_LEN(rewrite_directives)};

/* ---- post-parse: effective lists ---- */

static int count_rules(const struct rewrite_rule *r)
{
    int n = 0;
    for (; r != NULL; r = r->next)
        n++;
    return n;
}

static void put_rules(struct rewrite_rule **arr, int *n, struct rewrite_rule *r)
{
    for (; r != NULL; r = r->next)
        arr[(*n)++] = r;
}

static int map_listed(struct rewrite_map **arr, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(arr[i]->name, name) == 0)
            return 1;
    return 0;
}

/* Maps in lookup order: the first of a name wins (apr_hash_overlay's winner comes first). */
static void put_maps(struct rewrite_map **arr, int *n, struct rewrite_map *m)
{
    for (; m != NULL; m = m->next)
        if (!map_listed(arr, *n, m->name))
            arr[(*n)++] = m;
}

static int count_maps(const struct rewrite_map *m)
{
    int n = 0;
    for (; m != NULL; m = m->next)
        n++;
    return n;
}

/* mode: 0 own only, 1 own then parent (Inherit), 2 parent then own (InheritBefore). */
static int build_effective(struct conf_cmd *cmd, struct rewrite_conf *rc,
                           const struct rewrite_conf *parent, int mode)
{
    struct rewrite_rule *pr = mode != 0 && parent != NULL ? parent->rules : NULL;
    struct rewrite_map *pm = mode != 0 && parent != NULL ? parent->maps : NULL;
    int nr = count_rules(rc->rules) + count_rules(pr);
    int nm = count_maps(rc->maps) + count_maps(pm);
    rc->eff_rules = arena_calloc(cmd->arena, (size_t)nr + 1, sizeof(*rc->eff_rules));
    rc->eff_maps = arena_calloc(cmd->arena, (size_t)nm + 1, sizeof(*rc->eff_maps));
    if (rc->eff_rules == NULL || rc->eff_maps == NULL)
        return -1;
    rc->n_eff_rules = rc->n_eff_maps = 0;
    if (mode == 2) {
        put_rules(rc->eff_rules, &rc->n_eff_rules, pr);
        put_maps(rc->eff_maps, &rc->n_eff_maps, pm);
    }
    put_rules(rc->eff_rules, &rc->n_eff_rules, rc->rules);
    put_maps(rc->eff_maps, &rc->n_eff_maps, rc->maps);
    if (mode == 1) {
        put_rules(rc->eff_rules, &rc->n_eff_rules, pr);
        put_maps(rc->eff_maps, &rc->n_eff_maps, pm);
    }
    return 0;
}

static void warn_pending(struct conf_cmd *cmd, const struct rewrite_conf *rc)
{
    for (const struct rewrite_cond *c = rc->pending; c != NULL; c = c->next)
        conf_warn_at(cmd, c->file, c->line,
                     "RewriteCond: RewriteCond without a following RewriteRule is ignored");
}

/* A [P] rule to balancer://name must name a balancer that exists (unless the name is built
 * per request from a variable, back-reference or map). */
static void check_balancers(struct conf_cmd *cmd, const struct rewrite_conf *rc)
{
    for (const struct rewrite_rule *r = rc->rules; r != NULL; r = r->next) {
        if (!(r->flags & RWF_PROXY) || r->subst == NULL ||
            !util_strncaseeq(r->subst, "balancer://", 11))
            continue;
        const char *name = r->subst + 11;
        size_t n = strcspn(name, "/?");
        if (memchr(name, '$', n) != NULL || memchr(name, '%', n) != NULL ||
            memchr(name, '\\', n) != NULL)
            continue;
        if (proxy_balancer_find(cmd->conf, r->subst) == NULL)
            conf_error_at(cmd, r->file, r->line,
                          "RewriteRule: [P] to balancer://%.*s, which is not defined (define it "
                          "with <Proxy \"balancer://%.*s\"> and BalancerMember)",
                          (int)n, name, (int)n, name);
    }
}

/* ${name:...} calls to a map this server cannot see: httpd accepts them and answers the
 * default at request time, so a warning (the usual cause: a main-server map used in a
 * vhost without RewriteOptions Inherit). */
static void check_map_refs_in(struct conf_cmd *cmd, const struct rewrite_conf *rc, const char *text,
                              const char *file, int line)
{
    if (text == NULL)
        return;
    for (const char *s = strstr(text, "${"); s != NULL; s = strstr(s + 2, "${")) {
        if (s > text && s[-1] == '\\')
            continue;
        const char *name = s + 2;
        size_t n = strcspn(name, ":}");
        if (name[n] != ':' || n == 0 || memchr(name, '$', n) || memchr(name, '%', n))
            continue;
        int found = 0;
        for (int i = 0; i < rc->n_eff_maps && !found; i++)
            found =
                strlen(rc->eff_maps[i]->name) == n && memcmp(rc->eff_maps[i]->name, name, n) == 0;
        if (!found)
            conf_warn_at(cmd, file, line,
                         "RewriteMap '%.*s' is not defined in this server (a main-server map "
                         "needs RewriteOptions Inherit in a <VirtualHost>); lookups will use "
                         "the default",
                         (int)n, name);
    }
}

static void check_map_refs(struct conf_cmd *cmd, const struct rewrite_conf *rc)
{
    for (const struct rewrite_rule *r = rc->rules; r != NULL; r = r->next) {
        check_map_refs_in(cmd, rc, r->subst, r->file, r->line);
        for (const struct rewrite_cond *c = r->conds; c != NULL; c = c->next)
            check_map_refs_in(cmd, rc, c->test, c->file, c->line);
        for (const struct rewrite_env_action *e = r->env; e != NULL; e = e->next)
            check_map_refs_in(cmd, rc, e->value, r->file, r->line);
    }
}

void conf_finish_rewrite(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    struct conf_server *main_srv = c->main;
    struct rewrite_conf *mrc = main_srv != NULL ? main_srv->rewrite : NULL;
    int any_vhost_rewrite = 0;
    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next)
        any_vhost_rewrite |= v->rewrite != NULL;
    if (mrc == NULL && any_vhost_rewrite && main_srv != NULL) {
        /* vhosts merge with an (empty) main-server configuration */
        if ((mrc = arena_calloc(cmd->arena, 1, sizeof(*mrc))) == NULL)
            goto fail;
        mrc->engine = CONF_UNSET;
        main_srv->rewrite = mrc;
    }
    if (mrc == NULL)
        return;
    unsigned main_opts = mrc->options & ~RWO_SET_;
    mrc->eff_engine = mrc->engine == 1;
    warn_pending(cmd, mrc);
    if (build_effective(cmd, mrc, NULL, 0) < 0)
        goto fail;
    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        struct rewrite_conf *rc = v->rewrite;
        if (rc == NULL) {
            if ((rc = arena_calloc(cmd->arena, 1, sizeof(*rc))) == NULL)
                goto fail;
            rc->engine = CONF_UNSET;
            v->rewrite = rc;
        }
        warn_pending(cmd, rc);
        /* httpd's config_server_merge: state and options come from the main server when
         * the vhost does not set them. */
        rc->eff_engine = rc->engine != CONF_UNSET ? rc->engine == 1 : mrc->eff_engine;
        unsigned opts = (rc->options & RWO_SET_) ? rc->options & ~RWO_SET_ : main_opts;
        rc->options = opts;
        int ignore = (opts & RWO_IGNORE_INHERIT) != 0;
        int mode = 0;
        if ((opts & RWO_INHERIT) || ((main_opts & RWO_INHERIT_DOWN) && !ignore))
            mode = 1;
        else if ((opts & RWO_INHERIT_BEFORE) || ((main_opts & RWO_INHERIT_DOWN_BEFORE) && !ignore))
            mode = 2;
        if (build_effective(cmd, rc, mrc, mode) < 0)
            goto fail;
    }
    mrc->options = main_opts;
    check_balancers(cmd, mrc);
    check_map_refs(cmd, mrc);
    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        check_balancers(cmd, v->rewrite);
        check_map_refs(cmd, v->rewrite);
    }
    return;
fail:
    conf_error_at(cmd, NULL, 0, "mod_rewrite: out of memory");
}
