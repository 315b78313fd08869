/* test_weave.c - the weave store: put/get round trip, idempotent put,
 * invalid items refused with the reason, bundles (nested too) indexed with
 * bundledIn, block assignment (instant and interval), corruption of stored
 * bytes detected on read (blob file and SQLite), small and large items,
 * reopen, concurrent puts (group commit), blocks
 * query and info. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <fcntl.h>
#include <pthread.h>
#include <sqlite3.h>

#include "weave_test_util.h"

static crypto_wallet *W1, *W2;

static int setup(void **state)
{
    (void)state;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &W1, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &W2, NULL))
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

/* instant blocks; in_files: every item's bytes in the blob files */
static weave *open_mode(const char *dir, bool in_files)
{
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    if (in_files)
        o.inline_max = 0;
    weave *w = NULL;
    ao_error err;
    int r = weave_open(dir, &o, &w, &err);
    if (r)
        fprintf(stderr, "open: %s\n", err.msg);
    assert_int_equal(r, AO_OK);
    return w;
}

static weave *open_instant(const char *dir)
{
    return open_mode(dir, false);
}

static void put_get_round_trip(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    const char *tags[] = { "Content-Type=text/plain", "App=test" };
    uint8_t target[32];
    memset(target, 7, 32);
    ao_buf raw, got;
    ao_buf_init(&raw);
    ao_buf_init(&got);
    char id[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, tags, 2, target, "hello weave", 11, &raw, id), 0);
    weave_put_result res;
    ao_error err;
    assert_int_equal(weave_put(w, raw.data, raw.len, 0, &res, &err), AO_OK);
    assert_string_equal(res.id, id);
    assert_true(res.is_new);
    assert_int_equal(weave_get(w, id, &got, &err), AO_OK);
    assert_int_equal(got.len, raw.len);
    assert_memory_equal(got.data, raw.data, raw.len);
    ao_buf_reset(&got);
    assert_int_equal(weave_get_data(w, id, &got, &err), AO_OK);
    assert_int_equal(got.len, 11);
    assert_memory_equal(got.data, "hello weave", 11);
    assert_int_equal(weave_has(w, id, &err), AO_OK);

    weave_item_meta m;
    assert_int_equal(weave_get_meta(w, id, WEAVE_META_KEYS, &m, &err), AO_OK);
    assert_string_equal(m.id, id);
    item it;
    assert_int_equal(item_decode(raw.data, raw.len, &it, NULL), 0);
    char addr[AO_ADDRESS_MAX], tb[WEAVE_ID_MAX];
    item_owner_address(&it, addr);
    assert_string_equal(m.owner_address, addr);
    ao_b64url_encode_to(target, 32, tb);
    assert_string_equal(m.target, tb);
    assert_string_equal(m.anchor, "");
    assert_int_equal(m.ntags, 2);
    assert_string_equal(m.tags[0].name, "Content-Type");
    assert_string_equal(m.tags[1].value, "test");
    assert_string_equal(m.content_type, "text/plain");
    assert_int_equal(m.data_size, 11);
    assert_int_equal(m.raw_size, raw.len);
    assert_memory_equal(raw.data + m.data_offset, "hello weave", 11);
    assert_true(m.block_sealed);
    assert_int_equal(m.height, res.height);
    assert_string_equal(m.bundled_in, "");
    char *key = ao_b64url_encode(it.owner, it.owner_len);
    assert_string_equal(m.owner_key, key);
    free(key);
    assert_non_null(m.signature);
    weave_meta_free(&m);

    assert_int_equal(weave_get(w, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", &got, &err), AO_ENOTFOUND);
    /* survives a reopen */
    weave_close(w);
    w = open_instant(dir);
    ao_buf_reset(&got);
    assert_int_equal(weave_get(w, id, &got, &err), AO_OK);
    assert_memory_equal(got.data, raw.data, raw.len);
    weave_close(w);
    ao_buf_free(&raw);
    ao_buf_free(&got);
    wtu_rmdir(dir);
}

static void idempotent_put(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    ao_buf raw;
    ao_buf_init(&raw);
    const char *tags[] = { "A=1" };
    char id[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, tags, 1, NULL, "x", 1, &raw, id), 0);
    weave_put_result r1, r2;
    assert_int_equal(weave_put(w, raw.data, raw.len, 0, &r1, NULL), AO_OK);
    assert_true(r1.is_new);
    assert_int_equal(weave_put(w, raw.data, raw.len, 0, &r2, NULL), AO_OK);
    assert_false(r2.is_new);
    assert_string_equal(r2.id, id);
    weave_info info;
    assert_int_equal(weave_get_info(w, &info, NULL), AO_OK);
    assert_int_equal(info.items, 1);
    assert_int_equal(info.height, 1);   /* genesis + one block: no block for the repeat */
    weave_close(w);
    ao_buf_free(&raw);
    wtu_rmdir(dir);
}

