/* mod_env directives: SetEnv, UnsetEnv, PassEnv, in every context. The per-vhost merge with
 * the main server happens in conf_finish_headers (headers_conf.c). */
#include <stdlib.h>

#include "arena.h"
#include "conf_registry.h"
#include "env.h"
#include "util.h"

static struct env_conf *scope_env(struct conf_cmd *cmd)
{
    struct env_conf **slot = cmd->dir != NULL ? &cmd->dir->env : &cmd->server->env;
    if (*slot == NULL)
        *slot = arena_calloc(cmd->arena, 1, sizeof(**slot));
    return *slot;
}

static const char *scope_set(struct conf_cmd *cmd, const char *name, const char *value)
{
    struct env_conf *e = scope_env(cmd);
    if (e == NULL)
        return "out of memory";
    struct env_var **pp = &e->vars;
    for (; *pp != NULL; pp = &(*pp)->next)
        if (util_strcaseeq((*pp)->name, name))
            break;
    char *v = arena_strdup(cmd->arena, value);
    if (v == NULL)
        return "out of memory";
    if (*pp != NULL) {
        (*pp)->value = v;
        return NULL;
    }
    struct env_var *n = arena_calloc(cmd->arena, 1, sizeof(*n));
    if (n == NULL || (n->name = arena_strdup(cmd->arena, name)) == NULL)
        return "out of memory";
    n->value = v;
    *pp = n;
    return NULL;
}

static const char *set_env(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                           char **argv)
{
    (void)d;
    if (argv[0][0] == '\0')
        return "the variable name is empty";
    return scope_set(cmd, argv[0], argc > 1 ? argv[1] : "");
}

static const char *pass_env(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                            char **argv)
{
    (void)d;
    (void)argc;
    const char *v = getenv(argv[0]);
    if (v == NULL) {
        /* httpd's AH01506 is a warning too: the config stays valid. */
        conf_warn(cmd, "PassEnv variable %s was undefined", argv[0]);
        return NULL;
    }
    return scope_set(cmd, argv[0], v);
}

static const char *unset_env(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                             char **argv)
{
    (void)d;
    (void)argc;
    struct env_conf *e = scope_env(cmd);
    if (e == NULL)
        return "out of memory";
    /* A SetEnv earlier in the same scope is cancelled here; the unset list removes the
     * variables inherited from enclosing scopes at merge time. */
    struct env_var **pp = &e->vars;
    while (*pp != NULL) {
        if (util_strcaseeq((*pp)->name, argv[0]))
            *pp = (*pp)->next;
        else
            pp = &(*pp)->next;
    }
    for (struct env_var *u = e->unsets; u != NULL; u = u->next)
        if (util_strcaseeq(u->name, argv[0]))
            return NULL;
    struct env_var *n = arena_calloc(cmd->arena, 1, sizeof(*n));
    if (n == NULL || (n->name = arena_strdup(cmd->arena, argv[0])) == NULL)
        return "out of memory";
    n->next = e->unsets;
    e->unsets = n;
    return NULL;
}

static const struct conf_directive env_directives[] = {
    {"SetEnv", CTX_ANY, ARGS_TAKE12, set_env, TGT_NONE, 0, 0, 0, 0, MOD_ENV, "SetEnv NAME [value]"},
    {"UnsetEnv", CTX_ANY, ARGS_ITERATE, unset_env, TGT_NONE, 0, 0, 0, 0, MOD_ENV,
     "UnsetEnv NAME..."},
    {"PassEnv", CTX_ANY, ARGS_ITERATE, pass_env, TGT_NONE, 0, 0, 0, 0, MOD_ENV, "PassEnv NAME..."},
};
const struct conf_table conf_table_env = {env_directives, ARRAY_LEN(env_directives)};
