/* Unit tests of mod_setenvif (setenvif.c): configs loaded with conf_load() from a temporary
 * ServerRoot, requests built in memory; each case applies the server-level rules (or a
 * section's) and checks the env vars they leave. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "conf.h"
#include "conf_registry.h"
#include "conn.h"
#include "env.h"
#include "fakereq.h"
#include "route.h"
#include "setenvif.h"
#include "tap.h"
#include "testconf.h"
#include "util.h"

static char errbuf[16384];
static struct arena *A;
static struct conn CONN;

/* The first line of text is line 3 of portico.conf. */
static struct conf *load(const char *text)
{
    return testconf_load("test_setenvif", "Listen 127.0.0.1:8080\nServerName front.example\n", text,
                         errbuf, sizeof(errbuf));
}

/* headers: "Name: value\n" lines; uri NULL = leave r->uri unset (routing not done yet). */
static void fake_request(struct request *r, const struct conf *c, const struct conf_server *srv,
                         const char *ip, const char *method, const char *path, const char *uri,
                         const char *headers)
{
    struct fakereq f = {ip, "198.51.100.7", method, path, NULL, headers};
    fakereq_build(r, &CONN, A, c, srv, &f);
    r->uri = uri;
}

struct scase {
    const char *what;
    const char *conf;
    const char *ip, *method, *path, *uri, *headers;
    const char *env;  /* variable to check */
    const char *want; /* NULL = must be unset */
};

