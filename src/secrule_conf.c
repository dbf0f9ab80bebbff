/* SecRuleEngine, SecRule, SecAction, SecDefaultAction: the ModSecurity v2 subset of
 * apache-behaviour.md section 9, parsed into struct sr_rule (secrule_impl.h). Messages that
 * ModSecurity itself gives keep its wording ("ModSecurity: No action id present within the
 * rule"); anything outside the subset is refused with a message naming the part. */
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf_regex.h"
#include "conf_registry.h"
#include "secrule_impl.h"
#include "util.h"

struct sr_idset {
    int *ids;
    int n, cap;
};

static const char *const in_section_msg = "portico runs SecRules in server/vhost context only";

static struct secrule_conf *scope_conf(struct conf_cmd *cmd)
{
    struct conf_server *s = cmd->server;
    if (s->secrule == NULL) {
        s->secrule = arena_calloc(cmd->arena, 1, sizeof(*s->secrule));
        if (s->secrule != NULL)
            s->secrule->engine = CONF_UNSET;
    }
    return s->secrule;
}

/* ---- SecRuleEngine ---- */

static const char *cmd_engine(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    (void)d, (void)argc;
    if (cmd->dir != NULL)
        return in_section_msg;
    struct secrule_conf *sc = scope_conf(cmd);
    if (sc == NULL)
        return "out of memory";
    if (util_strcaseeq(argv[0], "on"))
        sc->engine = SR_ENGINE_ON;
    else if (util_strcaseeq(argv[0], "off"))
        sc->engine = SR_ENGINE_OFF;
    else if (util_strcaseeq(argv[0], "detectiononly"))
        sc->engine = SR_ENGINE_DETECT;
    else
        return conf_errf(cmd, "Invalid value for SecRuleEngine: %s", argv[0]);
    return NULL;
}

/* ---- action lists ---- */

static struct sr_actionset *actionset_new(struct arena *a)
{
    struct sr_actionset *as = arena_calloc(a, 1, sizeof(*as));
    if (as == NULL)
        return NULL;
    as->id = -1;
    as->phase = -1;
    as->status = -1;
    as->log = as->auditlog = as->capture = as->chain = -1;
    return as;
}

static int push_tfn(struct arena *a, struct sr_actionset *as, enum sr_tfn t)
{
    enum sr_tfn *n = arena_alloc(a, (size_t)(as->n_tfns + 1) * sizeof(*n));
    if (n == NULL)
        return -1;
    if (as->n_tfns > 0)
        memcpy(n, as->tfns, (size_t)as->n_tfns * sizeof(*n));
    n[as->n_tfns++] = t;
    as->tfns = n;
    return 0;
}

static int push_action(struct arena *a, struct sr_actionset *as, enum sr_act_kind k,
                       const char *name, const char *value)
{
    struct sr_action *x = arena_calloc(a, 1, sizeof(*x));
    if (x == NULL)
        return -1;
    x->kind = k;
    x->name = arena_strdup(a, name);
    x->value = value != NULL ? arena_strdup(a, value) : NULL;
    if (x->name == NULL || (value != NULL && x->value == NULL))
        return -1;
    if (as->actions_tail != NULL)
        as->actions_tail->next = x;
    else
        as->actions = x;
    as->actions_tail = x;
    return 0;
}

/* Macro names the runtime can expand (secrule.c's macro_value()). */
static int macro_supported(const char *name, size_t n)
{
    static const char *const scalars[] = {"MATCHED_VAR", "MATCHED_VAR_NAME", "REMOTE_ADDR",
                                          "REQUEST_URI", "REQUEST_FILENAME", "REQUEST_METHOD",
                                          "QUERY_STRING"};
    static const char *const colls[] = {"TX.", "ENV.", "REQUEST_HEADERS.", "ARGS_GET."};
    for (size_t i = 0; i < ARRAY_LEN(scalars); i++)
        if (strlen(scalars[i]) == n && util_strncaseeq(name, scalars[i], n))
            return 1;
    for (size_t i = 0; i < ARRAY_LEN(colls); i++) {
        size_t l = strlen(colls[i]);
        if (n > l && util_strncaseeq(name, colls[i], l))
            return 1;
    }
    return 0;
}

