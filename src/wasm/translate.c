/*
 * translate.c - the back-end's translator: turns each validated function
 * body into direct-threaded internal code (wasm_ops.h) over 64-bit frame
 * slots. The operand stack height is known statically, so every value lives
 * in a fixed slot; local.get and constants are folded into their consumers,
 * results are written straight into a local when a local.set follows, and
 * branch targets are resolved to code pointers; compares, address
 * arithmetic and copies are fused into the instructions that use them. Gas:
 * each straight-line run's instruction count is charged once on entry, by a
 * `gas` instruction at its head or by the branch or call that enters it
 * (docs/wasm.md).
 */
#include "wasm/wasm_internal.h"
#include "wasm/wasm_ops.h"
#include "wasm/wasm_read.h"

#include <stdlib.h>
#include <string.h>
#include <pthread.h>

enum { V_STK = 0, V_LOCAL = 1, V_CONST = 2 };

typedef struct vent {
    uint8_t kind;
    uint32_t local;
    uint64_t bits;
} vent;

enum { C_BLOCK, C_LOOP, C_IF, C_FUNC };

typedef struct ctrl {
    uint8_t kind;
    uint32_t nparams, nresults;
    uint32_t height;        /* operand height at entry, params excluded */
    size_t loop_pos;        /* C_LOOP: label */
    int64_t chain;          /* pending forward branches (linked through code;
                               each target word is followed by its gas word) */
    int64_t tchain;         /* pending br_table targets (no gas word) */
    int64_t else_fix;       /* C_IF: the br_unless target word, -1 once placed */
} ctrl;

typedef struct tr {
    const wasm_module *m;
    const wasm_back *back;
    const wasm_functype *ft;
    const void *const *H;
    wcode *code;
    size_t n, cap;
    size_t *tfix;
    size_t ntfix, tfixcap;
    vent *vs;
    uint32_t h, vcap;
    ctrl *cs;
    uint32_t nc, ccap;
    uint32_t base;
    uint32_t nres;
    int64_t gas_pos;
    uint64_t gas_n;
    bool dead;
    uint32_t dead_nest;
    /* Forward branches resolved to the label that starts the current run:
     * once the run's weight is known they jump past its `gas` instruction
     * and charge the weight themselves (see flush_pending). */
    struct pend {
        size_t pos;         /* target word (its gas word follows) */
        size_t label;
        uint64_t base;      /* soft label: run weight before the label */
        bool soft;          /* label inside a run (reached by falling through) */
    } *pend;
    size_t npend, pendcap;
    size_t pend_label;      /* label of the last entry */
    int64_t last_dst;
    uint32_t last_h;
    int last_cmp;           /* instruction that wrote last_dst: compare index
                               0..19 (WASM_BRC_OPS), 100/101 i32/i64.eqz, -1 */
    bool last_imm;          /* ... in its immediate form */
    int last_op;            /* ... binary operator (slot form) or -1 */
    int64_t last_copy;      /* a copy instruction just emitted here, or -1 */
    size_t last_start;      /* ... starting at this word */
    bool oom;
    /* gas site recording (wasm__gas_sites, for the compiled tier) */
    bool rec;
    int32_t rec_tag, rec_ft_tag;
    uint32_t rec_off;
    struct rsite { uint32_t off; int32_t tag; size_t word; } *rs;
    size_t nrs, rscap;
} tr;

static void rec(tr *t, int32_t tag, size_t word)
{
    if (!t->rec || t->oom)
        return;
    if (t->nrs == t->rscap) {
        size_t nc = t->rscap ? t->rscap * 2 : 64;
        struct rsite *n = realloc(t->rs, nc * sizeof *n);
        if (!n) {
            t->oom = true;
            return;
        }
        t->rs = n;
        t->rscap = nc;
    }
    t->rs[t->nrs++] = (struct rsite){t->rec_off, tag, word};
}

/* ---- emission ---- */

static void grow_code(tr *t)
{
    size_t nc = t->cap ? t->cap * 2 : 256;
    wcode *c = realloc(t->code, nc * sizeof *c);
    if (!c) {
        t->oom = true;
        t->n = 0;
        return;
    }
    t->code = c;
    t->cap = nc;
}

static size_t emit_u(tr *t, uint64_t u)
{
    if (t->n == t->cap)
        grow_code(t);
    if (t->oom)
        return 0;
    t->code[t->n].u = u;
    return t->n++;
}

static void emit_h(tr *t, int op)
{
    if (t->n == t->cap)
        grow_code(t);
    if (t->oom)
        return;
    t->code[t->n++].h = t->H[op];
    t->last_dst = -1;
    t->last_copy = -1;
}

/* copy d <- a; two copies in a row become one copy2 (one dispatch). */
static void emit_copy(tr *t, uint64_t d, uint64_t a)
{
    if (t->last_copy >= 0 && (size_t)t->last_copy + 3 == t->n && !t->oom) {
        t->code[t->last_copy].h = t->H[WOP_copy2];
        emit_u(t, d);
        emit_u(t, a);
        t->last_copy = -1;
        return;
    }
    emit_h(t, WOP_copy);
    size_t pos = t->n - 1;
    emit_u(t, d);
    emit_u(t, a);
    t->last_copy = (int64_t)pos;
}

static void emit_p(tr *t, const void *p)
{
    if (t->n == t->cap)
        grow_code(t);
    if (t->oom)
        return;
    t->code[t->n++].p = (void *)p;
}

static uint64_t SO(uint32_t slot) { return (uint64_t)slot * 8u; }

/* Emit the destination slot of the instruction producing entry at height h. */
static void emit_dst(tr *t, uint32_t h)
{
    size_t pos = emit_u(t, SO(t->base + h));
    t->last_dst = (int64_t)pos;
    t->last_h = h;
    t->last_cmp = -1;
    t->last_op = -1;
}

static void tfix_add(tr *t, size_t pos)
{
    if (t->ntfix == t->tfixcap) {
        size_t nc = t->tfixcap ? t->tfixcap * 2 : 64;
        size_t *n = realloc(t->tfix, nc * sizeof *n);
        if (!n) {
            t->oom = true;
            return;
        }
        t->tfix = n;
        t->tfixcap = nc;
    }
    t->tfix[t->ntfix++] = pos;
}

/* A code target known now (backward). */
static void emit_target(tr *t, size_t target)
{
    size_t pos = emit_u(t, target);
    if (!t->oom)
        tfix_add(t, pos);
}

/* A forward target: linked into *chain, resolved by resolve(). */
static void emit_fwd(tr *t, int64_t *chain)
{
    size_t pos = emit_u(t, (uint64_t)*chain);
    if (t->oom)
        return;
    *chain = (int64_t)pos;
    tfix_add(t, pos);
}

static void resolve(tr *t, int64_t *chain, size_t target)
{
    int64_t p = *chain;
    while (p >= 0 && !t->oom) {
        int64_t next = t->code[p].i;
        t->code[p].u = target;
        p = next;
    }
    *chain = -1;
}

/* ---- gas runs ---- */

static void count(tr *t, bool keep_last)
{
    int64_t ld = t->last_dst;
    if (t->gas_pos < 0) {
        emit_h(t, WOP_gas);
        t->gas_pos = (int64_t)emit_u(t, 0);
        rec(t, WASM_GS_HEAD, (size_t)t->gas_pos);
        ld = -1;
    }
    t->gas_n++;
    t->last_dst = keep_last ? ld : -1;
}

