/* bench/weave.c - the weave store: durable puts/s of 1 KiB items already
 * verified (several writer threads, group commit), puts/s with signature
 * verification (Ed25519, RSA-4096) beside the raw item verify alone on the
 * same items, a plain SQLite insert loop with the same durability (WAL,
 * synchronous=FULL, one commit per acknowledged insert) as the floor, and
 * GraphQL-style query latency p50/p99 on a weave of BENCH_ITEMS items
 * (default 1,000,000; built through the unverified put path with fsync off,
 * which changes the build time only). Wall-clock times. Data dirs live
 * under BENCH_DIR (default /tmp) and are removed afterwards. */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "weave/weave.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static __thread unsigned long long rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char *tmpdir(const char *tag)
{
    const char *base = getenv("BENCH_DIR") ? getenv("BENCH_DIR") : "/tmp";
    char *d = malloc(strlen(base) + 64);
    sprintf(d, "%s/ao-bench-weave-%s-XXXXXX", base, tag);
    if (!mkdtemp(d)) {
        perror("mkdtemp");
        exit(1);
    }
    return d;
}

static void rmdir_all(char *d)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d);
    free(d);
}

/* An unsigned (random signature) Ed25519-shaped item: unique id, valid
 * layout. kv tags as name=value. */
static void fake_item(const uint8_t owner[32], const char *const *kv, size_t n, size_t dlen,
                      ao_buf *out)
{
    item_tag tags[8];
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        tags[i] = (item_tag){ (const uint8_t *)kv[i], (size_t)(eq - kv[i]),
                              (const uint8_t *)eq + 1, strlen(eq + 1) };
    }
    static __thread uint8_t data[4096];
    uint8_t sig[64];
    for (int i = 0; i < 8; i++) {
        uint64_t r = rnd();
        memcpy(sig + 8 * i, &r, 8);
    }
    for (size_t i = 0; i < dlen; i++)
        data[i] = (uint8_t)('a' + i % 26);
    item_fields f = { NULL, NULL, tags, n, data, dlen };
    if (item_encode(ITEM_SIG_ED25519, sig, 64, owner, 32, &f, out, NULL)) {
        fprintf(stderr, "encode failed\n");
        exit(1);
    }
}

/* ---- threaded puts ---- */

typedef struct {
    weave *w;
    ao_buf *items;
    size_t from, to;
    unsigned flags;
    int fails;
} put_job;

static void *put_worker(void *p)
{
    put_job *j = p;
    for (size_t i = j->from; i < j->to; i++) {
        ao_error err;
        if (weave_put(j->w, j->items[i].data, j->items[i].len, j->flags, NULL, &err)) {
            if (!j->fails)
                fprintf(stderr, "put: %s\n", err.msg);
            j->fails++;
        }
    }
    return NULL;
}

/* puts/s of items[0..n) with T threads into a fresh weave */
static double run_puts(ao_buf *items, size_t n, int T, unsigned flags, bool fsync_on,
                       bool in_files)
{
    char *dir = tmpdir("puts");
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 1000;
    o.no_fsync = !fsync_on;
    if (in_files)
        o.inline_max = 0;
    weave *w;
    ao_error err;
    if (weave_open(dir, &o, &w, &err)) {
        fprintf(stderr, "open: %s\n", err.msg);
        exit(1);
    }
    pthread_t th[256];
    put_job jobs[256];
    double t0 = now();
    for (int t = 0; t < T; t++) {
        jobs[t] = (put_job){ w, items, n * t / T, n * (t + 1) / T, flags, 0 };
        pthread_create(&th[t], NULL, put_worker, &jobs[t]);
    }
    int fails = 0;
    for (int t = 0; t < T; t++) {
        pthread_join(th[t], NULL);
        fails += jobs[t].fails;
    }
    double dt = now() - t0;
    weave_close(w);
    rmdir_all(dir);
    if (fails) {
        fprintf(stderr, "%d puts failed\n", fails);
        exit(1);
    }
    return (double)n / dt;
}

