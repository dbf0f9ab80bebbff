#include "mime.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

struct mime_entry {
    char *ext; /* lower case, no dot */
    char *type;
};

static struct mime_entry *table;
static size_t table_len;

static const struct mime_entry builtin[] = {
    {"html", "text/html"},
    {"htm", "text/html"},
    {"txt", "text/plain"},
    {"css", "text/css"},
    {"js", "text/javascript"},
    {"json", "application/json"},
    {"xml", "application/xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"ico", "image/vnd.microsoft.icon"},
    {"webp", "image/webp"},
    {"pdf", "application/pdf"},
    {"zip", "application/zip"},
    {"gz", "application/gzip"},
    {"wasm", "application/wasm"},
    {"woff", "font/woff"},
    {"woff2", "font/woff2"},
    {"mp4", "video/mp4"},
    {"bin", "application/octet-stream"},
};

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct mime_entry *)a)->ext, ((const struct mime_entry *)b)->ext);
}

void mime_free(void)
{
    for (size_t i = 0; i < table_len; i++) {
        free(table[i].ext);
        free(table[i].type);
    }
    free(table);
    table = NULL;
    table_len = 0;
}

static int add_entry(size_t *cap, const char *ext, const char *type)
{
    if (table_len == *cap) {
        size_t ncap = *cap ? *cap * 2 : 256;
        struct mime_entry *n = realloc(table, ncap * sizeof(*n));
        if (n == NULL)
            return -1;
        table = n;
        *cap = ncap;
    }
    char *e = strdup(ext), *t = strdup(type);
    if (e == NULL || t == NULL) {
        free(e);
        free(t);
        return -1;
    }
    for (char *p = e; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p + 32);
    table[table_len].ext = e;
    table[table_len].type = t;
    table_len++;
    return 0;
}

int mime_load(const struct conf *conf, char *err, size_t errlen)
{
    size_t cap = 0;
    mime_free();
    if (conf->types_config == NULL) {
        for (size_t i = 0; i < ARRAY_LEN(builtin); i++)
            if (add_entry(&cap, builtin[i].ext, builtin[i].type) < 0)
                goto nomem;
    } else {
        FILE *f = fopen(conf->types_config, "r");
        if (f == NULL) {
            snprintf(err, errlen, "TypesConfig %s: %s", conf->types_config, strerror(errno));
            return -1;
        }
        char line[1024];
        while (fgets(line, sizeof(line), f) != NULL) {
            char *save = NULL;
            char *type = strtok_r(line, " \t\r\n", &save);
            if (type == NULL || type[0] == '#')
                continue;
            char *ext;
            while ((ext = strtok_r(NULL, " \t\r\n", &save)) != NULL)
                if (add_entry(&cap, ext, type) < 0) {
                    fclose(f);
                    goto nomem;
                }
        }
        fclose(f);
    }
    qsort(table, table_len, sizeof(*table), cmp_entry);
    return 0;
nomem:
    snprintf(err, errlen, "out of memory loading MIME types");
    return -1;
}

const char *mime_type_for(const struct conf_server *srv, const char *filename)
{
    const char *dot = strrchr(filename, '.');
    const char *slash = strrchr(filename, '/');
    if (dot == NULL || (slash != NULL && dot < slash))
        return NULL;
    char ext[32];
    size_t n = strlen(dot + 1);
    if (n == 0 || n >= sizeof(ext))
        return NULL;
    for (size_t i = 0; i <= n; i++) {
        char ch = dot[1 + i];
        ext[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
    }
    if (srv != NULL)
        for (const struct conf_addtype *a = srv->addtypes; a; a = a->next)
            if (strcmp(a->ext, ext) == 0)
                return a->type;
    struct mime_entry key = {.ext = ext};
    struct mime_entry *e = bsearch(&key, table, table_len, sizeof(*table), cmp_entry);
    return e != NULL ? e->type : NULL;
}
