/*
 * gql_parse.c - lexer and recursive-descent parser of the GraphQL query
 * language (October 2021 spec, executable definitions only) into the
 * syntax tree of gql.h. Every node is allocated from one arena owned by the
 * document, so freeing is one call and a failed parse leaks nothing.
 * Recursion is bounded by WEAVE_GQL_MAX_DEPTH.
 */
#include "weave/gql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena ---- */

struct weave_gql_arena {
    struct weave_gql_arena *next;
    size_t used, cap;
    _Alignas(16) unsigned char mem[];
};

static void *arena_alloc(weave_gql_doc *doc, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct weave_gql_arena *a = doc->arena;
    if (!a || a->cap - a->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        struct weave_gql_arena *b = malloc(sizeof *b + cap);
        if (!b)
            return NULL;
        b->next = a;
        b->used = 0;
        b->cap = cap;
        doc->arena = b;
        a = b;
    }
    void *p = a->mem + a->used;
    a->used += n;
    memset(p, 0, n);
    return p;
}

void weave_gql_doc_free(weave_gql_doc *doc)
{
    if (!doc)
        return;
    struct weave_gql_arena *a = doc->arena;
    while (a) {
        struct weave_gql_arena *n = a->next;
        free(a);
        a = n;
    }
    free(doc);
}

/* ---- lexer ---- */

typedef enum {
    T_EOF, T_PUNCT, T_NAME, T_INT, T_FLOAT, T_STRING, T_SPREAD,
} tok_kind;

typedef struct {
    const char *p, *end, *line_start;
    size_t line;
    /* current token */
    tok_kind kind;
    char punct;
    const char *start;       /* source text of the token */
    size_t len;
    size_t tok_line, tok_col;
    char *sval;              /* STRING: unescaped (arena) */
    size_t slen;
    weave_gql_doc *doc;
    ao_error *err;
    int rc;                  /* first error */
    int depth;
} parser;

static int fail(parser *ps, int code, const char *what)
{
    if (ps->rc == AO_OK) {
        ps->rc = code;
        if (code == AO_EFORMAT)
            ao_err_set(ps->err, code, "Syntax Error: %s at line %zu, column %zu", what,
                       ps->tok_line, ps->tok_col);
        else
            ao_err_set(ps->err, code, "%s", what);
    }
    return ps->rc;
}

