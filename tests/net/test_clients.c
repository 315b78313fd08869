/*
 * test_clients.c - the HTTP clients of the units' tables (cu_su_client,
 * mu_su_client, mu_cu_client) against stub SUs and a stub CU on the
 * shared server core, with processes and Scheduler-Location records in a
 * temporary weave: each call reaches the right unit, route and query
 * (values percent-encoded and decoded back), statuses map back to codes,
 * the SU of a process is found through its Scheduler tag and location
 * record, cached, and looked up again when its SU cannot be reached.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "net/net.h"
#include "net/net_internal.h"
#include "weave/weave_test_util.h"

/* ---- a stub unit: records the last request, answers as told ---- */

typedef struct stub {
    net_core *core;
    pthread_mutex_t mu;
    int requests;
    char method[16];
    char path[256];
    ao_buf body;
    char q_pid[128], q_from[128], q_to[128], q_limit[32], q_assign[128], q_exclude[128],
        q_nobusy[8];
    bool has_base_layer;
    unsigned status;
    char answer[256];
    char url[64];
} stub;

static void cp(char *dst, size_t cap, const char *s)
{
    snprintf(dst, cap, "%s", s ? s : "(none)");
}

static void stub_handler(void *ctx, const net_req *rq, net_resp *rs)
{
    stub *s = ctx;
    pthread_mutex_lock(&s->mu);
    s->requests++;
    cp(s->method, sizeof s->method, rq->method);
    cp(s->path, sizeof s->path, rq->path);
    ao_buf_reset(&s->body);
    ao_buf_append(&s->body, rq->body, rq->body_len);
    cp(s->q_pid, sizeof s->q_pid, net_req_query(rq, "process-id"));
    cp(s->q_from, sizeof s->q_from, net_req_query(rq, "from"));
    cp(s->q_to, sizeof s->q_to, net_req_query(rq, "to"));
    cp(s->q_limit, sizeof s->q_limit, net_req_query(rq, "limit"));
    cp(s->q_assign, sizeof s->q_assign, net_req_query(rq, "assign"));
    cp(s->q_exclude, sizeof s->q_exclude, net_req_query(rq, "exclude"));
    cp(s->q_nobusy, sizeof s->q_nobusy, net_req_query(rq, "no-busy"));
    s->has_base_layer = net_req_has_query(rq, "base-layer");
    net_resp_set(rs, s->status, "application/json", s->answer, strlen(s->answer));
    pthread_mutex_unlock(&s->mu);
}

static void stub_start(stub *s, const char *name)
{
    memset(s, 0, sizeof *s);
    pthread_mutex_init(&s->mu, NULL);
    ao_buf_init(&s->body);
    s->status = 200;
    snprintf(s->answer, sizeof s->answer, "{\"ok\":\"%s\"}", name);
    net_core_options o = { 0 };
    o.name = name;
    o.threads = 2;
    ao_error err;
    assert_int_equal(net_core_start(&o, stub_handler, s, &s->core, &err), AO_OK);
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%u", (unsigned)net_core_port(s->core));
}

static void stub_stop(stub *s)
{
    net_core_stop(s->core);
    s->core = NULL;
}

static void stub_free(stub *s)
{
    stub_stop(s);
    ao_buf_free(&s->body);
    pthread_mutex_destroy(&s->mu);
}

static void stub_answer(stub *s, unsigned status, const char *body)
{
    s->status = status;
    snprintf(s->answer, sizeof s->answer, "%s", body);
}

/* ---- fixture: a weave with two SUs' location records and processes ---- */

static crypto_wallet *SA, *SB, *USER;

typedef struct fx {
    char *dir;
    weave *w;
    weave_client data;
    stub a, b, cu;
    char addr_a[AO_ADDRESS_MAX], addr_b[AO_ADDRESS_MAX];
    char p1[WEAVE_ID_MAX], p2[WEAVE_ID_MAX], p3[WEAVE_ID_MAX];
} fx;

static int setup(void **state)
{
    (void)state;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &SA, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &SB, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &USER, NULL))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    crypto_wallet_free(SA);
    crypto_wallet_free(SB);
    crypto_wallet_free(USER);
    return 0;
}

static void address_of(const crypto_wallet *wl, char out[AO_ADDRESS_MAX])
{
    size_t n;
    const uint8_t *o = crypto_wallet_owner(wl, &n);
    crypto_owner_address_b64(o, n, out);
}

