/*
 * gql_exec.c - executes a parsed GraphQL request against the weave with
 * the Arweave gateway schema:
 *
 *   type Query {
 *     transactions(ids, owners, recipients, tags: [{name, values, op}],
 *                  bundledIn, block: {min, max}, first, after, sort)
 *       : TransactionConnection!
 *     transaction(id: ID!): Transaction
 *     blocks(ids, height: {min, max}, first, after, sort): BlockConnection!
 *     block(id: String): Block
 *   }
 *   TransactionConnection { pageInfo { hasNextPage } edges { cursor node } }
 *   Transaction { id anchor signature recipient owner { address key }
 *                 fee { winston ar } quantity { winston ar }
 *                 data { size type } tags { name value }
 *                 block { id timestamp height previous }
 *                 bundledIn { id } parent { id } }
 *   BlockConnection { pageInfo { hasNextPage } edges { cursor node } }
 *   Block { id timestamp height previous }
 *
 * `__typename` works on every object. Fields are collected as the spec's
 * CollectFields does (fragments, inline fragments, @skip/@include, merged
 * by response key), so the output keeps the order asked and the aliases.
 * Any error (unknown field or argument, bad argument type, weave failure)
 * gives {"errors":[{"message":...}]} and no data. Data items carry no fee
 * or quantity: both are "0". block.timestamp is in seconds, as on Arweave.
 */
#include "weave/gql.h"
#include "weave/weave.h"

#include <cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- JSON output ---- */

int weave_gql_json_string(ao_buf *out, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    if (ao_buf_reserve(out, n + 2))
        return AO_ENOMEM;
    int rc = ao_buf_append_byte(out, '"');
    size_t i = 0;
    while (i < n && rc == AO_OK) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            char e[2] = { '\\', (char)c };
            rc = ao_buf_append(out, e, 2);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': rc = ao_buf_append_str(out, "\\n"); break;
            case '\r': rc = ao_buf_append_str(out, "\\r"); break;
            case '\t': rc = ao_buf_append_str(out, "\\t"); break;
            case '\b': rc = ao_buf_append_str(out, "\\b"); break;
            case '\f': rc = ao_buf_append_str(out, "\\f"); break;
            default: rc = ao_buf_printf(out, "\\u%04x", c); break;
            }
            i++;
        } else if (c < 0x80) {
            rc = ao_buf_append_byte(out, c);
            i++;
        } else {
            /* validate one UTF-8 sequence */
            size_t len = 0;
            uint32_t cp = 0, min = 0;
            if (c >= 0xC2 && c <= 0xDF) { len = 2; cp = c & 0x1F; min = 0x80; }
            else if (c >= 0xE0 && c <= 0xEF) { len = 3; cp = c & 0x0F; min = 0x800; }
            else if (c >= 0xF0 && c <= 0xF4) { len = 4; cp = c & 0x07; min = 0x10000; }
            bool ok = len > 0 && i + len <= n;
            for (size_t k = 1; ok && k < len; k++) {
                if ((p[i + k] & 0xC0) != 0x80)
                    ok = false;
                else
                    cp = (cp << 6) | (p[i + k] & 0x3F);
            }
            if (ok && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
                ok = false;
            if (ok) {
                rc = ao_buf_append(out, p + i, len);
                i += len;
            } else {
                rc = ao_buf_append_str(out, "\xEF\xBF\xBD");
                i++;
            }
        }
    }
    if (rc == AO_OK)
        rc = ao_buf_append_byte(out, '"');
    return rc ? AO_ENOMEM : AO_OK;
}

static int json_cstr(ao_buf *out, const char *s)
{
    return weave_gql_json_string(out, s, strlen(s));
}

/* ---- execution context ---- */

typedef struct {
    weave *w;
    weave_gql_doc *doc;
    cJSON *vars;          /* coerced variable values (object) */
    ao_buf *out;
    int rc;
    char msg[512];
    size_t fields;
    unsigned meta_fields;
} exec;

__attribute__((format(printf, 2, 3)))
static int xfail(exec *x, const char *fmt, ...)
{
    if (x->rc == AO_OK) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->msg, sizeof x->msg, fmt, ap);
        va_end(ap);
        x->rc = AO_EINVAL;
    }
    return x->rc;
}

static int xnomem(exec *x)
{
    if (x->rc == AO_OK) {
        snprintf(x->msg, sizeof x->msg, "out of memory");
        x->rc = AO_ENOMEM;
    }
    return x->rc;
}

static int emit(exec *x, const char *s)
{
    if (x->rc)
        return x->rc;
    if (ao_buf_append_str(x->out, s))
        return xnomem(x);
    return AO_OK;
}

static int emit_str(exec *x, const char *s, size_t n)
{
    if (x->rc)
        return x->rc;
    if (weave_gql_json_string(x->out, s, n))
        return xnomem(x);
    return AO_OK;
}

static int emit_i64(exec *x, int64_t v)
{
    if (x->rc)
        return x->rc;
    if (ao_buf_printf(x->out, "%lld", (long long)v))
        return xnomem(x);
    return AO_OK;
}

/* ---- values: AST -> cJSON with variables substituted ---- */

static cJSON *to_json(exec *x, const weave_gql_value *v)
{
    if (x->rc)
        return NULL;
    cJSON *j = NULL;
    switch (v->kind) {
    case WEAVE_GQL_NULL: j = cJSON_CreateNull(); break;
    case WEAVE_GQL_BOOL: j = cJSON_CreateBool(v->boolean); break;
    case WEAVE_GQL_INT:
    case WEAVE_GQL_FLOAT: j = cJSON_CreateNumber(strtod(v->str, NULL)); break;
    case WEAVE_GQL_STRING:
    case WEAVE_GQL_ENUM: j = cJSON_CreateString(v->str); break;
    case WEAVE_GQL_VARIABLE: {
        cJSON *val = x->vars ? cJSON_GetObjectItemCaseSensitive(x->vars, v->str) : NULL;
        if (!val) {
            xfail(x, "Variable \"$%s\" is not defined.", v->str);
            return NULL;
        }
        j = cJSON_Duplicate(val, 1);
        break;
    }
    case WEAVE_GQL_LIST:
        j = cJSON_CreateArray();
        for (const weave_gql_value *it = v->items; j && it; it = it->next) {
            cJSON *e = to_json(x, it);
            if (!e) {
                cJSON_Delete(j);
                return NULL;
            }
            cJSON_AddItemToArray(j, e);
        }
        break;
    case WEAVE_GQL_OBJECT:
        j = cJSON_CreateObject();
        for (const weave_gql_value *it = v->items; j && it; it = it->next) {
            cJSON *e = to_json(x, it);
            if (!e) {
                cJSON_Delete(j);
                return NULL;
            }
            cJSON_AddItemToObject(j, it->field_name, e);
        }
        break;
    }
    if (!j)
        xnomem(x);
    return j;
}

