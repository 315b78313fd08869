/*
 * node_test_util.h - header-only helpers of the node tests: one node in a
 * temporary folder on free ports (setup/teardown for a cmocka group), HTTP
 * with libcurl, GraphQL, items signed by a test wallet, and the MU/CU
 * round trips of aos processes (spawn, Eval, /result, /results). Static
 * functions and globals only: each test binary gets its own copy.
 * Include after cmocka.h.
 */
#ifndef AO_TESTS_NODE_TEST_UTIL_H
#define AO_TESTS_NODE_TEST_UTIL_H

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

static inline size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    ao_buf *b = ud;
    return ao_buf_append(b, p, size * n) == AO_OK ? size * n : 0;
}

/* One HTTP request; body (may be NULL) is sent raw. out gets the answer
 * (NUL-terminated); returns the status, or -1 if unreachable. */
static inline long http(const char *method, const char *url, const void *body, size_t len,
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

static inline cJSON *http_json(const char *method, const char *url, const void *body, size_t len,
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

static inline cJSON *gql(const char *query)
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

static inline const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Value of the first tag `name` in a [{name,value}] array, or NULL. */
static inline const char *tag_value(const cJSON *tags, const char *name)
{
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const char *n = jstr(t, "name");
        if (n && !strcmp(n, name))
            return jstr(t, "value");
    }
    return NULL;
}

static inline void file_bytes(const char *path, ao_buf *out)
{
    ao_error err = { 0 };
    ao_buf_init(out);
    if (ao_file_read(path, out, &err) != AO_OK)
        fail_msg("%s: %s", path, err.msg);
}

static inline void rm_rf(const char *d)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", d);
}

static inline int start_node(void)
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

static inline int setup(void **state)
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

static inline int teardown(void **state)
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

/* ---- the flow over HTTP ---- */

#define MAXTAGS 12

/* Sign an item with the user wallet: tags "Name=Value", optional target id. */
static inline void sign_item(const char *const *kv, size_t n, const char *target_b64, const char *data,
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
    /* a fresh anchor: Ed25519 signatures are deterministic, so two items
     * with the same fields would otherwise be the same item (same id) */
    static uint64_t seq;
    uint8_t anchor[32];
    char seed[64];
    int sn = snprintf(seed, sizeof seed, "%lld-%llu", (long long)ao_now_ms(),
                      (unsigned long long)++seq);
    crypto_sha256(seed, (size_t)sn, anchor);
    item_fields f = { target_b64 ? target.data : NULL, anchor, tags, n,
                      (const uint8_t *)data, strlen(data) };
    uint8_t raw_id[ITEM_ID_LEN];
    ao_buf_init(out);
    ao_error err = { 0 };
    assert_int_equal(item_sign(g_user, &f, out, raw_id, &err), AO_OK);
    ao_b64url_encode_to(raw_id, ITEM_ID_LEN, id);
    ao_buf_free(&target);
}

/* POST the item to the MU: 202 {"message":"Processing DataItem","id"}. */
static inline void post_mu(const ao_buf *raw, const char *id)
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

static inline void spawn_process(const char *name, char pid[44])
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
static inline cJSON *result_of(const char *msg, const char *pid)
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

static inline void eval_on(const char *pid, const char *code, char id[44])
{
    const char *kv[] = { "Data-Protocol=ao", "Variant=ao.TN.1", "Type=Message", "Action=Eval",
                         "SDK=ao-test" };
    ao_buf raw;
    sign_item(kv, sizeof kv / sizeof kv[0], pid, code, &raw, id);
    post_mu(&raw, id);
    ao_buf_free(&raw);
}

static inline const cJSON *output_of(const cJSON *res)
{
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(res, "Error");
    if (err)
        fail_msg("result has an Error: %s", cJSON_PrintUnformatted(err));
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(res, "Output");
    assert_non_null(out);
    return out;
}

/* Results of pid (newest first) until one's Output mentions `needle`. */
static inline bool results_mention(const char *pid, const char *needle)
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

#endif
