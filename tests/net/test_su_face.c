/*
 * test_su_face.c - the SU's HTTP face end to end over real HTTP (libcurl)
 * on a real SU over a temporary weave: every route of PROTOCOL.md §2 with
 * its query parameters, statuses and JSON shapes; bad input (bad
 * signatures, half an assign, nonsense query values, bad ids, huge bodies)
 * answers a 4xx JSON error and stores nothing; /health and /metrics.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "net/net.h"
#include "net/net_test_util.h"
#include "su/su.h"
#include "weave/weave_test_util.h"

static crypto_wallet *SUW, *USER;

typedef struct fx {
    char *dir;
    weave *w;
    weave_client data;
    su *s;
    net_server *srv;
    char url[64];
    char su_addr[AO_ADDRESS_MAX];
    char pid[WEAVE_ID_MAX], msg[WEAVE_ID_MAX];
} fx;

static int setup(void **state)
{
    (void)state;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &SUW, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &USER, NULL))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    crypto_wallet_free(SUW);
    crypto_wallet_free(USER);
    return 0;
}

static void post_item(fx *f, const char *const *kv, size_t n, const uint8_t *target,
                      char id[WEAVE_ID_MAX], long want)
{
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(wtu_item(USER, kv, n, target, "1 + 1", 5, &b, id), 0);
    ntu_answer a;
    assert_int_equal(ntu_call("POST", f->url, "/", b.data, b.len, "application/octet-stream",
                              NULL, &a), want);
    if (want == 200) {
        assert_string_equal(ntu_str(a.json, "id"), id);
        assert_true(cJSON_IsNumber(ntu_at(a.json, "timestamp")));
    } else {
        assert_true(ntu_is_error(&a));
    }
    ntu_free(&a);
    ao_buf_free(&b);
}

static void fx_open(fx *f)
{
    memset(f, 0, sizeof *f);
    f->dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    ao_error err;
    assert_int_equal(weave_open(f->dir, &o, &f->w, &err), AO_OK);
    weave_client_local(f->w, &f->data);
    char sudir[512];
    snprintf(sudir, sizeof sudir, "%s/su", f->dir);
    su_options so = { 0 };
    so.dir = sudir;
    so.data = &f->data;
    so.wallet = SUW;
    so.no_fsync = true;
    int rc = su_open(&so, &f->s, &err);
    if (rc)
        fail_msg("su_open: %s", err.msg);
    net_server_options no = { 0 };
    no.max_body = 64 * 1024;
    no.threads = 4;
    assert_int_equal(net_su_start(f->s, &no, &f->srv, &err), AO_OK);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u", (unsigned)net_server_port(f->srv));
    snprintf(f->su_addr, sizeof f->su_addr, "%s", su_address(f->s));
    /* a process and one message */
    char sched[96];
    snprintf(sched, sizeof sched, "Scheduler=%s", f->su_addr);
    const char *kp[] = { "Data-Protocol=ao", "Type=Process", "Module=mod", sched };
    post_item(f, kp, 4, NULL, f->pid, 200);
    ao_buf t;
    ao_buf_init(&t);
    assert_int_equal(ao_b64url_decode(f->pid, 43, &t, &err), AO_OK);
    const char *km[] = { "Data-Protocol=ao", "Type=Message", "Action=Eval" };
    post_item(f, km, 3, t.data, f->msg, 200);
    ao_buf_free(&t);
}

static void fx_close(fx *f)
{
    net_server_stop(f->srv);
    su_close(f->s);
    weave_close(f->w);
    wtu_rmdir(f->dir);
}

static size_t schedule_len(fx *f)
{
    ntu_answer a;
    char path[128];
    snprintf(path, sizeof path, "/%s?process-id=%s", f->pid, f->pid);
    assert_int_equal(ntu_get(f->url, path, &a), 200);
    size_t n = (size_t)cJSON_GetArraySize(ntu_at(a.json, "edges"));
    ntu_free(&a);
    return n;
}

