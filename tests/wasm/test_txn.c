/* test_txn.c - engine transactions (wasm_instance_txn_begin/commit/
 * rollback): a rollback gives back exactly the state at begin - memory
 * bytes after writes to many pages (wasm stores of every width, bulk
 * memory ops, host writes), the memory size after memory.grow (new pages
 * zero when grown again), globals, table elements and segment state - also
 * after a trap, over runs of consecutive commits and rollbacks, and with
 * delta snapshots taken across transactions; groups a commit leaves
 * writable (hot) take no faults and stay tracked. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "wasm/wasm.h"
#include "wasm_bytes.h"

#include "wasm_delta_fixture.h"

/* ---- tests ---- */

/* The observable state of an instance. */
typedef struct snapst {
    uint8_t *mem;
    uint64_t size;
    uint64_t g;
    wasm_func *t[4];
} snapst;

static void state_take(inst *x, snapst *st)
{
    st->size = wasm_memory_size(x->mem);
    st->mem = malloc(st->size);
    assert_non_null(st->mem);
    memcpy(st->mem, wasm_memory_view(x->mem), st->size);
    wasm_extern e;
    wasm_val v;
    assert_int_equal(wasm_instance_export(x->i, "g", &e), AO_OK);
    wasm_global_get(e.of.global, &v);
    st->g = v.of.i64;
    assert_int_equal(wasm_instance_export(x->i, "t", &e), AO_OK);
    assert_int_equal(wasm_table_size(e.of.table), 4);
    for (int k = 0; k < 4; k++) {
        assert_int_equal(wasm_table_get(e.of.table, k, &v), AO_OK);
        st->t[k] = v.of.func;
    }
}

static void assert_state_is(inst *x, const snapst *st)
{
    snapst now;
    state_take(x, &now);
    assert_int_equal(now.size, st->size);
    if (memcmp(now.mem, st->mem, st->size) != 0) {
        size_t k = 0;
        while (now.mem[k] == st->mem[k])
            k++;
        fail_msg("memory differs first at byte %zu (page %zu)", k, k >> 12);
    }
    assert_int_equal(now.g, st->g);
    for (int k = 0; k < 4; k++)
        assert_ptr_equal(now.t[k], st->t[k]);
    free(now.mem);
}

static void begin_ok(inst *x)
{
    ao_error err;
    int rc = wasm_instance_txn_begin(x->i, &err);
    if (rc != AO_OK)
        fail_msg("txn_begin: %s", err.msg);
    assert_true(wasm_instance_txn_open(x->i));
}

static void fill_pattern(inst *x)
{
    uint8_t *d = wasm_memory_data(x->mem);
    for (uint64_t k = 0; k < wasm_memory_size(x->mem); k++)
        d[k] = (uint8_t)(k * 131 + 7);
}

/* Memory of random bytes (they do not compress: delta sizes show pages). */
static void fill_random(inst *x, uint64_t seed)
{
    rng_state = seed;
    uint8_t *d = wasm_memory_data(x->mem);
    for (uint64_t k = 0; k < wasm_memory_size(x->mem); k += 8) {
        uint64_t v = rnd();
        memcpy(d + k, &v, 8);
    }
}

static void rollback_restores_writes_to_many_pages(void **state)
{
    (void)state;
    wasm_module *m = delta_module(8, 16, 1);
    inst x;
    inst_new(&x, m);
    fill_pattern(&x);
    snapst before;
    state_take(&x, &before);
    begin_ok(&x);
    /* every page written, by wasm stores, memory.fill and the host */
    for (uint64_t a = 0; a < 8 * 65536; a += 4096)
        call(&x, F_I64ST, a + 8, 0x1122334455667788ull, 0);
    call(&x, F_FILL, 100, 0xee, 3 * 65536);
    wasm_memory_data(x.mem)[7 * 65536 + 5] = 0x42;
    wasm_instance_txn_rollback(x.i);
    assert_false(wasm_instance_txn_open(x.i));
    assert_state_is(&x, &before);
    /* and the memory works as before: writable, tracked again */
    call(&x, F_I32ST, 64, 99, 0);
    assert_int_equal(wasm_memory_data(x.mem)[64], 99);
    free(before.mem);
    inst_free(&x);
    wasm_module_free(m);
}

