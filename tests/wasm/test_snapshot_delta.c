/* test_snapshot_delta.c - delta snapshots (wasm_instance_snapshot_delta):
 * chains restored into fresh instances give byte-identical memories under
 * randomized wasm stores of every width, memory.fill/copy/init, grow and
 * host writes; out-of-order, foreign and corrupt deltas are refused without
 * touching the instance; host writes (direct and via
 * wasm_memory_mark_dirty for system calls) are tracked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wasm/wasm.h"
#include "wasm_bytes.h"

/* ---- the test module, assembled by hand ---- */

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
    wb_uleb(&s, F_COUNT);
    for (uint32_t i = 0; i < F_COUNT; i++) {
        wb_uleb(&s, strlen(FNAMES[i]));
        wb_put(&s, FNAMES[i], strlen(FNAMES[i]));
        wb_byte(&s, 0x00);
        wb_uleb(&s, i);
    }
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

/* ---- tests ---- */

#define ROUNDS 40

static void delta_chain_random_roundtrip(void **state)
{
    (void)state;
    wasm_module *m = delta_module(4, 64, 1);
    inst a, b;
    inst_new(&a, m);
    inst_new(&b, m);
    rng_state = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < 200; k++)
        random_op(&a);
    ao_buf snaps[ROUNDS + 1];
    ao_buf_init(&snaps[0]);
    assert_int_equal(wasm_instance_snapshot(a.i, &snaps[0], NULL), AO_OK);
    restore_ok(&b, &snaps[0]);
    assert_same_memory(&a, &b);
    for (int r = 1; r <= ROUNDS; r++) {
        int nops = (int)(rnd() % 60);
        if (r == 7)
            call(&a, F_DROP, 0, 0, 0);   /* later inits trap */
        for (int k = 0; k < nops; k++)
            random_op(&a);
        ao_buf_init(&snaps[r]);
        ao_error err;
        int rc = wasm_instance_snapshot_delta(a.i, &snaps[r], &err);
        if (rc != AO_OK)
            fail_msg("delta %d: %s", r, err.msg);
        restore_ok(&b, &snaps[r]);
        assert_same_memory(&a, &b);
    }
    /* replay the whole chain into a fresh instance */
    inst c;
    inst_new(&c, m);
    for (int r = 0; r <= ROUNDS; r++)
        restore_ok(&c, &snaps[r]);
    assert_same_memory(&a, &c);
    /* and the small state: full snapshots of a and c are the same bytes */
    ao_buf fa, fc;
    ao_buf_init(&fa);
    ao_buf_init(&fc);
    assert_int_equal(wasm_instance_snapshot(a.i, &fa, NULL), AO_OK);
    assert_int_equal(wasm_instance_snapshot(c.i, &fc, NULL), AO_OK);
    assert_int_equal(fa.len, fc.len);
    assert_memory_equal(fa.data, fc.data, fa.len);
    ao_buf_free(&fa);
    ao_buf_free(&fc);
    for (int r = 0; r <= ROUNDS; r++)
        ao_buf_free(&snaps[r]);
    inst_free(&a);
    inst_free(&b);
    inst_free(&c);
    wasm_module_free(m);
}

/* A restored instance continues the chain: the same operations on the
 * original and on the restored copy give the same delta bytes. */
static void restored_instance_continues_chain(void **state)
{
    (void)state;
    wasm_module *m = delta_module(2, 16, 2);
    inst a, b;
    inst_new(&a, m);
    inst_new(&b, m);
    ao_buf full, da, db, d2;
    ao_buf_init(&full);
    ao_buf_init(&da);
    ao_buf_init(&db);
    ao_buf_init(&d2);
    rng_state = 12345;
    for (int k = 0; k < 50; k++)
        random_op(&a);
    assert_int_equal(wasm_instance_snapshot(a.i, &full, NULL), AO_OK);
    restore_ok(&b, &full);
    rng_state = 777;
    for (int k = 0; k < 40; k++)
        random_op(&a);
    rng_state = 777;
    for (int k = 0; k < 40; k++)
        random_op(&b);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &da, NULL), AO_OK);
    assert_int_equal(wasm_instance_snapshot_delta(b.i, &db, NULL), AO_OK);
    assert_int_equal(da.len, db.len);
    assert_memory_equal(da.data, db.data, da.len);
    /* a delta with nothing written is accepted too and changes nothing */
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d2, NULL), AO_OK);
    inst c;
    inst_new(&c, m);
    restore_ok(&c, &full);
    restore_ok(&c, &db);
    restore_ok(&c, &d2);
    assert_same_memory(&a, &c);
    inst_free(&c);
    ao_buf_free(&full);
    ao_buf_free(&da);
    ao_buf_free(&db);
    ao_buf_free(&d2);
    inst_free(&a);
    inst_free(&b);
    wasm_module_free(m);
}

