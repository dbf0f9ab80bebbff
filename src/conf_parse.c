/* The parser: files and -C/-c lines to directives. It owns the section stack, Include
 * (globs, directories, loop and depth limits), the conditional sections (<IfModule>,
 * <IfDefine>, <IfFile>, <IfDirective>, <IfSection>), Define/UnDefine and ${NAME}, the error
 * list, and conf_load(), which runs the post-parse passes of the module files. */
#include "conf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "arena.h"
#include "conf_lex.h"
#include "conf_registry.h"
#include "rewrite.h"
#include "util.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc/portico"
#endif

#define MAX_INCLUDE_DEPTH 128 /* httpd's AP_MAX_INCLUDE_DEPTH */
#define MAX_SECTION_DEPTH 256
#define MAX_CONFIG_SIZE   (64u * 1024u * 1024u)

/* One open section. Frames of a file sit above the frame that was on top when the file
 * started: a file must close what it opens, as in httpd. */
struct frame {
    const char *name; /* section name without '<', as declared ("VirtualHost") */
    unsigned ctx;
    struct conf_server *server;
    struct conf_dir *dir;
    void *section;
    const char *section_name;
    const char *(*close)(struct conf_cmd *cmd);
    const char *file;
    int line;
    struct frame *up;
};

struct open_file { /* the Include chain, for loop detection */
    const char *path;
    struct open_file *up;
};

struct conf_parser {
    struct conf *conf;
    char *errbuf;
    size_t errlen, errused;
    int nerrors;
    struct conf_msg **warn_tail;
    struct frame *top;
    int depth;
    struct conf_lexer *lx; /* lexer of the buffer being parsed, for skipping bodies */
    struct open_file *open;
    int include_depth;
};

/* ---- errors and warnings ---- */

static char *vformat_at(struct conf_parser *p, const char *file, int line, const char *fmt,
                        va_list ap)
{
    char *msg = arena_vprintf(p->conf->arena, fmt, ap);
    if (msg == NULL)
        return NULL;
    if (file == NULL)
        return arena_printf(p->conf->arena, "%s: %s", p->conf->config_file, msg);
    if (line <= 0)
        return arena_printf(p->conf->arena, "%s: %s", file, msg);
    return arena_printf(p->conf->arena, "%s:%d: %s", file, line, msg);
}

static void add_error(struct conf_parser *p, const char *text)
{
    p->nerrors++;
    if (text == NULL)
        text = "out of memory";
    if (p->errbuf == NULL || p->errlen == 0)
        return;
    size_t room = p->errlen - p->errused;
    size_t n = strlen(text);
    if (room > 1) {
        size_t c = n < room - 1 ? n : room - 1;
        memcpy(p->errbuf + p->errused, text, c);
        p->errused += c;
        if (p->errused < p->errlen - 1)
            p->errbuf[p->errused++] = '\n';
    }
    p->errbuf[p->errused] = '\0';
}

