/*
 * wasm_ops.h - INTERNAL: the list of the interpreter's internal instructions
 * (X-macro), shared by the translator (translate.c) and the interpreter
 * (interp.c). Operands follow the handler word; "d", "a", "b", "c" are slot
 * operands (byte offsets from the frame base), "imm" an immediate, "T" a code
 * pointer. Binary operators named with suffix _i take their second operand
 * as an immediate.
 */
#ifndef AO_WASM_OPS_H
#define AO_WASM_OPS_H

/* Binary operators that also have an immediate form (_i: b is an immediate). */
#define WASM_IBIN_OPS(X) \
    X(i32_add) X(i32_sub) X(i32_mul) X(i32_and) X(i32_or) X(i32_xor) \
    X(i32_shl) X(i32_shr_s) X(i32_shr_u) X(i32_rotl) X(i32_rotr) \
    X(i32_eq) X(i32_ne) X(i32_lt_s) X(i32_lt_u) X(i32_gt_s) X(i32_gt_u) \
    X(i32_le_s) X(i32_le_u) X(i32_ge_s) X(i32_ge_u) \
    X(i64_add) X(i64_sub) X(i64_mul) X(i64_and) X(i64_or) X(i64_xor) \
    X(i64_shl) X(i64_shr_s) X(i64_shr_u) X(i64_rotl) X(i64_rotr) \
    X(i64_eq) X(i64_ne) X(i64_lt_s) X(i64_lt_u) X(i64_gt_s) X(i64_gt_u) \
    X(i64_le_s) X(i64_le_u) X(i64_ge_s) X(i64_ge_u) \
    X(f32_add) X(f32_sub) X(f32_mul) X(f32_div) X(f32_min) X(f32_max) \
    X(f32_eq) X(f32_ne) X(f32_lt) X(f32_gt) X(f32_le) X(f32_ge) \
    X(f64_add) X(f64_sub) X(f64_mul) X(f64_div) X(f64_min) X(f64_max) \
    X(f64_eq) X(f64_ne) X(f64_lt) X(f64_gt) X(f64_le) X(f64_ge) \
    X(i32_div_s) X(i32_div_u) X(i32_rem_s) X(i32_rem_u) \
    X(i64_div_s) X(i64_div_u) X(i64_rem_s) X(i64_rem_u)

/* Other binary operators: d, a, b. */
#define WASM_BIN_OPS(X) \
    X(f32_copysign) X(f64_copysign)

/* Unary operators: d, a. */
#define WASM_UN_OPS(X) \
    X(i32_eqz) X(i32_clz) X(i32_ctz) X(i32_popcnt) X(i32_extend8_s) X(i32_extend16_s) \
    X(i64_eqz) X(i64_clz) X(i64_ctz) X(i64_popcnt) X(i64_extend8_s) X(i64_extend16_s) \
    X(i64_extend32_s) \
    X(f32_abs) X(f32_neg) X(f32_ceil) X(f32_floor) X(f32_trunc) X(f32_nearest) X(f32_sqrt) \
    X(f64_abs) X(f64_neg) X(f64_ceil) X(f64_floor) X(f64_trunc) X(f64_nearest) X(f64_sqrt) \
    X(i32_wrap_i64) X(i32_trunc_f32_s) X(i32_trunc_f32_u) X(i32_trunc_f64_s) X(i32_trunc_f64_u) \
    X(i64_extend_i32_s) \
    X(i64_trunc_f32_s) X(i64_trunc_f32_u) X(i64_trunc_f64_s) X(i64_trunc_f64_u) \
    X(f32_convert_i32_s) X(f32_convert_i32_u) X(f32_convert_i64_s) X(f32_convert_i64_u) \
    X(f32_demote_f64) \
    X(f64_convert_i32_s) X(f64_convert_i32_u) X(f64_convert_i64_s) X(f64_convert_i64_u) \
    X(f64_promote_f32) \
    X(i32_trunc_sat_f32_s) X(i32_trunc_sat_f32_u) X(i32_trunc_sat_f64_s) X(i32_trunc_sat_f64_u) \
    X(i64_trunc_sat_f32_s) X(i64_trunc_sat_f32_u) X(i64_trunc_sat_f64_s) X(i64_trunc_sat_f64_u) \
    X(ref_is_null)

/* Loads: d, a(address), imm (offset + access size); stores: a, v, imm. */
#define WASM_MEM_OPS(X) \
    X(load8_s32) X(load8_s64) X(load8_u) X(load16_s32) X(load16_s64) X(load16_u) \
    X(load32_s64) X(load32_u) X(load64) \
    X(store8) X(store16) X(store32) X(store64)

