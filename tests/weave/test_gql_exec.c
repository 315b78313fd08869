/* test_gql_exec.c - the GraphQL executor (src/weave/gql_exec.c) against a
 * weave filled with items signed here (Ed25519 wallets): every query shape
 * of PROTOCOL.md with its expected rows, field order and aliases,
 * fragments, variables, paging and the `first` cap, bundles, pending
 * blocks, and an error object (never a crash) for each kind of bad query. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "crypto/crypto.h"
#include "vectors.h"
#include "item/item.h"
#include "weave/gql.h"
#include "weave/weave.h"

/* ---- fixture: one weave with a known population ---- */

typedef struct {
    char dir[64];
    weave *w;
    crypto_wallet *alice, *bob, *su;
    char alice_addr[AO_ADDRESS_MAX], bob_addr[AO_ADDRESS_MAX], su_addr[AO_ADDRESS_MAX];
    char module[WEAVE_ID_MAX], process[WEAVE_ID_MAX], msg[WEAVE_ID_MAX];
    char sl_old[WEAVE_ID_MAX], sl_new[WEAVE_ID_MAX], other_sl[WEAVE_ID_MAX];
    char bundle[WEAVE_ID_MAX], inner[2][WEAVE_ID_MAX];
    size_t filler;          /* number of filler items */
} fixture;

static fixture F;

static int gx_item(const crypto_wallet *wl, const char *const *kv, size_t n,
                   const uint8_t *target, const char *data, ao_buf *out, char id[WEAVE_ID_MAX])
{
    item_tag tags[16];
    for (size_t i = 0; i < n; i++) {
        const char *eq = strchr(kv[i], '=');
        tags[i].name = (const uint8_t *)kv[i];
        tags[i].name_len = (size_t)(eq - kv[i]);
        tags[i].value = (const uint8_t *)eq + 1;
        tags[i].value_len = strlen(eq + 1);
    }
    item_fields f = { target, NULL, tags, n, (const uint8_t *)data, strlen(data) };
    uint8_t raw_id[ITEM_ID_LEN];
    int rc = item_sign(wl, &f, out, raw_id, NULL);
    if (rc == AO_OK)
        ao_b64url_encode_to(raw_id, ITEM_ID_LEN, id);
    return rc;
}

static void put(const crypto_wallet *wl, const char *const *kv, size_t n, const uint8_t *target,
                const char *data, char id[WEAVE_ID_MAX])
{
    ao_buf b;
    ao_buf_init(&b);
    char tmp[WEAVE_ID_MAX];
    assert_int_equal(gx_item(wl, kv, n, target, data, &b, id ? id : tmp), AO_OK);
    ao_error err;
    weave_put_result r;
    if (weave_put(F.w, b.data, b.len, 0, &r, &err))
        fail_msg("put: %s", err.msg);
    ao_buf_free(&b);
}

static void address_of(const crypto_wallet *w, char out[AO_ADDRESS_MAX])
{
    size_t len;
    const uint8_t *owner = crypto_wallet_owner(w, &len);
    uint8_t h[32];
    crypto_sha256(owner, len, h);
    ao_b64url_encode_to(h, 32, out);
}

static int setup(void **state)
{
    (void)state;
    memset(&F, 0, sizeof F);
    strcpy(F.dir, "/tmp/ao-gql-test-XXXXXX");
    if (!mkdtemp(F.dir))
        return -1;
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 0;   /* a block per put */
    o.no_fsync = true;
    ao_error err;
    if (weave_open(F.dir, &o, &F.w, &err)) {
        fprintf(stderr, "weave_open: %s\n", err.msg);
        return -1;
    }
    if (crypto_wallet_generate(CRYPTO_KEY_ED25519, &F.alice, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &F.bob, NULL) ||
        crypto_wallet_generate(CRYPTO_KEY_ED25519, &F.su, NULL))
        return -1;
    address_of(F.alice, F.alice_addr);
    address_of(F.bob, F.bob_addr);
    address_of(F.su, F.su_addr);

    const char *sl1[] = { "Data-Protocol=ao", "Type=Scheduler-Location",
                          "Url=http://127.0.0.1:9001", "Time-To-Live=1000" };
    put(F.su, sl1, 4, NULL, "1", F.sl_old);
    const char *mod[] = { "Data-Protocol=ao", "Type=Module", "Module-Format=wasm32-unknown-emscripten",
                          "Input-Encoding=JSON-1", "Output-Encoding=JSON-1", "Variant=ao.TN.1",
                          "Content-Type=application/wasm", "Name=aos-module" };
    put(F.alice, mod, 8, NULL, "wasm", F.module);
    char sched[64 + 20];
    snprintf(sched, sizeof sched, "Scheduler=%s", F.su_addr);
    char modtag[64];
    snprintf(modtag, sizeof modtag, "Module=%s", F.module);
    const char *proc[] = { "Data-Protocol=ao", "Type=Process", modtag, sched, "Name=my-proc",
                           "Variant=ao.TN.1" };
    put(F.alice, proc, 6, NULL, "boot", F.process);
    uint8_t target[32];
    ao_buf t;
    ao_buf_init(&t);
    assert_int_equal(ao_b64url_decode(F.process, 43, &t, NULL), AO_OK);
    memcpy(target, t.data, 32);
    ao_buf_free(&t);
    const char *msg[] = { "Data-Protocol=ao", "Type=Message", "Action=Eval" };
    put(F.bob, msg, 3, target, "1 + 1", F.msg);
    const char *sl2[] = { "Data-Protocol=ao", "Type=Scheduler-Location",
                          "Url=http://127.0.0.1:9002/", "Time-To-Live=2000" };
    put(F.su, sl2, 4, NULL, "2", F.sl_new);
    put(F.bob, sl1, 4, NULL, "3", F.other_sl);

    /* filler: more than WEAVE_GQL_MAX_FIRST items with one tag */
    F.filler = WEAVE_GQL_MAX_FIRST + 5;
    for (size_t i = 0; i < F.filler; i++) {
        char n[32];
        snprintf(n, sizeof n, "N=%zu", i);
        const char *kv[] = { "Kind=filler", n };
        put(F.bob, kv, 2, NULL, "x", NULL);
    }
    /* a bundle of two items from alice, signed into a bundle item by bob */
    ao_buf i0, i1, bun, outer;
    ao_buf_init(&i0);
    ao_buf_init(&i1);
    ao_buf_init(&bun);
    ao_buf_init(&outer);
    const char *in0[] = { "Kind=inner", "N=0" };
    const char *in1[] = { "Kind=inner", "N=1" };
    assert_int_equal(gx_item(F.alice, in0, 2, NULL, "zero", &i0, F.inner[0]), AO_OK);
    assert_int_equal(gx_item(F.alice, in1, 2, NULL, "one", &i1, F.inner[1]), AO_OK);
    const uint8_t *items[2] = { i0.data, i1.data };
    size_t lens[2] = { i0.len, i1.len };
    assert_int_equal(item_bundle_write(items, lens, 2, &bun, NULL), AO_OK);
    item_tag bt[2] = {
        { (const uint8_t *)"Bundle-Format", 13, (const uint8_t *)"binary", 6 },
        { (const uint8_t *)"Bundle-Version", 14, (const uint8_t *)"2.0.0", 5 },
    };
    item_fields bf = { NULL, NULL, bt, 2, bun.data, bun.len };
    uint8_t bid[32];
    assert_int_equal(item_sign(F.bob, &bf, &outer, bid, NULL), AO_OK);
    ao_b64url_encode_to(bid, 32, F.bundle);
    if (weave_put(F.w, outer.data, outer.len, 0, NULL, &err))
        fail_msg("bundle put: %s", err.msg);
    ao_buf_free(&i0);
    ao_buf_free(&i1);
    ao_buf_free(&bun);
    ao_buf_free(&outer);

    return 0;
}

