/*
 * interp.c - the engine's interpreter: executes the direct-threaded slot
 * code made by translate.c (computed goto, one handler address per
 * instruction). wasm->wasm calls never recurse on the C stack: frames live
 * in the store's frame array and values in its value stack. Host functions
 * are called from here and may re-enter wasm through wasm_func_call.
 */
#include "wasm/wasm_internal.h"
#include "wasm/wasm_num.h"
#include "wasm/wasm_ops.h"

#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)

static inline uint64_t val_bits(const wasm_val *v)
{
    switch (v->type) {
    case WASM_I32: case WASM_F32: return v->of.i32;
    case WASM_FUNCREF: return (uint64_t)(uintptr_t)v->of.func;
    case WASM_EXTERNREF: return (uint64_t)(uintptr_t)v->of.ext;
    default: return v->of.i64;
    }
}

static inline void bits_val(uint8_t type, uint64_t b, wasm_val *v)
{
    memset(v, 0, sizeof *v);
    v->type = type;
    switch (type) {
    case WASM_I32: case WASM_F32: v->of.i32 = (uint32_t)b; break;
    case WASM_FUNCREF: v->of.func = (wasm_func *)(uintptr_t)b; break;
    case WASM_EXTERNREF: v->of.ext = (void *)(uintptr_t)b; break;
    default: v->of.i64 = b; break;
    }
}

int wasm__call_host(wasm_store *s, wasm_func *f, wasm_instance *caller, uint64_t *slots,
                    wasm_trap *trap)
{
    const wasm_functype *ft = f->type;
    wasm_val abuf[8], rbuf[8];
    wasm_val *av = ft->nparams <= 8 ? abuf : malloc(ft->nparams * sizeof *av);
    wasm_val *rv = ft->nresults <= 8 ? rbuf : malloc(ft->nresults * sizeof *rv);
    if (!av || !rv) {
        if (av != abuf) free(av);
        if (rv != rbuf) free(rv);
        wasm__trap_set(trap, WASM_TRAP_OUT_OF_MEMORY, NULL);
        return WASM_TRAP_OUT_OF_MEMORY;
    }
    for (uint32_t i = 0; i < ft->nparams; i++)
        bits_val(ft->params[i], slots[i], &av[i]);
    for (uint32_t i = 0; i < ft->nresults; i++)
        bits_val(ft->results[i], 0, &rv[i]);
    wasm_call_ctx ctx = {s, caller, trap};
    trap->code = WASM_TRAP_NONE;
    s->host_nesting++;
    int rc = f->host(&ctx, f->user, av, rv);
    s->host_nesting--;
    if (rc != 0) {
        if (trap->code == WASM_TRAP_NONE) {
            wasm_trap_code c = (rc > 0 && rc <= WASM_TRAP_HOST) ? (wasm_trap_code)rc : WASM_TRAP_HOST;
            wasm__trap_set(trap, c, NULL);
        }
        rc = trap->code;
    } else {
        for (uint32_t i = 0; i < ft->nresults; i++) {
            uint64_t b = val_bits(&rv[i]);
            if (ft->results[i] == WASM_I32 || ft->results[i] == WASM_F32)
                b = (uint32_t)b;
            slots[i] = b;
        }
    }
    if (av != abuf) free(av);
    if (rv != rbuf) free(rv);
    return rc;
}

static int grow_frames(wasm_store *s)
{
    uint32_t nc = s->frames_cap ? s->frames_cap * 2 : 256;
    wframe *n = realloc(s->frames, nc * sizeof *n);
    if (!n)
        return -1;
    s->frames = n;
    s->frames_cap = nc;
    return 0;
}

static const void *handler_table[WOP__COUNT];

static uint32_t FLIM_INIT(const wasm_store *s)
{
    return s->frames_cap < s->max_depth - 1 ? s->frames_cap : s->max_depth - 1;
}