static void put_item(fx *f, const crypto_wallet *wl, const char *const *kv, size_t n,
                     const uint8_t *target, char id[WEAVE_ID_MAX], ao_buf *keep)
{
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(wtu_item(wl, kv, n, target, "x", 1, &b, id), 0);
    ao_error err;
    assert_int_equal(weave_put(f->w, b.data, b.len, 0, NULL, &err), AO_OK);
    if (keep)
        ao_buf_append(keep, b.data, b.len);
    ao_buf_free(&b);
}

static void fx_open(fx *f, uint64_t ttl_ms)
{
    memset(f, 0, sizeof *f);
    f->dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    ao_error err;
    assert_int_equal(weave_open(f->dir, &o, &f->w, &err), AO_OK);
    weave_client_local(f->w, &f->data);
    stub_start(&f->a, "sua");
    stub_start(&f->b, "sub");
    stub_start(&f->cu, "cu");
    address_of(SA, f->addr_a);
    address_of(SB, f->addr_b);
    assert_int_equal(weave_scheduler_location_publish(f->w, SA, f->a.url, ttl_ms, NULL, &err),
                     AO_OK);
    assert_int_equal(weave_scheduler_location_publish(f->w, SB, f->b.url, ttl_ms, NULL, &err),
                     AO_OK);
    char sa[80], sb[80];
    snprintf(sa, sizeof sa, "Scheduler=%s", f->addr_a);
    snprintf(sb, sizeof sb, "Scheduler=%s", f->addr_b);
    const char *k1[] = { "Data-Protocol=ao", "Type=Process", "Module=m", sa };
    const char *k2[] = { "Data-Protocol=ao", "Type=Process", "Module=m", sb };
    /* a process whose scheduler published no location */
    const char *k3[] = { "Data-Protocol=ao", "Type=Process", "Module=m",
                         "Scheduler=nobody-nobody-nobody-nobody-nobody-nobo" };
    put_item(f, USER, k1, 4, NULL, f->p1, NULL);
    put_item(f, USER, k2, 4, NULL, f->p2, NULL);
    put_item(f, USER, k3, 4, NULL, f->p3, NULL);
}

static void fx_close(fx *f)
{
    stub_free(&f->a);
    stub_free(&f->b);
    stub_free(&f->cu);
    weave_close(f->w);
    wtu_rmdir(f->dir);
}

static const char *const UNKNOWN = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

static void cu_su_routes_reach_the_right_su(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, 3600000);
    cu_su_client c;
    ao_error err;
    assert_int_equal(net_cu_su_client_http(&f.data, NULL, &c, &err), AO_OK);
    ao_buf out;
    ao_buf_init(&out);
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_OK);
    assert_int_equal(f.a.requests, 1);
    assert_int_equal(f.b.requests, 0);
    assert_string_equal(f.a.method, "GET");
    char want[128];
    snprintf(want, sizeof want, "/processes/%s", f.p1);
    assert_string_equal(f.a.path, want);
    assert_int_equal(out.len, strlen("{\"ok\":\"sua\"}"));
    ao_buf_reset(&out);
    /* schedule on the other SU, with an escaped value */
    assert_int_equal(c.schedule(c.ctx, f.p2, "100", "a b&c=d", 50, &out, &err), AO_OK);
    assert_int_equal(f.b.requests, 1);
    snprintf(want, sizeof want, "/%s", f.p2);
    assert_string_equal(f.b.path, want);
    assert_string_equal(f.b.q_pid, f.p2);
    assert_string_equal(f.b.q_from, "100");
    assert_string_equal(f.b.q_to, "a b&c=d");
    assert_string_equal(f.b.q_limit, "50");
    assert_int_equal(c.schedule(c.ctx, f.p2, NULL, NULL, 0, &out, &err), AO_OK);
    assert_string_equal(f.b.q_from, "(none)");
    assert_string_equal(f.b.q_to, "(none)");
    assert_string_equal(f.b.q_limit, "(none)");
    /* message, latest, timestamp */
    assert_int_equal(c.message(c.ctx, f.p1, f.p2, &out, &err), AO_OK);
    snprintf(want, sizeof want, "/%s", f.p2);
    assert_string_equal(f.a.path, want);
    assert_string_equal(f.a.q_pid, f.p1);
    assert_int_equal(c.latest(c.ctx, f.p1, &out, &err), AO_OK);
    snprintf(want, sizeof want, "/%s/latest", f.p1);
    assert_string_equal(f.a.path, want);
    assert_int_equal(c.timestamp(c.ctx, f.p1, &out, &err), AO_OK);
    assert_string_equal(f.a.path, "/timestamp");
    assert_string_equal(f.a.q_pid, f.p1);
    /* not an ao process, a scheduler without location, a bad id: nothing sent */
    int before = f.a.requests + f.b.requests;
    assert_int_equal(c.process(c.ctx, UNKNOWN, &out, &err), AO_ENOTFOUND);
    assert_int_equal(c.process(c.ctx, f.p3, &out, &err), AO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "Scheduler-Location"));
    assert_int_equal(c.process(c.ctx, "../x", &out, &err), AO_EINVAL);
    assert_int_equal(c.message(c.ctx, f.p1, "bad", &out, &err), AO_EINVAL);
    assert_int_equal(f.a.requests + f.b.requests, before);
    ao_buf_free(&out);
    net_cu_su_client_free(&c);
    fx_close(&f);
}