static int teardown(void **state)
{
    (void)state;
    weave_close(F.w);
    crypto_wallet_free(F.alice);
    crypto_wallet_free(F.bob);
    crypto_wallet_free(F.su);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", F.dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

/* Run a query (vars may be NULL); returns the parsed response, and the
 * raw text in *raw if raw is non-NULL (caller frees). */
static cJSON *run(const char *query, const char *vars, char **raw, bool expect_error)
{
    ao_buf out;
    ao_buf_init(&out);
    ao_error err;
    bool failed = false;
    int rc = weave_gql_execute(F.w, query, strlen(query), vars, vars ? strlen(vars) : 0, NULL,
                               &out, &failed, &err);
    assert_int_equal(rc, AO_OK);
    assert_int_equal(ao_buf_append_byte(&out, 0), AO_OK);
    cJSON *j = cJSON_Parse((char *)out.data);
    if (!j)
        fail_msg("response is not JSON: %s", (char *)out.data);
    bool has_errors = cJSON_GetObjectItem(j, "errors") != NULL;
    if (has_errors != expect_error || failed != expect_error)
        fail_msg("query %s\nresponse %s", query, (char *)out.data);
    if (raw)
        *raw = (char *)ao_buf_take(&out, NULL);
    ao_buf_free(&out);
    return j;
}

static cJSON *path(cJSON *j, const char *p)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", p);
    for (char *s = strtok(buf, "."); s && j; s = strtok(NULL, ".")) {
        if (*s >= '0' && *s <= '9')
            j = cJSON_GetArrayItem(j, atoi(s));
        else
            j = cJSON_GetObjectItemCaseSensitive(j, s);
    }
    if (!j)
        fail_msg("no %s in response", p);
    return j;
}

static const char *str_at(cJSON *j, const char *p)
{
    cJSON *v = path(j, p);
    if (!cJSON_IsString(v))
        fail_msg("%s is not a string", p);
    return v->valuestring;
}

static const char *tag_value(cJSON *tags, const char *name)
{
    cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        cJSON *n = cJSON_GetObjectItem(t, "name");
        if (cJSON_IsString(n) && !strcmp(n->valuestring, name))
            return cJSON_GetObjectItem(t, "value")->valuestring;
    }
    return NULL;
}

static void expect_error(const char *query, const char *vars, const char *needle)
{
    cJSON *j = run(query, vars, NULL, true);
    const char *m = str_at(j, "errors.0.message");
    if (!strstr(m, needle))
        fail_msg("query %s: error '%s' lacks '%s'", query, m, needle);
    assert_null(cJSON_GetObjectItem(j, "data"));
    cJSON_Delete(j);
}

/* ---- PROTOCOL.md queries ---- */

/* SU and CU: transactions(ids:[..]){edges{node{id signature anchor owner{address key}
 * tags{name value} recipient}}} */
