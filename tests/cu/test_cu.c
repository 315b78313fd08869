/* test_cu.c - the Compute Unit on our aos module: processes loaded from a
 * (fake, §2.2) SU and a local weave, msg/env fields as aos sees them,
 * results and their paging, dry-run, rollback on Error, runaway messages,
 * module refusals, busy answers, crons. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cu_fake_su.h"

typedef struct fx {
    char dir[64];
    weave *w;
    weave_client data;
    crypto_wallet *owner, *cu_w, *mu_w, *eth;
    char owner_addr[AO_ADDRESS_MAX], mu_addr[AO_ADDRESS_MAX];
    char module[44];
    fsu su;
    cu *c;
    int64_t ts;
} fx;

static fx F;

static void rmrf(const char *dir)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "cannot remove %s\n", dir);
}

static void addr_of(const crypto_wallet *w, char out[AO_ADDRESS_MAX])
{
    size_t n;
    const uint8_t *o = crypto_wallet_owner(w, &n);
    assert_int_equal(crypto_address(crypto_wallet_type(w), o, n, out, NULL), AO_OK);
}

static int open_cu(cu_options *o)
{
    char d[128];
    snprintf(d, sizeof d, "%s/cu", F.dir);
    o->dir = o->dir ? o->dir : d;
    o->wallet = F.cu_w;
    o->su = fsu_client(&F.su);
    o->data = F.data;
    if (!o->threads) o->threads = 2;
    ao_error err = {0};
    int rc = cu_open(o, &F.c, &err);
    if (rc != AO_OK) fprintf(stderr, "cu_open: %s\n", err.msg);
    return rc;
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    snprintf(F.dir, sizeof F.dir, "/tmp/ao-cu-test-XXXXXX");
    if (!mkdtemp(F.dir)) return -1;
    char wd[128];
    snprintf(wd, sizeof wd, "%s/weave", F.dir);
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = true;
    if (weave_open(wd, &wo, &F.w, NULL) != AO_OK) return -1;
    weave_client_local(F.w, &F.data);
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &F.owner, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &F.cu_w, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &F.mu_w, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ETHEREUM, &F.eth, NULL))
        return -1;
    addr_of(F.owner, F.owner_addr);
    addr_of(F.mu_w, F.mu_addr);
    if (fsu_put_module(F.w, F.owner, "emscripten-3.1.6", "1-gb", "9000000000", F.module) != 0) return -1;
    fsu_init(&F.su);
    F.ts = 1700000000000LL;
    cu_options o;
    memset(&o, 0, sizeof o);
    o.no_fsync = true;
    return open_cu(&o);
}

static int teardown(void **state)
{
    (void)state;
    cu_close(F.c);
    fsu_free(&F.su);
    weave_close(F.w);
    crypto_wallet_free(F.owner);
    crypto_wallet_free(F.cu_w);
    crypto_wallet_free(F.mu_w);
    crypto_wallet_free(F.eth);
    rmrf(F.dir);
    return 0;
}

/* A process of module `module` with extra tags (NULL-terminated pairs). */
static void spawn_with(const char *module, const ktag *extra, char pid[44])
{
    ktag kt[32] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"},
                   {"Module", module}, {"Scheduler", "SU"}, {"Name", "cu-test"},
                   {"Authority", F.mu_addr}};
    size_t n = 7;
    for (size_t i = 0; extra && extra[i].n; i++) kt[n++] = extra[i];
    kt[n] = (ktag){NULL, NULL};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(F.owner, kt, NULL, "", 0, &raw), AO_OK);
    assert_int_equal(fsu_add_process(&F.su, raw.data, raw.len, ++F.ts, 1, pid), 0);
    ao_buf_free(&raw);
}

static void spawn(char pid[44]) { spawn_with(F.module, NULL, pid); }

/* A message from wallet w to pid with Action and data; extra tags optional. */
static void send_from(const crypto_wallet *w, const char *pid, const char *action, const char *data,
                      const ktag *extra, char id[44])
{
    ktag kt[32] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Message"},
                   {"Action", action}};
    size_t n = 4;
    for (size_t i = 0; extra && extra[i].n; i++) kt[n++] = extra[i];
    kt[n] = (ktag){NULL, NULL};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(w, kt, pid, data, strlen(data), &raw), AO_OK);
    assert_int_equal(fsu_add_message(&F.su, pid, raw.data, raw.len, ++F.ts, 2, id), 0);
    ao_buf_free(&raw);
}

static void eval_msg(const char *pid, const char *code, char id[44])
{
    send_from(F.owner, pid, "Eval", code, NULL, id);
}