static void statuses_map_to_codes(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, 3600000);
    cu_su_client c;
    ao_error err;
    assert_int_equal(net_cu_su_client_http(&f.data, NULL, &c, &err), AO_OK);
    ao_buf out;
    ao_buf_init(&out);
    stub_answer(&f.a, 400, "{\"error\":\"Message or Process not found\"}");
    assert_int_equal(c.message(c.ctx, f.p1, f.p2, &out, &err), AO_ENOTFOUND);
    assert_non_null(strstr(err.msg, "Message or Process not found"));
    assert_int_equal(out.len, 0);
    stub_answer(&f.a, 400, "{\"error\":\"invalid from\"}");
    assert_int_equal(c.schedule(c.ctx, f.p1, "x", NULL, 0, &out, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "invalid from"));
    stub_answer(&f.a, 403, "{\"error\":\"no\"}");
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_EDENIED);
    stub_answer(&f.a, 404, "{\"error\":\"nope\"}");
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_ENOTFOUND);
    stub_answer(&f.a, 413, "{\"error\":\"big\"}");
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_ELIMIT);
    stub_answer(&f.a, 503, "{\"error\":\"Server is warming up\"}");
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_EIO);
    assert_non_null(strstr(err.msg, "warming up"));
    stub_answer(&f.a, 500, "not json");
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_EIO);
    assert_non_null(strstr(err.msg, "not json"));
    assert_int_equal(out.len, 0);
    ao_buf_free(&out);
    net_cu_su_client_free(&c);
    fx_close(&f);
}

static void location_cached_then_relooked_when_unreachable(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, 3600000);
    cu_su_client c;
    ao_error err;
    assert_int_equal(net_cu_su_client_http(&f.data, NULL, &c, &err), AO_OK);
    ao_buf out;
    ao_buf_init(&out);
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_OK);
    assert_int_equal(f.a.requests, 1);
    /* SA moves to B's URL: the cached location still says A */
    assert_int_equal(weave_scheduler_location_publish(f.w, SA, f.b.url, 3600000, NULL, &err),
                     AO_OK);
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_OK);
    assert_int_equal(f.a.requests, 2);
    assert_int_equal(f.b.requests, 0);
    /* A goes away: AO_EIO once, then the new record is read */
    stub_stop(&f.a);
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_EIO);
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_OK);
    assert_int_equal(f.b.requests, 1);
    ao_buf_free(&out);
    net_cu_su_client_free(&c);
    fx_close(&f);
}

static void location_expires_after_ttl(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, 200);
    cu_su_client c;
    ao_error err;
    assert_int_equal(net_cu_su_client_http(&f.data, NULL, &c, &err), AO_OK);
    ao_buf out;
    ao_buf_init(&out);
    assert_int_equal(c.latest(c.ctx, f.p1, &out, &err), AO_OK);
    assert_int_equal(weave_scheduler_location_publish(f.w, SA, f.b.url, 200, NULL, &err), AO_OK);
    usleep(400 * 1000);
    assert_int_equal(c.latest(c.ctx, f.p1, &out, &err), AO_OK);
    assert_int_equal(f.a.requests, 1);
    assert_int_equal(f.b.requests, 1);
    ao_buf_free(&out);
    net_cu_su_client_free(&c);
    fx_close(&f);
}

