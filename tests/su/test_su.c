/* test_su.c - the Scheduler Unit in-process: POST of processes and
 * messages (slots, hash chain, timestamps, the Assignment item), duplicates,
 * assignments of existing transactions, every refusal with nothing stored,
 * the JSON reads (schedule pages, node lookup, latest, process record,
 * timestamp, info), restart, crash repair of unconfirmed uploads, the
 * Scheduler-Location record, and an SU with an RSA wallet. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include "su_test_util.h"

static crypto_wallet *USER;   /* ed25519 */
static crypto_wallet *RSA;    /* made on first use */

static const crypto_wallet *rsa_wallet(void)
{
    if (!RSA)
        assert_int_equal(crypto_wallet_generate(CRYPTO_KEY_ARWEAVE, &RSA, NULL), AO_OK);
    return RSA;
}

static int setup_env(void **state)
{
    sut_env *e = malloc(sizeof *e);
    if (!e || sut_setup(e, CRYPTO_KEY_ED25519, 1700000000000) != 0)
        return -1;
    *state = e;
    return 0;
}

static int teardown_env(void **state)
{
    sut_env *e = *state;
    sut_teardown(e);
    free(e);
    return 0;
}

static cJSON *get_json(sut_env *e, const char *id, const su_query *q)
{
    ao_buf b;
    ao_buf_init(&b);
    ao_error err;
    int r = su_get_json(e->s, id, q, &b, &err);
    if (r)
        fprintf(stderr, "su_get_json: %s\n", err.msg);
    assert_int_equal(r, AO_OK);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    ao_buf_free(&b);
    assert_non_null(j);
    return j;
}

static uint64_t weave_count(sut_env *e)
{
    weave_info info;
    assert_int_equal(weave_get_info(e->w, &info, NULL), AO_OK);
    return info.items;
}

/* ---- POST ---- */

static void test_process_then_messages(void **state)
{
    sut_env *e = *state;
    su_ack pa, ma[5];
    assert_int_equal(sut_spawn(e, USER, "hello", &pa), AO_OK);
    assert_int_equal(pa.nonce, 0);
    assert_false(pa.duplicate);
    assert_string_equal(pa.id, pa.process);
    assert_int_equal(su_has_process(e->s, pa.id, NULL), AO_OK);
    for (int i = 0; i < 5; i++) {
        ao_error err;
        assert_int_equal(sut_message(e, USER, pa.id, "msg", &ma[i], &err), AO_OK);
        assert_int_equal(ma[i].nonce, (uint64_t)i + 1);
        assert_string_equal(ma[i].process, pa.id);
        /* the clock is frozen: timestamps still strictly increase */
        assert_true(ma[i].timestamp > (i ? ma[i - 1].timestamp : pa.timestamp));
    }
    assert_int_equal(pa.timestamp, 1700000000000);
    assert_int_equal(sut_check_schedule(e, pa.id, 1), 6);

    /* the Assignment item: tag order of PROTOCOL.md §2.3, signed by the SU */
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(weave_get(e->w, ma[2].assignment, &raw, NULL), AO_OK);
    item it;
    assert_int_equal(item_verify(raw.data, raw.len, &it, NULL), AO_OK);
    const char *order[] = { "Process", "Epoch", "Nonce", "Hash-Chain", "Block-Height",
                            "Timestamp", "Data-Protocol", "Type", "Variant", "Message" };
    assert_int_equal(it.ntags, 10);
    for (size_t i = 0; i < 10; i++) {
        assert_int_equal(it.tags[i].name_len, strlen(order[i]));
        assert_memory_equal(it.tags[i].name, order[i], strlen(order[i]));
    }
    char v[128];
    assert_true(sut_tag(&it, "Process", v, sizeof v));
    assert_string_equal(v, pa.id);
    assert_true(sut_tag(&it, "Epoch", v, sizeof v));
    assert_string_equal(v, "0");
    assert_true(sut_tag(&it, "Nonce", v, sizeof v));
    assert_string_equal(v, "3");
    assert_true(sut_tag(&it, "Block-Height", v, sizeof v));
    assert_int_equal(strlen(v), 12);
    assert_true(sut_tag(&it, "Timestamp", v, sizeof v));
    assert_int_equal(strtoll(v, NULL, 10), ma[2].timestamp);
    assert_true(sut_tag(&it, "Type", v, sizeof v));
    assert_string_equal(v, "Assignment");
    assert_true(sut_tag(&it, "Variant", v, sizeof v));
    assert_string_equal(v, "ao.TN.1");
    assert_true(sut_tag(&it, "Message", v, sizeof v));
    assert_string_equal(v, ma[2].id);
    assert_null(it.target);
    assert_null(it.anchor);
    assert_int_equal(it.data_len, 0);
    char owner[AO_ADDRESS_MAX];
    item_owner_address(&it, owner);
    assert_string_equal(owner, su_address(e->s));
    ao_buf_free(&raw);

    /* the process's own assignment has no Message tag; its item is stored */
    ao_buf_init(&raw);
    assert_int_equal(weave_get(e->w, pa.assignment, &raw, NULL), AO_OK);
    assert_int_equal(item_decode(raw.data, raw.len, &it, NULL), AO_OK);
    assert_int_equal(it.ntags, 9);
    assert_null(item_find_tag(&it, "Message"));
    ao_buf_free(&raw);
    assert_int_equal(weave_has(e->w, pa.id, NULL), AO_OK);
    assert_int_equal(weave_has(e->w, ma[4].id, NULL), AO_OK);
}

