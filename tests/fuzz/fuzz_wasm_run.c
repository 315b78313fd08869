/*
 * fuzz_wasm_run.c - fuzz target for the whole engine path: decode,
 * validate, instantiate (every import satisfied by a host object of the
 * right type: host functions returning zeros or trapping, tables, memories
 * and globals made to match), then call every exported function (with
 * arguments of the right types: zeros, edge values and random bits chosen
 * from the input) under a small gas limit, a memory limit and
 * a call-depth limit; then a snapshot of the instance restored into a
 * fresh instance must snapshot to the same bytes. Nothing may crash or
 * leak, whatever the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "wasm/wasm.h"

#define FUZZ_GAS 200000
#define FUZZ_MAX_PAGES 256        /* 16 MiB per memory */
#define FUZZ_MAX_TABLE 100000
#define FUZZ_MAX_DEPTH 400
#define FUZZ_MAX_CALLS 64

typedef struct fuzz_import {
    wasm_import_desc d;
    int trap;   /* host function raises a trap instead of returning */
} fuzz_import;

static void fuzz_zero(uint8_t type, wasm_val *v)
{
    memset(v, 0, sizeof *v);
    v->type = type;
}

static int fuzz_host(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results)
{
    (void)args;
    fuzz_import *imp = user;
    if (imp->trap)
        return wasm_ctx_trap(ctx, 7, "host trap from %s.%s", imp->d.module, imp->d.name);
    for (uint32_t i = 0; i < imp->d.type.func.nresults; i++)
        fuzz_zero(imp->d.type.func.results[i], &results[i]);
    return 0;
}

/* Creates a host object matching import d; false if it cannot or should
 * not (too big for the fuzzer's limits). */
static bool fuzz_make_import(wasm_store *s, fuzz_import *imp, wasm_extern *ext)
{
    const wasm_externtype *t = &imp->d.type;
    memset(ext, 0, sizeof *ext);
    ext->kind = t->kind;
    switch (t->kind) {
    case WASM_EXTERN_FUNC:
        return wasm_func_new_host(s, &t->func, fuzz_host, imp, &ext->of.func, NULL) == AO_OK;
    case WASM_EXTERN_TABLE:
        if (t->table.limits.min > FUZZ_MAX_TABLE) return false;
        return wasm_table_new(s, t->table.elem, &t->table.limits, &ext->of.table, NULL) == AO_OK;
    case WASM_EXTERN_MEMORY:
        if (t->memory.min > FUZZ_MAX_PAGES) return false;
        return wasm_memory_new(s, &t->memory, &ext->of.memory, NULL) == AO_OK;
    case WASM_EXTERN_GLOBAL: {
        wasm_val v;
        fuzz_zero(t->global.type, &v);
        return wasm_global_new(s, &v, t->global.mut, &ext->of.global, NULL) == AO_OK;
    }
    }
    return false;
}

/* Argument values: zero, or edge values and random bits chosen by a
 * generator seeded from the input, so that a mutation can also steer them. */
static uint64_t fuzz_next(uint64_t *st)
{
    *st = *st * 6364136223846793005ull + 1442695040888963407ull;
    return *st >> 11 ^ *st << 23;
}

static void fuzz_arg(uint8_t type, uint64_t *st, wasm_val *v)
{
    static const uint64_t edge[] = { 0, 1, ~0ull, 0x80000000ull, 0x7fffffffull,
                                     0x8000000000000000ull, 0xffffffffull, 0x10000ull,
                                     0x7fc00000ull, 0x7ff8000000000000ull, 0x3f800000ull,
                                     0x3ff0000000000000ull };
    fuzz_zero(type, v);
    uint64_t r = fuzz_next(st), x;
    switch (r % 4) {
    case 0: x = 0; break;
    case 1: x = fuzz_next(st); break;
    default: x = edge[(r >> 8) % (sizeof edge / sizeof edge[0])]; break;
    }
    if (type == WASM_I32 || type == WASM_F32) v->of.i32 = (uint32_t)x;
    else if (type == WASM_I64 || type == WASM_F64) v->of.i64 = x;
}

