/*
 * decode.c - the WebAssembly binary decoder: bytes -> struct wasm_module
 * (wasm_module.h). It checks everything the spec calls "malformed": the
 * header, section ids, order and sizes, LEB128 encodings, UTF-8 names,
 * value/reference types, limits flags, segment flags, the syntax of every
 * instruction and its immediates (including the block structure of each
 * body), function/code and data count consistency, and the rule that
 * memory.init/data.drop need a data count section. Typing and index ranges
 * are left to the validator (validate.c). SIMD (0xfd prefix, v128) and
 * threads (0xfe prefix, shared memories) are refused with AO_EUNSUPPORTED.
 *
 * Cost: linear in the input; allocations are per section/segment, never
 * per instruction. Every count is checked against the bytes left before
 * anything is allocated for it, so allocations stay proportional to the
 * input size.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "wasm/wasm_module.h"
#include "wasm/wasm_read.h"

typedef struct dec {
    wasm_module *m;
    ao_error *err;
    const uint8_t *base;      /* m->bytes, for offsets in messages */
    uint8_t *ctl;             /* block kinds of the body being scanned */
    size_t ctl_cap;
    size_t groups_len, groups_cap;
    uint64_t elem_items;      /* element segment items so far */
    const uint8_t *names, *names_end;  /* contents of the "name" section */
    bool in_section;          /* reading a section's contents */
    bool mem0_is64;           /* memory 0 is a memory64: memarg offsets are u64 */
    const uint8_t *datacount_op; /* first memory.init / data.drop seen */
} dec;

/* ---- errors ---- */

static int fail(dec *d, int code, const uint8_t *at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(dec *d, int code, const uint8_t *at, const char *fmt, ...)
{
    char msg[AO_ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (at)
        return ao_err_set(d->err, code, "%s (at byte %zu)", msg, (size_t)(at - d->base));
    return ao_err_set(d->err, code, "%s", msg);
}

static int fail_rd(dec *d, int rc, const uint8_t *at)
{
    if (rc == WASM_RD_EOF && d->in_section)
        return fail(d, AO_EFORMAT, at, "unexpected end of section or function");
    return fail(d, AO_EFORMAT, at, "%s", wasm_rd_strerror(rc));
}

#define RD(call, at)                       \
    do {                                   \
        int rc_ = (call);                  \
        if (rc_ != WASM_RD_OK)             \
            return fail_rd(d, rc_, (at));  \
    } while (0)

static int nomem(dec *d)
{
    return ao_err_set(d->err, AO_ENOMEM, "out of memory decoding module");
}

/* A vector count: each element needs at least one byte, so a count beyond
 * what is left is malformed and never allocated (allocations stay
 * proportional to the input). */
static int rd_count(dec *d, wasm_rd *r, uint32_t *n)
{
    const uint8_t *at = r->p;
    RD(wasm_rd_u32(r, n), at);
    if (*n > wasm_rd_left(r))
        return fail(d, AO_EFORMAT, at, "unexpected end of section or function (count %u)", *n);
    return AO_OK;
}

/* An engine limit of wasm_module.h. */
static int limit(dec *d, const uint8_t *at, uint64_t n, uint64_t max, const char *what)
{
    if (n > max)
        return fail(d, AO_ELIMIT, at, "too many %s: %llu (engine limit %llu)", what,
                    (unsigned long long)n, (unsigned long long)max);
    return AO_OK;
}

/* ---- names ---- */

static bool utf8_valid(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return false;
        }
        if (n - i < len)
            return false;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)))
            return false;
        if (cp >= 0xd800 && cp <= 0xdfff)
            return false;
        i += len;
    }
    return true;
}

/* Reads a name; if out is non-NULL stores a malloc'd NUL-terminated copy. */
static int rd_name(dec *d, wasm_rd *r, char **out, uint32_t *outlen)
{
    const uint8_t *at = r->p;
    uint32_t n;
    RD(wasm_rd_u32(r, &n), at);
    if (n > wasm_rd_left(r))
        return fail(d, AO_EFORMAT, at, "length out of bounds (name of %u bytes)", n);
    if (!utf8_valid(r->p, n))
        return fail(d, AO_EFORMAT, at, "malformed UTF-8 encoding");
    if (out) {
        char *s = malloc((size_t)n + 1);
        if (!s)
            return nomem(d);
        memcpy(s, r->p, n);
        s[n] = 0;
        *out = s;
        *outlen = n;
    }
    r->p += n;
    return AO_OK;
}

/* ---- types ---- */

/* Type bytes of later proposals, refused as unsupported rather than
 * malformed so that the message names the feature. */
static const char *newer_type(uint8_t b)
{
    switch (b) {
    case 0x7b: return "SIMD (v128 value type)";
    case 0x63: case 0x64: return "typed function references (ref types)";
    case 0x69: case 0x74: return "exception handling (exnref)";
    case 0x6a: case 0x6b: case 0x6c: case 0x6d: case 0x6e:
    case 0x71: case 0x72: case 0x73: return "GC (reference types)";
    default: return NULL;
    }
}

