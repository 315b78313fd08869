/* test_weave_mirror.c - the weave's upstream mirror queue: new top-level
 * items are queued (inner bundle items and NOMIRROR puts are not), batches
 * come out in store order within item and byte limits, posted ->
 * confirmed drops them and counts, an unconfirmed transaction requeues
 * them, the queue survives a reopen, and turning mirroring on for an
 * existing weave queues its backlog once, and again what was stored while
 * it was off. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "weave_test_util.h"

static crypto_wallet *W;

static int setup(void **state)
{
    (void)state;
    return crypto_wallet_generate(CRYPTO_KEY_ED25519, &W, NULL) ? -1 : 0;
}

static int teardown(void **state)
{
    (void)state;
    crypto_wallet_free(W);
    return 0;
}

static weave *open_mirror(const char *dir, bool mirror)
{
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    o.mirror = mirror;
    weave *w = NULL;
    ao_error err;
    int r = weave_open(dir, &o, &w, &err);
    if (r)
        fprintf(stderr, "open: %s\n", err.msg);
    assert_int_equal(r, AO_OK);
    return w;
}

/* Put one small signed item with data "d<i>", flags as given. */
static void put_n(weave *w, int i, unsigned flags, char id[WEAVE_ID_MAX])
{
    ao_buf b;
    ao_buf_init(&b);
    char data[32];
    snprintf(data, sizeof data, "d%d", i);
    const char *kv[] = { "Type=Message" };
    assert_int_equal(wtu_item(W, kv, 1, NULL, data, strlen(data), &b, id), 0);
    ao_error err;
    assert_int_equal(weave_put(w, b.data, b.len, flags, NULL, &err), AO_OK);
    ao_buf_free(&b);
}

static void stats(weave *w, weave_mirror_stats *s)
{
    ao_error err;
    assert_int_equal(weave_mirror_get_stats(w, s, &err), AO_OK);
}

static void new_items_queued_in_order(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_mirror(dir, true);
    char ids[5][WEAVE_ID_MAX], skip[WEAVE_ID_MAX];
    for (int i = 0; i < 5; i++)
        put_n(w, i, 0, ids[i]);
    put_n(w, 99, WEAVE_PUT_NOMIRROR, skip);     /* from upstream: not queued */
    put_n(w, 0, 0, ids[0]);                     /* idempotent: not queued twice */
    weave_mirror_stats s;
    stats(w, &s);
    assert_int_equal(s.pending, 5);
    assert_int_equal(s.posted, 0);
    assert_true(s.oldest_pending_ms > 0);

    weave_mirror_batch b;
    ao_error err;
    assert_int_equal(weave_mirror_take(w, 3, 1 << 20, &b, &err), AO_OK);
    assert_int_equal(b.n, 3);
    for (size_t i = 0; i < b.n; i++) {   /* the stored bytes, in store order */
        item it;
        assert_int_equal(item_verify(b.raws[i], b.lens[i], &it, &err), AO_OK);
        char id[WEAVE_ID_MAX];
        item_id_b64(&it, id);
        assert_string_equal(id, ids[i]);
    }
    weave_mirror_batch_free(&b);
    weave_close(w);
    wtu_rmdir(dir);
}

static void byte_limit_takes_at_least_one(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_mirror(dir, true);
    char id[WEAVE_ID_MAX];
    for (int i = 0; i < 4; i++)
        put_n(w, i, 0, id);
    weave_mirror_batch b;
    ao_error err;
    assert_int_equal(weave_mirror_take(w, 100, 1, &b, &err), AO_OK);
    assert_int_equal(b.n, 1);             /* larger than the limit, still one */
    size_t one = b.lens[0];
    weave_mirror_batch_free(&b);
    assert_int_equal(weave_mirror_take(w, 100, 2 * one + one / 2, &b, &err), AO_OK);
    assert_int_equal(b.n, 2);
    assert_int_equal(b.bytes, b.lens[0] + b.lens[1]);
    weave_mirror_batch_free(&b);
    weave_close(w);
    wtu_rmdir(dir);
}

static void posted_confirmed_and_requeued(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_mirror(dir, true);
    char id[WEAVE_ID_MAX];
    for (int i = 0; i < 6; i++)
        put_n(w, i, 0, id);
    ao_error err;
    weave_mirror_batch b1, b2;
    assert_int_equal(weave_mirror_take(w, 4, 1 << 20, &b1, &err), AO_OK);
    assert_int_equal(weave_mirror_posted(w, &b1, "TX1", 1000, &err), AO_OK);
    assert_int_equal(weave_mirror_take(w, 4, 1 << 20, &b2, &err), AO_OK);
    assert_int_equal(b2.n, 2);              /* posted ones are not taken again */
    assert_int_equal(b2.seqs[0], b1.seqs[3] + 1);
    assert_int_equal(weave_mirror_posted(w, &b2, "TX2", 2000, &err), AO_OK);
    weave_mirror_stats s;
    stats(w, &s);
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.posted, 6);
    assert_int_equal(s.txs_posted, 2);
    assert_int_equal(s.oldest_pending_ms, 0);

    weave_mirror_tx *txs;
    size_t n;
    assert_int_equal(weave_mirror_unconfirmed(w, 10, &txs, &n, &err), AO_OK);
    assert_int_equal(n, 2);
    assert_string_equal(txs[0].tx, "TX1");
    assert_int_equal(txs[0].posted_at_ms, 1000);
    assert_int_equal(txs[0].items, 4);
    assert_string_equal(txs[1].tx, "TX2");
    free(txs);

    assert_int_equal(weave_mirror_settle(w, "TX1", true, &err), AO_OK);
    assert_int_equal(weave_mirror_settle(w, "TX2", false, &err), AO_OK);
    stats(w, &s);
    assert_int_equal(s.confirmed, 4);
    assert_int_equal(s.posted, 0);
    assert_int_equal(s.pending, 2);
    weave_mirror_batch b3;
    assert_int_equal(weave_mirror_take(w, 10, 1 << 20, &b3, &err), AO_OK);
    assert_int_equal(b3.n, 2);             /* the requeued ones, same items */
    assert_int_equal(b3.seqs[0], b2.seqs[0]);
    assert_int_equal(weave_mirror_posted(w, &b3, "TX3", 3000, &err), AO_OK);
    assert_int_equal(weave_mirror_settle(w, "TX3", true, &err), AO_OK);
    weave_mirror_batch_free(&b1);
    weave_mirror_batch_free(&b2);
    weave_mirror_batch_free(&b3);

    /* everything survives a reopen, counters too */
    put_n(w, 50, 0, id);
    weave_close(w);
    w = open_mirror(dir, true);
    stats(w, &s);
    assert_int_equal(s.confirmed, 6);
    assert_int_equal(s.pending, 1);
    weave_close(w);
    wtu_rmdir(dir);
}

