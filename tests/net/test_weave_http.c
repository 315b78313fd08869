/*
 * test_weave_http.c - net_weave_client_http against this node's own gateway
 * over a temporary weave: every operation over HTTP must give what the
 * local weave_client gives for the same weave (puts, transactions and
 * blocks queries with every filter, paging, metadata with keys, data, raw
 * items, info, Scheduler-Location), refusals must store nothing, and an
 * unreachable gateway answers AO_EIO. Also the shared server core's
 * /health, /metrics, OPTIONS, and the 413 on the gateway face.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <curl/curl.h>
#include <stdio.h>
#include <string.h>

#include "net/net.h"
#include "net/net_internal.h"
#include "weave/weave_test_util.h"

static crypto_wallet *W1, *W2;

typedef struct fx {
    char *dir;
    weave *w;
    net_gateway *gw;
    weave_client local, http;
    char url[64];
} fx;

static int setup(void **state)
{
    (void)state;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &W1, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ETHEREUM, &W2, NULL))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    crypto_wallet_free(W1);
    crypto_wallet_free(W2);
    return 0;
}

static void fx_open(fx *f)
{
    memset(f, 0, sizeof *f);
    f->dir = wtu_tmpdir();
    assert_non_null(f->dir);
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    ao_error err;
    assert_int_equal(weave_open(f->dir, &o, &f->w, &err), AO_OK);
    net_gateway_options go = { 0 };
    go.max_body = 64 * 1024;
    assert_int_equal(net_gateway_start(f->w, &go, &f->gw, &err), AO_OK);
    snprintf(f->url, sizeof f->url, "http://127.0.0.1:%u/", (unsigned)net_gateway_port(f->gw));
    weave_client_local(f->w, &f->local);
    assert_int_equal(net_weave_client_http(f->url, &f->http, &err), AO_OK);
}

static void fx_close(fx *f)
{
    net_weave_client_free(&f->http);
    net_gateway_stop(f->gw);
    weave_close(f->w);
    wtu_rmdir(f->dir);
}

/* sign and put over HTTP; returns the id in id */
static void put_http(fx *f, const crypto_wallet *wl, const char *const *kv, size_t n,
                     const uint8_t *target, const char *data, char id[WEAVE_ID_MAX])
{
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(wtu_item(wl, kv, n, target, data, strlen(data), &b, id), 0);
    weave_put_result r;
    ao_error err;
    assert_int_equal(f->http.put(f->http.ctx, b.data, b.len, &r, &err), AO_OK);
    assert_string_equal(r.id, id);
    assert_true(r.is_new);
    ao_buf_free(&b);
}

static void assert_meta_equal(const weave_item_meta *a, const weave_item_meta *b, bool keys)
{
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->owner_address, b->owner_address);
    assert_string_equal(a->target, b->target);
    assert_string_equal(a->anchor, b->anchor);
    assert_int_equal(a->ntags, b->ntags);
    for (size_t i = 0; i < a->ntags; i++) {
        assert_int_equal(a->tags[i].name_len, b->tags[i].name_len);
        assert_memory_equal(a->tags[i].name, b->tags[i].name, a->tags[i].name_len);
        assert_int_equal(a->tags[i].value_len, b->tags[i].value_len);
        assert_memory_equal(a->tags[i].value, b->tags[i].value, a->tags[i].value_len);
    }
    assert_int_equal(a->data_size, b->data_size);
    if (a->content_type || b->content_type) {
        assert_non_null(a->content_type);
        assert_non_null(b->content_type);
        assert_string_equal(a->content_type, b->content_type);
    }
    assert_int_equal(a->block_sealed, b->block_sealed);
    assert_int_equal(a->height, b->height);
    assert_string_equal(a->block_id, b->block_id);
    assert_int_equal(a->block_timestamp_ms / 1000, b->block_timestamp_ms / 1000);
    assert_string_equal(a->bundled_in, b->bundled_in);
    assert_string_equal(a->cursor, b->cursor);
    if (keys) {
        assert_non_null(a->owner_key);
        assert_non_null(b->owner_key);
        assert_string_equal(a->owner_key, b->owner_key);
        assert_string_equal(a->signature, b->signature);
        assert_int_equal(a->sig_type, b->sig_type);
    } else {
        assert_null(b->owner_key);
        assert_null(b->signature);
    }
}

