/* test_su_log.c - su_log, the SU's read routes rebuilt from the data layer
 * alone: a real SU on a local weave schedules processes, messages and
 * assignments of existing transactions, then every su_log route must write
 * byte for byte the SU's own body (and the same error codes and reasons);
 * foreign Assignment items are ignored; a tampered hash chain and an
 * equivocation are AO_EFORMAT; a missing nonce serves the prefix before
 * it until it arrives; later messages appear on the next read, asking the
 * data layer only for the new rows; the cu_su_client binding; concurrent
 * readers while the SU writes. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>

#include "su_test_util.h"
#include "node/node.h"
#include "node/node_internal.h"

static crypto_wallet *USER;     /* ed25519 */
static crypto_wallet *FORGER;   /* ed25519, not the SU */

/* ---- environment: an SU on a weave, su_log on the same weave ---- */

typedef struct counting {
    weave_client inner;
    const char *swap_id;        /* get(swap_id) answers swap_raw: a lying */
    ao_buf swap_raw;            /* data layer */
    atomic_int queries;         /* query_transactions calls */
    atomic_int rows;            /* rows they returned */
    atomic_int with_after;      /* calls that carried a cursor */
} counting;

static int count_query(void *ctx, const weave_tx_filter *f, weave_tx_page *out, ao_error *err)
{
    counting *c = ctx;
    int r = c->inner.query_transactions(c->inner.ctx, f, out, err);
    atomic_fetch_add(&c->queries, 1);
    if (f->after)
        atomic_fetch_add(&c->with_after, 1);
    if (!r)
        atomic_fetch_add(&c->rows, (int)out->n);
    return r;
}

static int count_get(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    counting *c = ctx;
    if (c->swap_id && strcmp(id, c->swap_id) == 0)
        return ao_buf_append(out, c->swap_raw.data, c->swap_raw.len);
    return c->inner.get(c->inner.ctx, id, out, err);
}

static int count_get_meta(void *ctx, const char *id, unsigned f, weave_item_meta *out, ao_error *err)
{
    counting *c = ctx;
    return c->inner.get_meta(c->inner.ctx, id, f, out, err);
}

typedef struct env {
    sut_env e;
    counting cnt;
    weave_client lc;            /* what su_log reads through */
    su_log *l;
} env;

static void bind_counting(counting *c, weave *w, weave_client *out)
{
    memset(c, 0, sizeof *c);
    weave_client_local(w, &c->inner);
    memset(out, 0, sizeof *out);
    out->ctx = c;
    out->get = count_get;
    out->get_meta = count_get_meta;
    out->query_transactions = count_query;
}

static int setup_env(void **state)
{
    env *v = calloc(1, sizeof *v);
    if (!v || sut_setup_ex(&v->e, CRYPTO_KEY_ED25519, 1700000000000, true) != 0)
        return -1;
    bind_counting(&v->cnt, v->e.w, &v->lc);
    if (su_log_open(&v->lc, &v->l, NULL) != AO_OK)
        return -1;
    *state = v;
    return 0;
}

static int teardown_env(void **state)
{
    env *v = *state;
    su_log_close(v->l);
    sut_teardown(&v->e);
    free(v);
    return 0;
}

/* ---- items ---- */

/* A Message to pid with an optional 32-byte anchor, signed by USER. */
static void message_with_anchor(sut_env *e, const char *pid, const uint8_t *anchor, const char *data,
                                su_ack *ack)
{
    static int seq;
    char ref[32];
    snprintf(ref, sizeof ref, "Anchor-Ref=%d", seq++);
    item_tag tags[3] = {
        { (const uint8_t *)"Data-Protocol", 13, (const uint8_t *)"ao", 2 },
        { (const uint8_t *)"Type", 4, (const uint8_t *)"Message", 7 },
        { (const uint8_t *)ref, 10, (const uint8_t *)ref + 11, strlen(ref + 11) },
    };
    uint8_t target[32];
    assert_true(sut_b64_32(pid, target));
    item_fields f = { target, anchor, tags, 3, (const uint8_t *)data, strlen(data) };
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(item_sign(USER, &f, &raw, NULL, NULL), AO_OK);
    ao_error err;
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, ack, NULL, &err), AO_OK);
    ao_buf_free(&raw);
}

/* Sign (with w) an Assignment item with the SU's tags, in PROTOCOL.md
 * §2.3 order; message NULL for a nonce-0 one. */
static void make_assignment(const crypto_wallet *w, const char *pid, uint64_t nonce, const char *chain,
                            const char *height, int64_t ts, const char *message, ao_buf *out,
                            char id[44])
{
    char p[80], n[40], c[80], h[40], t[40], m[80];
    snprintf(p, sizeof p, "Process=%s", pid);
    snprintf(n, sizeof n, "Nonce=%llu", (unsigned long long)nonce);
    snprintf(c, sizeof c, "Hash-Chain=%s", chain);
    snprintf(h, sizeof h, "Block-Height=%s", height);
    snprintf(t, sizeof t, "Timestamp=%lld", (long long)ts);
    snprintf(m, sizeof m, "Message=%s", message ? message : "");
    const char *kv[] = { p, "Epoch=0", n, c, h, t, "Data-Protocol=ao", "Type=Assignment",
                         "Variant=ao.TN.1", m };
    assert_int_equal(sut_item(w, kv, message ? 10 : 9, NULL, NULL, out, id), AO_OK);
}

/* The value of tag name of the stored item id (in out). */
static void stored_tag(sut_env *e, const char *id, const char *name, char *out, size_t cap)
{
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(weave_get(e->w, id, &raw, NULL), AO_OK);
    item it;
    assert_int_equal(item_decode(raw.data, raw.len, &it, NULL), AO_OK);
    assert_true(sut_tag(&it, name, out, cap));
    ao_buf_free(&raw);
}

