/* test_host_rollback.c - the per-message rollback of src/host (an engine
 * transaction) on the aos test module: an Error after memory.grow, after
 * writes to many pages, out of gas (a trap), consecutive errors, and an
 * error followed by a success all leave exactly the state before (memory
 * bytes and size, and the engine snapshot: globals, table); cold resume
 * from a snapshot and new_from_memory continue identically; processes on
 * several threads at once end as on one. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "host/host.h"

#include "host_test_module.h"

/* Run one message that must fail with an Error containing want. */
static void run_error(host_process *p, const char *action, const char *data, long long ts,
                      const char *want)
{
    host_result r;
    run(p, action, data, ts, &r);
    if (!r.error || !strstr(r.error, want))
        fail_msg("wanted an Error with '%s', got %s", want, r.error ? r.error : r.json);
    host_result_free(&r);
}

static char *run_ok(host_process *p, const char *action, const char *data, long long ts)
{
    host_result r;
    run(p, action, data, ts, &r);
    if (r.error) fail_msg("unexpected Error: %s", r.error);
    char *j = strdup(r.json);
    host_result_free(&r);
    return j;
}

/* The whole state of a process: its memory and its engine snapshot
 * (memory, globals, table, segment state; identical states give identical
 * snapshots). */
typedef struct pstate {
    uint8_t *mem;
    size_t len;
    ao_buf snap;
} pstate;

static void pstate_take(host_process *p, pstate *s)
{
    const uint8_t *m = host_process_memory(p, &s->len);
    s->mem = malloc(s->len);
    assert_non_null(s->mem);
    memcpy(s->mem, m, s->len);
    ao_buf_init(&s->snap);
    assert_int_equal(host_process_snapshot(p, &s->snap, NULL), AO_OK);
}

static void pstate_free(pstate *s)
{
    free(s->mem);
    ao_buf_free(&s->snap);
}

static void assert_pstate_equal(const pstate *a, const pstate *b)
{
    assert_int_equal(a->len, b->len);
    if (memcmp(a->mem, b->mem, a->len) != 0) {
        size_t k = 0;
        while (a->mem[k] == b->mem[k]) k++;
        fail_msg("memories differ first at byte %zu", k);
    }
    assert_int_equal(a->snap.len, b->snap.len);
    assert_true(memcmp(a->snap.data, b->snap.data, a->snap.len) == 0);
}

static void assert_state_is(host_process *p, const pstate *want)
{
    pstate now;
    pstate_take(p, &now);
    assert_pstate_equal(&now, want);
    pstate_free(&now);
}

/* Fewer rounds under ASan (about 5x slower) to keep the suite quick. */
#ifdef __SANITIZE_ADDRESS__
#define ROUNDS_SCALE 1
#else
#define ROUNDS_SCALE 2
#endif

/* ---- tests ---- */

static void error_after_grow_rolls_back_size_and_bytes(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    free(run_ok(p, "Alloc", "10", 1));
    pstate before;
    pstate_take(p, &before);
    assert_int_equal(before.len, 16u << 20);
    /* ~30 MiB of strings: the memory grows past its 16 MiB, then an error */
    run_error(p, "Eval", "local t = {} for i = 1, 30000 do t[i] = string.rep('y', 1000) .. i end "
              "Kept2 = t error('after grow')", 2, "after grow");
    assert_state_is(p, &before);
    /* the next message runs on the old state, and may grow again */
    char *j = run_ok(p, "Alloc", "20000", 3);
    assert_non_null(strstr(j, "kept 20010"));
    free(j);
    size_t n;
    host_process_memory(p, &n);
    assert_true(n > (16u << 20));
    pstate_free(&before);
    host_process_free(p);
}

static void error_after_writes_to_many_pages(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    free(run_ok(p, "Alloc", "1000", 1));   /* about 1 MiB of live strings */
    pstate before;
    pstate_take(p, &before);
    /* rewrites every kept string's slot, builds 2 MiB of table, collects */
    run_error(p, "Eval", "for i = 1, #Kept do Kept[i] = Kept[#Kept - i + 1] .. 'z' end "
              "local t = {} for i = 1, 250000 do t[i] = i end collectgarbage() error('many')",
              2, "many");
    assert_state_is(p, &before);
    pstate_free(&before);
    host_process_free(p);
}

