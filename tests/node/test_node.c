/*
 * test_node.c - `ao up` as a library (src/node): node_start in a temporary
 * folder on free ports, node.json and the wallets, the aos Module item and
 * the Scheduler-Location record as the gateway serves them, a restart that
 * keeps the module id and the wallets, then the whole flow over HTTP
 * (libcurl): a signed aos Process and an Eval posted to the MU, the CU's
 * /result with the aos Output and prompt, and a Send from one process to
 * another cranked by the MU and seen in the second process's results.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <cJSON.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "crypto/crypto.h"
#include "item/item.h"
#include "node/node.h"

static char *g_dir;
static node *g_node;
static node_info g_info;
static crypto_wallet *g_user;   /* the processes' owner */
static char g_user_addr[AO_ADDRESS_MAX];

/* ---- helpers ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ao_buf *b = ud;
    return ao_buf_append(b, p, size * n) == AO_OK ? size * n : 0;
}

/* One HTTP request; body (may be NULL) is sent raw. out gets the answer
 * (NUL-terminated); returns the status, or -1 if unreachable. */
static long http(const char *method, const char *url, const void *body, size_t len,
                 const char *content_type, ao_buf *out)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    struct curl_slist *h = NULL;
    ao_buf_reset(out);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)len);
        char ct[128];
        snprintf(ct, sizeof ct, "Content-Type: %s", content_type);
        h = curl_slist_append(h, ct);
        curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    }
    long status = -1;
    if (curl_easy_perform(c) == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    ao_buf_append_byte(out, 0);
    out->len--;
    return status;
}

static cJSON *http_json(const char *method, const char *url, const void *body, size_t len,
                        const char *content_type, long *status)
{
    ao_buf b;
    ao_buf_init(&b);
    *status = http(method, url, body, len, content_type, &b);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    if (!j)
        fprintf(stderr, "%s %s -> %ld, not JSON: %.300s\n", method, url, *status,
                b.data ? (const char *)b.data : "");
    ao_buf_free(&b);
    return j;
}

static cJSON *gql(const char *query)
{
    char url[256];
    snprintf(url, sizeof url, "%s/graphql", g_info.gateway_url);
    cJSON *req = cJSON_CreateObject();
    cJSON_AddStringToObject(req, "query", query);
    char *text = cJSON_PrintUnformatted(req);
    cJSON_Delete(req);
    long st;
    cJSON *j = http_json("POST", url, text, strlen(text), "application/json", &st);
    free(text);
    assert_int_equal(st, 200);
    assert_non_null(j);
    return j;
}

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Value of the first tag `name` in a [{name,value}] array, or NULL. */
static const char *tag_value(const cJSON *tags, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const char *n = jstr(t, "name");
        if (n && !strcmp(n, name))
            return jstr(t, "value");
    }
    return NULL;
}

static void file_bytes(const char *path, ao_buf *out)
{
    ao_error err = { 0 };
    ao_buf_init(out);
    if (ao_file_read(path, out, &err) != AO_OK)
        fail_msg("%s: %s", path, err.msg);
}

static void rm_rf(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d);
}

static int start_node(void)
{
    node_options o = { 0 };
    o.data_dir = g_dir;
    o.any_ports = true;
    o.block_interval_ms = 200;
    o.cu_threads = 2;
    ao_error err = { 0 };
    if (node_start(&o, &g_node, &err) != AO_OK) {
        fprintf(stderr, "node_start: %s\n", err.msg);
        return -1;
    }
    node_get_info(g_node, &g_info);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    ao_log_configure(AO_LOG_WARN, false);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    g_dir = strdup("/tmp/ao-node-test-XXXXXX");
    if (!g_dir || !mkdtemp(g_dir))
        return -1;
    ao_error err = { 0 };
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &g_user, &err) != AO_OK)
        return -1;
    size_t olen;
    const uint8_t *owner = crypto_wallet_owner(g_user, &olen);
    crypto_owner_address_b64(owner, olen, g_user_addr);
    return start_node();
}

static int teardown(void **state)
{
    (void)state;
    node_stop(g_node);
    crypto_wallet_free(g_user);
    if (g_dir)
        rm_rf(g_dir);
    free(g_dir);
    curl_global_cleanup();
    return 0;
}

/* ---- node.json, wallets ---- */