static void data_client_over_http_locates_too(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, 3600000);
    net_gateway *gw;
    ao_error err;
    assert_int_equal(net_gateway_start(f.w, NULL, &gw, &err), AO_OK);
    char url[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%u", (unsigned)net_gateway_port(gw));
    weave_client hd;
    assert_int_equal(net_weave_client_http(url, &hd, &err), AO_OK);
    cu_su_client c;
    assert_int_equal(net_cu_su_client_http(&hd, NULL, &c, &err), AO_OK);
    ao_buf out;
    ao_buf_init(&out);
    assert_int_equal(c.process(c.ctx, f.p2, &out, &err), AO_OK);
    assert_int_equal(f.b.requests, 1);
    assert_int_equal(c.process(c.ctx, UNKNOWN, &out, &err), AO_ENOTFOUND);
    ao_buf_free(&out);
    net_cu_su_client_free(&c);
    net_weave_client_free(&hd);
    net_gateway_stop(gw);
    fx_close(&f);
}

static void mu_su_post_assign_process(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, 3600000);
    mu_su_client c;
    ao_error err;
    assert_int_equal(net_mu_su_client_http(&f.data, NULL, &c, &err), AO_OK);
    ao_buf out, raw;
    ao_buf_init(&out);
    ao_buf_init(&raw);
    /* a Process goes to the SU its Scheduler tag names */
    char sb[80];
    snprintf(sb, sizeof sb, "Scheduler=%s", f.addr_b);
    const char *kp[] = { "Data-Protocol=ao", "Type=Process", "Module=m", sb };
    char id[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(USER, kp, 4, NULL, "p", 1, &raw, id), 0);
    assert_int_equal(c.post(c.ctx, raw.data, raw.len, &out, &err), AO_OK);
    assert_int_equal(f.b.requests, 1);
    assert_string_equal(f.b.method, "POST");
    assert_string_equal(f.b.path, "/");
    assert_int_equal(f.b.body.len, raw.len);
    assert_memory_equal(f.b.body.data, raw.data, raw.len);
    /* a Message goes to the SU of its target */
    ao_buf tb;
    ao_buf_init(&tb);
    assert_int_equal(ao_b64url_decode(f.p1, strlen(f.p1), &tb, &err), AO_OK);
    assert_int_equal(tb.len, 32);
    uint8_t tgt[32];
    memcpy(tgt, tb.data, 32);
    ao_buf_free(&tb);
    const char *km[] = { "Data-Protocol=ao", "Type=Message", "Action=Eval" };
    ao_buf_reset(&raw);
    assert_int_equal(wtu_item(USER, km, 3, tgt, "1", 1, &raw, id), 0);
    assert_int_equal(c.post(c.ctx, raw.data, raw.len, &out, &err), AO_OK);
    assert_int_equal(f.a.requests, 1);
    assert_memory_equal(f.a.body.data, raw.data, raw.len);
    /* a Message to no process, without target, not an item */
    uint8_t nowhere[32];
    memset(nowhere, 9, sizeof nowhere);
    ao_buf_reset(&raw);
    assert_int_equal(wtu_item(USER, km, 3, nowhere, "1", 1, &raw, id), 0);
    assert_int_equal(c.post(c.ctx, raw.data, raw.len, &out, &err), AO_ENOTFOUND);
    ao_buf_reset(&raw);
    assert_int_equal(wtu_item(USER, km, 3, NULL, "1", 1, &raw, id), 0);
    assert_int_equal(c.post(c.ctx, raw.data, raw.len, &out, &err), AO_EINVAL);
    assert_int_not_equal(c.post(c.ctx, (const uint8_t *)"junk", 4, &out, &err), AO_OK);
    assert_int_equal(f.a.requests + f.b.requests, 2);
    /* assign with every parameter */
    assert_int_equal(c.assign(c.ctx, f.p2, f.p1, true, "a,b", &out, &err), AO_OK);
    assert_string_equal(f.b.method, "POST");
    assert_string_equal(f.b.path, "/");
    assert_string_equal(f.b.q_pid, f.p2);
    assert_string_equal(f.b.q_assign, f.p1);
    assert_true(f.b.has_base_layer);
    assert_string_equal(f.b.q_exclude, "a,b");
    assert_int_equal(c.assign(c.ctx, f.p2, f.p1, false, NULL, &out, &err), AO_OK);
    assert_false(f.b.has_base_layer);
    assert_string_equal(f.b.q_exclude, "(none)");
    assert_int_equal(c.assign(c.ctx, f.p2, "short", false, NULL, &out, &err), AO_EINVAL);
    /* process */
    ao_buf_reset(&out);
    assert_int_equal(c.process(c.ctx, f.p1, &out, &err), AO_OK);
    char want[80];
    snprintf(want, sizeof want, "/processes/%s", f.p1);
    assert_string_equal(f.a.path, want);
    assert_int_equal(c.process(c.ctx, UNKNOWN, &out, &err), AO_ENOTFOUND);
    ao_buf_free(&out);
    ao_buf_free(&raw);
    net_mu_su_client_free(&c);
    fx_close(&f);
}

