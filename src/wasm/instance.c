/*
 * instance.c - module creation (front-end decode + validate, back-end
 * translation), instantiation and linking (import matching with limits
 * subtyping), segment initialisation with WebAssembly 2.0 trap semantics,
 * the start function, exports, and calls from the host into wasm.
 */
#include "wasm/wasm_internal.h"

#include <stdlib.h>
#include <string.h>

int wasm_module_new(const uint8_t *bytes, size_t len, wasm_module **out, ao_error *err)
{
    *out = NULL;
    wasm_module *m = NULL;
    int rc = wasm__decode(bytes, len, &m, err);
    if (rc)
        return rc;
    rc = wasm__validate(m, err);
    if (rc == AO_OK)
        rc = wasm__translate(m, err);
    if (rc) {
        wasm__destroy(m);
        return rc;
    }
    if (wasm_tier_default() == WASM_TIER_COMPILED)
        wasm__aot_start(m);
    *out = m;
    return AO_OK;
}

void wasm_module_free(wasm_module *m) { wasm__destroy(m); }

const wasm_module *wasm_instance_module(const wasm_instance *inst) { return inst->m; }

wasm_memory *wasm_instance_memory(wasm_instance *inst, uint32_t idx)
{
    if (!inst || idx >= inst->m->nmems)
        return NULL;
    return inst->mems[idx];
}

/* ---- linking ---- */

static bool limits_match(uint64_t amin, bool ahas, uint64_t amax, bool a64, const wasm_limits *want)
{
    if (a64 != want->is64 || amin < want->min)
        return false;
    if (want->has_max && (!ahas || amax > want->max))
        return false;
    return true;
}

static int link_check(const wasm_module *m, const wasm_extern *imports, size_t nimports,
                      ao_error *err)
{
    if (nimports < m->nimports)
        return ao_err_set(err, AO_EINVAL, "unknown import: %s.%s",
                          m->imports[nimports].module, m->imports[nimports].name);
    for (uint32_t i = 0; i < m->nimports; i++) {
        const wasm_import *im = &m->imports[i];
        const wasm_extern *ex = &imports[i];
        const void *p = ex->kind == WASM_EXTERN_FUNC ? (const void *)ex->of.func :
                        ex->kind == WASM_EXTERN_TABLE ? (const void *)ex->of.table :
                        ex->kind == WASM_EXTERN_MEMORY ? (const void *)ex->of.memory :
                        (const void *)ex->of.global;
        if (!p)
            return ao_err_set(err, AO_EINVAL, "unknown import: %s.%s", im->module, im->name);
        bool ok = ex->kind == im->kind;
        if (ok) {
            switch (im->kind) {
            case WASM_EXTERN_FUNC:
                ok = wasm__functype_eq(ex->of.func->type, wasm__func_type(m, im->index));
                break;
            case WASM_EXTERN_TABLE: {
                const wasm_table *t = ex->of.table;
                const wasm_tabletype *tt = &m->tables[im->index];
                ok = t->elem == tt->elem &&
                     limits_match(t->size, t->lim.has_max, t->lim.max, t->lim.is64, &tt->limits);
                break;
            }
            case WASM_EXTERN_MEMORY: {
                const wasm_memory *mem = ex->of.memory;
                ok = limits_match(mem->pages, mem->lim.has_max, mem->lim.max, mem->lim.is64,
                                  &m->mems[im->index]);
                break;
            }
            default: {
                const wasm_global *g = ex->of.global;
                const wasm_globaldef *gd = &m->globals[im->index];
                ok = g->type == gd->type && g->mut == gd->mut;
                break;
            }
            }
        }
        if (!ok)
            return ao_err_set(err, AO_EINVAL, "incompatible import type: %s.%s", im->module,
                              im->name);
    }
    return AO_OK;
}

static uint64_t ce_eval(wasm_instance *inst, const wasm_constexpr *ce)
{
    switch (ce->op) {
    case WASM_CE_I32_CONST: case WASM_CE_F32_CONST: return (uint32_t)ce->bits;
    case WASM_CE_I64_CONST: case WASM_CE_F64_CONST: return ce->bits;
    case WASM_CE_GLOBAL_GET: return inst->globals[ce->idx]->v;
    case WASM_CE_REF_FUNC: return (uint64_t)(uintptr_t)inst->funcs[ce->idx];
    default: return 0;
    }
}

static int oom(ao_error *err) { return ao_err_set(err, AO_ENOMEM, "wasm: out of memory instantiating"); }

static int run_start(wasm_store *s, wasm_func *f, wasm_trap *trap, ao_error *err)
{
    return wasm_func_call(s, f, NULL, 0, NULL, 0, trap, err);
}

