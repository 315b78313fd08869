/* test_su_crash.c - durability under kill -9 (issue #6, acceptance 2): a
 * forked child runs a weave and an SU (fsync on) on one data dir, spawns
 * three processes and posts messages to them from four threads, and
 * reports each acknowledged slot (id, process, nonce) on a pipe only after
 * su_post_item() returned. The parent SIGKILLs it at a random moment,
 * reopens weave and SU (which repairs unconfirmed uploads) and checks:
 * every acknowledged message is in the schedule at the slot it was given;
 * each schedule is whole (nonces 0..n-1, hash chain, timestamps, both
 * items of every slot in the data layer, SU-signed assignments); the data
 * layer holds no Assignment beyond the schedule (nothing half-written);
 * the next message takes nonce n (no slot reused). 50 rounds on one dir
 * (10 under ASan; SU_CRASH_ROUNDS overrides). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>

#include "su_test_util.h"

#if defined(__SANITIZE_ADDRESS__)
#define ROUNDS_DEFAULT 10
#else
#define ROUNDS_DEFAULT 50
#endif
#define NPROC 3
#define NTHREADS 4

static crypto_wallet *USER;

typedef struct rec {
    char kind;          /* 'P' process, 'M' message */
    char id[44];
    char pid[44];
    uint64_t nonce;
} rec;

typedef struct {
    sut_env *e;
    int fd, t, round;
    char (*pids)[44];
} cargs;

static pthread_mutex_t wmu = PTHREAD_MUTEX_INITIALIZER;

static void report(int fd, char kind, const su_ack *a)
{
    rec r;
    memset(&r, 0, sizeof r);
    r.kind = kind;
    memcpy(r.id, a->id, 44);
    memcpy(r.pid, a->process, 44);
    r.nonce = a->nonce;
    pthread_mutex_lock(&wmu);
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(3);
    pthread_mutex_unlock(&wmu);
}

static void *poster(void *p)
{
    cargs *a = p;
    for (int i = 0;; i++) {
        char data[64];
        snprintf(data, sizeof data, "round %d thread %d message %d", a->round, a->t, i);
        su_ack ack;
        if (sut_message(a->e, USER, a->pids[(a->t + i) % NPROC], data, &ack, NULL) == AO_OK)
            report(a->fd, 'M', &ack);
    }
    return NULL;
}

static void child(sut_env *e, int fd, int round)
{
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    if (weave_open(e->wdir, &wo, &e->w, NULL))
        _exit(2);
    weave_client_local(e->w, &e->inner);
    if (sut_open_su(e, NULL))
        _exit(2);
    char pids[NPROC][44];
    for (int i = 0; i < NPROC; i++) {
        su_ack a;
        char data[64];
        snprintf(data, sizeof data, "round %d process %d", round, i);
        if (sut_spawn(e, USER, data, &a))
            _exit(2);
        memcpy(pids[i], a.id, 44);
        report(fd, 'P', &a);
    }
    pthread_t th[NTHREADS];
    cargs a[NTHREADS];
    for (int t = 0; t < NTHREADS; t++) {
        a[t] = (cargs){ e, fd, t, round, pids };
        pthread_create(&th[t], NULL, poster, &a[t]);
    }
    pthread_join(th[0], NULL);
    _exit(0);
}

/* Assignment items in the data layer for process pid. */
static long stored_assignments(weave *w, const char *pid)
{
    const char *pv[1] = { pid }, *tv[1] = { "Assignment" };
    weave_tag_filter tf[2] = { { "Process", pv, 1 }, { "Type", tv, 1 } };
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.tags = tf;
    f.ntags = 2;
    f.first = 1000;
    f.sort = WEAVE_HEIGHT_ASC;
    long n = 0;
    char after[WEAVE_CURSOR_MAX] = "";
    for (;;) {
        f.after = after[0] ? after : NULL;
        weave_tx_page page;
        if (weave_query_transactions(w, &f, &page, NULL))
            return -1;
        n += (long)page.n;
        if (page.n)
            snprintf(after, sizeof after, "%s", page.rows[page.n - 1].cursor);
        bool more = page.has_next_page;
        weave_tx_page_free(&page);
        if (!more)
            break;
    }
    return n;
}