static bool is_name_start(int c)
{
    return c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_name_char(int c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static void skip_ignored(parser *ps)
{
    while (ps->p < ps->end) {
        unsigned char c = (unsigned char)*ps->p;
        if (c == ' ' || c == '\t' || c == ',') {
            ps->p++;
        } else if (c == '\n' || c == '\r') {
            if (c == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
                ps->p++;
            ps->p++;
            ps->line++;
            ps->line_start = ps->p;
        } else if (c == 0xEF && ps->end - ps->p >= 3 && (unsigned char)ps->p[1] == 0xBB &&
                   (unsigned char)ps->p[2] == 0xBF) {
            ps->p += 3;   /* byte order mark */
        } else if (c == '#') {
            while (ps->p < ps->end && *ps->p != '\n' && *ps->p != '\r')
                ps->p++;
        } else {
            break;
        }
    }
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static size_t put_utf8(char *o, uint32_t cp)
{
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static int read_hex4(const char *p, const char *end, uint32_t *v)
{
    if (end - p < 4)
        return -1;
    *v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)p[i]);
        if (h < 0)
            return -1;
        *v = (*v << 4) | (uint32_t)h;
    }
    return 0;
}

/* "..." string with escapes; p at the opening quote. */
static int lex_string(parser *ps)
{
    const char *s = ps->p + 1;
    /* the unescaped text is never longer than the source */
    const char *q = s;
    while (q < ps->end && *q != '"') {
        if (*q == '\\' && q + 1 < ps->end)
            q++;
        if (*q == '\n' || *q == '\r')
            return fail(ps, AO_EFORMAT, "Unterminated string");
        q++;
    }
    if (q >= ps->end)
        return fail(ps, AO_EFORMAT, "Unterminated string");
    char *o = arena_alloc(ps->doc, (size_t)(q - s) + 1);
    if (!o)
        return fail(ps, AO_ENOMEM, "out of memory");
    size_t n = 0;
    const char *p = s;
    while (p < q) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 && c != '\t')
            return fail(ps, AO_EFORMAT, "Invalid character within String");
        if (c != '\\') {
            o[n++] = (char)c;
            p++;
            continue;
        }
        p++;
        char e = *p++;
        switch (e) {
        case '"': o[n++] = '"'; break;
        case '\\': o[n++] = '\\'; break;
        case '/': o[n++] = '/'; break;
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            uint32_t cp;
            if (read_hex4(p, q, &cp) < 0)
                return fail(ps, AO_EFORMAT, "Invalid Unicode escape sequence");
            p += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                uint32_t lo;
                if (q - p >= 6 && p[0] == '\\' && p[1] == 'u' && read_hex4(p + 2, q, &lo) == 0 &&
                    lo >= 0xDC00 && lo <= 0xDFFF) {
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else {
                    return fail(ps, AO_EFORMAT, "Invalid Unicode escape sequence");
                }
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                return fail(ps, AO_EFORMAT, "Invalid Unicode escape sequence");
            }
            /* a \u escape is 6 source bytes, at most 4 UTF-8 bytes out */
            n += put_utf8(o + n, cp);
            break;
        }
        default:
            return fail(ps, AO_EFORMAT, "Invalid character escape sequence");
        }
    }
    o[n] = 0;
    ps->sval = o;
    ps->slen = n;
    ps->p = q + 1;
    ps->kind = T_STRING;
    return AO_OK;
}

/* """block string""": raw text, \""" the only escape; common indentation
 * and blank first/last lines removed as the spec says. */
static int lex_block_string(parser *ps)
{
    const char *s = ps->p + 3, *q = s;
    for (;;) {
        if (ps->end - q < 3)
            return fail(ps, AO_EFORMAT, "Unterminated string");
        if (q[0] == '"' && q[1] == '"' && q[2] == '"')
            break;
        if (q[0] == '\\' && ps->end - q >= 4 && q[1] == '"' && q[2] == '"' && q[3] == '"') {
            q += 4;
            continue;
        }
        if (*q == '\n') {
            ps->line++;
            ps->line_start = q + 1;
        }
        q++;
    }
    char *raw = arena_alloc(ps->doc, (size_t)(q - s) + 1);
    if (!raw)
        return fail(ps, AO_ENOMEM, "out of memory");
    size_t n = 0;
    for (const char *p = s; p < q;) {
        if (p[0] == '\\' && q - p >= 4 && p[1] == '"' && p[2] == '"' && p[3] == '"') {
            memcpy(raw + n, "\"\"\"", 3);
            n += 3;
            p += 4;
        } else {
            raw[n++] = *p++;
        }
    }
    raw[n] = 0;
    /* common indentation of lines after the first */
    size_t common = SIZE_MAX;
    bool first = true;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && raw[j] != '\n')
            j++;
        if (!first) {
            size_t k = i;
            while (k < j && (raw[k] == ' ' || raw[k] == '\t'))
                k++;
            if (k < j && k - i < common)
                common = k - i;
        }
        first = false;
        i = j + 1;
    }
    char *o = arena_alloc(ps->doc, n + 1);
    if (!o)
        return fail(ps, AO_ENOMEM, "out of memory");
    size_t m = 0;
    first = true;
    for (size_t i = 0; i <= n;) {
        size_t j = i;
        while (j < n && raw[j] != '\n')
            j++;
        size_t from = i;
        if (!first && common != SIZE_MAX)
            from = (j - i >= common) ? i + common : j;
        if (!first)
            o[m++] = '\n';
        memcpy(o + m, raw + from, j - from);
        m += j - from;
        first = false;
        i = j + 1;
    }
    o[m] = 0;
    /* drop leading and trailing blank lines */
    size_t a = 0, b = m;
    for (;;) {
        size_t k = a;
        while (k < b && (o[k] == ' ' || o[k] == '\t'))
            k++;
        if (k < b && o[k] == '\n')
            a = k + 1;
        else if (k == b)
            a = b;
        else
            break;
        if (a >= b)
            break;
    }
    while (b > a) {
        size_t k = b;
        while (k > a && (o[k - 1] == ' ' || o[k - 1] == '\t'))
            k--;
        if (k > a && o[k - 1] == '\n')
            b = k - 1;
        else
            break;
    }
    memmove(o, o + a, b - a);
    o[b - a] = 0;
    ps->sval = o;
    ps->slen = b - a;
    ps->p = q + 3;
    ps->kind = T_STRING;
    return AO_OK;
}