static int run(wasm_store *s, const wfn *entry, wasm_instance *entry_inst, uint64_t *entry_fp,
               wasm_trap *trap, int init)
{
    if (UNLIKELY(init)) {
#define X(n) handler_table[WOP_##n] = &&L_##n;
        WASM_OTHER_OPS(X)
        WASM_IBIN_OPS(X)
        WASM_BIN_OPS(X)
        WASM_UN_OPS(X)
        WASM_MEM_OPS(X)
#undef X
#define X(n) handler_table[WOP_##n##_i] = &&L_##n##_i;
        WASM_IBIN_OPS(X)
#undef X
#define X(n) handler_table[WOP_brc_##n] = &&L_brc_##n; handler_table[WOP_brc_##n##_i] = &&L_brc_##n##_i;
        WASM_BRC_OPS(X)
#undef X
#define X(n) handler_table[WOP_##n##_x] = &&L_##n##_x; handler_table[WOP_##n##_xs] = &&L_##n##_xs; \
        handler_table[WOP_##n##_k] = &&L_##n##_k; handler_table[WOP_##n##_xi] = &&L_##n##_xi;
        WASM_MEM_OPS(X)
#undef X
        return 0;
    }

    const uint32_t base_frames = s->nframes;
    uint32_t nfr = base_frames;             /* s->nframes, synced at host calls */
    uint32_t flim = FLIM_INIT(s);           /* fast-path bound on nfr */
    uint64_t *const send = s->stack_end;
    uint64_t mepoch = 0;                    /* s->mem_epoch when mb/msz were loaded */
    const wcode *ip = entry->code;
    char *fp = (char *)entry_fp;
    wasm_instance *inst = entry_inst;
    uint8_t *mb = NULL;
    uint64_t msz = 0;
    /* gas as a countdown: gas_left of the limit remains; used = gas_base +
     * (gas_left0 - gas_left) */
    uint64_t gas_base, gas_left0, gas_left;
    wasm_trap_code tc = WASM_TRAP_NONE;
    const char *tmsg = NULL;
    wasm_func *cf;
    char *nfp;
    const wcode *retip;

#define GAS_LOAD() do { gas_base = s->gas_used; \
        gas_left0 = gas_base <= s->gas_limit ? s->gas_limit - gas_base : 0; \
        gas_left = gas_left0; } while (0)
#define GAS_USED() (gas_base + (gas_left0 - gas_left))
#define LOAD_MEM() do { wasm_memory *m0_ = inst->mem0; mepoch = s->mem_epoch; \
        if (m0_) { mb = m0_->data; msz = m0_->size; } else { mb = NULL; msz = 0; } } while (0)
#define NEXT() goto *ip->h
#define S(n) (*(uint64_t *)(fp + ip[n].u))
#define IMM(n) (ip[n].u)
#define TRAP(c) do { tc = (c); goto trapped; } while (0)
#define TRAPM(c, m) do { tc = (c); tmsg = (m); goto trapped; } while (0)

    GAS_LOAD();
    LOAD_MEM();
    memset(fp + entry->nparams * 8, 0, (size_t)entry->nlocals * 8);
    NEXT();

    /* ---- control ---- */
L_unreachable:
    TRAP(WASM_TRAP_UNREACHABLE);
L_trap_oob:
    TRAP(WASM_TRAP_MEMORY_OOB);
L_gas:
    if (UNLIKELY(IMM(1) > gas_left)) {
        gas_base += IMM(1);
        TRAP(WASM_TRAP_OUT_OF_GAS);
    }
    gas_left -= IMM(1);
    ip += 2;
    NEXT();
#define CHARGE(n) do { uint64_t n_ = (n); if (UNLIKELY(n_ > gas_left)) { gas_base += n_; \
        TRAP(WASM_TRAP_OUT_OF_GAS); } gas_left -= n_; } while (0)
/* conditional branch with the target at operand k: T, gt, gf follow */
#define COND_BR(c, k) do { if (c) { CHARGE(IMM((k) + 1)); ip = ip[k].t; } \
        else { CHARGE(IMM((k) + 2)); ip += (k) + 3; } NEXT(); } while (0)
L_br:
    CHARGE(IMM(2));
    ip = ip[1].t;
    NEXT();
L_br_if:
    COND_BR((uint32_t)S(1), 2);
L_br_unless:
    COND_BR(!(uint32_t)S(1), 2);
L_br_if64:
    COND_BR(S(1), 2);
L_br_unless64:
    COND_BR(!S(1), 2);
#define BRC32(name, expr) \
    L_brc_##name: { uint32_t a = (uint32_t)S(1), b = (uint32_t)S(2); COND_BR(expr, 3); } \
    L_brc_##name##_i: { uint32_t a = (uint32_t)S(1), b = (uint32_t)IMM(2); COND_BR(expr, 3); }
#define BRC64(name, expr) \
    L_brc_##name: { uint64_t a = S(1), b = S(2); COND_BR(expr, 3); } \
    L_brc_##name##_i: { uint64_t a = S(1), b = IMM(2); COND_BR(expr, 3); }
    BRC32(i32_eq, a == b)
    BRC32(i32_ne, a != b)
    BRC32(i32_lt_s, (int32_t)a < (int32_t)b)
    BRC32(i32_lt_u, a < b)
    BRC32(i32_gt_s, (int32_t)a > (int32_t)b)
    BRC32(i32_gt_u, a > b)
    BRC32(i32_le_s, (int32_t)a <= (int32_t)b)
    BRC32(i32_le_u, a <= b)
    BRC32(i32_ge_s, (int32_t)a >= (int32_t)b)
    BRC32(i32_ge_u, a >= b)
    BRC64(i64_eq, a == b)
    BRC64(i64_ne, a != b)
    BRC64(i64_lt_s, (int64_t)a < (int64_t)b)
    BRC64(i64_lt_u, a < b)
    BRC64(i64_gt_s, (int64_t)a > (int64_t)b)
    BRC64(i64_gt_u, a > b)
    BRC64(i64_le_s, (int64_t)a <= (int64_t)b)
    BRC64(i64_le_u, a <= b)
    BRC64(i64_ge_s, (int64_t)a >= (int64_t)b)
    BRC64(i64_ge_u, a >= b)
