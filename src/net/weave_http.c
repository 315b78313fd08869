/*
 * weave_http.c - net_weave_client_http: the weave_client table over a
 * remote Arweave-compatible gateway. Queries and metadata go through
 * POST /graphql (transactions / blocks, built from the weave filters),
 * data through GET /raw/{id}, raw items through GET /item/{id} (this
 * node's gateway). A gateway without those routes (an Arweave gateway such
 * as arlocal, holding what the mirror wrote) is read through GraphQL: an
 * item in a bundle (bundledIn) is cut out of GET /{bundle} (a few bundles
 * are cached), else it is rebuilt from its GraphQL fields and GET /{id},
 * else (a gateway that keeps neither bundledIn nor anchors: arlocal) it is
 * cut out of the bundle found by scanning the gateway's bundles (their
 * item ids are remembered); always verified. Puts go through POST /tx, the chain head GET /info
 * and Scheduler-Location records through the GetSchedulerLocation query of
 * PROTOCOL.md §5.
 *
 * What GraphQL cannot carry is left empty in the metadata: seq, data_offset,
 * raw_size and stored_at_ms are 0; sig_type is derived from the owner key
 * length (only with WEAVE_META_KEYS); block timestamps have second
 * precision; a pending item has height -1; block tx_count is 0.
 */
#include "net/net.h"
#include "net/net_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cJSON.h>

#include "item/item.h"
#include "weave/gql.h"

#define WH_BUNDLES 4   /* bundles kept after a read through GraphQL bundledIn */

/* item id -> id of the bundle holding it, learnt by scanning bundles */
typedef struct wh_where {
    char item[WEAVE_ID_MAX];
    char bundle[WEAVE_ID_MAX];
} wh_where;

typedef struct wh {
    char *url;      /* no trailing '/' */
    pthread_mutex_t mu;              /* guards the bundle cache and index */
    struct { char id[WEAVE_ID_MAX]; ao_buf raw; uint64_t used; } bundles[WH_BUNDLES];
    uint64_t tick;
    wh_where *where;                 /* open addressing, cap a power of 2 */
    size_t nwhere, capwhere;
    char scan_after[WEAVE_CURSOR_MAX];   /* bundles scanned up to here */
} wh;

/* ---- GraphQL plumbing ---- */

static int gql_str(ao_buf *b, const char *s)
{
    return weave_gql_json_string(b, s, strlen(s));
}

static int gql_str_list(ao_buf *b, const char *const *v, size_t n)
{
    int e = ao_buf_append_byte(b, '[');
    for (size_t i = 0; i < n && !e; i++) {
        if (i)
            e = ao_buf_append_byte(b, ',');
        e = e ? e : gql_str(b, v[i]);
    }
    return e ? e : ao_buf_append_byte(b, ']');
}

/* POST {query, variables} to /graphql; *data gets the parsed "data"
 * object (owned by *root). GraphQL errors -> AO_EINVAL with the message. */
static int gql_post(wh *h, const char *query, const char *variables_json, cJSON **root,
                    cJSON **data, ao_error *err)
{
    *root = NULL;
    *data = NULL;
    ao_buf body;
    ao_buf_init(&body);
    int e = ao_buf_append_str(&body, "{\"query\":");
    e = e ? e : gql_str(&body, query);
    if (variables_json)
        e = e ? e : ao_buf_printf(&body, ",\"variables\":%s", variables_json);
    e = e ? e : ao_buf_append_byte(&body, '}');
    ao_buf url;
    ao_buf_init(&url);
    e = e ? e : ao_buf_printf(&url, "%s/graphql", h->url);
    e = e ? e : ao_buf_append_byte(&url, 0);
    if (e) {
        ao_buf_free(&body);
        ao_buf_free(&url);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    net_http_answer a;
    net_http_answer_init(&a);
    int rc = net_http_request("POST", (const char *)url.data, body.data, body.len,
                              "application/json", NULL, 0, &a, err);
    ao_buf_free(&body);
    ao_buf_free(&url);
    if (rc) {
        net_http_answer_free(&a);
        return rc;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)a.body.data, a.body.len);
    if (!j) {
        rc = a.status >= 200 && a.status < 300
                 ? ao_err_set(err, AO_EIO, "graphql: the gateway answered no JSON")
                 : net_http_code(&a, "graphql", err);
        net_http_answer_free(&a);
        return rc ? rc : AO_EIO;
    }
    cJSON *errs = cJSON_GetObjectItemCaseSensitive(j, "errors");
    if (cJSON_IsArray(errs) && cJSON_GetArraySize(errs) > 0) {
        cJSON *m = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(errs, 0), "message");
        rc = ao_err_set(err, a.status >= 500 ? AO_EIO : AO_EINVAL, "graphql: %s",
                        cJSON_IsString(m) ? m->valuestring : "error");
        cJSON_Delete(j);
        net_http_answer_free(&a);
        return rc;
    }
    if (a.status < 200 || a.status >= 300) {
        rc = net_http_code(&a, "graphql", err);
        cJSON_Delete(j);
        net_http_answer_free(&a);
        return rc;
    }
    net_http_answer_free(&a);
    cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (!cJSON_IsObject(d)) {
        cJSON_Delete(j);
        return ao_err_set(err, AO_EIO, "graphql: answer without data");
    }
    *root = j;
    *data = d;
    return AO_OK;
}