/* Arguments of one field as a cJSON object (caller deletes). Checks every
 * argument name is in `allowed` (NULL-terminated). */
static cJSON *field_args(exec *x, const char *type, const weave_gql_selection *f,
                         const char *const *allowed)
{
    cJSON *o = cJSON_CreateObject();
    if (!o) {
        xnomem(x);
        return NULL;
    }
    for (const weave_gql_argument *a = f->args; a; a = a->next) {
        bool ok = false;
        for (size_t i = 0; allowed && allowed[i]; i++)
            if (!strcmp(allowed[i], a->name))
                ok = true;
        if (!ok) {
            xfail(x, "Unknown argument \"%s\" on field \"%s.%s\".", a->name, type, f->name);
            cJSON_Delete(o);
            return NULL;
        }
        cJSON *v = to_json(x, a->value);
        if (!v) {
            cJSON_Delete(o);
            return NULL;
        }
        cJSON_AddItemToObject(o, a->name, v);
    }
    return o;
}

static bool is_given(const cJSON *v)
{
    return v && !cJSON_IsNull(v);
}

/* Int argument (32-bit, as GraphQL's Int). */
static int arg_int(exec *x, const cJSON *v, const char *what, int64_t *out)
{
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) ||
        v->valuedouble < -2147483648.0 || v->valuedouble > 2147483647.0)
        return xfail(x, "Argument \"%s\" has an invalid value: expected type \"Int\".", what);
    *out = (int64_t)v->valuedouble;
    return AO_OK;
}

/* [String!] argument: a list of strings, or one string (coerced to a list
 * of one). Fills a malloc'd array of pointers into the cJSON. */
static int arg_strings(exec *x, const cJSON *v, const char *what, const char ***out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (!is_given(v))
        return AO_OK;
    if (cJSON_IsString(v)) {
        *out = malloc(sizeof **out);
        if (!*out)
            return xnomem(x);
        (*out)[0] = v->valuestring;
        *n = 1;
        return AO_OK;
    }
    if (!cJSON_IsArray(v))
        return xfail(x, "Argument \"%s\" has an invalid value: expected a list of strings.", what);
    size_t cnt = (size_t)cJSON_GetArraySize(v);
    *out = calloc(cnt ? cnt : 1, sizeof **out);
    if (!*out)
        return xnomem(x);
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsString(e)) {
            free(*out);
            *out = NULL;
            return xfail(x, "Argument \"%s\" has an invalid value: expected a list of strings.",
                         what);
        }
        (*out)[(*n)++] = e->valuestring;
    }
    return AO_OK;
}

static int arg_first(exec *x, const cJSON *args, size_t *first)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, "first");
    *first = WEAVE_GQL_DEFAULT_FIRST;
    if (!is_given(v))
        return AO_OK;
    int64_t n;
    if (arg_int(x, v, "first", &n))
        return x->rc;
    if (n < 0)
        return xfail(x, "Argument \"first\" must not be negative.");
    /* 0 would mean "default" to the weave: ask for one, return none */
    *first = n > WEAVE_GQL_MAX_FIRST ? WEAVE_GQL_MAX_FIRST : (size_t)n;
    return AO_OK;
}

static int arg_sort(exec *x, const cJSON *args, weave_sort *sort)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, "sort");
    *sort = WEAVE_HEIGHT_DESC;
    if (!is_given(v))
        return AO_OK;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "HEIGHT_DESC"))
        return AO_OK;
    if (cJSON_IsString(v) && !strcmp(v->valuestring, "HEIGHT_ASC")) {
        *sort = WEAVE_HEIGHT_ASC;
        return AO_OK;
    }
    return xfail(x, "Argument \"sort\" has an invalid value: expected HEIGHT_ASC or HEIGHT_DESC.");
}

static int arg_after(exec *x, const cJSON *args, const char **after)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, "after");
    *after = NULL;
    if (!is_given(v))
        return AO_OK;
    if (!cJSON_IsString(v))
        return xfail(x, "Argument \"after\" has an invalid value: expected type \"String\".");
    if (v->valuestring[0])
        *after = v->valuestring;
    return AO_OK;
}

/* {min, max} */
static int arg_range(exec *x, const cJSON *args, const char *name, int64_t *min, int64_t *max)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(args, name);
    *min = *max = -1;
    if (!is_given(v))
        return AO_OK;
    if (!cJSON_IsObject(v))
        return xfail(x, "Argument \"%s\" has an invalid value: expected {min, max}.", name);
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        int64_t n;
        if (strcmp(e->string, "min") && strcmp(e->string, "max"))
            return xfail(x, "Field \"%s\" is not defined by type \"BlockFilter\".", e->string);
        if (!is_given(e))
            continue;
        if (arg_int(x, e, e->string, &n))
            return x->rc;
        if (n < 0)
            n = 0;
        if (!strcmp(e->string, "min"))
            *min = n;
        else
            *max = n;
    }
    return AO_OK;
}

/* ---- field collection ---- */

typedef struct {
    const char *key;
    const weave_gql_selection **f;
    size_t n, cap;
} group;

typedef struct {
    group *g;
    size_t n, cap;
} groups;

static void groups_free(groups *gs)
{
    for (size_t i = 0; i < gs->n; i++)
        free(gs->g[i].f);
    free(gs->g);
    gs->g = NULL;
    gs->n = gs->cap = 0;
}

static const char *const type_names[] = {
    "Query", "TransactionConnection", "TransactionEdge", "Transaction", "Owner",
    "Amount", "MetaData", "Tag", "Block", "Bundle", "Parent", "PageInfo",
    "BlockConnection", "BlockEdge", NULL,
};

