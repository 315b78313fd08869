/* test_weave_crash.c - durability under kill -9: a forked writer process
 * (two threads putting small items, some of them bundles; rounds alternate
 * instant/interval blocks and bytes inside SQLite / in blob files) reports each id
 * on a pipe only after weave_put() returned; the parent SIGKILLs it at a
 * random moment, reopens the weave and checks that every acknowledged item
 * is there, intact and verifying, and that the index and the blobs agree
 * (every indexed item reads back with a good checksum, the count matches).
 * 50 rounds on one data dir (WEAVE_CRASH_ROUNDS overrides). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "weave_test_util.h"

static crypto_wallet *WL;

typedef struct { weave *w; int fd; int round, t; } wargs;

static void *writer(void *p)
{
    wargs *a = p;
    for (int i = 0;; i++) {
        ao_buf raw;
        ao_buf_init(&raw);
        char d[64], id[WEAVE_ID_MAX];
        int dl = snprintf(d, sizeof d, "round %d thread %d item %d", a->round, a->t, i);
        const char *tags[] = { "Data-Protocol=ao", "Type=Message" };
        int r;
        if (i % 10 == 9) {   /* now and then a bundle of two */
            ao_buf x, y, b;
            ao_buf_init(&x); ao_buf_init(&y); ao_buf_init(&b);
            wtu_item(WL, tags, 2, NULL, d, (size_t)dl, &x, NULL);
            wtu_item(WL, tags, 1, NULL, d, (size_t)dl, &y, NULL);
            const uint8_t *ps[2] = { x.data, y.data };
            size_t ls[2] = { x.len, y.len };
            item_bundle_write(ps, ls, 2, &b, NULL);
            const char *bt[] = { "Bundle-Format=binary", "Bundle-Version=2.0.0" };
            r = wtu_item(WL, bt, 2, NULL, b.data, b.len, &raw, id);
            ao_buf_free(&x); ao_buf_free(&y); ao_buf_free(&b);
        } else {
            r = wtu_item(WL, tags, 2, NULL, d, (size_t)dl, &raw, id);
        }
        if (!r && weave_put(a->w, raw.data, raw.len, 0, NULL, NULL) == AO_OK) {
            id[43] = '\n';
            if (write(a->fd, id, 44) != 44)
                _exit(3);
        }
        ao_buf_free(&raw);
    }
    return NULL;
}

static void child(const char *dir, int fd, int round)
{
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = round % 2 ? 0 : 5;   /* instant and interval rounds */
    if ((round / 2) % 2)
        o.inline_max = 0;                      /* bytes in the blob files */
    weave *w;
    if (weave_open(dir, &o, &w, NULL))
        _exit(2);
    pthread_t th[2];
    wargs a[2] = { { w, fd, round, 0 }, { w, fd, round, 1 } };
    pthread_create(&th[0], NULL, writer, &a[0]);
    pthread_create(&th[1], NULL, writer, &a[1]);
    pthread_join(th[0], NULL);
    _exit(0);
}

static void check_all(weave *w, uint64_t *count)
{
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.first = WEAVE_PAGE_MAX;
    f.sort = WEAVE_HEIGHT_ASC;
    char cur[WEAVE_CURSOR_MAX];
    ao_buf got;
    ao_buf_init(&got);
    uint64_t n = 0;
    for (;;) {
        weave_tx_page p;
        assert_int_equal(weave_query_transactions(w, &f, &p, NULL), AO_OK);
        for (size_t i = 0; i < p.n; i++) {
            ao_buf_reset(&got);
            ao_error err;
            int r = weave_get(w, p.rows[i].id, &got, &err);
            if (r)
                fprintf(stderr, "indexed item %s: %s\n", p.rows[i].id, err.msg);
            assert_int_equal(r, AO_OK);
            assert_int_equal(got.len, p.rows[i].raw_size);
            n++;
        }
        bool more = p.has_next_page;
        if (p.n)
            memcpy(cur, p.rows[p.n - 1].cursor, sizeof cur);
        weave_tx_page_free(&p);
        if (!more)
            break;
        f.after = cur;
    }
    ao_buf_free(&got);
    *count = n;
}

