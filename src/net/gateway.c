/*
 * gateway.c - the Arweave-compatible HTTP gateway over a weave (routes in
 * net.h), on libmicrohttpd with its internal thread pool. Request bodies
 * are collected into a buffer bounded by max_body; each request is then
 * answered by one route function. Nothing a client sends can stop the
 * server: every failure becomes a JSON error answer.
 */
#include "net/net.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "item/item.h"
#include "weave/gql.h"
#include "weave/weave.h"

struct net_gateway {
    struct MHD_Daemon *d;
    weave *w;
    size_t max_body;
    uint16_t port;
};

/* Bodies up to this many times the limit are drained before the 413. */
#define DRAIN_FACTOR 8

typedef struct {
    ao_buf body;
    bool too_big;
    bool answered;
} request;

/* ---- responses ---- */

static void add_cors(struct MHD_Response *r)
{
    MHD_add_response_header(r, "Access-Control-Allow-Origin", "*");
    MHD_add_response_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST, OPTIONS");
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "*");
    MHD_add_response_header(r, "Access-Control-Expose-Headers", "*");
}

/* Queue a response whose body is b (taken) and content type ct. */
static enum MHD_Result answer_buf(struct MHD_Connection *c, unsigned status, ao_buf *b,
                                  const char *ct)
{
    size_t len = b->len;
    uint8_t *p = len ? ao_buf_take(b, &len) : NULL;
    ao_buf_free(b);
    struct MHD_Response *r = p ? MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE)
                               : MHD_create_response_from_buffer(0, (void *)"",
                                                                 MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(p);
        return MHD_NO;
    }
    if (ct)
        MHD_add_response_header(r, "Content-Type", ct);
    add_cors(r);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result answer_json(struct MHD_Connection *c, unsigned status, ao_buf *b)
{
    return answer_buf(c, status, b, "application/json; charset=utf-8");
}

static enum MHD_Result answer_error(struct MHD_Connection *c, unsigned status, const char *msg)
{
    ao_buf b;
    ao_buf_init(&b);
    if (ao_buf_append_str(&b, "{\"error\":") || weave_gql_json_string(&b, msg, strlen(msg)) ||
        ao_buf_append_str(&b, "}")) {
        ao_buf_free(&b);
        return MHD_NO;
    }
    return answer_json(c, status, &b);
}

/* Status for a weave error on a lookup. */
static enum MHD_Result answer_weave_error(struct MHD_Connection *c, int rc, const ao_error *err)
{
    if (rc == AO_ENOTFOUND)
        return answer_error(c, 404, "not found");
    if (rc == AO_EINVAL)
        return answer_error(c, 400, err->msg);
    return answer_error(c, 500, err->msg);
}

/* ---- helpers ---- */

static bool is_id(const char *s, size_t n)
{
    if (n != ITEM_ID_B64_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
              ch == '-' || ch == '_'))
            return false;
    }
    /* the last char of 43 carries 2 unused bits that must be zero */
    return strchr("AEIMQUYcgkosw048", s[42]) != NULL;
}