static void node_json_names_every_unit(void **state)
{
    (void)state;
    char path[512];
    snprintf(path, sizeof path, "%s/node.json", g_dir);
    ao_buf b;
    file_bytes(path, &b);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    assert_non_null(j);
    assert_string_equal(jstr(j, "gateway"), g_info.gateway_url);
    assert_string_equal(jstr(j, "su"), g_info.su_url);
    assert_string_equal(jstr(j, "cu"), g_info.cu_url);
    assert_string_equal(jstr(j, "mu"), g_info.mu_url);
    assert_string_equal(jstr(j, "suAddress"), g_info.su_address);
    assert_string_equal(jstr(j, "muAddress"), g_info.mu_address);
    assert_string_equal(jstr(j, "cuAddress"), g_info.cu_address);
    assert_string_equal(jstr(j, "aosModule"), g_info.aos_module);
    const cJSON *pid = cJSON_GetObjectItemCaseSensitive(j, "pid");
    assert_true(cJSON_IsNumber(pid));
    assert_int_equal((long)pid->valuedouble, (long)getpid());
    assert_int_equal(strlen(g_info.su_address), 43);
    assert_int_equal(strlen(g_info.mu_address), 43);
    assert_int_equal(strlen(g_info.aos_module), 43);
    /* four distinct ports on loopback */
    assert_string_not_equal(g_info.su_url, g_info.cu_url);
    assert_string_not_equal(g_info.cu_url, g_info.mu_url);
    assert_string_not_equal(g_info.gateway_url, g_info.su_url);
    assert_non_null(strstr(g_info.mu_url, "http://127.0.0.1:"));
    cJSON_Delete(j);
}

static void wallets_are_private_and_typed(void **state)
{
    (void)state;
    const char *names[] = { "su", "mu", "cu" };
    const crypto_key_type want[] = { CRYPTO_KEY_ED25519, CRYPTO_KEY_ARWEAVE, CRYPTO_KEY_ARWEAVE };
    const char *addrs[] = { g_info.su_address, g_info.mu_address, g_info.cu_address };
    for (int i = 0; i < 3; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/wallets/%s.json", g_dir, names[i]);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 0777, 0600);
        crypto_wallet *w = NULL;
        ao_error err = { 0 };
        assert_int_equal(crypto_wallet_load(path, &w, &err), AO_OK);
        assert_int_equal(crypto_wallet_type(w), want[i]);
        size_t olen;
        const uint8_t *owner = crypto_wallet_owner(w, &olen);
        char addr[AO_ADDRESS_MAX];
        crypto_owner_address_b64(owner, olen, addr);
        assert_string_equal(addr, addrs[i]);
        crypto_wallet_free(w);
    }
}

/* ---- the aos module and the scheduler location, as the gateway serves them ---- */

static void module_published_with_protocol_tags(void **state)
{
    (void)state;
    char q[512];
    snprintf(q, sizeof q,
             "{ transactions(ids:[\"%s\"]) { edges { node { id owner { address } "
             "tags { name value } data { size type } } } } }",
             g_info.aos_module);
    cJSON *j = gql(q);
    const cJSON *edges = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"),
                                         "transactions"),
        "edges");
    assert_int_equal(cJSON_GetArraySize(edges), 1);
    const cJSON *nd = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(edges, 0), "node");
    assert_string_equal(jstr(cJSON_GetObjectItemCaseSensitive(nd, "owner"), "address"),
                        g_info.su_address);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(nd, "tags");
    assert_string_equal(tag_value(tags, "Data-Protocol"), "ao");
    assert_string_equal(tag_value(tags, "Type"), "Module");
    assert_string_equal(tag_value(tags, "Module-Format"), "emscripten-3.1.6");
    assert_string_equal(tag_value(tags, "Input-Encoding"), "JSON-1");
    assert_string_equal(tag_value(tags, "Output-Encoding"), "JSON-1");
    assert_string_equal(tag_value(tags, "Variant"), "ao.TN.1");
    assert_string_equal(tag_value(tags, "Content-Type"), "application/wasm");
    assert_string_equal(tag_value(tags, "Memory-Limit"), "1-gb");
    assert_string_equal(tag_value(tags, "Compute-Limit"), "9000000000000");
    assert_string_equal(tag_value(tags, "Name"), "aos");
    cJSON_Delete(j);

    /* its data is build/aos.wasm, byte for byte */
    char url[256];
    snprintf(url, sizeof url, "%s/raw/%s", g_info.gateway_url, g_info.aos_module);
    ao_buf got, want;
    ao_buf_init(&got);
    assert_int_equal(http("GET", url, NULL, 0, NULL, &got), 200);
    file_bytes("build/aos.wasm", &want);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.data, want.data, want.len);
    ao_buf_free(&got);
    ao_buf_free(&want);
}

