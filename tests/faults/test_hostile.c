/* test_hostile.c - hostile processes and untrusted senders through the
 * real SU and CU in-process: an infinite loop, a memory bomb, deep
 * recursion, huge outputs and message floods must each end as a clear
 * Error in that message's result (or be bounded), the process must go on
 * with its next message and other processes must not notice. Forged,
 * spoofed, replayed and foreign messages must be rejected by the SU or
 * marked untrusted by aos exactly as aos expects. Each case here is a row
 * of the table in docs/RELIABILITY.md. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "../cu/cu_fake_su.h"
#include "su/su.h"

static char g_dir[64];
static weave *g_w;
static weave_client g_data;
static su *g_su;
static cu *g_cu;
static crypto_wallet *g_user, *g_other, *g_suw, *g_cuw;
static char g_module[44];
static char g_pid[44], g_pid2[44];
static char g_other_addr[AO_ADDRESS_MAX];

/* Limits of the hostile module: small enough that the bombs end fast. */
#define H_MEMORY "256-mb"
#define H_COMPUTE "1500000000"

static int c_process(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    return su_process_json(ctx, pid, out, err);
}

static int c_schedule(void *ctx, const char *pid, const char *from, const char *to, size_t limit, ao_buf *out,
                      ao_error *err)
{
    char l[32];
    snprintf(l, sizeof l, "%zu", limit);
    su_query q = {.process_id = pid, .from = from, .to = to, .limit = l};
    return su_get_json(ctx, pid, &q, out, err);
}

static int c_message(void *ctx, const char *pid, const char *msg, ao_buf *out, ao_error *err)
{
    su_query q = {.process_id = pid};
    return su_get_json(ctx, msg, &q, out, err);
}

static int c_latest(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    return su_latest_json(ctx, pid, out, err);
}

static int c_timestamp(void *ctx, const char *pid, ao_buf *out, ao_error *err)
{
    return su_timestamp_json(ctx, pid, out, err);
}

static int post_raw(const uint8_t *raw, size_t len, su_ack *ack, ao_error *err)
{
    return su_post_item(g_su, raw, len, ack, NULL, err);
}

static void post_as(const crypto_wallet *w, const ktag *kt, const char *target, const char *data, su_ack *ack)
{
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(w, kt, target, data, strlen(data), &raw), AO_OK);
    ao_error err = {0};
    int rc = post_raw(raw.data, raw.len, ack, &err);
    if (rc != AO_OK) fprintf(stderr, "su_post_item: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    ao_buf_free(&raw);
}

static cJSON *result_of(const char *pid, const char *msg)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    int rc = cu_result(g_cu, msg, pid, true, &b, &err);
    if (rc != AO_OK) fprintf(stderr, "cu_result: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    ao_buf_append_byte(&b, 0);
    cJSON *j = cJSON_Parse((const char *)b.data);
    ao_buf_free(&b);
    assert_non_null(j);
    return j;
}

static cJSON *send_eval(const char *pid, const char *code)
{
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                 {"Action", "Eval"}, {NULL, NULL}};
    su_ack ack;
    post_as(g_user, kt, pid, code, &ack);
    return result_of(pid, ack.id);
}

static const char *error_text(const cJSON *r)
{
    const cJSON *e = cJSON_GetObjectItem(r, "Error");
    return cJSON_IsString(e) ? e->valuestring : NULL;
}

static const char *output_data(const cJSON *r)
{
    const cJSON *o = cJSON_GetObjectItem(r, "Output");
    const cJSON *d = cJSON_GetObjectItem(o, "data");
    return cJSON_IsString(d) ? d->valuestring : NULL;
}

/* Evaluates code; expects no Error and the output want. */
static void expect(const char *pid, const char *code, const char *want)
{
    cJSON *r = send_eval(pid, code);
    const char *e = error_text(r), *d = output_data(r);
    if (e || !d || strcmp(d, want))
        fprintf(stderr, "'%s': error %s, got '%s' want '%s'\n", code, e ? e : "-", d ? d : "-", want);
    assert_null(e);
    assert_non_null(d);
    assert_string_equal(d, want);
    cJSON_Delete(r);
}

/* Evaluates hostile code; expects an Error containing one of the words
 * given ('|' separated), prints it for the table, then checks that the
 * process still answers and kept its state, and that the other process is
 * untouched. */