static const char *jstr(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int copy_fixed(char *dst, size_t cap, const char *s)
{
    if (!s)
        s = "";
    if (strlen(s) >= cap)
        return AO_EFORMAT;
    memcpy(dst, s, strlen(s) + 1);
    return AO_OK;
}

static unsigned sig_type_of_key(const char *key)
{
    if (!key)
        return 0;
    size_t n = strlen(key) * 3 / 4;
    switch (n) {
    case 512: return ITEM_SIG_ARWEAVE;
    case 32: return ITEM_SIG_ED25519;
    case 65: return ITEM_SIG_ETHEREUM;
    case 42: return ITEM_SIG_TYPED_ETHEREUM;
    case 1025: return ITEM_SIG_MULTI_APTOS;
    default: return 0;
    }
}

/* Fill m from a GraphQL Transaction node (and its edge's cursor). */
static int meta_from_node(const cJSON *node, const char *cursor, unsigned fields,
                          weave_item_meta *m, ao_error *err)
{
    memset(m, 0, sizeof *m);
    m->height = -1;
    const cJSON *owner = cJSON_GetObjectItemCaseSensitive(node, "owner");
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(node, "data");
    const cJSON *blk = cJSON_GetObjectItemCaseSensitive(node, "block");
    const cJSON *bin = cJSON_GetObjectItemCaseSensitive(node, "bundledIn");
    const cJSON *tags = cJSON_GetObjectItemCaseSensitive(node, "tags");
    if (copy_fixed(m->id, sizeof m->id, jstr(node, "id")) || !m->id[0] ||
        copy_fixed(m->owner_address, sizeof m->owner_address, jstr(owner, "address")) ||
        copy_fixed(m->target, sizeof m->target, jstr(node, "recipient")) ||
        copy_fixed(m->anchor, sizeof m->anchor, jstr(node, "anchor")) ||
        copy_fixed(m->cursor, sizeof m->cursor, cursor) || !cJSON_IsArray(tags))
        return ao_err_set(err, AO_EIO, "graphql: malformed transaction in the answer");
    if (fields & WEAVE_META_KEYS) {
        const char *k = jstr(owner, "key"), *s = jstr(node, "signature");
        m->owner_key = strdup(k ? k : "");
        m->signature = strdup(s ? s : "");
        if (!m->owner_key || !m->signature)
            goto oom;
        m->sig_type = sig_type_of_key(k);
    }
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(data, "size");
    if (cJSON_IsString(size))
        m->data_size = strtoull(size->valuestring, NULL, 10);
    size_t nt = (size_t)cJSON_GetArraySize(tags);
    if (nt) {
        m->tags = calloc(nt, sizeof *m->tags);
        if (!m->tags)
            goto oom;
    }
    const cJSON *t;
    cJSON_ArrayForEach(t, tags) {
        const char *n = jstr(t, "name"), *v = jstr(t, "value");
        if (!n || !v) {
            weave_meta_free(m);
            return ao_err_set(err, AO_EIO, "graphql: malformed tag in the answer");
        }
        weave_tag *wt = &m->tags[m->ntags];
        wt->name = strdup(n);
        wt->value = strdup(v);
        if (!wt->name || !wt->value) {
            free(wt->name);
            free(wt->value);
            goto oom;
        }
        wt->name_len = strlen(n);
        wt->value_len = strlen(v);
        m->ntags++;
        if (!m->content_type && wt->name_len == 12 && !memcmp(n, "Content-Type", 12)) {
            m->content_type = strdup(v);
            if (!m->content_type)
                goto oom;
        }
    }
    if (cJSON_IsObject(blk)) {
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(blk, "height");
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(blk, "timestamp");
        m->block_sealed = true;
        m->height = cJSON_IsNumber(h) ? (int64_t)h->valuedouble : -1;
        m->block_timestamp_ms = cJSON_IsNumber(ts) ? (int64_t)ts->valuedouble * 1000 : 0;
        if (copy_fixed(m->block_id, sizeof m->block_id, jstr(blk, "id"))) {
            weave_meta_free(m);
            return ao_err_set(err, AO_EIO, "graphql: malformed block in the answer");
        }
    }
    if (cJSON_IsObject(bin) &&
        copy_fixed(m->bundled_in, sizeof m->bundled_in, jstr(bin, "id"))) {
        weave_meta_free(m);
        return ao_err_set(err, AO_EIO, "graphql: malformed bundledIn in the answer");
    }
    return AO_OK;
oom:
    weave_meta_free(m);
    return ao_err_set(err, AO_ENOMEM, "out of memory");
}

#define TX_NODE_FIELDS(keys)                                                          \
    ((keys) ? "id anchor recipient signature owner{address key} tags{name value} "    \
              "data{size type} block{id height timestamp} bundledIn{id}"               \
            : "id anchor recipient owner{address} tags{name value} data{size type} "  \
              "block{id height timestamp} bundledIn{id}")

static int wh_query_tx(void *ctx, const weave_tx_filter *f, weave_tx_page *out, ao_error *err)
{
    wh *h = ctx;
    memset(out, 0, sizeof *out);
    ao_buf q;
    ao_buf_init(&q);
    int e = ao_buf_append_str(&q, "query{transactions(");
    if (f->nids)
        e = e ? e : ao_buf_append_str(&q, "ids:");
    if (f->nids)
        e = e ? e : gql_str_list(&q, f->ids, f->nids);
    if (f->nowners)
        e = e ? e : ao_buf_append_str(&q, " owners:");
    if (f->nowners)
        e = e ? e : gql_str_list(&q, f->owners, f->nowners);
    if (f->nrecipients)
        e = e ? e : ao_buf_append_str(&q, " recipients:");
    if (f->nrecipients)
        e = e ? e : gql_str_list(&q, f->recipients, f->nrecipients);
    if (f->nbundled_in)
        e = e ? e : ao_buf_append_str(&q, " bundledIn:");
    if (f->nbundled_in)
        e = e ? e : gql_str_list(&q, f->bundled_in, f->nbundled_in);
    if (f->ntags) {
        e = e ? e : ao_buf_append_str(&q, " tags:[");
        for (size_t i = 0; i < f->ntags && !e; i++) {
            e = ao_buf_append_str(&q, i ? ",{name:" : "{name:");
            e = e ? e : gql_str(&q, f->tags[i].name);
            e = e ? e : ao_buf_append_str(&q, ",values:");
            e = e ? e : gql_str_list(&q, f->tags[i].values, f->tags[i].nvalues);
            e = e ? e : ao_buf_append_byte(&q, '}');
        }
        e = e ? e : ao_buf_append_byte(&q, ']');
    }
    if (f->height_min >= 0 || f->height_max >= 0) {
        e = e ? e : ao_buf_append_str(&q, " block:{");
        if (f->height_min >= 0)
            e = e ? e : ao_buf_printf(&q, "min:%lld ", (long long)f->height_min);
        if (f->height_max >= 0)
            e = e ? e : ao_buf_printf(&q, "max:%lld", (long long)f->height_max);
        e = e ? e : ao_buf_append_byte(&q, '}');
    }
    size_t first = f->first ? f->first : 10;
    if (first > WEAVE_PAGE_MAX)
        first = WEAVE_PAGE_MAX;
    e = e ? e : ao_buf_printf(&q, " first:%zu sort:%s", first,
                              f->sort == WEAVE_HEIGHT_ASC ? "HEIGHT_ASC" : "HEIGHT_DESC");
    if (f->after) {
        e = e ? e : ao_buf_append_str(&q, " after:");
        e = e ? e : gql_str(&q, f->after);
    }
    e = e ? e : ao_buf_printf(&q, "){pageInfo{hasNextPage} edges{cursor node{%s}}}}",
                              TX_NODE_FIELDS(f->fields & WEAVE_META_KEYS));
    e = e ? e : ao_buf_append_byte(&q, 0);
    if (e) {
        ao_buf_free(&q);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    cJSON *root, *data;
    int rc = gql_post(h, (const char *)q.data, NULL, &root, &data, err);
    ao_buf_free(&q);
    if (rc)
        return rc;
    cJSON *conn = cJSON_GetObjectItemCaseSensitive(data, "transactions");
    cJSON *pi = cJSON_GetObjectItemCaseSensitive(conn, "pageInfo");
    cJSON *edges = cJSON_GetObjectItemCaseSensitive(conn, "edges");
    if (!cJSON_IsArray(edges)) {
        cJSON_Delete(root);
        return ao_err_set(err, AO_EIO, "graphql: answer without transactions.edges");
    }
    out->has_next_page = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pi, "hasNextPage"));
    size_t n = (size_t)cJSON_GetArraySize(edges);
    if (n) {
        out->rows = calloc(n, sizeof *out->rows);
        if (!out->rows) {
            cJSON_Delete(root);
            return ao_err_set(err, AO_ENOMEM, "out of memory");
        }
    }
    const cJSON *edge;
    cJSON_ArrayForEach(edge, edges) {
        rc = meta_from_node(cJSON_GetObjectItemCaseSensitive(edge, "node"), jstr(edge, "cursor"),
                            f->fields, &out->rows[out->n], err);
        if (rc) {
            weave_tx_page_free(out);
            cJSON_Delete(root);
            return rc;
        }
        out->n++;
    }
    cJSON_Delete(root);
    return AO_OK;
}

