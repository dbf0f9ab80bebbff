/* The heartbeat process (mod_heartmonitor + the mod_proxy_hcheck watchdog): one child of the
 * master, unprivileged after binding HeartbeatListen, running a single poll loop over the UDP
 * socket and the health checks' sockets (hcheck.c).
 *
 * A datagram's sender IP (string form, as httpd's apr_sockaddr_ip_get) is its key: the
 * reported ready/busy and the time it arrived go into every balancer slot whose member host
 * is that exact string (lbmethod heartbeat reads them from there), and into a table of known
 * senders, bounded by HeartbeatMaxServers, from which HeartbeatStorage is rewritten every
 * 5 seconds in httpd's file format. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "balancer_slot.h"
#include "heartbeat.h"
#include "log.h"
#include "privdrop.h"
#include "proxy_types.h"
#include "util.h"

#define HB_FILE_MODE_SENDERS 256 /* table size in file mode (HeartbeatMaxServers 0) */
#define HB_RECV_BURST        64  /* datagrams read per wakeup before serving the checks */
#define HB_LOG_EVERY_MS      10000

struct hb_sender {
    char ip[INET6_ADDRSTRLEN];
    int ready, busy, port;
    int64_t seen_ms; /* CLOCK_REALTIME */
    int next;        /* hash chain, -1 = end */
};

struct hb_member { /* a member host and its slot, sorted by host for bsearch */
    const char *host;
    struct balancer_slot *slot;
};

static struct {
    const struct conf *conf;
    int fd;
    struct hb_sender *senders;
    int n_senders, cap;
    int *bucket; /* hash index into senders */
    unsigned n_buckets;
    struct hb_member *members;
    size_t n_members;
    char storage[PATH_MAX];
    int storage_failing;
    int64_t last_drop_log, last_bad_log;
    unsigned long dropped, bad;
} H = {.fd = -1};

static volatile sig_atomic_t stop_sig;

static void on_stop(int sig)
{
    stop_sig = sig;
}

static int64_t realtime_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static unsigned hash_ip(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static void index_rebuild(void)
{
    for (unsigned i = 0; i < H.n_buckets; i++)
        H.bucket[i] = -1;
    for (int i = 0; i < H.n_senders; i++) {
        unsigned b = hash_ip(H.senders[i].ip) & (H.n_buckets - 1);
        H.senders[i].next = H.bucket[b];
        H.bucket[b] = i;
    }
}

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const struct hb_member *)a)->host, ((const struct hb_member *)b)->host);
}

static int tables_init(struct slotmem *sm)
{
    const struct heartbeat_conf *hc = H.conf->heartbeat;
    int ms = hc->max_servers == CONF_UNSET ? HB_DEFAULT_MAX_SERVERS : hc->max_servers;
    H.cap = ms > 0 ? ms : HB_FILE_MODE_SENDERS;
    H.n_buckets = 16;
    while (H.n_buckets < (unsigned)H.cap * 2)
        H.n_buckets <<= 1;
    H.senders = calloc((size_t)H.cap, sizeof(*H.senders));
    H.bucket = malloc(H.n_buckets * sizeof(*H.bucket));
    if (H.senders == NULL || H.bucket == NULL)
        return -1;
    index_rebuild();

    const struct proxy_global_conf *pg = H.conf->proxy;
    if (pg == NULL || sm == NULL)
        return 0;
    size_t n = 0;
    for (const struct proxy_balancer *b = pg->balancers; b; b = b->next)
        n += b->n_members;
    if (n == 0)
        return 0;
    H.members = calloc(n, sizeof(*H.members));
    if (H.members == NULL)
        return -1;
    for (const struct proxy_balancer *b = pg->balancers; b; b = b->next)
        for (const struct proxy_member *m = b->members; m; m = m->next) {
            struct balancer_slot *slot = balancer_shm_slot(sm, m->slot);
            if (slot != NULL && m->worker != NULL && m->worker->host != NULL && H.n_members < n) {
                H.members[H.n_members].host = m->worker->host;
                H.members[H.n_members].slot = slot;
                H.n_members++;
            }
        }
    qsort(H.members, H.n_members, sizeof(*H.members), cmp_member);
    return 0;
}

