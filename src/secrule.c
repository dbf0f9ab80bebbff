/* Running the ModSecurity subset (apache-behaviour.md section 9).
 *
 * Merging: ModSecurity's per-directory merge with SecRuleInheritance On gives a vhost the main
 * server's rules followed by its own, phase by phase, and the vhost's SecRuleEngine when it
 * sets one (else the main server's). secrule_run() does the same: for the phase asked, the
 * main server's rules in config order, then the vhost's.
 *
 * One rule: for each value of each target, a copy goes through the transformation pipeline
 * and the operator (XOR '!'); on a match the rule's non-disruptive actions run (capture into
 * TX.0-9 first, then setenv/setvar in the order written) and MATCHED_VAR is updated. A chain
 * continues with the next link only when this one matched; when every link matched, the
 * chain starter logs (unless nolog) and applies its disruptive action, enforced only when
 * the engine is On. Without the capture action a rule leaves TX.0-9 alone, so %{TX.1} is
 * whatever an earlier capturing rule left, normally nothing: the tutorial rule without
 * capture sets IPHashChar to "" exactly as ModSecurity does (and -t warns about it, see
 * secrule_conf.c). The transaction state (TX, MATCHED_VAR) lives in r->secrule_tx, so
 * phase 2 sees what phase 1 left. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/evp.h>
#include <pcre2.h>

#include "arena.h"
#include "conn.h"
#include "env.h"
#include "log.h"
#include "secrule_impl.h"
#include "util.h"

#define SR_MAX_CAPTURE 10 /* TX.0 .. TX.9 */

struct sr_txvar {
    char *name;
    char *value;
    size_t len;
    struct sr_txvar *next;
};

struct sr_tx {
    struct sr_txvar *vars;
    const char *matched_var; /* the untransformed value of the last match */
    size_t matched_len;
    const char *matched_name;
};

/* One value of a target ("REQUEST_HEADERS:Host" => "a.example"). */
struct sr_value {
    const char *name;
    const char *val;
    size_t len;
};

/* ---- small helpers ---- */

struct sbuf {
    struct arena *a;
    char *p;
    size_t len, cap;
    int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *np = arena_alloc(b->a, cap);
        if (np == NULL) {
            b->oom = 1;
            return;
        }
        if (b->len > 0)
            memcpy(np, b->p, b->len);
        b->p = np;
        b->cap = cap;
    }
    if (n > 0)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void sb_str(struct sbuf *b, const char *s)
{
    sb_add(b, s, strlen(s));
}

static char *sb_done(struct sbuf *b, size_t *len)
{
    if (b->p == NULL)
        sb_add(b, "", 0);
    if (b->oom)
        return NULL;
    if (len != NULL)
        *len = b->len;
    return b->p;
}

static struct sr_tx *tx_get(struct request *r)
{
    if (r->secrule_tx == NULL)
        r->secrule_tx = arena_calloc(r->arena, 1, sizeof(struct sr_tx));
    return r->secrule_tx;
}

static struct sr_txvar *tx_find(struct sr_tx *tx, const char *name)
{
    for (struct sr_txvar *v = tx->vars; v != NULL; v = v->next)
        if (util_strcaseeq(v->name, name))
            return v;
    return NULL;
}

static void tx_set(struct request *r, struct sr_tx *tx, const char *name, const char *val,
                   size_t len)
{
    struct sr_txvar *v = tx_find(tx, name);
    if (v == NULL) {
        v = arena_calloc(r->arena, 1, sizeof(*v));
        if (v == NULL)
            return;
        v->name = arena_strdup(r->arena, name);
        if (v->name == NULL)
            return;
        v->next = tx->vars;
        tx->vars = v;
    }
    char *c = arena_strndup(r->arena, val, len);
    if (c == NULL)
        return;
    v->value = c;
    v->len = len;
}