static void fuzz_call_exports(wasm_store *s, const wasm_module *m, wasm_instance *inst,
                              uint64_t seed)
{
    size_t ne = wasm_module_export_count(m), calls = 0;
    for (size_t i = 0; i < ne && calls < FUZZ_MAX_CALLS; i++) {
        wasm_export_desc d;
        memset(&d, 0, sizeof d);
        wasm_module_export(m, i, &d);
        if (d.type.kind != WASM_EXTERN_FUNC || !d.name) continue;
        wasm_extern ext;
        if (wasm_instance_export(inst, d.name, &ext) != AO_OK || ext.kind != WASM_EXTERN_FUNC)
            continue;
        wasm_functype ft;
        wasm_func_type(ext.of.func, &ft);
        wasm_val *args = calloc(ft.nparams + 1, sizeof *args);
        wasm_val *res = calloc(ft.nresults + 1, sizeof *res);
        if (args && res) {
            for (uint32_t k = 0; k < ft.nparams; k++)
                fuzz_arg(ft.params[k], &seed, &args[k]);
            wasm_trap trap;
            wasm_store_set_gas_used(s, 0);
            wasm_store_set_gas_limit(s, FUZZ_GAS);
            (void)wasm_func_call(s, ext.of.func, args, ft.nparams, res, ft.nresults, &trap, NULL);
            calls++;
        }
        free(args);
        free(res);
    }
}

/* Instantiates m in s with host objects for its imports; NULL if it
 * cannot (link error, trap, or imports too big for the limits). */
static wasm_instance *fuzz_instantiate(wasm_store *s, const wasm_module *m, fuzz_import *imps,
                                       wasm_extern *exts, size_t ni)
{
    wasm_store_set_max_memory_pages(s, FUZZ_MAX_PAGES);
    wasm_store_set_max_call_depth(s, FUZZ_MAX_DEPTH);
    wasm_store_set_gas_limit(s, FUZZ_GAS);
    for (size_t i = 0; i < ni; i++)
        if (!fuzz_make_import(s, &imps[i], &exts[i]))
            return NULL;
    wasm_instance *inst = NULL;
    wasm_trap trap;
    if (wasm_instantiate(s, m, exts, ni, &inst, &trap, NULL) != AO_OK)
        return NULL;
    return inst;
}

/* Snapshot of inst restored into a fresh instance of the same module (in
 * another store) must snapshot to the same bytes. */
static void fuzz_snapshot_roundtrip(const wasm_module *m, wasm_instance *inst,
                                    fuzz_import *imps, size_t ni)
{
    ao_buf a, b;
    ao_buf_init(&a);
    ao_buf_init(&b);
    wasm_store *s2 = NULL;
    wasm_extern *exts2 = calloc(ni + 1, sizeof *exts2);
    if (!exts2 || wasm_instance_snapshot(inst, &a, NULL) != AO_OK || wasm_store_new(&s2, NULL) != AO_OK)
        goto out;
    wasm_instance *inst2 = fuzz_instantiate(s2, m, imps, exts2, ni);
    if (!inst2) goto out;
    if (wasm_instance_restore(inst2, a.data, a.len, NULL) != AO_OK) {
        /* a snapshot of this very module must restore */
        __builtin_trap();
    }
    if (wasm_instance_snapshot(inst2, &b, NULL) != AO_OK || a.len != b.len ||
        memcmp(a.data, b.data, a.len) != 0)
        __builtin_trap();
out:
    if (s2) wasm_store_free(s2);
    free(exts2);
    ao_buf_free(&a);
    ao_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wasm_module *m = NULL;
    if (wasm_module_new(data, size, &m, NULL) != AO_OK)
        return 0;
    wasm_store *s = NULL;
    size_t ni = wasm_module_import_count(m);
    fuzz_import *imps = calloc(ni + 1, sizeof *imps);
    wasm_extern *exts = calloc(ni + 1, sizeof *exts);
    if (!imps || !exts || wasm_store_new(&s, NULL) != AO_OK)
        goto out;
    for (size_t i = 0; i < ni; i++) {
        wasm_module_import(m, i, &imps[i].d);
        imps[i].trap = (size > 8 && (data[size - 1] >> (i % 8)) & 1);
    }
    wasm_instance *inst = fuzz_instantiate(s, m, imps, exts, ni);
    if (inst) {
        uint64_t seed = 14695981039346656037ull;
        for (size_t i = 0; i < size; i++)
            seed = (seed ^ data[i]) * 1099511628211ull;
        fuzz_call_exports(s, m, inst, seed);
        fuzz_snapshot_roundtrip(m, inst, imps, ni);
    }
out:
    if (s) wasm_store_free(s);
    free(imps);
    free(exts);
    wasm_module_free(m);
    return 0;
}