static const struct scase cases[] = {
    /* attributes */
    {"Remote_Addr regex", "SetEnvIf Remote_Addr \"^127\\.0\\.0\\.1$\" LOCAL\n", "127.0.0.1", 0, 0,
     0, 0, "LOCAL", "1"},
    {"Remote_Addr regex miss", "SetEnvIf Remote_Addr \"^127\\.0\\.0\\.1$\" LOCAL\n", "127.0.0.10",
     0, 0, 0, 0, "LOCAL", NULL},
    {"Remote_Addr plain string is a substring", "SetEnvIf remote_addr 0.2 SUB\n", "192.0.2.10", 0,
     0, 0, 0, "SUB", "1"},
    {"Remote_Host is the address (no DNS)", "SetEnvIf Remote_Host ^10\\.1\\. RH=$0\n", "10.1.2.3",
     0, 0, 0, 0, "RH", "10.1."},
    {"Server_Addr", "SetEnvIf Server_Addr ^198\\.51\\.100\\.7$ SA\n", 0, 0, 0, 0, 0, "SA", "1"},
    {"Request_Method", "SetEnvIf Request_Method ^(POST|PUT)$ WRITE=$1\n", 0, "PUT", 0, 0, 0,
     "WRITE", "PUT"},
    {"Request_Protocol", "SetEnvIf Request_Protocol ^HTTP/1\\.1$ H11\n", 0, 0, 0, 0, 0, "H11", "1"},
    {"Request_URI is the decoded r->uri", "SetEnvIf Request_URI \"^/a b/(.*)$\" REST=$1\n", 0, 0,
     "/a%20b/c", "/a b/c", 0, "REST", "c"},
    {"Request_URI falls back to the path", "SetEnvIf Request_URI ^/p/(.*)$ REST=$1\n", 0, 0, "/p/q",
     0, 0, "REST", "q"},
    {"Remote_User is always empty", "SetEnvIf Remote_User ^$ ANON\n", 0, 0, 0, 0,
     "Remote_User: bob\n", "ANON", "1"},
    {"request header", "SetEnvIf User-Agent ^Mozilla MOZ\n", 0, 0, 0, 0,
     "User-Agent: Mozilla/5.0\n", "MOZ", "1"},
    {"header name is case-insensitive", "SetEnvIf user-agent ^Mozilla MOZ\n", 0, 0, 0, 0,
     "USER-AGENT: Mozilla/5.0\n", "MOZ", "1"},
    {"first header of that name", "SetEnvIf X-Dup ^one$ FIRST\n", 0, 0, 0, 0,
     "X-Dup: one\nX-Dup: two\n", "FIRST", "1"},
    {"absent header matches ^$", "SetEnvIf X-None ^$ EMPTY\n", 0, 0, 0, 0, "Host: a\n", "EMPTY",
     "1"},
    {"header-name regex", "SetEnvIf ^X-Fo+$ ^bar$ XF\n", 0, 0, 0, 0, "X-Foooo: bar\n", "XF", "1"},
    {"header-name regex: the last matching header", "SetEnvIf ^X-A ^two$ L\n", 0, 0, 0, 0,
     "X-A1: one\nX-A2: two\n", "L", "1"},
    {"header-name regex: not the first", "SetEnvIf ^X-A ^one$ L\n", 0, 0, 0, 0,
     "X-A1: one\nX-A2: two\n", "L", NULL},
    {"header-name regex is case-sensitive", "SetEnvIf ^x-fo+$ ^bar$ XF\n", 0, 0, 0, 0,
     "X-Foo: bar\n", "XF", NULL},
    {"env var set by an earlier line", "SetEnvIf Request_Method GET M=get\nSetEnvIf M ^get$ SAW\n",
     0, "GET", 0, 0, 0, "SAW", "1"},
    {"a header wins over an env var", "SetEnvIf Request_Method . X-H=env\nSetEnvIf X-H ^hv$ HDR\n",
     0, 0, 0, 0, "X-H: hv\n", "HDR", "1"},
    {"httpd caches the value for consecutive lines on one name",
     "SetEnvIf Q ^$ Q=x\nSetEnvIf Q ^x$ SAW\n", 0, 0, 0, 0, 0, "SAW", NULL},
    {"the cache ends when the name changes",
     "SetEnvIf Q ^$ Q=x\nSetEnvIf Request_Method . Z\nSetEnvIf Q ^x$ SAW\n", 0, 0, 0, 0, 0, "SAW",
     "1"},
    /* values */
    {"$0 $1 $2", "SetEnvIf Request_URI ^/(\\w+)/(\\w+) V=$2-$1-$0\n", 0, 0, "/ab/cd/ef", 0, 0, "V",
     "cd-ab-/ab/cd"},
    {"unset group gives nothing", "SetEnvIf Request_URI ^/(x)?(\\w+) V=[$1][$2][$9]\n", 0, 0, "/ab",
     0, 0, "V", "[][ab][]"},
    {"backslash escapes in a value", "SetEnvIf Request_URI ^/(\\w+) \"V=\\\\$1-$1\"\n", 0, 0, "/ab",
     0, 0, "V", "$1-ab"},
    {"a plain pattern keeps $1 literal", "SetEnvIf Request_Method GET V=$1\n", 0, "GET", 0, 0, 0,
     "V", "$1"},
    {"a plain pattern with escapes", "SetEnvIf Request_URI \\.php PHP\n", 0, 0, "/i.php", 0, 0,
     "PHP", "1"},
    {"escaped dot is literal", "SetEnvIf Request_URI \\.php PHP\n", 0, 0, "/iXphp", 0, 0, "PHP",
     NULL},
    {"VAR without value is 1", "SetEnvIf Request_Method GET A\n", 0, 0, 0, 0, 0, "A", "1"},
    {"several variables", "SetEnvIf Request_Method GET A=x B \"C=y z\"\n", 0, 0, 0, 0, 0, "C",
     "y z"},
    {"!VAR unsets", "SetEnvIf Request_Method . A=1\nSetEnvIf Request_Method GET !A\n", 0, 0, 0, 0,
     0, "A", NULL},
    {"VAR=!x unsets too (httpd)", "SetEnvIf Request_Method . A=1\nSetEnvIf Request_Method G A=!x\n",
     0, 0, 0, 0, 0, "A", NULL},
    {"same attribute and pattern merge",
     "SetEnvIf Request_Method GET A=1\nSetEnvIf Request_Method GET B=2\n", 0, 0, 0, 0, 0, "B", "2"},
    {"merged lines: later value wins",
     "SetEnvIf Request_Method GET A=1\nSetEnvIf Request_Method GET A=2\n", 0, 0, 0, 0, 0, "A", "2"},
    /* case */
    {"SetEnvIf is case-sensitive", "SetEnvIf User-Agent ^mozilla MOZ\n", 0, 0, 0, 0,
     "User-Agent: Mozilla/5.0\n", "MOZ", NULL},
    {"SetEnvIfNoCase", "SetEnvIfNoCase User-Agent ^mozilla MOZ\n", 0, 0, 0, 0,
     "User-Agent: Mozilla/5.0\n", "MOZ", "1"},
    {"SetEnvIfNoCase plain substring", "SetEnvIfNoCase User-Agent firefox FF\n", 0, 0, 0, 0,
     "User-Agent: Mozilla FireFox\n", "FF", "1"},
    {"SetEnvIf plain substring is case-sensitive", "SetEnvIf User-Agent firefox FF\n", 0, 0, 0, 0,
     "User-Agent: Mozilla FireFox\n", "FF", NULL},
    {"SetEnvIfNoCase header-name regex", "SetEnvIfNoCase ^x-fo+$ ^bar$ XF\n", 0, 0, 0, 0,
     "X-Foo: BAR\n", "XF", "1"},
    {"SetEnvIfNoCase captures", "SetEnvIfNoCase Request_URI ^/(IMG)/ D=$1\n", 0, 0, "/img/x", 0, 0,
     "D", "img"},
    /* BrowserMatch */
    {"BrowserMatch", "BrowserMatch \"^Mozilla/4\" nokeepalive downgrade-1.0\n", 0, 0, 0, 0,
     "User-Agent: Mozilla/4.0 (compatible)\n", "downgrade-1.0", "1"},
    {"BrowserMatch miss", "BrowserMatch \"^Mozilla/4\" nokeepalive\n", 0, 0, 0, 0,
     "User-Agent: Mozilla/5.0\n", "nokeepalive", NULL},
    {"BrowserMatch capture", "BrowserMatch \"MSIE ([0-9]+)\" IEVER=$1\n", 0, 0, 0, 0,
     "User-Agent: Mozilla/4.0 (compatible; MSIE 6.0)\n", "IEVER", "6"},
    {"BrowserMatchNoCase", "BrowserMatchNoCase \"googlebot\" BOT\n", 0, 0, 0, 0,
     "User-Agent: Mozilla/5.0 (compatible; Googlebot/2.1)\n", "BOT", "1"},
    /* SetEnvIfExpr */
    {"SetEnvIfExpr true", "SetEnvIfExpr \"%{REQUEST_METHOD} == 'POST'\" ISPOST\n", 0, "POST", 0, 0,
     0, "ISPOST", "1"},
    {"SetEnvIfExpr false", "SetEnvIfExpr \"%{REQUEST_METHOD} == 'POST'\" ISPOST\n", 0, "GET", 0, 0,
     0, "ISPOST", NULL},
    {"SetEnvIfExpr -ipmatch", "SetEnvIfExpr \"-R '10.0.0.0/8'\" INTERNAL=yes\n", "10.9.9.9", 0, 0,
     0, 0, "INTERNAL", "yes"},
    {"SetEnvIfExpr regex on a header",
     "SetEnvIfExpr \"req('X-Tenant') =~ /^acme/\" TENANT=acme !OTHER\n", 0, 0, 0, 0,
     "X-Tenant: acme-eu\n", "TENANT", "acme"},
    {"SetEnvIfExpr sees earlier variables",
     "SetEnvIf Request_Method GET M=g\nSetEnvIfExpr \"reqenv('M') == 'g'\" SAW\n", 0, 0, 0, 0, 0,
     "SAW", "1"},
};

