/* test_weave_arweave.c - the HTTP data client (net_weave_client_http)
 * reading items from a gateway that serves them as an Arweave gateway
 * such as arlocal does: no /item or /raw route, GraphQL without anchors
 * or bundledIn, items of a bundle reached only through GET /{bundle}, and
 * some items not indexed at all. The test puts a proxy in front of this
 * project's gateway that behaves so, and checks each path of the client:
 * an item without anchor rebuilt from GraphQL + GET /{id}; an item with an
 * anchor found by scanning the bundles; an item GraphQL does not know
 * found the same way (get and get_meta); a gateway answering wrong data
 * never yields wrong bytes; an unknown id is AO_ENOTFOUND. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <microhttpd.h>
#include <pthread.h>

#include "../weave/weave_test_util.h"
#include "net/net.h"
#include "net_test_util.h"

static crypto_wallet *W;
static weave *G_w;
static net_gateway *G_gw;
static char G_gw_url[64], G_proxy_url[64];
static struct MHD_Daemon *G_proxy;
static char G_hidden[WEAVE_ID_MAX];   /* left out of GraphQL answers */
static char G_lie[WEAVE_ID_MAX];      /* GET /{id} answers other data */

/* ---- the arlocal-like proxy ---- */

typedef struct preq {
    ao_buf body;
} preq;

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const void *p, size_t n,
                             const char *ctype)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(n, (void *)p, MHD_RESPMEM_MUST_COPY);
    if (ctype)
        MHD_add_response_header(r, "Content-Type", ctype);
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* GraphQL as arlocal answers: anchors "", bundledIn null, G_hidden gone. */
static void arlocalize(cJSON *root)
{
    cJSON *edges = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(root, "data"),
                                                           "transactions"), "edges");
    for (int i = cJSON_GetArraySize(edges) - 1; i >= 0; i--) {
        cJSON *node = cJSON_GetObjectItem(cJSON_GetArrayItem(edges, i), "node");
        cJSON *id = cJSON_GetObjectItem(node, "id");
        if (cJSON_IsString(id) && !strcmp(id->valuestring, G_hidden)) {
            cJSON_DeleteItemFromArray(edges, i);
            continue;
        }
        if (cJSON_GetObjectItem(node, "anchor"))
            cJSON_ReplaceItemInObject(node, "anchor", cJSON_CreateString(""));
        if (cJSON_GetObjectItem(node, "bundledIn"))
            cJSON_ReplaceItemInObject(node, "bundledIn", cJSON_CreateNull());
    }
}

static enum MHD_Result proxy(void *cls, struct MHD_Connection *c, const char *url,
                             const char *method, const char *version, const char *upload,
                             size_t *upload_size, void **ctx)
{
    preq *q = *ctx;
    if (!q) {
        q = calloc(1, sizeof *q);
        ao_buf_init(&q->body);
        *ctx = q;
        return MHD_YES;
    }
    if (*upload_size) {
        ao_buf_append(&q->body, upload, *upload_size);
        *upload_size = 0;
        return MHD_YES;
    }
    char target[2048];
    snprintf(target, sizeof target, "%s%s", G_gw_url, url);
    if (!strncmp(url, "/item/", 6) || !strncmp(url, "/raw/", 5))
        return reply(c, 404, "{\"error\":\"Not Found\"}", 21, "application/json");
    if (!strcmp(url, "/" ) || strlen(url) != 44) {   /* /graphql */
        net_http_answer a;
        net_http_answer_init(&a);
        enum MHD_Result ret = MHD_NO;
        if (net_http_request(method, target, q->body.data, q->body.len, "application/json", NULL,
                             0, &a, NULL) == AO_OK) {
            cJSON *j = cJSON_ParseWithLength((const char *)a.body.data, a.body.len);
            if (j) {
                arlocalize(j);
                char *t = cJSON_PrintUnformatted(j);
                ret = reply(c, (unsigned)a.status, t, strlen(t), "application/json");
                free(t);
                cJSON_Delete(j);
            } else {
                ret = reply(c, (unsigned)a.status, a.body.data, a.body.len, NULL);
            }
        }
        net_http_answer_free(&a);
        return ret;
    }
    if (!strcmp(url + 1, G_lie))
        return reply(c, 200, "not the data", 12, "text/plain");
    net_http_answer a;   /* GET /{id}: the data, as the gateway serves it */
    net_http_answer_init(&a);
    enum MHD_Result ret = MHD_NO;
    if (net_http_request("GET", target, NULL, 0, NULL, NULL, 0, &a, NULL) == AO_OK)
        ret = reply(c, (unsigned)a.status, a.body.data, a.body.len, a.ctype);
    net_http_answer_free(&a);
    return ret;
}