static void invalid_item_refused(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    ao_buf raw;
    ao_buf_init(&raw);
    char id[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, "payload", 7, &raw, id), 0);
    /* a changed data byte breaks the signature */
    raw.data[raw.len - 1] ^= 1;
    ao_error err;
    assert_int_equal(weave_put(w, raw.data, raw.len, 0, NULL, &err), AO_EVERIFY);
    assert_true(strlen(err.msg) > 0);
    assert_int_equal(weave_has(w, id, NULL), AO_ENOTFOUND);
    /* garbage */
    const uint8_t junk[] = { 1, 2, 3 };
    assert_int_equal(weave_put(w, junk, sizeof junk, 0, NULL, &err), AO_EFORMAT);
    assert_true(strlen(err.msg) > 0);
    /* NOVERIFY still checks the layout */
    assert_int_equal(weave_put(w, junk, sizeof junk, WEAVE_PUT_NOVERIFY, NULL, &err), AO_EFORMAT);
    weave_info info;
    assert_int_equal(weave_get_info(w, &info, NULL), AO_OK);
    assert_int_equal(info.items, 0);
    weave_close(w);
    ao_buf_free(&raw);
    wtu_rmdir(dir);
}

/* A bundle item holding two items, one of them itself a bundle of one. */
static void make_nested(ao_buf *outer, char ids[4][WEAVE_ID_MAX])
{
    ao_buf a, b, c, inner_bundle, nb, data;
    ao_buf_init(&a); ao_buf_init(&b); ao_buf_init(&c);
    ao_buf_init(&inner_bundle); ao_buf_init(&nb); ao_buf_init(&data);
    const char *ta[] = { "Kind=leaf", "N=a" };
    const char *tc[] = { "Kind=leaf", "N=c" };
    assert_int_equal(wtu_item(W2, ta, 2, NULL, "A", 1, &a, ids[1]), 0);
    assert_int_equal(wtu_item(W2, tc, 2, NULL, "C", 1, &c, ids[3]), 0);
    const uint8_t *p1[1] = { c.data };
    size_t l1[1] = { c.len };
    assert_int_equal(item_bundle_write(p1, l1, 1, &inner_bundle, NULL), 0);
    const char *tb[] = { "Bundle-Format=binary", "Bundle-Version=2.0.0", "Kind=inner" };
    assert_int_equal(wtu_item(W2, tb, 3, NULL, inner_bundle.data, inner_bundle.len, &b, ids[2]), 0);
    const uint8_t *p2[2] = { a.data, b.data };
    size_t l2[2] = { a.len, b.len };
    assert_int_equal(item_bundle_write(p2, l2, 2, &data, NULL), 0);
    const char *to[] = { "Bundle-Format=binary", "Bundle-Version=2.0.0" };
    assert_int_equal(wtu_item(W1, to, 2, NULL, data.data, data.len, outer, ids[0]), 0);
    ao_buf_free(&a); ao_buf_free(&b); ao_buf_free(&c);
    ao_buf_free(&inner_bundle); ao_buf_free(&nb); ao_buf_free(&data);
}

