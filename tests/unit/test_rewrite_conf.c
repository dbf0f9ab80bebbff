/* Unit tests of the mod_rewrite configuration side (rewrite_conf.c): every RewriteRule flag
 * by its short and long names, every CondPattern form, httpd's error messages with
 * file:line, the directive contexts, and the Inherit family of merges into <VirtualHost>s. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "arena.h"
#include "conf.h"
#include "rewrite.h"
#include "tap.h"
#include "testconf.h"

static char errbuf[8192];
static struct conf *cur;
static struct arena *ta;

static struct conf *load(const char *text)
{
    conf_free(cur);
    cur = testconf_load("test_rewrite_conf", "Listen 80\n", text, errbuf, sizeof(errbuf));
    return cur;
}

/* The first error without the "/tmp/dir/" prefix: "portico.conf:2: ...". */
static const char *load_err(const char *text)
{
    static char out[1024];
    if (load(text) != NULL)
        return "(loaded)";
    const char *s = errbuf;
    size_t rl = strlen(testconf_root);
    if (strncmp(s, testconf_root, rl) == 0 && s[rl] == '/')
        s += rl + 1;
    size_t n = strcspn(s, "\n");
    if (n >= sizeof(out))
        n = sizeof(out) - 1;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

static int has_warning(const char *needle)
{
    for (const struct conf_msg *m = cur ? cur->warnings : NULL; m != NULL; m = m->next)
        if (strstr(m->text, needle) != NULL)
            return 1;
    return 0;
}

static int re_match(void *re, const char *s)
{
    pcre2_match_data *md = pcre2_match_data_create(10, NULL);
    int rc = pcre2_match(re, (PCRE2_SPTR)s, PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
    pcre2_match_data_free(md);
    return rc >= 0;
}

/* ---- httpd's parseargline: RewriteRule/RewriteCond split their own raw line ---- */

static struct rewrite_rule *first_rule(void)
{
    return cur && cur->main->rewrite ? cur->main->rewrite->rules : NULL;
}

static void test_argline(void)
{
    /* the core tokenizer would make "\\" one backslash; httpd's regex keeps both */
    load("RewriteEngine on\nRewriteRule ^(.*)\\\\(.*)$ $1/$2\n");
    struct rewrite_rule *r = first_rule();
    is_str(r ? r->pattern : "(none)", "^(.*)\\\\(.*)$", "\\\\ reaches the regex unchanged");
    ok(r && re_match(r->regex, "/a\\b") && !re_match(r->regex, "/ab"),
       "and matches one literal backslash");
    is_str(r && r->subst ? r->subst : "(none)", "$1/$2", "substitution");

    load("RewriteEngine on\nRewriteCond %{HTTP_USER_AGENT} ^Mozilla\\ 5\nRewriteRule ^ -\n");
    struct rewrite_cond *c = first_rule() ? first_rule()->conds : NULL;
    is_str(c ? c->test : "(none)", "%{HTTP_USER_AGENT}", "cond test string");
    is_str(c ? c->pattern : "(none)", "^Mozilla\\ 5",
           "backslash-blank: one argument, backslash kept");
    ok(c && c->regex && re_match(c->regex, "Mozilla 5.0") && !re_match(c->regex, "Mozilla/5"),
       "and the regex matches the blank");

    static const struct {
        const char *line, *pattern, *subst, *flags_note;
        unsigned flag;
    } ok_lines[] = {
        {"RewriteRule '^/a b' /c [L]", "^/a b", "/c", "single quotes", RWF_LAST},
        {"RewriteRule ^/a\\ b /c \"[L,R]\"", "^/a\\ b", "/c", "quoted flags", RWF_LAST},
        {"RewriteRule\t^/t\t\t/u\t[NC]", "^/t", "/u", "tabs separate", RWF_NOCASE},
        {"RewriteRule \"^/a\"", "^/a", "", "quoted pattern alone: empty substitution", 0},
        {"RewriteRule ^/a \"/b c", "^/a", "/b c", "unclosed quote runs to the end", 0},
        {"RewriteRule ^/q \"/r\\\" [L]", "^/q", "/r\\", "no escapes inside quotes", RWF_LAST},
        {"RewriteRule ^/a\\\\x /b", "^/a\\\\x", "/b", "backslashes not before a blank stay", 0},
        {"RewriteRule ^/e /f [L] extra words", "^/e", "/f", "text after the flags ignored",
         RWF_LAST},
    };
    for (size_t i = 0; i < sizeof(ok_lines) / sizeof(ok_lines[0]); i++) {
        char text[256];
        snprintf(text, sizeof(text), "RewriteEngine on\n%s\n", ok_lines[i].line);
        load(text);
        r = first_rule();
        ok(r && strcmp(r->pattern, ok_lines[i].pattern) == 0 &&
               strcmp(r->subst ? r->subst : "-", ok_lines[i].subst) == 0 &&
               (r->flags & ok_lines[i].flag) == ok_lines[i].flag,
           "%s: [%s] -> pattern '%s' subst '%s'%s%s", ok_lines[i].flags_note, ok_lines[i].line,
           r ? r->pattern : "", r && r->subst ? r->subst : "", cur ? "" : " ", cur ? "" : errbuf);
    }
    ok(has_warning("ignoring text after the flags: 'extra words'"), "and warned");

    load("Define PAT ^/v\nRewriteEngine on\nRewriteRule ${PAT}\\\\(.*) /w$1\n");
    is_str(first_rule() ? first_rule()->pattern : "(none)", "^/v\\\\(.*)",
           "${VAR} is expanded in the raw line, backslashes kept");

    static const struct {
        const char *conf, *want;
    } errs[] = {
        {"RewriteRule\n", "portico.conf:2: RewriteRule: bad argument line ''"},
        {"RewriteCond\n", "portico.conf:2: RewriteCond: bad argument line ''"},
        {"RewriteRule ^/a   \n", "portico.conf:2: RewriteRule: bad argument line '^/a'"},
        {"RewriteRule \"^/a b\n", "portico.conf:2: RewriteRule: bad argument line '\"^/a b'"},
        {"RewriteRule ^/a\\\\ /c\n", "portico.conf:2: RewriteRule: bad argument line '^/a\\\\ /c'"},
        {"RewriteCond %{X}\\ ^a\n", "portico.conf:2: RewriteCond: bad argument line '%{X}\\ ^a'"},
        {"RewriteRule \"^/a\"/b /c\n", "portico.conf:2: RewriteRule: bad flag delimiters"},
        {"RewriteCond %{X} ^a [NC\n", "portico.conf:2: RewriteCond: bad flag delimiters"},
    };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        is_str(load_err(errs[i].conf), errs[i].want, "argline error #%zu", i);
}

/* ---- httpd's RegexDefaultOptions (DOTALL DOLLAR_ENDONLY) on every configured regex ---- */

static void test_regex_defaults(void)
{
    load("RewriteEngine on\nRewriteCond %{X} ^a.b$ [NC]\nRewriteRule ^/a.b$ /c\n"
         "<LocationMatch \"^/l.m$\">\n</LocationMatch>\n");
    struct rewrite_rule *r = first_rule();
    ok(r && re_match(r->regex, "/a\nb"), "RewriteRule: '.' matches a newline (DOTALL)");
    ok(r && !re_match(r->regex, "/axb\n"), "RewriteRule: '$' is the very end (DOLLAR_ENDONLY)");
    struct rewrite_cond *c = r ? r->conds : NULL;
    ok(c && re_match(c->regex, "A\nB") && !re_match(c->regex, "axb\n"),
       "RewriteCond [NC] keeps the defaults");
    const struct conf_dir *d = cur ? cur->main->dirs : NULL;
    while (d != NULL && d->regex == NULL)
        d = d->next;
    ok(d && re_match(d->regex, "/l\nm") && !re_match(d->regex, "/lxm\n"),
       "<LocationMatch> compiled with the same defaults");
}

/* ---- RewriteRule flags ---- */

static void test_rule_flags(void)
{
    static const struct {
        const char *flags;
        unsigned want; /* exact flag bits */
    } t[] = {
        {"[B]", RWF_B},
        {"[backrefescaping]", RWF_B},
        {"[BNP]", RWF_BNP},
        {"[backrefnoplus]", RWF_BNP},
        {"[backrefernoplus]", RWF_BNP},
        {"[BCTLS]", RWF_BCTLS | RWF_B},
        {"[C]", RWF_CHAIN},
        {"[chain]", RWF_CHAIN},
        {"[DPI]", RWF_DPI},
        {"[discardpath]", RWF_DPI},
        {"[END]", RWF_END},
        {"[F]", RWF_FORBIDDEN},
        {"[forbidden]", RWF_FORBIDDEN},
        {"[G]", RWF_GONE},
        {"[gone]", RWF_GONE},
        {"[L]", RWF_LAST},
        {"[last]", RWF_LAST},
        {"[N]", RWF_NEXT},
        {"[next]", RWF_NEXT},
        {"[NC]", RWF_NOCASE},
        {"[nocase]", RWF_NOCASE},
        {"[NE]", RWF_NOESCAPE},
        {"[noescape]", RWF_NOESCAPE},
        {"[NS]", RWF_NOSUBREQ},
        {"[nosubreq]", RWF_NOSUBREQ},
        {"[P]", RWF_PROXY},
        {"[proxy]", RWF_PROXY},
        {"[PT]", RWF_PASSTHROUGH},
        {"[passthrough]", RWF_PASSTHROUGH},
        {"[QSA]", RWF_QSAPPEND},
        {"[qsappend]", RWF_QSAPPEND},
        {"[QSD]", RWF_QSDISCARD},
        {"[qsdiscard]", RWF_QSDISCARD},
        {"[QSL]", RWF_QSLAST},
        {"[qslast]", RWF_QSLAST},
        {"[R]", RWF_REDIRECT},
        {"[redirect]", RWF_REDIRECT},
        {"[UnsafeAllow3F]", RWF_UNSAFE_3F},
        {"[UnsafePrefixStat]", RWF_UNSAFE_PREFIX},
        {"[UNC]", RWF_UNC},
        {"[unc]", RWF_UNC},
        {"[l,r]", RWF_LAST | RWF_REDIRECT},
        {"[ L , R=301 , NC ]", RWF_LAST | RWF_REDIRECT | RWF_NOCASE},
        {"[proxy,last]", RWF_PROXY | RWF_LAST},
        {"[Last=ignored]", RWF_LAST},
        {"[R=403]", RWF_REDIRECT | RWF_STATUS_ONLY},
        {"[R=410,L]", RWF_REDIRECT | RWF_STATUS_ONLY | RWF_LAST},
        {"[QSA,QSD,QSL]", RWF_QSAPPEND | RWF_QSDISCARD | RWF_QSLAST},
        {"[S=2]", 0},
        {"[T=text/plain]", 0},
        {"[E=X:1]", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rewrite_rule *r = NULL;
        const char *err = rewrite_rule_compile(ta, "^/a", "/b", t[i].flags, &r);
        is_str(err, NULL, "rule flags %s compile", t[i].flags);
        is_int(r ? r->flags : 0xffffffffu, t[i].want, "rule flags %s bits", t[i].flags);
    }
}

static void test_rule_values(void)
{
    struct rewrite_rule *r;
    static const struct {
        const char *flags;
        int status;
        int status_only;
    } codes[] = {
        {"[R]", 302, 0},           {"[R=permanent]", 301, 0}, {"[R=Temp]", 302, 0},
        {"[R=seeother]", 303, 0},  {"[R=301]", 301, 0},       {"[redirect=307]", 307, 0},
        {"[R=308]", 308, 0},       {"[R=300]", 300, 0},       {"[R=403]", 403, 1},
        {"[R=410]", 410, 1},       {"[R=500]", 500, 1},       {"[R=503]", 503, 1},
        {"[R=200]", 200, 1},       {"[R=226]", 226, 1},       {"[R=103]", 103, 1},
        {"[R=403,R=301]", 301, 0},
    };
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
        r = NULL;
        is_str(rewrite_rule_compile(ta, "^/a", "/b", codes[i].flags, &r), NULL, "%s compiles",
               codes[i].flags);
        is_int(r ? r->redirect_status : -1, codes[i].status, "%s status", codes[i].flags);
        is_int(r ? !!(r->flags & RWF_STATUS_ONLY) : -1, codes[i].status_only, "%s status-only",
               codes[i].flags);
    }

    r = NULL;
    rewrite_rule_compile(ta, "^/a", "/b", NULL, &r);
    ok(r != NULL && r->max_rounds == 32000 && r->skip == 0 && r->redirect_status == 302 &&
           r->type == NULL && r->handler == NULL && r->env == NULL && r->cookies == NULL,
       "defaults: N=32000, no skip, 302, no T/H/E/CO");
    rewrite_rule_compile(ta, "^/a", "/b", "[N=5]", &r);
    is_int(r->max_rounds, 5, "N=5 sets max rounds");
    ok(r->flags & RWF_NEXT, "N=5 sets next");
    rewrite_rule_compile(ta, "^/a", "/b", "[next=7]", &r);
    is_int(r->max_rounds, 7, "next=7");
    rewrite_rule_compile(ta, "^/a", "/b", "[S=3]", &r);
    is_int(r->skip, 3, "S=3");
    rewrite_rule_compile(ta, "^/a", "/b", "[skip=1]", &r);
    is_int(r->skip, 1, "skip=1");
    rewrite_rule_compile(ta, "^/a", "/b", "[T=Text/HTML]", &r);
    is_str(r->type, "text/html", "T= lower-cased");
    rewrite_rule_compile(ta, "^/a", "/b", "[type=image/PNG]", &r);
    is_str(r->type, "image/png", "type= lower-cased");
    rewrite_rule_compile(ta, "^/a", "/b", "[T=%{ENV:Kind}]", &r);
    is_str(r->type, "%{ENV:Kind}", "T= with a variable kept as written");
    rewrite_rule_compile(ta, "^/a", "/b", "[T=]", &r);
    is_str(r->type, NULL, "empty T= is none");
    rewrite_rule_compile(ta, "^/a", "-", "[H=Server-Status]", &r);
    is_str(r->handler, "server-status", "H= lower-cased");
    rewrite_rule_compile(ta, "^/a", "-", "[handler=proxy-server]", &r);
    is_str(r->handler, "proxy-server", "handler=");
    rewrite_rule_compile(ta, "^/a", "/b", "[B=?&]", &r);
    is_str(r->b_chars, "?&", "B=chars");
    ok(r->flags & RWF_B, "B=chars sets B");
    rewrite_rule_compile(ta, "^/a", "/b", "[B]", &r);
    is_str(r->b_chars, NULL, "plain B keeps the default set");
    rewrite_rule_compile(ta, "^/a", "/b", "[B,BNE=/]", &r);
    is_str(r->bne_chars, "/", "BNE=chars");

    rewrite_rule_compile(ta, "^/a", "/b", "[E=FOO:bar,env=BAZ,E=!QUX,E=%{ENV:a}:x:y]", &r);
    struct rewrite_env_action *e = r->env;
    ok(e && strcmp(e->name, "FOO") == 0 && e->value && strcmp(e->value, "bar") == 0, "E=FOO:bar");
    e = e ? e->next : NULL;
    ok(e && strcmp(e->name, "BAZ") == 0 && e->value && e->value[0] == '\0', "env=BAZ -> empty");
    e = e ? e->next : NULL;
    ok(e && strcmp(e->name, "QUX") == 0 && e->value == NULL, "E=!QUX unsets");
    e = e ? e->next : NULL;
    ok(e && strcmp(e->name, "%{ENV:a}") == 0 && strcmp(e->value, "x:y") == 0,
       "E= splits at the first ':' outside %%{...}");
    ok(e && e->next == NULL, "four env actions in flag order");

    rewrite_rule_compile(ta, "^/a", "/b", "[CO=a:1:.example.com,cookie=;b;2;example.org;60]", &r);
    ok(r->cookies && strcmp(r->cookies->spec, "a:1:.example.com") == 0, "CO= kept as text");
    ok(r->cookies && r->cookies->next && strcmp(r->cookies->next->spec, ";b;2;example.org;60") == 0,
       "cookie= second, ';' form");

    rewrite_rule_compile(ta, "!^/a", "-", NULL, &r);
    ok(r->negate && strcmp(r->pattern, "^/a") == 0, "! negates, pattern without it");
    is_str(r->subst, NULL, "- substitution is NULL");
    rewrite_rule_compile(ta, "^/a", "http://x/$1?q", NULL, &r);
    is_str(r->subst, "http://x/$1?q", "substitution kept as written");
    rewrite_rule_compile(ta, "^/a", "--", NULL, &r);
    is_str(r->subst, "--", "only a lone - means no substitution");

    rewrite_rule_compile(ta, "^/Abc$", "/b", NULL, &r);
    ok(re_match(r->regex, "/Abc") && !re_match(r->regex, "/abc"), "case-sensitive by default");
    rewrite_rule_compile(ta, "^/Abc$", "/b", "[NC]", &r);
    ok(re_match(r->regex, "/abc") && re_match(r->regex, "/ABC"), "NC compiles caseless");
    rewrite_rule_compile(ta, "^/a$", "/b", NULL, &r);
    ok(!re_match(r->regex, "/a\n"), "$ does not match before a final newline (DOLLAR_ENDONLY)");
    rewrite_rule_compile(ta, "^/a.b$", "/b", NULL, &r);
    ok(re_match(r->regex, "/a\nb"), ". matches a newline (DOTALL)");
}

static void test_rule_errors(void)
{
    static const struct {
        const char *pattern, *flags, *want;
    } t[] = {
        {"^/a", "L", "bad flag delimiters"},
        {"^/a", "[L", "bad flag delimiters"},
        {"^/a", "L]", "bad flag delimiters"},
        {"^/a", "[", "bad flag delimiters"},
        {"^/a", "[]", "unknown flag ''"},
        {"^/a", "[L,,R]", "unknown flag ''"},
        {"^/a", "[X]", "unknown flag 'X'"},
        {"^/a", "[L,Frob=1]", "unknown flag 'Frob'"},
        {"^/a", "[Dxx]", "unknown flag 'Dxx'"},
        {"^/a", "[QS]", "unknown flag 'QS'"},
        {"^/a", "[R=418]", "invalid HTTP response code '418' for flag 'R'"},
        {"^/a", "[R=306]", "invalid HTTP response code '306' for flag 'R'"},
        {"^/a", "[R=425]", "invalid HTTP response code '425' for flag 'R'"},
        {"^/a", "[R=600]", "invalid HTTP response code '600' for flag 'R'"},
        {"^/a", "[R=99]", "invalid HTTP response code '99' for flag 'R'"},
        {"^/a", "[R=abc]", "invalid HTTP response code 'abc' for flag 'R'"},
        {"^/a", "[BNE]", "flag 'BNE' wants a list of characters (i.e. [BNE=...])"},
        {"^/a", "[N=0]", "flag 'N' wants a whole number from 1, not '0'"},
        {"^/a", "[N=x]", "flag 'N' wants a whole number from 1, not 'x'"},
        {"^/a", "[S=-1]", "flag 'S' wants a whole number from 0, not '-1'"},
        {"^/a", "[S]", "flag 'S' wants the number of rules to skip (S=n)"},
        {"^/a", "[E]", "flag 'E' wants a variable (E=VAR:VALUE, E=VAR or E=!VAR)"},
        {"^/a(", NULL,
         "cannot compile regular expression '^/a(': missing closing parenthesis at offset 4"},
        {"!(", NULL,
         "cannot compile regular expression '(': missing closing parenthesis at offset 1"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rewrite_rule *r = (void *)1;
        const char *err = rewrite_rule_compile(ta, t[i].pattern, "/b", t[i].flags, &r);
        is_str(err, t[i].want, "rule %s %s -> error", t[i].pattern, t[i].flags ? t[i].flags : "");
    }
    struct rewrite_rule *r = NULL;
    ok(rewrite_rule_compile(ta, "^/a", "/b", "[CO]", &r) != NULL, "CO without a value refused");
}

/* ---- RewriteCond ---- */

static void test_cond_forms(void)
{
    static const struct {
        const char *test, *pattern, *flags;
        enum rewrite_cond_op op;
        int negate;
        unsigned cflags;
        const char *stored;
        long long number;
    } t[] = {
        {"%{HTTP_HOST}", "^www\\.", NULL, RWC_REGEX, 0, 0, "^www\\.", 0},
        {"%{HTTP_HOST}", "!^www\\.", NULL, RWC_REGEX, 1, 0, "^www\\.", 0},
        {"%{HTTP_HOST}", "^www", "[NC]", RWC_REGEX, 0, RWCF_NOCASE, "^www", 0},
        {"%{HTTP_HOST}", "^www", "[nocase,OR]", RWC_REGEX, 0, RWCF_NOCASE | RWCF_ORNEXT, "^www", 0},
        {"%{HTTP_HOST}", "^www", "[ornext]", RWC_REGEX, 0, RWCF_ORNEXT, "^www", 0},
        {"%{HTTP_HOST}", "^www", "[NV]", RWC_REGEX, 0, RWCF_NOVARY, "^www", 0},
        {"%{HTTP_HOST}", "^www", "[novary, or ,nc]", RWC_REGEX, 0,
         RWCF_NOVARY | RWCF_ORNEXT | RWCF_NOCASE, "^www", 0},
        {"%{X}", "<abc", NULL, RWC_STR_LT, 0, 0, "abc", 0},
        {"%{X}", "<=abc", NULL, RWC_STR_LE, 0, 0, "abc", 0},
        {"%{X}", "=abc", NULL, RWC_STR_EQ, 0, 0, "abc", 0},
        {"%{X}", "=\"\"", NULL, RWC_STR_EQ, 0, 0, "", 0},
        {"%{X}", "!=\"\"", NULL, RWC_STR_EQ, 1, 0, "", 0},
        {"%{X}", "=a\"\"", NULL, RWC_STR_EQ, 0, 0, "a\"\"", 0},
        {"%{X}", ">abc", NULL, RWC_STR_GT, 0, 0, "abc", 0},
        {"%{X}", ">=abc", "[NC]", RWC_STR_GE, 0, RWCF_NOCASE, "abc", 0},
        {"%{X}", "!>0700", NULL, RWC_STR_GT, 1, 0, "0700", 0},
        {"%{X}", "=", NULL, RWC_REGEX, 0, 0, "=", 0},
        {"%{X}", "<", NULL, RWC_REGEX, 0, 0, "<", 0},
        {"%{X}", "-eq5", NULL, RWC_INT_EQ, 0, 0, "5", 5},
        {"%{X}", "-ne 7", NULL, RWC_INT_NE, 0, 0, " 7", 7},
        {"%{X}", "-lt-3", NULL, RWC_INT_LT, 0, 0, "-3", -3},
        {"%{X}", "-le12abc", NULL, RWC_INT_LE, 0, 0, "12abc", 12},
        {"%{X}", "-gtabc", NULL, RWC_INT_GT, 0, 0, "abc", 0},
        {"%{X}", "!-ge10", NULL, RWC_INT_GE, 1, 0, "10", 10},
        {"%{X}", "-eq", NULL, RWC_REGEX, 0, 0, "-eq", 0},
        {"%{X}", "-d", NULL, RWC_FILE_DIR, 0, 0, "-d", 0},
        {"%{X}", "!-f", NULL, RWC_FILE_REG, 1, 0, "-f", 0},
        {"%{X}", "-s", NULL, RWC_FILE_SIZE, 0, 0, "-s", 0},
        {"%{X}", "-l", NULL, RWC_FILE_LINK, 0, 0, "-l", 0},
        {"%{X}", "-L", NULL, RWC_FILE_LINK, 0, 0, "-L", 0},
        {"%{X}", "-h", NULL, RWC_FILE_LINK, 0, 0, "-h", 0},
        {"%{X}", "-x", NULL, RWC_FILE_EXEC, 0, 0, "-x", 0},
        {"%{X}", "-F", NULL, RWC_FILE_SUBREQ, 0, 0, "-F", 0},
        {"%{X}", "-U", NULL, RWC_URL_SUBREQ, 0, 0, "-U", 0},
        {"%{X}", "-d", "[NC]", RWC_FILE_DIR, 0, 0, "-d", 0}, /* NC dropped */
        {"%{X}", "-eq1", "[NC,OR]", RWC_INT_EQ, 0, RWCF_ORNEXT, "1", 1},
        {"%{X}", "-q", NULL, RWC_REGEX, 0, 0, "-q", 0},
        {"expr", "%{REMOTE_ADDR} -ipmatch '10.0.0.0/8'", NULL, RWC_EXPR, 0, 0,
         "%{REMOTE_ADDR} -ipmatch '10.0.0.0/8'", 0},
        {"EXPR", "!%{REQUEST_URI} == '/x'", NULL, RWC_EXPR, 1, 0, "%{REQUEST_URI} == '/x'", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct rewrite_cond *c = NULL;
        const char *err = rewrite_cond_compile(ta, t[i].test, t[i].pattern, t[i].flags, &c);
        is_str(err, NULL, "cond %s %s compiles", t[i].test, t[i].pattern);
        if (c == NULL)
            continue;
        ok(c->op == t[i].op && c->negate == t[i].negate && c->flags == t[i].cflags &&
               strcmp(c->pattern, t[i].stored) == 0 && c->number == t[i].number &&
               strcmp(c->test, t[i].test) == 0,
           "cond %s %s: op %d negate %d flags %u pattern '%s' number %lld", t[i].test, t[i].pattern,
           (int)c->op, c->negate, c->flags, c->pattern, c->number);
        ok((c->op == RWC_REGEX) == (c->regex != NULL) && (c->op == RWC_EXPR) == (c->expr != NULL),
           "cond %s: regex/expr compiled only for its form", t[i].pattern);
    }
    struct rewrite_cond *c;
    rewrite_cond_compile(ta, "%{HTTP_HOST}", "^WWW\\.", "[NC]", &c);
    ok(re_match(c->regex, "www.example.com"), "NC cond regex is caseless");
    rewrite_cond_compile(ta, "%{HTTP_HOST}", "^WWW\\.", NULL, &c);
    ok(!re_match(c->regex, "www.example.com"), "cond regex case-sensitive by default");

    static const struct {
        const char *test, *pattern, *flags, *want;
    } e[] = {
        {"%{X}", "^a", "[XX]", "unknown flag 'XX'"},
        {"%{X}", "^a", "[NC,L]", "unknown flag 'L'"},
        {"%{X}", "^a", "NC", "bad flag delimiters"},
        {"%{X}", "^a(", NULL,
         "cannot compile regular expression '^a(': missing closing "
         "parenthesis at offset 3"},
    };
    for (size_t i = 0; i < sizeof(e) / sizeof(e[0]); i++) {
        c = NULL;
        is_str(rewrite_cond_compile(ta, e[i].test, e[i].pattern, e[i].flags, &c), e[i].want,
               "cond error: %s %s", e[i].pattern, e[i].flags ? e[i].flags : "");
    }
    const char *err = rewrite_cond_compile(ta, "expr", "%{X} =~ /(/", NULL, &c);
    ok(err != NULL && strncmp(err, "cannot compile expression \"%{X} =~ /(/\": ", 41) == 0,
       "bad expr: %s", err ? err : "(none)");
}

/* ---- directives in a configuration ---- */

static void test_directives(void)
{
    struct conf *c = load("RewriteEngine On\n"
                          "RewriteCond %{HTTP_HOST} ^a [NC]\n"
                          "RewriteCond %{HTTPS} =on [OR]\n"
                          "RewriteRule ^/x /y [L]\n"
                          "RewriteRule ^/z - [F]\n");
    ok(c != NULL, "basic rule set loads: %s", c ? "" : errbuf);
    if (c == NULL)
        return;
    struct rewrite_conf *rc = c->main->rewrite;
    ok(rc != NULL && rc->engine == 1 && rc->eff_engine == 1, "engine on");
    ok(rc && rc->n_eff_rules == 2, "two effective rules");
    struct rewrite_rule *r = rc ? rc->rules : NULL;
    ok(r && r->conds && r->conds->next && !r->conds->next->next, "first rule has two conds");
    ok(r && r->conds && r->conds->line == 3 && r->line == 5 && strstr(r->file, "portico.conf"),
       "file and line recorded (cond %d, rule %d)", r && r->conds ? r->conds->line : 0,
       r ? r->line : 0);
    ok(r && r->next && r->next->conds == NULL, "second rule has no conds");
    ok(rc && rc->pending == NULL, "no pending conds");
    ok(rc && rc->eff_rules[0] == rc->rules && rc->eff_rules[1] == rc->rules->next,
       "effective list in config order");

    load("RewriteEngine Off\nRewriteRule ^/x /y\n");
    ok(cur && cur->main->rewrite->eff_engine == 0 && cur->main->rewrite->n_eff_rules == 1,
       "engine off keeps the rules, eff_engine 0");
    load("RewriteRule ^/x /y\n");
    ok(cur && cur->main->rewrite->eff_engine == 0, "engine off by default");
    load("ServerName x\n");
    ok(cur && cur->main->rewrite == NULL, "no mod_rewrite directive: rewrite NULL");

    /* quoting and the escaped blank of httpd's parseargline */
    load("RewriteEngine on\nRewriteRule \"^/a b$\" \"/c d\" [L]\nRewriteRule ^/e\\ f$ /g\n");
    ok(cur && cur->main->rewrite->rules &&
           strcmp(cur->main->rewrite->rules->pattern, "^/a b$") == 0 &&
           strcmp(cur->main->rewrite->rules->subst, "/c d") == 0,
       "quoted arguments keep blanks");
    r = cur ? cur->main->rewrite->rules->next : NULL;
    ok(r && strcmp(r->pattern, "^/e\\ f$") == 0 && strcmp(r->subst, "/g") == 0,
       "backslash-blank joins an unquoted argument (pattern '%s')", r ? r->pattern : "");
    ok(r && re_match(r->regex, "/e f"), "and the regex matches a blank");

    load("RewriteEngine on\nRewriteRule ^/a /b [L] extra\n");
    ok(cur != NULL && has_warning("ignoring text after the flags: 'extra'"),
       "text after the flags: warning (httpd ignores it)");

    static const struct {
        const char *conf, *want;
    } errs[] = {
        {"RewriteRule ^/a\n", "portico.conf:2: RewriteRule: bad argument line '^/a'"},
        {"RewriteRule ^/a /b [L, R]\n", "portico.conf:2: RewriteRule: bad flag delimiters"},
        {"RewriteRule ^/a /b [Q]\n", "portico.conf:2: RewriteRule: unknown flag 'Q'"},
        {"RewriteRule ^/a /b [R=999]\n",
         "portico.conf:2: RewriteRule: invalid HTTP response code '999' for flag 'R'"},
        {"\nRewriteRule ^/a( /b\n",
         "portico.conf:3: RewriteRule: cannot compile regular expression '^/a(': missing closing "
         "parenthesis at offset 4"},
        {"RewriteCond %{X}\n", "portico.conf:2: RewriteCond: bad argument line '%{X}'"},
        {"RewriteCond %{X} ^a [XX]\n", "portico.conf:2: RewriteCond: unknown flag 'XX'"},
        {"RewriteCond %{X} ^a NC\n", "portico.conf:2: RewriteCond: bad flag delimiters"},
        {"RewriteEngine maybe\n", "portico.conf:2: RewriteEngine: must be On or Off"},
        {"RewriteOptions Foo\n", "portico.conf:2: RewriteOptions: unknown option 'Foo'"},
        {"RewriteBase /x\n", "portico.conf:2: RewriteBase: only valid in per-directory config "
                             "files (portico runs rewrite rules only in server and <VirtualHost> "
                             "context, where substitutions are URL-paths already)"},
        {"<Location /x>\nRewriteRule ^/a /b\n</Location>\n",
         "portico.conf:3: RewriteRule: per-directory rewrite rules are not supported; put them "
         "in server or <VirtualHost> context"},
        {"<Directory /tmp>\nRewriteEngine On\n</Directory>\n",
         "portico.conf:3: RewriteEngine: per-directory rewrite rules are not supported; put them "
         "in server or <VirtualHost> context"},
        {"<Files x>\nRewriteCond %{X} ^a\n</Files>\n",
         "portico.conf:3: RewriteCond: per-directory rewrite rules are not supported; put them "
         "in server or <VirtualHost> context"},
        {"<Proxy http://b/>\nRewriteOptions Inherit\n</Proxy>\n",
         "portico.conf:3: RewriteOptions: per-directory rewrite rules are not supported; put them "
         "in server or <VirtualHost> context"},
        {"<VirtualHost *:80>\n<Location />\nRewriteBase /\n</Location>\n</VirtualHost>\n",
         "portico.conf:4: RewriteBase: per-directory rewrite rules are not supported; put them "
         "in server or <VirtualHost> context"},
        {"RewriteEngine on\nRewriteRule ^/a balancer://nope/x [P]\n",
         "portico.conf:3: RewriteRule: [P] to balancer://nope, which is not defined (define it "
         "with <Proxy \"balancer://nope\"> and BalancerMember)"},
    };
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
        is_str(load_err(errs[i].conf), errs[i].want, "config error #%zu", i);

    ok(strstr(load_err("<Location /x>\nRewriteMap m int:toupper\n</Location>\n"),
              "portico.conf:3: RewriteMap") != NULL,
       "RewriteMap refused in <Location>: %s",
       load_err("<Location /x>\nRewriteMap m "
                "int:toupper\n</Location>\n"));

    load("<Proxy balancer://pool>\nBalancerMember http://127.0.0.1:9\n</Proxy>\n"
         "RewriteEngine on\nRewriteRule ^/a balancer://pool/x [P]\n"
         "RewriteRule ^/b balancer://${m:x}/x [P]\nRewriteRule ^/c balancer://nope/x\n");
    ok(cur != NULL, "[P] to a defined balancer, a computed one, and a non-[P] rule load: %s",
       cur ? "" : errbuf);

    /* warnings */
    load("RewriteEngine on\nRewriteCond %{X} ^a\nRewriteRule ^/a /b\nRewriteCond %{Y} ^b\n");
    ok(cur && has_warning("portico.conf:5: RewriteCond: RewriteCond without a following "
                          "RewriteRule is ignored"),
       "leftover RewriteCond warned with file:line");
    ok(cur && cur->main->rewrite->rules->conds && !cur->main->rewrite->rules->conds->next,
       "the leftover cond is not attached");
    load("RewriteEngine on\nRewriteCond %{X} -d [NC]\nRewriteRule ^/a /b\n");
    ok(cur && has_warning("portico.conf:3: RewriteCond: NoCase option for non-regex pattern "
                          "'-d' is not supported and will be ignored."),
       "NC on a file test warned");
    load("RewriteEngine on\nRewriteCond %{X} -U\nRewriteCond %{X} -F\nRewriteRule ^/a /b\n");
    ok(cur && has_warning("portico.conf:3: RewriteCond: -U is always false"), "-U warned");
    ok(cur && has_warning("portico.conf:4: RewriteCond: -F is answered as -f"), "-F warned");
    load("RewriteOptions MaxRedirects=10\n");
    ok(cur && has_warning("RewriteOptions: MaxRedirects option has been removed in favor of the "
                          "global LimitInternalRecursion directive and will be ignored."),
       "MaxRedirects warned");
    load("RewriteOptions AllowNoSlash MergeBase IgnoreContextInfo\n");
    ok(cur && has_warning("AllowNoSlash only affects per-directory rules") &&
           has_warning("MergeBase only affects") && has_warning("IgnoreContextInfo only affects"),
       "per-directory-only options warned");
    load("RewriteLock /tmp/x\nRewriteMapLock /tmp/y\n");
    ok(cur && has_warning("RewriteLock: RewriteLock is not needed") &&
           has_warning("RewriteMapLock: RewriteMapLock is not needed"),
       "RewriteLock/RewriteMapLock accepted with a warning");

    static const struct {
        const char *word;
        unsigned bit;
    } opts[] = {
        {"Inherit", RWO_INHERIT},
        {"inheritbefore", RWO_INHERIT_BEFORE},
        {"InheritDown", RWO_INHERIT_DOWN},
        {"InheritDownBefore", RWO_INHERIT_DOWN_BEFORE},
        {"IgnoreInherit", RWO_IGNORE_INHERIT},
        {"AllowNoSlash", RWO_ALLOW_NO_SLASH},
        {"AllowAnyURI", RWO_ALLOW_ANY_URI},
        {"MergeBase", RWO_MERGE_BASE},
        {"LongURLOptimization", RWO_LONG_URL_OPT},
        {"IgnoreContextInfo", RWO_IGNORE_CONTEXT_INFO},
        {"LegacyPrefixDocRoot", RWO_LEGACY_PREFIX_DOCROOT},
        {"UnsafePrefixStat", RWO_UNSAFE_PREFIX_STAT},
    };
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        char text[128];
        snprintf(text, sizeof(text), "RewriteOptions %s\n", opts[i].word);
        load(text);
        ok(cur && cur->main->rewrite->options == opts[i].bit, "RewriteOptions %s stored",
           opts[i].word);
    }
    load("RewriteOptions Inherit\nRewriteOptions AllowAnyURI InheritDown\n");
    ok(cur && cur->main->rewrite->options == (RWO_INHERIT | RWO_ALLOW_ANY_URI | RWO_INHERIT_DOWN),
       "repeated RewriteOptions OR together");
}

/* ---- Inherit merges ---- */

static int eff_is(const struct rewrite_conf *rc, const char *want)
{
    /* want: substitutions of the effective rules, joined by ' ' */
    char got[256] = "";
    size_t len = 0;
    for (int i = 0; rc && i < rc->n_eff_rules && len < sizeof(got); i++) {
        const char *sub = rc->eff_rules[i]->subst ? rc->eff_rules[i]->subst : "-";
        int w = snprintf(got + len, sizeof(got) - len, "%s%s", i ? " " : "", sub);
        len += w > 0 ? (size_t)w : 0;
    }
    if (strcmp(got, want) != 0)
        printf("#   effective rules '%s', want '%s'\n", got, want);
    return strcmp(got, want) == 0;
}

static struct conf_server *vhost(int n)
{
    struct conf_server *v = cur ? cur->vhosts : NULL;
    while (v && n-- > 0)
        v = v->next;
    return v;
}

static void test_inherit(void)
{
    static const struct {
        const char *main_opts, *v_opts;
        const char *want;
    } t[] = {
        {"", "", "/v"},
        {"", "RewriteOptions Inherit\n", "/v /m"},
        {"", "RewriteOptions InheritBefore\n", "/m /v"},
        {"RewriteOptions InheritDown\n", "", "/v /m"},
        {"RewriteOptions InheritDownBefore\n", "", "/m /v"},
        {"RewriteOptions InheritDown\n", "RewriteOptions IgnoreInherit\n", "/v"},
        {"RewriteOptions InheritDownBefore\n", "RewriteOptions IgnoreInherit\n", "/v"},
        {"RewriteOptions InheritDown\n", "RewriteOptions InheritBefore\n", "/v /m"},
        {"RewriteOptions InheritDownBefore\n", "RewriteOptions Inherit\n", "/v /m"},
        {"RewriteOptions InheritDown\n", "RewriteOptions AllowAnyURI\n", "/v /m"},
        /* httpd merges options: a vhost without RewriteOptions takes the main server's */
        {"RewriteOptions Inherit\n", "", "/v /m"},
        {"RewriteOptions Inherit\n", "RewriteOptions AllowAnyURI\n", "/v"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        char text[1024];
        snprintf(text, sizeof(text),
                 "RewriteEngine On\n%sRewriteRule ^/m /m\n"
                 "<VirtualHost *:80>\nServerName v\n%sRewriteRule ^/v /v\n</VirtualHost>\n",
                 t[i].main_opts, t[i].v_opts);
        load(text);
        struct conf_server *v = vhost(0);
        ok(v && v->rewrite && eff_is(v->rewrite, t[i].want), "main '%.*s' vhost '%.*s' -> %s",
           (int)strcspn(t[i].main_opts, "\n"), t[i].main_opts, (int)strcspn(t[i].v_opts, "\n"),
           t[i].v_opts, t[i].want);
        ok(cur && eff_is(cur->main->rewrite, "/m"), "main keeps its own rules only");
    }

    load("RewriteEngine On\nRewriteRule ^/m /m\n"
         "<VirtualHost *:80>\nServerName a\n</VirtualHost>\n"
         "<VirtualHost *:80>\nServerName b\nRewriteEngine Off\n</VirtualHost>\n"
         "<VirtualHost *:80>\nServerName c\nRewriteOptions Inherit\n</VirtualHost>\n");
    ok(vhost(0) && vhost(0)->rewrite && vhost(0)->rewrite->eff_engine == 1 &&
           vhost(0)->rewrite->n_eff_rules == 0,
       "vhost without directives: engine state inherited, rules not");
    ok(vhost(1) && vhost(1)->rewrite->eff_engine == 0, "vhost RewriteEngine Off wins");
    ok(vhost(2) && vhost(2)->rewrite->eff_engine == 1 && eff_is(vhost(2)->rewrite, "/m"),
       "vhost with only Inherit gets main's rules");

    load("RewriteEngine Off\n<VirtualHost *:80>\nServerName a\nRewriteEngine On\n"
         "RewriteRule ^/a /a\n</VirtualHost>\n");
    ok(cur && cur->main->rewrite && cur->main->rewrite->eff_engine == 0 && vhost(0) &&
           vhost(0)->rewrite->eff_engine == 1,
       "engine on only in a vhost");
    load("<VirtualHost *:80>\nServerName a\nRewriteEngine On\nRewriteRule ^/a /a\n"
         "</VirtualHost>\n");
    ok(cur && cur->main->rewrite && cur->main->rewrite->eff_engine == 0 &&
           cur->main->rewrite->n_eff_rules == 0 && vhost(0)->rewrite->n_eff_rules == 1,
       "rules only in a vhost: main gets an empty conf");

    load("RewriteEngine On\nRewriteOptions InheritDown AllowAnyURI\n"
         "<VirtualHost *:80>\nServerName a\n</VirtualHost>\n");
    ok(vhost(0) && vhost(0)->rewrite->options == (RWO_INHERIT_DOWN | RWO_ALLOW_ANY_URI),
       "vhost options after the merge: the main server's");
}

/* Maps need rewrite_map_define() (rewrite_map.c); skipped while it is a stub. */
static void test_maps(void)
{
    load("RewriteMap up int:toupper\n");
    if (cur == NULL && strstr(errbuf, "not implemented") != NULL) {
        for (int i = 0; i < 9; i++)
            ok(1, "# SKIP rewrite_map_define() not implemented yet");
        return;
    }
    ok(cur != NULL, "int: map loads: %s", cur ? "" : errbuf);
    load("RewriteEngine On\nRewriteMap up int:toupper\nRewriteMap low int:tolower\n"
         "RewriteRule ^/m /${up:$1}\n"
         "<VirtualHost *:80>\nServerName a\nRewriteMap vm int:escape\n"
         "RewriteRule ^/v /${up:x}\n</VirtualHost>\n"
         "<VirtualHost *:80>\nServerName b\nRewriteOptions Inherit\nRewriteMap up int:tolower\n"
         "</VirtualHost>\n"
         "<VirtualHost *:80>\nServerName c\nRewriteOptions InheritBefore\n"
         "RewriteMap up int:tolower\n</VirtualHost>\n");
    ok(cur != NULL, "maps in main and vhosts load: %s", cur ? "" : errbuf);
    if (cur == NULL)
        return;
    ok(cur->n_rewrite_maps == 5, "conf-wide map count %u", cur->n_rewrite_maps);
    int n = 0, ordered = 1;
    for (struct rewrite_map *m = cur->rewrite_maps; m; m = m->next_global, n++)
        ordered &= m->index == (unsigned)n;
    ok(n == 5 && ordered, "global list in index order");
    ok(cur->main->rewrite->n_eff_maps == 2, "main sees its two maps");
    struct rewrite_conf *a = vhost(0)->rewrite, *b = vhost(1)->rewrite, *c = vhost(2)->rewrite;
    ok(a->n_eff_maps == 1 && strcmp(a->eff_maps[0]->name, "vm") == 0,
       "vhost without Inherit sees only its own map");
    ok(has_warning("RewriteMap 'up' is not defined in this server"),
       "warning for a main map used in a vhost without Inherit");
    ok(b->n_eff_maps == 2 && b->eff_maps[0]->server == vhost(1) &&
           strcmp(b->eff_maps[0]->name, "up") == 0,
       "Inherit: the vhost's own map of the same name wins");
    ok(c->n_eff_maps == 2 && c->eff_maps[0]->server == cur->main &&
           strcmp(c->eff_maps[0]->name, "up") == 0,
       "InheritBefore: the main server's map of the same name wins (apr_hash_overlay)");
    const char *e = load_err("RewriteMap up int:toupper\nRewriteMap up int:tolower\n");
    ok(strncmp(e, "portico.conf:3: RewriteMap: map 'up' is already defined in this server at /",
               75) == 0 &&
           strstr(e, "/portico.conf:2") != NULL,
       "duplicate map name in one server: %s", e);
    load("RewriteMap up int:toupper\n<VirtualHost *:80>\nServerName a\nRewriteMap up int:tolower\n"
         "</VirtualHost>\n");
    ok(cur != NULL, "the same map name in two servers is fine");
}

int main(void)
{
    ta = arena_create(0);
    test_argline();
    test_regex_defaults();
    test_rule_flags();
    test_rule_values();
    test_rule_errors();
    test_cond_forms();
    test_directives();
    test_inherit();
    test_maps();
    conf_free(cur);
    testconf_clean();
    arena_destroy(ta);
    return tap_done();
}
