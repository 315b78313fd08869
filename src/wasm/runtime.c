/*
 * runtime.c - the engine's runtime objects: stores and their limits, host
 * functions, memories (reserved address space, commit on grow), tables,
 * globals, the host-call context and trap names.
 */
#include "wasm/wasm_internal.h"
#include "wasm/wasm_read.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* ---- traps ---- */

const char *wasm_trap_name(wasm_trap_code code)
{
    switch (code) {
    case WASM_TRAP_NONE: return "no trap";
    case WASM_TRAP_UNREACHABLE: return "unreachable";
    case WASM_TRAP_MEMORY_OOB: return "out of bounds memory access";
    case WASM_TRAP_TABLE_OOB: return "out of bounds table access";
    case WASM_TRAP_UNINITIALIZED: return "uninitialized element";
    case WASM_TRAP_INDIRECT_TYPE: return "indirect call type mismatch";
    case WASM_TRAP_DIV_ZERO: return "integer divide by zero";
    case WASM_TRAP_INT_OVERFLOW: return "integer overflow";
    case WASM_TRAP_INVALID_CONVERSION: return "invalid conversion to integer";
    case WASM_TRAP_STACK_EXHAUSTED: return "call stack exhausted";
    case WASM_TRAP_OUT_OF_GAS: return "out of gas";
    case WASM_TRAP_OUT_OF_MEMORY: return "out of memory";
    case WASM_TRAP_HOST: return "host trap";
    }
    return "unknown trap";
}

void wasm__trap_set(wasm_trap *trap, wasm_trap_code code, const char *msg)
{
    if (!trap)
        return;
    trap->code = code;
    trap->host_code = 0;
    snprintf(trap->msg, sizeof trap->msg, "%s", msg ? msg : wasm_trap_name(code));
}

bool wasm__functype_eq(const wasm_functype *a, const wasm_functype *b)
{
    if (a == b)
        return true;
    return a->nparams == b->nparams && a->nresults == b->nresults &&
           (a->nparams == 0 || memcmp(a->params, b->params, a->nparams) == 0) &&
           (a->nresults == 0 || memcmp(a->results, b->results, a->nresults) == 0);
}

/* ---- stores ---- */

int wasm_store_new(wasm_store **out, ao_error *err)
{
    *out = NULL;
    wasm_store *s = calloc(1, sizeof *s);
    if (!s)
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for store");
    s->gas_limit = UINT64_MAX;
    s->max_pages = UINT64_MAX;
    s->max_depth = WASM_DEFAULT_MAX_DEPTH;
    s->tier = (uint8_t)wasm_tier_default();
    size_t bytes = (size_t)WASM_STACK_SLOTS * sizeof(uint64_t);
    void *st = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (st == MAP_FAILED) {
        free(s);
        return ao_err_set(err, AO_ENOMEM, "wasm: cannot map the value stack");
    }
    s->stack = st;
    s->stack_end = s->stack + WASM_STACK_SLOTS;
    s->sp = s->stack;
    *out = s;
    return AO_OK;
}

static void memory_destroy(wasm_memory *mem)
{
    wasm__track_release(mem);
    if (mem->data && mem->reserved)
        munmap(mem->data, mem->reserved);
    free(mem);
}

static void instance_destroy(wasm_instance *inst)
{
    wasm__aot_instance_free(inst);
    wasm__snap_free(inst);
    wasm__txn_free(inst);
    if (inst->elem_items) {
        for (uint32_t i = 0; i < inst->m->nelems; i++)
            free(inst->elem_items[i]);
    }
    free(inst->elem_items);
    free(inst->elem_len);
    free(inst->data_dropped);
    free(inst->funcs);
    free(inst->own_funcs);
    free(inst->tables);
    free(inst->mems);
    free(inst->globals);
    free(inst);
}