/* Opcodes of later proposals (first byte). */
static const char *newer_opcode(uint8_t op)
{
    switch (op) {
    case 0x06: case 0x07: case 0x08: case 0x09: case 0x0a: case 0x18: case 0x19: case 0x1f:
        return "exception handling instructions";
    case 0x12: case 0x13: return "tail calls (return_call)";
    case 0x14: case 0x15: case 0xd3: case 0xd4: case 0xd5: case 0xd6:
        return "typed function references / GC instructions";
    case 0xfb: return "GC instructions (0xfb prefix)";
    case 0xfd: return "SIMD instructions (0xfd prefix)";
    case 0xfe: return "threads instructions (0xfe prefix)";
    default: return NULL;
    }
}

static int rd_valtype(dec *d, wasm_rd *r, uint8_t *out)
{
    const uint8_t *at = r->p;
    uint8_t b;
    RD(wasm_rd_byte(r, &b), at);
    switch (b) {
    case WASM_I32: case WASM_I64: case WASM_F32: case WASM_F64:
    case WASM_FUNCREF: case WASM_EXTERNREF:
        *out = b;
        return AO_OK;
    default:
        if (newer_type(b))
            return fail(d, AO_EUNSUPPORTED, at, "%s: not supported", newer_type(b));
        return fail(d, AO_EFORMAT, at, "malformed value type 0x%02x", b);
    }
}

static int rd_reftype(dec *d, wasm_rd *r, uint8_t *out)
{
    const uint8_t *at = r->p;
    uint8_t b;
    RD(wasm_rd_byte(r, &b), at);
    if (b != WASM_FUNCREF && b != WASM_EXTERNREF) {
        if (newer_type(b) && b != 0x7b)
            return fail(d, AO_EUNSUPPORTED, at, "%s: not supported", newer_type(b));
        return fail(d, AO_EFORMAT, at, "malformed reference type 0x%02x", b);
    }
    *out = b;
    return AO_OK;
}

/* Limits of a table (is_mem false) or memory. Flags: bit 0 = has max,
 * bit 1 = shared (threads; memories only), bit 2 = 64-bit index type. */
static int rd_limits(dec *d, wasm_rd *r, bool is_mem, wasm_limits *lim)
{
    const uint8_t *at = r->p;
    uint8_t flags;
    RD(wasm_rd_byte(r, &flags), at);
    if (flags & 0x80)
        return fail(d, AO_EFORMAT, at, "integer representation too long (limits flags)");
    if (flags > 7 || (!is_mem && (flags & 2)))
        return fail(d, AO_EFORMAT, at, "integer too large (malformed limits flags 0x%02x)", flags);
    lim->has_max = flags & 1;
    lim->is64 = (flags & 4) != 0;
    lim->max = 0;
    const uint8_t *p = r->p;
    if (lim->is64) {
        RD(wasm_rd_u64(r, &lim->min), p);
        if (lim->has_max) {
            p = r->p;
            RD(wasm_rd_u64(r, &lim->max), p);
        }
    } else {
        uint32_t v;
        RD(wasm_rd_u32(r, &v), p);
        lim->min = v;
        if (lim->has_max) {
            p = r->p;
            RD(wasm_rd_u32(r, &v), p);
            lim->max = v;
        }
    }
    if (flags & 2)
        return fail(d, AO_EUNSUPPORTED, at, "shared memories (threads) are not supported");
    return AO_OK;
}

static int rd_tabletype(dec *d, wasm_rd *r, wasm_tabletype *t)
{
    int rc = rd_reftype(d, r, &t->elem);
    if (rc)
        return rc;
    return rd_limits(d, r, false, &t->limits);
}

static int rd_globaltype(dec *d, wasm_rd *r, wasm_globaldef *g)
{
    int rc = rd_valtype(d, r, &g->type);
    if (rc)
        return rc;
    const uint8_t *at = r->p;
    uint8_t mut;
    RD(wasm_rd_byte(r, &mut), at);
    if (mut > 1)
        return fail(d, AO_EFORMAT, at, "malformed mutability 0x%02x", mut);
    g->mut = mut;
    return AO_OK;
}

/* ---- instruction syntax ---- */

static int ctl_push(dec *d, size_t depth, uint8_t kind)
{
    if (depth >= d->ctl_cap) {
        size_t nc = d->ctl_cap ? d->ctl_cap * 2 : 64;
        uint8_t *n = realloc(d->ctl, nc);
        if (!n)
            return nomem(d);
        d->ctl = n;
        d->ctl_cap = nc;
    }
    d->ctl[depth] = kind;
    return AO_OK;
}

enum { CTL_BLOCK = 0, CTL_IF = 1, CTL_ELSE = 2 };

static int rd_blocktype(dec *d, wasm_rd *r)
{
    const uint8_t *at = r->p;
    if (r->p >= r->end)
        return fail_rd(d, WASM_RD_EOF, at);
    uint8_t b = *r->p;
    if (b == 0x40) {
        r->p++;
        return AO_OK;
    }
    if ((b & 0xc0) == 0x40) {   /* a negative one-byte s33: a value type */
        uint8_t vt;
        return rd_valtype(d, r, &vt);
    }
    int64_t idx;
    RD(wasm_rd_s33(r, &idx), at);
    if (idx < 0)
        return fail(d, AO_EFORMAT, at, "malformed block type");
    return AO_OK;
}