static void su_cu_ids_query(void **state)
{
    (void)state;
    char q[512], vars[256];
    snprintf(q, sizeof q, "query GetTransactions($ids: [ID!]!) { transactions(ids: $ids) "
             "{ edges { node { id signature anchor owner { address key } tags { name value } "
             "recipient } } } }");
    snprintf(vars, sizeof vars, "{\"ids\":[\"%s\",\"%s\"]}", F.msg, F.module);
    cJSON *j = run(q, vars, NULL, false);
    cJSON *edges = path(j, "data.transactions.edges");
    assert_int_equal(cJSON_GetArraySize(edges), 2);
    /* default sort HEIGHT_DESC: the message (later) first */
    assert_string_equal(str_at(edges, "0.node.id"), F.msg);
    assert_string_equal(str_at(edges, "1.node.id"), F.module);
    assert_string_equal(str_at(edges, "0.node.recipient"), F.process);
    assert_string_equal(str_at(edges, "1.node.recipient"), "");
    assert_string_equal(str_at(edges, "0.node.owner.address"), F.bob_addr);
    assert_string_equal(str_at(edges, "0.node.anchor"), "");
    /* key is the b64url owner; its hash is the address */
    const char *key = str_at(edges, "0.node.owner.key");
    ao_buf k;
    ao_buf_init(&k);
    assert_int_equal(ao_b64url_decode(key, strlen(key), &k, NULL), AO_OK);
    assert_int_equal(k.len, 32);
    uint8_t h[32];
    char a[AO_ADDRESS_MAX];
    crypto_sha256(k.data, k.len, h);
    ao_b64url_encode_to(h, 32, a);
    assert_string_equal(a, F.bob_addr);
    ao_buf_free(&k);
    /* signature hashes to the id */
    const char *sig = str_at(edges, "0.node.signature");
    ao_buf s;
    ao_buf_init(&s);
    assert_int_equal(ao_b64url_decode(sig, strlen(sig), &s, NULL), AO_OK);
    crypto_sha256(s.data, s.len, h);
    ao_b64url_encode_to(h, 32, a);
    assert_string_equal(a, F.msg);
    ao_buf_free(&s);
    cJSON *tags = path(edges, "0.node.tags");
    assert_int_equal(cJSON_GetArraySize(tags), 3);
    assert_string_equal(str_at(tags, "2.name"), "Action");
    assert_string_equal(str_at(tags, "2.value"), "Eval");
    cJSON_Delete(j);
}

/* scheduler-utils locate: ids + Data-Protocol tag, takes the Scheduler tag */
static void scheduler_utils_locate(void **state)
{
    (void)state;
    const char *q = "query GetTransactions ($transactionIds: [ID!]!) {\n"
                    "  transactions(ids: $transactionIds, tags: [{name:\"Data-Protocol\", "
                    "values:[\"ao\"]}]) {\n    edges { node { tags { name value } } }\n  }\n}";
    char vars[128];
    snprintf(vars, sizeof vars, "{\"transactionIds\":[\"%s\"]}", F.process);
    cJSON *j = run(q, vars, NULL, false);
    cJSON *edges = path(j, "data.transactions.edges");
    assert_int_equal(cJSON_GetArraySize(edges), 1);
    assert_string_equal(tag_value(path(edges, "0.node.tags"), "Scheduler"), F.su_addr);
    cJSON_Delete(j);
    /* the bundle (no Data-Protocol tag) is filtered out */
    snprintf(vars, sizeof vars, "{\"transactionIds\":[\"%s\"]}", F.bundle);
    j = run(q, vars, NULL, false);
    assert_int_equal(cJSON_GetArraySize(path(j, "data.transactions.edges")), 0);
    cJSON_Delete(j);
}

/* loadScheduler: owners + two tags, HEIGHT_DESC, first 1: the newest record */
static void scheduler_location_latest(void **state)
{
    (void)state;
    const char *q = "query GetSchedulerLocation ($owner: String!) {\n"
                    "  transactions (\n    owners: [$owner]\n    tags: [\n"
                    "      { name: \"Data-Protocol\", values: [\"ao\"] },\n"
                    "      { name: \"Type\", values: [\"Scheduler-Location\"] }\n    ]\n"
                    "    # Only need the most recent Scheduler-Location\n"
                    "    sort: HEIGHT_DESC\n    first: 1\n  ) {\n"
                    "    edges { node { tags { name value } } }\n  }\n}";
    char vars[128];
    snprintf(vars, sizeof vars, "{\"owner\":\"%s\"}", F.su_addr);
    cJSON *j = run(q, vars, NULL, false);
    cJSON *edges = path(j, "data.transactions.edges");
    assert_int_equal(cJSON_GetArraySize(edges), 1);
    cJSON *tags = path(edges, "0.node.tags");
    assert_string_equal(tag_value(tags, "Url"), "http://127.0.0.1:9002/");
    assert_string_equal(tag_value(tags, "Time-To-Live"), "2000");
    cJSON_Delete(j);
}

/* aoconnect spawn check: ids via variable, owner{address} tags block{id height timestamp} */
static void aoconnect_module_check(void **state)
{
    (void)state;
    const char *q = "query GetTransactions ($transactionIds: [ID!]!) { transactions(ids: "
                    "$transactionIds) { edges { node { owner { address } tags { name value } "
                    "block { id height timestamp } } } } }";
    char vars[128];
    snprintf(vars, sizeof vars, "{\"transactionIds\":[\"%s\"]}", F.module);
    cJSON *j = run(q, vars, NULL, false);
    cJSON *node = path(j, "data.transactions.edges.0.node");
    assert_string_equal(str_at(node, "owner.address"), F.alice_addr);
    assert_string_equal(tag_value(path(node, "tags"), "Module-Format"),
                        "wasm32-unknown-emscripten");
    weave_item_meta m;
    assert_int_equal(weave_get_meta(F.w, F.module, 0, &m, NULL), AO_OK);
    assert_true(m.block_sealed);
    assert_string_equal(str_at(node, "block.id"), m.block_id);
    assert_int_equal((int64_t)path(node, "block.height")->valuedouble, m.height);
    assert_int_equal((int64_t)path(node, "block.timestamp")->valuedouble,
                     m.block_timestamp_ms / 1000);
    weave_meta_free(&m);
    /* the owner selection asked only for address */
    assert_null(cJSON_GetObjectItem(path(node, "owner"), "key"));
    cJSON_Delete(j);
    /* an unknown id: empty edges (aoconnect then fails the spawn) */
    j = run(q, "{\"transactionIds\":[\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]}", NULL,
            false);
    assert_int_equal(cJSON_GetArraySize(path(j, "data.transactions.edges")), 0);
    cJSON_Delete(j);
}