static bool is_token_char(unsigned char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
           (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* Tag names that must not become response headers (HTTP's own). */
static bool reserved_header(const char *name)
{
    static const char *const r[] = {
        "content-length", "content-type", "transfer-encoding", "connection", "keep-alive",
        "date", "server", "upgrade", "trailer", "te", "host", "set-cookie", "location",
        "status", "content-encoding", "content-range", "accept-ranges", "vary",
        "cache-control", "etag", "expires", "last-modified", "age", "proxy-authenticate",
        "www-authenticate", "retry-after", "allow", NULL,
    };
    for (size_t i = 0; r[i]; i++)
        if (!strcasecmp(r[i], name))
            return true;
    return !strncasecmp(name, "access-control-", 15);
}

/* A tag that can travel as a header: token name, printable ASCII value. */
static bool header_safe(const weave_tag *t)
{
    if (t->name_len == 0 || t->name_len > 256 || strlen(t->name) != t->name_len)
        return false;
    for (size_t i = 0; i < t->name_len; i++)
        if (!is_token_char((unsigned char)t->name[i]))
            return false;
    if (strlen(t->value) != t->value_len)
        return false;
    for (size_t i = 0; i < t->value_len; i++) {
        unsigned char ch = (unsigned char)t->value[i];
        if (ch < 0x20 || ch > 0x7E)
            return false;
    }
    return !reserved_header(t->name);
}

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7E)
            return false;
    return true;
}

/* ---- routes ---- */

static enum MHD_Result route_info(net_gateway *g, struct MHD_Connection *c)
{
    weave_info info;
    ao_error err;
    int rc = weave_get_info(g->w, &info, &err);
    if (rc)
        return answer_weave_error(c, rc, &err);
    ao_buf b;
    ao_buf_init(&b);
    if (ao_buf_append_str(&b, "{\"network\":") ||
        weave_gql_json_string(&b, info.network, strlen(info.network)) ||
        ao_buf_printf(&b, ",\"version\":5,\"release\":1,\"height\":%lld,\"current\":",
                      (long long)info.height) ||
        weave_gql_json_string(&b, info.current, strlen(info.current)) ||
        ao_buf_printf(&b, ",\"blocks\":%llu,\"peers\":0,\"queue_length\":%llu,"
                      "\"node_state_latency\":0,\"items\":%llu}",
                      (unsigned long long)info.blocks, (unsigned long long)info.pending,
                      (unsigned long long)info.items)) {
        ao_buf_free(&b);
        return MHD_NO;
    }
    return answer_json(c, 200, &b);
}

/* GET /raw/{id} (tag_headers false) and GET|HEAD /{id} (true). */
static enum MHD_Result route_data(net_gateway *g, struct MHD_Connection *c, const char *id,
                                  bool tag_headers)
{
    weave_item_meta m;
    ao_error err;
    int rc = weave_get_meta(g->w, id, 0, &m, &err);
    if (rc)
        return answer_weave_error(c, rc, &err);
    ao_buf data;
    ao_buf_init(&data);
    rc = weave_get_data(g->w, id, &data, &err);
    if (rc) {
        weave_meta_free(&m);
        ao_buf_free(&data);
        return answer_weave_error(c, rc, &err);
    }
    size_t len = data.len;
    uint8_t *p = len ? ao_buf_take(&data, &len) : NULL;
    ao_buf_free(&data);
    struct MHD_Response *r = p ? MHD_create_response_from_buffer(len, p, MHD_RESPMEM_MUST_FREE)
                               : MHD_create_response_from_buffer(0, (void *)"",
                                                                 MHD_RESPMEM_PERSISTENT);
    if (!r) {
        free(p);
        weave_meta_free(&m);
        return MHD_NO;
    }
    /* Content-Type from the item's own (signed) tag */
    const char *ct = "application/octet-stream";
    for (size_t i = 0; i < m.ntags; i++)
        if (m.tags[i].name_len == 12 && !memcmp(m.tags[i].name, "Content-Type", 12)) {
            if (m.tags[i].value[0] && strlen(m.tags[i].value) == m.tags[i].value_len &&
                printable_ascii(m.tags[i].value))
                ct = m.tags[i].value;
            break;
        }
    MHD_add_response_header(r, "Content-Type", ct);
    MHD_add_response_header(r, "X-Arweave-Id", m.id);
    MHD_add_response_header(r, "X-Arweave-Owner-Address", m.owner_address);
    if (tag_headers)
        for (size_t i = 0; i < m.ntags; i++)
            if (header_safe(&m.tags[i]))
                MHD_add_response_header(r, m.tags[i].name, m.tags[i].value);
    add_cors(r);
    enum MHD_Result q = MHD_queue_response(c, 200, r);
    MHD_destroy_response(r);
    weave_meta_free(&m);
    return q;
}

static int append_b64(ao_buf *b, const char *p, size_t n)
{
    char *s = ao_b64url_encode((const uint8_t *)p, n);
    if (!s)
        return AO_ENOMEM;
    int rc = ao_buf_printf(b, "\"%s\"", s);
    free(s);
    return rc;
}

static enum MHD_Result route_tx(net_gateway *g, struct MHD_Connection *c, const char *id)
{
    weave_item_meta m;
    ao_error err;
    int rc = weave_get_meta(g->w, id, WEAVE_META_KEYS, &m, &err);
    if (rc)
        return answer_weave_error(c, rc, &err);
    ao_buf b;
    ao_buf_init(&b);
    int e = ao_buf_printf(&b, "{\"format\":2,\"id\":\"%s\",\"last_tx\":\"%s\",\"owner\":\"%s\","
                          "\"tags\":[", m.id, m.anchor, m.owner_key ? m.owner_key : "");
    for (size_t i = 0; i < m.ntags && !e; i++) {
        e = ao_buf_append_str(&b, i ? ",{\"name\":" : "{\"name\":");
        e = e ? e : append_b64(&b, m.tags[i].name, m.tags[i].name_len);
        e = e ? e : ao_buf_append_str(&b, ",\"value\":");
        e = e ? e : append_b64(&b, m.tags[i].value, m.tags[i].value_len);
        e = e ? e : ao_buf_append_str(&b, "}");
    }
    e = e ? e : ao_buf_printf(&b, "],\"target\":\"%s\",\"quantity\":\"0\",\"data\":\"\","
                              "\"data_size\":\"%llu\",\"data_root\":\"\",\"reward\":\"0\","
                              "\"signature\":\"%s\",\"signature_type\":%u,"
                              "\"owner_address\":\"%s\",\"bundled_in\":",
                              m.target, (unsigned long long)m.data_size,
                              m.signature ? m.signature : "", m.sig_type, m.owner_address);
    if (!e)
        e = m.bundled_in[0] ? ao_buf_printf(&b, "\"%s\"}", m.bundled_in)
                            : ao_buf_append_str(&b, "null}");
    weave_meta_free(&m);
    if (e) {
        ao_buf_free(&b);
        return MHD_NO;
    }
    return answer_json(c, 200, &b);
}

static enum MHD_Result route_tx_status(net_gateway *g, struct MHD_Connection *c,
                                       const char *id)
{
    weave_item_meta m;
    ao_error err;
    int rc = weave_get_meta(g->w, id, 0, &m, &err);
    if (rc)
        return answer_weave_error(c, rc, &err);
    ao_buf b;
    ao_buf_init(&b);
    enum MHD_Result q;
    if (!m.block_sealed) {
        if (ao_buf_append_str(&b, "Pending")) {
            weave_meta_free(&m);
            ao_buf_free(&b);
            return MHD_NO;
        }
        q = answer_buf(c, 202, &b, "text/plain");
    } else {
        weave_info info;
        rc = weave_get_info(g->w, &info, &err);
        if (rc) {
            weave_meta_free(&m);
            return answer_weave_error(c, rc, &err);
        }
        int64_t conf = info.height >= m.height ? info.height - m.height + 1 : 1;
        if (ao_buf_printf(&b, "{\"block_height\":%lld,\"block_indep_hash\":\"%s\","
                          "\"number_of_confirmations\":%lld}",
                          (long long)m.height, m.block_id, (long long)conf)) {
            weave_meta_free(&m);
            ao_buf_free(&b);
            return MHD_NO;
        }
        q = answer_json(c, 200, &b);
    }
    weave_meta_free(&m);
    return q;
}

static enum MHD_Result route_tx_data(net_gateway *g, struct MHD_Connection *c, const char *id)
{
    ao_buf data;
    ao_error err;
    ao_buf_init(&data);
    int rc = weave_get_data(g->w, id, &data, &err);
    if (rc) {
        ao_buf_free(&data);
        return answer_weave_error(c, rc, &err);
    }
    char *s = ao_b64url_encode(data.data, data.len);
    ao_buf_free(&data);
    if (!s)
        return MHD_NO;
    ao_buf b;
    ao_buf_init(&b);
    int e = ao_buf_append_str(&b, s);
    free(s);
    if (e) {
        ao_buf_free(&b);
        return MHD_NO;
    }
    return answer_buf(c, 200, &b, "text/plain");
}

#define BLOCK_TXS_MAX 1000

static enum MHD_Result route_block_height(net_gateway *g, struct MHD_Connection *c,
                                          const char *hs)
{
    char *end;
    if (!*hs || strlen(hs) > 18 || *hs < '0' || *hs > '9')
        return answer_error(c, 400, "invalid block height");
    long long h = strtoll(hs, &end, 10);
    if (*end)
        return answer_error(c, 400, "invalid block height");
    weave_block blk;
    ao_error err;
    int rc = weave_get_block(g->w, h, &blk, &err);
    if (rc)
        return answer_weave_error(c, rc, &err);
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.height_min = f.height_max = h;
    f.first = BLOCK_TXS_MAX;
    f.sort = WEAVE_HEIGHT_ASC;
    weave_tx_page page = { 0 };
    rc = weave_query_transactions(g->w, &f, &page, &err);
    if (rc)
        return answer_weave_error(c, rc == AO_ENOTFOUND ? AO_EIO : rc, &err);
    ao_buf b;
    ao_buf_init(&b);
    int e = ao_buf_printf(&b, "{\"indep_hash\":\"%s\",\"height\":%lld,\"timestamp\":%lld,"
                          "\"previous_block\":\"%s\",\"txs\":[", blk.id, (long long)blk.height,
                          (long long)(blk.timestamp_ms / 1000), blk.previous);
    size_t k = 0;
    for (size_t i = 0; i < page.n && !e; i++)
        if (!page.rows[i].bundled_in[0])
            e = ao_buf_printf(&b, "%s\"%s\"", k++ ? "," : "", page.rows[i].id);
    e = e ? e : ao_buf_printf(&b, "],\"tx_count\":%llu}", (unsigned long long)blk.tx_count);
    weave_tx_page_free(&page);
    if (e) {
        ao_buf_free(&b);
        return MHD_NO;
    }
    return answer_json(c, 200, &b);
}

static int put_status(int rc)
{
    switch (rc) {
    case AO_EFORMAT: case AO_ELIMIT: case AO_EVERIFY: case AO_EUNSUPPORTED: case AO_EINVAL:
        return 400;
    default:
        return 500;
    }
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum MHD_Result route_post_tx(net_gateway *g, struct MHD_Connection *c, request *rq)
{
    const uint8_t *p = rq->body.data;
    size_t n = rq->body.len;
    if (n == 0)
        return answer_error(c, 400, "empty body: send a binary ANS-104 data item");
    if (p[0] == '{')
        return answer_error(c, 400, "JSON transactions are not accepted: send a binary "
                            "ANS-104 data item (Content-Type: application/octet-stream)");
    ao_error err;
    ao_buf b;
    ao_buf_init(&b);
    /* A bare binary bundle is tried first: its strict layout (a u256 count
     * and a header that the items fill exactly) cannot be mistaken for an
     * item, while a small bundle can decode as an ed25519 item (type 2 in
     * the count's low bytes, zeros after). */
    item_bundle bun;
    if (item_bundle_parse(p, n, &bun, &err) == AO_OK && bun.count > 0) {
        int rc = item_bundle_verify(p, n, &err);
        if (rc) {
            item_bundle_free(&bun);
            return answer_error(c, put_status(rc), err.msg);
        }
        int e = ao_buf_append_str(&b, "{\"ids\":[");
        for (size_t i = 0; i < bun.count && !e; i++) {
            weave_put_result res;
            rc = weave_put(g->w, bun.entries[i].raw, bun.entries[i].len, WEAVE_PUT_NOVERIFY,
                           &res, &err);
            if (rc) {
                item_bundle_free(&bun);
                ao_buf_free(&b);
                return answer_error(c, put_status(rc), err.msg);
            }
            e = ao_buf_printf(&b, "%s\"%s\"", i ? "," : "", res.id);
        }
        item_bundle_free(&bun);
        e = e ? e : ao_buf_printf(&b, "],\"timestamp\":%lld}", (long long)now_ms());
        if (e) {
            ao_buf_free(&b);
            return MHD_NO;
        }
        return answer_json(c, 200, &b);
    }
    item_bundle_free(&bun);
    weave_put_result res;
    int rc = weave_put(g->w, p, n, 0, &res, &err);
    if (rc)
        return answer_error(c, put_status(rc), err.msg);
    if (ao_buf_printf(&b, "{\"id\":\"%s\",\"timestamp\":%lld,\"height\":%lld,\"new\":%s}",
                      res.id, (long long)now_ms(), (long long)res.height,
                      res.is_new ? "true" : "false")) {
        ao_buf_free(&b);
        return MHD_NO;
    }
    return answer_json(c, 200, &b);
}

static enum MHD_Result route_graphql(net_gateway *g, struct MHD_Connection *c, request *rq,
                                     bool is_get)
{
    ao_buf out;
    ao_buf_init(&out);
    ao_error err;
    int rc;
    bool bad = false;
    if (is_get) {
        const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "query");
        const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "variables");
        const char *o = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "operationName");
        if (!q)
            return answer_error(c, 400, "Must provide query string.");
        rc = weave_gql_execute(g->w, q, strlen(q), v, v ? strlen(v) : 0, o, &out, &bad, &err);
    } else {
        rc = weave_gql_execute_request(g->w, (const char *)rq->body.data, rq->body.len, &out,
                                       &bad, &err);
    }
    if (rc) {
        ao_buf_free(&out);
        return answer_error(c, 500, err.msg);
    }
    return answer_json(c, bad ? 400 : 200, &out);
}