static void compare_query(fx *f, const weave_tx_filter *flt)
{
    weave_tx_page a, b;
    ao_error err;
    assert_int_equal(f->local.query_transactions(f->local.ctx, flt, &a, &err), AO_OK);
    int rc = f->http.query_transactions(f->http.ctx, flt, &b, &err);
    if (rc)
        fail_msg("http query: %s", err.msg);
    assert_int_equal(a.n, b.n);
    assert_int_equal(a.has_next_page, b.has_next_page);
    for (size_t i = 0; i < a.n; i++)
        assert_meta_equal(&a.rows[i], &b.rows[i], flt->fields & WEAVE_META_KEYS);
    weave_tx_page_free(&a);
    weave_tx_page_free(&b);
}

/* A small population: 6 items from two owners, with targets, tags and a
 * bundle of two. ids[0..5] top-level, ids[6..7] inside the bundle ids[5]. */
static void populate(fx *f, char ids[8][WEAVE_ID_MAX])
{
    static const char *const k0[] = { "Data-Protocol=ao", "Type=Process", "Module=m1" };
    static const char *const k1[] = { "Data-Protocol=ao", "Type=Message", "Action=Eval",
                                      "Content-Type=text/plain" };
    static const char *const k2[] = { "Data-Protocol=ao", "Type=Message", "Action=Transfer" };
    static const char *const k3[] = { "App-Name=other", "Na\xc3\xafve=\"quoted\" \\ tab\t" };
    uint8_t target[32];
    memset(target, 7, sizeof target);
    put_http(f, W1, k0, 3, NULL, "process", ids[0]);
    put_http(f, W1, k1, 4, target, "1 + 1", ids[1]);
    put_http(f, W2, k2, 3, target, "", ids[2]);
    put_http(f, W2, k3, 2, NULL, "other", ids[3]);
    put_http(f, W1, k2, 3, NULL, "x", ids[4]);
    /* a bundle item of two inner items */
    ao_buf in1, in2, bun, outer;
    ao_buf_init(&in1);
    ao_buf_init(&in2);
    ao_buf_init(&bun);
    ao_buf_init(&outer);
    assert_int_equal(wtu_item(W2, k1, 4, target, "inner1", 6, &in1, ids[6]), 0);
    assert_int_equal(wtu_item(W1, k2, 3, NULL, "inner2", 6, &in2, ids[7]), 0);
    const uint8_t *raws[2] = { in1.data, in2.data };
    size_t lens[2] = { in1.len, in2.len };
    ao_error err;
    assert_int_equal(item_bundle_write(raws, lens, 2, &bun, &err), AO_OK);
    static const char *const kb[] = { "Bundle-Format=binary", "Bundle-Version=2.0.0" };
    assert_int_equal(wtu_item(W1, kb, 2, NULL, bun.data, bun.len, &outer, ids[5]), 0);
    weave_put_result r;
    assert_int_equal(f->http.put(f->http.ctx, outer.data, outer.len, &r, &err), AO_OK);
    assert_string_equal(r.id, ids[5]);
    ao_buf_free(&in1);
    ao_buf_free(&in2);
    ao_buf_free(&bun);
    ao_buf_free(&outer);
}

static void put_over_http_is_stored_and_idempotent(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    static const char *const kv[] = { "Data-Protocol=ao", "Type=Message" };
    char id[WEAVE_ID_MAX];
    put_http(&f, W1, kv, 2, NULL, "hello", id);
    ao_error err;
    assert_int_equal(weave_has(f.w, id, &err), AO_OK);
    /* the same bytes again: not new */
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(weave_get(f.w, id, &raw, &err), AO_OK);
    weave_put_result r;
    assert_int_equal(f.http.put(f.http.ctx, raw.data, raw.len, &r, &err), AO_OK);
    assert_false(r.is_new);
    assert_string_equal(r.id, id);
    ao_buf_free(&raw);
    fx_close(&f);
}

