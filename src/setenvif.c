/* mod_setenvif: SetEnvIf, SetEnvIfNoCase, BrowserMatch, BrowserMatchNoCase and SetEnvIfExpr,
 * following httpd 2.4's mod_setenvif.c closely, quirks included:
 * - a pattern without regex metacharacters is a plain substring search (its backslash
 *   escapes removed), and then "$1" in a value stays literal;
 * - an attribute that is not one of the specials and contains anything but [-A-Za-z0-9_]
 *   is a regex over header names (the last matching header supplies the value);
 * - a plain attribute is a request header, else an env var set earlier;
 * - entries naming the same attribute share one name pointer, and consecutive entries with
 *   the same name reuse the value looked up for the first of them (so an env var set by one
 *   line is not seen by the next line testing that same variable);
 * - a line with the same attribute, pattern and case mode as the previous line adds its
 *   variables to it;
 * - a value starting with '!' unsets the variable ("VAR=!x" too, as httpd). */
#include "setenvif.h"

#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf_regex.h"
#include "conf_registry.h"
#include "conn.h"
#include "env.h"
#include "headers.h"
#include "route.h"
#include "util.h"

#define SEI_MAX_MATCH 10 /* httpd's AP_MAX_REG_MATCH: $0..$9 */

enum sei_special {
    SEI_NOT,
    SEI_REMOTE_ADDR,
    SEI_REMOTE_HOST,
    SEI_REMOTE_USER,
    SEI_REQUEST_URI,
    SEI_REQUEST_METHOD,
    SEI_REQUEST_PROTOCOL,
    SEI_SERVER_ADDR
};

struct sei_feature {
    char *name;
    char *value; /* "!..." = unset */
    struct sei_feature *next;
};

struct sei_entry {
    const char *name;  /* attribute; shared pointer per attribute; NULL for expr */
    const char *regex; /* pattern as written; NULL for expr */
    pcre2_code *preg;  /* NULL when the pattern is a plain string */
    char *simple;      /* plain substring (escapes removed) */
    size_t simple_len;
    pcre2_code *pnamereg;      /* header-name regex, or NULL */
    struct headers_expr *expr; /* SetEnvIfExpr */
    struct sei_feature *features;
    enum sei_special special;
    int icase;
    struct sei_entry *next;
};

struct setenvif_conf {
    struct sei_entry *head, *tail;
};

/* ---- configuration ---- */

static int is_header_regex(const char *name)
{
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!(c == '-' || c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
              (c >= '0' && c <= '9')))
            return 1;
    }
    return 0;
}

/* httpd's non_regex_pattern(): the unescaped string when s uses no regex metacharacter. */
static char *non_regex_pattern(struct arena *a, const char *s)
{
    int in_escape = 0, escapes = 0;
    for (const char *p = s; *p; p++) {
        if (in_escape) {
            in_escape = 0;
            continue;
        }
        if (strchr("^.$|()[]*+?{}", *p) != NULL)
            return NULL;
        if (*p == '\\') {
            in_escape = 1;
            escapes = 1;
        }
    }
    if (!escapes)
        return arena_strdup(a, s);
    char *out = arena_alloc(a, strlen(s) + 1), *d = out;
    if (out == NULL)
        return NULL;
    const char *p = s;
    do {
        if (*p == '\\')
            p++;
    } while ((*d++ = *p++) != '\0');
    return out;
}

static enum sei_special special_of(const char *name)
{
    static const struct {
        const char *name;
        enum sei_special sp;
    } specials[] = {
        {"remote_addr", SEI_REMOTE_ADDR},       {"remote_host", SEI_REMOTE_HOST},
        {"remote_user", SEI_REMOTE_USER},       {"request_uri", SEI_REQUEST_URI},
        {"request_method", SEI_REQUEST_METHOD}, {"request_protocol", SEI_REQUEST_PROTOCOL},
        {"server_addr", SEI_SERVER_ADDR}};
    for (size_t i = 0; i < ARRAY_LEN(specials); i++)
        if (util_strcaseeq(name, specials[i].name))
            return specials[i].sp;
    return SEI_NOT;
}

static struct setenvif_conf *conf_for(struct conf_cmd *cmd)
{
    struct setenvif_conf **pp = cmd->dir != NULL ? &cmd->dir->setenvif : &cmd->server->setenvif;
    if (*pp == NULL)
        *pp = arena_calloc(cmd->arena, 1, sizeof(**pp));
    return *pp;
}