static void check_round(sut_env *e, rec *recs, size_t nrec, int round)
{
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    assert_int_equal(weave_open(e->wdir, &wo, &e->w, NULL), AO_OK);
    weave_client_local(e->w, &e->inner);
    assert_int_equal(sut_open_su(e, NULL), AO_OK);
    size_t cap = 1 << 16;
    char (*ids)[44] = malloc(cap * 44);
    assert_non_null(ids);
    size_t acked = 0;
    for (size_t i = 0; i < nrec; i++) {
        if (recs[i].kind != 'P')
            continue;
        const char *pid = recs[i].id;
        long n = sut_check_schedule_ids(e, pid, 1, ids, cap);
        if (n < 1)
            fail_msg("round %d: schedule of %s broken", round, pid);
        assert_string_equal(ids[0], pid);
        for (size_t k = 0; k < nrec; k++)
            if (recs[k].kind == 'M' && strcmp(recs[k].pid, pid) == 0) {
                if (recs[k].nonce >= (uint64_t)n || strcmp(ids[recs[k].nonce], recs[k].id) != 0)
                    fail_msg("round %d: acknowledged %s at %s/%llu lost or moved", round,
                             recs[k].id, pid, (unsigned long long)recs[k].nonce);
                acked++;
            }
        /* nothing half-written: no stored Assignment outside the schedule */
        assert_int_equal(stored_assignments(e->w, pid), n);
        /* the next slot is n: none reused */
        su_ack next;
        ao_error err;
        char data[64];
        snprintf(data, sizeof data, "after round %d", round);
        assert_int_equal(sut_message(e, USER, pid, data, &next, &err), AO_OK);
        assert_int_equal(next.nonce, (uint64_t)n);
        assert_int_equal(sut_check_schedule(e, pid, 0), n + 1);
    }
    free(ids);
    su_close(e->s);
    e->s = NULL;
    weave_close(e->w);
    e->w = NULL;
    (void)acked;
}

static void test_sigkill_rounds(void **state)
{
    (void)state;
    const char *env = getenv("SU_CRASH_ROUNDS");
    int rounds = env && atoi(env) > 0 ? atoi(env) : ROUNDS_DEFAULT;
    sut_env e;
    assert_int_equal(sut_setup(&e, CRYPTO_KEY_ED25519, 0), 0);
    su_close(e.s);
    e.s = NULL;
    weave_close(e.w);
    e.w = NULL;
    srand((unsigned)time(NULL));
    size_t total_acked = 0;
    for (int round = 0; round < rounds; round++) {
        int p[2];
        assert_int_equal(pipe(p), 0);
        pid_t c = fork();
        assert_true(c >= 0);
        if (c == 0) {
            close(p[0]);
            child(&e, p[1], round);
        }
        close(p[1]);
        size_t cap = 1024, n = 0;
        rec *recs = malloc(cap * sizeof *recs);
        assert_non_null(recs);
        /* wait for the first acknowledgement, then kill at a random moment */
        ssize_t got = read(p[0], &recs[0], sizeof *recs);
        if (got == (ssize_t)sizeof *recs)
            n = 1;
        struct timespec ts = { 0, (long)(5 + rand() % 80) * 1000000L };
        nanosleep(&ts, NULL);
        kill(c, SIGKILL);
        int status;
        waitpid(c, &status, 0);
        assert_true(WIFSIGNALED(status));
        for (;;) {
            if (n == cap) {
                cap *= 2;
                recs = realloc(recs, cap * sizeof *recs);
                assert_non_null(recs);
            }
            got = read(p[0], &recs[n], sizeof *recs);
            if (got != (ssize_t)sizeof *recs)
                break;
            n++;
        }
        close(p[0]);
        assert_true(n >= 1);
        check_round(&e, recs, n, round);
        total_acked += n;
        free(recs);
    }
    fprintf(stderr, "%d rounds, %zu acknowledged slots checked\n", rounds, total_acked);
    sut_teardown(&e);
}

int main(void)
{
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &USER, NULL))
        return 1;
    ao_log_configure(AO_LOG_ERROR, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sigkill_rounds),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    crypto_wallet_free(USER);
    return r;
}