static void bad_put_refused_nothing_stored(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    static const char *const kv[] = { "Data-Protocol=ao", "Type=Message" };
    ao_buf b;
    ao_buf_init(&b);
    char id[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, kv, 2, NULL, "hello", 5, &b, id), 0);
    b.data[b.len - 1] ^= 1;   /* data changed: the signature no longer holds */
    weave_info before, after;
    ao_error err;
    assert_int_equal(weave_get_info(f.w, &before, &err), AO_OK);
    weave_put_result r;
    assert_int_equal(f.http.put(f.http.ctx, b.data, b.len, &r, &err), AO_EINVAL);
    assert_non_null(strstr(err.msg, "HTTP 400"));
    /* put_many: one bad item refuses them all, before anything is sent */
    ao_buf good;
    ao_buf_init(&good);
    char gid[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, kv, 2, NULL, "fine", 4, &good, gid), 0);
    const uint8_t *raws[2] = { good.data, b.data };
    size_t lens[2] = { good.len, b.len };
    weave_put_result rr[2];
    assert_int_not_equal(f.http.put_many(f.http.ctx, raws, lens, 2, rr, &err), AO_OK);
    assert_non_null(strstr(err.msg, "item 1"));
    assert_int_equal(weave_has(f.w, gid, &err), AO_ENOTFOUND);
    /* oversize body: 413 -> AO_ELIMIT */
    ao_buf big;
    ao_buf_init(&big);
    assert_int_equal(ao_buf_reserve(&big, 100 * 1024), AO_OK);
    memset(big.data, 'z', 100 * 1024);
    big.len = 100 * 1024;
    assert_int_equal(f.http.put(f.http.ctx, big.data, big.len, &r, &err), AO_ELIMIT);
    assert_int_equal(weave_get_info(f.w, &after, &err), AO_OK);
    assert_int_equal(before.items, after.items);
    /* put_many of two good ones */
    ao_buf g2;
    ao_buf_init(&g2);
    char gid2[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W2, kv, 2, NULL, "fine2", 5, &g2, gid2), 0);
    raws[1] = g2.data;
    lens[1] = g2.len;
    assert_int_equal(f.http.put_many(f.http.ctx, raws, lens, 2, rr, &err), AO_OK);
    assert_string_equal(rr[0].id, gid);
    assert_string_equal(rr[1].id, gid2);
    assert_int_equal(weave_has(f.w, gid2, &err), AO_OK);
    ao_buf_free(&b);
    ao_buf_free(&good);
    ao_buf_free(&g2);
    ao_buf_free(&big);
    fx_close(&f);
}