static void tx_unset(struct sr_tx *tx, const char *name)
{
    for (struct sr_txvar **pp = &tx->vars; *pp != NULL; pp = &(*pp)->next)
        if (util_strcaseeq((*pp)->name, name)) {
            *pp = (*pp)->next;
            return;
        }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* ModSecurity's non-strict URL decoding: '+' is a space, %XX when both are hex digits,
 * anything else is kept. Works in place (the output is never longer). */
static size_t url_decode(char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && i + 2 < len && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            s[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
            i += 2;
        } else if (s[i] == '+') {
            s[o++] = ' ';
        } else {
            s[o++] = s[i];
        }
    }
    return o;
}

/* ---- target values ---- */

static void push_value(struct request *r, struct sr_value **vals, int *n, int *cap,
                       const char *name, const char *val, size_t len)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 8;
        struct sr_value *nv = arena_alloc(r->arena, (size_t)nc * sizeof(*nv));
        if (nv == NULL)
            return;
        if (*n > 0)
            memcpy(nv, *vals, (size_t)*n * sizeof(*nv));
        *vals = nv;
        *cap = nc;
    }
    (*vals)[(*n)++] = (struct sr_value){name, val, len};
}

static const char *raw_path(const struct request *r)
{
    if (r->h.path != NULL)
        return r->h.path;
    return r->path != NULL ? r->path : "";
}

static const char *scalar_value(struct request *r, enum sr_var v)
{
    switch (v) {
    case SV_REMOTE_ADDR:
        return r->c != NULL ? r->c->client_ip : "";
    case SV_REQUEST_URI:
        if (r->h.query == NULL)
            return raw_path(r);
        return arena_printf(r->arena, "%s?%s", raw_path(r), r->h.query);
    case SV_REQUEST_FILENAME:
        return raw_path(r);
    case SV_REQUEST_METHOD:
        return r->h.method != NULL ? r->h.method : "";
    case SV_QUERY_STRING:
        return r->h.query; /* NULL: no such variable, as ModSecurity */
    case SV_REQUEST_HEADERS:
    case SV_ARGS_GET:
        break;
    }
    return NULL;
}

static const char *var_label(enum sr_var v)
{
    static const char *const names[] = {"REMOTE_ADDR",    "REQUEST_URI",  "REQUEST_FILENAME",
                                        "REQUEST_METHOD", "QUERY_STRING", "REQUEST_HEADERS",
                                        "ARGS_GET"};
    return names[v];
}

/* Calls fn for each GET argument (names and values URL-decoded, as ModSecurity's ARGS_GET). */
static void args_get_each(struct request *r,
                          void (*fn)(struct request *, void *, const char *, const char *, size_t),
                          void *ctx)
{
    const char *q = r->h.query;
    if (q == NULL)
        return;
    while (*q) {
        const char *e = strchr(q, '&');
        size_t len = e ? (size_t)(e - q) : strlen(q);
        if (len > 0) {
            const char *eq = memchr(q, '=', len);
            size_t nl = eq ? (size_t)(eq - q) : len;
            char *name = arena_strndup(r->arena, q, nl);
            char *val =
                eq ? arena_strndup(r->arena, eq + 1, len - nl - 1) : arena_strdup(r->arena, "");
            if (name == NULL || val == NULL)
                return;
            name[url_decode(name, nl)] = '\0';
            size_t vl = url_decode(val, strlen(val));
            val[vl] = '\0';
            fn(r, ctx, name, val, vl);
        }
        if (e == NULL)
            break;
        q = e + 1;
    }
}

struct args_collect {
    const char *key;
    struct sr_value **vals;
    int *n, *cap;
};

static void args_collect_fn(struct request *r, void *ctx, const char *name, const char *val,
                            size_t len)
{
    struct args_collect *c = ctx;
    if (c->key != NULL && !util_strcaseeq(c->key, name))
        return;
    push_value(r, c->vals, c->n, c->cap, arena_printf(r->arena, "ARGS_GET:%s", name), val, len);
}