/* Refuses %{X} macros outside the subset; sets *uses_txn when %{TX.<digit>} appears. */
static const char *check_macros(struct conf_cmd *cmd, const char *s, int *uses_txn)
{
    for (const char *p = strstr(s, "%{"); p != NULL; p = strstr(p + 2, "%{")) {
        const char *e = strchr(p + 2, '}');
        if (e == NULL)
            continue; /* not a macro: ModSecurity keeps it literally */
        size_t n = (size_t)(e - (p + 2));
        if (!macro_supported(p + 2, n))
            return conf_errf(cmd,
                             "unsupported macro %%{%.*s} (portico expands TX, ENV, "
                             "REQUEST_HEADERS, ARGS_GET, MATCHED_VAR, MATCHED_VAR_NAME, "
                             "REMOTE_ADDR, REQUEST_URI, REQUEST_FILENAME, REQUEST_METHOD, "
                             "QUERY_STRING)",
                             (int)n, p + 2);
        if (n == 4 && util_strncaseeq(p + 2, "TX.", 3) && p[5] >= '0' && p[5] <= '9' &&
            uses_txn != NULL)
            *uses_txn = 1;
    }
    return NULL;
}

static const char *parse_tfn(struct conf_cmd *cmd, struct sr_actionset *as, const char *v)
{
    static const struct {
        const char *name;
        enum sr_tfn t;
    } tfns[] = {{"none", ST_NONE},
                {"sha1", ST_SHA1},
                {"md5", ST_MD5},
                {"hexEncode", ST_HEXENCODE},
                {"lowercase", ST_LOWERCASE},
                {"urlDecode", ST_URLDECODE},
                {"trim", ST_TRIM}};
    for (size_t i = 0; i < ARRAY_LEN(tfns); i++)
        if (util_strcaseeq(v, tfns[i].name))
            return push_tfn(cmd->arena, as, tfns[i].t) < 0 ? "out of memory" : NULL;
    return conf_errf(cmd,
                     "unsupported transformation t:%s (portico supports t:none, t:sha1, "
                     "t:md5, t:hexEncode, t:lowercase, t:urlDecode, t:trim)",
                     v);
}

static const char *parse_setenv(struct conf_cmd *cmd, struct sr_actionset *as, const char *v,
                                int *uses_txn)
{
    const char *err = check_macros(cmd, v, uses_txn);
    if (err != NULL)
        return err;
    int rc;
    if (v[0] == '!') {
        if (v[1] == '\0')
            return "setenv: missing variable name";
        rc = push_action(cmd->arena, as, SA_UNSETENV, v + 1, NULL);
    } else {
        const char *eq = strchr(v, '=');
        char *name = arena_strndup(cmd->arena, v, eq ? (size_t)(eq - v) : strlen(v));
        if (name == NULL)
            return "out of memory";
        if (name[0] == '\0')
            return conf_errf(cmd, "setenv:%s: missing variable name", v);
        rc = push_action(cmd->arena, as, SA_SETENV, name, eq ? eq + 1 : "1");
    }
    return rc < 0 ? "out of memory" : NULL;
}

static const char *parse_setvar(struct conf_cmd *cmd, struct sr_actionset *as, const char *v,
                                int *uses_txn)
{
    const char *err = check_macros(cmd, v, uses_txn);
    if (err != NULL)
        return err;
    int unset = v[0] == '!';
    const char *p = v + unset;
    const char *eq = strchr(p, '=');
    size_t nlen = eq ? (size_t)(eq - p) : strlen(p);
    if (nlen < 4 || !util_strncaseeq(p, "tx.", 3))
        return conf_errf(cmd,
                         "setvar:%s: unsupported collection (portico supports "
                         "setvar:tx.NAME only)",
                         v);
    char *name = arena_strndup(cmd->arena, p + 3, nlen - 3);
    if (name == NULL)
        return "out of memory";
    int rc;
    if (unset)
        rc = push_action(cmd->arena, as, SA_UNSETVAR, name, NULL);
    else if (eq == NULL)
        rc = push_action(cmd->arena, as, SA_SETVAR, name, "1");
    else if ((eq[1] == '+' || eq[1] == '-') && eq[2] != '\0')
        rc = push_action(cmd->arena, as, SA_SETVAR_ADD, name, eq[1] == '+' ? eq + 2 : eq + 1);
    else
        rc = push_action(cmd->arena, as, SA_SETVAR, name, eq + 1);
    return rc < 0 ? "out of memory" : NULL;
}