static void flush_pending(tr *t, int64_t gp)
{
    for (size_t i = 0; i < t->npend && !t->oom; i++) {
        const struct pend *e = &t->pend[i];
        size_t l = e->label;
        if (e->soft) {
            /* the run goes on through the label: charge its rest */
            t->code[e->pos].u = l;
            t->code[e->pos + 1].u = t->gas_n - e->base;
        } else {
            bool skip = !t->rec && gp == (int64_t)(l + 1) && t->code[l].h == t->H[WOP_gas];
            t->code[e->pos].u = skip ? l + 2 : l;
            t->code[e->pos + 1].u = skip ? t->gas_n : 0;
        }
    }
    t->npend = 0;
}

static void gas_end(tr *t)
{
    if (t->gas_pos >= 0 && !t->oom)
        t->code[t->gas_pos].u = t->gas_n;
    if (t->npend)
        flush_pending(t, t->gas_pos);
    t->gas_pos = -1;
    t->gas_n = 0;
}

/* Place a label here: ends the current run (unless a label is already
 * here with no code after it). */
static size_t label(tr *t)
{
    if (!(t->npend && t->pend_label == t->n && t->gas_pos < 0))
        gas_end(t);
    t->last_dst = -1;
    t->last_copy = -1;
    return t->n;
}

/* Resolve a chain of branches (target word + gas word) to label l: either
 * the start of the current run (hard) or a point inside it (soft). */
static void resolve_gas(tr *t, int64_t *chain, size_t l, bool soft)
{
    int64_t p = *chain;
    while (p >= 0 && !t->oom) {
        int64_t next = t->code[p].i;
        t->code[p].u = l;
        if (t->npend == t->pendcap) {
            size_t nc = t->pendcap ? t->pendcap * 2 : 32;
            struct pend *n = realloc(t->pend, nc * sizeof *n);
            if (!n) {
                t->oom = true;
                break;
            }
            t->pend = n;
            t->pendcap = nc;
        }
        struct pend *e = &t->pend[t->npend++];
        e->pos = (size_t)p;
        e->label = l;
        e->base = soft ? t->gas_n : 0;
        e->soft = soft;
        t->pend_label = l;
        p = next;
    }
    *chain = -1;
}

/* ---- virtual operand stack ---- */

static void push(tr *t, uint8_t kind, uint32_t local, uint64_t bits)
{
    if (t->h == t->vcap) {
        uint32_t nc = t->vcap ? t->vcap * 2 : 64;
        vent *n = realloc(t->vs, nc * sizeof *n);
        if (!n) {
            t->oom = true;
            return;
        }
        t->vs = n;
        t->vcap = nc;
    }
    t->vs[t->h].kind = kind;
    t->vs[t->h].local = local;
    t->vs[t->h].bits = bits;
    t->h++;
}

static void push_stk(tr *t) { push(t, V_STK, 0, 0); }

static void materialize(tr *t, uint32_t i)
{
    vent *e = &t->vs[i];
    if (e->kind == V_LOCAL) {
        emit_copy(t, SO(t->base + i), SO(e->local));
    } else if (e->kind == V_CONST) {
        emit_h(t, WOP_const);
        emit_u(t, SO(t->base + i));
        emit_u(t, e->bits);
    }
    e->kind = V_STK;
}

static void materialize_all(tr *t)
{
    for (uint32_t i = 0; i < t->h; i++)
        if (t->vs[i].kind != V_STK)
            materialize(t, i);
}

static void materialize_range(tr *t, uint32_t from, uint32_t to)
{
    for (uint32_t i = from; i < to; i++)
        if (t->vs[i].kind != V_STK)
            materialize(t, i);
}

/* Slot (byte offset) holding entry i, for reading. */
static uint64_t use(tr *t, uint32_t i)
{
    vent *e = &t->vs[i];
    if (e->kind == V_LOCAL)
        return SO(e->local);
    if (e->kind == V_CONST)
        materialize(t, i);
    return SO(t->base + i);
}

/* ---- control ---- */

static ctrl *push_ctrl(tr *t, uint8_t kind, uint32_t np, uint32_t nr)
{
    if (t->nc == t->ccap) {
        uint32_t nc = t->ccap ? t->ccap * 2 : 16;
        ctrl *n = realloc(t->cs, nc * sizeof *n);
        if (!n) {
            t->oom = true;
            return NULL;
        }
        t->cs = n;
        t->ccap = nc;
    }
    ctrl *c = &t->cs[t->nc++];
    memset(c, 0, sizeof *c);
    c->kind = kind;
    c->nparams = np;
    c->nresults = nr;
    c->height = t->h - np;
    c->chain = -1;
    c->tchain = -1;
    c->else_fix = -1;
    return c;
}

static void blocktype(tr *t, const uint8_t **pp, uint32_t *np, uint32_t *nr)
{
    uint8_t vt;
    uint32_t idx;
    int k = wasm_ru_blocktype(pp, &vt, &idx);
    if (k == -1) {
        *np = 0;
        *nr = 0;
    } else if (k == -2) {
        *np = 0;
        *nr = 1;
    } else {
        *np = t->m->types[idx].nparams;
        *nr = t->m->types[idx].nresults;
    }
}

static uint32_t arity(const ctrl *c) { return c->kind == C_LOOP ? c->nparams : c->nresults; }

/* Copy the top n values into slots dst..dst+n-1 (dst >= base). */
static void branch_copies(tr *t, uint32_t n, uint32_t dst)
{
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = t->h - n + k;
        vent *e = &t->vs[i];
        uint32_t d = dst + k;
        if (e->kind == V_CONST) {
            emit_h(t, WOP_const);
            emit_u(t, SO(d));
            emit_u(t, e->bits);
        } else if (e->kind == V_LOCAL) {
            if (e->local != d) {
                emit_copy(t, SO(d), SO(e->local));
            }
        } else if (t->base + i != d) {
            emit_copy(t, SO(d), SO(t->base + i));
        }
    }
}

static bool needs_copies(tr *t, uint32_t n, uint32_t dst)
{
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = t->h - n + k;
        if (t->vs[i].kind != V_STK || t->base + i != dst + k)
            return true;
    }
    return false;
}

/* Results to slots 0..nres-1, then return. The virtual stack is left as it
 * was (this may be one path of several, e.g. a br_if or br_table stub). */
static void emit_return(tr *t)
{
    uint32_t n = t->nres;
    if (n == 0) {
        emit_h(t, WOP_ret);
        return;
    }
    if (n == 1 && t->vs[t->h - 1].kind == V_STK && t->last_dst >= 0 && t->last_h == t->h - 1 &&
        !t->oom) {
        /* the value's producer writes the result slot directly */
        t->code[t->last_dst].u = SO(0);
        emit_h(t, WOP_ret);
        return;
    }
    vent saved[8];
    vent *sv = n <= 8 ? saved : malloc(n * sizeof *sv);
    if (!sv) {
        t->oom = true;
        return;
    }
    memcpy(sv, &t->vs[t->h - n], n * sizeof *sv);
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = t->h - n + k;
        if (t->vs[i].kind == V_LOCAL && t->vs[i].local < n && t->vs[i].local != k)
            materialize(t, i);
    }
    branch_copies(t, n, 0);
    emit_h(t, WOP_ret);
    memcpy(&t->vs[t->h - n], sv, n * sizeof *sv);
    if (sv != saved)
        free(sv);
}

/* Target word of a br/br_if to c, then its taken-path gas word. A branch
 * back to a loop whose head starts with `gas N` jumps past that instruction
 * and charges N itself (one dispatch less per iteration). */
