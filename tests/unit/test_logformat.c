/* LogFormat compilation and rendering (accesslog.c), and the error log (log.c). */
/* POSIX is enough here; _GNU_SOURCE (config.h) would pull in <sys/timex.h>, whose
 * MOD_STATUS macro collides with enum module_id. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "accesslog.h"
#include "arena.h"
#include "log.h"
#include "tap.h"

static struct arena *A;
static struct accesslog_info info;
static struct http_request req;
static char line[4096];

static char hdr_names[8][32];
static char hdr_values[8][128];
static struct http_header req_headers[8];
static struct http_header resp_headers[4];

static const char *test_env(void *ctx, const char *name)
{
    (void)ctx;
    if (strcmp(name, "NAME") == 0)
        return "envval";
    if (strcmp(name, "QUOTED") == 0)
        return "a\"b";
    return NULL;
}

static void set_header(int i, const char *name, const char *value)
{
    snprintf(hdr_names[i], sizeof(hdr_names[i]), "%s", name);
    snprintf(hdr_values[i], sizeof(hdr_values[i]), "%s", value);
    req_headers[i].name = hdr_names[i];
    req_headers[i].value = hdr_values[i];
    req_headers[i].name_len = strlen(name);
    req_headers[i].value_len = strlen(value);
}

static void reset_info(void)
{
    memset(&req, 0, sizeof(req));
    memset(&info, 0, sizeof(info));
    set_header(0, "Host", "www.example.com:8080");
    set_header(1, "Referer", "http://ref.example/a");
    set_header(2, "User-Agent", "Mozilla/5.0 (X11)");
    set_header(3, "Cookie", "a=1; sess=abc ; z=9");
    set_header(4, "X-Dup", "one");
    set_header(5, "x-dup", "two");
    set_header(6, "NAME", "reqname");
    set_header(7, "X-Empty", "");
    req.request_line = "GET /index.html?x=1 HTTP/1.1";
    req.method = "GET";
    req.m = HTTP_GET;
    req.target = "/index.html?x=1";
    req.path = "/index.html";
    req.query = "x=1";
    req.protocol = "HTTP/1.1";
    req.version = 11;
    req.headers = req_headers;
    req.n_headers = 8;
    req.host = "www.example.com:8080";
    req.content_length = -1;

    resp_headers[0] = (struct http_header){"Content-Type", "text/html", 12, 9};
    resp_headers[1] = (struct http_header){"Set-Cookie", "s=1", 10, 3};
    resp_headers[2] = (struct http_header){"set-cookie", "t=2", 10, 3};
    resp_headers[3] = (struct http_header){"NAME", "respname", 4, 8};

    info.req = &req;
    info.request_line = NULL;
    info.client_ip = "192.0.2.7";
    info.client_port = 54321;
    info.local_ip = "10.0.0.1";
    info.local_port = 8080;
    info.canonical_port = 80;
    info.vhost = "www.example.com";
    info.status = 200;
    info.original_status = 200;
    info.body_bytes = 1234;
    info.bytes_in = 300;
    info.bytes_out = 1500;
    info.start.tv_sec = 1316373508; /* 18/Sep/2011:19:18:28 UTC */
    info.start.tv_nsec = 123456789;
    info.duration_us = 2500123;
    info.resp_headers = resp_headers;
    info.n_resp_headers = 4;
    info.env_get = test_env;
    info.env_ctx = NULL;
    info.handler = "proxy-server";
    info.filename = "proxy:http://backend/index.html";
    info.remote_user = NULL;
    info.keepalive_count = 3;
    info.conn_status = '+';
}

/* Compiles and renders fmt; returns the line, or "ERR: message" when compilation fails. */
static const char *render_cap(const char *fmt, size_t cap)
{
    char err[256] = "";
    struct accesslog_format *f = accesslog_compile(A, fmt, err, sizeof(err));
    if (f == NULL) {
        snprintf(line, sizeof(line), "ERR: %s", err);
        return line;
    }
    size_t n = accesslog_render(f, &info, line, cap);
    if (n >= sizeof(line) || line[n] != '\0')
        return "(not NUL-terminated)";
    return line;
}