static int collect_values(struct request *r, const struct sr_rule *rule, struct sr_value **vals)
{
    int n = 0, cap = 0;
    *vals = NULL;
    for (int i = 0; i < rule->n_targets; i++) {
        const struct sr_target *t = &rule->targets[i];
        if (t->var == SV_REQUEST_HEADERS) {
            for (int h = 0; h < r->h.n_headers; h++) {
                const struct http_header *hd = &r->h.headers[h];
                if (t->key != NULL && !util_strcaseeq(t->key, hd->name))
                    continue;
                push_value(r, vals, &n, &cap,
                           arena_printf(r->arena, "REQUEST_HEADERS:%s", hd->name), hd->value,
                           strlen(hd->value));
            }
        } else if (t->var == SV_ARGS_GET) {
            struct args_collect c = {t->key, vals, &n, &cap};
            args_get_each(r, args_collect_fn, &c);
        } else {
            const char *v = scalar_value(r, t->var);
            if (v != NULL)
                push_value(r, vals, &n, &cap, var_label(t->var), v, strlen(v));
        }
    }
    return n;
}

/* ---- macros ---- */

struct args_find {
    const char *key;
    const char *found;
};

static void args_find_fn(struct request *r, void *ctx, const char *name, const char *val,
                         size_t len)
{
    (void)r, (void)len;
    struct args_find *f = ctx;
    if (f->found == NULL && util_strcaseeq(f->key, name))
        f->found = val;
}

static const char *header_value(const struct request *r, const char *name)
{
    for (int i = 0; i < r->h.n_headers; i++)
        if (util_strcaseeq(r->h.headers[i].name, name))
            return r->h.headers[i].value;
    return NULL;
}

/* Value of %{name}; NULL (expands to nothing) when unknown or unset. */
static const char *macro_value(struct request *r, struct sr_tx *tx, const char *name, size_t *len)
{
    const char *v = NULL;
    *len = (size_t)-1;
    if (util_strncaseeq(name, "TX.", 3)) {
        struct sr_txvar *x = tx_find(tx, name + 3);
        if (x != NULL) {
            *len = x->len;
            return x->value;
        }
        return NULL;
    }
    if (util_strcaseeq(name, "MATCHED_VAR")) {
        *len = tx->matched_var != NULL ? tx->matched_len : 0;
        return tx->matched_var;
    }
    if (util_strcaseeq(name, "MATCHED_VAR_NAME"))
        v = tx->matched_name;
    else if (util_strncaseeq(name, "ENV.", 4))
        v = env_get(r, name + 4);
    else if (util_strncaseeq(name, "REQUEST_HEADERS.", 16))
        v = header_value(r, name + 16);
    else if (util_strncaseeq(name, "ARGS_GET.", 9)) {
        struct args_find f = {name + 9, NULL};
        args_get_each(r, args_find_fn, &f);
        v = f.found;
    } else {
        static const struct {
            const char *name;
            enum sr_var var;
        } scalars[] = {{"REMOTE_ADDR", SV_REMOTE_ADDR},
                       {"REQUEST_URI", SV_REQUEST_URI},
                       {"REQUEST_FILENAME", SV_REQUEST_FILENAME},
                       {"REQUEST_METHOD", SV_REQUEST_METHOD},
                       {"QUERY_STRING", SV_QUERY_STRING}};
        for (size_t i = 0; i < ARRAY_LEN(scalars); i++)
            if (util_strcaseeq(name, scalars[i].name))
                v = scalar_value(r, scalars[i].var);
    }
    if (v != NULL)
        *len = strlen(v);
    return v;
}