static int rd_memarg(dec *d, wasm_rd *r)
{
    const uint8_t *at = r->p;
    uint32_t align;
    uint64_t off;
    RD(wasm_rd_u32(r, &align), at);
    /* 2.0: the alignment exponent is below 32 (bit 6 would announce a
     * memory index in multi-memory, which 2.0 does not have) */
    if (align >= 32)
        return fail(d, AO_EFORMAT, at, "malformed memop flags (alignment exponent %u)", align);
    at = r->p;
    if (d->mem0_is64)
        RD(wasm_rd_u64(r, &off), at);
    else {
        uint32_t o32;
        RD(wasm_rd_u32(r, &o32), at);
    }
    return AO_OK;
}

static int rd_zero(dec *d, wasm_rd *r)
{
    const uint8_t *at = r->p;
    uint8_t b;
    RD(wasm_rd_byte(r, &b), at);
    if (b != 0)
        return fail(d, AO_EFORMAT, at, "zero byte expected");
    return AO_OK;
}

/* Scans one expression (a function body or a constant expression) up to
 * and including the `end` that closes it. Checks the syntax of every
 * instruction; *ninstr receives the number of instructions before the
 * final end. */
static int scan_expr(dec *d, wasm_rd *r, uint32_t *ninstr)
{
    size_t depth = 0;
    uint32_t count = 0;
    int rc;
    for (;;) {
        const uint8_t *at = r->p;
        uint8_t op;
        if (r->p >= r->end)
            return fail(d, AO_EFORMAT, at, "unexpected end of section or function");
        op = *r->p++;
        uint32_t u32;
        uint64_t u64;
        int32_t s32;
        int64_t s64;
        switch (op) {
        case 0x00: case 0x01: case 0x0f: case 0x1a: case 0x1b: case 0xd1:
            break;
        case 0x02: case 0x03: case 0x04:
            if ((rc = rd_blocktype(d, r)) || (rc = ctl_push(d, depth, op == 0x04 ? CTL_IF : CTL_BLOCK)))
                return rc;
            depth++;
            break;
        case 0x05:
            if (depth == 0 || d->ctl[depth - 1] != CTL_IF)
                return fail(d, AO_EFORMAT, at, "unexpected else (END opcode expected)");
            d->ctl[depth - 1] = CTL_ELSE;
            break;
        case 0x0b:
            if (depth == 0) {
                *ninstr = count;
                return AO_OK;
            }
            depth--;
            break;
        case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22:
        case 0x23: case 0x24: case 0x25: case 0x26: case 0xd2:
            RD(wasm_rd_u32(r, &u32), r->p);
            break;
        case 0x0e: {
            uint32_t n;
            if ((rc = rd_count(d, r, &n)))
                return rc;
            for (uint32_t i = 0; i <= n; i++)
                RD(wasm_rd_u32(r, &u32), r->p);
            break;
        }
        case 0x11:
            RD(wasm_rd_u32(r, &u32), r->p);
            RD(wasm_rd_u32(r, &u32), r->p);
            break;
        case 0x1c: {
            uint32_t n;
            if ((rc = rd_count(d, r, &n)))
                return rc;
            for (uint32_t i = 0; i < n; i++) {
                uint8_t vt;
                if ((rc = rd_valtype(d, r, &vt)))
                    return rc;
            }
            break;
        }
        case 0x3f: case 0x40:
            if ((rc = rd_zero(d, r)))
                return rc;
            break;
        case 0x41:
            RD(wasm_rd_s32(r, &s32), r->p);
            break;
        case 0x42:
            RD(wasm_rd_s64(r, &s64), r->p);
            break;
        case 0x43:
            RD(wasm_rd_f32(r, &u32), r->p);
            break;
        case 0x44:
            RD(wasm_rd_f64(r, &u64), r->p);
            break;
        case 0xd0: {
            uint8_t t;
            if ((rc = rd_reftype(d, r, &t)))
                return rc;
            break;
        }
        case 0xfc: {
            const uint8_t *sat = r->p;
            uint32_t sub;
            RD(wasm_rd_u32(r, &sub), sat);
            switch (sub) {
            case 0: case 1: case 2: case 3: case 4: case 5: case 6: case 7:
                break;
            case 8:   /* memory.init dataidx 0x00 */
                RD(wasm_rd_u32(r, &u32), r->p);
                if ((rc = rd_zero(d, r)))
                    return rc;
                if (!d->datacount_op)
                    d->datacount_op = at;
                break;
            case 9:   /* data.drop dataidx */
                RD(wasm_rd_u32(r, &u32), r->p);
                if (!d->datacount_op)
                    d->datacount_op = at;
                break;
            case 10:  /* memory.copy 0x00 0x00 */
                if ((rc = rd_zero(d, r)) || (rc = rd_zero(d, r)))
                    return rc;
                break;
            case 11:  /* memory.fill 0x00 */
                if ((rc = rd_zero(d, r)))
                    return rc;
                break;
            case 12: case 14:  /* table.init elem table; table.copy dst src */
                RD(wasm_rd_u32(r, &u32), r->p);
                RD(wasm_rd_u32(r, &u32), r->p);
                break;
            case 13: case 15: case 16: case 17:
                RD(wasm_rd_u32(r, &u32), r->p);
                break;
            default:
                return fail(d, AO_EFORMAT, at, "illegal opcode 0xfc %u", sub);
            }
            break;
        }
        case 0x28 ... 0x3e:
            if ((rc = rd_memarg(d, r)))
                return rc;
            break;
        case 0x45 ... 0xc4:   /* numeric, no immediate */
            break;
        default:
            if (newer_opcode(op)) {
                return fail(d, AO_EUNSUPPORTED, at, "%s: not supported (opcode 0x%02x)",
                            newer_opcode(op), op);
            } else {
                return fail(d, AO_EFORMAT, at, "illegal opcode 0x%02x", op);
            }
            break;
        }
        count++;
    }
}