static int all_digits(const char *s)
{
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static const char *apply_action(struct conf_cmd *cmd, struct sr_actionset *as, const char *name,
                                const char *value, int *uses_txn)
{
    long long n;
#define NEED_VALUE()                                                                               \
    do {                                                                                           \
        if (value == NULL)                                                                         \
            return conf_errf(cmd, "action '%s' needs a value", name);                              \
    } while (0)
#define NO_VALUE()                                                                                 \
    do {                                                                                           \
        if (value != NULL)                                                                         \
            return conf_errf(cmd, "action '%s' takes no value", name);                             \
    } while (0)
    if (util_strcaseeq(name, "id")) {
        NEED_VALUE();
        if (!all_digits(value) || util_parse_ll(value, 1, 2147483647LL, &n) < 0)
            return conf_errf(cmd, "ModSecurity: Invalid value for action ID: %s", value);
        as->id = (int)n;
    } else if (util_strcaseeq(name, "phase")) {
        NEED_VALUE();
        if (util_strcaseeq(value, "request"))
            n = 2;
        else if (util_strcaseeq(value, "response"))
            n = 4;
        else if (util_strcaseeq(value, "logging"))
            n = 5;
        else if (util_parse_ll(value, 1, 5, &n) < 0)
            return conf_errf(cmd, "Invalid value for action phase: %s", value);
        if (n > 2)
            return conf_errf(cmd,
                             "phase:%s is not supported (portico runs phases 1 and 2: "
                             "it does not inspect responses)",
                             value);
        as->phase = (int)n;
    } else if (util_strcaseeq(name, "pass")) {
        NO_VALUE();
        as->disruptive = SR_DIS_PASS;
    } else if (util_strcaseeq(name, "deny")) {
        NO_VALUE();
        as->disruptive = SR_DIS_DENY;
    } else if (util_strcaseeq(name, "status")) {
        NEED_VALUE();
        if (util_parse_ll(value, 100, 599, &n) < 0)
            return conf_errf(cmd, "Invalid value for action status: %s", value);
        as->status = (int)n;
    } else if (util_strcaseeq(name, "log") || util_strcaseeq(name, "nolog")) {
        NO_VALUE();
        as->log = name[0] == 'l' || name[0] == 'L';
        if (!as->log && as->auditlog < 0)
            as->auditlog = 0; /* ModSecurity: nolog implies noauditlog */
    } else if (util_strcaseeq(name, "auditlog") || util_strcaseeq(name, "noauditlog")) {
        NO_VALUE(); /* portico has no audit log: accepted, no effect */
        as->auditlog = name[0] == 'a' || name[0] == 'A';
    } else if (util_strcaseeq(name, "capture")) {
        NO_VALUE();
        as->capture = 1;
    } else if (util_strcaseeq(name, "chain")) {
        NO_VALUE();
        as->chain = 1;
    } else if (util_strcaseeq(name, "msg")) {
        NEED_VALUE();
        const char *err = check_macros(cmd, value, uses_txn);
        if (err != NULL)
            return err;
        as->msg = arena_strdup(cmd->arena, value);
    } else if (util_strcaseeq(name, "tag")) {
        NEED_VALUE();
        char **t = arena_alloc(cmd->arena, (size_t)(as->n_tags + 1) * sizeof(*t));
        if (t == NULL)
            return "out of memory";
        if (as->n_tags > 0)
            memcpy(t, as->tags, (size_t)as->n_tags * sizeof(*t));
        t[as->n_tags++] = arena_strdup(cmd->arena, value);
        as->tags = t;
    } else if (util_strcaseeq(name, "t")) {
        NEED_VALUE();
        return parse_tfn(cmd, as, value);
    } else if (util_strcaseeq(name, "setenv")) {
        NEED_VALUE();
        return parse_setenv(cmd, as, value, uses_txn);
    } else if (util_strcaseeq(name, "setvar")) {
        NEED_VALUE();
        return parse_setvar(cmd, as, value, uses_txn);
    } else {
        return conf_errf(cmd,
                         "unsupported action '%s' (portico's ModSecurity subset: id, phase, "
                         "pass, deny, status, log, nolog, auditlog, noauditlog, msg, tag, "
                         "capture, t, setenv, setvar, chain)",
                         name);
    }
#undef NEED_VALUE
#undef NO_VALUE
    return NULL;
}

/* ModSecurity's action syntax: name[:value] separated by commas; a value may be wrapped in
 * single quotes (backslash escapes the next character inside them). */
static const char *parse_actions(struct conf_cmd *cmd, const char *text, struct sr_actionset *as,
                                 int *uses_txn)
{
    const char *p = text;
    size_t tlen = strlen(text);
    char *buf = arena_alloc(cmd->arena, tlen + 1);
    if (buf == NULL)
        return "out of memory";
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        if (*p == '\0')
            return NULL;
        const char *ns = p;
        while (*p && *p != ':' && *p != ',' && *p != ' ' && *p != '\t')
            p++;
        char *name = arena_strndup(cmd->arena, ns, (size_t)(p - ns));
        if (name == NULL)
            return "out of memory";
        while (*p == ' ' || *p == '\t')
            p++;
        const char *value = NULL;
        if (*p == ':') {
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            size_t o = 0;
            if (*p == '\'') {
                p++;
                while (*p && *p != '\'') {
                    if (*p == '\\' && p[1] != '\0')
                        p++;
                    buf[o++] = *p++;
                }
                if (*p != '\'')
                    return conf_errf(cmd, "missing closing quote in the value of action '%s'",
                                     name);
                p++;
            } else {
                while (*p && *p != ',')
                    buf[o++] = *p++;
                while (o > 0 && (buf[o - 1] == ' ' || buf[o - 1] == '\t'))
                    o--;
            }
            buf[o] = '\0';
            value = arena_strdup(cmd->arena, buf);
            if (value == NULL)
                return "out of memory";
        } else if (*p != '\0' && *p != ',') {
            return conf_errf(cmd, "invalid action list near '%s'", p);
        }
        const char *err = apply_action(cmd, as, name, value, uses_txn);
        if (err != NULL)
            return err;
    }
}