static void delta_needs_a_previous_snapshot(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 4, 3);
    inst a;
    inst_new(&a, m);
    ao_buf d;
    ao_buf_init(&d);
    ao_error err;
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "full snapshot first"));
    assert_int_equal(d.len, 0);
    ao_buf_free(&d);
    inst_free(&a);
    wasm_module_free(m);
}

/* Chain a: full, d1, d2. Returns them; b is a fresh instance. */
static void make_chain(wasm_module *m, inst *a, ao_buf *full, ao_buf *d1, ao_buf *d2)
{
    inst_new(a, m);
    ao_buf_init(full);
    ao_buf_init(d1);
    ao_buf_init(d2);
    call(a, F_I64ST, 100, 0x1111111111111111ull, 0);
    assert_int_equal(wasm_instance_snapshot(a->i, full, NULL), AO_OK);
    call(a, F_I64ST, 8000, 0x2222222222222222ull, 0);
    assert_int_equal(wasm_instance_snapshot_delta(a->i, d1, NULL), AO_OK);
    call(a, F_I64ST, 20000, 0x3333333333333333ull, 0);
    assert_int_equal(wasm_instance_snapshot_delta(a->i, d2, NULL), AO_OK);
}

static void out_of_order_delta_refused(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 4, 4);
    inst a, b;
    ao_buf full, d1, d2;
    make_chain(m, &a, &full, &d1, &d2);
    inst_new(&b, m);
    ao_error err;
    /* a delta into an instance with no snapshot */
    assert_int_equal(wasm_instance_restore_delta(b.i, d1.data, d1.len, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "restore the full snapshot first"));
    restore_ok(&b, &full);
    /* d2 before d1: refused, memory untouched */
    uint8_t before[32768];
    memcpy(before, wasm_memory_data(b.mem), sizeof before);
    assert_int_equal(wasm_instance_restore(b.i, d2.data, d2.len, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "does not follow"));
    assert_memory_equal(before, wasm_memory_data(b.mem), sizeof before);
    restore_ok(&b, &d1);
    /* d1 twice: refused */
    assert_int_equal(wasm_instance_restore(b.i, d1.data, d1.len, &err), AO_EINVAL);
    restore_ok(&b, &d2);
    assert_same_memory(&a, &b);
    /* restoring the full snapshot again rewinds: d1 fits again */
    restore_ok(&b, &full);
    restore_ok(&b, &d1);
    assert_int_equal(wasm_instance_restore(b.i, d1.data, d1.len, &err), AO_EINVAL);
    ao_buf_free(&full);
    ao_buf_free(&d1);
    ao_buf_free(&d2);
    inst_free(&a);
    inst_free(&b);
    wasm_module_free(m);
}

static void foreign_delta_refused(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 4, 5);
    wasm_module *other = delta_module(1, 4, 6);   /* differs in its data only */
    inst a, x, b, o;
    ao_buf full, d1, d2, xfull, xd1;
    make_chain(m, &a, &full, &d1, &d2);
    /* a second chain of the same module with different writes */
    inst_new(&x, m);
    ao_buf_init(&xfull);
    ao_buf_init(&xd1);
    call(&x, F_I64ST, 100, 0x4444444444444444ull, 0);
    assert_int_equal(wasm_instance_snapshot(x.i, &xfull, NULL), AO_OK);
    call(&x, F_I64ST, 8000, 0x5555555555555555ull, 0);
    assert_int_equal(wasm_instance_snapshot_delta(x.i, &xd1, NULL), AO_OK);
    inst_new(&b, m);
    restore_ok(&b, &full);
    ao_error err;
    assert_int_equal(wasm_instance_restore(b.i, xd1.data, xd1.len, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "does not follow"));
    /* a delta of another module */
    inst_new(&o, other);
    assert_int_equal(wasm_instance_restore(o.i, d1.data, d1.len, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "another module"));
    /* the right one still applies */
    restore_ok(&b, &d1);
    restore_ok(&b, &d2);
    assert_same_memory(&a, &b);
    ao_buf_free(&full);
    ao_buf_free(&d1);
    ao_buf_free(&d2);
    ao_buf_free(&xfull);
    ao_buf_free(&xd1);
    inst_free(&a);
    inst_free(&x);
    inst_free(&b);
    inst_free(&o);
    wasm_module_free(m);
    wasm_module_free(other);
}

