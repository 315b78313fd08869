/*
 * test_cu_face.c - the CU's HTTP face end to end over real HTTP (libcurl)
 * on a real CU running the aos module, reading its SU through the HTTP SU
 * client (located by its Scheduler-Location record): every route of
 * PROTOCOL.md §4 with its query parameters, statuses, headers and JSON
 * shapes; AO_EBUSY as 202; bad input as 4xx JSON errors; /health,
 * /metrics; the MU's HTTP CU client through the face.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "cu/cu.h"
#include "net/net_units_util.h"

typedef struct fx {
    nuu u;
    crypto_wallet *cu_wallet;
    cu_su_client su_client;
    cu *c;
    net_server *srv;
    char url[64];
    char pid[WEAVE_ID_MAX], msg[WEAVE_ID_MAX];
} fx;

static fx F;   /* one CU for the whole file: aos boots once */

static int setup(void **state)
{
    (void)state;
    fx *f = &F;
    if (nuu_open(&f->u))
        return -1;
    ao_error err;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &f->cu_wallet, &err) ||
        net_cu_su_client_http(&f->u.data, NULL, &f->su_client, &err))
        return -1;
    char cudir[512];
    snprintf(cudir, sizeof cudir, "%s/cu", f->u.dir);
    cu_options co = { 0 };
    co.dir = cudir;
    co.wallet = f->cu_wallet;
    co.su = f->su_client;
    co.data = f->u.data;
    co.threads = 2;
    co.no_fsync = true;
    co.busy_ms = 20000;
    if (cu_open(&co, &f->c, &err)) {
        fprintf(stderr, "cu_open: %s\n", err.msg);
        return -1;
    }
    net_server_options no = { 0 };
    no.max_body = 64 * 1024;
    no.threads = 2;
    if (net_cu_start(f->c, &no, &f->srv, &err))
        return -1;
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", (unsigned)net_server_port(f->srv));
    ao_buf b;
    ao_buf_init(&b);
    if (nuu_process_item(&f->u, NULL, &b, f->pid) || nuu_schedule(&f->u, &b))
        return -1;
    ao_buf_reset(&b);
    if (nuu_message_item(&f->u, f->pid, "Eval", "return 6 * 7", &b, f->msg) ||
        nuu_schedule(&f->u, &b))
        return -1;
    ao_buf_free(&b);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx *f = &F;
    net_server_stop(f->srv);
    cu_close(f->c);
    net_cu_su_client_free(&f->su_client);
    crypto_wallet_free(f->cu_wallet);
    nuu_close(&f->u);
    return 0;
}

static void info_health_metrics(void **state)
{
    (void)state;
    ntu_answer a;
    assert_int_equal(ntu_get(F.url, "/", &a), 200);
    assert_string_equal(ntu_str(a.json, "address"), cu_address(F.c));
    assert_true(cJSON_IsNumber(ntu_at(a.json, "timestamp")));
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/health", &a), 200);
    assert_string_equal(ntu_str(a.json, "status"), "ok");
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/metrics", &a), 200);
    ao_buf_append_byte(&a.body, 0);
    assert_non_null(strstr((char *)a.body.data, "ao_cu_http_requests_total"));
    ntu_free(&a);
    assert_int_equal(ntu_call("DELETE", F.url, "/", NULL, 0, NULL, NULL, &a), 405);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/nothing/here", &a), 404);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
}

static void result_of_a_message(void **state)
{
    (void)state;
    char path[256];
    ntu_answer a;
    snprintf(path, sizeof path, "/result/%s?process-id=%s", F.msg, F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 200);
    assert_non_null(strstr(a.ctype, "application/json"));
    cJSON *out = ntu_at(a.json, "Output");
    assert_non_null(out);
    const char *data = ntu_str(a.json, "Output.data");
    assert_non_null(data);
    assert_non_null(strstr(data, "42"));
    assert_true(cJSON_IsArray(ntu_at(a.json, "Messages")));
    assert_null(ntu_at(a.json, "Memory"));
    ntu_free(&a);
    /* the process's own first message */
    snprintf(path, sizeof path, "/result/%s?process-id=%s&no-busy=1", F.pid, F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 200);
    ntu_free(&a);
    /* the MU's client reads the same through the face */
    mu_cu_client mc;
    ao_error err;
    assert_int_equal(net_mu_cu_client_http(F.url, &mc, &err), AO_OK);
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(mc.result(mc.ctx, F.msg, F.pid, &b, &err), AO_OK);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_non_null(strstr(ntu_str(j, "Output.data"), "42"));
    cJSON_Delete(j);
    ao_buf_reset(&b);
    assert_int_equal(mc.cron(mc.ctx, F.pid, NULL, 10, &b, &err), AO_OK);
    j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_true(cJSON_IsArray(ntu_at(j, "edges")));
    cJSON_Delete(j);
    ao_buf_free(&b);
    net_mu_cu_client_free(&mc);
}

