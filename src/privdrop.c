/* Privilege separation. Why the master keeps each capability (started as root):
 *   cap_net_bind_service  a graceful restart may add a Listen (or HeartbeatListen) below 1024;
 *                         the heartbeat process binds its port before dropping privileges.
 *   cap_setuid/setgid     children (and RewriteMap programs with a user) switch to User/Group.
 *   cap_setpcap           children must empty their bounding set, which needs it.
 *   cap_kill              children run as User, another uid: signalling them needs it.
 * Dropped on purpose: cap_dac_override/cap_dac_read_search (the master stays uid 0, so files
 * owned by root are still readable and writable through their owner bits; files of other
 * users that deny root are not reopened on restart), cap_chown/cap_fowner (nothing is chowned),
 * and everything else (sys_admin, net_admin, net_raw, sys_ptrace, mknod...). The master's
 * bounding set is cut down to the same five, so nothing it executes (RewriteMap programs,
 * which run as root unless given a user) can hold more. */
#include "config.h"

#include "privdrop.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "log.h"

static const cap_value_t keep_root[] = {CAP_KILL, CAP_SETGID, CAP_SETUID, CAP_SETPCAP,
                                        CAP_NET_BIND_SERVICE};
static const cap_value_t keep_user[] = {CAP_NET_BIND_SERVICE};

static int cap_count(void)
{
    /* cap_max_bits() asks the running kernel (cap_last_cap + 1), newer than CAP_LAST_CAP. */
    int n = (int)cap_max_bits();
    return n > 0 && n <= 64 ? n : CAP_LAST_CAP + 1;
}

static int in_list(cap_value_t c, const cap_value_t *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (list[i] == c)
            return 1;
    return 0;
}

static int cap_is_set(cap_t caps, cap_value_t c, cap_flag_t which)
{
    cap_flag_value_t v = CAP_CLEAR;
    return caps != NULL && cap_get_flag(caps, c, which, &v) == 0 && v == CAP_SET;
}

/* A child reads and clears its capability sets with capget/capset, not with libcap's cap_t:
 * that lives on the heap, and a worker's first small mallocs reuse chunks the master freed,
 * so each would copy some of the master's heap pages into every worker. */
struct capsets {
    uint64_t eff, prm, inh;
};

static int caps_read(struct capsets *s)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    memset(d, 0, sizeof(d));
    if (capget(&h, d) < 0)
        return -1;
    s->eff = d[0].effective | (uint64_t)d[1].effective << 32;
    s->prm = d[0].permitted | (uint64_t)d[1].permitted << 32;
    s->inh = d[0].inheritable | (uint64_t)d[1].inheritable << 32;
    return 0;
}

static int caps_clear(void)
{
    struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];
    memset(d, 0, sizeof(d));
    return capset(&h, d);
}

static int have_effective(cap_value_t c)
{
    struct capsets s;
    return caps_read(&s) == 0 && c >= 0 && c < 64 && (s.eff >> c & 1);
}

