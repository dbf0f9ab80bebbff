/* mod_rewrite in server and virtual-host context (ARCHITECTURE.md step 6): the parsed rules
 * (rewrite_conf.c) and the engine that runs them for a request (rewrite.c, with the server
 * variables in rewrite_vars.c and the maps in rewrite_map*.c). Semantics are httpd 2.4's:
 * apache-behaviour.md section 6 and docs/manual/mod/mod_rewrite.xml, rewrite/flags.xml.
 * Per-directory rules (<Directory>, .htaccess) are not supported: a config error. */
#ifndef PORTICO_REWRITE_H
#define PORTICO_REWRITE_H

#include "conf_types.h"

struct arena;
struct request;
struct headers_expr;
struct conf_cmd;

/* ---- RewriteRule flags (bits of rewrite_rule.flags) ---- */
#define RWF_B             0x00000001u /* B / B=chars: escape backreferences */
#define RWF_BNP           0x00000002u /* BNP: space -> %20 instead of + */
#define RWF_BCTLS         0x00000004u /* BCTLS: escape only controls and space */
#define RWF_CHAIN         0x00000008u /* C */
#define RWF_DPI           0x00000010u /* DPI (accepted; no PATH_INFO in server context) */
#define RWF_END           0x00000020u /* END */
#define RWF_FORBIDDEN     0x00000040u /* F */
#define RWF_GONE          0x00000080u /* G */
#define RWF_LAST          0x00000100u /* L */
#define RWF_NEXT          0x00000200u /* N[=max] */
#define RWF_NOCASE        0x00000400u /* NC */
#define RWF_NOESCAPE      0x00000800u /* NE */
#define RWF_NOSUBREQ      0x00001000u /* NS (portico makes no subrequests: always runs) */
#define RWF_PROXY         0x00002000u /* P */
#define RWF_PASSTHROUGH   0x00004000u /* PT */
#define RWF_QSAPPEND      0x00008000u /* QSA */
#define RWF_QSDISCARD     0x00010000u /* QSD */
#define RWF_QSLAST        0x00020000u /* QSL */
#define RWF_REDIRECT      0x00040000u /* R[=code] */
#define RWF_UNSAFE_3F     0x00080000u /* UnsafeAllow3F */
#define RWF_UNSAFE_PREFIX 0x00100000u /* UnsafePrefixStat */
#define RWF_UNC           0x00200000u /* UNC */
#define RWF_STATUS_ONLY   0x00400000u /* R=4xx/5xx: answer redirect_status, no substitution */

/* ---- RewriteCond ---- */
enum rewrite_cond_op {
    RWC_REGEX,       /* default */
    RWC_STR_LT,      /* <str */
    RWC_STR_LE,      /* <=str */
    RWC_STR_EQ,      /* =str */
    RWC_STR_GT,      /* >str */
    RWC_STR_GE,      /* >=str */
    RWC_INT_EQ,      /* -eq */
    RWC_INT_NE,      /* -ne */
    RWC_INT_LT,      /* -lt */
    RWC_INT_LE,      /* -le */
    RWC_INT_GT,      /* -gt */
    RWC_INT_GE,      /* -ge */
    RWC_FILE_DIR,    /* -d */
    RWC_FILE_REG,    /* -f */
    RWC_FILE_SIZE,   /* -s */
    RWC_FILE_LINK,   /* -l, -L, -h */
    RWC_FILE_EXEC,   /* -x */
    RWC_FILE_SUBREQ, /* -F: answered as -f (no subrequests), warned at load */
    RWC_URL_SUBREQ,  /* -U: answered as false, warned at load */
    RWC_EXPR         /* TestString "expr": pattern is an ap_expr */
};

#define RWCF_NOCASE 0x1u /* NC */
#define RWCF_ORNEXT 0x2u /* OR */
#define RWCF_NOVARY 0x4u /* NV */