static void result_bad_input(void **state)
{
    (void)state;
    char path[256];
    ntu_answer a;
    snprintf(path, sizeof path, "/result/%s", F.msg);   /* no process-id */
    assert_int_equal(ntu_get(F.url, path, &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    snprintf(path, sizeof path, "/result/%s?process-id=short", F.msg);
    assert_int_equal(ntu_get(F.url, path, &a), 400);
    ntu_free(&a);
    snprintf(path, sizeof path, "/result/not-an-id?process-id=%s", F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 400);
    ntu_free(&a);
    snprintf(path, sizeof path, "/result/%s?process-id=%s",
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", F.pid);
    long st = ntu_get(F.url, path, &a);
    assert_true(st == 404 || st == 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    snprintf(path, sizeof path, "/result/%s?process-id=%s", F.msg, F.msg);
    st = ntu_get(F.url, path, &a);
    assert_true(st >= 400 && st < 500);
    ntu_free(&a);
}

static void results_pages(void **state)
{
    (void)state;
    char path[256];
    ntu_answer a;
    /* make sure both are evaluated */
    snprintf(path, sizeof path, "/result/%s?process-id=%s", F.msg, F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 200);
    ntu_free(&a);
    snprintf(path, sizeof path, "/results/%s", F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 200);
    assert_true(cJSON_IsBool(ntu_at(a.json, "pageInfo.hasNextPage")));
    int n = cJSON_GetArraySize(ntu_at(a.json, "edges"));
    assert_true(n >= 2);
    const char *cur = ntu_str(a.json, "edges.0.cursor");
    assert_non_null(cur);
    /* the cursor is base64 JSON with an ordinate (aos sorts on it) */
    ao_buf dec;
    ao_buf_init(&dec);
    size_t cl = strlen(cur);
    char *std = strdup(cur);
    for (size_t i = 0; i < cl; i++)
        std[i] = std[i] == '+' ? '-' : std[i] == '/' ? '_' : std[i];
    while (cl && std[cl - 1] == '=')
        std[--cl] = 0;
    ao_error err;
    assert_int_equal(ao_b64url_decode(std, cl, &dec, &err), AO_OK);
    free(std);
    cJSON *cj = cJSON_ParseWithLength((const char *)dec.data, dec.len);
    assert_non_null(cJSON_GetObjectItemCaseSensitive(cj, "ordinate"));
    cJSON_Delete(cj);
    ao_buf_free(&dec);
    ntu_free(&a);
    snprintf(path, sizeof path, "/results/%s?limit=1&sort=DESC", F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 200);
    assert_int_equal(cJSON_GetArraySize(ntu_at(a.json, "edges")), 1);
    assert_true(cJSON_IsTrue(ntu_at(a.json, "pageInfo.hasNextPage")));
    ntu_free(&a);
    static const char *const bad[] = { "limit=abc", "sort=SIDEWAYS", "from=%%%", "limit" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "/results/%s?%s", F.pid, bad[i]);
        if (ntu_get(F.url, path, &a) != 400)
            fail_msg("%s: status %ld", bad[i], a.status);
        assert_true(ntu_is_error(&a));
        ntu_free(&a);
    }
    snprintf(path, sizeof path, "/cron/%s", F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 200);
    assert_true(cJSON_IsArray(ntu_at(a.json, "edges")));
    assert_non_null(ntu_at(a.json, "pageInfo"));
    ntu_free(&a);
    snprintf(path, sizeof path, "/cron/%s?limit=zz", F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 400);
    ntu_free(&a);
}

static void dry_run(void **state)
{
    (void)state;
    char path[256];
    ntu_answer a;
    const char *body = "{\"Id\":\"1234\",\"Owner\":\"1234\",\"Target\":\"x\",\"Data\":\"return 1 + 1\","
                       "\"Tags\":[{\"name\":\"Action\",\"value\":\"Eval\"},"
                       "{\"name\":\"Data-Protocol\",\"value\":\"ao\"},"
                       "{\"name\":\"Type\",\"value\":\"Message\"}],\"Anchor\":\"0\"}";
    snprintf(path, sizeof path, "/dry-run?process-id=%s", F.pid);
    assert_int_equal(ntu_call("POST", F.url, path, body, strlen(body), "application/json",
                              NULL, &a), 200);
    assert_non_null(ntu_at(a.json, "Output"));
    ntu_free(&a);
    /* bad: no process-id, empty body, not JSON, a bad `to`, GET */
    assert_int_equal(ntu_call("POST", F.url, "/dry-run", body, strlen(body), NULL, NULL, &a),
                     400);
    ntu_free(&a);
    assert_int_equal(ntu_call("POST", F.url, path, NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    assert_int_equal(ntu_call("POST", F.url, path, "{nope", 5, NULL, NULL, &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    snprintf(path, sizeof path, "/dry-run?process-id=%s&to=bad", F.pid);
    assert_int_equal(ntu_call("POST", F.url, path, body, strlen(body), NULL, NULL, &a), 400);
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/dry-run", &a), 405);
    ntu_free(&a);
    /* too big */
    size_t n = 100 * 1024;
    char *big = malloc(n);
    memset(big, ' ', n);
    snprintf(path, sizeof path, "/dry-run?process-id=%s", F.pid);
    assert_int_equal(ntu_call("POST", F.url, path, big, n, NULL, NULL, &a), 413);
    free(big);
    ntu_free(&a);
}

static void state_with_headers(void **state)
{
    (void)state;
    char path[256];
    ntu_answer a;
    snprintf(path, sizeof path, "/result/%s?process-id=%s", F.msg, F.pid);
    assert_int_equal(ntu_get(F.url, path, &a), 200);
    ntu_free(&a);
    static const char *const want[] = { "Last-Timestamp", "Last-Ordinate", "Last-Block-Height",
                                        NULL };
    snprintf(path, sizeof path, "/state/%s", F.pid);
    assert_int_equal(ntu_call("GET", F.url, path, NULL, 0, NULL, want, &a), 200);
    assert_non_null(strstr(a.ctype, "application/octet-stream"));
    assert_true(a.body.len >= 65536);
    assert_true(a.hdr[0][0] && atoll(a.hdr[0]) > 0);
    assert_string_equal(a.hdr[1], "1");
    assert_true(a.hdr[2][0] != 0);
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/state/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &a) >= 400,
                     1);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/state/short", &a), 400);
    ntu_free(&a);
}

/* A long evaluation: with no-busy the answer waits for the result; with a
 * short busy_ms and no no-busy it is 202 "in progress". */
static void busy_is_202(void **state)
{
    (void)state;
    ao_error err;
    char cudir[512];
    snprintf(cudir, sizeof cudir, "%s/cu2", F.u.dir);
    crypto_wallet *wl;
    assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ED25519, &wl, &err), AO_OK);
    cu_options co = { 0 };
    co.dir = cudir;
    co.wallet = wl;
    co.su = F.su_client;
    co.data = F.u.data;
    co.threads = 2;
    co.no_fsync = true;
    co.busy_ms = 1;
    cu *c2;
    assert_int_equal(cu_open(&co, &c2, &err), AO_OK);
    net_server *s2;
    assert_int_equal(net_cu_start(c2, NULL, &s2, &err), AO_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)net_server_port(s2));
    ao_buf b;
    ao_buf_init(&b);
    char id[WEAVE_ID_MAX];
    assert_int_equal(nuu_message_item(&F.u, F.pid, "Eval",
                                      "local x = 0 for i = 1, 2000000 do x = x + i end return x",
                                      &b, id), 0);
    assert_int_equal(nuu_schedule(&F.u, &b), 0);
    ao_buf_free(&b);
    char path[256];
    ntu_answer a;
    snprintf(path, sizeof path, "/result/%s?process-id=%s", id, F.pid);
    assert_int_equal(ntu_get(url, path, &a), 202);
    assert_non_null(strstr(ntu_str(a.json, "message"), "in progress"));
    ntu_free(&a);
    snprintf(path, sizeof path, "/result/%s?process-id=%s&no-busy=1", id, F.pid);
    assert_int_equal(ntu_get(url, path, &a), 200);
    assert_non_null(ntu_at(a.json, "Output"));
    ntu_free(&a);
    net_server_stop(s2);
    cu_close(c2);
    crypto_wallet_free(wl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(info_health_metrics),
        cmocka_unit_test(result_of_a_message),
        cmocka_unit_test(result_bad_input),
        cmocka_unit_test(results_pages),
        cmocka_unit_test(dry_run),
        cmocka_unit_test(state_with_headers),
        cmocka_unit_test(busy_is_202),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