static void rollback_undoes_memory_grow(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 8, 2);
    inst x;
    inst_new(&x, m);
    fill_pattern(&x);
    snapst before;
    state_take(&x, &before);
    begin_ok(&x);
    assert_int_equal(call(&x, F_GROW, 3, 0, 0), AO_OK);
    assert_int_equal(wasm_memory_pages(x.mem), 4);
    call(&x, F_I64ST, 3 * 65536 + 64, 0xffffffffffffffffull, 0);
    call(&x, F_FILL, 65536, 0xab, 2 * 65536);
    call(&x, F_I32ST, 16, 5, 0);
    wasm_instance_txn_rollback(x.i);
    assert_int_equal(wasm_memory_pages(x.mem), 1);
    assert_state_is(&x, &before);
    /* the dropped pages are out of bounds, and zero when grown again */
    assert_int_equal(call(&x, F_I32ST, 65536 + 4, 1, 0), AO_ETRAP);
    assert_int_equal(wasm_memory_grow(x.mem, 3), 1);
    const uint8_t *d = wasm_memory_data(x.mem);
    for (uint64_t k = 65536; k < 4 * 65536; k++)
        if (d[k])
            fail_msg("byte %llu of a regrown page is %u", (unsigned long long)k, d[k]);
    free(before.mem);
    inst_free(&x);
    wasm_module_free(m);
}

static void rollback_restores_globals_table_and_segments(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 4, 3);
    inst x;
    inst_new(&x, m);
    call(&x, F_GSET, 77, 0, 0);
    snapst before;
    state_take(&x, &before);
    assert_null(before.t[2]);
    begin_ok(&x);
    call(&x, F_GSET, 12345, 0, 0);
    call(&x, F_TSET, 2, 0, 0);
    assert_int_equal(call(&x, F_DROP, 0, 0, 0), AO_OK);
    assert_int_equal(call(&x, F_INIT, 0, 0, 8), AO_ETRAP);   /* dropped */
    wasm_instance_txn_rollback(x.i);
    assert_state_is(&x, &before);
    /* the data segment is back */
    assert_int_equal(call(&x, F_INIT, 0, 0, 8), AO_OK);
    /* a committed change stays */
    begin_ok(&x);
    call(&x, F_GSET, 9, 0, 0);
    call(&x, F_TSET, 1, 0, 0);
    wasm_instance_txn_commit(x.i);
    snapst after;
    state_take(&x, &after);
    assert_int_equal(after.g, 9);
    assert_non_null(after.t[1]);
    free(after.mem);
    free(before.mem);
    inst_free(&x);
    wasm_module_free(m);
}

static void rollback_after_trap(void **state)
{
    (void)state;
    wasm_module *m = delta_module(2, 4, 4);
    inst x;
    inst_new(&x, m);
    fill_pattern(&x);
    snapst before;
    state_take(&x, &before);
    begin_ok(&x);
    call(&x, F_FILL, 0, 0, 65536 + 100);
    call(&x, F_GSET, 3, 0, 0);
    assert_int_equal(call(&x, F_I64ST, 2 * 65536 - 4, 1, 0), AO_ETRAP);
    wasm_instance_txn_rollback(x.i);
    assert_state_is(&x, &before);
    free(before.mem);
    inst_free(&x);
    wasm_module_free(m);
}

/* Random transactions, each committed or rolled back, against the state
 * taken at each begin; snapshots and deltas along the way follow the
 * committed states on a replica. */
