/* wasm_delta_fixture.h - the hand-assembled module and helpers the delta
 * snapshot and transaction tests share: a memory of min..max pages, a
 * mutable i64 global and a table (both exported as "g" and "t"), a passive
 * data segment, one exported function per kind of write (stores of every
 * width, fill/copy/init/drop, grow, global and table sets), and random
 * writes over an instance. Included by test files only. */
#ifndef AO_TESTS_WASM_DELTA_FIXTURE_H
#define AO_TESTS_WASM_DELTA_FIXTURE_H

#include "wasm/wasm.h"
#include "wasm_bytes.h"

/* exported functions, in order */
enum { F_I32ST, F_I64ST, F_F32ST, F_F64ST, F_I32ST8, F_I32ST16, F_I64ST8, F_I64ST16,
       F_I64ST32, F_FILL, F_COPY, F_INIT, F_DROP, F_GROW, F_GSET, F_TSET, F_COUNT };

static const char *const FNAMES[F_COUNT] = {
    "i32.store", "i64.store", "f32.store", "f64.store", "i32.store8", "i32.store16",
    "i64.store8", "i64.store16", "i64.store32", "fill", "copy", "init", "drop", "grow",
    "gset", "tset",
};

#define DATA_LEN 64u

/* memory: min_pages .. max_pages (64 KiB); a mutable i64 global; a table
 * of 4 funcrefs; one passive data segment of DATA_LEN bytes. */
static wasm_module *delta_module(uint32_t min_pages, uint32_t max_pages, uint8_t data_seed)
{
    wb mod = {.n = 0}, s;
    static const uint8_t hdr[] = {0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00};
    wb_put(&mod, hdr, sizeof hdr);
    /* types: 0 (i32,i64)->() 1 (i32,i32,i32)->() 2 ()->() 3 (i32)->(i32) 4 (i64)->() 5 (i32)->() */
    static const uint8_t types[] = {
        6,
        0x60, 2, 0x7f, 0x7e, 0,
        0x60, 3, 0x7f, 0x7f, 0x7f, 0,
        0x60, 0, 0,
        0x60, 1, 0x7f, 1, 0x7f,
        0x60, 1, 0x7e, 0,
        0x60, 1, 0x7f, 0,
    };
    s.n = 0;
    wb_put(&s, types, sizeof types);
    wb_section(&mod, 1, &s);
    static const uint8_t ftype[F_COUNT] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 2, 3, 4, 5};
    s.n = 0;
    wb_uleb(&s, F_COUNT);
    wb_put(&s, ftype, F_COUNT);
    wb_section(&mod, 3, &s);
    static const uint8_t table[] = {1, 0x70, 0x00, 4};
    s.n = 0;
    wb_put(&s, table, sizeof table);
    wb_section(&mod, 4, &s);
    s.n = 0;
    wb_byte(&s, 1);
    wb_byte(&s, 0x01);
    wb_uleb(&s, min_pages);
    wb_uleb(&s, max_pages);
    wb_section(&mod, 5, &s);
    static const uint8_t global[] = {1, 0x7e, 0x01, 0x42, 0x00, 0x0b};
    s.n = 0;
    wb_put(&s, global, sizeof global);
    wb_section(&mod, 6, &s);
    s.n = 0;
    wb_uleb(&s, F_COUNT + 2);
    for (uint32_t i = 0; i < F_COUNT; i++) {
        wb_uleb(&s, strlen(FNAMES[i]));
        wb_put(&s, FNAMES[i], strlen(FNAMES[i]));
        wb_byte(&s, 0x00);
        wb_uleb(&s, i);
    }
    static const uint8_t gt[] = {1, 'g', 0x03, 0, 1, 't', 0x01, 0};
    wb_put(&s, gt, sizeof gt);
    wb_section(&mod, 7, &s);
    s.n = 0;
    wb_byte(&s, 1);
    wb_section(&mod, 12, &s);   /* data count */
    /* code */
    static const struct { uint8_t conv, op, align; } st[9] = {
        {0xa7, 0x36, 2}, {0x00, 0x37, 3}, {0xa7, 0x38, 2}, {0xbf, 0x39, 3},
        {0xa7, 0x3a, 0}, {0xa7, 0x3b, 1}, {0x00, 0x3c, 0}, {0x00, 0x3d, 1}, {0x00, 0x3e, 2},
    };
    s.n = 0;
    wb_uleb(&s, F_COUNT);
    for (uint32_t i = 0; i < F_COUNT; i++) {
        wb body = {.n = 0};
        wb_byte(&body, 0);   /* no locals */
        if (i < 9) {
            static const uint8_t ld[] = {0x20, 0x00, 0x20, 0x01};
            wb_put(&body, ld, sizeof ld);
            if (st[i].conv)
                wb_byte(&body, st[i].conv);
            if (i == F_F32ST)
                wb_byte(&body, 0xbe);   /* f32.reinterpret_i32 */
            wb_byte(&body, st[i].op);
            wb_byte(&body, st[i].align);
            wb_byte(&body, 0);
        } else if (i <= F_INIT) {
            static const uint8_t three[] = {0x20, 0x00, 0x20, 0x01, 0x20, 0x02, 0xfc};
            wb_put(&body, three, sizeof three);
            if (i == F_FILL) {
                static const uint8_t c[] = {0x0b, 0x00};
                wb_put(&body, c, 2);
            } else if (i == F_COPY) {
                static const uint8_t c[] = {0x0a, 0x00, 0x00};
                wb_put(&body, c, 3);
            } else {
                static const uint8_t c[] = {0x08, 0x00, 0x00};
                wb_put(&body, c, 3);
            }
        } else if (i == F_DROP) {
            static const uint8_t c[] = {0xfc, 0x09, 0x00};
            wb_put(&body, c, 3);
        } else if (i == F_GROW) {
            static const uint8_t c[] = {0x20, 0x00, 0x40, 0x00};
            wb_put(&body, c, 4);
        } else if (i == F_GSET) {
            static const uint8_t c[] = {0x20, 0x00, 0x24, 0x00};
            wb_put(&body, c, 4);
        } else {
            static const uint8_t c[] = {0x20, 0x00, 0xd2, 0x00, 0x26, 0x00};
            wb_put(&body, c, 6);
        }
        wb_byte(&body, 0x0b);
        wb_uleb(&s, body.n);
        wb_put(&s, body.b, body.n);
    }
    wb_section(&mod, 10, &s);
    s.n = 0;
    wb_byte(&s, 1);
    wb_byte(&s, 0x01);   /* passive */
    wb_uleb(&s, DATA_LEN);
    for (uint32_t i = 0; i < DATA_LEN; i++)
        wb_byte(&s, (uint8_t)(data_seed + i * 7));
    wb_section(&mod, 11, &s);
    wasm_module *m = NULL;
    ao_error err;
    int rc = wasm_module_new(mod.b, mod.n, &m, &err);
    if (rc != AO_OK)
        fail_msg("module: %s", err.msg);
    return m;
}