static void emit_target_gas(tr *t, ctrl *c)
{
    if (c->kind == C_LOOP) {
        size_t lp = c->loop_pos;
        if (!t->rec && lp + 1 < t->n && !t->oom && t->code[lp].h == t->H[WOP_gas]) {
            uint64_t n = t->gas_pos == (int64_t)(lp + 1) ? t->gas_n : t->code[lp + 1].u;
            emit_target(t, lp + 2);
            emit_u(t, n);
            return;
        }
        emit_target(t, c->loop_pos);
    } else {
        emit_fwd(t, &c->chain);
    }
    rec(t, t->rec_tag, emit_u(t, 0));
}

/* Fall-through gas word of a conditional branch: it ends the current run
 * and holds the weight of the run that follows. */
static void emit_fallthrough_gas(tr *t)
{
    gas_end(t);
    t->gas_pos = (int64_t)emit_u(t, 0);
    rec(t, t->rec_ft_tag, (size_t)t->gas_pos);
    t->gas_n = 0;
}

/* Branch to ctrl c (taken unconditionally from here). */
static void emit_branch(tr *t, ctrl *c)
{
    if (c->kind == C_FUNC) {
        emit_return(t);
        return;
    }
    uint32_t n = arity(c);
    branch_copies(t, n, t->base + c->height);
    emit_h(t, WOP_br);
    emit_target_gas(t, c);
}

static bool branch_is_plain(tr *t, ctrl *c)
{
    if (c->kind == C_FUNC)
        return false;
    return !needs_copies(t, arity(c), t->base + c->height);
}

static void emit_plain_target(tr *t, ctrl *c)
{
    if (c->kind == C_LOOP)
        emit_target(t, c->loop_pos);
    else
        emit_fwd(t, &c->tchain);
}

/* ---- instruction classes ---- */

typedef struct opinfo {
    uint8_t kind;   /* 0 none, 1 binary with an immediate form, 2 binary, 3 unary, 4 no-op */
    uint8_t comm;   /* commutative */
    uint16_t op;
} opinfo;

static opinfo OPS[256];

static void opinfo_init(void)
{
#define IB(code, name, c) OPS[code] = (opinfo){1, c, WOP_##name}
#define B(code, name) OPS[code] = (opinfo){2, 0, WOP_##name}
#define U(code, name) OPS[code] = (opinfo){3, 0, WOP_##name}
#define N(code) OPS[code] = (opinfo){4, 0, 0}
    U(0x45, i32_eqz);
    IB(0x46, i32_eq, 1); IB(0x47, i32_ne, 1); IB(0x48, i32_lt_s, 0); IB(0x49, i32_lt_u, 0);
    IB(0x4a, i32_gt_s, 0); IB(0x4b, i32_gt_u, 0); IB(0x4c, i32_le_s, 0); IB(0x4d, i32_le_u, 0);
    IB(0x4e, i32_ge_s, 0); IB(0x4f, i32_ge_u, 0);
    U(0x50, i64_eqz);
    IB(0x51, i64_eq, 1); IB(0x52, i64_ne, 1); IB(0x53, i64_lt_s, 0); IB(0x54, i64_lt_u, 0);
    IB(0x55, i64_gt_s, 0); IB(0x56, i64_gt_u, 0); IB(0x57, i64_le_s, 0); IB(0x58, i64_le_u, 0);
    IB(0x59, i64_ge_s, 0); IB(0x5a, i64_ge_u, 0);
    IB(0x5b, f32_eq, 1); IB(0x5c, f32_ne, 1); IB(0x5d, f32_lt, 0); IB(0x5e, f32_gt, 0);
    IB(0x5f, f32_le, 0); IB(0x60, f32_ge, 0);
    IB(0x61, f64_eq, 1); IB(0x62, f64_ne, 1); IB(0x63, f64_lt, 0); IB(0x64, f64_gt, 0);
    IB(0x65, f64_le, 0); IB(0x66, f64_ge, 0);
    U(0x67, i32_clz); U(0x68, i32_ctz); U(0x69, i32_popcnt);
    IB(0x6a, i32_add, 1); IB(0x6b, i32_sub, 0); IB(0x6c, i32_mul, 1);
    IB(0x6d, i32_div_s, 0); IB(0x6e, i32_div_u, 0); IB(0x6f, i32_rem_s, 0); IB(0x70, i32_rem_u, 0);
    IB(0x71, i32_and, 1); IB(0x72, i32_or, 1); IB(0x73, i32_xor, 1); IB(0x74, i32_shl, 0);
    IB(0x75, i32_shr_s, 0); IB(0x76, i32_shr_u, 0); IB(0x77, i32_rotl, 0); IB(0x78, i32_rotr, 0);
    U(0x79, i64_clz); U(0x7a, i64_ctz); U(0x7b, i64_popcnt);
    IB(0x7c, i64_add, 1); IB(0x7d, i64_sub, 0); IB(0x7e, i64_mul, 1);
    IB(0x7f, i64_div_s, 0); IB(0x80, i64_div_u, 0); IB(0x81, i64_rem_s, 0); IB(0x82, i64_rem_u, 0);
    IB(0x83, i64_and, 1); IB(0x84, i64_or, 1); IB(0x85, i64_xor, 1); IB(0x86, i64_shl, 0);
    IB(0x87, i64_shr_s, 0); IB(0x88, i64_shr_u, 0); IB(0x89, i64_rotl, 0); IB(0x8a, i64_rotr, 0);
    U(0x8b, f32_abs); U(0x8c, f32_neg); U(0x8d, f32_ceil); U(0x8e, f32_floor); U(0x8f, f32_trunc);
    U(0x90, f32_nearest); U(0x91, f32_sqrt);
    IB(0x92, f32_add, 1); IB(0x93, f32_sub, 0); IB(0x94, f32_mul, 1); IB(0x95, f32_div, 0);
    IB(0x96, f32_min, 1); IB(0x97, f32_max, 1); B(0x98, f32_copysign);
    U(0x99, f64_abs); U(0x9a, f64_neg); U(0x9b, f64_ceil); U(0x9c, f64_floor); U(0x9d, f64_trunc);
    U(0x9e, f64_nearest); U(0x9f, f64_sqrt);
    IB(0xa0, f64_add, 1); IB(0xa1, f64_sub, 0); IB(0xa2, f64_mul, 1); IB(0xa3, f64_div, 0);
    IB(0xa4, f64_min, 1); IB(0xa5, f64_max, 1); B(0xa6, f64_copysign);
    U(0xa7, i32_wrap_i64); U(0xa8, i32_trunc_f32_s); U(0xa9, i32_trunc_f32_u);
    U(0xaa, i32_trunc_f64_s); U(0xab, i32_trunc_f64_u); U(0xac, i64_extend_i32_s); N(0xad);
    U(0xae, i64_trunc_f32_s); U(0xaf, i64_trunc_f32_u); U(0xb0, i64_trunc_f64_s); U(0xb1, i64_trunc_f64_u);
    U(0xb2, f32_convert_i32_s); U(0xb3, f32_convert_i32_u); U(0xb4, f32_convert_i64_s);
    U(0xb5, f32_convert_i64_u); U(0xb6, f32_demote_f64);
    U(0xb7, f64_convert_i32_s); U(0xb8, f64_convert_i32_u); U(0xb9, f64_convert_i64_s);
    U(0xba, f64_convert_i64_u); U(0xbb, f64_promote_f32);
    N(0xbc); N(0xbd); N(0xbe); N(0xbf);
    U(0xc0, i32_extend8_s); U(0xc1, i32_extend16_s); U(0xc2, i64_extend8_s);
    U(0xc3, i64_extend16_s); U(0xc4, i64_extend32_s);
#undef IB
#undef B
#undef U
#undef N
}