/* Every slot whose member host is `ip` (exact string, as mod_lbmethod_heartbeat). */
static void update_slots(const char *ip, const struct hb_message *msg, int64_t seen)
{
    size_t lo = 0, hi = H.n_members;
    while (lo < hi) { /* first member with host >= ip */
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(H.members[mid].host, ip) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < H.n_members && strcmp(H.members[i].host, ip) == 0; i++) {
        struct balancer_slot *s = H.members[i].slot;
        atomic_store(&s->hb_ready, msg->ready);
        atomic_store(&s->hb_busy, msg->busy);
        atomic_store(&s->hb_seen_ms, seen);
    }
}

/* Drops senders not heard from for HB_SEEN_TIMEOUT_S (httpd releases their slotmem entry). */
static void expire_senders(int64_t now)
{
    int k = 0;
    for (int i = 0; i < H.n_senders; i++)
        if (now - H.senders[i].seen_ms <= (int64_t)HB_SEEN_TIMEOUT_S * 1000)
            H.senders[k++] = H.senders[i];
    if (k != H.n_senders) {
        H.n_senders = k;
        index_rebuild();
    }
}

static void record(const char *ip, const struct hb_message *msg, int64_t now_rt, int64_t mono)
{
    update_slots(ip, msg, now_rt);
    unsigned b = hash_ip(ip) & (H.n_buckets - 1);
    int i = H.bucket[b];
    while (i >= 0 && strcmp(H.senders[i].ip, ip) != 0)
        i = H.senders[i].next;
    if (i < 0) {
        if (H.n_senders >= H.cap)
            expire_senders(now_rt);
        if (H.n_senders >= H.cap) {
            /* httpd's slotmem grab fails the same way; members still got the beat above. */
            H.dropped++;
            if (mono - H.last_drop_log >= HB_LOG_EVERY_MS) {
                log_msg(MOD_HEARTMONITOR, LL_WARN, 0, NULL,
                        "HeartbeatMaxServers (%d) reached: %lu heartbeat(s) from new senders "
                        "such as %s not stored",
                        H.cap, H.dropped, ip);
                H.last_drop_log = mono;
                H.dropped = 0;
            }
            return;
        }
        i = H.n_senders++;
        util_strlcpy(H.senders[i].ip, ip, sizeof(H.senders[i].ip));
        b = hash_ip(ip) & (H.n_buckets - 1);
        H.senders[i].next = H.bucket[b];
        H.bucket[b] = i;
    }
    H.senders[i].ready = msg->ready;
    H.senders[i].busy = msg->busy;
    H.senders[i].port = msg->port;
    H.senders[i].seen_ms = now_rt;
}

/* The sender as httpd prints it; an IPv4-mapped IPv6 source becomes plain IPv4 so it
 * matches a member written as 192.0.2.1. */
static int sender_ip(const struct sockaddr_storage *ss, char *buf, size_t size)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
        return inet_ntop(AF_INET, &in->sin_addr, buf, (socklen_t)size) ? 0 : -1;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], buf, (socklen_t)size) ? 0 : -1;
        return inet_ntop(AF_INET6, &in6->sin6_addr, buf, (socklen_t)size) ? 0 : -1;
    }
    return -1;
}

static void receive(int64_t mono)
{
    for (int burst = 0; burst < HB_RECV_BURST; burst++) {
        char buf[HB_MAX_MSG_LEN + 1];
        struct sockaddr_storage from;
        socklen_t flen = sizeof(from);
        ssize_t n = recvfrom(H.fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC,
                             (struct sockaddr *)&from, &flen);
        if (n < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_msg(MOD_HEARTMONITOR, LL_ERROR, errno, NULL, "recvfrom failed");
            return;
        }
        char ip[INET6_ADDRSTRLEN];
        if (sender_ip(&from, ip, sizeof(ip)) < 0)
            continue;
        struct hb_message msg;
        const char *why = NULL;
        /* MSG_TRUNC makes n the real length: a datagram over 1000 bytes is refused whole. */
        if (heartbeat_parse_message(buf, (size_t)n, &msg, &why) < 0) {
            H.bad++;
            if (mono - H.last_bad_log >= HB_LOG_EVERY_MS) {
                log_msg(MOD_HEARTMONITOR, LL_ERROR, 0, NULL,
                        "malformed message from %s (%s); %lu malformed in the last %d s", ip,
                        why ? why : "?", H.bad, HB_LOG_EVERY_MS / 1000);
                H.last_bad_log = mono;
                H.bad = 0;
            }
            continue;
        }
        log_msg(MOD_HEARTMONITOR, LL_DEBUG, 0, NULL, "%s busy=%d ready=%d", ip, msg.busy,
                msg.ready);
        record(ip, &msg, realtime_ms(), mono);
    }
}

