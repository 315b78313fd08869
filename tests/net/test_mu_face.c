/*
 * test_mu_face.c - the MU's HTTP face end to end over real HTTP (libcurl):
 * a real MU whose SU client (HTTP, SU located by its Scheduler-Location
 * record) reaches a real SU through its face, and whose CU client (HTTP)
 * reaches a stub CU on the server core that records what it is asked. Every route of PROTOCOL.md §3 with its statuses and bodies; bad
 * input (bad signatures, half an assign, huge bodies) answers a 4xx JSON
 * error and schedules nothing; the client's address reaches the per-IP
 * rate limit; /health, /metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "mu/mu.h"
#include "net/net_units_util.h"

/* ---- a stub CU: empty results, records the /result calls ---- */

#define STUB_CALLS 32

typedef struct stub_call {
    char path[128], pid[64], nobusy[8];
} stub_call;

typedef struct stub_cu {
    net_core *core;
    pthread_mutex_t mu;
    int results;
    stub_call calls[STUB_CALLS];   /* the first STUB_CALLS /result calls */
} stub_cu;

static void stub_cu_handler(void *ctx, const net_req *rq, net_resp *rs)
{
    stub_cu *s = ctx;
    pthread_mutex_lock(&s->mu);
    if (!strncmp(rq->path, "/result/", 8)) {
        if (s->results < STUB_CALLS) {
            stub_call *c = &s->calls[s->results];
            const char *p = net_req_query(rq, "process-id"), *nb = net_req_query(rq, "no-busy");
            snprintf(c->path, sizeof c->path, "%s", rq->path);
            snprintf(c->pid, sizeof c->pid, "%s", p ? p : "");
            snprintf(c->nobusy, sizeof c->nobusy, "%s", nb ? nb : "");
        }
        s->results++;
        static const char r[] = "{\"Messages\":[],\"Spawns\":[],\"Assignments\":[],"
                                "\"Output\":\"\"}";
        net_resp_set(rs, 200, "application/json", r, sizeof r - 1);
    } else {
        static const char r[] = "{\"pageInfo\":{\"hasNextPage\":false},\"edges\":[]}";
        net_resp_set(rs, 200, "application/json", r, sizeof r - 1);
    }
    pthread_mutex_unlock(&s->mu);
}

typedef struct fx {
    nuu u;
    crypto_wallet *mu_wallet;
    stub_cu cu;
    char cu_url[64];
    mu_su_client mu_su;
    mu_cu_client mu_cu;
    mu *m;
    net_server *srv;
    char url[64];
    char pid[WEAVE_ID_MAX];
} fx;

static fx F;

static int start_mu(fx *f, uint32_t rate_per_ip)
{
    ao_error err;
    char mudir[512];
    snprintf(mudir, sizeof mudir, "%s/mu%u", f->u.dir, rate_per_ip);
    mu_options mo = { 0 };
    mo.dir = mudir;
    mo.wallet = f->mu_wallet;
    mo.su = f->mu_su;
    mo.cu = f->mu_cu;
    mo.data = f->u.data;
    mo.workers = 2;
    mo.no_fsync = true;
    mo.backoff_ms = 10;
    mo.max_attempts = 3;
    mo.rate_per_ip = rate_per_ip;
    if (mu_open(&mo, &f->m, &err)) {
        fprintf(stderr, "mu_open: %s\n", err.msg);
        return -1;
    }
    net_server_options no = { 0 };
    no.max_body = 64 * 1024;
    no.threads = 4;
    if (net_mu_start(f->m, &no, &f->srv, &err))
        return -1;
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", (unsigned)net_server_port(f->srv));
    return 0;
}

static void stop_mu(fx *f)
{
    net_server_stop(f->srv);
    mu_close(f->m);
}

static int setup(void **state)
{
    (void)state;
    fx *f = &F;
    if (nuu_open(&f->u))
        return -1;
    ao_error err;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &f->mu_wallet, &err))
        return -1;
    pthread_mutex_init(&f->cu.mu, NULL);
    net_core_options co = { 0 };
    co.name = "stubcu";
    co.threads = 2;
    if (net_core_start(&co, stub_cu_handler, &f->cu, &f->cu.core, &err))
        return -1;
    snprintf(f->cu_url, sizeof f->cu_url, "http://127.0.0.1:%u",
             (unsigned)net_core_port(f->cu.core));
    if (net_mu_su_client_http(&f->u.data, NULL, &f->mu_su, &err) ||
        net_mu_cu_client_http(f->cu_url, &f->mu_cu, &err))
        return -1;
    if (start_mu(f, 0))
        return -1;
    /* spawn through the MU */
    char mu_addr_tag[96];
    snprintf(mu_addr_tag, sizeof mu_addr_tag, "Authority=%s", mu_address(f->m));
    ao_buf b;
    ao_buf_init(&b);
    if (nuu_process_item(&f->u, mu_addr_tag, &b, f->pid))
        return -1;
    ntu_answer a;
    long st = ntu_call("POST", f->url, "/", b.data, b.len, "application/octet-stream", NULL, &a);
    ao_buf_free(&b);
    if (st != 202) {
        fprintf(stderr, "spawn: %ld %.*s\n", st, (int)a.body.len, (char *)a.body.data);
        ntu_free(&a);
        return -1;
    }
    ntu_free(&a);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fx *f = &F;
    stop_mu(f);
    net_mu_su_client_free(&f->mu_su);
    net_mu_cu_client_free(&f->mu_cu);
    net_core_stop(f->cu.core);
    pthread_mutex_destroy(&f->cu.mu);
    crypto_wallet_free(f->mu_wallet);
    nuu_close(&f->u);
    return 0;
}

