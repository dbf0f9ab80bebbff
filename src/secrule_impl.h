/* Between secrule_conf.c (parsing) and secrule.c (running): the compiled rules. */
#ifndef PORTICO_SECRULE_IMPL_H
#define PORTICO_SECRULE_IMPL_H

#include <stddef.h>

#include "acl.h"
#include "secrule.h"

enum sr_engine { SR_ENGINE_OFF, SR_ENGINE_ON, SR_ENGINE_DETECT };

enum sr_var {
    SV_REMOTE_ADDR,
    SV_REQUEST_URI,
    SV_REQUEST_FILENAME,
    SV_REQUEST_METHOD,
    SV_QUERY_STRING,
    SV_REQUEST_HEADERS,
    SV_ARGS_GET
};

struct sr_target {
    enum sr_var var;
    char *key; /* REQUEST_HEADERS:key / ARGS_GET:key; NULL = every member */
};

enum sr_op { SO_RX, SO_STREQ, SO_BEGINS, SO_ENDS, SO_CONTAINS, SO_IPMATCH, SO_UNCONDITIONAL };

enum sr_tfn { ST_NONE, ST_SHA1, ST_MD5, ST_HEXENCODE, ST_LOWERCASE, ST_URLDECODE, ST_TRIM };

enum sr_act_kind {
    SA_SETENV,     /* name=value (macros expanded at run time) */
    SA_UNSETENV,   /* !name */
    SA_SETVAR,     /* tx.name=value */
    SA_SETVAR_ADD, /* tx.name=+value / =-value (value keeps its sign) */
    SA_UNSETVAR    /* !tx.name */
};

struct sr_action {
    enum sr_act_kind kind;
    char *name; /* setenv: env name; setvar: the TX key (without "tx.") */
    char *value;
    struct sr_action *next;
};

#define SR_DIS_UNSET 0
#define SR_DIS_PASS  1
#define SR_DIS_DENY  2

/* An action list as written (SecRule, SecAction or SecDefaultAction); -1 = not given. */
struct sr_actionset {
    int id;
    int phase;
    int disruptive; /* SR_DIS_* */
    int status;
    int log, auditlog, capture, chain;
    char *msg;
    char **tags;
    int n_tags;
    enum sr_tfn *tfns; /* ST_NONE entries kept: they reset what precedes them */
    int n_tfns;
    struct sr_action *actions, *actions_tail;
};

struct sr_rule {
    int id; /* chain starters only; 0 for follow-ups */
    int phase;
    int disruptive; /* effective (defaults merged) */
    int status;     /* 0 = the disruptive action's default */
    int log;
    int capture;
    char *msg; /* NULL when none; macros expanded when logging */
    char **tags;
    int n_tags;
    struct sr_target *targets;
    int n_targets;
    enum sr_op op;
    int negate;
    char *op_name; /* "rx", "streq", ... for messages */
    char *param;   /* operator argument as written */
    void *re;      /* SO_RX: pcre2_code * */
    struct acl_net *nets;
    int n_nets;
    enum sr_tfn *tfns; /* effective pipeline, t:none already applied */
    int n_tfns;
    struct sr_action *actions; /* defaults' then the rule's, in order */
    int chain;                 /* the chain action: the next rule is part of this one */
    struct sr_rule *chained;   /* next link, NULL when none (yet) */
    const char *file;
    int line;
    struct sr_rule *next; /* next chain starter of the scope */
};

struct secrule_conf {
    int engine; /* CONF_UNSET or enum sr_engine */
    struct sr_rule *head, *tail;
    struct sr_rule *open_chain;    /* last link of a chain still waiting for a rule */
    struct sr_actionset *defaults; /* last SecDefaultAction, NULL = ModSecurity's */
    int any_capture;               /* a rule with capture was seen (for the -t warning) */
    struct sr_idset *ids;          /* ids used in this scope */
};

#endif