static void transactions_queries_equal_local(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    char ids[8][WEAVE_ID_MAX];
    populate(&f, ids);
    weave_tx_filter q;
    /* everything, both orders, with and without keys */
    for (int sort = 0; sort < 2; sort++)
        for (int keys = 0; keys < 2; keys++) {
            weave_tx_filter_init(&q);
            q.first = 100;
            q.sort = sort ? WEAVE_HEIGHT_ASC : WEAVE_HEIGHT_DESC;
            q.fields = keys ? WEAVE_META_KEYS : 0;
            compare_query(&f, &q);
        }
    /* ids */
    weave_tx_filter_init(&q);
    const char *idl[] = { ids[1], ids[6], ids[3] };
    q.ids = idl;
    q.nids = 3;
    compare_query(&f, &q);
    /* owners */
    weave_tx_filter_init(&q);
    char addr[AO_ADDRESS_MAX];
    weave_item_meta m;
    ao_error err;
    assert_int_equal(weave_get_meta(f.w, ids[2], 0, &m, &err), AO_OK);
    snprintf(addr, sizeof addr, "%s", m.owner_address);
    weave_meta_free(&m);
    const char *own[] = { addr };
    q.owners = own;
    q.nowners = 1;
    q.fields = WEAVE_META_KEYS;
    compare_query(&f, &q);
    /* recipients */
    weave_tx_filter_init(&q);
    assert_int_equal(weave_get_meta(f.w, ids[1], 0, &m, &err), AO_OK);
    char tgt[WEAVE_ID_MAX];
    snprintf(tgt, sizeof tgt, "%s", m.target);
    weave_meta_free(&m);
    const char *rec[] = { tgt };
    q.recipients = rec;
    q.nrecipients = 1;
    compare_query(&f, &q);
    /* tags: AND across filters, OR inside one */
    weave_tx_filter_init(&q);
    const char *dp[] = { "ao" }, *act[] = { "Eval", "Transfer" };
    weave_tag_filter tf[2] = { { "Data-Protocol", dp, 1 }, { "Action", act, 2 } };
    q.tags = tf;
    q.ntags = 2;
    q.sort = WEAVE_HEIGHT_ASC;
    compare_query(&f, &q);
    /* a tag value with quotes, backslash, tab and non-ASCII */
    weave_tx_filter_init(&q);
    const char *odd[] = { "\"quoted\" \\ tab\t" };
    weave_tag_filter tf2[1] = { { "Na\xc3\xafve", odd, 1 } };
    q.tags = tf2;
    q.ntags = 1;
    weave_tx_page pg;
    assert_int_equal(f.http.query_transactions(f.http.ctx, &q, &pg, &err), AO_OK);
    assert_int_equal(pg.n, 1);
    assert_string_equal(pg.rows[0].id, ids[3]);
    weave_tx_page_free(&pg);
    compare_query(&f, &q);
    /* bundledIn */
    weave_tx_filter_init(&q);
    const char *bi[] = { ids[5] };
    q.bundled_in = bi;
    q.nbundled_in = 1;
    compare_query(&f, &q);
    /* height range */
    weave_tx_filter_init(&q);
    q.height_min = 2;
    q.height_max = 4;
    compare_query(&f, &q);
    weave_tx_filter_init(&q);
    q.height_min = 3;
    compare_query(&f, &q);
    /* paging with cursors: pages of 3 follow each other the same way */
    weave_tx_filter_init(&q);
    q.first = 3;
    char after[WEAVE_CURSOR_MAX] = "";
    size_t seen = 0;
    for (int page = 0; page < 5; page++) {
        q.after = after[0] ? after : NULL;
        compare_query(&f, &q);
        assert_int_equal(f.http.query_transactions(f.http.ctx, &q, &pg, &err), AO_OK);
        seen += pg.n;
        bool more = pg.has_next_page;
        if (pg.n)
            snprintf(after, sizeof after, "%s", pg.rows[pg.n - 1].cursor);
        weave_tx_page_free(&pg);
        if (!more)
            break;
    }
    assert_int_equal(seen, 8);
    /* a bad cursor is refused by both */
    weave_tx_filter_init(&q);
    q.after = "not a cursor";
    assert_int_equal(f.local.query_transactions(f.local.ctx, &q, &pg, &err), AO_EINVAL);
    assert_int_equal(f.http.query_transactions(f.http.ctx, &q, &pg, &err), AO_EINVAL);
    fx_close(&f);
}