static void corrupt_delta_refused(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 4, 7);
    inst a, b;
    ao_buf full, d1, d2;
    make_chain(m, &a, &full, &d1, &d2);
    inst_new(&b, m);
    restore_ok(&b, &full);
    ao_error err;
    /* truncated at every length */
    for (size_t n = 0; n < d1.len; n++)
        assert_int_not_equal(wasm_instance_restore(b.i, d1.data, n, &err), AO_OK);
    /* single byte flips: refused or, if zstd still decodes a valid delta,
     * never a crash; the instance must still take the real d1 afterwards
     * unless a flip was accepted (then restart from full) */
    uint8_t *c = malloc(d1.len);
    assert_non_null(c);
    for (size_t k = 0; k < d1.len; k++) {
        memcpy(c, d1.data, d1.len);
        c[k] ^= 0x5a;
        if (wasm_instance_restore(b.i, c, d1.len, &err) == AO_OK)
            restore_ok(&b, &full);
    }
    free(c);
    /* trailing garbage */
    ao_buf t;
    ao_buf_init(&t);
    assert_int_equal(ao_buf_append(&t, d1.data, d1.len), AO_OK);
    assert_int_equal(ao_buf_append(&t, "x", 1), AO_OK);
    assert_int_not_equal(wasm_instance_restore(b.i, t.data, t.len, &err), AO_OK);
    ao_buf_free(&t);
    restore_ok(&b, &d1);
    restore_ok(&b, &d2);
    assert_same_memory(&a, &b);
    ao_buf_free(&full);
    ao_buf_free(&d1);
    ao_buf_free(&d2);
    inst_free(&a);
    inst_free(&b);
    wasm_module_free(m);
}

/* Fill the memory with incompressible bytes through the host. */
static void fill_random(inst *x)
{
    uint8_t *d = wasm_memory_data(x->mem);
    for (uint64_t k = 0; k < wasm_memory_size(x->mem); k += 8) {
        uint64_t v = rnd();
        memcpy(d + k, &v, 8);
    }
}

/* Only the written pages travel: one page touched in a 1 MiB memory of
 * incompressible bytes gives a delta of about one page. */
static void delta_carries_only_written_pages(void **state)
{
    (void)state;
    wasm_module *m = delta_module(16, 16, 8);
    inst a;
    inst_new(&a, m);
    rng_state = 99;
    fill_random(&a);
    ao_buf full, d;
    ao_buf_init(&full);
    ao_buf_init(&d);
    assert_int_equal(wasm_instance_snapshot(a.i, &full, NULL), AO_OK);
    assert_true(full.len > 1000000);
    call(&a, F_I32ST8, 300000, 1, 0);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d, NULL), AO_OK);
    assert_true(d.len > 4000);
    assert_true(d.len < 6000);
    /* a store spanning two pages carries both */
    d.len = 0;
    call(&a, F_I64ST, 3 * 4096 - 4, 0, 0);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d, NULL), AO_OK);
    assert_true(d.len > 8000);
    assert_true(d.len < 10000);
    ao_buf_free(&full);
    ao_buf_free(&d);
    inst_free(&a);
    wasm_module_free(m);
}

/* Host C code writing through wasm_memory_data() is tracked; a system call
 * writing into the memory needs wasm_memory_mark_dirty first. */
