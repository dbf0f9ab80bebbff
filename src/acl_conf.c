/* Access-control directives: mod_authz_core (Require, <RequireAll>/<RequireAny>/<RequireNone>,
 * AuthMerging), mod_authz_host's providers (ip, local; host refused), mod_access_compat
 * (Order, Allow, Deny) and core's Satisfy. Messages are httpd's where it has one.
 *
 * The containers are sections of their own (ctx CTX_AUTHZ, section = the container node)
 * so that, as in httpd, only authorization directives are accepted inside them; cmd->dir
 * stays the enclosing <Location>/<Proxy>/... whose acl the tree belongs to. */
#include <string.h>

#include "acl.h"
#include "arena.h"
#include "conf_registry.h"
#include "util.h"

#define AUTHZ_CTX (CTX_DIR_ANY | CTX_AUTHZ)

static struct acl_conf *dir_acl(struct conf_cmd *cmd)
{
    if (cmd->dir == NULL)
        return NULL;
    if (cmd->dir->acl == NULL)
        cmd->dir->acl = arena_calloc(cmd->arena, 1, sizeof(struct acl_conf));
    return cmd->dir->acl;
}

static struct acl_node *new_node(struct conf_cmd *cmd, enum acl_kind kind)
{
    struct acl_node *n = arena_calloc(cmd->arena, 1, sizeof(*n));
    if (n != NULL)
        n->kind = kind;
    return n;
}

/* The container the directive sits in: the innermost <RequireX>, or the section's implicit
 * <RequireAny> (created on first use, as httpd's create_default_section()). */
static struct acl_node *parent_node(struct conf_cmd *cmd, struct acl_conf *acl,
                                    struct acl_node *open_parent)
{
    if (open_parent != NULL)
        return open_parent;
    if (acl->authz == NULL)
        acl->authz = new_node(cmd, ACL_K_SECTION);
    return acl->authz;
}

static struct acl_node *current_container(struct conf_cmd *cmd)
{
    return (cmd->ctx & CTX_AUTHZ) ? cmd->section : NULL;
}

static void append(struct acl_node *parent, struct acl_node *n)
{
    n->next = NULL;
    if (parent->last != NULL)
        parent->last->next = n;
    else
        parent->first = n;
    parent->last = n;
}

/* httpd's format_authz_command() for containers. */
static const char *container_name(const struct acl_node *n)
{
    if (n->op_and)
        return n->negate ? "<RequireNotAll>" : "<RequireAll>";
    return n->negate ? "<RequireNone>" : "<RequireAny>";
}

/* ---- Require ---- */

static const char *parse_ip_list(struct conf_cmd *cmd, struct acl_node *n, int argc, char **argv)
{
    /* httpd stops at the first empty word, so `Require ip ""` has no argument. */
    int count = 0;
    while (count < argc && argv[count][0] != '\0')
        count++;
    if (count == 0)
        return "'require ip' requires an argument";
    n->nets = arena_calloc(cmd->arena, (size_t)count, sizeof(*n->nets));
    if (n->nets == NULL)
        return "out of memory";
    for (int i = 0; i < count; i++) {
        enum acl_net_status st = acl_parse_net_status(argv[i], &n->nets[i]);
        if (st == ACL_NET_NOT_IP)
            return conf_errf(cmd, "ip address '%s' appears to be invalid", argv[i]);
        if (st != ACL_NET_OK)
            return conf_errf(cmd, "ip address '%s' appears to be invalid: %s", argv[i],
                             acl_net_strerror(st));
    }
    n->n_nets = count;
    return NULL;
}

