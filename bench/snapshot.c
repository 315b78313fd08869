/* bench/snapshot.c - snapshots of a 64 MiB wasm memory: the delta snapshot
 * after 1 MiB was written since the previous one (256 scattered 4 KiB
 * pages written by the host, 256 scattered pages written by wasm i64
 * stores, and 1 MiB contiguous), median and p99 over BENCH_ROUNDS rounds
 * (default 100), beside the full snapshot of the same memory (the peer);
 * restore times of both; the cost of the write faults (touching the same
 * pages of an untracked instance); zstd levels on 1 MiB of the same data.
 * Memory contents imitate a managed heap: 16-byte records of a pointer, a
 * small integer and 8 bytes of text, with zero gaps. Wall-clock times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zstd.h>

#include "wasm/wasm.h"

#define MEM_PAGES 1024u                  /* 64 MiB */
#define TOUCH (1u << 20)                 /* 1 MiB per round */
#define PG 4096u

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void typical(uint8_t *p, size_t n)
{
    static const char *words[] = {"balance ", "Process ", "Target  ", "Action  ", "Transfer",
                                  "Quantity", "Owner   ", "handlers", "0000000 ", "Data    "};
    for (size_t i = 0; i + 16 <= n; i += 16) {
        uint64_t r = rnd();
        if ((r & 7) == 0) {
            memset(p + i, 0, 16);
            continue;
        }
        uint32_t ptr = 0x10000u + (uint32_t)((r >> 8) % 65536) * 16;
        uint32_t small = (uint32_t)((r >> 32) % 100);
        memcpy(p + i, &ptr, 4);
        memcpy(p + i + 4, &small, 4);
        memcpy(p + i + 8, words[(r >> 40) % 10], 8);
    }
}

/* memory 1024..1024 pages; export "st" (i32 addr, i64 v) = i64.store */
static const uint8_t MODULE[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x06, 0x01, 0x60, 0x02, 0x7f, 0x7e, 0x00,
    0x03, 0x02, 0x01, 0x00,
    0x05, 0x06, 0x01, 0x01, 0x80, 0x08, 0x80, 0x08,
    0x07, 0x06, 0x01, 0x02, 0x73, 0x74, 0x00, 0x00,
    0x0a, 0x0b, 0x01, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x37, 0x03, 0x00, 0x0b,
};

typedef struct inst {
    wasm_store *s;
    wasm_instance *i;
    wasm_memory *mem;
    wasm_func *st;
} inst;

static void inst_new(inst *x, wasm_module *m)
{
    ao_error err;
    if (wasm_store_new(&x->s, &err) || wasm_instantiate(x->s, m, NULL, 0, &x->i, NULL, &err)) {
        fprintf(stderr, "snapshot bench: %s\n", err.msg);
        exit(1);
    }
    x->mem = wasm_instance_memory(x->i, 0);
    wasm_extern e;
    if (wasm_instance_export(x->i, "st", &e) != AO_OK)
        exit(1);
    x->st = e.of.func;
}

static void wasm_store64(inst *x, uint32_t addr, uint64_t v)
{
    wasm_val a[2] = {{.type = WASM_I32, .of.i32 = addr}, {.type = WASM_I64, .of.i64 = v}};
    if (wasm_func_call(x->s, x->st, a, 2, NULL, 0, NULL, NULL) != AO_OK)
        exit(1);
}

static int cmpd(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, int n, double p)
{
    qsort(v, (size_t)n, sizeof *v, cmpd);
    int k = (int)(p * (n - 1) + 0.5);
    return v[k];
}

enum { SCATTER_HOST, SCATTER_WASM, CONTIG, NMODES };
static const char *const MODE_NAME[NMODES] = {
    "256 scattered pages, host writes", "256 scattered pages, wasm stores", "1 MiB contiguous"};