static void test_post_body(void **state)
{
    sut_env *e = *state;
    su_ack pa;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    const char *kv[] = { "Data-Protocol=ao", "Type=Message" };
    ao_buf raw, body;
    ao_buf_init(&raw);
    ao_buf_init(&body);
    char id[44];
    assert_int_equal(sut_item(USER, kv, 2, pa.id, "x", &raw, id), AO_OK);
    su_ack a;
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, &a, &body, NULL), AO_OK);
    char expect[128];
    snprintf(expect, sizeof expect, "{\"timestamp\":%lld,\"id\":\"%s\"}", (long long)a.timestamp, id);
    assert_int_equal(body.len, strlen(expect));
    assert_memory_equal(body.data, expect, body.len);
    ao_buf_free(&raw);
    ao_buf_free(&body);
}

static void test_duplicate_id_same_slot(void **state)
{
    sut_env *e = *state;
    su_ack pa, a1, a2, p2;
    assert_int_equal(sut_spawn(e, USER, "dup", &pa), AO_OK);
    const char *kv[] = { "Data-Protocol=ao", "Type=Message" };
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(sut_item(USER, kv, 2, pa.id, "same", &raw, NULL), AO_OK);
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, &a1, NULL, NULL), AO_OK);
    uint64_t items = weave_count(e);
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, &a2, NULL, NULL), AO_OK);
    assert_true(a2.duplicate);
    assert_int_equal(a2.nonce, a1.nonce);
    assert_int_equal(a2.timestamp, a1.timestamp);
    assert_string_equal(a2.assignment, a1.assignment);
    assert_int_equal(weave_count(e), items);
    /* the process itself posted again */
    assert_int_equal(sut_spawn(e, USER, "dup", &p2), AO_OK);
    assert_true(p2.duplicate);
    assert_int_equal(p2.nonce, 0);
    assert_string_equal(p2.assignment, pa.assignment);
    /* the next message continues after the first slot */
    su_ack a3;
    assert_int_equal(sut_message(e, USER, pa.id, "next", &a3, NULL), AO_OK);
    assert_int_equal(a3.nonce, a1.nonce + 1);
    assert_int_equal(sut_check_schedule(e, pa.id, 0), 3);
    ao_buf_free(&raw);
}

static void test_mu_pushed_duplicate_by_deep_hash(void **state)
{
    sut_env *e = *state;
    su_ack pa, a1, a2, b1, b2;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    /* RSA-PSS signatures are salted: the same fields signed twice give two
     * ids with one deep hash */
    const char *pushed[] = { "Data-Protocol=ao", "Type=Message", "From-Process=abc" };
    ao_buf r1, r2;
    ao_buf_init(&r1);
    ao_buf_init(&r2);
    char id1[44], id2[44];
    assert_int_equal(sut_item(rsa_wallet(), pushed, 3, pa.id, "push", &r1, id1), AO_OK);
    assert_int_equal(sut_item(rsa_wallet(), pushed, 3, pa.id, "push", &r2, id2), AO_OK);
    assert_string_not_equal(id1, id2);
    assert_int_equal(su_post_item(e->s, r1.data, r1.len, &a1, NULL, NULL), AO_OK);
    assert_int_equal(su_post_item(e->s, r2.data, r2.len, &a2, NULL, NULL), AO_OK);
    assert_true(a2.duplicate);
    assert_int_equal(a2.nonce, a1.nonce);
    assert_string_equal(a2.id, id1);
    assert_int_equal(weave_has(e->w, id2, NULL), AO_ENOTFOUND);
    /* without From-Process two such items are two messages */
    const char *plain[] = { "Data-Protocol=ao", "Type=Message" };
    ao_buf_reset(&r1);
    ao_buf_reset(&r2);
    assert_int_equal(sut_item(rsa_wallet(), plain, 2, pa.id, "push", &r1, id1), AO_OK);
    assert_int_equal(sut_item(rsa_wallet(), plain, 2, pa.id, "push", &r2, id2), AO_OK);
    assert_int_equal(su_post_item(e->s, r1.data, r1.len, &b1, NULL, NULL), AO_OK);
    assert_int_equal(su_post_item(e->s, r2.data, r2.len, &b2, NULL, NULL), AO_OK);
    assert_false(b2.duplicate);
    assert_int_equal(b2.nonce, b1.nonce + 1);
    ao_buf_free(&r1);
    ao_buf_free(&r2);
}