/* Providers httpd has that need what portico does not do: say why instead of "unknown". */
static const char *refused_provider(struct conf_cmd *cmd, const char *p)
{
    static const char *const authn[] = {"valid-user", "user",      "group",          "file-owner",
                                        "file-group", "dbm-group", "dbd-group",      "ldap-user",
                                        "ldap-group", "ldap-dn",   "ldap-attribute", "ldap-filter",
                                        "ldap-search"};
    for (size_t i = 0; i < ARRAY_LEN(authn); i++)
        if (strcmp(p, authn[i]) == 0)
            return conf_errf(cmd,
                             "'Require %s' needs an authenticated user, and portico has no "
                             "authentication modules (mod_auth_basic, mod_authn_*); restrict by "
                             "address (Require ip) or authenticate in the backend",
                             p);
    if (strcmp(p, "host") == 0 || strcmp(p, "forward-dns") == 0)
        return conf_errf(cmd,
                         "'Require %s' needs DNS lookups, which portico does not do; use "
                         "Require ip with addresses or networks",
                         p);
    if (strcmp(p, "env") == 0 || strcmp(p, "method") == 0)
        return conf_errf(cmd,
                         "'Require %s' is not supported: portico's access rules see only the "
                         "client address (Require all, ip, local)",
                         p);
    if (strcmp(p, "expr") == 0)
        return "'Require expr' is not supported: portico does not evaluate httpd expressions; "
               "use Require ip/local/all inside <RequireAll>/<RequireAny>/<RequireNone>";
    return NULL;
}

/* Marks the enclosing container so that its close does not add "contains no authorization
 * directives" to the error already reported. */
static const char *fail_in(struct conf_cmd *cmd, const char *err)
{
    struct acl_node *c = current_container(cmd);
    if (c != NULL)
        c->broken = 1;
    return err;
}

static const char *set_require(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    struct acl_conf *acl = dir_acl(cmd);
    if (acl == NULL)
        return "out of memory";
    int i = 0, negate = 0;
    if (util_strcaseeq(argv[0], "not")) {
        negate = 1;
        i = 1;
    }
    /* Provider names are case-sensitive in httpd ("Require All granted" is unknown). */
    const char *prov = i < argc ? argv[i] : "";
    int nargs = argc - i - 1;
    char **args = argv + i + 1;
    struct acl_node *n;
    if (strcmp(prov, "all") == 0) {
        if (nargs != 1 ||
            (!util_strcaseeq(args[0], "granted") && !util_strcaseeq(args[0], "denied")))
            return fail_in(cmd, "Argument for 'Require all' must be 'granted' or 'denied'");
        if ((n = new_node(cmd, ACL_K_ALL)) == NULL)
            return "out of memory";
        n->granted = util_strcaseeq(args[0], "granted");
    } else if (strcmp(prov, "ip") == 0) {
        if ((n = new_node(cmd, ACL_K_IP)) == NULL)
            return "out of memory";
        const char *err = parse_ip_list(cmd, n, nargs < 0 ? 0 : nargs, args);
        if (err != NULL)
            return fail_in(cmd, err);
    } else if (strcmp(prov, "local") == 0) {
        /* httpd's local provider takes no arguments and ignores any given. */
        if ((n = new_node(cmd, ACL_K_LOCAL)) == NULL)
            return "out of memory";
    } else {
        const char *err = refused_provider(cmd, prov);
        return fail_in(cmd, err ? err : conf_errf(cmd, "Unknown Authz provider: %s", prov));
    }
    n->negate = negate;
    acl->authz_set = 1;
    struct acl_node *parent = parent_node(cmd, acl, current_container(cmd));
    if (parent == NULL)
        return "out of memory";
    if (negate && !parent->op_and)
        return fail_in(cmd,
                       conf_errf(cmd, "negative Require directive has no effect in %s directive",
                                 container_name(parent)));
    append(parent, n);
    return NULL;
}

/* ---- <RequireAll>, <RequireAny>, <RequireNone> ---- */

static int has_positive(const struct acl_node *n)
{
    for (const struct acl_node *c = n->first; c != NULL; c = c->next)
        if (!c->negate)
            return 1;
    return 0;
}

/* httpd's add_authz_section() after its walk, plus authz_core_check_section()'s "only
 * negative" test, which httpd runs at startup without a line number; here it cites the
 * opening line. Errors are reported at the opening line, as httpd does. */