/* A constant expression: syntax-checked, recorded raw, and recognised when
 * it is one of the 2.0 constant instructions followed by end (the validator
 * rejects anything else). */
static int rd_constexpr(dec *d, wasm_rd *r, wasm_constexpr *ce)
{
    const uint8_t *start = r->p;
    uint32_t n;
    int rc = scan_expr(d, r, &n);
    if (rc)
        return rc;
    memset(ce, 0, sizeof *ce);
    ce->code = start;
    ce->code_len = (size_t)(r->p - start);
    if (n != 1)
        return AO_OK;
    const uint8_t *p = start;
    uint8_t op = *p++;
    switch (op) {
    case WASM_CE_I32_CONST:
        ce->type = WASM_I32;
        ce->bits = (uint32_t)wasm_ru_s32(&p);
        break;
    case WASM_CE_I64_CONST:
        ce->type = WASM_I64;
        ce->bits = (uint64_t)wasm_ru_s64(&p);
        break;
    case WASM_CE_F32_CONST:
        ce->type = WASM_F32;
        ce->bits = wasm_ru_f32(&p);
        break;
    case WASM_CE_F64_CONST:
        ce->type = WASM_F64;
        ce->bits = wasm_ru_f64(&p);
        break;
    case WASM_CE_GLOBAL_GET:
        ce->idx = wasm_ru_u32(&p);
        break;
    case WASM_CE_REF_NULL:
        ce->type = *p++;
        break;
    case WASM_CE_REF_FUNC:
        ce->type = WASM_FUNCREF;
        ce->idx = wasm_ru_u32(&p);
        break;
    default:
        return AO_OK;   /* op stays 0: not constant */
    }
    if (p != r->p - 1)
        return AO_OK;
    ce->op = op;
    return AO_OK;
}

/* ---- sections ---- */

static int sec_type(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, n, WASM_MAX_TYPES, "types")))
        return rc;
    /* every value type is one byte, so the pool never exceeds the section */
    m->types = calloc(n ? n : 1, sizeof *m->types);
    m->typepool = malloc(wasm_rd_left(r) ? wasm_rd_left(r) : 1);
    if (!m->types || !m->typepool)
        return nomem(d);
    size_t pool = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *at = r->p;
        uint8_t form;
        RD(wasm_rd_byte(r, &form), at);
        if (form != 0x60)
            return fail(d, AO_EFORMAT, at, "integer representation too long (malformed function type 0x%02x)", form);
        wasm_functype *ft = &m->types[i];
        for (int part = 0; part < 2; part++) {
            uint32_t k;
            const uint8_t *cat = r->p;
            if ((rc = rd_count(d, r, &k)))
                return rc;
            if (k > WASM_MAX_FUNC_VALUES)
                return fail(d, AO_ELIMIT, cat, "function type has %u %s (engine limit %u)", k,
                            part ? "results" : "params", WASM_MAX_FUNC_VALUES);
            uint8_t *dst = m->typepool + pool;
            for (uint32_t j = 0; j < k; j++)
                if ((rc = rd_valtype(d, r, &dst[j])))
                    return rc;
            pool += k;
            if (part == 0) {
                ft->nparams = k;
                ft->params = dst;
            } else {
                ft->nresults = k;
                ft->results = dst;
            }
        }
        m->ntypes = i + 1;
    }
    return AO_OK;
}

static int sec_import(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, n, WASM_MAX_IMPORTS, "imports")))
        return rc;
    m->imports = calloc(n ? n : 1, sizeof *m->imports);
    /* each space can hold at most n imports */
    m->func_types = calloc(n ? n : 1, sizeof *m->func_types);
    m->tables = calloc(n ? n : 1, sizeof *m->tables);
    m->mems = calloc(n ? n : 1, sizeof *m->mems);
    m->globals = calloc(n ? n : 1, sizeof *m->globals);
    if (!m->imports || !m->func_types || !m->tables || !m->mems || !m->globals)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        wasm_import *im = &m->imports[i];
        m->nimports = i + 1;
        if ((rc = rd_name(d, r, &im->module, &im->module_len)) ||
            (rc = rd_name(d, r, &im->name, &im->name_len)))
            return rc;
        const uint8_t *at = r->p;
        uint8_t kind;
        RD(wasm_rd_byte(r, &kind), at);
        im->kind = kind;
        switch (kind) {
        case WASM_EXTERN_FUNC:
            RD(wasm_rd_u32(r, &m->func_types[m->nfuncs]), r->p);
            im->index = m->nfuncs++;
            break;
        case WASM_EXTERN_TABLE:
            if ((rc = rd_tabletype(d, r, &m->tables[m->ntables])))
                return rc;
            im->index = m->ntables++;
            break;
        case WASM_EXTERN_MEMORY:
            if ((rc = rd_limits(d, r, true, &m->mems[m->nmems])))
                return rc;
            im->index = m->nmems++;
            break;
        case WASM_EXTERN_GLOBAL:
            if ((rc = rd_globaltype(d, r, &m->globals[m->nglobals])))
                return rc;
            im->index = m->nglobals++;
            break;
        default:
            return fail(d, AO_EFORMAT, at, "malformed import kind 0x%02x", kind);
        }
    }
    m->nfuncs_imported = m->nfuncs;
    m->ntables_imported = m->ntables;
    m->nmems_imported = m->nmems;
    m->nglobals_imported = m->nglobals;
    return AO_OK;
}

