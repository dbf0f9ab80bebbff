/* The per-request environment table and mod_env's fixup: the variables of every scope that
 * applies are merged as httpd merges per-directory configs, then laid over the request's. */
#include <string.h>

#include "arena.h"
#include "conn.h"
#include "env.h"
#include "route.h"
#include "util.h"

const char *env_get(const struct request *r, const char *name)
{
    for (const struct env_var *v = r->env; v != NULL; v = v->next)
        if (util_strcaseeq(v->name, name))
            return v->value;
    return NULL;
}

int env_set(struct request *r, const char *name, const char *value)
{
    struct env_var **pp = &r->env;
    for (; *pp != NULL; pp = &(*pp)->next) {
        if (util_strcaseeq((*pp)->name, name)) {
            char *v = arena_strdup(r->arena, value != NULL ? value : "");
            if (v == NULL)
                return -1;
            (*pp)->value = v;
            return 0;
        }
    }
    /* Appended so that dumps and %{..}e lookups see variables in the order they were set. */
    struct env_var *n = arena_alloc(r->arena, sizeof(*n));
    if (n == NULL)
        return -1;
    n->name = arena_strdup(r->arena, name);
    n->value = arena_strdup(r->arena, value != NULL ? value : "");
    n->next = NULL;
    if (n->name == NULL || n->value == NULL)
        return -1;
    *pp = n;
    return 0;
}

void env_unset(struct request *r, const char *name)
{
    struct env_var **pp = &r->env;
    while (*pp != NULL) {
        if (util_strcaseeq((*pp)->name, name))
            *pp = (*pp)->next;
        else
            pp = &(*pp)->next;
    }
}

/* A small table of (name, value) pointers into config memory: the merge result. */
struct env_table {
    const char **name;
    const char **value;
    int n, cap;
};

static void table_unset(struct env_table *t, const char *name)
{
    int o = 0;
    for (int i = 0; i < t->n; i++) {
        if (util_strcaseeq(t->name[i], name))
            continue;
        t->name[o] = t->name[i];
        t->value[o++] = t->value[i];
    }
    t->n = o;
}

static int table_set(struct arena *a, struct env_table *t, const char *name, const char *value)
{
    for (int i = 0; i < t->n; i++) {
        if (util_strcaseeq(t->name[i], name)) {
            t->value[i] = value;
            return 0;
        }
    }
    if (t->n == t->cap) {
        int cap = t->cap ? t->cap * 2 : 8;
        const char **nn = arena_alloc(a, sizeof(*nn) * (size_t)cap);
        const char **nv = arena_alloc(a, sizeof(*nv) * (size_t)cap);
        if (nn == NULL || nv == NULL)
            return -1;
        if (t->n > 0) {
            memcpy(nn, t->name, sizeof(*nn) * (size_t)t->n);
            memcpy(nv, t->value, sizeof(*nv) * (size_t)t->n);
        }
        t->name = nn;
        t->value = nv;
        t->cap = cap;
    }
    t->name[t->n] = name;
    t->value[t->n++] = value;
    return 0;
}

static int table_merge(struct arena *a, struct env_table *t, const struct env_conf *add)
{
    for (const struct env_var *u = add->unsets; u != NULL; u = u->next)
        table_unset(t, u->name);
    for (const struct env_var *v = add->vars; v != NULL; v = v->next)
        if (table_set(a, t, v->name, v->value) < 0)
            return -1;
    return 0;
}

void env_apply(struct request *r, const struct route_decision *d)
{
    const struct conf_server *srv = r->srv;
    if (srv == NULL && r->c != NULL && r->c->conf != NULL)
        srv = r->c->conf->main;
    const struct env_conf *base = srv != NULL ? srv->env : NULL;
    int sections = 0;
    for (int i = 0; d != NULL && i < d->n_sections; i++)
        if (d->sections[i] != NULL && d->sections[i]->env != NULL)
            sections = 1;
    if (!sections) {
        /* The common case: the server's list is already merged, copy it straight in. */
        for (const struct env_var *v = base ? base->vars : NULL; v != NULL; v = v->next)
            env_set(r, v->name, v->value);
        return;
    }
    struct env_table t = {0};
    if (base != NULL && table_merge(r->arena, &t, base) < 0)
        return;
    for (int i = 0; i < d->n_sections; i++) {
        const struct conf_dir *s = d->sections[i];
        if (s != NULL && s->env != NULL && table_merge(r->arena, &t, s->env) < 0)
            return;
    }
    for (int i = 0; i < t.n; i++)
        env_set(r, t.name[i], t.value[i]);
}

struct env_conf *env_conf_merge(struct arena *a, const struct env_conf *base,
                                const struct env_conf *add)
{
    if (base == NULL || add == NULL)
        return (struct env_conf *)(base != NULL ? base : add);
    struct env_table t = {0};
    if (table_merge(a, &t, base) < 0 || table_merge(a, &t, add) < 0)
        return NULL;
    struct env_conf *out = arena_calloc(a, 1, sizeof(*out));
    if (out == NULL)
        return NULL;
    struct env_var **tail = &out->vars;
    for (int i = 0; i < t.n; i++) {
        struct env_var *c = arena_alloc(a, sizeof(*c));
        if (c == NULL)
            return NULL;
        c->name = (char *)t.name[i];
        c->value = (char *)t.value[i];
        c->next = NULL;
        *tail = c;
        tail = &c->next;
    }
    return out;
}