static int type_applies(exec *x, const char *cond, const char *type, bool *applies)
{
    *applies = true;
    if (!cond)
        return AO_OK;
    for (size_t i = 0; type_names[i]; i++)
        if (!strcmp(type_names[i], cond)) {
            *applies = !strcmp(cond, type);
            return AO_OK;
        }
    return xfail(x, "Unknown type \"%s\".", cond);
}

/* @skip(if:) / @include(if:) */
static int included(exec *x, const weave_gql_directive *d, bool *inc)
{
    *inc = true;
    for (; d; d = d->next) {
        bool is_skip = !strcmp(d->name, "skip");
        if (!is_skip && strcmp(d->name, "include"))
            return xfail(x, "Unknown directive \"@%s\".", d->name);
        const weave_gql_argument *a = d->args;
        if (!a || strcmp(a->name, "if") || a->next)
            return xfail(x, "Directive \"@%s\" takes one argument \"if\".", d->name);
        cJSON *v = to_json(x, a->value);
        if (!v)
            return x->rc;
        if (!cJSON_IsBool(v)) {
            cJSON_Delete(v);
            return xfail(x, "Argument \"if\" of \"@%s\" must be a Boolean.", d->name);
        }
        bool t = cJSON_IsTrue(v);
        cJSON_Delete(v);
        if (is_skip ? t : !t)
            *inc = false;
    }
    return AO_OK;
}

static int collect(exec *x, const char *type, const weave_gql_selection *set, groups *gs,
                   int depth)
{
    if (depth > WEAVE_GQL_MAX_DEPTH)
        return xfail(x, "Fragments nest too deeply (or spread themselves).");
    for (const weave_gql_selection *s = set; s && !x->rc; s = s->next) {
        /* every selection visited counts, skipped or not: fragments that
         * spread others twice must not multiply the work unbounded */
        if (++x->fields > WEAVE_GQL_MAX_FIELDS)
            return xfail(x, "Query is too large (more than %d selections).",
                         WEAVE_GQL_MAX_FIELDS);
        bool inc;
        if (included(x, s->directives, &inc))
            return x->rc;
        if (!inc)
            continue;
        if (s->kind == WEAVE_GQL_FIELD) {
            const char *key = s->alias ? s->alias : s->name;
            group *g = NULL;
            for (size_t i = 0; i < gs->n; i++)
                if (!strcmp(gs->g[i].key, key))
                    g = &gs->g[i];
            if (g && strcmp(g->f[0]->name, s->name))
                return xfail(x, "Fields \"%s\" conflict because \"%s\" and \"%s\" are different "
                             "fields. Use different aliases on the fields to fetch both if this "
                             "was intentional.", key, g->f[0]->name, s->name);
            if (!g) {
                if (gs->n == gs->cap) {
                    size_t cap = gs->cap ? gs->cap * 2 : 8;
                    group *ng = realloc(gs->g, cap * sizeof *ng);
                    if (!ng)
                        return xnomem(x);
                    gs->g = ng;
                    gs->cap = cap;
                }
                g = &gs->g[gs->n++];
                memset(g, 0, sizeof *g);
                g->key = key;
            }
            if (g->n == g->cap) {
                size_t cap = g->cap ? g->cap * 2 : 2;
                const weave_gql_selection **nf = realloc(g->f, cap * sizeof *nf);
                if (!nf)
                    return xnomem(x);
                g->f = nf;
                g->cap = cap;
            }
            g->f[g->n++] = s;
        } else if (s->kind == WEAVE_GQL_SPREAD) {
            const weave_gql_fragment *fr = x->doc->fragments;
            while (fr && strcmp(fr->name, s->name))
                fr = fr->next;
            if (!fr)
                return xfail(x, "Unknown fragment \"%s\".", s->name);
            bool applies;
            if (type_applies(x, fr->type_condition, type, &applies))
                return x->rc;
            if (applies && collect(x, type, fr->selections, gs, depth + 1))
                return x->rc;
        } else {
            bool applies;
            if (type_applies(x, s->type_condition, type, &applies))
                return x->rc;
            if (applies && collect(x, type, s->children, gs, depth + 1))
                return x->rc;
        }
    }
    return x->rc;
}

/* The merged sub-selection of a group's fields. */
static int collect_sub(exec *x, const char *type, const group *g, groups *sub)
{
    memset(sub, 0, sizeof *sub);
    for (size_t i = 0; i < g->n && !x->rc; i++)
        collect(x, type, g->f[i]->children, sub, 0);
    if (x->rc)
        groups_free(sub);
    return x->rc;
}

/* Field-shape checks. */
static int leaf(exec *x, const char *type, const group *g, const char *ftype)
{
    for (size_t i = 0; i < g->n; i++) {
        if (g->f[i]->has_children)
            return xfail(x, "Field \"%s\" must not have a selection since type \"%s\" has no "
                         "subfields.", g->f[i]->name, ftype);
        if (g->f[i]->args)
            return xfail(x, "Unknown argument \"%s\" on field \"%s.%s\".", g->f[i]->args->name,
                         type, g->f[i]->name);
    }
    return AO_OK;
}

static int object(exec *x, const char *type, const group *g, const char *ftype,
                  bool takes_args)
{
    for (size_t i = 0; i < g->n; i++) {
        if (!g->f[i]->has_children)
            return xfail(x, "Field \"%s\" of type \"%s\" must have a selection of subfields. "
                         "Did you mean \"%s { ... }\"?", g->f[i]->name, ftype, g->f[i]->name);
        if (!takes_args && g->f[i]->args)
            return xfail(x, "Unknown argument \"%s\" on field \"%s.%s\".", g->f[i]->args->name,
                         type, g->f[i]->name);
    }
    return AO_OK;
}

static int unknown_field(exec *x, const char *type, const group *g)
{
    return xfail(x, "Cannot query field \"%s\" on type \"%s\".", g->f[0]->name, type);
}

static int emit_key(exec *x, const group *g, bool first)
{
    if (!first && emit(x, ","))
        return x->rc;
    if (json_cstr(x->out, g->key))
        return xnomem(x);
    return emit(x, ":");
}

static bool is_typename(exec *x, const char *type, const group *g)
{
    if (strcmp(g->f[0]->name, "__typename"))
        return false;
    if (leaf(x, type, g, "String!") == AO_OK)
        emit_str(x, type, strlen(type));
    return true;
}