/* ---- SQLite floor ---- */

/* inserts/s of a plain loop for about 0.7 s (fsync latency on a shared
 * disk drifts, so each weave figure is compared with a floor measured just
 * before it) */
static double sqlite_floor(ao_buf *items, size_t n)
{
    char *dir = tmpdir("sqlite");
    char path[600];
    snprintf(path, sizeof path, "%s/plain.db", dir);
    sqlite3 *db;
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;"
                     "CREATE TABLE t(id BLOB PRIMARY KEY, raw BLOB NOT NULL);", NULL, NULL, NULL);
    sqlite3_stmt *st;
    sqlite3_prepare_v2(db, "INSERT INTO t(id, raw) VALUES(?1, ?2)", -1, &st, NULL);
    double t0 = now();
    size_t i;
    for (i = 0; i < n && (i % 16 || now() - t0 < 0.7); i++) {
        uint8_t id[32];
        crypto_sha256(items[i].data + 2, 64, id);
        sqlite3_bind_blob(st, 1, id, 32, SQLITE_STATIC);
        sqlite3_bind_blob(st, 2, items[i].data, (int)items[i].len, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_DONE) {
            fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
            exit(1);
        }
        sqlite3_reset(st);
    }
    double dt = now() - t0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    rmdir_all(dir);
    return (double)i / dt;
}

/* ---- verified puts and raw verify ---- */

static double verify_alone(ao_buf *items, size_t n)
{
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        if (item_verify(items[i].data, items[i].len, NULL, NULL)) {
            fprintf(stderr, "verify failed\n");
            exit(1);
        }
    return (double)n / (now() - t0);
}

/* the signature primitive alone, on each item's precomputed deep hash */
static double sig_alone(ao_buf *items, size_t n)
{
    item *its = malloc(n * sizeof *its);
    uint8_t (*dh)[ITEM_DH_LEN] = malloc(n * ITEM_DH_LEN);
    for (size_t i = 0; i < n; i++) {
        if (item_decode(items[i].data, items[i].len, &its[i], NULL))
            exit(1);
        item_deep_hash(&its[i], dh[i]);
    }
    double t0 = now();
    for (size_t i = 0; i < n; i++)
        if (crypto_verify((crypto_key_type)its[i].sig_type, its[i].owner, its[i].owner_len,
                          dh[i], ITEM_DH_LEN, its[i].sig, its[i].sig_len, NULL)) {
            fprintf(stderr, "signature verify failed\n");
            exit(1);
        }
    double r = (double)n / (now() - t0);
    free(its);
    free(dh);
    return r;
}

