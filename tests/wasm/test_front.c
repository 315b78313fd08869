/*
 * test_front.c - the WebAssembly front-end (decoder + validator): unit
 * tests of single rules on small hand-assembled binaries. The spec suite
 * walk is test_front_spec.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


#include "base/base.h"
#include "wasm/wasm_module.h"
#include "wasm/wasm_read.h"

/* ---- module assembler ---- */

static void hex_append(ao_buf *b, const char *hex)
{
    ao_buf tmp;
    ao_buf_init(&tmp);
    char clean[8192];
    size_t n = 0;
    for (const char *p = hex; *p; p++)
        if (*p != ' ' && *p != '\n') {
            assert_true(n < sizeof clean - 1);
            clean[n++] = *p;
        }
    clean[n] = 0;
    assert_int_equal(ao_hex_decode(clean, n, &tmp, NULL), AO_OK);
    ao_buf_append(b, tmp.data, tmp.len);
    ao_buf_free(&tmp);
}

static void leb_append(ao_buf *b, uint32_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        ao_buf_append_byte(b, c);
    } while (v);
}

static void mod_begin(ao_buf *b)
{
    ao_buf_init(b);
    hex_append(b, "0061736d01000000");
}

/* A section with content given as hex; the size is computed. */
static void sec(ao_buf *b, uint8_t id, const char *hex)
{
    ao_buf c;
    ao_buf_init(&c);
    hex_append(&c, hex);
    ao_buf_append_byte(b, id);
    leb_append(b, (uint32_t)c.len);
    ao_buf_append(b, c.data, c.len);
    ao_buf_free(&c);
}

/* A code section with n bodies (each: locals + instructions, as hex,
 * without the size prefix). */
