/* Unit tests of the heartbeat process's pure parts: mod_heartbeat datagram parsing, the
 * HeartbeatStorage line, the health-check threshold state machine, the probe request, and
 * the mod_heartmonitor directives (through conf_load). */
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "heartbeat.h"
#include "proxy_types.h"
#include "tap.h"
#include "testconf.h"

static char errbuf[8192];

static struct conf *load(const char *body)
{
    return testconf_load("test_heartbeat", "Listen 127.0.0.1:8080\n", body, errbuf, sizeof(errbuf));
}

/* NULL when the config loads, else the error text after "portico.conf:" */
static const char *load_error(const char *body)
{
    struct conf *c = load(body);
    if (c != NULL) {
        conf_free(c);
        return NULL;
    }
    const char *p = strstr(errbuf, "portico.conf:");
    return p != NULL ? p + strlen("portico.conf:") : errbuf;
}

/* The text with control bytes shown as \xNN, for one-line TAP descriptions. */
static const char *show(const char *s)
{
    static char out[4][512];
    static int k;
    char *o = out[k++ % 4];
    size_t n = 0;
    for (; *s && n + 5 < sizeof(out[0]); s++) {
        if ((unsigned char)*s < 0x20)
            n += (size_t)snprintf(o + n, 5, "\\x%02x", (unsigned char)*s);
        else
            o[n++] = *s;
    }
    o[n] = '\0';
    return o;
}

static void test_parse(void)
{
    static const struct {
        const char *msg;
        int ok, ready, busy, port;
    } cases[] = {
        {"v=1&ready=75&busy=0", 1, 75, 0, 80},
        {"busy=3&ready=5&v=1", 1, 5, 3, 80},
        {"v=1&ready=1&busy=2&port=8080", 1, 1, 2, 8080},
        {"v=1&ready=1&busy=2&extra=x&more=%41", 1, 1, 2, 80},
        {"v=1&re%61dy=7&busy=0", 1, 7, 0, 80}, /* keys are URL-unescaped, as httpd */
        {"v=1&ready=%37&busy=0", 1, 7, 0, 80}, /* values too */
        {"v&ready=4&busy=0", 1, 4, 0, 80},     /* a key without '=' means "1" */
        {"v=1&ready=2147483647&busy=0", 1, 2147483647, 0, 80},
        {"v=1&ready=0&busy=0", 1, 0, 0, 80},
        {"", 0, 0, 0, 0},
        {"v=1&ready=5", 0, 0, 0, 0},        /* busy missing */
        {"ready=5&busy=1", 0, 0, 0, 0},     /* v missing */
        {"v=2&ready=5&busy=1", 0, 0, 0, 0}, /* unknown version */
        {"v=1&ready=5&busy=1&ready=6", 0, 0, 0, 0},
        {"v=1&v=1&ready=5&busy=1", 0, 0, 0, 0},
        {"v=1&&ready=5&busy=1", 0, 0, 0, 0}, /* empty pair */
        {"v=1&ready=5&busy=1&", 0, 0, 0, 0}, /* trailing & */
        {"&v=1&ready=5&busy=1", 0, 0, 0, 0},
        {"v=1&ready=-5&busy=1", 0, 0, 0, 0},
        {"v=1&ready=+5&busy=1", 0, 0, 0, 0},
        {"v=1&ready=5x&busy=1", 0, 0, 0, 0},
        {"v=1&ready=&busy=1", 0, 0, 0, 0},
        {"v=1&ready=2147483648&busy=1", 0, 0, 0, 0},
        {"v=1&ready=5&busy=1&port=0", 0, 0, 0, 0},
        {"v=1&ready=5&busy=1&port=65536", 0, 0, 0, 0},
        {"v=1&ready=5&busy=1\n", 0, 0, 0, 0},     /* control byte */
        {"v=1&ready=5 &busy=1", 0, 0, 0, 0},      /* space */
        {"v=1&ready=%3&busy=1", 0, 0, 0, 0},      /* bad escape */
        {"v=1&ready=5&busy=1&x=%0a", 0, 0, 0, 0}, /* escaped control byte */
        {"=1&v=1&ready=5&busy=1", 0, 0, 0, 0},    /* empty key */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct hb_message m = {-1, -1, -1};
        const char *why = NULL;
        int rc = heartbeat_parse_message(cases[i].msg, strlen(cases[i].msg), &m, &why);
        ok((rc == 0) == cases[i].ok, "parse '%s' -> %s%s%s", show(cases[i].msg),
           cases[i].ok ? "ok" : "refused", why ? ": " : "", why ? why : "");
        if (rc == 0 && cases[i].ok) {
            is_int(m.ready, cases[i].ready, "  ready");
            is_int(m.busy, cases[i].busy, "  busy");
            is_int(m.port, cases[i].port, "  port");
        }
        if (rc != 0)
            ok(why != NULL, "  a reason is given");
    }
    /* An embedded NUL is refused, not read as the end of the message. */
    const char nul[] = "v=1&ready=5&busy=1\0junk";
    ok(heartbeat_parse_message(nul, sizeof(nul) - 1, &(struct hb_message){0}, NULL) < 0,
       "embedded NUL refused");
    /* Size check: exactly 1000 bytes passes, 1001 does not. */
    char big[1100];
    const char *head = "v=1&ready=5&busy=1&pad=";
    size_t hl = strlen(head);
    memcpy(big, head, hl);
    memset(big + hl, 'a', sizeof(big) - hl);
    struct hb_message m;
    ok(heartbeat_parse_message(big, 1000, &m, NULL) == 0, "1000-byte datagram accepted");
    ok(heartbeat_parse_message(big, 1001, &m, NULL) < 0, "1001-byte datagram refused");
}