/* Single-pass expansion of %{NAME}; a '%' not starting a closed %{...} stays literal. */
static char *expand(struct request *r, struct sr_tx *tx, const char *s, size_t *outlen)
{
    struct sbuf b = {r->arena, NULL, 0, 0, 0};
    const char *p = s;
    for (;;) {
        const char *m = strstr(p, "%{");
        const char *e = m != NULL ? strchr(m + 2, '}') : NULL;
        if (m == NULL || e == NULL) {
            sb_str(&b, p);
            break;
        }
        sb_add(&b, p, (size_t)(m - p));
        char name[256];
        size_t nl = (size_t)(e - (m + 2));
        if (nl < sizeof(name)) {
            memcpy(name, m + 2, nl);
            name[nl] = '\0';
            size_t vl;
            const char *v = macro_value(r, tx, name, &vl);
            if (v != NULL)
                sb_add(&b, v, vl);
        }
        p = e + 1;
    }
    return sb_done(&b, outlen);
}

/* Env values are C strings: NUL bytes (binary captures) become "\x00". */
static char *escape_nul(struct request *r, const char *s, size_t len)
{
    if (memchr(s, 0, len) == NULL)
        return (char *)s;
    struct sbuf b = {r->arena, NULL, 0, 0, 0};
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '\0')
            sb_str(&b, "\\x00");
        else
            sb_add(&b, s + i, 1);
    }
    return sb_done(&b, NULL);
}

/* ---- transformations and operators ---- */

static int digest(const EVP_MD *md, EVP_MD_CTX **ctx, const char *in, size_t len,
                  unsigned char *out, unsigned *outlen)
{
    /* One context per digest and process, reused: no allocation per request. */
    if (*ctx == NULL)
        *ctx = EVP_MD_CTX_new();
    if (*ctx == NULL)
        return -1;
    if (EVP_DigestInit_ex(*ctx, md, NULL) != 1 || EVP_DigestUpdate(*ctx, in, len) != 1 ||
        EVP_DigestFinal_ex(*ctx, out, outlen) != 1)
        return -1;
    return 0;
}

/* Applies the pipeline to a copy of val; returns the result (may hold NUL bytes). */
static char *transform(struct request *r, const struct sr_rule *rule, const char *val, size_t len,
                       size_t *outlen)
{
    static EVP_MD_CTX *sha1_ctx, *md5_ctx;
    char *cur = arena_strndup(r->arena, val, len);
    if (cur == NULL)
        return NULL;
    for (int i = 0; i < rule->n_tfns; i++) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        switch (rule->tfns[i]) {
        case ST_NONE:
            break;
        case ST_SHA1:
        case ST_MD5:
            if (digest(rule->tfns[i] == ST_SHA1 ? EVP_sha1() : EVP_md5(),
                       rule->tfns[i] == ST_SHA1 ? &sha1_ctx : &md5_ctx, cur, len, md, &mdlen) < 0)
                return NULL;
            cur = arena_strndup(r->arena, (const char *)md, mdlen);
            if (cur == NULL)
                return NULL;
            len = mdlen;
            break;
        case ST_HEXENCODE: {
            static const char hex[] = "0123456789abcdef";
            char *h = arena_alloc(r->arena, len * 2 + 1);
            if (h == NULL)
                return NULL;
            for (size_t k = 0; k < len; k++) {
                h[2 * k] = hex[(unsigned char)cur[k] >> 4];
                h[2 * k + 1] = hex[(unsigned char)cur[k] & 15];
            }
            h[len * 2] = '\0';
            cur = h;
            len *= 2;
            break;
        }
        case ST_LOWERCASE:
            for (size_t k = 0; k < len; k++)
                if (cur[k] >= 'A' && cur[k] <= 'Z')
                    cur[k] = (char)(cur[k] - 'A' + 'a');
            break;
        case ST_URLDECODE:
            len = url_decode(cur, len);
            cur[len] = '\0';
            break;
        case ST_TRIM: {
            size_t s = 0;
            while (s < len && isspace((unsigned char)cur[s]))
                s++;
            while (len > s && isspace((unsigned char)cur[len - 1]))
                len--;
            cur += s;
            len -= s;
            cur[len] = '\0';
            break;
        }
        }
    }
    *outlen = len;
    return cur;
}

