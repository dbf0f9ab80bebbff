/* Per-request environment variables (mod_env SetEnv/UnsetEnv/PassEnv, later SetEnvIf,
 * rewrite's [E=] and SecRule setenv): read by %{VAR}e in logs, env= conditions of
 * Header/RequestHeader/CustomLog, and proxy-env variables such as force-proxy-request-1.0.
 * Names compare case-insensitively, as httpd's subprocess_env table does. */
#ifndef PORTICO_ENV_H
#define PORTICO_ENV_H

#include "conf_types.h"

struct request;

struct env_var {
    char *name;
    char *value;
    struct env_var *next;
};

/* One scope's mod_env directives (server, vhost or section). httpd's merge: the inherited
 * variables minus this scope's UnsetEnv names, then this scope's SetEnv/PassEnv values.
 * An UnsetEnv only cancels variables set by SetEnv/PassEnv in enclosing scopes (and earlier
 * in its own), never ones set on the request by SetEnvIf and friends. */
struct env_conf {
    struct env_var *vars;   /* SetEnv/PassEnv, config order, one entry per name */
    struct env_var *unsets; /* UnsetEnv names (value NULL) */
};

/* Value of a variable, NULL when unset. */
const char *env_get(const struct request *r, const char *name);
/* Sets (replaces) a variable; copies into r->arena. Returns 0 or -1. */
int env_set(struct request *r, const char *name, const char *value);
void env_unset(struct request *r, const char *name);

/* Applies SetEnv/UnsetEnv/PassEnv of the server (main server's included for a vhost, see
 * conf_finish_headers), then of the sections (in order). d may be NULL. */
struct route_decision;
void env_apply(struct request *r, const struct route_decision *d);

/* Load-time merge: a new env_conf holding base's variables overridden by add's rules (either
 * may be NULL; returns the other unchanged when one is NULL). NULL when out of memory. */
struct arena;
struct env_conf *env_conf_merge(struct arena *a, const struct env_conf *base,
                                const struct env_conf *add);

#endif