static void consecutive_transactions_random(void **state)
{
    (void)state;
    wasm_module *m = delta_module(2, 12, 5);
    inst x, y;
    inst_new(&x, m);
    inst_new(&y, m);
    rng_state = 0x9e3779b97f4a7c15ull;
    for (int k = 0; k < 30; k++)
        random_op(&x);
    ao_buf full;
    ao_buf_init(&full);
    assert_int_equal(wasm_instance_snapshot(x.i, &full, NULL), AO_OK);
    restore_ok(&y, &full);
    int rollbacks = 0, commits = 0, run = 0;
    for (int round = 0; round < 120; round++) {
        snapst before;
        state_take(&x, &before);
        begin_ok(&x);
        /* snapshots are refused while a transaction is open */
        ao_buf tmp;
        ao_buf_init(&tmp);
        assert_int_equal(wasm_instance_snapshot_delta(x.i, &tmp, NULL), AO_ESTATE);
        assert_int_equal(wasm_instance_snapshot(x.i, &tmp, NULL), AO_ESTATE);
        assert_int_equal(wasm_instance_restore(x.i, full.data, full.len, NULL), AO_ESTATE);
        ao_buf_free(&tmp);
        int nops = 1 + (int)(rnd() % 40);
        for (int k = 0; k < nops; k++)
            random_op(&x);
        /* runs of consecutive rollbacks, then of commits */
        if ((round / 5) % 2 == 0 || rnd() % 3 == 0) {
            wasm_instance_txn_rollback(x.i);
            assert_state_is(&x, &before);
            rollbacks++;
        } else {
            wasm_instance_txn_commit(x.i);
            commits++;
        }
        free(before.mem);
        if (round % 7 == 6) {
            ao_buf d;
            ao_buf_init(&d);
            assert_int_equal(wasm_instance_snapshot_delta(x.i, &d, NULL), AO_OK);
            restore_ok(&y, &d);
            assert_same_memory(&x, &y);
            ao_buf_free(&d);
            run++;
        }
    }
    assert_true(rollbacks > 20 && commits > 20 && run > 10);
    ao_buf_free(&full);
    inst_free(&x);
    inst_free(&y);
    wasm_module_free(m);
}

/* A page written in a rolled-back transaction, and one grown and dropped,
 * must still be right in the next delta (the replica follows exactly). */
static void delta_after_rollback_of_grow(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 8, 6);
    inst x, y;
    inst_new(&x, m);
    inst_new(&y, m);
    fill_pattern(&x);
    ao_buf full, d;
    ao_buf_init(&full);
    ao_buf_init(&d);
    assert_int_equal(wasm_instance_snapshot(x.i, &full, NULL), AO_OK);
    restore_ok(&y, &full);
    begin_ok(&x);
    call(&x, F_GROW, 2, 0, 0);
    call(&x, F_I32ST, 2 * 65536 + 8, 0x5a5a5a5a, 0);
    call(&x, F_I32ST, 8, 0x5a5a5a5a, 0);
    wasm_instance_txn_rollback(x.i);
    begin_ok(&x);
    call(&x, F_GROW, 1, 0, 0);   /* the regrown page must be zero on both */
    call(&x, F_I32ST, 65536 + 16, 3, 0);
    wasm_instance_txn_commit(x.i);
    assert_int_equal(wasm_instance_snapshot_delta(x.i, &d, NULL), AO_OK);
    restore_ok(&y, &d);
    assert_same_memory(&x, &y);
    ao_buf_free(&full);
    ao_buf_free(&d);
    inst_free(&x);
    inst_free(&y);
    wasm_module_free(m);
}

static void begin_twice_refused(void **state)
{
    (void)state;
    wasm_module *m = delta_module(1, 2, 7);
    inst x;
    inst_new(&x, m);
    begin_ok(&x);
    assert_int_equal(wasm_instance_txn_begin(x.i, NULL), AO_ESTATE);
    wasm_instance_txn_commit(x.i);
    assert_false(wasm_instance_txn_open(x.i));
    inst_free(&x);
    wasm_module_free(m);
}

/* An instance freed with a transaction open leaves nothing behind: the
 * next transaction on this thread (another instance) rolls back right. */