static void test_cases(void)
{
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct scase *k = &cases[i];
        struct conf *c = load(k->conf);
        ok(c != NULL, "%s: loads %s", k->what, c ? "" : errbuf);
        if (c == NULL)
            continue;
        struct request r;
        fake_request(&r, c, NULL, k->ip, k->method, k->path, k->uri, k->headers);
        setenvif_apply_server(&r);
        is_str(env_get(&r, k->env), k->want, "%s: %s", k->what, k->env);
        conf_free(c);
        arena_reset(A);
    }
}

/* Server rules: the main server's, then the vhost's; sections run separately. */
static void test_scopes(void)
{
    struct conf *c = load("SetEnvIf Request_Method . A=main\n"
                          "<Location /sec>\n"
                          "SetEnvIf Request_URI ^/sec/(.*) SEC=$1\n"
                          "SetEnvIf A ^main$ SEEN_A\n"
                          "</Location>\n"
                          "<Location /sec/deeper>\n"
                          "SetEnvIf SEC ^deeper DEEP=$0\n"
                          "</Location>\n"
                          "<VirtualHost *:8080>\n"
                          "ServerName v.example\n"
                          "SetEnvIf A ^main$ B=vhost-saw-main\n"
                          "</VirtualHost>\n");
    ok(c != NULL, "scopes config loads %s", c ? "" : errbuf);
    if (c == NULL)
        return;
    struct request r;
    fake_request(&r, c, c->vhosts, 0, 0, "/sec/deeper/x", "/sec/deeper/x", 0);
    setenvif_apply_server(&r);
    is_str(env_get(&r, "A"), "main", "vhost request runs the main server's rules");
    is_str(env_get(&r, "B"), "vhost-saw-main", "then the vhost's");
    is_str(env_get(&r, "SEC"), NULL, "section rules do not run with the server's");

    struct route_decision d;
    memset(&d, 0, sizeof(d));
    for (const struct conf_dir *s = c->main->dirs; s != NULL; s = s->next)
        d.sections[d.n_sections++] = s;
    is_int(d.n_sections, 2, "two sections");
    setenvif_apply_sections(&r, &d);
    is_str(env_get(&r, "SEC"), "deeper/x", "section rule with capture");
    is_str(env_get(&r, "SEEN_A"), "1", "section sees the server-level variable");
    is_str(env_get(&r, "DEEP"), "deeper", "later section sees the earlier one's variable");
    setenvif_apply_sections(&r, NULL);
    ok(1, "NULL decision is harmless");

    fake_request(&r, c, NULL, 0, 0, "/x", "/x", 0);
    setenvif_apply_server(&r);
    is_str(env_get(&r, "A"), "main", "main server request");
    is_str(env_get(&r, "B"), NULL, "no vhost rules for the main server");
    conf_free(c);
    arena_reset(A);
}

