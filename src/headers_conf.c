/* mod_headers directives (Header, RequestHeader) and the post-parse pass shared with mod_env:
 * every virtual host gets the main server's directives in front of its own, as httpd merges
 * the per-directory config of a vhost with the main server's. */
#include <string.h>

#include "arena.h"
#include "conf_registry.h"
#include "env.h"
#include "headers.h"
#include "util.h"

static const struct {
    const char *name;
    enum headers_action action;
} actions[] = {
    {"set", HDR_SET},        {"setifempty", HDR_SETIFEMPTY},
    {"add", HDR_ADD},        {"append", HDR_APPEND},
    {"merge", HDR_MERGE},    {"unset", HDR_UNSET},
    {"echo", HDR_ECHO},      {"edit", HDR_EDIT},
    {"edit*", HDR_EDIT_ALL},
};

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static struct headers_conf *scope_headers(struct conf_cmd *cmd)
{
    struct headers_conf **slot = cmd->dir != NULL ? &cmd->dir->headers : &cmd->server->headers;
    if (*slot == NULL)
        *slot = arena_calloc(cmd->arena, 1, sizeof(**slot));
    return *slot;
}

/* early, env=[!]VAR or expr=...: the optional last argument. */
static const char *parse_condition(struct conf_cmd *cmd, const char *dname, const char *clause,
                                   struct header_entry *e)
{
    if (util_strcaseeq(clause, "early")) {
        if (cmd->dir != NULL)
            return "'early' is only allowed in the main server and <VirtualHost> context";
        conf_warn(cmd,
                  "%s: 'early' is applied like a normal directive (portico has no early "
                  "phase; the request headers are edited before the request is "
                  "forwarded)",
                  dname);
        return NULL;
    }
    if (util_strncaseeq(clause, "env=", 4)) {
        const char *v = clause + 4;
        e->env_negate = *v == '!';
        v += e->env_negate;
        if (*v == '\0')
            return "missing environment variable name: the condition should be env=[!]VAR";
        e->env = arena_strdup(cmd->arena, v);
        return e->env ? NULL : "out of memory";
    }
    if (util_strncaseeq(clause, "expr=", 5)) {
        char err[256] = "";
        e->cond = headers_expr_parse(cmd->arena, clause + 5, 0, err, sizeof(err));
        if (e->cond == NULL)
            return conf_errf(cmd, "Can't parse envclause/expression '%s': %s", clause + 5, err);
        return NULL;
    }
    return conf_errf(cmd, "unknown condition '%s' (early, env=[!]VAR or expr=EXPRESSION)", clause);
}

/* Header [always|onsuccess] action header [value] [replacement] [early|env=[!]VAR|expr=E]
 * RequestHeader action header [value] [replacement] [early|env=[!]VAR|expr=E]
 * d->offset is HL_REQUEST or HL_ONSUCCESS. The argument juggling follows httpd's
 * header_inout_cmd: the optional last argument moves left when value/replacement are not
 * taken by the action. */
