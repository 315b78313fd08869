/*
 * aot_instr.c - the compiled tier's first step: rewrite a validated module
 * into the module that wasm2c translates (docs/wasm.md, "Compiled tier").
 *
 * The rewritten module keeps every function body and its indices but
 *  - imports all its state from module "aot": functions as "i<k>", memory
 *    as "m0", tables as "t<k>", globals as "g<k>" (in index order, so every
 *    index is unchanged), plus two mutable i64 globals "gas" and "lim"
 *    after them: the engine owns the state, the compiled code works on it;
 *  - turns memory.init and data.drop into calls of two imported helpers
 *    "minit" and "ddrop" (the engine's segments; they come after the
 *    module's function imports, so defined functions move up by 2);
 *  - exports each defined function k as "f<k>" (and nothing else), has no
 *    start, data or active element segments (the engine instantiates);
 *  - charges gas exactly where the interpreter does: the charge points come
 *    from the translator itself (wasm__gas_sites), so the amounts, the
 *    points where the limit is checked and the gas used at any trap agree;
 *  - canonicalises the NaN results of float arithmetic (the interpreter's
 *    policy), and charges the size-dependent weight of memory.fill/copy
 *    after their bounds check, as the interpreter does.
 * Out of gas is an `unreachable` reached with gas used above the limit.
 * Modules the tier does not take (memory64, table64, reference-typed
 * globals or function signatures, table mutation instructions)
 * give AO_EUNSUPPORTED with the reason.
 */
#include "wasm/wasm_internal.h"
#include "wasm/wasm_read.h"
#include "wasm/aot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int put_uleb(ao_buf *b, uint64_t v)
{
    do {
        uint8_t c = v & 0x7f;
        v >>= 7;
        if (v)
            c |= 0x80;
        if (ao_buf_append_byte(b, c))
            return -1;
    } while (v);
    return 0;
}

static int put_sleb(ao_buf *b, int64_t v)
{
    for (;;) {
        uint8_t c = v & 0x7f;
        v >>= 7;
        bool done = (v == 0 && !(c & 0x40)) || (v == -1 && (c & 0x40));
        if (!done)
            c |= 0x80;
        if (ao_buf_append_byte(b, c))
            return -1;
        if (done)
            return 0;
    }
}

static int put_name(ao_buf *b, const char *s)
{
    size_t n = strlen(s);
    return put_uleb(b, n) || ao_buf_append(b, s, n);
}

static int put_limits(ao_buf *b, const wasm_limits *l)
{
    if (ao_buf_append_byte(b, l->has_max ? 1 : 0) || put_uleb(b, l->min))
        return -1;
    return l->has_max ? put_uleb(b, l->max) : 0;
}

/* a section: id, size, content */
static int put_section(ao_buf *out, uint8_t id, const ao_buf *content)
{
    return ao_buf_append_byte(out, id) || put_uleb(out, content->len) ||
           ao_buf_append(out, content->data, content->len);
}

static bool is_ref(uint8_t t) { return t == WASM_FUNCREF || t == WASM_EXTERNREF; }

/* Skip the immediates of the instruction whose opcode (and 0xfc sub-opcode)
 * was read. */