/* Grows a space array to hold `total` entries. */
static int grow(dec *d, void **arr, size_t total, size_t elsize, size_t old)
{
    if (total > UINT32_MAX)
        return fail(d, AO_ELIMIT, NULL, "more than 2^32-1 entries in one index space");
    void *n = realloc(*arr, (total ? total : 1) * elsize);
    if (!n)
        return nomem(d);
    memset((uint8_t *)n + old * elsize, 0, (total - old) * elsize);
    *arr = n;
    return AO_OK;
}

static int sec_function(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, (uint64_t)m->nfuncs + n, WASM_MAX_FUNCS, "functions")))
        return rc;
    size_t total = (size_t)m->nfuncs + n;
    if ((rc = grow(d, (void **)&m->func_types, total, sizeof *m->func_types, m->nfuncs)))
        return rc;
    for (uint32_t i = 0; i < n; i++)
        RD(wasm_rd_u32(r, &m->func_types[m->nfuncs + i]), r->p);
    m->nfuncs = (uint32_t)total;
    return AO_OK;
}

static int sec_table(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, (uint64_t)m->ntables + n, WASM_MAX_TABLES, "tables")))
        return rc;
    size_t total = (size_t)m->ntables + n;
    if ((rc = grow(d, (void **)&m->tables, total, sizeof *m->tables, m->ntables)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = rd_tabletype(d, r, &m->tables[m->ntables])))
            return rc;
        m->ntables++;
    }
    return AO_OK;
}

static int sec_memory(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, (uint64_t)m->nmems + n, WASM_MAX_MEMORIES, "memories")))
        return rc;
    size_t total = (size_t)m->nmems + n;
    if ((rc = grow(d, (void **)&m->mems, total, sizeof *m->mems, m->nmems)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        if ((rc = rd_limits(d, r, true, &m->mems[m->nmems])))
            return rc;
        m->nmems++;
    }
    return AO_OK;
}

static int sec_global(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, (uint64_t)m->nglobals + n, WASM_MAX_GLOBALS, "globals")))
        return rc;
    size_t total = (size_t)m->nglobals + n;
    if ((rc = grow(d, (void **)&m->globals, total, sizeof *m->globals, m->nglobals)))
        return rc;
    for (uint32_t i = 0; i < n; i++) {
        wasm_globaldef *g = &m->globals[m->nglobals];
        if ((rc = rd_globaltype(d, r, g)) || (rc = rd_constexpr(d, r, &g->init)))
            return rc;
        m->nglobals++;
    }
    return AO_OK;
}

static int sec_export(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, n, WASM_MAX_EXPORTS, "exports")))
        return rc;
    m->exports = calloc(n ? n : 1, sizeof *m->exports);
    if (!m->exports)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        wasm_export *ex = &m->exports[i];
        m->nexports = i + 1;
        if ((rc = rd_name(d, r, &ex->name, &ex->name_len)))
            return rc;
        const uint8_t *at = r->p;
        uint8_t kind;
        RD(wasm_rd_byte(r, &kind), at);
        if (kind > WASM_EXTERN_GLOBAL)
            return fail(d, AO_EFORMAT, at, "malformed export kind 0x%02x", kind);
        ex->kind = kind;
        RD(wasm_rd_u32(r, &ex->index), r->p);
    }
    return AO_OK;
}

static int sec_start(dec *d, wasm_rd *r)
{
    RD(wasm_rd_u32(r, &d->m->start), r->p);
    d->m->has_start = true;
    return AO_OK;
}

