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

#include "wasm_delta_fixture.h"

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