static void meta_data_and_raw_equal_local(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    char ids[8][WEAVE_ID_MAX];
    populate(&f, ids);
    ao_error err;
    for (int i = 0; i < 8; i++)
        for (int keys = 0; keys < 2; keys++) {
            weave_item_meta a, b;
            unsigned fl = keys ? WEAVE_META_KEYS : 0;
            assert_int_equal(f.local.get_meta(f.local.ctx, ids[i], fl, &a, &err), AO_OK);
            assert_int_equal(f.http.get_meta(f.http.ctx, ids[i], fl, &b, &err), AO_OK);
            /* get_meta gives no cursor comparison guarantee beyond equality */
            assert_meta_equal(&a, &b, keys);
            weave_meta_free(&a);
            weave_meta_free(&b);
        }
    for (int i = 0; i < 8; i++) {
        ao_buf a, b;
        ao_buf_init(&a);
        ao_buf_init(&b);
        assert_int_equal(f.local.get_data(f.local.ctx, ids[i], &a, &err), AO_OK);
        assert_int_equal(f.http.get_data(f.http.ctx, ids[i], &b, &err), AO_OK);
        assert_int_equal(a.len, b.len);
        if (a.len)
            assert_memory_equal(a.data, b.data, a.len);
        ao_buf_reset(&a);
        ao_buf_reset(&b);
        assert_int_equal(f.local.get(f.local.ctx, ids[i], &a, &err), AO_OK);
        assert_int_equal(f.http.get(f.http.ctx, ids[i], &b, &err), AO_OK);
        assert_int_equal(a.len, b.len);
        assert_memory_equal(a.data, b.data, a.len);
        assert_int_equal(item_verify(b.data, b.len, NULL, NULL), AO_OK);
        ao_buf_free(&a);
        ao_buf_free(&b);
    }
    /* unknown ids */
    const char *unknown = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    weave_item_meta m;
    assert_int_equal(f.http.get_meta(f.http.ctx, unknown, 0, &m, &err), AO_ENOTFOUND);
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(f.http.get_data(f.http.ctx, unknown, &b, &err), AO_ENOTFOUND);
    assert_int_equal(f.http.get(f.http.ctx, unknown, &b, &err), AO_ENOTFOUND);
    assert_int_equal(f.http.get(f.http.ctx, "../info", &b, &err), AO_EINVAL);
    assert_int_equal(b.len, 0);
    ao_buf_free(&b);
    fx_close(&f);
}

static void blocks_and_info_equal_local(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    char ids[8][WEAVE_ID_MAX];
    populate(&f, ids);
    ao_error err;
    weave_info a, b;
    assert_int_equal(f.local.get_info(f.local.ctx, &a, &err), AO_OK);
    assert_int_equal(f.http.get_info(f.http.ctx, &b, &err), AO_OK);
    assert_string_equal(a.network, b.network);
    assert_int_equal(a.height, b.height);
    assert_string_equal(a.current, b.current);
    assert_int_equal(a.timestamp_ms, b.timestamp_ms);
    assert_int_equal(a.items, b.items);
    assert_int_equal(a.blocks, b.blocks);
    assert_int_equal(a.pending, b.pending);
    assert_true(a.height >= 6);
    weave_block_filter q;
    for (int variant = 0; variant < 5; variant++) {
        weave_block_filter_init(&q);
        q.first = 100;
        if (variant == 1)
            q.sort = WEAVE_HEIGHT_ASC;
        if (variant == 2) {
            q.height_min = 2;
            q.height_max = 4;
        }
        if (variant == 3) {
            q.first = 2;
            q.height_min = 1;
            q.sort = WEAVE_HEIGHT_ASC;
        }
        weave_block_page pa, pb;
        char idbuf[WEAVE_BLOCK_ID_MAX];
        const char *bid[1];
        if (variant == 4) {
            weave_block blk;
            assert_int_equal(weave_get_block(f.w, 3, &blk, &err), AO_OK);
            snprintf(idbuf, sizeof idbuf, "%s", blk.id);
            bid[0] = idbuf;
            q.ids = bid;
            q.nids = 1;
        }
        assert_int_equal(f.local.query_blocks(f.local.ctx, &q, &pa, &err), AO_OK);
        assert_int_equal(f.http.query_blocks(f.http.ctx, &q, &pb, &err), AO_OK);
        assert_int_equal(pa.n, pb.n);
        assert_int_equal(pa.has_next_page, pb.has_next_page);
        assert_true(pa.n > 0);
        for (size_t i = 0; i < pa.n; i++) {
            assert_int_equal(pa.rows[i].height, pb.rows[i].height);
            assert_string_equal(pa.rows[i].id, pb.rows[i].id);
            assert_string_equal(pa.rows[i].previous, pb.rows[i].previous);
            assert_int_equal(pa.rows[i].timestamp_ms / 1000, pb.rows[i].timestamp_ms / 1000);
            assert_string_equal(pa.rows[i].cursor, pb.rows[i].cursor);
        }
        /* the next page from the http cursor is the local next page */
        if (variant == 3) {
            q.after = pb.rows[pb.n - 1].cursor;
            weave_block_page na, nb;
            assert_int_equal(f.local.query_blocks(f.local.ctx, &q, &na, &err), AO_OK);
            assert_int_equal(f.http.query_blocks(f.http.ctx, &q, &nb, &err), AO_OK);
            assert_int_equal(na.n, nb.n);
            assert_int_equal(nb.rows[0].height, pb.rows[pb.n - 1].height + 1);
            weave_block_page_free(&na);
            weave_block_page_free(&nb);
        }
        weave_block_page_free(&pa);
        weave_block_page_free(&pb);
    }
    fx_close(&f);
}