static int has_warning(const struct conf *c, const char *needle)
{
    for (const struct conf_msg *m = c->warnings; m != NULL; m = m->next)
        if (strstr(m->text, needle) != NULL)
            return 1;
    return 0;
}

struct ecase {
    const char *conf;
    const char *want;
};

static const struct ecase errors[] = {
    {"SetEnvIf\n", ":3: SetEnvIf: Missing header-field name for SetEnvIf"},
    {"SetEnvIf Remote_Addr\n", ":3: SetEnvIf: Missing regular expression for SetEnvIf"},
    {"SetEnvIfNoCase Remote_Addr x\n",
     ":3: SetEnvIfNoCase: Missing envariable expression for SetEnvIfNoCase"},
    {"BrowserMatch x\n", ":3: BrowserMatch: Missing envariable expression for BrowserMatch"},
    {"BrowserMatchNoCase\n", ":3: BrowserMatchNoCase: Missing regular expression"},
    {"SetEnvIf Remote_Addr ^(1 X\n", ":3: SetEnvIf: SetEnvIf regex could not be compiled"},
    {"SetEnvIf ^X-(a ^b$ X\n", "SetEnvIf Header name regex could not be compiled"},
    {"SetEnvIfExpr\n", ":3: SetEnvIfExpr: Missing expression for SetEnvIfExpr"},
    {"SetEnvIfExpr \"%{REQUEST_METHOD} ==\" X\n", ":3: SetEnvIfExpr: Could not parse expression"},
    {"SetEnvIfExpr \"true\"\n", "Missing envariable expression for SetEnvIfExpr"},
};

static void test_errors(void)
{
    for (size_t i = 0; i < ARRAY_LEN(errors); i++) {
        struct conf *c = load(errors[i].conf);
        ok(c == NULL && strstr(errbuf, errors[i].want) != NULL, "error '%s'", errors[i].want);
        if (c != NULL)
            conf_free(c);
        else if (strstr(errbuf, errors[i].want) == NULL)
            printf("#   got: %s\n", errbuf);
    }
    struct conf *c = load("SetEnvIfExpr \"%{REQUEST_METHOD} =~ /(G)/\" M=$1\n");
    ok(c != NULL && has_warning(c, "no regex back-references"), "SetEnvIfExpr $1 warns");
    if (c != NULL) {
        struct request r;
        fake_request(&r, c, NULL, 0, "GET", 0, 0, 0);
        setenvif_apply_server(&r);
        is_str(env_get(&r, "M"), "", "SetEnvIfExpr $1 expands to nothing");
        conf_free(c);
    }
    c = load("<Directory /tmp>\nSetEnvIf Remote_Addr . X\n</Directory>\n"
             "<Proxy http://b/>\nBrowserMatch . Y\n</Proxy>\n");
    ok(c != NULL, "allowed in <Directory> and <Proxy> %s", c ? "" : errbuf);
    if (c != NULL)
        conf_free(c);
}

int main(void)
{
    A = arena_create(0);
    test_cases();
    test_scopes();
    test_errors();
    testconf_clean();
    arena_destroy(A);
    return tap_done();
}