/* cu_result of id, must succeed; returns the parsed result. */
static cJSON *result(const char *pid, const char *id)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    int rc = cu_result(F.c, id, pid, true, &b, &err);
    if (rc != AO_OK) fprintf(stderr, "cu_result: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    ao_buf_append_byte(&b, 0);
    cJSON *j = cJSON_Parse((const char *)b.data);
    if (!j) fprintf(stderr, "bad result JSON: %s\n", (const char *)b.data);
    assert_non_null(j);
    ao_buf_free(&b);
    return j;
}

/* The Output.data of an evaluated Eval (asserting no Error). */
static char *eval_data(const char *pid, const char *code)
{
    char id[44];
    eval_msg(pid, code, id);
    cJSON *j = result(pid, id);
    cJSON *e = cJSON_GetObjectItem(j, "Error");
    if (e) fprintf(stderr, "Eval '%s' Error: %s\n", code, cJSON_PrintUnformatted(e));
    assert_null(e);
    cJSON *o = cJSON_GetObjectItem(j, "Output");
    cJSON *d = cJSON_GetObjectItem(o, "data");
    assert_true(cJSON_IsString(d));
    char *s = strdup(d->valuestring);
    cJSON_Delete(j);
    return s;
}

static void expect_eval(const char *pid, const char *code, const char *want)
{
    char *got = eval_data(pid, code);
    if (strcmp(got, want)) fprintf(stderr, "Eval '%s': got '%s', want '%s'\n", code, got, want);
    assert_string_equal(got, want);
    free(got);
}

/* ------------------------------------------------------------------ tests */

static void process_message_is_evaluated_first_and_eval_works(void **state)
{
    (void)state;
    char pid[44];
    spawn(pid);
    cJSON *r = result(pid, pid);   /* the process's own message */
    assert_null(cJSON_GetObjectItem(r, "Error"));
    assert_non_null(cJSON_GetObjectItem(r, "Messages"));
    cJSON_Delete(r);
    expect_eval(pid, "1 + 41", "42");
    expect_eval(pid, "Name", "cu-test");
    expect_eval(pid, "Owner", F.owner_addr);
    expect_eval(pid, "ao.id", pid);
}

static void msg_fields_as_aos_sees_them(void **state)
{
    (void)state;
    char pid[44], id[44];
    spawn(pid);
    /* a handler that keeps the last Probe message */
    expect_eval(pid, "Handlers.add('probe', function(m) return m.Action == 'Probe' end, "
                     "function(m) Seen = m end); return 'ok'", "ok");
    ktag extra[] = {{"From", "forged"}, {"Owner", "forged-too"}, {"Color", "blue"}, {NULL, NULL}};
    send_from(F.owner, pid, "Probe", "hello", extra, id);
    int64_t probe_ts = F.ts;
    cJSON_Delete(result(pid, id));
    char want[256];
    expect_eval(pid, "Seen.Id", id);
    expect_eval(pid, "Seen.From", F.owner_addr);
    expect_eval(pid, "Seen.Owner", F.owner_addr);
    expect_eval(pid, "Seen.Target", pid);
    expect_eval(pid, "Seen.Data", "hello");
    expect_eval(pid, "Seen.Color", "blue");
    expect_eval(pid, "tostring(Seen.Tags.From) .. ',' .. tostring(Seen.Tags.Owner)", "nil,nil");
    expect_eval(pid, "math.type(Seen.Nonce) .. ' ' .. Seen.Nonce", "integer 2");
    snprintf(want, sizeof want, "integer %lld", (long long)probe_ts);
    expect_eval(pid, "math.type(Seen.Timestamp) .. ' ' .. Seen.Timestamp", want);
    expect_eval(pid, "math.type(Seen['Block-Height']) .. ' ' .. Seen['Block-Height']", "integer 2");
    expect_eval(pid, "Seen.Epoch .. ' ' .. Seen['Hash-Chain']", "0 HC2");
    expect_eval(pid, "tostring(Seen.Cron) .. ' ' .. tostring(Seen['Read-Only'])", "false false");
    expect_eval(pid, "tostring(Seen['Forwarded-By'])", "nil");
    /* pushed by an MU: From = From-Process, Forwarded-By = the MU */
    ktag fp[] = {{"From-Process", "PARENT_PROCESS_000000000000000000000000000"}, {NULL, NULL}};
    send_from(F.mu_w, pid, "Probe", "pushed", fp, id);
    cJSON_Delete(result(pid, id));
    expect_eval(pid, "Seen.From", "PARENT_PROCESS_000000000000000000000000000");
    expect_eval(pid, "Seen['Forwarded-By']", F.mu_addr);
    expect_eval(pid, "Seen.Owner", F.mu_addr);
    /* an Ethereum signer's Owner is its 0x address */
    char eth[AO_ADDRESS_MAX];
    addr_of(F.eth, eth);
    assert_true(eth[0] == '0' && eth[1] == 'x');
    send_from(F.eth, pid, "Probe", "eth", NULL, id);
    cJSON_Delete(result(pid, id));
    expect_eval(pid, "Seen.Owner .. ' ' .. Seen.From", (snprintf(want, sizeof want, "%s %s", eth, eth), want));
}