static int wallet_address(const crypto_wallet *wl, char out[AO_ADDRESS_MAX], ao_error *err)
{
    (void)err;
    size_t n;
    const uint8_t *o = crypto_wallet_owner(wl, &n);
    crypto_owner_address_b64(o, n, out);
    return AO_OK;
}

static void scheduler_location_equal_local(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    ao_error err;
    char addr[AO_ADDRESS_MAX];
    assert_int_equal(wallet_address(W1, addr, &err), AO_OK);
    weave_scheduler_location a, b;
    assert_int_equal(f.http.scheduler_location_resolve(f.http.ctx, addr, &b, &err),
                     AO_ENOTFOUND);
    char rid[WEAVE_ID_MAX];
    assert_int_equal(weave_scheduler_location_publish(f.w, W1, "http://su.example:9000/", 3600000,
                                                      rid, &err), AO_OK);
    assert_int_equal(weave_scheduler_location_publish(f.w, W1, "http://su2.example:9001", 7200000,
                                                      rid, &err), AO_OK);
    assert_int_equal(f.local.scheduler_location_resolve(f.local.ctx, addr, &a, &err), AO_OK);
    assert_int_equal(f.http.scheduler_location_resolve(f.http.ctx, addr, &b, &err), AO_OK);
    assert_string_equal(b.url, "http://su2.example:9001");
    assert_string_equal(a.url, b.url);
    assert_int_equal(a.ttl_ms, b.ttl_ms);
    assert_string_equal(a.address, b.address);
    assert_string_equal(a.id, b.id);
    assert_string_equal(b.id, rid);
    assert_int_equal(a.height, b.height);
    /* a record without Time-To-Live is refused by both */
    static const char *const bad[] = { "Data-Protocol=ao", "Type=Scheduler-Location",
                                       "Url=http://x" };
    char bid[WEAVE_ID_MAX];
    put_http(&f, W2, bad, 3, NULL, "", bid);
    char addr2[AO_ADDRESS_MAX];
    assert_int_equal(wallet_address(W2, addr2, &err), AO_OK);
    assert_int_equal(f.local.scheduler_location_resolve(f.local.ctx, addr2, &a, &err),
                     AO_EFORMAT);
    assert_int_equal(f.http.scheduler_location_resolve(f.http.ctx, addr2, &b, &err),
                     AO_EFORMAT);
    fx_close(&f);
}

static void unreachable_gateway_is_eio(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    char url[64];
    snprintf(url, sizeof url, "%s", f.url);
    fx_close(&f);   /* the port is now closed */
    weave_client c;
    ao_error err;
    assert_int_equal(net_weave_client_http(url, &c, &err), AO_OK);
    weave_info info;
    assert_int_equal(c.get_info(c.ctx, &info, &err), AO_EIO);
    weave_tx_filter q;
    weave_tx_filter_init(&q);
    weave_tx_page p;
    assert_int_equal(c.query_transactions(c.ctx, &q, &p, &err), AO_EIO);
    net_weave_client_free(&c);
    assert_int_equal(net_weave_client_http("ftp://x", &c, &err), AO_EINVAL);
    assert_int_equal(net_weave_client_http(NULL, &c, &err), AO_EINVAL);
}