/* b64url(SHA-256(b64d(prev_assignment) || b64d(prev_chain))) */
static void next_chain(const char *prev_assignment, const char *prev_chain, char out[44])
{
    uint8_t cat[64], h[32];
    assert_true(sut_b64_32(prev_assignment, cat));
    assert_true(sut_b64_32(prev_chain, cat + 32));
    crypto_sha256(cat, 64, h);
    ao_b64url_encode_to(h, 32, out);
}

/* A Message item stored in the weave only (for hand-made assignments). */
static void stored_message(sut_env *e, const char *pid, const char *data, char id[44])
{
    const char *kv[] = { "Data-Protocol=ao", "Type=Message", "Action=Hand" };
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(sut_item(USER, kv, 3, pid, data, &raw, id), AO_OK);
    assert_int_equal(weave_put(e->w, raw.data, raw.len, 0, NULL, NULL), AO_OK);
    ao_buf_free(&raw);
}

static void put_raw(weave *w, const ao_buf *raw)
{
    ao_error err;
    int r = weave_put(w, raw->data, raw->len, 0, NULL, &err);
    if (r)
        fprintf(stderr, "weave_put: %s\n", err.msg);
    assert_int_equal(r, AO_OK);
}

/* ---- comparing su_log with the SU ---- */

static void same_body(int rs, const ao_buf *bs, const ao_error *es, int rl, const ao_buf *bl,
                      const ao_error *el, int expect, const char *what)
{
    if (rs != expect || rl != rs || (rs == AO_OK && (bl->len != bs->len ||
                                                     memcmp(bl->data, bs->data, bs->len) != 0))) {
        fprintf(stderr, "%s: su %d (%s) log %d (%s)\n", what, rs, rs ? es->msg : "",
                rl, rl ? el->msg : "");
        if (rs == AO_OK && rl == AO_OK) {
            size_t i = 0;
            while (i < bs->len && i < bl->len && bs->data[i] == bl->data[i])
                i++;
            fprintf(stderr, "  first difference at byte %zu of %zu/%zu:\n  su:  %.200s\n  log: %.200s\n",
                    i, bs->len, bl->len, (const char *)bs->data + (i > 40 ? i - 40 : 0),
                    (const char *)bl->data + (i > 40 ? i - 40 : 0));
        }
        fail();
    }
    if (rs) {
        assert_string_equal(el->msg, es->msg);
        assert_int_equal(bl->len, 0);
    }
}

#define COMPARE(expect, what, su_call, log_call)                                  \
    do {                                                                          \
        ao_buf bs_, bl_;                                                          \
        ao_buf_init(&bs_);                                                        \
        ao_buf_init(&bl_);                                                        \
        ao_error es_ = { 0 }, el_ = { 0 };                                        \
        ao_buf *body_ = &bs_;                                                     \
        ao_error *err_ = &es_;                                                    \
        int rs_ = (su_call);                                                      \
        body_ = &bl_;                                                             \
        err_ = &el_;                                                              \
        int rl_ = (log_call);                                                     \
        ao_buf_append_byte(&bs_, 0);                                              \
        bs_.len--;                                                                \
        ao_buf_append_byte(&bl_, 0);                                              \
        bl_.len--;                                                                \
        same_body(rs_, &bs_, &es_, rl_, &bl_, &el_, expect, what);                \
        ao_buf_free(&bs_);                                                        \
        ao_buf_free(&bl_);                                                        \
    } while (0)

static void same_get(env *v, const char *id, const su_query *q, int expect, const char *what)
{
    COMPARE(expect, what, su_get_json(v->e.s, id, q, body_, err_),
            su_log_get_json(v->l, id, q, body_, err_));
}

static void same_process(env *v, const char *pid, int expect)
{
    COMPARE(expect, "process", su_process_json(v->e.s, pid, body_, err_),
            su_log_process_json(v->l, pid, body_, err_));
}

static void same_latest(env *v, const char *pid, int expect)
{
    COMPARE(expect, "latest", su_latest_json(v->e.s, pid, body_, err_),
            su_log_latest_json(v->l, pid, body_, err_));
}

static cJSON *log_get(env *v, const char *id, const su_query *q)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err;
    int r = su_log_get_json(v->l, id, q, &b, &err);
    if (r)
        fprintf(stderr, "su_log_get_json: %s\n", err.msg);
    assert_int_equal(r, AO_OK);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    assert_non_null(j);
    return j;
}

static int edges_of(const cJSON *j)
{
    return cJSON_GetArraySize(cJSON_GetObjectItem(j, "edges"));
}

static const char *edge_cursor(const cJSON *j, int i)
{
    return cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "edges"), i),
                                                    "cursor"));
}

static bool has_next(const cJSON *j)
{
    return cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "page_info"), "has_next_page"));
}

/* Walk the SU's pages of pid with query base (limit, mode) following the
 * cursors, comparing each page of su_log with it. Returns the edges seen. */
static int same_pages(env *v, const char *pid, bool nonce_mode, const char *limit)
{
    char from[32] = "";
    int seen = 0;
    for (int guard = 0; guard < 1000; guard++) {
        su_query q = { .process_id = pid, .limit = limit };
        if (from[0]) {
            if (nonce_mode)
                q.from_nonce = from;
            else
                q.from = from;
        } else if (nonce_mode) {
            q.from_nonce = "-1";
        }
        same_get(v, pid, &q, AO_OK, "page");
        cJSON *j = log_get(v, pid, &q);
        int n = edges_of(j);
        seen += n;
        bool more = has_next(j);
        if (n)
            snprintf(from, sizeof from, "%s", edge_cursor(j, n - 1));
        cJSON_Delete(j);
        if (!more)
            return seen;
    }
    fail();
    return -1;
}

