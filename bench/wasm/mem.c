/* mem.c - memory kernels: block moves of varying sizes and offsets
 * (memcpy/memmove, memory.copy in wasm), fills, and an FNV-1a hash over the
 * whole buffer. run(n): n rounds; returns the final hash. */
#include "bench.h"

#define SZ (256 * 1024)
static uint8_t buf[SZ], tmp[SZ];

static uint32_t fnv1a(const uint8_t *p, size_t n, uint32_t h)
{
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h;
}

BENCH_EXPORT uint32_t run(uint32_t n)
{
    uint32_t x = 7;
    for (size_t i = 0; i < SZ; i++) {
        x ^= x << 13; x ^= x >> 17; x ^= x << 5;
        buf[i] = (uint8_t)x;
    }
    uint32_t h = 2166136261u;
    for (uint32_t r = 0; r < n; r++) {
        for (int k = 0; k < 64; k++) {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5;
            size_t len = 1 + (x % 8192), src = (x >> 8) % (SZ - len), dst = (x >> 3) % (SZ - len);
            bench_copy(tmp, buf + src, len);
            bench_copy(buf + dst, tmp, len);
            if ((k & 15) == 0) bench_fill(buf + (src ^ dst) % (SZ - 64), (int)(x & 0xff), 64);
        }
        h = fnv1a(buf, SZ, h);
    }
    return h;
}