static void entry_append(struct setenvif_conf *sc, struct sei_entry *e)
{
    if (sc->tail != NULL)
        sc->tail->next = e;
    else
        sc->head = e;
    sc->tail = e;
}

/* apr_table_setn() semantics: a repeated name replaces the earlier value in place. */
static const char *add_envvars(struct conf_cmd *cmd, const struct conf_directive *d,
                               struct sei_entry *e, int argc, char **argv)
{
    if (argc <= 0)
        return conf_errf(cmd, "Missing envariable expression for %s", d->name);
    for (int i = 0; i < argc; i++) {
        char *var = arena_strdup(cmd->arena, argv[i]);
        if (var == NULL)
            return "out of memory";
        const char *value;
        char *eq = strchr(var, '=');
        if (eq != NULL && eq[1] != '\0') {
            *eq = '\0';
            value = eq + 1;
        } else {
            if (eq != NULL)
                *eq = '\0';
            if (var[0] == '!') {
                var++;
                value = "!";
            } else {
                value = "1";
            }
        }
        struct sei_feature **pp = &e->features;
        for (; *pp != NULL; pp = &(*pp)->next)
            if (util_strcaseeq((*pp)->name, var))
                break;
        if (*pp != NULL) {
            (*pp)->value = (char *)value;
            continue;
        }
        struct sei_feature *f = arena_calloc(cmd->arena, 1, sizeof(*f));
        if (f == NULL)
            return "out of memory";
        f->name = var;
        f->value = (char *)value;
        *pp = f;
    }
    return NULL;
}

static const char *add_core(struct conf_cmd *cmd, const struct conf_directive *d, const char *fname,
                            int icase, int argc, char **argv)
{
    if (argc < 1 || argv[0][0] == '\0')
        return conf_errf(cmd, "Missing regular expression for %s", d->name);
    const char *regex = argv[0];
    struct setenvif_conf *sc = conf_for(cmd);
    if (sc == NULL)
        return "out of memory";
    int shared = 0;
    for (struct sei_entry *e = sc->head; e != NULL; e = e->next)
        if (e->name != NULL && util_strcaseeq(e->name, fname)) {
            fname = e->name;
            shared = 1;
            break;
        }
    struct sei_entry *last = sc->tail;
    if (last != NULL && last->name == fname && last->icase == icase &&
        strcmp(last->regex, regex) == 0)
        return add_envvars(cmd, d, last, argc - 1, argv + 1);

    struct sei_entry *e = arena_calloc(cmd->arena, 1, sizeof(*e));
    if (e == NULL)
        return "out of memory";
    e->name = shared ? fname : arena_strdup(cmd->arena, fname);
    e->regex = arena_strdup(cmd->arena, regex);
    e->icase = icase;
    if (e->name == NULL || e->regex == NULL)
        return "out of memory";
    char err[256];
    char *simple = non_regex_pattern(cmd->arena, regex);
    if (simple != NULL) {
        e->simple = simple;
        e->simple_len = strlen(simple);
    } else {
        e->preg =
            conf_regex_compile(cmd->arena, regex, icase ? PCRE2_CASELESS : 0, err, sizeof(err));
        if (e->preg == NULL)
            return conf_errf(cmd, "%s regex could not be compiled: %s", d->name, err);
    }
    e->special = special_of(e->name);
    if (e->special == SEI_NOT && is_header_regex(e->name)) {
        e->pnamereg =
            conf_regex_compile(cmd->arena, e->name, icase ? PCRE2_CASELESS : 0, err, sizeof(err));
        if (e->pnamereg == NULL)
            return conf_errf(cmd, "%s Header name regex could not be compiled: %s", d->name, err);
    }
    const char *msg = add_envvars(cmd, d, e, argc - 1, argv + 1);
    if (msg != NULL)
        return msg;
    entry_append(sc, e);
    return NULL;
}

static int is_nocase(const struct conf_directive *d)
{
    size_t n = strlen(d->name);
    return n > 6 && util_strcaseeq(d->name + n - 6, "NoCase");
}

static const char *cmd_setenvif(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv)
{
    if (argc < 1 || argv[0][0] == '\0')
        return conf_errf(cmd, "Missing header-field name for %s", d->name);
    return add_core(cmd, d, argv[0], is_nocase(d), argc - 1, argv + 1);
}