/* Write 1 MiB worth of pages of x (and the same of y if given). */
static void touch(int mode, inst *x, const uint8_t *src, uint32_t *pages)
{
    uint32_t npg = MEM_PAGES * 65536u / PG;
    if (mode == CONTIG) {
        uint32_t first = (uint32_t)(rnd() % (npg - TOUCH / PG));
        for (uint32_t k = 0; k < TOUCH / PG; k++)
            pages[k] = first + k;
        memcpy(wasm_memory_data(x->mem) + (size_t)first * PG, src, TOUCH);
        return;
    }
    for (uint32_t k = 0; k < TOUCH / PG; k++) {
        uint32_t p;
        bool dup;
        do {
            p = (uint32_t)(rnd() % npg);
            dup = false;
            for (uint32_t j = 0; j < k && !dup; j++)
                dup = pages[j] == p;
        } while (dup);
        pages[k] = p;
        if (mode == SCATTER_HOST) {
            memcpy(wasm_memory_data(x->mem) + (size_t)p * PG, src + (size_t)k * PG, PG);
        } else {
            for (int w = 0; w < 8; w++)
                wasm_store64(x, p * PG + (uint32_t)(rnd() % (PG / 8)) * 8, rnd());
        }
    }
}

static void retouch(int mode, inst *x, const uint8_t *src, const uint32_t *pages)
{
    for (uint32_t k = 0; k < TOUCH / PG; k++) {
        if (mode == SCATTER_WASM) {
            for (int w = 0; w < 8; w++)
                wasm_store64(x, pages[k] * PG + (uint32_t)(rnd() % (PG / 8)) * 8, rnd());
        } else {
            memcpy(wasm_memory_data(x->mem) + (size_t)pages[k] * PG, src + (size_t)k * PG, PG);
        }
    }
}