static void skip_imm(uint8_t opc, uint32_t sub, const uint8_t **pp)
{
    uint32_t a;
    uint64_t o;
    switch (opc) {
    case 0x02: case 0x03: case 0x04: {
        uint8_t vt;
        uint32_t idx;
        (void)wasm_ru_blocktype(pp, &vt, &idx);
        break;
    }
    case 0x0c: case 0x0d: case 0x10: case 0x20: case 0x21: case 0x22: case 0x23:
    case 0x24: case 0x25: case 0x26: case 0xd2:
        (void)wasm_ru_u32(pp);
        break;
    case 0x0e: {
        uint32_t n = wasm_ru_u32(pp);
        for (uint32_t i = 0; i <= n; i++)
            (void)wasm_ru_u32(pp);
        break;
    }
    case 0x11:
        (void)wasm_ru_u32(pp);
        (void)wasm_ru_u32(pp);
        break;
    case 0x1c: {
        uint32_t n = wasm_ru_u32(pp);
        *pp += n;
        break;
    }
    case 0x3f: case 0x40: case 0xd0:
        *pp += 1;
        break;
    case 0x41: (void)wasm_ru_s32(pp); break;
    case 0x42: (void)wasm_ru_s64(pp); break;
    case 0x43: *pp += 4; break;
    case 0x44: *pp += 8; break;
    case 0xfc:
        switch (sub) {
        case 8: (void)wasm_ru_u32(pp); *pp += 1; break;
        case 9: case 13: case 15: case 16: case 17: (void)wasm_ru_u32(pp); break;
        case 10: *pp += 2; break;
        case 11: *pp += 1; break;
        case 12: case 14: (void)wasm_ru_u32(pp); (void)wasm_ru_u32(pp); break;
        default: break;
        }
        break;
    default:
        if (opc >= 0x28 && opc <= 0x3e)
            wasm_ru_memarg(pp, &a, &o);
        break;
    }
}

typedef struct ins {
    ao_buf *b;
    uint32_t nfi, shift;      /* imported functions; +2 for defined ones with the data helpers */
    uint32_t minit, ddrop;    /* helper function indices */
    uint32_t gu, gl;          /* gas used / limit globals */
    uint32_t lc, la, lb, ln, lj, lf, ld;   /* scratch locals */
    uint32_t lg, ll;          /* locals holding gas used and the limit */
} ins;

#define B(x) ao_buf_append_byte(st->b, (uint8_t)(x))

static int op_u(ins *st, uint8_t op, uint64_t v) { return B(op) || put_uleb(st->b, v); }

/* Gas lives in two locals of each function (used, limit), loaded at entry
 * and after every call (the callee, or the host, moved them): the C
 * compiler keeps them in registers. Each charge also stores the new total
 * in the global, so that gas used is exact at any trap. */
static int gas_load(ins *st)
{
    return op_u(st, 0x23, st->gu) || op_u(st, 0x21, st->lg) || op_u(st, 0x23, st->gl) ||
           op_u(st, 0x21, st->ll);
}

/* used += N; trap (unreachable) if used > limit. N > 0. */
static int charge_const(ins *st, uint64_t n)
{
    return op_u(st, 0x20, st->lg) || B(0x42) || put_sleb(st->b, (int64_t)n) || B(0x7c) ||
           op_u(st, 0x22, st->lg) || op_u(st, 0x24, st->gu) || op_u(st, 0x20, st->lg) ||
           op_u(st, 0x20, st->ll) || B(0x56) || B(0x04) || B(0x40) || B(0x00) || B(0x0b);
}

/* i64 n on the stack: used += n; trap if n != 0 and used > limit. */
static int charge_dyn(ins *st)
{
    return op_u(st, 0x22, st->lj) || op_u(st, 0x20, st->lg) || B(0x7c) ||
           op_u(st, 0x22, st->lg) || op_u(st, 0x24, st->gu) || op_u(st, 0x20, st->lj) ||
           B(0x42) || B(0x00) || B(0x52) || op_u(st, 0x20, st->lg) || op_u(st, 0x20, st->ll) ||
           B(0x56) || B(0x71) || B(0x04) || B(0x40) || B(0x00) || B(0x0b);
}

/* the i32 condition on the stack: charge t if nonzero, f if zero; the
 * condition stays on the stack */
static int charge_cond(ins *st, uint64_t t, uint64_t f)
{
    if (t == f)
        return t ? charge_const(st, t) : 0;
    /* one side charges nothing (the usual case: the other run's head pays
     * for itself): a plain conditional charge */
    if (f == 0)
        return op_u(st, 0x22, st->lc) || B(0x04) || B(0x40) || charge_const(st, t) || B(0x0b) ||
               op_u(st, 0x20, st->lc);
    if (t == 0)
        return op_u(st, 0x22, st->lc) || B(0x45) || B(0x04) || B(0x40) || charge_const(st, f) ||
               B(0x0b) || op_u(st, 0x20, st->lc);
    return op_u(st, 0x21, st->lc) || B(0x42) || put_sleb(st->b, (int64_t)t) ||
           B(0x42) || put_sleb(st->b, (int64_t)f) || op_u(st, 0x20, st->lc) || B(0x1b) ||
           charge_dyn(st) || op_u(st, 0x20, st->lc);
}