static void expect_error_on(const char *pid, const char *label, const char *code, const char *words)
{
    int64_t t0 = ao_mono_ms();
    cJSON *r = send_eval(pid, code);
    const char *e = error_text(r);
    fprintf(stderr, "[hostile] %-22s -> Error: %.160s (%lld ms)\n", label, e ? e : "(none)",
            (long long)(ao_mono_ms() - t0));
    assert_non_null(e);
    bool hit = false;
    char w[256];
    snprintf(w, sizeof w, "%s", words);
    for (char *save = NULL, *t = strtok_r(w, "|", &save); t; t = strtok_r(NULL, "|", &save))
        if (strstr(e, t)) hit = true;
    if (!hit) fprintf(stderr, "error '%s' has none of '%s'\n", e, words);
    assert_true(hit);
    /* a failed message leaves no Messages behind */
    cJSON_Delete(r);
    /* the process continues, its state as before the hostile message */
    expect(pid, "Count = Count + 1; return tostring(Count)", "1");
    expect(g_pid2, "Count = Count + 1; return 'other ' .. Count", "other 1");
}

static void expect_error(const char *label, const char *code, const char *words)
{
    expect_error_on(g_pid, label, code, words);
}

static int spawn_of(const char *module, const char *name, char pid[44])
{
    ktag pk[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"},
                 {"Module", module}, {"Scheduler", su_address(g_su)}, {"Name", name}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    if (fsu_sign(g_user, pk, NULL, "", 0, &raw) != AO_OK) return -1;
    su_ack a;
    ao_error err = {0};
    int rc = post_raw(raw.data, raw.len, &a, &err);
    ao_buf_free(&raw);
    if (rc != AO_OK) { fprintf(stderr, "spawn: %s\n", err.msg); return -1; }
    snprintf(pid, 44, "%s", a.id);
    return 0;
}

static int spawn(const char *name, char pid[44])
{
    return spawn_of(g_module, name, pid);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/ao-hostile-XXXXXX");
    if (!mkdtemp(g_dir)) return -1;
    char d[128];
    snprintf(d, sizeof d, "%s/weave", g_dir);
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = true;
    if (weave_open(d, &wo, &g_w, NULL) != AO_OK) return -1;
    weave_client_local(g_w, &g_data);
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_user, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_other, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_suw, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_cuw, NULL))
        return -1;
    size_t olen;
    const uint8_t *ow = crypto_wallet_owner(g_other, &olen);
    crypto_owner_address_b64(ow, olen, g_other_addr);
    if (fsu_put_module(g_w, g_user, "emscripten-3.1.6", H_MEMORY, H_COMPUTE, g_module) != 0) return -1;
    snprintf(d, sizeof d, "%s/su", g_dir);
    su_options so;
    memset(&so, 0, sizeof so);
    so.dir = d;
    so.data = &g_data;
    so.wallet = g_suw;
    so.no_fsync = true;
    ao_error err = {0};
    if (su_open(&so, &g_su, &err) != AO_OK) { fprintf(stderr, "su_open: %s\n", err.msg); return -1; }
    snprintf(d, sizeof d, "%s/cu", g_dir);
    cu_options co;
    memset(&co, 0, sizeof co);
    co.dir = d;
    co.wallet = g_cuw;
    co.su = (cu_su_client){g_su, c_process, c_schedule, c_message, c_latest, c_timestamp};
    co.data = g_data;
    co.threads = 2;
    co.no_fsync = true;
    if (cu_open(&co, &g_cu, &err) != AO_OK) { fprintf(stderr, "cu_open: %s\n", err.msg); return -1; }
    if (spawn("hostile", g_pid) || spawn("bystander", g_pid2)) return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cu_close(g_cu);
    su_close(g_su);
    weave_close(g_w);
    crypto_wallet_free(g_user);
    crypto_wallet_free(g_other);
    crypto_wallet_free(g_suw);
    crypto_wallet_free(g_cuw);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Count is the state the hostile messages must not disturb. */
static void prime(void)
{
    expect(g_pid, "Count = 0; return 'ok'", "ok");
    expect(g_pid2, "Count = 0; return 'other'", "other");
}

static void infinite_loop_runs_out_of_gas(void **state)
{
    (void)state;
    /* a small Compute-Limit: the loop is stopped sooner */
    char lean[44], pid[44];
    assert_int_equal(fsu_put_module(g_w, g_user, "emscripten-3.1.6", H_MEMORY, "300000000", lean), 0);
    assert_int_equal(spawn_of(lean, "lean", pid), 0);
    expect(pid, "Count = 0; return 'ok'", "ok");
    expect(g_pid2, "Count = 0; return 'other'", "other");
    expect_error_on(pid, "infinite loop", "Count = 1000; while true do end", "out of gas");
}

