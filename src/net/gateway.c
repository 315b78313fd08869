/*
 * gateway.c - the Arweave-compatible HTTP gateway over a weave (routes in
 * net.h), on the shared server core (server.c): each request is answered
 * by one route function filling a net_resp. Nothing a client sends can
 * stop the server: every failure becomes a JSON error answer.
 */
#include "net/net.h"
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "item/item.h"
#include "weave/gql.h"
#include "weave/weave.h"

struct net_gateway {
    net_core *core;
    weave *w;
    net_mirror *mirror;
};

/* Status for a weave error on a lookup. */
static void weave_error(net_resp *rs, int rc, const ao_error *err)
{
    if (rc == AO_ENOTFOUND)
        net_resp_error(rs, 404, "not found");
    else if (rc == AO_EINVAL)
        net_resp_error(rs, 400, err->msg);
    else
        net_resp_error(rs, 500, err->msg);
}

/* ---- helpers ---- */

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

static void route_info(net_gateway *g, net_resp *rs)
{
    weave_info info;
    ao_error err;
    int rc = weave_get_info(g->w, &info, &err);
    if (rc) {
        weave_error(rs, rc, &err);
        return;
    }
    ao_buf b;
    ao_buf_init(&b);
    if (ao_buf_append_str(&b, "{\"network\":") ||
        weave_gql_json_string(&b, info.network, strlen(info.network)) ||
        ao_buf_printf(&b, ",\"version\":5,\"release\":1,\"height\":%lld,\"current\":",
                      (long long)info.height) ||
        weave_gql_json_string(&b, info.current, strlen(info.current)) ||
        ao_buf_printf(&b, ",\"blocks\":%llu,\"peers\":0,\"queue_length\":%llu,"
                      "\"node_state_latency\":0,\"items\":%llu,\"current_timestamp_ms\":%lld}",
                      (unsigned long long)info.blocks, (unsigned long long)info.pending,
                      (unsigned long long)info.items, (long long)info.timestamp_ms)) {
        ao_buf_free(&b);
        return;
    }
    net_resp_json(rs, 200, &b);
}

/* GET /raw/{id} (tag_headers false) and GET|HEAD /{id} (true). */
/* GET /mirror: the upstream mirror's progress (net_mirror_status_json). */
static void route_mirror(net_gateway *g, net_resp *rs)
{
    if (!g->mirror) {
        net_resp_error(rs, 404, "this node has no upstream mirror (start it with --upstream URL)");
        return;
    }
    ao_buf b;
    ao_buf_init(&b);
    ao_error err;
    int rc = net_mirror_status_json(g->mirror, &b, &err);
    if (rc) {
        ao_buf_free(&b);
        net_resp_error(rs, 500, err.msg);
        return;
    }
    net_resp_json(rs, 200, &b);
}

static void route_data(net_gateway *g, net_resp *rs, const char *id, bool tag_headers)
{
    weave_item_meta m;
    ao_error err;
    int rc = weave_get_meta(g->w, id, 0, &m, &err);
    if (rc) {
        weave_error(rs, rc, &err);
        return;
    }
    rc = weave_get_data(g->w, id, &rs->body, &err);
    if (rc) {
        weave_meta_free(&m);
        weave_error(rs, rc, &err);
        return;
    }
    rs->status = 200;
    /* Content-Type from the item's own (signed) tag */
    rs->ctype = "application/octet-stream";
    for (size_t i = 0; i < m.ntags; i++)
        if (m.tags[i].name_len == 12 && !memcmp(m.tags[i].name, "Content-Type", 12)) {
            if (m.tags[i].value[0] && strlen(m.tags[i].value) == m.tags[i].value_len &&
                printable_ascii(m.tags[i].value) && net_resp_ctype(rs, m.tags[i].value))
                rs->status = 0;
            break;
        }
    if (net_resp_header(rs, "X-Arweave-Id", m.id) ||
        net_resp_header(rs, "X-Arweave-Owner-Address", m.owner_address))
        rs->status = 0;
    if (tag_headers)
        for (size_t i = 0; i < m.ntags; i++)
            if (header_safe(&m.tags[i]) && net_resp_header(rs, m.tags[i].name, m.tags[i].value))
                break; /* beyond the header cap: the rest are left out */
    weave_meta_free(&m);
}