static void bundle_indexes_inner_items(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    ao_buf outer, got;
    ao_buf_init(&outer);
    ao_buf_init(&got);
    char ids[4][WEAVE_ID_MAX];
    make_nested(&outer, ids);
    weave_put_result res;
    ao_error err;
    assert_int_equal(weave_put(w, outer.data, outer.len, 0, &res, &err), AO_OK);
    assert_true(res.is_new);
    assert_int_equal(res.inner_new, 3);
    weave_item_meta m;
    assert_int_equal(weave_get_meta(w, ids[1], 0, &m, &err), AO_OK);
    assert_string_equal(m.bundled_in, ids[0]);
    assert_int_equal(m.height, res.height);
    weave_meta_free(&m);
    assert_int_equal(weave_get_meta(w, ids[3], 0, &m, &err), AO_OK);
    assert_string_equal(m.bundled_in, ids[2]);   /* nested: its own bundle */
    weave_meta_free(&m);
    /* inner bytes are served on their own and verify */
    assert_int_equal(weave_get(w, ids[3], &got, &err), AO_OK);
    assert_int_equal(item_verify(got.data, got.len, NULL, NULL), 0);
    ao_buf_reset(&got);
    assert_int_equal(weave_get_data(w, ids[3], &got, &err), AO_OK);
    assert_int_equal(got.len, 1);
    assert_int_equal(got.data[0], 'C');
    /* bundledIn filter */
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    const char *bi[] = { ids[0] };
    f.bundled_in = bi;
    f.nbundled_in = 1;
    f.sort = WEAVE_HEIGHT_ASC;
    weave_tx_page p;
    assert_int_equal(weave_query_transactions(w, &f, &p, &err), AO_OK);
    assert_int_equal(p.n, 2);
    assert_string_equal(p.rows[0].id, ids[1]);
    assert_string_equal(p.rows[1].id, ids[2]);
    weave_tx_page_free(&p);
    /* an inner item put again on its own is not new */
    assert_int_equal(weave_put(w, got.data, 0, 0, NULL, &err), AO_EFORMAT);
    ao_buf_reset(&got);
    assert_int_equal(weave_get(w, ids[1], &got, &err), AO_OK);
    assert_int_equal(weave_put(w, got.data, got.len, 0, &res, &err), AO_OK);
    assert_false(res.is_new);
    weave_close(w);
    ao_buf_free(&outer);
    ao_buf_free(&got);
    wtu_rmdir(dir);
}

/* Regression: the insert statement kept the bindings of the item before,
 * so an item without a Content-Type or an enclosing bundle, stored after
 * one that had them, inherited both. */
static void fields_not_inherited_from_previous_item(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    ao_buf outer, plain;
    ao_buf_init(&outer);
    ao_buf_init(&plain);
    char ids[4][WEAVE_ID_MAX], typed_id[WEAVE_ID_MAX], plain_id[WEAVE_ID_MAX];
    make_nested(&outer, ids);
    ao_error err;
    assert_int_equal(weave_put(w, outer.data, outer.len, 0, NULL, &err), AO_OK);
    const char *tt[] = { "Content-Type=text/plain" };
    assert_int_equal(wtu_item(W1, tt, 1, NULL, "typed", 5, &plain, typed_id), 0);
    assert_int_equal(weave_put(w, plain.data, plain.len, 0, NULL, &err), AO_OK);
    ao_buf_reset(&plain);
    const char *tp[] = { "Kind=plain" };
    assert_int_equal(wtu_item(W1, tp, 1, NULL, "plain", 5, &plain, plain_id), 0);
    assert_int_equal(weave_put(w, plain.data, plain.len, 0, NULL, &err), AO_OK);
    weave_item_meta m;
    assert_int_equal(weave_get_meta(w, typed_id, 0, &m, &err), AO_OK);
    assert_string_equal(m.bundled_in, "");
    assert_non_null(m.content_type);
    assert_string_equal(m.content_type, "text/plain");
    weave_meta_free(&m);
    assert_int_equal(weave_get_meta(w, plain_id, 0, &m, &err), AO_OK);
    assert_string_equal(m.bundled_in, "");
    assert_null(m.content_type);
    weave_meta_free(&m);
    weave_close(w);
    ao_buf_free(&outer);
    ao_buf_free(&plain);
    wtu_rmdir(dir);
}

static void bundle_with_bad_inner_refused(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    ao_buf a, data, outer;
    ao_buf_init(&a); ao_buf_init(&data); ao_buf_init(&outer);
    char ida[WEAVE_ID_MAX], ido[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W2, NULL, 0, NULL, "AAAA", 4, &a, ida), 0);
    const uint8_t *p[1] = { a.data };
    size_t l[1] = { a.len };
    assert_int_equal(item_bundle_write(p, l, 1, &data, NULL), 0);
    data.data[data.len - 1] ^= 1;   /* inner item's data changed: signature fails */
    const char *to[] = { "Bundle-Format=binary", "Bundle-Version=2.0.0" };
    assert_int_equal(wtu_item(W1, to, 2, NULL, data.data, data.len, &outer, ido), 0);
    ao_error err;
    assert_int_equal(weave_put(w, outer.data, outer.len, 0, NULL, &err), AO_EVERIFY);
    assert_non_null(strstr(err.msg, "item 0"));
    assert_int_equal(weave_has(w, ido, NULL), AO_ENOTFOUND);
    assert_int_equal(weave_has(w, ida, NULL), AO_ENOTFOUND);
    weave_close(w);
    ao_buf_free(&a); ao_buf_free(&data); ao_buf_free(&outer);
    wtu_rmdir(dir);
}