/* aos process lookup by owner and Name (values from a variable) */
static void aos_process_lookup(void **state)
{
    (void)state;
    const char *q = "query ($owners: [String!]!, $names: [String!]!) {\n"
                    "  transactions(first: 10, owners: $owners, tags: [\n"
                    "    { name: \"Data-Protocol\", values: [\"ao\"] },\n"
                    "    { name: \"Type\", values: [\"Process\"] },\n"
                    "    { name: \"Name\", values: $names }\n  ]) {\n"
                    "    edges { node { id tags { name value } } }\n  }\n}";
    char vars[256];
    snprintf(vars, sizeof vars, "{\"owners\":[\"%s\"],\"names\":[\"my-proc\"]}", F.alice_addr);
    cJSON *j = run(q, vars, NULL, false);
    cJSON *edges = path(j, "data.transactions.edges");
    assert_int_equal(cJSON_GetArraySize(edges), 1);
    assert_string_equal(str_at(edges, "0.node.id"), F.process);
    cJSON_Delete(j);
    snprintf(vars, sizeof vars, "{\"owners\":[\"%s\"],\"names\":[\"my-proc\"]}", F.bob_addr);
    j = run(q, vars, NULL, false);
    assert_int_equal(cJSON_GetArraySize(path(j, "data.transactions.edges")), 0);
    cJSON_Delete(j);
}

/* aos module by name: tags, HEIGHT_DESC, first 100, block{timestamp} */
static void aos_module_by_name(void **state)
{
    (void)state;
    const char *q = "query ($name: [String!]!) { transactions(tags: [{name: \"Type\", values: "
                    "[\"Module\"]}, {name: \"Data-Protocol\", values: [\"ao\"]}, {name: \"Name\", "
                    "values: $name}], sort: HEIGHT_DESC, first: 100) { edges { node { id "
                    "tags { name value } block { timestamp } } } } }";
    cJSON *j = run(q, "{\"name\":[\"aos-module\"]}", NULL, false);
    cJSON *edges = path(j, "data.transactions.edges");
    assert_int_equal(cJSON_GetArraySize(edges), 1);
    assert_string_equal(str_at(edges, "0.node.id"), F.module);
    assert_true(cJSON_IsNumber(path(edges, "0.node.block.timestamp")));
    cJSON_Delete(j);
}

/* CU cron: blocks(height:{min},first,sort:HEIGHT_ASC){pageInfo{hasNextPage} edges{node{timestamp height}}} */
static void cu_blocks_query(void **state)
{
    (void)state;
    const char *q = "query GetBlocks($min: Int!, $limit: Int!) { blocks(height: { min: $min }, "
                    "first: $limit, sort: HEIGHT_ASC) { pageInfo { hasNextPage } edges { node "
                    "{ timestamp height } } } }";
    cJSON *j = run(q, "{\"min\":2,\"limit\":3}", NULL, false);
    cJSON *edges = path(j, "data.blocks.edges");
    assert_int_equal(cJSON_GetArraySize(edges), 3);
    for (int i = 0; i < 3; i++) {
        char p[32];
        snprintf(p, sizeof p, "%d.node.height", i);
        assert_int_equal((int)path(edges, p)->valuedouble, 2 + i);
    }
    assert_true(cJSON_IsTrue(path(j, "data.blocks.pageInfo.hasNextPage")));
    cJSON_Delete(j);
    weave_info info;
    assert_int_equal(weave_get_info(F.w, &info, NULL), AO_OK);
    char vars[64];
    snprintf(vars, sizeof vars, "{\"min\":%lld,\"limit\":5}", (long long)info.height - 1);
    j = run(q, vars, NULL, false);
    assert_int_equal(cJSON_GetArraySize(path(j, "data.blocks.edges")), 2);
    assert_true(cJSON_IsFalse(path(j, "data.blocks.pageInfo.hasNextPage")));
    cJSON_Delete(j);
}

/* ---- shape of the answer ---- */

static void order_and_aliases(void **state)
{
    (void)state;
    char q[512];
    snprintf(q, sizeof q, "{ z: blocks(first: 1) { edges { node { height id } } } "
             "a: transactions(ids: [\"%s\"]) { edges { node { tags { value name } who: owner "
             "{ address } id } cursor } } b: transactions(ids: [\"%s\"]) { edges { node { id } } } }",
             F.msg, F.module);
    char *raw;
    cJSON *j = run(q, NULL, &raw, false);
    const char *pz = strstr(raw, "\"z\":"), *pa = strstr(raw, "\"a\":"),
               *pb = strstr(raw, "\"b\":");
    assert_non_null(pz);
    assert_true(pz < pa && pa < pb);
    assert_true(strstr(raw, "\"height\":") < strstr(raw, "\"id\":"));
    assert_non_null(strstr(raw, "{\"value\":\"ao\",\"name\":\"Data-Protocol\"}"));
    assert_non_null(strstr(raw, "\"who\":{\"address\":"));
    assert_true(strstr(raw, "\"who\":") < strstr(raw, "\"cursor\":"));
    assert_string_equal(str_at(j, "data.a.edges.0.node.who.address"), F.bob_addr);
    assert_string_equal(str_at(j, "data.b.edges.0.node.id"), F.module);
    free(raw);
    cJSON_Delete(j);
}