/* ---- targets and operators ---- */

static const char *parse_targets(struct conf_cmd *cmd, const char *text, struct sr_rule *r)
{
    static const struct {
        const char *name;
        enum sr_var var;
        int collection;
    } vars[] = {{"REMOTE_ADDR", SV_REMOTE_ADDR, 0},
                {"REQUEST_URI", SV_REQUEST_URI, 0},
                {"REQUEST_FILENAME", SV_REQUEST_FILENAME, 0},
                {"REQUEST_METHOD", SV_REQUEST_METHOD, 0},
                {"QUERY_STRING", SV_QUERY_STRING, 0},
                {"REQUEST_HEADERS", SV_REQUEST_HEADERS, 1},
                {"ARGS_GET", SV_ARGS_GET, 1}};
    int n = 1;
    for (const char *p = text; *p; p++)
        n += *p == '|';
    r->targets = arena_calloc(cmd->arena, (size_t)n, sizeof(*r->targets));
    if (r->targets == NULL)
        return "out of memory";
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = strchr(p, '|');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *item = arena_strndup(cmd->arena, p, len);
        if (item == NULL)
            return "out of memory";
        while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            item[--len] = '\0';
        if (item[0] == '\0')
            return conf_errf(cmd, "empty variable in '%s'", text);
        if (item[0] == '!' || item[0] == '&')
            return conf_errf(cmd,
                             "unsupported variable syntax '%s' (portico supports neither "
                             "'!' exclusions nor '&' counts)",
                             item);
        char *colon = strchr(item, ':');
        if (colon != NULL)
            *colon++ = '\0';
        size_t i = 0;
        for (; i < ARRAY_LEN(vars); i++)
            if (util_strcaseeq(item, vars[i].name))
                break;
        if (i == ARRAY_LEN(vars))
            return conf_errf(cmd,
                             "unsupported variable %s (portico supports REMOTE_ADDR, "
                             "REQUEST_URI, REQUEST_FILENAME, REQUEST_METHOD, QUERY_STRING, "
                             "REQUEST_HEADERS, ARGS_GET)",
                             item);
        struct sr_target *t = &r->targets[r->n_targets++];
        t->var = vars[i].var;
        if (colon != NULL) {
            if (!vars[i].collection)
                return conf_errf(cmd, "variable %s takes no ':' selector", vars[i].name);
            if (*colon == '\0')
                return conf_errf(cmd, "empty selector after %s:", vars[i].name);
            if (*colon == '/' || *colon == '\'')
                return conf_errf(cmd,
                                 "unsupported selector %s:%s (portico supports plain "
                                 "names only, no regular expressions)",
                                 vars[i].name, colon);
            t->key = colon;
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
    return NULL;
}

static const char *parse_ipmatch(struct conf_cmd *cmd, struct sr_rule *r)
{
    int n = 1;
    for (const char *p = r->param; *p; p++)
        n += *p == ',';
    r->nets = arena_calloc(cmd->arena, (size_t)n, sizeof(*r->nets));
    if (r->nets == NULL)
        return "out of memory";
    const char *p = r->param;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        char *item = arena_strndup(cmd->arena, p, len);
        if (item == NULL)
            return "out of memory";
        while (len > 0 && (item[len - 1] == ' ' || item[len - 1] == '\t'))
            item[--len] = '\0';
        if (item[0] != '\0') {
            if (acl_parse_net(item, &r->nets[r->n_nets]) < 0)
                return conf_errf(cmd, "@ipMatch: invalid IP address or network '%s'", item);
            r->n_nets++;
        }
        if (e == NULL)
            break;
        p = e + 1;
    }
    if (r->n_nets == 0)
        return "@ipMatch: no IP address or network given";
    return NULL;
}

