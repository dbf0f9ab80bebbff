/* Logical lines, ${} expansion and words, as httpd's ap_cfg_getline(), ap_resolve_env()
 * and ap_getword_conf() do them. */
#include "conf_lex.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

void conf_lex_init(struct conf_lexer *lx, const char *buf, size_t len)
{
    memset(lx, 0, sizeof(*lx));
    lx->buf = buf;
    lx->len = len;
    lx->next_line = 1;
}

void conf_lex_free(struct conf_lexer *lx)
{
    free(lx->out);
    lx->out = NULL;
    lx->cap = 0;
}

static int append(struct conf_lexer *lx, size_t *used, const char *s, size_t n)
{
    if (*used + n + 1 > CONF_LEX_MAX_LINE)
        return -1;
    if (*used + n + 1 > lx->cap) {
        size_t cap = lx->cap ? lx->cap : 256;
        while (cap < *used + n + 1)
            cap *= 2;
        char *p = realloc(lx->out, cap);
        if (p == NULL)
            return -1;
        lx->out = p;
        lx->cap = cap;
    }
    memcpy(lx->out + *used, s, n);
    *used += n;
    lx->out[*used] = '\0';
    return 0;
}

int conf_lex_next(struct conf_lexer *lx, char **text, int *lineno)
{
    if (lx->pos >= lx->len)
        return 0;
    size_t used = 0;
    *lineno = lx->next_line;
    if (append(lx, &used, "", 0) < 0)
        return -1;
    for (;;) {
        const char *start = lx->buf + lx->pos;
        const char *nl = memchr(start, '\n', lx->len - lx->pos);
        size_t n = nl ? (size_t)(nl - start) : lx->len - lx->pos;
        lx->pos += n + (nl ? 1 : 0);
        lx->next_line++;
        if (n > 0 && start[n - 1] == '\r')
            n--;
        /* The backslash must be the very last character: "\ " does not continue. */
        int cont = n > 0 && start[n - 1] == '\\' && lx->pos < lx->len;
        if (append(lx, &used, start, cont ? n - 1 : n) < 0)
            return -1;
        if (!cont)
            break;
    }
    char *s = lx->out;
    while (is_space(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && is_space(s[n - 1]))
        n--;
    s[n] = '\0';
    *text = s;
    return 1;
}

int conf_lex_is_blank(const char *text)
{
    return text[0] == '\0' || text[0] == '#';
}

char *conf_lex_expand(struct arena *a, const char *line, conf_lex_lookup_fn lookup,
                      conf_lex_undefined_fn undefined, void *ctx)
{
    if (strstr(line, "${") == NULL)
        return arena_strdup(a, line);
    /* Two passes: measure, then copy, so the result is one arena block. */
    size_t total = 0;
    for (int pass = 0; pass < 2; pass++) {
        char *out = NULL;
        if (pass == 1) {
            out = arena_alloc(a, total + 1);
            if (out == NULL)
                return NULL;
        }
        size_t o = 0;
        const char *p = line;
        while (*p) {
            const char *close;
            if (p[0] == '$' && p[1] == '{' && (close = strchr(p + 2, '}')) != NULL) {
                size_t nlen = (size_t)(close - (p + 2));
                char name[256];
                const char *val = NULL;
                if (nlen > 0 && nlen < sizeof(name)) {
                    memcpy(name, p + 2, nlen);
                    name[nlen] = '\0';
                    if (strchr(name, ':') == NULL) {
                        val = lookup(ctx, name);
                        if (val == NULL && pass == 0 && undefined != NULL)
                            undefined(ctx, name);
                    }
                }
                if (val != NULL) {
                    size_t vl = strlen(val);
                    if (out)
                        memcpy(out + o, val, vl);
                    o += vl;
                    p = close + 1;
                    continue;
                }
                /* Undefined: keep "${NAME}" literally. */
                size_t keep = (size_t)(close + 1 - p);
                if (out)
                    memcpy(out + o, p, keep);
                o += keep;
                p = close + 1;
                continue;
            }
            if (out)
                out[o] = *p;
            o++;
            p++;
        }
        if (out) {
            out[o] = '\0';
            return out;
        }
        total = o;
    }
    return NULL;
}

/* httpd's substring_conf(): drops the backslash of `\\` always and of `\<quote>` inside a
 * quoted word; every other backslash is kept. */
static char *unescape(struct arena *a, const char *s, size_t n, char quote)
{
    char *out = arena_alloc(a, n + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '\\' || (quote && s[i + 1] == quote)))
            i++;
        out[o++] = s[i];
    }
    out[o] = '\0';
    return out;
}

char *conf_lex_word(struct arena *a, const char **line)
{
    const char *p = *line;
    while (is_space(*p))
        p++;
    if (*p == '\0') {
        *line = p;
        return arena_strdup(a, "");
    }
    char *w;
    if (*p == '"' || *p == '\'') {
        char q = *p++;
        const char *end = p;
        while (*end && *end != q) {
            if (end[0] == '\\' && (end[1] == q || end[1] == '\\'))
                end += 2;
            else
                end++;
        }
        w = unescape(a, p, (size_t)(end - p), q);
        p = *end ? end + 1 : end; /* a missing close quote runs to the end of the line */
    } else {
        const char *end = p;
        while (*end && !is_space(*end))
            end++;
        w = unescape(a, p, (size_t)(end - p), 0);
        p = end;
    }
    while (is_space(*p))
        p++;
    *line = p;
    return w;
}

int conf_lex_split(struct arena *a, const char *line, char ***argv)
{
    size_t cap = 8, n = 0;
    char **v = arena_alloc(a, cap * sizeof(*v));
    if (v == NULL)
        return -1;
    const char *p = line;
    while (is_space(*p))
        p++;
    while (*p) {
        char *w = conf_lex_word(a, &p);
        if (w == NULL)
            return -1;
        if (n + 2 > cap) {
            char **nv = arena_alloc(a, cap * 2 * sizeof(*v));
            if (nv == NULL)
                return -1;
            memcpy(nv, v, n * sizeof(*v));
            v = nv;
            cap *= 2;
        }
        v[n++] = w;
    }
    v[n] = NULL;
    *argv = v;
    return (int)n;
}