int wasm_instantiate(wasm_store *s, const wasm_module *m, const wasm_extern *imports,
                     size_t nimports, wasm_instance **out, wasm_trap *trap, ao_error *err)
{
    *out = NULL;
    wasm_trap tmp;
    if (!trap)
        trap = &tmp;
    trap->code = WASM_TRAP_NONE;
    trap->msg[0] = 0;
    if (!m->back)
        return ao_err_set(err, AO_EINVAL, "wasm: module was not translated");
    int rc = link_check(m, imports, nimports, err);
    if (rc)
        return rc;
    wasm_instance *inst = calloc(1, sizeof *inst);
    if (!inst)
        return oom(err);
    inst->store = s;
    inst->m = m;
    if (wasm__store_track(s, 4, inst)) {
        free(inst);
        return oom(err);
    }
    const wasm_back *b = m->back;
    inst->funcs = calloc(m->nfuncs + 1, sizeof *inst->funcs);
    inst->own_funcs = calloc(m->ncode + 1, sizeof *inst->own_funcs);
    inst->tables = calloc(m->ntables + 1, sizeof *inst->tables);
    inst->mems = calloc(m->nmems + 1, sizeof *inst->mems);
    inst->globals = calloc(m->nglobals + 1, sizeof *inst->globals);
    inst->elem_items = calloc(m->nelems + 1, sizeof *inst->elem_items);
    inst->elem_len = calloc(m->nelems + 1, sizeof *inst->elem_len);
    inst->data_dropped = calloc(m->ndatas + 1, 1);
    if (!inst->funcs || !inst->own_funcs || !inst->tables || !inst->mems || !inst->globals ||
        !inst->elem_items || !inst->elem_len || !inst->data_dropped)
        return oom(err);
    for (uint32_t i = 0; i < m->nimports; i++) {
        const wasm_import *im = &m->imports[i];
        switch (im->kind) {
        case WASM_EXTERN_FUNC: inst->funcs[im->index] = imports[i].of.func; break;
        case WASM_EXTERN_TABLE: inst->tables[im->index] = imports[i].of.table; break;
        case WASM_EXTERN_MEMORY: inst->mems[im->index] = imports[i].of.memory; break;
        default: inst->globals[im->index] = imports[i].of.global; break;
        }
    }
    for (uint32_t i = 0; i < m->ncode; i++) {
        wasm_func *f = &inst->own_funcs[i];
        f->fn = &b->fns[i];
        f->type = b->fns[i].type;
        f->store = s;
        f->inst = inst;
        inst->funcs[m->nfuncs_imported + i] = f;
    }
    for (uint32_t i = m->ntables_imported; i < m->ntables; i++) {
        rc = wasm__table_create(s, m->tables[i].elem, &m->tables[i].limits, &inst->tables[i], err);
        if (rc)
            return rc;
    }
    for (uint32_t i = m->nmems_imported; i < m->nmems; i++) {
        rc = wasm__memory_create(s, &m->mems[i], &inst->mems[i], err);
        if (rc)
            return rc;
    }
    inst->mem0 = m->nmems ? inst->mems[0] : NULL;
    for (uint32_t i = m->nglobals_imported; i < m->nglobals; i++) {
        wasm_global *g = calloc(1, sizeof *g);
        if (!g)
            return oom(err);
        if (wasm__store_track(s, 3, g)) {
            free(g);
            return oom(err);
        }
        g->type = m->globals[i].type;
        g->mut = m->globals[i].mut;
        g->v = ce_eval(inst, &m->globals[i].init);
        inst->globals[i] = g;
    }
    for (uint32_t i = 0; i < m->nelems; i++) {
        const wasm_elem *e = &m->elems[i];
        inst->elem_items[i] = calloc(e->nitems + 1, sizeof(void *));
        if (!inst->elem_items[i])
            return oom(err);
        for (uint32_t k = 0; k < e->nitems; k++)
            inst->elem_items[i][k] = (void *)(uintptr_t)ce_eval(inst, &e->items[k]);
        inst->elem_len[i] = e->nitems;
    }
    /* active element segments (table.init + elem.drop), declarative dropped */
    for (uint32_t i = 0; i < m->nelems; i++) {
        const wasm_elem *e = &m->elems[i];
        if (e->mode == WASM_SEG_ACTIVE) {
            wasm_table *t = inst->tables[e->table];
            uint64_t off = ce_eval(inst, &e->offset);
            uint64_t n = e->nitems;
            if (off > t->size || n > t->size - off) {
                wasm__trap_set(trap, WASM_TRAP_TABLE_OOB, NULL);
                return ao_err_set(err, AO_ETRAP, "wasm: instantiation trapped: %s", trap->msg);
            }
            if (n)
                memcpy(t->elems + off, inst->elem_items[i], (size_t)n * sizeof(void *));
            t->epoch++;
            inst->elem_len[i] = 0;
        } else if (e->mode == WASM_SEG_DECLARATIVE) {
            inst->elem_len[i] = 0;
        }
    }
    for (uint32_t i = 0; i < m->ndatas; i++) {
        const wasm_data *d = &m->datas[i];
        if (d->mode != WASM_SEG_ACTIVE)
            continue;
        wasm_memory *mem = inst->mems[d->mem];
        uint64_t off = ce_eval(inst, &d->offset);
        if (off > mem->size || d->len > mem->size - off) {
            wasm__trap_set(trap, WASM_TRAP_MEMORY_OOB, NULL);
            return ao_err_set(err, AO_ETRAP, "wasm: instantiation trapped: %s", trap->msg);
        }
        if (d->len)
            memcpy(mem->data + off, d->bytes, d->len);
        inst->data_dropped[i] = 1;
    }
    if (s->tier == WASM_TIER_COMPILED && wasm_module_compiled(m))
        wasm__aot_tier_up(inst);
    if (m->has_start) {
        rc = run_start(s, inst->funcs[m->start], trap, err);
        if (rc)
            return rc;
    }
    *out = inst;
    return AO_OK;
}