/* memory size in bytes as i64 */
static int mem_bytes(ins *st)
{
    return B(0x3f) || B(0x00) || B(0xad) || B(0x42) || B(0x10) || B(0x86);
}

/* a + n <= memory size (i64 compare), locals a and n */
static int in_bounds(ins *st, uint32_t a)
{
    return op_u(st, 0x20, a) || B(0xad) || op_u(st, 0x20, st->ln) || B(0xad) || B(0x7c) ||
           mem_bytes(st) || B(0x58);
}

/* memory.fill (copy = false) or memory.copy: bounds check, then charge
 * n >> 6, then the instruction (which traps itself if out of bounds) */
static int bulk(ins *st, bool copy)
{
    if (op_u(st, 0x21, st->ln) || op_u(st, 0x21, st->lb) || op_u(st, 0x21, st->la))
        return -1;
    if (in_bounds(st, st->la))
        return -1;
    if (copy && (in_bounds(st, st->lb) || B(0x71)))
        return -1;
    if (B(0x04) || B(0x40) || op_u(st, 0x20, st->ln) || B(0x41) || B(0x06) || B(0x76) ||
        B(0xad) || charge_dyn(st) || B(0x0b))
        return -1;
    if (op_u(st, 0x20, st->la) || op_u(st, 0x20, st->lb) || op_u(st, 0x20, st->ln) || B(0xfc))
        return -1;
    return copy ? (B(0x0a) || B(0x00) || B(0x00)) : (B(0x0b) || B(0x00));
}

/* NaN result of the float instruction just emitted -> canonical NaN */
static int canon(ins *st, bool f64)
{
    if (!f64)
        return op_u(st, 0x22, st->lf) || B(0x43) || B(0x00) || B(0x00) || B(0xc0) || B(0x7f) ||
               op_u(st, 0x20, st->lf) || op_u(st, 0x20, st->lf) || B(0x5b) || B(0x1b);
    return op_u(st, 0x22, st->ld) || B(0x44) || B(0) || B(0) || B(0) || B(0) || B(0) ||
           B(0) || B(0xf8) || B(0x7f) || op_u(st, 0x20, st->ld) || op_u(st, 0x20, st->ld) ||
           B(0x61) || B(0x1b);
}

static int canon_kind(uint8_t opc)
{
    if ((opc >= 0x8d && opc <= 0x97) || opc == 0xb6)
        return 1;
    if ((opc >= 0x9b && opc <= 0xa5) || opc == 0xbb)
        return 2;
    return 0;
}

static int cmp_site(const void *a, const void *b)
{
    const wasm_gas_site *x = a, *y = b;
    return x->off < y->off ? -1 : x->off > y->off;
}

