/* test_aot.c - the engine's compiled tier (wasm.h, docs/wasm.md) against
 * its interpreter, through the public API: the same instance switched
 * between tiers call by call gives the same results, traps (kind and
 * message) and gas - also at every possible out-of-gas point of a loop -,
 * host functions re-entering wasm and trapping, call_indirect's three
 * traps, memory growth and its limit, globals, snapshots across tiers; a
 * memory64 module stays on the interpreter with the reason; accesses out of
 * bounds (compiled code has no bounds checks: the guard region faults) trap
 * with the same gas and leave the same bytes. Modules are small binaries
 * (their text is in the comments). Libraries are compiled with -O0 into
 * build/aot-test, the guard test's with -O2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>
#include <time.h>

#include "base/base.h"
#include "wasm/wasm.h"

/* (module (memory 1)
 *   (func $count (export "count") (param i32) (result i32) (local i32)
 *     (block (loop (br_if 1 (i32.eqz (local.get 0)))
 *       (local.set 1 (i32.add (local.get 1) (local.get 0)))
 *       (local.set 0 (i32.sub (local.get 0) (i32.const 1))) (br 0))) (local.get 1))
 *   (func $fib (export "fib") (param i32) (result i32)
 *     (if (result i32) (i32.lt_u (local.get 0) (i32.const 2)) (then (local.get 0))
 *       (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1)))
 *                      (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
 *   (func (export "nan") (result i32) (i32.reinterpret_f32 (f32.div (f32.const 0) (f32.const 0))))
 *   (func (export "fill") (param i32 i32) (result i32)
 *     (memory.fill (local.get 0) (i32.const 7) (local.get 1)) (i32.load8_u (local.get 0)))
 *   (func (export "rec") (param i32) (result i32) (call 4 (i32.add (local.get 0) (i32.const 1))))
 *   (func (export "div") (param i32) (result i32) (i32.div_s (i32.const 1) (local.get 0))))
 *
 * (module (type $v_i (func (param i32) (result i32)))
 *   (import "host" "cb" (func $cb (param i32) (result i32)))
 *   (import "host" "boom" (func $boom (param i32)))
 *   (memory 1 3) (global $g (mut i64) (i64.const 5)) (table 4 funcref)
 *   (elem (i32.const 0) $dbl $sq)
 *   (func $dbl (type $v_i) (i32.mul (local.get 0) (i32.const 2)))
 *   (func $sq (param i64) (result i64) (i64.mul (local.get 0) (local.get 0)))
 *   (func (export "via_host") (param i32) (result i32) (i32.add (call $cb (local.get 0)) (i32.const 1)))
 *   (func (export "inner") (param i32) (result i32)
 *     (global.set $g (i64.add (global.get $g) (i64.extend_i32_u (local.get 0))))
 *     (i32.mul (local.get 0) (i32.const 3)))
 *   (func (export "boom") (param i32) (result i32) (call $boom (local.get 0)) (i32.const 9))
 *   (func (export "ind") (param i32 i32) (result i32) (call_indirect (type $v_i) (local.get 1) (local.get 0)))
 *   (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
 *   (func (export "store") (param i32 i32) (i32.store (local.get 0) (local.get 1)))
 *   (func (export "g") (result i64) (global.get $g)))
 *
 * (module (memory i64 1) (func (export "f") (result i64) (i64.load (i64.const 0))))
 */