static void free_with_open_transaction(void **state)
{
    (void)state;
    wasm_module *m = delta_module(2, 4, 8);
    inst x, z;
    inst_new(&x, m);
    begin_ok(&x);
    call(&x, F_FILL, 0, 1, 2 * 65536);
    inst_free(&x);
    inst_new(&z, m);
    fill_pattern(&z);
    snapst before;
    state_take(&z, &before);
    begin_ok(&z);
    call(&z, F_FILL, 0, 9, 2 * 65536);
    wasm_instance_txn_rollback(z.i);
    assert_state_is(&z, &before);
    free(before.mem);
    inst_free(&z);
    wasm_module_free(m);
}

/* A transaction opens pages by groups (one fault per 64 KiB): the next
 * delta still carries only the pages whose bytes changed. */
/* Groups a commit leaves writable (hot): the next transactions that write
 * them take no fault, still roll back exactly, and a group a transaction
 * did not change is protected again. */
static void hot_groups_take_no_faults_and_roll_back(void **state)
{
    (void)state;
    wasm_module *m = delta_module(16, 16, 11);
    inst x;
    inst_new(&x, m);
    fill_pattern(&x);
    ao_buf full;
    ao_buf_init(&full);
    assert_int_equal(wasm_instance_snapshot(x.i, &full, NULL), AO_OK);
    const uint64_t A = 5 * 65536 + 100;   /* group 5 */
    begin_ok(&x);
    call(&x, F_I64ST, A, 0x0102030405060708ull, 0);
    wasm_instance_txn_commit(x.i);
    snapst after1;
    state_take(&x, &after1);
    uint64_t f0 = wasm_memory_write_faults(x.mem);
    /* the same group again, other pages of it too: no fault; rolled back */
    begin_ok(&x);
    call(&x, F_I64ST, A + 8, 0x1111111111111111ull, 0);
    call(&x, F_I64ST, A + 3 * 4096, 0x2222222222222222ull, 0);
    call(&x, F_FILL, A + 9 * 4096, 0x33, 5000);
    wasm_memory_data(x.mem)[A + 15 * 4096 - 100] ^= 0xff;
    assert_int_equal(wasm_memory_write_faults(x.mem), f0);
    wasm_instance_txn_rollback(x.i);
    assert_state_is(&x, &after1);
    /* a rollback protects the group again: the next write faults once */
    begin_ok(&x);
    call(&x, F_I64ST, A, 7, 0);
    assert_int_equal(wasm_memory_write_faults(x.mem), f0 + 1);
    wasm_instance_txn_commit(x.i);
    /* a transaction that leaves the group unchanged protects it again */
    begin_ok(&x);
    call(&x, F_I64ST, A, 7, 0);           /* the same bytes */
    wasm_instance_txn_commit(x.i);
    begin_ok(&x);
    call(&x, F_I64ST, A, 8, 0);
    assert_int_equal(wasm_memory_write_faults(x.mem), f0 + 2);
    wasm_instance_txn_commit(x.i);
    free(after1.mem);
    ao_buf_free(&full);
    inst_free(&x);
    wasm_module_free(m);
}

/* Writes outside a transaction to pages of a hot group (by wasm code and by
 * the host through wasm_memory_data) are tracked: the next delta carries
 * them, and it restores onto a copy to the same memory. */
static void writes_after_a_commit_to_hot_pages_are_tracked(void **state)
{
    (void)state;
    wasm_module *m = delta_module(16, 16, 12);
    inst a, b;
    inst_new(&a, m);
    inst_new(&b, m);
    fill_random(&a, 777);
    ao_buf full, d;
    ao_buf_init(&full);
    ao_buf_init(&d);
    assert_int_equal(wasm_instance_snapshot(a.i, &full, NULL), AO_OK);
    assert_int_equal(wasm_instance_restore(b.i, full.data, full.len, NULL), AO_OK);
    const uint64_t A = 3 * 65536 + 40, B = 9 * 65536 + 40;
    begin_ok(&a);
    call(&a, F_I32ST8, A, wasm_memory_view(a.mem)[A] ^ 1, 0);
    call(&a, F_I32ST8, B, wasm_memory_view(a.mem)[B] ^ 1, 0);
    wasm_instance_txn_commit(a.i);
    /* groups 3 and 9 are hot; their other pages unchanged so far */
    call(&a, F_I32ST8, A + 4096, 0x5a, 0);              /* wasm, no transaction */
    wasm_memory_data(a.mem)[B + 2 * 4096] ^= 0x5a;      /* host, no transaction */
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d, NULL), AO_OK);
    assert_true(d.len > 4 * 4000);    /* the four pages written */
    assert_true(d.len < 4 * 4096 + 2000);
    assert_int_equal(wasm_instance_restore_delta(b.i, d.data, d.len, NULL), AO_OK);
    assert_int_equal(wasm_memory_size(b.mem), wasm_memory_size(a.mem));
    assert_memory_equal(wasm_memory_view(b.mem), wasm_memory_view(a.mem), wasm_memory_size(a.mem));
    ao_buf_free(&full);
    ao_buf_free(&d);
    inst_free(&a);
    inst_free(&b);
    wasm_module_free(m);
}

