/*
 * bench/wasm_front/front_run.c - driver of bench/wasm_front.sh: times the
 * engine's front-end (wasm__decode, then wasm__validate) over a set of
 * .wasm files, and writes the synthetic test module.
 *
 *   front_run gen OUT.wasm N       write a module of N functions of mixed,
 *                                  valid code (blocks, loops, br_table,
 *                                  loads, calls, arithmetic)
 *   front_run time REPS FILE...    decode+validate every file REPS times;
 *                                  prints "bytes decode_s validate_s" (best
 *                                  round, this thread's CPU time)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "wasm/wasm_module.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void leb(ao_buf *b, uint32_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        ao_buf_append_byte(b, v ? c | 0x80 : c);
    } while (v);
}

static void section(ao_buf *out, uint8_t id, const ao_buf *c)
{
    ao_buf_append_byte(out, id);
    leb(out, (uint32_t)c->len);
    ao_buf_append(out, c->data, c->len);
}

static int gen(const char *path, uint32_t n)
{
    /* one instruction mix, repeated 20 times per body:
     * (i32, i32) -> i32 with one i32 local */
    static const uint8_t unit[] = {
        0x20, 0x00, 0x20, 0x01, 0x6a, 0x21, 0x02,             /* l2 = l0 + l1 */
        0x02, 0x40, 0x20, 0x02, 0x0d, 0x00, 0x0b,             /* block br_if end */
        0x41, 0x00, 0x28, 0x02, 0x00, 0x20, 0x02, 0x6c, 0x21, 0x01, /* load, mul */
        0x20, 0x00, 0x20, 0x01, 0x10, 0x00, 0x1a,             /* call 0, drop */
        0x03, 0x40, 0x20, 0x02, 0x41, 0x01, 0x6b, 0x22, 0x02, 0x0d, 0x00, 0x0b, /* loop */
        0x02, 0x40, 0x02, 0x40, 0x20, 0x00, 0x0e, 0x02, 0x00, 0x01, 0x00, 0x0b, 0x0b,
    };
    ao_buf m, c;
    ao_buf_init(&m);
    ao_buf_init(&c);
    ao_buf_append(&m, "\0asm\1\0\0\0", 8);
    static const uint8_t types[] = { 0x01, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f };
    ao_buf_append(&c, types, sizeof types);
    section(&m, 1, &c);
    ao_buf_reset(&c);
    leb(&c, n);
    for (uint32_t i = 0; i < n; i++)
        ao_buf_append_byte(&c, 0);
    section(&m, 3, &c);
    ao_buf_reset(&c);
    ao_buf_append(&c, "\x01\x00\x01", 3);
    section(&m, 5, &c);
    ao_buf body;
    ao_buf_init(&body);
    ao_buf_append(&body, "\x01\x01\x7f", 3);
    for (int k = 0; k < 20; k++)
        ao_buf_append(&body, unit, sizeof unit);
    ao_buf_append(&body, "\x20\x02\x0b", 3);
    ao_buf_reset(&c);
    leb(&c, n);
    for (uint32_t i = 0; i < n; i++) {
        leb(&c, (uint32_t)body.len);
        ao_buf_append(&c, body.data, body.len);
    }
    section(&m, 10, &c);
    ao_error err;
    int rc = ao_file_write_atomic(path, m.data, m.len, 0644, &err);
    if (rc)
        fprintf(stderr, "front_run: %s\n", err.msg);
    ao_buf_free(&m);
    ao_buf_free(&c);
    ao_buf_free(&body);
    return rc ? 1 : 0;
}

static int timeit(int reps, int nfiles, char **files)
{
    ao_buf *bins = calloc((size_t)nfiles, sizeof *bins);
    size_t total = 0;
    for (int i = 0; i < nfiles; i++) {
        ao_error err;
        ao_buf_init(&bins[i]);
        if (ao_file_read(files[i], &bins[i], &err)) {
            fprintf(stderr, "front_run: %s\n", err.msg);
            return 1;
        }
        total += bins[i].len;
    }
    double best_d = 1e9, best_v = 1e9;
    for (int r = 0; r < reps; r++) {
        double td = 0, tv = 0;
        for (int i = 0; i < nfiles; i++) {
            wasm_module *m = NULL;
            ao_error err;
            double t0 = now();
            int rc = wasm__decode(bins[i].data, bins[i].len, &m, &err);
            double t1 = now();
            if (!rc)
                rc = wasm__validate(m, &err);
            double t2 = now();
            if (rc) {
                fprintf(stderr, "front_run: %s: %s\n", files[i], err.msg);
                return 1;
            }
            wasm__destroy(m);
            td += t1 - t0;
            tv += t2 - t1;
        }
        if (td + tv < best_d + best_v) {
            best_d = td;
            best_v = tv;
        }
    }
    printf("%zu %.6f %.6f\n", total, best_d, best_v);
    for (int i = 0; i < nfiles; i++)
        ao_buf_free(&bins[i]);
    free(bins);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "gen"))
        return gen(argv[2], (uint32_t)strtoul(argv[3], NULL, 10));
    if (argc >= 4 && !strcmp(argv[1], "time"))
        return timeit(atoi(argv[2]), argc - 3, argv + 3);
    fprintf(stderr, "usage: front_run gen OUT.wasm N | front_run time REPS FILE...\n");
    return 2;
}