static void fragments_typename_directives(void **state)
{
    (void)state;
    char q[768];
    snprintf(q, sizeof q,
             "query Q($skip: Boolean = true) { transactions(ids: [\"%s\"]) { __typename edges "
             "{ node { ...F ... on Transaction { recipient } data @skip(if: $skip) { size } "
             "fee @include(if: false) { ar } quantity { winston ar } } } } }\n"
             "fragment F on Transaction { id __typename data { size type } }", F.module);
    char *raw;
    cJSON *j = run(q, NULL, &raw, false);
    cJSON *node = path(j, "data.transactions.edges.0.node");
    assert_string_equal(str_at(j, "data.transactions.__typename"), "TransactionConnection");
    assert_string_equal(str_at(node, "__typename"), "Transaction");
    assert_string_equal(str_at(node, "id"), F.module);
    assert_string_equal(str_at(node, "data.size"), "4");
    assert_string_equal(str_at(node, "data.type"), "application/wasm");
    assert_null(cJSON_GetObjectItem(node, "fee"));
    assert_string_equal(str_at(node, "quantity.winston"), "0");
    /* fragment fields come first, in fragment order */
    assert_non_null(strstr(raw, "\"node\":{\"id\":"));
    free(raw);
    cJSON_Delete(j);
    /* $skip false: data included (merged with the fragment's data) */
    j = run(q, "{\"skip\":false}", NULL, false);
    node = path(j, "data.transactions.edges.0.node");
    assert_string_equal(str_at(node, "data.size"), "4");
    assert_string_equal(str_at(node, "data.type"), "application/wasm");
    cJSON_Delete(j);
}

static void paging_with_cursors(void **state)
{
    (void)state;
    const char *q = "query P($after: String) { transactions(tags: [{name: \"Kind\", values: "
                    "[\"filler\"]}], first: 40, after: $after, sort: HEIGHT_ASC) { pageInfo "
                    "{ hasNextPage } edges { cursor node { tags { name value } } } } }";
    size_t seen = 0;
    char after[128] = "";
    for (int page = 0; page < 10; page++) {
        char vars[200];
        if (after[0])
            snprintf(vars, sizeof vars, "{\"after\":\"%s\"}", after);
        else
            snprintf(vars, sizeof vars, "{}");
        cJSON *j = run(q, vars, NULL, false);
        cJSON *edges = path(j, "data.transactions.edges");
        int n = cJSON_GetArraySize(edges);
        for (int i = 0; i < n; i++) {
            char p[32];
            snprintf(p, sizeof p, "%d.node.tags", i);
            char want[32];
            snprintf(want, sizeof want, "%zu", seen);
            assert_string_equal(tag_value(path(edges, p), "N"), want);
            seen++;
        }
        bool more = cJSON_IsTrue(path(j, "data.transactions.pageInfo.hasNextPage"));
        if (n > 0) {
            char p[32];
            snprintf(p, sizeof p, "%d.cursor", n - 1);
            snprintf(after, sizeof after, "%s", str_at(edges, p));
        }
        cJSON_Delete(j);
        if (!more)
            break;
    }
    assert_int_equal(seen, F.filler);
}

static void first_is_capped(void **state)
{
    (void)state;
    cJSON *j = run("{ transactions(first: 100000, tags: {name: \"Kind\", values: \"filler\"}) "
                   "{ pageInfo { hasNextPage } edges { cursor } } }", NULL, NULL, false);
    assert_int_equal(cJSON_GetArraySize(path(j, "data.transactions.edges")), WEAVE_GQL_MAX_FIRST);
    assert_true(cJSON_IsTrue(path(j, "data.transactions.pageInfo.hasNextPage")));
    cJSON_Delete(j);
    /* default page size */
    j = run("{ transactions { edges { cursor } } }", NULL, NULL, false);
    assert_int_equal(cJSON_GetArraySize(path(j, "data.transactions.edges")),
                     WEAVE_GQL_DEFAULT_FIRST);
    cJSON_Delete(j);
    j = run("{ transactions(first: 0) { pageInfo { hasNextPage } edges { cursor } } }", NULL,
            NULL, false);
    assert_int_equal(cJSON_GetArraySize(path(j, "data.transactions.edges")), 0);
    cJSON_Delete(j);
}

static void bundles_and_recipients(void **state)
{
    (void)state;
    char q[512];
    snprintf(q, sizeof q, "{ transactions(bundledIn: [\"%s\"], sort: HEIGHT_ASC) { edges { node "
             "{ id bundledIn { id } parent { id } } } } top: transactions(ids: [\"%s\"]) { edges "
             "{ node { bundledIn { id } } } } to: transactions(recipients: [\"%s\"]) { edges "
             "{ node { id } } } }", F.bundle, F.bundle, F.process);
    cJSON *j = run(q, NULL, NULL, false);
    cJSON *edges = path(j, "data.transactions.edges");
    assert_int_equal(cJSON_GetArraySize(edges), 2);
    const char *a = str_at(edges, "0.node.id"), *b = str_at(edges, "1.node.id");
    assert_true((!strcmp(a, F.inner[0]) && !strcmp(b, F.inner[1])) ||
                (!strcmp(a, F.inner[1]) && !strcmp(b, F.inner[0])));
    assert_string_equal(str_at(edges, "0.node.bundledIn.id"), F.bundle);
    assert_string_equal(str_at(edges, "1.node.parent.id"), F.bundle);
    assert_true(cJSON_IsNull(path(j, "data.top.edges.0.node.bundledIn")));
    assert_int_equal(cJSON_GetArraySize(path(j, "data.to.edges")), 1);
    assert_string_equal(str_at(j, "data.to.edges.0.node.id"), F.msg);
    cJSON_Delete(j);
}