static void host_writes_marked(void **state)
{
    (void)state;
    wasm_module *m = delta_module(4, 4, 9);
    inst a, b;
    inst_new(&a, m);
    inst_new(&b, m);
    ao_buf full, d;
    ao_buf_init(&full);
    ao_buf_init(&d);
    assert_int_equal(wasm_instance_snapshot(a.i, &full, NULL), AO_OK);
    restore_ok(&b, &full);
    memcpy(wasm_memory_data(a.mem) + 70000, "host write", 10);
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], "from a pipe", 11), 11);
    /* unmarked: the kernel cannot write the protected page */
    errno = 0;
    assert_int_equal(read(fds[0], wasm_memory_data(a.mem) + 200000, 11), -1);
    assert_int_equal(errno, EFAULT);
    wasm_memory_mark_dirty(a.mem, 200000, 11);
    assert_int_equal(read(fds[0], wasm_memory_data(a.mem) + 200000, 11), 11);
    close(fds[0]);
    close(fds[1]);
    /* out of range marks are clipped, not faults */
    wasm_memory_mark_dirty(a.mem, wasm_memory_size(a.mem) - 1, 1000);
    wasm_memory_mark_dirty(a.mem, UINT64_MAX - 5, 10);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d, NULL), AO_OK);
    restore_ok(&b, &d);
    assert_same_memory(&a, &b);
    assert_memory_equal(wasm_memory_data(b.mem) + 70000, "host write", 10);
    assert_memory_equal(wasm_memory_data(b.mem) + 200000, "from a pipe", 11);
    ao_buf_free(&full);
    ao_buf_free(&d);
    inst_free(&a);
    inst_free(&b);
    wasm_module_free(m);
}

static void grow_between_snapshots(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 32, 10);
    inst a, b;
    inst_new(&a, m);
    inst_new(&b, m);
    ao_buf full, d1, d2, d3;
    ao_buf_init(&full);
    ao_buf_init(&d1);
    ao_buf_init(&d2);
    ao_buf_init(&d3);
    assert_int_equal(wasm_instance_snapshot(a.i, &full, NULL), AO_OK);
    restore_ok(&b, &full);
    /* grow by wasm, write into the new pages (wasm and host) */
    assert_int_equal(call(&a, F_GROW, 3, 0, 0), AO_OK);
    assert_int_equal(wasm_memory_pages(a.mem), 4);
    call(&a, F_I32ST, 65536 * 2 + 10, 0xabcdef, 0);
    wasm_memory_data(a.mem)[65536 * 3 + 5] = 0x77;
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d1, NULL), AO_OK);
    restore_ok(&b, &d1);
    assert_int_equal(wasm_memory_pages(b.mem), 4);
    assert_same_memory(&a, &b);
    /* grow by the host without writing: size travels, pages stay zero */
    assert_int_equal(wasm_memory_grow(a.mem, 8), 4);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d2, NULL), AO_OK);
    assert_true(d2.len < 2000);
    restore_ok(&b, &d2);
    assert_int_equal(wasm_memory_pages(b.mem), 12);
    assert_same_memory(&a, &b);
    /* writes after grow, fill across the old end */
    call(&a, F_FILL, 65536 * 12 - 100, 0x42, 0);
    assert_int_equal(call(&a, F_GROW, 1, 0, 0), AO_OK);
    assert_int_equal(call(&a, F_FILL, 65536 * 12 - 100, 0x42, 300), AO_OK);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d3, NULL), AO_OK);
    restore_ok(&b, &d3);
    assert_same_memory(&a, &b);
    assert_int_equal(wasm_memory_data(b.mem)[65536 * 12 + 100], 0x42);
    ao_buf_free(&full);
    ao_buf_free(&d1);
    ao_buf_free(&d2);
    ao_buf_free(&d3);
    inst_free(&a);
    inst_free(&b);
    wasm_module_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(delta_chain_random_roundtrip),
        cmocka_unit_test(restored_instance_continues_chain),
        cmocka_unit_test(delta_needs_a_previous_snapshot),
        cmocka_unit_test(out_of_order_delta_refused),
        cmocka_unit_test(foreign_delta_refused),
        cmocka_unit_test(corrupt_delta_refused),
        cmocka_unit_test(delta_carries_only_written_pages),
        cmocka_unit_test(host_writes_marked),
        cmocka_unit_test(grow_between_snapshots),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