static int lex_number(parser *ps)
{
    const char *p = ps->p;
    bool is_float = false;
    if (*p == '-')
        p++;
    if (p >= ps->end || !(*p >= '0' && *p <= '9'))
        return fail(ps, AO_EFORMAT, "Invalid number, expected digit");
    if (*p == '0') {
        p++;
        if (p < ps->end && *p >= '0' && *p <= '9')
            return fail(ps, AO_EFORMAT, "Invalid number, unexpected digit after 0");
    } else {
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < ps->end && *p == '.') {
        is_float = true;
        p++;
        if (p >= ps->end || !(*p >= '0' && *p <= '9'))
            return fail(ps, AO_EFORMAT, "Invalid number, expected digit");
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < ps->end && (*p == 'e' || *p == 'E')) {
        is_float = true;
        p++;
        if (p < ps->end && (*p == '+' || *p == '-'))
            p++;
        if (p >= ps->end || !(*p >= '0' && *p <= '9'))
            return fail(ps, AO_EFORMAT, "Invalid number, expected digit");
        while (p < ps->end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < ps->end && (is_name_start((unsigned char)*p) || *p == '.'))
        return fail(ps, AO_EFORMAT, "Invalid number");
    ps->kind = is_float ? T_FLOAT : T_INT;
    ps->len = (size_t)(p - ps->start);
    ps->p = p;
    return AO_OK;
}

/* Advance to the next token. */
static int next(parser *ps)
{
    if (ps->rc)
        return ps->rc;
    skip_ignored(ps);
    ps->start = ps->p;
    ps->tok_line = ps->line;
    ps->tok_col = (size_t)(ps->p - ps->line_start) + 1;
    ps->len = 0;
    if (ps->p >= ps->end) {
        ps->kind = T_EOF;
        return AO_OK;
    }
    unsigned char c = (unsigned char)*ps->p;
    if (strchr("!$&()[]{}:=@|", c) && c) {
        ps->kind = T_PUNCT;
        ps->punct = (char)c;
        ps->p++;
        ps->len = 1;
        return AO_OK;
    }
    if (c == '.') {
        if (ps->end - ps->p >= 3 && ps->p[1] == '.' && ps->p[2] == '.') {
            ps->kind = T_SPREAD;
            ps->p += 3;
            ps->len = 3;
            return AO_OK;
        }
        return fail(ps, AO_EFORMAT, "Unexpected \".\"");
    }
    if (is_name_start(c)) {
        const char *p = ps->p;
        while (p < ps->end && is_name_char((unsigned char)*p))
            p++;
        ps->kind = T_NAME;
        ps->len = (size_t)(p - ps->p);
        ps->p = p;
        return AO_OK;
    }
    if (c == '-' || (c >= '0' && c <= '9'))
        return lex_number(ps);
    if (c == '"') {
        if (ps->end - ps->p >= 3 && ps->p[1] == '"' && ps->p[2] == '"')
            return lex_block_string(ps);
        return lex_string(ps);
    }
    return fail(ps, AO_EFORMAT, "Unexpected character");
}

/* ---- parser helpers ---- */

static bool is_punct(parser *ps, char c)
{
    return ps->kind == T_PUNCT && ps->punct == c;
}

static bool is_keyword(parser *ps, const char *kw)
{
    return ps->kind == T_NAME && ps->len == strlen(kw) && !memcmp(ps->start, kw, ps->len);
}

static int expect_punct(parser *ps, char c)
{
    if (!is_punct(ps, c)) {
        char what[48];
        snprintf(what, sizeof what, "Expected \"%c\"", c);
        return fail(ps, AO_EFORMAT, what);
    }
    return next(ps);
}

static char *dup_text(parser *ps, const char *s, size_t n)
{
    char *o = arena_alloc(ps->doc, n + 1);
    if (!o) {
        fail(ps, AO_ENOMEM, "out of memory");
        return NULL;
    }
    memcpy(o, s, n);
    o[n] = 0;
    return o;
}

/* Name token -> arena string, then advance. */
static const char *take_name(parser *ps)
{
    if (ps->kind != T_NAME) {
        fail(ps, AO_EFORMAT, "Expected Name");
        return NULL;
    }
    char *s = dup_text(ps, ps->start, ps->len);
    if (!s || next(ps))
        return NULL;
    return s;
}

static void *node(parser *ps, size_t n)
{
    void *p = arena_alloc(ps->doc, n);
    if (!p)
        fail(ps, AO_ENOMEM, "out of memory");
    return p;
}

static bool enter(parser *ps)
{
    if (++ps->depth > WEAVE_GQL_MAX_DEPTH) {
        fail(ps, AO_ELIMIT, "Query nests too deeply");
        return false;
    }
    return true;
}

/* ---- grammar ---- */

static weave_gql_value *parse_value(parser *ps, bool is_const);

static weave_gql_value *parse_value_inner(parser *ps, bool is_const)
{
    weave_gql_value *v = node(ps, sizeof *v);
    if (!v)
        return NULL;
    if (is_punct(ps, '$')) {
        if (is_const) {
            fail(ps, AO_EFORMAT, "Unexpected variable in a constant value");
            return NULL;
        }
        if (next(ps))
            return NULL;
        v->kind = WEAVE_GQL_VARIABLE;
        if (ps->kind == T_NAME)
            v->len = ps->len;
        if (!(v->str = take_name(ps)))
            return NULL;
        return v;
    }
    if (is_punct(ps, '[')) {
        v->kind = WEAVE_GQL_LIST;
        if (next(ps))
            return NULL;
        weave_gql_value **tail = &v->items;
        while (!is_punct(ps, ']')) {
            if (ps->kind == T_EOF) {
                fail(ps, AO_EFORMAT, "Expected \"]\"");
                return NULL;
            }
            weave_gql_value *it = parse_value(ps, is_const);
            if (!it)
                return NULL;
            *tail = it;
            tail = &it->next;
        }
        if (next(ps))
            return NULL;
        return v;
    }
    if (is_punct(ps, '{')) {
        v->kind = WEAVE_GQL_OBJECT;
        if (next(ps))
            return NULL;
        weave_gql_value **tail = &v->items;
        while (!is_punct(ps, '}')) {
            const char *name = take_name(ps);
            if (!name || expect_punct(ps, ':'))
                return NULL;
            for (weave_gql_value *f = v->items; f; f = f->next)
                if (!strcmp(f->field_name, name)) {
                    fail(ps, AO_EFORMAT, "Duplicate input object field");
                    return NULL;
                }
            weave_gql_value *it = parse_value(ps, is_const);
            if (!it)
                return NULL;
            it->field_name = name;
            *tail = it;
            tail = &it->next;
        }
        if (next(ps))
            return NULL;
        return v;
    }
    switch (ps->kind) {
    case T_INT:
    case T_FLOAT:
        v->kind = ps->kind == T_INT ? WEAVE_GQL_INT : WEAVE_GQL_FLOAT;
        v->len = ps->len;
        if (!(v->str = dup_text(ps, ps->start, ps->len)) || next(ps))
            return NULL;
        return v;
    case T_STRING:
        v->kind = WEAVE_GQL_STRING;
        v->str = ps->sval;
        v->len = ps->slen;
        if (next(ps))
            return NULL;
        return v;
    case T_NAME:
        if (is_keyword(ps, "true") || is_keyword(ps, "false")) {
            v->kind = WEAVE_GQL_BOOL;
            v->boolean = is_keyword(ps, "true");
        } else if (is_keyword(ps, "null")) {
            v->kind = WEAVE_GQL_NULL;
        } else {
            v->kind = WEAVE_GQL_ENUM;
            v->len = ps->len;
            if (!(v->str = dup_text(ps, ps->start, ps->len)))
                return NULL;
        }
        if (next(ps))
            return NULL;
        return v;
    default:
        fail(ps, AO_EFORMAT, "Unexpected token, expected a value");
        return NULL;
    }
}

static weave_gql_value *parse_value(parser *ps, bool is_const)
{
    if (!enter(ps))
        return NULL;
    weave_gql_value *v = parse_value_inner(ps, is_const);
    ps->depth--;
    return v;
}

/* Arguments? : "(" name ":" value ... ")" */
static int parse_arguments(parser *ps, weave_gql_argument **out, bool is_const)
{
    *out = NULL;
    if (!is_punct(ps, '('))
        return AO_OK;
    if (next(ps))
        return ps->rc;
    weave_gql_argument **tail = out;
    if (is_punct(ps, ')'))
        return fail(ps, AO_EFORMAT, "Expected Name");
    while (!is_punct(ps, ')')) {
        weave_gql_argument *a = node(ps, sizeof *a);
        if (!a)
            return ps->rc;
        if (!(a->name = take_name(ps)) || expect_punct(ps, ':'))
            return ps->rc;
        for (weave_gql_argument *b = *out; b; b = b->next)
            if (!strcmp(b->name, a->name))
                return fail(ps, AO_EFORMAT, "Duplicate argument");
        if (!(a->value = parse_value(ps, is_const)))
            return ps->rc;
        *tail = a;
        tail = &a->next;
    }
    return next(ps);
}

static int parse_directives(parser *ps, weave_gql_directive **out, bool is_const)
{
    *out = NULL;
    weave_gql_directive **tail = out;
    while (is_punct(ps, '@')) {
        if (next(ps))
            return ps->rc;
        weave_gql_directive *d = node(ps, sizeof *d);
        if (!d || !(d->name = take_name(ps)) || parse_arguments(ps, &d->args, is_const))
            return ps->rc;
        *tail = d;
        tail = &d->next;
    }
    return AO_OK;
}

static int parse_selection_set(parser *ps, weave_gql_selection **out);

static int parse_selection(parser *ps, weave_gql_selection **out)
{
    weave_gql_selection *s = node(ps, sizeof *s);
    if (!s)
        return ps->rc;
    *out = s;
    if (ps->kind == T_SPREAD) {
        if (next(ps))
            return ps->rc;
        if (ps->kind == T_NAME && !is_keyword(ps, "on")) {
            s->kind = WEAVE_GQL_SPREAD;
            if (!(s->name = take_name(ps)))
                return ps->rc;
            return parse_directives(ps, &s->directives, false);
        }
        s->kind = WEAVE_GQL_INLINE;
        if (is_keyword(ps, "on")) {
            if (next(ps) || !(s->type_condition = take_name(ps)))
                return ps->rc;
        }
        if (parse_directives(ps, &s->directives, false))
            return ps->rc;
        s->has_children = true;
        return parse_selection_set(ps, &s->children);
    }
    s->kind = WEAVE_GQL_FIELD;
    const char *name = take_name(ps);
    if (!name)
        return ps->rc;
    if (is_punct(ps, ':')) {
        if (next(ps))
            return ps->rc;
        s->alias = name;
        if (!(name = take_name(ps)))
            return ps->rc;
    }
    s->name = name;
    if (parse_arguments(ps, &s->args, false) || parse_directives(ps, &s->directives, false))
        return ps->rc;
    if (is_punct(ps, '{')) {
        s->has_children = true;
        return parse_selection_set(ps, &s->children);
    }
    return AO_OK;
}

/* "{" Selection+ "}" */
static int parse_selection_set(parser *ps, weave_gql_selection **out)
{
    *out = NULL;
    if (!enter(ps))
        return ps->rc;
    if (expect_punct(ps, '{'))
        return ps->rc;
    if (is_punct(ps, '}'))
        return fail(ps, AO_EFORMAT, "Expected Name");
    weave_gql_selection **tail = out;
    while (!is_punct(ps, '}')) {
        if (ps->kind == T_EOF)
            return fail(ps, AO_EFORMAT, "Expected \"}\"");
        if (parse_selection(ps, tail))
            return ps->rc;
        tail = &(*tail)->next;
    }
    ps->depth--;
    return next(ps);
}

/* Type: Name | "[" Type "]" , each optionally followed by "!". Writes the
 * normalised text to b. */
static int parse_type(parser *ps, ao_buf *b)
{
    if (!enter(ps))
        return ps->rc;
    if (is_punct(ps, '[')) {
        if (next(ps) || ao_buf_append_byte(b, '['))
            return ps->rc ? ps->rc : fail(ps, AO_ENOMEM, "out of memory");
        if (parse_type(ps, b) || expect_punct(ps, ']'))
            return ps->rc;
        if (ao_buf_append_byte(b, ']'))
            return fail(ps, AO_ENOMEM, "out of memory");
    } else {
        if (ps->kind != T_NAME)
            return fail(ps, AO_EFORMAT, "Expected Name");
        if (ao_buf_append(b, ps->start, ps->len))
            return fail(ps, AO_ENOMEM, "out of memory");
        if (next(ps))
            return ps->rc;
    }
    if (is_punct(ps, '!')) {
        if (ao_buf_append_byte(b, '!'))
            return fail(ps, AO_ENOMEM, "out of memory");
        if (next(ps))
            return ps->rc;
    }
    ps->depth--;
    return AO_OK;
}

static int parse_variable_definitions(parser *ps, weave_gql_vardef **out)
{
    *out = NULL;
    if (!is_punct(ps, '('))
        return AO_OK;
    if (next(ps))
        return ps->rc;
    if (is_punct(ps, ')'))
        return fail(ps, AO_EFORMAT, "Expected \"$\"");
    weave_gql_vardef **tail = out;
    while (!is_punct(ps, ')')) {
        if (expect_punct(ps, '$'))
            return ps->rc;
        weave_gql_vardef *d = node(ps, sizeof *d);
        if (!d || !(d->name = take_name(ps)) || expect_punct(ps, ':'))
            return ps->rc;
        for (weave_gql_vardef *e = *out; e; e = e->next)
            if (!strcmp(e->name, d->name))
                return fail(ps, AO_EFORMAT, "Duplicate variable");
        ao_buf b;
        ao_buf_init(&b);
        int rc = parse_type(ps, &b);
        if (rc == AO_OK) {
            d->non_null = b.len > 0 && b.data[b.len - 1] == '!';
            d->type = dup_text(ps, (const char *)b.data, b.len);
        }
        ao_buf_free(&b);
        if (rc || !d->type)
            return ps->rc;
        if (is_punct(ps, '=')) {
            if (next(ps) || !(d->default_value = parse_value(ps, true)))
                return ps->rc;
        }
        weave_gql_directive *ignored;
        if (parse_directives(ps, &ignored, true))
            return ps->rc;
        *tail = d;
        tail = &d->next;
    }
    return next(ps);
}

static int parse_definition(parser *ps)
{
    weave_gql_doc *doc = ps->doc;
    if (is_punct(ps, '{')) {
        weave_gql_operation *op = node(ps, sizeof *op);
        if (!op || parse_selection_set(ps, &op->selections))
            return ps->rc;
        op->kind = WEAVE_GQL_QUERY;
        weave_gql_operation **t = &doc->ops;
        while (*t)
            t = &(*t)->next;
        *t = op;
        return AO_OK;
    }
    if (is_keyword(ps, "fragment")) {
        if (next(ps))
            return ps->rc;
        if (is_keyword(ps, "on"))
            return fail(ps, AO_EFORMAT, "Unexpected Name \"on\"");
        weave_gql_fragment *f = node(ps, sizeof *f);
        if (!f || !(f->name = take_name(ps)))
            return ps->rc;
        if (!is_keyword(ps, "on"))
            return fail(ps, AO_EFORMAT, "Expected \"on\"");
        if (next(ps) || !(f->type_condition = take_name(ps)) ||
            parse_directives(ps, &f->directives, false) ||
            parse_selection_set(ps, &f->selections))
            return ps->rc;
        for (weave_gql_fragment *g = doc->fragments; g; g = g->next)
            if (!strcmp(g->name, f->name))
                return fail(ps, AO_EFORMAT, "There can be only one fragment of this name");
        f->next = doc->fragments;
        doc->fragments = f;
        return AO_OK;
    }
    weave_gql_op_kind kind;
    if (is_keyword(ps, "query"))
        kind = WEAVE_GQL_QUERY;
    else if (is_keyword(ps, "mutation"))
        kind = WEAVE_GQL_MUTATION;
    else if (is_keyword(ps, "subscription"))
        kind = WEAVE_GQL_SUBSCRIPTION;
    else
        return fail(ps, AO_EFORMAT, ps->kind == T_EOF ? "Unexpected <EOF>" : "Unexpected token");
    if (next(ps))
        return ps->rc;
    weave_gql_operation *op = node(ps, sizeof *op);
    if (!op)
        return ps->rc;
    op->kind = kind;
    if (ps->kind == T_NAME && !(op->name = take_name(ps)))
        return ps->rc;
    if (parse_variable_definitions(ps, &op->vars) ||
        parse_directives(ps, &op->directives, false) ||
        parse_selection_set(ps, &op->selections))
        return ps->rc;
    weave_gql_operation **t = &doc->ops;
    while (*t) {
        if (op->name && (*t)->name && !strcmp((*t)->name, op->name))
            return fail(ps, AO_EFORMAT, "There can be only one operation of this name");
        t = &(*t)->next;
    }
    *t = op;
    return AO_OK;
}

int weave_gql_parse(const char *text, size_t len, weave_gql_doc **out, ao_error *err)
{
    *out = NULL;
    if (len > WEAVE_GQL_MAX_QUERY)
        return ao_err_set(err, AO_ELIMIT, "Query is larger than %d bytes", WEAVE_GQL_MAX_QUERY);
    weave_gql_doc *doc = calloc(1, sizeof *doc);
    if (!doc)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    parser ps = { .p = text, .end = text + len, .line_start = text, .line = 1,
                  .doc = doc, .err = err };
    if (next(&ps) == AO_OK) {
        if (ps.kind == T_EOF)
            fail(&ps, AO_EFORMAT, "Unexpected <EOF>");
        while (ps.rc == AO_OK && ps.kind != T_EOF)
            parse_definition(&ps);
    }
    if (ps.rc) {
        weave_gql_doc_free(doc);
        return ps.rc;
    }
    *out = doc;
    return AO_OK;
}