/* Metadata of one item as the gateway's GraphQL has it. */
static int gql_get_meta(void *ctx, const char *id, unsigned fields, weave_item_meta *out,
                        ao_error *err)
{
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    const char *ids[1] = { id };
    f.ids = ids;
    f.nids = 1;
    f.first = 1;
    f.fields = fields;
    weave_tx_page p;
    int rc = wh_query_tx(ctx, &f, &p, err);
    if (rc)
        return rc;
    if (p.n == 0) {
        weave_tx_page_free(&p);
        memset(out, 0, sizeof *out);
        return ao_err_set(err, AO_ENOTFOUND, "no item %.64s on the gateway", id);
    }
    *out = p.rows[0];
    memset(&p.rows[0], 0, sizeof p.rows[0]);
    weave_tx_page_free(&p);
    return AO_OK;
}

static int wh_query_blocks(void *ctx, const weave_block_filter *f, weave_block_page *out,
                           ao_error *err)
{
    wh *h = ctx;
    memset(out, 0, sizeof *out);
    ao_buf q;
    ao_buf_init(&q);
    int e = ao_buf_append_str(&q, "query{blocks(");
    if (f->nids)
        e = e ? e : ao_buf_append_str(&q, "ids:");
    if (f->nids)
        e = e ? e : gql_str_list(&q, f->ids, f->nids);
    if (f->height_min >= 0 || f->height_max >= 0) {
        e = e ? e : ao_buf_append_str(&q, " height:{");
        if (f->height_min >= 0)
            e = e ? e : ao_buf_printf(&q, "min:%lld ", (long long)f->height_min);
        if (f->height_max >= 0)
            e = e ? e : ao_buf_printf(&q, "max:%lld", (long long)f->height_max);
        e = e ? e : ao_buf_append_byte(&q, '}');
    }
    size_t first = f->first ? f->first : 10;
    if (first > WEAVE_PAGE_MAX)
        first = WEAVE_PAGE_MAX;
    e = e ? e : ao_buf_printf(&q, " first:%zu sort:%s", first,
                              f->sort == WEAVE_HEIGHT_ASC ? "HEIGHT_ASC" : "HEIGHT_DESC");
    if (f->after) {
        e = e ? e : ao_buf_append_str(&q, " after:");
        e = e ? e : gql_str(&q, f->after);
    }
    e = e ? e : ao_buf_append_str(&q, "){pageInfo{hasNextPage} edges{cursor node{id height "
                                      "timestamp previous}}}}");
    e = e ? e : ao_buf_append_byte(&q, 0);
    if (e) {
        ao_buf_free(&q);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    cJSON *root, *data;
    int rc = gql_post(h, (const char *)q.data, NULL, &root, &data, err);
    ao_buf_free(&q);
    if (rc)
        return rc;
    cJSON *conn = cJSON_GetObjectItemCaseSensitive(data, "blocks");
    cJSON *pi = cJSON_GetObjectItemCaseSensitive(conn, "pageInfo");
    cJSON *edges = cJSON_GetObjectItemCaseSensitive(conn, "edges");
    if (!cJSON_IsArray(edges)) {
        cJSON_Delete(root);
        return ao_err_set(err, AO_EIO, "graphql: answer without blocks.edges");
    }
    out->has_next_page = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(pi, "hasNextPage"));
    size_t n = (size_t)cJSON_GetArraySize(edges);
    if (n) {
        out->rows = calloc(n, sizeof *out->rows);
        if (!out->rows) {
            cJSON_Delete(root);
            return ao_err_set(err, AO_ENOMEM, "out of memory");
        }
    }
    const cJSON *edge;
    cJSON_ArrayForEach(edge, edges) {
        const cJSON *node = cJSON_GetObjectItemCaseSensitive(edge, "node");
        weave_block *b = &out->rows[out->n];
        const cJSON *hh = cJSON_GetObjectItemCaseSensitive(node, "height");
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(node, "timestamp");
        if (!cJSON_IsNumber(hh) || !cJSON_IsNumber(ts) ||
            copy_fixed(b->id, sizeof b->id, jstr(node, "id")) ||
            copy_fixed(b->previous, sizeof b->previous, jstr(node, "previous")) ||
            copy_fixed(b->cursor, sizeof b->cursor, jstr(edge, "cursor"))) {
            weave_block_page_free(out);
            cJSON_Delete(root);
            return ao_err_set(err, AO_EIO, "graphql: malformed block in the answer");
        }
        b->height = (int64_t)hh->valuedouble;
        b->timestamp_ms = (int64_t)ts->valuedouble * 1000;
        out->n++;
    }
    cJSON_Delete(root);
    return AO_OK;
}