static void test_assign_existing_tx(void **state)
{
    sut_env *e = *state;
    su_ack pa, a1, a2;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    const char *kv[] = { "Data-Protocol=ao", "Type=Message", "Action=Hello" };
    ao_buf raw, body;
    ao_buf_init(&raw);
    ao_buf_init(&body);
    char tx[44];
    assert_int_equal(sut_item(USER, kv, 3, NULL, "on the weave", &raw, tx), AO_OK);
    assert_int_equal(weave_put(e->w, raw.data, raw.len, 0, NULL, NULL), AO_OK);
    ao_error err;
    assert_int_equal(su_assign(e->s, pa.id, tx, true, "x1,x2", &a1, &body, &err), AO_OK);
    assert_int_equal(a1.nonce, 1);
    assert_string_equal(a1.id, tx);
    char expect[128];
    snprintf(expect, sizeof expect, "{\"timestamp\":%lld,\"id\":\"%s\"}", (long long)a1.timestamp,
             a1.assignment);
    assert_int_equal(body.len, strlen(expect));
    assert_memory_equal(body.data, expect, body.len);
    /* the Assignment carries Message=tx and one Exclude per value */
    ao_buf ar;
    ao_buf_init(&ar);
    assert_int_equal(weave_get(e->w, a1.assignment, &ar, NULL), AO_OK);
    item it;
    assert_int_equal(item_verify(ar.data, ar.len, &it, NULL), AO_OK);
    assert_int_equal(it.ntags, 12);
    assert_memory_equal(it.tags[9].name, "Message", 7);
    assert_memory_equal(it.tags[9].value, tx, 43);
    assert_memory_equal(it.tags[10].name, "Exclude", 7);
    assert_memory_equal(it.tags[10].value, "x1", 2);
    assert_memory_equal(it.tags[11].value, "x2", 2);
    ao_buf_free(&ar);
    /* the same (process, tx) again: the first slot */
    assert_int_equal(su_assign(e->s, pa.id, tx, false, NULL, &a2, NULL, NULL), AO_OK);
    assert_true(a2.duplicate);
    assert_int_equal(a2.nonce, 1);
    assert_string_equal(a2.assignment, a1.assignment);
    /* its node: message null, as on the real SU */
    su_query q = { .process_id = pa.id };
    cJSON *j = get_json(e, tx, &q);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "message")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "assignment"), "id")),
                        a1.assignment);
    cJSON_Delete(j);
    assert_int_equal(sut_check_schedule(e, pa.id, 1), 2);
    /* unknown tx, unknown process, malformed ids */
    char unknown[44];
    memcpy(unknown, tx, 44);
    unknown[0] = unknown[0] == 'A' ? 'B' : 'A';
    assert_int_equal(su_assign(e->s, pa.id, unknown, false, NULL, NULL, NULL, &err), AO_ENOTFOUND);
    assert_int_equal(su_assign(e->s, unknown, tx, false, NULL, NULL, NULL, &err), AO_ENOTFOUND);
    assert_int_equal(su_assign(e->s, pa.id, "short", false, NULL, NULL, NULL, &err), AO_EINVAL);
    assert_int_equal(sut_check_schedule(e, pa.id, 0), 2);
    ao_buf_free(&raw);
    ao_buf_free(&body);
}

/* ---- refusals: nothing stored ---- */

static void expect_refused(sut_env *e, const char *pid, const char *const *kv, size_t n,
                           const char *target, int code, bool corrupt)
{
    uint64_t items = weave_count(e);
    long before = pid ? sut_check_schedule(e, pid, 0) : 0;
    ao_buf raw;
    ao_buf_init(&raw);
    char id[44];
    assert_int_equal(sut_item(USER, kv, n, target, "refused", &raw, id), AO_OK);
    if (corrupt)
        raw.data[2 + 10] ^= 1;   /* a signature byte */
    ao_error err = { 0 };
    su_ack ack;
    int r = su_post_item(e->s, raw.data, raw.len, &ack, NULL, &err);
    assert_int_equal(r, code);
    assert_true(err.msg[0] != 0);
    assert_int_equal(weave_count(e), items);
    if (pid)
        assert_int_equal(sut_check_schedule(e, pid, 0), before);
    assert_int_equal(su_has_process(e->s, id, NULL), AO_ENOTFOUND);
    ao_buf_free(&raw);
}