static void instant_blocks(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    int64_t prev_h = 0;
    weave_block prevb;
    assert_int_equal(weave_get_block(w, 0, &prevb, NULL), AO_OK);   /* genesis */
    assert_string_equal(prevb.previous, "");
    for (int i = 0; i < 3; i++) {
        ao_buf raw;
        ao_buf_init(&raw);
        char id[WEAVE_ID_MAX];
        char d = (char)('a' + i);
        assert_int_equal(wtu_item(W1, NULL, 0, NULL, &d, 1, &raw, id), 0);
        weave_put_result res;
        assert_int_equal(weave_put(w, raw.data, raw.len, 0, &res, NULL), AO_OK);
        assert_int_equal(res.height, prev_h + 1);
        weave_item_meta m;
        assert_int_equal(weave_get_meta(w, id, 0, &m, NULL), AO_OK);
        assert_true(m.block_sealed);
        weave_block b;
        assert_int_equal(weave_get_block(w, res.height, &b, NULL), AO_OK);
        assert_string_equal(m.block_id, b.id);
        assert_string_equal(b.previous, prevb.id);
        assert_int_equal(b.tx_count, 1);
        assert_true(b.timestamp_ms >= prevb.timestamp_ms);
        prevb = b;
        prev_h = res.height;
        weave_meta_free(&m);
        ao_buf_free(&raw);
    }
    /* blocks query: sort, range, pagination */
    weave_block_filter bf;
    weave_block_filter_init(&bf);
    bf.first = 2;
    weave_block_page bp;
    assert_int_equal(weave_query_blocks(w, &bf, &bp, NULL), AO_OK);
    assert_int_equal(bp.n, 2);
    assert_true(bp.has_next_page);
    assert_int_equal(bp.rows[0].height, 3);
    assert_int_equal(bp.rows[1].height, 2);
    bf.after = bp.rows[1].cursor;
    weave_block_page bp2;
    assert_int_equal(weave_query_blocks(w, &bf, &bp2, NULL), AO_OK);
    assert_int_equal(bp2.n, 2);
    assert_false(bp2.has_next_page);
    assert_int_equal(bp2.rows[0].height, 1);
    assert_int_equal(bp2.rows[1].height, 0);
    weave_block_page_free(&bp2);
    weave_block_filter_init(&bf);
    bf.height_min = 1;
    bf.height_max = 2;
    bf.sort = WEAVE_HEIGHT_ASC;
    const char *bid[] = { bp.rows[1].id };
    assert_int_equal(weave_query_blocks(w, &bf, &bp2, NULL), AO_OK);
    assert_int_equal(bp2.n, 2);
    assert_int_equal(bp2.rows[0].height, 1);
    weave_block_page_free(&bp2);
    bf.ids = bid;
    bf.nids = 1;
    assert_int_equal(weave_query_blocks(w, &bf, &bp2, NULL), AO_OK);
    assert_int_equal(bp2.n, 1);
    assert_int_equal(bp2.rows[0].height, 2);
    weave_block_page_free(&bp2);
    weave_block_page_free(&bp);
    weave_info info;
    assert_int_equal(weave_get_info(w, &info, NULL), AO_OK);
    assert_int_equal(info.height, 3);
    assert_int_equal(info.blocks, 4);
    assert_string_equal(info.current, prevb.id);
    assert_string_equal(info.network, "ao-local");
    assert_int_equal(info.pending, 0);
    weave_close(w);
    wtu_rmdir(dir);
}