/* One function body (locals + instructions) into st->b. */
static int instrument_fn(const wasm_module *m, uint32_t fidx, ins *st, ao_error *err)
{
    const wasm_code *c = &m->code[fidx - m->nfuncs_imported];
    const wasm_functype *ft = wasm__func_type(m, fidx);
    wasm_gas_site *gs;
    size_t ngs;
    int rc = wasm__gas_sites(m, fidx, &gs, &ngs, err);
    if (rc)
        return rc;
    qsort(gs, ngs, sizeof *gs, cmp_site);
    uint32_t l0 = ft->nparams + c->nlocals;
    st->lc = l0;
    st->la = l0 + 1;
    st->lb = l0 + 2;
    st->ln = l0 + 3;
    st->lj = l0 + 4;
    st->lf = l0 + 5;
    st->ld = l0 + 6;
    st->lg = l0 + 7;
    st->ll = l0 + 8;
    ao_buf *b = st->b;
    int e = put_uleb(b, c->ngroups + 5);
    for (uint32_t i = 0; i < c->ngroups && !e; i++)
        e = put_uleb(b, c->groups[i].count) || B(c->groups[i].type);
    e = e || B(4) || B(WASM_I32) || B(1) || B(WASM_I64) || B(1) || B(WASM_F32) || B(1) ||
        B(WASM_F64) || B(2) || B(WASM_I64);
    e = e || gas_load(st);
    const uint8_t *p = c->body, *end = c->body + c->body_len;
    size_t si = 0;
    while (p < end && !e) {
        uint32_t off = (uint32_t)(p - c->body);
        const uint8_t *start = p;
        uint8_t opc = *p++;
        uint32_t sub = 0;
        if (opc == 0xfc) {
            const uint8_t *q = p;
            sub = wasm_ru_u32(&q);
            p = q;
        }
        uint64_t head = 0, always = 0, ton = 0, toff = 0;
        size_t tfirst = si, tlast;
        while (si < ngs && gs[si].off < off)
            si++;
        tfirst = si;
        while (si < ngs && gs[si].off == off) {
            const wasm_gas_site *g = &gs[si++];
            if (g->tag == WASM_GS_HEAD) head += g->n;
            else if (g->tag == WASM_GS_ALWAYS) always += g->n;
            else if (g->tag == WASM_GS_TRUE) ton += g->n;
            else if (g->tag == WASM_GS_FALSE) toff += g->n;
        }
        tlast = si;
        if (head)
            e = charge_const(st, head);
        if (!e && always)
            e = charge_const(st, always);
        if (!e && (opc == 0x0d || opc == 0x04))
            e = charge_cond(st, ton, toff);
        if (!e && opc == 0x0e) {
            const uint8_t *q = p;
            uint32_t nl = wasm_ru_u32(&q);
            bool any = false;
            for (size_t k = tfirst; k < tlast; k++)
                if (gs[k].tag >= 0 && gs[k].n)
                    any = true;
            if (any) {
                e = op_u(st, 0x21, st->lc);
                for (size_t k = tfirst; k < tlast && !e; k++) {
                    if (gs[k].tag < 0 || !gs[k].n)
                        continue;
                    uint32_t ti = (uint32_t)gs[k].tag;
                    e = op_u(st, 0x20, st->lc) || B(0x41) || put_sleb(b, (int32_t)ti) ||
                        B(ti < nl ? 0x46 : 0x4f) || B(0x04) || B(0x40) ||
                        charge_const(st, gs[k].n) || B(0x0b);
                }
                e = e || op_u(st, 0x20, st->lc);
            }
        }
        if (e)
            break;
        if (opc == 0xfc && (sub == 10 || sub == 11)) {
            skip_imm(opc, sub, &p);
            e = bulk(st, sub == 10);
            continue;
        }
        if (opc == 0xfc && (sub == 8 || sub == 9)) {
            /* memory.init / data.drop: the engine's helpers (aot.c) */
            const uint8_t *q = p;
            uint32_t seg = wasm_ru_u32(&q);
            skip_imm(opc, sub, &p);
            e = B(0x41) || put_sleb(b, (int32_t)seg) ||
                op_u(st, 0x10, sub == 8 ? st->minit : st->ddrop);
            continue;
        }
        if ((opc == 0x10 || opc == 0xd2) && st->shift) {
            const uint8_t *q = p;
            uint32_t fi = wasm_ru_u32(&q);
            p = q;
            e = op_u(st, opc, fi >= st->nfi ? fi + st->shift : fi);
            if (!e && opc == 0x10)
                e = gas_load(st);
            continue;
        }
        skip_imm(opc, sub, &p);
        e = ao_buf_append(b, start, (size_t)(p - start));
        if (!e && (opc == 0x10 || opc == 0x11))
            e = gas_load(st);
        int ck = canon_kind(opc);
        if (!e && ck)
            e = canon(st, ck == 2);
    }
    free(gs);
    if (e)
        return ao_err_set(err, AO_ENOMEM, "wasm aot: out of memory");
    return AO_OK;
}

