/* test_snapshot_full.c - full snapshots (format 2: runs of non-zero 4 KiB
 * units): a mostly-zero memory snapshots small and restores exactly, also
 * over an instance whose memory holds other bytes where the snapshot has
 * zeros; snapshots of format 1 (every byte) still restore; crafted bodies
 * with bad runs are refused without touching the instance; a corrupt
 * compressed snapshot is refused (zstd content checksum). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "wasm/wasm.h"

/* memory 2..4 pages exported "m", a mutable i64 global "g", an active data
 * segment "hi" at 70000 */
static const uint8_t MODULE[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,
    0x03, 0x02, 0x01, 0x00,
    0x05, 0x04, 0x01, 0x01, 0x02, 0x04,
    0x06, 0x06, 0x01, 0x7e, 0x01, 0x42, 0x00, 0x0b,
    0x07, 0x09, 0x02, 0x01, 'm', 0x02, 0x00, 0x01, 'g', 0x03, 0x00,
    0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b,
    0x0b, 0x0a, 0x01, 0x00, 0x41, 0xf0, 0xa2, 0x04, 0x0b, 0x02, 'h', 'i',
};

typedef struct fx {
    wasm_module *m;
    wasm_store *s;
    wasm_instance *i;
    wasm_memory *mem;
    wasm_global *g;
} fx;

static void fx_new(fx *x, wasm_module *m)
{
    x->m = m;
    assert_int_equal(wasm_store_new(&x->s, NULL), AO_OK);
    assert_int_equal(wasm_instantiate(x->s, m, NULL, 0, &x->i, NULL, NULL), AO_OK);
    wasm_extern e;
    assert_int_equal(wasm_instance_export(x->i, "m", &e), AO_OK);
    x->mem = e.of.memory;
    assert_int_equal(wasm_instance_export(x->i, "g", &e), AO_OK);
    x->g = e.of.global;
}

static wasm_module *load(void)
{
    wasm_module *m = NULL;
    ao_error err;
    if (wasm_module_new(MODULE, sizeof MODULE, &m, &err) != AO_OK)
        fail_msg("module: %s", err.msg);
    return m;
}

static uint64_t gval(fx *x)
{
    wasm_val v;
    wasm_global_get(x->g, &v);
    return v.of.i64;
}

static void gset(fx *x, uint64_t v)
{
    wasm_val w = {.type = WASM_I64, .of.i64 = v};
    assert_int_equal(wasm_global_set(x->g, &w), AO_OK);
}

static void assert_same(fx *a, fx *b)
{
    assert_int_equal(wasm_memory_size(a->mem), wasm_memory_size(b->mem));
    assert_true(memcmp(wasm_memory_data(a->mem), wasm_memory_data(b->mem),
                       (size_t)wasm_memory_size(a->mem)) == 0);
    assert_int_equal(gval(a), gval(b));
}

static void mostly_zero_memory_snapshots_small_and_restores_exactly(void **state)
{
    (void)state;
    wasm_module *m = load();
    fx a, b;
    fx_new(&a, m);
    fx_new(&b, m);
    assert_int_equal(wasm_memory_grow(a.mem, 2), 2);   /* 4 pages, 256 KiB */
    uint8_t *d = wasm_memory_data(a.mem);
    for (int k = 0; k < 4096; k++)
        d[3 * 65536 + 100 + k] = (uint8_t)(k * 7 + 1);   /* spans two units */
    d[5] = 9;
    gset(&a, 0x1122334455667788ull);
    ao_buf s;
    ao_buf_init(&s);
    assert_int_equal(wasm_instance_snapshot(a.i, &s, NULL), AO_OK);
    assert_true(s.len < 6000);
    /* b's memory holds other bytes (and the data segment) where the
     * snapshot has zeros: they must read back as zero */
    memset(wasm_memory_data(b.mem), 0xcc, (size_t)wasm_memory_size(b.mem));
    assert_int_equal(wasm_instance_restore(b.i, s.data, s.len, NULL), AO_OK);
    assert_same(&a, &b);
    /* the same state gives the same bytes */
    ao_buf s2;
    ao_buf_init(&s2);
    assert_int_equal(wasm_instance_snapshot(b.i, &s2, NULL), AO_OK);
    assert_int_equal(s.len, s2.len);
    assert_true(memcmp(s.data, s2.data, s.len) == 0);
    ao_buf_free(&s);
    ao_buf_free(&s2);
    wasm_store_free(a.s);
    wasm_store_free(b.s);
    wasm_module_free(m);
}

