/* test_host.c - src/host running the aos test module (build/aos-test.wasm:
 * the project's glue + tests/aos/lua/process.lua) on the engine: output,
 * Lua errors through longjmp with memory rollback, gas and memory limits,
 * the sandbox, determinism, checkpoints and import checks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "host/host.h"

#include "host_test_module.h"

/* Output of an ok result (fails the test on an Error). */
static void expect_output(host_process *p, const char *action, const char *data, long long ts,
                          const char *want)
{
    host_result r;
    run(p, action, data, ts, &r);
    if (r.error) fprintf(stderr, "unexpected Error: %s\n", r.error);
    assert_null(r.error);
    char needle[1024];
    snprintf(needle, sizeof needle, "\"Output\":\"%s\"", want);
    if (!strstr(r.json, needle)) fprintf(stderr, "result %s lacks %s\n", r.json, needle);
    assert_non_null(strstr(r.json, needle));
    host_result_free(&r);
}

static uint8_t *mem_copy(host_process *p, size_t *len)
{
    const uint8_t *m = host_process_memory(p, len);
    uint8_t *c = malloc(*len);
    assert_non_null(c);
    memcpy(c, m, *len);
    return c;
}

static void assert_memory_is(host_process *p, const uint8_t *want, size_t len)
{
    size_t n;
    const uint8_t *m = host_process_memory(p, &n);
    assert_int_equal(n, len);
    assert_true(memcmp(m, want, len) == 0);
}

/* ---- tests ---- */

static void handle_returns_output_and_state_persists(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    expect_output(p, NULL, "", 1700000000123LL, "count=1 time=1700000000123 json={\\\"a\\\":1}");
    expect_output(p, NULL, "", 1700000000200LL, "count=2 time=1700000000200 json={\\\"a\\\":1}");
    host_result r;
    run(p, "Send", "payload", 5, &r);
    assert_null(r.error);
    assert_non_null(strstr(r.json, "\"Messages\":[{"));
    assert_non_null(strstr(r.json, "\"Target\":\"t\""));
    assert_non_null(strstr(r.json, "\"Data\":\"payload\""));
    assert_non_null(strstr(r.json, "\"Spawns\":[]"));
    assert_non_null(strstr(r.json, "\"Assignments\":[]"));
    assert_true(r.gas_used > 0);
    host_result_free(&r);
    host_process_free(p);
}

static void lua_error_becomes_error_and_memory_rolls_back(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    expect_output(p, NULL, "", 1, "count=1 time=1 json={\\\"a\\\":1}");
    size_t len;
    uint8_t *before = mem_copy(p, &len);
    host_result r;
    run(p, "Error", "boom", 2, &r);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "boom"));
    assert_non_null(strstr(r.json, "\"Error\":\""));
    host_result_free(&r);
    assert_memory_is(p, before, len);
    /* the error handler added 1000 before raising: rolled back */
    expect_output(p, NULL, "", 3, "count=2 time=3 json={\\\"a\\\":1}");
    free(before);
    host_process_free(p);
}

static void rollback_can_be_turned_off_for_lua_errors_only(void **state)
{
    (void)state;
    host_limits lim = {.compute_limit = 20000000};
    host_process *p = new_proc(&lim);
    host_process_set_rollback(p, false);
    expect_output(p, NULL, "", 1, "count=1 time=1 json={\\\"a\\\":1}");
    host_result r;
    run(p, "Error", "kept", 2, &r);   /* adds 1000, then raises */
    assert_non_null(r.error);
    host_result_free(&r);
    expect_output(p, NULL, "", 3, "count=1002 time=3 json={\\\"a\\\":1}");
    /* a trap still rolls back */
    size_t len;
    uint8_t *before = mem_copy(p, &len);
    run(p, "Loop", "", 4, &r);
    assert_string_equal(r.error, "out of gas");
    host_result_free(&r);
    assert_memory_is(p, before, len);
    free(before);
    host_process_free(p);
}