static void proxy_done(void *cls, struct MHD_Connection *c, void **ctx,
                       enum MHD_RequestTerminationCode code)
{
    preq *q = *ctx;
    if (q) {
        ao_buf_free(&q->body);
        free(q);
    }
    *ctx = NULL;
}

/* ---- fixture: A (no anchor), B (anchor), C (anchor, hidden), bundled ---- */

static char *G_dir;
static ao_buf G_raw[3];
static char G_id[3][WEAVE_ID_MAX], G_bundle[WEAVE_ID_MAX];

static int setup(void **state)
{
    (void)state;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &W, NULL))
        return -1;
    G_dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    o.no_fsync = true;
    net_gateway_options go = { .host = "127.0.0.1", .port = 0 };
    if (weave_open(G_dir, &o, &G_w, NULL) || net_gateway_start(G_w, &go, &G_gw, NULL))
        return -1;
    snprintf(G_gw_url, sizeof G_gw_url, "http://127.0.0.1:%u", (unsigned)net_gateway_port(G_gw));
    static const uint8_t anchor[32] = "anchor-of-thirty-two-bytes-long!";
    ao_error err;
    for (int i = 0; i < 3; i++) {
        ao_buf_init(&G_raw[i]);
        char data[32];
        snprintf(data, sizeof data, "item %d", i);
        item_tag tags[2] = { { (const uint8_t *)"Type", 4, (const uint8_t *)"Message", 7 },
                             { (const uint8_t *)"N", 1, (const uint8_t *)data + 5, 1 } };
        item_fields f = { NULL, i ? anchor : NULL, tags, 2, (const uint8_t *)data, strlen(data) };
        uint8_t id[ITEM_ID_LEN];
        if (item_sign(W, &f, &G_raw[i], id, &err))
            return -1;
        ao_b64url_encode_to(id, ITEM_ID_LEN, G_id[i]);
    }
    const uint8_t *raws[3] = { G_raw[0].data, G_raw[1].data, G_raw[2].data };
    size_t lens[3] = { G_raw[0].len, G_raw[1].len, G_raw[2].len };
    ao_buf bundle, outer;
    ao_buf_init(&bundle);
    ao_buf_init(&outer);
    const char *bkv[] = { "Bundle-Format=binary", "Bundle-Version=2.0.0" };
    if (item_bundle_write(raws, lens, 3, &bundle, &err) ||
        wtu_item(W, bkv, 2, NULL, bundle.data, bundle.len, &outer, G_bundle) ||
        weave_put(G_w, outer.data, outer.len, 0, NULL, &err))
        return -1;
    ao_buf_free(&bundle);
    ao_buf_free(&outer);
    memcpy(G_hidden, G_id[2], WEAVE_ID_MAX);
    G_proxy = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION,
                               0, NULL, NULL, proxy, NULL, MHD_OPTION_NOTIFY_COMPLETED,
                               proxy_done, NULL, MHD_OPTION_END);
    if (!G_proxy)
        return -1;
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(G_proxy, MHD_DAEMON_INFO_BIND_PORT);
    snprintf(G_proxy_url, sizeof G_proxy_url, "http://127.0.0.1:%u", (unsigned)di->port);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    MHD_stop_daemon(G_proxy);
    net_gateway_stop(G_gw);
    weave_close(G_w);
    wtu_rmdir(G_dir);
    for (int i = 0; i < 3; i++)
        ao_buf_free(&G_raw[i]);
    crypto_wallet_free(W);
    return 0;
}