static void scheduler_location_resolves_to_su(void **state)
{
    (void)state;
    char q[512];
    snprintf(q, sizeof q,
             "{ transactions(owners:[\"%s\"], tags:[{name:\"Data-Protocol\",values:[\"ao\"]},"
             "{name:\"Type\",values:[\"Scheduler-Location\"]}], sort:HEIGHT_DESC, first:1) "
             "{ edges { node { tags { name value } } } } }",
             g_info.su_address);
    cJSON *j = gql(q);
    const cJSON *edges = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"),
                                         "transactions"),
        "edges");
    assert_int_equal(cJSON_GetArraySize(edges), 1);
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(edges, 0), "node"), "tags");
    assert_string_equal(tag_value(tags, "Url"), g_info.su_url);
    assert_non_null(tag_value(tags, "Time-To-Live"));
    cJSON_Delete(j);
    /* and the SU there answers with that address */
    long st;
    char url[256];
    snprintf(url, sizeof url, "%s/", g_info.su_url);
    cJSON *info = http_json("GET", url, NULL, 0, NULL, &st);
    assert_int_equal(st, 200);
    assert_string_equal(jstr(info, "address"), g_info.su_address);
    cJSON_Delete(info);
}

static void every_unit_answers_health(void **state)
{
    (void)state;
    const char *urls[] = { g_info.su_url, g_info.cu_url, g_info.mu_url };
    for (int i = 0; i < 3; i++) {
        char url[256];
        long st;
        snprintf(url, sizeof url, "%s/health", urls[i]);
        cJSON *j = http_json("GET", url, NULL, 0, NULL, &st);
        assert_int_equal(st, 200);
        assert_string_equal(jstr(j, "status"), "ok");
        cJSON_Delete(j);
    }
}

/* ---- one node per folder ---- */

static void second_node_on_the_same_folder_refused(void **state)
{
    (void)state;
    node_options o = { 0 };
    o.data_dir = g_dir;
    o.any_ports = true;
    node *second = NULL;
    ao_error err = { 0 };
    assert_int_equal(node_start(&o, &second, &err), AO_ESTATE);
    assert_null(second);
    assert_non_null(strstr(err.msg, "in use by another node"));
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    assert_non_null(strstr(err.msg, pid));
    /* the running node is untouched */
    char url[256];
    long st;
    snprintf(url, sizeof url, "%s/health", g_info.mu_url);
    cJSON *j = http_json("GET", url, NULL, 0, NULL, &st);
    assert_int_equal(st, 200);
    cJSON_Delete(j);
}

/* ---- restart ---- */

static void restart_keeps_module_and_wallets(void **state)
{
    (void)state;
    node_info before = g_info;
    char path[512];
    ao_buf wallets[3];
    const char *names[] = { "su", "mu", "cu" };
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/wallets/%s.json", g_dir, names[i]);
        file_bytes(path, &wallets[i]);
    }
    node_stop(g_node);
    g_node = NULL;
    assert_int_equal(start_node(), 0);
    assert_string_equal(g_info.aos_module, before.aos_module);
    assert_string_equal(g_info.su_address, before.su_address);
    assert_string_equal(g_info.mu_address, before.mu_address);
    assert_string_equal(g_info.cu_address, before.cu_address);
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/wallets/%s.json", g_dir, names[i]);
        ao_buf now;
        file_bytes(path, &now);
        assert_int_equal(now.len, wallets[i].len);
        assert_memory_equal(now.data, wallets[i].data, now.len);
        ao_buf_free(&now);
        ao_buf_free(&wallets[i]);
    }
    /* still exactly one aos module from this SU */
    char q[512];
    snprintf(q, sizeof q,
             "{ transactions(owners:[\"%s\"], tags:[{name:\"Type\",values:[\"Module\"]}]) "
             "{ edges { node { id } } } }",
             g_info.su_address);
    cJSON *j = gql(q);
    const cJSON *edges = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "data"),
                                         "transactions"),
        "edges");
    assert_int_equal(cJSON_GetArraySize(edges), 1);
    cJSON_Delete(j);
    /* the location now names the new SU URL */
    scheduler_location_resolves_to_su(state);
}

