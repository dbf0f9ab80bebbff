/* Per-request environment variables (mod_env SetEnv/UnsetEnv/PassEnv, later SetEnvIf,
 * rewrite's [E=] and SecRule setenv): read by %{VAR}e in logs, env= conditions of
 * Header/RequestHeader/CustomLog, and proxy-env variables such as force-proxy-request-1.0. */
#ifndef PORTICO_ENV_H
#define PORTICO_ENV_H

#include "conf_types.h"

struct request;

struct env_var {
    char *name;
    char *value;
    struct env_var *next;
};

/* Value of a variable, NULL when unset. */
const char *env_get(const struct request *r, const char *name);
/* Sets (replaces) a variable; copies into r->arena. Returns 0 or -1. */
int env_set(struct request *r, const char *name, const char *value);
void env_unset(struct request *r, const char *name);

/* Applies SetEnv/UnsetEnv/PassEnv of the server, then of the sections (in order). */
struct route_decision;
void env_apply(struct request *r, const struct route_decision *d);

#endif