static const char *render(const char *fmt)
{
    return render_cap(fmt, sizeof(line));
}

static void test_formats(void)
{
    reset_info();
    is_str(render("%h %l %u %t \"%r\" %>s %b"),
           "192.0.2.7 - - [18/Sep/2011:19:18:28 +0000] \"GET /index.html?x=1 HTTP/1.1\" 200 "
           "1234\n",
           "common");
    is_str(render("%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\""),
           "192.0.2.7 - - [18/Sep/2011:19:18:28 +0000] \"GET /index.html?x=1 HTTP/1.1\" 200 "
           "1234 \"http://ref.example/a\" \"Mozilla/5.0 (X11)\"\n",
           "combined");
    is_str(render("%h %l %u %t \"%r\" %>s %b \"%{Referer}i\" \"%{User-Agent}i\" %D %T "
                  "%{NAME}e %{NAME}i %{NAME}o %v %p"),
           "192.0.2.7 - - [18/Sep/2011:19:18:28 +0000] \"GET /index.html?x=1 HTTP/1.1\" 200 "
           "1234 \"http://ref.example/a\" \"Mozilla/5.0 (X11)\" 2500123 2 envval reqname "
           "respname www.example.com 80\n",
           "extended format");
    is_str(render("%v:%p %h %l %u %t \"%r\" %>s %O \"%{Referer}i\" \"%{User-Agent}i\""),
           "www.example.com:80 192.0.2.7 - - [18/Sep/2011:19:18:28 +0000] "
           "\"GET /index.html?x=1 HTTP/1.1\" 200 1500 \"http://ref.example/a\" "
           "\"Mozilla/5.0 (X11)\"\n",
           "vhost_combined");
}

static void test_directives(void)
{
    reset_info();
    is_str(render("100%% %%h"), "100% %h\n", "%%%%");
    is_str(render("%a|%{c}a|%A"), "192.0.2.7|192.0.2.7|10.0.0.1\n", "%%a %%{c}a %%A");
    is_str(render("%B %b"), "1234 1234\n", "%%B %%b");
    info.body_bytes = 0;
    is_str(render("%B %b"), "0 -\n", "%%B 0, %%b -");
    reset_info();
    is_str(render("%{NAME}e|%{MISSING}e|%{QUOTED}e"), "envval|-|a\\\"b\n", "%%e");
    info.env_get = NULL;
    is_str(render("%{NAME}e"), "-\n", "%%e without env");
    reset_info();
    is_str(render("%f"), "proxy:http://backend/index.html\n", "%%f");
    is_str(render("%h %{c}h"), "192.0.2.7 192.0.2.7\n", "%%h");
    is_str(render("%H"), "HTTP/1.1\n", "%%H");
    is_str(render("%{referer}i|%{X-Missing}i|%{X-Empty}i|"), "http://ref.example/a|-||\n",
           "%%i case-insensitive, missing, empty");
    is_str(render("%{X-Dup}i"), "one, two\n", "%%i joins repeated headers");
    is_str(render("%k %l"), "3 -\n", "%%k %%l");
    is_str(render("%m"), "GET\n", "%%m");
    is_str(render("%{Content-Type}o|%{Set-Cookie}o|%{X-None}o"), "text/html|s=1, t=2|-\n",
           "%%o, Set-Cookie joined");
    is_str(render("%p %{canonical}p %{local}p %{remote}p %{bogus}p"), "80 80 8080 54321 bogus\n",
           "%%p forms");
    char want[64];
    snprintf(want, sizeof(want), "%ld %ld %lx\n", (long)getpid(), (long)getpid(), (long)getpid());
    is_str(render("%P %{pid}P %{hextid}P"), want, "%%P");
    is_str(render("[%q]"), "[?x=1]\n", "%%q");
    req.query = NULL;
    is_str(render("[%q]"), "[]\n", "%%q empty without query");
    reset_info();
    is_str(render("%r"), "GET /index.html?x=1 HTTP/1.1\n", "%%r");
    is_str(render("%R"), "proxy-server\n", "%%R");
    info.status = 502;
    info.original_status = 200;
    is_str(render("%s %>s %<s"), "200 502 200\n", "%%s original, %%>s final");
    info.original_status = 0;
    is_str(render("%s"), "502\n", "%%s falls back to final");
    reset_info();
    is_str(render("%u"), "-\n", "%%u unset");
    info.remote_user = "";
    is_str(render("%u"), "\"\"\n", "%%u empty");
    info.remote_user = "bob\"x";
    is_str(render("%u"), "bob\\\"x\n", "%%u escaped");
    reset_info();
    is_str(render("%U"), "/index.html\n", "%%U");
    is_str(render("%v"), "www.example.com\n", "%%v");
    is_str(render("%V"), "www.example.com\n", "%%V strips the port");
    req.host = "[::1]:8443";
    is_str(render("%V"), "[::1]\n", "%%V IPv6");
    req.host = NULL;
    is_str(render("%V"), "www.example.com\n", "%%V falls back to ServerName");
    reset_info();
    is_str(render("%X"), "+\n", "%%X keep-alive");
    info.conn_status = 'X';
    is_str(render("%X"), "X\n", "%%X aborted");
    info.conn_status = 0;
    is_str(render("%X"), "-\n", "%%X unset");
    reset_info();
    is_str(render("%I %O %S"), "300 1500 1800\n", "%%I %%O %%S");
    is_str(render("%{sess}C|%{a}C|%{z}C|%{nope}C"), "abc|1|9|-\n", "%%C cookies");
    is_str(render("%L %{x}n %^ti"), "- - -\n", "%%L %%n %%^ti");
}