L_br_table: {
    uint64_t i = (uint32_t)S(1), n = IMM(2);
    if (i > n)
        i = n;
    ip = ip[3 + i].t;
    NEXT();
}
#define FLIM() (s->frames_cap < s->max_depth - 1 ? s->frames_cap : s->max_depth - 1)
/* Push the caller's frame before entering a callee whose frame at nfp
 * needs nslots; traps on call-stack exhaustion. */
#define PUSH_FRAME(retp, nslots) do { \
        if (UNLIKELY(nfr >= flim || (uint64_t *)nfp + (nslots) > send)) { \
            if (nfr + 1 >= s->max_depth || (uint64_t *)nfp + (nslots) > send) \
                TRAP(WASM_TRAP_STACK_EXHAUSTED); \
            if (nfr >= s->frames_cap && grow_frames(s)) \
                TRAP(WASM_TRAP_OUT_OF_MEMORY); \
            flim = FLIM(); \
        } \
        wframe *fr_ = &s->frames[nfr++]; \
        fr_->ret = (retp); \
        fr_->fp = (uint64_t *)fp; \
        fr_->inst = inst; \
    } while (0)
#define ZERO_LOCALS(callee) do { \
        uint64_t *lp_ = (uint64_t *)nfp + (callee)->nparams; \
        for (uint32_t k_ = (callee)->nlocals; k_; k_--) { \
            *lp_++ = 0; \
            __asm__("" ::: "memory");   /* a short loop, not a memset call */ \
        } \
    } while (0)
L_call: {
    const wfn *callee = ip[1].fn;
    nfp = fp + IMM(2);
    PUSH_FRAME(ip + 3, callee->frame_slots);
    ZERO_LOCALS(callee);
    fp = nfp;
    CHARGE(callee->entry_gas);
    ip = callee->entry;
    NEXT();
}
L_call_import:
    cf = inst->funcs[IMM(1)];
    nfp = fp + IMM(2);
    retip = ip + 3;
    goto generic_call;
L_call_indirect: {
    wasm_table *t = inst->tables[IMM(1)];
    uint64_t i = S(3);
    if (UNLIKELY(i >= t->size))
        TRAPM(WASM_TRAP_TABLE_OOB, "undefined element");
    cf = t->elems[i];
    if (UNLIKELY(!cf))
        TRAP(WASM_TRAP_UNINITIALIZED);
    if (UNLIKELY(cf->type != ip[2].ft && !wasm__functype_eq(cf->type, ip[2].ft)))
        TRAP(WASM_TRAP_INDIRECT_TYPE);
    nfp = fp + IMM(4);
    retip = ip + 5;
    goto generic_call;
}
generic_call:
    if (cf->host) {
        /* the host call counts as a frame; slots above its arguments and
         * results are free for nested calls */
        if (UNLIKELY(nfr + 1 >= s->max_depth))
            TRAP(WASM_TRAP_STACK_EXHAUSTED);
        s->nframes = nfr + 1;
        const wasm_functype *hft = cf->type;
        uint64_t *osp = s->sp;
        uint64_t *top = (uint64_t *)nfp + (hft->nparams > hft->nresults ? hft->nparams : hft->nresults);
        if (top > s->sp)
            s->sp = top;
        s->gas_used = GAS_USED();
        int rc = wasm__call_host(s, cf, inst, (uint64_t *)nfp, trap);
        s->sp = osp;
        s->nframes = nfr;
        flim = FLIM();
        GAS_LOAD();
        LOAD_MEM();
        if (rc) {
            tc = (wasm_trap_code)rc;
            goto trapped_filled;
        }
        ip = retip;
        NEXT();
    } else {
        const wfn *callee = cf->fn;
        PUSH_FRAME(retip, callee->frame_slots);
        ZERO_LOCALS(callee);
        fp = nfp;
        if (cf->inst != inst) {
            inst = cf->inst;
            LOAD_MEM();
        }
        CHARGE(callee->entry_gas);
        ip = callee->entry;
        NEXT();
    }
L_ret: {
    if (nfr == base_frames)
        goto done;
    wframe *fr = &s->frames[--nfr];
    ip = fr->ret;
    fp = (char *)fr->fp;
    if (UNLIKELY(fr->inst != inst || s->mem_epoch != mepoch)) {
        inst = fr->inst;
        LOAD_MEM();
    }
    NEXT();
}
L_copy:
    S(1) = S(2);
    ip += 3;
    NEXT();
L_i32_add_shl:
    S(1) = (uint32_t)(S(2) + ((uint32_t)S(3) << IMM(4)));
    ip += 5;
    NEXT();
L_copy2:
    S(1) = S(2);
    S(3) = S(4);
    ip += 5;
    NEXT();
L_const:
    S(1) = IMM(2);
    ip += 3;
    NEXT();
L_select:
    S(1) = (uint32_t)S(4) ? S(2) : S(3);
    ip += 5;
    NEXT();
L_global_get:
    S(1) = inst->globals[IMM(2)]->v;
    ip += 3;
    NEXT();
L_global_set:
    inst->globals[IMM(1)]->v = S(2);
    ip += 3;
    NEXT();