/* ---- the flow over HTTP ---- */

#define MAXTAGS 12

/* Sign an item with the user wallet: tags "Name=Value", optional target id. */
static void sign_item(const char *const *kv, size_t n, const char *target_b64, const char *data,
                      ao_buf *out, char id[44])
{
    item_tag tags[MAXTAGS];
    assert_true(n <= MAXTAGS);
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        tags[i].name = (const uint8_t *)kv[i];
        tags[i].name_len = (size_t)(eq - kv[i]);
        tags[i].value = (const uint8_t *)eq + 1;
        tags[i].value_len = strlen(eq + 1);
    }
    ao_buf target;
    ao_buf_init(&target);
    if (target_b64) {
        assert_int_equal(ao_b64url_decode(target_b64, strlen(target_b64), &target, NULL), AO_OK);
        assert_int_equal(target.len, 32);
    }
    item_fields f = { target_b64 ? target.data : NULL, NULL, tags, n,
                      (const uint8_t *)data, strlen(data) };
    uint8_t raw_id[ITEM_ID_LEN];
    ao_buf_init(out);
    ao_error err = { 0 };
    assert_int_equal(item_sign(g_user, &f, out, raw_id, &err), AO_OK);
    ao_b64url_encode_to(raw_id, ITEM_ID_LEN, id);
    ao_buf_free(&target);
}

/* POST the item to the MU: 202 {"message":"Processing DataItem","id"}. */
static void post_mu(const ao_buf *raw, const char *id)
{
    char url[256];
    snprintf(url, sizeof url, "%s/", g_info.mu_url);
    long st;
    cJSON *j = http_json("POST", url, raw->data, raw->len, "application/octet-stream", &st);
    assert_non_null(j);
    if (st != 202)
        fprintf(stderr, "MU answered %ld: %s\n", st, cJSON_PrintUnformatted(j));
    assert_int_equal(st, 202);
    assert_string_equal(jstr(j, "id"), id);
    assert_string_equal(jstr(j, "message"), "Processing DataItem");
    cJSON_Delete(j);
}

static void spawn_process(const char *name, char pid[44])
{
    char module[80], sched[80], auth[80], nm[80];
    snprintf(module, sizeof module, "Module=%s", g_info.aos_module);
    snprintf(sched, sizeof sched, "Scheduler=%s", g_info.su_address);
    snprintf(auth, sizeof auth, "Authority=%s", g_info.mu_address);
    snprintf(nm, sizeof nm, "Name=%s", name);
    const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Process", module, sched,
                         auth, nm, "App-Name=aos", "Content-Type=text/plain", "SDK=ao-test" };
    ao_buf raw;
    sign_item(kv, sizeof kv / sizeof kv[0], NULL, " ", &raw, pid);
    post_mu(&raw, pid);
    ao_buf_free(&raw);
}

/* GET CU /result/{msg}?process-id=pid, retrying while the CU answers 202. */
static cJSON *result_of(const char *msg, const char *pid)
{
    char url[512];
    snprintf(url, sizeof url, "%s/result/%s?process-id=%s", g_info.cu_url, msg, pid);
    for (int tries = 0; tries < 30; tries++) {
        long st;
        cJSON *j = http_json("GET", url, NULL, 0, NULL, &st);
        if (st == 200 && j)
            return j;
        cJSON_Delete(j);
        if (st != 202)
            fail_msg("CU /result answered %ld", st);
        usleep(200 * 1000);
    }
    fail_msg("CU /result stayed busy");
    return NULL;
}

static void eval_on(const char *pid, const char *code, char id[44])
{
    const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message", "Action=Eval",
                         "SDK=ao-test" };
    ao_buf raw;
    sign_item(kv, sizeof kv / sizeof kv[0], pid, code, &raw, id);
    post_mu(&raw, id);
    ao_buf_free(&raw);
}