static const char *cmd_browsermatch(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    return add_core(cmd, d, "User-Agent", is_nocase(d), argc, argv);
}

static const char *cmd_setenvifexpr(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    if (argc < 1 || argv[0][0] == '\0')
        return conf_errf(cmd, "Missing expression for %s", d->name);
    struct setenvif_conf *sc = conf_for(cmd);
    struct sei_entry *e = arena_calloc(cmd->arena, 1, sizeof(*e));
    if (sc == NULL || e == NULL)
        return "out of memory";
    char err[256];
    e->expr = headers_expr_parse(cmd->arena, argv[0], 0, err, sizeof(err));
    if (e->expr == NULL)
        return conf_errf(cmd, "Could not parse expression \"%s\": %s", argv[0], err);
    const char *msg = add_envvars(cmd, d, e, argc - 1, argv + 1);
    if (msg != NULL)
        return msg;
    for (const struct sei_feature *f = e->features; f != NULL; f = f->next)
        if (f->value[0] != '!' && strchr(f->value, '$') != NULL) {
            conf_warn(cmd,
                      "portico's SetEnvIfExpr has no regex back-references: $N in "
                      "'%s' expands to nothing",
                      f->value);
            break;
        }
    entry_append(sc, e);
    return NULL;
}

static const struct conf_directive setenvif_directives[] = {
    {"SetEnvIf", CTX_ANY, ARGS_RAW, cmd_setenvif, TGT_NONE, 0, 0, 0, 0, MOD_SETENVIF,
     "attribute regex [!]env-variable[=value] ..."},
    {"SetEnvIfNoCase", CTX_ANY, ARGS_RAW, cmd_setenvif, TGT_NONE, 0, 0, 0, 0, MOD_SETENVIF,
     "attribute regex [!]env-variable[=value] ..."},
    {"BrowserMatch", CTX_ANY, ARGS_RAW, cmd_browsermatch, TGT_NONE, 0, 0, 0, 0, MOD_SETENVIF,
     "regex [!]env-variable[=value] ..."},
    {"BrowserMatchNoCase", CTX_ANY, ARGS_RAW, cmd_browsermatch, TGT_NONE, 0, 0, 0, 0, MOD_SETENVIF,
     "regex [!]env-variable[=value] ..."},
    {"SetEnvIfExpr", CTX_ANY, ARGS_RAW, cmd_setenvifexpr, TGT_NONE, 0, 0, 0, 0, MOD_SETENVIF,
     "expression [!]env-variable[=value] ..."},
};

const struct conf_table conf_table_setenvif = {setenvif_directives, ARRAY_LEN(setenvif_directives)};

/* ---- runtime ---- */

/* httpd's match_headers() state, kept across the main server's and the vhost's lists. */
struct sei_run {
    const char *last_name;
    const char *val;
};

static pcre2_match_data *match_data(void)
{
    /* One per process, made on first use: nothing allocated per request. */
    static pcre2_match_data *md;
    if (md == NULL)
        md = pcre2_match_data_create(SEI_MAX_MATCH, NULL);
    return md;
}

static const char *first_header(const struct request *r, const char *name)
{
    for (int i = 0; i < r->h.n_headers; i++)
        if (util_strcaseeq(r->h.headers[i].name, name))
            return r->h.headers[i].value;
    return NULL;
}

static const char *attribute_value(struct request *r, const struct sei_entry *b)
{
    switch (b->special) {
    case SEI_REMOTE_ADDR:
    case SEI_REMOTE_HOST: /* HostnameLookups Off: httpd answers the address */
        return r->c != NULL ? r->c->client_ip : NULL;
    case SEI_SERVER_ADDR:
        return r->c != NULL ? r->c->local_ip : NULL;
    case SEI_REMOTE_USER:
        return NULL; /* portico has no authentication */
    case SEI_REQUEST_URI:
        return r->uri != NULL ? r->uri : r->path;
    case SEI_REQUEST_METHOD:
        return r->h.method;
    case SEI_REQUEST_PROTOCOL:
        return r->h.protocol;
    case SEI_NOT:
        break;
    }
    if (b->pnamereg != NULL) {
        pcre2_match_data *md = match_data();
        const char *val = NULL;
        for (int i = 0; md != NULL && i < r->h.n_headers; i++)
            if (pcre2_match(b->pnamereg, (PCRE2_SPTR)r->h.headers[i].name, r->h.headers[i].name_len,
                            0, 0, md, NULL) >= 0)
                val = r->h.headers[i].value;
        return val;
    }
    const char *val = first_header(r, b->name);
    return val != NULL ? val : env_get(r, b->name);
}