static const char *close_container(struct conf_cmd *cmd)
{
    struct acl_node *n = cmd->section;
    struct acl_conf *acl = cmd->dir ? cmd->dir->acl : NULL;
    const char *name = container_name(n);
    const char *err = NULL;
    if (acl == NULL)
        return "out of memory";
    if (n->broken) {
        if (n->parent != NULL)
            n->parent->broken = 1;
        return NULL;
    }
    struct acl_node *parent = parent_node(cmd, acl, n->parent);
    if (parent == NULL)
        return "out of memory";
    /* Same operator, not negated: httpd splices the children in (associativity), and
     * checks the result as part of the parent. */
    int splice = !n->negate && n->op_and == parent->op_and;
    if (n->first == NULL)
        err = "directive contains no authorization directives";
    else if (n->negate && !parent->op_and)
        err = conf_errf(cmd, "directive has no effect in %s directive", container_name(parent));
    else if (!splice && n->op_and && !has_positive(n))
        err = "directive contains only negative authorization directives";
    if (err != NULL) {
        conf_error_at(cmd, n->file, n->line, "%s: %s %s", name, name, err);
        if (n->parent != NULL)
            n->parent->broken = 1;
        return NULL;
    }
    if (splice) {
        struct acl_node *c = n->first;
        while (c != NULL) {
            struct acl_node *next = c->next;
            append(parent, c);
            c = next;
        }
    } else {
        append(parent, n);
    }
    return NULL;
}

/* d->offset: 0 <RequireAll>, 1 <RequireAny>, 2 <RequireNone>. */
static const char *open_container(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    (void)argc;
    (void)argv;
    struct acl_conf *acl = dir_acl(cmd);
    struct acl_node *n = new_node(cmd, ACL_K_SECTION);
    if (acl == NULL || n == NULL)
        return "out of memory";
    acl->authz_set = 1;
    n->op_and = d->offset == 0;
    n->negate = d->offset == 2;
    n->parent = current_container(cmd);
    n->file = cmd->file;
    n->line = cmd->line;
    return conf_section_push(cmd, d->name + 1, CTX_AUTHZ, NULL, n, close_container);
}

/* ---- AuthMerging, AuthzSendForbiddenOnFailure ---- */

static const char *set_auth_merging(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                    char **argv)
{
    (void)d;
    (void)argc;
    struct acl_conf *acl = dir_acl(cmd);
    if (acl == NULL)
        return "out of memory";
    if (util_strcaseeq(argv[0], "off"))
        acl->merging = ACL_MERGE_OFF;
    else if (util_strcaseeq(argv[0], "and"))
        acl->merging = ACL_MERGE_AND;
    else if (util_strcaseeq(argv[0], "or"))
        acl->merging = ACL_MERGE_OR;
    else
        return "must be one of: Off | And | Or";
    acl->authz_set = 1;
    return NULL;
}

/* ---- Order, Allow, Deny, Satisfy ---- */

static const char *set_order(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                             char **argv)
{
    (void)d;
    (void)argc;
    struct acl_conf *acl = dir_acl(cmd);
    if (acl == NULL)
        return "out of memory";
    if (util_strcaseeq(argv[0], "allow,deny"))
        acl->order = ACL_ALLOW_DENY;
    else if (util_strcaseeq(argv[0], "deny,allow"))
        acl->order = ACL_DENY_ALLOW;
    else if (util_strcaseeq(argv[0], "mutual-failure"))
        acl->order = ACL_MUTUAL_FAILURE;
    else
        return conf_errf(cmd, "unknown order '%s' (Allow,Deny, Deny,Allow or Mutual-failure)",
                         argv[0]);
    acl->compat_set = 1;
    return NULL;
}

static const char *parse_rule(struct conf_cmd *cmd, const char *where, struct acl_rule *r)
{
    if (util_strncaseeq(where, "env=", 4))
        return conf_errf(cmd,
                         "'%s': env= conditions are not supported: portico's access rules see "
                         "only the client address",
                         where);
    if (util_strcaseeq(where, "all")) {
        r->all = 1;
        return NULL;
    }
    enum acl_net_status st = acl_parse_net_status(where, &r->net);
    if (st == ACL_NET_OK)
        return NULL;
    if (st != ACL_NET_NOT_IP)
        return conf_errf(cmd, "'%s': %s", where, acl_net_strerror(st));
    if (strchr(where, '/') != NULL)
        return conf_errf(cmd, "'%s': An IP address was expected", where);
    return conf_errf(cmd,
                     "'%s' looks like a host name, which needs DNS lookups that portico does "
                     "not do; use IP addresses or networks",
                     where);
}