/* ---- tests ---- */

/* Two processes, ~50 messages each, assignments of existing transactions
 * (one with Exclude values), odd data and anchors: every route of su_log
 * writes the SU's bytes. */
static void test_same_json_as_su(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack p1, p2;
    assert_int_equal(sut_spawn(e, USER, "process one", &p1), AO_OK);
    assert_int_equal(sut_spawn(e, USER, NULL, &p2), AO_OK);
    const char *datas[] = { "plain", "payload \x01\xff end", "quote \" backslash \\ tab\t nl\n",
                            "", "\xe2\x82\xac euro \xf0\x9f\x98\x80", "nul" };
    su_ack m1[52], m2[52];
    for (int i = 0; i < 50; i++) {
        ao_error err;
        assert_int_equal(sut_message(e, USER, p1.id, datas[i % 6], &m1[i], &err), AO_OK);
        assert_int_equal(sut_message(e, USER, p2.id, datas[(i + 3) % 6], &m2[i], &err), AO_OK);
        e->clock += 3;
    }
    uint8_t text_anchor[32], bin_anchor[32];
    memset(text_anchor, 'a', 32);
    for (int i = 0; i < 32; i++)
        bin_anchor[i] = (uint8_t)(0xf0 + (i & 15));
    message_with_anchor(e, p1.id, text_anchor, "anchored text", &m1[50]);
    message_with_anchor(e, p1.id, bin_anchor, "anchored binary", &m1[51]);
    /* existing transactions assigned: one without a target, one that
     * targets the other process (the usual "Assignments" case) */
    const char *kv[] = { "Data-Protocol=ao", "Type=Message", "Action=Elsewhere" };
    ao_buf raw;
    ao_buf_init(&raw);
    char tx1[44], tx2[44];
    assert_int_equal(sut_item(USER, kv, 3, NULL, "on the weave", &raw, tx1), AO_OK);
    put_raw(e->w, &raw);
    ao_buf_reset(&raw);
    assert_int_equal(sut_item(USER, kv, 3, p2.id, "for p2, assigned to p1", &raw, tx2), AO_OK);
    put_raw(e->w, &raw);
    ao_buf_free(&raw);
    su_ack a1, a2, a3;
    ao_error err;
    assert_int_equal(su_assign(e->s, p1.id, tx1, false, NULL, &a1, NULL, &err), AO_OK);
    assert_int_equal(su_assign(e->s, p1.id, tx2, false, NULL, &a2, NULL, &err), AO_OK);
    assert_int_equal(su_assign(e->s, p2.id, tx1, false, "x1,x2", &a3, NULL, &err), AO_OK);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sut_message(e, USER, p2.id, "after the assignment", &m2[50 + i], &err),
                         AO_OK);
    }

    const char *pids[2] = { p1.id, p2.id };
    long counts[2] = { 55, 54 };
    for (int k = 0; k < 2; k++) {
        const char *pid = pids[k];
        assert_int_equal(sut_check_schedule(e, pid, 0), counts[k]);
        same_process(v, pid, AO_OK);
        same_latest(v, pid, AO_OK);
        /* the first page, default and with process-id; show-anchor */
        same_get(v, pid, NULL, AO_OK, "first page");
        su_query q = { .process_id = pid };
        same_get(v, pid, &q, AO_OK, "first page with process-id");
        su_query qa = { .process_id = pid, .show_anchor = true };
        same_get(v, pid, &qa, AO_OK, "show-anchor");
        /* every slot by nonce pages of 7, and by timestamp pages of 5 */
        assert_int_equal(same_pages(v, pid, true, "7"), counts[k]);
        assert_int_equal(same_pages(v, pid, false, "5"), counts[k]);
        assert_int_equal(same_pages(v, pid, true, "1"), counts[k]);
        /* ranges */
        su_query qn = { .from_nonce = "4", .to_nonce = "9" };
        same_get(v, pid, &qn, AO_OK, "nonce range");
        su_query qn2 = { .to_nonce = "-1" };
        same_get(v, pid, &qn2, AO_OK, "empty nonce range");
        su_query qn3 = { .from_nonce = "1000" };
        same_get(v, pid, &qn3, AO_OK, "nonce range after the end");
        char f[32], t[32];
        snprintf(f, sizeof f, "%lld", (long long)(k ? m2 : m1)[10].timestamp);
        snprintf(t, sizeof t, "%lld", (long long)(k ? m2 : m1)[20].timestamp);
        su_query qt = { .from = f, .to = t };
        same_get(v, pid, &qt, AO_OK, "timestamp range");
        su_query qt2 = { .from = f, .to = t, .limit = "4" };
        same_get(v, pid, &qt2, AO_OK, "timestamp range, limit");
        su_query qt3 = { .to = "5" };
        same_get(v, pid, &qt3, AO_OK, "timestamps before everything");
        su_query ql = { .limit = "100000000" };
        same_get(v, pid, &ql, AO_OK, "capped limit");
        /* every message by id, with and without process-id */
        const su_ack *m = k ? m2 : m1;
        for (int i = 0; i < 52; i++) {
            same_get(v, m[i].id, &q, AO_OK, "message with process-id");
            same_get(v, m[i].id, NULL, AO_OK, "message without process-id");
        }
        same_get(v, m[51].id, &qa, AO_OK, "message with show-anchor");
    }
    /* assigned transactions: "message":null */
    su_query q1 = { .process_id = p1.id }, q2 = { .process_id = p2.id };
    same_get(v, tx1, &q1, AO_OK, "assigned tx");
    same_get(v, tx2, &q1, AO_OK, "assigned tx targeting another process");
    same_get(v, tx1, &q2, AO_OK, "assigned tx with exclude");
    cJSON *j = log_get(v, tx2, &q1);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "message")));
    cJSON_Delete(j);
    j = log_get(v, m1[3].id, &q1);
    assert_true(cJSON_IsObject(cJSON_GetObjectItem(j, "message")));
    cJSON_Delete(j);
    /* the errors, code and reason */
    char unknown[44];
    memcpy(unknown, p1.id, 44);
    unknown[3] = unknown[3] == 'A' ? 'B' : 'A';
    same_get(v, unknown, NULL, AO_ENOTFOUND, "unknown id");
    same_get(v, "short", NULL, AO_ENOTFOUND, "short id");
    same_get(v, m1[0].id, &q2, AO_ENOTFOUND, "message of another process");
    su_query qu = { .process_id = unknown };
    same_get(v, m1[0].id, &qu, AO_ENOTFOUND, "unknown process-id");
    same_process(v, unknown, AO_ENOTFOUND);
    same_process(v, m1[0].id, AO_ENOTFOUND);
    same_process(v, tx1, AO_ENOTFOUND);
    same_latest(v, unknown, AO_ENOTFOUND);
    same_latest(v, m1[0].id, AO_ENOTFOUND);
    su_query bad[] = {
        { .from = "abc" }, { .from = "" }, { .to = "-5" }, { .limit = "0" }, { .limit = "ten" },
        { .from_nonce = "-2" }, { .to_nonce = "x" }, { .from = "99999999999999999999999" },
        { .from = "1", .from_nonce = "1" }, { .process_id = "short" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        same_get(v, p1.id, &bad[i], AO_EINVAL, "bad query");
        same_get(v, unknown, &bad[i], AO_EINVAL, "bad query, unknown id");
    }
    /* /timestamp: the last slot's timestamp and Block-Height */
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(su_log_timestamp_json(v->l, p1.id, &b, &err), AO_OK);
    char height[32], expect[128];
    stored_tag(e, a2.assignment, "Block-Height", height, sizeof height);
    snprintf(expect, sizeof expect, "{\"timestamp\":\"%lld\",\"block_height\":\"%s\"}",
             (long long)a2.timestamp, height);
    assert_int_equal(b.len, strlen(expect));
    assert_memory_equal(b.data, expect, b.len);
    ao_buf_reset(&b);
    assert_int_equal(su_log_timestamp_json(v->l, unknown, &b, &err), AO_OK);
    const char *zero = "{\"timestamp\":\"0\",\"block_height\":\"000000000000\"}";
    assert_int_equal(b.len, strlen(zero));
    assert_memory_equal(b.data, zero, b.len);
    ao_buf_free(&b);
}