/* Each memory op also has a form NAME_x whose address is the 32-bit sum of
 * two slots (an i32.add fused into the access): loads d, a, b, imm; stores
 * a, b, v, imm; and a form NAME_xs whose address is a + (x << k) (32-bit):
 * loads d, a, x, imm; stores a, x, v, imm, with k in bits 59..63 of imm;
 * a form NAME_k for a constant address: loads d, imm; stores v, imm,
 * imm = address + offset + size; and a form NAME_xi whose address is the
 * 32-bit sum a + K (an i32.add/sub of a constant fused into the access):
 * loads d, a, K, imm; stores a, K, v, imm. */

#define WASM_OTHER_OPS(X) \
    X(unreachable)      /* */ \
    X(gas)              /* imm: instructions of the run */ \
    X(br)               /* T, gt: charge gt gas, jump */ \
    X(br_if)            /* a, T, gt, gf: jump if a != 0 (charging gt), else charge gf */ \
    X(br_unless)        /* a, T, gt, gf: jump if a == 0 */ \
    X(br_if64)          /* a, T, gt, gf: jump if a (64 bits) != 0 */ \
    X(br_unless64)      /* a, T, gt, gf: jump if a (64 bits) == 0 */ \
    X(br_table)         /* a, imm n, T*(n+1) */ \
    X(call)             /* fn, imm argoff */ \
    X(call_import)      /* imm funcidx, imm argoff */ \
    X(call_indirect)    /* imm table, ft, a(index), imm argoff */ \
    X(ret)              /* */ \
    X(copy)             /* d, a */ \
    X(i32_add_shl)      /* d, a, x, imm k: d = a + (x << k) (i32) */ \
    X(copy2)            /* d, a, d2, a2: d = a, then d2 = a2 */ \
    X(const)            /* d, imm */ \
    X(select)           /* d, a, b, c: d = c ? a : b */ \
    X(global_get)       /* d, imm idx */ \
    X(global_set)       /* imm idx, a */ \
    X(ref_func)         /* d, imm funcidx */ \
    X(table_get)        /* d, imm table, a */ \
    X(table_set)        /* imm table, a(index), b(value) */ \
    X(table_size)       /* d, imm table */ \
    X(table_grow)       /* d, imm table, a(init), b(n) */ \
    X(table_fill)       /* imm table, a(i), b(value), c(n) */ \
    X(table_copy)       /* imm dst table, imm src table, a(d), b(s), c(n) */ \
    X(table_init)       /* imm table, imm seg, a(d), b(s), c(n) */ \
    X(elem_drop)        /* imm seg */ \
    X(memory_size)      /* d */ \
    X(memory_grow)      /* d, a(delta) */ \
    X(memory_fill)      /* a(d), b(value), c(n) */ \
    X(memory_copy)      /* a(d), b(s), c(n) */ \
    X(memory_init)      /* imm seg, a(d), b(s), c(n) */ \
    X(data_drop)        /* imm seg */ \
    X(trap_oob)         /* always "out of bounds memory access" */

/* Compare-and-branch (a compare fused with the br_if/if that consumes it):
 * brc_NAME a, b, T, gt, gf and brc_NAME_i a, imm, T, gt, gf jump to T when
 * the compare holds (charging gt gas), else charge gf and fall through. Same
 * order as the compares in WASM_IBIN_OPS. */
#define WASM_BRC_OPS(X) \
    X(i32_eq) X(i32_ne) X(i32_lt_s) X(i32_lt_u) X(i32_gt_s) X(i32_gt_u) \
    X(i32_le_s) X(i32_le_u) X(i32_ge_s) X(i32_ge_u) \
    X(i64_eq) X(i64_ne) X(i64_lt_s) X(i64_lt_u) X(i64_gt_s) X(i64_gt_u) \
    X(i64_le_s) X(i64_le_u) X(i64_ge_s) X(i64_ge_u)

enum {
#define X(n) WOP_##n,
    WASM_OTHER_OPS(X)
    WASM_IBIN_OPS(X)
    WASM_BIN_OPS(X)
    WASM_UN_OPS(X)
    WASM_MEM_OPS(X)
#undef X
#define X(n) WOP_##n##_i,
    WASM_IBIN_OPS(X)
#undef X
#define X(n) WOP_brc_##n, WOP_brc_##n##_i,
    WASM_BRC_OPS(X)
#undef X
#define X(n) WOP_##n##_x,
    WASM_MEM_OPS(X)
#undef X
#define X(n) WOP_##n##_xs,
    WASM_MEM_OPS(X)
#undef X
#define X(n) WOP_##n##_k,
    WASM_MEM_OPS(X)
#undef X
#define X(n) WOP_##n##_xi,
    WASM_MEM_OPS(X)
#undef X
    WOP__COUNT
};

#endif