/* Object with no data behind it but constants: {name -> string}. */
static int emit_simple(exec *x, const char *type, const group *g,
                       const char *const *names, const char *const *vals,
                       const bool *is_num)
{
    groups sub;
    if (collect_sub(x, type, g, &sub))
        return x->rc;
    emit(x, "{");
    for (size_t i = 0; i < sub.n && !x->rc; i++) {
        emit_key(x, &sub.g[i], i == 0);
        if (is_typename(x, type, &sub.g[i]))
            continue;
        size_t k = 0;
        while (names[k] && strcmp(names[k], sub.g[i].f[0]->name))
            k++;
        if (!names[k]) {
            unknown_field(x, type, &sub.g[i]);
            break;
        }
        if (leaf(x, type, &sub.g[i], "String"))
            break;
        if (!vals[k])
            emit(x, "null");
        else if (is_num && is_num[k])
            emit(x, vals[k]);
        else
            emit_str(x, vals[k], strlen(vals[k]));
    }
    emit(x, "}");
    groups_free(&sub);
    return x->rc;
}

/* ---- blocks ---- */

static int emit_block(exec *x, const group *g, const char *id, int64_t height,
                      int64_t ts_ms, const char *previous, bool have_previous)
{
    groups sub;
    if (collect_sub(x, "Block", g, &sub))
        return x->rc;
    weave_block blk;
    bool fetched = false;
    emit(x, "{");
    for (size_t i = 0; i < sub.n && !x->rc; i++) {
        const group *f = &sub.g[i];
        const char *n = f->f[0]->name;
        emit_key(x, f, i == 0);
        if (is_typename(x, "Block", f))
            continue;
        if (!strcmp(n, "id")) {
            if (!leaf(x, "Block", f, "ID!"))
                emit_str(x, id, strlen(id));
        } else if (!strcmp(n, "timestamp")) {
            if (!leaf(x, "Block", f, "Int!"))
                emit_i64(x, ts_ms / 1000);
        } else if (!strcmp(n, "height")) {
            if (!leaf(x, "Block", f, "Int!"))
                emit_i64(x, height);
        } else if (!strcmp(n, "previous")) {
            if (leaf(x, "Block", f, "ID!"))
                break;
            if (!have_previous && !fetched) {
                ao_error err;
                if (weave_get_block(x->w, height, &blk, &err)) {
                    xfail(x, "block %lld: %s", (long long)height, err.msg);
                    break;
                }
                fetched = true;
            }
            const char *p = have_previous ? previous : blk.previous;
            emit_str(x, p, strlen(p));
        } else {
            unknown_field(x, "Block", f);
        }
    }
    emit(x, "}");
    groups_free(&sub);
    return x->rc;
}

static int emit_page_info(exec *x, const group *g, bool has_next)
{
    const char *names[] = { "hasNextPage", NULL };
    const char *vals[] = { has_next ? "true" : "false" };
    const bool num[] = { true };
    if (object(x, "BlockConnection", g, "PageInfo!", false))
        return x->rc;
    return emit_simple(x, "PageInfo", g, names, vals, num);
}

static void validate_block(exec *x, const group *g);

static void emit_block_edges(exec *x, const groups *eg, const weave_block *rows, size_t n)
{
    emit(x, "[");
    for (size_t r = 0; r < n && !x->rc; r++) {
        const weave_block *b = &rows[r];
        emit(x, r ? ",{" : "{");
        for (size_t k = 0; k < eg->n && !x->rc; k++) {
            const group *e = &eg->g[k];
            emit_key(x, e, k == 0);
            if (is_typename(x, "BlockEdge", e))
                continue;
            if (!strcmp(e->f[0]->name, "cursor")) {
                if (!leaf(x, "BlockEdge", e, "String!"))
                    emit_str(x, b->cursor, strlen(b->cursor));
            } else if (!strcmp(e->f[0]->name, "node")) {
                if (!object(x, "BlockEdge", e, "Block!", false))
                    emit_block(x, e, b->id, b->height, b->timestamp_ms, b->previous, true);
            } else {
                unknown_field(x, "BlockEdge", e);
            }
        }
        emit(x, "}");
    }
    emit(x, "]");
}

static int run_blocks(exec *x, const group *g)
{
    static const char *const allowed[] = { "ids", "height", "first", "after", "sort", NULL };
    if (object(x, "Query", g, "BlockConnection!", true))
        return x->rc;
    cJSON *args = field_args(x, "Query", g->f[0], allowed);
    if (!args)
        return x->rc;
    weave_block_filter f;
    weave_block_filter_init(&f);
    const char **ids = NULL;
    size_t first;
    weave_block_page page = { 0 };
    bool have_page = false;
    if (arg_strings(x, cJSON_GetObjectItemCaseSensitive(args, "ids"), "ids", &ids, &f.nids) ||
        arg_range(x, args, "height", &f.height_min, &f.height_max) ||
        arg_first(x, args, &first) || arg_sort(x, args, &f.sort) || arg_after(x, args, &f.after))
        goto out;
    f.ids = ids;
    if (first > 0) {
        f.first = first;
        ao_error err;
        if (weave_query_blocks(x->w, &f, &page, &err)) {
            xfail(x, "%s", err.msg);
            goto out;
        }
        have_page = true;
    }
    groups sub;
    if (collect_sub(x, "BlockConnection", g, &sub))
        goto out;
    emit(x, "{");
    for (size_t i = 0; i < sub.n && !x->rc; i++) {
        const group *c = &sub.g[i];
        emit_key(x, c, i == 0);
        if (is_typename(x, "BlockConnection", c))
            continue;
        if (!strcmp(c->f[0]->name, "pageInfo")) {
            emit_page_info(x, c, have_page && page.has_next_page);
        } else if (!strcmp(c->f[0]->name, "edges")) {
            if (object(x, "BlockConnection", c, "[BlockEdge!]!", false))
                break;
            groups eg;
            if (collect_sub(x, "BlockEdge", c, &eg))
                break;
            emit_block_edges(x, &eg, page.rows, page.n);
            if (page.n == 0 && !x->rc) {
                /* no rows: still check the selection, on a stand-in row */
                weave_block dummy;
                memset(&dummy, 0, sizeof dummy);
                ao_buf *keep = x->out, scratch;
                ao_buf_init(&scratch);
                x->out = &scratch;
                emit_block_edges(x, &eg, &dummy, 1);
                x->out = keep;
                ao_buf_free(&scratch);
            }
            groups_free(&eg);
        } else {
            unknown_field(x, "BlockConnection", c);
        }
    }
    emit(x, "}");
    groups_free(&sub);
out:
    if (have_page)
        weave_block_page_free(&page);
    free(ids);
    cJSON_Delete(args);
    return x->rc;
}