int wasm_instance_export(wasm_instance *inst, const char *name, wasm_extern *out)
{
    return wasm_instance_export_n(inst, name, strlen(name), out);
}

int wasm_instance_export_n(wasm_instance *inst, const char *name, size_t len,
                           wasm_extern *out)
{
    const wasm_module *m = inst->m;
    for (uint32_t i = 0; i < m->nexports; i++) {
        const wasm_export *e = &m->exports[i];
        if (e->name_len != len || memcmp(e->name, name, len) != 0)
            continue;
        memset(out, 0, sizeof *out);
        out->kind = (wasm_extern_kind)e->kind;
        switch (e->kind) {
        case WASM_EXTERN_FUNC: out->of.func = inst->funcs[e->index]; break;
        case WASM_EXTERN_TABLE: out->of.table = inst->tables[e->index]; break;
        case WASM_EXTERN_MEMORY: out->of.memory = inst->mems[e->index]; break;
        default: out->of.global = inst->globals[e->index]; break;
        }
        return AO_OK;
    }
    return AO_ENOTFOUND;
}

/* ---- calls from the host ---- */

int wasm_func_call(wasm_store *s, wasm_func *f, const wasm_val *args, size_t nargs,
                   wasm_val *results, size_t nresults, wasm_trap *trap, ao_error *err)
{
    wasm_trap tmp;
    if (!trap)
        trap = &tmp;
    trap->code = WASM_TRAP_NONE;
    trap->host_code = 0;
    trap->msg[0] = 0;
    const wasm_functype *ft = f->type;
    if (nargs != ft->nparams)
        return ao_err_set(err, AO_EINVAL, "wasm: function takes %u arguments, %zu given",
                          ft->nparams, nargs);
    if (nresults < ft->nresults)
        return ao_err_set(err, AO_EINVAL, "wasm: function returns %u results, room for %zu",
                          ft->nresults, nresults);
    for (size_t i = 0; i < nargs; i++)
        if (args[i].type != ft->params[i])
            return ao_err_set(err, AO_EINVAL, "wasm: argument %zu has type 0x%02x, want 0x%02x",
                              i, args[i].type, ft->params[i]);
    if (s->host_nesting > WASM_MAX_HOST_NESTING) {
        wasm__trap_set(trap, WASM_TRAP_STACK_EXHAUSTED, NULL);
        return ao_err_set(err, AO_ETRAP, "wasm trap: %s", trap->msg);
    }
    /* wasm code running outside a transaction writes untracked to pages a
     * transaction's end left writable: protect them first */
    if (!f->host && f->inst)
        for (uint32_t i = 0; i < f->inst->m->nmems; i++) {
            wasm_memory *mem = f->inst->mems[i];
            if (mem->hot && !mem->txn)
                wasm__track_cool(mem);
        }
    uint64_t *fp = s->sp;
    size_t need = ft->nparams > ft->nresults ? ft->nparams : ft->nresults;
    if (fp + need + 1 > s->stack_end) {
        wasm__trap_set(trap, WASM_TRAP_STACK_EXHAUSTED, NULL);
        return ao_err_set(err, AO_ETRAP, "wasm trap: %s", trap->msg);
    }
    for (size_t i = 0; i < nargs; i++) {
        uint64_t b;
        switch (args[i].type) {
        case WASM_I32: case WASM_F32: b = args[i].of.i32; break;
        case WASM_FUNCREF: b = (uint64_t)(uintptr_t)args[i].of.func; break;
        case WASM_EXTERNREF: b = (uint64_t)(uintptr_t)args[i].of.ext; break;
        default: b = args[i].of.i64; break;
        }
        fp[i] = b;
    }
    uint64_t *osp = s->sp;
    if (f->host)
        s->sp = fp + need;
    int rc = wasm__run(s, f, fp, trap);
    s->sp = osp;
    if (rc)
        return ao_err_set(err, AO_ETRAP, "wasm trap: %s", trap->msg);
    for (uint32_t i = 0; i < ft->nresults; i++) {
        wasm_val *v = &results[i];
        memset(v, 0, sizeof *v);
        v->type = ft->results[i];
        switch (v->type) {
        case WASM_I32: case WASM_F32: v->of.i32 = (uint32_t)fp[i]; break;
        case WASM_FUNCREF: v->of.func = (wasm_func *)(uintptr_t)fp[i]; break;
        case WASM_EXTERNREF: v->of.ext = (void *)(uintptr_t)fp[i]; break;
        default: v->of.i64 = fp[i]; break;
        }
    }
    return AO_OK;
}