static const uint8_t C_WASM[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x10, 0x03, 0x60,
  0x01, 0x7f, 0x01, 0x7f, 0x60, 0x00, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f,
  0x01, 0x7f, 0x03, 0x07, 0x06, 0x00, 0x00, 0x01, 0x02, 0x00, 0x00, 0x05,
  0x03, 0x01, 0x00, 0x01, 0x07, 0x28, 0x06, 0x05, 0x63, 0x6f, 0x75, 0x6e,
  0x74, 0x00, 0x00, 0x03, 0x66, 0x69, 0x62, 0x00, 0x01, 0x03, 0x6e, 0x61,
  0x6e, 0x00, 0x02, 0x04, 0x66, 0x69, 0x6c, 0x6c, 0x00, 0x03, 0x03, 0x72,
  0x65, 0x63, 0x00, 0x04, 0x03, 0x64, 0x69, 0x76, 0x00, 0x05, 0x0a, 0x72,
  0x06, 0x21, 0x01, 0x01, 0x7f, 0x02, 0x40, 0x03, 0x40, 0x20, 0x00, 0x45,
  0x0d, 0x01, 0x20, 0x01, 0x20, 0x00, 0x6a, 0x21, 0x01, 0x20, 0x00, 0x41,
  0x01, 0x6b, 0x21, 0x00, 0x0c, 0x00, 0x0b, 0x0b, 0x20, 0x01, 0x0b, 0x1c,
  0x00, 0x20, 0x00, 0x41, 0x02, 0x49, 0x04, 0x7f, 0x20, 0x00, 0x05, 0x20,
  0x00, 0x41, 0x01, 0x6b, 0x10, 0x01, 0x20, 0x00, 0x41, 0x02, 0x6b, 0x10,
  0x01, 0x6a, 0x0b, 0x0b, 0x0e, 0x00, 0x43, 0x00, 0x00, 0x00, 0x00, 0x43,
  0x00, 0x00, 0x00, 0x00, 0x95, 0xbc, 0x0b, 0x10, 0x00, 0x20, 0x00, 0x41,
  0x07, 0x20, 0x01, 0xfc, 0x0b, 0x00, 0x20, 0x00, 0x2d, 0x00, 0x00, 0x0b,
  0x09, 0x00, 0x20, 0x00, 0x41, 0x01, 0x6a, 0x10, 0x04, 0x0b, 0x07, 0x00,
  0x41, 0x01, 0x20, 0x00, 0x6d, 0x0b
};
static const uint8_t H_WASM[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x1e, 0x06, 0x60,
  0x01, 0x7f, 0x01, 0x7f, 0x60, 0x01, 0x7f, 0x00, 0x60, 0x01, 0x7e, 0x01,
  0x7e, 0x60, 0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00,
  0x60, 0x00, 0x01, 0x7e, 0x02, 0x17, 0x02, 0x04, 0x68, 0x6f, 0x73, 0x74,
  0x02, 0x63, 0x62, 0x00, 0x00, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x04, 0x62,
  0x6f, 0x6f, 0x6d, 0x00, 0x01, 0x03, 0x0a, 0x09, 0x00, 0x02, 0x00, 0x00,
  0x00, 0x03, 0x00, 0x04, 0x05, 0x04, 0x04, 0x01, 0x70, 0x00, 0x04, 0x05,
  0x04, 0x01, 0x01, 0x01, 0x03, 0x06, 0x06, 0x01, 0x7e, 0x01, 0x42, 0x05,
  0x0b, 0x07, 0x34, 0x07, 0x08, 0x76, 0x69, 0x61, 0x5f, 0x68, 0x6f, 0x73,
  0x74, 0x00, 0x04, 0x05, 0x69, 0x6e, 0x6e, 0x65, 0x72, 0x00, 0x05, 0x04,
  0x62, 0x6f, 0x6f, 0x6d, 0x00, 0x06, 0x03, 0x69, 0x6e, 0x64, 0x00, 0x07,
  0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x08, 0x05, 0x73, 0x74, 0x6f, 0x72,
  0x65, 0x00, 0x09, 0x01, 0x67, 0x00, 0x0a, 0x09, 0x08, 0x01, 0x00, 0x41,
  0x00, 0x0b, 0x02, 0x02, 0x03, 0x0a, 0x54, 0x09, 0x07, 0x00, 0x20, 0x00,
  0x41, 0x02, 0x6c, 0x0b, 0x07, 0x00, 0x20, 0x00, 0x20, 0x00, 0x7e, 0x0b,
  0x09, 0x00, 0x20, 0x00, 0x10, 0x00, 0x41, 0x01, 0x6a, 0x0b, 0x0f, 0x00,
  0x23, 0x00, 0x20, 0x00, 0xad, 0x7c, 0x24, 0x00, 0x20, 0x00, 0x41, 0x03,
  0x6c, 0x0b, 0x08, 0x00, 0x20, 0x00, 0x10, 0x01, 0x41, 0x09, 0x0b, 0x09,
  0x00, 0x20, 0x01, 0x20, 0x00, 0x11, 0x00, 0x00, 0x0b, 0x06, 0x00, 0x20,
  0x00, 0x40, 0x00, 0x0b, 0x09, 0x00, 0x20, 0x00, 0x20, 0x01, 0x36, 0x02,
  0x00, 0x0b, 0x04, 0x00, 0x23, 0x00, 0x0b
};
/* (module (memory 1 2)
 *   (func (export "walk") (param $p i32) (param $n i32) (result i32) (local $s i32)
 *     (block (loop (br_if 1 (i32.eqz (local.get $n)))
 *       (i32.store (local.get $p) (i32.add (local.get $s) (local.get $n)))
 *       (local.set $s (i32.add (local.get $s) (i32.load (local.get $p))))
 *       (local.set $p (i32.add (local.get $p) (i32.const 4092)))
 *       (local.set $n (i32.sub (local.get $n) (i32.const 1))) (br 0)))
 *     (local.get $s))
 *   (func (export "st8") (param i32 i32) (i64.store (local.get 0) (i64.const -1)))
 *   (func (export "far") (param i32) (result i32) (i32.load offset=4294967295 (local.get 0)))
 *   (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0))))
 */
