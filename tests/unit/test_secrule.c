/* Unit tests of the ModSecurity subset (secrule_conf.c, secrule.c): configs are loaded with
 * conf_load() from a temporary ServerRoot, requests are built in memory, and each case runs
 * one phase and checks the returned status and an env var the rules set. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena.h"
#include "conf.h"
#include "conf_registry.h"
#include "conn.h"
#include "env.h"
#include "fakereq.h"
#include "log.h"
#include "secrule.h"
#include "tap.h"
#include "testconf.h"
#include "util.h"

static char errbuf[16384];
static struct arena *A;
static struct conn CONN;

/* The first line of text is line 3 of portico.conf. */
static struct conf *load(const char *text)
{
    return testconf_load("test_secrule", "Listen 127.0.0.1:8080\nServerName front.example\n", text,
                         errbuf, sizeof(errbuf));
}

/* headers: "Name: value\n" lines. */
static void fake_request(struct request *r, const struct conf *c, const struct conf_server *srv,
                         const char *ip, const char *method, const char *path, const char *query,
                         const char *headers)
{
    struct fakereq f = {ip, NULL, method, path, query, headers};
    fakereq_build(r, &CONN, A, c, srv, &f);
}

struct rcase {
    const char *what;
    const char *conf;
    const char *ip, *method, *path, *query, *headers;
    int phase;
    int want_status;
    const char *env;  /* variable to check, NULL = none */
    const char *want; /* its value; NULL = must be unset */
};

#define TUT                                                                                        \
    "SecRuleEngine On\n"                                                                           \
    "SecRule REMOTE_ADDR \"^(.)\" "                                                                \
    "\"phase:1,id:1,capture,nolog,pass,t:sha1,t:hexEncode,setenv:IPHashChar=%{TX.1}\"\n"

