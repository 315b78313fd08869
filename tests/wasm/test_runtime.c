/* test_runtime.c - the engine's back-end through the public API: exact gas
 * counts, memory limits, call-stack exhaustion, host functions (re-entry,
 * traps through them), determinism, table/global/memory host objects and
 * import matching. Modules are assembled by hand with a tiny builder. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/wasm.h"
#include "wasm_bytes.h"

/* ---- a tiny module builder ---- */

typedef struct tmod {
    wb types, imports, funcs, tables, mems, globals, exports, elems, code, datas;
    uint32_t ntypes, nimports, nfuncs, ntables, nmems, nglobals, nexports, nelems, ndatas;
} tmod;

static uint8_t vt(char c)
{
    return c == 'i' ? 0x7f : c == 'I' ? 0x7e : c == 'f' ? 0x7d : 0x7c;
}

/* params/results as strings of i (i32), I (i64), f (f32), F (f64). */
static uint32_t tm_type(tmod *m, const char *params, const char *results)
{
    wb_byte(&m->types, 0x60);
    wb_uleb(&m->types, strlen(params));
    for (const char *p = params; *p; p++)
        wb_byte(&m->types, vt(*p));
    wb_uleb(&m->types, strlen(results));
    for (const char *p = results; *p; p++)
        wb_byte(&m->types, vt(*p));
    return m->ntypes++;
}

static uint32_t tm_import_func(tmod *m, const char *mod, const char *nm, uint32_t type)
{
    wb_name(&m->imports, mod);
    wb_name(&m->imports, nm);
    wb_byte(&m->imports, 0x00);
    wb_uleb(&m->imports, type);
    m->nimports++;
    return m->nimports - 1;   /* only function imports are used here */
}

static void tm_export(tmod *m, const char *nm, uint8_t kind, uint32_t idx)
{
    wb_name(&m->exports, nm);
    wb_byte(&m->exports, kind);
    wb_uleb(&m->exports, idx);
    m->nexports++;
}

/* A function: locals as a string of types, body without the final end. */
static uint32_t tm_func(tmod *m, uint32_t type, const char *locals, const uint8_t *body,
                        size_t len, const char *export_name)
{
    wb_uleb(&m->funcs, type);
    wb f = {.n = 0};
    wb_uleb(&f, strlen(locals));
    for (const char *p = locals; *p; p++) {
        wb_byte(&f, 1);
        wb_byte(&f, vt(*p));
    }
    wb_put(&f, body, len);
    wb_byte(&f, 0x0b);
    wb_uleb(&m->code, f.n);
    wb_put(&m->code, f.b, f.n);
    uint32_t idx = m->nimports + m->nfuncs++;
    if (export_name)
        tm_export(m, export_name, 0, idx);
    return idx;
}

static void tm_memory(tmod *m, uint32_t min, int64_t max, const char *export_name)
{
    wb_byte(&m->mems, max < 0 ? 0 : 1);
    wb_uleb(&m->mems, min);
    if (max >= 0)
        wb_uleb(&m->mems, (uint64_t)max);
    if (export_name)
        tm_export(m, export_name, 2, m->nmems);
    m->nmems++;
}

static void tm_global_i32(tmod *m, bool mut, int32_t init)
{
    wb_byte(&m->globals, 0x7f);
    wb_byte(&m->globals, mut ? 1 : 0);
    wb_byte(&m->globals, 0x41);
    wb_uleb(&m->globals, (uint32_t)init & 0x3f);   /* small non-negative inits only */
    wb_byte(&m->globals, 0x0b);
    m->nglobals++;
}

static void tm_table(tmod *m, uint32_t min)
{
    wb_byte(&m->tables, 0x70);
    wb_byte(&m->tables, 0x00);
    wb_uleb(&m->tables, min);
    m->ntables++;
}

/* Active element segment for table 0 at a constant offset. */
static void tm_elem(tmod *m, uint32_t offset, const uint32_t *funcs, uint32_t n)
{
    wb_byte(&m->elems, 0x00);
    wb_byte(&m->elems, 0x41);
    wb_uleb(&m->elems, offset);
    wb_byte(&m->elems, 0x0b);
    wb_uleb(&m->elems, n);
    for (uint32_t i = 0; i < n; i++)
        wb_uleb(&m->elems, funcs[i]);
    m->nelems++;
}

static void tm_passive_data(tmod *m, const char *bytes)
{
    wb_byte(&m->datas, 0x01);
    wb_name(&m->datas, bytes);
    m->ndatas++;
}

/* A vector section: its element count, then the elements. */
static void section(wb *out, uint8_t id, uint32_t count, const wb *content)
{
    if (!count)
        return;
    wb s = {.n = 0};
    wb_uleb(&s, count);
    wb_put(&s, content->b, content->n);
    wb_section(out, id, &s);
}