static const char *header_cmd(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    int is_req = d->offset == HL_REQUEST;
    const char *dname = is_req ? "RequestHeader" : "Header";
    enum headers_list list = is_req ? HL_REQUEST : HL_ONSUCCESS;
    int i = 0;
    if (util_strcaseeq(argv[0], "always") || util_strcaseeq(argv[0], "onsuccess")) {
        if (is_req)
            return conf_errf(cmd, "'%s' is a condition of Header; RequestHeader takes none",
                             argv[0]);
        if (util_strcaseeq(argv[0], "always"))
            list = HL_ALWAYS;
        i++;
    }
    if (i >= argc)
        return "an action is missing after the condition";
    const char *action = argv[i++];
    const char *hdr = i < argc ? argv[i++] : NULL;
    const char *val = i < argc ? argv[i++] : NULL;
    const char *subs = i < argc ? argv[i++] : NULL;
    const char *clause = i < argc ? argv[i++] : NULL;
    if (i < argc)
        return conf_errf(cmd, "%s has too many arguments", dname);

    struct header_entry *e = arena_calloc(cmd->arena, 1, sizeof(*e));
    if (e == NULL)
        return "out of memory";
    size_t k = 0;
    while (k < ARRAY_LEN(actions) && !util_strcaseeq(action, actions[k].name))
        k++;
    if (k == ARRAY_LEN(actions)) {
        if (util_strcaseeq(action, "note"))
            return is_req ? "RequestHeader does not support the 'note' action"
                          : "the 'note' action is not supported (portico has no request notes)";
        return conf_errf(cmd,
                         "unknown action '%s': the first argument must be add, set, setifempty, "
                         "append, merge, unset, %sedit or edit*",
                         action, is_req ? "" : "echo, ");
    }
    e->action = actions[k].action;
    if (hdr == NULL || hdr[0] == '\0')
        return conf_errf(cmd, "%s %s needs a header name", dname, action);

    char err[256] = "";
    switch (e->action) {
    case HDR_EDIT:
    case HDR_EDIT_ALL:
        if (val == NULL || subs == NULL)
            return conf_errf(cmd, "%s %s requires a match and a substitution", dname, action);
        e->regex = headers_regex_compile(cmd->arena, val, err, sizeof(err));
        if (e->regex == NULL)
            return conf_errf(cmd, "%s %s regex '%s' could not be compiled: %s", dname, action, val,
                             err);
        break;
    case HDR_UNSET:
    case HDR_ECHO:
        if (e->action == HDR_ECHO && is_req)
            return "Header echo only valid on Header directives";
        /* no value: what follows the name is the condition */
        if (subs != NULL)
            return conf_errf(cmd, "%s %s takes a header name and an optional condition", dname,
                             action);
        clause = val;
        val = NULL;
        if (e->action == HDR_ECHO) {
            e->regex = headers_regex_compile(cmd->arena, hdr, err, sizeof(err));
            if (e->regex == NULL)
                return conf_errf(cmd, "Header echo regex '%s' could not be compiled: %s", hdr, err);
        }
        break;
    default:
        if (val == NULL)
            return conf_errf(cmd, "%s %s requires a header name and a value", dname, action);
        if (clause != NULL)
            return conf_errf(cmd, "%s has too many arguments", dname);
        clause = subs;
        subs = NULL;
        break;
    }
    if (clause != NULL) {
        const char *cerr = parse_condition(cmd, dname, clause, e);
        if (cerr != NULL)
            return cerr;
    }

    /* "Header set X-Foo: v": httpd drops the colon and what follows it */
    const char *colon = e->action == HDR_ECHO ? NULL : strchr(hdr, ':');
    e->name = colon ? arena_strndup(cmd->arena, hdr, (size_t)(colon - hdr))
                    : arena_strdup(cmd->arena, hdr);
    if (e->name == NULL)
        return "out of memory";
    if (e->action != HDR_ECHO) {
        if (e->name[0] == '\0')
            return conf_errf(cmd, "%s %s needs a header name", dname, action);
        for (const char *p = e->name; *p; p++)
            if (!is_tchar((unsigned char)*p))
                return conf_errf(cmd, "'%s' is not a valid header name", e->name);
    }

    /* the value, or for edit the replacement, may hold format specifiers */
    const char *fmt = e->action == HDR_EDIT || e->action == HDR_EDIT_ALL ? subs : val;
    if (fmt != NULL &&
        headers_fmt_compile(cmd->arena, fmt, &e->fmt, &e->n_fmt, err, sizeof(err)) < 0)
        return conf_errf(cmd, "%s", err);

    e->file = cmd->file;
    e->line = cmd->line;
    struct headers_conf *hc = scope_headers(cmd);
    if (hc == NULL)
        return "out of memory";
    if (hc->tail[list] != NULL)
        hc->tail[list]->next = e;
    else
        hc->head[list] = e;
    hc->tail[list] = e;
    return NULL;
}

static const struct conf_directive headers_directives[] = {
    {"Header", CTX_ANY, ARGS_1MORE, header_cmd, TGT_NONE, HL_ONSUCCESS, 0, 0, 0, MOD_HEADERS,
     "[always|onsuccess] action header [value] [replacement] [early|env=[!]VAR|expr=EXPR]"},
    {"RequestHeader", CTX_ANY, ARGS_1MORE, header_cmd, TGT_NONE, HL_REQUEST, 0, 0, 0, MOD_HEADERS,
     "action header [value] [replacement] [early|env=[!]VAR|expr=EXPR]"},
};
const struct conf_table conf_table_headers = {headers_directives, ARRAY_LEN(headers_directives)};

/* Copies of base's entries followed by add's, per list (entries are shared read-only
 * objects apart from their `next` link, hence the copies). */
static struct headers_conf *headers_merge(struct arena *a, const struct headers_conf *base,
                                          const struct headers_conf *add)
{
    if (base == NULL || add == NULL)
        return (struct headers_conf *)(base != NULL ? base : add);
    struct headers_conf *out = arena_calloc(a, 1, sizeof(*out));
    if (out == NULL)
        return NULL;
    for (int l = 0; l < HL_COUNT; l++) {
        const struct header_entry *srcs[2] = {base->head[l], add->head[l]};
        for (int s = 0; s < 2; s++) {
            for (const struct header_entry *e = srcs[s]; e != NULL; e = e->next) {
                struct header_entry *c = arena_alloc(a, sizeof(*c));
                if (c == NULL)
                    return NULL;
                *c = *e;
                c->next = NULL;
                if (out->tail[l] != NULL)
                    out->tail[l]->next = c;
                else
                    out->head[l] = c;
                out->tail[l] = c;
            }
        }
    }
    return out;
}

void conf_finish_headers(struct conf_cmd *cmd)
{
    struct conf *c = cmd->conf;
    const struct conf_server *m = c->main;
    for (struct conf_server *v = c->vhosts; v != NULL; v = v->next) {
        struct headers_conf *h = headers_merge(c->arena, m->headers, v->headers);
        struct env_conf *e = env_conf_merge(c->arena, m->env, v->env);
        if ((h == NULL && (m->headers != NULL || v->headers != NULL)) ||
            (e == NULL && (m->env != NULL || v->env != NULL))) {
            conf_error_at(cmd, NULL, 0, "out of memory");
            return;
        }
        v->headers = h;
        v->env = e;
    }
}
