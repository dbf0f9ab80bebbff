/* The heartbeat process: a child of the master (unprivileged) that receives mod_heartbeat
 * datagrams on HeartbeatListen and runs the active health checks (mod_proxy_hcheck), writing
 * both into the balancer slots so every worker sees them at once. */
#ifndef PORTICO_HEARTBEAT_H
#define PORTICO_HEARTBEAT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "conf_types.h"

struct slotmem;

/* Whether the config needs the process (HeartbeatListen set, or any member with hcmethod). */
int heartbeat_needed(const struct conf *conf);

/* Runs until SIGTERM/SIGUSR1 or the master's death; never returns. The master forks it after
 * creating the balancer segment and restarts it on every (graceful) restart and if it dies. */
void heartbeat_main(const struct conf *conf, struct slotmem *balancer_shm)
    __attribute__((noreturn));

/* ---- configuration (heartbeat_conf.c, hung off conf->heartbeat; NULL when none of the
 * mod_heartmonitor directives appears) ---- */

#define HB_DEFAULT_MAX_SERVERS 10
#define HB_MAX_MSG_LEN         1000 /* mod_heartmonitor's MAX_MSG_LEN */
#define HB_UPDATE_MS           5000 /* HM_UPDATE_SEC: how often HeartbeatStorage is rewritten */
#define HB_SEEN_TIMEOUT_S      30   /* SEEN_TIMEOUT: entries older than this are dropped */

struct heartbeat_conf {
    char *listen; /* HeartbeatListen as written, NULL = no listener */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int multicast;    /* addr is a multicast group: join it */
    int max_servers;  /* HeartbeatMaxServers; CONF_UNSET = 10. 0 = httpd's file mode */
    char *storage;    /* HeartbeatStorage, absolute; NULL = not set */
    const char *file; /* where HeartbeatListen was set */
    int line;
};

/* The file HeartbeatStorage names, or NULL when none is written: the explicit path, or
 * DefaultRuntimeDir/hb.dat in httpd's file mode (HeartbeatMaxServers 0). Result in buf. */
const char *heartbeat_storage_path(const struct conf *conf, char *buf, size_t size);

/* ---- pure parts, in heartbeat_conf.c so unit tests link libpconf only ---- */

/* One mod_heartbeat datagram, "v=1&ready=N&busy=M" (httpd also knows an optional port=).
 * Parsed as mod_heartmonitor does (&-separated key=value pairs, URL-unescaped, unknown keys
 * ignored) but strictly: v must be 1; ready and busy decimal integers 0..INT32_MAX; port
 * 1..65535; no duplicate of those keys; no empty pair, no control byte, no bad %-escape;
 * at most HB_MAX_MSG_LEN bytes. */
struct hb_message {
    int ready;
    int busy;
    int port; /* 80 when absent, as httpd */
};

/* Returns 0, or -1 with a static reason in *why (may be NULL). */
int heartbeat_parse_message(const char *buf, size_t len, struct hb_message *out, const char **why);

/* One HeartbeatStorage line, httpd's format "<ip> &ready=N&busy=N&lastseen=S&port=P\n".
 * Returns the length, or -1 when it does not fit. */
int heartbeat_format_line(char *buf, size_t size, const char *ip, int ready, int busy,
                          int64_t lastseen_s, int port);

/* Health-check thresholds (mod_proxy_hcheck's state machine) for one result, on a member's
 * status flags and counters. A member with C (MEMBER_HCFAIL) or E (MEMBER_ERROR) is
 * re-enabled (both cleared) after `need_passes` passes; a healthy one gets C after
 * `need_fails` failures. Counters count back-to-back results, as the manual says: an
 * opposite result resets them (httpd's code keeps them across opposite results). Returns
 * +1 when C was just set, -1 when the member was just re-enabled, 0 otherwise. */
int hcheck_apply(unsigned *status, int *passes, int *fails, int ok, int need_passes,
                 int need_fails);

enum hc_method { HC_NONE, HC_TCP, HC_OPTIONS, HC_HEAD, HC_GET, HC_OPTIONS11, HC_HEAD11, HC_GET11 };

/* hcmethod value (case-insensitive) to the enum; NONE and NULL give HC_NONE; -1 unknown. */
int hcheck_method_parse(const char *name);

/* The probe request for an HTTP method: "<METHOD> <path>[/]<hcuri> HTTP/1.x" (httpd's
 * concatenation: a "/" between a member path and hcuri), "OPTIONS *" for OPTIONS, and
 * "Host: host:port" (the port always, IPv6 bracketed). An empty target becomes "/". The
 * HTTP/1.1 forms add "Connection: close" (one probe per connection). Returns the length or
 * -1 when it does not fit. */
int hcheck_build_request(char *buf, size_t size, enum hc_method m, const char *host, int port,
                         const char *path, const char *hcuri);

/* ---- active health checks (hcheck.c), driven by heartbeat_main's poll loop ---- */

struct pollfd;
struct hcheck_set;

/* Every member with an hcmethod, bound to its slot in `sm`. Returns NULL when out of memory;
 * an empty set (hcheck_count 0) when no member is checked. */
struct hcheck_set *hcheck_create(const struct conf *conf, struct slotmem *sm);
unsigned hcheck_count(const struct hcheck_set *hs);

/* Starts the checks that are due and lists the sockets of those in flight in pfd[0..max)
 * (returns how many). *wake_ms (CLOCK_MONOTONIC ms, util_now_ms) is lowered to the next
 * due time or deadline. */
int hcheck_prepare(struct hcheck_set *hs, struct pollfd *pfd, int max, int64_t now,
                   int64_t *wake_ms);

/* Advances the checks after poll(): pfd/n as filled by hcheck_prepare, revents set. Checks
 * past their deadline fail. */
void hcheck_advance(struct hcheck_set *hs, const struct pollfd *pfd, int n, int64_t now);

/* Closes every socket and frees the set. */
void hcheck_destroy(struct hcheck_set *hs);

#endif
