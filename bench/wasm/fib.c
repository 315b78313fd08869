/* fib.c - recursive Fibonacci: call and return heavy. run(n) = sum of
 * fib(24..26) over n calls, as u32. */
#include "bench.h"

static uint32_t fib(uint32_t n)
{
    return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

BENCH_EXPORT uint32_t run(uint32_t n)
{
    uint32_t s = 0;
    for (uint32_t i = 0; i < n; i++)
        s += fib(24 + i % 3) ^ i;
    return s;
}