static void test_refusals(void **state)
{
    sut_env *e = *state;
    su_ack pa;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    char sched[80], other[80];
    snprintf(sched, sizeof sched, "Scheduler=%s", su_address(e->s));
    snprintf(other, sizeof other, "Scheduler=%s", pa.id);
    const char *good[] = { "Data-Protocol=ao", "Type=Message" };
    expect_refused(e, pa.id, good, 2, pa.id, AO_EVERIFY, true);
    const char *no_dp[] = { "Type=Message" };
    expect_refused(e, pa.id, no_dp, 1, pa.id, AO_EINVAL, false);
    const char *no_type[] = { "Data-Protocol=ao" };
    expect_refused(e, pa.id, no_type, 1, pa.id, AO_EINVAL, false);
    const char *bad_type[] = { "Data-Protocol=ao", "Type=Assignment" };
    expect_refused(e, pa.id, bad_type, 2, pa.id, AO_EINVAL, false);
    const char *first_type_wins[] = { "Data-Protocol=ao", "Type=Other", "Type=Message" };
    expect_refused(e, pa.id, first_type_wins, 3, pa.id, AO_EINVAL, false);
    const char *no_module[] = { "Data-Protocol=ao", "Type=Process", sched };
    expect_refused(e, pa.id, no_module, 3, NULL, AO_EINVAL, false);
    const char *no_sched[] = { "Data-Protocol=ao", "Type=Process", "Module=m" };
    expect_refused(e, pa.id, no_sched, 3, NULL, AO_EINVAL, false);
    const char *other_sched[] = { "Data-Protocol=ao", "Type=Process", "Module=m", other };
    expect_refused(e, pa.id, other_sched, 4, NULL, AO_EINVAL, false);
    const char *link_name[] = { "Data-Protocol=ao", "Type=Message", "Data+link=x" };
    expect_refused(e, pa.id, link_name, 3, pa.id, AO_EINVAL, false);
    const char *link_value[] = { "Data-Protocol=ao", "Type=Message", "Ref=abc+link" };
    expect_refused(e, pa.id, link_value, 3, pa.id, AO_EINVAL, false);
    expect_refused(e, pa.id, good, 2, NULL, AO_EINVAL, false);   /* no target */
    char unknown[44];
    memcpy(unknown, pa.id, 44);
    unknown[5] = unknown[5] == 'A' ? 'B' : 'A';
    expect_refused(e, pa.id, good, 2, unknown, AO_ENOTFOUND, false);
    /* bytes that are no item at all */
    uint8_t junk[64] = { 1, 0, 9, 9 };
    assert_int_equal(su_post_item(e->s, junk, sizeof junk, NULL, NULL, NULL), AO_EFORMAT);
    assert_int_equal(su_post_item(e->s, junk, 0, NULL, NULL, NULL), AO_EFORMAT);
    assert_int_equal(sut_check_schedule(e, pa.id, 0), 1);
}

static void test_query_nonsense(void **state)
{
    sut_env *e = *state;
    su_ack pa;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    struct { su_query q; } bad[] = {
        { { .from = "abc" } }, { { .from = "12x" } }, { { .from = "" } }, { { .to = "-5" } },
        { { .limit = "0" } }, { { .limit = "ten" } }, { { .limit = "-1" } },
        { { .from_nonce = "-2" } }, { { .to_nonce = "x" } },
        { { .from = "99999999999999999999999" } }, { { .from = "1", .from_nonce = "1" } },
        { { .process_id = "short" } },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ao_buf b;
        ao_buf_init(&b);
        ao_error err = { 0 };
        assert_int_equal(su_get_json(e->s, pa.id, &bad[i].q, &b, &err), AO_EINVAL);
        assert_int_equal(b.len, 0);
        assert_true(strstr(err.msg, "invalid") != NULL);
        ao_buf_free(&b);
    }
    /* a huge limit is capped, not refused */
    su_query q = { .limit = "100000000" };
    cJSON *j = get_json(e, pa.id, &q);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "edges")), 1);
    cJSON_Delete(j);
}

/* ---- reads ---- */