static void single_transaction_and_block(void **state)
{
    (void)state;
    char q[256];
    snprintf(q, sizeof q, "{ transaction(id: \"%s\") { id owner { address } } "
             "missing: transaction(id: \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\") { id } "
             "block { height previous } }", F.process);
    cJSON *j = run(q, NULL, NULL, false);
    assert_string_equal(str_at(j, "data.transaction.id"), F.process);
    assert_string_equal(str_at(j, "data.transaction.owner.address"), F.alice_addr);
    assert_true(cJSON_IsNull(path(j, "data.missing")));
    weave_info info;
    assert_int_equal(weave_get_info(F.w, &info, NULL), AO_OK);
    assert_int_equal((int64_t)path(j, "data.block.height")->valuedouble, info.height);
    weave_block prev;
    assert_int_equal(weave_get_block(F.w, info.height - 1, &prev, NULL), AO_OK);
    assert_string_equal(str_at(j, "data.block.previous"), prev.id);
    cJSON_Delete(j);
}

static void operation_name_selects(void **state)
{
    (void)state;
    const char *q = "query A { blocks(first: 1) { edges { cursor } } } "
                    "query B { transactions(first: 1) { edges { cursor } } }";
    ao_buf out;
    ao_buf_init(&out);
    bool failed;
    assert_int_equal(weave_gql_execute(F.w, q, strlen(q), NULL, 0, "B", &out, &failed, NULL),
                     AO_OK);
    assert_false(failed);
    assert_int_equal(ao_buf_append_byte(&out, 0), AO_OK);
    assert_non_null(strstr((char *)out.data, "{\"data\":{\"transactions\":"));
    ao_buf_reset(&out);
    char body[512];
    snprintf(body, sizeof body, "{\"query\":\"%s\",\"operationName\":\"A\",\"variables\":null}",
             q);
    assert_int_equal(weave_gql_execute_request(F.w, body, strlen(body), &out, &failed, NULL),
                     AO_OK);
    assert_false(failed);
    assert_int_equal(ao_buf_append_byte(&out, 0), AO_OK);
    assert_non_null(strstr((char *)out.data, "{\"data\":{\"blocks\":"));
    ao_buf_reset(&out);
    const char *junk = "{\"query\": 5}";
    assert_int_equal(weave_gql_execute_request(F.w, junk, strlen(junk), &out, &failed, NULL),
                     AO_OK);
    assert_true(failed);
    ao_buf_free(&out);
    expect_error(q, NULL, "Must provide operation name");
}

/* ---- errors ---- */

static void errors_are_graphql_objects(void **state)
{
    (void)state;
    expect_error("{ transactions { edges { node { nope } } } }", NULL,
                 "Cannot query field \"nope\" on type \"Transaction\"");
    /* checked even when nothing matches */
    expect_error("{ transactions(ids: [\"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"]) { edges { node "
                 "{ block { nope } } } } }", NULL, "Cannot query field \"nope\" on type \"Block\"");
    expect_error("{ transactions(first: 0) { edges { node { tags { name nope } } } } }", NULL,
                 "on type \"Tag\"");
    expect_error("{ blocks(height: {min: 99999}) { edges { node { nope } } } }", NULL,
                 "on type \"Block\"");
    expect_error("{ transaction(id: \"x\") { bundledIn { nope } } }", NULL, "on type \"Bundle\"");
    expect_error("{ block(id: \"x\") { id nope } }", NULL, "on type \"Block\"");
    expect_error("{ nope }", NULL, "Cannot query field \"nope\" on type \"Query\"");
    expect_error("{ transactions(nope: 1) { edges { cursor } } }", NULL,
                 "Unknown argument \"nope\"");
    expect_error("{ transactions { edges { node { owner } } } }", NULL,
                 "must have a selection of subfields");
    expect_error("{ transactions { edges { node { id { x } } } } }", NULL,
                 "must not have a selection");
    expect_error("{ transactions }", NULL, "must have a selection of subfields");
    expect_error("{ transactions(first: \"ten\") { edges { cursor } } }", NULL, "\"first\"");
    expect_error("{ transactions(first: 1.5) { edges { cursor } } }", NULL, "\"first\"");
    expect_error("{ transactions(first: 99999999999) { edges { cursor } } }", NULL, "\"first\"");
    expect_error("{ transactions(first: -1) { edges { cursor } } }", NULL, "negative");
    expect_error("{ transactions(sort: SIDEWAYS) { edges { cursor } } }", NULL, "\"sort\"");
    expect_error("{ transactions(tags: [{name: \"a\", values: [\"b\"], op: NEQ}]) "
                 "{ edges { cursor } } }", NULL, "not supported");
    expect_error("{ transactions(tags: [{name: \"a\"}]) { edges { cursor } } }", NULL,
                 "needs \"name\"");
    expect_error("{ transactions(ids: [1, 2]) { edges { cursor } } }", NULL, "list of strings");
    expect_error("{ transactions(after: \"not a cursor!\") { edges { cursor } } }", NULL, "");
    expect_error("{ transactions(ids: $x) { edges { cursor } } }", NULL, "\"$x\" is not defined");
    expect_error("query Q($x: [ID!]!) { transactions(ids: $x) { edges { cursor } } }", NULL,
                 "was not provided");
    expect_error("{ transactions { edges { ...Nope } } }", NULL, "Unknown fragment");
    expect_error("{ transactions { edges { ...A } } } fragment A on TransactionEdge { ...B } "
                 "fragment B on TransactionEdge { ...A }", NULL, "nest too deeply");
    expect_error("{ transactions { edges { ... on Nope { cursor } } } }", NULL, "Unknown type");
    {
        /* fragments spreading the next one twice, down to a skipped field:
         * 2^30 visits unless every visit is counted */
        ao_buf q;
        ao_buf_init(&q);
        assert_int_equal(ao_buf_append_str(&q, "{ transactions { edges { ...F0 } } }"), AO_OK);
        for (int i = 0; i < 30; i++)
            assert_int_equal(ao_buf_printf(&q, " fragment F%d on TransactionEdge { ...F%d ...F%d }",
                                           i, i + 1, i + 1), AO_OK);
        assert_int_equal(ao_buf_append_str(&q, " fragment F30 on TransactionEdge "
                                           "{ cursor @skip(if: true) }"), AO_OK);
        assert_int_equal(ao_buf_append_byte(&q, 0), AO_OK);
        expect_error((const char *)q.data, NULL, "too large");
        ao_buf_free(&q);
    }
    expect_error("{ transactions { edges { cursor @deprecated } } }", NULL, "Unknown directive");
    expect_error("{ a: blocks { edges { cursor } } a: transactions { edges { cursor } } }", NULL,
                 "conflict");
    expect_error("mutation { transactions { edges { cursor } } }", NULL, "Only queries");
    expect_error("{ transactions { edges { cursor } ", NULL, "Syntax Error");
    expect_error("{ blocks(height: {min: 1, low: 2}) { edges { cursor } } }", NULL, "low");
    expect_error("{ transactions { edges { cursor } } }", "[1,2]", "Variables must be");
    expect_error("{ transactions { edges { cursor } } }", "{not json", "not valid JSON");
}