static const char *parse_operator(struct conf_cmd *cmd, const char *text, struct sr_rule *r)
{
    static const struct {
        const char *name;
        enum sr_op op;
    } ops[] = {{"rx", SO_RX},         {"streq", SO_STREQ},       {"beginsWith", SO_BEGINS},
               {"endsWith", SO_ENDS}, {"contains", SO_CONTAINS}, {"ipMatch", SO_IPMATCH}};
    const char *p = text;
    while (*p == ' ' || *p == '\t')
        p++;
    if (*p == '!') {
        r->negate = 1;
        p++;
    }
    if (*p == '@') {
        const char *ns = ++p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        size_t i = 0;
        for (; i < ARRAY_LEN(ops); i++)
            if (strlen(ops[i].name) == (size_t)(p - ns) &&
                util_strncaseeq(ns, ops[i].name, (size_t)(p - ns)))
                break;
        if (i == ARRAY_LEN(ops))
            return conf_errf(cmd,
                             "unsupported operator @%.*s (portico supports @rx, @streq, "
                             "@beginsWith, @endsWith, @contains, @ipMatch)",
                             (int)(p - ns), ns);
        r->op = ops[i].op;
        r->op_name = (char *)ops[i].name;
        while (*p == ' ' || *p == '\t')
            p++;
    } else {
        r->op = SO_RX;
        r->op_name = "rx";
    }
    r->param = arena_strdup(cmd->arena, p);
    if (r->param == NULL)
        return "out of memory";
    if (r->op == SO_RX) {
        char err[256];
        r->re = conf_regex_compile(cmd->arena, r->param, PCRE2_DOTALL | PCRE2_DOLLAR_ENDONLY, err,
                                   sizeof(err));
        if (r->re == NULL)
            return conf_errf(cmd, "Error compiling pattern '%s': %s", r->param, err);
    } else if (r->op == SO_IPMATCH) {
        return parse_ipmatch(cmd, r);
    } else {
        return check_macros(cmd, r->param, NULL);
    }
    return NULL;
}

/* ---- rules ---- */

static int id_seen(struct arena *a, struct secrule_conf *sc, int id)
{
    if (sc->ids == NULL)
        sc->ids = arena_calloc(a, 1, sizeof(*sc->ids));
    struct sr_idset *s = sc->ids;
    if (s == NULL)
        return 0;
    for (int i = 0; i < s->n; i++)
        if (s->ids[i] == id)
            return 1;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        int *n = arena_alloc(a, (size_t)cap * sizeof(*n));
        if (n == NULL)
            return 0;
        if (s->n > 0)
            memcpy(n, s->ids, (size_t)s->n * sizeof(*n));
        s->ids = n;
        s->cap = cap;
    }
    s->ids[s->n++] = id;
    return 0;
}