static void test_format(void)
{
    char buf[128];
    int n = heartbeat_format_line(buf, sizeof(buf), "192.0.2.7", 75, 3, 2, 80);
    is_str(buf, "192.0.2.7 &ready=75&busy=3&lastseen=2&port=80\n", "storage line, httpd format");
    is_int(n, (int)strlen(buf), "length returned");
    heartbeat_format_line(buf, sizeof(buf), "::1", 0, 0, -4, 8080);
    is_str(buf, "::1 &ready=0&busy=0&lastseen=0&port=8080\n", "negative age clamps to 0");
    ok(heartbeat_format_line(buf, 10, "192.0.2.7", 1, 1, 1, 80) < 0, "too small a buffer: -1");
}

/* Feeds results ('P' pass, 'F' fail) and checks the flags after each one. */
static void test_apply(void)
{
    static const struct {
        const char *name;
        unsigned start;
        int need_passes, need_fails;
        const char *results;
        const char *want;    /* per step: '.' healthy, 'C' C set, 'E' E set (not C) */
        const char *changes; /* per step: '+' C set, '-' re-enabled, '.' none */
    } cases[] = {
        {"defaults: one failure disables, one pass enables", 0, 1, 1, "PFPP", ".C..", ".+-."},
        {"hcfails=3 needs three back-to-back", 0, 1, 3, "FFPFFF", ".....C", ".....+"},
        {"hcpasses=2 needs two back-to-back", 0, 2, 1, "FPFPP", "CCCC.", "+...-"},
        /* httpd's hc_check: E set by a worker is left to retry=, failures still count. */
        {"a pass leaves a worker-set E to retry=", MEMBER_ERROR, 1, 1, "P", "E", "."},
        {"failures while in E still take it out", MEMBER_ERROR, 2, 1, "FFPP", "CCC.", "+..-"},
        {"hcfails=0 behaves as 1", 0, 1, 0, "F", "C", "+"},
        {"hcpasses=0 enables on the first pass", MEMBER_HCFAIL, 0, 1, "FP", "C.", ".-"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        unsigned st = cases[i].start | MEMBER_DRAIN; /* other flags are left alone */
        int passes = 0, fails = 0, good = 1;
        char got[16] = "", gotc[16] = "";
        size_t k;
        for (k = 0; cases[i].results[k] && cases[i].results[k] != '.'; k++) {
            int ch = hcheck_apply(&st, &passes, &fails, cases[i].results[k] == 'P',
                                  cases[i].need_passes, cases[i].need_fails);
            got[k] = (st & MEMBER_HCFAIL) ? 'C' : (st & MEMBER_ERROR) ? 'E' : '.';
            gotc[k] = ch > 0 ? '+' : ch < 0 ? '-' : '.';
            if (!(st & MEMBER_DRAIN))
                good = 0;
        }
        got[k] = gotc[k] = '\0';
        is_str(got, cases[i].want, "%s: states", cases[i].name);
        is_str(gotc, cases[i].changes, "%s: transitions", cases[i].name);
        ok(good, "%s: other flags kept", cases[i].name);
    }
}

static void test_request(void)
{
    static const struct {
        enum hc_method m;
        const char *host;
        int port;
        const char *path, *hcuri, *want;
    } cases[] = {
        {HC_GET, "b", 8080, "", "/status", "GET /status HTTP/1.0\r\nHost: b:8080\r\n\r\n"},
        {HC_GET, "b", 80, "/", "/status", "GET ///status HTTP/1.0\r\nHost: b:80\r\n\r\n"},
        {HC_HEAD, "b", 80, "/app", "health", "HEAD /app/health HTTP/1.0\r\nHost: b:80\r\n\r\n"},
        {HC_GET, "b", 80, "/app", NULL, "GET /app HTTP/1.0\r\nHost: b:80\r\n\r\n"},
        {HC_GET, "b", 80, "", NULL, "GET / HTTP/1.0\r\nHost: b:80\r\n\r\n"},
        {HC_GET, "b", 80, "", "status", "GET /status HTTP/1.0\r\nHost: b:80\r\n\r\n"},
        {HC_OPTIONS, "10.0.0.1", 81, "/x", "/y", "OPTIONS * HTTP/1.0\r\nHost: 10.0.0.1:81\r\n\r\n"},
        {HC_GET11, "::1", 8080, "", "/s",
         "GET /s HTTP/1.1\r\nHost: [::1]:8080\r\nConnection: close\r\n\r\n"},
        {HC_OPTIONS11, "b", 80, "", NULL,
         "OPTIONS * HTTP/1.1\r\nHost: b:80\r\nConnection: close\r\n\r\n"},
        {HC_HEAD11, "b", 80, "", "/", "HEAD / HTTP/1.1\r\nHost: b:80\r\nConnection: close\r\n\r\n"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char buf[512];
        int n = hcheck_build_request(buf, sizeof(buf), cases[i].m, cases[i].host, cases[i].port,
                                     cases[i].path, cases[i].hcuri);
        ok(n == (int)strlen(cases[i].want), "request %zu length", i);
        is_str(n > 0 ? buf : NULL, cases[i].want, "request %zu", i);
    }
    char small[16];
    ok(hcheck_build_request(small, sizeof(small), HC_GET, "host", 80, "/long/path", NULL) < 0,
       "a request that does not fit: -1");
    ok(hcheck_build_request(small, sizeof(small), HC_TCP, "h", 80, "", NULL) < 0,
       "TCP: no request");

    is_int(hcheck_method_parse(NULL), HC_NONE, "no hcmethod");
    is_int(hcheck_method_parse("none"), HC_NONE, "NONE");
    is_int(hcheck_method_parse("tcp"), HC_TCP, "TCP, any case");
    is_int(hcheck_method_parse("GET11"), HC_GET11, "GET11");
    is_int(hcheck_method_parse("CPING"), -1, "CPING unknown here");
}

static void test_conf(void)
{
    struct conf *c = load("HeartbeatListen 239.0.0.1:27999\nHeartbeatMaxServers 20\n"
                          "HeartbeatStorage logs/hb.dat\n");
    ok(c != NULL, "heartmonitor directives load: %s", errbuf);
    if (c != NULL) {
        const struct heartbeat_conf *h = c->heartbeat;
        ok(h != NULL && h->listen != NULL && strcmp(h->listen, "239.0.0.1:27999") == 0,
           "HeartbeatListen kept");
        ok(h != NULL && h->multicast, "239.0.0.1 is multicast");
        ok(h != NULL && h->addr.ss_family == AF_INET &&
               ntohs(((const struct sockaddr_in *)&h->addr)->sin_port) == 27999,
           "address resolved");
        is_int(h ? h->max_servers : -2, 20, "HeartbeatMaxServers");
        char want[600], buf[600];
        snprintf(want, sizeof(want), "%s/logs/hb.dat", testconf_root);
        is_str(heartbeat_storage_path(c, buf, sizeof(buf)), want,
               "HeartbeatStorage is ServerRoot-relative");
        ok(heartbeat_needed(c), "a listener needs the process");
        conf_free(c);
    }
    c = load("HeartbeatListen 127.0.0.1:27999\n");
    ok(c != NULL && !c->heartbeat->multicast, "unicast listener");
    if (c != NULL) {
        char buf[600];
        ok(heartbeat_storage_path(c, buf, sizeof(buf)) == NULL,
           "no file by default in shm mode (HeartbeatMaxServers > 0)");
        conf_free(c);
    }
    c = load("HeartbeatListen [::1]:27999\nHeartbeatMaxServers 0\n");
    ok(c != NULL && c->heartbeat->addr.ss_family == AF_INET6, "[::1]:port listener");
    if (c != NULL) {
        char buf[600];
        const char *p = heartbeat_storage_path(c, buf, sizeof(buf));
        ok(p != NULL && strlen(p) > 7 && strcmp(p + strlen(p) - 7, "/hb.dat") == 0,
           "file mode: DefaultRuntimeDir/hb.dat (%s)", p ? p : "(null)");
        conf_free(c);
    }
    c = load("");
    ok(c != NULL && c->heartbeat == NULL && !heartbeat_needed(c), "nothing set: not needed");
    if (c != NULL)
        conf_free(c);

    static const struct {
        const char *body, *want; /* substring of the error */
    } bad[] = {
        {"HeartbeatListen 239.0.0.1:1\nHeartbeatListen 239.0.0.1:2\n",
         "May only be specified once"},
        {"HeartbeatListen 239.0.0.1\n", "expected addr:port"},
        {"HeartbeatListen 239.0.0.1:0\n", "no valid port"},
        {"HeartbeatListen :27999\n", "No host"},
        {"HeartbeatListen 239.0.0.1:x\n", "no valid port"},
        {"HeartbeatListen no.such.host.invalid:27999\n", "cannot resolve"},
        {"HeartbeatMaxServers 5\n", "greater or equal than 10"},
        {"HeartbeatMaxServers -1\n", "greater or equal than 10"},
        {"HeartbeatMaxServers ten\n", "greater or equal than 10"},
        {"HeartbeatAddress 239.0.0.1:27999\n", "mod_heartbeat"},
        {"<VirtualHost *:8080>\nHeartbeatListen 239.0.0.1:27999\n</VirtualHost>\n",
         "HeartbeatListen"},
        {"<Location />\nHeartbeatStorage x\n</Location>\n", "HeartbeatStorage"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *e = load_error(bad[i].body);
        ok(e != NULL && strstr(e, bad[i].want) != NULL, "refused: %s -> %s", show(bad[i].body),
           e ? show(e) : "(loaded)");
    }
    ok(load_error("HeartbeatMaxServers 0\n") == NULL, "HeartbeatMaxServers 0 (file mode)");
    ok(load_error("HeartbeatMaxServers 10\n") == NULL, "HeartbeatMaxServers 10");
}

int main(void)
{
    test_parse();
    test_format();
    test_apply();
    test_request();
    test_conf();
    testconf_clean();
    return tap_done();
}
