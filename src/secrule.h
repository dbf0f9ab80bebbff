/* The ModSecurity v2 subset portico implements (apache-behaviour.md section 9): enough for
 * rules that set env vars from a hashed client address, and small allow/deny rules.
 * secrule_conf.c parses SecRuleEngine/SecRule/SecAction/SecDefaultAction (anything outside
 * the subset is a file:line error naming the unsupported part); secrule.c runs phase 1
 * (ARCHITECTURE.md step 5: after the vhost is chosen, before SetEnvIf and mod_rewrite) and
 * phase 2 (request headers known, after routing; portico never buffers the request body,
 * so phase 2 sees the same variables as phase 1). */
#ifndef PORTICO_SECRULE_H
#define PORTICO_SECRULE_H

#include "conf_types.h"

struct request;
struct secrule_conf; /* private to secrule_*.c */

/* Runs the rules of the given phase (1 or 2) of r's server (the main server's rules, then
 * the vhost's, as ModSecurity merges them). Returns 0 to go on, or the HTTP status of a
 * disruptive action (deny, status:N) when the engine is On (DetectionOnly logs instead).
 * Sets env vars (setenv) and the transaction variables on r. */
int secrule_run(struct request *r, int phase);

#endif