static void env_carries_process_and_module(void **state)
{
    (void)state;
    char pid[44];
    spawn(pid);
    expect_eval(pid, "ao.env.Process.Id", pid);
    expect_eval(pid, "ao.env.Process.Owner", F.owner_addr);
    expect_eval(pid, "ao.env.Process.Tags.Name", "cu-test");
    expect_eval(pid, "ao.env.Module.Id", F.module);
    expect_eval(pid, "(function() for _, t in ipairs(ao.env.Module.Tags) do "
                     "if t.name == 'Module-Format' then return t.value end end end)()", "emscripten-3.1.6");
}

static void assignment_of_a_stored_tx_is_read_from_the_data_layer(void **state)
{
    (void)state;
    char pid[44];
    spawn(pid);
    expect_eval(pid, "Handlers.add('probe', function(m) return m.Action == 'Probe' end, "
                     "function(m) Seen = m end); return 'ok'", "ok");
    /* a message to pid stored on the weave, then assigned to pid */
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Type", "Message"}, {"Action", "Probe"}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(F.owner, kt, pid, "stored-data", 11, &raw), AO_OK);
    weave_put_result pr;
    assert_int_equal(weave_put(F.w, raw.data, raw.len, 0, &pr, NULL), AO_OK);
    ao_buf_free(&raw);
    assert_int_equal(fsu_assign(&F.su, pid, pr.id, ++F.ts, 3), 0);
    char id[44];
    eval_msg(pid, "Seen.Id .. ' ' .. Seen.Data .. ' ' .. tostring(Seen.Target == ao.id)", id);
    cJSON *r = result(pid, id);
    char want[128];
    snprintf(want, sizeof want, "%s stored-data true", pr.id);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "Output"), "data")->valuestring, want);
    cJSON_Delete(r);
    /* its result is found by the assigned tx id */
    r = result(pid, pr.id);
    assert_null(cJSON_GetObjectItem(r, "Error"));
    cJSON_Delete(r);
}

static void error_rolls_memory_back(void **state)
{
    (void)state;
    char pid[44], id[44];
    spawn(pid);
    expect_eval(pid, "X = 1; return X", "1");
    eval_msg(pid, "X = 2; error('boom')", id);
    cJSON *r = result(pid, id);
    cJSON *e = cJSON_GetObjectItem(r, "Error");
    assert_true(cJSON_IsString(e));
    assert_non_null(strstr(e->valuestring, "boom"));
    cJSON_Delete(r);
    expect_eval(pid, "X", "1");
}

static void runaway_messages_error_and_the_process_continues(void **state)
{
    (void)state;
    char limited[44], pid[44], id[44];
    assert_int_equal(fsu_put_module(F.w, F.owner, "emscripten-3.1.6", "64-mb", "2000000000", limited), 0);
    spawn_with(limited, NULL, pid);
    expect_eval(pid, "Y = 7; return Y", "7");
    const char *bad[] = {"while true do end",                                   /* infinite loop */
                         "local t = {} for i = 1, 1e9 do t[i] = string.rep('x', 1024) .. i end",
                         "local function f(n) return 1 + f(n + 1) end; return f(1)"};
    for (size_t i = 0; i < 3; i++) {
        eval_msg(pid, bad[i], id);
        cJSON *r = result(pid, id);
        if (!cJSON_GetObjectItem(r, "Error")) fprintf(stderr, "no Error for '%s'\n", bad[i]);
        assert_non_null(cJSON_GetObjectItem(r, "Error"));
        cJSON_Delete(r);
        expect_eval(pid, "Y", "7");
    }
}