void wasm_store_free(wasm_store *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < s->nobjs; i++) {
        void *p = s->objs[i].p;
        switch (s->objs[i].kind) {
        case 0: {
            wasm_func *f = p;
            free(f->owned);
            free(f);
            break;
        }
        case 1: {
            wasm_table *t = p;
            free(t->elems);
            free(t);
            break;
        }
        case 2: memory_destroy(p); break;
        case 3: free(p); break;
        case 4: instance_destroy(p); break;
        }
    }
    free(s->objs);
    free(s->frames);
    munmap(s->stack, (size_t)WASM_STACK_SLOTS * sizeof(uint64_t));
    free(s);
}

int wasm__store_track(wasm_store *s, int kind, void *p)
{
    if (s->nobjs == s->objs_cap) {
        size_t nc = s->objs_cap ? s->objs_cap * 2 : 16;
        wobj *n = realloc(s->objs, nc * sizeof *n);
        if (!n)
            return AO_ENOMEM;
        s->objs = n;
        s->objs_cap = nc;
    }
    s->objs[s->nobjs].kind = kind;
    s->objs[s->nobjs].p = p;
    s->nobjs++;
    return AO_OK;
}

void wasm_store_set_gas_limit(wasm_store *s, uint64_t limit) { s->gas_limit = limit; }
uint64_t wasm_store_gas_used(const wasm_store *s) { return s->gas_used; }
void wasm_store_set_gas_used(wasm_store *s, uint64_t used) { s->gas_used = used; }
void wasm_store_set_max_memory_pages(wasm_store *s, uint64_t pages) { s->max_pages = pages; }
void wasm_store_set_max_call_depth(wasm_store *s, uint32_t depth) { s->max_depth = depth ? depth : 1; }

/* ---- host functions ---- */

int wasm_func_new_host(wasm_store *s, const wasm_functype *type, wasm_host_fn fn,
                       void *user, wasm_func **out, ao_error *err)
{
    *out = NULL;
    if (!fn || !type)
        return ao_err_set(err, AO_EINVAL, "wasm: host function needs a type and a function");
    wasm_func *f = calloc(1, sizeof *f);
    uint8_t *owned = malloc((size_t)type->nparams + type->nresults + 1);
    if (!f || !owned) {
        free(f);
        free(owned);
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for host function");
    }
    if (type->nparams)
        memcpy(owned, type->params, type->nparams);
    if (type->nresults)
        memcpy(owned + type->nparams, type->results, type->nresults);
    f->owned = owned;
    f->owned_type.nparams = type->nparams;
    f->owned_type.nresults = type->nresults;
    f->owned_type.params = owned;
    f->owned_type.results = owned + type->nparams;
    f->type = &f->owned_type;
    f->store = s;
    f->host = fn;
    f->user = user;
    if (wasm__store_track(s, 0, f)) {
        free(owned);
        free(f);
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for host function");
    }
    *out = f;
    return AO_OK;
}

wasm_instance *wasm_ctx_instance(wasm_call_ctx *ctx) { return ctx->inst; }
wasm_store *wasm_ctx_store(wasm_call_ctx *ctx) { return ctx->s; }

int wasm_ctx_trap(wasm_call_ctx *ctx, int64_t host_code, const char *fmt, ...)
{
    if (ctx->trap) {
        ctx->trap->code = WASM_TRAP_HOST;
        ctx->trap->host_code = host_code;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(ctx->trap->msg, sizeof ctx->trap->msg, fmt, ap);
        va_end(ap);
    }
    return WASM_TRAP_HOST;
}

void wasm_func_type(const wasm_func *f, wasm_functype *out) { *out = *f->type; }

/* The global of a one-instruction accessor (see wasm.h), or NULL. */
static wasm_global *func_accessor(const wasm_func *f, bool setter)
{
    if (!f || f->host || !f->inst || !f->fn)
        return NULL;
    const wasm_module *m = f->inst->m;
    uint32_t fi = f->fn->funcidx;
    if (fi < m->nfuncs_imported)
        return NULL;
    const wasm_code *c = &m->code[fi - m->nfuncs_imported];
    const wasm_functype *ft = f->type;
    const uint8_t *p = c->body, *end = c->body + c->body_len;
    if (c->nlocals || end - p < 3)
        return NULL;
    if (setter) {
        if (ft->nparams != 1 || ft->nresults != 0 || end - p < 5 || p[0] != 0x20 || p[1] != 0x00 ||
            p[2] != 0x24)
            return NULL;
        p += 3;
    } else {
        if (ft->nparams != 0 || ft->nresults != 1 || *p != 0x23)
            return NULL;
        p++;
    }
    uint32_t gi = wasm_ru_u32(&p);    /* a validated body: the LEB is well formed */
    if (p + 1 != end || *p != 0x0b || gi >= m->nglobals)
        return NULL;
    wasm_global *g = f->inst->globals[gi];
    uint8_t t = setter ? ft->params[0] : ft->results[0];
    return g && g->type == t && (!setter || g->mut) ? g : NULL;
}