/* d->offset: 0 Allow, 1 Deny. */
static const char *set_allow_deny(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                  char **argv)
{
    struct acl_conf *acl = dir_acl(cmd);
    if (acl == NULL)
        return "out of memory";
    if (argc < 2)
        return "requires at least two arguments, 'from' followed by hostnames or IP-address "
               "wildcards";
    if (!util_strcaseeq(argv[0], "from"))
        return "allow and deny must be followed by 'from'";
    struct acl_rule **tail = d->offset == 0 ? &acl->allow : &acl->deny;
    while (*tail != NULL)
        tail = &(*tail)->next;
    for (int i = 1; i < argc; i++) {
        struct acl_rule *r = arena_calloc(cmd->arena, 1, sizeof(*r));
        if (r == NULL)
            return "out of memory";
        const char *err = parse_rule(cmd, argv[i], r);
        if (err != NULL)
            return err;
        *tail = r;
        tail = &r->next;
    }
    acl->compat_set = 1;
    return NULL;
}

static const char *set_satisfy(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    (void)d;
    (void)argc;
    struct acl_conf *acl = dir_acl(cmd);
    if (acl == NULL)
        return "out of memory";
    if (util_strcaseeq(argv[0], "all"))
        acl->satisfy = ACL_SATISFY_ALL;
    else if (util_strcaseeq(argv[0], "any"))
        acl->satisfy = ACL_SATISFY_ANY;
    else
        return conf_errf(cmd, "must be 'any' or 'all', not '%s'", argv[0]);
    return NULL;
}

#define NONE TGT_NONE, 0

static const struct conf_directive acl_directives[] = {
    {"Require", AUTHZ_CTX, ARGS_1MORE, set_require, NONE, 0, 0, 0, MOD_AUTHZ_CORE,
     "[not] all granted|denied, ip ADDRESS..., or local"},
    {"<RequireAll", AUTHZ_CTX, ARGS_NONE, open_container, TGT_NONE, 0, 0, 0, DIRF_SECTION,
     MOD_AUTHZ_CORE, "a container of Require lines"},
    {"<RequireAny", AUTHZ_CTX, ARGS_NONE, open_container, TGT_NONE, 1, 0, 0, DIRF_SECTION,
     MOD_AUTHZ_CORE, "a container of Require lines"},
    {"<RequireNone", AUTHZ_CTX, ARGS_NONE, open_container, TGT_NONE, 2, 0, 0, DIRF_SECTION,
     MOD_AUTHZ_CORE, "a container of Require lines"},
    {"AuthMerging", AUTHZ_CTX, ARGS_TAKE1, set_auth_merging, NONE, 0, 0, 0, MOD_AUTHZ_CORE,
     "Off, And or Or"},
    /* Only matters after authentication, which portico does not do: 403 is all it sends. */
    {"AuthzSendForbiddenOnFailure", AUTHZ_CTX, ARGS_FLAG, conf_accept, NONE, 0, 0, 0,
     MOD_AUTHZ_CORE, "On or Off (accepted, no effect without authentication)"},
    {"Order", CTX_DIR_ANY, ARGS_TAKE1, set_order, NONE, 0, 0, 0, MOD_ACCESS_COMPAT,
     "'allow,deny', 'deny,allow', or 'mutual-failure'"},
    {"Allow", CTX_DIR_ANY, ARGS_1MORE, set_allow_deny, TGT_NONE, 0, 0, 0, 0, MOD_ACCESS_COMPAT,
     "'from' followed by IP addresses, networks or 'all'"},
    {"Deny", CTX_DIR_ANY, ARGS_1MORE, set_allow_deny, TGT_NONE, 1, 0, 0, 0, MOD_ACCESS_COMPAT,
     "'from' followed by IP addresses, networks or 'all'"},
    {"Satisfy", AUTHZ_CTX, ARGS_TAKE1, set_satisfy, NONE, 0, 0, 0, MOD_CORE, "'all' or 'any'"},
};

const struct conf_table conf_table_acl = {acl_directives, ARRAY_LEN(acl_directives)};

/* Every check needs only one section and runs while parsing (the containers' close
 * callbacks); nothing is inherited or defaulted, the merge happens per request. */
void conf_finish_acl(struct conf_cmd *cmd)
{
    (void)cmd;
}