static void interval_blocks(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 150;
    o.network = "test-net";
    weave *w;
    assert_int_equal(weave_open(dir, &o, &w, NULL), AO_OK);
    weave_info i0;
    assert_int_equal(weave_get_info(w, &i0, NULL), AO_OK);
    char ids[2][WEAVE_ID_MAX];
    int64_t h[2];
    for (int i = 0; i < 2; i++) {
        ao_buf raw;
        ao_buf_init(&raw);
        char d = (char)('k' + i);
        assert_int_equal(wtu_item(W1, NULL, 0, NULL, &d, 1, &raw, ids[i]), 0);
        weave_put_result res;
        assert_int_equal(weave_put(w, raw.data, raw.len, 0, &res, NULL), AO_OK);
        h[i] = res.height;
        ao_buf_free(&raw);
    }
    weave_item_meta m;
    assert_int_equal(weave_get_meta(w, ids[0], 0, &m, NULL), AO_OK);
    int64_t height = m.height;
    weave_meta_free(&m);
    /* both went into an open block right after a sealed one */
    assert_true(h[0] >= 1 && h[1] >= h[0]);
    /* wait until the block that includes the items is sealed */
    weave_info info;
    for (int k = 0; k < 100; k++) {
        assert_int_equal(weave_get_info(w, &info, NULL), AO_OK);
        if (info.height >= h[1])
            break;
        usleep(20000);
    }
    assert_true(info.height >= h[1]);
    assert_string_equal(info.network, "test-net");
    assert_int_equal(weave_get_meta(w, ids[0], 0, &m, NULL), AO_OK);
    assert_true(m.block_sealed);
    assert_int_equal(m.height, height);
    weave_block b;
    assert_int_equal(weave_get_block(w, m.height, &b, NULL), AO_OK);
    assert_string_equal(b.id, m.block_id);
    assert_true(b.tx_count >= 1);
    weave_meta_free(&m);
    weave_close(w);
    wtu_rmdir(dir);
}

static void pending_until_sealed(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 60000;   /* no block during this test */
    weave *w;
    assert_int_equal(weave_open(dir, &o, &w, NULL), AO_OK);
    ao_buf raw;
    ao_buf_init(&raw);
    char id[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, "p", 1, &raw, id), 0);
    weave_put_result res;
    assert_int_equal(weave_put(w, raw.data, raw.len, 0, &res, NULL), AO_OK);
    assert_int_equal(res.height, 1);
    weave_item_meta m;
    assert_int_equal(weave_get_meta(w, id, 0, &m, NULL), AO_OK);
    assert_false(m.block_sealed);
    assert_string_equal(m.block_id, "");
    weave_meta_free(&m);
    weave_info info;
    assert_int_equal(weave_get_info(w, &info, NULL), AO_OK);
    assert_int_equal(info.height, 0);
    assert_int_equal(info.pending, 1);
    weave_close(w);
    ao_buf_free(&raw);
    wtu_rmdir(dir);
}

static void corruption_in_blob_file_detected(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_mode(dir, true);
    ao_buf a, b, got;
    ao_buf_init(&a); ao_buf_init(&b); ao_buf_init(&got);
    char ida[WEAVE_ID_MAX], idb[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, "first item", 10, &a, ida), 0);
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, "second item", 11, &b, idb), 0);
    assert_int_equal(weave_put(w, a.data, a.len, 0, NULL, NULL), AO_OK);
    assert_int_equal(weave_put(w, b.data, b.len, 0, NULL, NULL), AO_OK);
    weave_close(w);
    /* flip one byte of the first item's data in the blob file */
    char path[512];
    snprintf(path, sizeof path, "%s/blobs/000000.blob", dir);
    int fd = open(path, O_RDWR);
    assert_true(fd >= 0);
    uint8_t c;
    off_t at = (off_t)a.len - 3;
    assert_int_equal(pread(fd, &c, 1, at), 1);
    c ^= 0x10;
    assert_int_equal(pwrite(fd, &c, 1, at), 1);
    close(fd);
    w = open_mode(dir, true);
    ao_error err;
    assert_int_equal(weave_get(w, ida, &got, &err), AO_EIO);
    assert_non_null(strstr(err.msg, "checksum"));
    assert_int_equal(got.len, 0);   /* nothing served */
    assert_int_equal(weave_get_data(w, ida, &got, &err), AO_EIO);
    assert_int_equal(got.len, 0);
    weave_item_meta m;
    assert_int_equal(weave_get_meta(w, ida, WEAVE_META_KEYS, &m, &err), AO_EIO);
    /* the other item is intact */
    assert_int_equal(weave_get(w, idb, &got, &err), AO_OK);
    assert_memory_equal(got.data, b.data, b.len);
    weave_close(w);
    ao_buf_free(&a); ao_buf_free(&b); ao_buf_free(&got);
    wtu_rmdir(dir);
}

