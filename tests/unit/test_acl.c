/* Unit tests of access control: address parsing and matching (APR's rules), the directives'
 * error messages (through conf_load), Require trees, Order/Allow/Deny tables, Satisfy,
 * AuthMerging and the merge across sections. Expected results were checked against
 * Debian's apache2 2.4 where the manual is silent. */
#include <arpa/inet.h>
#include <ftw.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "acl.h"
#include "conf.h"
#include "tap.h"
#include "testconf.h"

static char errbuf[8192];

/* Loads "Listen ..." + body from a fresh temporary ServerRoot. */
static struct conf *load(const char *body)
{
    return testconf_load("test_acl", "Listen 127.0.0.1:8080\n", body, errbuf, sizeof(errbuf));
}

/* The load's error text with the config path replaced by "F" and the last newline cut. */
static const char *load_error(const char *body)
{
    static char out[8192];
    struct conf *c = load(body);
    if (c != NULL) {
        conf_free(c);
        return "(loaded)";
    }
    char prefix[512];
    int pl = snprintf(prefix, sizeof(prefix), "%s/portico.conf", testconf_root);
    size_t o = 0;
    for (const char *p = errbuf; *p && o + 2 < sizeof(out);) {
        if (strncmp(p, prefix, (size_t)pl) == 0) {
            out[o++] = 'F';
            p += pl;
        } else {
            out[o++] = *p++;
        }
    }
    while (o > 0 && out[o - 1] == '\n')
        o--;
    out[o] = '\0';
    return out;
}

static struct sockaddr_storage addr(const char *ip)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    if (strchr(ip, ':') != NULL) {
        struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
        s6->sin6_family = AF_INET6;
        if (inet_pton(AF_INET6, ip, &s6->sin6_addr) != 1)
            fprintf(stderr, "bad test address %s\n", ip);
    } else {
        struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
        s4->sin_family = AF_INET;
        if (inet_pton(AF_INET, ip, &s4->sin_addr) != 1)
            fprintf(stderr, "bad test address %s\n", ip);
    }
    return ss;
}

/* "addr/mask" in text, to compare parsed networks. */
static const char *net_text(const struct acl_net *n)
{
    static char buf[128];
    char a[INET6_ADDRSTRLEN], m[INET6_ADDRSTRLEN];
    int fam = n->family == AF_INET6 ? AF_INET6 : AF_INET;
    inet_ntop(fam, n->addr, a, sizeof(a));
    inet_ntop(fam, n->mask, m, sizeof(m));
    snprintf(buf, sizeof(buf), "%s/%s", a, m);
    return buf;
}

/* ---- acl_parse_net ---- */

