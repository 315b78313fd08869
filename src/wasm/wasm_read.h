/*
 * wasm_read.h - INTERNAL: small inline readers of the WebAssembly binary
 * encoding (LEB128 integers, fixed-width floats, block types), shared by the
 * decoder, the validator and the back-end's translator.
 *
 * Two families:
 *   wasm_rd_*    checked: read from a cursor {p, end}; return WASM_RD_OK or a
 *                WASM_RD_* error saying why (the spec's wording is in
 *                wasm_rd_strerror). They never read past end.
 *   wasm_ru_*    unchecked: for bytes that wasm__validate already accepted
 *                (function bodies, constant expressions). They advance *pp.
 *
 * LEB128 rules (spec 5.2.2): an N-bit integer takes at most ceil(N/7)
 * bytes ("integer representation too long" otherwise), and the unused bits
 * of the last byte must be zero (unsigned) or copies of the sign bit
 * (signed), else "integer too large".
 */
#ifndef AO_WASM_READ_H
#define AO_WASM_READ_H

#include <stdint.h>
#include <stddef.h>
#include <string.h>

typedef struct wasm_rd {
    const uint8_t *p;     /* next byte */
    const uint8_t *end;   /* one past the last readable byte */
} wasm_rd;

enum {
    WASM_RD_OK = 0,
    WASM_RD_EOF = 1,       /* "unexpected end" */
    WASM_RD_TOOLONG = 2,   /* "integer representation too long" */
    WASM_RD_TOOLARGE = 3,  /* "integer too large" */
};

static inline const char *wasm_rd_strerror(int rc)
{
    switch (rc) {
    case WASM_RD_EOF: return "unexpected end";
    case WASM_RD_TOOLONG: return "integer representation too long";
    case WASM_RD_TOOLARGE: return "integer too large";
    default: return "ok";
    }
}

static inline size_t wasm_rd_left(const wasm_rd *r) { return (size_t)(r->end - r->p); }

static inline int wasm_rd_byte(wasm_rd *r, uint8_t *out)
{
    if (r->p >= r->end)
        return WASM_RD_EOF;
    *out = *r->p++;
    return WASM_RD_OK;
}