static const uint8_t G_WASM[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x11, 0x03, 0x60,
  0x02, 0x7f, 0x7f, 0x01, 0x7f, 0x60, 0x02, 0x7f, 0x7f, 0x00, 0x60, 0x01,
  0x7f, 0x01, 0x7f, 0x03, 0x05, 0x04, 0x00, 0x01, 0x02, 0x02, 0x05, 0x04,
  0x01, 0x01, 0x01, 0x02, 0x07, 0x1b, 0x04, 0x04, 0x77, 0x61, 0x6c, 0x6b,
  0x00, 0x00, 0x03, 0x73, 0x74, 0x38, 0x00, 0x01, 0x03, 0x66, 0x61, 0x72,
  0x00, 0x02, 0x04, 0x67, 0x72, 0x6f, 0x77, 0x00, 0x03, 0x0a, 0x55, 0x04,
  0x36, 0x01, 0x01, 0x7f, 0x02, 0x40, 0x03, 0x40, 0x20, 0x01, 0x45, 0x0d,
  0x01, 0x20, 0x00, 0x20, 0x02, 0x20, 0x01, 0x6a, 0x36, 0x02, 0x00, 0x20,
  0x02, 0x20, 0x00, 0x28, 0x02, 0x00, 0x6a, 0x21, 0x02, 0x20, 0x00, 0x41,
  0xfc, 0x1f, 0x6a, 0x21, 0x00, 0x20, 0x01, 0x41, 0x01, 0x6b, 0x21, 0x01,
  0x0c, 0x00, 0x0b, 0x0b, 0x20, 0x02, 0x0b, 0x09, 0x00, 0x20, 0x00, 0x42,
  0x7f, 0x37, 0x03, 0x00, 0x0b, 0x0b, 0x00, 0x20, 0x00, 0x28, 0x02, 0xff,
  0xff, 0xff, 0xff, 0x0f, 0x0b, 0x06, 0x00, 0x20, 0x00, 0x40, 0x00, 0x0b
};
static const uint8_t M64_WASM[] = {
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01, 0x60,
  0x00, 0x01, 0x7e, 0x03, 0x02, 0x01, 0x00, 0x05, 0x03, 0x01, 0x04, 0x01,
  0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, 0x0a, 0x09, 0x01, 0x07, 0x00,
  0x42, 0x00, 0x29, 0x03, 0x00, 0x0b
};

static const wasm_aot_opts OPTS = {"build/aot-test", 0};

typedef struct tinst {
    wasm_module *m;
    wasm_store *s;
    wasm_instance *inst;
} tinst;

static int host_cb(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results);
static int host_boom(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results);

/* Load, compile, instantiate (imports: cb and boom when the module wants
 * them). */