static void test_parse_net(void)
{
    static const struct {
        const char *in;
        enum acl_net_status st;
        const char *want; /* addr/mask when OK */
    } t[] = {
        {"10.1.2.3", ACL_NET_OK, "10.1.2.3/255.255.255.255"},
        {"10.1.2.3/8", ACL_NET_OK, "10.0.0.0/255.0.0.0"},
        {"10.1.2.3/255.255.0.0", ACL_NET_OK, "10.1.0.0/255.255.0.0"},
        {"10.1.2.3/255.0.255.0", ACL_NET_OK, "10.0.2.0/255.0.255.0"},
        {"10.1.2.3/0.0.0.0", ACL_NET_OK, "0.0.0.0/0.0.0.0"},
        {"192.168.1.0/24", ACL_NET_OK, "192.168.1.0/255.255.255.0"},
        {"1.2.3.4/32", ACL_NET_OK, "1.2.3.4/255.255.255.255"},
        {"1.2.3.4/08", ACL_NET_OK, "1.0.0.0/255.0.0.0"},
        {"10.1", ACL_NET_OK, "10.1.0.0/255.255.0.0"},
        {"10.1.", ACL_NET_OK, "10.1.0.0/255.255.0.0"},
        {"10", ACL_NET_OK, "10.0.0.0/255.0.0.0"},
        {"172.20.5", ACL_NET_OK, "172.20.5.0/255.255.255.0"},
        {"010.1.2.3", ACL_NET_OK, "10.1.2.3/255.255.255.255"},
        {"2001:db8::1", ACL_NET_OK, "2001:db8::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        {"2001:db8:1:2::/64", ACL_NET_OK, "2001:db8:1:2::/ffff:ffff:ffff:ffff::"},
        {"2001:db8::/33", ACL_NET_OK, "2001:db8::/ffff:ffff:8000::"},
        {"::1", ACL_NET_OK, "::1/ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"},
        {"fe80::1/10", ACL_NET_OK, "fe80::/ffc0::"},
        {"1.2.3.4/0", ACL_NET_BAD_MASK, NULL},
        {"1.2.3.4/33", ACL_NET_BAD_MASK, NULL},
        {"1.2.3.4/", ACL_NET_BAD_MASK, NULL},
        {"1.2.3.4/8x", ACL_NET_BAD_MASK, NULL},
        {"1.2.3.4/255.255", ACL_NET_BAD_MASK, NULL},
        {"::1/255.0.0.0", ACL_NET_BAD_MASK, NULL},
        {"2001:db8::/129", ACL_NET_BAD_MASK, NULL},
        {"10.1/16", ACL_NET_BAD_IP, NULL},
        {"1/8", ACL_NET_BAD_IP, NULL},
        {"1.2.3.256", ACL_NET_BAD_IP, NULL},
        {"1.2.3.4.5", ACL_NET_BAD_IP, NULL},
        {"10..1", ACL_NET_BAD_IP, NULL},
        {".10", ACL_NET_BAD_IP, NULL},
        {"::ffff:1.2.3.4", ACL_NET_BAD_IP, NULL},
        {"fe80::1%eth0", ACL_NET_BAD_IP, NULL},
        {"1:2:3", ACL_NET_BAD_IP, NULL},
        {"abc", ACL_NET_NOT_IP, NULL},
        {"example.com", ACL_NET_NOT_IP, NULL},
        {"", ACL_NET_NOT_IP, NULL},
        {"/8", ACL_NET_NOT_IP, NULL},
        {"1.2.3.4 5.6.7.8", ACL_NET_NOT_IP, NULL},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct acl_net n;
        enum acl_net_status st = acl_parse_net_status(t[i].in, &n);
        is_int(st, t[i].st, "parse '%s' status", t[i].in);
        is_int(acl_parse_net(t[i].in, &n), t[i].st == ACL_NET_OK ? 0 : -1,
               "acl_parse_net '%s' result", t[i].in);
        if (t[i].want != NULL && st == ACL_NET_OK)
            is_str(net_text(&n), t[i].want, "parse '%s' value", t[i].in);
    }
    is_str(acl_net_strerror(ACL_NET_BAD_IP), "The specified IP address is invalid.", "BAD_IP text");
    is_str(acl_net_strerror(ACL_NET_BAD_MASK), "The specified network mask is invalid.",
           "BAD_MASK text");
}

/* ---- acl_net_match ---- */

static void test_net_match(void)
{
    static const struct {
        const char *net, *client;
        int want;
    } t[] = {
        {"10.0.0.0/8", "10.200.3.4", 1},
        {"10.0.0.0/8", "11.0.0.1", 0},
        {"10.1", "10.1.255.255", 1},
        {"10.1", "10.2.0.1", 0},
        {"192.168.1.7", "192.168.1.7", 1},
        {"192.168.1.7", "192.168.1.8", 0},
        {"10.1.2.3/255.0.255.0", "10.9.2.9", 1},
        {"10.1.2.3/255.0.255.0", "10.9.3.9", 0},
        {"0.0.0.0/0.0.0.0", "203.0.113.9", 1},
        /* v4-mapped clients (dual-stack listener) match IPv4 rules, never IPv6 ones */
        {"10.0.0.0/8", "::ffff:10.1.2.3", 1},
        {"10.0.0.0/8", "::ffff:11.1.2.3", 0},
        {"::/1", "::ffff:10.1.2.3", 0},
        {"2001:db8::/32", "2001:db8:ffff::1", 1},
        {"2001:db8::/32", "2001:db9::1", 0},
        {"2001:db8::/33", "2001:db8:7fff::1", 1},
        {"2001:db8::/33", "2001:db8:8000::1", 0},
        {"::1", "::1", 1},
        /* families never cross otherwise */
        {"2001:db8::/32", "10.0.0.1", 0},
        {"10.0.0.0/8", "2001:db8::1", 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct acl_net n;
        acl_parse_net(t[i].net, &n);
        struct sockaddr_storage c = addr(t[i].client);
        is_int(acl_net_match(&n, &c), t[i].want, "%s matches %s: %d", t[i].net, t[i].client,
               t[i].want);
    }
    struct sockaddr_storage cl;
    is_int(acl_client_parse("10.1.2.3", &cl), 0, "client text: IPv4");
    is_int(cl.ss_family, AF_INET, "client text: IPv4 family");
    struct acl_net ten;
    acl_parse_net("10.0.0.0/8", &ten);
    is_int(acl_net_match(&ten, &cl), 1, "client text: IPv4 matches");
    is_int(acl_client_parse("::ffff:10.1.2.3", &cl), 0, "client text: v4-mapped");
    is_int(acl_net_match(&ten, &cl), 1, "client text: v4-mapped matches IPv4 rule");
    is_int(acl_client_parse("2001:db8::1", &cl), 0, "client text: IPv6");
    is_int(cl.ss_family, AF_INET6, "client text: IPv6 family");
    is_int(acl_client_parse("localhost", &cl), -1, "client text: a name is refused");
    is_int(acl_client_parse("", &cl), -1, "client text: empty is refused");

    struct sockaddr_storage unix_client;
    memset(&unix_client, 0, sizeof(unix_client));
    unix_client.ss_family = AF_UNIX;
    struct acl_net any;
    acl_parse_net("0.0.0.0/0.0.0.0", &any);
    is_int(acl_net_match(&any, &unix_client), 0, "non-IP client matches nothing");
    is_int(acl_net_match(NULL, &unix_client), 0, "NULL net matches nothing");
}

/* ---- config errors ---- */

static void test_errors(void)
{
    static const struct {
        const char *body, *want;
    } t[] = {
        /* contexts */
        {"Require all granted\n",
         "F:2: Require: not allowed in the main server config, only in <Location>, <Directory>, "
         "<Files>, <Proxy>"},
        {"<VirtualHost *:8080>\nRequire all granted\n</VirtualHost>\n",
         "F:3: Require: cannot occur within <VirtualHost> section"},
        {"Order allow,deny\n",
         "F:2: Order: not allowed in the main server config, only in <Location>, <Directory>, "
         "<Files>, <Proxy>"},
        {"<RequireAll>\nRequire all granted\n</RequireAll>\n",
         "F:2: <RequireAll>: not allowed in the main server config, only in <Location>, "
         "<Directory>, <Files>, <Proxy>"},
        {"<Location />\n<RequireAll>\nOrder allow,deny\nRequire ip 1.2.3.4\n</RequireAll>\n"
         "</Location>\n",
         "F:4: Order: cannot occur within <RequireAll> section"},
        {"<Location />\n<RequireAny>\nOptions None\nRequire ip 1.2.3.4\n</RequireAny>\n"
         "</Location>\n",
         "F:4: Options: cannot occur within <RequireAny> section"},
        /* Require providers */
        {"<Location />\nRequire all\n</Location>\n",
         "F:3: Require: Argument for 'Require all' must be 'granted' or 'denied'"},
        {"<Location />\nRequire all granted extra\n</Location>\n",
         "F:3: Require: Argument for 'Require all' must be 'granted' or 'denied'"},
        {"<Location />\nRequire all maybe\n</Location>\n",
         "F:3: Require: Argument for 'Require all' must be 'granted' or 'denied'"},
        {"<Location />\nRequire All granted\n</Location>\n",
         "F:3: Require: Unknown Authz provider: All"},
        {"<Location />\nRequire foo\n</Location>\n", "F:3: Require: Unknown Authz provider: foo"},
        {"<Location />\nRequire not\n</Location>\n", "F:3: Require: Unknown Authz provider: "},
        {"<Location />\nRequire\n</Location>\n",
         "F:3: Require: requires at least one argument ([not] all granted|denied, ip ADDRESS..., "
         "or local)"},
        {"<Location />\nRequire ip\n</Location>\n",
         "F:3: Require: 'require ip' requires an argument"},
        {"<Location />\nRequire ip \"\"\n</Location>\n",
         "F:3: Require: 'require ip' requires an argument"},
        {"<Location />\nRequire ip 10.1/16\n</Location>\n",
         "F:3: Require: ip address '10.1/16' appears to be invalid: The specified IP address is "
         "invalid."},
        {"<Location />\nRequire ip 10.0.0.0/0\n</Location>\n",
         "F:3: Require: ip address '10.0.0.0/0' appears to be invalid: The specified network "
         "mask is invalid."},
        {"<Location />\nRequire ip 1.2.3.4 abc\n</Location>\n",
         "F:3: Require: ip address 'abc' appears to be invalid"},
        {"<Location />\nRequire ip ::ffff:1.2.3.4\n</Location>\n",
         "F:3: Require: ip address '::ffff:1.2.3.4' appears to be invalid: The specified IP "
         "address is invalid."},
        {"<Location />\nRequire host example.com\n</Location>\n",
         "F:3: Require: 'Require host' needs DNS lookups, which portico does not do; use Require "
         "ip with addresses or networks"},
        {"<Location />\nRequire forward-dns example.com\n</Location>\n",
         "F:3: Require: 'Require forward-dns' needs DNS lookups, which portico does not do; use "
         "Require ip with addresses or networks"},
        {"<Location />\nRequire env LET_IN\n</Location>\n",
         "F:3: Require: 'Require env' is not supported: portico's access rules see only the "
         "client address (Require all, ip, local)"},
        {"<Location />\nRequire method GET\n</Location>\n",
         "F:3: Require: 'Require method' is not supported: portico's access rules see only the "
         "client address (Require all, ip, local)"},
        {"<Location />\nRequire expr \"%{REMOTE_ADDR} == '1.2.3.4'\"\n</Location>\n",
         "F:3: Require: 'Require expr' is not supported: portico does not evaluate httpd "
         "expressions; use Require ip/local/all inside <RequireAll>/<RequireAny>/<RequireNone>"},
        {"<Location />\nRequire valid-user\n</Location>\n",
         "F:3: Require: 'Require valid-user' needs an authenticated user, and portico has no "
         "authentication modules (mod_auth_basic, mod_authn_*); restrict by address (Require "
         "ip) or authenticate in the backend"},
        {"<Location />\nRequire user bob\n</Location>\n",
         "F:3: Require: 'Require user' needs an authenticated user, and portico has no "
         "authentication modules (mod_auth_basic, mod_authn_*); restrict by address (Require "
         "ip) or authenticate in the backend"},
        /* negation and containers */
        {"<Location />\nRequire not ip 1.2.3.4\n</Location>\n",
         "F:3: Require: negative Require directive has no effect in <RequireAny> directive"},
        {"<Location />\nRequire all granted\nRequire not ip 1.2.3.4\n</Location>\n",
         "F:4: Require: negative Require directive has no effect in <RequireAny> directive"},
        {"<Location />\n<RequireAny>\nRequire not ip 1.2.3.4\n</RequireAny>\n</Location>\n",
         "F:4: Require: negative Require directive has no effect in <RequireAny> directive"},
        {"<Location />\n<RequireNone>\nRequire not ip 1.2.3.4\n</RequireNone>\n</Location>\n",
         "F:4: Require: negative Require directive has no effect in <RequireNone> directive"},
        {"<Location />\n<RequireAll>\n</RequireAll>\n</Location>\n",
         "F:3: <RequireAll>: <RequireAll> directive contains no authorization directives"},
        {"<Location />\n<RequireAll>\nRequire all granted\n<RequireNone>\n</RequireNone>\n"
         "</RequireAll>\n</Location>\n",
         "F:5: <RequireNone>: <RequireNone> directive contains no authorization directives"},
        {"<Location />\n<RequireNone>\nRequire ip 1.2.3.4\n</RequireNone>\n</Location>\n",
         "F:3: <RequireNone>: <RequireNone> directive has no effect in <RequireAny> directive"},
        {"<Location />\n<RequireAny>\n<RequireNone>\nRequire ip 1.2.3.4\n</RequireNone>\n"
         "</RequireAny>\n</Location>\n",
         "F:4: <RequireNone>: <RequireNone> directive has no effect in <RequireAny> directive"},
        {"<Location />\n<RequireAll>\nRequire not ip 1.2.3.4\n</RequireAll>\n</Location>\n",
         "F:3: <RequireAll>: <RequireAll> directive contains only negative authorization "
         "directives"},
        {"<Location />\n<RequireAll>\n<RequireNone>\nRequire ip 1.2.3.4\n</RequireNone>\n"
         "</RequireAll>\n</Location>\n",
         "F:3: <RequireAll>: <RequireAll> directive contains only negative authorization "
         "directives"},
        {"<Location />\n<RequireAll x>\nRequire ip 1.2.3.4\n</RequireAll>\n</Location>\n",
         "F:3: <RequireAll>: takes no arguments (a container of Require lines)"},
        /* one error only when a Require inside a container fails */
        {"<Location />\n<RequireAll>\nRequire ip bogus\n</RequireAll>\n</Location>\n",
         "F:4: Require: ip address 'bogus' appears to be invalid"},
        /* AuthMerging, Order, Allow, Deny, Satisfy */
        {"<Location />\nAuthMerging sometimes\n</Location>\n",
         "F:3: AuthMerging: must be one of: Off | And | Or"},
        {"<Location />\nOrder foo\n</Location>\n",
         "F:3: Order: unknown order 'foo' (Allow,Deny, Deny,Allow or Mutual-failure)"},
        {"<Location />\nOrder allow, deny\n</Location>\n",
         "F:3: Order: takes one argument ('allow,deny', 'deny,allow', or 'mutual-failure')"},
        {"<Location />\nAllow 1.2.3.4\n</Location>\n",
         "F:3: Allow: requires at least two arguments, 'from' followed by hostnames or "
         "IP-address wildcards"},
        {"<Location />\nDeny to 1.2.3.4\n</Location>\n",
         "F:3: Deny: allow and deny must be followed by 'from'"},
        {"<Location />\nAllow from 10.1/16\n</Location>\n",
         "F:3: Allow: '10.1/16': The specified IP address is invalid."},
        {"<Location />\nAllow from 1.2.3.4/0\n</Location>\n",
         "F:3: Allow: '1.2.3.4/0': The specified network mask is invalid."},
        {"<Location />\nDeny from abc/8\n</Location>\n",
         "F:3: Deny: 'abc/8': An IP address was expected"},
        {"<Location />\nAllow from 1.2.3.4 example.com\n</Location>\n",
         "F:3: Allow: 'example.com' looks like a host name, which needs DNS lookups that portico "
         "does not do; use IP addresses or networks"},
        {"<Location />\nAllow from env=LET_IN\n</Location>\n",
         "F:3: Allow: 'env=LET_IN': env= conditions are not supported: portico's access rules "
         "see only the client address"},
        {"<Location />\nSatisfy some\n</Location>\n",
         "F:3: Satisfy: must be 'any' or 'all', not 'some'"},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        is_str(load_error(t[i].body), t[i].want, "error %zu: %s", i, t[i].want);

    /* accepted as httpd accepts them */
    static const char *const good[] = {
        "<Location />\nRequire local extra words\n</Location>\n",
        "<Location />\nRequire all GRANTED\nRequire NOT ip 1.2.3.4\n</Location>\n" /* fails */,
        "<Location />\n<RequireAll>\n<RequireAll>\nRequire not ip 1.2.3.4\n</RequireAll>\n"
        "Require ip 5.6.7.8\n</RequireAll>\n</Location>\n",
        "<Location />\n<RequireAll>\nSatisfy any\nRequire ip 1.2.3.4\n</RequireAll>\n</Location>\n",
        "<Directory />\nRequire ip 1.2.3.4\n<Files x>\nRequire all "
        "denied\n</Files>\n</Directory>\n",
        "<Proxy *>\nOrder deny,allow\nAllow from all\nSatisfy All\n</Proxy>\n",
        "<ProxyMatch ^http://>\nRequire all granted\nAuthzSendForbiddenOnFailure "
        "On\n</ProxyMatch>\n",
        "<LocationMatch ^/a>\nOrder Allow,Deny\nAllow from 10.1 192.168.0.0/16 2001:db8::/32\n"
        "Deny from 10.1.2.3\n</LocationMatch>\n",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        const char *e = load_error(good[i]);
        if (i == 1)
            is_str(e,
                   "F:4: Require: negative Require directive has no effect in <RequireAny> "
                   "directive",
                   "'not' is case-insensitive, so the negation is still refused");
        else
            is_str(e, "(loaded)", "accepted as httpd does: config %zu", i);
    }
}

/* ---- evaluation of one section ---- */

struct eval_case {
    const char *client;
    int want;
};

/* Loads body and checks every listed client against the first section's rules with
 * acl_check() and against all sections with acl_check_sections(). */
static void check_one(const char *name, const char *body, const struct eval_case *cases)
{
    struct conf *c = load(body);
    ok(c != NULL, "%s: loads", name);
    if (c == NULL) {
        printf("# %s", errbuf);
        return;
    }
    const struct conf_dir *secs[32];
    int n = 0;
    for (const struct conf_dir *d = c->main->dirs; d != NULL && n < 32; d = d->next)
        secs[n++] = d;
    for (const struct eval_case *e = cases; e->client != NULL; e++) {
        struct sockaddr_storage ss = addr(e->client);
        if (n == 1)
            is_int(acl_check(secs[0]->acl, &ss), e->want, "%s: %s -> %s", name, e->client,
                   e->want ? "granted" : "denied");
        else
            is_int(acl_check_sections(secs, n, &ss), e->want, "%s: %s -> %s (merged)", name,
                   e->client, e->want ? "granted" : "denied");
    }
    conf_free(c);
}

#define LOC(body)  "<Location />\n" body "</Location>\n"
#define CASES(...) ((const struct eval_case[]){__VA_ARGS__, {NULL, 0}})

static void test_require(void)
{
    struct sockaddr_storage any = addr("10.0.0.1");
    is_int(acl_check(NULL, &any), 1, "NULL acl grants");
    is_int(acl_check_sections(NULL, 0, &any), 1, "no sections grant");

    check_one("all granted", LOC("Require all granted\n"), CASES({"1.2.3.4", 1}, {"::1", 1}));
    check_one("all denied", LOC("Require all denied\n"),
              CASES({"1.2.3.4", 0}, {"127.0.0.1", 0}, {"2001:db8::1", 0}));
    check_one("ip list", LOC("Require ip 10.1 192.168.0.0/16 172.16.0.1\n"),
              CASES({"10.1.9.9", 1}, {"10.2.0.1", 0}, {"192.168.44.2", 1}, {"172.16.0.1", 1},
                    {"172.16.0.2", 0}, {"::ffff:192.168.1.1", 1}));
    check_one("several Require lines = any",
              LOC("Require ip 10.0.0.0/8\nRequire ip 2001:db8::/32\n"),
              CASES({"10.3.3.3", 1}, {"2001:db8::5", 1}, {"11.0.0.1", 0}, {"2001:db9::5", 0}));
    check_one("local", LOC("Require local\n"),
              CASES({"127.0.0.1", 1}, {"127.5.6.7", 1}, {"::1", 1}, {"::ffff:127.0.0.1", 1},
                    {"10.0.0.1", 0}, {"::2", 0}));
    check_one("not ip inside RequireAll",
              LOC("<RequireAll>\nRequire all granted\nRequire not ip 10.0.0.0/8\n</RequireAll>\n"),
              CASES({"10.1.1.1", 0}, {"11.1.1.1", 1}, {"::ffff:10.0.0.1", 0}, {"::1", 1}));
    check_one("RequireAll: every one must pass",
              LOC("<RequireAll>\nRequire ip 10.0.0.0/8\nRequire ip 10.1.0.0/16\n</RequireAll>\n"),
              CASES({"10.1.2.3", 1}, {"10.2.2.3", 0}, {"11.1.2.3", 0}));
    check_one("RequireAll with not and no grant for the rest",
              LOC("<RequireAll>\nRequire ip 10.0.0.0/8\nRequire not ip 10.9.0.0/16\n"
                  "</RequireAll>\n"),
              CASES({"10.1.0.1", 1}, {"10.9.0.1", 0}, {"192.0.2.1", 0}));
    check_one("RequireNone inside RequireAll",
              LOC("<RequireAll>\nRequire all granted\n<RequireNone>\nRequire ip 10.0.0.0/8\n"
                  "Require ip 192.168.0.0/16\n</RequireNone>\n</RequireAll>\n"),
              CASES({"10.0.0.1", 0}, {"192.168.1.1", 0}, {"172.16.0.1", 1}));
    check_one("RequireAny of RequireAlls",
              LOC("<RequireAny>\n<RequireAll>\nRequire ip 10.0.0.0/8\nRequire not ip 10.0.0.1\n"
                  "</RequireAll>\n<RequireAll>\nRequire ip 192.168.0.0/16\n"
                  "Require not ip 192.168.0.0/24\n</RequireAll>\n</RequireAny>\n"),
              CASES({"10.0.0.2", 1}, {"10.0.0.1", 0}, {"192.168.1.1", 1}, {"192.168.0.9", 0},
                    {"8.8.8.8", 0}));
    check_one(
        "deep nesting",
        LOC("<RequireAll>\n<RequireAny>\nRequire ip 10.0.0.0/8\nRequire local\n"
            "</RequireAny>\n<RequireNone>\n<RequireAll>\nRequire ip 10.5.0.0/16\n"
            "Require not ip 10.5.5.5\n</RequireAll>\n</RequireNone>\n</RequireAll>\n"),
        CASES({"10.1.1.1", 1}, {"127.0.0.1", 1}, {"10.5.1.1", 0}, {"10.5.5.5", 1}, {"9.9.9.9", 0}));
    check_one("nested RequireAll spliced (httpd accepts its lone not)",
              LOC("<RequireAll>\n<RequireAll>\nRequire not ip 1.2.3.4\n</RequireAll>\n"
                  "Require ip 1.2.3.0/24\n</RequireAll>\n"),
              CASES({"1.2.3.4", 0}, {"1.2.3.5", 1}, {"1.2.4.5", 0}));
    check_one(
        "IPv6 rules", LOC("Require ip 2001:db8::/48 fe80::/10\n"),
        CASES({"2001:db8:0:1::1", 1}, {"2001:db8:1::1", 0}, {"fe80::abcd", 1}, {"10.0.0.1", 0}));
    check_one("all denied or ip", LOC("Require all denied\nRequire ip 10.0.0.1\n"),
              CASES({"10.0.0.1", 1}, {"10.0.0.2", 0}));
}

/* ---- mod_access_compat ---- */

static void test_compat(void)
{
    /* mod_access_compat.xml's table: Order Deny,Allow / Allow,Deny against "allow only",
     * "deny only", "neither", "both". */
    const char *rules = "Allow from 10.0.0.0/8\nDeny from 10.9.0.0/16 192.168.0.0/16\n";
    char body[512];
    snprintf(body, sizeof(body), LOC("Order Deny,Allow\n%s"), rules);
    check_one("Deny,Allow table", body,
              CASES({"10.1.0.1", 1} /* allow only */, {"192.168.0.1", 0} /* deny only */,
                    {"172.16.0.1", 1} /* neither: default allow */,
                    {"10.9.0.1", 1} /* both: Allow evaluated last */));
    snprintf(body, sizeof(body), LOC("Order Allow,Deny\n%s"), rules);
    check_one("Allow,Deny table", body,
              CASES({"10.1.0.1", 1}, {"192.168.0.1", 0}, {"172.16.0.1", 0}, {"10.9.0.1", 0}));
    snprintf(body, sizeof(body), LOC("Order Mutual-failure\n%s"), rules);
    check_one("Mutual-failure", body,
              CASES({"10.1.0.1", 1}, {"192.168.0.1", 0}, {"172.16.0.1", 0}, {"10.9.0.1", 0}));
    check_one("default order is Deny,Allow", LOC("Deny from 10.0.0.0/8\n"),
              CASES({"10.0.0.1", 0}, {"11.0.0.1", 1}));
    check_one("manual: deny all, allow one network",
              LOC("Order Deny,Allow\nDeny from all\nAllow from 192.0.2.0/24\n"),
              CASES({"192.0.2.7", 1}, {"198.51.100.7", 0}));
    check_one("manual: allow all, deny one address",
              LOC("Order Allow,Deny\nAllow from all\nDeny from 203.0.113.5\n"),
              CASES({"203.0.113.5", 0}, {"203.0.113.6", 1}, {"::1", 1}));
    check_one("Order Allow,Deny alone denies everyone", LOC("Order Allow,Deny\n"),
              CASES({"127.0.0.1", 0}, {"::1", 0}));
    check_one("Order Deny,Allow alone allows everyone", LOC("Order Deny,Allow\n"),
              CASES({"127.0.0.1", 1}));
    check_one(
        "partial address and IPv6 in Allow",
        LOC("Order Allow,Deny\nAllow from 10.1 2001:db8::/32\n"),
        CASES({"10.1.200.1", 1}, {"10.2.0.1", 0}, {"2001:db8::9", 1}, {"::ffff:10.1.0.1", 1}));
    check_one("Allow lines accumulate", LOC("Order Allow,Deny\nAllow from 10.1\nAllow from 10.2\n"),
              CASES({"10.1.0.1", 1}, {"10.2.0.1", 1}, {"10.3.0.1", 0}));
}

/* ---- Satisfy and mixing the two styles (as httpd 2.4 does; checked live) ---- */

static void test_satisfy(void)
{
    check_one("mixed, Satisfy All (default): both must pass",
              LOC("Order Deny,Allow\nDeny from all\nAllow from 10.0.0.0/8\n"
                  "Require ip 10.1.0.0/16\n"),
              CASES({"10.1.0.1", 1}, {"10.2.0.1", 0}, {"11.0.0.1", 0}));
    check_one("mixed, Satisfy Any: either is enough",
              LOC("Order Deny,Allow\nDeny from all\nAllow from 10.0.0.0/8\n"
                  "Require ip 192.168.0.0/16\nSatisfy Any\n"),
              CASES({"10.1.0.1", 1}, {"192.168.0.1", 1}, {"11.0.0.1", 0}));
    check_one("Satisfy Any: host check passing overrides Require all denied",
              LOC("Order Allow,Deny\nAllow from all\nRequire all denied\nSatisfy any\n"),
              CASES({"10.0.0.1", 1}));
    check_one("Satisfy Any without Order/Allow/Deny: the default host check passes",
              LOC("Require all denied\nSatisfy any\n"), CASES({"10.0.0.1", 1}));
    check_one("Satisfy Any without Require: no Require grants",
              LOC("Order allow,deny\nSatisfy Any\n"), CASES({"10.0.0.1", 1}));
    check_one("Satisfy All explicit",
              LOC("Order allow,deny\nAllow from all\nRequire all denied\n"
                  "Satisfy All\n"),
              CASES({"10.0.0.1", 0}));
    check_one("Deny from all with Require all granted", LOC("Deny from all\nRequire all granted\n"),
              CASES({"10.0.0.1", 0}));
}

/* ---- several sections: what httpd merges (each case checked against apache2) ---- */

static void test_merge(void)
{
    check_one("last Require section wins (AuthMerging Off)",
              "<Location />\nRequire all denied\n</Location>\n"
              "<Location /a>\nRequire ip 10.0.0.0/8\n</Location>\n",
              CASES({"10.0.0.1", 1}, {"11.0.0.1", 0}));
    check_one("a section without Require keeps the inherited rules",
              "<Location />\nRequire ip 10.0.0.0/8\n</Location>\n"
              "<Location /a>\nOptions None\n</Location>\n<Location /a/b>\nAuthMerging And\n"
              "</Location>\n",
              CASES({"10.0.0.1", 1}, {"11.0.0.1", 0}));
    check_one("compat in one section, Require in another: both apply",
              "<Location />\nOrder allow,deny\nAllow from 10.0.0.0/8\n</Location>\n"
              "<Location /public>\nRequire all granted\n</Location>\n",
              CASES({"10.0.0.1", 1}, {"11.0.0.1", 0}));
    check_one("Require in one section, Deny in a later one",
              "<Location />\nRequire ip 10.0.0.0/8\n</Location>\n"
              "<Location /x>\nOrder deny,allow\nDeny from 10.1.0.0/16\n</Location>\n",
              CASES({"10.2.0.1", 1}, {"10.1.0.1", 0}, {"11.0.0.1", 0}));
    check_one("a later Order replaces the whole host check",
              "<Location />\nOrder allow,deny\nAllow from 10.0.0.0/8\n</Location>\n"
              "<Location /p>\nOrder deny,allow\n</Location>\n",
              CASES({"11.0.0.1", 1}));
    check_one("a later Satisfy Any with no Require lets everyone in",
              "<Location />\nOrder deny,allow\nDeny from all\n</Location>\n"
              "<Location /p>\nSatisfy any\n</Location>\n",
              CASES({"11.0.0.1", 1}));
    check_one("AuthMerging And",
              "<Location />\nRequire ip 10.0.0.0/8\n</Location>\n"
              "<Location /a>\nAuthMerging And\nRequire ip 10.1.0.0/16 11.0.0.0/8\n</Location>\n",
              CASES({"10.1.0.1", 1}, {"10.2.0.1", 0}, {"11.0.0.1", 0}));
    check_one("AuthMerging Or",
              "<Location />\nRequire ip 10.0.0.0/8\n</Location>\n"
              "<Location /a>\nAuthMerging Or\nRequire ip 11.0.0.0/8\n</Location>\n",
              CASES({"10.1.0.1", 1}, {"11.0.0.1", 1}, {"12.0.0.1", 0}));
    check_one("AuthMerging chain ((a or b) and c)",
              "<Location />\nRequire ip 10.0.0.0/8\n</Location>\n"
              "<Location /a>\nAuthMerging Or\nRequire ip 11.0.0.0/8\n</Location>\n"
              "<Location /a/b>\nAuthMerging And\nRequire ip 10.0.0.0/7\n</Location>\n",
              CASES({"10.0.0.1", 1}, {"11.0.0.1", 1}, {"12.0.0.1", 0}));
    check_one("AuthMerging Or without Require keeps the base, the next replaces",
              "<Location />\nRequire ip 10.0.0.0/8\n</Location>\n"
              "<Location /a>\nAuthMerging Or\n</Location>\n"
              "<Location /a/b>\nRequire ip 11.0.0.0/8\n</Location>\n",
              CASES({"10.0.0.1", 0}, {"11.0.0.1", 1}));
    check_one("AuthMerging Off alone drops inherited rules",
              "<Location />\nRequire ip 10.0.0.0/8\n</Location>\n"
              "<Location /a>\nAuthMerging Off\n</Location>\n",
              CASES({"12.0.0.1", 1}));
    check_one("AuthMerging And into nothing",
              "<Location />\nOptions None\n</Location>\n"
              "<Location /a>\nAuthMerging And\nRequire ip 10.0.0.0/8\n</Location>\n",
              CASES({"10.0.0.1", 1}, {"12.0.0.1", 0}));
    check_one("AuthMerging And with a RequireAll",
              "<Location />\nRequire all granted\n</Location>\n"
              "<Location /a>\nAuthMerging And\n<RequireAll>\nRequire all granted\n"
              "Require not ip 10.0.0.0/8\n</RequireAll>\n</Location>\n",
              CASES({"10.0.0.1", 0}, {"12.0.0.1", 1}));

    /* NULL entries and sections without rules are skipped */
    struct conf *c = load("<Location />\nRequire ip 10.0.0.0/8\n</Location>\n");
    ok(c != NULL, "merge with NULL entries: loads");
    if (c != NULL) {
        const struct conf_dir *secs[3] = {NULL, c->main->dirs, NULL};
        struct sockaddr_storage in = addr("10.0.0.1"), out = addr("11.0.0.1");
        is_int(acl_check_sections(secs, 3, &in), 1, "NULL entries: inside granted");
        is_int(acl_check_sections(secs, 3, &out), 0, "NULL entries: outside denied");
        conf_free(c);
    }
}

int main(void)
{
    test_parse_net();
    test_net_match();
    test_errors();
    test_require();
    test_compat();
    test_satisfy();
    test_merge();
    testconf_clean();
    return tap_done();
}