static size_t schedule_len(void)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err;
    su_query q = { .process_id = F.pid, .limit = "1000" };
    assert_int_equal(su_get_json(F.u.s, F.pid, &q, &b, &err), AO_OK);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    size_t n = (size_t)cJSON_GetArraySize(ntu_at(j, "edges"));
    cJSON_Delete(j);
    ao_buf_free(&b);
    return n;
}

static void root_health_metrics(void **state)
{
    (void)state;
    ntu_answer a;
    assert_int_equal(ntu_get(F.url, "/", &a), 200);
    assert_true(ntu_body_is(&a, "ao messenger unit"));
    assert_non_null(strstr(a.ctype, "text/plain"));
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/health", &a), 200);
    assert_string_equal(ntu_str(a.json, "status"), "ok");
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/metrics", &a), 200);
    ao_buf_append_byte(&a.body, 0);
    assert_non_null(strstr((char *)a.body.data, "ao_mu_http_requests_total"));
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/dead-letters", &a), 200);
    assert_true(cJSON_IsArray(ntu_at(a.json, "deadLetters")));
    ntu_free(&a);
    assert_int_equal(ntu_call("PUT", F.url, "/", NULL, 0, NULL, NULL, &a), 405);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, "/no/such/route", &a), 404);
    ntu_free(&a);
}

static void message_is_scheduled_and_cranked(void **state)
{
    (void)state;
    ao_error err;
    assert_int_equal(su_has_process(F.u.s, F.pid, &err), AO_OK);
    size_t before = schedule_len();
    ao_buf b;
    ao_buf_init(&b);
    char id[WEAVE_ID_MAX];
    assert_int_equal(nuu_message_item(&F.u, F.pid, "Eval", "return 'pong'", &b, id), 0);
    ntu_answer a;
    assert_int_equal(ntu_call("POST", F.url, "/", b.data, b.len, NULL, NULL, &a), 202);
    assert_string_equal(ntu_str(a.json, "message"), "Processing DataItem");
    assert_string_equal(ntu_str(a.json, "id"), id);
    ntu_free(&a);
    assert_int_equal(schedule_len(), before + 1);
    assert_int_equal(mu_wait_idle(F.m, 60000, &err), AO_OK);
    /* the crank asked the CU for this message's result (with two workers
     * the spawn's crank may come before or after it). The calls are copied
     * under the lock and checked after it: a failed check must not leave the
     * stub CU locked (its handler would block the MU's next request). */
    char path[128];
    snprintf(path, sizeof path, "/result/%s", id);
    stub_call calls[STUB_CALLS];
    pthread_mutex_lock(&F.cu.mu);
    int n = F.cu.results < STUB_CALLS ? F.cu.results : STUB_CALLS;
    memcpy(calls, F.cu.calls, sizeof calls);
    pthread_mutex_unlock(&F.cu.mu);
    const stub_call *c = NULL;
    for (int i = 0; i < n; i++)
        if (!strcmp(calls[i].path, path))
            c = &calls[i];
    if (!c)
        for (int i = 0; i < n; i++) fprintf(stderr, "CU asked %s\n", calls[i].path);
    assert_non_null(c);
    assert_string_equal(c->pid, F.pid);
    assert_string_equal(c->nobusy, "1");
    ao_buf_free(&b);
}