static void load_with(tinst *t, const uint8_t *bytes, size_t len, const wasm_aot_opts *opts)
{
    ao_error err = {0};
    assert_int_equal(wasm_module_new(bytes, len, &t->m, &err), AO_OK);
    int rc = wasm_module_compile(t->m, opts, &err);
    if (rc != AO_OK) fprintf(stderr, "compile: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    assert_true(wasm_module_compiled(t->m));
    assert_int_equal(wasm_store_new(&t->s, &err), AO_OK);
    wasm_extern imp[2];
    size_t ni = wasm_module_import_count(t->m);
    assert_true(ni <= 2);
    for (size_t i = 0; i < ni; i++) {
        wasm_import_desc d;
        wasm_module_import(t->m, i, &d);
        imp[i].kind = WASM_EXTERN_FUNC;
        assert_int_equal(wasm_func_new_host(t->s, &d.type.func, !strcmp(d.name, "cb") ? host_cb : host_boom,
                                            NULL, &imp[i].of.func, &err), AO_OK);
    }
    wasm_trap trap;
    assert_int_equal(wasm_instantiate(t->s, t->m, imp, ni, &t->inst, &trap, &err), AO_OK);
    assert_int_equal(wasm_instance_tier(t->inst), WASM_TIER_INTERP);
}

static void load(tinst *t, const uint8_t *bytes, size_t len) { load_with(t, bytes, len, &OPTS); }

static void unload(tinst *t)
{
    wasm_store_free(t->s);
    wasm_module_free(t->m);
}

typedef struct outcome {
    int rc;
    wasm_trap_code code;
    char msg[AO_ERRMSG_MAX];
    int64_t host_code;
    uint64_t r[2];
    uint64_t gas;
} outcome;

/* Call export name with i32 args on the given tier, from gas 0 with the
 * given limit. */
static outcome call(tinst *t, wasm_tier tier, const char *name, uint64_t limit, int nargs, ...)
{
    assert_int_equal(wasm_instance_set_tier(t->inst, tier, NULL), AO_OK);
    assert_int_equal(wasm_instance_tier(t->inst), tier);
    wasm_extern e;
    assert_int_equal(wasm_instance_export(t->inst, name, &e), AO_OK);
    wasm_functype ft;
    wasm_func_type(e.of.func, &ft);
    wasm_val args[4], res[2];
    memset(args, 0, sizeof args);
    memset(res, 0, sizeof res);
    va_list ap;
    va_start(ap, nargs);
    for (int i = 0; i < nargs; i++) {
        args[i].type = WASM_I32;
        args[i].of.i32 = va_arg(ap, uint32_t);
    }
    va_end(ap);
    wasm_store_set_gas_used(t->s, 0);
    wasm_store_set_gas_limit(t->s, limit);
    outcome o;
    memset(&o, 0, sizeof o);
    wasm_trap trap;
    memset(&trap, 0, sizeof trap);
    o.rc = wasm_func_call(t->s, e.of.func, args, (size_t)nargs, res, ft.nresults, &trap, NULL);
    o.code = o.rc == AO_ETRAP ? trap.code : WASM_TRAP_NONE;
    o.host_code = trap.host_code;
    if (o.rc == AO_ETRAP)
        snprintf(o.msg, sizeof o.msg, "%s", trap.msg);
    for (uint32_t i = 0; i < ft.nresults && i < 2; i++)
        o.r[i] = res[i].of.i64;
    o.gas = wasm_store_gas_used(t->s);
    return o;
}

static void same(const outcome *a, const outcome *b, const char *what)
{
    if (a->rc != b->rc || a->code != b->code || a->gas != b->gas || a->r[0] != b->r[0] ||
        strcmp(a->msg, b->msg) != 0)
        fprintf(stderr, "%s: interp rc %d trap %d '%s' r %llu gas %llu / compiled rc %d trap %d '%s' r %llu gas %llu\n",
                what, a->rc, a->code, a->msg, (unsigned long long)a->r[0], (unsigned long long)a->gas,
                b->rc, b->code, b->msg, (unsigned long long)b->r[0], (unsigned long long)b->gas);
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->code, b->code);
    assert_string_equal(a->msg, b->msg);
    assert_int_equal(a->host_code, b->host_code);
    assert_true(a->r[0] == b->r[0] && a->r[1] == b->r[1]);
    assert_true(a->gas == b->gas);
}

static outcome both(tinst *t, const char *name, uint64_t limit, int nargs, uint32_t a0, uint32_t a1)
{
    outcome i = call(t, WASM_TIER_INTERP, name, limit, nargs, a0, a1);
    outcome c = call(t, WASM_TIER_COMPILED, name, limit, nargs, a0, a1);
    same(&i, &c, name);
    return c;
}

static void loop_gas_and_every_out_of_gas_point(void **state)
{
    (void)state;
    tinst t;
    load(&t, C_WASM, sizeof C_WASM);
    const uint32_t ns[] = {0, 1, 5, 100, 1000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        outcome o = both(&t, "count", UINT64_MAX, 1, ns[i], 0);
        assert_int_equal(o.rc, AO_OK);
        assert_true(o.r[0] == (uint64_t)ns[i] * (ns[i] + 1) / 2);
        assert_true(o.gas == 12ull * ns[i] + 4);
    }
    /* every limit below what count(5) needs traps at the same point */
    for (uint64_t lim = 0; lim <= 12 * 5 + 4; lim++) {
        outcome o = both(&t, "count", lim, 1, 5, 0);
        if (lim < 12 * 5 + 4) {
            assert_int_equal(o.code, WASM_TRAP_OUT_OF_GAS);
            assert_true(o.gas > lim);
        } else {
            assert_int_equal(o.rc, AO_OK);
        }
    }
    /* recursion: every limit around a few calls deep */
    outcome f = both(&t, "fib", UINT64_MAX, 1, 10, 0);
    assert_int_equal(f.r[0], 55);
    for (uint64_t lim = 0; lim < 200; lim += 3)
        both(&t, "fib", lim, 1, 10, 0);
    unload(&t);
}