/* ---- hand-made snapshot bodies ---- */

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void put32(ao_buf *b, uint32_t v)
{
    uint8_t x[4];
    ao_wr_u32le(x, v);
    assert_int_equal(ao_buf_append(b, x, 4), AO_OK);
}

static void head(ao_buf *b, uint32_t version, uint64_t pages)
{
    assert_int_equal(ao_buf_append(b, "AOWS", 4), AO_OK);
    put32(b, version);
    assert_int_equal(ao_buf_append_u64le(b, fnv1a(MODULE, sizeof MODULE)), AO_OK);
    assert_int_equal(ao_buf_append_u64le(b, sizeof MODULE), AO_OK);
    put32(b, 1);
    assert_int_equal(ao_buf_append_u64le(b, pages), AO_OK);
}

static void tail(ao_buf *b, uint64_t g)
{
    put32(b, 1);
    assert_int_equal(ao_buf_append_u64le(b, g), AO_OK);
    put32(b, 0);   /* tables */
    put32(b, 0);   /* element segments */
    put32(b, 1);   /* data segments */
    assert_int_equal(ao_buf_append_byte(b, 1), AO_OK);
}

static void zpack(const ao_buf *raw, ao_buf *out)
{
    size_t bound = ZSTD_compressBound(raw->len);
    assert_int_equal(ao_buf_reserve(out, bound), AO_OK);
    size_t z = ZSTD_compress(out->data, bound, raw->data, raw->len, 1);
    assert_false(ZSTD_isError(z));
    out->len = z;
}

static void format1_snapshot_still_restores(void **state)
{
    (void)state;
    wasm_module *m = load();
    fx a;
    fx_new(&a, m);
    ao_buf raw, z;
    ao_buf_init(&raw);
    ao_buf_init(&z);
    head(&raw, 1, 3);
    for (uint32_t k = 0; k < 3 * 65536; k++)
        assert_int_equal(ao_buf_append_byte(&raw, (uint8_t)(k % 251)), AO_OK);
    tail(&raw, 77);
    zpack(&raw, &z);
    ao_error err;
    int rc = wasm_instance_restore(a.i, z.data, z.len, &err);
    if (rc != AO_OK)
        fail_msg("restore: %s", err.msg);
    assert_int_equal(wasm_memory_pages(a.mem), 3);
    const uint8_t *d = wasm_memory_data(a.mem);
    for (uint32_t k = 0; k < 3 * 65536; k++)
        if (d[k] != (uint8_t)(k % 251))
            fail_msg("byte %u", k);
    assert_int_equal(gval(&a), 77);
    ao_buf_free(&raw);
    ao_buf_free(&z);
    wasm_store_free(a.s);
    wasm_module_free(m);
}

/* A format-2 body with the given runs (first, count) of unit bytes k. */
static void body2(ao_buf *raw, uint64_t pages, uint8_t shift, const uint64_t (*runs)[2], int nruns)
{
    head(raw, 2, pages);
    assert_int_equal(ao_buf_append_byte(raw, shift), AO_OK);
    assert_int_equal(ao_buf_append_u64le(raw, (uint64_t)nruns), AO_OK);
    for (int r = 0; r < nruns; r++) {
        assert_int_equal(ao_buf_append_u64le(raw, runs[r][0]), AO_OK);
        assert_int_equal(ao_buf_append_u64le(raw, runs[r][1]), AO_OK);
        for (uint64_t k = 0; k < runs[r][1] * 4096; k++)
            assert_int_equal(ao_buf_append_byte(raw, (uint8_t)(r + 1)), AO_OK);
    }
    tail(raw, 5);
}