/* Assignment items with the SU's tags signed by another wallet are not
 * part of the schedule: one repeats nonce 2 (it would be an equivocation),
 * one continues the chain as nonce 4 (it would be a fifth slot). */
static void test_forged_assignment_ignored(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack pa, m[3];
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "real", &m[i], NULL), AO_OK);
    char c2[64], c3[64], height[32], chain4[44], other[44], id[44];
    stored_tag(e, m[1].assignment, "Hash-Chain", c2, sizeof c2);
    stored_tag(e, m[2].assignment, "Hash-Chain", c3, sizeof c3);
    stored_tag(e, m[2].assignment, "Block-Height", height, sizeof height);
    stored_message(e, pa.id, "forged", other);
    ao_buf raw;
    ao_buf_init(&raw);
    make_assignment(FORGER, pa.id, 2, c2, height, m[1].timestamp, other, &raw, id);
    put_raw(e->w, &raw);
    ao_buf_reset(&raw);
    next_chain(m[2].assignment, c3, chain4);
    make_assignment(FORGER, pa.id, 4, chain4, height, m[2].timestamp + 1, other, &raw, id);
    put_raw(e->w, &raw);
    ao_buf_free(&raw);
    /* the forged items do match the tag query: only their owner differs */
    const char *type[] = { "Assignment" }, *proc[] = { pa.id };
    weave_tag_filter tf[2] = { { "Type", type, 1 }, { "Process", proc, 1 } };
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.tags = tf;
    f.ntags = 2;
    f.first = 100;
    weave_tx_page page;
    assert_int_equal(weave_query_transactions(e->w, &f, &page, NULL), AO_OK);
    assert_int_equal(page.n, 6);
    weave_tx_page_free(&page);

    cJSON *j = log_get(v, pa.id, NULL);
    assert_int_equal(edges_of(j), 4);
    cJSON_Delete(j);
    same_get(v, pa.id, NULL, AO_OK, "page with forgeries around");
    assert_int_equal(same_pages(v, pa.id, true, "2"), 4);
    same_latest(v, pa.id, AO_OK);
    same_process(v, pa.id, AO_OK);
    su_query q = { .process_id = pa.id };
    same_get(v, other, &q, AO_ENOTFOUND, "the forged message");
    same_get(v, m[1].id, &q, AO_OK, "the real nonce 2");
}

/* An assignment signed with the SU's own key but with a wrong Hash-Chain
 * is AO_EFORMAT for every route of that process; the same hand-made
 * assignment with the right chain, on another process, is a new slot
 * (so the difference is the chain alone). */
