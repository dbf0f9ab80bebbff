/* Unit tests of the SSLProxy* directives (tls_client.c): argument checks, SSLProxyEngine
 * inheritance (main server -> vhost, <Proxy> sections per worker), and the client contexts
 * built at load (tls_client_conf_load) for https:// workers. No sockets. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "proxy_types.h"
#include "tap.h"
#include "testconf.h"
#include "tls.h"
#include "util.h"

static char errbuf[16384];

static struct conf *load(const char *text)
{
    return testconf_load("test_tls_client", "Listen 127.0.0.1:8080\nServerName front.example\n",
                         text, errbuf, sizeof(errbuf));
}

static const struct proxy_worker *worker(const struct conf *c, const char *name)
{
    for (const struct proxy_worker *w = c->proxy ? c->proxy->workers : NULL; w; w = w->next)
        if (strcmp(w->name, name) == 0)
            return w;
    return NULL;
}

struct bad_case {
    const char *conf;
    const char *want; /* substring of the error */
};

static const struct bad_case bad[] = {
    {"SSLProxyVerify sometimes\n", "Invalid argument 'sometimes'"},
    {"SSLProxyVerifyDepth -1\n", "depth must be a number"},
    {"SSLProxyVerifyDepth x\n", "depth must be a number"},
    {"SSLProxyEngine maybe\n", "SSLProxyEngine"},
    {"SSLProxyProtocol TLSv9\n", "Illegal protocol 'TLSv9'"},
    {"SSLProxyProtocol -all\n", "No protocols left"},
    {"SSLProxyCipherSuite TLSv1.2 HIGH\n", "protocol 'TLSv1.2' not supported"},
    {"SSLProxyCACertificateFile /nonexistent/ca.pem\n", "does not exist"},
    {"SSLProxyCACertificatePath /nonexistent/dir\n", "does not exist"},
    {"SSLProxyMachineCertificateFile /nonexistent/c.pem\n", "does not exist"},
    {"<Location /x>\nSSLProxyEngine on\n</Location>\n", "SSLProxyEngine"},
};

static void test_bad(void)
{
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct conf *c = load(bad[i].conf);
        char name[80];
        util_strlcpy(name, bad[i].conf, sizeof(name));
        for (char *p = name; *p; p++)
            if (*p == '\n')
                *p = ' ';
        ok(c == NULL && strstr(errbuf, bad[i].want) != NULL, "rejected: %s", name);
        if (c == NULL && strstr(errbuf, bad[i].want) == NULL)
            printf("# got: %s\n", errbuf);
        if (c != NULL)
            conf_free(c);
    }
}

static void test_good(void)
{
    struct conf *c = load("SSLProxyVerify optional_no_ca\nSSLProxyVerifyDepth 3\n"
                          "SSLProxyProtocol all -TLSv1 -TLSv1.1\n"
                          "SSLProxyCipherSuite HIGH:!aNULL\n"
                          "SSLProxyCipherSuite TLSv1.3 TLS_AES_128_GCM_SHA256\n"
                          "SSLProxyCheckPeerName off\nSSLProxyCheckPeerCN on\n"
                          "SSLProxyCheckPeerExpire off\n"
                          "SSLProxyCACertificatePath /etc/ssl/certs\n");
    ok(c != NULL, "every directive with valid arguments loads");
    if (c == NULL)
        printf("# %s\n", errbuf);
    else
        conf_free(c);
}

static void test_engine(void)
{
    struct conf *c = load("ProxyPass /a/ https://localhost:9441/\n"
                          "ProxyPass /b/ https://localhost:9442/\n"
                          "<Proxy https://localhost:9442/>\nSSLProxyEngine on\n</Proxy>\n"
                          "<VirtualHost *:8080>\nServerName v1\nSSLProxyEngine on\n"
                          "</VirtualHost>\n"
                          "<VirtualHost *:8080>\nServerName v2\n</VirtualHost>\n");
    ok(c != NULL, "engine config loads");
    if (c == NULL) {
        printf("# %s\n", errbuf);
        return;
    }
    const struct proxy_worker *a = worker(c, "https://localhost:9441/");
    const struct proxy_worker *b = worker(c, "https://localhost:9442/");
    ok(a != NULL && b != NULL, "both workers exist");
    if (a != NULL && b != NULL) {
        const struct conf_server *v1 = c->vhosts, *v2 = v1 ? v1->next : NULL;
        is_int(tls_client_engine(c->main, a), 0, "main: off by default");
        is_int(tls_client_engine(c->main, b), 1,
               "main: <Proxy https://localhost:9442/> turns it on");
        is_int(tls_client_engine(v1, a), 1, "vhost with SSLProxyEngine on");
        is_int(tls_client_engine(v2, a), 0, "vhost without: the main server's (off)");
        is_int(tls_client_engine(v2, b), 1, "vhost without: the main server's <Proxy> applies");
        char err[512];
        is_int(tls_client_conf_load(c, err, sizeof(err)), 0, "client contexts build");
    }
    tls_client_conf_free(c);
    conf_free(c);
}

static void test_balancer_section(void)
{
    struct conf *c = load("<Proxy balancer://farm>\n"
                          "BalancerMember https://localhost:9443\n"
                          "BalancerMember http://localhost:9444\n"
                          "SSLProxyEngine on\n"
                          "</Proxy>\n"
                          "ProxyPass /f/ balancer://farm/\n");
    ok(c != NULL, "balancer config loads");
    if (c == NULL) {
        printf("# %s\n", errbuf);
        return;
    }
    const struct proxy_worker *m1 = worker(c, "https://localhost:9443");
    ok(m1 != NULL, "member worker exists");
    if (m1 != NULL)
        is_int(tls_client_engine(c->main, m1), 1, "<Proxy balancer://farm> applies to its members");
    conf_free(c);
}

static void test_bad_cipher_at_load(void)
{
    struct conf *c = load("SSLProxyEngine on\nSSLProxyCipherSuite NOSUCHCIPHER\n"
                          "ProxyPass /a/ https://localhost:9441/\n");
    ok(c != NULL, "an unknown cipher list parses");
    if (c == NULL)
        return;
    char err[512] = "";
    is_int(tls_client_conf_load(c, err, sizeof(err)), -1, "...and fails when contexts are built");
    ok(strstr(err, "SSLProxyCipherSuite") != NULL, "the error names SSLProxyCipherSuite: %s", err);
    tls_client_conf_free(c);
    conf_free(c);
}

int main(void)
{
    test_bad();
    test_good();
    test_engine();
    test_balancer_section();
    test_bad_cipher_at_load();
    testconf_clean();
    return tap_done();
}
