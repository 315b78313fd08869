/*
 * wasm_num.h - INTERNAL: WebAssembly numeric semantics that C does not give
 * directly: float min/max/nearest with the spec's NaN and signed-zero rules,
 * canonical NaN results (the engine's determinism policy, see wasm.h),
 * range checks of the trapping float-to-int truncations and the saturating
 * truncations.
 */
#ifndef AO_WASM_NUM_H
#define AO_WASM_NUM_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#define WASM_F32_CANON 0x7fc00000u
#define WASM_F64_CANON 0x7ff8000000000000ull

static inline float wn_f32(uint64_t s)
{
    uint32_t u = (uint32_t)s;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline double wn_f64(uint64_t s)
{
    double d;
    memcpy(&d, &s, 8);
    return d;
}

/* Result bits of an arithmetic f32 operation: NaN becomes canonical. */
static inline uint64_t wn_r32(float f)
{
    uint32_t u;
    if (f != f)
        return WASM_F32_CANON;
    memcpy(&u, &f, 4);
    return u;
}

static inline uint64_t wn_r64(double d)
{
    uint64_t u;
    if (d != d)
        return WASM_F64_CANON;
    memcpy(&u, &d, 8);
    return u;
}

static inline float wn_fminf(float a, float b)
{
    if (a != a || b != b)
        return NAN;
    if (a == 0.0f && b == 0.0f)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline float wn_fmaxf(float a, float b)
{
    if (a != a || b != b)
        return NAN;
    if (a == 0.0f && b == 0.0f)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

static inline double wn_fmin(double a, double b)
{
    if (a != a || b != b)
        return NAN;
    if (a == 0.0 && b == 0.0)
        return signbit(a) ? a : b;
    return a < b ? a : b;
}

static inline double wn_fmax(double a, double b)
{
    if (a != a || b != b)
        return NAN;
    if (a == 0.0 && b == 0.0)
        return signbit(a) ? b : a;
    return a > b ? a : b;
}

/* Truncation checks: 0 ok, 1 NaN (invalid conversion), 2 out of range. */
static inline int wn_chk_i32_f32_s(float x) { return x != x ? 1 : (x >= -2147483648.0f && x < 2147483648.0f) ? 0 : 2; }
static inline int wn_chk_i32_f32_u(float x) { return x != x ? 1 : (x > -1.0f && x < 4294967296.0f) ? 0 : 2; }
static inline int wn_chk_i32_f64_s(double x) { return x != x ? 1 : (x > -2147483649.0 && x < 2147483648.0) ? 0 : 2; }
static inline int wn_chk_i32_f64_u(double x) { return x != x ? 1 : (x > -1.0 && x < 4294967296.0) ? 0 : 2; }
static inline int wn_chk_i64_f32_s(float x) { return x != x ? 1 : (x >= -9223372036854775808.0f && x < 9223372036854775808.0f) ? 0 : 2; }
static inline int wn_chk_i64_f32_u(float x) { return x != x ? 1 : (x > -1.0f && x < 18446744073709551616.0f) ? 0 : 2; }
static inline int wn_chk_i64_f64_s(double x) { return x != x ? 1 : (x >= -9223372036854775808.0 && x < 9223372036854775808.0) ? 0 : 2; }
static inline int wn_chk_i64_f64_u(double x) { return x != x ? 1 : (x > -1.0 && x < 18446744073709551616.0) ? 0 : 2; }

/* Saturating truncations. */
static inline uint32_t wn_sat_i32_s(double x)
{
    if (x != x) return 0;
    if (x <= -2147483648.0) return 0x80000000u;
    if (x >= 2147483647.0) return 0x7fffffffu;
    return (uint32_t)(int32_t)x;
}

static inline uint32_t wn_sat_i32_u(double x)
{
    if (x != x || x <= 0.0) return 0;
    if (x >= 4294967295.0) return 0xffffffffu;
    return (uint32_t)x;
}

static inline uint64_t wn_sat_i64_s(double x)
{
    if (x != x) return 0;
    if (x <= -9223372036854775808.0) return 0x8000000000000000ull;
    if (x >= 9223372036854775808.0) return 0x7fffffffffffffffull;
    return (uint64_t)(int64_t)x;
}

static inline uint64_t wn_sat_i64_u(double x)
{
    if (x != x || x <= 0.0) return 0;
    if (x >= 18446744073709551616.0) return 0xffffffffffffffffull;
    return (uint64_t)x;
}

#endif
