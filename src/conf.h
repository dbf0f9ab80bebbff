/* Loading and inspecting a configuration. */
#ifndef PORTICO_CONF_H
#define PORTICO_CONF_H

#include <stdio.h>

#include "conf_types.h"

struct conf_options {
    const char *server_root; /* -d; NULL = compiled-in default */
    const char *config_file; /* -f; relative = ServerRoot-relative */
    const char **defines;    /* -D NAME (NULL-terminated or NULL) */
    const char **pre;        /* -C "directive", processed before the file */
    const char **post;       /* -c "directive", processed after the file */
};

/* Parses and checks a whole configuration: lexing, sections, Include, IfModule, IfDefine,
 * Define/${}, every directive handler, then the merge and cross-object checks (vhost
 * defaults, spare-server clamping, User/Group lookup, ...). It opens no socket and no log.
 * On success returns the config (caller owns it: conf_free). On failure returns NULL and
 * writes every error, one "file:line: Directive: what is wrong" per line, into errbuf
 * (truncated to errlen, always NUL-terminated). Warnings end up in conf->warnings. */
struct conf *conf_load(const struct conf_options *opt, char *errbuf, size_t errlen);

/* The Server header / SERVER_SOFTWARE value for c's ServerTokens ("portico", "portico/0",
 * "portico/0.1.0"); core_conf.c. */
const char *conf_server_token(const struct conf *c);

void conf_free(struct conf *c);

/* `portico -S`: listeners, virtual hosts (default first per address), ServerRoot, PidFile,
 * User/Group, MPM limits. Later subsystems add routes and balancers here. */
void conf_dump(const struct conf *c, FILE *out);

/* `portico -M`: "Loaded Modules:" then " name_module (static)" lines. */
void conf_dump_modules(FILE *out);

/* Level for a module in a server's LogLevel (falls back to the main server's). */
int conf_log_level(const struct conf_server *s, enum module_id m);

#endif