static int sec_elem(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, n, WASM_MAX_ELEM_SEGMENTS, "element segments")))
        return rc;
    m->elems = calloc(n ? n : 1, sizeof *m->elems);
    if (!m->elems)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        wasm_elem *e = &m->elems[i];
        m->nelems = i + 1;
        const uint8_t *at = r->p;
        uint32_t flags;
        RD(wasm_rd_u32(r, &flags), at);
        if (flags > 7)
            return fail(d, AO_EFORMAT, at, "malformed elements segment kind %u", flags);
        /* bit 0: passive/declarative; bit 1: explicit table (active) or
         * declarative (bit 0 set); bit 2: items are expressions */
        e->type = WASM_FUNCREF;
        if (flags & 1) {
            e->mode = (flags & 2) ? WASM_SEG_DECLARATIVE : WASM_SEG_PASSIVE;
        } else {
            e->mode = WASM_SEG_ACTIVE;
            if (flags & 2)
                RD(wasm_rd_u32(r, &e->table), r->p);
            if ((rc = rd_constexpr(d, r, &e->offset)))
                return rc;
        }
        bool exprs = flags & 4;
        if (flags & 3) {   /* explicit elemkind / reftype */
            if (exprs) {
                if ((rc = rd_reftype(d, r, &e->type)))
                    return rc;
            } else {
                const uint8_t *kat = r->p;
                uint8_t kind;
                RD(wasm_rd_byte(r, &kind), kat);
                if (kind != 0)
                    return fail(d, AO_EFORMAT, kat, "malformed element kind 0x%02x", kind);
            }
        }
        uint32_t k;
        if ((rc = rd_count(d, r, &k)))
            return rc;
        d->elem_items += k;
        if ((rc = limit(d, r->p, d->elem_items, WASM_MAX_ELEM_ITEMS, "element segment items")))
            return rc;
        e->items = calloc(k ? k : 1, sizeof *e->items);
        if (!e->items)
            return nomem(d);
        for (uint32_t j = 0; j < k; j++) {
            if (exprs) {
                if ((rc = rd_constexpr(d, r, &e->items[j])))
                    return rc;
            } else {
                wasm_constexpr *ce = &e->items[j];
                const uint8_t *p0 = r->p;
                RD(wasm_rd_u32(r, &ce->idx), p0);
                ce->op = WASM_CE_REF_FUNC;
                ce->type = WASM_FUNCREF;
                ce->code = NULL;   /* plain index, no expression bytes */
                ce->code_len = 0;
            }
            e->nitems = j + 1;
        }
    }
    return AO_OK;
}

static int sec_datacount(dec *d, wasm_rd *r)
{
    RD(wasm_rd_u32(r, &d->m->datacount), r->p);
    d->m->has_datacount = true;
    return AO_OK;
}

static int sec_code(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    m->code = calloc(n ? n : 1, sizeof *m->code);
    if (!m->code)
        return nomem(d);
    m->ncode = n;
    /* group indices are stored in the `first` slot until the pool is final */
    for (uint32_t i = 0; i < n; i++) {
        wasm_code *c = &m->code[i];
        const uint8_t *at = r->p;
        uint32_t size;
        RD(wasm_rd_u32(r, &size), at);
        if (size > wasm_rd_left(r))
            return fail(d, AO_EFORMAT, at, "unexpected end of section or function (body of %u bytes)", size);
        if ((rc = limit(d, at, size, WASM_MAX_BODY_SIZE, "bytes in a function body")))
            return rc;
        wasm_rd b = { r->p, r->p + size };
        r->p += size;
        uint32_t ng;
        if ((rc = rd_count(d, &b, &ng)))
            return rc;
        uint64_t total = 0;
        size_t first_group = d->groups_len;
        for (uint32_t g = 0; g < ng; g++) {
            const uint8_t *gat = b.p;
            uint32_t cnt;
            uint8_t vt;
            RD(wasm_rd_u32(&b, &cnt), gat);
            if ((rc = rd_valtype(d, &b, &vt)))
                return rc;
            total += cnt;
            if (total > UINT32_MAX)
                return fail(d, AO_EFORMAT, gat, "too many locals");
            if (cnt == 0)
                continue;
            if (d->groups_len == d->groups_cap) {
                size_t nc = d->groups_cap ? d->groups_cap * 2 : 64;
                wasm_localgroup *ng2 = realloc(m->groups, nc * sizeof *ng2);
                if (!ng2)
                    return nomem(d);
                m->groups = ng2;
                d->groups_cap = nc;
            }
            wasm_localgroup *lg = &m->groups[d->groups_len++];
            lg->count = cnt;
            lg->type = vt;
            lg->first = 0;
        }
        c->ngroups = (uint32_t)(d->groups_len - first_group);
        c->groups = (wasm_localgroup *)(uintptr_t)first_group;   /* fixed below */
        c->nlocals = (uint32_t)total;
        c->body = b.p;
        c->body_len = (size_t)(b.end - b.p);
        c->offset = (size_t)(b.p - d->base);
        uint32_t ninstr;
        if ((rc = scan_expr(d, &b, &ninstr)))
            return rc;
        if (b.p != b.end)
            return fail(d, AO_EFORMAT, b.p, "section size mismatch (junk after the end of a function body)");
    }
    for (uint32_t i = 0; i < n; i++) {
        wasm_code *c = &m->code[i];
        size_t first = (size_t)(uintptr_t)c->groups;
        c->groups = c->ngroups ? m->groups + first : NULL;
    }
    return AO_OK;
}