static const int SAT_OPS[8] = {
    WOP_i32_trunc_sat_f32_s, WOP_i32_trunc_sat_f32_u, WOP_i32_trunc_sat_f64_s,
    WOP_i32_trunc_sat_f64_u, WOP_i64_trunc_sat_f32_s, WOP_i64_trunc_sat_f32_u,
    WOP_i64_trunc_sat_f64_s, WOP_i64_trunc_sat_f64_u,
};

static void note_cmp(tr *t, int op, bool imm, size_t start);

/* Index of the negated compare (eq<->ne, lt<->ge, gt<->le). */
static const int CMP_INV[10] = {1, 0, 8, 9, 6, 7, 4, 5, 2, 3};

static int cmp_op(int k, bool imm)
{
    int op = k < 10 ? WOP_i32_eq + k : WOP_i64_eq + (k - 10);
    return imm ? WOP_i32_add_i + (op - WOP_i32_add) : op;
}

static void tr_unop(tr *t, int op)
{
    uint32_t top = t->h - 1;
    if (op == WOP_i32_eqz && t->vs[top].kind == V_STK && t->last_dst >= 0 && t->last_h == top &&
        t->last_cmp >= 0 && t->last_cmp < 20 && !t->oom) {
        /* eqz of a compare just emitted: invert the compare in place */
        int k = t->last_cmp;
        k = (k / 10) * 10 + CMP_INV[k % 10];
        t->code[t->last_start].h = t->H[cmp_op(k, t->last_imm)];
        t->last_cmp = k;
        return;
    }
    uint64_t a = use(t, t->h - 1);
    size_t start = t->n;
    emit_h(t, op);
    emit_dst(t, t->h - 1);
    emit_u(t, a);
    if (op == WOP_i32_eqz || op == WOP_i64_eqz)
        note_cmp(t, op, false, start);
    t->h--;
    push_stk(t);
}

static void note_cmp(tr *t, int op, bool imm, size_t start)
{
    int k = -1;
    if (op >= WOP_i32_eq && op <= WOP_i32_ge_u)
        k = op - WOP_i32_eq;
    else if (op >= WOP_i64_eq && op <= WOP_i64_ge_u)
        k = 10 + (op - WOP_i64_eq);
    else if (op == WOP_i32_eqz)
        k = 100;
    else if (op == WOP_i64_eqz)
        k = 101;
    t->last_cmp = k;
    t->last_imm = imm;
    t->last_start = start;
}

/* A branch condition taken off the top of the stack: a slot, or a compare
 * just emitted (then removed from the code and fused into the branch). */
typedef struct cond {
    int cmp;        /* -1 plain slot a; 0..19 compare; 100/101 eqz of a */
    bool imm;
    uint64_t a, b;
} cond;

static cond take_cond(tr *t)
{
    cond c = {-1, false, 0, 0};
    uint32_t top = t->h - 1;
    if (t->vs[top].kind == V_STK && t->last_dst >= 0 && t->last_h == top && t->last_cmp >= 0 &&
        !t->oom) {
        c.cmp = t->last_cmp;
        c.imm = t->last_imm;
        c.a = t->code[t->last_start + 2].u;
        if (c.cmp < 100)
            c.b = t->code[t->last_start + 3].u;
        t->n = t->last_start;
        t->last_dst = -1;
    } else {
        c.a = use(t, top);
    }
    t->h--;
    return c;
}

/* Emit a jump taken when the condition's truth equals `when`; the caller
 * emits the target word next. */
static void emit_cond(tr *t, const cond *c, bool when)
{
    if (c->cmp < 0) {
        emit_h(t, when ? WOP_br_if : WOP_br_unless);
        emit_u(t, c->a);
    } else if (c->cmp == 100 || c->cmp == 101) {
        bool w = !when;   /* eqz(a) true <=> a == 0 */
        if (c->cmp == 100)
            emit_h(t, w ? WOP_br_if : WOP_br_unless);
        else
            emit_h(t, w ? WOP_br_if64 : WOP_br_unless64);
        emit_u(t, c->a);
    } else {
        int k = c->cmp;
        if (!when)
            k = (k / 10) * 10 + CMP_INV[k % 10];
        emit_h(t, WOP_brc_i32_eq + 2 * k + (c->imm ? 1 : 0));
        emit_u(t, c->a);
        emit_u(t, c->b);
    }
}

static void tr_binop(tr *t, const opinfo *oi)
{
    uint32_t ia = t->h - 2, ib = t->h - 1;
    int imm_side = -1;   /* entry used as the immediate */
    if (oi->kind == 1 && t->vs[ib].kind == V_CONST)
        imm_side = (int)ib;
    else if (oi->kind == 1 && oi->comm && t->vs[ia].kind == V_CONST)
        imm_side = (int)ia;
    if (imm_side >= 0) {
        uint32_t other = imm_side == (int)ib ? ia : ib;
        uint64_t bits = t->vs[imm_side].bits;
        uint64_t a = use(t, other);
        size_t start = t->n;
        emit_h(t, WOP_i32_add_i + (oi->op - WOP_i32_add));
        emit_dst(t, ia);
        emit_u(t, a);
        emit_u(t, bits);
        note_cmp(t, oi->op, true, start);
        t->last_op = WOP_i32_add_i + (oi->op - WOP_i32_add);
    } else if (oi->op == WOP_i32_add && t->last_dst >= 0 && t->last_op == WOP_i32_shl_i &&
               !t->oom && t->vs[ia].kind != V_CONST && t->vs[ib].kind != V_CONST &&
               ((t->last_h == ib && t->vs[ib].kind == V_STK) ||
                (t->last_h == ia && t->vs[ia].kind == V_STK))) {
        /* a + (x << k) with the shift just emitted: one i32_add_shl */
        uint32_t other = t->last_h == ib ? ia : ib;
        uint64_t x = t->code[t->last_start + 2].u, k = t->code[t->last_start + 3].u & 31;
        t->n = t->last_start;
        uint64_t a = use(t, other);
        size_t start = t->n;
        emit_h(t, WOP_i32_add_shl);
        emit_dst(t, ia);
        emit_u(t, a);
        emit_u(t, x);
        emit_u(t, k);
        t->last_start = start;
        t->last_op = WOP_i32_add_shl;
    } else {
        uint64_t a = use(t, ia);
        uint64_t b = use(t, ib);
        size_t start = t->n;
        emit_h(t, oi->op);
        emit_dst(t, ia);
        emit_u(t, a);
        emit_u(t, b);
        note_cmp(t, oi->op, false, start);
        t->last_op = oi->op;
    }
    t->h -= 2;
    push_stk(t);
}

/* Is entry i an i32.add (slot form) just emitted? Then a memory access may
 * take its two operands instead (the _x forms). */
static bool fusable_add(tr *t, uint32_t i)
{
    return t->vs[i].kind == V_STK && t->last_dst >= 0 && t->last_h == i &&
           t->last_op == WOP_i32_add && !t->oom;
}

static bool fusable_add_shl(tr *t, uint32_t i)
{
    return t->vs[i].kind == V_STK && t->last_dst >= 0 && t->last_h == i &&
           t->last_op == WOP_i32_add_shl && !t->oom;
}

