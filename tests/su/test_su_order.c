/* test_su_order.c - order invariants under concurrency (issue #6,
 * acceptance 1): 16 client threads post 1,000 signed messages each over 50
 * processes at once; then, per process, the schedule read back through
 * the SU's JSON has nonces 0..n-1 without gap or repeat, a hash chain that
 * verifies end to end, strictly increasing timestamps and SU-signed
 * assignments stored in the data layer; and every acknowledged message
 * sits at the very slot it was given. Order, not durability, is under test
 * here, so the weave and su.db skip fsync (test_su_crash covers that).
 * Under ASan the load is 16 x 100
 * (SU_ORDER_PER_THREAD overrides). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>

#include "su_test_util.h"

#define THREADS 16
#define PROCS 50
#if defined(__SANITIZE_ADDRESS__)
#define PER_THREAD_DEFAULT 100
#else
#define PER_THREAD_DEFAULT 1000
#endif

static crypto_wallet *USER;
static su_ack PROC[PROCS];
static int PER_THREAD;

typedef struct {
    sut_env *e;
    int t;
    su_ack *acks;
    int failures;
} targs;

static void *client(void *p)
{
    targs *a = p;
    for (int i = 0; i < PER_THREAD; i++) {
        const char *pid = PROC[(a->t * 7 + i) % PROCS].id;
        char data[64];
        snprintf(data, sizeof data, "thread %d message %d", a->t, i);
        ao_error err;
        if (sut_message(a->e, USER, pid, data, &a->acks[i], &err) != AO_OK) {
            fprintf(stderr, "post: %s\n", err.msg);
            a->failures++;
        } else if (a->acks[i].duplicate) {
            a->failures++;
        }
    }
    return NULL;
}

static void test_order_under_concurrency(void **state)
{
    (void)state;
    sut_env e;
    assert_int_equal(sut_setup_ex(&e, CRYPTO_KEY_ED25519, 0, true), 0);
    for (int i = 0; i < PROCS; i++) {
        char data[32];
        snprintf(data, sizeof data, "process %d", i);
        assert_int_equal(sut_spawn(&e, USER, data, &PROC[i]), AO_OK);
    }
    pthread_t th[THREADS];
    targs args[THREADS];
    for (int t = 0; t < THREADS; t++) {
        args[t] = (targs){ &e, t, calloc((size_t)PER_THREAD, sizeof(su_ack)), 0 };
        assert_non_null(args[t].acks);
        assert_int_equal(pthread_create(&th[t], NULL, client, &args[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(args[t].failures, 0);

    /* per process: the whole schedule, and each ack at its slot */
    size_t cap = (size_t)THREADS * (size_t)PER_THREAD + 1;
    char (*ids)[44] = malloc(cap * 44);
    assert_non_null(ids);
    long total = 0;
    for (int pi = 0; pi < PROCS; pi++) {
        long n = sut_check_schedule_ids(&e, PROC[pi].id, 97, ids, cap);
        assert_true(n >= 1);
        assert_string_equal(ids[0], PROC[pi].id);
        long acked = 0;
        for (int t = 0; t < THREADS; t++)
            for (int i = 0; i < PER_THREAD; i++) {
                su_ack *a = &args[t].acks[i];
                if (strcmp(a->process, PROC[pi].id) != 0)
                    continue;
                acked++;
                assert_true(a->nonce >= 1 && a->nonce < (uint64_t)n);
                assert_string_equal(ids[a->nonce], a->id);
            }
        /* n - 1 messages, each acknowledged once: no slot twice, none lost */
        assert_int_equal(acked, n - 1);
        total += n - 1;
    }
    assert_int_equal(total, (long)THREADS * PER_THREAD);
    free(ids);
    for (int t = 0; t < THREADS; t++)
        free(args[t].acks);
    sut_teardown(&e);
}

int main(void)
{
    const char *env = getenv("SU_ORDER_PER_THREAD");
    PER_THREAD = env && atoi(env) > 0 ? atoi(env) : PER_THREAD_DEFAULT;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &USER, NULL))
        return 1;
    ao_log_configure(AO_LOG_WARN, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_under_concurrency),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    crypto_wallet_free(USER);
    return r;
}
