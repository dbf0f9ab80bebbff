#include "privdrop.h"

#include <errno.h>
#include <grp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

int privdrop_child(const struct conf *conf, char *err, size_t errlen)
{
    if (geteuid() != 0 || conf->user == NULL)
        return 0;
    if (setgroups(0, NULL) < 0 || setgid(conf->gid) < 0) {
        snprintf(err, errlen, "setgid(%d): %s", (int)conf->gid, strerror(errno));
        return -1;
    }
    if (initgroups(conf->user, conf->gid) < 0) {
        snprintf(err, errlen, "initgroups(%s): %s", conf->user, strerror(errno));
        return -1;
    }
    if (setuid(conf->uid) < 0) {
        snprintf(err, errlen, "setuid(%d): %s", (int)conf->uid, strerror(errno));
        return -1;
    }
    /* Verify: a process that can regain root must not serve. */
    if (conf->uid != 0 && (setuid(0) == 0 || geteuid() == 0)) {
        snprintf(err, errlen, "still able to become root after dropping privileges");
        return -1;
    }
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
        return -1;
    }
    return 0;
}