static void bad_runs_refused_and_instance_untouched(void **state)
{
    (void)state;
    wasm_module *m = load();
    fx a;
    fx_new(&a, m);
    memset(wasm_memory_data(a.mem), 0x3c, 2 * 65536);
    gset(&a, 1234);
    static const uint64_t overlap[][2] = {{1, 2}, {2, 1}};
    static const uint64_t touching[][2] = {{1, 1}, {2, 1}};
    static const uint64_t beyond[][2] = {{40, 9}};   /* 2 pages = 32 units */
    static const uint64_t empty[][2] = {{3, 0}};
    static const uint64_t good[][2] = {{0, 1}, {5, 2}};
    struct { const uint64_t (*r)[2]; int n; uint64_t pages; uint8_t sh; } cases[] = {
        {overlap, 2, 2, 12}, {touching, 2, 2, 12}, {beyond, 1, 2, 12}, {empty, 1, 2, 12},
        {good, 2, 2, 16},    /* unit size not 4 KiB */
        {good, 2, 9, 12},    /* more pages than the maximum */
        {good, 2, 1, 12},    /* fewer pages than the instance has */
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        ao_buf raw, z;
        ao_buf_init(&raw);
        ao_buf_init(&z);
        body2(&raw, cases[c].pages, cases[c].sh, cases[c].r, cases[c].n);
        zpack(&raw, &z);
        int rc = wasm_instance_restore(a.i, z.data, z.len, NULL);
        if (rc == AO_OK)
            fail_msg("case %zu restored", c);
        assert_int_equal(wasm_memory_pages(a.mem), 2);
        const uint8_t *d = wasm_memory_data(a.mem);
        for (uint32_t k = 0; k < 2 * 65536; k++)
            if (d[k] != 0x3c)
                fail_msg("case %zu changed byte %u", c, k);
        assert_int_equal(gval(&a), 1234);
        /* truncated: refused too */
        raw.len -= 3;
        z.len = 0;
        zpack(&raw, &z);
        assert_true(wasm_instance_restore(a.i, z.data, z.len, NULL) < 0);
        ao_buf_free(&raw);
        ao_buf_free(&z);
    }
    /* and the good one restores: units 0, 5, 6 set, the rest zero */
    ao_buf raw, z;
    ao_buf_init(&raw);
    ao_buf_init(&z);
    body2(&raw, 3, 12, good, 2);
    zpack(&raw, &z);
    assert_int_equal(wasm_instance_restore(a.i, z.data, z.len, NULL), AO_OK);
    assert_int_equal(wasm_memory_pages(a.mem), 3);
    const uint8_t *d = wasm_memory_data(a.mem);
    for (uint32_t k = 0; k < 3 * 65536; k++) {
        uint32_t u = k / 4096;
        uint8_t want = u == 0 ? 1 : (u == 5 || u == 6) ? 2 : 0;
        if (d[k] != want)
            fail_msg("byte %u is %u, want %u", k, d[k], want);
    }
    assert_int_equal(gval(&a), 5);
    ao_buf_free(&raw);
    ao_buf_free(&z);
    wasm_store_free(a.s);
    wasm_module_free(m);
}

static void corrupt_snapshot_refused(void **state)
{
    (void)state;
    wasm_module *m = load();
    fx a, b;
    fx_new(&a, m);
    fx_new(&b, m);
    uint8_t *d = wasm_memory_data(a.mem);
    for (int k = 0; k < 65536; k++)
        d[k] = (uint8_t)(k * 31 + (k >> 8));
    ao_buf s;
    ao_buf_init(&s);
    assert_int_equal(wasm_instance_snapshot(a.i, &s, NULL), AO_OK);
    int refused = 0;
    for (size_t at = 20; at < s.len; at += s.len / 17 + 1) {
        s.data[at] ^= 0x20;
        if (wasm_instance_restore(b.i, s.data, s.len, NULL) < 0)
            refused++;
        s.data[at] ^= 0x20;
    }
    assert_int_equal(refused, (int)((s.len - 20 + s.len / 17) / (s.len / 17 + 1)));
    assert_int_equal(wasm_instance_restore(b.i, s.data, s.len, NULL), AO_OK);
    assert_same(&a, &b);
    ao_buf_free(&s);
    wasm_store_free(a.s);
    wasm_store_free(b.s);
    wasm_module_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(mostly_zero_memory_snapshots_small_and_restores_exactly),
        cmocka_unit_test(format1_snapshot_still_restores),
        cmocka_unit_test(bad_runs_refused_and_instance_untouched),
        cmocka_unit_test(corrupt_snapshot_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