static void test_time(void)
{
    reset_info();
    is_str(render("%t"), "[18/Sep/2011:19:18:28 +0000]\n", "%%t");
    is_str(render("%{sec}t %{msec}t %{usec}t"), "1316373508 1316373508123 1316373508123456\n",
           "%%{sec|msec|usec}t");
    is_str(render("%{msec_frac}t %{usec_frac}t"), "123 123456\n", "%%{msec_frac|usec_frac}t");
    is_str(render("%{begin:sec}t %{end:sec}t %{end:usec_frac}t"), "1316373508 1316373510 623579\n",
           "begin:/end:");
    is_str(render("%{%Y-%m-%d %H:%M:%S}t"), "2011-09-18 19:18:28\n", "%%{strftime}t");
    is_str(render("%{end:%H:%M:%S}t"), "19:18:30\n", "%%{end:strftime}t");
    is_str(render("%{end:}t"), "[18/Sep/2011:19:18:30 +0000]\n", "%%{end:}t is CLF");
    is_str(render("%T %{s}T %{ms}T %{us}T %D"), "2 2 2500 2500123 2500123\n", "%%T %%D");

    setenv("TZ", "EST5EDT", 1);
    tzset();
    is_str(render("%t"), "[18/Sep/2011:15:18:28 -0400]\n", "%%t local time with offset");
    setenv("TZ", "UTC", 1);
    tzset();
}

static void test_modifiers(void)
{
    reset_info();
    is_str(render("%400,501{User-agent}i"), "-\n", "status list, not matching");
    info.status = 501;
    is_str(render("%400,501{User-agent}i"), "Mozilla/5.0 (X11)\n", "status list, matching");
    info.status = 304;
    is_str(render("%!200,304{Referer}i"), "-\n", "negated list, matching");
    info.status = 404;
    is_str(render("%!200,304{Referer}i"), "http://ref.example/a\n", "negated list, not matching");
    info.original_status = 404;
    is_str(render("%404s %200s"), "404 -\n", "status condition on %%s");
    reset_info();
    is_str(render("%<{Host}i %>{Host}i"), "www.example.com:8080 www.example.com:8080\n",
           "< and > accepted on other items");
}