static void test_tampered_hash_chain(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack good, bad, mg[3], mb[3];
    assert_int_equal(sut_spawn(e, USER, "good", &good), AO_OK);
    assert_int_equal(sut_spawn(e, USER, "bad", &bad), AO_OK);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(sut_message(e, USER, good.id, "m", &mg[i], NULL), AO_OK);
        assert_int_equal(sut_message(e, USER, bad.id, "m", &mb[i], NULL), AO_OK);
    }
    /* read once before: the cache then has nonces 0..3 */
    cJSON *j = log_get(v, bad.id, NULL);
    assert_int_equal(edges_of(j), 4);
    cJSON_Delete(j);
    const su_ack *last[2] = { &mg[2], &mb[2] };
    const char *pids[2] = { good.id, bad.id };
    char hand[2][44];
    for (int k = 0; k < 2; k++) {
        char prev_chain[64], height[32], chain[44], mid[44];
        stored_tag(e, last[k]->assignment, "Hash-Chain", prev_chain, sizeof prev_chain);
        stored_tag(e, last[k]->assignment, "Block-Height", height, sizeof height);
        next_chain(last[k]->assignment, prev_chain, chain);
        if (k == 1)   /* tamper: one character of the chain */
            chain[10] = chain[10] == 'A' ? 'B' : 'A';
        stored_message(e, pids[k], "by hand", mid);
        snprintf(hand[k], 44, "%s", mid);
        ao_buf raw;
        ao_buf_init(&raw);
        char aid[44];
        make_assignment(e->suw, pids[k], 4, chain, height, last[k]->timestamp + 1, mid, &raw, aid);
        put_raw(e->w, &raw);
        ao_buf_free(&raw);
    }
    /* the right chain: a fifth slot, the hand-made message */
    j = log_get(v, good.id, NULL);
    assert_int_equal(edges_of(j), 5);
    cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "edges"), 4),
                                                         "node"), "message");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "id")), hand[0]);
    cJSON_Delete(j);
    /* the wrong one: AO_EFORMAT with the reason, on every route */
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    assert_int_equal(su_log_get_json(v->l, bad.id, NULL, &b, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "hash chain"));
    assert_non_null(strstr(err.msg, "nonce 4"));
    assert_int_equal(b.len, 0);
    su_query q = { .process_id = bad.id };
    assert_int_equal(su_log_get_json(v->l, mb[0].id, &q, &b, &err), AO_EFORMAT);
    assert_int_equal(su_log_get_json(v->l, mb[0].id, NULL, &b, &err), AO_EFORMAT);
    assert_int_equal(su_log_latest_json(v->l, bad.id, &b, &err), AO_EFORMAT);
    assert_int_equal(su_log_process_json(v->l, bad.id, &b, &err), AO_EFORMAT);
    assert_int_equal(su_log_timestamp_json(v->l, bad.id, &b, &err), AO_EFORMAT);
    assert_int_equal(b.len, 0);
    /* a fresh su_log finds it from nonce 0 on as well */
    su_log *l2;
    assert_int_equal(su_log_open(&v->lc, &l2, NULL), AO_OK);
    assert_int_equal(su_log_latest_json(l2, bad.id, &b, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "hash chain"));
    assert_int_equal(su_log_latest_json(l2, good.id, &b, &err), AO_OK);
    su_log_close(l2);
    ao_buf_free(&b);
}

/* Two assignments of the SU for one nonce (the second made by hand with
 * the right chain for that position): AO_EFORMAT "equivocation". */
static void test_equivocation(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack pa, m[2];
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    for (int i = 0; i < 2; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "m", &m[i], NULL), AO_OK);
    same_get(v, pa.id, NULL, AO_OK, "before");
    char chain[64], height[32], mid[44], aid[44];
    stored_tag(e, m[1].assignment, "Hash-Chain", chain, sizeof chain);
    stored_tag(e, m[1].assignment, "Block-Height", height, sizeof height);
    stored_message(e, pa.id, "second for nonce 2", mid);
    ao_buf raw;
    ao_buf_init(&raw);
    make_assignment(e->suw, pa.id, 2, chain, height, m[1].timestamp, mid, &raw, aid);
    put_raw(e->w, &raw);
    ao_buf_free(&raw);
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    assert_int_equal(su_log_get_json(v->l, pa.id, NULL, &b, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "equivocation"));
    assert_non_null(strstr(err.msg, aid));
    assert_int_equal(b.len, 0);
    ao_buf_free(&b);
}

/* A hand-made next assignment (SU key, right chain) whose timestamp is
 * lower than the previous slot's: AO_EFORMAT. */
static void test_timestamp_goes_back(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack pa, m[2];
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    for (int i = 0; i < 2; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "m", &m[i], NULL), AO_OK);
    char prev[64], height[32], chain[44], mid[44], aid[44];
    stored_tag(e, m[1].assignment, "Hash-Chain", prev, sizeof prev);
    stored_tag(e, m[1].assignment, "Block-Height", height, sizeof height);
    next_chain(m[1].assignment, prev, chain);
    stored_message(e, pa.id, "from the past", mid);
    ao_buf raw;
    ao_buf_init(&raw);
    make_assignment(e->suw, pa.id, 3, chain, height, m[1].timestamp - 1, mid, &raw, aid);
    put_raw(e->w, &raw);
    ao_buf_free(&raw);
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    assert_int_equal(su_log_latest_json(v->l, pa.id, &b, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, "timestamp"));
    assert_int_equal(b.len, 0);
    ao_buf_free(&b);
}

/* A data layer that answers other bytes for an id than the item indexed
 * (a lying gateway): the node is AO_EFORMAT, not another item's JSON. */