static void test_schedule_paging(void **state)
{
    sut_env *e = *state;
    su_ack pa, m[10];
    assert_int_equal(sut_spawn(e, USER, "proc data", &pa), AO_OK);
    for (int i = 0; i < 10; i++) {
        e->clock += 10;   /* one message every 10 ms */
        assert_int_equal(sut_message(e, USER, pa.id, "m", &m[i], NULL), AO_OK);
    }
    /* the first page: the process is edge 0, cursors are timestamps */
    su_query q = { .limit = "3" };
    cJSON *j = get_json(e, pa.id, &q);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "page_info"), "has_next_page")));
    cJSON *edges = cJSON_GetObjectItem(j, "edges");
    assert_int_equal(cJSON_GetArraySize(edges), 3);
    cJSON *e0 = cJSON_GetArrayItem(edges, 0);
    cJSON *msg = cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "node"), "message");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "id")), pa.id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "data")), "proc data");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "target")), "");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(msg, "anchor")));
    assert_string_equal(sut_json_tag(cJSON_GetObjectItem(msg, "tags"), "Type"), "Process");
    cJSON *owner = cJSON_GetObjectItem(msg, "owner");
    char addr[AO_ADDRESS_MAX];
    size_t olen;
    const uint8_t *uo = crypto_wallet_owner(USER, &olen);
    crypto_owner_address_b64(uo, olen, addr);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(owner, "address")), addr);
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(owner, "key")));
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "signature")));
    cJSON *as = cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "node"), "assignment");
    assert_string_equal(sut_json_tag(cJSON_GetObjectItem(as, "tags"), "Nonce"), "0");
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(as, "anchor")));
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(as, "target")), "");
    assert_null(cJSON_GetObjectItem(as, "data"));
    char cur[32];
    snprintf(cur, sizeof cur, "%lld", (long long)pa.timestamp);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(e0, "cursor")), cur);
    /* follow the cursors: all 11, in order, then has_next_page false */
    int seen = 3;
    char from[32];
    snprintf(from, sizeof from, "%s",
             cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(edges, 2), "cursor")));
    cJSON_Delete(j);
    for (;;) {
        su_query q2 = { .from = from, .limit = "3", .process_id = pa.id };
        j = get_json(e, pa.id, &q2);
        edges = cJSON_GetObjectItem(j, "edges");
        cJSON *ed;
        cJSON_ArrayForEach(ed, edges) {
            const char *id = cJSON_GetStringValue(cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetObjectItem(ed, "node"), "message"), "id"));
            assert_string_equal(id, m[seen - 1].id);
            snprintf(from, sizeof from, "%s", cJSON_GetStringValue(cJSON_GetObjectItem(ed, "cursor")));
            seen++;
        }
        bool more = cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "page_info"), "has_next_page"));
        cJSON_Delete(j);
        if (!more)
            break;
    }
    assert_int_equal(seen, 11);
    /* from exclusive, to inclusive */
    char f[32], t[32];
    snprintf(f, sizeof f, "%lld", (long long)m[2].timestamp);
    snprintf(t, sizeof t, "%lld", (long long)m[5].timestamp);
    su_query q3 = { .from = f, .to = t };
    j = get_json(e, pa.id, &q3);
    edges = cJSON_GetObjectItem(j, "edges");
    assert_int_equal(cJSON_GetArraySize(edges), 3);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(edges, 0), "cursor")),
                        (snprintf(cur, sizeof cur, "%lld", (long long)m[3].timestamp), cur));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "page_info"), "has_next_page")));
    cJSON_Delete(j);
    /* nonce mode: -1 includes the process; cursors are nonces */
    su_query q4 = { .from_nonce = "-1", .limit = "2" };
    j = get_json(e, pa.id, &q4);
    edges = cJSON_GetObjectItem(j, "edges");
    assert_int_equal(cJSON_GetArraySize(edges), 2);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(edges, 0), "cursor")), "0");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(edges, 1), "cursor")), "1");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "page_info"), "has_next_page")));
    cJSON_Delete(j);
    su_query q5 = { .from_nonce = "4", .to_nonce = "6" };
    j = get_json(e, pa.id, &q5);
    edges = cJSON_GetObjectItem(j, "edges");
    assert_int_equal(cJSON_GetArraySize(edges), 2);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(edges, 0), "cursor")), "5");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(edges, 1), "cursor")), "6");
    cJSON_Delete(j);
    /* default limit 100 over 11 rows: everything, no next page */
    j = get_json(e, pa.id, NULL);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "edges")), 11);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "page_info"), "has_next_page")));
    cJSON_Delete(j);
}

static void test_message_node_lookup(void **state)
{
    sut_env *e = *state;
    su_ack pa, pb, m;
    assert_int_equal(sut_spawn(e, USER, "a", &pa), AO_OK);
    assert_int_equal(sut_spawn(e, USER, "b", &pb), AO_OK);
    assert_int_equal(sut_message(e, USER, pa.id, "payload \x01\xff end", &m, NULL), AO_OK);
    su_query q = { .process_id = pa.id };
    cJSON *j = get_json(e, m.id, &q);
    cJSON *msg = cJSON_GetObjectItem(j, "message");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "id")), m.id);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "target")), pa.id);
    /* lossy UTF-8: the invalid byte becomes U+FFFD, the control char escaped */
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(msg, "data")),
                        "payload \x01\xEF\xBF\xBD end");
    cJSON *as = cJSON_GetObjectItem(j, "assignment");
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(as, "id")), m.assignment);
    assert_string_equal(sut_json_tag(cJSON_GetObjectItem(as, "tags"), "Nonce"), "1");
    assert_string_equal(sut_json_tag(cJSON_GetObjectItem(as, "tags"), "Process"), pa.id);
    cJSON_Delete(j);
    /* process-id is optional */
    j = get_json(e, m.id, NULL);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "message"), "id")), m.id);
    cJSON_Delete(j);
    /* another process, or an unknown id */
    ao_buf b;
    ao_buf_init(&b);
    ao_error err;
    su_query qb = { .process_id = pb.id };
    assert_int_equal(su_get_json(e->s, m.id, &qb, &b, &err), AO_ENOTFOUND);
    assert_string_equal(err.msg, "Message or Process not found");
    char unknown[44];
    memcpy(unknown, m.id, 44);
    unknown[3] = unknown[3] == 'A' ? 'B' : 'A';
    assert_int_equal(su_get_json(e->s, unknown, NULL, &b, &err), AO_ENOTFOUND);
    assert_int_equal(su_get_json(e->s, "nonsense", NULL, &b, &err), AO_ENOTFOUND);
    assert_int_equal(b.len, 0);
    ao_buf_free(&b);
}