/* Unsigned LEB128 of `bits` bits (1..64). */
static inline int wasm_rd_uleb(wasm_rd *r, unsigned bits, uint64_t *out)
{
    if (r->p < r->end && !(*r->p & 0x80) && bits >= 7) {   /* one byte: the common case */
        *out = *r->p++;
        return WASM_RD_OK;
    }
    uint64_t v = 0;
    unsigned shift = 0;
    unsigned maxbytes = (bits + 6) / 7;
    for (unsigned i = 0;; i++) {
        if (r->p >= r->end)
            return WASM_RD_EOF;
        uint8_t b = *r->p++;
        if (i == maxbytes - 1) {
            /* last permitted byte: continuation bit must be clear ... */
            if (b & 0x80)
                return WASM_RD_TOOLONG;
            /* ... and the bits beyond `bits` must be zero */
            unsigned used = bits - shift;      /* 1..7 */
            if (used < 7 && (b >> used) != 0)
                return WASM_RD_TOOLARGE;
            v |= (uint64_t)b << shift;
            break;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            break;
        shift += 7;
    }
    *out = v;
    return WASM_RD_OK;
}

/* Signed LEB128 of `bits` bits (1..64), sign-extended to 64 bits. */
static inline int wasm_rd_sleb(wasm_rd *r, unsigned bits, int64_t *out)
{
    if (r->p < r->end && !(*r->p & 0x80) && bits >= 7) {   /* one byte */
        uint8_t b = *r->p++;
        *out = (b & 0x40) ? (int64_t)b - 0x80 : (int64_t)b;
        return WASM_RD_OK;
    }
    uint64_t v = 0;
    unsigned shift = 0;
    unsigned maxbytes = (bits + 6) / 7;
    for (unsigned i = 0;; i++) {
        if (r->p >= r->end)
            return WASM_RD_EOF;
        uint8_t b = *r->p++;
        if (i == maxbytes - 1) {
            if (b & 0x80)
                return WASM_RD_TOOLONG;
            unsigned used = bits - shift;      /* 1..7 value bits here */
            if (used < 7) {
                /* bits used-1 .. 6 must all equal the sign bit */
                uint8_t hi = (uint8_t)(b >> (used - 1));   /* sign + unused */
                uint8_t all = (uint8_t)(0x7f >> (used - 1));
                if (hi != 0 && hi != all)
                    return WASM_RD_TOOLARGE;
            }
            v |= (uint64_t)(b & 0x7f) << shift;
            shift += 7;
            if (shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            break;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
        if (!(b & 0x80)) {
            if (shift < 64 && (b & 0x40))
                v |= ~(uint64_t)0 << shift;
            break;
        }
    }
    *out = (int64_t)v;
    return WASM_RD_OK;
}

static inline int wasm_rd_u32(wasm_rd *r, uint32_t *out)
{
    uint64_t v;
    int rc = wasm_rd_uleb(r, 32, &v);
    if (rc == WASM_RD_OK)
        *out = (uint32_t)v;
    return rc;
}

static inline int wasm_rd_u64(wasm_rd *r, uint64_t *out) { return wasm_rd_uleb(r, 64, out); }

static inline int wasm_rd_s32(wasm_rd *r, int32_t *out)
{
    int64_t v;
    int rc = wasm_rd_sleb(r, 32, &v);
    if (rc == WASM_RD_OK)
        *out = (int32_t)v;
    return rc;
}

static inline int wasm_rd_s33(wasm_rd *r, int64_t *out) { return wasm_rd_sleb(r, 33, out); }
static inline int wasm_rd_s64(wasm_rd *r, int64_t *out) { return wasm_rd_sleb(r, 64, out); }

static inline int wasm_rd_f32(wasm_rd *r, uint32_t *out)
{
    if (wasm_rd_left(r) < 4)
        return WASM_RD_EOF;
    *out = (uint32_t)r->p[0] | ((uint32_t)r->p[1] << 8) | ((uint32_t)r->p[2] << 16) |
           ((uint32_t)r->p[3] << 24);
    r->p += 4;
    return WASM_RD_OK;
}

static inline int wasm_rd_f64(wasm_rd *r, uint64_t *out)
{
    if (wasm_rd_left(r) < 8)
        return WASM_RD_EOF;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | r->p[i];
    r->p += 8;
    *out = v;
    return WASM_RD_OK;
}

/* ---- unchecked readers (validated input only) ---- */

static inline uint64_t wasm_ru_uleb(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = *p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    *pp = p;
    return v;
}

static inline int64_t wasm_ru_sleb(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;
    do {
        b = *p++;
        if (shift < 64)
            v |= (uint64_t)(b & 0x7f) << shift;
        shift += 7;
    } while (b & 0x80);
    if (shift < 64 && (b & 0x40))
        v |= ~(uint64_t)0 << shift;
    *pp = p;
    return (int64_t)v;
}

static inline uint32_t wasm_ru_u32(const uint8_t **pp) { return (uint32_t)wasm_ru_uleb(pp); }
static inline uint64_t wasm_ru_u64(const uint8_t **pp) { return wasm_ru_uleb(pp); }
static inline int32_t wasm_ru_s32(const uint8_t **pp) { return (int32_t)wasm_ru_sleb(pp); }
static inline int64_t wasm_ru_s64(const uint8_t **pp) { return wasm_ru_sleb(pp); }

static inline uint32_t wasm_ru_f32(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    *pp = p + 4;
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t wasm_ru_f64(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | p[i];
    *pp = p + 8;
    return v;
}

/* Block type of block/loop/if (validated input). Returns:
 *   -1 and *idx untouched  for the empty type (0x40),
 *   -2 and *vt set         for a single result value type,
 *    0 and *idx set        for a type index (params and results of types[idx]). */
static inline int wasm_ru_blocktype(const uint8_t **pp, uint8_t *vt, uint32_t *idx)
{
    uint8_t b = **pp;
    if (b == 0x40) {
        (*pp)++;
        return -1;
    }
    if (b == 0x7f || b == 0x7e || b == 0x7d || b == 0x7c || b == 0x70 || b == 0x6f) {
        (*pp)++;
        *vt = b;
        return -2;
    }
    *idx = (uint32_t)wasm_ru_sleb(pp);
    return 0;
}

/* Memory immediate (memarg) of a load/store (validated input): alignment
 * exponent then offset (u64 for memory64, u32 otherwise; read as u64). */
static inline void wasm_ru_memarg(const uint8_t **pp, uint32_t *align, uint64_t *offset)
{
    *align = wasm_ru_u32(pp);
    *offset = wasm_ru_u64(pp);
}

#endif