/* ModSecurity's built-in default action list. */
static const struct sr_actionset builtin_defaults = {.id = -1,
                                                     .phase = 2,
                                                     .disruptive = SR_DIS_PASS,
                                                     .status = -1,
                                                     .log = 1,
                                                     .auditlog = 1,
                                                     .capture = -1,
                                                     .chain = -1};

/* Merges the defaults into a rule's own actions (ModSecurity's msre_actionset_merge). */
static const char *build_rule(struct conf_cmd *cmd, struct sr_rule *r,
                              const struct sr_actionset *def, const struct sr_actionset *as)
{
    r->phase = as->phase >= 0 ? as->phase : def->phase;
    r->disruptive = as->disruptive != SR_DIS_UNSET ? as->disruptive : def->disruptive;
    r->status = as->status >= 0 ? as->status : (def->status >= 0 ? def->status : 0);
    r->log = as->log >= 0 ? as->log : def->log;
    r->capture = as->capture > 0 || def->capture > 0;
    r->chain = as->chain > 0;
    r->msg = as->msg;
    r->tags = as->tags;
    r->n_tags = as->n_tags;
    r->id = as->id > 0 ? as->id : 0;
    /* t: lists: the defaults' then the rule's; t:none drops what came before it. */
    int total = def->n_tfns + as->n_tfns, n = 0;
    r->tfns = arena_alloc(cmd->arena, (size_t)(total + 1) * sizeof(*r->tfns));
    if (r->tfns == NULL)
        return "out of memory";
    for (int i = 0; i < total; i++) {
        enum sr_tfn t = i < def->n_tfns ? def->tfns[i] : as->tfns[i - def->n_tfns];
        if (t == ST_NONE)
            n = 0;
        else
            r->tfns[n++] = t;
    }
    r->n_tfns = n;
    /* Non-disruptive actions: the defaults' first (copies, so the lists stay separate). */
    struct sr_action **tail = &r->actions;
    for (int pass = 0; pass < 2; pass++) {
        for (const struct sr_action *x = pass == 0 ? def->actions : as->actions; x != NULL;
             x = x->next) {
            struct sr_action *c = arena_alloc(cmd->arena, sizeof(*c));
            if (c == NULL)
                return "out of memory";
            *c = *x;
            c->next = NULL;
            *tail = c;
            tail = &c->next;
        }
    }
    return NULL;
}

static const char *add_rule(struct conf_cmd *cmd, const char *vars, const char *op,
                            const char *actions)
{
    if (cmd->dir != NULL)
        return in_section_msg;
    struct secrule_conf *sc = scope_conf(cmd);
    struct sr_actionset *as = actionset_new(cmd->arena);
    struct sr_rule *r = arena_calloc(cmd->arena, 1, sizeof(*r));
    if (sc == NULL || as == NULL || r == NULL)
        return "out of memory";
    r->file = cmd->file;
    r->line = cmd->line;
    const char *err;
    if (vars != NULL) {
        if ((err = parse_targets(cmd, vars, r)) != NULL)
            return err;
        if ((err = parse_operator(cmd, op, r)) != NULL)
            return err;
    } else {
        r->op = SO_UNCONDITIONAL;
        r->op_name = "unconditionalMatch";
    }
    int uses_txn = 0;
    if (actions != NULL && (err = parse_actions(cmd, actions, as, &uses_txn)) != NULL)
        return err;
    struct sr_rule *starter_link = sc->open_chain;
    if (starter_link != NULL) {
        /* A follow-up in a chain: ModSecurity's rules for what it may carry. */
        if (as->phase >= 0)
            return "ModSecurity: Execution phases can only be specified by chain starter rules.";
        if (as->disruptive != SR_DIS_UNSET || as->status >= 0)
            return "ModSecurity: Disruptive actions can only be specified by chain starter "
                   "rules.";
        if (as->id >= 0 || as->msg != NULL || as->n_tags > 0)
            return "ModSecurity: Metadata actions (id, rev, msg, tag, severity, ver, accuracy, "
                   "maturity, logdata) can only be specified by chain starter rules.";
    } else {
        if (as->id < 0)
            return "ModSecurity: No action id present within the rule";
        if (id_seen(cmd->arena, sc, as->id))
            return "ModSecurity: Found another rule with the same id";
    }
    const struct sr_actionset *def = sc->defaults != NULL ? sc->defaults : &builtin_defaults;
    if ((err = build_rule(cmd, r, def, as)) != NULL)
        return err;
    if (uses_txn && !r->capture && !sc->any_capture) {
        const struct secrule_conf *mc = cmd->conf->main->secrule;
        if (!(cmd->server != cmd->conf->main && mc != NULL && mc->any_capture))
            conf_warn(cmd, "%%{TX.n} is used without the capture action and no earlier rule "
                           "captures: as in ModSecurity it expands to an empty string (add "
                           "'capture' to the rule whose regex should fill TX.0-TX.9)");
    }
    if (r->capture)
        sc->any_capture = 1;
    if (starter_link != NULL) {
        r->phase = starter_link->phase;
        starter_link->chained = r;
    } else {
        if (sc->tail != NULL)
            sc->tail->next = r;
        else
            sc->head = r;
        sc->tail = r;
    }
    sc->open_chain = r->chain ? r : NULL;
    return NULL;
}