static int sec_data(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    uint32_t n;
    int rc = rd_count(d, r, &n);
    if (rc)
        return rc;
    if ((rc = limit(d, r->p, n, WASM_MAX_DATA_SEGMENTS, "data segments")))
        return rc;
    m->datas = calloc(n ? n : 1, sizeof *m->datas);
    if (!m->datas)
        return nomem(d);
    for (uint32_t i = 0; i < n; i++) {
        wasm_data *ds = &m->datas[i];
        m->ndatas = i + 1;
        const uint8_t *at = r->p;
        uint32_t flags;
        RD(wasm_rd_u32(r, &flags), at);
        if (flags > 2)
            return fail(d, AO_EFORMAT, at, "malformed data segment kind %u", flags);
        if (flags == 1) {
            ds->mode = WASM_SEG_PASSIVE;
        } else {
            ds->mode = WASM_SEG_ACTIVE;
            if (flags == 2)
                RD(wasm_rd_u32(r, &ds->mem), r->p);
            if ((rc = rd_constexpr(d, r, &ds->offset)))
                return rc;
        }
        const uint8_t *lat = r->p;
        uint32_t len;
        RD(wasm_rd_u32(r, &len), lat);
        if (len > wasm_rd_left(r))
            return fail(d, AO_EFORMAT, lat, "unexpected end of section or function (data of %u bytes)", len);
        ds->bytes = r->p;
        ds->len = len;
        r->p += len;
    }
    return AO_OK;
}

/* Position of each known section id in the required order. */
static int sec_rank(uint8_t id)
{
    static const int8_t rank[13] = {
        [1] = 1, [2] = 2, [3] = 3, [4] = 4, [5] = 5, [6] = 6, [7] = 7,
        [8] = 8, [9] = 9, [12] = 10, [10] = 11, [11] = 12,
    };
    return rank[id];
}

static int decode_sections(dec *d, wasm_rd *r)
{
    wasm_module *m = d->m;
    int last = 0;
    bool saw_data = false;
    while (r->p < r->end) {
        const uint8_t *at = r->p;
        uint8_t id = *r->p++;
        if (id == 13)
            return fail(d, AO_EUNSUPPORTED, at, "exception handling (tag section): not supported");
        if (id > 12)
            return fail(d, AO_EFORMAT, at, "malformed section id %u", id);
        uint32_t size;
        const uint8_t *sat = r->p;
        RD(wasm_rd_u32(r, &size), sat);
        if (size > wasm_rd_left(r))
            return fail(d, AO_EFORMAT, sat, "length out of bounds (section of %u bytes)", size);
        wasm_rd s = { r->p, r->p + size };
        r->p += size;
        int rc = AO_OK;
        if (id == 0) {
            const uint8_t *name = s.p + 1;
            rc = rd_name(d, &s, NULL, NULL);
            if (rc)
                return rc;
            /* the first "name" section is read after all sections */
            if (!d->names && s.p - name == 4 && !memcmp(name, "name", 4)) {
                d->names = s.p;
                d->names_end = s.end;
            }
            continue;   /* contents skipped */
        }
        int rank = sec_rank(id);
        d->in_section = true;
        if (rank <= last)
            return fail(d, AO_EFORMAT, at, "unexpected content after last section (section %u out of order or repeated)", id);
        last = rank;
        switch (id) {
        case 1: rc = sec_type(d, &s); break;
        case 2: rc = sec_import(d, &s); break;
        case 3: rc = sec_function(d, &s); break;
        case 4: rc = sec_table(d, &s); break;
        case 5:
            rc = sec_memory(d, &s);
            break;
        case 6: rc = sec_global(d, &s); break;
        case 7: rc = sec_export(d, &s); break;
        case 8: rc = sec_start(d, &s); break;
        case 9: rc = sec_elem(d, &s); break;
        case 12: rc = sec_datacount(d, &s); break;
        case 10: rc = sec_code(d, &s); break;
        case 11: rc = sec_data(d, &s); saw_data = true; break;
        }
        if (rc)
            return rc;
        if (id == 2 || id == 5)
            d->mem0_is64 = m->nmems > 0 && m->mems[0].is64;
        if (s.p != s.end)
            return fail(d, AO_EFORMAT, s.p, "section size mismatch (section %u)", id);
        d->in_section = false;
    }
    /* checked after all sections, as the spec's decoder does */
    if (m->nfuncs - m->nfuncs_imported != m->ncode)
        return fail(d, AO_EFORMAT, NULL, "function and code section have inconsistent lengths (%u vs %u)",
                    m->nfuncs - m->nfuncs_imported, m->ncode);
    if (m->has_datacount && m->datacount != m->ndatas)
        return fail(d, AO_EFORMAT, NULL,
                    "data count and data section have inconsistent lengths (%u vs %u)",
                    m->datacount, m->ndatas);
    /* memory.init and data.drop need the data count section to be typed in
     * one pass. Without a data section at all there is no segment to name
     * and the validator reports "unknown data segment" instead. */
    if (d->datacount_op && !m->has_datacount && saw_data)
        return fail(d, AO_EFORMAT, d->datacount_op, "data count section required");
    return AO_OK;
}

/* ---- the "name" custom section ----
 * Debug names only: the spec makes no module malformed because of it, so
 * anything wrong in it just drops the names (all of them). */

static char *names_str(wasm_rd *r)
{
    uint32_t n;
    if (wasm_rd_u32(r, &n) || n > wasm_rd_left(r) || !utf8_valid(r->p, n))
        return NULL;
    char *str = malloc((size_t)n + 1);
    if (!str)
        return NULL;
    memcpy(str, r->p, n);
    str[n] = 0;
    r->p += n;
    return str;
}

static void drop_names(wasm_module *m)
{
    free(m->name);
    m->name = NULL;
    if (m->func_names) {
        for (uint32_t i = 0; i < m->nfuncs; i++)
            free(m->func_names[i]);
        free(m->func_names);
        m->func_names = NULL;
    }
}