static void info_timestamp_health_metrics(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    ntu_answer a;
    assert_int_equal(ntu_get(f.url, "/", &a), 200);
    assert_string_equal(ntu_str(a.json, "address"), f.su_addr);
    assert_non_null(ntu_str(a.json, "timestamp"));
    assert_non_null(strstr(a.ctype, "application/json"));
    ntu_free(&a);
    char path[128];
    snprintf(path, sizeof path, "/timestamp?process-id=%s", f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_non_null(ntu_str(a.json, "timestamp"));
    assert_int_equal(strlen(ntu_str(a.json, "block_height")), 12);
    ntu_free(&a);
    assert_int_equal(ntu_get(f.url, "/timestamp", &a), 200);
    ntu_free(&a);
    assert_int_equal(ntu_get(f.url, "/timestamp?process-id=nonsense", &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    assert_int_equal(ntu_get(f.url, "/health", &a), 200);
    assert_string_equal(ntu_str(a.json, "status"), "ok");
    ntu_free(&a);
    assert_int_equal(ntu_get(f.url, "/metrics", &a), 200);
    ao_buf_append_byte(&a.body, 0);
    assert_non_null(strstr((char *)a.body.data, "ao_su_http_requests_total"));
    ntu_free(&a);
    assert_int_equal(ntu_call("DELETE", f.url, "/", NULL, 0, NULL, NULL, &a), 405);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    assert_int_equal(ntu_get(f.url, "/a/b/c", &a), 404);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    fx_close(&f);
}

static void schedule_pages_and_nodes(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    ntu_answer a;
    char path[256];
    /* the whole schedule: the process as edge 0, then the message */
    snprintf(path, sizeof path, "/%s?process-id=%s", f.pid, f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_int_equal(cJSON_GetArraySize(ntu_at(a.json, "edges")), 2);
    assert_string_equal(ntu_str(a.json, "edges.0.node.message.id"), f.pid);
    assert_string_equal(ntu_str(a.json, "edges.1.node.message.id"), f.msg);
    assert_true(cJSON_IsFalse(ntu_at(a.json, "page_info.has_next_page")));
    const char *cur = ntu_str(a.json, "edges.0.cursor");
    assert_non_null(cur);
    char cursor[64];
    snprintf(cursor, sizeof cursor, "%s", cur);
    ntu_free(&a);
    /* without process-id too (aoconnect omits it) */
    snprintf(path, sizeof path, "/%s", f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_int_equal(cJSON_GetArraySize(ntu_at(a.json, "edges")), 2);
    ntu_free(&a);
    /* limit 1: one edge and a next page */
    snprintf(path, sizeof path, "/%s?process-id=%s&limit=1", f.pid, f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_int_equal(cJSON_GetArraySize(ntu_at(a.json, "edges")), 1);
    assert_true(cJSON_IsTrue(ntu_at(a.json, "page_info.has_next_page")));
    ntu_free(&a);
    /* from = the first cursor (exclusive): the message only */
    snprintf(path, sizeof path, "/%s?process-id=%s&from=%s", f.pid, f.pid, cursor);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_int_equal(cJSON_GetArraySize(ntu_at(a.json, "edges")), 1);
    assert_string_equal(ntu_str(a.json, "edges.0.node.message.id"), f.msg);
    ntu_free(&a);
    /* nonce mode */
    snprintf(path, sizeof path, "/%s?process-id=%s&from-nonce=-1&to-nonce=0", f.pid, f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_int_equal(cJSON_GetArraySize(ntu_at(a.json, "edges")), 1);
    ntu_free(&a);
    snprintf(path, sizeof path, "/%s?process-id=%s&show-anchor", f.pid, f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    ntu_free(&a);
    /* one message: its node */
    snprintf(path, sizeof path, "/%s?process-id=%s", f.msg, f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_string_equal(ntu_str(a.json, "message.id"), f.msg);
    assert_non_null(ntu_str(a.json, "assignment.id"));
    ntu_free(&a);
    /* latest */
    snprintf(path, sizeof path, "/%s/latest", f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_string_equal(ntu_str(a.json, "message.id"), f.msg);
    ntu_free(&a);
    /* process record */
    snprintf(path, sizeof path, "/processes/%s", f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    assert_string_equal(ntu_str(a.json, "process_id"), f.pid);
    assert_non_null(ntu_at(a.json, "tags"));
    ntu_free(&a);
    fx_close(&f);
}

static void unknown_ids_and_nonsense_queries(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    ntu_answer a;
    char path[256];
    const char *unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    snprintf(path, sizeof path, "/%s", unknown);
    assert_int_equal(ntu_get(f.url, path, &a), 400);
    assert_non_null(strstr(ntu_str(a.json, "error"), "not found"));
    ntu_free(&a);
    snprintf(path, sizeof path, "/processes/%s", unknown);
    assert_int_equal(ntu_get(f.url, path, &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    snprintf(path, sizeof path, "/%s/latest", unknown);
    assert_int_equal(ntu_get(f.url, path, &a), 400);
    ntu_free(&a);
    assert_int_equal(ntu_get(f.url, "/not-an-id", &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    static const char *const bad[] = { "limit=abc", "limit=-5", "from=xyz", "to=1e9x",
                                       "from-nonce=zz", "to-nonce=", "process-id=short",
                                       "limit" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        snprintf(path, sizeof path, "/%s?%s", f.pid, bad[i]);
        if (ntu_get(f.url, path, &a) != 400)
            fail_msg("%s: status %ld", bad[i], a.status);
        assert_true(ntu_is_error(&a));
        ntu_free(&a);
    }
    fx_close(&f);
}

static void posts_refused_store_nothing(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    size_t before = schedule_len(&f);
    ao_error err;
    ao_buf t;
    ao_buf_init(&t);
    assert_int_equal(ao_b64url_decode(f.pid, 43, &t, &err), AO_OK);
    /* bad signature */
    const char *km[] = { "Data-Protocol=ao", "Type=Message", "Action=Eval" };
    ao_buf b;
    ao_buf_init(&b);
    char id[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(USER, km, 3, t.data, "hi", 2, &b, id), 0);
    b.data[b.len - 1] ^= 1;
    ntu_answer a;
    assert_int_equal(ntu_call("POST", f.url, "/", b.data, b.len, NULL, NULL, &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    /* not an item, empty */
    assert_int_equal(ntu_call("POST", f.url, "/", "junk", 4, NULL, NULL, &a), 400);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    assert_int_equal(ntu_call("POST", f.url, "/", NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    /* no Data-Protocol; a target that is no process here */
    const char *nodp[] = { "Type=Message" };
    post_item(&f, nodp, 1, t.data, id, 400);
    uint8_t elsewhere[32];
    memset(elsewhere, 3, sizeof elsewhere);
    post_item(&f, km, 3, elsewhere, id, 400);
    /* half an assign, and bad ids in it */
    char path[256];
    snprintf(path, sizeof path, "/?process-id=%s", f.pid);
    assert_int_equal(ntu_call("POST", f.url, path, NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    snprintf(path, sizeof path, "/?assign=%s", f.msg);
    assert_int_equal(ntu_call("POST", f.url, path, NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    snprintf(path, sizeof path, "/?process-id=%s&assign=short", f.pid);
    assert_int_equal(ntu_call("POST", f.url, path, NULL, 0, NULL, NULL, &a), 400);
    ntu_free(&a);
    /* a body above max_body */
    size_t n = 100 * 1024;
    char *big = calloc(1, n);
    assert_int_equal(ntu_call("POST", f.url, "/", big, n, NULL, NULL, &a), 413);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    free(big);
    assert_int_equal(schedule_len(&f), before);
    ao_buf_free(&b);
    ao_buf_free(&t);
    fx_close(&f);
}

static void assign_with_flags(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    /* a transaction in the data layer to assign */
    const char *kv[] = { "App-Name=x" };
    ao_buf b;
    ao_buf_init(&b);
    char tx[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(USER, kv, 1, NULL, "tx", 2, &b, tx), 0);
    ao_error err;
    assert_int_equal(weave_put(f.w, b.data, b.len, 0, NULL, &err), AO_OK);
    size_t before = schedule_len(&f);
    char path[256];
    ntu_answer a;
    snprintf(path, sizeof path, "/?process-id=%s&assign=%s&base-layer&exclude=Data,Anchor",
             f.pid, tx);
    assert_int_equal(ntu_call("POST", f.url, path, NULL, 0, NULL, NULL, &a), 200);
    const char *aid = ntu_str(a.json, "id");
    assert_non_null(aid);
    assert_int_equal(strlen(aid), 43);
    assert_true(cJSON_IsNumber(ntu_at(a.json, "timestamp")));
    ntu_free(&a);
    assert_int_equal(schedule_len(&f), before + 1);
    /* the assigned tx is found by id, with Exclude tags on its assignment */
    snprintf(path, sizeof path, "/%s?process-id=%s", tx, f.pid);
    assert_int_equal(ntu_get(f.url, path, &a), 200);
    cJSON *tags = ntu_at(a.json, "assignment.tags");
    int excl = 0;
    cJSON *t;
    cJSON_ArrayForEach(t, tags)
        if (!strcmp(ntu_str(t, "name") ? ntu_str(t, "name") : "", "Exclude"))
            excl++;
    assert_int_equal(excl, 2);
    ntu_free(&a);
    /* an unknown tx: refused, nothing stored */
    snprintf(path, sizeof path, "/?process-id=%s&assign=%s", f.pid,
             "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    long st = ntu_call("POST", f.url, path, NULL, 0, NULL, NULL, &a);
    assert_true(st >= 400 && st < 500);
    assert_true(ntu_is_error(&a));
    ntu_free(&a);
    assert_int_equal(schedule_len(&f), before + 1);
    ao_buf_free(&b);
    fx_close(&f);
}

/* The CU's and MU's HTTP SU clients, locating this SU through its
 * Scheduler-Location record, read and write through the face exactly what
 * su.h gives in process. */
static void unit_clients_through_the_face(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    ao_error err;
    assert_int_equal(weave_scheduler_location_publish(f.w, SUW, f.url, 60000, NULL, &err),
                     AO_OK);
    cu_su_client c;
    assert_int_equal(net_cu_su_client_http(&f.data, NULL, &c, &err), AO_OK);
    ao_buf a, b;
    ao_buf_init(&a);
    ao_buf_init(&b);
    assert_int_equal(c.process(c.ctx, f.pid, &a, &err), AO_OK);
    assert_int_equal(su_process_json(f.s, f.pid, &b, &err), AO_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    ao_buf_reset(&a);
    ao_buf_reset(&b);
    assert_int_equal(c.message(c.ctx, f.pid, f.msg, &a, &err), AO_OK);
    su_query q = { .process_id = f.pid };
    assert_int_equal(su_get_json(f.s, f.msg, &q, &b, &err), AO_OK);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.data, b.data, a.len);
    ao_buf_reset(&a);
    assert_int_equal(c.schedule(c.ctx, f.pid, NULL, NULL, 1, &a, &err), AO_OK);
    cJSON *j = cJSON_ParseWithLength((const char *)a.data, a.len);
    assert_int_equal(cJSON_GetArraySize(ntu_at(j, "edges")), 1);
    cJSON_Delete(j);
    ao_buf_reset(&a);
    assert_int_equal(c.latest(c.ctx, f.pid, &a, &err), AO_OK);
    ao_buf_reset(&a);
    assert_int_equal(c.timestamp(c.ctx, f.pid, &a, &err), AO_OK);
    /* an unknown message: the SU's 400 "not found" comes back as AO_ENOTFOUND */
    assert_int_equal(c.message(c.ctx, f.pid, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &a,
                               &err), AO_ENOTFOUND);
    net_cu_su_client_free(&c);
    /* the MU's client posts a message and an assignment */
    mu_su_client m;
    assert_int_equal(net_mu_su_client_http(&f.data, NULL, &m, &err), AO_OK);
    size_t before = schedule_len(&f);
    ao_buf t, raw;
    ao_buf_init(&t);
    ao_buf_init(&raw);
    assert_int_equal(ao_b64url_decode(f.pid, 43, &t, &err), AO_OK);
    const char *km[] = { "Data-Protocol=ao", "Type=Message", "Action=Ping" };
    char id[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(USER, km, 3, t.data, "p", 1, &raw, id), 0);
    ao_buf_reset(&a);
    assert_int_equal(m.post(m.ctx, raw.data, raw.len, &a, &err), AO_OK);
    j = cJSON_ParseWithLength((const char *)a.data, a.len);
    assert_string_equal(ntu_str(j, "id"), id);
    cJSON_Delete(j);
    ao_buf_reset(&a);
    const char *kt[] = { "App-Name=x" };
    char tx[WEAVE_ID_MAX];
    ao_buf txb;
    ao_buf_init(&txb);
    assert_int_equal(wtu_item(USER, kt, 1, NULL, "tx", 2, &txb, tx), 0);
    assert_int_equal(weave_put(f.w, txb.data, txb.len, 0, NULL, &err), AO_OK);
    ao_buf_free(&txb);
    assert_int_equal(m.assign(m.ctx, f.pid, tx, false, "Data", &a, &err), AO_OK);
    assert_int_equal(schedule_len(&f), before + 2);
    /* a bad signature: refused as invalid, nothing stored */
    raw.data[raw.len - 1] ^= 1;
    assert_int_not_equal(m.post(m.ctx, raw.data, raw.len, &a, &err), AO_OK);
    assert_int_equal(schedule_len(&f), before + 2);
    net_mu_su_client_free(&m);
    ao_buf_free(&a);
    ao_buf_free(&b);
    ao_buf_free(&t);
    ao_buf_free(&raw);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(info_timestamp_health_metrics),
        cmocka_unit_test(schedule_pages_and_nodes),
        cmocka_unit_test(unknown_ids_and_nonsense_queries),
        cmocka_unit_test(posts_refused_store_nothing),
        cmocka_unit_test(assign_with_flags),
        cmocka_unit_test(unit_clients_through_the_face),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
