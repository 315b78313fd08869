/* test_weave_query.c - the weave's `transactions` query: every filter
 * (ids, owners, recipients, tags with one and several values, bundledIn,
 * block range), their combinations, sort, pagination with cursors, bad
 * cursors; and Scheduler-Location publish/resolve. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "weave_test_util.h"

static crypto_wallet *WA, *WB;
static char ADDR_A[AO_ADDRESS_MAX], ADDR_B[AO_ADDRESS_MAX];
static char *DIR;
static weave *W;
/* 12 items: i = 0..11; owner A for even i, B for odd; tag Kind = "x" for
 * i % 3 == 0, "y" for 1, "z" for 2; tag Idx = i; target T for i % 4 == 0.
 * Instant mode: item i is at height i + 1. */
enum { NI = 12 };
static char IDS[NI][WEAVE_ID_MAX];
static uint8_t TGT[32];
static char TGT_B64[WEAVE_ID_MAX];

static int setup(void **state)
{
    (void)state;
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &WA, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &WB, NULL))
        return -1;
    size_t ol;
    const uint8_t *o = crypto_wallet_owner(WA, &ol);
    crypto_owner_address_b64(o, ol, ADDR_A);
    o = crypto_wallet_owner(WB, &ol);
    crypto_owner_address_b64(o, ol, ADDR_B);
    memset(TGT, 0x42, 32);
    ao_b64url_encode_to(TGT, 32, TGT_B64);
    DIR = wtu_tmpdir();
    weave_options opt;
    weave_options_default(&opt);
    opt.block_interval_ms = 0;
    if (!DIR || weave_open(DIR, &opt, &W, NULL))
        return -1;
    for (int i = 0; i < NI; i++) {
        char kind[16], idx[16];
        snprintf(kind, sizeof kind, "Kind=%c", "xyz"[i % 3]);
        snprintf(idx, sizeof idx, "Idx=%d", i);
        const char *tags[] = { "Data-Protocol=ao", kind, idx };
        ao_buf raw;
        ao_buf_init(&raw);
        if (wtu_item(i % 2 ? WB : WA, tags, 3, i % 4 == 0 ? TGT : NULL, idx, strlen(idx), &raw,
                     IDS[i]) ||
            weave_put(W, raw.data, raw.len, 0, NULL, NULL))
            return -1;
        ao_buf_free(&raw);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weave_close(W);
    wtu_rmdir(DIR);
    crypto_wallet_free(WA);
    crypto_wallet_free(WB);
    return 0;
}