/* Constant address: address + offset + size, or false if it overflows. */
static bool const_ea(tr *t, uint32_t i, uint64_t offset, uint64_t size, uint64_t *ea)
{
    if (t->vs[i].kind != V_CONST)
        return false;
    uint64_t a = t->vs[i].bits;
    if (offset > UINT64_MAX - size || a > UINT64_MAX - (offset + size))
        return false;
    *ea = a + offset + size;
    return true;
}

/* Is entry i an i32.add/sub of a constant just emitted? Gives a and K
 * (address = a + K, 32-bit). */
static bool fusable_addk(tr *t, uint32_t i, uint64_t *a, uint64_t *k)
{
    if (!(t->vs[i].kind == V_STK && t->last_dst >= 0 && t->last_h == i && !t->oom))
        return false;
    int add_i = WOP_i32_add_i, sub_i = WOP_i32_add_i + (WOP_i32_sub - WOP_i32_add);
    if (t->last_op != add_i && t->last_op != sub_i)
        return false;
    *a = t->code[t->last_start + 2].u;
    uint32_t kk = (uint32_t)t->code[t->last_start + 3].u;
    *k = t->last_op == add_i ? kk : (uint32_t)(0u - kk);
    return true;
}

static void tr_load(tr *t, int op, uint64_t offset, uint64_t size)
{
    uint64_t ka, kk;
    if (offset + size < (1ull << 40) && fusable_addk(t, t->h - 1, &ka, &kk)) {
        t->n = t->last_start;
        emit_h(t, op + (WOP_load8_s32_xi - WOP_load8_s32));
        emit_dst(t, t->h - 1);
        emit_u(t, ka);
        emit_u(t, kk);
        emit_u(t, offset + size);
        t->h--;
        push_stk(t);
        return;
    }
    uint64_t ea;
    if (const_ea(t, t->h - 1, offset, size, &ea)) {
        emit_h(t, op + (WOP_load8_s32_k - WOP_load8_s32));
        emit_dst(t, t->h - 1);
        emit_u(t, ea);
        t->h--;
        push_stk(t);
        return;
    }
    if (offset + size < (1ull << 59) && fusable_add_shl(t, t->h - 1)) {
        wcode *c = &t->code[t->last_start];
        uint64_t a = c[2].u, x = c[3].u, k = c[4].u;
        t->n = t->last_start;
        emit_h(t, op + (WOP_load8_s32_xs - WOP_load8_s32));
        emit_dst(t, t->h - 1);
        emit_u(t, a);
        emit_u(t, x);
        emit_u(t, (offset + size) | (k << 59));
        t->h--;
        push_stk(t);
        return;
    }
    if (offset <= UINT64_MAX - size && fusable_add(t, t->h - 1)) {
        uint64_t a = t->code[t->last_start + 2].u, b = t->code[t->last_start + 3].u;
        t->n = t->last_start;
        emit_h(t, op + (WOP_load8_s32_x - WOP_load8_s32));
        emit_dst(t, t->h - 1);
        emit_u(t, a);
        emit_u(t, b);
        emit_u(t, offset + size);
        t->h--;
        push_stk(t);
        return;
    }
    uint64_t a = use(t, t->h - 1);
    if (offset > UINT64_MAX - size) {
        emit_h(t, WOP_trap_oob);
    } else {
        emit_h(t, op);
        emit_dst(t, t->h - 1);
        emit_u(t, a);
        emit_u(t, offset + size);
    }
    t->h--;
    push_stk(t);
}

static void tr_store(tr *t, int op, uint64_t offset, uint64_t size)
{
    uint64_t ka, kk;
    if (offset + size < (1ull << 40) && fusable_addk(t, t->h - 2, &ka, &kk)) {
        t->n = t->last_start;
        t->last_dst = -1;
        uint64_t v = use(t, t->h - 1);
        emit_h(t, op + (WOP_load8_s32_xi - WOP_load8_s32));
        emit_u(t, ka);
        emit_u(t, kk);
        emit_u(t, v);
        emit_u(t, offset + size);
        t->h -= 2;
        return;
    }
    if (offset + size < (1ull << 59) && fusable_add_shl(t, t->h - 2)) {
        wcode *c = &t->code[t->last_start];
        uint64_t a = c[2].u, x = c[3].u, k = c[4].u;
        t->n = t->last_start;
        t->last_dst = -1;
        uint64_t v = use(t, t->h - 1);
        emit_h(t, op + (WOP_load8_s32_xs - WOP_load8_s32));
        emit_u(t, a);
        emit_u(t, x);
        emit_u(t, v);
        emit_u(t, (offset + size) | (k << 59));
        t->h -= 2;
        return;
    }
    if (offset <= UINT64_MAX - size && fusable_add(t, t->h - 2)) {
        uint64_t a = t->code[t->last_start + 2].u, b = t->code[t->last_start + 3].u;
        t->n = t->last_start;
        t->last_dst = -1;
        uint64_t v = use(t, t->h - 1);
        emit_h(t, op + (WOP_load8_s32_x - WOP_load8_s32));
        emit_u(t, a);
        emit_u(t, b);
        emit_u(t, v);
        emit_u(t, offset + size);
        t->h -= 2;
        return;
    }
    uint64_t ea;
    if (const_ea(t, t->h - 2, offset, size, &ea)) {
        uint64_t v = use(t, t->h - 1);
        emit_h(t, op + (WOP_load8_s32_k - WOP_load8_s32));
        emit_u(t, v);
        emit_u(t, ea);
        t->h -= 2;
        return;
    }
    uint64_t v = use(t, t->h - 1);
    uint64_t a = use(t, t->h - 2);
    if (offset > UINT64_MAX - size) {
        emit_h(t, WOP_trap_oob);
    } else {
        emit_h(t, op);
        emit_u(t, a);
        emit_u(t, v);
        emit_u(t, offset + size);
    }
    t->h -= 2;
}

static void tr_call(tr *t, const wasm_functype *ft, int op, uint64_t imm, const void *fn)
{
    uint32_t np = ft->nparams;
    materialize_range(t, t->h - np, t->h);
    uint32_t argslot = t->base + t->h - np;
    emit_h(t, op);
    if (fn)
        emit_p(t, fn);
    else
        emit_u(t, imm);
    emit_u(t, SO(argslot));
    t->h -= np;
    for (uint32_t i = 0; i < ft->nresults; i++)
        push_stk(t);
}

static void local_set(tr *t, uint32_t li, bool tee)
{
    uint32_t top = t->h - 1;
    bool hazard = false;
    for (uint32_t i = 0; i < top; i++)
        if (t->vs[i].kind == V_LOCAL && t->vs[i].local == li)
            hazard = true;
    vent e = t->vs[top];
    if (!hazard && e.kind == V_STK && t->last_dst >= 0 && t->last_h == top) {
        t->code[t->last_dst].u = SO(li);
        t->last_dst = -1;
        t->h--;
        if (tee)
            push(t, V_LOCAL, li, 0);
        return;
    }
    if (hazard) {
        for (uint32_t i = 0; i < top; i++)
            if (t->vs[i].kind == V_LOCAL && t->vs[i].local == li)
                materialize(t, i);
    }
    if (e.kind == V_CONST) {
        emit_h(t, WOP_const);
        emit_u(t, SO(li));
        emit_u(t, e.bits);
    } else if (e.kind == V_LOCAL) {
        if (e.local != li) {
            emit_copy(t, SO(li), SO(e.local));
        }
    } else {
        emit_copy(t, SO(li), SO(t->base + top));
    }
    if (!tee) {
        t->h--;
    } else if (e.kind == V_LOCAL && e.local != li) {
        /* keep the alias only if it still holds the value: it does */
    }
}