static void errors_inside_nested_pcall_are_caught_by_lua(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    /* error() inside pcall inside the handler: a longjmp that Lua catches */
    expect_output(p, "Eval", "select(2, pcall(error, 'inner')) .. '/' .. tostring(pcall(function() local t = nil; return t.x end))",
                  1, "inner/false");
    host_process_free(p);
}

static void out_of_gas_is_an_error_and_rolls_back(void **state)
{
    (void)state;
    host_limits lim = {.compute_limit = 20000000};
    host_process *p = new_proc(&lim);
    expect_output(p, NULL, "", 1, "count=1 time=1 json={\\\"a\\\":1}");
    size_t len;
    uint8_t *before = mem_copy(p, &len);
    host_result r;
    run(p, "Loop", "", 2, &r);
    assert_non_null(r.error);
    assert_string_equal(r.error, "out of gas");
    assert_true(r.gas_used > 20000000);
    host_result_free(&r);
    assert_memory_is(p, before, len);
    expect_output(p, NULL, "", 3, "count=2 time=3 json={\\\"a\\\":1}");
    free(before);
    host_process_free(p);
}

static void memory_limit_is_an_error_and_rolls_back(void **state)
{
    (void)state;
    host_limits lim = {.memory_limit = 24u << 20};
    host_process *p = new_proc(&lim);
    expect_output(p, "Alloc", "100", 1, "kept 100");
    size_t len;
    uint8_t *before = mem_copy(p, &len);
    host_result r;
    run(p, "Alloc", "40000", 2, &r);   /* ~40 MiB of strings */
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "not enough memory"));
    host_result_free(&r);
    assert_memory_is(p, before, len);
    size_t n;
    host_process_memory(p, &n);
    assert_true(n <= (24u << 20));
    expect_output(p, "Alloc", "10", 3, "kept 110");
    free(before);
    /* without the limit the same message succeeds */
    host_process *q = new_proc(NULL);
    expect_output(q, "Alloc", "40000", 1, "kept 40000");
    host_process_memory(q, &n);
    assert_true(n > (40u << 20));
    host_process_free(q);
    host_process_free(p);
}

/* The CU keeps the previous memory when Output ends in "not enough memory
 * for buffer allocation" (no Error is added). */
static void output_out_of_buffer_memory_rolls_back(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    expect_output(p, NULL, "", 1, "count=1 time=1 json={\\\"a\\\":1}");
    size_t len;
    uint8_t *before = mem_copy(p, &len);
    host_result r;
    run(p, "Lost", "", 2, &r);
    assert_null(r.error);
    assert_non_null(strstr(r.json, "not enough memory for buffer allocation"));
    host_result_free(&r);
    assert_memory_is(p, before, len);
    expect_output(p, NULL, "", 3, "count=2 time=3 json={\\\"a\\\":1}");
    free(before);
    host_process_free(p);
}

/* Arguments go on the module's own stack (4 MiB in our build): a message
 * that would overflow it is refused with an Error, not written over the
 * module's data; one that fits is handled. */
static void message_larger_than_the_stack_is_refused(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    expect_output(p, NULL, "", 1, "count=1 time=1 json={\\\"a\\\":1}");
    size_t len;
    uint8_t *before = mem_copy(p, &len);
    size_t big = 5u << 20;
    char *data = malloc(big + 1);
    assert_non_null(data);
    memset(data, 'd', big);
    data[big] = 0;
    host_result r;
    run(p, "Eval", data, 2, &r);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "message too large for the module's stack"));
    host_result_free(&r);
    assert_memory_is(p, before, len);
    /* 1.5 MiB fits: the Eval returns the length of a string that long */
    size_t ok = 3u << 19;
    memcpy(data, "#'", 2);
    memset(data + 2, 'e', ok);
    data[ok + 2] = '\'';
    data[ok + 3] = 0;
    char want[32];
    snprintf(want, sizeof want, "%zu", ok);
    expect_output(p, "Eval", data, 3, want);
    free(data);
    free(before);
    host_process_free(p);
}