struct rewrite_cond {
    char *test;    /* TestString as written (expanded per request) */
    char *pattern; /* CondPattern without its leading '!' and operator (regex source, the
                    * string to compare, the integer text, or the expression) */
    enum rewrite_cond_op op;
    int negate;                /* leading '!' */
    unsigned flags;            /* RWCF_* */
    void *regex;               /* pcre2_code * (RWC_REGEX), JIT-compiled at load */
    struct headers_expr *expr; /* RWC_EXPR (headers.h's ap_expr subset) */
    long long number;          /* RWC_INT_*: the pattern as httpd's atoi reads it */
    const char *file;
    int line;
    struct rewrite_cond *next;
};

/* E=VAR:VAL, E=VAR (value ""), E=!VAR (unset). name and value are expanded per request. */
struct rewrite_env_action {
    char *name;
    char *value; /* NULL for E=!VAR */
    struct rewrite_env_action *next;
};

/* CO=...: the flag text after "CO=" (expanded per request, then split on ':' or, when it
 * starts with ';', on ';'). */
struct rewrite_cookie {
    char *spec;
    struct rewrite_cookie *next;
};

struct rewrite_rule {
    char *pattern;       /* regex source without the leading '!' */
    void *regex;         /* pcre2_code *, JIT-compiled at load (NC -> caseless) */
    int negate;          /* "!pattern" */
    char *subst;         /* substitution as written; NULL for "-" */
    unsigned flags;      /* RWF_* */
    int redirect_status; /* R=: 302 by default; with RWF_STATUS_ONLY a 4xx/5xx */
    int skip;            /* S=n, 0 = none */
    int max_rounds;      /* N=max; default 32000 (httpd's code, not its manual's 10000) */
    char *type;          /* T=, lower case, NULL = none */
    char *handler;       /* H=, lower case, NULL = none */
    char *b_chars;       /* B=chars: only these are escaped; NULL = httpd's default set */
    char *bne_chars;     /* BNE=chars: never escaped */
    struct rewrite_env_action *env; /* E= in flag order */
    struct rewrite_cookie *cookies; /* CO= in flag order */
    struct rewrite_cond *conds;     /* the RewriteConds written before this rule */
    const char *file;
    int line;
    struct rewrite_rule *next;
};

/* ---- RewriteMap (rewrite_map.c owns the type-specific parts) ---- */
enum rewrite_map_type { RWM_TXT, RWM_RND, RWM_DBM, RWM_INT, RWM_PRG, RWM_DBD, RWM_FASTDBD };

struct rewrite_map {
    char *name;
    enum rewrite_map_type type;
    char *source;   /* txt/rnd/dbm: absolute path; int: function name; prg: command line;
                     * dbd/fastdbd: the SQL statement */
    char *arg;      /* optional third argument (prg: user:group), NULL = none */
    unsigned index; /* conf-wide number (per-process caches are arrays) */
    void *priv;     /* type-specific state built at load (rewrite_map*.c) */
    const struct conf_server *server; /* where it was defined (dbd: that server's DBD*) */
    const char *file;
    int line;
    struct rewrite_map *next;        /* this server's own maps, config order */
    struct rewrite_map *next_global; /* conf-wide list (conf->rewrite_maps) */
};

/* ---- RewriteOptions bits ---- */
#define RWO_INHERIT               0x001u
#define RWO_INHERIT_BEFORE        0x002u
#define RWO_INHERIT_DOWN          0x004u
#define RWO_INHERIT_DOWN_BEFORE   0x008u
#define RWO_IGNORE_INHERIT        0x010u
#define RWO_ALLOW_NO_SLASH        0x020u /* per-dir only: accepted, no effect in server context */
#define RWO_ALLOW_ANY_URI         0x040u
#define RWO_MERGE_BASE            0x080u /* per-dir only: accepted, no effect */
#define RWO_LONG_URL_OPT          0x100u /* LongURLOptimization */
#define RWO_IGNORE_CONTEXT_INFO   0x200u
#define RWO_LEGACY_PREFIX_DOCROOT 0x400u
#define RWO_UNSAFE_PREFIX_STAT    0x800u