static void test_data_layer_swapped_item(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack pa, m[2];
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    for (int i = 0; i < 2; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "m", &m[i], NULL), AO_OK);
    su_query q = { .process_id = pa.id };
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    /* the assignment of nonce 2 answered with the bytes of nonce 1's */
    ao_buf_init(&v->cnt.swap_raw);
    assert_int_equal(weave_get(e->w, m[0].assignment, &v->cnt.swap_raw, NULL), AO_OK);
    v->cnt.swap_id = m[1].assignment;
    assert_int_equal(su_log_get_json(v->l, m[1].id, &q, &b, &err), AO_EFORMAT);
    assert_non_null(strstr(err.msg, m[1].assignment));
    assert_int_equal(b.len, 0);
    assert_int_equal(su_log_get_json(v->l, pa.id, NULL, &b, &err), AO_EFORMAT);
    assert_int_equal(b.len, 0);
    /* the message of nonce 2 answered with nonce 1's message */
    ao_buf_reset(&v->cnt.swap_raw);
    assert_int_equal(weave_get(e->w, m[0].id, &v->cnt.swap_raw, NULL), AO_OK);
    v->cnt.swap_id = m[1].id;
    assert_int_equal(su_log_get_json(v->l, m[1].id, &q, &b, &err), AO_EFORMAT);
    assert_int_equal(b.len, 0);
    /* honest again: the SU's bytes */
    v->cnt.swap_id = NULL;
    same_get(v, m[1].id, &q, AO_OK, "honest again");
    same_get(v, pa.id, NULL, AO_OK, "honest page");
    ao_buf_free(&v->cnt.swap_raw);
    ao_buf_free(&b);
}

/* Copy every item of weave `from` into `to`, except `skip`. */
static void copy_weave(weave *from, weave *to, const char *skip)
{
    char after[WEAVE_CURSOR_MAX] = "";
    for (;;) {
        weave_tx_filter f;
        weave_tx_filter_init(&f);
        f.sort = WEAVE_HEIGHT_ASC;
        f.first = 100;
        f.after = after[0] ? after : NULL;
        weave_tx_page page;
        assert_int_equal(weave_query_transactions(from, &f, &page, NULL), AO_OK);
        for (size_t i = 0; i < page.n; i++) {
            if (skip && strcmp(page.rows[i].id, skip) == 0)
                continue;
            ao_buf raw;
            ao_buf_init(&raw);
            assert_int_equal(weave_get(from, page.rows[i].id, &raw, NULL), AO_OK);
            put_raw(to, &raw);
            ao_buf_free(&raw);
        }
        if (page.n)
            snprintf(after, sizeof after, "%s", page.rows[page.n - 1].cursor);
        bool more = page.has_next_page;
        weave_tx_page_free(&page);
        if (!more)
            break;
    }
}

/* A weave where nonce 3's assignment is missing: su_log serves nonces
 * 0..2 only, as the SU's pages of that range; once the item arrives the
 * whole schedule is served (the later slots were kept). */
static void test_gap_serves_prefix(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack pa, m[8];
    assert_int_equal(sut_spawn(e, USER, "gappy", &pa), AO_OK);
    for (int i = 0; i < 8; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "m", &m[i], NULL), AO_OK);
    char dir2[600];
    snprintf(dir2, sizeof dir2, "%s/weave2", e->dir);
    weave_options wo;
    weave_options_default(&wo);
    wo.block_interval_ms = 0;
    wo.no_fsync = true;
    weave *w2;
    assert_int_equal(weave_open(dir2, &wo, &w2, NULL), AO_OK);
    copy_weave(e->w, w2, m[2].assignment);   /* m[2] is nonce 3 */
    counting c2;
    weave_client lc2;
    bind_counting(&c2, w2, &lc2);
    su_log *l2;
    assert_int_equal(su_log_open(&lc2, &l2, NULL), AO_OK);

    /* the prefix, byte for byte the SU's page of nonces 0..2 */
    ao_buf bs, bl;
    ao_buf_init(&bs);
    ao_buf_init(&bl);
    su_query qs = { .from_nonce = "-1", .to_nonce = "2" }, ql = { .from_nonce = "-1" };
    assert_int_equal(su_get_json(e->s, pa.id, &qs, &bs, NULL), AO_OK);
    assert_int_equal(su_log_get_json(l2, pa.id, &ql, &bl, NULL), AO_OK);
    assert_int_equal(bl.len, bs.len);
    assert_memory_equal(bl.data, bs.data, bs.len);
    cJSON *j = cJSON_ParseWithLength((const char *)bl.data, bl.len);
    assert_int_equal(edges_of(j), 3);
    assert_false(has_next(j));
    cJSON_Delete(j);
    /* latest = the node of nonce 2; beyond the gap: not found */
    su_query q = { .process_id = pa.id };
    ao_buf_reset(&bs);
    ao_buf_reset(&bl);
    assert_int_equal(su_get_json(e->s, m[1].id, &q, &bs, NULL), AO_OK);
    assert_int_equal(su_log_latest_json(l2, pa.id, &bl, NULL), AO_OK);
    assert_int_equal(bl.len, bs.len);
    assert_memory_equal(bl.data, bs.data, bs.len);
    ao_error err;
    ao_buf_reset(&bl);
    assert_int_equal(su_log_get_json(l2, m[5].id, &q, &bl, &err), AO_ENOTFOUND);
    assert_string_equal(err.msg, "Message or Process not found");
    assert_int_equal(su_log_get_json(l2, m[1].id, &q, &bl, &err), AO_OK);
    ao_buf_reset(&bl);
    assert_int_equal(su_log_timestamp_json(l2, pa.id, &bl, NULL), AO_OK);
    char expect[96];
    snprintf(expect, sizeof expect, "\"timestamp\":\"%lld\"", (long long)m[1].timestamp);
    ao_buf_append_byte(&bl, 0);
    assert_non_null(strstr((const char *)bl.data, expect));

    /* the missing assignment arrives: everything, as the SU */
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(weave_get(e->w, m[2].assignment, &raw, NULL), AO_OK);
    put_raw(w2, &raw);
    ao_buf_free(&raw);
    int rows_before = atomic_load(&c2.rows);
    ao_buf_reset(&bs);
    ao_buf_reset(&bl);
    assert_int_equal(su_get_json(e->s, pa.id, &ql, &bs, NULL), AO_OK);
    assert_int_equal(su_log_get_json(l2, pa.id, &ql, &bl, NULL), AO_OK);
    assert_int_equal(bl.len, bs.len);
    assert_memory_equal(bl.data, bs.data, bs.len);
    assert_int_equal(atomic_load(&c2.rows) - rows_before, 1);   /* only the new row */
    ao_buf_reset(&bs);
    ao_buf_reset(&bl);
    assert_int_equal(su_latest_json(e->s, pa.id, &bs, NULL), AO_OK);
    assert_int_equal(su_log_latest_json(l2, pa.id, &bl, NULL), AO_OK);
    assert_int_equal(bl.len, bs.len);
    assert_memory_equal(bl.data, bs.data, bs.len);
    ao_buf_free(&bs);
    ao_buf_free(&bl);
    su_log_close(l2);
    weave_close(w2);
}