/* ---- REST routes ---- */

static int wh_get_url(wh *h, const char *path, const char *id, ao_buf *out, ao_error *err)
{
    if (!net_is_id(id, strlen(id)))
        return ao_err_set(err, AO_EINVAL, "not an item id: %.64s", id);
    char url[WEAVE_URL_MAX + 64];
    snprintf(url, sizeof url, "%s%s%s", h->url, path, id);
    net_http_answer a;
    net_http_answer_init(&a);
    int rc = net_http_request("GET", url, NULL, 0, NULL, NULL, 0, &a, err);
    if (!rc)
        rc = net_http_code(&a, path, err);
    if (!rc && ao_buf_append(out, a.body.data, a.body.len))
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    net_http_answer_free(&a);
    return rc;
}

/* The bytes of bundle `bid` (GET /{bid}: the data of the L1 transaction or
 * bundle item), from the cache or fetched and cached. Called with h->mu
 * held; *raw points into the cache until the lock is released. */
static int bundle_bytes(wh *h, const char *bid, const ao_buf **raw, ao_error *err)
{
    size_t victim = 0;
    for (size_t i = 0; i < WH_BUNDLES; i++) {
        if (strcmp(h->bundles[i].id, bid) == 0) {
            h->bundles[i].used = ++h->tick;
            *raw = &h->bundles[i].raw;
            return AO_OK;
        }
        if (h->bundles[i].used < h->bundles[victim].used)
            victim = i;
    }
    ao_buf *b = &h->bundles[victim].raw;
    ao_buf_reset(b);
    h->bundles[victim].id[0] = 0;
    int rc = wh_get_url(h, "/", bid, b, err);
    if (rc)
        return rc;
    snprintf(h->bundles[victim].id, WEAVE_ID_MAX, "%s", bid);
    h->bundles[victim].used = ++h->tick;
    *raw = b;
    return AO_OK;
}

/* Decode b64url s into out (exactly want bytes unless want is 0). */
static bool b64_exact(const char *s, size_t want, ao_buf *out)
{
    ao_buf_reset(out);
    return s && ao_b64url_decode(s, strlen(s), out, NULL) == AO_OK && (!want || out->len == want);
}

/* The item rebuilt from what the gateway tells of it: signature, owner,
 * target, anchor and tags from GraphQL, data from GET /{id}; encoded
 * again and verified, so only the signed bytes can come out. (Tags are
 * encoded canonically, as this project and arbundles write them.) */