static void traps_and_nan_match(void **state)
{
    (void)state;
    tinst t;
    load(&t, C_WASM, sizeof C_WASM);
    outcome o = both(&t, "nan", UINT64_MAX, 0, 0, 0);
    assert_int_equal((uint32_t)o.r[0], 0x7fc00000u);    /* canonical, sign clear */
    o = both(&t, "fill", UINT64_MAX, 2, 10, 1000);
    assert_int_equal(o.r[0], 7);
    o = both(&t, "fill", UINT64_MAX, 2, 10, 6400);       /* + 100 bulk gas */
    o = both(&t, "fill", 10, 2, 10, 6400);               /* out of gas in the bulk charge */
    assert_int_equal(o.code, WASM_TRAP_OUT_OF_GAS);
    o = both(&t, "fill", UINT64_MAX, 2, 65000, 1000);    /* out of bounds: no bulk charge */
    assert_int_equal(o.code, WASM_TRAP_MEMORY_OOB);
    o = both(&t, "rec", UINT64_MAX, 1, 0, 0);
    assert_int_equal(o.code, WASM_TRAP_STACK_EXHAUSTED);
    o = both(&t, "div", UINT64_MAX, 1, 0, 0);
    assert_int_equal(o.code, WASM_TRAP_DIV_ZERO);
    /* a smaller call depth limit is the same on both tiers */
    wasm_store_set_max_call_depth(t.s, 50);
    o = both(&t, "rec", UINT64_MAX, 1, 0, 0);
    assert_int_equal(o.code, WASM_TRAP_STACK_EXHAUSTED);
    assert_true(o.gas < 50 * 10);
    unload(&t);
}

static int host_cb(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results)
{
    (void)user;
    wasm_extern e;
    if (wasm_instance_export(wasm_ctx_instance(ctx), "inner", &e) != AO_OK)
        return wasm_ctx_trap(ctx, 1, "no inner");
    wasm_val a = args[0], r;
    wasm_trap trap;
    if (wasm_func_call(wasm_ctx_store(ctx), e.of.func, &a, 1, &r, 1, &trap, NULL) != AO_OK)
        return wasm_ctx_trap(ctx, 2, "inner trapped: %s", trap.msg);
    /* a host charge on top */
    wasm_store *s = wasm_ctx_store(ctx);
    wasm_store_set_gas_used(s, wasm_store_gas_used(s) + 100);
    results[0] = r;
    return 0;
}

static int host_boom(wasm_call_ctx *ctx, void *user, const wasm_val *args, wasm_val *results)
{
    (void)user;
    (void)results;
    if (args[0].of.i32 == 0)
        return 0;
    return wasm_ctx_trap(ctx, 42, "boom %u", args[0].of.i32);
}

static void host_calls_tables_memory_globals(void **state)
{
    (void)state;
    tinst t;
    load(&t, H_WASM, sizeof H_WASM);
    outcome o = both(&t, "via_host", UINT64_MAX, 1, 7, 0);   /* re-entry, global changed twice */
    assert_int_equal(o.r[0], 22);
    for (uint64_t lim = 0; lim < 130; lim += 7)
        both(&t, "via_host", lim, 1, 7, 0);
    o = both(&t, "g", UINT64_MAX, 0, 0, 0);
    /* each inner run (both tiers, some of the limited calls too) added 7 */
    assert_true(o.r[0] >= 5 + 2 * 7 && (o.r[0] - 5) % 7 == 0);
    o = both(&t, "boom", UINT64_MAX, 1, 0, 0);
    assert_int_equal(o.r[0], 9);
    o = both(&t, "boom", UINT64_MAX, 1, 3, 0);
    assert_int_equal(o.code, WASM_TRAP_HOST);
    assert_int_equal(o.host_code, 42);
    assert_string_equal(o.msg, "boom 3");
    o = both(&t, "ind", UINT64_MAX, 2, 0, 21);
    assert_int_equal(o.r[0], 42);
    o = both(&t, "ind", UINT64_MAX, 2, 1, 21);
    assert_int_equal(o.code, WASM_TRAP_INDIRECT_TYPE);
    o = both(&t, "ind", UINT64_MAX, 2, 2, 21);
    assert_int_equal(o.code, WASM_TRAP_UNINITIALIZED);
    o = both(&t, "ind", UINT64_MAX, 2, 9, 21);
    assert_int_equal(o.code, WASM_TRAP_TABLE_OOB);
    /* growth up to the maximum of 3 pages, then -1, on alternating tiers */
    outcome g1 = call(&t, WASM_TIER_COMPILED, "grow", UINT64_MAX, 1, 1);
    assert_int_equal((uint32_t)g1.r[0], 1);
    outcome g2 = call(&t, WASM_TIER_INTERP, "grow", UINT64_MAX, 1, 1);
    assert_int_equal((uint32_t)g2.r[0], 2);
    outcome g3 = call(&t, WASM_TIER_COMPILED, "grow", UINT64_MAX, 1, 1);
    assert_int_equal((uint32_t)g3.r[0], 0xffffffffu);
    o = both(&t, "store", UINT64_MAX, 2, 3 * 65536 - 4, 0x11223344);
    assert_int_equal(o.rc, AO_OK);
    o = both(&t, "store", UINT64_MAX, 2, 3 * 65536 - 3, 1);
    assert_int_equal(o.code, WASM_TRAP_MEMORY_OOB);
    /* a snapshot taken after compiled code ran restores into an interpreted instance */
    ao_buf snap;
    ao_buf_init(&snap);
    assert_int_equal(wasm_instance_snapshot(t.inst, &snap, NULL), AO_OK);
    tinst u;
    load(&u, H_WASM, sizeof H_WASM);
    assert_int_equal(wasm_instance_restore(u.inst, snap.data, snap.len, NULL), AO_OK);
    wasm_memory *ma = wasm_instance_memory(t.inst, 0), *mb = wasm_instance_memory(u.inst, 0);
    assert_int_equal(wasm_memory_size(ma), wasm_memory_size(mb));
    assert_true(memcmp(wasm_memory_data(ma), wasm_memory_data(mb), wasm_memory_size(ma)) == 0);
    outcome ga = call(&t, WASM_TIER_COMPILED, "g", UINT64_MAX, 0);
    outcome gb = call(&u, WASM_TIER_INTERP, "g", UINT64_MAX, 0);
    assert_true(ga.r[0] == gb.r[0]);
    ao_buf_free(&snap);
    unload(&u);
    unload(&t);
}