static pcre2_match_data *match_data(void)
{
    static pcre2_match_data *md;
    if (md == NULL)
        md = pcre2_match_data_create(SR_MAX_CAPTURE, NULL);
    return md;
}

static int memfind(const char *h, size_t hl, const char *n, size_t nl)
{
    if (nl == 0)
        return 1;
    for (size_t i = 0; i + nl <= hl; i++)
        if (memcmp(h + i, n, nl) == 0)
            return 1;
    return 0;
}

/* Runs the operator; for @rx with capture, fills TX.0-9 on a match. Returns 1 on a match
 * (before negation). */
static int run_operator(struct request *r, struct sr_tx *tx, const struct sr_rule *rule,
                        const char *v, size_t len)
{
    if (rule->op == SO_RX) {
        pcre2_match_data *md = match_data();
        if (md == NULL)
            return 0;
        int rc = pcre2_match(rule->re, (PCRE2_SPTR)v, len, 0, 0, md, NULL);
        if (rc < 0)
            return 0;
        if (rule->capture && !rule->negate) {
            if (rc == 0)
                rc = SR_MAX_CAPTURE;
            /* Copy first: setting TX values allocates, the ovector must not move. */
            PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
            PCRE2_SIZE so[SR_MAX_CAPTURE], eo[SR_MAX_CAPTURE];
            for (int i = 0; i < rc; i++) {
                so[i] = ov[2 * i];
                eo[i] = ov[2 * i + 1];
            }
            for (int i = 0; i < SR_MAX_CAPTURE; i++) {
                char key[4];
                snprintf(key, sizeof(key), "%d", i);
                /* \K in a lookaround can end a match before its start: empty then */
                if (i < rc && so[i] != PCRE2_UNSET && eo[i] >= so[i])
                    tx_set(r, tx, key, v + so[i], eo[i] - so[i]);
                else if (i < rc)
                    tx_set(r, tx, key, "", 0);
                else
                    tx_unset(tx, key);
            }
        }
        return 1;
    }
    if (rule->op == SO_IPMATCH) {
        char ip[80];
        if (len >= sizeof(ip) || memchr(v, 0, len) != NULL)
            return 0;
        memcpy(ip, v, len);
        ip[len] = '\0';
        struct sockaddr_storage ss;
        if (acl_client_parse(ip, &ss) < 0)
            return 0;
        for (int i = 0; i < rule->n_nets; i++)
            if (acl_net_match(&rule->nets[i], &ss))
                return 1;
        return 0;
    }
    size_t pl;
    const char *p = strstr(rule->param, "%{") ? expand(r, tx, rule->param, &pl) : rule->param;
    if (p == NULL)
        return 0;
    pl = strlen(p);
    switch (rule->op) {
    case SO_STREQ:
        return pl == len && memcmp(p, v, len) == 0;
    case SO_BEGINS:
        return pl <= len && memcmp(p, v, pl) == 0;
    case SO_ENDS:
        return pl <= len && memcmp(p, v + len - pl, pl) == 0;
    case SO_CONTAINS:
        return memfind(v, len, p, pl);
    default:
        return 0;
    }
}

/* ---- actions and logging ---- */