static void truncated_tail_recovered(void **state)
{
    (void)state;
    /* bytes written to the blob file but never indexed (a crash between
     * the blob write and the commit) are cut off at open */
    char *dir = wtu_tmpdir();
    weave *w = open_mode(dir, true);
    ao_buf a, b, got;
    ao_buf_init(&a); ao_buf_init(&b); ao_buf_init(&got);
    char ida[WEAVE_ID_MAX], idb[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, "one", 3, &a, ida), 0);
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, "two", 3, &b, idb), 0);
    assert_int_equal(weave_put(w, a.data, a.len, 0, NULL, NULL), AO_OK);
    weave_close(w);
    char path[512];
    snprintf(path, sizeof path, "%s/blobs/000000.blob", dir);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "garbage-tail", 12), 12);
    close(fd);
    w = open_mode(dir, true);
    assert_int_equal(weave_put(w, b.data, b.len, 0, NULL, NULL), AO_OK);
    assert_int_equal(weave_get(w, idb, &got, NULL), AO_OK);
    assert_memory_equal(got.data, b.data, b.len);
    ao_buf_reset(&got);
    assert_int_equal(weave_get(w, ida, &got, NULL), AO_OK);
    weave_close(w);
    ao_buf_free(&a); ao_buf_free(&b); ao_buf_free(&got);
    wtu_rmdir(dir);
}

static void corruption_in_sqlite_detected(void **state)
{
    (void)state;
    /* small items keep their bytes in SQLite: damage them there */
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    ao_buf a, got;
    ao_buf_init(&a);
    ao_buf_init(&got);
    char ida[WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, "inline item", 11, &a, ida), 0);
    assert_int_equal(weave_put(w, a.data, a.len, 0, NULL, NULL), AO_OK);
    weave_close(w);
    char path[512];
    snprintf(path, sizeof path, "%s/index.db", dir);
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    a.data[a.len - 2] ^= 0x01;
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(db, "UPDATE blobs SET raw=?1 WHERE seq=(SELECT blob FROM items WHERE id=?2)",
                                        -1, &st, NULL), SQLITE_OK);
    sqlite3_bind_blob(st, 1, a.data, (int)a.len, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, ida, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    assert_int_equal(sqlite3_changes(db), 1);
    sqlite3_finalize(st);
    sqlite3_close(db);
    w = open_instant(dir);
    ao_error err;
    assert_int_equal(weave_get(w, ida, &got, &err), AO_EIO);
    assert_non_null(strstr(err.msg, "checksum"));
    assert_int_equal(got.len, 0);
    weave_close(w);
    ao_buf_free(&a);
    ao_buf_free(&got);
    wtu_rmdir(dir);
}

static void large_and_small_items_mixed(void **state)
{
    (void)state;
    /* items above inline_max go to the blob file, the others to SQLite;
     * both read back, bundles of either kind too */
    char *dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    o.inline_max = 600;
    weave *w;
    assert_int_equal(weave_open(dir, &o, &w, NULL), AO_OK);
    static uint8_t big[5000];
    memset(big, 'B', sizeof big);
    ao_buf s1, b1, outer, got;
    ao_buf_init(&s1); ao_buf_init(&b1); ao_buf_init(&outer); ao_buf_init(&got);
    char ids1[WEAVE_ID_MAX], idb[WEAVE_ID_MAX], nested[4][WEAVE_ID_MAX];
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, "s", 1, &s1, ids1), 0);
    assert_int_equal(wtu_item(W1, NULL, 0, NULL, big, sizeof big, &b1, idb), 0);
    make_nested(&outer, nested);
    assert_int_equal(weave_put(w, s1.data, s1.len, 0, NULL, NULL), AO_OK);
    assert_int_equal(weave_put(w, b1.data, b1.len, 0, NULL, NULL), AO_OK);
    assert_int_equal(weave_put(w, outer.data, outer.len, 0, NULL, NULL), AO_OK);
    weave_close(w);
    assert_int_equal(weave_open(dir, &o, &w, NULL), AO_OK);
    assert_int_equal(weave_get(w, ids1, &got, NULL), AO_OK);
    assert_memory_equal(got.data, s1.data, s1.len);
    ao_buf_reset(&got);
    assert_int_equal(weave_get(w, idb, &got, NULL), AO_OK);
    assert_memory_equal(got.data, b1.data, b1.len);
    for (int i = 0; i < 4; i++) {
        ao_buf_reset(&got);
        assert_int_equal(weave_get(w, nested[i], &got, NULL), AO_OK);
        assert_int_equal(item_verify(got.data, got.len, NULL, NULL), 0);
    }
    weave_close(w);
    ao_buf_free(&s1); ao_buf_free(&b1); ao_buf_free(&outer); ao_buf_free(&got);
    wtu_rmdir(dir);
}