L_ref_func:
    S(1) = (uint64_t)(uintptr_t)inst->funcs[IMM(2)];
    ip += 3;
    NEXT();

    /* ---- tables ---- */
L_table_get: {
    wasm_table *t = inst->tables[IMM(2)];
    uint64_t i = S(3);
    if (UNLIKELY(i >= t->size))
        TRAP(WASM_TRAP_TABLE_OOB);
    S(1) = (uint64_t)(uintptr_t)t->elems[i];
    ip += 4;
    NEXT();
}
L_table_set: {
    wasm_table *t = inst->tables[IMM(1)];
    uint64_t i = S(2);
    if (UNLIKELY(i >= t->size))
        TRAP(WASM_TRAP_TABLE_OOB);
    t->elems[i] = (void *)(uintptr_t)S(3);
    t->epoch++;
    ip += 4;
    NEXT();
}
L_table_size:
    S(1) = inst->tables[IMM(2)]->size;
    ip += 3;
    NEXT();
L_table_grow: {
    wasm_table *t = inst->tables[IMM(2)];
    int64_t r = wasm__table_grow(t, S(4), (void *)(uintptr_t)S(3));
    S(1) = r < 0 ? (t->lim.is64 ? ~0ull : 0xffffffffull) : (uint64_t)r;
    ip += 5;
    NEXT();
}
L_table_fill: {
    wasm_table *t = inst->tables[IMM(1)];
    uint64_t i = S(2), n = S(4);
    void *v = (void *)(uintptr_t)S(3);
    if (UNLIKELY(i > t->size || n > t->size - i))
        TRAP(WASM_TRAP_TABLE_OOB);
    CHARGE(n >> 3);   /* bulk weight, docs/wasm.md */
    for (uint64_t k = 0; k < n; k++)
        t->elems[i + k] = v;
    t->epoch++;
    ip += 5;
    NEXT();
}
L_table_copy: {
    wasm_table *td = inst->tables[IMM(1)], *ts = inst->tables[IMM(2)];
    uint64_t d = S(3), sr = S(4), n = S(5);
    if (UNLIKELY(d > td->size || n > td->size - d || sr > ts->size || n > ts->size - sr))
        TRAP(WASM_TRAP_TABLE_OOB);
    CHARGE(n >> 3);   /* bulk weight, docs/wasm.md */
    if (n)
        memmove(td->elems + d, ts->elems + sr, (size_t)n * sizeof(void *));
    td->epoch++;
    ip += 6;
    NEXT();
}
L_table_init: {
    wasm_table *t = inst->tables[IMM(1)];
    uint64_t seg = IMM(2);
    uint64_t d = S(3), sr = S(4), n = S(5);
    uint64_t len = inst->elem_len[seg];
    if (UNLIKELY(d > t->size || n > t->size - d || sr > len || n > len - sr))
        TRAP(WASM_TRAP_TABLE_OOB);
    CHARGE(n >> 3);   /* bulk weight, docs/wasm.md */
    if (n)
        memcpy(t->elems + d, inst->elem_items[seg] + sr, (size_t)n * sizeof(void *));
    t->epoch++;
    ip += 6;
    NEXT();
}
L_elem_drop:
    inst->elem_len[IMM(1)] = 0;
    ip += 2;
    NEXT();

    /* ---- memory ---- */
L_memory_size:
    S(1) = inst->mem0->pages;
    ip += 2;
    NEXT();
L_memory_grow: {
    wasm_memory *m0 = inst->mem0;
    uint64_t delta = S(2);
    int64_t r = wasm_memory_grow(m0, delta);
    S(1) = r < 0 ? (m0->lim.is64 ? ~0ull : 0xffffffffull) : (uint64_t)r;
    LOAD_MEM();
    ip += 3;
    NEXT();
}
L_memory_fill: {
    uint64_t d = S(1), n = S(3);
    if (UNLIKELY(d > msz || n > msz - d))
        TRAP(WASM_TRAP_MEMORY_OOB);
    CHARGE(n >> 6);   /* bulk weight, docs/wasm.md */
    if (n)
        memset(mb + d, (int)(uint8_t)S(2), (size_t)n);
    ip += 4;
    NEXT();
}
L_memory_copy: {
    uint64_t d = S(1), sr = S(2), n = S(3);
    if (UNLIKELY(d > msz || n > msz - d || sr > msz || n > msz - sr))
        TRAP(WASM_TRAP_MEMORY_OOB);
    CHARGE(n >> 6);   /* bulk weight, docs/wasm.md */
    if (n)
        memmove(mb + d, mb + sr, (size_t)n);
    ip += 4;
    NEXT();
}
L_memory_init: {
    uint64_t seg = IMM(1);
    uint64_t d = S(2), sr = S(3), n = S(4);
    const wasm_data *ds = &inst->m->datas[seg];
    uint64_t len = inst->data_dropped[seg] ? 0 : ds->len;
    if (UNLIKELY(d > msz || n > msz - d || sr > len || n > len - sr))
        TRAP(WASM_TRAP_MEMORY_OOB);
    CHARGE(n >> 6);   /* bulk weight, docs/wasm.md */
    if (n)
        memcpy(mb + d, ds->bytes + sr, (size_t)n);
    ip += 5;
    NEXT();
}
L_data_drop:
    inst->data_dropped[IMM(1)] = 1;
    ip += 2;
    NEXT();