/* get(id) through a fresh client equals want. */
static void get_equals(const char *id, const ao_buf *want)
{
    weave_client c;
    ao_error err;
    assert_int_equal(net_weave_client_http(G_proxy_url, &c, &err), AO_OK);
    ao_buf got;
    ao_buf_init(&got);
    int r = c.get(c.ctx, id, &got, &err);
    if (r)
        fprintf(stderr, "get %s: %s\n", id, err.msg);
    assert_int_equal(r, AO_OK);
    assert_int_equal(got.len, want->len);
    assert_memory_equal(got.data, want->data, want->len);
    ao_buf_free(&got);
    net_weave_client_free(&c);
}

static void no_anchor_rebuilt_from_graphql(void **state)
{
    (void)state;
    get_equals(G_id[0], &G_raw[0]);
}

static void anchored_item_found_in_its_bundle(void **state)
{
    (void)state;
    get_equals(G_id[1], &G_raw[1]);
    weave_client c;
    ao_error err;
    assert_int_equal(net_weave_client_http(G_proxy_url, &c, &err), AO_OK);
    ao_buf data;
    ao_buf_init(&data);
    assert_int_equal(c.get_data(c.ctx, G_id[1], &data, &err), AO_OK);
    assert_int_equal(data.len, 6);
    assert_memory_equal(data.data, "item 1", 6);
    ao_buf_free(&data);
    net_weave_client_free(&c);
}

static void unindexed_item_found_with_its_meta(void **state)
{
    (void)state;
    get_equals(G_id[2], &G_raw[2]);
    weave_client c;
    ao_error err;
    assert_int_equal(net_weave_client_http(G_proxy_url, &c, &err), AO_OK);
    weave_item_meta m;
    assert_int_equal(c.get_meta(c.ctx, G_id[2], WEAVE_META_KEYS, &m, &err), AO_OK);
    assert_string_equal(m.id, G_id[2]);
    assert_string_equal(m.bundled_in, G_bundle);
    assert_int_equal(m.sig_type, ITEM_SIG_ED25519);
    assert_int_equal(m.ntags, 2);
    assert_string_equal(m.tags[1].name, "N");
    assert_string_equal(m.tags[1].value, "2");
    assert_int_equal(m.data_size, 6);
    assert_non_null(m.owner_key);
    weave_meta_free(&m);
    net_weave_client_free(&c);
}

static void wrong_data_never_returned(void **state)
{
    (void)state;
    memcpy(G_lie, G_id[0], WEAVE_ID_MAX);   /* GET /{A} lies: rebuilding fails */
    get_equals(G_id[0], &G_raw[0]);          /* ... and the bundle has it */
    G_lie[0] = 0;
}

static void unknown_item_not_found(void **state)
{
    (void)state;
    weave_client c;
    ao_error err;
    assert_int_equal(net_weave_client_http(G_proxy_url, &c, &err), AO_OK);
    ao_buf got;
    ao_buf_init(&got);
    char unknown[WEAVE_ID_MAX];
    memset(unknown, 'A', 43);
    unknown[43] = 0;
    assert_int_equal(c.get(c.ctx, unknown, &got, &err), AO_ENOTFOUND);
    weave_item_meta m;
    assert_int_equal(c.get_meta(c.ctx, unknown, 0, &m, &err), AO_ENOTFOUND);
    assert_int_equal(got.len, 0);
    ao_buf_free(&got);
    net_weave_client_free(&c);
}

int main(void)
{
    ao_log_configure(AO_LOG_OFF, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_anchor_rebuilt_from_graphql),
        cmocka_unit_test(anchored_item_found_in_its_bundle),
        cmocka_unit_test(unindexed_item_found_with_its_meta),
        cmocka_unit_test(wrong_data_never_returned),
        cmocka_unit_test(unknown_item_not_found),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
