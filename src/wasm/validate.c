/*
 * validate.c - the WebAssembly validator (2.0 + memory64) over a decoded
 * struct wasm_module: index ranges, limits, constant expressions, the
 * declared-function-reference rule, exports, the start function, and full
 * typing of every function body with the spec's operand/control stack
 * algorithm (polymorphic stack after unreachable, br, br_table, return).
 * It also records, per defined function, the highest operand stack height
 * and the deepest block nesting for the back-end.
 *
 * Bodies were syntax-checked by the decoder, so immediates are read with
 * the unchecked readers of wasm_read.h. Work is linear in the code size
 * (br_table costs labels x arity); the stacks are reused across functions,
 * nothing is allocated per instruction.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/wasm_module.h"
#include "wasm/wasm_read.h"

#define T_UNKNOWN 0   /* the bottom type of an unreachable stack */

typedef struct vframe {
    uint8_t op;               /* 0x02 block, 0x03 loop, 0x04 if, 0x05 else, 0 function */
    bool unreachable;
    const uint8_t *params;
    const uint8_t *results;
    uint32_t nparams, nresults;
    size_t height;
} vframe;

typedef struct vctx {
    wasm_module *m;
    ao_error *err;
    uint8_t *vals;
    size_t nvals, vcap;
    size_t height;            /* operand height of the innermost frame */
    vframe *ctrls;
    size_t nctrls, ccap;
    size_t max_vals, max_ctrls;
    /* current function */
    uint32_t func;            /* function index */
    const wasm_functype *ft;
    const wasm_code *code;
    uint32_t nlocals;         /* params + declared locals */
    const uint8_t *at;        /* instruction being validated */
} vctx;

/* One-element type lists for single-value block types, by value type. */
static const uint8_t single_vt[256] = {
    [WASM_I32] = WASM_I32, [WASM_I64] = WASM_I64, [WASM_F32] = WASM_F32,
    [WASM_F64] = WASM_F64, [WASM_FUNCREF] = WASM_FUNCREF, [WASM_EXTERNREF] = WASM_EXTERNREF,
};