wasm_global *wasm_func_global_getter(const wasm_func *f) { return func_accessor(f, false); }
wasm_global *wasm_func_global_setter(const wasm_func *f) { return func_accessor(f, true); }

/* ---- memories ---- */

/* Address space reserved up front; beyond it a grow remaps (and may move). */
#define WASM_RESERVE_PAGES 65536ull
/* A 32-bit memory reserves 8 GiB and a page whatever its maximum: any i32
 * address plus any offset falls inside, and everything beyond the size is
 * PROT_NONE, so compiled code needs no bounds checks (its fault is the
 * out-of-bounds trap, aot.c); only address space, never committed. */
#define WASM_GUARD_RESERVE ((8ull << 30) + WASM_PAGE)

int wasm__memory_create(wasm_store *s, const wasm_limits *lim, wasm_memory **out, ao_error *err)
{
    *out = NULL;
    uint64_t cap = lim->is64 ? WASM_MAX_PAGES64 : WASM_MAX_PAGES32;
    if (lim->min > cap || (lim->has_max && (lim->max > cap || lim->max < lim->min)))
        return ao_err_set(err, AO_EINVAL, "wasm: memory limits out of range");
    uint64_t maxp = lim->has_max ? lim->max : cap;
    if (s->max_pages < maxp)
        maxp = s->max_pages;
    if (lim->min > maxp)
        return ao_err_set(err, AO_ELIMIT, "wasm: memory of %llu pages exceeds the store limit",
                          (unsigned long long)lim->min);
    wasm_memory *mem = calloc(1, sizeof *mem);
    if (!mem)
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
    mem->store = s;
    mem->lim = *lim;
    mem->max_pages = maxp;
    uint64_t resv = maxp < WASM_RESERVE_PAGES ? maxp : WASM_RESERVE_PAGES;
    if (resv < lim->min)
        resv = lim->min;
    if (resv == 0)
        resv = 1;
    if (resv > (SIZE_MAX / WASM_PAGE)) {
        free(mem);
        return ao_err_set(err, AO_ELIMIT, "wasm: memory too large");
    }
    mem->reserved = (size_t)(resv * WASM_PAGE);
    void *p = MAP_FAILED;
    if (!lim->is64 && mem->reserved < WASM_GUARD_RESERVE) {
        /* the guard region; when the address space runs out (~16,000 such
         * memories in 128 TiB), the memory's own size as before: it then
         * stays on the interpreter (aot.c refuses a memory without it) */
        p = mmap(NULL, (size_t)WASM_GUARD_RESERVE, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED)
            mem->reserved = (size_t)WASM_GUARD_RESERVE;
    }
    if (p == MAP_FAILED)
        p = mmap(NULL, mem->reserved, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED) {
        free(mem);
        return ao_err_set(err, AO_ENOMEM, "wasm: cannot reserve memory");
    }
    mem->data = p;
    if (lim->min && mprotect(p, (size_t)(lim->min * WASM_PAGE), PROT_READ | PROT_WRITE) != 0) {
        munmap(p, mem->reserved);
        free(mem);
        return ao_err_set(err, AO_ENOMEM, "wasm: cannot commit %llu pages",
                          (unsigned long long)lim->min);
    }
    mem->pages = lim->min;
    mem->size = lim->min * WASM_PAGE;
    if (wasm__store_track(s, 2, mem)) {
        memory_destroy(mem);
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
    }
    *out = mem;
    return AO_OK;
}