static int simple_match(const struct sei_entry *b, const char *val, size_t len)
{
    if (b->simple_len == 0)
        return 1;
    for (size_t i = 0; i + b->simple_len <= len; i++) {
        if (b->icase ? util_strncaseeq(val + i, b->simple, b->simple_len)
                     : memcmp(val + i, b->simple, b->simple_len) == 0)
            return 1;
    }
    return 0;
}

/* httpd's ap_pregsub(): $0..$9 from the match (unset or empty groups give nothing), a
 * backslash takes the next character literally. ov NULL: no groups. */
static char *pregsub(struct arena *a, const char *tmpl, const char *src, const PCRE2_SIZE *ov,
                     int n)
{
    size_t len = 0;
    for (int pass = 0; pass < 2; pass++) {
        char *out = NULL;
        if (pass == 1) {
            out = arena_alloc(a, len + 1);
            if (out == NULL)
                return NULL;
        }
        size_t o = 0;
        for (const char *p = tmpl; *p;) {
            char c = *p++;
            if (c == '$' && *p >= '0' && *p <= '9') {
                int no = *p++ - '0';
                if (ov != NULL && no < n && ov[2 * no] != PCRE2_UNSET &&
                    ov[2 * no] < ov[2 * no + 1]) {
                    size_t gl = ov[2 * no + 1] - ov[2 * no];
                    if (out != NULL)
                        memcpy(out + o, src + ov[2 * no], gl);
                    o += gl;
                }
                continue;
            }
            if (c == '\\' && *p)
                c = *p++;
            if (out != NULL)
                out[o] = c;
            o++;
        }
        if (out != NULL) {
            out[o] = '\0';
            return out;
        }
        len = o;
    }
    return NULL;
}

static void run_list(struct request *r, const struct setenvif_conf *sc, struct sei_run *st)
{
    if (sc == NULL)
        return;
    for (const struct sei_entry *b = sc->head; b != NULL; b = b->next) {
        if (b->expr == NULL && b->name != st->last_name) {
            st->last_name = b->name;
            st->val = attribute_value(r, b);
        }
        const char *val = st->val != NULL ? st->val : "";
        size_t len = strlen(val);
        const PCRE2_SIZE *ov = NULL;
        int n = 0, matched = 0;
        if (b->expr != NULL) {
            matched = headers_expr_eval(b->expr, r, 0, NULL, 0);
        } else if (b->preg == NULL) {
            matched = simple_match(b, val, len);
        } else {
            pcre2_match_data *md = match_data();
            int rc = md != NULL ? pcre2_match(b->preg, (PCRE2_SPTR)val, len, 0, 0, md, NULL) : -1;
            if (rc >= 0) {
                matched = 1;
                ov = pcre2_get_ovector_pointer(md);
                n = rc == 0 ? SEI_MAX_MATCH : rc;
            }
        }
        if (!matched)
            continue;
        for (const struct sei_feature *f = b->features; f != NULL; f = f->next) {
            if (f->value[0] == '!') {
                env_unset(r, f->name);
            } else if (b->preg != NULL || b->expr != NULL) {
                char *v = pregsub(r->arena, f->value, val, ov, n);
                if (v != NULL)
                    env_set(r, f->name, v);
            } else {
                env_set(r, f->name, f->value);
            }
        }
    }
}

void setenvif_apply_server(struct request *r)
{
    struct sei_run st = {NULL, NULL};
    const struct conf_server *s = r->srv;
    const struct conf_server *m = r->c != NULL && r->c->conf != NULL ? r->c->conf->main : NULL;
    if (s == NULL)
        s = m;
    if (s == NULL)
        return;
    if (s->is_vhost && m != NULL && m != s)
        run_list(r, m->setenvif, &st);
    run_list(r, s->setenvif, &st);
}

void setenvif_apply_sections(struct request *r, const struct route_decision *d)
{
    if (d == NULL)
        return;
    /* httpd merges the sections' lists into one and runs it with fresh state. */
    struct sei_run st = {NULL, NULL};
    for (int i = 0; i < d->n_sections; i++)
        if (d->sections[i] != NULL)
            run_list(r, d->sections[i]->setenvif, &st);
}
