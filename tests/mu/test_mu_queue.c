/* test_mu_queue.c - the MU's job queue (src/mu/queue.c) on its own: the
 * statements run on every message stay cheap however long the backlog of
 * pending jobs grows. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mu/mu_internal.h"

/* Regression: deleting a message's intake job (one per POST /) took the
 * (state, wait, id) index and visited every pending job; with a backlog of
 * 15,000 cranks under a load test the MU spent most of its time there. */
static void dropping_an_intake_job_does_not_visit_the_backlog(void **state)
{
    (void)state;
    char dir[] = "/tmp/ao-mu-queue-XXXXXX";
    assert_non_null(mkdtemp(dir));
    mu m;
    memset(&m, 0, sizeof m);
    m.opt.dir = dir;
    m.opt.no_fsync = true;
    ao_error e = {0};
    assert_int_equal(mu_q_open(&m, &e), AO_OK);
    mu_jobs js = {0};
    char id[64];
    for (int i = 0; i < 3000; i++) {
        snprintf(id, sizeof id, "msg-%05d", i);
        assert_int_equal(mu_job_crank(&js, id, "P", id), AO_OK);
    }
    static const uint8_t raw[] = "item";
    assert_int_equal(mu_job_intake(&js, "U", "P", "P", raw, sizeof raw, 0), AO_OK);
    assert_int_equal(mu_q_insert_all(&m, &js, &e), AO_OK);
    mu_jobs_free(&js);
    assert_int_equal(m.pending, 3001);

    int64_t before = ao_sql_steps(m.db, "kind='intake'");
    mu_jobs drop = {0};
    assert_int_equal(mu_job_drop_intake(&drop, "U"), AO_OK);
    assert_int_equal(mu_job_crank(&drop, "U", "P", "U"), AO_OK);
    assert_int_equal(mu_q_insert_all(&m, &drop, &e), AO_OK);
    mu_jobs_free(&drop);
    int64_t steps = ao_sql_steps(m.db, "kind='intake'") - before;
    assert_int_equal(m.pending, 3001);   /* the intake gone, its crank added */
    uint64_t n = 0;
    assert_int_equal(mu_q_count_pending(&m, &n, &e), AO_OK);
    assert_int_equal(n, 3001);
    /* an index search is tens of steps; the walk was ~10 per pending job */
    assert_true(steps > 0);
    assert_true(steps < 500);
    mu_q_close(&m);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    ao_log_configure(AO_LOG_OFF, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(dropping_an_intake_job_does_not_visit_the_backlog),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