static wasm_module *tm_build(tmod *m)
{
    static wb out;
    out.n = 0;
    wb_put(&out, "\0asm\1\0\0\0", 8);
    section(&out, 1, m->ntypes, &m->types);
    section(&out, 2, m->nimports, &m->imports);
    section(&out, 3, m->nfuncs, &m->funcs);
    section(&out, 4, m->ntables, &m->tables);
    section(&out, 5, m->nmems, &m->mems);
    section(&out, 6, m->nglobals, &m->globals);
    section(&out, 7, m->nexports, &m->exports);
    section(&out, 9, m->nelems, &m->elems);
    if (m->ndatas) {
        wb_byte(&out, 12);
        wb_byte(&out, 1);
        wb_byte(&out, (uint8_t)m->ndatas);
    }
    section(&out, 10, m->nfuncs, &m->code);
    section(&out, 11, m->ndatas, &m->datas);
    wasm_module *mod = NULL;
    ao_error err = {0};
    int rc = wasm_module_new(out.b, out.n, &mod, &err);
    if (rc)
        fprintf(stderr, "module: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    return mod;
}

static wasm_func *export_func(wasm_instance *inst, const char *nm)
{
    wasm_extern ex;
    assert_int_equal(wasm_instance_export(inst, nm, &ex), AO_OK);
    assert_int_equal(ex.kind, WASM_EXTERN_FUNC);
    return ex.of.func;
}

static wasm_val i32v(uint32_t v)
{
    wasm_val x;
    memset(&x, 0, sizeof x);
    x.type = WASM_I32;
    x.of.i32 = v;
    return x;
}

/* Call f(arg) -> i32; returns the AO code, result in *out. */
static int call1(wasm_store *s, wasm_func *f, uint32_t arg, uint32_t *out, wasm_trap *trap)
{
    wasm_val a = i32v(arg), r;
    memset(&r, 0, sizeof r);
    int rc = wasm_func_call(s, f, &a, 1, &r, 1, trap, NULL);
    if (rc == AO_OK)
        *out = r.of.i32;
    return rc;
}

/* ---- gas ---- */

/* count(n): a loop running n times; returns n. Weighting (docs/wasm.md):
 * block, loop, else and end weigh 0, every other instruction 1, so
 * gas(count(n)) = 12 n + 4. */
static const uint8_t COUNT_BODY[] = {
    0x02, 0x40,             /* block */
    0x03, 0x40,             /*   loop */
    0x20, 0x00, 0x45,       /*     local.get 0, i32.eqz */
    0x0d, 0x01,             /*     br_if 1 */
    0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00,   /* n = n - 1 */
    0x20, 0x01, 0x41, 0x01, 0x6a, 0x21, 0x01,   /* c = c + 1 */
    0x0c, 0x00,             /*     br 0 */
    0x0b, 0x0b,             /*   end end */
    0x20, 0x01,             /* local.get 1 */
};

static wasm_module *count_module(void)
{
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    tm_func(&m, t, "i", COUNT_BODY, sizeof COUNT_BODY, "count");
    return tm_build(&m);
}

static void gas_exact_counts(void **state)
{
    (void)state;
    wasm_module *mod = count_module();
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    wasm_func *f = export_func(inst, "count");
    uint32_t r = 0;
    static const uint32_t ns[] = {0, 1, 10, 1000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        wasm_store_set_gas_used(s, 0);
        assert_int_equal(call1(s, f, ns[i], &r, NULL), AO_OK);
        assert_int_equal(r, ns[i]);
        assert_int_equal(wasm_store_gas_used(s), 12ull * ns[i] + 4);
    }
    /* gas accumulates across calls */
    wasm_store_set_gas_used(s, 0);
    assert_int_equal(call1(s, f, 10, &r, NULL), AO_OK);
    assert_int_equal(call1(s, f, 10, &r, NULL), AO_OK);
    assert_int_equal(wasm_store_gas_used(s), 2 * 124);
    wasm_store_free(s);
    wasm_module_free(mod);
}

/* Forward branches (br_table, if/else, return): each path's gas is the
 * number of its instructions other than block/loop/else/end. */
static const uint8_t SEL_BODY[] = {
    0x02, 0x40, 0x02, 0x40, 0x02, 0x40,         /* block block block */
    0x20, 0x00, 0x0e, 0x02, 0x00, 0x01, 0x02,   /*   local.get 0, br_table 0 1 2 */
    0x0b, 0x41, 0x0a, 0x0f,                     /* end; 10; return */
    0x0b, 0x20, 0x00, 0x41, 0x01, 0x6b,         /* end; x - 1 */
    0x04, 0x7f, 0x41, 0x14, 0x05, 0x41, 0x1e, 0x0b, /* if 20 else 30 end */
    0x0f,                                       /* return */
    0x0b, 0x20, 0x00, 0x41, 0xe4, 0x00, 0x6a,   /* end; x + 100 */
};

static void gas_forward_branches(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    tm_func(&m, t, "", SEL_BODY, sizeof SEL_BODY, "sel");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    wasm_func *f = export_func(inst, "sel");
    static const struct { uint32_t x, r; uint64_t gas; } cases[] = {
        {0, 10, 4}, {1, 30, 8}, {2, 102, 5}, {7, 107, 5},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t r = 0;
        wasm_store_set_gas_used(s, 0);
        assert_int_equal(call1(s, f, cases[i].x, &r, NULL), AO_OK);
        assert_int_equal(r, cases[i].r);
        assert_int_equal(wasm_store_gas_used(s), cases[i].gas);
    }
    wasm_store_free(s);
    wasm_module_free(mod);
}

/* A loop whose back-edge is in its first run, and two block ends at the
 * same place both reached by branches. */
static const uint8_t TIGHT_BODY[] = {
    0x03, 0x40, 0x20, 0x00, 0x41, 0x01, 0x6b, 0x22, 0x00,   /* loop; n = n - 1 (tee) */
    0x0d, 0x00, 0x0b, 0x20, 0x00,                           /* br_if 0; end; n */
};
static const uint8_t TWOEND_BODY[] = {
    0x02, 0x40, 0x02, 0x40, 0x20, 0x00, 0x0d, 0x00,         /* block block; br_if 0 */
    0x0c, 0x01, 0x0b, 0x0b, 0x41, 0x05,                     /* br 1; end end; 5 */
};

/* Block ends reached both by falling through and by a branch, with code
 * after them. */
static const uint8_t SOFT1_BODY[] = {
    0x02, 0x40, 0x20, 0x00, 0x0d, 0x00,     /* block; local.get 0; br_if 0 */
    0x41, 0x01, 0x1a, 0x0b,                 /* i32.const 1; drop; end */
    0x41, 0x07, 0x20, 0x00, 0x6a,           /* 7 + x */
};
static const uint8_t SOFT2_BODY[] = {
    0x20, 0x00, 0x04, 0x40,                 /* local.get 0; if */
    0x41, 0x01, 0x1a, 0x0b,                 /* i32.const 1; drop; end */
    0x41, 0x03,                             /* 3 */
};

static void gas_fallthrough_labels(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    tm_func(&m, t, "", SOFT1_BODY, sizeof SOFT1_BODY, "soft1");
    tm_func(&m, t, "", SOFT2_BODY, sizeof SOFT2_BODY, "soft2");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    static const struct { const char *f; uint32_t x, r; uint64_t gas; } cases[] = {
        {"soft1", 5, 12, 5}, {"soft1", 0, 7, 7}, {"soft2", 1, 3, 5}, {"soft2", 0, 3, 3},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t r = 0;
        wasm_store_set_gas_used(s, 0);
        assert_int_equal(call1(s, export_func(inst, cases[i].f), cases[i].x, &r, NULL), AO_OK);
        assert_int_equal(r, cases[i].r);
        assert_int_equal(wasm_store_gas_used(s), cases[i].gas);
    }
    wasm_store_free(s);
    wasm_module_free(mod);
}

static void gas_loops_and_shared_labels(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    tm_func(&m, t, "", TIGHT_BODY, sizeof TIGHT_BODY, "tight");
    tm_func(&m, t, "", TWOEND_BODY, sizeof TWOEND_BODY, "twoend");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    uint32_t r = 0;
    static const uint32_t ns[] = {1, 2, 100};
    for (size_t i = 0; i < 3; i++) {
        wasm_store_set_gas_used(s, 0);
        assert_int_equal(call1(s, export_func(inst, "tight"), ns[i], &r, NULL), AO_OK);
        assert_int_equal(r, 0);
        assert_int_equal(wasm_store_gas_used(s), 5ull * ns[i] + 1);
    }
    wasm_store_set_gas_used(s, 0);
    assert_int_equal(call1(s, export_func(inst, "twoend"), 1, &r, NULL), AO_OK);
    assert_int_equal(r, 5);
    assert_int_equal(wasm_store_gas_used(s), 3);
    wasm_store_set_gas_used(s, 0);
    assert_int_equal(call1(s, export_func(inst, "twoend"), 0, &r, NULL), AO_OK);
    assert_int_equal(wasm_store_gas_used(s), 4);
    wasm_store_free(s);
    wasm_module_free(mod);
}

/* memory.fill weighs 1 + n / 64 */
static void gas_bulk_memory(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    tm_memory(&m, 1, 1, NULL);
    static const uint8_t fill[] = {
        0x41, 0x00, 0x41, 0x07, 0x20, 0x00, 0xfc, 0x0b, 0x00,   /* memory.fill 0, 7, n */
        0x41, 0x00,                                             /* 0 */
    };
    tm_func(&m, t, "", fill, sizeof fill, "fill");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    wasm_func *f = export_func(inst, "fill");
    static const struct { uint32_t n; uint64_t gas; } cases[] = {
        {0, 5}, {63, 5}, {64, 6}, {6400, 105}, {65536, 5 + 1024},
    };
    uint32_t r = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        wasm_store_set_gas_used(s, 0);
        assert_int_equal(call1(s, f, cases[i].n, &r, NULL), AO_OK);
        assert_int_equal(wasm_store_gas_used(s), cases[i].gas);
    }
    assert_int_equal(wasm_memory_data(wasm_instance_memory(inst, 0))[65535], 7);
    /* out of bounds: trapped before the size is charged */
    wasm_trap trap;
    wasm_store_set_gas_used(s, 0);
    assert_int_equal(call1(s, f, 65537, &r, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_MEMORY_OOB);
    assert_int_equal(wasm_store_gas_used(s), 5);
    /* a big fill beyond the gas limit traps as out of gas */
    wasm_store_set_gas_used(s, 0);
    wasm_store_set_gas_limit(s, 500);
    assert_int_equal(call1(s, f, 65536, &r, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_OUT_OF_GAS);
    wasm_store_free(s);
    wasm_module_free(mod);
}

static void gas_limit_traps(void **state)
{
    (void)state;
    wasm_module *mod = count_module();
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    wasm_func *f = export_func(inst, "count");
    uint32_t r = 0;
    /* exactly enough */
    wasm_store_set_gas_limit(s, 124);
    assert_int_equal(call1(s, f, 10, &r, NULL), AO_OK);
    assert_int_equal(wasm_store_gas_used(s), 124);
    /* one short: traps, deterministically at the same point */
    wasm_trap trap;
    uint64_t used[2];
    for (int k = 0; k < 2; k++) {
        wasm_store_set_gas_used(s, 0);
        wasm_store_set_gas_limit(s, 123);
        assert_int_equal(call1(s, f, 10, &r, &trap), AO_ETRAP);
        assert_int_equal(trap.code, WASM_TRAP_OUT_OF_GAS);
        assert_string_equal(trap.msg, "out of gas");
        used[k] = wasm_store_gas_used(s);
        assert_true(used[k] > 123);
    }
    assert_int_equal(used[0], used[1]);
    /* a call made with the gas already spent traps at once */
    wasm_store_set_gas_limit(s, 10);
    wasm_store_set_gas_used(s, 10);
    assert_int_equal(call1(s, f, 0, &r, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_OUT_OF_GAS);
    wasm_store_free(s);
    wasm_module_free(mod);
}

/* ---- memory limits ---- */

static void memory_grow_respects_store_limit(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    static const uint8_t grow[] = {0x20, 0x00, 0x40, 0x00};  /* memory.grow */
    static const uint8_t size[] = {0x3f, 0x00};              /* memory.size */
    tm_memory(&m, 1, -1, "mem");
    tm_func(&m, t, "", grow, sizeof grow, "grow");
    tm_func(&m, t, "", size, sizeof size, "size");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_store_set_max_memory_pages(s, 3);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    wasm_func *g = export_func(inst, "grow"), *sz = export_func(inst, "size");
    uint32_t r = 0;
    assert_int_equal(call1(s, g, 2, &r, NULL), AO_OK);
    assert_int_equal(r, 1);
    assert_int_equal(call1(s, g, 1, &r, NULL), AO_OK);
    assert_int_equal(r, 0xffffffffu);      /* -1: beyond the store limit */
    assert_int_equal(call1(s, sz, 0, &r, NULL), AO_OK);
    assert_int_equal(r, 3);
    wasm_memory *mem = wasm_instance_memory(inst, 0);
    assert_non_null(mem);
    assert_int_equal(wasm_memory_pages(mem), 3);
    assert_int_equal(wasm_memory_size(mem), 3 * 65536);
    assert_int_equal(wasm_memory_grow(mem, 1), -1);
    assert_int_equal(wasm_memory_grow(mem, 0), 3);
    /* the grown pages are usable and zero */
    uint8_t *d = wasm_memory_data(mem);
    assert_int_equal(d[3 * 65536 - 1], 0);
    d[3 * 65536 - 1] = 7;
    wasm_store_free(s);
    wasm_module_free(mod);
}

static void memory_host_object(void **state)
{
    (void)state;
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_limits lim = {.min = 1, .max = 2, .has_max = true};
    wasm_memory *mem;
    assert_int_equal(wasm_memory_new(s, &lim, &mem, NULL), AO_OK);
    assert_int_equal(wasm_memory_grow(mem, 1), 1);
    assert_int_equal(wasm_memory_grow(mem, 1), -1);    /* own maximum */
    lim.min = 3;
    ao_error err;
    assert_int_not_equal(wasm_memory_new(s, &lim, &mem, &err), AO_OK);
    /* memory64 without maximum: grows past the first reservation */
    wasm_limits l64 = {.min = 0, .is64 = true};
    assert_int_equal(wasm_memory_new(s, &l64, &mem, NULL), AO_OK);
    assert_int_equal(wasm_memory_grow(mem, 2), 0);
    wasm_memory_data(mem)[2 * 65536 - 1] = 1;
    wasm_store_free(s);
}

/* ---- call stack ---- */

/* rec(n) = n == 0 ? 0 : rec(n - 1) + 1 */
static const uint8_t REC_BODY[] = {
    0x20, 0x00, 0x45, 0x04, 0x7f,     /* local.get 0, i32.eqz, if (result i32) */
    0x41, 0x00,                       /*   i32.const 0 */
    0x05,                             /* else */
    0x20, 0x00, 0x41, 0x01, 0x6b,     /*   n - 1 */
    0x10, 0x00,                       /*   call 0 */
    0x41, 0x01, 0x6a,                 /*   + 1 */
    0x0b,                             /* end */
};

static void deep_recursion_traps(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    tm_func(&m, t, "", REC_BODY, sizeof REC_BODY, "rec");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    wasm_func *f = export_func(inst, "rec");
    uint32_t r = 0;
    wasm_trap trap;
    assert_int_equal(call1(s, f, 5000, &r, NULL), AO_OK);
    assert_int_equal(r, 5000);
    /* gas through calls: 9 per level + 4 at the bottom */
    wasm_store_set_gas_used(s, 0);
    assert_int_equal(call1(s, f, 10, &r, NULL), AO_OK);
    assert_int_equal(wasm_store_gas_used(s), 9 * 10 + 4);
    /* unbounded: a trap, not a crash */
    assert_int_equal(call1(s, f, 0xffffffffu, &r, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_STACK_EXHAUSTED);
    assert_string_equal(trap.msg, "call stack exhausted");
    /* the store is usable afterwards */
    assert_int_equal(call1(s, f, 10, &r, NULL), AO_OK);
    assert_int_equal(r, 10);
    /* an explicit depth limit */
    wasm_store_set_max_call_depth(s, 100);
    assert_int_equal(call1(s, f, 50, &r, NULL), AO_OK);
    assert_int_equal(call1(s, f, 200, &r, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_STACK_EXHAUSTED);
    wasm_store_free(s);
    wasm_module_free(mod);
}

/* ---- host functions ---- */

typedef struct hctx {
    wasm_func *inner;     /* wasm function the host calls back */
    int mode;             /* 0 re-enter, 1 trap, 2 swallow nested trap, 3 recurse */
    wasm_func *outer;
    int calls;
    bool direct;          /* called from C: no calling instance */
} hctx;

static int host_cb(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results)
{
    hctx *h = user;
    h->calls++;
    if (h->direct)
        assert_null(wasm_ctx_instance(ctx));
    else
        assert_non_null(wasm_ctx_instance(ctx));
    wasm_store *s = wasm_ctx_store(ctx);
    wasm_trap trap;
    wasm_val r;
    memset(&r, 0, sizeof r);
    switch (h->mode) {
    case 0: {
        wasm_val a = i32v(args[0].of.i32);
        int rc = wasm_func_call(s, h->inner, &a, 1, &r, 1, &trap, NULL);
        assert_int_equal(rc, AO_OK);
        results[0] = i32v(r.of.i32 + 100);
        return 0;
    }
    case 1:
        return wasm_ctx_trap(ctx, 42, "boom %d", 7);
    case 2: {
        wasm_val a = i32v(0);
        int rc = wasm_func_call(s, h->inner, &a, 1, &r, 1, &trap, NULL);
        assert_int_equal(rc, AO_ETRAP);
        assert_int_equal(trap.code, WASM_TRAP_UNREACHABLE);
        results[0] = i32v(7);
        return 0;
    }
    default: {
        wasm_val a = i32v(args[0].of.i32 + 1);
        int rc = wasm_func_call(s, h->outer, &a, 1, &r, 1, &trap, NULL);
        if (rc != AO_OK) {
            /* pass the nested trap on */
            return wasm_ctx_trap(ctx, trap.code, "%s", trap.msg);
        }
        results[0] = r;
        return 0;
    }
    }
}

static void host_functions(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    tm_import_func(&m, "env", "cb", t);
    static const uint8_t run[] = {0x20, 0x00, 0x10, 0x00, 0x41, 0x01, 0x6a};   /* cb(x) + 1 */
    static const uint8_t dbl[] = {0x20, 0x00, 0x41, 0x02, 0x6c};               /* x * 2 */
    static const uint8_t unr[] = {0x00};                                        /* unreachable */
    tm_func(&m, t, "", run, sizeof run, "run");
    tm_func(&m, t, "", dbl, sizeof dbl, "double");
    tm_func(&m, t, "", unr, sizeof unr, "unr");
    wasm_module *mod = tm_build(&m);
    assert_int_equal(wasm_module_import_count(mod), 1);

    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    hctx h = {0};
    uint8_t ip[1] = {WASM_I32}, rp[1] = {WASM_I32};
    wasm_functype ft = {1, 1, ip, rp};
    wasm_func *cb;
    assert_int_equal(wasm_func_new_host(s, &ft, host_cb, &h, &cb, NULL), AO_OK);
    wasm_extern imp = {.kind = WASM_EXTERN_FUNC, .of.func = cb};
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, &imp, 1, &inst, NULL, NULL), AO_OK);
    wasm_func *frun = export_func(inst, "run");
    h.inner = export_func(inst, "double");
    h.outer = frun;
    uint32_t r = 0;
    wasm_trap trap;

    h.mode = 0;   /* re-entry: (5 * 2 + 100) + 1 */
    assert_int_equal(call1(s, frun, 5, &r, NULL), AO_OK);
    assert_int_equal(r, 111);

    h.mode = 1;   /* host trap through wasm */
    assert_int_equal(call1(s, frun, 5, &r, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_HOST);
    assert_int_equal(trap.host_code, 42);
    assert_string_equal(trap.msg, "boom 7");

    h.mode = 2;   /* a nested trap is a value for the host */
    h.inner = export_func(inst, "unr");
    assert_int_equal(call1(s, frun, 5, &r, NULL), AO_OK);
    assert_int_equal(r, 8);

    h.mode = 3;   /* unbounded wasm -> host -> wasm recursion: a trap */
    h.calls = 0;
    assert_int_equal(call1(s, frun, 0, &r, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_HOST);
    assert_string_equal(trap.msg, "call stack exhausted");
    assert_true(h.calls > 10);

    h.mode = 0;   /* still usable */
    h.inner = export_func(inst, "double");
    assert_int_equal(call1(s, frun, 1, &r, NULL), AO_OK);
    assert_int_equal(r, 103);

    /* a host function called directly */
    h.direct = true;
    assert_int_equal(call1(s, cb, 4, &r, NULL), AO_OK);
    assert_int_equal(r, 108);

    /* wrong argument count / type */
    wasm_val bad = {.type = WASM_I64};
    wasm_val out;
    assert_int_equal(wasm_func_call(s, frun, &bad, 1, &out, 1, NULL, NULL), AO_EINVAL);
    assert_int_equal(wasm_func_call(s, frun, NULL, 0, &out, 1, NULL, NULL), AO_EINVAL);
    wasm_store_free(s);
    wasm_module_free(mod);
}

/* A host function with many parameters and results (more than fit the
 * engine's small on-stack buffers). */
static int host_many(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results)
{
    (void)ctx;
    (void)user;
    uint64_t sum = 0;
    for (int i = 0; i < 10; i++) {
        assert_int_equal(args[i].type, WASM_I64);
        sum += args[i].of.i64 * (uint64_t)(i + 1);
    }
    for (int i = 0; i < 10; i++) {
        results[i].type = WASM_I64;
        results[i].of.i64 = sum + (uint64_t)i;
    }
    return 0;
}

static void host_many_values(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t tmany = tm_type(&m, "IIIIIIIIII", "IIIIIIIIII");
    uint32_t tr = tm_type(&m, "I", "I");
    tm_import_func(&m, "env", "many", tmany);
    /* f(x) = sum of the 10 results of many(x, x+1, ..., x+9) */
    uint8_t body[128];
    size_t n = 0;
    for (int i = 0; i < 10; i++) {
        body[n++] = 0x20; body[n++] = 0x00;           /* local.get 0 */
        body[n++] = 0x42; body[n++] = (uint8_t)i;     /* i64.const i */
        body[n++] = 0x7c;                             /* i64.add */
    }
    body[n++] = 0x10; body[n++] = 0x00;               /* call many */
    for (int i = 0; i < 9; i++)
        body[n++] = 0x7c;                             /* fold with i64.add */
    tm_func(&m, tr, "", body, n, "f");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    uint8_t ten[10];
    memset(ten, WASM_I64, sizeof ten);
    wasm_functype ft = {10, 10, ten, ten};
    wasm_func *hf;
    assert_int_equal(wasm_func_new_host(s, &ft, host_many, NULL, &hf, NULL), AO_OK);
    wasm_extern imp = {.kind = WASM_EXTERN_FUNC, .of.func = hf};
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, &imp, 1, &inst, NULL, NULL), AO_OK);
    wasm_val a = {.type = WASM_I64}, r;
    a.of.i64 = 1000;
    assert_int_equal(wasm_func_call(s, export_func(inst, "f"), &a, 1, &r, 1, NULL, NULL), AO_OK);
    uint64_t sum = 0;
    for (int i = 0; i < 10; i++)
        sum += (1000u + (uint64_t)i) * (uint64_t)(i + 1);
    assert_int_equal(r.of.i64, 10 * sum + 45);
    wasm_store_free(s);
    wasm_module_free(mod);
}

static void import_matching(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    uint32_t t2 = tm_type(&m, "I", "i");
    tm_import_func(&m, "env", "cb", t);
    (void)t2;
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    uint8_t i64p[1] = {WASM_I64}, i32r[1] = {WASM_I32};
    wasm_functype ft = {1, 1, i64p, i32r};
    wasm_func *cb;
    assert_int_equal(wasm_func_new_host(s, &ft, host_cb, NULL, &cb, NULL), AO_OK);
    wasm_extern imp = {.kind = WASM_EXTERN_FUNC, .of.func = cb};
    wasm_instance *inst;
    ao_error err;
    assert_int_equal(wasm_instantiate(s, mod, &imp, 1, &inst, NULL, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "incompatible import type"));
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "unknown import"));
    wasm_global *g;
    wasm_val gv = i32v(1);
    assert_int_equal(wasm_global_new(s, &gv, false, &g, NULL), AO_OK);
    wasm_extern gimp = {.kind = WASM_EXTERN_GLOBAL, .of.global = g};
    assert_int_equal(wasm_instantiate(s, mod, &gimp, 1, &inst, NULL, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "incompatible import type"));
    wasm_store_free(s);
    wasm_module_free(mod);
}

static void globals_and_tables(void **state)
{
    (void)state;
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_global *g;
    wasm_val v = {.type = WASM_F32};
    v.of.f32 = 0x7fa00001u;   /* a signalling NaN pattern survives */
    assert_int_equal(wasm_global_new(s, &v, true, &g, NULL), AO_OK);
    wasm_val out;
    wasm_global_get(g, &out);
    assert_int_equal(out.type, WASM_F32);
    assert_int_equal(out.of.f32, 0x7fa00001u);
    wasm_val w = i32v(3);
    assert_int_equal(wasm_global_set(g, &w), AO_EINVAL);   /* wrong type */
    wasm_global *c;
    assert_int_equal(wasm_global_new(s, &w, false, &c, NULL), AO_OK);
    assert_int_equal(wasm_global_set(c, &w), AO_EINVAL);   /* immutable */

    wasm_limits lim = {.min = 2, .max = 4, .has_max = true};
    wasm_table *t;
    assert_int_equal(wasm_table_new(s, WASM_EXTERNREF, &lim, &t, NULL), AO_OK);
    assert_int_equal(wasm_table_size(t), 2);
    wasm_val e = {.type = WASM_EXTERNREF};
    e.of.ext = &lim;
    assert_int_equal(wasm_table_set(t, 1, &e), AO_OK);
    assert_int_equal(wasm_table_get(t, 1, &out), AO_OK);
    assert_ptr_equal(out.of.ext, &lim);
    assert_int_equal(wasm_table_get(t, 0, &out), AO_OK);
    assert_null(out.of.ext);
    assert_int_equal(wasm_table_get(t, 2, &out), AO_EINVAL);
    assert_int_equal(wasm_table_set(t, 2, &e), AO_EINVAL);
    wasm_store_free(s);
}

/* ---- determinism ---- */

/* fill(n): n LCG steps, each stored at (x >> 16) & 0xfffc; returns x. */
static const uint8_t FILL_BODY[] = {
    0x41, 0x01, 0x21, 0x01,                       /* x = 1 */
    0x02, 0x40, 0x03, 0x40,                       /* block loop */
    0x20, 0x00, 0x45, 0x0d, 0x01,                 /* br_if 1 (n == 0) */
    0x20, 0x01, 0x41, 0xed, 0x9c, 0x99, 0x8e, 0x04, 0x6c,  /* x * 1103515245 */
    0x41, 0xb9, 0xe0, 0x00, 0x6a, 0x21, 0x01,     /* + 12345 -> x */
    0x20, 0x01, 0x41, 0x10, 0x76,                 /* x >> 16 */
    0x41, 0xfc, 0xff, 0x03, 0x71,                 /* & 0xfffc */
    0x20, 0x01, 0x36, 0x02, 0x00,                 /* i32.store */
    0x20, 0x00, 0x41, 0x01, 0x6b, 0x21, 0x00,     /* n - 1 */
    0x0c, 0x00, 0x0b, 0x0b,                       /* br 0 end end */
    0x20, 0x01,
};

/* (module (global $sp (mut i32) (i32.const 100)) (global $k i64 (i64.const 7))
 *   (func (export "get") (result i32) (global.get $sp))
 *   (func (export "set") (param i32) (global.set $sp (local.get 0)))
 *   (func (export "getk") (result i64) (global.get $k))
 *   (func (export "get2") (result i32) (i32.add (global.get $sp) (i32.const 1)))
 *   (func (export "setc") (param i32) (global.set $sp (i32.const 5)))
 *   (func (export "getl") (result i32) (local i32) (global.get $sp))) */
static const uint8_t ACCESSORS_WASM[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x0d, 0x03, 0x60, 0x00, 0x01, 0x7f,
    0x60, 0x01, 0x7f, 0x00, 0x60, 0x00, 0x01, 0x7e, 0x03, 0x07, 0x06, 0x00, 0x01, 0x02, 0x00,
    0x01, 0x00, 0x06, 0x0c, 0x02, 0x7f, 0x01, 0x41, 0xe4, 0x00, 0x0b, 0x7e, 0x00, 0x42, 0x07,
    0x0b, 0x07, 0x29, 0x06, 0x03, 0x67, 0x65, 0x74, 0x00, 0x00, 0x03, 0x73, 0x65, 0x74, 0x00,
    0x01, 0x04, 0x67, 0x65, 0x74, 0x6b, 0x00, 0x02, 0x04, 0x67, 0x65, 0x74, 0x32, 0x00, 0x03,
    0x04, 0x73, 0x65, 0x74, 0x63, 0x00, 0x04, 0x04, 0x67, 0x65, 0x74, 0x6c, 0x00, 0x05, 0x0a,
    0x28, 0x06, 0x04, 0x00, 0x23, 0x00, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x24, 0x00, 0x0b, 0x04,
    0x00, 0x23, 0x01, 0x0b, 0x07, 0x00, 0x23, 0x00, 0x41, 0x01, 0x6a, 0x0b, 0x06, 0x00, 0x41,
    0x05, 0x24, 0x00, 0x0b, 0x06, 0x01, 0x01, 0x7f, 0x23, 0x00, 0x0b};

static wasm_func *export_fn(wasm_instance *inst, const char *name)
{
    wasm_extern e;
    assert_int_equal(wasm_instance_export(inst, name, &e), AO_OK);
    assert_int_equal(e.kind, WASM_EXTERN_FUNC);
    return e.of.func;
}

static int host_seven(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results)
{
    (void)ctx;
    (void)user;
    (void)args;
    results[0] = i32v(7);
    return 0;
}

/* Only a body of exactly `global.get g` / `local.get 0; global.set g` is an
 * accessor (what the host uses for emscripten's stackSave/stackRestore). */
static void global_accessors_are_recognised(void **state)
{
    (void)state;
    wasm_store *s;
    wasm_module *m;
    wasm_instance *inst;
    wasm_trap trap;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    assert_int_equal(wasm_module_new(ACCESSORS_WASM, sizeof ACCESSORS_WASM, &m, NULL), AO_OK);
    assert_int_equal(wasm_instantiate(s, m, NULL, 0, &inst, &trap, NULL), AO_OK);
    wasm_global *g = wasm_func_global_getter(export_fn(inst, "get"));
    assert_non_null(g);
    assert_ptr_equal(wasm_func_global_setter(export_fn(inst, "set")), g);
    wasm_val v;
    wasm_global_get(g, &v);
    assert_int_equal(v.of.i32, 100);
    /* the global the call would read or write */
    wasm_val a = i32v(42), r;
    assert_int_equal(wasm_func_call(s, export_fn(inst, "set"), &a, 1, NULL, 0, &trap, NULL), AO_OK);
    wasm_global_get(g, &v);
    assert_int_equal(v.of.i32, 42);
    assert_int_equal(wasm_func_call(s, export_fn(inst, "get"), NULL, 0, &r, 1, &trap, NULL), AO_OK);
    assert_int_equal(r.of.i32, 42);
    wasm_global *k = wasm_func_global_getter(export_fn(inst, "getk"));
    assert_non_null(k);
    assert_ptr_not_equal(k, g);
    assert_null(wasm_func_global_setter(export_fn(inst, "getk")));
    assert_null(wasm_func_global_getter(export_fn(inst, "set")));
    assert_null(wasm_func_global_getter(export_fn(inst, "get2")));
    assert_null(wasm_func_global_setter(export_fn(inst, "setc")));
    assert_null(wasm_func_global_getter(export_fn(inst, "getl")));
    wasm_func *hf;
    static const uint8_t res[] = {WASM_I32};
    wasm_functype ft = {.nparams = 0, .nresults = 1, .params = NULL, .results = res};
    assert_int_equal(wasm_func_new_host(s, &ft, host_seven, NULL, &hf, NULL), AO_OK);
    assert_null(wasm_func_global_getter(hf));
    wasm_store_free(s);
    wasm_module_free(m);
}

static void run_fill(uint8_t *mem_out, uint64_t *gas, uint32_t *res)
{
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t = tm_type(&m, "i", "i");
    tm_memory(&m, 1, 1, NULL);
    tm_func(&m, t, "i", FILL_BODY, sizeof FILL_BODY, "fill");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    assert_int_equal(call1(s, export_func(inst, "fill"), 5000, res, NULL), AO_OK);
    memcpy(mem_out, wasm_memory_data(wasm_instance_memory(inst, 0)), 65536);
    *gas = wasm_store_gas_used(s);
    wasm_store_free(s);
    wasm_module_free(mod);
}

static void determinism(void **state)
{
    (void)state;
    uint8_t *a = malloc(65536), *b = malloc(65536);
    assert_non_null(a);
    assert_non_null(b);
    uint64_t ga, gb;
    uint32_t ra, rb;
    run_fill(a, &ga, &ra);
    run_fill(b, &gb, &rb);
    assert_int_equal(ra, rb);
    assert_int_equal(ga, gb);
    assert_memory_equal(a, b, 65536);
    /* it did write something */
    size_t nz = 0;
    for (size_t i = 0; i < 65536; i++)
        nz += a[i] != 0;
    assert_true(nz > 1000);
    /* independent computation of the result */
    uint32_t x = 1;
    for (int i = 0; i < 5000; i++)
        x = x * 1103515245u + 12345u;
    assert_int_equal(ra, x);
    free(a);
    free(b);
}

static void trap_names(void **state)
{
    (void)state;
    assert_string_equal(wasm_trap_name(WASM_TRAP_UNREACHABLE), "unreachable");
    assert_string_equal(wasm_trap_name(WASM_TRAP_MEMORY_OOB), "out of bounds memory access");
    assert_string_equal(wasm_trap_name(WASM_TRAP_DIV_ZERO), "integer divide by zero");
    assert_string_equal(wasm_trap_name(WASM_TRAP_INT_OVERFLOW), "integer overflow");
    assert_string_equal(wasm_trap_name(WASM_TRAP_INVALID_CONVERSION), "invalid conversion to integer");
    assert_string_equal(wasm_trap_name(WASM_TRAP_STACK_EXHAUSTED), "call stack exhausted");
    assert_string_equal(wasm_trap_name(WASM_TRAP_INDIRECT_TYPE), "indirect call type mismatch");
    assert_string_equal(wasm_trap_name(WASM_TRAP_UNINITIALIZED), "uninitialized element");
}

/* ---- fused memory accesses: bounds and 32-bit address wrap ---- */

static int calln(wasm_store *s, wasm_func *f, const uint32_t *args, size_t n, uint32_t *out,
                 wasm_trap *trap)
{
    wasm_val a[3], r;
    for (size_t i = 0; i < n; i++)
        a[i] = i32v(args[i]);
    memset(&r, 0, sizeof r);
    wasm_functype ft;
    wasm_func_type(f, &ft);
    int rc = wasm_func_call(s, f, a, n, &r, ft.nresults, trap, NULL);
    if (rc == AO_OK && out)
        *out = r.of.i32;
    return rc;
}

static void fused_memory_access_bounds(void **state)
{
    (void)state;
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t t2 = tm_type(&m, "ii", "i");
    uint32_t t3 = tm_type(&m, "iii", "");
    uint32_t t0 = tm_type(&m, "", "i");
    tm_memory(&m, 1, 1, "mem");
    static const uint8_t ldx[] = {0x20, 0x00, 0x20, 0x01, 0x6a, 0x28, 0x02, 0x00};
    static const uint8_t ldxs[] = {0x20, 0x00, 0x20, 0x01, 0x41, 0x02, 0x74, 0x6a, 0x28, 0x02, 0x00};
    static const uint8_t stxs[] = {0x20, 0x00, 0x20, 0x01, 0x41, 0x02, 0x74, 0x6a,
                                   0x20, 0x02, 0x36, 0x02, 0x00};
    static const uint8_t ldk1[] = {0x41, 0xfc, 0xff, 0x03, 0x28, 0x02, 0x00};
    static const uint8_t ldk2[] = {0x41, 0xfc, 0xff, 0x03, 0x28, 0x02, 0x01};
    tm_func(&m, t2, "", ldx, sizeof ldx, "ld_x");
    tm_func(&m, t2, "", ldxs, sizeof ldxs, "ld_xs");
    tm_func(&m, t3, "", stxs, sizeof stxs, "st_xs");
    static const uint8_t ldxi[] = {0x20, 0x00, 0x41, 0x08, 0x6a, 0x28, 0x02, 0x00};   /* (a + 8) */
    static const uint8_t ldsub[] = {0x20, 0x00, 0x41, 0x04, 0x6b, 0x28, 0x02, 0x00};  /* (a - 4) */
    tm_func(&m, t2, "", ldxi, sizeof ldxi, "ld_xi");
    tm_func(&m, t2, "", ldsub, sizeof ldsub, "ld_sub");
    tm_func(&m, t0, "", ldk1, sizeof ldk1, "ld_k1");
    tm_func(&m, t0, "", ldk2, sizeof ldk2, "ld_k2");
    wasm_module *mod = tm_build(&m);
    wasm_store *s;
    assert_int_equal(wasm_store_new(&s, NULL), AO_OK);
    wasm_instance *inst;
    assert_int_equal(wasm_instantiate(s, mod, NULL, 0, &inst, NULL, NULL), AO_OK);
    uint8_t *mem = wasm_memory_data(wasm_instance_memory(inst, 0));
    for (uint32_t i = 0; i < 65536; i += 4)
        ao_wr_u32le(mem + i, i * 7 + 1);
    wasm_func *ldx_f = export_func(inst, "ld_x"), *ldxs_f = export_func(inst, "ld_xs");
    uint32_t r = 0;
    wasm_trap trap;
    struct { uint32_t a, b, want; bool ok; } xs[] = {
        {65532, 0, 65532 * 7 + 1, true}, {65533, 0, 0, false},
        {0xfffffffcu, 8, 4 * 7 + 1, true},          /* the i32.add wraps */
        {0x80000000u, 0x80000000u, 1, true},        /* 0 */
        {0xffffffffu, 0, 0, false},
    };
    for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
        uint32_t args[2] = {xs[i].a, xs[i].b};
        int rc = calln(s, ldx_f, args, 2, &r, &trap);
        if (xs[i].ok) {
            assert_int_equal(rc, AO_OK);
            assert_int_equal(r, xs[i].want);
        } else {
            assert_int_equal(rc, AO_ETRAP);
            assert_int_equal(trap.code, WASM_TRAP_MEMORY_OOB);
        }
    }
    struct { uint32_t a, i, want; bool ok; } ss[] = {
        {0, 16383, 65532 * 7 + 1, true}, {0, 16384, 0, false}, {4, 16383, 0, false},
        {8, 0x40000000u, 8 * 7 + 1, true},          /* the shift wraps */
        {0xfffffff0u, 8, 16 * 7 + 1, true},         /* the add wraps */
    };
    for (size_t i = 0; i < sizeof ss / sizeof ss[0]; i++) {
        uint32_t args[2] = {ss[i].a, ss[i].i};
        int rc = calln(s, ldxs_f, args, 2, &r, &trap);
        if (ss[i].ok) {
            assert_int_equal(rc, AO_OK);
            assert_int_equal(r, ss[i].want);
        } else {
            assert_int_equal(rc, AO_ETRAP);
            assert_int_equal(trap.code, WASM_TRAP_MEMORY_OOB);
        }
    }
    struct { const char *f; uint32_t a, want; bool ok; } ks[] = {
        {"ld_xi", 0, 8 * 7 + 1, true}, {"ld_xi", 0xfffffffcu, 4 * 7 + 1, true},
        {"ld_xi", 65524, 65532 * 7 + 1, true}, {"ld_xi", 65528, 0, false},
        {"ld_sub", 4, 1, true}, {"ld_sub", 3, 0, false}, {"ld_sub", 0, 0, false},
    };
    for (size_t i = 0; i < sizeof ks / sizeof ks[0]; i++) {
        uint32_t args[2] = {ks[i].a, 0};
        int rc = calln(s, export_func(inst, ks[i].f), args, 2, &r, &trap);
        if (ks[i].ok) {
            assert_int_equal(rc, AO_OK);
            assert_int_equal(r, ks[i].want);
        } else {
            assert_int_equal(rc, AO_ETRAP);
            assert_int_equal(trap.code, WASM_TRAP_MEMORY_OOB);
        }
    }
    uint32_t st[3] = {100, 3, 0xdeadbeefu};
    assert_int_equal(calln(s, export_func(inst, "st_xs"), st, 3, NULL, NULL), AO_OK);
    assert_int_equal(ao_rd_u32le(mem + 112), 0xdeadbeefu);
    uint32_t st2[3] = {65532, 1, 5};
    assert_int_equal(calln(s, export_func(inst, "st_xs"), st2, 3, NULL, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_MEMORY_OOB);
    assert_int_equal(calln(s, export_func(inst, "ld_k1"), NULL, 0, &r, NULL), AO_OK);
    assert_int_equal(r, 65532 * 7 + 1);
    assert_int_equal(calln(s, export_func(inst, "ld_k2"), NULL, 0, &r, &trap), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_MEMORY_OOB);
    wasm_store_free(s);
    wasm_module_free(mod);
}

/* ---- snapshot / restore ---- */

static wasm_module *snap_module(void)
{
    tmod m;
    memset(&m, 0, sizeof m);
    uint32_t tv = tm_type(&m, "", "i");    /* type 0: () -> i32 */
    uint32_t ti = tm_type(&m, "i", "i");
    uint32_t te = tm_type(&m, "", "");
    tm_table(&m, 2);
    tm_memory(&m, 1, 4, NULL);
    tm_global_i32(&m, true, 0);
    static const uint8_t ten[] = {0x41, 0x0a};
    static const uint8_t twenty[] = {0x41, 0x14};
    uint32_t fa = tm_func(&m, tv, "", ten, sizeof ten, NULL);
    uint32_t fb = tm_func(&m, tv, "", twenty, sizeof twenty, NULL);
    static const uint8_t step[] = {
        0x23, 0x00,                               /* global.get 0 */
        0x20, 0x00, 0x41, 0x01, 0x71,             /* x & 1 */
        0x11, 0x00, 0x00,                         /* call_indirect type 0 table 0 */
        0x6a, 0x24, 0x00,                         /* + ; global.set 0 */
        0x23, 0x00, 0x41, 0xfc, 0x01, 0x71,       /* g & 0xfc */
        0x23, 0x00, 0x36, 0x02, 0x00,             /* i32.store g */
        0x20, 0x00, 0x40, 0x00, 0x1a,             /* memory.grow x; drop */
        0x23, 0x00,
    };
    tm_func(&m, ti, "", step, sizeof step, "step");
    static const uint8_t init[] = {
        0x41, 0xe4, 0x00, 0x41, 0x00, 0x41, 0x05, /* 100, 0, 5 */
        0xfc, 0x08, 0x00, 0x00,                   /* memory.init 0 */
        0xfc, 0x09, 0x00,                         /* data.drop 0 */
    };
    tm_func(&m, te, "", init, sizeof init, "init");
    static const uint8_t swap[] = {
        0x41, 0x00, 0xd2, 0x01, 0x26, 0x00,       /* table.set 0 (0, ref.func 1) */
    };
    tm_func(&m, te, "", swap, sizeof swap, "swap");
    uint32_t el[2] = {fa, fb};
    tm_elem(&m, 0, el, 2);
    tm_passive_data(&m, "hello");
    return tm_build(&m);
}

static void snapshot_restore_continues_identically(void **state)
{
    (void)state;
    wasm_module *mod = snap_module();
    wasm_store *sa, *sb;
    assert_int_equal(wasm_store_new(&sa, NULL), AO_OK);
    assert_int_equal(wasm_store_new(&sb, NULL), AO_OK);
    wasm_instance *ia, *ib;
    assert_int_equal(wasm_instantiate(sa, mod, NULL, 0, &ia, NULL, NULL), AO_OK);
    assert_int_equal(wasm_instantiate(sb, mod, NULL, 0, &ib, NULL, NULL), AO_OK);
    wasm_trap trap;
    assert_int_equal(wasm_func_call(sa, export_func(ia, "init"), NULL, 0, NULL, 0, NULL, NULL), AO_OK);
    uint32_t r = 0;
    assert_int_equal(call1(sa, export_func(ia, "step"), 1, &r, NULL), AO_OK);   /* +20, grow 1 */
    assert_int_equal(call1(sa, export_func(ia, "step"), 0, &r, NULL), AO_OK);   /* +10 */
    assert_int_equal(wasm_func_call(sa, export_func(ia, "swap"), NULL, 0, NULL, 0, NULL, NULL), AO_OK);
    assert_int_equal(r, 30);

    ao_buf snap;
    ao_buf_init(&snap);
    assert_int_equal(wasm_instance_snapshot(ia, &snap, NULL), AO_OK);
    ao_error err;
    assert_int_equal(wasm_instance_restore(ib, snap.data, snap.len, &err), AO_OK);

    uint32_t ra = 0, rb = 0;
    static const uint32_t seq[] = {0, 1, 2, 0};
    for (size_t i = 0; i < sizeof seq / sizeof seq[0]; i++) {
        assert_int_equal(call1(sa, export_func(ia, "step"), seq[i], &ra, NULL), AO_OK);
        assert_int_equal(call1(sb, export_func(ib, "step"), seq[i], &rb, NULL), AO_OK);
        assert_int_equal(ra, rb);
    }
    assert_int_equal(ra, 30 + 4 * 20);   /* table[0] was swapped to the 20 function */
    wasm_memory *ma = wasm_instance_memory(ia, 0), *mb = wasm_instance_memory(ib, 0);
    assert_int_equal(wasm_memory_pages(ma), 3);   /* 1 + 1 + 1, then 2 more refused */
    assert_int_equal(wasm_memory_pages(mb), 3);
    assert_memory_equal(wasm_memory_data(ma), wasm_memory_data(mb), 3 * 65536);
    assert_memory_equal(wasm_memory_data(mb) + 100, "hello", 5);
    /* the data segment was dropped in both */
    assert_int_equal(wasm_func_call(sa, export_func(ia, "init"), NULL, 0, NULL, 0, &trap, NULL), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_MEMORY_OOB);
    assert_int_equal(wasm_func_call(sb, export_func(ib, "init"), NULL, 0, NULL, 0, &trap, NULL), AO_ETRAP);
    assert_int_equal(trap.code, WASM_TRAP_MEMORY_OOB);
    /* identical state gives identical snapshots */
    ao_buf s2a, s2b;
    ao_buf_init(&s2a);
    ao_buf_init(&s2b);
    assert_int_equal(wasm_instance_snapshot(ia, &s2a, NULL), AO_OK);
    assert_int_equal(wasm_instance_snapshot(ib, &s2b, NULL), AO_OK);
    assert_int_equal(s2a.len, s2b.len);
    assert_memory_equal(s2a.data, s2b.data, s2a.len);

    /* a corrupt snapshot or one of another module is refused */
    snap.data[snap.len / 2] ^= 0x55;
    assert_int_not_equal(wasm_instance_restore(ib, snap.data, snap.len, &err), AO_OK);
    wasm_module *other = count_module();
    wasm_instance *io;
    assert_int_equal(wasm_instantiate(sb, other, NULL, 0, &io, NULL, NULL), AO_OK);
    assert_int_equal(wasm_instance_restore(io, s2a.data, s2a.len, &err), AO_EINVAL);
    assert_int_equal(wasm_instance_restore(ib, (const uint8_t *)"xx", 2, &err), AO_EFORMAT);
    /* regression (fuzz): a zstd frame claiming ~900 GB of content is refused
     * without allocating it */
    static const uint8_t huge_claim[] = {0x28, 0xb5, 0x2f, 0xfd, 0xd3, 0x20, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0xd3, 0x00, 0xd3, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd3, 0xd3, 0xd3};
    assert_int_equal(wasm_instance_restore(ib, huge_claim, sizeof huge_claim, &err), AO_EFORMAT);

    ao_buf_free(&snap);
    ao_buf_free(&s2a);
    ao_buf_free(&s2b);
    wasm_store_free(sa);
    wasm_store_free(sb);
    wasm_module_free(other);
    wasm_module_free(mod);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(gas_exact_counts),
        cmocka_unit_test(gas_forward_branches),
        cmocka_unit_test(gas_loops_and_shared_labels),
        cmocka_unit_test(gas_fallthrough_labels),
        cmocka_unit_test(gas_bulk_memory),
        cmocka_unit_test(gas_limit_traps),
        cmocka_unit_test(memory_grow_respects_store_limit),
        cmocka_unit_test(memory_host_object),
        cmocka_unit_test(deep_recursion_traps),
        cmocka_unit_test(host_functions),
        cmocka_unit_test(host_many_values),
        cmocka_unit_test(import_matching),
        cmocka_unit_test(globals_and_tables),
        cmocka_unit_test(global_accessors_are_recognised),
        cmocka_unit_test(determinism),
        cmocka_unit_test(trap_names),
        cmocka_unit_test(fused_memory_access_bounds),
        cmocka_unit_test(snapshot_restore_continues_identically),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