static void delta_after_transactions_carries_only_changed_pages(void **state)
{
    (void)state;
    wasm_module *m = delta_module(16, 16, 10);
    inst a;
    inst_new(&a, m);
    fill_random(&a, 4242);
    const uint8_t *dd = wasm_memory_view(a.mem);
    ao_buf full, d;
    ao_buf_init(&full);
    ao_buf_init(&d);
    assert_int_equal(wasm_instance_snapshot(a.i, &full, NULL), AO_OK);
    /* one byte changed in a committed transaction: one page */
    begin_ok(&a);
    call(&a, F_I32ST8, 300000, dd[300000] ^ 1, 0);
    wasm_instance_txn_commit(a.i);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d, NULL), AO_OK);
    assert_true(d.len > 4000);
    assert_true(d.len < 6000);
    /* a write of the bytes already there, then a rolled-back change: none */
    d.len = 0;
    begin_ok(&a);
    call(&a, F_I32ST8, 500000, dd[500000], 0);
    wasm_instance_txn_commit(a.i);
    begin_ok(&a);
    call(&a, F_I32ST8, 700000, dd[700000] ^ 1, 0);
    wasm_instance_txn_rollback(a.i);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d, NULL), AO_OK);
    assert_true(d.len < 1000);
    /* two pages changed far apart in one transaction: two pages */
    d.len = 0;
    begin_ok(&a);
    call(&a, F_I32ST8, 100000, dd[100000] ^ 1, 0);
    call(&a, F_I32ST8, 900000, dd[900000] ^ 1, 0);
    wasm_instance_txn_commit(a.i);
    assert_int_equal(wasm_instance_snapshot_delta(a.i, &d, NULL), AO_OK);
    assert_true(d.len > 8000);
    assert_true(d.len < 10000);
    ao_buf_free(&full);
    ao_buf_free(&d);
    inst_free(&a);
    wasm_module_free(m);
}

/* Threads each running transactions on their own instances at the same
 * time (a CU's worker pool): every rollback exact, deltas exact. */
typedef struct worker {
    wasm_module *m;
    uint64_t seed;
    int rollbacks;
    char fail[160];
} worker;