static int run_block(exec *x, const group *g)
{
    static const char *const allowed[] = { "id", NULL };
    if (object(x, "Query", g, "Block", true))
        return x->rc;
    cJSON *args = field_args(x, "Query", g->f[0], allowed);
    if (!args)
        return x->rc;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(args, "id");
    if (is_given(id) && !cJSON_IsString(id)) {
        cJSON_Delete(args);
        return xfail(x, "Argument \"id\" has an invalid value: expected type \"String\".");
    }
    weave_block_filter f;
    weave_block_filter_init(&f);
    const char *idv = is_given(id) ? id->valuestring : NULL;
    if (idv) {
        f.ids = &idv;
        f.nids = 1;
    }
    f.first = 1;
    f.sort = WEAVE_HEIGHT_DESC;
    weave_block_page page = { 0 };
    ao_error err;
    if (weave_query_blocks(x->w, &f, &page, &err)) {
        cJSON_Delete(args);
        return xfail(x, "%s", err.msg);
    }
    if (page.n == 0) {
        validate_block(x, g);
        emit(x, "null");
    } else {
        emit_block(x, g, page.rows[0].id, page.rows[0].height, page.rows[0].timestamp_ms,
                   page.rows[0].previous, true);
    }
    weave_block_page_free(&page);
    cJSON_Delete(args);
    return x->rc;
}

/* ---- transactions ---- */

/* data.type: the first Content-Type tag's value (read from the tags, the
 * signed source of truth), or null. */
static const char *content_type(const weave_item_meta *m)
{
    for (size_t i = 0; i < m->ntags; i++)
        if (m->tags[i].name_len == 12 && !memcmp(m->tags[i].name, "Content-Type", 12))
            return m->tags[i].value;
    return NULL;
}

static int emit_tx(exec *x, const group *g, const weave_item_meta *m)
{
    groups sub;
    if (collect_sub(x, "Transaction", g, &sub))
        return x->rc;
    emit(x, "{");
    for (size_t i = 0; i < sub.n && !x->rc; i++) {
        const group *f = &sub.g[i];
        const char *n = f->f[0]->name;
        emit_key(x, f, i == 0);
        if (is_typename(x, "Transaction", f))
            continue;
        if (!strcmp(n, "id")) {
            if (!leaf(x, "Transaction", f, "ID!"))
                emit_str(x, m->id, strlen(m->id));
        } else if (!strcmp(n, "anchor")) {
            if (!leaf(x, "Transaction", f, "String!"))
                emit_str(x, m->anchor, strlen(m->anchor));
        } else if (!strcmp(n, "signature")) {
            if (!leaf(x, "Transaction", f, "String!"))
                emit_str(x, m->signature ? m->signature : "",
                         m->signature ? strlen(m->signature) : 0);
        } else if (!strcmp(n, "recipient")) {
            if (!leaf(x, "Transaction", f, "String!"))
                emit_str(x, m->target, strlen(m->target));
        } else if (!strcmp(n, "owner")) {
            static const char *const names[] = { "address", "key", NULL };
            const char *vals[] = { m->owner_address, m->owner_key ? m->owner_key : "" };
            if (!object(x, "Transaction", f, "Owner!", false))
                emit_simple(x, "Owner", f, names, vals, NULL);
        } else if (!strcmp(n, "fee") || !strcmp(n, "quantity")) {
            static const char *const names[] = { "winston", "ar", NULL };
            static const char *const vals[] = { "0", "0.000000000000" };
            if (!object(x, "Transaction", f, "Amount!", false))
                emit_simple(x, "Amount", f, names, vals, NULL);
        } else if (!strcmp(n, "data")) {
            static const char *const names[] = { "size", "type", NULL };
            char size[24];
            snprintf(size, sizeof size, "%llu", (unsigned long long)m->data_size);
            const char *vals[] = { size, content_type(m) };
            if (!object(x, "Transaction", f, "MetaData!", false))
                emit_simple(x, "MetaData", f, names, vals, NULL);
        } else if (!strcmp(n, "tags")) {
            if (object(x, "Transaction", f, "[Tag!]!", false))
                break;
            groups tg;
            if (collect_sub(x, "Tag", f, &tg))
                break;
            emit(x, "[");
            for (size_t t = 0; t < m->ntags && !x->rc; t++) {
                emit(x, t ? ",{" : "{");
                for (size_t k = 0; k < tg.n && !x->rc; k++) {
                    const group *e = &tg.g[k];
                    emit_key(x, e, k == 0);
                    if (is_typename(x, "Tag", e))
                        continue;
                    if (leaf(x, "Tag", e, "String!"))
                        break;
                    if (!strcmp(e->f[0]->name, "name"))
                        emit_str(x, m->tags[t].name, m->tags[t].name_len);
                    else if (!strcmp(e->f[0]->name, "value"))
                        emit_str(x, m->tags[t].value, m->tags[t].value_len);
                    else
                        unknown_field(x, "Tag", e);
                }
                emit(x, "}");
            }
            emit(x, "]");
            for (size_t k = 0; k < tg.n && !x->rc && m->ntags == 0; k++) {
                const char *tn = tg.g[k].f[0]->name;
                if (strcmp(tn, "name") && strcmp(tn, "value") && strcmp(tn, "__typename"))
                    unknown_field(x, "Tag", &tg.g[k]);
            }
            groups_free(&tg);
        } else if (!strcmp(n, "block")) {
            if (object(x, "Transaction", f, "Block", false))
                break;
            if (!m->block_sealed)
                emit(x, "null");
            else
                emit_block(x, f, m->block_id, m->height, m->block_timestamp_ms, NULL, false);
        } else if (!strcmp(n, "bundledIn") || !strcmp(n, "parent")) {
            static const char *const names[] = { "id", NULL };
            const char *vals[] = { m->bundled_in };
            const char *tn = n[0] == 'b' ? "Bundle" : "Parent";
            if (object(x, "Transaction", f, tn, false))
                break;
            if (!m->bundled_in[0])
                emit(x, "null");
            else
                emit_simple(x, tn, f, names, vals, NULL);
        } else {
            unknown_field(x, "Transaction", f);
        }
    }
    emit(x, "}");
    groups_free(&sub);
    return x->rc;
}