static int rebuild_item(wh *h, const char *id, const weave_item_meta *m, ao_buf *out,
                        ao_error *err)
{
    ao_buf sig, owner, target, anchor, data;
    ao_buf_init(&sig);
    ao_buf_init(&owner);
    ao_buf_init(&target);
    ao_buf_init(&anchor);
    ao_buf_init(&data);
    item_tag *tags = m->ntags ? calloc(m->ntags, sizeof *tags) : NULL;
    item *it = malloc(sizeof *it);
    int rc = AO_OK;
    if ((m->ntags && !tags) || !it)
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    if (!rc && (!m->sig_type || !b64_exact(m->signature, 0, &sig) ||
                !b64_exact(m->owner_key, 0, &owner) ||
                (m->target[0] && !b64_exact(m->target, 32, &target))))
        rc = ao_err_set(err, AO_EIO, "%s: the gateway's signature, owner or target is unusable",
                        id);
    const uint8_t *anchor_p = NULL;
    if (!rc && m->anchor[0]) {   /* b64url of 32 bytes, or the 32 bytes as text */
        if (b64_exact(m->anchor, 32, &anchor))
            anchor_p = anchor.data;
        else if (strlen(m->anchor) == 32)
            anchor_p = (const uint8_t *)m->anchor;
        else
            rc = ao_err_set(err, AO_EIO, "%s: the gateway's anchor is unusable", id);
    }
    for (size_t i = 0; i < m->ntags && !rc; i++)
        tags[i] = (item_tag){ (const uint8_t *)m->tags[i].name, m->tags[i].name_len,
                              (const uint8_t *)m->tags[i].value, m->tags[i].value_len };
    if (!rc)
        rc = wh_get_url(h, "/", id, &data, err);
    size_t start = out->len;
    if (!rc) {
        item_fields f = { m->target[0] ? target.data : NULL, anchor_p, tags, m->ntags,
                          data.data, data.len };
        rc = item_encode(m->sig_type, sig.data, sig.len, owner.data, owner.len, &f, out, err);
    }
    if (!rc && (rc = item_verify(out->data + start, out->len - start, it, err)) != AO_OK)
        ao_err_wrap(err, "%s rebuilt from the gateway", id);
    if (!rc) {
        char got[WEAVE_ID_MAX];
        item_id_b64(it, got);
        if (strcmp(got, id) != 0)
            rc = ao_err_set(err, AO_EVERIFY, "%s: the gateway answered item %s", id, got);
    }
    if (rc)
        out->len = start;
    free(it);
    free(tags);
    ao_buf_free(&sig);
    ao_buf_free(&owner);
    ao_buf_free(&target);
    ao_buf_free(&anchor);
    ao_buf_free(&data);
    return rc;
}

/* The item cut out of bundle bid (cached) and verified. */
static int item_from_bundle(wh *h, const char *id, const char *bid, ao_buf *out, ao_error *err)
{
    pthread_mutex_lock(&h->mu);
    const ao_buf *raw;
    int rc = bundle_bytes(h, bid, &raw, err);
    item_bundle b = { 0, NULL };
    if (!rc)
        rc = item_bundle_parse(raw->data, raw->len, &b, err);
    ao_buf want;
    ao_buf_init(&want);
    if (!rc && !b64_exact(id, ITEM_ID_LEN, &want))
        rc = ao_err_set(err, AO_EINVAL, "not an item id: %.64s", id);
    size_t k = b.count;
    for (size_t i = 0; i < b.count && !rc; i++)
        if (memcmp(b.entries[i].header_id, want.data, ITEM_ID_LEN) == 0) {
            k = i;
            break;
        }
    if (!rc && k == b.count)
        rc = ao_err_set(err, AO_EIO, "%s: not inside its bundle %s", id, bid);
    item *it = NULL;
    if (!rc && !(it = malloc(sizeof *it)))
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    if (!rc && (rc = item_verify(b.entries[k].raw, b.entries[k].len, it, err)) == AO_OK) {
        uint8_t got[ITEM_ID_LEN];
        item_id(it, got);
        if (memcmp(got, want.data, ITEM_ID_LEN) != 0)
            rc = ao_err_set(err, AO_EVERIFY, "%s: the bundle's item has another id", id);
    }
    if (!rc && ao_buf_append(out, b.entries[k].raw, b.entries[k].len))
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    free(it);
    ao_buf_free(&want);
    item_bundle_free(&b);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

static uint64_t id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ull;
    for (; *id; id++)
        h = (h ^ (uint8_t)*id) * 1099511628211ull;
    return h;
}

/* The slot of item (found, or the empty one where it goes). h->mu held. */
static wh_where *where_slot(wh *h, const char *item)
{
    size_t mask = h->capwhere - 1;
    for (size_t i = id_hash(item) & mask;; i = (i + 1) & mask)
        if (!h->where[i].item[0] || !strcmp(h->where[i].item, item))
            return &h->where[i];
}

static int where_add(wh *h, const char *item, const char *bundle)
{
    if (2 * (h->nwhere + 1) > h->capwhere) {   /* keep at most half full */
        size_t cap = h->capwhere ? h->capwhere * 2 : 1024;
        wh_where *old = h->where;
        size_t oldcap = h->capwhere;
        if (!(h->where = calloc(cap, sizeof *h->where))) {
            h->where = old;
            return AO_ENOMEM;
        }
        h->capwhere = cap;
        for (size_t i = 0; i < oldcap; i++)
            if (old[i].item[0])
                *where_slot(h, old[i].item) = old[i];
        free(old);
    }
    wh_where *w = where_slot(h, item);
    if (!w->item[0])
        h->nwhere++;
    snprintf(w->item, sizeof w->item, "%s", item);
    snprintf(w->bundle, sizeof w->bundle, "%s", bundle);
    return AO_OK;
}

/* Find the bundle holding `id` among the ANS-104 bundles the gateway has
 * (L1 transactions tagged Bundle-Format=binary, Bundle-Version=2.0.0),
 * scanning those not seen yet, oldest first, and learning every item id
 * they hold. For gateways that keep no bundledIn (arlocal). h->mu held. */
