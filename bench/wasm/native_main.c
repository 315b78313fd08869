/* native_main.c - native driver of a bench/wasm program: runs run(N) once
 * and prints "CHECKSUM SECONDS" (CPU time of the call).
 * Usage: PROGRAM N */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "bench.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s N\n", argv[0]);
        return 2;
    }
    uint32_t n = (uint32_t)strtoul(argv[1], NULL, 10);
    struct timespec a, b;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
    uint32_t sum = run(n);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
    printf("%u %.6f\n", sum, (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9);
    return 0;
}