static void module_limits_and_format_are_checked(void **state)
{
    (void)state;
    char m1[44], m2[44], p1[44], p2[44];
    assert_int_equal(fsu_put_module(F.w, F.owner, "emscripten-3.1.6", "4-gb", NULL, m1), 0);
    assert_int_equal(fsu_put_module(F.w, F.owner, "wasm64-unknown-nothing", NULL, NULL, m2), 0);
    spawn_with(m1, NULL, p1);
    spawn_with(m2, NULL, p2);
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    assert_int_equal(cu_result(F.c, p1, p1, true, &b, &err), AO_ELIMIT);
    assert_non_null(strstr(err.msg, "Memory-Limit"));
    assert_int_equal(cu_result(F.c, p2, p2, true, &b, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "wasm64-unknown-nothing"));
    assert_int_equal(cu_result(F.c, "NOPE", "NOPE", true, &b, &err), AO_ENOTFOUND);
    /* Compute-Limit above the CU's maximum (9e12) */
    char m3[44], p3[44];
    assert_int_equal(fsu_put_module(F.w, F.owner, "emscripten-3.1.6", NULL, "10000000000000", m3), 0);
    spawn_with(m3, NULL, p3);
    assert_int_equal(cu_result(F.c, p3, p3, true, &b, &err), AO_ELIMIT);
    assert_non_null(strstr(err.msg, "Compute-Limit"));
    /* an Input-Encoding this CU does not speak */
    char m4[44], p4[44];
    ao_buf wasm, raw;
    ao_buf_init(&wasm);
    ao_buf_init(&raw);
    assert_int_equal(ao_file_read(getenv("AO_AOS_WASM") ? getenv("AO_AOS_WASM") : "build/aos.wasm", &wasm, NULL), AO_OK);
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Type", "Module"}, {"Module-Format", "emscripten-3.1.6"},
                 {"Input-Encoding", "CBOR-9"}, {"Output-Encoding", "JSON-1"}, {NULL, NULL}};
    assert_int_equal(fsu_sign(F.owner, kt, NULL, wasm.data, wasm.len, &raw), AO_OK);
    weave_put_result pr;
    assert_int_equal(weave_put(F.w, raw.data, raw.len, 0, &pr, NULL), AO_OK);
    snprintf(m4, sizeof m4, "%s", pr.id);
    ao_buf_free(&wasm);
    ao_buf_free(&raw);
    spawn_with(m4, NULL, p4);
    assert_int_equal(cu_result(F.c, p4, p4, true, &b, &err), AO_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "CBOR-9"));
    ao_buf_free(&b);
}

/* The Output of message id (a plain string Output, as build/emproc64.wasm gives). */
static void expect_output_of(const char *pid, const char *id, const char *want)
{
    cJSON *r = result(pid, id);
    cJSON *o = cJSON_GetObjectItem(r, "Output");
    if (cJSON_GetObjectItem(r, "Error") || !cJSON_IsString(o) || strcmp(o->valuestring, want) != 0) {
        char *t = cJSON_PrintUnformatted(r);
        fprintf(stderr, "result %s, wanted Output %s\n", t, want);
        free(t);
    }
    assert_true(cJSON_IsString(o) && strcmp(o->valuestring, want) == 0);
    cJSON_Delete(r);
}

static void wasm64_modules_run_with_their_format(void **state)
{
    (void)state;
    const char *path = getenv("AO_EMPROC64_WASM");
    char mod[44], pid[44], id[44];
    assert_int_equal(fsu_put_module_file(F.w, F.owner, path ? path : "build/emproc64.wasm",
                                         "wasm64-unknown-emscripten-draft_2024_02_15", "64-mb", NULL, mod),
                     0);
    spawn_with(mod, NULL, pid);   /* the process message is the first one handled */
    send_from(F.owner, pid, "Count", "", NULL, id);
    expect_output_of(pid, id, "count 2");
    send_from(F.owner, pid, "Fail", "", NULL, id);
    cJSON *r = result(pid, id);
    assert_non_null(cJSON_GetObjectItem(r, "Error"));
    cJSON_Delete(r);
    send_from(F.owner, pid, "Longjmp", "", NULL, id);
    expect_output_of(pid, id, "state 1 threw 1 value 0 sum 42 sp kept");
    /* beyond the 64 MiB Memory-Limit: the module sees the growth fail */
    send_from(F.owner, pid, "High", "", NULL, id);
    expect_output_of(pid, id, "no memory");
    /* a new CU on the same store resumes from its checkpoint or the log */
    cu_close(F.c);
    F.c = NULL;
    cu_options o;
    memset(&o, 0, sizeof o);
    o.no_fsync = true;
    assert_int_equal(open_cu(&o), AO_OK);
    send_from(F.owner, pid, "Count", "", NULL, id);
    expect_output_of(pid, id, "count 5");
}