static void inner_bundle_items_not_queued(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_mirror(dir, true);
    ao_buf i1, i2, bundle, outer;
    ao_buf_init(&i1);
    ao_buf_init(&i2);
    ao_buf_init(&bundle);
    ao_buf_init(&outer);
    const char *kv[] = { "Type=Message" };
    assert_int_equal(wtu_item(W, kv, 1, NULL, "a", 1, &i1, NULL), 0);
    assert_int_equal(wtu_item(W, kv, 1, NULL, "b", 1, &i2, NULL), 0);
    const uint8_t *raws[] = { i1.data, i2.data };
    size_t lens[] = { i1.len, i2.len };
    ao_error err;
    assert_int_equal(item_bundle_write(raws, lens, 2, &bundle, &err), AO_OK);
    const char *bkv[] = { "Bundle-Format=binary", "Bundle-Version=2.0.0" };
    assert_int_equal(wtu_item(W, bkv, 2, NULL, bundle.data, bundle.len, &outer, NULL), 0);
    weave_put_result res;
    assert_int_equal(weave_put(w, outer.data, outer.len, 0, &res, &err), AO_OK);
    assert_int_equal(res.inner_new, 2);
    weave_mirror_stats s;
    stats(w, &s);
    assert_int_equal(s.pending, 1);        /* the bundle carries its items */
    ao_buf_free(&i1);
    ao_buf_free(&i2);
    ao_buf_free(&bundle);
    ao_buf_free(&outer);
    weave_close(w);
    wtu_rmdir(dir);
}

static void backlog_queued_once_when_turned_on(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_mirror(dir, false);
    char id[WEAVE_ID_MAX];
    for (int i = 0; i < 3; i++)
        put_n(w, i, 0, id);
    weave_mirror_stats s;
    stats(w, &s);
    assert_int_equal(s.pending, 0);        /* mirroring off: no queue */
    weave_close(w);

    w = open_mirror(dir, true);            /* turned on: the backlog is queued */
    stats(w, &s);
    assert_int_equal(s.pending, 3);
    weave_mirror_batch b;
    ao_error err;
    assert_int_equal(weave_mirror_take(w, 10, 1 << 20, &b, &err), AO_OK);
    assert_int_equal(weave_mirror_posted(w, &b, "TXB", 1, &err), AO_OK);
    assert_int_equal(weave_mirror_settle(w, "TXB", true, &err), AO_OK);
    weave_mirror_batch_free(&b);
    weave_close(w);

    w = open_mirror(dir, true);            /* not queued again at the next open */
    stats(w, &s);
    assert_int_equal(s.pending, 0);
    assert_int_equal(s.confirmed, 3);
    weave_close(w);

    w = open_mirror(dir, false);           /* off again: two more items */
    put_n(w, 10, 0, id);
    put_n(w, 11, 0, id);
    weave_close(w);
    w = open_mirror(dir, false);           /* still off: nothing changes */
    put_n(w, 12, 0, id);
    weave_close(w);
    w = open_mirror(dir, true);            /* on: the three stored while off */
    stats(w, &s);
    assert_int_equal(s.pending, 3);
    assert_int_equal(s.confirmed, 3);
    weave_close(w);
    w = open_mirror(dir, true);            /* and only once */
    stats(w, &s);
    assert_int_equal(s.pending, 3);
    weave_close(w);
    wtu_rmdir(dir);
}

static void bad_transaction_id_refused(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave *w = open_mirror(dir, true);
    char big[80];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = 0;
    ao_error err;
    assert_int_equal(weave_mirror_settle(w, big, true, &err), AO_EINVAL);
    assert_int_equal(weave_mirror_settle(w, NULL, false, &err), AO_EINVAL);
    weave_mirror_batch b;
    assert_int_equal(weave_mirror_take(w, 10, 100, &b, &err), AO_OK);
    assert_int_equal(b.n, 0);
    weave_mirror_batch_free(&b);
    weave_close(w);
    wtu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(new_items_queued_in_order),
        cmocka_unit_test(byte_limit_takes_at_least_one),
        cmocka_unit_test(posted_confirmed_and_requeued),
        cmocka_unit_test(inner_bundle_items_not_queued),
        cmocka_unit_test(backlog_queued_once_when_turned_on),
        cmocka_unit_test(bad_transaction_id_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