static void memory_bomb_hits_the_memory_limit(void **state)
{
    (void)state;
    /* a small Memory-Limit and plenty of gas: memory is what stops it */
    char small[44], pid[44];
    assert_int_equal(fsu_put_module(g_w, g_user, "emscripten-3.1.6", "32-mb", "9000000000000", small), 0);
    assert_int_equal(spawn_of(small, "small", pid), 0);
    expect(pid, "Count = 0; return 'ok'", "ok");
    expect(g_pid2, "Count = 0; return 'other'", "other");
    expect_error_on(pid, "memory bomb",
                    "Count = 1000; local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024 * 1024) .. i end",
                    "memory");
}

static void deep_lua_recursion_overflows_cleanly(void **state)
{
    (void)state;
    prime();
    expect_error("lua recursion", "Count = 1000; local function f(n) return 1 + f(n + 1) end return f(1)",
                 "stack overflow");
}

static void deep_c_recursion_overflows_cleanly(void **state)
{
    (void)state;
    prime();
    /* __index functions recurse through the C (wasm) stack */
    expect_error("C/wasm recursion",
                 "Count = 1000; local t = setmetatable({}, {__index = function(t, k) return t[k .. 'x'] end}) "
                 "return t.a",
                 "stack overflow");
}

static void huge_output_is_bounded(void **state)
{
    (void)state;
    /* a process with the CU's largest limits, so the output itself, not
     * gas or memory, is what stops it */
    char big[44], pid[44];
    assert_int_equal(fsu_put_module(g_w, g_user, "emscripten-3.1.6", "1-gb", "9000000000000", big), 0);
    assert_int_equal(spawn_of(big, "big", pid), 0);
    expect(pid, "Count = 0; return 'ok'", "ok");
    expect(g_pid2, "Count = 0; return 'other'", "other");
    expect_error_on(pid, "50 MB print", "Count = 1000; print(string.rep('x', 50 * 1024 * 1024)); return 'done'",
                    "result too large");
}

static void message_flood_is_bounded(void **state)
{
    (void)state;
    prime();
    expect_error("flood of Sends",
                 "Count = 1000; for i = 1, 10001 do Send({Target = ao.id, Action = 'Flood', Data = tostring(i)}) end "
                 "return 'sent'",
                 "outbox too large");
    /* a reasonable outbox still goes out */
    cJSON *r = send_eval(g_pid, "for i = 1, 100 do Send({Target = ao.id, Action = 'Ping', Data = tostring(i)}) end "
                                "return 'sent'");
    assert_null(error_text(r));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r, "Messages")), 100);
    cJSON_Delete(r);
}

/* ---- trust ---- */

static void forged_signature_is_rejected_by_the_su(void **state)
{
    (void)state;
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                 {"Action", "Eval"}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(g_user, kt, g_pid, "Count = 99", 10, &raw), AO_OK);
    /* flip a bit of the data (the last byte) and of the signature (byte 2+) */
    raw.data[raw.len - 1] ^= 1;
    su_ack a;
    ao_error err = {0};
    int rc = post_raw(raw.data, raw.len, &a, &err);
    fprintf(stderr, "[trust] forged data -> %d %s\n", rc, err.msg);
    assert_int_equal(rc, AO_EVERIFY);
    raw.data[raw.len - 1] ^= 1;
    raw.data[10] ^= 0x40;
    memset(&err, 0, sizeof err);
    rc = post_raw(raw.data, raw.len, &a, &err);
    fprintf(stderr, "[trust] forged signature -> %d %s\n", rc, err.msg);
    assert_int_equal(rc, AO_EVERIFY);
    ao_buf_free(&raw);
}

static void spoofed_from_process_is_not_trusted(void **state)
{
    (void)state;
    prime();
    expect(g_pid, "Handlers.add('probe', function(m) return m.Action == 'Probe' end, "
                  "function(m) Seen = m.From end); return 'ok'", "ok");
    /* another wallet (an MU that is not an Authority) pushes a message
     * claiming to come from the owner's other process */
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                 {"Action", "Probe"}, {"From-Process", g_pid2}, {NULL, NULL}};
    su_ack a;
    post_as(g_other, kt, g_pid, "x", &a);
    cJSON *r = result_of(g_pid, a.id);
    const char *d = output_data(r);
    fprintf(stderr, "[trust] spoofed From-Process -> %s\n", d ? d : "(none)");
    assert_non_null(d);
    assert_non_null(strstr(d, "Message is not trusted"));
    cJSON_Delete(r);
    expect(g_pid, "tostring(Seen)", "nil");
    /* the same push is trusted once its signer is an Authority */
    char code[160];
    snprintf(code, sizeof code, "ao.authorities = {'%s'}; return 'ok'", g_other_addr);
    expect(g_pid, code, "ok");
    post_as(g_other, kt, g_pid, "x", &a);
    r = result_of(g_pid, a.id);
    cJSON_Delete(r);
    char want[64];
    snprintf(want, sizeof want, "%s", g_pid2);
    expect(g_pid, "tostring(Seen)", want);
}