static void memory64_stays_on_the_interpreter(void **state)
{
    (void)state;
    wasm_module *m;
    ao_error err = {0};
    assert_int_equal(wasm_module_new(M64_WASM, sizeof M64_WASM, &m, &err), AO_OK);
    assert_int_equal(wasm_module_compile(m, &OPTS, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "memory64"));
    assert_false(wasm_module_compiled(m));
    wasm_store *s;
    wasm_instance *inst;
    wasm_trap trap;
    assert_int_equal(wasm_store_new(&s, &err), AO_OK);
    wasm_store_set_tier(s, WASM_TIER_COMPILED);
    assert_int_equal(wasm_instantiate(s, m, NULL, 0, &inst, &trap, &err), AO_OK);
    assert_int_equal(wasm_instance_tier(inst), WASM_TIER_INTERP);
    assert_int_equal(wasm_instance_set_tier(inst, WASM_TIER_COMPILED, &err), AO_EUNSUPPORTED);
    wasm_store_free(s);
    wasm_module_free(m);
    wasm_tier tier;
    assert_int_equal(wasm_tier_parse("compiled", &tier, NULL), AO_OK);
    assert_int_equal(tier, WASM_TIER_COMPILED);
    assert_int_equal(wasm_tier_parse("jit", &tier, NULL), AO_EINVAL);
}

/* The same call on two instances of G_WASM, one per tier: same outcome
 * and the same memory bytes after it. */
static outcome both_apart(tinst *ti, tinst *tc, const char *name, int nargs, uint32_t a0, uint32_t a1)
{
    outcome i = call(ti, WASM_TIER_INTERP, name, UINT64_MAX, nargs, a0, a1);
    outcome c = call(tc, WASM_TIER_COMPILED, name, UINT64_MAX, nargs, a0, a1);
    same(&i, &c, name);
    wasm_memory *mi = wasm_instance_memory(ti->inst, 0), *mc = wasm_instance_memory(tc->inst, 0);
    assert_int_equal(wasm_memory_size(mi), wasm_memory_size(mc));
    assert_true(memcmp(wasm_memory_view(mi), wasm_memory_view(mc), wasm_memory_size(mi)) == 0);
    return c;
}

static void guard_region_traps_like_bounds_checks(void **state)
{
    (void)state;
    static const wasm_aot_opts o2 = {"build/aot-test", 2};
    tinst ti, tc;
    load_with(&ti, G_WASM, sizeof G_WASM, &o2);
    load_with(&tc, G_WASM, sizeof G_WASM, &o2);
    /* stores and loads every 4092 bytes: the 17th store is the first beyond
     * the page; gas and the bytes written before it agree */
    outcome o = both_apart(&ti, &tc, "walk", 2, 0, 100);
    assert_int_equal(o.code, WASM_TRAP_MEMORY_OOB);
    /* an 8-byte store across the end writes none of its bytes */
    o = both_apart(&ti, &tc, "st8", 2, 65532, 0);
    assert_int_equal(o.code, WASM_TRAP_MEMORY_OOB);
    /* offset 2^32-1 from 0 and from 2^32-1: the far ends of the guard region */
    o = both_apart(&ti, &tc, "far", 1, 0, 0);
    assert_int_equal(o.code, WASM_TRAP_MEMORY_OOB);
    o = both_apart(&ti, &tc, "far", 1, 0xffffffffu, 0);
    assert_int_equal(o.code, WASM_TRAP_MEMORY_OOB);
    /* after growing, the same store is in bounds; the walk goes further */
    o = both_apart(&ti, &tc, "grow", 1, 1, 0);
    assert_int_equal((uint32_t)o.r[0], 1);
    o = both_apart(&ti, &tc, "st8", 2, 65532, 0);
    assert_int_equal(o.rc, AO_OK);
    o = both_apart(&ti, &tc, "walk", 2, 4, 100);
    assert_int_equal(o.code, WASM_TRAP_MEMORY_OOB);
    o = both_apart(&ti, &tc, "walk", 2, 8, 20);
    assert_int_equal(o.rc, AO_OK);
    unload(&ti);
    unload(&tc);
}