#define EA(n, sz) uint64_t a_ = S(n), e_ = a_ + IMM(3); \
    if (UNLIKELY(e_ < a_ || e_ > msz)) TRAP(WASM_TRAP_MEMORY_OOB); \
    uint8_t *p_ = mb + e_ - (sz)
#define EAX(na, nb, sz) uint64_t e_ = (uint64_t)(uint32_t)(S(na) + S(nb)) + IMM(4); \
    if (UNLIKELY(e_ > msz)) TRAP(WASM_TRAP_MEMORY_OOB); \
    uint8_t *p_ = mb + e_ - (sz)
#define EAXI(na, nk, sz) uint64_t e_ = (uint64_t)(uint32_t)(S(na) + IMM(nk)) + IMM(4); \
    if (UNLIKELY(e_ > msz)) TRAP(WASM_TRAP_MEMORY_OOB); \
    uint8_t *p_ = mb + e_ - (sz)
#define EAK(n, sz) uint64_t e_ = IMM(n); \
    if (UNLIKELY(e_ > msz)) TRAP(WASM_TRAP_MEMORY_OOB); \
    uint8_t *p_ = mb + e_ - (sz)
#define EAXS(na, nx, sz) uint64_t o_ = IMM(4); \
    uint64_t e_ = (uint64_t)(uint32_t)(S(na) + ((uint32_t)S(nx) << (o_ >> 59))) + \
                  (o_ & ((1ull << 59) - 1)); \
    if (UNLIKELY(e_ > msz)) TRAP(WASM_TRAP_MEMORY_OOB); \
    uint8_t *p_ = mb + e_ - (sz)
#define LOAD(name, T, sz, conv) \
    L_##name: { EA(2, sz); T v_; memcpy(&v_, p_, sz); S(1) = (conv); ip += 4; NEXT(); } \
    L_##name##_x: { EAX(2, 3, sz); T v_; memcpy(&v_, p_, sz); S(1) = (conv); ip += 5; NEXT(); } \
    L_##name##_xs: { EAXS(2, 3, sz); T v_; memcpy(&v_, p_, sz); S(1) = (conv); ip += 5; NEXT(); } \
    L_##name##_k: { EAK(2, sz); T v_; memcpy(&v_, p_, sz); S(1) = (conv); ip += 3; NEXT(); } \
    L_##name##_xi: { EAXI(2, 3, sz); T v_; memcpy(&v_, p_, sz); S(1) = (conv); ip += 5; NEXT(); }
#define STORE(name, T, sz) \
    L_##name: { EA(1, sz); T v_ = (T)S(2); memcpy(p_, &v_, sz); ip += 4; NEXT(); } \
    L_##name##_x: { EAX(1, 2, sz); T v_ = (T)S(3); memcpy(p_, &v_, sz); ip += 5; NEXT(); } \
    L_##name##_xs: { EAXS(1, 2, sz); T v_ = (T)S(3); memcpy(p_, &v_, sz); ip += 5; NEXT(); } \
    L_##name##_k: { EAK(2, sz); T v_ = (T)S(1); memcpy(p_, &v_, sz); ip += 3; NEXT(); } \
    L_##name##_xi: { EAXI(1, 2, sz); T v_ = (T)S(3); memcpy(p_, &v_, sz); ip += 5; NEXT(); }
    LOAD(load8_s32, int8_t, 1, (uint32_t)(int32_t)v_)
    LOAD(load8_s64, int8_t, 1, (uint64_t)(int64_t)v_)
    LOAD(load8_u, uint8_t, 1, v_)
    LOAD(load16_s32, int16_t, 2, (uint32_t)(int32_t)v_)
    LOAD(load16_s64, int16_t, 2, (uint64_t)(int64_t)v_)
    LOAD(load16_u, uint16_t, 2, v_)
    LOAD(load32_s64, int32_t, 4, (uint64_t)(int64_t)v_)
    LOAD(load32_u, uint32_t, 4, v_)
    LOAD(load64, uint64_t, 8, v_)
    STORE(store8, uint8_t, 1)
    STORE(store16, uint16_t, 2)
    STORE(store32, uint32_t, 4)
    STORE(store64, uint64_t, 8)

    /* ---- integer binary operators (slot and immediate forms) ---- */
#define IB32(name, expr) \
    L_##name: { uint32_t a = (uint32_t)S(2), b = (uint32_t)S(3); S(1) = (uint32_t)(expr); ip += 4; NEXT(); } \
    L_##name##_i: { uint32_t a = (uint32_t)S(2), b = (uint32_t)IMM(3); S(1) = (uint32_t)(expr); ip += 4; NEXT(); }