static int vfail(vctx *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int vfail(vctx *v, const char *fmt, ...)
{
    char msg[AO_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (v->code)
        return ao_err_set(v->err, AO_EINVAL, "%s (function %u, at byte %zu)", msg, v->func,
                          (size_t)(v->at - v->m->bytes));
    return ao_err_set(v->err, AO_EINVAL, "%s", msg);
}

static int vnomem(vctx *v)
{
    return ao_err_set(v->err, AO_ENOMEM, "out of memory validating module");
}

static bool is_num(uint8_t t)
{
    return t == WASM_I32 || t == WASM_I64 || t == WASM_F32 || t == WASM_F64 || t == T_UNKNOWN;
}

static bool is_ref(uint8_t t)
{
    return t == WASM_FUNCREF || t == WASM_EXTERNREF || t == T_UNKNOWN;
}

static const char *tname(uint8_t t) { return wasm_valtype_name(t); }

/* ---- operand stack ---- */

#define CK(x)                  \
    do {                       \
        int rc_ = (x);         \
        if (rc_)               \
            return rc_;        \
    } while (0)


/* Makes room for `extra` more values. */
static __attribute__((noinline)) int grow_vals(vctx *v, size_t extra)
{
    size_t nc = v->vcap ? v->vcap : 256;
    while (nc < v->nvals + extra)
        nc *= 2;
    uint8_t *n = realloc(v->vals, nc);
    if (!n)
        return vnomem(v);
    v->vals = n;
    v->vcap = nc;
    return AO_OK;
}

static inline int push(vctx *v, uint8_t t)
{
    if (__builtin_expect(v->nvals == v->vcap, 0) && grow_vals(v, 1))
        return AO_ENOMEM;
    v->vals[v->nvals++] = t;
    if (v->nvals > v->max_vals)
        v->max_vals = v->nvals;
    return AO_OK;
}

static inline __attribute__((always_inline)) int push_n(vctx *v, const uint8_t *ts, uint32_t n)
{
    if (v->nvals + n > v->vcap && grow_vals(v, n))
        return AO_ENOMEM;
    if (n)
        memcpy(v->vals + v->nvals, ts, n);
    v->nvals += n;
    if (v->nvals > v->max_vals)
        v->max_vals = v->nvals;
    return AO_OK;
}

/* Pop at the current frame's height: unknown if the frame is unreachable,
 * else an error. */
static __attribute__((noinline)) int pop_empty(vctx *v, uint8_t *out)
{
    if (v->ctrls[v->nctrls - 1].unreachable) {
        *out = T_UNKNOWN;
        return AO_OK;
    }
    return vfail(v, "type mismatch (operand stack empty)");
}

static inline int pop(vctx *v, uint8_t *out)
{
    if (__builtin_expect(v->nvals > v->height, 1)) {
        *out = v->vals[--v->nvals];
        return AO_OK;
    }
    return pop_empty(v, out);
}

static __attribute__((noinline)) int mismatch(vctx *v, uint8_t want, uint8_t got)
{
    return vfail(v, "type mismatch (expected %s, got %s)", tname(want), tname(got));
}

static inline int pop_expect(vctx *v, uint8_t want)
{
    uint8_t t;
    if (__builtin_expect(v->nvals > v->height, 1))
        t = v->vals[--v->nvals];
    else if (pop_empty(v, &t))
        return AO_EINVAL;
    if (__builtin_expect(t == want, 1) || t == T_UNKNOWN || want == T_UNKNOWN)
        return AO_OK;
    return mismatch(v, want, t);
}

static inline __attribute__((always_inline)) int pop_n(vctx *v, const uint8_t *ts, uint32_t n)
{
    for (uint32_t i = n; i-- > 0;) {
        int rc = pop_expect(v, ts[i]);
        if (rc)
            return rc;
    }
    return AO_OK;
}

static inline __attribute__((always_inline)) int push_ctrl(vctx *v, uint8_t op, const uint8_t *params, uint32_t np,
                     const uint8_t *results, uint32_t nr)
{
    if (v->nctrls == v->ccap) {
        size_t nc = v->ccap ? v->ccap * 2 : 64;
        vframe *n = realloc(v->ctrls, nc * sizeof *n);
        if (!n)
            return vnomem(v);
        v->ctrls = n;
        v->ccap = nc;
    }
    vframe *f = &v->ctrls[v->nctrls++];
    if (v->nctrls > v->max_ctrls)
        v->max_ctrls = v->nctrls;
    f->op = op;
    f->unreachable = false;
    f->params = params;
    f->nparams = np;
    f->results = results;
    f->nresults = nr;
    f->height = v->nvals;
    v->height = v->nvals;
    return push_n(v, params, np);
}

/* Pops the frame's results and checks the stack is back at its height. */
static inline __attribute__((always_inline)) int end_frame(vctx *v)
{
    vframe *f = &v->ctrls[v->nctrls - 1];
    int rc = pop_n(v, f->results, f->nresults);
    if (rc)
        return rc;
    if (v->nvals != f->height)
        return vfail(v, "type mismatch (%zu values left at end of block)", v->nvals - f->height);
    return AO_OK;
}

/* Undo pop_n of n values that started at stack height `save`: values that
 * came from the stack are still in the buffer; those that came from the
 * polymorphic bottom come back as unknown. */
static int restore_popped(vctx *v, size_t save, uint32_t n)
{
    size_t real = save - v->nvals;
    if (real == n) {
        v->nvals = save;
        return AO_OK;
    }
    size_t h = v->nvals, fake = n - real;
    if (h + n > v->vcap) {
        size_t nc = v->vcap ? v->vcap : 256;
        while (nc < h + n)
            nc *= 2;
        uint8_t *nv = realloc(v->vals, nc);
        if (!nv)
            return vnomem(v);
        v->vals = nv;
        v->vcap = nc;
    }
    /* the real ones are at [h, h+real); move them above the unknowns */
    memmove(v->vals + h + fake, v->vals + h, real);
    memset(v->vals + h, T_UNKNOWN, fake);
    v->nvals = h + n;
    if (v->nvals > v->max_vals)
        v->max_vals = v->nvals;
    return AO_OK;
}

static void set_unreachable(vctx *v)
{
    v->nvals = v->height;
    v->ctrls[v->nctrls - 1].unreachable = true;
}

static void label_types(const vframe *f, const uint8_t **ts, uint32_t *n)
{
    if (f->op == 0x03) {
        *ts = f->params;
        *n = f->nparams;
    } else {
        *ts = f->results;
        *n = f->nresults;
    }
}

/* ---- helpers for module-level checks ---- */

static int check_limits(vctx *v, const wasm_limits *l, bool is_mem, const char *what)
{
    if (is_mem) {
        uint64_t cap = l->is64 ? WASM_MAX_PAGES64 : WASM_MAX_PAGES32;
        if (l->min > cap || (l->has_max && l->max > cap))
            return vfail(v, "memory size must be at most %s pages (%s)",
                         l->is64 ? "2^48" : "65536", l->is64 ? "256 TiB" : "4GiB");
    }
    if (l->has_max && l->min > l->max)
        return vfail(v, "size minimum must not be greater than maximum (%s)", what);
    return AO_OK;
}

/* Constant expression of type `want`; global.get may name globals below
 * `nvisible`. In 2.0 every constant expression of the module (global
 * initializers, segment offsets and items) sees only imported globals. */
static int check_const(vctx *v, wasm_constexpr *ce, uint8_t want, uint32_t nvisible, const char *what)
{
    wasm_module *m = v->m;
    switch (ce->op) {
    case WASM_CE_I32_CONST: case WASM_CE_I64_CONST: case WASM_CE_F32_CONST:
    case WASM_CE_F64_CONST: case WASM_CE_REF_NULL:
        break;
    case WASM_CE_REF_FUNC:
        if (ce->idx >= m->nfuncs)
            return vfail(v, "unknown function %u (%s)", ce->idx, what);
        break;
    case WASM_CE_GLOBAL_GET:
        if (ce->idx >= nvisible)
            return vfail(v, "unknown global %u (%s)", ce->idx, what);
        if (m->globals[ce->idx].mut)
            return vfail(v, "constant expression required (global.get of mutable global %u in %s)",
                         ce->idx, what);
        ce->type = m->globals[ce->idx].type;
        break;
    default: {
        /* Not a single constant instruction. Say which rule it breaks: a
         * non-constant instruction anywhere, else a wrong number of values. */
        const uint8_t *p = ce->code;
        uint32_t n = 0;
        for (;;) {
            uint8_t op = *p++;
            if (op == 0x0b)
                break;
            n++;
            switch (op) {
            case 0x41: case 0x42: (void)wasm_ru_sleb(&p); break;
            case 0x43: p += 4; break;
            case 0x44: p += 8; break;
            case 0x23: case 0xd2: (void)wasm_ru_u32(&p); break;
            case 0xd0: p++; break;
            default:
                return vfail(v, "constant expression required (%s)", what);
            }
        }
        return vfail(v, "type mismatch (constant expression of %u values in %s)", n, what);
    }
    }
    if (ce->type != want)
        return vfail(v, "type mismatch (%s: constant of type %s, expected %s)", what,
                     tname(ce->type), tname(want));
    return AO_OK;
}

static int cmp_export(const void *a, const void *b, void *arg)
{
    const wasm_export *ex = arg;
    const wasm_export *x = &ex[*(const uint32_t *)a], *y = &ex[*(const uint32_t *)b];
    if (x->name_len != y->name_len)
        return x->name_len < y->name_len ? -1 : 1;
    return memcmp(x->name, y->name, x->name_len);
}

static int validate_module_fields(vctx *v)
{
    wasm_module *m = v->m;
    int rc;
    for (uint32_t i = 0; i < m->nfuncs; i++)
        if (m->func_types[i] >= m->ntypes)
            return vfail(v, "unknown type %u (function %u)", m->func_types[i], i);
    for (uint32_t i = 0; i < m->ntables; i++)
        if ((rc = check_limits(v, &m->tables[i].limits, false, "table")))
            return rc;
    if (m->nmems > 1)
        return vfail(v, "multiple memories are not allowed (%u)", m->nmems);
    for (uint32_t i = 0; i < m->nmems; i++)
        if ((rc = check_limits(v, &m->mems[i], true, "memory")))
            return rc;

    free(m->func_declared);   /* validating twice is harmless */
    m->func_declared = calloc(m->nfuncs ? m->nfuncs : 1, 1);
    if (!m->func_declared)
        return vnomem(v);

    for (uint32_t i = m->nglobals_imported; i < m->nglobals; i++) {
        wasm_globaldef *g = &m->globals[i];
        if ((rc = check_const(v, &g->init, g->type, m->nglobals_imported, "global initializer")))
            return rc;
        if (g->init.op == WASM_CE_REF_FUNC)
            m->func_declared[g->init.idx] = 1;
    }
    for (uint32_t i = 0; i < m->nelems; i++) {
        wasm_elem *e = &m->elems[i];
        if (e->mode == WASM_SEG_ACTIVE) {
            if (e->table >= m->ntables)
                return vfail(v, "unknown table %u (element segment %u)", e->table, i);
            const wasm_tabletype *t = &m->tables[e->table];
            if ((rc = check_const(v, &e->offset, t->limits.is64 ? WASM_I64 : WASM_I32, m->nglobals_imported,
                                  "element segment offset")))
                return rc;
            if (t->elem != e->type)
                return vfail(v, "type mismatch (element segment %u of %s into a %s table)", i,
                             tname(e->type), tname(t->elem));
        }
        for (uint32_t j = 0; j < e->nitems; j++) {
            wasm_constexpr *ce = &e->items[j];
            if ((rc = check_const(v, ce, e->type, m->nglobals_imported, "element segment item")))
                return rc;
            if (ce->op == WASM_CE_REF_FUNC)
                m->func_declared[ce->idx] = 1;
        }
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        wasm_data *ds = &m->datas[i];
        if (ds->mode != WASM_SEG_ACTIVE)
            continue;
        if (ds->mem >= m->nmems)
            return vfail(v, "unknown memory %u (data segment %u)", ds->mem, i);
        if ((rc = check_const(v, &ds->offset, m->mems[ds->mem].is64 ? WASM_I64 : WASM_I32,
                              m->nglobals_imported, "data segment offset")))
            return rc;
    }
    for (uint32_t i = 0; i < m->nexports; i++) {
        wasm_export *ex = &m->exports[i];
        static const char *const kinds[] = { "function", "table", "memory", "global" };
        uint32_t n = ex->kind == WASM_EXTERN_FUNC ? m->nfuncs
                   : ex->kind == WASM_EXTERN_TABLE ? m->ntables
                   : ex->kind == WASM_EXTERN_MEMORY ? m->nmems : m->nglobals;
        if (ex->index >= n)
            return vfail(v, "unknown %s %u (export \"%s\")", kinds[ex->kind], ex->index, ex->name);
        if (ex->kind == WASM_EXTERN_FUNC)
            m->func_declared[ex->index] = 1;
    }
    if (m->nexports > 1) {
        uint32_t *idx = malloc(m->nexports * sizeof *idx);
        if (!idx)
            return vnomem(v);
        for (uint32_t i = 0; i < m->nexports; i++)
            idx[i] = i;
        qsort_r(idx, m->nexports, sizeof *idx, cmp_export, m->exports);
        for (uint32_t i = 1; i < m->nexports; i++) {
            if (cmp_export(&idx[i - 1], &idx[i], m->exports) == 0) {
                rc = vfail(v, "duplicate export name \"%s\"", m->exports[idx[i]].name);
                free(idx);
                return rc;
            }
        }
        free(idx);
    }
    if (m->has_start) {
        if (m->start >= m->nfuncs)
            return vfail(v, "unknown function %u (start)", m->start);
        const wasm_functype *ft = wasm__func_type(m, m->start);
        if (ft->nparams || ft->nresults)
            return vfail(v, "start function must have type [] -> []");
    }
    return AO_OK;
}

/* ---- function bodies ---- */

/* Signature of each numeric instruction without immediates (0x45-0xc4):
 * up to two inputs and one output; all zero for other opcodes. */
#define I WASM_I32
#define L WASM_I64
#define F WASM_F32
#define D WASM_F64
static const uint8_t numsig[256][3] = {
    [0x45] = { I, 0, I },            [0x46 ... 0x4f] = { I, I, I },
    [0x50] = { L, 0, I },            [0x51 ... 0x5a] = { L, L, I },
    [0x5b ... 0x60] = { F, F, I },   [0x61 ... 0x66] = { D, D, I },
    [0x67 ... 0x69] = { I, 0, I },   [0x6a ... 0x78] = { I, I, I },
    [0x79 ... 0x7b] = { L, 0, L },   [0x7c ... 0x8a] = { L, L, L },
    [0x8b ... 0x91] = { F, 0, F },   [0x92 ... 0x98] = { F, F, F },
    [0x99 ... 0x9f] = { D, 0, D },   [0xa0 ... 0xa6] = { D, D, D },
    [0xa7] = { L, 0, I },            [0xa8 ... 0xa9] = { F, 0, I },
    [0xaa ... 0xab] = { D, 0, I },   [0xac ... 0xad] = { I, 0, L },
    [0xae ... 0xaf] = { F, 0, L },   [0xb0 ... 0xb1] = { D, 0, L },
    [0xb2 ... 0xb3] = { I, 0, F },   [0xb4 ... 0xb5] = { L, 0, F },
    [0xb6] = { D, 0, F },            [0xb7 ... 0xb8] = { I, 0, D },
    [0xb9 ... 0xba] = { L, 0, D },   [0xbb] = { F, 0, D },
    [0xbc] = { F, 0, I },            [0xbd] = { D, 0, L },
    [0xbe] = { I, 0, F },            [0xbf] = { L, 0, D },
    [0xc0 ... 0xc1] = { I, 0, I },   [0xc2 ... 0xc4] = { L, 0, L },
};
#undef I
#undef L
#undef F
#undef D

/* Natural alignment exponent and value type of loads (0x28-0x35) and
 * stores (0x36-0x3e). */
static void mem_sig(uint8_t op, uint32_t *natural, uint8_t *vt)
{
    static const uint8_t nat[] = { 2, 3, 2, 3, 0, 0, 1, 1, 0, 0, 1, 1, 2, 2,
                                   2, 3, 2, 3, 0, 1, 0, 1, 2 };
    static const uint8_t typ[] = { 0x7f, 0x7e, 0x7d, 0x7c, 0x7f, 0x7f, 0x7f, 0x7f, 0x7e, 0x7e,
                                   0x7e, 0x7e, 0x7e, 0x7e,
                                   0x7f, 0x7e, 0x7d, 0x7c, 0x7f, 0x7f, 0x7e, 0x7e, 0x7e };
    *natural = nat[op - 0x28];
    *vt = typ[op - 0x28];
}

static int need_mem(vctx *v, uint8_t *at)
{
    if (v->m->nmems == 0)
        return vfail(v, "unknown memory 0");
    *at = v->m->mems[0].is64 ? WASM_I64 : WASM_I32;
    return AO_OK;
}

static int need_table(vctx *v, uint32_t x, const wasm_tabletype **t)
{
    if (x >= v->m->ntables)
        return vfail(v, "unknown table %u", x);
    *t = &v->m->tables[x];
    return AO_OK;
}

static uint8_t tab_at(const wasm_tabletype *t) { return t->limits.is64 ? WASM_I64 : WASM_I32; }

static int blocktype(vctx *v, const uint8_t **pp, const uint8_t **params, uint32_t *np,
                     const uint8_t **results, uint32_t *nr)
{
    uint8_t vt = 0;
    uint32_t idx = 0;
    int k = wasm_ru_blocktype(pp, &vt, &idx);
    *params = NULL;
    *np = 0;
    if (k == -1) {
        *results = NULL;
        *nr = 0;
    } else if (k == -2) {
        *results = &single_vt[vt];
        *nr = 1;
    } else {
        if (idx >= v->m->ntypes)
            return vfail(v, "unknown type %u (block type)", idx);
        const wasm_functype *ft = &v->m->types[idx];
        *params = ft->params;
        *np = ft->nparams;
        *results = ft->results;
        *nr = ft->nresults;
    }
    return AO_OK;
}

static int validate_fc(vctx *v, const uint8_t **pp)
{
    wasm_module *m = v->m;
    uint32_t sub = wasm_ru_u32(pp);
    const wasm_tabletype *t = NULL, *t2 = NULL;
    uint8_t at = 0;
    uint32_t x, y;
    switch (sub) {
    case 0: case 1: CK(pop_expect(v, WASM_F32)); return push(v, WASM_I32);
    case 2: case 3: CK(pop_expect(v, WASM_F64)); return push(v, WASM_I32);
    case 4: case 5: CK(pop_expect(v, WASM_F32)); return push(v, WASM_I64);
    case 6: case 7: CK(pop_expect(v, WASM_F64)); return push(v, WASM_I64);
    case 8:   /* memory.init */
        x = wasm_ru_u32(pp);
        (*pp)++;
        CK(need_mem(v, &at));
        if (x >= m->datacount)
            return vfail(v, "unknown data segment %u", x);
        CK(pop_expect(v, WASM_I32));
        CK(pop_expect(v, WASM_I32));
        return pop_expect(v, at);
    case 9:   /* data.drop */
        x = wasm_ru_u32(pp);
        if (x >= m->datacount)
            return vfail(v, "unknown data segment %u", x);
        return AO_OK;
    case 10:  /* memory.copy */
        *pp += 2;
        CK(need_mem(v, &at));
        CK(pop_expect(v, at));
        CK(pop_expect(v, at));
        return pop_expect(v, at);
    case 11:  /* memory.fill */
        *pp += 1;
        CK(need_mem(v, &at));
        CK(pop_expect(v, at));
        CK(pop_expect(v, WASM_I32));
        return pop_expect(v, at);
    case 12:  /* table.init elem table */
        y = wasm_ru_u32(pp);
        x = wasm_ru_u32(pp);
        CK(need_table(v, x, &t));
        if (y >= m->nelems)
            return vfail(v, "unknown elem segment %u", y);
        if (m->elems[y].type != t->elem)
            return vfail(v, "type mismatch (table.init of %s segment into %s table)",
                         tname(m->elems[y].type), tname(t->elem));
        CK(pop_expect(v, WASM_I32));
        CK(pop_expect(v, WASM_I32));
        return pop_expect(v, tab_at(t));
    case 13:  /* elem.drop */
        y = wasm_ru_u32(pp);
        if (y >= m->nelems)
            return vfail(v, "unknown elem segment %u", y);
        return AO_OK;
    case 14:  /* table.copy dst src */
        x = wasm_ru_u32(pp);
        y = wasm_ru_u32(pp);
        CK(need_table(v, x, &t));
        CK(need_table(v, y, &t2));
        if (t->elem != t2->elem)
            return vfail(v, "type mismatch (table.copy between %s and %s tables)", tname(t->elem),
                         tname(t2->elem));
        /* n uses the smaller index type */
        CK(pop_expect(v, (t->limits.is64 && t2->limits.is64) ? WASM_I64 : WASM_I32));
        CK(pop_expect(v, tab_at(t2)));
        return pop_expect(v, tab_at(t));
    case 15:  /* table.grow */
        x = wasm_ru_u32(pp);
        CK(need_table(v, x, &t));
        CK(pop_expect(v, tab_at(t)));
        CK(pop_expect(v, t->elem));
        return push(v, tab_at(t));
    case 16:  /* table.size */
        x = wasm_ru_u32(pp);
        CK(need_table(v, x, &t));
        return push(v, tab_at(t));
    case 17:  /* table.fill */
        x = wasm_ru_u32(pp);
        CK(need_table(v, x, &t));
        CK(pop_expect(v, tab_at(t)));
        CK(pop_expect(v, t->elem));
        return pop_expect(v, tab_at(t));
    default:
        return vfail(v, "illegal opcode 0xfc %u", sub);
    }
}

static int validate_body(vctx *v)
{
    wasm_module *m = v->m;
    const wasm_functype *ft = v->ft;
    const uint8_t *p = v->code->body;
    const uint8_t *end = p + v->code->body_len;
    v->nvals = 0;
    v->nctrls = 0;
    v->max_vals = 0;
    v->max_ctrls = 0;
    CK(push_ctrl(v, 0, NULL, 0, ft->results, ft->nresults));
    while (p < end) {
        v->at = p;
        uint8_t op = *p++;
        uint8_t a = 0, t1 = 0, t2 = 0;
        const uint8_t *ps = NULL, *rs = NULL;
        uint32_t np = 0, nr = 0, x = 0;
        switch (op) {
        case 0x00:
            set_unreachable(v);
            break;
        case 0x01:
            break;
        case 0x02: case 0x03: case 0x04:
            CK(blocktype(v, &p, &ps, &np, &rs, &nr));
            if (op == 0x04)
                CK(pop_expect(v, WASM_I32));
            CK(pop_n(v, ps, np));
            CK(push_ctrl(v, op, ps, np, rs, nr));
            break;
        case 0x05: {
            vframe *f = &v->ctrls[v->nctrls - 1];
            if (f->op != 0x04)
                return vfail(v, "else without if");
            CK(end_frame(v));
            f->op = 0x05;
            f->unreachable = false;
            CK(push_n(v, f->params, f->nparams));
            break;
        }
        case 0x0b: {
            vframe f = v->ctrls[v->nctrls - 1];
            CK(end_frame(v));
            if (f.op == 0x04) {
                /* if without else: the missing else passes params through */
                if (f.nparams != f.nresults || (f.nparams && memcmp(f.params, f.results, f.nparams)))
                    return vfail(v, "type mismatch (if without else must not change the stack type)");
            }
            v->nctrls--;
            if (v->nctrls)
                v->height = v->ctrls[v->nctrls - 1].height;
            if (v->nctrls == 0) {
                if (p != end)
                    return vfail(v, "operators remaining after end of function");
                break;
            }
            CK(push_n(v, f.results, f.nresults));
            break;
        }
        case 0x0c: case 0x0d:
            x = wasm_ru_u32(&p);
            if (x >= v->nctrls)
                return vfail(v, "unknown label %u", x);
            if (op == 0x0d)
                CK(pop_expect(v, WASM_I32));
            label_types(&v->ctrls[v->nctrls - 1 - x], &ps, &np);
            CK(pop_n(v, ps, np));
            if (op == 0x0c)
                set_unreachable(v);
            else
                CK(push_n(v, ps, np));
            break;
        case 0x0e: {
            uint32_t n = wasm_ru_u32(&p);
            const uint8_t *labels = p;
            for (uint32_t i = 0; i <= n; i++)
                (void)wasm_ru_u32(&p);
            uint32_t dflt;
            {
                const uint8_t *q = labels;
                for (uint32_t i = 0; i < n; i++)
                    (void)wasm_ru_u32(&q);
                dflt = wasm_ru_u32(&q);
            }
            CK(pop_expect(v, WASM_I32));
            if (dflt >= v->nctrls)
                return vfail(v, "unknown label %u", dflt);
            const uint8_t *dts;
            uint32_t arity;
            label_types(&v->ctrls[v->nctrls - 1 - dflt], &dts, &arity);
            const uint8_t *q = labels;
            const uint8_t *prev = NULL;
            for (uint32_t i = 0; i < n; i++) {
                uint32_t l = wasm_ru_u32(&q);
                if (l >= v->nctrls)
                    return vfail(v, "unknown label %u", l);
                label_types(&v->ctrls[v->nctrls - 1 - l], &ps, &np);
                if (np != arity)
                    return vfail(v, "type mismatch (br_table targets of different arity)");
                /* the same type list as the last one or the default: the
                 * check below would repeat itself (keeps long tables of
                 * wide labels linear) */
                if (np == 0 || ps == prev || ps == dts)
                    continue;
                prev = ps;
                /* pop and push back what was popped: checks the top values
                 * against this label without changing them */
                size_t save = v->nvals;
                CK(pop_n(v, ps, np));
                CK(restore_popped(v, save, np));
            }
            CK(pop_n(v, dts, arity));
            set_unreachable(v);
            break;
        }
        case 0x0f:
            CK(pop_n(v, ft->results, ft->nresults));
            set_unreachable(v);
            break;
        case 0x10: {
            x = wasm_ru_u32(&p);
            if (x >= m->nfuncs)
                return vfail(v, "unknown function %u", x);
            const wasm_functype *cf = wasm__func_type(m, x);
            CK(pop_n(v, cf->params, cf->nparams));
            CK(push_n(v, cf->results, cf->nresults));
            break;
        }
        case 0x11: {
            uint32_t ti = wasm_ru_u32(&p);
            uint32_t tab = wasm_ru_u32(&p);
            const wasm_tabletype *t = NULL;
            CK(need_table(v, tab, &t));
            if (t->elem != WASM_FUNCREF)
                return vfail(v, "type mismatch (call_indirect through a %s table)", tname(t->elem));
            if (ti >= m->ntypes)
                return vfail(v, "unknown type %u", ti);
            const wasm_functype *cf = &m->types[ti];
            CK(pop_expect(v, tab_at(t)));
            CK(pop_n(v, cf->params, cf->nparams));
            CK(push_n(v, cf->results, cf->nresults));
            break;
        }
        case 0x1a:
            CK(pop(v, &t1));
            break;
        case 0x1b:
            CK(pop_expect(v, WASM_I32));
            CK(pop(v, &t1));
            CK(pop(v, &t2));
            if (!is_num(t1) || !is_num(t2))
                return vfail(v, "type mismatch (untyped select of reference values)");
            if (t1 != t2 && t1 != T_UNKNOWN && t2 != T_UNKNOWN)
                return vfail(v, "type mismatch (select of %s and %s)", tname(t1), tname(t2));
            CK(push(v, t1 == T_UNKNOWN ? t2 : t1));
            break;
        case 0x1c: {
            uint32_t n = wasm_ru_u32(&p);
            if (n != 1)
                return vfail(v, "invalid result arity (typed select with %u types)", n);
            uint8_t t = *p++;
            CK(pop_expect(v, WASM_I32));
            CK(pop_expect(v, t));
            CK(pop_expect(v, t));
            CK(push(v, t));
            break;
        }
        case 0x20: case 0x21: case 0x22:
            x = wasm_ru_u32(&p);
            if (x >= v->nlocals)
                return vfail(v, "unknown local %u", x);
            t1 = wasm__local_type(ft, v->code, x);
            if (op != 0x20)
                CK(pop_expect(v, t1));
            if (op != 0x21)
                CK(push(v, t1));
            break;
        case 0x23: case 0x24:
            x = wasm_ru_u32(&p);
            if (x >= m->nglobals)
                return vfail(v, "unknown global %u", x);
            if (op == 0x23) {
                CK(push(v, m->globals[x].type));
            } else {
                if (!m->globals[x].mut)
                    return vfail(v, "global is immutable (global.set %u)", x);
                CK(pop_expect(v, m->globals[x].type));
            }
            break;
        case 0x25: case 0x26: {
            const wasm_tabletype *t = NULL;
            x = wasm_ru_u32(&p);
            CK(need_table(v, x, &t));
            if (op == 0x25) {
                CK(pop_expect(v, tab_at(t)));
                CK(push(v, t->elem));
            } else {
                CK(pop_expect(v, t->elem));
                CK(pop_expect(v, tab_at(t)));
            }
            break;
        }
        case 0x3f: case 0x40:
            p++;
            CK(need_mem(v, &a));
            if (op == 0x40)
                CK(pop_expect(v, a));
            CK(push(v, a));
            break;
        case 0x41: (void)wasm_ru_s32(&p); CK(push(v, WASM_I32)); break;
        case 0x42: (void)wasm_ru_s64(&p); CK(push(v, WASM_I64)); break;
        case 0x43: p += 4; CK(push(v, WASM_F32)); break;
        case 0x44: p += 8; CK(push(v, WASM_F64)); break;
        case 0xd0:
            CK(push(v, *p++));
            break;
        case 0xd1:
            CK(pop(v, &t1));
            if (!is_ref(t1))
                return vfail(v, "type mismatch (ref.is_null of %s)", tname(t1));
            CK(push(v, WASM_I32));
            break;
        case 0xd2:
            x = wasm_ru_u32(&p);
            if (x >= m->nfuncs)
                return vfail(v, "unknown function %u", x);
            if (!m->func_declared[x])
                return vfail(v, "undeclared function reference %u", x);
            CK(push(v, WASM_FUNCREF));
            break;
        case 0xfc:
            CK(validate_fc(v, &p));
            break;
        case 0x28 ... 0x3e: {
            uint32_t align, natural;
            uint64_t off;
            uint8_t vt;
            wasm_ru_memarg(&p, &align, &off);
            CK(need_mem(v, &a));
            mem_sig(op, &natural, &vt);
            if (align > natural)
                return vfail(v, "alignment must not be larger than natural (2^%u > %u bytes)",
                             align, 1u << natural);
            if (!m->mems[0].is64 && off > UINT32_MAX)
                return vfail(v, "offset out of range for a 32-bit memory");
            if (op <= 0x35) {
                CK(pop_expect(v, a));
                CK(push(v, vt));
            } else {
                CK(pop_expect(v, vt));
                CK(pop_expect(v, a));
            }
            break;
        }
        case 0x45 ... 0xc4: {
            const uint8_t *sig = numsig[op];
            if (sig[1]) {
                /* binary: the common case of both operands on the stack
                 * in one step */
                if (v->nvals >= v->height + 2 && v->vals[v->nvals - 1] == sig[1] &&
                    v->vals[v->nvals - 2] == sig[0]) {
                    v->nvals -= 2;
                } else {
                    CK(pop_expect(v, sig[1]));
                    CK(pop_expect(v, sig[0]));
                }
            } else {
                CK(pop_expect(v, sig[0]));
            }
            CK(push(v, sig[2]));
            break;
        }
        default:
            return vfail(v, "illegal opcode 0x%02x", op);
        }
    }
    if (v->nctrls != 0)
        return vfail(v, "unexpected end of function body");
    return AO_OK;
}

int wasm__validate(struct wasm_module *m, ao_error *err)
{
    vctx v = { .m = m, .err = err };
    int rc = validate_module_fields(&v);
    for (uint32_t i = 0; rc == AO_OK && i < m->ncode; i++) {
        wasm_code *c = &m->code[i];
        v.func = m->nfuncs_imported + i;
        v.ft = wasm__func_type(m, v.func);
        v.code = c;
        v.at = c->body;
        uint64_t total = (uint64_t)v.ft->nparams + c->nlocals;
        if (total > WASM_MAX_LOCALS) {
            rc = ao_err_set(err, AO_ELIMIT, "function %u has %llu locals (engine limit %u)",
                            v.func, (unsigned long long)total, WASM_MAX_LOCALS);
            break;
        }
        v.nlocals = (uint32_t)total;
        rc = validate_body(&v);
        c->max_stack = (uint32_t)v.max_vals;
        c->max_depth = (uint32_t)v.max_ctrls;
    }
    free(v.vals);
    free(v.ctrls);
    if (rc == AO_OK)
        m->validated = true;
    return rc;
}