static void put_many_all_or_nothing(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    ao_buf b[3];
    char ids[3][WEAVE_ID_MAX];
    const uint8_t *raws[4];
    size_t lens[4];
    for (int i = 0; i < 3; i++) {
        ao_buf_init(&b[i]);
        char d = (char)('0' + i);
        assert_int_equal(wtu_item(W1, NULL, 0, NULL, &d, 1, &b[i], ids[i]), 0);
        raws[i] = b[i].data;
        lens[i] = b[i].len;
    }
    raws[3] = b[0].data;   /* the first again, in the same call */
    lens[3] = b[0].len;
    b[1].data[b[1].len - 1] ^= 1;
    ao_error err;
    weave_put_result res[4];
    assert_int_equal(weave_put_many(w, raws, lens, 4, 0, res, &err), AO_EVERIFY);
    assert_non_null(strstr(err.msg, "item 1"));
    for (int i = 0; i < 3; i++)
        assert_int_equal(weave_has(w, ids[i], NULL), AO_ENOTFOUND);
    b[1].data[b[1].len - 1] ^= 1;
    assert_int_equal(weave_put_many(w, raws, lens, 4, 0, res, &err), AO_OK);
    assert_true(res[0].is_new && res[1].is_new && res[2].is_new);
    assert_false(res[3].is_new);
    assert_string_equal(res[3].id, ids[0]);
    for (int i = 0; i < 3; i++) {
        assert_string_equal(res[i].id, ids[i]);
        assert_int_equal(weave_has(w, ids[i], NULL), AO_OK);
        ao_buf_free(&b[i]);
    }
    weave_close(w);
    wtu_rmdir(dir);
}

static void put_bare_bundle(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_instant(dir);
    ao_buf x, y, bundle, got;
    ao_buf_init(&x); ao_buf_init(&y); ao_buf_init(&bundle); ao_buf_init(&got);
    char idx[WEAVE_ID_MAX], idy[WEAVE_ID_MAX];
    const char *t[] = { "Type=Message" };
    assert_int_equal(wtu_item(W1, t, 1, NULL, "x", 1, &x, idx), 0);
    assert_int_equal(wtu_item(W2, t, 1, NULL, "y", 1, &y, idy), 0);
    const uint8_t *p[2] = { x.data, y.data };
    size_t l[2] = { x.len, y.len };
    assert_int_equal(item_bundle_write(p, l, 2, &bundle, NULL), 0);
    /* a wrong header id is refused */
    bundle.data[64] ^= 1;   /* first entry's id: after count (32) and size (32) */
    ao_error err;
    weave_put_result *res = NULL;
    size_t n = 0;
    assert_int_equal(weave_put_bundle(w, bundle.data, bundle.len, 0, &res, &n, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "header id"));
    assert_null(res);
    assert_int_equal(weave_has(w, idy, NULL), AO_ENOTFOUND);
    bundle.data[64] ^= 1;
    assert_int_equal(weave_put_bundle(w, bundle.data, bundle.len, 0, &res, &n, &err), AO_OK);
    assert_int_equal(n, 2);
    assert_string_equal(res[0].id, idx);
    assert_string_equal(res[1].id, idy);
    assert_true(res[0].is_new && res[1].is_new);
    free(res);
    weave_item_meta m;
    assert_int_equal(weave_get_meta(w, idy, 0, &m, NULL), AO_OK);
    assert_string_equal(m.bundled_in, "");
    weave_meta_free(&m);
    assert_int_equal(weave_get(w, idx, &got, NULL), AO_OK);
    assert_memory_equal(got.data, x.data, x.len);
    weave_close(w);
    ao_buf_free(&x); ao_buf_free(&y); ao_buf_free(&bundle); ao_buf_free(&got);
    wtu_rmdir(dir);
}

typedef struct { weave *w; int t; int n; int fails; char (*ids)[WEAVE_ID_MAX]; } thr_arg;

static void *putter(void *p)
{
    thr_arg *a = p;
    for (int i = 0; i < a->n; i++) {
        ao_buf raw;
        ao_buf_init(&raw);
        char d[32];
        int dl = snprintf(d, sizeof d, "t%d-i%d", a->t, i);
        if (wtu_item(W1, NULL, 0, NULL, d, (size_t)dl, &raw, a->ids[i]) ||
            weave_put(a->w, raw.data, raw.len, 0, NULL, NULL))
            a->fails++;
        ao_buf_free(&raw);
    }
    return NULL;
}