static void checkpoint_after_evaluation_time(void **state)
{
    (void)state;
    cu_close(F.c);
    cu_options o;
    memset(&o, 0, sizeof o);
    o.no_fsync = true;
    o.checkpoint_every = 1000000;
    o.checkpoint_ms = 1;   /* any evaluation is long enough */
    assert_int_equal(open_cu(&o), AO_OK);
    char pid[44];
    spawn(pid);
    cu_stats st;
    cu_get_stats(F.c, &st);
    assert_int_equal(st.checkpoints, 0);
    expect_eval(pid, "local s = 0 for i = 1, 1e5 do s = s + i end return s", "5000050000");
    /* the worker writes it just after the results are answered */
    for (int i = 0; i < 500; i++) {
        cu_get_stats(F.c, &st);
        if (st.checkpoints >= 1) break;
        usleep(10000);
    }
    assert_true(st.checkpoints >= 1);
    assert_int_equal(st.live_processes, 1);
}

static void results_pages_with_cursors(void **state)
{
    (void)state;
    char pid[44], id[44];
    spawn(pid);
    for (int i = 0; i < 9; i++) {
        char code[32];
        snprintf(code, sizeof code, "%d", i);
        eval_msg(pid, code, id);
    }
    cJSON_Delete(result(pid, id));   /* evaluates all 10 */
    /* ASC pages of 4: 4 + 4 + 2, cursors chain */
    const char *from = NULL;
    char cursor[512] = "";
    int seen = 0, pages = 0;
    for (;;) {
        ao_buf b;
        ao_buf_init(&b);
        ao_error err = {0};
        assert_int_equal(cu_results(F.c, pid, from, NULL, "ASC", "4", &b, &err), AO_OK);
        ao_buf_append_byte(&b, 0);
        cJSON *j = cJSON_Parse((const char *)b.data);
        ao_buf_free(&b);
        cJSON *edges = cJSON_GetObjectItem(j, "edges");
        int n = cJSON_GetArraySize(edges);
        for (int k = 0; k < n; k++) {
            cJSON *node = cJSON_GetObjectItem(cJSON_GetArrayItem(edges, k), "node");
            if (seen > 0) {
                char want[16];
                snprintf(want, sizeof want, "%d", seen - 1);
                assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(node, "Output"), "data")->valuestring,
                                    want);
            }
            seen++;
        }
        snprintf(cursor, sizeof cursor, "%s", cJSON_GetObjectItem(cJSON_GetArrayItem(edges, n - 1), "cursor")->valuestring);
        bool more = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "pageInfo"), "hasNextPage"));
        cJSON_Delete(j);
        pages++;
        if (!more) break;
        from = cursor;
    }
    assert_int_equal(seen, 10);
    assert_int_equal(pages, 3);
    /* the cursor is base64 JSON with timestamp, ordinate, sort */
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(cu_results(F.c, pid, NULL, NULL, "DESC", "1", &b, NULL), AO_OK);
    ao_buf_append_byte(&b, 0);
    cJSON *j = cJSON_Parse((const char *)b.data);
    const char *c = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "edges"), 0), "cursor")->valuestring;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "echo '%s' | base64 -d", c);
    FILE *pf = popen(cmd, "r");
    char dec[256] = "";
    assert_non_null(fgets(dec, sizeof dec, pf));
    pclose(pf);
    char want[256];
    snprintf(want, sizeof want, "{\"timestamp\":%lld,\"ordinate\":\"9\",\"sort\":\"DESC\"}", (long long)F.ts);
    assert_string_equal(dec, want);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(
                            cJSON_GetArrayItem(cJSON_GetObjectItem(j, "edges"), 0), "node"), "Output"), "data")->valuestring,
                        "8");
    cJSON_Delete(j);
    /* from/to as timestamps: (ts-3, ts] holds the last 3 */
    ao_buf_reset(&b);
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%lld", (long long)F.ts - 3);
    snprintf(hi, sizeof hi, "%lld", (long long)F.ts);
    assert_int_equal(cu_results(F.c, pid, lo, hi, NULL, NULL, &b, NULL), AO_OK);
    ao_buf_append_byte(&b, 0);
    j = cJSON_Parse((const char *)b.data);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "edges")), 3);
    cJSON_Delete(j);
    ao_error err = {0};
    assert_int_equal(cu_results(F.c, pid, NULL, NULL, "SIDEWAYS", NULL, &b, &err), AO_EINVAL);
    assert_int_equal(cu_results(F.c, pid, NULL, NULL, NULL, "-3", &b, &err), AO_EINVAL);
    assert_int_equal(cu_results(F.c, pid, "not a cursor!", NULL, NULL, NULL, &b, &err), AO_EINVAL);
    ao_buf_free(&b);
}

