/* test_cu_su.c - the CU fed by the real Scheduler Unit (src/su) over the
 * weave: processes and messages posted to the SU, an existing transaction
 * assigned, results read through the CU; the schedule JSON, nonces,
 * timestamps and hash chains the SU writes are what aos sees. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cu_fake_su.h"
#include "su/su.h"

static char g_dir[64];
static weave *g_w;
static weave_client g_data;
static su *g_su;
static cu *g_cu;
static crypto_wallet *g_user, *g_suw, *g_cuw;
static char g_module[44];

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

static int setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/ao-cu-su-XXXXXX");
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
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_suw, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_cuw, NULL))
        return -1;
    if (fsu_put_module(g_w, g_user, "emscripten-3.1.6", "1-gb", NULL, g_module) != 0) return -1;
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
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    cu_close(g_cu);
    su_close(g_su);
    weave_close(g_w);
    crypto_wallet_free(g_user);
    crypto_wallet_free(g_suw);
    crypto_wallet_free(g_cuw);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

static void post(const ktag *kt, const char *target, const char *data, su_ack *ack)
{
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(g_user, kt, target, data, strlen(data), &raw), AO_OK);
    ao_error err = {0};
    int rc = su_post_item(g_su, raw.data, raw.len, ack, NULL, &err);
    if (rc != AO_OK) fprintf(stderr, "su_post_item: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    ao_buf_free(&raw);
}

static char *eval(const char *pid, const char *code)
{
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                 {"Action", "Eval"}, {NULL, NULL}};
    su_ack ack;
    post(kt, pid, code, &ack);
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    int rc = cu_result(g_cu, ack.id, pid, true, &b, &err);
    if (rc != AO_OK) fprintf(stderr, "cu_result: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    ao_buf_append_byte(&b, 0);
    cJSON *j = cJSON_Parse((const char *)b.data);
    ao_buf_free(&b);
    assert_null(cJSON_GetObjectItem(j, "Error"));
    char *s = strdup(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Output"), "data")->valuestring);
    cJSON_Delete(j);
    return s;
}

static void expect(const char *pid, const char *code, const char *want)
{
    char *got = eval(pid, code);
    if (strcmp(got, want)) fprintf(stderr, "'%s': got '%s' want '%s'\n", code, got, want);
    assert_string_equal(got, want);
    free(got);
}

static void results_of_a_real_su_schedule(void **state)
{
    (void)state;
    ktag pk[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"},
                 {"Module", g_module}, {"Scheduler", su_address(g_su)}, {"Name", "with-su"}, {NULL, NULL}};
    su_ack p;
    post(pk, NULL, "", &p);
    char pid[44], want[256];
    snprintf(pid, sizeof pid, "%s", p.id);
    /* the process's own result, asked by its id */
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(cu_result(g_cu, pid, pid, true, &b, NULL), AO_OK);
    ao_buf_free(&b);
    snprintf(want, sizeof want, "with-su %s", pid);
    expect(pid, "Name .. ' ' .. ao.id", want);
    expect(pid, "Handlers.add('probe', function(m) return m.Action == 'Probe' end, "
                "function(m) Seen = m end); return 'ok'", "ok");
    /* a message stored elsewhere, assigned to the process */
    ktag mk[] = {{"Data-Protocol", "ao"}, {"Type", "Message"}, {"Action", "Probe"}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(g_user, mk, pid, "assigned", 8, &raw), AO_OK);
    weave_put_result pr;
    assert_int_equal(weave_put(g_w, raw.data, raw.len, 0, &pr, NULL), AO_OK);
    ao_buf_free(&raw);
    su_ack a;
    ao_error err = {0};
    int rc = su_assign(g_su, pid, pr.id, false, NULL, &a, NULL, &err);
    if (rc) fprintf(stderr, "su_assign: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    snprintf(want, sizeof want, "%s assigned 3 true", pr.id);
    expect(pid, "Seen.Id .. ' ' .. Seen.Data .. ' ' .. Seen.Nonce .. ' ' .. tostring(Seen.Target == ao.id)", want);
    expect(pid, "tostring(#Seen['Hash-Chain'] == 43) .. ' ' .. math.type(Seen['Block-Height'])", "true integer");
    /* results pages hold every message so far, the process first */
    ao_buf_init(&b);
    assert_int_equal(cu_results(g_cu, pid, NULL, NULL, "ASC", "100", &b, NULL), AO_OK);
    ao_buf_append_byte(&b, 0);
    cJSON *j = cJSON_Parse((const char *)b.data);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "edges")), 6);
    cJSON_Delete(j);
    ao_buf_free(&b);
    /* many messages at once: one run evaluates them all in order */
    ktag ek[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                 {"Action", "Eval"}, {NULL, NULL}};
    su_ack last;
    for (int i = 0; i < 30; i++) post(ek, pid, "N = (N or 0) + 1; return N", &last);
    ao_buf_init(&b);
    assert_int_equal(cu_result(g_cu, last.id, pid, true, &b, NULL), AO_OK);
    ao_buf_append_byte(&b, 0);
    assert_non_null(strstr((const char *)b.data, "\"data\":\"30\""));
    ao_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(results_of_a_real_su_schedule, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