#define IB64(name, expr) \
    L_##name: { uint64_t a = S(2), b = S(3); S(1) = (uint64_t)(expr); ip += 4; NEXT(); } \
    L_##name##_i: { uint64_t a = S(2), b = IMM(3); S(1) = (uint64_t)(expr); ip += 4; NEXT(); }
    IB32(i32_add, a + b)
    IB32(i32_sub, a - b)
    IB32(i32_mul, a * b)
    IB32(i32_and, a & b)
    IB32(i32_or, a | b)
    IB32(i32_xor, a ^ b)
    IB32(i32_shl, a << (b & 31))
    IB32(i32_shr_s, (uint32_t)((int32_t)a >> (b & 31)))
    IB32(i32_shr_u, a >> (b & 31))
    IB32(i32_rotl, (a << (b & 31)) | (a >> ((32 - (b & 31)) & 31)))
    IB32(i32_rotr, (a >> (b & 31)) | (a << ((32 - (b & 31)) & 31)))
    IB32(i32_eq, a == b)
    IB32(i32_ne, a != b)
    IB32(i32_lt_s, (int32_t)a < (int32_t)b)
    IB32(i32_lt_u, a < b)
    IB32(i32_gt_s, (int32_t)a > (int32_t)b)
    IB32(i32_gt_u, a > b)
    IB32(i32_le_s, (int32_t)a <= (int32_t)b)
    IB32(i32_le_u, a <= b)
    IB32(i32_ge_s, (int32_t)a >= (int32_t)b)
    IB32(i32_ge_u, a >= b)
    IB64(i64_add, a + b)
    IB64(i64_sub, a - b)
    IB64(i64_mul, a * b)
    IB64(i64_and, a & b)
    IB64(i64_or, a | b)
    IB64(i64_xor, a ^ b)
    IB64(i64_shl, a << (b & 63))
    IB64(i64_shr_s, (uint64_t)((int64_t)a >> (b & 63)))
    IB64(i64_shr_u, a >> (b & 63))
    IB64(i64_rotl, (a << (b & 63)) | (a >> ((64 - (b & 63)) & 63)))
    IB64(i64_rotr, (a >> (b & 63)) | (a << ((64 - (b & 63)) & 63)))
    IB64(i64_eq, a == b)
    IB64(i64_ne, a != b)
    IB64(i64_lt_s, (int64_t)a < (int64_t)b)
    IB64(i64_lt_u, a < b)
    IB64(i64_gt_s, (int64_t)a > (int64_t)b)
    IB64(i64_gt_u, a > b)
    IB64(i64_le_s, (int64_t)a <= (int64_t)b)
    IB64(i64_le_u, a <= b)
    IB64(i64_ge_s, (int64_t)a >= (int64_t)b)
    IB64(i64_ge_u, a >= b)

    /* ---- division (slot and immediate forms) ---- */
#define DIV_PAIR(name, UT, ...) \
    L_##name: { UT a = (UT)S(2), b = (UT)S(3); __VA_ARGS__ } \
    L_##name##_i: { UT a = (UT)S(2), b = (UT)IMM(3); __VA_ARGS__ }
    DIV_PAIR(i32_div_s, uint32_t,
        int32_t x = (int32_t)a, y = (int32_t)b;
        if (UNLIKELY(y == 0)) TRAP(WASM_TRAP_DIV_ZERO);
        if (UNLIKELY(x == INT32_MIN && y == -1)) TRAP(WASM_TRAP_INT_OVERFLOW);
        S(1) = (uint32_t)(x / y); ip += 4; NEXT();)
    DIV_PAIR(i32_div_u, uint32_t,
        if (UNLIKELY(b == 0)) TRAP(WASM_TRAP_DIV_ZERO);
        S(1) = a / b; ip += 4; NEXT();)
    DIV_PAIR(i32_rem_s, uint32_t,
        int32_t x = (int32_t)a, y = (int32_t)b;
        if (UNLIKELY(y == 0)) TRAP(WASM_TRAP_DIV_ZERO);
        S(1) = y == -1 ? 0 : (uint32_t)(x % y); ip += 4; NEXT();)
    DIV_PAIR(i32_rem_u, uint32_t,
        if (UNLIKELY(b == 0)) TRAP(WASM_TRAP_DIV_ZERO);
        S(1) = a % b; ip += 4; NEXT();)
    DIV_PAIR(i64_div_s, uint64_t,
        int64_t x = (int64_t)a, y = (int64_t)b;
        if (UNLIKELY(y == 0)) TRAP(WASM_TRAP_DIV_ZERO);
        if (UNLIKELY(x == INT64_MIN && y == -1)) TRAP(WASM_TRAP_INT_OVERFLOW);
        S(1) = (uint64_t)(x / y); ip += 4; NEXT();)
    DIV_PAIR(i64_div_u, uint64_t,
        if (UNLIKELY(b == 0)) TRAP(WASM_TRAP_DIV_ZERO);
        S(1) = a / b; ip += 4; NEXT();)
    DIV_PAIR(i64_rem_s, uint64_t,
        int64_t x = (int64_t)a, y = (int64_t)b;
        if (UNLIKELY(y == 0)) TRAP(WASM_TRAP_DIV_ZERO);
        S(1) = y == -1 ? 0 : (uint64_t)(x % y); ip += 4; NEXT();)
    DIV_PAIR(i64_rem_u, uint64_t,
        if (UNLIKELY(b == 0)) TRAP(WASM_TRAP_DIV_ZERO);
        S(1) = a % b; ip += 4; NEXT();)

    /* ---- floating point binary ---- */