/* Messages posted after a read appear on the next one, and that refresh
 * asks the data layer only for the rows after the cached cursor. */
static void test_incremental_refresh(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack pa, m;
    assert_int_equal(sut_spawn(e, USER, "grows", &pa), AO_OK);
    for (int i = 0; i < 5; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "first", &m, NULL), AO_OK);
    same_get(v, pa.id, NULL, AO_OK, "first read");
    cJSON *j = log_get(v, pa.id, NULL);
    assert_int_equal(edges_of(j), 6);
    cJSON_Delete(j);
    /* nothing new: a refresh returns no row */
    int rows = atomic_load(&v->cnt.rows), after = atomic_load(&v->cnt.with_after);
    same_latest(v, pa.id, AO_OK);
    assert_int_equal(atomic_load(&v->cnt.rows), rows);
    assert_true(atomic_load(&v->cnt.with_after) > after);
    su_ack more[3];
    for (int i = 0; i < 3; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "later", &more[i], NULL), AO_OK);
    rows = atomic_load(&v->cnt.rows);
    j = log_get(v, pa.id, NULL);
    assert_int_equal(edges_of(j), 9);
    cJSON_Delete(j);
    assert_int_equal(atomic_load(&v->cnt.rows) - rows, 3);
    same_get(v, pa.id, NULL, AO_OK, "second read");
    same_latest(v, pa.id, AO_OK);
    su_query q = { .process_id = pa.id };
    same_get(v, more[2].id, &q, AO_OK, "a later message");
    /* a message posted after the cache was made, asked without process-id */
    su_ack late;
    assert_int_equal(sut_message(e, USER, pa.id, "latest", &late, NULL), AO_OK);
    same_get(v, late.id, NULL, AO_OK, "later message without process-id");
}

/* Without process-id a message is searched in the processes already
 * cached: one of a process never read is not found until it is. */
static void test_lookup_without_process_id(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack p1, p2, m1, m2;
    assert_int_equal(sut_spawn(e, USER, "one", &p1), AO_OK);
    assert_int_equal(sut_spawn(e, USER, "two", &p2), AO_OK);
    assert_int_equal(sut_message(e, USER, p1.id, "m1", &m1, NULL), AO_OK);
    assert_int_equal(sut_message(e, USER, p2.id, "m2", &m2, NULL), AO_OK);
    ao_buf b;
    ao_buf_init(&b);
    ao_error err;
    assert_int_equal(su_log_get_json(v->l, m1.id, NULL, &b, &err), AO_ENOTFOUND);
    assert_string_equal(err.msg, "Message or Process not found");
    same_process(v, p1.id, AO_OK);
    same_get(v, m1.id, NULL, AO_OK, "message of a cached process");
    assert_int_equal(su_log_get_json(v->l, m2.id, NULL, &b, &err), AO_ENOTFOUND);
    same_latest(v, p2.id, AO_OK);
    same_get(v, m2.id, NULL, AO_OK, "message of the other process, now cached");
    /* the process id itself is a page, with or without process-id */
    same_get(v, p2.id, NULL, AO_OK, "process page");
    ao_buf_free(&b);
}