/* "cap_a,cap_b" for the bits of mask, for messages. */
static void mask_names(uint64_t mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < 64 && used < len; c++) {
        if (!(mask & ((uint64_t)1 << c)))
            continue;
        char *name = cap_to_name(c);
        int n = snprintf(buf + used, len - used, "%s%s", used ? "," : "", name ? name : "?");
        cap_free(name);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* Empties the bounding set except `keep`. Needs cap_setpcap in the effective set. */
static int bounding_drop(const cap_value_t *keep, size_t nkeep, char *err, size_t errlen)
{
    int max = cap_count();
    for (cap_value_t c = 0; c < max; c++) {
        if (in_list(c, keep, nkeep) || cap_get_bound(c) != 1)
            continue;
        if (cap_drop_bound(c) < 0) {
            char *name = cap_to_name(c);
            snprintf(err, errlen, "cannot drop %s from the bounding set: %s", name ? name : "?",
                     strerror(errno));
            cap_free(name);
            return -1;
        }
    }
    return 0;
}

static uint64_t bounding_mask(void)
{
    uint64_t m = 0;
    int max = cap_count();
    for (cap_value_t c = 0; c < max && c < 64; c++)
        if (cap_get_bound(c) == 1)
            m |= (uint64_t)1 << c;
    return m;
}

static int ambient_clear(char *err, size_t errlen)
{
    /* EINVAL: a kernel older than 4.3 has no ambient set, so nothing to clear. */
    if (cap_reset_ambient() < 0 && errno != EINVAL) {
        snprintf(err, errlen, "cannot clear the ambient capability set: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int privdrop_master(const struct conf *conf, char *err, size_t errlen)
{
    int root = geteuid() == 0;
    const cap_value_t *keep = root ? keep_root : keep_user;
    size_t nkeep = root ? sizeof(keep_root) / sizeof(keep_root[0]) : 1;
    cap_t cur = NULL, want = NULL, after = NULL;
    int ret = -1;

    if (!root && (conf->user != NULL || conf->group != NULL)) {
        log_msg(MOD_UNIXD, LL_WARN, 0, NULL,
                "portico was started as uid %ld, not as root: User %s / Group %s ignored, the "
                "children run as uid %ld gid %ld",
                (long)geteuid(), conf->user ? conf->user : "(unset)",
                conf->group ? conf->group : "(unset)", (long)geteuid(), (long)getegid());
    } else if (root && conf->user == NULL) {
        log_msg(MOD_UNIXD, LL_WARN, 0, NULL,
                "no User directive: the children keep uid 0 (with no capabilities); set User "
                "and Group to an unprivileged account");
    } else if (root && conf->uid == 0) {
        log_msg(MOD_UNIXD, LL_WARN, 0, NULL,
                "User %s is root: the children keep uid 0 (with no capabilities); use an "
                "unprivileged account",
                conf->user);
    }

    cur = cap_get_proc();
    want = cap_init();
    if (cur == NULL || want == NULL) {
        snprintf(err, errlen, "cannot read the process capabilities: %s", strerror(errno));
        goto fail;
    }
    if (root) {
        /* Without these every child would fail its own drop: say so once, here. */
        static const cap_value_t needed[] = {CAP_SETPCAP, CAP_SETUID, CAP_SETGID};
        for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++) {
            if (i > 0 && conf->user == NULL)
                break;
            if (!cap_is_set(cur, needed[i], CAP_PERMITTED)) {
                char *name = cap_to_name(needed[i]);
                snprintf(err, errlen,
                         "started as root without %s (a restricted capability bounding set?): "
                         "children could not drop their privileges",
                         name ? name : "?");
                cap_free(name);
                goto fail;
            }
        }
    }
    for (size_t i = 0; i < nkeep; i++) {
        if (!cap_is_set(cur, keep[i], CAP_PERMITTED))
            continue;
        cap_set_flag(want, CAP_PERMITTED, 1, &keep[i], CAP_SET);
        cap_set_flag(want, CAP_EFFECTIVE, 1, &keep[i], CAP_SET);
    }
    /* The bounding set first: dropping from it needs cap_setpcap still effective. A master
     * started as a user usually cannot, which is harmless: it keeps nothing to pass on. */
    if (cap_is_set(cur, CAP_SETPCAP, CAP_EFFECTIVE) && bounding_drop(keep, nkeep, err, errlen) < 0)
        goto fail;
    if (cap_set_proc(want) < 0) {
        snprintf(err, errlen, "cannot reduce the master's capabilities: %s", strerror(errno));
        goto fail;
    }
    if (ambient_clear(err, errlen) < 0)
        goto fail;
    after = cap_get_proc();
    if (after == NULL || cap_compare(after, want) != 0) {
        snprintf(err, errlen, "the master's capability drop did not hold");
        goto fail;
    }
    char *text = cap_to_text(after, NULL);
    log_msg(MOD_UNIXD, LL_INFO, 0, NULL, "master capabilities after start-up: %s",
            text != NULL && strcmp(text, "=") != 0 ? text : "none");
    cap_free(text);
    ret = 0;
fail:
    cap_free(cur);
    cap_free(want);
    cap_free(after);
    return ret;
}

/* setgroups/setgid/setuid to User/Group with the ids conf_finish_mpm resolved in the master:
 * no passwd or group lookup here, so no NSS module is loaded into the child. */
static int switch_user(const struct conf *conf, gid_t *gid_out, char *err, size_t errlen)
{
    gid_t gid = conf->run_gid;
    if (gid == (gid_t)-1) {
        snprintf(err, errlen, "Group is not set and uid %ld has no passwd entry", (long)conf->uid);
        return -1;
    }
    if (conf->n_run_groups < 0) {
        snprintf(err, errlen, "cannot list the supplementary groups of %s", conf->user);
        return -1;
    }
    if (setgroups((size_t)conf->n_run_groups, conf->run_groups) < 0) {
        snprintf(err, errlen, "setgroups(%s): %s", conf->user, strerror(errno));
        return -1;
    }
    if (setgid(gid) < 0) {
        snprintf(err, errlen, "setgid(%ld): %s", (long)gid, strerror(errno));
        return -1;
    }
    if (setuid(conf->uid) < 0) {
        snprintf(err, errlen, "setuid(%ld): %s", (long)conf->uid, strerror(errno));
        return -1;
    }
    *gid_out = gid;
    return 0;
}

/* Cross-check with what the kernel reports in /proc/self/status. A missing /proc (a chroot)
 * is not an error: the libcap and prctl read-backs have already passed. */
static int verify_proc_status(int want_bnd_empty, char *err, size_t errlen)
{
    /* read(2) into the stack, not stdio: a FILE and its buffer would come from the heap
     * (see caps_read). The file is about 1.5 KiB; what does not fit is not looked at. */
    char buf[4096];
    int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    size_t used = 0;
    ssize_t got;
    while (used < sizeof(buf) - 1 && ((got = read(fd, buf + used, sizeof(buf) - 1 - used)) > 0 ||
                                      (got < 0 && errno == EINTR)))
        used += got > 0 ? (size_t)got : 0;
    close(fd);
    buf[used] = '\0';
    static const char *const fields[] = {"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"};
    int bad = 0, nnp = -1;
    for (char *line = buf, *next; !bad && *line != '\0'; line = next) {
        next = strchr(line, '\n');
        next = next != NULL ? next + 1 : line + strlen(line);
        if (strncmp(line, "NoNewPrivs:", 11) == 0) {
            nnp = (int)strtol(line + 11, NULL, 10);
            continue;
        }
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
            size_t n = strlen(fields[i]);
            if (strncmp(line, fields[i], n) != 0 || line[n] != ':')
                continue;
            if (i == 3 && !want_bnd_empty)
                break;
            uint64_t v = strtoull(line + n + 1, NULL, 16);
            if (v != 0) {
                char names[512];
                mask_names(v, names, sizeof(names));
                snprintf(err, errlen, "/proc/self/status still shows %s: %016" PRIx64 " (%s)",
                         fields[i], v, names);
                bad = 1;
            }
            break;
        }
    }
    if (!bad && nnp == 0) {
        snprintf(err, errlen, "/proc/self/status shows NoNewPrivs: 0");
        bad = 1;
    }
    return bad ? -1 : 0;
}

static int verify_child(const struct conf *conf, int switched, gid_t gid, int want_bnd_empty,
                        char *err, size_t errlen)
{
    struct capsets cur;
    if (caps_read(&cur) < 0) {
        snprintf(err, errlen, "cannot read the capabilities after the drop: %s", strerror(errno));
        return -1;
    }
    if (cur.eff | cur.prm | cur.inh) {
        char names[512];
        mask_names(cur.eff | cur.prm | cur.inh, names, sizeof(names));
        snprintf(err, errlen, "capabilities still held after the drop: %s", names);
        return -1;
    }
    uint64_t bnd = bounding_mask();
    if (want_bnd_empty && bnd != 0) {
        char names[512];
        mask_names(bnd, names, sizeof(names));
        snprintf(err, errlen, "capability bounding set not empty: %s", names);
        return -1;
    }
    for (cap_value_t c = 0; c < cap_count(); c++) {
        if (cap_get_ambient(c) == 1) {
            snprintf(err, errlen, "ambient capability %d still raised", (int)c);
            return -1;
        }
    }
    if (prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) != 1) {
        snprintf(err, errlen, "no_new_privs is not set");
        return -1;
    }
    if (switched) {
        uid_t ru, eu, su;
        gid_t rg, eg, sg;
        if (getresuid(&ru, &eu, &su) < 0 || getresgid(&rg, &eg, &sg) < 0 || ru != conf->uid ||
            eu != conf->uid || su != conf->uid || rg != gid || eg != gid || sg != gid) {
            snprintf(err, errlen,
                     "user/group switch did not hold (uid %ld/%ld/%ld gid %ld/%ld/%ld)", (long)ru,
                     (long)eu, (long)su, (long)rg, (long)eg, (long)sg);
            return -1;
        }
        /* A process that can regain root must not serve. */
        if (conf->uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
            snprintf(err, errlen, "still able to become root after dropping privileges");
            return -1;
        }
    }
    return verify_proc_status(want_bnd_empty, err, errlen);
}

int privdrop_child(const struct conf *conf, char *err, size_t errlen)
{
    int root = geteuid() == 0;
    int switching = root && conf->user != NULL;
    gid_t gid = (gid_t)-1;
    /* Started as a user, the bounding set can only be emptied with cap_setpcap, which such a
     * master never has; no_new_privs and an empty permitted set make it moot (no exec can
     * gain anything), so it is required empty only when started as root. */
    if (have_effective(CAP_SETPCAP) && bounding_drop(NULL, 0, err, errlen) < 0)
        return -1;
    if (ambient_clear(err, errlen) < 0)
        return -1;
    if (switching && switch_user(conf, &gid, err, errlen) < 0)
        return -1;
    /* setuid() away from 0 already cleared permitted and effective; a child that stays uid 0
     * (no User), or one of a master holding file capabilities, still has them. */
    if (caps_clear() < 0) {
        snprintf(err, errlen, "cannot drop capabilities: %s", strerror(errno));
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        return -1;
    }
    return verify_child(conf, switching, gid, root, err, errlen);
}