static void test_escaping(void)
{
    reset_info();
    req.request_line = "GET /a\"b\\c\x01\x7f\xe9\n\t\r HTTP/1.1";
    is_str(render("%r"), "GET /a\\\"b\\\\c\\x01\\x7f\\xe9\\n\\t\\r HTTP/1.1\n", "%%r escaped");
    set_header(2, "User-Agent", "evil\"\nX\b\v");
    is_str(render("%{User-Agent}i"), "evil\\\"\\nX\\b\\v\n", "%%i escaped");
    resp_headers[3].value = "o\\k";
    is_str(render("%{NAME}o"), "o\\\\k\n", "%%o escaped");
    req.path = "/p\"q";
    req.query = "a=\x02";
    is_str(render("%U%q"), "/p\\\"q?a=\\x02\n", "%%U %%q escaped");
    info.request_line = "BAD \x1b";
    info.req = NULL;
    is_str(render("%r|%m|%U|%q|%H|%{Host}i|%C"), "ERR: LogFormat directive %C needs a {name}",
           "%%C needs a name");
    is_str(render("%r|%m|%U|%q|%H|%{Host}i|%{a}C|%>s"), "BAD \\x1b|-|-||-|-|-|200\n",
           "unparsed request: raw line, dashes");
    reset_info();
    is_str(render("a\\tb\\nc\\\\d\\qe\\"), "a\tb\nc\\d\\qe\\\n", "format escapes \\t \\n \\\\");
    info.client_ip = NULL;
    info.local_ip = NULL;
    info.vhost = NULL;
    info.handler = NULL;
    info.filename = NULL;
    info.canonical_port = 0;
    is_str(render("%a %A %v %R %f %p"), "- - - - - -\n", "missing values print -");
}

static void test_truncation(void)
{
    reset_info();
    char err[128];
    struct accesslog_format *f = accesslog_compile(A, "%h %r", err, sizeof(err));
    ok(f != NULL, "compile for truncation");
    char small[12];
    size_t n = accesslog_render(f, &info, small, sizeof(small));
    is_int(n, 11, "truncated length is cap-2 plus newline");
    is_str(small, "192.0.2.7 \n", "truncated line ends in newline");
    n = accesslog_render(f, &info, small, 2);
    ok(n == 1 && small[0] == '\n' && small[1] == '\0', "cap 2 gives just a newline");

    /* An escape sequence is never cut in half. */
    req.request_line = "ab\"cd";
    f = accesslog_compile(A, "%r", err, sizeof(err));
    n = accesslog_render(f, &info, small, 5);
    is_str(small, "ab\n", "escape not split at the cut");
    is_int(n, 3, "length after escape cut");

    char big[8192];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    req.request_line = big;
    n = accesslog_render(f, &info, line, sizeof(line));
    ok(n == sizeof(line) - 1 && line[n - 1] == '\n' && line[n] == '\0',
       "long line fills the buffer and ends in newline");
}

static void test_compile_errors(void)
{
    reset_info();
    is_str(render("%h %Z"), "ERR: unrecognized LogFormat directive %Z", "unknown letter");
    is_str(render("%{x}Q"), "ERR: unrecognized LogFormat directive %Q", "unknown with arg");
    is_str(render("abc %"), "ERR: LogFormat ends inside a %-directive", "trailing %%");
    is_str(render("%{Referer"), "ERR: LogFormat has an unterminated %{ argument",
           "unterminated brace");
    is_str(render("%i"), "ERR: LogFormat directive %i needs a {name}", "%%i without name");
    is_str(render("%1000s"), "ERR: LogFormat status condition is not a status code",
           "status too large");
    is_str(render("%^xx"), "ERR: unrecognized LogFormat directive %^xx", "bad %%^");
    is_str(render(""), "\n", "empty format gives an empty line");
}

/* ---- error log ------------------------------------------------------------------- */

static char tmpdir[] = "/tmp/test_logformat.XXXXXX";

static size_t slurp(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, cap - 1);
    close(fd);
    if (n < 0)
        n = 0;
    buf[n] = '\0';
    return (size_t)n;
}

static int matches(const char *re, const char *s)
{
    regex_t r;
    if (regcomp(&r, re, REG_EXTENDED | REG_NOSUB) != 0)
        return 0;
    int m = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return m;
}

