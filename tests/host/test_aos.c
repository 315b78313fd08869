/* test_aos.c - the real aos module (build/aos.wasm: the aos Lua library of
 * aos/lua) run by src/host on the engine: spawn, Eval, Send, Spawn, the
 * Inbox, errors with rollback, the clock, determinism and checkpoints. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/base.h"
#include "host/host.h"

static ao_buf g_wasm;
static host_module *g_mod;

static int setup_module(void **state)
{
    (void)state;
    const char *path = getenv("AO_AOS_WASM");
    if (!path) path = "build/aos.wasm";
    ao_buf_init(&g_wasm);
    ao_error err = {0};
    if (ao_file_read(path, &g_wasm, &err) != AO_OK) {
        fprintf(stderr, "cannot read %s: %s (make build/aos.wasm)\n", path, err.msg);
        return -1;
    }
    if (host_module_new(g_wasm.data, g_wasm.len, NULL, &g_mod, &err) != AO_OK) {
        fprintf(stderr, "host_module_new: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static int teardown_module(void **state)
{
    (void)state;
    host_module_free(g_mod);
    ao_buf_free(&g_wasm);
    return 0;
}

#define PID "PROCESS_ID_0000000000000000000000000000000"
#define OWNER "OWNER_ADDRESS_00000000000000000000000000000"
static const char *ENV = "{\"Process\":{\"Id\":\"" PID "\",\"Owner\":\"" OWNER "\",\"Tags\":["
                         "{\"name\":\"Type\",\"value\":\"Process\"},{\"name\":\"Name\",\"value\":\"tester\"},"
                         "{\"name\":\"Module\",\"value\":\"MODULE\"}]},"
                         "\"Module\":{\"Id\":\"MODULE\",\"Owner\":\"" OWNER "\",\"Tags\":[]}}";

static const char *SPAWN = "{\"Id\":\"" PID "\",\"Owner\":\"" OWNER "\",\"From\":\"" OWNER "\","
                           "\"Target\":\"" PID "\",\"Module\":\"MODULE\",\"Timestamp\":1700000000000,"
                           "\"Block-Height\":100,\"Tags\":[{\"name\":\"Type\",\"value\":\"Process\"},"
                           "{\"name\":\"Name\",\"value\":\"tester\"}],\"Data\":\"\"}";

static void handle(host_process *p, const char *msg, host_result *r)
{
    ao_error err = {0};
    int rc = host_process_handle(p, msg, ENV, r, &err);
    if (rc != AO_OK) fprintf(stderr, "handle: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
}

/* An Eval from the owner, with Data given as JSON-safe text. */
static void eval(host_process *p, const char *code, long long ts, host_result *r)
{
    char *m = malloc(strlen(code) + 512);
    assert_non_null(m);
    sprintf(m, "{\"Id\":\"eval%lld\",\"Owner\":\"" OWNER "\",\"From\":\"" OWNER "\",\"Target\":\"" PID "\","
               "\"Timestamp\":%lld,\"Block-Height\":101,\"Tags\":[{\"name\":\"Action\",\"value\":\"Eval\"}],"
               "\"Data\":\"%s\"}", ts, ts, code);
    handle(p, m, r);
    free(m);
}

static host_process *spawn(void)
{
    host_process *p = NULL;
    ao_error err = {0};
    assert_int_equal(host_process_new(g_mod, NULL, &p, &err), AO_OK);
    host_result r;
    handle(p, SPAWN, &r);
    if (r.error) fprintf(stderr, "spawn error: %s\n", r.error);
    assert_null(r.error);
    host_result_free(&r);
    return p;
}

static void expect_data(host_process *p, const char *code, long long ts, const char *want_sub)
{
    host_result r;
    eval(p, code, ts, &r);
    if (r.error) fprintf(stderr, "Error: %s\n", r.error);
    assert_null(r.error);
    if (!strstr(r.json, want_sub)) fprintf(stderr, "%s lacks %s\n", r.json, want_sub);
    assert_non_null(strstr(r.json, want_sub));
    host_result_free(&r);
}

static void spawn_and_eval(void **state)
{
    (void)state;
    host_process *p = spawn();
    expect_data(p, "1 + 41", 1700000000001LL, "\"data\":\"42\"");
    expect_data(p, "Name .. '/' .. Owner", 1700000000002LL, "\"data\":\"tester/" OWNER "\"");
    expect_data(p, "os.time()", 1700000000003LL, "\"data\":\"1700000000003\"");
    expect_data(p, "ao.id", 1700000000004LL, "\"prompt\":");
    host_process_free(p);
}