/* Reason the tier does not take m, or NULL. */
static const char *refuse(const wasm_module *m)
{
    for (uint32_t i = 0; i < m->nmems; i++)
        if (m->mems[i].is64)
            return "memory64";
    if (m->nmems > 1)
        return "several memories";
    for (uint32_t i = 0; i < m->ntables; i++)
        if (m->tables[i].limits.is64)
            return "table64";
    for (uint32_t i = 0; i < m->nglobals; i++)
        if (is_ref(m->globals[i].type))
            return "reference-typed global";
    for (uint32_t i = 0; i < m->ntypes; i++) {
        const wasm_functype *ft = &m->types[i];
        for (uint32_t k = 0; k < ft->nparams; k++)
            if (is_ref(ft->params[k]))
                return "reference-typed parameter";
        for (uint32_t k = 0; k < ft->nresults; k++)
            if (is_ref(ft->results[k]))
                return "reference-typed result";
    }
    for (uint32_t f = 0; f < m->ncode; f++) {
        const wasm_code *c = &m->code[f];
        const uint8_t *p = c->body, *end = c->body + c->body_len;
        while (p < end) {
            uint8_t opc = *p++;
            uint32_t sub = 0;
            if (opc == 0xfc)
                sub = wasm_ru_u32(&p);
            if (opc == 0x25 || opc == 0x26)
                return "table.get/table.set";
            if (opc == 0xfc && (sub >= 12 && sub <= 17 && sub != 16))
                return "table.init/elem.drop/table.copy/table.grow/table.fill";
            skip_imm(opc, sub, &p);
        }
    }
    return NULL;
}

/* Whether m uses memory.init or data.drop (then the rewritten module
 * imports two helpers after the module's own function imports). */
static bool data_ops(const wasm_module *m)
{
    for (uint32_t f = 0; f < m->ncode; f++) {
        const wasm_code *c = &m->code[f];
        const uint8_t *p = c->body, *end = c->body + c->body_len;
        while (p < end) {
            uint8_t opc = *p++;
            uint32_t sub = 0;
            if (opc == 0xfc)
                sub = wasm_ru_u32(&p);
            if (opc == 0xfc && (sub == 8 || sub == 9))
                return true;
            skip_imm(opc, sub, &p);
        }
    }
    return false;
}