/* Run the selection of g on a stand-in transaction into a scratch buffer:
 * the checks of a selection happen even when there is nothing to show. */
static void validate_tx(exec *x, const group *g)
{
    weave_tag tag = { (char *)"", 0, (char *)"", 0 };
    weave_item_meta dummy;
    memset(&dummy, 0, sizeof dummy);
    dummy.ntags = 1;
    dummy.tags = &tag;
    dummy.block_sealed = true;
    dummy.bundled_in[0] = '-';
    ao_buf *keep = x->out, scratch;
    ao_buf_init(&scratch);
    x->out = &scratch;
    emit_tx(x, g, &dummy);
    x->out = keep;
    ao_buf_free(&scratch);
}

static void validate_block(exec *x, const group *g)
{
    ao_buf *keep = x->out, scratch;
    ao_buf_init(&scratch);
    x->out = &scratch;
    emit_block(x, g, "", 0, 0, "", true);
    x->out = keep;
    ao_buf_free(&scratch);
}

/* tags: [{name, values, op}] */
static int arg_tags(exec *x, const cJSON *v, weave_tag_filter **out, const char ***vals_out,
                    size_t *n)
{
    *out = NULL;
    *vals_out = NULL;
    *n = 0;
    if (!is_given(v))
        return AO_OK;
    if (!cJSON_IsArray(v)) {
        return xfail(x, "Argument \"tags\" has an invalid value: expected [TagFilter!].");
    }
    size_t cnt = (size_t)cJSON_GetArraySize(v), nvals = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, v) {
        const cJSON *vs = cJSON_GetObjectItemCaseSensitive(e, "values");
        nvals += cJSON_IsArray(vs) ? (size_t)cJSON_GetArraySize(vs) : 1;
    }
    *out = calloc(cnt ? cnt : 1, sizeof **out);
    *vals_out = calloc(nvals ? nvals : 1, sizeof **vals_out);
    if (!*out || !*vals_out)
        return xnomem(x);
    size_t vi = 0;
    cJSON_ArrayForEach(e, v) {
        if (!cJSON_IsObject(e)) {
            xfail(x, "Argument \"tags\" has an invalid value: expected [TagFilter!].");
            break;
        }
        const cJSON *name = NULL, *values = NULL, *f;
        cJSON_ArrayForEach(f, e) {
            if (!strcmp(f->string, "name")) {
                name = f;
            } else if (!strcmp(f->string, "values")) {
                values = f;
            } else if (!strcmp(f->string, "op")) {
                if (is_given(f) && !(cJSON_IsString(f) && !strcmp(f->valuestring, "EQ")))
                    xfail(x, "Tag filter op \"%s\" is not supported (only EQ).",
                          cJSON_IsString(f) ? f->valuestring : "?");
            } else if (!strcmp(f->string, "match")) {
                if (is_given(f) && !(cJSON_IsString(f) && !strcmp(f->valuestring, "EXACT")))
                    xfail(x, "Tag filter match \"%s\" is not supported (only EXACT).",
                          cJSON_IsString(f) ? f->valuestring : "?");
            } else {
                xfail(x, "Field \"%s\" is not defined by type \"TagFilter\".", f->string);
            }
        }
        if (x->rc)
            break;
        if (!cJSON_IsString(name) || !is_given(values)) {
            xfail(x, "A tag filter needs \"name\" (String!) and \"values\" ([String!]!).");
            break;
        }
        weave_tag_filter *tf = &(*out)[(*n)++];
        tf->name = name->valuestring;
        tf->values = *vals_out + vi;
        if (cJSON_IsString(values)) {
            (*vals_out)[vi++] = values->valuestring;
        } else if (cJSON_IsArray(values)) {
            const cJSON *s;
            cJSON_ArrayForEach(s, values) {
                if (!cJSON_IsString(s)) {
                    xfail(x, "Tag filter values must be strings.");
                    break;
                }
                (*vals_out)[vi++] = s->valuestring;
            }
        } else {
            xfail(x, "Tag filter values must be strings.");
        }
        tf->nvalues = (size_t)(*vals_out + vi - tf->values);
        if (x->rc)
            break;
    }
    return x->rc;
}

static void emit_tx_edges(exec *x, const groups *eg, const weave_item_meta *rows, size_t n)
{
    emit(x, "[");
    for (size_t r = 0; r < n && !x->rc; r++) {
        const weave_item_meta *m = &rows[r];
        emit(x, r ? ",{" : "{");
        for (size_t k = 0; k < eg->n && !x->rc; k++) {
            const group *e = &eg->g[k];
            const char *n = e->f[0]->name;
            emit_key(x, e, k == 0);
            if (is_typename(x, "TransactionEdge", e))
                continue;
            if (!strcmp(n, "cursor")) {
                if (!leaf(x, "TransactionEdge", e, "String!"))
                    emit_str(x, m->cursor, strlen(m->cursor));
            } else if (!strcmp(n, "node")) {
                if (!object(x, "TransactionEdge", e, "Transaction!", false))
                    emit_tx(x, e, m);
            } else {
                unknown_field(x, "TransactionEdge", e);
            }
        }
        emit(x, "}");
    }
    emit(x, "]");
}