/* The loader reports a response it cannot encode as a failure. */
static void unencodable_response_is_an_error(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    host_result r;
    run(p, "Fn", "", 1, &r);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "result is not encodable: json: unexpected type 'function'"));
    host_result_free(&r);
    expect_output(p, NULL, "", 2, "count=1 time=2 json={\\\"a\\\":1}");
    host_process_free(p);
}

static void bad_message_json_is_an_error(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    expect_output(p, NULL, "", 1, "count=1 time=1 json={\\\"a\\\":1}");
    size_t len;
    uint8_t *before = mem_copy(p, &len);
    host_result r;
    ao_error err = {0};
    assert_int_equal(host_process_handle(p, "{\"Id\":", ENV, &r, &err), AO_OK);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "json:"));
    host_result_free(&r);
    assert_memory_is(p, before, len);
    free(before);
    host_process_free(p);
}

static void sandbox_is_deterministic(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    expect_output(p, "Eval", "os.date('!%Y-%m-%d %H:%M:%S', 0)", 5, "1970-01-01 00:00:00");
    expect_output(p, "Eval", "os.date('%Y-%m-%dT%H:%M:%S')", 1700000000123LL, "2023-11-14T22:13:20");
    expect_output(p, "Eval", "os.time{year=2000, month=1, day=1, hour=0}", 1, "946684800");
    expect_output(p, "Eval", "tostring(os.getenv('HOME')) .. ' ' .. os.clock()", 1, "nil 0.0");
    expect_output(p, "Eval", "tostring(io.open) .. ' ' .. tostring(dofile) .. ' ' .. tostring(loadfile)", 1,
                  "nil nil nil");
    expect_output(p, "Eval", "select(2, pcall(os.exit))", 1, "os.exit is not available in aos");
    host_result r;
    run(p, "Eval", "io.write('to stdout')", 1, &r);
    assert_null(r.error);
    assert_string_equal(r.stdout_text, "to stdout");
    host_result_free(&r);
    host_process_free(p);
}

static void embedded_modules_are_required_by_name(void **state)
{
    (void)state;
    host_process *p = new_proc(NULL);
    expect_output(p, "Eval", "require('util.greet').hi('a') .. require('.util.greet').hi('b')", 1, "hi ahi b");
    expect_output(p, "Eval", "require('.process') == require('.process')", 1, "true");
    expect_output(p, "Eval", "select(2, pcall(require, 'nope')):match('no embedded module') ~= nil", 1, "true");
    expect_output(p, "Eval", "require('json').encode(require('json').decode('[1,2.5,\\\"x\\\",{\\\"k\\\":true}]'))", 1,
                  "[1,2.5,\\\"x\\\",{\\\"k\\\":true}]");
    host_process_free(p);
}

static const struct { const char *action, *data; } SEQ[] = {
    {NULL, ""}, {"Eval", "T = {}; for i = 1, 50 do T['k' .. i] = i end; return 1"},
    {"Error", "x"}, {"Eval", "local s = {}; for k in pairs(T) do s[#s + 1] = k end; return table.concat(s, ',')"},
    {"Alloc", "300"}, {"Eval", "math.random(1, 1000000)"}, {NULL, ""},
};
#define NSEQ (sizeof SEQ / sizeof SEQ[0])

static void run_seq(host_process *p, size_t from, size_t to, char **outs)
{
    for (size_t i = from; i < to; i++) {
        host_result r;
        run(p, SEQ[i].action, SEQ[i].data, 1000 + (long long)i, &r);
        outs[i] = strdup(r.json);
        host_result_free(&r);
    }
}