static void run_actions(struct request *r, struct sr_tx *tx, const struct sr_rule *rule)
{
    for (const struct sr_action *a = rule->actions; a != NULL; a = a->next) {
        size_t nl, vl = 0;
        char *name = expand(r, tx, a->name, &nl);
        char *val = a->value != NULL ? expand(r, tx, a->value, &vl) : NULL;
        if (name == NULL || (a->value != NULL && val == NULL))
            continue;
        switch (a->kind) {
        case SA_SETENV: {
            char *ev = escape_nul(r, val, vl);
            if (ev != NULL)
                env_set(r, name, ev);
            break;
        }
        case SA_UNSETENV:
            env_unset(r, name);
            break;
        case SA_SETVAR:
            tx_set(r, tx, name, val, vl);
            break;
        case SA_SETVAR_ADD: {
            long long cur = 0, add = 0;
            struct sr_txvar *x = tx_find(tx, name);
            if (x != NULL && util_parse_ll(x->value, -(1LL << 62), 1LL << 62, &cur) < 0)
                cur = 0;
            const char *num = val[0] == '+' ? val + 1 : val;
            if (util_parse_ll(num, -(1LL << 62), 1LL << 62, &add) < 0)
                add = 0;
            char buf[32];
            int n = snprintf(buf, sizeof(buf), "%lld", cur + add);
            tx_set(r, tx, name, buf, (size_t)n);
            break;
        }
        case SA_UNSETVAR:
            tx_unset(tx, name);
            break;
        }
    }
}

/* ModSecurity's log escaping: quotes and backslashes escaped, other bytes outside printable
 * ASCII as \xHH. */
static const char *log_escape(struct request *r, const char *s, size_t len)
{
    struct sbuf b = {r->arena, NULL, 0, 0, 0};
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            sb_add(&b, e, 2);
        } else if (c < 0x20 || c >= 0x7f) {
            char e[5];
            snprintf(e, sizeof(e), "\\x%02x", c);
            sb_add(&b, e, 4);
        } else {
            sb_add(&b, s + i, 1);
        }
    }
    const char *out = sb_done(&b, NULL);
    return out != NULL ? out : "";
}

static const char *match_text(struct request *r, const struct sr_rule *link, const char *vname,
                              const char *val, size_t vlen)
{
    const char *param =
        log_escape(r, link->param ? link->param : "", link->param ? strlen(link->param) : 0);
    if (link->op == SO_UNCONDITIONAL)
        return "Unconditional match in SecAction.";
    if (link->negate)
        return arena_printf(r->arena, "Match of \"%s %s\" against \"%s\" required.", link->op_name,
                            param, vname);
    switch (link->op) {
    case SO_RX:
        return arena_printf(r->arena, "Pattern match \"%s\" at %s.", param, vname);
    case SO_IPMATCH:
        return arena_printf(r->arena, "IPmatch \"%s\" matched at %s.", log_escape(r, val, vlen),
                            vname);
    default:
        return arena_printf(r->arena, "String match \"%s\" at %s.", param, vname);
    }
}

static void log_match(struct request *r, struct sr_tx *tx, const struct sr_rule *starter,
                      const char *what, int denied_status, int phase)
{
    struct sbuf b = {r->arena, NULL, 0, 0, 0};
    if (denied_status > 0) {
        char head[80];
        snprintf(head, sizeof(head), "Access denied with code %d (phase %d). ", denied_status,
                 phase);
        sb_str(&b, head);
    } else {
        sb_str(&b, "Warning. ");
    }
    sb_str(&b, what);
    sb_str(&b, " [file \"");
    sb_str(&b, log_escape(r, starter->file ? starter->file : "",
                          starter->file ? strlen(starter->file) : 0));
    char tmp[64];
    snprintf(tmp, sizeof(tmp), "\"] [line \"%d\"] [id \"%d\"]", starter->line, starter->id);
    sb_str(&b, tmp);
    if (starter->msg != NULL) {
        size_t ml;
        const char *m = expand(r, tx, starter->msg, &ml);
        if (m != NULL) {
            sb_str(&b, " [msg \"");
            sb_str(&b, log_escape(r, m, ml));
            sb_str(&b, "\"]");
        }
    }
    for (int i = 0; i < starter->n_tags; i++) {
        sb_str(&b, " [tag \"");
        sb_str(&b, log_escape(r, starter->tags[i], strlen(starter->tags[i])));
        sb_str(&b, "\"]");
    }
    const char *host = r->h.host != NULL ? r->h.host : (r->srv ? r->srv->server_name : NULL);
    if (host != NULL) {
        sb_str(&b, " [hostname \"");
        sb_str(&b, log_escape(r, host, strlen(host)));
        sb_str(&b, "\"]");
    }
    const char *uri = r->uri != NULL ? r->uri : raw_path(r);
    sb_str(&b, " [uri \"");
    sb_str(&b, log_escape(r, uri, strlen(uri)));
    sb_str(&b, "\"]");
    const char *line = sb_done(&b, NULL);
    log_msg(MOD_SECURITY2, LL_ERROR, 0, r->c != NULL ? r->c->client_addr : NULL, "ModSecurity: %s",
            line != NULL ? line : "(out of memory)");
}