/* ---- dispatch ---- */

static enum MHD_Result dispatch(net_gateway *g, struct MHD_Connection *c, const char *url,
                                const char *method, request *rq)
{
    bool get = !strcmp(method, "GET"), head = !strcmp(method, "HEAD");
    bool post = !strcmp(method, "POST");
    if (!strcmp(method, "OPTIONS")) {
        ao_buf b;
        ao_buf_init(&b);
        return answer_buf(c, 204, &b, NULL);
    }
    if (rq->too_big)
        return answer_error(c, 413, "request body too large");
    if (url[0] != '/')
        return answer_error(c, 400, "bad request target");
    const char *path = url + 1;
    size_t plen = strlen(path);
    /* split into at most 4 segments */
    const char *seg[4];
    size_t slen[4], nseg = 0;
    for (const char *s = path; nseg < 4;) {
        const char *e = strchr(s, '/');
        seg[nseg] = s;
        slen[nseg] = e ? (size_t)(e - s) : strlen(s);
        nseg++;
        if (!e)
            break;
        s = e + 1;
        if (nseg == 4 && *s)
            return answer_error(c, 404, "no such route");
    }
    char id[WEAVE_ID_MAX];
#define SEG_IS(i, lit) (slen[i] == sizeof(lit) - 1 && !memcmp(seg[i], lit, sizeof(lit) - 1))
#define TAKE_ID(i)                                                                  \
    do {                                                                            \
        if (!is_id(seg[i], slen[i]))                                                \
            return answer_error(c, 400, "invalid transaction id");                  \
        memcpy(id, seg[i], ITEM_ID_B64_LEN);                                        \
        id[ITEM_ID_B64_LEN] = 0;                                                    \
    } while (0)

    if (plen == 0 || (nseg == 1 && SEG_IS(0, "info"))) {
        if (!get && !head)
            return answer_error(c, 405, "method not allowed");
        return route_info(g, c);
    }
    if (SEG_IS(0, "graphql") && (nseg == 1 || (nseg == 2 && slen[1] == 0))) {
        if (post)
            return route_graphql(g, c, rq, false);
        if (get)
            return route_graphql(g, c, rq, true);
        return answer_error(c, 405, "method not allowed");
    }
    if (SEG_IS(0, "tx")) {
        if (post && (nseg == 1 || (nseg == 2 && slen[1] > 0 && slen[1] != ITEM_ID_B64_LEN)))
            return route_post_tx(g, c, rq);
        if (!get && !head)
            return answer_error(c, 405, "method not allowed");
        if (nseg < 2)
            return answer_error(c, 404, "no such route");
        TAKE_ID(1);
        if (nseg == 2)
            return route_tx(g, c, id);
        if (nseg == 3 && SEG_IS(2, "status"))
            return route_tx_status(g, c, id);
        if (nseg == 3 && SEG_IS(2, "data"))
            return route_tx_data(g, c, id);
        return answer_error(c, 404, "no such route");
    }
    if (SEG_IS(0, "raw") && nseg == 2) {
        if (!get && !head)
            return answer_error(c, 405, "method not allowed");
        TAKE_ID(1);
        return route_data(g, c, id, false);
    }
    if (SEG_IS(0, "block") && nseg == 3 && SEG_IS(1, "height")) {
        if (!get && !head)
            return answer_error(c, 405, "method not allowed");
        char hs[20];
        if (slen[2] >= sizeof hs)
            return answer_error(c, 400, "invalid block height");
        memcpy(hs, seg[2], slen[2]);
        hs[slen[2]] = 0;
        return route_block_height(g, c, hs);
    }
    if (nseg == 1 && slen[0] == ITEM_ID_B64_LEN) {
        if (!get && !head)
            return answer_error(c, 405, "method not allowed");
        TAKE_ID(0);
        return route_data(g, c, id, true);
    }
    return answer_error(c, 404, "no such route");
#undef SEG_IS
#undef TAKE_ID
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    net_gateway *g = cls;
    request *rq = *con_cls;
    if (!rq) {
        rq = calloc(1, sizeof *rq);
        if (!rq)
            return MHD_NO;
        ao_buf_init(&rq->body);
        *con_cls = rq;
        /* A declared size far above the limit is refused at once; a
         * moderately oversized body is read and dropped so that the client
         * (which is still sending) reliably gets the 413 answer. */
        const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl) {
            char *end;
            unsigned long long v = strtoull(cl, &end, 10);
            if (v / DRAIN_FACTOR > g->max_body) {
                rq->answered = true;
                return answer_error(c, 413, "request body too large");
            }
            if (v > g->max_body)
                rq->too_big = true;
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!rq->too_big && !rq->answered) {
            if (rq->body.len + *upload_data_size > g->max_body) {
                rq->too_big = true;
                ao_buf_free(&rq->body);
            } else if (ao_buf_append(&rq->body, upload_data, *upload_data_size)) {
                return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (rq->answered)
        return MHD_YES;
    rq->answered = true;
    return dispatch(g, c, url, method, rq);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    request *rq = *con_cls;
    if (rq) {
        ao_buf_free(&rq->body);
        free(rq);
        *con_cls = NULL;
    }
}

int net_gateway_start(weave *w, const net_gateway_options *opt, net_gateway **out,
                      ao_error *err)
{
    *out = NULL;
    net_gateway_options o = { 0 };
    if (opt)
        o = *opt;
    net_gateway *g = calloc(1, sizeof *g);
    if (!g)
        return ao_err_set(err, AO_ENOMEM, "out of memory");
    g->w = w;
    g->max_body = o.max_body ? o.max_body : NET_MAX_BODY;
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons(o.port);
    const char *host = o.host ? o.host : "127.0.0.1";
    if (inet_pton(AF_INET, host, &sa.sin_addr) != 1) {
        free(g);
        return ao_err_set(err, AO_EINVAL, "not an IPv4 address: %s", host);
    }
    unsigned threads = o.threads ? o.threads : 4;
    g->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL, o.port, NULL, NULL,
                            on_request, g,
                            MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
                            MHD_OPTION_THREAD_POOL_SIZE, threads,
                            MHD_OPTION_NOTIFY_COMPLETED, on_completed, g,
                            MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)60,
                            MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(256 * 1024),
                            MHD_OPTION_END);
    if (!g->d) {
        free(g);
        return ao_err_set(err, AO_EIO, "cannot listen on %s:%u", host, (unsigned)o.port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(g->d, MHD_DAEMON_INFO_BIND_PORT);
    g->port = info ? info->port : o.port;
    *out = g;
    return AO_OK;
}

uint16_t net_gateway_port(const net_gateway *g)
{
    return g->port;
}

void net_gateway_stop(net_gateway *g)
{
    if (!g)
        return;
    MHD_stop_daemon(g->d);
    free(g);
}