int wasm_memory_new(wasm_store *s, const wasm_limits *lim, wasm_memory **out, ao_error *err)
{
    return wasm__memory_create(s, lim, out, err);
}

/* The caller may write through the pointer: outside a transaction such
 * writes must fault to be tracked, so pages left writable are protected. */
uint8_t *wasm_memory_data(wasm_memory *mem)
{
    if (mem->hot && !mem->txn)
        wasm__track_cool(mem);
    return mem->data;
}

const uint8_t *wasm_memory_view(const wasm_memory *mem) { return mem->data; }
uint64_t wasm_memory_size(const wasm_memory *mem) { return mem->size; }
uint64_t wasm_memory_pages(const wasm_memory *mem) { return mem->pages; }

int64_t wasm_memory_grow(wasm_memory *mem, uint64_t delta)
{
    uint64_t old = mem->pages;
    if (delta == 0)
        return (int64_t)old;
    if (delta > mem->max_pages - old)
        return -1;
    uint64_t np = old + delta;
    if (np > SIZE_MAX / WASM_PAGE)
        return -1;
    size_t nbytes = (size_t)(np * WASM_PAGE);
    if (nbytes > mem->reserved) {
        size_t nres = mem->reserved;
        while (nres < nbytes)
            nres = nres > SIZE_MAX / 2 ? nbytes : nres * 2;
        if (np <= mem->max_pages && nres > mem->max_pages * WASM_PAGE)
            nres = (size_t)(mem->max_pages * WASM_PAGE);
        /* mremap needs one mapping: make the whole reservation accessible
         * first (untouched pages cost nothing; bounds are checked anyway);
         * so write tracking stops and the next delta carries every page */
        wasm__track_stop(mem);
        if (mem->reserved > mem->size &&
            mprotect(mem->data + mem->size, mem->reserved - (size_t)mem->size,
                     PROT_READ | PROT_WRITE) != 0)
            return -1;
        void *p = mremap(mem->data, mem->reserved, nres, MREMAP_MAYMOVE);
        if (p == MAP_FAILED)
            return -1;
        mem->data = p;
        mem->reserved = nres;
    }
    /* a tracked memory's new pages are protected too: only written ones
     * go into the next delta */
    if (mprotect(mem->data + mem->size, nbytes - (size_t)mem->size,
                 mem->tracking ? PROT_READ : PROT_READ | PROT_WRITE) != 0)
        return -1;
    mem->pages = np;
    mem->size = nbytes;
    mem->store->mem_epoch++;
    wasm__track_moved(mem);
    return (int64_t)old;
}

/* ---- tables ---- */

int wasm__table_create(wasm_store *s, uint8_t elem, const wasm_limits *lim, wasm_table **out,
                       ao_error *err)
{
    *out = NULL;
    if (elem != WASM_FUNCREF && elem != WASM_EXTERNREF)
        return ao_err_set(err, AO_EINVAL, "wasm: table element type must be a reference type");
    if (lim->has_max && lim->max < lim->min)
        return ao_err_set(err, AO_EINVAL, "wasm: table limits: max below min");
    if (lim->min > WASM_MAX_TABLE_ELEMS)
        return ao_err_set(err, AO_ELIMIT, "wasm: table of %llu elements exceeds the engine limit",
                          (unsigned long long)lim->min);
    wasm_table *t = calloc(1, sizeof *t);
    if (!t)
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
    t->elem = elem;
    t->lim = *lim;
    t->size = lim->min;
    t->cap = lim->min;
    if (t->cap) {
        t->elems = calloc((size_t)t->cap, sizeof(void *));
        if (!t->elems) {
            free(t);
            return ao_err_set(err, AO_ENOMEM, "wasm: out of memory for table");
        }
    }
    if (wasm__store_track(s, 1, t)) {
        free(t->elems);
        free(t);
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
    }
    *out = t;
    return AO_OK;
}

int wasm_table_new(wasm_store *s, uint8_t elem, const wasm_limits *lim, wasm_table **out,
                   ao_error *err)
{
    return wasm__table_create(s, elem, lim, out, err);
}