/* end of the last item stored in blob file 0, from the index */
static uint64_t indexed_blob_end(const char *dir)
{
    char path[512];
    snprintf(path, sizeof path, "%s/index.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT coalesce(max(offset + raw_size), 0) FROM items"
                                            " WHERE file = 0", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    uint64_t end = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return end;
}

static void crash_rounds(void **state)
{
    (void)state;
    int rounds = getenv("WEAVE_CRASH_ROUNDS") ? atoi(getenv("WEAVE_CRASH_ROUNDS")) : 50;
    char *dir = wtu_tmpdir();
    assert_non_null(dir);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    size_t total_acked = 0;
    char *acked = NULL;   /* all acknowledged ids, 44 bytes each */
    size_t acked_cap = 0;
    for (int round = 0; round < rounds; round++) {
        int pfd[2];
        assert_int_equal(pipe(pfd), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(pfd[0]);
            child(dir, pfd[1], round);
        }
        close(pfd[1]);
        /* let it run 10..120 ms, reading acknowledgements meanwhile */
        struct timespec t0;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        long run_ms = 10 + rand() % 111;
        ao_buf in;
        ao_buf_init(&in);
        fcntl(pfd[0], F_SETFL, O_NONBLOCK);
        for (;;) {
            uint8_t b[4096];
            ssize_t k = read(pfd[0], b, sizeof b);
            if (k > 0)
                ao_buf_append(&in, b, (size_t)k);
            struct timespec t1;
            clock_gettime(CLOCK_MONOTONIC, &t1);
            long el = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
            if (el >= run_ms)
                break;
            if (k <= 0)
                usleep(500);
        }
        kill(pid, SIGKILL);
        int st;
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFSIGNALED(st));   /* it was still writing, not failed */
        fcntl(pfd[0], F_SETFL, 0);
        for (;;) {
            uint8_t b[4096];
            ssize_t k = read(pfd[0], b, sizeof b);
            if (k <= 0)
                break;
            ao_buf_append(&in, b, (size_t)k);
        }
        close(pfd[0]);
        size_t n = in.len / 44;   /* a torn last line is not an ack */
        if (total_acked + n > acked_cap) {
            acked_cap = (total_acked + n) * 2 + 64;
            acked = realloc(acked, acked_cap * 44);
            assert_non_null(acked);
        }
        if (n)
            memcpy(acked + total_acked * 44, in.data, n * 44);
        total_acked += n;
        ao_buf_free(&in);

        /* reopen: every acknowledged item is there and intact */
        weave_options o;
        weave_options_default(&o);
        o.block_interval_ms = 0;
        weave *w;
        ao_error err;
        int r = weave_open(dir, &o, &w, &err);
        if (r)
            fprintf(stderr, "reopen after round %d: %s\n", round, err.msg);
        assert_int_equal(r, AO_OK);
        ao_buf got;
        ao_buf_init(&got);
        for (size_t i = 0; i < total_acked; i++) {
            char id[WEAVE_ID_MAX];
            memcpy(id, acked + i * 44, 43);
            id[43] = 0;
            ao_buf_reset(&got);
            r = weave_get(w, id, &got, &err);
            if (r)
                fprintf(stderr, "round %d: acknowledged %s: %s\n", round, id, err.msg);
            assert_int_equal(r, AO_OK);
            assert_int_equal(item_verify(got.data, got.len, NULL, NULL), AO_OK);
        }
        ao_buf_free(&got);
        uint64_t count;
        check_all(w, &count);
        weave_info info;
        assert_int_equal(weave_get_info(w, &info, NULL), AO_OK);
        assert_int_equal(info.items, count);
        assert_true(count >= total_acked);
        weave_close(w);
        /* the blob file holds nothing past the last indexed item */
        struct stat sb;
        char bpath[512];
        snprintf(bpath, sizeof bpath, "%s/blobs/000000.blob", dir);
        assert_int_equal(stat(bpath, &sb), 0);
        assert_int_equal((uint64_t)sb.st_size, indexed_blob_end(dir));
    }
    fprintf(stderr, "crash test: %d rounds, %zu acknowledged items all intact\n", rounds, total_acked);
    assert_true(total_acked > 0);
    free(acked);
    wtu_rmdir(dir);
}

static int setup(void **state)
{
    (void)state;
    return crypto_wallet_generate(CRYPTO_KEY_ED25519, &WL, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    crypto_wallet_free(WL);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = { cmocka_unit_test(crash_rounds) };
    return cmocka_run_group_tests(tests, setup, teardown);
}
