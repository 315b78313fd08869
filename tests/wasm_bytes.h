/*
 * wasm_bytes.h - header-only writer of WebAssembly binary pieces for tests
 * that assemble modules by hand: a fixed-size byte buffer, bytes, unsigned
 * LEB128, names and sections. Static functions only.
 */
#ifndef AO_TESTS_WASM_BYTES_H
#define AO_TESTS_WASM_BYTES_H

#include <stdint.h>
#include <string.h>

typedef struct wb {
    uint8_t b[8192];
    size_t n;
} wb;

static inline void wb_put(wb *x, const void *p, size_t n)
{
    assert_true(x->n + n <= sizeof x->b);
    memcpy(x->b + x->n, p, n);
    x->n += n;
}

static inline void wb_byte(wb *x, uint8_t v) { wb_put(x, &v, 1); }

static inline void wb_uleb(wb *x, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        wb_byte(x, (uint8_t)(c | (v ? 0x80 : 0)));
    } while (v);
}

/* A name: its length, then its bytes. */
static inline void wb_name(wb *x, const char *s)
{
    wb_uleb(x, strlen(s));
    wb_put(x, s, strlen(s));
}

/* A section: id, body size, body. */
static inline void wb_section(wb *mod, uint8_t id, const wb *body)
{
    wb_byte(mod, id);
    wb_uleb(mod, body->n);
    wb_put(mod, body->b, body->n);
}

#endif