static void test_latest(void **state)
{
    sut_env *e = *state;
    su_ack pa, m;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(su_latest_json(e->s, pa.id, &b, NULL), AO_OK);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "message"), "id")), pa.id);
    cJSON_Delete(j);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "m", &m, NULL), AO_OK);
    ao_buf_reset(&b);
    assert_int_equal(su_latest_json(e->s, pa.id, &b, NULL), AO_OK);
    j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "message"), "id")), m.id);
    assert_string_equal(sut_json_tag(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "assignment"), "tags"), "Nonce"), "3");
    cJSON_Delete(j);
    ao_buf_reset(&b);
    assert_int_equal(su_latest_json(e->s, m.id, &b, NULL), AO_ENOTFOUND);
    ao_buf_free(&b);
}

static void test_process_record(void **state)
{
    sut_env *e = *state;
    su_ack pa, pb;
    assert_int_equal(sut_spawn(e, USER, "init code", &pa), AO_OK);
    assert_int_equal(sut_spawn(e, USER, NULL, &pb), AO_OK);
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(su_process_json(e->s, pa.id, &b, NULL), AO_OK);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_non_null(j);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "process_id")), pa.id);
    const char *block = cJSON_GetStringValue(cJSON_GetObjectItem(j, "block"));
    assert_non_null(block);
    assert_int_equal(strlen(block), 12);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "timestamp")));
    assert_true((int64_t)cJSON_GetNumberValue(cJSON_GetObjectItem(j, "timestamp")) == pa.timestamp);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "data")), "init code");
    assert_string_equal(sut_json_tag(cJSON_GetObjectItem(j, "tags"), "Type"), "Process");
    assert_non_null(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "owner"), "key"));
    assert_non_null(cJSON_GetStringValue(cJSON_GetObjectItem(j, "signature")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "target")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "anchor")));
    cJSON_Delete(j);
    ao_buf_reset(&b);
    assert_int_equal(su_process_json(e->s, pb.id, &b, NULL), AO_OK);
    j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "data")));
    cJSON_Delete(j);
    ao_buf_reset(&b);
    assert_int_equal(su_process_json(e->s, "missing", &b, NULL), AO_ENOTFOUND);
    ao_buf_free(&b);
}

static void test_timestamp_and_info(void **state)
{
    sut_env *e = *state;
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(su_timestamp_json(e->s, NULL, &b, NULL), AO_OK);
    cJSON *j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_string_equal(cJSON_GetStringValue(cJSON_GetObjectItem(j, "timestamp")), "1700000000000");
    const char *h = cJSON_GetStringValue(cJSON_GetObjectItem(j, "block_height"));
    assert_non_null(h);
    assert_int_equal(strlen(h), 12);
    weave_info info;
    assert_int_equal(weave_get_info(e->w, &info, NULL), AO_OK);
    assert_int_equal(strtoll(h, NULL, 10), info.height);
    cJSON_Delete(j);
    ao_buf_reset(&b);
    assert_int_equal(su_info_json(e->s, &b, NULL), AO_OK);
    char expect[128];
    snprintf(expect, sizeof expect, "{\"timestamp\":\"1700000000000\",\"address\":\"%s\"}",
             su_address(e->s));
    assert_int_equal(b.len, strlen(expect));
    assert_memory_equal(b.data, expect, b.len);
    ao_buf_free(&b);
    /* with a process whose last slot is ahead of the clock: not behind it */
    su_ack pa, m;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "m", &m, NULL), AO_OK);
    ao_buf_init(&b);
    assert_int_equal(su_timestamp_json(e->s, pa.id, &b, NULL), AO_OK);
    j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_int_equal(strtoll(cJSON_GetStringValue(cJSON_GetObjectItem(j, "timestamp")), NULL, 10),
                     m.timestamp);
    cJSON_Delete(j);
    ao_buf_free(&b);
}

static void test_restart_continues_chain(void **state)
{
    sut_env *e = *state;
    su_ack pa, m, first;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    const char *kv[] = { "Data-Protocol=ao", "Type=Message", "Action=First" };
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(sut_item(USER, kv, 3, pa.id, "before", &raw, NULL), AO_OK);
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, &first, NULL, NULL), AO_OK);
    for (int i = 0; i < 3; i++)
        assert_int_equal(sut_message(e, USER, pa.id, "before", &m, NULL), AO_OK);
    su_close(e->s);
    e->s = NULL;
    e->clock -= 5000;   /* the clock went backwards across the restart */
    assert_int_equal(sut_open_su(e, NULL), AO_OK);
    assert_int_equal(su_has_process(e->s, pa.id, NULL), AO_OK);
    su_ack n;
    assert_int_equal(sut_message(e, USER, pa.id, "after", &n, NULL), AO_OK);
    assert_int_equal(n.nonce, 5);
    assert_true(n.timestamp > m.timestamp);
    assert_int_equal(sut_check_schedule(e, pa.id, 1), 6);
    /* a duplicate of a message from before the restart */
    su_ack d;
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, &d, NULL, NULL), AO_OK);
    assert_true(d.duplicate);
    assert_int_equal(d.nonce, 1);
    assert_string_equal(d.assignment, first.assignment);
    ao_buf_free(&raw);
}