static void concurrent_puts_group_commit(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 50;
    weave *w;
    assert_int_equal(weave_open(dir, &o, &w, NULL), AO_OK);
    enum { T = 4, N = 50 };
    pthread_t th[T];
    thr_arg args[T];
    static char ids[T][N][WEAVE_ID_MAX];
    for (int t = 0; t < T; t++) {
        args[t] = (thr_arg){ w, t, N, 0, ids[t] };
        pthread_create(&th[t], NULL, putter, &args[t]);
    }
    for (int t = 0; t < T; t++)
        pthread_join(th[t], NULL);
    for (int t = 0; t < T; t++)
        assert_int_equal(args[t].fails, 0);
    weave_close(w);
    w = open_instant(dir);
    ao_buf got;
    ao_buf_init(&got);
    for (int t = 0; t < T; t++)
        for (int i = 0; i < N; i++) {
            ao_buf_reset(&got);
            assert_int_equal(weave_get(w, ids[t][i], &got, NULL), AO_OK);
            assert_int_equal(item_verify(got.data, got.len, NULL, NULL), 0);
        }
    weave_info info;
    assert_int_equal(weave_get_info(w, &info, NULL), AO_OK);
    assert_int_equal(info.items, T * N);
    ao_buf_free(&got);
    weave_close(w);
    wtu_rmdir(dir);
}

typedef struct { weave *w; int *stop; int errors; long queries; } reader_arg;

static void *reader(void *p)
{
    reader_arg *a = p;
    while (!__atomic_load_n(a->stop, __ATOMIC_ACQUIRE)) {
        weave_tx_filter f;
        weave_tx_filter_init(&f);
        f.first = 5;
        weave_tx_page pg;
        ao_error err;
        if (weave_query_transactions(a->w, &f, &pg, &err)) {
            a->errors++;
            continue;
        }
        ao_buf got;
        ao_buf_init(&got);
        for (size_t i = 0; i < pg.n; i++) {
            ao_buf_reset(&got);
            if (weave_get(a->w, pg.rows[i].id, &got, &err) ||
                item_verify(got.data, got.len, NULL, NULL))
                a->errors++;
        }
        ao_buf_free(&got);
        weave_tx_page_free(&pg);
        weave_info info;
        if (weave_get_info(a->w, &info, &err))
            a->errors++;
        a->queries++;
    }
    return NULL;
}

static void readers_during_writes(void **state)
{
    (void)state;
    /* what a gateway does: queries and gets from several threads while
     * puts commit and blocks are sealed */
    char *dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 20;
    weave *w;
    assert_int_equal(weave_open(dir, &o, &w, NULL), AO_OK);
    int stop = 0;
    enum { R = 3, T = 2, N = 40 };
    pthread_t rt[R], wt[T];
    reader_arg ra[R];
    thr_arg wa[T];
    static char ids[T][N][WEAVE_ID_MAX];
    for (int i = 0; i < R; i++) {
        ra[i] = (reader_arg){ w, &stop, 0, 0 };
        pthread_create(&rt[i], NULL, reader, &ra[i]);
    }
    for (int t = 0; t < T; t++) {
        wa[t] = (thr_arg){ w, 10 + t, N, 0, ids[t] };
        pthread_create(&wt[t], NULL, putter, &wa[t]);
    }
    for (int t = 0; t < T; t++)
        pthread_join(wt[t], NULL);
    __atomic_store_n(&stop, 1, __ATOMIC_RELEASE);
    long q = 0;
    for (int i = 0; i < R; i++) {
        pthread_join(rt[i], NULL);
        assert_int_equal(ra[i].errors, 0);
        q += ra[i].queries;
    }
    for (int t = 0; t < T; t++)
        assert_int_equal(wa[t].fails, 0);
    assert_true(q > 0);
    weave_info info;
    assert_int_equal(weave_get_info(w, &info, NULL), AO_OK);
    assert_int_equal(info.items, T * N);
    weave_close(w);
    wtu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_get_round_trip),
        cmocka_unit_test(idempotent_put),
        cmocka_unit_test(invalid_item_refused),
        cmocka_unit_test(bundle_indexes_inner_items),
        cmocka_unit_test(bundle_with_bad_inner_refused),
        cmocka_unit_test(fields_not_inherited_from_previous_item),
        cmocka_unit_test(instant_blocks),
        cmocka_unit_test(interval_blocks),
        cmocka_unit_test(pending_until_sealed),
        cmocka_unit_test(corruption_in_blob_file_detected),
        cmocka_unit_test(corruption_in_sqlite_detected),
        cmocka_unit_test(large_and_small_items_mixed),
        cmocka_unit_test(truncated_tail_recovered),
        cmocka_unit_test(concurrent_puts_group_commit),
        cmocka_unit_test(readers_during_writes),
        cmocka_unit_test(put_many_all_or_nothing),
        cmocka_unit_test(put_bare_bundle),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