static const struct rcase cases[] = {
    /* the tutorial rule with capture: the four samples */
    {"sample 192.0.2.1", TUT, "192.0.2.1", 0, 0, 0, 0, 1, 0, "IPHashChar", "e"},
    {"sample 127.0.0.1", TUT, "127.0.0.1", 0, 0, 0, 0, 1, 0, "IPHashChar", "4"},
    {"sample 10.0.0.5", TUT, "10.0.0.5", 0, 0, 0, 0, 1, 0, "IPHashChar", "0"},
    {"sample ::1", TUT, "::1", 0, 0, 0, 0, 1, 0, "IPHashChar", "3"},
    {"phase 2 does not rerun a phase-1 rule", TUT, "192.0.2.1", 0, 0, 0, 0, 2, 0, "IPHashChar",
     NULL},
    /* ModSecurity's semantics: no capture => TX.1 empty, the variable still set */
    {"no capture: empty IPHashChar",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"^(.)\" "
     "\"phase:1,id:1,nolog,pass,t:sha1,t:hexEncode,setenv:IPHashChar=%{TX.1}\"\n",
     "192.0.2.1", 0, 0, 0, 0, 1, 0, "IPHashChar", ""},
    {"engine Off by default",
     "SecRule REMOTE_ADDR \"^(.)\" \"phase:1,id:1,capture,pass,setenv:X=%{TX.1}\"\n", "10.0.0.1", 0,
     0, 0, 0, 1, 0, "X", NULL},
    {"engine Off explicitly",
     "SecRuleEngine Off\nSecRule REMOTE_ADDR \"^(.)\" \"phase:1,id:1,capture,pass,setenv:X=1\"\n",
     "10.0.0.1", 0, 0, 0, 0, 1, 0, "X", NULL},
    {"t:md5",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"^(..)\" "
     "\"phase:1,id:1,capture,nolog,pass,t:md5,t:hexEncode,setenv:H=%{TX.1}\"\n",
     "127.0.0.1", 0, 0, 0, 0, 1, 0, "H", "f5"},
    {"t:sha1 whole hex in TX.0",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \".*\" "
     "\"phase:1,id:1,capture,nolog,pass,t:sha1,t:hexEncode,setenv:H=%{TX.0}\"\n",
     "::1", 0, 0, 0, 0, 1, 0, "H", "363baea9cba210afac6d7a556fca596e30c46333"},
    {"sha1 output is binary (20 bytes)",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"^[\\s\\S]{20}$\" "
     "\"phase:1,id:1,nolog,pass,t:sha1,setenv:B=1\"\n",
     "::1", 0, 0, 0, 0, 1, 0, "B", "1"},
    {"transformations in order: hexEncode then sha1 differs",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"^(..)\" "
     "\"phase:1,id:1,capture,nolog,pass,t:hexEncode,t:sha1,t:hexEncode,setenv:H=%{TX.1}\"\n",
     "::1", 0, 0, 0, 0, 1, 0, "H", "34"},
    {"t:lowercase",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-Mode \"^debug$\" "
     "\"phase:1,id:1,nolog,pass,t:lowercase,setenv:M=1\"\n",
     0, 0, 0, 0, "X-Mode: DeBuG\n", 1, 0, "M", "1"},
    {"case matters without t:lowercase",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-Mode \"^debug$\" "
     "\"phase:1,id:1,nolog,pass,setenv:M=1\"\n",
     0, 0, 0, 0, "X-Mode: DeBuG\n", 1, 0, "M", NULL},
    {"t:urlDecode",
     "SecRuleEngine On\nSecRule REQUEST_URI \"^/a b/c\\+d$\" "
     "\"phase:1,id:1,nolog,pass,t:urlDecode,setenv:U=1\"\n",
     0, 0, "/a%20b/c%2Bd", 0, 0, 1, 0, "U", "1"},
    {"t:urlDecode plus is space, bad escapes kept",
     "SecRuleEngine On\nSecRule ARGS_GET:q \"^a b%zz$\" "
     "\"phase:1,id:1,nolog,pass,t:none,setenv:U=1\"\n",
     0, 0, "/", "q=a+b%zz", 0, 1, 0, "U", "1"},
    {"t:urlDecode keeps a NUL byte for the next transformation",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-N \"^(.*)$\" "
     "\"phase:1,id:1,capture,nolog,pass,t:urlDecode,t:hexEncode,setenv:H=%{TX.1}\"\n",
     0, 0, 0, 0, "X-N: a%00b%zz\n", 1, 0, "H", "610062257a7a"},
    {"a captured NUL byte reaches the env var as \\x00",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-N \"^(.*)$\" "
     "\"phase:1,id:1,capture,nolog,pass,t:urlDecode,setenv:H=%{TX.1}\"\n",
     0, 0, 0, 0, "X-N: a%00b\n", 1, 0, "H", "a\\x00b"},
    {"t:trim",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-T \"^v$\" "
     "\"phase:1,id:1,nolog,pass,t:trim,setenv:T=1\"\n",
     0, 0, 0, 0, "X-T:  v \t\n", 1, 0, "T", "1"},
    {"t:none drops SecDefaultAction's transformations",
     "SecRuleEngine On\nSecDefaultAction \"phase:1,pass,nolog,t:lowercase\"\n"
     "SecRule REQUEST_METHOD \"^GET$\" \"id:1,t:none,setenv:N=1\"\n",
     0, "GET", 0, 0, 0, 1, 0, "N", "1"},
    {"SecDefaultAction's transformations apply",
     "SecRuleEngine On\nSecDefaultAction \"phase:1,pass,nolog,t:lowercase\"\n"
     "SecRule REQUEST_METHOD \"^GET$\" \"id:1,setenv:N=1\"\n",
     0, "GET", 0, 0, 0, 1, 0, "N", NULL},
    {"SecDefaultAction's phase applies",
     "SecRuleEngine On\nSecDefaultAction \"phase:1,pass,nolog\"\n"
     "SecRule REQUEST_METHOD \"GET\" \"id:1,setenv:N=1\"\n",
     0, "GET", 0, 0, 0, 1, 0, "N", "1"},
    {"default phase is 2 (not run in phase 1)",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"GET\" \"id:1,nolog,setenv:N=1\"\n", 0, "GET", 0, 0,
     0, 1, 0, "N", NULL},
    {"default phase is 2 (run in phase 2)",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"GET\" \"id:1,nolog,setenv:N=1\"\n", 0, "GET", 0, 0,
     0, 2, 0, "N", "1"},
    {"phase:request is 2",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"GET\" \"id:1,phase:request,nolog,setenv:N=1\"\n",
     0, "GET", 0, 0, 0, 2, 0, "N", "1"},
    /* variables */
    {"REQUEST_URI has the query",
     "SecRuleEngine On\nSecRule REQUEST_URI \"^/p\\?a=1$\" \"id:1,phase:1,nolog,setenv:V=1\"\n", 0,
     0, "/p", "a=1", 0, 1, 0, "V", "1"},
    {"REQUEST_FILENAME has no query",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/p$\" \"id:1,phase:1,nolog,setenv:V=1\"\n", 0,
     0, "/p", "a=1", 0, 1, 0, "V", "1"},
    {"REQUEST_METHOD",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"^POST$\" \"id:1,phase:1,nolog,setenv:V=1\"\n", 0,
     "POST", 0, 0, 0, 1, 0, "V", "1"},
    {"QUERY_STRING",
     "SecRuleEngine On\nSecRule QUERY_STRING \"b=2\" \"id:1,phase:1,nolog,setenv:V=1\"\n", 0, 0,
     "/", "a=1&b=2", 0, 1, 0, "V", "1"},
    {"QUERY_STRING absent: no value, even negated",
     "SecRuleEngine On\nSecRule QUERY_STRING \"!@streq x\" \"id:1,phase:1,nolog,setenv:V=1\"\n", 0,
     0, "/", 0, 0, 1, 0, "V", NULL},
    {"REQUEST_HEADERS (all)",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS \"^secret$\" "
     "\"id:1,phase:1,nolog,setenv:V=%{MATCHED_VAR_NAME}\"\n",
     0, 0, 0, 0, "Host: a\nX-Key: secret\n", 1, 0, "V", "REQUEST_HEADERS:X-Key"},
    {"REQUEST_HEADERS:name is case-insensitive",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:user-agent \"curl\" "
     "\"id:1,phase:1,nolog,setenv:V=%{MATCHED_VAR}\"\n",
     0, 0, 0, 0, "User-Agent: curl/8.0\n", 1, 0, "V", "curl/8.0"},
    {"REQUEST_HEADERS:name absent",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-None \"\" \"id:1,phase:1,nolog,setenv:V=1\"\n", 0,
     0, 0, 0, "Host: a\n", 1, 0, "V", NULL},
    {"ARGS_GET (all, decoded)",
     "SecRuleEngine On\nSecRule ARGS_GET \"^<x>$\" "
     "\"id:1,phase:1,nolog,setenv:V=%{MATCHED_VAR_NAME}\"\n",
     0, 0, "/", "a=1&b=%3Cx%3E", 0, 1, 0, "V", "ARGS_GET:b"},
    {"ARGS_GET:name",
     "SecRuleEngine On\nSecRule ARGS_GET:id \"^[0-9]+$\" "
     "\"id:1,phase:1,nolog,setenv:V=%{MATCHED_VAR}\"\n",
     0, 0, "/", "x=a&id=42", 0, 1, 0, "V", "42"},
    {"ARGS_GET:name not there",
     "SecRuleEngine On\nSecRule ARGS_GET:id \".\" \"id:1,phase:1,nolog,setenv:V=1\"\n", 0, 0, "/",
     "x=a", 0, 1, 0, "V", NULL},
    {"several variables with |",
     "SecRuleEngine On\nSecRule REQUEST_METHOD|REQUEST_FILENAME \"^/adm\" "
     "\"id:1,phase:1,nolog,setenv:V=%{MATCHED_VAR_NAME}\"\n",
     0, 0, "/admin", 0, 0, 1, 0, "V", "REQUEST_FILENAME"},
    /* operators */
    {"@rx explicit",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"@rx ^/a/(\\d+)$\" "
     "\"id:1,phase:1,nolog,capture,setenv:V=%{TX.1}\"\n",
     0, 0, "/a/17", 0, 0, 1, 0, "V", "17"},
    {"@rx is case-sensitive, dotall",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/A\" \"id:1,phase:1,nolog,setenv:V=1\"\n", 0, 0,
     "/a", 0, 0, 1, 0, "V", NULL},
    {"!@rx negation matches",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"!^/public\" \"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, "/private", 0, 0, 1, 0, "V", "1"},
    {"!@rx negation does not match",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"!@rx ^/public\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, "/public/x", 0, 0, 1, 0, "V", NULL},
    {"@streq",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"@streq DELETE\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, "DELETE", 0, 0, 0, 1, 0, "V", "1"},
    {"@streq is exact",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"@streq DEL\" \"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, "DELETE", 0, 0, 0, 1, 0, "V", NULL},
    {"@streq with a macro",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-Echo \"@streq %{REMOTE_ADDR}\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     "10.9.8.7", 0, 0, 0, "X-Echo: 10.9.8.7\n", 1, 0, "V", "1"},
    {"@beginsWith",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"@beginsWith /api/\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, "/api/v1", 0, 0, 1, 0, "V", "1"},
    {"@beginsWith no",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"@beginsWith /api/\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, "/ap", 0, 0, 1, 0, "V", NULL},
    {"@endsWith",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"@endsWith .php\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, "/x/index.php", 0, 0, 1, 0, "V", "1"},
    {"!@endsWith",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"!@endsWith .php\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, "/x/index.php", 0, 0, 1, 0, "V", NULL},
    {"@contains",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:User-Agent \"@contains bot\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, 0, 0, "User-Agent: Googlebot/2.1\n", 1, 0, "V", "1"},
    {"@contains no",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:User-Agent \"@contains bot\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, 0, 0, "User-Agent: Mozilla\n", 1, 0, "V", NULL},
    {"@ipMatch CIDR",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"@ipMatch 192.168.1.100,10.0.0.0/8\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     "10.20.30.40", 0, 0, 0, 0, 1, 0, "V", "1"},
    {"@ipMatch single",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"@ipMatch 192.168.1.100, 10.0.0.0/8\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     "192.168.1.100", 0, 0, 0, 0, 1, 0, "V", "1"},
    {"@ipMatch miss",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"@ipMatch 192.168.1.100,10.0.0.0/8\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     "192.168.1.101", 0, 0, 0, 0, 1, 0, "V", NULL},
    {"@ipMatch IPv6",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"@ipMatch 2001:db8::/32\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     "2001:db8::5", 0, 0, 0, 0, 1, 0, "V", "1"},
    {"!@ipMatch",
     "SecRuleEngine On\nSecRule REMOTE_ADDR \"!@ipMatch 127.0.0.1\" "
     "\"id:1,phase:1,nolog,deny\"\n",
     "10.1.1.1", 0, 0, 0, 0, 1, 403, 0, 0},
    {"@ipMatch on a non-address value",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-IP \"@ipMatch 10.0.0.0/8\" "
     "\"id:1,phase:1,nolog,setenv:V=1\"\n",
     0, 0, 0, 0, "X-IP: nope\n", 1, 0, "V", NULL},
    /* actions */
    {"deny: 403",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/admin\" \"id:1,phase:1,nolog,deny\"\n", 0, 0,
     "/admin", 0, 0, 1, 403, 0, 0},
    {"deny,status:418",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/admin\" "
     "\"id:1,phase:1,nolog,deny,status:418\"\n",
     0, 0, "/admin", 0, 0, 1, 418, 0, 0},
    {"status without deny does nothing",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/admin\" "
     "\"id:1,phase:1,nolog,pass,status:418\"\n",
     0, 0, "/admin", 0, 0, 1, 0, 0, 0},
    {"deny in phase 2",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"^PUT$\" \"id:1,phase:2,nolog,deny,status:405\"\n",
     0, "PUT", 0, 0, 0, 2, 405, 0, 0},
    {"deny stops later rules",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/a\" \"id:1,phase:1,nolog,deny\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setenv:LATER=1\"\n",
     0, 0, "/a", 0, 0, 1, 403, "LATER", NULL},
    {"pass goes on",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/a\" \"id:1,phase:1,nolog,pass\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setenv:LATER=1\"\n",
     0, 0, "/a", 0, 0, 1, 0, "LATER", "1"},
    {"DetectionOnly does not deny",
     "SecRuleEngine DetectionOnly\nSecRule REQUEST_FILENAME \"^/a\" "
     "\"id:1,phase:1,nolog,deny,setenv:SEEN=1\"\n",
     0, 0, "/a", 0, 0, 1, 0, "SEEN", "1"},
    {"DetectionOnly still runs later rules",
     "SecRuleEngine DetectionOnly\nSecRule REQUEST_FILENAME \"^/a\" \"id:1,phase:1,nolog,deny\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setenv:LATER=1\"\n",
     0, 0, "/a", 0, 0, 1, 0, "LATER", "1"},
    {"SecDefaultAction deny applies",
     "SecRuleEngine On\nSecDefaultAction \"phase:1,nolog,deny,status:404\"\n"
     "SecRule REQUEST_FILENAME \"^/hidden\" \"id:1\"\n",
     0, 0, "/hidden", 0, 0, 1, 404, 0, 0},
    {"setenv without value sets 1",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setenv:FLAG\"\n", 0, 0, 0, 0, 0, 1, 0,
     "FLAG", "1"},
    {"setenv:!NAME unsets",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setenv:A=1\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setenv:!A\"\n",
     0, 0, 0, 0, 0, 1, 0, "A", NULL},
    {"setenv name from a macro",
     "SecRuleEngine On\nSecRule REQUEST_HEADERS:X-N \"(.+)\" "
     "\"id:1,phase:1,nolog,capture,setenv:V_%{TX.1}=y\"\n",
     0, 0, 0, 0, "X-N: k\n", 1, 0, "V_k", "y"},
    {"setvar then macro",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setvar:tx.score=5\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setenv:S=%{tx.score}\"\n",
     0, 0, 0, 0, 0, 1, 0, "S", "5"},
    {"setvar +=",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setvar:tx.score=5\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setvar:tx.score=+3\"\n"
     "SecAction \"id:3,phase:1,nolog,pass,setvar:tx.score=-1,setenv:S=%{TX.SCORE}\"\n",
     0, 0, 0, 0, 0, 1, 0, "S", "7"},
    {"setvar:!tx.x",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setvar:tx.x=5\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setvar:!tx.x,setenv:S=[%{tx.x}]\"\n",
     0, 0, 0, 0, 0, 1, 0, "S", "[]"},
    {"setvar without value is 1",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setvar:tx.f,setenv:S=%{tx.f}\"\n", 0, 0,
     0, 0, 0, 1, 0, "S", "1"},
    {"TX survives into phase 2",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setvar:tx.a=x\"\n"
     "SecAction \"id:2,phase:2,nolog,pass,setenv:S=%{tx.a}\"\n",
     0, 0, 0, 0, 0, -12, 0, "S", "x"},
    {"capture keeps TX.1 for a later rule",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/(\\w+)\" \"id:1,phase:1,nolog,capture\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setenv:S=%{TX.1}\"\n",
     0, 0, "/shop/x", 0, 0, 1, 0, "S", "shop"},
    {"capture removes higher TX.n from before",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/(\\w+)/(\\w+)\" "
     "\"id:1,phase:1,nolog,capture\"\n"
     "SecRule REQUEST_METHOD \"^(G)\" \"id:2,phase:1,nolog,capture,setenv:S=%{TX.1}-%{TX.2}\"\n",
     0, "GET", "/a/b", 0, 0, 1, 0, "S", "G-"},
    {"without capture TX.1 is an earlier rule's",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"^/(\\w+)\" \"id:1,phase:1,nolog,capture\"\n"
     "SecRule REQUEST_METHOD \"^(G)\" \"id:2,phase:1,nolog,setenv:S=%{TX.1}\"\n",
     0, "GET", "/abc", 0, 0, 1, 0, "S", "abc"},
    {"macros REMOTE_ADDR, ENV, REQUEST_HEADERS, literal %",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setenv:A=v1\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,"
     "setenv:S=%{REMOTE_ADDR}/%{ENV.A}/%{REQUEST_HEADERS.X-H}/%{ENV.none}/100%\"\n",
     "10.2.3.4", 0, 0, 0, "X-H: hv\n", 1, 0, "S", "10.2.3.4/v1/hv//100%"},
    {"msg, tag, log accepted",
     "SecRuleEngine On\nSecRule REQUEST_FILENAME \"x\" "
     "\"id:1,phase:1,log,auditlog,msg:'Found x, really',tag:'a/b',tag:c,pass,setenv:S=1\"\n",
     0, 0, "/x", 0, 0, 1, 0, "S", "1"},
    /* chains */
    {"chain: both match",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"^POST$\" \"id:1,phase:1,nolog,deny,chain\"\n"
     "SecRule REQUEST_FILENAME \"^/login\" \"setenv:C=1\"\n",
     0, "POST", "/login", 0, 0, 1, 403, "C", "1"},
    {"chain: second fails",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"^POST$\" "
     "\"id:1,phase:1,nolog,deny,chain,setenv:F=1\"\n"
     "SecRule REQUEST_FILENAME \"^/login\" \"setenv:C=1\"\n",
     0, "POST", "/other", 0, 0, 1, 0, "F", "1"},
    {"chain: first fails, second not run",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"^POST$\" \"id:1,phase:1,nolog,deny,chain\"\n"
     "SecRule REQUEST_FILENAME \"^/login\" \"setenv:C=1\"\n",
     0, "GET", "/login", 0, 0, 1, 0, "C", NULL},
    {"chain of three with capture in the middle",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"GET\" \"id:1,phase:1,nolog,pass,chain\"\n"
     "SecRule REQUEST_FILENAME \"^/u/(\\d+)\" \"capture,chain\"\n"
     "SecRule REQUEST_HEADERS:Host \".\" \"setenv:U=%{TX.1}\"\n",
     0, "GET", "/u/77", 0, "Host: h\n", 1, 0, "U", "77"},
    {"a rule after a chain is separate",
     "SecRuleEngine On\nSecRule REQUEST_METHOD \"^POST$\" \"id:1,phase:1,nolog,deny,chain\"\n"
     "SecRule REQUEST_FILENAME \"^/login\" \"t:none\"\n"
     "SecAction \"id:2,phase:1,nolog,pass,setenv:N=1\"\n",
     0, "GET", "/", 0, 0, 1, 0, "N", "1"},
    /* vhosts: main's rules, then the vhost's; engine inherited */
    {"vhost inherits engine and main's rules",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setenv:M=main\"\n"
     "<VirtualHost *:8080>\nServerName v\n"
     "SecAction \"id:2,phase:1,nolog,pass,setenv:M=%{ENV.M}+vhost\"\n</VirtualHost>\n",
     0, 0, 0, 0, 0, -1, 0, "M", "main+vhost"},
    {"vhost switches the engine off",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setenv:M=main\"\n"
     "<VirtualHost *:8080>\nServerName v\nSecRuleEngine Off\n</VirtualHost>\n",
     0, 0, 0, 0, 0, -1, 0, "M", NULL},
    {"vhost may reuse an id of main",
     "SecRuleEngine On\nSecAction \"id:1,phase:1,nolog,pass,setenv:M=a\"\n"
     "<VirtualHost *:8080>\nServerName v\n"
     "SecAction \"id:1,phase:1,nolog,pass,setenv:M=b\"\n</VirtualHost>\n",
     0, 0, 0, 0, 0, -1, 0, "M", "b"},
};

static void test_cases(void)
{
    for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
        const struct rcase *k = &cases[i];
        struct conf *c = load(k->conf);
        ok(c != NULL, "%s: loads %s", k->what, c ? "" : errbuf);
        if (c == NULL)
            continue;
        int phase = k->phase;
        const struct conf_server *srv = c->main;
        if (phase == -1) { /* run in the first vhost, phase 1 */
            srv = c->vhosts;
            phase = 1;
        }
        struct request r;
        fake_request(&r, c, srv, k->ip, k->method, k->path, k->query, k->headers);
        int st;
        if (phase == -12) { /* phase 1 then 2 */
            secrule_run(&r, 1);
            st = secrule_run(&r, 2);
        } else {
            st = secrule_run(&r, phase);
        }
        is_int(st, k->want_status, "%s: status", k->what);
        if (k->env != NULL)
            is_str(env_get(&r, k->env), k->want, "%s: %s", k->what, k->env);
        conf_free(c);
        arena_reset(A);
    }
}

/* ---- configuration errors ---- */

struct ecase {
    const char *conf;
    const char *want; /* substring of the error */
};

static const struct ecase errors[] = {
    {"SecRule REMOTE_ADDR \"x\" \"phase:1,pass\"\n",
     ":3: SecRule: ModSecurity: No action id present within the rule"},
    {"SecAction \"phase:1,pass\"\n", ":3: SecAction: ModSecurity: No action id present"},
    {"SecRule REMOTE_ADDR \"x\" \"id:7,pass\"\nSecRule REMOTE_ADDR \"y\" \"id:7,pass\"\n",
     ":4: SecRule: ModSecurity: Found another rule with the same id"},
    {"SecRule REMOTE_ADDR \"x\" \"id:0,pass\"\n",
     ":3: SecRule: ModSecurity: Invalid value for action ID: 0"},
    {"SecRule REMOTE_ADDR \"x\" \"id:abc,pass\"\n", "Invalid value for action ID: abc"},
    {"SecRule REMOTE_ADDR \"x\" \"id:-3,pass\"\n", "Invalid value for action ID: -3"},
    {"SecRuleEngine Maybe\n", ":3: SecRuleEngine: Invalid value for SecRuleEngine: Maybe"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,block\"\n", ":3: SecRule: unsupported action 'block'"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,severity:2\"\n", "unsupported action 'severity'"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,t:base64Decode\"\n",
     ":3: SecRule: unsupported transformation t:base64Decode"},
    {"SecRule ARGS \"x\" \"id:1\"\n", ":3: SecRule: unsupported variable ARGS"},
    {"SecRule REQUEST_HEADERS:/^x/ \"x\" \"id:1\"\n", "unsupported selector REQUEST_HEADERS:/^x/"},
    {"SecRule !REQUEST_HEADERS:x \"x\" \"id:1\"\n",
     "unsupported variable syntax '!REQUEST_HEADERS:x'"},
    {"SecRule &ARGS_GET \"x\" \"id:1\"\n", "unsupported variable syntax '&ARGS_GET'"},
    {"SecRule REMOTE_ADDR:x \"x\" \"id:1\"\n", "variable REMOTE_ADDR takes no ':' selector"},
    {"SecRule REMOTE_ADDR \"@pm a b\" \"id:1\"\n", ":3: SecRule: unsupported operator @pm"},
    {"SecRule REMOTE_ADDR \"(\" \"id:1\"\n", ":3: SecRule: Error compiling pattern '('"},
    {"SecRule REMOTE_ADDR \"@ipMatch 10.0.0.0/99\" \"id:1\"\n",
     "@ipMatch: invalid IP address or network '10.0.0.0/99'"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,phase:3\"\n", "phase:3 is not supported"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,phase:9\"\n", "Invalid value for action phase: 9"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,status:99\"\n", "Invalid value for action status: 99"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,setvar:ip.x=1\"\n", "setvar:ip.x=1: unsupported collection"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,setenv:A=%{GEO.country}\"\n",
     "unsupported macro %{GEO.country}"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,msg:'unterminated\"\n", "missing closing quote"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,pass:yes\"\n", "action 'pass' takes no value"},
    {"SecRule REMOTE_ADDR \"x\" \"id\"\n", "action 'id' needs a value"},
    {"<Location /x>\nSecRule REMOTE_ADDR \"x\" \"id:1\"\n</Location>\n",
     ":4: SecRule: portico runs SecRules in server/vhost context only"},
    {"<Location /x>\nSecRuleEngine On\n</Location>\n",
     ":4: SecRuleEngine: portico runs SecRules in server/vhost context only"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,chain\"\nSecRule REMOTE_ADDR \"y\" \"id:2\"\n",
     ":4: SecRule: ModSecurity: Metadata actions"},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,chain\"\nSecRule REMOTE_ADDR \"y\" \"phase:1\"\n",
     ":4: SecRule: ModSecurity: Execution phases can only be specified by chain starter rules."},
    {"SecRule REMOTE_ADDR \"x\" \"id:1,chain\"\nSecRule REMOTE_ADDR \"y\" \"deny\"\n",
     "ModSecurity: Disruptive actions can only be specified by chain starter rules."},
    {"SecDefaultAction \"phase:1,log\"\n",
     ":3: SecDefaultAction: ModSecurity: SecDefaultAction must specify a disruptive action."},
    {"SecDefaultAction \"pass,log\"\n", "ModSecurity: SecDefaultAction must specify a phase."},
    {"SecDefaultAction \"phase:1,pass,id:4\"\n",
     "SecDefaultAction must not contain any metadata actions"},
    {"SecDefaultAction \"phase:1,pass,chain\"\n",
     "ModSecurity: SecDefaultAction must not contain a chain action."},
    {"SecRule REMOTE_ADDR\n", ":3: SecRule: takes two or three arguments"},
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
}

/* ---- the -t warning, logging ---- */

static int has_warning(const struct conf *c, const char *needle)
{
    for (const struct conf_msg *m = c->warnings; m != NULL; m = m->next)
        if (strstr(m->text, needle) != NULL)
            return 1;
    return 0;
}

static void test_warnings(void)
{
    struct conf *c = load("SecRuleEngine On\nSecRule REMOTE_ADDR \"^(.)\" "
                          "\"phase:1,id:1,nolog,pass,t:sha1,t:hexEncode,setenv:H=%{TX.1}\"\n");
    ok(c != NULL && has_warning(c, ":4: SecRule: %{TX.n} is used without the capture action"),
       "-t warns about %%{TX.1} without capture");
    conf_free(c);
    c = load(TUT);
    ok(c != NULL && !has_warning(c, "TX.n"), "no warning with capture");
    conf_free(c);
    c = load("SecRule REQUEST_URI \"(a)\" \"id:1,capture\"\n"
             "SecRule REMOTE_ADDR \".\" \"id:2,setenv:H=%{TX.1}\"\n");
    ok(c != NULL && !has_warning(c, "TX.n"), "no warning after an earlier capturing rule");
    conf_free(c);
    c = load("SecRule REMOTE_ADDR \".\" \"id:2,setenv:H=%{TX.name}\"\n");
    ok(c != NULL && !has_warning(c, "TX.n"), "no warning for named TX variables");
    conf_free(c);
}

static char *read_all(const char *path)
{
    static char buf[8192];
    FILE *f = fopen(path, "r");
    size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;
    buf[n] = '\0';
    if (f)
        fclose(f);
    return buf;
}

static void test_logging(void)
{
    char path[] = "/tmp/test_secrule_log.XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0, "log file");
    if (fd < 0)
        return;
    log_set_target(fd, NULL);
    struct conf *c =
        load("SecRuleEngine On\n"
             "SecRule REQUEST_FILENAME \"^/adm\" \"id:42,phase:1,deny,msg:'Admin "
             "%{REQUEST_METHOD}',tag:'t1'\"\n"
             "SecRule REQUEST_FILENAME \"^/warn\" \"id:43,phase:1,pass\"\n"
             "SecRule REQUEST_FILENAME \"^/quiet\" \"id:44,phase:1,pass,nolog\"\n"
             "SecRule REQUEST_FILENAME \"!@beginsWith /ok\" \"id:45,phase:2,pass,log\"\n"
             "SecAction \"id:46,phase:2,pass,log\"\n");
    ok(c != NULL, "logging config loads %s", c ? "" : errbuf);
    if (c == NULL)
        return;
    struct request r;
    fake_request(&r, c, NULL, "10.0.0.9", "GET", "/admin", NULL, "Host: h.example\n");
    is_int(secrule_run(&r, 1), 403, "deny logged");
    const char *log = read_all(path);
    ok(strstr(log, "[security2:error]") != NULL, "module and level: %s", log);
    ok(strstr(log, "[client 10.0.0.9:40000] ModSecurity: Access denied with code 403 (phase 1). "
                   "Pattern match \"^/adm\" at REQUEST_FILENAME. [file \"") != NULL,
       "ModSecurity's deny message");
    ok(strstr(log, "[line \"4\"] [id \"42\"] [msg \"Admin GET\"] [tag \"t1\"] [hostname "
                   "\"h.example\"] [uri \"/admin\"]") != NULL,
       "metadata fields");
    fake_request(&r, c, NULL, "10.0.0.9", "GET", "/warn", NULL, NULL);
    is_int(secrule_run(&r, 1), 0, "pass");
    log = read_all(path);
    ok(strstr(log, "ModSecurity: Warning. Pattern match \"^/warn\" at REQUEST_FILENAME.") != NULL,
       "Warning for a pass rule");
    size_t before = strlen(log);
    fake_request(&r, c, NULL, "10.0.0.9", "GET", "/quiet", NULL, NULL);
    secrule_run(&r, 1);
    is_int(strlen(read_all(path)), before, "nolog writes nothing");
    fake_request(&r, c, NULL, "10.0.0.9", "GET", "/x", NULL, NULL);
    secrule_run(&r, 2);
    log = read_all(path);
    ok(strstr(log, "Match of \"beginsWith /ok\" against \"REQUEST_FILENAME\" required.") != NULL,
       "negated operator message");
    ok(strstr(log, "Warning. Unconditional match in SecAction.") != NULL, "SecAction message");
    conf_free(c);
    c = load("SecRuleEngine DetectionOnly\n"
             "SecRule REQUEST_FILENAME \"^/adm\" \"id:42,phase:1,deny\"\n");
    fake_request(&r, c, NULL, "10.0.0.9", "GET", "/admin", NULL, NULL);
    is_int(secrule_run(&r, 1), 0, "DetectionOnly: no status");
    log = read_all(path);
    ok(strstr(log, "Warning. Pattern match \"^/adm\" at REQUEST_FILENAME. [file") != NULL,
       "DetectionOnly logs a warning");
    conf_free(c);
    log_set_target(-1, NULL);
    close(fd);
    unlink(path);
}

int main(void)
{
    A = arena_create(0);
    test_cases();
    test_errors();
    test_warnings();
    test_logging();
    testconf_clean();
    arena_destroy(A);
    return tap_done();
}