/* The cu_su_client over su_log answers as the one over the SU. */
static void test_cu_su_client_binding(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack pa, m[6];
    assert_int_equal(sut_spawn(e, USER, "bound", &pa), AO_OK);
    for (int i = 0; i < 6; i++) {
        e->clock += 10;
        assert_int_equal(sut_message(e, USER, pa.id, "m", &m[i], NULL), AO_OK);
    }
    cu_su_client cs, cl;
    node_cu_su_client_local(e->s, &cs);
    node_cu_su_client_log(v->l, &cl);
    assert_ptr_equal(cl.ctx, v->l);
    char f[32], t[32];
    snprintf(f, sizeof f, "%lld", (long long)m[1].timestamp);
    snprintf(t, sizeof t, "%lld", (long long)m[4].timestamp);
    COMPARE(AO_OK, "client process", cs.process(cs.ctx, pa.id, body_, err_),
            cl.process(cl.ctx, pa.id, body_, err_));
    COMPARE(AO_OK, "client schedule", cs.schedule(cs.ctx, pa.id, NULL, NULL, 0, body_, err_),
            cl.schedule(cl.ctx, pa.id, NULL, NULL, 0, body_, err_));
    COMPARE(AO_OK, "client schedule range", cs.schedule(cs.ctx, pa.id, f, t, 2, body_, err_),
            cl.schedule(cl.ctx, pa.id, f, t, 2, body_, err_));
    COMPARE(AO_OK, "client message", cs.message(cs.ctx, pa.id, m[3].id, body_, err_),
            cl.message(cl.ctx, pa.id, m[3].id, body_, err_));
    COMPARE(AO_OK, "client message = process", cs.message(cs.ctx, pa.id, pa.id, body_, err_),
            cl.message(cl.ctx, pa.id, pa.id, body_, err_));
    COMPARE(AO_OK, "client latest", cs.latest(cs.ctx, pa.id, body_, err_),
            cl.latest(cl.ctx, pa.id, body_, err_));
    COMPARE(AO_ENOTFOUND, "client message unknown",
            cs.message(cs.ctx, pa.id, "0123456789012345678901234567890123456789012", body_, err_),
            cl.message(cl.ctx, pa.id, "0123456789012345678901234567890123456789012", body_, err_));
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(cl.timestamp(cl.ctx, pa.id, &b, NULL), AO_OK);
    char expect[64];
    snprintf(expect, sizeof expect, "{\"timestamp\":\"%lld\",", (long long)m[5].timestamp);
    assert_true(b.len > strlen(expect));
    assert_memory_equal(b.data, expect, strlen(expect));
    ao_buf_free(&b);
}

typedef struct reader_arg {
    env *v;
    const char *pid;
    atomic_bool *stop;
    int errors, reads;
} reader_arg;

/* Reads the nonce pages of pid over and over: each must be the nonces
 * 0..n-1 in order, n never shrinking. */
static void *reader_main(void *vp)
{
    reader_arg *a = vp;
    int last = 0;
    while (!atomic_load(a->stop) || a->reads < 3) {
        su_query q = { .from_nonce = "-1", .limit = "1000", .process_id = a->pid };
        ao_buf b;
        ao_buf_init(&b);
        ao_error err;
        int r = su_log_get_json(a->v->l, a->pid, &q, &b, &err);
        cJSON *j = r ? NULL : cJSON_ParseWithLength((const char *)b.data, b.len);
        ao_buf_free(&b);
        if (!j) {
            fprintf(stderr, "reader: %d %s\n", r, r ? err.msg : "bad json");
            a->errors++;
            break;
        }
        int n = edges_of(j);
        for (int i = 0; i < n; i++) {
            char want[16];
            snprintf(want, sizeof want, "%d", i);
            if (strcmp(edge_cursor(j, i), want) != 0)
                a->errors++;
        }
        if (n < last)
            a->errors++;
        last = n;
        cJSON_Delete(j);
        ao_buf lb;
        ao_buf_init(&lb);
        if (su_log_latest_json(a->v->l, a->pid, &lb, &err) != AO_OK)
            a->errors++;
        ao_buf_free(&lb);
        a->reads++;
    }
    return NULL;
}

/* Readers on two threads per process while the SU writes; then the same
 * bytes as the SU. */
static void test_concurrent_readers(void **state)
{
    env *v = *state;
    sut_env *e = &v->e;
    su_ack p1, p2, m;
    assert_int_equal(sut_spawn(e, USER, "c1", &p1), AO_OK);
    assert_int_equal(sut_spawn(e, USER, "c2", &p2), AO_OK);
    atomic_bool stop = false;
    reader_arg args[4] = {
        { v, p1.id, &stop, 0, 0 }, { v, p1.id, &stop, 0, 0 },
        { v, p2.id, &stop, 0, 0 }, { v, p2.id, &stop, 0, 0 },
    };
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_main, &args[i]), 0);
    for (int i = 0; i < 30; i++) {
        assert_int_equal(sut_message(e, USER, p1.id, "c", &m, NULL), AO_OK);
        assert_int_equal(sut_message(e, USER, p2.id, "c", &m, NULL), AO_OK);
    }
    atomic_store(&stop, true);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].errors, 0);
        assert_true(args[i].reads >= 3);
    }
    assert_int_equal(same_pages(v, p1.id, true, "1000"), 31);
    assert_int_equal(same_pages(v, p2.id, false, "9"), 31);
    same_latest(v, p1.id, AO_OK);
}

static void test_open_needs_query(void **state)
{
    env *v = *state;
    su_log *l = NULL;
    ao_error err;
    /* the SU's own client in these tests has no query_transactions */
    assert_int_equal(su_log_open(&v->e.wc, &l, &err), AO_EINVAL);
    assert_null(l);
    assert_int_equal(su_log_open(NULL, &l, &err), AO_EINVAL);
    su_log_close(NULL);
}

int main(void)
{
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &USER, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &FORGER, NULL))
        return 1;
    ao_log_configure(AO_LOG_WARN, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_same_json_as_su, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_forged_assignment_ignored, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_tampered_hash_chain, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_equivocation, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_timestamp_goes_back, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_data_layer_swapped_item, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_gap_serves_prefix, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_incremental_refresh, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_lookup_without_process_id, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_cu_su_client_binding, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_concurrent_readers, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_open_needs_query, setup_env, teardown_env),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    crypto_wallet_free(USER);
    crypto_wallet_free(FORGER);
    return r;
}