/* A build folder left by a process that ended mid-build is removed by the
 * next build in the same cache once it is an hour old; a recent one (a
 * build of another process) is kept. */
/* When the address space has no room for a memory's 8 GiB guard region
 * (a process with ~16,000 memories), the memory is reserved at its own size
 * as before and the instance stays on the interpreter. Run in a child under
 * an address-space limit; not under ASan, whose own mappings need room. */
static void without_room_for_the_guard_region_stays_interpreted(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__)
    skip();
#endif
    static const wasm_aot_opts o2 = {"build/aot-test", 2};
    wasm_module *m;
    assert_int_equal(wasm_module_new(G_WASM, sizeof G_WASM, &m, NULL), AO_OK);
    assert_int_equal(wasm_module_compile(m, &o2, NULL), AO_OK);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        long pages = 0;
        FILE *f = fopen("/proc/self/statm", "r");
        if (!f || fscanf(f, "%ld", &pages) != 1)
            _exit(10);
        fclose(f);
        struct rlimit rl = {(rlim_t)pages * 4096 + (1ull << 30), (rlim_t)pages * 4096 + (1ull << 30)};
        if (setrlimit(RLIMIT_AS, &rl) != 0)
            _exit(11);
        wasm_store *s;
        wasm_instance *inst;
        wasm_trap trap;
        if (wasm_store_new(&s, NULL) != AO_OK || wasm_instantiate(s, m, NULL, 0, &inst, &trap, NULL) != AO_OK)
            _exit(12);
        ao_error err = {0};
        if (wasm_instance_set_tier(inst, WASM_TIER_COMPILED, &err) != AO_EUNSUPPORTED ||
            !strstr(err.msg, "guard region"))
            _exit(13);
        wasm_extern e;
        wasm_val a[2] = {{.type = WASM_I32, .of.i32 = 8}, {.type = WASM_I32, .of.i32 = 2}}, r;
        if (wasm_instance_export(inst, "walk", &e) != AO_OK ||
            wasm_func_call(s, e.of.func, a, 2, &r, 1, &trap, NULL) != AO_OK || r.of.i32 != 5)
            _exit(14);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fprintf(stderr, "child: status %d\n", st);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    wasm_module_free(m);
}