/* ---- an instance under test ---- */

typedef struct inst {
    wasm_store *s;
    wasm_instance *i;
    wasm_func *f[F_COUNT];
    wasm_memory *mem;
} inst;

static void inst_new(inst *x, wasm_module *m)
{
    assert_int_equal(wasm_store_new(&x->s, NULL), AO_OK);
    assert_int_equal(wasm_instantiate(x->s, m, NULL, 0, &x->i, NULL, NULL), AO_OK);
    for (uint32_t k = 0; k < F_COUNT; k++) {
        wasm_extern e;
        assert_int_equal(wasm_instance_export(x->i, FNAMES[k], &e), AO_OK);
        x->f[k] = e.of.func;
    }
    x->mem = wasm_instance_memory(x->i, 0);
    assert_non_null(x->mem);
}

static void inst_free(inst *x) { wasm_store_free(x->s); }

/* Call an exported function with i32/i64 arguments; traps are allowed (a
 * random op may go out of bounds) and return AO_ETRAP. */
static int call(inst *x, int fn, uint64_t a, uint64_t b, uint64_t c)
{
    wasm_functype ft;
    wasm_func_type(x->f[fn], &ft);
    wasm_val args[3], res[1];
    uint64_t v[3] = {a, b, c};
    for (uint32_t k = 0; k < ft.nparams; k++) {
        args[k].type = ft.params[k];
        if (ft.params[k] == WASM_I32)
            args[k].of.i32 = (uint32_t)v[k];
        else
            args[k].of.i64 = v[k];
    }
    wasm_trap trap;
    ao_error err;
    int rc = wasm_func_call(x->s, x->f[fn], args, ft.nparams, res, ft.nresults, &trap, &err);
    assert_true(rc == AO_OK || rc == AO_ETRAP);
    return rc;
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void assert_same_memory(inst *a, inst *b)
{
    assert_int_equal(wasm_memory_size(a->mem), wasm_memory_size(b->mem));
    size_t n = (size_t)wasm_memory_size(a->mem);
    const uint8_t *pa = wasm_memory_data(a->mem), *pb = wasm_memory_data(b->mem);
    if (memcmp(pa, pb, n) != 0) {
        size_t k = 0;
        while (pa[k] == pb[k])
            k++;
        fail_msg("memories differ first at byte %zu (page %zu): %02x vs %02x", k, k >> 12, pa[k], pb[k]);
    }
}

/* One random operation on x, mostly in bounds. */
static void random_op(inst *x)
{
    uint64_t size = wasm_memory_size(x->mem);
    uint64_t addr = rnd() % size;
    int kind = (int)(rnd() % 16);
    if (kind < 9) {
        call(x, kind, addr > size - 8 ? size - 8 : addr, rnd(), 0);
    } else if (kind == 9) {
        uint64_t n = rnd() % 20000;
        call(x, F_FILL, addr, rnd(), addr + n > size ? size - addr : n);
    } else if (kind == 10) {
        uint64_t n = rnd() % 30000, src = rnd() % size;
        if (addr + n > size)
            n = size - addr;
        if (src + n > size)
            n = size - src;
        call(x, F_COPY, addr, src, n);
    } else if (kind == 11) {
        call(x, F_INIT, addr > size - DATA_LEN ? size - DATA_LEN : addr, rnd() % 8, rnd() % 56);
    } else if (kind == 12) {
        if (rnd() % 8 == 0)
            call(x, F_GROW, 1 + rnd() % 3, 0, 0);
    } else if (kind == 13) {
        call(x, F_GSET, rnd(), 0, 0);
    } else if (kind == 14) {
        call(x, F_TSET, rnd() % 4, 0, 0);
    } else {
        /* a host write through the data pointer */
        uint8_t *d = wasm_memory_data(x->mem);
        uint64_t n = 1 + rnd() % 9000;
        if (addr + n > size)
            n = size - addr;
        for (uint64_t k = 0; k < n; k++)
            d[addr + k] = (uint8_t)rnd();
    }
}

static void restore_ok(inst *x, const ao_buf *b)
{
    ao_error err;
    int rc = wasm_instance_restore(x->i, b->data, b->len, &err);
    if (rc != AO_OK)
        fail_msg("restore: %s", err.msg);
}

#endif