static void *worker_run(void *arg)
{
    worker *w = arg;
    inst x, y;
    ao_buf full;
    ao_buf_init(&full);
    /* cmocka's asserts are not for other threads: check by hand */
    if (wasm_store_new(&x.s, NULL) || wasm_instantiate(x.s, w->m, NULL, 0, &x.i, NULL, NULL) ||
        wasm_store_new(&y.s, NULL) || wasm_instantiate(y.s, w->m, NULL, 0, &y.i, NULL, NULL)) {
        snprintf(w->fail, sizeof w->fail, "instantiate");
        return NULL;
    }
    for (uint32_t k = 0; k < F_COUNT; k++) {
        wasm_extern e;
        wasm_instance_export(x.i, FNAMES[k], &e);
        x.f[k] = e.of.func;
    }
    x.mem = wasm_instance_memory(x.i, 0);
    y.mem = wasm_instance_memory(y.i, 0);
    uint64_t r = w->seed;
    uint8_t *d = wasm_memory_data(x.mem);
    for (uint64_t k = 0; k < wasm_memory_size(x.mem); k++)
        d[k] = (uint8_t)(k * 13 + w->seed);
    wasm_instance_snapshot(x.i, &full, NULL);
    wasm_instance_restore(y.i, full.data, full.len, NULL);
    for (int round = 0; round < 60 && !w->fail[0]; round++) {
        uint64_t size = wasm_memory_size(x.mem);
        uint8_t *before = malloc(size);
        memcpy(before, wasm_memory_data(x.mem), size);
        if (wasm_instance_txn_begin(x.i, NULL) != AO_OK) {
            snprintf(w->fail, sizeof w->fail, "begin");
            free(before);
            break;
        }
        for (int k = 0; k < 20; k++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            uint64_t a = (r >> 17) % (wasm_memory_size(x.mem) - 8);
            wasm_val args[2] = {{.type = WASM_I32, .of.i32 = (uint32_t)a},
                                {.type = WASM_I64, .of.i64 = r}};
            wasm_trap trap;
            wasm_func_call(x.s, x.f[F_I64ST], args, 2, NULL, 0, &trap, NULL);
            if (k == 10 && (r & 3) == 0) {
                wasm_val g = {.type = WASM_I32, .of.i32 = 1};
                wasm_func_call(x.s, x.f[F_GROW], &g, 1, args, 1, &trap, NULL);
            }
        }
        if (round % 2 == 0) {
            wasm_instance_txn_rollback(x.i);
            w->rollbacks++;
            if (wasm_memory_size(x.mem) != size ||
                memcmp(before, wasm_memory_data(x.mem), size) != 0)
                snprintf(w->fail, sizeof w->fail, "round %d: rollback not exact", round);
        } else {
            wasm_instance_txn_commit(x.i);
        }
        free(before);
        if (round % 10 == 9) {
            ao_buf dl;
            ao_buf_init(&dl);
            if (wasm_instance_snapshot_delta(x.i, &dl, NULL) != AO_OK ||
                wasm_instance_restore(y.i, dl.data, dl.len, NULL) != AO_OK ||
                wasm_memory_size(x.mem) != wasm_memory_size(y.mem) ||
                memcmp(wasm_memory_data(x.mem), wasm_memory_data(y.mem),
                       (size_t)wasm_memory_size(x.mem)) != 0)
                snprintf(w->fail, sizeof w->fail, "round %d: delta replica differs", round);
            ao_buf_free(&dl);
        }
    }
    ao_buf_free(&full);
    wasm_store_free(x.s);
    wasm_store_free(y.s);
    return NULL;
}

static void transactions_on_several_threads(void **state)
{
    (void)state;
    wasm_module *m = delta_module(4, 16, 9);
    enum { NT = 4 };
    pthread_t th[NT];
    worker w[NT];
    memset(w, 0, sizeof w);
    for (int i = 0; i < NT; i++) {
        w[i].m = m;
        w[i].seed = 1000u + (uint64_t)i * 77u;
        assert_int_equal(pthread_create(&th[i], NULL, worker_run, &w[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NT; i++) {
        if (w[i].fail[0])
            fail_msg("thread %d: %s", i, w[i].fail);
        assert_int_equal(w[i].rollbacks, 30);
    }
    wasm_module_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rollback_restores_writes_to_many_pages),
        cmocka_unit_test(rollback_undoes_memory_grow),
        cmocka_unit_test(rollback_restores_globals_table_and_segments),
        cmocka_unit_test(rollback_after_trap),
        cmocka_unit_test(consecutive_transactions_random),
        cmocka_unit_test(delta_after_rollback_of_grow),
        cmocka_unit_test(begin_twice_refused),
        cmocka_unit_test(free_with_open_transaction),
        cmocka_unit_test(delta_after_transactions_carries_only_changed_pages),
        cmocka_unit_test(hot_groups_take_no_faults_and_roll_back),
        cmocka_unit_test(writes_after_a_commit_to_hot_pages_are_tracked),
        cmocka_unit_test(transactions_on_several_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
