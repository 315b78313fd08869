/*
 * su_face.c - the SU's HTTP face (PROTOCOL.md §2) over su.h, on the shared
 * server core:
 *   GET  /                      su_info_json
 *   GET  /timestamp[?process-id]
 *   POST /                      a signed Process or Message item
 *   POST /?process-id=&assign=[&base-layer][&exclude=a,b]   (both or neither)
 *   GET  /{id}[?process-id&from&to&limit&from-nonce&to-nonce&show-anchor]
 *   GET  /{pid}/latest
 *   GET  /processes/{pid}
 * Unknown ids answer 400 "Message or Process not found" as the real SU.
 */
#include "net/net.h"
#include "net/net_internal.h"

#include <stdlib.h>
#include <string.h>

#include "su/su.h"

static const char NOT_FOUND[] = "Message or Process not found";

static void su_error(net_resp *rs, int rc, const ao_error *err)
{
    if (rc == AO_ENOTFOUND)
        net_resp_error(rs, 400, err->msg[0] ? err->msg : NOT_FOUND);
    else
        net_resp_code(rs, rc, err);
}

static void answer(net_resp *rs, int rc, ao_buf *b, const ao_error *err)
{
    if (rc)
        su_error(rs, rc, err);
    else
        net_resp_json(rs, 200, b);
    ao_buf_free(b);
}

/* An optional query id: NULL when absent; *bad when present but not an id. */
static const char *query_id(const net_req *rq, const char *name, bool *bad)
{
    const char *v = net_req_query(rq, name);
    if (!v && net_req_has_query(rq, name))
        *bad = true;
    if (v && !net_is_id(v, strlen(v)))
        *bad = true;
    return v;
}

static void post_root(su *s, const net_req *rq, net_resp *rs)
{
    bool has_pid = net_req_has_query(rq, "process-id");
    bool has_assign = net_req_has_query(rq, "assign");
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    if (has_pid || has_assign) {
        if (!has_pid || !has_assign) {
            net_resp_error(rs, 400, "process-id and assign go together");
            return;
        }
        bool bad = false;
        const char *pid = query_id(rq, "process-id", &bad);
        const char *tx = query_id(rq, "assign", &bad);
        if (bad) {
            net_resp_error(rs, 400, "process-id and assign must be 43-character ids");
            return;
        }
        const char *ex = net_req_query(rq, "exclude");
        su_ack ack;
        int rc = su_assign(s, pid, tx, net_req_has_query(rq, "base-layer"), ex, &ack, &b, &err);
        answer(rs, rc, &b, &err);
        return;
    }
    if (rq->body_len == 0) {
        net_resp_error(rs, 400, "empty body: send a signed ANS-104 data item");
        return;
    }
    su_ack ack;
    int rc = su_post_item(s, rq->body, rq->body_len, &ack, &b, &err);
    answer(rs, rc, &b, &err);
}

static void get_id(su *s, const net_req *rq, net_resp *rs, const char *id)
{
    bool bad = false;
    su_query q = { 0 };
    q.process_id = query_id(rq, "process-id", &bad);
    if (bad) {
        net_resp_error(rs, 400, "process-id must be a 43-character id");
        return;
    }
    q.from = net_req_query(rq, "from");
    q.to = net_req_query(rq, "to");
    q.limit = net_req_query(rq, "limit");
    q.from_nonce = net_req_query(rq, "from-nonce");
    q.to_nonce = net_req_query(rq, "to-nonce");
    q.show_anchor = net_req_has_query(rq, "show-anchor");
    /* a parameter given without a value is nonsense */
    static const char *const valued[] = { "from", "to", "limit", "from-nonce", "to-nonce", NULL };
    for (size_t i = 0; valued[i]; i++)
        if (!net_req_query(rq, valued[i]) && net_req_has_query(rq, valued[i])) {
            net_resp_error(rs, 400, "a query parameter is missing its value");
            return;
        }
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    int rc = su_get_json(s, id, &q, &b, &err);
    answer(rs, rc, &b, &err);
}

static void dispatch(void *ctx, const net_req *rq, net_resp *rs)
{
    su *s = ctx;
    bool get = !strcmp(rq->method, "GET") || !strcmp(rq->method, "HEAD");
    bool post = !strcmp(rq->method, "POST");
    const char *seg[3];
    size_t len[3];
    bool badpath;
    size_t n = net_path_split(rq->path, seg, len, 3, &badpath);
    if (badpath || n > 2) {
        net_resp_error(rs, 404, "no such route");
        return;
    }
    ao_buf b;
    ao_buf_init(&b);
    ao_error err = { 0 };
    char id[WEAVE_ID_MAX];
    if (n == 1 && len[0] == 0) {
        if (post)
            post_root(s, rq, rs);
        else if (get)
            answer(rs, su_info_json(s, &b, &err), &b, &err);
        else
            net_resp_error(rs, 405, "method not allowed");
        return;
    }
    if (!get) {
        net_resp_error(rs, 405, "method not allowed");
        return;
    }
    if (n == 1 && len[0] == 9 && !memcmp(seg[0], "timestamp", 9)) {
        bool bad = false;
        const char *pid = query_id(rq, "process-id", &bad);
        if (bad) {
            net_resp_error(rs, 400, "process-id must be a 43-character id");
            return;
        }
        answer(rs, su_timestamp_json(s, pid, &b, &err), &b, &err);
        return;
    }
    if (n == 2 && len[0] == 9 && !memcmp(seg[0], "processes", 9)) {
        if (!net_is_id(seg[1], len[1])) {
            net_resp_error(rs, 400, NOT_FOUND);
            return;
        }
        memcpy(id, seg[1], 43);
        id[43] = 0;
        answer(rs, su_process_json(s, id, &b, &err), &b, &err);
        return;
    }
    if (!net_is_id(seg[0], len[0])) {
        net_resp_error(rs, 400, NOT_FOUND);
        return;
    }
    memcpy(id, seg[0], 43);
    id[43] = 0;
    if (n == 1) {
        get_id(s, rq, rs, id);
        return;
    }
    if (len[1] == 6 && !memcmp(seg[1], "latest", 6)) {
        answer(rs, su_latest_json(s, id, &b, &err), &b, &err);
        return;
    }
    net_resp_error(rs, 404, "no such route");
}

int net_su_start(struct su *s, const net_server_options *opt, net_server **out, ao_error *err)
{
    return net_server_start_face("su", opt, false, dispatch, s, out, err);
}