static void parse_names(dec *d)
{
    wasm_module *m = d->m;
    wasm_rd r = { d->names, d->names_end };
    int last = -1;
    while (r.p < r.end) {
        uint8_t id;
        uint32_t size;
        if (wasm_rd_byte(&r, &id) || wasm_rd_u32(&r, &size) || size > wasm_rd_left(&r) ||
            (int)id <= last)
            goto bad;
        last = id;
        wasm_rd s = { r.p, r.p + size };
        r.p += size;
        if (id == 0) {
            if (!(m->name = names_str(&s)) || s.p != s.end)
                goto bad;
        } else if (id == 1) {
            uint32_t n;
            if (wasm_rd_u32(&s, &n) || n > wasm_rd_left(&s) || n > m->nfuncs)
                goto bad;
            m->func_names = calloc(m->nfuncs ? m->nfuncs : 1, sizeof *m->func_names);
            if (!m->func_names)
                goto bad;
            int64_t prev = -1;
            for (uint32_t i = 0; i < n; i++) {
                uint32_t idx;
                if (wasm_rd_u32(&s, &idx) || (int64_t)idx <= prev || idx >= m->nfuncs)
                    goto bad;
                prev = idx;
                if (!(m->func_names[idx] = names_str(&s)))
                    goto bad;
            }
            if (s.p != s.end)
                goto bad;
        }
        /* other subsections (locals, labels, ...) are skipped */
    }
    return;
bad:
    drop_names(m);
}

int wasm__decode(const uint8_t *bytes, size_t len, struct wasm_module **out, ao_error *err)
{
    *out = NULL;
    if (len > WASM_MAX_MODULE_SIZE)
        return ao_err_set(err, AO_ELIMIT, "module of %zu bytes (engine limit %u)", len,
                          WASM_MAX_MODULE_SIZE);
    wasm_module *m = calloc(1, sizeof *m);
    if (!m)
        return ao_err_set(err, AO_ENOMEM, "out of memory decoding module");
    m->bytes = malloc(len ? len : 1);
    if (!m->bytes) {
        free(m);
        return ao_err_set(err, AO_ENOMEM, "out of memory decoding module");
    }
    if (len)
        memcpy(m->bytes, bytes, len);
    m->len = len;
    m->fingerprint = 0xcbf29ce484222325ull;   /* fnv1a */
    for (size_t i = 0; i < len; i++) {
        m->fingerprint ^= m->bytes[i];
        m->fingerprint *= 0x100000001b3ull;
    }
    dec d = { .m = m, .err = err, .base = m->bytes };
    wasm_rd r = { m->bytes, m->bytes + len };
    int rc;
    static const uint8_t magic[4] = { 0x00, 0x61, 0x73, 0x6d };
    static const uint8_t version[4] = { 0x01, 0x00, 0x00, 0x00 };
    if (len < 4) {
        rc = fail(&d, AO_EFORMAT, NULL, "unexpected end (no magic header)");
    } else if (memcmp(m->bytes, magic, 4) != 0) {
        rc = fail(&d, AO_EFORMAT, NULL, "magic header not detected");
    } else if (len < 8) {
        rc = fail(&d, AO_EFORMAT, NULL, "unexpected end (no version)");
    } else if (memcmp(m->bytes + 4, version, 4) != 0) {
        rc = fail(&d, AO_EFORMAT, NULL, "unknown binary version");
    } else {
        r.p += 8;
        rc = decode_sections(&d, &r);
    }
    free(d.ctl);
    if (rc) {
        /* groups pointers may still be indices: drop them before freeing */
        for (uint32_t i = 0; i < m->ncode; i++)
            m->code[i].groups = NULL;
        wasm__destroy(m);
        return rc;
    }
    if (d.names)
        parse_names(&d);
    /* fill each group's first local index (params come first) */
    for (uint32_t i = 0; i < m->ncode; i++) {
        wasm_code *c = &m->code[i];
        uint32_t ft = m->func_types[m->nfuncs_imported + i];
        uint32_t first = ft < m->ntypes ? m->types[ft].nparams : 0;
        for (uint32_t g = 0; g < c->ngroups; g++) {
            c->groups[g].first = first;
            first += c->groups[g].count;
        }
    }
    *out = m;
    return AO_OK;
}

void wasm__destroy(struct wasm_module *m)
{
    if (!m)
        return;
    if (m->aot_free)           /* first: waits for a background build reading m */
        m->aot_free(m);
    if (m->back_free)
        m->back_free(m);
    for (uint32_t i = 0; i < m->nimports; i++) {
        free(m->imports[i].module);
        free(m->imports[i].name);
    }
    free(m->imports);
    for (uint32_t i = 0; i < m->nexports; i++)
        free(m->exports[i].name);
    free(m->exports);
    for (uint32_t i = 0; i < m->nelems; i++)
        free(m->elems[i].items);
    free(m->elems);
    free(m->types);
    free(m->typepool);
    free(m->func_types);
    free(m->tables);
    free(m->mems);
    free(m->globals);
    free(m->datas);
    free(m->code);
    free(m->groups);
    free(m->func_declared);
    drop_names(m);
    free(m->bytes);
    free(m);
}