static void same_messages_give_same_memory_and_results(void **state)
{
    (void)state;
    char *a[NSEQ], *b[NSEQ];
    host_process *p = new_proc(NULL), *q = new_proc(NULL);
    run_seq(p, 0, NSEQ, a);
    run_seq(q, 0, NSEQ, b);
    for (size_t i = 0; i < NSEQ; i++) {
        assert_string_equal(a[i], b[i]);
        free(a[i]);
        free(b[i]);
    }
    size_t la, lb;
    const uint8_t *ma = host_process_memory(p, &la), *mb = host_process_memory(q, &lb);
    assert_int_equal(la, lb);
    assert_true(memcmp(ma, mb, la) == 0);
    host_process_free(p);
    host_process_free(q);
}

static void checkpoint_in_the_middle_continues_identically(void **state)
{
    (void)state;
    char *a[NSEQ], *b[NSEQ], *c[NSEQ];
    host_process *p = new_proc(NULL);
    run_seq(p, 0, NSEQ, a);
    /* raw memory checkpoint (the CU's format) after 3 messages */
    host_process *q = new_proc(NULL);
    run_seq(q, 0, 3, b);
    size_t len;
    uint8_t *mem = mem_copy(q, &len);
    host_process_free(q);
    ao_error err = {0};
    assert_int_equal(host_process_new_from_memory(g_mod, NULL, mem, len, &q, &err), AO_OK);
    run_seq(q, 3, NSEQ, b);
    /* engine snapshot / restore after 4 messages */
    host_process *s = new_proc(NULL);
    run_seq(s, 0, 4, c);
    ao_buf snap;
    ao_buf_init(&snap);
    assert_int_equal(host_process_snapshot(s, &snap, &err), AO_OK);
    host_process_free(s);
    s = new_proc(NULL);
    assert_int_equal(host_process_restore(s, snap.data, snap.len, &err), AO_OK);
    run_seq(s, 4, NSEQ, c);
    for (size_t i = 0; i < NSEQ; i++) {
        assert_string_equal(a[i], b[i]);
        assert_string_equal(a[i], c[i]);
        free(a[i]); free(b[i]); free(c[i]);
    }
    size_t la, lb, lc;
    const uint8_t *ma = host_process_memory(p, &la), *mb = host_process_memory(q, &lb);
    const uint8_t *mc = host_process_memory(s, &lc);
    assert_int_equal(la, lb);
    assert_int_equal(la, lc);
    assert_true(memcmp(ma, mb, la) == 0);
    assert_true(memcmp(ma, mc, la) == 0);
    ao_buf_free(&snap);
    free(mem);
    host_process_free(p);
    host_process_free(q);
    host_process_free(s);
}

/* The string-hash seed is a constant (lstate.c patched at build): the
 * order of pairs() does not depend on how much the first message put on
 * the module's stack before Lua booted. */
static void pairs_order_does_not_depend_on_first_message_size(void **state)
{
    (void)state;
    const char *code = "local t = {}; for i = 1, 40 do t['key' .. i] = i end; "
                       "local s = {}; for k in pairs(t) do s[#s + 1] = k end; return table.concat(s, ',')";
    host_process *p = new_proc(NULL), *q = new_proc(NULL);
    char pad[4001];
    memset(pad, 'p', sizeof pad - 1);
    pad[sizeof pad - 1] = 0;
    host_result r1, r2, r3;
    run(p, NULL, "", 1, &r1);
    run(q, NULL, pad, 1, &r2);
    assert_null(r1.error);
    assert_null(r2.error);
    host_result_free(&r1);
    host_result_free(&r2);
    run(p, "Eval", code, 2, &r1);
    run(q, "Eval", code, 2, &r2);
    assert_null(r1.error);
    /* same Output (GasUsed may differ: the heaps differ) */
    *strstr(r1.json, ",\"GasUsed\"") = 0;
    *strstr(r2.json, ",\"GasUsed\"") = 0;
    assert_string_equal(r1.json, r2.json);
    /* and the order is a hash order, not insertion order */
    run(p, "Eval", "local t = {} for i = 1, 40 do t[#t + 1] = 'key' .. i end return table.concat(t, ',')", 3, &r3);
    *strstr(r3.json, ",\"GasUsed\"") = 0;
    assert_string_not_equal(r1.json, r3.json);
    host_result_free(&r1);
    host_result_free(&r2);
    host_result_free(&r3);
    host_process_free(p);
    host_process_free(q);
}