static int find_bundle(wh *h, const char *id, char bid[WEAVE_ID_MAX], ao_error *err)
{
    static const char *const fmt[] = { "binary" }, *const ver[] = { "2.0.0" };
    weave_tag_filter tf[2] = { { "Bundle-Format", fmt, 1 }, { "Bundle-Version", ver, 1 } };
    for (;;) {
        if (h->capwhere) {
            wh_where *w = where_slot(h, id);
            if (w->item[0]) {
                memcpy(bid, w->bundle, WEAVE_ID_MAX);
                return AO_OK;
            }
        }
        weave_tx_filter f;
        weave_tx_filter_init(&f);
        f.tags = tf;
        f.ntags = 2;
        f.first = 100;
        f.sort = WEAVE_HEIGHT_ASC;
        f.after = h->scan_after[0] ? h->scan_after : NULL;
        weave_tx_page pg;
        int rc = wh_query_tx(h, &f, &pg, err);
        if (rc)
            return rc;
        for (size_t i = 0; i < pg.n && !rc; i++) {
            const ao_buf *raw;
            item_bundle b = { 0, NULL };
            rc = bundle_bytes(h, pg.rows[i].id, &raw, err);
            if (!rc && item_bundle_parse(raw->data, raw->len, &b, NULL) == AO_OK)
                for (size_t k = 0; k < b.count && !rc; k++) {
                    char iid[WEAVE_ID_MAX];
                    ao_b64url_encode_to(b.entries[k].header_id, ITEM_ID_LEN, iid);
                    if (where_add(h, iid, pg.rows[i].id))
                        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
                }
            item_bundle_free(&b);
            if (!rc)
                snprintf(h->scan_after, sizeof h->scan_after, "%s", pg.rows[i].cursor);
        }
        bool more = pg.has_next_page && pg.n > 0;
        weave_tx_page_free(&pg);
        if (rc)
            return rc;
        if (!more) {
            wh_where *w = h->capwhere ? where_slot(h, id) : NULL;
            if (w && w->item[0]) {
                memcpy(bid, w->bundle, WEAVE_ID_MAX);
                return AO_OK;
            }
            return ao_err_set(err, AO_ENOTFOUND, "%s: in none of the gateway's bundles", id);
        }
    }
}

/* find_bundle under the client's lock. */
static int locate_bundle(wh *h, const char *id, char bid[WEAVE_ID_MAX], ao_error *err)
{
    pthread_mutex_lock(&h->mu);
    int rc = find_bundle(h, id, bid, err);
    pthread_mutex_unlock(&h->mu);
    return rc;
}

/* An item of a gateway without an /item route (an Arweave gateway such as
 * arlocal, holding what the mirror wrote): cut out of its bundle when
 * GraphQL names one (bundledIn); else rebuilt from its GraphQL fields and
 * data, and if that does not verify (arlocal keeps no anchors) cut out of
 * the bundle found by scanning the gateway's bundles. Always verified. */
static int wh_get_arweave(wh *h, const char *id, ao_buf *out, ao_error *err)
{
    weave_item_meta m;
    int rc = gql_get_meta(h, id, WEAVE_META_KEYS, &m, err);
    if (rc == AO_ENOTFOUND) {   /* not indexed (yet): look inside the bundles */
        char bid[WEAVE_ID_MAX];
        rc = locate_bundle(h, id, bid, err);
        return rc ? rc : item_from_bundle(h, id, bid, out, err);
    }
    if (rc)
        return rc;
    char bid[WEAVE_ID_MAX];
    memcpy(bid, m.bundled_in, sizeof bid);
    if (!bid[0]) {
        ao_error e2;
        rc = rebuild_item(h, id, &m, out, &e2);
        if (rc && rc != AO_ENOMEM) {
            rc = locate_bundle(h, id, bid, err);
            if (rc == AO_ENOTFOUND)
                ao_err_wrap(err, "rebuilt from GraphQL: %s", e2.msg);
        } else if (rc) {
            *err = e2;
        }
    }
    weave_meta_free(&m);
    if (bid[0] && !rc)
        rc = item_from_bundle(h, id, bid, out, err);
    return rc;
}