static void assign_both_or_neither(void **state)
{
    (void)state;
    const char *kv[] = { "App-Name=x" };
    ao_buf b;
    ao_buf_init(&b);
    char tx[WEAVE_ID_MAX];
    ao_error err;
    assert_int_equal(wtu_item(F.u.user, kv, 1, NULL, "tx", 2, &b, tx), 0);
    assert_int_equal(weave_put(F.u.w, b.data, b.len, 0, NULL, &err), AO_OK);
    ao_buf_free(&b);
    size_t before = schedule_len();
    char path[256];
    ntu_answer a;
    snprintf(path, sizeof path, "/?process-id=%s", F.pid);
    assert_int_equal(ntu_call("POST", F.url, path, NULL, 0, NULL, NULL, &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    snprintf(path, sizeof path, "/?assign=%s", tx);
    assert_int_equal(ntu_call("POST", F.url, path, NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    snprintf(path, sizeof path, "/?process-id=%s&assign=nope", F.pid);
    assert_int_equal(ntu_call("POST", F.url, path, NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    assert_int_equal(schedule_len(), before);
    snprintf(path, sizeof path, "/?process-id=%s&assign=%s&exclude=Data", F.pid, tx);
    assert_int_equal(ntu_call("POST", F.url, path, NULL, 0, NULL, NULL, &a), 202);
    assert_string_equal(ntu_str(a.json, "message"), "Processing Assignment");
    assert_int_equal(strlen(ntu_str(a.json, "id")), 43);
    ntu_free(&a);
    assert_int_equal(schedule_len(), before + 1);
    assert_int_equal(mu_wait_idle(F.m, 60000, &err), AO_OK);
}

static void bad_posts_schedule_nothing(void **state)
{
    (void)state;
    size_t before = schedule_len();
    ao_buf b;
    ao_buf_init(&b);
    char id[WEAVE_ID_MAX];
    assert_int_equal(nuu_message_item(&F.u, F.pid, "Eval", "return 1", &b, id), 0);
    b.data[b.len - 1] ^= 1;
    ntu_answer a;
    assert_int_equal(ntu_call("POST", F.url, "/", b.data, b.len, NULL, NULL, &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    assert_int_equal(ntu_call("POST", F.url, "/", "garbage", 7, NULL, NULL, &a), 400);
    ntu_free(&a);
    assert_int_equal(ntu_call("POST", F.url, "/", NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    /* no Data-Protocol */
    ao_buf_reset(&b);
    const char *kv[] = { "Type=Message" };
    ao_buf t;
    ao_buf_init(&t);
    ao_error err;
    assert_int_equal(ao_b64url_decode(F.pid, 43, &t, &err), AO_OK);
    assert_int_equal(wtu_item(F.u.user, kv, 1, t.data, "x", 1, &b, id), 0);
    assert_int_equal(ntu_call("POST", F.url, "/", b.data, b.len, NULL, NULL, &a), 400);
    ntu_free(&a);
    size_t n = 100 * 1024;
    char *big = calloc(1, n);
    assert_int_equal(ntu_call("POST", F.url, "/", big, n, NULL, NULL, &a), 413);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    free(big);
    assert_int_equal(schedule_len(), before);
    ao_buf_free(&b);
    ao_buf_free(&t);
}

static void monitor_and_unmonitor(void **state)
{
    (void)state;
    ao_buf b;
    ao_buf_init(&b);
    char id[WEAVE_ID_MAX];
    assert_int_equal(nuu_message_item(&F.u, F.pid, "Monitor", " ", &b, id), 0);
    char path[128];
    snprintf(path, sizeof path, "/monitor/%s", F.pid);
    ntu_answer a;
    assert_int_equal(ntu_call("POST", F.url, path, b.data, b.len, NULL, NULL, &a), 200);
    assert_true(ntu_body_is(&a, "Monitoring process"));
    ntu_free(&a);
    assert_int_equal(ntu_call("DELETE", F.url, path, NULL, 0, NULL, NULL, &a), 200);
    assert_true(ntu_body_is(&a, "Process deleted"));
    ntu_free(&a);
    assert_int_equal(ntu_call("POST", F.url, "/monitor/short", b.data, b.len, NULL, NULL, &a),
                     400);
    ntu_free(&a);
    assert_int_equal(ntu_call("POST", F.url, path, NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    assert_int_equal(ntu_get(F.url, path, &a), 405);
    ntu_free(&a);
    ao_buf_free(&b);
}

/* The client's address is what the per-IP rate limit counts. */
static void client_ip_reaches_rate_limit(void **state)
{
    (void)state;
    stop_mu(&F);
    assert_int_equal(start_mu(&F, 2), 0);
    long st[4];
    for (int i = 0; i < 4; i++) {
        ao_buf b;
        ao_buf_init(&b);
        char id[WEAVE_ID_MAX];
        assert_int_equal(nuu_message_item(&F.u, F.pid, "Eval", "return 2", &b, id), 0);
        ntu_answer a;
        st[i] = ntu_call("POST", F.url, "/", b.data, b.len, NULL, NULL, &a);
        if (st[i] == 403)
            assert_true(ntu_is_error(&a));
        ntu_free(&a);
        ao_buf_free(&b);
    }
    assert_int_equal(st[0], 202);
    assert_int_equal(st[1], 202);
    assert_int_equal(st[3], 403);
    ao_error err;
    assert_int_equal(mu_wait_idle(F.m, 60000, &err), AO_OK);
    stop_mu(&F);
    assert_int_equal(start_mu(&F, 0), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(root_health_metrics),
        cmocka_unit_test(message_is_scheduled_and_cranked),
        cmocka_unit_test(assign_both_or_neither),
        cmocka_unit_test(bad_posts_schedule_nothing),
        cmocka_unit_test(monitor_and_unmonitor),
        cmocka_unit_test(client_ip_reaches_rate_limit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
