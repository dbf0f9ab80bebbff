/* For unit tests that load a configuration: a throwaway ServerRoot (with an htdocs
 * directory) under /tmp, written and loaded in one call, removed by testconf_clean(). */
#ifndef PORTICO_TESTCONF_H
#define PORTICO_TESTCONF_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "conf.h"

static char testconf_root[256];

static int testconf_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void testconf_clean(void)
{
    if (testconf_root[0] != '\0')
        nftw(testconf_root, testconf_rm, 16, FTW_DEPTH | FTW_PHYS);
    testconf_root[0] = '\0';
}

/* Writes prefix + body as portico.conf in a fresh /tmp/<tag>.XXXXXX and loads it; NULL with
 * the errors in errbuf on failure. The previous root is removed first. */
static struct conf *testconf_load(const char *tag, const char *prefix, const char *body,
                                  char *errbuf, size_t errlen)
{
    testconf_clean();
    snprintf(testconf_root, sizeof(testconf_root), "/tmp/%s.XXXXXX", tag);
    if (mkdtemp(testconf_root) == NULL) {
        perror("mkdtemp");
        exit(2);
    }
    char path[512];
    snprintf(path, sizeof(path), "%s/htdocs", testconf_root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/portico.conf", testconf_root);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        exit(2);
    }
    fprintf(f, "%s%s", prefix, body);
    fclose(f);
    struct conf_options o = {testconf_root, NULL, NULL, NULL, NULL};
    errbuf[0] = '\0';
    return conf_load(&o, errbuf, errlen);
}

#endif