/* ---- one function ---- */

static int translate_fn(tr *t, uint32_t fidx, wfn *out, ao_error *err)
{
    const wasm_module *m = t->m;
    const wasm_code *c = &m->code[fidx - m->nfuncs_imported];
    const wasm_functype *ft = wasm__func_type(m, fidx);
    t->ft = ft;
    t->n = 0;
    t->ntfix = 0;
    t->h = 0;
    t->nc = 0;
    t->base = ft->nparams + c->nlocals;
    t->nres = ft->nresults;
    t->gas_pos = -1;
    t->gas_n = 0;
    t->dead = false;
    t->dead_nest = 0;
    t->npend = 0;
    t->last_dst = -1;
    t->last_copy = -1;
    push_ctrl(t, C_FUNC, 0, ft->nresults);

    const uint8_t *p = c->body, *end = c->body + c->body_len;
    while (p < end && t->nc > 0 && !t->oom) {
        t->rec_off = (uint32_t)(p - c->body);
        uint8_t opc = *p++;
        switch (opc) {
        case 0x00: /* unreachable */
            if (t->dead) break;
            count(t, false);
            emit_h(t, WOP_unreachable);
            gas_end(t);
            t->dead = true;
            break;
        case 0x01: /* nop */
            if (t->dead) break;
            count(t, false);
            break;
        case 0x02: case 0x03: { /* block, loop */
            uint32_t np, nr;
            blocktype(t, &p, &np, &nr);
            if (t->dead) {
                t->dead_nest++;
                break;
            }
            /* block and loop weigh no gas (docs/wasm.md) */
            t->last_dst = -1;
            materialize_all(t);
            ctrl *cc = push_ctrl(t, opc == 0x02 ? C_BLOCK : C_LOOP, np, nr);
            if (cc && opc == 0x03)
                cc->loop_pos = label(t);
            break;
        }
        case 0x04: { /* if */
            uint32_t np, nr;
            blocktype(t, &p, &np, &nr);
            if (t->dead) {
                t->dead_nest++;
                break;
            }
            count(t, true);
            cond cd = take_cond(t);
            materialize_all(t);
            emit_cond(t, &cd, false);
            int64_t fix = -1;
            emit_fwd(t, &fix);
            rec(t, WASM_GS_FALSE, emit_u(t, 0));
            t->rec_ft_tag = WASM_GS_TRUE;
            emit_fallthrough_gas(t);
            ctrl *cc = push_ctrl(t, C_IF, np, nr);
            if (cc)
                cc->else_fix = fix;
            break;
        }
        case 0x05: { /* else */
            if (t->dead && t->dead_nest > 0)
                break;
            ctrl *cc = &t->cs[t->nc - 1];
            if (!t->dead) {
                branch_copies(t, cc->nresults, t->base + cc->height);
                emit_h(t, WOP_br);
                emit_fwd(t, &cc->chain);
                rec(t, WASM_GS_ALWAYS, emit_u(t, 0));
            }
            size_t l = label(t);
            resolve_gas(t, &cc->else_fix, l, false);
            t->dead = false;
            t->h = cc->height;
            for (uint32_t i = 0; i < cc->nparams; i++)
                push_stk(t);
            break;
        }
        case 0x0b: { /* end */
            if (t->dead && t->dead_nest > 0) {
                t->dead_nest--;
                break;
            }
            ctrl *cc = &t->cs[t->nc - 1];
            if (cc->kind == C_FUNC) {
                if (!t->dead)
                    emit_return(t);
                gas_end(t);
                t->nc--;
                break;
            }
            if (!t->dead)
                branch_copies(t, cc->nresults, t->base + cc->height);
            if (cc->chain >= 0 || cc->else_fix >= 0 || cc->tchain >= 0) {
                /* reached by falling through too and not by br_table: the
                 * label does not end the run (soft), branches to it charge
                 * the rest of the run */
                bool soft = !t->dead && t->gas_pos >= 0 && cc->tchain < 0;
                size_t l;
                if (soft) {
                    l = t->n;
                    t->last_dst = -1;
                    t->last_copy = -1;
                } else {
                    l = label(t);
                }
                resolve_gas(t, &cc->chain, l, soft);
                resolve_gas(t, &cc->else_fix, l, soft);
                resolve(t, &cc->tchain, l);
            } else {
                t->last_dst = -1;
            }
            t->dead = false;
            t->h = cc->height;
            uint32_t nr = cc->nresults;
            t->nc--;
            for (uint32_t i = 0; i < nr; i++)
                push_stk(t);
            break;
        }
        case 0x0c: { /* br */
            uint32_t l = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            t->rec_tag = WASM_GS_ALWAYS;
            emit_branch(t, &t->cs[t->nc - 1 - l]);
            gas_end(t);
            t->dead = true;
            break;
        }
        case 0x0d: { /* br_if */
            uint32_t l = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, true);
            cond cd = take_cond(t);
            ctrl *cc = &t->cs[t->nc - 1 - l];
            t->rec_tag = WASM_GS_TRUE;
            if (branch_is_plain(t, cc)) {
                emit_cond(t, &cd, true);
                emit_target_gas(t, cc);
                t->rec_ft_tag = WASM_GS_FALSE;
                emit_fallthrough_gas(t);
            } else {
                emit_cond(t, &cd, false);
                int64_t skip = -1;
                emit_fwd(t, &skip);
                rec(t, WASM_GS_FALSE, emit_u(t, 0));
                t->rec_ft_tag = WASM_GS_TRUE;
                emit_fallthrough_gas(t);
                emit_branch(t, cc);
                size_t lb = label(t);
                resolve_gas(t, &skip, lb, false);
            }
            t->last_dst = -1;
            break;
        }
        case 0x0e: { /* br_table */
            uint32_t nl = wasm_ru_u32(&p);
            const uint8_t *lp = p;
            for (uint32_t i = 0; i <= nl; i++)
                (void)wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            uint64_t idx = use(t, t->h - 1);
            t->h--;
            emit_h(t, WOP_br_table);
            emit_u(t, idx);
            emit_u(t, nl);
            size_t first = t->n;
            const uint8_t *q = lp;
            uint32_t nstub = 0;
            for (uint32_t i = 0; i <= nl; i++) {
                uint32_t l = wasm_ru_u32(&q);
                ctrl *cc = &t->cs[t->nc - 1 - l];
                if (branch_is_plain(t, cc)) {
                    emit_plain_target(t, cc);
                } else {
                    emit_u(t, 0);
                    nstub++;
                }
            }
            if (nstub) {
                q = lp;
                for (uint32_t i = 0; i <= nl && !t->oom; i++) {
                    uint32_t l = wasm_ru_u32(&q);
                    ctrl *cc = &t->cs[t->nc - 1 - l];
                    if (branch_is_plain(t, cc))
                        continue;
                    size_t stub = t->n;
                    t->rec_tag = (int32_t)i;
                    emit_branch(t, cc);
                    if (t->oom)
                        break;
                    t->code[first + i].u = stub;
                    tfix_add(t, first + i);
                }
            }
            gas_end(t);
            t->dead = true;
            break;
        }
        case 0x0f: /* return */
            if (t->dead) break;
            count(t, true);
            emit_return(t);
            gas_end(t);
            t->dead = true;
            break;
        case 0x10: { /* call */
            uint32_t fi = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            const wasm_functype *cft = wasm__func_type(m, fi);
            if (fi < m->nfuncs_imported)
                tr_call(t, cft, WOP_call_import, fi, NULL);
            else
                tr_call(t, cft, WOP_call, 0, &t->back->fns[fi - m->nfuncs_imported]);
            break;
        }
        case 0x11: { /* call_indirect */
            uint32_t ti = wasm_ru_u32(&p);
            uint32_t tab = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            const wasm_functype *cft = &m->types[ti];
            uint64_t idx = use(t, t->h - 1);
            t->h--;
            uint32_t np = cft->nparams;
            materialize_range(t, t->h - np, t->h);
            emit_h(t, WOP_call_indirect);
            emit_u(t, tab);
            emit_p(t, cft);
            emit_u(t, idx);
            emit_u(t, SO(t->base + t->h - np));
            t->h -= np;
            for (uint32_t i = 0; i < cft->nresults; i++)
                push_stk(t);
            break;
        }
        case 0x1a: /* drop */
            if (t->dead) break;
            count(t, false);
            t->h--;
            break;
        case 0x1b: case 0x1c: { /* select, select t* */
            if (opc == 0x1c) {
                uint32_t nt = wasm_ru_u32(&p);
                p += nt;
            }
            if (t->dead) break;
            count(t, false);
            uint64_t cnd = use(t, t->h - 1);
            uint64_t b = use(t, t->h - 2);
            uint64_t a = use(t, t->h - 3);
            emit_h(t, WOP_select);
            emit_dst(t, t->h - 3);
            emit_u(t, a);
            emit_u(t, b);
            emit_u(t, cnd);
            t->h -= 3;
            push_stk(t);
            break;
        }
        case 0x20: { /* local.get */
            uint32_t li = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            push(t, V_LOCAL, li, 0);
            break;
        }
        case 0x21: case 0x22: { /* local.set, local.tee */
            uint32_t li = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, true);
            local_set(t, li, opc == 0x22);
            break;
        }
        case 0x23: { /* global.get */
            uint32_t gi = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            emit_h(t, WOP_global_get);
            emit_dst(t, t->h);
            emit_u(t, gi);
            push_stk(t);
            break;
        }
        case 0x24: { /* global.set */
            uint32_t gi = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            uint64_t a = use(t, t->h - 1);
            emit_h(t, WOP_global_set);
            emit_u(t, gi);
            emit_u(t, a);
            t->h--;
            break;
        }
        case 0x25: case 0x26: { /* table.get, table.set */
            uint32_t ti = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            if (opc == 0x25) {
                uint64_t a = use(t, t->h - 1);
                emit_h(t, WOP_table_get);
                emit_dst(t, t->h - 1);
                emit_u(t, ti);
                emit_u(t, a);
                t->h--;
                push_stk(t);
            } else {
                uint64_t v = use(t, t->h - 1);
                uint64_t a = use(t, t->h - 2);
                emit_h(t, WOP_table_set);
                emit_u(t, ti);
                emit_u(t, a);
                emit_u(t, v);
                t->h -= 2;
            }
            break;
        }
        case 0x28: case 0x29: case 0x2a: case 0x2b: case 0x2c: case 0x2d: case 0x2e:
        case 0x2f: case 0x30: case 0x31: case 0x32: case 0x33: case 0x34: case 0x35:
        case 0x36: case 0x37: case 0x38: case 0x39: case 0x3a: case 0x3b: case 0x3c:
        case 0x3d: case 0x3e: {
            uint32_t align = wasm_ru_u32(&p);
            if (align & 0x40)
                (void)wasm_ru_u32(&p);
            uint64_t off = wasm_ru_u64(&p);
            if (t->dead) break;
            count(t, true);   /* an i32.add just before may fuse */
            switch (opc) {
            case 0x28: tr_load(t, WOP_load32_u, off, 4); break;
            case 0x29: tr_load(t, WOP_load64, off, 8); break;
            case 0x2a: tr_load(t, WOP_load32_u, off, 4); break;
            case 0x2b: tr_load(t, WOP_load64, off, 8); break;
            case 0x2c: tr_load(t, WOP_load8_s32, off, 1); break;
            case 0x2d: tr_load(t, WOP_load8_u, off, 1); break;
            case 0x2e: tr_load(t, WOP_load16_s32, off, 2); break;
            case 0x2f: tr_load(t, WOP_load16_u, off, 2); break;
            case 0x30: tr_load(t, WOP_load8_s64, off, 1); break;
            case 0x31: tr_load(t, WOP_load8_u, off, 1); break;
            case 0x32: tr_load(t, WOP_load16_s64, off, 2); break;
            case 0x33: tr_load(t, WOP_load16_u, off, 2); break;
            case 0x34: tr_load(t, WOP_load32_s64, off, 4); break;
            case 0x35: tr_load(t, WOP_load32_u, off, 4); break;
            case 0x36: tr_store(t, WOP_store32, off, 4); break;
            case 0x37: tr_store(t, WOP_store64, off, 8); break;
            case 0x38: tr_store(t, WOP_store32, off, 4); break;
            case 0x39: tr_store(t, WOP_store64, off, 8); break;
            case 0x3a: tr_store(t, WOP_store8, off, 1); break;
            case 0x3b: tr_store(t, WOP_store16, off, 2); break;
            case 0x3c: tr_store(t, WOP_store8, off, 1); break;
            case 0x3d: tr_store(t, WOP_store16, off, 2); break;
            case 0x3e: tr_store(t, WOP_store32, off, 4); break;
            }
            break;
        }
        case 0x3f: case 0x40: { /* memory.size, memory.grow */
            (void)wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            if (opc == 0x3f) {
                emit_h(t, WOP_memory_size);
                emit_dst(t, t->h);
                push_stk(t);
            } else {
                uint64_t a = use(t, t->h - 1);
                emit_h(t, WOP_memory_grow);
                emit_dst(t, t->h - 1);
                emit_u(t, a);
                t->h--;
                push_stk(t);
            }
            break;
        }
        case 0x41: { int32_t v = wasm_ru_s32(&p); if (t->dead) break; count(t, false); push(t, V_CONST, 0, (uint32_t)v); break; }
        case 0x42: { int64_t v = wasm_ru_s64(&p); if (t->dead) break; count(t, false); push(t, V_CONST, 0, (uint64_t)v); break; }
        case 0x43: { uint32_t v = wasm_ru_f32(&p); if (t->dead) break; count(t, false); push(t, V_CONST, 0, v); break; }
        case 0x44: { uint64_t v = wasm_ru_f64(&p); if (t->dead) break; count(t, false); push(t, V_CONST, 0, v); break; }
        case 0xd0: /* ref.null t */
            p++;
            if (t->dead) break;
            count(t, false);
            push(t, V_CONST, 0, 0);
            break;
        case 0xd1: /* ref.is_null */
            if (t->dead) break;
            count(t, false);
            tr_unop(t, WOP_ref_is_null);
            break;
        case 0xd2: { /* ref.func */
            uint32_t fi = wasm_ru_u32(&p);
            if (t->dead) break;
            count(t, false);
            emit_h(t, WOP_ref_func);
            emit_dst(t, t->h);
            emit_u(t, fi);
            push_stk(t);
            break;
        }
        case 0xfc: {
            uint32_t sub = wasm_ru_u32(&p);
            uint32_t i1 = 0, i2 = 0;
            switch (sub) {
            case 8: i1 = wasm_ru_u32(&p); (void)wasm_ru_u32(&p); break;  /* memory.init seg mem */
            case 9: i1 = wasm_ru_u32(&p); break;                          /* data.drop */
            case 10: (void)wasm_ru_u32(&p); (void)wasm_ru_u32(&p); break; /* memory.copy */
            case 11: (void)wasm_ru_u32(&p); break;                        /* memory.fill */
            case 12: i1 = wasm_ru_u32(&p); i2 = wasm_ru_u32(&p); break;   /* table.init seg table */
            case 13: i1 = wasm_ru_u32(&p); break;                         /* elem.drop */
            case 14: i1 = wasm_ru_u32(&p); i2 = wasm_ru_u32(&p); break;   /* table.copy dst src */
            case 15: case 16: case 17: i1 = wasm_ru_u32(&p); break;       /* table.grow/size/fill */
            default: break;
            }
            if (t->dead) break;
            count(t, false);
            if (sub < 8) {
                tr_unop(t, SAT_OPS[sub]);
                break;
            }
            switch (sub) {
            case 8: case 10: case 11: case 12: case 14: case 17: {
                uint64_t cc3 = use(t, t->h - 1);
                uint64_t bb = use(t, t->h - 2);
                uint64_t aa = use(t, t->h - 3);
                int op = sub == 8 ? WOP_memory_init : sub == 10 ? WOP_memory_copy :
                         sub == 11 ? WOP_memory_fill : sub == 12 ? WOP_table_init :
                         sub == 14 ? WOP_table_copy : WOP_table_fill;
                emit_h(t, op);
                if (sub == 8) {
                    emit_u(t, i1);
                } else if (sub == 12) {
                    emit_u(t, i2);
                    emit_u(t, i1);
                } else if (sub == 14) {
                    emit_u(t, i1);
                    emit_u(t, i2);
                } else if (sub == 17) {
                    emit_u(t, i1);
                }
                emit_u(t, aa);
                emit_u(t, bb);
                emit_u(t, cc3);
                t->h -= 3;
                break;
            }
            case 9:
                emit_h(t, WOP_data_drop);
                emit_u(t, i1);
                break;
            case 13:
                emit_h(t, WOP_elem_drop);
                emit_u(t, i1);
                break;
            case 15: {
                uint64_t nn = use(t, t->h - 1);
                uint64_t iv = use(t, t->h - 2);
                emit_h(t, WOP_table_grow);
                emit_dst(t, t->h - 2);
                emit_u(t, i1);
                emit_u(t, iv);
                emit_u(t, nn);
                t->h -= 2;
                push_stk(t);
                break;
            }
            case 16:
                emit_h(t, WOP_table_size);
                emit_dst(t, t->h);
                emit_u(t, i1);
                push_stk(t);
                break;
            default:
                return ao_err_set(err, AO_EUNSUPPORTED, "wasm: unsupported instruction 0xfc %u", sub);
            }
            break;
        }
        default: {
            const opinfo *oi = &OPS[opc];
            if (oi->kind == 0)
                return ao_err_set(err, AO_EUNSUPPORTED, "wasm: unsupported opcode 0x%02x", opc);
            if (t->dead) break;
            count(t, true);   /* eqz/add may fold the instruction just before */
            if (oi->kind == 3)
                tr_unop(t, oi->op);
            else if (oi->kind == 4)
                ; /* bits stay as they are (zero-extended i32 / reinterpret) */
            else
                tr_binop(t, oi);
            break;
        }
        }
    }
    if (t->oom)
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory translating function %u", fidx);
    gas_end(t);
    for (size_t i = 0; i < t->ntfix; i++)
        t->code[t->tfix[i]].t = t->code + t->code[t->tfix[i]].u;
    out->code = malloc(t->n * sizeof(wcode));
    if (!out->code)
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory translating function %u", fidx);
    /* targets point into t->code: rebase while copying */
    memcpy(out->code, t->code, t->n * sizeof(wcode));
    for (size_t i = 0; i < t->ntfix; i++)
        out->code[t->tfix[i]].t = out->code + (t->code[t->tfix[i]].t - t->code);
    out->code_len = t->n;
    if (t->n >= 2 && out->code[0].h == t->H[WOP_gas]) {
        out->entry = out->code + 2;
        out->entry_gas = out->code[1].u;
    } else {
        out->entry = out->code;
        out->entry_gas = 0;
    }
    out->nparams = ft->nparams;
    out->nlocals = c->nlocals;
    out->nresults = ft->nresults;
    uint32_t fs = t->base + c->max_stack + 1;
    out->frame_slots = fs > ft->nresults ? fs : ft->nresults;
    out->funcidx = fidx;
    out->type = ft;
    return AO_OK;
}