static void signed_items(crypto_key_type kt, size_t n, ao_buf *items)
{
    crypto_wallet *wl;
    if (crypto_wallet_generate(kt, &wl, NULL))
        exit(1);
    uint8_t data[1024];
    memset(data, 'd', sizeof data);
    for (size_t i = 0; i < n; i++) {
        char idx[32];
        snprintf(idx, sizeof idx, "%zu", i);
        item_tag tags[2] = {
            { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
            { (const uint8_t *)"Idx", 3, (const uint8_t *)idx, strlen(idx) },
        };
        item_fields f = { NULL, NULL, tags, 2, data, sizeof data };
        ao_buf_init(&items[i]);
        if (item_sign(wl, &f, &items[i], NULL, NULL))
            exit(1);
    }
    crypto_wallet_free(wl);
}

/* ---- query latency ---- */

static int cmp_d(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct { weave *w; size_t from, to; uint8_t (*owners)[32]; } build_job;

static void *build_worker(void *p)
{
    build_job *j = p;
    rng_state = 88172645463325252ull ^ ((j->from + 1) * 0x9E3779B97F4A7C15ull);
    ao_buf b;
    ao_buf_init(&b);
    for (size_t i = j->from; i < j->to; i++) {
        char app[32], idx[32];
        snprintf(app, sizeof app, "App=bench-%zu", i % 1000);
        snprintf(idx, sizeof idx, "Idx=%zu", i);
        const char *type = i % 997 == 0 ? "Type=Scheduler-Location"
                         : i % 10 == 3 ? "Type=Process" : "Type=Message";
        const char *kv[4] = { "Data-Protocol=ao", type, app, idx };
        ao_buf_reset(&b);
        fake_item(j->owners[i % 100], kv, 4, 256, &b);
        if (weave_put(j->w, b.data, b.len, WEAVE_PUT_NOVERIFY, NULL, NULL)) {
            fprintf(stderr, "build put failed\n");
            exit(1);
        }
    }
    ao_buf_free(&b);
    return NULL;
}

static void latency(weave *w, const char *name, int kind, size_t nitems, uint8_t (*owners)[32])
{
    enum { Q = 2000 };
    static double t[Q];
    size_t rows = 0;
    for (int q = 0; q < Q; q++) {
        weave_tx_filter f;
        weave_tx_filter_init(&f);
        char v1[32], addr[AO_ADDRESS_MAX];
        const char *vals[1] = { v1 }, *ao[1] = { "ao" }, *owner[1] = { addr };
        const char *proc[1] = { "Process" }, *sl[1] = { "Scheduler-Location" };
        weave_tag_filter tf[3];
        f.tags = tf;
        f.first = 10;
        if (kind == 0) {          /* App=bench-K (0.1%), newest 10 */
            snprintf(v1, sizeof v1, "bench-%llu", (unsigned long long)(rnd() % 1000));
            tf[0] = (weave_tag_filter){ "App", vals, 1 };
            f.ntags = 1;
        } else if (kind == 1) {   /* Data-Protocol=ao AND Type=Process (10%) */
            tf[0] = (weave_tag_filter){ "Data-Protocol", ao, 1 };
            tf[1] = (weave_tag_filter){ "Type", proc, 1 };
            f.ntags = 2;
        } else if (kind == 2) {   /* scheduler-utils: owner + 2 tags, first 1 */
            crypto_owner_address_b64(owners[rnd() % 100], 32, addr);
            f.owners = owner;
            f.nowners = 1;
            tf[0] = (weave_tag_filter){ "Data-Protocol", ao, 1 };
            tf[1] = (weave_tag_filter){ "Type", sl, 1 };
            f.ntags = 2;
            f.first = 1;
        } else {                  /* one exact Idx (unique) */
            snprintf(v1, sizeof v1, "%llu", (unsigned long long)(rnd() % nitems));
            tf[0] = (weave_tag_filter){ "Idx", vals, 1 };
            f.ntags = 1;
        }
        weave_tx_page p;
        double t0 = now();
        if (weave_query_transactions(w, &f, &p, NULL)) {
            fprintf(stderr, "query failed\n");
            exit(1);
        }
        t[q] = now() - t0;
        rows += p.n;
        weave_tx_page_free(&p);
    }
    qsort(t, Q, sizeof t[0], cmp_d);
    printf("  %-44s p50 %7.3f ms  p99 %7.3f ms  (%.1f rows/query)\n", name,
           t[Q / 2] * 1e3, t[Q * 99 / 100] * 1e3, (double)rows / Q);
}

int main(void)
{
    size_t nput = getenv("BENCH_PUTS") ? strtoull(getenv("BENCH_PUTS"), NULL, 10) : 40000;
    size_t nitems = getenv("BENCH_ITEMS") ? strtoull(getenv("BENCH_ITEMS"), NULL, 10) : 1000000;
    printf("weave bench: %zu durable puts, %zu-item index for queries\n", nput, nitems);

    /* 1 KiB unverified items */
    uint8_t owners[100][32];
    for (int i = 0; i < 100; i++)
        for (int k = 0; k < 32; k++)
            owners[i][k] = (uint8_t)rnd();
    ao_buf *items = malloc(nput * sizeof *items);
    for (size_t i = 0; i < nput; i++) {
        ao_buf_init(&items[i]);
        const char *kv[2] = { "Data-Protocol=ao", "Type=Message" };
        fake_item(owners[i % 100], kv, 2, 1024 - 120, &items[i]);
    }
    printf("item size %zu bytes\n", items[0].len);
    printf("floor = plain SQLite insert loop of the same items (WAL, synchronous=FULL, one commit\n"
           "per insert, 1 thread), measured just before each weave figure\n");
    int threads[] = { 1, 4, 16, 64 };
    for (int mode = 0; mode < 2; mode++) {
        printf("bytes %s:\n", mode ? "in append-only blob files (2 fsyncs per batch)"
                                    : "inside SQLite (default for items <= 64 KiB, 1 fsync per batch)");
        for (size_t k = 0; k < 4; k++) {
            size_t n = threads[k] == 1 ? nput / 20 : threads[k] == 4 ? nput / 4 : nput;
            double floor = sqlite_floor(items, nput);
            double r = run_puts(items, n, threads[k], WEAVE_PUT_NOVERIFY, true, mode == 1);
            printf("  durable puts, pre-verified, %2d threads: %8.0f puts/s  floor %6.0f/s  ratio %.2fx\n",
                   threads[k], r, floor, r / floor);
        }
    }
    double nofs = run_puts(items, nput, 16, WEAVE_PUT_NOVERIFY, false, false);
    printf("puts without fsync (bench only), 16 threads: %9.0f puts/s\n", nofs);
    for (size_t i = 0; i < nput; i++)
        ao_buf_free(&items[i]);
    free(items);

    /* verified puts beside the verify alone */
    struct { const char *name; crypto_key_type kt; size_t n; } sv[2] = {
        { "ed25519", CRYPTO_KEY_ED25519, 4000 }, { "rsa-4096", CRYPTO_KEY_ARWEAVE, 300 } };
    for (int k = 0; k < 2; k++) {
        ao_buf *si = malloc(sv[k].n * sizeof *si);
        signed_items(sv[k].kt, sv[k].n, si);
        double sa = sig_alone(si, sv[k].n);
        double va = verify_alone(si, sv[k].n);
        double vp = run_puts(si, sv[k].n, 16, 0, true, false);
        printf("%-8s 1 KiB: signature verify alone %7.0f/s, item_verify alone %7.0f/s (1 thread);"
               " durable verified puts %7.0f/s (16 threads) = %.2fx the 1-thread signature rate\n",
               sv[k].name, sa, va, vp, vp / sa);
        for (size_t i = 0; i < sv[k].n; i++)
            ao_buf_free(&si[i]);
        free(si);
    }

    /* query latency on a big weave */
    char *dir = tmpdir("query");
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 1000;
    o.no_fsync = true;
    weave *w;
    if (weave_open(dir, &o, &w, NULL))
        return 1;
    double t0 = now();
    enum { BT = 64 };
    pthread_t th[BT];
    build_job bj[BT];
    for (int t = 0; t < BT; t++) {
        bj[t] = (build_job){ w, nitems * t / BT, nitems * (t + 1) / BT, owners };
        pthread_create(&th[t], NULL, build_worker, &bj[t]);
    }
    for (int t = 0; t < BT; t++)
        pthread_join(th[t], NULL);
    double bt = now() - t0;
    printf("built %zu-item weave (4 tags each, unverified path, fsync off) in %.1f s (%.0f puts/s)\n",
           nitems, bt, (double)nitems / bt);
    latency(w, "tag App=bench-K (0.1%), first 10", 0, nitems, owners);
    latency(w, "Data-Protocol=ao AND Type=Process, first 10", 1, nitems, owners);
    latency(w, "owner + Data-Protocol + Type=Sched-Loc, first 1", 2, nitems, owners);
    latency(w, "tag Idx=<unique>, first 10", 3, nitems, owners);
    weave_close(w);
    rmdir_all(dir);
    return 0;
}