int main(void)
{
    int rounds = getenv("BENCH_ROUNDS") ? atoi(getenv("BENCH_ROUNDS")) : 100;
    if (rounds < 2)
        rounds = 2;
    ao_error err;
    wasm_module *m;
    if (wasm_module_new(MODULE, sizeof MODULE, &m, &err) != AO_OK) {
        fprintf(stderr, "snapshot bench: %s\n", err.msg);
        return 1;
    }
    inst a, b, t;
    inst_new(&a, m);
    inst_new(&b, m);
    inst_new(&t, m);
    size_t memsz = (size_t)wasm_memory_size(a.mem);
    typical(wasm_memory_data(a.mem), memsz);
    memcpy(wasm_memory_data(t.mem), wasm_memory_data(a.mem), memsz);

    printf("wasm snapshots: %u MiB memory, %u KiB written per round, %d rounds\n",
           (unsigned)(memsz >> 20), TOUCH >> 10, rounds);
    /* full snapshot and restore (3 rounds, median) */
    ao_buf full;
    ao_buf_init(&full);
    double fs[3], fr[3];
    for (int r = 0; r < 3; r++) {
        full.len = 0;
        double t0 = now();
        if (wasm_instance_snapshot(a.i, &full, &err) != AO_OK) {
            fprintf(stderr, "snapshot bench: %s\n", err.msg);
            return 1;
        }
        fs[r] = now() - t0;
        t0 = now();
        if (wasm_instance_restore(b.i, full.data, full.len, &err) != AO_OK) {
            fprintf(stderr, "snapshot bench: %s\n", err.msg);
            return 1;
        }
        fr[r] = now() - t0;
    }
    double full_ms = pct(fs, 3, 0.5) * 1e3;
    printf("  full snapshot:   %8.2f ms  %9zu bytes  restore %8.2f ms\n", full_ms, full.len,
           pct(fr, 3, 0.5) * 1e3);

    uint8_t *src = malloc(TOUCH);
    uint32_t *pages = malloc(sizeof *pages * (TOUCH / PG));
    double *dt = malloc(sizeof *dt * (size_t)rounds), *rt = malloc(sizeof *rt * (size_t)rounds);
    double *tt = malloc(sizeof *tt * (size_t)rounds), *bt = malloc(sizeof *bt * (size_t)rounds);
    ao_buf d;
    ao_buf_init(&d);
    int fails = 0;
    for (int mode = 0; mode < NMODES; mode++) {
        size_t dsum = 0;
        for (int r = 0; r < rounds; r++) {
            typical(src, TOUCH);
            uint64_t seed = rng_state;
            double t0 = now();
            touch(mode, &a, src, pages);
            tt[r] = now() - t0;
            /* the same writes on an untracked instance: the fault cost */
            rng_state = seed;
            t0 = now();
            if (mode == SCATTER_WASM)
                touch(mode, &t, src, pages);
            else
                retouch(mode, &t, src, pages);
            bt[r] = now() - t0;
            d.len = 0;
            t0 = now();
            if (wasm_instance_snapshot_delta(a.i, &d, &err) != AO_OK) {
                fprintf(stderr, "snapshot bench: %s\n", err.msg);
                return 1;
            }
            dt[r] = now() - t0;
            dsum += d.len;
            t0 = now();
            if (wasm_instance_restore(b.i, d.data, d.len, &err) != AO_OK) {
                fprintf(stderr, "snapshot bench: %s\n", err.msg);
                return 1;
            }
            rt[r] = now() - t0;
        }
        if (memcmp(wasm_memory_data(a.mem), wasm_memory_data(b.mem), memsz) != 0) {
            printf("  MISMATCH: the replica differs after the %s rounds\n", MODE_NAME[mode]);
            fails++;
        }
        double fault_us = 0;
        for (int r = 0; r < rounds; r++)
            fault_us += (tt[r] - bt[r]) / (TOUCH / PG);
        fault_us = fault_us / rounds * 1e6;
        double med = pct(dt, rounds, 0.5) * 1e3, p99 = pct(dt, rounds, 0.99) * 1e3;
        printf("  delta, %s:\n", MODE_NAME[mode]);
        printf("    snapshot median %6.3f ms  p99 %6.3f ms  (%5.1fx faster than full)  %8zu bytes avg\n",
               med, p99, full_ms / med, dsum / (size_t)rounds);
        printf("    restore  median %6.3f ms  p99 %6.3f ms\n", pct(rt, rounds, 0.5) * 1e3,
               pct(rt, rounds, 0.99) * 1e3);
        printf("    write faults: %.2f us per page written (tracked vs untracked writes)\n", fault_us);
    }

    /* zstd levels on 1 MiB of the same kind of data (the delta's payload) */
    typical(src, TOUCH);
    size_t bound = ZSTD_compressBound(TOUCH);
    uint8_t *z = malloc(bound);
    ZSTD_CCtx *cc = ZSTD_createCCtx();
    static const int levels[] = {-5, -1, 1, 3};
    printf("  zstd on 1 MiB of heap-like data (median of 20):\n");
    for (size_t li = 0; li < sizeof levels / sizeof *levels; li++) {
        double v[20];
        size_t zn = 0;
        for (int r = 0; r < 20; r++) {
            double t0 = now();
            zn = ZSTD_compressCCtx(cc, z, bound, src, TOUCH, levels[li]);
            v[r] = now() - t0;
        }
        printf("    level %2d: %6.3f ms  ratio %.2f\n", levels[li], pct(v, 20, 0.5) * 1e3,
               (double)TOUCH / (double)zn);
    }
    /* 64 KiB tracking granularity would send 256 x 64 KiB for scattered writes */
    uint8_t *big = malloc((size_t)16 << 20);
    typical(big, (size_t)16 << 20);
    size_t bb = ZSTD_compressBound((size_t)16 << 20);
    uint8_t *zb = malloc(bb);
    double t0 = now();
    ZSTD_compressCCtx(cc, zb, bb, big, (size_t)16 << 20, 1);
    printf("  (64 KiB granularity, 256 scattered writes = 16 MiB at level 1: %.2f ms to compress)\n",
           (now() - t0) * 1e3);
    free(big);
    free(zb);
    ZSTD_freeCCtx(cc);
    free(z);
    free(src);
    free(pages);
    free(dt);
    free(rt);
    free(tt);
    free(bt);
    ao_buf_free(&d);
    ao_buf_free(&full);
    wasm_store_free(a.s);
    wasm_store_free(b.s);
    wasm_store_free(t.s);
    wasm_module_free(m);
    printf("snapshot bench: %d passed, %d failed\n", NMODES - fails, fails);
    return fails ? 1 : 0;
}