/* Metadata read off a raw item found in bundle bid (no block: height -1). */
static int meta_from_item(const uint8_t *raw, size_t len, const char *bid, unsigned fields,
                          weave_item_meta *m, ao_error *err)
{
    memset(m, 0, sizeof *m);
    m->height = -1;
    item *it = malloc(sizeof *it);
    int rc = it ? item_decode(raw, len, it, err) : ao_err_set(err, AO_ENOMEM, "out of memory");
    if (rc) {
        free(it);
        return rc;
    }
    item_id_b64(it, m->id);
    m->sig_type = it->sig_type;
    item_owner_address(it, m->owner_address);
    if (it->target)
        ao_b64url_encode_to(it->target, 32, m->target);
    if (it->anchor)
        ao_b64url_encode_to(it->anchor, 32, m->anchor);
    snprintf(m->bundled_in, sizeof m->bundled_in, "%s", bid);
    m->data_offset = (uint64_t)(it->data - raw);
    m->data_size = it->data_len;
    m->raw_size = len;
    if ((fields & WEAVE_META_KEYS) &&
        (!(m->owner_key = ao_b64url_encode(it->owner, it->owner_len)) ||
         !(m->signature = ao_b64url_encode(it->sig, it->sig_len))))
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    if (!rc && it->ntags && !(m->tags = calloc(it->ntags, sizeof *m->tags)))
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    for (size_t i = 0; i < it->ntags && !rc; i++) {
        weave_tag *t = &m->tags[m->ntags];
        t->name = strndup((const char *)it->tags[i].name, it->tags[i].name_len);
        t->value = strndup((const char *)it->tags[i].value, it->tags[i].value_len);
        t->name_len = it->tags[i].name_len;
        t->value_len = it->tags[i].value_len;
        m->ntags++;
        if (!t->name || !t->value)
            rc = ao_err_set(err, AO_ENOMEM, "out of memory");
        else if (!m->content_type && !strcmp(t->name, "Content-Type") &&
                 !(m->content_type = strdup(t->value)))
            rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    free(it);
    if (rc)
        weave_meta_free(m);
    return rc;
}

/* Metadata: from GraphQL, else (an item the gateway has not indexed: arlocal
 * leaves some bundles' items out) read off the item in its bundle. */
static int wh_get_meta(void *ctx, const char *id, unsigned fields, weave_item_meta *out,
                       ao_error *err)
{
    wh *h = ctx;
    int rc = gql_get_meta(h, id, fields, out, err);
    if (rc != AO_ENOTFOUND)
        return rc;
    char bid[WEAVE_ID_MAX];
    rc = locate_bundle(h, id, bid, err);
    ao_buf raw;
    ao_buf_init(&raw);
    if (!rc)
        rc = item_from_bundle(h, id, bid, &raw, err);
    if (!rc)
        rc = meta_from_item(raw.data, raw.len, bid, fields, out, err);
    ao_buf_free(&raw);
    return rc;
}

/* Raw item: GET /item/{id} (this project's gateway), else from its bundle. */
static int wh_get(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    int rc = wh_get_url(ctx, "/item/", id, out, err);
    if (rc == AO_ENOTFOUND)
        rc = wh_get_arweave(ctx, id, out, err);
    return rc;
}

/* Data: GET /raw/{id}, else the data of the (verified) raw item. */
static int wh_get_data(void *ctx, const char *id, ao_buf *out, ao_error *err)
{
    int rc = wh_get_url(ctx, "/raw/", id, out, err);
    if (rc != AO_ENOTFOUND)
        return rc;
    ao_buf raw;
    ao_buf_init(&raw);
    rc = wh_get(ctx, id, &raw, err);
    item *it = rc ? NULL : malloc(sizeof *it);
    if (!rc && !it)
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    if (!rc)
        rc = item_decode(raw.data, raw.len, it, err);
    if (!rc && ao_buf_append(out, it->data, it->data_len))
        rc = ao_err_set(err, AO_ENOMEM, "out of memory");
    free(it);
    ao_buf_free(&raw);
    return rc;
}

static int wh_put(void *ctx, const uint8_t *raw, size_t len, weave_put_result *res,
                  ao_error *err)
{
    wh *h = ctx;
    char url[WEAVE_URL_MAX + 16];
    snprintf(url, sizeof url, "%s/tx", h->url);
    net_http_answer a;
    net_http_answer_init(&a);
    int rc = net_http_request("POST", url, raw, len, "application/octet-stream", NULL, 0, &a,
                              err);
    if (!rc)
        rc = net_http_code(&a, "POST /tx", err);
    if (rc) {
        net_http_answer_free(&a);
        return rc;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)a.body.data, a.body.len);
    net_http_answer_free(&a);
    const char *id = jstr(j, "id");
    if (!id || strlen(id) != ITEM_ID_B64_LEN) {
        cJSON_Delete(j);
        return ao_err_set(err, AO_EIO, "POST /tx: the gateway answered no id");
    }
    if (res) {
        memset(res, 0, sizeof *res);
        memcpy(res->id, id, ITEM_ID_B64_LEN + 1);
        const cJSON *nw = cJSON_GetObjectItemCaseSensitive(j, "new");
        res->is_new = !cJSON_IsFalse(nw);
        const cJSON *ht = cJSON_GetObjectItemCaseSensitive(j, "height");
        res->height = cJSON_IsNumber(ht) ? (int64_t)ht->valuedouble : -1;
    }
    cJSON_Delete(j);
    return AO_OK;
}

static int wh_put_many(void *ctx, const uint8_t *const *raws, const size_t *lens, size_t n,
                       weave_put_result *res, ao_error *err)
{
    /* every item is checked first, so one bad item refuses them all */
    for (size_t i = 0; i < n; i++) {
        item *it = malloc(sizeof *it);
        if (!it)
            return ao_err_set(err, AO_ENOMEM, "out of memory");
        ao_error e2;
        int rc = item_verify(raws[i], lens[i], it, &e2);
        free(it);
        if (rc)
            return ao_err_set(err, rc, "item %zu: %s", i, e2.msg);
    }
    for (size_t i = 0; i < n; i++) {
        int rc = wh_put(ctx, raws[i], lens[i], res ? &res[i] : NULL, err);
        if (rc)
            return rc;
    }
    return AO_OK;
}

static int wh_info(void *ctx, weave_info *out, ao_error *err)
{
    wh *h = ctx;
    memset(out, 0, sizeof *out);
    char url[WEAVE_URL_MAX + 16];
    snprintf(url, sizeof url, "%s/info", h->url);
    net_http_answer a;
    net_http_answer_init(&a);
    int rc = net_http_request("GET", url, NULL, 0, NULL, NULL, 0, &a, err);
    if (!rc)
        rc = net_http_code(&a, "GET /info", err);
    if (rc) {
        net_http_answer_free(&a);
        return rc;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)a.body.data, a.body.len);
    net_http_answer_free(&a);
    const cJSON *ht = cJSON_GetObjectItemCaseSensitive(j, "height");
    if (!cJSON_IsNumber(ht) ||
        copy_fixed(out->network, sizeof out->network, jstr(j, "network")) ||
        copy_fixed(out->current, sizeof out->current, jstr(j, "current"))) {
        cJSON_Delete(j);
        return ao_err_set(err, AO_EIO, "GET /info: malformed answer");
    }
    out->height = (int64_t)ht->valuedouble;
    const cJSON *v;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "blocks")))
        out->blocks = (uint64_t)v->valuedouble;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "queue_length")))
        out->pending = (uint64_t)v->valuedouble;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "items")))
        out->items = (uint64_t)v->valuedouble;
    if (cJSON_IsNumber(v = cJSON_GetObjectItemCaseSensitive(j, "current_timestamp_ms")))
        out->timestamp_ms = (int64_t)v->valuedouble;
    cJSON_Delete(j);
    return AO_OK;
}