static const char *cmd_secrule(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    return add_rule(cmd, argv[0], argv[1], argc > 2 ? argv[2] : NULL);
}

static const char *cmd_secaction(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                 char **argv)
{
    (void)d, (void)argc;
    return add_rule(cmd, NULL, NULL, argv[0]);
}

static const char *cmd_default_action(struct conf_cmd *cmd, const struct conf_directive *d,
                                      int argc, char **argv)
{
    (void)d, (void)argc;
    if (cmd->dir != NULL)
        return in_section_msg;
    struct secrule_conf *sc = scope_conf(cmd);
    struct sr_actionset *as = actionset_new(cmd->arena);
    if (sc == NULL || as == NULL)
        return "out of memory";
    if (sc->open_chain != NULL)
        return conf_errf(cmd, "the rule at %s:%d has a chain action but no rule follows it",
                         sc->open_chain->file, sc->open_chain->line);
    const char *err = parse_actions(cmd, argv[0], as, NULL);
    if (err != NULL)
        return err;
    if (as->disruptive == SR_DIS_UNSET)
        return "ModSecurity: SecDefaultAction must specify a disruptive action.";
    if (as->phase < 0)
        return "ModSecurity: SecDefaultAction must specify a phase.";
    if (as->id >= 0 || as->msg != NULL || as->n_tags > 0)
        return "ModSecurity: SecDefaultAction must not contain any metadata actions (id, rev, "
               "msg, tag, severity, ver, accuracy, maturity, logdata).";
    if (as->chain > 0)
        return "ModSecurity: SecDefaultAction must not contain a chain action.";
    if (as->log < 0)
        as->log = 1;
    sc->defaults = as;
    return NULL;
}

static const struct conf_directive secrule_directives[] = {
    {"SecRuleEngine", CTX_ANY, ARGS_TAKE1, cmd_engine, TGT_NONE, 0, 0, 0, 0, MOD_SECURITY2,
     "On|Off|DetectionOnly"},
    {"SecRule", CTX_ANY, ARGS_TAKE23, cmd_secrule, TGT_NONE, 0, 0, 0, 0, MOD_SECURITY2,
     "VARIABLES OPERATOR [ACTIONS]"},
    {"SecAction", CTX_ANY, ARGS_TAKE1, cmd_secaction, TGT_NONE, 0, 0, 0, 0, MOD_SECURITY2,
     "ACTIONS"},
    {"SecDefaultAction", CTX_ANY, ARGS_TAKE1, cmd_default_action, TGT_NONE, 0, 0, 0, 0,
     MOD_SECURITY2, "ACTIONS"},
};

const struct conf_table conf_table_secrule = {secrule_directives, ARRAY_LEN(secrule_directives)};

/* Post-parse check (conf_load): a chain action on the last rule of a scope has nothing to
 * chain to. */
void conf_finish_secrule(struct conf_cmd *cmd)
{
    const struct conf_server *s = cmd->conf->main;
    while (s != NULL) {
        const struct secrule_conf *sc = s->secrule;
        if (sc != NULL && sc->open_chain != NULL)
            conf_error_at(cmd, sc->open_chain->file, sc->open_chain->line,
                          "SecRule: the chain action needs a rule after it");
        s = s == cmd->conf->main ? cmd->conf->vhosts : s->next;
    }
}