/* ---- the server core, seen through the gateway face ---- */

static size_t sink(char *p, size_t s, size_t n, void *u)
{
    ao_buf_append(u, p, s * n);
    return s * n;
}

static long raw_request(const char *method, const char *url, const char *body, size_t blen,
                        ao_buf *out, char *ctype, size_t ctcap, bool *cors)
{
    CURL *h = curl_easy_init();
    assert_non_null(h);
    struct curl_slist *hd = curl_slist_append(NULL, "Expect:");
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    if (body) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    assert_int_equal(curl_easy_perform(h), CURLE_OK);
    long st = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st);
    char *ct = NULL;
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
    if (ctype)
        snprintf(ctype, ctcap, "%s", ct ? ct : "");
    if (cors) {
        struct curl_header *hh;
        *cors = curl_easy_header(h, "Access-Control-Allow-Origin", 0, CURLH_HEADER, -1, &hh) ==
                    CURLHE_OK && !strcmp(hh->value, "*");
    }
    curl_slist_free_all(hd);
    curl_easy_cleanup(h);
    return st;
}

static void core_health_metrics_options_413(void **state)
{
    (void)state;
    fx f;
    fx_open(&f);
    char url[128], ct[128];
    bool cors;
    ao_buf b;
    ao_buf_init(&b);
    snprintf(url, sizeof url, "%shealth", f.url);
    assert_int_equal(raw_request("GET", url, NULL, 0, &b, ct, sizeof ct, &cors), 200);
    assert_true(cors);
    assert_non_null(strstr(ct, "application/json"));
    assert_int_equal(b.len, strlen("{\"status\":\"ok\"}"));
    assert_memory_equal(b.data, "{\"status\":\"ok\"}", b.len);
    ao_buf_reset(&b);
    snprintf(url, sizeof url, "%smetrics", f.url);
    assert_int_equal(raw_request("GET", url, NULL, 0, &b, ct, sizeof ct, &cors), 200);
    assert_non_null(strstr(ct, "text/plain"));
    ao_buf_append_byte(&b, 0);
    assert_non_null(strstr((char *)b.data, "ao_gateway_http_requests_total"));
    ao_buf_reset(&b);
    snprintf(url, sizeof url, "%sinfo", f.url);
    assert_int_equal(raw_request("OPTIONS", url, NULL, 0, &b, NULL, 0, &cors), 204);
    assert_true(cors);
    /* body above max_body (64 KiB here): 413 JSON */
    ao_buf_reset(&b);
    size_t n = 200 * 1024;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    snprintf(url, sizeof url, "%stx", f.url);
    assert_int_equal(raw_request("POST", url, big, n, &b, ct, sizeof ct, &cors), 413);
    assert_true(cors);
    ao_buf_append_byte(&b, 0);
    assert_non_null(strstr((char *)b.data, "\"error\""));
    /* far above: refused from the declared length */
    ao_buf_reset(&b);
    free(big);
    n = 2 * 1024 * 1024;
    big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    long st = raw_request("POST", url, big, n, &b, NULL, 0, NULL);
    assert_int_equal(st, 413);
    free(big);
    /* still serving */
    ao_buf_reset(&b);
    snprintf(url, sizeof url, "%sinfo", f.url);
    assert_int_equal(raw_request("GET", url, NULL, 0, &b, NULL, 0, NULL), 200);
    ao_buf_free(&b);
    fx_close(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_over_http_is_stored_and_idempotent),
        cmocka_unit_test(bad_put_refused_nothing_stored),
        cmocka_unit_test(transactions_queries_equal_local),
        cmocka_unit_test(meta_data_and_raw_equal_local),
        cmocka_unit_test(blocks_and_info_equal_local),
        cmocka_unit_test(scheduler_location_equal_local),
        cmocka_unit_test(unreachable_gateway_is_eio),
        cmocka_unit_test(core_health_metrics_options_413),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