static void message_from_a_stranger_without_from_process_is_plain(void **state)
{
    (void)state;
    prime();
    /* signed by its sender (From == Owner): trusted as itself, but Eval
     * from anyone but the owner is not run */
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                 {"Action", "Eval"}, {NULL, NULL}};
    su_ack a;
    post_as(g_other, kt, g_pid, "Count = 500; return 'pwned'", &a);
    cJSON *r = result_of(g_pid, a.id);
    const char *d = output_data(r);
    fprintf(stderr, "[trust] stranger's Eval -> %s\n", d ? d : "(none)");
    assert_true(!d || !strstr(d, "pwned"));
    cJSON_Delete(r);
    expect(g_pid, "tostring(Count)", "0");
}

static void replayed_item_gets_the_same_slot(void **state)
{
    (void)state;
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                 {"Action", "Eval"}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(g_user, kt, g_pid, "Count = (Count or 0) + 1", 24, &raw), AO_OK);
    su_ack a1, a2;
    assert_int_equal(post_raw(raw.data, raw.len, &a1, NULL), AO_OK);
    assert_false(a1.duplicate);
    ao_error err = {0};
    int rc = post_raw(raw.data, raw.len, &a2, &err);
    fprintf(stderr, "[trust] replay -> %d dup=%d nonce %lld vs %lld\n", rc, a2.duplicate, (long long)a2.nonce,
            (long long)a1.nonce);
    assert_int_equal(rc, AO_OK);
    assert_true(a2.duplicate);
    assert_string_equal(a1.id, a2.id);
    assert_int_equal(a1.nonce, a2.nonce);
    assert_string_equal(a1.assignment, a2.assignment);
    ao_buf_free(&raw);
    /* the replay was not evaluated a second time: Count went up once */
    cJSON *r = result_of(g_pid, a1.id);
    cJSON_Delete(r);
    expect(g_pid, "tostring(Count)", "1");
}

static void assigned_foreign_message_is_not_trusted(void **state)
{
    (void)state;
    prime();
    /* a message addressed to another process, stored on the weave, then
     * assigned to ours: aos accepts it only if it matches an assignable */
    ktag mk[] = {{"Data-Protocol", "ao"}, {"Type", "Message"}, {"Action", "Eval"}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(g_user, mk, g_pid2, "Count = 777", 11, &raw), AO_OK);
    weave_put_result pr;
    assert_int_equal(weave_put(g_w, raw.data, raw.len, 0, &pr, NULL), AO_OK);
    ao_buf_free(&raw);
    su_ack a;
    assert_int_equal(su_assign(g_su, g_pid, pr.id, false, NULL, &a, NULL, NULL), AO_OK);
    cJSON *r = result_of(g_pid, pr.id);
    const char *d = output_data(r);
    fprintf(stderr, "[trust] foreign assignment -> %s\n", d ? d : "(none)");
    if (!d || !strstr(d, "Assignment is not trusted")) {
        char *all = cJSON_PrintUnformatted(r);
        fprintf(stderr, "%s\n", all);
        free(all);
    }
    assert_non_null(d);
    assert_non_null(strstr(d, "Assignment is not trusted"));
    cJSON_Delete(r);
    expect(g_pid, "tostring(Count)", "0");
    /* assigning an id the weave does not hold is refused */
    ao_error err = {0};
    int rc = su_assign(g_su, g_pid, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false, NULL, &a, NULL, &err);
    fprintf(stderr, "[trust] assign unknown tx -> %d %s\n", rc, err.msg);
    assert_int_not_equal(rc, AO_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(infinite_loop_runs_out_of_gas, setup, teardown),
        cmocka_unit_test_setup_teardown(memory_bomb_hits_the_memory_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(deep_lua_recursion_overflows_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(deep_c_recursion_overflows_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(huge_output_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(message_flood_is_bounded, setup, teardown),
        cmocka_unit_test_setup_teardown(forged_signature_is_rejected_by_the_su, setup, teardown),
        cmocka_unit_test_setup_teardown(spoofed_from_process_is_not_trusted, setup, teardown),
        cmocka_unit_test_setup_teardown(message_from_a_stranger_without_from_process_is_plain, setup, teardown),
        cmocka_unit_test_setup_teardown(replayed_item_gets_the_same_slot, setup, teardown),
        cmocka_unit_test_setup_teardown(assigned_foreign_message_is_not_trusted, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