static void stale_build_folders_are_swept(void **state)
{
    (void)state;
    char dir[] = "/tmp/ao-aot-sweep-XXXXXX", old_tmp[64], new_tmp[64], f[96];
    assert_non_null(mkdtemp(dir));
    snprintf(old_tmp, sizeof old_tmp, "%s/tmp-old", dir);
    snprintf(new_tmp, sizeof new_tmp, "%s/tmp-new", dir);
    assert_int_equal(mkdir(old_tmp, 0700), 0);
    assert_int_equal(mkdir(new_tmp, 0700), 0);
    snprintf(f, sizeof f, "%s/m.c", old_tmp);
    FILE *fp = fopen(f, "w");
    assert_non_null(fp);
    fclose(fp);
    struct timeval tv[2] = {{time(NULL) - 7200, 0}, {time(NULL) - 7200, 0}};
    assert_int_equal(utimes(old_tmp, tv), 0);
    wasm_aot_opts o = {dir, 0};
    wasm_module *m;
    assert_int_equal(wasm_module_new(C_WASM, sizeof C_WASM, &m, NULL), AO_OK);
    assert_int_equal(wasm_module_compile(m, &o, NULL), AO_OK);
    wasm_module_free(m);
    struct stat st;
    assert_int_not_equal(stat(old_tmp, &st), 0);
    assert_int_equal(stat(new_tmp, &st), 0);
    /* clean up: the library and the kept folder */
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void store_tier_applies_at_instantiation(void **state)
{
    (void)state;
    ao_error err = {0};
    wasm_module *m;
    assert_int_equal(wasm_module_new(C_WASM, sizeof C_WASM, &m, &err), AO_OK);
    assert_int_equal(wasm_module_compile(m, &OPTS, &err), AO_OK);
    wasm_store *s;
    wasm_instance *inst;
    wasm_trap trap;
    assert_int_equal(wasm_store_new(&s, &err), AO_OK);
    wasm_store_set_tier(s, WASM_TIER_COMPILED);
    assert_int_equal(wasm_instantiate(s, m, NULL, 0, &inst, &trap, &err), AO_OK);
    assert_int_equal(wasm_instance_tier(inst), WASM_TIER_COMPILED);
    ao_metric *calls = ao_metric_get("ao_wasm_compiled_calls_total", "", false);
    int64_t c0 = ao_metric_value(calls);
    wasm_extern e;
    assert_int_equal(wasm_instance_export(inst, "count", &e), AO_OK);
    wasm_val a = {.type = WASM_I32, .of.i32 = 3}, r;
    assert_int_equal(wasm_func_call(s, e.of.func, &a, 1, &r, 1, &trap, &err), AO_OK);
    assert_int_equal(r.of.i32, 6);
    assert_int_equal(ao_metric_value(calls), c0 + 1);
    wasm_store_free(s);
    wasm_module_free(m);
}

/* With the compiled tier as default and the library not in the cache,
 * wasm_module_new returns at once and builds it in the background; the
 * instance runs interpreted, then moves to the compiled tier at an
 * outermost call once the library is there - with the same results. */
static void background_build_then_tier_up(void **state)
{
    (void)state;
    char dir[] = "build/aot-test-bg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("AO_WASM_CACHE", dir, 1);
    setenv("AO_WASM_AOT_OPT", "0", 1);
    wasm_tier_set_default(WASM_TIER_COMPILED);
    ao_error err = {0};
    wasm_module *m;
    assert_int_equal(wasm_module_new(C_WASM, sizeof C_WASM, &m, &err), AO_OK);
    wasm_tier_set_default(WASM_TIER_INTERP);
    wasm_store *s;
    wasm_instance *inst;
    wasm_trap trap;
    assert_int_equal(wasm_store_new(&s, &err), AO_OK);
    wasm_store_set_tier(s, WASM_TIER_COMPILED);
    assert_int_equal(wasm_instantiate(s, m, NULL, 0, &inst, &trap, &err), AO_OK);
    wasm_extern e;
    assert_int_equal(wasm_instance_export(inst, "count", &e), AO_OK);
    int interp_calls = 0, compiled_calls = 0;
    for (int i = 0; i < 6000 && compiled_calls < 3; i++) {
        wasm_val a = {.type = WASM_I32, .of.i32 = 100}, r;
        wasm_store_set_gas_used(s, 0);
        assert_int_equal(wasm_func_call(s, e.of.func, &a, 1, &r, 1, &trap, &err), AO_OK);
        assert_int_equal(r.of.i32, 5050);
        assert_true(wasm_store_gas_used(s) == 1204);
        if (wasm_instance_tier(inst) == WASM_TIER_COMPILED)
            compiled_calls++;
        else
            interp_calls++;
        if (compiled_calls == 0) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(interp_calls > 0);      /* served by the interpreter meanwhile */
    assert_int_equal(compiled_calls, 3);
    assert_true(wasm_module_compiled(m));
    wasm_store_free(s);
    wasm_module_free(m);
    unsetenv("AO_WASM_AOT_OPT");
    unsetenv("AO_WASM_CACHE");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* A module freed while its library is still being built: the free does
 * not wait, the build finishes into the cache on its own, and a new module
 * of the same bytes then loads it at once. */
static void module_freed_during_background_build(void **state)
{
    (void)state;
    char dir[] = "build/aot-test-bg-XXXXXX";
    assert_non_null(mkdtemp(dir));
    setenv("AO_WASM_CACHE", dir, 1);
    setenv("AO_WASM_AOT_OPT", "0", 1);
    wasm_tier_set_default(WASM_TIER_COMPILED);
    ao_error err = {0};
    wasm_module *m;
    assert_int_equal(wasm_module_new(H_WASM, sizeof H_WASM, &m, &err), AO_OK);
    wasm_module_free(m);
    int found = 0;
    for (int i = 0; i < 3000 && !found; i++) {
        char cmd[160];
        snprintf(cmd, sizeof cmd, "ls %s | grep -q '\\.so$'", dir);
        found = system(cmd) == 0;
        if (!found) {
            struct timespec ts = {0, 20 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    assert_true(found);
    assert_int_equal(wasm_module_new(H_WASM, sizeof H_WASM, &m, &err), AO_OK);
    assert_true(wasm_module_compiled(m));      /* from the cache, at once */
    wasm_module_free(m);
    wasm_tier_set_default(WASM_TIER_INTERP);
    unsetenv("AO_WASM_AOT_OPT");
    unsetenv("AO_WASM_CACHE");
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loop_gas_and_every_out_of_gas_point),
        cmocka_unit_test(traps_and_nan_match),
        cmocka_unit_test(host_calls_tables_memory_globals),
        cmocka_unit_test(memory64_stays_on_the_interpreter),
        cmocka_unit_test(guard_region_traps_like_bounds_checks),
        cmocka_unit_test(without_room_for_the_guard_region_stays_interpreted),
        cmocka_unit_test(stale_build_folders_are_swept),
        cmocka_unit_test(store_tier_applies_at_instantiation),
        cmocka_unit_test(background_build_then_tier_up),
        cmocka_unit_test(module_freed_during_background_build),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