/* GET /item/{id}: the raw ANS-104 bytes (what weave_client.get reads). */
static void route_item(net_gateway *g, net_resp *rs, const char *id)
{
    ao_error err;
    int rc = weave_get(g->w, id, &rs->body, &err);
    if (rc) {
        weave_error(rs, rc, &err);
        return;
    }
    rs->status = 200;
    rs->ctype = "application/octet-stream";
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

static void route_tx(net_gateway *g, net_resp *rs, const char *id)
{
    weave_item_meta m;
    ao_error err;
    int rc = weave_get_meta(g->w, id, WEAVE_META_KEYS, &m, &err);
    if (rc) {
        weave_error(rs, rc, &err);
        return;
    }
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
    if (!e)
        net_resp_json(rs, 200, &b);
    ao_buf_free(&b);
}

static void route_tx_status(net_gateway *g, net_resp *rs, const char *id)
{
    weave_item_meta m;
    ao_error err;
    int rc = weave_get_meta(g->w, id, 0, &m, &err);
    if (rc) {
        weave_error(rs, rc, &err);
        return;
    }
    if (!m.block_sealed) {
        weave_meta_free(&m);
        net_resp_set(rs, 202, "text/plain", "Pending", 7);
        return;
    }
    weave_info info;
    rc = weave_get_info(g->w, &info, &err);
    if (rc) {
        weave_meta_free(&m);
        weave_error(rs, rc, &err);
        return;
    }
    int64_t conf = info.height >= m.height ? info.height - m.height + 1 : 1;
    ao_buf b;
    ao_buf_init(&b);
    if (!ao_buf_printf(&b, "{\"block_height\":%lld,\"block_indep_hash\":\"%s\","
                       "\"number_of_confirmations\":%lld}",
                       (long long)m.height, m.block_id, (long long)conf))
        net_resp_json(rs, 200, &b);
    ao_buf_free(&b);
    weave_meta_free(&m);
}

static void route_tx_data(net_gateway *g, net_resp *rs, const char *id)
{
    ao_buf data;
    ao_error err;
    ao_buf_init(&data);
    int rc = weave_get_data(g->w, id, &data, &err);
    if (rc) {
        ao_buf_free(&data);
        weave_error(rs, rc, &err);
        return;
    }
    char *s = ao_b64url_encode(data.data, data.len);
    ao_buf_free(&data);
    if (!s)
        return;
    net_resp_set(rs, 200, "text/plain", s, strlen(s));
    free(s);
}

#define BLOCK_TXS_MAX 1000

static void route_block_height(net_gateway *g, net_resp *rs, const char *hs, size_t n)
{
    if (n == 0 || n > 18) {
        net_resp_error(rs, 400, "invalid block height");
        return;
    }
    long long h = 0;
    for (size_t i = 0; i < n; i++) {
        if (hs[i] < '0' || hs[i] > '9') {
            net_resp_error(rs, 400, "invalid block height");
            return;
        }
        h = h * 10 + (hs[i] - '0');
    }
    weave_block blk;
    ao_error err;
    int rc = weave_get_block(g->w, h, &blk, &err);
    if (rc) {
        weave_error(rs, rc, &err);
        return;
    }
    weave_tx_filter f;
    weave_tx_filter_init(&f);
    f.height_min = f.height_max = h;
    f.first = BLOCK_TXS_MAX;
    f.sort = WEAVE_HEIGHT_ASC;
    weave_tx_page page = { 0 };
    rc = weave_query_transactions(g->w, &f, &page, &err);
    if (rc) {
        weave_error(rs, rc == AO_ENOTFOUND ? AO_EIO : rc, &err);
        return;
    }
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
    if (!e)
        net_resp_json(rs, 200, &b);
    ao_buf_free(&b);
}

static unsigned put_status(int rc)
{
    switch (rc) {
    case AO_EFORMAT: case AO_ELIMIT: case AO_EVERIFY: case AO_EUNSUPPORTED: case AO_EINVAL:
        return 400;
    default:
        return 500;
    }
}

static void route_post_tx(net_gateway *g, const net_req *rq, net_resp *rs)
{
    const uint8_t *p = rq->body;
    size_t n = rq->body_len;
    if (n == 0) {
        net_resp_error(rs, 400, "empty body: send a binary ANS-104 data item");
        return;
    }
    if (p[0] == '{') {
        net_resp_error(rs, 400, "JSON transactions are not accepted: send a binary "
                       "ANS-104 data item (Content-Type: application/octet-stream)");
        return;
    }
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
            net_resp_error(rs, put_status(rc), err.msg);
            return;
        }
        int e = ao_buf_append_str(&b, "{\"ids\":[");
        for (size_t i = 0; i < bun.count && !e; i++) {
            weave_put_result res;
            rc = weave_put(g->w, bun.entries[i].raw, bun.entries[i].len, WEAVE_PUT_NOVERIFY,
                           &res, &err);
            if (rc) {
                item_bundle_free(&bun);
                ao_buf_free(&b);
                net_resp_error(rs, put_status(rc), err.msg);
                return;
            }
            e = ao_buf_printf(&b, "%s\"%s\"", i ? "," : "", res.id);
        }
        item_bundle_free(&bun);
        e = e ? e : ao_buf_printf(&b, "],\"timestamp\":%lld}", (long long)ao_now_ms());
        if (!e)
            net_resp_json(rs, 200, &b);
        ao_buf_free(&b);
        return;
    }
    item_bundle_free(&bun);
    weave_put_result res;
    int rc = weave_put(g->w, p, n, 0, &res, &err);
    if (rc) {
        net_resp_error(rs, put_status(rc), err.msg);
        return;
    }
    if (!ao_buf_printf(&b, "{\"id\":\"%s\",\"timestamp\":%lld,\"height\":%lld,\"new\":%s}",
                       res.id, (long long)ao_now_ms(), (long long)res.height,
                       res.is_new ? "true" : "false"))
        net_resp_json(rs, 200, &b);
    ao_buf_free(&b);
}