static void test_errorlog(void)
{
    char path[256], err[256], buf[16384], re[512];
    snprintf(path, sizeof(path), "%s/error.log", tmpdir);
    umask(022);
    int fd = log_open(path, err, sizeof(err));
    ok(fd >= 0, "log_open of a path");
    struct stat st;
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0640, "log file created 0640");
    ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "log fd is close-on-exec");
    ok((fcntl(fd, F_GETFL) & O_APPEND) != 0, "log fd is O_APPEND");

    log_set_target(fd, NULL);
    log_msg(MOD_PROXY, LL_ERROR, 0, "192.0.2.1:4242", "hello %d", 42);
    slurp(path, buf, sizeof(buf));
    snprintf(re, sizeof(re),
             "^\\[(Sun|Mon|Tue|Wed|Thu|Fri|Sat) [A-Z][a-z]{2} [0-9]{2} "
             "[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6} [0-9]{4}\\] \\[proxy:error\\] "
             "\\[pid %ld\\] \\[client 192\\.0\\.2\\.1:4242\\] hello 42\n$",
             (long)getpid());
    ok(matches(re, buf), "error line format");
    if (!matches(re, buf))
        printf("#   got %s", buf);

    log_msg(MOD_CORE, LL_WARN, ENOENT, NULL, "open %s", "/x");
    slurp(path, buf, sizeof(buf));
    char want[256];
    snprintf(want, sizeof(want), "] [core:warn] [pid %ld] open /x: %s\n", (long)getpid(),
             strerror(ENOENT));
    ok(strstr(buf, want) != NULL, "errnum appends strerror, no client part");
    ok(strstr(buf, "hello 42\n[") != NULL, "second line appended after the first");

    log_msg(MOD_CORE, LL_ERROR, 0, NULL,
            "a\nb\x01"
            "c");
    slurp(path, buf, sizeof(buf));
    ok(strstr(buf, "a\\nb\\x01c\n") != NULL, "control characters escaped");

    /* Filtering with the default (warn). */
    ok(log_enabled(MOD_CORE, LL_WARN), "default: warn enabled");
    ok(!log_enabled(MOD_CORE, LL_INFO), "default: info disabled");
    ok(log_enabled(MOD_CORE, LL_NOTICE), "notice always enabled");

    struct conf_loglevel lv;
    memset(&lv, 0, sizeof(lv));
    lv.set = 1;
    lv.level = LL_DEBUG;
    memset(lv.module, -1, sizeof(lv.module));
    log_set_target(fd, &lv);
    ok(log_enabled(MOD_REWRITE, LL_DEBUG), "global debug: debug enabled");
    ok(!log_enabled(MOD_REWRITE, LL_TRACE1), "global debug: trace1 disabled");

    lv.level = LL_WARN;
    lv.module[MOD_PROXY] = LL_DEBUG;
    lv.module[MOD_SSL] = LL_CRIT;
    ok(log_enabled(MOD_PROXY, LL_DEBUG), "proxy:debug enables proxy debug");
    ok(!log_enabled(MOD_CORE, LL_DEBUG), "proxy:debug leaves core at warn");
    ok(!log_enabled(MOD_SSL, LL_ERROR), "ssl:crit hides ssl errors");
    ok(log_enabled(MOD_SSL, LL_CRIT), "ssl:crit keeps crit");
    ok(log_enabled(MOD_SSL, LL_NOTICE), "notice written even under crit");

    lv.level = LL_EMERG;
    size_t before = slurp(path, buf, sizeof(buf));
    log_msg(MOD_CORE, LL_ERROR, 0, NULL, "hidden");
    log_msg(MOD_CORE, LL_NOTICE, 0, NULL, "shown notice");
    log_msg(MOD_PROXY, LL_INFO, 0, NULL, "shown proxy info");
    size_t after = slurp(path, buf, sizeof(buf));
    ok(after > before && strstr(buf, "hidden") == NULL, "filtered message not written");
    ok(strstr(buf, "[core:notice]") != NULL && strstr(buf, "shown notice\n") != NULL,
       "notice written at LogLevel emerg");
    ok(strstr(buf, "[proxy:info]") != NULL, "per-module override writes proxy info");

    /* A line longer than the cap is cut but still ends in a newline. */
    static char huge[20000];
    memset(huge, 'y', sizeof(huge) - 1);
    huge[sizeof(huge) - 1] = '\0';
    int fd2 = open(path, O_WRONLY | O_TRUNC);
    close(fd2);
    log_msg(MOD_CORE, LL_NOTICE, 0, NULL, "%s", huge);
    size_t n = slurp(path, buf, sizeof(buf));
    ok(n == 8192 && buf[n - 1] == '\n', "long line capped at 8192 with newline");
    close(fd);

    /* Reopening appends instead of truncating. */
    fd = log_open(path, err, sizeof(err));
    log_set_target(fd, NULL);
    log_msg(MOD_CORE, LL_ERROR, 0, NULL, "reopened");
    n = slurp(path, buf, sizeof(buf));
    ok(n > 8192 && strstr(buf, "reopened\n") != NULL, "reopen appends");
    close(fd);

    /* Back to stderr, then the error cases. */
    log_set_target(-1, NULL);
    snprintf(want, sizeof(want), "%s/nodir/x.log", tmpdir);
    ok(log_open(want, err, sizeof(err)) < 0 && strstr(err, want) != NULL,
       "unopenable path fails naming it");
    ok(log_open("syslog", err, sizeof(err)) < 0 &&
           strcmp(err, "syslog logging is not supported yet") == 0,
       "syslog refused");
    ok(log_open("|  ", err, sizeof(err)) < 0, "pipe without program refused");
    ok(log_open("", err, sizeof(err)) < 0, "empty destination refused");
}