static void back_free(wasm_module *m)
{
    wasm_back *b = m->back;
    if (!b)
        return;
    for (uint32_t i = 0; i < b->nfns; i++)
        free(b->fns[i].code);
    free(b->fns);
    free(b);
    m->back = NULL;
}

static pthread_once_t opinfo_once = PTHREAD_ONCE_INIT;

int wasm__translate(wasm_module *m, ao_error *err)
{
    pthread_once(&opinfo_once, opinfo_init);
    wasm_back *b = calloc(1, sizeof *b);
    if (!b)
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
    b->nfns = m->ncode;
    b->fns = calloc(m->ncode ? m->ncode : 1, sizeof *b->fns);
    if (!b->fns) {
        free(b);
        return ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
    }
    m->back = b;
    m->back_free = back_free;
    tr t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.back = b;
    t.H = wasm__handlers();
    int rc = AO_OK;
    for (uint32_t i = 0; i < m->ncode && rc == AO_OK; i++)
        rc = translate_fn(&t, m->nfuncs_imported + i, &b->fns[i], err);
    free(t.code);
    free(t.tfix);
    free(t.vs);
    free(t.cs);
    free(t.pend);
    return rc;
}

/* Gas sites of defined function fidx for the compiled tier: the function is
 * translated again with every gas word recorded (and without the two
 * shortcuts that move a run's charge from its head into the branches that
 * enter it, so each `gas` head is charged wherever it is entered). */
int wasm__gas_sites(const wasm_module *m, uint32_t fidx, wasm_gas_site **out, size_t *nout,
                    ao_error *err)
{
    pthread_once(&opinfo_once, opinfo_init);
    *out = NULL;
    *nout = 0;
    tr t;
    memset(&t, 0, sizeof t);
    t.m = m;
    t.back = m->back;
    t.H = wasm__handlers();
    t.rec = true;
    wfn fn;
    memset(&fn, 0, sizeof fn);
    int rc = translate_fn(&t, fidx, &fn, err);
    if (rc == AO_OK) {
        wasm_gas_site *gs = malloc((t.nrs ? t.nrs : 1) * sizeof *gs);
        if (!gs) {
            rc = ao_err_set(err, AO_ENOMEM, "wasm: out of memory");
        } else {
            for (size_t i = 0; i < t.nrs; i++)
                gs[i] = (wasm_gas_site){t.rs[i].off, t.rs[i].tag, t.code[t.rs[i].word].u};
            *out = gs;
            *nout = t.nrs;
        }
    }
    free(fn.code);
    free(t.code);
    free(t.tfix);
    free(t.vs);
    free(t.cs);
    free(t.pend);
    free(t.rs);
    return rc;
}
