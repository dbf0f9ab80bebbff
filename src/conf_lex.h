/* The lexical layer of the config language (apache-behaviour.md 8.1): logical lines with
 * `\` continuation, ${NAME} expansion and ap_getword_conf() tokenising. Pure functions on
 * buffers, so the fuzz target can drive them without files. */
#ifndef PORTICO_CONF_LEX_H
#define PORTICO_CONF_LEX_H

#include <stddef.h>

struct arena;

/* Longest logical line accepted (httpd: about 16 MiB for config files). */
#define CONF_LEX_MAX_LINE (16u * 1024u * 1024u)

struct conf_lexer {
    const char *buf; /* whole file, not necessarily NUL-terminated */
    size_t len;
    size_t pos;
    int next_line; /* physical number of the next line to read */
    char *out;     /* current logical line (heap, reused) */
    size_t cap;
};

void conf_lex_init(struct conf_lexer *lx, const char *buf, size_t len);
void conf_lex_free(struct conf_lexer *lx);

/* Reads the next logical line: continuation lines joined, leading and trailing whitespace
 * trimmed. Blank and `#` comment lines are returned too (callers skip them) so that line
 * numbers stay exact. Returns 1 with *text (valid until the next call) and *lineno (its
 * first physical line), 0 at the end of the buffer, -1 when the line is too long or memory
 * runs out. */
int conf_lex_next(struct conf_lexer *lx, char **text, int *lineno);

/* Whether a logical line carries nothing to parse (empty or a comment). */
int conf_lex_is_blank(const char *text);

/* Looks NAME up for ${NAME}: returns the value or NULL when undefined. */
typedef const char *(*conf_lex_lookup_fn)(void *ctx, const char *name);
/* Told about each undefined ${NAME} (NAME without ':'), for the warning. */
typedef void (*conf_lex_undefined_fn)(void *ctx, const char *name);

/* Replaces every ${NAME} once (results are not re-scanned). Undefined names and names
 * containing ':' stay literal. Returns an arena copy, or NULL when out of memory. */
char *conf_lex_expand(struct arena *a, const char *line, conf_lex_lookup_fn lookup,
                      conf_lex_undefined_fn undefined, void *ctx);

/* ap_getword_conf(): returns the next word of *line (quotes removed, `\"` and `\\`
 * unescaped) and advances *line past it and the following whitespace. Returns "" at the
 * end of the line, NULL when out of memory. */
char *conf_lex_word(struct arena *a, const char **line);

/* Splits a whole line into words. Returns argc (>= 0) with *argv NULL-terminated, or -1
 * when out of memory. */
int conf_lex_split(struct arena *a, const char *line, char ***argv);

#endif