static void out_of_gas_after_writes_rolls_back(void **state)
{
    (void)state;
    host_limits lim = {.compute_limit = 120000000};
    host_process *p = new_proc(&lim);
    free(run_ok(p, "Alloc", "100", 1));
    pstate before;
    pstate_take(p, &before);
    host_result r;
    run(p, "Eval", "local t = {} local i = 0 while true do i = i + 1 t[i] = i .. 'x' end", 2, &r);
    assert_non_null(r.error);
    assert_string_equal(r.error, "out of gas");
    host_result_free(&r);
    assert_state_is(p, &before);
    pstate_free(&before);
    host_process_free(p);
}

static void consecutive_errors_each_roll_back(void **state)
{
    (void)state;
    host_limits lim = {.compute_limit = 120000000};
    host_process *p = new_proc(&lim);
    free(run_ok(p, NULL, "", 1));
    pstate before;
    pstate_take(p, &before);
    for (int k = 0; k < ROUNDS_SCALE; k++) {
        run_error(p, "Error", "first", 2 + k * 10, "first");
        assert_state_is(p, &before);
        run_error(p, "Eval", "local t = {} for i = 1, 20000 do t[i] = {i} end error('second')",
                  3 + k * 10, "second");
        assert_state_is(p, &before);
        run_error(p, "Loop", "", 4 + k * 10, "out of gas");
        assert_state_is(p, &before);
        run_error(p, "Fn", "", 5 + k * 10, "");
        assert_state_is(p, &before);
    }
    char *j = run_ok(p, NULL, "", 100);
    assert_non_null(strstr(j, "count=2 "));
    free(j);
    pstate_free(&before);
    host_process_free(p);
}

/* A process that saw failing messages between two others ends in the
 * state of one that saw only the two. */
static void error_then_success_equals_success_alone(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL), *q = new_proc(NULL);
    free(run_ok(p, "Alloc", "300", 1));
    free(run_ok(q, "Alloc", "300", 1));
    run_error(p, "Eval", "local t = {} for i = 1, 20000 do t[i] = string.rep('q', 1000) .. i end "
              "Kept3 = t error('grown')", 2, "grown");
    run_error(p, "Fn", "", 3, "");
    run_error(p, "Error", "x", 4, "x");
    char *a = run_ok(p, "Alloc", "50", 5), *b = run_ok(q, "Alloc", "50", 5);
    assert_string_equal(a, b);
    free(a);
    free(b);
    a = run_ok(p, NULL, "", 6);
    b = run_ok(q, NULL, "", 6);
    assert_string_equal(a, b);
    free(a);
    free(b);
    pstate sp, sq;
    pstate_take(p, &sp);
    pstate_take(q, &sq);
    assert_pstate_equal(&sp, &sq);
    pstate_free(&sp);
    pstate_free(&sq);
    host_process_free(p);
    host_process_free(q);
}

/* A cold resume (host_process_new_from_snapshot) continues like the
 * process it was taken from, and like new + restore. */
static void new_from_snapshot_continues_identically(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    free(run_ok(p, "Alloc", "500", 1));
    free(run_ok(p, NULL, "", 2));
    run_error(p, "Error", "e", 3, "e");
    ao_buf snap;
    ao_buf_init(&snap);
    assert_int_equal(host_process_snapshot(p, &snap, NULL), AO_OK);
    assert_true(snap.len < (2u << 20));   /* only the non-zero units of 16+ MiB */
    host_process *q = NULL;
    ao_error err = {0};
    int rc = host_process_new_from_snapshot(g_mod, NULL, snap.data, snap.len, &q, &err);
    if (rc != AO_OK) fail_msg("new_from_snapshot: %s", err.msg);
    host_process *r = new_proc(NULL);
    assert_int_equal(host_process_restore(r, snap.data, snap.len, NULL), AO_OK);
    const char *seq[][2] = {{NULL, ""}, {"Alloc", "20"}, {"Error", "x"}, {NULL, ""}};
    for (int k = 0; k < 4; k++) {
        host_result a, b, c;
        run(p, seq[k][0], seq[k][1], 10 + k, &a);
        run(q, seq[k][0], seq[k][1], 10 + k, &b);
        run(r, seq[k][0], seq[k][1], 10 + k, &c);
        assert_string_equal(a.json, b.json);
        assert_string_equal(a.json, c.json);
        host_result_free(&a);
        host_result_free(&b);
        host_result_free(&c);
    }
    pstate sp, sq, sr;
    pstate_take(p, &sp);
    pstate_take(q, &sq);
    pstate_take(r, &sr);
    assert_pstate_equal(&sp, &sq);
    assert_pstate_equal(&sp, &sr);
    pstate_free(&sp);
    pstate_free(&sq);
    pstate_free(&sr);
    /* a snapshot of another module, or a corrupt one, is refused */
    snap.data[snap.len / 2] ^= 0x55;
    host_process *bad = NULL;
    assert_true(host_process_new_from_snapshot(g_mod, NULL, snap.data, snap.len, &bad, NULL) < 0);
    assert_null(bad);
    ao_buf_free(&snap);
    host_process_free(p);
    host_process_free(q);
    host_process_free(r);
}