static void dry_run_sees_latest_state_and_persists_nothing(void **state)
{
    (void)state;
    char pid[44];
    spawn(pid);
    expect_eval(pid, "Z = 10; return Z", "10");
    char body[512];
    snprintf(body, sizeof body,
             "{\"Id\":\"dry\",\"Owner\":\"%s\",\"Target\":\"%s\",\"Data\":\"Z = Z + 5; return Z\","
             "\"Tags\":[{\"name\":\"Action\",\"value\":\"Eval\"}]}", F.owner_addr, pid);
    for (int i = 0; i < 2; i++) {
        ao_buf b;
        ao_buf_init(&b);
        ao_error err = {0};
        int rc = cu_dry_run(F.c, pid, NULL, body, strlen(body), &b, &err);
        if (rc) fprintf(stderr, "dry-run: %s\n", err.msg);
        assert_int_equal(rc, AO_OK);
        ao_buf_append_byte(&b, 0);
        assert_non_null(strstr((const char *)b.data, "\"data\":\"15\""));
        ao_buf_free(&b);
    }
    /* Read-Only is set */
    snprintf(body, sizeof body,
             "{\"Owner\":\"%s\",\"Data\":\"return 1\",\"Tags\":[{\"name\":\"Action\",\"value\":\"Probe\"}]}",
             F.owner_addr);
    expect_eval(pid, "Handlers.add('probe', function(m) return m.Action == 'Probe' end, "
                     "function(m) print(tostring(m['Read-Only']) .. ' ' .. m.From) end); return 'ok'", "ok");
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(cu_dry_run(F.c, pid, NULL, body, strlen(body), &b, NULL), AO_OK);
    ao_buf_append_byte(&b, 0);
    char want[128];
    snprintf(want, sizeof want, "true %s", F.owner_addr);
    assert_non_null(strstr((const char *)b.data, want));
    ao_buf_reset(&b);
    /* nothing persisted: Z still 10, and no result row beyond the Evals */
    expect_eval(pid, "Z", "10");
    assert_int_equal(cu_results(F.c, pid, NULL, NULL, NULL, "100", &b, NULL), AO_OK);
    ao_buf_append_byte(&b, 0);
    cJSON *j = cJSON_Parse((const char *)b.data);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "edges")), 4);
    cJSON_Delete(j);
    ao_buf_free(&b);
    ao_error err = {0};
    assert_int_equal(cu_dry_run(F.c, pid, NULL, "[1]", 3, &b, &err), AO_EINVAL);
}

static void state_returns_memory_and_meta(void **state)
{
    (void)state;
    char pid[44];
    spawn(pid);
    expect_eval(pid, "1", "1");
    ao_buf m;
    ao_buf_init(&m);
    cu_state_meta meta;
    assert_int_equal(cu_state(F.c, pid, NULL, &m, &meta, NULL), AO_OK);
    assert_true(m.len >= 65536 && m.len % 65536 == 0);
    assert_int_equal(meta.ordinate, 1);
    assert_int_equal(meta.timestamp, F.ts);
    assert_int_equal(meta.block_height, 2);
    ao_buf_free(&m);
}

static void damaged_checkpoints_rebuild_from_the_log(void **state)
{
    (void)state;
    char pid[44], id[44];
    spawn(pid);
    expect_eval(pid, "W = 41; return W", "41");
    assert_int_equal(cu_checkpoint_all(F.c, NULL), AO_OK);
    cu_stats st;
    cu_get_stats(F.c, &st);
    assert_true(st.checkpoints >= 1);
    cu_close(F.c);
    /* the checkpoint files are damaged (cu.db still names them) */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "for f in %s/cu/checkpoints/*; do echo damaged > $f; done", F.dir);
    assert_int_equal(system(cmd), 0);
    cu_options o;
    memset(&o, 0, sizeof o);
    o.no_fsync = true;
    assert_int_equal(open_cu(&o), AO_OK);
    eval_msg(pid, "W + 1", id);
    cJSON *r = result(pid, id);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "Output"), "data")->valuestring, "42");
    cJSON_Delete(r);
}