/* The data layer fails after the row is committed: the caller gets
 * AO_EIO; a retry of the same item while it is down fails too; once it is
 * back a retry answers the same slot; the writer re-uploads pending rows
 * by itself when idle; a restart re-uploads what was still pending. */
static void test_upload_failure_repaired(void **state)
{
    sut_env *e = *state;
    su_ack pa, m, again;
    assert_int_equal(sut_spawn(e, USER, NULL, &pa), AO_OK);
    const char *kv[] = { "Data-Protocol=ao", "Type=Message" };
    ao_buf raw, raw2, raw3;
    ao_buf_init(&raw);
    ao_buf_init(&raw2);
    ao_buf_init(&raw3);
    char id[44], id2[44], id3[44];
    assert_int_equal(sut_item(USER, kv, 2, pa.id, "one", &raw, id), AO_OK);
    assert_int_equal(sut_item(USER, kv, 2, pa.id, "two", &raw2, id2), AO_OK);
    assert_int_equal(sut_item(USER, kv, 2, pa.id, "three", &raw3, id3), AO_OK);
    atomic_store(&e->fail_puts, 1);
    ao_error err;
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, &m, NULL, &err), AO_EIO);
    assert_int_equal(weave_has(e->w, id, NULL), AO_ENOTFOUND);
    /* the schedule already shows it (read from the pending bytes) */
    assert_int_equal(sut_check_schedule(e, pa.id, 0), 2);
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, &again, NULL, &err), AO_EIO);
    atomic_store(&e->fail_puts, 0);
    assert_int_equal(su_post_item(e->s, raw.data, raw.len, &again, NULL, &err), AO_OK);
    assert_true(again.duplicate);
    assert_int_equal(again.nonce, 1);
    assert_int_equal(weave_has(e->w, id, NULL), AO_OK);
    /* the writer retries by itself once the data layer is back */
    atomic_store(&e->fail_puts, 1);
    assert_int_equal(su_post_item(e->s, raw2.data, raw2.len, &m, NULL, &err), AO_EIO);
    atomic_store(&e->fail_puts, 0);
    int waited = 0;
    while (weave_has(e->w, id2, NULL) != AO_OK && waited < 5000) {
        usleep(20000);
        waited += 20;
    }
    assert_int_equal(weave_has(e->w, id2, NULL), AO_OK);
    /* another one fails, then the SU restarts */
    atomic_store(&e->fail_puts, 1);
    assert_int_equal(su_post_item(e->s, raw3.data, raw3.len, &m, NULL, &err), AO_EIO);
    su_close(e->s);
    e->s = NULL;
    assert_int_equal(weave_has(e->w, id3, NULL), AO_ENOTFOUND);
    atomic_store(&e->fail_puts, 0);
    assert_int_equal(sut_open_su(e, NULL), AO_OK);
    assert_int_equal(weave_has(e->w, id3, NULL), AO_OK);
    assert_int_equal(sut_check_schedule(e, pa.id, 1), 4);
    ao_buf_free(&raw);
    ao_buf_free(&raw2);
    ao_buf_free(&raw3);
}

static void test_scheduler_location_published(void **state)
{
    sut_env *e = *state;
    su_close(e->s);
    e->s = NULL;
    assert_int_equal(sut_open_su(e, "http://su.example:8080/"), AO_OK);
    weave_scheduler_location loc;
    assert_int_equal(weave_scheduler_location_resolve(e->w, su_address(e->s), &loc, NULL), AO_OK);
    assert_string_equal(loc.url, "http://su.example:8080");
    assert_int_equal(loc.ttl_ms, 86400000);
    assert_string_equal(loc.address, su_address(e->s));
}

/* The exact keys, in order, of an object. */
static void assert_keys(const cJSON *o, const char *const *keys, size_t n)
{
    assert_true(cJSON_IsObject(o));
    size_t i = 0;
    const cJSON *c;
    cJSON_ArrayForEach(c, o) {
        assert_true(i < n);
        assert_string_equal(c->string, keys[i]);
        i++;
    }
    assert_int_equal(i, n);
}

/* The shapes of PROTOCOL.md §2.2, key for key, as the CU's reader
 * (ao-su.js) takes them. */