static int wait_for(const char *path, const char *needle, char *buf, size_t cap)
{
    for (int i = 0; i < 500; i++) {
        slurp(path, buf, cap);
        if (strstr(buf, needle) != NULL)
            return 1;
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    return 0;
}

static void test_piped_log(void)
{
    char path[256], dest[512], err[256], buf[4096];
    snprintf(path, sizeof(path), "%s/piped.log", tmpdir);
    snprintf(dest, sizeof(dest), "|cat > %s", path);

    /* A descriptor without close-on-exec that the logger must still not inherit. */
    int q[2];
    ok(pipe(q) == 0, "test pipe");

    pid_t pid = 0;
    int fd = log_open_pid(dest, &pid, err, sizeof(err));
    ok(fd >= 0 && pid > 0, "log_open of a \"|cat > file\" pipe");
    ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "pipe write end is close-on-exec");
    close(q[1]);

    log_set_target(fd, NULL);
    log_msg(MOD_CORE, LL_ERROR, 0, "[::1]:9", "through the pipe");
    ok(wait_for(path, "[client [::1]:9] through the pipe\n", buf, sizeof(buf)),
       "line arrives through the piped logger");

    fcntl(q[0], F_SETFL, O_NONBLOCK);
    char c;
    ssize_t r = read(q[0], &c, 1);
    ok(r == 0, "piped logger did not inherit an unrelated fd");
    close(q[0]);

    log_set_target(-1, NULL);
    close(fd);
    int status = 0;
    ok(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "logger exits on EOF");

    /* The plain log_open() form works too. */
    snprintf(path, sizeof(path), "%s/piped2.log", tmpdir);
    snprintf(dest, sizeof(dest), "||cat >> %s", path);
    fd = log_open(dest, err, sizeof(err));
    ok(fd >= 0, "log_open \"||prog\"");
    ok(write(fd, "raw\n", 4) == 4, "write to pipe");
    close(fd);
    ok(wait_for(path, "raw\n", buf, sizeof(buf)), "\"||prog\" logger receives data");
    while (waitpid(-1, NULL, 0) > 0)
        ;
}

static void cleanup_tmpdir(void)
{
    const char *names[] = {"error.log", "piped.log", "piped2.log"};
    char p[512];
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(p, sizeof(p), "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

int main(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
    A = arena_create(0);
    if (A == NULL || mkdtemp(tmpdir) == NULL) {
        printf("Bail out! setup failed\n");
        return 1;
    }
    test_formats();
    test_directives();
    test_time();
    test_modifiers();
    test_escaping();
    test_truncation();
    test_compile_errors();
    test_errorlog();
    test_piped_log();
    cleanup_tmpdir();
    arena_destroy(A);
    return tap_done();
}
