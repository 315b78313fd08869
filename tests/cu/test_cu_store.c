/* test_cu_store.c - the CU's result store (src/cu/cu_store.c): lookups by
 * nonce answer from their index, not by walking a process's results. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cu/cu_internal.h"

/* Regression: the planner chose the primary key (pid, ts, ...) for
 * "pid=? AND ordinate=? AND cron=0" and walked every result of the process
 * per GET /result: a load test's /result rate fell as results piled up. */
static void lookup_by_nonce_uses_its_index(void **state)
{
    (void)state;
    char dir[] = "/tmp/ao-cu-store-XXXXXX";
    assert_non_null(mkdtemp(dir));
    cu_store *s;
    ao_error e = {0};
    assert_int_equal(cu_store_open(dir, true, &s, &e), AO_OK);
    enum { N = 4000 };
    cu_result_row *rows = calloc(N, sizeof *rows);
    char (*json)[64] = calloc(N, 64);
    assert_non_null(rows);
    assert_non_null(json);
    for (int i = 0; i < N; i++) {
        rows[i].ord.timestamp = 1700000000000 + i;
        rows[i].ord.ordinate = i;
        snprintf(json[i], 64, "{\"Output\":\"n%d\"}", i);
        rows[i].json = json[i];
    }
    assert_int_equal(cu_store_put(s, "P", rows, N, &e), AO_OK);
    int64_t before = cu_store_steps(s, "ordinate=?");
    for (int k = 0; k < 10; k++) {
        ao_buf b;
        ao_buf_init(&b);
        int i = N - 1 - k * 397;
        assert_int_equal(cu_store_get_by_nonce(s, "P", i, &b, &e), AO_OK);
        char want[64];
        snprintf(want, sizeof want, "{\"Output\":\"n%d\"}", i);
        assert_int_equal(b.len, strlen(want));
        assert_memory_equal(b.data, want, b.len);
        ao_buf_free(&b);
    }
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(cu_store_get_by_nonce(s, "P", N, &b, &e), AO_ENOTFOUND);
    ao_buf_free(&b);
    /* an index search is a few dozen steps; the walk was ~N per lookup */
    int64_t steps = cu_store_steps(s, "ordinate=?") - before;
    assert_true(steps > 0);
    assert_true(steps < 11 * 100);
    cu_store_close(s);
    free(rows);
    free(json);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    ao_log_configure(AO_LOG_OFF, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(lookup_by_nonce_uses_its_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