static void test_json_shapes(void **state)
{
    sut_env *e = *state;
    su_ack pa, m;
    assert_int_equal(sut_spawn(e, USER, "p", &pa), AO_OK);
    assert_int_equal(sut_message(e, USER, pa.id, "m", &m, NULL), AO_OK);
    static const char *const page[] = { "page_info", "edges" };
    static const char *const info[] = { "has_next_page" };
    static const char *const edge[] = { "cursor", "node" };
    static const char *const node[] = { "message", "assignment" };
    static const char *const msg[] = { "id", "owner", "data", "tags", "signature", "anchor", "target" };
    static const char *const asg[] = { "id", "owner", "tags", "signature", "anchor", "target" };
    static const char *const owner[] = { "address", "key" };
    static const char *const tag[] = { "name", "value" };
    static const char *const proc[] = { "process_id", "block", "owner", "tags", "timestamp",
                                        "data", "anchor", "signature", "target" };
    cJSON *j = get_json(e, pa.id, NULL);
    assert_keys(j, page, 2);
    assert_keys(cJSON_GetObjectItem(j, "page_info"), info, 1);
    const cJSON *ed;
    cJSON_ArrayForEach(ed, cJSON_GetObjectItem(j, "edges")) {
        assert_keys(ed, edge, 2);
        assert_true(cJSON_IsString(cJSON_GetObjectItem(ed, "cursor")));
        const cJSON *nd = cJSON_GetObjectItem(ed, "node");
        assert_keys(nd, node, 2);
        const cJSON *mm = cJSON_GetObjectItem(nd, "message"), *aa = cJSON_GetObjectItem(nd, "assignment");
        assert_keys(mm, msg, 7);
        assert_keys(aa, asg, 6);
        assert_keys(cJSON_GetObjectItem(mm, "owner"), owner, 2);
        assert_keys(cJSON_GetObjectItem(aa, "owner"), owner, 2);
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(mm, "tags"))
            assert_keys(t, tag, 2);
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(aa, "tags"))
            assert_keys(t, tag, 2);
        /* what the CU takes from the assignment tags */
        const cJSON *at = cJSON_GetObjectItem(aa, "tags");
        const char *need[] = { "Process", "Epoch", "Nonce", "Timestamp", "Block-Height", "Hash-Chain" };
        for (size_t k = 0; k < 6; k++)
            assert_non_null(sut_json_tag(at, need[k]));
    }
    cJSON_Delete(j);
    ao_buf b;
    ao_buf_init(&b);
    assert_int_equal(su_process_json(e->s, pa.id, &b, NULL), AO_OK);
    j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_keys(j, proc, 9);
    assert_keys(cJSON_GetObjectItem(j, "owner"), owner, 2);
    cJSON_Delete(j);
    ao_buf_reset(&b);
    assert_int_equal(su_latest_json(e->s, pa.id, &b, NULL), AO_OK);
    j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_keys(j, node, 2);
    cJSON_Delete(j);
    ao_buf_reset(&b);
    static const char *const ts[] = { "timestamp", "block_height" };
    static const char *const inf[] = { "timestamp", "address" };
    assert_int_equal(su_timestamp_json(e->s, NULL, &b, NULL), AO_OK);
    j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_keys(j, ts, 2);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(j, "timestamp")));
    cJSON_Delete(j);
    ao_buf_reset(&b);
    assert_int_equal(su_info_json(e->s, &b, NULL), AO_OK);
    j = cJSON_ParseWithLength((const char *)b.data, b.len);
    assert_keys(j, inf, 2);
    cJSON_Delete(j);
    ao_buf_free(&b);
}

static void test_rsa_wallet_su(void **state)
{
    (void)state;
    sut_env e;
    assert_int_equal(sut_setup(&e, CRYPTO_KEY_ED25519, 0), 0);
    su_close(e.s);
    e.s = NULL;
    crypto_wallet_free(e.suw);
    char *json;
    assert_int_equal(crypto_wallet_to_json(rsa_wallet(), &json, NULL), AO_OK);
    assert_int_equal(crypto_wallet_parse(json, strlen(json), &e.suw, NULL), AO_OK);
    free(json);
    assert_int_equal(sut_open_su(&e, NULL), AO_OK);
    su_ack pa, m;
    assert_int_equal(sut_spawn(&e, USER, NULL, &pa), AO_OK);
    assert_int_equal(sut_message(&e, USER, pa.id, "rsa", &m, NULL), AO_OK);
    ao_buf raw;
    ao_buf_init(&raw);
    assert_int_equal(weave_get(e.w, m.assignment, &raw, NULL), AO_OK);
    item it;
    assert_int_equal(item_verify(raw.data, raw.len, &it, NULL), AO_OK);
    assert_int_equal(it.sig_type, ITEM_SIG_ARWEAVE);
    ao_buf_free(&raw);
    assert_int_equal(sut_check_schedule(&e, pa.id, 1), 2);
    sut_teardown(&e);
}

int main(void)
{
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &USER, NULL))
        return 1;
    ao_log_configure(AO_LOG_WARN, false);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_process_then_messages, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_post_body, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_duplicate_id_same_slot, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_mu_pushed_duplicate_by_deep_hash, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_assign_existing_tx, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_refusals, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_query_nonsense, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_schedule_paging, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_message_node_lookup, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_latest, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_process_record, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_timestamp_and_info, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_restart_continues_chain, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_upload_failure_repaired, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_scheduler_location_published, setup_env, teardown_env),
        cmocka_unit_test_setup_teardown(test_json_shapes, setup_env, teardown_env),
        cmocka_unit_test(test_rsa_wallet_su),
    };
    int r = cmocka_run_group_tests(tests, NULL, NULL);
    crypto_wallet_free(USER);
    crypto_wallet_free(RSA);
    return r;
}