/* Run f and check the rows are exactly items want[0..n) in that order. */
static void expect(weave_tx_filter *f, const int *want, size_t n, bool next)
{
    weave_tx_page p;
    ao_error err;
    int r = weave_query_transactions(W, f, &p, &err);
    if (r)
        fprintf(stderr, "query: %s\n", err.msg);
    assert_int_equal(r, AO_OK);
    if (p.n != n) {
        for (size_t i = 0; i < p.n; i++)
            fprintf(stderr, "got %s\n", p.rows[i].id);
    }
    assert_int_equal(p.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(p.rows[i].id, IDS[want[i]]);
    assert_int_equal(p.has_next_page, next);
    weave_tx_page_free(&p);
}

static void no_filter_sort(void **state)
{
    (void)state;
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.first = 3;
    int d[] = { 11, 10, 9 };
    expect(&f, d, 3, true);
    f.sort = WEAVE_HEIGHT_ASC;
    int a[] = { 0, 1, 2 };
    expect(&f, a, 3, true);
    f.first = 100;
    int all[NI];
    for (int i = 0; i < NI; i++)
        all[i] = i;
    expect(&f, all, NI, false);
}

static void by_ids(void **state)
{
    (void)state;
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    const char *ids[] = { IDS[3], IDS[7], "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", IDS[1] };
    f.ids = ids;
    f.nids = 4;
    int d[] = { 7, 3, 1 };
    expect(&f, d, 3, false);
    const char *none[] = { "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" };
    f.ids = none;
    f.nids = 1;
    expect(&f, NULL, 0, false);
}

static void by_owners_and_recipients(void **state)
{
    (void)state;
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    const char *ob[] = { ADDR_B };
    f.owners = ob;
    f.nowners = 1;
    f.sort = WEAVE_HEIGHT_ASC;
    int b[] = { 1, 3, 5, 7, 9, 11 };
    expect(&f, b, 6, false);
    const char *both[] = { ADDR_A, ADDR_B };
    f.owners = both;
    f.nowners = 2;
    f.first = 4;
    int ab[] = { 0, 1, 2, 3 };
    expect(&f, ab, 4, true);
    weave_tx_filter_init(&f);
    const char *rc[] = { TGT_B64 };
    f.recipients = rc;
    f.nrecipients = 1;
    int t[] = { 8, 4, 0 };
    expect(&f, t, 3, false);
    /* recipients AND owner B: none (targets are on even items) */
    f.owners = ob;
    f.nowners = 1;
    expect(&f, NULL, 0, false);
}

static void by_tags(void **state)
{
    (void)state;
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    const char *x[] = { "x" };
    weave_tag_filter tf[2] = { { "Kind", x, 1 } };
    f.tags = tf;
    f.ntags = 1;
    int kx[] = { 9, 6, 3, 0 };
    expect(&f, kx, 4, false);
    /* several values: OR */
    const char *xz[] = { "z", "x" };
    tf[0].values = xz;
    tf[0].nvalues = 2;
    f.sort = WEAVE_HEIGHT_ASC;
    int kxz[] = { 0, 2, 3, 5, 6, 8, 9, 11 };
    expect(&f, kxz, 8, false);
    /* two tags: AND */
    const char *dp[] = { "ao" };
    tf[1] = (weave_tag_filter){ "Data-Protocol", dp, 1 };
    f.ntags = 2;
    expect(&f, kxz, 8, false);
    /* tag AND owner A: even of kxz */
    const char *oa[] = { ADDR_A };
    f.owners = oa;
    f.nowners = 1;
    int kxza[] = { 0, 2, 6, 8 };
    expect(&f, kxza, 4, false);
    /* a value nobody has */
    const char *nope[] = { "nope" };
    tf[0].values = nope;
    tf[0].nvalues = 1;
    expect(&f, NULL, 0, false);
    /* names are exact */
    weave_tx_filter_init(&f);
    const char *ao[] = { "ao" };
    weave_tag_filter lower = { "data-protocol", ao, 1 };
    f.tags = &lower;
    f.ntags = 1;
    expect(&f, NULL, 0, false);
}

static void by_block_range(void **state)
{
    (void)state;
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.height_min = 3;   /* items 2.. */
    f.height_max = 6;   /* ..5 */
    int d[] = { 5, 4, 3, 2 };
    expect(&f, d, 4, false);
    f.sort = WEAVE_HEIGHT_ASC;
    const char *y[] = { "y" };
    weave_tag_filter tf = { "Kind", y, 1 };
    f.tags = &tf;
    f.ntags = 1;
    int a[] = { 4 };
    expect(&f, a, 1, false);
    weave_tx_filter_init(&f);
    f.height_min = 100;
    expect(&f, NULL, 0, false);
}

static void pagination_with_cursors(void **state)
{
    (void)state;
    for (int s = 0; s < 2; s++) {
        weave_tx_filter f;
        weave_tx_filter_init(&f);
        f.sort = s ? WEAVE_HEIGHT_ASC : WEAVE_HEIGHT_DESC;
        f.first = 5;
        const char *y[] = { "y", "z" };
        weave_tag_filter tf = { "Kind", y, 2 };
        f.tags = &tf;
        f.ntags = 1;
        /* Kind y or z: 1 2 4 5 7 8 10 11 */
        int all[] = { 1, 2, 4, 5, 7, 8, 10, 11 };
        int seen[8], n = 0;
        char cur[WEAVE_CURSOR_MAX];
        bool more = true;
        int pages = 0;
        while (more) {
            weave_tx_page p;
            assert_int_equal(weave_query_transactions(W, &f, &p, NULL), AO_OK);
            for (size_t i = 0; i < p.n; i++) {
                for (int k = 0; k < NI; k++)
                    if (!strcmp(IDS[k], p.rows[i].id))
                        seen[n++] = k;
            }
            more = p.has_next_page;
            if (p.n)
                memcpy(cur, p.rows[p.n - 1].cursor, sizeof cur);
            f.after = cur;
            weave_tx_page_free(&p);
            pages++;
            assert_true(pages <= 3);
        }
        assert_int_equal(pages, 2);
        assert_int_equal(n, 8);
        for (int i = 0; i < 8; i++)
            assert_int_equal(seen[i], s ? all[i] : all[7 - i]);
    }
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.after = "not-a-cursor";
    weave_tx_page p;
    ao_error err;
    assert_int_equal(weave_query_transactions(W, &f, &p, &err), AO_EINVAL);
    assert_int_equal(p.n, 0);
}

static void rows_carry_metadata(void **state)
{
    (void)state;
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    const char *ids[] = { IDS[4] };
    f.ids = ids;
    f.nids = 1;
    f.fields = WEAVE_META_KEYS;
    weave_tx_page p;
    assert_int_equal(weave_query_transactions(W, &f, &p, NULL), AO_OK);
    assert_int_equal(p.n, 1);
    weave_item_meta *m = &p.rows[0];
    assert_string_equal(m->owner_address, ADDR_A);
    assert_string_equal(m->target, TGT_B64);
    assert_int_equal(m->height, 5);
    assert_true(m->block_sealed);
    assert_int_equal(m->ntags, 3);
    assert_string_equal(m->tags[2].value, "4");
    assert_non_null(m->owner_key);
    assert_non_null(m->signature);
    weave_tx_page_free(&p);
}

static void scheduler_location(void **state)
{
    (void)state;
    char *dir = wtu_tmpdir();
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;
    weave *w;
    assert_int_equal(weave_open(dir, &o, &w, NULL), AO_OK);
    weave_scheduler_location loc;
    ao_error err;
    assert_int_equal(weave_scheduler_location_resolve(w, ADDR_A, &loc, &err), AO_ENOTFOUND);
    char id1[WEAVE_ID_MAX], id2[WEAVE_ID_MAX];
    assert_int_equal(weave_scheduler_location_publish(w, WA, "http://su-one.local/", 3600000, id1, &err), AO_OK);
    assert_int_equal(weave_scheduler_location_resolve(w, ADDR_A, &loc, &err), AO_OK);
    assert_string_equal(loc.url, "http://su-one.local");   /* trailing / removed */
    assert_int_equal(loc.ttl_ms, 3600000);
    assert_string_equal(loc.address, ADDR_A);
    assert_string_equal(loc.id, id1);
    /* the record carries the protocol tags (PROTOCOL.md §5) */
    weave_item_meta m;
    assert_int_equal(weave_get_meta(w, id1, 0, &m, &err), AO_OK);
    assert_int_equal(m.ntags, 4);
    assert_string_equal(m.tags[0].name, "Data-Protocol");
    assert_string_equal(m.tags[0].value, "ao");
    assert_string_equal(m.tags[1].value, "Scheduler-Location");
    assert_string_equal(m.tags[2].name, "Url");
    assert_string_equal(m.tags[3].name, "Time-To-Live");
    assert_string_equal(m.tags[3].value, "3600000");
    weave_meta_free(&m);
    /* a newer record wins; another SU's record does not interfere */
    assert_int_equal(weave_scheduler_location_publish(w, WB, "http://su-b.local", 10, NULL, &err), AO_OK);
    assert_int_equal(weave_scheduler_location_publish(w, WA, "http://su-two.local", 5000, id2, &err), AO_OK);
    assert_int_equal(weave_scheduler_location_resolve(w, ADDR_A, &loc, &err), AO_OK);
    assert_string_equal(loc.url, "http://su-two.local");
    assert_int_equal(loc.ttl_ms, 5000);
    assert_string_equal(loc.id, id2);
    assert_int_equal(weave_scheduler_location_resolve(w, ADDR_B, &loc, &err), AO_OK);
    assert_string_equal(loc.url, "http://su-b.local");
    /* a record without Time-To-Live is reported, not half-used */
    ao_buf raw;
    ao_buf_init(&raw);
    const char *bad[] = { "Data-Protocol=ao", "Type=Scheduler-Location", "Url=http://x" };
    assert_int_equal(wtu_item(WB, bad, 3, NULL, "b", 1, &raw, NULL), 0);
    assert_int_equal(weave_put(w, raw.data, raw.len, 0, NULL, NULL), AO_OK);
    assert_int_equal(weave_scheduler_location_resolve(w, ADDR_B, &loc, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "Time-To-Live"));
    assert_int_equal(weave_scheduler_location_publish(w, WA, "", 1, NULL, &err), AO_EINVAL);
    ao_buf_free(&raw);
    weave_close(w);
    wtu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_filter_sort),
        cmocka_unit_test(by_ids),
        cmocka_unit_test(by_owners_and_recipients),
        cmocka_unit_test(by_tags),
        cmocka_unit_test(by_block_range),
        cmocka_unit_test(pagination_with_cursors),
        cmocka_unit_test(rows_carry_metadata),
        cmocka_unit_test(scheduler_location),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