/* new_from_memory gives the same state as the memory it was given. */
static void new_from_memory_matches(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    free(run_ok(p, "Alloc", "200", 1));
    size_t len;
    const uint8_t *m = host_process_memory(p, &len);
    host_process *q = NULL;
    assert_int_equal(host_process_new_from_memory(g_mod, NULL, m, len, &q, NULL), AO_OK);
    size_t qlen;
    const uint8_t *qm = host_process_memory(q, &qlen);
    assert_int_equal(len, qlen);
    assert_true(memcmp(m, qm, len) == 0);
    char *a = run_ok(p, NULL, "", 2), *b = run_ok(q, NULL, "", 2);
    assert_string_equal(a, b);
    free(a);
    free(b);
    host_process_free(p);
    host_process_free(q);
}

/* Processes on several threads at once (a CU's worker pool), each with
 * errors that roll back: every thread ends in the state the same messages
 * give on one thread. */
static const char *const THREAD_SEQ[][2] = {
    {"Alloc", "200"}, {"Error", "t1"}, {NULL, ""},
    {"Eval", "local t = {} for i = 1, 20000 do t[i] = string.rep('w', 900) .. i end Kt = t error('g')"},
    {"Alloc", "30"}, {"Fn", ""}, {NULL, ""},
};
#define THREAD_NSEQ (sizeof THREAD_SEQ / sizeof THREAD_SEQ[0])

typedef struct tjob {
    host_process *p;
    int errors;
    int bad;
} tjob;

static void *thread_run(void *arg)
{
    tjob *j = arg;
    for (size_t k = 0; k < THREAD_NSEQ; k++) {
        char *m = msg_json(THREAD_SEQ[k][0], THREAD_SEQ[k][1], 10 + (long long)k);
        host_result r;
        if (host_process_handle(j->p, m, ENV, &r, NULL) != AO_OK) j->bad++;
        else if (r.error) j->errors++;
        host_result_free(&r);
        free(m);
    }
    return NULL;
}

static void processes_on_several_threads(void **state)
{
    (void)state;
    enum { NT = 1 + ROUNDS_SCALE };
    host_process *ref = new_proc(NULL);
    tjob ref_job = {.p = ref};
    thread_run(&ref_job);
    assert_int_equal(ref_job.errors, 3);
    pstate want;
    pstate_take(ref, &want);
    tjob jobs[3];
    pthread_t th[3];
    for (int i = 0; i < NT; i++) {
        jobs[i] = (tjob){.p = new_proc(NULL)};
        assert_int_equal(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
    }
    for (int i = 0; i < NT; i++) assert_int_equal(pthread_join(th[i], NULL), 0);
    for (int i = 0; i < NT; i++) {
        assert_int_equal(jobs[i].bad, 0);
        assert_int_equal(jobs[i].errors, 3);
        assert_state_is(jobs[i].p, &want);
        host_process_free(jobs[i].p);
    }
    pstate_free(&want);
    host_process_free(ref);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_after_grow_rolls_back_size_and_bytes),
        cmocka_unit_test(error_after_writes_to_many_pages),
        cmocka_unit_test(out_of_gas_after_writes_rolls_back),
        cmocka_unit_test(consecutive_errors_each_roll_back),
        cmocka_unit_test(error_then_success_equals_success_alone),
        cmocka_unit_test(new_from_snapshot_continues_identically),
        cmocka_unit_test(new_from_memory_matches),
        cmocka_unit_test(processes_on_several_threads),
    };
    return cmocka_run_group_tests(tests, setup_module, teardown_module);
}