static void perr(struct conf_parser *p, const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void perr(struct conf_parser *p, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(p, vformat_at(p, file, line, fmt, ap));
    va_end(ap);
}

static void add_warning(struct conf_parser *p, char *text)
{
    struct conf_msg *m = arena_calloc(p->conf->arena, 1, sizeof(*m));
    if (m == NULL || text == NULL)
        return;
    m->text = text;
    *p->warn_tail = m;
    p->warn_tail = &m->next;
}

void conf_error_at(struct conf_cmd *cmd, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_error(cmd->parser, vformat_at(cmd->parser, file, line, fmt, ap));
    va_end(ap);
}

void conf_warn_at(struct conf_cmd *cmd, const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    add_warning(cmd->parser, vformat_at(cmd->parser, file, line, fmt, ap));
    va_end(ap);
}

/* ---- sections ---- */

static void cmd_init(struct conf_parser *p, struct conf_cmd *cmd, const char *file, int line)
{
    memset(cmd, 0, sizeof(*cmd));
    cmd->conf = p->conf;
    cmd->arena = p->conf->arena;
    cmd->file = file;
    cmd->line = line;
    cmd->parser = p;
    if (p->top != NULL) {
        cmd->ctx = p->top->ctx;
        cmd->server = p->top->server;
        cmd->dir = p->top->dir;
        cmd->section = p->top->section;
        cmd->section_name = p->top->section_name;
    } else {
        cmd->ctx = CTX_SERVER;
        cmd->server = p->conf->main;
    }
}

const char *conf_section_push(struct conf_cmd *cmd, const char *name, unsigned ctx,
                              struct conf_dir *dir, void *section,
                              const char *(*close)(struct conf_cmd *cmd))
{
    struct conf_parser *p = cmd->parser;
    if (p->depth >= MAX_SECTION_DEPTH)
        return "sections nested too deeply";
    struct frame *f = arena_calloc(cmd->arena, 1, sizeof(*f));
    if (f == NULL)
        return "out of memory";
    f->name = name;
    f->ctx = ctx;
    f->server = cmd->server;
    f->dir = dir ? dir : cmd->dir;
    f->section = section ? section : cmd->section;
    /* A section that changes nothing is a conditional: messages keep naming the
     * enclosing real section. */
    if (ctx == cmd->ctx && dir == NULL && section == NULL &&
        cmd->server == (p->top ? p->top->server : p->conf->main))
        f->section_name = cmd->section_name;
    else
        f->section_name = arena_printf(cmd->arena, "<%s>", name);
    f->close = close;
    f->file = cmd->file;
    f->line = cmd->line;
    f->up = p->top;
    p->top = f;
    p->depth++;
    return NULL;
}

static void frame_pop(struct conf_parser *p)
{
    p->top = p->top->up;
    p->depth--;
}

/* Parses "Name>" after "</" (or "<"): returns the name and whether '>' follows it. */
static char *tag_name(struct conf_parser *p, const char *s, int *has_gt)
{
    size_t n = strcspn(s, " \t>");
    const char *rest = s + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    *has_gt = *rest == '>';
    return arena_strndup(p->conf->arena, s, n);
}

/* Skips a section's body without parsing it, as httpd's ap_soak_end_container(): nested
 * sections are counted, other close tags ignored. */
static void soak(struct conf_parser *p, const char *name, const char *file, int open_line)
{
    size_t cap = 16, depth = 1;
    char **stack = malloc(cap * sizeof(*stack));
    if (stack == NULL) {
        add_error(p, NULL);
        return;
    }
    stack[0] = (char *)name;
    char *text;
    int line, r;
    while ((r = conf_lex_next(p->lx, &text, &line)) == 1) {
        if (text[0] != '<')
            continue;
        int has_gt;
        if (text[1] == '/') {
            char *n = tag_name(p, text + 2, &has_gt);
            if (n != NULL && has_gt && util_strcaseeq(n, stack[depth - 1]) && --depth == 0)
                break;
            continue;
        }
        char *n = tag_name(p, text + 1, &has_gt);
        if (depth == cap) {
            char **ns = realloc(stack, cap * 2 * sizeof(*stack));
            if (ns == NULL)
                break;
            stack = ns;
            cap *= 2;
        }
        stack[depth++] = n ? n : (char *)"";
    }
    if (depth > 0)
        perr(p, file, open_line, "Expected </%s> before end of configuration", name);
    free(stack);
}

static void close_section(struct conf_parser *p, struct frame *base, const char *file, int line,
                          const char *s)
{
    int has_gt;
    char *name = tag_name(p, s, &has_gt);
    if (name == NULL) {
        add_error(p, NULL);
        return;
    }
    if (!has_gt) {
        perr(p, file, line, "</%s> directive missing closing '>'", name);
        return;
    }
    if (p->top == base) {
        perr(p, file, line, "</%s> without matching <%s section", name, name);
        return;
    }
    if (!util_strcaseeq(p->top->name, name)) {
        perr(p, file, line, "Expected </%s> but saw </%s>", p->top->name, name);
        frame_pop(p);
        return;
    }
    if (p->top->close != NULL) {
        struct conf_cmd cmd;
        cmd_init(p, &cmd, file, line);
        cmd.directive = arena_printf(p->conf->arena, "</%s>", p->top->name);
        const char *err = p->top->close(&cmd);
        if (err != NULL)
            perr(p, file, line, "%s: %s", cmd.directive, err);
    }
    frame_pop(p);
}

/* ---- lines ---- */

struct expand_ctx {
    struct conf_parser *p;
    const char *file;
    int line;
};

static const char *lookup_var(void *vctx, const char *name)
{
    struct expand_ctx *x = vctx;
    for (struct conf_define *d = x->p->conf->defines; d != NULL; d = d->next)
        if (d->value != NULL && strcmp(d->name, name) == 0)
            return d->value;
    return getenv(name);
}

static void undefined_var(void *vctx, const char *name)
{
    struct expand_ctx *x = vctx;
    add_warning(x->p, arena_printf(x->p->conf->arena, "%s:%d: Config variable ${%s} is not defined",
                                   x->file, x->line, name));
}

static void parse_line(struct conf_parser *p, struct frame *base, const char *file, int lineno,
                       const char *text)
{
    struct arena *a = p->conf->arena;
    struct expand_ctx x = {p, file, lineno};
    char *line = conf_lex_expand(a, text, lookup_var, undefined_var, &x);
    if (line == NULL) {
        add_error(p, NULL);
        return;
    }
    if (line[0] == '<' && line[1] == '/') {
        close_section(p, base, file, lineno, line + 2);
        return;
    }
    struct conf_cmd cmd;
    cmd_init(p, &cmd, file, lineno);
    char **argv;
    const char *err;
    if (line[0] == '<') {
        size_t n = strcspn(line + 1, " \t>");
        char *name = arena_strndup(a, line, n + 1);
        const char *rest = line + 1 + n;
        const char *gt = strrchr(rest, '>');
        if (gt == NULL) {
            perr(p, file, lineno, "%s> directive missing closing '>'", name);
            soak(p, name + 1, file, lineno);
            return;
        }
        char *args = arena_strndup(a, rest, (size_t)(gt - rest));
        int argc = args ? conf_lex_split(a, args, &argv) : -1;
        if (argc < 0) {
            add_error(p, NULL);
            return;
        }
        int depth = p->depth;
        err = conf_registry_invoke(&cmd, name, argc, argv);
        if (err != NULL)
            perr(p, file, lineno, "%s", err);
        /* Not entered (false condition, unknown or failed section): skip the body. */
        if (p->depth == depth)
            soak(p, name + 1, file, lineno);
        return;
    }
    int argc = conf_lex_split(a, line, &argv);
    if (argc < 0) {
        add_error(p, NULL);
        return;
    }
    if (argc == 0)
        return;
    /* The text after the directive name, for directives that tokenise it themselves as
     * httpd's RAW_ARGS ones do (mod_rewrite keeps backslashes the core would eat). */
    const char *rest = line;
    if (conf_lex_word(a, &rest) != NULL) {
        while (*rest == ' ' || *rest == '\t')
            rest++;
        cmd.raw_args = rest;
    }
    err = conf_registry_invoke(&cmd, argv[0], argc - 1, argv + 1);
    if (err != NULL)
        perr(p, file, lineno, "%s", err);
}

static void parse_buffer(struct conf_parser *p, const char *file, const char *buf, size_t len,
                         int first_line)
{
    struct conf_lexer lx;
    conf_lex_init(&lx, buf, len);
    lx.next_line = first_line;
    struct conf_lexer *saved = p->lx;
    struct frame *base = p->top;
    p->lx = &lx;
    char *text;
    int line = first_line, r;
    while ((r = conf_lex_next(&lx, &text, &line)) == 1) {
        if (!conf_lex_is_blank(text))
            parse_line(p, base, file, line, text);
    }
    if (r < 0)
        perr(p, file, line, "line too long (or out of memory)");
    while (p->top != base && p->top != NULL) {
        perr(p, p->top->file, p->top->line, "<%s> was not closed.", p->top->name);
        frame_pop(p);
    }
    p->lx = saved;
    conf_lex_free(&lx);
}

/* ---- files and Include ---- */

static int read_file(const char *path, char **out, size_t *outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || S_ISDIR(st.st_mode)) {
        int e = S_ISDIR(st.st_mode) ? EISDIR : errno;
        close(fd);
        errno = e;
        return -1;
    }
    size_t cap = 4096, len = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (buf == NULL || len > MAX_CONFIG_SIZE) {
            free(buf);
            close(fd);
            errno = buf ? EFBIG : ENOMEM;
            return -1;
        }
        if (len == cap) {
            char *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                free(buf);
                buf = NULL;
                continue;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            free(buf);
            close(fd);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    close(fd);
    *out = buf;
    *outlen = len;
    return 0;
}

static const char *parse_file(struct conf_cmd *cmd, const char *path)
{
    struct conf_parser *p = cmd->parser;
    if (p->include_depth >= MAX_INCLUDE_DEPTH)
        return conf_errf(cmd, "%s: exceeded the maximum include nesting level of %d", path,
                         MAX_INCLUDE_DEPTH);
    char real[PATH_MAX];
    const char *key = realpath(path, real) ? real : path;
    for (struct open_file *o = p->open; o != NULL; o = o->up)
        if (strcmp(o->path, key) == 0)
            return conf_errf(cmd, "%s is included recursively (include loop)", path);
    char *buf;
    size_t len;
    if (read_file(path, &buf, &len) < 0)
        return conf_errf(cmd, "Could not open configuration file %s: %s", path, strerror(errno));
    struct open_file of = {arena_strdup(cmd->arena, key), p->open};
    const char *file = arena_strdup(cmd->arena, path);
    p->open = &of;
    p->include_depth++;
    parse_buffer(p, file ? file : path, buf, len, 1);
    p->include_depth--;
    p->open = of.up;
    free(buf);
    return NULL;
}

static int has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted (byte order) entries of dir, without "." and "..", matching pat (NULL = all). */
static char **list_dir(struct conf_cmd *cmd, const char *dir, const char *pat, int dirs_only,
                       size_t *n_out, int *err)
{
    DIR *d = opendir(dir);
    *n_out = 0;
    if (d == NULL) {
        *err = errno;
        return NULL;
    }
    size_t cap = 16, n = 0;
    char **v = malloc(cap * sizeof(*v));
    struct dirent *e;
    while (v != NULL && (e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (pat != NULL && fnmatch(pat, e->d_name, FNM_PERIOD) != 0)
            continue;
        if (dirs_only) {
            struct stat st;
            char *full = arena_printf(cmd->arena, "%s/%s", dir, e->d_name);
            if (full == NULL || stat(full, &st) < 0 || !S_ISDIR(st.st_mode))
                continue;
        }
        if (n == cap) {
            char **nv = realloc(v, cap * 2 * sizeof(*v));
            if (nv == NULL) {
                free(v);
                v = NULL;
                break;
            }
            v = nv;
            cap *= 2;
        }
        v[n++] = arena_strdup(cmd->arena, e->d_name);
    }
    closedir(d);
    if (v == NULL) {
        *err = ENOMEM;
        return NULL;
    }
    qsort(v, n, sizeof(*v), cmp_str);
    *n_out = n;
    *err = 0;
    return v;
}

static const char *include_any(struct conf_cmd *cmd, const char *path, int optional, int depth);

/* A directory includes every file below it, recursively, dotfiles too (as httpd). */
static const char *include_dir(struct conf_cmd *cmd, const char *dir, int depth)
{
    if (depth > MAX_INCLUDE_DEPTH)
        return conf_errf(cmd, "directory %s exceeds the maximum include nesting level of %d", dir,
                         MAX_INCLUDE_DEPTH);
    size_t n;
    int e;
    char **names = list_dir(cmd, dir, NULL, 0, &n, &e);
    if (names == NULL && e != 0)
        return conf_errf(cmd, "Could not open config directory %s: %s", dir, strerror(e));
    const char *err = NULL;
    for (size_t i = 0; i < n && err == NULL; i++) {
        char *full = arena_printf(cmd->arena, "%s/%s", dir, names[i]);
        err = full ? include_any(cmd, full, 0, depth + 1) : "out of memory";
    }
    free(names);
    return err;
}

static const char *include_any(struct conf_cmd *cmd, const char *path, int optional, int depth)
{
    struct stat st;
    if (stat(path, &st) < 0) {
        if (optional && errno == ENOENT)
            return NULL;
        return conf_errf(cmd, "Could not open configuration file %s: %s", path, strerror(errno));
    }
    if (S_ISDIR(st.st_mode))
        return include_dir(cmd, path, depth);
    return parse_file(cmd, path);
}

/* Expands the first wildcard component of `rest` below `dir`, then recurses. */
static const char *include_glob(struct conf_cmd *cmd, const char *dir, const char *rest,
                                int optional, int depth)
{
    const char *slash = strchr(rest, '/');
    size_t clen = slash ? (size_t)(slash - rest) : strlen(rest);
    char *comp = arena_strndup(cmd->arena, rest, clen);
    if (comp == NULL)
        return "out of memory";
    const char *next = slash ? slash + 1 : NULL;
    while (next != NULL && *next == '/')
        next++;
    if (next != NULL && *next == '\0')
        next = NULL;
    const char *sep = strcmp(dir, "/") == 0 ? "" : "/";
    if (!has_wildcard(comp)) {
        char *full = arena_printf(cmd->arena, "%s%s%s", dir, sep, comp);
        if (full == NULL)
            return "out of memory";
        if (next == NULL)
            return include_any(cmd, full, optional, depth);
        return include_glob(cmd, full, next, optional, depth);
    }
    size_t n;
    int e;
    char **names = list_dir(cmd, dir, comp, next != NULL, &n, &e);
    if (names == NULL && e != 0) {
        if (optional)
            return NULL;
        return conf_errf(cmd, "Could not open config directory %s: %s", dir, strerror(e));
    }
    if (n == 0) {
        free(names);
        if (optional)
            return NULL;
        return conf_errf(cmd, "No matches for the wildcard '%s' in '%s', failing", comp, dir);
    }
    const char *err = NULL;
    for (size_t i = 0; i < n && err == NULL; i++) {
        char *full = arena_printf(cmd->arena, "%s%s%s", dir, sep, names[i]);
        if (full == NULL)
            err = "out of memory";
        else if (next == NULL)
            err = include_any(cmd, full, optional, depth);
        else
            err = include_glob(cmd, full, next, optional, depth);
    }
    free(names);
    return err;
}

static const char *set_include(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                               char **argv)
{
    int optional = d->offset == 1;
    char *path = conf_server_path(cmd, argv[0]);
    if (path == NULL)
        return "out of memory";
    if (!has_wildcard(path))
        return include_any(cmd, path, optional, 0);
    /* Walk from the longest wildcard-free directory prefix. */
    const char *w = strpbrk(path, "*?[");
    const char *cut = w;
    while (cut > path && cut[-1] != '/')
        cut--;
    char *dir = cut > path + 1 ? arena_strndup(cmd->arena, path, (size_t)(cut - path - 1))
                               : arena_strdup(cmd->arena, "/");
    if (dir == NULL)
        return "out of memory";
    return include_glob(cmd, dir, cut, optional, 0);
}

/* ---- Define and conditionals ---- */

static struct conf_define *find_define(struct conf *c, const char *name)
{
    for (struct conf_define *d = c->defines; d != NULL; d = d->next)
        if (strcmp(d->name, name) == 0)
            return d;
    return NULL;
}

static const char *add_define(struct conf *c, const char *name, const char *value)
{
    struct conf_define *d = find_define(c, name);
    if (d == NULL) {
        d = arena_calloc(c->arena, 1, sizeof(*d));
        if (d == NULL || (d->name = arena_strdup(c->arena, name)) == NULL)
            return "out of memory";
        d->next = c->defines;
        c->defines = d;
    }
    if (value != NULL && (d->value = arena_strdup(c->arena, value)) == NULL)
        return "out of memory";
    return NULL;
}

static const char *set_define(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                              char **argv)
{
    if (strchr(argv[0], ':') != NULL)
        return "Variable name must not contain ':'";
    return add_define(cmd->conf, argv[0], argc > 1 ? argv[1] : NULL);
}

static const char *set_undefine(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                char **argv)
{
    for (struct conf_define **pp = &cmd->conf->defines; *pp != NULL; pp = &(*pp)->next) {
        if (strcmp((*pp)->name, argv[0]) == 0) {
            *pp = (*pp)->next;
            break;
        }
    }
    return NULL;
}

enum cond_kind { COND_MODULE, COND_DEFINE, COND_FILE, COND_DIRECTIVE, COND_SECTION };

static const char *const cond_names[] = {"IfModule", "IfDefine", "IfFile", "IfDirective",
                                         "IfSection"};

static int cond_true(struct conf_cmd *cmd, enum cond_kind k, const char *arg)
{
    const struct conf_directive *found;
    int id;
    struct stat st;
    switch (k) {
    case COND_MODULE:
        id = module_find(arg, 0);
        return id >= 0 && cmd->conf->module_loaded[id];
    case COND_DEFINE:
        return find_define(cmd->conf, arg) != NULL;
    case COND_FILE: {
        char *path = conf_server_path(cmd, arg);
        return path != NULL && stat(path, &st) == 0;
    }
    case COND_DIRECTIVE:
        found = conf_registry_find(arg);
        return found != NULL && !(found->flags & DIRF_SECTION);
    case COND_SECTION: {
        char *tag = arena_printf(cmd->arena, "<%s", arg);
        found = tag ? conf_registry_find(tag) : NULL;
        return found != NULL && (found->flags & DIRF_SECTION);
    }
    }
    return 0;
}

/* A true condition opens a section that changes nothing; a false one pushes nothing, so
 * the parser skips the body. */
static const char *set_conditional(struct conf_cmd *cmd, const struct conf_directive *d, int argc,
                                   char **argv)
{
    enum cond_kind k = (enum cond_kind)d->offset;
    const char *arg = argv[0];
    int negate = arg[0] == '!';
    if (negate)
        arg++;
    if (*arg == '\0')
        return "missing argument after '!'";
    if (cond_true(cmd, k, arg) == negate)
        return NULL;
    return conf_section_push(cmd, cond_names[k], cmd->ctx, NULL, NULL, NULL);
}

#define COND(name, kind)                                                                           \
    {                                                                                              \
        "<" name, CTX_ANY | CTX_AUTHZ, ARGS_TAKE1, set_conditional, TGT_NONE, kind, 0, 0,          \
            DIRF_SECTION, MOD_CORE, "[!]" name " argument"                                         \
    }

static const struct conf_directive parse_directives[] = {
    {"Include", CTX_ANY, ARGS_TAKE1, set_include, TGT_NONE, 0, 0, 0, 0, MOD_CORE,
     "file, directory or wildcard pattern"},
    {"IncludeOptional", CTX_ANY, ARGS_TAKE1, set_include, TGT_NONE, 1, 0, 0, 0, MOD_CORE,
     "file, directory or wildcard pattern (missing files are ignored)"},
    {"Define", CTX_ANY, ARGS_TAKE12, set_define, TGT_NONE, 0, 0, 0, 0, MOD_CORE,
     "a variable name and an optional value"},
    {"UnDefine", CTX_SERVER, ARGS_TAKE1, set_undefine, TGT_NONE, 0, 0, 0, 0, MOD_CORE,
     "a variable name"},
    COND("IfModule", COND_MODULE),
    COND("IfDefine", COND_DEFINE),
    COND("IfFile", COND_FILE),
    COND("IfDirective", COND_DIRECTIVE),
    COND("IfSection", COND_SECTION),
};

const struct conf_table conf_table_parse = {parse_directives, ARRAY_LEN(parse_directives)};

/* ---- conf_load ---- */

static char *absolute_dir(struct arena *a, const char *dir)
{
    if (dir[0] == '/')
        return arena_strdup(a, dir);
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return arena_strdup(a, dir);
    return arena_printf(a, "%s/%s", cwd, dir);
}

static void parse_command_lines(struct conf_parser *p, const char *file, const char **lines)
{
    for (int i = 0; lines != NULL && lines[i] != NULL; i++)
        parse_buffer(p, file, lines[i], strlen(lines[i]), i + 1);
}

static struct conf *conf_new(const struct conf_options *opt)
{
    struct arena *a = arena_create(64 * 1024);
    if (a == NULL)
        return NULL;
    struct conf *c = arena_calloc(a, 1, sizeof(*c));
    struct conf_server *main_srv = c ? arena_calloc(a, 1, sizeof(*main_srv)) : NULL;
    if (main_srv == NULL) {
        arena_destroy(a);
        return NULL;
    }
    c->arena = a;
    c->main = main_srv;
    conf_init_server(main_srv);
    for (int i = 0; i < MOD_COUNT; i++)
        c->module_loaded[i] = (unsigned char)module_available(i); /* LoadModule: a name check */
    c->uid = (uid_t)-1;
    c->gid = (gid_t)-1;
    c->start_servers = c->min_spare_servers = c->max_spare_servers = CONF_UNSET;
    c->max_request_workers = c->server_limit = c->max_connections_per_child = CONF_UNSET;
    c->listen_backlog = c->graceful_shutdown_timeout = CONF_UNSET;
    c->server_tokens = TOKENS_FULL;
    c->server_root = absolute_dir(a, opt->server_root ? opt->server_root : SYSCONFDIR);
    if (c->server_root == NULL) {
        arena_destroy(a);
        return NULL;
    }
    return c;
}

struct conf *conf_load(const struct conf_options *opt, char *errbuf, size_t errlen)
{
    if (errbuf != NULL && errlen > 0)
        errbuf[0] = '\0';
    struct conf *c = conf_new(opt);
    if (c == NULL) {
        if (errbuf != NULL)
            util_strlcpy(errbuf, "out of memory\n", errlen);
        return NULL;
    }
    struct conf_parser p = {.conf = c, .errbuf = errbuf, .errlen = errlen};
    p.warn_tail = &c->warnings;
    for (int i = 0; opt->defines != NULL && opt->defines[i] != NULL; i++)
        add_define(c, opt->defines[i], NULL);

    struct conf_cmd cmd;
    cmd_init(&p, &cmd, "-C", 0);
    c->config_file = conf_server_path(&cmd, "portico.conf"); /* for messages from -C */
    parse_command_lines(&p, "-C", opt->pre);
    /* After -C, so that -C "ServerRoot x" moves the default config file too. */
    c->config_file = conf_server_path(&cmd, opt->config_file ? opt->config_file : "portico.conf");
    char *buf;
    size_t len;
    if (c->config_file == NULL) {
        add_error(&p, NULL);
    } else if (read_file(c->config_file, &buf, &len) < 0) {
        add_error(&p, arena_printf(c->arena, "Could not open configuration file %s: %s",
                                   c->config_file, strerror(errno)));
    } else {
        char real[PATH_MAX];
        const char *key = realpath(c->config_file, real) ? real : c->config_file;
        struct open_file of = {arena_strdup(c->arena, key), NULL};
        p.open = &of;
        p.include_depth = 1;
        parse_buffer(&p, c->config_file, buf, len, 1);
        p.open = NULL;
        free(buf);
        parse_command_lines(&p, "-c", opt->post);
        cmd_init(&p, &cmd, c->config_file, 0);
        conf_finish_core(&cmd);
        conf_finish_mpm(&cmd);
        conf_finish_log(&cmd);
        conf_finish_proxy(&cmd);
        conf_finish_headers(&cmd);
        conf_finish_acl(&cmd);
        conf_finish_rewrite(&cmd);
        conf_finish_secrule(&cmd);
    }
    if (p.nerrors > 0) {
        arena_destroy(c->arena);
        return NULL;
    }
    return c;
}

void conf_free(struct conf *c)
{
    if (c != NULL)
        arena_destroy(c->arena);
}