static const cJSON *output_of(const cJSON *res)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(res, "Error");
    if (err)
        fail_msg("result has an Error: %s", cJSON_PrintUnformatted(err));
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(res, "Output");
    assert_non_null(out);
    return out;
}

static char g_pid_a[44], g_pid_b[44];

static void spawn_then_eval_through_mu_su_cu(void **state)
{
    (void)state;
    spawn_process("node-test-a", g_pid_a);
    cJSON *r0 = result_of(g_pid_a, g_pid_a);
    assert_null(cJSON_GetObjectItemCaseSensitive(r0, "Error"));
    cJSON_Delete(r0);

    char mid[44];
    eval_on(g_pid_a, "1 + 41", mid);
    cJSON *r = result_of(mid, g_pid_a);
    const cJSON *out = output_of(r);
    assert_string_equal(jstr(out, "data"), "42");
    const char *prompt = jstr(out, "prompt");
    assert_non_null(prompt);
    assert_non_null(strstr(prompt, "node-test-a"));
    cJSON_Delete(r);

    /* the SU has both in the schedule: process at nonce 0, the Eval at 1 */
    char url[512];
    long st;
    snprintf(url, sizeof url, "%s/%s?process-id=%s", g_info.su_url, mid, g_pid_a);
    cJSON *node = http_json("GET", url, NULL, 0, NULL, &st);
    assert_int_equal(st, 200);
    const cJSON *atags = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "assignment"), "tags");
    assert_string_equal(tag_value(atags, "Nonce"), "1");
    assert_string_equal(tag_value(atags, "Process"), g_pid_a);
    cJSON_Delete(node);
}

/* Results of pid (newest first) until one's Output mentions `needle`. */
static bool results_mention(const char *pid, const char *needle)
{
    char url[512];
    snprintf(url, sizeof url, "%s/results/%s?sort=DESC&limit=25", g_info.cu_url, pid);
    ao_buf b;
    ao_buf_init(&b);
    bool found = false;
    for (int tries = 0; tries < 150 && !found; tries++) {
        if (http("GET", url, NULL, 0, NULL, &b) == 200 && strstr((char *)b.data, needle))
            found = true;
        else
            usleep(200 * 1000);
    }
    ao_buf_free(&b);
    return found;
}

static void send_from_a_is_cranked_to_b(void **state)
{
    (void)state;
    if (!g_pid_a[0])
        spawn_process("node-test-a", g_pid_a);
    spawn_process("node-test-b", g_pid_b);
    cJSON *r0 = result_of(g_pid_b, g_pid_b);
    cJSON_Delete(r0);

    char code[256], mid[44];
    snprintf(code, sizeof code,
             "Send({Target = '%s', Action = 'Ping', Data = 'hello-from-a'}); return 'sent'",
             g_pid_b);
    eval_on(g_pid_a, code, mid);
    cJSON *r = result_of(mid, g_pid_a);
    assert_string_equal(jstr(output_of(r), "data"), "sent");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(r, "Messages");
    assert_int_equal(cJSON_GetArraySize(msgs), 1);
    assert_string_equal(jstr(cJSON_GetArrayItem(msgs, 0), "Target"), g_pid_b);
    cJSON_Delete(r);

    /* the MU pushes it to B; B's aos keeps it in the Inbox and says so */
    assert_true(results_mention(g_pid_b, "New Message From"));
    assert_true(results_mention(g_pid_b, "Ping"));
    char mid2[44];
    eval_on(g_pid_b, "Inbox[#Inbox].Data .. '|' .. Inbox[#Inbox].From", mid2);
    cJSON *rb = result_of(mid2, g_pid_b);
    char want[128];
    snprintf(want, sizeof want, "hello-from-a|%s", g_pid_a);
    assert_string_equal(jstr(output_of(rb), "data"), want);
    cJSON_Delete(rb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_json_names_every_unit),
        cmocka_unit_test(wallets_are_private_and_typed),
        cmocka_unit_test(module_published_with_protocol_tags),
        cmocka_unit_test(scheduler_location_resolves_to_su),
        cmocka_unit_test(every_unit_answers_health),
        cmocka_unit_test(second_node_on_the_same_folder_refused),
        cmocka_unit_test(restart_keeps_module_and_wallets),
        cmocka_unit_test(spawn_then_eval_through_mu_su_cu),
        cmocka_unit_test(send_from_a_is_cranked_to_b),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