static void state_and_dry_run_at_an_older_message(void **state)
{
    (void)state;
    char pid[44], id2[44];
    spawn(pid);
    expect_eval(pid, "A = 1; return A", "1");
    assert_int_equal(cu_checkpoint_all(F.c, NULL), AO_OK);   /* a checkpoint before the target */
    eval_msg(pid, "A = 2; return A", id2);
    cJSON_Delete(result(pid, id2));
    int64_t ts2 = F.ts;
    ao_buf s2, old;
    ao_buf_init(&s2);
    ao_buf_init(&old);
    cu_state_meta m2, mo;
    assert_int_equal(cu_state(F.c, pid, NULL, &s2, &m2, NULL), AO_OK);
    expect_eval(pid, "A = 3; return A", "3");
    char to[32];
    snprintf(to, sizeof to, "%lld", (long long)ts2);
    ao_error err = {0};
    int rc = cu_state(F.c, pid, to, &old, &mo, &err);
    if (rc) fprintf(stderr, "cu_state to: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    assert_int_equal(mo.ordinate, m2.ordinate);
    assert_int_equal(mo.timestamp, ts2);
    assert_int_equal(old.len, s2.len);
    assert_true(memcmp(old.data, s2.data, s2.len) == 0);
    ao_buf_free(&s2);
    ao_buf_free(&old);
    /* dry-run at the second message sees A = 2; at the latest A = 3 */
    char body[256];
    snprintf(body, sizeof body, "{\"Owner\":\"%s\",\"Data\":\"A\",\"Tags\":[{\"name\":\"Action\",\"value\":\"Eval\"}]}",
             F.owner_addr);
    ao_buf b;
    ao_buf_init(&b);
    rc = cu_dry_run(F.c, pid, id2, body, strlen(body), &b, &err);
    if (rc) fprintf(stderr, "dry-run to: %s\n", err.msg);
    assert_int_equal(rc, AO_OK);
    ao_buf_append_byte(&b, 0);
    assert_non_null(strstr((const char *)b.data, "\"data\":\"2\""));
    ao_buf_reset(&b);
    assert_int_equal(cu_dry_run(F.c, pid, NULL, body, strlen(body), &b, NULL), AO_OK);
    ao_buf_append_byte(&b, 0);
    assert_non_null(strstr((const char *)b.data, "\"data\":\"3\""));
    ao_buf_free(&b);
    /* nothing of the replays was stored: the process and three Evals */
    ao_buf_init(&b);
    assert_int_equal(cu_results(F.c, pid, NULL, NULL, NULL, NULL, &b, NULL), AO_OK);
    ao_buf_append_byte(&b, 0);
    cJSON *j = cJSON_Parse((const char *)b.data);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "edges")), 4);
    cJSON_Delete(j);
    ao_buf_free(&b);
}

static void busy_when_evaluation_is_slow(void **state)
{
    (void)state;
    cu_close(F.c);
    cu_options o;
    memset(&o, 0, sizeof o);
    o.no_fsync = true;
    o.busy_ms = 1;
    assert_int_equal(open_cu(&o), AO_OK);
    char pid[44], id[44];
    spawn(pid);
    eval_msg(pid, "local x = 0 for i = 1, 3e6 do x = x + i end return x", id);
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    assert_int_equal(cu_result(F.c, id, pid, false, &b, &err), AO_EBUSY);
    ao_buf_append_byte(&b, 0);
    char want[128];
    snprintf(want, sizeof want, "{\"message\":\"Evaluation of process %s is in progress.\"}", pid);
    assert_string_equal((const char *)b.data, want);
    ao_buf_reset(&b);
    assert_int_equal(cu_result(F.c, id, pid, true, &b, &err), AO_OK);   /* no-busy waits */
    ao_buf_free(&b);
}

static void cron_messages_between_scheduled_ones(void **state)
{
    (void)state;
    char pid[44], id[44];
    ktag cron[] = {{"Cron-Interval", "1-minutes"}, {"Cron-Tag-Action", "Tick"}, {NULL, NULL}};
    int64_t t0 = ao_now_ms() - 3 * 60000 - 30000;
    F.ts = t0 - 1;
    spawn_with(F.module, cron, pid);
    expect_eval(pid, "Ticks = 0; Handlers.add('tick', function(m) return m.Action == 'Tick' and m.Cron end, "
                     "function(m) Ticks = Ticks + 1; LastTick = m end); return 'ok'", "ok");
    F.ts = t0 + 2 * 60000 + 5000;   /* two cron ticks before this one */
    eval_msg(pid, "Ticks", id);
    cJSON *r = result(pid, id);
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(r, "Output"), "data")->valuestring, "2");
    cJSON_Delete(r);
    char want[512];
    snprintf(want, sizeof want, "%lld %s %s %s", (long long)(t0 + 120000), F.owner_addr, F.owner_addr, pid);
    expect_eval(pid, "LastTick.Timestamp .. ' ' .. LastTick.Owner .. ' ' .. LastTick.From .. ' ' .. LastTick.Target",
                want);
    expect_eval(pid, "tostring(LastTick.Id) .. ' ' .. tostring(LastTick.Nonce)", "nil nil");
    /* /cron evaluates the due ones up to now: one more (t0 + 3 min) */
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = {0};
    assert_int_equal(cu_cron(F.c, pid, NULL, NULL, NULL, &b, &err), AO_OK);
    ao_buf_append_byte(&b, 0);
    cJSON *j = cJSON_Parse((const char *)b.data);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "edges")), 3);
    cJSON_Delete(j);
    ao_buf_free(&b);
    F.ts = ao_now_ms();
    expect_eval(pid, "Ticks", "3");
}