static int run_transactions(exec *x, const group *g)
{
    static const char *const allowed[] = { "ids", "owners", "recipients", "tags", "bundledIn",
                                           "block", "first", "after", "sort", "ingested_at",
                                           NULL };
    if (object(x, "Query", g, "TransactionConnection!", true))
        return x->rc;
    cJSON *args = field_args(x, "Query", g->f[0], allowed);
    if (!args)
        return x->rc;
    /* a single TagFilter object is coerced to a list of one */
    cJSON *tags = cJSON_GetObjectItemCaseSensitive(args, "tags");
    if (cJSON_IsObject(tags)) {
        cJSON *list = cJSON_CreateArray();
        cJSON *det = cJSON_DetachItemViaPointer(args, tags);
        if (!list) {
            cJSON_Delete(det);
            cJSON_Delete(args);
            return xnomem(x);
        }
        cJSON_AddItemToArray(list, det);
        cJSON_AddItemToObject(args, "tags", list);
    }
    if (is_given(cJSON_GetObjectItemCaseSensitive(args, "ingested_at"))) {
        cJSON_Delete(args);
        return xfail(x, "Argument \"ingested_at\" is not supported.");
    }
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    const char **ids = NULL, **owners = NULL, **recips = NULL, **bundles = NULL, **vals = NULL;
    weave_tag_filter *tf = NULL;
    size_t first;
    weave_tx_page page = { 0 };
    bool have_page = false;
    if (arg_strings(x, cJSON_GetObjectItemCaseSensitive(args, "ids"), "ids", &ids, &f.nids) ||
        arg_strings(x, cJSON_GetObjectItemCaseSensitive(args, "owners"), "owners", &owners,
                    &f.nowners) ||
        arg_strings(x, cJSON_GetObjectItemCaseSensitive(args, "recipients"), "recipients",
                    &recips, &f.nrecipients) ||
        arg_strings(x, cJSON_GetObjectItemCaseSensitive(args, "bundledIn"), "bundledIn",
                    &bundles, &f.nbundled_in) ||
        arg_tags(x, cJSON_GetObjectItemCaseSensitive(args, "tags"), &tf, &vals, &f.ntags) ||
        arg_range(x, args, "block", &f.height_min, &f.height_max) ||
        arg_first(x, args, &first) || arg_sort(x, args, &f.sort) || arg_after(x, args, &f.after))
        goto out;
    f.ids = ids;
    f.owners = owners;
    f.recipients = recips;
    f.bundled_in = bundles;
    f.tags = tf;
    f.fields = x->meta_fields;
    if (first > 0) {
        f.first = first;
        ao_error err;
        if (weave_query_transactions(x->w, &f, &page, &err)) {
            xfail(x, "%s", err.msg);
            goto out;
        }
        have_page = true;
    }
    groups sub;
    if (collect_sub(x, "TransactionConnection", g, &sub))
        goto out;
    emit(x, "{");
    for (size_t i = 0; i < sub.n && !x->rc; i++) {
        const group *c = &sub.g[i];
        emit_key(x, c, i == 0);
        if (is_typename(x, "TransactionConnection", c))
            continue;
        if (!strcmp(c->f[0]->name, "pageInfo")) {
            emit_page_info(x, c, have_page && page.has_next_page);
        } else if (!strcmp(c->f[0]->name, "edges")) {
            if (object(x, "TransactionConnection", c, "[TransactionEdge!]!", false))
                break;
            groups eg;
            if (collect_sub(x, "TransactionEdge", c, &eg))
                break;
            emit_tx_edges(x, &eg, page.rows, page.n);
            if (page.n == 0 && !x->rc) {
                /* no rows: still check the selection, on a stand-in row */
                weave_tag tag = { (char *)"", 0, (char *)"", 0 };
                weave_item_meta dummy;
                memset(&dummy, 0, sizeof dummy);
                dummy.ntags = 1;
                dummy.tags = &tag;
                dummy.block_sealed = true;
                dummy.bundled_in[0] = '-';
                ao_buf *keep = x->out, scratch;
                ao_buf_init(&scratch);
                x->out = &scratch;
                emit_tx_edges(x, &eg, &dummy, 1);
                x->out = keep;
                ao_buf_free(&scratch);
            }
            groups_free(&eg);
        } else {
            unknown_field(x, "TransactionConnection", c);
        }
    }
    emit(x, "}");
    groups_free(&sub);
out:
    if (have_page)
        weave_tx_page_free(&page);
    free(ids);
    free(owners);
    free(recips);
    free(bundles);
    free(tf);
    free(vals);
    cJSON_Delete(args);
    return x->rc;
}

static int run_transaction(exec *x, const group *g)
{
    static const char *const allowed[] = { "id", NULL };
    if (object(x, "Query", g, "Transaction", true))
        return x->rc;
    cJSON *args = field_args(x, "Query", g->f[0], allowed);
    if (!args)
        return x->rc;
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(args, "id");
    if (!cJSON_IsString(id)) {
        cJSON_Delete(args);
        return xfail(x, "Field \"transaction\" argument \"id\" of type \"ID!\" is required.");
    }
    weave_item_meta m;
    ao_error err;
    int rc = weave_get_meta(x->w, id->valuestring, x->meta_fields, &m, &err);
    if (rc == AO_ENOTFOUND || rc == AO_EINVAL) {
        validate_tx(x, g);
        emit(x, "null");
    } else if (rc) {
        xfail(x, "%s", err.msg);
    } else {
        emit_tx(x, g, &m);
        weave_meta_free(&m);
    }
    cJSON_Delete(args);
    return x->rc;
}

/* ---- operation ---- */

/* Does any field of the document have this name? */
static bool doc_mentions(const weave_gql_selection *s, const char *name, int depth)
{
    for (; s && depth < 64; s = s->next) {
        if (s->kind == WEAVE_GQL_FIELD && !strcmp(s->name, name))
            return true;
        if (doc_mentions(s->children, name, depth + 1))
            return true;
    }
    return false;
}

static bool needs_keys(const weave_gql_doc *doc)
{
    for (const weave_gql_operation *o = doc->ops; o; o = o->next)
        if (doc_mentions(o->selections, "signature", 0) || doc_mentions(o->selections, "key", 0))
            return true;
    for (const weave_gql_fragment *f = doc->fragments; f; f = f->next)
        if (doc_mentions(f->selections, "signature", 0) || doc_mentions(f->selections, "key", 0))
            return true;
    return false;
}

/* Values of the operation's variables: given, else default, else null
 * (an error for a non-null type). */