/* Per server (main or vhost). */
struct rewrite_conf {
    int engine;                   /* RewriteEngine: CONF_UNSET, 0, 1 (a vhost without one takes the
                                   * main server's state, as httpd merges it) */
    unsigned options;             /* RWO_* */
    struct rewrite_rule *rules;   /* this scope's own rules, config order */
    struct rewrite_map *maps;     /* this scope's own maps */
    struct rewrite_cond *pending; /* RewriteConds still waiting for their rule (parse time;
                                   * left over at the end = a warning, as httpd ignores them) */
    /* Filled by conf_finish_rewrite(): what runs for a request to this server, after the
     * Inherit/InheritBefore/InheritDown merges with the main server. */
    int eff_engine;
    struct rewrite_rule **eff_rules; /* array of n_eff_rules pointers */
    int n_eff_rules;
    struct rewrite_map **eff_maps; /* maps visible in this server */
    int n_eff_maps;
};

/* ---- the engine ---- */
enum rewrite_outcome {
    RW_DECLINED,    /* no rule changed anything: ProxyPass and the rest decide */
    RW_LOCAL,       /* new URL-path to serve locally (uri, query) */
    RW_PASSTHROUGH, /* [PT]: new URL-path handed to ProxyPass and the rest (uri, query) */
    RW_PROXY,       /* [P]: proxy to url */
    RW_REDIRECT,    /* external redirect: status (3xx) and url (the absolute Location) */
    RW_STATUS       /* answer status (403 F, 410 G, R=4xx/5xx, 500 loop/overflow, 400) */
};

struct rewrite_result {
    enum rewrite_outcome outcome;
    int status;          /* RW_REDIRECT, RW_STATUS */
    char *uri;           /* RW_LOCAL, RW_PASSTHROUGH: the new decoded URL-path */
    char *query;         /* RW_LOCAL, RW_PASSTHROUGH: the new query (NULL = none) */
    char *url;           /* RW_PROXY: full backend URL with query; RW_REDIRECT: Location */
    int nocanon;         /* RW_PROXY with [NE]: send the URL as is */
    const char *type;    /* T= of the deciding rules, NULL = none */
    const char *handler; /* H=, NULL = none */
    char **set_cookies;  /* CO=: Set-Cookie values; httpd puts them in err_headers_out,
                          * so they go out on every response, errors and redirects too */
    int n_set_cookies;
    char *vary;      /* header names matched conditions looked at ("Accept, User-Agent"), for a
                      * Vary response header; NULL = none */
    const char *why; /* for debug logs and dry runs: "RewriteRule ^/a at f:3" */
};

/* Runs the server-context rules of srv (its effective list) for r; path is the decoded
 * URL-path (httpd's r->uri). Sets request env vars (E=, SCRIPT_URL, SCRIPT_URI) on r and
 * writes `LogLevel rewrite:traceN` lines. No socket I/O (map lookups may read a file or
 * talk to a prg/dbd map). Returns 0; the outcome is in *res (RW_DECLINED when the engine is
 * off or no rule applied). */
int rewrite_translate(const struct conf *conf, const struct conf_server *srv, struct request *r,
                      const char *path, struct rewrite_result *res);

/* Parses one rule or condition outside a config file (for unit tests and tools): the
 * arguments as RewriteRule / RewriteCond would get them (flags may be NULL). Returns NULL
 * or an error message (in a static buffer or the arena). */
const char *rewrite_rule_compile(struct arena *a, const char *pattern, const char *subst,
                                 const char *flags, struct rewrite_rule **out);
const char *rewrite_cond_compile(struct arena *a, const char *test, const char *pattern,
                                 const char *flags, struct rewrite_cond **out);

/* Post-parse pass (conf_load): effective rule and map lists per server, leftover
 * RewriteCond warnings, map name checks in substitutions. */
void conf_finish_rewrite(struct conf_cmd *cmd);

/* The value of a server variable as %{NAME} gives it in a RewriteCond (rewrite_vars.c):
 * HTTP_*, REMOTE_*, REQUEST_*, SERVER_*, TIME*, HTTPS, ENV:x, HTTP:x, SSL:x, ...; "" for
 * unknown names, never NULL (unless out of memory). REQUEST_URI is r->uri; the engine
 * answers REQUEST_FILENAME itself (the current result of the rules) before calling this.
 * hdr_used, when not NULL, receives the request header name the lookup read (for Vary),
 * or NULL. */
const char *rewrite_var(struct request *r, const char *name, size_t len, const char **hdr_used);

#endif