static void send_and_spawn_produce_outbox(void **state)
{
    (void)state;
    host_process *p = spawn();
    host_result r;
    eval(p, "Send({Target = 'TARGET', Data = 'hi', Action = 'Ping'}); return 'sent'", 5, &r);
    assert_null(r.error);
    assert_non_null(strstr(r.json, "\"Messages\":[{"));
    assert_non_null(strstr(r.json, "\"Target\":\"TARGET\""));
    assert_non_null(strstr(r.json, "\"Anchor\":\"00000000000000000000000000000001\""));
    assert_non_null(strstr(r.json, "\"value\":\"ao.TN.1\""));
    assert_non_null(strstr(r.json, "\"value\":\"Ping\""));
    host_result_free(&r);
    eval(p, "Spawn('MOD2', {Data = 'child'}); return 'spawned'", 6, &r);
    assert_null(r.error);
    assert_non_null(strstr(r.json, "\"Spawns\":[{"));
    assert_non_null(strstr(r.json, "\"value\":\"MOD2\""));
    host_result_free(&r);
    host_process_free(p);
}

static void other_messages_go_to_the_inbox(void **state)
{
    (void)state;
    host_process *p = spawn();
    host_result r;
    expect_data(p, "#Inbox", 7, "\"data\":\"1\"");   /* the spawn message */
    handle(p, "{\"Id\":\"M1\",\"Owner\":\"" OWNER "\",\"From\":\"" OWNER "\",\"Target\":\"" PID "\","
              "\"Timestamp\":8,\"Block-Height\":101,\"Tags\":[{\"name\":\"Action\",\"value\":\"Hello\"}],"
              "\"Data\":\"x\"}", &r);
    assert_null(r.error);
    assert_non_null(strstr(r.json, "\"print\":true"));
    host_result_free(&r);
    expect_data(p, "#Inbox .. ' ' .. Inbox[#Inbox].Action", 9, "\"data\":\"2 Hello\"");
    host_process_free(p);
}

static void eval_error_is_error_and_rolls_back(void **state)
{
    (void)state;
    host_process *p = spawn();
    expect_data(p, "X = 1", 10, "\"prompt\"");
    size_t len;
    const uint8_t *m = host_process_memory(p, &len);
    uint8_t *before = malloc(len);
    assert_non_null(before);
    memcpy(before, m, len);
    host_result r;
    eval(p, "X = 2; error('bad thing')", 11, &r);
    assert_non_null(r.error);
    assert_non_null(strstr(r.error, "bad thing"));
    host_result_free(&r);
    size_t n;
    m = host_process_memory(p, &n);
    assert_int_equal(n, len);
    assert_true(memcmp(m, before, len) == 0);
    expect_data(p, "X", 12, "\"data\":\"1\"");
    free(before);
    host_process_free(p);
}

static void same_sequence_same_memory_and_checkpoint(void **state)
{
    (void)state;
    const char *codes[] = {"T = {}; for i = 1, 30 do T['k' .. i] = i end; return 1",
                           "math.random(1, 1000000)", "error('x')",
                           "local s = {}; for k in pairs(T) do s[#s + 1] = k end; return table.concat(s, ',')",
                           "Send({Target = 'A', Data = 'b'}); return 1"};
    size_t n = sizeof codes / sizeof codes[0];
    host_process *p = spawn(), *q = spawn(), *c = NULL;
    char *outs[8] = {0};
    for (size_t i = 0; i < n; i++) {
        host_result a, b;
        eval(p, codes[i], 20 + (long long)i, &a);
        eval(q, codes[i], 20 + (long long)i, &b);
        assert_string_equal(a.json, b.json);
        outs[i] = strdup(a.json);
        host_result_free(&a);
        host_result_free(&b);
        if (i == 1) {
            /* checkpoint of q's memory; c continues from it */
            size_t len;
            const uint8_t *m = host_process_memory(q, &len);
            ao_error err = {0};
            assert_int_equal(host_process_new_from_memory(g_mod, NULL, m, len, &c, &err), AO_OK);
        } else if (i > 1) {
            host_result d;
            eval(c, codes[i], 20 + (long long)i, &d);
            assert_string_equal(outs[i], d.json);
            host_result_free(&d);
        }
    }
    size_t lp, lq, lc;
    const uint8_t *mp = host_process_memory(p, &lp), *mq = host_process_memory(q, &lq);
    const uint8_t *mc = host_process_memory(c, &lc);
    assert_int_equal(lp, lq);
    assert_int_equal(lp, lc);
    assert_true(memcmp(mp, mq, lp) == 0);
    assert_true(memcmp(mp, mc, lp) == 0);
    for (size_t i = 0; i < n; i++) free(outs[i]);
    host_process_free(p);
    host_process_free(q);
    host_process_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(spawn_and_eval),
        cmocka_unit_test(send_and_spawn_produce_outbox),
        cmocka_unit_test(other_messages_go_to_the_inbox),
        cmocka_unit_test(eval_error_is_error_and_rolls_back),
        cmocka_unit_test(same_sequence_same_memory_and_checkpoint),
    };
    return cmocka_run_group_tests(tests, setup_module, teardown_module);
}
