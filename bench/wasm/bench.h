/*
 * bench.h - shared by the wasm benchmark programs in bench/wasm/: each
 * program defines `uint32_t run(uint32_t n)` (n = work size) returning a
 * checksum. The same source is built natively (gcc -O2, with native_main.c)
 * and to wasm32 (clang --target=wasm32 -O2 -nostdlib -ffreestanding
 * -mbulk-memory, no libc: memcpy/memset become memory.copy/memory.fill).
 */
#ifndef BENCH_WASM_H
#define BENCH_WASM_H

#include <stdint.h>
#include <stddef.h>

#ifdef __wasm__
#define BENCH_EXPORT __attribute__((export_name("run")))
#else
#define BENCH_EXPORT
#endif

uint32_t run(uint32_t n);

static inline void bench_copy(void *dst, const void *src, size_t n)
{
    __builtin_memcpy(dst, src, n);
}

static inline void bench_fill(void *dst, int c, size_t n)
{
    __builtin_memset(dst, c, n);
}

#endif