static int coerce_vars(exec *x, const weave_gql_operation *op, const cJSON *given)
{
    x->vars = cJSON_CreateObject();
    if (!x->vars)
        return xnomem(x);
    for (const weave_gql_vardef *d = op->vars; d && !x->rc; d = d->next) {
        const cJSON *v = given ? cJSON_GetObjectItemCaseSensitive(given, d->name) : NULL;
        cJSON *val = NULL;
        if (v && !cJSON_IsNull(v)) {
            val = cJSON_Duplicate(v, 1);
        } else if (!v && d->default_value) {
            cJSON *save = x->vars;
            x->vars = NULL;
            val = to_json(x, d->default_value);
            x->vars = save;
        } else {
            if (d->non_null)
                return xfail(x, "Variable \"$%s\" of required type \"%s\" was not provided.",
                             d->name, d->type);
            val = cJSON_CreateNull();
        }
        if (!val)
            return x->rc ? x->rc : xnomem(x);
        cJSON_AddItemToObject(x->vars, d->name, val);
    }
    return x->rc;
}

static int run_operation(exec *x, const weave_gql_operation *op)
{
    if (op->kind != WEAVE_GQL_QUERY)
        return xfail(x, "Only queries are supported (this gateway is read-only over GraphQL).");
    bool inc;
    if (included(x, op->directives, &inc))
        return x->rc;
    groups gs = { 0 };
    if (collect(x, "Query", op->selections, &gs, 0)) {
        groups_free(&gs);
        return x->rc;
    }
    emit(x, "{");
    for (size_t i = 0; i < gs.n && !x->rc; i++) {
        const group *g = &gs.g[i];
        const char *n = g->f[0]->name;
        emit_key(x, g, i == 0);
        if (is_typename(x, "Query", g))
            continue;
        if (!strcmp(n, "transactions"))
            run_transactions(x, g);
        else if (!strcmp(n, "transaction"))
            run_transaction(x, g);
        else if (!strcmp(n, "blocks"))
            run_blocks(x, g);
        else if (!strcmp(n, "block"))
            run_block(x, g);
        else
            unknown_field(x, "Query", g);
    }
    emit(x, "}");
    groups_free(&gs);
    return x->rc;
}

static int errors_response(ao_buf *out, const char *msg)
{
    if (ao_buf_append_str(out, "{\"errors\":[{\"message\":") ||
        json_cstr(out, msg) || ao_buf_append_str(out, "}]}"))
        return AO_ENOMEM;
    return AO_OK;
}

static int execute(weave *w, const char *query, size_t qlen, const cJSON *vars,
                   const char *opname, ao_buf *out, bool *failed, ao_error *err)
{
    weave_gql_doc *doc;
    ao_error perr;
    int rc = weave_gql_parse(query, qlen, &doc, &perr);
    if (rc == AO_ENOMEM)
        return ao_err_set(err, rc, "out of memory");
    if (rc) {
        *failed = true;
        return errors_response(out, perr.msg) ? ao_err_set(err, AO_ENOMEM, "out of memory")
                                              : AO_OK;
    }
    ao_buf data;
    ao_buf_init(&data);
    exec x = { .w = w, .doc = doc, .out = &data };
    x.meta_fields = needs_keys(doc) ? WEAVE_META_KEYS : 0;
    const weave_gql_operation *op = NULL;
    if (opname && opname[0]) {
        for (op = doc->ops; op && !(op->name && !strcmp(op->name, opname)); op = op->next)
            ;
        if (!op)
            xfail(&x, "Unknown operation named \"%s\".", opname);
    } else if (doc->ops && !doc->ops->next) {
        op = doc->ops;
    } else {
        xfail(&x, doc->ops ? "Must provide operation name if query contains multiple operations."
                           : "Must provide an operation.");
    }
    if (vars && !cJSON_IsObject(vars) && !cJSON_IsNull(vars))
        xfail(&x, "Variables must be provided as an object.");
    if (!x.rc && op && coerce_vars(&x, op, cJSON_IsObject(vars) ? vars : NULL) == AO_OK)
        run_operation(&x, op);
    *failed = x.rc != AO_OK;
    if (x.rc == AO_ENOMEM)
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    else if (x.rc)
        rc = errors_response(out, x.msg) ? ao_err_set(err, AO_ENOMEM, "out of memory") : AO_OK;
    else if (ao_buf_append_str(out, "{\"data\":") || ao_buf_append(out, data.data, data.len) ||
             ao_buf_append_str(out, "}"))
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    ao_buf_free(&data);
    cJSON_Delete(x.vars);
    weave_gql_doc_free(doc);
    return rc;
}

int weave_gql_execute(weave *w, const char *query, size_t query_len,
                      const char *variables_json, size_t variables_len,
                      const char *operation_name, ao_buf *out, bool *failed, ao_error *err)
{
    bool dummy;
    if (!failed)
        failed = &dummy;
    *failed = false;
    cJSON *vars = NULL;
    if (variables_json && variables_len) {
        vars = cJSON_ParseWithLength(variables_json, variables_len);
        if (!vars) {
            *failed = true;
            return errors_response(out, "Variables are not valid JSON.")
                       ? ao_err_set(err, AO_ENOMEM, "out of memory") : AO_OK;
        }
    }
    int rc = execute(w, query, query_len, vars, operation_name, out, failed, err);
    cJSON_Delete(vars);
    return rc;
}

int weave_gql_execute_request(weave *w, const char *body, size_t len, ao_buf *out,
                              bool *failed, ao_error *err)
{
    bool dummy;
    if (!failed)
        failed = &dummy;
    *failed = false;
    cJSON *req = cJSON_ParseWithLength(body, len);
    const cJSON *q = req ? cJSON_GetObjectItemCaseSensitive(req, "query") : NULL;
    if (!req || !cJSON_IsObject(req) || !cJSON_IsString(q)) {
        cJSON_Delete(req);
        *failed = true;
        return errors_response(out, req ? "Must provide query string."
                                        : "Body is not valid JSON.")
                   ? ao_err_set(err, AO_ENOMEM, "out of memory") : AO_OK;
    }
    const cJSON *vars = cJSON_GetObjectItemCaseSensitive(req, "variables");
    const cJSON *opn = cJSON_GetObjectItemCaseSensitive(req, "operationName");
    int rc = execute(w, q->valuestring, strlen(q->valuestring), vars,
                     cJSON_IsString(opn) ? opn->valuestring : NULL, out, failed, err);
    cJSON_Delete(req);
    return rc;
}