/* httpd's hm_file_update_stats: temp file, read-only for all, renamed over the path. */
static void write_storage(int64_t now)
{
    if (H.storage[0] == '\0')
        return;
    char tmp[PATH_MAX + 16];
    int len = snprintf(tmp, sizeof(tmp), "%s.tmp.XXXXXX", H.storage);
    if (len < 0 || (size_t)len >= sizeof(tmp))
        return;
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (f == NULL) {
        if (fd >= 0) {
            close(fd);
            unlink(tmp);
        }
        goto fail;
    }
    for (int i = 0; i < H.n_senders; i++) {
        const struct hb_sender *s = &H.senders[i];
        int64_t age = (now - s->seen_ms) / 1000;
        if (age > HB_SEEN_TIMEOUT_S)
            continue;
        char line[INET6_ADDRSTRLEN + 96];
        if (heartbeat_format_line(line, sizeof(line), s->ip, s->ready, s->busy, age, s->port) > 0)
            fputs(line, f);
    }
    int bad = fflush(f) != 0 || fchmod(fileno(f), 0444) != 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, H.storage) != 0) {
        int e = errno;
        unlink(tmp);
        errno = e;
        goto fail;
    }
    if (H.storage_failing)
        log_msg(MOD_HEARTMONITOR, LL_NOTICE, 0, NULL, "HeartbeatStorage %s written again",
                H.storage);
    H.storage_failing = 0;
    return;
fail:
    if (!H.storage_failing)
        log_msg(MOD_HEARTMONITOR, LL_ERROR, errno, NULL, "cannot write HeartbeatStorage %s",
                H.storage);
    H.storage_failing = 1;
}