/* A pending block (interval weave): block is null, the item still listed. */
static void pending_block_is_null(void **state)
{
    (void)state;
    char dir[] = "/tmp/ao-gql-pending-XXXXXX";
    assert_non_null(mkdtemp(dir));
    weave_options o;
    weave_options_default(&o);
    o.block_interval_ms = 3600 * 1000;
    o.no_fsync = true;
    weave *w;
    assert_int_equal(weave_open(dir, &o, &w, NULL), AO_OK);
    ao_buf b;
    ao_buf_init(&b);
    char id[WEAVE_ID_MAX];
    const char *kv[] = { "A=b" };
    assert_int_equal(gx_item(F.alice, kv, 1, NULL, "p", &b, id), AO_OK);
    assert_int_equal(weave_put(w, b.data, b.len, 0, NULL, NULL), AO_OK);
    ao_buf_free(&b);
    char q[256];
    snprintf(q, sizeof q, "{ transactions(ids: [\"%s\"]) { edges { node { id block { id } } } } }",
             id);
    ao_buf out;
    ao_buf_init(&out);
    bool failed;
    assert_int_equal(weave_gql_execute(w, q, strlen(q), NULL, 0, NULL, &out, &failed, NULL),
                     AO_OK);
    assert_false(failed);
    assert_int_equal(ao_buf_append_byte(&out, 0), AO_OK);
    assert_non_null(strstr((char *)out.data, "\"block\":null"));
    assert_non_null(strstr((char *)out.data, id));
    ao_buf_free(&out);
    weave_close(w);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- every query quoted in PROTOCOL.md ---- */

/* How each snippet PROTOCOL.md quotes is sent by its client. Snippets that
 * are GraphQL as written run verbatim inside an operation declaring their
 * variables ("[..]" standing for a list variable); the two shorthand ones
 * of aos (§5) run in the form aos's src/services/gql.js sends. */
typedef struct {
    const char *snippet;     /* exactly as quoted */
    const char *decls;       /* variable definitions, NULL: use `query` */
    const char *query;       /* NULL: the snippet itself, wrapped */
    int min_rows;            /* edges expected at least (and found) */
} protocol_query;

static const protocol_query protocol_queries[] = {
    { "transactions(ids:[..]){edges{node{id signature anchor owner{address key} tags{name value} "
      "recipient}}}", "($ids: [ID!]!)", NULL, 1 },
    { "blocks(height:{min},first,sort:HEIGHT_ASC){pageInfo{hasNextPage} edges{node{timestamp "
      "height}}}", NULL,
      "query GetBlocks($min: Int!, $limit: Int!) { blocks(height: {min: $min}, first: $limit, "
      "sort: HEIGHT_ASC) { pageInfo { hasNextPage } edges { node { timestamp height } } } }", 3 },
    { "transactions(ids:[$ids], tags:[{name:\"Data-Protocol\",values:[\"ao\"]}]){edges{node{tags"
      "{name value}}}}", "($ids: ID!)", NULL, 1 },
    { "transactions(owners:[$owner], tags:[{name:\"Data-Protocol\",values:[\"ao\"]},{name:\"Type\","
      "values:[\"Scheduler-Location\"]}], sort:HEIGHT_DESC, first:1){edges{node{tags{name value}}}}",
      "GetSchedulerLocation($owner: String!)", NULL, 1 },
    { "transactions(ids:$transactionIds){edges{node{owner{address} tags{name value} block{id "
      "height timestamp}}}}", "($transactionIds: [ID!]!)", NULL, 1 },
    { "transactions(first:10, owners:$owners, tags:[{Data-Protocol:[ao]},{Type:[Process]},"
      "{Name:[name]}]){edges{node{id tags{name value}}}}", NULL,
      "query ($owners: [String!]!, $names: [String!]!) { transactions(first: 10, owners: $owners, "
      "tags: [{ name: \"Data-Protocol\", values: [\"ao\"] }, { name: \"Type\", values: "
      "[\"Process\"] }, { name: \"Name\", values: $names }]) { edges { node { id tags { name "
      "value } } } } }", 1 },
    { "transactions(tags:[Type=Module,Data-Protocol=ao,Name=$name],sort:HEIGHT_DESC,first:100)"
      "{edges{node{id tags block{timestamp}}}}", NULL,
      "query ($name: [String!]!) { transactions(tags: [{ name: \"Type\", values: [\"Module\"] }, "
      "{ name: \"Data-Protocol\", values: [\"ao\"] }, { name: \"Name\", values: $name }], sort: "
      "HEIGHT_DESC, first: 100) { edges { node { id tags { name value } block { timestamp } } } } "
      "}", 1 },
};

static void protocol_md_queries(void **state)
{
    (void)state;
    ao_buf md;
    ao_buf_init(&md);
    const char *md_path = vec_shared_path("PROTOCOL.md");
    if (!md_path || ao_file_read(md_path, &md, NULL) != AO_OK)
        fail_msg("cannot read PROTOCOL.md from the shared folder (AO_SHARED)");
    assert_int_equal(ao_buf_append_byte(&md, 0), AO_OK);
    char vars[512];
    snprintf(vars, sizeof vars,
             "{\"ids\":[\"%s\"],\"min\":1,\"limit\":3,\"owner\":\"%s\",\"transactionIds\":[\"%s\"],"
             "\"owners\":[\"%s\"],\"names\":[\"my-proc\"],\"name\":[\"aos-module\"]}",
             F.msg, F.su_addr, F.module, F.alice_addr);
    char ids_var[64];
    snprintf(ids_var, sizeof ids_var, "{\"ids\":\"%s\"}", F.process);
    size_t found = 0;
    bool used[sizeof protocol_queries / sizeof protocol_queries[0]] = { false };
    /* inline code spans, line by line, outside fenced blocks */
    for (char *line = (char *)md.data; line && *line;) {
        char *eol = strchr(line, '\n');
        if (eol)
            *eol = 0;
        if (strncmp(line, "```", 3) != 0) {
            char *p = line;
            for (;;) {
                char *a = strchr(p, '`');
                char *b = a ? strchr(a + 1, '`') : NULL;
                if (!b)
                    break;
                *b = 0;
                const char *snip = a + 1;
                if (strstr(snip, "transactions(") || strstr(snip, "blocks(")) {
                    found++;
                    size_t k = 0;
                    while (k < sizeof protocol_queries / sizeof protocol_queries[0] &&
                           strcmp(protocol_queries[k].snippet, snip))
                        k++;
                    if (k == sizeof protocol_queries / sizeof protocol_queries[0])
                        fail_msg("PROTOCOL.md quotes a query this test does not know: %s", snip);
                    used[k] = true;
                    const protocol_query *pq = &protocol_queries[k];
                    char q[1024];
                    if (pq->query) {
                        snprintf(q, sizeof q, "%s", pq->query);
                    } else {
                        /* verbatim, "[..]" read as the list variable $ids */
                        char body[600];
                        const char *dots = strstr(snip, "[..]");
                        if (dots)
                            snprintf(body, sizeof body, "%.*s$ids%s", (int)(dots - snip), snip,
                                     dots + 4);
                        else
                            snprintf(body, sizeof body, "%s", snip);
                        snprintf(q, sizeof q, "query %s { %s }", pq->decls, body);
                    }
                    bool list_ids = pq->decls && strstr(pq->decls, "$ids: ID!") != NULL;
                    cJSON *j = run(q, list_ids ? ids_var : vars, NULL, false);
                    cJSON *conn = path(j, strstr(q, "blocks(") ? "data.blocks.edges"
                                                                : "data.transactions.edges");
                    if (cJSON_GetArraySize(conn) < pq->min_rows)
                        fail_msg("%s: %d rows, want >= %d", snip, cJSON_GetArraySize(conn),
                                 pq->min_rows);
                    cJSON_Delete(j);
                }
                p = b + 1;
            }
        }
        line = eol ? eol + 1 : NULL;
    }
    ao_buf_free(&md);
    assert_true(found >= sizeof protocol_queries / sizeof protocol_queries[0]);
    for (size_t k = 0; k < sizeof used / sizeof used[0]; k++)
        if (!used[k])
            fail_msg("query %zu of this test is no longer quoted in PROTOCOL.md", k);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(su_cu_ids_query),
        cmocka_unit_test(scheduler_utils_locate),
        cmocka_unit_test(scheduler_location_latest),
        cmocka_unit_test(aoconnect_module_check),
        cmocka_unit_test(aos_process_lookup),
        cmocka_unit_test(aos_module_by_name),
        cmocka_unit_test(cu_blocks_query),
        cmocka_unit_test(protocol_md_queries),
        cmocka_unit_test(order_and_aliases),
        cmocka_unit_test(fragments_typename_directives),
        cmocka_unit_test(paging_with_cursors),
        cmocka_unit_test(first_is_capped),
        cmocka_unit_test(bundles_and_recipients),
        cmocka_unit_test(single_transaction_and_block),
        cmocka_unit_test(operation_name_selects),
        cmocka_unit_test(errors_are_graphql_objects),
        cmocka_unit_test(pending_block_is_null),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