static void code_sec(ao_buf *b, int n, ...)
{
    ao_buf c;
    ao_buf_init(&c);
    leb_append(&c, (uint32_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        ao_buf body;
        ao_buf_init(&body);
        hex_append(&body, va_arg(ap, const char *));
        leb_append(&c, (uint32_t)body.len);
        ao_buf_append(&c, body.data, body.len);
        ao_buf_free(&body);
    }
    va_end(ap);
    ao_buf_append_byte(b, 10);
    leb_append(b, (uint32_t)c.len);
    ao_buf_append(b, c.data, c.len);
    ao_buf_free(&c);
}

/* Decode (and validate if decoding worked); returns the first failure code
 * and tells which stage failed. The module is freed. */
enum { ST_OK, ST_DECODE, ST_VALIDATE };

static int load(const uint8_t *p, size_t n, int *stage, ao_error *err)
{
    wasm_module *m = NULL;
    int rc = wasm__decode(p, n, &m, err);
    if (rc) {
        assert_null(m);
        *stage = ST_DECODE;
        return rc;
    }
    rc = wasm__validate(m, err);
    *stage = rc ? ST_VALIDATE : ST_OK;
    wasm__destroy(m);
    return rc;
}

static int load_buf(ao_buf *b, int *stage)
{
    ao_error err;
    ao_err_clear(&err);
    int rc = load(b->data, b->len, stage, &err);
    ao_buf_free(b);
    return rc;
}

#define EXPECT(buf, code, st)                        \
    do {                                             \
        int stage_;                                  \
        int rc_ = load_buf(&(buf), &stage_);         \
        assert_int_equal(rc_, (code));               \
        assert_int_equal(stage_, (st));              \
    } while (0)

/* One function of type 0 (given as hex type section content) with body. */
static void one_func(ao_buf *b, const char *types, const char *body)
{
    mod_begin(b);
    sec(b, 1, types);
    sec(b, 3, "0100");
    code_sec(b, 1, body);
}

/* ---- LEB128 ---- */

static void leb_u32_rules(void **state)
{
    (void)state;
    struct { const char *hex; int rc; uint32_t v; } cases[] = {
        { "00", WASM_RD_OK, 0 },
        { "7f", WASM_RD_OK, 127 },
        { "8001", WASM_RD_OK, 128 },
        { "ffffffff0f", WASM_RD_OK, 0xffffffffu },
        { "8080808000", WASM_RD_OK, 0 },             /* padded, 5 bytes: fine */
        { "808080808000", WASM_RD_TOOLONG, 0 },      /* 6 bytes */
        { "ffffffff1f", WASM_RD_TOOLARGE, 0 },       /* unused bit set */
        { "ffffffff4f", WASM_RD_TOOLARGE, 0 },
        { "ff", WASM_RD_EOF, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ao_buf b;
        ao_buf_init(&b);
        hex_append(&b, cases[i].hex);
        wasm_rd r = { b.data, b.data + b.len };
        uint32_t v = 0;
        assert_int_equal(wasm_rd_u32(&r, &v), cases[i].rc);
        if (cases[i].rc == WASM_RD_OK)
            assert_int_equal(v, cases[i].v);
        ao_buf_free(&b);
    }
}

static void leb_signed_rules(void **state)
{
    (void)state;
    struct { const char *hex; unsigned bits; int rc; int64_t v; } cases[] = {
        { "7f", 32, WASM_RD_OK, -1 },
        { "3f", 32, WASM_RD_OK, 63 },
        { "c000", 32, WASM_RD_OK, 64 },
        { "ffffffff7f", 32, WASM_RD_OK, -1 },          /* sign bits all 1 */
        { "ffffffff0f", 32, WASM_RD_TOOLARGE, 0 },     /* bit 31 clear, 28-31 set: -1 would need 0x7f */
        { "8080808078", 32, WASM_RD_OK, INT32_MIN },
        { "8080808070", 32, WASM_RD_TOOLARGE, 0 },    /* bit 3 = 0 but bits 4..6 set */
        { "ffffffffffffffffff7f", 64, WASM_RD_OK, -1 },
        { "ffffffffffffffffff01", 64, WASM_RD_TOOLARGE, 0 },
        { "8080808080808080808000", 64, WASM_RD_TOOLONG, 0 },
        { "808080800f", 33, WASM_RD_OK, 0xf0000000ll },  /* s33 holds 2^32-ish positives */
        { "808080801f", 33, WASM_RD_TOOLARGE, 0 },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ao_buf b;
        ao_buf_init(&b);
        hex_append(&b, cases[i].hex);
        wasm_rd r = { b.data, b.data + b.len };
        int64_t v = 0;
        int rc = wasm_rd_sleb(&r, cases[i].bits, &v);
        if (rc != cases[i].rc)
            fail_msg("case %zu (%s): rc %d, want %d", i, cases[i].hex, rc, cases[i].rc);
        if (rc == WASM_RD_OK) {
            assert_int_equal(v, cases[i].v);
            assert_ptr_equal(r.p, r.end);
            const uint8_t *q = b.data;
            assert_int_equal(wasm_ru_sleb(&q), cases[i].v);
        }
        ao_buf_free(&b);
    }
}

/* The unchecked readers the back-end uses on validated code. */
static void unchecked_readers(void **state)
{
    (void)state;
    uint8_t vt = 0;
    uint32_t idx = 0;
    const uint8_t empty[] = { 0x40 }, single[] = { 0x7e }, ref[] = { 0x6f },
                  typeidx[] = { 0xc0, 0x00 }, small[] = { 0x05 };
    const uint8_t *p = empty;
    assert_int_equal(wasm_ru_blocktype(&p, &vt, &idx), -1);
    assert_ptr_equal(p, empty + 1);
    p = single;
    assert_int_equal(wasm_ru_blocktype(&p, &vt, &idx), -2);
    assert_int_equal(vt, WASM_I64);
    p = ref;
    assert_int_equal(wasm_ru_blocktype(&p, &vt, &idx), -2);
    assert_int_equal(vt, WASM_EXTERNREF);
    p = typeidx;
    assert_int_equal(wasm_ru_blocktype(&p, &vt, &idx), 0);
    assert_int_equal(idx, 64);
    assert_ptr_equal(p, typeidx + 2);
    p = small;
    assert_int_equal(wasm_ru_blocktype(&p, &vt, &idx), 0);
    assert_int_equal(idx, 5);
    /* memarg: alignment then a 64-bit offset */
    const uint8_t ma[] = { 0x03, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 };
    uint32_t align;
    uint64_t off;
    p = ma;
    wasm_ru_memarg(&p, &align, &off);
    assert_int_equal(align, 3);
    assert_true(off == UINT64_MAX);
    assert_ptr_equal(p, ma + sizeof ma);
    const uint8_t f[] = { 0x00, 0x00, 0x80, 0x3f, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f };
    p = f;
    assert_int_equal(wasm_ru_f32(&p), 0x3f800000);
    p = f + 4;
    assert_true(wasm_ru_f64(&p) == 0x3ff0000000000000ull);
}

/* ---- structure ---- */

static void header_rules(void **state)
{
    (void)state;
    int st;
    ao_error err;
    assert_int_equal(load((const uint8_t *)"", 0, &st, &err), AO_EFORMAT);
    assert_int_equal(load((const uint8_t *)"\0asm", 4, &st, &err), AO_EFORMAT);
    assert_int_equal(load((const uint8_t *)"\0asm\2\0\0\0", 8, &st, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "version"));
    assert_int_equal(load((const uint8_t *)"\0ASM\1\0\0\0", 8, &st, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "magic"));
    assert_int_equal(load((const uint8_t *)"\0asm\1\0\0\0", 8, &st, &err), AO_OK);
}

static void section_order_and_ids(void **state)
{
    (void)state;
    ao_buf b;
    /* function section before type section */
    mod_begin(&b);
    sec(&b, 3, "00");
    sec(&b, 1, "00");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* duplicate section */
    mod_begin(&b);
    sec(&b, 1, "00");
    sec(&b, 1, "00");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* data count (12) goes between element (9) and code (10) */
    mod_begin(&b);
    sec(&b, 12, "00");
    sec(&b, 10, "00");
    EXPECT(b, AO_OK, ST_OK);
    mod_begin(&b);
    sec(&b, 10, "00");
    sec(&b, 12, "00");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* unknown id (13 is the tag section of exception handling: refused as
     * unsupported, see newer_proposals) */
    mod_begin(&b);
    sec(&b, 14, "00");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* custom sections anywhere, contents skipped */
    mod_begin(&b);
    sec(&b, 0, "046e616d65ffff");
    sec(&b, 1, "00");
    sec(&b, 0, "00");
    EXPECT(b, AO_OK, ST_OK);
    /* custom section name longer than the section */
    mod_begin(&b);
    sec(&b, 0, "05616263");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* section size beyond the input */
    mod_begin(&b);
    hex_append(&b, "010500");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* section content shorter than its size says (junk inside) */
    mod_begin(&b);
    sec(&b, 1, "0000");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
}

static void utf8_names(void **state)
{
    (void)state;
    const char *bad[] = {
        "02c080",      /* overlong NUL */
        "03eda080",    /* surrogate U+D800 */
        "04f4908080",  /* above U+10FFFF */
        "0180",        /* lone continuation */
        "02e282",      /* truncated */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ao_buf b;
        char hex[64];
        mod_begin(&b);
        snprintf(hex, sizeof hex, "%s", bad[i]);
        sec(&b, 0, hex);
        EXPECT(b, AO_EFORMAT, ST_DECODE);
    }
    ao_buf b;
    mod_begin(&b);
    sec(&b, 0, "0a" "e282ac" "f09f9880" "c3a9" "00");   /* euro, emoji, e-acute, NUL */
    EXPECT(b, AO_OK, ST_OK);
}

static void function_code_counts(void **state)
{
    (void)state;
    ao_buf b;
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    EXPECT(b, AO_EFORMAT, ST_DECODE);   /* no code section */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "020000");
    code_sec(&b, 1, "000b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    mod_begin(&b);
    sec(&b, 1, "01600000");
    code_sec(&b, 1, "000b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);   /* code without functions */
}

static void data_count_rules(void **state)
{
    (void)state;
    ao_buf b;
    /* memory.init without a data count section: malformed */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010001");
    code_sec(&b, 1, "00 410041004100 fc0800 00 0b");
    sec(&b, 11, "0101 00");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* the same with a data count: fine */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010001");
    sec(&b, 12, "01");
    code_sec(&b, 1, "00 410041004100 fc0800 00 0b");
    sec(&b, 11, "0101 00");
    EXPECT(b, AO_OK, ST_OK);
    /* data.drop of a segment beyond the count: invalid */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 12, "01");
    code_sec(&b, 1, "00 fc0901 0b");
    sec(&b, 11, "0101 00");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* data.drop with neither a data count nor a data section: there is no
     * segment to name, so it is invalid rather than malformed */
    one_func(&b, "01600000", "00 fc0900 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* count disagrees with the data section */
    mod_begin(&b);
    sec(&b, 12, "02");
    sec(&b, 11, "0101 00");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* count but no data section at all */
    mod_begin(&b);
    sec(&b, 12, "01");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
}

static void locals_limits(void **state)
{
    (void)state;
    ao_buf b;
    /* total above u32: malformed */
    one_func(&b, "01600000", "02 ffffffff0f7f 027e 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* above the engine cap: refused as a limit */
    char body[64];
    snprintf(body, sizeof body, "01 %02x%02x%02x7f 0b", ((WASM_MAX_LOCALS + 1) & 0x7f) | 0x80,
             (((WASM_MAX_LOCALS + 1) >> 7) & 0x7f) | 0x80, (WASM_MAX_LOCALS + 1) >> 14);
    one_func(&b, "01600000", body);
    EXPECT(b, AO_ELIMIT, ST_VALIDATE);
    /* exactly at the cap, with a parameter: the cap counts params */
    snprintf(body, sizeof body, "01 %02x%02x%02x7f 0b", ((WASM_MAX_LOCALS - 1) & 0x7f) | 0x80,
             (((WASM_MAX_LOCALS - 1) >> 7) & 0x7f) | 0x80, (WASM_MAX_LOCALS - 1) >> 14);
    one_func(&b, "0160017f00", body);
    EXPECT(b, AO_OK, ST_OK);
    /* local types by binary search over groups */
    mod_begin(&b);
    sec(&b, 1, "0160027f7e00");
    sec(&b, 3, "0100");
    code_sec(&b, 1, "03 037d 007c 027c  2000 1a 2001 1a 2002 1a 2004 1a 2005 1a 0b");
    wasm_module *m = NULL;
    assert_int_equal(wasm__decode(b.data, b.len, &m, NULL), AO_OK);
    assert_int_equal(wasm__validate(m, NULL), AO_OK);
    const wasm_functype *ft = wasm__func_type(m, 0);
    const wasm_code *c = &m->code[0];
    assert_int_equal(c->nlocals, 5);
    assert_int_equal(c->ngroups, 2);   /* the empty group is dropped */
    uint8_t want[] = { 0x7f, 0x7e, 0x7d, 0x7d, 0x7d, 0x7c, 0x7c };
    for (uint32_t i = 0; i < 7; i++)
        assert_int_equal(wasm__local_type(ft, c, i), want[i]);
    wasm__destroy(m);
    ao_buf_free(&b);
    /* local index out of range */
    one_func(&b, "01600000", "01017f 2001 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
}

/* A section whose content is a count then `count` copies of one item
 * (hex), built directly (the hex helper is for small inputs). */
static void big_sec(ao_buf *b, uint8_t id, uint32_t count, const char *item_hex)
{
    ao_buf item, c;
    ao_buf_init(&item);
    ao_buf_init(&c);
    hex_append(&item, item_hex);
    leb_append(&c, count);
    assert_int_equal(ao_buf_reserve(&c, (size_t)count * item.len), AO_OK);
    for (uint32_t i = 0; i < count; i++)
        ao_buf_append(&c, item.data, item.len);
    ao_buf_append_byte(b, id);
    leb_append(b, (uint32_t)c.len);
    ao_buf_append(b, c.data, c.len);
    ao_buf_free(&item);
    ao_buf_free(&c);
}

static void engine_limits(void **state)
{
    (void)state;
    ao_buf b;
    ao_error err;
    int st;
    /* one function over the limit */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    big_sec(&b, 3, WASM_MAX_FUNCS + 1, "00");
    assert_int_equal(load(b.data, b.len, &st, &err), AO_ELIMIT);
    assert_non_null(strstr(err.msg, "functions"));
    ao_buf_free(&b);
    /* element items over all segments */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 4, "01 700000");
    {
        ao_buf c;
        ao_buf_init(&c);
        /* 10 items, then enough to pass the limit by one */
        uint32_t counts[2] = { 10, WASM_MAX_ELEM_ITEMS - 9 };
        hex_append(&c, "02");
        for (int seg = 0; seg < 2; seg++) {
            hex_append(&c, "01 00");   /* passive, funcref kind */
            leb_append(&c, counts[seg]);
            assert_int_equal(ao_buf_reserve(&c, counts[seg]), AO_OK);
            memset(c.data + c.len, 0, counts[seg]);
            c.len += counts[seg];
        }
        ao_buf_append_byte(&b, 9);
        leb_append(&b, (uint32_t)c.len);
        ao_buf_append(&b, c.data, c.len);
        ao_buf_free(&c);
    }
    code_sec(&b, 1, "000b");
    assert_int_equal(load(b.data, b.len, &st, &err), AO_ELIMIT);
    assert_non_null(strstr(err.msg, "element segment items"));
    ao_buf_free(&b);
    /* one function body over the size limit */
    {
        ao_buf body;
        ao_buf_init(&body);
        hex_append(&body, "00");
        size_t n = WASM_MAX_BODY_SIZE;   /* nops + end: one byte over */
        assert_int_equal(ao_buf_reserve(&body, n + 1), AO_OK);
        memset(body.data + body.len, 0x01, n - 1);
        body.len += n - 1;
        ao_buf_append_byte(&body, 0x0b);
        ao_buf c;
        ao_buf_init(&c);
        leb_append(&c, 1);
        leb_append(&c, (uint32_t)body.len);
        ao_buf_append(&c, body.data, body.len);
        mod_begin(&b);
        sec(&b, 1, "01600000");
        sec(&b, 3, "0100");
        ao_buf_append_byte(&b, 10);
        leb_append(&b, (uint32_t)c.len);
        ao_buf_append(&b, c.data, c.len);
        assert_int_equal(load(b.data, b.len, &st, &err), AO_ELIMIT);
        assert_non_null(strstr(err.msg, "function body"));
        /* one byte less is fine */
        ao_buf_free(&b);
        body.len -= 2;
        ao_buf_append_byte(&body, 0x0b);
        ao_buf_reset(&c);
        leb_append(&c, 1);
        leb_append(&c, (uint32_t)body.len);
        ao_buf_append(&c, body.data, body.len);
        mod_begin(&b);
        sec(&b, 1, "01600000");
        sec(&b, 3, "0100");
        ao_buf_append_byte(&b, 10);
        leb_append(&b, (uint32_t)c.len);
        ao_buf_append(&b, c.data, c.len);
        EXPECT(b, AO_OK, ST_OK);
        ao_buf_free(&body);
        ao_buf_free(&c);
    }
    /* whole module size: refused before a byte is read */
    static const uint8_t tiny[8] = { 0 };
    wasm_module *m = NULL;
    assert_int_equal(wasm__decode(tiny, (size_t)WASM_MAX_MODULE_SIZE + 1, &m, &err), AO_ELIMIT);
    assert_null(m);
}

static void unsupported_features(void **state)
{
    (void)state;
    ao_buf b;
    ao_error err;
    int st;
    /* v128 parameter */
    mod_begin(&b);
    sec(&b, 1, "0160017b00");
    assert_int_equal(load(b.data, b.len, &st, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "SIMD"));
    ao_buf_free(&b);
    /* 0xfd prefix */
    one_func(&b, "01600000", "00 fd0c00000000000000000000000000000000 1a 0b");
    assert_int_equal(load(b.data, b.len, &st, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "SIMD"));
    ao_buf_free(&b);
    /* 0xfe prefix (atomics) */
    one_func(&b, "01600000", "00 fe0300 0b");
    assert_int_equal(load(b.data, b.len, &st, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "threads"));
    ao_buf_free(&b);
    /* shared memory: flags 3 and 7 */
    mod_begin(&b);
    sec(&b, 5, "01030102");
    assert_int_equal(load(b.data, b.len, &st, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "shared"));
    ao_buf_free(&b);
    mod_begin(&b);
    sec(&b, 5, "01070102");
    EXPECT(b, AO_EUNSUPPORTED, ST_DECODE);
    /* flags 8 and above are malformed, not unsupported */
    mod_begin(&b);
    sec(&b, 5, "010801");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* a shared table does not exist */
    mod_begin(&b);
    sec(&b, 4, "0170030102");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
}

/* Features of later standards are refused as unsupported, naming them. */
static void newer_proposals(void **state)
{
    (void)state;
    struct { const char *body; const char *word; } ops[] = {
        { "00 0640 0b 0b", "exception" },          /* try */
        { "00 0800 0b", "exception" },             /* throw */
        { "00 1200 0b", "tail call" },             /* return_call */
        { "00 d200 d4 1a 0b", "references" },     /* ref.as_non_null */
        { "00 fb0100 0b", "GC" },
        { "00 fd0c00000000000000000000000000000000 1a 0b", "SIMD" },
        { "00 fe0300 0b", "threads" },
    };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        ao_buf b;
        ao_error err;
        int st;
        one_func(&b, "01600000", ops[i].body);
        int rc = load(b.data, b.len, &st, &err);
        ao_buf_free(&b);
        if (rc != AO_EUNSUPPORTED || st != ST_DECODE || !strstr(err.msg, ops[i].word))
            fail_msg("case %zu: rc %d: %s", i, rc, err.msg);
    }
    struct { const char *types; const char *word; } types[] = {
        { "0160017b00", "SIMD" },
        { "016001630000", "references" },          /* (ref null func) param */
        { "0160016900", "exception" },             /* exnref */
        { "0160016e00", "GC" },                    /* anyref */
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        ao_buf b;
        ao_error err;
        int st;
        mod_begin(&b);
        sec(&b, 1, types[i].types);
        int rc = load(b.data, b.len, &st, &err);
        ao_buf_free(&b);
        if (rc != AO_EUNSUPPORTED || !strstr(err.msg, types[i].word))
            fail_msg("type case %zu: rc %d: %s", i, rc, err.msg);
    }
    ao_buf b;
    ao_error err;
    int st;
    mod_begin(&b);
    sec(&b, 13, "00");
    assert_int_equal(load(b.data, b.len, &st, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "tag section"));
    ao_buf_free(&b);
    /* a GC type as a table's element type */
    mod_begin(&b);
    sec(&b, 4, "01 6e 00 00");
    assert_int_equal(load(b.data, b.len, &st, &err), AO_EUNSUPPORTED);
    ao_buf_free(&b);
    /* but the tag import kind stays malformed, as the 2.0 suite says */
    mod_begin(&b);
    sec(&b, 2, "01 0161 0162 04 00 00");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
}

static void instruction_syntax(void **state)
{
    (void)state;
    ao_buf b;
    /* memory.size reserved byte must be a single zero byte */
    mod_begin(&b);
    sec(&b, 1, "0160000000");
    EXPECT(b, AO_EFORMAT, ST_DECODE);   /* trailing junk in type section */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010001");
    code_sec(&b, 1, "00 3f8000 1a 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* illegal opcodes */
    one_func(&b, "01600000", "00 27 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    one_func(&b, "01600000", "00 c5 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    one_func(&b, "01600000", "00 fc12 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* else outside if, missing end, junk after end */
    one_func(&b, "01600000", "00 0240 05 0b 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    one_func(&b, "01600000", "00 0240 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    one_func(&b, "01600000", "00 0b 01");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* block type: a type index needing two bytes of s33 (64) decodes */
    ao_buf types;
    ao_buf_init(&types);
    leb_append(&types, 65);
    for (int i = 0; i < 65; i++)
        hex_append(&types, "600000");
    char *thex = ao_hex_encode(types.data, types.len);
    ao_buf_free(&types);
    mod_begin(&b);
    sec(&b, 1, thex);
    sec(&b, 3, "0100");
    code_sec(&b, 1, "00 02c000 0b 0b");
    EXPECT(b, AO_OK, ST_OK);
    mod_begin(&b);
    sec(&b, 1, thex);
    sec(&b, 3, "0100");
    code_sec(&b, 1, "00 02c100 0b 0b");   /* 65: unknown type */
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    free(thex);
    /* a negative block type that is not a value type */
    one_func(&b, "01600000", "00 0260 0b 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
}

/* ---- typing ---- */

static void typing_basics(void **state)
{
    (void)state;
    ao_buf b;
    /* (i32, i32) -> i32: add */
    one_func(&b, "0160027f7f017f", "00 2000 2001 6a 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* i32.add of an i64 */
    one_func(&b, "0160027f7e017f", "00 2000 2001 6a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* value left over at end */
    one_func(&b, "01600000", "00 4100 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* missing result */
    one_func(&b, "016000017f", "00 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* after unreachable anything goes, even popping from empty */
    one_func(&b, "016000017f", "00 00 6a 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* ... but known types still clash */
    one_func(&b, "016000017f", "00 00 4200 6a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* br out of a block with a result, then dead code */
    one_func(&b, "016000017f", "00 027f 4101 0c00 0b 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* unknown label */
    one_func(&b, "01600000", "00 0c01 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* if without else must not change the stack type */
    one_func(&b, "016000017f", "00 4101 047f 4102 0b 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    one_func(&b, "016000017f", "00 4101 047f 4102 05 4103 0b 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* multi-value block by type index: [i32 i32] -> [i32] */
    mod_begin(&b);
    sec(&b, 1, "02 6000017f 60027f7f017f");
    sec(&b, 3, "0100");
    code_sec(&b, 1, "00 4101 4102 0201 6a 0b 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* loop label takes the loop's params */
    mod_begin(&b);
    sec(&b, 1, "02 6000017f 60017f017f");
    sec(&b, 3, "0100");
    code_sec(&b, 1, "00 4101 0301 0c00 0b 0b");
    EXPECT(b, AO_OK, ST_OK);
}

static void typing_br_table(void **state)
{
    (void)state;
    ao_buf b;
    /* labels of different arity */
    one_func(&b, "01600000", "00 0240 027f 4100 4100 0e020001 00 0b 1a 0b 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* unreachable: labels of the same arity but different types are fine
     * when the operands come from the polymorphic bottom (as the spec's
     * algorithm and reference interpreter do: unknown matches both) */
    one_func(&b, "01600000",
             "00 027d 027f 00 0e0201 00 00 0b 1a 4300000000 0b 1a 0b");
    EXPECT(b, AO_OK, ST_OK);
    one_func(&b, "01600000",
             "00 027f 027f 00 0e0101 00 0b 0b 1a 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* a real operand must match every label */
    one_func(&b, "01600000",
             "00 027d 027f 4200 4100 0e0101 00 0b 1a 4300000000 0b 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
}

static void typing_select_and_refs(void **state)
{
    (void)state;
    ao_buf b;
    /* untyped select of numbers */
    one_func(&b, "016000017e", "00 4201 4202 4100 1b 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* untyped select of references: invalid */
    one_func(&b, "01600000", "00 d070 d070 4100 1b 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* typed select of references: fine */
    one_func(&b, "01600000", "00 d070 d070 4100 1c0170 1a 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* typed select with two types: invalid arity */
    one_func(&b, "01600000", "00 4100 4100 4100 1c027f7f 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* ref.func of a function referenced nowhere else: undeclared */
    one_func(&b, "01600000", "00 d200 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* declared by an export */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 7, "0101660000");
    code_sec(&b, 1, "00 d200 1a 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* declared by a declarative element segment */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 9, "01 03 00 0100");
    code_sec(&b, 1, "00 d200 1a 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* ref.is_null of a number */
    one_func(&b, "01600000", "00 4100 d1 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
}

static void globals_and_consts(void **state)
{
    (void)state;
    ao_buf b;
    /* global.set of an immutable global */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 6, "01 7f00 4100 0b");
    code_sec(&b, 1, "00 4101 2400 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* non-constant initializer */
    mod_begin(&b);
    sec(&b, 6, "01 7f00 4100 4100 6a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* wrong type */
    mod_begin(&b);
    sec(&b, 6, "01 7f00 4200 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* empty */
    mod_begin(&b);
    sec(&b, 6, "01 7f00 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* global.get of an imported immutable global: fine; of a defined one: no */
    mod_begin(&b);
    sec(&b, 2, "01 016d 0167 03 7f00");
    sec(&b, 6, "01 7f00 2300 0b");
    EXPECT(b, AO_OK, ST_OK);
    mod_begin(&b);
    sec(&b, 6, "02 7f00 4100 0b 7f00 2300 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* segment offsets also see only imported globals (2.0) */
    mod_begin(&b);
    sec(&b, 5, "010001");
    sec(&b, 6, "01 7f00 4100 0b");
    sec(&b, 11, "01 00 2300 0b 00");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    mod_begin(&b);
    sec(&b, 2, "01 016d 0167 03 7f00");
    sec(&b, 5, "010001");
    sec(&b, 11, "01 00 2300 0b 00");
    EXPECT(b, AO_OK, ST_OK);
    /* global.get of an imported mutable global */
    mod_begin(&b);
    sec(&b, 2, "01 016d 0167 03 7f01");
    sec(&b, 6, "01 7f00 2300 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* bad mutability byte */
    mod_begin(&b);
    sec(&b, 6, "01 7f02 4100 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* decoded constant */
    mod_begin(&b);
    sec(&b, 6, "02 7e00 427f 0b 7d00 430000803f 0b");
    wasm_module *m = NULL;
    assert_int_equal(wasm__decode(b.data, b.len, &m, NULL), AO_OK);
    assert_int_equal(wasm__validate(m, NULL), AO_OK);
    assert_int_equal(m->globals[0].init.op, WASM_CE_I64_CONST);
    assert_int_equal(m->globals[0].init.bits, UINT64_MAX);
    assert_int_equal(m->globals[1].init.op, WASM_CE_F32_CONST);
    assert_int_equal(m->globals[1].init.bits, 0x3f800000);
    wasm__destroy(m);
    ao_buf_free(&b);
}

static void memory_rules(void **state)
{
    (void)state;
    ao_buf b;
    /* two memories */
    mod_begin(&b);
    sec(&b, 5, "02 0001 0001");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* min > max */
    mod_begin(&b);
    sec(&b, 5, "01 010201");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* 65537 pages for a 32-bit memory; fine for memory64 */
    mod_begin(&b);
    sec(&b, 5, "01 00818004");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    mod_begin(&b);
    sec(&b, 5, "01 04818004");
    EXPECT(b, AO_OK, ST_OK);
    /* memory64: 2^48 pages allowed, 2^48 + 1 not */
    mod_begin(&b);
    sec(&b, 5, "01 05 00 808080808080c000");
    EXPECT(b, AO_OK, ST_OK);
    mod_begin(&b);
    sec(&b, 5, "01 05 00 818080808080c000");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* alignment larger than natural */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010001");
    code_sec(&b, 1, "00 4100 280300 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* alignment exponent 32 and above is malformed, 31 is invalid */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010001");
    code_sec(&b, 1, "00 4100 282000 1a 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010001");
    code_sec(&b, 1, "00 4100 281f00 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* load without a memory */
    one_func(&b, "01600000", "00 4100 280200 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* memory64: i64 address and a 64-bit offset */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010401");
    code_sec(&b, 1, "00 4200 2902ffffffffffffffffff01 1a 3f00 1a 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* memory64 with an i32 address */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010401");
    code_sec(&b, 1, "00 4100 280200 1a 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* memory.grow on memory64 returns i64 */
    mod_begin(&b);
    sec(&b, 1, "016000017e");
    sec(&b, 3, "0100");
    sec(&b, 5, "010401");
    code_sec(&b, 1, "00 4201 4000 0b");
    EXPECT(b, AO_OK, ST_OK);
    /* 32-bit memory offset must fit u32 (LEB rule) */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 5, "010001");
    code_sec(&b, 1, "00 4100 2802ffffffff1f 1a 0b");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
    /* data segment offset type follows the memory */
    mod_begin(&b);
    sec(&b, 5, "010401");
    sec(&b, 11, "01 00 4100 0b 00");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    mod_begin(&b);
    sec(&b, 5, "010401");
    sec(&b, 11, "01 00 4200 0b 00");
    EXPECT(b, AO_OK, ST_OK);
}

static void table_rules(void **state)
{
    (void)state;
    ao_buf b;
    /* table64 with i64 index in call_indirect, table.size result i64 */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 4, "01 700400");
    code_sec(&b, 1, "00 4200 110000 fc1000 1a 0b");
    EXPECT(b, AO_OK, ST_OK);
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 4, "01 700400");
    code_sec(&b, 1, "00 4100 110000 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* table.copy 32 <- 64: n is i32 */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 4, "02 700000 700400");
    code_sec(&b, 1, "00 4100 4200 4100 fc0e0001 0b");
    EXPECT(b, AO_OK, ST_OK);
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 4, "02 700000 700400");
    code_sec(&b, 1, "00 4100 4200 4200 fc0e0001 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* call_indirect through an externref table */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 4, "01 6f0000");
    code_sec(&b, 1, "00 4100 110000 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* element segment type must match the table */
    mod_begin(&b);
    sec(&b, 4, "01 6f0000");
    sec(&b, 9, "01 00 4100 0b 00");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* table min > max */
    mod_begin(&b);
    sec(&b, 4, "01 70010201");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* table.init of an unknown segment */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 4, "01 700000");
    code_sec(&b, 1, "00 410041004100 fc0c0000 0b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* bad element kind byte */
    mod_begin(&b);
    sec(&b, 9, "01 01 01 00");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
}

/* memory64: memory.fill/copy/init take i64 addresses and lengths (init:
 * i64 destination, i32 source offset and length). */
static void memory64_bulk_ops(void **state)
{
    (void)state;
    ao_buf b;
    const char *ok_bodies[] = {
        "00 4200 4100 4201 fc0b00 0b",          /* fill d:i64 v:i32 n:i64 */
        "00 4200 4201 4202 fc0a0000 0b",        /* copy i64 i64 i64 */
        "00 4200 4100 4100 fc080000 0b",        /* init d:i64 s:i32 n:i32 */
        "00 4201 4000 1a 3f00 1a 0b",           /* grow/size in i64 */
    };
    const char *bad_bodies[] = {
        "00 4100 4100 4201 fc0b00 0b",          /* fill with i32 destination */
        "00 4200 4201 4102 fc0a0000 0b",        /* copy with i32 length */
        "00 4200 4100 4200 fc080000 0b",        /* init with i64 length */
        "00 4101 4000 1a 0b",                   /* grow by i32 */
    };
    for (int bad = 0; bad < 2; bad++) {
        for (size_t i = 0; i < 4; i++) {
            mod_begin(&b);
            sec(&b, 1, "01600000");
            sec(&b, 3, "0100");
            sec(&b, 5, "010401");
            sec(&b, 12, "01");
            code_sec(&b, 1, bad ? bad_bodies[i] : ok_bodies[i]);
            sec(&b, 11, "0101 00");
            int st;
            int rc = load_buf(&b, &st);
            if (rc != (bad ? AO_EINVAL : AO_OK))
                fail_msg("%s body %zu: rc %d", bad ? "bad" : "good", i, rc);
        }
    }
}

/* table64: table.get/set/size/grow/fill use i64 indices; table.init takes
 * an i64 destination with i32 source and length. */
static void table64_ops(void **state)
{
    (void)state;
    ao_buf b;
    const char *ok_bodies[] = {
        "00 4200 4200 2500 2600 0b",                /* set(i, get(i)) */
        "00 fc1000 1a 0b",                          /* size -> i64 */
        "00 d070 4201 fc0f00 1a 0b",                /* grow(ref, i64) -> i64 */
        "00 4200 d070 4201 fc1100 0b",              /* fill(i64, ref, i64) */
        "00 4200 4100 4100 fc0c0000 0b",            /* init(i64, i32, i32) */
    };
    const char *bad_bodies[] = {
        "00 4100 2500 1a 0b",                       /* get with i32 index */
        "00 fc1000 4100 6a 1a 0b",                  /* size result is i64, not i32 */
        "00 d070 4101 fc0f00 1a 0b",                /* grow by i32 */
        "00 4100 d070 4201 fc1100 0b",              /* fill at i32 */
        "00 4200 4100 4200 fc0c0000 0b",            /* init with i64 length */
    };
    for (int bad = 0; bad < 2; bad++) {
        for (size_t i = 0; i < 5; i++) {
            mod_begin(&b);
            sec(&b, 1, "01600000");
            sec(&b, 3, "0100");
            sec(&b, 4, "01 700400");
            sec(&b, 9, "01 05 70 00");
            code_sec(&b, 1, bad ? bad_bodies[i] : ok_bodies[i]);
            int st;
            int rc = load_buf(&b, &st);
            if (rc != (bad ? AO_EINVAL : AO_OK))
                fail_msg("%s body %zu: rc %d", bad ? "bad" : "good", i, rc);
        }
    }
}

static void exports_and_start(void **state)
{
    (void)state;
    ao_buf b;
    /* duplicate export names */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 7, "02 0161 0000 0161 0000");
    code_sec(&b, 1, "000b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* same names of different lengths are distinct */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 7, "02 0161 0000 026161 0000");
    code_sec(&b, 1, "000b");
    EXPECT(b, AO_OK, ST_OK);
    /* export of an unknown global */
    mod_begin(&b);
    sec(&b, 7, "01 0161 0300");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* start function with a parameter */
    mod_begin(&b);
    sec(&b, 1, "0160017f00");
    sec(&b, 3, "0100");
    sec(&b, 8, "00");
    code_sec(&b, 1, "000b");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* unknown start */
    mod_begin(&b);
    sec(&b, 8, "00");
    EXPECT(b, AO_EINVAL, ST_VALIDATE);
    /* bad export kind */
    mod_begin(&b);
    sec(&b, 7, "01 0161 0400");
    EXPECT(b, AO_EFORMAT, ST_DECODE);
}

static void introspection(void **state)
{
    (void)state;
    ao_buf b;
    mod_begin(&b);
    sec(&b, 1, "01 60027f7e017d");
    sec(&b, 2, "03 036d6f64 0166 0000   036d6f64 016d 02 0501 02   036d6f64 0167 03 7e01");
    sec(&b, 3, "0100");
    sec(&b, 4, "01 700001");
    sec(&b, 7, "03 0466756e63 0001  0374626c 0100  036d656d 0200");
    code_sec(&b, 1, "00 430000c03f 0b");
    wasm_module *m = NULL;
    ao_error err;
    assert_int_equal(wasm__decode(b.data, b.len, &m, &err), AO_OK);
    assert_int_equal(wasm__validate(m, &err), AO_OK);
    ao_buf_free(&b);
    assert_int_equal(wasm_module_import_count(m), 3);
    wasm_import_desc im;
    wasm_module_import(m, 0, &im);
    assert_string_equal(im.module, "mod");
    assert_string_equal(im.name, "f");
    assert_int_equal(im.type.kind, WASM_EXTERN_FUNC);
    assert_int_equal(im.type.func.nparams, 2);
    assert_int_equal(im.type.func.params[1], WASM_I64);
    assert_int_equal(im.type.func.results[0], WASM_F32);
    wasm_module_import(m, 1, &im);
    assert_int_equal(im.type.kind, WASM_EXTERN_MEMORY);
    assert_true(im.type.memory.is64);
    assert_true(im.type.memory.has_max);
    assert_int_equal(im.type.memory.min, 1);
    assert_int_equal(im.type.memory.max, 2);
    wasm_module_import(m, 2, &im);
    assert_int_equal(im.type.kind, WASM_EXTERN_GLOBAL);
    assert_int_equal(im.type.global.type, WASM_I64);
    assert_true(im.type.global.mut);
    assert_int_equal(wasm_module_export_count(m), 3);
    wasm_export_desc ex;
    wasm_module_export(m, 0, &ex);
    assert_string_equal(ex.name, "func");
    assert_int_equal(ex.type.kind, WASM_EXTERN_FUNC);
    assert_int_equal(ex.type.func.nresults, 1);
    wasm_module_export(m, 1, &ex);
    assert_string_equal(ex.name, "tbl");
    assert_int_equal(ex.type.table.elem, WASM_FUNCREF);
    assert_int_equal(ex.type.table.limits.min, 1);
    assert_false(ex.type.table.limits.has_max);
    wasm_module_export(m, 2, &ex);
    assert_int_equal(ex.type.kind, WASM_EXTERN_MEMORY);
    assert_int_equal(ex.type.memory.max, 2);
    /* the code body, stack and depth bounds */
    assert_int_equal(m->ncode, 1);
    assert_int_equal(m->code[0].max_stack, 1);
    assert_int_equal(m->code[0].max_depth, 1);
    assert_int_equal(m->code[0].body_len, 6);
    assert_int_equal(m->code[0].body[5], 0x0b);
    wasm__destroy(m);
}

static void stack_and_depth_bounds(void **state)
{
    (void)state;
    ao_buf b;
    one_func(&b, "01600000", "00 0240 0240 0340 4101 4102 4103 1a1a1a 0b 0b 0b 4100 1a 0b");
    wasm_module *m = NULL;
    assert_int_equal(wasm__decode(b.data, b.len, &m, NULL), AO_OK);
    assert_int_equal(wasm__validate(m, NULL), AO_OK);
    assert_int_equal(m->code[0].max_stack, 3);
    assert_int_equal(m->code[0].max_depth, 4);
    wasm__destroy(m);
    ao_buf_free(&b);
}

/* Regression: with no local groups in any body, the group pointer was
 * computed from a NULL pool (UBSan: offset applied to null pointer). */
static void no_local_groups(void **state)
{
    (void)state;
    ao_buf b;
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "020000");
    code_sec(&b, 2, "000b", "00010b");
    wasm_module *m = NULL;
    assert_int_equal(wasm__decode(b.data, b.len, &m, NULL), AO_OK);
    assert_int_equal(wasm__validate(m, NULL), AO_OK);
    assert_null(m->groups);
    for (uint32_t i = 0; i < 2; i++) {
        assert_int_equal(m->code[i].ngroups, 0);
        assert_null(m->code[i].groups);
    }
    wasm__destroy(m);
    ao_buf_free(&b);
}

static void name_section(void **state)
{
    (void)state;
    ao_buf b;
    /* module name "mod", function 1 named "g" (function 0 unnamed), plus a
     * local-names subsection that is skipped */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "020000");
    code_sec(&b, 2, "000b", "000b");
    sec(&b, 0, "046e616d65"
               "00 04 036d6f64"
               "01 04 01 01 0167"
               "02 01 00");
    wasm_module *m = NULL;
    ao_error err;
    assert_int_equal(wasm__decode(b.data, b.len, &m, &err), AO_OK);
    ao_buf_free(&b);
    assert_string_equal(m->name, "mod");
    assert_null(wasm__func_name(m, 0));
    assert_string_equal(wasm__func_name(m, 1), "g");
    assert_null(wasm__func_name(m, 2));
    wasm__destroy(m);
    /* malformed name sections are ignored, never an error */
    const char *bad[] = {
        "046e616d65 01 06 02 01 0167 00 0166",   /* indices not increasing */
        "046e616d65 01 04 01 05 0167",           /* index beyond the functions */
        "046e616d65 01 04 01 00 02c080",         /* bad UTF-8 (and short) */
        "046e616d65 00 04 036d6f64 00 02 0161",  /* subsection repeated */
        "046e616d65 01 09 01",                   /* subsection beyond the section */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mod_begin(&b);
        sec(&b, 1, "01600000");
        sec(&b, 3, "020000");
        code_sec(&b, 2, "000b", "000b");
        sec(&b, 0, bad[i]);
        m = NULL;
        if (wasm__decode(b.data, b.len, &m, &err) != AO_OK)
            fail_msg("case %zu: %s", i, err.msg);
        ao_buf_free(&b);
        assert_null(m->name);
        assert_null(m->func_names);
        assert_int_equal(wasm__validate(m, NULL), AO_OK);
        wasm__destroy(m);
    }
}

static void element_segments(void **state)
{
    (void)state;
    ao_buf b;
    /* all eight segment forms decode */
    mod_begin(&b);
    sec(&b, 1, "01600000");
    sec(&b, 3, "0100");
    sec(&b, 4, "01 700001");
    sec(&b, 9, "08"
               "00 4100 0b 01 00"
               "01 00 01 00"
               "02 00 4100 0b 00 01 00"
               "03 00 01 00"
               "04 4100 0b 02 d200 0b d070 0b"
               "05 70 01 d200 0b"
               "06 00 4100 0b 70 01 d200 0b"
               "07 70 01 d200 0b");
    code_sec(&b, 1, "000b");
    wasm_module *m = NULL;
    ao_error err;
    int rc = wasm__decode(b.data, b.len, &m, &err);
    if (rc)
        fail_msg("%s", err.msg);
    assert_int_equal(wasm__validate(m, &err), AO_OK);
    ao_buf_free(&b);
    assert_int_equal(m->nelems, 8);
    uint8_t modes[] = { 0, 1, 0, 2, 0, 1, 0, 2 };
    for (int i = 0; i < 8; i++)
        assert_int_equal(m->elems[i].mode, modes[i]);
    assert_int_equal(m->elems[4].nitems, 2);
    assert_int_equal(m->elems[4].items[0].op, WASM_CE_REF_FUNC);
    assert_int_equal(m->elems[4].items[1].op, WASM_CE_REF_NULL);
    assert_int_equal(m->elems[0].items[0].op, WASM_CE_REF_FUNC);
    assert_int_equal(m->elems[0].offset.op, WASM_CE_I32_CONST);
    wasm__destroy(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(leb_u32_rules),
        cmocka_unit_test(leb_signed_rules),
        cmocka_unit_test(unchecked_readers),
        cmocka_unit_test(header_rules),
        cmocka_unit_test(section_order_and_ids),
        cmocka_unit_test(utf8_names),
        cmocka_unit_test(function_code_counts),
        cmocka_unit_test(data_count_rules),
        cmocka_unit_test(locals_limits),
        cmocka_unit_test(engine_limits),
        cmocka_unit_test(unsupported_features),
        cmocka_unit_test(newer_proposals),
        cmocka_unit_test(instruction_syntax),
        cmocka_unit_test(typing_basics),
        cmocka_unit_test(typing_br_table),
        cmocka_unit_test(typing_select_and_refs),
        cmocka_unit_test(globals_and_consts),
        cmocka_unit_test(memory_rules),
        cmocka_unit_test(table_rules),
        cmocka_unit_test(memory64_bulk_ops),
        cmocka_unit_test(table64_ops),
        cmocka_unit_test(exports_and_start),
        cmocka_unit_test(introspection),
        cmocka_unit_test(stack_and_depth_bounds),
        cmocka_unit_test(no_local_groups),
        cmocka_unit_test(name_section),
        cmocka_unit_test(element_segments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