/* Evaluates one link; returns 1 when some value matched (its actions have run) and leaves
 * the description of the last match in *what. */
static int run_link(struct request *r, struct sr_tx *tx, const struct sr_rule *link,
                    const char **what)
{
    if (link->op == SO_UNCONDITIONAL) {
        run_actions(r, tx, link);
        *what = match_text(r, link, "", NULL, 0);
        return 1;
    }
    struct sr_value *vals;
    int n = collect_values(r, link, &vals);
    int matched = 0;
    for (int i = 0; i < n; i++) {
        size_t tl;
        char *tv = transform(r, link, vals[i].val, vals[i].len, &tl);
        if (tv == NULL)
            continue;
        int m = run_operator(r, tx, link, tv, tl);
        if (m == link->negate)
            continue;
        matched = 1;
        tx->matched_var = vals[i].val;
        tx->matched_len = vals[i].len;
        tx->matched_name = vals[i].name;
        run_actions(r, tx, link);
        *what = match_text(r, link, vals[i].name, tv, tl);
    }
    return matched;
}

static const struct conf_server *main_server(const struct request *r)
{
    return r->c != NULL && r->c->conf != NULL ? r->c->conf->main : NULL;
}

static int effective_engine(const struct request *r)
{
    const struct conf_server *s = r->srv, *m = main_server(r);
    if (s != NULL && s->secrule != NULL && s->secrule->engine != CONF_UNSET)
        return s->secrule->engine;
    if (m != NULL && m->secrule != NULL && m->secrule->engine != CONF_UNSET)
        return m->secrule->engine;
    return SR_ENGINE_OFF;
}

static int run_list(struct request *r, struct sr_tx *tx, const struct secrule_conf *sc, int phase,
                    int engine)
{
    if (sc == NULL)
        return 0;
    for (const struct sr_rule *rule = sc->head; rule != NULL; rule = rule->next) {
        if (rule->phase != phase)
            continue;
        const char *what = "";
        const struct sr_rule *link = rule;
        int all = 1;
        for (; link != NULL; link = link->chained) {
            if (!run_link(r, tx, link, &what)) {
                all = 0;
                break;
            }
        }
        if (!all)
            continue;
        int status = 0;
        if (rule->disruptive == SR_DIS_DENY && engine == SR_ENGINE_ON)
            status = rule->status > 0 ? rule->status : 403;
        if (rule->log)
            log_match(r, tx, rule, what, status, phase);
        if (status != 0)
            return status;
    }
    return 0;
}

int secrule_run(struct request *r, int phase)
{
    int engine = effective_engine(r);
    if (engine == SR_ENGINE_OFF)
        return 0;
    const struct conf_server *s = r->srv, *m = main_server(r);
    if (s == NULL)
        s = m;
    if (s == NULL)
        return 0;
    struct sr_tx *tx = tx_get(r);
    if (tx == NULL)
        return 0;
    if (s->is_vhost && m != NULL && m != s) {
        int st = run_list(r, tx, m->secrule, phase, engine);
        if (st != 0)
            return st;
    }
    return run_list(r, tx, s->secrule, phase, engine);
}