#define FB32(name, expr) \
    L_##name: { float a = wn_f32(S(2)), b = wn_f32(S(3)); S(1) = (expr); ip += 4; NEXT(); } \
    L_##name##_i: { float a = wn_f32(S(2)), b = wn_f32(IMM(3)); S(1) = (expr); ip += 4; NEXT(); }
#define FB64(name, expr) \
    L_##name: { double a = wn_f64(S(2)), b = wn_f64(S(3)); S(1) = (expr); ip += 4; NEXT(); } \
    L_##name##_i: { double a = wn_f64(S(2)), b = wn_f64(IMM(3)); S(1) = (expr); ip += 4; NEXT(); }
    FB32(f32_add, wn_r32(a + b))
    FB32(f32_sub, wn_r32(a - b))
    FB32(f32_mul, wn_r32(a * b))
    FB32(f32_div, wn_r32(a / b))
    FB32(f32_min, wn_r32(wn_fminf(a, b)))
    FB32(f32_max, wn_r32(wn_fmaxf(a, b)))
    FB32(f32_eq, (uint64_t)(a == b))
    FB32(f32_ne, (uint64_t)(a != b))
    FB32(f32_lt, (uint64_t)(a < b))
    FB32(f32_gt, (uint64_t)(a > b))
    FB32(f32_le, (uint64_t)(a <= b))
    FB32(f32_ge, (uint64_t)(a >= b))
    FB64(f64_add, wn_r64(a + b))
    FB64(f64_sub, wn_r64(a - b))
    FB64(f64_mul, wn_r64(a * b))
    FB64(f64_div, wn_r64(a / b))
    FB64(f64_min, wn_r64(wn_fmin(a, b)))
    FB64(f64_max, wn_r64(wn_fmax(a, b)))
    FB64(f64_eq, (uint64_t)(a == b))
    FB64(f64_ne, (uint64_t)(a != b))
    FB64(f64_lt, (uint64_t)(a < b))
    FB64(f64_gt, (uint64_t)(a > b))
    FB64(f64_le, (uint64_t)(a <= b))
    FB64(f64_ge, (uint64_t)(a >= b))
L_f32_copysign:
    S(1) = ((uint32_t)S(2) & 0x7fffffffu) | ((uint32_t)S(3) & 0x80000000u);
    ip += 4;
    NEXT();
L_f64_copysign:
    S(1) = (S(2) & 0x7fffffffffffffffull) | (S(3) & 0x8000000000000000ull);
    ip += 4;
    NEXT();

    /* ---- unary ---- */
#define UN(name, expr) L_##name: { uint64_t a = S(2); S(1) = (expr); ip += 3; NEXT(); }
    UN(i32_eqz, (uint32_t)a == 0)
    UN(i32_clz, (uint32_t)a ? (uint64_t)__builtin_clz((uint32_t)a) : 32)
    UN(i32_ctz, (uint32_t)a ? (uint64_t)__builtin_ctz((uint32_t)a) : 32)
    UN(i32_popcnt, (uint64_t)__builtin_popcount((uint32_t)a))
    UN(i32_extend8_s, (uint32_t)(int32_t)(int8_t)a)
    UN(i32_extend16_s, (uint32_t)(int32_t)(int16_t)a)
    UN(i64_eqz, a == 0)
    UN(i64_clz, a ? (uint64_t)__builtin_clzll(a) : 64)
    UN(i64_ctz, a ? (uint64_t)__builtin_ctzll(a) : 64)
    UN(i64_popcnt, (uint64_t)__builtin_popcountll(a))
    UN(i64_extend8_s, (uint64_t)(int64_t)(int8_t)a)
    UN(i64_extend16_s, (uint64_t)(int64_t)(int16_t)a)
    UN(i64_extend32_s, (uint64_t)(int64_t)(int32_t)a)
    UN(f32_abs, (uint32_t)a & 0x7fffffffu)
    UN(f32_neg, ((uint32_t)a ^ 0x80000000u))
    UN(f32_ceil, wn_r32(ceilf(wn_f32(a))))
    UN(f32_floor, wn_r32(floorf(wn_f32(a))))
    UN(f32_trunc, wn_r32(truncf(wn_f32(a))))
    UN(f32_nearest, wn_r32(nearbyintf(wn_f32(a))))
    UN(f32_sqrt, wn_r32(sqrtf(wn_f32(a))))
    UN(f64_abs, a & 0x7fffffffffffffffull)
    UN(f64_neg, a ^ 0x8000000000000000ull)
    UN(f64_ceil, wn_r64(ceil(wn_f64(a))))
    UN(f64_floor, wn_r64(floor(wn_f64(a))))
    UN(f64_trunc, wn_r64(trunc(wn_f64(a))))
    UN(f64_nearest, wn_r64(nearbyint(wn_f64(a))))
    UN(f64_sqrt, wn_r64(sqrt(wn_f64(a))))
    UN(i32_wrap_i64, (uint32_t)a)
    UN(i64_extend_i32_s, (uint64_t)(int64_t)(int32_t)(uint32_t)a)
    UN(f32_convert_i32_s, wn_r32((float)(int32_t)(uint32_t)a))
    UN(f32_convert_i32_u, wn_r32((float)(uint32_t)a))
    UN(f32_convert_i64_s, wn_r32((float)(int64_t)a))
    UN(f32_convert_i64_u, wn_r32((float)a))
    UN(f32_demote_f64, wn_r32((float)wn_f64(a)))
    UN(f64_convert_i32_s, wn_r64((double)(int32_t)(uint32_t)a))
    UN(f64_convert_i32_u, wn_r64((double)(uint32_t)a))
    UN(f64_convert_i64_s, wn_r64((double)(int64_t)a))
    UN(f64_convert_i64_u, wn_r64((double)a))
    UN(f64_promote_f32, wn_r64((double)wn_f32(a)))
    UN(i32_trunc_sat_f32_s, wn_sat_i32_s(wn_f32(a)))
    UN(i32_trunc_sat_f32_u, wn_sat_i32_u(wn_f32(a)))
    UN(i32_trunc_sat_f64_s, wn_sat_i32_s(wn_f64(a)))
    UN(i32_trunc_sat_f64_u, wn_sat_i32_u(wn_f64(a)))
    UN(i64_trunc_sat_f32_s, wn_sat_i64_s(wn_f32(a)))
    UN(i64_trunc_sat_f32_u, wn_sat_i64_u(wn_f32(a)))
    UN(i64_trunc_sat_f64_s, wn_sat_i64_s(wn_f64(a)))
    UN(i64_trunc_sat_f64_u, wn_sat_i64_u(wn_f64(a)))
    UN(ref_is_null, a == 0)