int64_t wasm__table_grow(wasm_table *t, uint64_t delta, void *init)
{
    uint64_t old = t->size;
    uint64_t maxe = t->lim.has_max ? t->lim.max : (t->lim.is64 ? UINT64_MAX : UINT32_MAX);
    if (maxe > WASM_MAX_TABLE_ELEMS)
        maxe = WASM_MAX_TABLE_ELEMS;
    if (delta > maxe - old)
        return -1;
    uint64_t ns = old + delta;
    if (ns > t->cap) {
        uint64_t nc = t->cap * 2 > ns ? t->cap * 2 : ns;
        if (nc > maxe)
            nc = ns;
        void **n = realloc(t->elems, (size_t)nc * sizeof(void *));
        if (!n)
            return -1;
        t->elems = n;
        t->cap = nc;
    }
    for (uint64_t i = old; i < ns; i++)
        t->elems[i] = init;
    t->size = ns;
    t->epoch++;
    return (int64_t)old;
}

uint64_t wasm_table_size(const wasm_table *t) { return t->size; }

int wasm_table_get(const wasm_table *t, uint64_t i, wasm_val *out)
{
    if (i >= t->size)
        return AO_EINVAL;
    out->type = t->elem;
    out->of.i64 = 0;
    if (t->elem == WASM_FUNCREF)
        out->of.func = t->elems[i];
    else
        out->of.ext = t->elems[i];
    return AO_OK;
}

int wasm_table_set(wasm_table *t, uint64_t i, const wasm_val *v)
{
    if (i >= t->size || v->type != t->elem)
        return AO_EINVAL;
    t->elems[i] = t->elem == WASM_FUNCREF ? (void *)v->of.func : v->of.ext;
    t->epoch++;
    return AO_OK;
}

/* ---- globals ---- */

static bool valtype_ok(uint8_t t)
{
    return t == WASM_I32 || t == WASM_I64 || t == WASM_F32 || t == WASM_F64 ||
           t == WASM_FUNCREF || t == WASM_EXTERNREF;
}

int wasm_global_new(wasm_store *s, const wasm_val *init, bool mut, wasm_global **out,
                    ao_error *err)
{
    *out = NULL;
    if (!valtype_ok(init->type))
        return ao_err_set(err, AO_EINVAL, "wasm: bad global type 0x%02x", init->type);
    wasm_global *g = calloc(1, sizeof *g);
    if (!g)
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
    g->type = init->type;
    g->mut = mut;
    switch (g->type) {
    case WASM_I32: case WASM_F32: g->v = init->of.i32; break;
    case WASM_I64: case WASM_F64: g->v = init->of.i64; break;
    case WASM_FUNCREF: g->v = (uint64_t)(uintptr_t)init->of.func; break;
    default: g->v = (uint64_t)(uintptr_t)init->of.ext; break;
    }
    if (wasm__store_track(s, 3, g)) {
        free(g);
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
    }
    *out = g;
    return AO_OK;
}

void wasm_global_get(const wasm_global *g, wasm_val *out)
{
    memset(out, 0, sizeof *out);
    out->type = g->type;
    switch (g->type) {
    case WASM_I32: case WASM_F32: out->of.i32 = (uint32_t)g->v; break;
    case WASM_I64: case WASM_F64: out->of.i64 = g->v; break;
    case WASM_FUNCREF: out->of.func = (wasm_func *)(uintptr_t)g->v; break;
    default: out->of.ext = (void *)(uintptr_t)g->v; break;
    }
}

int wasm_global_set(wasm_global *g, const wasm_val *v)
{
    if (!g->mut || v->type != g->type)
        return AO_EINVAL;
    switch (g->type) {
    case WASM_I32: case WASM_F32: g->v = v->of.i32; break;
    case WASM_I64: case WASM_F64: g->v = v->of.i64; break;
    case WASM_FUNCREF: g->v = (uint64_t)(uintptr_t)v->of.func; break;
    default: g->v = (uint64_t)(uintptr_t)v->of.ext; break;
    }
    return AO_OK;
}