static void from_memory_refuses_bad_images(void **state)
{
    (void)state;
    uint8_t small[65536] = {0};
    host_process *q = NULL;
    ao_error err = {0};
    assert_int_equal(host_process_new_from_memory(g_mod, NULL, small, 1000, &q, &err), AO_EINVAL);
    assert_null(q);
    assert_int_equal(host_process_new_from_memory(g_mod, NULL, small, sizeof small, &q, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "smaller than the initial memory"));
}

/* A module importing env.nosuch (type ()->()) and exporting a memory. */
static const uint8_t UNKNOWN_IMPORT[] = {
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    0x01, 0x04, 0x01, 0x60, 0x00, 0x00,                          /* type ()->() */
    0x02, 0x0e, 0x01, 0x03, 'e', 'n', 'v', 0x06, 'n', 'o', 's', 'u', 'c', 'h', 0x00, 0x00,
    0x05, 0x03, 0x01, 0x00, 0x01,                                /* memory 1 */
    0x07, 0x0a, 0x01, 0x06, 'm', 'e', 'm', 'o', 'r', 'y', 0x02, 0x00,
};

static void unknown_imports_and_formats_are_refused(void **state)
{
    (void)state;
    host_module *m = NULL;
    ao_error err = {0};
    assert_int_equal(host_module_new(UNKNOWN_IMPORT, sizeof UNKNOWN_IMPORT, NULL, &m, &err), AO_EUNSUPPORTED);
    assert_null(m);
    assert_non_null(strstr(err.msg, "env.nosuch"));
    assert_int_equal(host_module_new(g_wasm.data, g_wasm.len, "wasm64-unknown-emscripten-draft_2024_02_15",
                                     &m, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "Module-Format"));
    assert_int_equal(host_module_new((const uint8_t *)"\0asm", 4, NULL, &m, &err) < 0, 1);
    /* emscripten2 names are a superset of what our build imports */
    assert_int_equal(host_module_new(g_wasm.data, g_wasm.len, "wasm32-unknown-emscripten2", &m, &err), AO_OK);
    assert_string_equal(host_module_format(m), "wasm32-unknown-emscripten2");
    host_module_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handle_returns_output_and_state_persists),
        cmocka_unit_test(lua_error_becomes_error_and_memory_rolls_back),
        cmocka_unit_test(rollback_can_be_turned_off_for_lua_errors_only),
        cmocka_unit_test(errors_inside_nested_pcall_are_caught_by_lua),
        cmocka_unit_test(out_of_gas_is_an_error_and_rolls_back),
        cmocka_unit_test(memory_limit_is_an_error_and_rolls_back),
        cmocka_unit_test(output_out_of_buffer_memory_rolls_back),
        cmocka_unit_test(message_larger_than_the_stack_is_refused),
        cmocka_unit_test(unencodable_response_is_an_error),
        cmocka_unit_test(bad_message_json_is_an_error),
        cmocka_unit_test(sandbox_is_deterministic),
        cmocka_unit_test(embedded_modules_are_required_by_name),
        cmocka_unit_test(same_messages_give_same_memory_and_results),
        cmocka_unit_test(checkpoint_in_the_middle_continues_identically),
        cmocka_unit_test(pairs_order_does_not_depend_on_first_message_size),
        cmocka_unit_test(from_memory_refuses_bad_images),
        cmocka_unit_test(unknown_imports_and_formats_are_refused),
    };
    return cmocka_run_group_tests(tests, setup_module, teardown_module);
}