static void fixed_su_url_skips_lookup(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, 3600000);
    char fixed[80];
    snprintf(fixed, sizeof fixed, "%s/", f.cu.url);   /* trailing '/' is dropped */
    mu_su_client c;
    cu_su_client cc;
    ao_error err;
    assert_int_equal(net_mu_su_client_http(NULL, fixed, &c, &err), AO_OK);
    assert_int_equal(net_cu_su_client_http(NULL, fixed, &cc, &err), AO_OK);
    ao_buf out;
    ao_buf_init(&out);
    assert_int_equal(cc.process(cc.ctx, UNKNOWN, &out, &err), AO_OK);
    char want[80];
    snprintf(want, sizeof want, "/processes/%s", UNKNOWN);
    assert_string_equal(f.cu.path, want);
    assert_int_equal(c.post(c.ctx, (const uint8_t *)"any", 3, &out, &err), AO_OK);
    assert_string_equal(f.cu.path, "/");
    assert_int_equal(f.cu.requests, 2);
    net_mu_su_client_free(&c);
    net_cu_su_client_free(&cc);
    assert_int_equal(net_mu_su_client_http(NULL, NULL, &c, &err), AO_EINVAL);
    assert_int_equal(net_cu_su_client_http(NULL, "ftp://x", &cc, &err), AO_EINVAL);
    ao_buf_free(&out);
    fx_close(&f);
}

static void mu_cu_result_and_cron(void **state)
{
    (void)state;
    fx f;
    fx_open(&f, 3600000);
    mu_cu_client c;
    ao_error err;
    assert_int_equal(net_mu_cu_client_http(f.cu.url, &c, &err), AO_OK);
    ao_buf out;
    ao_buf_init(&out);
    stub_answer(&f.cu, 200, "{\"Messages\":[],\"Output\":\"hi\"}");
    assert_int_equal(c.result(c.ctx, f.p2, f.p1, &out, &err), AO_OK);
    char want[80];
    snprintf(want, sizeof want, "/result/%s", f.p2);
    assert_string_equal(f.cu.path, want);
    assert_string_equal(f.cu.q_pid, f.p1);
    assert_string_equal(f.cu.q_nobusy, "1");
    assert_int_equal(out.len, strlen("{\"Messages\":[],\"Output\":\"hi\"}"));
    ao_buf_reset(&out);
    stub_answer(&f.cu, 202, "{\"message\":\"Evaluation of process P is in progress.\"}");
    assert_int_equal(c.result(c.ctx, f.p2, f.p1, &out, &err), AO_EBUSY);
    ao_buf_reset(&out);
    stub_answer(&f.cu, 200, "{\"pageInfo\":{\"hasNextPage\":false},\"edges\":[]}");
    assert_int_equal(c.cron(c.ctx, f.p1, "eyJ0IjoxfQ==", 50, &out, &err), AO_OK);
    snprintf(want, sizeof want, "/cron/%s", f.p1);
    assert_string_equal(f.cu.path, want);
    assert_string_equal(f.cu.q_from, "eyJ0IjoxfQ==");
    assert_string_equal(f.cu.q_limit, "50");
    assert_int_equal(c.cron(c.ctx, f.p1, NULL, 0, &out, &err), AO_OK);
    assert_string_equal(f.cu.q_from, "(none)");
    stub_answer(&f.cu, 404, "{\"error\":\"no such message\"}");
    assert_int_equal(c.result(c.ctx, f.p2, f.p1, &out, &err), AO_ENOTFOUND);
    stub_stop(&f.cu);
    assert_int_equal(c.result(c.ctx, f.p2, f.p1, &out, &err), AO_EIO);
    net_mu_cu_client_free(&c);
    assert_int_equal(net_mu_cu_client_http("nope", &c, &err), AO_EINVAL);
    ao_buf_free(&out);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cu_su_routes_reach_the_right_su),
        cmocka_unit_test(statuses_map_to_codes),
        cmocka_unit_test(location_cached_then_relooked_when_unreachable),
        cmocka_unit_test(location_expires_after_ttl),
        cmocka_unit_test(data_client_over_http_locates_too),
        cmocka_unit_test(mu_su_post_assign_process),
        cmocka_unit_test(fixed_su_url_skips_lookup),
        cmocka_unit_test(mu_cu_result_and_cron),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