static int open_listener(const struct heartbeat_conf *hc)
{
    int fd = socket(hc->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    /* SO_REUSEADDR as httpd: several listeners (or a restarting one) share the group. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (const struct sockaddr *)&hc->addr, hc->addrlen) < 0)
        goto fail;
    if (hc->multicast && hc->addr.ss_family == AF_INET) {
        struct ip_mreq mr;
        memset(&mr, 0, sizeof(mr));
        mr.imr_multiaddr = ((const struct sockaddr_in *)&hc->addr)->sin_addr;
        mr.imr_interface.s_addr = htonl(INADDR_ANY);
        unsigned char loop = 1;
        if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &mr, sizeof(mr)) < 0 ||
            setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof(loop)) < 0)
            goto fail;
    } else if (hc->multicast && hc->addr.ss_family == AF_INET6) {
        struct ipv6_mreq mr;
        memset(&mr, 0, sizeof(mr));
        mr.ipv6mr_multiaddr = ((const struct sockaddr_in6 *)&hc->addr)->sin6_addr;
        unsigned loop = 1;
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_JOIN_GROUP, &mr, sizeof(mr)) < 0 ||
            setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &loop, sizeof(loop)) < 0)
            goto fail;
    }
    return fd;
fail : {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
}
}

void heartbeat_main(const struct conf *conf, struct slotmem *balancer_shm)
{
    H.conf = conf;
    pid_t parent = getppid();
    log_set_target(conf->main->error_log_fd, &conf->main->loglevel);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    prctl(PR_SET_NAME, "portico: hb");

    /* The stop signals stay blocked except inside ppoll(), so one arriving between the flag
     * test and the wait is not lost. */
    sigset_t stop_set, unblocked;
    sigemptyset(&stop_set);
    sigemptyset(&unblocked);
    int stops[] = {SIGTERM, SIGUSR1, SIGHUP, SIGINT};
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < ARRAY_LEN(stops); i++) {
        sigaction(stops[i], &sa, NULL);
        sigaddset(&stop_set, stops[i]);
    }
    signal(SIGPIPE, SIG_IGN);
    signal(SIGWINCH, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    sigprocmask(SIG_SETMASK, &stop_set, NULL);
    if (getppid() != parent)
        _exit(0); /* the master died before PDEATHSIG was armed */

    /* Inherited listening sockets would keep the ports open after the master closes them. */
    for (const struct conf_listener *l = conf->listeners; l; l = l->next)
        if (l->fd >= 0)
            close(l->fd);

    const struct heartbeat_conf *hc = conf->heartbeat;
    if (hc != NULL && hc->listen != NULL) {
        /* Bound before dropping privileges, so a port below 1024 works. */
        H.fd = open_listener(hc);
        if (H.fd < 0)
            log_msg(MOD_HEARTMONITOR, LL_CRIT, errno, NULL,
                    "HeartbeatListen %s: unable to listen for heartbeats%s", hc->listen,
                    hc->multicast ? " (bind or multicast join failed)" : "");
    }
    char err[256];
    if (privdrop_child(conf, err, sizeof(err)) < 0) {
        log_msg(MOD_UNIXD, LL_ALERT, 0, NULL, "heartbeat process refuses to run: %s", err);
        _exit(2);
    }
    /* Credentials changed: the parent-death signal was cleared, arm it again. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(0);
    if (H.fd >= 0) {
        if (tables_init(balancer_shm) < 0) {
            log_msg(MOD_HEARTMONITOR, LL_ALERT, ENOMEM, NULL, "heartbeat tables");
            _exit(1);
        }
        if (heartbeat_storage_path(conf, H.storage, sizeof(H.storage)) == NULL)
            H.storage[0] = '\0';
        log_msg(MOD_HEARTMONITOR, LL_INFO, 0, NULL,
                "listening for heartbeats on %s%s, %d sender(s) at most%s%s", hc->listen,
                hc->multicast ? " (multicast)" : "", H.cap, H.storage[0] ? ", storage " : "",
                H.storage);
    }
    struct hcheck_set *hs = hcheck_create(conf, balancer_shm);
    if (hs == NULL) {
        log_msg(MOD_PROXY_HCHECK, LL_ALERT, ENOMEM, NULL, "health check setup");
        _exit(1);
    }
    unsigned n_checks = hcheck_count(hs);
    struct pollfd *pfd = calloc(1 + (size_t)n_checks, sizeof(*pfd));
    if (pfd == NULL) {
        log_msg(MOD_PROXY_HCHECK, LL_ALERT, ENOMEM, NULL, "poll set");
        _exit(1);
    }
    if (H.fd < 0 && n_checks == 0)
        log_msg(MOD_HEARTMONITOR, LL_NOTICE, 0, NULL,
                "heartbeat process idle: no listener and no health check");

    int64_t next_store = util_now_ms() + HB_UPDATE_MS;
    while (!stop_sig) {
        int64_t now = util_now_ms();
        /* Wake at least every second to notice a master that died without PDEATHSIG. */
        int64_t wake = now + 1000;
        if (H.fd >= 0 && next_store < wake)
            wake = next_store;
        int n = 0;
        if (H.fd >= 0) {
            pfd[0].fd = H.fd;
            pfd[0].events = POLLIN;
            pfd[0].revents = 0;
            n = 1;
        }
        int nc = hcheck_prepare(hs, pfd + n, (int)n_checks, now, &wake);
        int64_t left = wake - now;
        if (left < 0)
            left = 0;
        struct timespec ts = {(time_t)(left / 1000), (long)(left % 1000) * 1000000L};
        int rc = ppoll(pfd, (nfds_t)(n + nc), &ts, &unblocked);
        if (rc < 0 && errno != EINTR) {
            log_msg(MOD_HEARTMONITOR, LL_ALERT, errno, NULL, "ppoll");
            break;
        }
        if (stop_sig)
            break;
        now = util_now_ms();
        if (getppid() != parent)
            break;
        if (n == 1 && rc > 0 && (pfd[0].revents & POLLIN))
            receive(now);
        hcheck_advance(hs, pfd + n, rc > 0 ? nc : 0, now);
        if (H.fd >= 0 && now >= next_store) {
            int64_t rt = realtime_ms();
            expire_senders(rt);
            write_storage(rt);
            next_store = now + HB_UPDATE_MS;
        }
    }
    hcheck_destroy(hs);
    free(pfd);
    if (H.fd >= 0)
        close(H.fd);
    free(H.senders);
    free(H.bucket);
    free(H.members);
    _exit(0);
}