static void block_cron_ticks_on_every_nth_block(void **state)
{
    (void)state;
    weave_info wi;
    assert_int_equal(weave_get_info(F.w, &wi, NULL), AO_OK);
    int64_t h0 = wi.height;
    char pid[44], id[44];
    /* the process at block h0 (the fake SU's record says so) */
    ktag kt[] = {{"Data-Protocol", "ao"}, {"Variant", "ao.TN.1"}, {"Type", "Process"}, {"Module", F.module},
                 {"Scheduler", "SU"}, {"Name", "cron-blocks"}, {"Cron-Interval", "2-blocks"},
                 {"Cron-Tag-Action", "Tick"}, {NULL, NULL}};
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(fsu_sign(F.owner, kt, NULL, "", 0, &raw), AO_OK);
    F.ts = ao_now_ms() - 60000;
    assert_int_equal(fsu_add_process(&F.su, raw.data, raw.len, F.ts, h0, pid), 0);
    ao_buf_free(&raw);
    expect_eval(pid, "Ticks = 0; Handlers.add('tick', function(m) return m.Action == 'Tick' and m.Cron end, "
                     "function(m) Ticks = Ticks + 1; H = (H and H .. ',' or '') .. m['Block-Height'] .. '@' .. m.Timestamp end); return 'ok'", "ok");
    /* six more blocks (one per stored item in an instant weave) */
    for (int i = 0; i < 6; i++) {
        ktag t[] = {{"Type", "Filler"}, {NULL, NULL}};
        ao_buf_init(&raw);
        assert_int_equal(fsu_sign(F.owner, t, NULL, "x", 1, &raw), AO_OK);
        weave_put_result pr;
        assert_int_equal(weave_put(F.w, raw.data, raw.len, 0, &pr, NULL), AO_OK);
        ao_buf_free(&raw);
    }
    assert_int_equal(weave_get_info(F.w, &wi, NULL), AO_OK);
    int64_t n = (wi.height - h0) / 2;
    assert_true(n >= 2);
    F.ts = ao_now_ms() + 1000;
    eval_msg(pid, "Ticks .. ' ' .. H", id);
    cJSON *r = result(pid, id);
    char want[64];
    snprintf(want, sizeof want, "%lld %lld@", (long long)n, (long long)(h0 + 2));
    const char *got = cJSON_GetObjectItem(cJSON_GetObjectItem(r, "Output"), "data")->valuestring;
    if (strncmp(got, want, strlen(want))) fprintf(stderr, "got %s want %s...\n", got, want);
    assert_true(strncmp(got, want, strlen(want)) == 0);
    snprintf(want, sizeof want, ",%lld@", (long long)(h0 + 2 * n));
    assert_non_null(strstr(got, want));
    cJSON_Delete(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(process_message_is_evaluated_first_and_eval_works, setup, teardown),
        cmocka_unit_test_setup_teardown(msg_fields_as_aos_sees_them, setup, teardown),
        cmocka_unit_test_setup_teardown(env_carries_process_and_module, setup, teardown),
        cmocka_unit_test_setup_teardown(assignment_of_a_stored_tx_is_read_from_the_data_layer, setup, teardown),
        cmocka_unit_test_setup_teardown(error_rolls_memory_back, setup, teardown),
        cmocka_unit_test_setup_teardown(runaway_messages_error_and_the_process_continues, setup, teardown),
        cmocka_unit_test_setup_teardown(module_limits_and_format_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(wasm64_modules_run_with_their_format, setup, teardown),
        cmocka_unit_test_setup_teardown(checkpoint_after_evaluation_time, setup, teardown),
        cmocka_unit_test_setup_teardown(results_pages_with_cursors, setup, teardown),
        cmocka_unit_test_setup_teardown(dry_run_sees_latest_state_and_persists_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(state_returns_memory_and_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(damaged_checkpoints_rebuild_from_the_log, setup, teardown),
        cmocka_unit_test_setup_teardown(state_and_dry_run_at_an_older_message, setup, teardown),
        cmocka_unit_test_setup_teardown(busy_when_evaluation_is_slow, setup, teardown),
        cmocka_unit_test_setup_teardown(cron_messages_between_scheduled_ones, setup, teardown),
        cmocka_unit_test_setup_teardown(block_cron_ticks_on_every_nth_block, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