int wasm__aot_instrument(const wasm_module *m, ao_buf *out, ao_error *err)
{
    const char *why = refuse(m);
    if (why)
        return ao_err_set(err, AO_EUNSUPPORTED, "wasm aot: %s", why);
    ao_buf sec;
    ao_buf_init(&sec);
    char name[32];
    bool dops = data_ops(m);
    uint32_t shift = dops ? 2 : 0;
    int e = ao_buf_append(out, "\0asm\1\0\0\0", 8);
    /* types: as they are, then the helpers' (i32 i32 i32 i32) -> () and (i32) -> () */
    e = e || put_uleb(&sec, m->ntypes + (dops ? 2 : 0));
    for (uint32_t i = 0; i < m->ntypes && !e; i++) {
        const wasm_functype *ft = &m->types[i];
        e = ao_buf_append_byte(&sec, 0x60) || put_uleb(&sec, ft->nparams) ||
            ao_buf_append(&sec, ft->params, ft->nparams) || put_uleb(&sec, ft->nresults) ||
            ao_buf_append(&sec, ft->results, ft->nresults);
    }
    if (dops)
        e = e || ao_buf_append(&sec, "\x60\x04\x7f\x7f\x7f\x7f\x00\x60\x01\x7f\x00", 11);
    e = e || put_section(out, 1, &sec);
    /* imports: everything */
    ao_buf_reset(&sec);
    uint32_t nimp = m->nfuncs_imported + shift + m->nmems + m->ntables + m->nglobals + 2;
    e = e || put_uleb(&sec, nimp);
    for (uint32_t i = 0; i < m->nfuncs_imported && !e; i++) {
        snprintf(name, sizeof name, "i%u", i);
        e = put_name(&sec, "aot") || put_name(&sec, name) || ao_buf_append_byte(&sec, 0) ||
            put_uleb(&sec, m->func_types[i]);
    }
    if (dops)
        e = e || put_name(&sec, "aot") || put_name(&sec, "minit") || ao_buf_append_byte(&sec, 0) ||
            put_uleb(&sec, m->ntypes) || put_name(&sec, "aot") || put_name(&sec, "ddrop") ||
            ao_buf_append_byte(&sec, 0) || put_uleb(&sec, m->ntypes + 1);
    for (uint32_t i = 0; i < m->nmems && !e; i++) {
        snprintf(name, sizeof name, "m%u", i);
        e = put_name(&sec, "aot") || put_name(&sec, name) || ao_buf_append_byte(&sec, 2) ||
            put_limits(&sec, &m->mems[i]);
    }
    for (uint32_t i = 0; i < m->ntables && !e; i++) {
        snprintf(name, sizeof name, "t%u", i);
        e = put_name(&sec, "aot") || put_name(&sec, name) || ao_buf_append_byte(&sec, 1) ||
            ao_buf_append_byte(&sec, m->tables[i].elem) || put_limits(&sec, &m->tables[i].limits);
    }
    for (uint32_t i = 0; i < m->nglobals && !e; i++) {
        snprintf(name, sizeof name, "g%u", i);
        e = put_name(&sec, "aot") || put_name(&sec, name) || ao_buf_append_byte(&sec, 3) ||
            ao_buf_append_byte(&sec, m->globals[i].type) ||
            ao_buf_append_byte(&sec, m->globals[i].mut ? 1 : 0);
    }
    e = e || put_name(&sec, "aot") || put_name(&sec, "gas") || ao_buf_append_byte(&sec, 3) ||
        ao_buf_append_byte(&sec, WASM_I64) || ao_buf_append_byte(&sec, 1);
    e = e || put_name(&sec, "aot") || put_name(&sec, "lim") || ao_buf_append_byte(&sec, 3) ||
        ao_buf_append_byte(&sec, WASM_I64) || ao_buf_append_byte(&sec, 1);
    e = e || put_section(out, 2, &sec);
    /* functions */
    ao_buf_reset(&sec);
    e = e || put_uleb(&sec, m->ncode);
    for (uint32_t i = m->nfuncs_imported; i < m->nfuncs && !e; i++)
        e = put_uleb(&sec, m->func_types[i]);
    e = e || put_section(out, 3, &sec);
    /* exports: f<k> per defined function */
    ao_buf_reset(&sec);
    e = e || put_uleb(&sec, m->ncode);
    for (uint32_t i = m->nfuncs_imported; i < m->nfuncs && !e; i++) {
        snprintf(name, sizeof name, "f%u", i);
        e = put_name(&sec, name) || ao_buf_append_byte(&sec, 0) || put_uleb(&sec, i + shift);
    }
    e = e || put_section(out, 7, &sec);
    /* elements: imported functions declared for ref.func */
    if (m->nfuncs_imported && !e) {
        ao_buf_reset(&sec);
        e = put_uleb(&sec, 1) || ao_buf_append_byte(&sec, 3) || ao_buf_append_byte(&sec, 0) ||
            put_uleb(&sec, m->nfuncs_imported);
        for (uint32_t i = 0; i < m->nfuncs_imported && !e; i++)
            e = put_uleb(&sec, i);
        e = e || put_section(out, 9, &sec);
    }
    /* code */
    ao_buf_reset(&sec);
    e = e || put_uleb(&sec, m->ncode);
    ao_buf body;
    ao_buf_init(&body);
    ins st = {.b = &body, .gu = m->nglobals, .gl = m->nglobals + 1, .nfi = m->nfuncs_imported,
              .shift = shift, .minit = m->nfuncs_imported, .ddrop = m->nfuncs_imported + 1};
    int rc = AO_OK;
    for (uint32_t i = m->nfuncs_imported; i < m->nfuncs && !e && rc == AO_OK; i++) {
        ao_buf_reset(&body);
        rc = instrument_fn(m, i, &st, err);
        if (rc == AO_OK)
            e = put_uleb(&sec, body.len) || ao_buf_append(&sec, body.data, body.len);
    }
    ao_buf_free(&body);
    e = e || put_section(out, 10, &sec);
    ao_buf_free(&sec);
    if (rc)
        return rc;
    if (e)
        return ao_err_set(err, AO_ENOMEM, "wasm aot: out of memory");
    return AO_OK;
}