#define TRUNC(name, FT, getf, chk, conv) L_##name: { FT x = getf(S(2)); int c_ = chk(x); \
        if (UNLIKELY(c_)) TRAP(c_ == 1 ? WASM_TRAP_INVALID_CONVERSION : WASM_TRAP_INT_OVERFLOW); \
        S(1) = (conv); ip += 3; NEXT(); }
    TRUNC(i32_trunc_f32_s, float, wn_f32, wn_chk_i32_f32_s, (uint32_t)(int32_t)x)
    TRUNC(i32_trunc_f32_u, float, wn_f32, wn_chk_i32_f32_u, (uint32_t)x)
    TRUNC(i32_trunc_f64_s, double, wn_f64, wn_chk_i32_f64_s, (uint32_t)(int32_t)x)
    TRUNC(i32_trunc_f64_u, double, wn_f64, wn_chk_i32_f64_u, (uint32_t)x)
    TRUNC(i64_trunc_f32_s, float, wn_f32, wn_chk_i64_f32_s, (uint64_t)(int64_t)x)
    TRUNC(i64_trunc_f32_u, float, wn_f32, wn_chk_i64_f32_u, (uint64_t)x)
    TRUNC(i64_trunc_f64_s, double, wn_f64, wn_chk_i64_f64_s, (uint64_t)(int64_t)x)
    TRUNC(i64_trunc_f64_u, double, wn_f64, wn_chk_i64_f64_u, (uint64_t)x)

trapped:
    wasm__trap_set(trap, tc, tmsg);
trapped_filled:
    s->nframes = base_frames;
    s->gas_used = GAS_USED();
    return tc ? (int)tc : WASM_TRAP_HOST;
done:
    s->nframes = nfr;
    s->gas_used = GAS_USED();
    return 0;
}

static void init_handlers(void)
{
    run(NULL, NULL, NULL, NULL, NULL, 1);
}

const void *const *wasm__handlers(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, init_handlers);
    return handler_table;
}

int wasm__run(wasm_store *s, wasm_func *f, uint64_t *fp, wasm_trap *trap)
{
    if (f->host)
        return wasm__call_host(s, f, NULL, fp, trap);
    if (UNLIKELY(s->tier == WASM_TIER_COMPILED && !f->inst->aot && s->nframes == 0 &&
                 !f->inst->tier_pinned &&
                 f->inst->m->aot_bg_state &&
                 __atomic_load_n(f->inst->m->aot_bg_state, __ATOMIC_ACQUIRE) == 2))
        wasm__aot_tier_up(f->inst);
    if (f->inst->aot)
        return wasm__aot_run(s, f, fp, trap);
    if (s->nframes + 1 > s->max_depth || fp + f->fn->frame_slots > s->stack_end) {
        wasm__trap_set(trap, WASM_TRAP_STACK_EXHAUSTED, NULL);
        return WASM_TRAP_STACK_EXHAUSTED;
    }
    return run(s, f->fn, f->inst, fp, trap, 0);
}