/* scheduler-utils' query (PROTOCOL.md §5), with the fields a record needs */
static const char GET_SCHEDULER_LOCATION[] =
    "query GetSchedulerLocation($owner: String!) {\n"
    "  transactions(\n"
    "    owners: [$owner]\n"
    "    tags: [\n"
    "      { name: \"Data-Protocol\", values: [\"ao\"] }\n"
    "      { name: \"Type\", values: [\"Scheduler-Location\"] }\n"
    "    ]\n"
    "    sort: HEIGHT_DESC\n"
    "    first: 1\n"
    "  ) {\n"
    "    edges { node { id owner { address } tags { name value } block { height } } }\n"
    "  }\n"
    "}";

static int wh_location(void *ctx, const char *address, weave_scheduler_location *out,
                       ao_error *err)
{
    wh *h = ctx;
    memset(out, 0, sizeof *out);
    ao_buf vars;
    ao_buf_init(&vars);
    if (ao_buf_append_str(&vars, "{\"owner\":") || gql_str(&vars, address) ||
        ao_buf_append_str(&vars, "}") || ao_buf_append_byte(&vars, 0)) {
        ao_buf_free(&vars);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    cJSON *root, *data;
    int rc = gql_post(h, GET_SCHEDULER_LOCATION, (const char *)vars.data, &root, &data, err);
    ao_buf_free(&vars);
    if (rc)
        return rc;
    cJSON *edges = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(data, "transactions"), "edges");
    if (!cJSON_IsArray(edges) || cJSON_GetArraySize(edges) == 0) {
        cJSON_Delete(root);
        return ao_err_set(err, AO_ENOTFOUND, "no Scheduler-Location record for %.64s", address);
    }
    cJSON *node = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(edges, 0), "node");
    const char *id = jstr(node, "id");
    const char *url = NULL, *ttl = NULL;
    const cJSON *t;
    cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(node, "tags")) {
        const char *n = jstr(t, "name"), *v = jstr(t, "value");
        if (!n || !v)
            continue;
        if (!url && !strcasecmp(n, "Url"))
            url = v;
        if (!ttl && !strcasecmp(n, "Time-To-Live"))
            ttl = v;
    }
    char *end = NULL;
    unsigned long long ttl_ms = ttl ? strtoull(ttl, &end, 10) : 0;
    if (!url || !*url || strlen(url) >= WEAVE_URL_MAX || !ttl || !*ttl || *end) {
        rc = ao_err_set(err, AO_EFORMAT, "Scheduler-Location %s lacks a valid %s",
                        id ? id : "?", !url || !*url || strlen(url) >= WEAVE_URL_MAX
                                           ? "Url" : "Time-To-Live");
        cJSON_Delete(root);
        return rc;
    }
    size_t n = strlen(url);
    memcpy(out->url, url, n + 1);
    while (n > 0 && out->url[n - 1] == '/')
        out->url[--n] = 0;
    out->ttl_ms = ttl_ms;
    copy_fixed(out->address, sizeof out->address,
               jstr(cJSON_GetObjectItemCaseSensitive(node, "owner"), "address"));
    copy_fixed(out->id, sizeof out->id, id);
    const cJSON *bh = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(node, "block"), "height");
    out->height = cJSON_IsNumber(bh) ? (int64_t)bh->valuedouble : -1;
    cJSON_Delete(root);
    return AO_OK;
}

int net_weave_client_http(const char *gateway_url, weave_client *out, ao_error *err)
{
    memset(out, 0, sizeof *out);
    if (!gateway_url || (strncmp(gateway_url, "http://", 7) && strncmp(gateway_url, "https://", 8)))
        return ao_err_set(err, AO_EINVAL, "gateway URL must start with http:// or https://");
    size_t n = strlen(gateway_url);
    while (n > 0 && gateway_url[n - 1] == '/')
        n--;
    if (n >= WEAVE_URL_MAX)
        return ao_err_set(err, AO_EINVAL, "gateway URL too long");
    wh *h = calloc(1, sizeof *h);
    if (!h || !(h->url = strndup(gateway_url, n))) {
        free(h);
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    }
    pthread_mutex_init(&h->mu, NULL);
    for (size_t i = 0; i < WH_BUNDLES; i++)
        ao_buf_init(&h->bundles[i].raw);
    out->ctx = h;
    out->put = wh_put;
    out->put_many = wh_put_many;
    out->get = wh_get;
    out->get_data = wh_get_data;
    out->get_meta = wh_get_meta;
    out->query_transactions = wh_query_tx;
    out->query_blocks = wh_query_blocks;
    out->get_info = wh_info;
    out->scheduler_location_resolve = wh_location;
    return AO_OK;
}

void net_weave_client_free(weave_client *c)
{
    if (!c || !c->ctx)
        return;
    wh *h = c->ctx;
    for (size_t i = 0; i < WH_BUNDLES; i++)
        ao_buf_free(&h->bundles[i].raw);
    free(h->where);
    pthread_mutex_destroy(&h->mu);
    free(h->url);
    free(h);
    c->ctx = NULL;
}