static void route_graphql(net_gateway *g, const net_req *rq, net_resp *rs, bool is_get)
{
    ao_buf out;
    ao_buf_init(&out);
    ao_error err;
    int rc;
    bool bad = false;
    if (is_get) {
        const char *q = net_req_query(rq, "query");
        const char *v = net_req_query(rq, "variables");
        const char *o = net_req_query(rq, "operationName");
        if (!q) {
            net_resp_error(rs, 400, "Must provide query string.");
            return;
        }
        rc = weave_gql_execute(g->w, q, strlen(q), v, v ? strlen(v) : 0, o, &out, &bad, &err);
    } else {
        rc = weave_gql_execute_request(g->w, (const char *)rq->body, rq->body_len, &out, &bad,
                                       &err);
    }
    if (rc) {
        ao_buf_free(&out);
        net_resp_error(rs, 500, err.msg);
        return;
    }
    net_resp_json(rs, bad ? 400 : 200, &out);
}

/* ---- dispatch ---- */

static void dispatch(void *ctx, const net_req *rq, net_resp *rs)
{
    net_gateway *g = ctx;
    const char *method = rq->method;
    bool get = !strcmp(method, "GET"), head = !strcmp(method, "HEAD");
    bool post = !strcmp(method, "POST");
    const char *seg[4];
    size_t slen[4];
    bool badpath;
    size_t nseg = net_path_split(rq->path, seg, slen, 4, &badpath);
    if (badpath) {
        net_resp_error(rs, 400, "bad request target");
        return;
    }
    if (nseg > 4) {
        net_resp_error(rs, 404, "no such route");
        return;
    }
    char id[WEAVE_ID_MAX];
#define SEG_IS(i, lit) (slen[i] == sizeof(lit) - 1 && !memcmp(seg[i], lit, sizeof(lit) - 1))
#define TAKE_ID(i)                                                                  \
    do {                                                                            \
        if (!net_is_id(seg[i], slen[i])) {                                          \
            net_resp_error(rs, 400, "invalid transaction id");                      \
            return;                                                                 \
        }                                                                           \
        memcpy(id, seg[i], ITEM_ID_B64_LEN);                                        \
        id[ITEM_ID_B64_LEN] = 0;                                                    \
    } while (0)
#define GET_ONLY()                                                                  \
    do {                                                                            \
        if (!get && !head) {                                                        \
            net_resp_error(rs, 405, "method not allowed");                          \
            return;                                                                 \
        }                                                                           \
    } while (0)

    if ((nseg == 1 && slen[0] == 0) || (nseg == 1 && SEG_IS(0, "info"))) {
        GET_ONLY();
        route_info(g, rs);
        return;
    }
    if (nseg == 1 && SEG_IS(0, "mirror")) {
        GET_ONLY();
        route_mirror(g, rs);
        return;
    }
    if (SEG_IS(0, "graphql") && (nseg == 1 || (nseg == 2 && slen[1] == 0))) {
        if (post)
            route_graphql(g, rq, rs, false);
        else if (get)
            route_graphql(g, rq, rs, true);
        else
            net_resp_error(rs, 405, "method not allowed");
        return;
    }
    if (SEG_IS(0, "tx")) {
        if (post && (nseg == 1 || (nseg == 2 && slen[1] > 0 && slen[1] != ITEM_ID_B64_LEN))) {
            route_post_tx(g, rq, rs);
            return;
        }
        GET_ONLY();
        if (nseg < 2) {
            net_resp_error(rs, 404, "no such route");
            return;
        }
        TAKE_ID(1);
        if (nseg == 2)
            route_tx(g, rs, id);
        else if (nseg == 3 && SEG_IS(2, "status"))
            route_tx_status(g, rs, id);
        else if (nseg == 3 && SEG_IS(2, "data"))
            route_tx_data(g, rs, id);
        else
            net_resp_error(rs, 404, "no such route");
        return;
    }
    if ((SEG_IS(0, "raw") || SEG_IS(0, "item")) && nseg == 2) {
        GET_ONLY();
        TAKE_ID(1);
        if (seg[0][0] == 'r')
            route_data(g, rs, id, false);
        else
            route_item(g, rs, id);
        return;
    }
    if (SEG_IS(0, "block") && nseg == 3 && SEG_IS(1, "height")) {
        GET_ONLY();
        route_block_height(g, rs, seg[2], slen[2]);
        return;
    }
    if (nseg == 1 && slen[0] == ITEM_ID_B64_LEN) {
        GET_ONLY();
        TAKE_ID(0);
        route_data(g, rs, id, true);
        return;
    }
    net_resp_error(rs, 404, "no such route");
#undef SEG_IS
#undef TAKE_ID
#undef GET_ONLY
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
    g->mirror = o.mirror;
    net_core_options co = { 0 };
    co.name = "gateway";
    co.host = o.host;
    co.port = o.port;
    co.threads = o.threads ? o.threads : 4;
    co.max_body = o.max_body;
    co.timeout_s = o.timeout_s;
    co.allow_methods = "GET, HEAD, POST, OPTIONS";
    int rc = net_core_start(&co, dispatch, g, &g->core, err);
    if (rc) {
        free(g);
        return rc;
    }
    *out = g;
    return AO_OK;
}

uint16_t net_gateway_port(const net_gateway *g)
{
    return net_core_port(g->core);
}

void net_gateway_stop(net_gateway *g)
{
    if (!g)
        return;
    net_core_stop(g->core);
    free(g);
}
